/*
 * A datagram socket as a port (rules in dgram_io.h): recvmmsg into a ring of
 * VK_DGRAM_BATCH buffers, sendmmsg from held frame references.
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include "backends/dgram_io.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Shortest frame forwarded: an Ethernet header. */
#define DLINK_MIN_FRAME 14
/* Socket receive buffer asked for (the kernel clamps it to rmem_max): a
 * datagram that finds the buffer full is lost without a trace anyone can
 * see, and the default (~200 KiB, a few hundred small frames on loopback)
 * overflows in one burst from a capture or a hub. */
#define DLINK_SO_RCVBUF (2 * 1024 * 1024)
/* An unconnected Unix datagram socket says POLLOUT as soon as its own buffer
 * has room, even when the receiver's queue (net.unix.max_dgram_qlen, 10 by
 * default) is what is full: polling would spin.  Such a socket retries after
 * this delay instead. */
#define DLINK_UNIX_RETRY_NS 1000000ull
/* Receive buffers: one byte more than VK_FRAME_MAX shows an oversized one
 * (MSG_TRUNC tells the rest). */
#define DLINK_RX_BUF (VK_FRAME_MAX + 1)

typedef struct dlink {
    vk_port *port;
    vk_loop *loop;
    int fd;
    bool watched, want_out;
    bool has_dest;
    bool retry_by_timer; /* unconnected AF_UNIX destination: see above */
    vk_saddr dest;
    char option[128];
    char desc[400];
    vk_timer *flush_timer;
    /* receive ring */
    uint8_t *rxbuf; /* VK_DGRAM_BATCH * DLINK_RX_BUF */
    struct mmsghdr rxmsg[VK_DGRAM_BATCH];
    struct iovec rxiov[VK_DGRAM_BATCH];
    /* SO_RXQ_OVFL: the socket's count of datagrams the kernel dropped
     * (receive buffer full), as of each datagram received */
    union {
        struct cmsghdr align;
        uint8_t buf[CMSG_SPACE(sizeof(uint32_t))];
    } rxctl[VK_DGRAM_BATCH];
    uint32_t kernel_drops; /* the last count traced */
    /* transmit batch: references held until sent or dropped */
    vk_frame *tx[VK_DGRAM_BATCH];
    size_t ntx;
    struct mmsghdr txmsg[VK_DGRAM_BATCH];
    struct iovec txiov[VK_DGRAM_BATCH];
} dlink;

/* ---- transmit ---- */

static void dlink_set_pollout(dlink *s, bool on)
{
    if (s->retry_by_timer) {
        s->want_out = on;
        if (on)
            vk_timer_arm(s->flush_timer, vk_loop_now(s->loop) + DLINK_UNIX_RETRY_NS);
        return;
    }
    if (s->want_out == on || !s->watched)
        return;
    s->want_out = on;
    vk_loop_set_fd_events(s->loop, s->fd, on ? (POLLIN | POLLOUT) : POLLIN);
}

static void dlink_shift(dlink *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        vk_frame_unref(s->tx[i]);
    memmove(s->tx, s->tx + n, (s->ntx - n) * sizeof s->tx[0]);
    s->ntx -= n;
}

static const char *dlink_send_reason(int err)
{
    switch (err) {
    case ECONNREFUSED:
        return "dgram: nobody listens at the destination (connection refused)";
    case ENOENT:
        return "dgram: the destination socket does not exist";
    case EMSGSIZE:
        return "dgram: frame too long for a datagram";
    case ENETUNREACH:
    case EHOSTUNREACH:
        return "dgram: destination unreachable";
    case ENOBUFS:
    case ENOMEM:
        return "dgram: no buffer space in the kernel";
    default:
        return "dgram: send failed";
    }
}

/* Sends the batch; stops at EAGAIN (then waits for POLLOUT).  A frame the
 * kernel refuses is dropped with the error as reason and the rest go on. */
static void dlink_write_out(dlink *s)
{
    while (s->ntx > 0) {
        for (size_t i = 0; i < s->ntx; i++) {
            s->txiov[i] = (struct iovec){s->tx[i]->data, s->tx[i]->len};
            memset(&s->txmsg[i], 0, sizeof s->txmsg[i]);
            s->txmsg[i].msg_hdr.msg_iov = &s->txiov[i];
            s->txmsg[i].msg_hdr.msg_iovlen = 1;
            if (s->has_dest) {
                s->txmsg[i].msg_hdr.msg_name = &s->dest.ss;
                s->txmsg[i].msg_hdr.msg_namelen = s->dest.len;
            }
        }
        int n = sendmmsg(s->fd, s->txmsg, (unsigned)s->ntx, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            dlink_shift(s, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            dlink_set_pollout(s, true);
            return;
        }
        /* the first datagram failed: it alone is dropped */
        vk_port_drop(s->port, s->tx[0], dlink_send_reason(n < 0 ? errno : EIO));
        dlink_shift(s, 1);
    }
    dlink_set_pollout(s, false);
}

static void dlink_on_flush_timer(void *arg, uint64_t now)
{
    dlink *s = arg;
    (void)now;
    if (s->want_out && !s->retry_by_timer)
        return; /* POLLOUT resumes */
    dlink_write_out(s);
    if (s->ntx < VK_DGRAM_BATCH)
        vk_port_flush(s->port);
}

static bool dlink_can_receive(vk_port *self)
{
    dlink *s = self->priv;
    return s->ntx < VK_DGRAM_BATCH;
}

static int dlink_receive(vk_port *self, vk_frame *f)
{
    dlink *s = self->priv;
    if (s->ntx >= VK_DGRAM_BATCH) { /* can_receive() said yes: cannot happen */
        vk_port_drop(self, f, "dgram: transmit batch full");
        return VK_EDROP;
    }
    s->tx[s->ntx++] = vk_frame_ref(f);
    if (s->want_out)
        return VK_OK; /* POLLOUT will send it */
    if (s->ntx == VK_DGRAM_BATCH)
        dlink_write_out(s);
    else if (!vk_timer_pending(s->flush_timer))
        vk_timer_arm(s->flush_timer, vk_loop_now(s->loop));
    return VK_OK;
}

/* ---- receive ---- */

static void dlink_forward(dlink *s, const uint8_t *data, size_t len, bool truncated)
{
    if (truncated || len > VK_FRAME_MAX)
        vk_port_drop_outbound_bytes(s->port, data, len, "dgram: datagram longer than "
                                    "VK_FRAME_MAX");
    else if (len == 0)
        vk_port_drop_outbound_bytes(s->port, NULL, 0, "dgram: empty datagram");
    else if (len < DLINK_MIN_FRAME)
        vk_port_drop_outbound_bytes(s->port, data, len, "dgram: runt frame");
    else if (vk_port_send_bytes(s->port, data, len) != VK_OK)
        vk_port_drop_outbound_bytes(s->port, data, len, "dgram: out of memory");
}

/* Datagrams the kernel dropped before we could read them (a flood filled
 * the socket's receive buffer) are lost, but not silently: the count the
 * kernel attaches (SO_RXQ_OVFL) is traced as one drop record per increase
 * and counted in full. */
static void dlink_kernel_drops(dlink *s, struct msghdr *h)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL ||
            c->cmsg_len < CMSG_LEN(sizeof(uint32_t)))
            continue;
        uint32_t total;
        memcpy(&total, CMSG_DATA(c), sizeof total);
        uint32_t lost = total - s->kernel_drops; /* the counter wraps: unsigned */
        if (lost == 0 || lost > UINT32_MAX / 2)
            continue;
        s->kernel_drops = total;
        char reason[160];
        snprintf(reason, sizeof reason, "dgram: %" PRIu32 " datagram%s lost in the kernel "
                 "(socket receive buffer full)", lost, lost == 1 ? "" : "s");
        vk_port_drop_outbound_bytes(s->port, NULL, 0, reason);
        s->port->stats.drops_other += lost - 1; /* the call above counted one */
    }
}

static void dlink_read(dlink *s)
{
    for (size_t i = 0; i < VK_DGRAM_BATCH; i++) {
        s->rxiov[i] = (struct iovec){s->rxbuf + i * DLINK_RX_BUF, DLINK_RX_BUF};
        memset(&s->rxmsg[i], 0, sizeof s->rxmsg[i]);
        s->rxmsg[i].msg_hdr.msg_iov = &s->rxiov[i];
        s->rxmsg[i].msg_hdr.msg_iovlen = 1;
        s->rxmsg[i].msg_hdr.msg_control = s->rxctl[i].buf;
        s->rxmsg[i].msg_hdr.msg_controllen = sizeof s->rxctl[i].buf;
    }
    int n;
    do
        n = recvmmsg(s->fd, s->rxmsg, VK_DGRAM_BATCH, MSG_DONTWAIT, NULL);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        /* EAGAIN, or an ICMP error queued by an earlier send (ECONNREFUSED
         * on a connected socket): nothing was received */
        return;
    }
    for (int i = 0; i < n; i++) {
        if (s->rxmsg[i].msg_hdr.msg_controllen > 0)
            dlink_kernel_drops(s, &s->rxmsg[i].msg_hdr);
        size_t len = s->rxmsg[i].msg_len;
        bool trunc = (s->rxmsg[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
        dlink_forward(s, s->rxbuf + (size_t)i * DLINK_RX_BUF, len > DLINK_RX_BUF ? DLINK_RX_BUF
                      : len, trunc || len > VK_FRAME_MAX);
    }
}

static void dlink_on_fd(void *arg, int fd, short revents)
{
    dlink *s = arg;
    (void)fd;
    if (revents & (POLLIN | POLLERR | POLLHUP))
        dlink_read(s);
    if ((revents & POLLOUT) && s->want_out) {
        dlink_write_out(s);
        if (s->ntx < VK_DGRAM_BATCH)
            vk_port_flush(s->port);
    }
}

/* ---- opening the socket ---- */

int vk_dlink_open_mcast(vk_dlink_config *cfg, const vk_saddr *group, const char *localaddr,
                        char *err, size_t errcap)
{
    int fd = vk_sock_mcast(group, localaddr, err, errcap);
    if (fd < 0)
        return fd;
    cfg->fd = fd;
    cfg->has_dest = true;
    cfg->dest = *group;
    snprintf(cfg->desc, sizeof cfg->desc, "mcast %s", group->text);
    return VK_OK;
}

int vk_dlink_open_unicast(vk_dlink_config *cfg, const vk_saddr *local, const vk_saddr *remote,
                          char *err, size_t errcap)
{
    int fd = vk_sock_dgram_bind(local);
    if (fd < 0) {
        snprintf(err, errcap, "cannot bind %s: %s", local->text, strerror(-fd));
        return VK_EIO;
    }
    cfg->fd = fd;
    cfg->has_dest = true;
    cfg->dest = *remote;
    snprintf(cfg->desc, sizeof cfg->desc, "%s -> %s", local->text, remote->text);
    return VK_OK;
}

int vk_dlink_open_fd(vk_dlink_config *cfg, int fd, char *err, size_t errcap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    cfg->has_dest = false;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0) {
        /* not connected: QEMU's case of a multicast member sending to its group */
        vk_saddr self = {.len = sizeof self.ss};
        if (getsockname(fd, (struct sockaddr *)&self.ss, &self.len) != 0 ||
            !vk_saddr_is_multicast(&self)) {
            snprintf(err, errcap, "descriptor %d is a datagram socket neither connected nor "
                     "bound to a multicast group", fd);
            return VK_EINVAL;
        }
        cfg->has_dest = true;
        cfg->dest = self;
    }
    int r = vk_sock_prepare(fd);
    if (r != 0) {
        snprintf(err, errcap, "descriptor %d: cannot make it non-blocking: %s", fd, strerror(-r));
        return VK_EIO;
    }
    cfg->fd = fd;
    snprintf(cfg->desc, sizeof cfg->desc, "fd:%d", fd);
    return VK_OK;
}

/* ---- port operations ---- */

static int dlink_start(vk_port *self)
{
    dlink *s = self->priv;
    s->loop = vk_net_loop(self->net);
    if (vk_loop_clock(s->loop) != VK_CLOCK_LIVE) {
        vk_net_fail(self->net, VK_EUNSUPP, "%s: a socket needs the live clock (drop --clock "
                    "virtual)", s->option);
        return VK_EUNSUPP;
    }
    s->flush_timer = vk_timer_new(s->loop, dlink_on_flush_timer, s);
    if (s->flush_timer == NULL)
        return VK_ENOMEM;
    int r = vk_loop_watch_fd(s->loop, s->fd, POLLIN, dlink_on_fd, s);
    if (r != VK_OK)
        return r;
    s->watched = true;
    return VK_OK;
}

/* frames never sent: the run is over, but none goes silently */
static void dlink_end(vk_port *self)
{
    dlink *s = self->priv;
    for (size_t i = 0; i < s->ntx; i++)
        vk_port_drop(self, s->tx[i], "dgram: not sent before the end of the run");
    dlink_shift(s, s->ntx);
}

static void dlink_cleanup(vk_port *self)
{
    dlink *s = self->priv;
    if (s->watched)
        vk_loop_unwatch_fd(s->loop, s->fd);
    if (s->fd >= 0)
        close(s->fd);
    vk_timer_free(s->flush_timer);
    free(s->rxbuf);
}

static void dlink_describe(vk_port *self, char *buf, size_t cap)
{
    dlink *s = self->priv;
    snprintf(buf, cap, "%s %s", self->model, s->desc);
}

static const vk_port_ops dlink_ops = {
    .kind = "dgram",
    .receive = dlink_receive,
    .can_receive = dlink_can_receive,
    .cleanup = dlink_cleanup,
    .describe = dlink_describe,
    .start = dlink_start,
    .end = dlink_end,
};

int vk_dlink_create(vk_net *net, const char *id, const vk_dlink_config *cfg, vk_port **out,
                    vk_diag *d)
{
    vk_port *p;
    int r = vk_port_new(net, &dlink_ops, id, cfg->model, sizeof(dlink), &p, d);
    if (r != VK_OK) {
        close(cfg->fd);
        return r;
    }
    dlink *s = p->priv;
    s->port = p;
    s->fd = cfg->fd;
    s->has_dest = cfg->has_dest;
    s->dest = cfg->dest;
    s->retry_by_timer = cfg->has_dest && cfg->dest.ss.ss_family == AF_UNIX;
    snprintf(s->option, sizeof s->option, "%s", cfg->option);
    snprintf(s->desc, sizeof s->desc, "%s", cfg->desc);
    int rcvbuf = DLINK_SO_RCVBUF, one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf); /* best effort */
    setsockopt(s->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);     /* idem */
    s->rxbuf = malloc((size_t)VK_DGRAM_BATCH * DLINK_RX_BUF);
    if (s->rxbuf == NULL)
        return vk_diag_set(d, VK_ENOMEM, "%s: out of memory", cfg->option);
    *out = p;
    return VK_OK;
}
