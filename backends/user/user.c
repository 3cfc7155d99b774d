/*
 * -netdev user: the backend's port, its creation from options, and the
 * Ethernet dispatch.  The stack state (user_internal.h) lives in the port's
 * priv; each protocol has its own file.  Replies are sent synchronously from
 * receive(), as libslirp does for everything answered inside the network.
 *
 * The world behind the NAT: on a live loop the live world (host sockets,
 * world_live.c); on a virtual loop the "none" world, which drops NAT
 * traffic with a counted reason, unless vk_user_set_world() gives another
 * (the recorded world of a replay, a test's scripted world).
 */
#include "backends/user/tcp_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backends.h"
#include "backends/user/world_live.h"
#include "core/net.h"
#include "wire/offload.h"

int vk_user_drop(vk_user *u, const vk_user_rx *rx, const char *reason)
{
    u->st.drops++;
    vk_port_drop(u->port, rx->f, reason);
    return VK_EDROP;
}

vk_mac vk_user_mac4(vk_ip4 a)
{
    vk_mac m = {{0x52, 0x55, a.b[0], a.b[1], a.b[2], a.b[3]}};
    return m;
}

vk_mac vk_user_mac6(const vk_ip6 *a)
{
    vk_mac m = {{0x52, 0x56, a->b[12], a->b[13], a->b[14], a->b[15]}};
    return m;
}

void vk_user_send(vk_user *u, vk_frame *f)
{
    vk_port_send(u->port, f);
}

bool vk_user_in_net(const vk_user *u, vk_ip4 a)
{
    return (vk_ip4_to_u32(a) & vk_ip4_to_u32(u->cfg.mask)) == vk_ip4_to_u32(u->cfg.net);
}

int vk_user_to_world(vk_user *u, const vk_user_rx *rx, const vk_world_flow *flow,
                     const uint8_t *ip, size_t len)
{
    /* Outside traffic that none of the NAT protocols (tcp.c, udp.c, icmp.c)
     * carries: refused, counted (nat_not_implemented) and traced. */
    (void)flow;
    (void)ip;
    (void)len;
    u->st.nat_not_implemented++;
    return vk_user_drop(u, rx, "user: NAT not implemented yet");
}

int vk_user_to_world4(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                      uint16_t sport, uint16_t dport, const uint8_t *raw, size_t raw_len)
{
    vk_world_flow flow = {.family = 4, .proto = ip->proto, .src4 = ip->src, .dst4 = ip->dst,
                          .src_port = sport, .dst_port = dport};
    return vk_user_to_world(u, rx, &flow, raw, raw_len);
}

static int user_receive(vk_port *self, vk_frame *f)
{
    vk_user *u = self->priv;
    vk_user_rx rx = {.f = f, .now = vk_loop_now(u->loop)};
    vk_user_ip6_activity(u, rx.now);
    if (vk_eth_parse(f->data, f->len, &rx.eth) != VK_OK)
        return vk_user_drop(u, &rx, "user: runt Ethernet frame");
    if (rx.eth.has_vlan) /* libslirp sees ethertype 0x8100 and ignores it */
        return vk_user_drop(u, &rx, "user: VLAN-tagged frame");
    switch (rx.eth.ethertype) {
    case VK_ETHERTYPE_ARP:
        if (!u->cfg.ipv4)
            return vk_user_drop(u, &rx, "user: ipv4=off");
        return vk_user_arp_input(u, &rx);
    case VK_ETHERTYPE_IPV4:
        if (!u->cfg.ipv4)
            return vk_user_drop(u, &rx, "user: ipv4=off");
        return vk_user_ip4_input(u, &rx);
    case VK_ETHERTYPE_IPV6:
        if (!u->cfg.ipv6)
            return vk_user_drop(u, &rx, "user: ipv6=off");
        return vk_user_ip6_input(u, &rx);
    default:
        return vk_user_drop(u, &rx, "user: unsupported ethertype");
    }
}

static int user_start(vk_port *self)
{
    vk_user *u = self->priv;
    uint64_t now = vk_loop_now(u->loop);
    vk_diag d = {{0}};
    int r = vk_user_udp_hostfwd_start(u, &d);
    if (r != VK_OK) {
        fprintf(stderr, "vnetkit: -netdev user,id=%s: %s\n", self->id, d.msg);
        return r;
    }
    if (u->cfg.ipv6)
        vk_user_ip6_start(u, now);
    u->started = true;
    return vk_user_tcp_start(u, now);
}

static void user_cleanup(vk_port *self)
{
    vk_user *u = self->priv;
    vk_user_arp_cleanup(u);
    vk_user_frag_cleanup(u);
    vk_user_tftp_cleanup(u);
    vk_user_ip6_cleanup(u);
    vk_user_tcp_cleanup(u);
    vk_user_nat_cleanup(u);
    if (u->world != NULL)
        u->world->ops->free(u->world);
    vk_user_config_free(&u->cfg);
    free(u->scratch);
    free(u->rxbuf);
    u->scratch = u->rxbuf = NULL;
}

static void user_describe(vk_port *self, char *buf, size_t cap)
{
    vk_user *u = self->priv;
    char net[VK_IP4_STRLEN], host[VK_IP4_STRLEN];
    snprintf(buf, cap, "user net=%s/%d host=%s%s%s%s", vk_ip4_format(&u->cfg.net, net),
             u->cfg.prefix, vk_ip4_format(&u->cfg.host, host),
             u->cfg.restricted ? " restrict=on" : "", u->cfg.ipv4 ? "" : " ipv4=off",
             u->cfg.ipv6 ? "" : " ipv6=off");
}

static const vk_port_ops user_ops = {
    .kind = "user",
    .receive = user_receive,
    .cleanup = user_cleanup,
    .describe = user_describe,
    .start = user_start,
};

const vk_user_stats *vk_user_stats_of(const vk_port *p)
{
    if (p == NULL || p->ops != &user_ops)
        return NULL;
    return &((const vk_user *)p->priv)->st;
}

int vk_user_set_world(vk_port *p, vk_world *w)
{
    if (p == NULL || p->ops != &user_ops) {
        if (w != NULL)
            w->ops->free(w);
        return VK_EINVAL;
    }
    vk_user *u = p->priv;
    if (w == NULL)
        return VK_EINVAL;
    vk_user_tcp_close_all(u, vk_loop_now(u->loop)); /* TCP of the old world too */
    vk_user_nat_cleanup(u); /* sockets of the old world go with it */
    int r = vk_user_nat_init(u);
    if (u->world != NULL)
        u->world->ops->free(u->world);
    u->world = w;
    if (r == VK_OK && u->started) {
        vk_diag d = {{0}};
        r = vk_user_udp_hostfwd_start(u, &d);
        if (r != VK_OK)
            fprintf(stderr, "vnetkit: -netdev user,id=%s: %s\n", p->id, d.msg);
    }
    if (r == VK_OK && u->started)
        r = vk_user_tcp_start(u, vk_loop_now(u->loop));
    return r;
}

static int user_init(vk_user *u, vk_port *p, vk_net *net, vk_diag *d)
{
    u->port = p;
    u->loop = vk_net_loop(net);
    u->rng = 0x9e3779b9u;
    if ((u->scratch = malloc(VK_USER_SCRATCH)) == NULL ||
        (u->rxbuf = malloc(VK_USER_RXBUF)) == NULL)
        return VK_ENOMEM;
    /* TCP makes super-segments on the live clock (tcp_conn.c): the net
     * segments them where they cannot pass whole */
    vk_net_set_gso_splitter(net, vk_offload_gso_split);
    if (vk_loop_clock(u->loop) == VK_CLOCK_LIVE) {
        int r = vk_world_live_new(u->loop, NULL, &u->world, d);
        if (r != VK_OK)
            return r;
    } else {
        u->world = vk_world_none_new(u->loop);
    }
    if (u->world == NULL)
        return VK_ENOMEM;
    int r;
    if ((r = vk_user_arp_init(u)) != VK_OK || (r = vk_user_frag_init(u)) != VK_OK ||
        (r = vk_user_tftp_init(u)) != VK_OK || (r = vk_user_ip6_init(u)) != VK_OK ||
        (r = vk_user_tcp_init(u)) != VK_OK || (r = vk_user_nat_init(u)) != VK_OK)
        return r;
    return VK_OK;
}

static int user_create(vk_net *net, const char *id, vk_opts *o, vk_port **out, vk_diag *d)
{
    vk_user_config cfg;
    int r = vk_user_config_parse(&cfg, o, d);
    if (r != VK_OK) {
        vk_user_config_free(&cfg);
        return r;
    }
    vk_port *p;
    r = vk_port_new(net, &user_ops, id, "user", sizeof(vk_user), &p, d);
    if (r != VK_OK) {
        vk_user_config_free(&cfg);
        return r;
    }
    vk_user *u = p->priv;
    u->cfg = cfg;
    vk_diag wd = {{0}};
    if ((r = user_init(u, p, net, &wd)) != VK_OK)
        return vk_diag_set(d, r, "-netdev user,id=%s: %s", id,
                           wd.msg[0] ? wd.msg : vk_strerror(r));
    *out = p;
    return VK_OK;
}

static const char *const user_keys[] = {
    "net", "host", "dns", "dhcpstart", "hostname", "domainname", "dnssearch", "tftp",
    "bootfile", "tftp-server-name", "restrict", "ipv4", "ipv6", "ipv6-net", "ipv6-host",
    "ipv6-dns", "hostfwd", "guestfwd", "smb", "smbserver", "dns-upstream", "mtu", NULL,
};

const vk_netdev_type vk_netdev_user = {
    .name = "user",
    .live = false,
    .keys = user_keys,
    .create = user_create,
};
