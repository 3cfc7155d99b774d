/*
 * ICMPv4 in the user-mode stack.  Echo requests to the gateway or DNS
 * address are reflected as libslirp's icmp_reflect does: same id, seq,
 * code and data, addresses swapped, TTL 255, the request's TOS and DF, a
 * fresh IP id.  Other ICMP to the stack is dropped with a reason.
 *
 * Echo requests for the outside (libslirp 4.7 ip_icmp.c icmp_send /
 * sorecvfrom): one ping socket (SOCK_DGRAM, IPPROTO_ICMP) per request, sent
 * to the destination as it is (no alias translation: libslirp's icmp_send
 * does not translate, so a ping to 10.0.2.x other than the gateway and DNS
 * goes to that real address), without setting the TTL.  When the socket
 * answers, the guest gets the reflection of its own request as above (its
 * id, seq and data, not the kernel's rewritten id), and the socket is
 * closed; an error becomes ICMP unreachable (port, host or net as the
 * error says) from the gateway; a failed send is ICMP net unreachable.
 * Unanswered requests expire after 240 s.  IPv6 echo for the outside (which
 * libslirp 4.7 does not implement: "external icmpv6 not supported yet") is
 * served the same way with an ICMPv6 ping socket, a deliberate addition.
 * Differences: at most VK_USER_PING_MAX requests in flight (counted,
 * traced drop); when the kernel refuses ping sockets
 * (net.ipv4.ping_group_range), the request is dropped with that reason
 * where libslirp would try a raw socket, then UDP port 7.  restrict=on
 * drops them.
 *
 * ICMP errors toward the guest follow icmp_forward_error: only for
 * unreachable / time exceeded, never about a non-first fragment, an
 * unspecified-like source or an ICMP error; TOS (tos & 0x1E) | 0xC0, TTL
 * 255, the quoted datagram up to 548 bytes.
 */
#include "backends/user/user_internal.h"

#include <stdlib.h>
#include <string.h>

#include "wire/checksum.h"
#include "wire/icmp.h"
#include "wire/icmpv6.h"

#define ICMP_REPLY_TTL 255 /* libslirp MAXTTL */
#define ICMP_ERROR_TOS_MASK 0x1e
#define ICMP_ERROR_TOS_HIGH 0xc0

static bool is_own(const vk_user *u, vk_ip4 a)
{
    return memcmp(&a, &u->cfg.host, sizeof a) == 0 || memcmp(&a, &u->cfg.dns, sizeof a) == 0;
}

/* icmp_reflect: req (of datagram ip) comes back as an echo reply. */
static int reflect(vk_user *u, const vk_ipv4_repr *ip, const vk_icmp_repr *req, uint64_t now)
{
    vk_icmp_repr rep = {.type = VK_ICMP_ECHO_REPLY, .code = req->code, .id = req->id,
                        .seq = req->seq, .data = req->data, .data_len = req->data_len};
    size_t n;
    if (vk_icmp_emit(&rep, u->scratch, VK_USER_SCRATCH, &n) != VK_OK)
        return VK_EFULL;
    vk_user_ip4_out o = {.src = ip->dst, .dst = ip->src, .proto = VK_IP_PROTO_ICMP,
                         .tos = ip->tos, .ttl = ICMP_REPLY_TTL, .df = ip->df,
                         .payload = u->scratch, .len = n};
    return vk_user_ip4_output(u, &o, now);
}

static int echo_reply(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                      const vk_icmp_repr *req)
{
    if (vk_ip4_to_u32(ip->src) == 0)
        return vk_user_drop(u, rx, "ICMP: echo request from 0.0.0.0");
    int r = reflect(u, ip, req, rx->now);
    if (r == VK_EFULL)
        return vk_user_drop(u, rx, "ICMP: echo reply does not fit");
    if (r != VK_OK)
        return vk_user_drop(u, rx, "ICMP: echo reply larger than the MTU with DF");
    u->st.icmp_echo_replies++;
    return VK_OK;
}

/* ---- ICMP errors toward the guest ---- */

static bool icmp_is_error_type(uint8_t type)
{
    /* the query types of RFC 792/950; everything else counts as an error */
    return !(type == 0 || type == 8 || (type >= 13 && type <= 18));
}

void vk_user_icmp_error4(vk_user *u, const uint8_t *quoted, size_t len, uint8_t type,
                         uint8_t code, vk_ip4 src, uint64_t now)
{
    vk_ipv4_repr q;
    if (vk_ipv4_parse(quoted, len, &q) != VK_OK && vk_ipv4_parse_quoted(quoted, len, &q) != VK_OK)
        return;
    if (q.frag_off != 0)
        return; /* only about the first fragment */
    if ((vk_ip4_to_u32(q.src) & 0x0fffffffu) == 0)
        return; /* source-only address */
    if (q.proto == VK_IP_PROTO_ICMP && (q.payload_len == 0 || icmp_is_error_type(q.payload[0])))
        return;
    size_t n = len < VK_USER_ICMP_QUOTE_MAX ? len : VK_USER_ICMP_QUOTE_MAX;
    uint8_t body[VK_USER_ICMP_QUOTE_MAX];
    memcpy(body, quoted, n);
    vk_icmp_repr e = {.type = type, .code = code, .data = body, .data_len = n};
    size_t w;
    if (vk_icmp_emit(&e, u->scratch, VK_USER_SCRATCH, &w) != VK_OK)
        return;
    vk_user_ip4_out o = {.src = src, .dst = q.src, .proto = VK_IP_PROTO_ICMP,
                         .tos = (uint8_t)((q.tos & ICMP_ERROR_TOS_MASK) | ICMP_ERROR_TOS_HIGH),
                         .ttl = ICMP_REPLY_TTL, .df = q.df, .payload = u->scratch, .len = w};
    if (vk_user_ip4_output(u, &o, now) == VK_OK)
        u->st.icmp_errors_sent++;
}

/* ---- echo requests for the outside ---- */

static void ping_readable(void *ctx, vk_wsock *ws, uint64_t now);
static const vk_wsock_events ping_events = {.readable = ping_readable};

/* The stored request, answered (reflected) or failed; then s is closed. */
static void ping_answer(vk_user *u, vk_user_nat_sock *s, int err, uint64_t now)
{
    if (s->family == 6) {
        vk_ipv6_repr ip;
        vk_icmpv6_repr req;
        if (err != VK_OK) {
            vk_user_icmp_error6(u, s->last, s->last_len, VK_ICMPV6_DEST_UNREACH,
                                err == VK_ENETUNREACH ? 0 : err == VK_EHOSTUNREACH ? 3 : 4, now);
        } else if (vk_ipv6_parse(s->echo, s->echo_len, &ip) == VK_OK &&
                   vk_icmpv6_parse(ip.payload, ip.payload_len, &req) == VK_OK) {
            vk_icmpv6_repr rep = {.type = VK_ICMPV6_ECHO_REPLY, .code = req.code, .id = req.id,
                                  .seq = req.seq, .data = req.data, .data_len = req.data_len};
            size_t n;
            if (vk_icmpv6_emit(&rep, vk_csum_pseudo6(&ip.dst, &ip.src, VK_IP_PROTO_ICMPV6),
                               u->scratch, VK_USER_SCRATCH, &n) == VK_OK &&
                vk_user_ip6_output(u, &ip.dst, &ip.src, VK_IP_PROTO_ICMPV6, 0, u->scratch,
                                   n) == VK_OK)
                u->st.ping_replies++;
        }
        vk_user_nat_close(u, s, now);
        return;
    }
    vk_ipv4_repr ip;
    vk_icmp_repr req;
    if (err != VK_OK) {
        uint8_t code = err == VK_ENETUNREACH    ? VK_ICMP_UNREACH_NET
                       : err == VK_EHOSTUNREACH ? VK_ICMP_UNREACH_HOST
                                                : VK_ICMP_UNREACH_PORT;
        vk_user_icmp_error4(u, s->last, s->last_len, VK_ICMP_DEST_UNREACH, code, u->cfg.host,
                            now);
    } else if (vk_ipv4_parse(s->echo, s->echo_len, &ip) == VK_OK &&
               vk_icmp_parse(ip.payload, ip.payload_len, &req) == VK_OK &&
               reflect(u, &ip, &req, now) == VK_OK) {
        u->st.ping_replies++;
    }
    vk_user_nat_close(u, s, now);
}

static void ping_readable(void *ctx, vk_wsock *ws, uint64_t now)
{
    vk_user_nat_sock *s = ctx;
    vk_user *u = s->u;
    vk_waddr from;
    long n = u->world->ops->recvfrom(u->world, ws, u->rxbuf, VK_USER_RXBUF, &from, now);
    if (n == VK_EAGAIN)
        return;
    /* libslirp: any datagram on the socket is taken as the reply */
    ping_answer(u, s, n < 0 ? (int)n : VK_OK, now);
}

/* Sends the guest's echo request raw (its IP datagram, icmp its message)
 * through a new ping socket. */
static int ping_out(vk_user *u, const vk_user_rx *rx, const vk_world_flow *flow,
                    const uint8_t *icmp, size_t icmp_len, const uint8_t *raw, size_t raw_len)
{
    size_t slot = 0;
    while (slot < VK_USER_PING_MAX && u->ping[slot] != NULL)
        slot++;
    if (slot == VK_USER_PING_MAX) {
        u->st.ping_full++;
        return vk_user_drop(u, rx, "ICMP: too many echo requests in flight (VK_USER_PING_MAX)");
    }
    vk_user_nat_sock *s = calloc(1, sizeof *s);
    if (s == NULL)
        return vk_user_drop(u, rx, "ICMP: out of memory for an echo request");
    *s = (vk_user_nat_sock){.u = u, .family = flow->family, .proto = flow->proto,
                            .gaddr4 = flow->src4, .gaddr6 = flow->src6,
                            .faddr4 = flow->dst4, .faddr6 = flow->dst6};
    s->echo = malloc(raw_len);
    if (s->echo == NULL) {
        free(s);
        return vk_user_drop(u, rx, "ICMP: out of memory for an echo request");
    }
    memcpy(s->echo, raw, raw_len);
    s->echo_len = raw_len;
    s->last_len = raw_len < sizeof s->last ? raw_len : sizeof s->last;
    memcpy(s->last, raw, s->last_len);
    int r = u->world->ops->ping_open(u->world, flow, &ping_events, s, &s->ws, rx->now);
    if (r != VK_OK) {
        free(s->echo);
        free(s);
        return vk_user_drop(u, rx, r == VK_EUNSUPP
                                       ? "ICMP: ping sockets not permitted (net.ipv4.ping_group_range)"
                                   : r == VK_EFULL ? "ICMP: no host socket (descriptors exhausted)"
                                                   : "ICMP: the world refused a ping socket");
    }
    u->ping[slot] = s;
    s->expires = rx->now + VK_USER_UDP_EXPIRE_NS;
    vk_user_nat_schedule(u);
    vk_waddr dst = {.family = flow->family, .ip4 = flow->dst4, .ip6 = flow->dst6};
    r = u->world->ops->sendto(u->world, s->ws, &dst, icmp, icmp_len, 0, rx->now);
    if (r != VK_OK) {
        ping_answer(u, s, VK_ENETUNREACH, rx->now);
        return VK_OK;
    }
    return VK_OK;
}

static int to_world(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                    const vk_icmp_repr *icmp, const uint8_t *raw, size_t raw_len)
{
    if (u->cfg.restricted)
        return vk_user_drop(u, rx, "user: restrict=on: ICMP to the outside");
    if (vk_user_world_is_none(u))
        return vk_user_to_world4(u, rx, ip, 0, 0, raw, raw_len);
    if (icmp->type != VK_ICMP_ECHO_REQUEST)
        return vk_user_drop(u, rx, "ICMP: only echo requests go to the outside");
    if (vk_ip4_to_u32(ip->src) == 0 || vk_ip4_is_broadcast(ip->dst) ||
        vk_ip4_is_multicast_or_reserved(ip->dst))
        return vk_user_drop(u, rx, "ICMP: echo request with an unspecified, broadcast or "
                                   "multicast address");
    vk_world_flow flow = {.family = 4, .proto = VK_IP_PROTO_ICMP, .src4 = ip->src,
                          .dst4 = ip->dst, .src_port = icmp->id};
    return ping_out(u, rx, &flow, ip->payload, ip->payload_len, raw, raw_len);
}

int vk_user_icmp6_echo_out(vk_user *u, const vk_user_rx *rx, const vk_ipv6_repr *ip,
                           const uint8_t *raw, size_t raw_len)
{
    vk_world_flow flow = {.family = 6, .proto = VK_IP_PROTO_ICMPV6, .src6 = ip->src,
                          .dst6 = ip->dst};
    if (vk_user_world_is_none(u))
        return vk_user_to_world(u, rx, &flow, raw, raw_len);
    vk_icmpv6_repr m;
    if (vk_icmpv6_parse(ip->payload, ip->payload_len, &m) != VK_OK)
        return vk_user_drop(u, rx, "ICMPv6: malformed");
    flow.src_port = m.id;
    return ping_out(u, rx, &flow, ip->payload, ip->payload_len, raw, raw_len);
}

int vk_user_icmp_input(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                       const uint8_t *raw, size_t raw_len)
{
    vk_icmp_repr icmp;
    if (vk_icmp_parse(ip->payload, ip->payload_len, &icmp) != VK_OK)
        return vk_user_drop(u, rx, "ICMP: truncated");
    if (!icmp.csum_ok)
        return vk_user_drop(u, rx, "ICMP: bad checksum");
    if (!is_own(u, ip->dst))
        return to_world(u, rx, ip, &icmp, raw, raw_len);
    if (icmp.type != VK_ICMP_ECHO_REQUEST)
        return vk_user_drop(u, rx, "ICMP: only echo requests are answered");
    return echo_reply(u, rx, ip, &icmp);
}

/* The TCP NAT's destination unreachable about the guest's SYN. */
int vk_user_icmp_unreach(vk_user *u, const uint8_t *ip, size_t len, uint8_t code, uint64_t now)
{
    vk_user_icmp_error4(u, ip, len, VK_ICMP_DEST_UNREACH, code, u->cfg.host, now);
    return VK_OK;
}
