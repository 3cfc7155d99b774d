/*
 * The replay's guest stack for transmit offloads: the merge rule, the
 * super-frame and the partial checksums (see offload.h).  Layers are
 * located with vk_pkt_locate (compare.h), as the comparator sees them; every
 * sum comes from wire/checksum.h.
 */
#include "replay/offload.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/frame.h"
#include "replay/compare.h"
#include "wire/buf.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/tcp.h"

#define IP_PACKET_MAX 65535u
#define TCP_CSUM_OFF 16u
#define UDP_CSUM_OFF 6u

const char *vk_merge_verdict_name(vk_merge_verdict v)
{
    static const char *const names[] = {
        "merges",          "not an unfragmented TCP segment", "no payload",
        "IP options",      "Ethernet padding",                "TCP options",
        "checksum",        "header fields differ",            "sequence not contiguous",
        "IP id not consecutive", "flags",                     "size",
    };
    return (unsigned)v < sizeof names / sizeof names[0] ? names[v] : "?";
}

/* The folded pseudo-header sum with the length, not complemented: what
 * Linux leaves in the checksum field for the card. */
static uint16_t partial_sum(uint32_t pseudo, size_t l4_len)
{
    return (uint16_t)~vk_csum_finish(vk_csum_add_len(pseudo, l4_len));
}

/* True when the TCP options are NOP, EOL and timestamps only (vk_tcp_parse
 * has already checked that they are well formed). */
static bool options_ok(const vk_tcp_repr *t)
{
    size_t i = 0;
    while (i < t->options_len) {
        uint8_t kind = t->options[i];
        if (kind == VK_TCP_OPT_EOL)
            return true;
        if (kind == VK_TCP_OPT_NOP) {
            i++;
            continue;
        }
        if (kind != VK_TCP_OPT_TIMESTAMP || i + 1 >= t->options_len || t->options[i + 1] < 2)
            return false;
        i += t->options[i + 1];
    }
    return true;
}

/* The value the card computes for the TCP checksum of seg (field taken as
 * 0), before its spelling of zero. */
static uint16_t tcp_sum_of(uint32_t pseudo, const uint8_t *seg, size_t len)
{
    uint32_t s = vk_csum_add(vk_csum_add_len(pseudo, len), seg, TCP_CSUM_OFF);
    s = vk_csum_add(s, seg + TCP_CSUM_OFF + 2, len - TCP_CSUM_OFF - 2);
    return vk_csum_finish(s);
}

/* An unfragmented TCP or UDP packet with its L4 header in reach. */
static bool locate_l4(const uint8_t *frame, size_t len, vk_pkt *k)
{
    return vk_pkt_locate(frame, len, k) == VK_OK && vk_pkt_is_tcp_udp(k);
}

/* The IPv4 header checksum of the header at ip (field taken as 0). */
static uint16_t ip4_sum_of(const uint8_t *ip)
{
    uint32_t s = vk_csum_add(0, ip, 10);
    s = vk_csum_add(s, ip + 12, VK_IPV4_MIN_HLEN - 12);
    return vk_csum_finish(s);
}

vk_merge_verdict vk_tso_seg_parse(const uint8_t *frame, size_t len, vk_csum_zero zero,
                                  vk_tso_seg *out)
{
    vk_pkt k;
    if (!locate_l4(frame, len, &k) || k.proto != VK_IP_PROTO_TCP)
        return VK_MERGE_NOT_TCP;
    if (k.l3 == 4 ? k.ip4.hdr_len != VK_IPV4_MIN_HLEN : k.ip6.hdr_len != VK_IPV6_HLEN)
        return VK_MERGE_IP_OPTIONS;
    if (k.l3 == 4 &&
        vk_get_be16(frame + k.l3_off + 10) != vk_csum_spelled(ip4_sum_of(frame + k.l3_off), zero))
        return VK_MERGE_CSUM;
    if (k.l3_end != len)
        return VK_MERGE_PADDING;
    const uint8_t *l4 = frame + k.l4_off;
    size_t l4_len = k.l3_end - k.l4_off;
    vk_tcp_repr tcp;
    if (vk_tcp_parse(l4, l4_len, &tcp) != VK_OK)
        return VK_MERGE_NOT_TCP;
    if (tcp.payload_len == 0)
        return VK_MERGE_NO_PAYLOAD;
    if (!options_ok(&tcp))
        return VK_MERGE_TCP_OPTIONS;
    if (vk_csum_spelled(tcp_sum_of(vk_pkt_pseudo(&k), l4, l4_len), zero) != tcp.csum)
        return VK_MERGE_CSUM;
    *out = (vk_tso_seg){.frame = frame, .len = len, .l3 = k.l3_off, .l4 = k.l4_off,
                        .hdr_len = k.l4_off + tcp.hdr_len, .payload_len = tcp.payload_len,
                        .v6 = k.l3 == 6, .ip_id = k.l3 == 4 ? k.ip4.id : 0, .seq = tcp.seq,
                        .flags = tcp.flags};
    return VK_MERGE_OK;
}

/* Header bytes that may differ between segments of one group. */
static bool may_differ(const vk_tso_seg *s, size_t off)
{
    if (off >= s->l4) {
        size_t t = off - s->l4;
        return (t >= 4 && t < 8) || t == 13 || t == TCP_CSUM_OFF || t == TCP_CSUM_OFF + 1;
    }
    if (off < s->l3)
        return false;
    size_t i = off - s->l3;
    if (s->v6)
        return i == 4 || i == 5;
    return i == 2 || i == 3 || i == 4 || i == 5 || i == 10 || i == 11;
}

static bool headers_equal(const vk_tso_seg *a, const vk_tso_seg *b)
{
    if (a->v6 != b->v6 || a->l3 != b->l3 || a->l4 != b->l4 || a->hdr_len != b->hdr_len)
        return false;
    for (size_t off = 0; off < a->hdr_len; off++)
        if (a->frame[off] != b->frame[off] && !may_differ(a, off))
            return false;
    return true;
}

static bool options_equal(const vk_tso_seg *a, const vk_tso_seg *b)
{
    size_t o = a->l4 + VK_TCP_MIN_HLEN;
    return a->hdr_len == b->hdr_len && memcmp(a->frame + o, b->frame + o, a->hdr_len - o) == 0;
}

vk_merge_verdict vk_tso_can_follow(const vk_tso_seg *first, const vk_tso_seg *prev,
                                   const vk_tso_seg *next, size_t nsegs, size_t payload)
{
    const uint8_t never = VK_TCP_SYN | VK_TCP_RST | VK_TCP_URG | VK_TCP_FIN | VK_TCP_PSH;
    if (!(first->flags & VK_TCP_ACK) || (first->flags & never) ||
        (prev->flags & (VK_TCP_FIN | VK_TCP_PSH)) ||
        (uint8_t)(next->flags & ~(VK_TCP_PSH | VK_TCP_FIN)) != (uint8_t)(first->flags & ~VK_TCP_CWR))
        return VK_MERGE_FLAGS;
    if (!options_equal(first, next))
        return VK_MERGE_TCP_OPTIONS;
    if (!headers_equal(first, next))
        return VK_MERGE_HEADERS;
    if (next->seq != (uint32_t)(prev->seq + prev->payload_len))
        return VK_MERGE_SEQ;
    if (!next->v6 && next->ip_id != (uint16_t)(prev->ip_id + 1))
        return VK_MERGE_IP_ID;
    size_t ip_len = first->hdr_len - first->l3 + payload + next->payload_len;
    if (prev->payload_len != first->payload_len || next->payload_len > first->payload_len ||
        ip_len > IP_PACKET_MAX || first->l3 + ip_len > VK_FRAME_MAX ||
        nsegs + 1 > VK_OFFLOAD_MAX_SEGS)
        return VK_MERGE_SIZE;
    return VK_MERGE_OK;
}

size_t vk_tso_group(const uint8_t *const *frames, const size_t *lens, size_t n,
                    vk_csum_zero zero, vk_merge_verdict *why)
{
    vk_tso_seg first, prev, next;
    vk_merge_verdict v = VK_MERGE_OK;
    size_t k = n > 0 ? 1 : 0;
    if (n > 1 && (v = vk_tso_seg_parse(frames[0], lens[0], zero, &first)) == VK_MERGE_OK) {
        size_t payload = first.payload_len;
        prev = first;
        for (; k < n; k++) {
            if ((v = vk_tso_seg_parse(frames[k], lens[k], zero, &next)) != VK_MERGE_OK ||
                (v = vk_tso_can_follow(&first, &prev, &next, k, payload)) != VK_MERGE_OK)
                break;
            payload += next.payload_len;
            prev = next;
        }
    }
    if (why != NULL)
        *why = v;
    return k;
}

int vk_tso_build(const uint8_t *const *frames, const size_t *lens, size_t n, vk_csum_zero zero,
                 uint8_t **out, size_t *len, vk_guest_offload *meta)
{
    if (n < 2 || vk_tso_group(frames, lens, n, zero, NULL) != n)
        return VK_EINVAL;
    vk_tso_seg first, last;
    (void)vk_tso_seg_parse(frames[0], lens[0], zero, &first);
    (void)vk_tso_seg_parse(frames[n - 1], lens[n - 1], zero, &last);
    size_t total = first.hdr_len;
    for (size_t i = 0; i < n; i++)
        total += lens[i] - first.hdr_len;
    uint8_t *f = malloc(total);
    if (f == NULL)
        return VK_ENOMEM;
    memcpy(f, frames[0], first.hdr_len);
    size_t at = first.hdr_len;
    for (size_t i = 0; i < n; i++) {
        memcpy(f + at, frames[i] + first.hdr_len, lens[i] - first.hdr_len);
        at += lens[i] - first.hdr_len;
    }
    vk_pkt k;
    (void)vk_pkt_locate(frames[0], lens[0], &k); /* parsed above */
    uint8_t *ip = f + first.l3, *tcp = f + first.l4;
    if (first.v6) {
        vk_put_be16(ip + 4, (uint16_t)(total - first.l3 - VK_IPV6_HLEN));
    } else {
        vk_put_be16(ip + 2, (uint16_t)(total - first.l3));
        vk_put_be16(ip + 10, 0);
        vk_put_be16(ip + 10, vk_csum(ip, VK_IPV4_MIN_HLEN));
    }
    tcp[13] = (uint8_t)(first.flags | (last.flags & (VK_TCP_PSH | VK_TCP_FIN)));
    vk_put_be16(tcp + TCP_CSUM_OFF, partial_sum(vk_pkt_pseudo(&k), total - first.l4));
    *meta = (vk_guest_offload){.csum_start = first.l4, .csum_offset = TCP_CSUM_OFF,
                               .gso_mss = first.payload_len, .hdr_len = first.hdr_len};
    *out = f;
    *len = total;
    return VK_OK;
}

/* A TCP or UDP segment with a checksum: where it is and its field.  False
 * for anything else, and for UDP whose sender chose no checksum (0). */
typedef struct l4_csum {
    vk_pkt k;
    size_t field, l4_len;
    uint16_t recorded;
} l4_csum;

static bool locate_csum(const uint8_t *frame, size_t len, l4_csum *c)
{
    if (!locate_l4(frame, len, &c->k))
        return false;
    bool udp = c->k.proto == VK_IP_PROTO_UDP;
    c->field = udp ? UDP_CSUM_OFF : TCP_CSUM_OFF;
    c->l4_len = c->k.l3_end - c->k.l4_off;
    if (c->l4_len < (udp ? 8u : (size_t)VK_TCP_MIN_HLEN))
        return false;
    c->recorded = vk_get_be16(frame + c->k.l4_off + c->field);
    return !(udp && c->recorded == 0);
}

int vk_csum_prepare(uint8_t *frame, size_t len, vk_csum_zero zero, vk_guest_offload *meta)
{
    l4_csum c;
    if (!locate_csum(frame, len, &c))
        return VK_EUNSUPP;
    vk_pkt k = c.k;
    size_t field = c.field, l4_len = c.l4_len;
    uint8_t *seg = frame + k.l4_off;
    uint16_t recorded = c.recorded;
    /* the card sums with the field holding the seed and stores 0 as its
     * rule says (wire/offload.h): only a frame that holds exactly that
     * comes back */
    vk_put_be16(seg + field, 0);
    uint16_t want = vk_csum_l4(vk_pkt_pseudo(&k), seg, l4_len);
    if (recorded != vk_csum_spelled(want, zero)) {
        vk_put_be16(seg + field, recorded);
        return VK_EUNSUPP;
    }
    vk_put_be16(seg + field, partial_sum(vk_pkt_pseudo(&k), l4_len));
    *meta = (vk_guest_offload){.csum_start = k.l4_off, .csum_offset = field};
    return VK_OK;
}

bool vk_csum_is_partial(const uint8_t *frame, size_t len)
{
    l4_csum c;
    if (!locate_csum(frame, len, &c))
        return false;
    uint32_t pseudo = vk_pkt_pseudo(&c.k);
    return c.recorded == partial_sum(pseudo, c.l4_len) &&
           vk_csum_l4(pseudo, frame + c.k.l4_off, c.l4_len) != 0;
}
