/*
 * Stateful rewriting of the guest's TCP frames, as tcpliveplay does: the
 * network's initial sequence number (and its TCP timestamp clock) need not be
 * the recorded ones, so the guest's later frames, which echo them, must
 * follow.  For each TCP flow (compare.h key):
 *   - vk_rw_expect() is given the recorded answers before the run: the first
 *     SYN the network sent gives the recorded ISN, its first timestamp
 *     option the recorded TSval;
 *   - vk_rw_learn() is given every produced frame: the first produced SYN of
 *     the flow gives the ISN offset (produced - recorded), the first
 *     timestamp option the TSval offset;
 *   - vk_rw_apply() rewrites a guest frame before injection: ack += ISN
 *     offset when ACK is set (this covers connections the guest opened and,
 *     for those the network opened (hostfwd), the guest's SYN-ACK echoing the
 *     network's seq), TSecr += TSval offset; the TCP checksum is updated
 *     incrementally, so a recorded bad checksum stays bad.
 * SACK blocks are not rewritten.  Offsets are modulo 2^32.  The table has at
 * most VK_RW_MAX_FLOWS flows; TCP flows beyond are left alone (counted).
 */
#ifndef VK_REPLAY_REWRITE_H
#define VK_REPLAY_REWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replay/compare.h"

#define VK_RW_MAX_FLOWS 65536

typedef struct vk_rw_flow {
    char key[VK_FLOW_KEY_MAX];
    bool have_rec_isn, have_rec_ts;
    uint32_t rec_isn, rec_ts;
    bool have_seq, have_ts;  /* offsets learned */
    uint32_t seq_delta, ts_delta;
} vk_rw_flow;

typedef struct vk_rewriter {
    vk_rw_flow *flows;
    size_t n, cap;
    uint64_t frames_rewritten;
    uint64_t flows_over_cap;
} vk_rewriter;

void vk_rw_init(vk_rewriter *rw);
void vk_rw_free(vk_rewriter *rw);
/* Recorded answer (network to guest).  VK_OK or VK_ENOMEM. */
int vk_rw_expect(vk_rewriter *rw, const uint8_t *frame, size_t len);
/* Produced answer. */
void vk_rw_learn(vk_rewriter *rw, const uint8_t *frame, size_t len);
/* Guest frame, rewritten in place; true if anything changed. */
bool vk_rw_apply(vk_rewriter *rw, uint8_t *frame, size_t len);
const vk_rw_flow *vk_rw_find(const vk_rewriter *rw, const char *key);

#endif
