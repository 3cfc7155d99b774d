/*
 * ICMP in -netdev user: echo requests to the gateway and DNS addresses are
 * reflected (libslirp's TTL 255, DF and TOS kept, id from the counter);
 * other ICMP is dropped with a reason.  An echo to the outside is not
 * carried (there is no ICMP echo NAT, libslirp's ping sockets): it is
 * dropped as "NAT not implemented yet" and counted.
 */
#include "test_user_harness.h"

#include "wire/checksum.h"
#include "wire/icmp.h"

static size_t icmp_msg(uint8_t *p, uint8_t type, size_t data_len)
{
    memset(p, 0, 8 + data_len);
    p[0] = type;
    p[4] = 0x12;
    p[5] = 0x34; /* id */
    p[7] = 7;    /* seq */
    for (size_t i = 0; i < data_len; i++)
        p[8 + i] = (uint8_t)i;
    uint16_t c = vk_csum(p, 8 + data_len);
    p[2] = (uint8_t)(c >> 8);
    p[3] = (uint8_t)c;
    return 8 + data_len;
}

static void send_icmp(uh *h, const char *dst, const uint8_t *p, size_t n, uint16_t frag)
{
    uint8_t *f;
    size_t len = uh_build_ip4(&f, "10.0.2.15", dst, IPPROTO_ICMP, 0x4242, frag, p, n);
    uh_send(h, f, len);
    free(f);
}

static void test_echo_to_gateway_and_dns_is_reflected(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    uh_announce(&h);
    uint8_t p[64];
    size_t n = icmp_msg(p, VK_ICMP_ECHO_REQUEST, 56);
    send_icmp(&h, "10.0.2.2", p, n, 0x4000);
    send_icmp(&h, "10.0.2.3", p, n, 0);
    assert_int_equal(h.ngot, 2);
    for (size_t i = 0; i < 2; i++) {
        vk_eth_repr eth;
        vk_ipv4_repr ip;
        uh_got_ip4(&h, i, &eth, &ip);
        assert_memory_equal(eth.src.b, UH_GW_MAC, 6); /* also for 10.0.2.3 */
        assert_memory_equal(eth.dst.b, UH_GUEST_MAC, 6);
        assert_int_equal(ip.ttl, 255);
        assert_int_equal(ip.id, i);
        assert_int_equal(ip.df, i == 0);
        assert_int_equal(ip.src.b[3], i == 0 ? 2 : 3);
        assert_int_equal(ip.dst.b[3], 15);
        vk_icmp_repr r;
        assert_int_equal(vk_icmp_parse(ip.payload, ip.payload_len, &r), VK_OK);
        assert_true(r.csum_ok);
        assert_int_equal(r.type, VK_ICMP_ECHO_REPLY);
        assert_int_equal(r.id, 0x1234);
        assert_int_equal(r.seq, 7);
        assert_int_equal(r.data_len, 56);
        assert_memory_equal(r.data, p + 8, 56);
    }
    assert_int_equal(uh_stats(&h)->icmp_echo_replies, 2);
    uh_close(&h);
}

static void test_non_echo_icmp_is_dropped_with_reason(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    uh_announce(&h);
    uint8_t p[64];
    size_t n = icmp_msg(p, 13 /* timestamp */, 12);
    send_icmp(&h, "10.0.2.2", p, n, 0);
    assert_int_equal(h.ngot, 0);
    assert_string_equal(h.dropped.reason, "ICMP: only echo requests are answered");
    n = icmp_msg(p, VK_ICMP_ECHO_REQUEST, 8);
    p[9] ^= 1; /* checksum no longer matches */
    send_icmp(&h, "10.0.2.2", p, n, 0);
    assert_string_equal(h.dropped.reason, "ICMP: bad checksum");
    send_icmp(&h, "10.0.2.2", p, 4, 0);
    assert_string_equal(h.dropped.reason, "ICMP: truncated");
    assert_int_equal(h.ngot, 0);
    uh_close(&h);
}

static void test_echo_to_outside_waits_for_nat(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    uh_announce(&h);
    uint8_t p[64];
    size_t n = icmp_msg(p, VK_ICMP_ECHO_REQUEST, 8);
    send_icmp(&h, "8.8.8.8", p, n, 0);
    assert_int_equal(h.ngot, 0);
    assert_string_equal(h.dropped.reason, "user: NAT not implemented yet");
    assert_int_equal(uh_stats(&h)->nat_not_implemented, 1);
    uh_close(&h);
}

static void test_bad_ip_header_is_dropped(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    uh_announce(&h);
    uint8_t p[64];
    size_t n = icmp_msg(p, VK_ICMP_ECHO_REQUEST, 8);
    uint8_t *f;
    size_t len = uh_build_ip4(&f, "10.0.2.15", "10.0.2.2", IPPROTO_ICMP, 1, 0, p, n);
    f[VK_ETH_HLEN + 10] ^= 0xff;
    uh_send(&h, f, len);
    assert_string_equal(h.dropped.reason, "IPv4: bad header checksum");
    uh_send(&h, f, VK_ETH_HLEN + 12);
    assert_string_equal(h.dropped.reason, "IPv4: truncated");
    free(f);
    assert_int_equal(h.ngot, 0);
    uh_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_to_gateway_and_dns_is_reflected),
        cmocka_unit_test(test_non_echo_icmp_is_dropped_with_reason),
        cmocka_unit_test(test_echo_to_outside_waits_for_nat),
        cmocka_unit_test(test_bad_ip_header_is_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
