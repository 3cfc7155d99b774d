/* The NIC test bench (see nic_bench.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nic_bench.h"
#include "core/options.h"
#include "nics/nic.h"

vk_port *vk_test_nic_new(vk_net *net, const vk_nic_model *m, const char *id, const vk_mac *mac,
                         const char *opts)
{
    vk_opts o;
    vk_diag d;
    char text[256];
    snprintf(text, sizeof text, "%s%s%s", m->name, opts[0] ? "," : "", opts);
    assert_int_equal(vk_opts_parse("-device", "driver", text, &o, &d), VK_OK);
    vk_port *p = NULL;
    int r = m->create(net, id, mac, &o, &p, &d);
    if (r != VK_OK)
        fprintf(stderr, "%s\n", d.msg);
    assert_int_equal(r, VK_OK);
    vk_opts_free(&o);
    return p;
}

vk_nic_bench *vk_nic_bench_alloc(const vk_nic_model *m, const vk_mac *mac, const char *opts)
{
    vk_nic_bench *b = calloc(1, sizeof *b);
    assert_non_null(b);
    b->loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    b->net = vk_net_new(b->loop);
    assert_int_equal(vk_net_add_tap(b->net, &vk_test_drop_tap, &b->dropped), VK_OK);
    b->nic = vk_test_nic_new(b->net, m, "nic0", mac, opts);
    vk_nic_set_guest_sink(b->nic, vk_test_sink, &b->guest);
    return b;
}

vk_nic_bench *vk_nic_bench_new(const vk_nic_model *m, const vk_mac *mac, const char *opts)
{
    vk_nic_bench *b = vk_nic_bench_alloc(m, mac, opts);
    assert_int_equal(vk_port_new(b->net, &vk_test_wire_ops, "wire", "test", 0, &b->wire, NULL),
                     VK_OK);
    b->wire->priv = &b->on_wire;
    vk_diag d;
    assert_int_equal(vk_net_connect(b->nic, b->wire, &d), VK_OK);
    return b;
}

vk_nic_bench *vk_nic_bench_on_hub(const vk_nic_model *m, const vk_mac *mac, const char *opts)
{
    vk_nic_bench *b = vk_nic_bench_alloc(m, mac, opts);
    vk_diag d;
    vk_port *hp0, *hp1;
    assert_int_equal(vk_net_add_hubport(b->net, 0, "hp0", &hp0, &d), VK_OK);
    assert_int_equal(vk_net_add_hubport(b->net, 0, "hp1", &hp1, &d), VK_OK);
    assert_int_equal(vk_net_connect(b->nic, hp0, &d), VK_OK);
    assert_int_equal(vk_port_new(b->net, &vk_test_wire_ops, "src", "test", 0, &b->src, NULL),
                     VK_OK);
    b->src->priv = &b->on_wire;
    assert_int_equal(vk_net_connect(b->src, hp1, &d), VK_OK);
    assert_int_equal(vk_net_start(b->net, &d), VK_OK);
    return b;
}

void vk_nic_bench_free(vk_nic_bench *b)
{
    vk_net_free(b->net);
    vk_loop_free(b->loop);
    vk_test_capture_free(&b->guest);
    vk_test_capture_free(&b->on_wire);
    free(b);
}

void vk_test_frame_fill(uint8_t *f, size_t len, const uint8_t dst[6], uint8_t tag)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, "\x52\x55\x0a\x00\x02\x02", 6);
    f[12] = 0x88, f[13] = 0xb5;
    for (size_t i = 14; i < len; i++)
        f[i] = (uint8_t)(tag + i);
}

void vk_nic_bench_inject(vk_nic_bench *b, const uint8_t *f, size_t len)
{
    assert_int_equal(vk_port_send_bytes(b->wire, f, len), VK_OK);
}

vk_nic_bench *vk_nic_bench_check_backpressure(const vk_nic_model *m, const vk_mac *mac,
                                              const char *opts, size_t fits,
                                              size_t per_refill, uint64_t refill_ns)
{
    vk_nic_bench *b = vk_nic_bench_on_hub(m, mac, opts);
    uint8_t f[5][80];
    for (unsigned i = 0; i < 5; i++) {
        vk_test_frame_fill(f[i], sizeof f[i], mac->b, (uint8_t)(i * 16));
        assert_int_equal(vk_port_send_bytes(b->src, f[i], sizeof f[i]), VK_OK);
    }
    assert_int_equal(b->guest.n, fits);
    assert_int_equal(vk_port_queue_len(b->nic), 5 - fits);
    assert_false(b->nic->ops->can_receive(b->nic));
    vk_loop_run(b->loop, refill_ns - 1);
    assert_int_equal(b->guest.n, fits); /* the refill is not due yet */
    vk_loop_run(b->loop, refill_ns);
    assert_int_equal(b->guest.n, fits + per_refill);
    vk_loop_run(b->loop, VK_TIME_NEVER);
    assert_int_equal(b->guest.n, 5);
    assert_int_equal(vk_port_queue_len(b->nic), 0);
    for (unsigned i = 0; i < 5; i++)
        assert_memory_equal(b->guest.data[i], f[i], sizeof f[i]);
    assert_int_equal(b->dropped.n, 0);
    return b;
}

void vk_nic_bench_check_queue_limit(const vk_nic_model *m, const vk_mac *mac, const char *opts,
                                    size_t fits)
{
    vk_nic_bench *b = vk_nic_bench_on_hub(m, mac, opts);
    vk_port_set_queue_limit(b->nic, 2);
    for (unsigned i = 0; i < 5; i++) {
        uint8_t f[80];
        vk_test_frame_fill(f, sizeof f, mac->b, (uint8_t)i);
        assert_int_equal(vk_port_send_bytes(b->src, f, sizeof f), VK_OK);
    }
    assert_int_equal(b->guest.n, fits);
    assert_int_equal(b->dropped.n, 5 - fits - 2);
    assert_string_equal(b->dropped.reason, "queue full");
    assert_int_equal(b->nic->stats.drops_queue_full, 5 - fits - 2);
    vk_loop_run(b->loop, VK_TIME_NEVER);
    assert_int_equal(b->guest.n, fits + 2);
    vk_nic_bench_free(b);
}

void vk_nic_bench_check_bad_keys(const vk_nic_model *m, const vk_mac *mac,
                                 const char *const *bad, size_t n)
{
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    vk_net *net = vk_net_new(loop);
    for (size_t i = 0; i < n; i++) {
        vk_opts o;
        vk_diag d = {{0}};
        vk_port *p;
        assert_int_equal(vk_opts_parse("-device", "driver", bad[i], &o, &d), VK_OK);
        if (m->create(net, "x", mac, &o, &p, &d) >= 0)
            fail_msg("accepted: %s", bad[i]);
        if (d.msg[0] == '\0')
            fail_msg("refused without a message: %s", bad[i]);
        vk_opts_free(&o);
    }
    vk_net_free(net);
    vk_loop_free(loop);
}

void vk_nic_bench_check_describe(const vk_nic_model *m, const vk_mac *mac, const char *want)
{
    vk_nic_bench *b = vk_nic_bench_new(m, mac, "");
    char buf[64];
    vk_port_describe(b->nic, buf, sizeof buf);
    assert_string_equal(buf, want);
    vk_nic_bench_free(b);
}

void vk_nic_bench_expect_rx(vk_nic_bench *b, const uint8_t dst[6], bool accepted,
                            const char *drop_reason)
{
    uint8_t f[80];
    vk_test_frame_fill(f, sizeof f, dst, 9);
    size_t before = b->guest.n, drops_before = b->dropped.n;
    vk_nic_bench_inject(b, f, sizeof f);
    if (accepted) {
        assert_int_equal(b->guest.n, before + 1);
        assert_int_equal(b->guest.len[before], sizeof f);
        assert_memory_equal(b->guest.data[before], f, sizeof f);
    } else {
        assert_int_equal(b->guest.n, before);
        assert_int_equal(b->dropped.n, drops_before + 1);
        assert_string_equal(b->dropped.reason, drop_reason);
    }
}

void vk_nic_bench_check_guest_groups_pass(const vk_nic_model *m, const vk_mac *mac,
                                          const char *opts)
{
    vk_nic_bench *b = vk_nic_bench_new(m, mac, opts);
    const uint8_t all_nodes[6] = {0x33, 0x33, 0, 0, 0, 1};
    const uint8_t all_hosts[6] = {0x01, 0x00, 0x5e, 0, 0, 1};
    const uint8_t solicited[6] = {0x33, 0x33, 0xff, mac->b[3], mac->b[4], mac->b[5]};
    vk_nic_bench_expect_rx(b, all_nodes, true, NULL);
    vk_nic_bench_expect_rx(b, all_hosts, true, NULL);
    vk_nic_bench_expect_rx(b, solicited, true, NULL);
    vk_nic_bench_free(b);
}

void vk_nic_bench_check_short_frame_padded(const vk_nic_model *m, const vk_mac *mac,
                                           const char *opts)
{
    vk_nic_bench *b = vk_nic_bench_new(m, mac, opts);
    uint8_t f[42];
    vk_test_frame_fill(f, sizeof f, mac->b, 4);
    vk_nic_bench_inject(b, f, sizeof f);
    assert_int_equal(b->guest.n, 1);
    assert_int_equal(b->guest.len[0], 60);
    assert_memory_equal(b->guest.data[0], f, sizeof f);
    for (size_t i = sizeof f; i < 60; i++)
        assert_int_equal(b->guest.data[0][i], 0);
    vk_nic_bench_free(b);
}

/* The guest of the loopback check: it sends back what it receives. */
static void echo_sink(void *arg, vk_port *nic, const uint8_t *data, size_t len)
{
    vk_test_capture *c = arg;
    vk_test_capture_add(c, data, len);
    if (c->n < 10)
        (void)vk_nic_guest_send(nic, data, len);
}

void vk_nic_bench_check_loopback_echo(const vk_nic_model *m, const vk_mac *mac, const char *opts,
                                      void (*loopback_on)(vk_nic_bench *b),
                                      bool (*error)(vk_port *p, const char **msg))
{
    vk_nic_bench *b = vk_nic_bench_new(m, mac, opts);
    vk_nic_set_guest_sink(b->nic, echo_sink, &b->guest);
    loopback_on(b);
    uint8_t f[100];
    vk_test_frame_fill(f, sizeof f, mac->b, 7);
    assert_int_equal(vk_nic_guest_send(b->nic, f, sizeof f), VK_OK);
    vk_loop_run(b->loop, VK_TIME_NEVER);
    assert_int_equal(b->guest.n, 10);
    for (size_t i = 0; i < b->guest.n; i++)
        assert_memory_equal(b->guest.data[i], f, sizeof f);
    assert_int_equal(b->on_wire.n, 0);
    assert_false(error(b->nic, NULL));
    vk_nic_bench_free(b);
}

vk_nic_pair *vk_nic_pair_new(const vk_nic_model *m, const vk_mac *mac_a, const char *opts_a,
                             const vk_mac *mac_b, const char *opts_b)
{
    vk_nic_pair *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    p->net = vk_net_new(p->loop);
    p->a = vk_test_nic_new(p->net, m, "a", mac_a, opts_a);
    p->b = vk_test_nic_new(p->net, m, "b", mac_b, opts_b);
    vk_nic_set_guest_sink(p->a, vk_test_sink, &p->ca);
    vk_nic_set_guest_sink(p->b, vk_test_sink, &p->cb);
    vk_diag d;
    vk_port *h0, *h1;
    assert_int_equal(vk_net_add_hubport(p->net, 0, "h0", &h0, &d), VK_OK);
    assert_int_equal(vk_net_add_hubport(p->net, 0, "h1", &h1, &d), VK_OK);
    assert_int_equal(vk_net_connect(p->a, h0, &d), VK_OK);
    assert_int_equal(vk_net_connect(p->b, h1, &d), VK_OK);
    return p;
}

void vk_nic_pair_free(vk_nic_pair *p)
{
    vk_net_free(p->net);
    vk_loop_free(p->loop);
    vk_test_capture_free(&p->ca);
    vk_test_capture_free(&p->cb);
    free(p);
}

void vk_nic_bench_check_hub_exchange(const vk_nic_model *m, const vk_mac *mac_a,
                                     const char *opts_a, const vk_mac *mac_b,
                                     const char *opts_b, unsigned rounds)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    vk_nic_pair *p = vk_nic_pair_new(m, mac_a, opts_a, mac_b, opts_b);
    uint8_t f1[1514], f2[60], f3[300];
    vk_test_frame_fill(f1, sizeof f1, mac_b->b, 1);
    memcpy(f1 + 6, mac_a->b, 6);
    vk_test_frame_fill(f2, sizeof f2, mac_a->b, 2);
    memcpy(f2 + 6, mac_b->b, 6);
    vk_test_frame_fill(f3, sizeof f3, bcast, 3);
    for (unsigned round = 0; round < rounds; round++) {
        assert_int_equal(vk_nic_guest_send(p->a, f1, sizeof f1), VK_OK);
        assert_int_equal(vk_nic_guest_send(p->b, f2, sizeof f2), VK_OK);
        assert_int_equal(vk_nic_guest_send(p->a, f3, sizeof f3), VK_OK);
    }
    assert_int_equal(p->cb.n, 2 * rounds);
    assert_int_equal(p->ca.n, rounds);
    for (size_t i = 0; i < 2 * rounds; i++) {
        const uint8_t *want = i % 2 ? f3 : f1;
        size_t wl = i % 2 ? sizeof f3 : sizeof f1;
        assert_int_equal(p->cb.len[i], wl);
        assert_memory_equal(p->cb.data[i], want, wl);
    }
    for (size_t i = 0; i < rounds; i++) {
        assert_int_equal(p->ca.len[i], sizeof f2);
        assert_memory_equal(p->ca.data[i], f2, sizeof f2);
    }
    vk_nic_pair_free(p);
}
