/*
 * UDP in the user-mode stack: checksum check, then dispatch by destination
 * as libslirp's udp_input: port 67 on the gateway or broadcast to DHCP,
 * port 69 on the gateway to TFTP, everything else (DNS on the DNS address
 * included, for now) to the world.  restrict=on keeps DHCP and TFTP only.
 * Also the output of UDP datagrams the stack originates.
 */
#include "backends/user/user_internal.h"

#include <string.h>

#include "wire/checksum.h"

static bool ip4_eq(vk_ip4 a, vk_ip4 b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

int vk_user_udp_output(vk_user *u, vk_ip4 src, uint16_t sport, vk_ip4 dst, uint16_t dport,
                       uint8_t tos, const uint8_t *data, size_t len, uint64_t now)
{
    vk_udp_repr udp = {.src_port = sport, .dst_port = dport, .payload = data,
                       .payload_len = len};
    size_t n;
    int r = vk_udp_emit(&udp, vk_csum_pseudo4(&src, &dst, VK_IP_PROTO_UDP), u->scratch,
                        sizeof u->scratch, &n);
    if (r != VK_OK)
        return r;
    vk_user_ip4_out o = {.src = src, .dst = dst, .proto = VK_IP_PROTO_UDP, .tos = tos,
                         .ttl = 64, .payload = u->scratch, .len = n};
    return vk_user_ip4_output(u, &o, now);
}

static int to_world(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                    const vk_udp_repr *udp, const uint8_t *raw, size_t raw_len)
{
    if (u->cfg.restricted)
        return vk_user_drop(u, rx, "user: restrict=on: UDP to the outside");
    if (vk_ip4_to_u32(ip->dst) == 0xffffffffu)
        return vk_user_drop(u, rx, "UDP: broadcast to a port the stack does not serve");
    return vk_user_to_world4(u, rx, ip, udp->src_port, udp->dst_port, raw, raw_len);
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
    if (udp.dst_port == VK_UDP_PORT_BOOTPS && (to_gw || vk_ip4_to_u32(ip->dst) == 0xffffffffu))
        return vk_user_dhcp_input(u, rx, ip, &udp);
    if (udp.dst_port == VK_UDP_PORT_TFTP && to_gw)
        return vk_user_tftp_input(u, rx, ip, &udp);
    return to_world(u, rx, ip, &udp, raw, raw_len);
}
