/*
 * A scripted world (backends/user/world.h) for the TCP NAT tests: connects
 * answer after a set delay with a set status (on timers of the virtual
 * loop, never from inside an operation), bytes sent by the stack are
 * recorded, bytes and EOF/reset toward the stack are pushed by the test,
 * and the send room can be limited to exercise short sends and `writable`.
 * Sockets stay allocated until the world is freed, so a test can look at a
 * socket the stack has closed.
 */
#ifndef VK_TEST_FAKE_WORLD_H
#define VK_TEST_FAKE_WORLD_H

#include <stdlib.h>
#include <string.h>

#include "backends/user/world.h"
#include "core/error.h"

#define FW_BUF (1u << 20) /* most bytes one socket records either way */

typedef struct fw_sock {
    vk_wsock base;
    struct fw *w;
    bool listener;
    vk_world_flow flow;
    vk_waddr dst;
    char target[128];      /* stream_open */
    int status;
    vk_timer *timer;
    uint8_t *in;           /* toward the stack (allocated on use) */
    size_t in_len, in_off, in_cap;
    bool in_eof, in_rst;
    uint8_t *out;          /* from the stack (allocated on use) */
    size_t out_len, out_cap;
    size_t room;           /* send() takes at most this much more; SIZE_MAX: all */
    size_t sends;          /* send() calls that took bytes */
    int send_error;        /* when set, send() fails with it (the peer went away) */
    bool shut, closed, aborted;
} fw_sock;

typedef struct fw {
    vk_world base;
    fw_sock **socks;       /* every socket ever opened, in order */
    size_t n, cap;
    int connect_now;        /* returned by tcp_connect when not VK_OK */
    int connect_status;     /* given by `connected` */
    uint64_t connect_delay; /* ns; VK_TIME_NEVER: never answers */
    int listen_status;
} fw;

static inline fw_sock *fw_new_sock(fw *w, const vk_wsock_events *ev, void *ctx)
{
    fw_sock *s = calloc(1, sizeof *s);
    s->w = w;
    s->base.ev = ev;
    s->base.ctx = ctx;
    s->room = SIZE_MAX;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->socks = realloc(w->socks, w->cap * sizeof *w->socks);
    }
    w->socks[w->n++] = s;
    return s;
}

/* Grows *buf to hold `need` bytes (need <= FW_BUF). */
static inline void fw_grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 4096;
    while (c < need)
        c *= 2;
    *buf = realloc(*buf, c);
    *cap = c;
}

static inline void fw_connect_cb(void *arg, uint64_t now)
{
    fw_sock *s = arg;
    if (!s->closed)
        s->base.ev->connected(s->base.ctx, &s->base, s->status, now);
}

static inline int fw_tcp_connect(vk_world *wb, const vk_world_flow *flow, const vk_waddr *dst,
                                 const vk_wsock_events *ev, void *ctx, vk_wsock **out,
                                 uint64_t now)
{
    fw *w = (fw *)wb;
    if (w->connect_now != VK_OK) {
        *out = NULL;
        return w->connect_now;
    }
    fw_sock *s = fw_new_sock(w, ev, ctx);
    s->flow = *flow;
    s->dst = *dst;
    s->status = w->connect_status;
    s->timer = vk_timer_new(wb->loop, fw_connect_cb, s);
    if (w->connect_delay != VK_TIME_NEVER)
        vk_timer_arm(s->timer, now + w->connect_delay);
    *out = &s->base;
    return VK_OK;
}

static inline int fw_tcp_listen(vk_world *wb, const vk_waddr *local, const vk_wsock_events *ev,
                                void *ctx, vk_wsock **out, uint64_t now)
{
    (void)now;
    fw *w = (fw *)wb;
    if (w->listen_status != VK_OK)
        return w->listen_status;
    fw_sock *s = fw_new_sock(w, ev, ctx);
    s->listener = true;
    s->dst = *local;
    *out = &s->base;
    return VK_OK;
}

static inline long fw_send(vk_world *wb, vk_wsock *sb, const uint8_t *data, size_t len,
                           uint64_t now)
{
    (void)wb, (void)now;
    fw_sock *s = (fw_sock *)sb;
    if (s->closed || s->shut)
        return VK_EIO;
    if (s->send_error != VK_OK)
        return s->send_error;
    size_t n = len < s->room ? len : s->room;
    if (n > FW_BUF - s->out_len)
        n = FW_BUF - s->out_len;
    if (n == 0)
        return VK_EAGAIN;
    fw_grow(&s->out, &s->out_cap, s->out_len + n);
    memcpy(s->out + s->out_len, data, n);
    s->out_len += n;
    s->sends++;
    if (s->room != SIZE_MAX)
        s->room -= n;
    return (long)n;
}

static inline long fw_recv(vk_world *wb, vk_wsock *sb, uint8_t *buf, size_t cap, uint64_t now)
{
    (void)wb, (void)now;
    fw_sock *s = (fw_sock *)sb;
    if (s->in_off < s->in_len) {
        size_t n = s->in_len - s->in_off;
        if (n > cap)
            n = cap;
        memcpy(buf, s->in + s->in_off, n);
        s->in_off += n;
        return (long)n;
    }
    if (s->in_rst)
        return VK_ECONNRESET;
    return s->in_eof ? 0 : VK_EAGAIN;
}

static inline int fw_shutdown_write(vk_world *wb, vk_wsock *sb, uint64_t now)
{
    (void)wb, (void)now;
    ((fw_sock *)sb)->shut = true;
    return VK_OK;
}

static inline int fw_udp_open(vk_world *w, const vk_world_flow *flow, const vk_waddr *bind_to,
                              const vk_wsock_events *ev, void *ctx, vk_wsock **out, uint64_t now)
{
    (void)w, (void)flow, (void)bind_to, (void)ev, (void)ctx, (void)now;
    *out = NULL;
    return VK_ENETUNREACH;
}

static inline int fw_sendto(vk_world *w, vk_wsock *s, const vk_waddr *dst, const uint8_t *data,
                            size_t len, uint8_t ttl, uint64_t now)
{
    (void)w, (void)s, (void)dst, (void)data, (void)len, (void)ttl, (void)now;
    return VK_ENETUNREACH;
}

static inline long fw_recvfrom(vk_world *w, vk_wsock *s, uint8_t *buf, size_t cap,
                               vk_waddr *from, uint64_t now)
{
    (void)w, (void)s, (void)buf, (void)cap, (void)from, (void)now;
    return VK_EAGAIN;
}

static inline int fw_ping_open(vk_world *w, const vk_world_flow *flow, const vk_wsock_events *ev,
                               void *ctx, vk_wsock **out, uint64_t now)
{
    (void)w, (void)flow, (void)ev, (void)ctx, (void)now;
    *out = NULL;
    return VK_ENETUNREACH;
}

static inline int fw_stream_open(vk_world *wb, const vk_world_flow *flow, const char *target,
                                 const vk_wsock_events *ev, void *ctx, vk_wsock **out,
                                 uint64_t now)
{
    (void)now;
    fw_sock *s = fw_new_sock((fw *)wb, ev, ctx);
    if (flow != NULL)
        s->flow = *flow;
    snprintf(s->target, sizeof s->target, "%s", target);
    *out = &s->base;
    return VK_OK;
}

static inline int fw_dns_server(vk_world *w, int family, vk_waddr *out, uint64_t now)
{
    (void)w, (void)family, (void)out, (void)now;
    return VK_ENOENT;
}

static inline void fw_close(vk_world *wb, vk_wsock *sb, bool abort, uint64_t now)
{
    (void)wb, (void)now;
    fw_sock *s = (fw_sock *)sb;
    s->closed = true;
    s->aborted = abort;
    if (s->timer != NULL)
        vk_timer_cancel(s->timer);
}

static inline void fw_free(vk_world *wb)
{
    fw *w = (fw *)wb;
    for (size_t i = 0; i < w->n; i++) {
        vk_timer_free(w->socks[i]->timer);
        free(w->socks[i]->in);
        free(w->socks[i]->out);
        free(w->socks[i]);
    }
    free(w->socks);
    free(w);
}

static const vk_world_ops fw_ops = {
    .name = "fake",
    .tcp_connect = fw_tcp_connect,
    .tcp_listen = fw_tcp_listen,
    .send = fw_send,
    .recv = fw_recv,
    .shutdown_write = fw_shutdown_write,
    .udp_open = fw_udp_open,
    .sendto = fw_sendto,
    .recvfrom = fw_recvfrom,
    .ping_open = fw_ping_open,
    .stream_open = fw_stream_open,
    .dns_server = fw_dns_server,
    .close = fw_close,
    .free = fw_free,
};

static inline fw *fw_new(vk_loop *loop)
{
    fw *w = calloc(1, sizeof *w);
    w->base.ops = &fw_ops;
    w->base.loop = loop;
    w->connect_status = VK_OK;
    return w;
}

/* The peer sends bytes (readable comes at once: the test is the loop). */
static inline void fw_push(fw_sock *s, const void *data, size_t len, uint64_t now)
{
    fw_grow(&s->in, &s->in_cap, s->in_len + len);
    memcpy(s->in + s->in_len, data, len);
    s->in_len += len;
    s->base.ev->readable(s->base.ctx, &s->base, now);
}

static inline void fw_eof(fw_sock *s, uint64_t now)
{
    s->in_eof = true;
    s->base.ev->readable(s->base.ctx, &s->base, now);
}

static inline void fw_reset(fw_sock *s, uint64_t now)
{
    s->in_rst = true;
    s->base.ev->readable(s->base.ctx, &s->base, now);
}

/* The peer reads: send() has `room` more bytes, and writable comes. */
static inline void fw_make_room(fw_sock *s, size_t room, uint64_t now)
{
    s->room = room;
    s->base.ev->writable(s->base.ctx, &s->base, now);
}

/* A client connects to a listener from peer. */
static inline fw_sock *fw_accept(fw_sock *listener, const vk_waddr *peer, uint64_t now)
{
    fw_sock *s = fw_new_sock(listener->w, NULL, NULL);
    listener->base.ev->accepted(listener->base.ctx, &listener->base, &s->base, peer, now);
    return s;
}

#endif
