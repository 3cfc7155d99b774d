/*
 * The recorded world: the builder on the real QEMU captures of pcaps/, and
 * the world's operations and timing on a virtual loop with a scripted guest
 * side (the test plays the user stack: it calls the ops at chosen times and
 * logs the callbacks, checking none comes from inside an op).
 *
 * The expected values below were derived once, by hand, from the captures
 * with tshark (e.g. `tshark -r pcaps/qemu-e1000-http.pcap -Y tcp -T fields
 * -e frame.number -e frame.time_epoch -e ip.src -e tcp.srcport
 * -e tcp.flags.str -e tcp.seq_raw -e tcp.len -e tcp.payload`, and the same
 * with udp/dns fields for qemu-e1000-udp-dns.pcap); the comments next to
 * them say which frames they come from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "backends/user/world.h"
#include "core/loop.h"
#include "replay/capture.h"
#include "replay/recording.h"
#include "replay/world_recorded.h"
#include "wire/checksum.h"
#include "wire/dns.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/tcp.h"

#define US 1000ull
#define MS 1000000ull

static const vk_mac guest_mac = {{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};

static vk_capture *load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/pcaps/%s", VK_SOURCE_DIR, name);
    vk_capture *c = NULL;
    vk_diag d;
    assert_int_equal(vk_capture_read(path, &c, &d), VK_OK);
    return c;
}

/* The bytes of a span of a recording built from a held capture: in memory. */
static const uint8_t *mem_bytes(const vk_rec_span *s)
{
    assert_true(s->mem);
    return (const uint8_t *)(uintptr_t)s->pos;
}

/* A TCP chunk's bytes, read back through its spans. */
static const uint8_t *event_bytes(vk_recording *r, const vk_rec_tcp *t, const vk_rec_event *e)
{
    static uint8_t buf[65536];
    assert_true(e->len <= sizeof buf);
    assert_int_equal(vk_recording_read_event(r, t, e, 0, buf, sizeof buf), (long)e->len);
    return buf;
}

static vk_recording *build(const vk_capture *c)
{
    vk_recording *r = NULL;
    vk_diag d;
    assert_int_equal(vk_recording_build_mac(c, &guest_mac, &r, &d), VK_OK);
    return r;
}

static vk_waddr a4(const char *ip, uint16_t port)
{
    vk_waddr a = {.family = 4, .port = port};
    assert_int_equal(vk_ip4_parse(ip, &a.ip4), VK_OK);
    return a;
}

static const vk_rec_tcp *only_tcp(const vk_recording *r)
{
    assert_int_equal(r->ntcp, 1);
    return &r->tcp[0];
}

/* ---- the builder on real captures ---- */

static void check_http_flow(const vk_rec_tcp *t, uint16_t guest_port, uint64_t connect,
                            uint64_t d1, uint64_t d2, uint64_t d3)
{
    vk_waddr peer = a4("10.0.2.2", 18080), guest = a4("10.0.2.15", guest_port);
    assert_true(vk_waddr_eq(&t->peer, &peer));
    assert_true(vk_waddr_eq(&t->guest, &guest));
    assert_false(t->inbound);
    assert_int_equal(t->ordinal, 0);
    assert_int_equal(t->status, VK_OK);
    assert_int_equal(t->connect_delay, connect);
    /* the guest's GET: 86 bytes, then its FIN */
    assert_int_equal(t->guest_bytes, 86);
    assert_true(t->guest_fin);
    assert_int_equal(t->npieces, 1);
    assert_memory_equal(mem_bytes(&t->guest_stream[0].at), "GET /hello.txt HTTP/1.1\r\nHost: 10.0.2.2:18080\r\n",
                        47);
    /* slirp's two data segments (186 + 16 bytes) and its FIN, each after the
     * 86-byte request, before the guest's FIN */
    assert_int_equal(t->nev, 3);
    assert_int_equal(t->ev[0].kind, VK_REC_DATA);
    assert_int_equal(t->ev[0].len, 186);
    assert_memory_equal(event_bytes(NULL, t, &t->ev[0]), "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6", 39);
    assert_int_equal(t->ev[1].kind, VK_REC_DATA);
    assert_int_equal(t->ev[1].len, 16);
    assert_memory_equal(event_bytes(NULL, t, &t->ev[1]), "hello from host\n", 16);
    assert_int_equal(t->ev[2].kind, VK_REC_EOF);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(t->ev[i].prefix, 86);
        assert_false(t->ev[i].after_guest_fin);
    }
    assert_int_equal(t->ev[0].delay, d1);
    assert_int_equal(t->ev[1].delay, d2);
    assert_int_equal(t->ev[2].delay, d3);
}

static void test_builder_e1000_http_flow_outcome_chunks_and_prefixes(void **state)
{
    (void)state;
    vk_capture *c = load("qemu-e1000-http.pcap");
    vk_recording *r = build(c);
    const vk_rec_tcp *t = only_tcp(r);
    /* frames 13 (SYN .281144) and 14 (SYN-ACK .291048): 9904 us; frame 16 (GET
     * .303913) -> 18 (.310024): 6111 us; 18 -> 19 (.310059): 35 us; 19 -> 20
     * (FIN .310077): 18 us */
    check_http_flow(t, 32954, 9904 * US, 6111 * US, 35 * US, 18 * US);
    assert_int_equal(t->syn_no, 13);
    assert_int_equal(t->ev[0].frame_no, 18);
    assert_int_equal(t->ev[2].frame_no, 20);
    assert_int_equal(r->nnotes, 0);
    vk_recording_unref(r);
    vk_capture_free(c);
}

static void test_builder_virtio_http_tftp_flow_and_tftp_left_to_the_stack(void **state)
{
    (void)state;
    vk_capture *c = load("qemu-virtio-http-tftp.pcap");
    vk_recording *r = build(c);
    /* frames 8 (SYN .158578) -> 9 (SYN-ACK .158854): 276 us; 11 (GET .170017)
     * -> 13 (.175421): 5404 us; 13 -> 14 (.175506): 85 us; 14 -> 15 (FIN
     * .175583): 77 us */
    check_http_flow(only_tcp(r), 58148, 276 * US, 5404 * US, 85 * US, 77 * US);
    assert_int_equal(r->ndns, 0);
    assert_int_equal(r->nping, 0);
    vk_recording_unref(r);
    vk_capture_free(c);
}

static void test_builder_refused_connection_from_a_reset_before_any_syn_ack(void **state)
{
    (void)state;
    vk_capture *c = load("qemu-e1000-restrict.pcap");
    vk_recording *r = build(c);
    const vk_rec_tcp *t = only_tcp(r);
    /* frame 21 SYN (.516737) answered by frame 22 RST|ACK (.516766): 29 us */
    vk_waddr peer = a4("10.0.2.2", 18080);
    assert_true(vk_waddr_eq(&t->peer, &peer));
    assert_int_equal(t->guest.port, 47086);
    assert_int_equal(t->status, VK_ECONNREFUSED);
    assert_int_equal(t->connect_delay, 29 * US);
    assert_int_equal(t->nev, 0);
    assert_int_equal(t->guest_bytes, 0);
    vk_recording_unref(r);
    vk_capture_free(c);
}

static const vk_rec_udp *udp_to(const vk_recording *r, const vk_waddr *dst)
{
    for (size_t i = 0; i < r->nudp; i++)
        if (vk_waddr_eq(&r->udp[i].first_dst, dst))
            return &r->udp[i];
    fail_msg("no UDP socket to that destination");
    return NULL;
}

static void test_builder_udp_echo_replies_count_the_guest_datagrams_before_them(void **state)
{
    (void)state;
    vk_capture *c = load("qemu-e1000-udp-dns.pcap");
    vk_recording *r = build(c);
    vk_waddr echo = a4("10.0.2.2", 17777), guest = a4("10.0.2.15", 35314);
    const vk_rec_udp *u = udp_to(r, &echo);
    assert_true(vk_waddr_eq(&u->guest, &guest));
    /* frames 13-38: 12 requests of 26 bytes, 12 replies "echo:" + request */
    size_t req = 0, rep = 0;
    for (size_t i = 0; i < u->dg.n; i++) {
        const vk_rec_dgram *d = &u->dg.d[i];
        if (d->from_guest) {
            req++;
            assert_int_equal(d->len, 26);
            assert_true(vk_waddr_eq(&d->addr, &echo));
            continue;
        }
        rep++;
        assert_int_equal(d->len, 31);
        assert_memory_equal(mem_bytes(&d->at), "echo:", 5);
        assert_true(vk_waddr_eq(&d->addr, &echo));
        assert_int_equal(d->error, 0);
    }
    assert_int_equal(req, 12);
    assert_int_equal(rep, 12);
    /* the five back-to-back copies (frames 13-17) come before any reply: the
     * first reply (frame 18, .607411) follows the fifth (.597637) by 9774 us,
     * the next (frame 19) 72 us after it; frame 26 answers the sixth request
     * (frame 25, .125530) after 646 us */
    assert_false(u->dg.d[5].from_guest);
    assert_int_equal(u->dg.d[5].prefix, 5);
    assert_int_equal(u->dg.d[5].delay, 9774 * US);
    assert_int_equal(u->dg.d[6].prefix, 5);
    assert_int_equal(u->dg.d[6].delay, 72 * US);
    assert_int_equal(u->dg.d[11].frame_no, 26);
    assert_int_equal(u->dg.d[11].prefix, 6);
    assert_int_equal(u->dg.d[11].delay, 646 * US);
    vk_recording_unref(r);
    vk_capture_free(c);
}

static void test_builder_dns_queries_keyed_by_id_and_name(void **state)
{
    (void)state;
    vk_capture *c = load("qemu-e1000-udp-dns.pcap");
    vk_recording *r = build(c);
    /* frames 41/42: A? example.invalid id 0x2626, NXDOMAIN after 497 us;
     * frames 43/44: AAAA? id 0xc0af, after 105 us */
    assert_int_equal(r->ndns, 2);
    vk_waddr server = a4("10.0.2.3", 53), guest = a4("10.0.2.15", 36455);
    assert_int_equal(r->dns[0].id, 0x2626);
    assert_string_equal(r->dns[0].name, "example.invalid");
    assert_int_equal(r->dns[1].id, 0xc0af);
    assert_string_equal(r->dns[1].name, "example.invalid");
    for (int i = 0; i < 2; i++) {
        assert_true(vk_waddr_eq(&r->dns[i].server, &server));
        assert_true(vk_waddr_eq(&r->dns[i].guest, &guest));
        assert_int_equal(r->dns[i].replies.n, 1);
        assert_int_equal(r->dns[i].replies.d[0].len, 33);
        assert_true(vk_waddr_eq(&r->dns[i].replies.d[0].addr, &server));
    }
    assert_int_equal(r->dns[0].replies.d[0].delay, 497 * US);
    assert_int_equal(r->dns[1].replies.d[0].delay, 105 * US);
    /* the answer's flags: 0x8183 (response, NXDOMAIN) */
    assert_int_equal(mem_bytes(&r->dns[0].replies.d[0].at)[2], 0x81);
    assert_int_equal(mem_bytes(&r->dns[0].replies.d[0].at)[3], 0x83);
    /* no UDP socket was made for the DNS port */
    vk_waddr dns_port = a4("10.0.2.3", 53);
    for (size_t i = 0; i < r->nudp; i++)
        assert_false(vk_waddr_eq(&r->udp[i].first_dst, &dns_port));
    vk_recording_unref(r);
    vk_capture_free(c);
}

/* ---- the builder on a hand-made capture (wire/ emitters) ---- */

static const vk_mac slirp_mac = {{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}};

/* Appends an IPv4 frame carrying payload (proto) between the guest
 * 10.0.2.15 and 10.0.2.2. */
static void add_ip_peer(vk_capture *c, uint64_t ts, bool from_guest, uint8_t proto,
                        const char *peer, const uint8_t *l4, size_t l4_len)
{
    uint8_t f[1600];
    vk_eth_repr eth = {.dst = from_guest ? slirp_mac : guest_mac,
                       .src = from_guest ? guest_mac : slirp_mac, .ethertype = 0x0800};
    size_t w, w2;
    assert_int_equal(vk_eth_emit(&eth, f, sizeof f, &w), VK_OK);
    vk_ipv4_repr ip = {.ttl = 64, .proto = proto, .payload = l4, .payload_len = l4_len};
    vk_ip4 g = a4("10.0.2.15", 0).ip4, h = a4(peer, 0).ip4;
    ip.src = from_guest ? g : h;
    ip.dst = from_guest ? h : g;
    assert_int_equal(vk_ipv4_emit(&ip, f + w, sizeof f - w, &w2), VK_OK);
    assert_int_equal(vk_capture_append(c, ts, f, w + w2, 0, 0), VK_OK);
}

static void add_ip(vk_capture *c, uint64_t ts, bool from_guest, uint8_t proto,
                   const uint8_t *l4, size_t l4_len)
{
    add_ip_peer(c, ts, from_guest, proto, "10.0.2.2", l4, l4_len);
}

/* A TCP segment 10.0.2.15:40000 <> 10.0.2.2:dport. */
static void add_tcp(vk_capture *c, uint64_t ts, bool from_guest, uint16_t dport, uint32_t seq,
                    uint32_t ack, uint8_t flags, const char *data)
{
    uint8_t seg[1500];
    size_t n;
    vk_tcp_repr t = {.src_port = from_guest ? 40000 : dport,
                     .dst_port = from_guest ? dport : 40000, .seq = seq, .ack = ack,
                     .flags = flags, .window = 65535, .payload = (const uint8_t *)data,
                     .payload_len = data ? strlen(data) : 0};
    vk_ip4 g = a4("10.0.2.15", 0).ip4, h = a4("10.0.2.2", 0).ip4;
    uint32_t ps = from_guest ? vk_csum_pseudo4(&g, &h, 6) : vk_csum_pseudo4(&h, &g, 6);
    assert_int_equal(vk_tcp_emit(&t, ps, seg, sizeof seg, &n), VK_OK);
    add_ip(c, ts, from_guest, 6, seg, n);
}

static void test_builder_reorders_dedups_and_reads_every_outcome(void **state)
{
    (void)state;
    vk_capture *c = vk_capture_new(NULL);
    uint64_t s0 = 1000 * 1000 * MS;
    /* flow 1 (8080): SYN, its retransmission, SYN-ACK 1.5 s after the first */
    add_tcp(c, s0, true, 8080, 1000, 0, VK_TCP_SYN, NULL);
    add_tcp(c, s0 + 1000 * MS, true, 8080, 1000, 0, VK_TCP_SYN, NULL);
    add_tcp(c, s0 + 1500 * MS, false, 8080, 5000, 1001, VK_TCP_SYN | VK_TCP_ACK, NULL);
    add_tcp(c, s0 + 1600 * MS, true, 8080, 1001, 5001, VK_TCP_ACK, NULL);
    add_tcp(c, s0 + 2000 * MS, true, 8080, 1001, 5001, VK_TCP_ACK | VK_TCP_PSH, "abcdef");
    /* the peer's bytes 3..5 before 0..2, then all six again (each with PSH:
     * two chunks) */
    add_tcp(c, s0 + 2100 * MS, false, 8080, 5004, 1007, VK_TCP_ACK | VK_TCP_PSH, "XYZ");
    add_tcp(c, s0 + 2200 * MS, false, 8080, 5001, 1007, VK_TCP_ACK | VK_TCP_PSH, "ABC");
    add_tcp(c, s0 + 2300 * MS, false, 8080, 5001, 1007, VK_TCP_ACK, "ABCXYZ");
    add_tcp(c, s0 + 2400 * MS, true, 8080, 1007, 5007, VK_TCP_ACK | VK_TCP_FIN, NULL);
    add_tcp(c, s0 + 2500 * MS, false, 8080, 5007, 1008, VK_TCP_ACK | VK_TCP_FIN, NULL);
    /* flow 2 (9090): ICMP host unreachable quoting the SYN, 3 ms later */
    add_tcp(c, s0 + 3000 * MS, true, 9090, 7000, 0, VK_TCP_SYN, NULL);
    const vk_cap_frame *syn = &c->frames[c->count - 1];
    uint8_t quote[28];
    memcpy(quote, syn->data + VK_ETH_HLEN, sizeof quote);
    uint8_t icmp[64];
    size_t n;
    vk_icmp_repr m = {.type = VK_ICMP_DEST_UNREACH, .code = VK_ICMP_UNREACH_HOST,
                      .data = quote, .data_len = sizeof quote};
    assert_int_equal(vk_icmp_emit(&m, icmp, sizeof icmp, &n), VK_OK);
    add_ip(c, s0 + 3003 * MS, false, 1, icmp, n);
    /* flow 3 (7070): a SYN nobody answers */
    add_tcp(c, s0 + 4000 * MS, true, 7070, 9000, 0, VK_TCP_SYN, NULL);
    /* flow 4: a second connection to 8080 from the same port, new ISN */
    add_tcp(c, s0 + 5000 * MS, true, 8080, 20000, 0, VK_TCP_SYN, NULL);
    add_tcp(c, s0 + 5000 * MS + 20 * US, false, 8080, 0, 20001, VK_TCP_RST | VK_TCP_ACK, NULL);

    vk_recording *r = build(c);
    assert_int_equal(r->ntcp, 4);
    const vk_rec_tcp *t = &r->tcp[0];
    assert_int_equal(t->status, VK_OK);
    assert_int_equal(t->connect_delay, 1500 * MS);
    assert_int_equal(t->guest_bytes, 6);
    assert_true(t->guest_fin);
    assert_int_equal(t->nev, 3);
    assert_int_equal(t->ev[0].len, 3);
    assert_memory_equal(event_bytes(r, t, &t->ev[0]), "ABC", 3);
    assert_int_equal(t->ev[0].delay, 200 * MS);
    assert_int_equal(t->ev[1].len, 3);
    assert_memory_equal(event_bytes(r, t, &t->ev[1]), "XYZ", 3);
    assert_int_equal(t->ev[1].delay, 0);
    assert_int_equal(t->ev[0].prefix, 6);
    assert_int_equal(t->ev[2].kind, VK_REC_EOF);
    assert_true(t->ev[2].after_guest_fin);
    assert_int_equal(t->ev[2].delay, 100 * MS);
    assert_true(r->st.tcp_retransmits >= 1);
    assert_int_equal(r->tcp[1].status, VK_EHOSTUNREACH);
    assert_int_equal(r->tcp[1].connect_delay, 3 * MS);
    assert_int_equal(r->tcp[2].status, VK_ETIMEDOUT);
    assert_int_equal(r->tcp[2].connect_delay, VK_REC_CONNECT_TIMEOUT_NS);
    assert_int_equal(r->tcp[3].status, VK_ECONNREFUSED);
    assert_int_equal(r->tcp[3].ordinal, 1);
    assert_int_equal(r->tcp[3].connect_delay, 20 * US);
    vk_recording_unref(r);
    vk_capture_free(c);
}

/* libslirp sets PSH on the segment that empties its send buffer: the host's
 * bytes up to such a segment were all there when the first of them left, so
 * they make one chunk (own buffer, freed with the recording: ASan), timed by
 * that first segment; a step of the guest's stream ends a chunk too. */
static void test_builder_joins_host_segments_up_to_psh(void **state)
{
    (void)state;
    vk_capture *c = vk_capture_new(NULL);
    uint64_t s0 = 1000 * 1000 * MS;
    const uint8_t A = VK_TCP_ACK, AP = VK_TCP_ACK | VK_TCP_PSH;
    add_tcp(c, s0, true, 8080, 1000, 0, VK_TCP_SYN, NULL);
    add_tcp(c, s0 + 1 * MS, false, 8080, 5000, 1001, VK_TCP_SYN | VK_TCP_ACK, NULL);
    add_tcp(c, s0 + 2 * MS, true, 8080, 1001, 5001, AP, "GET");
    /* chunk 1: "abc" "def" "gh" (PSH), the second segment arriving last */
    add_tcp(c, s0 + 10 * MS, false, 8080, 5001, 1004, A, "abc");
    add_tcp(c, s0 + 11 * MS, false, 8080, 5007, 1004, AP, "gh");
    add_tcp(c, s0 + 12 * MS, false, 8080, 5004, 1004, A, "def");
    /* chunk 2: "ij" without PSH, then the guest sends: chunk 3 "kl" (PSH) */
    add_tcp(c, s0 + 20 * MS, false, 8080, 5009, 1004, A, "ij");
    add_tcp(c, s0 + 21 * MS, true, 8080, 1004, 5011, AP, "more");
    add_tcp(c, s0 + 30 * MS, false, 8080, 5011, 1008, AP, "kl");
    /* a retransmission of "gh" changes nothing; chunk 4 "mn" "op", then FIN */
    add_tcp(c, s0 + 31 * MS, false, 8080, 5007, 1008, AP, "gh");
    add_tcp(c, s0 + 40 * MS, false, 8080, 5013, 1008, A, "mn");
    add_tcp(c, s0 + 41 * MS, false, 8080, 5015, 1008, A, "op");
    add_tcp(c, s0 + 42 * MS, false, 8080, 5017, 1008, A | VK_TCP_FIN, NULL);

    vk_recording *r = build(c);
    const vk_rec_tcp *t = only_tcp(r);
    assert_int_equal(t->nev, 5);
    static const char *const chunk[] = {"abcdefgh", "ij", "kl", "mnop"};
    static const uint64_t prefix[] = {3, 3, 7, 7};
    static const uint64_t delay[] = {8 * MS, 10 * MS, 9 * MS, 10 * MS};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(t->ev[i].kind, VK_REC_DATA);
        assert_int_equal(t->ev[i].len, strlen(chunk[i]));
        assert_memory_equal(event_bytes(r, t, &t->ev[i]), chunk[i], t->ev[i].len);
        assert_int_equal(t->ev[i].prefix, prefix[i]);
        assert_int_equal(t->ev[i].delay, delay[i]);
    }
    /* joined chunks are the spans of their segments */
    assert_true(t->ev[0].nspan > 1);
    assert_int_equal(t->ev[1].nspan, 1);
    assert_int_equal(t->ev[2].nspan, 1);
    assert_true(t->ev[3].nspan > 1);
    assert_int_equal(t->ev[0].frame_no, 4);
    assert_int_equal(t->ev[4].kind, VK_REC_EOF);
    vk_recording_unref(r);
    vk_capture_free(c);
}

/* Every frame of the real captures cut at every length and with bytes
 * flipped: the builder skips what it cannot read and never crashes (run
 * under ASan in the sanitizer build). */
static void test_builder_survives_truncated_and_corrupted_frames(void **state)
{
    (void)state;
    static const char *const names[] = {"qemu-e1000-http.pcap", "qemu-e1000-udp-dns.pcap",
                                        "qemu-virtio-http-tftp.pcap"};
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        vk_capture *c = load(names[n]);
        for (int mode = 0; mode < 3; mode++) {
            vk_capture *m = vk_capture_new(NULL);
            assert_non_null(m);
            uint32_t rng = 12345u + (uint32_t)mode;
            for (size_t i = 0; i < c->count; i++) {
                const vk_cap_frame *f = &c->frames[i];
                uint8_t buf[2048];
                size_t len = f->len < sizeof buf ? f->len : sizeof buf;
                memcpy(buf, f->data, len);
                if (mode == 0) {
                    /* every prefix of the frame */
                    for (size_t k = 0; k <= len; k++)
                        assert_int_equal(vk_capture_append(m, f->ts_ns, buf, k, 0, 0), VK_OK);
                    continue;
                }
                for (int k = 0; k < 8; k++) {
                    rng = rng * 1103515245u + 12345u;
                    size_t at = 12 + (rng >> 8) % (len > 12 ? len - 12 : 1);
                    if (at < len)
                        buf[at] ^= (uint8_t)(rng >> 24 | 1);
                }
                if (mode == 2) /* timestamps going backwards too */
                    assert_int_equal(vk_capture_append(m, f->ts_ns - i * MS, buf, len, 0, 0),
                                     VK_OK);
                else
                    assert_int_equal(vk_capture_append(m, f->ts_ns, buf, len, 0, 0), VK_OK);
            }
            vk_recording *r = build(m);
            assert_true(r->st.frames_used + r->st.frames_skipped > 0);
            vk_recording_unref(r);
            vk_capture_free(m);
        }
        vk_capture_free(c);
    }
}

static void test_dns_question_reader_rejects_loops_and_truncation(void **state)
{
    (void)state;
    vk_dns_question q;
    /* a pointer to itself */
    static const uint8_t loop[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
    assert_int_equal(vk_dns_parse_question(loop, sizeof loop, &q), VK_EFORMAT);
    /* a label running past the end */
    static const uint8_t cut[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9, 'a', 'b'};
    assert_int_equal(vk_dns_parse_question(cut, sizeof cut, &q), VK_ETRUNC);
    /* no question */
    static const uint8_t none[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(vk_dns_parse_question(none, sizeof none, &q), VK_EFORMAT);
    /* a backward pointer is followed; names are lower-cased */
    static const uint8_t ok[] = {0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                                 2, 'E', 'x', 0, 0, 1, 0, 1};
    assert_int_equal(vk_dns_parse_question(ok, sizeof ok, &q), VK_OK);
    assert_int_equal(q.id, 0x1234);
    assert_false(q.response);
    assert_string_equal(q.name, "ex");
}

/* ---- the world on a virtual loop, the test playing the stack ---- */

#define LOG_MAX 64

typedef struct logent {
    char what;          /* 'c' connected, 'r' readable, 'w' writable, 'a' accepted */
    int status;
    uint64_t now;
    vk_wsock *s;
    vk_waddr peer;
} logent;

typedef struct stack {
    vk_loop *loop;
    vk_world *w;
    vk_recording *rec;
    vk_capture *cap;
    bool in_op;
    logent log[LOG_MAX];
    size_t n;
} stack;

static void push(stack *k, logent e)
{
    assert_false(k->in_op); /* never called back from inside an operation */
    assert_true(k->n < LOG_MAX);
    k->log[k->n++] = e;
}

static void ev_connected(void *ctx, vk_wsock *s, int status, uint64_t now)
{
    push(ctx, (logent){.what = 'c', .status = status, .now = now, .s = s});
}

static void ev_readable(void *ctx, vk_wsock *s, uint64_t now)
{
    push(ctx, (logent){.what = 'r', .now = now, .s = s});
}

static void ev_accepted(void *ctx, vk_wsock *l, vk_wsock *conn, const vk_waddr *peer,
                        uint64_t now)
{
    (void)l;
    push(ctx, (logent){.what = 'a', .now = now, .s = conn, .peer = *peer});
}

static const vk_wsock_events events = {
    .connected = ev_connected, .readable = ev_readable, .accepted = ev_accepted};

static void noop(void *arg, uint64_t now)
{
    (void)arg, (void)now;
}

/* Moves the virtual clock to loop time t, firing the world's timers on the
 * way. */
static void run_to(stack *k, uint64_t t)
{
    vk_timer *tm = vk_timer_new(k->loop, noop, NULL);
    vk_timer_arm(tm, t);
    vk_loop_run(k->loop, t);
    vk_timer_free(tm);
    assert_int_equal(vk_loop_now(k->loop), t);
}

/* The virtual clock at the recording's epoch and the world on it. */
static void stack_start(stack *k)
{
    k->loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    vk_loop_set_epoch(k->loop, k->rec->epoch);
    k->w = vk_world_recorded_new(k->loop, k->rec);
    assert_non_null(k->w);
}

static void stack_open(stack *k, const char *capture)
{
    memset(k, 0, sizeof *k);
    k->cap = load(capture);
    k->rec = build(k->cap);
    stack_start(k);
}

/* A capture with the roles swapped: slirp's side taken as the guest, so
 * what the guest sent is what the network expects. */
static vk_recording *build_swapped(const vk_capture *c)
{
    vk_side *side = calloc(c->count, sizeof *side);
    assert_non_null(side);
    for (size_t i = 0; i < c->count; i++)
        side[i] = memcmp(c->frames[i].data + 6, guest_mac.b, 6) == 0 ? VK_SIDE_EXPECTED
                                                                    : VK_SIDE_GUEST;
    vk_recording *r = NULL;
    vk_diag d;
    assert_int_equal(vk_recording_build(c, side, &r, &d), VK_OK);
    free(side);
    return r;
}

static void stack_close(stack *k)
{
    k->w->ops->free(k->w);
    vk_loop_free(k->loop);
    vk_recording_unref(k->rec);
    vk_capture_free(k->cap);
}

static uint64_t rel(const stack *k, uint64_t abs_ts)
{
    return abs_ts - k->rec->epoch;
}

static vk_world_flow tcp_flow(const char *dst, uint16_t dport, uint16_t sport)
{
    vk_world_flow f = {.family = 4, .proto = 6, .src_port = sport, .dst_port = dport};
    assert_int_equal(vk_ip4_parse("10.0.2.15", &f.src4), VK_OK);
    assert_int_equal(vk_ip4_parse(dst, &f.dst4), VK_OK);
    return f;
}

static long op_send(stack *k, vk_wsock *s, const uint8_t *p, size_t n)
{
    k->in_op = true;
    long r = k->w->ops->send(k->w, s, p, n, vk_loop_now(k->loop));
    k->in_op = false;
    return r;
}

static long op_recv(stack *k, vk_wsock *s, uint8_t *p, size_t n)
{
    k->in_op = true;
    long r = k->w->ops->recv(k->w, s, p, n, vk_loop_now(k->loop));
    k->in_op = false;
    return r;
}

static void test_world_tcp_chunk_released_only_after_the_guest_prefix(void **state)
{
    (void)state;
    stack k;
    stack_open(&k, "qemu-e1000-http.pcap");
    const vk_rec_tcp *t = only_tcp(k.rec);
    uint64_t syn = rel(&k, t->syn_ts);
    run_to(&k, syn);
    vk_world_flow f = tcp_flow("10.0.2.2", 18080, 32954);
    vk_waddr dst = a4("127.0.0.1", 18080);
    vk_wsock *s = NULL;
    k.in_op = true;
    assert_int_equal(k.w->ops->tcp_connect(k.w, &f, &dst, &events, &k, &s, syn), VK_OK);
    k.in_op = false;
    assert_int_equal(k.n, 0);
    /* the SYN-ACK came 9904 us after the SYN */
    run_to(&k, syn + 9903 * US);
    assert_int_equal(k.n, 0);
    run_to(&k, syn + 9904 * US);
    assert_int_equal(k.n, 1);
    assert_int_equal(k.log[0].what, 'c');
    assert_int_equal(k.log[0].status, VK_OK);
    /* 85 of the 86 request bytes: nothing comes, however long we wait */
    const uint8_t *get = mem_bytes(&t->guest_stream[0].at);
    assert_int_equal(op_send(&k, s, get, 85), 85);
    run_to(&k, syn + 500 * MS);
    assert_int_equal(k.n, 1);
    uint8_t buf[512];
    assert_int_equal(op_recv(&k, s, buf, sizeof buf), VK_EAGAIN);
    /* the last byte: the 186-byte chunk 6111 us later, the 16 bytes 35 us
     * after that, EOF 18 us after that */
    uint64_t t1 = syn + 500 * MS;
    assert_int_equal(op_send(&k, s, get + 85, 1), 1);
    run_to(&k, t1 + 6110 * US);
    assert_int_equal(k.n, 1);
    run_to(&k, t1 + 6111 * US);
    assert_int_equal(k.n, 2);
    assert_int_equal(k.log[1].what, 'r');
    assert_int_equal(op_recv(&k, s, buf, 100), 100);
    assert_memory_equal(buf, "HTTP/1.0 200 OK\r\n", 17);
    assert_int_equal(op_recv(&k, s, buf, sizeof buf), 86);
    assert_int_equal(op_recv(&k, s, buf, sizeof buf), VK_EAGAIN);
    run_to(&k, t1 + 6146 * US);
    assert_int_equal(k.n, 3);
    assert_int_equal(op_recv(&k, s, buf, sizeof buf), 16);
    assert_memory_equal(buf, "hello from host\n", 16);
    run_to(&k, t1 + 6164 * US);
    assert_int_equal(k.n, 4);
    assert_int_equal(op_recv(&k, s, buf, sizeof buf), 0);
    k.in_op = true;
    assert_int_equal(k.w->ops->shutdown_write(k.w, s, vk_loop_now(k.loop)), VK_OK);
    k.w->ops->close(k.w, s, false, vk_loop_now(k.loop));
    k.in_op = false;
    /* the guest's stream matched the recording: no note */
    assert_int_equal(k.rec->notes_total, 0);
    stack_close(&k);
}

/* guestfwd (pcaps/qemu-e1000-guestfwd-cmd.pcap): libslirp answers the SYN
 * itself, so stream_open is connected at once (no `connected`); the
 * command's "HELLO" comes 23314 us after the guest's FIN (frames 20 -> 22),
 * EOF 7938 us later (24); a second connection is not recorded. */
static void test_world_guestfwd_stream_is_the_recorded_connection_at_once(void **state)
{
    (void)state;
    stack k;
    stack_open(&k, "qemu-e1000-guestfwd-cmd.pcap");
    const vk_rec_tcp *t = only_tcp(k.rec);
    assert_int_equal(t->status, VK_OK);
    uint64_t syn = rel(&k, t->syn_ts);
    run_to(&k, syn);
    vk_world_flow f = tcp_flow("10.0.2.100", 7000, 45628);
    vk_wsock *s = NULL;
    k.in_op = true;
    assert_int_equal(k.w->ops->stream_open(k.w, &f, "cmd:tr a-z A-Z", &events, &k, &s, syn),
                     VK_OK);
    k.in_op = false;
    assert_non_null(s);
    assert_int_equal(op_send(&k, s, (const uint8_t *)"hello", 5), 5);
    k.in_op = true;
    assert_int_equal(k.w->ops->shutdown_write(k.w, s, syn), VK_OK);
    k.in_op = false;
    uint8_t buf[64];
    assert_int_equal(op_recv(&k, s, buf, sizeof buf), VK_EAGAIN);
    run_to(&k, syn + 23314 * US - 1);
    assert_int_equal(k.n, 0);
    run_to(&k, syn + 23314 * US);
    assert_int_equal(k.n, 1);
    assert_int_equal(k.log[0].what, 'r'); /* never a 'c' */
    assert_int_equal(op_recv(&k, s, buf, sizeof buf), 5);
    assert_memory_equal(buf, "HELLO", 5);
    run_to(&k, syn + 31252 * US - 1);
    assert_int_equal(op_recv(&k, s, buf, sizeof buf), VK_EAGAIN);
    run_to(&k, syn + 31252 * US);
    assert_int_equal(op_recv(&k, s, buf, sizeof buf), 0);
    k.w->ops->close(k.w, s, false, vk_loop_now(k.loop));
    assert_int_equal(k.rec->notes_total, 0);
    k.in_op = true;
    assert_int_equal(k.w->ops->stream_open(k.w, &f, "cmd:tr a-z A-Z", &events, &k, &s, syn),
                     VK_ECONNREFUSED);
    k.in_op = false;
    assert_int_equal(k.rec->notes_total, 1);
    assert_non_null(strstr(k.rec->notes[0], "guestfwd cmd:tr a-z A-Z"));
    stack_close(&k);
}

static void test_world_tcp_stream_differing_from_the_recording_is_noted(void **state)
{
    (void)state;
    stack k;
    stack_open(&k, "qemu-e1000-http.pcap");
    vk_world_flow f = tcp_flow("10.0.2.2", 18080, 32954);
    vk_waddr dst = a4("127.0.0.1", 18080);
    vk_wsock *s = NULL;
    assert_int_equal(k.w->ops->tcp_connect(k.w, &f, &dst, &events, &k, &s, 0), VK_OK);
    run_to(&k, 10 * MS);
    assert_int_equal(k.log[0].status, VK_OK);
    assert_int_equal(op_send(&k, s, (const uint8_t *)"GET /other", 10), 10);
    assert_int_equal(k.rec->notes_total, 1);
    assert_non_null(strstr(k.rec->notes[0], "stream byte 5"));
    k.w->ops->close(k.w, s, true, vk_loop_now(k.loop));
    stack_close(&k);
}

static void test_world_unknown_tcp_flow_is_refused_from_the_loop_and_noted(void **state)
{
    (void)state;
    stack k;
    stack_open(&k, "qemu-e1000-http.pcap");
    run_to(&k, 1 * MS);
    vk_world_flow f = tcp_flow("10.0.2.2", 9999, 40000);
    vk_waddr dst = a4("127.0.0.1", 9999);
    vk_wsock *s = NULL;
    k.in_op = true;
    assert_int_equal(k.w->ops->tcp_connect(k.w, &f, &dst, &events, &k, &s, 1 * MS), VK_OK);
    k.in_op = false;
    assert_int_equal(k.n, 0);
    run_to(&k, 2 * MS);
    assert_int_equal(k.n, 1);
    assert_int_equal(k.log[0].what, 'c');
    assert_int_equal(k.log[0].status, VK_ECONNREFUSED);
    assert_int_equal(k.log[0].now, 1 * MS);
    assert_int_equal(k.rec->notes_total, 1);
    assert_non_null(strstr(k.rec->notes[0], "10.0.2.2:9999"));
    assert_non_null(strstr(k.rec->notes[0], "refused"));
    /* the second connection to the recorded port has no recorded flow */
    vk_world_flow g = tcp_flow("10.0.2.2", 18080, 32954);
    vk_waddr d2 = a4("127.0.0.1", 18080);
    vk_wsock *s1 = NULL, *s2 = NULL;
    k.w->ops->close(k.w, s, false, 2 * MS);
    assert_int_equal(k.w->ops->tcp_connect(k.w, &g, &d2, &events, &k, &s1, 2 * MS), VK_OK);
    assert_int_equal(k.w->ops->tcp_connect(k.w, &g, &d2, &events, &k, &s2, 2 * MS), VK_OK);
    run_to(&k, 20 * MS);
    assert_int_equal(k.n, 3);
    assert_int_equal(k.log[1].s, s2); /* refused at once */
    assert_int_equal(k.log[1].status, VK_ECONNREFUSED);
    assert_int_equal(k.log[2].s, s1); /* the recorded one, 9904 us later */
    assert_int_equal(k.log[2].status, VK_OK);
    assert_int_equal(k.log[2].now, 2 * MS + 9904 * US);
    assert_int_equal(k.rec->notes_total, 2);
    /* closing with releases still scheduled: nothing comes afterwards */
    k.w->ops->close(k.w, s1, true, 20 * MS);
    k.w->ops->close(k.w, s2, true, 20 * MS);
    stack_close(&k);
}

static vk_world_flow udp_flow(const char *dst, uint16_t dport, uint16_t sport)
{
    vk_world_flow f = tcp_flow(dst, dport, sport);
    f.proto = 17;
    return f;
}

static long op_recvfrom(stack *k, vk_wsock *s, uint8_t *buf, size_t cap, vk_waddr *from)
{
    k->in_op = true;
    long r = k->w->ops->recvfrom(k->w, s, buf, cap, from, vk_loop_now(k->loop));
    k->in_op = false;
    return r;
}

static int op_sendto(stack *k, vk_wsock *s, const vk_waddr *dst, const uint8_t *p, size_t n)
{
    k->in_op = true;
    int r = k->w->ops->sendto(k->w, s, dst, p, n, 64, vk_loop_now(k->loop));
    k->in_op = false;
    return r;
}

static void test_world_dns_answers_matched_by_id_and_name_not_order(void **state)
{
    (void)state;
    stack k;
    stack_open(&k, "qemu-e1000-udp-dns.pcap");
    vk_world_flow f = udp_flow("10.0.2.3", 53, 36455);
    vk_waddr server;
    assert_int_equal(k.w->ops->dns_server(k.w, 4, &server, 0), VK_OK);
    vk_wsock *s = NULL;
    assert_int_equal(k.w->ops->udp_open(k.w, &f, NULL, &events, &k, &s, 0), VK_OK);
    run_to(&k, 100 * MS);
    /* the AAAA query (id 0xc0af) first, the A query (0x2626) 1 ms later */
    const vk_rec_dns *aaaa = &k.rec->dns[1], *a = &k.rec->dns[0];
    uint8_t q_aaaa[64], q_a[64];
    /* the queries as the guest sent them: the answer with QR cleared and
     * NXDOMAIN flags back to a plain recursive query */
    memcpy(q_aaaa, mem_bytes(&aaaa->replies.d[0].at), 33);
    memcpy(q_a, mem_bytes(&a->replies.d[0].at), 33);
    q_aaaa[2] = q_a[2] = 0x01;
    q_aaaa[3] = q_a[3] = 0x00;
    assert_int_equal(op_sendto(&k, s, &server, q_aaaa, 33), VK_OK);
    run_to(&k, 101 * MS);
    assert_int_equal(op_sendto(&k, s, &server, q_a, 33), VK_OK);
    /* AAAA answered 105 us after its query, A 497 us after its own */
    run_to(&k, 200 * MS);
    assert_int_equal(k.n, 2);
    assert_int_equal(k.log[0].now, 100 * MS + 105 * US);
    assert_int_equal(k.log[1].now, 101 * MS + 497 * US);
    uint8_t buf[128];
    vk_waddr from;
    assert_int_equal(op_recvfrom(&k, s, buf, sizeof buf, &from), 33);
    assert_int_equal(buf[0], 0xc0);
    assert_int_equal(buf[1], 0xaf);
    assert_true(vk_waddr_eq(&from, &server));
    assert_int_equal(op_recvfrom(&k, s, buf, sizeof buf, &from), 33);
    assert_int_equal(buf[0], 0x26);
    assert_int_equal(op_recvfrom(&k, s, buf, sizeof buf, &from), VK_EAGAIN);
    /* a name the recording never asked: port unreachable, noted */
    static const uint8_t other[] = {0x26, 0x26, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                                    5, 'o', 't', 'h', 'e', 'r', 0, 0, 1, 0, 1};
    assert_int_equal(op_sendto(&k, s, &server, other, sizeof other), VK_OK);
    run_to(&k, 300 * MS);
    assert_int_equal(op_recvfrom(&k, s, buf, sizeof buf, &from), VK_EPORTUNREACH);
    assert_int_equal(k.rec->notes_total, 1);
    assert_non_null(strstr(k.rec->notes[0], "'other'"));
    k.w->ops->close(k.w, s, false, 300 * MS);
    stack_close(&k);
}

static void test_world_udp_replies_follow_the_datagram_count_from_the_address_sent_to(
    void **state)
{
    (void)state;
    stack k;
    stack_open(&k, "qemu-e1000-udp-dns.pcap");
    vk_waddr echo = a4("10.0.2.2", 17777);
    const vk_rec_udp *u = udp_to(k.rec, &echo);
    vk_world_flow f = udp_flow("10.0.2.2", 17777, 35314);
    vk_waddr dst = a4("127.0.0.1", 17777);
    vk_wsock *s = NULL;
    assert_int_equal(k.w->ops->udp_open(k.w, &f, NULL, &events, &k, &s, 0), VK_OK);
    run_to(&k, 50 * MS);
    /* four of the five first copies: no reply (the first came after the fifth) */
    for (int i = 0; i < 4; i++)
        assert_int_equal(op_sendto(&k, s, &dst, mem_bytes(&u->dg.d[i].at), u->dg.d[i].len), VK_OK);
    run_to(&k, 60 * MS);
    assert_int_equal(k.n, 0);
    assert_int_equal(op_sendto(&k, s, &dst, mem_bytes(&u->dg.d[4].at), u->dg.d[4].len), VK_OK);
    run_to(&k, 60 * MS + 9773 * US);
    assert_int_equal(k.n, 0);
    run_to(&k, 60 * MS + 9774 * US);
    assert_int_equal(k.n, 1);
    uint8_t buf[64];
    vk_waddr from;
    assert_int_equal(op_recvfrom(&k, s, buf, sizeof buf, &from), 31);
    assert_memory_equal(buf, "echo:", 5);
    /* the reply comes from the address the stack sent to */
    assert_true(vk_waddr_eq(&from, &dst));
    run_to(&k, 80 * MS);
    size_t got = 1;
    while (op_recvfrom(&k, s, buf, sizeof buf, &from) == 31)
        got++;
    assert_int_equal(got, 5);
    assert_int_equal(k.rec->notes_total, 0);
    k.w->ops->close(k.w, s, false, 80 * MS);
    /* a socket to a port the recording never saw: port unreachable, noted */
    vk_world_flow g = udp_flow("10.0.2.2", 4444, 35315);
    vk_waddr d2 = a4("127.0.0.1", 4444);
    assert_int_equal(k.w->ops->udp_open(k.w, &g, NULL, &events, &k, &s, 80 * MS), VK_OK);
    assert_int_equal(op_sendto(&k, s, &d2, buf, 4), VK_OK);
    run_to(&k, 90 * MS);
    assert_int_equal(op_recvfrom(&k, s, buf, sizeof buf, &from), VK_EPORTUNREACH);
    assert_int_equal(k.rec->notes_total, 1);
    k.w->ops->close(k.w, s, false, 90 * MS);
    stack_close(&k);
}

/* The HTTP capture with the roles swapped (slirp's side taken as the guest)
 * has a connection opened from the network side: a hostfwd connection. */
static void test_world_inbound_connection_is_accepted_at_its_recorded_time(void **state)
{
    (void)state;
    stack k;
    memset(&k, 0, sizeof k);
    k.cap = load("qemu-e1000-http.pcap");
    k.rec = build_swapped(k.cap);
    const vk_rec_tcp *t = only_tcp(k.rec);
    assert_true(t->inbound);
    assert_int_equal(t->guest.port, 18080);
    assert_int_equal(t->peer.port, 32954);
    /* the peer's first bytes are the GET, after nothing from the "guest" */
    assert_int_equal(t->ev[0].kind, VK_REC_DATA);
    assert_int_equal(t->ev[0].len, 86);
    assert_int_equal(t->ev[0].prefix, 0);
    stack_start(&k);
    vk_waddr local = a4("0.0.0.0", 18080);
    vk_wsock *l = NULL;
    assert_int_equal(k.w->ops->tcp_listen(k.w, &local, &events, &k, &l, 0), VK_OK);
    uint64_t syn = rel(&k, t->syn_ts);
    run_to(&k, syn + 1 * US);
    assert_int_equal(k.n, 1);
    assert_int_equal(k.log[0].what, 'a');
    assert_int_equal(k.log[0].now, syn);
    assert_int_equal(k.log[0].peer.port, 32954);
    vk_wsock *c = k.log[0].s;
    c->ev = &events;
    c->ctx = &k;
    /* the GET: 22.769 ms after the accept (frame 13 .281144 -> 16 .303913) */
    run_to(&k, syn + 22769 * US);
    assert_int_equal(k.n, 2);
    assert_int_equal(k.log[1].what, 'r');
    assert_int_equal(k.log[1].s, c);
    uint8_t buf[128];
    assert_int_equal(op_recv(&k, c, buf, sizeof buf), 86);
    assert_memory_equal(buf, "GET /hello.txt", 14);
    k.w->ops->close(k.w, c, false, vk_loop_now(k.loop));
    k.w->ops->close(k.w, l, false, vk_loop_now(k.loop));
    stack_close(&k);
}

/* The UDP capture with the roles swapped: the echo exchange becomes an
 * inbound (hostfwd=udp) socket on guest port 17777. */
static void test_world_hostfwd_udp_datagrams_arrive_at_their_recorded_times(void **state)
{
    (void)state;
    stack k;
    memset(&k, 0, sizeof k);
    k.cap = load("qemu-e1000-udp-dns.pcap");
    k.rec = build_swapped(k.cap);
    vk_waddr gw = a4("10.0.2.2", 17777), client = a4("10.0.2.15", 35314);
    const vk_rec_udp *u = NULL;
    for (size_t i = 0; i < k.rec->nudp; i++)
        if (k.rec->udp[i].inbound && vk_waddr_eq(&k.rec->udp[i].guest, &gw))
            u = &k.rec->udp[i];
    assert_non_null(u);
    assert_true(vk_waddr_eq(&u->first_dst, &client));
    stack_start(&k);
    vk_world_flow f = {.family = 4, .proto = 17, .src4 = gw.ip4, .src_port = 17777};
    vk_waddr bind = a4("0.0.0.0", 17777);
    vk_wsock *s = NULL;
    assert_int_equal(k.w->ops->udp_open(k.w, &f, &bind, &events, &k, &s, 0), VK_OK);
    /* frames 13-17: the client's five copies at their capture times */
    uint64_t t13 = rel(&k, u->dg.d[0].ts);
    run_to(&k, t13 - 1);
    assert_int_equal(k.n, 0);
    run_to(&k, t13);
    assert_int_equal(k.n, 1);
    uint8_t buf[64];
    vk_waddr from, lo = a4("127.0.0.1", 35314);
    assert_int_equal(op_recvfrom(&k, s, buf, sizeof buf, &from), 26);
    assert_true(vk_waddr_eq(&from, &lo)); /* a loopback client, as hostfwd sees it */
    run_to(&k, t13 + 1 * MS);
    size_t got = 1;
    while (op_recvfrom(&k, s, buf, sizeof buf, &from) == 26)
        got++;
    assert_int_equal(got, 5);
    /* the sixth (frame 25) only after five answers, 518018 us after the
     * fifth answer (frame 22 .607512 -> 25 433.125530) */
    run_to(&k, t13 + 100 * MS);
    assert_int_equal(op_recvfrom(&k, s, buf, sizeof buf, &from), VK_EAGAIN);
    static const uint8_t answer[31] = "echo:";
    for (int i = 0; i < 5; i++)
        assert_int_equal(op_sendto(&k, s, &lo, answer, sizeof answer), VK_OK);
    size_t before = k.n;
    run_to(&k, t13 + 100 * MS + 518017 * US);
    assert_int_equal(k.n, before);
    run_to(&k, t13 + 100 * MS + 518018 * US);
    assert_int_equal(k.n, before + 1);
    assert_int_equal(op_recvfrom(&k, s, buf, sizeof buf, &from), 26);
    /* the answers differ from the recorded ones ("echo:" + request): noted */
    assert_int_equal(k.rec->notes_total, 1);
    k.w->ops->close(k.w, s, false, vk_loop_now(k.loop));
    stack_close(&k);
}

static void add_echo(vk_capture *c, uint64_t ts, bool request, uint16_t id, uint16_t seq)
{
    uint8_t m[64];
    size_t n;
    static const uint8_t data[16] = "0123456789abcdef";
    vk_icmp_repr r = {.type = request ? VK_ICMP_ECHO_REQUEST : VK_ICMP_ECHO_REPLY, .id = id,
                      .seq = seq, .data = data, .data_len = sizeof data};
    assert_int_equal(vk_icmp_emit(&r, m, sizeof m, &n), VK_OK);
    add_ip_peer(c, ts, request, 1, "192.0.2.1", m, n);
}

static void test_world_echo_replies_follow_their_request(void **state)
{
    (void)state;
    stack k;
    memset(&k, 0, sizeof k);
    k.cap = vk_capture_new(NULL);
    uint64_t s0 = 1000 * 1000 * MS;
    add_echo(k.cap, s0, true, 77, 1);
    add_echo(k.cap, s0 + 5 * MS, false, 77, 1);
    add_echo(k.cap, s0 + 1000 * MS, true, 77, 2);
    add_echo(k.cap, s0 + 1007 * MS, false, 77, 2);
    k.rec = build(k.cap);
    assert_int_equal(k.rec->nping, 2);
    assert_int_equal(k.rec->ping[1].replies.d[0].delay, 7 * MS);
    stack_start(&k);
    vk_world_flow f = {.family = 4, .proto = 1, .src_port = 77};
    f.src4 = a4("10.0.2.15", 0).ip4;
    f.dst4 = a4("192.0.2.1", 0).ip4;
    vk_waddr dst = a4("192.0.2.1", 0);
    vk_wsock *s = NULL;
    assert_int_equal(k.w->ops->ping_open(k.w, &f, &events, &k, &s, 0), VK_OK);
    /* the second request first: its reply 7 ms later */
    uint8_t req[24] = {8, 0, 0, 0, 0, 77, 0, 2};
    run_to(&k, 100 * MS);
    assert_int_equal(op_sendto(&k, s, &dst, req, sizeof req), VK_OK);
    run_to(&k, 107 * MS - 1);
    assert_int_equal(k.n, 0);
    run_to(&k, 107 * MS);
    assert_int_equal(k.n, 1);
    uint8_t buf[64];
    vk_waddr from;
    assert_int_equal(op_recvfrom(&k, s, buf, sizeof buf, &from), 24);
    assert_int_equal(buf[0], VK_ICMP_ECHO_REPLY);
    assert_int_equal(buf[7], 2);
    assert_true(vk_waddr_eq(&from, &dst));
    /* a sequence number the recording never saw: host unreachable, noted */
    req[7] = 9;
    assert_int_equal(op_sendto(&k, s, &dst, req, sizeof req), VK_OK);
    run_to(&k, 200 * MS);
    assert_int_equal(op_recvfrom(&k, s, buf, sizeof buf, &from), VK_EHOSTUNREACH);
    assert_int_equal(k.rec->notes_total, 1);
    assert_non_null(strstr(k.rec->notes[0], "seq 9"));
    k.w->ops->close(k.w, s, false, 200 * MS);
    stack_close(&k);
}

static void test_builder_replies_to_requests_past_the_cap_are_orphans(void **state)
{
    (void)state;
    /* VK_REC_FLOWS_MAX requests are kept; one more reuses the id and seq of
     * the first: its reply must not become a second reply of the first */
    vk_capture *c = vk_capture_new(NULL);
    uint64_t t = 1000 * MS;
    for (uint32_t i = 0; i < VK_REC_FLOWS_MAX; i++, t += MS) {
        add_echo(c, t, true, (uint16_t)(i >> 16), (uint16_t)i);
        add_echo(c, t, false, (uint16_t)(i >> 16), (uint16_t)i);
    }
    add_echo(c, t, true, 0, 0);
    add_echo(c, t + MS, false, 0, 0);
    vk_recording *r = build(c);
    assert_int_equal(r->nping, VK_REC_FLOWS_MAX);
    assert_int_equal(r->st.flows_full, 1);
    assert_int_equal(r->ping[0].replies.n, 1);
    assert_int_equal(r->st.orphans, 1);
    vk_recording_unref(r);
    vk_capture_free(c);
}

/* A TCP segment over IPv6, guest fec0::15 port 40000 <> fec0::2 port 80. */
static void add_tcp6(vk_capture *c, uint64_t ts, bool from_guest, uint32_t seq, uint32_t ack,
                     uint8_t flags, const char *data)
{
    vk_ip6 g, h;
    assert_int_equal(vk_ip6_parse("fec0::15", &g), VK_OK);
    assert_int_equal(vk_ip6_parse("fec0::2", &h), VK_OK);
    uint8_t seg[1500], f[1600];
    size_t n, w, w2;
    vk_tcp_repr t = {.src_port = from_guest ? 40000 : 80, .dst_port = from_guest ? 80 : 40000,
                     .seq = seq, .ack = ack, .flags = flags, .window = 65535,
                     .payload = (const uint8_t *)data, .payload_len = data ? strlen(data) : 0};
    uint32_t ps = from_guest ? vk_csum_pseudo6(&g, &h, 6) : vk_csum_pseudo6(&h, &g, 6);
    assert_int_equal(vk_tcp_emit(&t, ps, seg, sizeof seg, &n), VK_OK);
    vk_eth_repr eth = {.dst = from_guest ? slirp_mac : guest_mac,
                       .src = from_guest ? guest_mac : slirp_mac, .ethertype = 0x86dd};
    assert_int_equal(vk_eth_emit(&eth, f, sizeof f, &w), VK_OK);
    vk_ipv6_repr ip = {.next_header = 6, .hop_limit = 64, .src = from_guest ? g : h,
                       .dst = from_guest ? h : g, .payload = seg, .payload_len = n};
    assert_int_equal(vk_ipv6_emit(&ip, f + w, sizeof f - w, &w2), VK_OK);
    assert_int_equal(vk_capture_append(c, ts, f, w + w2, 0, 0), VK_OK);
}

static void test_world_ipv6_tcp_flow_replays_like_ipv4(void **state)
{
    (void)state;
    stack k;
    memset(&k, 0, sizeof k);
    k.cap = vk_capture_new(NULL);
    uint64_t s0 = 1000 * 1000 * MS;
    add_tcp6(k.cap, s0, true, 100, 0, VK_TCP_SYN, NULL);
    add_tcp6(k.cap, s0 + 2 * MS, false, 64000, 101, VK_TCP_SYN | VK_TCP_ACK, NULL);
    add_tcp6(k.cap, s0 + 3 * MS, true, 101, 64001, VK_TCP_ACK | VK_TCP_PSH, "ping");
    add_tcp6(k.cap, s0 + 4 * MS, false, 64001, 105, VK_TCP_ACK | VK_TCP_PSH, "pong");
    k.rec = build(k.cap);
    const vk_rec_tcp *t = only_tcp(k.rec);
    assert_int_equal(t->peer.family, 6);
    assert_int_equal(t->peer.port, 80);
    assert_int_equal(t->connect_delay, 2 * MS);
    assert_int_equal(t->nev, 1);
    assert_int_equal(t->ev[0].prefix, 4);
    stack_start(&k);
    vk_world_flow f = {.family = 6, .proto = 6, .src_port = 40000, .dst_port = 80};
    assert_int_equal(vk_ip6_parse("fec0::15", &f.src6), VK_OK);
    assert_int_equal(vk_ip6_parse("fec0::2", &f.dst6), VK_OK);
    vk_waddr dst = {.family = 6, .port = 80};
    dst.ip6.b[15] = 1;
    vk_wsock *s = NULL;
    assert_int_equal(k.w->ops->tcp_connect(k.w, &f, &dst, &events, &k, &s, 0), VK_OK);
    run_to(&k, 2 * MS);
    assert_int_equal(k.n, 1);
    assert_int_equal(k.log[0].status, VK_OK);
    assert_int_equal(op_send(&k, s, (const uint8_t *)"ping", 4), 4);
    run_to(&k, 3 * MS);
    assert_int_equal(k.n, 2);
    uint8_t buf[16];
    assert_int_equal(op_recv(&k, s, buf, sizeof buf), 4);
    assert_memory_equal(buf, "pong", 4);
    assert_int_equal(k.rec->notes_total, 0);
    k.w->ops->close(k.w, s, false, 3 * MS);
    stack_close(&k);
}

/* ---- the recording by file position (replay reads the capture, never holds it) ---- */

/* The guest's frames and the ones to it, as vk_recording_build_mac tells them. */
static bool side_by_mac(const vk_cap_frame *f, bool *guest)
{
    if (f->len < 12 || f->dropped)
        return false;
    *guest = memcmp(f->data + 6, guest_mac.b, 6) == 0;
    return *guest || memcmp(f->data, guest_mac.b, 6) == 0 || (f->data[0] & 1);
}

/* A recording built from the file, frame by frame, as `vnetkit replay` does. */
static vk_recording *build_from_file(const char *path)
{
    vk_capture_reader *rd;
    vk_rec_builder *b;
    vk_recording *r = NULL;
    vk_diag d;
    assert_int_equal(vk_capture_open(path, &rd, &d), VK_OK);
    vk_cap_frame f;
    bool first = true, guest;
    b = NULL;
    while (vk_capture_next(rd, &f, &d) == 1) {
        if (first)
            assert_int_equal(vk_rec_builder_new(f.ts_ns, path, &b, &d), VK_OK);
        first = false;
        assert_int_not_equal(f.pos, VK_CAP_POS_NONE);
        if (side_by_mac(&f, &guest))
            assert_int_equal(vk_rec_builder_add(b, &f, guest), VK_OK);
    }
    vk_capture_reader_free(rd);
    assert_int_equal(vk_rec_builder_finish(b, &r, &d), VK_OK);
    return r;
}

static void test_recording_by_file_position_reads_back_every_chunk_and_datagram(void **state)
{
    (void)state;
    static const char *const caps[] = {"qemu-e1000-http-1m.pcap", "qemu-e1000-udp-dns.pcap",
                                       "qemu-e1000-dns-udp-tcp.pcap", "qemu-e1000-hostfwd.pcap"};
    static uint8_t a[1u << 20], b[1u << 20];
    for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/pcaps/%s", VK_SOURCE_DIR, caps[k]);
        vk_capture *c = load(caps[k]);
        vk_recording *held = build(c), *file = build_from_file(path);
        /* the same recording, its bytes by file offset instead of in memory */
        assert_int_equal(file->ntcp, held->ntcp);
        assert_int_equal(file->nudp, held->nudp);
        assert_int_equal(file->ndns, held->ndns);
        for (size_t i = 0; i < held->ntcp; i++) {
            const vk_rec_tcp *x = &held->tcp[i], *y = &file->tcp[i];
            assert_int_equal(y->nev, x->nev);
            for (size_t j = 0; j < x->nev; j++) {
                assert_int_equal(y->ev[j].kind, x->ev[j].kind);
                assert_int_equal(y->ev[j].len, x->ev[j].len);
                assert_int_equal(y->ev[j].prefix, x->ev[j].prefix);
                assert_int_equal(y->ev[j].delay, x->ev[j].delay);
                for (size_t s2 = 0; s2 < y->ev[j].nspan; s2++)
                    assert_false(y->spans[y->ev[j].span + s2].mem);
                assert_true(x->ev[j].len <= sizeof a);
                assert_int_equal(vk_recording_read_event(held, x, &x->ev[j], 0, a, sizeof a),
                                 (long)x->ev[j].len);
                assert_int_equal(vk_recording_read_event(file, y, &y->ev[j], 0, b, sizeof b),
                                 (long)x->ev[j].len);
                assert_memory_equal(a, b, x->ev[j].len);
                /* and from the middle, as a recv() that took part of it */
                size_t mid = x->ev[j].len / 3;
                assert_int_equal(vk_recording_read_event(file, y, &y->ev[j], mid, b, 100),
                                 (long)(x->ev[j].len - mid < 100 ? x->ev[j].len - mid : 100));
                assert_memory_equal(a + mid, b, x->ev[j].len - mid < 100 ? x->ev[j].len - mid : 100);
            }
            assert_int_equal(y->npieces, x->npieces);
            for (size_t j = 0; j < x->npieces; j++) {
                assert_int_equal(vk_recording_read(file, &y->guest_stream[j].at, 0, b,
                                                   y->guest_stream[j].len), VK_OK);
                assert_memory_equal(mem_bytes(&x->guest_stream[j].at), b, x->guest_stream[j].len);
            }
        }
        for (size_t i = 0; i < held->nudp; i++)
            for (size_t j = 0; j < held->udp[i].dg.n; j++) {
                const vk_rec_dgram *x = &held->udp[i].dg.d[j], *y = &file->udp[i].dg.d[j];
                assert_int_equal(y->len, x->len);
                assert_int_equal(vk_recording_read(file, &y->at, 0, b, y->len), VK_OK);
                assert_memory_equal(mem_bytes(&x->at), b, x->len);
            }
        for (size_t i = 0; i < held->ndns; i++)
            for (size_t j = 0; j < held->dns[i].replies.n; j++) {
                const vk_rec_dgram *y = &file->dns[i].replies.d[j];
                assert_int_equal(vk_recording_read(file, &y->at, 0, b, y->len), VK_OK);
                assert_memory_equal(mem_bytes(&held->dns[i].replies.d[j].at), b, y->len);
            }
        assert_int_equal(file->io_error, VK_OK);
        vk_recording_unref(held);
        vk_recording_unref(file);
        vk_capture_free(c);
    }
}

/* The 1 MiB download is a few chunks of many segments: its recording holds
 * their positions, a few words a segment, and the bytes come back through
 * the read-ahead buffer, far fewer reads than segments. */
static void test_recording_by_file_position_holds_no_payload(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/pcaps/qemu-e1000-http-1m.pcap", VK_SOURCE_DIR);
    vk_recording *r = build_from_file(path);
    assert_int_equal(r->ntcp, 1);
    const vk_rec_tcp *t = &r->tcp[0];
    size_t bytes = 0;
    for (size_t j = 0; j < t->nev; j++)
        bytes += t->ev[j].len;
    assert_true(bytes >= 1u << 20);
    assert_true(t->nspans > 700);                /* one span a segment */
    assert_int_equal(r->narena, 0);              /* nothing copied */
    static uint8_t buf[1u << 20];
    size_t got = 0;
    for (size_t j = 0; j < t->nev; j++)
        for (size_t off = 0; off < t->ev[j].len;) {
            long n = vk_recording_read_event(r, t, &t->ev[j], off, buf, 4096);
            assert_true(n > 0);
            off += (size_t)n;
            got += (size_t)n;
        }
    assert_int_equal(got, bytes);
    assert_true(r->bytes_read < 2 * (bytes + (bytes / 1400 + 1) * 100));
    vk_recording_unref(r);
}

/* A capture that is cut after the recording was built: reading a chunk back
 * is an error naming the file and the offset, never a crash or stale bytes. */
static void test_recording_by_file_position_reports_a_file_cut_since(void **state)
{
    (void)state;
    char src[512], path[] = "/tmp/vk_rec_cutXXXXXX";
    snprintf(src, sizeof src, "%s/pcaps/qemu-e1000-http-1m.pcap", VK_SOURCE_DIR);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *in = fopen(src, "rb");
    assert_non_null(in);
    static uint8_t buf[1u << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(write(fd, buf, n), (ssize_t)n);
    fclose(in);
    vk_recording *r = build_from_file(path);
    assert_int_equal(ftruncate(fd, 4096), 0);
    close(fd);
    const vk_rec_tcp *t = &r->tcp[0];
    const vk_rec_event *last = NULL;
    for (size_t j = 0; j < t->nev; j++)
        if (t->ev[j].kind == VK_REC_DATA)
            last = &t->ev[j];
    assert_non_null(last);
    assert_int_equal(vk_recording_read_event(r, t, last, 0, buf, sizeof buf), VK_EIO);
    assert_int_equal(r->io_error, VK_EIO);
    assert_non_null(strstr(r->io_msg, path));
    assert_non_null(strstr(r->io_msg, "offset"));
    vk_recording_unref(r);
    unlink(path);
}

/* ---- streamed flows: a long download in a bounded window ---- */

/* A source giving the frames of a held capture again, as the builder got them. */
typedef struct held_source {
    const vk_capture *c;
    size_t i;
} held_source;

static int held_next(void *ctx, vk_cap_frame *f, bool *guest, vk_diag *d)
{
    (void)d;
    held_source *s = ctx;
    while (s->i < s->c->count) {
        const vk_cap_frame *g = &s->c->frames[s->i++];
        if (side_by_mac(g, guest)) {
            *f = *g;
            return 1;
        }
    }
    return 0;
}

/* A download of n peer segments of 100 bytes to port 8080 (PSH on every
 * psh-th, so a chunk is psh segments; segments 4 and 5 of every ten
 * swapped, for the reassembly), the guest sending a second request
 * half-way, and a short flow to port 8081 beside it, answered a third of
 * the way; then both FINs. */
static vk_capture *long_download(size_t n, size_t psh)
{
    vk_capture *c = vk_capture_new(NULL);
    uint64_t t = 1000 * 1000 * MS;
    const uint8_t A = VK_TCP_ACK, AP = VK_TCP_ACK | VK_TCP_PSH;
    add_tcp(c, t, true, 8080, 1000, 0, VK_TCP_SYN, NULL);
    add_tcp(c, t += MS, false, 8080, 5000, 1001, VK_TCP_SYN | VK_TCP_ACK, NULL);
    add_tcp(c, t += MS, true, 8080, 1001, 5001, AP, "GET");
    add_tcp(c, t += MS, true, 8081, 7000, 0, VK_TCP_SYN, NULL);
    add_tcp(c, t += MS, false, 8081, 9000, 7001, VK_TCP_SYN | VK_TCP_ACK, NULL);
    uint32_t g = 1004;
    char seg[101];
    for (size_t i = 0; i < n; i++) {
        size_t k = i % 10 == 4 && i + 1 < n ? i + 1 : i % 10 == 5 ? i - 1 : i;
        for (size_t j = 0; j < 100; j++)
            seg[j] = (char)('a' + (k * 7 + j) % 26);
        seg[100] = '\0';
        add_tcp(c, t += 10 * US, false, 8080, 5001 + (uint32_t)(k * 100), g,
                k % psh == psh - 1 ? AP : A, seg);
        if (i == n / 2) {
            add_tcp(c, t += US, true, 8080, g, 5001 + (uint32_t)(i * 100), AP, "more");
            g += 4;
        }
        if (i == n / 3)
            add_tcp(c, t += US, false, 8081, 9001, 7001, AP, "hi");
    }
    add_tcp(c, t += MS, false, 8080, 5001 + (uint32_t)(n * 100), g, A | VK_TCP_FIN, NULL);
    add_tcp(c, t += MS, false, 8081, 9003, 7001, A | VK_TCP_FIN, NULL);
    return c;
}

/* The recording of c as `vnetkit replay` makes it, flows past hold events
 * streamed and guest streams past hold_pieces pieces streamed (0: held),
 * with c as its source. */
static vk_recording *build_streamed(const vk_capture *c, size_t hold, size_t hold_pieces,
                                    held_source *src)
{
    vk_rec_builder *b;
    vk_recording *r;
    vk_diag d;
    assert_int_equal(vk_rec_builder_new(c->frames[0].ts_ns, NULL, &b, &d), VK_OK);
    vk_rec_builder_set_hold(b, hold);
    vk_rec_builder_set_hold_pieces(b, hold_pieces);
    bool guest;
    for (size_t i = 0; i < c->count; i++)
        if (side_by_mac(&c->frames[i], &guest))
            assert_int_equal(vk_rec_builder_add(b, &c->frames[i], guest), VK_OK);
    assert_int_equal(vk_rec_builder_finish(b, &r, &d), VK_OK);
    *src = (held_source){c, 0};
    assert_int_equal(vk_recording_set_source(r, held_next, src), VK_OK);
    return r;
}

/* A flow past the hold limit keeps only its last event after the build; its
 * events come back, built again, equal to the whole recording's with the
 * same bytes, while the events held ahead stay a few (counted, not timed). */
static void test_recording_streams_a_long_flow_in_a_bounded_window(void **state)
{
    (void)state;
    vk_capture *c = long_download(3000, 3);
    vk_recording *whole = build(c);
    held_source src;
    vk_recording *r = build_streamed(c, 16, 0, &src);
    assert_int_equal(r->ntcp, 2);
    assert_int_equal(whole->ntcp, 2);
    const vk_rec_tcp *t = &r->tcp[0], *w = &whole->tcp[0];
    assert_true(vk_recording_streams(r));
    assert_true(t->streamed);
    assert_false(r->tcp[1].streamed); /* the short flow is held whole */
    assert_int_equal(r->tcp[1].nev, whole->tcp[1].nev);
    assert_int_equal(r->tcp[1].ev_base, 0);
    assert_int_equal(t->nev, w->nev);
    assert_true(w->nev > 1000);
    assert_int_equal(t->nev - t->ev_base, 1); /* held: the last event */
    assert_true(t->nspans <= 1);              /* an EOF: no span */
    /* the conditions, from the steps, as the events say */
    for (uint64_t gs = 0; gs < 10; gs++)
        for (int fin = 0; fin < 2; fin++) {
            size_t n = 0;
            while (n < w->nev && w->ev[n].prefix <= gs && (!w->ev[n].after_guest_fin || fin))
                n++;
            assert_int_equal(vk_rec_tcp_ready(w, gs, fin), n);
            assert_int_equal(vk_rec_tcp_ready(t, gs, fin), n);
        }
    assert_true(t->nsteps <= 3);
    static uint8_t a[1024], b[1024];
    size_t peak = 0;
    for (size_t k = 0; k < w->nev; k++) {
        const vk_rec_tcp *h;
        const vk_rec_event *e = vk_recording_event(r, 0, k, &h);
        const vk_rec_event *x = &w->ev[k];
        assert_non_null(e);
        assert_int_equal(e->kind, x->kind);
        assert_int_equal(e->len, x->len);
        assert_int_equal(e->nspan, x->nspan);
        assert_int_equal(e->prefix, x->prefix);
        assert_int_equal(e->after_guest_fin, x->after_guest_fin);
        assert_int_equal(e->delay, x->delay);
        assert_int_equal(e->frame_no, x->frame_no);
        assert_true(x->len <= sizeof a);
        assert_int_equal(vk_recording_read_event(whole, w, x, 0, a, sizeof a), (long)x->len);
        assert_int_equal(vk_recording_read_event(r, h, e, 0, b, sizeof b), (long)x->len);
        assert_memory_equal(a, b, x->len);
        vk_recording_consumed(r, 0, k + 1);
        assert_true(vk_recording_window(r, &peak) <= 40);
    }
    assert_true(peak >= 2 && peak <= 40);
    assert_int_equal(r->io_error, VK_OK);
    /* consumed: asking again is an error, not stale bytes */
    const vk_rec_tcp *h;
    assert_null(vk_recording_event(r, 0, 0, &h));
    assert_int_equal(r->io_error, VK_EINVAL);
    vk_recording_unref(r);
    vk_recording_unref(whole);
    vk_capture_free(c);
}

/* A streamed flow the world does not read while the capture goes on needs
 * more look-ahead than VK_REC_WINDOW_EVENTS: a failure naming the cap, the
 * window never past it. */
static void test_recording_window_past_its_cap_fails_naming_it(void **state)
{
    (void)state;
    vk_capture *c = long_download(VK_REC_WINDOW_EVENTS + 100, 1);
    held_source src;
    vk_recording *r = build_streamed(c, 16, 0, &src);
    const vk_rec_tcp *h;
    assert_non_null(vk_recording_event(r, 0, 10, &h));
    assert_null(vk_recording_event(r, 0, VK_REC_WINDOW_EVENTS + 50, &h));
    assert_int_equal(r->io_error, VK_EFULL);
    assert_non_null(strstr(r->io_msg, "VK_REC_WINDOW_EVENTS"));
    size_t peak;
    vk_recording_window(r, &peak);
    assert_true(peak <= VK_REC_WINDOW_EVENTS + 1);
    vk_recording_unref(r);
    vk_capture_free(c);
}

/* ---- streamed guest streams: a long upload in a bounded window ---- */

/* Byte pos of the guest's stream in long_upload (never 0: the payloads
 * are C strings). */
static char upload_byte(size_t pos)
{
    return (char)('a' + (pos * 7 + pos / 89) % 26);
}

#define UPLOAD_SEG 100u

/* An upload of n guest segments of UPLOAD_SEG bytes to port 8080 (segments
 * 4 and 5 of every ten swapped, for the reassembly), the peer answering
 * "ok" half-way and "done" once all of it is in; a short flow to port 8081
 * beside it ("ping", answered "pong" a third of the way); then the FINs. */
static vk_capture *long_upload(size_t n)
{
    vk_capture *c = vk_capture_new(NULL);
    uint64_t t = 1000 * 1000 * MS;
    const uint8_t A = VK_TCP_ACK, AP = VK_TCP_ACK | VK_TCP_PSH;
    add_tcp(c, t, true, 8080, 1000, 0, VK_TCP_SYN, NULL);
    add_tcp(c, t += MS, false, 8080, 5000, 1001, VK_TCP_SYN | VK_TCP_ACK, NULL);
    add_tcp(c, t += MS, true, 8081, 7000, 0, VK_TCP_SYN, NULL);
    add_tcp(c, t += MS, false, 8081, 9000, 7001, VK_TCP_SYN | VK_TCP_ACK, NULL);
    add_tcp(c, t += MS, true, 8081, 7001, 9001, AP, "ping");
    uint32_t p = 5001, end = 1001 + (uint32_t)(n * UPLOAD_SEG);
    char seg[UPLOAD_SEG + 1];
    for (size_t i = 0; i < n; i++) {
        size_t k = i % 10 == 4 && i + 1 < n ? i + 1 : i % 10 == 5 ? i - 1 : i;
        for (size_t j = 0; j < UPLOAD_SEG; j++)
            seg[j] = upload_byte(k * UPLOAD_SEG + j);
        seg[UPLOAD_SEG] = '\0';
        add_tcp(c, t += 10 * US, true, 8080, 1001 + (uint32_t)(k * UPLOAD_SEG), p,
                k + 1 == n ? AP : A, seg);
        if (i == n / 2) {
            add_tcp(c, t += US, false, 8080, p, 1001 + (uint32_t)(i * UPLOAD_SEG), AP, "ok");
            p += 2;
        }
        if (i == n / 3)
            add_tcp(c, t += US, false, 8081, 9001, 7005, AP, "pong");
    }
    add_tcp(c, t += MS, false, 8080, p, end, AP, "done");
    p += 4;
    add_tcp(c, t += MS, true, 8080, end, p, A | VK_TCP_FIN, NULL);
    add_tcp(c, t += MS, false, 8080, p, end + 1, A | VK_TCP_FIN, NULL);
    add_tcp(c, t += MS, true, 8081, 7005, 9005, A | VK_TCP_FIN, NULL);
    add_tcp(c, t += MS, false, 8081, 9005, 7006, A | VK_TCP_FIN, NULL);
    return c;
}

/* A flow whose guest stream is past the hold limit keeps none of its
 * pieces after the build (its counts, guest_bytes, FIN and steps as the
 * whole recording's); the pieces come back, built again, piece for piece
 * and byte for byte, while the pieces held ahead stay a few (counted). */
static void test_recording_streams_a_long_upload_in_a_bounded_window(void **state)
{
    (void)state;
    vk_capture *c = long_upload(3000);
    vk_recording *whole = build(c);
    held_source src;
    vk_recording *r = build_streamed(c, 0, 16, &src);
    assert_int_equal(r->ntcp, 2);
    assert_int_equal(whole->ntcp, 2);
    const vk_rec_tcp *t = &r->tcp[0], *w = &whole->tcp[0];
    assert_true(vk_recording_streams(r));
    assert_true(t->guest_streamed);
    assert_false(t->streamed);                /* its few events are held */
    assert_false(w->guest_streamed);
    assert_false(r->tcp[1].guest_streamed);   /* one piece: held */
    assert_int_equal(r->tcp[1].npieces, 1);
    assert_int_equal(t->npieces, 3000);
    assert_int_equal(w->npieces, 3000);
    assert_int_equal(t->npieces - t->piece_base, 0); /* none held */
    assert_null(t->guest_stream);
    assert_int_equal(t->guest_bytes, 3000 * UPLOAD_SEG);
    assert_int_equal(t->guest_bytes, w->guest_bytes);
    assert_true(t->guest_fin && w->guest_fin);
    /* the peer's events and their conditions, as the whole recording's */
    assert_int_equal(t->nev, w->nev);
    assert_int_equal(t->nsteps, w->nsteps);
    for (size_t k = 0; k < w->nev; k++) {
        assert_int_equal(t->ev[k].prefix, w->ev[k].prefix);
        assert_int_equal(t->ev[k].delay, w->ev[k].delay);
    }
    for (uint64_t gs = 0; gs <= w->guest_bytes; gs += 997)
        for (int fin = 0; fin < 2; fin++)
            assert_int_equal(vk_rec_tcp_ready(t, gs, fin), vk_rec_tcp_ready(w, gs, fin));
    uint8_t a[UPLOAD_SEG], b[UPLOAD_SEG];
    size_t peak = 0;
    uint64_t off = 0;
    for (size_t k = 0; k < w->npieces; k++) {
        const vk_rec_piece *p = vk_recording_piece(r, 0, k);
        const vk_rec_piece *x = &w->guest_stream[k];
        assert_non_null(p);
        assert_int_equal(p->off, x->off);
        assert_int_equal(p->off, off);
        assert_int_equal(p->len, x->len);
        assert_int_equal(p->at.len, x->at.len);
        assert_true(x->len <= sizeof a);
        assert_int_equal(vk_recording_read(whole, &x->at, 0, a, x->len), VK_OK);
        assert_int_equal(vk_recording_read(r, &p->at, 0, b, p->len), VK_OK);
        assert_memory_equal(a, b, x->len);
        for (size_t j = 0; j < p->len; j++)
            assert_int_equal(b[j], (uint8_t)upload_byte(p->off + j));
        off += p->len;
        vk_recording_pieces_checked(r, 0, k + 1);
        assert_true(vk_recording_window_pieces(r, &peak) <= 40);
    }
    assert_int_equal(off, w->guest_bytes);
    assert_true(peak >= 1 && peak <= 40);
    assert_int_equal(vk_recording_window(r, NULL), 0); /* no event streamed */
    assert_null(vk_recording_piece(r, 0, w->npieces)); /* the end, not a failure */
    assert_int_equal(r->io_error, VK_OK);
    /* checked: asking again is an error, not stale bytes */
    assert_null(vk_recording_piece(r, 0, 0));
    assert_int_equal(r->io_error, VK_EINVAL);
    assert_non_null(strstr(r->io_msg, "asked for again"));
    vk_recording_unref(r);
    vk_recording_unref(whole);
    vk_capture_free(c);
}

/* A streamed guest stream the world does not check while the capture goes
 * on needs more look-ahead than VK_REC_WINDOW_PIECES: a failure naming the
 * cap and the frame, the window never past it. */
static void test_recording_piece_window_past_its_cap_fails_naming_it(void **state)
{
    (void)state;
    vk_capture *c = long_upload(VK_REC_WINDOW_PIECES + 100);
    held_source src;
    vk_recording *r = build_streamed(c, 0, 16, &src);
    assert_true(r->tcp[0].guest_streamed);
    assert_non_null(vk_recording_piece(r, 0, 10));
    assert_null(vk_recording_piece(r, 0, VK_REC_WINDOW_PIECES + 50));
    assert_int_equal(r->io_error, VK_EFULL);
    assert_non_null(strstr(r->io_msg, "VK_REC_WINDOW_PIECES"));
    /* the piece past the cap: 5 frames before the upload, "pong" after
     * the n/3-th and "ok" after the n/2-th segment (frames count from 1) */
    assert_non_null(strstr(r->io_msg, "frame 65544:"));
    print_message("%s\n", r->io_msg);
    size_t peak;
    vk_recording_window_pieces(r, &peak);
    assert_true(peak <= VK_REC_WINDOW_PIECES + 1);
    vk_recording_unref(r);
    vk_capture_free(c);
}

/* What the world noted while the stack sent long_upload's guest stream in
 * sends of 700 bytes (byte `flip` changed, then `extra` bytes past the
 * end), its recording held (hold_pieces 0) or with the guest stream
 * streamed; *peak: the most pieces held ahead. */
typedef struct upload_notes {
    uint64_t total;
    char first[VK_REC_NOTE_LEN];
    size_t peak, held_after;
} upload_notes;

static upload_notes upload_through_world(const vk_capture *c, size_t hold_pieces, size_t flip,
                                         size_t extra)
{
    stack k;
    memset(&k, 0, sizeof k);
    held_source src;
    k.rec = hold_pieces ? build_streamed(c, 0, hold_pieces, &src) : build(c);
    assert_true(k.rec->tcp[0].guest_streamed == (hold_pieces != 0));
    stack_start(&k);
    const vk_rec_tcp *t = &k.rec->tcp[0];
    uint64_t syn = rel(&k, t->syn_ts);
    run_to(&k, syn);
    vk_world_flow f = tcp_flow("10.0.2.2", 8080, 40000);
    vk_waddr dst = a4("127.0.0.1", 8080);
    vk_wsock *s = NULL;
    k.in_op = true;
    assert_int_equal(k.w->ops->tcp_connect(k.w, &f, &dst, &events, &k, &s, syn), VK_OK);
    k.in_op = false;
    run_to(&k, syn + MS);
    assert_int_equal(k.log[0].what, 'c');
    assert_int_equal(k.log[0].status, VK_OK);
    size_t total = (size_t)t->guest_bytes + extra;
    uint8_t buf[700];
    for (size_t off = 0; off < total;) {
        size_t n = total - off < sizeof buf ? total - off : sizeof buf;
        for (size_t j = 0; j < n; j++)
            buf[j] = (uint8_t)(off + j == flip ? 'Z' : upload_byte(off + j));
        assert_int_equal(op_send(&k, s, buf, n), (long)n);
        off += n;
    }
    upload_notes u = {.total = k.rec->notes_total};
    if (k.rec->nnotes > 0)
        snprintf(u.first, sizeof u.first, "%s", k.rec->notes[0]);
    u.held_after = vk_recording_window_pieces(k.rec, &u.peak);
    assert_int_equal(k.rec->io_error, VK_OK);
    k.w->ops->close(k.w, s, true, vk_loop_now(k.loop));
    assert_int_equal(vk_recording_window_pieces(k.rec, NULL), 0); /* closed: all forgotten */
    stack_close(&k);
    return u;
}

/* The world checks a streamed guest stream as a held one: no note for the
 * recorded bytes, the same note for a byte that differs and for bytes past
 * the end, a few pieces held ahead, none once the check has ended. */
static void test_world_checks_a_streamed_guest_stream_as_a_held_one(void **state)
{
    (void)state;
    vk_capture *c = long_upload(3000);
    static const struct {
        size_t flip, extra;
        const char *note;
    } cases[] = {
        {SIZE_MAX, 0, NULL},
        {123457, 0, "tcp 10.0.2.15:40000 > 10.0.2.2:8080: stream byte 123457 sent to the "
                    "outside differs from the guest's recorded stream"},
        {SIZE_MAX, 10, "tcp 10.0.2.15:40000 > 10.0.2.2:8080: the stack sent 10 bytes past "
                       "the 300000 the guest sent in the recording"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        upload_notes held = upload_through_world(c, 0, cases[i].flip, cases[i].extra);
        upload_notes streamed = upload_through_world(c, 16, cases[i].flip, cases[i].extra);
        assert_int_equal(held.total, cases[i].note != NULL);
        if (cases[i].note != NULL)
            assert_string_equal(held.first, cases[i].note);
        assert_int_equal(streamed.total, held.total);
        assert_string_equal(streamed.first, held.first);
        assert_int_equal(held.peak, 0);
        assert_true(streamed.peak >= 1 && streamed.peak <= 40);
        /* a noted stream is checked no more: its pieces are forgotten */
        if (cases[i].note != NULL)
            assert_int_equal(streamed.held_after, 0);
    }
    vk_capture_free(c);
}

/* Every frame of a streamed capture says where its bytes are in the file,
 * also when the reader gave it an Ethernet header (SLL, SLL2, raw IP) and
 * for pcapng: the network-layer bytes at pos + 14 are the file's. */
static void test_capture_reader_positions_point_at_the_frame_bytes(void **state)
{
    (void)state;
    static const char *const files[] = {"pcaps/qemu-e1000-http.pcap", "pcaps/hub-dhcp-ping.pcapng",
                                        "fuzz/corpus/capture/wild-sll",
                                        "fuzz/corpus/capture/wild-sll2",
                                        "fuzz/corpus/capture/wild-raw"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        for (unsigned flags = VK_CAPTURE_POSITIONS;
             flags <= (VK_CAPTURE_POSITIONS | VK_CAPTURE_CHECKED); flags |= VK_CAPTURE_CHECKED) {
            char path[512];
            snprintf(path, sizeof path, "%s/%s", VK_SOURCE_DIR, files[k]);
            int fd = open(path, O_RDONLY);
            assert_true(fd >= 0);
            vk_capture_reader *rd;
            vk_diag d;
            assert_int_equal(vk_capture_open_ex(path, flags, &rd, &d), VK_OK);
            vk_cap_frame f;
            size_t frames = 0;
            uint8_t buf[VK_ETH_HLEN + 65536];
            while (vk_capture_next(rd, &f, &d) == 1) {
                assert_int_not_equal(f.pos, VK_CAP_POS_NONE);
                size_t n = f.len - VK_ETH_HLEN;
                assert_int_equal(pread(fd, buf, n, (off_t)(f.pos + VK_ETH_HLEN)), (ssize_t)n);
                assert_memory_equal(buf, f.data + VK_ETH_HLEN, n);
                frames++;
            }
            assert_true(frames > 0);
            vk_capture_reader_free(rd);
            close(fd);
            if (flags & VK_CAPTURE_CHECKED)
                break;
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builder_e1000_http_flow_outcome_chunks_and_prefixes),
        cmocka_unit_test(test_recording_by_file_position_reads_back_every_chunk_and_datagram),
        cmocka_unit_test(test_recording_by_file_position_holds_no_payload),
        cmocka_unit_test(test_recording_by_file_position_reports_a_file_cut_since),
        cmocka_unit_test(test_recording_streams_a_long_flow_in_a_bounded_window),
        cmocka_unit_test(test_recording_window_past_its_cap_fails_naming_it),
        cmocka_unit_test(test_recording_streams_a_long_upload_in_a_bounded_window),
        cmocka_unit_test(test_recording_piece_window_past_its_cap_fails_naming_it),
        cmocka_unit_test(test_world_checks_a_streamed_guest_stream_as_a_held_one),
        cmocka_unit_test(test_capture_reader_positions_point_at_the_frame_bytes),
        cmocka_unit_test(test_builder_virtio_http_tftp_flow_and_tftp_left_to_the_stack),
        cmocka_unit_test(test_builder_refused_connection_from_a_reset_before_any_syn_ack),
        cmocka_unit_test(test_builder_udp_echo_replies_count_the_guest_datagrams_before_them),
        cmocka_unit_test(test_builder_dns_queries_keyed_by_id_and_name),
        cmocka_unit_test(test_builder_reorders_dedups_and_reads_every_outcome),
        cmocka_unit_test(test_builder_joins_host_segments_up_to_psh),
        cmocka_unit_test(test_builder_survives_truncated_and_corrupted_frames),
        cmocka_unit_test(test_dns_question_reader_rejects_loops_and_truncation),
        cmocka_unit_test(test_world_tcp_chunk_released_only_after_the_guest_prefix),
        cmocka_unit_test(test_world_tcp_stream_differing_from_the_recording_is_noted),
        cmocka_unit_test(test_world_guestfwd_stream_is_the_recorded_connection_at_once),
        cmocka_unit_test(test_world_unknown_tcp_flow_is_refused_from_the_loop_and_noted),
        cmocka_unit_test(test_world_dns_answers_matched_by_id_and_name_not_order),
        cmocka_unit_test(test_world_udp_replies_follow_the_datagram_count_from_the_address_sent_to),
        cmocka_unit_test(test_world_inbound_connection_is_accepted_at_its_recorded_time),
        cmocka_unit_test(test_world_ipv6_tcp_flow_replays_like_ipv4),
        cmocka_unit_test(test_world_echo_replies_follow_their_request),
        cmocka_unit_test(test_builder_replies_to_requests_past_the_cap_are_orphans),
        cmocka_unit_test(test_world_hostfwd_udp_datagrams_arrive_at_their_recorded_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
