/*
 * filter-netem: Linux tc-netem's impairments as a QEMU network filter, on
 * vnetkit's clock and from a seed.  The decisions for each frame follow
 * sch_netem's netem_enqueue() in order — duplicate, loss, corrupt, queue
 * limit, then reorder or delay (with rate and slots) — and every one comes
 * from one generator per filter, so a run on the virtual clock is a pure
 * function of its inputs and its seed.
 *
 * The engine below (vk_netem) knows nothing of ports: it takes frames with
 * their arrival time and says what happens to them, so its statistics can
 * be tested on millions of frames without a network.  netem.c wraps it as
 * the `filter-netem` object.
 */
#ifndef VK_FILTERS_NETEM_H
#define VK_FILTERS_NETEM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/options.h"
#include "core/topology.h"

extern const vk_object_type vk_object_filter_netem;

/* Probabilities are fractions of 2^32 (netem's fixed point): 0 never,
 * UINT32_MAX always. */
typedef uint32_t vk_netem_prob;

typedef enum vk_netem_dist {
    VK_NETEM_DIST_UNIFORM, /* netem without a table: mu +- sigma, flat */
    VK_NETEM_DIST_NORMAL,
    VK_NETEM_DIST_PARETO,
    VK_NETEM_DIST_PARETONORMAL,
} vk_netem_dist;

typedef enum vk_netem_loss_model {
    VK_NETEM_LOSS_RANDOM,
    VK_NETEM_LOSS_STATE,   /* 4-state Markov: p13, p31, p32, p23, p14 */
    VK_NETEM_LOSS_GEMODEL, /* Gilbert-Elliott: p, r, 1-h, 1-k */
} vk_netem_loss_model;

typedef struct vk_netem_config {
    uint64_t delay_ns, jitter_ns;
    vk_netem_prob delay_corr;
    vk_netem_dist dist;
    vk_netem_loss_model loss_model;
    vk_netem_prob loss, loss_corr; /* random loss */
    vk_netem_prob p[5];            /* state: p13 p31 p32 p23 p14; gemodel: p r 1-h 1-k */
    vk_netem_prob duplicate, duplicate_corr;
    vk_netem_prob corrupt, corrupt_corr;
    vk_netem_prob reorder, reorder_corr;
    uint32_t gap;
    uint64_t rate_bps; /* bits per second; 0: no rate limit */
    int32_t packet_overhead;
    uint32_t cell_size;
    int32_t cell_overhead;
    uint32_t limit;                 /* frames held at most */
    uint64_t slot_min_ns, slot_max_ns; /* 0: no slots */
    uint32_t slot_packets, slot_bytes; /* 0: no cap */
    uint64_t seed;
} vk_netem_config;

/* Reads tc-netem's vocabulary from the option keys (README lists them).
 * `id` seeds the generator when seed= is absent. */
int vk_netem_config_parse(vk_netem_config *c, vk_opts *o, const char *id, vk_diag *d);

/* One decision generator with netem's correlated draws. */
typedef struct vk_netem_rng {
    uint64_t s[4];
} vk_netem_rng;

typedef struct vk_netem_corr {
    uint32_t last;
} vk_netem_corr;

typedef struct vk_netem_state {
    vk_netem_config cfg;
    vk_netem_rng rng;
    vk_netem_corr delay_c, loss_c, dup_c, corrupt_c, reorder_c;
    int loss_state;   /* 4-state: 1..4; gemodel: 1 good, 2 bad */
    uint32_t counter; /* frames since the last reorder */
    int16_t table[4096];
    uint64_t last_send; /* time_to_send of the last delayed frame (rate) */
    uint64_t slot_next; /* start of the next slot; 0 before the first */
    int64_t slot_packets_left, slot_bytes_left;
} vk_netem_state;

void vk_netem_init(vk_netem_state *st, const vk_netem_config *c);
/* True when c impairs nothing (no delay, loss, duplicate, corrupt, reorder,
 * rate or slots): every frame goes on at once, unchanged, and no draw is
 * made, so the filter can let frames pass without asking the engine. */
bool vk_netem_config_is_idle(const vk_netem_config *c);
uint32_t vk_netem_rand(vk_netem_state *st);

/* What happens to one frame of `len` bytes arriving at `now`, with `held`
 * frames already in the filter. */
typedef struct vk_netem_verdict {
    bool drop;
    const char *why;      /* when dropped: "loss (random)", "queue over limit", ... */
    bool duplicate;       /* send a second copy (which meets netem again) */
    bool corrupt;
    uint32_t corrupt_bit; /* bit index in the frame, 0 = MSB of byte 0 */
    bool reorder;         /* sent now, ahead of the delayed frames */
    uint64_t send_at;     /* when it leaves */
} vk_netem_verdict;

/* The first half of netem_enqueue: duplicate, loss, corrupt, limit (sets
 * drop/why, duplicate, corrupt). */
void vk_netem_decide(vk_netem_state *st, uint64_t now, size_t len, size_t held, bool may_duplicate,
                     vk_netem_verdict *v);
/* The second half, for a frame that stays: reorder, or delay with rate
 * (sets reorder and send_at).  A duplicate is decided and scheduled in
 * between, as netem enqueues it before the original's delay is drawn. */
void vk_netem_schedule(vk_netem_state *st, uint64_t now, size_t len, vk_netem_verdict *v);
/* Slot gating: may a frame due at `now` of `len` bytes leave now?  When it
 * may not, *next is when the next slot starts. */
bool vk_netem_slot_take(vk_netem_state *st, uint64_t now, size_t len, uint64_t *next);

#endif
