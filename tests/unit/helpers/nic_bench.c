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

void vk_test_capture_add(vk_test_capture *c, const uint8_t *d, size_t len)
{
    if (c->n >= VK_TEST_MAX_FRAMES)
        return;
    c->data[c->n] = malloc(len ? len : 1);
    assert_non_null(c->data[c->n]);
    memcpy(c->data[c->n], d, len);
    c->len[c->n++] = len;
}

void vk_test_capture_free(vk_test_capture *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->data[i]);
    c->n = 0;
}

void vk_test_sink(void *arg, vk_port *nic, const uint8_t *data, size_t len)
{
    (void)nic;
    vk_test_capture_add(arg, data, len);
}

static int wire_receive(vk_port *self, vk_frame *f)
{
    vk_test_capture_add(self->priv, f->data, f->len);
    return VK_OK;
}

const vk_port_ops vk_test_wire_ops = {.kind = "test-wire", .receive = wire_receive};

static void tap_drop(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f,
                     const char *reason, uint64_t ts)
{
    (void)p, (void)dir, (void)f, (void)ts;
    vk_test_drops *d = arg;
    d->n++;
    snprintf(d->reason, sizeof d->reason, "%s", reason);
}

const vk_tap_ops vk_test_drop_tap = {.drop = tap_drop};

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
