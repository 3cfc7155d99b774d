/*
 * -netdev vde,id=ID[,sock=PATH][,port=N][,group=G][,mode=M]
 * A port of a VDE switch (vde_switch, vde_plug, vxvde...) through
 * libvdeplug, as QEMU's net/vde.c: sock is the switch's control directory or
 * a libvdeplug URL (default: libvdeplug's own default switch), port the
 * switch port to take (0: any), group and mode (octal, default 0700) the
 * ownership and permissions of our port's socket.  One frame per datagram.
 *
 * Frames read on POLLIN of the data descriptor are sent out of the port;
 * frames the port receives go to vde_send().  As in QEMU there is no queue
 * on the way out: a send the switch cannot take at once is a traced drop.
 * When vnetkit is built without libvdeplug (libvdeplug-dev), the type
 * exists but refuses to be created, naming the package.
 */
#include "backends/backends.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef VK_HAVE_VDEPLUG

#include <fcntl.h>
#include <libvdeplug.h>
#include <poll.h>
#include <sys/socket.h>

/* Datagrams read per POLLIN before returning to the loop. */
#define VK_VDE_READS_PER_WAKEUP 64
#define VK_VDE_MIN_FRAME 14

typedef struct vde_backend {
    VDECONN *conn;
    int fd;
    bool watched;
    char *sock;
    uint8_t *buf; /* VK_FRAME_MAX + 1 */
    vk_port *port;
} vde_backend;

static void vde_on_readable(void *arg, int fd, short revents)
{
    vde_backend *b = arg;
    (void)fd, (void)revents;
    for (int i = 0; i < VK_VDE_READS_PER_WAKEUP; i++) {
        ssize_t n = vde_recv(b->conn, b->buf, (size_t)VK_FRAME_MAX + 1, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            vk_loop_unwatch_fd(vk_net_loop(b->port->net), b->fd);
            b->watched = false;
            vk_port_set_link(b->port, false, n == 0 ? "the switch closed the connection"
                                                    : strerror(errno));
            return;
        }
        size_t len = (size_t)n;
        if (len > VK_FRAME_MAX)
            vk_port_drop_outbound_bytes(b->port, b->buf, VK_FRAME_MAX, "vde: frame longer than "
                                        "VK_FRAME_MAX");
        else if (len < VK_VDE_MIN_FRAME)
            vk_port_drop_outbound_bytes(b->port, b->buf, len, "vde: runt frame");
        else if (vk_port_send_bytes(b->port, b->buf, len) != VK_OK)
            vk_port_drop_outbound_bytes(b->port, b->buf, len, "vde: out of memory");
    }
}

static int vde_receive(vk_port *self, vk_frame *f)
{
    vde_backend *b = self->priv;
    if (!b->watched) {
        vk_port_drop(self, f, "vde: link down (the switch went away)");
        return VK_EDROP;
    }
    ssize_t n;
    do
        n = vde_send(b->conn, f->data, f->len, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return VK_OK;
    vk_port_drop(self, f, errno == EAGAIN || errno == EWOULDBLOCK ? "vde: the switch cannot take "
                 "more now" : "vde: send failed");
    return VK_EDROP;
}

static int vde_start(vk_port *self)
{
    vde_backend *b = self->priv;
    vk_loop *loop = vk_net_loop(self->net);
    if (vk_loop_clock(loop) != VK_CLOCK_LIVE) {
        vk_net_fail(self->net, VK_EUNSUPP, "-netdev vde,id=%s: a VDE switch needs the live "
                    "clock (drop --clock virtual)", self->id);
        return VK_EUNSUPP;
    }
    int r = vk_loop_watch_fd(loop, b->fd, POLLIN, vde_on_readable, b);
    if (r != VK_OK)
        return r;
    b->watched = true;
    vk_port_set_link(self, true, "connected to the switch");
    return VK_OK;
}

static void vde_cleanup(vk_port *self)
{
    vde_backend *b = self->priv;
    if (b->watched)
        vk_loop_unwatch_fd(vk_net_loop(self->net), b->fd);
    if (b->conn != NULL)
        vde_close(b->conn);
    free(b->sock);
    free(b->buf);
}

static void vde_describe(vk_port *self, char *buf, size_t cap)
{
    vde_backend *b = self->priv;
    snprintf(buf, cap, "vde sock=%s", b->sock ? b->sock : "(default)");
}

static const vk_port_ops vde_ops = {
    .kind = "vde",
    .receive = vde_receive,
    .cleanup = vde_cleanup,
    .describe = vde_describe,
    .start = vde_start,
};

static int vde_create(vk_net *net, const char *id, vk_opts *o, vk_port **out, vk_diag *d)
{
    uint64_t port, mode = 0700;
    int r = vk_opts_get_uint(o, "port", 0, 0, 65535, &port, d);
    if (r != VK_OK)
        return r;
    const char *mode_s = vk_opts_get(o, "mode");
    if (mode_s != NULL) {
        char *end;
        errno = 0;
        mode = strtoull(mode_s, &end, 8); /* QEMU reads it in octal */
        if (mode_s[0] == '\0' || *end != '\0' || errno != 0 || mode > 07777)
            return vk_opts_error(o, d, VK_EINVAL, "mode", "'%s' is not an octal mode", mode_s);
    }
    const char *sock = vk_opts_get(o, "sock"), *group = vk_opts_get(o, "group");
    vk_port *p;
    if ((r = vk_port_new(net, &vde_ops, id, "vde", sizeof(vde_backend), &p, d)) != VK_OK)
        return r;
    vde_backend *b = p->priv;
    b->port = p;
    b->fd = -1;
    b->buf = malloc((size_t)VK_FRAME_MAX + 1);
    b->sock = sock ? strdup(sock) : NULL;
    if (b->buf == NULL || (sock != NULL && b->sock == NULL))
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    struct vde_open_args args = {
        .port = (int)port,
        .group = (char *)group,
        .mode = (mode_t)mode,
    };
    char descr[96];
    snprintf(descr, sizeof descr, "vnetkit %s", id);
    b->conn = vde_open(b->sock ? b->sock : (char *)"", descr, &args);
    if (b->conn == NULL)
        return vk_opts_error(o, d, VK_EIO, "sock", "cannot connect to the VDE switch %s: %s",
                             sock ? sock : "(default)", strerror(errno));
    b->fd = vde_datafd(b->conn);
    /* libvdeplug's recv may ignore MSG_DONTWAIT: the descriptor itself must
     * not block, or the loop would hang on an empty socket */
    int fl = fcntl(b->fd, F_GETFL);
    if (fl < 0 || fcntl(b->fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return vk_opts_error(o, d, VK_EIO, "sock", "cannot make the VDE descriptor "
                             "non-blocking: %s", strerror(errno));
    /* down until start() watches the switch */
    p->link_down = true;
    *out = p;
    return VK_OK;
}

#else /* !VK_HAVE_VDEPLUG */

static int vde_create(vk_net *net, const char *id, vk_opts *o, vk_port **out, vk_diag *d)
{
    (void)net, (void)id, (void)out;
    return vk_opts_error(o, d, VK_EUNSUPP, NULL, "this vnetkit was built without libvdeplug "
                         "(install the Debian package libvdeplug-dev and rebuild)");
}

#endif

static const char *const vde_keys[] = {"sock", "port", "group", "mode", NULL};

const vk_netdev_type vk_netdev_vde = {
    .name = "vde",
    .live = true,
    .keys = vde_keys,
    .create = vde_create,
};
