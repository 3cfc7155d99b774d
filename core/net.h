/*
 * vk_net: one virtual network — its ports, hubs, event loop and the taps that
 * observe every frame (the tracer, filter-dump objects, the replay driver).
 * The net owns its ports: vk_net_free() calls each port's cleanup and frees it.
 */
#ifndef VK_CORE_NET_H
#define VK_CORE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/loop.h"
#include "core/port.h"

/* An observer of traffic.  ts is the trace timestamp in ns (epoch + now).
 * Frames are borrowed for the duration of the call. */
typedef struct vk_tap_ops {
    void (*frame)(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f, uint64_t ts);
    /* dir says which way the dropped frame was going: VK_DIR_IN for a frame
     * that could not enter p, VK_DIR_OUT for one p could not send. */
    void (*drop)(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f, const char *reason,
                 uint64_t ts);
    /* p's link went up or down (vk_port_set_link); NULL: not interested. */
    void (*link)(void *arg, const vk_port *p, bool up, const char *why, uint64_t ts);
} vk_tap_ops;

#define VK_NET_MAX_TAPS 16
#define VK_NET_MAX_PORTS 4096

vk_net *vk_net_new(vk_loop *loop);
void vk_net_free(vk_net *net);
vk_loop *vk_net_loop(const vk_net *net);
uint64_t vk_net_timestamp(const vk_net *net); /* epoch + now, ns */

size_t vk_net_port_count(const vk_net *net);
vk_port *vk_net_port_at(const vk_net *net, size_t i);
vk_port *vk_net_find_port(const vk_net *net, const char *id);

/* Makes a and b peers.  VK_EEXIST if either already has a peer. */
int vk_net_connect(vk_port *a, vk_port *b, vk_diag *d);

/* QEMU's set_link: the link of port `id` goes up or down; when `id` is a
 * netdev whose peer is a NIC, the NIC's link follows (as QEMU, a NIC's
 * netdev keeps its link when the NIC's is set).  VK_ENOENT (message in d) if
 * no port has that id. */
int vk_net_set_link(vk_net *net, const char *id, bool up, vk_diag *d);
/* Adds a hub port to hub `hubid` (created on first use). */
int vk_net_add_hubport(vk_net *net, int hubid, const char *id, vk_port **out, vk_diag *d);
/* Number of ports on hub `hubid` (0 if no such hub). */
size_t vk_net_hub_size(const vk_net *net, int hubid);

/* Adds a tap observing every port of the net; from then on each port's
 * `traced` flag is set (port.h), so every frame is a wire frame: no
 * super-segment passes a traced port. */
int vk_net_add_tap(vk_net *net, const vk_tap_ops *ops, void *arg);

/* Segments the TCP super-segment f (frame.h) into wire frames of at most
 * f->gso_mss payload bytes, each handed to emit (borrowed for the call).
 * Returns the number of segments (> 0) or a negative VK_E*; nothing was
 * emitted on error. */
typedef void (*vk_gso_emit_fn)(void *arg, const uint8_t *seg, size_t len);
typedef int (*vk_gso_split_fn)(const vk_frame *f, vk_gso_emit_fn emit, void *arg);
/* Core knows no protocol: the backend that makes super-segments gives the
 * net the function that segments them (the last one set wins). */
void vk_net_set_gso_splitter(vk_net *net, vk_gso_split_fn split);
vk_gso_split_fn vk_net_gso_splitter(const vk_net *net);

/* Calls each port's start() in creation order. */
int vk_net_start(vk_net *net, vk_diag *d);
/* The run is over: each filter's end() (filter.h) and each port's end()
 * drop what they hold, then every frame
 * still waiting in a port's input queue is dropped (counted, traced as "not
 * delivered before the end of the run").  Call it after the loop and before
 * the traces are finished; vk_net_free() calls it if nobody did.  Once only:
 * later calls do nothing. */
void vk_net_end(vk_net *net);

/* Called by a port that met an input error mid-run (a truncated capture...):
 * records the first message, and stops the loop with err.  The run then ends
 * cleanly, so every trace written so far is closed as a valid file. */
void vk_net_fail(vk_net *net, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The first failure's code (VK_OK if none) and message. */
int vk_net_failure(const vk_net *net, const char **msg);

/* Hands out the next packet id (tracing). */
uint64_t vk_net_next_frame_id(vk_net *net);

/* Internal to core: taps. */
void vk_net_tap_frame(vk_net *net, const vk_port *p, vk_dir dir, const vk_frame *f);
void vk_net_tap_drop(vk_net *net, const vk_port *p, vk_dir dir, const vk_frame *f,
                     const char *reason);
/* p is about to receive f: its inbound record is held until the next event
 * (a drop of f by p replaces it) or vk_net_tap_flush_pending().  f must stay
 * alive until then. */
void vk_net_tap_receiving(vk_net *net, const vk_port *p, const vk_frame *f);
void vk_net_tap_flush_pending(vk_net *net);
void vk_net_tap_link(vk_net *net, const vk_port *p, bool up, const char *why);

#endif
