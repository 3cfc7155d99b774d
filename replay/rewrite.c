/* ISN and timestamp offset learning and guest-frame rewriting (see rewrite.h). */
#include "replay/rewrite.h"
#include "core/grow.h"

#include <stdlib.h>
#include <string.h>

#include "wire/buf.h"
#include "wire/tcp.h"

void vk_rw_init(vk_rewriter *rw)
{
    memset(rw, 0, sizeof *rw);
}

void vk_rw_free(vk_rewriter *rw)
{
    free(rw->flows);
    memset(rw, 0, sizeof *rw);
}

/* A linear table: replayed captures hold few TCP flows at once; the cap
 * bounds the cost of a hostile one. */
const vk_rw_flow *vk_rw_find(const vk_rewriter *rw, const char *key)
{
    for (size_t i = rw->n; i-- > 0;)
        if (strcmp(rw->flows[i].key, key) == 0)
            return &rw->flows[i];
    return NULL;
}

static vk_rw_flow *flow_get(vk_rewriter *rw, const char *key, bool create)
{
    vk_rw_flow *f = (vk_rw_flow *)vk_rw_find(rw, key);
    if (f != NULL || !create)
        return f;
    if (rw->n >= VK_RW_MAX_FLOWS) {
        rw->flows_over_cap++;
        return NULL;
    }
    if (vk_grow(&rw->flows, &rw->cap, rw->n, sizeof *rw->flows, 16) != VK_OK)
        return NULL;
    f = &rw->flows[rw->n++];
    memset(f, 0, sizeof *f);
    memcpy(f->key, key, VK_FLOW_KEY_MAX);
    return f;
}

/* Finds the TCP segment of a frame; NULL when it is not (unfragmented) TCP. */
static uint8_t *tcp_of(const uint8_t *frame, size_t len, vk_tcp_repr *t, char *key)
{
    vk_pkt k;
    if (vk_pkt_locate(frame, len, &k) != VK_OK || k.l3 == 0 || k.l4_off == 0 ||
        k.proto != VK_IP_PROTO_TCP)
        return NULL;
    uint8_t *seg = (uint8_t *)frame + k.l4_off;
    if (vk_tcp_parse(seg, k.l3_end - k.l4_off, t) != VK_OK)
        return NULL;
    vk_flow_key(frame, len, key);
    return seg;
}

int vk_rw_expect(vk_rewriter *rw, const uint8_t *frame, size_t len)
{
    vk_tcp_repr t;
    char key[VK_FLOW_KEY_MAX];
    if (tcp_of(frame, len, &t, key) == NULL)
        return VK_OK;
    vk_rw_flow *f = flow_get(rw, key, true);
    if (f == NULL)
        return rw->n >= VK_RW_MAX_FLOWS ? VK_OK : VK_ENOMEM;
    if ((t.flags & VK_TCP_SYN) && !f->have_rec_isn) {
        f->have_rec_isn = true;
        f->rec_isn = t.seq;
    }
    if (t.has_ts && !f->have_rec_ts) {
        f->have_rec_ts = true;
        f->rec_ts = t.ts_val;
    }
    return VK_OK;
}

void vk_rw_learn(vk_rewriter *rw, const uint8_t *frame, size_t len)
{
    vk_tcp_repr t;
    char key[VK_FLOW_KEY_MAX];
    if (rw->n == 0) /* no recorded TCP answer: nothing to learn (a frame per answer) */
        return;
    if (tcp_of(frame, len, &t, key) == NULL)
        return;
    vk_rw_flow *f = flow_get(rw, key, false);
    if (f == NULL)
        return;
    if ((t.flags & VK_TCP_SYN) && f->have_rec_isn && !f->have_seq) {
        f->have_seq = true;
        f->seq_delta = t.seq - f->rec_isn;
    }
    if (t.has_ts && f->have_rec_ts && !f->have_ts) {
        f->have_ts = true;
        f->ts_delta = t.ts_val - f->rec_ts;
    }
}

bool vk_rw_apply(vk_rewriter *rw, uint8_t *frame, size_t len)
{
    vk_tcp_repr t;
    char key[VK_FLOW_KEY_MAX];
    if (rw->n == 0) /* no flow to follow */
        return false;
    uint8_t *seg = tcp_of(frame, len, &t, key);
    const vk_rw_flow *f = seg ? vk_rw_find(rw, key) : NULL;
    if (f == NULL)
        return false;
    bool changed = false;
    uint8_t b[4];
    if ((t.flags & VK_TCP_ACK) && f->have_seq && f->seq_delta != 0) {
        vk_put_be32(b, t.ack + f->seq_delta);
        vk_patch_csum(seg, 16, 8, b, 4);
        changed = true;
    }
    size_t ts = vk_tcp_ts_offset(seg, t.hdr_len);
    if (ts != 0 && f->have_ts && f->ts_delta != 0 && t.ts_ecr != 0) {
        vk_put_be32(b, t.ts_ecr + f->ts_delta);
        vk_patch_csum(seg, 16, ts + 4, b, 4);
        changed = true;
    }
    rw->frames_rewritten += changed;
    return changed;
}
