/*
 * -netdev tap,id=ID[,ifname=NAME][,script=FILE|no][,downscript=FILE|no]
 *                  [,vnet_hdr=on|off]
 * -netdev tap,id=ID,fd=N
 * A Linux TAP interface as a host, with QEMU's option names and semantics.
 * We open /dev/net/tun with IFF_TAP|IFF_NO_PI, so the interface exists for
 * the life of our file descriptor (it is not made persistent) and carries
 * plain Ethernet frames; or we are handed such a descriptor with fd= (by a
 * management layer, as QEMU is), whose flags say whether it has a vnet header.
 * Frames the host sends on the interface are read on POLLIN and sent out of
 * the port; frames the port receives are written to the interface.
 *
 * As QEMU (net/tap.c, net/tap-linux.c):
 *  - script= defaults to /etc/qemu-ifup and downscript= to /etc/qemu-ifdown;
 *    each is run with the interface name as its one argument (the ifup
 *    script once the TAP exists, the ifdown script before it is closed), and
 *    "no" or "" runs nothing.  A script that fails, or does not exist, is an
 *    error naming it (QEMU: "network script ... failed with status 256");
 *  - vnet_hdr=on sets IFF_VNET_HDR with a 10-byte header (TUNSETVNETHDRSZ)
 *    and every offload off (TUNSETOFFLOAD 0): we write a zeroed header
 *    before each frame and strip the one the kernel puts before each frame it
 *    hands us.  No vnetkit card negotiates offloads with the TAP, so they
 *    stay off and frames stay whole; a frame that still comes with a GSO
 *    type or a checksum to fill in is a traced drop, never forwarded wrong;
 *  - toward the host, a TAP with a vnet header takes TCP super-segments
 *    (core/frame.h; the user backend makes them on the live clock) whole,
 *    as QEMU's tap takes a virtio-net guest's GSO packets: the header says
 *    GSO_TCPV4/TCPV6, gso_size, hdr_len and NEEDS_CSUM at the TCP header.
 *    The kernel accepts such a write whatever TUNSETOFFLOAD said (that
 *    governs only what it hands us), and hands the packet to the host's
 *    stack as one skb: one write instead of one per wire segment, and the
 *    checksum is never computed (CHECKSUM_PARTIAL counts as verified for
 *    local delivery; the kernel segments it should it be forwarded on);
 *  - with fd=, the keys ifname, script, downscript and vnet_hdr are invalid.
 *
 * Where we differ from QEMU, on purpose:
 *  - vnet_hdr defaults to off (QEMU: on when the kernel has it); on the wire
 *    the two are the same, as nothing negotiates offloads;
 *  - fds=, helper=, br=, vhost=on and queues>1 are refused;
 *  - a write that would block drops the frame (counted, traced with its
 *    reason) instead of queueing until POLLOUT: a TAP write only blocks when
 *    the host stack is overwhelmed, and a drop there is what a bench should show.
 * The backend needs the live clock (live=true: `vnetkit run` picks it).
 */
#define _GNU_SOURCE /* close_range */
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
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wire/buf.h"
#include "wire/packet.h"

/* Frames read per POLLIN before returning to the loop, so one busy
 * interface cannot starve timers and other descriptors (QEMU's tap_send
 * stops after 50 as well). */
#define VK_TAP_READS_PER_WAKEUP 50

/* Shortest frame we forward: an Ethernet header. */
#define VK_TAP_MIN_FRAME 14

/* struct virtio_net_hdr (the 10-byte one, without num_buffers): flags,
 * gso_type, hdr_len, gso_size, csum_start, csum_offset. */
#define VK_TAP_VNET_HDR_LEN 10
#define VK_VNET_HDR_F_NEEDS_CSUM 1u
#define VK_VNET_HDR_GSO_NONE 0u
#define VK_VNET_HDR_GSO_TCPV4 1u
#define VK_VNET_HDR_GSO_TCPV6 4u
/* csum_offset of the checksum field in a TCP header */
#define VK_TAP_TCP_CSUM_OFF 16u

#define VK_TAP_DEFAULT_SCRIPT "/etc/qemu-ifup"
#define VK_TAP_DEFAULT_DOWNSCRIPT "/etc/qemu-ifdown"

typedef struct tap_backend {
    int fd;
    bool watched;
    size_t vnet_hdr_len; /* 0, or VK_TAP_VNET_HDR_LEN */
    char *downscript;    /* run at cleanup; NULL: none */
    char ifname[IFNAMSIZ];
    uint8_t *buf; /* VK_FRAME_MAX + 1 bytes: one more shows an oversized frame */
    vk_port *port;
} tap_backend;

/* Checks and strips the vnet header the kernel put before a frame.  Returns
 * NULL (and traces the drop) for a frame we cannot forward as it is. */
static const char *tap_vnet_hdr_problem(const uint8_t *p, size_t n)
{
    vk_rd r;
    vk_rd_init(&r, p, n);
    uint8_t flags = vk_rd_u8(&r), gso_type = vk_rd_u8(&r);
    if (!vk_rd_ok(&r) || n < VK_TAP_VNET_HDR_LEN)
        return "tap: frame shorter than its vnet header";
    if (gso_type != VK_VNET_HDR_GSO_NONE)
        return "tap: GSO frame although offloads are off";
    if (flags & VK_VNET_HDR_F_NEEDS_CSUM)
        return "tap: frame with a checksum left to fill in although offloads are off";
    return NULL;
}

/* Sends one frame read from the interface; drops what no port could carry. */
static void tap_forward(tap_backend *b, size_t n)
{
    const uint8_t *data = b->buf;
    if (b->vnet_hdr_len > 0) {
        const char *problem = tap_vnet_hdr_problem(b->buf, n);
        if (problem != NULL) {
            vk_port_drop_outbound_bytes(b->port, b->buf, n, problem);
            return;
        }
        data += b->vnet_hdr_len;
        n -= b->vnet_hdr_len;
    }
    size_t keep = n > VK_FRAME_MAX ? VK_FRAME_MAX : n;
    vk_frame *f = vk_frame_new(data, keep);
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
        ssize_t n = read(fd, b->buf, (size_t)VK_FRAME_MAX + 1 + b->vnet_hdr_len);
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

/* The vnet header of a TCP super-segment (frame.h): little endian, as
 * virtio 1.0 and a TAP without TUNSETVNETLE on x86 and arm64 read it.
 * NULL when the frame is not one the kernel would take. */
static const char *tap_gso_header(const vk_frame *f, uint8_t hdr[VK_TAP_VNET_HDR_LEN])
{
    vk_pkt k;
    size_t hdr_end;
    if (vk_pkt_locate(f->data, f->len, &k) != VK_OK || vk_pkt_tcp_end(&k, f->data, &hdr_end) != VK_OK)
        return "tap: super-segment that is not TCP over IP";
    if (hdr_end > 0xffff || k.l4_off > 0xffff)
        return "tap: super-segment headers too long";
    vk_wr w;
    vk_wr_init(&w, hdr, VK_TAP_VNET_HDR_LEN);
    vk_wr_u8(&w, VK_VNET_HDR_F_NEEDS_CSUM);
    vk_wr_u8(&w, k.l3 == 6 ? VK_VNET_HDR_GSO_TCPV6 : VK_VNET_HDR_GSO_TCPV4);
    vk_wr_u16le(&w, (uint16_t)hdr_end);
    vk_wr_u16le(&w, f->gso_mss);
    vk_wr_u16le(&w, (uint16_t)k.l4_off);
    vk_wr_u16le(&w, VK_TAP_TCP_CSUM_OFF);
    return NULL;
}

static bool tap_accepts_gso(const vk_port *self)
{
    const tap_backend *b = self->priv;
    return b->vnet_hdr_len > 0;
}

static int tap_receive(vk_port *self, vk_frame *f)
{
    tap_backend *b = self->priv;
    uint8_t hdr[VK_TAP_VNET_HDR_LEN] = {0};
    if (f->gso_mss != 0) {
        const char *problem = b->vnet_hdr_len > 0 ? tap_gso_header(f, hdr)
                                                  : "tap: super-segment without a vnet header";
        if (problem != NULL) {
            vk_port_drop(self, f, problem);
            return VK_EINVAL;
        }
    }
    struct iovec iov[2] = {
        {hdr, b->vnet_hdr_len},
        {f->data, f->len},
    };
    ssize_t n;
    do
        n = writev(b->fd, b->vnet_hdr_len ? iov : iov + 1, b->vnet_hdr_len ? 2 : 1);
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

static int run_script(const char *script, const char *ifname, int keep_fd, char *err,
                      size_t errcap);

static void tap_cleanup(vk_port *self)
{
    tap_backend *b = self->priv;
    if (b->watched)
        vk_loop_unwatch_fd(vk_net_loop(self->net), b->fd);
    if (b->downscript != NULL && b->fd >= 0) {
        char err[300];
        if (run_script(b->downscript, b->ifname, b->fd, err, sizeof err) != VK_OK)
            fprintf(stderr, "vnetkit: -netdev tap,id=%s: %s\n", self->id, err);
    }
    if (b->fd >= 0)
        close(b->fd);
    free(b->downscript);
    free(b->buf);
}

static void tap_describe(vk_port *self, char *buf, size_t cap)
{
    tap_backend *b = self->priv;
    snprintf(buf, cap, "tap ifname=%s%s", b->ifname, b->vnet_hdr_len ? " vnet_hdr=on" : "");
}

static const vk_port_ops tap_ops = {
    .kind = "tap",
    .receive = tap_receive,
    .cleanup = tap_cleanup,
    .describe = tap_describe,
    .start = tap_start,
    .accepts_gso = tap_accepts_gso,
};

/* script=/downscript=: the file to run, or NULL for "no" (or QEMU's other
 * spelling, empty). */
static const char *script_of(vk_opts *o, const char *key, const char *def)
{
    const char *v = vk_opts_get(o, key);
    if (v == NULL)
        return def;
    if (v[0] == '\0' || strcmp(v, "no") == 0)
        return NULL;
    return v;
}

/* Runs `script ifname` as QEMU's launch_script does: a child with only
 * stdin, stdout and stderr open, waited for; any status but 0 fails. */
static int run_script(const char *script, const char *ifname, int keep_fd, char *err,
                      size_t errcap)
{
    (void)keep_fd; /* the interface lives as long as our own descriptor */
    if (access(script, X_OK) != 0) {
        snprintf(err, errcap, "cannot run network script %s: %s (give script=no and "
                 "downscript=no to configure the interface yourself)", script, strerror(errno));
        return VK_EIO;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errcap, "cannot run network script %s: fork: %s", script, strerror(errno));
        return VK_EIO;
    }
    if (pid == 0) {
        char *const argv[] = {(char *)script, (char *)ifname, NULL};
        close_range(3, ~0u, 0);
        execv(script, argv);
        _exit(1);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(err, errcap, "network script %s: waitpid: %s", script, strerror(errno));
            return VK_EIO;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return VK_OK;
    snprintf(err, errcap, "network script %s failed with status %d", script, status);
    return VK_EIO;
}

/* Keys of QEMU's tap that would hand us several queues or a helper. */
static int check_refused_keys(vk_opts *o, vk_diag *d)
{
    static const char *const refused[] = {"fds", "helper", "br", "vhostfd", "vhostfds", NULL};
    for (size_t i = 0; refused[i] != NULL; i++)
        if (vk_opts_get(o, refused[i]) != NULL)
            return vk_opts_error(o, d, VK_EUNSUPP, refused[i],
                                 "not supported (use ifname= or fd=)");
    return VK_OK;
}

static int check_features(vk_opts *o, vk_diag *d)
{
    bool on;
    int r = vk_opts_get_bool(o, "vhost", false, &on, d);
    if (r != VK_OK)
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

/* QEMU: "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=,
 * and vhostfds= are invalid with fd=". */
static int check_fd_keys(vk_opts *o, vk_diag *d)
{
    static const char *const invalid[] = {"ifname", "script", "downscript", "vnet_hdr", NULL};
    for (size_t i = 0; invalid[i] != NULL; i++)
        if (vk_opts_has(o, invalid[i]))
            return vk_opts_error(o, d, VK_EINVAL, invalid[i], "invalid with fd= (the "
                                 "descriptor's interface and flags are used as they are)");
    return VK_OK;
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
static int tap_open(tap_backend *b, const char *name, bool vnet_hdr, vk_opts *o, vk_diag *d)
{
    b->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (b->fd < 0)
        return vk_opts_error(o, d, VK_EIO, "ifname", "cannot open /dev/net/tun: %s%s",
                             strerror(errno), open_hint(errno));
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(b->fd, TUNSETIFF, &ifr) < 0) {
        int err = errno;
        return vk_opts_error(o, d, VK_EIO, "ifname", "cannot create TAP '%s': %s%s",
                             name[0] ? name : "tap%d", strerror(err), open_hint(err));
    }
    snprintf(b->ifname, sizeof b->ifname, "%s", ifr.ifr_name);
    return VK_OK;
}

/* A vnet header of VK_TAP_VNET_HDR_LEN bytes and every offload off, as
 * QEMU sets a TAP up before a virtio-net card negotiates anything. */
static int tap_setup_vnet_hdr(tap_backend *b, vk_opts *o, const char *key, vk_diag *d)
{
    int len = VK_TAP_VNET_HDR_LEN;
    if (ioctl(b->fd, TUNSETVNETHDRSZ, &len) < 0)
        return vk_opts_error(o, d, VK_EIO, key, "TUNSETVNETHDRSZ %d: %s", len, strerror(errno));
    if (ioctl(b->fd, TUNSETOFFLOAD, 0ul) < 0)
        return vk_opts_error(o, d, VK_EIO, key, "TUNSETOFFLOAD 0: %s", strerror(errno));
    b->vnet_hdr_len = VK_TAP_VNET_HDR_LEN;
    return VK_OK;
}

/* fd=N: a TAP descriptor opened by someone else, IFF_TAP|IFF_NO_PI. */
static int tap_adopt_fd(tap_backend *b, vk_opts *o, vk_diag *d)
{
    const char *v = vk_opts_get(o, "fd");
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (v[0] == '\0' || *end != '\0' || errno != 0 || n < 0 || n > 65535)
        return vk_opts_error(o, d, VK_EINVAL, "fd", "'%s' is not a file descriptor number "
                             "(monitor fd names are not supported)", v);
    int fd = (int)n;
    if (fcntl(fd, F_GETFD) < 0)
        return vk_opts_error(o, d, VK_EINVAL, "fd", "descriptor %d is not open", fd);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    if (ioctl(fd, TUNGETIFF, &ifr) < 0)
        return vk_opts_error(o, d, VK_EINVAL, "fd", "descriptor %d is not an attached TAP "
                             "(TUNGETIFF: %s)", fd, strerror(errno));
    if ((ifr.ifr_flags & IFF_TAP) == 0)
        return vk_opts_error(o, d, VK_EINVAL, "fd", "descriptor %d is a TUN, not a TAP", fd);
    if ((ifr.ifr_flags & IFF_NO_PI) == 0)
        return vk_opts_error(o, d, VK_EINVAL, "fd", "descriptor %d carries packet "
                             "information (open it with IFF_NO_PI)", fd);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return vk_opts_error(o, d, VK_EIO, "fd", "descriptor %d: %s", fd, strerror(errno));
    b->fd = fd;
    snprintf(b->ifname, sizeof b->ifname, "%.*s", IFNAMSIZ - 1, ifr.ifr_name);
    if (ifr.ifr_flags & IFF_VNET_HDR)
        return tap_setup_vnet_hdr(b, o, "fd", d);
    return VK_OK;
}

static int tap_open_named(tap_backend *b, vk_opts *o, vk_diag *d)
{
    bool vnet_hdr;
    int r = vk_opts_get_bool(o, "vnet_hdr", false, &vnet_hdr, d);
    if (r != VK_OK)
        return r;
    const char *name = vk_opts_get(o, "ifname");
    if (name == NULL)
        name = "";
    if (strlen(name) >= IFNAMSIZ)
        return vk_opts_error(o, d, VK_EINVAL, "ifname", "'%s' is longer than %d characters",
                             name, IFNAMSIZ - 1);
    if ((r = tap_open(b, name, vnet_hdr, o, d)) != VK_OK)
        return r;
    if (vnet_hdr && (r = tap_setup_vnet_hdr(b, o, "vnet_hdr", d)) != VK_OK)
        return r;
    const char *script = script_of(o, "script", VK_TAP_DEFAULT_SCRIPT);
    const char *down = script_of(o, "downscript", VK_TAP_DEFAULT_DOWNSCRIPT);
    char err[300];
    if (script != NULL && run_script(script, b->ifname, b->fd, err, sizeof err) != VK_OK)
        return vk_opts_error(o, d, VK_EIO, "script", "%s", err);
    if (down != NULL && (b->downscript = strdup(down)) == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    return VK_OK;
}

static int tap_create(vk_net *net, const char *id, vk_opts *o, vk_port **out, vk_diag *d)
{
    bool by_fd = vk_opts_has(o, "fd");
    int r = check_refused_keys(o, d);
    if (r == VK_OK)
        r = check_features(o, d);
    if (r == VK_OK && by_fd)
        r = check_fd_keys(o, d);
    if (r != VK_OK)
        return r;
    const char *name = vk_opts_get(o, "ifname");
    if (name != NULL && strlen(name) >= IFNAMSIZ) /* before anything is opened */
        return vk_opts_error(o, d, VK_EINVAL, "ifname", "'%s' is longer than %d characters",
                             name, IFNAMSIZ - 1);
    vk_port *p;
    r = vk_port_new(net, &tap_ops, id, "tap", sizeof(tap_backend), &p, d);
    if (r != VK_OK)
        return r;
    tap_backend *b = p->priv;
    b->fd = -1;
    b->port = p;
    b->buf = malloc((size_t)VK_FRAME_MAX + 1 + VK_TAP_VNET_HDR_LEN);
    if (b->buf == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    r = by_fd ? tap_adopt_fd(b, o, d) : tap_open_named(b, o, d);
    if (r != VK_OK)
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
