/*
 * The replay's guest stack for transmit offloads (--guest-offload): what a
 * Linux guest's TCP/UDP and GSO layers hand the driver, rebuilt from the
 * recorded frames so that the card, doing its part, must put exactly the
 * recorded frames on the wire.  The driver halves only turn the metadata
 * into descriptors (nics/nic.h: send_offload).
 *
 * csum: a TCP or UDP frame gets the partial checksum Linux leaves for the
 * card (CHECKSUM_PARTIAL): the checksum field holds the folded pseudo-header
 * sum with the L4 length, and the metadata says where the card finishes it.
 * Frames the card could not reproduce are sent as they are (counted): not
 * TCP/UDP, IP fragments, UDP without checksum (0), and frames whose recorded
 * checksum is wrong or is the other spelling of zero than the card's (0x0000
 * where the card stores 0xffff, or the reverse: each function takes the
 * card's rule, nics/nic.h vk_nic_csum_zero and vk_nic_tso_zero).
 *
 * tso: consecutive guest segments are merged into one super-frame when the
 * card's segmentation (wire/offload.h vk_offload_tso) gives them back byte
 * for byte.  Segment B may follow A (the previous one) in a group that
 * starts with F when
 *   - each is an unfragmented IPv4 or IPv6 TCP segment with a payload, no
 *     IPv4 options or IPv6 extension headers, no bytes after the IP packet,
 *     TCP options of NOP/EOL and timestamps only, and the IP header and TCP
 *     checksums the card computes, zero spelled as the card spells it (a
 *     recorded wrong one cannot come back);
 *   - B's headers equal F's except: IPv4 total length, id and header
 *     checksum, IPv6 payload length, TCP sequence number, flags and
 *     checksum.  So Ethernet header, TOS/traffic class, DF, TTL/hop limit,
 *     flow label, addresses, ports, ack number, window, urgent pointer and
 *     the option bytes (timestamps included) are identical;
 *   - B.seq = A.seq + A's payload length (no gap, no retransmission);
 *   - IPv4: B.id = A.id + 1 (mod 2^16): the card numbers segments so;
 *   - flags: F has ACK and none of SYN, RST, URG, FIN, PSH; A has no FIN or
 *     PSH (only the last segment may: the card keeps them there only); B's
 *     flags without PSH and FIN equal F's without CWR (the card sends CWR on
 *     the first segment only);
 *   - sizes: A's payload is F's (the MSS: every segment but the last is
 *     full), B's payload is at most that, and the super-frame stays within
 *     one IP packet (65535 bytes) and VK_FRAME_MAX;
 *   - the group has fewer than VK_OFFLOAD_MAX_SEGS segments.
 * The replay driver also ends a group at any frame of the network's side
 * (an answer between two segments may be what made the guest send the
 * second) -- see replay.c.  A group of one is sent with checksum offload.
 */
#ifndef VK_REPLAY_OFFLOAD_H
#define VK_REPLAY_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nics/nic.h"

#define VK_OFFLOAD_MAX_SEGS 64

typedef enum vk_merge_verdict {
    VK_MERGE_OK = 0,
    VK_MERGE_NOT_TCP,     /* not an unfragmented IPv4/IPv6 TCP segment */
    VK_MERGE_NO_PAYLOAD,  /* nothing to segment (pure ACK, SYN...) */
    VK_MERGE_IP_OPTIONS,  /* IPv4 options or IPv6 extension headers */
    VK_MERGE_PADDING,     /* bytes after the IP packet */
    VK_MERGE_TCP_OPTIONS, /* options other than NOP/EOL/timestamps */
    VK_MERGE_CSUM,        /* a checksum the card would not reproduce */
    VK_MERGE_HEADERS,     /* a header field that must be equal differs */
    VK_MERGE_SEQ,         /* gap or retransmission */
    VK_MERGE_IP_ID,       /* IPv4 id not the previous + 1 */
    VK_MERGE_FLAGS,       /* flags the card would not reproduce */
    VK_MERGE_SIZE,        /* MSS rule, 64 KiB or VK_OFFLOAD_MAX_SEGS */
} vk_merge_verdict;

const char *vk_merge_verdict_name(vk_merge_verdict v);

/* One TCP segment as the merge rule sees it (points into the frame). */
typedef struct vk_tso_seg {
    const uint8_t *frame;
    size_t len;
    size_t l3, l4, hdr_len, payload_len;
    bool v6;
    uint16_t ip_id;
    uint32_t seq;
    uint8_t flags;
} vk_tso_seg;

/* Whether frame can be part of a super-frame at all (VK_MERGE_OK) or why
 * not; *out is filled on VK_MERGE_OK. */
vk_merge_verdict vk_tso_seg_parse(const uint8_t *frame, size_t len, vk_csum_zero zero,
                                  vk_tso_seg *out);

/* Whether next may follow prev in a group starting with first that holds
 * nsegs segments (first..prev) of payload bytes in total. */
vk_merge_verdict vk_tso_can_follow(const vk_tso_seg *first, const vk_tso_seg *prev,
                                   const vk_tso_seg *next, size_t nsegs, size_t payload);

/* How many of frames[0..n) (at least 1 when n > 0) form one group with
 * frames[0]; *why (if not NULL) gets the verdict that ended it (VK_MERGE_OK
 * when it ended with the input). */
size_t vk_tso_group(const uint8_t *const *frames, const size_t *lens, size_t n,
                    vk_csum_zero zero, vk_merge_verdict *why);

/* Builds the super-frame of the n >= 2 segments frames[0..n) (a group as
 * vk_tso_group found it) in a malloc'd *out of *len bytes, with its
 * metadata: the first segment's headers with the lengths of the whole, the
 * last segment's PSH/FIN, the partial checksum; gso_mss = the first
 * segment's payload.  VK_EINVAL if they are not a group, VK_ENOMEM. */
int vk_tso_build(const uint8_t *const *frames, const size_t *lens, size_t n, vk_csum_zero zero,
                 uint8_t **out, size_t *len, vk_guest_offload *meta);

/* Turns frame (a private copy) into what the stack hands the driver for
 * checksum offload (see the file comment) and fills meta.  VK_EUNSUPP,
 * frame unchanged, when it must be sent as it is. */
int vk_csum_prepare(uint8_t *frame, size_t len, vk_csum_zero zero, vk_guest_offload *meta);

/* True for a TCP or UDP frame captured before checksum offload (inside a
 * guest, or on a host tap with offloads on): its checksum field holds the
 * partial sum vk_csum_prepare leaves for the card instead of a checksum
 * that verifies.  A stack receiving it drops it as a bad checksum. */
bool vk_csum_is_partial(const uint8_t *frame, size_t len);

#endif
