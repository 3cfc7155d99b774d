/*
 * The recorded world (world_recorded.h): world sockets whose peers are the
 * flows of a recording.  Each socket has one timer and a FIFO-ish list of
 * scheduled releases (sorted by due time, ties in insertion order): a
 * connect outcome, a TCP event, a datagram, an accept.  Operations only
 * schedule; the timer releases and calls the stack back.
 */
#include "replay/world_recorded.h"
#include "core/grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/buf.h"
#include "wire/dns.h"

typedef enum rkind { RS_TCP, RS_LISTEN, RS_UDP, RS_PING } rkind;

typedef enum rwhat { REL_CONNECT, REL_TCP_EVENT, REL_DGRAM, REL_ERROR, REL_ACCEPT } rwhat;

typedef struct release {
    uint64_t due;
    rwhat what;
    int status;              /* CONNECT, ERROR */
    size_t idx;              /* TCP_EVENT: event index; ACCEPT: tcp flow index */
    const vk_rec_dgram *dg;  /* DGRAM */
    vk_waddr from;           /* DGRAM, ERROR */
} release;

typedef struct rworld rworld;

/* A guest-view address the socket sent to, and the world address it used. */
typedef struct addr_map {
    vk_waddr guest_view, world;
} addr_map;

#define RS_ADDR_MAP_MAX 16

/* A released datagram (or error) waiting for recvfrom(). */
typedef struct qdgram {
    const vk_rec_dgram *dg;
    vk_waddr from;
    int error;
} qdgram;

/* How far the guest got on a recorded UDP socket; kept by the world so a
 * socket the stack closes and reopens (expiry) carries on. */
typedef struct udp_prog {
    uint64_t dsent;          /* guest datagrams sent */
    size_t next_guest;       /* next guest entry of dg to compare with */
    size_t next_reply;       /* next entry of dg to schedule */
    uint64_t last_due;
} udp_prog;

typedef struct rsock {
    vk_wsock base;           /* first: the stack's view */
    rworld *w;
    rkind kind;
    struct rsock *prev, *next;
    vk_timer *timer;
    char name[160];          /* for notes */
    release *rel;            /* scheduled, sorted by due */
    size_t nrel, caprel, relhead;
    uint64_t last_due;       /* due time of the last thing scheduled in order */
    /* TCP */
    const vk_rec_tcp *t;     /* NULL: unknown flow */
    size_t tflow;            /* its index in the recording */
    bool connected;
    uint64_t gsent;          /* bytes the stack sent */
    bool gfin;
    size_t gpiece;           /* guest stream piece holding gsent (the pieces below it
                              * are checked) */
    bool noted_stream;
    size_t ready_ev;         /* events whose condition the guest met: [0, ready_ev) */
    size_t next_ev;          /* next event to schedule (one at a time) */
    size_t rel_ev;           /* events released: [0, rel_ev) */
    bool reset;              /* the released events end with a reset */
    size_t rd_ev, rd_off;    /* read position */
    /* listener */
    vk_waddr local;
    uint16_t guest_port;     /* inbound flows' guest port it serves */
    /* UDP / ping */
    const vk_rec_udp *u;     /* NULL: none recorded (DNS only, or unknown) */
    udp_prog *prog;          /* the world's progress on u */
    vk_world_flow flow;
    bool noted_udp;
    addr_map map[RS_ADDR_MAP_MAX];
    size_t nmap;
    qdgram *q;               /* released datagrams, not yet read */
    size_t nq, capq, qhead;
} rsock;

struct rworld {
    vk_world base;
    vk_recording *rec;
    bool *tcp_taken, *udp_taken, *dns_taken, *ping_taken;
    udp_prog *udp_prog;
    rsock *socks;            /* every open socket */
    bool *inbound_assigned;
};

/* ---- helpers ---- */

static void waddr_loopback(int family, uint16_t port, vk_waddr *out)
{
    memset(out, 0, sizeof *out);
    out->family = family;
    out->port = port;
    if (family == 6)
        out->ip6.b[15] = 1;
    else
        out->ip4 = vk_ip4_from_u32(0x7f000001u);
}

static void flow_dst(const vk_world_flow *f, vk_waddr *out)
{
    memset(out, 0, sizeof *out);
    out->family = f->family;
    out->port = f->dst_port;
    if (f->family == 6)
        out->ip6 = f->dst6;
    else
        out->ip4 = f->dst4;
}

static void flow_src(const vk_world_flow *f, vk_waddr *out)
{
    memset(out, 0, sizeof *out);
    out->family = f->family;
    out->port = f->src_port;
    if (f->family == 6)
        out->ip6 = f->src6;
    else
        out->ip4 = f->src4;
}

static void name_sock(rsock *s, const char *proto, const vk_world_flow *f)
{
    vk_waddr src, dst;
    char a[64], b[64];
    flow_src(f, &src);
    flow_dst(f, &dst);
    vk_waddr_format(&src, a, sizeof a);
    vk_waddr_format(&dst, b, sizeof b);
    snprintf(s->name, sizeof s->name, "%s %s > %s", proto, a, b);
}

static void on_timer(void *arg, uint64_t now);

static rsock *sock_new(rworld *w, rkind kind, const vk_wsock_events *ev, void *ctx)
{
    rsock *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->timer = vk_timer_new(w->base.loop, on_timer, s);
    if (s->timer == NULL) {
        free(s);
        return NULL;
    }
    s->base.ev = ev;
    s->base.ctx = ctx;
    s->w = w;
    s->kind = kind;
    s->next = w->socks;
    if (w->socks)
        w->socks->prev = s;
    w->socks = s;
    return s;
}

static void sock_free(rsock *s)
{
    rworld *w = s->w;
    if (s->t != NULL) { /* a streamed flow's events and pieces are no longer kept for it */
        vk_recording_consumed(w->rec, s->tflow, SIZE_MAX);
        vk_recording_pieces_checked(w->rec, s->tflow, SIZE_MAX);
    }
    if (s->prev)
        s->prev->next = s->next;
    else
        w->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    vk_timer_free(s->timer);
    free(s->rel);
    free(s->q);
    free(s);
}

static void arm(rsock *s)
{
    if (s->relhead < s->nrel)
        vk_timer_arm(s->timer, s->rel[s->relhead].due);
    else
        vk_timer_cancel(s->timer);
}

/* Schedules r, keeping the list sorted by due (equal dues keep order). */
static int schedule(rsock *s, release r)
{
    if (s->relhead > 0 && s->relhead == s->nrel) {
        s->relhead = 0;
        s->nrel = 0;
    }
    if (vk_grow(&s->rel, &s->caprel, s->nrel, sizeof *s->rel, 8) != VK_OK)
        return VK_ENOMEM;
    size_t i = s->nrel;
    while (i > s->relhead && s->rel[i - 1].due > r.due) {
        s->rel[i] = s->rel[i - 1];
        i--;
    }
    s->rel[i] = r;
    s->nrel++;
    arm(s);
    return VK_OK;
}

static int queue_dgram(rsock *s, const vk_rec_dgram *dg, const vk_waddr *from, int error)
{
    if (s->qhead > 0 && s->qhead == s->nq) {
        s->qhead = 0;
        s->nq = 0;
    }
    if (vk_grow(&s->q, &s->capq, s->nq, sizeof *s->q, 8) != VK_OK)
        return VK_ENOMEM;
    s->q[s->nq].dg = dg;
    s->q[s->nq].from = *from;
    s->q[s->nq].error = error;
    s->nq++;
    return VK_OK;
}

/* ---- TCP ---- */

/* Schedules the next peer event when its condition is met and the one
 * before it was released.  One at a time, so that a long download holds one
 * release, not one per chunk; the times are those of scheduling every
 * ready event at once (each due its delay after the later of the moment it
 * became ready and the previous one's due), and when the guest makes more
 * events ready while one is pending the timer is armed again, as that
 * scheduling would have armed it: ties with other timers fall the same. */
static void tcp_advance(rsock *s, uint64_t now)
{
    const vk_rec_tcp *t = s->t;
    if (t == NULL || !s->connected)
        return;
    size_t ready = vk_rec_tcp_ready(t, s->gsent, s->gfin);
    bool more = ready > s->ready_ev;
    if (more)
        s->ready_ev = ready;
    if (s->next_ev > s->rel_ev || s->next_ev >= s->ready_ev) {
        if (more && s->relhead < s->nrel)
            arm(s);
        return;
    }
    const vk_rec_tcp *holder;
    const vk_rec_event *e = vk_recording_event(s->w->rec, s->tflow, s->next_ev, &holder);
    if (e == NULL)
        return; /* the recording failed: the replay fails on io_error */
    uint64_t base = now > s->last_due ? now : s->last_due;
    release r = {.due = base + e->delay, .what = REL_TCP_EVENT, .idx = s->next_ev};
    if (schedule(s, r) != VK_OK)
        return;
    s->last_due = r.due;
    s->next_ev++;
}

/* Checks what the stack sent against the guest's recorded stream, piece by
 * piece (vk_recording_piece: a streamed guest stream's pieces are built
 * again as they are needed); a difference, or bytes past the recorded
 * stream, is noted once, and the check of the flow ends there. */
static void tcp_check_stream(rsock *s, const uint8_t *data, size_t len)
{
    const vk_rec_tcp *t = s->t;
    if (t == NULL || s->noted_stream)
        return;
    vk_recording *rec = s->w->rec;
    size_t first = s->gpiece;
    uint64_t off = s->gsent;
    for (size_t i = 0; i < len;) {
        const vk_rec_piece *p = NULL;
        while (s->gpiece < t->npieces) {
            p = vk_recording_piece(rec, s->tflow, s->gpiece);
            if (p == NULL)
                break; /* the recording failed: the replay fails on io_error */
            if (p->off + p->len > off + i)
                break;
            s->gpiece++;
            p = NULL;
        }
        if (p == NULL && s->gpiece < t->npieces) {
            s->noted_stream = true;
            break;
        }
        if (s->gpiece == t->npieces) {
            vk_recording_note(rec, "%s: the stack sent %zu bytes past the %llu the "
                              "guest sent in the recording", s->name, len - i,
                              (unsigned long long)t->guest_bytes);
            s->noted_stream = true;
            break;
        }
        size_t at = (size_t)(off + i - p->off);
        size_t n = p->len - at < len - i ? p->len - at : len - i;
        uint8_t recorded[1024]; /* the recorded bytes, read back a block at a time */
        if (n > sizeof recorded)
            n = sizeof recorded;
        if (vk_recording_read(rec, &p->at, at, recorded, n) != VK_OK) {
            s->noted_stream = true; /* the replay fails on the read error */
            break;
        }
        if (memcmp(recorded, data + i, n) != 0) {
            size_t k = 0;
            while (recorded[k] == data[i + k])
                k++;
            vk_recording_note(rec, "%s: stream byte %llu sent to the outside differs "
                              "from the guest's recorded stream", s->name,
                              (unsigned long long)(off + i + k));
            s->noted_stream = true;
            break;
        }
        i += n;
    }
    /* what is checked is forgotten by a streamed guest stream; a flow whose
     * check ended is checked no more */
    if (s->noted_stream)
        vk_recording_pieces_checked(rec, s->tflow, SIZE_MAX);
    else if (s->gpiece > first)
        vk_recording_pieces_checked(rec, s->tflow, s->gpiece);
}

static const vk_rec_tcp *tcp_claim(rworld *w, const vk_world_flow *f, size_t *idx)
{
    const vk_recording *r = w->rec;
    vk_waddr dst, src;
    flow_dst(f, &dst);
    flow_src(f, &src);
    size_t any = r->ntcp;
    for (size_t i = 0; i < r->ntcp; i++) {
        const vk_rec_tcp *t = &r->tcp[i];
        if (t->inbound || w->tcp_taken[i] || !vk_waddr_eq(&t->peer, &dst))
            continue;
        if (vk_waddr_eq(&t->guest, &src)) {
            any = i;
            break;
        }
        if (any == r->ntcp)
            any = i;
    }
    if (any == r->ntcp)
        return NULL;
    w->tcp_taken[any] = true;
    *idx = any;
    return &r->tcp[any];
}

/* A TCP socket for the guest's flow, with the recorded connection it
 * takes (t: NULL when the recording has none left).  NULL: no memory. */
static rsock *tcp_sock_new(rworld *w, const vk_world_flow *flow, const vk_wsock_events *ev,
                           void *ctx)
{
    rsock *s = sock_new(w, RS_TCP, ev, ctx);
    if (s == NULL)
        return NULL;
    name_sock(s, "tcp", flow);
    s->t = tcp_claim(w, flow, &s->tflow);
    return s;
}

static int rec_tcp_connect(vk_world *wb, const vk_world_flow *flow, const vk_waddr *dst,
                           const vk_wsock_events *ev, void *ctx, vk_wsock **out, uint64_t now)
{
    rworld *w = (rworld *)wb;
    (void)dst;
    *out = NULL;
    rsock *s = tcp_sock_new(w, flow, ev, ctx);
    if (s == NULL)
        return VK_ENOMEM;
    release r = {.due = now, .what = REL_CONNECT, .status = VK_ECONNREFUSED};
    if (s->t == NULL)
        vk_recording_note(w->rec, "%s: connection not in the recording: refused", s->name);
    else
        r = (release){.due = now + s->t->connect_delay, .what = REL_CONNECT,
                      .status = s->t->status};
    /* libslirp learns "no route" from connect() itself: an error known at
     * once, returned here as world.h allows */
    if (s->t != NULL && (s->t->status == VK_ENETUNREACH || s->t->status == VK_EHOSTUNREACH)) {
        int st = s->t->status;
        sock_free(s);
        return st;
    }
    if (schedule(s, r) != VK_OK) {
        sock_free(s);
        return VK_ENOMEM;
    }
    *out = &s->base;
    return VK_OK;
}

static void listener_take(rworld *w, rsock *l, uint64_t now);

static int rec_tcp_listen(vk_world *wb, const vk_waddr *local, const vk_wsock_events *ev,
                          void *ctx, vk_wsock **out, uint64_t now)
{
    rworld *w = (rworld *)wb;
    rsock *s = sock_new(w, RS_LISTEN, ev, ctx);
    *out = NULL;
    if (s == NULL)
        return VK_ENOMEM;
    s->local = *local;
    char a[64];
    vk_waddr_format(local, a, sizeof a);
    snprintf(s->name, sizeof s->name, "tcp listen %s", a);
    listener_take(w, s, now);
    *out = &s->base;
    return VK_OK;
}

/* The inbound flows this listener serves: its own port as guest port, else
 * the earliest guest port no listener took. */
static void listener_take(rworld *w, rsock *l, uint64_t now)
{
    const vk_recording *r = w->rec;
    bool found = false;
    for (size_t i = 0; i < r->ntcp && !found; i++)
        found = r->tcp[i].inbound && !w->inbound_assigned[i] &&
                r->tcp[i].guest.port == l->local.port;
    uint16_t port = l->local.port;
    for (size_t i = 0; i < r->ntcp && !found; i++)
        if (r->tcp[i].inbound && !w->inbound_assigned[i]) {
            port = r->tcp[i].guest.port;
            found = true;
        }
    if (!found)
        return;
    l->guest_port = port;
    uint64_t epoch = vk_loop_epoch(w->base.loop);
    for (size_t i = 0; i < r->ntcp; i++) {
        const vk_rec_tcp *t = &r->tcp[i];
        if (!t->inbound || w->inbound_assigned[i] || t->guest.port != port ||
            t->guest.family != l->local.family)
            continue;
        w->inbound_assigned[i] = true;
        uint64_t at = t->syn_ts > epoch ? t->syn_ts - epoch : 0;
        schedule(l, (release){.due = at > now ? at : now, .what = REL_ACCEPT, .idx = i});
    }
}

static long rec_send(vk_world *wb, vk_wsock *sb, const uint8_t *data, size_t len, uint64_t now)
{
    (void)wb;
    rsock *s = (rsock *)sb;
    if (s->kind != RS_TCP || !s->connected || s->gfin)
        return VK_EIO;
    if (s->reset)
        return VK_ECONNRESET;
    tcp_check_stream(s, data, len);
    s->gsent += len;
    tcp_advance(s, now);
    return (long)len;
}

static long rec_recv(vk_world *wb, vk_wsock *sb, uint8_t *buf, size_t cap, uint64_t now)
{
    (void)wb, (void)now;
    rsock *s = (rsock *)sb;
    if (s->kind != RS_TCP || s->t == NULL)
        return VK_EIO;
    size_t n = 0;
    size_t rd_ev = s->rd_ev;
    while (s->rd_ev < s->rel_ev) {
        const vk_rec_tcp *holder;
        const vk_rec_event *e = vk_recording_event(s->w->rec, s->tflow, s->rd_ev, &holder);
        if (e == NULL)
            return VK_EIO;
        if (e->kind != VK_REC_DATA) {
            if (n > 0)
                break;
            return e->kind == VK_REC_EOF ? 0 : VK_ECONNRESET;
        }
        long take = vk_recording_read_event(s->w->rec, holder, e, s->rd_off, buf + n, cap - n);
        if (take < 0)
            return VK_EIO;
        n += (size_t)take;
        s->rd_off += (size_t)take;
        if (s->rd_off == e->len) {
            s->rd_ev++;
            s->rd_off = 0;
        }
        if (n == cap)
            break;
    }
    if (s->rd_ev > rd_ev)
        vk_recording_consumed(s->w->rec, s->tflow, s->rd_ev);
    return n > 0 ? (long)n : VK_EAGAIN;
}

static int rec_shutdown_write(vk_world *wb, vk_wsock *sb, uint64_t now)
{
    (void)wb;
    rsock *s = (rsock *)sb;
    if (s->kind != RS_TCP || !s->connected)
        return VK_EIO;
    if (s->t != NULL && !s->t->guest_fin && !s->gfin)
        vk_recording_note(s->w->rec, "%s: the guest's FIN reached the outside, but the "
                          "recording has none", s->name);
    s->gfin = true;
    if (s->t != NULL) /* nothing more is sent: the guest stream is checked no more */
        vk_recording_pieces_checked(s->w->rec, s->tflow, SIZE_MAX);
    tcp_advance(s, now);
    return VK_OK;
}

/* ---- UDP ---- */

static const vk_rec_udp *udp_claim(rworld *w, const vk_world_flow *f, udp_prog **prog)
{
    const vk_recording *r = w->rec;
    vk_waddr dst, src;
    flow_dst(f, &dst);
    flow_src(f, &src);
    size_t any = r->nudp, same_guest = r->nudp;
    for (size_t i = 0; i < r->nudp; i++) {
        const vk_rec_udp *u = &r->udp[i];
        if (u->inbound)
            continue;
        if (!w->udp_taken[i] && vk_waddr_eq(&u->first_dst, &dst)) {
            if (vk_waddr_eq(&u->guest, &src)) {
                any = i;
                break;
            }
            if (any == r->nudp)
                any = i;
        }
        if (same_guest == r->nudp && vk_waddr_eq(&u->guest, &src))
            same_guest = i; /* reopened after expiry: carries on */
    }
    if (any == r->nudp)
        any = same_guest;
    if (any == r->nudp)
        return NULL;
    w->udp_taken[any] = true;
    *prog = &w->udp_prog[any];
    return &r->udp[any];
}

/* hostfwd=udp: the inbound socket of the rule's guest port (the flow's
 * source), the same guest address preferred. */
static const vk_rec_udp *udp_claim_inbound(rworld *w, const vk_world_flow *f, udp_prog **prog)
{
    const vk_recording *r = w->rec;
    vk_waddr src;
    flow_src(f, &src);
    size_t any = r->nudp;
    for (size_t i = 0; i < r->nudp; i++) {
        const vk_rec_udp *u = &r->udp[i];
        if (!u->inbound || w->udp_taken[i] || u->guest.family != src.family ||
            u->guest.port != src.port)
            continue;
        if (vk_waddr_eq(&u->guest, &src)) {
            any = i;
            break;
        }
        if (any == r->nudp)
            any = i;
    }
    if (any == r->nudp)
        return NULL;
    w->udp_taken[any] = true;
    *prog = &w->udp_prog[any];
    return &r->udp[any];
}

static void udp_advance(rsock *s, uint64_t now);

static int rec_udp_open(vk_world *wb, const vk_world_flow *flow, const vk_waddr *bind_to,
                        const vk_wsock_events *ev, void *ctx, vk_wsock **out, uint64_t now)
{
    rworld *w = (rworld *)wb;
    *out = NULL;
    rsock *s = sock_new(w, RS_UDP, ev, ctx);
    if (s == NULL)
        return VK_ENOMEM;
    name_sock(s, bind_to != NULL ? "udp hostfwd" : "udp", flow);
    s->flow = *flow;
    if (bind_to != NULL) {
        s->u = udp_claim_inbound(w, flow, &s->prog);
        if (s->u != NULL)
            udp_advance(s, now);
    } else {
        s->u = udp_claim(w, flow, &s->prog);
    }
    *out = &s->base;
    return VK_OK;
}

/* The world address for a recorded guest-view source: the address the
 * socket sent to when the guest sent to that address, else itself. */
static vk_waddr world_from(const rsock *s, const vk_waddr *guest_view)
{
    for (size_t i = 0; i < s->nmap; i++)
        if (vk_waddr_eq(&s->map[i].guest_view, guest_view))
            return s->map[i].world;
    vk_waddr lo = *guest_view;
    if (s->u != NULL && s->u->inbound) /* hostfwd clients are replayed as loopback */
        waddr_loopback(guest_view->family, guest_view->port, &lo);
    return lo;
}

static void map_add(rsock *s, const vk_waddr *guest_view, const vk_waddr *world)
{
    for (size_t i = 0; i < s->nmap; i++)
        if (vk_waddr_eq(&s->map[i].guest_view, guest_view)) {
            s->map[i].world = *world;
            return;
        }
    if (s->nmap < RS_ADDR_MAP_MAX)
        s->map[s->nmap++] = (addr_map){*guest_view, *world};
}

/* Schedules the recorded replies whose guest datagram count is reached. */
static void udp_advance(rsock *s, uint64_t now)
{
    const vk_rec_udp *u = s->u;
    udp_prog *g = s->prog;
    for (; g->next_reply < u->dg.n; g->next_reply++) {
        const vk_rec_dgram *d = &u->dg.d[g->next_reply];
        if (d->from_guest)
            continue;
        if (d->prefix > g->dsent)
            return;
        uint64_t due = (now > g->last_due ? now : g->last_due) + d->delay;
        vk_waddr from = world_from(s, &d->addr);
        release r = {.due = due, .what = d->error ? REL_ERROR : REL_DGRAM, .dg = d,
                     .status = d->error, .from = from};
        if (schedule(s, r) != VK_OK)
            return;
        g->last_due = due;
    }
}

/* Whether the recorded datagram d holds data[0..len). */
static bool dgram_equal(vk_recording *r, const vk_rec_dgram *d, const uint8_t *data, size_t len)
{
    uint8_t rec[1024];
    if (d->len != len)
        return false;
    for (size_t at = 0; at < len;) {
        size_t n = len - at < sizeof rec ? len - at : sizeof rec;
        if (vk_recording_read(r, &d->at, at, rec, n) != VK_OK || memcmp(rec, data + at, n) != 0)
            return false;
        at += n;
    }
    return true;
}

/* A datagram on a recorded socket: checked against the guest's recorded
 * one, then the replies it unlocks are scheduled. */
static void udp_send(rsock *s, const vk_waddr *dst, const uint8_t *data, size_t len,
                     uint64_t now)
{
    const vk_rec_udp *u = s->u;
    udp_prog *g = s->prog;
    while (g->next_guest < u->dg.n && !u->dg.d[g->next_guest].from_guest)
        g->next_guest++;
    if (g->next_guest == u->dg.n) {
        if (!s->noted_udp)
            vk_recording_note(s->w->rec, "%s: more datagrams than the %llu of the recording: "
                              "no answer", s->name, (unsigned long long)g->dsent);
        s->noted_udp = true;
        return;
    }
    const vk_rec_dgram *d = &u->dg.d[g->next_guest++];
    if (!s->noted_udp && !dgram_equal(s->w->rec, d, data, len)) {
        vk_recording_note(s->w->rec, "%s: datagram %llu differs from the guest's recorded "
                          "one (frame %llu)", s->name, (unsigned long long)g->dsent + 1,
                          (unsigned long long)d->frame_no);
        s->noted_udp = true;
    }
    map_add(s, &d->addr, dst);
    g->dsent++;
    udp_advance(s, now);
}

static bool dns_send(rsock *s, const vk_waddr *dst, const uint8_t *data, size_t len,
                     uint64_t now)
{
    vk_dns_question q;
    if (vk_dns_parse_question(data, len, &q) != VK_OK || q.response)
        return false;
    rworld *w = s->w;
    const vk_recording *r = w->rec;
    for (size_t i = 0; i < r->ndns; i++) {
        const vk_rec_dns *e = &r->dns[i];
        if (w->dns_taken[i] || e->id != q.id || strcmp(e->name, q.name) != 0)
            continue;
        w->dns_taken[i] = true;
        uint64_t due = now;
        for (size_t k = 0; k < e->replies.n; k++) {
            due += e->replies.d[k].delay;
            schedule(s, (release){.due = due, .what = REL_DGRAM, .dg = &e->replies.d[k],
                                  .from = *dst});
        }
        return true;
    }
    vk_recording_note(w->rec, "%s: DNS query id 0x%04x '%s' not in the recording: port "
                      "unreachable", s->name, q.id, q.name);
    schedule(s, (release){.due = now, .what = REL_ERROR, .status = VK_EPORTUNREACH,
                          .from = *dst});
    return true;
}

static int ping_send(rsock *s, const vk_waddr *dst, const uint8_t *data, size_t len,
                     uint64_t now);

static int rec_sendto(vk_world *wb, vk_wsock *sb, const vk_waddr *dst, const uint8_t *data,
                      size_t len, uint8_t ttl, uint64_t now)
{
    (void)wb, (void)ttl;
    rsock *s = (rsock *)sb;
    if (s->kind == RS_PING)
        return ping_send(s, dst, data, len, now);
    if (s->kind != RS_UDP)
        return VK_EIO;
    if ((dst->port == 53 || s->flow.dst_port == 53) && dns_send(s, dst, data, len, now))
        return VK_OK;
    if (s->u != NULL) {
        udp_send(s, dst, data, len, now);
        return VK_OK;
    }
    vk_recording_note(s->w->rec, "%s: datagram to a socket not in the recording: port "
                      "unreachable", s->name);
    return schedule(s, (release){.due = now, .what = REL_ERROR, .status = VK_EPORTUNREACH,
                                 .from = *dst});
}

static long rec_recvfrom(vk_world *wb, vk_wsock *sb, uint8_t *buf, size_t cap, vk_waddr *from,
                         uint64_t now)
{
    (void)wb, (void)now;
    rsock *s = (rsock *)sb;
    if (s->qhead == s->nq)
        return VK_EAGAIN;
    const qdgram *e = &s->q[s->qhead++];
    if (from != NULL)
        *from = e->from;
    if (e->error != VK_OK)
        return e->error;
    size_t n = e->dg->len < cap ? e->dg->len : cap;
    if (vk_recording_read(s->w->rec, &e->dg->at, 0, buf, n) != VK_OK)
        return VK_EIO;
    return (long)n;
}

/* ---- ICMP echo ---- */

static int rec_ping_open(vk_world *wb, const vk_world_flow *flow, const vk_wsock_events *ev,
                         void *ctx, vk_wsock **out, uint64_t now)
{
    rworld *w = (rworld *)wb;
    (void)now;
    rsock *s = sock_new(w, RS_PING, ev, ctx);
    *out = NULL;
    if (s == NULL)
        return VK_ENOMEM;
    name_sock(s, "icmp", flow);
    s->flow = *flow;
    *out = &s->base;
    return VK_OK;
}

static int ping_send(rsock *s, const vk_waddr *dst, const uint8_t *data, size_t len,
                     uint64_t now)
{
    rworld *w = s->w;
    const vk_recording *r = w->rec;
    vk_rd rd;
    vk_rd_init(&rd, data, len);
    vk_rd_skip(&rd, 4);
    uint16_t id = vk_rd_u16be(&rd), seq = vk_rd_u16be(&rd);
    if (!vk_rd_ok(&rd))
        return VK_EINVAL;
    vk_waddr fdst;
    flow_dst(&s->flow, &fdst);
    size_t any = r->nping;
    for (size_t i = 0; i < r->nping; i++) {
        const vk_rec_ping *p = &r->ping[i];
        if (w->ping_taken[i] || p->seq != seq || !vk_waddr_eq(&p->dst, &fdst))
            continue;
        if (p->id == id) {
            any = i;
            break;
        }
        if (any == r->nping)
            any = i;
    }
    if (any == r->nping) {
        vk_recording_note(w->rec, "%s: echo request id %u seq %u not in the recording: host "
                          "unreachable", s->name, id, seq);
        return schedule(s, (release){.due = now, .what = REL_ERROR,
                                     .status = VK_EHOSTUNREACH, .from = *dst});
    }
    w->ping_taken[any] = true;
    const vk_rec_ping *p = &r->ping[any];
    uint64_t due = now;
    for (size_t k = 0; k < p->replies.n; k++) {
        due += p->replies.d[k].delay;
        schedule(s, (release){.due = due, .what = REL_DGRAM, .dg = &p->replies.d[k],
                              .from = *dst});
    }
    return VK_OK;
}

/* ---- the timer: releases ---- */

/* Event idx (the next, as they are scheduled one at a time) is released;
 * the one after it is scheduled if the guest already made it ready. */
static void release_tcp_event(rsock *s, size_t idx, uint64_t now)
{
    const vk_rec_tcp *holder;
    const vk_rec_event *e = vk_recording_event(s->w->rec, s->tflow, idx, &holder);
    if (e != NULL && e->kind == VK_REC_RST)
        s->reset = true;
    if (idx + 1 > s->rel_ev)
        s->rel_ev = idx + 1;
    tcp_advance(s, now);
}

static void deliver(rsock *s, const release *r, uint64_t now, bool *readable)
{
    rworld *w = s->w;
    switch (r->what) {
    case REL_CONNECT:
        s->connected = r->status == VK_OK;
        if (s->connected) {
            s->last_due = now;
            tcp_advance(s, now);
        }
        if (s->base.ev && s->base.ev->connected)
            s->base.ev->connected(s->base.ctx, &s->base, r->status, now);
        return;
    case REL_TCP_EVENT:
        release_tcp_event(s, r->idx, now);
        *readable = true;
        return;
    case REL_DGRAM:
        if (queue_dgram(s, r->dg, &r->from, VK_OK) == VK_OK)
            *readable = true;
        return;
    case REL_ERROR:
        if (queue_dgram(s, NULL, &r->from, r->status) == VK_OK)
            *readable = true;
        return;
    case REL_ACCEPT: {
        rsock *c = sock_new(w, RS_TCP, NULL, NULL);
        if (c == NULL)
            return;
        const vk_rec_tcp *t = &w->rec->tcp[r->idx];
        c->t = t;
        c->tflow = r->idx;
        c->connected = true;
        c->last_due = now;
        char a[64], b[64];
        vk_waddr_format(&t->peer, a, sizeof a);
        vk_waddr_format(&t->guest, b, sizeof b);
        snprintf(c->name, sizeof c->name, "tcp %s > %s (hostfwd)", a, b);
        vk_waddr peer;
        waddr_loopback(t->peer.family, t->peer.port, &peer);
        tcp_advance(c, now);
        if (s->base.ev && s->base.ev->accepted)
            s->base.ev->accepted(s->base.ctx, &s->base, &c->base, &peer, now);
        else
            sock_free(c);
        return;
    }
    }
}

static void on_timer(void *arg, uint64_t now)
{
    rsock *s = arg;
    bool readable = false;
    /* connect and accept call back at once: the stack may close s then, so
     * they are handled one at a time, and nothing of s is touched after */
    while (s->relhead < s->nrel && s->rel[s->relhead].due <= now) {
        release r = s->rel[s->relhead++];
        if (r.what == REL_CONNECT || r.what == REL_ACCEPT) {
            arm(s);
            deliver(s, &r, now, &readable);
            return;
        }
        deliver(s, &r, now, &readable);
    }
    arm(s);
    if (readable && s->base.ev && s->base.ev->readable)
        s->base.ev->readable(s->base.ctx, &s->base, now);
}

/* ---- the rest of the table ---- */

/* A guestfwd stream is the recorded connection to the guestfwd server:port
 * (libslirp answers the SYN itself, so the recorded "connect" is only its
 * SYN-ACK): connected at once, the target's bytes released as any peer's. */
static int rec_stream_open(vk_world *wb, const vk_world_flow *flow, const char *target,
                           const vk_wsock_events *ev, void *ctx, vk_wsock **out, uint64_t now)
{
    rworld *w = (rworld *)wb;
    *out = NULL;
    if (flow == NULL)
        return VK_EINVAL;
    rsock *s = tcp_sock_new(w, flow, ev, ctx);
    if (s == NULL)
        return VK_ENOMEM;
    if (s->t == NULL || s->t->status != VK_OK) {
        vk_recording_note(w->rec, "%s (guestfwd %s): %s", s->name, target,
                          s->t == NULL ? "connection not in the recording"
                                       : "the recording shows no SYN-ACK");
        sock_free(s);
        return VK_ECONNREFUSED;
    }
    s->connected = true;
    s->last_due = now;
    tcp_advance(s, now);
    *out = &s->base;
    return VK_OK;
}

static int rec_dns_server(vk_world *wb, int family, vk_waddr *out, uint64_t now)
{
    (void)wb, (void)now;
    /* the capture does not say where slirp forwarded DNS; loopback is what
     * libslirp uses without a resolv.conf nameserver */
    waddr_loopback(family, 53, out);
    return VK_OK;
}

static void rec_close(vk_world *wb, vk_wsock *sb, bool abort, uint64_t now)
{
    (void)wb, (void)abort, (void)now;
    sock_free((rsock *)sb);
}

static void rec_free(vk_world *wb)
{
    rworld *w = (rworld *)wb;
    while (w->socks != NULL)
        sock_free(w->socks);
    free(w->tcp_taken);
    free(w->udp_taken);
    free(w->dns_taken);
    free(w->ping_taken);
    free(w->inbound_assigned);
    free(w->udp_prog);
    vk_recording_unref(w->rec);
    free(w);
}

static const vk_world_ops recorded_ops = {
    .name = "recorded",
    .tcp_connect = rec_tcp_connect,
    .tcp_listen = rec_tcp_listen,
    .send = rec_send,
    .recv = rec_recv,
    .shutdown_write = rec_shutdown_write,
    .udp_open = rec_udp_open,
    .sendto = rec_sendto,
    .recvfrom = rec_recvfrom,
    .ping_open = rec_ping_open,
    .stream_open = rec_stream_open,
    .dns_server = rec_dns_server,
    .close = rec_close,
    .free = rec_free,
};

vk_world *vk_world_recorded_new(vk_loop *loop, vk_recording *rec)
{
    rworld *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->base.ops = &recorded_ops;
    w->base.loop = loop;
    w->rec = vk_recording_ref(rec);
    w->tcp_taken = calloc(rec->ntcp + 1, sizeof *w->tcp_taken);
    w->inbound_assigned = calloc(rec->ntcp + 1, sizeof *w->inbound_assigned);
    w->udp_taken = calloc(rec->nudp + 1, sizeof *w->udp_taken);
    w->udp_prog = calloc(rec->nudp + 1, sizeof *w->udp_prog);
    w->dns_taken = calloc(rec->ndns + 1, sizeof *w->dns_taken);
    w->ping_taken = calloc(rec->nping + 1, sizeof *w->ping_taken);
    if (w->tcp_taken == NULL || w->inbound_assigned == NULL || w->udp_taken == NULL ||
        w->udp_prog == NULL || w->dns_taken == NULL || w->ping_taken == NULL) {
        rec_free(&w->base);
        return NULL;
    }
    return &w->base;
}
