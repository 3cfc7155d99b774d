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

/* The same key in binary, as the comparator hashes it: equal keys are equal
 * bytes (memcmp over the whole struct; unused bytes are zero), and two frames
 * have equal binary keys exactly when their text keys are equal. */
typedef struct vk_flow_bkey {
    uint8_t kind, tail, has_vlan, has_port;
    uint16_t vlan;
    uint8_t alen;          /* 4 (IPv4, ARP), 16 (IPv6), 6 (MAC) */
    uint8_t pad;
    uint32_t value;        /* DHCP xid, ICMP id or type, IP protocol, ethertype */
    uint16_t port[2];
    uint8_t addr[2][16];   /* the two ends in their fixed order */
} vk_flow_bkey;

void vk_flow_bkey_of(const uint8_t *frame, size_t len, vk_flow_bkey *b);
/* Formats b as the text key into key[VK_FLOW_KEY_MAX]. */
void vk_flow_bkey_text(const vk_flow_bkey *b, char *key);

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
/* Router advertisements kept per side for that rule. */
#define VK_CMP_RA_KEPT_MAX 4096u

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
    size_t exp, prod;  /* index of the frame among its side's frames (in the
                        * order they were handed over), VK_CMP_NONE if absent */
    uint64_t ts;       /* the expected frame's time, else the produced one's */
    char *diff;        /* DIFFER only (owned by the result); NULL otherwise */
    vk_cmp_frame x, p; /* copies of the expected and produced frames (data
                        * owned by the result; NULL when absent) */
} vk_cmp_entry;

/* The result holds only the entries it keeps: every divergence, and every
 * match when asked to (vk_compare always; a streaming comparison only with
 * keep_matches); a flow's text key is stored once however many entries it
 * has, and only for flows with a kept entry. */
typedef struct vk_cmp_result {
    vk_cmp_entry *e;   /* in time order */
    size_t n, cap;
    size_t matched, divergences;
    size_t by_rule;    /* matches made by a rule (also counted in matched) */
    size_t nexp, nprod; /* frames compared on each side */
    uint64_t ras_over_cap; /* RAs past VK_CMP_RA_KEPT_MAX, left out of the rule */
    char (*flows)[VK_FLOW_KEY_MAX]; /* distinct flow keys */
    size_t nflows, flows_cap;
    uint32_t *flow_index;           /* hash of the keys (open addressing) */
    size_t index_cap;
} vk_cmp_result;

/* The flow key of an entry. */
const char *vk_cmp_flow(const vk_cmp_result *r, const vk_cmp_entry *e);

/* Compares two whole sides at once, keeping every entry.  VK_ENOMEM. */
int vk_compare(const vk_cmp_frame *exp, size_t nexp, const vk_cmp_frame *prod, size_t nprod,
               unsigned norm, const struct vk_rewriter *rw, vk_cmp_result *out);

/* The same comparison, fed as the frames come (compare.c: "matching, as the
 * frames come"): each side's frames in their order, the two sides
 * interleaved in any way; a frame is copied only while it waits for its
 * pair, and released once compared.  The rewriter (may be NULL) is read at
 * each comparison, so it must have learned from a produced frame before that
 * frame is handed over.  The frames are borrowed for the call.  Errors
 * (VK_ENOMEM) stick: later calls and finish return them. */
typedef struct vk_cmp_stream vk_cmp_stream;
int vk_cmp_stream_new(unsigned norm, const struct vk_rewriter *rw, bool keep_matches,
                      vk_cmp_stream **out);
int vk_cmp_stream_expected(vk_cmp_stream *s, const vk_cmp_frame *f);
int vk_cmp_stream_produced(vk_cmp_stream *s, const vk_cmp_frame *f);
/* Flows with frames waiting for their pair. */
size_t vk_cmp_stream_pending(const vk_cmp_stream *s);
/* Settles what is left (missing, unexpected), applies the periodic RA rule,
 * sorts by time into out, and frees s (also on error). */
int vk_cmp_stream_finish(vk_cmp_stream *s, vk_cmp_result *out);
/* Frees an unfinished stream. */
void vk_cmp_stream_free(vk_cmp_stream *s);
void vk_cmp_result_free(vk_cmp_result *r);
const char *vk_cmp_kind_name(vk_cmp_kind k);

#endif
