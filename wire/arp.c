/* Ethernet/IPv4 ARP parse and emit (see arp.h). */
#include "wire/arp.h"

#include "core/error.h"
#include "wire/buf.h"
#include "wire/ethernet.h"

#include <string.h>

int vk_arp_parse(const uint8_t *p, size_t len, vk_arp_repr *out)
{
    if (len < VK_ARP_LEN)
        return VK_ETRUNC;
    if (vk_get_be16(p) != VK_ARP_HTYPE_ETHER || vk_get_be16(p + 2) != VK_ETHERTYPE_IPV4 ||
        p[4] != 6 || p[5] != 4)
        return VK_EFORMAT;
    out->op = vk_get_be16(p + 6);
    memcpy(out->sha.b, p + 8, 6);
    memcpy(out->spa.b, p + 14, 4);
    memcpy(out->tha.b, p + 18, 6);
    memcpy(out->tpa.b, p + 24, 4);
    return VK_OK;
}

int vk_arp_emit(const vk_arp_repr *r, uint8_t *buf, size_t cap, size_t *written)
{
    vk_wr w;
    vk_wr_init(&w, buf, cap);
    vk_wr_u16be(&w, VK_ARP_HTYPE_ETHER);
    vk_wr_u16be(&w, VK_ETHERTYPE_IPV4);
    vk_wr_u8(&w, 6);
    vk_wr_u8(&w, 4);
    vk_wr_u16be(&w, r->op);
    vk_wr_bytes(&w, r->sha.b, 6);
    vk_wr_bytes(&w, r->spa.b, 4);
    vk_wr_bytes(&w, r->tha.b, 6);
    vk_wr_bytes(&w, r->tpa.b, 4);
    int err = vk_wr_status(&w);
    if (err == VK_OK)
        *written = w.off;
    return err;
}
