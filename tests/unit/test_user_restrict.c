/*
 * restrict=on in -netdev user: TCP to anywhere is refused at once with
 * libslirp's RST (TTL 255, window 0), UDP and ICMP to the outside are
 * dropped with a reason, while DHCP, ARP and ICMP to the gateway keep
 * working.  Without restrict, the same traffic goes to the NAT and the
 * world behind it.
 */
#include "test_user_harness.h"

#include "wire/checksum.h"
#include "wire/tcp.h"

static void send_tcp(uh *h, const char *dst, uint8_t flags, uint32_t seq, uint32_t ack,
                     size_t data)
{
    uint8_t payload[32] = {0};
    libnet_t *l = uh_ln();
    libnet_build_tcp(40000, 18080, seq, ack, flags, 64240, 0, 0,
                     (uint16_t)(LIBNET_TCP_H + data), data ? payload : NULL, (uint32_t)data, l,
                     0);
    libnet_build_ipv4((uint16_t)(LIBNET_IPV4_H + LIBNET_TCP_H + data), 0, 9, 0x4000, 64,
                      IPPROTO_TCP, 0, uh_ip("10.0.2.15"), uh_ip(dst), NULL, 0, l, 0);
    libnet_build_ethernet(UH_GW_MAC, UH_GUEST_MAC, ETHERTYPE_IP, NULL, 0, l, 0);
    uint8_t *f;
    size_t n = uh_ln_finish(l, &f);
    uh_send(h, f, n);
    free(f);
}

static void got_tcp(uh *h, size_t i, vk_ipv4_repr *ip, vk_tcp_repr *t)
{
    vk_eth_repr eth;
    uh_got_ip4(h, i, &eth, ip);
    assert_int_equal(ip->proto, VK_IP_PROTO_TCP);
    assert_int_equal(vk_tcp_parse(ip->payload, ip->payload_len, t), VK_OK);
    assert_true(vk_tcp_csum_ok(vk_csum_pseudo4(&ip->src, &ip->dst, VK_IP_PROTO_TCP),
                               ip->payload, ip->payload_len));
}

static void test_syn_is_refused_with_rst_ack(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,restrict=on");
    uh_announce(&h);
    send_tcp(&h, "10.0.2.2", TH_SYN, 0x1bdc563d, 0, 0);
    send_tcp(&h, "93.184.216.34", TH_SYN, 1000, 0, 0);
    assert_int_equal(h.ngot, 2);
    vk_ipv4_repr ip;
    vk_tcp_repr t;
    got_tcp(&h, 0, &ip, &t);
    assert_int_equal(ip.ttl, 255);
    assert_false(ip.df);
    assert_int_equal(ip.tos, 0);
    assert_int_equal(t.flags, VK_TCP_RST | VK_TCP_ACK);
    assert_int_equal(t.seq, 0);
    assert_int_equal(t.ack, 0x1bdc563e);
    assert_int_equal(t.window, 0);
    assert_int_equal(t.src_port, 18080);
    assert_int_equal(t.dst_port, 40000);
    assert_int_equal(t.hdr_len, 20);
    got_tcp(&h, 1, &ip, &t);
    assert_memory_equal(ip.src.b, ((uint8_t[]){93, 184, 216, 34}), 4);
    assert_int_equal(uh_stats(&h)->tcp_resets, 2);
    uh_close(&h);
}

static void test_segment_with_ack_gets_bare_rst_and_rst_gets_nothing(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,restrict=on");
    uh_announce(&h);
    send_tcp(&h, "10.0.2.2", TH_ACK | TH_PUSH, 500, 777, 10);
    send_tcp(&h, "10.0.2.2", TH_RST, 500, 0, 0);
    assert_int_equal(h.ngot, 1);
    vk_ipv4_repr ip;
    vk_tcp_repr t;
    got_tcp(&h, 0, &ip, &t);
    assert_int_equal(t.flags, VK_TCP_RST);
    assert_int_equal(t.seq, 777);
    assert_string_equal(h.dropped.reason, "user: restrict=on: reset for no connection");
    uh_close(&h);
}

static void test_udp_out_is_dropped_but_local_services_work(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,restrict=on");
    uh_announce(&h);
    uint8_t *f;
    size_t n = uh_build_udp(&f, "10.0.2.15", 5000, "10.0.2.3", 53, (const uint8_t *)"q", 1);
    uh_send(&h, f, n);
    free(f);
    assert_string_equal(h.dropped.reason, "user: restrict=on: UDP to the outside");
    n = uh_build_arp_request(&f, UH_GUEST_MAC, "10.0.2.15", "10.0.2.2");
    uh_send(&h, f, n);
    free(f);
    assert_int_equal(h.ngot, 1);
    uh_close(&h);
}

static void test_without_restrict_tcp_goes_to_the_world(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    uh_announce(&h);
    send_tcp(&h, "10.0.2.2", TH_SYN, 1, 0, 0);
    uint8_t *f;
    size_t n = uh_build_udp(&f, "10.0.2.15", 5000, "10.0.2.3", 53, (const uint8_t *)"q", 1);
    uh_send(&h, f, n);
    free(f);
    assert_int_equal(h.ngot, 0);
    assert_string_equal(h.dropped.reason, "user: NAT not implemented yet");
    assert_int_equal(uh_stats(&h)->nat_not_implemented, 2);
    uh_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syn_is_refused_with_rst_ack),
        cmocka_unit_test(test_segment_with_ack_gets_bare_rst_and_rst_gets_nothing),
        cmocka_unit_test(test_udp_out_is_dropped_but_local_services_work),
        cmocka_unit_test(test_without_restrict_tcp_goes_to_the_world),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
