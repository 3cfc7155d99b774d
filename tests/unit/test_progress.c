/* The progress meter (core/progress.h) on a fake wall clock: the first
 * update draws, later ones only an interval apart; the line carries frames,
 * percent, rate and ETA; a terminal's line is erased at the end; off means
 * no output at all.  And the loop's tick hook, which drives it in `run`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/loop.h"
#include "core/progress.h"

#define MS 1000000ull

typedef struct sink {
    FILE *f;
    char *buf;
    size_t len;
} sink;

static void sink_open(sink *s)
{
    s->buf = NULL;
    s->len = 0;
    s->f = open_memstream(&s->buf, &s->len);
    assert_non_null(s->f);
}

static void sink_close(sink *s)
{
    fclose(s->f);
    free(s->buf);
}

static void test_progress_first_update_draws_then_throttles(void **state)
{
    (void)state;
    sink s;
    sink_open(&s);
    vk_progress p;
    vk_progress_start(&p, s.f, true, "replay", 0);
    vk_progress_update(&p, 1 * MS, 10, 1, 100);
    assert_string_equal(s.buf, "\rreplay: 10 frames, 1.0%\033[K");
    size_t after_first = s.len;
    vk_progress_update(&p, 200 * MS, 20, 2, 100); /* under 250 ms: nothing */
    assert_int_equal(s.len, after_first);
    vk_progress_update(&p, 1001 * MS, 1000, 50, 100);
    assert_string_equal(s.buf + after_first,
                        "\rreplay: 1000 frames, 50.0%, 999 frames/s, ETA 0:01\033[K");
    sink_close(&s);
}

static void test_progress_terminal_line_is_erased_at_finish(void **state)
{
    (void)state;
    sink s;
    sink_open(&s);
    vk_progress p;
    vk_progress_start(&p, s.f, true, "run", 0);
    vk_progress_update(&p, 0, 1, 0, 0);
    size_t drawn = s.len;
    vk_progress_finish(&p);
    fflush(s.f);
    assert_string_equal(s.buf + drawn, "\r\033[K");
    vk_progress_update(&p, 10000 * MS, 5, 0, 0); /* finished: nothing more */
    fflush(s.f);
    assert_int_equal(s.len, drawn + 4);
    sink_close(&s);
}

static void test_progress_lines_off_a_terminal_once_a_second(void **state)
{
    (void)state;
    sink s;
    sink_open(&s);
    vk_progress p;
    vk_progress_start(&p, s.f, false, "run", 0);
    vk_progress_update(&p, 0, 0, 0, 0);
    vk_progress_update(&p, 500 * MS, 1, 0, 0);
    vk_progress_update(&p, 2000 * MS, 30000, 0, 0); /* no total: no percent, no ETA */
    vk_progress_update(&p, 7200 * 1000 * MS, 3000000, 1, 2);
    vk_progress_finish(&p);
    fflush(s.f);
    assert_string_equal(s.buf, "run: 0 frames\n"
                               "run: 30.0k frames, 15.0k frames/s\n"
                               "run: 3.0M frames, 50.0%, 417 frames/s, ETA 2:00:00\n");
    sink_close(&s);
}

static void test_progress_off_writes_nothing(void **state)
{
    (void)state;
    vk_progress p;
    vk_progress_start(&p, NULL, true, "run", 0);
    assert_false(vk_progress_due(&p, 0));
    vk_progress_update(&p, 0, 1, 1, 2); /* would crash on a NULL stream */
    vk_progress_finish(&p);
}

static void count_tick(void *arg, uint64_t now)
{
    uint64_t *ticks = arg;
    (void)now;
    (*ticks)++;
}

static void nop_timer(void *arg, uint64_t now)
{
    (void)arg;
    (void)now;
}

static void test_loop_tick_follows_every_round_of_timers(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    vk_timer *a = vk_timer_new(loop, nop_timer, NULL);
    vk_timer *b = vk_timer_new(loop, nop_timer, NULL);
    vk_timer *c = vk_timer_new(loop, nop_timer, NULL);
    uint64_t ticks = 0;
    vk_loop_set_tick(loop, count_tick, &ticks);
    vk_timer_arm(a, 10);
    vk_timer_arm(b, 10); /* the same instant: one round */
    vk_timer_arm(c, 20);
    vk_loop_run(loop, VK_TIME_NEVER);
    assert_int_equal(ticks, 2);
    assert_int_equal(vk_loop_now(loop), 20);
    vk_timer_free(a);
    vk_timer_free(b);
    vk_timer_free(c);
    vk_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_first_update_draws_then_throttles),
        cmocka_unit_test(test_progress_terminal_line_is_erased_at_finish),
        cmocka_unit_test(test_progress_lines_off_a_terminal_once_a_second),
        cmocka_unit_test(test_progress_off_writes_nothing),
        cmocka_unit_test(test_loop_tick_follows_every_round_of_timers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
