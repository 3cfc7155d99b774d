/* ICMPv4 parse and emit (see icmp.h). */
#include "wire/icmp.h"

#include "core/error.h"
#include "wire/buf.h"
#include "wire/checksum.h"

#include <string.h>

int vk_icmp_parse(const uint8_t *p, size_t len, vk_icmp_repr *out)
{
    if (len < VK_ICMP_HLEN)
        return VK_ETRUNC;
    memset(out, 0, sizeof(*out));
    out->type = p[0];
    out->code = p[1];
    out->csum = vk_get_be16(p + 2);
    out->csum_ok = vk_csum(p, len) == 0;
    out->rest = vk_get_be32(p + 4);
    if (vk_icmp_is_echo(out->type)) {
        out->id = vk_get_be16(p + 4);
        out->seq = vk_get_be16(p + 6);
    }
    out->data = p + VK_ICMP_HLEN;
    out->data_len = len - VK_ICMP_HLEN;
    return VK_OK;
}

int vk_icmp_quoted(const vk_icmp_repr *r, vk_ipv4_repr *out)
{
    if (vk_icmp_is_echo(r->type))
        return VK_EFORMAT;
    return vk_ipv4_parse_quoted(r->data, r->data_len, out);
}

int vk_icmp_emit(const vk_icmp_repr *r, uint8_t *buf, size_t cap, size_t *written)
{
    if (cap < VK_ICMP_HLEN || r->data_len > cap - VK_ICMP_HLEN)
        return VK_EFULL;
    buf[0] = r->type;
    buf[1] = r->code;
    vk_put_be16(buf + 2, 0);
    if (vk_icmp_is_echo(r->type)) {
        vk_put_be16(buf + 4, r->id);
        vk_put_be16(buf + 6, r->seq);
    } else {
        vk_put_be32(buf + 4, r->rest);
    }
    if (r->data != NULL && r->data != buf + VK_ICMP_HLEN && r->data_len > 0)
        memmove(buf + VK_ICMP_HLEN, r->data, r->data_len);
    size_t n = VK_ICMP_HLEN + r->data_len;
    vk_put_be16(buf + 2, vk_csum(buf, n));
    *written = n;
    return VK_OK;
}
