/*
 * DHCPv4 (RFC 2131/2132) over the BOOTP fixed part (RFC 951).
 *
 * Parse: at least 240 bytes (236 fixed + magic cookie, else VK_ETRUNC), the
 * cookie 99.130.83.99 (else VK_EFORMAT), then the options up to END.  PAD is
 * skipped; an option whose length byte or value runs past the end, or a
 * missing END, is VK_ETRUNC; a wrong length for a fixed-size option is
 * VK_EFORMAT.  A packet without option 53 parses fine with msg_type 0 (plain
 * BOOTP): the caller decides whether to reject it.  Option overload (52) is
 * ignored, i.e. sname/file are never scanned for options, and a repeated
 * option replaces the earlier one (no RFC 3396 concatenation on input).
 * Variable-length values point into the packet.
 *
 * Emit: vk_dhcp_emit_header() writes the fixed part and cookie into a vk_wr,
 * then the vk_dhcp_put_* calls append options in the caller's order (a
 * server can reproduce libslirp's 53,54,1,3,6,51,12,15,119), and
 * vk_dhcp_finish() writes END and pads.  Values longer than 255 bytes are
 * split into consecutive instances of the same option (RFC 3396).
 */
#ifndef VK_WIRE_DHCP_H
#define VK_WIRE_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "wire/buf.h"

#define VK_DHCP_FIXED_LEN 236
#define VK_DHCP_OPTIONS_OFF 240 /* after the magic cookie */
#define VK_DHCP_MIN_LEN 300     /* BOOTP minimum; vk_dhcp_finish pads to it */
#define VK_DHCP_SEARCH_MAX 1024 /* encoded domain-search list, all instances */
#define VK_DHCP_SEARCH_MAX_SUFFIXES 128 /* compression table */

enum { VK_BOOTP_REQUEST = 1, VK_BOOTP_REPLY = 2 };
#define VK_DHCP_FLAG_BROADCAST 0x8000

enum {
    VK_DHCP_DISCOVER = 1,
    VK_DHCP_OFFER = 2,
    VK_DHCP_REQUEST = 3,
    VK_DHCP_DECLINE = 4,
    VK_DHCP_ACK = 5,
    VK_DHCP_NAK = 6,
    VK_DHCP_RELEASE = 7,
    VK_DHCP_INFORM = 8
};

enum {
    VK_DHCP_OPT_PAD = 0,
    VK_DHCP_OPT_SUBNET_MASK = 1,
    VK_DHCP_OPT_ROUTER = 3,
    VK_DHCP_OPT_DNS = 6,
    VK_DHCP_OPT_HOSTNAME = 12,
    VK_DHCP_OPT_DOMAIN_NAME = 15,
    VK_DHCP_OPT_REQUESTED_IP = 50,
    VK_DHCP_OPT_LEASE_TIME = 51,
    VK_DHCP_OPT_OVERLOAD = 52,
    VK_DHCP_OPT_MSG_TYPE = 53,
    VK_DHCP_OPT_SERVER_ID = 54,
    VK_DHCP_OPT_PARAM_REQUEST = 55,
    VK_DHCP_OPT_MAX_MSG_SIZE = 57,
    VK_DHCP_OPT_CLIENT_ID = 61,
    VK_DHCP_OPT_DOMAIN_SEARCH = 119,
    VK_DHCP_OPT_END = 255
};

typedef struct vk_dhcp_repr {
    uint8_t op;
    uint8_t htype;
    uint8_t hlen;
    uint8_t hops;
    uint32_t xid;
    uint16_t secs;
    uint16_t flags;
    vk_ip4 ciaddr;
    vk_ip4 yiaddr;
    vk_ip4 siaddr;
    vk_ip4 giaddr;
    uint8_t chaddr[16];
    char sname[65]; /* always NUL-terminated (the wire field may not be) */
    char file[129];
    /* Options (parse only). */
    uint8_t msg_type; /* 0 = option 53 absent */
    bool has_requested_ip;
    vk_ip4 requested_ip;
    bool has_server_id;
    vk_ip4 server_id;
    bool has_lease_time;
    uint32_t lease_time;
    bool has_max_msg_size;
    uint16_t max_msg_size;
    const uint8_t *param_request;
    size_t param_request_len;
    const uint8_t *client_id;
    size_t client_id_len;
    const uint8_t *hostname; /* not NUL-terminated */
    size_t hostname_len;
    const uint8_t *options; /* raw options, END excluded */
    size_t options_len;
} vk_dhcp_repr;

int vk_dhcp_parse(const uint8_t *p, size_t len, vk_dhcp_repr *out);
/* The MAC in chaddr, when htype/hlen say Ethernet. */
bool vk_dhcp_chaddr_mac(const vk_dhcp_repr *r, vk_mac *out);
/* "DISCOVER", ..., "INFORM", or "?" */
const char *vk_dhcp_msg_name(uint8_t msg_type);

/* Writers: each returns vk_wr_status(w) (VK_EFULL once anything did not fit). */
int vk_dhcp_emit_header(const vk_dhcp_repr *r, vk_wr *w);
int vk_dhcp_put_option(vk_wr *w, uint8_t code, const void *data, size_t len);
int vk_dhcp_put_u8(vk_wr *w, uint8_t code, uint8_t v);
int vk_dhcp_put_u16(vk_wr *w, uint8_t code, uint16_t v);
int vk_dhcp_put_u32(vk_wr *w, uint8_t code, uint32_t v);
int vk_dhcp_put_ip4(vk_wr *w, uint8_t code, const vk_ip4 *a);
/* Option 119: the list encoded as below, split per RFC 3396. */
int vk_dhcp_put_search(vk_wr *w, const char *const *domains, size_t n);
/* END, then zeros up to min_len bytes in total (VK_DHCP_MIN_LEN for BOOTP
 * relays that reject shorter packets; 0 for no padding). */
int vk_dhcp_finish(vk_wr *w, size_t min_len);

/* RFC 1035 encoding of a domain list with compression: a name whose suffix
 * was already written ends in a pointer to it (offsets from the start of the
 * list, RFC 3397).  Names are compared case-insensitively; one trailing dot
 * is allowed.  VK_EINVAL for an empty name, an empty label, a label over 63
 * or a name over 253 bytes; VK_EFULL if cap is short. */
int vk_dhcp_encode_search(const char *const *domains, size_t n, uint8_t *out, size_t cap,
                          size_t *written);

#endif
