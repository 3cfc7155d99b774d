/* Ethernet II and 802.1Q header parse and emit (see ethernet.h). */
#include "wire/ethernet.h"

#include "core/error.h"
#include "wire/buf.h"

#include <string.h>

int vk_eth_parse(const uint8_t *p, size_t len, vk_eth_repr *out)
{
    if (len < VK_ETH_HLEN)
        return VK_ETRUNC;
    memset(out, 0, sizeof(*out));
    memcpy(out->dst.b, p, 6);
    memcpy(out->src.b, p + 6, 6);
    out->ethertype = vk_get_be16(p + 12);
    out->hdr_len = VK_ETH_HLEN;
    /* One tag only: a stacked tag shows up as ethertype 0x8100 again and
     * the caller treats it as an unknown payload. */
    if (out->ethertype == VK_ETHERTYPE_VLAN) {
        if (len < VK_ETH_VLAN_HLEN)
            return VK_ETRUNC;
        out->has_vlan = true;
        out->vlan_tci = vk_get_be16(p + 14);
        out->ethertype = vk_get_be16(p + 16);
        out->hdr_len = VK_ETH_VLAN_HLEN;
    }
    out->payload = p + out->hdr_len;
    out->payload_len = len - out->hdr_len;
    return VK_OK;
}

int vk_eth_emit(const vk_eth_repr *r, uint8_t *buf, size_t cap, size_t *written)
{
    vk_wr w;
    vk_wr_init(&w, buf, cap);
    vk_wr_bytes(&w, r->dst.b, 6);
    vk_wr_bytes(&w, r->src.b, 6);
    if (r->has_vlan) {
        vk_wr_u16be(&w, VK_ETHERTYPE_VLAN);
        vk_wr_u16be(&w, r->vlan_tci);
    }
    vk_wr_u16be(&w, r->ethertype);
    uint8_t *pl = vk_wr_reserve(&w, r->payload_len);
    int err = vk_wr_status(&w);
    if (err != VK_OK)
        return err;
    if (r->payload != NULL && r->payload != pl && r->payload_len > 0)
        memmove(pl, r->payload, r->payload_len);
    *written = w.off;
    return VK_OK;
}

uint32_t vk_eth_fcs(const uint8_t *p, size_t len)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

unsigned vk_eth_mcast_hash6(const uint8_t mac[6])
{
    /* bits in wire order (LSB of each byte first), register shifted left */
    uint32_t crc = 0xffffffffu;
    for (unsigned i = 0; i < 6; i++) {
        uint8_t b = mac[i];
        for (unsigned j = 0; j < 8; j++, b >>= 1) {
            uint32_t carry = (crc >> 31) ^ (b & 1u);
            crc <<= 1;
            if (carry)
                crc ^= 0x04c11db7u;
        }
    }
    return crc >> 26;
}
