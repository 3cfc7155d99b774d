/*
 * What the network decided about frames during a replay, so that a verdict
 * can say why a frame is missing or differs: every drop (with the reason the
 * dropping port or filter gave: "netem f1: loss (random)", "queue full") and
 * every frame that carried a filter's note ("netem f1: delayed 20.000000 ms",
 * "corrupt bit 93", "duplicate of packet 812").  Each is kept with its time
 * (absolute ns, as the comparison's), port, direction, the flow key of the
 * frame (compare.h) and a one-line summary of it.
 *
 * The report (report.c) lists, under each divergence, the decisions taken in
 * its flow after the previous divergence of that flow and up to the later of
 * its expected and produced times: with in-order comparison a lost request
 * shows up at the end of its flow, so the window goes back that far.
 *
 * Cap: VK_DECISIONS_MAX are kept; later ones are only counted (lost).
 * Ownership: the struct owns every string; vk_decisions_free releases them.
 */
#ifndef VK_REPLAY_DECISIONS_H
#define VK_REPLAY_DECISIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/net.h"
#include "replay/compare.h"

#define VK_DECISIONS_MAX 65536

typedef struct vk_decision {
    uint64_t ts;
    bool drop;      /* a drop; else a frame that went on with a note */
    vk_dir dir;     /* which way it was going on port */
    char port[64];
    char flow[VK_FLOW_KEY_MAX];
    char *text;     /* the reason, or the note */
    char *summary;  /* the frame, one line (wire/describe.h) */
} vk_decision;

typedef struct vk_decisions {
    vk_decision *d;   /* in time order */
    size_t n, cap;
    size_t *by_flow;  /* indices sorted by (flow, time): vk_decisions_index() */
    uint64_t drops, notes, lost;
} vk_decisions;

/* Records the decisions of net from now on (a tap); ds must outlive the
 * net's run.  VK_EFULL when the net has no room for another tap. */
int vk_decisions_watch(vk_decisions *ds, vk_net *net);
/* Builds the per-flow index once the run is over.  VK_ENOMEM. */
int vk_decisions_index(vk_decisions *ds);
/* The decisions of `flow` with after < ts <= upto: their count, and in
 * *first the position of the first for vk_decisions_at (index needed). */
size_t vk_decisions_find(const vk_decisions *ds, const char *flow, uint64_t after,
                         uint64_t upto, size_t *first);
const vk_decision *vk_decisions_at(const vk_decisions *ds, size_t pos);
void vk_decisions_free(vk_decisions *ds);

#endif
