/*
 * IPv6 in -netdev user: RS -> RA with libslirp's contents, NS for the
 * stack's addresses -> NA (and nothing for other targets), ICMPv6 echo to
 * the stack, a reply held for an unlearnt neighbor, hop-limit and checksum
 * checks, and unsolicited RAs every
 * 200-600 s of virtual time while the guest is active.
 */
#include "test_user_harness.h"

#include "wire/checksum.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"

static vk_ip6 ip6(const char *s)
{
    vk_ip6 a;
    assert_int_equal(vk_ip6_parse(s, &a), VK_OK);
    return a;
}

static void send_icmp6(uh *h, const char *src, const char *dst, uint8_t hop,
                       const vk_icmpv6_repr *m, bool corrupt)
{
    vk_ip6 s = ip6(src), d = ip6(dst);
    uint8_t l4[256], frame[512];
    size_t n, w;
    assert_int_equal(vk_icmpv6_emit(m, vk_csum_pseudo6(&s, &d, VK_IP_PROTO_ICMPV6), l4,
                                    sizeof l4, &n),
                     VK_OK);
    if (corrupt)
        l4[n - 1] ^= 0x55;
    vk_eth_repr eth = {.ethertype = VK_ETHERTYPE_IPV6};
    memcpy(eth.src.b, UH_GUEST_MAC, 6);
    eth.dst = (vk_mac){{0x33, 0x33, d.b[12], d.b[13], d.b[14], d.b[15]}};
    vk_ipv6_repr ip = {.next_header = VK_IP_PROTO_ICMPV6, .hop_limit = hop, .src = s, .dst = d,
                       .payload = l4, .payload_len = n};
    assert_int_equal(vk_eth_emit(&eth, frame, sizeof frame, &w), VK_OK);
    assert_int_equal(vk_ipv6_emit(&ip, frame + 14, sizeof frame - 14, &w), VK_OK);
    uh_send(h, frame, 14 + w);
}

static void got_icmp6(uh *h, size_t i, vk_eth_repr *eth, vk_ipv6_repr *ip, vk_icmpv6_repr *m)
{
    assert_true(i < h->ngot);
    assert_int_equal(vk_eth_parse(h->got[i]->data, h->got[i]->len, eth), VK_OK);
    assert_int_equal(vk_ipv6_parse(eth->payload, eth->payload_len, ip), VK_OK);
    assert_int_equal(ip->hop_limit, 255);
    assert_int_equal(ip->tclass, 0);
    assert_int_equal(ip->flow, 0);
    assert_true(vk_icmpv6_csum_ok(vk_csum_pseudo6(&ip->src, &ip->dst, VK_IP_PROTO_ICMPV6),
                                  ip->payload, ip->payload_len));
    assert_int_equal(vk_icmpv6_parse(ip->payload, ip->payload_len, m), VK_OK);
}

static const uint8_t MAC6[6] = {0x52, 0x56, 0, 0, 0, 2};

static void send_rs(uh *h, uint8_t hop)
{
    vk_icmpv6_repr rs = {.type = VK_ICMPV6_ROUTER_SOLICIT, .has_src_ll = true};
    memcpy(rs.src_ll.b, UH_GUEST_MAC, 6);
    send_icmp6(h, "fe80::5054:ff:fe12:3456", "ff02::2", hop, &rs, false);
}

static void check_ra(uh *h, size_t i, const char *prefix, uint8_t plen)
{
    vk_eth_repr eth;
    vk_ipv6_repr ip;
    vk_icmpv6_repr m;
    got_icmp6(h, i, &eth, &ip, &m);
    assert_memory_equal(eth.dst.b, ((uint8_t[]){0x33, 0x33, 0, 0, 0, 1}), 6);
    assert_memory_equal(eth.src.b, MAC6, 6);
    vk_ip6 src = ip6("fe80::2"), all = ip6("ff02::1"), pfx = ip6(prefix);
    assert_memory_equal(&ip.src, &src, 16);
    assert_memory_equal(&ip.dst, &all, 16);
    assert_int_equal(m.type, VK_ICMPV6_ROUTER_ADVERT);
    assert_int_equal(m.cur_hop_limit, 64);
    assert_int_equal(m.ra_flags, 0);
    assert_int_equal(m.router_lifetime, 1800);
    assert_int_equal(m.reachable_time, 0);
    assert_int_equal(m.retrans_timer, 0);
    assert_true(m.has_src_ll);
    assert_memory_equal(m.src_ll.b, MAC6, 6);
    assert_false(m.has_mtu);
    assert_int_equal(m.rdnss_count, 0);
    assert_int_equal(m.prefix_count, 1);
    assert_int_equal(m.prefix[0].prefix_len, plen);
    assert_int_equal(m.prefix[0].flags, 0xc0);
    assert_int_equal(m.prefix[0].valid_lifetime, 86400);
    assert_int_equal(m.prefix[0].preferred_lifetime, 14400);
    assert_memory_equal(&m.prefix[0].prefix, &pfx, 16);
}

static void test_rs_gets_libslirp_ra(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    send_rs(&h, 255);
    assert_int_equal(h.ngot, 1);
    check_ra(&h, 0, "fec0::", 64);
    assert_int_equal(h.got[0]->len, 14 + 40 + 56);
    uh_close(&h);
    uh_open_ok(&h, "user,id=u,ipv6-net=fd00:1:2::/48");
    send_rs(&h, 255);
    check_ra(&h, 0, "fd00:1:2::", 48);
    uh_close(&h);
}

static void test_nd_with_wrong_hop_limit_is_dropped(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    send_rs(&h, 64);
    assert_int_equal(h.ngot, 0);
    assert_string_equal(h.dropped.reason, "NDP: hop limit not 255 or code not 0");
    uh_close(&h);
}

static void send_ns(uh *h, const char *src, const char *target)
{
    vk_icmpv6_repr ns = {.type = VK_ICMPV6_NEIGHBOR_SOLICIT, .target = ip6(target),
                         .has_src_ll = true};
    memcpy(ns.src_ll.b, UH_GUEST_MAC, 6);
    send_icmp6(h, src, "ff02::1:ff00:2", 255, &ns, false);
}

static void test_ns_for_the_stack_gets_solicited_na(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    send_ns(&h, "fec0::5054:ff:fe12:3456", "fec0::2");
    assert_int_equal(h.ngot, 1);
    vk_eth_repr eth;
    vk_ipv6_repr ip;
    vk_icmpv6_repr m;
    got_icmp6(&h, 0, &eth, &ip, &m);
    assert_memory_equal(eth.dst.b, UH_GUEST_MAC, 6);
    assert_memory_equal(eth.src.b, MAC6, 6);
    vk_ip6 me = ip6("fec0::2"), guest = ip6("fec0::5054:ff:fe12:3456");
    assert_memory_equal(&ip.src, &me, 16);
    assert_memory_equal(&ip.dst, &guest, 16);
    assert_int_equal(m.type, VK_ICMPV6_NEIGHBOR_ADVERT);
    assert_int_equal(m.na_flags, 0xe0000000u);
    assert_memory_equal(&m.target, &me, 16);
    assert_true(m.has_tgt_ll);
    assert_memory_equal(m.tgt_ll.b, MAC6, 6);
    send_ns(&h, "fec0::5054:ff:fe12:3456", "fec0::3");
    got_icmp6(&h, 1, &eth, &ip, &m);
    assert_int_equal(eth.src.b[5], 3);
    /* the guest's own DAD probe and other targets get nothing */
    send_ns(&h, "::", "fec0::5054:ff:fe12:3456");
    send_ns(&h, "fec0::5054:ff:fe12:3456", "fec0::99");
    assert_int_equal(h.ngot, 2);
    assert_string_equal(h.dropped.reason, "NDP: solicitation for an address not of the stack");
    uh_close(&h);
}

static void test_echo6_to_the_stack_is_answered(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    send_ns(&h, "fec0::5054:ff:fe12:3456", "fec0::2"); /* so the stack knows the MAC */
    uint8_t data[40];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)i;
    vk_icmpv6_repr echo = {.type = VK_ICMPV6_ECHO_REQUEST, .id = 77, .seq = 3, .data = data,
                           .data_len = sizeof data};
    send_icmp6(&h, "fec0::5054:ff:fe12:3456", "fec0::2", 64, &echo, false);
    send_icmp6(&h, "fec0::5054:ff:fe12:3456", "fec0::2", 64, &echo, true);
    assert_string_equal(h.dropped.reason, "ICMPv6: bad checksum");
    send_icmp6(&h, "fec0::5054:ff:fe12:3456", "2001:db8::1", 64, &echo, false);
    assert_string_equal(h.dropped.reason, "user: NAT not implemented yet");
    assert_int_equal(h.ngot, 2);
    vk_eth_repr eth;
    vk_ipv6_repr ip;
    vk_icmpv6_repr m;
    got_icmp6(&h, 1, &eth, &ip, &m);
    assert_int_equal(m.type, VK_ICMPV6_ECHO_REPLY);
    assert_int_equal(m.id, 77);
    assert_int_equal(m.seq, 3);
    assert_int_equal(m.data_len, sizeof data);
    assert_memory_equal(m.data, data, sizeof data);
    assert_int_equal(uh_stats(&h)->echo6_replies, 1);
    uh_close(&h);
}

/* A reply to a guest address the stack has not learnt waits (libslirp's
 * if_encap6): a neighbor solicitation goes out for it, the reply follows
 * the guest's advertisement with the MAC it gave; without one it is a
 * traced drop after 1 s.  The hold is bounded, with ARP's queue. */
static void test_reply_to_an_unlearnt_neighbor_waits_for_its_advertisement(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    static const char *guest = "fec0::5054:ff:fe12:3456";
    uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    vk_icmpv6_repr echo = {.type = VK_ICMPV6_ECHO_REQUEST, .id = 9, .seq = 1, .data = data,
                           .data_len = sizeof data};
    send_icmp6(&h, guest, "fec0::2", 64, &echo, false);
    assert_int_equal(h.ngot, 1);
    vk_eth_repr eth;
    vk_ipv6_repr ip;
    vk_icmpv6_repr m;
    got_icmp6(&h, 0, &eth, &ip, &m);
    vk_ip6 me = ip6("fec0::2"), g = ip6(guest), group = ip6("ff02::1:ff12:3456");
    assert_int_equal(m.type, VK_ICMPV6_NEIGHBOR_SOLICIT);
    assert_memory_equal(&m.target, &g, 16);
    assert_memory_equal(&ip.dst, &group, 16);
    assert_memory_equal(eth.dst.b, ((uint8_t[]){0x33, 0x33, 0xff, 0x12, 0x34, 0x56}), 6);
    assert_true(m.has_src_ll);
    assert_memory_equal(m.src_ll.b, MAC6, 6);
    /* the guest advertises itself: the held reply goes, to its MAC */
    vk_icmpv6_repr na = {.type = VK_ICMPV6_NEIGHBOR_ADVERT,
                         .na_flags = VK_ND_NA_SOLICITED | VK_ND_NA_OVERRIDE, .target = g,
                         .has_tgt_ll = true};
    memcpy(na.tgt_ll.b, UH_GUEST_MAC, 6);
    send_icmp6(&h, guest, "fec0::2", 255, &na, false);
    assert_int_equal(h.ngot, 2);
    got_icmp6(&h, 1, &eth, &ip, &m);
    assert_memory_equal(eth.dst.b, UH_GUEST_MAC, 6);
    assert_memory_equal(&ip.src, &me, 16);
    assert_memory_equal(&ip.dst, &g, 16);
    assert_int_equal(m.type, VK_ICMPV6_ECHO_REPLY);
    assert_int_equal(m.id, 9);
    assert_memory_equal(m.data, data, sizeof data);
    /* another address of the guest that never answers: dropped after 1 s */
    send_icmp6(&h, "fec0::77", "fec0::2", 64, &echo, false);
    assert_int_equal(h.ngot, 3); /* its solicitation */
    got_icmp6(&h, 2, &eth, &ip, &m);
    assert_int_equal(m.type, VK_ICMPV6_NEIGHBOR_SOLICIT);
    uh_advance(&h, VK_NS_PER_SEC - 1);
    assert_int_equal(uh_stats(&h)->nd_hold_expired, 0);
    uh_advance(&h, VK_NS_PER_SEC);
    assert_int_equal(uh_stats(&h)->nd_hold_expired, 1);
    assert_int_equal(uh_stats(&h)->arp_hold_expired, 0);
    assert_string_equal(h.dropped.reason,
                        "NDP: no neighbor advertisement from the guest within 1 s");
    assert_int_equal(h.ngot, 3);
    /* bounded: the shared queue holds VK_USER_HOLD_MAX (32) frames */
    for (int i = 0; i < 40; i++)
        send_icmp6(&h, "fec0::78", "fec0::2", 64, &echo, false);
    assert_int_equal(uh_stats(&h)->nd_hold_full, 40 - 32);
    assert_string_equal(h.dropped.reason, "NDP: hold queue full");
    uh_close(&h);
}

static void test_unsolicited_ra_every_200_to_600_seconds(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    uh_advance(&h, 200 * VK_NS_PER_SEC - 1);
    assert_int_equal(h.ngot, 0);
    uh_advance(&h, 600 * VK_NS_PER_SEC);
    assert_int_equal(h.ngot, 1);
    check_ra(&h, 0, "fec0::", 64);
    /* an idle guest: the timer stops; any frame starts it again */
    uh_advance(&h, 3000 * VK_NS_PER_SEC);
    assert_int_equal(h.ngot, 1);
    send_rs(&h, 255);
    uh_advance(&h, 3000 * VK_NS_PER_SEC + 600 * VK_NS_PER_SEC);
    assert_int_equal(h.ngot, 3);
    uh_close(&h);
}

static void test_ipv6_off_drops_ipv6(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,ipv6=off");
    send_rs(&h, 255);
    assert_int_equal(h.ngot, 0);
    assert_string_equal(h.dropped.reason, "user: ipv6=off");
    uh_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rs_gets_libslirp_ra),
        cmocka_unit_test(test_nd_with_wrong_hop_limit_is_dropped),
        cmocka_unit_test(test_ns_for_the_stack_gets_solicited_na),
        cmocka_unit_test(test_echo6_to_the_stack_is_answered),
        cmocka_unit_test(test_reply_to_an_unlearnt_neighbor_waits_for_its_advertisement),
        cmocka_unit_test(test_unsolicited_ra_every_200_to_600_seconds),
        cmocka_unit_test(test_ipv6_off_drops_ipv6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
