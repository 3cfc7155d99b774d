/* vk_port_send_burst(): n frames in one call, and nothing that observes the
 * net can tell it from n vk_port_send() calls (port.h, "Bursts"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/net.h"

#define NFRAMES 10

/* A port that records what it receives; it takes `allow` more frames
 * (SIZE_MAX: any number), with receive_burst() or frame by frame. */
typedef struct recorder {
    size_t allow;
    size_t count, burst_calls;
    uint8_t first_byte[64];
    uint64_t ids[64];
} recorder;

static void rec_take(recorder *r, const vk_frame *f)
{
    if (r->count < sizeof r->first_byte) {
        r->first_byte[r->count] = f->data[0];
        r->ids[r->count] = f->id;
    }
    r->count++;
    if (r->allow != SIZE_MAX)
        r->allow--;
}

static int rec_receive(vk_port *self, vk_frame *f)
{
    rec_take(self->priv, f);
    return VK_OK;
}

static bool rec_can_receive(vk_port *self)
{
    return ((recorder *)self->priv)->allow > 0;
}

static size_t rec_receive_burst(vk_port *self, vk_frame *const *f, size_t n)
{
    recorder *r = self->priv;
    r->burst_calls++;
    size_t i = 0;
    for (; i < n && r->allow > 0; i++)
        rec_take(r, f[i]);
    return i;
}

static const vk_port_ops burst_ops = {
    .kind = "recorder",
    .receive = rec_receive,
    .can_receive = rec_can_receive,
    .receive_burst = rec_receive_burst,
};

static const vk_port_ops single_ops = {
    .kind = "recorder",
    .receive = rec_receive,
    .can_receive = rec_can_receive,
};

/* A tap that writes every event as one line, to compare two runs. */
typedef struct trace_log {
    char text[8192];
    size_t len;
} trace_log;

static void log_line(trace_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void log_line(trace_log *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->text + l->len, sizeof l->text - l->len, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof l->text - l->len);
    l->len += (size_t)n;
}

static void log_frame(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f, uint64_t ts)
{
    (void)ts;
    log_line(arg, "frame %s %s id %llu byte %u len %zu\n", p->id, dir == VK_DIR_IN ? "in" : "out",
             (unsigned long long)f->id, f->data[0], f->len);
}

static void log_drop(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f,
                     const char *reason, uint64_t ts)
{
    (void)ts;
    log_line(arg, "drop %s %s id %llu byte %u: %s\n", p->id, dir == VK_DIR_IN ? "in" : "out",
             (unsigned long long)f->id, f->data[0], reason);
}

static const vk_tap_ops log_ops = {.frame = log_frame, .drop = log_drop};

typedef struct pair {
    vk_loop *loop;
    vk_net *net;
    vk_port *src, *dst;
    vk_frame *f[NFRAMES];
    trace_log log;
} pair;

/* src -> dst; dst takes bursts or not; frames i carry byte i + 1 and
 * i + 60 bytes. */
static void pair_make(pair *p, const vk_port_ops *dst_ops, size_t allow, bool traced)
{
    memset(p, 0, sizeof *p);
    p->loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    p->net = vk_net_new(p->loop);
    assert_int_equal(vk_port_new(p->net, &single_ops, "src", "rec", sizeof(recorder), &p->src,
                                 NULL), VK_OK);
    assert_int_equal(vk_port_new(p->net, dst_ops, "dst", "rec", sizeof(recorder), &p->dst, NULL),
                     VK_OK);
    assert_int_equal(vk_net_connect(p->src, p->dst, NULL), VK_OK);
    ((recorder *)p->src->priv)->allow = SIZE_MAX;
    ((recorder *)p->dst->priv)->allow = allow;
    if (traced)
        assert_int_equal(vk_net_add_tap(p->net, &log_ops, &p->log), VK_OK);
    for (size_t i = 0; i < NFRAMES; i++) {
        p->f[i] = vk_frame_new(NULL, 60 + i);
        assert_non_null(p->f[i]);
        p->f[i]->data[0] = (uint8_t)(i + 1);
    }
}

static void pair_free(pair *p)
{
    for (size_t i = 0; i < NFRAMES; i++)
        vk_frame_unref(p->f[i]);
    vk_net_free(p->net);
    vk_loop_free(p->loop);
}

static recorder *dst_of(pair *p)
{
    return p->dst->priv;
}

static void send_one_by_one(pair *p)
{
    for (size_t i = 0; i < NFRAMES; i++)
        vk_port_send(p->src, p->f[i]);
}

/* Two like nets, a for the burst and b for frame-by-frame delivery. */
static void make_both(pair *a, pair *b, size_t allow, bool traced)
{
    pair_make(a, &burst_ops, allow, traced);
    pair_make(b, &burst_ops, allow, traced);
}

static void send_both(pair *a, pair *b)
{
    vk_port_send_burst(a->src, a->f, NFRAMES);
    send_one_by_one(b);
}

static void free_both(pair *a, pair *b)
{
    pair_free(a);
    pair_free(b);
}

static void assert_same_stats(const vk_port_stats *a, const vk_port_stats *b)
{
    assert_int_equal(a->tx_frames, b->tx_frames);
    assert_int_equal(a->tx_bytes, b->tx_bytes);
    assert_int_equal(a->rx_frames, b->rx_frames);
    assert_int_equal(a->rx_bytes, b->rx_bytes);
    assert_int_equal(a->queued, b->queued);
    assert_int_equal(a->drops_queue_full, b->drops_queue_full);
    assert_int_equal(a->drops_other, b->drops_other);
    assert_int_equal(a->queue_high_water, b->queue_high_water);
}

static void test_a_burst_reaches_a_burst_port_in_one_call_in_order(void **state)
{
    (void)state;
    pair p;
    pair_make(&p, &burst_ops, SIZE_MAX, false);
    vk_port_send_burst(p.src, p.f, NFRAMES);
    recorder *r = dst_of(&p);
    assert_int_equal(r->burst_calls, 1);
    assert_int_equal(r->count, NFRAMES);
    for (size_t i = 0; i < NFRAMES; i++) {
        assert_int_equal(r->first_byte[i], i + 1);
        assert_int_equal(r->ids[i], i + 1); /* ids in order, as one by one */
        assert_int_equal(p.f[i]->refcnt, 1); /* borrowed, not kept */
    }
    pair_free(&p);
}

static void test_a_burst_is_counted_on_both_ports_as_frame_by_frame(void **state)
{
    (void)state;
    pair a, b;
    make_both(&a, &b, SIZE_MAX, false);
    send_both(&a, &b);
    assert_int_equal(a.src->stats.tx_frames, NFRAMES);
    assert_int_equal(a.dst->stats.rx_bytes, NFRAMES * 60 + (NFRAMES - 1) * NFRAMES / 2);
    assert_same_stats(&a.src->stats, &b.src->stats);
    assert_same_stats(&a.dst->stats, &b.dst->stats);
    assert_int_equal(dst_of(&b)->burst_calls, 0);
    free_both(&a, &b);
}

/* The peer takes 3 and is then busy: the other 7 wait in its queue in order
 * and enter when it can take them again. */
static void test_a_burst_queues_the_frames_a_busy_peer_cannot_take(void **state)
{
    (void)state;
    pair a, b;
    make_both(&a, &b, 3, false);
    send_both(&a, &b);
    recorder *r = dst_of(&a);
    assert_int_equal(r->count, 3);
    assert_int_equal(vk_port_queue_len(a.dst), NFRAMES - 3);
    assert_int_equal(a.dst->stats.queued, NFRAMES - 3);
    assert_same_stats(&a.src->stats, &b.src->stats);
    assert_same_stats(&a.dst->stats, &b.dst->stats);
    for (size_t i = 3; i < NFRAMES; i++)
        assert_int_equal(a.f[i]->refcnt, 2); /* the queue keeps its own reference */
    r->allow = SIZE_MAX;
    vk_port_flush(a.dst);
    assert_int_equal(r->count, NFRAMES);
    for (size_t i = 0; i < NFRAMES; i++)
        assert_int_equal(r->first_byte[i], i + 1);
    free_both(&a, &b);
}

/* New frames wait behind queued ones: a burst to a port with a queue goes
 * into the queue, after what already waits. */
static void test_a_burst_waits_behind_frames_already_queued(void **state)
{
    (void)state;
    pair p;
    pair_make(&p, &burst_ops, 0, false);
    vk_port_send(p.src, p.f[0]);
    dst_of(&p)->allow = SIZE_MAX; /* could take now, but a frame waits */
    vk_port_send_burst(p.src, p.f + 1, NFRAMES - 1);
    assert_int_equal(dst_of(&p)->count, 0);
    assert_int_equal(vk_port_queue_len(p.dst), NFRAMES);
    vk_port_flush(p.dst);
    for (size_t i = 0; i < NFRAMES; i++)
        assert_int_equal(dst_of(&p)->first_byte[i], i + 1);
    pair_free(&p);
}

/* A queue drains into a port that takes bursts a burst at a time, in
 * order, each frame counted once and the queue's references dropped. */
static void test_a_queue_drains_into_a_burst_port_in_bursts(void **state)
{
    (void)state;
    pair p;
    pair_make(&p, &burst_ops, 0, false);
    send_one_by_one(&p);
    assert_int_equal(vk_port_queue_len(p.dst), NFRAMES);
    dst_of(&p)->allow = SIZE_MAX;
    vk_port_flush(p.dst);
    assert_int_equal(dst_of(&p)->burst_calls, 1);
    assert_int_equal(vk_port_queue_len(p.dst), 0);
    assert_int_equal(p.dst->stats.rx_frames, NFRAMES);
    assert_int_equal(p.dst->stats.rx_bytes, NFRAMES * 60 + (NFRAMES - 1) * NFRAMES / 2);
    for (size_t i = 0; i < NFRAMES; i++) {
        assert_int_equal(dst_of(&p)->first_byte[i], i + 1);
        assert_int_equal(p.f[i]->refcnt, 1);
    }
    pair_free(&p);
}

/* A traced net sees the same records, in the same order with the same ids,
 * whether the frames came as a burst or one by one; here with a busy peer
 * and a short queue, so records of frames taken, queued and dropped. */
static void test_a_traced_burst_writes_the_records_of_frame_by_frame(void **state)
{
    (void)state;
    pair a, b;
    make_both(&a, &b, 2, true);
    vk_port_set_queue_limit(a.dst, 4);
    vk_port_set_queue_limit(b.dst, 4);
    send_both(&a, &b);
    dst_of(&a)->allow = dst_of(&b)->allow = SIZE_MAX;
    vk_port_flush(a.dst);
    vk_port_flush(b.dst);
    assert_true(a.log.len > 0);
    assert_non_null(strstr(a.log.text, "queue full"));
    assert_string_equal(a.log.text, b.log.text);
    assert_same_stats(&a.dst->stats, &b.dst->stats);
    assert_int_equal(dst_of(&a)->burst_calls, 0); /* observed: one by one */
    free_both(&a, &b);
}

static void test_a_burst_to_a_port_without_receive_burst_goes_one_by_one(void **state)
{
    (void)state;
    pair p;
    pair_make(&p, &single_ops, SIZE_MAX, false);
    vk_port_send_burst(p.src, p.f, NFRAMES);
    assert_int_equal(dst_of(&p)->count, NFRAMES);
    for (size_t i = 0; i < NFRAMES; i++)
        assert_int_equal(dst_of(&p)->first_byte[i], i + 1);
    assert_int_equal(p.dst->stats.rx_frames, NFRAMES);
    pair_free(&p);
}

static void test_a_burst_to_a_peer_whose_link_is_down_drops_each_frame(void **state)
{
    (void)state;
    pair a, b;
    make_both(&a, &b, SIZE_MAX, true);
    vk_port_set_link(a.dst, false, "test");
    vk_port_set_link(b.dst, false, "test");
    send_both(&a, &b);
    assert_int_equal(dst_of(&a)->count, 0);
    assert_int_equal(a.dst->stats.drops_other, NFRAMES);
    assert_string_equal(a.log.text, b.log.text);
    free_both(&a, &b);
}

static void test_a_burst_from_a_peerless_port_drops_each_frame(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    vk_net *net = vk_net_new(loop);
    vk_port *lone;
    assert_int_equal(vk_port_new(net, &burst_ops, "lone", "rec", sizeof(recorder), &lone, NULL),
                     VK_OK);
    vk_frame *f[3];
    for (size_t i = 0; i < 3; i++)
        assert_non_null(f[i] = vk_frame_new(NULL, 60));
    vk_port_send_burst(lone, f, 3);
    assert_int_equal(lone->stats.tx_frames, 3);
    assert_int_equal(lone->stats.drops_no_peer, 3);
    for (size_t i = 0; i < 3; i++)
        vk_frame_unref(f[i]);
    vk_net_free(net);
    vk_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_burst_reaches_a_burst_port_in_one_call_in_order),
        cmocka_unit_test(test_a_burst_is_counted_on_both_ports_as_frame_by_frame),
        cmocka_unit_test(test_a_burst_queues_the_frames_a_busy_peer_cannot_take),
        cmocka_unit_test(test_a_burst_waits_behind_frames_already_queued),
        cmocka_unit_test(test_a_queue_drains_into_a_burst_port_in_bursts),
        cmocka_unit_test(test_a_traced_burst_writes_the_records_of_frame_by_frame),
        cmocka_unit_test(test_a_burst_to_a_port_without_receive_burst_goes_one_by_one),
        cmocka_unit_test(test_a_burst_to_a_peer_whose_link_is_down_drops_each_frame),
        cmocka_unit_test(test_a_burst_from_a_peerless_port_drops_each_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
