/*
 * The NIC program interpreter shared by the fuzz_nic_* targets (see
 * nic_program.h for the instruction set and the invariants).
 */
#include "fuzz/nic_program.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/frame.h"
#include "core/loop.h"
#include "core/net.h"
#include "core/options.h"
#include "fuzz/fuzz.h"
#include "nics/nic.h"
#include "wire/buf.h"

#define VK_FUZZ_NIC_TICK_NS 10000ull

typedef struct nic_run {
    const vk_fuzz_nic *n;
    vk_port *card;
    size_t frames; /* wire + guest frames during the current instruction */
    size_t wire, guest; /* totals */
} nic_run;

static void count_frame(nic_run *r, const char *where, size_t len)
{
    if (len == 0 || len > VK_FRAME_MAX)
        vk_fuzz_fail("%s: a %zu-byte frame %s", r->n->model->name, len, where);
    if (++r->frames > VK_FUZZ_NIC_BUDGET)
        vk_fuzz_fail("%s: more than %d frames from one instruction", r->n->model->name,
                     VK_FUZZ_NIC_BUDGET);
}

static int wire_receive(vk_port *self, vk_frame *f)
{
    nic_run *r = *(nic_run **)self->priv;
    r->wire++;
    count_frame(r, "on the wire", f->len);
    return VK_OK;
}

static const vk_port_ops wire_ops = {.kind = "fuzz", .receive = wire_receive};

static void guest_sink(void *arg, vk_port *nic, const uint8_t *data, size_t len)
{
    (void)nic, (void)data;
    nic_run *r = arg;
    r->guest++;
    count_frame(r, "delivered to the guest", len);
}

static void tick(void *arg, uint64_t now)
{
    (void)arg, (void)now;
}

static vk_port *make_card(const vk_fuzz_nic *n, vk_net *net, const char *keys)
{
    char text[256];
    snprintf(text, sizeof text, "%s%s%s", n->model->name, keys[0] ? "," : "", keys);
    vk_opts o;
    vk_diag d = {{0}};
    if (vk_opts_parse("-device", "driver", text, &o, &d) != VK_OK)
        vk_fuzz_fail("configuration %s: %s", text, d.msg);
    static const vk_mac mac = {{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
    vk_port *p = NULL;
    if (n->model->create(net, "nic0", &mac, &o, &p, &d) != VK_OK)
        vk_fuzz_fail("configuration %s: %s", text, d.msg);
    vk_opts_free(&o);
    return p;
}

static unsigned access_size(uint8_t s)
{
    static const unsigned sizes[4] = {1, 2, 4, 4};
    return sizes[s & 3];
}

int vk_fuzz_nic_run(const vk_fuzz_nic *n, const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t nconfigs = 0;
    while (n->configs[nconfigs] != NULL)
        nconfigs++;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    vk_net *net = vk_net_new(loop);
    vk_timer *t = vk_timer_new(loop, tick, NULL);
    vk_fuzz_check(loop && net && t, "out of memory");
    nic_run run = {.n = n};
    run.card = make_card(n, net, n->configs[data[0] % nconfigs]);
    vk_nic_set_guest_sink(run.card, guest_sink, &run);
    vk_port *wire = NULL;
    vk_diag d = {{0}};
    if (vk_port_new(net, &wire_ops, "wire", "fuzz", sizeof(nic_run *), &wire, &d) != VK_OK ||
        vk_net_connect(run.card, wire, &d) != VK_OK || vk_net_start(net, &d) != VK_OK)
        vk_fuzz_fail("bench: %s", d.msg);
    *(nic_run **)wire->priv = &run;

    vk_gmem *mem = n->gmem ? n->gmem(run.card) : NULL;
    const uint8_t *mem_bytes = mem ? mem->bytes : NULL;
    const uint64_t mem_size = mem ? mem->size : 0;
    uint64_t now = 0;
    vk_rd r;
    vk_rd_init(&r, data + 1, size - 1);
    while (vk_rd_left(&r) > 0) {
        run.frames = 0;
        uint8_t op = vk_rd_u8(&r) % 8;
        if (op == 0) {
            uint32_t off = vk_rd_u16be(&r), v = vk_rd_u32be(&r);
            unsigned sz = access_size(vk_rd_u8(&r));
            if (!vk_rd_ok(&r))
                break;
            n->write(run.card, off, v, sz);
        } else if (op == 1) {
            uint32_t off = vk_rd_u16be(&r);
            unsigned sz = access_size(vk_rd_u8(&r));
            if (!vk_rd_ok(&r))
                break;
            (void)n->read(run.card, off, sz);
        } else if (op == 2 || op == 3 || op == 4) {
            uint32_t addr = op == 2 ? vk_rd_u32be(&r) : 0;
            size_t len = vk_rd_u16be(&r);
            if (len > vk_rd_left(&r))
                len = vk_rd_left(&r);
            const uint8_t *bytes = vk_rd_take(&r, len);
            if (bytes == NULL)
                break; /* the program ended inside its operands */
            if (op == 2 && mem != NULL && mem->size > 0) {
                uint64_t a = addr % mem->size;
                if (len > mem->size - a)
                    len = (size_t)(mem->size - a);
                vk_fuzz_check(vk_gmem_write(mem, a, bytes, len) == VK_OK,
                              "guest memory write inside its bounds refused");
            } else if (op == 3) {
                vk_port_send_bytes(wire, bytes, len);
            } else if (op == 4) {
                (void)vk_nic_guest_send(run.card, bytes, len);
            }
        } else if (op == 5) {
            now += vk_rd_u8(&r) * VK_FUZZ_NIC_TICK_NS;
            vk_timer_arm(t, now);
            vk_loop_run(loop, now);
        } else if (op == 6) {
            n->poll(run.card);
        } else if (n->extra != NULL) {
            n->extra(run.card, vk_rd_u8(&r));
        }
        if (mem != NULL)
            vk_fuzz_check(mem->bytes == mem_bytes && mem->size == mem_size,
                          "guest memory moved or changed size");
    }
    if (vk_fuzz_verbose())
        fprintf(stderr, "%s: %zu frames on the wire, %zu delivered to the guest\n",
                n->model->name, run.wire, run.guest);
    vk_timer_free(t);
    vk_net_free(net);
    vk_loop_free(loop);
    return 0;
}
