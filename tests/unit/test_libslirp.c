/*
 * -netdev libslirp on the virtual clock: the real libslirp answers through
 * vnetkit's port, its timers run on simulated time, nothing reaches the
 * host, and the guards in front of it hold (outside traffic refused with a
 * traced reason, fragments only in order, guest_error traced as a drop).
 * Skipped (77) when the build has no libslirp.
 */
#include "test_user_harness.h"

#include <signal.h>

#include "backends/libslirp.h"
#include "wire/checksum.h"

typedef struct ls {
    uh h; /* the harness's recorder and tap; h.user is the libslirp port */
} ls;

static void ls_open(ls *t, const char *opts)
{
    vk_diag d = {{0}};
    if (uh_open_type(&t->h, &vk_netdev_libslirp, "s", opts, &d) != VK_OK)
        fail_msg("%s: %s", opts, d.msg);
}

static const vk_libslirp_stats *st(const ls *t)
{
    return vk_libslirp_stats_of(t->h.user);
}

static void test_arp_and_echo_are_answered_by_the_real_libslirp(void **state)
{
    (void)state;
    ls t;
    ls_open(&t, "libslirp,id=s");
    uh_announce(&t.h); /* answered: cleared by the helper */
    assert_int_equal(st(&t)->frames_out, 1);
    uint8_t pl[8] = {8, 0, 0, 0, 0, 1, 0, 1};
    uint16_t c = vk_csum(pl, sizeof pl);
    pl[2] = (uint8_t)(c >> 8), pl[3] = (uint8_t)c;
    uint8_t *f;
    size_t n = uh_build_ip4(&f, "10.0.2.15", "10.0.2.3", IPPROTO_ICMP, 7, 0, pl, sizeof pl);
    uh_send(&t.h, f, n);
    free(f);
    assert_int_equal(t.h.ngot, 1);
    vk_eth_repr eth;
    vk_ipv4_repr ip;
    uh_got_ip4(&t.h, 0, &eth, &ip);
    assert_int_equal(ip.proto, VK_IP_PROTO_ICMP);
    assert_int_equal(ip.payload[0], 0); /* echo reply */
    assert_int_equal(st(&t)->host_sockets, 0);
    uh_close(&t.h);
}

static void test_outside_traffic_is_refused_on_the_virtual_clock_with_a_reason(void **state)
{
    (void)state;
    ls t;
    ls_open(&t, "libslirp,id=s");
    uh_announce(&t.h);
    uint8_t *f, q[12] = {0x12, 0x34, 1, 0, 0, 1};
    size_t n = uh_build_udp(&f, "10.0.2.15", 4000, "10.0.2.3", 53, q, sizeof q);
    uh_send(&t.h, f, n);
    free(f);
    assert_non_null(strstr(t.h.dropped.reason, "virtual clock: DNS is forwarded"));
    n = uh_build_udp(&f, "10.0.2.15", 4000, "192.0.2.1", 9, q, sizeof q);
    uh_send(&t.h, f, n);
    free(f);
    assert_non_null(strstr(t.h.dropped.reason, "UDP leaves the virtual network"));
    assert_int_equal(st(&t)->refused_outside, 2);
    assert_int_equal(st(&t)->host_sockets, 0);
    assert_int_equal(t.h.ngot, 0);
    uh_close(&t.h);
}

static void test_restrict_on_lets_tcp_in_and_libslirp_resets_it(void **state)
{
    (void)state;
    ls t;
    ls_open(&t, "libslirp,id=s,restrict=on");
    uh_announce(&t.h);
    libnet_t *l = uh_ln();
    libnet_build_tcp(40000, 80, 1000, 0, TH_SYN, 64240, 0, 0, LIBNET_TCP_H, NULL, 0, l, 0);
    libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_TCP_H, 0, 9, 0, 64, IPPROTO_TCP, 0,
                      uh_ip("10.0.2.15"), uh_ip("10.0.2.2"), NULL, 0, l, 0);
    libnet_build_ethernet(UH_GW_MAC, UH_GUEST_MAC, ETHERTYPE_IP, NULL, 0, l, 0);
    uint8_t *f;
    size_t n = uh_ln_finish(l, &f);
    uh_send(&t.h, f, n);
    free(f);
    assert_int_equal(t.h.ngot, 1);
    vk_eth_repr eth;
    vk_ipv4_repr ip;
    uh_got_ip4(&t.h, 0, &eth, &ip);
    assert_int_equal(ip.proto, VK_IP_PROTO_TCP);
    assert_int_equal(ip.payload[13], 0x14); /* RST+ACK */
    assert_int_equal(st(&t)->host_sockets, 0);
    uh_close(&t.h);
}

/* An echo to the gateway cut in two, sent in `order`. */
static void send_echo_fragments(uh *h, const int order[2])
{
    uint8_t l4[1000];
    memset(l4, 0xab, sizeof l4);
    l4[0] = 8, l4[1] = 0, l4[2] = 0, l4[3] = 0, l4[4] = 0, l4[5] = 9, l4[6] = 0, l4[7] = 1;
    uint16_t c = vk_csum(l4, sizeof l4);
    l4[2] = (uint8_t)(c >> 8), l4[3] = (uint8_t)c;
    for (int k = 0; k < 2; k++) {
        uint8_t *f;
        size_t n = order[k] == 0
                       ? uh_build_ip4(&f, "10.0.2.15", "10.0.2.2", IPPROTO_ICMP, 77, 0x2000,
                                      l4, 512)
                       : uh_build_ip4(&f, "10.0.2.15", "10.0.2.2", IPPROTO_ICMP, 77, 512 / 8,
                                      l4 + 512, sizeof l4 - 512);
        uh_send(h, f, n);
        free(f);
    }
}

static void test_fragments_reach_libslirp_only_in_order(void **state)
{
    (void)state;
    ls t;
    ls_open(&t, "libslirp,id=s");
    uh_announce(&t.h);
    /* libslirp 4.7 crashes on this order; the guard drops the last fragment */
    send_echo_fragments(&t.h, (const int[2]){1, 0});
    assert_int_equal(st(&t)->frag_out_of_order, 1);
    assert_non_null(strstr(t.h.dropped.reason, "IPv4 fragment out of order"));
    assert_int_equal(t.h.ngot, 0);
    /* in order, the datagram is reassembled and answered (fragmented) */
    send_echo_fragments(&t.h, (const int[2]){0, 1});
    assert_true(t.h.ngot >= 1);
    assert_int_equal(st(&t)->frag_out_of_order, 1);
    uh_close(&t.h);
}

static void test_guest_error_is_traced_as_a_drop_with_its_message(void **state)
{
    (void)state;
    ls t;
    ls_open(&t, "libslirp,id=s");
    /* a guest must not send router advertisements: libslirp complains */
    uint8_t f[14 + 40 + 16] = {0x33, 0x33, 0, 0, 0, 1};
    memcpy(f + 6, UH_GUEST_MAC, 6);
    f[12] = 0x86, f[13] = 0xdd;
    uint8_t *ip = f + 14;
    ip[0] = 0x60, ip[5] = 16, ip[6] = 58, ip[7] = 255;
    assert_int_equal(inet_pton(AF_INET6, "fe80::5054:ff:fe12:3456", ip + 8), 1);
    assert_int_equal(inet_pton(AF_INET6, "ff02::1", ip + 24), 1);
    ip[40] = 134; /* RA */
    assert_int_equal(vk_csum_fill_frame(f, sizeof f), VK_OK);
    uh_send(&t.h, f, sizeof f);
    assert_int_equal(st(&t)->guest_errors, 1);
    assert_non_null(strstr(t.h.dropped.reason, "libslirp: guest error: "));
    assert_non_null(strstr(t.h.dropped.reason, "RA"));
    uh_close(&t.h);
}

static void test_oversize_and_runt_frames_never_reach_libslirp(void **state)
{
    (void)state;
    ls t;
    ls_open(&t, "libslirp,id=s");
    uint8_t big[VK_LIBSLIRP_FRAME_MAX + 1] = {0};
    big[12] = 0x08;
    uh_send(&t.h, big, sizeof big);
    assert_int_equal(st(&t)->oversize, 1);
    uh_send(&t.h, big, 10);
    assert_non_null(strstr(t.h.dropped.reason, "runt"));
    assert_int_equal(st(&t)->frames_in, 0);
    uh_close(&t.h);
}

static void test_host_forwarding_needs_the_live_clock(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    vk_net *net = vk_net_new(loop);
    vk_diag d = {{0}};
    vk_opts o;
    assert_int_equal(vk_opts_parse("-netdev", "type",
                                   "libslirp,id=s,hostfwd=tcp:127.0.0.1:2222-:22", &o, &d),
                     VK_OK);
    vk_port *p;
    assert_int_equal(vk_netdev_libslirp.create(net, "s", &o, &p, &d), VK_EUNSUPP);
    assert_non_null(strstr(d.msg, "--clock live"));
    vk_opts_free(&o);
    vk_net_free(net);
    vk_loop_free(loop);
}

/* libslirp 4.7 send()s to host sockets without MSG_NOSIGNAL: a host peer
 * that reset its connection killed vnetkit with SIGPIPE (found by
 * e2e.test_user_hostile_vs_libslirp).  On the live clock the backend ignores
 * SIGPIPE as QEMU does; on the virtual clock libslirp has no sockets and the
 * disposition is left alone. */
static void test_live_libslirp_survives_a_host_peer_reset_sigpipe(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_DFL);
    for (int live = 0; live <= 1; live++) {
        vk_loop *loop = vk_loop_new(live ? VK_CLOCK_LIVE : VK_CLOCK_VIRTUAL);
        vk_net *net = vk_net_new(loop);
        vk_diag d = {{0}};
        vk_opts o;
        assert_int_equal(vk_opts_parse("-netdev", "type", "libslirp,id=s,ipv6=off", &o, &d),
                         VK_OK);
        vk_port *p;
        assert_int_equal(vk_netdev_libslirp.create(net, "s", &o, &p, &d), VK_OK);
        struct sigaction sa;
        assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
        assert_true(sa.sa_handler == (live ? SIG_IGN : SIG_DFL));
        vk_opts_free(&o);
        vk_net_free(net);
        vk_loop_free(loop);
    }
    signal(SIGPIPE, SIG_DFL);
}

/* The RA timer runs on simulated time with a fixed-seed interval: two runs
 * see the unsolicited RAs at the same instants. */
static uint64_t first_ra_time(void)
{
    ls t;
    ls_open(&t, "libslirp,id=s");
    uint64_t when = 0;
    for (uint64_t s = 1; s <= 700 && when == 0; s++) {
        uh_advance(&t.h, s * VK_NS_PER_SEC);
        if (t.h.ngot > 0)
            when = s;
    }
    uh_close(&t.h);
    return when;
}

static void test_unsolicited_ras_come_at_the_same_simulated_times_every_run(void **state)
{
    (void)state;
    uint64_t a = first_ra_time(), b = first_ra_time();
    assert_true(a >= 200 && a <= 600);
    assert_int_equal(a, b);
}

int main(void)
{
    if (!vk_libslirp_available()) {
        printf("SKIP: built without libslirp (install libslirp-dev and rebuild)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arp_and_echo_are_answered_by_the_real_libslirp),
        cmocka_unit_test(test_outside_traffic_is_refused_on_the_virtual_clock_with_a_reason),
        cmocka_unit_test(test_restrict_on_lets_tcp_in_and_libslirp_resets_it),
        cmocka_unit_test(test_fragments_reach_libslirp_only_in_order),
        cmocka_unit_test(test_guest_error_is_traced_as_a_drop_with_its_message),
        cmocka_unit_test(test_oversize_and_runt_frames_never_reach_libslirp),
        cmocka_unit_test(test_host_forwarding_needs_the_live_clock),
        cmocka_unit_test(test_unsolicited_ras_come_at_the_same_simulated_times_every_run),
        cmocka_unit_test(test_live_libslirp_survives_a_host_peer_reset_sigpipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
