/*
 * Fuzz target: the netem filter's options and engine (filters/netem.c,
 * filters/netem_engine.c): tc-netem's vocabulary parsed from an option
 * string, then frames through netem_enqueue's decisions on the virtual
 * clock, with the frames held and released as filter-netem holds them.
 *
 * Input: the option text (as after "-object filter-netem,id=f0,netdev=n,"),
 * a NUL, then records `u8 dt, u16be len` (dt in steps of 1/8 of the
 * configured delay, at least 1 us; len 0..65535).
 * Properties: a failed parse has a message; a drop has a reason; a corrupt
 * bit lies inside the frame; a frame leaves at or after its arrival (a
 * reordered one at once); the frames held never exceed limit + 1 (sch_netem
 * enqueues a frame's copy between the original's limit check and the
 * original, so a full queue may take both);
 * a refused slot names a later start; time never goes backwards.
 */
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "core/options.h"
#include "filters/netem.h"
#include "fuzz/fuzz.h"
#include "wire/buf.h"

#define MAX_TEXT 1024

/* Frames held: their release times (unordered; the count is what matters). */
typedef struct held {
    uint64_t *at;
    size_t n, cap;
} held;

static void hold(held *h, uint64_t at)
{
    vk_fuzz_check(vk_grow(&h->at, &h->cap, h->n, sizeof *h->at, 64) == VK_OK, "out of memory");
    h->at[h->n++] = at;
}

/* Releases every frame due by now, through the slots. */
static void release(vk_netem_state *st, held *h, uint64_t now, size_t len)
{
    for (size_t i = 0; i < h->n;) {
        uint64_t next = 0;
        if (h->at[i] > now) {
            i++;
            continue;
        }
        if (!vk_netem_slot_take(st, now, len, &next)) {
            vk_fuzz_check(next > now, "a refused slot starts no later than now");
            return;
        }
        h->at[i] = h->at[--h->n];
    }
}

/* What filter-netem's dispatch does with a scheduled frame: sent at once
 * (reordered, or due now with nothing queued and the slot open) or held. */
static void dispatch(vk_netem_state *st, held *h, uint64_t now, size_t len,
                     const vk_netem_verdict *v)
{
    vk_fuzz_check(v->send_at >= now, "frame leaves before it arrived");
    vk_fuzz_check(!v->reorder || v->send_at == now, "reordered frame not sent at once");
    uint64_t next;
    if (v->reorder || (v->send_at <= now && h->n == 0 && vk_netem_slot_take(st, now, len, &next)))
        return;
    hold(h, v->send_at);
    /* sch_netem checks the original against the limit, then enqueues its
     * copy (which passes the same check), then the original: one over */
    vk_fuzz_check(h->n <= (size_t)st->cfg.limit + 1, "more frames held than limit + 1");
}

static void check_verdict(const vk_netem_verdict *v, size_t len)
{
    if (v->drop)
        vk_fuzz_check(v->why != NULL && v->why[0] != '\0', "a drop without a reason");
    if (v->corrupt)
        vk_fuzz_check(len > 0 && v->corrupt_bit < len * 8, "corrupt bit outside the frame");
}

/* One frame through netem_receive's order: decide; the duplicate decided,
 * scheduled and dispatched; then the original scheduled and dispatched. */
static void enqueue(vk_netem_state *st, held *h, uint64_t now, size_t len)
{
    vk_netem_verdict v, dv;
    vk_netem_decide(st, now, len, h->n, true, &v);
    check_verdict(&v, len);
    if (v.drop)
        return;
    if (v.duplicate) {
        vk_netem_decide(st, now, len, h->n, false, &dv);
        check_verdict(&dv, len);
        vk_fuzz_check(!dv.duplicate, "a duplicate of a duplicate");
        if (!dv.drop) {
            vk_netem_schedule(st, now, len, &dv);
            dispatch(st, h, now, len, &dv);
        }
    }
    vk_netem_schedule(st, now, len, &v);
    dispatch(st, h, now, len, &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t tlen = 0;
    while (tlen < size && tlen < MAX_TEXT && data[tlen] != 0)
        tlen++;
    char text[MAX_TEXT + 1];
    memcpy(text, data, tlen);
    text[tlen] = '\0';
    vk_opts o;
    vk_diag d = {{0}};
    if (vk_opts_parse("-object", NULL, text, &o, &d) != VK_OK) {
        vk_fuzz_check(d.msg[0] != '\0', "option parse failed without a message");
        return 0;
    }
    vk_netem_config c;
    memset(&c, 0, sizeof c);
    d.msg[0] = '\0';
    int e = vk_netem_config_parse(&c, &o, "f0", &d);
    vk_opts_free(&o);
    if (e != VK_OK) {
        vk_fuzz_check(d.msg[0] != '\0', "netem options refused without a message");
        return 0;
    }
    vk_fuzz_check(c.limit >= 1, "limit 0 accepted");
    vk_netem_state *st = malloc(sizeof *st);
    vk_fuzz_check(st != NULL, "out of memory");
    vk_netem_init(st, &c);
    vk_rd r;
    size_t off = tlen < size ? tlen + 1 : size;
    vk_rd_init(&r, data + off, size - off);
    uint64_t step = c.delay_ns / 8 > 1000 ? c.delay_ns / 8 : 1000;
    uint64_t now = 0;
    held h = {0};
    while (vk_rd_left(&r) >= 3) {
        uint64_t dt = vk_rd_u8(&r);
        size_t len = vk_rd_u16be(&r);
        uint64_t before = now;
        now += dt * step;
        vk_fuzz_check(now >= before, "time went backwards");
        release(st, &h, now, len);
        enqueue(st, &h, now, len);
    }
    release(st, &h, UINT64_MAX, 60);
    free(h.at);
    free(st);
    return 0;
}
