/*
 * The DHCP server of -netdev user: libslirp's answers (broadcast, 548 bytes,
 * option order), the 16-address pool kept per MAC, NAK, restrict=on, and
 * every malformed request dropped with its reason and counted.
 */
#include "test_user_harness.h"

#include "wire/dhcp.h"
#include "wire/udp.h"

static size_t dhcp_msg(uint8_t *buf, size_t cap, uint8_t type, uint8_t last_mac_byte,
                       const char *requested)
{
    vk_dhcp_repr r = {.op = VK_BOOTP_REQUEST, .htype = 1, .hlen = 6, .xid = 0x01020304};
    memcpy(r.chaddr, UH_GUEST_MAC, 6);
    r.chaddr[5] = last_mac_byte;
    vk_wr w;
    vk_wr_init(&w, buf, cap);
    vk_dhcp_emit_header(&r, &w);
    if (type != 0)
        vk_dhcp_put_u8(&w, VK_DHCP_OPT_MSG_TYPE, type);
    if (requested != NULL) {
        vk_ip4 a;
        assert_int_equal(vk_ip4_parse(requested, &a), VK_OK);
        vk_dhcp_put_ip4(&w, VK_DHCP_OPT_REQUESTED_IP, &a);
    }
    assert_int_equal(vk_dhcp_finish(&w, VK_DHCP_MIN_LEN), VK_OK);
    return w.off;
}

static void send_dhcp(uh *h, const uint8_t *p, size_t n)
{
    uint8_t *f;
    size_t len = uh_build_udp(&f, "0.0.0.0", 68, "255.255.255.255", 67, p, n);
    uh_send(h, f, len);
    free(f);
}

static void ask(uh *h, uint8_t type, uint8_t mac, const char *requested)
{
    uint8_t buf[600];
    send_dhcp(h, buf, dhcp_msg(buf, sizeof buf, type, mac, requested));
}

/* Parses answer i; returns its DHCP message. */
static void answer(uh *h, size_t i, vk_dhcp_repr *out)
{
    vk_eth_repr eth;
    vk_ipv4_repr ip;
    uh_got_ip4(h, i, &eth, &ip);
    assert_memory_equal(eth.dst.b, UH_BCAST, 6);
    assert_memory_equal(eth.src.b, UH_GW_MAC, 6);
    assert_int_equal(ip.tos, 0x10);
    assert_int_equal(ip.ttl, 64);
    assert_false(ip.df);
    assert_int_equal(ip.total_len, 576);
    vk_udp_repr udp;
    assert_int_equal(vk_udp_parse(ip.payload, ip.payload_len, &udp), VK_OK);
    assert_int_equal(udp.src_port, 67);
    assert_int_equal(udp.dst_port, 68);
    assert_int_equal(udp.payload_len, 548);
    assert_int_equal(vk_dhcp_parse(udp.payload, udp.payload_len, out), VK_OK);
}

static void test_discover_gets_offer_in_libslirp_order(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    ask(&h, VK_DHCP_DISCOVER, 0x56, NULL);
    assert_int_equal(h.ngot, 1);
    vk_dhcp_repr r;
    answer(&h, 0, &r);
    assert_int_equal(r.op, VK_BOOTP_REPLY);
    assert_int_equal(r.xid, 0x01020304);
    assert_int_equal(r.msg_type, VK_DHCP_OFFER);
    assert_memory_equal(r.yiaddr.b, ((uint8_t[]){10, 0, 2, 15}), 4);
    assert_memory_equal(r.siaddr.b, ((uint8_t[]){10, 0, 2, 2}), 4);
    static const uint8_t order[] = {53, 1, 2, 54, 4, 10, 0, 2, 2, 1, 4, 255, 255, 255, 0,
                                    3, 4, 10, 0, 2, 2, 6, 4, 10, 0, 2, 3, 51, 4, 0, 1, 0x51, 0x80};
    assert_int_equal(r.options_len, sizeof order);
    assert_memory_equal(r.options, order, sizeof order);
    assert_int_equal(uh_stats(&h)->dhcp_offers, 1);
    uh_close(&h);
}

static void test_request_is_acked_and_address_kept_per_mac(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    ask(&h, VK_DHCP_DISCOVER, 0x01, NULL);
    ask(&h, VK_DHCP_DISCOVER, 0x02, NULL);
    ask(&h, VK_DHCP_REQUEST, 0x01, "10.0.2.15");
    ask(&h, VK_DHCP_REQUEST, 0x01, NULL); /* renewal without option 50 */
    ask(&h, VK_DHCP_DISCOVER, 0x02, NULL);
    assert_int_equal(h.ngot, 5);
    vk_dhcp_repr r;
    uint8_t want[5] = {15, 16, 15, 15, 16};
    for (size_t i = 0; i < 5; i++) {
        answer(&h, i, &r);
        assert_int_equal(r.yiaddr.b[3], want[i]);
    }
    answer(&h, 2, &r);
    assert_int_equal(r.msg_type, VK_DHCP_ACK);
    uh_close(&h);
}

static void test_request_for_anothers_address_is_naked(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    ask(&h, VK_DHCP_DISCOVER, 0x01, NULL);
    ask(&h, VK_DHCP_REQUEST, 0x02, "10.0.2.15");
    ask(&h, VK_DHCP_REQUEST, 0x02, "10.0.2.200");
    assert_int_equal(h.ngot, 3);
    vk_dhcp_repr r;
    for (size_t i = 1; i < 3; i++) {
        answer(&h, i, &r);
        assert_int_equal(r.msg_type, VK_DHCP_NAK);
        /* libslirp's NAK carries yiaddr 255.255.255.255 and option 56 */
        assert_memory_equal(r.yiaddr.b, UH_BCAST, 4);
        assert_int_equal(r.options[3], 56);
    }
    assert_int_equal(uh_stats(&h)->dhcp_naks, 2);
    uh_close(&h);
}

static void test_seventeenth_client_gets_no_offer(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    for (uint8_t m = 0; m < 17; m++)
        ask(&h, VK_DHCP_DISCOVER, m, NULL);
    assert_int_equal(h.ngot, 16);
    assert_int_equal(uh_stats(&h)->dhcp_pool_exhausted, 1);
    assert_string_equal(h.dropped.reason, "DHCP: address pool exhausted");
    vk_dhcp_repr r;
    answer(&h, 15, &r);
    assert_int_equal(r.yiaddr.b[3], 30);
    uh_close(&h);
}

static void test_restrict_leaves_out_router_and_dns(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,restrict=on");
    ask(&h, VK_DHCP_DISCOVER, 0x56, NULL);
    vk_dhcp_repr r;
    answer(&h, 0, &r);
    static const uint8_t order[] = {53, 1, 2, 54, 4, 10, 0, 2, 2, 1, 4, 255, 255, 255, 0,
                                    51, 4, 0, 1, 0x51, 0x80};
    assert_int_equal(r.options_len, sizeof order);
    assert_memory_equal(r.options, order, sizeof order);
    uh_close(&h);
}

static void test_tftp_server_name_and_bootfile_are_sent(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,tftp-server-name=boot.example,bootfile=/pxe/boot.0");
    ask(&h, VK_DHCP_DISCOVER, 0x56, NULL);
    vk_dhcp_repr r;
    answer(&h, 0, &r);
    assert_string_equal(r.file, "/pxe/boot.0");
    assert_int_equal(r.options[33], 66);
    assert_int_equal(r.options[34], 12);
    assert_memory_equal(r.options + 35, "boot.example", 12);
    uh_close(&h);
}

static void expect_malformed(const uint8_t *p, size_t n, const char *reason)
{
    uh h;
    uh_open_ok(&h, "user,id=u");
    send_dhcp(&h, p, n);
    assert_int_equal(h.ngot, 0);
    assert_string_equal(h.dropped.reason, reason);
    assert_int_equal(uh_stats(&h)->dhcp_malformed, 1);
    uh_close(&h);
}

static void test_malformed_requests_are_dropped_with_reason(void **state)
{
    (void)state;
    uint8_t buf[600];
    size_t n = dhcp_msg(buf, sizeof buf, VK_DHCP_DISCOVER, 1, NULL);
    expect_malformed(buf, 239, "DHCP: shorter than a BOOTP header");
    buf[VK_DHCP_FIXED_LEN] = 0x42;
    expect_malformed(buf, n, "DHCP: bad magic cookie");
    n = dhcp_msg(buf, sizeof buf, VK_DHCP_DISCOVER, 1, NULL);
    /* option 53 then an option whose length runs past the end */
    buf[243] = 12;
    buf[244] = 200;
    expect_malformed(buf, 260, "DHCP: option runs past the end");
    n = dhcp_msg(buf, sizeof buf, 0, 1, NULL);
    expect_malformed(buf, n, "DHCP: no message type");
    n = dhcp_msg(buf, sizeof buf, VK_DHCP_DISCOVER, 1, NULL);
    buf[0] = VK_BOOTP_REPLY;
    expect_malformed(buf, n, "DHCP: not a BOOTREQUEST");
}

static void test_release_is_ignored(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    ask(&h, VK_DHCP_RELEASE, 0x56, NULL);
    assert_int_equal(h.ngot, 0);
    assert_int_equal(uh_stats(&h)->dhcp_malformed, 0);
    assert_int_equal(h.dropped.n, 1);
    uh_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discover_gets_offer_in_libslirp_order),
        cmocka_unit_test(test_request_is_acked_and_address_kept_per_mac),
        cmocka_unit_test(test_request_for_anothers_address_is_naked),
        cmocka_unit_test(test_seventeenth_client_gets_no_offer),
        cmocka_unit_test(test_restrict_leaves_out_router_and_dns),
        cmocka_unit_test(test_tftp_server_name_and_bootfile_are_sent),
        cmocka_unit_test(test_malformed_requests_are_dropped_with_reason),
        cmocka_unit_test(test_release_is_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
