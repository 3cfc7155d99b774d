/* IPv6 header (with bounded extension-header skipping), ICMPv6 echo and
 * Neighbor Discovery: fields agree with libnet, emit -> parse round-trips,
 * truncations are refused, and an ND option of length 0 cannot hang us. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libnet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/libnet_frames.h"
#include "core/addr.h"
#include "core/error.h"
#include "wire/buf.h"
#include "wire/checksum.h"
#include "wire/icmpv6.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t router_mac[6] = {0x52, 0x56, 0x00, 0x00, 0x00, 0x02};

static struct libnet_in6_addr in6(const char *s)
{
    vk_ip6 a;
    assert_int_equal(vk_ip6_parse(s, &a), VK_OK);
    struct libnet_in6_addr r;
    memcpy(&r, a.b, 16);
    return r;
}

static vk_ip6 ip6(const char *s)
{
    vk_ip6 a;
    assert_int_equal(vk_ip6_parse(s, &a), VK_OK);
    return a;
}

static int parse_ip6(const uint8_t *p, size_t n)
{
    vk_ipv6_repr r;
    return vk_ipv6_parse(p, n, &r);
}

static int parse_ip6_icmp(const uint8_t *p, size_t n)
{
    vk_ipv6_repr ip;
    vk_icmpv6_repr c;
    int err = vk_ipv6_parse(p, n, &ip);
    return err != VK_OK ? err : vk_icmpv6_parse(ip.payload, ip.payload_len, &c);
}

static uint32_t pseudo_of(const vk_ipv6_repr *ip)
{
    return vk_csum_pseudo6(&ip->src, &ip->dst, ip->proto);
}

static void test_ipv6_echo_fields_and_checksum_match_libnet(void **state)
{
    (void)state;
    libnet_t *l = vk_test_libnet();
    uint8_t data[] = "ping6";
    libnet_build_icmpv6_echo(ICMP6_ECHO, 0, 0, 0x77, 3, data, sizeof(data), l, 0);
    /* libnet 1.1.6 drops the high nibble of tc and writes the flow label's
     * low byte twice: pick values it encodes faithfully. */
    libnet_build_ipv6(0x02, 0x5abab, LIBNET_ICMPV6_ECHO_H + sizeof(data), IPPROTO_ICMP6, 255,
                      in6("fec0::15"), in6("fec0::2"), NULL, 0, l, 0);
    size_t n;
    uint8_t *p = vk_test_libnet_frame(l, &n);
    vk_ipv6_repr ip;
    assert_int_equal(vk_ipv6_parse(p, n, &ip), VK_OK);
    assert_int_equal(ip.tclass, 0x02);
    assert_int_equal(ip.flow, 0x5abab);
    assert_int_equal(ip.hop_limit, 255);
    assert_int_equal(ip.proto, VK_IP_PROTO_ICMPV6);
    vk_ip6 want = ip6("fec0::2");
    assert_memory_equal(ip.dst.b, want.b, 16);
    vk_icmpv6_repr c;
    assert_int_equal(vk_icmpv6_parse(ip.payload, ip.payload_len, &c), VK_OK);
    assert_int_equal(c.type, VK_ICMPV6_ECHO_REQUEST);
    assert_int_equal(c.id, 0x77);
    assert_int_equal(c.seq, 3);
    assert_string_equal((const char *)c.data, "ping6");
    assert_true(vk_icmpv6_csum_ok(pseudo_of(&ip), ip.payload, ip.payload_len));
    /* Our emit reproduces libnet's bytes, checksum included. */
    uint8_t out[64];
    size_t w;
    assert_int_equal(vk_icmpv6_emit(&c, pseudo_of(&ip), out, sizeof(out), &w), VK_OK);
    assert_int_equal(w, ip.payload_len);
    assert_memory_equal(out, ip.payload, w);
    vk_test_assert_truncations_fail(parse_ip6, p, n);
    vk_test_assert_truncations_fail(parse_ip6_icmp, p, n);
    free(p);
}

static void test_neighbor_solicitation_with_source_ll_matches_libnet(void **state)
{
    (void)state;
    libnet_t *l = vk_test_libnet();
    libnet_build_icmpv6_ndp_opt(VK_ND_OPT_SRC_LLADDR, (uint8_t *)guest_mac, 6, l, 0);
    libnet_build_icmpv6_ndp_nsol(ND_NEIGHBOR_SOLICIT, 0, 0, in6("fec0::2"), NULL, 0, l, 0);
    libnet_build_ipv6(0, 0, 24 + 8, IPPROTO_ICMP6, 255, in6("fec0::15"),
                      in6("ff02::1:ff00:2"), NULL, 0, l, 0);
    size_t n;
    uint8_t *p = vk_test_libnet_frame(l, &n);
    vk_ipv6_repr ip;
    assert_int_equal(vk_ipv6_parse(p, n, &ip), VK_OK);
    vk_icmpv6_repr c;
    assert_int_equal(vk_icmpv6_parse(ip.payload, ip.payload_len, &c), VK_OK);
    assert_int_equal(c.type, VK_ICMPV6_NEIGHBOR_SOLICIT);
    vk_ip6 tgt = ip6("fec0::2");
    assert_memory_equal(c.target.b, tgt.b, 16);
    assert_true(c.has_src_ll);
    assert_memory_equal(c.src_ll.b, guest_mac, 6);
    assert_false(c.has_tgt_ll);
    assert_true(vk_icmpv6_csum_ok(pseudo_of(&ip), ip.payload, ip.payload_len));
    uint8_t out[64];
    size_t w;
    assert_int_equal(vk_icmpv6_emit(&c, pseudo_of(&ip), out, sizeof(out), &w), VK_OK);
    assert_int_equal(w, ip.payload_len);
    assert_memory_equal(out, ip.payload, w);
    vk_test_assert_truncations_fail(parse_ip6_icmp, p, n);
    free(p);
}

static void test_neighbor_advertisement_flags_and_target_ll(void **state)
{
    (void)state;
    libnet_t *l = vk_test_libnet();
    libnet_build_icmpv6_ndp_opt(VK_ND_OPT_TGT_LLADDR, (uint8_t *)router_mac, 6, l, 0);
    libnet_build_icmpv6_ndp_nadv(ND_NEIGHBOR_ADVERT, 0, 0,
                                 ND_NA_FLAG_ROUTER | ND_NA_FLAG_SOLICITED, in6("fec0::2"),
                                 NULL, 0, l, 0);
    libnet_build_ipv6(0, 0, 24 + 8, IPPROTO_ICMP6, 255, in6("fec0::2"), in6("fec0::15"), NULL,
                      0, l, 0);
    size_t n;
    uint8_t *p = vk_test_libnet_frame(l, &n);
    vk_ipv6_repr ip;
    assert_int_equal(vk_ipv6_parse(p, n, &ip), VK_OK);
    vk_icmpv6_repr c;
    assert_int_equal(vk_icmpv6_parse(ip.payload, ip.payload_len, &c), VK_OK);
    assert_int_equal(c.type, VK_ICMPV6_NEIGHBOR_ADVERT);
    assert_int_equal(c.na_flags, VK_ND_NA_ROUTER | VK_ND_NA_SOLICITED);
    assert_true(c.has_tgt_ll);
    assert_memory_equal(c.tgt_ll.b, router_mac, 6);
    assert_true(vk_icmpv6_csum_ok(pseudo_of(&ip), ip.payload, ip.payload_len));
    free(p);
}

static size_t build_ra(uint8_t *buf, size_t cap, uint32_t pseudo)
{
    vk_icmpv6_repr r = {.type = VK_ICMPV6_ROUTER_ADVERT, .cur_hop_limit = 64,
                        .ra_flags = VK_ND_RA_OTHER, .router_lifetime = 1800,
                        .reachable_time = 0, .retrans_timer = 0, .has_src_ll = true,
                        .has_mtu = true, .mtu = 1500, .prefix_count = 1,
                        .rdnss_lifetime = 600, .rdnss_count = 2};
    memcpy(r.src_ll.b, router_mac, 6);
    r.prefix[0] = (vk_nd_prefix){64, VK_ND_PREFIX_ONLINK | VK_ND_PREFIX_AUTO, 86400, 14400,
                                 ip6("fec0::")};
    r.rdnss[0] = ip6("fec0::3");
    r.rdnss[1] = ip6("fec0::4");
    size_t n = 0;
    assert_int_equal(vk_icmpv6_emit(&r, pseudo, buf, cap, &n), VK_OK);
    return n;
}

static void test_router_advertisement_round_trips_all_options(void **state)
{
    (void)state;
    vk_ip6 s = ip6("fe80::2"), d = ip6("ff02::1");
    uint32_t ph = vk_csum_pseudo6(&s, &d, VK_IP_PROTO_ICMPV6);
    uint8_t b[128];
    size_t n = build_ra(b, sizeof(b), ph);
    assert_int_equal(n, 16 + 8 + 8 + 32 + 40);
    assert_true(vk_icmpv6_csum_ok(ph, b, n));
    vk_icmpv6_repr c;
    assert_int_equal(vk_icmpv6_parse(b, n, &c), VK_OK);
    assert_int_equal(c.cur_hop_limit, 64);
    assert_int_equal(c.ra_flags, VK_ND_RA_OTHER);
    assert_int_equal(c.router_lifetime, 1800);
    assert_true(c.has_src_ll);
    assert_memory_equal(c.src_ll.b, router_mac, 6);
    assert_true(c.has_mtu);
    assert_int_equal(c.mtu, 1500);
    assert_int_equal(c.prefix_count, 1);
    assert_int_equal(c.prefix[0].prefix_len, 64);
    assert_int_equal(c.prefix[0].flags, 0xc0);
    assert_int_equal(c.prefix[0].valid_lifetime, 86400);
    assert_int_equal(c.prefix[0].preferred_lifetime, 14400);
    assert_int_equal(c.rdnss_count, 2);
    assert_int_equal(c.rdnss_lifetime, 600);
    vk_ip6 dns = ip6("fec0::4");
    assert_memory_equal(c.rdnss[1].b, dns.b, 16);
    /* ICMPv6 has no length of its own: a cut at an option boundary is a
     * valid shorter RA, a cut anywhere else must be refused. */
    for (size_t k = 0; k < n; k++) {
        uint8_t *cut = malloc(k > 0 ? k : 1);
        memcpy(cut, b, k);
        vk_icmpv6_repr part;
        int err = vk_icmpv6_parse(cut, k, &part);
        bool boundary = k == 16 || k == 24 || k == 32 || k == 64;
        if ((err == VK_OK) != boundary)
            fail_msg("cut at %zu: %s", k, vk_errname(err));
        free(cut);
    }
    uint8_t small[100];
    size_t w;
    assert_int_equal(vk_icmpv6_emit(&c, ph, small, sizeof(small), &w), VK_EFULL);
}

static void test_router_solicitation_parses(void **state)
{
    (void)state;
    vk_icmpv6_repr r = {.type = VK_ICMPV6_ROUTER_SOLICIT, .has_src_ll = true};
    memcpy(r.src_ll.b, guest_mac, 6);
    uint8_t b[16];
    size_t n;
    assert_int_equal(vk_icmpv6_emit(&r, 0, b, sizeof(b), &n), VK_OK);
    assert_int_equal(n, 16);
    vk_icmpv6_repr c;
    assert_int_equal(vk_icmpv6_parse(b, n, &c), VK_OK);
    assert_int_equal(c.type, VK_ICMPV6_ROUTER_SOLICIT);
    assert_true(c.has_src_ll);
    assert_int_equal(vk_icmpv6_parse(b, 8, &c), VK_OK); /* options are optional */
    assert_int_equal(vk_icmpv6_parse(b, 7, &c), VK_ETRUNC);
}

static void test_nd_option_length_zero_is_malformed_not_a_hang(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = build_ra(b, sizeof(b), 0);
    vk_icmpv6_repr c;
    b[16 + 1] = 0; /* first option (source LL) claims length 0 */
    assert_int_equal(vk_icmpv6_parse(b, n, &c), VK_EFORMAT);
}

static void test_nd_option_with_wrong_size_is_malformed(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = build_ra(b, sizeof(b), 0);
    vk_icmpv6_repr c;
    b[16 + 8 + 8 + 1] = 3; /* prefix info must be 4 units */
    assert_int_equal(vk_icmpv6_parse(b, n, &c), VK_EFORMAT);
}

static void test_nd_option_past_end_is_truncated(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = build_ra(b, sizeof(b), 0);
    vk_icmpv6_repr c;
    b[16 + 8 + 8 + 32 + 1] = 6; /* RDNSS claims 48 bytes, 40 remain */
    assert_int_equal(vk_icmpv6_parse(b, n, &c), VK_ETRUNC);
}

static void test_rdnss_and_prefixes_beyond_cap_are_counted_not_stored(void **state)
{
    (void)state;
    uint8_t b[16 + 6 * 32];
    memset(b, 0, sizeof(b));
    b[0] = VK_ICMPV6_ROUTER_ADVERT;
    for (size_t i = 0; i < 6; i++) {
        b[16 + i * 32] = VK_ND_OPT_PREFIX_INFO;
        b[16 + i * 32 + 1] = 4;
        b[16 + i * 32 + 2] = (uint8_t)(48 + i);
    }
    vk_icmpv6_repr c;
    assert_int_equal(vk_icmpv6_parse(b, sizeof(b), &c), VK_OK);
    assert_int_equal(c.prefix_count, VK_ICMPV6_MAX_PREFIXES);
    assert_int_equal(c.prefixes_dropped, 6 - VK_ICMPV6_MAX_PREFIXES);
    assert_int_equal(c.prefix[3].prefix_len, 51);
}

static void test_ipv6_skips_hop_by_hop_and_dest_options(void **state)
{
    (void)state;
    uint8_t b[40 + 8 + 16 + 8] = {0};
    vk_ipv6_repr r = {.next_header = VK_IP_PROTO_HOPOPTS, .hop_limit = 1,
                      .payload_len = 32};
    size_t n;
    assert_int_equal(vk_ipv6_emit(&r, b, sizeof(b), &n), VK_OK);
    b[40] = VK_IP_PROTO_DSTOPTS; /* HBH, 8 bytes */
    b[41] = 0;
    b[48] = VK_IP_PROTO_ICMPV6; /* DST, 16 bytes */
    b[49] = 1;
    b[64] = VK_ICMPV6_ROUTER_SOLICIT;
    vk_ipv6_repr ip;
    assert_int_equal(vk_ipv6_parse(b, n, &ip), VK_OK);
    assert_int_equal(ip.next_header, VK_IP_PROTO_HOPOPTS);
    assert_int_equal(ip.proto, VK_IP_PROTO_ICMPV6);
    assert_int_equal(ip.hdr_len, 64);
    assert_int_equal(ip.payload_len, 8);
    b[49] = 3; /* dest options (32 bytes) now runs past the payload (24 left) */
    assert_int_equal(vk_ipv6_parse(b, n, &ip), VK_ETRUNC);
}

static void test_ipv6_extension_header_chain_is_bounded(void **state)
{
    (void)state;
    enum { N = VK_IPV6_MAX_EXT_HDRS + 1 };
    uint8_t b[40 + 8 * N] = {0};
    vk_ipv6_repr r = {.next_header = VK_IP_PROTO_DSTOPTS, .payload_len = 8 * N};
    size_t n;
    assert_int_equal(vk_ipv6_emit(&r, b, sizeof(b), &n), VK_OK);
    for (size_t i = 0; i < N; i++)
        b[40 + 8 * i] = VK_IP_PROTO_DSTOPTS;
    vk_ipv6_repr ip;
    assert_int_equal(vk_ipv6_parse(b, n, &ip), VK_EFORMAT);
}

static void test_ipv6_payload_length_beyond_buffer_is_truncated(void **state)
{
    (void)state;
    uint8_t b[48] = {0};
    vk_ipv6_repr r = {.next_header = VK_IP_PROTO_NONE, .payload_len = 8};
    size_t n;
    assert_int_equal(vk_ipv6_emit(&r, b, sizeof(b), &n), VK_OK);
    vk_ipv6_repr ip;
    assert_int_equal(vk_ipv6_parse(b, n - 1, &ip), VK_ETRUNC);
    b[0] = 0x40;
    assert_int_equal(vk_ipv6_parse(b, n, &ip), VK_EFORMAT);
    assert_int_equal(vk_ipv6_emit(&r, b, 47, &n), VK_EFULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv6_echo_fields_and_checksum_match_libnet),
        cmocka_unit_test(test_neighbor_solicitation_with_source_ll_matches_libnet),
        cmocka_unit_test(test_neighbor_advertisement_flags_and_target_ll),
        cmocka_unit_test(test_router_advertisement_round_trips_all_options),
        cmocka_unit_test(test_router_solicitation_parses),
        cmocka_unit_test(test_nd_option_length_zero_is_malformed_not_a_hang),
        cmocka_unit_test(test_nd_option_with_wrong_size_is_malformed),
        cmocka_unit_test(test_nd_option_past_end_is_truncated),
        cmocka_unit_test(test_rdnss_and_prefixes_beyond_cap_are_counted_not_stored),
        cmocka_unit_test(test_ipv6_skips_hop_by_hop_and_dest_options),
        cmocka_unit_test(test_ipv6_extension_header_chain_is_bounded),
        cmocka_unit_test(test_ipv6_payload_length_beyond_buffer_is_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
