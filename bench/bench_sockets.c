/*
 * vk_sock_bench: frames per second, Gbit/s and I/O system calls per frame
 * between two vnetkit engines (two processes) over each socket transport,
 * against a plain buffered copy of the same bytes through the same kind of
 * socket, measured in the same run (bench/README.md).  A program, not a test.
 *
 * Each case makes a connected pair of sockets (Unix stream, TCP loopback,
 * Unix datagram, UDP loopback), forks a receiver and a sender and gives each
 * one end:
 *   engine:   -netdev stream|dgram,...,fd=N built through the topology, with
 *             a generator port that keeps the netdev's input queue topped up
 *             without spinning (sender) or a counting sink port (receiver)
 *   baseline: write()/read() of 256 KiB buffers of the same framed bytes
 *             (stream), sendmmsg()/recvmmsg() of 64 datagrams (datagram)
 * The receiver's rate counts from its first frame to its last.  System
 * calls are counted by wrapping, at link time, every call the engine and the
 * baseline make to move bytes or wait (read, write, send, recv, sendmmsg,
 * recvmmsg, poll): both processes, divided by the frames received.  CPU
 * time (user + system, getrusage) of both processes per frame received is
 * the figure that survives a shared machine: when other work takes the
 * cores, frames per second fall for both sides but CPU per frame does not.
 * "cpu ratio" is the plain copy's CPU per frame over vnetkit's: the ratio
 * of rates the two would reach with the same CPU.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backends/backends.h"
#include "core/net.h"
#include "core/topology.h"

#define BUF_BYTES (256u * 1024u)
#define DGRAM_BATCH 64

typedef struct result {
    uint64_t frames, bytes, syscalls;
    double seconds;
    double cpu_user, cpu_sys; /* CPU time of the side's process */
} result;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- system call counting (-Wl,--wrap=..., see CMakeLists.txt) ---- */

static uint64_t n_syscalls, n_polls, n_eagain;

static uint64_t io_syscalls(void)
{
    return n_syscalls;
}

ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __real_send(int fd, const void *buf, size_t n, int flags);
ssize_t __real_recv(int fd, void *buf, size_t n, int flags);
int __real_sendmmsg(int fd, struct mmsghdr *m, unsigned n, int flags);
int __real_recvmmsg(int fd, struct mmsghdr *m, unsigned n, int flags, struct timespec *t);
int __real_poll(struct pollfd *p, nfds_t n, int timeout);
ssize_t __wrap_read(int fd, void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
ssize_t __wrap_send(int fd, const void *buf, size_t n, int flags);
ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags);
int __wrap_sendmmsg(int fd, struct mmsghdr *m, unsigned n, int flags);
int __wrap_recvmmsg(int fd, struct mmsghdr *m, unsigned n, int flags, struct timespec *t);
int __wrap_poll(struct pollfd *p, nfds_t n, int timeout);

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
    n_syscalls++;
    return __real_read(fd, buf, n);
}
ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    n_syscalls++;
    return __real_write(fd, buf, n);
}
ssize_t __wrap_send(int fd, const void *buf, size_t n, int flags)
{
    n_syscalls++;
    ssize_t r = __real_send(fd, buf, n, flags);
    n_eagain += r < 0 && errno == EAGAIN;
    return r;
}
ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags)
{
    n_syscalls++;
    ssize_t r = __real_recv(fd, buf, n, flags);
    n_eagain += r < 0 && errno == EAGAIN;
    return r;
}
int __wrap_sendmmsg(int fd, struct mmsghdr *m, unsigned n, int flags)
{
    n_syscalls++;
    return __real_sendmmsg(fd, m, n, flags);
}
int __wrap_recvmmsg(int fd, struct mmsghdr *m, unsigned n, int flags, struct timespec *t)
{
    n_syscalls++;
    return __real_recvmmsg(fd, m, n, flags, t);
}
int __wrap_poll(struct pollfd *p, nfds_t n, int timeout)
{
    n_syscalls++;
    n_polls++;
    return __real_poll(p, n, timeout);
}

/* ---- the engine side ---- */

#define GEN_BURST 64 /* frames the generator hands over per call */

typedef struct engine {
    vk_loop *loop;
    vk_net *net;
    vk_topology *topo;
    vk_port *s;    /* the socket netdev */
    vk_port *mine; /* generator or sink */
    vk_timer *timer;
    size_t size;
    double until;
    uint8_t frame[1600];
    vk_frame *slots[GEN_BURST]; /* the generator's lent frames (frame.h) */
    result res;
    uint64_t first_ns, last_ns; /* loop time of the first and last frame received */
    uint64_t frames_at_tick;    /* the receiver's count at its previous tick */
    unsigned idle_ticks;        /* ticks in a row without a frame */
} engine;

static int sink_receive(vk_port *self, vk_frame *f)
{
    engine *e = *(engine **)self->priv;
    /* the loop's time of the read that brought the frame: a clock read per
     * frame would cost more than the engine's work on it */
    uint64_t t = vk_loop_now(e->loop);
    if (e->res.frames == 0)
        e->first_ns = t;
    e->last_ns = t;
    e->res.frames++;
    e->res.bytes += f->len;
    return VK_OK;
}

/* The burst form (port.h): one clock read per burst, as per read. */
static size_t sink_receive_burst(vk_port *self, vk_frame *const *f, size_t n)
{
    engine *e = *(engine **)self->priv;
    uint64_t t = vk_loop_now(e->loop);
    if (e->res.frames == 0)
        e->first_ns = t;
    e->last_ns = t;
    e->res.frames += n;
    for (size_t i = 0; i < n; i++)
        e->res.bytes += f[i]->len;
    return n;
}

static const vk_port_ops sink_ops = {
    .kind = "sink", .receive = sink_receive, .receive_burst = sink_receive_burst};
static const vk_port_ops gen_ops = {.kind = "gen", .receive = sink_receive};

/* The generator keeps the netdev's input queue topped up, as a guest with
 * frames always ready would; it never spins: while the netdev refuses frames
 * it naps (a loop turn the socket does not wake lasts up to a millisecond,
 * the loop's timer resolution).  Half the default queue, so that queued
 * frames stay within the frame pool (frame.h) and cost no malloc. */
#define GEN_QUEUE (VK_PORT_QUEUE_DEFAULT / 2)
#define GEN_NAP_NS 20000ull

static void gen_on_timer(void *arg, uint64_t now)
{
    engine *e = arg;
    /* the time is up, or the receiver went away (the link is down: every
     * frame would only be dropped) */
    if (now_s() >= e->until || e->s->link_down) {
        vk_loop_stop(e->loop, VK_OK);
        return;
    }
    for (int sent = 0; sent < 8192 && vk_port_queue_len(e->s) < GEN_QUEUE;) {
        /* a guest's frames lent from its buffer (as the plain copy writes a
         * buffer it built once), a burst at a time as a card's transmit
         * ring would hand them over; a frame that has to wait takes a copy */
        vk_frame *burst[GEN_BURST];
        size_t n = 0;
        while (n < GEN_BURST &&
               (burst[n] = vk_frame_lend_slot(&e->slots[n], e->frame, e->size)) != NULL)
            n++;
        if (n == 0)
            break;
        vk_port_send_burst(e->mine, burst, n);
        for (size_t i = 0; i < n; i++)
            vk_frame_settle_slot(&e->slots[i], burst[i]);
        sent += (int)n;
        e->res.frames += n;
        e->res.bytes += n * e->size;
    }
    /* an empty queue: the socket took everything at once, go on */
    vk_timer_arm(e->timer, now + (vk_port_queue_len(e->s) == 0 ? 1 : GEN_NAP_NS));
}

/* The receiver ends when nothing came for three ticks of 100 ms in a row
 * (datagrams have no EOF).  Ticks, not the time since the last frame: a
 * receiver the machine starved for a while would see that time long and
 * stop while frames wait in its socket. */
static void sink_on_timer(void *arg, uint64_t now)
{
    engine *e = arg;
    e->idle_ticks = e->res.frames == e->frames_at_tick ? e->idle_ticks + 1 : 0;
    e->frames_at_tick = e->res.frames;
    if ((e->res.frames > 0 && e->idle_ticks >= 3) ||
        (e->res.frames == 0 && now_s() > e->until)) {
        vk_loop_stop(e->loop, VK_OK);
        return;
    }
    vk_timer_arm(e->timer, now + 100000000ull);
}

static const vk_nic_model *const no_nics[] = {NULL};
static const vk_object_type *const no_objects[] = {NULL};

static int engine_run(const char *netdev, bool sender, size_t size, double seconds, result *out)
{
    static const vk_registry reg = {vk_backend_types, no_nics, no_objects, NULL, NULL};
    engine e = {.size = size};
    vk_diag d;
    memset(e.frame, 0xab, sizeof e.frame);
    memset(e.frame, 0xff, 6);
    e.loop = vk_loop_new(VK_CLOCK_LIVE);
    e.net = vk_net_new(e.loop);
    e.topo = vk_topology_new();
    if (vk_topology_add(e.topo, "-netdev", netdev, "bench", &d) != VK_OK ||
        vk_topology_build(e.topo, e.net, &reg, &d) != VK_OK) {
        fprintf(stderr, "vk_sock_bench: %s\n", d.msg);
        return 1;
    }
    e.s = vk_net_find_port(e.net, "s");
    if (vk_port_new(e.net, sender ? &gen_ops : &sink_ops, "me", "bench", sizeof(engine *),
                    &e.mine, &d) != VK_OK ||
        vk_net_connect(e.mine, e.s, &d) != VK_OK || vk_net_start(e.net, &d) != VK_OK) {
        fprintf(stderr, "vk_sock_bench: %s\n", d.msg);
        return 1;
    }
    *(engine **)e.mine->priv = &e;
    uint64_t sys0 = io_syscalls();
    double t0 = now_s();
    e.until = t0 + seconds + (sender ? 0 : 2);
    e.timer = vk_timer_new(e.loop, sender ? gen_on_timer : sink_on_timer, &e);
    vk_timer_arm(e.timer, 0);
    vk_loop_run(e.loop, (uint64_t)((seconds + 3) * 1e9));
    e.res.syscalls = io_syscalls() - sys0;
    e.res.seconds = sender ? now_s() - t0 : (double)(e.last_ns - e.first_ns) / 1e9;
    *out = e.res;
    if (getenv("VK_BENCH_SIDES")) { /* how many frames waited in the netdev's queue */
        vk_frame_pool_stats ps;
        vk_frame_pool_stats_get(&ps);
        fprintf(stderr, "  %s: netdev queued %llu of %llu frames; pool reused %llu allocated "
                "%llu; %llu system calls, %llu polls, %llu EAGAIN\n",
                sender ? "tx" : "rx", (unsigned long long)e.s->stats.queued,
                (unsigned long long)(sender ? e.s->stats.rx_frames : e.s->stats.tx_frames),
                (unsigned long long)ps.reused, (unsigned long long)ps.allocated,
                (unsigned long long)n_syscalls, (unsigned long long)n_polls,
                (unsigned long long)n_eagain);
    }
    vk_timer_free(e.timer);
    for (size_t i = 0; i < GEN_BURST; i++)
        vk_frame_slot_free(&e.slots[i]);
    vk_net_free(e.net);
    vk_topology_free(e.topo);
    vk_loop_free(e.loop);
    return 0;
}

/* ---- the baseline: the same bytes without the engine ---- */

static int plain_stream(int fd, bool sender, size_t size, double seconds, result *r)
{
    static uint8_t buf[BUF_BYTES];
    size_t rec = 4 + size, per = BUF_BYTES / rec, fill = per * rec;
    for (size_t i = 0; i < per; i++) {
        uint8_t *p = buf + i * rec;
        p[0] = 0, p[1] = 0, p[2] = (uint8_t)(size >> 8), p[3] = (uint8_t)size;
        memset(p + 4, 0xab, size);
    }
    uint64_t sys0 = io_syscalls(), bytes = 0;
    double t0 = now_s(), first = 0, last = 0;
    for (;;) {
        if (sender) {
            if (now_s() - t0 >= seconds)
                break;
            ssize_t n = write(fd, buf, fill);
            if (n <= 0)
                break;
            bytes += (uint64_t)n;
        } else {
            ssize_t n = read(fd, buf, BUF_BYTES);
            if (n <= 0)
                break;
            if (bytes == 0)
                first = now_s();
            last = now_s();
            bytes += (uint64_t)n;
        }
    }
    r->syscalls = io_syscalls() - sys0;
    r->frames = bytes / rec;
    r->bytes = r->frames * size;
    r->seconds = sender ? now_s() - t0 : last - first;
    return 0;
}

static int plain_dgram(int fd, bool sender, size_t size, double seconds, result *r)
{
    static uint8_t buf[DGRAM_BATCH][1600];
    struct mmsghdr msg[DGRAM_BATCH];
    struct iovec iov[DGRAM_BATCH];
    for (int i = 0; i < DGRAM_BATCH; i++) {
        memset(buf[i], 0xab, size);
        iov[i] = (struct iovec){buf[i], sender ? size : sizeof buf[i]};
        memset(&msg[i], 0, sizeof msg[i]);
        msg[i].msg_hdr.msg_iov = &iov[i];
        msg[i].msg_hdr.msg_iovlen = 1;
    }
    uint64_t sys0 = io_syscalls(), frames = 0;
    double t0 = now_s(), first = 0, last = 0;
    if (!sender) {
        struct timeval tv = {0, 500000}; /* the end: no datagram for 0.5 s */
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    for (;;) {
        if (sender) {
            if (now_s() - t0 >= seconds)
                break;
            int n = sendmmsg(fd, msg, DGRAM_BATCH, 0);
            if (n < 0 && errno != ECONNREFUSED && errno != ENOBUFS)
                break;
            frames += n > 0 ? (uint64_t)n : 0;
        } else {
            int n = recvmmsg(fd, msg, DGRAM_BATCH, MSG_WAITFORONE, NULL);
            if (n <= 0)
                break;
            if (frames == 0)
                first = now_s();
            last = now_s();
            frames += (uint64_t)n;
        }
    }
    r->syscalls = io_syscalls() - sys0;
    r->frames = frames;
    r->bytes = frames * size;
    r->seconds = sender ? now_s() - t0 : last - first;
    return 0;
}

/* ---- cases ---- */

typedef struct transport {
    const char *name;
    int domain, type;
} transport;

static int make_pair(const transport *t, int fds[2])
{
    if (t->domain == AF_UNIX)
        return socketpair(AF_UNIX, t->type, 0, fds);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in b = a;
    socklen_t len = sizeof a;
    if (t->type == SOCK_STREAM) {
        int l = socket(AF_INET, SOCK_STREAM, 0);
        if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
            getsockname(l, (struct sockaddr *)&a, &len) < 0)
            return -1;
        fds[0] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fds[0], (struct sockaddr *)&a, sizeof a) < 0)
            return -1;
        fds[1] = accept(l, NULL, NULL);
        close(l);
        return fds[1] < 0 ? -1 : 0;
    }
    fds[0] = socket(AF_INET, SOCK_DGRAM, 0);
    fds[1] = socket(AF_INET, SOCK_DGRAM, 0);
    int big = 4 << 20;
    setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (bind(fds[0], (struct sockaddr *)&a, sizeof a) < 0 ||
        bind(fds[1], (struct sockaddr *)&b, sizeof b) < 0 ||
        getsockname(fds[0], (struct sockaddr *)&a, &len) < 0 ||
        getsockname(fds[1], (struct sockaddr *)&b, &(socklen_t){sizeof b}) < 0 ||
        connect(fds[0], (struct sockaddr *)&b, sizeof b) < 0 ||
        connect(fds[1], (struct sockaddr *)&a, sizeof a) < 0)
        return -1;
    return 0;
}

/* Runs one side in a child; its result comes back through a pipe. */
static pid_t side(const transport *t, bool engine_side, bool sender, int fd, int other,
                  size_t size, double seconds, int pipefd)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    close(other); /* or the peer's end would never see EOF */
    result r = {0};
    int rc;
    if (engine_side) {
        char nd[160];
        if (t->type == SOCK_STREAM)
            snprintf(nd, sizeof nd, "stream,id=s,addr.type=fd,addr.str=%d", fd);
        else
            snprintf(nd, sizeof nd, "dgram,id=s,local.type=fd,local.str=%d", fd);
        rc = engine_run(nd, sender, size, seconds, &r);
    } else if (t->type == SOCK_STREAM) {
        rc = plain_stream(fd, sender, size, seconds, &r);
    } else {
        rc = plain_dgram(fd, sender, size, seconds, &r);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r.cpu_user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    r.cpu_sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    if (write(pipefd, &r, sizeof r) != (ssize_t)sizeof r)
        rc = 1;
    _exit(rc);
}

static int run_case(const transport *t, bool engine_side, size_t size, double seconds,
                    result *rx, result *tx)
{
    int fds[2], p[2];
    if (make_pair(t, fds) < 0 || pipe(p) < 0) {
        perror("vk_sock_bench: socket pair");
        return -1;
    }
    int q[2];
    if (pipe(q) < 0)
        return -1;
    pid_t r = side(t, engine_side, false, fds[0], fds[1], size, seconds, p[1]);
    close(fds[0]);
    pid_t s = side(t, engine_side, true, fds[1], -1, size, seconds, q[1]);
    close(fds[1]);
    close(p[1]);
    close(q[1]);
    int st1, st2;
    waitpid(s, &st2, 0);
    waitpid(r, &st1, 0);
    bool ok = read(p[0], rx, sizeof *rx) == (ssize_t)sizeof *rx &&
              read(q[0], tx, sizeof *tx) == (ssize_t)sizeof *tx;
    close(p[0]);
    close(q[0]);
    return ok && WIFEXITED(st1) && WEXITSTATUS(st1) == 0 ? 0 : -1;
}

/* One case's figures, as printed in its row. */
typedef struct row {
    double fps, txps, loss, sc, cpuf;
    double user_rx, cpu_rx, user_tx, cpu_tx; /* seconds, for VK_BENCH_SIDES */
} row;

static row row_of(const result *rx, const result *tx)
{
    row w;
    w.fps = rx->seconds > 0 ? (double)rx->frames / rx->seconds : 0;
    w.txps = tx->seconds > 0 ? (double)tx->frames / tx->seconds : 0;
    w.loss = tx->frames ? 100.0 * (1.0 - (double)rx->frames / (double)tx->frames) : 0;
    if (w.loss < 0)
        w.loss = 0;
    w.sc = rx->frames ? (double)(rx->syscalls + tx->syscalls) / (double)rx->frames : 0;
    w.cpu_rx = rx->cpu_user + rx->cpu_sys;
    w.cpu_tx = tx->cpu_user + tx->cpu_sys;
    w.user_rx = rx->cpu_user;
    w.user_tx = tx->cpu_user;
    w.cpuf = rx->frames ? (w.cpu_rx + w.cpu_tx) * 1e9 / (double)rx->frames : 0;
    return w;
}

static void print_row(const char *name, size_t size, bool eng, const row *w, const row *base)
{
    printf("%-13s %5zu %-8s %12.0f %8.2f %10.3f %9.0f %10.0f %7.1f %6.2f %9.2f\n", name, size,
           eng ? "vnetkit" : "plain", w->fps, w->fps * (double)size * 8 / 1e9, w->sc, w->cpuf,
           w->txps, w->loss, base != NULL && base->fps > 0 ? w->fps / base->fps : 0,
           base != NULL && w->cpuf > 0 ? base->cpuf / w->cpuf : 0);
    if (getenv("VK_BENCH_SIDES")) /* where the CPU goes, side by side */
        fprintf(stderr, "  rx cpu %.3f s (user %.3f)  tx cpu %.3f s (user %.3f)\n", w->cpu_rx,
                w->user_rx, w->cpu_tx, w->user_tx);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define MAX_ROUNDS 15

/* Issue 9's speed goal: 64-byte frames over a Unix stream at >= 1 Mpps and
 * >= 0.5x the plain copy measured in the same round. */
#define GOAL_MPPS 1.0
#define GOAL_RATIO 0.5

int main(int argc, char **argv)
{
    double seconds = 1.0;
    int rounds = 3;
    size_t sizes[2] = {64, 1500};
    const char *only = NULL; /* one transport, for profiling */
    const char *only_side = NULL; /* "plain" or "vnetkit", for profiling */
    size_t only_size = 0;         /* one frame size, for profiling */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            seconds = 0.2;
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--side") == 0 && i + 1 < argc)
            only_side = argv[++i];
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            only_size = (size_t)atol(argv[++i]);
        else {
            fprintf(stderr, "usage: vk_sock_bench [--quick] [--seconds S] [--rounds N] "
                            "[--only TRANSPORT] [--side plain|vnetkit] [--size 64|1500]\n");
            return 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "vk_sock_bench: --rounds %d: from 1 to %d\n", rounds, MAX_ROUNDS);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    static const transport ts[] = {
        {"unix-stream", AF_UNIX, SOCK_STREAM},
        {"tcp-loopback", AF_INET, SOCK_STREAM},
        {"unix-dgram", AF_UNIX, SOCK_DGRAM},
        {"udp-loopback", AF_INET, SOCK_DGRAM},
    };
    printf("%-13s %5s %-8s %12s %8s %10s %9s %10s %7s %6s %9s\n", "transport", "size", "side",
           "rx frames/s", "Gbit/s", "syscalls/f", "cpu ns/f", "tx sent/s", "loss%", "ratio",
           "cpu ratio");
    fflush(stdout);
    bool goal_seen = false;
    row goal_plain = {0}, goal_eng = {0};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        if (only != NULL && strcmp(only, ts[i].name) != 0)
            continue;
        for (size_t k = 0; k < 2; k++) {
            if (only_size != 0 && only_size != sizes[k])
                continue;
            /* the two sides in turn, round after round: each round's plain
             * copy is the baseline of the vnetkit run right after it */
            row w[MAX_ROUNDS][2];
            bool ok[MAX_ROUNDS][2] = {{false}};
            for (int r = 0; r < rounds; r++) {
                for (int eng = 0; eng < 2; eng++) {
                    if (only_side != NULL && strcmp(only_side, eng ? "vnetkit" : "plain") != 0)
                        continue;
                    result rx, tx;
                    if (run_case(&ts[i], eng, sizes[k], seconds, &rx, &tx) == 0) {
                        w[r][eng] = row_of(&rx, &tx);
                        ok[r][eng] = true;
                    }
                }
            }
            /* the round with the median ratio (or the median rate of the
             * one side that ran) is the row printed */
            double key[MAX_ROUNDS], sorted[MAX_ROUNDS];
            int nkey = 0;
            for (int r = 0; r < rounds; r++) {
                if (only_side == NULL ? !(ok[r][0] && ok[r][1]) : !(ok[r][0] || ok[r][1])) {
                    key[r] = -1;
                    continue;
                }
                key[r] = only_side != NULL ? (ok[r][0] ? w[r][0].fps : w[r][1].fps)
                         : w[r][0].fps > 0 ? w[r][1].fps / w[r][0].fps
                                           : 0;
                sorted[nkey++] = key[r];
            }
            if (nkey == 0) {
                printf("%-13s %5zu failed in every round\n", ts[i].name, sizes[k]);
                continue;
            }
            qsort(sorted, (size_t)nkey, sizeof sorted[0], cmp_double);
            double median = sorted[(nkey - 1) / 2];
            int m = 0;
            while (key[m] != median)
                m++;
            for (int eng = 0; eng < 2; eng++)
                if (ok[m][eng])
                    print_row(ts[i].name, sizes[k], eng, &w[m][eng], ok[m][0] ? &w[m][0] : NULL);
            if (only_side == NULL && nkey > 1) {
                printf("%-13s %5zu ratio in %d rounds:", "", sizes[k], nkey);
                for (int r = 0; r < rounds; r++)
                    if (key[r] >= 0)
                        printf(" %.2f", key[r]);
                printf("\n");
            }
            fflush(stdout);
            if (only_side == NULL && strcmp(ts[i].name, "unix-stream") == 0 && sizes[k] == 64) {
                goal_seen = true;
                goal_plain = w[m][0];
                goal_eng = w[m][1];
            }
        }
    }
    if (goal_seen) {
        double mpps = goal_eng.fps / 1e6;
        double ratio = goal_plain.fps > 0 ? goal_eng.fps / goal_plain.fps : 0;
        printf("\ngoal (issue 9), unix-stream 64-byte frames, the median round:\n");
        printf("  rate           >= %.1f Mpps        %8.2f Mpps  %s\n", GOAL_MPPS, mpps,
               mpps >= GOAL_MPPS ? "PASS" : "FAIL");
        printf("  vs plain copy  >= %.1fx same round  %8.2fx      %s  (cpu ratio %.2f)\n",
               GOAL_RATIO, ratio, ratio >= GOAL_RATIO ? "PASS" : "FAIL",
               goal_eng.cpuf > 0 ? goal_plain.cpuf / goal_eng.cpuf : 0);
    }
    return 0;
}
