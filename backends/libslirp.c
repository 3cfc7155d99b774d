/*
 * -netdev libslirp: the real libslirp inside vnetkit, with the keys of
 * -netdev user (parsed by the user backend's vk_user_config_parse_keys, so
 * both take the same options with the same checks) mapped onto a version-4
 * SlirpConfig.  Every callback is driven by vnetkit's loop:
 *
 *   send_packet        -> vk_port_send on this port (libslirp's frame copied)
 *   clock_get_ns       -> vk_loop_now: virtual or live, whichever the run has
 *   timer_new_opaque/timer_mod/timer_free -> a vk_timer each (libslirp 4.7
 *                         has one, the RA timer); background timers, so an
 *                         idle stack does not keep a virtual run going
 *   slirp_pollfds_fill/poll -> after every call into libslirp we ask it which
 *                         sockets it wants polled and how long it may sleep;
 *                         on the live clock each socket is watched with
 *                         vk_loop_watch_fd (set changes reconciled), and a
 *                         poll timer is armed for the timeout when libslirp
 *                         has TCP or fragment timers pending (its timeout is
 *                         then under a second): its TCP timers run from
 *                         slirp_pollfds_poll, not from timer callbacks
 *   register_poll_fd   -> counted; on the virtual clock a socket must never
 *                         appear (see below), and if one did the run fails
 *   guest_error        -> the frame being input is traced as dropped with
 *                         libslirp's message
 *   notify             -> a poll at the current time (live clock), armed by
 *                         the refresh that follows the call into libslirp
 *
 * The virtual clock.  libslirp would open real host sockets for whatever
 * leaves the virtual network (TCP connections, UDP and DNS forwarding, ICMP
 * echo to outside addresses; even the gateway address is the host's
 * loopback).  A replay must not touch the host, and must give the same bytes
 * every run, so on the virtual clock such frames are refused before libslirp
 * sees them, each traced with the reason ("libslirp: virtual clock: ...").
 * The rule follows libslirp 4.7's own input paths: ARP, DHCP (port 67 to the
 * gateway or broadcast), TFTP (port 69 to the gateway), ICMP echo to the
 * gateway or DNS address, IPv6 ND/RA/echo to its own addresses, DHCPv6 and
 * anything libslirp drops by itself go in; with restrict=on, TCP and UDP go
 * in too (libslirp then answers with a RST or drops, without a socket).  UDP
 * and TCP fragments go in only with restrict=on, as their ports are not known
 * before reassembly.  We chose refusal over handing libslirp a recorded world:
 * libslirp calls socket(), connect() and sendto() directly, with no seam to
 * replace them short of interposing libc symbols for the whole process, which
 * would be neither safe nor contained.  hostfwd= and guestfwd= need host
 * sockets and processes: they are refused on the virtual clock.
 *
 * Determinism.  On the virtual clock libslirp's timers run on simulated time.
 * The one random thing in libslirp 4.7 is the interval between unsolicited
 * RAs (a GRand seeded from /dev/urandom): on the virtual clock the RA timer's
 * expiry is redrawn in the same range (200 s to 600 s) from a fixed-seed
 * xorshift32, the one -netdev user uses, so runs are byte-identical.
 *
 * Bad input: frames reach slirp_input() only after the checks of any port
 * (at least an Ethernet header, at most VK_LIBSLIRP_FRAME_MAX bytes), and
 * libslirp is never re-entered: a frame arriving while it runs waits in the
 * port's queue.
 *
 * SIGPIPE: libslirp 4.7 sends to host sockets without MSG_NOSIGNAL, so on
 * the live clock SIGPIPE is ignored process-wide, as QEMU does.
 *
 * The fragment guard (both clocks).  libslirp 4.7's ip_reass() crashes
 * (reads fragment payload bytes as a list pointer: SIGBUS/SIGSEGV) when the
 * last fragment of a datagram is the one that opens its reassembly queue,
 * e.g. two fragments sent in reverse order; found by the differential test.
 * Any guest could bring the process down that way, so vnetkit hands libslirp
 * the fragments of a datagram only in order: the one at offset 0 first, then
 * each one starting where the previous ended.  Every other fragment is
 * dropped and traced ("libslirp: IPv4 fragment out of order ...").  Which
 * datagrams are open is followed per (source, destination, id, protocol), as
 * libslirp keys them, for at most VK_LIBSLIRP_FRAG_TRACK_NS (under libslirp's
 * own 30 s), so libslirp's queue for a datagram is always opened by its
 * first fragment.
 */
#include "backends/libslirp.h"
#include "core/grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backends.h"

#ifdef VK_HAVE_LIBSLIRP

#include <libslirp.h>
#include <poll.h>
#include <signal.h>

#include "backends/user/user_internal.h"
#include "core/net.h"
#include "wire/icmp.h"
#include "wire/icmpv6.h"
#include "wire/packet.h"
#include "wire/tcp.h"
#include "wire/udp.h"

#define NS_PER_MS 1000000ull
/* libslirp's poll timeout when no TCP or fragment timer is pending. */
#define SLIRP_IDLE_TIMEOUT_MS 1000u
#define RA_MIN_MS 200000u /* NDP_MinRtrAdvInterval */
#define RA_MAX_MS 600000u /* NDP_MaxRtrAdvInterval */

typedef struct vk_libslirp vk_libslirp;

typedef struct ls_timer {
    vk_libslirp *s;
    SlirpTimerId id;
    void *cb_opaque;
    vk_timer *t;
} ls_timer;

typedef struct ls_pollfd {
    int fd;
    int events;  /* SLIRP_POLL_* */
    int revents; /* SLIRP_POLL_* */
} ls_pollfd;

typedef struct ls_watch {
    int fd;
    short events; /* poll(2) */
} ls_watch;

typedef struct ls_guestfwd {
    struct in_addr addr;
    int port;
    char *cmd;
} ls_guestfwd;

/* A datagram whose fragments libslirp has been given in order so far. */
typedef struct ls_frag {
    bool used;
    vk_ip4 src, dst;
    uint16_t id;
    uint8_t proto;
    size_t next;       /* offset the next fragment must start at */
    uint64_t since;    /* when its first fragment went in */
} ls_frag;

struct vk_libslirp {
    vk_port *port;
    vk_loop *loop;
    bool live;
    Slirp *slirp;
    vk_user_config cfg;
    const char **dnssearch; /* NULL-terminated, pointing into cfg */
    ls_guestfwd guestfwd[VK_LIBSLIRP_GUESTFWD_MAX];
    size_t nguestfwd;
    vk_timer *poll_timer;
    ls_pollfd *pfd;         /* the last slirp_pollfds_fill() */
    size_t npfd, cappfd;
    ls_watch *watched;      /* fds watched on the loop (live) */
    size_t nwatched, capwatched;
    const vk_frame *rx;     /* the frame in slirp_input(), for guest_error */
    char guest_error[160];
    bool in_slirp;
    bool notified;          /* notify(): poll again now */
    uint32_t ra_rng;
    ls_frag frag[VK_LIBSLIRP_FRAG_TRACK];
    vk_libslirp_stats st;
};

bool vk_libslirp_available(void)
{
    return true;
}

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer's hook.  libslirp 4.7's slirp_cleanup() leaves the file name
 * of every TFTP session still open allocated (tftp.c frees it only when a
 * session ends), so a run that stops mid-transfer leaks it inside libslirp;
 * leaks from inside the library are not ours to report.  Its allocations go
 * through glib's g_malloc (the stack is not unwound past glib), and vnetkit
 * itself never calls glib, so that is what is suppressed. */
/* default visibility: the sanitizer runtime looks the hook up by name, and
 * the engine is built with hidden symbols */
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void);
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void)
{
    return "leak:g_malloc\nleak:libslirp.so\n";
}
#endif

/* ---- callbacks ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    vk_libslirp *s = opaque;
    if (vk_port_send_bytes(s->port, buf, len) != VK_OK)
        return -1;
    s->st.frames_out++;
    return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    vk_libslirp *s = opaque;
    s->st.guest_errors++;
    snprintf(s->guest_error, sizeof s->guest_error, "%s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
    vk_libslirp *s = opaque;
    return (int64_t)vk_loop_now(s->loop);
}

static void on_slirp_timer(void *arg, uint64_t now);

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    vk_libslirp *s = opaque;
    ls_timer *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    *t = (ls_timer){.s = s, .id = id, .cb_opaque = cb_opaque};
    t->t = vk_timer_new(s->loop, on_slirp_timer, t);
    if (t->t == NULL) {
        free(t);
        return NULL;
    }
    vk_timer_set_background(t->t, true);
    return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
    (void)opaque;
    ls_timer *t = timer;
    if (t == NULL)
        return;
    vk_timer_free(t->t);
    free(t);
}

/* xorshift32 with -netdev user's seed (backends/user/ip6.c). */
static uint64_t ra_interval_ms(vk_libslirp *s)
{
    uint32_t x = s->ra_rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s->ra_rng = x;
    return RA_MIN_MS + x % (RA_MAX_MS - RA_MIN_MS);
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    vk_libslirp *s = opaque;
    ls_timer *t = timer;
    if (t == NULL)
        return;
    uint64_t when = expire_ms > 0 ? (uint64_t)expire_ms : 0;
    if (!s->live && t->id == SLIRP_TIMER_RA)
        when = vk_loop_now(s->loop) / NS_PER_MS + ra_interval_ms(s);
    vk_timer_arm(t->t, when * NS_PER_MS);
}

static void cb_register_poll_fd(int fd, void *opaque)
{
    (void)fd;
    vk_libslirp *s = opaque;
    s->st.host_sockets++;
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;
}

static void cb_notify(void *opaque)
{
    vk_libslirp *s = opaque;
    s->notified = true;
}

static const SlirpCb slirp_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
    .timer_new_opaque = cb_timer_new_opaque,
};

/* ---- polling ---- */

static int add_poll(int fd, int events, void *opaque)
{
    vk_libslirp *s = opaque;
    if (s->npfd == VK_LIBSLIRP_POLLFDS_MAX) {
        s->st.pollfds_full++;
        return -1;
    }
    if (vk_grow(&s->pfd, &s->cappfd, s->npfd, sizeof *s->pfd, 16) != VK_OK)
        return -1;
    s->pfd[s->npfd] = (ls_pollfd){fd, events, 0};
    return (int)s->npfd++;
}

static int get_revents(int idx, void *opaque)
{
    vk_libslirp *s = opaque;
    return idx >= 0 && (size_t)idx < s->npfd ? s->pfd[idx].revents : 0;
}

static short to_poll_events(int slirp_events)
{
    short e = 0;
    if (slirp_events & SLIRP_POLL_IN)
        e |= POLLIN;
    if (slirp_events & SLIRP_POLL_OUT)
        e |= POLLOUT;
    if (slirp_events & SLIRP_POLL_PRI)
        e |= POLLPRI;
    return e;
}

static int from_poll_revents(short revents)
{
    int e = 0;
    if (revents & POLLIN)
        e |= SLIRP_POLL_IN;
    if (revents & POLLOUT)
        e |= SLIRP_POLL_OUT;
    if (revents & POLLPRI)
        e |= SLIRP_POLL_PRI;
    if (revents & (POLLERR | POLLNVAL))
        e |= SLIRP_POLL_ERR;
    if (revents & POLLHUP)
        e |= SLIRP_POLL_HUP;
    return e;
}

static void refresh(vk_libslirp *s);

static void on_fd(void *arg, int fd, short revents)
{
    vk_libslirp *s = arg;
    for (size_t i = 0; i < s->npfd; i++)
        s->pfd[i].revents = s->pfd[i].fd == fd ? from_poll_revents(revents) : 0;
    s->in_slirp = true;
    slirp_pollfds_poll(s->slirp, 0, get_revents, s);
    s->in_slirp = false;
    s->st.polls++;
    refresh(s);
}

static ls_pollfd *find_pfd(vk_libslirp *s, int fd)
{
    for (size_t i = 0; i < s->npfd; i++)
        if (s->pfd[i].fd == fd)
            return &s->pfd[i];
    return NULL;
}

/* Makes the loop's watches equal to the sockets of the last fill. */
static void sync_watches(vk_libslirp *s)
{
    for (size_t i = 0; i < s->nwatched;) {
        ls_pollfd *p = find_pfd(s, s->watched[i].fd);
        if (p != NULL && to_poll_events(p->events) == s->watched[i].events) {
            i++;
            continue;
        }
        vk_loop_unwatch_fd(s->loop, s->watched[i].fd);
        s->watched[i] = s->watched[--s->nwatched];
    }
    for (size_t i = 0; i < s->npfd; i++) {
        bool known = false;
        for (size_t k = 0; k < s->nwatched && !known; k++)
            known = s->watched[k].fd == s->pfd[i].fd;
        if (known)
            continue;
        if (vk_grow(&s->watched, &s->capwatched, s->nwatched, sizeof *s->watched, 16) !=
            VK_OK) {
            vk_net_fail(s->port->net, VK_ENOMEM, "libslirp %s: out of memory", s->port->id);
            return;
        }
        short ev = to_poll_events(s->pfd[i].events);
        if (vk_loop_watch_fd(s->loop, s->pfd[i].fd, ev, on_fd, s) == VK_OK)
            s->watched[s->nwatched++] = (ls_watch){s->pfd[i].fd, ev};
    }
}

/* After every call into libslirp: which sockets to watch, when to poll. */
static void refresh(vk_libslirp *s)
{
    uint32_t timeout = UINT32_MAX;
    s->npfd = 0;
    slirp_pollfds_fill(s->slirp, &timeout, add_poll, s);
    if (s->live) {
        sync_watches(s);
    } else if (s->npfd > 0) {
        vk_net_fail(s->port->net, VK_EUNSUPP,
                    "libslirp %s: libslirp holds a host socket on the virtual clock",
                    s->port->id);
        return;
    }
    if (s->notified && s->live)
        vk_timer_arm(s->poll_timer, vk_loop_now(s->loop));
    else if (timeout >= SLIRP_IDLE_TIMEOUT_MS)
        vk_timer_cancel(s->poll_timer);
    else
        vk_timer_arm(s->poll_timer, vk_loop_now(s->loop) + timeout * NS_PER_MS);
    s->notified = false;
}

static void on_poll_timer(void *arg, uint64_t now)
{
    (void)now;
    vk_libslirp *s = arg;
    for (size_t i = 0; i < s->npfd; i++)
        s->pfd[i].revents = 0;
    s->in_slirp = true;
    slirp_pollfds_poll(s->slirp, 0, get_revents, s);
    s->in_slirp = false;
    s->st.polls++;
    refresh(s);
    vk_port_flush(s->port);
}

static void on_slirp_timer(void *arg, uint64_t now)
{
    (void)now;
    ls_timer *t = arg;
    vk_libslirp *s = t->s;
    s->st.timers_fired++;
    s->in_slirp = true;
    slirp_handle_timer(s->slirp, t->id, t->cb_opaque);
    s->in_slirp = false;
    refresh(s);
    vk_port_flush(s->port);
}

/* ---- the virtual clock's rule (see the top of the file) ---- */

static bool ip4_eq(vk_ip4 a, vk_ip4 b)
{
    return memcmp(a.b, b.b, 4) == 0;
}

/* libslirp's in6_equal_host: its router or DNS address, in its prefix or
 * link-local. */
static bool ip6_is_own(const vk_libslirp *s, const vk_ip6 *a)
{
    static const uint8_t ll[8] = {0xfe, 0x80};
    const vk_ip6 *own[2] = {&s->cfg.host6, &s->cfg.dns6};
    for (size_t i = 0; i < 2; i++) {
        if (memcmp(a->b, own[i]->b, 16) == 0)
            return true;
        if (memcmp(a->b, ll, 8) == 0 && memcmp(a->b + 8, own[i]->b + 8, 8) == 0)
            return true;
    }
    return false;
}

static const char *outside4(const vk_libslirp *s, const vk_pkt *k)
{
    const vk_ipv4_repr *ip = &k->ip4;
    bool own = ip4_eq(ip->dst, s->cfg.host) || ip4_eq(ip->dst, s->cfg.dns);
    if (ip->proto == VK_IP_PROTO_ICMP) {
        if (own || s->cfg.restricted)
            return NULL;
        vk_icmp_repr icmp;
        if (k->frag || (vk_icmp_parse(ip->payload, ip->payload_len, &icmp) == VK_OK &&
                        icmp.type == VK_ICMP_ECHO_REQUEST))
            return "ICMP echo to an outside address needs a host socket";
        return NULL;
    }
    if (ip->proto != VK_IP_PROTO_TCP && ip->proto != VK_IP_PROTO_UDP)
        return NULL; /* libslirp drops other protocols */
    if (s->cfg.restricted)
        return NULL; /* answered with a RST or dropped, no socket */
    if (ip->proto == VK_IP_PROTO_TCP)
        return "TCP leaves the virtual network through a host socket";
    if (k->frag)
        return "a UDP fragment may need a host socket once reassembled";
    vk_udp_repr udp;
    if (vk_udp_parse(ip->payload, ip->payload_len, &udp) != VK_OK)
        return NULL; /* libslirp drops a short UDP header */
    bool bcast = vk_ip4_is_broadcast(ip->dst);
    if (udp.dst_port == 67 && (ip4_eq(ip->dst, s->cfg.host) || bcast))
        return NULL;
    if (udp.dst_port == 69 && ip4_eq(ip->dst, s->cfg.host))
        return NULL;
    if (udp.dst_port == 53 && ip4_eq(ip->dst, s->cfg.dns))
        return "DNS is forwarded to the host's resolver";
    return "UDP leaves the virtual network through a host socket";
}

static const char *outside6(const vk_libslirp *s, const vk_pkt *k)
{
    const vk_ipv6_repr *ip = &k->ip6;
    /* libslirp dispatches on the fixed header's next header only */
    if (ip->next_header == VK_IP_PROTO_ICMPV6) {
        vk_icmpv6_repr icmp;
        if (!ip6_is_own(s, &ip->dst) &&
            vk_icmpv6_parse(ip->payload, ip->payload_len, &icmp) == VK_OK &&
            icmp.type == VK_ICMPV6_ECHO_REQUEST)
            return "ICMPv6 echo to an outside address (libslirp 4.7 cannot forward it)";
        return NULL;
    }
    if (s->cfg.restricted)
        return NULL;
    if (ip->next_header == VK_IP_PROTO_TCP)
        return "TCP leaves the virtual network through a host socket";
    if (ip->next_header != VK_IP_PROTO_UDP)
        return NULL;
    vk_udp_repr udp;
    if (vk_udp_parse(ip->payload, ip->payload_len, &udp) != VK_OK)
        return NULL;
    static const uint8_t dhcp6_mcast[16] = {0xff, 0x02, [13] = 0x01, [15] = 0x02};
    if (udp.dst_port == 547 && (memcmp(ip->dst.b, s->cfg.host6.b, 16) == 0 ||
                                memcmp(ip->dst.b, dhcp6_mcast, 16) == 0))
        return NULL;
    if (udp.dst_port == 69 && memcmp(ip->dst.b, s->cfg.host6.b, 16) == 0)
        return NULL;
    return "UDP leaves the virtual network through a host socket";
}

/* Why libslirp would need the host for frame f, or NULL. */
static const char *outside_reason(const vk_libslirp *s, const vk_frame *f)
{
    vk_pkt k;
    if (vk_pkt_locate(f->data, f->len, &k) != VK_OK)
        return NULL;
    if (k.eth.ethertype == VK_ETHERTYPE_IPV4) {
        if (k.l3 != 4)
            return "malformed IPv4 header";
        return outside4(s, &k);
    }
    if (k.eth.ethertype == VK_ETHERTYPE_IPV6) {
        if (k.l3 != 6)
            return "malformed IPv6 header";
        return outside6(s, &k);
    }
    return NULL;
}

/* ---- the fragment guard (see the top of the file) ---- */

static ls_frag *frag_find(vk_libslirp *s, const vk_ipv4_repr *ip, uint64_t now)
{
    for (size_t i = 0; i < VK_LIBSLIRP_FRAG_TRACK; i++) {
        ls_frag *t = &s->frag[i];
        if (t->used && now - t->since > VK_LIBSLIRP_FRAG_TRACK_NS)
            t->used = false;
        if (t->used && t->id == ip->id && t->proto == ip->proto && ip4_eq(t->src, ip->src) &&
            ip4_eq(t->dst, ip->dst))
            return t;
    }
    return NULL;
}

static ls_frag *frag_open(vk_libslirp *s, const vk_ipv4_repr *ip, uint64_t now)
{
    ls_frag *slot = NULL;
    for (size_t i = 0; i < VK_LIBSLIRP_FRAG_TRACK && slot == NULL; i++)
        if (!s->frag[i].used)
            slot = &s->frag[i];
    if (slot == NULL) {
        /* forgetting the oldest only makes its later fragments refused */
        s->st.frag_track_full++;
        slot = &s->frag[0];
        for (size_t i = 1; i < VK_LIBSLIRP_FRAG_TRACK; i++)
            if (s->frag[i].since < slot->since)
                slot = &s->frag[i];
    }
    *slot = (ls_frag){.used = true, .src = ip->src, .dst = ip->dst, .id = ip->id,
                      .proto = ip->proto, .since = now};
    return slot;
}

/* NULL when f may go to libslirp, else why not. */
static const char *frag_guard(vk_libslirp *s, const vk_frame *f)
{
    vk_pkt k;
    if (vk_pkt_locate(f->data, f->len, &k) != VK_OK || k.l3 != 4 || !k.ip4.csum_ok ||
        k.ip4.ttl == 0 || !s->cfg.ipv4)
        return NULL; /* not IPv4, or dropped by libslirp's ip_input before reassembly */
    const vk_ipv4_repr *ip = &k.ip4;
    uint64_t now = vk_loop_now(s->loop);
    ls_frag *t = frag_find(s, ip, now);
    if (!k.frag) {
        if (t != NULL) /* libslirp frees the queue of that key */
            t->used = false;
        return NULL;
    }
    if (ip->frag_off == 0) {
        if (t == NULL)
            t = frag_open(s, ip, now);
        t->next = ip->payload_len;
        return NULL;
    }
    if (t == NULL || t->next != ip->frag_off) {
        s->st.frag_out_of_order++;
        return "libslirp: IPv4 fragment out of order (libslirp 4.7 crashes when a datagram's "
               "last fragment opens its reassembly; fragments go to it in order only)";
    }
    t->next += ip->payload_len;
    if (!ip->mf)
        t->used = false; /* complete: libslirp reassembles and frees the queue */
    return NULL;
}

/* ---- the port ---- */

static int ls_drop(vk_libslirp *s, const vk_frame *f, const char *reason)
{
    s->st.drops++;
    vk_port_drop(s->port, f, reason);
    return VK_EDROP;
}

static bool ls_can_receive(vk_port *self)
{
    vk_libslirp *s = self->priv;
    return !s->in_slirp;
}

static int ls_receive(vk_port *self, vk_frame *f)
{
    vk_libslirp *s = self->priv;
    if (f->len < 14)
        return ls_drop(s, f, "libslirp: runt Ethernet frame");
    if (f->len > VK_LIBSLIRP_FRAME_MAX) {
        s->st.oversize++;
        return ls_drop(s, f, "libslirp: frame longer than the MTU");
    }
    if (!s->live) {
        const char *why = outside_reason(s, f);
        if (why != NULL) {
            char reason[160];
            snprintf(reason, sizeof reason, "libslirp: virtual clock: %s", why);
            s->st.refused_outside++;
            return ls_drop(s, f, reason);
        }
    }
    const char *guard = frag_guard(s, f);
    if (guard != NULL)
        return ls_drop(s, f, guard);
    s->guest_error[0] = '\0';
    s->rx = f;
    s->in_slirp = true;
    slirp_input(s->slirp, f->data, (int)f->len);
    s->in_slirp = false;
    s->rx = NULL;
    s->st.frames_in++;
    refresh(s);
    int r = VK_OK;
    if (s->guest_error[0] != '\0') {
        char reason[200];
        snprintf(reason, sizeof reason, "libslirp: guest error: %s", s->guest_error);
        r = ls_drop(s, f, reason);
    }
    /* frames that arrived while libslirp ran waited in the queue */
    if (vk_port_queue_len(self) > 0)
        vk_port_flush(self);
    return r;
}

static int ls_start(vk_port *self)
{
    refresh(self->priv);
    return VK_OK;
}

static void ls_cleanup(vk_port *self)
{
    vk_libslirp *s = self->priv;
    if (s->slirp != NULL)
        slirp_cleanup(s->slirp);
    for (size_t i = 0; i < s->nwatched; i++)
        vk_loop_unwatch_fd(s->loop, s->watched[i].fd);
    free(s->watched);
    free(s->pfd);
    vk_timer_free(s->poll_timer);
    for (size_t i = 0; i < s->nguestfwd; i++)
        free(s->guestfwd[i].cmd);
    free(s->dnssearch);
    vk_user_config_free(&s->cfg);
}

static void ls_describe(vk_port *self, char *buf, size_t cap)
{
    vk_libslirp *s = self->priv;
    char net[VK_IP4_STRLEN];
    snprintf(buf, cap, "libslirp %s net=%s/%d%s%s%s%s", slirp_version_string(),
             vk_ip4_format(&s->cfg.net, net), s->cfg.prefix,
             s->cfg.restricted ? " restrict=on" : "", s->cfg.ipv4 ? "" : " ipv4=off",
             s->cfg.ipv6 ? "" : " ipv6=off",
             s->live ? "" : " (virtual clock: outside traffic refused)");
}

static const vk_port_ops ls_ops = {
    .kind = "libslirp",
    .receive = ls_receive,
    .can_receive = ls_can_receive,
    .cleanup = ls_cleanup,
    .describe = ls_describe,
    .start = ls_start,
};

const vk_libslirp_stats *vk_libslirp_stats_of(const vk_port *p)
{
    if (p == NULL || p->ops != &ls_ops)
        return NULL;
    return &((const vk_libslirp *)p->priv)->st;
}

/* ---- creation ---- */

static struct in_addr to_in(vk_ip4 a)
{
    struct in_addr r;
    memcpy(&r.s_addr, a.b, 4);
    return r;
}

static struct in6_addr to_in6(const vk_ip6 *a)
{
    struct in6_addr r;
    memcpy(r.s6_addr, a->b, 16);
    return r;
}

/* guestfwd=[tcp]:ADDR:PORT-cmd:COMMAND (QEMU's syntax; QEMU's chardev form
 * has nothing to connect to here). */
static int parse_one_guestfwd(vk_libslirp *s, vk_opts *o, const char *rule, vk_diag *d)
{
    const char *p = rule;
    if (strncmp(p, "tcp:", 4) == 0)
        p += 4;
    else if (*p == ':')
        p++;
    const char *colon = strchr(p, ':');
    const char *dash = colon ? strchr(colon, '-') : NULL;
    char addr[VK_IP4_STRLEN], port[8];
    size_t alen = colon ? (size_t)(colon - p) : 0;
    size_t plen = dash ? (size_t)(dash - colon - 1) : 0;
    vk_ip4 a;
    char *end;
    if (colon == NULL || dash == NULL || alen >= sizeof addr || plen == 0 || plen >= sizeof port)
        return vk_opts_error(o, d, VK_EINVAL, "guestfwd",
                             "invalid guest forwarding rule '%s' (want "
                             "[tcp]:ADDR:PORT-cmd:COMMAND)", rule);
    memcpy(addr, p, alen);
    addr[alen] = '\0';
    memcpy(port, colon + 1, plen);
    port[plen] = '\0';
    unsigned long pn = strtoul(port, &end, 10);
    if (vk_ip4_parse(addr, &a) != VK_OK || !vk_user_config_in_net(&s->cfg, a))
        return vk_opts_error(o, d, VK_EINVAL, "guestfwd",
                             "'%s': '%s' is not an address of the virtual network", rule, addr);
    if (*end != '\0' || pn == 0 || pn > 65535)
        return vk_opts_error(o, d, VK_EINVAL, "guestfwd", "'%s': bad port '%s'", rule, port);
    if (strncmp(dash + 1, "cmd:", 4) != 0 || dash[5] == '\0')
        return vk_opts_error(o, d, VK_EUNSUPP, "guestfwd",
                             "'%s': only cmd:COMMAND is supported (vnetkit has no chardevs)",
                             rule);
    if (s->nguestfwd == VK_LIBSLIRP_GUESTFWD_MAX)
        return vk_opts_error(o, d, VK_EFULL, "guestfwd", "more than %d rules",
                             VK_LIBSLIRP_GUESTFWD_MAX);
    ls_guestfwd *g = &s->guestfwd[s->nguestfwd];
    g->addr = to_in(a);
    g->port = (int)pn;
    g->cmd = strdup(dash + 5);
    if (g->cmd == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    s->nguestfwd++;
    return VK_OK;
}

static int parse_extra_keys(vk_libslirp *s, vk_opts *o, vk_diag *d)
{
    static const char *const smb[] = {"smb", "smbserver"};
    for (size_t i = 0; i < 2; i++)
        if (vk_opts_has(o, smb[i])) {
            vk_opts_mark_used(o, smb[i]);
            return vk_opts_error(o, d, VK_EUNSUPP, smb[i],
                                 "not supported (QEMU runs a host smbd for it)");
        }
    const char *vals[VK_LIBSLIRP_GUESTFWD_MAX + 1];
    size_t n = vk_opts_get_all(o, "guestfwd", vals, VK_LIBSLIRP_GUESTFWD_MAX + 1);
    for (size_t i = 0; i < n; i++) {
        int r = parse_one_guestfwd(s, o, vals[i], d);
        if (r != VK_OK)
            return r;
    }
    if (!s->live && (s->cfg.hostfwd_n > 0 || s->nguestfwd > 0))
        return vk_opts_error(o, d, VK_EUNSUPP, s->cfg.hostfwd_n ? "hostfwd" : "guestfwd",
                             "needs the live clock (--clock live): it uses host sockets");
    return VK_OK;
}

static void fill_config(vk_libslirp *s, SlirpConfig *c)
{
    const vk_user_config *u = &s->cfg;
    memset(c, 0, sizeof *c);
    c->version = 4;
    c->restricted = u->restricted;
    c->in_enabled = u->ipv4;
    c->vnetwork = to_in(u->net);
    c->vnetmask = to_in(u->mask);
    c->vhost = to_in(u->host);
    c->in6_enabled = u->ipv6;
    c->vprefix_addr6 = to_in6(&u->net6);
    c->vprefix_len = (uint8_t)u->prefix6;
    c->vhost6 = to_in6(&u->host6);
    c->vhostname = u->hostname;
    c->tftp_server_name = u->tftp_server_name;
    c->tftp_path = u->tftp_root;
    c->bootfile = u->bootfile;
    c->vdhcp_start = to_in(u->dhcp_start);
    c->vnameserver = to_in(u->dns);
    c->vnameserver6 = to_in6(&u->dns6);
    c->vdnssearch = s->dnssearch;
    c->vdomainname = u->domainname;
}

static int add_forwards(vk_libslirp *s, const char *id, vk_diag *d)
{
    for (size_t i = 0; i < s->cfg.hostfwd_n; i++) {
        const vk_user_hostfwd *h = &s->cfg.hostfwd[i];
        int r;
        if (h->host.family == 4 && h->guest.family == 4) {
            r = slirp_add_hostfwd(s->slirp, h->udp, to_in(h->host.ip4), h->host.port,
                                  to_in(h->guest.ip4), h->guest.port);
        } else {
            struct sockaddr_in6 hs = {.sin6_family = AF_INET6,
                                      .sin6_port = htons(h->host.port)};
            struct sockaddr_in6 gs = {.sin6_family = AF_INET6,
                                      .sin6_port = htons(h->guest.port)};
            hs.sin6_addr = h->host.family == 6 ? to_in6(&h->host.ip6) : in6addr_any;
            gs.sin6_addr = to_in6(&h->guest.ip6);
            r = slirp_add_hostxfwd(s->slirp, (const struct sockaddr *)&hs, sizeof hs,
                                   (const struct sockaddr *)&gs, sizeof gs,
                                   h->udp ? SLIRP_HOSTFWD_UDP : 0);
        }
        if (r < 0)
            return vk_diag_set(d, VK_EIO,
                               "-netdev libslirp,id=%s: key 'hostfwd': rule %zu: could not "
                               "listen on host port %u (in use?)", id, i + 1, h->host.port);
    }
    for (size_t i = 0; i < s->nguestfwd; i++) {
        ls_guestfwd *g = &s->guestfwd[i];
        if (slirp_add_exec(s->slirp, g->cmd, &g->addr, g->port) < 0)
            return vk_diag_set(d, VK_EIO,
                               "-netdev libslirp,id=%s: key 'guestfwd': rule %zu refused by "
                               "libslirp (address or port in use?)", id, i + 1);
    }
    return VK_OK;
}

static int ls_init(vk_libslirp *s, vk_opts *o, const char *id, vk_diag *d)
{
    int r = parse_extra_keys(s, o, d);
    if (r != VK_OK)
        return r;
    s->dnssearch = calloc(s->cfg.dnssearch_n + 1, sizeof *s->dnssearch);
    s->poll_timer = vk_timer_new(s->loop, on_poll_timer, s);
    if (s->dnssearch == NULL || s->poll_timer == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->cfg.dnssearch_n; i++)
        s->dnssearch[i] = s->cfg.dnssearch[i];
    SlirpConfig sc;
    fill_config(s, &sc);
    s->slirp = slirp_new(&sc, &slirp_callbacks, s);
    if (s->slirp == NULL)
        return vk_diag_set(d, VK_EINVAL, "-netdev libslirp,id=%s: libslirp refused the "
                                         "configuration", id);
    return add_forwards(s, id, d);
}

static int ls_create(vk_net *net, const char *id, vk_opts *o, vk_port **out, vk_diag *d)
{
    vk_user_config cfg;
    int r = vk_user_config_parse_keys(&cfg, o, d);
    if (r != VK_OK) {
        vk_user_config_free(&cfg);
        return r;
    }
    vk_port *p;
    r = vk_port_new(net, &ls_ops, id, "libslirp", sizeof(vk_libslirp), &p, d);
    if (r != VK_OK) {
        vk_user_config_free(&cfg);
        return r;
    }
    vk_libslirp *s = p->priv;
    s->port = p;
    s->loop = vk_net_loop(net);
    s->live = vk_loop_clock(s->loop) == VK_CLOCK_LIVE;
    s->cfg = cfg;
    s->ra_rng = 0x9e3779b9u;
    /* libslirp writes to host sockets with plain send(): a host peer that
     * reset its end would kill the process with SIGPIPE.  QEMU ignores
     * SIGPIPE for the whole process before it starts libslirp; so do we, on
     * the live clock (the only one where libslirp has sockets).  Found by
     * e2e.test_user_hostile_vs_libslirp (a host peer that resets). */
    if (s->live)
        signal(SIGPIPE, SIG_IGN);
    if ((r = ls_init(s, o, id, d)) != VK_OK)
        return r;
    *out = p;
    return VK_OK;
}

#else /* !VK_HAVE_LIBSLIRP */

bool vk_libslirp_available(void)
{
    return false;
}

const vk_libslirp_stats *vk_libslirp_stats_of(const vk_port *p)
{
    (void)p;
    return NULL;
}

static int ls_create(vk_net *net, const char *id, vk_opts *o, vk_port **out, vk_diag *d)
{
    (void)net;
    (void)o;
    (void)out;
    return vk_diag_set(d, VK_EUNSUPP,
                       "-netdev libslirp,id=%s: libslirp support not built: install "
                       "libslirp-dev and rebuild vnetkit", id);
}

#endif

static const char *const ls_keys[] = {
    "net", "host", "dns", "dhcpstart", "hostname", "domainname", "dnssearch", "tftp",
    "bootfile", "tftp-server-name", "restrict", "ipv4", "ipv6", "ipv6-net", "ipv6-host",
    "ipv6-dns", "hostfwd", "guestfwd", "smb", "smbserver", NULL,
};

const vk_netdev_type vk_netdev_libslirp = {
    .name = "libslirp",
    .live = false,
    .keys = ls_keys,
    .create = ls_create,
};
