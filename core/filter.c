/*
 * The filter chain of a netdev (rules in filter.h): QEMU's common filter keys,
 * the order in which a frame meets the filters, and where it goes after the
 * last one.
 */
#include "core/filter.h"

#include <stdio.h>
#include <string.h>

#include "core/loop.h"
#include "core/net.h"
#include "core/port.h"

static vk_filter *chain_next(const vk_filter *flt, vk_filter_dir dir)
{
    return dir == VK_FILTER_TX ? flt->next : flt->prev;
}

/* Runs f through the filters of `port` from `start` on, then onward. */
static void run_from(vk_port *port, vk_filter_dir dir, vk_filter *start, vk_frame *f)
{
    for (vk_filter *flt = start; flt != NULL; flt = chain_next(flt, dir)) {
        if (!flt->on || (flt->queue & (unsigned)dir) == 0)
            continue;
        if (flt->ops->receive(flt, dir, f) == VK_FILTER_TAKEN)
            return;
    }
    if (dir == VK_FILTER_TX)
        vk_port_transmit(port, f);
    else
        vk_port_enter(port, f);
}

void vk_filter_run_tx(vk_port *from, vk_frame *f)
{
    run_from(from, VK_FILTER_TX, from->filters, f);
}

void vk_filter_run_rx(vk_port *to, vk_frame *f)
{
    run_from(to, VK_FILTER_RX, to->filters_tail, f);
}

void vk_filter_pass_on(vk_filter *flt, vk_filter_dir dir, vk_frame *f)
{
    run_from(flt->port, dir, chain_next(flt, dir), f);
}

void vk_filter_drop(vk_filter *flt, vk_filter_dir dir, const vk_frame *f, const char *reason)
{
    if (dir == VK_FILTER_TX)
        vk_port_drop_outbound(flt->port, f, reason);
    else
        vk_port_drop(flt->port, f, reason);
}

uint64_t vk_filter_now(const vk_filter *flt)
{
    return vk_loop_now(vk_net_loop(flt->port->net));
}

vk_net *vk_filter_net(const vk_filter *flt)
{
    return flt->port->net;
}

/* ---- attaching: QEMU's netdev, queue, status, position, insert ---- */

static vk_filter *find_in_chain(vk_port *p, const char *id)
{
    for (vk_filter *x = p->filters; x != NULL; x = x->next)
        if (strcmp(x->id, id) == 0)
            return x;
    return NULL;
}

static void link_before(vk_port *p, vk_filter *flt, vk_filter *at)
{
    flt->next = at;
    flt->prev = at ? at->prev : p->filters_tail;
    if (flt->prev != NULL)
        flt->prev->next = flt;
    else
        p->filters = flt;
    if (at != NULL)
        at->prev = flt;
    else
        p->filters_tail = flt;
}

static int parse_queue(vk_opts *o, unsigned *queue, vk_diag *d)
{
    const char *q = vk_opts_get(o, "queue");
    if (q == NULL || strcmp(q, "all") == 0)
        *queue = VK_FILTER_RX | VK_FILTER_TX;
    else if (strcmp(q, "rx") == 0)
        *queue = VK_FILTER_RX;
    else if (strcmp(q, "tx") == 0)
        *queue = VK_FILTER_TX;
    else
        return vk_opts_error(o, d, VK_EINVAL, "queue", "'%s' is not all, rx or tx", q);
    return VK_OK;
}

static int parse_status(vk_opts *o, bool *on, vk_diag *d)
{
    const char *s = vk_opts_get(o, "status");
    if (s == NULL || strcmp(s, "on") == 0)
        *on = true;
    else if (strcmp(s, "off") == 0)
        *on = false;
    else
        return vk_opts_error(o, d, VK_EINVAL, "status", "'%s' is not on or off", s);
    return VK_OK;
}

/* Where to link: *at is the filter to insert before (NULL: the tail). */
static int parse_position(vk_opts *o, vk_port *p, vk_filter **at, vk_diag *d)
{
    const char *pos = vk_opts_get(o, "position");
    const char *ins = vk_opts_get(o, "insert");
    bool before = false;
    if (ins != NULL && strcmp(ins, "before") == 0)
        before = true;
    else if (ins != NULL && strcmp(ins, "behind") != 0)
        return vk_opts_error(o, d, VK_EINVAL, "insert", "'%s' is not behind or before", ins);
    *at = NULL;
    if (pos == NULL || strcmp(pos, "tail") == 0) {
        if (ins != NULL && pos == NULL)
            return vk_opts_error(o, d, VK_EINVAL, "insert", "needs position=id=FILTER");
        return VK_OK;
    }
    if (strcmp(pos, "head") == 0) {
        *at = p->filters;
        return VK_OK;
    }
    if (strncmp(pos, "id=", 3) != 0)
        return vk_opts_error(o, d, VK_EINVAL, "position", "'%s' is not head, tail or id=FILTER",
                             pos);
    vk_filter *ref = find_in_chain(p, pos + 3);
    if (ref == NULL)
        return vk_opts_error(o, d, VK_ENOENT, "position",
                             "no filter '%s' on netdev '%s' (filters are created in order)",
                             pos + 3, p->id);
    *at = before ? ref : ref->next;
    return VK_OK;
}

int vk_filter_attach(vk_filter *flt, vk_net *net, vk_opts *o, vk_diag *d)
{
    const char *id = vk_opts_get(o, "id");
    const char *netdev = vk_opts_get(o, "netdev");
    if (id == NULL || strlen(id) >= sizeof flt->id)
        return vk_opts_error(o, d, VK_EINVAL, "id", id ? "too long" : "missing");
    if (netdev == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "netdev", "missing");
    vk_port *p = vk_net_find_port(net, netdev);
    if (p == NULL)
        return vk_opts_error(o, d, VK_ENOENT, "netdev", "no netdev '%s'", netdev);
    int r;
    vk_filter *at;
    if ((r = parse_queue(o, &flt->queue, d)) != VK_OK ||
        (r = parse_status(o, &flt->on, d)) != VK_OK ||
        (r = parse_position(o, p, &at, d)) != VK_OK)
        return r;
    snprintf(flt->id, sizeof flt->id, "%s", id);
    flt->port = p;
    link_before(p, flt, at);
    return VK_OK;
}

void vk_filter_attach_tail(vk_filter *flt, vk_port *p, const char *id, unsigned queue)
{
    snprintf(flt->id, sizeof flt->id, "%s", id);
    flt->queue = queue;
    flt->on = true;
    flt->port = p;
    link_before(p, flt, NULL);
}

void vk_filter_detach(vk_filter *flt)
{
    vk_port *p = flt->port;
    if (p == NULL)
        return;
    if (flt->prev != NULL)
        flt->prev->next = flt->next;
    else
        p->filters = flt->next;
    if (flt->next != NULL)
        flt->next->prev = flt->prev;
    else
        p->filters_tail = flt->prev;
    flt->prev = flt->next = NULL;
    flt->port = NULL;
}

void vk_filter_print_stats(const vk_net *net, FILE *out)
{
    for (size_t i = 0; i < vk_net_port_count(net); i++) {
        const vk_port *p = vk_net_port_at(net, i);
        for (const vk_filter *flt = p->filters; flt != NULL; flt = flt->next) {
            fprintf(out, "filter %s (%s on %s%s):", flt->id, flt->ops->type, p->id,
                    flt->on ? "" : ", off");
            if (flt->ops->print_stats != NULL)
                flt->ops->print_stats(flt, out);
            fputc('\n', out);
        }
    }
}
