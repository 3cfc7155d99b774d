/*
 * UDP in the user-mode stack: checksum check, then dispatch by destination
 * as libslirp's udp_input: port 67 on the gateway or broadcast to DHCP,
 * port 69 on the gateway to TFTP, everything else to the UDP NAT.
 * restrict=on keeps DHCP and TFTP only.  Also the output of UDP datagrams
 * the stack originates, IPv4 and IPv6.
 *
 * The NAT, as libslirp 4.7 (udp.c, udp6.c, socket.c sorecvfrom/sosendto):
 *  - one world socket per guest (address, port), whatever the destination;
 *    replies from any remote are accepted and reach the guest from that
 *    remote's address as nat.c translates it back (the gateway for host
 *    loopback, the DNS address for the upstream resolver);
 *  - the guest's TTL/hop limit minus one is the datagram's TTL outside; at
 *    zero the guest gets ICMP time exceeded;
 *  - a socket expires 240 s after the last datagram sent, or after the last
 *    reply (10 s for port 53); hostfwd=udp sockets never expire;
 *  - a refused destination (a port other than 53 on the DNS address, no
 *    upstream resolver) or a failed send is ICMP net unreachable (libslirp
 *    uses that one code for every send error); an error the outside
 *    reported for a datagram (IP_RECVERR) is port/host/net unreachable,
 *    quoting the guest's last datagram;
 *  - hostfwd=udp: bound at start; a datagram from a loopback or unspecified
 *    host peer reaches the guest from the gateway, from another peer with
 *    the peer's address; the guest's replies go back to the last peer.
 * Deliberate differences: at most VK_USER_UDP_SOCKETS_MAX sockets (a
 * counted, traced drop beyond; libslirp is bounded only by descriptors);
 * guest broadcasts to 255.255.255.255 are not sent to host loopback (libslirp
 * does); with the "none" world (replay without a world) NAT datagrams are
 * dropped with a reason instead of answered with ICMP errors.
 */
#include "backends/user/user_internal.h"

#include <stdlib.h>
#include <string.h>

#include "wire/checksum.h"
#include "wire/icmp.h"
#include "wire/icmpv6.h"

static bool ip4_eq(vk_ip4 a, vk_ip4 b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static bool ip6_eq(const vk_ip6 *a, const vk_ip6 *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

int vk_user_udp_output(vk_user *u, vk_ip4 src, uint16_t sport, vk_ip4 dst, uint16_t dport,
                       uint8_t tos, const uint8_t *data, size_t len, uint64_t now)
{
    vk_udp_repr udp = {.src_port = sport, .dst_port = dport, .payload = data,
                       .payload_len = len};
    size_t n;
    int r = vk_udp_emit(&udp, vk_csum_pseudo4(&src, &dst, VK_IP_PROTO_UDP), u->scratch,
                        VK_USER_SCRATCH, &n);
    if (r != VK_OK)
        return r;
    vk_user_ip4_out o = {.src = src, .dst = dst, .proto = VK_IP_PROTO_UDP, .tos = tos,
                         .ttl = 64, .payload = u->scratch, .len = n};
    return vk_user_ip4_output(u, &o, now);
}

int vk_user_udp6_output(vk_user *u, const vk_ip6 *src, uint16_t sport, const vk_ip6 *dst,
                        uint16_t dport, const uint8_t *data, size_t len)
{
    vk_udp_repr udp = {.src_port = sport, .dst_port = dport, .payload = data,
                       .payload_len = len};
    size_t n;
    int r = vk_udp_emit(&udp, vk_csum_pseudo6(src, dst, VK_IP_PROTO_UDP), u->scratch,
                        VK_USER_SCRATCH, &n);
    if (r != VK_OK)
        return r;
    return vk_user_ip6_output(u, src, dst, VK_IP_PROTO_UDP, 0, u->scratch, n);
}

/* ---- from the world to the guest ---- */

static uint8_t unreach_code4(int err)
{
    switch (err) {
    case VK_ENETUNREACH:
        return VK_ICMP_UNREACH_NET;
    case VK_EHOSTUNREACH:
        return VK_ICMP_UNREACH_HOST;
    default:
        return VK_ICMP_UNREACH_PORT;
    }
}

static uint8_t unreach_code6(int err)
{
    switch (err) {
    case VK_ENETUNREACH:
        return 0; /* no route */
    case VK_EHOSTUNREACH:
        return 3; /* address unreachable */
    default:
        return 4; /* port unreachable */
    }
}

/* An error the world reported for the guest's last datagram. */
static void report_error(vk_user *u, vk_user_nat_sock *s, int err, const vk_waddr *offender,
                         uint64_t now)
{
    if (s->last_len == 0)
        return;
    if (s->family == 6) {
        vk_user_icmp_error6(u, s->last, s->last_len, VK_ICMPV6_DEST_UNREACH,
                            unreach_code6(err), now);
        return;
    }
    /* libslirp sends the error from the host that reported it, untranslated
     * (127.0.0.1 for a closed port on host loopback, which the guest then
     * ignores: pcaps/qemu-e1000-udp-echo.pcap frame 15) */
    vk_ip4 src = u->cfg.host;
    if (offender->family == 4 && vk_ip4_to_u32(offender->ip4) != 0)
        src = offender->ip4;
    vk_user_icmp_error4(u, s->last, s->last_len, VK_ICMP_DEST_UNREACH, unreach_code4(err), src,
                        now);
}

/* Where a datagram a hostfwd socket received seems to come from. */
static void hostfwd_src(const vk_user *u, const vk_user_nat_sock *s, const vk_waddr *from,
                        vk_waddr *out)
{
    *out = *from;
    out->family = s->family;
    if (s->family == 4) {
        bool local = from->family != 4 || vk_ip4_to_u32(from->ip4) == 0 ||
                     from->ip4.b[0] == 127;
        if (local)
            out->ip4 = u->cfg.host;
        return;
    }
    static const vk_ip6 any, loop = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
    if (from->family != 6 || ip6_eq(&from->ip6, &any) || ip6_eq(&from->ip6, &loop))
        out->ip6 = u->cfg.host6;
}

static void deliver(vk_user *u, vk_user_nat_sock *s, const vk_waddr *from, size_t len,
                    uint64_t now)
{
    vk_waddr src;
    if (s->hostfwd) {
        s->peer = *from;
        hostfwd_src(u, s, from, &src);
    } else {
        s->expires = now + (s->fport == 53 ? VK_USER_UDP_EXPIRE_DNS_NS : VK_USER_UDP_EXPIRE_NS);
        vk_user_nat_src(u, s, from, &src);
        if (src.family != s->family)
            return;
    }
    u->st.udp_in++;
    if (s->family == 4)
        vk_user_udp_output(u, src.ip4, src.port, s->gaddr4, s->gport, s->tos, u->rxbuf, len,
                           now);
    else
        vk_user_udp6_output(u, &src.ip6, src.port, &s->gaddr6, s->gport, u->rxbuf, len);
}

static void udp_readable(void *ctx, vk_wsock *ws, uint64_t now)
{
    vk_user_nat_sock *s = ctx;
    vk_user *u = s->u;
    for (;;) {
        vk_waddr from;
        long n = u->world->ops->recvfrom(u->world, ws, u->rxbuf, VK_USER_RXBUF, &from, now);
        if (n == VK_EAGAIN)
            break;
        if (n == VK_ENETUNREACH || n == VK_EHOSTUNREACH || n == VK_EPORTUNREACH)
            report_error(u, s, (int)n, &from, now);
        else if (n < 0)
            break; /* a broken socket: it expires like an idle one */
        else
            deliver(u, s, &from, (size_t)n, now);
    }
    vk_user_nat_schedule(u);
}

static const vk_wsock_events udp_events = {.readable = udp_readable};

/* ---- from the guest to the world ---- */

/* The guest's flow as one NAT socket: the one of its (address, port), or a
 * new one.  NULL with *why when none can be had. */
static vk_user_nat_sock *sock_for(vk_user *u, const vk_world_flow *flow, uint8_t tos,
                                  uint64_t now, const char **why)
{
    vk_user_nat_sock **free_slot = NULL;
    for (size_t i = 0; i < VK_USER_UDP_SOCKETS_MAX; i++) {
        vk_user_nat_sock *s = u->udp[i];
        if (s == NULL) {
            if (free_slot == NULL)
                free_slot = &u->udp[i];
            continue;
        }
        if (s->family != flow->family || s->gport != flow->src_port)
            continue;
        if (flow->family == 4 ? ip4_eq(s->gaddr4, flow->src4) : ip6_eq(&s->gaddr6, &flow->src6))
            return s;
    }
    if (free_slot == NULL) {
        u->st.udp_sockets_full++;
        *why = "UDP: NAT socket table full (VK_USER_UDP_SOCKETS_MAX)";
        return NULL;
    }
    vk_user_nat_sock *s = calloc(1, sizeof *s);
    if (s == NULL) {
        *why = "UDP: out of memory for a NAT socket";
        return NULL;
    }
    *s = (vk_user_nat_sock){.u = u, .family = flow->family, .proto = VK_IP_PROTO_UDP,
                            .gaddr4 = flow->src4, .gaddr6 = flow->src6,
                            .gport = flow->src_port, .tos = tos};
    int r = u->world->ops->udp_open(u->world, flow, NULL, &udp_events, s, &s->ws, now);
    if (r != VK_OK) {
        free(s);
        u->st.udp_world_errors++;
        *why = r == VK_EFULL ? "UDP: no host socket (descriptors exhausted)"
                             : "UDP: the world refused a socket";
        return NULL;
    }
    *free_slot = s;
    u->st.udp_sockets++;
    return s;
}

static void quote_error(vk_user *u, const vk_world_flow *flow, const uint8_t *raw,
                        size_t raw_len, bool ttl, uint64_t now)
{
    size_t n = raw_len < VK_USER_ICMP_QUOTE_MAX ? raw_len : VK_USER_ICMP_QUOTE_MAX;
    if (flow->family == 4)
        vk_user_icmp_error4(u, raw, n, ttl ? VK_ICMP_TIME_EXCEEDED : VK_ICMP_DEST_UNREACH,
                            ttl ? 0 : VK_ICMP_UNREACH_NET, u->cfg.host, now);
    else
        vk_user_icmp_error6(u, raw, raw_len, ttl ? VK_ICMPV6_TIME_EXCEEDED : VK_ICMPV6_DEST_UNREACH,
                            0, now);
}

/* One guest datagram for the outside; raw/raw_len is its IP datagram. */
static int nat_output(vk_user *u, const vk_user_rx *rx, const vk_world_flow *flow, uint8_t ttl,
                      uint8_t tos, const vk_udp_repr *udp, const uint8_t *raw, size_t raw_len)
{
    if (ttl <= 1) {
        quote_error(u, flow, raw, raw_len, true, rx->now);
        return vk_user_drop(u, rx, "UDP: TTL exceeded on the way out");
    }
    bool dns = flow->family == 4 ? ip4_eq(flow->dst4, u->cfg.dns)
                                 : ip6_eq(&flow->dst6, &u->cfg.dns6);
    if (dns && flow->dst_port == 53)
        u->st.dns_queries++;
    vk_waddr dst;
    if (vk_user_nat_dst(u, flow, &dst, rx->now) != VK_OK) {
        quote_error(u, flow, raw, raw_len, false, rx->now);
        return vk_user_drop(u, rx, dns ? "UDP: DNS address: not port 53 or no upstream resolver"
                                       : "UDP: destination refused by the NAT");
    }
    const char *why = NULL;
    vk_user_nat_sock *s = sock_for(u, flow, tos, rx->now, &why);
    if (s == NULL)
        return vk_user_drop(u, rx, why);
    if (s->hostfwd && dst.family != s->peer.family && s->peer.family != 0)
        dst = s->peer;
    s->faddr4 = flow->dst4;
    s->faddr6 = flow->dst6;
    s->fport = flow->dst_port;
    int r = u->world->ops->sendto(u->world, s->ws, &dst, udp->payload, udp->payload_len,
                                  (uint8_t)(ttl - 1), rx->now);
    if (r == VK_EAGAIN)
        return vk_user_drop(u, rx, "UDP: host socket buffer full");
    if (r != VK_OK) {
        quote_error(u, flow, raw, raw_len, false, rx->now);
        return vk_user_drop(u, rx, "UDP: send to the outside failed");
    }
    s->last_len = raw_len < sizeof s->last ? raw_len : sizeof s->last;
    memcpy(s->last, raw, s->last_len);
    if (!s->hostfwd)
        s->expires = rx->now + VK_USER_UDP_EXPIRE_NS;
    vk_user_nat_schedule(u);
    u->st.udp_out++;
    return VK_OK;
}

static int to_world(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                    const vk_udp_repr *udp, const uint8_t *raw, size_t raw_len)
{
    if (u->cfg.restricted)
        return vk_user_drop(u, rx, "user: restrict=on: UDP to the outside");
    if (vk_ip4_is_broadcast(ip->dst))
        return vk_user_drop(u, rx, "UDP: broadcast to a port the stack does not serve");
    if (vk_user_world_is_none(u))
        return vk_user_to_world4(u, rx, ip, udp->src_port, udp->dst_port, raw, raw_len);
    vk_world_flow flow = {.family = 4, .proto = VK_IP_PROTO_UDP, .src4 = ip->src,
                          .dst4 = ip->dst, .src_port = udp->src_port,
                          .dst_port = udp->dst_port};
    return nat_output(u, rx, &flow, ip->ttl, ip->tos, udp, raw, raw_len);
}

int vk_user_udp_input(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                      const uint8_t *raw, size_t raw_len)
{
    vk_udp_repr udp;
    if (vk_udp_parse(ip->payload, ip->payload_len, &udp) != VK_OK)
        return vk_user_drop(u, rx, "UDP: bad length");
    size_t seg = VK_UDP_HLEN + udp.payload_len;
    if (!vk_udp_csum_ok(vk_csum_pseudo4(&ip->src, &ip->dst, VK_IP_PROTO_UDP), ip->payload,
                        seg, true))
        return vk_user_drop(u, rx, "UDP: bad checksum");
    bool to_gw = ip4_eq(ip->dst, u->cfg.host);
    if (udp.dst_port == VK_UDP_PORT_BOOTPS && (to_gw || vk_ip4_is_broadcast(ip->dst)))
        return vk_user_dhcp_input(u, rx, ip, &udp);
    if (udp.dst_port == VK_UDP_PORT_TFTP && to_gw)
        return vk_user_tftp_input(u, rx, ip, &udp);
    return to_world(u, rx, ip, &udp, raw, raw_len);
}

int vk_user_udp6_input(vk_user *u, const vk_user_rx *rx, const vk_ipv6_repr *ip)
{
    vk_udp_repr udp;
    if (vk_udp_parse(ip->payload, ip->payload_len, &udp) != VK_OK)
        return vk_user_drop(u, rx, "UDP: bad length");
    if (!vk_udp_csum_ok(vk_csum_pseudo6(&ip->src, &ip->dst, VK_IP_PROTO_UDP), ip->payload,
                        VK_UDP_HLEN + udp.payload_len, false))
        return vk_user_drop(u, rx, "UDP: bad checksum");
    if (u->cfg.restricted)
        return vk_user_drop(u, rx, "user: restrict=on: UDP to the outside");
    vk_world_flow flow = {.family = 6, .proto = VK_IP_PROTO_UDP, .src6 = ip->src,
                          .dst6 = ip->dst, .src_port = udp.src_port, .dst_port = udp.dst_port};
    size_t raw_len = ip->hdr_len + ip->payload_len;
    if (vk_user_world_is_none(u))
        return vk_user_to_world(u, rx, &flow, rx->eth.payload, raw_len);
    return nat_output(u, rx, &flow, ip->hop_limit, 0, &udp, rx->eth.payload, raw_len);
}

/* ---- hostfwd=udp ---- */

int vk_user_udp_hostfwd_start(vk_user *u, vk_diag *d)
{
    uint64_t now = vk_loop_now(u->loop);
    for (size_t i = 0; i < u->cfg.hostfwd_n; i++) {
        const vk_user_hostfwd *f = &u->cfg.hostfwd[i];
        if (!f->udp)
            continue;
        if (vk_user_world_is_none(u))
            return VK_OK; /* nothing to bind with: a replay without a world */
        size_t slot = 0;
        while (slot < VK_USER_UDP_SOCKETS_MAX && u->udp[slot] != NULL)
            slot++;
        if (slot == VK_USER_UDP_SOCKETS_MAX)
            return vk_diag_set(d, VK_EFULL, "hostfwd=udp: too many UDP sockets");
        vk_user_nat_sock *s = calloc(1, sizeof *s);
        if (s == NULL)
            return vk_diag_set(d, VK_ENOMEM, "hostfwd=udp: out of memory");
        *s = (vk_user_nat_sock){.u = u, .family = f->guest.family, .proto = VK_IP_PROTO_UDP,
                                .gaddr4 = f->guest.ip4, .gaddr6 = f->guest.ip6,
                                .gport = f->guest.port, .hostfwd = true};
        vk_world_flow flow = {.family = f->guest.family, .proto = VK_IP_PROTO_UDP,
                              .src4 = f->guest.ip4, .src6 = f->guest.ip6,
                              .src_port = f->guest.port};
        int r = u->world->ops->udp_open(u->world, &flow, &f->host, &udp_events, s, &s->ws, now);
        if (r != VK_OK) {
            free(s);
            char a[VK_IP6_STRLEN];
            if (f->host.family == 6)
                vk_ip6_format(&f->host.ip6, a);
            else
                vk_ip4_format(&f->host.ip4, a);
            return vk_diag_set(d, r,
                               "hostfwd=udp: could not set up host forwarding rule: "
                               "cannot bind %s port %u: %s",
                               a, (unsigned)f->host.port,
                               r == VK_EEXIST ? "address already in use" : vk_strerror(r));
        }
        u->udp[slot] = s;
        u->st.udp_sockets++;
    }
    return VK_OK;
}
