/*
 * The user backend's UDP, DNS and ICMP echo NAT against a scripted world:
 * the world.h operations implemented here record what the stack asks (which
 * sockets, which destinations, which TTL) and hand back datagrams and errors
 * the test scripts, delivered from timers of the virtual loop as the world
 * contract says.  Every expectation is libslirp 4.7's behaviour (udp.c,
 * socket.c sotranslate_out/in and sorecvfrom, ip_icmp.c).
 */
#include "test_user_harness.h"

#include "backends/user/world.h"
#include "wire/checksum.h"
#include "wire/icmp.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"
#include "wire/udp.h"

/* ---- the scripted world ---- */

#define FW_SOCKS 1024
#define FW_QUEUE 8
#define FW_SENT 64

typedef struct fw fw;

typedef struct fw_dgram {
    vk_waddr from;
    int err;
    uint8_t data[256];
    size_t len;
} fw_dgram;

typedef struct fw_sock {
    vk_wsock base;
    fw *w;
    bool ping, closed, has_bind;
    vk_world_flow flow;
    vk_waddr bind;
    fw_dgram q[FW_QUEUE];
    size_t qn;
    vk_timer *t;
} fw_sock;

typedef struct fw_sent {
    fw_sock *s;
    vk_waddr dst;
    uint8_t data[256];
    size_t len;
    uint8_t ttl;
} fw_sent;

struct fw {
    vk_world base;
    fw_sock *socks[FW_SOCKS];
    size_t nsocks;
    int open_result;   /* udp_open / ping_open outcome */
    int sendto_result;
    int dns_result;
    vk_waddr dns;
    fw_sent sent[FW_SENT];
    size_t nsent;
};

static void fw_fire(void *arg, uint64_t now)
{
    fw_sock *s = arg;
    if (!s->closed && s->base.ev->readable != NULL)
        s->base.ev->readable(s->base.ctx, &s->base, now);
}

static int fw_open(fw *w, bool ping, const vk_world_flow *flow, const vk_waddr *bind,
                   const vk_wsock_events *ev, void *ctx, vk_wsock **out)
{
    *out = NULL;
    if (w->open_result != VK_OK)
        return w->open_result;
    assert_true(w->nsocks < FW_SOCKS);
    fw_sock *s = calloc(1, sizeof *s);
    s->base.ev = ev;
    s->base.ctx = ctx;
    s->w = w;
    s->ping = ping;
    s->flow = *flow;
    if (bind != NULL) {
        s->has_bind = true;
        s->bind = *bind;
    }
    s->t = vk_timer_new(w->base.loop, fw_fire, s);
    w->socks[w->nsocks++] = s;
    *out = &s->base;
    return VK_OK;
}

static int fw_udp_open(vk_world *wb, const vk_world_flow *flow, const vk_waddr *bind_to,
                       const vk_wsock_events *ev, void *ctx, vk_wsock **out, uint64_t now)
{
    (void)now;
    return fw_open((fw *)wb, false, flow, bind_to, ev, ctx, out);
}

static int fw_ping_open(vk_world *wb, const vk_world_flow *flow, const vk_wsock_events *ev,
                        void *ctx, vk_wsock **out, uint64_t now)
{
    (void)now;
    return fw_open((fw *)wb, true, flow, NULL, ev, ctx, out);
}

static int fw_sendto(vk_world *wb, vk_wsock *sb, const vk_waddr *dst, const uint8_t *data,
                     size_t len, uint8_t ttl, uint64_t now)
{
    (void)now;
    fw *w = (fw *)wb;
    fw_sock *s = (fw_sock *)sb;
    assert_false(s->closed);
    if (w->sendto_result != VK_OK)
        return w->sendto_result;
    if (w->nsent++ >= FW_SENT)
        return VK_OK; /* counted, not kept */
    fw_sent *e = &w->sent[w->nsent - 1];
    e->s = s;
    e->dst = *dst;
    e->len = len < sizeof e->data ? len : sizeof e->data;
    memcpy(e->data, data, e->len);
    e->ttl = ttl;
    return VK_OK;
}

static long fw_recvfrom(vk_world *wb, vk_wsock *sb, uint8_t *buf, size_t cap, vk_waddr *from,
                        uint64_t now)
{
    (void)wb, (void)now;
    fw_sock *s = (fw_sock *)sb;
    if (s->qn == 0)
        return VK_EAGAIN;
    fw_dgram d = s->q[0];
    memmove(&s->q[0], &s->q[1], (s->qn - 1) * sizeof s->q[0]);
    s->qn--;
    *from = d.from;
    if (d.err != VK_OK)
        return d.err;
    assert_true(d.len <= cap);
    memcpy(buf, d.data, d.len);
    return (long)d.len;
}

static int fw_dns_server(vk_world *wb, int family, vk_waddr *out, uint64_t now)
{
    (void)family, (void)now;
    fw *w = (fw *)wb;
    if (w->dns_result == VK_OK)
        *out = w->dns;
    return w->dns_result;
}

static void fw_close(vk_world *wb, vk_wsock *sb, bool abort, uint64_t now)
{
    (void)wb, (void)abort, (void)now;
    fw_sock *s = (fw_sock *)sb;
    assert_false(s->closed);
    s->closed = true;
    vk_timer_cancel(s->t);
}

static void fw_free(vk_world *wb)
{
    fw *w = (fw *)wb;
    for (size_t i = 0; i < w->nsocks; i++) {
        vk_timer_free(w->socks[i]->t);
        free(w->socks[i]);
    }
    free(w);
}

static const vk_world_ops fw_ops = {
    .name = "scripted",
    .udp_open = fw_udp_open,
    .sendto = fw_sendto,
    .recvfrom = fw_recvfrom,
    .ping_open = fw_ping_open,
    .dns_server = fw_dns_server,
    .close = fw_close,
    .free = fw_free,
};

static fw *fw_attach(uh *h)
{
    fw *w = calloc(1, sizeof *w);
    w->base.ops = &fw_ops;
    w->base.loop = h->loop;
    w->dns_result = VK_ENOENT;
    assert_int_equal(vk_user_set_world(h->user, &w->base), VK_OK);
    return w;
}

static vk_waddr wa4(const char *ip, uint16_t port)
{
    vk_waddr a = {.family = 4, .port = port};
    assert_int_equal(vk_ip4_parse(ip, &a.ip4), VK_OK);
    return a;
}

static vk_waddr wa6(const char *ip, uint16_t port)
{
    vk_waddr a = {.family = 6, .port = port};
    assert_int_equal(vk_ip6_parse(ip, &a.ip6), VK_OK);
    return a;
}

static bool wa_eq(const vk_waddr *a, const vk_waddr *b)
{
    if (a->family != b->family || a->port != b->port)
        return false;
    return a->family == 4 ? memcmp(&a->ip4, &b->ip4, 4) == 0 : memcmp(&a->ip6, &b->ip6, 16) == 0;
}

/* Queues a datagram (or an error) on s and lets the loop deliver it. */
static void fw_inject(uh *h, fw_sock *s, vk_waddr from, int err, const char *data)
{
    assert_true(s->qn < FW_QUEUE);
    fw_dgram *d = &s->q[s->qn++];
    memset(d, 0, sizeof *d);
    d->from = from;
    d->err = err;
    if (data != NULL) {
        d->len = strlen(data);
        memcpy(d->data, data, d->len);
    }
    uint64_t now = vk_loop_now(h->loop);
    vk_timer_arm(s->t, now);
    uh_advance(h, now + 1);
}

/* ---- guest frames ---- */

static void send_udp(uh *h, const char *src, uint16_t sport, const char *dst, uint16_t dport,
                     const char *data)
{
    uint8_t *f;
    size_t n = uh_build_udp(&f, src, sport, dst, dport, (const uint8_t *)data, strlen(data));
    uh_send(h, f, n);
    free(f);
}

static void send_udp_ttl(uh *h, uint8_t ttl, const char *dst, uint16_t dport)
{
    libnet_t *l = uh_ln();
    libnet_build_udp(5000, dport, LIBNET_UDP_H + 2, 0, (const uint8_t *)"hi", 2, l, 0);
    libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_UDP_H + 2, 0, 7, 0, ttl, IPPROTO_UDP, 0,
                      uh_ip("10.0.2.15"), uh_ip(dst), NULL, 0, l, 0);
    libnet_build_ethernet(UH_GW_MAC, UH_GUEST_MAC, ETHERTYPE_IP, NULL, 0, l, 0);
    uint8_t *f;
    size_t n = uh_ln_finish(l, &f);
    uh_send(h, f, n);
    free(f);
}

static void send_echo(uh *h, const char *dst, uint16_t id, uint16_t seq)
{
    uint8_t icmp[64];
    static const uint8_t payload[16] = "0123456789abcdef";
    vk_icmp_repr r = {.type = VK_ICMP_ECHO_REQUEST, .id = id, .seq = seq, .data = payload,
                      .data_len = sizeof payload};
    size_t n;
    assert_int_equal(vk_icmp_emit(&r, icmp, sizeof icmp, &n), VK_OK);
    uint8_t *f;
    size_t fl = uh_build_ip4(&f, "10.0.2.15", dst, IPPROTO_ICMP, 0x4242, 0, icmp, n);
    uh_send(h, f, fl);
    free(f);
}

static const uint8_t GUEST6_MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static void send_udp6(uh *h, const char *src, uint16_t sport, const char *dst, uint16_t dport,
                      const char *data)
{
    vk_ip6 s6, d6;
    assert_int_equal(vk_ip6_parse(src, &s6), VK_OK);
    assert_int_equal(vk_ip6_parse(dst, &d6), VK_OK);
    uint8_t udp[256], frame[512];
    vk_udp_repr ur = {.src_port = sport, .dst_port = dport, .payload = (const uint8_t *)data,
                      .payload_len = strlen(data)};
    size_t un, w;
    assert_int_equal(vk_udp_emit(&ur, vk_csum_pseudo6(&s6, &d6, VK_IP_PROTO_UDP), udp,
                                 sizeof udp, &un),
                     VK_OK);
    vk_eth_repr eth = {.ethertype = VK_ETHERTYPE_IPV6};
    memcpy(eth.src.b, GUEST6_MAC, 6);
    memcpy(eth.dst.b, UH_GW_MAC, 6);
    assert_int_equal(vk_eth_emit(&eth, frame, sizeof frame, &w), VK_OK);
    vk_ipv6_repr ip = {.next_header = VK_IP_PROTO_UDP, .hop_limit = 64, .src = s6, .dst = d6,
                       .payload = udp, .payload_len = un};
    size_t ipn;
    assert_int_equal(vk_ipv6_emit(&ip, frame + w, sizeof frame - w, &ipn), VK_OK);
    uh_send(h, frame, w + ipn);
}

/* The last frame the stack sent, as IPv4 + UDP. */
static void got_udp(uh *h, vk_ipv4_repr *ip, vk_udp_repr *udp)
{
    vk_eth_repr eth;
    assert_true(h->ngot > 0);
    uh_got_ip4(h, h->ngot - 1, &eth, ip);
    assert_int_equal(ip->proto, VK_IP_PROTO_UDP);
    assert_int_equal(vk_udp_parse(ip->payload, ip->payload_len, udp), VK_OK);
}

static void got_icmp(uh *h, vk_ipv4_repr *ip, vk_icmp_repr *icmp)
{
    vk_eth_repr eth;
    assert_true(h->ngot > 0);
    uh_got_ip4(h, h->ngot - 1, &eth, ip);
    assert_int_equal(ip->proto, VK_IP_PROTO_ICMP);
    assert_int_equal(vk_icmp_parse(ip->payload, ip->payload_len, icmp), VK_OK);
    assert_true(icmp->csum_ok);
}

static void assert_ip4(vk_ip4 a, const char *s)
{
    char buf[VK_IP4_STRLEN];
    assert_string_equal(vk_ip4_format(&a, buf), s);
}

/* The fixture most tests start from (the table names it per test): the
 * stack, the guest announced, the scripted world attached. */
typedef struct fx {
    uh h; /* first: uh_fixture_close frees the fixture through it */
    fw *w;
} fx;

static int fx_open(void **state)
{
    fx *x = calloc(1, sizeof *x);
    assert_non_null(x);
    uh_open_ok(&x->h, "user,id=u");
    uh_announce(&x->h);
    x->w = fw_attach(&x->h);
    *state = x;
    return 0;
}

/* ---- tests ---- */

static void test_udp_to_gateway_reaches_host_loopback_and_answers_from_gateway(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    send_udp(h, "10.0.2.15", 5000, "10.0.2.2", 7777, "hello");
    assert_int_equal(w->nsocks, 1);
    assert_int_equal(w->nsent, 1);
    vk_waddr want = wa4("127.0.0.1", 7777);
    assert_true(wa_eq(&w->sent[0].dst, &want));
    assert_int_equal(w->sent[0].ttl, 63); /* the guest's 64, minus one */
    assert_memory_equal(w->sent[0].data, "hello", 5);

    fw_inject(h, w->socks[0], wa4("127.0.0.1", 7777), VK_OK, "world");
    vk_ipv4_repr ip;
    vk_udp_repr udp;
    got_udp(h, &ip, &udp);
    assert_ip4(ip.src, "10.0.2.2");
    assert_ip4(ip.dst, "10.0.2.15");
    assert_int_equal(udp.src_port, 7777);
    assert_int_equal(udp.dst_port, 5000);
    assert_int_equal(udp.payload_len, 5);
    assert_memory_equal(udp.payload, "world", 5);
    assert_int_equal(ip.ttl, 64);
    assert_int_equal(uh_stats(h)->udp_out, 1);
    assert_int_equal(uh_stats(h)->udp_in, 1);
}

static void test_udp_other_addresses_of_the_network_are_not_loopback(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    send_udp(h, "10.0.2.15", 5000, "10.0.2.5", 9, "x");
    assert_int_equal(w->nsent, 1);
    vk_waddr want = wa4("10.0.2.5", 9); /* libslirp 4.7: only the gateway is an alias */
    assert_true(wa_eq(&w->sent[0].dst, &want));
    /* and the reply keeps that address */
    fw_inject(h, w->socks[0], wa4("10.0.2.5", 9), VK_OK, "y");
    vk_ipv4_repr ip;
    vk_udp_repr udp;
    got_udp(h, &ip, &udp);
    assert_ip4(ip.src, "10.0.2.5");
}

static void test_udp_one_socket_per_guest_port_and_replies_from_any_remote(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    send_udp(h, "10.0.2.15", 5000, "192.0.2.1", 1000, "a");
    send_udp(h, "10.0.2.15", 5000, "192.0.2.2", 2000, "b");
    send_udp(h, "10.0.2.15", 5001, "192.0.2.1", 1000, "c");
    assert_int_equal(w->nsocks, 2);
    assert_ptr_equal(w->sent[0].s, w->sent[1].s);
    assert_ptr_not_equal(w->sent[0].s, w->sent[2].s);
    fw_inject(h, w->socks[0], wa4("198.51.100.9", 4444), VK_OK, "from elsewhere");
    vk_ipv4_repr ip;
    vk_udp_repr udp;
    got_udp(h, &ip, &udp);
    assert_ip4(ip.src, "198.51.100.9");
    assert_int_equal(udp.src_port, 4444);
    assert_int_equal(udp.dst_port, 5000);
    assert_int_equal(uh_stats(h)->udp_sockets, 2);
}

static void test_dns_goes_to_the_resolv_conf_upstream_and_answers_from_the_dns_address(
    void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    uh_announce(&h);
    fw *w = fw_attach(&h);
    w->dns_result = VK_OK;
    w->dns = wa4("192.0.2.53", 53);
    send_udp(&h, "10.0.2.15", 40000, "10.0.2.3", 53, "query");
    assert_int_equal(w->nsent, 1);
    vk_waddr want = wa4("192.0.2.53", 53);
    assert_true(wa_eq(&w->sent[0].dst, &want));
    fw_inject(&h, w->socks[0], wa4("192.0.2.53", 53), VK_OK, "answer");
    vk_ipv4_repr ip;
    vk_udp_repr udp;
    got_udp(&h, &ip, &udp);
    assert_ip4(ip.src, "10.0.2.3");
    assert_int_equal(udp.src_port, 53);
    assert_int_equal(uh_stats(&h)->dns_queries, 1);
    uh_close(&h);
}

static void test_dns_upstream_key_overrides_the_world_and_keeps_port_53_to_the_guest(
    void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,dns-upstream=127.0.0.1:5353");
    uh_announce(&h);
    fw *w = fw_attach(&h);
    w->dns_result = VK_OK;
    w->dns = wa4("192.0.2.53", 53);
    send_udp(&h, "10.0.2.15", 40000, "10.0.2.3", 53, "query");
    vk_waddr want = wa4("127.0.0.1", 5353);
    assert_true(wa_eq(&w->sent[0].dst, &want));
    fw_inject(&h, w->socks[0], wa4("127.0.0.1", 5353), VK_OK, "answer");
    vk_ipv4_repr ip;
    vk_udp_repr udp;
    got_udp(&h, &ip, &udp);
    assert_ip4(ip.src, "10.0.2.3");
    assert_int_equal(udp.src_port, 53);
    uh_close(&h);
}

static void test_dns_upstream_key_is_checked(void **state)
{
    (void)state;
    uh h;
    vk_diag d = {{0}};
    assert_int_equal(uh_open(&h, "user,id=u,dns-upstream=nonsense", &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "dns-upstream"));
    uh_close(&h);
    assert_int_equal(uh_open(&h, "user,id=u,dns-upstream=127.0.0.1:0", &d), VK_EINVAL);
    uh_close(&h);
    uh_open_ok(&h, "user,id=u,dns-upstream=[::1]:5353");
    uh_announce(&h);
    uh_close(&h);
}

/* An ICMP error about the guest's datagram: from, type, code, and the quote
 * starts with the guest's IP header. */
static void expect_icmp_error(uh *h, const char *from, uint8_t type, uint8_t code,
                              uint16_t quoted_dport)
{
    vk_ipv4_repr ip;
    vk_icmp_repr icmp;
    got_icmp(h, &ip, &icmp);
    assert_ip4(ip.src, from);
    assert_ip4(ip.dst, "10.0.2.15");
    assert_int_equal(icmp.type, type);
    assert_int_equal(icmp.code, code);
    assert_int_equal(ip.ttl, 255);
    assert_int_equal(ip.tos & 0xc0, 0xc0);
    vk_ipv4_repr q;
    assert_int_equal(vk_icmp_quoted(&icmp, &q), VK_OK);
    assert_ip4(q.src, "10.0.2.15");
    assert_true(q.payload_len >= 4);
    assert_int_equal((q.payload[2] << 8) | q.payload[3], quoted_dport);
}

static void test_dns_address_other_ports_get_icmp_net_unreachable(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,dns-upstream=127.0.0.1:5353");
    uh_announce(&h);
    fw *w = fw_attach(&h);
    send_udp(&h, "10.0.2.15", 40000, "10.0.2.3", 54, "query");
    assert_int_equal(w->nsent, 0);
    assert_int_equal(w->nsocks, 0);
    expect_icmp_error(&h, "10.0.2.2", VK_ICMP_DEST_UNREACH, VK_ICMP_UNREACH_NET, 54);
    assert_int_equal(uh_stats(&h)->icmp_errors_sent, 1);
    uh_close(&h);
}

static void test_dns_without_upstream_gets_icmp_net_unreachable(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w; /* dns_server: VK_ENOENT */
    send_udp(h, "10.0.2.15", 40000, "10.0.2.3", 53, "query");
    assert_int_equal(w->nsent, 0);
    expect_icmp_error(h, "10.0.2.2", VK_ICMP_DEST_UNREACH, VK_ICMP_UNREACH_NET, 53);
    assert_string_equal(h->dropped.reason, "UDP: DNS address: not port 53 or no upstream resolver");
}

static void test_udp_error_from_outside_becomes_icmp_port_unreachable(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    send_udp(h, "10.0.2.15", 5000, "10.0.2.2", 9999, "ping?");
    fw_inject(h, w->socks[0], wa4("127.0.0.1", 0), VK_EPORTUNREACH, NULL);
    /* from the host that reported it, untranslated, as libslirp
     * (pcaps/qemu-e1000-udp-echo.pcap frame 15) */
    expect_icmp_error(h, "127.0.0.1", VK_ICMP_DEST_UNREACH, VK_ICMP_UNREACH_PORT, 9999);
    uh_clear(h);
    fw_inject(h, w->socks[0], (vk_waddr){0}, VK_EHOSTUNREACH, NULL);
    expect_icmp_error(h, "10.0.2.2", VK_ICMP_DEST_UNREACH, VK_ICMP_UNREACH_HOST, 9999);
}

static void test_udp_send_failure_becomes_icmp_net_unreachable(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    w->sendto_result = VK_EHOSTUNREACH;
    send_udp(h, "10.0.2.15", 5000, "192.0.2.1", 7, "x");
    expect_icmp_error(h, "10.0.2.2", VK_ICMP_DEST_UNREACH, VK_ICMP_UNREACH_NET, 7);
}

static void test_udp_ttl_one_gets_time_exceeded(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    send_udp_ttl(h, 1, "192.0.2.1", 7);
    assert_int_equal(w->nsent, 0);
    expect_icmp_error(h, "10.0.2.2", VK_ICMP_TIME_EXCEEDED, 0, 7);
    uh_clear(h);
    send_udp_ttl(h, 2, "192.0.2.1", 7);
    assert_int_equal(w->nsent, 1);
    assert_int_equal(w->sent[0].ttl, 1);
}

static void test_udp_sockets_expire_after_240s_and_dns_10s_after_a_reply(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,dns-upstream=127.0.0.1");
    uh_announce(&h);
    fw *w = fw_attach(&h);
    send_udp(&h, "10.0.2.15", 5000, "192.0.2.1", 7, "x");
    send_udp(&h, "10.0.2.15", 5001, "10.0.2.3", 53, "q");
    fw_inject(&h, w->socks[1], wa4("127.0.0.1", 53), VK_OK, "a");
    uint64_t t0 = vk_loop_now(h.loop);
    uh_advance(&h, t0 + 9 * VK_NS_PER_SEC);
    assert_false(w->socks[1]->closed);
    uh_advance(&h, t0 + 11 * VK_NS_PER_SEC);
    assert_true(w->socks[1]->closed); /* SO_EXPIREFAST after the DNS answer */
    assert_false(w->socks[0]->closed);
    uh_advance(&h, t0 + 239 * VK_NS_PER_SEC);
    assert_false(w->socks[0]->closed);
    /* a reply renews it */
    fw_inject(&h, w->socks[0], wa4("192.0.2.1", 7), VK_OK, "r");
    uint64_t t1 = vk_loop_now(h.loop);
    uh_advance(&h, t0 + 241 * VK_NS_PER_SEC);
    assert_false(w->socks[0]->closed);
    uh_advance(&h, t1 + 241 * VK_NS_PER_SEC);
    assert_true(w->socks[0]->closed);
    assert_int_equal(uh_stats(&h)->udp_expired, 2);
    assert_int_equal(uh_stats(&h)->udp_sockets, 0);
    /* a new datagram opens a new socket */
    send_udp(&h, "10.0.2.15", 5000, "192.0.2.1", 7, "x");
    assert_int_equal(w->nsocks, 3);
    uh_close(&h);
}

static void test_udp_socket_cap_is_counted_and_traced(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    for (unsigned i = 0; i < 512; i++)
        send_udp(h, "10.0.2.15", (uint16_t)(10000 + i), "192.0.2.1", 7, "x");
    assert_int_equal(w->nsocks, 512);
    send_udp(h, "10.0.2.15", 20000, "192.0.2.1", 7, "x");
    assert_int_equal(w->nsocks, 512);
    assert_int_equal(uh_stats(h)->udp_sockets_full, 1);
    assert_string_equal(h->dropped.reason, "UDP: NAT socket table full (VK_USER_UDP_SOCKETS_MAX)");
}

static void test_udp_descriptor_exhaustion_is_a_traced_drop(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    w->open_result = VK_EFULL;
    send_udp(h, "10.0.2.15", 5000, "192.0.2.1", 7, "x");
    assert_string_equal(h->dropped.reason, "UDP: no host socket (descriptors exhausted)");
    assert_int_equal(uh_stats(h)->udp_world_errors, 1);
    w->open_result = VK_OK;
    send_udp(h, "10.0.2.15", 5000, "192.0.2.1", 7, "x");
    assert_int_equal(w->nsent, 1);
}

static void test_udp_restrict_on_and_the_none_world_drop_with_reasons(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,restrict=on");
    uh_announce(&h);
    fw *w = fw_attach(&h);
    send_udp(&h, "10.0.2.15", 5000, "192.0.2.1", 7, "x");
    assert_int_equal(w->nsocks, 0);
    assert_string_equal(h.dropped.reason, "user: restrict=on: UDP to the outside");
    uh_close(&h);
    uh_open_ok(&h, "user,id=u");
    uh_announce(&h); /* virtual loop, no world set: none */
    send_udp(&h, "10.0.2.15", 5000, "192.0.2.1", 7, "x");
    assert_int_equal(h.ngot, 0);
    assert_int_equal(uh_stats(&h)->nat_not_implemented, 1);
    uh_close(&h);
}

static void test_ping_outside_answers_with_the_reflection_of_the_request(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    send_echo(h, "192.0.2.7", 0x1234, 3);
    assert_int_equal(w->nsocks, 1);
    assert_true(w->socks[0]->ping);
    assert_int_equal(w->socks[0]->flow.src_port, 0x1234);
    assert_int_equal(w->nsent, 1);
    vk_waddr want = wa4("192.0.2.7", 0);
    assert_true(wa_eq(&w->sent[0].dst, &want));
    assert_int_equal(w->sent[0].data[0], VK_ICMP_ECHO_REQUEST);
    assert_int_equal(w->sent[0].len, 8 + 16);
    /* the kernel's reply carries its own id; the guest sees its own */
    fw_inject(h, w->socks[0], wa4("192.0.2.7", 0), VK_OK, "\0\0\0\0\x99\x99\0\3");
    vk_ipv4_repr ip;
    vk_icmp_repr icmp;
    got_icmp(h, &ip, &icmp);
    assert_int_equal(icmp.type, VK_ICMP_ECHO_REPLY);
    assert_int_equal(icmp.id, 0x1234);
    assert_int_equal(icmp.seq, 3);
    assert_int_equal(icmp.data_len, 16);
    assert_memory_equal(icmp.data, "0123456789abcdef", 16);
    assert_ip4(ip.src, "192.0.2.7");
    assert_ip4(ip.dst, "10.0.2.15");
    assert_int_equal(ip.ttl, 255);
    assert_true(w->socks[0]->closed);
    assert_int_equal(uh_stats(h)->ping_replies, 1);
}

static void test_ping_outside_error_is_icmp_unreachable(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    send_echo(h, "192.0.2.7", 1, 1);
    fw_inject(h, w->socks[0], (vk_waddr){0}, VK_EHOSTUNREACH, NULL);
    vk_ipv4_repr ip;
    vk_icmp_repr icmp;
    got_icmp(h, &ip, &icmp);
    assert_int_equal(icmp.type, VK_ICMP_DEST_UNREACH);
    assert_int_equal(icmp.code, VK_ICMP_UNREACH_HOST);
    assert_ip4(ip.src, "10.0.2.2");
    assert_true(w->socks[0]->closed);
}

static void test_ping_refused_by_the_kernel_is_a_traced_drop_and_unanswered_pings_expire(
    void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    uh_announce(&h);
    fw *w = fw_attach(&h);
    w->open_result = VK_EUNSUPP;
    send_echo(&h, "192.0.2.7", 1, 1);
    assert_string_equal(h.dropped.reason,
                        "ICMP: ping sockets not permitted (net.ipv4.ping_group_range)");
    w->open_result = VK_OK;
    send_echo(&h, "192.0.2.7", 1, 2);
    uh_advance(&h, vk_loop_now(h.loop) + 241 * VK_NS_PER_SEC);
    assert_true(w->socks[0]->closed);
    assert_int_equal(uh_stats(&h)->ping_expired, 1);
    uh_close(&h);
}

static void test_hostfwd_udp_binds_at_start_and_relays_both_ways_without_expiry(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,hostfwd=udp:127.0.0.1:6000-:7000");
    uh_announce(&h);
    fw *w = fw_attach(&h);
    assert_int_equal(w->nsocks, 1);
    assert_true(w->socks[0]->has_bind);
    vk_waddr bind = wa4("127.0.0.1", 6000);
    assert_true(wa_eq(&w->socks[0]->bind, &bind));
    /* the guest makes itself known (else the datagram waits for ARP) */
    uint8_t *arp;
    size_t an = uh_build_arp_request(&arp, UH_GUEST_MAC, "10.0.2.15", "10.0.2.2");
    uh_send(&h, arp, an);
    free(arp);
    fw_inject(&h, w->socks[0], wa4("127.0.0.1", 40000), VK_OK, "in");
    vk_ipv4_repr ip;
    vk_udp_repr udp;
    got_udp(&h, &ip, &udp);
    assert_ip4(ip.src, "10.0.2.2"); /* loopback peer: from the gateway */
    assert_ip4(ip.dst, "10.0.2.15");
    assert_int_equal(udp.src_port, 40000);
    assert_int_equal(udp.dst_port, 7000);
    send_udp(&h, "10.0.2.15", 7000, "10.0.2.2", 40000, "out");
    assert_int_equal(w->nsent, 1);
    assert_ptr_equal(w->sent[0].s, w->socks[0]);
    vk_waddr back = wa4("127.0.0.1", 40000);
    assert_true(wa_eq(&w->sent[0].dst, &back));
    /* a peer with a real address is shown as itself */
    fw_inject(&h, w->socks[0], wa4("192.0.2.44", 41000), VK_OK, "in2");
    got_udp(&h, &ip, &udp);
    assert_ip4(ip.src, "192.0.2.44");
    uh_advance(&h, vk_loop_now(h.loop) + 1000 * VK_NS_PER_SEC);
    assert_false(w->socks[0]->closed);
    uh_close(&h);
}

static void test_udp6_to_the_prefix_goes_to_loopback_and_dns6_to_upstream(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,dns-upstream=[::1]:5353");
    uh_announce(&h);
    uh_announce6(&h, "fec0::15");
    fw *w = fw_attach(&h);
    send_udp6(&h, "fec0::15", 5000, "fec0::2", 7777, "v6");
    assert_int_equal(w->nsent, 1);
    vk_waddr want = wa6("::1", 7777);
    assert_true(wa_eq(&w->sent[0].dst, &want));
    assert_int_equal(w->sent[0].ttl, 63);
    send_udp6(&h, "fec0::15", 5001, "fec0::3", 53, "q6");
    vk_waddr dns = wa6("::1", 5353);
    assert_true(wa_eq(&w->sent[1].dst, &dns));
    fw_inject(&h, w->sent[1].s, wa6("::1", 5353), VK_OK, "a6");
    vk_eth_repr eth;
    vk_ipv6_repr ip;
    assert_true(h.ngot > 0);
    assert_int_equal(vk_eth_parse(h.got[h.ngot - 1]->data, h.got[h.ngot - 1]->len, &eth), VK_OK);
    assert_int_equal(vk_ipv6_parse(eth.payload, eth.payload_len, &ip), VK_OK);
    assert_int_equal(ip.proto, VK_IP_PROTO_UDP);
    char s[VK_IP6_STRLEN];
    assert_string_equal(vk_ip6_format(&ip.src, s), "fec0::3");
    vk_udp_repr udp;
    assert_int_equal(vk_udp_parse(ip.payload, ip.payload_len, &udp), VK_OK);
    assert_int_equal(udp.src_port, 53);
    assert_int_equal(udp.dst_port, 5001);
    assert_true(vk_udp_csum_ok(vk_csum_pseudo6(&ip.src, &ip.dst, VK_IP_PROTO_UDP), ip.payload,
                               ip.payload_len, false));
    uh_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_udp_to_gateway_reaches_host_loopback_and_answers_from_gateway,
            fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_udp_other_addresses_of_the_network_are_not_loopback,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(
            test_udp_one_socket_per_guest_port_and_replies_from_any_remote,
            fx_open, uh_fixture_close),
        cmocka_unit_test(
            test_dns_goes_to_the_resolv_conf_upstream_and_answers_from_the_dns_address),
        cmocka_unit_test(
            test_dns_upstream_key_overrides_the_world_and_keeps_port_53_to_the_guest),
        cmocka_unit_test(test_dns_upstream_key_is_checked),
        cmocka_unit_test(test_dns_address_other_ports_get_icmp_net_unreachable),
        cmocka_unit_test_setup_teardown(test_dns_without_upstream_gets_icmp_net_unreachable,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_udp_error_from_outside_becomes_icmp_port_unreachable,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_udp_send_failure_becomes_icmp_net_unreachable,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_udp_ttl_one_gets_time_exceeded,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test(test_udp_sockets_expire_after_240s_and_dns_10s_after_a_reply),
        cmocka_unit_test_setup_teardown(test_udp_socket_cap_is_counted_and_traced,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_udp_descriptor_exhaustion_is_a_traced_drop,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test(test_udp_restrict_on_and_the_none_world_drop_with_reasons),
        cmocka_unit_test_setup_teardown(
            test_ping_outside_answers_with_the_reflection_of_the_request,
            fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_ping_outside_error_is_icmp_unreachable,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test(
            test_ping_refused_by_the_kernel_is_a_traced_drop_and_unanswered_pings_expire),
        cmocka_unit_test(test_hostfwd_udp_binds_at_start_and_relays_both_ways_without_expiry),
        cmocka_unit_test(test_udp6_to_the_prefix_goes_to_loopback_and_dns6_to_upstream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
