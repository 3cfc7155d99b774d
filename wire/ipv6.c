/* IPv6 header parse (with bounded extension-header skipping) and emit. */
#include "wire/ipv6.h"

#include "core/error.h"
#include "wire/buf.h"
#include "wire/ipv4.h"

#include <stdbool.h>
#include <string.h>

/* Headers with the generic (next header, length in 8-byte units) layout
 * that we can skip without understanding them. */
static bool skippable(uint8_t nh)
{
    return nh == VK_IP_PROTO_HOPOPTS || nh == VK_IP_PROTO_ROUTING || nh == VK_IP_PROTO_DSTOPTS;
}

int vk_ipv6_parse(const uint8_t *p, size_t len, vk_ipv6_repr *out)
{
    if (len < VK_IPV6_HLEN)
        return VK_ETRUNC;
    if (p[0] >> 4 != 6)
        return VK_EFORMAT;
    size_t end = VK_IPV6_HLEN + (size_t)vk_get_be16(p + 4);
    if (end > len)
        return VK_ETRUNC;
    memset(out, 0, sizeof(*out));
    uint32_t w0 = vk_get_be32(p);
    out->tclass = (uint8_t)(w0 >> 20);
    out->flow = w0 & 0xfffff;
    out->next_header = p[6];
    out->hop_limit = p[7];
    memcpy(out->src.b, p + 8, 16);
    memcpy(out->dst.b, p + 24, 16);

    uint8_t nh = out->next_header;
    size_t off = VK_IPV6_HLEN;
    for (int n = 0; skippable(nh); n++) {
        if (n == VK_IPV6_MAX_EXT_HDRS)
            return VK_EFORMAT;
        if (end - off < 8)
            return VK_ETRUNC;
        size_t elen = ((size_t)p[off + 1] + 1) * 8;
        if (elen > end - off)
            return VK_ETRUNC;
        nh = p[off];
        off += elen;
    }
    out->proto = nh;
    out->hdr_len = off;
    out->payload = p + off;
    out->payload_len = end - off;
    return VK_OK;
}

int vk_ipv6_emit(const vk_ipv6_repr *r, uint8_t *buf, size_t cap, size_t *written)
{
    if (r->payload_len > 0xffff)
        return VK_ERANGE;
    if (cap < VK_IPV6_HLEN + r->payload_len)
        return VK_EFULL;
    vk_put_be32(buf, 6u << 28 | (uint32_t)r->tclass << 20 | (r->flow & 0xfffff));
    vk_put_be16(buf + 4, (uint16_t)r->payload_len);
    buf[6] = r->next_header;
    buf[7] = r->hop_limit;
    memcpy(buf + 8, r->src.b, 16);
    memcpy(buf + 24, r->dst.b, 16);
    if (r->payload != NULL && r->payload != buf + VK_IPV6_HLEN && r->payload_len > 0)
        memmove(buf + VK_IPV6_HLEN, r->payload, r->payload_len);
    *written = VK_IPV6_HLEN + r->payload_len;
    return VK_OK;
}
