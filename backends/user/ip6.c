/*
 * IPv6 and Neighbor Discovery in the user-mode stack, as libslirp's
 * ip6_icmp.c: an RS is answered by an RA to ff02::1 from fe80::2 (hop limit
 * 64, no flags, router lifetime 1800 s, source link-layer option, one prefix
 * ipv6-net with L and A, valid 86400 s, preferred 14400 s, no MTU or RDNSS);
 * an NS for an address of the stack by a solicited NA (R, S, O) with the
 * target link-layer option; echo requests to the stack are reflected.  Every
 * packet has hop limit 255, traffic class and flow label 0, and the MAC
 * 52:56 + the last 4 bytes of its source address.
 *
 * Neighbours are learnt as libslirp learns them: the source of a valid RS, of
 * an NS for an address of the stack, of an NA.  A packet to a neighbour not
 * learnt is held (arp.c's queue, bounded) while an NS for it goes out, and
 * sent when the neighbour is learnt or dropped after 1 s, as libslirp does.
 *
 * Unsolicited RAs go out every 200-600 s (libslirp's NDP_Interval), drawn
 * from a fixed-seed generator so virtual runs repeat.  Unlike libslirp the
 * timer is only re-armed while the guest sends something, so that a run on
 * the virtual clock ends when its input does.
 */
#include "backends/user/user_internal.h"

#include <string.h>

#include "wire/checksum.h"
#include "wire/icmpv6.h"

#define ND_HOP_LIMIT 255
#define RA_CUR_HOP_LIMIT 64       /* NDP_AdvCurHopLimit */
#define RA_ROUTER_LIFETIME 1800   /* NDP_AdvDefaultLifetime */
#define RA_VALID_LIFETIME 86400   /* NDP_AdvValidLifetime */
#define RA_PREFERRED_LIFETIME 14400 /* NDP_AdvPrefLifetime */

static const vk_ip6 all_nodes = {{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};

static bool ip6_eq(const vk_ip6 *a, const vk_ip6 *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

static bool ip6_zero(const vk_ip6 *a)
{
    static const vk_ip6 zero;
    return ip6_eq(a, &zero);
}

/* libslirp's LINKLOCAL_ADDR: fe80::2, whatever ipv6-host is. */
static vk_ip6 link_local(void)
{
    vk_ip6 a = {{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};
    return a;
}

/* libslirp's in6_equal_host: ipv6-host or ipv6-dns, or the interface id of
 * either under fe80::/64 (so fe80::2 and fe80::3 by default). */
static bool is_own6(const vk_user *u, const vk_ip6 *a)
{
    static const uint8_t ll_prefix[8] = {0xfe, 0x80};
    if (ip6_eq(a, &u->cfg.host6) || ip6_eq(a, &u->cfg.dns6))
        return true;
    return memcmp(a->b, ll_prefix, 8) == 0 && (memcmp(a->b + 8, u->cfg.host6.b + 8, 8) == 0 ||
                                               memcmp(a->b + 8, u->cfg.dns6.b + 8, 8) == 0);
}

static void ndp_learn(vk_user *u, const vk_ip6 *ip, const vk_mac *mac)
{
    if (ip6_zero(ip) || vk_ip6_is_multicast(ip) || vk_mac_is_multicast(mac))
        return;
    for (size_t i = 0; i < VK_USER_NDP_TABLE_SIZE; i++)
        if (u->ndp[i].used && ip6_eq(&u->ndp[i].ip, ip)) {
            u->ndp[i].mac = *mac;
            vk_user_nd_learnt(u, ip, mac);
            return;
        }
    vk_user_ndp_entry *e = &u->ndp[u->ndp_next];
    u->ndp_next = (u->ndp_next + 1) % VK_USER_NDP_TABLE_SIZE;
    *e = (vk_user_ndp_entry){.used = true, .ip = *ip, .mac = *mac};
    vk_user_nd_learnt(u, ip, mac);
}

static bool ndp_lookup(const vk_user *u, const vk_ip6 *ip, vk_mac *out)
{
    if (vk_ip6_is_multicast(ip)) {
        *out = (vk_mac){{0x33, 0x33, ip->b[12], ip->b[13], ip->b[14], ip->b[15]}};
        return true;
    }
    for (size_t i = 0; i < VK_USER_NDP_TABLE_SIZE; i++)
        if (u->ndp[i].used && ip6_eq(&u->ndp[i].ip, ip)) {
            *out = u->ndp[i].mac;
            return true;
        }
    return false;
}

static int icmp6_output(vk_user *u, const vk_ip6 *src, const vk_ip6 *dst,
                        const vk_icmpv6_repr *r);

/* libslirp's ndp_send_ns: from ipv6-host to the target's solicited-node
 * group, with ipv6-host's link-layer address. */
static void send_ns(vk_user *u, const vk_ip6 *target)
{
    vk_ip6 group = {{0xff, 0x02, [11] = 0x01, [12] = 0xff, [13] = target->b[13],
                     [14] = target->b[14], [15] = target->b[15]}};
    vk_icmpv6_repr ns = {.type = VK_ICMPV6_NEIGHBOR_SOLICIT, .target = *target,
                         .has_src_ll = true, .src_ll = vk_user_mac6(&u->cfg.host6)};
    icmp6_output(u, &u->cfg.host6, &group, &ns);
}

/* To a neighbour not learnt (from its RS, NS or NA, as libslirp) the packet
 * is held while a solicitation goes out, and sent when the neighbour is
 * learnt, or dropped (traced) after 1 s, as libslirp's if_encap6 does. */
static int ip6_output(vk_user *u, const vk_ip6 *src, const vk_ip6 *dst, uint8_t proto,
                      uint8_t hop_limit, const uint8_t *payload, size_t len, uint16_t gso_mss)
{
    vk_mac dmac = {{0}};
    bool known = ndp_lookup(u, dst, &dmac);
    if (len > u->cfg.mtu - VK_IPV6_HLEN && gso_mss == 0)
        return VK_ERANGE;
    vk_frame *f = vk_frame_new(NULL, VK_ETH_HLEN + VK_IPV6_HLEN + len);
    if (f == NULL)
        return VK_ENOMEM;
    vk_eth_repr eth = {.dst = dmac, .src = vk_user_mac6(src), .ethertype = VK_ETHERTYPE_IPV6};
    vk_ipv6_repr ip = {.next_header = proto, .hop_limit = hop_limit ? hop_limit : ND_HOP_LIMIT,
                       .src = *src, .dst = *dst, .payload = payload, .payload_len = len};
    size_t w;
    int err = vk_eth_emit(&eth, f->data, f->len, &w);
    if (err == VK_OK)
        err = vk_ipv6_emit(&ip, f->data + VK_ETH_HLEN, f->len - VK_ETH_HLEN, &w);
    f->gso_mss = gso_mss;
    if (err == VK_OK && known)
        vk_user_send(u, f);
    else if (err == VK_OK && vk_user_nd_hold(u, f, dst, vk_loop_now(u->loop)))
        send_ns(u, dst);
    vk_frame_unref(f);
    return err;
}

int vk_user_ip6_output(vk_user *u, const vk_ip6 *src, const vk_ip6 *dst, uint8_t proto,
                       uint8_t hop_limit, const uint8_t *payload, size_t len)
{
    return ip6_output(u, src, dst, proto, hop_limit, payload, len, 0);
}

int vk_user_ip6_output_gso(vk_user *u, const vk_ip6 *src, const vk_ip6 *dst,
                           uint8_t hop_limit, const uint8_t *payload, size_t len,
                           uint16_t gso_mss)
{
    return ip6_output(u, src, dst, VK_IP_PROTO_TCP, hop_limit, payload, len, gso_mss);
}

/* Sends an ICMPv6 message r from src to dst. */
static int icmp6_output(vk_user *u, const vk_ip6 *src, const vk_ip6 *dst,
                        const vk_icmpv6_repr *r)
{
    size_t n;
    int err = vk_icmpv6_emit(r, vk_csum_pseudo6(src, dst, VK_IP_PROTO_ICMPV6), u->scratch,
                             VK_USER_SCRATCH, &n);
    if (err != VK_OK)
        return err;
    return vk_user_ip6_output(u, src, dst, VK_IP_PROTO_ICMPV6, ND_HOP_LIMIT, u->scratch, n);
}

/* libslirp's icmp6_send_error: from fe80::2, the quoted packet cut to fit
 * the MTU, never about a multicast or unspecified source. */
void vk_user_icmp_error6(vk_user *u, const uint8_t *quoted, size_t len, uint8_t type,
                         uint8_t code, uint64_t now)
{
    (void)now;
    vk_ipv6_repr q;
    if (len < VK_IPV6_HLEN || vk_ipv6_parse(quoted, len, &q) != VK_OK)
        return;
    if (vk_ip6_is_multicast(&q.src) || ip6_zero(&q.src))
        return;
    size_t max = VK_USER_MTU - VK_IPV6_HLEN - 8;
    size_t n = len < max ? len : max;
    uint8_t body[4 + VK_USER_MTU];
    memset(body, 0, 4);
    memcpy(body + 4, quoted, n);
    vk_icmpv6_repr e = {.type = type, .code = code, .data = body, .data_len = 4 + n};
    vk_ip6 src = link_local();
    if (icmp6_output(u, &src, &q.src, &e) == VK_OK)
        u->st.icmp_errors_sent++;
}

/* The TCP NAT's destination unreachable (code 0 no route, 3 address, 4
 * port) about the guest's SYN. */
int vk_user_icmp6_unreach(vk_user *u, const uint8_t *ip, size_t len, uint8_t code, uint64_t now)
{
    vk_user_icmp_error6(u, ip, len, VK_ICMPV6_DEST_UNREACH, code, now);
    return VK_OK;
}

static void send_ra(vk_user *u)
{
    vk_ip6 src = link_local();
    vk_icmpv6_repr ra = {.type = VK_ICMPV6_ROUTER_ADVERT, .cur_hop_limit = RA_CUR_HOP_LIMIT,
                         .router_lifetime = RA_ROUTER_LIFETIME, .has_src_ll = true,
                         .src_ll = vk_user_mac6(&src), .prefix_count = 1};
    ra.prefix[0] = (vk_nd_prefix){.prefix_len = (uint8_t)u->cfg.prefix6,
                                  .flags = VK_ND_PREFIX_ONLINK | VK_ND_PREFIX_AUTO,
                                  .valid_lifetime = RA_VALID_LIFETIME,
                                  .preferred_lifetime = RA_PREFERRED_LIFETIME,
                                  .prefix = u->cfg.net6};
    if (icmp6_output(u, &src, &all_nodes, &ra) == VK_OK)
        u->st.ra_sent++;
}

static int reply_or_drop(vk_user *u, const vk_user_rx *rx, int err, uint64_t *counter)
{
    if (err == VK_OK) {
        (*counter)++;
        return VK_OK;
    }
    return vk_user_drop(u, rx, "IPv6: cannot build the reply");
}

static int handle_ns(vk_user *u, const vk_user_rx *rx, const vk_ipv6_repr *ip,
                     const vk_icmpv6_repr *ns)
{
    bool dad = ip6_zero(&ip->src);
    if (vk_ip6_is_multicast(&ns->target) || (dad && !vk_ip6_is_multicast(&ip->dst)))
        return vk_user_drop(u, rx, "NDP: malformed neighbor solicitation");
    if (!is_own6(u, &ns->target))
        return vk_user_drop(u, rx, "NDP: solicitation for an address not of the stack");
    ndp_learn(u, &ip->src, &rx->eth.src);
    const vk_ip6 *dst = dad ? &all_nodes : &ip->src;
    vk_icmpv6_repr na = {.type = VK_ICMPV6_NEIGHBOR_ADVERT,
                         .na_flags = VK_ND_NA_ROUTER | VK_ND_NA_OVERRIDE |
                                     (dad ? 0 : VK_ND_NA_SOLICITED),
                         .target = ns->target, .has_tgt_ll = true,
                         .tgt_ll = vk_user_mac6(&ns->target)};
    return reply_or_drop(u, rx, icmp6_output(u, &ns->target, dst, &na), &u->st.na_sent);
}

static int handle_echo(vk_user *u, const vk_user_rx *rx, const vk_ipv6_repr *ip,
                       const vk_icmpv6_repr *req)
{
    vk_icmpv6_repr rep = {.type = VK_ICMPV6_ECHO_REPLY, .code = req->code, .id = req->id,
                          .seq = req->seq, .data = req->data, .data_len = req->data_len};
    return reply_or_drop(u, rx, icmp6_output(u, &ip->dst, &ip->src, &rep),
                         &u->st.echo6_replies);
}

static int handle_nd(vk_user *u, const vk_user_rx *rx, const vk_ipv6_repr *ip,
                     const vk_icmpv6_repr *m)
{
    if (ip->hop_limit != ND_HOP_LIMIT || m->code != 0)
        return vk_user_drop(u, rx, "NDP: hop limit not 255 or code not 0");
    switch (m->type) {
    case VK_ICMPV6_ROUTER_SOLICIT:
        ndp_learn(u, &ip->src, &rx->eth.src);
        send_ra(u);
        return VK_OK;
    case VK_ICMPV6_NEIGHBOR_SOLICIT:
        return handle_ns(u, rx, ip, m);
    case VK_ICMPV6_NEIGHBOR_ADVERT:
        /* libslirp: not for a multicast target, nor solicited to a group */
        if (m->target.b[0] != 0xff &&
            (!vk_ip6_is_multicast(&ip->dst) || !(m->na_flags & VK_ND_NA_SOLICITED)))
            ndp_learn(u, &ip->src, &rx->eth.src);
        return VK_OK;
    default:
        return vk_user_drop(u, rx, "NDP: the guest sent a router-only message");
    }
}

static int icmp6_input(vk_user *u, const vk_user_rx *rx, const vk_ipv6_repr *ip)
{
    if (!vk_icmpv6_csum_ok(vk_csum_pseudo6(&ip->src, &ip->dst, VK_IP_PROTO_ICMPV6),
                           ip->payload, ip->payload_len))
        return vk_user_drop(u, rx, "ICMPv6: bad checksum");
    vk_icmpv6_repr m;
    if (vk_icmpv6_parse(ip->payload, ip->payload_len, &m) != VK_OK)
        return vk_user_drop(u, rx, "ICMPv6: malformed");
    if (m.type >= VK_ICMPV6_ROUTER_SOLICIT && m.type <= VK_ICMPV6_REDIRECT)
        return handle_nd(u, rx, ip, &m);
    if (m.type == VK_ICMPV6_ECHO_REQUEST && is_own6(u, &ip->dst))
        return handle_echo(u, rx, ip, &m);
    if (m.type == VK_ICMPV6_ECHO_REQUEST && !vk_ip6_is_multicast(&ip->dst) && !u->cfg.restricted)
        return vk_user_icmp6_echo_out(u, rx, ip, rx->eth.payload, ip->hdr_len + ip->payload_len);
    return vk_user_drop(u, rx, "ICMPv6: type not served");
}

int vk_user_ip6_input(vk_user *u, const vk_user_rx *rx)
{
    vk_ipv6_repr ip;
    int r = vk_ipv6_parse(rx->eth.payload, rx->eth.payload_len, &ip);
    if (r == VK_ETRUNC)
        return vk_user_drop(u, rx, "IPv6: truncated");
    if (r != VK_OK)
        return vk_user_drop(u, rx, "IPv6: bad header");
    if (ip.proto == VK_IP_PROTO_ICMPV6)
        return icmp6_input(u, rx, &ip);
    if (ip.proto == VK_IP_PROTO_TCP)
        return vk_user_tcp6_input(u, rx, &ip);
    if (ip.proto == VK_IP_PROTO_UDP && ip.dst.b[0] != 0xff && !ip6_zero(&ip.src))
        return vk_user_udp6_input(u, rx, &ip);
    if (is_own6(u, &ip.dst) || vk_ip6_is_multicast(&ip.dst) || u->cfg.restricted ||
        ip.proto != VK_IP_PROTO_UDP)
        return vk_user_drop(u, rx, "IPv6: only ICMPv6 is served by the stack");
    vk_world_flow flow = {.family = 6, .proto = ip.proto, .src6 = ip.src, .dst6 = ip.dst};
    return vk_user_to_world(u, rx, &flow, rx->eth.payload, ip.hdr_len + ip.payload_len);
}

/* xorshift32: a reproducible stand-in for libslirp's g_rand. */
static uint64_t ra_interval(vk_user *u)
{
    uint32_t x = u->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    u->rng = x;
    uint64_t span_ms = (VK_USER_RA_MAX_NS - VK_USER_RA_MIN_NS) / 1000000u;
    return VK_USER_RA_MIN_NS + (uint64_t)(x % span_ms) * 1000000u;
}

static void ra_timer_cb(void *arg, uint64_t now)
{
    vk_user *u = arg;
    send_ra(u);
    if (u->rx_since_ra)
        vk_timer_arm(u->ra_timer, now + ra_interval(u));
    u->rx_since_ra = false;
}

void vk_user_ip6_start(vk_user *u, uint64_t now)
{
    u->rx_since_ra = false;
    vk_timer_arm(u->ra_timer, now + ra_interval(u));
}

/* Called for every received frame: an idle stack's RA timer restarts. */
void vk_user_ip6_activity(vk_user *u, uint64_t now)
{
    u->rx_since_ra = true;
    if (u->cfg.ipv6 && u->ra_timer != NULL && !vk_timer_pending(u->ra_timer))
        vk_timer_arm(u->ra_timer, now + ra_interval(u));
}

int vk_user_ip6_init(vk_user *u)
{
    u->ra_timer = vk_timer_new(u->loop, ra_timer_cb, u);
    return u->ra_timer != NULL ? VK_OK : VK_ENOMEM;
}

void vk_user_ip6_cleanup(vk_user *u)
{
    vk_timer_free(u->ra_timer);
    u->ra_timer = NULL;
}
