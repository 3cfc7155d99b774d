/*
 * The event loop and its clock.  All time in vnetkit is nanoseconds since the
 * loop started ("now"), passed to whoever needs it; nothing else reads a clock.
 *
 *  - VK_CLOCK_VIRTUAL: time moves only from one timer to the next, so a run is
 *    a pure function of its inputs.  Timers due at the same instant fire in the
 *    order they were armed.  File descriptors cannot be watched.
 *  - VK_CLOCK_LIVE: poll(2) on watched file descriptors, time from
 *    CLOCK_MONOTONIC; time 0 is the first vk_loop_run() (what is set up
 *    before it, at now 0, is not late however long the set-up took).
 *
 * Trace timestamps are epoch + now, where the epoch is wall-clock time at start
 * for a live loop and whatever the user of a virtual loop sets (for example the
 * first timestamp of an input capture), so virtual runs stay reproducible.
 */
#ifndef VK_CORE_LOOP_H
#define VK_CORE_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef enum vk_clock_kind { VK_CLOCK_VIRTUAL, VK_CLOCK_LIVE } vk_clock_kind;

typedef struct vk_loop vk_loop;
typedef struct vk_timer vk_timer;

#define VK_NS_PER_SEC 1000000000ull
#define VK_TIME_NEVER UINT64_MAX

typedef void (*vk_timer_cb)(void *arg, uint64_t now);
typedef void (*vk_fd_cb)(void *arg, int fd, short revents);

vk_loop *vk_loop_new(vk_clock_kind clock);
void vk_loop_free(vk_loop *loop);
vk_clock_kind vk_loop_clock(const vk_loop *loop);
uint64_t vk_loop_now(const vk_loop *loop);
void vk_loop_set_epoch(vk_loop *loop, uint64_t epoch_ns);
uint64_t vk_loop_epoch(const vk_loop *loop);

/* Timers belong to their creator, who frees them (freeing cancels). */
vk_timer *vk_timer_new(vk_loop *loop, vk_timer_cb cb, void *arg);
void vk_timer_free(vk_timer *t);
/* Arms (or re-arms) the timer for absolute time `when` (clamped to now). */
void vk_timer_arm(vk_timer *t, uint64_t when);
void vk_timer_cancel(vk_timer *t);
bool vk_timer_pending(const vk_timer *t);
/* A background timer fires like any other but does not keep the loop
 * running: a run ends when only background timers are left (housekeeping
 * such as flushing traces must not make a finished run go on for ever). */
void vk_timer_set_background(vk_timer *t, bool background);

/* Live loops only: VK_EUNSUPP on a virtual loop, VK_EEXIST if watched. */
int vk_loop_watch_fd(vk_loop *loop, int fd, short events, vk_fd_cb cb, void *arg);
void vk_loop_unwatch_fd(vk_loop *loop, int fd);
/* Changes the events polled for a watched fd (POLLIN, POLLIN|POLLOUT...):
 * VK_ENOENT if fd is not watched. */
int vk_loop_set_fd_events(vk_loop *loop, int fd, short events);

/* Runs until no timer but background ones (and, live, no fd) is left, until `deadline` (loop
 * time; VK_TIME_NEVER for none), until vk_loop_stop() or until a SIGINT or
 * SIGTERM (after vk_loop_catch_signals()).  Returns the status given to the
 * first vk_loop_stop() of this run, or VK_OK.  On a virtual loop reaching its
 * deadline, now becomes the deadline (unless it is already later: virtual
 * time never runs back). */
int vk_loop_run(vk_loop *loop, uint64_t deadline);
void vk_loop_stop(vk_loop *loop, int status);
bool vk_loop_stopped(const vk_loop *loop);

/* A hook called after every round of due timers (and, live, at least every
 * 100 ms): for observers such as a progress meter, which must not change the
 * run.  One per loop; NULL removes it. */
typedef void (*vk_loop_tick_cb)(void *arg, uint64_t now);
void vk_loop_set_tick(vk_loop *loop, vk_loop_tick_cb cb, void *arg);

/* Installs SIGINT/SIGTERM handlers that make every running loop return;
 * vk_loop_signalled() then tells which signal arrived (0 if none). */
void vk_loop_catch_signals(void);
int vk_loop_signalled(void);

#endif
