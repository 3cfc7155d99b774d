/*
 * ICMPv4 in the user-mode stack.  Echo requests to the gateway or DNS
 * address are reflected as libslirp's icmp_reflect does: same id, seq,
 * code and data, addresses swapped, TTL 255, the request's TOS and DF, a
 * fresh IP id.  Other ICMP to the stack is dropped with a reason; ICMP for
 * the outside goes to the world (refused under restrict=on).
 */
#include "backends/user/user_internal.h"

#include <string.h>

#include "wire/icmp.h"

#define ICMP_REPLY_TTL 255 /* libslirp MAXTTL */

static bool is_own(const vk_user *u, vk_ip4 a)
{
    return memcmp(&a, &u->cfg.host, sizeof a) == 0 || memcmp(&a, &u->cfg.dns, sizeof a) == 0;
}

static int echo_reply(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                      const vk_icmp_repr *req)
{
    if (vk_ip4_to_u32(ip->src) == 0)
        return vk_user_drop(u, rx, "ICMP: echo request from 0.0.0.0");
    vk_icmp_repr rep = {.type = VK_ICMP_ECHO_REPLY, .code = req->code, .id = req->id,
                        .seq = req->seq, .data = req->data, .data_len = req->data_len};
    size_t n;
    if (vk_icmp_emit(&rep, u->scratch, sizeof u->scratch, &n) != VK_OK)
        return vk_user_drop(u, rx, "ICMP: echo reply does not fit");
    vk_user_ip4_out o = {.src = ip->dst, .dst = ip->src, .proto = VK_IP_PROTO_ICMP,
                         .tos = ip->tos, .ttl = ICMP_REPLY_TTL, .df = ip->df,
                         .payload = u->scratch, .len = n};
    if (vk_user_ip4_output(u, &o, rx->now) != VK_OK)
        return vk_user_drop(u, rx, "ICMP: echo reply larger than the MTU with DF");
    u->st.icmp_echo_replies++;
    return VK_OK;
}

static int to_world(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                    const uint8_t *raw, size_t raw_len)
{
    if (u->cfg.restricted)
        return vk_user_drop(u, rx, "user: restrict=on: ICMP to the outside");
    return vk_user_to_world4(u, rx, ip, 0, 0, raw, raw_len);
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
        return to_world(u, rx, ip, raw, raw_len);
    if (icmp.type != VK_ICMP_ECHO_REQUEST)
        return vk_user_drop(u, rx, "ICMP: only echo requests are answered");
    return echo_reply(u, rx, ip, &icmp);
}

/* libslirp's ICMP_MAXDATALEN: IP_MSS (576) - 28. */
#define ICMP_ERROR_QUOTE_MAX 548

/* As libslirp's icmp_send_error: from the gateway address, TTL 255, the
 * offending packet's TOS with the precedence bits of network control. */
int vk_user_icmp_unreach(vk_user *u, const uint8_t *ip, size_t len, uint8_t code, uint64_t now)
{
    vk_ipv4_repr orig;
    if (vk_ipv4_parse_quoted(ip, len, &orig) != VK_OK)
        return VK_EINVAL;
    size_t q = len < ICMP_ERROR_QUOTE_MAX ? len : ICMP_ERROR_QUOTE_MAX;
    vk_icmp_repr r = {.type = VK_ICMP_DEST_UNREACH, .code = code, .data = ip, .data_len = q};
    size_t n;
    int err = vk_icmp_emit(&r, u->scratch, sizeof u->scratch, &n);
    if (err != VK_OK)
        return err;
    vk_user_ip4_out o = {.src = u->cfg.host, .dst = orig.src, .proto = VK_IP_PROTO_ICMP,
                         .tos = (uint8_t)((orig.tos & 0x1e) | 0xc0), .ttl = ICMP_REPLY_TTL,
                         .payload = u->scratch, .len = n};
    return vk_user_ip4_output(u, &o, now);
}
