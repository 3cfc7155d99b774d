/*
 * Building a recording (recording.h) from a capture: one pass over the
 * frames in file order, each located with the checked readers of wire/ and
 * attributed to a TCP flow, a UDP socket, a DNS query or an ICMP echo.
 * TCP is reassembled per direction with 64-bit stream offsets (sequence
 * numbers unwrapped against the next expected byte); retransmitted bytes are
 * dropped, early segments wait in a small bounded list until the gap fills,
 * as slirp's own reassembly would make them wait.
 */
#include "replay/recording.h"
#include "core/grow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wire/buf.h"
#include "wire/icmp.h"
#include "wire/icmpv6.h"
#include "wire/packet.h"
#include "wire/tcp.h"
#include "wire/udp.h"

/* One direction of a TCP flow being reassembled. */
typedef struct rdir {
    bool known;            /* ISN seen */
    uint32_t isn;
    uint64_t next;         /* stream bytes received in order */
    uint64_t adv_ts;       /* when next last moved */
    bool fin;              /* FIN seen in order */
    bool fin_pending;      /* FIN seen early (at fin_off) */
    uint64_t fin_off;
    uint64_t fin_ts;
    size_t nooo;
    struct {
        uint64_t off;
        vk_rec_span at;
        bool push;
    } ooo[VK_REC_OOO_MAX];
} rdir;

struct vk_rec_tcp_build {
    rdir g, p;             /* guest, peer */
    bool established;      /* outcome known and ok */
    bool decided;          /* outcome known */
    bool closed;           /* RST seen, or both FINs: a new SYN starts a new flow */
    uint64_t last_ev_ts;   /* previous peer event, or the connect */
    bool data_open;        /* the last event is DATA whose last segment had no PSH:
                            * the host's bytes that follow join it */
};

/* ---- small helpers ---- */

bool vk_waddr_eq(const vk_waddr *a, const vk_waddr *b)
{
    if (a->family != b->family || a->port != b->port)
        return false;
    return a->family == 4 ? memcmp(&a->ip4, &b->ip4, sizeof a->ip4) == 0
                          : memcmp(&a->ip6, &b->ip6, sizeof a->ip6) == 0;
}

void vk_waddr_format(const vk_waddr *a, char *buf, size_t cap)
{
    char ip[VK_IP6_STRLEN];
    if (a->family == 6)
        snprintf(buf, cap, "[%s]:%u", vk_ip6_format(&a->ip6, ip), a->port);
    else
        snprintf(buf, cap, "%s:%u", vk_ip4_format(&a->ip4, ip), a->port);
}

static uint64_t later(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Grows an array of `size`-byte elements to hold one more. */
static int grow(void **arr, size_t n, size_t *cap, size_t size)
{
    return vk_grow(arr, cap, n, size, 8);
}

static int dlist_add(vk_rec_dlist *l, const vk_rec_dgram *d)
{
    /* most lists hold one datagram (an echo reply, a DNS answer): room for
     * one first, then doubling */
    if (l->cap == 0) {
        if ((l->d = malloc(sizeof *l->d)) == NULL)
            return VK_ENOMEM;
        l->cap = 1;
    }
    if (grow((void **)&l->d, l->n, &l->cap, sizeof *l->d) != VK_OK)
        return VK_ENOMEM;
    l->d[l->n++] = *d;
    return VK_OK;
}

void vk_recording_note(vk_recording *r, const char *fmt, ...)
{
    r->notes_total++;
    if (r->nnotes >= VK_REC_NOTES_MAX)
        return;
    if (r->notes == NULL) {
        r->notes = calloc(VK_REC_NOTES_MAX, sizeof *r->notes);
        if (r->notes == NULL)
            return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->notes[r->nnotes++], VK_REC_NOTE_LEN, fmt, ap);
    va_end(ap);
}

/* ---- one frame, located ---- */

typedef struct fr {
    const vk_cap_frame *f;
    bool guest;            /* sent by the guest */
    vk_pkt k;
    vk_waddr src, dst;     /* ports filled for TCP/UDP */
    const uint8_t *l4;
    size_t l4_len;
} fr;

static void addr_of(const vk_pkt *k, bool source, vk_waddr *a)
{
    memset(a, 0, sizeof *a);
    a->family = k->l3;
    if (k->l3 == 4)
        a->ip4 = source ? k->ip4.src : k->ip4.dst;
    else
        a->ip6 = source ? k->ip6.src : k->ip6.dst;
}

/* An index of one table of the recording while it is built: key hash ->
 * the latest row with that key and how many rows have it (the ordinal of the
 * next).  Open addressing; a slot's key is checked against its row, so a
 * hash collision costs a comparison, never a wrong answer.  The table has at
 * most VK_REC_FLOWS_MAX rows, so at most that many slots are used. */
typedef struct kslot {
    uint64_t h;           /* 0: empty */
    uint32_t last;
    uint32_t count : 31;  /* rows are at most VK_REC_FLOWS_MAX */
    uint32_t shadowed : 1; /* a later row with this key was not kept (cap) */
} kslot;                  /* 16 bytes: the index is probed once a frame, cache misses count */

typedef struct kindex {
    kslot *s;
    size_t used, cap;
} kindex;

struct vk_rec_builder {
    vk_recording *r;
    int err;
    bool file;            /* frames carry file positions (else: held in memory) */
    size_t hold;          /* events held per flow before it is streamed; 0: all */
    size_t hold_pieces;   /* guest stream pieces held per flow before its guest
                           * stream is streamed; 0: all */
    struct vk_rec_stream *st; /* a second builder (streamed flows): its stream */
    kindex ping;          /* (dst, id, seq) */
};
typedef struct vk_rec_builder builder;

/* The streamed flows' events and guest stream pieces, built again from the
 * source by a second builder (st->b, in "second" mode: TCP only, no steps)
 * whose recording numbers its flows as the first did.  Its flows whose
 * events the first streamed keep the events built and not yet consumed
 * (counted in held, capped); its other flows keep only their last event,
 * which a segment that follows may join.  Its flows whose guest stream the
 * first streamed keep the pieces built and not yet checked (counted in
 * pieces_held, capped); its other flows keep no piece. */
struct vk_rec_stream {
    vk_rec_next_fn next;
    void *ctx;
    builder *b;           /* owned */
    vk_recording *main;   /* the first recording (which owns this) */
    bool *done;           /* per flow of the first recording: the world is done
                           * with its events */
    bool *pieces_done;    /* ... with its guest stream */
    size_t held, peak;    /* events */
    size_t pieces_held, pieces_peak;
};

#define ARENA_CHUNK (256u * 1024)

/* n bytes copied into the recording's arena (stable addresses); NULL when
 * out of memory. */
static const uint8_t *arena_copy(vk_recording *r, const uint8_t *p, size_t n)
{
    if (r->narena == 0 || n > ARENA_CHUNK - r->arena_used) {
        if (vk_grow(&r->arena, &r->caparena, r->narena, sizeof *r->arena, 8) != VK_OK)
            return NULL;
        if ((r->arena[r->narena] = malloc(n > ARENA_CHUNK ? n : ARENA_CHUNK)) == NULL)
            return NULL;
        r->narena++;
        r->arena_used = 0;
    }
    uint8_t *at = r->arena[r->narena - 1] + r->arena_used;
    if (n > 0)
        memcpy(at, p, n);
    r->arena_used = n > ARENA_CHUNK ? ARENA_CHUNK : r->arena_used + n;
    return at;
}

/* The span of bytes p[0..n) of frame f: its file position, its address in a
 * held capture, or (copy, or no position known) a copy in the arena.
 * b->err is set when out of memory. */
static vk_rec_span span_of(builder *b, const vk_cap_frame *f, const uint8_t *p, size_t n,
                           bool copy)
{
    vk_rec_span sp = {.len = (uint32_t)n, .mem = true};
    if (!copy && !b->file) {
        sp.pos = (uint64_t)(uintptr_t)p;
        return sp;
    }
    if (!copy && f->pos != VK_CAP_POS_NONE) {
        sp.pos = f->pos + (uint64_t)(p - f->data);
        sp.mem = false;
        return sp;
    }
    const uint8_t *at = arena_copy(b->r, p, n);
    if (at == NULL)
        b->err = VK_ENOMEM;
    sp.pos = (uint64_t)(uintptr_t)at;
    return sp;
}

static vk_rec_span span_skip(vk_rec_span sp, size_t skip)
{
    sp.pos += skip;
    sp.len -= (uint32_t)skip;
    return sp;
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull; /* FNV-1a */
    return h;
}

static uint64_t hash_waddr(uint64_t h, const vk_waddr *a)
{
    uint8_t fam = (uint8_t)a->family, port[2] = {(uint8_t)(a->port >> 8), (uint8_t)a->port};
    h = hash_bytes(h, &fam, 1);
    h = hash_bytes(h, port, 2);
    return a->family == 4 ? hash_bytes(h, &a->ip4, sizeof a->ip4)
                          : hash_bytes(h, &a->ip6, sizeof a->ip6);
}

static int kindex_grow(kindex *x)
{
    size_t cap = x->cap ? x->cap * 2 : 256;
    kslot *s = calloc(cap, sizeof *s);
    if (s == NULL)
        return VK_ENOMEM;
    for (size_t i = 0; i < x->cap; i++) {
        if (x->s[i].h == 0)
            continue;
        size_t j = (size_t)x->s[i].h & (cap - 1);
        while (s[j].h != 0)
            j = (j + 1) & (cap - 1);
        s[j] = x->s[i];
    }
    free(x->s);
    x->s = s;
    x->cap = cap;
    return VK_OK;
}

/* The slot of the key hashing to h whose row satisfies same(row), or the
 * empty slot where it goes (h == 0 there).  NULL: out of memory.  The table
 * grows when it is more than half full before this call, so after a put it
 * is at most half full plus one slot and an empty slot always ends a probe;
 * a lookup in a table exactly half full (VK_REC_FLOWS_MAX keys, the cap)
 * does not double it. */
static kslot *kindex_slot(kindex *x, uint64_t h, bool (*same)(const void *key, uint32_t row,
                                                              const vk_recording *r),
                          const void *key, const vk_recording *r)
{
    if ((x->cap == 0 || 2 * x->used > x->cap) && kindex_grow(x) != VK_OK)
        return NULL;
    h |= 1;
    for (size_t j = (size_t)h & (x->cap - 1);; j = (j + 1) & (x->cap - 1)) {
        kslot *s = &x->s[j];
        if (s->h == 0 || (s->h == h && same(key, s->last, r)))
            return s;
    }
}

/* Records row as the latest with the key of slot s (from kindex_slot). */
static void kindex_put(kindex *x, kslot *s, uint64_t h, uint32_t row)
{
    if (s->h == 0) {
        s->h = h | 1;
        x->used++;
    }
    s->last = row;
    s->count++;
    s->shadowed = 0;
}

/* ---- TCP ---- */

/* The stream offset of sequence number seq in direction d (next byte
 * expected unwrapped to 64 bits). */
static uint64_t stream_off(const rdir *d, uint32_t seq)
{
    uint32_t rel = seq - d->isn - 1u;
    int32_t delta = (int32_t)(rel - (uint32_t)d->next);
    if (delta < 0 && (uint64_t)(-(int64_t)delta) > d->next)
        return 0;
    return (uint64_t)((int64_t)d->next + delta);
}

static vk_rec_tcp *tcp_find(vk_recording *r, const vk_waddr *guest, const vk_waddr *peer)
{
    for (size_t i = r->ntcp; i-- > 0;)
        if (vk_waddr_eq(&r->tcp[i].guest, guest) && vk_waddr_eq(&r->tcp[i].peer, peer))
            return &r->tcp[i];
    return NULL;
}

static vk_rec_tcp *tcp_new(builder *b, const fr *x, bool inbound)
{
    vk_recording *r = b->r;
    if (r->ntcp >= VK_REC_FLOWS_MAX) {
        r->st.flows_full++;
        return NULL;
    }
    if (grow((void **)&r->tcp, r->ntcp, &r->captcp, sizeof *r->tcp) != VK_OK) {
        b->err = VK_ENOMEM;
        return NULL;
    }
    vk_rec_tcp *t = &r->tcp[r->ntcp];
    memset(t, 0, sizeof *t);
    t->b = calloc(1, sizeof *t->b);
    if (t->b == NULL) {
        b->err = VK_ENOMEM;
        return NULL;
    }
    r->ntcp++;
    if (b->st != NULL) { /* second builder: the same flow of the first recording */
        size_t i = r->ntcp - 1;
        bool known = i < b->st->main->ntcp;
        t->streamed = known && b->st->main->tcp[i].streamed && !b->st->done[i];
        t->guest_streamed = known && b->st->main->tcp[i].guest_streamed &&
                            !b->st->pieces_done[i];
    }
    t->inbound = inbound;
    t->guest = x->guest ? x->src : x->dst;
    t->peer = x->guest ? x->dst : x->src;
    for (size_t i = 0; i + 1 < r->ntcp; i++)
        if (r->tcp[i].inbound == inbound && vk_waddr_eq(&r->tcp[i].peer, &t->peer))
            t->ordinal++;
    t->syn_ts = x->f->ts_ns;
    t->syn_no = x->f->no;
    t->status = VK_ETIMEDOUT;
    t->connect_delay = VK_REC_CONNECT_TIMEOUT_NS;
    t->b->g.adv_ts = x->f->ts_ns;
    return t;
}

/* Forgets events ev_base..k of t (k: held events) and the spans no held event
 * uses; *held (the stream's count) goes down by as many. */
static void tcp_trim(vk_rec_tcp *t, size_t k, size_t *held)
{
    if (k > t->nev)
        k = t->nev;
    if (k <= t->ev_base)
        return;
    size_t drop = k - t->ev_base, keep = t->nev - k;
    memmove(t->ev, t->ev + drop, keep * sizeof *t->ev);
    t->ev_base = k;
    if (held != NULL)
        *held -= drop;
    size_t first = t->span_base + t->nspans; /* the first span still used */
    for (size_t i = 0; i < keep; i++)
        if (t->ev[i].kind == VK_REC_DATA) {
            first = t->ev[i].span;
            break;
        }
    size_t sdrop = first - t->span_base;
    memmove(t->spans, t->spans + sdrop, (t->nspans - sdrop) * sizeof *t->spans);
    t->nspans -= sdrop;
    t->span_base = first;
}

/* Gives back the room of arrays that held a whole flow until it was
 * streamed (best effort: a failed realloc keeps the larger block). */
static void tcp_shrink(vk_rec_tcp *t)
{
    size_t nev = t->nev - t->ev_base, cap = nev > 8 ? nev : 8;
    vk_rec_event *ev = realloc(t->ev, cap * sizeof *ev);
    if (ev != NULL) {
        t->ev = ev;
        t->capev = cap;
    }
    cap = t->nspans > 8 ? t->nspans : 8;
    vk_rec_span *sp = realloc(t->spans, cap * sizeof *sp);
    if (sp != NULL) {
        t->spans = sp;
        t->capspans = cap;
    }
}

/* After an event was added: the first builder streams a flow past its hold
 * limit (keeping its last event, which later segments may join); the
 * second keeps the streamed flows' events (counted against the window) and
 * only the last of the others. */
static void tcp_hold(builder *b, vk_rec_tcp *t)
{
    if (b->st != NULL) {
        if (!t->streamed) {
            tcp_trim(t, t->nev - 1, NULL);
            return;
        }
        if (++b->st->held > b->st->peak)
            b->st->peak = b->st->held;
        if (b->st->held > VK_REC_WINDOW_EVENTS)
            b->err = VK_EFULL;
        return;
    }
    if (!t->streamed && (b->hold == 0 || t->nev <= b->hold))
        return;
    bool now = !t->streamed;
    t->streamed = true;
    tcp_trim(t, t->nev - 1, NULL);
    if (now)
        tcp_shrink(t);
}

/* Forgets the pieces of t's guest stream numbered below k that are still
 * held; *held (the stream's count) goes down by as many. */
static void pieces_trim(vk_rec_tcp *t, size_t k, size_t *held)
{
    if (k > t->npieces)
        k = t->npieces;
    if (k <= t->piece_base)
        return;
    size_t drop = k - t->piece_base;
    memmove(t->guest_stream, t->guest_stream + drop,
            (t->npieces - k) * sizeof *t->guest_stream);
    t->piece_base = k;
    if (held != NULL)
        *held -= drop;
}

/* Forgets every piece of t's guest stream held and its array: from now on
 * its pieces are only counted. */
static void pieces_drop_all(vk_rec_tcp *t)
{
    free(t->guest_stream);
    t->guest_stream = NULL;
    t->cappieces = 0;
    t->piece_base = t->npieces;
}

/* The next piece of the guest's stream.  The first builder holds it, or
 * only counts it once the flow's guest stream is streamed (past its hold
 * limit); the second builder holds the pieces of the guest streams the
 * first streamed (counted against the window) and only counts the others. */
static int tcp_guest_piece(builder *b, vk_rec_tcp *t, vk_rec_piece p)
{
    bool first = b->st == NULL;
    bool hold = first ? !t->guest_streamed : t->guest_streamed;
    if (!hold) {
        t->npieces++;
        t->piece_base = t->npieces;
        return VK_OK;
    }
    size_t nheld = t->npieces - t->piece_base;
    /* sticky: a piece lost would shift the numbers of the ones after it */
    if (grow((void **)&t->guest_stream, nheld, &t->cappieces, sizeof *t->guest_stream) != VK_OK)
        return b->err = VK_ENOMEM;
    t->guest_stream[nheld] = p;
    t->npieces++;
    if (!first) {
        if (++b->st->pieces_held > b->st->pieces_peak)
            b->st->pieces_peak = b->st->pieces_held;
        if (b->st->pieces_held > VK_REC_WINDOW_PIECES)
            b->err = VK_EFULL;
        return VK_OK;
    }
    if (b->hold_pieces != 0 && t->npieces > b->hold_pieces) {
        t->guest_streamed = true;
        pieces_drop_all(t);
    }
    return VK_OK;
}

/* Notes where the condition of the peer's events changes (first builder). */
static int tcp_step(vk_rec_tcp *t, const vk_rec_event *e)
{
    const vk_rec_step *last = t->nsteps ? &t->steps[t->nsteps - 1] : NULL;
    if (last != NULL && last->prefix == e->prefix && last->after_guest_fin == e->after_guest_fin)
        return VK_OK;
    if (grow((void **)&t->steps, t->nsteps, &t->capsteps, sizeof *t->steps) != VK_OK)
        return VK_ENOMEM;
    t->steps[t->nsteps++] = (vk_rec_step){e->prefix, e->after_guest_fin, t->nev - 1};
    return VK_OK;
}

/* A peer segment's bytes, appended to the flow's spans. */
static int tcp_add_span(vk_rec_tcp *t, vk_rec_span sp)
{
    if (grow((void **)&t->spans, t->nspans, &t->capspans, sizeof *t->spans) != VK_OK)
        return VK_ENOMEM;
    t->spans[t->nspans++] = sp;
    return VK_OK;
}

static int tcp_add_event(builder *b, vk_rec_tcp *t, vk_rec_ev_kind kind, const fr *x,
                         const vk_rec_span *sp)
{
    struct vk_rec_tcp_build *s = t->b;
    if (grow((void **)&t->ev, t->nev - t->ev_base, &t->capev, sizeof *t->ev) != VK_OK)
        return VK_ENOMEM;
    if (sp != NULL && tcp_add_span(t, *sp) != VK_OK)
        return VK_ENOMEM;
    uint64_t base = later(s->g.adv_ts, s->last_ev_ts);
    if (s->g.fin)
        base = later(base, s->g.fin_ts);
    uint64_t ts = x->f->ts_ns;
    vk_rec_event *e = &t->ev[t->nev - t->ev_base];
    *e = (vk_rec_event){
        .kind = kind, .ts = ts, .frame_no = x->f->no, .prefix = s->g.next,
        .after_guest_fin = s->g.fin, .delay = ts > base ? ts - base : 0,
        .span = sp != NULL ? t->span_base + t->nspans - 1 : 0, .nspan = sp != NULL,
        .len = sp ? sp->len : 0};
    t->nev++;
    s->last_ev_ts = ts;
    if (b->st == NULL && tcp_step(t, e) != VK_OK)
        return VK_ENOMEM;
    tcp_hold(b, t);
    return VK_OK;
}

/* The host's bytes: libslirp sets PSH on the segment that empties its send
 * buffer, so the bytes of the segments up to one with PSH were all in it
 * before the first of them left: they make one chunk, released at that
 * first segment's time.  A chunk is not joined across a step of the guest's
 * stream (the host may have waited for it). */
static int tcp_peer_bytes(builder *b, vk_rec_tcp *t, const fr *x, vk_rec_span sp, bool push)
{
    struct vk_rec_tcp_build *s = t->b;
    vk_rec_event *last = t->nev > t->ev_base ? &t->ev[t->nev - t->ev_base - 1] : NULL;
    int e;
    /* the last event's spans are the flow's last ones: a joined chunk's
     * segments stay together */
    if (s->data_open && last != NULL && last->kind == VK_REC_DATA &&
        last->prefix == s->g.next && last->after_guest_fin == s->g.fin) {
        e = tcp_add_span(t, sp);
        if (e == VK_OK) {
            last->nspan++;
            last->len += sp.len;
        }
    } else {
        e = tcp_add_event(b, t, VK_REC_DATA, x, &sp);
    }
    s->data_open = e == VK_OK && !push;
    s->p.next += sp.len;
    return e;
}

/* In-order bytes of direction d: the peer's become events, the guest's
 * join its stream. */
static int tcp_deliver(builder *b, vk_rec_tcp *t, bool guest, const fr *x, vk_rec_span sp,
                       bool push)
{
    if (guest) {
        rdir *g = &t->b->g;
        if (tcp_guest_piece(b, t, (vk_rec_piece){g->next, sp.len, sp}) != VK_OK)
            return VK_ENOMEM;
        g->next += sp.len;
        g->adv_ts = x->f->ts_ns;
        t->guest_bytes = g->next;
        return VK_OK;
    }
    return tcp_peer_bytes(b, t, x, sp, push);
}

static int tcp_fin_check(builder *b, vk_rec_tcp *t, bool guest, const fr *x)
{
    rdir *d = guest ? &t->b->g : &t->b->p;
    if (!d->fin_pending || d->fin || d->fin_off != d->next)
        return VK_OK;
    d->fin = true;
    d->fin_ts = x->f->ts_ns;
    if (guest) {
        t->guest_fin = true;
        return VK_OK;
    }
    int e = tcp_add_event(b, t, VK_REC_EOF, x, NULL);
    if (t->b->g.fin)
        t->b->closed = true;
    return e;
}

/* Takes bytes at stream offset off: drops what was seen, delivers what is
 * next, holds what is early. */
static int tcp_bytes(builder *b, vk_rec_tcp *t, bool guest, const fr *x, uint64_t off,
                     const uint8_t *data, size_t len, bool push)
{
    rdir *d = guest ? &t->b->g : &t->b->p;
    if (len == 0)
        return VK_OK;
    if (off + len <= d->next) {
        b->r->st.tcp_retransmits++;
        return VK_OK;
    }
    if (off > d->next) {
        if (d->nooo >= VK_REC_OOO_MAX) {
            b->r->st.ooo_dropped++;
            return VK_OK;
        }
        d->ooo[d->nooo].off = off;
        d->ooo[d->nooo].at = span_of(b, x->f, data, len, false);
        d->ooo[d->nooo].push = push;
        d->nooo++;
        return b->err;
    }
    size_t skip = (size_t)(d->next - off);
    vk_rec_span sp = span_of(b, x->f, data + skip, len - skip, false);
    if (b->err != VK_OK)
        return b->err;
    int e = tcp_deliver(b, t, guest, x, sp, push);
    /* held segments that now connect, in any order */
    bool moved = true;
    while (e == VK_OK && moved) {
        moved = false;
        for (size_t i = 0; i < d->nooo; i++) {
            if (d->ooo[i].off > d->next)
                continue;
            uint64_t o = d->ooo[i].off;
            vk_rec_span held = d->ooo[i].at;
            bool psh = d->ooo[i].push;
            d->ooo[i] = d->ooo[--d->nooo];
            if (o + held.len > d->next)
                e = tcp_deliver(b, t, guest, x, span_skip(held, (size_t)(d->next - o)), psh);
            moved = true;
            break;
        }
    }
    return e;
}

static int tcp_decide(vk_rec_tcp *t, int status, uint64_t ts)
{
    struct vk_rec_tcp_build *s = t->b;
    if (s->decided)
        return VK_OK;
    s->decided = true;
    t->status = status;
    t->connect_delay = ts > t->syn_ts ? ts - t->syn_ts : 0;
    s->established = status == VK_OK;
    s->last_ev_ts = ts;
    if (!s->established)
        s->closed = true;
    return VK_OK;
}

static int tcp_frame(builder *b, const fr *x)
{
    vk_tcp_repr seg;
    if (vk_tcp_parse(x->l4, x->l4_len, &seg) != VK_OK)
        return VK_EFORMAT;
    const vk_waddr *guest = x->guest ? &x->src : &x->dst;
    const vk_waddr *peer = x->guest ? &x->dst : &x->src;
    vk_rec_tcp *t = tcp_find(b->r, guest, peer);
    bool syn = (seg.flags & (VK_TCP_SYN | VK_TCP_ACK)) == VK_TCP_SYN;
    if (syn) {
        rdir *same = t == NULL ? NULL : x->guest ? &t->b->g : &t->b->p;
        if (t != NULL && !t->b->closed && same->known && same->isn == seg.seq)
            return VK_OK; /* a retransmitted SYN */
        if (t != NULL)
            t->b->closed = true;
        t = tcp_new(b, x, !x->guest);
        if (t == NULL)
            return b->err;
        rdir *d = x->guest ? &t->b->g : &t->b->p;
        d->known = true;
        d->isn = seg.seq;
        if (t->inbound) /* the host side connected before slirp sent this SYN */
            tcp_decide(t, VK_OK, x->f->ts_ns);
        return VK_OK;
    }
    if (t == NULL) {
        b->r->st.orphans++;
        return VK_OK;
    }
    struct vk_rec_tcp_build *s = t->b;
    rdir *d = x->guest ? &s->g : &s->p;
    if (seg.flags & VK_TCP_SYN) { /* SYN-ACK: the answering side's ISN */
        if (!d->known) {
            d->known = true;
            d->isn = seg.seq;
        }
        if (!x->guest && !t->inbound)
            tcp_decide(t, VK_OK, x->f->ts_ns);
        return VK_OK;
    }
    if (seg.flags & VK_TCP_RST) {
        if (x->guest) {
            s->closed = true;
            return VK_OK;
        }
        if (!s->decided)
            return tcp_decide(t, VK_ECONNREFUSED, x->f->ts_ns);
        if (s->closed)
            return VK_OK;
        s->closed = true;
        return tcp_add_event(b, t, VK_REC_RST, x, NULL);
    }
    if (!d->known) {
        b->r->st.orphans++;
        return VK_OK;
    }
    uint64_t off = stream_off(d, seg.seq);
    int e = tcp_bytes(b, t, x->guest, x, off, seg.payload, seg.payload_len,
                      (seg.flags & VK_TCP_PSH) != 0);
    if (e == VK_OK && (seg.flags & VK_TCP_FIN) && !d->fin_pending) {
        d->fin_pending = true;
        d->fin_off = off + seg.payload_len;
    }
    if (e == VK_OK)
        e = tcp_fin_check(b, t, x->guest, x);
    if (e == VK_OK && x->guest && s->g.fin && s->p.fin)
        s->closed = true;
    return e;
}

/* ---- UDP and DNS ---- */

static vk_rec_udp *udp_find(vk_recording *r, const vk_waddr *guest)
{
    for (size_t i = r->nudp; i-- > 0;)
        if (vk_waddr_eq(&r->udp[i].guest, guest))
            return &r->udp[i];
    return NULL;
}

static vk_rec_udp *udp_new(builder *b, const vk_waddr *guest, const vk_waddr *dst,
                           bool inbound)
{
    vk_recording *r = b->r;
    if (r->nudp >= VK_REC_FLOWS_MAX) {
        r->st.flows_full++;
        return NULL;
    }
    if (grow((void **)&r->udp, r->nudp, &r->capudp, sizeof *r->udp) != VK_OK) {
        b->err = VK_ENOMEM;
        return NULL;
    }
    vk_rec_udp *u = &r->udp[r->nudp++];
    memset(u, 0, sizeof *u);
    u->inbound = inbound;
    u->guest = *guest;
    u->first_dst = *dst;
    u->sent_ts = r->epoch; /* inbound: the first datagrams are timed from the start */
    for (size_t i = 0; i + 1 < r->nudp; i++)
        if (r->udp[i].inbound == inbound && vk_waddr_eq(&r->udp[i].first_dst, dst))
            u->ordinal++;
    return u;
}

static int udp_reply(builder *b, vk_rec_udp *u, const fr *x, const vk_waddr *from,
                     const uint8_t *data, size_t len, int error)
{
    uint64_t ts = x->f->ts_ns;
    uint64_t base = later(u->sent_ts, u->last_reply_ts);
    vk_rec_dgram d = {.from_guest = false, .ts = ts, .frame_no = x->f->no, .addr = *from,
                      .len = len, .error = error, .prefix = u->sent,
                      .delay = ts > base ? ts - base : 0};
    if (data != NULL && (d.at = span_of(b, x->f, data, len, false), b->err != VK_OK))
        return b->err;
    u->last_reply_ts = ts;
    if (dlist_add(&u->dg, &d) != VK_OK)
        return b->err = VK_ENOMEM;
    return VK_OK;
}

static int dns_query(builder *b, const fr *x, const vk_dns_question *q)
{
    vk_recording *r = b->r;
    if (r->ndns >= VK_REC_FLOWS_MAX) {
        r->st.flows_full++;
        return VK_OK;
    }
    if (grow((void **)&r->dns, r->ndns, &r->capdns, sizeof *r->dns) != VK_OK)
        return b->err = VK_ENOMEM;
    vk_rec_dns *q2 = &r->dns[r->ndns];
    memset(q2, 0, sizeof *q2);
    q2->id = q->id;
    memcpy(q2->name, q->name, sizeof q2->name);
    for (size_t i = 0; i < r->ndns; i++)
        if (r->dns[i].id == q->id && strcmp(r->dns[i].name, q->name) == 0)
            q2->ordinal++;
    q2->guest = x->src;
    q2->server = x->dst;
    q2->ts = x->f->ts_ns;
    q2->frame_no = x->f->no;
    r->ndns++;
    return VK_OK;
}

/* An answer to the latest query with its id and name from that guest port. */
static vk_rec_dns *dns_match(vk_recording *r, const fr *x, const vk_dns_question *q)
{
    for (size_t i = r->ndns; i-- > 0;) {
        vk_rec_dns *e = &r->dns[i];
        if (e->id == q->id && strcmp(e->name, q->name) == 0 && vk_waddr_eq(&e->guest, &x->dst))
            return e;
    }
    return NULL;
}

static int dns_answer(builder *b, vk_rec_dns *q, const fr *x, const uint8_t *data, size_t len)
{
    uint64_t ts = x->f->ts_ns;
    uint64_t base = q->replies.n ? q->replies.d[q->replies.n - 1].ts : q->ts;
    vk_rec_dgram d = {.ts = ts, .frame_no = x->f->no, .addr = x->src,
                      .at = span_of(b, x->f, data, len, false), .len = len,
                      .delay = ts > base ? ts - base : 0};
    if (b->err != VK_OK)
        return b->err;
    if (dlist_add(&q->replies, &d) != VK_OK)
        return b->err = VK_ENOMEM;
    return VK_OK;
}

static int udp_frame(builder *b, const fr *x)
{
    vk_udp_repr udp;
    if (b->st != NULL) /* the second builder: TCP only */
        return VK_OK;
    if (vk_udp_parse(x->l4, x->l4_len, &udp) != VK_OK)
        return VK_EFORMAT;
    /* DHCP changes addresses mid-exchange and never leaves the stack */
    if (udp.src_port == VK_UDP_PORT_BOOTPS || udp.src_port == VK_UDP_PORT_BOOTPC)
        return VK_OK;
    vk_dns_question q;
    bool dns = (x->guest ? udp.dst_port : udp.src_port) == VK_UDP_PORT_DNS &&
               vk_dns_parse_question(udp.payload, udp.payload_len, &q) == VK_OK &&
               q.response != x->guest;
    if (x->guest) {
        if (dns)
            return dns_query(b, x, &q);
        vk_rec_udp *u = udp_find(b->r, &x->src);
        if (u == NULL && (u = udp_new(b, &x->src, &x->dst, false)) == NULL)
            return b->err;
        vk_rec_dgram d = {.from_guest = true, .ts = x->f->ts_ns, .frame_no = x->f->no,
                          .addr = x->dst, .len = udp.payload_len,
                          .at = span_of(b, x->f, udp.payload, udp.payload_len, false)};
        if (b->err != VK_OK)
            return b->err;
        if (dlist_add(&u->dg, &d) != VK_OK)
            return b->err = VK_ENOMEM;
        u->sent++;
        u->sent_ts = x->f->ts_ns;
        return VK_OK;
    }
    if (dns) {
        vk_rec_dns *e = dns_match(b->r, x, &q);
        if (e != NULL)
            return dns_answer(b, e, x, udp.payload, udp.payload_len);
    }
    /* a datagram to a guest port that never sent: inbound (hostfwd=udp) */
    vk_rec_udp *u = udp_find(b->r, &x->dst);
    if (u == NULL && (u = udp_new(b, &x->dst, &x->src, true)) == NULL)
        return b->err;
    return udp_reply(b, u, x, &x->src, udp.payload, udp.payload_len, 0);
}

/* ---- ICMP ---- */

typedef struct ping_key {
    const vk_waddr *dst;
    uint16_t id, seq;
} ping_key;

static uint64_t ping_hash(const ping_key *k)
{
    uint8_t idseq[4] = {(uint8_t)(k->id >> 8), (uint8_t)k->id, (uint8_t)(k->seq >> 8),
                        (uint8_t)k->seq};
    return hash_bytes(hash_waddr(1469598103934665603ull, k->dst), idseq, 4);
}

static bool ping_same(const void *key, uint32_t row, const vk_recording *r)
{
    const ping_key *k = key;
    const vk_rec_ping *p = &r->ping[row];
    return p->id == k->id && p->seq == k->seq && vk_waddr_eq(&p->dst, k->dst);
}

/* The latest request to dst with id and seq, or NULL (b->err on ENOMEM). */
static vk_rec_ping *ping_find(builder *b, const vk_waddr *dst, uint16_t id, uint16_t seq)
{
    ping_key k = {dst, id, seq};
    kslot *s = kindex_slot(&b->ping, ping_hash(&k), ping_same, &k, b->r);
    if (s == NULL)
        b->err = VK_ENOMEM;
    return s == NULL || s->h == 0 || s->shadowed ? NULL : &b->r->ping[s->last];
}

static int echo(builder *b, const fr *x, bool request, uint16_t id, uint16_t seq)
{
    vk_recording *r = b->r;
    if (b->st != NULL) /* the second builder: TCP only */
        return VK_OK;
    if (!request) {
        vk_rec_ping *p = ping_find(b, &x->src, id, seq);
        if (b->err != VK_OK)
            return b->err;
        if (p == NULL) {
            r->st.orphans++;
            return VK_OK;
        }
        uint64_t ts = x->f->ts_ns;
        uint64_t base = p->replies.n ? p->replies.d[p->replies.n - 1].ts : p->ts;
        /* a copy: its checksum is in it, and --fix-checksums may have
         * changed it in the frame, not in the file */
        vk_rec_dgram d = {.ts = ts, .frame_no = x->f->no, .addr = x->src,
                          .at = span_of(b, x->f, x->l4, x->l4_len, true), .len = x->l4_len,
                          .delay = ts > base ? ts - base : 0};
        if (b->err != VK_OK)
            return b->err;
        return dlist_add(&p->replies, &d) == VK_OK ? VK_OK : (b->err = VK_ENOMEM);
    }
    if (r->nping >= VK_REC_FLOWS_MAX) {
        /* not kept: its replies are orphans, not more replies to an earlier
         * request that had the same destination, id and seq */
        ping_key k = {&x->dst, id, seq};
        kslot *s = kindex_slot(&b->ping, ping_hash(&k), ping_same, &k, r);
        if (s == NULL)
            return b->err = VK_ENOMEM;
        s->shadowed = s->h != 0 ? 1u : 0u;
        r->st.flows_full++;
        return VK_OK;
    }
    if (grow((void **)&r->ping, r->nping, &r->capping, sizeof *r->ping) != VK_OK)
        return b->err = VK_ENOMEM;
    vk_rec_ping *p = &r->ping[r->nping];
    memset(p, 0, sizeof *p);
    p->guest = x->src;
    p->dst = x->dst;
    p->id = id;
    p->seq = seq;
    ping_key k = {&p->dst, id, seq};
    uint64_t h = ping_hash(&k);
    kslot *s = kindex_slot(&b->ping, h, ping_same, &k, r);
    if (s == NULL)
        return b->err = VK_ENOMEM;
    p->ordinal = s->count;
    kindex_put(&b->ping, s, h, (uint32_t)r->nping);
    p->ts = x->f->ts_ns;
    p->frame_no = x->f->no;
    r->nping++;
    return VK_OK;
}

/* An ICMP error from the network quoting a guest packet: the quoted
 * protocol, source and destination (with ports) are in q. */
static int icmp_error(builder *b, const fr *x, uint8_t proto, const vk_waddr *qsrc,
                      const vk_waddr *qdst, int error)
{
    vk_recording *r = b->r;
    if (proto == VK_IP_PROTO_TCP) {
        vk_rec_tcp *t = tcp_find(r, qsrc, qdst);
        if (t == NULL || t->inbound || t->b->decided) {
            r->st.orphans++;
            return VK_OK;
        }
        int status = error == VK_EPORTUNREACH ? VK_ECONNREFUSED : error;
        return tcp_decide(t, status, x->f->ts_ns);
    }
    if (proto == VK_IP_PROTO_UDP) {
        vk_rec_udp *u = udp_find(r, qsrc);
        if (u == NULL) {
            r->st.orphans++;
            return VK_OK;
        }
        /* the error's source is the offender the socket reports (libslirp
         * 4.7 shows it untranslated, e.g. 127.0.0.1 for a closed host port) */
        vk_waddr offender = x->src;
        offender.port = qdst->port;
        return udp_reply(b, u, x, &offender, NULL, 0, error);
    }
    r->st.orphans++;
    return VK_OK;
}

static int quoted_ports(const uint8_t *p, size_t len, vk_waddr *src, vk_waddr *dst)
{
    if (len < 4)
        return VK_ETRUNC;
    src->port = vk_get_be16(p);
    dst->port = vk_get_be16(p + 2);
    return VK_OK;
}

static int unreach_code4(uint8_t code)
{
    switch (code) {
    case VK_ICMP_UNREACH_NET:
        return VK_ENETUNREACH;
    case VK_ICMP_UNREACH_PORT:
        return VK_EPORTUNREACH;
    default:
        return VK_EHOSTUNREACH;
    }
}

static int icmp4_frame(builder *b, const fr *x)
{
    vk_icmp_repr m;
    if (vk_icmp_parse(x->l4, x->l4_len, &m) != VK_OK)
        return VK_EFORMAT;
    if (m.type == VK_ICMP_ECHO_REQUEST && x->guest)
        return echo(b, x, true, m.id, m.seq);
    if (m.type == VK_ICMP_ECHO_REPLY && !x->guest)
        return echo(b, x, false, m.id, m.seq);
    if (m.type != VK_ICMP_DEST_UNREACH || x->guest)
        return VK_OK;
    vk_ipv4_repr q;
    if (vk_icmp_quoted(&m, &q) != VK_OK)
        return VK_EFORMAT;
    vk_waddr qs = {.family = 4, .ip4 = q.src}, qd = {.family = 4, .ip4 = q.dst};
    if (quoted_ports(q.payload, q.payload_len, &qs, &qd) != VK_OK)
        return VK_EFORMAT;
    return icmp_error(b, x, q.proto, &qs, &qd, unreach_code4(m.code));
}

static int icmp6_frame(builder *b, const fr *x)
{
    vk_icmpv6_repr m;
    if (vk_icmpv6_parse(x->l4, x->l4_len, &m) != VK_OK)
        return VK_EFORMAT;
    if (m.type == VK_ICMPV6_ECHO_REQUEST && x->guest)
        return echo(b, x, true, m.id, m.seq);
    if (m.type == VK_ICMPV6_ECHO_REPLY && !x->guest)
        return echo(b, x, false, m.id, m.seq);
    if (m.type != VK_ICMPV6_DEST_UNREACH || x->guest)
        return VK_OK;
    /* data: 4 unused bytes, then the quoted packet (header whole, payload
     * possibly cut: read the fixed header by hand through the reader) */
    vk_rd rd;
    vk_rd_init(&rd, m.data, m.data_len);
    vk_rd_skip(&rd, 4 + 6);
    uint8_t nh = vk_rd_u8(&rd);
    vk_rd_skip(&rd, 1);
    vk_waddr qs = {.family = 6}, qd = {.family = 6};
    vk_rd_bytes(&rd, qs.ip6.b, 16);
    vk_rd_bytes(&rd, qd.ip6.b, 16);
    const uint8_t *ports = vk_rd_take(&rd, 4);
    if (ports == NULL || quoted_ports(ports, 4, &qs, &qd) != VK_OK)
        return VK_EFORMAT;
    int error = m.code == 0 ? VK_ENETUNREACH : m.code == 4 ? VK_EPORTUNREACH : VK_EHOSTUNREACH;
    return icmp_error(b, x, nh, &qs, &qd, error);
}

/* ---- the pass ---- */

static int one_frame(builder *b, const vk_cap_frame *f, bool guest)
{
    fr x = {.f = f, .guest = guest};
    if (vk_pkt_locate(f->data, f->len, &x.k) != VK_OK || x.k.l3 == 0 || x.k.frag ||
        x.k.l4_off == 0 || x.k.l4_off > x.k.l3_end)
        return VK_EFORMAT;
    addr_of(&x.k, true, &x.src);
    addr_of(&x.k, false, &x.dst);
    x.l4 = f->data + x.k.l4_off;
    x.l4_len = vk_pkt_l4_len(&x.k);
    if (x.k.proto == VK_IP_PROTO_TCP || x.k.proto == VK_IP_PROTO_UDP) {
        if (x.l4_len < 4)
            return VK_EFORMAT;
        x.src.port = vk_get_be16(x.l4);
        x.dst.port = vk_get_be16(x.l4 + 2);
    }
    switch (x.k.proto) {
    case VK_IP_PROTO_TCP:
        return tcp_frame(b, &x);
    case VK_IP_PROTO_UDP:
        return udp_frame(b, &x);
    case VK_IP_PROTO_ICMP:
        return x.k.l3 == 4 ? icmp4_frame(b, &x) : VK_EFORMAT;
    case VK_IP_PROTO_ICMPV6:
        return x.k.l3 == 6 ? icmp6_frame(b, &x) : VK_EFORMAT;
    default:
        return VK_EFORMAT;
    }
}

static void finish(vk_recording *r)
{
    for (size_t i = 0; i < r->ntcp; i++) {
        free(r->tcp[i].b);
        r->tcp[i].b = NULL;
    }
}

/* A builder and its empty recording; NULL when out of memory. */
static builder *builder_alloc(uint64_t epoch)
{
    builder *b = calloc(1, sizeof *b);
    vk_recording *r = calloc(1, sizeof *r);
    if (b == NULL || r == NULL) {
        free(b);
        free(r);
        return NULL;
    }
    r->refs = 1;
    r->epoch = epoch;
    r->fd = -1;
    b->r = r;
    return b;
}

int vk_rec_builder_new(uint64_t epoch, const char *path, vk_rec_builder **out, vk_diag *d)
{
    *out = NULL;
    builder *b = builder_alloc(epoch);
    if (b == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory building the recorded world");
    vk_recording *r = b->r;
    b->file = path != NULL;
    b->hold = path != NULL ? VK_REC_HOLD_EVENTS : 0;
    b->hold_pieces = path != NULL ? VK_REC_HOLD_PIECES : 0;
    if (path != NULL) {
        r->path = strdup(path);
        r->fd = r->path != NULL ? open(path, O_RDONLY | O_CLOEXEC) : -1;
        if (r->fd < 0) {
            int e = r->path == NULL ? VK_ENOMEM : VK_EIO;
            vk_rec_builder_free(b);
            return vk_diag_set(d, e, "%s: cannot open it again to read the recorded world's "
                                     "bytes", path);
        }
    }
    *out = b;
    return VK_OK;
}

void vk_rec_builder_set_hold(vk_rec_builder *b, size_t max)
{
    b->hold = max;
}

void vk_rec_builder_set_hold_pieces(vk_rec_builder *b, size_t max)
{
    b->hold_pieces = max;
}

int vk_rec_builder_add(vk_rec_builder *b, const vk_cap_frame *f, bool guest)
{
    if (b->err != VK_OK)
        return b->err;
    int e = one_frame(b, f, guest);
    if (e == VK_OK)
        b->r->st.frames_used++;
    else if (e == VK_ENOMEM) /* sticky: a frame lost would shift every number after it */
        b->err = VK_ENOMEM;
    else
        b->r->st.frames_skipped++;
    return b->err;
}

void vk_rec_builder_free(vk_rec_builder *b)
{
    if (b == NULL)
        return;
    finish(b->r);
    free(b->ping.s);
    vk_recording_unref(b->r);
    free(b);
}

int vk_rec_builder_finish(vk_rec_builder *b, vk_recording **out, vk_diag *d)
{
    *out = NULL;
    if (b->err != VK_OK) {
        int e = b->err;
        vk_rec_builder_free(b);
        return vk_diag_set(d, e, "out of memory building the recorded world");
    }
    finish(b->r);
    *out = b->r;
    free(b->ping.s);
    free(b);
    return VK_OK;
}

int vk_recording_build(const vk_capture *c, const vk_side *side, vk_recording **out,
                       vk_diag *d)
{
    vk_rec_builder *b;
    int e = vk_rec_builder_new(c->count ? c->frames[0].ts_ns : 0, NULL, &b, d);
    if (e != VK_OK)
        return e;
    for (size_t i = 0; i < c->count; i++)
        if ((side[i] == VK_SIDE_GUEST || side[i] == VK_SIDE_EXPECTED) &&
            vk_rec_builder_add(b, &c->frames[i], side[i] == VK_SIDE_GUEST) != VK_OK)
            break;
    return vk_rec_builder_finish(b, out, d);
}

int vk_recording_build_mac(const vk_capture *c, const vk_mac *guest_mac, vk_recording **out,
                           vk_diag *d)
{
    vk_side *side = calloc(c->count + 1, sizeof *side);
    if (side == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    for (size_t i = 0; i < c->count; i++) {
        const vk_cap_frame *f = &c->frames[i];
        if (f->len < 12 || f->dropped)
            continue;
        if (memcmp(f->data + 6, guest_mac->b, 6) == 0)
            side[i] = VK_SIDE_GUEST;
        else if (memcmp(f->data, guest_mac->b, 6) == 0 || (f->data[0] & 1))
            side[i] = VK_SIDE_EXPECTED;
    }
    int e = vk_recording_build(c, side, out, d);
    free(side);
    return e;
}

/* ---- reading bytes back ---- */

int vk_recording_read(vk_recording *r, const vk_rec_span *s, size_t off, void *buf, size_t n)
{
    if (n == 0)
        return VK_OK;
    if (off > s->len || n > s->len - off)
        return VK_EINVAL;
    if (s->mem) {
        memcpy(buf, (const uint8_t *)(uintptr_t)s->pos + off, n);
        return VK_OK;
    }
    uint64_t at = s->pos + off;
    if (r->cache != NULL && at >= r->cache_pos && at - r->cache_pos <= r->cache_len &&
        n <= r->cache_len - (at - r->cache_pos)) {
        memcpy(buf, r->cache + (at - r->cache_pos), n);
        return VK_OK;
    }
    /* the bytes that follow in the file are the next segments of the same
     * chunk, most of the time: read ahead into the buffer */
    if (r->cache == NULL && n <= VK_REC_READ_AHEAD)
        r->cache = malloc(VK_REC_READ_AHEAD);
    bool ahead = r->cache != NULL && n <= VK_REC_READ_AHEAD;
    uint8_t *to = ahead ? r->cache : buf;
    size_t want = ahead ? VK_REC_READ_AHEAD : n, got = 0;
    if (ahead)
        r->cache_len = 0;
    while (got < n && r->fd >= 0) {
        ssize_t k = pread(r->fd, to + got, want - got, (off_t)(at + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    r->bytes_read += got;
    if (ahead) {
        r->cache_pos = at;
        r->cache_len = got;
        if (got >= n)
            memcpy(buf, r->cache, n);
    }
    if (got >= n)
        return VK_OK;
    if (r->io_error == VK_OK) {
        r->io_error = VK_EIO;
        snprintf(r->io_msg, sizeof r->io_msg,
                 "%s: cannot read back %zu bytes at offset %llu for the recorded world (%s): "
                 "the file changed or was removed during the replay",
                 r->path ? r->path : "capture", n, (unsigned long long)(s->pos + off),
                 got < n && errno != 0 ? strerror(errno) : "short read");
    }
    return VK_EIO;
}

long vk_recording_read_event(vk_recording *r, const vk_rec_tcp *t, const vk_rec_event *e,
                             size_t off, void *buf, size_t cap)
{
    size_t n = 0, at = 0;
    for (size_t i = 0; i < e->nspan && n < cap; i++) {
        const vk_rec_span *sp = &t->spans[e->span - t->span_base + i];
        if (off >= at + sp->len) {
            at += sp->len;
            continue;
        }
        size_t from = off > at ? (size_t)(off - at) : 0;
        size_t k = sp->len - from < cap - n ? sp->len - from : cap - n;
        if (vk_recording_read(r, sp, from, (uint8_t *)buf + n, k) != VK_OK)
            return VK_EIO;
        n += k;
        off += k;
        at += sp->len;
    }
    return (long)n;
}

/* ---- streamed flows ---- */

static void stream_free(struct vk_rec_stream *st)
{
    if (st == NULL)
        return;
    vk_rec_builder_free(st->b);
    free(st->done);
    free(st->pieces_done);
    free(st);
}

bool vk_recording_streams(const vk_recording *r)
{
    for (size_t i = 0; i < r->ntcp; i++)
        if (r->tcp[i].streamed || r->tcp[i].guest_streamed)
            return true;
    return false;
}

int vk_recording_set_source(vk_recording *r, vk_rec_next_fn next, void *ctx)
{
    if (next == NULL) {
        if (r->stream != NULL)
            r->stream->next = NULL;
        return VK_OK;
    }
    struct vk_rec_stream *st = r->stream;
    if (st == NULL) {
        st = calloc(1, sizeof *st);
        builder *b = builder_alloc(r->epoch);
        bool *done = calloc(r->ntcp + 1, sizeof *done);
        bool *pieces_done = calloc(r->ntcp + 1, sizeof *pieces_done);
        if (st == NULL || b == NULL || done == NULL || pieces_done == NULL) {
            free(st), free(done), free(pieces_done);
            vk_rec_builder_free(b);
            return VK_ENOMEM;
        }
        b->file = r->fd >= 0; /* the same kind of spans as the first builder's */
        b->st = st;
        st->b = b;
        st->main = r;
        st->done = done;
        st->pieces_done = pieces_done;
        r->stream = st;
    }
    st->next = next;
    st->ctx = ctx;
    return VK_OK;
}

static int stream_fail(vk_recording *r, int e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int stream_fail(vk_recording *r, int e, const char *fmt, ...)
{
    if (r->io_error != VK_OK)
        return r->io_error;
    r->io_error = e;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->io_msg, sizeof r->io_msg, fmt, ap);
    va_end(ap);
    return e;
}

/* Feeds the second builder until flow `flow` has n events built (pieces:
 * n pieces of its guest stream). */
static int stream_reach(vk_recording *r, size_t flow, size_t n, bool pieces)
{
    struct vk_rec_stream *st = r->stream;
    const char *path = r->path ? r->path : "capture";
    if (r->io_error != VK_OK)
        return r->io_error;
    if (st == NULL || st->next == NULL)
        return stream_fail(r, VK_EINVAL, "%s: the recorded world streams TCP flow %zu, but "
                           "no source gives its frames again", path, flow);
    vk_recording *sr = st->b->r;
    while (sr->ntcp <= flow || (pieces ? sr->tcp[flow].npieces : sr->tcp[flow].nev) < n) {
        vk_cap_frame f;
        bool guest;
        vk_diag d = {0};
        int e = st->next(st->ctx, &f, &guest, &d);
        if (e < 0)
            return stream_fail(r, e, "%s", d.msg);
        if (e == 0)
            return stream_fail(r, VK_EIO, "%s: the file changed while it was replayed (it "
                               "is read again, not held): TCP flow %zu has fewer %s "
                               "than when it was read", path, flow,
                               pieces ? "guest stream pieces" : "events");
        e = vk_rec_builder_add(st->b, &f, guest);
        if (e == VK_EFULL && st->pieces_held > VK_REC_WINDOW_PIECES)
            return stream_fail(r, e, "%s: frame %llu: the recorded world needs more than %u "
                               "pieces of the guests' TCP streams built ahead of the replay "
                               "(VK_REC_WINDOW_PIECES): a long guest stream is not sent by "
                               "the stack while the capture goes on",
                               path, (unsigned long long)f.no, VK_REC_WINDOW_PIECES);
        if (e == VK_EFULL)
            return stream_fail(r, e, "%s: frame %llu: the recorded world needs more than %u "
                               "TCP events built ahead of the replay (VK_REC_WINDOW_EVENTS): "
                               "a long flow is not read while the capture goes on",
                               path, (unsigned long long)f.no, VK_REC_WINDOW_EVENTS);
        if (e != VK_OK)
            return stream_fail(r, e, "out of memory building the recorded world again");
    }
    return VK_OK;
}

const vk_rec_event *vk_recording_event(vk_recording *r, size_t flow, size_t k,
                                       const vk_rec_tcp **holder)
{
    if (flow >= r->ntcp || k >= r->tcp[flow].nev)
        return NULL;
    const vk_rec_tcp *t = &r->tcp[flow];
    if (k >= t->ev_base) {
        *holder = t;
        return &t->ev[k - t->ev_base];
    }
    /* a streamed flow's event (not its last): complete once the next one
     * is built, since segments join only the last event */
    if (stream_reach(r, flow, k + 2, false) != VK_OK)
        return NULL;
    const vk_rec_tcp *s = &r->stream->b->r->tcp[flow];
    if (k < s->ev_base) {
        stream_fail(r, VK_EINVAL, "%s: event %zu of streamed TCP flow %zu was asked for "
                    "again after it was consumed (a streamed flow plays to one user netdev)",
                    r->path ? r->path : "capture", k, flow);
        return NULL;
    }
    *holder = s;
    return &s->ev[k - s->ev_base];
}

void vk_recording_consumed(vk_recording *r, size_t flow, size_t k)
{
    struct vk_rec_stream *st = r->stream;
    if (st == NULL || flow >= r->ntcp || !r->tcp[flow].streamed)
        return;
    bool done = k >= r->tcp[flow].nev;
    st->done[flow] |= done;
    vk_recording *sr = st->b->r;
    if (flow >= sr->ntcp)
        return;
    vk_rec_tcp *s = &sr->tcp[flow];
    if (!s->streamed)
        return;
    if (done) { /* from now on only its last event, not counted */
        tcp_trim(s, s->nev - 1, &st->held);
        if (s->nev > s->ev_base)
            st->held--;
        s->streamed = false;
        return;
    }
    /* the last event stays: the next segment may join it; forgotten in
     * batches, so that the move of what is left is paid rarely */
    size_t to = k < s->nev ? k : s->nev - 1;
    if (to > s->ev_base && (to - s->ev_base >= 32 || to + 1 >= s->nev))
        tcp_trim(s, to, &st->held);
}

size_t vk_recording_window(const vk_recording *r, size_t *peak)
{
    if (peak != NULL)
        *peak = r->stream ? r->stream->peak : 0;
    return r->stream ? r->stream->held : 0;
}

const vk_rec_piece *vk_recording_piece(vk_recording *r, size_t flow, size_t k)
{
    if (flow >= r->ntcp || k >= r->tcp[flow].npieces)
        return NULL;
    const vk_rec_tcp *t = &r->tcp[flow];
    if (!t->guest_streamed)
        return &t->guest_stream[k];
    /* a streamed guest stream's piece: complete once built (pieces are
     * never joined) */
    if (stream_reach(r, flow, k + 1, true) != VK_OK)
        return NULL;
    const vk_rec_tcp *s = &r->stream->b->r->tcp[flow];
    if (k < s->piece_base || !s->guest_streamed) {
        stream_fail(r, VK_EINVAL, "%s: piece %zu of the streamed guest stream of TCP flow %zu "
                    "was asked for again after it was checked (a streamed flow plays to one "
                    "user netdev)", r->path ? r->path : "capture", k, flow);
        return NULL;
    }
    return &s->guest_stream[k - s->piece_base];
}

void vk_recording_pieces_checked(vk_recording *r, size_t flow, size_t k)
{
    struct vk_rec_stream *st = r->stream;
    if (st == NULL || flow >= r->ntcp || !r->tcp[flow].guest_streamed)
        return;
    bool done = k >= r->tcp[flow].npieces;
    st->pieces_done[flow] |= done;
    vk_recording *sr = st->b->r;
    if (flow >= sr->ntcp)
        return;
    vk_rec_tcp *s = &sr->tcp[flow];
    if (!s->guest_streamed)
        return;
    if (done) { /* from now on its pieces are only counted */
        st->pieces_held -= s->npieces - s->piece_base;
        pieces_drop_all(s);
        s->guest_streamed = false;
        return;
    }
    /* forgotten in batches, so that the move of what is left is paid rarely */
    size_t to = k < s->npieces ? k : s->npieces;
    if (to > s->piece_base && (to - s->piece_base >= 32 || to == s->npieces))
        pieces_trim(s, to, &st->pieces_held);
}

size_t vk_recording_window_pieces(const vk_recording *r, size_t *peak)
{
    if (peak != NULL)
        *peak = r->stream ? r->stream->pieces_peak : 0;
    return r->stream ? r->stream->pieces_held : 0;
}

size_t vk_rec_tcp_ready(const vk_rec_tcp *t, uint64_t gsent, bool gfin)
{
    /* the first step whose condition is not met, by bisection */
    size_t lo = 0, hi = t->nsteps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const vk_rec_step *st = &t->steps[mid];
        if (st->prefix > gsent || (st->after_guest_fin && !gfin))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo < t->nsteps ? t->steps[lo].first : t->nev;
}

vk_recording *vk_recording_ref(vk_recording *r)
{
    if (r != NULL)
        r->refs++;
    return r;
}

void vk_recording_unref(vk_recording *r)
{
    if (r == NULL || --r->refs > 0)
        return;
    stream_free(r->stream);
    for (size_t i = 0; i < r->ntcp; i++) {
        free(r->tcp[i].ev);
        free(r->tcp[i].spans);
        free(r->tcp[i].steps);
        free(r->tcp[i].guest_stream);
        free(r->tcp[i].b);
    }
    for (size_t i = 0; i < r->nudp; i++)
        free(r->udp[i].dg.d);
    for (size_t i = 0; i < r->ndns; i++)
        free(r->dns[i].replies.d);
    for (size_t i = 0; i < r->nping; i++)
        free(r->ping[i].replies.d);
    free(r->tcp);
    free(r->udp);
    free(r->dns);
    free(r->ping);
    free(r->notes);
    for (size_t i = 0; i < r->narena; i++)
        free(r->arena[i]);
    free(r->arena);
    if (r->fd >= 0)
        close(r->fd);
    free(r->cache);
    free(r->path);
    free(r);
}
