/*
 * The user-mode stack against real QEMU 7.2 / libslirp 4.7 (pcaps/qemu-NAME.pcap):
 * the guest's frames of each capture are fed in at their recorded times on
 * the virtual clock, and every frame the stack sends must equal, byte for
 * byte and in order, the frame libslirp sent in the capture -- IP ids and
 * checksums included.  The only allowance is QEMU's padding: the e1000,
 * ne2k and rtl8139 captures show slirp's short frames zero-padded to 60
 * bytes by QEMU's net layer (not by libslirp), so ours are compared padded.
 * In the captures with NAT traffic (udp-dns, http) only the answers that
 * are not NAT (ARP, DHCP, NDP) are compared here, on both sides (there is
 * no world here; test_user_tcp replays the TCP of the http capture against
 * a scripted world); the NAT frames come after DHCP there, so the IP ids
 * of what is compared still match.
 * The two captures with HTTP are also replayed whole, TCP included, with a
 * scripted world playing the capture's web server (script_from_capture).
 */
#include "test_user_harness.h"

#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_world.h"
#include "wire/buf.h"
#include "wire/tcp.h"

typedef struct rec_frame {
    uint64_t ts;
    uint8_t *data;
    size_t len;
} rec_frame;

typedef struct capture_case {
    const char *file;
    const char *opts;
    const char *tftp_root; /* the recorded TFTP root, under pcaps/ */
    bool nat;        /* expect only the non-NAT answers */
    bool tcp_world;  /* a scripted world plays the capture's TCP peer */
} capture_case;

/* The outside of a capture with one TCP connection, as a world sees it:
 * the connect answers when libslirp's SYN-ACK went out, the peer's bytes
 * and EOF come when libslirp sent them on.  Only timing and bytes are
 * taken from the capture; every header field is the stack's own. */
typedef struct world_event {
    uint64_t at;
    const uint8_t *data;
    size_t len;
    bool eof;
} world_event;

typedef struct world_script {
    fw *w;
    vk_timer *timer;
    world_event ev[64];
    size_t n, next;
} world_script;

static void script_cb(void *arg, uint64_t now)
{
    world_script *sc = arg;
    while (sc->next < sc->n && sc->ev[sc->next].at <= now) {
        const world_event *e = &sc->ev[sc->next++];
        assert_true(sc->w->n >= 1);
        if (e->eof)
            fw_eof(sc->w->socks[0], now);
        else
            fw_push(sc->w->socks[0], e->data, e->len, now);
    }
    if (sc->next < sc->n)
        vk_timer_arm(sc->timer, sc->ev[sc->next].at);
}

static bool frame_tcp(const rec_frame *f, vk_tcp_repr *t)
{
    vk_eth_repr eth;
    vk_ipv4_repr ip;
    return vk_eth_parse(f->data, f->len, &eth) == VK_OK && eth.ethertype == VK_ETHERTYPE_IPV4 &&
           vk_ipv4_parse(eth.payload, eth.payload_len, &ip) == VK_OK &&
           ip.proto == VK_IP_PROTO_TCP &&
           vk_tcp_parse(ip.payload, ip.payload_len, t) == VK_OK;
}

static void script_from_capture(world_script *sc, const rec_frame *frames, size_t n)
{
    uint64_t syn_at = 0;
    for (size_t i = 0; i < n; i++) {
        vk_tcp_repr t;
        if (!frame_tcp(&frames[i], &t))
            continue;
        uint64_t at = frames[i].ts - frames[0].ts;
        bool from_guest = memcmp(frames[i].data + 6, UH_GUEST_MAC, 6) == 0;
        if (from_guest) {
            if (t.flags & VK_TCP_SYN)
                syn_at = at;
            continue;
        }
        if ((t.flags & VK_TCP_SYN) && (t.flags & VK_TCP_ACK))
            sc->w->connect_delay = at - syn_at;
        if (t.payload_len > 0)
            sc->ev[sc->n++] = (world_event){.at = at, .data = t.payload, .len = t.payload_len};
        if (t.flags & VK_TCP_FIN)
            sc->ev[sc->n++] = (world_event){.at = at, .eof = true};
        assert_true(sc->n < 62);
    }
}


static size_t load(const char *file, rec_frame *out, size_t max)
{
    char path[512], err[PCAP_ERRBUF_SIZE];
    snprintf(path, sizeof path, "%s/pcaps/%s", VK_SOURCE_DIR, file);
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
    if (p == NULL)
        fail_msg("%s: %s", path, err);
    size_t n = 0;
    struct pcap_pkthdr *h;
    const u_char *d;
    while (n < max && pcap_next_ex(p, &h, &d) == 1) {
        out[n].ts = (uint64_t)h->ts.tv_sec * VK_NS_PER_SEC + (uint64_t)h->ts.tv_usec;
        out[n].data = malloc(h->caplen);
        memcpy(out[n].data, d, h->caplen);
        out[n].len = h->caplen;
        n++;
    }
    pcap_close(p);
    return n;
}

static void compare_frame(const char *file, size_t k, const vk_frame *ours, const rec_frame *want)
{
    uint8_t padded[VK_ETH_MIN_FRAME];
    const uint8_t *p = ours->data;
    size_t len = ours->len;
    if (len < VK_ETH_MIN_FRAME && want->len == VK_ETH_MIN_FRAME) {
        memset(padded, 0, sizeof padded);
        memcpy(padded, ours->data, len);
        p = padded;
        len = VK_ETH_MIN_FRAME;
    }
    if (len != want->len)
        fail_msg("%s: answer %zu: %zu bytes, capture has %zu", file, k, len, want->len);
    for (size_t i = 0; i < len; i++)
        if (p[i] != want->data[i])
            fail_msg("%s: answer %zu: byte %zu is %02x, capture has %02x", file, k, i, p[i],
                     want->data[i]);
}

/* ARP, IPv6 (NDP) and DHCP answers: what the stack gives without a world. */
static bool is_local_answer(const rec_frame *f)
{
    vk_eth_repr eth;
    vk_ipv4_repr ip;
    if (vk_eth_parse(f->data, f->len, &eth) != VK_OK)
        return false;
    if (eth.ethertype != VK_ETHERTYPE_IPV4)
        return true;
    if (vk_ipv4_parse(eth.payload, eth.payload_len, &ip) != VK_OK || ip.payload_len < 2)
        return false;
    return ip.proto == VK_IP_PROTO_UDP && vk_get_be16(ip.payload) == 67;
}

static void replay(const capture_case *c)
{
    static rec_frame frames[256];
    size_t n = load(c->file, frames, 256);
    assert_true(n > 0);
    char opts[512];
    snprintf(opts, sizeof opts, "user,id=u,tftp=%s/pcaps/%s%s%s", VK_SOURCE_DIR, c->tftp_root,
             c->opts[0] ? "," : "", c->opts);
    uh h;
    uh_open_ok(&h, opts);
    world_script sc = {0};
    if (c->tcp_world) {
        sc.w = fw_new(h.loop);
        assert_int_equal(vk_user_set_world(h.user, &sc.w->base), VK_OK);
        script_from_capture(&sc, frames, n);
        sc.timer = vk_timer_new(h.loop, script_cb, &sc);
        if (sc.n > 0)
            vk_timer_arm(sc.timer, sc.ev[0].at);
    }
    const rec_frame *want[256];
    size_t nwant = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(frames[i].data + 6, UH_GUEST_MAC, 6) != 0) {
            if (!c->nat || is_local_answer(&frames[i]))
                want[nwant++] = &frames[i];
            continue;
        }
        uh_advance(&h, frames[i].ts - frames[0].ts);
        uh_send(&h, frames[i].data, frames[i].len);
    }
    const vk_frame *ours[UH_MAX_FRAMES];
    size_t nours = 0;
    for (size_t k = 0; k < h.ngot; k++) {
        rec_frame r = {.data = h.got[k]->data, .len = h.got[k]->len};
        if (!c->nat || is_local_answer(&r))
            ours[nours++] = h.got[k];
    }
    if (nours != nwant)
        fail_msg("%s: the stack sent %zu frames, libslirp %zu", c->file, nours, nwant);
    for (size_t k = 0; k < nwant; k++)
        compare_frame(c->file, k, ours[k], want[k]);
    if (c->tcp_world)
        assert_int_equal(sc.next, sc.n);
    vk_timer_free(sc.timer);
    uh_close(&h);
    for (size_t i = 0; i < n; i++)
        free(frames[i].data);
}

#define CAPTURE_TEST(fn, file, opts, root, nat)                                               \
    static void fn(void **state)                                                               \
    {                                                                                          \
        (void)state;                                                                           \
        static const capture_case c = {file, opts, root, nat, false};                           \
        replay(&c);                                                                            \
    }

/* The whole http capture, TCP included, byte for byte: the handshake
 * (seq 64001, MSS only), ACK timing, PSH, FIN, TIME_WAIT's ACK, IP ids. */
static void test_capture_http_tcp_matches_libslirp_byte_for_byte(void **state)
{
    (void)state;
    static const capture_case c = {"qemu-e1000-http.pcap", "", "tftp", false, true};
    replay(&c);
}

/* HTTP then TFTP: the TFTP answers' IP ids follow the TCP ones. */
static void test_capture_virtio_http_tftp_matches_libslirp_byte_for_byte(void **state)
{
    (void)state;
    static const capture_case c = {"qemu-virtio-http-tftp.pcap", "", "tftp", false, true};
    replay(&c);
}

CAPTURE_TEST(test_capture_e1000_dhcp_ping_matches_libslirp, "qemu-e1000-dhcp-ping.pcap", "", "tftp",
             false)
CAPTURE_TEST(test_capture_virtio_dhcp_ping_matches_libslirp,
             "qemu-virtio-dhcp-ping.pcap", "", "tftp",
             false)
CAPTURE_TEST(test_capture_rtl8139_dhcp_ping_matches_libslirp,
             "qemu-rtl8139-dhcp-ping.pcap", "", "tftp", false)
CAPTURE_TEST(test_capture_ne2k_dhcp_ping_matches_libslirp, "qemu-ne2k-dhcp-ping.pcap", "", "tftp",
             false)
CAPTURE_TEST(test_capture_dhcp_custom_options_match_libslirp, "qemu-e1000-dhcp-custom.pcap",
             "net=192.168.76.0/24,host=192.168.76.1,dns=192.168.76.9,dhcpstart=192.168.76.50,"
             "hostname=guesty,domainname=example.test,dnssearch=example.test,"
             "dnssearch=lab.example.test,bootfile=pxelinux.0", "tftp", false)
CAPTURE_TEST(test_capture_tftp_tsize_matches_libslirp, "qemu-e1000-tftp.pcap", "", "tftp", false)
CAPTURE_TEST(test_capture_tftp_blksize_matches_libslirp,
             "qemu-e1000-tftp-blksize.pcap", "", "tftp", false)
CAPTURE_TEST(test_capture_tftp_exact_multiple_sends_empty_block,
             "qemu-e1000-tftp-blksize-exact.pcap", "", "tftp-exact", false)
CAPTURE_TEST(test_capture_tftp_missing_file_error_matches_libslirp,
             "qemu-e1000-tftp-enoent.pcap", "", "tftp", false)
CAPTURE_TEST(test_capture_arp_matches_libslirp, "qemu-e1000-arp.pcap", "", "tftp", false)
CAPTURE_TEST(test_capture_ping6_matches_libslirp, "qemu-e1000-ping6.pcap", "", "tftp", false)
CAPTURE_TEST(test_capture_restrict_matches_libslirp,
             "qemu-e1000-restrict.pcap", "restrict=on", "tftp", false)
CAPTURE_TEST(test_capture_udp_dns_local_answers_match_libslirp,
             "qemu-e1000-udp-dns.pcap", "", "tftp",
             true)
CAPTURE_TEST(test_capture_http_local_answers_match_libslirp,
             "qemu-e1000-http.pcap", "", "tftp", true)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_e1000_dhcp_ping_matches_libslirp),
        cmocka_unit_test(test_capture_virtio_dhcp_ping_matches_libslirp),
        cmocka_unit_test(test_capture_rtl8139_dhcp_ping_matches_libslirp),
        cmocka_unit_test(test_capture_ne2k_dhcp_ping_matches_libslirp),
        cmocka_unit_test(test_capture_dhcp_custom_options_match_libslirp),
        cmocka_unit_test(test_capture_tftp_tsize_matches_libslirp),
        cmocka_unit_test(test_capture_tftp_blksize_matches_libslirp),
        cmocka_unit_test(test_capture_tftp_exact_multiple_sends_empty_block),
        cmocka_unit_test(test_capture_tftp_missing_file_error_matches_libslirp),
        cmocka_unit_test(test_capture_arp_matches_libslirp),
        cmocka_unit_test(test_capture_ping6_matches_libslirp),
        cmocka_unit_test(test_capture_restrict_matches_libslirp),
        cmocka_unit_test(test_capture_udp_dns_local_answers_match_libslirp),
        cmocka_unit_test(test_capture_http_local_answers_match_libslirp),
        cmocka_unit_test(test_capture_http_tcp_matches_libslirp_byte_for_byte),
        cmocka_unit_test(test_capture_virtio_http_tftp_matches_libslirp_byte_for_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
