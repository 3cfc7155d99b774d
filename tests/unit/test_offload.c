/* Checksum insertion and TCP segmentation (wire/offload.h), checked against
 * frames built independently with libnet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libnet.h>

#include "helpers/libnet_frames.h"
#include "core/error.h"
#include "wire/offload.h"
#include "wire/checksum.h"

#define MAX_SEGS 64

/* One TCP frame as libnet builds it, checksums included. */
typedef struct tcp_spec {
    bool v6;
    uint16_t ip_id;
    uint32_t seq;
    uint8_t flags;
    const uint8_t *payload;
    size_t plen;
} tcp_spec;

static const uint8_t mac_dst[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
static const uint8_t mac_src[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static struct libnet_in6_addr in6(uint8_t last)
{
    struct libnet_in6_addr a;
    memset(&a, 0, sizeof a);
    a.__u6_addr.__u6_addr8[0] = 0xfe;
    a.__u6_addr.__u6_addr8[1] = 0xc0;
    a.__u6_addr.__u6_addr8[15] = last;
    return a;
}

static size_t build_tcp(const tcp_spec *t, uint8_t *out, size_t cap)
{
    libnet_t *l = vk_test_libnet();
    uint16_t tcp_len = (uint16_t)(LIBNET_TCP_H + t->plen);
    assert_true(libnet_build_tcp(1234, 80, t->seq, 0x01020304, t->flags, 64240, 0, 0, tcp_len,
                                 t->payload, (uint32_t)t->plen, l, 0) != -1);
    if (t->v6) {
        assert_true(libnet_build_ipv6(0, 0, tcp_len, IPPROTO_TCP, 64, in6(15), in6(2), NULL, 0,
                                      l, 0) != -1);
    } else {
        assert_true(libnet_build_ipv4((uint16_t)(LIBNET_IPV4_H + tcp_len), 0, t->ip_id, 0x4000,
                                      64, IPPROTO_TCP, 0, htonl(0x0a00020f), htonl(0x0a000202),
                                      NULL, 0, l, 0) != -1);
    }
    assert_true(libnet_build_ethernet(mac_dst, mac_src, t->v6 ? 0x86dd : 0x0800, NULL, 0, l,
                                      0) != -1);
    size_t size;
    uint8_t *pkt = vk_test_libnet_frame(l, &size);
    assert_true(size <= cap);
    memcpy(out, pkt, size);
    free(pkt);
    return size;
}

static uint8_t *pattern(size_t n)
{
    uint8_t *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + 3);
    return p;
}

/* Collected segments. */
typedef struct segs {
    size_t n;
    uint8_t *data[MAX_SEGS];
    size_t len[MAX_SEGS];
} segs;

static void collect(void *arg, const uint8_t *seg, size_t len)
{
    segs *s = arg;
    assert_true(s->n < MAX_SEGS);
    s->data[s->n] = malloc(len);
    assert_non_null(s->data[s->n]);
    memcpy(s->data[s->n], seg, len);
    s->len[s->n++] = len;
}

static void segs_free(segs *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->data[i]);
    s->n = 0;
}

static void test_libnet_reference_frames_have_valid_checksums(void **state)
{
    (void)state;
    uint8_t *pl = pattern(100);
    uint8_t f[2048];
    for (int v6 = 0; v6 < 2; v6++) {
        tcp_spec t = {v6 != 0, 7, 1000, 0x18, pl, 100};
        size_t n = build_tcp(&t, f, sizeof f);
        unsigned bad = 99;
        assert_int_equal(vk_csum_check_frame(f, n, &bad), VK_OK);
        assert_int_equal(bad, 0);
    }
    free(pl);
}

static void test_csum_completes_pseudo_header_seed_like_the_reference(void **state)
{
    (void)state;
    uint8_t *pl = pattern(333);
    uint8_t ref[2048], f[2048];
    tcp_spec t = {false, 1, 42, 0x18, pl, 333};
    size_t n = build_tcp(&t, ref, sizeof ref);
    memcpy(f, ref, n);
    /* the seed a guest leaves: folded pseudo-header sum with length */
    vk_ip4 src = {{10, 0, 2, 15}}, dst = {{10, 0, 2, 2}};
    size_t l4_len = n - 34;
    uint32_t ps = vk_csum_add_len(vk_csum_pseudo4(&src, &dst, 6), l4_len);
    f[34 + 16] = (uint8_t)(~vk_csum_finish(ps) >> 8);
    f[34 + 17] = (uint8_t)~vk_csum_finish(ps);
    assert_int_equal(vk_offload_csum(f, n, 34, 16, VK_CSUM_ZERO_AS_FFFF), VK_OK);
    assert_memory_equal(f, ref, n);
    free(pl);
}

static void test_csum_stores_zero_result_as_all_ones(void **state)
{
    (void)state;
    /* the data sums to 0xffff, so the complement is 0 */
    uint8_t f[8] = {0xff, 0xff, 0, 0, 0, 0, 0, 0};
    assert_int_equal(vk_offload_csum(f, sizeof f, 0, 2, VK_CSUM_ZERO_AS_FFFF), VK_OK);
    assert_int_equal(f[2], 0xff);
    assert_int_equal(f[3], 0xff);
}

static void test_csum_keeps_zero_result_when_the_card_does(void **state)
{
    (void)state;
    uint8_t f[8] = {0xff, 0xfe, 0x00, 0x01, 0, 0, 0, 0}; /* the seed 1: sums to 0xffff */
    assert_int_equal(vk_offload_csum(f, sizeof f, 0, 2, VK_CSUM_ZERO_KEPT), VK_OK);
    assert_int_equal(f[2], 0);
    assert_int_equal(f[3], 0);
}

/* A TSO job whose one segment has a TCP checksum and an IPv4 header
 * checksum that both compute to 0 (a payload word and the IP id tuned):
 * QEMU's e1000 stores them as 0xffff, its rtl8139 and Linux GSO as 0;
 * both verify. */
static void test_tso_zero_checksums_follow_the_cards_rule(void **state)
{
    (void)state;
    uint8_t *pl = pattern(600);
    uint8_t f[800];
    tcp_spec t = {false, 77, 5000, 0x18, pl, 600};
    size_t n = build_tcp(&t, f, sizeof f);
    /* adding a checksum's value to a word it covers makes it compute to 0 */
    vk_test_ones_add(f + 54, (uint16_t)(f[50] << 8 | f[51]));
    vk_test_ones_add(f + 18, (uint16_t)(f[24] << 8 | f[25]));
    for (int rule = 0; rule < 2; rule++) {
        segs s = {0};
        vk_csum_zero zero = rule == 0 ? VK_CSUM_ZERO_KEPT : VK_CSUM_ZERO_AS_FFFF;
        assert_int_equal(vk_offload_tso(f, n, 54, 1460, zero, collect, &s), 1);
        uint16_t want = rule == 0 ? 0x0000 : 0xffff;
        assert_int_equal(s.data[0][50] << 8 | s.data[0][51], want); /* TCP */
        assert_int_equal(s.data[0][24] << 8 | s.data[0][25], want); /* IPv4 header */
        unsigned bad = 99;
        assert_int_equal(vk_csum_check_frame(s.data[0], s.len[0], &bad), VK_OK);
        assert_int_equal(bad, 0);
        /* everything else is the frame as it was */
        assert_memory_equal(s.data[0], f, 24);
        assert_memory_equal(s.data[0] + 26, f + 26, 24);
        assert_memory_equal(s.data[0] + 52, f + 52, n - 52);
        segs_free(&s);
    }
    free(pl);
}

static void test_csum_rejects_field_outside_frame(void **state)
{
    (void)state;
    uint8_t f[40] = {0};
    assert_int_equal(vk_offload_csum(f, sizeof f, 40, 0, VK_CSUM_ZERO_AS_FFFF), VK_EINVAL);
    assert_int_equal(vk_offload_csum(f, sizeof f, 30, 9, VK_CSUM_ZERO_AS_FFFF), VK_EINVAL);
    assert_int_equal(vk_offload_csum(f, sizeof f, 0, SIZE_MAX, VK_CSUM_ZERO_AS_FFFF), VK_EINVAL);
    assert_int_equal(vk_offload_csum(f, sizeof f, 30, 8, VK_CSUM_ZERO_AS_FFFF), VK_OK);
}

/* Segments a super-frame of plen bytes by mss and compares every segment
 * with the frame libnet builds for that piece. */
static void check_tso(bool v6, size_t plen, size_t mss, uint8_t flags)
{
    uint8_t *pl = pattern(plen);
    size_t cap = plen + 200;
    uint8_t *super = malloc(cap), *ref = malloc(cap);
    assert_non_null(super);
    assert_non_null(ref);
    tcp_spec t = {v6, 100, 0xfffff000u, flags, pl, plen};
    size_t n = build_tcp(&t, super, cap);
    size_t hdr = v6 ? 14 + 40 + 20 : 14 + 20 + 20;
    segs s = {0};
    int r = vk_offload_tso(super, n, hdr, mss, VK_CSUM_ZERO_KEPT, collect, &s);
    size_t expect = plen == 0 ? 1 : (plen + mss - 1) / mss;
    assert_int_equal(r, (int)expect);
    assert_int_equal(s.n, expect);
    for (size_t i = 0; i < s.n; i++) {
        size_t off = i * mss, len = plen - off < mss ? plen - off : mss;
        bool last = i + 1 == s.n;
        uint8_t f = flags;
        if (!last)
            f &= (uint8_t) ~(0x01 | 0x08);
        tcp_spec seg = {v6, (uint16_t)(100 + i), (uint32_t)(0xfffff000u + off), f, pl + off, len};
        size_t rn = build_tcp(&seg, ref, cap);
        assert_int_equal(s.len[i], rn);
        assert_memory_equal(s.data[i], ref, rn);
    }
    segs_free(&s);
    free(super);
    free(ref);
    free(pl);
}

static void test_tso_ipv4_segments_match_libnet_reference(void **state)
{
    (void)state;
    check_tso(false, 3000, 1000, 0x10 | 0x08 | 0x01); /* ACK PSH FIN */
}

static void test_tso_ipv4_uneven_tail_and_sequence_wrap(void **state)
{
    (void)state;
    /* seq starts at 0xfffff000: it wraps during the job */
    check_tso(false, 9000, 1460, 0x18);
}

static void test_tso_ipv6_segments_match_libnet_reference(void **state)
{
    (void)state;
    check_tso(true, 5000, 1440, 0x18);
}

static void test_tso_payload_within_mss_gives_one_segment(void **state)
{
    (void)state;
    check_tso(false, 500, 1460, 0x19);
}

static void test_tso_fills_zeroed_ip_length_as_drivers_leave_it(void **state)
{
    (void)state;
    uint8_t *pl = pattern(2000);
    uint8_t f[2100], ref[2100];
    tcp_spec t = {false, 5, 1, 0x18, pl, 2000};
    size_t n = build_tcp(&t, f, sizeof f);
    memcpy(ref, f, n);
    f[16] = f[17] = 0; /* IPv4 total length: Linux's e1000 TSO path zeroes it */
    f[24] = f[25] = 0;
    segs s = {0}, s_ref = {0};
    assert_int_equal(vk_offload_tso(f, n, 54, 1000, VK_CSUM_ZERO_KEPT, collect, &s), 2);
    assert_int_equal(vk_offload_tso(ref, n, 54, 1000, VK_CSUM_ZERO_KEPT, collect, &s_ref), 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(s.len[i], s_ref.len[i]);
        assert_memory_equal(s.data[i], s_ref.data[i], s.len[i]);
    }
    segs_free(&s);
    segs_free(&s_ref);
    free(pl);
}

static void test_tso_rejects_bad_arguments_and_non_tcp(void **state)
{
    (void)state;
    uint8_t *pl = pattern(100);
    uint8_t f[400];
    tcp_spec t = {false, 5, 1, 0x18, pl, 100};
    size_t n = build_tcp(&t, f, sizeof f);
    segs s = {0};
    assert_int_equal(vk_offload_tso(f, n, n + 1, 10, VK_CSUM_ZERO_KEPT, collect, &s), VK_EINVAL);
    assert_int_equal(vk_offload_tso(f, n, 54, 0, VK_CSUM_ZERO_KEPT, collect, &s), VK_EINVAL);
    assert_int_equal(vk_offload_tso(f, n, 40, 10, VK_CSUM_ZERO_KEPT, collect, &s), VK_EINVAL); /* short hdr_len */
    f[23] = 17;                                                              /* UDP */
    assert_int_equal(vk_offload_tso(f, n, 54, 10, VK_CSUM_ZERO_KEPT, collect, &s), VK_EINVAL);
    f[23] = 6;
    f[12] = 0x08, f[13] = 0x06; /* ARP */
    assert_int_equal(vk_offload_tso(f, n, 54, 10, VK_CSUM_ZERO_KEPT, collect, &s), VK_EINVAL);
    assert_true(vk_offload_tso(f, 10, 5, 10, VK_CSUM_ZERO_KEPT, collect, &s) < 0); /* truncated */
    assert_int_equal(s.n, 0);
    free(pl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libnet_reference_frames_have_valid_checksums),
        cmocka_unit_test(test_csum_completes_pseudo_header_seed_like_the_reference),
        cmocka_unit_test(test_csum_stores_zero_result_as_all_ones),
        cmocka_unit_test(test_csum_keeps_zero_result_when_the_card_does),
        cmocka_unit_test(test_tso_zero_checksums_follow_the_cards_rule),
        cmocka_unit_test(test_csum_rejects_field_outside_frame),
        cmocka_unit_test(test_tso_ipv4_segments_match_libnet_reference),
        cmocka_unit_test(test_tso_ipv4_uneven_tail_and_sequence_wrap),
        cmocka_unit_test(test_tso_ipv6_segments_match_libnet_reference),
        cmocka_unit_test(test_tso_payload_within_mss_gives_one_segment),
        cmocka_unit_test(test_tso_fills_zeroed_ip_length_as_drivers_leave_it),
        cmocka_unit_test(test_tso_rejects_bad_arguments_and_non_tcp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
