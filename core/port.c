/*
 * Port delivery and the bounded input queue (rules in port.h).  The queue is
 * a ring of frame references that grows on demand up to its limit; it is the
 * only place in vnetkit where backpressure is held, as QEMU's net/queue.c.
 */
#include "core/port.h"
#include "core/net.h"
#include "core/filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int queue_push(vk_frame_queue *q, vk_frame *f)
{
    if (q->len >= q->limit)
        return VK_EFULL;
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        if (cap > q->limit)
            cap = q->limit;
        vk_frame **ring = malloc(cap * sizeof *ring);
        if (ring == NULL)
            return VK_ENOMEM;
        for (size_t i = 0; i < q->len; i++)
            ring[i] = q->ring[(q->head + i) % q->cap];
        free(q->ring);
        q->ring = ring;
        q->cap = cap;
        q->head = 0;
    }
    q->ring[(q->head + q->len) % q->cap] = vk_frame_ref(f);
    q->len++;
    return VK_OK;
}

static vk_frame *queue_pop(vk_frame_queue *q)
{
    if (q->len == 0)
        return NULL;
    vk_frame *f = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return f;
}

vk_frame *vk_frame_queue_pop(vk_frame_queue *q)
{
    return queue_pop(q);
}

void vk_frame_queue_clear(vk_frame_queue *q)
{
    vk_frame *f;
    while ((f = queue_pop(q)) != NULL)
        vk_frame_unref(f);
    free(q->ring);
    q->ring = NULL;
    q->cap = 0;
}

static inline __attribute__((always_inline)) bool port_can_receive(vk_port *p)
{
    return p->ops->can_receive == NULL || p->ops->can_receive(p);
}

/* A frame the port drops inside receive() is one trace record, the drop
 * (net.c holds the inbound record back until it knows). */
static inline __attribute__((always_inline)) void port_take(vk_port *p, vk_frame *f)
{
    if (p->traced)
        vk_net_tap_receiving(p->net, p, f);
    p->stats.rx_frames++;
    p->stats.rx_bytes += f->len;
    p->ops->receive(p, f);
    if (p->traced)
        vk_net_tap_flush_pending(p->net);
    if (f->note != NULL)
        vk_frame_set_note(f, NULL); /* shown once, on its record */
}

/* The steps of delivery are inline functions that the exported entry points
 * below share, so a frame crosses a port pair in one call, not five. */
static inline __attribute__((always_inline)) void port_enter(vk_port *to, vk_frame *f)
{
    if (to->link_down) { /* QEMU: a client with its link down takes nothing */
        to->stats.drops_other++;
        vk_net_tap_drop(to->net, to, VK_DIR_IN, f, "link down");
        return;
    }
    if (to->inq.len == 0 && port_can_receive(to)) {
        port_take(to, f);
        return;
    }
    int r = queue_push(&to->inq, f);
    if (r != VK_OK) {
        to->stats.drops_queue_full++;
        vk_net_tap_drop(to->net, to, VK_DIR_IN, f, r == VK_EFULL ? "queue full" : "out of memory");
        return;
    }
    to->stats.queued++;
    if (to->inq.len > to->stats.queue_high_water)
        to->stats.queue_high_water = to->inq.len;
}

static inline __attribute__((always_inline)) void port_deliver(vk_port *to, vk_frame *f)
{
    if (f->id == 0)
        f->id = vk_net_next_frame_id(to->net);
    if (to->filters != NULL) {
        vk_filter_run_rx(to, f);
        return;
    }
    port_enter(to, f);
}

static inline __attribute__((always_inline)) void port_transmit(vk_port *from, vk_frame *f)
{
    from->stats.tx_frames++;
    from->stats.tx_bytes += f->len;
    if (from->peer == NULL) {
        /* QEMU discards what a peerless client sends; we also say so, in
         * the frame's one record on this port */
        from->stats.drops_no_peer++;
        vk_net_tap_drop(from->net, from, VK_DIR_OUT, f, "port has no peer");
        return;
    }
    if (from->traced)
        vk_net_tap_frame(from->net, from, VK_DIR_OUT, f);
    if (f->note != NULL)
        vk_frame_set_note(f, NULL);
    port_deliver(from->peer, f);
}

void vk_port_enter(vk_port *to, vk_frame *f)
{
    port_enter(to, f);
}

void vk_port_deliver(vk_port *to, vk_frame *f)
{
    port_deliver(to, f);
}

void vk_port_transmit(vk_port *from, vk_frame *f)
{
    port_transmit(from, f);
}

bool vk_port_passes_gso(const vk_port *from)
{
    const vk_port *peer = from->peer;
    return !from->traced && from->filters == NULL && peer != NULL &&
           peer->filters == NULL && peer->ops->accepts_gso != NULL &&
           peer->ops->accepts_gso(peer);
}

static void split_emit(void *arg, const uint8_t *seg, size_t len)
{
    vk_port *from = arg;
    vk_frame *s = vk_frame_new(seg, len);
    if (s == NULL) {
        from->stats.drops_other++;
        return;
    }
    vk_port_send(from, s);
    vk_frame_unref(s);
}

/* A super-segment that may not leave `from` whole leaves as its segments. */
static void port_split_gso(vk_port *from, vk_frame *f)
{
    vk_gso_split_fn split = vk_net_gso_splitter(from->net);
    int r = split != NULL ? split(f, split_emit, from) : VK_EUNSUPP;
    if (r < 0) {
        vk_port_drop_outbound(from, f, "super-segment that cannot be segmented");
        return;
    }
    from->stats.gso_split++;
}

void vk_port_send(vk_port *from, vk_frame *f)
{
    if (f->gso_mss != 0) {
        if (!vk_port_passes_gso(from)) {
            port_split_gso(from, f);
            return;
        }
        from->stats.gso_tx++;
    }
    if (f->id == 0)
        f->id = vk_net_next_frame_id(from->net);
    if (from->link_down) { /* QEMU: nor does it send */
        from->stats.drops_other++;
        vk_net_tap_drop(from->net, from, VK_DIR_OUT, f, "link down");
        return;
    }
    if (from->filters != NULL) {
        vk_filter_run_tx(from, f);
        return;
    }
    port_transmit(from, f);
}

int vk_port_send_bytes(vk_port *from, const void *data, size_t len)
{
    vk_frame *f = vk_frame_new(data, len);
    if (f == NULL)
        return VK_ENOMEM;
    vk_port_send(from, f);
    vk_frame_unref(f);
    return VK_OK;
}

void vk_port_flush(vk_port *p)
{
    /* receive() may make the port able to take more and call us again */
    if (p->flushing)
        return;
    p->flushing = true;
    while (p->inq.len > 0 && port_can_receive(p)) {
        vk_frame *f = queue_pop(&p->inq);
        if (p->link_down) {
            p->stats.drops_other++;
            vk_net_tap_drop(p->net, p, VK_DIR_IN, f, "link down");
        } else {
            port_take(p, f);
        }
        vk_frame_unref(f);
    }
    p->flushing = false;
}

void vk_port_drop(vk_port *p, const vk_frame *f, const char *reason)
{
    p->stats.drops_other++;
    vk_net_tap_drop(p->net, p, VK_DIR_IN, f, reason);
}

void vk_port_drop_outbound(vk_port *p, const vk_frame *f, const char *reason)
{
    p->stats.drops_other++;
    vk_net_tap_drop(p->net, p, VK_DIR_OUT, f, reason);
}

void vk_port_drop_outbound_bytes(vk_port *p, const void *data, size_t len, const char *reason)
{
    vk_frame *f = vk_frame_new(data, len > VK_FRAME_MAX ? VK_FRAME_MAX : len);
    if (f == NULL) {
        p->stats.drops_other++; /* still counted, even if it cannot be traced */
        return;
    }
    vk_port_drop_outbound(p, f, reason);
    vk_frame_unref(f);
}

void vk_port_set_link(vk_port *p, bool up, const char *why)
{
    if (p->link_down == !up)
        return;
    p->link_down = !up;
    if (up)
        p->stats.link_ups++;
    else
        p->stats.link_downs++;
    vk_net_tap_link(p->net, p, up, why);
    if (p->ops->link_changed != NULL)
        p->ops->link_changed(p);
}

void vk_port_set_queue_limit(vk_port *p, size_t limit)
{
    p->inq.limit = limit;
}

size_t vk_port_queue_len(const vk_port *p)
{
    return p->inq.len;
}

void vk_port_describe(vk_port *p, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    if (p->ops->describe != NULL)
        p->ops->describe(p, buf, cap);
    else
        snprintf(buf, cap, "%s", p->ops->kind);
}
