/* Locating the layers of a frame (see packet.h). */
#include "wire/packet.h"

#include <string.h>

#include "core/error.h"
#include "wire/arp.h"
#include "wire/buf.h"
#include "wire/checksum.h"

int vk_pkt_locate(const uint8_t *f, size_t len, vk_pkt *o)
{
    memset(o, 0, sizeof *o);
    if (vk_eth_parse(f, len, &o->eth) != VK_OK)
        return VK_ETRUNC;
    o->l3_off = o->eth.hdr_len;
    const uint8_t *p = f + o->l3_off;
    size_t plen = len - o->l3_off;
    if (o->eth.ethertype == VK_ETHERTYPE_IPV4 && vk_ipv4_parse(p, plen, &o->ip4) == VK_OK) {
        o->l3 = 4;
        o->l3_end = o->l3_off + o->ip4.total_len;
        o->proto = o->ip4.proto;
        o->frag = o->ip4.mf || o->ip4.frag_off != 0;
        o->l4_off = o->frag ? 0 : o->l3_off + o->ip4.hdr_len;
    } else if (o->eth.ethertype == VK_ETHERTYPE_IPV6 && vk_ipv6_parse(p, plen, &o->ip6) == VK_OK) {
        o->l3 = 6;
        o->l3_end = o->l3_off + o->ip6.hdr_len + o->ip6.payload_len;
        o->proto = o->ip6.proto;
        o->frag = o->proto == VK_IP_PROTO_FRAGMENT;
        o->l4_off = o->frag ? 0 : o->l3_off + o->ip6.hdr_len;
    } else if (o->eth.ethertype == VK_ETHERTYPE_ARP && plen >= VK_ARP_LEN) {
        o->l3_end = o->l3_off + VK_ARP_LEN;
    }
    return VK_OK;
}

bool vk_pkt_is_tcp_udp(const vk_pkt *k)
{
    return k->l3 != 0 && !k->frag && k->l4_off != 0 &&
           (k->proto == VK_IP_PROTO_TCP || k->proto == VK_IP_PROTO_UDP);
}

size_t vk_pkt_l4_len(const vk_pkt *k)
{
    return k->l4_off != 0 && k->l3_end > k->l4_off ? k->l3_end - k->l4_off : 0;
}

int vk_pkt_tcp_end(const vk_pkt *k, const uint8_t *frame, size_t *end)
{
    if (k->l3 == 0 || k->frag || k->proto != VK_IP_PROTO_TCP || k->l4_off == 0)
        return VK_EINVAL;
    vk_rd r;
    vk_rd_init(&r, frame + k->l4_off, vk_pkt_l4_len(k));
    vk_rd_skip(&r, 12); /* ports, sequence and acknowledgment numbers */
    size_t hlen = (size_t)(vk_rd_u8(&r) >> 4) * 4;
    if (!vk_rd_ok(&r) || hlen < 20 || hlen > vk_pkt_l4_len(k))
        return VK_EFORMAT;
    *end = k->l4_off + hlen;
    return VK_OK;
}

uint32_t vk_pkt_pseudo(const vk_pkt *k)
{
    return k->l3 == 4 ? vk_csum_pseudo4(&k->ip4.src, &k->ip4.dst, k->proto)
                      : vk_csum_pseudo6(&k->ip6.src, &k->ip6.dst, k->proto);
}
