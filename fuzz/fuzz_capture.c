/*
 * Fuzz target: the capture reader (replay/capture.c: libpcap for pcap and
 * pcapng, and our own bounds-checked pcapng block walk for interfaces,
 * epb_flags and comments), then what replay does with a capture it read:
 * the guest/network splitter (by interface and direction, by MAC, with a BPF
 * filter), the TCP rewriter (expect, learn, apply), the comparator (flow
 * keys, normalisation, field-level diffs) and the recorded world's builder
 * (replay/recording.h).
 *
 * Properties: a capture that reads has frames with consistent numbers and
 * lengths; the split's counts add up; a frame list compared with itself
 * matches entirely; entries of a comparison point inside their lists; a
 * recording's TCP events need no more guest bytes than the guest sent, its
 * data chunks and guest pieces lie inside the capture's frames.
 * Input: the capture file's bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/frame.h"
#include "fuzz/fuzz.h"
#include "replay/capture.h"
#include "replay/compare.h"
#include "replay/recording.h"
#include "replay/rewrite.h"
#include "replay/split.h"

static void check_capture(const vk_capture *c)
{
    vk_fuzz_check(c->count > 0, "capture read with no frames");
    uint64_t last = 0;
    for (size_t i = 0; i < c->count; i++) {
        const vk_cap_frame *f = &c->frames[i];
        vk_fuzz_check(f->len <= VK_FRAME_MAX, "capture frame longer than the cap");
        vk_fuzz_check(f->no > last, "capture frame numbers not increasing");
        last = f->no;
        vk_fuzz_check(f->len == 0 || f->data != NULL, "capture frame without bytes");
        vk_fuzz_check(f->len >= 14, "capture frame shorter than an Ethernet header");
    }
    /* frames and skipped records share the file's numbering: 1..n, once each */
    size_t n = c->count + c->nskipped, fi = 0, si = 0;
    for (uint64_t no = 1; no <= n; no++) {
        if (fi < c->count && c->frames[fi].no == no)
            fi++;
        else if (si < c->nskipped && c->skipped[si].no == no)
            vk_fuzz_check(c->skipped[si++].why != NULL, "skipped record without a reason");
        else
            vk_fuzz_fail("record %llu is neither a frame nor skipped", (unsigned long long)no);
    }
}

static void check_split(const vk_capture *c, const vk_split *s)
{
    size_t g = 0, e = 0;
    for (size_t i = 0; i < c->count; i++) {
        vk_fuzz_check(s->side[i] <= VK_SIDE_EXPECTED, "split side out of range");
        g += s->side[i] == VK_SIDE_GUEST;
        e += s->side[i] == VK_SIDE_EXPECTED;
    }
    vk_fuzz_check(g == s->guest && e == s->expected, "split counts do not add up");
    vk_fuzz_check(strlen(s->method) < sizeof s->method, "split method not terminated");
}

static void check_result(const vk_cmp_result *r, size_t nexp, size_t nprod)
{
    vk_fuzz_check(r->n <= nexp + nprod, "comparison has more entries than frames");
    vk_fuzz_check(r->matched + r->divergences == r->n, "comparison counts do not add up");
    for (size_t i = 0; i < r->n; i++) {
        const vk_cmp_entry *e = &r->e[i];
        vk_fuzz_check(e->exp == VK_CMP_NONE || e->exp < nexp, "entry points past expected");
        vk_fuzz_check(e->prod == VK_CMP_NONE || e->prod < nprod, "entry points past produced");
        const char *flow = vk_cmp_flow(r, e);
        vk_fuzz_check(e->flow < r->nflows && memchr(flow, 0, VK_FLOW_KEY_MAX) != NULL,
                      "entry flow key missing or not terminated");
        vk_fuzz_check((e->kind == VK_CMP_DIFFER) == (e->diff != NULL),
                      "diff text on an entry that is not a divergence, or none on one");
    }
}

/* The replay pipeline on one split: the rewriter learns the expected side
 * and rewrites guest frames; the comparator runs guest against expected and
 * each side against itself. */
static void replay_side(const vk_capture *c, const vk_split *s)
{
    size_t n = c->count;
    vk_cmp_frame *exp = calloc(n, sizeof *exp), *gst = calloc(n, sizeof *gst);
    uint8_t **copies = calloc(n, sizeof *copies);
    vk_fuzz_check(exp && gst && copies, "out of memory");
    size_t ne = 0, ng = 0;
    vk_rewriter rw;
    vk_rw_init(&rw);
    for (size_t i = 0; i < n; i++) {
        const vk_cap_frame *f = &c->frames[i];
        char key[VK_FLOW_KEY_MAX];
        vk_flow_key(f->data, f->len, key);
        vk_fuzz_check(memchr(key, 0, sizeof key) != NULL, "flow key not terminated");
        if (s->side[i] == VK_SIDE_EXPECTED) {
            vk_fuzz_check(vk_rw_expect(&rw, f->data, f->len) == VK_OK, "rewriter expect failed");
            exp[ne++] = (vk_cmp_frame){.no = f->no, .ts = f->ts_ns, .data = f->data, .len = f->len};
            vk_rw_learn(&rw, f->data, f->len);
        } else if (s->side[i] == VK_SIDE_GUEST) {
            copies[i] = malloc(f->len ? f->len : 1);
            vk_fuzz_check(copies[i] != NULL, "out of memory");
            memcpy(copies[i], f->data, f->len);
            (void)vk_rw_apply(&rw, copies[i], f->len);
            gst[ng++] = (vk_cmp_frame){.no = f->no, .ts = f->ts_ns, .data = copies[i],
                                       .len = f->len};
        }
    }
    vk_cmp_result r;
    if (vk_compare(exp, ne, gst, ng, VK_NORM_ALL, &rw, &r) == VK_OK) {
        check_result(&r, ne, ng);
        vk_cmp_result_free(&r);
    }
    if (vk_compare(exp, ne, exp, ne, VK_NORM_DEFAULT, NULL, &r) == VK_OK) {
        check_result(&r, ne, ne);
        vk_fuzz_check(r.divergences == 0 && r.matched == ne,
                      "a frame list compared with itself diverges");
        vk_cmp_result_free(&r);
    }
    /* Normalisation and diffs of neighbouring frames. */
    static uint8_t a[VK_FRAME_MAX], b[VK_FRAME_MAX];
    for (size_t i = 0; i + 1 < n && i < 64; i++) {
        const vk_cap_frame *x = &c->frames[i], *y = &c->frames[i + 1];
        memcpy(a, x->data, x->len);
        memcpy(b, y->data, y->len);
        size_t la = vk_normalize(a, x->len, VK_NORM_ALL, &rw, false);
        size_t lb = vk_normalize(b, y->len, VK_NORM_ALL, &rw, true);
        vk_fuzz_check(la <= x->len && lb <= y->len, "normalisation grew a frame");
        char diff[480];
        vk_diff_frames(a, la, b, lb, diff, sizeof diff);
        vk_fuzz_check(memchr(diff, 0, sizeof diff) != NULL, "diff not terminated");
        vk_diff_frames(a, la, a, la, diff, sizeof diff);
        vk_fuzz_check(diff[0] == 0, "a frame differs from itself");
    }
    for (size_t i = 0; i < n; i++)
        free(copies[i]);
    free(copies);
    free(exp);
    free(gst);
    vk_rw_free(&rw);
}

static bool inside_a_frame(const vk_capture *c, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < c->count; i++) {
        const vk_cap_frame *f = &c->frames[i];
        if (p >= f->data && p + len <= f->data + f->len)
            return true;
    }
    return false;
}

static void check_recording(const vk_capture *c, const vk_split *s)
{
    vk_recording *r = NULL;
    vk_diag d = {{0}};
    vk_fuzz_check(vk_recording_build(c, s->side, &r, &d) == VK_OK, "recording build failed");
    for (size_t i = 0; i < r->ntcp; i++) {
        const vk_rec_tcp *t = &r->tcp[i];
        uint64_t off = 0;
        for (size_t k = 0; k < t->npieces; k++) {
            const vk_rec_piece *p = &t->guest_stream[k];
            vk_fuzz_check(p->off == off && p->len > 0, "guest stream pieces not contiguous");
            vk_fuzz_check(p->at.mem && p->at.len == p->len &&
                              inside_a_frame(c, (const uint8_t *)(uintptr_t)p->at.pos, p->len),
                          "guest piece outside the frames");
            off += p->len;
        }
        vk_fuzz_check(off == t->guest_bytes, "guest stream length differs from its count");
        for (size_t k = 0; k < t->nev; k++) {
            const vk_rec_event *e = &t->ev[k];
            vk_fuzz_check(e->prefix <= t->guest_bytes, "event needs more than the guest sent");
            vk_fuzz_check(k == 0 || e->prefix >= t->ev[k - 1].prefix, "prefixes go backwards");
            size_t len = 0;
            for (size_t j = 0; e->kind == VK_REC_DATA && j < e->nspan; j++) {
                const vk_rec_span *sp = &t->spans[e->span + j];
                vk_fuzz_check(e->span + j < t->nspans && sp->mem &&
                                  inside_a_frame(c, (const uint8_t *)(uintptr_t)sp->pos, sp->len),
                              "data chunk outside the frames");
                len += sp->len;
            }
            vk_fuzz_check(e->kind != VK_REC_DATA || (e->len > 0 && len == e->len),
                          "data chunk's segments do not add up to it");
        }
    }
    vk_recording_unref(r);
}

static void split_and_replay(const vk_capture *c, const vk_split_config *cfg, const vk_bpf *f)
{
    vk_split s;
    vk_diag d = {{0}};
    if (vk_split_capture(c, cfg, &s, &d) != VK_OK)
        return;
    check_split(c, &s);
    replay_side(c, &s);
    check_recording(c, &s);
    if (f != NULL) {
        vk_split_apply_filter(&s, c, f);
        check_split(c, &s);
    }
    vk_split_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vk_bpf *filter;
    static bool init;
    if (!init) {
        vk_diag d = {{0}};
        if (vk_bpf_new("not ip6 and not arp", &filter, &d) != VK_OK)
            vk_fuzz_fail("BPF filter: %s", d.msg);
        init = true;
    }
    const char *path = vk_fuzz_scratch_file(data, size);
    vk_capture *c = NULL;
    vk_diag d = {{0}};
    if (vk_capture_read(path, &c, &d) != VK_OK) {
        vk_fuzz_check(c == NULL, "failed read returned a capture");
        vk_fuzz_check(d.msg[0] != 0, "failed read without a message");
        return 0;
    }
    check_capture(c);
    vk_split_config auto_cfg = {0};
    split_and_replay(c, &auto_cfg, filter);
    vk_split_config nic_cfg = {.attach_id = "nic0"};
    split_and_replay(c, &nic_cfg, NULL);
    vk_split_config peer_cfg = {.attach_id = "net0", .attach_is_peer = true};
    split_and_replay(c, &peer_cfg, NULL);
    const vk_mac guest = {{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
    vk_split_config mac_cfg = {.guest_mac = &guest};
    split_and_replay(c, &mac_cfg, NULL);
    vk_capture_free(c);
    return 0;
}
