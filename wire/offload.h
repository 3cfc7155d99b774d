/*
 * Transmit offloads a NIC model performs for its guest, shared by the cards
 * (e1000 context descriptors, virtio-net's NEEDS_CSUM / GSO header), so that
 * every card computes checksums and segments the same way; the segmentation
 * also cuts the user backend's TCP super-segments (core/frame.h) for ports
 * that cannot take them whole (vk_offload_gso_split).  Byte operations on
 * wire formats, so they live in wire/ where cards and backends reach them:
 *   - vk_offload_csum: the "partial checksum" of virtio and of e1000's TUCSO:
 *     the guest left a seed (the pseudo-header sum) in the checksum field and
 *     the card sums everything from csum_start to the end of the frame;
 *   - vk_offload_tso: TCP segmentation of one super-frame (Ethernet, at most
 *     one VLAN tag, IPv4 or IPv6, TCP) into wire frames of at most mss bytes
 *     of payload each, with every header field a receiver checks made right.
 * Both work on bytes the caller owns and never read outside [frame, frame+len).
 */
#ifndef VK_WIRE_OFFLOAD_H
#define VK_WIRE_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"

/* Receives each segment built by vk_offload_tso; the bytes are borrowed for
 * the call. */
typedef void (*vk_offload_emit_fn)(void *arg, const uint8_t *seg, size_t seglen);

/* How a checksum that computes to 0 is stored.  0x0000 and 0xffff are the
 * same number in ones' complement, so both verify; which one a card writes
 * is what a capture of it shows, byte for byte:
 *   VK_CSUM_ZERO_AS_FFFF  0xffff: QEMU's e1000 (putsum, every checksum it
 *                         inserts, TSO segments included) and Linux's
 *                         skb_checksum_help (CSUM_MANGLED_0)
 *   VK_CSUM_ZERO_KEPT     0x0000: QEMU's rtl8139 (ip_checksum, its TSO
 *                         segments included) and Linux's GSO segments
 *                         (csum_fold). */
typedef enum vk_csum_zero { VK_CSUM_ZERO_AS_FFFF, VK_CSUM_ZERO_KEPT } vk_csum_zero;

/* A computed checksum c as a card under `zero` stores it. */
static inline uint16_t vk_csum_spelled(uint16_t c, vk_csum_zero zero)
{
    return c == 0 && zero == VK_CSUM_ZERO_AS_FFFF ? 0xffff : c;
}

/* Sums frame[csum_start..len) (including the seed already in the checksum
 * field) and stores the complemented result at csum_start + csum_offset, big
 * endian, a result of 0 as `zero` says.  VK_EINVAL when the field does not
 * lie inside the frame. */
int vk_offload_csum(uint8_t *frame, size_t len, size_t csum_start, size_t csum_offset,
                    vk_csum_zero zero);

/* Segments a TCP super-frame.  The headers (Ethernet + IP + TCP, located by
 * parsing the frame) are copied in front of each run of at most mss payload
 * bytes; each segment gets: IPv4 total length, id + segment index, header
 * checksum / IPv6 payload length; TCP sequence advanced by the payload already
 * sent, FIN and PSH only on the last segment, CWR only on the first, and a
 * fresh TCP checksum (whatever the checksum fields held before); the TCP and
 * IPv4 header checksums that compute to 0 are stored as `zero` says.  A payload of
 * at most mss bytes gives one segment with lengths and checksums fixed.
 * hdr_len is the caller's idea of the header length (virtio's hdr_len,
 * e1000's HDRLEN): it must not exceed len nor be shorter than the parsed
 * headers; a longer one is tolerated, as Linux does for virtio GSO.
 * Returns the number of segments emitted (> 0), or VK_EINVAL for hdr_len >
 * len, mss == 0, a short hdr_len, a frame that is not IPv4/IPv6 TCP or is an
 * IP fragment; VK_ETRUNC/VK_EFORMAT from the header parsers; VK_ENOMEM.  On
 * error nothing was emitted. */
int vk_offload_tso(const uint8_t *frame, size_t len, size_t hdr_len, size_t mss,
                   vk_csum_zero zero, vk_offload_emit_fn emit, void *arg);

/* The net's gso splitter (core/net.h vk_gso_split_fn): vk_offload_tso of a
 * TCP super-segment at its gso_mss, its headers located by parsing it, a
 * zero checksum kept as Linux's GSO keeps it. */
int vk_offload_gso_split(const vk_frame *f, vk_offload_emit_fn emit, void *arg);

#endif
