/*
 * replay/offload: the guest stack's side of checksum offload and TSO.  The
 * merge rule is proven the strong way: a group it accepts, built into a
 * super-frame and cut by the cards' own segmentation (wire/offload.h), gives
 * back the original frames byte for byte; and each thing that must stop a
 * group (gap, retransmission, flags, IP options, TTL, timestamps...) does.
 *
 * This file also holds the generator of pcaps/offload-tcp-bulk.pcap and of
 * its gateway's answers, offload-tcp-bulk-gw.pcap (see pcaps/README.md):
 * test_offload_capture_is_reproducible regenerates both and compares them
 * with the committed files; with VK_WRITE_OFFLOAD_PCAPS=DIR set it writes
 * them into DIR instead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backends.h"
#include "helpers/libnet_frames.h"
#include "core/error.h"
#include "nics/e1000.h"
#include "wire/offload.h"
#include "nics/virtio_net.h"
#include "replay/offload.h"
#include "replay/replay.h"
#include "wire/buf.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/tcp.h"

#define FRAME_CAP 2048

static const vk_mac guest_mac = {{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
static const vk_mac gw_mac = {{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}};
static const vk_ip4 guest_ip = {{10, 0, 2, 15}};
static const vk_ip4 gw_ip = {{10, 0, 2, 2}};
static const vk_ip6 guest_ip6 = {{0xfe, 0xc0, 0, 0, 0, 0, 0, 0, 0x50, 0x54, 0, 0xff, 0xfe, 0x12,
                                  0x34, 0x56}};
static const vk_ip6 gw_ip6 = {{0xfe, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};

/* ---- building frames ---- */

typedef struct seg_spec {
    bool v6;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win;
    uint16_t ip_id;
    uint8_t ttl, tos;
    bool df;
    uint32_t flow;                      /* IPv6 flow label */
    const uint8_t *opts;                /* raw TCP options */
    size_t optlen;
    const uint8_t *ipopts;              /* IPv4 options */
    size_t ipoptlen;
    size_t plen;                        /* payload: bulk bytes from offset poff */
    size_t poff;
} seg_spec;

/* The bulk data every flow sends: byte i = (i*7 + (i>>8)) & 255. */
static uint8_t bulk_byte(size_t i)
{
    return (uint8_t)((i * 7 + (i >> 8)) & 255);
}

static seg_spec base_seg(void)
{
    return (seg_spec){.sport = 40000, .dport = 5001, .seq = 1000001, .ack = 5000001,
                      .flags = VK_TCP_ACK, .win = 502, .ip_id = 0x2000, .ttl = 64, .df = true,
                      .plen = 1448};
}

static size_t build_seg_dir(const seg_spec *s, bool from_gw, uint8_t *out, size_t cap);

static size_t build_seg(const seg_spec *s, uint8_t *out, size_t cap)
{
    return build_seg_dir(s, false, out, cap);
}

/* from_gw: the gateway's segment to the guest (addresses swapped). */
static size_t build_seg_dir(const seg_spec *s, bool from_gw, uint8_t *out, size_t cap)
{
    size_t l3 = VK_ETH_HLEN;
    size_t iphl = s->v6 ? VK_IPV6_HLEN : VK_IPV4_MIN_HLEN + s->ipoptlen;
    size_t l4 = l3 + iphl;
    uint8_t payload[FRAME_CAP];
    assert_true(s->plen <= sizeof payload);
    for (size_t i = 0; i < s->plen; i++)
        payload[i] = bulk_byte(s->poff + i);
    vk_tcp_repr t = {.src_port = s->sport, .dst_port = s->dport, .seq = s->seq, .ack = s->ack,
                     .flags = s->flags, .window = s->win, .options = s->opts,
                     .options_len = s->optlen, .payload = payload, .payload_len = s->plen};
    const vk_ip4 *src4 = from_gw ? &gw_ip : &guest_ip, *dst4 = from_gw ? &guest_ip : &gw_ip;
    const vk_ip6 *src6 = from_gw ? &gw_ip6 : &guest_ip6, *dst6 = from_gw ? &guest_ip6 : &gw_ip6;
    uint32_t pseudo = s->v6 ? vk_csum_pseudo6(src6, dst6, VK_IP_PROTO_TCP)
                            : vk_csum_pseudo4(src4, dst4, VK_IP_PROTO_TCP);
    size_t tcp_len, ip_len, eth_len;
    assert_int_equal(vk_tcp_emit(&t, pseudo, out + l4, cap - l4, &tcp_len), VK_OK);
    if (s->v6) {
        vk_ipv6_repr ip = {.flow = s->flow, .next_header = VK_IP_PROTO_TCP, .hop_limit = s->ttl,
                           .src = *src6, .dst = *dst6, .payload = out + l4,
                           .payload_len = tcp_len};
        assert_int_equal(vk_ipv6_emit(&ip, out + l3, cap - l3, &ip_len), VK_OK);
    } else {
        vk_ipv4_repr ip = {.tos = s->tos, .id = s->ip_id, .df = s->df, .ttl = s->ttl,
                           .proto = VK_IP_PROTO_TCP, .src = *src4, .dst = *dst4,
                           .options = s->ipopts, .options_len = s->ipoptlen,
                           .payload = out + l4, .payload_len = tcp_len};
        assert_int_equal(vk_ipv4_emit(&ip, out + l3, cap - l3, &ip_len), VK_OK);
    }
    vk_eth_repr e = {.dst = from_gw ? guest_mac : gw_mac, .src = from_gw ? gw_mac : guest_mac,
                     .ethertype = s->v6 ? VK_ETHERTYPE_IPV6 : VK_ETHERTYPE_IPV4,
                     .payload = out + l3, .payload_len = ip_len};
    assert_int_equal(vk_eth_emit(&e, out, cap, &eth_len), VK_OK);
    return eth_len;
}

static uint8_t ts_opts[12];

static const uint8_t *timestamps(uint32_t val, uint32_t ecr)
{
    ts_opts[0] = 1;
    ts_opts[1] = 1;
    ts_opts[2] = 8;
    ts_opts[3] = 10;
    vk_put_be32(ts_opts + 4, val);
    vk_put_be32(ts_opts + 8, ecr);
    return ts_opts;
}

/* A train of n segments following s (seq, id and payload offset advance). */
typedef struct train {
    uint8_t *f[VK_OFFLOAD_MAX_SEGS + 2];
    size_t len[VK_OFFLOAD_MAX_SEGS + 2];
    size_t n;
} train;

static void train_add(train *t, const seg_spec *s)
{
    assert_true(t->n < VK_OFFLOAD_MAX_SEGS + 2);
    t->f[t->n] = malloc(FRAME_CAP);
    assert_non_null(t->f[t->n]);
    t->len[t->n] = build_seg(s, t->f[t->n], FRAME_CAP);
    t->n++;
}

static void make_train(train *t, seg_spec s, size_t n)
{
    t->n = 0;
    for (size_t i = 0; i < n; i++) {
        train_add(t, &s);
        s.seq += (uint32_t)s.plen;
        s.poff += s.plen;
        s.ip_id++;
    }
}

static void train_free(train *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->f[i]);
    t->n = 0;
}

static size_t group_of(const train *t, vk_merge_verdict *why)
{
    return vk_tso_group((const uint8_t *const *)t->f, t->len, t->n, VK_CSUM_ZERO_KEPT, why);
}

/* ---- the card gives the group back ---- */

typedef struct collected {
    uint8_t *f[VK_OFFLOAD_MAX_SEGS + 2];
    size_t len[VK_OFFLOAD_MAX_SEGS + 2];
    size_t n;
} collected;

static void collect(void *arg, const uint8_t *seg, size_t len)
{
    collected *c = arg;
    assert_true(c->n < VK_OFFLOAD_MAX_SEGS + 2);
    c->f[c->n] = malloc(len);
    assert_non_null(c->f[c->n]);
    memcpy(c->f[c->n], seg, len);
    c->len[c->n++] = len;
}

/* Builds the super-frame of the whole train and segments it as the cards
 * do: every original frame must come back, byte for byte. */
static void assert_card_reproduces(const train *t)
{
    uint8_t *super;
    size_t len;
    vk_guest_offload meta;
    assert_int_equal(vk_tso_build((const uint8_t *const *)t->f, t->len, t->n, VK_CSUM_ZERO_KEPT,
                                  &super, &len, &meta),
                     VK_OK);
    assert_int_equal(meta.csum_offset, 16);
    collected c = {0};
    int n = vk_offload_tso(super, len, meta.hdr_len, meta.gso_mss, VK_CSUM_ZERO_KEPT, collect, &c);
    assert_int_equal(n, (int)t->n);
    for (size_t i = 0; i < t->n; i++) {
        assert_int_equal(c.len[i], t->len[i]);
        assert_memory_equal(c.f[i], t->f[i], t->len[i]);
        free(c.f[i]);
    }
    free(super);
}

static void test_tso_contiguous_segments_merge_and_come_back(void **state)
{
    (void)state;
    train t;
    seg_spec s = base_seg();
    s.opts = timestamps(101, 7777);
    s.optlen = 12;
    make_train(&t, s, 5);
    vk_merge_verdict why;
    assert_int_equal(group_of(&t, &why), 5);
    assert_int_equal(why, VK_MERGE_OK);
    assert_card_reproduces(&t);
    train_free(&t);
}

static void test_tso_psh_fin_and_short_last_segment_merge(void **state)
{
    (void)state;
    train t;
    seg_spec s = base_seg();
    make_train(&t, s, 3);
    s.seq += 3 * 1448;
    s.poff += 3 * 1448;
    s.ip_id += 3;
    s.plen = 100;
    s.flags = VK_TCP_ACK | VK_TCP_PSH | VK_TCP_FIN;
    train_add(&t, &s);
    assert_int_equal(group_of(&t, NULL), 4);
    assert_card_reproduces(&t);
    train_free(&t);
}

static void test_tso_ipv6_segments_merge_and_come_back(void **state)
{
    (void)state;
    train t;
    seg_spec s = base_seg();
    s.v6 = true;
    s.flow = 0x12345;
    s.plen = 1428;
    s.opts = timestamps(5, 6);
    s.optlen = 12;
    make_train(&t, s, 4);
    assert_int_equal(group_of(&t, NULL), 4);
    assert_card_reproduces(&t);
    train_free(&t);
}

static void test_tso_cwr_only_on_first_merges(void **state)
{
    (void)state;
    train t;
    seg_spec s = base_seg();
    s.flags = VK_TCP_ACK | VK_TCP_CWR;
    make_train(&t, s, 1);
    s.flags = VK_TCP_ACK;
    s.seq += 1448;
    s.poff += 1448;
    s.ip_id++;
    train_add(&t, &s);
    assert_int_equal(group_of(&t, NULL), 2);
    assert_card_reproduces(&t);
    /* CWR again on the second: the card would clear it */
    train_free(&t);
    s = base_seg();
    s.flags = VK_TCP_ACK | VK_TCP_CWR;
    make_train(&t, s, 2);
    vk_merge_verdict why;
    assert_int_equal(group_of(&t, &why), 1);
    assert_int_equal(why, VK_MERGE_FLAGS);
    train_free(&t);
}

/* Builds a 3-segment train, lets change() alter segment 2's spec, and
 * checks that the group stops before it with verdict want. */
typedef void (*change_fn)(seg_spec *s);

static void assert_stops_at_third(change_fn change, vk_merge_verdict want)
{
    train t = {0};
    seg_spec s = base_seg();
    s.opts = timestamps(101, 7777);
    s.optlen = 12;
    for (int i = 0; i < 3; i++) {
        seg_spec c = s;
        if (i == 2)
            change(&c);
        train_add(&t, &c);
        s.seq += (uint32_t)s.plen;
        s.poff += s.plen;
        s.ip_id++;
    }
    vk_merge_verdict why;
    size_t g = group_of(&t, &why);
    if (g != 2 || why != want)
        fail_msg("group of %zu, verdict '%s'; wanted 2 and '%s'", g,
                 vk_merge_verdict_name(why), vk_merge_verdict_name(want));
    train_free(&t);
}

static void gap(seg_spec *s)
{
    s->seq += 1;
}

static void retransmission(seg_spec *s)
{
    s->seq -= 1448;
    s->poff -= 1448;
}

static void urgent_flag(seg_spec *s)
{
    s->flags |= VK_TCP_URG;
}

static void other_ttl(seg_spec *s)
{
    s->ttl = 63;
}

static void other_tos(seg_spec *s)
{
    s->tos = 0x10;
}

static void no_df(seg_spec *s)
{
    s->df = false;
}

static void other_ack(seg_spec *s)
{
    s->ack += 1000;
}

static void other_window(seg_spec *s)
{
    s->win = 501;
}

static void other_timestamp(seg_spec *s)
{
    s->opts = timestamps(102, 7777);
}

static void ip_id_jump(seg_spec *s)
{
    s->ip_id += 5;
}

static void bigger_payload(seg_spec *s)
{
    s->plen = 1449;
}

static void sack_block(seg_spec *s)
{
    static uint8_t sack[12] = {1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2};
    s->opts = sack;
}

static void ip_options(seg_spec *s)
{
    static const uint8_t nops[4] = {1, 1, 1, 0};
    s->ipopts = nops;
    s->ipoptlen = 4;
}

static void other_port(seg_spec *s)
{
    s->sport = 40002;
}

static void test_tso_gap_in_seq_does_not_merge(void **state)
{
    (void)state;
    assert_stops_at_third(gap, VK_MERGE_SEQ);
}

static void test_tso_retransmission_does_not_merge(void **state)
{
    (void)state;
    assert_stops_at_third(retransmission, VK_MERGE_SEQ);
}

static void test_tso_different_flags_do_not_merge(void **state)
{
    (void)state;
    assert_stops_at_third(urgent_flag, VK_MERGE_FLAGS);
}

static void test_tso_different_ttl_tos_df_do_not_merge(void **state)
{
    (void)state;
    assert_stops_at_third(other_ttl, VK_MERGE_HEADERS);
    assert_stops_at_third(other_tos, VK_MERGE_HEADERS);
    assert_stops_at_third(no_df, VK_MERGE_HEADERS);
    assert_stops_at_third(other_port, VK_MERGE_HEADERS);
}

static void test_tso_different_ack_or_window_do_not_merge(void **state)
{
    (void)state;
    assert_stops_at_third(other_ack, VK_MERGE_HEADERS);
    assert_stops_at_third(other_window, VK_MERGE_HEADERS);
}

static void test_tso_different_timestamps_do_not_merge(void **state)
{
    (void)state;
    assert_stops_at_third(other_timestamp, VK_MERGE_TCP_OPTIONS);
}

static void test_tso_sack_option_does_not_merge(void **state)
{
    (void)state;
    assert_stops_at_third(sack_block, VK_MERGE_TCP_OPTIONS);
}

static void test_tso_ip_options_do_not_merge(void **state)
{
    (void)state;
    assert_stops_at_third(ip_options, VK_MERGE_IP_OPTIONS);
}

static void test_tso_ip_id_not_consecutive_does_not_merge(void **state)
{
    (void)state;
    assert_stops_at_third(ip_id_jump, VK_MERGE_IP_ID);
}

static void test_tso_segment_larger_than_mss_does_not_merge(void **state)
{
    (void)state;
    assert_stops_at_third(bigger_payload, VK_MERGE_SIZE);
}

static void test_tso_short_or_flagged_middle_segment_ends_group(void **state)
{
    (void)state;
    train t = {0};
    seg_spec s = base_seg();
    train_add(&t, &s);
    s.seq += 1448;
    s.poff += 1448;
    s.ip_id++;
    s.plen = 1000; /* short: only a last segment may be */
    train_add(&t, &s);
    s.seq += 1000;
    s.poff += 1000;
    s.ip_id++;
    train_add(&t, &s);
    vk_merge_verdict why;
    assert_int_equal(group_of(&t, &why), 2);
    assert_int_equal(why, VK_MERGE_SIZE);
    train_free(&t);
    /* PSH on the second: it must be the last */
    s = base_seg();
    make_train(&t, s, 3);
    t.f[1][VK_ETH_HLEN + 20 + 13] |= VK_TCP_PSH;
    vk_put_be16(t.f[1] + VK_ETH_HLEN + 20 + 16,
                vk_csum_update16(vk_get_be16(t.f[1] + VK_ETH_HLEN + 20 + 16), VK_TCP_ACK,
                                 VK_TCP_ACK | VK_TCP_PSH));
    assert_int_equal(group_of(&t, &why), 2);
    assert_int_equal(why, VK_MERGE_FLAGS);
    train_free(&t);
}

static void test_tso_syn_and_pure_ack_never_merge(void **state)
{
    (void)state;
    train t = {0};
    seg_spec s = base_seg();
    s.flags = VK_TCP_SYN;
    s.plen = 0;
    train_add(&t, &s);
    vk_tso_seg seg;
    assert_int_equal(vk_tso_seg_parse(t.f[0], t.len[0], VK_CSUM_ZERO_KEPT, &seg), VK_MERGE_NO_PAYLOAD);
    train_free(&t);
    s = base_seg();
    s.flags = VK_TCP_SYN | VK_TCP_ACK;
    make_train(&t, s, 2);
    vk_merge_verdict why;
    assert_int_equal(group_of(&t, &why), 1);
    assert_int_equal(why, VK_MERGE_FLAGS);
    train_free(&t);
}

static void test_tso_bad_checksum_does_not_merge(void **state)
{
    (void)state;
    train t;
    make_train(&t, base_seg(), 2);
    t.f[1][t.len[1] - 1] ^= 0xff; /* payload changed, checksum not */
    vk_merge_verdict why;
    assert_int_equal(group_of(&t, &why), 1);
    assert_int_equal(why, VK_MERGE_CSUM);
    train_free(&t);
}

static void test_tso_group_stays_within_one_ip_packet(void **state)
{
    (void)state;
    train t;
    make_train(&t, base_seg(), 50); /* 50 * 1448 > 65535 */
    vk_merge_verdict why;
    size_t g = group_of(&t, &why);
    assert_int_equal(why, VK_MERGE_SIZE);
    assert_true(20 + 20 + g * 1448 <= 65535);
    assert_true(20 + 20 + (g + 1) * 1448 > 65535);
    train_free(&t);
}

static void test_tso_build_refuses_a_non_group(void **state)
{
    (void)state;
    train t = {0};
    seg_spec s = base_seg();
    train_add(&t, &s);
    train_add(&t, &s); /* same seq twice */
    uint8_t *super = NULL;
    size_t len;
    vk_guest_offload meta;
    assert_int_equal(vk_tso_build((const uint8_t *const *)t.f, t.len, 2, VK_CSUM_ZERO_KEPT, &super, &len,
                                  &meta),
                     VK_EINVAL);
    assert_null(super);
    train_free(&t);
}

/* ---- checksum offload ---- */

static size_t build_udp(uint8_t *out, size_t cap, size_t plen, bool v6, uint16_t id)
{
    uint8_t payload[FRAME_CAP];
    for (size_t i = 0; i < plen; i++)
        payload[i] = bulk_byte(i + 3);
    size_t l3 = VK_ETH_HLEN, l4 = l3 + (v6 ? VK_IPV6_HLEN : VK_IPV4_MIN_HLEN);
    size_t ulen = 8 + plen, ip_len, eth_len;
    assert_true(l4 + ulen <= cap);
    vk_put_be16(out + l4, 40010);
    vk_put_be16(out + l4 + 2, 5002);
    vk_put_be16(out + l4 + 4, (uint16_t)ulen);
    vk_put_be16(out + l4 + 6, 0);
    memcpy(out + l4 + 8, payload, plen);
    uint32_t pseudo = v6 ? vk_csum_pseudo6(&guest_ip6, &gw_ip6, VK_IP_PROTO_UDP)
                         : vk_csum_pseudo4(&guest_ip, &gw_ip, VK_IP_PROTO_UDP);
    uint16_t c = vk_csum_l4(pseudo, out + l4, ulen);
    vk_put_be16(out + l4 + 6, c == 0 ? 0xffff : c);
    if (v6) {
        vk_ipv6_repr ip = {.next_header = VK_IP_PROTO_UDP, .hop_limit = 64, .src = guest_ip6,
                           .dst = gw_ip6, .payload = out + l4, .payload_len = ulen};
        assert_int_equal(vk_ipv6_emit(&ip, out + l3, cap - l3, &ip_len), VK_OK);
    } else {
        vk_ipv4_repr ip = {.id = id, .df = true, .ttl = 64, .proto = VK_IP_PROTO_UDP,
                           .src = guest_ip, .dst = gw_ip, .payload = out + l4,
                           .payload_len = ulen};
        assert_int_equal(vk_ipv4_emit(&ip, out + l3, cap - l3, &ip_len), VK_OK);
    }
    vk_eth_repr e = {.dst = gw_mac, .src = guest_mac,
                     .ethertype = v6 ? VK_ETHERTYPE_IPV6 : VK_ETHERTYPE_IPV4,
                     .payload = out + l3, .payload_len = ip_len};
    assert_int_equal(vk_eth_emit(&e, out, cap, &eth_len), VK_OK);
    return eth_len;
}

/* prepare, then the card's checksum: the original comes back. */
static void assert_csum_round_trip(const uint8_t *f, size_t len)
{
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, f, len);
    vk_guest_offload meta;
    assert_int_equal(vk_csum_prepare(copy, len, VK_CSUM_ZERO_AS_FFFF, &meta), VK_OK);
    assert_int_equal(meta.gso_mss, 0);
    assert_memory_not_equal(copy, f, len);
    assert_int_equal(vk_offload_csum(copy, len, meta.csum_start, meta.csum_offset,
                                     VK_CSUM_ZERO_AS_FFFF), VK_OK);
    assert_memory_equal(copy, f, len);
    free(copy);
}

static void test_csum_prepare_leaves_what_the_card_completes(void **state)
{
    (void)state;
    uint8_t f[FRAME_CAP];
    for (size_t plen = 0; plen < 40; plen += 7) {
        assert_csum_round_trip(f, build_udp(f, sizeof f, plen, false, 9));
        assert_csum_round_trip(f, build_udp(f, sizeof f, plen, true, 0));
    }
    seg_spec s = base_seg();
    s.plen = 333;
    assert_csum_round_trip(f, build_seg(&s, f, sizeof f));
    s.v6 = true;
    assert_csum_round_trip(f, build_seg(&s, f, sizeof f));
}

static void test_csum_prepare_refuses_what_the_card_cannot_reproduce(void **state)
{
    (void)state;
    uint8_t f[FRAME_CAP], keep[FRAME_CAP];
    vk_guest_offload meta;
    size_t len = build_udp(f, sizeof f, 20, false, 9);
    vk_put_be16(f + VK_ETH_HLEN + 20 + 6, 0); /* no checksum */
    memcpy(keep, f, len);
    assert_int_equal(vk_csum_prepare(f, len, VK_CSUM_ZERO_AS_FFFF, &meta), VK_EUNSUPP);
    assert_memory_equal(f, keep, len);
    len = build_udp(f, sizeof f, 20, false, 9);
    f[len - 1] ^= 1; /* wrong checksum */
    memcpy(keep, f, len);
    assert_int_equal(vk_csum_prepare(f, len, VK_CSUM_ZERO_AS_FFFF, &meta), VK_EUNSUPP);
    assert_memory_equal(f, keep, len);
    /* not TCP/UDP: an ARP-sized frame of another type */
    memset(f, 0, 60);
    vk_put_be16(f + 12, VK_ETHERTYPE_ARP);
    assert_int_equal(vk_csum_prepare(f, 60, VK_CSUM_ZERO_AS_FFFF, &meta), VK_EUNSUPP);
}

/* Makes the TCP checksum of the IPv4 segment f compute to 0 (a payload word
 * gets the checksum's value added) and stores that 0 as `stored`. */
static void tcp_sum_to_zero(uint8_t *f, size_t len, uint16_t stored)
{
    size_t l4 = VK_ETH_HLEN + VK_IPV4_MIN_HLEN;
    size_t pl = l4 + (size_t)(f[l4 + 12] >> 4) * 4;
    vk_test_ones_add(f + pl, vk_get_be16(f + l4 + 16));
    vk_put_be16(f + l4 + 16, stored);
    unsigned bad = 99; /* either spelling verifies */
    assert_int_equal(vk_csum_check_frame(f, len, &bad), VK_OK);
    assert_int_equal(bad, 0);
}

/* A recorded checksum that computes to 0 comes back only from a card that
 * spells 0 that way: 0x0000 from rtl8139-like cards (KEPT), 0xffff from
 * e1000-like ones (AS_FFFF).  The rebuild asks the card's rule and refuses
 * (sends as it is) the other spelling, for checksum offload and for TSO. */
static void test_zero_checksum_comes_back_only_in_the_cards_spelling(void **state)
{
    (void)state;
    static const vk_csum_zero rules[2] = {VK_CSUM_ZERO_KEPT, VK_CSUM_ZERO_AS_FFFF};
    for (int spell = 0; spell < 2; spell++) {
        uint16_t stored = spell == 0 ? 0x0000 : 0xffff;
        /* checksum offload: one segment */
        uint8_t f[FRAME_CAP], copy[FRAME_CAP];
        seg_spec s = base_seg();
        s.plen = 300;
        size_t len = build_seg(&s, f, sizeof f);
        tcp_sum_to_zero(f, len, stored);
        for (int r = 0; r < 2; r++) {
            memcpy(copy, f, len);
            vk_guest_offload meta;
            int e = vk_csum_prepare(copy, len, rules[r], &meta);
            if (r != spell) {
                assert_int_equal(e, VK_EUNSUPP);
                assert_memory_equal(copy, f, len);
                continue;
            }
            assert_int_equal(e, VK_OK);
            assert_int_equal(vk_offload_csum(copy, len, meta.csum_start, meta.csum_offset, rules[r]),
                             VK_OK);
            assert_memory_equal(copy, f, len);
        }
        /* TSO: the second of three segments */
        train t;
        make_train(&t, base_seg(), 3);
        tcp_sum_to_zero(t.f[1], t.len[1], stored);
        for (int r = 0; r < 2; r++) {
            vk_tso_seg seg;
            vk_merge_verdict why;
            size_t n = vk_tso_group((const uint8_t *const *)t.f, t.len, t.n, rules[r], &why);
            if (r != spell) {
                assert_int_equal(vk_tso_seg_parse(t.f[1], t.len[1], rules[r], &seg),
                                 VK_MERGE_CSUM);
                assert_int_equal(n, 1);
                assert_int_equal(why, VK_MERGE_CSUM);
                continue;
            }
            assert_int_equal(n, 3);
            uint8_t *super;
            size_t slen;
            vk_guest_offload meta;
            assert_int_equal(vk_tso_build((const uint8_t *const *)t.f, t.len, t.n, rules[r], &super,
                                          &slen, &meta),
                             VK_OK);
            collected c = {0};
            assert_int_equal(vk_offload_tso(super, slen, meta.hdr_len, meta.gso_mss, rules[r],
                                            collect, &c),
                             3);
            for (size_t i = 0; i < 3; i++) {
                assert_int_equal(c.len[i], t.len[i]);
                assert_memory_equal(c.f[i], t.f[i], t.len[i]);
                free(c.f[i]);
            }
            free(super);
        }
        train_free(&t);
    }
}

/* ---- the committed capture ---- */

typedef struct cap_writer {
    pcap_dumper_t *dump;
    uint64_t t_us;
} cap_writer;

static void put_frame(cap_writer *w, const uint8_t *f, size_t len)
{
    struct pcap_pkthdr ph = {.caplen = (bpf_u_int32)len, .len = (bpf_u_int32)len};
    ph.ts.tv_sec = (time_t)(w->t_us / 1000000u);
    ph.ts.tv_usec = (suseconds_t)(w->t_us % 1000000u);
    pcap_dump((u_char *)w->dump, &ph, f);
    w->t_us += 20; /* back to back, 20 us apart */
}

static void put_seg(cap_writer *w, const seg_spec *s)
{
    uint8_t f[FRAME_CAP];
    put_frame(w, f, build_seg(s, f, sizeof f));
}

/* The IPv4 bulk flow: SYN, ACK, 64 KiB in 1448-byte segments whose TSval
 * ticks every 16 segments, one retransmission inside the third train, FIN. */
static void gen_ipv4_flow(cap_writer *w, uint16_t *id)
{
    static const uint8_t syn_opts[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 100,
                                         0, 0, 0, 0, 1, 3, 3, 7};
    seg_spec s = base_seg();
    s.seq = 1000000;
    s.ack = 0;
    s.flags = VK_TCP_SYN;
    s.win = 64240;
    s.plen = 0;
    s.opts = syn_opts;
    s.optlen = sizeof syn_opts;
    s.ip_id = (*id)++;
    put_seg(w, &s);
    s = base_seg();
    s.plen = 0;
    s.opts = timestamps(100, 7777);
    s.optlen = 12;
    s.ip_id = (*id)++;
    put_seg(w, &s);
    const size_t total = 65536, mss = 1448;
    size_t k = 0;
    for (size_t off = 0; off < total; off += mss, k++) {
        s.plen = total - off < mss ? total - off : mss;
        s.poff = off;
        s.seq = (uint32_t)(1000001 + off);
        s.opts = timestamps((uint32_t)(101 + k / 16), 7777);
        s.flags = off + s.plen == total ? VK_TCP_ACK | VK_TCP_PSH : VK_TCP_ACK;
        s.ip_id = (*id)++;
        put_seg(w, &s);
        if (k == 36) { /* segment 33 again: a retransmission */
            seg_spec r = s;
            r.poff = 33 * mss;
            r.seq = (uint32_t)(1000001 + r.poff);
            r.plen = mss;
            r.flags = VK_TCP_ACK;
            r.ip_id = (*id)++;
            put_seg(w, &r);
        }
    }
    s.plen = 0;
    s.seq = (uint32_t)(1000001 + total);
    s.flags = VK_TCP_ACK | VK_TCP_FIN;
    s.opts = timestamps(104, 7777);
    s.ip_id = (*id)++;
    put_seg(w, &s);
}

/* UDP datagrams for checksum offload, one without a checksum. */
static void gen_udp(cap_writer *w, uint16_t *id)
{
    static const size_t sizes[] = {100, 1000, 1472, 33};
    uint8_t f[FRAME_CAP];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        put_frame(w, f, build_udp(f, sizeof f, sizes[i], false, (*id)++));
    size_t len = build_udp(f, sizeof f, 64, false, (*id)++);
    uint8_t *ip = f + VK_ETH_HLEN;
    vk_put_be16(ip + 20 + 6, 0); /* SO_NO_CHECK */
    put_frame(w, f, len);
    put_frame(w, f, build_udp(f, sizeof f, 200, true, 0));
}

/* An IPv6 flow: 10 full segments of 1428 bytes (MSS with timestamps) and a
 * short PSH one. */
static void gen_ipv6_flow(cap_writer *w)
{
    seg_spec s = base_seg();
    s.v6 = true;
    s.sport = 40001;
    s.flow = 0x5a5a5;
    s.seq = 7000001;
    s.ack = 9000001;
    s.opts = timestamps(300, 400);
    s.optlen = 12;
    for (size_t k = 0; k < 11; k++) {
        s.plen = k < 10 ? 1428 : 100;
        s.poff = k * 1428;
        s.flags = k < 10 ? VK_TCP_ACK : VK_TCP_ACK | VK_TCP_PSH;
        put_seg(w, &s);
        s.seq += (uint32_t)s.plen;
    }
}

/* The gateway's answers, 1 ms after the guest's last frame: the ACK of the
 * IPv4 stream and FIN, and of the IPv6 train.  The topology plays them from
 * a pcap backend (offload-tcp-bulk-gw.pcap), so the replay has answers to
 * match as well as the wire to check. */
static void gen_gateway(cap_writer *w)
{
    seg_spec s = base_seg();
    s.sport = 5001;
    s.dport = 40000;
    s.seq = 5000001;
    s.ack = 1000001 + 65536 + 1;
    s.win = 65535;
    s.ip_id = 0x0100;
    s.plen = 0;
    s.opts = timestamps(7778, 104);
    s.optlen = 12;
    w->t_us += 1000;
    uint8_t f[FRAME_CAP];
    put_frame(w, f, build_seg_dir(&s, true, f, sizeof f));
    s.v6 = true;
    s.dport = 40001;
    s.seq = 9000001;
    s.ack = 7000001 + 10 * 1428 + 100;
    s.opts = timestamps(401, 300);
    put_frame(w, f, build_seg_dir(&s, true, f, sizeof f));
}

static cap_writer open_capture(const char *path, pcap_t **h)
{
    *h = pcap_open_dead(DLT_EN10MB, 65535);
    assert_non_null(*h);
    cap_writer w = {pcap_dump_open(*h, path), 1700000000ull * 1000000u};
    assert_non_null(w.dump);
    return w;
}

static void close_capture(cap_writer *w, pcap_t *h)
{
    pcap_dump_close(w->dump);
    pcap_close(h);
}

/* dir/offload-tcp-bulk.pcap (guest frames, then the gateway's answers) and
 * dir/offload-tcp-bulk-gw.pcap (the answers alone, same times). */
static void gen_captures(const char *dir)
{
    char path[512];
    pcap_t *h;
    snprintf(path, sizeof path, "%s/offload-tcp-bulk.pcap", dir);
    cap_writer w = open_capture(path, &h);
    uint16_t id = 0x4d00;
    gen_ipv4_flow(&w, &id);
    gen_udp(&w, &id);
    gen_ipv6_flow(&w);
    uint64_t t_gw = w.t_us;
    gen_gateway(&w);
    close_capture(&w, h);
    snprintf(path, sizeof path, "%s/offload-tcp-bulk-gw.pcap", dir);
    w = open_capture(path, &h);
    w.t_us = t_gw;
    gen_gateway(&w);
    close_capture(&w, h);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = malloc(1 << 22);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 22, f);
    fclose(f);
    return buf;
}

static void assert_same_file(const char *dir_a, const char *dir_b, const char *name)
{
    char a_path[512], b_path[512];
    snprintf(a_path, sizeof a_path, "%s/%s", dir_a, name);
    snprintf(b_path, sizeof b_path, "%s/%s", dir_b, name);
    size_t na = 0, nb = 0;
    uint8_t *a = slurp(a_path, &na), *b = slurp(b_path, &nb);
    assert_non_null(a);
    if (b == NULL)
        fail_msg("%s is missing: VK_WRITE_OFFLOAD_PCAPS=%s test_replay_offload", b_path, dir_b);
    if (na != nb || memcmp(a, b, na) != 0)
        fail_msg("%s differs from what the generator makes now (%s)", b_path, a_path);
    free(a);
    free(b);
    remove(a_path);
}

static void test_offload_capture_is_reproducible(void **state)
{
    (void)state;
    const char *out = getenv("VK_WRITE_OFFLOAD_PCAPS");
    if (out != NULL && *out != '\0') {
        gen_captures(out);
        return;
    }
    char src[512];
    snprintf(src, sizeof src, "%s/pcaps", VK_SOURCE_DIR);
    gen_captures(VK_BINARY_DIR);
    assert_same_file(VK_BINARY_DIR, src, "offload-tcp-bulk.pcap");
    assert_same_file(VK_BINARY_DIR, src, "offload-tcp-bulk-gw.pcap");
}

/* ---- the replay driver with --guest-offload ---- */

/* A NIC model whose guest driver has no offload entry point. */
static int plain_send(vk_port *nic, const uint8_t *data, size_t len)
{
    return vk_port_send_bytes(nic, data, len);
}

static const vk_nic_guest_ops plain_guest_ops = {.send = plain_send};

static int plain_receive(vk_port *self, vk_frame *f)
{
    vk_nic_deliver_to_guest(self, f->data, f->len);
    return VK_OK;
}

static const vk_port_ops plain_port_ops = {.kind = "nic", .receive = plain_receive};

static int plain_create(vk_net *net, const char *id, const vk_mac *mac, vk_opts *o,
                        vk_port **out, vk_diag *d)
{
    (void)o;
    vk_port *p;
    int e = vk_port_new(net, &plain_port_ops, id, "plain-nic", sizeof(vk_nic), &p, NULL);
    if (e != VK_OK)
        return vk_diag_set(d, e, "plain-nic: %s", vk_strerror(e));
    vk_nic *n = p->priv;
    n->mac = *mac;
    n->guest = &plain_guest_ops;
    *out = p;
    return VK_OK;
}

static const char *const no_keys[] = {NULL};
static const vk_nic_model plain_model = {"plain-nic", no_keys, plain_create};
static const vk_nic_model *const test_models[] = {&plain_model, &vk_nic_e1000,
                                                  &vk_virtio_net_pci_model, NULL};
static const vk_object_type *const no_objects[] = {NULL};
static const vk_registry reg = {vk_backend_types, test_models, no_objects, NULL, NULL};

/* The topology of pcaps/offload-tcp-bulk.topo with the given device. */
static vk_topology *sink_topology(const char *device)
{
    vk_topology *t = vk_topology_new();
    vk_diag d;
    assert_non_null(t);
    assert_int_equal(vk_topology_add(t, "-netdev", "pcap,id=sink,out=/dev/null", "test", &d),
                     VK_OK);
    assert_int_equal(vk_topology_add(t, "-netdev", "hubport,id=h1,hubid=0,netdev=sink", "test",
                                     &d),
                     VK_OK);
    char gw[600];
    snprintf(gw, sizeof gw, "pcap,id=gw,in=%s/pcaps/offload-tcp-bulk-gw.pcap,out=/dev/null",
             VK_SOURCE_DIR);
    assert_int_equal(vk_topology_add(t, "-netdev", gw, "test", &d), VK_OK);
    assert_int_equal(vk_topology_add(t, "-netdev", "hubport,id=h2,hubid=0,netdev=gw", "test",
                                     &d),
                     VK_OK);
    assert_int_equal(vk_topology_add(t, "-netdev", "hubport,id=h0,hubid=0", "test", &d), VK_OK);
    assert_int_equal(vk_topology_add(t, "-device", device, "test", &d), VK_OK);
    return t;
}

static vk_replay_config bulk_config(vk_nic_offload mode)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/pcaps/offload-tcp-bulk.pcap", VK_SOURCE_DIR);
    return (vk_replay_config){.capture_path = path, .reg = &reg, .norm = VK_NORM_DEFAULT,
                              .settle_ns = 1000000, .offload_set = true, .offload = mode};
}

static void test_replay_refuses_offload_for_a_driver_without_entry_point(void **state)
{
    (void)state;
    vk_replay_config cfg = bulk_config(VK_NIC_OFFLOAD_CSUM);
    vk_replay *r = NULL;
    vk_diag d;
    int e = vk_replay_run(&cfg, sink_topology("plain-nic,netdev=h0,id=n0"), &r, &d);
    assert_int_equal(e, VK_EUNSUPP);
    assert_null(r);
    assert_non_null(strstr(d.msg, "no offload entry point"));
    assert_non_null(strstr(d.msg, "'n0'"));
    /* none needs no entry point: every frame goes through send() */
    cfg = bulk_config(VK_NIC_OFFLOAD_NONE);
    assert_int_equal(vk_replay_run(&cfg, sink_topology("plain-nic,netdev=h0,id=n0"), &r, &d),
                     VK_OK);
    assert_true(r->wire_checked);
    assert_int_equal(r->wire.divergences, 0);
    assert_int_equal(r->wire.matched, 67);
    assert_int_equal(r->cmp.matched, 2);
    assert_int_equal(vk_replay_divergences(r), 0);
    vk_replay_free(r);
}

static void assert_bulk_through(const char *device)
{
    vk_replay_config cfg = bulk_config(VK_NIC_OFFLOAD_TSO);
    vk_replay *r = NULL;
    vk_diag d;
    int e = vk_replay_run(&cfg, sink_topology(device), &r, &d);
    if (e != VK_OK)
        fail_msg("%s: %s", device, d.msg);
    /* [0-15] [16-31] [32-36] (retransmission) [37-45] and the IPv6 train */
    assert_int_equal(r->offload_stats.tso_jobs, 5);
    assert_int_equal(r->offload_stats.tso_segs, 16 + 16 + 5 + 9 + 11);
    assert_int_equal(r->offload_stats.plain, 1); /* the UDP datagram without checksum */
    assert_int_equal(r->injected, 67);
    assert_int_equal(r->nwire, 67);
    assert_int_equal(r->wire.nexp, 67);
    assert_int_equal(r->wire.divergences, 0);
    assert_int_equal(r->cmp.matched, 2);
    assert_int_equal(vk_replay_divergences(r), 0);
    vk_replay_free(r);
}

static void test_replay_tso_puts_the_recorded_frames_on_the_wire(void **state)
{
    (void)state;
    assert_bulk_through("e1000,netdev=h0,id=n0");
    assert_bulk_through("virtio-net-pci,netdev=h0,id=n0");
}

static void test_replay_offload_names(void **state)
{
    (void)state;
    vk_nic_offload m;
    assert_int_equal(vk_nic_offload_parse("tso", &m), VK_OK);
    assert_int_equal(m, VK_NIC_OFFLOAD_TSO);
    assert_string_equal(vk_nic_offload_name(VK_NIC_OFFLOAD_CSUM), "csum");
    assert_int_equal(vk_nic_offload_parse("gso", &m), VK_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tso_contiguous_segments_merge_and_come_back),
        cmocka_unit_test(test_tso_psh_fin_and_short_last_segment_merge),
        cmocka_unit_test(test_tso_ipv6_segments_merge_and_come_back),
        cmocka_unit_test(test_tso_cwr_only_on_first_merges),
        cmocka_unit_test(test_tso_gap_in_seq_does_not_merge),
        cmocka_unit_test(test_tso_retransmission_does_not_merge),
        cmocka_unit_test(test_tso_different_flags_do_not_merge),
        cmocka_unit_test(test_tso_different_ttl_tos_df_do_not_merge),
        cmocka_unit_test(test_tso_different_ack_or_window_do_not_merge),
        cmocka_unit_test(test_tso_different_timestamps_do_not_merge),
        cmocka_unit_test(test_tso_sack_option_does_not_merge),
        cmocka_unit_test(test_tso_ip_options_do_not_merge),
        cmocka_unit_test(test_tso_ip_id_not_consecutive_does_not_merge),
        cmocka_unit_test(test_tso_segment_larger_than_mss_does_not_merge),
        cmocka_unit_test(test_tso_short_or_flagged_middle_segment_ends_group),
        cmocka_unit_test(test_tso_syn_and_pure_ack_never_merge),
        cmocka_unit_test(test_tso_bad_checksum_does_not_merge),
        cmocka_unit_test(test_tso_group_stays_within_one_ip_packet),
        cmocka_unit_test(test_tso_build_refuses_a_non_group),
        cmocka_unit_test(test_csum_prepare_leaves_what_the_card_completes),
        cmocka_unit_test(test_csum_prepare_refuses_what_the_card_cannot_reproduce),
        cmocka_unit_test(test_zero_checksum_comes_back_only_in_the_cards_spelling),
        cmocka_unit_test(test_offload_capture_is_reproducible),
        cmocka_unit_test(test_replay_refuses_offload_for_a_driver_without_entry_point),
        cmocka_unit_test(test_replay_tso_puts_the_recorded_frames_on_the_wire),
        cmocka_unit_test(test_replay_offload_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
