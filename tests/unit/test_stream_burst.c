/* A stream port (stream_link.c) with bursts on both sides: the frames a
 * burst hands it go out as the same records, a drop among them is counted,
 * a peer that stops reading pushes back into the port queue, and frames read
 * from the socket reach a burst-taking peer in order, as one by one when the
 * net is traced.  Over a socketpair, on the live clock. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/framing.h"
#include "backends/stream_link.h"

#define MAXREC 4096

/* The port on the other side of the stream port: keeps the length and first
 * byte of what it gets, counts calls of each kind. */
typedef struct seen {
    size_t n, burst_calls, single_calls;
    size_t len[MAXREC];
    uint8_t byte[MAXREC];
    uint64_t last_id;
    bool ids_rise;
} seen;

static void seen_add(seen *s, const vk_frame *f)
{
    if (s->n < MAXREC) {
        s->len[s->n] = f->len;
        s->byte[s->n] = f->data[0];
    }
    s->ids_rise = s->ids_rise && f->id > s->last_id;
    s->last_id = f->id;
    s->n++;
}

static int seen_receive(vk_port *self, vk_frame *f)
{
    seen *s = self->priv;
    s->single_calls++;
    seen_add(s, f);
    return VK_OK;
}

static size_t seen_receive_burst(vk_port *self, vk_frame *const *f, size_t n)
{
    seen *s = self->priv;
    s->burst_calls++;
    for (size_t i = 0; i < n; i++)
        seen_add(s, f[i]);
    return n;
}

static const vk_port_ops seen_ops = {
    .kind = "seen", .receive = seen_receive, .receive_burst = seen_receive_burst};

static size_t traced_in;

static void count_in(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f, uint64_t ts)
{
    (void)arg, (void)f, (void)ts;
    if (dir == VK_DIR_IN && strcmp(p->id, "me") == 0)
        traced_in++;
}

static const vk_tap_ops count_ops = {.frame = count_in};

typedef struct rig {
    vk_loop *loop;
    vk_net *net;
    vk_port *s, *me;
    int other; /* our end of the socketpair */
} rig;

static void rig_make(rig *r, bool traced)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    r->loop = vk_loop_new(VK_CLOCK_LIVE);
    r->net = vk_net_new(r->loop);
    vk_slink_config cfg = {.mode = VK_SLINK_FD, .listen_fd = -1, .conn_fd = sv[0],
                           .option = "-netdev stream,id=s", .model = "stream"};
    assert_int_equal(vk_slink_create(r->net, "s", &cfg, &r->s, NULL), VK_OK);
    assert_int_equal(vk_port_new(r->net, &seen_ops, "me", "seen", sizeof(seen), &r->me, NULL),
                     VK_OK);
    ((seen *)r->me->priv)->ids_rise = true;
    assert_int_equal(vk_net_connect(r->me, r->s, NULL), VK_OK);
    traced_in = 0;
    if (traced)
        assert_int_equal(vk_net_add_tap(r->net, &count_ops, NULL), VK_OK);
    assert_int_equal(vk_net_start(r->net, NULL), VK_OK);
    r->other = sv[1];
}

static void rig_free(rig *r)
{
    vk_net_free(r->net);
    vk_loop_free(r->loop);
    close(r->other);
}

static void run_for_ms(rig *r, unsigned ms)
{
    vk_loop_run(r->loop, vk_loop_now(r->loop) + (uint64_t)ms * 1000000u);
}

/* Frame i: 16 + (i * 37) % 200 bytes, first byte i. */
static vk_frame *numbered(size_t i)
{
    vk_frame *f = vk_frame_new(NULL, 16 + (i * 37) % 200);
    assert_non_null(f);
    f->data[0] = (uint8_t)i;
    return f;
}

static void test_a_burst_into_a_stream_goes_out_as_the_same_records(void **state)
{
    (void)state;
    rig r;
    rig_make(&r, false);
    enum { N = 300, EMPTY = 150 };
    vk_frame *f[N];
    for (size_t i = 0; i < N; i++)
        f[i] = i == EMPTY ? vk_frame_new(NULL, 0) : numbered(i);
    vk_port_send_burst(r.me, f, N);
    assert_int_equal(r.s->stats.rx_frames, N);
    assert_int_equal(r.s->stats.drops_other, 1); /* the empty frame, dropped with its reason */
    run_for_ms(&r, 30); /* the end of the loop turn writes the buffer */
    vk_stream_rx rx;
    assert_int_equal(vk_stream_rx_init(&rx, VK_STREAM_RX_BUF), VK_OK);
    size_t room;
    uint8_t *space = vk_stream_rx_space(&rx, &room);
    ssize_t got = read(r.other, space, room);
    assert_true(got > 0);
    vk_stream_rx_commit(&rx, (size_t)got);
    size_t k = 0;
    const uint8_t *frame;
    size_t len;
    while (vk_stream_rx_next(&rx, &frame, &len) == VK_OK) {
        if (k == EMPTY)
            k++;
        assert_true(k < N);
        assert_int_equal(len, f[k]->len);
        assert_memory_equal(frame, f[k]->data, len);
        k++;
    }
    assert_int_equal(k, N);
    vk_stream_rx_free(&rx);
    for (size_t i = 0; i < N; i++)
        vk_frame_unref(f[i]);
    rig_free(&r);
}

/* Nobody reads the other end: the socket and the transmit buffer fill, then
 * the port queue, then frames are dropped as "queue full"; every frame is
 * somewhere in the count.  Once the peer reads, every frame taken arrives. */
static void test_a_stream_that_stops_reading_pushes_bursts_back_into_the_queue(void **state)
{
    (void)state;
    rig r;
    rig_make(&r, false);
    enum { BURST = 64, ROUNDS = 60 };
    vk_frame *one = vk_frame_new(NULL, 1500), *f[BURST];
    assert_non_null(one);
    for (size_t i = 0; i < BURST; i++)
        f[i] = one; /* one frame, sent over and over: the queue refs it each time */
    for (int k = 0; k < ROUNDS; k++)
        vk_port_send_burst(r.me, f, BURST);
    const vk_port_stats *st = &r.s->stats;
    assert_true(st->queued > 0);
    assert_int_equal(vk_port_queue_len(r.s), VK_PORT_QUEUE_DEFAULT);
    assert_true(st->drops_queue_full > 0);
    assert_int_equal(st->rx_frames + vk_port_queue_len(r.s) + st->drops_queue_full,
                     (uint64_t)BURST * ROUNDS);
    assert_int_equal(r.me->stats.tx_frames, (uint64_t)BURST * ROUNDS);
    assert_int_equal(one->refcnt, 1 + vk_port_queue_len(r.s));
    /* the peer reads again: the queue drains into the port (a burst at a
     * time) and every frame the port took reaches the socket */
    uint64_t taken_before = st->rx_frames;
    size_t got = 0;
    static uint8_t buf[256 * 1024];
    for (int i = 0; i < 400; i++) {
        ssize_t n;
        while ((n = read(r.other, buf, sizeof buf)) > 0)
            got += (size_t)n;
        if (vk_port_queue_len(r.s) == 0 && got == st->rx_frames * (VK_STREAM_HDR_LEN + 1500))
            break;
        run_for_ms(&r, 5);
    }
    assert_int_equal(vk_port_queue_len(r.s), 0);
    assert_int_equal(st->rx_frames, taken_before + VK_PORT_QUEUE_DEFAULT);
    assert_int_equal(got, st->rx_frames * (VK_STREAM_HDR_LEN + 1500));
    assert_int_equal(st->drops_other, 0);
    assert_int_equal(one->refcnt, 1);
    vk_frame_unref(one);
    rig_free(&r);
}

/* Writes n records numbered from 0 into the other end of the stream. */
static void write_records(rig *r, size_t n)
{
    vk_stream_tx tx;
    assert_int_equal(vk_stream_tx_init(&tx, VK_STREAM_TX_BUF), VK_OK);
    for (size_t i = 0; i < n; i++) {
        vk_frame *f = numbered(i);
        assert_int_equal(vk_stream_tx_put(&tx, f->data, f->len), VK_OK);
        vk_frame_unref(f);
    }
    size_t len;
    const uint8_t *data = vk_stream_tx_data(&tx, &len);
    assert_int_equal(write(r->other, data, len), (ssize_t)len);
    vk_stream_tx_free(&tx);
}

static void read_records(bool traced)
{
    rig r;
    rig_make(&r, traced);
    enum { N = 500 };
    write_records(&r, N);
    seen *s = r.me->priv;
    for (int i = 0; i < 100 && s->n < N; i++)
        run_for_ms(&r, 10);
    assert_int_equal(s->n, N);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(s->len[i], 16 + (i * 37) % 200);
        assert_int_equal(s->byte[i], (uint8_t)i);
    }
    assert_true(s->ids_rise);
    assert_int_equal(r.s->stats.tx_frames, N);
    assert_int_equal(r.me->stats.rx_frames, N);
    if (traced) { /* every frame its own record, through receive() */
        assert_int_equal(traced_in, N);
        assert_int_equal(s->burst_calls, 0);
        assert_int_equal(s->single_calls, N);
    } else {
        assert_true(s->burst_calls > 0 && s->burst_calls < N);
        assert_int_equal(s->single_calls, 0);
    }
    rig_free(&r);
}

static void test_frames_read_from_a_stream_reach_a_burst_port_in_order(void **state)
{
    (void)state;
    read_records(false);
}

static void test_frames_read_from_a_traced_stream_go_one_by_one(void **state)
{
    (void)state;
    read_records(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_burst_into_a_stream_goes_out_as_the_same_records),
        cmocka_unit_test(test_a_stream_that_stops_reading_pushes_bursts_back_into_the_queue),
        cmocka_unit_test(test_frames_read_from_a_stream_reach_a_burst_port_in_order),
        cmocka_unit_test(test_frames_read_from_a_traced_stream_go_one_by_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
