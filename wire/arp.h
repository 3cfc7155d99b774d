/*
 * ARP for Ethernet and IPv4 only (RFC 826): hardware type 1, protocol
 * 0x0800, address lengths 6 and 4.  Anything else is VK_EFORMAT, because
 * the user-mode stack has no use for other ARP flavours.
 */
#ifndef VK_WIRE_ARP_H
#define VK_WIRE_ARP_H

#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

#define VK_ARP_LEN 28

enum {
    VK_ARP_HTYPE_ETHER = 1,
    VK_ARP_OP_REQUEST = 1,
    VK_ARP_OP_REPLY = 2
};

typedef struct vk_arp_repr {
    uint16_t op; /* any value is accepted; the caller acts on 1 and 2 */
    vk_mac sha;
    vk_ip4 spa;
    vk_mac tha;
    vk_ip4 tpa;
} vk_arp_repr;

/* VK_OK, VK_ETRUNC (< 28 bytes), VK_EFORMAT (not Ethernet/IPv4). */
int vk_arp_parse(const uint8_t *p, size_t len, vk_arp_repr *out);
/* Writes 28 bytes; VK_EFULL if cap is short. */
int vk_arp_emit(const vk_arp_repr *r, uint8_t *buf, size_t cap, size_t *written);

#endif
