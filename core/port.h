/*
 * Ports: every network endpoint in vnetkit (a NIC model, a host backend, a hub
 * port) is a vk_port with one table of operations for its kind, as QEMU's
 * NetClientState/NetClientInfo.  Two ports may be peers (a NIC and its netdev,
 * or a netdev and a hub port); a frame sent by a port goes to its peer.
 *
 * Delivery: vk_port_send(from, f) traces f as outbound on `from`, then offers
 * it to the peer.  If the peer's queue already holds frames or its
 * can_receive() says no, the frame waits in the peer's bounded queue
 * (dropped, counted and traced as "queue full" when the queue is at its
 * limit); otherwise it is traced as inbound on the peer and given to the
 * peer's receive().  A port that could not receive calls vk_port_flush() when
 * it can again; queued frames then enter in their original order.
 *
 * Taps (the tracer, the replay driver) see every step; a net without taps skips
 * them per frame (vk_port.traced), which changes nothing else.
 *
 * TCP super-segments (frame.h, gso_mss != 0): vk_port_send() passes one on
 * whole only when vk_port_passes_gso(from): nothing observes the net (no
 * tap: no tracer, no replay), neither side has a filter, and the peer's
 * accepts_gso() says yes.  Otherwise `from` segments it in software first
 * (the net's gso splitter, net.h) and sends the wire-sized segments instead,
 * each with its own id, as QEMU does for a peer without a vnet header; so a
 * hub passes a super-segment on to a TAP and segments it for a card.
 *
 * Frames passed to receive() are borrowed (see frame.h).  receive() is only
 * called when can_receive() is true; it returns VK_OK, or a negative code
 * when it dropped the frame (after vk_port_drop() with its reason).
 */
#ifndef VK_CORE_PORT_H
#define VK_CORE_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/frame.h"

typedef struct vk_port vk_port;
typedef struct vk_net vk_net;

typedef enum vk_dir {
    VK_DIR_IN = 1,  /* into the port: the port received the frame */
    VK_DIR_OUT = 2, /* out of the port: the port sent the frame */
} vk_dir;

typedef struct vk_port_ops {
    const char *kind; /* "hubport", "pcap", "user", "nic", ... */
    int (*receive)(vk_port *self, vk_frame *f);
    bool (*can_receive)(vk_port *self); /* NULL: always */
    void (*cleanup)(vk_port *self);     /* frees what priv points to; NULL: nothing */
    /* One line for humans and trace headers, e.g. "pcap in=a.pcap". NULL: kind. */
    void (*describe)(vk_port *self, char *buf, size_t cap);
    /* Called once by vk_net_start() before the loop runs: schedule the first
     * timers, open sockets.  NULL: nothing to do. */
    int (*start)(vk_port *self);
    /* The link went up or down (vk_port_set_link; QEMU's set_link): a card
     * updates its link-status register and interrupt.  NULL: nothing. */
    void (*link_changed)(vk_port *self);
    /* How far a port that plays a finite input (a capture) is through it:
     * *done of *total units (bytes).  false when its end is not known (a
     * pipe, loop=0).  NULL: the port plays no input.  For progress meters. */
    bool (*input_progress)(vk_port *self, uint64_t *done, uint64_t *total);
    /* Whether receive() takes TCP super-segments (frame.h) as they are: a
     * TAP with a vnet header; a hub port (it segments, per port, what it
     * passes on).  NULL: no, they are segmented before they reach it. */
    bool (*accepts_gso)(const vk_port *self);
    /* The run is over (vk_net_end, before the traces close): drop, with
     * vk_port_drop*() and a reason, every frame the port still holds and
     * will never send or deliver (a transmit buffer), so none goes
     * silently.  Called at most once, before cleanup().  NULL: holds none. */
    void (*end)(vk_port *self);
} vk_port_ops;

typedef struct vk_port_stats {
    uint64_t rx_frames, rx_bytes;  /* taken by receive() */
    uint64_t tx_frames, tx_bytes;  /* sent with vk_port_send() */
    uint64_t queued;               /* frames that had to wait in the queue */
    uint64_t drops_queue_full;
    uint64_t drops_no_peer;
    uint64_t drops_other;          /* reported by the port itself */
    size_t queue_high_water;
    uint64_t link_ups, link_downs; /* vk_port_set_link() changes */
    uint64_t gso_tx;               /* super-segments sent on whole */
    uint64_t gso_split;            /* super-segments segmented in software */
} vk_port_stats;

/* Default bound of a port's input queue (QEMU's is far larger; ours is a
 * deliberate choice so that backpressure shows up early and is traced). */
#define VK_PORT_QUEUE_DEFAULT 1024

typedef struct vk_frame_queue {
    vk_frame **ring;
    size_t cap, head, len, limit;
} vk_frame_queue;

struct vk_port {
    const vk_port_ops *ops;
    char id[64];        /* user-visible id, unique in the net */
    char model[32];     /* NIC model or backend type, e.g. "pcap" */
    vk_port *peer;
    vk_net *net;
    unsigned index;     /* creation order; the pcapng interface number */
    vk_frame_queue inq; /* frames waiting to enter this port */
    bool flushing;
    bool link_down;     /* set by vk_port_set_link(); false for ports that never call it */
    /* The net has taps (vk_net_add_tap): set on every port when the first
     * tap comes, so a net nobody observes spends nothing per frame on them. */
    bool traced;
    vk_port_stats stats;
    struct vk_filter *filters, *filters_tail; /* -object filter-* chain (filter.h) */
    void *priv;         /* the kind's state; allocated with the port */
};

/* Creates a port owned by `net` with priv_size zeroed bytes at port->priv.
 * Fails with VK_EEXIST on a duplicate id, VK_ERANGE on an over-long id or
 * model, VK_EFULL past VK_NET_MAX_PORTS, VK_ENOMEM; the message, naming the
 * model and id, goes into d (may be NULL). */
int vk_port_new(vk_net *net, const vk_port_ops *ops, const char *id, const char *model,
                size_t priv_size, vk_port **out, vk_diag *d);

/* Sends f out of `from` to its peer (see the delivery rule above). */
void vk_port_send(vk_port *from, vk_frame *f);
/* Whether a super-segment sent out of `from` reaches its peer whole (see
 * the delivery rule above).  A port that makes super-segments asks first,
 * and makes wire-sized segments when the answer is no. */
bool vk_port_passes_gso(const vk_port *from);
/* Convenience: copies bytes into a new frame and sends it.  VK_ENOMEM. */
int vk_port_send_bytes(vk_port *from, const void *data, size_t len);
/* Delivers f into `to` as if its peer had sent it (used by tests); same
 * filters and queueing rule. */
void vk_port_deliver(vk_port *to, vk_frame *f);
/* The steps after a port's filters (filter.c): f leaves `from` (traced,
 * counted, offered to the peer), or f enters `to` (queue rule). */
void vk_port_transmit(vk_port *from, vk_frame *f);
void vk_port_enter(vk_port *to, vk_frame *f);
/* Drains the queue of `p` while it can receive. */
void vk_port_flush(vk_port *p);
/* Reports that `p` dropped f on its way in (reason is a short phrase:
 * "no receive buffers"). */
void vk_port_drop(vk_port *p, const vk_frame *f, const char *reason);
/* Reports that `p` dropped f, a frame it was going to send (a bad transmit
 * descriptor, an ARP request that was never answered). */
void vk_port_drop_outbound(vk_port *p, const vk_frame *f, const char *reason);
/* The same for bytes that never became a frame (a card's transmit path):
 * the first VK_FRAME_MAX bytes are traced. */
void vk_port_drop_outbound_bytes(vk_port *p, const void *data, size_t len, const char *reason);
/* Records a change of link state of `p` (a stream peer connected or went
 * away): counted in stats, given to every tap (the tracer writes it as a
 * pcapng comment).  `why` is a short phrase ("peer closed the connection").
 * Calls that do not change the state are ignored. */
void vk_port_set_link(vk_port *p, bool up, const char *why);
void vk_port_set_queue_limit(vk_port *p, size_t limit);
size_t vk_port_queue_len(const vk_port *p);
void vk_port_describe(vk_port *p, char *buf, size_t cap);
/* Releases every queued frame (used by vk_net_free). */
void vk_frame_queue_clear(vk_frame_queue *q);
/* The oldest frame of q, whose reference passes to the caller; NULL when
 * q is empty. */
vk_frame *vk_frame_queue_pop(vk_frame_queue *q);

#endif
