/*
 * What a guest (or a crowd of host clients) can make the TCP NAT hold, and
 * what happens at each limit (issue 8: "SYN floods, fd exhaustion -> RST to
 * the guest, never a crash"), against a scripted world on the virtual clock:
 *  - the world out of descriptors at connect: a reset for the SYN, counted
 *    (tcp_world_errors) and traced, no connection kept;
 *  - a SYN flood toward a host that never answers: at most
 *    VK_USER_TCP_CONNS_MAX half-open connections, no byte buffers, and all
 *    of them gone (reset) after libslirp's 75 s;
 *  - a hostfwd client accepted while the table is full: its socket is
 *    aborted and counted (tcp_conns_full), the guest hears nothing.
 * (test_user_tcp.c checks the reset a SYN past the cap gets.)
 */
#include "test_user_harness.h"

#include "backends/user/tcp_conn.h"
#include "fake_world.h"
#include "wire/checksum.h"
#include "wire/tcp.h"

#define SEC 1000000000ull

static fw *limits_world(uh *h, const char *opts)
{
    uh_open_ok(h, opts);
    uh_announce(h);
    uh_clear(h);
    fw *w = fw_new(h->loop);
    assert_int_equal(vk_user_set_world(h->user, &w->base), VK_OK);
    return w;
}

/* A bare SYN from the guest 10.0.2.15:sport to dst:80, built with our own
 * emitter (the checksum over the pseudo header), wrapped by libnet. */
static void syn_to(uh *h, const char *dst, uint16_t sport, uint32_t isn)
{
    vk_ip4 s, d;
    assert_int_equal(vk_ip4_parse("10.0.2.15", &s), VK_OK);
    assert_int_equal(vk_ip4_parse(dst, &d), VK_OK);
    vk_tcp_repr t = {.src_port = sport, .dst_port = 80, .seq = isn, .flags = VK_TCP_SYN,
                     .window = 64240, .has_mss = true, .mss = 1460};
    uint8_t seg[64];
    size_t n;
    assert_int_equal(vk_tcp_emit(&t, vk_csum_pseudo4(&s, &d, VK_IP_PROTO_TCP), seg, sizeof seg,
                                 &n),
                     VK_OK);
    uint8_t *f;
    size_t len = uh_build_ip4(&f, "10.0.2.15", dst, VK_IP_PROTO_TCP, 1, 0x4000, seg, n);
    uh_send(h, f, len);
    free(f);
}

static vk_tcp_repr only_tcp(uh *h)
{
    assert_int_equal(h->ngot, 1);
    vk_eth_repr eth;
    vk_ipv4_repr ip;
    uh_got_ip4(h, 0, &eth, &ip);
    vk_tcp_repr t;
    assert_int_equal(vk_tcp_parse(ip.payload, ip.payload_len, &t), VK_OK);
    return t;
}

static size_t tcp_bytes_held(const uh *h)
{
    const vk_user *u = h->user->priv;
    return u->tcp->mem;
}

static void test_world_out_of_descriptors_resets_the_syn_and_counts_it(void **state)
{
    (void)state;
    uh h;
    fw *w = limits_world(&h, "user,id=u");
    w->connect_now = VK_EFULL; /* what the live world returns on EMFILE/ENFILE */
    syn_to(&h, "10.0.2.2", 40000, 0x1000);
    vk_tcp_repr t = only_tcp(&h);
    assert_int_equal(t.flags, VK_TCP_RST | VK_TCP_ACK);
    assert_int_equal(t.ack, 0x1001);
    assert_int_equal(uh_stats(&h)->tcp_world_errors, 1);
    assert_int_equal(uh_stats(&h)->tcp_conns, 0);
    assert_string_equal(h.dropped.reason, "TCP: the world cannot open a socket");
    /* the next SYN, with descriptors again, connects */
    w->connect_now = VK_OK;
    uh_clear(&h);
    syn_to(&h, "10.0.2.2", 40001, 0x2000);
    uh_advance(&h, vk_loop_now(h.loop) + 1000000);
    assert_int_equal(only_tcp(&h).flags, VK_TCP_SYN | VK_TCP_ACK);
    uh_close(&h);
}

static void test_syn_flood_to_a_silent_host_is_capped_holds_no_buffers_and_drains(void **state)
{
    (void)state;
    uh h;
    fw *w = limits_world(&h, "user,id=u");
    w->connect_delay = VK_TIME_NEVER;
    for (unsigned i = 0; i < VK_USER_TCP_CONNS_MAX + 5; i++) {
        syn_to(&h, (i & 1) ? "192.0.2.7" : "192.0.2.8", (uint16_t)(1024 + i / 2), i);
        uh_clear(&h);
    }
    assert_int_equal(uh_stats(&h)->tcp_conns, VK_USER_TCP_CONNS_MAX);
    assert_int_equal(uh_stats(&h)->tcp_conns_full, 5);
    assert_int_equal(tcp_bytes_held(&h), 0); /* half-open costs a record, no buffer */
    uh_advance(&h, vk_loop_now(h.loop) + 76 * SEC);
    assert_int_equal(uh_stats(&h)->tcp_conns, 0);
    assert_int_equal(uh_stats(&h)->tcp_timeouts, VK_USER_TCP_CONNS_MAX);
    for (size_t i = 0; i < w->n; i++)
        assert_true(w->socks[i]->closed);
    uh_close(&h);
}

static void test_hostfwd_client_past_the_cap_is_aborted_and_counted(void **state)
{
    (void)state;
    uh h;
    fw *w = limits_world(&h, "user,id=u,hostfwd=tcp:127.0.0.1:8022-10.0.2.15:22");
    assert_true(w->n >= 1 && w->socks[0]->listener);
    fw_sock *listener = w->socks[0];
    w->connect_delay = VK_TIME_NEVER;
    for (unsigned i = 0; i < VK_USER_TCP_CONNS_MAX; i++) {
        syn_to(&h, "192.0.2.9", (uint16_t)(1024 + i % 60000), i);
        uh_clear(&h);
    }
    assert_int_equal(uh_stats(&h)->tcp_conns, VK_USER_TCP_CONNS_MAX);
    vk_waddr peer = {.family = 4, .port = 50000};
    assert_int_equal(vk_ip4_parse("127.0.0.1", &peer.ip4), VK_OK);
    fw_sock *client = fw_accept(listener, &peer, vk_loop_now(h.loop));
    assert_true(client->closed);
    assert_true(client->aborted);
    assert_int_equal(uh_stats(&h)->tcp_conns_full, 1);
    assert_int_equal(h.ngot, 0);
    uh_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_world_out_of_descriptors_resets_the_syn_and_counts_it),
        cmocka_unit_test(test_syn_flood_to_a_silent_host_is_capped_holds_no_buffers_and_drains),
        cmocka_unit_test(test_hostfwd_client_past_the_cap_is_aborted_and_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
