/*
 * IPv4 for the user-mode stack: input checks at the door (header, checksum,
 * lengths), reassembly of fragments (ipfrag.c), dispatch to ICMP, UDP and
 * TCP; and the one output path for every IPv4 packet the stack originates.
 * Output uses libslirp's header values: one id counter from 0 for all
 * protocols, the caller's TTL/TOS/DF, the gateway's MAC as Ethernet source
 * (even for packets from the DNS address), and fragmentation above the MTU.
 */
#include "backends/user/user_internal.h"

#include <stdlib.h>
#include <string.h>

#include "wire/checksum.h"

static int dispatch(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                    const uint8_t *raw, size_t raw_len)
{
    switch (ip->proto) {
    case VK_IP_PROTO_ICMP:
        return vk_user_icmp_input(u, rx, ip, raw, raw_len);
    case VK_IP_PROTO_UDP:
        return vk_user_udp_input(u, rx, ip, raw, raw_len);
    case VK_IP_PROTO_TCP:
        return vk_user_tcp_input(u, rx, ip, raw, raw_len);
    default:
        return vk_user_drop(u, rx, "IPv4: unsupported protocol");
    }
}

static int reassembled(vk_user *u, const vk_user_rx *rx, uint8_t *buf, size_t len)
{
    vk_ipv4_repr ip;
    int r = vk_ipv4_parse(buf, len, &ip);
    if (r == VK_OK)
        r = dispatch(u, rx, &ip, buf, len);
    else
        r = vk_user_drop(u, rx, "IPv4: reassembled datagram is malformed");
    free(buf);
    return r;
}

int vk_user_ip4_input(vk_user *u, const vk_user_rx *rx)
{
    vk_ipv4_repr ip;
    int r = vk_ipv4_parse(rx->eth.payload, rx->eth.payload_len, &ip);
    if (r == VK_ETRUNC)
        return vk_user_drop(u, rx, "IPv4: truncated");
    if (r != VK_OK)
        return vk_user_drop(u, rx, "IPv4: bad header");
    if (!ip.csum_ok)
        return vk_user_drop(u, rx, "IPv4: bad header checksum");
    /* As libslirp, the guest's MAC is learnt from ARP and DHCP only: a reply
     * to an address not learnt so waits for an ARP exchange. */
    if (ip.mf || ip.frag_off != 0) {
        uint8_t *whole;
        size_t whole_len;
        r = vk_user_frag_input(u, rx, &ip, &whole, &whole_len);
        return r == 1 ? reassembled(u, rx, whole, whole_len) : r;
    }
    return dispatch(u, rx, &ip, rx->eth.payload, ip.total_len);
}

/* Builds and sends one Ethernet frame carrying one IPv4 packet or fragment. */
static int send_one(vk_user *u, const vk_user_ip4_out *o, uint16_t id, size_t off,
                    size_t len, bool mf, uint64_t now)
{
    vk_frame *f = vk_frame_new(NULL, VK_ETH_HLEN + VK_IPV4_MIN_HLEN + len);
    if (f == NULL)
        return VK_ENOMEM;
    vk_eth_repr eth = {.src = vk_user_mac4(u->cfg.host), .ethertype = VK_ETHERTYPE_IPV4};
    vk_ipv4_repr ip = {.tos = o->tos, .id = id, .df = o->df, .mf = mf,
                       .frag_off = (uint16_t)off, .ttl = o->ttl, .proto = o->proto,
                       .src = o->src, .dst = o->dst, .payload = o->payload + off,
                       .payload_len = len};
    size_t n;
    int r = vk_eth_emit(&eth, f->data, f->len, &n);
    if (r == VK_OK)
        r = vk_ipv4_emit(&ip, f->data + VK_ETH_HLEN, f->len - VK_ETH_HLEN, &n);
    f->gso_mss = o->gso_mss;
    if (r == VK_OK)
        vk_user_arp_resolve_send(u, f, o->dst, now);
    vk_frame_unref(f);
    return r;
}

int vk_user_ip4_output(vk_user *u, const vk_user_ip4_out *o, uint64_t now)
{
    if (vk_ip4_to_u32(o->dst) == 0) /* as libslirp's if_encap4: never a destination */
        return VK_EINVAL;
    uint16_t id = u->ip_id++;
    size_t max = u->cfg.mtu - VK_IPV4_MIN_HLEN;
    if (o->len <= max || o->gso_mss != 0)
        return send_one(u, o, id, 0, o->len, false, now);
    if (o->df)
        return VK_ERANGE;
    size_t step = max & ~(size_t)7;
    for (size_t off = 0; off < o->len; off += step) {
        size_t n = o->len - off < step ? o->len - off : step;
        int r = send_one(u, o, id, off, n, off + n < o->len, now);
        if (r != VK_OK)
            return r;
    }
    return VK_OK;
}
