/*
 * The network container and hubs.  A hub is not special: each of its ports
 * is a vk_port of kind "hubport" whose receive() sends the frame out of every
 * other port of the same hub, never back to the sender (QEMU net/hub.c).
 */
#include "core/net.h"
#include "core/grow.h"
#include "core/filter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct vk_hub {
    int id;
    vk_port **ports;
    size_t nports, cap;
} vk_hub;

typedef struct tap_entry {
    const vk_tap_ops *ops;
    void *arg;
} tap_entry;

struct vk_net {
    vk_loop *loop;
    vk_port **ports;
    size_t nports, ports_cap;
    vk_hub **hubs;
    size_t nhubs;
    tap_entry taps[VK_NET_MAX_TAPS];
    size_t ntaps;
    /* The inbound record of the frame a port is receiving, held back until
     * the next trace event: if that event is the port dropping this very
     * frame, the drop replaces it (one record per frame, port and
     * direction); otherwise it is written first, so order is kept. */
    struct {
        const vk_port *port;
        const vk_frame *f;
        uint64_t ts;
    } pending_in;
    uint64_t next_frame_id;
    vk_gso_split_fn gso_split;
    bool ended; /* vk_net_end() ran */
    int failure;
    char failure_msg[512];
};

vk_net *vk_net_new(vk_loop *loop)
{
    vk_net *net = calloc(1, sizeof *net);
    if (net == NULL)
        return NULL;
    net->loop = loop;
    return net;
}

void vk_net_end(vk_net *net)
{
    if (net == NULL || net->ended)
        return;
    net->ended = true;
    for (size_t i = 0; i < net->nports; i++) {
        vk_port *p = net->ports[i];
        for (vk_filter *flt = p->filters; flt != NULL; flt = flt->next)
            if (flt->ops->end != NULL)
                flt->ops->end(flt);
        if (p->ops->end != NULL)
            p->ops->end(p);
    }
    for (size_t i = 0; i < net->nports; i++) {
        vk_port *p = net->ports[i];
        vk_frame *f;
        while ((f = vk_frame_queue_pop(&p->inq)) != NULL) {
            vk_port_drop(p, f, "not delivered before the end of the run");
            vk_frame_unref(f);
        }
    }
}

void vk_net_free(vk_net *net)
{
    if (net == NULL)
        return;
    vk_net_end(net);
    for (size_t i = 0; i < net->nports; i++) {
        vk_port *p = net->ports[i];
        if (p->ops->cleanup != NULL)
            p->ops->cleanup(p);
    }
    for (size_t i = 0; i < net->nports; i++) {
        /* filters outlive the net (their objects are freed after it) */
        vk_filter *flt = net->ports[i]->filters, *next;
        for (; flt != NULL; flt = next) {
            next = flt->next;
            flt->port = NULL;
            flt->prev = flt->next = NULL;
        }
        vk_frame_queue_clear(&net->ports[i]->inq);
        free(net->ports[i]);
    }
    for (size_t i = 0; i < net->nhubs; i++) {
        free(net->hubs[i]->ports);
        free(net->hubs[i]);
    }
    free(net->hubs);
    free(net->ports);
    free(net);
}

vk_loop *vk_net_loop(const vk_net *net)
{
    return net->loop;
}

uint64_t vk_net_timestamp(const vk_net *net)
{
    return vk_loop_epoch(net->loop) + vk_loop_now(net->loop);
}

size_t vk_net_port_count(const vk_net *net)
{
    return net->nports;
}

vk_port *vk_net_port_at(const vk_net *net, size_t i)
{
    return i < net->nports ? net->ports[i] : NULL;
}

vk_port *vk_net_find_port(const vk_net *net, const char *id)
{
    for (size_t i = 0; i < net->nports; i++)
        if (strcmp(net->ports[i]->id, id) == 0)
            return net->ports[i];
    return NULL;
}

int vk_port_new(vk_net *net, const vk_port_ops *ops, const char *id, const char *model,
                size_t priv_size, vk_port **out, vk_diag *d)
{
    if (strlen(id) >= sizeof((vk_port *)0)->id || strlen(model) >= sizeof((vk_port *)0)->model)
        return vk_diag_set(d, VK_ERANGE, "%s '%s': id or model name too long", model, id);
    if (vk_net_find_port(net, id) != NULL)
        return vk_diag_set(d, VK_EEXIST, "duplicate id '%s'", id);
    if (net->nports >= VK_NET_MAX_PORTS)
        return vk_diag_set(d, VK_EFULL, "%s '%s': more than %d ports", model, id,
                           VK_NET_MAX_PORTS);
    if (vk_grow(&net->ports, &net->ports_cap, net->nports, sizeof *net->ports, 16) != VK_OK)
        return vk_diag_set(d, VK_ENOMEM, "%s '%s': out of memory", model, id);
    /* the kind's state follows the port in the same allocation */
    size_t priv_off = (sizeof(vk_port) + 15) & ~(size_t)15;
    vk_port *p = calloc(1, priv_off + priv_size);
    if (p == NULL)
        return vk_diag_set(d, VK_ENOMEM, "%s '%s': out of memory", model, id);
    p->ops = ops;
    snprintf(p->id, sizeof p->id, "%s", id);
    snprintf(p->model, sizeof p->model, "%s", model);
    p->net = net;
    p->index = (unsigned)net->nports;
    p->inq.limit = VK_PORT_QUEUE_DEFAULT;
    p->traced = net->ntaps > 0;
    p->priv = priv_size ? (char *)p + priv_off : NULL;
    net->ports[net->nports++] = p;
    *out = p;
    return VK_OK;
}

int vk_net_connect(vk_port *a, vk_port *b, vk_diag *d)
{
    if (a == b)
        return vk_diag_set(d, VK_EINVAL, "'%s' cannot be its own peer", a->id);
    if (a->peer != NULL)
        return vk_diag_set(d, VK_EEXIST, "'%s' is already connected to '%s'", a->id, a->peer->id);
    if (b->peer != NULL)
        return vk_diag_set(d, VK_EEXIST, "'%s' is already connected to '%s'", b->id, b->peer->id);
    a->peer = b;
    b->peer = a;
    return VK_OK;
}

/* ---- hubs ---- */

typedef struct hubport_state {
    vk_hub *hub;
} hubport_state;

static int hubport_receive(vk_port *self, vk_frame *f)
{
    hubport_state *st = self->priv;
    vk_hub *hub = st->hub;
    for (size_t i = 0; i < hub->nports; i++)
        if (hub->ports[i] != self)
            vk_port_send(hub->ports[i], f);
    return VK_OK;
}

/* A hub port passes a super-segment on: vk_port_send() segments it for
 * each port of the hub whose peer cannot take it. */
static bool hubport_accepts_gso(const vk_port *self)
{
    (void)self;
    return true;
}

static void hubport_describe(vk_port *self, char *buf, size_t cap)
{
    hubport_state *st = self->priv;
    snprintf(buf, cap, "hubport hubid=%d", st->hub->id);
}

static const vk_port_ops hubport_ops = {
    .kind = "hubport",
    .receive = hubport_receive,
    .describe = hubport_describe,
    .accepts_gso = hubport_accepts_gso,
};

static vk_hub *hub_get(vk_net *net, int hubid, bool create)
{
    for (size_t i = 0; i < net->nhubs; i++)
        if (net->hubs[i]->id == hubid)
            return net->hubs[i];
    if (!create)
        return NULL;
    vk_hub **hubs = realloc(net->hubs, (net->nhubs + 1) * sizeof *hubs);
    if (hubs == NULL)
        return NULL;
    net->hubs = hubs;
    vk_hub *hub = calloc(1, sizeof *hub);
    if (hub == NULL)
        return NULL;
    hub->id = hubid;
    net->hubs[net->nhubs++] = hub;
    return hub;
}

int vk_net_add_hubport(vk_net *net, int hubid, const char *id, vk_port **out, vk_diag *d)
{
    vk_hub *hub = hub_get(net, hubid, true);
    if (hub == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory creating hub %d", hubid);
    if (hub->nports == hub->cap) {
        size_t cap = hub->cap ? hub->cap * 2 : 4;
        vk_port **ports = realloc(hub->ports, cap * sizeof *ports);
        if (ports == NULL)
            return vk_diag_set(d, VK_ENOMEM, "out of memory adding to hub %d", hubid);
        hub->ports = ports;
        hub->cap = cap;
    }
    vk_port *p;
    int r = vk_port_new(net, &hubport_ops, id, "hubport", sizeof(hubport_state), &p, d);
    if (r != VK_OK)
        return r;
    ((hubport_state *)p->priv)->hub = hub;
    hub->ports[hub->nports++] = p;
    *out = p;
    return VK_OK;
}

size_t vk_net_hub_size(const vk_net *net, int hubid)
{
    vk_hub *hub = hub_get((vk_net *)net, hubid, false);
    return hub ? hub->nports : 0;
}

int vk_net_set_link(vk_net *net, const char *id, bool up, vk_diag *d)
{
    vk_port *p = vk_net_find_port(net, id);
    if (p == NULL)
        return vk_diag_set(d, VK_ENOENT, "set_link: no netdev or NIC '%s'", id);
    const char *why = up ? "set_link on" : "set_link off";
    vk_port_set_link(p, up, why);
    if (p->peer != NULL && strcmp(p->peer->ops->kind, "nic") == 0 &&
        strcmp(p->ops->kind, "nic") != 0)
        vk_port_set_link(p->peer, up, why);
    return VK_OK;
}

/* ---- taps, start, failure ---- */

int vk_net_add_tap(vk_net *net, const vk_tap_ops *ops, void *arg)
{
    if (net->ntaps >= VK_NET_MAX_TAPS)
        return VK_EFULL;
    net->taps[net->ntaps++] = (tap_entry){ops, arg};
    for (size_t i = 0; i < net->nports; i++)
        net->ports[i]->traced = true;
    return VK_OK;
}

void vk_net_set_gso_splitter(vk_net *net, vk_gso_split_fn split)
{
    net->gso_split = split;
}

vk_gso_split_fn vk_net_gso_splitter(const vk_net *net)
{
    return net->gso_split;
}

static void write_frame(vk_net *net, const vk_port *p, vk_dir dir, const vk_frame *f, uint64_t ts)
{
    for (size_t i = 0; i < net->ntaps; i++)
        if (net->taps[i].ops->frame != NULL)
            net->taps[i].ops->frame(net->taps[i].arg, p, dir, f, ts);
}

void vk_net_tap_flush_pending(vk_net *net)
{
    if (net->pending_in.port == NULL)
        return;
    const vk_port *p = net->pending_in.port;
    vk_frame *f = (vk_frame *)net->pending_in.f;
    net->pending_in.port = NULL;
    write_frame(net, p, VK_DIR_IN, f, net->pending_in.ts);
    if (f->note != NULL)
        vk_frame_set_note(f, NULL); /* shown once, on this record */
}

void vk_net_tap_receiving(vk_net *net, const vk_port *p, const vk_frame *f)
{
    vk_net_tap_flush_pending(net);
    if (net->ntaps == 0)
        return;
    net->pending_in.port = p;
    net->pending_in.f = f;
    net->pending_in.ts = vk_net_timestamp(net);
}

void vk_net_tap_frame(vk_net *net, const vk_port *p, vk_dir dir, const vk_frame *f)
{
    vk_net_tap_flush_pending(net);
    if (net->ntaps == 0)
        return;
    write_frame(net, p, dir, f, vk_net_timestamp(net));
}

void vk_net_tap_drop(vk_net *net, const vk_port *p, vk_dir dir, const vk_frame *f,
                     const char *reason)
{
    if (net->pending_in.port == p && net->pending_in.f == f && dir == VK_DIR_IN)
        net->pending_in.port = NULL; /* the drop is this frame's one record */
    else
        vk_net_tap_flush_pending(net);
    uint64_t ts = vk_net_timestamp(net);
    for (size_t i = 0; i < net->ntaps; i++)
        if (net->taps[i].ops->drop != NULL)
            net->taps[i].ops->drop(net->taps[i].arg, p, dir, f, reason, ts);
}

void vk_net_tap_link(vk_net *net, const vk_port *p, bool up, const char *why)
{
    vk_net_tap_flush_pending(net);
    uint64_t ts = vk_net_timestamp(net);
    for (size_t i = 0; i < net->ntaps; i++)
        if (net->taps[i].ops->link != NULL)
            net->taps[i].ops->link(net->taps[i].arg, p, up, why, ts);
}

int vk_net_start(vk_net *net, vk_diag *d)
{
    for (size_t i = 0; i < net->nports; i++) {
        vk_port *p = net->ports[i];
        if (p->ops->start == NULL)
            continue;
        int r = p->ops->start(p);
        if (r != VK_OK) {
            const char *msg;
            if (vk_net_failure(net, &msg) != VK_OK)
                return vk_diag_set(d, r, "%s", msg);
            return vk_diag_set(d, r, "'%s': cannot start: %s", p->id, vk_strerror(r));
        }
    }
    return VK_OK;
}

void vk_net_fail(vk_net *net, int err, const char *fmt, ...)
{
    if (net->failure == VK_OK) {
        net->failure = err;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(net->failure_msg, sizeof net->failure_msg, fmt, ap);
        va_end(ap);
    }
    vk_loop_stop(net->loop, err);
}

int vk_net_failure(const vk_net *net, const char **msg)
{
    if (msg != NULL)
        *msg = net->failure_msg;
    return net->failure;
}

uint64_t vk_net_next_frame_id(vk_net *net)
{
    return ++net->next_frame_id;
}
