/*
 * Comparing what the network produced with what the capture expected.
 *
 * Flows.  Frames are compared in order within a flow, never across flows, so
 * independent conversations may interleave differently (one exception, the
 * periodic router advertisements a network sends on its own timer: the RAs
 * left over after pairing match equal RAs of the other side by content;
 * docs/replay-report.md).  The key (a short
 * readable string, also shown in reports) is, with endpoints sorted so both
 * directions share it and "vlan N " in front of tagged frames:
 *   dhcp xid 0x1234abcd                 UDP port 67/68 (addresses change
 *                                       during DHCP; the xid does not)
 *   tcp|udp A:p <> B:q                  other TCP/UDP over IPv4 or IPv6
 *   icmp A <> B id N                    ICMP/ICMPv6 echo
 *   icmp A <> B type T                  other ICMP
 *   icmp6 nd TARGET / icmp6 router      neighbour and router discovery
 *   arp A <> B                          ARP sender/target protocol addresses
 *   ip A <> B proto P                   fragments and other IP protocols
 *   eth 0xTYPE M1 <> M2                 anything else, by MAC
 *
 * Normalisations applied to both sides before comparing (names for
 * --normalize / --no-normalize; default: all but checksums):
 *   ip-id      IPv4 identification set to 0
 *   tcp-ts     TCP timestamp option values set to 0
 *   tcp-isn    produced TCP sequence numbers shifted back by the ISN offset
 *              the rewriter learned for the flow (rewrite.h)
 *   eth-pad    bytes after the IP/ARP packet (Ethernet padding) ignored
 *   checksums  IP, TCP, UDP, ICMP and ICMPv6 checksums recomputed, which
 *              hides a wrong checksum; off by default so a bad one is caught
 * The first three keep checksums consistent by RFC 1624 updates, so turning
 * them on never makes a checksum differ by itself.
 */
#ifndef VK_REPLAY_COMPARE_H
#define VK_REPLAY_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/packet.h"

#define VK_FLOW_KEY_MAX 112

enum {
    VK_NORM_IP_ID = 1,
    VK_NORM_CHECKSUMS = 2,
    VK_NORM_TCP_TS = 4,
    VK_NORM_TCP_ISN = 8,
    VK_NORM_ETH_PAD = 16,
    VK_NORM_ALL = 31,
    VK_NORM_DEFAULT = VK_NORM_ALL & ~VK_NORM_CHECKSUMS
};

/* Turns the comma-separated names in list on (on=true) or off in *mask;
 * "all" names every one.  VK_EINVAL naming an unknown one. */
int vk_norm_parse(const char *list, bool on, unsigned *mask, vk_diag *d);
/* The name of one VK_NORM_* bit. */
const char *vk_norm_name(unsigned bit);

/* The flow key of a frame (see above) into key[VK_FLOW_KEY_MAX]. */
void vk_flow_key(const uint8_t *frame, size_t len, char *key);

/* Offset of the TSval of the TCP timestamp option in a segment whose header
 * is hdr_len bytes, or 0 when it has none. */
size_t vk_tcp_ts_offset(const uint8_t *seg, size_t hdr_len);

/* RFC 1624: stores n new bytes at seg[off] and updates the 16-bit checksum
 * at seg[csum_off] for them (any alignment). */
void vk_patch_csum(uint8_t *seg, size_t csum_off, size_t off, const uint8_t *bytes, size_t n);

struct vk_rewriter;

/* Normalises buf (a copy of a frame, len bytes) in place; returns the length
 * to compare.  `produced` tells which side it is (tcp-isn applies to the
 * produced side); rw may be NULL. */
size_t vk_normalize(uint8_t *buf, size_t len, unsigned norm, const struct vk_rewriter *rw,
                    bool produced);

/* A field-level difference in tcpdump-like words, e.g. "ip.ttl expected 64
 * got 255; udp.csum expected 0x1c2e got 0x1b2e", falling back to the first
 * differing byte.  Writes "" when the frames are equal. */
void vk_diff_frames(const uint8_t *exp, size_t elen, const uint8_t *got, size_t glen, char *out,
                    size_t cap);

/* One side of the comparison. */
typedef struct vk_cmp_frame {
    uint64_t no;       /* capture frame number, or produced index (1-based) */
    uint64_t ts;       /* absolute ns */
    const uint8_t *data;
    size_t len;
} vk_cmp_frame;

typedef enum vk_cmp_kind {
    VK_CMP_MATCH,
    VK_CMP_DIFFER,     /* the n-th frames of a flow differ */
    VK_CMP_MISSING,    /* expected, never produced */
    VK_CMP_UNEXPECTED, /* produced, never expected */
} vk_cmp_kind;

#define VK_CMP_NONE ((size_t)-1)

/* A leftover RA is judged by content only when no other RA of its side is
 * this close: timer RAs are 200-600 s apart, answers to solicitations come in
 * bursts (compare.c). */
#define VK_CMP_RA_ALONE_NS (100ull * 1000000000ull)

/* Why a MATCH entry matched when it was not the k-th frame of its flow. */
typedef enum vk_cmp_rule {
    VK_CMP_RULE_NONE,
    /* periodic router advertisements: the RAs left over after pairing on
     * either side of a flow match an equal RA of the other side (compare.c) */
    VK_CMP_RULE_PERIODIC_RA,
} vk_cmp_rule;

/* "periodic-ra", or "" for VK_CMP_RULE_NONE. */
const char *vk_cmp_rule_name(vk_cmp_rule rule);

typedef struct vk_cmp_entry {
    vk_cmp_kind kind;
    vk_cmp_rule rule;  /* MATCH only: matched by a rule, not in order */
    uint32_t flow;     /* the flow key: vk_cmp_flow() */
    size_t exp, prod;  /* indices into the arrays, VK_CMP_NONE if absent */
    uint64_t ts;       /* the expected frame's time, else the produced one's */
    char *diff;        /* DIFFER only (owned by the result); NULL otherwise */
} vk_cmp_entry;

/* Entries are small (no text but a divergence's diff), and each flow's key
 * is kept once in the result, however many frames it has. */
typedef struct vk_cmp_result {
    vk_cmp_entry *e;   /* in time order */
    size_t n;
    size_t matched, divergences;
    char (*flows)[VK_FLOW_KEY_MAX]; /* distinct flow keys */
    size_t nflows, flows_cap;
    uint32_t *flow_index;           /* hash of the keys (open addressing) */
    size_t index_cap;
} vk_cmp_result;

/* The flow key of an entry. */
const char *vk_cmp_flow(const vk_cmp_result *r, const vk_cmp_entry *e);

int vk_compare(const vk_cmp_frame *exp, size_t nexp, const vk_cmp_frame *prod, size_t nprod,
               unsigned norm, const struct vk_rewriter *rw, vk_cmp_result *out);
void vk_cmp_result_free(vk_cmp_result *r);
const char *vk_cmp_kind_name(vk_cmp_kind k);

#endif
