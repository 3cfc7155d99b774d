/*
 * The TCP state machine of the user-mode NAT, toward the guest, as
 * libslirp 4.7 runs it (its BSD 4.4 tcp_input/tcp_output/tcp_timer):
 *
 *  - Guest SYN: the world connects first; the guest hears nothing until
 *    `connected` (its SYN retransmits are ignored).  Then the SYN-ACK takes
 *    the ISN counter and carries only MSS = min(MTU, MRU) - 40 (1460; 1440
 *    over IPv6), window 65535.  Refused: RST|ACK seq 0 ack ISN+1 (TTL 255,
 *    window 0, libslirp's tcp_respond); an immediate no-route: ICMP net/host
 *    unreachable (IPv6: no route / address unreachable); a later failure or
 *    75 s without an answer: the same RST|ACK.
 *  - Toward the guest: segments of MTU - 60 (1440) on a connection the
 *    guest opened (libslirp's tcp_newtcpcb), MTU - 40 on a hostfwd or
 *    guestfwd one, capped by the guest's MSS (at least 32; 0 is none);
 *    congestion window from one MSS (slow start, then congestion avoidance);
 *    a segment goes out whenever there is something and room in the window
 *    (libslirp disabled Nagle); PSH on the segment that empties the buffer;
 *    the FIN follows the last byte after the world's EOF.
 *  - From the guest: in-order data on libslirp's header-prediction path is
 *    ACKed at once, other in-order data after the fast timeout (2 ms), out
 *    of order data at once (and kept, at most VK_USER_TCP_OOO_MAX segments).
 *    Guest bytes go to the world's send(); what it does not take waits in
 *    `rcv`, and the window we advertise shrinks by it (never below what was
 *    already advertised, RFC 9293 3.8.6.2.2).  The world is read only up to
 *    the room in `snd` and the guest's window (plus one MSS, so a zero
 *    window can be probed), so a slow guest leaves the data in the world.
 *    Bytes past the window (all of a segment's into a zero window) and
 *    bytes no buffer can take (VK_USER_TCP_MEMORY_MAX) are dropped with a
 *    traced reason; the segment's ACK is still taken.
 *  - Timers: retransmission with libslirp's RTO rules in slow ticks of
 *    500 ms (initial 6 s, Jacobson/Karels, 1 s..12 s, backoff 1..64, drop
 *    after 12 retransmits with a RST); persist probes 5..60 s into a zero
 *    window; TIME_WAIT 10 s.
 *
 * On the live clock only, work is gathered over one round of the loop (the
 * frames one TAP wakeup reads, up to 50) as GRO gathers segments: in-order
 * guest bytes go to `rcv` and reach the world in one send(), the ACK libslirp
 * would send at once goes out once at the end of the round, and an ACK from
 * the guest reads the world and sends once.  The segments and ACKs are the
 * same; fewer ACKs go out during a burst, each acknowledging more.  On the
 * virtual clock (replay) every frame is its own round and nothing changes.
 *
 * Also on the live clock only, a guest that offers window scaling gets it
 * (shift VK_USER_TCP_LIVE_WSCALE in our SYN-ACK, or in our SYN for hostfwd)
 * and the connection's buffers grow to VK_USER_TCP_LIVE_BUF_BYTES: without
 * it a window is at most 65535 bytes, one segment at mtu=65520, and the
 * guest waits a round trip for every segment.  libslirp never scales; a
 * replay (virtual clock) compares with it and gets its SYN-ACK exactly.
 *
 * Also on the live clock only, when the port toward the guest passes TCP
 * super-segments whole (core/port.h vk_port_passes_gso: a TAP with a vnet
 * header, nothing traced or filtered), the segments one pass would send
 * back to back leave as one super-segment of up to gso_payload_max() bytes
 * (core/frame.h), which the TAP hands the host kernel in one write; the
 * sequence numbers, flags and windows are those of the segments it stands
 * for.  Traced, filtered or replayed, every segment is MSS-sized as
 * libslirp's.  A guest ACKs once per super-segment (and, with the batching
 * above, one ACK may cover a round's worth), so on the live clock slow
 * start counts the bytes an ACK covers (RFC 3465) instead of one MSS per
 * ACK, else the window would grow by a 44th per round trip.
 *
 * Deliberate differences: timers run exactly at their duration instead of
 * on the next 500 ms tick; urgent data is plain inline data (libslirp sends
 * it out of band to the host); no fast retransmit (the virtual link does not
 * lose frames); a guest SYN retransmitted while our SYN-ACK is out gets the
 * SYN-ACK again at once; resets need a sequence number inside the window.
 */
#include "backends/user/tcp_conn.h"

#include <stdlib.h>
#include <string.h>

#include "wire/checksum.h"
#include "wire/icmp.h"

static const int backoff[VK_USER_TCP_MAXRXTSHIFT + 1] = {1, 2, 4, 8, 16, 32, 64, 64,
                                                        64, 64, 64, 64, 64};

static bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static bool seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static bool seq_geq(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

static vk_user_tcp *tcp_of(const vk_user_tcp_conn *c) { return c->u->tcp; }

/* ---- byte buffers ---- */

static void buf_peek(const vk_user_tcp_buf *b, size_t off, uint8_t *out, size_t n)
{
    size_t pos = (b->head + off) % (b->cap ? b->cap : 1);
    size_t first = min_sz(n, b->cap - pos);
    memcpy(out, b->data + pos, first);
    memcpy(out + first, b->data, n - first);
}

/* Makes room for n more bytes within the per-buffer and global caps. */
static bool buf_reserve(vk_user_tcp *t, vk_user_tcp_buf *b, size_t n, size_t max)
{
    size_t want = b->len + n;
    if (want <= b->cap)
        return true;
    if (want > max)
        return false;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < want)
        cap *= 2;
    if (cap > max)
        cap = max;
    if (t->mem - b->cap + cap > VK_USER_TCP_MEMORY_MAX)
        return false;
    uint8_t *d = malloc(cap);
    if (d == NULL)
        return false;
    if (b->len > 0)
        buf_peek(b, 0, d, b->len);
    free(b->data);
    t->mem = t->mem - b->cap + cap;
    b->data = d;
    b->cap = cap;
    b->head = 0;
    return true;
}

static void buf_append(vk_user_tcp_buf *b, const uint8_t *p, size_t n)
{
    size_t tail = (b->head + b->len) % b->cap;
    size_t first = min_sz(n, b->cap - tail);
    memcpy(b->data + tail, p, first);
    memcpy(b->data, p + first, n - first);
    b->len += n;
}

static void buf_release(vk_user_tcp *t, vk_user_tcp_buf *b)
{
    free(b->data);
    t->mem -= b->cap;
    memset(b, 0, sizeof *b);
}

/* A buffer that empties is freed at once on the virtual clock.  On the
 * live clock it is kept for VK_USER_TCP_TRIM_NS (c->trim): freeing and
 * allocating up to a mebibyte per loop round cost page faults and brk()
 * calls that showed as 40 ms stalls at mtu=65520. */
static void buf_consume(vk_user_tcp_conn *c, vk_user_tcp_buf *b, size_t n, uint64_t now)
{
    if (n >= b->len && c->trim != NULL) {
        b->head = b->len = 0;
        vk_timer_arm(c->trim, now + VK_USER_TCP_TRIM_NS);
        return;
    }
    if (n >= b->len) {
        buf_release(c->u->tcp, b);
        return;
    }
    b->head = (b->head + n) % b->cap;
    b->len -= n;
}

/* ---- output ---- */

/* Emits t and sends it; gso_mss != 0 makes it a super-segment (core/frame.h;
 * t->csum_partial set by the caller). */
static int tcp_out(vk_user *u, int family, const void *src, const void *dst,
                   const vk_tcp_repr *t, uint8_t tos, uint8_t ttl, uint16_t gso_mss,
                   uint64_t now)
{
    uint32_t pseudo = family == 4 ? vk_csum_pseudo4(src, dst, VK_IP_PROTO_TCP)
                                  : vk_csum_pseudo6(src, dst, VK_IP_PROTO_TCP);
    size_t n;
    int r = vk_tcp_emit(t, pseudo, u->scratch, VK_USER_SCRATCH, &n);
    if (r != VK_OK)
        return r;
    if (family == 6 && gso_mss != 0)
        return vk_user_ip6_output_gso(u, src, dst, VK_USER_TCP_HOP_LIMIT, u->scratch, n,
                                      gso_mss);
    if (family == 6)
        return vk_user_ip6_output(u, src, dst, VK_IP_PROTO_TCP, VK_USER_TCP_HOP_LIMIT,
                                  u->scratch, n);
    vk_ip4 s, d;
    memcpy(&s, src, sizeof s);
    memcpy(&d, dst, sizeof d);
    vk_user_ip4_out o = {.src = s, .dst = d, .proto = VK_IP_PROTO_TCP, .tos = tos, .ttl = ttl,
                         .payload = u->scratch, .len = n, .gso_mss = gso_mss};
    return vk_user_ip4_output(u, &o, now);
}

int vk_user_tcp_send_raw(vk_user *u, int family, const void *src, const void *dst,
                         const vk_tcp_repr *t, uint8_t tos, uint8_t ttl, uint64_t now)
{
    return tcp_out(u, family, src, dst, t, tos, ttl, 0, now);
}

static const void *far_addr(const vk_user_tcp_conn *c)
{
    return c->family == 4 ? (const void *)&c->faddr4 : (const void *)&c->faddr6;
}

static const void *guest_addr(const vk_user_tcp_conn *c)
{
    return c->family == 4 ? (const void *)&c->gaddr4 : (const void *)&c->gaddr6;
}

/* The largest window we may advertise. */
static uint32_t max_window(const vk_user_tcp_conn *c)
{
    uint32_t m = VK_USER_TCP_MAXWIN << c->rcv_scale;
    return m < c->buf_max ? m : (uint32_t)c->buf_max;
}

/* libslirp's receive window: the room in `rcv`, nothing below a quarter
 * of the buffer and one MSS (silly window avoidance), at most 65535, never
 * less than what was advertised already. */
static uint32_t rcv_window(const vk_user_tcp_conn *c)
{
    const vk_user_tcp *t = tcp_of(c);
    size_t space = c->buf_max - c->rcv.len;
    size_t global = VK_USER_TCP_MEMORY_MAX - t->mem;
    if (c->rcv.cap < c->buf_max && global < space)
        space = global;
    if (space < c->buf_max / 4 && space < c->mss)
        space = 0;
    if (space > max_window(c))
        space = max_window(c);
    space &= ~(((size_t)1 << c->rcv_scale) - 1); /* what the shifted field can say */
    uint32_t adv = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    return space < adv ? adv : (uint32_t)space;
}

static void send_segment(vk_user_tcp_conn *c, uint32_t seq, uint8_t flags, size_t off,
                         size_t len, uint64_t now)
{
    vk_user *u = c->u;
    uint32_t win = rcv_window(c);
    vk_tcp_repr t = {.src_port = c->fport, .dst_port = c->gport, .seq = seq,
                     .ack = (flags & VK_TCP_ACK) ? c->rcv_nxt : 0, .flags = flags,
                     .window = (uint16_t)(win >> c->rcv_scale)};
    if (flags & VK_TCP_SYN) {
        /* the window of a SYN is never scaled (RFC 7323 2.2) */
        t.window = (uint16_t)(win > VK_USER_TCP_MAXWIN ? VK_USER_TCP_MAXWIN : win);
        win = t.window;
        t.has_wscale = c->rcv_scale != 0 || (c->state == VK_TCPS_SYN_SENT && c->batch != NULL);
        t.wscale = t.has_wscale ? VK_USER_TCP_LIVE_WSCALE : 0;
        t.has_mss = true;
        t.mss = (uint16_t)(c->family == 4 ? u->cfg.mtu - 40 : u->cfg.mtu - 60);
    }
    /* The payload is staged past the largest header; emit moves it. */
    uint8_t *stage = u->scratch + VK_TCP_MIN_HLEN + VK_TCP_MAX_OPTIONS_LEN;
    if (len > 0) {
        buf_peek(&c->snd, off, stage, len);
        t.payload = stage;
        t.payload_len = len;
    }
    /* longer than the MSS: a super-segment (output_once made sure it may) */
    uint16_t gso_mss = len > c->mss ? c->mss : 0;
    t.csum_partial = gso_mss != 0;
    tcp_out(u, c->family, far_addr(c), guest_addr(c), &t, c->tos, VK_USER_TCP_TTL, gso_mss, now);
    if (flags & VK_TCP_ACK) {
        if (seq_gt(c->rcv_nxt + win, c->rcv_adv))
            c->rcv_adv = c->rcv_nxt + win;
        c->ack_now = false;
        c->batch_ack = false;
        vk_timer_cancel(c->delack);
    }
}

static int rexmtval(const vk_user_tcp_conn *c)
{
    return (c->srtt >> 3) + c->rttvar;
}

static void arm_rexmt(vk_user_tcp_conn *c, int ticks, uint64_t now)
{
    vk_timer_arm(c->rexmt, now + (uint64_t)ticks * VK_USER_TCP_TICK_NS);
}

static void set_persist(vk_user_tcp_conn *c, uint64_t now)
{
    int t = ((c->srtt >> 2) + c->rttvar) >> 1;
    int v = t * backoff[c->rxtshift];
    if (v < VK_USER_TCP_PERS_MIN)
        v = VK_USER_TCP_PERS_MIN;
    if (v > VK_USER_TCP_PERS_MAX)
        v = VK_USER_TCP_PERS_MAX;
    if (c->rxtshift < VK_USER_TCP_MAXRXTSHIFT)
        c->rxtshift++;
    c->persisting = true;
    arm_rexmt(c, v, now);
}

static bool can_send_fin(const vk_user_tcp_conn *c)
{
    return c->ws_eof && (c->state == VK_TCPS_ESTABLISHED || c->state == VK_TCPS_CLOSE_WAIT ||
                         c->state == VK_TCPS_FIN_WAIT_1 || c->state == VK_TCPS_CLOSING ||
                         c->state == VK_TCPS_LAST_ACK);
}

static bool receiving(const vk_user_tcp_conn *c)
{
    return c->state == VK_TCPS_ESTABLISHED || c->state == VK_TCPS_FIN_WAIT_1 ||
           c->state == VK_TCPS_FIN_WAIT_2;
}

/* The payload of the largest super-segment: whole MSS-sized segments in
 * one IP packet and one frame (VK_FRAME_MAX; IPv6's 40-byte header and an
 * option-less TCP header), 64240 bytes at MSS 1460. */
static size_t gso_payload_max(const vk_user_tcp_conn *c)
{
    size_t room = VK_FRAME_MAX - VK_ETH_HLEN - VK_IPV6_HLEN - VK_TCP_MIN_HLEN;
    return room - room % c->mss;
}

/* Live clock only: whether segments for the guest may leave as one TCP
 * super-segment (core/frame.h) because the port to the guest passes it
 * whole (a TAP with a vnet header, nothing traced or filtered).  A replay
 * or a traced run sends exactly libslirp's segments. */
static bool may_gso(const vk_user_tcp_conn *c)
{
    return c->batch != NULL && vk_port_passes_gso(c->u->port);
}

/* One pass of libslirp's tcp_output: true when a segment went out and the
 * caller should try again. */
static bool output_once(vk_user_tcp_conn *c, bool force, uint64_t now)
{
    if (c->state == VK_TCPS_SYN_SENT || c->state == VK_TCPS_SYN_RCVD) {
        uint8_t flags = c->state == VK_TCPS_SYN_RCVD ? VK_TCP_SYN | VK_TCP_ACK : VK_TCP_SYN;
        if (c->snd_nxt != c->iss)
            return false;
        send_segment(c, c->iss, flags, 0, 0, now);
        c->snd_nxt = c->iss + 1;
        if (seq_gt(c->snd_nxt, c->snd_max)) {
            c->snd_max = c->snd_nxt;
            if (!c->rtt_timing) {
                c->rtt_timing = true;
                c->rtt_seq = c->iss;
                c->rtt_start = now;
            }
        }
        if (!vk_timer_pending(c->rexmt))
            arm_rexmt(c, c->rxtcur, now);
        return false;
    }
    size_t off = c->snd_nxt - c->snd_una;
    uint32_t win = c->snd_wnd < c->cwnd ? c->snd_wnd : c->cwnd;
    if (force && win == 0)
        win = 1;
    size_t usable = min_sz(c->snd.len, win);
    size_t len = usable > off ? usable - off : 0;
    bool more = false;
    size_t cap = c->mss;
    if (!force && len > c->mss && gso_payload_max(c) > c->mss && may_gso(c))
        cap = gso_payload_max(c);
    if (len > cap) {
        len = cap;
        more = true;
    }
    if (len > c->mss && len % c->mss != 0 && off + len < c->snd.len) {
        /* a short last segment that would not end the data: it waits for
         * the next pass, which decides on it as on any short segment */
        len -= len % c->mss;
        more = true;
    }
    uint8_t flags = VK_TCP_ACK;
    uint32_t data_end = c->snd_una + (uint32_t)c->snd.len;
    if (can_send_fin(c) && c->snd_nxt + len == data_end &&
        (!c->fin_sent || c->snd_nxt == c->fin_seq))
        flags |= VK_TCP_FIN;
    bool send = false;
    if (len > 0 && (len >= c->mss || off + len >= c->snd.len || force ||
                    len >= c->max_sndwnd / 2 || seq_lt(c->snd_nxt, c->snd_max)))
        send = true;
    if (flags & VK_TCP_FIN)
        send = true;
    if (c->ack_now)
        send = true;
    if (!send && receiving(c) && !c->fin_rcvd &&
        !(c->batch != NULL && vk_timer_pending(c->batch))) {
        uint32_t adv = rcv_window(c) - (seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0);
        /* BSD's window update: two segments' worth, or half the largest
         * window (libslirp compares with its 128 KiB buffer, which a window
         * of at most 65535 never reaches: with mtu=65520 a segment is
         * nearly the whole window, and the guest would wait for a probe) */
        if (adv >= 2u * c->mss || 2u * adv >= max_window(c))
            send = true;
    }
    if (!send) {
        if (c->snd.len > off && !vk_timer_pending(c->rexmt) && c->snd_wnd == 0) {
            c->rxtshift = 0;
            set_persist(c, now);
        }
        return false;
    }
    if (off + len == c->snd.len && len > 0)
        flags |= VK_TCP_PSH;
    uint32_t seq = c->snd_nxt;
    send_segment(c, seq, flags, off, len, now);
    uint32_t adv = (uint32_t)len + ((flags & VK_TCP_FIN) ? 1 : 0);
    if (flags & VK_TCP_FIN) {
        if (!c->fin_sent) {
            c->fin_sent = true;
            c->fin_seq = data_end;
            if (c->state == VK_TCPS_ESTABLISHED)
                c->state = VK_TCPS_FIN_WAIT_1;
            else if (c->state == VK_TCPS_CLOSE_WAIT)
                c->state = VK_TCPS_LAST_ACK;
        }
    }
    c->snd_nxt += adv;
    if (seq_gt(c->snd_nxt, c->snd_max)) {
        c->snd_max = c->snd_nxt;
        if (!c->rtt_timing && adv > 0) {
            c->rtt_timing = true;
            c->rtt_seq = seq;
            c->rtt_start = now;
        }
    }
    /* A persist probe leaves the persist timer running: a zero window may
     * last for ever without the connection being given up. */
    if (!force && adv > 0 && c->snd_nxt != c->snd_una &&
        (!vk_timer_pending(c->rexmt) || c->persisting)) {
        if (c->persisting) {
            c->persisting = false;
            c->rxtshift = 0;
        }
        arm_rexmt(c, c->rxtcur, now);
    }
    return more && !force;
}

static void output(vk_user_tcp_conn *c, uint64_t now)
{
    /* Each pass sends at most one MSS from a bounded buffer: this ends. */
    while (output_once(c, false, now))
        ;
}

/* ---- life and death ---- */

static void hash_remove(vk_user_tcp_conn *c);

void vk_user_tcp_conn_free(vk_user_tcp_conn *c, uint64_t now)
{
    vk_user *u = c->u;
    vk_user_tcp *t = u->tcp;
    if (c->ws != NULL)
        u->world->ops->close(u->world, c->ws, true, now);
    hash_remove(c);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else if (t->all == c)
        t->all = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    vk_timer_free(c->rexmt);
    vk_timer_free(c->delack);
    vk_timer_free(c->life);
    vk_timer_free(c->batch);
    vk_timer_free(c->trim);
    buf_release(t, &c->snd);
    buf_release(t, &c->rcv);
    while (c->ooo != NULL) {
        vk_user_tcp_ooo *o = c->ooo;
        c->ooo = o->next;
        t->mem -= o->len;
        free(o);
    }
    t->n--;
    u->st.tcp_conns = t->n;
    free(c);
}

static void close_world(vk_user_tcp_conn *c, bool abort, uint64_t now)
{
    if (c->ws == NULL)
        return;
    c->u->world->ops->close(c->u->world, c->ws, abort, now);
    c->ws = NULL;
}

/* libslirp's tcp_drop: a RST through the normal output path (TTL 64, the
 * current window) when the guest has a connection to reset, then gone. */
static void conn_drop(vk_user_tcp_conn *c, uint64_t now)
{
    if (c->state != VK_TCPS_SYN_SENT && c->state != VK_TCPS_TIME_WAIT) {
        send_segment(c, c->snd_nxt, VK_TCP_RST | VK_TCP_ACK, 0, 0, now);
        c->u->st.tcp_resets++;
    }
    vk_user_tcp_conn_free(c, now);
}

/* libslirp's tcp_respond for a connection whose outside never answered
 * (refused, or silent for 75 s): RST|ACK seq 0 acknowledging the guest's
 * SYN.  It has a socket then, so the window is the socket's free space
 * (65535) and the TTL the default 64 (pcaps/qemu-e1000-tcp-refused.pcap
 * frame 16, qemu-e1000-tcp-silent.pcap frame 21), unlike the restrict=on
 * reset for no connection (window 0, TTL 255). */
static void refuse(vk_user_tcp_conn *c, uint64_t now)
{
    vk_tcp_repr t = {.src_port = c->fport, .dst_port = c->gport, .seq = 0,
                     .ack = c->irs + 1, .flags = VK_TCP_RST | VK_TCP_ACK, .window = 65535};
    vk_user_tcp_send_raw(c->u, c->family, far_addr(c), guest_addr(c), &t, 0, 64, now);
    c->u->st.tcp_resets++;
}

static void unreachable(vk_user_tcp_conn *c, int err, uint64_t now)
{
    vk_user *u = c->u;
    if (c->family == 4)
        vk_user_icmp_unreach(u, c->syn_ip, c->syn_ip_len,
                             err == VK_EHOSTUNREACH ? VK_ICMP_UNREACH_HOST
                             : err == VK_EPORTUNREACH ? VK_ICMP_UNREACH_PORT
                                                      : VK_ICMP_UNREACH_NET,
                             now);
    else
        vk_user_icmp6_unreach(u, c->syn_ip, c->syn_ip_len,
                              err == VK_EHOSTUNREACH ? 3 : err == VK_EPORTUNREACH ? 4 : 0, now);
    u->st.tcp_unreachable++;
}

static void enter_time_wait(vk_user_tcp_conn *c, uint64_t now)
{
    c->state = VK_TCPS_TIME_WAIT;
    vk_timer_cancel(c->rexmt);
    c->persisting = false;
    if (c->rcv.len == 0)
        close_world(c, false, now); /* else once flush_rcv() empties it */
    vk_timer_arm(c->life, now + VK_USER_TCP_2MSL_NS);
}

/* ---- the world side ---- */

static void world_failed(vk_user_tcp_conn *c, uint64_t now)
{
    close_world(c, true, now);
    conn_drop(c, now);
}

/* Reads the world while `snd` and the guest's window have room. */
static bool pull(vk_user_tcp_conn *c, uint64_t now)
{
    vk_user *u = c->u;
    while (c->ws != NULL && c->ws_want_read && !c->ws_eof) {
        size_t limit = c->snd_wnd > c->mss ? c->snd_wnd : c->mss;
        if (limit > c->buf_max)
            limit = c->buf_max;
        if (c->snd.len >= limit)
            return true;
        size_t room = min_sz(limit - c->snd.len, VK_USER_SCRATCH / 2);
        if (!buf_reserve(u->tcp, &c->snd, room, c->buf_max)) {
            u->st.tcp_memory_full++;
            return true;
        }
        uint8_t *tmp = u->scratch + VK_USER_SCRATCH / 2;
        long n = u->world->ops->recv(u->world, c->ws, tmp, room, now);
        if (n == VK_EAGAIN) {
            c->ws_want_read = false;
        } else if (n == 0) {
            c->ws_eof = true;
            c->ws_want_read = false;
        } else if (n < 0) {
            world_failed(c, now);
            return false;
        } else {
            buf_append(&c->snd, tmp, (size_t)n);
        }
    }
    return true;
}

/* Writes `rcv` to the world; after the guest's FIN, shuts the world's
 * write side once it is empty.  False when the connection is gone. */
static bool flush_rcv(vk_user_tcp_conn *c, uint64_t now)
{
    vk_user *u = c->u;
    while (c->ws != NULL && c->rcv.len > 0) {
        size_t pos = c->rcv.head;
        size_t n = min_sz(c->rcv.len, c->rcv.cap - pos);
        long r = u->world->ops->send(u->world, c->ws, c->rcv.data + pos, n, now);
        if (r == VK_EAGAIN || r == 0)
            return true;
        if (r < 0) {
            world_failed(c, now);
            return false;
        }
        buf_consume(c, &c->rcv, (size_t)r, now);
    }
    if (c->ws != NULL && c->fin_rcvd && c->rcv.len == 0 && !c->ws_shut) {
        c->ws_shut = true;
        u->world->ops->shutdown_write(u->world, c->ws, now);
    }
    if (c->state == VK_TCPS_TIME_WAIT && c->rcv.len == 0)
        close_world(c, false, now);
    return true;
}

/* Guest bytes in order: to the world, the rest into `rcv`.  Returns how
 * many were taken (all unless the memory cap refused), or -1 when the
 * connection is gone. */
static long deliver(vk_user_tcp_conn *c, const uint8_t *p, size_t n, uint64_t now)
{
    vk_user *u = c->u;
    size_t done = 0;
    if (c->batch != NULL && c->ws != NULL && n > 0)
        vk_timer_arm(c->batch, now); /* one send() at the end of the round */
    else if (c->rcv.len == 0 && c->ws != NULL && n > 0) {
        long r = u->world->ops->send(u->world, c->ws, p, n, now);
        if (r < 0 && r != VK_EAGAIN) {
            world_failed(c, now);
            return -1;
        }
        if (r > 0)
            done = (size_t)r;
    }
    if (done < n && c->ws == NULL)
        return (long)n; /* nobody to take them: as libslirp, they vanish */
    if (done < n) {
        if (!buf_reserve(u->tcp, &c->rcv, n - done, c->buf_max)) {
            u->st.tcp_memory_full++;
            return (long)done;
        }
        buf_append(&c->rcv, p + done, n - done);
    }
    return (long)n;
}

static void on_connected(void *ctx, vk_wsock *s, int status, uint64_t now)
{
    vk_user_tcp_conn *c = ctx;
    (void)s;
    if (c->state != VK_TCPS_CONNECTING)
        return;
    if (status != VK_OK) {
        if (status == VK_ECONNREFUSED)
            c->u->st.tcp_refused++;
        else
            c->u->st.tcp_timeouts += status == VK_ETIMEDOUT;
        close_world(c, true, now);
        refuse(c, now);
        vk_user_tcp_conn_free(c, now);
        return;
    }
    c->iss = vk_user_tcp_next_iss(c->u, now);
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->state = VK_TCPS_SYN_RCVD;
    vk_timer_arm(c->life, now + VK_USER_TCP_KEEP_INIT_NS);
    output(c, now);
}

static void on_readable(void *ctx, vk_wsock *s, uint64_t now)
{
    vk_user_tcp_conn *c = ctx;
    (void)s;
    c->ws_want_read = true;
    if (c->state == VK_TCPS_CONNECTING || c->state == VK_TCPS_SYN_SENT ||
        c->state == VK_TCPS_SYN_RCVD)
        return; /* read once the guest is connected */
    if (pull(c, now))
        output(c, now);
}

static void on_writable(void *ctx, vk_wsock *s, uint64_t now)
{
    vk_user_tcp_conn *c = ctx;
    (void)s;
    if (flush_rcv(c, now))
        output(c, now);
}

const vk_wsock_events vk_user_tcp_conn_events = {
    .connected = on_connected,
    .readable = on_readable,
    .writable = on_writable,
};

/* ---- timers ---- */

static void rexmt_cb(void *arg, uint64_t now)
{
    vk_user_tcp_conn *c = arg;
    if (c->persisting) {
        set_persist(c, now);
        c->snd_nxt = c->snd_una; /* the probe is the first unacknowledged byte */
        output_once(c, true, now);
        return;
    }
    if (++c->rxtshift > VK_USER_TCP_MAXRXTSHIFT) {
        c->u->st.tcp_timeouts++;
        close_world(c, true, now);
        conn_drop(c, now);
        return;
    }
    c->u->st.tcp_retransmits++;
    int v = rexmtval(c) * backoff[c->rxtshift];
    c->rxtcur = v < VK_USER_TCP_RTO_MIN ? VK_USER_TCP_RTO_MIN
                : v > VK_USER_TCP_RTO_MAX ? VK_USER_TCP_RTO_MAX : v;
    if (c->rxtshift > VK_USER_TCP_MAXRXTSHIFT / 4) {
        c->rttvar += c->srtt >> 3;
        c->srtt = 0;
    }
    uint32_t win = (c->snd_wnd < c->cwnd ? c->snd_wnd : c->cwnd) / 2 / c->mss;
    c->ssthresh = (win < 2 ? 2 : win) * c->mss;
    c->cwnd = c->mss;
    c->snd_nxt = c->snd_una;
    c->rtt_timing = false;
    arm_rexmt(c, c->rxtcur, now);
    output(c, now);
}

static void delack_cb(void *arg, uint64_t now)
{
    vk_user_tcp_conn *c = arg;
    c->ack_now = true;
    output(c, now);
}

static void trim_cb(void *arg, uint64_t now)
{
    vk_user_tcp_conn *c = arg;
    (void)now;
    if (c->snd.len == 0)
        buf_release(c->u->tcp, &c->snd);
    if (c->rcv.len == 0)
        buf_release(c->u->tcp, &c->rcv);
}

static void batch_cb(void *arg, uint64_t now)
{
    vk_user_tcp_conn *c = arg;
    if (!flush_rcv(c, now))
        return;
    if (c->batch_ack)
        c->ack_now = true;
    if (c->ws_want_read && !pull(c, now))
        return;
    output(c, now);
}

static void life_cb(void *arg, uint64_t now)
{
    vk_user_tcp_conn *c = arg;
    switch (c->state) {
    case VK_TCPS_CONNECTING:
        c->u->st.tcp_timeouts++;
        close_world(c, true, now);
        refuse(c, now);
        vk_user_tcp_conn_free(c, now);
        return;
    case VK_TCPS_TIME_WAIT:
        vk_user_tcp_conn_free(c, now);
        return;
    default: /* the handshake did not finish in 75 s */
        c->u->st.tcp_timeouts++;
        close_world(c, true, now);
        conn_drop(c, now);
        return;
    }
}

vk_user_tcp_conn *vk_user_tcp_conn_new(vk_user *u, int family, uint64_t now)
{
    vk_user_tcp *t = u->tcp;
    vk_user_tcp_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->u = u;
    c->family = family;
    c->rexmt = vk_timer_new(u->loop, rexmt_cb, c);
    c->delack = vk_timer_new(u->loop, delack_cb, c);
    c->life = vk_timer_new(u->loop, life_cb, c);
    bool live = vk_loop_clock(u->loop) == VK_CLOCK_LIVE;
    if (live) {
        c->batch = vk_timer_new(u->loop, batch_cb, c);
        c->trim = vk_timer_new(u->loop, trim_cb, c);
        if (c->trim != NULL)
            vk_timer_set_background(c->trim, true); /* housekeeping only */
    }
    if (c->rexmt == NULL || c->delack == NULL || c->life == NULL ||
        (live && (c->batch == NULL || c->trim == NULL))) {
        vk_timer_free(c->rexmt);
        vk_timer_free(c->delack);
        vk_timer_free(c->life);
        vk_timer_free(c->batch);
        vk_timer_free(c->trim);
        free(c);
        return NULL;
    }
    c->mss = (uint16_t)(family == 4 ? u->cfg.mtu - 40 : u->cfg.mtu - 60);
    c->cwnd = c->mss;
    c->buf_max = VK_USER_TCP_BUF_BYTES;
    c->ssthresh = 65535u << 14;
    c->srtt = 0;
    c->rttvar = VK_USER_TCP_RTT_DFLT << 2;
    c->rxtcur = ((0 >> 2) + (VK_USER_TCP_RTT_DFLT << 2)) >> 1;
    c->next = t->all;
    if (t->all != NULL)
        t->all->prev = c;
    t->all = c;
    t->n++;
    u->st.tcp_conns = t->n;
    u->st.tcp_conns_opened++;
    vk_user_tcp_tick_kick(u, now);
    return c;
}

/* Window scaling agreed (live clock): the guest's shift, at most 14. */
static void scaling_on(vk_user_tcp_conn *c, uint8_t guest_shift)
{
    c->snd_scale = guest_shift > 14 ? 14 : guest_shift;
    c->rcv_scale = VK_USER_TCP_LIVE_WSCALE;
    c->buf_max = VK_USER_TCP_LIVE_BUF_BYTES;
}

/* ---- the connection table ---- */

static size_t hash_of(const vk_user_tcp_conn *c)
{
    uint32_t h = 2166136261u;
    const uint8_t *a = c->family == 4 ? c->gaddr4.b : c->gaddr6.b;
    const uint8_t *b = c->family == 4 ? c->faddr4.b : c->faddr6.b;
    size_t n = c->family == 4 ? 4 : 16;
    for (size_t i = 0; i < n; i++)
        h = (h ^ a[i] ^ ((uint32_t)b[i] << 8)) * 16777619u;
    h = (h ^ c->gport) * 16777619u;
    h = (h ^ c->fport) * 16777619u;
    return h % VK_USER_TCP_HASH_SIZE;
}

void vk_user_tcp_hash_insert(vk_user_tcp_conn *c)
{
    vk_user_tcp *t = c->u->tcp;
    size_t h = hash_of(c);
    c->hnext = t->hash[h];
    t->hash[h] = c;
}

static bool same_flow(const vk_user_tcp_conn *a, const vk_user_tcp_conn *b)
{
    if (a->family != b->family || a->gport != b->gport || a->fport != b->fport)
        return false;
    if (a->family == 4)
        return memcmp(&a->gaddr4, &b->gaddr4, 4) == 0 && memcmp(&a->faddr4, &b->faddr4, 4) == 0;
    return memcmp(&a->gaddr6, &b->gaddr6, 16) == 0 && memcmp(&a->faddr6, &b->faddr6, 16) == 0;
}

vk_user_tcp_conn *vk_user_tcp_lookup(vk_user *u, const vk_user_tcp_conn *probe)
{
    for (vk_user_tcp_conn *c = u->tcp->hash[hash_of(probe)]; c != NULL; c = c->hnext)
        if (c != probe && same_flow(c, probe))
            return c;
    return NULL;
}

static void hash_remove(vk_user_tcp_conn *c)
{
    vk_user_tcp *t = c->u->tcp;
    vk_user_tcp_conn **pp = &t->hash[hash_of(c)];
    while (*pp != NULL && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp == c)
        *pp = c->hnext;
}

/* ---- opening ---- */

/* The guest's MSS option caps ours as libslirp's tcp_mss does: an offer of
 * 0 is no offer (Linux ignores it too), any other at least 32. */
static void take_peer_mss(vk_user_tcp_conn *c, const vk_tcp_repr *seg)
{
    if (!seg->has_mss || seg->mss == 0)
        return;
    uint16_t m = seg->mss < 32 ? 32 : seg->mss;
    if (m < c->mss)
        c->mss = m;
}

int vk_user_tcp_conn_syn(vk_user_tcp_conn *c, const vk_user_rx *rx, const vk_tcp_repr *seg,
                         const char *guestfwd_target, uint64_t now)
{
    vk_user *u = c->u;
    c->irs = seg->seq;
    c->rcv_nxt = seg->seq + 1;
    c->rcv_adv = c->rcv_nxt;
    /* libslirp's tcp_newtcpcb gives a connection the guest opens a maximum
     * segment of MTU - 60 whatever the family (its socket is not AF_INET
     * yet), though its SYN-ACK announces MTU - 40: data toward the guest
     * comes in 1440-byte segments (pcaps/qemu-e1000-http-1m.pcap).  Unlike
     * libslirp, a smaller MSS from the guest is still honoured.  A guestfwd
     * connection is answered with the SYN at hand, whose MSS option
     * libslirp's tcp_dooptions applies (tcp_mss: MTU - 40 capped by it). */
    c->mss = (uint16_t)(u->cfg.mtu - (guestfwd_target != NULL ? 40 : 60));
    take_peer_mss(c, seg);
    c->cwnd = c->mss;
    if (seg->has_wscale && c->batch != NULL)
        scaling_on(c, seg->wscale);
    c->snd_wnd = seg->window;
    c->max_sndwnd = seg->window;
    c->snd_wl1 = seg->seq;
    c->state = VK_TCPS_CONNECTING;
    vk_user_tcp_hash_insert(c);
    int r;
    vk_world_flow flow = {.family = c->family, .proto = VK_IP_PROTO_TCP, .src4 = c->gaddr4,
                          .dst4 = c->faddr4, .src6 = c->gaddr6, .dst6 = c->faddr6,
                          .src_port = c->gport, .dst_port = c->fport};
    if (guestfwd_target != NULL) {
        r = u->world->ops->stream_open(u->world, &flow, guestfwd_target,
                                       &vk_user_tcp_conn_events, c, &c->ws, now);
        if (r != VK_OK) {
            c->ws = NULL;
            refuse(c, now);
            vk_user_tcp_conn_free(c, now);
            return vk_user_drop(u, rx, "TCP: guestfwd target did not open");
        }
        on_connected(c, c->ws, VK_OK, now);
        return VK_OK;
    }
    vk_waddr dst;
    r = vk_user_nat_dst(u, &flow, &dst, now);
    if (r == VK_OK)
        r = u->world->ops->tcp_connect(u->world, &flow, &dst, &vk_user_tcp_conn_events, c,
                                       &c->ws, now);
    if (r == VK_OK) {
        vk_timer_arm(c->life, now + VK_USER_TCP_KEEP_INIT_NS);
        return VK_OK;
    }
    c->ws = NULL;
    if (r == VK_ENETUNREACH || r == VK_EHOSTUNREACH || r == VK_EPORTUNREACH) {
        unreachable(c, r, now);
        vk_user_tcp_conn_free(c, now);
        return vk_user_drop(u, rx, "TCP: no route to the destination");
    }
    if (r == VK_ECONNREFUSED)
        u->st.tcp_refused++;
    else
        u->st.tcp_world_errors++;
    refuse(c, now);
    vk_user_tcp_conn_free(c, now);
    return vk_user_drop(u, rx, r == VK_ECONNREFUSED ? "TCP: connection refused"
                                                    : "TCP: the world cannot open a socket");
}

void vk_user_tcp_conn_open_incoming(vk_user_tcp_conn *c, vk_wsock *ws, uint64_t now)
{
    c->ws = ws;
    c->incoming = true;
    c->iss = vk_user_tcp_next_iss(c->u, now);
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->state = VK_TCPS_SYN_SENT;
    vk_user_tcp_hash_insert(c);
    vk_timer_arm(c->life, now + VK_USER_TCP_KEEP_INIT_NS);
    output(c, now);
}

/* ---- input ---- */

static void xmit_timer(vk_user_tcp_conn *c, uint64_t now)
{
    int rtt = 1 + (int)((now - c->rtt_start) / VK_USER_TCP_TICK_NS);
    if (c->srtt != 0) {
        int delta = rtt - 1 - (c->srtt >> 3);
        c->srtt += delta;
        if (c->srtt <= 0)
            c->srtt = 1;
        if (delta < 0)
            delta = -delta;
        delta -= c->rttvar >> 2;
        c->rttvar += delta;
        if (c->rttvar <= 0)
            c->rttvar = 1;
    } else {
        c->srtt = rtt << 3;
        c->rttvar = rtt << 1;
    }
    c->rtt_timing = false;
    c->rxtshift = 0;
    int v = rexmtval(c);
    c->rxtcur = v < VK_USER_TCP_RTO_MIN ? VK_USER_TCP_RTO_MIN
                : v > VK_USER_TCP_RTO_MAX ? VK_USER_TCP_RTO_MAX : v;
}

/* An ACK that moves snd_una; false when the connection is gone. */
static bool take_ack(vk_user_tcp_conn *c, uint32_t ack, uint64_t now)
{
    uint32_t acked = ack - c->snd_una;
    if (c->rtt_timing && seq_gt(ack, c->rtt_seq))
        xmit_timer(c, now);
    if (ack == c->snd_max) {
        vk_timer_cancel(c->rexmt);
        c->persisting = false;
    } else if (!c->persisting) {
        arm_rexmt(c, c->rxtcur, now);
    }
    uint32_t incr = c->mss;
    if (c->cwnd > c->ssthresh)
        incr = (uint32_t)c->mss * c->mss / c->cwnd;
    else if (c->batch != NULL && acked > incr)
        incr = acked; /* live: slow start counts bytes (RFC 3465), see the top */
    c->cwnd = c->cwnd + incr > (65535u << 14) ? 65535u << 14 : c->cwnd + incr;
    if (!c->syn_acked && acked > 0) {
        acked--; /* our SYN */
        c->syn_acked = true;
    }
    size_t d = min_sz(acked, c->snd.len);
    buf_consume(c, &c->snd, d, now);
    bool fin_acked = c->fin_sent && seq_gt(ack, c->fin_seq);
    c->snd_una = ack;
    if (seq_lt(c->snd_nxt, c->snd_una))
        c->snd_nxt = c->snd_una;
    if (!fin_acked)
        return true;
    switch (c->state) {
    case VK_TCPS_FIN_WAIT_1:
        c->state = VK_TCPS_FIN_WAIT_2;
        return true;
    case VK_TCPS_CLOSING:
        enter_time_wait(c, now);
        return true;
    case VK_TCPS_LAST_ACK:
        if (!flush_rcv(c, now))
            return false;
        close_world(c, false, now);
        vk_user_tcp_conn_free(c, now);
        return false;
    default:
        return true;
    }
}

static void take_fin(vk_user_tcp_conn *c, uint64_t now)
{
    c->rcv_nxt++;
    c->ack_now = true;
    c->fin_rcvd = true;
    switch (c->state) {
    case VK_TCPS_SYN_RCVD:
    case VK_TCPS_ESTABLISHED:
        c->state = VK_TCPS_CLOSE_WAIT;
        break;
    case VK_TCPS_FIN_WAIT_1:
        c->state = VK_TCPS_CLOSING;
        break;
    case VK_TCPS_FIN_WAIT_2:
        enter_time_wait(c, now);
        break;
    default:
        break;
    }
}

/* Keeps an out-of-order segment: NULL, or why it could not (a cap). */
static const char *ooo_insert(vk_user_tcp_conn *c, uint32_t seq, const uint8_t *p, size_t n, bool fin)
{
    vk_user_tcp *t = tcp_of(c);
    /* Trim what queued segments already hold (earliest copy wins). */
    vk_user_tcp_ooo **pp = &c->ooo;
    while (*pp != NULL && seq_leq((*pp)->seq + (uint32_t)(*pp)->len, seq))
        pp = &(*pp)->next;
    if (*pp != NULL && seq_lt((*pp)->seq, seq + (uint32_t)n)) {
        vk_user_tcp_ooo *q = *pp;
        if (seq_geq(seq, q->seq)) {
            size_t skip = seq - q->seq;
            if (skip + n <= q->len)
                return NULL; /* fully duplicated */
            size_t cut = q->len - skip;
            p += cut, n -= cut, seq += (uint32_t)cut;
            pp = &q->next;
            if (*pp != NULL && seq_lt((*pp)->seq, seq + (uint32_t)n)) {
                fin = false;
                n = (*pp)->seq - seq;
            }
        } else {
            fin = false;
            n = q->seq - seq;
        }
    }
    if (n == 0 && !fin)
        return NULL;
    if (c->ooo_n >= VK_USER_TCP_OOO_MAX) {
        c->u->st.tcp_ooo_full++;
        return "TCP: out-of-order queue full (VK_USER_TCP_OOO_MAX)";
    }
    if (t->mem + n > VK_USER_TCP_MEMORY_MAX) {
        c->u->st.tcp_memory_full++;
        return "TCP: buffer memory full (VK_USER_TCP_MEMORY_MAX)";
    }
    vk_user_tcp_ooo *o = malloc(sizeof *o + n);
    if (o == NULL)
        return "user: out of memory";
    o->seq = seq;
    o->len = n;
    o->fin = fin;
    memcpy(o->data, p, n);
    o->next = *pp;
    *pp = o;
    c->ooo_n++;
    t->mem += n;
    return NULL;
}

/* Moves queued segments that now start at rcv_nxt into the stream.
 * False when the connection is gone. */
static bool ooo_drain(vk_user_tcp_conn *c, bool *fin, uint64_t now)
{
    vk_user_tcp *t = tcp_of(c);
    while (c->ooo != NULL && seq_leq(c->ooo->seq, c->rcv_nxt)) {
        vk_user_tcp_ooo *o = c->ooo;
        c->ooo = o->next;
        c->ooo_n--;
        t->mem -= o->len;
        size_t skip = c->rcv_nxt - o->seq;
        if (skip < o->len || (skip == o->len && o->fin)) {
            size_t n = o->len - skip;
            long r = deliver(c, o->data + skip, n, now);
            if (r < 0) {
                free(o);
                return false;
            }
            c->rcv_nxt += (uint32_t)r;
            if ((size_t)r == n && o->fin)
                *fin = true;
        }
        free(o);
    }
    return true;
}

static int drop(vk_user_tcp_conn *c, const vk_user_rx *rx, const char *why)
{
    return vk_user_drop(c->u, rx, why);
}

static int drop_after_ack(vk_user_tcp_conn *c, const vk_user_rx *rx, const char *why)
{
    c->ack_now = true;
    output(c, rx->now);
    return vk_user_drop(c->u, rx, why);
}

static int input_syn_sent(vk_user_tcp_conn *c, const vk_user_rx *rx, const vk_tcp_repr *seg)
{
    uint64_t now = rx->now;
    bool ack_ok = (seg->flags & VK_TCP_ACK) && seq_gt(seg->ack, c->iss) &&
                  seq_leq(seg->ack, c->snd_max);
    if ((seg->flags & VK_TCP_ACK) && !ack_ok) {
        if (!(seg->flags & VK_TCP_RST)) {
            vk_tcp_repr t = {.src_port = c->fport, .dst_port = c->gport, .seq = seg->ack,
                             .flags = VK_TCP_RST};
            vk_user_tcp_send_raw(c->u, c->family, far_addr(c), guest_addr(c), &t, 0,
                                 VK_USER_TCP_RST_TTL, now);
            c->u->st.tcp_resets++;
        }
        return drop(c, rx, "TCP: bad ACK to our SYN");
    }
    if (seg->flags & VK_TCP_RST) {
        if (!ack_ok)
            return drop(c, rx, "TCP: reset without ACK to our SYN");
        c->u->st.tcp_guest_resets++;
        close_world(c, true, now);
        vk_user_tcp_conn_free(c, now);
        return VK_OK;
    }
    if (!(seg->flags & VK_TCP_SYN) || !ack_ok)
        return drop(c, rx, "TCP: expected SYN-ACK from the guest");
    c->irs = seg->seq;
    c->rcv_nxt = seg->seq + 1;
    c->rcv_adv = c->rcv_nxt;
    take_peer_mss(c, seg);
    c->cwnd = c->mss;
    if (seg->has_wscale && c->batch != NULL)
        scaling_on(c, seg->wscale);
    c->snd_wnd = c->max_sndwnd = seg->window;
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = seg->ack;
    c->state = VK_TCPS_ESTABLISHED;
    vk_timer_cancel(c->life);
    take_ack(c, seg->ack, now);
    c->ack_now = true;
    if (pull(c, now))
        output(c, now);
    return VK_OK;
}

int vk_user_tcp_conn_input(vk_user_tcp_conn *c, const vk_user_rx *rx, const vk_tcp_repr *seg)
{
    uint64_t now = rx->now;
    uint8_t flags = seg->flags;
    if (c->state == VK_TCPS_CONNECTING) {
        if (flags & VK_TCP_RST) {
            c->u->st.tcp_guest_resets++;
            close_world(c, true, now);
            vk_user_tcp_conn_free(c, now);
            return VK_OK;
        }
        return drop(c, rx, "TCP: the outside connect is still under way");
    }
    if (c->state == VK_TCPS_SYN_SENT)
        return input_syn_sent(c, rx, seg);

    uint32_t seq = seg->seq;
    uint32_t seg_wnd = (uint32_t)seg->window << c->snd_scale;
    const uint8_t *data = seg->payload;
    size_t dlen = seg->payload_len;
    uint32_t wnd = rcv_window(c);
    /* libslirp's header prediction decides whether in-order data is ACKed
     * at once; judge it on the segment as it came. */
    bool predicted = c->state == VK_TCPS_ESTABLISHED &&
                     (flags & (VK_TCP_SYN | VK_TCP_FIN | VK_TCP_RST | VK_TCP_URG | VK_TCP_ACK)) ==
                         VK_TCP_ACK &&
                     seq == c->rcv_nxt && seg->window != 0 && seg_wnd == c->snd_wnd &&
                     c->snd_nxt == c->snd_max && seg->ack == c->snd_una && c->ooo == NULL;

    if (flags & VK_TCP_RST) {
        bool in_window = wnd == 0 ? seq == c->rcv_nxt
                                  : seq_geq(seq, c->rcv_nxt) && seq_lt(seq, c->rcv_nxt + wnd);
        if (!in_window)
            return drop(c, rx, "TCP: reset outside the window");
        c->u->st.tcp_guest_resets++;
        close_world(c, true, now);
        vk_user_tcp_conn_free(c, now);
        return VK_OK;
    }
    if (flags & VK_TCP_SYN) {
        if (seq == c->irs && c->state == VK_TCPS_SYN_RCVD) {
            c->snd_nxt = c->iss; /* the guest lost our SYN-ACK */
            output(c, now);
            return drop(c, rx, "TCP: SYN retransmitted, SYN-ACK sent again");
        }
        if (seq_geq(seq, c->rcv_nxt) && seq_lt(seq, c->rcv_nxt + (wnd ? wnd : 1))) {
            close_world(c, true, now);
            conn_drop(c, now);
            return vk_user_drop(c->u, rx, "TCP: SYN inside an open connection");
        }
        return drop_after_ack(c, rx, "TCP: old SYN");
    }
    /* Trim what was received already. */
    bool fin = (flags & VK_TCP_FIN) != 0;
    if (seq_lt(seq, c->rcv_nxt)) {
        size_t dup = c->rcv_nxt - seq;
        if (dup > dlen || (dup == dlen && !fin)) {
            if (dlen > 0 || fin)
                c->ack_now = true;
            dlen = 0;
            fin = false;
        } else {
            data += dup;
            dlen -= dup;
        }
        seq = c->rcv_nxt;
        c->ack_now = true;
    }
    /* Trim what is beyond the window. */
    uint32_t end = seq + (uint32_t)dlen;
    if (seq_gt(end, c->rcv_nxt + wnd)) {
        size_t over = end - (c->rcv_nxt + wnd);
        if (over >= dlen && !(wnd == 0 && seq == c->rcv_nxt))
            return drop_after_ack(c, rx, "TCP: segment beyond the window");
        /* the part past the window goes (at a zero window: all of it, the
         * segment's ACK is still taken, as BSD does): traced, the rest of
         * the segment carries on */
        vk_user_drop(c->u, rx, wnd == 0 ? "TCP: data into a zero window"
                                        : "TCP: data beyond the window trimmed");
        dlen = over >= dlen ? 0 : dlen - over;
        fin = false;
        c->ack_now = true;
    }
    if (!(flags & VK_TCP_ACK))
        return drop(c, rx, "TCP: segment without ACK");

    if (c->state == VK_TCPS_SYN_RCVD) {
        if (!seq_gt(seg->ack, c->snd_una) || seq_gt(seg->ack, c->snd_max)) {
            vk_tcp_repr t = {.src_port = c->fport, .dst_port = c->gport, .seq = seg->ack,
                             .flags = VK_TCP_RST};
            vk_user_tcp_send_raw(c->u, c->family, far_addr(c), guest_addr(c), &t, 0,
                                 VK_USER_TCP_RST_TTL, now);
            c->u->st.tcp_resets++;
            return drop(c, rx, "TCP: bad ACK to our SYN-ACK");
        }
        c->state = VK_TCPS_ESTABLISHED;
        vk_timer_cancel(c->life);
        c->snd_wl1 = seq - 1;
    }
    if (seq_gt(seg->ack, c->snd_max))
        return drop_after_ack(c, rx, "TCP: ACK for data never sent");
    if (seq_gt(seg->ack, c->snd_una) && !take_ack(c, seg->ack, now))
        return VK_OK;
    if (seq_lt(c->snd_wl1, seq) ||
        (c->snd_wl1 == seq && (seq_lt(c->snd_wl2, seg->ack) ||
                               (c->snd_wl2 == seg->ack && seg_wnd > c->snd_wnd)))) {
        c->snd_wnd = seg_wnd;
        c->snd_wl1 = seq;
        c->snd_wl2 = seg->ack;
        if (c->snd_wnd > c->max_sndwnd)
            c->max_sndwnd = c->snd_wnd;
        if (c->snd_wnd > 0 && c->persisting) {
            vk_timer_cancel(c->rexmt);
            c->persisting = false;
            c->rxtshift = 0;
        }
    }
    if (c->state == VK_TCPS_TIME_WAIT) {
        if (fin || dlen > 0) {
            vk_timer_arm(c->life, now + VK_USER_TCP_2MSL_NS);
            c->ack_now = true;
        }
        output(c, now);
        return VK_OK;
    }
    if ((dlen > 0 || fin) && (receiving(c) || c->state == VK_TCPS_SYN_RCVD)) {
        if (seq == c->rcv_nxt) {
            long r = deliver(c, data, dlen, now);
            if (r < 0)
                return VK_OK;
            c->rcv_nxt += (uint32_t)r;
            if ((size_t)r < dlen) { /* deliver() could not buffer the rest */
                fin = false;
                vk_user_drop(c->u, rx, "TCP: no room to buffer the guest's bytes "
                                       "(VK_USER_TCP_MEMORY_MAX)");
            }
            bool had_ooo = c->ooo != NULL;
            bool ofin = false;
            if (!ooo_drain(c, &ofin, now))
                return VK_OK;
            if (fin || ofin)
                take_fin(c, now);
            if ((predicted || had_ooo) && c->batch != NULL) {
                c->batch_ack = true;
                vk_timer_arm(c->batch, now);
            } else if (predicted || had_ooo) {
                c->ack_now = true;
            }
            else if (!c->ack_now && !vk_timer_pending(c->delack))
                vk_timer_arm(c->delack, now + VK_USER_TCP_DELACK_NS);
            if (c->fin_rcvd && !flush_rcv(c, now))
                return VK_OK;
        } else {
            c->ack_now = true;
            const char *full = ooo_insert(c, seq, data, dlen, fin);
            if (full != NULL) {
                output(c, now);
                return drop(c, rx, full);
            }
        }
    } else if (dlen > 0 || fin) {
        c->ack_now = true; /* after the guest's FIN: nothing more is taken */
    }
    if (c->state == VK_TCPS_TIME_WAIT) {
        output(c, now);
        return VK_OK;
    }
    if (c->batch != NULL && !c->ack_now) {
        vk_timer_arm(c->batch, now); /* read the world and send once per round */
        return VK_OK;
    }
    if (c->ws_want_read && !pull(c, now))
        return VK_OK;
    output(c, now);
    return VK_OK;
}
