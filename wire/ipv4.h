/*
 * IPv4 header (RFC 791) with options.  Parse checks, in this order: at least
 * 20 bytes, version 4, IHL >= 5, IHL*4 <= buffer, IHL*4 <= total length,
 * total length <= buffer.  Bytes after total length (Ethernet padding) are
 * not part of the payload.  The header checksum is verified but reported in
 * csum_ok rather than failing the parse, so a replay comparator can still
 * describe a packet with a wrong checksum; the stack drops it.
 *
 * Also the IP protocol numbers shared with IPv6.
 */
#ifndef VK_WIRE_IPV4_H
#define VK_WIRE_IPV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

#define VK_IPV4_MIN_HLEN 20
#define VK_IPV4_MAX_OPTIONS_LEN 40

enum {
    VK_IP_PROTO_HOPOPTS = 0,
    VK_IP_PROTO_ICMP = 1,
    VK_IP_PROTO_TCP = 6,
    VK_IP_PROTO_UDP = 17,
    VK_IP_PROTO_ROUTING = 43,
    VK_IP_PROTO_FRAGMENT = 44,
    VK_IP_PROTO_ICMPV6 = 58,
    VK_IP_PROTO_NONE = 59,
    VK_IP_PROTO_DSTOPTS = 60
};

typedef struct vk_ipv4_repr {
    uint8_t tos;
    uint16_t id;
    bool df;
    bool mf;
    uint16_t frag_off; /* in bytes (the wire field times 8) */
    uint8_t ttl;
    uint8_t proto;
    uint16_t csum;  /* as received; ignored by emit */
    bool csum_ok;   /* parse only */
    vk_ip4 src;
    vk_ip4 dst;
    const uint8_t *options;
    size_t options_len; /* emit: multiple of 4, at most 40 */
    size_t hdr_len;     /* parse only */
    size_t total_len;   /* parse only: the header's total length field */
    const uint8_t *payload;
    size_t payload_len;
} vk_ipv4_repr;

/* VK_OK, VK_ETRUNC or VK_EFORMAT (see the file comment). */
int vk_ipv4_parse(const uint8_t *p, size_t len, vk_ipv4_repr *out);
/* For the datagram quoted inside an ICMP error: the header must be whole
 * and valid but the total length may exceed len, since only the first bytes
 * are quoted.  payload_len is what is present. */
int vk_ipv4_parse_quoted(const uint8_t *p, size_t len, vk_ipv4_repr *out);
/* Writes the header with its checksum, then the payload (copied unless NULL
 * or already at buf + header length; with NULL the caller writes it).
 * *written = header + payload_len.  VK_EINVAL for bad options_len or a
 * fragment offset that is not a multiple of 8, VK_ERANGE when the total
 * exceeds 65535, VK_EFULL when cap is short. */
int vk_ipv4_emit(const vk_ipv4_repr *r, uint8_t *buf, size_t cap, size_t *written);

#endif
