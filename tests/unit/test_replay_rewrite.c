/*
 * replay/rewrite + replay/compare: the ISN/timestamp rewriter (offsets
 * learned from the first answer, the guest's echoes shifted, checksums still
 * valid), each normalisation on and off, flow keys, field-level diffs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "replay/compare.h"
#include "replay/rewrite.h"
#include "wire/buf.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

#define GUEST "10.0.2.15"
#define HOST "10.0.2.2"

typedef struct tcpf {
    const char *src, *dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    bool ts;
    uint32_t tsval, tsecr;
    uint16_t ipid;
} tcpf;

static size_t make_tcp(uint8_t *buf, size_t cap, const tcpf *p)
{
    vk_ip4 s, d;
    assert_int_equal(vk_ip4_parse(p->src, &s), VK_OK);
    assert_int_equal(vk_ip4_parse(p->dst, &d), VK_OK);
    uint8_t seg[128], ip[192];
    size_t seglen, iplen, len;
    vk_tcp_repr t = {.src_port = p->sport, .dst_port = p->dport, .seq = p->seq, .ack = p->ack,
                     .flags = p->flags, .window = 29200, .has_ts = p->ts, .ts_val = p->tsval,
                     .ts_ecr = p->tsecr, .payload = (const uint8_t *)"hi", .payload_len = 2};
    assert_int_equal(vk_tcp_emit(&t, vk_csum_pseudo4(&s, &d, VK_IP_PROTO_TCP), seg, sizeof seg,
                                 &seglen),
                     VK_OK);
    vk_ipv4_repr ir = {.id = p->ipid, .ttl = 64, .proto = VK_IP_PROTO_TCP, .src = s, .dst = d,
                       .payload = seg, .payload_len = seglen};
    assert_int_equal(vk_ipv4_emit(&ir, ip, sizeof ip, &iplen), VK_OK);
    vk_eth_repr er = {.ethertype = VK_ETHERTYPE_IPV4, .payload = ip, .payload_len = iplen};
    vk_mac_parse("52:55:0a:00:02:02", &er.dst);
    vk_mac_parse("52:54:00:12:34:56", &er.src);
    assert_int_equal(vk_eth_emit(&er, buf, cap, &len), VK_OK);
    return len;
}

static void assert_csums_ok(const uint8_t *f, size_t len)
{
    unsigned bad = 99;
    assert_int_equal(vk_csum_check_frame(f, len, &bad), VK_OK);
    assert_int_equal(bad, 0);
}

static vk_tcp_repr parse_tcp(const uint8_t *f, size_t len)
{
    vk_pkt k;
    vk_tcp_repr t;
    assert_int_equal(vk_pkt_locate(f, len, &k), VK_OK);
    assert_int_equal(vk_tcp_parse(f + k.l4_off, k.l3_end - k.l4_off, &t), VK_OK);
    return t;
}

/* The guest opened the connection; the network's ISN differs by 4000 and its
 * timestamp clock by 400. */
static void learn_offsets(vk_rewriter *rw)
{
    uint8_t f[200];
    tcpf rec = {HOST, GUEST, 80, 40000, 1000, 5001, VK_TCP_SYN | VK_TCP_ACK, true, 500, 77, 0};
    size_t n = make_tcp(f, sizeof f, &rec);
    assert_int_equal(vk_rw_expect(rw, f, n), VK_OK);
    tcpf got = rec;
    got.seq = 5000;
    got.tsval = 900;
    n = make_tcp(f, sizeof f, &got);
    vk_rw_learn(rw, f, n);
}

static void test_rewrite_shifts_ack_and_tsecr_by_learned_offsets(void **state)
{
    (void)state;
    vk_rewriter rw;
    vk_rw_init(&rw);
    learn_offsets(&rw);
    uint8_t f[200];
    tcpf g = {GUEST, HOST, 40000, 80, 5001, 1001, VK_TCP_ACK, true, 78, 500, 3};
    size_t n = make_tcp(f, sizeof f, &g);
    assert_true(vk_rw_apply(&rw, f, n));
    vk_tcp_repr t = parse_tcp(f, n);
    assert_int_equal(t.ack, 5001);
    assert_int_equal(t.ts_ecr, 900);
    assert_int_equal(t.seq, 5001); /* the guest's own numbers stay */
    assert_int_equal(t.ts_val, 78);
    assert_csums_ok(f, n);
    assert_int_equal(rw.frames_rewritten, 1);
    vk_rw_free(&rw);
}

static void test_rewrite_leaves_syn_and_unknown_flows_alone(void **state)
{
    (void)state;
    vk_rewriter rw;
    vk_rw_init(&rw);
    learn_offsets(&rw);
    uint8_t f[200], orig[200];
    tcpf syn = {GUEST, HOST, 40000, 80, 5000, 0, VK_TCP_SYN, true, 70, 0, 1};
    size_t n = make_tcp(f, sizeof f, &syn);
    memcpy(orig, f, n);
    assert_false(vk_rw_apply(&rw, f, n));
    assert_memory_equal(f, orig, n);
    tcpf other = {GUEST, HOST, 40001, 80, 1, 1001, VK_TCP_ACK, false, 0, 0, 1};
    n = make_tcp(f, sizeof f, &other);
    memcpy(orig, f, n);
    assert_false(vk_rw_apply(&rw, f, n));
    assert_memory_equal(f, orig, n);
    vk_rw_free(&rw);
}

/* hostfwd: the network opened the connection; the guest's SYN-ACK echoes
 * the network's sequence number in its ack field. */
static void test_rewrite_follows_a_network_opened_connection(void **state)
{
    (void)state;
    vk_rewriter rw;
    vk_rw_init(&rw);
    uint8_t f[200];
    tcpf rec = {HOST, GUEST, 50000, 22, 7000, 0, VK_TCP_SYN, false, 0, 0, 0};
    size_t n = make_tcp(f, sizeof f, &rec);
    vk_rw_expect(&rw, f, n);
    rec.seq = 0xfffffff0u; /* the offset wraps modulo 2^32 */
    n = make_tcp(f, sizeof f, &rec);
    vk_rw_learn(&rw, f, n);
    tcpf synack = {GUEST, HOST, 22, 50000, 123, 7001, VK_TCP_SYN | VK_TCP_ACK, false, 0, 0, 0};
    n = make_tcp(f, sizeof f, &synack);
    assert_true(vk_rw_apply(&rw, f, n));
    assert_int_equal(parse_tcp(f, n).ack, 0xfffffff1u);
    assert_csums_ok(f, n);
    vk_rw_free(&rw);
}

/* ---- normalisations: each one on (frames compare equal) and off ---- */

static void diff_after(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                       unsigned norm, const vk_rewriter *rw, char *out, size_t cap)
{
    uint8_t x[2048], y[2048];
    memcpy(x, a, alen);
    memcpy(y, b, blen);
    alen = vk_normalize(x, alen, norm, rw, false);
    blen = vk_normalize(y, blen, norm, rw, true);
    vk_diff_frames(x, alen, y, blen, out, cap);
}

static void test_norm_ip_id(void **state)
{
    (void)state;
    uint8_t a[200], b[200];
    char buf[512];
    tcpf p = {HOST, GUEST, 80, 40000, 1, 1, VK_TCP_ACK, false, 0, 0, 111};
    size_t n = make_tcp(a, sizeof a, &p);
    p.ipid = 222;
    make_tcp(b, sizeof b, &p);
    diff_after(a, n, b, n, VK_NORM_IP_ID, NULL, buf, sizeof buf);
    assert_string_equal(buf, "");
    diff_after(a, n, b, n, 0, NULL, buf, sizeof buf);
    assert_non_null(strstr(buf, "ip.id expected 111 got 222"));
    /* the normalised frame still has a valid IP checksum */
    vk_normalize(b, n, VK_NORM_IP_ID, NULL, true);
    assert_csums_ok(b, n);
}

static void test_norm_checksums(void **state)
{
    (void)state;
    uint8_t a[200], b[200];
    char buf[512];
    tcpf p = {HOST, GUEST, 80, 40000, 1, 1, VK_TCP_ACK, false, 0, 0, 1};
    size_t n = make_tcp(a, sizeof a, &p);
    memcpy(b, a, n);
    b[14 + 20 + 16] ^= 0x55; /* a wrong TCP checksum */
    diff_after(a, n, b, n, VK_NORM_CHECKSUMS, NULL, buf, sizeof buf);
    assert_string_equal(buf, "");
    diff_after(a, n, b, n, 0, NULL, buf, sizeof buf);
    assert_non_null(strstr(buf, "tcp.csum expected"));
}

static void test_norm_tcp_ts(void **state)
{
    (void)state;
    uint8_t a[200], b[200];
    char buf[512];
    tcpf p = {HOST, GUEST, 80, 40000, 1, 1, VK_TCP_ACK, true, 10, 20, 1};
    size_t n = make_tcp(a, sizeof a, &p);
    p.tsval = 11;
    make_tcp(b, sizeof b, &p);
    diff_after(a, n, b, n, VK_NORM_TCP_TS, NULL, buf, sizeof buf);
    assert_string_equal(buf, "");
    diff_after(a, n, b, n, 0, NULL, buf, sizeof buf);
    assert_non_null(strstr(buf, "tcp.tsval expected 10 got 11"));
}

static void test_norm_tcp_isn(void **state)
{
    (void)state;
    vk_rewriter rw;
    vk_rw_init(&rw);
    learn_offsets(&rw); /* ISN offset 4000 */
    uint8_t a[200], b[200];
    char buf[512];
    tcpf p = {HOST, GUEST, 80, 40000, 1001, 5001, VK_TCP_ACK, false, 0, 0, 1};
    size_t n = make_tcp(a, sizeof a, &p);
    p.seq = 5001;
    make_tcp(b, sizeof b, &p);
    diff_after(a, n, b, n, VK_NORM_TCP_ISN, &rw, buf, sizeof buf);
    assert_string_equal(buf, "");
    diff_after(a, n, b, n, 0, &rw, buf, sizeof buf);
    assert_non_null(strstr(buf, "tcp.seq expected 1001 got 5001"));
    vk_rw_free(&rw);
}

/* The comparator matches a pair of equal bytes without normalising it only
 * where normalising cannot tell the sides apart: a produced segment equal
 * to the recorded one is still shifted back by the learned ISN offset, so
 * it diverges, and matches without the TCP ISN normalisation. */
static void test_equal_bytes_still_diverge_when_the_isn_offset_shifts_the_produced_side(
    void **state)
{
    (void)state;
    vk_rewriter rw;
    vk_rw_init(&rw);
    learn_offsets(&rw); /* ISN offset 4000 */
    uint8_t a[200], b[200];
    tcpf p = {HOST, GUEST, 80, 40000, 5001, 5001, VK_TCP_ACK, false, 0, 0, 1};
    size_t n = make_tcp(a, sizeof a, &p);
    memcpy(b, a, n);
    vk_cmp_frame exp = {1, 1000, a, n}, prod = {1, 1000, b, n};
    vk_cmp_result r;
    assert_int_equal(vk_compare(&exp, 1, &prod, 1, VK_NORM_DEFAULT | VK_NORM_TCP_ISN, &rw, &r),
                     VK_OK);
    assert_int_equal(r.matched, 0);
    assert_int_equal(r.divergences, 1);
    assert_int_equal(r.e[0].kind, VK_CMP_DIFFER);
    assert_non_null(strstr(r.e[0].diff, "tcp.seq expected 5001 got 1001"));
    vk_cmp_result_free(&r);
    assert_int_equal(vk_compare(&exp, 1, &prod, 1, VK_NORM_DEFAULT & ~VK_NORM_TCP_ISN, &rw, &r),
                     VK_OK);
    assert_int_equal(r.matched, 1);
    assert_int_equal(r.divergences, 0);
    vk_cmp_result_free(&r);
    vk_rw_free(&rw);
}

static void test_norm_eth_pad(void **state)
{
    (void)state;
    static const uint8_t arp[42] = {
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02,
        10,   0,    2,    2,    0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 10,   0,    2,    15};
    uint8_t padded[60] = {0};
    memcpy(padded, arp, sizeof arp);
    char buf[512];
    diff_after(arp, sizeof arp, padded, sizeof padded, VK_NORM_ETH_PAD, NULL, buf, sizeof buf);
    assert_string_equal(buf, "");
    diff_after(arp, sizeof arp, padded, sizeof padded, 0, NULL, buf, sizeof buf);
    assert_string_equal(buf, "length expected 42 got 60");
}

static void test_norm_names_parse(void **state)
{
    (void)state;
    unsigned m = 0;
    vk_diag d;
    assert_int_equal(vk_norm_parse("ip-id,checksums", true, &m, &d), VK_OK);
    assert_int_equal(m, VK_NORM_IP_ID | VK_NORM_CHECKSUMS);
    assert_int_equal(vk_norm_parse("all", true, &m, &d), VK_OK);
    assert_int_equal(vk_norm_parse("eth-pad", false, &m, &d), VK_OK);
    assert_int_equal(m, VK_NORM_ALL & ~VK_NORM_ETH_PAD);
    assert_int_equal(vk_norm_parse("ip-id,bogus", true, &m, &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "'bogus'"));
    assert_int_equal(VK_NORM_DEFAULT & VK_NORM_CHECKSUMS, 0);
}

static void test_flow_key_is_shared_by_both_directions(void **state)
{
    (void)state;
    uint8_t a[200], b[200];
    char ka[VK_FLOW_KEY_MAX], kb[VK_FLOW_KEY_MAX];
    tcpf p = {HOST, GUEST, 80, 40000, 1, 1, VK_TCP_ACK, false, 0, 0, 1};
    size_t na = make_tcp(a, sizeof a, &p);
    tcpf q = {GUEST, HOST, 40000, 80, 1, 1, VK_TCP_ACK, false, 0, 0, 1};
    size_t nb = make_tcp(b, sizeof b, &q);
    vk_flow_key(a, na, ka);
    vk_flow_key(b, nb, kb);
    assert_string_equal(ka, "tcp 10.0.2.2:80 <> 10.0.2.15:40000");
    assert_string_equal(ka, kb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rewrite_shifts_ack_and_tsecr_by_learned_offsets),
        cmocka_unit_test(test_rewrite_leaves_syn_and_unknown_flows_alone),
        cmocka_unit_test(test_rewrite_follows_a_network_opened_connection),
        cmocka_unit_test(test_norm_ip_id),
        cmocka_unit_test(test_norm_checksums),
        cmocka_unit_test(test_norm_tcp_ts),
        cmocka_unit_test(test_norm_tcp_isn),
        cmocka_unit_test(test_equal_bytes_still_diverge_when_the_isn_offset_shifts_the_produced_side),
        cmocka_unit_test(test_norm_eth_pad),
        cmocka_unit_test(test_norm_names_parse),
        cmocka_unit_test(test_flow_key_is_shared_by_both_directions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
