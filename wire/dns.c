/*
 * DNS header and first question (see dns.h).  Labels are copied through the
 * checked reader; pointers may only point before the label that holds them.
 */
#include "wire/dns.h"

#include <string.h>

#include "core/error.h"
#include "wire/buf.h"

static int read_name(const uint8_t *msg, size_t len, vk_rd *r, char *out)
{
    size_t n = 0;
    unsigned jumps = 0;
    vk_rd at = *r;     /* where labels are read now (moves on pointers) */
    bool jumped = false;
    out[0] = '\0';
    for (;;) {
        size_t here = at.off;
        uint8_t l = vk_rd_u8(&at);
        if (!vk_rd_ok(&at))
            return VK_ETRUNC;
        if (l == 0)
            break;
        if ((l & 0xc0) == 0xc0) {
            uint8_t lo = vk_rd_u8(&at);
            if (!vk_rd_ok(&at))
                return VK_ETRUNC;
            size_t to = (size_t)(l & 0x3f) << 8 | lo;
            if (to >= here || ++jumps > VK_DNS_MAX_JUMPS)
                return VK_EFORMAT;
            if (!jumped)
                *r = at;
            jumped = true;
            vk_rd_init(&at, msg, len);
            vk_rd_skip(&at, to);
            continue;
        }
        if (l & 0xc0)
            return VK_EFORMAT;
        const uint8_t *label = vk_rd_take(&at, l);
        if (label == NULL)
            return VK_ETRUNC;
        if (n + (n ? 1u : 0u) + l > VK_DNS_NAME_MAX)
            return VK_EFORMAT;
        if (n)
            out[n++] = '.';
        for (size_t i = 0; i < l; i++) {
            char c = (char)label[i];
            out[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        out[n] = '\0';
    }
    if (!jumped)
        *r = at;
    return VK_OK;
}

int vk_dns_parse_question(const uint8_t *p, size_t len, vk_dns_question *out)
{
    memset(out, 0, sizeof *out);
    vk_rd r;
    vk_rd_init(&r, p, len);
    out->id = vk_rd_u16be(&r);
    uint16_t flags = vk_rd_u16be(&r);
    out->qdcount = vk_rd_u16be(&r);
    vk_rd_skip(&r, 6); /* ancount, nscount, arcount */
    if (!vk_rd_ok(&r))
        return VK_ETRUNC;
    out->response = (flags & 0x8000u) != 0;
    if (out->qdcount == 0)
        return VK_EFORMAT;
    int e = read_name(p, len, &r, out->name);
    if (e != VK_OK)
        return e;
    out->qtype = vk_rd_u16be(&r);
    out->qclass = vk_rd_u16be(&r);
    return vk_rd_ok(&r) ? VK_OK : VK_ETRUNC;
}
