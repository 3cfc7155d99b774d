/*
 * Ethernet II header: destination, source, ethertype, with at most one
 * 802.1Q tag (TPID 0x8100) recognised.  The parsed view points into the
 * caller's frame; the payload is everything after the header (trailing
 * padding included: the inner protocol's own length field trims it).
 */
#ifndef VK_WIRE_ETHERNET_H
#define VK_WIRE_ETHERNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

#define VK_ETH_HLEN 14
#define VK_ETH_VLAN_HLEN 18
#define VK_ETH_MIN_FRAME 60 /* without FCS; shorter frames are padded */

enum {
    VK_ETHERTYPE_IPV4 = 0x0800,
    VK_ETHERTYPE_ARP = 0x0806,
    VK_ETHERTYPE_VLAN = 0x8100,
    VK_ETHERTYPE_IPV6 = 0x86dd
};

typedef struct vk_eth_repr {
    vk_mac dst;
    vk_mac src;
    uint16_t ethertype; /* the inner type when tagged */
    bool has_vlan;
    uint16_t vlan_tci; /* PCP, DEI and VLAN id as on the wire */
    size_t hdr_len;    /* 14, or 18 with a tag */
    const uint8_t *payload;
    size_t payload_len;
} vk_eth_repr;

/* VK_OK or VK_ETRUNC. */
int vk_eth_parse(const uint8_t *p, size_t len, vk_eth_repr *out);
/* Writes the header (with a tag if has_vlan) then payload_len bytes from
 * payload, unless payload is NULL or already in place: the caller then
 * writes them.  *written = header + payload_len.  VK_EFULL if cap is short. */
int vk_eth_emit(const vk_eth_repr *r, uint8_t *buf, size_t cap, size_t *written);

/* The Ethernet CRC-32 as the FCS carries it (reflected; zlib's crc32). */
uint32_t vk_eth_fcs(const uint8_t *p, size_t len);
/* The 6-bit multicast hash filter index cards with a 64-bit hash table use
 * (rtl8139 MAR, NE2000 MAR): the top 6 bits of the CRC-32 of the
 * destination computed MSB-first (QEMU's net_crc32 >> 26, Linux ether_crc). */
unsigned vk_eth_mcast_hash6(const uint8_t mac[6]);

static inline uint16_t vk_eth_vlan_id(const vk_eth_repr *r)
{
    return r->vlan_tci & 0x0fff;
}

#endif
