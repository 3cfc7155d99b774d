/*
 * Captures that are not Ethernet, made replayable: LINUX_SLL and LINUX_SLL2
 * (`tcpdump -i any`) and raw IP (LINKTYPE_RAW, an IP tunnel or a VPN) carry
 * no Ethernet header, so each frame is given the one the guest and the
 * network would have used on the user network:
 *   - the guest is VK_LINKTYPE_GUEST_MAC (52:54:00:12:34:56, QEMU's default
 *     NIC address), the network is VK_LINKTYPE_NET_MAC (52:55:0a:00:02:02,
 *     slirp's gateway 10.0.2.2), whatever link addresses the capture held;
 *   - who sent a frame: for SLL/SLL2 the packet type (PACKET_OUTGOING = the
 *     capturing host = the guest; anything else came from the network); for
 *     raw IP the source address of the first IPv4 (resp. IPv6) packet is the
 *     guest's, and packets from another address came from the network; the
 *     unspecified address (0.0.0.0 of a DHCP client, :: of IPv6 duplicate
 *     address detection) is the guest's without being that address, and
 *     DHCP/DHCPv6 server answers (UDP from port 67 or 547) and router
 *     advertisements are the network's whatever their source;
 *   - the destination: broadcast for IPv4 255.255.255.255 and ARP requests,
 *     the multicast MAC of an IPv4 or IPv6 multicast address (RFC 1112, RFC
 *     2464), else the other side's MAC.
 * ARP bodies and IP payloads are not rewritten.  A record that cannot be
 * carried (an SLL frame without an EtherType, a raw record that is not IP)
 * is refused with a reason, and the capture reader keeps it apart.
 */
#ifndef VK_REPLAY_LINKTYPE_H
#define VK_REPLAY_LINKTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VK_LINKTYPE_GUEST_MAC {0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
#define VK_LINKTYPE_NET_MAC {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}

/* What is remembered from frame to frame (raw IP: the guest's addresses). */
typedef struct vk_linktype {
    int dlt;
    bool have_guest4, have_guest6;
    uint8_t guest4[4];
    uint8_t guest6[16];
} vk_linktype;

/* True for the DLTs we read: Ethernet, SLL, SLL2, raw IP (DLT_RAW and the
 * LINKTYPE_RAW/IPV4/IPV6 values libpcap may report). */
bool vk_linktype_supported(int dlt);
void vk_linktype_init(vk_linktype *lt, int dlt);
/* The Ethernet frame for one record of the capture: out (cap bytes, at
 * least len + 14) gets it and *out_len its length.  VK_OK, or VK_EINVAL
 * with *why (a static phrase) for a record that cannot be carried.  For
 * Ethernet the record is copied as it is. */
int vk_linktype_to_ethernet(vk_linktype *lt, const uint8_t *p, size_t len, uint8_t *out,
                            size_t cap, size_t *out_len, const char **why);

#endif
