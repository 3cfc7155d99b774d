/*
 * The TCP NAT of -netdev user against a scripted world (fake_world.h) on
 * the virtual clock, with guest segments built by libnet: the handshake
 * libslirp gives (SYN-ACK only after the connect, seq 64001, MSS 1460 only,
 * window 65535), refused / unreachable / silent outcomes, data both ways
 * (segmentation at the MSS, slow start, PSH, immediate and delayed ACKs,
 * short sends and the window), retransmission, FIN and RST both ways,
 * TIME_WAIT, the caps, hostile segments, IPv6, hostfwd and guestfwd.
 */
#include "test_user_harness.h"

#include "backends/user/tcp_conn.h"
#include "fake_world.h"
#include "wire/checksum.h"
#include "wire/icmp.h"
#include "wire/ipv6.h"
#include "wire/tcp.h"

#define MS 1000000ull
#define GUEST "10.0.2.15"
#define GPORT 40000
#define ISN 0x1000u

static uint64_t now_of(uh *h)
{
    return vk_loop_now(h->loop);
}

static void adv(uh *h, uint64_t ns)
{
    uh_advance(h, now_of(h) + ns);
}

/* The guest is known (ARP, NA) before it talks TCP, as after DHCP/SLAAC. */
static fw *open_world_with(uh *h, const char *opts, const uh_setup *how)
{
    vk_diag d = {{0}};
    if (uh_open_with(h, opts, how, &d) != VK_OK)
        fail_msg("%s: %s", opts, d.msg);
    uh_announce(h);
    uh_announce6(h, "fec0::15");
    uh_clear(h);
    fw *w = fw_new(h->loop);
    assert_int_equal(vk_user_set_world(h->user, &w->base), VK_OK);
    return w;
}

static fw *open_world(uh *h, const char *opts)
{
    uh_setup how = {0};
    return open_world_with(h, opts, &how);
}

typedef struct seg {
    const char *dst;
    uint16_t sport, dport;
    uint8_t flags;
    uint32_t seq, ack;
    uint16_t win, urg;
    const void *data;
    size_t len;
    const uint8_t *opts;
    size_t optlen;
} seg;

static void g_send(uh *h, const seg *s)
{
    libnet_t *l = uh_ln();
    if (s->optlen > 0)
        libnet_build_tcp_options(s->opts, (uint32_t)s->optlen, l, 0);
    size_t tl = LIBNET_TCP_H + s->optlen + s->len;
    libnet_build_tcp(s->sport ? s->sport : GPORT, s->dport ? s->dport : 8080, s->seq, s->ack,
                     s->flags, s->win ? s->win : 64240, 0, s->urg, (uint16_t)tl,
                     (const uint8_t *)s->data, (uint32_t)s->len, l, 0);
    libnet_build_ipv4((uint16_t)(LIBNET_IPV4_H + tl), 0, 7, 0x4000, 64, IPPROTO_TCP, 0,
                      uh_ip(GUEST), uh_ip(s->dst ? s->dst : "10.0.2.2"), NULL, 0, l, 0);
    libnet_build_ethernet(UH_GW_MAC, UH_GUEST_MAC, ETHERTYPE_IP, NULL, 0, l, 0);
    uint8_t *f;
    size_t n = uh_ln_finish(l, &f);
    uh_send(h, f, n);
    free(f);
}

static const uint8_t SYN_OPTS[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};

static void g_syn(uh *h, uint16_t sport, uint32_t isn)
{
    seg s = {.sport = sport, .flags = TH_SYN, .seq = isn, .opts = SYN_OPTS,
             .optlen = sizeof SYN_OPTS};
    g_send(h, &s);
}

static void got_tcp(uh *h, size_t i, vk_ipv4_repr *ip, vk_tcp_repr *t)
{
    vk_eth_repr eth;
    uh_got_ip4(h, i, &eth, ip);
    assert_int_equal(ip->proto, VK_IP_PROTO_TCP);
    assert_int_equal(vk_tcp_parse(ip->payload, ip->payload_len, t), VK_OK);
    assert_true(vk_tcp_csum_ok(vk_csum_pseudo4(&ip->src, &ip->dst, VK_IP_PROTO_TCP),
                               ip->payload, ip->payload_len));
}

static vk_tcp_repr last_tcp(uh *h)
{
    assert_true(h->ngot > 0);
    vk_ipv4_repr ip;
    vk_tcp_repr t;
    got_tcp(h, h->ngot - 1, &ip, &t);
    return t;
}

/* Connects GPORT -> 10.0.2.2:8080 (world answers at once); returns the
 * world socket; h->got is cleared.  The guest's window is 64240. */
static fw_sock *establish(uh *h, fw *w, uint16_t sport, uint32_t *iss_out)
{
    size_t before = w->n;
    g_syn(h, sport, ISN);
    adv(h, 1 * MS);
    assert_int_equal(w->n, before + 1);
    vk_tcp_repr t = last_tcp(h);
    assert_int_equal(t.flags, VK_TCP_SYN | VK_TCP_ACK);
    seg a = {.sport = sport, .flags = TH_ACK, .seq = ISN + 1, .ack = t.seq + 1};
    g_send(h, &a);
    if (iss_out)
        *iss_out = t.seq;
    uh_clear(h);
    return w->socks[before];
}

/* The fixture most tests start from (the table names it per test): the
 * stack with a scripted world, and for fx_open_conn a connection
 * GPORT -> 10.0.2.2:8080 established (h->got cleared). */
typedef struct fx {
    uh h; /* first: uh_fixture_close frees the fixture through it */
    fw *w;
    fw_sock *s;
    uint32_t iss;
} fx;

static int fx_open(void **state)
{
    fx *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->w = open_world(&x->h, "user,id=u");
    *state = x;
    return 0;
}

static int fx_open_conn(void **state)
{
    fx_open(state);
    fx *x = *state;
    x->s = establish(&x->h, x->w, GPORT, &x->iss);
    return 0;
}

/* The live clock (a `vnetkit run`): nothing observes the net, and the
 * guest's port takes super-segments whole when `gso`, as a TAP with a vnet
 * header.  Time is real: adv() waits. */
static int fx_live_conn(void **state, bool gso)
{
    fx *x = calloc(1, sizeof *x);
    assert_non_null(x);
    uh_setup how = {.live = true, .untraced = true, .gso_peer = gso};
    x->w = open_world_with(&x->h, "user,id=u", &how);
    x->s = establish(&x->h, x->w, GPORT, &x->iss);
    *state = x;
    return 0;
}

static int fx_open_live_gso(void **state)
{
    return fx_live_conn(state, true);
}

static int fx_open_live_plain(void **state)
{
    return fx_live_conn(state, false);
}

static void test_syn_ack_waits_for_the_connect_and_matches_libslirp(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    w->connect_delay = 10 * MS;
    g_syn(h, GPORT, ISN);
    adv(h, 5 * MS);
    g_syn(h, GPORT, ISN); /* retransmit while connecting: ignored */
    assert_int_equal(h->ngot, 0);
    assert_string_equal(h->dropped.reason, "TCP: the outside connect is still under way");
    assert_int_equal(w->n, 1);
    /* 10.0.2.2 is the host's loopback. */
    assert_int_equal(w->socks[0]->dst.family, 4);
    assert_memory_equal(w->socks[0]->dst.ip4.b, ((uint8_t[]){127, 0, 0, 1}), 4);
    assert_int_equal(w->socks[0]->dst.port, 8080);
    assert_int_equal(w->socks[0]->flow.src_port, GPORT);
    adv(h, 10 * MS);
    assert_int_equal(h->ngot, 1);
    vk_ipv4_repr ip;
    vk_tcp_repr t;
    got_tcp(h, 0, &ip, &t);
    assert_int_equal(t.flags, VK_TCP_SYN | VK_TCP_ACK);
    assert_int_equal(t.seq, 64001);
    assert_int_equal(t.ack, ISN + 1);
    assert_int_equal(t.window, 65535);
    assert_int_equal(t.hdr_len, 24); /* MSS only */
    assert_true(t.has_mss);
    assert_int_equal(t.mss, 1460);
    assert_false(t.has_wscale || t.sack_perm || t.has_ts);
    assert_int_equal(ip.ttl, 64);
    assert_false(ip.df);
    assert_int_equal(ip.tos, 0);
    assert_memory_equal(ip.src.b, ((uint8_t[]){10, 0, 2, 2}), 4);
    assert_int_equal(t.src_port, 8080);
    assert_int_equal(uh_stats(h)->tcp_conns, 1);
}

static void test_isn_grows_per_connection_and_per_slow_tick(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    uint32_t a, b, c;
    establish(h, w, 1001, &a);
    establish(h, w, 1002, &b);
    assert_int_equal(a, 64001);
    assert_int_equal(b, 64001 + 64000);
    adv(h, 1200 * MS); /* two more ticks with connections open */
    establish(h, w, 1003, &c);
    assert_int_equal(c, 64001 + 4 * 64000);
}

static void test_refused_connect_gets_rst_ack_seq_0(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    w->connect_now = VK_ECONNREFUSED; /* at once */
    g_syn(h, GPORT, ISN);
    assert_int_equal(h->ngot, 1);
    vk_ipv4_repr ip;
    vk_tcp_repr t;
    got_tcp(h, 0, &ip, &t);
    assert_int_equal(t.flags, VK_TCP_RST | VK_TCP_ACK);
    assert_int_equal(t.seq, 0);
    assert_int_equal(t.ack, ISN + 1);
    /* libslirp answers from the socket it made: its free space and the
     * default TTL (pcaps/qemu-e1000-tcp-refused.pcap frame 16) */
    assert_int_equal(t.window, 65535);
    assert_int_equal(ip.ttl, 64);
    /* Later: the same reset. */
    w->connect_now = VK_OK;
    w->connect_status = VK_ECONNREFUSED;
    w->connect_delay = 3 * MS;
    g_syn(h, GPORT + 1, ISN);
    assert_int_equal(h->ngot, 1);
    adv(h, 3 * MS);
    assert_int_equal(h->ngot, 2);
    got_tcp(h, 1, &ip, &t);
    assert_int_equal(t.flags, VK_TCP_RST | VK_TCP_ACK);
    assert_int_equal(t.seq, 0);
    assert_int_equal(t.ack, ISN + 1);
    assert_int_equal(uh_stats(h)->tcp_refused, 2);
    assert_int_equal(uh_stats(h)->tcp_conns, 0);
}

static void expect_icmp(uh *h, size_t i, uint8_t code)
{
    vk_eth_repr eth;
    vk_ipv4_repr ip;
    uh_got_ip4(h, i, &eth, &ip);
    assert_int_equal(ip.proto, VK_IP_PROTO_ICMP);
    vk_icmp_repr m;
    assert_int_equal(vk_icmp_parse(ip.payload, ip.payload_len, &m), VK_OK);
    assert_true(m.csum_ok);
    assert_int_equal(m.type, VK_ICMP_DEST_UNREACH);
    assert_int_equal(m.code, code);
    vk_ipv4_repr q;
    assert_int_equal(vk_icmp_quoted(&m, &q), VK_OK);
    assert_int_equal(q.proto, VK_IP_PROTO_TCP);
    assert_memory_equal(q.src.b, ((uint8_t[]){10, 0, 2, 15}), 4);
    assert_memory_equal(ip.dst.b, ((uint8_t[]){10, 0, 2, 15}), 4);
}

static void test_unreachable_at_once_gets_icmp_net_or_host(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    w->connect_now = VK_ENETUNREACH;
    seg s = {.dst = "192.0.2.1", .flags = TH_SYN, .seq = ISN};
    g_send(h, &s);
    w->connect_now = VK_EHOSTUNREACH;
    s.sport = GPORT + 1;
    g_send(h, &s);
    assert_int_equal(h->ngot, 2);
    expect_icmp(h, 0, VK_ICMP_UNREACH_NET);
    expect_icmp(h, 1, VK_ICMP_UNREACH_HOST);
    assert_int_equal(uh_stats(h)->tcp_unreachable, 2);
}

static void test_dns_address_other_port_is_port_unreachable(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    seg s = {.dst = "10.0.2.3", .dport = 80, .flags = TH_SYN, .seq = ISN};
    g_send(h, &s);
    assert_int_equal(w->n, 0);
    assert_int_equal(h->ngot, 1);
    expect_icmp(h, 0, VK_ICMP_UNREACH_PORT);
}

static void test_silent_destination_gets_rst_after_75s(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    w->connect_delay = VK_TIME_NEVER;
    g_syn(h, GPORT, ISN);
    adv(h, 74 * VK_NS_PER_SEC);
    assert_int_equal(h->ngot, 0);
    adv(h, 2 * VK_NS_PER_SEC);
    assert_int_equal(h->ngot, 1);
    vk_tcp_repr t = last_tcp(h);
    assert_int_equal(t.flags, VK_TCP_RST | VK_TCP_ACK);
    assert_int_equal(t.seq, 0);
    assert_int_equal(t.ack, ISN + 1);
    assert_true(w->socks[0]->closed && w->socks[0]->aborted);
    assert_int_equal(uh_stats(h)->tcp_timeouts, 1);
    assert_int_equal(uh_stats(h)->tcp_conns, 0);
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

static void test_host_data_is_segmented_at_mss_with_slow_start_and_psh(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw_sock *s = x->s;
    uint32_t iss = x->iss;
    uint8_t data[4000];
    fill(data, sizeof data, 1);
    fw_push(s, data, sizeof data, now_of(h));
    /* cwnd started at one MSS; the ACK of our SYN opened it to two.  The
     * segments of a connection the guest opened carry 1440 bytes, as
     * libslirp's (pcaps/qemu-e1000-http-1m.pcap), though the SYN-ACK
     * announced 1460. */
    assert_int_equal(h->ngot, 2);
    vk_ipv4_repr ip;
    vk_tcp_repr t;
    for (size_t i = 0; i < 2; i++) {
        got_tcp(h, i, &ip, &t);
        assert_int_equal(t.payload_len, 1440);
        assert_int_equal(t.flags, VK_TCP_ACK);
        assert_int_equal(t.seq, iss + 1 + 1440 * i);
        assert_memory_equal(t.payload, data + 1440 * i, 1440);
    }
    uh_clear(h);
    seg a = {.flags = TH_ACK, .seq = ISN + 1, .ack = iss + 1 + 1440};
    g_send(h, &a);
    assert_int_equal(h->ngot, 1);
    got_tcp(h, 0, &ip, &t);
    assert_int_equal(t.payload_len, 4000 - 2880);
    assert_int_equal(t.flags, VK_TCP_ACK | VK_TCP_PSH);
    assert_memory_equal(t.payload, data + 2880, 4000 - 2880);
}

/* A frame of the stack parsed to TCP, whose checksum field holds what a
 * super-segment carries: the folded pseudo-header sum with the length. */
static void got_super(uh *h, size_t i, vk_tcp_repr *t)
{
    vk_eth_repr eth;
    vk_ipv4_repr ip;
    uh_got_ip4(h, i, &eth, &ip);
    assert_int_equal(vk_tcp_parse(ip.payload, ip.payload_len, t), VK_OK);
    uint32_t pseudo = vk_csum_pseudo4(&ip.src, &ip.dst, VK_IP_PROTO_TCP);
    assert_int_equal(t->csum, (uint16_t)~vk_csum_finish(vk_csum_add_len(pseudo, ip.payload_len)));
    assert_int_equal(h->got[i]->gso_mss, 1440);
}

static void test_live_host_data_leaves_as_super_segments_to_a_port_that_takes_them(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    uint32_t iss = x->iss;
    static uint8_t data[64 * 1024];
    fill(data, sizeof data, 3);
    fw_push(x->s, data, sizeof data, now_of(h));
    adv(h, 1 * MS);
    /* the window of two MSS the ACK of our SYN opened: one frame */
    assert_int_equal(h->ngot, 1);
    vk_tcp_repr t;
    got_super(h, 0, &t);
    assert_int_equal(t.payload_len, 2 * 1440);
    assert_int_equal(t.seq, iss + 1);
    assert_int_equal(t.flags, VK_TCP_ACK);
    assert_memory_equal(t.payload, data, 2 * 1440);
    uh_clear(h);
    /* one ACK for both: slow start counts its 2880 bytes, cwnd 5760 */
    seg a = {.flags = TH_ACK, .seq = ISN + 1, .ack = iss + 1 + 2880};
    g_send(h, &a);
    adv(h, 1 * MS);
    assert_int_equal(h->ngot, 1);
    got_super(h, 0, &t);
    assert_int_equal(t.payload_len, 4 * 1440);
    assert_int_equal(t.seq, iss + 1 + 2880);
    assert_memory_equal(t.payload, data + 2880, 4 * 1440);
}

static void test_live_host_data_to_a_port_without_gso_is_mss_segments(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    uint32_t iss = x->iss;
    uint8_t data[4000];
    fill(data, sizeof data, 5);
    fw_push(x->s, data, sizeof data, now_of(h));
    adv(h, 1 * MS);
    assert_int_equal(h->ngot, 2);
    vk_ipv4_repr ip;
    vk_tcp_repr t;
    for (size_t i = 0; i < 2; i++) {
        got_tcp(h, i, &ip, &t); /* checksums that verify */
        assert_int_equal(h->got[i]->gso_mss, 0);
        assert_int_equal(t.payload_len, 1440);
        assert_int_equal(t.seq, iss + 1 + 1440 * i);
    }
}

static void test_live_guest_segments_of_one_round_reach_the_host_in_one_send(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    uint32_t iss = x->iss;
    uint8_t data[300];
    fill(data, sizeof data, 9);
    for (size_t i = 0; i < 3; i++) {
        seg d = {.flags = TH_ACK, .seq = ISN + 1 + (uint32_t)(100 * i), .ack = iss + 1,
                 .data = data + 100 * i, .len = 100};
        g_send(h, &d); /* one loop round: the three arrive before it ends */
    }
    adv(h, 1 * MS);
    assert_int_equal(x->s->sends, 1);
    assert_int_equal(x->s->out_len, 300);
    assert_memory_equal(x->s->out, data, 300);
    /* and one ACK for the three, at the end of the round */
    assert_int_equal(h->ngot, 1);
    vk_tcp_repr t = last_tcp(h);
    assert_int_equal(t.flags, VK_TCP_ACK);
    assert_int_equal(t.ack, ISN + 1 + 300);
}

static void test_live_syn_ack_scales_the_window_only_when_the_guest_offers_it(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    g_syn(h, GPORT + 1, ISN); /* SYN_OPTS offer shift 7 */
    adv(h, 1 * MS);
    vk_tcp_repr t = last_tcp(h);
    assert_int_equal(t.flags, VK_TCP_SYN | VK_TCP_ACK);
    assert_true(t.has_wscale);
    assert_int_equal(t.wscale, VK_USER_TCP_LIVE_WSCALE);
    assert_int_equal(t.window, 65535); /* a SYN's window is never scaled */
    uint32_t iss = t.seq;
    uh_clear(h);
    /* established, the window field is the 1 MiB buffer shifted by 5 */
    seg a = {.sport = GPORT + 1, .flags = TH_ACK, .seq = ISN + 1, .ack = iss + 1};
    g_send(h, &a);
    seg d = {.sport = GPORT + 1, .flags = TH_ACK | TH_PUSH, .seq = ISN + 1, .ack = iss + 1,
             .data = "ping", .len = 4};
    g_send(h, &d);
    adv(h, 1 * MS);
    t = last_tcp(h);
    assert_int_equal(t.ack, ISN + 1 + 4);
    assert_int_equal(t.window, VK_USER_TCP_LIVE_BUF_BYTES >> VK_USER_TCP_LIVE_WSCALE);
    uh_clear(h);
    static const uint8_t mss_only[] = {2, 4, 0x05, 0xb4};
    seg s = {.sport = GPORT + 2, .flags = TH_SYN, .seq = ISN, .opts = mss_only,
             .optlen = sizeof mss_only};
    g_send(h, &s);
    adv(h, 1 * MS);
    t = last_tcp(h);
    assert_int_equal(t.flags, VK_TCP_SYN | VK_TCP_ACK);
    assert_false(t.has_wscale);
}

static void test_guest_mss_caps_ours(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    uint8_t opts[] = {2, 4, 0x02, 0x18}; /* 536 */
    seg s = {.flags = TH_SYN, .seq = ISN, .opts = opts, .optlen = 4};
    g_send(h, &s);
    adv(h, 1 * MS);
    vk_tcp_repr t = last_tcp(h);
    assert_int_equal(t.mss, 1460); /* we offer ours, unchanged */
    seg a = {.flags = TH_ACK, .seq = ISN + 1, .ack = t.seq + 1};
    g_send(h, &a);
    uh_clear(h);
    uint8_t data[600] = {0};
    fw_push(w->socks[0], data, sizeof data, now_of(h));
    assert_int_equal(h->ngot, 2);
    vk_ipv4_repr ip;
    got_tcp(h, 0, &ip, &t);
    assert_int_equal(t.payload_len, 536);
}

static void test_in_order_guest_data_is_acked_at_once_and_reaches_the_world(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw_sock *s = x->s;
    uint32_t iss = x->iss;
    seg d = {.flags = TH_ACK | TH_PUSH, .seq = ISN + 1, .ack = iss + 1, .data = "GET / HTTP/1.0\r\n",
             .len = 16};
    g_send(h, &d);
    assert_int_equal(h->ngot, 1);
    vk_tcp_repr t = last_tcp(h);
    assert_int_equal(t.flags, VK_TCP_ACK);
    assert_int_equal(t.ack, ISN + 1 + 16);
    assert_int_equal(s->out_len, 16);
    assert_memory_equal(s->out, "GET / HTTP/1.0\r\n", 16);
}

static void test_guest_data_off_the_fast_path_is_acked_after_2ms(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw_sock *s = x->s;
    uint32_t iss = x->iss;
    /* A changed window takes libslirp off header prediction: delayed ACK. */
    seg d = {.flags = TH_ACK, .seq = ISN + 1, .ack = iss + 1, .win = 30000, .data = "abcd",
             .len = 4};
    g_send(h, &d);
    assert_int_equal(s->out_len, 4);
    assert_int_equal(h->ngot, 0);
    adv(h, 1 * MS);
    assert_int_equal(h->ngot, 0);
    adv(h, 1 * MS);
    assert_int_equal(h->ngot, 1);
    assert_int_equal(last_tcp(h).ack, ISN + 1 + 4);
}

static void test_out_of_order_data_is_acked_at_once_and_held_until_the_gap_fills(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw_sock *s = x->s;
    uint32_t iss = x->iss;
    seg later = {.flags = TH_ACK, .seq = ISN + 1 + 4, .ack = iss + 1, .data = "efgh", .len = 4};
    g_send(h, &later);
    assert_int_equal(h->ngot, 1);
    assert_int_equal(last_tcp(h).ack, ISN + 1); /* duplicate ACK at once */
    assert_int_equal(s->out_len, 0);
    /* Overlapping the held segment: only the new bytes count. */
    seg first = {.flags = TH_ACK, .seq = ISN + 1, .ack = iss + 1, .data = "abcdEF", .len = 6};
    g_send(h, &first);
    assert_int_equal(s->out_len, 8);
    assert_memory_equal(s->out, "abcdEFgh", 8);
    assert_int_equal(last_tcp(h).ack, ISN + 1 + 8);
    /* A duplicate gets an ACK and changes nothing. */
    g_send(h, &first);
    assert_int_equal(s->out_len, 8);
    assert_int_equal(last_tcp(h).ack, ISN + 1 + 8);
}

static void test_unacked_data_is_retransmitted_on_libslirps_rto(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw_sock *s = x->s;
    uint32_t iss = x->iss;
    fw_push(s, "hello", 5, now_of(h));
    assert_int_equal(h->ngot, 1);
    /* One RTT sample of one tick: srtt 1, rttvar 0.5 -> RTO 3 ticks (1.5 s). */
    adv(h, 1499 * MS);
    assert_int_equal(h->ngot, 1);
    adv(h, 1 * MS);
    assert_int_equal(h->ngot, 2);
    vk_tcp_repr t = last_tcp(h);
    assert_int_equal(t.seq, iss + 1);
    assert_int_equal(t.payload_len, 5);
    /* Backed off: twice as long. */
    adv(h, 2999 * MS);
    assert_int_equal(h->ngot, 2);
    adv(h, 1 * MS);
    assert_int_equal(h->ngot, 3);
    assert_int_equal(uh_stats(h)->tcp_retransmits, 2);
    /* The ACK stops it. */
    seg a = {.flags = TH_ACK, .seq = ISN + 1, .ack = iss + 6};
    g_send(h, &a);
    adv(h, 60 * VK_NS_PER_SEC);
    assert_int_equal(h->ngot, 3);
}

static void test_retransmits_give_up_with_a_reset(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw_sock *s = x->s;
    fw_push(s, "x", 1, now_of(h));
    adv(h, 300 * VK_NS_PER_SEC);
    vk_tcp_repr t = last_tcp(h);
    assert_int_equal(t.flags, VK_TCP_RST | VK_TCP_ACK);
    assert_int_equal(uh_stats(h)->tcp_retransmits, 12);
    assert_int_equal(uh_stats(h)->tcp_timeouts, 1);
    assert_true(s->closed && s->aborted);
    assert_int_equal(uh_stats(h)->tcp_conns, 0);
}

static void test_fin_both_ways_then_time_wait_10s(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw_sock *s = x->s;
    uint32_t iss = x->iss;
    seg fin = {.flags = TH_ACK | TH_FIN, .seq = ISN + 1, .ack = iss + 1};
    g_send(h, &fin);
    assert_true(s->shut);
    assert_int_equal(last_tcp(h).ack, ISN + 2);
    uh_clear(h);
    fw_push(s, "bye", 3, now_of(h));
    fw_eof(s, now_of(h));
    /* Data, then the FIN on its own segment (as the capture shows). */
    assert_int_equal(h->ngot, 2);
    vk_ipv4_repr ip;
    vk_tcp_repr t;
    got_tcp(h, 0, &ip, &t);
    assert_int_equal(t.flags, VK_TCP_ACK | VK_TCP_PSH);
    got_tcp(h, 1, &ip, &t);
    assert_int_equal(t.flags, VK_TCP_ACK | VK_TCP_FIN);
    assert_int_equal(t.seq, iss + 4);
    seg ack = {.flags = TH_ACK, .seq = ISN + 2, .ack = iss + 5};
    g_send(h, &ack);
    /* LAST_ACK done: the connection is gone at once (we closed last). */
    assert_int_equal(uh_stats(h)->tcp_conns, 0);
    assert_true(s->closed);
}

static void test_world_closing_first_leads_to_time_wait_of_10s(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw_sock *s = x->s;
    uint32_t iss = x->iss;
    fw_eof(s, now_of(h));
    vk_tcp_repr t = last_tcp(h);
    assert_int_equal(t.flags, VK_TCP_ACK | VK_TCP_FIN);
    seg finack = {.flags = TH_ACK | TH_FIN, .seq = ISN + 1, .ack = iss + 2};
    g_send(h, &finack);
    assert_int_equal(last_tcp(h).ack, ISN + 2);
    assert_true(s->closed);
    assert_int_equal(uh_stats(h)->tcp_conns, 1);
    adv(h, 9 * VK_NS_PER_SEC);
    assert_int_equal(uh_stats(h)->tcp_conns, 1);
    /* A retransmitted FIN in TIME_WAIT is ACKed again. */
    size_t n = h->ngot;
    g_send(h, &finack);
    assert_int_equal(h->ngot, n + 1);
    adv(h, 11 * VK_NS_PER_SEC);
    assert_int_equal(uh_stats(h)->tcp_conns, 0);
}

static void test_a_new_syn_replaces_a_connection_in_time_wait(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    fw_sock *s = x->s;
    uint32_t iss = x->iss;
    fw_eof(s, now_of(h));
    seg finack = {.flags = TH_ACK | TH_FIN, .seq = ISN + 1, .ack = iss + 2};
    g_send(h, &finack);
    assert_int_equal(uh_stats(h)->tcp_conns, 1); /* TIME_WAIT */
    uh_clear(h);
    g_syn(h, GPORT, ISN + 100000);
    adv(h, 1 * MS);
    assert_int_equal(w->n, 2);
    vk_tcp_repr t = last_tcp(h);
    assert_int_equal(t.flags, VK_TCP_SYN | VK_TCP_ACK);
    assert_int_equal(t.ack, ISN + 100001);
    assert_int_equal(uh_stats(h)->tcp_conns, 1);
}

static void test_guest_rst_aborts_the_world_socket_and_out_of_window_rst_is_ignored(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw_sock *s = x->s;
    for (uint32_t i = 0; i < 100; i++) { /* an RST storm with wrong sequence numbers */
        seg r = {.flags = TH_RST, .seq = ISN + 1 + 70000 + i * 1000};
        g_send(h, &r);
    }
    assert_false(s->closed);
    assert_string_equal(h->dropped.reason, "TCP: reset outside the window");
    seg r = {.flags = TH_RST, .seq = ISN + 1};
    g_send(h, &r);
    assert_true(s->closed && s->aborted);
    assert_int_equal(uh_stats(h)->tcp_conns, 0);
    assert_int_equal(uh_stats(h)->tcp_guest_resets, 1);
}

static void test_world_reset_resets_the_guest(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw_sock *s = x->s;
    uint32_t iss = x->iss;
    fw_reset(s, now_of(h));
    vk_tcp_repr t = last_tcp(h);
    assert_int_equal(t.flags, VK_TCP_RST | VK_TCP_ACK);
    assert_int_equal(t.seq, iss + 1);
    assert_int_equal(t.ack, ISN + 1);
    assert_true(s->closed);
    assert_int_equal(uh_stats(h)->tcp_conns, 0);
}

/* A guest segment with an explicit window (0 allowed). */
static void g_send_win(uh *h, uint32_t seq, uint32_t ack, uint16_t win, const void *data,
                       size_t len)
{
    libnet_t *l = uh_ln();
    libnet_build_tcp(GPORT, 8080, seq, ack, TH_ACK, win, 0, 0, (uint16_t)(LIBNET_TCP_H + len),
                     (const uint8_t *)data, (uint32_t)len, l, 0);
    libnet_build_ipv4((uint16_t)(LIBNET_IPV4_H + LIBNET_TCP_H + len), 0, 7, 0, 64, IPPROTO_TCP,
                      0, uh_ip(GUEST), uh_ip("10.0.2.2"), NULL, 0, l, 0);
    libnet_build_ethernet(UH_GW_MAC, UH_GUEST_MAC, ETHERTYPE_IP, NULL, 0, l, 0);
    uint8_t *f;
    size_t n = uh_ln_finish(l, &f);
    uh_send(h, f, n);
    free(f);
}

static void test_a_slow_world_closes_the_window_and_writable_reopens_it(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw_sock *s = x->s;
    uint32_t iss = x->iss;
    s->room = 100; /* the peer reads 100 bytes, then nothing */
    static uint8_t data[1400];
    fill(data, sizeof data, 3);
    uint32_t seq = ISN + 1, edge = ISN + 1 + 65535;
    size_t sent = 0;
    while (seq + sizeof data <= edge && sent < 200) {
        g_send_win(h, seq, iss + 1, 64240, data, sizeof data);
        vk_tcp_repr t = last_tcp(h);
        assert_int_equal(t.ack, seq + sizeof data);
        seq += sizeof data;
        edge = t.ack + t.window;
        sent++;
    }
    /* Held: everything past the first 100 bytes, bounded by 128 KiB. */
    size_t held = sent * sizeof data - 100;
    assert_true(held <= VK_USER_TCP_BUF_BYTES);
    assert_true(held > VK_USER_TCP_BUF_BYTES - 2 * sizeof data);
    assert_int_equal(s->out_len, 100);
    assert_true(edge - seq < sizeof data);
    uh_clear(h);
    fw_make_room(s, SIZE_MAX, now_of(h));
    assert_int_equal(s->out_len, sent * sizeof data);
    assert_memory_equal(s->out + (sent - 1) * sizeof data, data, sizeof data);
    /* The window update. */
    assert_int_equal(h->ngot, 1);
    assert_int_equal(last_tcp(h).window, 65535);
}

static void test_zero_window_guest_gets_persist_probes(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw_sock *s = x->s;
    uint32_t iss = x->iss;
    fw_push(s, "abcd", 4, now_of(h));
    g_send_win(h, ISN + 1, iss + 5, 0, NULL, 0); /* ACKed, and the window closes */
    uh_clear(h);
    fw_push(s, "data", 4, now_of(h));
    assert_int_equal(h->ngot, 0); /* nothing into a zero window */
    adv(h, 5 * VK_NS_PER_SEC + 1 * MS);
    assert_int_equal(h->ngot, 1); /* a one-byte probe after TCPTV_PERSMIN */
    vk_tcp_repr t = last_tcp(h);
    assert_int_equal(t.payload_len, 1);
    assert_int_equal(t.seq, iss + 5);
    /* The guest keeps its window shut for minutes: probes, never a reset. */
    adv(h, 300 * VK_NS_PER_SEC);
    size_t probes = h->ngot;
    assert_true(probes >= 5);
    for (size_t i = 0; i < probes; i++) {
        vk_ipv4_repr ip;
        got_tcp(h, i, &ip, &t);
        assert_int_equal(t.flags & VK_TCP_RST, 0);
        assert_int_equal(t.seq, iss + 5);
        assert_int_equal(t.payload_len, 1);
    }
    assert_int_equal(uh_stats(h)->tcp_conns, 1);
    /* The window opens: the rest goes. */
    g_send_win(h, ISN + 1, iss + 6, 1000, NULL, 0);
    t = last_tcp(h);
    assert_int_equal(t.seq, iss + 6);
    assert_int_equal(t.payload_len, 3);
}

static void test_segments_beyond_the_window_are_dropped_with_an_ack(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw_sock *s = x->s;
    uint32_t iss = x->iss;
    seg far = {.flags = TH_ACK, .seq = ISN + 1 + 70000, .ack = iss + 1, .data = "zz", .len = 2};
    g_send(h, &far);
    assert_int_equal(s->out_len, 0);
    assert_int_equal(h->ngot, 1);
    assert_int_equal(last_tcp(h).ack, ISN + 1);
    assert_string_equal(h->dropped.reason, "TCP: segment beyond the window");
    /* An ACK for data never sent gets an ACK back. */
    seg bad = {.flags = TH_ACK, .seq = ISN + 1, .ack = iss + 5000};
    g_send(h, &bad);
    assert_string_equal(h->dropped.reason, "TCP: ACK for data never sent");
    assert_int_equal(h->ngot, 2);
}

static void test_urgent_data_is_delivered_inline(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw_sock *s = x->s;
    uint32_t iss = x->iss;
    seg u = {.flags = TH_ACK | TH_URG, .seq = ISN + 1, .ack = iss + 1, .urg = 2, .data = "!!ok",
             .len = 4};
    g_send(h, &u);
    assert_int_equal(s->out_len, 4);
    assert_memory_equal(s->out, "!!ok", 4);
}

static void test_bogus_options_end_the_option_walk_but_not_the_syn(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    uint8_t opts[] = {2, 4, 0x02, 0x18, 3, 0, 1, 1}; /* MSS 536, then a zero-length option */
    seg s = {.flags = TH_SYN, .seq = ISN, .opts = opts, .optlen = sizeof opts};
    g_send(h, &s);
    adv(h, 1 * MS);
    vk_tcp_repr t = last_tcp(h);
    assert_int_equal(t.flags, VK_TCP_SYN | VK_TCP_ACK);
    seg a = {.flags = TH_ACK, .seq = ISN + 1, .ack = t.seq + 1};
    g_send(h, &a);
    uh_clear(h);
    uint8_t data[600] = {0};
    fw_push(w->socks[0], data, sizeof data, now_of(h));
    vk_ipv4_repr ip;
    got_tcp(h, 0, &ip, &t);
    assert_int_equal(t.payload_len, 536);
}

static void test_segments_for_no_connection_get_resets(void **state)
{
    (void)state;
    uh h;
    open_world(&h, "user,id=u");
    seg a = {.flags = TH_ACK, .seq = 5, .ack = 777};
    g_send(&h, &a);
    vk_tcp_repr t = last_tcp(&h);
    assert_int_equal(t.flags, VK_TCP_RST);
    assert_int_equal(t.seq, 777);
    seg r = {.flags = TH_RST, .seq = 5};
    g_send(&h, &r);
    assert_int_equal(h.ngot, 1);
    assert_string_equal(h.dropped.reason, "TCP: reset for no connection");
    uh_close(&h);
}

static void test_syn_flood_past_the_cap_is_reset_not_stored(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    w->connect_delay = VK_TIME_NEVER;
    for (unsigned i = 0; i < VK_USER_TCP_CONNS_MAX + 10; i++) {
        seg s = {.dst = (i & 1) ? "192.0.2.7" : "192.0.2.8", .sport = (uint16_t)(1024 + i / 2),
                 .flags = TH_SYN, .seq = i};
        g_send(h, &s);
        if (h->ngot > 64)
            uh_clear(h);
    }
    assert_int_equal(uh_stats(h)->tcp_conns, VK_USER_TCP_CONNS_MAX);
    assert_int_equal(uh_stats(h)->tcp_conns_full, 10);
    assert_string_equal(h->dropped.reason, "TCP: connection table full (VK_USER_TCP_CONNS_MAX)");
    vk_tcp_repr t = last_tcp(h);
    assert_int_equal(t.flags, VK_TCP_RST | VK_TCP_ACK);
}

static void test_out_of_order_queue_is_capped(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw_sock *s = x->s;
    uint32_t iss = x->iss;
    for (uint32_t i = 0; i < VK_USER_TCP_OOO_MAX + 5; i++) {
        seg o = {.flags = TH_ACK, .seq = ISN + 1 + 10 + i * 10, .ack = iss + 1, .data = "x",
                 .len = 1};
        g_send(h, &o);
    }
    assert_int_equal(uh_stats(h)->tcp_ooo_full, 5);
    assert_string_equal(h->dropped.reason, "TCP: out-of-order queue full (VK_USER_TCP_OOO_MAX)");
    assert_int_equal(s->out_len, 0);
}

/* ---- a hostile guest, a hostile host peer ---- */

/* Overlapping segments, in order and out of it: every byte reaches the
 * world once, in order (the overlap is trimmed, not written twice). */
static void test_overlapping_guest_segments_reach_the_world_once(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    static const struct {
        uint32_t off;
        const char *data;
    } segs[] = {
        {0, "abcdef"}, {3, "defghi"},   /* overlaps what was taken */
        {12, "mnop"},                   /* early: queued */
        {6, "ghijklmn"},                /* overlaps both sides of the gap */
        {14, "opq"}, {0, "abc"},        /* overlaps the end; an old one */
    };
    for (size_t i = 0; i < sizeof segs / sizeof segs[0]; i++) {
        seg d = {.flags = TH_ACK, .seq = ISN + 1 + segs[i].off, .ack = x->iss + 1,
                 .data = segs[i].data, .len = strlen(segs[i].data)};
        g_send(h, &d);
    }
    assert_int_equal(x->s->out_len, 17);
    assert_memory_equal(x->s->out, "abcdefghijklmnopq", 17);
    assert_int_equal(last_tcp(h).ack, ISN + 1 + 17);
    assert_int_equal(uh_stats(h)->tcp_conns, 1);
}

/* Options cut short, looping or absurd: the walk stops at the header's end
 * and at a malformed option, the SYN is still answered, and the segment
 * size is what libslirp's tcp_mss would make of it (0: no offer; 1: 32). */
static void test_truncated_and_absurd_options_never_read_past_the_header(void **state)
{
    (void)state;
    static const struct {
        uint8_t opts[8];
        size_t len;
        size_t seg;
    } cases[] = {
        {{1, 1, 2, 4}, 4, 1440},                /* MSS cut by the header's end */
        {{2, 0xff, 0x02, 0x18}, 4, 1440},       /* length past the end */
        {{2, 1, 0x02, 0x18}, 4, 1440},          /* length 1 */
        {{8, 10, 0, 0, 0, 0, 0, 0}, 8, 1440},   /* timestamps cut */
        {{2, 4, 0, 0}, 4, 1440},                /* MSS 0: no offer */
        {{2, 4, 0, 1}, 4, 32},                  /* MSS 1: tcp_mss's floor */
        {{2, 4, 0x02, 0x18, 0, 2, 4, 1}, 8, 536}, /* EOL, then garbage */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uh h;
        fw *w = open_world(&h, "user,id=u");
        seg s = {.flags = TH_SYN, .seq = ISN, .opts = cases[i].opts, .optlen = cases[i].len};
        g_send(&h, &s);
        adv(&h, 1 * MS);
        vk_tcp_repr t = last_tcp(&h);
        assert_int_equal(t.flags, VK_TCP_SYN | VK_TCP_ACK);
        assert_int_equal(t.mss, 1460);
        seg a = {.flags = TH_ACK, .seq = ISN + 1, .ack = t.seq + 1};
        g_send(&h, &a);
        uh_clear(&h);
        static uint8_t data[1500];
        fw_push(w->socks[0], data, sizeof data, now_of(&h));
        vk_ipv4_repr ip;
        got_tcp(&h, 0, &ip, &t);
        assert_int_equal(t.payload_len, cases[i].seg);
        uh_close(&h);
    }
}

/* Resets for no connection, whatever their numbers: never answered (a
 * reset gets nothing), each a traced drop. */
static void test_rst_storm_for_no_connection_is_never_answered(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    for (uint32_t i = 0; i < 1000; i++) {
        seg r = {.sport = (uint16_t)(1024 + i), .dport = (uint16_t)(80 + i % 7),
                 .flags = (uint8_t)(TH_RST | ((i & 1) ? TH_ACK : 0)), .seq = i * 7919u,
                 .ack = i};
        g_send(h, &r);
    }
    assert_int_equal(h->ngot, 0);
    assert_int_equal(h->dropped.n, 1000);
    assert_string_equal(h->dropped.reason, "TCP: reset for no connection");
    assert_int_equal(x->w->n, 0);
}

/* A half-open connection: the guest never ACKs our SYN-ACK.  It is
 * retransmitted, then given up after libslirp's 75 s (TCPTV_KEEP_INIT) with
 * a reset, the world socket closed; nothing stays behind. */
static void test_half_open_connection_is_given_up_after_75s(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    g_syn(h, GPORT, ISN);
    adv(h, 1 * MS);
    assert_int_equal(last_tcp(h).flags, VK_TCP_SYN | VK_TCP_ACK);
    uh_clear(h);
    adv(h, 70 * VK_NS_PER_SEC);
    assert_true(h->ngot >= 2); /* SYN-ACK retransmissions */
    for (size_t i = 0; i < h->ngot; i++) {
        vk_ipv4_repr ip;
        vk_tcp_repr t;
        got_tcp(h, i, &ip, &t);
        assert_int_equal(t.flags, VK_TCP_SYN | VK_TCP_ACK);
    }
    assert_int_equal(uh_stats(h)->tcp_conns, 1);
    uh_clear(h);
    adv(h, 6 * VK_NS_PER_SEC);
    assert_int_equal(uh_stats(h)->tcp_conns, 0);
    assert_true(x->w->socks[0]->closed);
    assert_int_equal(h->ngot, 1);
    assert_true(last_tcp(h).flags & VK_TCP_RST);
}

/* A TCP segment inside IPv4 fragments: reassembled first, then taken like
 * any other (the SYN cut inside its header, data in three pieces out of
 * order). */
static void g_send_fragments(uh *h, uint16_t id, const seg *s, const size_t *cuts, size_t ncuts)
{
    uint8_t l4[256];
    size_t n;
    vk_tcp_repr t = {.src_port = GPORT, .dst_port = 8080, .seq = s->seq, .ack = s->ack,
                     .flags = s->flags, .window = 64240, .payload = s->data,
                     .payload_len = s->len};
    vk_ip4 g, d;
    assert_int_equal(vk_ip4_parse(GUEST, &g), VK_OK);
    assert_int_equal(vk_ip4_parse("10.0.2.2", &d), VK_OK);
    assert_int_equal(vk_tcp_emit(&t, vk_csum_pseudo4(&g, &d, VK_IP_PROTO_TCP), l4, sizeof l4, &n),
                     VK_OK);
    for (size_t i = 0; i < ncuts; i++) { /* cuts[]: fragment starts, sent in that order */
        size_t off = cuts[i], end = n;
        for (size_t k = 0; k < ncuts; k++)
            if (cuts[k] > off && cuts[k] < end)
                end = cuts[k];
        uint8_t *f;
        uint16_t field = (uint16_t)((off / 8) | (end < n ? 0x2000 : 0));
        size_t fl = uh_build_ip4(&f, GUEST, "10.0.2.2", IPPROTO_TCP, id, field, l4 + off,
                                 end - off);
        uh_send(h, f, fl);
        free(f);
    }
}

static void test_tcp_inside_ip_fragments_is_reassembled_first(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    seg syn = {.flags = TH_SYN, .seq = ISN};
    g_send_fragments(h, 100, &syn, (const size_t[]){0, 8}, 2);
    adv(h, 1 * MS);
    vk_tcp_repr t = last_tcp(h);
    assert_int_equal(t.flags, VK_TCP_SYN | VK_TCP_ACK);
    assert_int_equal(t.ack, ISN + 1);
    seg a = {.flags = TH_ACK, .seq = ISN + 1, .ack = t.seq + 1};
    g_send(h, &a);
    static const char text[] = "fragmented data, forty bytes long.......";
    seg d = {.flags = TH_ACK | TH_PUSH, .seq = ISN + 1, .ack = t.seq + 1, .data = text,
             .len = 40};
    g_send_fragments(h, 101, &d, (const size_t[]){40, 0, 24}, 3);
    assert_int_equal(x->w->socks[0]->out_len, 40);
    assert_memory_equal(x->w->socks[0]->out, text, 40);
    assert_int_equal(uh_stats(h)->frag_reassembled, 2);
}

/* The host peer closes early, before the guest said anything: the guest
 * gets our FIN; its data after that cannot be delivered (send() fails: the
 * peer is gone) and it gets a reset, the world socket aborted. */
static void test_host_closing_early_then_guest_data_gets_a_reset(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw_eof(x->s, now_of(h));
    vk_tcp_repr t = last_tcp(h);
    assert_int_equal(t.flags, VK_TCP_ACK | VK_TCP_FIN);
    x->s->send_error = VK_ECONNRESET;
    uh_clear(h);
    seg d = {.flags = TH_ACK, .seq = ISN + 1, .ack = x->iss + 2, .data = "late", .len = 4};
    g_send(h, &d);
    assert_int_equal(h->ngot, 1);
    t = last_tcp(h);
    assert_true(t.flags & VK_TCP_RST);
    assert_true(x->s->closed && x->s->aborted);
    assert_int_equal(uh_stats(h)->tcp_conns, 0);
}

/* The host peer resets with data still unacknowledged by the guest: the
 * guest gets a reset at once, the held bytes are freed (ASan), and later
 * segments of the guest get resets for no connection. */
static void test_host_reset_with_data_in_flight_resets_the_guest(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    static uint8_t data[8000];
    fill(data, sizeof data, 5);
    fw_push(x->s, data, sizeof data, now_of(h));
    assert_true(h->ngot >= 1);
    uh_clear(h);
    fw_reset(x->s, now_of(h));
    vk_tcp_repr t = last_tcp(h);
    assert_int_equal(t.flags & VK_TCP_RST, VK_TCP_RST);
    assert_int_equal(uh_stats(h)->tcp_conns, 0);
    seg a = {.flags = TH_ACK, .seq = ISN + 1, .ack = x->iss + 1 + 1440};
    g_send(h, &a);
    assert_int_equal(last_tcp(h).flags, VK_TCP_RST);
}

/* A host peer that never reads: the guest's window closes at libslirp's
 * 128 KiB buffer and stays shut; what the guest pushes past it is dropped
 * with an ACK, never stored. */
static void test_host_that_never_reads_bounds_what_the_guest_can_store(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    x->s->room = 0;
    static uint8_t data[1400];
    fill(data, sizeof data, 9);
    uint32_t seq = ISN + 1;
    for (int i = 0; i < 200; i++) { /* 280 KB, ignoring the window */
        seg d = {.flags = TH_ACK, .seq = seq, .ack = x->iss + 1, .data = data,
                 .len = sizeof data};
        g_send(h, &d);
        vk_tcp_repr t = last_tcp(h);
        if (t.ack == seq + sizeof data)
            seq += sizeof data;
        if (h->ngot > 64)
            uh_clear(h);
    }
    assert_true(seq - (ISN + 1) <= VK_USER_TCP_BUF_BYTES);
    assert_true(seq - (ISN + 1) > VK_USER_TCP_BUF_BYTES - 2 * sizeof data);
    assert_int_equal(last_tcp(h).window, 0);
    assert_string_equal(h->dropped.reason, "TCP: data into a zero window");
    assert_int_equal(x->s->out_len, 0);
    assert_int_equal(uh_stats(h)->tcp_conns, 1);
}

static void test_restrict_resets_syn_unless_to_a_guestfwd(void **state)
{
    (void)state;
    uh h;
    fw *w = open_world(&h, "user,id=u,restrict=on,guestfwd=tcp:10.0.2.100:80-cmd:cat");
    g_syn(&h, GPORT, ISN);
    assert_int_equal(last_tcp(&h).flags, VK_TCP_RST | VK_TCP_ACK);
    assert_int_equal(w->n, 0);
    uh_clear(&h);
    seg s = {.dst = "10.0.2.100", .dport = 80, .flags = TH_SYN, .seq = ISN};
    g_send(&h, &s);
    /* guestfwd: the SYN-ACK comes at once, the bytes go to the stream. */
    assert_int_equal(h.ngot, 1);
    vk_tcp_repr t = last_tcp(&h);
    assert_int_equal(t.flags, VK_TCP_SYN | VK_TCP_ACK);
    assert_int_equal(w->n, 1);
    assert_string_equal(w->socks[0]->target, "cmd:cat");
    seg d = {.dst = "10.0.2.100", .dport = 80, .flags = TH_ACK, .seq = ISN + 1, .ack = t.seq + 1,
             .data = "ping", .len = 4};
    g_send(&h, &d);
    assert_int_equal(w->socks[0]->out_len, 4);
    fw_push(w->socks[0], "pong", 4, now_of(&h));
    t = last_tcp(&h);
    assert_int_equal(t.payload_len, 4);
    assert_int_equal(t.src_port, 80);
    uh_close(&h);
}

/* libslirp answers a guestfwd SYN in the same tcp_input: the ISN counter's
 * value before any tick (1), and the SYN's MSS option applied (tcp_mss:
 * 1460 capped by it), where a NAT connection sends 1440-byte segments
 * (pcaps/qemu-e1000-guestfwd-cmd.pcap frame 16). */
static void test_guestfwd_answers_at_once_with_isn_1_and_the_syns_mss(void **state)
{
    (void)state;
    static const struct {
        uint16_t guest_mss;
        size_t seg;
    } cases[] = {{1460, 1460}, {1000, 1000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uh h;
        fw *w = open_world(&h, "user,id=u,guestfwd=tcp:10.0.2.100:7000-cmd:tr a-z A-Z");
        uint8_t opts[4] = {2, 4, (uint8_t)(cases[i].guest_mss >> 8),
                           (uint8_t)cases[i].guest_mss};
        seg s = {.dst = "10.0.2.100", .dport = 7000, .flags = TH_SYN, .seq = ISN,
                 .opts = opts, .optlen = sizeof opts};
        g_send(&h, &s);
        assert_int_equal(h.ngot, 1);
        vk_tcp_repr t = last_tcp(&h);
        assert_int_equal(t.flags, VK_TCP_SYN | VK_TCP_ACK);
        assert_int_equal(t.seq, 1);
        assert_int_equal(t.mss, 1460);
        assert_int_equal(w->n, 1);
        assert_int_equal(w->socks[0]->flow.dst_port, 7000);
        assert_memory_equal(w->socks[0]->flow.dst4.b, ((uint8_t[]){10, 0, 2, 100}), 4);
        seg a = {.dst = "10.0.2.100", .dport = 7000, .flags = TH_ACK, .seq = ISN + 1,
                 .ack = 2};
        g_send(&h, &a);
        uh_clear(&h);
        static uint8_t big[4000];
        fw_push(w->socks[0], big, sizeof big, now_of(&h));
        assert_true(h.ngot >= 1);
        vk_ipv4_repr ip;
        got_tcp(&h, 0, &ip, &t);
        assert_int_equal(t.payload_len, cases[i].seg);
        uh_close(&h);
    }
}

static void test_hostfwd_accept_becomes_a_syn_from_the_gateway(void **state)
{
    (void)state;
    uh h;
    fw *w = open_world(&h, "user,id=u,hostfwd=tcp:127.0.0.1:2222-10.0.2.15:22");
    assert_int_equal(w->n, 1);
    fw_sock *l = w->socks[0];
    assert_true(l->listener);
    assert_int_equal(l->dst.port, 2222);
    adv(&h, 1 * MS); /* a listener exists: the slow tick runs */
    uh_clear(&h);
    vk_waddr peer = {.family = 4, .ip4 = {{127, 0, 0, 1}}, .port = 51000};
    fw_sock *c = fw_accept(l, &peer, now_of(&h));
    assert_int_equal(h.ngot, 1);
    vk_ipv4_repr ip;
    vk_tcp_repr t;
    got_tcp(&h, 0, &ip, &t);
    assert_int_equal(t.flags, VK_TCP_SYN);
    assert_int_equal(t.src_port, 51000);
    assert_int_equal(t.dst_port, 22);
    assert_true(t.has_mss);
    assert_memory_equal(ip.src.b, ((uint8_t[]){10, 0, 2, 2}), 4);
    assert_memory_equal(ip.dst.b, ((uint8_t[]){10, 0, 2, 15}), 4);
    /* The ISN counter: 1, plus the tick that came at once. */
    assert_int_equal(t.seq, 64001);
    fw_push(c, "SSH-2.0-x\r\n", 11, now_of(&h)); /* early client bytes wait */
    seg sa = {.sport = 22, .dport = 51000, .dst = "10.0.2.2", .flags = TH_SYN | TH_ACK,
              .seq = 9000, .ack = t.seq + 1};
    g_send(&h, &sa);
    /* Our ACK, carrying the client's bytes. */
    t = last_tcp(&h);
    assert_int_equal(t.ack, 9001);
    assert_int_equal(t.payload_len, 11);
    seg d = {.sport = 22, .dport = 51000, .dst = "10.0.2.2", .flags = TH_ACK, .seq = 9001,
             .ack = t.seq + 11, .data = "SSH-2.0-y\r\n", .len = 11};
    g_send(&h, &d);
    assert_int_equal(c->out_len, 11);
    /* A client from elsewhere is seen with its own address. */
    vk_waddr far = {.family = 4, .ip4 = {{192, 0, 2, 9}}, .port = 51001};
    uh_clear(&h);
    fw_accept(l, &far, now_of(&h));
    got_tcp(&h, 0, &ip, &t);
    assert_memory_equal(ip.src.b, ((uint8_t[]){192, 0, 2, 9}), 4);
    uh_close(&h);
}

static void test_hostfwd_listen_failure_is_fatal_with_qemus_words(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,hostfwd=tcp::2222-:22");
    fw *w = fw_new(h.loop);
    w->listen_status = VK_EIO;
    assert_int_equal(vk_user_set_world(h.user, &w->base), VK_EIO);
    const char *msg;
    assert_int_equal(vk_net_failure(h.net, &msg), VK_EIO);
    assert_non_null(strstr(msg, "could not set up host forwarding rule 'tcp:0.0.0.0:2222-10.0.2.15:22'"));
    uh_close(&h);
}

/* ---- IPv6 ---- */

static void g_send6(uh *h, uint8_t flags, uint32_t seq, uint32_t ack, const void *data, size_t len)
{
    libnet_t *l = uh_ln();
    struct libnet_in6_addr src, dst;
    assert_int_equal(inet_pton(AF_INET6, "fec0::15", &src), 1);
    assert_int_equal(inet_pton(AF_INET6, "fec0::2", &dst), 1);
    size_t tl = LIBNET_TCP_H + len;
    libnet_build_tcp(GPORT, 8080, seq, ack, flags, 64800, 0, 0, (uint16_t)tl,
                     (const uint8_t *)data, (uint32_t)len, l, 0);
    libnet_build_ipv6(0, 0, (uint16_t)tl, IPPROTO_TCP, 64, src, dst, NULL, 0, l, 0);
    libnet_build_ethernet(UH_GW_MAC, UH_GUEST_MAC, ETHERTYPE_IPV6, NULL, 0, l, 0);
    uint8_t *f;
    size_t n = uh_ln_finish(l, &f);
    uh_send(h, f, n);
    free(f);
}

static void got_tcp6(uh *h, size_t i, vk_ipv6_repr *ip, vk_tcp_repr *t)
{
    vk_eth_repr eth;
    assert_true(i < h->ngot);
    assert_int_equal(vk_eth_parse(h->got[i]->data, h->got[i]->len, &eth), VK_OK);
    assert_int_equal(eth.ethertype, VK_ETHERTYPE_IPV6);
    assert_int_equal(vk_ipv6_parse(eth.payload, eth.payload_len, ip), VK_OK);
    assert_int_equal(ip->proto, VK_IP_PROTO_TCP);
    assert_int_equal(vk_tcp_parse(ip->payload, ip->payload_len, t), VK_OK);
    assert_true(vk_tcp_csum_ok(vk_csum_pseudo6(&ip->src, &ip->dst, VK_IP_PROTO_TCP), ip->payload,
                               ip->payload_len));
}

static void test_ipv6_handshake_and_data_to_the_host_loopback(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    g_send6(h, TH_SYN, ISN, 0, NULL, 0);
    assert_int_equal(w->n, 1);
    assert_int_equal(w->socks[0]->dst.family, 6);
    assert_int_equal(w->socks[0]->dst.ip6.b[15], 1); /* ::1 */
    adv(h, 1 * MS);
    vk_ipv6_repr ip;
    vk_tcp_repr t;
    got_tcp6(h, h->ngot - 1, &ip, &t);
    assert_int_equal(t.flags, VK_TCP_SYN | VK_TCP_ACK);
    assert_int_equal(t.mss, 1440);
    assert_int_equal(ip.hop_limit, 255);
    g_send6(h, TH_ACK, ISN + 1, t.seq + 1, "six", 3);
    assert_int_equal(w->socks[0]->out_len, 3);
    uh_clear(h);
    fw_push(w->socks[0], "ok", 2, now_of(h));
    got_tcp6(h, 0, &ip, &t);
    assert_int_equal(t.payload_len, 2);
    assert_int_equal(t.flags, VK_TCP_ACK | VK_TCP_PSH);
}

static void test_ipv6_unreachable_is_icmpv6_no_route(void **state)
{
    fx *x = *state;
    uh *h = &x->h;
    fw *w = x->w;
    w->connect_now = VK_ENETUNREACH;
    g_send6(h, TH_SYN, ISN, 0, NULL, 0);
    assert_int_equal(h->ngot, 1);
    vk_eth_repr eth;
    vk_ipv6_repr ip;
    assert_int_equal(vk_eth_parse(h->got[0]->data, h->got[0]->len, &eth), VK_OK);
    assert_int_equal(vk_ipv6_parse(eth.payload, eth.payload_len, &ip), VK_OK);
    assert_int_equal(ip.proto, VK_IP_PROTO_ICMPV6);
    assert_int_equal(ip.payload[0], 1); /* destination unreachable */
    assert_int_equal(ip.payload[1], 0); /* no route */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_syn_ack_waits_for_the_connect_and_matches_libslirp,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_isn_grows_per_connection_and_per_slow_tick,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_refused_connect_gets_rst_ack_seq_0,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_unreachable_at_once_gets_icmp_net_or_host,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_dns_address_other_port_is_port_unreachable,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_silent_destination_gets_rst_after_75s,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_host_data_is_segmented_at_mss_with_slow_start_and_psh,
                                        fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(
            test_live_host_data_leaves_as_super_segments_to_a_port_that_takes_them,
            fx_open_live_gso, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_live_host_data_to_a_port_without_gso_is_mss_segments,
                                        fx_open_live_plain, uh_fixture_close),
        cmocka_unit_test_setup_teardown(
            test_live_guest_segments_of_one_round_reach_the_host_in_one_send, fx_open_live_plain,
            uh_fixture_close),
        cmocka_unit_test_setup_teardown(
            test_live_syn_ack_scales_the_window_only_when_the_guest_offers_it, fx_open_live_plain,
            uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_guest_mss_caps_ours, fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(
            test_in_order_guest_data_is_acked_at_once_and_reaches_the_world,
            fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_guest_data_off_the_fast_path_is_acked_after_2ms,
                                        fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(
            test_out_of_order_data_is_acked_at_once_and_held_until_the_gap_fills,
            fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_unacked_data_is_retransmitted_on_libslirps_rto,
                                        fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_retransmits_give_up_with_a_reset,
                                        fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_fin_both_ways_then_time_wait_10s,
                                        fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_world_closing_first_leads_to_time_wait_of_10s,
                                        fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_a_new_syn_replaces_a_connection_in_time_wait,
                                        fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(
            test_guest_rst_aborts_the_world_socket_and_out_of_window_rst_is_ignored,
            fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_world_reset_resets_the_guest,
                                        fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_a_slow_world_closes_the_window_and_writable_reopens_it,
                                        fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_zero_window_guest_gets_persist_probes,
                                        fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_segments_beyond_the_window_are_dropped_with_an_ack,
                                        fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_urgent_data_is_delivered_inline,
                                        fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_bogus_options_end_the_option_walk_but_not_the_syn,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test(test_segments_for_no_connection_get_resets),
        cmocka_unit_test_setup_teardown(test_syn_flood_past_the_cap_is_reset_not_stored,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_out_of_order_queue_is_capped,
                                        fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_overlapping_guest_segments_reach_the_world_once,
                                        fx_open_conn, uh_fixture_close),
        cmocka_unit_test(test_truncated_and_absurd_options_never_read_past_the_header),
        cmocka_unit_test_setup_teardown(test_rst_storm_for_no_connection_is_never_answered,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_half_open_connection_is_given_up_after_75s,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_tcp_inside_ip_fragments_is_reassembled_first,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_host_closing_early_then_guest_data_gets_a_reset,
                                        fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_host_reset_with_data_in_flight_resets_the_guest,
                                        fx_open_conn, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_host_that_never_reads_bounds_what_the_guest_can_store,
                                        fx_open_conn, uh_fixture_close),
        cmocka_unit_test(test_restrict_resets_syn_unless_to_a_guestfwd),
        cmocka_unit_test(test_guestfwd_answers_at_once_with_isn_1_and_the_syns_mss),
        cmocka_unit_test(test_hostfwd_accept_becomes_a_syn_from_the_gateway),
        cmocka_unit_test(test_hostfwd_listen_failure_is_fatal_with_qemus_words),
        cmocka_unit_test_setup_teardown(test_ipv6_handshake_and_data_to_the_host_loopback,
                                        fx_open, uh_fixture_close),
        cmocka_unit_test_setup_teardown(test_ipv6_unreachable_is_icmpv6_no_route,
                                        fx_open, uh_fixture_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
