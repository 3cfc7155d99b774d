/*
 * The live world: the NAT's sockets are real non-blocking host sockets,
 * watched by the live loop (it refuses a virtual loop, whose clock it would
 * otherwise have to drive).  What it does, as libslirp's socket.c/udp.c/
 * ip_icmp.c do on Linux:
 *
 *  - TCP: non-blocking connect(); the outcome comes as `connected` once the
 *    socket is writable (SO_ERROR), or VK_ETIMEDOUT after 75 s without an
 *    answer (libslirp's TCPTV_KEEP_INIT); socket buffers autotuned by the
 *    kernel (libslirp: 128 KiB each; see set_bufs);
 *    close(abort) sets SO_LINGER 0 so the peer gets a RST.
 *  - UDP: IP_RECVERR / IPV6_RECVERR, so an ICMP error a datagram caused is
 *    read back from the error queue by recvfrom() (port, host, net
 *    unreachable); the TTL / hop limit of each datagram set with IP_TTL /
 *    IPV6_UNICAST_HOPS before its sendto(), as libslirp's udp_input does.
 *  - ICMP echo: an unprivileged ping socket (SOCK_DGRAM, IPPROTO_ICMP[V6]),
 *    which needs net.ipv4.ping_group_range to cover our group; when the
 *    kernel refuses, ping_open says so once on stderr and returns
 *    VK_EUNSUPP.  libslirp falls back to a raw socket or to UDP port 7; we
 *    do neither (a raw socket needs privileges we do not want to use).
 *  - guestfwd streams: "cmd:COMMAND" runs /bin/sh -c COMMAND per
 *    connection on one end of a socketpair (stdin, stdout and stderr, as
 *    libslirp's fork_exec); "tcp:HOST:PORT" and "unix:PATH" connect.
 *  - DNS: the first `nameserver` of the given family in resolv.conf,
 *    re-read at most once a second and only when the file changed.
 *
 * Delivery follows world.h: never from inside an operation.  Readiness is
 * edge-triggered: after `readable` the fd is no longer watched for input
 * until recv()/recvfrom() has returned VK_EAGAIN (so a stack that stops
 * reading while the guest's window is full does not make poll() spin); after
 * a short send() the fd is watched for output until `writable` is
 * delivered.  A socket with nothing to watch is not watched at all (a hung-up
 * fd would otherwise report POLLHUP for ever).
 *
 * Errors never crash the process: EMFILE/ENFILE/ENOBUFS/ENOMEM become
 * VK_EFULL (counted in vk_world_live_stats), EINTR is retried, EAGAIN is
 * VK_EAGAIN.  An accept() that fails for lack of descriptors pauses that
 * listener for 100 ms rather than spinning on the pending connection.
 * "tcp:HOST:PORT" streams are "ready at once" as world.h asks: the connect
 * goes on underneath, sends meanwhile take nothing (VK_EAGAIN, then
 * `writable`), and a failure shows as VK_ECONNRESET from recv().
 */
#define _GNU_SOURCE
#include "backends/user/world_live.h"
#include "core/fileid.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/icmp6.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"

#define LIVE_SOCKBUF (128 * 1024)                     /* libslirp SO_SNDBUF/SO_RCVBUF */
#define LIVE_CONNECT_TIMEOUT_NS (75ull * VK_NS_PER_SEC) /* libslirp TCPTV_KEEP_INIT */
#define LIVE_RESOLV_RECHECK_NS (1ull * VK_NS_PER_SEC)
#define LIVE_ACCEPT_PAUSE_NS (100ull * 1000000ull)

typedef enum live_kind {
    LS_TCP,     /* connected or connecting stream (TCP, unix, cmd) */
    LS_LISTEN,
    LS_UDP,
    LS_PING,
} live_kind;

typedef struct live_world live_world;

typedef struct live_sock {
    vk_wsock base; /* first: the stack's handle */
    live_world *w;
    live_kind kind;
    int fd;
    int family;    /* AF_INET, AF_INET6, AF_UNIX */
    bool connecting;    /* `connected` still to be reported */
    bool silent_connect; /* stream_open tcp:: a failure shows as a recv error */
    int deferred_status; /* connect finished inside the call: report from a timer */
    bool want_in, want_out;
    short watched;      /* events the loop watches now (0: not watched) */
    int pending_err;    /* a stream connect failure, for recv() */
    vk_timer *timer;    /* connect timeout, deferred report, accept pause */
} live_sock;

struct live_world {
    vk_world base;
    vk_world_live_stats st;
    char *resolv_path;
    bool ping_warned;
    struct {
        bool valid;
        uint64_t checked;
        vk_file_id file; /* resolv.conf as last read */
        bool have4, have6;
        vk_waddr ns4, ns6;
    } dns;
};

/* ---- helpers ---- */

static int map_errno(int e)
{
    switch (e) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EINPROGRESS:
        return VK_EAGAIN;
    case ECONNREFUSED:
        return VK_ECONNREFUSED;
    case ENETUNREACH:
    case ENETDOWN:
        return VK_ENETUNREACH;
    case EHOSTUNREACH:
    case EHOSTDOWN:
        return VK_EHOSTUNREACH;
    case ETIMEDOUT:
        return VK_ETIMEDOUT;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
        return VK_ECONNRESET;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
        return VK_EFULL;
    case EACCES:
    case EPERM:
    case EPROTONOSUPPORT:
    case EAFNOSUPPORT:
        return VK_EUNSUPP;
    case ENOENT:
        return VK_ENOENT;
    case EADDRINUSE:
        return VK_EEXIST;
    default:
        return VK_EIO;
    }
}

static int fail_errno(live_world *w, int e)
{
    int r = map_errno(e);
    if (r == VK_EFULL)
        w->st.fd_exhausted++;
    return r;
}

static socklen_t to_sockaddr(const vk_waddr *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (a->family == 6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, a->ip6.b, 16);
        s6->sin6_port = htons(a->port);
        return sizeof *s6;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    memcpy(&s4->sin_addr, a->ip4.b, 4);
    s4->sin_port = htons(a->port);
    return sizeof *s4;
}

static void from_sockaddr(const struct sockaddr_storage *ss, vk_waddr *a)
{
    memset(a, 0, sizeof *a);
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        a->family = 6;
        memcpy(a->ip6.b, &s6->sin6_addr, 16);
        a->port = ntohs(s6->sin6_port);
    } else if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        a->family = 4;
        memcpy(a->ip4.b, &s4->sin_addr, 4);
        a->port = ntohs(s4->sin_port);
    }
}

static int new_socket(live_world *w, int domain, int type, int proto, int *out)
{
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd < 0)
        return fail_errno(w, errno);
    *out = fd;
    return VK_OK;
}

/* libslirp fixes SO_SNDBUF and SO_RCVBUF at 128 KiB; we leave both to the
 * kernel's autotuning (net.ipv4.tcp_wmem/tcp_rmem), which starts smaller
 * and grows only for a connection that moves data.  With 128 KiB a fast
 * guest filled the send buffer every few windows at mtu=65520 and got a
 * zero window (scripts/bench-nat.sh, bench/README.md); an idle connection
 * costs less, not more.  LIVE_FIXED_SOCKBUF=1 at build time restores
 * libslirp's sizes, for comparison. */
static void set_bufs(int fd)
{
#if defined(LIVE_FIXED_SOCKBUF) && LIVE_FIXED_SOCKBUF
    int v = LIVE_SOCKBUF;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
#else
    (void)fd;
#endif
}

/* ---- watching ---- */

static void on_fd(void *arg, int fd, short revents);

/* Makes the loop watch exactly what s wants. */
static void rewatch(live_sock *s)
{
    short ev = (short)((s->want_in ? POLLIN : 0) | (s->want_out ? POLLOUT : 0));
    if (ev == s->watched)
        return;
    if (s->watched != 0)
        vk_loop_unwatch_fd(s->w->base.loop, s->fd);
    s->watched = 0;
    if (ev != 0 && vk_loop_watch_fd(s->w->base.loop, s->fd, ev, on_fd, s) == VK_OK)
        s->watched = ev;
}

static live_sock *sock_new(live_world *w, live_kind kind, int fd, int family,
                           const vk_wsock_events *ev, void *ctx);

static void on_timer(void *arg, uint64_t now);

static void deliver_connected(live_sock *s, int status, uint64_t now)
{
    s->connecting = false;
    vk_timer_cancel(s->timer);
    s->want_out = false;
    s->want_in = status == VK_OK;
    rewatch(s);
    if (status != VK_OK)
        s->w->st.connect_failures++;
    if (s->base.ev != NULL && s->base.ev->connected != NULL)
        s->base.ev->connected(s->base.ctx, &s->base, status, now);
}

/* One connection per poll: the stack may close the listener from
 * `accepted`, and the listener stays watched, so the next poll brings the
 * next pending connection. */
static void accept_one(live_sock *l, uint64_t now)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd;
    do
        fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
            return;
        fail_errno(l->w, errno);
        /* out of descriptors: the connection stays queued; try later */
        l->want_in = false;
        rewatch(l);
        vk_timer_arm(l->timer, now + LIVE_ACCEPT_PAUSE_NS);
        return;
    }
    set_bufs(fd);
    live_sock *c = sock_new(l->w, LS_TCP, fd, ss.ss_family, NULL, NULL);
    if (c == NULL) {
        close(fd);
        return;
    }
    vk_waddr peer;
    from_sockaddr(&ss, &peer);
    l->w->st.accepted++;
    if (l->base.ev != NULL && l->base.ev->accepted != NULL)
        l->base.ev->accepted(l->base.ctx, &l->base, &c->base, &peer, now);
    else
        l->w->base.ops->close(&l->w->base, &c->base, false, now);
}

static void on_fd(void *arg, int fd, short revents)
{
    (void)fd;
    live_sock *s = arg;
    uint64_t now = vk_loop_now(s->w->base.loop);
    if (s->kind == LS_LISTEN) {
        accept_one(s, now);
        return;
    }
    if (s->connecting || (s->silent_connect && (revents & (POLLOUT | POLLERR | POLLHUP)))) {
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
            err = errno;
        if (s->silent_connect) {
            s->silent_connect = false;
            s->pending_err = err;
            s->want_out = false;
            s->want_in = true;
            rewatch(s);
            /* a failure shows as a recv() error; success frees a send()
             * that found the connection still in progress */
            if (s->base.ev == NULL)
                return;
            if (err != 0 && s->base.ev->readable != NULL)
                s->base.ev->readable(s->base.ctx, &s->base, now);
            else if (err == 0 && s->base.ev->writable != NULL)
                s->base.ev->writable(s->base.ctx, &s->base, now);
            return;
        }
        deliver_connected(s, err == 0 ? VK_OK : map_errno(err), now);
        return;
    }
    /* Edge-triggered delivery: stop watching what we report until the stack
     * has drained it (recv == VK_EAGAIN) or was short again.  One event per
     * poll: the stack may close s from its callback, so nothing of s is
     * touched after it; input still pending is reported at the next poll. */
    bool out = s->want_out && (revents & (POLLOUT | POLLERR | POLLHUP));
    bool in = !out && s->want_in && (revents & (POLLIN | POLLERR | POLLHUP));
    if (out)
        s->want_out = false;
    if (in)
        s->want_in = false;
    rewatch(s);
    const vk_wsock_events *ev = s->base.ev;
    if (ev == NULL)
        return;
    if (out && ev->writable != NULL)
        ev->writable(s->base.ctx, &s->base, now);
    else if (in && ev->readable != NULL)
        ev->readable(s->base.ctx, &s->base, now);
}

static void on_timer(void *arg, uint64_t now)
{
    live_sock *s = arg;
    if (s->kind == LS_LISTEN) {
        s->want_in = true;
        rewatch(s);
        return;
    }
    if (s->connecting)
        deliver_connected(s, s->deferred_status != 1 ? s->deferred_status : VK_ETIMEDOUT, now);
}

static live_sock *sock_new(live_world *w, live_kind kind, int fd, int family,
                           const vk_wsock_events *ev, void *ctx)
{
    live_sock *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->timer = vk_timer_new(w->base.loop, on_timer, s);
    if (s->timer == NULL) {
        free(s);
        return NULL;
    }
    s->base.ev = ev;
    s->base.ctx = ctx;
    s->w = w;
    s->kind = kind;
    s->fd = fd;
    s->family = family;
    s->deferred_status = 1; /* none */
    s->want_in = true;
    rewatch(s);
    w->st.open_sockets++;
    return s;
}

/* ---- TCP ---- */

static int live_tcp_connect(vk_world *wb, const vk_world_flow *flow, const vk_waddr *dst,
                            const vk_wsock_events *ev, void *ctx, vk_wsock **out, uint64_t now)
{
    (void)flow;
    live_world *w = (live_world *)wb;
    *out = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = to_sockaddr(dst, &ss);
    int fd = -1, r = new_socket(w, ss.ss_family, SOCK_STREAM, 0, &fd);
    if (r != VK_OK)
        return r;
    set_bufs(fd);
    int c;
    do
        c = connect(fd, (struct sockaddr *)&ss, sl);
    while (c != 0 && errno == EINTR);
    int status = 1; /* pending */
    if (c == 0) {
        status = VK_OK;
    } else if (errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        w->st.connect_failures++;
        return fail_errno(w, e);
    }
    live_sock *s = sock_new(w, LS_TCP, fd, ss.ss_family, ev, ctx);
    if (s == NULL) {
        close(fd);
        return VK_ENOMEM;
    }
    s->connecting = true;
    s->want_in = false;
    s->want_out = status == 1;
    rewatch(s);
    if (status == VK_OK) {
        /* connected inside the call: report it from the loop, not from here */
        s->deferred_status = VK_OK;
        vk_timer_arm(s->timer, now);
    } else {
        vk_timer_arm(s->timer, now + LIVE_CONNECT_TIMEOUT_NS);
    }
    *out = &s->base;
    return VK_OK;
}

static int live_tcp_listen(vk_world *wb, const vk_waddr *local, const vk_wsock_events *ev,
                           void *ctx, vk_wsock **out, uint64_t now)
{
    (void)now;
    live_world *w = (live_world *)wb;
    *out = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = to_sockaddr(local, &ss);
    int fd = -1, r = new_socket(w, ss.ss_family, SOCK_STREAM, 0, &fd);
    if (r != VK_OK)
        return r;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    set_bufs(fd);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, SOMAXCONN) != 0) {
        int e = errno;
        close(fd);
        return fail_errno(w, e);
    }
    live_sock *s = sock_new(w, LS_LISTEN, fd, ss.ss_family, ev, ctx);
    if (s == NULL) {
        close(fd);
        return VK_ENOMEM;
    }
    *out = &s->base;
    return VK_OK;
}

static long live_send(vk_world *wb, vk_wsock *sb, const uint8_t *data, size_t len, uint64_t now)
{
    (void)wb, (void)now;
    live_sock *s = (live_sock *)sb;
    if (s->pending_err != 0)
        return map_errno(s->pending_err) == VK_EAGAIN ? VK_EAGAIN : VK_ECONNRESET;
    if (len == 0)
        return 0;
    ssize_t n;
    do
        n = send(s->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        int r = map_errno(errno);
        return r == VK_ECONNRESET ? VK_ECONNRESET : VK_EIO;
    }
    if (n < 0 || (size_t)n < len) {
        s->want_out = true;
        rewatch(s);
    }
    return n < 0 ? VK_EAGAIN : (long)n;
}

static long live_recv(vk_world *wb, vk_wsock *sb, uint8_t *buf, size_t cap, uint64_t now)
{
    (void)wb, (void)now;
    live_sock *s = (live_sock *)sb;
    if (s->pending_err != 0)
        return VK_ECONNRESET;
    ssize_t n;
    do
        n = recv(s->fd, buf, cap, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return (long)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        s->want_in = true;
        rewatch(s);
        return VK_EAGAIN;
    }
    return map_errno(errno) == VK_ECONNRESET ? VK_ECONNRESET : VK_EIO;
}

static int live_shutdown_write(vk_world *wb, vk_wsock *sb, uint64_t now)
{
    (void)wb, (void)now;
    live_sock *s = (live_sock *)sb;
    if (shutdown(s->fd, SHUT_WR) != 0 && errno != ENOTCONN)
        return VK_EIO;
    return VK_OK;
}

/* ---- UDP and ping ---- */

static void set_recverr(int fd, int family)
{
    int one = 1;
    if (family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof one);
    else
        setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof one);
}

static int live_udp_open(vk_world *wb, const vk_world_flow *flow, const vk_waddr *bind_to,
                         const vk_wsock_events *ev, void *ctx, vk_wsock **out, uint64_t now)
{
    (void)now;
    live_world *w = (live_world *)wb;
    *out = NULL;
    int family = bind_to != NULL ? bind_to->family : flow->family;
    int domain = family == 6 ? AF_INET6 : AF_INET;
    int fd = -1, r = new_socket(w, domain, SOCK_DGRAM, 0, &fd);
    if (r != VK_OK)
        return r;
    if (domain == AF_INET6) {
        int one = 1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    set_recverr(fd, domain);
    if (bind_to != NULL) {
        struct sockaddr_storage ss;
        socklen_t sl = to_sockaddr(bind_to, &ss);
        if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
            int e = errno;
            close(fd);
            return fail_errno(w, e);
        }
    }
    live_sock *s = sock_new(w, LS_UDP, fd, domain, ev, ctx);
    if (s == NULL) {
        close(fd);
        return VK_ENOMEM;
    }
    *out = &s->base;
    return VK_OK;
}

static int live_sendto(vk_world *wb, vk_wsock *sb, const vk_waddr *dst, const uint8_t *data,
                       size_t len, uint8_t ttl, uint64_t now)
{
    (void)wb, (void)now;
    live_sock *s = (live_sock *)sb;
    struct sockaddr_storage ss;
    socklen_t sl = to_sockaddr(dst, &ss);
    if ((int)ss.ss_family != s->family)
        return VK_ENETUNREACH;
    if (ttl != 0 && s->kind == LS_UDP) {
        int t = ttl;
        if (s->family == AF_INET6)
            setsockopt(s->fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &t, sizeof t);
        else
            setsockopt(s->fd, IPPROTO_IP, IP_TTL, &t, sizeof t);
    }
    ssize_t n;
    do
        n = sendto(s->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&ss, sl);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return VK_OK;
    switch (errno) {
    case ENETUNREACH:
    case ENETDOWN:
        return VK_ENETUNREACH;
    case EHOSTUNREACH:
    case EHOSTDOWN:
        return VK_EHOSTUNREACH;
    case ECONNREFUSED:
        return VK_EPORTUNREACH;
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
        return VK_EAGAIN; /* socket buffer full: the datagram is lost, as UDP may */
    default:
        return VK_EIO;
    }
}

/* The error an ICMP message reported for an earlier datagram. */
static int map_icmp_error(const struct sock_extended_err *ee)
{
    if (ee->ee_origin == SO_EE_ORIGIN_ICMP && ee->ee_type == ICMP_DEST_UNREACH) {
        if (ee->ee_code == ICMP_NET_UNREACH)
            return VK_ENETUNREACH;
        if (ee->ee_code == ICMP_PORT_UNREACH)
            return VK_EPORTUNREACH;
        return VK_EHOSTUNREACH;
    }
    if (ee->ee_origin == SO_EE_ORIGIN_ICMP6 && ee->ee_type == ICMP6_DST_UNREACH) {
        if (ee->ee_code == ICMP6_DST_UNREACH_NOROUTE)
            return VK_ENETUNREACH;
        if (ee->ee_code == ICMP6_DST_UNREACH_NOPORT)
            return VK_EPORTUNREACH;
        return VK_EHOSTUNREACH;
    }
    switch (ee->ee_errno) {
    case ECONNREFUSED:
        return VK_EPORTUNREACH;
    case ENETUNREACH:
        return VK_ENETUNREACH;
    case EHOSTUNREACH:
        return VK_EHOSTUNREACH;
    default:
        return VK_EHOSTUNREACH; /* time exceeded and the like: nothing came back */
    }
}

/* Reads one queued error (IP_RECVERR), if any: 1 with *err and *from, else 0. */
static int read_errqueue(live_sock *s, int *err, vk_waddr *from)
{
    uint8_t data[64];
    uint8_t control[512];
    struct sockaddr_storage name;
    struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
    struct msghdr msg = {.msg_name = &name, .msg_namelen = sizeof name, .msg_iov = &iov,
                         .msg_iovlen = 1, .msg_control = control,
                         .msg_controllen = sizeof control};
    ssize_t n;
    do
        n = recvmsg(s->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return 0;
    *err = VK_EHOSTUNREACH;
    memset(from, 0, sizeof *from);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (!((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
              (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)))
            continue;
        if (c->cmsg_len < CMSG_LEN(sizeof(struct sock_extended_err)))
            continue;
        struct sock_extended_err ee;
        memcpy(&ee, CMSG_DATA(c), sizeof ee);
        *err = map_icmp_error(&ee);
        /* the offender's address follows the structure */
        size_t room = c->cmsg_len - CMSG_LEN(sizeof ee);
        struct sockaddr_storage off;
        memset(&off, 0, sizeof off);
        memcpy(&off, CMSG_DATA(c) + sizeof ee, room < sizeof off ? room : sizeof off);
        from_sockaddr(&off, from);
    }
    return 1;
}

static long live_recvfrom(vk_world *wb, vk_wsock *sb, uint8_t *buf, size_t cap, vk_waddr *from,
                          uint64_t now)
{
    (void)now;
    live_sock *s = (live_sock *)sb;
    live_world *w = (live_world *)wb;
    int err;
    if (read_errqueue(s, &err, from)) {
        w->st.icmp_errors++;
        return err;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    ssize_t n;
    do
        n = recvfrom(s->fd, buf, cap, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&ss, &sl);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            s->want_in = true;
            rewatch(s);
            return VK_EAGAIN;
        }
        memset(from, 0, sizeof *from);
        switch (errno) {
        case ECONNREFUSED:
            return VK_EPORTUNREACH;
        case ENETUNREACH:
            return VK_ENETUNREACH;
        case EHOSTUNREACH:
            return VK_EHOSTUNREACH;
        default:
            return VK_EIO;
        }
    }
    from_sockaddr(&ss, from);
    if ((size_t)n > cap) {
        w->st.truncated++;
        n = (ssize_t)cap;
    }
    return (long)n;
}

static int live_ping_open(vk_world *wb, const vk_world_flow *flow, const vk_wsock_events *ev,
                          void *ctx, vk_wsock **out, uint64_t now)
{
    (void)now;
    live_world *w = (live_world *)wb;
    *out = NULL;
    int domain = flow->family == 6 ? AF_INET6 : AF_INET;
    int proto = flow->family == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
    int fd = -1, r = new_socket(w, domain, SOCK_DGRAM, proto, &fd);
    if (r == VK_EUNSUPP) {
        w->st.ping_refused++;
        if (!w->ping_warned) {
            w->ping_warned = true;
            fprintf(stderr,
                    "vnetkit: user: ICMP echo to the outside needs unprivileged ping sockets: "
                    "add our group to net.ipv4.ping_group_range (sysctl -w "
                    "net.ipv4.ping_group_range='0 2147483647')\n");
        }
        return VK_EUNSUPP;
    }
    if (r != VK_OK)
        return r;
    set_recverr(fd, domain);
    live_sock *s = sock_new(w, LS_PING, fd, domain, ev, ctx);
    if (s == NULL) {
        close(fd);
        return VK_ENOMEM;
    }
    *out = &s->base;
    return VK_OK;
}

/* ---- guestfwd streams ---- */

/* Runs /bin/sh -c cmd on one end of a socketpair, as a grandchild so that no
 * zombie is left to reap (the intermediate child exits at once). */
static int spawn_cmd(live_world *w, const char *cmd, int *out)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return fail_errno(w, errno);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return fail_errno(w, e);
    }
    if (pid == 0) {
        if (fork() != 0)
            _exit(0);
        setsid();
        signal(SIGPIPE, SIG_DFL);
        dup2(sv[1], 0);
        dup2(sv[1], 1);
        dup2(sv[1], 2);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(sv[1]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    *out = sv[0];
    return VK_OK;
}

static int connect_unix(live_world *w, const char *path, int *out)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sun.sun_path)
        return VK_EINVAL;
    strcpy(sun.sun_path, path);
    int fd = -1, r = new_socket(w, AF_UNIX, SOCK_STREAM, 0, &fd);
    if (r != VK_OK)
        return r;
    int c;
    do
        c = connect(fd, (struct sockaddr *)&sun, sizeof sun);
    while (c != 0 && errno == EINTR);
    if (c != 0 && errno != EINPROGRESS && errno != EAGAIN) {
        int e = errno;
        close(fd);
        return fail_errno(w, e);
    }
    *out = fd;
    return VK_OK;
}

/* "HOST:PORT" (HOST may be [v6]): a non-blocking connect, in progress. */
static int connect_tcp(live_world *w, const char *hp, int *out, int *family)
{
    char host[256];
    const char *colon = strrchr(hp, ':');
    if (colon == NULL || colon == hp || (size_t)(colon - hp) >= sizeof host || colon[1] == 0)
        return VK_EINVAL;
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = 0;
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']') {
        h[strlen(h) - 1] = 0;
        h++;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(h, colon + 1, &hints, &res) != 0 || res == NULL)
        return VK_ENOENT;
    int fd = -1, r = new_socket(w, res->ai_family, SOCK_STREAM, 0, &fd);
    if (r == VK_OK) {
        set_bufs(fd);
        int c;
        do
            c = connect(fd, res->ai_addr, res->ai_addrlen);
        while (c != 0 && errno == EINTR);
        if (c != 0 && errno != EINPROGRESS) {
            r = fail_errno(w, errno);
            close(fd);
        } else {
            *out = fd;
            *family = res->ai_family;
        }
    }
    freeaddrinfo(res);
    return r;
}

static int live_stream_open(vk_world *wb, const vk_world_flow *flow, const char *target,
                            const vk_wsock_events *ev, void *ctx, vk_wsock **out, uint64_t now)
{
    (void)flow, (void)now;
    live_world *w = (live_world *)wb;
    *out = NULL;
    int fd = -1, family = AF_UNIX, r;
    bool in_progress = false;
    if (strncmp(target, "cmd:", 4) == 0) {
        r = spawn_cmd(w, target + 4, &fd);
    } else if (strncmp(target, "unix:", 5) == 0) {
        r = connect_unix(w, target + 5, &fd);
    } else if (strncmp(target, "tcp:", 4) == 0) {
        r = connect_tcp(w, target + 4, &fd, &family);
        in_progress = true;
    } else {
        return VK_EINVAL;
    }
    if (r != VK_OK)
        return r;
    live_sock *s = sock_new(w, LS_TCP, fd, family, ev, ctx);
    if (s == NULL) {
        close(fd);
        return VK_ENOMEM;
    }
    if (in_progress) {
        s->silent_connect = true;
        s->want_out = true;
        rewatch(s);
    }
    *out = &s->base;
    return VK_OK;
}

/* ---- DNS ---- */

static void read_resolv(live_world *w)
{
    w->dns.have4 = w->dns.have6 = false;
    FILE *f = fopen(w->resolv_path, "r");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        char addr[257];
        if (sscanf(line, "nameserver%*[ \t]%256s", addr) != 1)
            continue;
        char *pct = strchr(addr, '%'); /* a zone index: not used for the upstream */
        if (pct != NULL)
            *pct = 0;
        vk_waddr a = {.port = 53};
        if (!w->dns.have4 && vk_ip4_parse(addr, &a.ip4) == VK_OK) {
            a.family = 4;
            w->dns.ns4 = a;
            w->dns.have4 = true;
        } else if (!w->dns.have6 && vk_ip6_parse(addr, &a.ip6) == VK_OK) {
            a.family = 6;
            w->dns.ns6 = a;
            w->dns.have6 = true;
        }
    }
    fclose(f);
}

static int live_dns_server(vk_world *wb, int family, vk_waddr *out, uint64_t now)
{
    live_world *w = (live_world *)wb;
    if (!w->dns.valid || now - w->dns.checked >= LIVE_RESOLV_RECHECK_NS) {
        vk_file_id now_id = vk_file_id_of(w->resolv_path);
        bool same = w->dns.valid && now_id.known && vk_file_id_same(&now_id, &w->dns.file);
        w->dns.file = now_id;
        if (!same)
            read_resolv(w);
        w->dns.valid = true;
        w->dns.checked = now;
    }
    if (family == 6 ? !w->dns.have6 : !w->dns.have4)
        return VK_ENOENT;
    *out = family == 6 ? w->dns.ns6 : w->dns.ns4;
    return VK_OK;
}

/* ---- close / free ---- */

static void live_close(vk_world *wb, vk_wsock *sb, bool abort, uint64_t now)
{
    (void)now;
    live_world *w = (live_world *)wb;
    live_sock *s = (live_sock *)sb;
    if (s == NULL)
        return;
    if (s->watched != 0)
        vk_loop_unwatch_fd(w->base.loop, s->fd);
    vk_timer_free(s->timer);
    if (abort && s->kind == LS_TCP && s->family != AF_UNIX) {
        struct linger l = {.l_onoff = 1, .l_linger = 0};
        setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close(s->fd);
    w->st.open_sockets--;
    free(s);
}

static void live_free(vk_world *wb)
{
    live_world *w = (live_world *)wb;
    free(w->resolv_path);
    free(w);
}

static const vk_world_ops live_ops = {
    .name = "live",
    .tcp_connect = live_tcp_connect,
    .tcp_listen = live_tcp_listen,
    .send = live_send,
    .recv = live_recv,
    .shutdown_write = live_shutdown_write,
    .udp_open = live_udp_open,
    .sendto = live_sendto,
    .recvfrom = live_recvfrom,
    .ping_open = live_ping_open,
    .stream_open = live_stream_open,
    .dns_server = live_dns_server,
    .close = live_close,
    .free = live_free,
};

int vk_world_live_new(vk_loop *loop, const char *resolv_conf, vk_world **out, vk_diag *d)
{
    *out = NULL;
    if (vk_loop_clock(loop) != VK_CLOCK_LIVE)
        return vk_diag_set(d, VK_EUNSUPP,
                           "user: the live world needs the live clock (host sockets cannot "
                           "run on the virtual clock of a replay)");
    live_world *w = calloc(1, sizeof *w);
    if (w == NULL)
        return vk_diag_set(d, VK_ENOMEM, "user: out of memory");
    w->resolv_path = strdup(resolv_conf != NULL ? resolv_conf : "/etc/resolv.conf");
    if (w->resolv_path == NULL) {
        free(w);
        return vk_diag_set(d, VK_ENOMEM, "user: out of memory");
    }
    w->base.ops = &live_ops;
    w->base.loop = loop;
    *out = &w->base;
    return VK_OK;
}

const vk_world_live_stats *vk_world_live_stats_of(const vk_world *w)
{
    if (w == NULL || w->ops != &live_ops)
        return NULL;
    return &((const live_world *)w)->st;
}
