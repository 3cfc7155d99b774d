/*
 * ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861, RDNSS from RFC 8106):
 * echo, Router Solicitation/Advertisement, Neighbor Solicitation/
 * Advertisement, plus the generic type/code header for error messages.
 *
 * ND options are walked with a loop that always advances: an option with
 * length 0 is VK_EFORMAT (RFC 4861 says discard; it would otherwise loop
 * forever), one running past the end is VK_ETRUNC, and options with the wrong
 * size for their type are VK_EFORMAT.  Prefix and RDNSS entries beyond the
 * caps below are counted in *_dropped but not stored.  The checksum needs
 * the IPv6 pseudo header: vk_icmpv6_csum_ok().
 */
#ifndef VK_WIRE_ICMPV6_H
#define VK_WIRE_ICMPV6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

#define VK_ICMPV6_HLEN 4
#define VK_ICMPV6_MAX_PREFIXES 4
#define VK_ICMPV6_MAX_RDNSS 4

enum {
    VK_ICMPV6_DEST_UNREACH = 1,
    VK_ICMPV6_PKT_TOO_BIG = 2,
    VK_ICMPV6_TIME_EXCEEDED = 3,
    VK_ICMPV6_PARAM_PROBLEM = 4,
    VK_ICMPV6_ECHO_REQUEST = 128,
    VK_ICMPV6_ECHO_REPLY = 129,
    VK_ICMPV6_ROUTER_SOLICIT = 133,
    VK_ICMPV6_ROUTER_ADVERT = 134,
    VK_ICMPV6_NEIGHBOR_SOLICIT = 135,
    VK_ICMPV6_NEIGHBOR_ADVERT = 136,
    VK_ICMPV6_REDIRECT = 137
};

/* ND option types. */
enum {
    VK_ND_OPT_SRC_LLADDR = 1,
    VK_ND_OPT_TGT_LLADDR = 2,
    VK_ND_OPT_PREFIX_INFO = 3,
    VK_ND_OPT_REDIRECTED = 4,
    VK_ND_OPT_MTU = 5,
    VK_ND_OPT_RDNSS = 25
};

/* Flags. */
enum {
    VK_ND_RA_MANAGED = 0x80,
    VK_ND_RA_OTHER = 0x40,
    VK_ND_PREFIX_ONLINK = 0x80,
    VK_ND_PREFIX_AUTO = 0x40
};
#define VK_ND_NA_ROUTER 0x80000000u
#define VK_ND_NA_SOLICITED 0x40000000u
#define VK_ND_NA_OVERRIDE 0x20000000u

typedef struct vk_nd_prefix {
    uint8_t prefix_len;
    uint8_t flags; /* VK_ND_PREFIX_* */
    uint32_t valid_lifetime;
    uint32_t preferred_lifetime;
    vk_ip6 prefix;
} vk_nd_prefix;

typedef struct vk_icmpv6_repr {
    uint8_t type;
    uint8_t code;
    uint16_t csum; /* as received; ignored by emit */
    /* Echo: id, seq, data = payload.  Errors: data = bytes after the first
     * 4 (unused/MTU/pointer word, then the quoted packet). */
    uint16_t id;
    uint16_t seq;
    const uint8_t *data;
    size_t data_len;
    /* Router Advertisement. */
    uint8_t cur_hop_limit;
    uint8_t ra_flags; /* VK_ND_RA_* */
    uint16_t router_lifetime;
    uint32_t reachable_time;
    uint32_t retrans_timer;
    /* Neighbor Solicitation / Advertisement. */
    uint32_t na_flags; /* VK_ND_NA_* */
    vk_ip6 target;
    /* ND options (parse fills, emit writes those present). */
    bool has_src_ll;
    vk_mac src_ll;
    bool has_tgt_ll;
    vk_mac tgt_ll;
    bool has_mtu;
    uint32_t mtu;
    size_t prefix_count;
    size_t prefixes_dropped;
    vk_nd_prefix prefix[VK_ICMPV6_MAX_PREFIXES];
    uint32_t rdnss_lifetime;
    size_t rdnss_count;
    size_t rdnss_dropped;
    vk_ip6 rdnss[VK_ICMPV6_MAX_RDNSS];
} vk_icmpv6_repr;

/* p/len is the upper-layer payload of the IPv6 packet.  VK_OK, VK_ETRUNC
 * (shorter than the type's fixed part, option past the end), VK_EFORMAT
 * (option length 0 or wrong for its type). */
int vk_icmpv6_parse(const uint8_t *p, size_t len, vk_icmpv6_repr *out);
bool vk_icmpv6_csum_ok(uint32_t pseudo, const uint8_t *seg, size_t len);
/* Writes the message for its type (echo with data; RS, RA, NS, NA with the
 * options present in r; other types as 4-byte header + data) and the
 * checksum.  VK_EFULL if cap is short. */
int vk_icmpv6_emit(const vk_icmpv6_repr *r, uint32_t pseudo, uint8_t *buf, size_t cap,
                   size_t *written);

#endif
