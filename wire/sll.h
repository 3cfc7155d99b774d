/*
 * The Linux "cooked" capture headers tcpdump writes for `-i any`:
 * LINUX_SLL (16 bytes: packet type, ARPHRD type, address length, address,
 * protocol) and LINUX_SLL2 (20 bytes: protocol, reserved, interface index,
 * ARPHRD type, packet type, address length, address).  Both are parsed into
 * the same view; the payload is what follows the header.
 * (tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html and ..._SLL2.html)
 */
#ifndef VK_WIRE_SLL_H
#define VK_WIRE_SLL_H

#include <stddef.h>
#include <stdint.h>

#define VK_SLL_HLEN 16
#define VK_SLL2_HLEN 20

/* Packet types (the kernel's PACKET_*). */
enum {
    VK_SLL_HOST = 0,      /* to us */
    VK_SLL_BROADCAST = 1,
    VK_SLL_MULTICAST = 2,
    VK_SLL_OTHERHOST = 3,
    VK_SLL_OUTGOING = 4,  /* sent by us */
};

typedef struct vk_sll_repr {
    uint8_t pkttype;
    uint16_t arphrd;
    uint16_t protocol;   /* an EtherType when >= 0x0600 */
    uint8_t addr_len;    /* as given; at most 8 bytes are in addr */
    uint8_t addr[8];
    uint32_t ifindex;    /* SLL2 only; 0 for SLL */
    const uint8_t *payload;
    size_t payload_len;
} vk_sll_repr;

/* VK_OK or VK_ETRUNC. */
int vk_sll_parse(const uint8_t *p, size_t len, vk_sll_repr *out);
int vk_sll2_parse(const uint8_t *p, size_t len, vk_sll_repr *out);

#endif
