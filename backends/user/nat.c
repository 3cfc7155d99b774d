/*
 * Where a guest flow for the outside really goes (libslirp's
 * sotranslate_out): an address of the virtual network is an alias of the
 * host, so it becomes host loopback (127.0.0.1, ::1), except the DNS address,
 * which becomes the world's upstream resolver for port 53.  Every other
 * address is connected as it is.
 */
#include "backends/user/user_internal.h"

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

int vk_user_nat_dst(vk_user *u, const vk_world_flow *flow, vk_waddr *dst, uint64_t now)
{
    memset(dst, 0, sizeof *dst);
    dst->family = flow->family;
    dst->port = flow->dst_port;
    if (flow->family == 4) {
        dst->ip4 = flow->dst4;
        if (!vk_user_in_net(u, flow->dst4))
            return VK_OK;
        if (memcmp(&flow->dst4, &u->cfg.dns, sizeof flow->dst4) == 0) {
            if (flow->dst_port != 53)
                return VK_EPORTUNREACH;
            int r = u->world->ops->dns_server(u->world, 4, dst, now);
            dst->port = 53;
            return r == VK_ENOENT ? (dst->ip4 = vk_ip4_from_u32(0x7f000001u), VK_OK) : r;
        }
        dst->ip4 = vk_ip4_from_u32(0x7f000001u);
        return VK_OK;
    }
    dst->ip6 = flow->dst6;
    if (!ip6_in_prefix(&flow->dst6, &u->cfg.net6, u->cfg.prefix6))
        return VK_OK;
    if (memcmp(&flow->dst6, &u->cfg.dns6, sizeof flow->dst6) == 0) {
        if (flow->dst_port != 53)
            return VK_EPORTUNREACH;
        int r = u->world->ops->dns_server(u->world, 6, dst, now);
        dst->port = 53;
        if (r != VK_ENOENT)
            return r;
    }
    memset(&dst->ip6, 0, sizeof dst->ip6);
    dst->ip6.b[15] = 1;
    return VK_OK;
}
