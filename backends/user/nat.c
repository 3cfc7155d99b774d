/*
 * Where a guest flow for the outside really goes, and where the answer seems
 * to come from, as libslirp 4.7's sotranslate_out / sotranslate_in
 * (socket.c); plus the pieces the UDP and ICMP NAT sockets share (their
 * table's expiry timer, closing).
 *
 * Out (libslirp 4.7, read in its source; older libslirp mapped every address
 * of the virtual network to loopback, 4.7 does not):
 *  - the DNS address: port 53 only, to the upstream resolver (dns-upstream=
 *    if set, else the world's: resolv.conf).  Another port, or no upstream
 *    known, is refused (libslirp: EPERM, which the caller turns into ICMP
 *    net unreachable; there is no loopback fallback since libslirp 4.5).
 *  - IPv4: the gateway address and 255.255.255.255 become 127.0.0.1; every
 *    other address, inside the virtual network or not, is used as it is.
 *  - IPv6: every address of the prefix (and ff02::1) becomes ::1.
 * In: a reply to a flow whose destination was in the virtual network shows
 * that destination as its source (the DNS address for DNS; the gateway for
 * host loopback), except that a reply from a real, non-loopback address to a
 * flow for the gateway keeps its real address; the directed broadcast shows
 * the gateway.  Flows to the outside keep the replier's address.
 */
#include "backends/user/user_internal.h"

#include <stdlib.h>
#include <string.h>

static bool ip6_in_prefix(const vk_ip6 *a, const vk_ip6 *net, int prefix)
{
    int full = prefix / 8, rest = prefix % 8;
    if (memcmp(a->b, net->b, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t m = (uint8_t)(0xff << (8 - rest));
    return (a->b[full] & m) == (net->b[full] & m);
}

static bool ip4_eq(vk_ip4 a, vk_ip4 b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static bool ip6_eq(const vk_ip6 *a, const vk_ip6 *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

static const vk_ip6 ip6_loopback = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
static const vk_ip6 ip6_all_nodes = {{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};

static int dns_upstream(vk_user *u, int family, vk_waddr *dst, uint64_t now)
{
    if (u->cfg.has_dns_upstream && u->cfg.dns_upstream.family == family) {
        *dst = u->cfg.dns_upstream;
        return VK_OK;
    }
    vk_waddr a;
    if (u->world->ops->dns_server(u->world, family, &a, now) != VK_OK || a.family != family)
        return VK_ENETUNREACH;
    *dst = a;
    dst->port = 53;
    return VK_OK;
}

int vk_user_nat_dst(vk_user *u, const vk_world_flow *flow, vk_waddr *dst, uint64_t now)
{
    memset(dst, 0, sizeof *dst);
    dst->family = flow->family;
    dst->port = flow->dst_port;
    if (flow->family == 4) {
        dst->ip4 = flow->dst4;
        if (ip4_eq(flow->dst4, u->cfg.dns)) {
            if (flow->dst_port != 53)
                return VK_EPORTUNREACH;
            return dns_upstream(u, 4, dst, now);
        }
        if (ip4_eq(flow->dst4, u->cfg.host) || vk_ip4_is_broadcast(flow->dst4))
            dst->ip4 = vk_ip4_from_u32(0x7f000001u);
        return VK_OK;
    }
    dst->ip6 = flow->dst6;
    if (ip6_eq(&flow->dst6, &u->cfg.dns6)) {
        if (flow->dst_port != 53)
            return VK_EPORTUNREACH;
        return dns_upstream(u, 6, dst, now);
    }
    if (ip6_in_prefix(&flow->dst6, &u->cfg.net6, u->cfg.prefix6) ||
        ip6_eq(&flow->dst6, &ip6_all_nodes))
        dst->ip6 = ip6_loopback;
    return VK_OK;
}

void vk_user_nat_src(const vk_user *u, const vk_user_nat_sock *s, const vk_waddr *from,
                     vk_waddr *out)
{
    *out = *from;
    if (s->family == 4) {
        if (!vk_user_in_net(u, s->faddr4))
            return;
        uint32_t inv = ~vk_ip4_to_u32(u->cfg.mask);
        bool from_loopback = from->family == 4 && vk_ip4_to_u32(from->ip4) == 0x7f000001u;
        if ((vk_ip4_to_u32(s->faddr4) & inv) == inv)
            out->ip4 = u->cfg.host;
        else if (from_loopback || !ip4_eq(s->faddr4, u->cfg.host))
            out->ip4 = s->faddr4;
        out->family = 4;
        if (ip4_eq(s->faddr4, u->cfg.dns)) /* dns-upstream may use another port */
            out->port = s->fport;
        return;
    }
    if (!ip6_in_prefix(&s->faddr6, &u->cfg.net6, u->cfg.prefix6))
        return;
    bool from_loopback = from->family == 6 && ip6_eq(&from->ip6, &ip6_loopback);
    if (from_loopback || !ip6_eq(&s->faddr6, &u->cfg.host6))
        out->ip6 = s->faddr6;
    out->family = 6;
    if (ip6_eq(&s->faddr6, &u->cfg.dns6))
        out->port = s->fport;
}

bool vk_user_world_is_none(const vk_user *u)
{
    return strcmp(u->world->ops->name, "none") == 0;
}

/* ---- the table of UDP and echo sockets ---- */

static void slot_close(vk_user *u, vk_user_nat_sock **slot, uint64_t now)
{
    vk_user_nat_sock *s = *slot;
    if (s->ws != NULL)
        u->world->ops->close(u->world, s->ws, false, now);
    if (s->proto == VK_IP_PROTO_UDP)
        u->st.udp_sockets--;
    free(s->echo);
    free(s);
    *slot = NULL;
}

void vk_user_nat_close(vk_user *u, vk_user_nat_sock *s, uint64_t now)
{
    for (size_t i = 0; i < VK_USER_UDP_SOCKETS_MAX; i++)
        if (u->udp[i] == s) {
            slot_close(u, &u->udp[i], now);
            vk_user_nat_schedule(u);
            return;
        }
    for (size_t i = 0; i < VK_USER_PING_MAX; i++)
        if (u->ping[i] == s) {
            slot_close(u, &u->ping[i], now);
            vk_user_nat_schedule(u);
            return;
        }
}

/* Arms the timer for the first socket to expire (hostfwd sockets never do). */
void vk_user_nat_schedule(vk_user *u)
{
    uint64_t first = VK_TIME_NEVER;
    for (size_t i = 0; i < VK_USER_UDP_SOCKETS_MAX; i++)
        if (u->udp[i] != NULL && !u->udp[i]->hostfwd && u->udp[i]->expires < first)
            first = u->udp[i]->expires;
    for (size_t i = 0; i < VK_USER_PING_MAX; i++)
        if (u->ping[i] != NULL && u->ping[i]->expires < first)
            first = u->ping[i]->expires;
    if (first == VK_TIME_NEVER)
        vk_timer_cancel(u->nat_timer);
    else
        vk_timer_arm(u->nat_timer, first);
}

static void nat_timer_cb(void *arg, uint64_t now)
{
    vk_user *u = arg;
    for (size_t i = 0; i < VK_USER_UDP_SOCKETS_MAX; i++)
        if (u->udp[i] != NULL && !u->udp[i]->hostfwd && u->udp[i]->expires <= now) {
            slot_close(u, &u->udp[i], now);
            u->st.udp_expired++;
        }
    for (size_t i = 0; i < VK_USER_PING_MAX; i++)
        if (u->ping[i] != NULL && u->ping[i]->expires <= now) {
            slot_close(u, &u->ping[i], now);
            u->st.ping_expired++;
        }
    vk_user_nat_schedule(u);
}

int vk_user_nat_init(vk_user *u)
{
    u->nat_timer = vk_timer_new(u->loop, nat_timer_cb, u);
    return u->nat_timer != NULL ? VK_OK : VK_ENOMEM;
}

void vk_user_nat_cleanup(vk_user *u)
{
    uint64_t now = vk_loop_now(u->loop);
    for (size_t i = 0; i < VK_USER_UDP_SOCKETS_MAX; i++)
        if (u->udp[i] != NULL)
            slot_close(u, &u->udp[i], now);
    for (size_t i = 0; i < VK_USER_PING_MAX; i++)
        if (u->ping[i] != NULL)
            slot_close(u, &u->ping[i], now);
    vk_timer_free(u->nat_timer);
    u->nat_timer = NULL;
}
