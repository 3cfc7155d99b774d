/* UDP parse and emit (see udp.h). */
#include "wire/udp.h"

#include "core/error.h"
#include "wire/buf.h"
#include "wire/checksum.h"

#include <string.h>

int vk_udp_parse(const uint8_t *p, size_t len, vk_udp_repr *out)
{
    if (len < VK_UDP_HLEN)
        return VK_ETRUNC;
    size_t ulen = vk_get_be16(p + 4);
    if (ulen < VK_UDP_HLEN)
        return VK_EFORMAT;
    if (ulen > len)
        return VK_ETRUNC;
    out->src_port = vk_get_be16(p);
    out->dst_port = vk_get_be16(p + 2);
    out->csum = vk_get_be16(p + 6);
    out->payload = p + VK_UDP_HLEN;
    out->payload_len = ulen - VK_UDP_HLEN;
    return VK_OK;
}

bool vk_udp_csum_ok(uint32_t pseudo, const uint8_t *seg, size_t len, bool zero_ok)
{
    if (len < VK_UDP_HLEN)
        return false;
    if (vk_get_be16(seg + 6) == 0)
        return zero_ok;
    return vk_csum_l4(pseudo, seg, len) == 0;
}

int vk_udp_emit(const vk_udp_repr *r, uint32_t pseudo, uint8_t *buf, size_t cap,
                size_t *written)
{
    if (r->payload_len > 0xffff - VK_UDP_HLEN)
        return VK_ERANGE;
    size_t n = VK_UDP_HLEN + r->payload_len;
    if (cap < n)
        return VK_EFULL;
    vk_put_be16(buf, r->src_port);
    vk_put_be16(buf + 2, r->dst_port);
    vk_put_be16(buf + 4, (uint16_t)n);
    vk_put_be16(buf + 6, 0);
    if (r->payload != NULL && r->payload != buf + VK_UDP_HLEN && r->payload_len > 0)
        memmove(buf + VK_UDP_HLEN, r->payload, r->payload_len);
    uint16_t c = vk_csum_l4(pseudo, buf, n);
    vk_put_be16(buf + 6, c == 0 ? 0xffff : c);
    *written = n;
    return VK_OK;
}
