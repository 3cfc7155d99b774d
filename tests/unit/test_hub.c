/* Hubs, peers and port queues: QEMU's delivery semantics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/net.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/offload.h"
#include "wire/tcp.h"

/* A test port that records what it receives and can be told to refuse. */
typedef struct recorder {
    bool accepting;
    size_t count;
    uint8_t first_byte[64];
} recorder;

static int rec_receive(vk_port *self, vk_frame *f)
{
    recorder *r = self->priv;
    if (r->count < sizeof r->first_byte)
        r->first_byte[r->count] = f->len ? f->data[0] : 0;
    r->count++;
    return VK_OK;
}

static bool rec_can_receive(vk_port *self)
{
    return ((recorder *)self->priv)->accepting;
}

static const vk_port_ops rec_ops = {
    .kind = "recorder",
    .receive = rec_receive,
    .can_receive = rec_can_receive,
};

/* A tap that counts drops and remembers the last reason. */
typedef struct drop_log {
    size_t drops;
    char reason[64];
    size_t frames_in, frames_out;
    vk_dir last_dir;
} drop_log;

static void log_frame(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f, uint64_t ts)
{
    (void)p, (void)f, (void)ts;
    drop_log *l = arg;
    if (dir == VK_DIR_IN)
        l->frames_in++;
    else
        l->frames_out++;
}

static void log_drop(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f,
                     const char *reason, uint64_t ts)
{
    (void)p, (void)f, (void)ts;
    drop_log *l = arg;
    l->drops++;
    l->last_dir = dir;
    strncpy(l->reason, reason, sizeof l->reason - 1);
}

static const vk_tap_ops log_ops = {.frame = log_frame, .drop = log_drop};

typedef struct fixture {
    vk_loop *loop;
    vk_net *net;
    vk_port *rec[4];
    vk_port *hp[4];
    drop_log log;
} fixture;

/* Builds hub 0 with n ports, each the peer of a recorder. */
static fixture *make_hub(size_t n)
{
    fixture *fx = calloc(1, sizeof *fx);
    fx->loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    fx->net = vk_net_new(fx->loop);
    assert_int_equal(vk_net_add_tap(fx->net, &log_ops, &fx->log), VK_OK);
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "r%zu", i);
        assert_int_equal(vk_port_new(fx->net, &rec_ops, id, "rec", sizeof(recorder),
                                     &fx->rec[i], NULL),
                         VK_OK);
        ((recorder *)fx->rec[i]->priv)->accepting = true;
        snprintf(id, sizeof id, "h%zu", i);
        assert_int_equal(vk_net_add_hubport(fx->net, 0, id, &fx->hp[i], NULL), VK_OK);
        assert_int_equal(vk_net_connect(fx->rec[i], fx->hp[i], NULL), VK_OK);
    }
    return fx;
}

static void free_fixture(fixture *fx)
{
    vk_net_free(fx->net);
    vk_loop_free(fx->loop);
    free(fx);
}

static recorder *rec_of(fixture *fx, size_t i)
{
    return fx->rec[i]->priv;
}

static void send_byte(vk_port *from, uint8_t b)
{
    uint8_t frame[60] = {b};
    assert_int_equal(vk_port_send_bytes(from, frame, sizeof frame), VK_OK);
}

static void test_hub_delivers_to_every_other_port(void **state)
{
    (void)state;
    fixture *fx = make_hub(3);
    send_byte(fx->rec[0], 7);
    assert_int_equal(rec_of(fx, 1)->count, 1);
    assert_int_equal(rec_of(fx, 2)->count, 1);
    assert_int_equal(rec_of(fx, 1)->first_byte[0], 7);
    free_fixture(fx);
}

static void test_hub_never_echoes_to_sender(void **state)
{
    (void)state;
    fixture *fx = make_hub(3);
    for (int i = 0; i < 5; i++)
        send_byte(fx->rec[1], (uint8_t)i);
    assert_int_equal(rec_of(fx, 1)->count, 0);
    assert_int_equal(rec_of(fx, 0)->count, 5);
    assert_int_equal(rec_of(fx, 2)->count, 5);
    free_fixture(fx);
}

static void test_queue_preserves_order_under_backpressure(void **state)
{
    (void)state;
    fixture *fx = make_hub(2);
    rec_of(fx, 1)->accepting = false;
    for (uint8_t i = 1; i <= 10; i++)
        send_byte(fx->rec[0], i);
    assert_int_equal(rec_of(fx, 1)->count, 0);
    assert_int_equal(vk_port_queue_len(fx->rec[1]), 10);
    rec_of(fx, 1)->accepting = true;
    vk_port_flush(fx->rec[1]);
    assert_int_equal(rec_of(fx, 1)->count, 10);
    for (uint8_t i = 0; i < 10; i++)
        assert_int_equal(rec_of(fx, 1)->first_byte[i], i + 1);
    assert_int_equal(fx->rec[1]->stats.queued, 10);
    free_fixture(fx);
}

static void test_new_frames_wait_behind_queued_ones(void **state)
{
    (void)state;
    fixture *fx = make_hub(2);
    rec_of(fx, 1)->accepting = false;
    send_byte(fx->rec[0], 1);
    rec_of(fx, 1)->accepting = true;
    /* the port could take this one, but frame 1 is still queued ahead of it */
    send_byte(fx->rec[0], 2);
    assert_int_equal(rec_of(fx, 1)->count, 0);
    vk_port_flush(fx->rec[1]);
    assert_int_equal(rec_of(fx, 1)->first_byte[0], 1);
    assert_int_equal(rec_of(fx, 1)->first_byte[1], 2);
    free_fixture(fx);
}

static void test_full_queue_drops_counts_and_traces_reason(void **state)
{
    (void)state;
    fixture *fx = make_hub(2);
    vk_port_set_queue_limit(fx->rec[1], 4);
    rec_of(fx, 1)->accepting = false;
    for (uint8_t i = 0; i < 7; i++)
        send_byte(fx->rec[0], i);
    assert_int_equal(vk_port_queue_len(fx->rec[1]), 4);
    assert_int_equal(fx->rec[1]->stats.drops_queue_full, 3);
    assert_int_equal(fx->log.drops, 3);
    assert_string_equal(fx->log.reason, "queue full");
    assert_int_equal(fx->log.last_dir, VK_DIR_IN);
    rec_of(fx, 1)->accepting = true;
    vk_port_flush(fx->rec[1]);
    assert_int_equal(rec_of(fx, 1)->count, 4);
    assert_int_equal(rec_of(fx, 1)->first_byte[3], 3);
    free_fixture(fx);
}

static void test_frames_still_queued_when_the_run_ends_are_traced_drops(void **state)
{
    (void)state;
    fixture *fx = make_hub(2);
    rec_of(fx, 1)->accepting = false;
    for (uint8_t i = 0; i < 5; i++)
        send_byte(fx->rec[0], i);
    assert_int_equal(vk_port_queue_len(fx->rec[1]), 5);
    assert_int_equal(fx->log.drops, 0);
    vk_net_end(fx->net);
    assert_int_equal(vk_port_queue_len(fx->rec[1]), 0);
    assert_int_equal(fx->log.drops, 5);
    assert_string_equal(fx->log.reason, "not delivered before the end of the run");
    assert_int_equal(fx->log.last_dir, VK_DIR_IN);
    assert_int_equal(fx->rec[1]->stats.drops_other, 5);
    assert_int_equal(rec_of(fx, 1)->count, 0);
    /* once only: the free that follows traces nothing more */
    vk_net_end(fx->net);
    assert_int_equal(fx->log.drops, 5);
    free_fixture(fx);
}

static void test_peerless_port_drops_with_reason(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    vk_net *net = vk_net_new(loop);
    drop_log log = {0};
    vk_net_add_tap(net, &log_ops, &log);
    vk_port *p;
    assert_int_equal(vk_port_new(net, &rec_ops, "lonely", "rec", sizeof(recorder), &p, NULL),
                                 VK_OK);
    send_byte(p, 1);
    assert_int_equal(p->stats.drops_no_peer, 1);
    assert_string_equal(log.reason, "port has no peer");
    assert_int_equal(log.last_dir, VK_DIR_OUT); /* it was leaving the port */
    vk_net_free(net);
    vk_loop_free(loop);
}

static void test_one_frame_id_across_fan_out(void **state)
{
    (void)state;
    fixture *fx = make_hub(3);
    vk_frame *f = vk_frame_new(NULL, 60);
    vk_port_send(fx->rec[0], f);
    assert_true(f->id != 0);
    uint64_t id = f->id;
    vk_frame_unref(f);
    vk_frame *g = vk_frame_new(NULL, 60);
    vk_port_send(fx->rec[0], g);
    assert_int_equal(g->id, id + 1);
    vk_frame_unref(g);
    /* out of r0, into h0, out of h1 and h2, into r1 and r2: 6 tap events */
    assert_int_equal(fx->log.frames_in + fx->log.frames_out, 12);
    free_fixture(fx);
}

static void test_duplicate_port_id_is_rejected(void **state)
{
    (void)state;
    fixture *fx = make_hub(1);
    vk_port *p;
    vk_diag d;
    assert_int_equal(vk_port_new(fx->net, &rec_ops, "r0", "rec", 0, &p, &d), VK_EEXIST);
    assert_string_equal(d.msg, "duplicate id 'r0'");
    assert_int_equal(vk_net_add_hubport(fx->net, 1, "h0", &p, &d), VK_EEXIST);
    assert_non_null(strstr(d.msg, "duplicate id 'h0'"));
    free_fixture(fx);
}

static void test_connect_refuses_second_peer(void **state)
{
    (void)state;
    fixture *fx = make_hub(2);
    vk_diag d;
    assert_int_equal(vk_net_connect(fx->rec[0], fx->hp[1], &d), VK_EEXIST);
    assert_ptr_equal(fx->rec[0]->peer, fx->hp[0]);
    free_fixture(fx);
}

/* ---- TCP super-segments (core/frame.h gso_mss) across a hub ---- */

/* A port that records the frames it receives (lengths, gso_mss, whether
 * the checksums verify), taking super-segments whole when `gso` is set. */
typedef struct seg_log {
    bool gso;
    size_t count, bytes;
    size_t max_len;
    uint16_t gso_mss;
    size_t bad_csum;
} seg_log;

static int seg_receive(vk_port *self, vk_frame *f)
{
    seg_log *l = self->priv;
    l->count++;
    l->bytes += f->len;
    if (f->len > l->max_len)
        l->max_len = f->len;
    l->gso_mss = f->gso_mss;
    unsigned bad = 0;
    if (f->gso_mss == 0 && (vk_csum_check_frame(f->data, f->len, &bad) != VK_OK || bad != 0))
        l->bad_csum++;
    return VK_OK;
}

static bool seg_accepts_gso(const vk_port *self)
{
    return ((const seg_log *)self->priv)->gso;
}

static const vk_port_ops seg_ops = {
    .kind = "seglog",
    .receive = seg_receive,
    .accepts_gso = seg_accepts_gso,
};

#define SUPER_PAYLOAD 10000u
#define SUPER_MSS 1000u
#define SUPER_HDR (VK_ETH_HLEN + VK_IPV4_MIN_HLEN + VK_TCP_MIN_HLEN)

/* A TCP super-segment as the user backend makes one: IPv4 lengths of the
 * whole, a partial TCP checksum, gso_mss set. */
static vk_frame *super_segment(void)
{
    static uint8_t payload[SUPER_PAYLOAD], l4[VK_TCP_MIN_HLEN + SUPER_PAYLOAD];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7);
    vk_ip4 src = {{10, 0, 2, 2}}, dst = {{10, 0, 2, 15}};
    vk_tcp_repr t = {.src_port = 80, .dst_port = 40000, .seq = 1000, .ack = 1,
                     .flags = VK_TCP_ACK | VK_TCP_PSH, .window = 65535, .payload = payload,
                     .payload_len = sizeof payload,
                     .csum_partial = true};
    size_t n;
    uint32_t pseudo = vk_csum_pseudo4(&src, &dst, VK_IP_PROTO_TCP);
    assert_int_equal(vk_tcp_emit(&t, pseudo, l4, sizeof l4, &n), VK_OK);
    vk_frame *f = vk_frame_new(NULL, SUPER_HDR + SUPER_PAYLOAD);
    vk_eth_repr eth = {.src = {{0x52, 0x55, 10, 0, 2, 2}},
                       .dst = {{0x52, 0x54, 0, 0x12, 0x34, 0x56}}, .ethertype = VK_ETHERTYPE_IPV4};
    vk_ipv4_repr ip = {.id = 7, .df = true, .ttl = 64, .proto = VK_IP_PROTO_TCP, .src = src,
                       .dst = dst, .payload = l4, .payload_len = n};
    size_t w;
    assert_int_equal(vk_eth_emit(&eth, f->data, f->len, &w), VK_OK);
    assert_int_equal(vk_ipv4_emit(&ip, f->data + VK_ETH_HLEN, f->len - VK_ETH_HLEN, &w), VK_OK);
    f->gso_mss = SUPER_MSS;
    return f;
}

typedef struct gso_fixture {
    vk_loop *loop;
    vk_net *net;
    vk_port *src, *whole, *plain; /* src -- h0 [hub] h1 -- whole, h2 -- plain */
    vk_port *hp[3];
    drop_log log;
} gso_fixture;

/* No tap unless `observed`: a tap makes every port refuse super-segments. */
static void gso_open(gso_fixture *g, bool observed, bool splitter)
{
    memset(g, 0, sizeof *g);
    g->loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    g->net = vk_net_new(g->loop);
    if (observed)
        assert_int_equal(vk_net_add_tap(g->net, &log_ops, &g->log), VK_OK);
    if (splitter)
        vk_net_set_gso_splitter(g->net, vk_offload_gso_split);
    vk_port **ends[3] = {&g->src, &g->whole, &g->plain};
    const char *ids[3] = {"src", "whole", "plain"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(vk_port_new(g->net, &seg_ops, ids[i], "seglog", sizeof(seg_log), ends[i],
                                     NULL),
                         VK_OK);
        char id[8];
        snprintf(id, sizeof id, "h%zu", i);
        assert_int_equal(vk_net_add_hubport(g->net, 0, id, &g->hp[i], NULL), VK_OK);
        assert_int_equal(vk_net_connect(*ends[i], g->hp[i], NULL), VK_OK);
    }
    ((seg_log *)g->whole->priv)->gso = true;
}

static void gso_close(gso_fixture *g)
{
    vk_net_free(g->net);
    vk_loop_free(g->loop);
}

static void send_super(gso_fixture *g)
{
    vk_frame *f = super_segment();
    vk_port_send(g->src, f);
    vk_frame_unref(f);
}

static void test_super_segment_reaches_a_gso_port_whole_and_others_as_segments(void **state)
{
    (void)state;
    gso_fixture g;
    gso_open(&g, false, true);
    assert_true(vk_port_passes_gso(g.src)); /* a hub port takes them */
    assert_true(vk_port_passes_gso(g.hp[1]));
    assert_false(vk_port_passes_gso(g.hp[2]));
    send_super(&g);
    seg_log *whole = g.whole->priv, *plain = g.plain->priv;
    assert_int_equal(whole->count, 1);
    assert_int_equal(whole->gso_mss, SUPER_MSS);
    assert_int_equal(whole->max_len, SUPER_HDR + SUPER_PAYLOAD);
    assert_int_equal(plain->count, SUPER_PAYLOAD / SUPER_MSS);
    assert_int_equal(plain->max_len, SUPER_HDR + SUPER_MSS);
    assert_int_equal(plain->bytes, SUPER_PAYLOAD + plain->count * SUPER_HDR);
    assert_int_equal(plain->gso_mss, 0);
    assert_int_equal(plain->bad_csum, 0);
    assert_int_equal(g.src->stats.gso_tx, 1);
    assert_int_equal(g.hp[1]->stats.gso_tx, 1);
    assert_int_equal(g.hp[2]->stats.gso_split, 1);
    assert_int_equal(g.hp[2]->stats.tx_frames, SUPER_PAYLOAD / SUPER_MSS);
    gso_close(&g);
}

static void test_an_observed_net_only_ever_carries_wire_sized_segments(void **state)
{
    (void)state;
    gso_fixture g;
    gso_open(&g, true, true);
    assert_false(vk_port_passes_gso(g.src));
    send_super(&g);
    seg_log *whole = g.whole->priv, *plain = g.plain->priv;
    assert_int_equal(g.src->stats.gso_split, 1);
    assert_int_equal(whole->count, SUPER_PAYLOAD / SUPER_MSS);
    assert_int_equal(plain->count, SUPER_PAYLOAD / SUPER_MSS);
    assert_int_equal(whole->max_len, SUPER_HDR + SUPER_MSS);
    assert_int_equal(whole->bad_csum + plain->bad_csum, 0);
    /* out of src, into and out of the hub, into each end: all segments */
    assert_int_equal(g.log.frames_out, 3 * (SUPER_PAYLOAD / SUPER_MSS));
    assert_int_equal(g.log.drops, 0);
    gso_close(&g);
}

static void test_super_segment_without_a_splitter_is_a_traced_drop(void **state)
{
    (void)state;
    gso_fixture g;
    gso_open(&g, true, false);
    send_super(&g);
    assert_int_equal(((seg_log *)g.plain->priv)->count, 0);
    assert_int_equal(g.log.drops, 1);
    assert_int_equal(g.log.last_dir, VK_DIR_OUT);
    assert_string_equal(g.log.reason, "super-segment that cannot be segmented");
    gso_close(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hub_delivers_to_every_other_port),
        cmocka_unit_test(test_hub_never_echoes_to_sender),
        cmocka_unit_test(test_queue_preserves_order_under_backpressure),
        cmocka_unit_test(test_new_frames_wait_behind_queued_ones),
        cmocka_unit_test(test_full_queue_drops_counts_and_traces_reason),
        cmocka_unit_test(test_frames_still_queued_when_the_run_ends_are_traced_drops),
        cmocka_unit_test(test_peerless_port_drops_with_reason),
        cmocka_unit_test(test_one_frame_id_across_fan_out),
        cmocka_unit_test(test_duplicate_port_id_is_rejected),
        cmocka_unit_test(test_connect_refuses_second_peer),
        cmocka_unit_test(test_super_segment_reaches_a_gso_port_whole_and_others_as_segments),
        cmocka_unit_test(test_an_observed_net_only_ever_carries_wire_sized_segments),
        cmocka_unit_test(test_super_segment_without_a_splitter_is_a_traced_drop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
