/*
 * A stream connection as a port (rules in stream_link.h).  States:
 *   listening   (server, no peer)  listen_fd watched for POLLIN
 *   connecting  (client)           conn_fd watched for POLLOUT
 *   connected                      conn_fd watched for POLLIN (+POLLOUT when
 *                                  the transmit buffer could not be written)
 *   idle        (client waiting to reconnect, or down for good)
 * The link is up exactly in the connected state.
 */
#define _GNU_SOURCE /* accept4 */
#include "backends/stream_link.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/framing.h"

typedef enum slink_state { SL_IDLE, SL_LISTENING, SL_CONNECTING, SL_CONNECTED } slink_state;

typedef struct slink {
    vk_port *port;
    vk_loop *loop;
    vk_slink_mode mode;
    slink_state state;
    int listen_fd, conn_fd;
    bool listen_watched, conn_watched, want_out;
    vk_saddr addr;
    char option[128];
    uint64_t reconnect_ns;
    bool connect_failing; /* a failure was already reported: stay quiet until success */
    vk_timer *flush_timer, *reconnect_timer;
    bool flush_armed; /* flush_timer is pending (saves a call per frame) */
    vk_stream_rx rx;
    vk_stream_tx tx;
} slink;

/* Writes the buffer out when this much is waiting, without waiting for the
 * end of the loop turn. */
#define SLINK_WRITE_NOW (256u * 1024u)

static void slink_listen(slink *s);
static void slink_connect(slink *s);

/* One line on stderr for what happens at run time to a peerless link. */
static void slink_note(slink *s, const char *what, const char *then)
{
    fprintf(stderr, "vnetkit: %s: %s%s\n", s->option, what, then);
}

/* ---- tearing a connection down ---- */

static void trace_unsent(void *arg, const uint8_t *frame, size_t len)
{
    slink *s = arg;
    vk_port_drop_outbound_bytes(s->port, frame, len, "stream: connection ended before the frame "
                                "was sent");
}

/* Ends the connection (or the attempt) and decides what comes next. */
static void slink_disconnect(slink *s, const char *why)
{
    if (s->conn_watched)
        vk_loop_unwatch_fd(s->loop, s->conn_fd);
    s->conn_watched = false;
    s->want_out = false;
    if (s->conn_fd >= 0)
        close(s->conn_fd);
    s->conn_fd = -1;
    size_t claimed, partial = vk_stream_rx_partial(&s->rx, &claimed);
    if (partial > 0) {
        char reason[160];
        snprintf(reason, sizeof reason, "stream: connection ended in the middle of a frame "
                 "(%zu of %zu bytes)", partial, claimed + VK_STREAM_HDR_LEN);
        vk_port_drop_outbound_bytes(s->port, s->rx.buf + s->rx.start, partial, reason);
    }
    vk_stream_tx_foreach_unsent(&s->tx, trace_unsent, s);
    vk_stream_rx_reset(&s->rx);
    vk_stream_tx_reset(&s->tx);
    vk_timer_cancel(s->flush_timer);
    s->flush_armed = false;
    bool was_up = s->state == SL_CONNECTED;
    s->state = SL_IDLE;
    vk_port_set_link(s->port, false, why);
    if (s->mode == VK_SLINK_SERVER) {
        slink_listen(s);
    } else if (s->mode == VK_SLINK_CLIENT && s->reconnect_ns > 0) {
        vk_timer_arm(s->reconnect_timer, vk_loop_now(s->loop) + s->reconnect_ns);
    } else if (was_up || s->mode == VK_SLINK_CLIENT) {
        slink_note(s, why, "; the link stays down");
    }
    /* frames that waited for room are now dropped as "link down", in order */
    vk_port_flush(s->port);
}

static void slink_disconnect_errno(slink *s, const char *what, int err)
{
    char why[160];
    snprintf(why, sizeof why, "%s: %s", what, strerror(err));
    slink_disconnect(s, why);
}

/* ---- transmit ---- */

static void slink_set_pollout(slink *s, bool on)
{
    if (s->want_out == on || !s->conn_watched)
        return;
    s->want_out = on;
    vk_loop_set_fd_events(s->loop, s->conn_fd, on ? (POLLIN | POLLOUT) : POLLIN);
}

/* Writes what the buffer holds until the socket takes no more.  Returns
 * false when the connection broke (it is then already torn down). */
static bool slink_write_out(slink *s)
{
    for (;;) {
        size_t len;
        const uint8_t *data = vk_stream_tx_data(&s->tx, &len);
        if (len == 0) {
            slink_set_pollout(s, false);
            return true;
        }
        ssize_t n = send(s->conn_fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            vk_stream_tx_consume(&s->tx, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            slink_set_pollout(s, true);
            return true;
        }
        slink_disconnect_errno(s, "write", n < 0 ? errno : EPIPE);
        return false;
    }
}

static void slink_on_flush_timer(void *arg, uint64_t now)
{
    slink *s = arg;
    (void)now;
    s->flush_armed = false;
    if (s->state == SL_CONNECTED && !s->want_out)
        slink_write_out(s);
}

static bool slink_can_receive(vk_port *self)
{
    slink *s = self->priv;
    /* while down every frame is taken and dropped with its reason */
    return s->state != SL_CONNECTED || vk_stream_tx_fits(&s->tx, VK_FRAME_MAX);
}

static int slink_receive(vk_port *self, vk_frame *f)
{
    slink *s = self->priv;
    if (s->state != SL_CONNECTED) {
        vk_port_drop(self, f, "stream: link down (no peer connected)");
        return VK_EDROP;
    }
    int r = vk_stream_tx_put(&s->tx, f->data, f->len);
    if (r == VK_ERANGE) {
        vk_port_drop(self, f, f->len == 0 ? "stream: empty frame" : "stream: frame too long");
        return VK_EDROP;
    }
    if (r != VK_OK) { /* can_receive() said yes, so this cannot happen */
        vk_port_drop(self, f, "stream: transmit buffer full");
        return VK_EDROP;
    }
    if (s->want_out)
        return VK_OK; /* POLLOUT will write it */
    if (vk_stream_tx_pending(&s->tx) >= SLINK_WRITE_NOW || !vk_stream_tx_fits(&s->tx, VK_FRAME_MAX))
        slink_write_out(s);
    else if (!s->flush_armed) {
        s->flush_armed = true;
        vk_timer_arm(s->flush_timer, vk_loop_now(s->loop));
    }
    return VK_OK;
}

/* ---- receive ---- */

static void slink_bad_length(slink *s, size_t len)
{
    char reason[160];
    snprintf(reason, sizeof reason, "stream: frame length %zu over %u: connection dropped", len,
             VK_STREAM_LEN_MAX);
    vk_port_drop_outbound_bytes(s->port, s->rx.buf + s->rx.start, VK_STREAM_HDR_LEN, reason);
    vk_stream_rx_reset(&s->rx); /* the header was traced; nothing else is a frame */
    slink_disconnect(s, "peer sent a bad frame length");
}

/* Sends every whole frame in the receive buffer; false if the connection
 * was dropped. */
static bool slink_parse(slink *s)
{
    for (;;) {
        const uint8_t *frame;
        size_t len;
        int r = vk_stream_rx_next(&s->rx, &frame, &len);
        if (r == VK_EAGAIN)
            return true;
        if (r == VK_ERANGE) {
            slink_bad_length(s, len);
            return false;
        }
        if (r == VK_EDROP) {
            vk_port_drop_outbound_bytes(s->port, NULL, 0, "stream: zero-length frame");
            continue;
        }
        /* the frame borrows the receive buffer; settle() copies it only for
         * whoever kept it (a queue, a filter), before the buffer is reused */
        vk_frame *f = vk_frame_lend((uint8_t *)frame, len);
        if (f == NULL) {
            vk_port_drop_outbound_bytes(s->port, frame, len, "stream: out of memory");
            continue;
        }
        vk_port_send(s->port, f);
        vk_frame_settle(f);
    }
}

static void slink_read(slink *s)
{
    size_t room;
    uint8_t *space = vk_stream_rx_space(&s->rx, &room);
    ssize_t n;
    do
        n = recv(s->conn_fd, space, room, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n < 0) {
        slink_disconnect_errno(s, "read", errno);
        return;
    }
    if (n == 0) {
        slink_disconnect(s, "peer closed the connection");
        return;
    }
    vk_stream_rx_commit(&s->rx, (size_t)n);
    slink_parse(s);
}

/* ---- connection set-up ---- */

static void slink_on_conn(void *arg, int fd, short revents);

static void slink_up(slink *s, const char *why)
{
    s->state = SL_CONNECTED;
    s->connect_failing = false;
    if (!s->conn_watched && vk_loop_watch_fd(s->loop, s->conn_fd, POLLIN, slink_on_conn, s) == VK_OK)
        s->conn_watched = true;
    else if (s->conn_watched)
        vk_loop_set_fd_events(s->loop, s->conn_fd, POLLIN);
    vk_port_set_link(s->port, true, why);
}

static bool slink_connected_to_itself(const slink *s)
{
    struct sockaddr_storage self, peer;
    socklen_t sl = sizeof self, pl = sizeof peer;
    if (s->addr.ss.ss_family == AF_UNIX ||
        getsockname(s->conn_fd, (struct sockaddr *)&self, &sl) != 0 ||
        getpeername(s->conn_fd, (struct sockaddr *)&peer, &pl) != 0)
        return false;
    return sl == pl && memcmp(&self, &peer, sl) == 0;
}

static void slink_connect_done(slink *s)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s->conn_fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err != 0) {
        char why[200];
        snprintf(why, sizeof why, "connect to %s: %s", s->addr.text, strerror(err));
        bool quiet = s->connect_failing;
        s->connect_failing = true;
        if (quiet) { /* the same failure again while retrying: no new line */
            if (s->conn_watched)
                vk_loop_unwatch_fd(s->loop, s->conn_fd);
            s->conn_watched = false;
            close(s->conn_fd);
            s->conn_fd = -1;
            s->state = SL_IDLE;
            vk_timer_arm(s->reconnect_timer, vk_loop_now(s->loop) + s->reconnect_ns);
            return;
        }
        if (s->reconnect_ns > 0)
            slink_note(s, why, " (retrying)");
        slink_disconnect(s, why);
        return;
    }
    if (slink_connected_to_itself(s)) {
        /* TCP's simultaneous open: connecting to a free port of our own
         * host can pick that very port as the local one */
        slink_disconnect(s, "connected to itself (no server yet)");
        return;
    }
    char why[200];
    snprintf(why, sizeof why, "connected to %s", s->addr.text);
    slink_up(s, why);
}

static void slink_on_conn(void *arg, int fd, short revents)
{
    slink *s = arg;
    (void)fd;
    if (s->state == SL_CONNECTING) {
        slink_connect_done(s);
        return;
    }
    if (s->state != SL_CONNECTED)
        return;
    if (revents & (POLLIN | POLLHUP | POLLERR))
        slink_read(s);
    if (s->state == SL_CONNECTED && (revents & POLLOUT) && s->want_out) {
        if (!slink_write_out(s))
            return;
        if (vk_stream_tx_fits(&s->tx, VK_FRAME_MAX))
            vk_port_flush(s->port);
    }
}

static void slink_connect(slink *s)
{
    s->conn_fd = socket(s->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->conn_fd < 0) {
        slink_disconnect_errno(s, "socket", errno);
        return;
    }
    s->state = SL_CONNECTING;
    int r = connect(s->conn_fd, (const struct sockaddr *)&s->addr.ss, s->addr.len);
    if (r < 0 && errno != EINPROGRESS && errno != EINTR) {
        /* let connect_done report it the same way as an asynchronous failure */
        int err = errno;
        char why[200];
        snprintf(why, sizeof why, "connect to %s: %s", s->addr.text, strerror(err));
        if (s->connect_failing) {
            close(s->conn_fd);
            s->conn_fd = -1;
            s->state = SL_IDLE;
            if (s->reconnect_ns > 0)
                vk_timer_arm(s->reconnect_timer, vk_loop_now(s->loop) + s->reconnect_ns);
            return;
        }
        s->connect_failing = true;
        if (s->reconnect_ns > 0)
            slink_note(s, why, " (retrying)");
        slink_disconnect(s, why);
        return;
    }
    if (vk_loop_watch_fd(s->loop, s->conn_fd, POLLOUT, slink_on_conn, s) != VK_OK) {
        slink_disconnect(s, "cannot watch the socket");
        return;
    }
    s->conn_watched = true;
}

static void slink_on_reconnect(void *arg, uint64_t now)
{
    slink *s = arg;
    (void)now;
    if (s->state == SL_IDLE)
        slink_connect(s);
}

static void slink_on_accept(void *arg, int fd, short revents)
{
    slink *s = arg;
    (void)revents;
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    int c = accept4(fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0)
        return; /* EAGAIN, or the peer gave up already: keep listening */
    /* one peer at a time: later ones wait in the backlog */
    vk_loop_unwatch_fd(s->loop, s->listen_fd);
    s->listen_watched = false;
    s->conn_fd = c;
    char why[200];
    snprintf(why, sizeof why, "peer connected to %s", s->addr.text);
    slink_up(s, why);
}

static void slink_listen(slink *s)
{
    s->state = SL_LISTENING;
    if (!s->listen_watched &&
        vk_loop_watch_fd(s->loop, s->listen_fd, POLLIN, slink_on_accept, s) == VK_OK)
        s->listen_watched = true;
}

/* ---- port operations ---- */

static int slink_start(vk_port *self)
{
    slink *s = self->priv;
    s->loop = vk_net_loop(self->net);
    if (vk_loop_clock(s->loop) != VK_CLOCK_LIVE) {
        vk_net_fail(self->net, VK_EUNSUPP, "%s: a socket needs the live clock (drop --clock "
                    "virtual)", s->option);
        return VK_EUNSUPP;
    }
    s->flush_timer = vk_timer_new(s->loop, slink_on_flush_timer, s);
    s->reconnect_timer = vk_timer_new(s->loop, slink_on_reconnect, s);
    if (s->flush_timer == NULL || s->reconnect_timer == NULL)
        return VK_ENOMEM;
    switch (s->mode) {
    case VK_SLINK_SERVER:
        slink_listen(s);
        break;
    case VK_SLINK_CLIENT:
        slink_connect(s);
        break;
    case VK_SLINK_FD:
        slink_up(s, "connected socket given with fd=");
        break;
    }
    return VK_OK;
}

static void trace_unsent_at_end(void *arg, const uint8_t *frame, size_t len)
{
    slink *s = arg;
    vk_port_drop_outbound_bytes(s->port, frame, len, "stream: not sent before the end of the "
                                "run");
}

/* the run ends with frames still buffered: none goes silently */
static void slink_end(vk_port *self)
{
    slink *s = self->priv;
    if (s->tx.buf != NULL)
        vk_stream_tx_foreach_unsent(&s->tx, trace_unsent_at_end, s);
}

static void slink_cleanup(vk_port *self)
{
    slink *s = self->priv;
    if (s->loop != NULL) {
        if (s->conn_watched)
            vk_loop_unwatch_fd(s->loop, s->conn_fd);
        if (s->listen_watched)
            vk_loop_unwatch_fd(s->loop, s->listen_fd);
    }
    if (s->conn_fd >= 0)
        close(s->conn_fd);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    vk_timer_free(s->flush_timer);
    vk_timer_free(s->reconnect_timer);
    vk_stream_rx_free(&s->rx);
    vk_stream_tx_free(&s->tx);
}

static void slink_describe(vk_port *self, char *buf, size_t cap)
{
    slink *s = self->priv;
    static const char *const mode[] = {"server", "client", "fd"};
    snprintf(buf, cap, "%s %s %s", self->model, mode[s->mode],
             s->mode == VK_SLINK_FD ? "" : s->addr.text);
}

static const vk_port_ops slink_ops = {
    .kind = "stream",
    .receive = slink_receive,
    .can_receive = slink_can_receive,
    .cleanup = slink_cleanup,
    .describe = slink_describe,
    .start = slink_start,
    .end = slink_end,
};

static void close_cfg_fds(const vk_slink_config *cfg)
{
    if (cfg->listen_fd >= 0)
        close(cfg->listen_fd);
    if (cfg->conn_fd >= 0)
        close(cfg->conn_fd);
}

int vk_slink_create(vk_net *net, const char *id, const vk_slink_config *cfg, vk_port **out,
                    vk_diag *d)
{
    vk_port *p;
    int r = vk_port_new(net, &slink_ops, id, cfg->model, sizeof(slink), &p, d);
    if (r != VK_OK) {
        close_cfg_fds(cfg);
        return r;
    }
    slink *s = p->priv;
    s->port = p;
    s->mode = cfg->mode;
    s->listen_fd = cfg->listen_fd;
    s->conn_fd = cfg->conn_fd;
    s->addr = cfg->addr;
    s->reconnect_ns = cfg->reconnect_ns;
    snprintf(s->option, sizeof s->option, "%s", cfg->option);
    /* down until a peer is there (a port that never calls set_link is up) */
    p->link_down = true;
    if (vk_stream_rx_init(&s->rx, VK_STREAM_RX_BUF) != VK_OK ||
        vk_stream_tx_init(&s->tx, VK_STREAM_TX_BUF) != VK_OK)
        return vk_diag_set(d, VK_ENOMEM, "%s: out of memory", cfg->option);
    *out = p;
    return VK_OK;
}
