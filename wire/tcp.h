/*
 * TCP header (RFC 9293) with the options a user-mode stack negotiates: MSS,
 * window scale, SACK-permitted, timestamps (SACK blocks are left in the raw
 * option bytes).  Parse checks 20 <= data offset <= buffer and walks the
 * options with a loop that always advances; an option whose length is < 2,
 * runs past the data offset, or has the wrong size for its kind is
 * VK_EFORMAT.  The checksum needs the pseudo header: vk_tcp_csum_ok().
 */
#ifndef VK_WIRE_TCP_H
#define VK_WIRE_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VK_TCP_MIN_HLEN 20
#define VK_TCP_MAX_OPTIONS_LEN 40

enum {
    VK_TCP_FIN = 0x01,
    VK_TCP_SYN = 0x02,
    VK_TCP_RST = 0x04,
    VK_TCP_PSH = 0x08,
    VK_TCP_ACK = 0x10,
    VK_TCP_URG = 0x20,
    VK_TCP_ECE = 0x40,
    VK_TCP_CWR = 0x80
};

enum {
    VK_TCP_OPT_EOL = 0,
    VK_TCP_OPT_NOP = 1,
    VK_TCP_OPT_MSS = 2,
    VK_TCP_OPT_WSCALE = 3,
    VK_TCP_OPT_SACK_PERM = 4,
    VK_TCP_OPT_SACK = 5,
    VK_TCP_OPT_TIMESTAMP = 8
};

typedef struct vk_tcp_repr {
    uint16_t src_port;
    uint16_t dst_port;
    uint32_t seq;
    uint32_t ack;
    uint8_t flags; /* VK_TCP_* */
    uint16_t window;
    uint16_t csum; /* as received; ignored by emit */
    uint16_t urgent;
    size_t hdr_len; /* parse only */
    bool options_bad; /* vk_tcp_parse_lenient: the option walk stopped early */
    bool has_mss;
    uint16_t mss;
    bool has_wscale;
    uint8_t wscale;
    bool sack_perm;
    bool has_ts;
    uint32_t ts_val;
    uint32_t ts_ecr;
    /* Raw option bytes.  Emit writes them as given when options_len > 0
     * (multiple of 4, at most 40), else builds options from the fields
     * above. */
    const uint8_t *options;
    size_t options_len;
    const uint8_t *payload;
    size_t payload_len;
    /* emit: the checksum field gets the folded pseudo-header sum with the
     * TCP length instead of the checksum (a partial checksum that a vnet
     * header's NEEDS_CSUM finishes; core/frame.h super-segments). */
    bool csum_partial;
} vk_tcp_repr;

/* p/len is the IP payload.  VK_OK, VK_ETRUNC, VK_EFORMAT. */
int vk_tcp_parse(const uint8_t *p, size_t len, vk_tcp_repr *out);
/* The same, but options are read as a receiving stack (libslirp's
 * tcp_dooptions) does: a malformed option ends the walk, sets
 * options_bad, and the options before it count.  VK_OK, VK_ETRUNC,
 * VK_EFORMAT (data offset below 20). */
int vk_tcp_parse_lenient(const uint8_t *p, size_t len, vk_tcp_repr *out);
bool vk_tcp_csum_ok(uint32_t pseudo, const uint8_t *seg, size_t len);
/* Writes header, options, payload (copied unless in place) and the
 * checksum.  VK_EINVAL for bad raw options, VK_EFULL if cap is short. */
int vk_tcp_emit(const vk_tcp_repr *r, uint32_t pseudo, uint8_t *buf, size_t cap,
                size_t *written);

#endif
