/* Text and JSON replay reports (see report.h and docs/replay-report.md). */
#include "replay/report.h"

#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "wire/describe.h"

static void rel_time(const vk_replay *r, uint64_t ts, char *buf, size_t cap)
{
    uint64_t rel = ts > r->epoch ? ts - r->epoch : 0;
    snprintf(buf, cap, "%" PRIu64 ".%09" PRIu64, rel / 1000000000u, rel % 1000000000u);
}

static void describe(const vk_cmp_frame *f, char *buf, size_t cap)
{
    vk_wire_describe(f->data, f->len, buf, cap);
}

/* One side of a comparison as the reports show it: the answers (expected
 * frames of the capture against what the guest received), or the wire (the
 * guest frames injected against what left the NIC).  Each entry carries
 * copies of its frames. */
typedef struct side {
    const vk_cmp_result *cmp;
    const char *got;        /* what a produced frame is called */
    /* answers: per entry, the time of the previous divergence of its flow
     * (0: none), the start of the window of decisions that explain it;
     * NULL: not explained (the wire) */
    uint64_t *after;
} side;

static const vk_cmp_frame *exp_of(const vk_cmp_entry *e)
{
    return e->exp != VK_CMP_NONE ? &e->x : NULL;
}

static const vk_cmp_frame *prod_of(const vk_cmp_entry *e)
{
    return e->prod != VK_CMP_NONE ? &e->p : NULL;
}

/* The later of an entry's expected and produced times: where the window of
 * decisions that explain it ends. */
static uint64_t entry_upto(const vk_cmp_entry *e)
{
    uint64_t upto = e->ts;
    if (e->exp != VK_CMP_NONE && e->x.ts > upto)
        upto = e->x.ts;
    if (e->prod != VK_CMP_NONE && e->p.ts > upto)
        upto = e->p.ts;
    return upto;
}

/* The window starts of decisions.h for every entry of c; NULL when there
 * is nothing to explain or no memory (the report then goes without). */
static uint64_t *explain_windows(const vk_replay *r, const vk_cmp_result *c)
{
    if (r->decisions.n == 0 || c->divergences == 0)
        return NULL;
    uint64_t *after = calloc(c->n + 1, sizeof *after);
    uint64_t *last = calloc(c->nflows + 1, sizeof *last);
    if (after == NULL || last == NULL) {
        free(after);
        free(last);
        return NULL;
    }
    for (size_t i = 0; i < c->n; i++) {
        const vk_cmp_entry *e = &c->e[i];
        if (e->kind == VK_CMP_MATCH || e->flow >= c->nflows)
            continue;
        after[i] = last[e->flow];
        uint64_t upto = entry_upto(e);
        if (upto > last[e->flow])
            last[e->flow] = upto;
    }
    free(last);
    return after;
}

static side answers_of(const vk_replay *r)
{
    return (side){&r->cmp, "answer", explain_windows(r, &r->cmp)};
}

static side wire_of(const vk_replay *r)
{
    return (side){&r->wire, "wire frame", NULL};
}

/* The decisions that explain entry i of sd: count, first position. */
static size_t explaining(const vk_replay *r, const side *sd, size_t i, size_t *first)
{
    *first = 0;
    if (sd->after == NULL)
        return 0;
    const vk_cmp_entry *e = &sd->cmp->e[i];
    return vk_decisions_find(&r->decisions, vk_cmp_flow(sd->cmp, e), sd->after[i],
                             entry_upto(e), first);
}

static const char *dir_word(const vk_decision *x)
{
    return x->dir == VK_DIR_IN ? "in" : "out";
}

#define EXPLAIN_TEXT_MAX 6

static void text_explain(const vk_replay *r, const side *sd, size_t i, FILE *out)
{
    size_t first, n = explaining(r, sd, i, &first);
    for (size_t k = 0; k < n && k < EXPLAIN_TEXT_MAX; k++) {
        const vk_decision *x = vk_decisions_at(&r->decisions, first + k);
        char t[32];
        rel_time(r, x->ts, t, sizeof t);
        fprintf(out, "     network: %ss %s %s %s: %s -- %s\n", t, x->port,
                x->drop ? "dropped" : "passed", dir_word(x), x->text, x->summary);
    }
    if (n > EXPLAIN_TEXT_MAX)
        fprintf(out, "     network: ... %zu more in this flow (--report FILE.json lists all)\n",
                n - EXPLAIN_TEXT_MAX);
}

static void text_entry(const vk_replay *r, const side *sd, size_t n, size_t i, FILE *out)
{
    const vk_cmp_entry *e = &sd->cmp->e[i];
    char t[32], desc[320];
    rel_time(r, e->ts, t, sizeof t);
    const vk_cmp_frame *x = exp_of(e), *p = prod_of(e);
    if (e->kind == VK_CMP_DIFFER) {
        fprintf(out, "  %zu) frame %" PRIu64 " differs (%s #%" PRIu64 ") at %ss, flow %s\n",
                n, x->no, sd->got, p->no, t, vk_cmp_flow(sd->cmp, e));
        fprintf(out, "     %s\n", e->diff);
    } else if (e->kind == VK_CMP_MISSING) {
        fprintf(out, "  %zu) frame %" PRIu64 " missing at %ss, flow %s: never produced\n", n,
                x->no, t, vk_cmp_flow(sd->cmp, e));
    } else {
        fprintf(out, "  %zu) unexpected %s #%" PRIu64 " at %ss, flow %s\n", n, sd->got, p->no,
                t, vk_cmp_flow(sd->cmp, e));
    }
    if (x != NULL) {
        describe(x, desc, sizeof desc);
        fprintf(out, "     expected: %s\n", desc);
    }
    if (p != NULL) {
        describe(p, desc, sizeof desc);
        fprintf(out, "     got:      %s\n", desc);
    }
    text_explain(r, sd, i, out);
}

static void text_divergences(const vk_replay *r, const side *sd, size_t max_diffs, FILE *out)
{
    const vk_cmp_result *c = sd->cmp;
    size_t shown = 0;
    for (size_t i = 0; i < c->n && shown < max_diffs; i++)
        if (c->e[i].kind != VK_CMP_MATCH)
            text_entry(r, sd, ++shown, i, out);
    if (shown < c->divergences)
        fprintf(out, "  ... %zu more (--max-diffs N, or --report FILE.json for all)\n",
                c->divergences - shown);
}

/* The wire check's verdict, and how the guest frames went to the driver. */
static void text_wire(const vk_replay *r, size_t max_diffs, FILE *out)
{
    const vk_cmp_result *c = &r->wire;
    char how[160] = "";
    if (r->offload_stats.csum + r->offload_stats.tso_jobs + r->offload_stats.plain > 0)
        snprintf(how, sizeof how, " (offloads: %zu TSO job%s of %zu segments, %zu checksum, "
                                  "%zu sent as they are)",
                 r->offload_stats.tso_jobs, r->offload_stats.tso_jobs == 1 ? "" : "s",
                 r->offload_stats.tso_segs, r->offload_stats.csum, r->offload_stats.plain);
    if (c->divergences == 0) {
        fprintf(out, "replay: wire PASS %zu frames left %s as the guest sent them%s\n",
                c->matched, r->attach, how);
        return;
    }
    fprintf(out, "replay: wire FAIL %zu divergence%s (%zu matched) between the guest frames "
                 "and what left %s%s\n",
            c->divergences, c->divergences == 1 ? "" : "s", c->matched, r->attach, how);
    side sd = wire_of(r);
    text_divergences(r, &sd, max_diffs, out);
}

/* What the guest did that the recorded world did not know. */
static void text_world(const vk_replay *r, size_t max_diffs, FILE *out)
{
    const vk_recording *rec = r->rec;
    if (rec == NULL || rec->notes_total == 0)
        return;
    fprintf(out, "replay: world FAIL %" PRIu64 " flow%s the recording does not know\n",
            rec->notes_total, rec->notes_total == 1 ? "" : "s");
    size_t n = rec->nnotes < max_diffs ? rec->nnotes : max_diffs;
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %zu) %s\n", i + 1, rec->notes[i]);
    if (n < rec->notes_total)
        fprintf(out, "  ... %" PRIu64 " more\n", rec->notes_total - n);
}

/* What did not go in: records the reader kept apart, guest frames the
 * driver refused.  Both were traced as drops; neither stops the replay. */
static void text_input(const vk_replay *r, size_t max_diffs, FILE *out)
{
    const vk_capture *c = r->cap;
    if (c->nskipped > 0)
        fprintf(out, "replay: note: %zu capture record%s not replayed (traced as drops):\n",
                c->nskipped, c->nskipped == 1 ? "" : "s");
    for (size_t i = 0; i < c->nskipped && i < max_diffs; i++)
        fprintf(out, "  frame %" PRIu64 ": %s (%zu bytes)\n", c->skipped[i].no,
                c->skipped[i].why, c->skipped[i].caplen);
    if (c->nskipped > max_diffs)
        fprintf(out, "  ... %zu more\n", c->nskipped - max_diffs);
    if (r->ndrops > 0)
        fprintf(out, "replay: note: %zu guest frame%s dropped: the guest driver of %s "
                     "cannot send %s (traced as drops, as on the card):\n",
                r->ndrops, r->ndrops == 1 ? "" : "s", r->attach,
                r->ndrops == 1 ? "it" : "them");
    for (size_t i = 0; i < r->ndrops && i < max_diffs; i++)
        fprintf(out, "  frame %" PRIu64 " (%zu bytes)\n", r->drops[i].no, r->drops[i].len);
    if (r->ndrops > max_diffs)
        fprintf(out, "  ... %zu more\n", r->ndrops - max_diffs);
}

/* How the capture was made replayable: link type, partial checksums. */
static void text_capture(const vk_replay *r, FILE *out)
{
    const vk_capture *c = r->cap;
    if (c->linktype != DLT_EN10MB) {
        const char *name = pcap_datalink_val_to_name(c->linktype);
        fprintf(out, "replay: note: link type %s: frames were given Ethernet headers "
                     "(guest 52:54:00:12:34:56, network 52:55:0a:00:02:02)\n",
                name != NULL ? name : "?");
    }
    if (r->csum_partial > 0 && r->csum_fixed > 0)
        fprintf(out, "replay: note: %zu frame%s (first: frame %" PRIu64 ") had offload-style "
                     "partial checksums (captured before checksum offload); "
                     "--fix-checksums recomputed %zu frame%s\n",
                r->csum_partial, r->csum_partial == 1 ? "" : "s", r->csum_first, r->csum_fixed,
                r->csum_fixed == 1 ? "" : "s");
    else if (r->csum_partial > 0)
        fprintf(out, "replay: note: %zu frame%s (first: frame %" PRIu64 ") carry offload-style "
                     "partial checksums: the capture was taken before checksum offload (in "
                     "the guest, or on a tap with offloads), and the network drops such "
                     "frames as corrupt; replay with --fix-checksums to recompute them\n",
                r->csum_partial, r->csum_partial == 1 ? "" : "s", r->csum_first);
    else if (r->csum_fixed > 0)
        fprintf(out, "replay: note: --fix-checksums recomputed the checksums of %zu frame%s\n",
                r->csum_fixed, r->csum_fixed == 1 ? "" : "s");
}

void vk_report_text(const vk_replay *r, size_t max_diffs, FILE *out)
{
    const vk_cmp_result *c = &r->cmp;
    size_t by_rule = c->by_rule;
    if (c->divergences == 0 && by_rule > 0) {
        fprintf(out, "replay: PASS %zu frames matched (%zu of them periodic router "
                     "advertisements, by content)\n", c->matched, by_rule);
    } else if (c->divergences == 0) {
        fprintf(out, "replay: PASS %zu frames matched\n", c->matched);
    } else {
        fprintf(out, "replay: FAIL %zu divergence%s (%zu matched)\n", c->divergences,
                c->divergences == 1 ? "" : "s", c->matched);
        side sd = answers_of(r);
        text_divergences(r, &sd, max_diffs, out);
        free(sd.after);
        if (r->decisions.drops + r->decisions.notes > 0)
            fprintf(out, "replay: the network dropped %" PRIu64 " frame%s and filters passed %"
                         PRIu64 " on with a note (delayed, corrupted, duplicated...); each "
                         "divergence above lists those of its flow since the one before\n",
                    r->decisions.drops, r->decisions.drops == 1 ? "" : "s", r->decisions.notes);
    }
    if (r->wire_checked)
        text_wire(r, max_diffs, out);
    text_world(r, max_diffs, out);
    text_input(r, max_diffs, out);
    text_capture(r, out);
}

void vk_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p == '\r')
            fputs("\\r", out);
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void json_frame(FILE *out, const vk_replay *r, const char *name, const char *numkey,
                       const vk_cmp_frame *f)
{
    char t[32], desc[320];
    fprintf(out, ", \"%s\": ", name);
    if (f == NULL) {
        fputs("null", out);
        return;
    }
    rel_time(r, f->ts, t, sizeof t);
    describe(f, desc, sizeof desc);
    fprintf(out, "{\"%s\": %" PRIu64 ", \"time\": %s, \"length\": %zu, \"summary\": ", numkey,
            f->no, t, f->len);
    vk_json_string(out, desc);
    fputc('}', out);
}

static void json_explain(FILE *out, const vk_replay *r, const side *sd, size_t i)
{
    size_t first, n = explaining(r, sd, i, &first);
    if (sd->after == NULL)
        return;
    fputs(", \"network\": [", out);
    for (size_t k = 0; k < n; k++) {
        const vk_decision *x = vk_decisions_at(&r->decisions, first + k);
        char t[32];
        rel_time(r, x->ts, t, sizeof t);
        fprintf(out, "%s{\"time\": %s, \"port\": ", k ? ", " : "", t);
        vk_json_string(out, x->port);
        fprintf(out, ", \"direction\": \"%s\", \"dropped\": %s, \"decision\": ", dir_word(x),
                x->drop ? "true" : "false");
        vk_json_string(out, x->text);
        fputs(", \"summary\": ", out);
        vk_json_string(out, x->summary);
        fputc('}', out);
    }
    fputc(']', out);
}

static void json_entry(FILE *out, const vk_replay *r, const side *sd, size_t i)
{
    const vk_cmp_entry *e = &sd->cmp->e[i];
    fprintf(out, "    {\"kind\": \"%s\", \"flow\": ", vk_cmp_kind_name(e->kind));
    vk_json_string(out, vk_cmp_flow(sd->cmp, e));
    json_frame(out, r, "expected", "frame", exp_of(e));
    json_frame(out, r, "produced", "index", prod_of(e));
    if (e->kind == VK_CMP_MATCH && e->rule != VK_CMP_RULE_NONE)
        fprintf(out, ", \"rule\": \"%s\"", vk_cmp_rule_name(e->rule));
    if (e->kind == VK_CMP_DIFFER) {
        fputs(", \"diff\": ", out);
        vk_json_string(out, e->diff);
    }
    if (e->kind != VK_CMP_MATCH)
        json_explain(out, r, sd, i);
    fputc('}', out);
}

static void json_wire(FILE *out, const vk_replay *r)
{
    const vk_cmp_result *c = &r->wire;
    fprintf(out,
            ",\n  \"wire\": {\n  \"verdict\": \"%s\",\n  \"matched\": %zu,\n"
            "  \"divergences\": %zu,\n  \"guest_frames\": %zu,\n  \"wire_frames\": %zu,\n"
            "  \"tso_jobs\": %zu,\n  \"tso_segments\": %zu,\n  \"csum_offloaded\": %zu,\n"
            "  \"sent_plain\": %zu,\n  \"results\": [\n",
            c->divergences ? "fail" : "pass", c->matched, c->divergences, c->nexp, c->nprod,
            r->offload_stats.tso_jobs, r->offload_stats.tso_segs, r->offload_stats.csum,
            r->offload_stats.plain);
    side sd = wire_of(r);
    for (size_t i = 0; i < c->n; i++) {
        json_entry(out, r, &sd, i);
        fputs(i + 1 < c->n ? ",\n" : "\n", out);
    }
    fputs("  ]\n  }", out);
}

static void json_world(FILE *out, const vk_replay *r)
{
    const vk_recording *rec = r->rec;
    if (rec == NULL)
        return;
    fprintf(out,
            ",\n  \"world\": {\n  \"kind\": \"recorded\",\n  \"netdevs\": %zu,\n"
            "  \"tcp_flows\": %zu,\n  \"udp_sockets\": %zu,\n  \"dns_queries\": %zu,\n"
            "  \"echo_requests\": %zu,\n  \"unknown\": %" PRIu64 ",\n  \"notes\": [",
            r->worlds, rec->ntcp, rec->nudp, rec->ndns, rec->nping, rec->notes_total);
    for (size_t i = 0; i < rec->nnotes; i++) {
        fputs(i ? ", " : "", out);
        vk_json_string(out, rec->notes[i]);
    }
    fputs("]\n  }", out);
}

static void json_input(FILE *out, const vk_replay *r)
{
    const vk_capture *c = r->cap;
    fputs(",\n  \"skipped_records\": [", out);
    for (size_t i = 0; i < c->nskipped; i++) {
        fprintf(out, "%s{\"frame\": %" PRIu64 ", \"len\": %zu, \"reason\": ", i ? ", " : "",
                c->skipped[i].no, c->skipped[i].caplen);
        vk_json_string(out, c->skipped[i].why);
        fputs("}", out);
    }
    fputs("],\n  \"guest_drops\": [", out);
    for (size_t i = 0; i < r->ndrops; i++)
        fprintf(out, "%s{\"frame\": %" PRIu64 ", \"len\": %zu}", i ? ", " : "", r->drops[i].no,
                r->drops[i].len);
    fprintf(out, "],\n  \"linktype\": %d,\n  \"partial_checksums\": %zu,\n"
                 "  \"checksums_fixed\": %zu", r->cap->linktype, r->csum_partial, r->csum_fixed);
}

static void json_body(FILE *out, const vk_replay *r, unsigned norm)
{
    const vk_cmp_result *c = &r->cmp;
    fputs("{\n  \"format\": \"vnetkit-replay-report\",\n  \"version\": 1,\n  \"capture\": ", out);
    vk_json_string(out, r->cap->path);
    fputs(",\n  \"attach\": ", out);
    vk_json_string(out, r->attach);
    fputs(",\n  \"split\": ", out);
    vk_json_string(out, r->split.method);
    fputs(",\n  \"normalize\": [", out);
    for (unsigned b = 1, first = 1; b <= VK_NORM_ALL; b <<= 1)
        if (norm & b) {
            fprintf(out, "%s\"%s\"", first ? "" : ", ", vk_norm_name(b));
            first = 0;
        }
    fprintf(out,
            "],\n  \"verdict\": \"%s\",\n  \"matched\": %zu,\n  \"divergences\": %zu,\n"
            "  \"guest_frames\": %zu,\n  \"injected\": %zu,\n  \"expected_frames\": %zu,\n"
            "  \"produced_frames\": %zu,\n  \"rewritten\": %" PRIu64 ",\n"
            "  \"network_drops\": %" PRIu64 ",\n  \"network_notes\": %" PRIu64 ",\n"
            "  \"network_unrecorded\": %" PRIu64 ",\n  \"results\": [\n",
            vk_replay_divergences(r) ? "fail" : "pass", c->matched, c->divergences, r->split.guest,
            r->injected, c->nexp, c->nprod, r->rw.frames_rewritten, r->decisions.drops,
            r->decisions.notes, r->decisions.lost);
    side sd = answers_of(r);
    for (size_t i = 0; i < c->n; i++) {
        json_entry(out, r, &sd, i);
        fputs(i + 1 < c->n ? ",\n" : "\n", out);
    }
    free(sd.after);
    fputs("  ]", out);
    if (r->wire_checked)
        json_wire(out, r);
    json_world(out, r);
    json_input(out, r);
    fputs("\n}\n", out);
}

int vk_report_json(const vk_replay *r, unsigned norm, const char *path, vk_diag *d)
{
    FILE *out = fopen(path, "w");
    if (out == NULL)
        return vk_diag_set(d, VK_EIO, "--report: cannot create '%s'", path);
    json_body(out, r, norm);
    int bad = ferror(out);
    if (fclose(out) != 0 || bad)
        return vk_diag_set(d, VK_EIO, "--report: write to '%s' failed", path);
    return VK_OK;
}
