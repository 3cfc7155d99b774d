/*
 * IPv4 reassembly for the user-mode stack (libslirp reassembles everything
 * before its protocols see it).  Bounded on every axis a guest controls:
 * VK_USER_FRAG_MAX_DATAGRAMS datagrams in progress, VK_USER_FRAG_MAX_PIECES
 * fragments each, VK_USER_FRAG_MAX_BYTES of payload held in all, and
 * VK_USER_FRAG_TIMEOUT_NS from the first fragment on the loop's clock.
 * A fragment that overlaps another (other than an exact duplicate) discards
 * the whole datagram, as RFC 5722 asks for IPv6: overlaps are only ever an
 * evasion trick.  Every copy is checked against the 65535-byte limit first.
 */
#include "backends/user/user_internal.h"

#include <stdlib.h>
#include <string.h>

#include "wire/checksum.h"

#define IP_MAXPACKET 65535u

static void queue_free(vk_user_frag_queue *q)
{
    q->u->frag_bytes -= q->bytes;
    vk_timer_cancel(q->timer);
    vk_frame_unref(q->first);
    free(q->data);
    vk_timer *t = q->timer;
    vk_user *u = q->u;
    memset(q, 0, sizeof *q);
    q->timer = t;
    q->u = u;
}

static void queue_expire(void *arg, uint64_t now)
{
    (void)now;
    vk_user_frag_queue *q = arg;
    vk_user *u = q->u;
    u->st.frag_timeouts++;
    u->st.drops++;
    vk_port_drop(u->port, q->first, "IPv4: reassembly timeout");
    queue_free(q);
}

static bool same_datagram(const vk_user_frag_queue *q, const vk_ipv4_repr *ip)
{
    return q->used && q->id == ip->id && q->proto == ip->proto &&
           memcmp(&q->src, &ip->src, sizeof q->src) == 0 &&
           memcmp(&q->dst, &ip->dst, sizeof q->dst) == 0;
}

static vk_user_frag_queue *queue_find(vk_user *u, const vk_ipv4_repr *ip)
{
    for (size_t i = 0; i < VK_USER_FRAG_MAX_DATAGRAMS; i++)
        if (same_datagram(&u->frag[i], ip))
            return &u->frag[i];
    return NULL;
}

static vk_user_frag_queue *queue_new(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip)
{
    for (size_t i = 0; i < VK_USER_FRAG_MAX_DATAGRAMS; i++) {
        vk_user_frag_queue *q = &u->frag[i];
        if (q->used)
            continue;
        q->data = malloc(IP_MAXPACKET);
        if (q->data == NULL)
            return NULL;
        q->used = true;
        q->src = ip->src;
        q->dst = ip->dst;
        q->id = ip->id;
        q->proto = ip->proto;
        q->first = vk_frame_ref((vk_frame *)rx->f);
        vk_timer_arm(q->timer, rx->now + VK_USER_FRAG_TIMEOUT_NS);
        return q;
    }
    return NULL;
}

/* 1: exact duplicate, -1: overlaps, 0: fits. */
static int overlap(const vk_user_frag_queue *q, size_t off, size_t len)
{
    for (size_t i = 0; i < q->npieces; i++) {
        size_t o = q->pieces[i].off, l = q->pieces[i].len;
        if (o == off && l == len)
            return 1;
        if (off < o + l && o < off + len)
            return -1;
    }
    return 0;
}

static int discard(vk_user *u, const vk_user_rx *rx, vk_user_frag_queue *q, uint64_t *counter,
                   const char *reason)
{
    (*counter)++;
    if (q != NULL)
        queue_free(q);
    return vk_user_drop(u, rx, reason);
}

/* The whole datagram: the first fragment's header with MF and offset
 * cleared, its length and checksum fixed, then the payload. */
static int complete(vk_user_frag_queue *q, uint8_t **out, size_t *out_len)
{
    size_t len = q->hdr_len + q->total;
    uint8_t *buf = malloc(len);
    if (buf == NULL)
        return VK_ENOMEM;
    memcpy(buf, q->hdr, q->hdr_len);
    memcpy(buf + q->hdr_len, q->data, q->total);
    buf[2] = (uint8_t)(len >> 8);
    buf[3] = (uint8_t)len;
    buf[6] &= 0x40; /* keep DF, clear MF and the offset */
    buf[7] = 0;
    buf[10] = buf[11] = 0;
    uint16_t c = vk_csum(buf, q->hdr_len);
    buf[10] = (uint8_t)(c >> 8);
    buf[11] = (uint8_t)c;
    *out = buf;
    *out_len = len;
    q->u->st.frag_reassembled++;
    queue_free(q);
    return 1;
}

static int add_piece(vk_user *u, const vk_user_rx *rx, vk_user_frag_queue *q,
                     const vk_ipv4_repr *ip)
{
    size_t off = ip->frag_off, len = ip->payload_len;
    int ov = overlap(q, off, len);
    if (ov > 0)
        return vk_user_drop(u, rx, "IPv4: duplicate fragment");
    if (ov < 0)
        return discard(u, rx, q, &u->st.frag_overlaps, "IPv4: overlapping fragment");
    if (q->npieces == VK_USER_FRAG_MAX_PIECES)
        return discard(u, rx, q, &u->st.frag_pieces_full, "IPv4: too many fragments");
    if (u->frag_bytes + len > VK_USER_FRAG_MAX_BYTES)
        return discard(u, rx, q, &u->st.frag_memory_full, "IPv4: fragment memory full");
    if (!ip->mf) {
        if (q->have_last && q->total != off + len)
            return discard(u, rx, q, &u->st.frag_overlaps, "IPv4: two last fragments");
        q->have_last = true;
        q->total = off + len;
    }
    for (size_t i = 0; i < q->npieces; i++)
        if (q->have_last && q->pieces[i].off + q->pieces[i].len > q->total)
            return discard(u, rx, q, &u->st.frag_oversize, "IPv4: fragment past the end");
    if (q->have_last && off + len > q->total)
        return discard(u, rx, q, &u->st.frag_oversize, "IPv4: fragment past the end");
    if (off == 0) {
        memcpy(q->hdr, rx->eth.payload, ip->hdr_len);
        q->hdr_len = ip->hdr_len;
        q->have_first = true;
    }
    memcpy(q->data + off, ip->payload, len);
    q->pieces[q->npieces++] = (vk_user_frag_piece){(uint16_t)off, (uint16_t)len};
    q->bytes += len;
    u->frag_bytes += len;
    return VK_OK;
}

int vk_user_frag_input(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                       uint8_t **out, size_t *out_len)
{
    size_t off = ip->frag_off, len = ip->payload_len;
    vk_user_frag_queue *q = queue_find(u, ip);
    if (ip->hdr_len + off + len > IP_MAXPACKET)
        return discard(u, rx, q, &u->st.frag_oversize, "IPv4: fragment beyond 65535 bytes");
    if (len == 0 || (ip->mf && len % 8 != 0))
        return vk_user_drop(u, rx, "IPv4: fragment length not a multiple of 8");
    if (q == NULL && (q = queue_new(u, rx, ip)) == NULL) {
        u->st.frag_queues_full++;
        return vk_user_drop(u, rx, "IPv4: too many datagrams in reassembly");
    }
    int r = add_piece(u, rx, q, ip);
    if (r != VK_OK)
        return r;
    if (!q->have_first || !q->have_last || q->bytes != q->total)
        return 0;
    r = complete(q, out, out_len);
    return r == 1 ? 1 : vk_user_drop(u, rx, "user: out of memory");
}

int vk_user_frag_init(vk_user *u)
{
    for (size_t i = 0; i < VK_USER_FRAG_MAX_DATAGRAMS; i++) {
        u->frag[i].u = u;
        u->frag[i].timer = vk_timer_new(u->loop, queue_expire, &u->frag[i]);
        if (u->frag[i].timer == NULL)
            return VK_ENOMEM;
    }
    return VK_OK;
}

void vk_user_frag_cleanup(vk_user *u)
{
    for (size_t i = 0; i < VK_USER_FRAG_MAX_DATAGRAMS; i++) {
        vk_user_frag_queue *q = &u->frag[i];
        if (q->u == NULL)
            continue;
        if (q->used)
            queue_free(q);
        vk_timer_free(q->timer);
        q->timer = NULL;
    }
}
