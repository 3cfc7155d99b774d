/* Shared unit-test helpers for frames built with libnet as an independent
 * reference, and for checking that truncated packets are refused. */
#ifndef VK_TEST_LIBNET_FRAMES_H
#define VK_TEST_LIBNET_FRAMES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <libnet.h>

/* A libnet context for building packets only (LIBNET_NONE); asserts success. */
libnet_t *vk_test_libnet(void);

/* Coalesces the packet built in l and returns it in a malloc'd buffer of
 * exactly its size (so ASan sees any read past the end), which the caller
 * frees; stores the size in *len.  Frees libnet's buffer and destroys l. */
uint8_t *vk_test_libnet_frame(libnet_t *l, size_t *len);

/* The guest's TCP and UDP frames of the NIC offload tests, built by libnet
 * with correct checksums (malloc'd, as vk_test_libnet_frame): dst <- src,
 * IPv4 10.0.2.15 -> 10.0.2.2 (TCP: 40000 -> 80, ack 777, window 65535, DF,
 * the given IP id) or -> 10.0.2.3 (UDP: 5353 -> 53, IP id 9), TTL 64,
 * plen payload bytes from pl. */
uint8_t *vk_test_libnet_tcp4(const uint8_t dst[6], const uint8_t src[6], uint32_t seq,
                             uint8_t flags, uint16_t ipid, const uint8_t *pl, size_t plen,
                             size_t *len);
uint8_t *vk_test_libnet_udp4(const uint8_t dst[6], const uint8_t src[6], const uint8_t *pl,
                             size_t plen, size_t *len);

/* Adds x to the big-endian 16-bit word at p in ones' complement.  Added to
 * a word a checksum covers, the checksum's own value makes it compute to 0
 * (for tests of how a card stores that zero). */
void vk_test_ones_add(uint8_t *p, uint16_t x);

/* Parses p[0..len) and returns a vnetkit error code (VK_OK on success). */
typedef int (*vk_test_parse_fn)(const uint8_t *p, size_t len);

/* Every prefix shorter than the packet, each in its own exact-size heap
 * buffer, must be refused by fn; the whole packet must parse. */
void vk_test_assert_truncations_fail(vk_test_parse_fn fn, const uint8_t *p, size_t len);

#endif
