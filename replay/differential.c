/*
 * Differential replay (see differential.h): two replays of one capture, the
 * comparison of their answers, and the rules that name the deliberate
 * differences.  A rule looks only at the guest frames of the divergent flow
 * and at the frames themselves, through the checked readers of wire/.
 */
#include "replay/differential.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wire/arp.h"
#include "wire/buf.h"
#include "wire/describe.h"
#include "wire/dhcp.h"
#include "wire/icmpv6.h"
#include "wire/packet.h"
#include "wire/tcp.h"
#include "wire/tftp.h"
#include "wire/udp.h"

static const char *const rule_names[VK_DIFF_RULES] = {
    "real",     "dhcp-malformed", "tftp-path",  "tftp-retransmit", "tftp-ack",
    "tftp-malformed", "nd-malformed", "arp-malformed", "tcp-reset", "icmp-error", "frag-order"};

const char *vk_diff_rule_name(vk_diff_rule r)
{
    return (unsigned)r < VK_DIFF_RULES ? rule_names[r] : "?";
}

/* What a rule looks at: the divergence and the three sides. */
typedef struct ctx {
    const vk_cmp_entry *e;
    const char *flow; /* e's flow key */
    const vk_cmp_frame *oracle, *ours, *guest;
    size_t nours, nguest;
} ctx;

static bool locate(const vk_cmp_frame *f, vk_pkt *k)
{
    return vk_pkt_locate(f->data, f->len, k) == VK_OK;
}

/* The UDP header and payload of an unfragmented UDP frame. */
static bool udp_of(const vk_cmp_frame *f, vk_udp_repr *udp)
{
    vk_pkt k;
    if (!locate(f, &k) || !vk_pkt_is_tcp_udp(&k) || k.proto != VK_IP_PROTO_UDP)
        return false;
    return vk_udp_parse(f->data + k.l4_off, vk_pkt_l4_len(&k), udp) == VK_OK;
}

static bool in_flow(const vk_cmp_frame *f, const char *flow)
{
    char key[VK_FLOW_KEY_MAX];
    vk_flow_key(f->data, f->len, key);
    return strcmp(key, flow) == 0;
}

/* ---- DHCP ---- */

/* What -netdev user's DHCP input refuses as malformed (backends/user/dhcp.c). */
static bool dhcp_malformed(const vk_udp_repr *udp)
{
    vk_dhcp_repr req;
    vk_mac mac;
    return vk_dhcp_parse(udp->payload, udp->payload_len, &req) != VK_OK ||
           req.op != VK_BOOTP_REQUEST || req.msg_type == 0 || !vk_dhcp_chaddr_mac(&req, &mac);
}

/* By xid: a request our reader rejects has no "dhcp xid" flow key. */
static bool rule_dhcp_malformed(const ctx *c)
{
    unsigned xid;
    if (c->e->kind != VK_CMP_MISSING || sscanf(c->flow, "dhcp xid 0x%x", &xid) != 1)
        return false;
    for (size_t g = 0; g < c->nguest; g++) {
        vk_udp_repr udp;
        if (udp_of(&c->guest[g], &udp) && udp.dst_port == 67 && udp.payload_len >= 8 &&
            vk_get_be32(udp.payload + 4) == xid && dhcp_malformed(&udp))
            return true;
    }
    return false;
}

/* ---- TFTP ---- */

static bool tftp_of(const vk_cmp_frame *f, uint16_t port, vk_tftp_repr *t, vk_udp_repr *udp)
{
    return udp_of(f, udp) && (udp->src_port == port || udp->dst_port == port) &&
           vk_tftp_parse(udp->payload, udp->payload_len, t) == VK_OK;
}

static bool is_tftp(const vk_cmp_frame *f, uint16_t opcode, uint16_t error_code)
{
    vk_tftp_repr t;
    vk_udp_repr udp;
    return tftp_of(f, 69, &t, &udp) && udp.src_port == 69 && t.opcode == opcode &&
           (opcode != VK_TFTP_ERROR || error_code == 0 || t.error_code == error_code);
}

/* A name we refuse by design: a ".." component, or absolute. */
static bool tftp_name_refused(const char *name)
{
    if (name[0] == '/')
        return true;
    for (const char *p = name; p != NULL && *p != '\0';) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

static bool ours_refused(const ctx *c)
{
    for (size_t i = 0; i < c->nours; i++)
        if (in_flow(&c->ours[i], c->flow) && is_tftp(&c->ours[i], VK_TFTP_ERROR, 2))
            return true;
    return false;
}

static bool rule_tftp_path(const ctx *c)
{
    for (size_t g = 0; g < c->nguest; g++) {
        vk_tftp_repr t;
        vk_udp_repr udp;
        if (in_flow(&c->guest[g], c->flow) && tftp_of(&c->guest[g], 69, &t, &udp) &&
            udp.dst_port == 69 && t.opcode == VK_TFTP_RRQ && tftp_name_refused(t.filename))
            return ours_refused(c);
    }
    return false;
}

static bool all_digits(const char *v)
{
    if (*v == '\0')
        return false;
    for (; *v != '\0'; v++)
        if (*v < '0' || *v > '9')
            return false;
    return true;
}

/* A blksize or tsize whose value is not a number: libslirp's atoi() takes
 * its leading digits, our reader ignores the option. */
static bool tftp_lax_number(const vk_tftp_repr *t)
{
    for (size_t i = 0; i < t->option_count; i++)
        if ((strcasecmp(t->options[i].name, "blksize") == 0 ||
             strcasecmp(t->options[i].name, "tsize") == 0) &&
            !all_digits(t->options[i].value))
            return true;
    return false;
}

static bool rule_tftp_malformed(const ctx *c)
{
    for (size_t g = 0; g < c->nguest; g++) {
        vk_udp_repr udp;
        vk_tftp_repr t;
        if (!in_flow(&c->guest[g], c->flow) || !udp_of(&c->guest[g], &udp) ||
            udp.dst_port != 69 || udp.payload_len < 2 || udp.payload[1] != VK_TFTP_RRQ)
            continue;
        if (vk_tftp_parse(udp.payload, udp.payload_len, &t) != VK_OK)
            return ours_refused(c);
        if (tftp_lax_number(&t))
            return true;
    }
    return false;
}

static bool guest_uses_tftp(const ctx *c)
{
    vk_udp_repr udp;
    for (size_t g = 0; g < c->nguest; g++)
        if (udp_of(&c->guest[g], &udp) && udp.dst_port == 69)
            return true;
    return false;
}

/* An ARP request of ours repeating our previous one: a resent TFTP packet
 * to an address not resolved asks again. */
static bool arp_asked_again(const ctx *c, size_t i)
{
    vk_pkt k, p;
    if (!locate(&c->ours[i], &k) || k.eth.ethertype != VK_ETHERTYPE_ARP || !guest_uses_tftp(c))
        return false;
    for (size_t j = i; j-- > 0;)
        if (in_flow(&c->ours[j], c->flow) && locate(&c->ours[j], &p))
            return p.eth.payload_len == k.eth.payload_len &&
                   memcmp(p.eth.payload, k.eth.payload, k.eth.payload_len) == 0;
    return false;
}

/* ours[i] repeats our previous TFTP packet of the same flow. */
static bool rule_tftp_retransmit(const ctx *c)
{
    size_t i = c->e->prod;
    vk_udp_repr u, v;
    if (c->e->kind != VK_CMP_UNEXPECTED)
        return false;
    if (arp_asked_again(c, i))
        return true;
    if (!udp_of(&c->ours[i], &u) || u.src_port != 69)
        return false;
    for (size_t j = i; j-- > 0;) {
        if (!in_flow(&c->ours[j], c->flow) || !udp_of(&c->ours[j], &v))
            continue;
        return v.payload_len == u.payload_len && memcmp(v.payload, u.payload, u.payload_len) == 0;
    }
    return false;
}

/* The guest's ACKs are not 0 after an OACK (1 after DATA 1), then +1 each. */
static bool rule_tftp_ack(const ctx *c)
{
    long expect = -1;
    for (size_t i = 0; i < c->nours && expect < 0; i++)
        if (in_flow(&c->ours[i], c->flow))
            expect = is_tftp(&c->ours[i], VK_TFTP_OACK, 0)   ? 0
                     : is_tftp(&c->ours[i], VK_TFTP_DATA, 0) ? 1
                                                              : 1L << 20;
    for (size_t g = 0; g < c->nguest; g++) {
        vk_tftp_repr t;
        vk_udp_repr udp;
        if (!in_flow(&c->guest[g], c->flow) || !tftp_of(&c->guest[g], 69, &t, &udp) ||
            t.opcode != VK_TFTP_ACK)
            continue;
        if (expect < 0 || t.block != (uint16_t)expect)
            return true;
        expect++;
    }
    return false;
}

/* ---- ARP, TCP, ICMP, fragments ---- */

static bool rule_arp_malformed(const ctx *c)
{
    if (c->e->kind != VK_CMP_MISSING || strncmp(c->flow, "arp ", 4) != 0)
        return false;
    for (size_t g = 0; g < c->nguest; g++) {
        vk_pkt k;
        vk_arp_repr a;
        if (!locate(&c->guest[g], &k) || k.eth.ethertype != VK_ETHERTYPE_ARP ||
            k.eth.payload_len < VK_ARP_LEN)
            continue;
        if (vk_arp_parse(k.eth.payload, k.eth.payload_len, &a) == VK_EFORMAT)
            return true;
    }
    return false;
}

static bool rule_nd_malformed(const ctx *c)
{
    if (c->e->kind != VK_CMP_MISSING || strncmp(c->flow, "icmp6 ", 6) != 0)
        return false;
    for (size_t g = 0; g < c->nguest; g++) {
        vk_pkt k;
        vk_icmpv6_repr m;
        if (!locate(&c->guest[g], &k) || k.l3 != 6 || k.proto != VK_IP_PROTO_ICMPV6 ||
            k.l4_off == 0 || vk_pkt_l4_len(&k) < 1)
            continue;
        uint8_t type = c->guest[g].data[k.l4_off];
        if (type >= VK_ICMPV6_ROUTER_SOLICIT && type <= VK_ICMPV6_NEIGHBOR_ADVERT &&
            vk_icmpv6_parse(c->guest[g].data + k.l4_off, vk_pkt_l4_len(&k), &m) != VK_OK)
            return true;
    }
    return false;
}

static bool rule_tcp_reset(const ctx *c)
{
    if (strncmp(c->flow, "tcp ", 4) != 0)
        return false;
    for (size_t g = 0; g < c->nguest; g++) {
        vk_pkt k;
        vk_tcp_repr t;
        if (!in_flow(&c->guest[g], c->flow) || !locate(&c->guest[g], &k) || k.l4_off == 0)
            continue;
        if (vk_tcp_parse(c->guest[g].data + k.l4_off, vk_pkt_l4_len(&k), &t) != VK_OK)
            return true; /* a header our reader rejects: libslirp resets it too */
        if ((t.flags & VK_TCP_RST) || ((t.flags & VK_TCP_FIN) && !(t.flags & VK_TCP_ACK)))
            return true;
    }
    return false;
}

static bool ttl_zero(const vk_cmp_frame *f)
{
    vk_pkt k;
    return locate(f, &k) && k.l3 == 4 && k.ip4.ttl == 0;
}

static bool rule_icmp_error(const ctx *c)
{
    const vk_cmp_entry *e = c->e;
    bool time_exceeded = e->kind == VK_CMP_MISSING && strncmp(c->flow, "icmp ", 5) == 0 &&
                         strstr(c->flow, " type 11") != NULL;
    for (size_t g = 0; g < c->nguest; g++)
        if (ttl_zero(&c->guest[g]) &&
            (time_exceeded || (e->kind == VK_CMP_UNEXPECTED && in_flow(&c->guest[g], c->flow))))
            return true;
    return false;
}

/* A guest fragment that did not start where the datagram's previous one
 * ended (the first at offset 0), as backends/libslirp.c's guard sees it. */
static bool guest_frags_out_of_order(const ctx *c, vk_ip4 src, vk_ip4 dst)
{
    for (size_t g = 0; g < c->nguest; g++) {
        vk_pkt k;
        if (!locate(&c->guest[g], &k) || k.l3 != 4 || !k.frag || k.ip4.frag_off == 0 ||
            memcmp(k.ip4.src.b, src.b, 4) != 0 || memcmp(k.ip4.dst.b, dst.b, 4) != 0)
            continue;
        size_t next = 0;
        bool first = false;
        for (size_t h = 0; h < g; h++) {
            vk_pkt p;
            if (locate(&c->guest[h], &p) && p.l3 == 4 && p.frag && p.ip4.id == k.ip4.id &&
                p.ip4.proto == k.ip4.proto && memcmp(p.ip4.src.b, src.b, 4) == 0 &&
                (p.ip4.frag_off == 0 || (first && p.ip4.frag_off == next))) {
                first = true;
                next = p.ip4.frag_off + p.ip4.payload_len;
            }
        }
        if (!first || next != k.ip4.frag_off)
            return true;
    }
    return false;
}

static bool rule_frag_order(const ctx *c)
{
    vk_pkt k;
    if (c->e->kind != VK_CMP_UNEXPECTED || !locate(&c->ours[c->e->prod], &k) || k.l3 != 4)
        return false;
    return guest_frags_out_of_order(c, k.ip4.dst, k.ip4.src);
}

static bool (*const rules[VK_DIFF_RULES])(const ctx *) = {
    [VK_DIFF_DHCP_MALFORMED] = rule_dhcp_malformed,
    [VK_DIFF_TFTP_PATH] = rule_tftp_path,
    [VK_DIFF_TFTP_RETRANSMIT] = rule_tftp_retransmit,
    [VK_DIFF_TFTP_ACK] = rule_tftp_ack,
    [VK_DIFF_TFTP_MALFORMED] = rule_tftp_malformed,
    [VK_DIFF_ND_MALFORMED] = rule_nd_malformed,
    [VK_DIFF_ARP_MALFORMED] = rule_arp_malformed,
    [VK_DIFF_TCP_RESET] = rule_tcp_reset,
    [VK_DIFF_ICMP_ERROR] = rule_icmp_error,
    [VK_DIFF_FRAG_ORDER] = rule_frag_order,
};

vk_diff_rule vk_diff_classify(const vk_cmp_entry *e, const char *flow, const vk_cmp_frame *oracle,
                              const vk_cmp_frame *ours, size_t nours, const vk_cmp_frame *guest,
                              size_t nguest)
{
    if (e->kind == VK_CMP_MATCH)
        return VK_DIFF_REAL;
    ctx c = {e, flow, oracle, ours, guest, nours, nguest};
    for (unsigned r = VK_DIFF_REAL + 1; r < VK_DIFF_RULES; r++)
        if (rules[r](&c))
            return (vk_diff_rule)r;
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
        out->rule[i] = vk_diff_classify(en, vk_cmp_flow(&out->cmp, en), oracle, ours, nours, guest, nguest);
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
    /* both runs keep their logs: the differential compares them whole */
    vk_replay_config keep = *cfg;
    keep.keep_log = true;
    e = vk_replay_run(&keep, topo, &x->ours, d);
    if (e == VK_OK)
        e = vk_replay_run(&keep, copy, &x->oracle, d);
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
    fprintf(out, "  %zu) [%s] at %ss, flow %s: %s\n", n, tag, t, vk_cmp_flow(&x->res.cmp, e),
            what);
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
