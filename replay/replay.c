/*
 * The replay driver (see replay.h): builds the net, attaches to the guest
 * side, injects the guest's frames on their timer, collects the answers,
 * tears everything down in the engine's order, then compares.
 */
#include "replay/replay.h"
#include "core/grow.h"

#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop.h"
#include "core/net.h"
#include "core/options.h"
#include "backends/user/user.h"
#include "nics/nic.h"
#include "replay/offload.h"
#include "replay/world_recorded.h"
#include "wire/checksum.h"
#include "wire/pcapng.h"

#define REPLAY_PORT_ID "replay"
#define TX_RETRY_NS 1000u

/* A frame of the window: a copy, with its side (after the filter). */
typedef struct wframe {
    vk_cap_frame f;     /* f.data is buf */
    uint8_t *buf;
    size_t cap;
    vk_side side;
} wframe;

/* The window holds a TSO group's guest frames and the frame after them:
 * the group never reaches past an answer (replay/offload.h). */
#define WINDOW (VK_OFFLOAD_MAX_SEGS + 1)

typedef struct run {
    const vk_replay_config *cfg;
    vk_replay *r;
    vk_topology *topo;
    vk_loop *loop;
    vk_net *net;
    vk_tracer *tracer;
    vk_timer *timer;
    vk_timer *skip_timer; /* traces the capture's skipped records */
    size_t next_skip;
    vk_bpf *bpf;
    vk_port *nic;       /* attachment through a NIC, or */
    vk_port *port;      /* through our replay port */
    uint64_t last_when; /* loop time of the previous injection */
    /* the capture, read again in order behind a window (win[0] is the
     * next guest frame once scheduled) */
    vk_capture_reader *rd;
    wframe win[WINDOW];
    size_t whead, wn;
    bool rd_done;       /* the reader reached the end */
    int rd_err;         /* it failed (the file changed): the run fails */
    vk_diag rd_why;
    size_t rd_frames;   /* frames read in this pass */
    /* the recorded world's streamed flows: the capture read once more, as
     * far as the world needs (recording.h, vk_recording_set_source) */
    vk_capture_reader *srd;
    size_t srd_frames;
    /* the next send: one guest frame, or a TSO group (the first npending
     * frames of the window), rewritten copies */
    size_t npending;
    uint8_t *pending[VK_OFFLOAD_MAX_SEGS];
    unsigned retries;
    /* the comparisons, fed as the run goes: answers, and the wire */
    vk_cmp_stream *answers, *wire;
    /* what the first pass learned of the whole capture */
    vk_split_survey survey;
    uint64_t last_ts;   /* latest frame time */
} run;

static int append_event(vk_replay_event **log, size_t *n, size_t *capn, vk_replay_event ev)
{
    if (vk_grow(log, capn, *n, sizeof **log, 256) != VK_OK)
        return VK_ENOMEM;
    uint8_t *copy = malloc(ev.len ? ev.len : 1);
    if (copy == NULL)
        return VK_ENOMEM;
    memcpy(copy, ev.data, ev.len);
    ev.data = copy;
    (*log)[(*n)++] = ev;
    return VK_OK;
}

static int log_event(run *x, bool guest, uint64_t no, uint64_t ts, const uint8_t *data,
                     size_t len, bool in_filter)
{
    if (!x->cfg->keep_log)
        return VK_OK;
    vk_replay *r = x->r;
    vk_replay_event ev = {ts, guest, in_filter, no, (uint8_t *)data, len};
    return append_event(&r->log, &r->nlog, &r->caplog, ev);
}

/* ---- reading the capture again ---- */

/* The message for a capture that changed after the first pass read it. */
static int changed(vk_diag *d, const char *path, size_t frame, const char *how)
{
    return vk_diag_set(d, VK_EIO, "%s: the file changed while it was replayed (it is read "
                                  "again, not held): after frame %zu: %s", path, frame, how);
}

#define NOT_THE_FIRST_PASS_FILE "its size, inode or modification time is not what the first pass read"

/* Opens the capture for one more pass (the fix and the filter apply as in
 * the first): the same file as the first pass read, or an error. */
static int reopen(const run *x, unsigned flags, vk_capture_reader **out, vk_diag *d)
{
    vk_diag why;
    if (vk_capture_open_ex(x->cfg->capture_path, flags | VK_CAPTURE_CHECKED, out, &why) != VK_OK)
        return changed(d, x->cfg->capture_path, 0, why.msg);
    if (!vk_file_id_same(&vk_capture_reader_info(*out)->id, &x->r->cap->id)) {
        vk_capture_reader_free(*out);
        *out = NULL;
        return changed(d, x->cfg->capture_path, 0, NOT_THE_FIRST_PASS_FILE);
    }
    return VK_OK;
}

/* At the end of the run: a capture rewritten during it (its record lengths
 * kept, so that no pass saw it) would have given a verdict made of two
 * files. */
static int still_the_same_file(const run *x, vk_diag *d)
{
    vk_file_id now = vk_file_id_of(x->cfg->capture_path);
    if (vk_file_id_same(&now, &x->r->cap->id))
        return VK_OK;
    return changed(d, x->cfg->capture_path, x->r->cap->count, NOT_THE_FIRST_PASS_FILE);
}

/* The next frame of a later pass, fixed as in the first, with its side
 * before the filter in *pre and after it in *side: 1, 0 at the end, or an
 * error (the file changed) with a message. */
static int reread(const run *x, vk_capture_reader *rd, size_t *nread, vk_cap_frame *f,
                  vk_side *pre, vk_side *side, vk_diag *d)
{
    vk_diag why;
    int e = vk_capture_next(rd, f, &why);
    if (e < 0)
        return changed(d, x->cfg->capture_path, *nread, why.msg);
    if (e == 0 && *nread != x->r->cap->count)
        return changed(d, x->cfg->capture_path, *nread, "it has fewer frames");
    if (e == 0)
        return 0;
    if (++*nread > x->r->cap->count)
        return changed(d, x->cfg->capture_path, *nread - 1, "it has more frames");
    if (x->cfg->fix_checksums) {
        unsigned bad = 0;
        if (vk_csum_check_frame(f->data, f->len, &bad) == VK_OK && bad != 0)
            vk_csum_fill_frame(f->data, f->len);
    }
    *pre = *side = vk_split_side_of(&x->r->split, f);
    if (*side != VK_SIDE_IGNORED && !vk_bpf_match(x->bpf, f->data, f->len))
        *side = VK_SIDE_IGNORED;
    return 1;
}

/* Reads until the window holds k + 1 frames that take part (guest or
 * expected); returns win[k], or NULL at the end of the capture (or on a
 * read error, which fails the run). */
static wframe *peek(run *x, size_t k)
{
    while (x->wn <= k && !x->rd_done) {
        vk_cap_frame f;
        vk_side pre, side;
        vk_diag d;
        int e = reread(x, x->rd, &x->rd_frames, &f, &pre, &side, &d);
        if (e <= 0) {
            x->rd_done = true;
            if (e < 0 && x->rd_err == VK_OK) {
                x->rd_err = e;
                x->rd_why = d;
                if (x->net != NULL)
                    vk_net_fail(x->net, e, "%s", d.msg);
            }
            break;
        }
        if (side == VK_SIDE_IGNORED)
            continue;
        wframe *w = &x->win[(x->whead + x->wn) % WINDOW];
        if (w->cap < f.len) {
            uint8_t *b = realloc(w->buf, f.len);
            if (b == NULL) {
                x->rd_done = true;
                x->rd_err = vk_diag_set(&x->rd_why, VK_ENOMEM, "replay: out of memory");
                if (x->net != NULL)
                    vk_net_fail(x->net, VK_ENOMEM, "replay: out of memory");
                break;
            }
            w->buf = b;
            w->cap = f.len;
        }
        memcpy(w->buf, f.data, f.len);
        w->f = f;
        w->f.data = w->buf;
        w->side = side;
        x->wn++;
    }
    return k < x->wn ? &x->win[(x->whead + k) % WINDOW] : NULL;
}

static void pop(run *x, size_t n)
{
    x->whead = (x->whead + n) % WINDOW;
    x->wn -= n;
}

/* ---- answers ---- */

static int feed_one(run *x, const vk_cap_frame *f)
{
    vk_cmp_frame cf = {f->no, f->ts_ns, f->data, f->len};
    return vk_cmp_stream_expected(x->answers, &cf);
}

static void produced(run *x, const uint8_t *data, size_t len)
{
    vk_replay *r = x->r;
    vk_rw_learn(&r->rw, data, len);
    r->produced++;
    uint64_t ts = vk_net_timestamp(x->net);
    bool in_filter = vk_bpf_match(x->bpf, data, len);
    int e = log_event(x, false, r->produced, ts, data, len, in_filter);
    if (e == VK_OK && in_filter) {
        vk_cmp_frame cf = {r->produced, ts, data, len};
        e = vk_cmp_stream_produced(x->answers, &cf);
    }
    if (e != VK_OK)
        vk_net_fail(x->net, VK_ENOMEM, "replay: out of memory recording answers");
}

static void on_guest_rx(void *arg, vk_port *nic, const uint8_t *data, size_t len)
{
    (void)nic;
    produced(arg, data, len);
}

static int replay_port_receive(vk_port *self, vk_frame *f)
{
    produced(*(run **)self->priv, f->data, f->len);
    return VK_OK;
}

static const vk_port_ops replay_port_ops = {
    .kind = "replay",
    .receive = replay_port_receive,
};

/* ---- the wire: what left the NIC ---- */

static void on_wire_frame(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f,
                          uint64_t ts)
{
    run *x = arg;
    vk_replay *r = x->r;
    if (p != x->nic || dir != VK_DIR_OUT)
        return;
    vk_cmp_frame cf = {++r->nwire, ts, f->data, f->len};
    if (vk_cmp_stream_produced(x->wire, &cf) != VK_OK)
        vk_net_fail(x->net, VK_ENOMEM, "replay: out of memory recording the wire");
}

static const vk_tap_ops wire_tap_ops = {.frame = on_wire_frame};

/* ---- injection ---- */

/* Hands the expected frames before the next guest frame to the comparison
 * (they are due once the injection has reached that point) and arms the
 * timer for that guest frame. */
static void schedule_next(run *x)
{
    wframe *w;
    while ((w = peek(x, 0)) != NULL && w->side != VK_SIDE_GUEST) {
        if (feed_one(x, &w->f) != VK_OK) {
            vk_net_fail(x->net, VK_ENOMEM, "replay: out of memory comparing answers");
            return;
        }
        pop(x, 1);
    }
    if (w == NULL)
        return;
    uint64_t ts = w->f.ts_ns;
    uint64_t rel = ts > x->r->epoch ? ts - x->r->epoch : 0;
    if (rel < x->last_when)
        rel = x->last_when;
    x->last_when = rel;
    vk_timer_arm(x->timer, rel);
}

static void progress(run *x)
{
    if (x->cfg->progress != NULL)
        x->cfg->progress(x->cfg->progress_arg, x->r->injected, x->r->split.guest,
                         x->r->produced);
}

static bool offloading(const run *x)
{
    return x->nic != NULL && x->cfg->offload_set && x->cfg->offload != VK_NIC_OFFLOAD_NONE;
}

/* Chooses the frames of the next send (replay/offload.h: the merge rule
 * with --guest-offload tso: the guest frames that follow in the window, up
 * to the first answer) and makes their rewritten copies. */
static int prepare_pending(run *x)
{
    vk_replay *r = x->r;
    size_t n = 1;
    const wframe *w0 = peek(x, 0);
    vk_tso_seg first, prev, seg;
    if (offloading(x) && x->cfg->offload == VK_NIC_OFFLOAD_TSO &&
        vk_tso_seg_parse(w0->f.data, w0->f.len, vk_nic_tso_zero(x->nic), &first) ==
            VK_MERGE_OK) {
        size_t payload = first.payload_len;
        prev = first;
        for (const wframe *w; n < VK_OFFLOAD_MAX_SEGS && (w = peek(x, n)) != NULL &&
                              w->side == VK_SIDE_GUEST;) {
            if (vk_tso_seg_parse(w->f.data, w->f.len, vk_nic_tso_zero(x->nic), &seg) !=
                    VK_MERGE_OK ||
                vk_tso_can_follow(&first, &prev, &seg, n, payload) != VK_MERGE_OK)
                break;
            payload += seg.payload_len;
            prev = seg;
            n++;
        }
    }
    for (size_t k = 0; k < n; k++) {
        const vk_cap_frame *f = &peek(x, k)->f;
        x->pending[k] = malloc(f->len ? f->len : 1);
        if (x->pending[k] == NULL)
            return VK_ENOMEM;
        x->npending = k + 1;
        memcpy(x->pending[k], f->data, f->len);
        vk_rw_apply(&r->rw, x->pending[k], f->len);
    }
    return VK_OK;
}

/* The k-th frame of the pending send. */
static const vk_cap_frame *pending_frame(run *x, size_t k)
{
    return &x->win[(x->whead + k) % WINDOW].f;
}

static void free_pending(run *x)
{
    for (size_t k = 0; k < x->npending; k++)
        free(x->pending[k]);
    x->npending = 0;
}

/* Hands the pending frames to the driver: one plain frame, one frame with
 * checksum offload, or a TSO super-frame. */
static int send_pending(run *x)
{
    vk_replay *r = x->r;
    size_t len0 = pending_frame(x, 0)->len;
    if (x->nic == NULL)
        return vk_port_send_bytes(x->port, x->pending[0], len0);
    if (!offloading(x))
        return vk_nic_guest_send(x->nic, x->pending[0], len0);
    uint8_t *frame = NULL;
    size_t len = 0;
    vk_guest_offload meta;
    int e;
    if (x->npending > 1) {
        size_t lens[VK_OFFLOAD_MAX_SEGS];
        for (size_t k = 0; k < x->npending; k++)
            lens[k] = pending_frame(x, k)->len;
        e = vk_tso_build((const uint8_t *const *)x->pending, lens, x->npending,
                         vk_nic_tso_zero(x->nic), &frame, &len, &meta);
        if (e != VK_OK)
            return e;
    } else {
        frame = malloc(len0 ? len0 : 1);
        if (frame == NULL)
            return VK_ENOMEM;
        memcpy(frame, x->pending[0], len0);
        len = len0;
        if (vk_csum_prepare(frame, len, vk_nic_csum_zero(x->nic), &meta) != VK_OK) {
            free(frame);
            e = vk_nic_guest_send_offload(x->nic, x->pending[0], len0, NULL);
            if (e == VK_OK)
                r->offload_stats.plain++;
            return e;
        }
    }
    e = vk_nic_guest_send_offload(x->nic, frame, len, &meta);
    free(frame);
    if (e == VK_OK && x->npending > 1) {
        r->offload_stats.tso_jobs++;
        r->offload_stats.tso_segs += x->npending;
    } else if (e == VK_OK) {
        r->offload_stats.csum++;
    }
    return e;
}

static uint64_t rel_time(const run *x, uint64_t ts)
{
    return ts > x->r->epoch ? ts - x->r->epoch : 0;
}

/* The records the capture reader kept apart (runts, records without an
 * Ethernet header to give) are traced as drops at their time, as `run`'s
 * pcap backend drops a runt. */
static void schedule_skip(run *x)
{
    const vk_capture *c = x->r->cap;
    if (x->next_skip < c->nskipped)
        vk_timer_arm(x->skip_timer, rel_time(x, c->skipped[x->next_skip].ts_ns));
}

static void on_skip(void *arg, uint64_t now)
{
    (void)now;
    run *x = arg;
    const vk_cap_skip *s = &x->r->cap->skipped[x->next_skip++];
    char why[192];
    snprintf(why, sizeof why, "capture frame %llu: %s (%zu bytes)", (unsigned long long)s->no,
             s->why, s->caplen);
    vk_port_drop_outbound_bytes(x->nic != NULL ? x->nic : x->port, s->data, s->len, why);
    schedule_skip(x);
}

/* A frame the guest driver refuses (VK_EINVAL: its card cannot send it) is
 * lost as on real hardware: dropped, traced, listed; the replay goes on. */
static int guest_drop(run *x, const vk_cap_frame *f)
{
    vk_replay *r = x->r;
    if (vk_grow(&r->drops, &r->capdrops, r->ndrops, sizeof *r->drops, 16) != VK_OK)
        return VK_ENOMEM;
    r->drops[r->ndrops++] = (vk_replay_drop){f->no, f->len};
    char why[192];
    snprintf(why, sizeof why, "capture frame %llu: the guest driver of model %s cannot send "
             "a frame of %zu bytes", (unsigned long long)f->no, x->nic->model, f->len);
    vk_port_drop_outbound_bytes(x->nic, f->data, f->len, why);
    return VK_OK;
}

static void on_inject(void *arg, uint64_t now)
{
    run *x = arg;
    vk_replay *r = x->r;
    if (peek(x, 0) == NULL)
        return; /* a read error failed the run */
    const vk_cap_frame *f = pending_frame(x, 0);
    if (x->npending == 0 && prepare_pending(x) != VK_OK) {
        vk_net_fail(x->net, VK_ENOMEM, "replay: out of memory");
        return;
    }
    /* logged first: an answer may arrive before the send call returns */
    for (size_t k = 0; k < x->npending; k++) {
        const vk_cap_frame *m = pending_frame(x, k);
        if (log_event(x, true, m->no, vk_net_timestamp(x->net), x->pending[k], m->len, true) !=
            VK_OK) {
            vk_net_fail(x->net, VK_ENOMEM, "replay: out of memory");
            return;
        }
    }
    int e = send_pending(x);
    if (e == VK_EAGAIN && ++x->retries < VK_REPLAY_TX_RETRIES) {
        for (size_t k = 0; x->cfg->keep_log && k < x->npending; k++)
            free(r->log[--r->nlog].data);
        vk_timer_arm(x->timer, now + TX_RETRY_NS);
        return;
    }
    if (e == VK_EINVAL && x->nic != NULL && x->npending == 1 && !offloading(x)) {
        if (x->cfg->keep_log)
            free(r->log[--r->nlog].data);
        if (guest_drop(x, f) != VK_OK) {
            vk_net_fail(x->net, VK_ENOMEM, "replay: out of memory");
            return;
        }
        pop(x, 1);
        free_pending(x);
        x->retries = 0;
        schedule_next(x);
        return;
    }
    if (e != VK_OK) {
        const char *what = x->npending > 1 ? "the TSO job starting with it" : "it";
        if (e == VK_EUNSUPP && offloading(x))
            vk_net_fail(x->net, e, "%s: frame %llu: NIC '%s' refused %s with offload "
                        "metadata (--guest-offload %s): %s", r->cap->path,
                        (unsigned long long)f->no, x->nic->id, what,
                        vk_nic_offload_name(x->cfg->offload), vk_strerror(e));
        else
            vk_net_fail(x->net, e, "%s: frame %llu: the guest could not send %s: %s",
                        r->cap->path, (unsigned long long)f->no, what, vk_strerror(e));
        return;
    }
    for (size_t k = 0; x->wire != NULL && k < x->npending; k++) {
        const vk_cap_frame *m = pending_frame(x, k);
        vk_cmp_frame cf = {m->no, vk_net_timestamp(x->net), x->pending[k], m->len};
        if (vk_cmp_stream_expected(x->wire, &cf) != VK_OK) {
            vk_net_fail(x->net, VK_ENOMEM, "replay: out of memory");
            return;
        }
    }
    pop(x, x->npending);
    r->injected += x->npending;
    free_pending(x);
    x->retries = 0;
    progress(x);
    schedule_next(x);
}

/* ---- setup ---- */

static vk_port *find_nic(run *x, vk_diag *d)
{
    size_t n = vk_topology_nic_count(x->topo);
    for (size_t i = 0; i < n; i++) {
        vk_port *p = vk_topology_nic_at(x->topo, i);
        if (x->cfg->nic_id == NULL || strcmp(p->id, x->cfg->nic_id) == 0)
            return p;
    }
    if (x->cfg->nic_id != NULL)
        vk_diag_set(d, VK_ENOENT, "--nic-id: the topology has no NIC '%s'", x->cfg->nic_id);
    else
        vk_diag_set(d, VK_ENOENT,
                    "the topology has no NIC to replay through; add one (-device MODEL,...) "
                    "or attach to a peer-less port with --port ID");
    return NULL;
}

static int attach(run *x, vk_diag *d)
{
    vk_replay *r = x->r;
    if (x->cfg->port_id == NULL) {
        x->nic = find_nic(x, d);
        if (x->nic == NULL)
            return VK_ENOENT;
        vk_nic_set_guest_sink(x->nic, on_guest_rx, x);
        snprintf(r->attach, sizeof r->attach, "NIC '%s'", x->nic->id);
        return VK_OK;
    }
    vk_port *to = vk_net_find_port(x->net, x->cfg->port_id);
    if (to == NULL)
        return vk_diag_set(d, VK_ENOENT, "--port: the topology has no port '%s'",
                           x->cfg->port_id);
    int e = vk_port_new(x->net, &replay_port_ops, REPLAY_PORT_ID, "replay", sizeof(run *),
                        &x->port, d);
    if (e != VK_OK)
        return e;
    *(run **)x->port->priv = x;
    vk_diag why;
    if (vk_net_connect(x->port, to, &why) != VK_OK)
        return vk_diag_set(d, VK_EEXIST, "--port %s: %s (--port needs a port without peer)",
                           x->cfg->port_id, why.msg);
    snprintf(r->attach, sizeof r->attach, "port '%s'", to->id);
    return VK_OK;
}

/* --guest-offload and the wire check, once the NIC is known. */
static int setup_offload(run *x, vk_diag *d)
{
    const vk_replay_config *cfg = x->cfg;
    const char *mode = vk_nic_offload_name(cfg->offload);
    if (x->nic == NULL && cfg->offload_set)
        return vk_diag_set(d, VK_EINVAL, "--guest-offload needs a NIC to send through, not "
                                         "--port %s", cfg->port_id);
    if (x->nic == NULL && cfg->check_wire)
        return vk_diag_set(d, VK_EINVAL, "--check-wire needs a NIC, not --port %s",
                           cfg->port_id);
    if (cfg->offload_set) {
        if (cfg->offload != VK_NIC_OFFLOAD_NONE && !vk_nic_has_send_offload(x->nic))
            return vk_diag_set(d, VK_EUNSUPP,
                               "--guest-offload %s: the guest driver of NIC '%s' (model %s) "
                               "has no offload entry point; use --guest-offload none",
                               mode, x->nic->id, x->nic->model);
        int e = vk_nic_guest_set_offload(x->nic, cfg->offload);
        if (e != VK_OK && !(e == VK_EUNSUPP && cfg->offload == VK_NIC_OFFLOAD_NONE))
            return vk_diag_set(d, e, "--guest-offload %s: NIC '%s' (model %s) cannot be set "
                                     "so: %s", mode, x->nic->id, x->nic->model, vk_strerror(e));
    }
    if (!cfg->check_wire && !cfg->offload_set)
        return VK_OK;
    x->r->wire_checked = true;
    if (vk_cmp_stream_new(0, NULL, cfg->keep_matches, &x->wire) != VK_OK)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    int e = vk_net_add_tap(x->net, &wire_tap_ops, x);
    return e == VK_OK ? VK_OK : vk_diag_set(d, e, "--check-wire: cannot tap the NIC: %s",
                                            vk_strerror(e));
}

/* Gives every user netdev its world (--world). */
static int setup_worlds(run *x, vk_diag *d)
{
    vk_replay *r = x->r;
    size_t n = vk_net_port_count(x->net);
    for (size_t i = 0; r->rec != NULL && i < n; i++) {
        vk_port *p = vk_net_port_at(x->net, i);
        if (vk_user_stats_of(p) == NULL)
            continue;
        vk_world *w = vk_world_recorded_new(x->loop, r->rec);
        if (w == NULL)
            return vk_diag_set(d, VK_ENOMEM, "out of memory");
        int e = vk_user_set_world(p, w);
        if (e != VK_OK)
            return vk_diag_set(d, e, "--world: cannot give port '%s' its world", p->id);
        r->worlds++;
    }
    return VK_OK;
}

/* The recording's source for its streamed flows: the frames the second pass
 * gave the builder, read again. */
static int stream_next(void *ctx, vk_cap_frame *f, bool *guest, vk_diag *d)
{
    run *x = ctx;
    int e;
    if (x->srd == NULL && (e = reopen(x, VK_CAPTURE_POSITIONS, &x->srd, d)) != VK_OK)
        return e;
    vk_side pre, side;
    while ((e = reread(x, x->srd, &x->srd_frames, f, &pre, &side, d)) == 1)
        if (pre != VK_SIDE_IGNORED) {
            *guest = pre == VK_SIDE_GUEST;
            return 1;
        }
    return e;
}

/* The second pass: the recorded world (built from the whole split: --filter
 * chooses what is compared, not what the outside did), the split's counts
 * after the filter, and the rewriter's recorded answers. */
static int second_pass(run *x, vk_diag *d)
{
    vk_replay *r = x->r;
    vk_rec_builder *b = NULL;
    int e = VK_OK;
    if (x->cfg->world == VK_REPLAY_WORLD_RECORDED &&
        (e = vk_rec_builder_new(r->epoch, x->cfg->capture_path, &b, d)) != VK_OK)
        return e;
    if (b != NULL && x->cfg->rec_hold != 0)
        vk_rec_builder_set_hold(b, x->cfg->rec_hold);
    if (b != NULL && x->cfg->rec_hold_pieces != 0)
        vk_rec_builder_set_hold_pieces(b, x->cfg->rec_hold_pieces);
    vk_capture_reader *rd;
    if ((e = reopen(x, VK_CAPTURE_POSITIONS, &rd, d)) != VK_OK) {
        vk_rec_builder_free(b);
        return e;
    }
    size_t nread = 0;
    vk_cap_frame f;
    vk_side pre = VK_SIDE_IGNORED, side = VK_SIDE_IGNORED;
    while ((e = reread(x, rd, &nread, &f, &pre, &side, d)) == 1) {
        if (b != NULL && pre != VK_SIDE_IGNORED &&
            vk_rec_builder_add(b, &f, pre == VK_SIDE_GUEST) != VK_OK)
            break;
        r->split.guest += side == VK_SIDE_GUEST;
        r->split.expected += side == VK_SIDE_EXPECTED;
        if (side == VK_SIDE_EXPECTED && vk_rw_expect(&r->rw, f.data, f.len) != VK_OK) {
            e = vk_diag_set(d, VK_ENOMEM, "out of memory");
            break;
        }
    }
    vk_capture_reader_free(rd);
    if (e < 0) {
        vk_rec_builder_free(b);
        return e;
    }
    if (b != NULL && (e = vk_rec_builder_finish(b, &r->rec, d)) != VK_OK)
        return e;
    if (r->rec != NULL && vk_recording_streams(r->rec) &&
        vk_recording_set_source(r->rec, stream_next, x) != VK_OK)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    return setup_worlds(x, d);
}

static int split_capture(run *x, vk_diag *d)
{
    vk_replay *r = x->r;
    vk_split_config sc = {
        .guest_mac = x->cfg->guest_mac,
        .iface = x->cfg->capture_iface,
        .attach_id = x->nic ? x->nic->id : x->cfg->port_id,
        .attach_is_peer = x->nic == NULL,
    };
    int e = vk_split_choose(r->cap, &x->survey, &sc, &r->split, d);
    if (e != VK_OK)
        return e;
    if (x->cfg->world == VK_REPLAY_WORLD_LIVE)
        return vk_diag_set(d, VK_EINVAL, "--world live: the live world uses real sockets on "
                                         "the live clock, and a replay runs on the virtual "
                                         "clock; use --world recorded or --world none");
    if ((e = vk_bpf_new(x->cfg->filter, &x->bpf, d)) != VK_OK)
        return e;
    return second_pass(x, d);
}

static int build(run *x, vk_diag *d)
{
    x->loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    x->net = x->loop ? vk_net_new(x->loop) : NULL;
    if (x->net == NULL ||
        vk_cmp_stream_new(x->cfg->norm, &x->r->rw, x->cfg->keep_matches, &x->answers) != VK_OK)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    vk_loop_set_epoch(x->loop, x->r->epoch);
    int e = vk_topology_build(x->topo, x->net, x->cfg->reg, d);
    if (e == VK_OK && vk_decisions_watch(&x->r->decisions, x->net) != VK_OK)
        e = vk_diag_set(d, VK_EFULL, "replay: cannot watch the network's decisions");
    if (e == VK_OK)
        e = attach(x, d);
    if (e == VK_OK)
        e = setup_offload(x, d);
    if (e == VK_OK)
        e = split_capture(x, d);
    if (e != VK_OK)
        return e;
    if (x->cfg->trace != NULL) {
        vk_trace_config tc = *x->cfg->trace;
        tc.topology_text = vk_topology_text(x->topo);
        if ((e = vk_tracer_open(x->net, &tc, &x->tracer, d)) != VK_OK)
            return e;
    }
    x->timer = vk_timer_new(x->loop, on_inject, x);
    x->skip_timer = vk_timer_new(x->loop, on_skip, x);
    if (x->timer == NULL || x->skip_timer == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    /* the third pass, the replay itself */
    if ((e = reopen(x, 0, &x->rd, d)) != VK_OK)
        return e;
    /* armed before the backends start: at equal times the guest goes first */
    schedule_next(x);
    schedule_skip(x);
    return vk_net_start(x->net, d);
}

static uint64_t deadline(const run *x, uint64_t settle)
{
    return (x->last_ts > x->r->epoch ? x->last_ts - x->r->epoch : 0) + settle;
}

static int execute(run *x, vk_diag *d)
{
    int e = build(x, d);
    if (e != VK_OK)
        return e;
    vk_loop_run(x->loop, deadline(x, x->cfg->settle_ns));
    vk_net_end(x->net); /* what is still held is traced as dropped */
    const char *msg;
    if ((e = vk_net_failure(x->net, &msg)) != VK_OK)
        return vk_diag_set(d, e, "%s", msg);
    if (x->tracer != NULL && (e = vk_tracer_finish(x->tracer, d)) != VK_OK)
        return e;
    return VK_OK;
}

static void teardown(run *x)
{
    if (x->tracer != NULL)
        vk_tracer_finish(x->tracer, NULL);
    vk_timer_free(x->timer);
    vk_timer_free(x->skip_timer);
    vk_net_free(x->net);
    x->net = NULL; /* the comparison that follows may still read the capture */
    vk_tracer_close(x->tracer);
    vk_topology_free(x->topo);
    vk_loop_free(x->loop);
    free_pending(x);
}

/* What teardown leaves for the comparison: the reader and the filter. */
static void close_reading(run *x)
{
    vk_capture_reader_free(x->rd);
    x->rd = NULL;
    if (x->r->rec != NULL)
        vk_recording_set_source(x->r->rec, NULL, NULL);
    vk_capture_reader_free(x->srd);
    x->srd = NULL;
    for (size_t i = 0; i < WINDOW; i++)
        free(x->win[i].buf);
    vk_bpf_free(x->bpf);
    x->bpf = NULL;
    vk_split_survey_free(&x->survey);
}

static void free_streams(run *x)
{
    vk_cmp_stream_free(x->answers);
    vk_cmp_stream_free(x->wire);
    x->answers = x->wire = NULL;
}

/* ---- comparison ---- */

/* Settles both comparisons once the run is over: the expected frames not
 * yet handed over (after the last guest frame) go in, then what is left
 * unpaired is missing or unexpected. */
static int compare(run *x, vk_diag *d)
{
    vk_replay *r = x->r;
    if (x->answers == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory comparing frames");
    wframe *w;
    while ((w = peek(x, 0)) != NULL) {
        if (w->side == VK_SIDE_EXPECTED && feed_one(x, &w->f) != VK_OK)
            return vk_diag_set(d, VK_ENOMEM, "out of memory comparing frames");
        pop(x, 1);
    }
    if (x->rd_err != VK_OK)
        return vk_diag_set(d, x->rd_err, "%s", x->rd_why.msg);
    int e = vk_cmp_stream_finish(x->answers, &r->cmp);
    x->answers = NULL;
    if (e == VK_OK && x->wire != NULL) {
        e = vk_cmp_stream_finish(x->wire, &r->wire);
        x->wire = NULL;
    }
    if (e == VK_OK && r->rec != NULL && r->rec->io_error != VK_OK)
        return vk_diag_set(d, r->rec->io_error, "%s", r->rec->io_msg);
    return e == VK_OK ? VK_OK : vk_diag_set(d, e, "out of memory comparing frames");
}

/* The first pass: reads the whole capture as vk_capture_read() does (same
 * checks, same errors), keeping only what later passes need of it: its
 * description and skipped records (r->cap, without frames), the first and
 * last times, what the split's choice needs, the checksum survey. */
static int first_pass_with(run *x, unsigned flags, vk_diag *d)
{
    vk_replay *r = x->r;
    vk_capture_reader *rd;
    int e = vk_capture_open_ex(x->cfg->capture_path, flags, &rd, d);
    if (e != VK_OK)
        return e;
    vk_cap_frame f;
    while ((e = vk_capture_next(rd, &f, d)) == 1) {
        if (vk_capture_reader_info(rd)->count == 1)
            r->epoch = f.ts_ns;
        if (f.ts_ns > x->last_ts)
            x->last_ts = f.ts_ns;
        if (vk_csum_is_partial(f.data, f.len) && r->csum_partial++ == 0)
            r->csum_first = f.no;
        unsigned bad = 0;
        if (x->cfg->fix_checksums && vk_csum_check_frame(f.data, f.len, &bad) == VK_OK &&
            bad != 0 && vk_csum_fill_frame(f.data, f.len) == VK_OK)
            r->csum_fixed++;
        if (vk_split_survey_add(&x->survey, &f) != VK_OK) {
            e = vk_diag_set(d, VK_ENOMEM, "out of memory");
            break;
        }
    }
    if (e == 0)
        r->cap = vk_capture_reader_take(rd);
    vk_capture_reader_free(rd);
    return e;
}

/* A classic Ethernet pcap is read by the buffered reader first (no library
 * call per record); anything it does not take whole -- another format, a
 * bad record, an empty file -- is read again by libpcap from the start, so
 * the errors and their words are vk_capture_read()'s. */
static int first_pass(run *x, vk_diag *d)
{
    vk_diag ignored;
    if (first_pass_with(x, VK_CAPTURE_CHECKED, &ignored) == VK_OK)
        return VK_OK;
    vk_replay *r = x->r;
    vk_split_survey_free(&x->survey);
    r->epoch = x->last_ts = 0;
    r->csum_partial = r->csum_fixed = 0;
    r->csum_first = 0;
    return first_pass_with(x, 0, d);
}

int vk_replay_run(const vk_replay_config *cfg, vk_topology *topo, vk_replay **out, vk_diag *d)
{
    *out = NULL;
    run x = {.cfg = cfg, .topo = topo};
    x.r = calloc(1, sizeof *x.r);
    if (x.r == NULL) {
        vk_topology_free(topo);
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    }
    vk_rw_init(&x.r->rw);
    int e = first_pass(&x, d);
    if (e == VK_OK)
        e = execute(&x, d);
    teardown(&x); /* may still deliver answers: compared below */
    if (e == VK_OK)
        e = compare(&x, d);
    if (e == VK_OK)
        e = still_the_same_file(&x, d);
    close_reading(&x);
    if (e == VK_OK && vk_decisions_index(&x.r->decisions) != VK_OK)
        e = vk_diag_set(d, VK_ENOMEM, "out of memory comparing frames");
    free_streams(&x);
    if (e != VK_OK) {
        vk_replay_free(x.r);
        return e;
    }
    *out = x.r;
    return VK_OK;
}

void vk_replay_free(vk_replay *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nlog; i++)
        free(r->log[i].data);
    free(r->log);
    vk_cmp_result_free(&r->cmp);
    free(r->drops);
    vk_cmp_result_free(&r->wire);
    vk_split_free(&r->split);
    vk_rw_free(&r->rw);
    vk_decisions_free(&r->decisions);
    vk_recording_unref(r->rec); /* borrows the capture */
    vk_capture_free(r->cap);
    free(r);
}

size_t vk_replay_world_notes(const vk_replay *r)
{
    return r->rec != NULL ? (size_t)r->rec->notes_total : 0;
}

size_t vk_replay_divergences(const vk_replay *r)
{
    return r->cmp.divergences + (r->wire_checked ? r->wire.divergences : 0) +
           vk_replay_world_notes(r);
}

static const char *const world_names[] = {"recorded", "none", "live"};

int vk_replay_world_parse(const char *name, vk_replay_world *out)
{
    int i = vk_name_index(world_names, VK_NAMES_COUNT(world_names), name);
    if (i < 0)
        return VK_EINVAL;
    *out = (vk_replay_world)i;
    return VK_OK;
}

const char *vk_replay_world_name(vk_replay_world w)
{
    return vk_name_at(world_names, VK_NAMES_COUNT(world_names), (size_t)w);
}

/* ---- --update-expected ---- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int write_pcapng(const vk_replay *r, const char *path, vk_diag *d)
{
    vk_pcapng_section shb = {.userappl = "vnetkit " VK_VERSION " replay --update-expected"};
    vk_pcapng *w;
    uint32_t iface;
    int e = vk_pcapng_open(path, &shb, &w, d);
    if (e != VK_OK)
        return e;
    vk_pcapng_add_interface(w, VK_PCAPNG_LINKTYPE_ETHERNET, 0, "guest",
                            "guest side: outbound = sent by the guest, inbound = answers",
                            &iface);
    for (size_t i = 0; i < r->nlog; i++) {
        const vk_replay_event *ev = &r->log[i];
        vk_pcapng_packet pk = {.iface = iface, .ts_ns = ev->ts, .data = ev->data,
                               .caplen = (uint32_t)ev->len, .origlen = (uint32_t)ev->len,
                               .flags = ev->from_guest ? VK_PCAPNG_FLAG_OUTBOUND
                                                       : VK_PCAPNG_FLAG_INBOUND};
        vk_pcapng_write_packet(w, &pk);
    }
    return vk_pcapng_close(w, d);
}

static int write_pcap(const vk_replay *r, const char *path, vk_diag *d)
{
    pcap_t *h = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, VK_TRACE_SNAPLEN_MAX,
                                                     PCAP_TSTAMP_PRECISION_NANO);
    if (h == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    pcap_dumper_t *dump = pcap_dump_open(h, path);
    if (dump == NULL) {
        vk_diag_set(d, VK_EIO, "--update-expected: %s", pcap_geterr(h));
        pcap_close(h);
        return VK_EIO;
    }
    for (size_t i = 0; i < r->nlog; i++) {
        const vk_replay_event *ev = &r->log[i];
        struct pcap_pkthdr ph = {.caplen = (bpf_u_int32)ev->len, .len = (bpf_u_int32)ev->len};
        ph.ts.tv_sec = (time_t)(ev->ts / 1000000000ull);
        ph.ts.tv_usec = (suseconds_t)(ev->ts % 1000000000ull);
        pcap_dump((u_char *)dump, &ph, ev->data);
    }
    int bad = pcap_dump_flush(dump);
    pcap_dump_close(dump);
    pcap_close(h);
    return bad ? vk_diag_set(d, VK_EIO, "--update-expected: %s: write failed", path) : VK_OK;
}

int vk_replay_write_capture(const vk_replay *r, const char *path, vk_diag *d)
{
    return ends_with(path, ".pcapng") ? write_pcapng(r, path, d) : write_pcap(r, path, d);
}
