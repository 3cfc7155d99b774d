/*
 * Differential replay: the same guest frames through two networks that
 * differ only in one netdev type (our `user` stack against the real
 * `libslirp`), and what our stack answered compared with what the real one
 * answered, as if the latter were the capture: the oracle's answers are the
 * expected side, ours the produced side, with the comparator of compare.h
 * (flows, in order within a flow, field-level diffs, the same
 * normalisations).
 *
 * Each difference is then either one of the deliberate differences that
 * README.md lists for the user backend, recognised by a named rule from the
 * guest frames of its flow, or a real difference:
 *   dhcp-malformed   the oracle answered a DHCP request our DHCP reader
 *                    rejects (not BOOTREQUEST, no message type, bad options,
 *                    not an Ethernet chaddr): we drop and trace it
 *   tftp-path        the oracle served a TFTP read of a name with a `..`
 *                    component that we refuse with an error
 *   tftp-path        (also) an absolute name, which libslirp looks up under
 *                    its directory
 *   tftp-retransmit  we resent a TFTP packet (same bytes as our previous one
 *                    in the flow) on our retransmission timer, or asked again
 *                    by ARP for the address it goes to
 *   tftp-ack         the guest acknowledged out of step: libslirp sends the
 *                    next block on every ACK whatever its number (a duplicate
 *                    ACK skips a block); we answer only the ACK of the block
 *                    we sent
 *   tftp-malformed   the guest's TFTP request fails our TFTP reader (option
 *                    without value, empty option names, too many options):
 *                    we answer Access violation, libslirp skips what it does
 *                    not know; or its blksize/tsize value is not a number,
 *                    which we ignore and libslirp reads with atoi()
 *   nd-malformed     the guest's ND message has options our ICMPv6 reader
 *                    rejects (zero length, running past the end): we drop it
 *                    as RFC 4861 asks, libslirp never reads an RS's options
 *   arp-malformed    the guest's ARP packet is not Ethernet/IPv4 with 6- and
 *                    4-byte addresses: we drop it, libslirp answers as if it
 *                    were
 * and the differences that are not ours to fix here, named so they are
 * reported, not hidden:
 *   tcp-reset        restrict=on resets: libslirp 4.7 answers a bare RST
 *                    with RST+ACK, leaves a FIN out of the acknowledgement
 *                    number, and resets a segment whose header our reader
 *                    rejects; our TCP follows RFC 9293 and drops bad headers
 *                    (the TCP work, branch nat-tcp, owns backends/user/tcp.c)
 *   icmp-error       libslirp answers a datagram arriving with TTL 0 with
 *                    ICMP time exceeded; our stack sends no ICMP errors yet
 *                    (they come with the NAT work)
 *   frag-order       the guest sent a datagram's IPv4 fragments out of order:
 *                    vnetkit hands libslirp fragments in order only (libslirp
 *                    4.7 crashes otherwise, see backends/libslirp.c), so the
 *                    oracle never saw the datagram whole
 * The rules are shared by `vnetkit replay --against` and the differential
 * test (tests/unit/test_differential.c).
 */
#ifndef VK_REPLAY_DIFFERENTIAL_H
#define VK_REPLAY_DIFFERENTIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "replay/compare.h"
#include "replay/replay.h"

typedef enum vk_diff_rule {
    VK_DIFF_REAL = 0,
    VK_DIFF_DHCP_MALFORMED,
    VK_DIFF_TFTP_PATH,
    VK_DIFF_TFTP_RETRANSMIT,
    VK_DIFF_TFTP_ACK,
    VK_DIFF_TFTP_MALFORMED,
    VK_DIFF_ND_MALFORMED,
    VK_DIFF_ARP_MALFORMED,
    VK_DIFF_TCP_RESET,
    VK_DIFF_ICMP_ERROR,
    VK_DIFF_FRAG_ORDER,
    VK_DIFF_RULES
} vk_diff_rule;

const char *vk_diff_rule_name(vk_diff_rule r);

/* The rule that allows divergence e of flow `flow` (of a comparison whose
 * expected side is the oracle's frames `oracle` and produced side ours),
 * judged from the guest frames that were sent; VK_DIFF_REAL when none does. */
vk_diff_rule vk_diff_classify(const vk_cmp_entry *e, const char *flow, const vk_cmp_frame *oracle,
                              const vk_cmp_frame *ours, size_t nours, const vk_cmp_frame *guest,
                              size_t nguest);

/* A comparison of ours against the oracle with every divergence classified. */
typedef struct vk_diff_result {
    vk_cmp_result cmp;
    vk_diff_rule *rule;  /* per entry of cmp */
    size_t allowed, real;
} vk_diff_result;

int vk_diff_compare(const vk_cmp_frame *oracle, size_t noracle, const vk_cmp_frame *ours,
                    size_t nours, const vk_cmp_frame *guest, size_t nguest, unsigned norm,
                    vk_diff_result *out);
void vk_diff_result_free(vk_diff_result *r);

/* `vnetkit replay CAPTURE --against TYPE`: both runs and their comparison. */
typedef struct vk_differential {
    const char *ours_type, *oracle_type;
    size_t swapped;          /* netdevs whose type was swapped */
    vk_replay *ours, *oracle;
    vk_cmp_frame *exp, *prod, *guest;
    size_t nexp, nprod, nguest;
    vk_diff_result res;
} vk_differential;

/* Runs the capture through topo (which must hold netdevs of ours_type) and
 * through a copy with them swapped to oracle_type; takes topo.  cfg->trace
 * must be NULL.  Errors as vk_replay_run. */
int vk_differential_run(const vk_replay_config *cfg, vk_topology *topo, const char *ours_type,
                        const char *oracle_type, vk_differential **out, vk_diag *d);
void vk_differential_free(vk_differential *x);
/* The verdict and up to max_diffs differences, each with its rule. */
void vk_differential_report(const vk_differential *x, size_t max_diffs, FILE *out);

#endif
