/* The network's decisions during a replay (see decisions.h). */
#include "replay/decisions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "core/port.h"
#include "wire/describe.h"

static void record(vk_decisions *ds, const vk_port *p, vk_dir dir, const vk_frame *f,
                   const char *text, bool drop, uint64_t ts)
{
    if (ds->n == VK_DECISIONS_MAX) {
        ds->lost++;
        return;
    }
    if (vk_grow(&ds->d, &ds->cap, ds->n, sizeof *ds->d, 64) != VK_OK) {
        ds->lost++;
        return;
    }
    vk_decision *x = &ds->d[ds->n];
    memset(x, 0, sizeof *x);
    char summary[320];
    vk_wire_describe(f->data, f->len, summary, sizeof summary);
    x->text = strdup(text);
    x->summary = strdup(summary);
    if (x->text == NULL || x->summary == NULL) {
        free(x->text);
        free(x->summary);
        ds->lost++;
        return;
    }
    x->ts = ts;
    x->drop = drop;
    x->dir = dir;
    snprintf(x->port, sizeof x->port, "%s", p->id);
    vk_flow_key(f->data, f->len, x->flow);
    ds->n++;
}

static void on_frame(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f, uint64_t ts)
{
    vk_decisions *ds = arg;
    if (f->note == NULL)
        return;
    ds->notes++;
    record(ds, p, dir, f, f->note, false, ts);
}

static void on_drop(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f,
                    const char *reason, uint64_t ts)
{
    vk_decisions *ds = arg;
    ds->drops++;
    record(ds, p, dir, f, reason, true, ts);
}

static const vk_tap_ops decisions_tap = {.frame = on_frame, .drop = on_drop};

int vk_decisions_watch(vk_decisions *ds, vk_net *net)
{
    return vk_net_add_tap(net, &decisions_tap, ds);
}

/* qsort has no context argument: the array being sorted is set here. */
static const vk_decisions *sorting;

static int by_flow_then_time(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = strcmp(sorting->d[i].flow, sorting->d[j].flow);
    if (c != 0)
        return c;
    return i < j ? -1 : i > j; /* recorded in time order */
}

int vk_decisions_index(vk_decisions *ds)
{
    free(ds->by_flow);
    ds->by_flow = malloc((ds->n + 1) * sizeof *ds->by_flow);
    if (ds->by_flow == NULL)
        return VK_ENOMEM;
    for (size_t i = 0; i < ds->n; i++)
        ds->by_flow[i] = i;
    sorting = ds;
    qsort(ds->by_flow, ds->n, sizeof *ds->by_flow, by_flow_then_time);
    sorting = NULL;
    return VK_OK;
}

/* First position in by_flow past every decision of `flow` up to time ts. */
static size_t bound(const vk_decisions *ds, const char *flow, uint64_t ts)
{
    size_t lo = 0, hi = ds->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const vk_decision *x = &ds->d[ds->by_flow[mid]];
        int c = strcmp(x->flow, flow);
        if (c < 0 || (c == 0 && x->ts <= ts))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t vk_decisions_find(const vk_decisions *ds, const char *flow, uint64_t after,
                         uint64_t upto, size_t *first)
{
    *first = 0;
    if (ds->by_flow == NULL || upto <= after)
        return 0;
    size_t a = bound(ds, flow, after);
    size_t b = bound(ds, flow, upto);
    *first = a;
    return b - a;
}

const vk_decision *vk_decisions_at(const vk_decisions *ds, size_t pos)
{
    return &ds->d[ds->by_flow[pos]];
}

void vk_decisions_free(vk_decisions *ds)
{
    for (size_t i = 0; i < ds->n; i++) {
        free(ds->d[i].text);
        free(ds->d[i].summary);
    }
    free(ds->d);
    free(ds->by_flow);
    memset(ds, 0, sizeof *ds);
}
