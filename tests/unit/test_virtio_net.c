/* virtio-net: feature negotiation, the round trip through a vk_net, RX
 * filter via the control queue, MRG_RXBUF, backpressure, event idx, ring
 * wrap-around, TX checksum/TSO against libnet references, and hostile
 * guests (loops, bad addresses, bad headers) that must end in NEEDS_RESET
 * or a counted drop, never a crash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libnet.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/libnet_frames.h"
#include "helpers/nic_bench.h"
#include "core/error.h"
#include "core/loop.h"
#include "core/net.h"
#include "core/options.h"
#include "nics/virtio_net.h"
#include "nics/virtqueue.h"

/* ---- harness: a net with the card and a recording peer ---- */

#define MAX_REC 64

typedef struct rec {
    size_t n;
    size_t len[MAX_REC];
    uint8_t *data[MAX_REC];
} rec;

static void rec_add(rec *r, const uint8_t *data, size_t len)
{
    if (r->n < MAX_REC) {
        r->data[r->n] = malloc(len);
        memcpy(r->data[r->n], data, len);
        r->len[r->n] = len;
    }
    r->n++;
}

static void rec_clear(rec *r)
{
    for (size_t i = 0; i < r->n && i < MAX_REC; i++)
        free(r->data[i]);
    r->n = 0;
}

static int peer_receive(vk_port *self, vk_frame *f)
{
    rec_add(self->priv, f->data, f->len);
    return VK_OK;
}

static const vk_port_ops peer_ops = {.kind = "test", .receive = peer_receive};

static void sink(void *arg, vk_port *nic, const uint8_t *data, size_t len)
{
    (void)nic;
    rec_add(arg, data, len);
}

typedef struct bench {
    vk_loop *loop;
    vk_net *net;
    vk_port *nic, *peer;
    rec guest;
} bench;

static const vk_mac nic_mac = {{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};

static bench *bench_new(const char *device)
{
    bench *b = calloc(1, sizeof *b);
    vk_diag d = {{0}};
    vk_opts o;
    b->loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    b->net = vk_net_new(b->loop);
    assert_int_equal(vk_opts_parse("-device", "driver", device, &o, &d), VK_OK);
    int r = vk_virtio_net_pci_model.create(b->net, "nic0", &nic_mac, &o, &b->nic, &d);
    if (r != VK_OK)
        fail_msg("%s", d.msg);
    vk_opts_mark_used(&o, "driver"); /* the topology reads it */
    assert_int_equal(vk_opts_check_unused(&o, &d), VK_OK);
    vk_opts_free(&o);
    assert_int_equal(vk_port_new(b->net, &peer_ops, "peer", "test", sizeof(rec), &b->peer,
                                 NULL), VK_OK);
    assert_int_equal(vk_net_connect(b->nic, b->peer, &d), VK_OK);
    vk_nic_set_guest_sink(b->nic, sink, &b->guest);
    return b;
}

static void bench_free(bench *b)
{
    rec_clear(&b->guest);
    rec_clear(b->peer->priv);
    vk_net_free(b->net);
    vk_loop_free(b->loop);
    free(b);
}

static rec *peer_rec(bench *b)
{
    return b->peer->priv;
}

/* A frame to dst with a recognisable payload. */
static size_t make_frame(uint8_t *buf, size_t len, const uint8_t *dst, uint8_t tag)
{
    static const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x99};
    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    buf[12] = 0x88;
    buf[13] = 0xb5; /* local experimental ethertype */
    for (size_t i = 14; i < len; i++)
        buf[i] = (uint8_t)(tag + i);
    return len;
}

static void peer_send(bench *b, const uint8_t *dst, size_t len, uint8_t tag)
{
    uint8_t *buf = malloc(len);
    make_frame(buf, len, dst, tag);
    assert_int_equal(vk_port_send_bytes(b->peer, buf, len), VK_OK);
    free(buf);
}

static uint8_t status_of(vk_port *nic)
{
    return (uint8_t)vk_virtio_net_reg_read(nic, VK_VIRTIO_DEVICE_STATUS);
}

/* ---- negotiation and basics ---- */

static void test_probe_reaches_driver_ok_and_describes_itself(void **state)
{
    (void)state;
    bench *b = bench_new("virtio-net-pci");
    uint8_t s = status_of(b->nic);
    assert_true(s & VK_VIRTIO_S_DRIVER_OK);
    assert_true(s & VK_VIRTIO_S_FEATURES_OK);
    assert_false(s & VK_VIRTIO_S_NEEDS_RESET);
    char buf[128];
    vk_port_describe(b->nic, buf, sizeof buf);
    assert_string_equal(buf, "virtio-net-pci mac=52:54:00:12:34:56");
    uint8_t cfg[8];
    assert_int_equal(vk_virtio_net_config_read(b->nic, 0, cfg, 8), VK_OK);
    assert_memory_equal(cfg, nic_mac.b, 6);
    assert_int_equal(cfg[6], 1); /* link up */
    bench_free(b);
}

static void negotiate_raw(vk_port *nic, uint64_t features)
{
    vk_virtio_net_reg_write(nic, VK_VIRTIO_DEVICE_STATUS, 0);
    vk_virtio_net_reg_write(nic, VK_VIRTIO_DEVICE_STATUS,
                            VK_VIRTIO_S_ACKNOWLEDGE | VK_VIRTIO_S_DRIVER);
    for (unsigned w = 0; w < 2; w++) {
        vk_virtio_net_reg_write(nic, VK_VIRTIO_DRIVER_FEATURE_SELECT, w);
        vk_virtio_net_reg_write(nic, VK_VIRTIO_DRIVER_FEATURE, (uint32_t)(features >> (32 * w)));
    }
    vk_virtio_net_reg_write(nic, VK_VIRTIO_DEVICE_STATUS,
                            VK_VIRTIO_S_ACKNOWLEDGE | VK_VIRTIO_S_DRIVER |
                                VK_VIRTIO_S_FEATURES_OK);
}

static void test_features_ok_refused_for_feature_not_offered(void **state)
{
    (void)state;
    bench *b = bench_new("virtio-net-pci");
    uint64_t v1 = vk_virtio_bit(VK_VIRTIO_F_VERSION_1);
    /* CTRL_VLAN is not offered */
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_DEVICE_FEATURE_SELECT, 0);
    assert_false(vk_virtio_net_reg_read(b->nic, VK_VIRTIO_DEVICE_FEATURE) &
                 vk_virtio_bit(VK_VIRTIO_NET_F_CTRL_VLAN));
    negotiate_raw(b->nic, v1 | vk_virtio_bit(VK_VIRTIO_NET_F_CTRL_VQ) |
                              vk_virtio_bit(VK_VIRTIO_NET_F_CTRL_VLAN));
    assert_false(status_of(b->nic) & VK_VIRTIO_S_FEATURES_OK);
    /* legacy driver (no VERSION_1) */
    negotiate_raw(b->nic, vk_virtio_bit(VK_VIRTIO_NET_F_MAC));
    assert_false(status_of(b->nic) & VK_VIRTIO_S_FEATURES_OK);
    /* broken dependency: HOST_TSO4 needs CSUM */
    negotiate_raw(b->nic, v1 | vk_virtio_bit(VK_VIRTIO_NET_F_HOST_TSO4));
    assert_false(status_of(b->nic) & VK_VIRTIO_S_FEATURES_OK);
    /* a proper subset is accepted */
    negotiate_raw(b->nic, v1 | vk_virtio_bit(VK_VIRTIO_NET_F_CSUM) |
                              vk_virtio_bit(VK_VIRTIO_NET_F_HOST_TSO4));
    assert_true(status_of(b->nic) & VK_VIRTIO_S_FEATURES_OK);
    /* and the driver can come back */
    assert_int_equal(vk_virtio_net_driver_probe(b->nic), VK_OK);
    assert_true(status_of(b->nic) & VK_VIRTIO_S_DRIVER_OK);
    bench_free(b);
}

static void test_bad_model_keys_are_reported(void **state)
{
    (void)state;
    const char *const bad[] = {"virtio-net-pci,rx-queue-size=100",
                               "virtio-net-pci,guest-offload=all",
                               "virtio-net-pci,rx-queue-size=16,rx-buffers=17",
                               "virtio-net-pci,mrg-rxbuf=maybe"};
    vk_nic_bench_check_bad_keys(&vk_virtio_net_model, &nic_mac, bad, sizeof bad / sizeof bad[0]);
}

static void test_round_trip_through_net(void **state)
{
    (void)state;
    bench *b = bench_new("virtio-net,mrg-rxbuf=off");
    uint8_t f[100];
    make_frame(f, sizeof f, (const uint8_t[]){0x02, 0, 0, 0, 0, 1}, 7);
    assert_int_equal(vk_nic_guest_send(b->nic, f, sizeof f), VK_OK);
    assert_int_equal(peer_rec(b)->n, 1);
    assert_int_equal(peer_rec(b)->len[0], sizeof f);
    assert_memory_equal(peer_rec(b)->data[0], f, sizeof f);

    peer_send(b, nic_mac.b, 300, 3);
    assert_int_equal(b->guest.n, 1);
    assert_int_equal(b->guest.len[0], 300);
    uint8_t want[300];
    make_frame(want, 300, nic_mac.b, 3);
    assert_memory_equal(b->guest.data[0], want, 300);
    assert_int_equal(vk_virtio_net_get_stats(b->nic)->rx_frames, 1);
    bench_free(b);
}

/* ---- RX filter ---- */

static uint8_t ctrl(bench *b, uint8_t cls, uint8_t cmd, const void *data, size_t len)
{
    uint8_t ack = 0xee;
    assert_int_equal(vk_virtio_net_driver_ctrl(b->nic, cls, cmd, data, len, &ack), VK_OK);
    return ack;
}

static uint8_t set_rx(bench *b, uint8_t cmd, uint8_t on)
{
    return ctrl(b, VK_VNET_CTRL_RX, cmd, &on, 1);
}

/* Sends one frame to dst; true when the guest got it. */
static bool passes(bench *b, const uint8_t *dst)
{
    size_t before = b->guest.n;
    peer_send(b, dst, 64, 1);
    return b->guest.n == before + 1;
}

static void test_rx_filter_rules_via_control_queue(void **state)
{
    (void)state;
    bench *b = bench_new("virtio-net-pci");
    const uint8_t other[6] = {0x02, 0, 0, 0, 0, 0x42};
    const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const uint8_t mdns[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
    const uint8_t mcast2[6] = {0x33, 0x33, 0, 0, 0, 1};
    /* QEMU's reset state is promiscuous */
    assert_true(passes(b, other));
    assert_int_equal(set_rx(b, VK_VNET_CTRL_RX_PROMISC, 0), VK_VNET_OK);
    assert_false(passes(b, other));
    assert_true(passes(b, nic_mac.b));
    assert_true(passes(b, bcast));
    assert_false(passes(b, mdns));
    assert_int_equal(vk_virtio_net_get_stats(b->nic)->rx_filtered, 2);

    /* MAC table: one unicast, one multicast */
    uint8_t tbl[4 + 6 + 4 + 6] = {1, 0, 0, 0};
    memcpy(tbl + 4, other, 6);
    tbl[10] = 1;
    memcpy(tbl + 14, mdns, 6);
    assert_int_equal(ctrl(b, VK_VNET_CTRL_MAC, VK_VNET_CTRL_MAC_TABLE_SET, tbl, sizeof tbl),
                     VK_VNET_OK);
    assert_true(passes(b, other));
    assert_true(passes(b, mdns));
    assert_false(passes(b, mcast2));
    assert_int_equal(set_rx(b, VK_VNET_CTRL_RX_ALLMULTI, 1), VK_VNET_OK);
    assert_true(passes(b, mcast2));
    assert_int_equal(set_rx(b, VK_VNET_CTRL_RX_NOMULTI, 1), VK_VNET_OK);
    assert_false(passes(b, mdns));
    assert_int_equal(set_rx(b, VK_VNET_CTRL_RX_NOBCAST, 1), VK_VNET_OK);
    assert_false(passes(b, bcast));
    assert_int_equal(set_rx(b, VK_VNET_CTRL_RX_NOUNI, 1), VK_VNET_OK);
    assert_false(passes(b, nic_mac.b));
    assert_int_equal(set_rx(b, VK_VNET_CTRL_RX_NOUNI, 0), VK_VNET_OK);

    /* MAC_ADDR_SET moves "own" */
    const uint8_t newmac[6] = {0x52, 0x54, 0, 0xaa, 0xbb, 0xcc};
    assert_int_equal(ctrl(b, VK_VNET_CTRL_MAC, VK_VNET_CTRL_MAC_ADDR_SET, newmac, 6), VK_VNET_OK);
    assert_true(passes(b, newmac));
    assert_false(passes(b, nic_mac.b));

    /* malformed commands get VIRTIO_NET_ERR and change nothing */
    uint8_t two[2] = {1, 1};
    assert_int_equal(ctrl(b, VK_VNET_CTRL_RX, VK_VNET_CTRL_RX_PROMISC, two, 2), VK_VNET_ERR);
    assert_int_equal(ctrl(b, VK_VNET_CTRL_RX, 9, two, 1), VK_VNET_ERR);
    assert_int_equal(ctrl(b, VK_VNET_CTRL_MAC, VK_VNET_CTRL_MAC_TABLE_SET, tbl, sizeof tbl - 1),
                     VK_VNET_ERR);
    uint8_t huge[8] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(ctrl(b, VK_VNET_CTRL_MAC, VK_VNET_CTRL_MAC_TABLE_SET, huge, 8), VK_VNET_ERR);
    assert_int_equal(ctrl(b, 77, 0, NULL, 0), VK_VNET_ERR);
    assert_false(passes(b, (const uint8_t[]){2, 0, 0, 0, 0, 0x43}));
    assert_null(vk_virtio_net_error(b->nic));
    bench_free(b);
}

static void test_mac_table_overflow_accepts_all_of_that_kind(void **state)
{
    (void)state;
    bench *b = bench_new("virtio-net-pci");
    assert_int_equal(set_rx(b, VK_VNET_CTRL_RX_PROMISC, 0), VK_VNET_OK);
    size_t n = VK_VNET_MAC_TABLE_ENTRIES + 1;
    size_t len = 4 + n * 6 + 4;
    uint8_t *tbl = calloc(1, len);
    tbl[0] = (uint8_t)n;
    for (size_t i = 0; i < n; i++)
        tbl[4 + i * 6] = 0x02, tbl[4 + i * 6 + 5] = (uint8_t)i;
    assert_int_equal(ctrl(b, VK_VNET_CTRL_MAC, VK_VNET_CTRL_MAC_TABLE_SET, tbl, len), VK_VNET_OK);
    assert_true(passes(b, (const uint8_t[]){0x02, 9, 9, 9, 9, 9}));
    assert_false(passes(b, (const uint8_t[]){0x01, 9, 9, 9, 9, 9}));
    free(tbl);
    bench_free(b);
}

/* ---- RX buffers ---- */

/* Reads the device-side view of the RX queue: used idx and entries. */
static uint16_t rx_used(bench *b, uint16_t i, uint32_t *id, uint32_t *len)
{
    vk_gmem *m = vk_virtio_net_gmem(b->nic);
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_QUEUE_SELECT, VK_VNET_RXQ);
    uint64_t used = vk_virtio_net_reg_read(b->nic, VK_VIRTIO_QUEUE_DEVICE);
    uint16_t size = (uint16_t)vk_virtio_net_reg_read(b->nic, VK_VIRTIO_QUEUE_SIZE);
    uint16_t idx;
    assert_int_equal(vk_gmem_read_le16(m, used + 2, &idx), VK_OK);
    if (id != NULL) {
        assert_int_equal(vk_gmem_read_le32(m, used + 4 + 8ull * (i % size), id), VK_OK);
        assert_int_equal(vk_gmem_read_le32(m, used + 8 + 8ull * (i % size), len), VK_OK);
    }
    return idx;
}

static uint64_t rx_desc_addr(bench *b, uint32_t id)
{
    vk_gmem *m = vk_virtio_net_gmem(b->nic);
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_QUEUE_SELECT, VK_VNET_RXQ);
    uint64_t desc = vk_virtio_net_reg_read(b->nic, VK_VIRTIO_QUEUE_DESC), a;
    assert_int_equal(vk_gmem_read_le64(m, desc + 16ull * id, &a), VK_OK);
    return a;
}

static void test_mrg_rxbuf_spreads_large_frame_with_num_buffers(void **state)
{
    (void)state;
    /* the refill delay keeps the used entries for us to inspect */
    bench *b = bench_new("virtio-net-pci,rx-buffers=8,rx-refill-delay=1000");
    peer_send(b, nic_mac.b, 4000, 5);
    assert_int_equal(b->guest.n, 0);
    uint32_t id, len, total = 0;
    assert_int_equal(rx_used(b, 0, NULL, NULL), 3);
    for (uint16_t i = 0; i < 3; i++) {
        rx_used(b, i, &id, &len);
        total += len;
    }
    assert_int_equal(total, 4000 + VK_VNET_HDR_LEN);
    rx_used(b, 0, &id, &len);
    uint8_t hdr[VK_VNET_HDR_LEN];
    assert_int_equal(vk_gmem_read(vk_virtio_net_gmem(b->nic), rx_desc_addr(b, id), hdr, sizeof hdr),
                     VK_OK);
    vk_vnet_hdr h;
    vk_vnet_hdr_parse(hdr, &h);
    assert_int_equal(h.num_buffers, 3);
    assert_int_equal(h.flags, 0);
    assert_int_equal(h.gso_type, VK_VNET_HDR_GSO_NONE);
    assert_int_equal(vk_loop_run(b->loop, VK_TIME_NEVER), VK_OK);
    assert_int_equal(b->guest.n, 1);
    assert_int_equal(b->guest.len[0], 4000);
    uint8_t *want = malloc(4000);
    make_frame(want, 4000, nic_mac.b, 5);
    assert_memory_equal(b->guest.data[0], want, 4000);
    free(want);
    bench_free(b);
}

static void test_frame_larger_than_buffer_is_dropped_without_mrg_rxbuf(void **state)
{
    (void)state;
    bench *b = bench_new("virtio-net-pci,mrg-rxbuf=off,rx-buffers=4");
    peer_send(b, nic_mac.b, 3000, 1);
    assert_int_equal(b->guest.n, 0);
    assert_int_equal(vk_virtio_net_get_stats(b->nic)->rx_too_big, 1);
    peer_send(b, nic_mac.b, 1514, 1);
    assert_int_equal(b->guest.n, 1);
    bench_free(b);
}

static void test_rx_without_buffers_waits_in_core_queue_until_kick(void **state)
{
    (void)state;
    bench *b = bench_new("virtio-net-pci,rx-buffers=2,rx-refill-delay=1000000");
    for (uint8_t i = 0; i < 5; i++)
        peer_send(b, nic_mac.b, 80, i);
    assert_int_equal(b->guest.n, 0);
    assert_int_equal(vk_port_queue_len(b->nic), 3);
    assert_false(b->nic->ops->can_receive(b->nic));
    assert_int_equal(vk_loop_run(b->loop, VK_TIME_NEVER), VK_OK);
    assert_int_equal(b->guest.n, 5);
    assert_int_equal(vk_port_queue_len(b->nic), 0);
    for (uint8_t i = 0; i < 5; i++)
        assert_int_equal(b->guest.data[i][14], (uint8_t)(i + 14)); /* order kept */
    bench_free(b);
}

static void test_rx_drops_when_port_queue_limit_is_reached(void **state)
{
    (void)state;
    bench *b = bench_new("virtio-net-pci,rx-buffers=1,rx-refill-delay=1000");
    vk_port_set_queue_limit(b->nic, 2);
    for (uint8_t i = 0; i < 5; i++)
        peer_send(b, nic_mac.b, 80, i);
    assert_int_equal(b->nic->stats.drops_queue_full, 2);
    assert_int_equal(vk_loop_run(b->loop, VK_TIME_NEVER), VK_OK);
    assert_int_equal(b->guest.n, 3);
    bench_free(b);
}

static void test_large_frame_waits_in_card_for_enough_mergeable_buffers(void **state)
{
    (void)state;
    /* 2 x 1536 cannot hold 4000 bytes: the frame waits, then goes whole */
    bench *b = bench_new("virtio-net-pci,rx-queue-size=4,rx-buffers=2,rx-refill-delay=1000");
    peer_send(b, nic_mac.b, 100, 1);
    peer_send(b, nic_mac.b, 4000, 2);
    peer_send(b, nic_mac.b, 100, 3);
    assert_int_equal(vk_virtio_net_get_stats(b->nic)->rx_held, 1);
    assert_int_equal(vk_loop_run(b->loop, VK_TIME_NEVER), VK_OK);
    /* it never fits in two buffers: still held, order kept behind it */
    assert_int_equal(b->guest.n, 1);
    assert_int_equal(vk_port_queue_len(b->nic), 1);
    bench_free(b);

    b = bench_new("virtio-net-pci,rx-queue-size=4,rx-buffers=4,rx-refill-delay=1000");
    peer_send(b, nic_mac.b, 1000, 1);
    peer_send(b, nic_mac.b, 4000, 2); /* 3 buffers needed, 3 left: fits */
    peer_send(b, nic_mac.b, 100, 3);  /* none left: core queue */
    assert_int_equal(vk_loop_run(b->loop, VK_TIME_NEVER), VK_OK);
    assert_int_equal(b->guest.n, 3);
    assert_int_equal(b->guest.len[1], 4000);
    assert_int_equal(b->guest.data[2][14], (uint8_t)(3 + 14));
    bench_free(b);
}

/* ---- notification suppression ---- */

static void test_event_idx_suppresses_interrupts_until_driver_catches_up(void **state)
{
    (void)state;
    bench *b = bench_new("virtio-net-pci,rx-buffers=8,rx-refill-delay=1000");
    for (uint8_t i = 0; i < 3; i++)
        peer_send(b, nic_mac.b, 80, i);
    /* used_event stays at 0 until the driver reaps: one interrupt */
    assert_int_equal(vk_virtio_net_get_stats(b->nic)->interrupts, 1);
    assert_int_equal(vk_loop_run(b->loop, VK_TIME_NEVER), VK_OK);
    peer_send(b, nic_mac.b, 80, 9);
    assert_int_equal(vk_virtio_net_get_stats(b->nic)->interrupts, 2);
    bench_free(b);

    b = bench_new("virtio-net-pci,rx-buffers=8,rx-refill-delay=1000,event-idx=off");
    for (uint8_t i = 0; i < 3; i++)
        peer_send(b, nic_mac.b, 80, i);
    assert_int_equal(vk_virtio_net_get_stats(b->nic)->interrupts, 3);
    bench_free(b);
}

static void test_event_idx_driver_skips_kicks_device_does_not_need(void **state)
{
    (void)state;
    bench *b = bench_new("virtio-net-pci,rx-buffers=8");
    uint64_t k0 = vk_virtio_net_get_stats(b->nic)->kicks;
    /* buffers remain posted, so re-posting needs no kick */
    for (uint8_t i = 0; i < 4; i++)
        peer_send(b, nic_mac.b, 80, i);
    assert_int_equal(b->guest.n, 4);
    assert_int_equal(vk_virtio_net_get_stats(b->nic)->kicks, k0);
    /* each TX is a kick: the device has consumed everything each time */
    uint8_t f[60];
    make_frame(f, sizeof f, nic_mac.b, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(vk_nic_guest_send(b->nic, f, sizeof f), VK_OK);
    assert_int_equal(vk_virtio_net_get_stats(b->nic)->kicks, k0 + 3);
    bench_free(b);
}

/* ---- wrap-around ---- */

static void test_ring_indices_wrap_at_65536(void **state)
{
    (void)state;
    bench *b = bench_new("virtio-net-pci,rx-queue-size=4,tx-queue-size=4");
    uint8_t f[60];
    const uint32_t n = 65536 + 37;
    make_frame(f, sizeof f, (const uint8_t[]){0x02, 0, 0, 0, 0, 1}, 0);
    for (uint32_t i = 0; i < n; i++) {
        f[20] = (uint8_t)i;
        assert_int_equal(vk_nic_guest_send(b->nic, f, sizeof f), VK_OK);
    }
    assert_int_equal(peer_rec(b)->n, n);
    assert_int_equal(b->nic->stats.tx_frames, n);
    for (uint32_t i = 0; i < n; i++)
        peer_send(b, nic_mac.b, 60, (uint8_t)i);
    assert_int_equal(b->guest.n, n);
    assert_int_equal(rx_used(b, 0, NULL, NULL), (uint16_t)n);
    assert_null(vk_virtio_net_error(b->nic));
    bench_free(b);
}

/* ---- TX offloads against libnet ---- */

/* The guest's frames: to the test peer from the card's MAC. */
static uint8_t *tcp4_frame(uint32_t seq, uint8_t flags, uint16_t ipid, const uint8_t *pl,
                           size_t plen, size_t *len)
{
    static const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 1};
    return vk_test_libnet_tcp4(dst, nic_mac.b, seq, flags, ipid, pl, plen, len);
}

static uint8_t *udp4_frame(const uint8_t *pl, size_t plen, size_t *len)
{
    static const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 1};
    return vk_test_libnet_udp4(dst, nic_mac.b, pl, plen, len);
}

static void test_tx_needs_csum_is_completed_by_the_card(void **state)
{
    (void)state;
    bench *b = bench_new("virtio-net-pci,guest-offload=csum");
    uint8_t pl[333];
    for (size_t i = 0; i < sizeof pl; i++)
        pl[i] = (uint8_t)(i * 7);
    size_t n;
    uint8_t *ref = tcp4_frame(1000, TH_ACK | TH_PUSH, 5, pl, sizeof pl, &n);
    assert_int_equal(vk_nic_guest_send(b->nic, ref, n), VK_OK);
    uint8_t *ref2 = udp4_frame(pl, 101, &n);
    assert_int_equal(vk_nic_guest_send(b->nic, ref2, n), VK_OK);
    rec *r = peer_rec(b);
    assert_int_equal(r->n, 2);
    assert_memory_equal(r->data[0], ref, r->len[0]);
    assert_memory_equal(r->data[1], ref2, n);

    /* the raw header path: a seed the card must finish (garbage in the
     * field stands for the seed; the result must match the reference) */
    size_t tn;
    uint8_t *t = tcp4_frame(1000, TH_ACK | TH_PUSH, 5, pl, sizeof pl, &tn);
    vk_vnet_hdr h = {.flags = VK_VNET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16};
    uint8_t seedbuf[64];
    memcpy(seedbuf, t + 26, 8); /* addresses */
    /* pseudo sum: src, dst, proto, length */
    uint32_t sum = 0;
    for (int i = 0; i < 8; i += 2)
        sum += (uint32_t)(seedbuf[i] << 8 | seedbuf[i + 1]);
    sum += 6 + (uint32_t)(tn - 34);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    t[50] = (uint8_t)(sum >> 8);
    t[51] = (uint8_t)sum;
    assert_int_equal(vk_virtio_net_driver_xmit(b->nic, &h, t, tn), VK_OK);
    assert_int_equal(r->n, 3);
    assert_memory_equal(r->data[2], ref, tn);
    free(t);
    free(ref);
    free(ref2);
    bench_free(b);
}

static void test_tx_tso_segments_match_libnet_references(void **state)
{
    (void)state;
    bench *b = bench_new("virtio-net-pci,guest-offload=tso");
    size_t plen = 3000, n;
    uint8_t *pl = malloc(plen);
    for (size_t i = 0; i < plen; i++)
        pl[i] = (uint8_t)(i ^ (i >> 8));
    uint8_t *big = tcp4_frame(5000, TH_ACK | TH_PUSH, 100, pl, plen, &n);
    assert_int_equal(vk_nic_guest_send(b->nic, big, n), VK_OK);
    rec *r = peer_rec(b);
    assert_int_equal(r->n, 3);
    const size_t mss = 1460;
    for (size_t i = 0; i < 3; i++) {
        size_t off = i * mss, len = plen - off < mss ? plen - off : mss, sn;
        uint8_t flags = i == 2 ? TH_ACK | TH_PUSH : TH_ACK;
        uint8_t *seg = tcp4_frame(5000 + (uint32_t)off, flags, (uint16_t)(100 + i), pl + off, len, &sn);
        assert_int_equal(r->len[i], sn);
        assert_memory_equal(r->data[i], seg, sn);
        free(seg);
    }
    assert_int_equal(vk_virtio_net_get_stats(b->nic)->tx_segments, 3);
    free(big);
    free(pl);
    bench_free(b);
}

static void test_tx_bad_headers_are_dropped_and_counted(void **state)
{
    (void)state;
    bench *b = bench_new("virtio-net-pci,guest-offload=tso");
    uint8_t pl[3000] = {0};
    size_t n;
    uint8_t *f = tcp4_frame(1, TH_ACK, 1, pl, sizeof pl, &n);
    vk_vnet_hdr gso0 = {.flags = 1, .gso_type = VK_VNET_HDR_GSO_TCPV4, .hdr_len = 54,
                        .gso_size = 0, .csum_start = 34, .csum_offset = 16};
    vk_vnet_hdr hdrlen = gso0;
    hdrlen.gso_size = 1460;
    hdrlen.hdr_len = (uint16_t)(n + 1);
    vk_vnet_hdr csum = {.flags = 1, .csum_start = 34, .csum_offset = (uint16_t)(n - 34 - 1)};
    vk_vnet_hdr udp_gso = gso0;
    udp_gso.gso_type = 3;
    udp_gso.gso_size = 1000;
    const vk_vnet_hdr *bad[] = {&gso0, &hdrlen, &csum, &udp_gso};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(vk_virtio_net_driver_xmit(b->nic, bad[i], f, n), VK_OK);
    assert_int_equal(peer_rec(b)->n, 0);
    assert_int_equal(vk_virtio_net_get_stats(b->nic)->tx_bad_hdr, 4);
    assert_int_equal(b->nic->stats.drops_other, 4);
    assert_null(vk_virtio_net_error(b->nic));
    /* the card still works */
    vk_vnet_hdr none = {0};
    assert_int_equal(vk_virtio_net_driver_xmit(b->nic, &none, f, n), VK_OK);
    assert_int_equal(peer_rec(b)->n, 1);
    free(f);
    bench_free(b);

    /* GSO without HOST_TSO4 negotiated is refused too */
    b = bench_new("virtio-net-pci,guest-offload=csum");
    f = tcp4_frame(1, TH_ACK, 1, pl, sizeof pl, &n);
    hdrlen.hdr_len = 54;
    assert_int_equal(vk_virtio_net_driver_xmit(b->nic, &hdrlen, f, n), VK_OK);
    assert_int_equal(peer_rec(b)->n, 0);
    assert_int_equal(vk_virtio_net_get_stats(b->nic)->tx_bad_hdr, 1);
    free(f);
    bench_free(b);
}

/* ---- hostile guests: a hand-built TX queue ---- */

typedef struct raw_q {
    uint16_t size;
    uint64_t desc, avail, used, buf;
    uint16_t idx;
} raw_q;

/* Resets the card and enables only TX (size qsize) with our own rings. */
static int hostile_setup(bench *b, raw_q *q, uint16_t qsize)
{
    vk_gmem *m = vk_virtio_net_gmem(b->nic);
    negotiate_raw(b->nic, vk_virtio_bit(VK_VIRTIO_F_VERSION_1));
    assert_true(status_of(b->nic) & VK_VIRTIO_S_FEATURES_OK);
    q->size = qsize;
    q->idx = 0;
    if (q->desc == 0) {
        q->desc = vk_gmem_alloc(m, 16 * 64, 4096);
        q->avail = vk_gmem_alloc(m, 6 + 2 * 64, 4096);
        q->used = vk_gmem_alloc(m, 6 + 8 * 64, 4096);
        q->buf = vk_gmem_alloc(m, 4096, 4096);
        assert_true(q->desc && q->avail && q->used && q->buf);
    }
    uint8_t zero[4096] = {0};
    vk_gmem_write(m, q->avail, zero, 6 + 2 * 64);
    vk_gmem_write(m, q->used, zero, 6 + 8 * 64);
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_QUEUE_SELECT, VK_VNET_TXQ);
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_QUEUE_SIZE, qsize);
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_QUEUE_DESC, q->desc);
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_QUEUE_DRIVER, q->avail);
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_QUEUE_DEVICE, q->used);
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_QUEUE_ENABLE, 1);
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_DEVICE_STATUS,
                            status_of(b->nic) | VK_VIRTIO_S_DRIVER_OK);
    return vk_virtio_net_error(b->nic) == NULL ? VK_OK : VK_EINVAL;
}

static void put_desc(bench *b, raw_q *q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    vk_gmem *m = vk_virtio_net_gmem(b->nic);
    uint64_t a = q->desc + 16ull * i;
    vk_gmem_write_le64(m, a, addr);
    vk_gmem_write_le32(m, a + 8, len);
    vk_gmem_write_le16(m, a + 12, flags);
    vk_gmem_write_le16(m, a + 14, next);
}

static void offer(bench *b, raw_q *q, uint16_t head)
{
    vk_gmem *m = vk_virtio_net_gmem(b->nic);
    vk_gmem_write_le16(m, q->avail + 4 + 2ull * (q->idx % q->size), head);
    q->idx++;
    vk_gmem_write_le16(m, q->avail + 2, q->idx);
    vk_virtio_net_notify(b->nic, VK_VNET_TXQ);
}

/* The card must be in NEEDS_RESET with a message, and a fresh probe must
 * bring it back to a working state. */
static void expect_needs_reset_then_recover(bench *b, const char *what)
{
    const char *err = vk_virtio_net_error(b->nic);
    if (err == NULL)
        fail_msg("no device error for %s", what);
    assert_true(status_of(b->nic) & VK_VIRTIO_S_NEEDS_RESET);
    assert_int_equal(peer_rec(b)->n, 0);
    assert_int_equal(vk_virtio_net_driver_probe(b->nic), VK_OK);
    assert_null(vk_virtio_net_error(b->nic));
    uint8_t f[60];
    make_frame(f, sizeof f, nic_mac.b, 1);
    assert_int_equal(vk_nic_guest_send(b->nic, f, sizeof f), VK_OK);
    assert_int_equal(peer_rec(b)->n, 1);
    rec_clear(peer_rec(b));
}

static void test_hostile_descriptor_chains_put_card_in_needs_reset(void **state)
{
    (void)state;
    bench *b = bench_new("virtio-net-pci");
    vk_gmem *m = vk_virtio_net_gmem(b->nic);
    raw_q q = {0};
    uint16_t NEXT = VK_VRING_DESC_F_NEXT, IND = VK_VRING_DESC_F_INDIRECT;

    /* 1: a cycle 0 -> 1 -> 0 */
    assert_int_equal(hostile_setup(b, &q, 8), VK_OK);
    put_desc(b, &q, 0, q.buf, 12, NEXT, 1);
    put_desc(b, &q, 1, q.buf, 60, NEXT, 0);
    offer(b, &q, 0);
    expect_needs_reset_then_recover(b, "descriptor loop");

    /* 2: an address outside guest memory */
    assert_int_equal(hostile_setup(b, &q, 8), VK_OK);
    put_desc(b, &q, 0, m->size - 8, 72, 0, 0);
    offer(b, &q, 0);
    expect_needs_reset_then_recover(b, "address outside memory");

    /* 3: an address that wraps around 2^64 */
    assert_int_equal(hostile_setup(b, &q, 8), VK_OK);
    put_desc(b, &q, 0, UINT64_MAX - 4, 72, 0, 0);
    offer(b, &q, 0);
    expect_needs_reset_then_recover(b, "wrapping address");

    /* 4: a zero-length descriptor */
    assert_int_equal(hostile_setup(b, &q, 8), VK_OK);
    put_desc(b, &q, 0, q.buf, 12, NEXT, 1);
    put_desc(b, &q, 1, q.buf + 12, 0, 0, 0);
    offer(b, &q, 0);
    expect_needs_reset_then_recover(b, "zero-length descriptor");

    /* 5: next beyond the table, and a head beyond the table */
    assert_int_equal(hostile_setup(b, &q, 8), VK_OK);
    put_desc(b, &q, 0, q.buf, 72, NEXT, 200);
    offer(b, &q, 0);
    expect_needs_reset_then_recover(b, "next out of table");
    assert_int_equal(hostile_setup(b, &q, 8), VK_OK);
    offer(b, &q, 9);
    expect_needs_reset_then_recover(b, "head out of table");

    /* 6: nested indirect tables, an indirect table of odd size, an
     * indirect table that loops */
    assert_int_equal(hostile_setup(b, &q, 8), VK_OK);
    uint64_t ind = q.buf + 1024;
    put_desc(b, &q, 0, ind, 32, IND, 0);
    vk_gmem_write_le64(m, ind, ind);
    vk_gmem_write_le32(m, ind + 8, 16);
    vk_gmem_write_le16(m, ind + 12, IND);
    offer(b, &q, 0);
    expect_needs_reset_then_recover(b, "nested indirect");
    assert_int_equal(hostile_setup(b, &q, 8), VK_OK);
    put_desc(b, &q, 0, ind, 20, IND, 0);
    offer(b, &q, 0);
    expect_needs_reset_then_recover(b, "indirect size");
    assert_int_equal(hostile_setup(b, &q, 8), VK_OK);
    put_desc(b, &q, 0, ind, 32, IND, 0);
    for (int k = 0; k < 2; k++) {
        vk_gmem_write_le64(m, ind + 16 * k, q.buf);
        vk_gmem_write_le32(m, ind + 16 * k + 8, 40);
        vk_gmem_write_le16(m, ind + 16 * k + 12, NEXT);
        vk_gmem_write_le16(m, ind + 16 * k + 14, (uint16_t)(1 - k));
    }
    offer(b, &q, 0);
    expect_needs_reset_then_recover(b, "indirect loop");

    /* 7: a header shorter than virtio_net_hdr */
    assert_int_equal(hostile_setup(b, &q, 8), VK_OK);
    put_desc(b, &q, 0, q.buf, 4, 0, 0);
    offer(b, &q, 0);
    expect_needs_reset_then_recover(b, "short header");

    /* 8: the guest claims more available entries than the ring holds */
    assert_int_equal(hostile_setup(b, &q, 8), VK_OK);
    vk_gmem_write_le16(m, q.avail + 2, 100);
    vk_virtio_net_notify(b->nic, VK_VNET_TXQ);
    expect_needs_reset_then_recover(b, "avail idx jump");

    /* a well-formed indirect chain is accepted */
    assert_int_equal(hostile_setup(b, &q, 8), VK_OK);
    uint8_t frame[60];
    make_frame(frame, sizeof frame, nic_mac.b, 4);
    uint8_t zero[12] = {0};
    vk_gmem_write(m, q.buf, zero, 12);
    vk_gmem_write(m, q.buf + 12, frame, sizeof frame);
    put_desc(b, &q, 0, ind, 32, IND, 0);
    vk_gmem_write_le64(m, ind, q.buf);
    vk_gmem_write_le32(m, ind + 8, 12);
    vk_gmem_write_le16(m, ind + 12, NEXT);
    vk_gmem_write_le16(m, ind + 14, 1);
    vk_gmem_write_le64(m, ind + 16, q.buf + 12);
    vk_gmem_write_le32(m, ind + 24, sizeof frame);
    vk_gmem_write_le16(m, ind + 28, 0);
    offer(b, &q, 0);
    assert_null(vk_virtio_net_error(b->nic));
    assert_int_equal(peer_rec(b)->n, 1);
    assert_memory_equal(peer_rec(b)->data[0], frame, sizeof frame);
    bench_free(b);
}

static void test_bad_queue_setup_puts_card_in_needs_reset(void **state)
{
    (void)state;
    bench *b = bench_new("virtio-net-pci");
    vk_gmem *m = vk_virtio_net_gmem(b->nic);
    raw_q q = {0};
    assert_int_equal(hostile_setup(b, &q, 6), VK_EINVAL); /* not a power of two */
    expect_needs_reset_then_recover(b, "queue size 6");
    assert_int_equal(hostile_setup(b, &q, 512), VK_EINVAL); /* above the maximum */
    expect_needs_reset_then_recover(b, "queue size 512");
    /* rings outside guest memory */
    uint64_t keep = q.used;
    q.used = m->size - 4;
    negotiate_raw(b->nic, vk_virtio_bit(VK_VIRTIO_F_VERSION_1));
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_QUEUE_SELECT, VK_VNET_TXQ);
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_QUEUE_SIZE, 8);
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_QUEUE_DESC, q.desc);
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_QUEUE_DRIVER, q.avail);
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_QUEUE_DEVICE, q.used);
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_QUEUE_ENABLE, 1);
    expect_needs_reset_then_recover(b, "used ring outside memory");
    q.used = keep;
    /* a queue that does not exist reads as size 0 and ignores writes */
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_QUEUE_SELECT, 7);
    assert_int_equal(vk_virtio_net_reg_read(b->nic, VK_VIRTIO_QUEUE_SIZE), 0);
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_QUEUE_ENABLE, 1);
    vk_virtio_net_notify(b->nic, 7);
    assert_null(vk_virtio_net_error(b->nic));
    bench_free(b);
}

static void test_rx_before_driver_ok_waits_in_core_queue(void **state)
{
    (void)state;
    bench *b = bench_new("virtio-net-pci");
    vk_virtio_net_reg_write(b->nic, VK_VIRTIO_DEVICE_STATUS, 0);
    peer_send(b, nic_mac.b, 60, 1);
    assert_int_equal(vk_port_queue_len(b->nic), 1);
    assert_int_equal(vk_virtio_net_driver_probe(b->nic), VK_OK);
    assert_int_equal(vk_port_queue_len(b->nic), 0);
    assert_int_equal(b->guest.n, 1);
    bench_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_reaches_driver_ok_and_describes_itself),
        cmocka_unit_test(test_features_ok_refused_for_feature_not_offered),
        cmocka_unit_test(test_bad_model_keys_are_reported),
        cmocka_unit_test(test_round_trip_through_net),
        cmocka_unit_test(test_rx_filter_rules_via_control_queue),
        cmocka_unit_test(test_mac_table_overflow_accepts_all_of_that_kind),
        cmocka_unit_test(test_mrg_rxbuf_spreads_large_frame_with_num_buffers),
        cmocka_unit_test(test_frame_larger_than_buffer_is_dropped_without_mrg_rxbuf),
        cmocka_unit_test(test_rx_without_buffers_waits_in_core_queue_until_kick),
        cmocka_unit_test(test_rx_drops_when_port_queue_limit_is_reached),
        cmocka_unit_test(test_large_frame_waits_in_card_for_enough_mergeable_buffers),
        cmocka_unit_test(test_event_idx_suppresses_interrupts_until_driver_catches_up),
        cmocka_unit_test(test_event_idx_driver_skips_kicks_device_does_not_need),
        cmocka_unit_test(test_ring_indices_wrap_at_65536),
        cmocka_unit_test(test_tx_needs_csum_is_completed_by_the_card),
        cmocka_unit_test(test_tx_tso_segments_match_libnet_references),
        cmocka_unit_test(test_tx_bad_headers_are_dropped_and_counted),
        cmocka_unit_test(test_hostile_descriptor_chains_put_card_in_needs_reset),
        cmocka_unit_test(test_bad_queue_setup_puts_card_in_needs_reset),
        cmocka_unit_test(test_rx_before_driver_ok_waits_in_core_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
