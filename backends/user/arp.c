/*
 * ARP for the user-mode stack (libslirp's arp_input/arp_table/if_encap4).
 * Requests for the gateway, DNS or a guestfwd server address are answered
 * with 52:55 + the asked address, in a 64-byte frame (libslirp pads its ARP replies itself).
 * The guest's MAC is learnt from ARP, DHCP and IPv4 source addresses into a
 * small table that evicts round-robin.  A frame for an address not in the
 * table is held (bounded) while an ARP request goes out; it is sent when the
 * reply comes, or dropped after VK_USER_HOLD_NS, as libslirp does.  The
 * same queue holds IPv6 frames while ip6.c solicits their neighbor.
 */
#include "backends/user/user_internal.h"

#include <string.h>

#include "core/net.h"
#include "wire/arp.h"

#define ARP_REPLY_FRAME_LEN 64 /* libslirp: MAX(14 + 28, 64) */

static bool ip4_eq(vk_ip4 a, vk_ip4 b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static vk_user_arp_entry *arp_find(vk_user *u, vk_ip4 ip)
{
    for (size_t i = 0; i < VK_USER_ARP_TABLE_SIZE; i++)
        if (u->arp[i].used && ip4_eq(u->arp[i].ip, ip))
            return &u->arp[i];
    return NULL;
}

/* Sends the frames held for (family, ip4 or ip6) to mac, in slot order. */
static void send_held_for(vk_user *u, int family, vk_ip4 ip, const vk_ip6 *ip6,
                          const vk_mac *mac)
{
    for (size_t i = 0; i < VK_USER_HOLD_MAX; i++) {
        vk_user_held *h = &u->held[i];
        if (h->f == NULL || h->family != family ||
            (family == 4 ? !ip4_eq(h->dst, ip) : memcmp(h->dst6.b, ip6->b, 16) != 0))
            continue;
        memcpy(h->f->data, mac->b, 6);
        vk_user_send(u, h->f);
        vk_frame_unref(h->f);
        h->f = NULL;
    }
}

void vk_user_arp_learn(vk_user *u, vk_ip4 ip, const vk_mac *mac)
{
    if (vk_ip4_to_u32(ip) == 0 || vk_mac_is_multicast(mac))
        return;
    vk_user_arp_entry *e = arp_find(u, ip);
    if (e == NULL) {
        e = &u->arp[u->arp_next];
        if (e->used)
            u->st.arp_table_evictions++;
        u->arp_next = (u->arp_next + 1) % VK_USER_ARP_TABLE_SIZE;
        e->used = true;
        e->ip = ip;
    }
    e->mac = *mac;
    send_held_for(u, 4, ip, NULL, mac);
}

void vk_user_nd_learnt(vk_user *u, const vk_ip6 *ip, const vk_mac *mac)
{
    send_held_for(u, 6, vk_ip4_from_u32(0), ip, mac);
}

/* The addresses libslirp's arp_input answers for: the gateway, the DNS
 * address and every guestfwd (and smb) server. */
static bool is_own_ip(const vk_user *u, vk_ip4 a)
{
    if (ip4_eq(a, u->cfg.host) || ip4_eq(a, u->cfg.dns))
        return true;
    for (size_t i = 0; i < u->cfg.guestfwd_n; i++)
        if (ip4_eq(a, u->cfg.guestfwd[i].server))
            return true;
    return false;
}

static int arp_reply(vk_user *u, const vk_user_rx *rx, const vk_arp_repr *req)
{
    vk_frame *f = vk_frame_new(NULL, ARP_REPLY_FRAME_LEN);
    if (f == NULL)
        return vk_user_drop(u, rx, "user: out of memory");
    vk_mac mine = vk_user_mac4(req->tpa);
    vk_eth_repr eth = {.dst = rx->eth.src, .src = mine, .ethertype = VK_ETHERTYPE_ARP};
    vk_arp_repr rep = {.op = VK_ARP_OP_REPLY, .sha = mine, .spa = req->tpa,
                       .tha = req->sha, .tpa = req->spa};
    size_t n;
    if (vk_eth_emit(&eth, f->data, f->len, &n) != VK_OK ||
        vk_arp_emit(&rep, f->data + VK_ETH_HLEN, f->len - VK_ETH_HLEN, &n) != VK_OK) {
        vk_frame_unref(f);
        return vk_user_drop(u, rx, "user: cannot build ARP reply");
    }
    u->st.arp_replies++;
    vk_user_send(u, f);
    vk_frame_unref(f);
    return VK_OK;
}

int vk_user_arp_input(vk_user *u, const vk_user_rx *rx)
{
    vk_arp_repr a;
    int r = vk_arp_parse(rx->eth.payload, rx->eth.payload_len, &a);
    if (r == VK_ETRUNC)
        return vk_user_drop(u, rx, "ARP: truncated");
    if (r != VK_OK)
        return vk_user_drop(u, rx, "ARP: not Ethernet/IPv4");
    if (a.op == VK_ARP_OP_REPLY) {
        vk_user_arp_learn(u, a.spa, &a.sha);
        return VK_OK;
    }
    if (a.op != VK_ARP_OP_REQUEST)
        return vk_user_drop(u, rx, "ARP: unknown opcode");
    if (ip4_eq(a.tpa, a.spa)) { /* gratuitous */
        vk_user_arp_learn(u, a.spa, &a.sha);
        return VK_OK;
    }
    if (!vk_user_in_net(u, a.tpa) || !is_own_ip(u, a.tpa))
        return vk_user_drop(u, rx, "ARP: not for an address of the stack");
    vk_user_arp_learn(u, a.spa, &a.sha);
    return arp_reply(u, rx, &a);
}

/* libslirp's request: 42 bytes, from the gateway's MAC and address. */
static void send_request(vk_user *u, vk_ip4 target)
{
    uint8_t buf[VK_ETH_HLEN + VK_ARP_LEN];
    vk_mac mine = vk_user_mac4(u->cfg.host);
    vk_eth_repr eth = {.dst = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, .src = mine,
                       .ethertype = VK_ETHERTYPE_ARP};
    vk_arp_repr req = {.op = VK_ARP_OP_REQUEST, .sha = mine, .spa = u->cfg.host,
                       .tpa = target};
    size_t n;
    if (vk_eth_emit(&eth, buf, sizeof buf, &n) != VK_OK ||
        vk_arp_emit(&req, buf + VK_ETH_HLEN, sizeof buf - VK_ETH_HLEN, &n) != VK_OK)
        return;
    u->st.arp_requests_sent++;
    vk_port_send_bytes(u->port, buf, sizeof buf);
}

static void arm_hold_timer(vk_user *u)
{
    uint64_t next = VK_TIME_NEVER;
    for (size_t i = 0; i < VK_USER_HOLD_MAX; i++)
        if (u->held[i].f != NULL && u->held[i].expires < next)
            next = u->held[i].expires;
    if (next == VK_TIME_NEVER)
        vk_timer_cancel(u->hold_timer);
    else
        vk_timer_arm(u->hold_timer, next);
}

static void hold_expire(void *arg, uint64_t now)
{
    vk_user *u = arg;
    for (size_t i = 0; i < VK_USER_HOLD_MAX; i++) {
        vk_user_held *h = &u->held[i];
        if (h->f == NULL || h->expires > now)
            continue;
        if (h->family == 4)
            u->st.arp_hold_expired++;
        else
            u->st.nd_hold_expired++;
        u->st.drops++;
        vk_port_drop_outbound(u->port, h->f,
                              h->family == 4
                                  ? "ARP: no reply from the guest within 1 s"
                                  : "NDP: no neighbor advertisement from the guest within 1 s");
        vk_frame_unref(h->f);
        h->f = NULL;
    }
    arm_hold_timer(u);
}

static bool is_broadcast(const vk_user *u, vk_ip4 dst)
{
    uint32_t v = vk_ip4_to_u32(dst), mask = vk_ip4_to_u32(u->cfg.mask);
    return vk_ip4_is_broadcast(dst) || (vk_user_in_net(u, dst) && (v & ~mask) == ~mask);
}

/* Keeps a reference to h.f in a free slot; false (f dropped, traced) when
 * every slot is taken. */
static bool hold(vk_user *u, vk_user_held h)
{
    size_t slot = VK_USER_HOLD_MAX;
    for (size_t i = 0; i < VK_USER_HOLD_MAX && slot == VK_USER_HOLD_MAX; i++)
        if (u->held[i].f == NULL)
            slot = i;
    if (slot == VK_USER_HOLD_MAX) {
        if (h.family == 4)
            u->st.arp_hold_full++;
        else
            u->st.nd_hold_full++;
        u->st.drops++;
        vk_port_drop_outbound(u->port, h.f,
                              h.family == 4 ? "ARP: hold queue full" : "NDP: hold queue full");
        return false;
    }
    h.f = vk_frame_ref(h.f);
    u->held[slot] = h;
    arm_hold_timer(u);
    return true;
}

void vk_user_arp_resolve_send(vk_user *u, vk_frame *f, vk_ip4 dst, uint64_t now)
{
    if (is_broadcast(u, dst)) {
        memset(f->data, 0xff, 6);
        vk_user_send(u, f);
        return;
    }
    vk_user_arp_entry *e = arp_find(u, dst);
    if (e != NULL) {
        memcpy(f->data, e->mac.b, 6);
        vk_user_send(u, f);
        return;
    }
    if (hold(u, (vk_user_held){.f = f, .family = 4, .dst = dst,
                               .expires = now + VK_USER_HOLD_NS}))
        send_request(u, dst);
}

bool vk_user_nd_hold(vk_user *u, vk_frame *f, const vk_ip6 *dst, uint64_t now)
{
    return hold(u, (vk_user_held){.f = f, .family = 6, .dst6 = *dst,
                                  .expires = now + VK_USER_HOLD_NS});
}

int vk_user_arp_init(vk_user *u)
{
    u->hold_timer = vk_timer_new(u->loop, hold_expire, u);
    return u->hold_timer != NULL ? VK_OK : VK_ENOMEM;
}

void vk_user_arp_cleanup(vk_user *u)
{
    for (size_t i = 0; i < VK_USER_HOLD_MAX; i++) {
        vk_frame_unref(u->held[i].f);
        u->held[i].f = NULL;
    }
    vk_timer_free(u->hold_timer);
    u->hold_timer = NULL;
}
