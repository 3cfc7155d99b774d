/*
 * The tracer and filter-dump on a hand-built net: three test ports on a
 * three-port hub.  Per-port pcaps are read back with libpcap; the pcapng is
 * checked with tshark when it is installed (and with libpcap always).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers/scratch.h"
#include "core/loop.h"
#include "core/net.h"
#include "core/options.h"
#include "tracer/filter_dump.h"
#include "tracer/tracer.h"

static char tmpdir[VK_TEST_SCRATCH_MAX];

static int setup(void **state)
{
    (void)state;
    return vk_test_scratch_make(tmpdir, "tracer");
}

static int teardown(void **state)
{
    (void)state;
    return vk_test_scratch_remove(tmpdir);
}

static void tmp_path(char *buf, size_t cap, const char *name)
{
    vk_test_scratch_path(buf, cap, tmpdir, name);
}

/* ---- frames ---- */

static const uint8_t arp_frame[42] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
    10,   0,    2,    15,   0,    0,    0,    0,    0,    0,    10,   0,    2,    2,
};

static const uint8_t udp_frame[44] = {
    0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x1e, 0x00, 0x00, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00, 10,   0,
    2,    15,   10,   0,    2,    2,    0x04, 0xd2, 0x00, 0x35, 0x00, 0x0a, 0x00, 0x00,
    'h',  'i',
};

/* ---- a test port kind ---- */

typedef struct sink {
    unsigned received;
    bool closed;             /* can_receive() says no */
    const char *drop_reason; /* receive() drops with this reason */
} sink;

static int sink_receive(vk_port *self, vk_frame *f)
{
    sink *s = self->priv;
    if (s->drop_reason != NULL) {
        vk_port_drop(self, f, s->drop_reason);
        return VK_EDROP;
    }
    s->received++;
    return VK_OK;
}

static bool sink_can_receive(vk_port *self)
{
    return !((sink *)self->priv)->closed;
}

static const vk_port_ops sink_ops = {
    .kind = "test",
    .receive = sink_receive,
    .can_receive = sink_can_receive,
};

/* hub 0: h0 h1 h2 (interfaces 0-2), test ports a b c (3-5) peers of h0 h1 h2 */
typedef struct fixture {
    vk_loop *loop;
    vk_net *net;
    vk_port *h[3], *a, *b, *c;
} fixture;

static const uint64_t epoch = 1700000000ull * 1000000000ull;

static vk_port *add_sink(vk_net *net, const char *id)
{
    vk_port *p;
    assert_int_equal(vk_port_new(net, &sink_ops, id, "test", sizeof(sink), &p, NULL), VK_OK);
    return p;
}

static void fixture_init(fixture *fx)
{
    vk_diag d = {{0}};
    fx->loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    assert_non_null(fx->loop);
    vk_loop_set_epoch(fx->loop, epoch);
    fx->net = vk_net_new(fx->loop);
    assert_non_null(fx->net);
    static const char *hub_ids[3] = {"h0", "h1", "h2"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(vk_net_add_hubport(fx->net, 0, hub_ids[i], &fx->h[i], &d), VK_OK);
    fx->a = add_sink(fx->net, "a");
    fx->b = add_sink(fx->net, "b");
    fx->c = add_sink(fx->net, "c");
    assert_int_equal(vk_net_connect(fx->a, fx->h[0], &d), VK_OK);
    assert_int_equal(vk_net_connect(fx->b, fx->h[1], &d), VK_OK);
    assert_int_equal(vk_net_connect(fx->c, fx->h[2], &d), VK_OK);
}

/* a sends UDP at epoch+1000, b sends ARP at epoch+2000, c sends UDP at epoch+3000 */
static void fixture_send_three(fixture *fx)
{
    vk_loop_set_epoch(fx->loop, epoch + 1000);
    assert_int_equal(vk_port_send_bytes(fx->a, udp_frame, sizeof udp_frame), VK_OK);
    vk_loop_set_epoch(fx->loop, epoch + 2000);
    assert_int_equal(vk_port_send_bytes(fx->b, arp_frame, sizeof arp_frame), VK_OK);
    vk_loop_set_epoch(fx->loop, epoch + 3000);
    assert_int_equal(vk_port_send_bytes(fx->c, udp_frame, sizeof udp_frame), VK_OK);
}

/* finish before the net goes, close after (tracer.h's lifetime rule) */
static void fixture_free(fixture *fx, vk_tracer *t)
{
    assert_int_equal(vk_tracer_finish(t, NULL), VK_OK);
    vk_net_free(fx->net);
    vk_tracer_close(t);
    vk_loop_free(fx->loop);
}

static vk_tracer *open_tracer(fixture *fx, const vk_trace_config *cfg)
{
    vk_tracer *t = NULL;
    vk_diag d = {{0}};
    int r = vk_tracer_open(fx->net, cfg, &t, &d);
    if (r != VK_OK)
        fail_msg("vk_tracer_open: %s", d.msg);
    return t;
}

/* ---- reading captures ---- */

typedef struct rec {
    uint32_t caplen, len;
    uint64_t ts; /* in the file's precision */
    uint8_t ethertype_lo; /* 0x06 ARP, 0x00 IPv4 */
} rec;

static size_t read_pcap(const char *path, unsigned precision, rec *out, size_t max)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, precision, err);
    if (p == NULL)
        fail_msg("%s: %s", path, err);
    assert_int_equal(pcap_datalink(p), DLT_EN10MB);
    uint64_t scale = precision == PCAP_TSTAMP_PRECISION_NANO ? 1000000000ull : 1000000ull;
    struct pcap_pkthdr *h;
    const u_char *data;
    size_t n = 0;
    int r;
    while ((r = pcap_next_ex(p, &h, &data)) == 1) {
        if (n < max)
            out[n] = (rec){h->caplen, h->len, (uint64_t)h->ts.tv_sec * scale +
                           (uint64_t)h->ts.tv_usec, h->caplen > 13 ? data[13] : 0};
        n++;
    }
    assert_int_equal(r, PCAP_ERROR_BREAK);
    pcap_close(p);
    return n;
}

static void read_header(const char *path, uint8_t hdr[24])
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(hdr, 1, 24, f), 24);
    fclose(f);
}

static bool have_tshark(void)
{
    return system("command -v tshark >/dev/null 2>&1") == 0;
}

static char *tshark_fields(const char *path, const char *fields)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "tshark -n -r '%s' -T fields -E separator='|' %s 2>/dev/null", path,
             fields);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t cap = 16384, len = 0, n;
    char *out = malloc(cap);
    assert_non_null(out);
    while ((n = fread(out + len, 1, cap - len - 1, f)) > 0)
        len += n;
    out[len] = '\0';
    assert_int_equal(pclose(f), 0);
    return out;
}

/* ---- the tracer ---- */

static void test_tracer_dir_has_one_pcap_per_port_with_both_directions(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx);
    char dir[128];
    tmp_path(dir, sizeof dir, "dir/nested"); /* parents are created too */
    vk_trace_config cfg = {.dir = dir};
    vk_tracer *t = open_tracer(&fx, &cfg);
    fixture_send_three(&fx);
    vk_trace_counters c;
    vk_tracer_counters(t, &c);
    assert_int_equal(c.frames_written, 18); /* 3 frames x 6 port crossings */
    assert_int_equal(c.frames_filtered, 0);
    fixture_free(&fx, t);

    static const char *ids[6] = {"h0", "h1", "h2", "a", "b", "c"};
    for (int i = 0; i < 6; i++) {
        char path[192];
        snprintf(path, sizeof path, "%s/%s.pcap", dir, ids[i]);
        uint8_t hdr[24];
        read_header(path, hdr);
        static const uint8_t nano_magic[4] = {0x4d, 0x3c, 0xb2, 0xa1};
        assert_memory_equal(hdr, nano_magic, 4);
        rec r[8];
        assert_int_equal(read_pcap(path, PCAP_TSTAMP_PRECISION_NANO, r, 8), 3);
        for (int k = 0; k < 3; k++)
            assert_true(r[k].ts == epoch + 1000u * (unsigned)(k + 1));
        assert_int_equal(r[0].len, sizeof udp_frame);
        assert_int_equal(r[1].len, sizeof arp_frame);
        assert_int_equal(r[2].len, sizeof udp_frame);
    }
}

static void test_tracer_pcapng_follows_a_frame_across_the_hub(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx);
    char path[128];
    tmp_path(path, sizeof path, "hub.pcapng");
    vk_trace_config cfg = {.pcapng_path = path, .topology_text = "-netdev hubport,id=h0,hubid=0"};
    vk_tracer *t = open_tracer(&fx, &cfg);
    vk_loop_set_epoch(fx.loop, epoch + 5);
    assert_int_equal(vk_port_send_bytes(fx.a, udp_frame, sizeof udp_frame), VK_OK);
    fixture_free(&fx, t);

    rec r[8];
    assert_int_equal(read_pcap(path, PCAP_TSTAMP_PRECISION_NANO, r, 8), 6);
    for (int k = 0; k < 6; k++) {
        assert_true(r[k].ts == epoch + 5);
        assert_int_equal(r[k].caplen, sizeof udp_frame);
    }
    if (!have_tshark())
        skip();
    char *out = tshark_fields(path, "-e frame.interface_name -e frame.interface_description "
                                    "-e frame.packet_flags_direction -e frame.packet_id");
    assert_string_equal(out, "a|test|0x00000002|1\n"
                             "h0|hubport hubid=0|0x00000001|1\n"
                             "h1|hubport hubid=0|0x00000002|1\n"
                             "b|test|0x00000001|1\n"
                             "h2|hubport hubid=0|0x00000002|1\n"
                             "c|test|0x00000001|1\n");
    free(out);
}

static void test_tracer_filter_keeps_only_arp_in_every_output(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx);
    char dir[128], ng[128];
    tmp_path(dir, sizeof dir, "arp");
    tmp_path(ng, sizeof ng, "arp.pcapng");
    vk_trace_config cfg = {.dir = dir, .pcapng_path = ng, .filter = "arp"};
    vk_tracer *t = open_tracer(&fx, &cfg);
    fixture_send_three(&fx);
    vk_trace_counters c;
    vk_tracer_counters(t, &c);
    assert_int_equal(c.frames_written, 6);
    assert_int_equal(c.frames_filtered, 12);
    fixture_free(&fx, t);

    rec r[20];
    assert_int_equal(read_pcap(ng, PCAP_TSTAMP_PRECISION_NANO, r, 20), 6);
    for (int k = 0; k < 6; k++) {
        assert_int_equal(r[k].ethertype_lo, 0x06);
        assert_int_equal(r[k].len, sizeof arp_frame);
    }
    char path[192];
    snprintf(path, sizeof path, "%s/a.pcap", dir);
    assert_int_equal(read_pcap(path, PCAP_TSTAMP_PRECISION_NANO, r, 20), 1);
    assert_int_equal(r[0].len, sizeof arp_frame);
}

static void test_tracer_bad_filter_names_the_expression(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx);
    char dir[128];
    tmp_path(dir, sizeof dir, "never-created");
    vk_trace_config cfg = {.dir = dir, .filter = "tcp port"};
    vk_tracer *t = NULL;
    vk_diag d = {{0}};
    assert_int_equal(vk_tracer_open(fx.net, &cfg, &t, &d), VK_EINVAL);
    assert_null(t);
    assert_non_null(strstr(d.msg, "--trace-filter 'tcp port'"));
    assert_non_null(strstr(d.msg, "syntax error"));
    assert_int_equal(access(dir, F_OK), -1); /* nothing created */
    vk_net_free(fx.net);
    vk_loop_free(fx.loop);
}

static void test_tracer_snaplen_truncates_both_outputs_and_keeps_length(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx);
    char dir[128], ng[128];
    tmp_path(dir, sizeof dir, "snap");
    tmp_path(ng, sizeof ng, "snap.pcapng");
    vk_trace_config cfg = {.dir = dir, .pcapng_path = ng, .snaplen = 20};
    vk_tracer *t = open_tracer(&fx, &cfg);
    fixture_send_three(&fx);
    fixture_free(&fx, t);

    rec r[20];
    assert_int_equal(read_pcap(ng, PCAP_TSTAMP_PRECISION_NANO, r, 20), 18);
    for (int k = 0; k < 18; k++) {
        assert_int_equal(r[k].caplen, 20);
        assert_true(r[k].len == sizeof udp_frame || r[k].len == sizeof arp_frame);
    }
    char path[192];
    snprintf(path, sizeof path, "%s/h1.pcap", dir);
    assert_int_equal(read_pcap(path, PCAP_TSTAMP_PRECISION_NANO, r, 20), 3);
    for (int k = 0; k < 3; k++)
        assert_int_equal(r[k].caplen, 20);
    assert_int_equal(r[1].len, sizeof arp_frame);
}

static void test_tracer_snaplen_over_maximum_is_refused(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx);
    vk_trace_config cfg = {.snaplen = VK_TRACE_SNAPLEN_MAX + 1};
    vk_tracer *t = NULL;
    vk_diag d = {{0}};
    assert_int_equal(vk_tracer_open(fx.net, &cfg, &t, &d), VK_ERANGE);
    assert_non_null(strstr(d.msg, "--trace-snaplen"));
    vk_net_free(fx.net);
    vk_loop_free(fx.loop);
}

static void test_tracer_records_drops_with_their_reason(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx);
    /* d: cannot receive, queue of one; e sends it two frames */
    vk_port *dp = add_sink(fx.net, "d");
    vk_port *ep = add_sink(fx.net, "e");
    assert_int_equal(vk_net_connect(dp, ep, NULL), VK_OK);
    ((sink *)dp->priv)->closed = true;
    vk_port_set_queue_limit(dp, 1);
    /* b drops what it receives */
    ((sink *)fx.b->priv)->drop_reason = "no receive buffers";
    /* f has no peer: what it sends is dropped on the way out */
    vk_port *fp = add_sink(fx.net, "f");

    char ng[128];
    tmp_path(ng, sizeof ng, "drops.pcapng");
    vk_trace_config cfg = {.pcapng_path = ng};
    vk_tracer *t = open_tracer(&fx, &cfg);
    assert_int_equal(vk_port_send_bytes(ep, arp_frame, sizeof arp_frame), VK_OK);
    assert_int_equal(vk_port_send_bytes(ep, udp_frame, sizeof udp_frame), VK_OK);
    assert_int_equal(vk_port_send_bytes(fx.a, arp_frame, sizeof arp_frame), VK_OK);
    assert_int_equal(vk_port_send_bytes(fp, arp_frame, sizeof arp_frame), VK_OK);
    vk_trace_counters c;
    vk_tracer_counters(t, &c);
    assert_int_equal(c.drops_recorded, 3);
    FILE *sum = tmpfile();
    assert_non_null(sum);
    vk_tracer_print_summary(t, fx.net, sum);
    rewind(sum);
    char text[2048] = {0};
    assert_true(fread(text, 1, sizeof text - 1, sum) > 0);
    fclose(sum);
    assert_non_null(strstr(text, "3 drops recorded"));
    assert_non_null(strstr(text, "(1/0/0)")); /* d: one queue-full drop */
    fixture_free(&fx, t);

    rec r[20];
    /* one record per frame, port and direction: a frame dropped after it
     * entered a port (b) or on its way out (f) is the drop record alone */
    assert_int_equal(read_pcap(ng, PCAP_TSTAMP_PRECISION_NANO, r, 20), 10);
    if (!have_tshark())
        skip();
    char *out = tshark_fields(ng, "-e frame.interface_name -e frame.packet_flags_direction "
                                  "-e frame.packet_id -e frame.comment");
    assert_string_equal(out, "e|0x00000002|1|\n"
                             "e|0x00000002|2|\n"
                             "d|0x00000001|2|dropped: queue full\n"
                             "a|0x00000002|3|\n"
                             "h0|0x00000001|3|\n"
                             "h1|0x00000002|3|\n"
                             "b|0x00000001|3|dropped: no receive buffers\n"
                             "h2|0x00000002|3|\n"
                             "c|0x00000001|3|\n"
                             "f|0x00000002|4|dropped: port has no peer\n");
    free(out);
}

static void test_tracer_filter_applies_to_drops_too(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx);
    ((sink *)fx.b->priv)->drop_reason = "no receive buffers";
    char ng[128];
    tmp_path(ng, sizeof ng, "drops-filtered.pcapng");
    vk_trace_config cfg = {.pcapng_path = ng, .filter = "arp"};
    vk_tracer *t = open_tracer(&fx, &cfg);
    assert_int_equal(vk_port_send_bytes(fx.a, udp_frame, sizeof udp_frame), VK_OK);
    vk_trace_counters c;
    vk_tracer_counters(t, &c);
    assert_int_equal(c.drops_recorded, 0);
    assert_int_equal(c.frames_filtered, 6); /* 5 crossings + 1 drop */
    fixture_free(&fx, t);
    rec r[4];
    assert_int_equal(read_pcap(ng, PCAP_TSTAMP_PRECISION_NANO, r, 4), 0);
}

static void test_tracer_rejects_port_ids_that_escape_the_dir(void **state)
{
    (void)state;
    static const char *bad[3] = {"../x", "..", "."};
    for (int i = 0; i < 3; i++) {
        fixture fx;
        fixture_init(&fx);
        add_sink(fx.net, bad[i]);
        char dir[128];
        tmp_path(dir, sizeof dir, "escape");
        vk_trace_config cfg = {.dir = dir};
        vk_tracer *t = NULL;
        vk_diag d = {{0}};
        assert_int_equal(vk_tracer_open(fx.net, &cfg, &t, &d), VK_EINVAL);
        assert_null(t);
        assert_non_null(strstr(d.msg, bad[i]));
        assert_non_null(strstr(d.msg, "--trace-dir"));
        vk_net_free(fx.net);
        vk_loop_free(fx.loop);
    }
}

static void test_tracer_finish_is_idempotent_and_ignores_later_frames(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx);
    char ng[128];
    tmp_path(ng, sizeof ng, "finish.pcapng");
    vk_trace_config cfg = {.pcapng_path = ng};
    vk_tracer *t = open_tracer(&fx, &cfg);
    assert_int_equal(vk_port_send_bytes(fx.a, arp_frame, sizeof arp_frame), VK_OK);
    vk_tracer_flush(t);
    rec r[20];
    /* flushed mid-run: already a valid capture */
    assert_int_equal(read_pcap(ng, PCAP_TSTAMP_PRECISION_NANO, r, 20), 6);
    assert_int_equal(vk_tracer_finish(t, NULL), VK_OK);
    assert_int_equal(vk_tracer_finish(t, NULL), VK_OK);
    assert_int_equal(vk_port_send_bytes(fx.a, arp_frame, sizeof arp_frame), VK_OK);
    vk_trace_counters c;
    vk_tracer_counters(t, &c);
    assert_int_equal(c.frames_written, 6);
    vk_tracer_flush(t);
    fixture_free(&fx, t);
    assert_int_equal(read_pcap(ng, PCAP_TSTAMP_PRECISION_NANO, r, 20), 6);
}

static void test_tracer_write_error_is_counted_and_reported_once(void **state)
{
    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    fixture fx;
    fixture_init(&fx);
    vk_trace_config cfg = {.pcapng_path = "/dev/full"};
    vk_tracer *t = open_tracer(&fx, &cfg);
    for (int i = 0; i < 50; i++)
        assert_int_equal(vk_port_send_bytes(fx.a, udp_frame, sizeof udp_frame), VK_OK);
    vk_diag d = {{0}};
    assert_int_equal(vk_tracer_finish(t, &d), VK_EIO);
    assert_non_null(strstr(d.msg, "/dev/full"));
    vk_trace_counters c;
    vk_tracer_counters(t, &c);
    assert_int_equal(c.frames_written, 300);
    /* nothing reached /dev/full: every record is lost and counted once */
    assert_int_equal(c.write_errors, 300);
    assert_int_equal(vk_tracer_status(t, NULL), VK_EIO);
    vk_net_free(fx.net);
    vk_tracer_close(t);
    vk_loop_free(fx.loop);
}

/* a.pcap is a link to /dev/full: its records are lost (those buffered when
 * the write fails and every later one, each counted once) while the other
 * ports' files stay whole. */
static void test_tracer_dir_write_error_loses_one_file_and_counts_each_record(void **state)
{
    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    char dir[128], link[160];
    tmp_path(dir, sizeof dir, "full-dir");
    assert_int_equal(mkdir(dir, 0777), 0);
    snprintf(link, sizeof link, "%s/a.pcap", dir);
    assert_int_equal(symlink("/dev/full", link), 0);
    fixture fx;
    fixture_init(&fx);
    vk_trace_config cfg = {.dir = dir};
    vk_tracer *t = open_tracer(&fx, &cfg);
    /* 2000 records of 60 bytes: more than one buffer's worth, so the error
     * shows mid-run and again at finish */
    enum { N = 2000 };
    for (int i = 0; i < N; i++)
        assert_int_equal(vk_port_send_bytes(fx.a, udp_frame, sizeof udp_frame), VK_OK);
    vk_diag d = {{0}};
    assert_int_equal(vk_tracer_finish(t, &d), VK_EIO);
    assert_non_null(strstr(d.msg, "a.pcap"));
    vk_trace_counters c;
    vk_tracer_counters(t, &c);
    assert_int_equal(c.frames_written, 6 * N);
    assert_int_equal(c.write_errors, N); /* a's outbound copy of every frame */
    char path[192];
    snprintf(path, sizeof path, "%s/b.pcap", dir);
    rec r[1];
    assert_int_equal(read_pcap(path, PCAP_TSTAMP_PRECISION_NANO, r, 1), N);
    vk_net_free(fx.net);
    vk_tracer_close(t);
    vk_loop_free(fx.loop);
    unlink(link);
}

static void test_tracer_summary_without_tracer_lists_ports(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx);
    fixture_send_three(&fx);
    FILE *f = tmpfile();
    assert_non_null(f);
    vk_tracer_print_summary(NULL, fx.net, f);
    rewind(f);
    char text[2048] = {0};
    assert_true(fread(text, 1, sizeof text - 1, f) > 0);
    fclose(f);
    assert_non_null(strstr(text, "hubport"));
    assert_null(strstr(text, "trace:"));
    vk_net_free(fx.net);
    vk_loop_free(fx.loop);
}

/* ---- filter-dump ---- */

static void test_filter_dump_writes_a_microsecond_pcap_like_qemu(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx);
    char path[128], path2[128];
    tmp_path(path, sizeof path, "fd-a.pcap");
    tmp_path(path2, sizeof path2, "fd-a-30.pcap");
    vk_filter_dump *fd = NULL, *fd2 = NULL;
    vk_diag d = {{0}};
    assert_int_equal(vk_filter_dump_open(fx.net, fx.a, path, 0, &fd, &d), VK_OK);
    assert_int_equal(vk_filter_dump_open(fx.net, fx.a, path2, 30, &fd2, &d), VK_OK);
    fixture_send_three(&fx);
    assert_int_equal(vk_filter_dump_written(fd), 3);
    vk_net_free(fx.net);
    vk_filter_dump_close(fd);
    vk_filter_dump_close(fd2);
    vk_loop_free(fx.loop);

    uint8_t hdr[24];
    read_header(path, hdr);
    static const uint8_t want[24] = {
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* magic, 2.4, zone, sigfigs */
        0x00, 0x00, 0x01, 0x00, 1, 0, 0, 0,                         /* snaplen 65536, linktype 1 */
    };
    assert_memory_equal(hdr, want, 24);
    rec r[8];
    assert_int_equal(read_pcap(path, PCAP_TSTAMP_PRECISION_MICRO, r, 8), 3);
    for (int k = 0; k < 3; k++)
        assert_true(r[k].ts == epoch / 1000 + (uint64_t)(k + 1));
    assert_int_equal(r[0].caplen, sizeof udp_frame);

    read_header(path2, hdr);
    assert_int_equal(hdr[16], 30);
    assert_int_equal(read_pcap(path2, PCAP_TSTAMP_PRECISION_MICRO, r, 8), 3);
    assert_int_equal(r[1].caplen, 30);
    assert_int_equal(r[1].len, sizeof arp_frame);
}

static int create_object(fixture *fx, const char *text, void **obj, vk_diag *d)
{
    vk_opts o;
    int r = vk_opts_parse("-object", "qom-type", text, &o, d);
    assert_int_equal(r, VK_OK);
    vk_opts_mark_used(&o, "qom-type");
    r = vk_object_filter_dump.create(fx->net, &o, obj, d);
    if (r == VK_OK)
        r = vk_opts_check_unused(&o, d);
    vk_opts_free(&o);
    return r;
}

static void test_filter_dump_object_reads_qemu_options(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx);
    char path[128], text[300];
    tmp_path(path, sizeof path, "fd-rx.pcap");
    snprintf(text, sizeof text, "filter-dump,id=f0,netdev=a,file=%s,maxlen=100,queue=rx", path);
    void *obj = NULL;
    vk_diag d = {{0}};
    assert_int_equal(create_object(&fx, text, &obj, &d), VK_OK);
    assert_string_equal(vk_object_filter_dump.name, "filter-dump");
    fixture_send_three(&fx);
    vk_net_free(fx.net);
    vk_object_filter_dump.destroy(obj);
    vk_loop_free(fx.loop);
    rec r[8];
    /* queue=rx: only the two frames that entered a */
    assert_int_equal(read_pcap(path, PCAP_TSTAMP_PRECISION_MICRO, r, 8), 2);
    assert_int_equal(r[0].len, sizeof arp_frame);
}

static void test_filter_dump_object_names_a_missing_netdev(void **state)
{
    (void)state;
    fixture fx;
    fixture_init(&fx);
    void *obj = NULL;
    vk_diag d = {{0}};
    assert_int_equal(create_object(&fx, "filter-dump,id=f0,netdev=nope,file=/tmp/x", &obj, &d),
                     VK_ENOENT);
    assert_non_null(strstr(d.msg, "nope"));
    assert_int_equal(create_object(&fx, "filter-dump,id=f0,netdev=a,file=/tmp/x,queue=up", &obj,
                                   &d),
                     VK_EINVAL);
    assert_non_null(strstr(d.msg, "queue"));
    vk_net_free(fx.net);
    vk_loop_free(fx.loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tracer_dir_has_one_pcap_per_port_with_both_directions),
        cmocka_unit_test(test_tracer_pcapng_follows_a_frame_across_the_hub),
        cmocka_unit_test(test_tracer_filter_keeps_only_arp_in_every_output),
        cmocka_unit_test(test_tracer_bad_filter_names_the_expression),
        cmocka_unit_test(test_tracer_snaplen_truncates_both_outputs_and_keeps_length),
        cmocka_unit_test(test_tracer_snaplen_over_maximum_is_refused),
        cmocka_unit_test(test_tracer_records_drops_with_their_reason),
        cmocka_unit_test(test_tracer_filter_applies_to_drops_too),
        cmocka_unit_test(test_tracer_rejects_port_ids_that_escape_the_dir),
        cmocka_unit_test(test_tracer_finish_is_idempotent_and_ignores_later_frames),
        cmocka_unit_test(test_tracer_write_error_is_counted_and_reported_once),
        cmocka_unit_test(test_tracer_dir_write_error_loses_one_file_and_counts_each_record),
        cmocka_unit_test(test_tracer_summary_without_tracer_lists_ports),
        cmocka_unit_test(test_filter_dump_writes_a_microsecond_pcap_like_qemu),
        cmocka_unit_test(test_filter_dump_object_reads_qemu_options),
        cmocka_unit_test(test_filter_dump_object_names_a_missing_netdev),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
