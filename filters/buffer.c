/*
 * -object filter-buffer,id=ID,netdev=ID,interval=US[,queue=...]: QEMU's
 * net/filter-buffer.c.  Every frame the filter sees is held; every
 * `interval` microseconds (QEMU's unit; vnetkit also takes tc-style units
 * such as 10ms) all held frames go on, in the order they came.  The release
 * timer runs only while frames are held, so a finished virtual run ends
 * (QEMU's timer ticks for ever; the releases fall on the same instants:
 * multiples of the interval from the start).  Frames held are capped
 * (VK_FILTER_BUFFER_MAX, the port queue's default bound); one over the cap
 * is a traced drop.
 */
#include "filters/filters.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/filter.h"
#include "core/loop.h"
#include "core/net.h"
#include "core/port.h"

#define VK_FILTER_BUFFER_MAX VK_PORT_QUEUE_DEFAULT

typedef struct held {
    vk_frame *f; /* our reference */
    vk_filter_dir dir;
} held;

typedef struct buffer_filter {
    vk_filter flt;
    uint64_t interval_ns;
    held *q;
    size_t head, n;
    vk_timer *timer;
    uint64_t released, dropped, releases;
} buffer_filter;

static void release_all(buffer_filter *b)
{
    /* frames that come back while we release wait for the next interval */
    size_t n = b->n;
    b->releases++;
    while (n-- > 0) {
        held h = b->q[b->head];
        b->head = (b->head + 1) % VK_FILTER_BUFFER_MAX;
        b->n--;
        b->released++;
        vk_filter_pass_on(&b->flt, h.dir, h.f);
        vk_frame_unref(h.f);
    }
}

static void on_tick(void *arg, uint64_t now)
{
    buffer_filter *b = arg;
    release_all(b);
    if (b->n > 0)
        vk_timer_arm(b->timer, now + b->interval_ns);
}

static int buffer_receive(vk_filter *flt, vk_filter_dir dir, vk_frame *f)
{
    buffer_filter *b = flt->priv;
    if (b->n == VK_FILTER_BUFFER_MAX) {
        b->dropped++;
        char why[128];
        snprintf(why, sizeof why, "buffer %s: more than %d frames held", flt->id,
                 VK_FILTER_BUFFER_MAX);
        vk_filter_drop(flt, dir, f, why);
        return VK_FILTER_TAKEN;
    }
    b->q[(b->head + b->n) % VK_FILTER_BUFFER_MAX] = (held){vk_frame_ref(f), dir};
    b->n++;
    if (!vk_timer_pending(b->timer)) {
        uint64_t now = vk_filter_now(flt);
        vk_timer_arm(b->timer, (now / b->interval_ns + 1) * b->interval_ns);
    }
    return VK_FILTER_TAKEN;
}

/* QEMU: a filter-buffer switched off lets go of what it holds. */
static void buffer_status_changed(vk_filter *flt)
{
    buffer_filter *b = flt->priv;
    if (!flt->on)
        release_all(b);
}

static void buffer_print_stats(const vk_filter *flt, FILE *out)
{
    const buffer_filter *b = flt->priv;
    fprintf(out, " released %llu in %llu releases, dropped %llu, held %zu",
            (unsigned long long)b->released, (unsigned long long)b->releases,
            (unsigned long long)b->dropped, b->n);
}

static void buffer_end(vk_filter *flt)
{
    buffer_filter *b = flt->priv;
    char why[128];
    snprintf(why, sizeof why, "buffer %s: still held at the end of the run", flt->id);
    for (; b->n > 0; b->n--, b->head = (b->head + 1) % VK_FILTER_BUFFER_MAX) {
        held h = b->q[b->head];
        b->dropped++;
        vk_filter_drop(flt, h.dir, h.f, why);
        vk_frame_unref(h.f);
    }
}

static const vk_filter_ops buffer_ops = {
    .type = "filter-buffer",
    .receive = buffer_receive,
    .status_changed = buffer_status_changed,
    .print_stats = buffer_print_stats,
    .end = buffer_end,
};

static void buffer_destroy(void *obj)
{
    buffer_filter *b = obj;
    if (b == NULL)
        return;
    vk_filter_detach(&b->flt);
    for (; b->n > 0; b->n--, b->head = (b->head + 1) % VK_FILTER_BUFFER_MAX)
        vk_frame_unref(b->q[b->head].f);
    vk_timer_free(b->timer);
    free(b->q);
    free(b);
}

/* QEMU's interval is microseconds; tc-style units are accepted too. */
static int parse_interval(vk_opts *o, uint64_t *ns, vk_diag *d)
{
    const char *v = vk_opts_get(o, "interval");
    if (v == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "interval", "missing (microseconds, > 0)");
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    double scale = 0;
    if (errno == 0 && end != v && x > 0) {
        if (*end == '\0' || strcasecmp(end, "us") == 0)
            scale = 1e3;
        else if (strcasecmp(end, "ms") == 0)
            scale = 1e6;
        else if (strcasecmp(end, "s") == 0)
            scale = 1e9;
        else if (strcasecmp(end, "ns") == 0)
            scale = 1;
    }
    if (scale == 0 || x * scale < 1 || x * scale > 1e15)
        return vk_opts_error(o, d, VK_EINVAL, "interval",
                             "'%s' is not a time above 0 (microseconds, or 10ms, 1s)", v);
    *ns = (uint64_t)(x * scale + 0.5);
    return VK_OK;
}

static int buffer_create(vk_net *net, vk_opts *o, void **out, vk_diag *d)
{
    buffer_filter *b = calloc(1, sizeof *b);
    if (b == NULL)
        return vk_diag_set(d, VK_ENOMEM, "filter-buffer: out of memory");
    b->flt.ops = &buffer_ops;
    b->flt.priv = b;
    b->q = calloc(VK_FILTER_BUFFER_MAX, sizeof *b->q);
    b->timer = vk_timer_new(vk_net_loop(net), on_tick, b);
    int r = VK_OK;
    if (b->q == NULL || b->timer == NULL)
        r = vk_diag_set(d, VK_ENOMEM, "filter-buffer: out of memory");
    if (r == VK_OK)
        r = parse_interval(o, &b->interval_ns, d);
    if (r == VK_OK)
        r = vk_filter_attach(&b->flt, net, o, d);
    if (r != VK_OK) {
        buffer_destroy(b);
        return r;
    }
    *out = b;
    return VK_OK;
}

static const char *const buffer_keys[] = {"netdev", "queue",  "status",   "position",
                                          "insert", "interval", NULL};

const vk_object_type vk_object_filter_buffer = {
    .name = "filter-buffer",
    .keys = buffer_keys,
    .create = buffer_create,
    .destroy = buffer_destroy,
};
