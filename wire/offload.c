/*
 * Checksum insertion and TCP segmentation for NIC models (see offload.h).
 * The headers are located with the wire/ parsers and every checksum comes
 * from wire/checksum.h; this file only decides which bytes go where.
 */
#include "wire/offload.h"

#include "core/error.h"
#include "wire/buf.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/packet.h"
#include "wire/tcp.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int vk_offload_csum(uint8_t *frame, size_t len, size_t csum_start, size_t csum_offset,
                    vk_csum_zero zero)
{
    if (csum_start >= len || csum_offset > len - csum_start || len - csum_start - csum_offset < 2)
        return VK_EINVAL;
    uint16_t c = vk_csum_finish(vk_csum_add(0, frame + csum_start, len - csum_start));
    vk_put_be16(frame + csum_start + csum_offset, vk_csum_spelled(c, zero));
    return VK_OK;
}

/* A checksum field vk_csum_fill_ip just filled (a computed 0 is 0 there),
 * spelled as the card spells it. */
static void spell_field(uint8_t *field, vk_csum_zero zero)
{
    vk_put_be16(field, vk_csum_spelled(vk_get_be16(field), zero));
}

/* Where the headers of a TCP super-frame are. */
typedef struct tso_layout {
    size_t l3_off;  /* start of the IP header */
    size_t l4_off;  /* start of the TCP header */
    size_t hdr_len; /* Ethernet + IP (+ extension headers) + TCP */
    bool v6;
    uint16_t ip_id;
    uint32_t seq;
    uint8_t flags;
} tso_layout;

/* Writes the IP length field of the packet at ip for a packet of ip_len
 * bytes.  VK_EINVAL when the length does not fit the field. */
static int set_ip_len(uint8_t *ip, size_t ip_len, bool v6)
{
    size_t v = v6 ? ip_len - VK_IPV6_HLEN : ip_len;
    if (v > 0xffff)
        return VK_EINVAL;
    vk_put_be16(ip + (v6 ? 4 : 2), (uint16_t)v);
    return VK_OK;
}

/* Parses the headers of `work` (a private copy of the frame).  Drivers are
 * allowed to leave the IP length at 0 in a super-frame (Linux's e1000 does),
 * so the length field of the copy is set to the real length first: the
 * parsers then check the headers against what is actually there. */
static int tso_parse(uint8_t *work, size_t len, tso_layout *l)
{
    vk_eth_repr eth;
    int r = vk_eth_parse(work, len, &eth);
    if (r != VK_OK)
        return r;
    if (eth.ethertype != VK_ETHERTYPE_IPV4 && eth.ethertype != VK_ETHERTYPE_IPV6)
        return VK_EINVAL;
    l->v6 = eth.ethertype == VK_ETHERTYPE_IPV6;
    l->l3_off = eth.hdr_len;
    size_t ip_len = eth.payload_len;
    if (ip_len < (l->v6 ? VK_IPV6_HLEN : VK_IPV4_MIN_HLEN))
        return VK_ETRUNC;
    if ((r = set_ip_len(work + l->l3_off, ip_len, l->v6)) != VK_OK)
        return r;
    const uint8_t *l4;
    size_t l4_len;
    if (l->v6) {
        vk_ipv6_repr ip6;
        if ((r = vk_ipv6_parse(eth.payload, ip_len, &ip6)) != VK_OK)
            return r;
        if (ip6.proto != VK_IP_PROTO_TCP)
            return VK_EINVAL;
        l4 = ip6.payload;
        l4_len = ip6.payload_len;
        l->ip_id = 0;
    } else {
        vk_ipv4_repr ip4;
        if ((r = vk_ipv4_parse(eth.payload, ip_len, &ip4)) != VK_OK)
            return r;
        if (ip4.proto != VK_IP_PROTO_TCP || ip4.mf || ip4.frag_off != 0)
            return VK_EINVAL;
        l4 = ip4.payload;
        l4_len = ip4.payload_len;
        l->ip_id = ip4.id;
    }
    vk_tcp_repr tcp;
    if ((r = vk_tcp_parse(l4, l4_len, &tcp)) != VK_OK)
        return r;
    l->l4_off = (size_t)(l4 - work);
    l->hdr_len = l->l4_off + tcp.hdr_len;
    l->seq = tcp.seq;
    l->flags = tcp.flags;
    return VK_OK;
}

/* Turns seg (headers already copied, payload in place) into segment number
 * `index` carrying payload bytes starting at `sent`. */
static void tso_fix_segment(uint8_t *seg, size_t seglen, const tso_layout *l, size_t index,
                            size_t sent, bool last, vk_csum_zero zero)
{
    uint8_t *ip = seg + l->l3_off;
    /* cannot fail: every segment is shorter than the checked super-frame */
    (void)set_ip_len(ip, seglen - l->l3_off, l->v6);
    if (!l->v6)
        vk_put_be16(ip + 4, (uint16_t)(l->ip_id + index));
    uint8_t *tcp = seg + l->l4_off;
    vk_put_be32(tcp + 4, (uint32_t)(l->seq + sent));
    uint8_t flags = l->flags;
    if (!last)
        flags &= (uint8_t) ~(VK_TCP_FIN | VK_TCP_PSH);
    if (index > 0)
        flags &= (uint8_t)~VK_TCP_CWR; /* congestion signal once, as Linux GSO */
    tcp[13] = flags;
    (void)vk_csum_fill_ip(ip, seglen - l->l3_off);
    spell_field(tcp + 16, zero);
    if (!l->v6)
        spell_field(ip + 10, zero);
}

int vk_offload_tso(const uint8_t *frame, size_t len, size_t hdr_len, size_t mss,
                   vk_csum_zero zero, vk_offload_emit_fn emit, void *arg)
{
    if (frame == NULL || hdr_len > len || mss == 0)
        return VK_EINVAL;
    uint8_t *work = malloc(len);
    if (work == NULL)
        return VK_ENOMEM;
    memcpy(work, frame, len);
    tso_layout l;
    int r = tso_parse(work, len, &l);
    if (r == VK_OK && hdr_len < l.hdr_len)
        r = VK_EINVAL;
    if (r != VK_OK) {
        free(work);
        return r;
    }
    size_t payload = len - l.hdr_len;
    size_t chunk = mss < payload ? mss : payload;
    uint8_t *seg = malloc(l.hdr_len + chunk);
    if (seg == NULL) {
        free(work);
        return VK_ENOMEM;
    }
    size_t sent = 0, index = 0;
    do {
        size_t n = payload - sent < chunk ? payload - sent : chunk;
        memcpy(seg, work, l.hdr_len);
        memcpy(seg + l.hdr_len, frame + l.hdr_len + sent, n);
        tso_fix_segment(seg, l.hdr_len + n, &l, index, sent, sent + n == payload, zero);
        emit(arg, seg, l.hdr_len + n);
        sent += n;
        index++;
    } while (sent < payload);
    free(seg);
    free(work);
    return index > (size_t)0x7fffffff ? 0x7fffffff : (int)index;
}

int vk_offload_gso_split(const vk_frame *f, vk_offload_emit_fn emit, void *arg)
{
    vk_pkt k;
    size_t hdr_len;
    if (f->gso_mss == 0 || vk_pkt_locate(f->data, f->len, &k) != VK_OK ||
        vk_pkt_tcp_end(&k, f->data, &hdr_len) != VK_OK)
        return VK_EINVAL;
    return vk_offload_tso(f->data, f->len, hdr_len, f->gso_mss, VK_CSUM_ZERO_KEPT, emit, arg);
}
