/*
 * Differential replay (see differential.h): two replays of one capture, the
 * comparison of their answers, and the rules that name the deliberate
 * differences.  A rule looks only at the guest frames of the divergent flow
 * and at the frames themselves, through the checked readers of wire/.
 */
#include "replay/differential.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "wire/describe.h"
#include "wire/dhcp.h"
#include "wire/packet.h"
#include "wire/tftp.h"
#include "wire/udp.h"

static const char *const rule_names[] = {"real", "dhcp-malformed", "tftp-path",
                                         "tftp-retransmit"};

const char *vk_diff_rule_name(vk_diff_rule r)
{
    return (unsigned)r < sizeof rule_names / sizeof rule_names[0] ? rule_names[r] : "?";
}

/* The UDP payload of an unfragmented UDP frame. */
static bool udp_of(const vk_cmp_frame *f, vk_udp_repr *udp)
{
    vk_pkt k;
    if (vk_pkt_locate(f->data, f->len, &k) != VK_OK || !vk_pkt_is_tcp_udp(&k) ||
        k.proto != VK_IP_PROTO_UDP)
        return false;
    return vk_udp_parse(f->data + k.l4_off, vk_pkt_l4_len(&k), udp) == VK_OK;
}

static bool in_flow(const vk_cmp_frame *f, const char *flow)
{
    char key[VK_FLOW_KEY_MAX];
    vk_flow_key(f->data, f->len, key);
    return strcmp(key, flow) == 0;
}

/* What -netdev user's DHCP input refuses as malformed (backends/user/dhcp.c). */
static bool dhcp_malformed(const vk_cmp_frame *f)
{
    vk_udp_repr udp;
    if (!udp_of(f, &udp) || udp.dst_port != 67)
        return false;
    vk_dhcp_repr req;
    vk_mac mac;
    return vk_dhcp_parse(udp.payload, udp.payload_len, &req) != VK_OK ||
           req.op != VK_BOOTP_REQUEST || req.msg_type == 0 || !vk_dhcp_chaddr_mac(&req, &mac);
}

/* A read request whose name has a ".." component. */
static bool tftp_dotdot(const vk_cmp_frame *f)
{
    vk_udp_repr udp;
    vk_tftp_repr t;
    if (!udp_of(f, &udp) || udp.dst_port != 69 ||
        vk_tftp_parse(udp.payload, udp.payload_len, &t) != VK_OK || t.opcode != VK_TFTP_RRQ)
        return false;
    const char *p = t.filename;
    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

static bool is_tftp(const vk_cmp_frame *f, uint16_t opcode)
{
    vk_udp_repr udp;
    vk_tftp_repr t;
    return udp_of(f, &udp) && udp.src_port == 69 &&
           vk_tftp_parse(udp.payload, udp.payload_len, &t) == VK_OK && t.opcode == opcode;
}

/* ours[i] repeats an earlier TFTP packet of ours in the same flow. */
static bool tftp_resent(const vk_cmp_frame *ours, size_t i, const char *flow)
{
    vk_udp_repr u, v;
    if (!udp_of(&ours[i], &u) || u.src_port != 69)
        return false;
    for (size_t j = i; j-- > 0;) {
        if (!in_flow(&ours[j], flow) || !udp_of(&ours[j], &v))
            continue;
        return v.payload_len == u.payload_len && memcmp(v.payload, u.payload, u.payload_len) == 0;
    }
    return false;
}

vk_diff_rule vk_diff_classify(const vk_cmp_entry *e, const vk_cmp_frame *oracle,
                              const vk_cmp_frame *ours, size_t nours, const vk_cmp_frame *guest,
                              size_t nguest)
{
    (void)nours;
    if (e->kind == VK_CMP_MATCH)
        return VK_DIFF_REAL;
    bool dhcp_flow = strncmp(e->flow, "dhcp xid", 8) == 0;
    if (e->kind == VK_CMP_MISSING && dhcp_flow)
        for (size_t g = 0; g < nguest; g++)
            if (in_flow(&guest[g], e->flow) && dhcp_malformed(&guest[g]))
                return VK_DIFF_DHCP_MALFORMED;
    if (e->kind == VK_CMP_UNEXPECTED && tftp_resent(ours, e->prod, e->flow))
        return VK_DIFF_TFTP_RETRANSMIT;
    bool refused = e->prod != VK_CMP_NONE && is_tftp(&ours[e->prod], VK_TFTP_ERROR);
    bool served = e->exp != VK_CMP_NONE && !is_tftp(&oracle[e->exp], VK_TFTP_ERROR);
    if (refused && served)
        for (size_t g = 0; g < nguest; g++)
            if (in_flow(&guest[g], e->flow) && tftp_dotdot(&guest[g]))
                return VK_DIFF_TFTP_PATH;
    /* after the refusal, the oracle's further DATA of that flow has no
     * counterpart of ours */
    if (e->kind == VK_CMP_MISSING && e->exp != VK_CMP_NONE &&
        is_tftp(&oracle[e->exp], VK_TFTP_DATA))
        for (size_t g = 0; g < nguest; g++)
            if (in_flow(&guest[g], e->flow) && tftp_dotdot(&guest[g]))
                return VK_DIFF_TFTP_PATH;
    return VK_DIFF_REAL;
}

int vk_diff_compare(const vk_cmp_frame *oracle, size_t noracle, const vk_cmp_frame *ours,
                    size_t nours, const vk_cmp_frame *guest, size_t nguest, unsigned norm,
                    vk_diff_result *out)
{
    memset(out, 0, sizeof *out);
    int e = vk_compare(oracle, noracle, ours, nours, norm, NULL, &out->cmp);
    if (e != VK_OK)
        return e;
    out->rule = calloc(out->cmp.n + 1, sizeof *out->rule);
    if (out->rule == NULL)
        return VK_ENOMEM;
    for (size_t i = 0; i < out->cmp.n; i++) {
        const vk_cmp_entry *en = &out->cmp.e[i];
        if (en->kind == VK_CMP_MATCH)
            continue;
        out->rule[i] = vk_diff_classify(en, oracle, ours, nours, guest, nguest);
        if (out->rule[i] == VK_DIFF_REAL)
            out->real++;
        else
            out->allowed++;
    }
    return VK_OK;
}

void vk_diff_result_free(vk_diff_result *r)
{
    vk_cmp_result_free(&r->cmp);
    free(r->rule);
    memset(r, 0, sizeof *r);
}

/* ---- replay --against ---- */

static int collect(const vk_replay *r, bool from_guest, vk_cmp_frame **out, size_t *n)
{
    *out = calloc(r->nlog + 1, sizeof **out);
    if (*out == NULL)
        return VK_ENOMEM;
    *n = 0;
    for (size_t i = 0; i < r->nlog; i++) {
        const vk_replay_event *ev = &r->log[i];
        if (ev->from_guest == from_guest && (from_guest || ev->in_filter))
            (*out)[(*n)++] = (vk_cmp_frame){ev->no, ev->ts, ev->data, ev->len};
    }
    return VK_OK;
}

int vk_differential_run(const vk_replay_config *cfg, vk_topology *topo, const char *ours_type,
                        const char *oracle_type, vk_differential **out, vk_diag *d)
{
    *out = NULL;
    vk_differential *x = calloc(1, sizeof *x);
    vk_topology *copy = NULL;
    if (x == NULL) {
        vk_topology_free(topo);
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    }
    x->ours_type = ours_type;
    x->oracle_type = oracle_type;
    int e = vk_topology_copy_swapping(topo, ours_type, oracle_type, &copy, &x->swapped, d);
    if (e == VK_OK && x->swapped == 0)
        e = vk_diag_set(d, VK_EINVAL, "--against %s: the topology has no -netdev %s to swap",
                        oracle_type, ours_type);
    if (e != VK_OK) {
        vk_topology_free(topo);
        vk_topology_free(copy);
        free(x);
        return e;
    }
    e = vk_replay_run(cfg, topo, &x->ours, d);
    if (e == VK_OK)
        e = vk_replay_run(cfg, copy, &x->oracle, d);
    else
        vk_topology_free(copy);
    if (e == VK_OK && (collect(x->oracle, false, &x->exp, &x->nexp) != VK_OK ||
                       collect(x->ours, false, &x->prod, &x->nprod) != VK_OK ||
                       collect(x->ours, true, &x->guest, &x->nguest) != VK_OK ||
                       vk_diff_compare(x->exp, x->nexp, x->prod, x->nprod, x->guest, x->nguest,
                                       cfg->norm, &x->res) != VK_OK))
        e = vk_diag_set(d, VK_ENOMEM, "out of memory comparing the two runs");
    if (e != VK_OK) {
        vk_differential_free(x);
        return e;
    }
    *out = x;
    return VK_OK;
}

void vk_differential_free(vk_differential *x)
{
    if (x == NULL)
        return;
    vk_diff_result_free(&x->res);
    free(x->exp);
    free(x->prod);
    free(x->guest);
    vk_replay_free(x->ours);
    vk_replay_free(x->oracle);
    free(x);
}

static void rel_time(const vk_differential *x, uint64_t ts, char *buf, size_t cap)
{
    uint64_t epoch = x->ours->epoch;
    uint64_t rel = ts > epoch ? ts - epoch : 0;
    snprintf(buf, cap, "%" PRIu64 ".%09" PRIu64, rel / 1000000000u, rel % 1000000000u);
}

static void report_entry(const vk_differential *x, size_t n, size_t i, FILE *out)
{
    const vk_cmp_entry *e = &x->res.cmp.e[i];
    vk_diff_rule rule = x->res.rule[i];
    char t[32], desc[320], tag[48];
    rel_time(x, e->ts, t, sizeof t);
    if (rule == VK_DIFF_REAL)
        snprintf(tag, sizeof tag, "DIFFERENT");
    else
        snprintf(tag, sizeof tag, "allowed: %s", vk_diff_rule_name(rule));
    const char *what = e->kind == VK_CMP_DIFFER    ? "answers differ"
                       : e->kind == VK_CMP_MISSING ? "only the oracle answered"
                                                   : "only ours answered";
    fprintf(out, "  %zu) [%s] at %ss, flow %s: %s\n", n, tag, t, e->flow, what);
    if (e->kind == VK_CMP_DIFFER)
        fprintf(out, "     %s\n", e->diff);
    if (e->exp != VK_CMP_NONE) {
        vk_wire_describe(x->exp[e->exp].data, x->exp[e->exp].len, desc, sizeof desc);
        fprintf(out, "     %-9s %s\n", x->oracle_type, desc);
    }
    if (e->prod != VK_CMP_NONE) {
        vk_wire_describe(x->prod[e->prod].data, x->prod[e->prod].len, desc, sizeof desc);
        fprintf(out, "     %-9s %s\n", x->ours_type, desc);
    }
}

void vk_differential_report(const vk_differential *x, size_t max_diffs, FILE *out)
{
    const vk_diff_result *r = &x->res;
    fprintf(out, "differential: %s %s, %s against %s: %zu guest frames, %zu answers of %s, "
                 "%zu of %s; %zu matched, %zu differences (%zu allowed, %zu not)\n",
            r->real ? "FAIL" : "PASS", x->ours->cap->path, x->ours_type, x->oracle_type,
            x->nguest, x->nexp, x->oracle_type, x->nprod, x->ours_type, r->cmp.matched,
            r->real + r->allowed, r->allowed, r->real);
    size_t shown = 0;
    /* the real differences first, then the allowed ones */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < r->cmp.n && shown < max_diffs; i++) {
            if (r->cmp.e[i].kind == VK_CMP_MATCH || (r->rule[i] == VK_DIFF_REAL) != (pass == 0))
                continue;
            report_entry(x, ++shown, i, out);
        }
    if (shown < r->real + r->allowed)
        fprintf(out, "  ... %zu more (--max-diffs N)\n", r->real + r->allowed - shown);
}
