/*
 * Locating the layers of an Ethernet frame in one pass: where the IP header,
 * the transport header and the end of the IP packet are, with the parsed
 * Ethernet and IP headers.  Every parse goes through the checked readers of
 * wire/; nothing past `len` is ever looked at.  Used by the replay comparator
 * and by the guest-driver halves that prepare offloads.
 */
#ifndef VK_WIRE_PACKET_H
#define VK_WIRE_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

/* Where the layers of a frame are (offsets into the frame). */
typedef struct vk_pkt {
    vk_eth_repr eth;
    int l3;           /* 4, 6, or 0 (ARP and others: see eth.ethertype) */
    size_t l3_off;
    size_t l3_end;    /* end of the IP packet (padding excluded) */
    size_t l4_off;    /* 0 when there is no upper layer to look at */
    uint8_t proto;
    bool frag;        /* IPv4 fragment or IPv6 fragment header */
    vk_ipv4_repr ip4;
    vk_ipv6_repr ip6;
} vk_pkt;

/* VK_OK when at least the Ethernet header parsed (VK_ETRUNC otherwise). */
int vk_pkt_locate(const uint8_t *frame, size_t len, vk_pkt *out);

/* An unfragmented TCP or UDP packet whose transport header starts in the
 * frame (its length still has to be checked by the caller's parser). */
bool vk_pkt_is_tcp_udp(const vk_pkt *k);
/* Bytes of the transport segment: from l4_off to the end of the IP packet. */
size_t vk_pkt_l4_len(const vk_pkt *k);
/* The pseudo-header sum (addresses and protocol, no length) of a located
 * IPv4 or IPv6 packet, for wire/checksum.h. */
uint32_t vk_pkt_pseudo(const vk_pkt *k);
/* For an unfragmented TCP packet located in frame: *end = the offset just
 * past its TCP header (options included).  VK_EINVAL when k is not such a
 * packet, VK_EFORMAT for a data offset below 5 or past the IP packet. */
int vk_pkt_tcp_end(const vk_pkt *k, const uint8_t *frame, size_t *end);

#endif
