/*
 * ARP in -netdev user: answers for the gateway, DNS and guestfwd addresses with
 * 52:55 + address in a 64-byte frame, silence for other addresses, learning
 * the guest's MAC, and holding frames (bounded, 1 s) while it asks itself.
 */
#include "test_user_harness.h"

#include "wire/arp.h"
#include "wire/checksum.h"
#include "wire/icmp.h"

static void arp_from(uh *h, const uint8_t *mac, const char *sip, const char *tip)
{
    uint8_t *f;
    size_t n = uh_build_arp_request(&f, mac, sip, tip);
    uh_send(h, f, n);
    free(f);
}

static void got_arp(const uh *h, size_t i, vk_eth_repr *eth, vk_arp_repr *a)
{
    assert_true(i < h->ngot);
    assert_int_equal(vk_eth_parse(h->got[i]->data, h->got[i]->len, eth), VK_OK);
    assert_int_equal(eth->ethertype, VK_ETHERTYPE_ARP);
    assert_int_equal(vk_arp_parse(eth->payload, eth->payload_len, a), VK_OK);
}

/* libslirp's arp_input answers for the gateway, the DNS address and every
 * guestfwd server (pcaps/qemu-e1000-guestfwd-cmd.pcap, frame 13). */
static void test_gateway_dns_and_guestfwd_are_answered_with_their_own_mac(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,guestfwd=tcp:10.0.2.100:7000-cmd:cat");
    const char *tip[3] = {"10.0.2.2", "10.0.2.3", "10.0.2.100"};
    for (size_t i = 0; i < 3; i++)
        arp_from(&h, UH_GUEST_MAC, "10.0.2.15", tip[i]);
    assert_int_equal(h.ngot, 3);
    for (size_t i = 0; i < 3; i++) {
        vk_eth_repr eth;
        vk_arp_repr a;
        got_arp(&h, i, &eth, &a);
        assert_int_equal(h.got[i]->len, 64);
        vk_ip4 want;
        vk_ip4_parse(tip[i], &want);
        vk_mac mac = {{0x52, 0x55, want.b[0], want.b[1], want.b[2], want.b[3]}};
        assert_memory_equal(eth.dst.b, UH_GUEST_MAC, 6);
        assert_memory_equal(eth.src.b, mac.b, 6);
        assert_int_equal(a.op, VK_ARP_OP_REPLY);
        assert_memory_equal(a.sha.b, mac.b, 6);
        assert_memory_equal(a.spa.b, want.b, 4);
        assert_memory_equal(a.tha.b, UH_GUEST_MAC, 6);
        assert_memory_equal(a.tpa.b, ((uint8_t[]){10, 0, 2, 15}), 4);
        for (size_t k = 42; k < 64; k++)
            assert_int_equal(h.got[i]->data[k], 0);
    }
    assert_int_equal(uh_stats(&h)->arp_replies, 3);
    uh_close(&h);
}

static void test_other_addresses_are_not_answered(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    arp_from(&h, UH_GUEST_MAC, "10.0.2.15", "10.0.2.99");
    arp_from(&h, UH_GUEST_MAC, "10.0.2.15", "192.168.1.1");
    assert_int_equal(h.ngot, 0);
    assert_string_equal(h.dropped.reason, "ARP: not for an address of the stack");
    /* gratuitous ARP: learnt, not answered, not a drop */
    arp_from(&h, UH_GUEST_MAC, "10.0.2.15", "10.0.2.15");
    assert_int_equal(h.ngot, 0);
    assert_int_equal(h.dropped.n, 2);
    uh_close(&h);
}

static void test_truncated_arp_is_dropped(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    uint8_t *f;
    size_t n = uh_build_arp_request(&f, UH_GUEST_MAC, "10.0.2.15", "10.0.2.2");
    uh_send(&h, f, n - 2);
    free(f);
    assert_int_equal(h.ngot, 0);
    assert_string_equal(h.dropped.reason, "ARP: truncated");
    uh_close(&h);
}

/* An echo request from an address the stack never learnt (outside net). */
static void ping_from(uh *h, const char *src)
{
    uint8_t icmp[12] = {8, 0, 0, 0, 0, 1, 0, 1, 'a', 'b', 'c', 'd'};
    uint16_t c = vk_csum(icmp, sizeof icmp);
    icmp[2] = (uint8_t)(c >> 8);
    icmp[3] = (uint8_t)c;
    uint8_t *f;
    size_t n = uh_build_ip4(&f, src, "10.0.2.2", IPPROTO_ICMP, 1, 0, icmp, sizeof icmp);
    uh_send(h, f, n);
    free(f);
}

static void test_unknown_destination_is_held_until_arp_reply(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    ping_from(&h, "192.168.9.9");
    assert_int_equal(h.ngot, 1);
    vk_eth_repr eth;
    vk_arp_repr a;
    got_arp(&h, 0, &eth, &a);
    assert_int_equal(h.got[0]->len, 42); /* libslirp's request is not padded */
    assert_memory_equal(eth.dst.b, UH_BCAST, 6);
    assert_int_equal(a.op, VK_ARP_OP_REQUEST);
    assert_memory_equal(a.sha.b, UH_GW_MAC, 6);
    assert_memory_equal(a.tpa.b, ((uint8_t[]){192, 168, 9, 9}), 4);
    /* the guest answers: the held echo reply leaves with its MAC */
    uint8_t *f;
    libnet_t *l = uh_ln();
    uint32_t s = uh_ip("192.168.9.9"), t = uh_ip("10.0.2.2");
    uint8_t mac[6] = {0x52, 0x54, 0, 0, 0, 0x99};
    libnet_build_arp(ARPHRD_ETHER, ETHERTYPE_IP, 6, 4, ARPOP_REPLY, mac, (uint8_t *)&s,
                     UH_GW_MAC, (uint8_t *)&t, NULL, 0, l, 0);
    libnet_build_ethernet(UH_GW_MAC, mac, ETHERTYPE_ARP, NULL, 0, l, 0);
    size_t n = uh_ln_finish(l, &f);
    uh_send(&h, f, n);
    free(f);
    assert_int_equal(h.ngot, 2);
    vk_ipv4_repr ip;
    uh_got_ip4(&h, 1, &eth, &ip);
    assert_memory_equal(eth.dst.b, mac, 6);
    assert_int_equal(ip.proto, VK_IP_PROTO_ICMP);
    assert_int_equal(uh_stats(&h)->arp_requests_sent, 1);
    uh_close(&h);
}

static void test_held_frames_expire_and_the_hold_is_bounded(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,ipv6=off");
    for (int i = 0; i < 40; i++)
        ping_from(&h, "192.168.9.9");
    assert_int_equal(uh_stats(&h)->arp_hold_full, 40 - 32);
    assert_string_equal(h.dropped.reason, "ARP: hold queue full");
    uh_advance(&h, VK_NS_PER_SEC - 1);
    assert_int_equal(uh_stats(&h)->arp_hold_expired, 0);
    uh_advance(&h, VK_NS_PER_SEC);
    assert_int_equal(uh_stats(&h)->arp_hold_expired, 32);
    assert_string_equal(h.dropped.reason, "ARP: no reply from the guest within 1 s");
    uh_close(&h);
}

static void test_arp_table_evicts_round_robin(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    for (int i = 0; i < 17; i++) {
        char ip[16];
        uint8_t mac[6] = {0x52, 0x54, 0, 0, 1, (uint8_t)i};
        snprintf(ip, sizeof ip, "10.0.2.%d", 100 + i);
        arp_from(&h, mac, ip, ip);
    }
    assert_int_equal(uh_stats(&h)->arp_table_evictions, 1);
    uh_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gateway_dns_and_guestfwd_are_answered_with_their_own_mac),
        cmocka_unit_test(test_other_addresses_are_not_answered),
        cmocka_unit_test(test_truncated_arp_is_dropped),
        cmocka_unit_test(test_unknown_destination_is_held_until_arp_reply),
        cmocka_unit_test(test_held_frames_expire_and_the_hold_is_bounded),
        cmocka_unit_test(test_arp_table_evicts_round_robin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
