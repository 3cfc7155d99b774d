/* The event loop: the virtual clock's promises (time jumps from event to event,
 * arming order breaks ties, runs are reproducible) and the live clock's
 * (real time, file descriptors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>

#include <cmocka.h>

#include "core/error.h"
#include "core/loop.h"

/* A log of timer firings: which timer (by tag) at which loop time. */
#define LOG_MAX 20000

typedef struct fire_log {
    size_t n;
    int tag[LOG_MAX];
    uint64_t at[LOG_MAX];
} fire_log;

typedef struct tagged {
    vk_loop *loop;
    vk_timer *timer;
    fire_log *log;
    int tag;
    uint64_t armed_for;  /* the time it was armed for */
    uint64_t now_in_cb;  /* vk_loop_now() seen inside the callback */
    uint64_t arg_now;    /* `now` passed to the callback */
    int fired;
} tagged;

static void on_tagged(void *arg, uint64_t now)
{
    tagged *t = arg;
    t->fired++;
    t->arg_now = now;
    t->now_in_cb = vk_loop_now(t->loop);
    if (t->log != NULL && t->log->n < LOG_MAX) {
        t->log->tag[t->log->n] = t->tag;
        t->log->at[t->log->n] = now;
        t->log->n++;
    }
}

static void tagged_init(tagged *t, vk_loop *loop, fire_log *log, int tag)
{
    memset(t, 0, sizeof *t);
    t->loop = loop;
    t->log = log;
    t->tag = tag;
    t->timer = vk_timer_new(loop, on_tagged, t);
    assert_non_null(t->timer);
}

static void tagged_arm(tagged *t, uint64_t when)
{
    t->armed_for = when;
    vk_timer_arm(t->timer, when);
}

/* ---- virtual clock ---- */

static void test_virtual_now_is_each_timers_time_inside_its_callback(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    assert_int_equal(vk_loop_now(loop), 0);
    tagged t[3];
    const uint64_t when[3] = {5 * VK_NS_PER_SEC, 1000, 3600 * VK_NS_PER_SEC};
    for (int i = 0; i < 3; i++) {
        tagged_init(&t[i], loop, NULL, i);
        tagged_arm(&t[i], when[i]);
    }
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(t[i].fired, 1);
        assert_int_equal(t[i].now_in_cb, when[i]);
        assert_int_equal(t[i].arg_now, when[i]);
        vk_timer_free(t[i].timer);
    }
    /* an hour of virtual time passed without waiting for it */
    assert_int_equal(vk_loop_now(loop), 3600 * VK_NS_PER_SEC);
    vk_loop_free(loop);
}

static void test_virtual_timers_at_same_instant_fire_in_arming_order(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    fire_log *log = calloc(1, sizeof *log);
    enum { N = 50 };
    tagged t[N];
    /* armed in tag order, all for the same instant, interleaved with an
     * earlier one so the heap has to reorder */
    for (int i = 0; i < N; i++)
        tagged_init(&t[i], loop, log, i);
    for (int i = 0; i < N; i++)
        tagged_arm(&t[i], i == 17 ? 10 : 100);
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_OK);
    assert_int_equal(log->n, N);
    assert_int_equal(log->tag[0], 17);
    int expect = 0;
    for (size_t k = 1; k < log->n; k++, expect++) {
        if (expect == 17)
            expect++;
        assert_int_equal(log->tag[k], expect);
        assert_int_equal(log->at[k], 100);
    }
    for (int i = 0; i < N; i++)
        vk_timer_free(t[i].timer);
    free(log);
    vk_loop_free(loop);
}

static void test_rearming_moves_a_timer_to_the_back_of_its_instant(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    fire_log log = {0};
    tagged a, b;
    tagged_init(&a, loop, &log, 1);
    tagged_init(&b, loop, &log, 2);
    tagged_arm(&a, 50);
    tagged_arm(&b, 50);
    tagged_arm(&a, 50); /* re-armed: now armed after b */
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_OK);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.tag[0], 2);
    assert_int_equal(log.tag[1], 1);
    assert_int_equal(a.fired, 1);
    vk_timer_free(a.timer);
    vk_timer_free(b.timer);
    vk_loop_free(loop);
}

/* A periodic timer that re-arms itself from its callback `left` times. */
typedef struct periodic {
    vk_timer *timer;
    uint64_t period;
    int left;
    uint64_t times[16];
    int n;
} periodic;

static void on_periodic(void *arg, uint64_t now)
{
    periodic *p = arg;
    p->times[p->n++] = now;
    if (--p->left > 0)
        vk_timer_arm(p->timer, now + p->period);
}

static void test_timer_rearmed_inside_its_callback_fires_again(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    periodic p = {.period = 7, .left = 5};
    p.timer = vk_timer_new(loop, on_periodic, &p);
    vk_timer_arm(p.timer, 3);
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_OK);
    assert_int_equal(p.n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(p.times[i], 3 + 7 * (uint64_t)i);
    assert_false(vk_timer_pending(p.timer));
    vk_timer_free(p.timer);
    vk_loop_free(loop);
}

/* A timer whose callback cancels another. */
typedef struct canceller {
    vk_timer *victim;
    int fired;
} canceller;

static void on_cancel_other(void *arg, uint64_t now)
{
    (void)now;
    canceller *c = arg;
    c->fired++;
    vk_timer_cancel(c->victim);
}

static void test_timer_cancelled_inside_a_callback_never_fires(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    tagged later, same;
    tagged_init(&later, loop, NULL, 1);
    tagged_init(&same, loop, NULL, 2);
    canceller c1 = {.victim = later.timer}, c2 = {.victim = same.timer};
    vk_timer *k1 = vk_timer_new(loop, on_cancel_other, &c1);
    vk_timer *k2 = vk_timer_new(loop, on_cancel_other, &c2);
    vk_timer_arm(k1, 10);
    tagged_arm(&later, 20);
    /* same instant, armed after its canceller: already due when cancelled */
    vk_timer_arm(k2, 30);
    tagged_arm(&same, 30);
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_OK);
    assert_int_equal(c1.fired, 1);
    assert_int_equal(c2.fired, 1);
    assert_int_equal(later.fired, 0);
    assert_int_equal(same.fired, 0);
    assert_false(vk_timer_pending(later.timer));
    vk_timer_free(k1);
    vk_timer_free(k2);
    vk_timer_free(later.timer);
    vk_timer_free(same.timer);
    vk_loop_free(loop);
}

static void test_timer_cancelling_itself_then_rearming_fires_once_more(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    periodic p = {.period = 1, .left = 2};
    p.timer = vk_timer_new(loop, on_periodic, &p);
    vk_timer_arm(p.timer, 1);
    vk_timer_cancel(p.timer);
    vk_timer_cancel(p.timer); /* cancelling twice is harmless */
    assert_false(vk_timer_pending(p.timer));
    vk_timer_arm(p.timer, 4);
    assert_true(vk_timer_pending(p.timer));
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_OK);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.times[0], 4);
    assert_int_equal(p.times[1], 5);
    vk_timer_free(p.timer);
    vk_loop_free(loop);
}

/* Arms `other` in the past (time 0) from inside a callback at a later time. */
typedef struct past_armer {
    tagged *other;
} past_armer;

static void on_arm_in_past(void *arg, uint64_t now)
{
    (void)now;
    past_armer *pa = arg;
    vk_timer_arm(pa->other->timer, 0);
}

static void test_timer_armed_in_the_past_fires_at_now(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    tagged late;
    tagged_init(&late, loop, NULL, 1);
    past_armer pa = {&late};
    vk_timer *t = vk_timer_new(loop, on_arm_in_past, &pa);
    vk_timer_arm(t, 1000);
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_OK);
    assert_int_equal(late.fired, 1);
    assert_int_equal(late.arg_now, 1000);
    assert_int_equal(vk_loop_now(loop), 1000);
    /* also from outside a callback, after the clock moved */
    vk_timer_arm(late.timer, 5);
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_OK);
    assert_int_equal(late.fired, 2);
    assert_int_equal(late.arg_now, 1000);
    vk_timer_free(t);
    vk_timer_free(late.timer);
    vk_loop_free(loop);
}

static void test_run_with_deadline_stops_at_deadline_and_keeps_later_timers(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    tagged before, at, after;
    tagged_init(&before, loop, NULL, 1);
    tagged_init(&at, loop, NULL, 2);
    tagged_init(&after, loop, NULL, 3);
    tagged_arm(&before, 100);
    tagged_arm(&at, 500);
    tagged_arm(&after, 501);
    assert_int_equal(vk_loop_run(loop, 500), VK_OK);
    assert_int_equal(vk_loop_now(loop), 500);
    assert_int_equal(before.fired, 1);
    assert_int_equal(at.fired, 1); /* due exactly at the deadline: fires */
    assert_int_equal(after.fired, 0);
    assert_true(vk_timer_pending(after.timer));
    /* the next run picks up where the last left off */
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_OK);
    assert_int_equal(after.fired, 1);
    assert_int_equal(vk_loop_now(loop), 501);
    vk_timer_free(before.timer);
    vk_timer_free(at.timer);
    vk_timer_free(after.timer);
    vk_loop_free(loop);
}

static void test_deadline_before_every_timer_still_advances_now(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    tagged t;
    tagged_init(&t, loop, NULL, 1);
    tagged_arm(&t, 10 * VK_NS_PER_SEC);
    assert_int_equal(vk_loop_run(loop, VK_NS_PER_SEC), VK_OK);
    assert_int_equal(vk_loop_now(loop), VK_NS_PER_SEC);
    assert_int_equal(t.fired, 0);
    vk_timer_free(t.timer);
    vk_loop_free(loop);
}

static void test_deadline_already_past_never_moves_the_clock_back(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    tagged t;
    tagged_init(&t, loop, NULL, 1);
    tagged_arm(&t, 10 * VK_NS_PER_SEC);
    assert_int_equal(vk_loop_run(loop, 5 * VK_NS_PER_SEC), VK_OK);
    assert_int_equal(vk_loop_now(loop), 5 * VK_NS_PER_SEC);
    /* a second run asked to stop at an earlier time: nothing fires, and
     * virtual time stays where it is (it never runs backwards) */
    assert_int_equal(vk_loop_run(loop, 2 * VK_NS_PER_SEC), VK_OK);
    assert_int_equal(vk_loop_now(loop), 5 * VK_NS_PER_SEC);
    assert_int_equal(t.fired, 0);
    assert_int_equal(vk_loop_run(loop, 20 * VK_NS_PER_SEC), VK_OK);
    assert_int_equal(t.fired, 1);
    vk_timer_free(t.timer);
    vk_loop_free(loop);
}

typedef struct stopper {
    vk_loop *loop;
    int status;
    int fired;
} stopper;

static void on_stop(void *arg, uint64_t now)
{
    (void)now;
    stopper *s = arg;
    s->fired++;
    vk_loop_stop(s->loop, s->status);
}

static void test_stop_returns_its_status_and_leaves_later_timers(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    stopper s = {loop, VK_EFORMAT, 0};
    vk_timer *st = vk_timer_new(loop, on_stop, &s);
    tagged same, later;
    tagged_init(&same, loop, NULL, 1);
    tagged_init(&later, loop, NULL, 2);
    vk_timer_arm(st, 10);
    tagged_arm(&same, 10); /* same instant, after the stop: does not fire */
    tagged_arm(&later, 20);
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_EFORMAT);
    assert_true(vk_loop_stopped(loop));
    assert_int_equal(vk_loop_now(loop), 10);
    assert_int_equal(same.fired, 0);
    assert_int_equal(later.fired, 0);
    assert_true(vk_timer_pending(later.timer));
    vk_timer_free(st);
    vk_timer_free(same.timer);
    vk_timer_free(later.timer);
    vk_loop_free(loop);
}

static void on_stop_twice(void *arg, uint64_t now)
{
    (void)now;
    stopper *s = arg;
    s->fired++;
    vk_loop_stop(s->loop, s->status);
    vk_loop_stop(s->loop, VK_EIO);
}

static void test_first_stop_status_of_a_run_wins(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    stopper a = {loop, VK_ETRUNC, 0};
    vk_timer *ta = vk_timer_new(loop, on_stop_twice, &a);
    vk_timer_arm(ta, 1);
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_ETRUNC);
    assert_int_equal(a.fired, 1);
    /* a later run that nobody stops is not charged with the old status */
    tagged t;
    tagged_init(&t, loop, NULL, 1);
    tagged_arm(&t, 5);
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_OK);
    assert_int_equal(t.fired, 1);
    vk_timer_free(t.timer);
    vk_timer_free(ta);
    vk_loop_free(loop);
}

/* A housekeeping timer that re-arms itself every 10 ns. */
typedef struct ticker {
    vk_timer *timer;
    int fired;
} ticker;

static void on_tick(void *arg, uint64_t now)
{
    ticker *t = arg;
    t->fired++;
    vk_timer_arm(t->timer, now + 10);
}

static void test_background_timer_alone_does_not_keep_the_loop_running(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    ticker tk = {vk_timer_new(loop, on_tick, &tk), 0};
    vk_timer_set_background(tk.timer, true);
    vk_timer_arm(tk.timer, 10);
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_OK);
    assert_int_equal(tk.fired, 0);
    assert_true(vk_timer_pending(tk.timer));
    vk_timer_free(tk.timer);
    vk_loop_free(loop);
}

static void test_background_timer_fires_until_the_last_foreground_timer(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    ticker tk = {vk_timer_new(loop, on_tick, &tk), 0};
    vk_timer_set_background(tk.timer, true);
    vk_timer_arm(tk.timer, 10);
    tagged work;
    tagged_init(&work, loop, NULL, 1);
    tagged_arm(&work, 55);
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_OK);
    /* ticks at 10..50 fire; the run ends with the work at 55 */
    assert_int_equal(tk.fired, 5);
    assert_int_equal(work.fired, 1);
    assert_int_equal(vk_loop_now(loop), 55);
    /* made a foreground timer again, it keeps the loop going to the deadline */
    vk_timer_set_background(tk.timer, false);
    assert_int_equal(vk_loop_run(loop, 100), VK_OK);
    assert_int_equal(tk.fired, 10);
    vk_timer_free(tk.timer);
    vk_timer_free(work.timer);
    vk_loop_free(loop);
}

static void test_run_without_timers_returns_at_once(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_OK);
    assert_int_equal(vk_loop_now(loop), 0);
    assert_false(vk_loop_stopped(loop));
    vk_loop_free(loop);
}

/* ---- determinism ---- */

/* xorshift64*: a fixed PRNG so the schedule is the same on every libc. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

enum { RANDOM_TIMERS = 10000 };

typedef struct random_sched {
    vk_loop *loop;
    fire_log log;
    tagged t[RANDOM_TIMERS];
    uint64_t rng;
} random_sched;

/* The schedule being run (the callbacks need it to pick other timers). */
static random_sched *current;

/* Each first firing re-arms a random timer now or later, or cancels one, so
 * the callbacks change the heap while it is being drained. */
static void on_random(void *arg, uint64_t now)
{
    tagged *t = arg;
    on_tagged(arg, now);
    uint64_t r = rng_next(&current->rng);
    if (t->fired > 1)
        return;
    tagged *o = &current->t[r % RANDOM_TIMERS];
    if ((r >> 32) % 4 == 0)
        vk_timer_cancel(o->timer);
    else if ((r >> 32) % 4 == 1)
        vk_timer_arm(o->timer, now + (r >> 40) % 1000);
}

static void run_random_schedule(random_sched *rs, uint64_t seed)
{
    memset(rs, 0, sizeof *rs);
    current = rs;
    rs->rng = seed;
    rs->loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    for (int i = 0; i < RANDOM_TIMERS; i++) {
        tagged *t = &rs->t[i];
        t->loop = rs->loop;
        t->log = &rs->log;
        t->tag = i;
        t->timer = vk_timer_new(rs->loop, on_random, t);
        /* few distinct instants so many ties must be broken by arming order */
        vk_timer_arm(t->timer, rng_next(&rs->rng) % 2000);
    }
    assert_int_equal(vk_loop_run(rs->loop, VK_TIME_NEVER), VK_OK);
    for (int i = 0; i < RANDOM_TIMERS; i++)
        vk_timer_free(rs->t[i].timer);
    vk_loop_free(rs->loop);
}

static void test_identical_random_schedules_fire_identically(void **state)
{
    (void)state;
    random_sched *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    run_random_schedule(a, 0x9e3779b97f4a7c15ull);
    run_random_schedule(b, 0x9e3779b97f4a7c15ull);
    assert_true(a->log.n > RANDOM_TIMERS / 2);
    assert_int_equal(a->log.n, b->log.n);
    assert_memory_equal(a->log.tag, b->log.tag, a->log.n * sizeof a->log.tag[0]);
    assert_memory_equal(a->log.at, b->log.at, a->log.n * sizeof a->log.at[0]);
    /* and time never went backwards */
    for (size_t i = 1; i < a->log.n; i++)
        assert_true(a->log.at[i] >= a->log.at[i - 1]);
    free(a);
    free(b);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static void test_heap_fires_survivors_in_order_after_many_cancels(void **state)
{
    (void)state;
    enum { N = 5000 };
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    fire_log *log = calloc(1, sizeof *log);
    tagged *t = calloc(N, sizeof *t);
    uint64_t *want = calloc(N, sizeof *want);
    size_t nwant = 0;
    uint64_t rng = 12345;
    for (int i = 0; i < N; i++) {
        tagged_init(&t[i], loop, log, i);
        /* distinct times so the expected order is just the sorted times */
        tagged_arm(&t[i], (rng_next(&rng) % 1000000) * N + (uint64_t)i);
    }
    /* cancel two thirds, in a scattered order, re-arm some of them */
    for (int i = 0; i < N; i++) {
        int k = (int)((uint64_t)i * 7919 % N);
        if (k % 3 != 0)
            vk_timer_cancel(t[k].timer);
        if (k % 9 == 1)
            tagged_arm(&t[k], (rng_next(&rng) % 1000000) * N + (uint64_t)k);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(vk_timer_pending(t[i].timer), i % 3 == 0 || i % 9 == 1);
        if (vk_timer_pending(t[i].timer))
            want[nwant++] = t[i].armed_for;
    }
    qsort(want, nwant, sizeof *want, cmp_u64);
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_OK);
    assert_int_equal(log->n, nwant);
    for (size_t i = 0; i < nwant; i++)
        assert_int_equal(log->at[i], want[i]);
    for (int i = 0; i < N; i++) {
        assert_int_equal(t[i].fired, i % 3 == 0 || i % 9 == 1);
        vk_timer_free(t[i].timer);
    }
    free(want);
    free(t);
    free(log);
    vk_loop_free(loop);
}

static void test_freeing_an_armed_timer_cancels_it(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    tagged a, b;
    tagged_init(&a, loop, NULL, 1);
    tagged_init(&b, loop, NULL, 2);
    tagged_arm(&a, 10);
    tagged_arm(&b, 20);
    vk_timer_free(a.timer);
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_OK);
    assert_int_equal(a.fired, 0);
    assert_int_equal(b.fired, 1);
    vk_timer_free(b.timer);
    vk_loop_free(loop);
}

/* ---- live clock ---- */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * VK_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void test_live_timer_fires_no_earlier_than_asked(void **state)
{
    (void)state;
    /* taken before the loop's own start, so elapsed >= the loop's view */
    uint64_t start = mono_ns();
    vk_loop *loop = vk_loop_new(VK_CLOCK_LIVE);
    tagged t;
    tagged_init(&t, loop, NULL, 1);
    const uint64_t delay = 20 * 1000000ull;
    tagged_arm(&t, vk_loop_now(loop) + delay);
    assert_int_equal(vk_loop_run(loop, VK_TIME_NEVER), VK_OK);
    uint64_t elapsed = mono_ns() - start;
    assert_int_equal(t.fired, 1);
    assert_true(t.arg_now >= t.armed_for);
    assert_true(elapsed >= delay);
    /* loose: a loaded CI machine may be slow, but not by seconds */
    assert_true(elapsed < 2 * VK_NS_PER_SEC);
    vk_timer_free(t.timer);
    vk_loop_free(loop);
}

static void test_live_deadline_ends_a_run_with_nothing_due(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_LIVE);
    tagged t;
    tagged_init(&t, loop, NULL, 1);
    tagged_arm(&t, vk_loop_now(loop) + 60 * VK_NS_PER_SEC);
    uint64_t start = mono_ns();
    assert_int_equal(vk_loop_run(loop, vk_loop_now(loop) + 10 * 1000000ull), VK_OK);
    assert_true(mono_ns() - start < 2 * VK_NS_PER_SEC);
    assert_int_equal(t.fired, 0);
    assert_true(vk_timer_pending(t.timer));
    vk_timer_free(t.timer);
    vk_loop_free(loop);
}

typedef struct pipe_reader {
    vk_loop *loop;
    int calls;
    short revents;
    char got;
    bool unwatch;
} pipe_reader;

static void on_readable(void *arg, int fd, short revents)
{
    pipe_reader *r = arg;
    r->calls++;
    r->revents = revents;
    if (revents & POLLIN)
        assert_int_equal(read(fd, &r->got, 1), 1);
    if (r->unwatch)
        vk_loop_unwatch_fd(r->loop, fd);
    else
        vk_loop_stop(r->loop, VK_OK);
}

static void test_live_fd_callback_gets_pollin_when_pipe_has_data(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    vk_loop *loop = vk_loop_new(VK_CLOCK_LIVE);
    pipe_reader r = {.loop = loop};
    assert_int_equal(vk_loop_watch_fd(loop, fds[0], POLLIN, on_readable, &r), VK_OK);
    assert_int_equal(vk_loop_watch_fd(loop, fds[0], POLLIN, on_readable, &r), VK_EEXIST);
    assert_int_equal(write(fds[1], "x", 1), 1);
    assert_int_equal(vk_loop_run(loop, vk_loop_now(loop) + 2 * VK_NS_PER_SEC), VK_OK);
    assert_int_equal(r.calls, 1);
    assert_true(r.revents & POLLIN);
    assert_int_equal(r.got, 'x');
    vk_loop_unwatch_fd(loop, fds[0]);
    vk_loop_free(loop);
    close(fds[0]);
    close(fds[1]);
}

static void test_live_run_past_its_deadline_still_serves_what_is_ready_once(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    vk_loop *loop = vk_loop_new(VK_CLOCK_LIVE);
    assert_int_equal(vk_loop_run(loop, vk_loop_now(loop) + 1000000ull), VK_OK); /* starts it */
    pipe_reader r = {.loop = loop, .unwatch = true};
    assert_int_equal(vk_loop_watch_fd(loop, fds[0], POLLIN, on_readable, &r), VK_OK);
    tagged t;
    tagged_init(&t, loop, NULL, 1);
    tagged_arm(&t, vk_loop_now(loop));
    assert_int_equal(write(fds[1], "y", 1), 1);
    /* a deadline already behind the clock (computed from a stale now) */
    uint64_t start = mono_ns();
    assert_int_equal(vk_loop_run(loop, vk_loop_now(loop)), VK_OK);
    assert_true(mono_ns() - start < VK_NS_PER_SEC);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.got, 'y');
    assert_int_equal(t.fired, 1);
    vk_timer_free(t.timer);
    vk_loop_free(loop);
    close(fds[0]);
    close(fds[1]);
}

static void test_live_unwatch_inside_callback_ends_the_run(void **state)
{
    (void)state;
    int a[2], b[2];
    assert_int_equal(pipe(a), 0);
    assert_int_equal(pipe(b), 0);
    vk_loop *loop = vk_loop_new(VK_CLOCK_LIVE);
    pipe_reader ra = {.loop = loop, .unwatch = true}, rb = {.loop = loop, .unwatch = true};
    assert_int_equal(vk_loop_watch_fd(loop, a[0], POLLIN, on_readable, &ra), VK_OK);
    assert_int_equal(vk_loop_watch_fd(loop, b[0], POLLIN, on_readable, &rb), VK_OK);
    /* both ready in the same poll: the first callback's unwatch shifts the
     * table under the loop, the second must still be found */
    assert_int_equal(write(a[1], "a", 1), 1);
    assert_int_equal(write(b[1], "b", 1), 1);
    assert_int_equal(write(a[1], "A", 1), 1); /* never read: a is unwatched */
    uint64_t start = mono_ns();
    assert_int_equal(vk_loop_run(loop, vk_loop_now(loop) + 5 * VK_NS_PER_SEC), VK_OK);
    /* with nothing left to watch, the run ends without waiting for the deadline */
    assert_true(mono_ns() - start < 2 * VK_NS_PER_SEC);
    assert_int_equal(ra.calls, 1);
    assert_int_equal(rb.calls, 1);
    assert_int_equal(ra.got, 'a');
    assert_int_equal(rb.got, 'b');
    vk_loop_free(loop);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
}

static void test_virtual_loop_refuses_file_descriptors(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    pipe_reader r = {.loop = loop};
    assert_int_equal(vk_loop_watch_fd(loop, fds[0], POLLIN, on_readable, &r), VK_EUNSUPP);
    assert_int_equal(vk_loop_clock(loop), VK_CLOCK_VIRTUAL);
    vk_loop_free(loop);
    close(fds[0]);
    close(fds[1]);
}

static void test_epoch_is_whatever_a_virtual_loop_is_given(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    assert_int_equal(vk_loop_epoch(loop), 0);
    vk_loop_set_epoch(loop, 1700000000ull * VK_NS_PER_SEC);
    assert_int_equal(vk_loop_epoch(loop), 1700000000ull * VK_NS_PER_SEC);
    vk_loop_free(loop);
    vk_loop *live = vk_loop_new(VK_CLOCK_LIVE);
    /* wall-clock time at start: some time after 2020 */
    assert_true(vk_loop_epoch(live) > 1577836800ull * VK_NS_PER_SEC);
    vk_loop_free(live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_virtual_now_is_each_timers_time_inside_its_callback),
        cmocka_unit_test(test_virtual_timers_at_same_instant_fire_in_arming_order),
        cmocka_unit_test(test_rearming_moves_a_timer_to_the_back_of_its_instant),
        cmocka_unit_test(test_timer_rearmed_inside_its_callback_fires_again),
        cmocka_unit_test(test_timer_cancelled_inside_a_callback_never_fires),
        cmocka_unit_test(test_timer_cancelling_itself_then_rearming_fires_once_more),
        cmocka_unit_test(test_timer_armed_in_the_past_fires_at_now),
        cmocka_unit_test(test_run_with_deadline_stops_at_deadline_and_keeps_later_timers),
        cmocka_unit_test(test_deadline_before_every_timer_still_advances_now),
        cmocka_unit_test(test_deadline_already_past_never_moves_the_clock_back),
        cmocka_unit_test(test_stop_returns_its_status_and_leaves_later_timers),
        cmocka_unit_test(test_first_stop_status_of_a_run_wins),
        cmocka_unit_test(test_background_timer_alone_does_not_keep_the_loop_running),
        cmocka_unit_test(test_background_timer_fires_until_the_last_foreground_timer),
        cmocka_unit_test(test_run_without_timers_returns_at_once),
        cmocka_unit_test(test_identical_random_schedules_fire_identically),
        cmocka_unit_test(test_heap_fires_survivors_in_order_after_many_cancels),
        cmocka_unit_test(test_freeing_an_armed_timer_cancels_it),
        cmocka_unit_test(test_live_timer_fires_no_earlier_than_asked),
        cmocka_unit_test(test_live_deadline_ends_a_run_with_nothing_due),
        cmocka_unit_test(test_live_fd_callback_gets_pollin_when_pipe_has_data),
        cmocka_unit_test(test_live_unwatch_inside_callback_ends_the_run),
        cmocka_unit_test(test_live_run_past_its_deadline_still_serves_what_is_ready_once),
        cmocka_unit_test(test_virtual_loop_refuses_file_descriptors),
        cmocka_unit_test(test_epoch_is_whatever_a_virtual_loop_is_given),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
