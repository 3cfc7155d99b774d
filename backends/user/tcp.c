/*
 * TCP in the user-mode stack, part 1: under restrict=on every connection is
 * refused at once with the RST libslirp's tcp_respond sends (RFC 9293
 * 3.10.7.1: RST+ACK acknowledging the segment, or a bare RST with seq = the
 * segment's ack when it carried one; TTL 255, window 0, no options).
 * Otherwise segments go to the world.
 */
#include "backends/user/user_internal.h"

#include "wire/checksum.h"
#include "wire/tcp.h"

#define TCP_RST_TTL 255 /* libslirp MAXTTL */

static int send_reset(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
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
    size_t n;
    if (vk_tcp_emit(&rst, vk_csum_pseudo4(&ip->dst, &ip->src, VK_IP_PROTO_TCP), u->scratch,
                    sizeof u->scratch, &n) != VK_OK)
        return vk_user_drop(u, rx, "TCP: cannot build reset");
    vk_user_ip4_out o = {.src = ip->dst, .dst = ip->src, .proto = VK_IP_PROTO_TCP,
                         .ttl = TCP_RST_TTL, .payload = u->scratch, .len = n};
    vk_user_ip4_output(u, &o, rx->now);
    u->st.tcp_resets++;
    return VK_OK;
}

int vk_user_tcp_input(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                      const uint8_t *raw, size_t raw_len)
{
    vk_tcp_repr seg;
    if (vk_tcp_parse(ip->payload, ip->payload_len, &seg) != VK_OK)
        return vk_user_drop(u, rx, "TCP: bad header");
    if (!vk_tcp_csum_ok(vk_csum_pseudo4(&ip->src, &ip->dst, VK_IP_PROTO_TCP), ip->payload,
                        ip->payload_len))
        return vk_user_drop(u, rx, "TCP: bad checksum");
    if (vk_ip4_to_u32(ip->dst) == 0xffffffffu || ip->dst.b[0] >= 224 ||
        vk_ip4_to_u32(ip->src) == 0)
        return vk_user_drop(u, rx, "TCP: broadcast, multicast or unspecified address");
    if (u->cfg.restricted) {
        if (seg.flags & VK_TCP_RST)
            return vk_user_drop(u, rx, "user: restrict=on: reset for no connection");
        return send_reset(u, rx, ip, &seg);
    }
    return vk_user_to_world4(u, rx, ip, seg.src_port, seg.dst_port, raw, raw_len);
}
