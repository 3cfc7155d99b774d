/*
 * -object filter-netem: the netem engine (netem_engine.c) as a QEMU network
 * filter.  Each direction the filter sees (queue=rx, tx or both) is its own
 * netem, as a qdisc on each side of a link would be: its own queue, rate,
 * slots and loss state, and its own generator (seed for rx, seed + 1 for
 * tx).  Frames it holds wait in time order on a timer of the net's loop; the
 * trace shows every decision (filter.h): a loss is a drop record with the
 * model and state, a frame that was delayed, corrupted, duplicated or
 * reordered carries a comment saying so.
 *
 * Keys (tc-netem's vocabulary; times as tc: a bare number is microseconds;
 * percentages with or without '%'; rates as tc: a bare number is bit/s):
 *   delay= jitter= correlation= distribution=uniform|normal|pareto|paretonormal
 *   loss= loss-correlation= loss-model=state:P13:P31:P32:P23:P14 | gemodel:P:R:1-H:1-K
 *   duplicate= duplicate-correlation= corrupt= corrupt-correlation=
 *   reorder= reorder-correlation= gap=
 *   rate= rate-packet-overhead= rate-cell-size= rate-cell-overhead=
 *   limit= (default 1000) slot= slot-max= slot-packets= slot-bytes= seed=
 */
#include "filters/netem.h"
#include "core/grow.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/filter.h"
#include "core/loop.h"
#include "core/net.h"
#include "core/options.h"
#include "core/port.h"

#define NETEM_LIMIT_DEFAULT 1000
#define NETEM_LIMIT_MAX 1000000

/* ---- option parsing ---- */

static int bad(vk_opts *o, vk_diag *d, const char *key, const char *v, const char *what)
{
    return vk_opts_error(o, d, VK_EINVAL, key, "'%s' is not %s", v, what);
}

static vk_netem_prob prob_of(double fraction)
{
    double x = fraction * 4294967296.0;
    return x >= 4294967295.0 ? UINT32_MAX : (vk_netem_prob)llround(x);
}

static int parse_percent_str(const char *v, vk_netem_prob *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno != 0 || end == v || (*end != '\0' && strcmp(end, "%") != 0) || !(x >= 0) ||
        x > 100)
        return VK_EINVAL;
    *out = prob_of(x / 100.0);
    return VK_OK;
}

static int get_percent(vk_opts *o, const char *key, vk_netem_prob *out, vk_diag *d)
{
    const char *v = vk_opts_get(o, key);
    if (v == NULL)
        return VK_OK;
    if (parse_percent_str(v, out) != VK_OK)
        return bad(o, d, key, v, "a percentage from 0 to 100%");
    return VK_OK;
}

/* A unit and what one of it is worth (ns, or bit/s). */
typedef struct unit {
    const char *name;
    double scale;
} unit;

/* tc's time units; a bare number is microseconds. */
static const unit time_units[] = {
    {"", 1e3},   {"s", 1e9},    {"sec", 1e9},   {"secs", 1e9}, {"ms", 1e6},
    {"msec", 1e6}, {"msecs", 1e6}, {"us", 1e3}, {"usec", 1e3}, {"usecs", 1e3},
    {"ns", 1},   {"nsec", 1},   {"nsecs", 1}};

/* tc's rate units; a bare number is bit/s. */
static const unit rate_units[] = {
    {"", 1},          {"bit", 1},        {"kbit", 1e3},          {"mbit", 1e6},
    {"gbit", 1e9},    {"tbit", 1e12},    {"kibit", 1024.0},      {"mibit", 1048576.0},
    {"gibit", 1073741824.0}, {"bps", 8}, {"kbps", 8e3},          {"mbps", 8e6},
    {"gbps", 8e9},    {"tbps", 8e12},    {"kibps", 8192.0},      {"mibps", 8388608.0},
    {"gibps", 8589934592.0}};

/* A non-negative number with one of the units, scaled; false if it is not. */
static bool parse_with_unit(const char *v, const unit *units, size_t n, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno != 0 || end == v || !(x >= 0))
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(end, units[i].name) == 0) {
            *out = x * units[i].scale;
            return true;
        }
    return false;
}

static int get_time(vk_opts *o, const char *key, uint64_t *out, vk_diag *d)
{
    const char *v = vk_opts_get(o, key);
    double ns;
    if (v == NULL)
        return VK_OK;
    if (!parse_with_unit(v, time_units, sizeof time_units / sizeof time_units[0], &ns) ||
        ns >= 1e18)
        return bad(o, d, key, v, "a time (e.g. 10ms, 250us, 1.5s; a bare number is microseconds)");
    *out = (uint64_t)llround(ns);
    return VK_OK;
}

static int get_rate(vk_opts *o, const char *key, uint64_t *out, vk_diag *d)
{
    const char *v = vk_opts_get(o, key);
    double bps;
    if (v == NULL)
        return VK_OK;
    if (!parse_with_unit(v, rate_units, sizeof rate_units / sizeof rate_units[0], &bps) ||
        bps == 0)
        return bad(o, d, key, v, "a rate (e.g. 10mbit, 1gbit, 500kbps; a bare number is bit/s)");
    if (bps < 8 || bps > 1e14)
        return vk_opts_error(o, d, VK_ERANGE, key, "'%s' is outside 8bit to 100tbit per second",
                             v);
    *out = (uint64_t)llround(bps);
    return VK_OK;
}

static int get_int(vk_opts *o, const char *key, long min, long max, int64_t *out, vk_diag *d)
{
    const char *v = vk_opts_get(o, key);
    if (v == NULL)
        return VK_OK;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || x < min || x > max)
        return vk_opts_error(o, d, VK_ERANGE, key, "'%s' is not a whole number from %ld to %ld",
                             v, min, max);
    *out = x;
    return VK_OK;
}

/* loss-model=state:P13[:P31[:P32[:P23[:P14]]]] or gemodel:P[:R[:1-H[:1-K]]]
 * (':' or ',' between values; a ',' in an option value is written ',,'). */
static int get_loss_model(vk_opts *o, vk_netem_config *c, vk_diag *d)
{
    const char *v = vk_opts_get(o, "loss-model");
    if (v == NULL)
        return VK_OK;
    const char *colon = strchr(v, ':');
    size_t nlen = colon ? (size_t)(colon - v) : strlen(v);
    if (nlen == 5 && strncmp(v, "state", 5) == 0)
        c->loss_model = VK_NETEM_LOSS_STATE;
    else if (nlen == 7 && strncmp(v, "gemodel", 7) == 0)
        c->loss_model = VK_NETEM_LOSS_GEMODEL;
    else
        return bad(o, d, "loss-model", v, "state:P13:P31:P32:P23:P14 or gemodel:P:R:1-H:1-K");
    vk_netem_prob p[5] = {0};
    size_t n = 0;
    for (const char *s = colon; s != NULL && n < 5; n++) {
        char buf[32];
        const char *e = strpbrk(s + 1, ":,");
        size_t len = e ? (size_t)(e - s - 1) : strlen(s + 1);
        if (len == 0 || len >= sizeof buf)
            return bad(o, d, "loss-model", v, "a list of percentages");
        memcpy(buf, s + 1, len);
        buf[len] = '\0';
        if (parse_percent_str(buf, &p[n]) != VK_OK)
            return bad(o, d, "loss-model", v, "a list of percentages from 0 to 100%");
        s = e;
        if (s != NULL && n == 4)
            return bad(o, d, "loss-model", v, "at most 5 (state) or 4 (gemodel) values");
    }
    if (n == 0)
        return vk_opts_error(o, d, VK_EINVAL, "loss-model", "'%s' gives no probability", v);
    if (c->loss_model == VK_NETEM_LOSS_STATE) {
        /* tc's defaults: p31 = 1 - p13, p32 = 0, p23 = 1, p14 = 0 */
        c->p[0] = p[0];
        c->p[1] = n > 1 ? p[1] : UINT32_MAX - p[0];
        c->p[2] = n > 2 ? p[2] : 0;
        c->p[3] = n > 3 ? p[3] : UINT32_MAX;
        c->p[4] = n > 4 ? p[4] : 0;
    } else {
        if (n > 4)
            return bad(o, d, "loss-model", v, "gemodel:P:R:1-H:1-K (4 values at most)");
        /* tc's defaults: r = 1 - p, 1-h = 100%, 1-k = 0 */
        c->p[0] = p[0];
        c->p[1] = n > 1 ? p[1] : UINT32_MAX - p[0];
        c->p[2] = n > 2 ? p[2] : UINT32_MAX;
        c->p[3] = n > 3 ? p[3] : 0;
    }
    return VK_OK;
}

static int get_distribution(vk_opts *o, vk_netem_config *c, vk_diag *d)
{
    static const char *const names[] = {"uniform", "normal", "pareto", "paretonormal"};
    const char *v = vk_opts_get(o, "distribution");
    if (v == NULL)
        return VK_OK;
    int i = vk_name_index(names, VK_NAMES_COUNT(names), v);
    if (i >= 0) {
        c->dist = (vk_netem_dist)i;
        return VK_OK;
    }
    return bad(o, d, "distribution", v, "uniform, normal, pareto or paretonormal");
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s != '\0'; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

static int get_numbers(vk_opts *o, vk_netem_config *c, vk_diag *d)
{
    int64_t gap = 0, limit = NETEM_LIMIT_DEFAULT, pov = 0, csize = 0, cov = 0, sp = 0, sb = 0;
    int r;
    if ((r = get_int(o, "gap", 0, UINT32_MAX, &gap, d)) != VK_OK ||
        (r = get_int(o, "limit", 1, NETEM_LIMIT_MAX, &limit, d)) != VK_OK ||
        (r = get_int(o, "rate-packet-overhead", -65535, 65535, &pov, d)) != VK_OK ||
        (r = get_int(o, "rate-cell-size", 0, 65535, &csize, d)) != VK_OK ||
        (r = get_int(o, "rate-cell-overhead", -65535, 65535, &cov, d)) != VK_OK ||
        (r = get_int(o, "slot-packets", 0, INT32_MAX, &sp, d)) != VK_OK ||
        (r = get_int(o, "slot-bytes", 0, INT32_MAX, &sb, d)) != VK_OK)
        return r;
    c->gap = (uint32_t)gap;
    c->limit = (uint32_t)limit;
    c->packet_overhead = (int32_t)pov;
    c->cell_size = (uint32_t)csize;
    c->cell_overhead = (int32_t)cov;
    c->slot_packets = (uint32_t)sp;
    c->slot_bytes = (uint32_t)sb;
    return VK_OK;
}

static int check_consistency(vk_opts *o, vk_netem_config *c, vk_diag *d)
{
    if (c->reorder != 0 && c->delay_ns == 0)
        return vk_opts_error(o, d, VK_EINVAL, "reorder",
                             "reordering needs a delay (as tc: frames are reordered ahead of "
                             "delayed ones)");
    if (c->reorder != 0 && c->gap == 0)
        c->gap = 1; /* tc's default */
    if (c->loss != 0 && c->loss_model != VK_NETEM_LOSS_RANDOM)
        return vk_opts_error(o, d, VK_EINVAL, "loss-model", "give loss= or loss-model=, not both");
    if ((c->cell_overhead != 0 || c->packet_overhead != 0 || c->cell_size != 0) &&
        c->rate_bps == 0)
        return vk_opts_error(o, d, VK_EINVAL, "rate", "overheads need rate=");
    if ((c->slot_max_ns != 0 || c->slot_packets != 0 || c->slot_bytes != 0) && c->slot_min_ns == 0)
        return vk_opts_error(o, d, VK_EINVAL, "slot", "slot-max/packets/bytes need slot=");
    if (c->slot_max_ns != 0 && c->slot_max_ns < c->slot_min_ns)
        return vk_opts_error(o, d, VK_EINVAL, "slot-max", "is shorter than slot=");
    return VK_OK;
}

int vk_netem_config_parse(vk_netem_config *c, vk_opts *o, const char *id, vk_diag *d)
{
    memset(c, 0, sizeof *c);
    c->seed = fnv1a(id);
    uint64_t seed = c->seed;
    int r;
    if ((r = get_time(o, "delay", &c->delay_ns, d)) != VK_OK ||
        (r = get_time(o, "jitter", &c->jitter_ns, d)) != VK_OK ||
        (r = get_percent(o, "correlation", &c->delay_corr, d)) != VK_OK ||
        (r = get_distribution(o, c, d)) != VK_OK ||
        (r = get_percent(o, "loss", &c->loss, d)) != VK_OK ||
        (r = get_percent(o, "loss-correlation", &c->loss_corr, d)) != VK_OK ||
        (r = get_loss_model(o, c, d)) != VK_OK ||
        (r = get_percent(o, "duplicate", &c->duplicate, d)) != VK_OK ||
        (r = get_percent(o, "duplicate-correlation", &c->duplicate_corr, d)) != VK_OK ||
        (r = get_percent(o, "corrupt", &c->corrupt, d)) != VK_OK ||
        (r = get_percent(o, "corrupt-correlation", &c->corrupt_corr, d)) != VK_OK ||
        (r = get_percent(o, "reorder", &c->reorder, d)) != VK_OK ||
        (r = get_percent(o, "reorder-correlation", &c->reorder_corr, d)) != VK_OK ||
        (r = get_rate(o, "rate", &c->rate_bps, d)) != VK_OK ||
        (r = get_time(o, "slot", &c->slot_min_ns, d)) != VK_OK ||
        (r = get_time(o, "slot-max", &c->slot_max_ns, d)) != VK_OK ||
        (r = get_numbers(o, c, d)) != VK_OK ||
        (r = vk_opts_get_uint(o, "seed", seed, 0, UINT64_MAX, &c->seed, d)) != VK_OK)
        return r;
    return check_consistency(o, c, d);
}

/* ---- the filter ---- */

typedef struct held_frame {
    vk_frame *f; /* our reference */
    uint64_t at;
    uint64_t seq; /* arrival order: equal times leave in order */
} held_frame;

typedef struct netem_filter netem_filter;

typedef struct netem_dir {
    netem_filter *nf;
    vk_filter_dir dir;
    vk_netem_state st;
    held_frame *q; /* sorted by (at, seq) */
    size_t n, cap;
    vk_timer *timer;
} netem_dir;

typedef struct netem_counters {
    uint64_t frames, delayed, lost, over_limit, duplicated, corrupted, reordered, slot_waits;
    uint64_t no_memory;
} netem_counters;

struct netem_filter {
    vk_filter flt;
    bool idle; /* vk_netem_config_is_idle: frames only counted */
    netem_dir rx, tx;
    uint64_t seq;
    netem_counters c;
};

static netem_dir *dir_of(netem_filter *nf, vk_filter_dir dir)
{
    return dir == VK_FILTER_RX ? &nf->rx : &nf->tx;
}

static int hold(netem_dir *nd, vk_frame *f, uint64_t at)
{
    if (vk_grow(&nd->q, &nd->cap, nd->n, sizeof *nd->q, 16) != VK_OK)
        return VK_ENOMEM;
    size_t i = nd->n;
    while (i > 0 && nd->q[i - 1].at > at)
        i--;
    memmove(&nd->q[i + 1], &nd->q[i], (nd->n - i) * sizeof *nd->q);
    nd->q[i] = (held_frame){vk_frame_ref(f), at, nd->nf->seq++};
    nd->n++;
    return VK_OK;
}

static void arm(netem_dir *nd, uint64_t when)
{
    vk_timer_arm(nd->timer, when);
}

/* Lets every frame that is due (and fits the current slot) go on. */
static void release_due(void *arg, uint64_t now)
{
    netem_dir *nd = arg;
    while (nd->n > 0 && nd->q[0].at <= now) {
        uint64_t next;
        if (!vk_netem_slot_take(&nd->st, now, nd->q[0].f->len, &next)) {
            nd->nf->c.slot_waits++;
            arm(nd, next);
            return;
        }
        vk_frame *f = nd->q[0].f;
        nd->n--;
        memmove(&nd->q[0], &nd->q[1], nd->n * sizeof *nd->q);
        /* pass_on may bring frames back into this filter: q is consistent */
        vk_filter_pass_on(&nd->nf->flt, nd->dir, f);
        vk_frame_unref(f);
    }
    if (nd->n > 0)
        arm(nd, nd->q[0].at);
}

static void add_note(char *note, size_t cap, const char *part)
{
    size_t used = strlen(note);
    snprintf(note + used, cap - used, "%s%s", used > 0 ? "; " : "", part);
}

/* Holds f (a copy of our own, annotated and maybe corrupted) until v->send_at,
 * or lets it go on now. */
static void dispatch(netem_dir *nd, vk_frame *f, const vk_netem_verdict *v, uint64_t now,
                     const char *extra_note)
{
    netem_filter *nf = nd->nf;
    char note[200] = "";
    if (extra_note != NULL)
        snprintf(note, sizeof note, "%s", extra_note);
    char part[80];
    if (v->corrupt) {
        snprintf(part, sizeof part, "corrupt bit %u", v->corrupt_bit);
        add_note(note, sizeof note, part);
    }
    if (v->reorder) {
        snprintf(part, sizeof part, "reordered ahead of %zu held frames", nd->n);
        add_note(note, sizeof note, part);
    } else if (v->send_at > now) {
        uint64_t ns = v->send_at - now;
        snprintf(part, sizeof part, "delayed %llu.%06llu ms", (unsigned long long)(ns / 1000000),
                 (unsigned long long)(ns % 1000000));
        add_note(note, sizeof note, part);
    }
    vk_frame *c = vk_frame_clone(f);
    if (c == NULL) {
        nf->c.no_memory++;
        vk_filter_drop(&nf->flt, nd->dir, f, "netem: out of memory");
        return;
    }
    if (v->corrupt)
        c->data[v->corrupt_bit / 8] ^= (uint8_t)(0x80u >> (v->corrupt_bit % 8));
    char full[sizeof nf->flt.id + 256]; /* "netem ID: " and the note (under 200 bytes) */
    snprintf(full, sizeof full, "netem %s: %s", nf->flt.id, note);
    if (note[0] != '\0' && vk_frame_set_note(c, full) != VK_OK)
        nf->c.no_memory++;
    if (v->reorder || (v->send_at <= now && nd->n == 0)) {
        uint64_t next;
        if (v->reorder || vk_netem_slot_take(&nd->st, now, c->len, &next)) {
            vk_filter_pass_on(&nf->flt, nd->dir, c);
            vk_frame_unref(c);
            return;
        }
    }
    if (v->send_at > now)
        nf->c.delayed++;
    if (hold(nd, c, v->send_at) != VK_OK) {
        nf->c.no_memory++;
        vk_filter_drop(&nf->flt, nd->dir, c, "netem: out of memory");
    } else {
        arm(nd, nd->q[0].at);
    }
    vk_frame_unref(c);
}

/* The duplicate meets netem again (loss, corrupt, delay), without being
 * duplicated itself, as netem re-enqueues its clone. */
static void duplicate_of(netem_dir *nd, const vk_frame *f, uint64_t now)
{
    netem_filter *nf = nd->nf;
    vk_frame *dup = vk_frame_clone(f);
    if (dup == NULL) {
        nf->c.no_memory++;
        return;
    }
    dup->id = vk_net_next_frame_id(vk_filter_net(&nf->flt));
    nf->c.duplicated++;
    char note[64];
    snprintf(note, sizeof note, "duplicate of packet %llu", (unsigned long long)f->id);
    vk_netem_verdict v;
    vk_netem_decide(&nd->st, now, dup->len, nd->n, false, &v);
    if (v.drop) {
        char why[160];
        snprintf(why, sizeof why, "netem %s: %s (%s)", nf->flt.id, v.why, note);
        nf->c.lost += strncmp(v.why, "loss", 4) == 0;
        nf->c.over_limit += strncmp(v.why, "loss", 4) != 0;
        vk_filter_drop(&nf->flt, nd->dir, dup, why);
    } else {
        vk_netem_schedule(&nd->st, now, dup->len, &v);
        nf->c.corrupted += v.corrupt;
        nf->c.reordered += v.reorder;
        dispatch(nd, dup, &v, now, note);
    }
    vk_frame_unref(dup);
}

static int netem_receive(vk_filter *flt, vk_filter_dir dir, vk_frame *f)
{
    netem_filter *nf = flt->priv;
    nf->c.frames++;
    if (nf->idle) /* nothing to decide: no draw, no wait (bench: forward-netem) */
        return VK_FILTER_PASS;
    netem_dir *nd = dir_of(nf, dir);
    uint64_t now = vk_filter_now(flt);
    vk_netem_verdict v;
    vk_netem_decide(&nd->st, now, f->len, nd->n, true, &v);
    if (v.drop) {
        char why[160];
        bool lost = strncmp(v.why, "loss", 4) == 0;
        if (lost)
            snprintf(why, sizeof why, "netem %s: %s", flt->id, v.why);
        else
            snprintf(why, sizeof why, "netem %s: %s %u", flt->id, v.why, nd->st.cfg.limit);
        nf->c.lost += lost;
        nf->c.over_limit += !lost;
        vk_filter_drop(flt, dir, f, why);
        return VK_FILTER_TAKEN;
    }
    if (v.duplicate)
        duplicate_of(nd, f, now);
    vk_netem_schedule(&nd->st, now, f->len, &v);
    nf->c.corrupted += v.corrupt;
    nf->c.reordered += v.reorder;
    uint64_t next;
    /* the common case costs nothing: no change, no wait, no slot */
    if (!v.corrupt && !v.reorder && v.send_at <= now && nd->n == 0 &&
        vk_netem_slot_take(&nd->st, now, f->len, &next))
        return VK_FILTER_PASS;
    dispatch(nd, f, &v, now, NULL);
    return VK_FILTER_TAKEN;
}

static void netem_print_stats(const vk_filter *flt, FILE *out)
{
    const netem_filter *nf = flt->priv;
    const netem_counters *c = &nf->c;
    fprintf(out,
            " frames %llu, delayed %llu, lost %llu, over limit %llu, duplicated %llu, "
            "corrupted %llu, reordered %llu, held %zu",
            (unsigned long long)c->frames, (unsigned long long)c->delayed,
            (unsigned long long)c->lost, (unsigned long long)c->over_limit,
            (unsigned long long)c->duplicated, (unsigned long long)c->corrupted,
            (unsigned long long)c->reordered, nf->rx.n + nf->tx.n);
}

static void dir_end(netem_dir *nd)
{
    for (size_t i = 0; i < nd->n; i++) {
        vk_filter_drop(&nd->nf->flt, nd->dir, nd->q[i].f,
                       "netem: still delayed at the end of the run");
        vk_frame_unref(nd->q[i].f);
    }
    nd->n = 0;
}

static void netem_end(vk_filter *flt)
{
    netem_filter *nf = flt->priv;
    dir_end(&nf->rx);
    dir_end(&nf->tx);
}

static const vk_filter_ops netem_filter_ops = {
    .type = "filter-netem",
    .receive = netem_receive,
    .print_stats = netem_print_stats,
    .end = netem_end,
};

static void dir_free(netem_dir *nd)
{
    for (size_t i = 0; i < nd->n; i++)
        vk_frame_unref(nd->q[i].f);
    free(nd->q);
    vk_timer_free(nd->timer);
}

static void netem_destroy(void *obj)
{
    netem_filter *nf = obj;
    if (nf == NULL)
        return;
    vk_filter_detach(&nf->flt);
    dir_free(&nf->rx);
    dir_free(&nf->tx);
    free(nf);
}

static int dir_init(netem_filter *nf, netem_dir *nd, vk_filter_dir dir, vk_loop *loop,
                    const vk_netem_config *c, uint64_t seed)
{
    nd->nf = nf;
    nd->dir = dir;
    vk_netem_config cd = *c;
    cd.seed = seed;
    vk_netem_init(&nd->st, &cd);
    nd->timer = vk_timer_new(loop, release_due, nd);
    return nd->timer != NULL ? VK_OK : VK_ENOMEM;
}

static int netem_create(vk_net *net, vk_opts *o, void **out, vk_diag *d)
{
    const char *id = vk_opts_get(o, "id");
    netem_filter *nf = calloc(1, sizeof *nf);
    if (nf == NULL)
        return vk_diag_set(d, VK_ENOMEM, "filter-netem: out of memory");
    vk_netem_config c;
    int r = vk_netem_config_parse(&c, o, id ? id : "", d);
    if (r == VK_OK) {
        vk_loop *loop = vk_net_loop(net);
        if (dir_init(nf, &nf->rx, VK_FILTER_RX, loop, &c, c.seed) != VK_OK ||
            dir_init(nf, &nf->tx, VK_FILTER_TX, loop, &c, c.seed + 1) != VK_OK)
            r = vk_diag_set(d, VK_ENOMEM, "filter-netem: out of memory");
    }
    nf->flt.ops = &netem_filter_ops;
    nf->flt.priv = nf;
    nf->idle = r == VK_OK && vk_netem_config_is_idle(&c);
    if (r == VK_OK)
        r = vk_filter_attach(&nf->flt, net, o, d);
    if (r != VK_OK) {
        netem_destroy(nf);
        return r;
    }
    *out = nf;
    return VK_OK;
}

static const char *const netem_keys[] = {
    "netdev", "queue", "status", "position", "insert", "delay", "jitter", "correlation",
    "distribution", "loss", "loss-correlation", "loss-model", "duplicate",
    "duplicate-correlation", "corrupt", "corrupt-correlation", "reorder", "reorder-correlation",
    "gap", "rate", "rate-packet-overhead", "rate-cell-size", "rate-cell-overhead", "limit", "slot",
    "slot-max", "slot-packets", "slot-bytes", "seed", NULL};

const vk_object_type vk_object_filter_netem = {
    .name = "filter-netem",
    .keys = netem_keys,
    .create = netem_create,
    .destroy = netem_destroy,
};
