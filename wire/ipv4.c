/* IPv4 header parse and emit (see ipv4.h). */
#include "wire/ipv4.h"

#include "core/error.h"
#include "wire/buf.h"
#include "wire/checksum.h"

#include <string.h>

static int parse(const uint8_t *p, size_t len, vk_ipv4_repr *out, bool quoted)
{
    if (len < VK_IPV4_MIN_HLEN)
        return VK_ETRUNC;
    if (p[0] >> 4 != 4)
        return VK_EFORMAT;
    size_t hl = (size_t)(p[0] & 0x0f) * 4;
    if (hl < VK_IPV4_MIN_HLEN)
        return VK_EFORMAT;
    if (hl > len)
        return VK_ETRUNC;
    size_t total = vk_get_be16(p + 2);
    if (total < hl)
        return VK_EFORMAT;
    size_t avail = total;
    if (total > len) {
        if (!quoted)
            return VK_ETRUNC;
        avail = len;
    }
    memset(out, 0, sizeof(*out));
    out->tos = p[1];
    out->total_len = total;
    out->id = vk_get_be16(p + 4);
    uint16_t frag = vk_get_be16(p + 6);
    out->df = (frag & 0x4000) != 0;
    out->mf = (frag & 0x2000) != 0;
    out->frag_off = (uint16_t)((frag & 0x1fff) * 8);
    out->ttl = p[8];
    out->proto = p[9];
    out->csum = vk_get_be16(p + 10);
    out->csum_ok = vk_csum(p, hl) == 0;
    memcpy(out->src.b, p + 12, 4);
    memcpy(out->dst.b, p + 16, 4);
    out->options = p + VK_IPV4_MIN_HLEN;
    out->options_len = hl - VK_IPV4_MIN_HLEN;
    out->hdr_len = hl;
    out->payload = p + hl;
    out->payload_len = avail - hl;
    return VK_OK;
}

int vk_ipv4_parse(const uint8_t *p, size_t len, vk_ipv4_repr *out)
{
    return parse(p, len, out, false);
}

int vk_ipv4_parse_quoted(const uint8_t *p, size_t len, vk_ipv4_repr *out)
{
    return parse(p, len, out, true);
}

int vk_ipv4_emit(const vk_ipv4_repr *r, uint8_t *buf, size_t cap, size_t *written)
{
    if (r->options_len % 4 != 0 || r->options_len > VK_IPV4_MAX_OPTIONS_LEN)
        return VK_EINVAL;
    if (r->frag_off % 8 != 0 || r->frag_off / 8 > 0x1fff)
        return VK_EINVAL;
    size_t hl = VK_IPV4_MIN_HLEN + r->options_len;
    if (r->payload_len > 0xffff - hl)
        return VK_ERANGE;
    if (cap < hl + r->payload_len)
        return VK_EFULL;
    uint16_t frag = (uint16_t)(r->frag_off / 8);
    if (r->df)
        frag |= 0x4000;
    if (r->mf)
        frag |= 0x2000;
    buf[0] = (uint8_t)(0x40 | hl / 4);
    buf[1] = r->tos;
    vk_put_be16(buf + 2, (uint16_t)(hl + r->payload_len));
    vk_put_be16(buf + 4, r->id);
    vk_put_be16(buf + 6, frag);
    buf[8] = r->ttl;
    buf[9] = r->proto;
    vk_put_be16(buf + 10, 0);
    memcpy(buf + 12, r->src.b, 4);
    memcpy(buf + 16, r->dst.b, 4);
    if (r->options_len > 0)
        memmove(buf + VK_IPV4_MIN_HLEN, r->options, r->options_len);
    vk_put_be16(buf + 10, vk_csum(buf, hl));
    if (r->payload != NULL && r->payload != buf + hl && r->payload_len > 0)
        memmove(buf + hl, r->payload, r->payload_len);
    *written = hl + r->payload_len;
    return VK_OK;
}
