/*
 * The one Internet checksum (RFC 1071) in vnetkit.  Sums are carried as
 * 32-bit partial values already folded to 16 bits, so partial sums over
 * several pieces can be added with vk_csum_add; only the last piece may have
 * an odd length.  A "pseudo" sum means the pseudo-header's addresses and
 * protocol only: the upper-layer length is always added by whoever knows it
 * (vk_csum_l4), so emitters and verifiers take the same value.
 *
 * Also: RFC 1624 incremental update, and helpers that fill or verify every
 * checksum of an IPv4/IPv6 packet or Ethernet frame in place.
 */
#ifndef VK_WIRE_CHECKSUM_H
#define VK_WIRE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

/* Adds len bytes (big-endian 16-bit words, odd tail padded with 0) to sum. */
uint32_t vk_csum_add(uint32_t sum, const void *data, size_t len);
/* Adds a length as the pseudo headers carry it (16 bits for IPv4, 32 for IPv6). */
uint32_t vk_csum_add_len(uint32_t sum, size_t len);
/* Folds and complements: the value to store in a checksum field.  Over data
 * that includes a correct checksum field it returns 0. */
uint16_t vk_csum_finish(uint32_t sum);
/* vk_csum_finish(vk_csum_add(0, data, len)). */
uint16_t vk_csum(const void *data, size_t len);

/* Pseudo-header sums without the length (see the file comment). */
uint32_t vk_csum_pseudo4(const vk_ip4 *src, const vk_ip4 *dst, uint8_t proto);
uint32_t vk_csum_pseudo6(const vk_ip6 *src, const vk_ip6 *dst, uint8_t next_header);
/* Checksum of an upper-layer segment of len bytes: store it when the field
 * is zero, or compare the result with 0 to verify a received segment. */
uint16_t vk_csum_l4(uint32_t pseudo, const uint8_t *seg, size_t len);

/* RFC 1624 eqn. 3: the new checksum after one 16-bit (or 32-bit, e.g. a TCP
 * sequence number) field covered by csum changed from old_v to new_v. */
uint16_t vk_csum_update16(uint16_t csum, uint16_t old_v, uint16_t new_v);
uint16_t vk_csum_update32(uint16_t csum, uint32_t old_v, uint32_t new_v);

/* Bits of the *bad mask reported by the check functions. */
enum {
    VK_CSUM_BAD_IP4 = 1, /* IPv4 header checksum */
    VK_CSUM_BAD_L4 = 2   /* TCP, UDP, ICMP or ICMPv6 checksum */
};

/* Recompute and store the IPv4 header checksum (if IPv4) and the TCP, UDP,
 * ICMP or ICMPv6 checksum of the packet at ip.  Fragments and other
 * protocols keep their upper-layer bytes untouched.  Returns VK_OK or the
 * parse error of the IP header. */
int vk_csum_fill_ip(uint8_t *ip, size_t len);
/* Verify the same checksums; *bad gets a VK_CSUM_BAD_* mask (0 = all good).
 * Returns VK_OK when the headers parsed, whatever the checksums say.  A zero
 * UDP checksum over IPv4 means "none" and counts as good. */
int vk_csum_check_ip(const uint8_t *ip, size_t len, unsigned *bad);
/* The same on an Ethernet frame carrying IPv4 or IPv6 (VK_EUNSUPP for other
 * ethertypes). */
int vk_csum_fill_frame(uint8_t *frame, size_t len);
int vk_csum_check_frame(const uint8_t *frame, size_t len, unsigned *bad);

#endif
