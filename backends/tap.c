/*
 * -netdev tap,id=ID[,ifname=NAME][,script=no][,downscript=no][,vnet_hdr=off]:
 * a Linux TAP interface as a host, with QEMU's option names and semantics.
 * We open /dev/net/tun with IFF_TAP|IFF_NO_PI, so the interface exists for
 * the life of our file descriptor (it is not made persistent) and carries
 * plain Ethernet frames.  Frames the host sends on the interface are read on
 * POLLIN and sent out of the port; frames the port receives are written to
 * the interface.
 *
 * Where we differ from QEMU, on purpose:
 *  - we never run scripts: an absent script= means "no" (QEMU would run
 *    /etc/qemu-ifup), and any other value is refused;
 *  - no vnet header (vnet_hdr=on is refused; QEMU's default "if possible"
 *    becomes "off"): frames stay plain Ethernet, offloads stay on the NIC side;
 *  - fd=, fds=, helper=, br=, vhost=on and queues>1 are refused;
 *  - a write that would block drops the frame (counted, traced with its
 *    reason) instead of queueing until POLLOUT: a TAP write only blocks when
 *    the host stack is overwhelmed, and a drop there is what a bench should show.
 * The backend needs the live clock (live=true: `vnetkit run` picks it).
 */
#include "backends/backends.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Frames read per POLLIN before returning to the loop, so one busy
 * interface cannot starve timers and other descriptors (QEMU's tap_send
 * stops after 50 as well). */
#define VK_TAP_READS_PER_WAKEUP 50

/* Shortest frame we forward: an Ethernet header. */
#define VK_TAP_MIN_FRAME 14

typedef struct tap_backend {
    int fd;
    bool watched;
    char ifname[IFNAMSIZ];
    uint8_t *buf; /* VK_FRAME_MAX + 1 bytes: one more shows an oversized frame */
    vk_port *port;
} tap_backend;

/* Sends one frame read from the interface; drops what no port could carry. */
static void tap_forward(tap_backend *b, size_t n)
{
    size_t keep = n > VK_FRAME_MAX ? VK_FRAME_MAX : n;
    vk_frame *f = vk_frame_new(b->buf, keep);
    if (f == NULL) {
        b->port->stats.drops_other++;
        return;
    }
    if (n > VK_FRAME_MAX)
        vk_port_drop_outbound(b->port, f, "tap: frame longer than VK_FRAME_MAX");
    else if (n < VK_TAP_MIN_FRAME)
        vk_port_drop_outbound(b->port, f, "tap: runt frame");
    else
        vk_port_send(b->port, f);
    vk_frame_unref(f);
}

/* A read error other than "nothing more" (the interface was deleted, for
 * instance) ends the run: a bench that silently lost its host is worse. */
static void tap_read_failed(tap_backend *b, int err)
{
    vk_loop_unwatch_fd(vk_net_loop(b->port->net), b->fd);
    b->watched = false;
    vk_net_fail(b->port->net, VK_EIO, "-netdev tap,id=%s: ifname=%s: read: %s%s", b->port->id,
                b->ifname, strerror(err), err == EBADFD ? " (the interface was deleted)" : "");
    vk_loop_stop(vk_net_loop(b->port->net), VK_EIO);
}

static void tap_on_readable(void *arg, int fd, short revents)
{
    tap_backend *b = arg;
    (void)revents;
    for (int i = 0; i < VK_TAP_READS_PER_WAKEUP; i++) {
        ssize_t n = read(fd, b->buf, (size_t)VK_FRAME_MAX + 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            tap_read_failed(b, errno);
            return;
        }
        tap_forward(b, (size_t)n);
    }
}

static const char *tap_write_drop_reason(int err)
{
    if (err == EAGAIN || err == EWOULDBLOCK)
        return "tap: write would block";
    if (err == EIO)
        return "tap: interface down";
    if (err == EINVAL)
        return "tap: frame refused by the kernel";
    return "tap: write failed";
}

static int tap_receive(vk_port *self, vk_frame *f)
{
    tap_backend *b = self->priv;
    ssize_t n;
    do
        n = write(b->fd, f->data, f->len);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return VK_OK;
    int err = errno;
    vk_port_drop(self, f, tap_write_drop_reason(err));
    return err == EAGAIN || err == EWOULDBLOCK ? VK_EAGAIN : VK_EIO;
}

static int tap_start(vk_port *self)
{
    tap_backend *b = self->priv;
    int r = vk_loop_watch_fd(vk_net_loop(self->net), b->fd, POLLIN, tap_on_readable, b);
    if (r == VK_EUNSUPP) {
        vk_net_fail(self->net, r, "-netdev tap,id=%s: a TAP interface needs the live clock "
                    "(drop --clock virtual)", self->id);
        return r;
    }
    if (r != VK_OK)
        return r;
    b->watched = true;
    return VK_OK;
}

static void tap_cleanup(vk_port *self)
{
    tap_backend *b = self->priv;
    if (b->watched)
        vk_loop_unwatch_fd(vk_net_loop(self->net), b->fd);
    if (b->fd >= 0)
        close(b->fd);
    free(b->buf);
}

static void tap_describe(vk_port *self, char *buf, size_t cap)
{
    tap_backend *b = self->priv;
    snprintf(buf, cap, "tap ifname=%s", b->ifname);
}

static const vk_port_ops tap_ops = {
    .kind = "tap",
    .receive = tap_receive,
    .cleanup = tap_cleanup,
    .describe = tap_describe,
    .start = tap_start,
};

/* script=/downscript=: only "no" (or QEMU's other spelling, empty). */
static int check_no_script(vk_opts *o, const char *key, vk_diag *d)
{
    const char *v = vk_opts_get(o, key);
    if (v == NULL || v[0] == '\0' || strcmp(v, "no") == 0)
        return VK_OK;
    return vk_opts_error(o, d, VK_EUNSUPP, key,
                         "'%s': not supported (vnetkit never runs scripts; use %s=no and "
                         "configure the interface yourself)",
                         v, key);
}

/* Keys of QEMU's tap that would hand us an existing descriptor or a helper. */
static int check_refused_keys(vk_opts *o, vk_diag *d)
{
    static const char *const refused[] = {"fd", "fds", "helper", "br", "vhostfd", "vhostfds",
                                          NULL};
    for (size_t i = 0; refused[i] != NULL; i++)
        if (vk_opts_get(o, refused[i]) != NULL)
            return vk_opts_error(o, d, VK_EUNSUPP, refused[i],
                                 "not supported (vnetkit opens the TAP itself: use ifname=)");
    return VK_OK;
}

static int check_features(vk_opts *o, vk_diag *d)
{
    bool on;
    int r = vk_opts_get_bool(o, "vnet_hdr", false, &on, d);
    if (r != VK_OK)
        return r;
    if (on)
        return vk_opts_error(o, d, VK_EUNSUPP, "vnet_hdr",
                             "'on': not supported (frames are plain Ethernet; use vnet_hdr=off)");
    if ((r = vk_opts_get_bool(o, "vhost", false, &on, d)) != VK_OK)
        return r;
    if (on)
        return vk_opts_error(o, d, VK_EUNSUPP, "vhost", "'on': not supported");
    uint64_t queues;
    if ((r = vk_opts_get_uint(o, "queues", 1, 1, 1024, &queues, d)) != VK_OK)
        return r;
    if (queues != 1)
        return vk_opts_error(o, d, VK_EUNSUPP, "queues", "%llu: only 1 queue is supported",
                             (unsigned long long)queues);
    return VK_OK;
}

static int check_options(vk_opts *o, vk_diag *d)
{
    int r = check_no_script(o, "script", d);
    if (r == VK_OK)
        r = check_no_script(o, "downscript", d);
    if (r == VK_OK)
        r = check_refused_keys(o, d);
    if (r == VK_OK)
        r = check_features(o, d);
    return r;
}

static const char *open_hint(int err)
{
    switch (err) {
    case ENOENT:
    case ENODEV:
        return " (is the tun module loaded? 'modprobe tun')";
    case EACCES:
        return " (no access to /dev/net/tun: run as root)";
    case EPERM:
        return " (creating a TAP needs CAP_NET_ADMIN: run as root)";
    case EBUSY:
        return " (another process holds this TAP)";
    case EINVAL:
        return " (an interface of another kind may have this name)";
    default:
        return "";
    }
}

/* Opens /dev/net/tun and attaches it to the TAP `name` ("" lets the
 * kernel choose tapN); the name the kernel used ends in b->ifname. */
static int tap_open(tap_backend *b, const char *name, vk_opts *o, vk_diag *d)
{
    b->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (b->fd < 0)
        return vk_opts_error(o, d, VK_EIO, "ifname", "cannot open /dev/net/tun: %s%s",
                             strerror(errno), open_hint(errno));
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(b->fd, TUNSETIFF, &ifr) < 0) {
        int err = errno;
        return vk_opts_error(o, d, VK_EIO, "ifname", "cannot create TAP '%s': %s%s",
                             name[0] ? name : "tap%d", strerror(err), open_hint(err));
    }
    snprintf(b->ifname, sizeof b->ifname, "%s", ifr.ifr_name);
    return VK_OK;
}

static int tap_create(vk_net *net, const char *id, vk_opts *o, vk_port **out, vk_diag *d)
{
    int r = check_options(o, d);
    if (r != VK_OK)
        return r;
    const char *name = vk_opts_get(o, "ifname");
    if (name == NULL)
        name = "";
    if (strlen(name) >= IFNAMSIZ)
        return vk_opts_error(o, d, VK_EINVAL, "ifname", "'%s' is longer than %d characters",
                             name, IFNAMSIZ - 1);
    vk_port *p;
    r = vk_port_new(net, &tap_ops, id, "tap", sizeof(tap_backend), &p, d);
    if (r != VK_OK)
        return r;
    tap_backend *b = p->priv;
    b->fd = -1;
    b->port = p;
    b->buf = malloc((size_t)VK_FRAME_MAX + 1);
    if (b->buf == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    if ((r = tap_open(b, name, o, d)) != VK_OK)
        return r;
    *out = p;
    return VK_OK;
}

static const char *const tap_keys[] = {"ifname", "script", "downscript", "vnet_hdr", "fd",
                                       "fds", "helper", "br", "vhost", "vhostfd", "vhostfds",
                                       "queues", NULL};

const vk_netdev_type vk_netdev_tap = {
    .name = "tap",
    .live = true,
    .keys = tap_keys,
    .create = tap_create,
};
