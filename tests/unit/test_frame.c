/* The frame ownership rule (frame.h) and the port queue that holds frame
 * references under backpressure (port.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/net.h"

static void test_new_frame_has_one_reference_and_a_copy_of_the_bytes(void **state)
{
    (void)state;
    uint8_t bytes[60];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)i;
    vk_frame *f = vk_frame_new(bytes, sizeof bytes);
    assert_non_null(f);
    assert_int_equal(f->refcnt, 1);
    assert_int_equal(f->len, 60);
    assert_true(f->cap >= f->len);
    assert_int_equal(f->id, 0);
    bytes[0] = 0xff; /* the frame owns a copy */
    assert_int_equal(f->data[0], 0);
    assert_int_equal(f->data[59], 59);
    vk_frame_unref(f);
}

static void test_null_data_gives_zeroed_bytes(void **state)
{
    (void)state;
    vk_frame *f = vk_frame_new(NULL, 1514);
    assert_non_null(f);
    for (size_t i = 0; i < f->len; i++)
        assert_int_equal(f->data[i], 0);
    vk_frame_unref(f);
    vk_frame *e = vk_frame_new(NULL, 0);
    assert_non_null(e);
    assert_int_equal(e->len, 0);
    vk_frame_unref(e);
}

static void test_frame_lives_until_its_last_reference_is_dropped(void **state)
{
    (void)state;
    /* run under ASan/valgrind, a premature free shows as a use after free */
    vk_frame *f = vk_frame_new("abcdef", 6);
    assert_ptr_equal(vk_frame_ref(f), f);
    assert_ptr_equal(vk_frame_ref(f), f);
    assert_int_equal(f->refcnt, 3);
    vk_frame_unref(f);
    vk_frame_unref(f);
    assert_int_equal(f->refcnt, 1);
    assert_memory_equal(f->data, "abcdef", 6);
    vk_frame_unref(f);
    vk_frame_unref(NULL); /* harmless */
}

static void test_clone_is_a_private_copy_that_keeps_the_id(void **state)
{
    (void)state;
    vk_frame *f = vk_frame_new("hello", 5);
    f->id = 42;
    vk_frame_ref(f);
    vk_frame *c = vk_frame_clone(f);
    assert_non_null(c);
    assert_ptr_not_equal(c, f);
    assert_ptr_not_equal(c->data, f->data);
    assert_int_equal(c->refcnt, 1);
    assert_int_equal(c->id, 42);
    assert_int_equal(c->len, 5);
    c->data[0] = 'j'; /* writable without touching the shared original */
    assert_memory_equal(f->data, "hello", 5);
    assert_int_equal(f->refcnt, 2);
    vk_frame_unref(c);
    vk_frame_unref(f);
    vk_frame_unref(f);
}

static void test_frame_size_is_capped_at_vk_frame_max(void **state)
{
    (void)state;
    vk_frame *big = vk_frame_new(NULL, VK_FRAME_MAX);
    assert_non_null(big);
    assert_int_equal(big->len, VK_FRAME_MAX);
    big->data[VK_FRAME_MAX - 1] = 1; /* the whole length is usable */
    vk_frame_unref(big);
    assert_null(vk_frame_new(NULL, VK_FRAME_MAX + 1));
    assert_null(vk_frame_new(NULL, SIZE_MAX));
}

/* ---- the port queue ---- */

typedef struct sink {
    size_t allow; /* frames it can still take (SIZE_MAX: any number) */
    size_t count;
    uint64_t ids[4096];
} sink;

static int sink_receive(vk_port *self, vk_frame *f)
{
    sink *s = self->priv;
    if (s->count < sizeof s->ids / sizeof s->ids[0])
        s->ids[s->count] = f->id;
    s->count++;
    if (s->allow != SIZE_MAX)
        s->allow--;
    return VK_OK;
}

static bool sink_can_receive(vk_port *self)
{
    return ((sink *)self->priv)->allow > 0;
}

static const vk_port_ops sink_ops = {
    .kind = "sink", .receive = sink_receive, .can_receive = sink_can_receive};

typedef struct pair {
    vk_loop *loop;
    vk_net *net;
    vk_port *src, *dst;
} pair;

static void make_pair(pair *p)
{
    p->loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    p->net = vk_net_new(p->loop);
    assert_int_equal(vk_port_new(p->net, &sink_ops, "src", "sink", sizeof(sink), &p->src,
                                 NULL), VK_OK);
    assert_int_equal(vk_port_new(p->net, &sink_ops, "dst", "sink", sizeof(sink), &p->dst,
                                 NULL), VK_OK);
    assert_int_equal(vk_net_connect(p->src, p->dst, NULL), VK_OK);
}

static void free_pair(pair *p)
{
    vk_net_free(p->net);
    vk_loop_free(p->loop);
}

static void test_queue_keeps_its_own_reference_to_waiting_frames(void **state)
{
    (void)state;
    pair p;
    make_pair(&p);
    vk_frame *f = vk_frame_new(NULL, 60);
    vk_port_send(p.src, f);
    assert_int_equal(f->refcnt, 2); /* the sender's and the queue's */
    vk_frame_unref(f);              /* the sender is done: the queue keeps it alive */
    assert_int_equal(vk_port_queue_len(p.dst), 1);
    ((sink *)p.dst->priv)->allow = SIZE_MAX;
    vk_port_flush(p.dst);
    assert_int_equal(((sink *)p.dst->priv)->count, 1);
    assert_int_equal(vk_port_queue_len(p.dst), 0);
    free_pair(&p);
}

static void test_receiver_that_can_take_a_frame_gets_it_without_a_queue_reference(void **state)
{
    (void)state;
    pair p;
    make_pair(&p);
    ((sink *)p.dst->priv)->allow = SIZE_MAX;
    vk_frame *f = vk_frame_new(NULL, 60);
    vk_port_send(p.src, f);
    assert_int_equal(f->refcnt, 1);
    assert_int_equal(((sink *)p.dst->priv)->ids[0], f->id);
    assert_null(p.dst->inq.ring); /* no queue was ever allocated */
    vk_frame_unref(f);
    free_pair(&p);
}

static void test_a_lent_frame_reads_the_lenders_bytes_without_a_copy(void **state)
{
    (void)state;
    uint8_t buf[64];
    memset(buf, 0x5a, sizeof buf);
    vk_frame *f = vk_frame_lend(buf, sizeof buf);
    assert_non_null(f);
    assert_ptr_equal(f->data, buf);
    assert_int_equal(f->len, 64);
    assert_int_equal(f->refcnt, 1);
    vk_frame_settle(f); /* the only reference: nothing to copy, the frame goes */
}

static void test_a_lent_frame_kept_by_a_queue_gets_its_own_copy_when_settled(void **state)
{
    (void)state;
    pair p;
    make_pair(&p); /* dst takes nothing: the frame waits in its queue */
    uint8_t buf[60];
    memset(buf, 0x11, sizeof buf);
    vk_frame *f = vk_frame_lend(buf, sizeof buf);
    vk_port_send(p.src, f);
    assert_int_equal(vk_port_queue_len(p.dst), 1);
    vk_frame *kept = p.dst->inq.ring[p.dst->inq.head];
    assert_ptr_equal(kept, f);
    vk_frame_settle(f);
    memset(buf, 0xee, sizeof buf); /* the lender reuses its buffer */
    assert_int_equal(kept->refcnt, 1);
    assert_ptr_not_equal(kept->data, buf);
    for (size_t i = 0; i < kept->len; i++)
        assert_int_equal(kept->data[i], 0x11);
    ((sink *)p.dst->priv)->allow = SIZE_MAX;
    vk_port_flush(p.dst);
    assert_int_equal(((sink *)p.dst->priv)->count, 1);
    free_pair(&p);
}

/* A pooled buffer that last held a super-segment comes back, lent, as a
 * plain frame. */
static void test_a_lent_frame_is_a_plain_frame_whatever_the_pool_held(void **state)
{
    (void)state;
    uint8_t buf[64] = {0};
    vk_frame *g = vk_frame_new(buf, sizeof buf);
    assert_non_null(g);
    g->gso_mss = 1448;
    vk_frame_unref(g);
    vk_frame *f = vk_frame_lend(buf, sizeof buf);
    assert_non_null(f);
    assert_int_equal(f->gso_mss, 0);
    vk_frame_unref(f);
}

static void test_lending_more_than_the_pool_size_makes_a_copy(void **state)
{
    (void)state;
    static uint8_t big[VK_FRAME_POOL_BYTES + 1];
    memset(big, 0x77, sizeof big);
    vk_frame *f = vk_frame_lend(big, sizeof big);
    assert_non_null(f);
    assert_ptr_not_equal(f->data, big);
    assert_memory_equal(f->data, big, sizeof big);
    vk_frame_ref(f);
    vk_frame_settle(f);
    assert_int_equal(f->refcnt, 1);
    vk_frame_unref(f);
    assert_null(vk_frame_lend(big, VK_FRAME_MAX + 1));
}

static void test_queue_grows_on_demand_up_to_its_limit(void **state)
{
    (void)state;
    pair p;
    make_pair(&p);
    vk_port_set_queue_limit(p.dst, 100);
    size_t last_cap = 0;
    for (size_t i = 0; i < 130; i++) {
        assert_int_equal(vk_port_send_bytes(p.src, NULL, 60), VK_OK);
        /* capacity never exceeds the limit nor runs ahead of the length by 2x */
        assert_true(p.dst->inq.cap <= 100);
        assert_true(p.dst->inq.cap >= p.dst->inq.len);
        assert_true(p.dst->inq.cap >= last_cap);
        last_cap = p.dst->inq.cap;
    }
    assert_int_equal(vk_port_queue_len(p.dst), 100);
    assert_int_equal(p.dst->inq.cap, 100);
    assert_int_equal(p.dst->stats.drops_queue_full, 30);
    assert_int_equal(p.dst->stats.queued, 100);
    assert_int_equal(p.dst->stats.queue_high_water, 100);
    /* the kept frames are the first hundred, delivered in order */
    ((sink *)p.dst->priv)->allow = SIZE_MAX;
    vk_port_flush(p.dst);
    sink *s = p.dst->priv;
    assert_int_equal(s->count, 100);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(s->ids[i], i + 1);
    free_pair(&p);
}

static void test_queue_wraps_around_and_regrows_in_order(void **state)
{
    (void)state;
    pair p;
    make_pair(&p);
    sink *s = p.dst->priv;
    /* fill the first ring (16), let half through, then refill past 16 so the
     * ring grows while its head is in the middle */
    for (int i = 0; i < 16; i++)
        vk_port_send_bytes(p.src, NULL, 60);
    assert_int_equal(p.dst->inq.cap, 16);
    s->allow = 8;
    vk_port_flush(p.dst);
    assert_int_equal(s->count, 8);
    assert_int_equal(p.dst->inq.head, 8);
    for (int i = 0; i < 40; i++)
        vk_port_send_bytes(p.src, NULL, 60);
    assert_int_equal(vk_port_queue_len(p.dst), 48);
    assert_int_equal(p.dst->inq.cap, 64);
    s->allow = SIZE_MAX;
    vk_port_flush(p.dst);
    assert_int_equal(s->count, 56);
    for (size_t i = 0; i < 56; i++)
        assert_int_equal(s->ids[i], i + 1);
    free_pair(&p);
}

static void test_default_queue_limit_is_vk_port_queue_default(void **state)
{
    (void)state;
    pair p;
    make_pair(&p);
    for (size_t i = 0; i < VK_PORT_QUEUE_DEFAULT + 5; i++)
        vk_port_send_bytes(p.src, NULL, 60);
    assert_int_equal(vk_port_queue_len(p.dst), VK_PORT_QUEUE_DEFAULT);
    assert_int_equal(p.dst->stats.drops_queue_full, 5);
    free_pair(&p);
}

static void test_freeing_the_net_releases_queued_frames(void **state)
{
    (void)state;
    pair p;
    make_pair(&p);
    vk_frame *f = vk_frame_new(NULL, 60);
    vk_port_send(p.src, f);
    vk_port_send(p.src, f);
    assert_int_equal(f->refcnt, 3);
    free_pair(&p);
    /* the queue dropped both its references; ours is the last */
    assert_int_equal(f->refcnt, 1);
    vk_frame_unref(f);
}

/* True when this build recycles frames (sanitizer builds do not). */
static bool pool_is_on(void)
{
    vk_frame_pool_stats a, b;
    vk_frame_unref(vk_frame_new(NULL, 60));
    vk_frame_pool_stats_get(&a);
    vk_frame_unref(vk_frame_new(NULL, 60));
    vk_frame_pool_stats_get(&b);
    return b.reused == a.reused + 1;
}

static void test_a_released_small_frame_is_reused_without_a_malloc(void **state)
{
    (void)state;
    if (!pool_is_on())
        skip();
    vk_frame_pool_stats a, b;
    vk_frame *f = vk_frame_new(NULL, 1514);
    f->data[0] = 0xab;
    vk_frame_unref(f);
    vk_frame_pool_stats_get(&a);
    uint8_t bytes[64];
    memset(bytes, 0x5a, sizeof bytes);
    vk_frame *g = vk_frame_new(bytes, sizeof bytes);
    vk_frame_pool_stats_get(&b);
    assert_int_equal(b.reused, a.reused + 1);
    assert_int_equal(b.allocated, a.allocated);
    /* a recycled buffer is a fresh frame: new length, bytes, id, one ref */
    assert_int_equal(g->len, 64);
    assert_int_equal(g->data[0], 0x5a);
    assert_int_equal(g->id, 0);
    assert_int_equal(g->refcnt, 1);
    assert_true(g->cap >= g->len);
    vk_frame_unref(g);
}

static void test_frames_larger_than_the_pool_size_are_allocated_alone(void **state)
{
    (void)state;
    vk_frame_pool_stats a, b;
    vk_frame_pool_stats_get(&a);
    vk_frame *f = vk_frame_new(NULL, VK_FRAME_POOL_BYTES + 1);
    vk_frame_unref(f);
    vk_frame_pool_stats_get(&b);
    assert_int_equal(b.allocated, a.allocated + 1);
    assert_int_equal(b.idle, a.idle); /* not kept */
}

static void test_pool_keeps_at_most_vk_frame_pool_max_idle_buffers(void **state)
{
    (void)state;
    if (!pool_is_on())
        skip();
    enum { N = VK_FRAME_POOL_MAX + 10 };
    static vk_frame *live[N];
    vk_frame_pool_trim();
    vk_frame_pool_stats a, b;
    vk_frame_pool_stats_get(&a);
    assert_int_equal(a.idle, 0);
    for (size_t i = 0; i < N; i++)
        assert_non_null(live[i] = vk_frame_new(NULL, 60));
    for (size_t i = 0; i < N; i++)
        vk_frame_unref(live[i]);
    vk_frame_pool_stats_get(&b);
    assert_int_equal(b.idle, VK_FRAME_POOL_MAX);
    assert_int_equal(b.released, a.released + 10);
    vk_frame_pool_trim();
    vk_frame_pool_stats_get(&b);
    assert_int_equal(b.idle, 0);
}

/* A slot keeps a frame nobody else holds from one loan to the next: the
 * second loan is the same frame, lending the new bytes, with no trace of
 * the first (id, note). */
static void test_a_slot_lends_its_frame_again_when_nobody_kept_it(void **state)
{
    (void)state;
    vk_frame *slot = NULL;
    uint8_t a[60], b[70];
    memset(a, 1, sizeof a);
    memset(b, 2, sizeof b);
    vk_frame *f = vk_frame_lend_slot(&slot, a, sizeof a);
    assert_non_null(f);
    assert_ptr_equal(f->data, a);
    f->id = 42;
    assert_int_equal(vk_frame_set_note(f, "seen"), VK_OK);
    vk_frame_settle_slot(&slot, f);
    vk_frame_pool_stats before;
    vk_frame_pool_stats_get(&before);
    vk_frame *g = vk_frame_lend_slot(&slot, b, sizeof b);
    assert_non_null(g);
    assert_ptr_equal(g->data, b);
    assert_int_equal(g->len, sizeof b);
    assert_int_equal(g->id, 0);
    assert_null(g->note);
    assert_int_equal(g->refcnt, 1);
    vk_frame_pool_stats after;
    vk_frame_pool_stats_get(&after);
    if (slot != NULL) { /* pooled build: the slot's frame, not the pool's */
        assert_ptr_equal(g, f);
        assert_int_equal(after.reused, before.reused);
        assert_int_equal(after.allocated, before.allocated);
    } else { /* sanitizer build: slots stay empty, every loan is fresh */
        assert_int_equal(after.allocated, before.allocated + 1);
    }
    vk_frame_settle_slot(&slot, g);
    vk_frame_slot_free(&slot);
    assert_null(slot);
}

/* A frame somebody kept leaves the slot with its own copy of the bytes; the
 * next loan gets another frame. */
static void test_a_slot_frame_somebody_kept_leaves_the_slot_with_a_copy(void **state)
{
    (void)state;
    vk_frame *slot = NULL;
    uint8_t buf[60];
    memset(buf, 0x11, sizeof buf);
    vk_frame *f = vk_frame_lend_slot(&slot, buf, sizeof buf);
    assert_non_null(f);
    vk_frame_ref(f); /* a queue keeps it */
    vk_frame_settle_slot(&slot, f);
    assert_null(slot);
    uint8_t lent[sizeof buf];
    memcpy(lent, buf, sizeof buf);
    memset(buf, 0xee, sizeof buf); /* the lender reuses its buffer */
    assert_true(f->refcnt == 1 && f->data != buf);
    assert_memory_equal(f->data, lent, sizeof lent);
    vk_frame *g = vk_frame_lend_slot(&slot, buf, sizeof buf);
    assert_ptr_not_equal(g, f);
    vk_frame_settle_slot(&slot, g);
    vk_frame_slot_free(&slot);
    vk_frame_unref(f);
}

/* A frame longer than a pooled buffer is lent as a copy and never enters
 * the slot; a slot's frame does not take it either. */
static void test_a_slot_lends_a_frame_longer_than_the_pool_as_a_copy(void **state)
{
    (void)state;
    static uint8_t big[VK_FRAME_POOL_BYTES + 100];
    uint8_t small[60] = {0};
    memset(big, 0x77, sizeof big);
    vk_frame *slot = NULL;
    vk_frame *f = vk_frame_lend_slot(&slot, small, sizeof small);
    vk_frame_settle_slot(&slot, f);
    vk_frame *held = slot;
    vk_frame *g = vk_frame_lend_slot(&slot, big, sizeof big);
    assert_non_null(g);
    assert_ptr_not_equal(g->data, big);
    assert_memory_equal(g->data, big, sizeof big);
    assert_ptr_equal(slot, held); /* the slot keeps its own frame */
    vk_frame_settle_slot(&slot, g);
    assert_ptr_equal(slot, held);
    vk_frame_slot_free(&slot);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_frame_has_one_reference_and_a_copy_of_the_bytes),
        cmocka_unit_test(test_null_data_gives_zeroed_bytes),
        cmocka_unit_test(test_frame_lives_until_its_last_reference_is_dropped),
        cmocka_unit_test(test_clone_is_a_private_copy_that_keeps_the_id),
        cmocka_unit_test(test_frame_size_is_capped_at_vk_frame_max),
        cmocka_unit_test(test_queue_keeps_its_own_reference_to_waiting_frames),
        cmocka_unit_test(test_receiver_that_can_take_a_frame_gets_it_without_a_queue_reference),
        cmocka_unit_test(test_a_lent_frame_reads_the_lenders_bytes_without_a_copy),
        cmocka_unit_test(test_a_lent_frame_kept_by_a_queue_gets_its_own_copy_when_settled),
        cmocka_unit_test(test_a_lent_frame_is_a_plain_frame_whatever_the_pool_held),
        cmocka_unit_test(test_lending_more_than_the_pool_size_makes_a_copy),
        cmocka_unit_test(test_queue_grows_on_demand_up_to_its_limit),
        cmocka_unit_test(test_queue_wraps_around_and_regrows_in_order),
        cmocka_unit_test(test_default_queue_limit_is_vk_port_queue_default),
        cmocka_unit_test(test_freeing_the_net_releases_queued_frames),
        cmocka_unit_test(test_a_released_small_frame_is_reused_without_a_malloc),
        cmocka_unit_test(test_frames_larger_than_the_pool_size_are_allocated_alone),
        cmocka_unit_test(test_pool_keeps_at_most_vk_frame_pool_max_idle_buffers),
        cmocka_unit_test(test_a_slot_lends_its_frame_again_when_nobody_kept_it),
        cmocka_unit_test(test_a_slot_frame_somebody_kept_leaves_the_slot_with_a_copy),
        cmocka_unit_test(test_a_slot_lends_a_frame_longer_than_the_pool_as_a_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
