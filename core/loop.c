/*
 * Event loop: a binary min-heap of timers ordered by (when, arm sequence) so
 * equal deadlines fire in arming order (determinism), and for live loops a
 * poll(2) set.  The heap stores each timer's index so cancel is O(log n).
 */
#include "core/loop.h"
#include "core/error.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct vk_timer {
    vk_loop *loop;
    vk_timer_cb cb;
    void *arg;
    uint64_t when;
    uint64_t seq;
    size_t heap_index; /* SIZE_MAX when not armed */
    bool background;   /* does not keep the loop running */
};

typedef struct fd_watch {
    int fd;
    short events;
    vk_fd_cb cb;
    void *arg;
} fd_watch;

struct vk_loop {
    vk_clock_kind clock;
    uint64_t now;
    uint64_t epoch;
    uint64_t mono_start;
    bool ran, epoch_set;
    uint64_t next_seq;
    vk_timer **heap;
    size_t heap_len, heap_cap;
    size_t foreground; /* armed timers that are not background timers */
    fd_watch *fds;
    size_t nfds, fds_cap;
    bool stop;
    int status;
    vk_loop_tick_cb tick; /* after every round of due timers (progress meters) */
    void *tick_arg;
};

static volatile sig_atomic_t caught_signal;

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * VK_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

vk_loop *vk_loop_new(vk_clock_kind clock)
{
    vk_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return NULL;
    loop->clock = clock;
    if (clock == VK_CLOCK_LIVE) {
        loop->mono_start = clock_ns(CLOCK_MONOTONIC);
        loop->epoch = clock_ns(CLOCK_REALTIME);
    }
    return loop;
}

void vk_loop_free(vk_loop *loop)
{
    if (loop == NULL)
        return;
    for (size_t i = 0; i < loop->heap_len; i++)
        loop->heap[i]->heap_index = SIZE_MAX;
    free(loop->heap);
    free(loop->fds);
    free(loop);
}

vk_clock_kind vk_loop_clock(const vk_loop *loop)
{
    return loop->clock;
}

static void update_now(vk_loop *loop)
{
    if (loop->clock == VK_CLOCK_LIVE)
        loop->now = clock_ns(CLOCK_MONOTONIC) - loop->mono_start;
}

uint64_t vk_loop_now(const vk_loop *loop)
{
    return loop->now;
}

void vk_loop_set_epoch(vk_loop *loop, uint64_t epoch_ns)
{
    loop->epoch = epoch_ns;
    loop->epoch_set = true;
}

uint64_t vk_loop_epoch(const vk_loop *loop)
{
    return loop->epoch;
}

/* ---- timer heap ---- */

static bool timer_before(const vk_timer *a, const vk_timer *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_set(vk_loop *loop, size_t i, vk_timer *t)
{
    loop->heap[i] = t;
    t->heap_index = i;
}

static void heap_sift_up(vk_loop *loop, size_t i)
{
    vk_timer *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, loop->heap[parent]))
            break;
        heap_set(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_set(loop, i, t);
}

static void heap_sift_down(vk_loop *loop, size_t i)
{
    vk_timer *t = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->heap_len)
            break;
        if (child + 1 < loop->heap_len && timer_before(loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!timer_before(loop->heap[child], t))
            break;
        heap_set(loop, i, loop->heap[child]);
        i = child;
    }
    heap_set(loop, i, t);
}

static void heap_remove(vk_loop *loop, vk_timer *t)
{
    size_t i = t->heap_index;
    t->heap_index = SIZE_MAX;
    if (!t->background)
        loop->foreground--;
    loop->heap_len--;
    if (i == loop->heap_len)
        return;
    heap_set(loop, i, loop->heap[loop->heap_len]);
    heap_sift_down(loop, i);
    heap_sift_up(loop, loop->heap[i]->heap_index);
}

static int heap_push(vk_loop *loop, vk_timer *t)
{
    if (loop->heap_len == loop->heap_cap) {
        size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        vk_timer **h = realloc(loop->heap, cap * sizeof *h);
        if (h == NULL)
            return VK_ENOMEM;
        loop->heap = h;
        loop->heap_cap = cap;
    }
    heap_set(loop, loop->heap_len++, t);
    heap_sift_up(loop, loop->heap_len - 1);
    if (!t->background)
        loop->foreground++;
    return VK_OK;
}

vk_timer *vk_timer_new(vk_loop *loop, vk_timer_cb cb, void *arg)
{
    vk_timer *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->loop = loop;
    t->cb = cb;
    t->arg = arg;
    t->heap_index = SIZE_MAX;
    return t;
}

void vk_timer_free(vk_timer *t)
{
    if (t == NULL)
        return;
    vk_timer_cancel(t);
    free(t);
}

void vk_timer_cancel(vk_timer *t)
{
    if (t->heap_index != SIZE_MAX)
        heap_remove(t->loop, t);
}

bool vk_timer_pending(const vk_timer *t)
{
    return t->heap_index != SIZE_MAX;
}

void vk_timer_set_background(vk_timer *t, bool background)
{
    if (t->background == background)
        return;
    if (vk_timer_pending(t)) {
        if (background)
            t->loop->foreground--;
        else
            t->loop->foreground++;
    }
    t->background = background;
}

void vk_timer_arm(vk_timer *t, uint64_t when)
{
    vk_loop *loop = t->loop;
    vk_timer_cancel(t);
    t->when = when < loop->now ? loop->now : when;
    t->seq = loop->next_seq++;
    /* Out of memory here would lose an event silently; treat it as fatal
     * for the run so the caller sees a failed status, never a wrong result. */
    if (heap_push(loop, t) != VK_OK)
        vk_loop_stop(loop, VK_ENOMEM);
}

/* ---- file descriptors ---- */

int vk_loop_watch_fd(vk_loop *loop, int fd, short events, vk_fd_cb cb, void *arg)
{
    if (loop->clock != VK_CLOCK_LIVE)
        return VK_EUNSUPP;
    for (size_t i = 0; i < loop->nfds; i++)
        if (loop->fds[i].fd == fd)
            return VK_EEXIST;
    if (loop->nfds == loop->fds_cap) {
        size_t cap = loop->fds_cap ? loop->fds_cap * 2 : 8;
        fd_watch *f = realloc(loop->fds, cap * sizeof *f);
        if (f == NULL)
            return VK_ENOMEM;
        loop->fds = f;
        loop->fds_cap = cap;
    }
    loop->fds[loop->nfds++] = (fd_watch){fd, events, cb, arg};
    return VK_OK;
}

void vk_loop_unwatch_fd(vk_loop *loop, int fd)
{
    for (size_t i = 0; i < loop->nfds; i++) {
        if (loop->fds[i].fd == fd) {
            memmove(&loop->fds[i], &loop->fds[i + 1], (loop->nfds - i - 1) * sizeof loop->fds[0]);
            loop->nfds--;
            return;
        }
    }
}

int vk_loop_set_fd_events(vk_loop *loop, int fd, short events)
{
    for (size_t i = 0; i < loop->nfds; i++) {
        if (loop->fds[i].fd == fd) {
            loop->fds[i].events = events;
            return VK_OK;
        }
    }
    return VK_ENOENT;
}

/* ---- running ---- */

void vk_loop_stop(vk_loop *loop, int status)
{
    loop->stop = true;
    if (loop->status == VK_OK)
        loop->status = status;
}

bool vk_loop_stopped(const vk_loop *loop)
{
    return loop->stop;
}

static void on_signal(int sig)
{
    caught_signal = sig;
}

void vk_loop_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int vk_loop_signalled(void)
{
    return caught_signal;
}

static void fire_due_timers(vk_loop *loop)
{
    while (!loop->stop && loop->heap_len > 0 && loop->heap[0]->when <= loop->now) {
        vk_timer *t = loop->heap[0];
        heap_remove(loop, t);
        t->cb(t->arg, loop->now);
    }
}

void vk_loop_set_tick(vk_loop *loop, vk_loop_tick_cb cb, void *arg)
{
    loop->tick = cb;
    loop->tick_arg = arg;
}

static void tick(vk_loop *loop)
{
    if (loop->tick != NULL)
        loop->tick(loop->tick_arg, loop->now);
}

static int run_virtual(vk_loop *loop, uint64_t deadline)
{
    while (!loop->stop && !caught_signal && loop->foreground > 0) {
        uint64_t next = loop->heap[0]->when;
        if (next > deadline) {
            if (deadline > loop->now) /* virtual time never runs back */
                loop->now = deadline;
            break;
        }
        if (next > loop->now)
            loop->now = next;
        fire_due_timers(loop);
        tick(loop);
    }
    return loop->status;
}

/* A signal that lands between the check and poll() is noticed within this
 * bound, which keeps us free of a self-pipe. */
#define LIVE_POLL_MAX_MS 100

static int poll_timeout_ms(const vk_loop *loop, uint64_t deadline)
{
    uint64_t until = deadline;
    if (loop->heap_len > 0 && loop->heap[0]->when < until)
        until = loop->heap[0]->when;
    if (until <= loop->now)
        return 0;
    uint64_t ms = (until - loop->now + 999999) / 1000000;
    return ms > LIVE_POLL_MAX_MS ? LIVE_POLL_MAX_MS : (int)ms;
}

/* Live time 0 is the first run: the set-up before it (a -chardev waiting
 * for its peer) does not eat into timers armed at start or a deadline. */
static void start_live_clock(vk_loop *loop)
{
    if (loop->ran)
        return;
    loop->ran = true;
    uint64_t waited = clock_ns(CLOCK_MONOTONIC) - loop->mono_start;
    loop->mono_start += waited;
    if (!loop->epoch_set)
        loop->epoch += waited;
}

static int run_live(vk_loop *loop, uint64_t deadline)
{
    struct pollfd *pfds = NULL;
    size_t pcap = 0;
    start_live_clock(loop);
    /* A run always makes one round, even when its deadline has passed by
     * the time it starts (a caller that computed it from a stale now, a
     * process the machine did not schedule for a while): what is ready or
     * due is served once, never skipped. */
    bool first = true;
    while (!loop->stop && !caught_signal && (loop->foreground > 0 || loop->nfds > 0)) {
        update_now(loop);
        if (loop->now >= deadline && !first)
            break;
        first = false;
        if (pcap < loop->nfds) {
            struct pollfd *p = realloc(pfds, loop->nfds * sizeof *p);
            if (p == NULL) {
                vk_loop_stop(loop, VK_ENOMEM);
                break;
            }
            pfds = p;
            pcap = loop->nfds;
        }
        size_t n = loop->nfds;
        for (size_t i = 0; i < n; i++)
            pfds[i] = (struct pollfd){loop->fds[i].fd, loop->fds[i].events, 0};
        int r = poll(pfds, n, poll_timeout_ms(loop, deadline));
        if (r < 0 && errno != EINTR) {
            vk_loop_stop(loop, VK_EIO);
            break;
        }
        update_now(loop);
        for (size_t i = 0; r > 0 && i < n && !loop->stop; i++) {
            if (pfds[i].revents == 0)
                continue;
            /* the callback may unwatch fds: look the watch up again by fd */
            for (size_t j = 0; j < loop->nfds; j++) {
                if (loop->fds[j].fd == pfds[i].fd) {
                    loop->fds[j].cb(loop->fds[j].arg, pfds[i].fd, pfds[i].revents);
                    break;
                }
            }
        }
        fire_due_timers(loop);
        tick(loop);
    }
    free(pfds);
    return loop->status;
}

int vk_loop_run(vk_loop *loop, uint64_t deadline)
{
    /* each run reports its own stop; an earlier run's is not carried over */
    loop->stop = false;
    loop->status = VK_OK;
    if (loop->clock == VK_CLOCK_VIRTUAL)
        return run_virtual(loop, deadline);
    return run_live(loop, deadline);
}
