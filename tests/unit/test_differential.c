/*
 * Differential test: our -netdev user against the real libslirp, on inputs
 * that no capture recorded.  Each input is a short sequence of guest frames
 * (generated with libnet and by hand, or a reference capture's guest frames
 * with one of them mutated); it is sent to a fresh user stack and a fresh
 * libslirp stack on the virtual clock, and what each answered is compared
 * with replay/differential.h: libslirp is the oracle, and a difference must
 * be one of README's deliberate ones (a named rule) or the test fails.
 * Families: DHCP, ARP, ICMP, TFTP, IPv6 ND and echo, IPv4 fragments, TCP to
 * closed ports and UDP with restrict=on, and mutations of pcaps/ captures.
 * It prints how many inputs were tried and how many differences were found.
 * Skipped (77) when the build has no libslirp.
 */
#include "test_user_harness.h"

#include <pcap/pcap.h>

#include "backends/backends.h"
#include "backends/libslirp.h"
#include "replay/differential.h"
#include "wire/checksum.h"
#include "wire/describe.h"

#define MAX_IN 64
#define MAX_OUT 512
#define SETTLE_NS (6ull * VK_NS_PER_SEC)
#define STEP_NS (10ull * 1000000ull) /* 10 ms between guest frames */

typedef struct frame_buf {
    uint8_t *data;
    size_t len;
    uint64_t ts;
} frame_buf;

typedef struct input {
    frame_buf f[MAX_IN];
    size_t n;
} input;

typedef struct side_out {
    frame_buf f[MAX_OUT];
    size_t n;
} side_out;

typedef struct totals {
    size_t inputs, frames, answers, differences, allowed, real;
    size_t by_rule[VK_DIFF_RULES];
} totals;

static totals T;

/* ---- running one side ---- */

typedef struct side_run {
    vk_loop *loop;
    vk_net *net;
    side_out *out;
} side_run;

static int rec_receive(vk_port *self, vk_frame *f)
{
    side_run *s = *(side_run **)self->priv;
    if (s->out->n < MAX_OUT) {
        frame_buf *b = &s->out->f[s->out->n++];
        b->data = malloc(f->len);
        assert_non_null(b->data);
        memcpy(b->data, f->data, f->len);
        b->len = f->len;
        b->ts = vk_loop_now(s->loop);
    }
    return VK_OK;
}

static const vk_port_ops rec_ops = {.kind = "test", .receive = rec_receive};

static const vk_netdev_type *netdev_type(const char *name)
{
    for (size_t i = 0; vk_backend_types[i] != NULL; i++)
        if (strcmp(vk_backend_types[i]->name, name) == 0)
            return vk_backend_types[i];
    return NULL;
}

static void noop(void *arg, uint64_t now)
{
    (void)arg, (void)now;
}

/* type: "user" or "libslirp"; keys: the rest of the -netdev value. */
static void run_side(const char *type, const char *keys, const input *in, side_out *out)
{
    char text[512];
    snprintf(text, sizeof text, "%s,id=n%s%s", type, keys[0] ? "," : "", keys);
    side_run s = {.out = out};
    out->n = 0;
    s.loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    s.net = vk_net_new(s.loop);
    vk_diag d = {{0}};
    vk_opts o;
    assert_int_equal(vk_opts_parse("-netdev", "type", text, &o, &d), VK_OK);
    vk_opts_mark_used(&o, "type");
    vk_opts_mark_used(&o, "id");
    vk_port *backend, *guest;
    if (netdev_type(type)->create(s.net, "n", &o, &backend, &d) != VK_OK)
        fail_msg("%s: %s", text, d.msg);
    vk_opts_free(&o);
    assert_int_equal(vk_port_new(s.net, &rec_ops, "guest", "test", sizeof(side_run *), &guest,
                                 NULL),
                     VK_OK);
    *(side_run **)guest->priv = &s;
    assert_int_equal(vk_net_connect(backend, guest, &d), VK_OK);
    assert_int_equal(vk_net_start(s.net, &d), VK_OK);
    vk_timer *tick = vk_timer_new(s.loop, noop, NULL);
    for (size_t i = 0; i < in->n; i++) {
        vk_timer_arm(tick, in->f[i].ts);
        vk_loop_run(s.loop, in->f[i].ts);
        vk_port_send_bytes(guest, in->f[i].data, in->f[i].len);
    }
    uint64_t end = (in->n ? in->f[in->n - 1].ts : 0) + SETTLE_NS;
    vk_timer_arm(tick, end);
    vk_loop_run(s.loop, end);
    vk_timer_free(tick);
    vk_net_free(s.net);
    vk_loop_free(s.loop);
}

static void side_free(side_out *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->f[i].data);
    o->n = 0;
}

static void to_cmp(const frame_buf *f, size_t n, vk_cmp_frame *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (vk_cmp_frame){i + 1, f[i].ts, f[i].data, f[i].len};
}

static void print_diff(const char *what, const vk_diff_result *r, size_t i,
                       const vk_cmp_frame *ora, const vk_cmp_frame *ours)
{
    const vk_cmp_entry *e = &r->cmp.e[i];
    char desc[320];
    printf("difference [%s] in %s: flow %s: %s %s\n", vk_diff_rule_name(r->rule[i]), what,
           vk_cmp_flow(&r->cmp, e), vk_cmp_kind_name(e->kind), e->diff ? e->diff : "");
    if (e->exp != VK_CMP_NONE) {
        vk_wire_describe(ora[e->exp].data, ora[e->exp].len, desc, sizeof desc);
        printf("    libslirp: %s\n", desc);
    }
    if (e->prod != VK_CMP_NONE) {
        vk_wire_describe(ours[e->prod].data, ours[e->prod].len, desc, sizeof desc);
        printf("    user:     %s\n", desc);
    }
}

/* DIFF_DUMP=1: the guest frames of an input with a difference, as a pcap
 * in the working directory (for tshark while investigating). */
static void dump_input(const input *in)
{
    static int n;
    char path[64];
    snprintf(path, sizeof path, "diff-input-%d.pcap", ++n);
    pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *d = pcap_dump_open(p, path);
    for (size_t i = 0; d != NULL && i < in->n; i++) {
        struct pcap_pkthdr h = {.caplen = (bpf_u_int32)in->f[i].len,
                                .len = (bpf_u_int32)in->f[i].len};
        h.ts.tv_sec = (time_t)(in->f[i].ts / VK_NS_PER_SEC);
        h.ts.tv_usec = (suseconds_t)(in->f[i].ts % VK_NS_PER_SEC / 1000);
        pcap_dump((u_char *)d, &h, in->f[i].data);
    }
    if (d != NULL)
        pcap_dump_close(d);
    pcap_close(p);
    printf("    input written to %s\n", path);
}

/* Sends `in` to both stacks and counts the differences. */
static void differ(const char *what, const char *keys, const input *in)
{
    static side_out ours, ora;
    run_side("user", keys, in, &ours);
    run_side("libslirp", keys, in, &ora);
    vk_cmp_frame g[MAX_IN], o[MAX_OUT], u[MAX_OUT];
    to_cmp(in->f, in->n, g);
    to_cmp(ora.f, ora.n, o);
    to_cmp(ours.f, ours.n, u);
    vk_diff_result r;
    assert_int_equal(vk_diff_compare(o, ora.n, u, ours.n, g, in->n, VK_NORM_DEFAULT, &r), VK_OK);
    T.inputs++;
    T.frames += in->n;
    T.answers += ora.n + ours.n;
    T.differences += r.allowed + r.real;
    T.allowed += r.allowed;
    T.real += r.real;
    for (size_t i = 0; i < r.cmp.n; i++) {
        if (r.cmp.e[i].kind == VK_CMP_MATCH)
            continue;
        T.by_rule[r.rule[i]]++;
        if (r.rule[i] == VK_DIFF_REAL) {
            print_diff(what, &r, i, o, u);
            if (getenv("DIFF_DUMP"))
                dump_input(in);
            for (size_t k = 0; k < in->n && getenv("DIFF_DEBUG"); k++) {
                char key[VK_FLOW_KEY_MAX], desc[320];
                vk_flow_key(g[k].data, g[k].len, key);
                vk_wire_describe(g[k].data, g[k].len, desc, sizeof desc);
                printf("    guest %zu [%s] %s\n", k, key, desc);
            }
        }
    }
    vk_diff_result_free(&r);
    side_free(&ours);
    side_free(&ora);
}

/* ---- inputs ---- */

static void in_add(input *in, const uint8_t *p, size_t len)
{
    assert_true(in->n < MAX_IN);
    frame_buf *f = &in->f[in->n];
    f->data = malloc(len ? len : 1);
    assert_non_null(f->data);
    memcpy(f->data, p, len);
    f->len = len;
    f->ts = (in->n + 1) * STEP_NS;
    in->n++;
}

/* Takes a malloc'd frame (from the libnet builders). */
static void in_take(input *in, uint8_t *p, size_t len)
{
    in_add(in, p, len);
    free(p);
}

static void in_free(input *in)
{
    for (size_t i = 0; i < in->n; i++)
        free(in->f[i].data);
    in->n = 0;
}

static void one(const char *what, const char *keys, uint8_t *p, size_t len)
{
    input in = {.n = 0};
    in_take(&in, p, len);
    differ(what, keys, &in);
    in_free(&in);
}

/* The guest announces itself first (libslirp and user learn its MAC), then p. */
static void after_arp(const char *what, const char *keys, uint8_t *p, size_t len)
{
    input in = {.n = 0};
    uint8_t *a;
    size_t alen = uh_build_arp_request(&a, UH_GUEST_MAC, "10.0.2.15", "10.0.2.2");
    in_take(&in, a, alen);
    in_take(&in, p, len);
    differ(what, keys, &in);
    in_free(&in);
}

/* ---- DHCP ---- */

static size_t bootp(uint8_t *b, uint8_t op, uint8_t htype, uint8_t hlen, uint32_t xid,
                    const char *ciaddr, const uint8_t *opts, size_t olen)
{
    memset(b, 0, 240);
    b[0] = op;
    b[1] = htype;
    b[2] = hlen;
    b[4] = (uint8_t)(xid >> 24), b[5] = (uint8_t)(xid >> 16), b[6] = (uint8_t)(xid >> 8);
    b[7] = (uint8_t)xid;
    uint32_t ci = uh_ip(ciaddr);
    memcpy(b + 12, &ci, 4);
    memcpy(b + 28, UH_GUEST_MAC, 6);
    static const uint8_t cookie[4] = {99, 130, 83, 99};
    memcpy(b + 236, cookie, 4);
    memcpy(b + 240, opts, olen);
    return 240 + olen;
}

static void dhcp_case(const char *what, uint8_t op, uint8_t htype, uint8_t hlen,
                      const char *ciaddr, const char *dst, const uint8_t *opts, size_t olen)
{
    uint8_t b[600], *f;
    size_t n = bootp(b, op, htype, hlen, 0x1000u + (uint32_t)T.inputs, ciaddr, opts, olen);
    size_t len = uh_build_udp(&f, "0.0.0.0", 68, dst, 67, b, n);
    one(what, "", f, len);
}

static void family_dhcp(void)
{
    for (uint8_t t = 0; t <= 9; t++) {
        uint8_t o[] = {53, 1, t, 255};
        dhcp_case("dhcp message type", 1, 1, 6, "0.0.0.0", "255.255.255.255", o,
                  t == 0 ? 0 : sizeof o);
    }
    static const char *const reqs[] = {"10.0.2.15", "10.0.2.16", "10.0.2.30", "10.0.2.31",
                                       "10.0.2.2", "10.0.3.15", "0.0.0.0"};
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        uint32_t a = uh_ip(reqs[i]);
        uint8_t o[] = {53, 1, 3, 50, 4, 0, 0, 0, 0, 54, 4, 10, 0, 2, 2, 255};
        memcpy(o + 5, &a, 4);
        dhcp_case("dhcp request for an address", 1, 1, 6, "0.0.0.0", "255.255.255.255", o,
                  sizeof o);
        uint8_t o2[] = {53, 1, 3, 255};
        dhcp_case("dhcp request by ciaddr", 1, 1, 6, reqs[i], "10.0.2.2", o2, sizeof o2);
    }
    uint8_t wrong_server[] = {53, 1, 3, 50, 4, 10, 0, 2, 15, 54, 4, 10, 0, 2, 9, 255};
    dhcp_case("dhcp request to another server", 1, 1, 6, "0.0.0.0", "255.255.255.255",
              wrong_server, sizeof wrong_server);
    uint8_t disc[] = {53, 1, 1, 255};
    dhcp_case("bootreply from the guest", 2, 1, 6, "0.0.0.0", "255.255.255.255", disc,
              sizeof disc);
    dhcp_case("dhcp htype 6", 1, 6, 6, "0.0.0.0", "255.255.255.255", disc, sizeof disc);
    dhcp_case("dhcp hlen 16", 1, 1, 16, "0.0.0.0", "255.255.255.255", disc, sizeof disc);
    dhcp_case("dhcp to the gateway", 1, 1, 6, "0.0.0.0", "10.0.2.2", disc, sizeof disc);
    dhcp_case("dhcp to the dns address", 1, 1, 6, "0.0.0.0", "10.0.2.3", disc, sizeof disc);
    uint8_t prl[] = {53, 1, 1, 55, 12, 1, 3, 6, 12, 15, 26, 28, 42, 51, 54, 58, 119, 255};
    dhcp_case("dhcp parameter request list", 1, 1, 6, "0.0.0.0", "255.255.255.255", prl,
              sizeof prl);
    uint8_t pad[] = {0, 0, 0, 53, 1, 1, 0, 255, 1, 2};
    dhcp_case("dhcp padding and trailing bytes", 1, 1, 6, "0.0.0.0", "255.255.255.255", pad,
              sizeof pad);
    uint8_t overrun[] = {53, 1, 1, 12, 200, 'a'};
    dhcp_case("dhcp option overruns", 1, 1, 6, "0.0.0.0", "255.255.255.255", overrun,
              sizeof overrun);
    uint8_t noend[] = {53, 1, 1};
    dhcp_case("dhcp without end option", 1, 1, 6, "0.0.0.0", "255.255.255.255", noend,
              sizeof noend);
    uint8_t rel[] = {53, 1, 7, 54, 4, 10, 0, 2, 2, 255};
    dhcp_case("dhcp release", 1, 1, 6, "10.0.2.15", "10.0.2.2", rel, sizeof rel);
}

/* ---- ARP ---- */

static size_t arp_frame(uint8_t **out, uint16_t hrd, uint16_t pro, uint8_t hln, uint8_t pln,
                        uint16_t op, const char *sip, const char *tip, size_t trunc)
{
    libnet_t *l = uh_ln();
    /* libnet reads hln and pln bytes from each address: room for odd sizes */
    uint8_t sha[16] = {0}, spa[16] = {0}, tha[16] = {0}, tpa[16] = {0};
    uint32_t s = uh_ip(sip), t = uh_ip(tip);
    memcpy(sha, UH_GUEST_MAC, 6);
    memcpy(spa, &s, 4);
    memcpy(tpa, &t, 4);
    libnet_build_arp(hrd, pro, hln, pln, op, sha, spa, tha, tpa, NULL, 0, l, 0);
    libnet_build_ethernet(UH_BCAST, UH_GUEST_MAC, ETHERTYPE_ARP, NULL, 0, l, 0);
    size_t n = uh_ln_finish(l, out);
    return trunc && trunc < n ? trunc : n;
}

static void family_arp(void)
{
    static const char *const targets[] = {"10.0.2.2", "10.0.2.3", "10.0.2.15", "10.0.2.100",
                                          "10.0.2.255", "10.0.2.0", "8.8.8.8", "10.0.3.2"};
    static const char *const senders[] = {"10.0.2.15", "0.0.0.0", "10.0.2.2", "192.168.1.5"};
    uint8_t *f;
    for (size_t s = 0; s < 4; s++)
        for (size_t t = 0; t < 8; t++) {
            size_t n = arp_frame(&f, 1, 0x0800, 6, 4, 1, senders[s], targets[t], 0);
            one("arp request", "", f, n);
        }
    static const uint16_t ops[] = {2, 3, 4, 0};
    for (size_t i = 0; i < 4; i++) {
        size_t n = arp_frame(&f, 1, 0x0800, 6, 4, ops[i], "10.0.2.15", "10.0.2.2", 0);
        one("arp op", "", f, n);
    }
    size_t n = arp_frame(&f, 6, 0x0800, 6, 4, 1, "10.0.2.15", "10.0.2.2", 0);
    one("arp hardware type 6", "", f, n);
    n = arp_frame(&f, 1, 0x86dd, 6, 4, 1, "10.0.2.15", "10.0.2.2", 0);
    one("arp protocol ipv6", "", f, n);
    n = arp_frame(&f, 1, 0x0800, 8, 4, 1, "10.0.2.15", "10.0.2.2", 0);
    one("arp hlen 8", "", f, n);
    n = arp_frame(&f, 1, 0x0800, 6, 6, 1, "10.0.2.15", "10.0.2.2", 0);
    one("arp plen 6", "", f, n);
    for (size_t cut = 20; cut < 42; cut += 4) {
        n = arp_frame(&f, 1, 0x0800, 6, 4, 1, "10.0.2.15", "10.0.2.2", cut);
        one("arp truncated", "", f, n);
    }
}

/* ---- ICMP ---- */

static size_t icmp_echo(uint8_t **out, const char *dst, uint8_t type, uint8_t code,
                        size_t payload, uint8_t ttl, bool bad_csum)
{
    uint8_t pl[1600];
    for (size_t i = 0; i < payload; i++)
        pl[i] = (uint8_t)i;
    libnet_t *l = uh_ln();
    libnet_build_icmpv4_echo(type, code, 0, 0x42, 1, pl, (uint32_t)payload, l, 0);
    libnet_build_ipv4((uint16_t)(LIBNET_IPV4_H + 8 + payload), 0, 0x777, 0, ttl, IPPROTO_ICMP,
                      0, uh_ip("10.0.2.15"), uh_ip(dst), NULL, 0, l, 0);
    libnet_build_ethernet(UH_GW_MAC, UH_GUEST_MAC, ETHERTYPE_IP, NULL, 0, l, 0);
    size_t n = uh_ln_finish(l, out);
    if (bad_csum)
        (*out)[14 + 20 + 2] ^= 0x55;
    return n;
}

static void family_icmp(void)
{
    static const char *const dsts[] = {"10.0.2.2", "10.0.2.3", "10.0.2.15", "10.0.2.255",
                                       "8.8.8.8", "10.0.2.77"};
    static const size_t sizes[] = {0, 1, 56, 1472};
    static const char *const keys[] = {"", "restrict=on"};
    uint8_t *f;
    for (size_t k = 0; k < 2; k++)
        for (size_t d = 0; d < 6; d++)
            for (size_t s = 0; s < 4; s++) {
                size_t n = icmp_echo(&f, dsts[d], 8, 0, sizes[s], 64, false);
                after_arp("icmp echo", keys[k], f, n);
            }
    static const uint8_t types[] = {0, 3, 11, 13, 15, 17, 8};
    for (size_t t = 0; t < sizeof types; t++) {
        size_t n = icmp_echo(&f, "10.0.2.2", types[t], types[t] == 8 ? 1 : 0, 16, 64, false);
        after_arp("icmp type to the gateway", "", f, n);
    }
    size_t n = icmp_echo(&f, "10.0.2.2", 8, 0, 56, 64, true);
    after_arp("icmp bad checksum", "", f, n);
    n = icmp_echo(&f, "10.0.2.2", 8, 0, 56, 1, false);
    after_arp("icmp ttl 1", "", f, n);
    n = icmp_echo(&f, "10.0.2.3", 8, 0, 56, 0, false);
    after_arp("icmp ttl 0", "", f, n);
    /* the guest's MAC unknown: both must resolve it first */
    n = icmp_echo(&f, "10.0.2.2", 8, 0, 56, 64, false);
    one("icmp echo from an unknown guest", "", f, n);
}

/* ---- IPv4 fragments ---- */

static void frag_case(const char *what, const char *keys, size_t total, const size_t *cuts,
                      size_t ncuts, const size_t *order, bool udp_tftp)
{
    uint8_t l4[1600];
    size_t l4len;
    if (udp_tftp) {
        /* made long by an option nobody knows, which both ignore */
        uint8_t pad[1600];
        size_t n = (size_t)snprintf((char *)pad, sizeof pad, "%c%chello.txt%coctet%c", 0, 1, 0, 0);
        memset(pad + n, 'x', total - 8 - n - 3);
        pad[total - 8 - 3] = 0, pad[total - 8 - 2] = '1', pad[total - 8 - 1] = 0;
        size_t pl = total - 8;
        l4[0] = 0x04, l4[1] = 0x00, l4[2] = 0, l4[3] = 69;
        l4[4] = (uint8_t)((pl + 8) >> 8), l4[5] = (uint8_t)(pl + 8), l4[6] = 0, l4[7] = 0;
        memcpy(l4 + 8, pad, pl);
        l4len = total;
    } else {
        l4[0] = 8, l4[1] = 0, l4[2] = 0, l4[3] = 0, l4[4] = 0, l4[5] = 9, l4[6] = 0, l4[7] = 1;
        for (size_t i = 8; i < total; i++)
            l4[i] = (uint8_t)i;
        l4len = total;
    }
    /* checksums over the whole datagram */
    uint16_t c;
    if (udp_tftp) {
        uint32_t s = uh_ip("10.0.2.15"), d = uh_ip("10.0.2.2");
        vk_ip4 a, b;
        memcpy(a.b, &s, 4), memcpy(b.b, &d, 4);
        c = vk_csum_l4(vk_csum_pseudo4(&a, &b, 17), l4, l4len);
        l4[6] = (uint8_t)(c >> 8), l4[7] = (uint8_t)c;
    } else {
        c = vk_csum(l4, l4len);
        l4[2] = (uint8_t)(c >> 8), l4[3] = (uint8_t)c;
    }
    input in = {.n = 0};
    uint8_t *a;
    size_t alen = uh_build_arp_request(&a, UH_GUEST_MAC, "10.0.2.15", "10.0.2.2");
    in_take(&in, a, alen);
    for (size_t k = 0; k < ncuts + 1; k++) {
        size_t i = order[k];
        size_t from = i == 0 ? 0 : cuts[i - 1];
        size_t to = i == ncuts ? l4len : cuts[i];
        uint16_t frag = (uint16_t)(from / 8) | (i == ncuts ? 0 : 0x2000);
        uint8_t *f;
        size_t n = uh_build_ip4(&f, "10.0.2.15", "10.0.2.2", udp_tftp ? 17 : 1,
                                (uint16_t)(0x4000 + T.inputs), frag, l4 + from, to - from);
        in_take(&in, f, n);
    }
    differ(what, keys, &in);
    in_free(&in);
}

static void family_fragments(void)
{
    size_t two[] = {0, 1}, rev[] = {1, 0}, three[] = {0, 1, 2}, mix[] = {2, 0, 1};
    size_t c1[] = {512}, c2[] = {400, 800}, c3[] = {8, 16};
    frag_case("icmp in 2 fragments", "", 1000, c1, 1, two, false);
    frag_case("icmp in 2 fragments reversed", "", 1000, c1, 1, rev, false);
    frag_case("icmp in 3 fragments", "", 1200, c2, 2, three, false);
    frag_case("icmp in 3 fragments out of order", "", 1200, c2, 2, mix, false);
    frag_case("icmp in tiny fragments", "", 100, c3, 2, three, false);
    frag_case("icmp with the last fragment lost", "", 1000, c1, 0, two, false);
    frag_case("tftp rrq in fragments, restrict=on", "restrict=on,tftp=" VK_SOURCE_DIR
              "/pcaps/tftp", 600, c1, 1, two, true);
}

/* ---- TCP to closed ports and UDP with restrict=on ---- */

static size_t tcp_seg(uint8_t **out, const char *dst, uint16_t dport, uint8_t flags,
                      size_t payload)
{
    uint8_t pl[64] = {0};
    libnet_t *l = uh_ln();
    libnet_build_tcp(40000, dport, 1000, flags & 0x10 ? 5000 : 0, flags, 64240, 0, 0,
                     (uint16_t)(LIBNET_TCP_H + payload), pl, (uint32_t)payload, l, 0);
    libnet_build_ipv4((uint16_t)(LIBNET_IPV4_H + LIBNET_TCP_H + payload), 0, 0x99, 0x4000, 64,
                      IPPROTO_TCP, 0, uh_ip("10.0.2.15"), uh_ip(dst), NULL, 0, l, 0);
    libnet_build_ethernet(UH_GW_MAC, UH_GUEST_MAC, ETHERTYPE_IP, NULL, 0, l, 0);
    return uh_ln_finish(l, out);
}

static void family_tcp_udp(void)
{
    static const char *const dsts[] = {"10.0.2.2", "10.0.2.3", "93.184.216.34", "10.0.2.99"};
    static const uint16_t ports[] = {22, 53, 80, 0};
    static const uint8_t flags[] = {0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x01, 0x00, 0x22};
    uint8_t *f;
    for (size_t d = 0; d < 4; d++)
        for (size_t p = 0; p < 4; p++)
            for (size_t k = 0; k < sizeof flags; k++) {
                size_t n = tcp_seg(&f, dsts[d], ports[p], flags[k], flags[k] & 0x08 ? 10 : 0);
                after_arp("tcp to a closed port, restrict=on", "restrict=on", f, n);
            }
    for (size_t d = 0; d < 4; d++) {
        size_t n = tcp_seg(&f, dsts[d], 80, 0x02, 0);
        after_arp("tcp syn without restrict", "", f, n);
    }
    static const uint16_t uports[] = {53, 67, 69, 123, 0};
    for (size_t d = 0; d < 4; d++)
        for (size_t p = 0; p < 5; p++) {
            uint8_t pl[12] = {1, 2, 3};
            size_t n = uh_build_udp(&f, "10.0.2.15", 5555, dsts[d], uports[p], pl, sizeof pl);
            after_arp("udp with restrict=on", "restrict=on", f, n);
        }
}

/* ---- TFTP ---- */

static void tftp_case(const char *what, const char *keys, const uint8_t *req, size_t rlen,
                      unsigned acks)
{
    input in = {.n = 0};
    uint8_t *f;
    size_t n = uh_build_arp_request(&f, UH_GUEST_MAC, "10.0.2.15", "10.0.2.2");
    in_take(&in, f, n);
    n = uh_build_udp(&f, "10.0.2.15", 2000, "10.0.2.2", 69, req, rlen);
    in_take(&in, f, n);
    for (unsigned b = 0; b < acks; b++) {
        uint8_t ack[4] = {0, 4, (uint8_t)(b >> 8), (uint8_t)b};
        n = uh_build_udp(&f, "10.0.2.15", 2000, "10.0.2.2", 69, ack, sizeof ack);
        in_take(&in, f, n);
    }
    differ(what, keys, &in);
    in_free(&in);
}

static size_t rrq(uint8_t *b, uint16_t op, const char *name, const char *mode,
                  const char *const *opts, size_t nopts)
{
    size_t n = 0;
    b[n++] = 0, b[n++] = (uint8_t)op;
    n += (size_t)sprintf((char *)b + n, "%s", name) + 1;
    n += (size_t)sprintf((char *)b + n, "%s", mode) + 1;
    for (size_t i = 0; i < nopts; i++)
        n += (size_t)sprintf((char *)b + n, "%s", opts[i]) + 1;
    return n;
}

static void family_tftp(void)
{
    const char *root = "tftp=" VK_SOURCE_DIR "/pcaps/tftp";
    static const char *const names[] = {"hello.txt", "big.bin", "missing.txt",
                                        "../tftp-exact/hello.txt", "./hello.txt",
                                        "/etc/passwd", "hello.txt/", "a/../hello.txt", "",
                                        "HELLO.TXT"};
    static const char *const modes[] = {"octet", "netascii", "mail", "OCTET"};
    uint8_t b[1024];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        for (size_t m = 0; m < 4; m++) {
            size_t n = rrq(b, 1, names[i], modes[m], NULL, 0);
            tftp_case("tftp rrq", root, b, n, 2);
        }
    static const char *const blk[] = {"0", "7", "8", "512", "1428", "1429", "1468", "65464",
                                      "abc", "-1"};
    for (size_t i = 0; i < sizeof blk / sizeof blk[0]; i++) {
        const char *o[] = {"blksize", blk[i]};
        size_t n = rrq(b, 1, "big.bin", "octet", o, 2);
        tftp_case("tftp blksize", root, b, n, 3);
    }
    static const char *const tsz[][4] = {{"tsize", "0"}, {"tsize", "99"}, {"timeout", "1"},
                                         {"timeout", "0"}, {"windowsize", "4"},
                                         {"tsize", "0", "blksize", "1024"}};
    for (size_t i = 0; i < 6; i++) {
        size_t k = tsz[i][2] ? 4 : 2;
        size_t n = rrq(b, 1, "big.bin", "octet", tsz[i], k);
        tftp_case("tftp options", root, b, n, 2);
    }
    size_t n = rrq(b, 2, "new.txt", "octet", NULL, 0);
    tftp_case("tftp wrq", root, b, n, 0);
    n = rrq(b, 1, "hello.txt", "octet", NULL, 0);
    tftp_case("tftp without tftp=", "", b, n, 1);
    tftp_case("tftp with restrict=on", "restrict=on,tftp=" VK_SOURCE_DIR "/pcaps/tftp", b, n, 1);
    uint8_t err[] = {0, 5, 0, 1, 'x', 0};
    tftp_case("tftp error from the guest", root, err, sizeof err, 0);
    uint8_t data[] = {0, 3, 0, 1, 'x'};
    tftp_case("tftp data from the guest", root, data, sizeof data, 0);
    uint8_t bad[] = {0, 9, 'x', 0};
    tftp_case("tftp unknown opcode", root, bad, sizeof bad, 0);
    uint8_t unterminated[] = {0, 1, 'h', 'e', 'l', 'l', 'o'};
    tftp_case("tftp name without NUL", root, unterminated, sizeof unterminated, 0);
    /* no ACK at all: our retransmissions are the deliberate difference */
    n = rrq(b, 1, "big.bin", "octet", NULL, 0);
    tftp_case("tftp never acknowledged", root, b, n, 0);
}

/* ---- IPv6 ND and echo ---- */

static size_t ip6_frame(uint8_t **out, const char *src, const char *dst, const uint8_t *dmac,
                        uint8_t hlim, uint8_t *icmp, size_t ilen)
{
    uint8_t *f = calloc(1, 14 + 40 + ilen);
    assert_non_null(f);
    memcpy(f, dmac, 6);
    memcpy(f + 6, UH_GUEST_MAC, 6);
    f[12] = 0x86, f[13] = 0xdd;
    uint8_t *ip = f + 14;
    ip[0] = 0x60;
    ip[4] = (uint8_t)(ilen >> 8), ip[5] = (uint8_t)ilen;
    ip[6] = 58;
    ip[7] = hlim;
    assert_int_equal(inet_pton(AF_INET6, src, ip + 8), 1);
    assert_int_equal(inet_pton(AF_INET6, dst, ip + 24), 1);
    memcpy(ip + 40, icmp, ilen);
    vk_csum_fill_frame(f, 14 + 40 + ilen);
    *out = f;
    return 14 + 40 + ilen;
}

static void family_ipv6(void)
{
    static const uint8_t mcast_all[6] = {0x33, 0x33, 0, 0, 0, 2};
    static const char *const targets[] = {"fec0::2", "fec0::3", "fe80::2", "fe80::3",
                                          "fec0::15", "fec0::99"};
    const char *guest = "fe80::5054:ff:fe12:3456";
    uint8_t *f;
    for (size_t t = 0; t < 6; t++)
        for (int hl = 0; hl < 2; hl++)
            for (int dad = 0; dad < 2; dad++) {
                uint8_t ns[32] = {135, 0, 0, 0, 0, 0, 0, 0};
                assert_int_equal(inet_pton(AF_INET6, targets[t], ns + 8), 1);
                ns[24] = 1, ns[25] = 1;
                memcpy(ns + 26, UH_GUEST_MAC, 6);
                uint8_t sol[16];
                assert_int_equal(inet_pton(AF_INET6, "ff02::1:ff00:0", sol), 1);
                memcpy(sol + 13, ns + 8 + 13, 3);
                char dst[64];
                inet_ntop(AF_INET6, sol, dst, sizeof dst);
                uint8_t dmac[6] = {0x33, 0x33, 0xff, ns[8 + 13], ns[8 + 14], ns[8 + 15]};
                size_t n = ip6_frame(&f, dad ? "::" : guest, dst, dmac, hl ? 255 : 64, ns,
                                     dad ? 24 : 32);
                one("ipv6 neighbour solicitation", "", f, n);
            }
    for (int opt = 0; opt < 2; opt++) {
        uint8_t rs[16] = {133, 0, 0, 0, 0, 0, 0, 0, 1, 1};
        memcpy(rs + 10, UH_GUEST_MAC, 6);
        size_t n = ip6_frame(&f, opt ? guest : "::", "ff02::2", mcast_all, 255, rs,
                             opt ? 16 : 8);
        one("ipv6 router solicitation", "", f, n);
    }
    static const char *const echo_dst[] = {"fec0::2", "fec0::3", "fe80::2", "fec0::99"};
    for (size_t d = 0; d < 4; d++)
        for (size_t sz = 0; sz < 3; sz++) {
            uint8_t e[1300] = {128, 0, 0, 0, 0, 7, 0, 1};
            size_t len = sz == 0 ? 8 : sz == 1 ? 64 : 1200;
            for (size_t i = 8; i < len; i++)
                e[i] = (uint8_t)i;
            uint8_t gw6[6] = {0x52, 0x56, 0, 0, 0, 2};
            size_t n = ip6_frame(&f, sz ? "fec0::5054:ff:fe12:3456" : guest, echo_dst[d], gw6,
                                 64, e, len);
            /* the guest announces its address first, as Linux does */
            input in = {.n = 0};
            uint8_t na[32] = {136, 0, 0, 0, 0x20, 0, 0, 0};
            assert_int_equal(inet_pton(AF_INET6, "fec0::5054:ff:fe12:3456", na + 8), 1);
            na[24] = 2, na[25] = 1;
            memcpy(na + 26, UH_GUEST_MAC, 6);
            uint8_t *a;
            size_t alen = ip6_frame(&a, "fec0::5054:ff:fe12:3456", "ff02::1", mcast_all, 255,
                                    na, 32);
            in_take(&in, a, alen);
            in_take(&in, f, n);
            differ("ipv6 echo", "", &in);
            in_free(&in);
        }
}

/* ---- mutations of the reference captures ---- */

static uint32_t rng = 2026;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static size_t load_guest(const char *file, input *in)
{
    char path[512], err[PCAP_ERRBUF_SIZE];
    snprintf(path, sizeof path, "%s/pcaps/%s", VK_SOURCE_DIR, file);
    pcap_t *p = pcap_open_offline(path, err);
    assert_non_null(p);
    struct pcap_pkthdr *hd;
    const u_char *d;
    in->n = 0;
    uint64_t first = 0;
    while (pcap_next_ex(p, &hd, &d) == 1) {
        uint64_t ts = (uint64_t)hd->ts.tv_sec * VK_NS_PER_SEC + (uint64_t)hd->ts.tv_usec * 1000u;
        if (first == 0)
            first = ts;
        if (hd->caplen > 14 && memcmp(d + 6, UH_GUEST_MAC, 6) == 0 && in->n < MAX_IN) {
            in_add(in, d, hd->caplen);
            in->f[in->n - 1].ts = ts - first + STEP_NS;
        }
    }
    pcap_close(p);
    return in->n;
}

static void family_mutations(void)
{
    static const struct {
        const char *file, *keys;
    } caps[] = {
        {"qemu-e1000-dhcp-ping.pcap", ""},
        {"qemu-e1000-arp.pcap", ""},
        {"qemu-e1000-tftp.pcap", "tftp=" VK_SOURCE_DIR "/pcaps/tftp"},
        {"qemu-e1000-tftp-blksize.pcap", "tftp=" VK_SOURCE_DIR "/pcaps/tftp"},
        {"qemu-e1000-ping6.pcap", ""},
        {"qemu-e1000-restrict.pcap", "restrict=on"},
    };
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        input base;
        memset(&base, 0, sizeof base);
        load_guest(caps[c].file, &base);
        differ(caps[c].file, caps[c].keys, &base);
        for (size_t i = 0; i < base.n; i++)
            for (int round = 0; round < 12; round++) {
                input in = {.n = 0};
                for (size_t k = 0; k < i; k++) {
                    in_add(&in, base.f[k].data, base.f[k].len);
                    in.f[k].ts = base.f[k].ts;
                }
                uint8_t buf[2048];
                size_t n = base.f[i].len;
                if (n > sizeof buf || n <= 14)
                    continue;
                memcpy(buf, base.f[i].data, n);
                unsigned flips = 1 + next_rand() % 3;
                for (unsigned k = 0; k < flips; k++)
                    buf[14 + next_rand() % (n - 14)] = (uint8_t)next_rand();
                if (next_rand() % 5 == 0)
                    n = 14 + next_rand() % (n - 14);
                if (next_rand() % 3 != 0)
                    vk_csum_fill_frame(buf, n);
                in_add(&in, buf, n);
                in.f[i].ts = base.f[i].ts;
                char what[160];
                snprintf(what, sizeof what, "%s frame %zu mutation %d", caps[c].file, i + 1,
                         round);
                differ(what, caps[c].keys, &in);
                in_free(&in);
            }
        in_free(&base);
    }
}

/* ---- the test ---- */

static void test_user_answers_as_libslirp_on_generated_and_mutated_inputs(void **state)
{
    (void)state;
    family_dhcp();
    family_arp();
    family_icmp();
    family_fragments();
    family_tcp_udp();
    family_tftp();
    family_ipv6();
    family_mutations();
    printf("differential: %zu inputs tried (%zu guest frames, %zu answers), %zu differences "
           "found, %zu not allowed; named:",
           T.inputs, T.frames, T.answers, T.differences, T.real);
    for (unsigned r = VK_DIFF_REAL + 1; r < VK_DIFF_RULES; r++)
        printf(" %s %zu", vk_diff_rule_name((vk_diff_rule)r), T.by_rule[r]);
    printf("\n");
    assert_true(T.inputs > 1000);
    assert_int_equal(T.real, 0);
}

int main(void)
{
    if (!vk_libslirp_available()) {
        printf("SKIP: built without libslirp (install libslirp-dev and rebuild)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_answers_as_libslirp_on_generated_and_mutated_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
