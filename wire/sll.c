/* LINUX_SLL and LINUX_SLL2 header readers (see sll.h), through wire/buf.h. */
#include "wire/sll.h"

#include <string.h>

#include "core/error.h"
#include "wire/buf.h"

static int finish(vk_rd *r, const uint8_t *p, vk_sll_repr *out)
{
    if (!vk_rd_ok(r))
        return VK_ETRUNC;
    out->payload = p + r->off;
    out->payload_len = vk_rd_left(r);
    return VK_OK;
}

int vk_sll_parse(const uint8_t *p, size_t len, vk_sll_repr *out)
{
    vk_rd r;
    vk_rd_init(&r, p, len);
    memset(out, 0, sizeof *out);
    out->pkttype = (uint8_t)vk_rd_u16be(&r);
    out->arphrd = vk_rd_u16be(&r);
    out->addr_len = (uint8_t)vk_rd_u16be(&r);
    vk_rd_bytes(&r, out->addr, sizeof out->addr);
    out->protocol = vk_rd_u16be(&r);
    return finish(&r, p, out);
}

int vk_sll2_parse(const uint8_t *p, size_t len, vk_sll_repr *out)
{
    vk_rd r;
    vk_rd_init(&r, p, len);
    memset(out, 0, sizeof *out);
    out->protocol = vk_rd_u16be(&r);
    vk_rd_skip(&r, 2); /* reserved */
    out->ifindex = vk_rd_u32be(&r);
    out->arphrd = vk_rd_u16be(&r);
    out->pkttype = vk_rd_u8(&r);
    out->addr_len = vk_rd_u8(&r);
    vk_rd_bytes(&r, out->addr, sizeof out->addr);
    return finish(&r, p, out);
}
