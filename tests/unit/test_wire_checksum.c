/* The Internet checksum: RFC 1071 example, agreement with libnet on real
 * packets, pseudo headers, RFC 1624 incremental update, and the in-place
 * fill/verify helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libnet.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/libnet_frames.h"
#include "core/error.h"
#include "wire/buf.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"

static uint32_t a4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    uint8_t x[4] = {a, b, c, d};
    uint32_t v;
    memcpy(&v, x, 4); /* libnet wants network order in memory */
    return v;
}

static void test_rfc1071_example_sum(void **state)
{
    (void)state;
    /* RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2. */
    const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    assert_int_equal(vk_csum_add(0, b, sizeof(b)), 0xddf2);
    assert_int_equal(vk_csum(b, sizeof(b)), (uint16_t)~0xddf2);
}

static void test_partial_sums_over_pieces_equal_whole(void **state)
{
    (void)state;
    uint8_t b[101];
    for (size_t i = 0; i < sizeof(b); i++)
        b[i] = (uint8_t)(i * 37 + 11);
    uint32_t s = vk_csum_add(0, b, 40);
    s = vk_csum_add(s, b + 40, 60);
    s = vk_csum_add(s, b + 100, 1); /* only the last piece is odd */
    assert_int_equal(vk_csum_finish(s), vk_csum(b, sizeof(b)));
}

static void test_odd_length_pads_with_zero(void **state)
{
    (void)state;
    const uint8_t odd[] = {0x12, 0x34, 0x56};
    const uint8_t even[] = {0x12, 0x34, 0x56, 0x00};
    assert_int_equal(vk_csum(odd, 3), vk_csum(even, 4));
}

static void test_ipv4_udp_checksums_match_libnet(void **state)
{
    (void)state;
    libnet_t *l = vk_test_libnet();
    const uint8_t pl[] = "hello, checksum";
    libnet_build_udp(1234, 53, LIBNET_UDP_H + sizeof(pl), 0, pl, sizeof(pl), l, 0);
    libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_UDP_H + sizeof(pl), 0, 42, 0, 64, IPPROTO_UDP, 0,
                      a4(10, 0, 2, 15), a4(10, 0, 2, 3), NULL, 0, l, 0);
    size_t n;
    uint8_t *p = vk_test_libnet_frame(l, &n);
    vk_ipv4_repr ip;
    assert_int_equal(vk_ipv4_parse(p, n, &ip), VK_OK);
    assert_true(ip.csum_ok);
    uint16_t want_ip = vk_get_be16(p + 10), want_udp = vk_get_be16(p + 26);
    unsigned bad = 99;
    assert_int_equal(vk_csum_check_ip(p, n, &bad), VK_OK);
    assert_int_equal(bad, 0);
    /* Clobber both, refill, compare with libnet's values. */
    vk_put_be16(p + 10, 0x1111);
    vk_put_be16(p + 26, 0x2222);
    assert_int_equal(vk_csum_check_ip(p, n, &bad), VK_OK);
    assert_int_equal(bad, VK_CSUM_BAD_IP4 | VK_CSUM_BAD_L4);
    assert_int_equal(vk_csum_fill_ip(p, n), VK_OK);
    assert_int_equal(vk_get_be16(p + 10), want_ip);
    assert_int_equal(vk_get_be16(p + 26), want_udp);
    free(p);
}

static void test_tcp_and_icmp_checksums_match_libnet(void **state)
{
    (void)state;
    libnet_t *l = vk_test_libnet();
    const uint8_t pl[] = "GET / HTTP/1.0\r\n\r\n";
    libnet_build_tcp(40000, 80, 1000, 2000, TH_ACK | TH_PUSH, 65535, 0, 0,
                     LIBNET_TCP_H + sizeof(pl), pl, sizeof(pl), l, 0);
    libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_TCP_H + sizeof(pl), 0, 1, 0, 64, IPPROTO_TCP, 0,
                      a4(10, 0, 2, 15), a4(93, 184, 216, 34), NULL, 0, l, 0);
    size_t n;
    uint8_t *p = vk_test_libnet_frame(l, &n);
    uint16_t want = vk_get_be16(p + 20 + 16);
    vk_put_be16(p + 36, 0);
    assert_int_equal(vk_csum_fill_ip(p, n), VK_OK);
    assert_int_equal(vk_get_be16(p + 36), want);
    free(p);

    l = vk_test_libnet();
    const uint8_t echo[] = {1, 2, 3, 4, 5};
    libnet_build_icmpv4_echo(ICMP_ECHO, 0, 0, 0x1234, 7, echo, sizeof(echo), l, 0);
    libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_ICMPV4_ECHO_H + sizeof(echo), 0, 1, 0, 64,
                      IPPROTO_ICMP, 0, a4(10, 0, 2, 15), a4(10, 0, 2, 2), NULL, 0, l, 0);
    p = vk_test_libnet_frame(l, &n);
    want = vk_get_be16(p + 22);
    vk_put_be16(p + 22, 0xffff);
    assert_int_equal(vk_csum_fill_ip(p, n), VK_OK);
    assert_int_equal(vk_get_be16(p + 22), want);
    free(p);
}

static void test_ipv6_pseudo_header_checksum_matches_libnet(void **state)
{
    (void)state;
    libnet_t *l = vk_test_libnet();
    struct libnet_in6_addr s, d;
    memset(&s, 0, sizeof(s));
    memset(&d, 0, sizeof(d));
    s.__u6_addr.__u6_addr8[0] = 0xfe;
    s.__u6_addr.__u6_addr8[1] = 0x80;
    s.__u6_addr.__u6_addr8[15] = 0x01;
    d.__u6_addr.__u6_addr8[0] = 0xfe;
    d.__u6_addr.__u6_addr8[1] = 0x80;
    d.__u6_addr.__u6_addr8[15] = 0x02;
    const uint8_t pl[] = "udp over ipv6";
    libnet_build_udp(5000, 6000, LIBNET_UDP_H + sizeof(pl), 0, pl, sizeof(pl), l, 0);
    libnet_build_ipv6(0, 0, LIBNET_UDP_H + sizeof(pl), IPPROTO_UDP, 64, s, d, NULL, 0, l, 0);
    size_t n;
    uint8_t *p = vk_test_libnet_frame(l, &n);
    uint16_t want = vk_get_be16(p + 40 + 6);
    unsigned bad = 99;
    assert_int_equal(vk_csum_check_ip(p, n, &bad), VK_OK);
    assert_int_equal(bad, 0);
    vk_ip6 src, dst;
    memcpy(src.b, p + 8, 16);
    memcpy(dst.b, p + 24, 16);
    vk_put_be16(p + 46, 0);
    assert_int_equal(vk_csum_l4(vk_csum_pseudo6(&src, &dst, 17), p + 40, n - 40), want);
    free(p);
}

static void test_incremental_update_equals_recompute(void **state)
{
    (void)state;
    uint8_t b[64];
    srand(7);
    for (int round = 0; round < 1000; round++) {
        for (size_t i = 0; i < sizeof(b); i++)
            b[i] = (uint8_t)rand();
        vk_put_be16(b + 10, 0);
        uint16_t c = vk_csum(b, sizeof(b));
        vk_put_be16(b + 10, c);
        uint32_t old = vk_get_be32(b + 20), nw = (uint32_t)rand() * 2654435761u;
        if (round == 0)
            nw = old; /* no-op update keeps the checksum valid */
        vk_put_be32(b + 20, nw);
        uint16_t inc = vk_csum_update32(c, old, nw);
        vk_put_be16(b + 10, inc);
        assert_int_equal(vk_csum(b, sizeof(b)), 0);
    }
}

static void test_udp_zero_checksum_over_ipv4_means_none(void **state)
{
    (void)state;
    libnet_t *l = vk_test_libnet();
    const uint8_t pl[] = "x";
    libnet_build_udp(1, 2, LIBNET_UDP_H + 1, 0, pl, 1, l, 0);
    libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_UDP_H + 1, 0, 1, 0, 64, IPPROTO_UDP, 0,
                      a4(1, 2, 3, 4), a4(5, 6, 7, 8), NULL, 0, l, 0);
    size_t n;
    uint8_t *p = vk_test_libnet_frame(l, &n);
    vk_put_be16(p + 26, 0);
    unsigned bad = 99;
    assert_int_equal(vk_csum_check_ip(p, n, &bad), VK_OK);
    assert_int_equal(bad, 0);
    free(p);
}

static void test_fill_leaves_fragments_payload_alone(void **state)
{
    (void)state;
    uint8_t p[28] = {0};
    vk_ipv4_repr r = {.ttl = 64, .proto = 17, .mf = true, .payload_len = 8};
    size_t n;
    assert_int_equal(vk_ipv4_emit(&r, p, sizeof(p), &n), VK_OK);
    vk_put_be16(p + 26, 0x4242);
    assert_int_equal(vk_csum_fill_ip(p, n), VK_OK);
    assert_int_equal(vk_get_be16(p + 26), 0x4242);
}

/* RFC 1071's definition, 16 bits at a time in network order: the reference
 * the word-at-a-time sum must equal, bit for bit (0 and 0xffff included). */
static uint32_t reference_sum(uint32_t sum, const uint8_t *p, size_t len)
{
    uint64_t acc = sum;
    for (; len >= 2; p += 2, len -= 2)
        acc += (uint32_t)p[0] << 8 | p[1];
    if (len == 1)
        acc += (uint32_t)p[0] << 8;
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint32_t)acc;
}

static void test_word_sum_equals_rfc1071_at_every_length_and_offset(void **state)
{
    (void)state;
    static uint8_t buf[70000];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len < 80; len++)
            for (uint32_t sum = 0; sum < 0x20000; sum += 0xffff)
                assert_int_equal(vk_csum_add(sum, buf + off, len),
                                 reference_sum(sum, buf + off, len));
    assert_int_equal(vk_csum_add(7, buf + 3, 65521), reference_sum(7, buf + 3, 65521));
    assert_int_equal(vk_csum_add(0, buf, sizeof buf), reference_sum(0, buf, sizeof buf));
    /* all ones and all zeros: the two representations of zero stay apart */
    uint8_t ones[64], zeros[64];
    memset(ones, 0xff, sizeof ones);
    memset(zeros, 0, sizeof zeros);
    assert_int_equal(vk_csum_add(0, ones, sizeof ones), 0xffff);
    assert_int_equal(vk_csum_add(0, zeros, sizeof zeros), 0);
    assert_int_equal(vk_csum_add(0xffff, zeros, 3), 0xffff);
}

static void test_check_frame_rejects_non_ip(void **state)
{
    (void)state;
    uint8_t f[60] = {0};
    f[12] = 0x08;
    f[13] = 0x06;
    unsigned bad;
    assert_int_equal(vk_csum_check_frame(f, sizeof(f), &bad), VK_EUNSUPP);
    assert_int_equal(vk_csum_check_frame(f, 10, &bad), VK_ETRUNC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc1071_example_sum),
        cmocka_unit_test(test_partial_sums_over_pieces_equal_whole),
        cmocka_unit_test(test_odd_length_pads_with_zero),
        cmocka_unit_test(test_ipv4_udp_checksums_match_libnet),
        cmocka_unit_test(test_tcp_and_icmp_checksums_match_libnet),
        cmocka_unit_test(test_ipv6_pseudo_header_checksum_matches_libnet),
        cmocka_unit_test(test_incremental_update_equals_recompute),
        cmocka_unit_test(test_udp_zero_checksum_over_ipv4_means_none),
        cmocka_unit_test(test_fill_leaves_fragments_payload_alone),
        cmocka_unit_test(test_check_frame_rejects_non_ip),
        cmocka_unit_test(test_word_sum_equals_rfc1071_at_every_length_and_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
