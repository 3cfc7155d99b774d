/*
 * Network filters (QEMU's net/filter.c): objects attached to a netdev that see
 * the frames it sends (queue=tx) and the frames sent to it (queue=rx), in a
 * chain.  A filter lets a frame go on, drops it, or takes it and lets it go
 * on later (a delay) from where it left the chain.
 *
 * Where a filter sits: inside its port.  A frame the port sends passes the
 * port's tx filters (in chain order) before it is traced leaving the port; a
 * frame sent to the port passes its rx filters (in reverse chain order, as
 * QEMU) before it is traced entering it.  So a frame a filter drops is one
 * trace record, on the filter's port, with the filter's reason; a frame a
 * filter delayed or changed is traced when it comes out, with the filter's
 * note as the record's comment.  (QEMU hands a frame a tx filter released
 * straight to the peer's queue, skipping the peer's rx filters; here it goes
 * through them, so every filter on its path sees it.)
 *
 * Ownership: filters are created by -object types and owned by their
 * object; attaching links them into the port's chain (the port does not free
 * them).  Frames given to receive() are borrowed; a filter that keeps one
 * takes a reference (frame.h) and later calls vk_filter_pass_on() or
 * vk_filter_drop() then drops its reference.
 */
#ifndef VK_CORE_FILTER_H
#define VK_CORE_FILTER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "core/frame.h"
#include "core/options.h"

typedef struct vk_port vk_port;
typedef struct vk_net vk_net;
typedef struct vk_filter vk_filter;

/* QEMU's directions, named from the netdev: rx = sent to it, tx = sent by it. */
typedef enum vk_filter_dir {
    VK_FILTER_RX = 1,
    VK_FILTER_TX = 2,
} vk_filter_dir;

enum {
    VK_FILTER_PASS = 0, /* receive(): let the frame go on now */
    VK_FILTER_TAKEN = 1 /* receive(): the filter dropped it or keeps it */
};

typedef struct vk_filter_ops {
    const char *type; /* "filter-netem", ... */
    /* f (borrowed) passes through flt going dir: VK_FILTER_PASS or
     * VK_FILTER_TAKEN. */
    int (*receive)(vk_filter *flt, vk_filter_dir dir, vk_frame *f);
    /* status= changed (QEMU: a disabled filter-buffer releases what it holds).
     * NULL: nothing to do. */
    void (*status_changed)(vk_filter *flt);
    /* One line of counters for --stats.  NULL: none. */
    void (*print_stats)(const vk_filter *flt, FILE *out);
    /* The run is over (vk_net_end): drop with vk_filter_drop() and a reason
     * every frame the filter still holds, and let go of them.  NULL: the
     * filter never holds frames. */
    void (*end)(vk_filter *flt);
} vk_filter_ops;

struct vk_filter {
    const vk_filter_ops *ops;
    char id[64];
    vk_port *port;  /* the netdev it is attached to */
    unsigned queue; /* VK_FILTER_RX and/or VK_FILTER_TX bits */
    bool on;        /* status=on */
    vk_filter *prev, *next;
    void *priv;
};

/* Reads the keys every filter has (netdev, queue, status, position, insert)
 * and links flt into the chain of its netdev: at the tail by default, or
 * before/behind (insert=, default behind) the filter named by position=id=F,
 * or at the head (position=head).  flt->ops and flt->priv must be set; the id
 * is taken from o.  Errors name the key. */
int vk_filter_attach(vk_filter *flt, vk_net *net, vk_opts *o, vk_diag *d);
/* Links flt at the tail of p's chain with the given id and queue bits, on
 * (for filters made by code rather than by -object options). */
void vk_filter_attach_tail(vk_filter *flt, vk_port *p, const char *id, unsigned queue);
/* Unlinks flt from its port's chain (before the filter is freed). */
void vk_filter_detach(vk_filter *flt);

/* Lets f go on through the rest of the chain after flt, then to its
 * destination, as if flt had let it pass (frame.h ownership: borrowed). */
void vk_filter_pass_on(vk_filter *flt, vk_filter_dir dir, vk_frame *f);
/* Drops f at flt, traced on the filter's port with `reason` as
 * "<type> <id>: <reason>"... the caller writes the whole reason. */
void vk_filter_drop(vk_filter *flt, vk_filter_dir dir, const vk_frame *f, const char *reason);
/* The net's time (loop now) for a filter's decisions. */
uint64_t vk_filter_now(const vk_filter *flt);
vk_net *vk_filter_net(const vk_filter *flt);

/* Core's entry points (port.c): run the tx chain of `from` / the rx chain of
 * `to` for f; at the end of the chain the frame goes on to the next step. */
void vk_filter_run_tx(vk_port *from, vk_frame *f);
void vk_filter_run_rx(vk_port *to, vk_frame *f);

/* Prints every filter's counters of the net (for --stats). */
void vk_filter_print_stats(const vk_net *net, FILE *out);

#endif
