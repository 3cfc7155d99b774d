/*
 * Internet checksum (RFC 1071), incremental update (RFC 1624), and the
 * in-place fill/verify helpers over IP packets and Ethernet frames.
 */
#include "wire/checksum.h"

#include "core/error.h"
#include "wire/buf.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

#include <stdbool.h>
#include <string.h>

static uint32_t fold(uint64_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint32_t)acc;
}

/* The one's complement sum does not depend on byte order (RFC 1071 2(B)):
 * words are added as the machine loads them, 4 bytes at a time, and the
 * folded result is swapped into network order once.  On the live NAT path
 * this sum runs over every byte twice (the guest's segments checked, ours
 * filled); 16-bit big-endian loads made it a tenth of the profile. */
static uint32_t sum_native(const uint8_t *p, size_t len)
{
    /* 64-bit accumulator: no carry can be lost before the final fold, even
     * for buffers of several gigabytes. */
    uint64_t acc = 0;
    for (; len >= 16; p += 16, len -= 16) {
        uint32_t w[4];
        memcpy(w, p, sizeof w);
        acc += (uint64_t)w[0] + w[1] + w[2] + w[3];
    }
    for (; len >= 4; p += 4, len -= 4) {
        uint32_t w;
        memcpy(&w, p, sizeof w);
        acc += w;
    }
    uint8_t tail[4] = {0, 0, 0, 0}; /* an odd last byte is padded with zero */
    memcpy(tail, p, len);
    uint32_t w;
    memcpy(&w, tail, sizeof w);
    acc += w;
    return fold(acc);
}

uint32_t vk_csum_add(uint32_t sum, const void *data, size_t len)
{
    uint32_t n = sum_native(data, len);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    n = ((n >> 8) | (n << 8)) & 0xffff;
#endif
    return fold((uint64_t)sum + n);
}

uint32_t vk_csum_add_len(uint32_t sum, size_t len)
{
    uint64_t acc = sum;
    acc += (uint64_t)(len & 0xffff) + ((uint64_t)(len >> 16) & 0xffff);
    return fold(acc);
}

uint16_t vk_csum_finish(uint32_t sum)
{
    return (uint16_t)~fold(sum);
}

uint16_t vk_csum(const void *data, size_t len)
{
    return vk_csum_finish(vk_csum_add(0, data, len));
}

uint32_t vk_csum_pseudo4(const vk_ip4 *src, const vk_ip4 *dst, uint8_t proto)
{
    uint32_t s = vk_csum_add(0, src->b, 4);
    s = vk_csum_add(s, dst->b, 4);
    return fold((uint64_t)s + proto);
}

uint32_t vk_csum_pseudo6(const vk_ip6 *src, const vk_ip6 *dst, uint8_t next_header)
{
    uint32_t s = vk_csum_add(0, src->b, 16);
    s = vk_csum_add(s, dst->b, 16);
    return fold((uint64_t)s + next_header);
}

uint16_t vk_csum_l4(uint32_t pseudo, const uint8_t *seg, size_t len)
{
    return vk_csum_finish(vk_csum_add(vk_csum_add_len(pseudo, len), seg, len));
}

uint16_t vk_csum_update16(uint16_t csum, uint16_t old_v, uint16_t new_v)
{
    /* HC' = ~(~HC + ~m + m') */
    uint64_t acc = (uint16_t)~csum;
    acc += (uint16_t)~old_v;
    acc += new_v;
    return (uint16_t)~fold(acc);
}

uint16_t vk_csum_update32(uint16_t csum, uint32_t old_v, uint32_t new_v)
{
    csum = vk_csum_update16(csum, (uint16_t)(old_v >> 16), (uint16_t)(new_v >> 16));
    return vk_csum_update16(csum, (uint16_t)old_v, (uint16_t)new_v);
}

/* Where an upper-layer checksum lives, and whether it uses a pseudo header. */
struct l4_sum {
    size_t off;     /* offset of the field inside the segment */
    size_t min_len; /* the segment must hold at least this much */
    bool pseudo;
    bool zero_is_none; /* UDP over IPv4 */
};

static bool l4_sum_for(uint8_t proto, bool v6, struct l4_sum *s)
{
    switch (proto) {
    case VK_IP_PROTO_TCP:
        *s = (struct l4_sum){16, 20, true, false};
        return true;
    case VK_IP_PROTO_UDP:
        *s = (struct l4_sum){6, 8, true, !v6};
        return true;
    case VK_IP_PROTO_ICMP:
        *s = (struct l4_sum){2, 4, false, false};
        return !v6;
    case VK_IP_PROTO_ICMPV6:
        *s = (struct l4_sum){2, 4, true, false};
        return v6;
    default:
        return false;
    }
}

/* A located upper-layer segment of an IP packet. */
struct l4_seg {
    size_t off; /* from the start of the IP header */
    size_t len;
    uint8_t proto;
    uint32_t pseudo;
    bool v6;
    bool has_ip4_hdr;
    size_t ip4_hlen;
};

/* Finds the upper-layer segment; returns false (with VK_OK) when there is
 * none we can checksum, e.g. a fragment. */
static int locate(const uint8_t *ip, size_t len, struct l4_seg *seg, bool *found)
{
    *found = false;
    if (len < 1)
        return VK_ETRUNC;
    if (ip[0] >> 4 == 4) {
        vk_ipv4_repr r;
        int err = vk_ipv4_parse(ip, len, &r);
        if (err != VK_OK)
            return err;
        seg->has_ip4_hdr = true;
        seg->ip4_hlen = r.hdr_len;
        seg->v6 = false;
        seg->off = r.hdr_len;
        seg->len = r.payload_len;
        seg->proto = r.proto;
        seg->pseudo = vk_csum_pseudo4(&r.src, &r.dst, r.proto);
        *found = !r.mf && r.frag_off == 0;
        return VK_OK;
    }
    vk_ipv6_repr r6;
    int err = vk_ipv6_parse(ip, len, &r6);
    if (err != VK_OK)
        return err;
    seg->has_ip4_hdr = false;
    seg->v6 = true;
    seg->off = r6.hdr_len;
    seg->len = r6.payload_len;
    seg->proto = r6.proto;
    seg->pseudo = vk_csum_pseudo6(&r6.src, &r6.dst, r6.proto);
    *found = true;
    return VK_OK;
}

int vk_csum_fill_ip(uint8_t *ip, size_t len)
{
    struct l4_seg seg;
    bool found;
    int err = locate(ip, len, &seg, &found);
    if (err != VK_OK)
        return err;
    if (seg.has_ip4_hdr) {
        vk_put_be16(ip + 10, 0);
        vk_put_be16(ip + 10, vk_csum(ip, seg.ip4_hlen));
    }
    struct l4_sum s;
    if (!found || !l4_sum_for(seg.proto, seg.v6, &s) || seg.len < s.min_len)
        return VK_OK;
    uint8_t *l4 = ip + seg.off;
    vk_put_be16(l4 + s.off, 0);
    uint16_t c = s.pseudo ? vk_csum_l4(seg.pseudo, l4, seg.len) : vk_csum(l4, seg.len);
    /* In UDP a computed 0 is sent as all ones; 0 would mean "no checksum". */
    if (c == 0 && seg.proto == VK_IP_PROTO_UDP)
        c = 0xffff;
    vk_put_be16(l4 + s.off, c);
    return VK_OK;
}

int vk_csum_check_ip(const uint8_t *ip, size_t len, unsigned *bad)
{
    struct l4_seg seg;
    bool found;
    *bad = 0;
    int err = locate(ip, len, &seg, &found);
    if (err != VK_OK)
        return err;
    if (seg.has_ip4_hdr && vk_csum(ip, seg.ip4_hlen) != 0)
        *bad |= VK_CSUM_BAD_IP4;
    struct l4_sum s;
    if (!found || !l4_sum_for(seg.proto, seg.v6, &s))
        return VK_OK;
    const uint8_t *l4 = ip + seg.off;
    if (seg.len < s.min_len) {
        *bad |= VK_CSUM_BAD_L4;
        return VK_OK;
    }
    if (s.zero_is_none && vk_get_be16(l4 + s.off) == 0)
        return VK_OK;
    uint16_t c = s.pseudo ? vk_csum_l4(seg.pseudo, l4, seg.len) : vk_csum(l4, seg.len);
    if (c != 0)
        *bad |= VK_CSUM_BAD_L4;
    return VK_OK;
}

static int frame_ip(const uint8_t *frame, size_t len, size_t *off)
{
    vk_eth_repr eth;
    int err = vk_eth_parse(frame, len, &eth);
    if (err != VK_OK)
        return err;
    if (eth.ethertype != VK_ETHERTYPE_IPV4 && eth.ethertype != VK_ETHERTYPE_IPV6)
        return VK_EUNSUPP;
    *off = eth.hdr_len;
    return VK_OK;
}

int vk_csum_fill_frame(uint8_t *frame, size_t len)
{
    size_t off;
    int err = frame_ip(frame, len, &off);
    if (err != VK_OK)
        return err;
    return vk_csum_fill_ip(frame + off, len - off);
}

int vk_csum_check_frame(const uint8_t *frame, size_t len, unsigned *bad)
{
    size_t off;
    *bad = 0;
    int err = frame_ip(frame, len, &off);
    if (err != VK_OK)
        return err;
    return vk_csum_check_ip(frame + off, len - off, bad);
}
