/*
 * TCP in the user-mode stack: the door (header, checksum, addresses), the
 * connection table, resets for segments that belong to no connection, the
 * ISN counter, hostfwd listeners and guestfwd targets.  The connection
 * state machine itself is tcp_conn.c.
 *
 *  - A segment for no connection gets libslirp's tcp_respond reset (RFC 9293
 *    3.10.7.1: RST+ACK acknowledging it, or a bare RST with seq = its ack;
 *    TTL 255, window 0, no options); a reset gets nothing.
 *  - restrict=on: every SYN is refused that way unless it goes to a
 *    guestfwd server:port.
 *  - The "none" world (a replay without a world): a segment for the outside
 *    that belongs to no connection is dropped with a counted reason, as the
 *    UDP NAT does (libslirp on the virtual clock hears nothing either).
 *  - A SYN opens a connection unless VK_USER_TCP_CONNS_MAX are open: then
 *    it is reset and counted (a SYN flood costs a reset per SYN, never
 *    memory).  SYN+FIN and SYN+RST are dropped and traced (libslirp answers
 *    both with RST|ACK: README rules tcp-synfin, tcp-rst-no-answer).  A
 *    SYN beyond a connection in TIME_WAIT replaces it (BSD's rule).
 *  - Options are read as libslirp's tcp_dooptions does: a malformed option
 *    ends the walk, the segment is still taken.
 *  - ISN: libslirp's tcp_iss, starting at 1, +64000 for every connection and
 *    for every slow tick (500 ms) while a connection or hostfwd listener
 *    exists; the first tick comes at once when nothing ticked for 500 ms,
 *    which is why the first SYN-ACK of a session has seq 64001.
 *  - hostfwd=tcp: a world listener per rule from start; an accepted client
 *    becomes a SYN to the guest from the gateway address (the client's own
 *    address when it is not loopback or any and of the guest's family),
 *    with the client's port.
 *  - guestfwd: the guest's SYN to server:port is answered at once, the
 *    world's stream_open() carrying the bytes.
 */
#include "backends/user/tcp_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/net.h"
#include "wire/checksum.h"

typedef struct vk_user_tcp_key {
    int family;
    const uint8_t *gaddr, *faddr; /* 4 or 16 bytes */
    uint16_t gport, fport;
} vk_user_tcp_key;

/* libslirp tcp_respond without a connection (see the file-top comment). */
static int send_reset(vk_user *u, const vk_user_rx *rx, const vk_user_tcp_key *k,
                      const vk_tcp_repr *seg)
{
    vk_tcp_repr rst = {.src_port = seg->dst_port, .dst_port = seg->src_port};
    if (seg->flags & VK_TCP_ACK) {
        rst.seq = seg->ack;
        rst.flags = VK_TCP_RST;
    } else {
        uint32_t len = (uint32_t)seg->payload_len;
        len += (seg->flags & VK_TCP_SYN) ? 1 : 0;
        len += (seg->flags & VK_TCP_FIN) ? 1 : 0;
        rst.ack = seg->seq + len;
        rst.flags = VK_TCP_RST | VK_TCP_ACK;
    }
    if (vk_user_tcp_send_raw(u, k->family, k->faddr, k->gaddr, &rst, 0, VK_USER_TCP_RST_TTL,
                             rx->now) == VK_EFULL)
        return vk_user_drop(u, rx, "TCP: cannot build reset");
    u->st.tcp_resets++;
    return VK_OK;
}

/* libslirp's tcptos: the IP TOS of a connection by the guest's port. */
static uint8_t tcp_tos(uint16_t guest_port)
{
    switch (guest_port) {
    case 20: case 80: case 6667: case 6668:
        return 0x08; /* IPTOS_THROUGHPUT */
    case 21: case 23: case 113: case 513: case 543: case 544: case 7070:
        return 0x10; /* IPTOS_LOWDELAY */
    default:
        return 0;
    }
}

static const vk_user_guestfwd *find_guestfwd(const vk_user *u, const vk_user_tcp_key *k)
{
    if (k->family != 4)
        return NULL;
    for (size_t i = 0; i < u->cfg.guestfwd_n; i++) {
        const vk_user_guestfwd *g = &u->cfg.guestfwd[i];
        if (g->port == k->fport && memcmp(g->server.b, k->faddr, 4) == 0)
            return g;
    }
    return NULL;
}

static int segment(vk_user *u, const vk_user_rx *rx, const vk_user_tcp_key *k,
                   const vk_tcp_repr *seg, const uint8_t *ip, size_t ip_len)
{
    vk_user_tcp_conn probe = {.family = k->family, .gport = k->gport, .fport = k->fport};
    size_t alen = k->family == 4 ? 4 : 16;
    memcpy(k->family == 4 ? probe.gaddr4.b : probe.gaddr6.b, k->gaddr, alen);
    memcpy(k->family == 4 ? probe.faddr4.b : probe.faddr6.b, k->faddr, alen);
    vk_user_tcp_conn *c = vk_user_tcp_lookup(u, &probe);
    /* A new SYN past a connection in TIME_WAIT starts over (BSD, libslirp). */
    if (c != NULL && c->state == VK_TCPS_TIME_WAIT &&
        (seg->flags & (VK_TCP_SYN | VK_TCP_ACK | VK_TCP_RST)) == VK_TCP_SYN &&
        (int32_t)(seg->seq - c->rcv_nxt) > 0) {
        vk_user_tcp_conn_free(c, rx->now);
        c = NULL;
    }
    if (c != NULL)
        return vk_user_tcp_conn_input(c, rx, seg);
    if (seg->flags & VK_TCP_RST)
        return vk_user_drop(u, rx, u->cfg.restricted ? "user: restrict=on: reset for no connection"
                                                     : "TCP: reset for no connection");
    const vk_user_guestfwd *gf = find_guestfwd(u, k);
    if (u->cfg.restricted && gf == NULL)
        return send_reset(u, rx, k, seg);
    if (gf == NULL && vk_user_world_is_none(u)) {
        vk_world_flow flow = {.family = k->family, .proto = VK_IP_PROTO_TCP,
                              .src_port = k->gport, .dst_port = k->fport};
        if (k->family == 4) {
            memcpy(flow.src4.b, k->gaddr, 4);
            memcpy(flow.dst4.b, k->faddr, 4);
        } else {
            memcpy(flow.src6.b, k->gaddr, 16);
            memcpy(flow.dst6.b, k->faddr, 16);
        }
        return vk_user_to_world(u, rx, &flow, ip, ip_len); /* counted and traced */
    }
    if ((seg->flags & (VK_TCP_SYN | VK_TCP_ACK)) != VK_TCP_SYN) {
        send_reset(u, rx, k, seg);
        return vk_user_drop(u, rx, "TCP: segment for no connection");
    }
    if (seg->flags & VK_TCP_FIN)
        return vk_user_drop(u, rx, "TCP: SYN with FIN");
    if (u->tcp->n >= VK_USER_TCP_CONNS_MAX) {
        u->st.tcp_conns_full++;
        send_reset(u, rx, k, seg);
        return vk_user_drop(u, rx, "TCP: connection table full (VK_USER_TCP_CONNS_MAX)");
    }
    c = vk_user_tcp_conn_new(u, k->family, rx->now);
    if (c == NULL) {
        send_reset(u, rx, k, seg);
        return vk_user_drop(u, rx, "TCP: out of memory for a connection");
    }
    c->gaddr4 = probe.gaddr4;
    c->faddr4 = probe.faddr4;
    c->gaddr6 = probe.gaddr6;
    c->faddr6 = probe.faddr6;
    c->gport = k->gport;
    c->fport = k->fport;
    c->tos = k->family == 4 ? tcp_tos(k->gport) : 0;
    c->syn_ip_len = ip_len < sizeof c->syn_ip ? ip_len : sizeof c->syn_ip;
    memcpy(c->syn_ip, ip, c->syn_ip_len);
    return vk_user_tcp_conn_syn(c, rx, seg, gf != NULL ? gf->target : NULL, rx->now);
}

static int parse(vk_user *u, const vk_user_rx *rx, const uint8_t *p, size_t len, uint32_t pseudo,
                 vk_tcp_repr *seg)
{
    int r = vk_tcp_parse_lenient(p, len, seg);
    if (r != VK_OK)
        return vk_user_drop(u, rx, "TCP: bad header");
    if (!vk_tcp_csum_ok(pseudo, p, len))
        return vk_user_drop(u, rx, "TCP: bad checksum");
    return VK_OK;
}

int vk_user_tcp_input(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                      const uint8_t *raw, size_t raw_len)
{
    vk_tcp_repr seg;
    int r = parse(u, rx, ip->payload, ip->payload_len,
                  vk_csum_pseudo4(&ip->src, &ip->dst, VK_IP_PROTO_TCP), &seg);
    if (r != VK_OK)
        return r;
    if (vk_ip4_is_broadcast(ip->dst) || vk_ip4_is_multicast_or_reserved(ip->dst) ||
        vk_ip4_to_u32(ip->src) == 0)
        return vk_user_drop(u, rx, "TCP: broadcast, multicast or unspecified address");
    vk_user_tcp_key k = {.family = 4, .gaddr = ip->src.b, .faddr = ip->dst.b,
                         .gport = seg.src_port, .fport = seg.dst_port};
    return segment(u, rx, &k, &seg, raw, raw_len);
}

int vk_user_tcp6_input(vk_user *u, const vk_user_rx *rx, const vk_ipv6_repr *ip)
{
    vk_tcp_repr seg;
    int r = parse(u, rx, ip->payload, ip->payload_len,
                  vk_csum_pseudo6(&ip->src, &ip->dst, VK_IP_PROTO_TCP), &seg);
    if (r != VK_OK)
        return r;
    static const vk_ip6 zero;
    if (vk_ip6_is_multicast(&ip->dst) || memcmp(&ip->src, &zero, sizeof zero) == 0)
        return vk_user_drop(u, rx, "TCP: multicast or unspecified address");
    vk_user_tcp_key k = {.family = 6, .gaddr = ip->src.b, .faddr = ip->dst.b,
                         .gport = seg.src_port, .fport = seg.dst_port};
    return segment(u, rx, &k, &seg, rx->eth.payload, ip->hdr_len + ip->payload_len);
}

/* ---- the ISN counter and the slow tick ---- */

static bool anything_ticks(const vk_user_tcp *t)
{
    return t->n > 0 || t->nlisten > 0;
}

static void tick_cb(void *arg, uint64_t now)
{
    vk_user *u = arg;
    vk_user_tcp *t = u->tcp;
    t->iss += VK_USER_TCP_ISS_INCR;
    t->ticked = true;
    t->last_tick = now;
    if (anything_ticks(t))
        vk_timer_arm(t->tick, now + VK_USER_TCP_TICK_NS);
}

void vk_user_tcp_tick_kick(vk_user *u, uint64_t now)
{
    vk_user_tcp *t = u->tcp;
    if (vk_timer_pending(t->tick))
        return;
    uint64_t when = t->ticked ? t->last_tick + VK_USER_TCP_TICK_NS : now;
    vk_timer_arm(t->tick, when < now ? now : when);
}

uint32_t vk_user_tcp_next_iss(vk_user *u, uint64_t now)
{
    (void)now;
    uint32_t iss = u->tcp->iss;
    u->tcp->iss += VK_USER_TCP_ISS_INCR;
    return iss;
}

/* ---- hostfwd ---- */

static void on_accepted(void *ctx, vk_wsock *listener, vk_wsock *conn, const vk_waddr *peer,
                        uint64_t now)
{
    vk_user_tcp_listener *l = ctx;
    vk_user *u = l->u;
    const vk_user_hostfwd *f = &u->cfg.hostfwd[l->rule];
    (void)listener;
    if (u->tcp->n >= VK_USER_TCP_CONNS_MAX) {
        u->st.tcp_conns_full++;
        u->world->ops->close(u->world, conn, true, now);
        return;
    }
    vk_user_tcp_conn *c = vk_user_tcp_conn_new(u, f->guest.family, now);
    if (c == NULL) {
        u->world->ops->close(u->world, conn, true, now);
        return;
    }
    static const vk_ip6 zero6, lo6 = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
    bool own = peer->family != f->guest.family ||
               (peer->family == 4 && (peer->ip4.b[0] == 127 || vk_ip4_to_u32(peer->ip4) == 0)) ||
               (peer->family == 6 && (memcmp(&peer->ip6, &zero6, sizeof zero6) == 0 ||
                                      memcmp(&peer->ip6, &lo6, sizeof lo6) == 0));
    if (f->guest.family == 4) {
        c->gaddr4 = f->guest.ip4;
        c->faddr4 = own ? u->cfg.host : peer->ip4;
    } else {
        c->gaddr6 = f->guest.ip6;
        c->faddr6 = own ? u->cfg.host6 : peer->ip6;
    }
    c->gport = f->guest.port;
    c->fport = peer->port;
    /* libslirp applies tcptos only to connections the guest opens: a hostfwd
     * connection keeps TOS 0 (pcaps/qemu-e1000-hostfwd.pcap, guest port 80) */
    c->tos = 0;
    if (vk_user_tcp_lookup(u, c) != NULL) {
        u->st.tcp_hostfwd_clashes++;
        u->world->ops->close(u->world, conn, true, now);
        vk_user_tcp_conn_free(c, now);
        return;
    }
    conn->ev = &vk_user_tcp_conn_events;
    conn->ctx = c;
    vk_user_tcp_conn_open_incoming(c, conn, now);
}

static const vk_wsock_events listener_events = {.accepted = on_accepted};

static void describe_rule(const vk_user_hostfwd *f, char *buf, size_t cap)
{
    char h[VK_IP6_STRLEN], g[VK_IP6_STRLEN];
    if (f->host.family == 4)
        vk_ip4_format(&f->host.ip4, h);
    else
        vk_ip6_format(&f->host.ip6, h);
    if (f->guest.family == 4)
        vk_ip4_format(&f->guest.ip4, g);
    else
        vk_ip6_format(&f->guest.ip6, g);
    snprintf(buf, cap, "%s:%s:%u-%s:%u", f->udp ? "udp" : "tcp", h, f->host.port, g,
             f->guest.port);
}

/* Opens the hostfwd=tcp listeners of the configuration.  A world without
 * listeners (none) leaves them closed; any other failure is fatal, as in
 * QEMU ("could not set up host forwarding rule"). */
int vk_user_tcp_start(vk_user *u, uint64_t now)
{
    vk_user_tcp *t = u->tcp;
    t->started = true;
    for (size_t i = 0; i < u->cfg.hostfwd_n; i++) {
        const vk_user_hostfwd *f = &u->cfg.hostfwd[i];
        if (f->udp || t->lis[i].ws != NULL)
            continue;
        t->lis[i].u = u;
        t->lis[i].rule = i;
        int r = u->world->ops->tcp_listen(u->world, &f->host, &listener_events, &t->lis[i],
                                          &t->lis[i].ws, now);
        if (r == VK_EUNSUPP) {
            t->lis[i].ws = NULL;
            continue;
        }
        if (r != VK_OK) {
            t->lis[i].ws = NULL;
            char rule[128];
            describe_rule(f, rule, sizeof rule);
            vk_net_fail(u->port->net, r,
                        "-netdev user,id=%s: could not set up host forwarding rule '%s': %s",
                        u->port->id, rule, vk_strerror(r));
            return r;
        }
        t->nlisten++;
    }
    if (t->nlisten > 0)
        vk_user_tcp_tick_kick(u, now);
    return VK_OK;
}

static void close_listeners(vk_user *u, uint64_t now)
{
    vk_user_tcp *t = u->tcp;
    for (size_t i = 0; i < VK_USER_HOSTFWD_MAX; i++)
        if (t->lis[i].ws != NULL) {
            u->world->ops->close(u->world, t->lis[i].ws, false, now);
            t->lis[i].ws = NULL;
        }
    t->nlisten = 0;
}

/* Every connection and listener lives in the world it was opened with:
 * before a world goes, they go. */
void vk_user_tcp_close_all(vk_user *u, uint64_t now)
{
    vk_user_tcp *t = u->tcp;
    if (t == NULL)
        return;
    while (t->all != NULL)
        vk_user_tcp_conn_free(t->all, now);
    close_listeners(u, now);
}

int vk_user_tcp_init(vk_user *u)
{
    u->tcp = calloc(1, sizeof *u->tcp);
    if (u->tcp == NULL)
        return VK_ENOMEM;
    u->tcp->iss = 1; /* libslirp tcp_init */
    u->tcp->tick = vk_timer_new(u->loop, tick_cb, u);
    if (u->tcp->tick == NULL)
        return VK_ENOMEM;
    /* The tick only moves the ISN counter: it never keeps a run going. */
    vk_timer_set_background(u->tcp->tick, true);
    return VK_OK;
}

void vk_user_tcp_cleanup(vk_user *u)
{
    if (u->tcp == NULL)
        return;
    vk_user_tcp_close_all(u, vk_loop_now(u->loop));
    vk_timer_free(u->tcp->tick);
    free(u->tcp);
    u->tcp = NULL;
}
