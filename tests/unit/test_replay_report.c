/*
 * replay/report: JSON strings are escaped so any byte gives valid JSON, the
 * whole report of a real replay is valid JSON (checked by a tiny parser) with
 * the documented top-level keys, and the text verdict reads like a test
 * runner's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/backends.h"
#include "nics/nic.h"
#include "replay/recording.h"
#include "replay/report.h"

static const vk_object_type *const no_objects[] = {NULL};
static const vk_registry reg = {vk_backend_types, vk_nic_models, no_objects,
                                 VK_NIC_DEFAULT_MODEL, NULL};

static char *json_of(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    vk_json_string(f, s);
    fclose(f);
    return buf;
}

static void test_json_strings_are_escaped(void **state)
{
    (void)state;
    char *j = json_of("a\"b\\c\nd\t\x01\x7f\xc3\xa9/");
    assert_string_equal(j, "\"a\\\"b\\\\c\\nd\\t\\u0001\\u007f\\u00c3\\u00a9/\"");
    free(j);
    j = json_of("");
    assert_string_equal(j, "\"\"");
    free(j);
}

/* ---- a tiny JSON validator (RFC 8259 grammar, no semantics) ---- */

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static const char *value(const char *p, int depth);

static const char *string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!isxdigit((unsigned char)p[i]))
                        return NULL;
                p += 4;
            } else if (strchr("\"\\/bfnrt", *p) == NULL || *p == '\0') {
                return NULL;
            }
        }
        p++;
    }
    return p + 1;
}

static const char *number(const char *p)
{
    const char *s = p;
    if (*p == '-')
        p++;
    while (isdigit((unsigned char)*p) || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' ||
           *p == '-')
        p++;
    return p > s ? p : NULL;
}

static const char *container(const char *p, int depth, char close, bool keyed)
{
    p = ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (keyed) {
            if ((p = string(ws(p))) == NULL || *(p = ws(p)) != ':')
                return NULL;
            p++;
        }
        if ((p = value(p, depth + 1)) == NULL)
            return NULL;
        p = ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
    }
}

static const char *value(const char *p, int depth)
{
    p = ws(p);
    if (depth > 32)
        return NULL;
    if (*p == '{')
        return container(p, depth, '}', true);
    if (*p == '[')
        return container(p, depth, ']', false);
    if (*p == '"')
        return string(p);
    if (strncmp(p, "null", 4) == 0 || strncmp(p, "true", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    return number(p);
}

static bool json_valid(const char *s)
{
    const char *end = value(s, 0);
    return end != NULL && *ws(end) == '\0';
}

static void test_validator_rejects_broken_json(void **state)
{
    (void)state;
    assert_true(json_valid("{\"a\": [1, 2.5, \"x\\u00e9\", null, {}]}"));
    assert_false(json_valid("{\"a\": \"\x01\"}"));
    assert_false(json_valid("{\"a\": [1, 2}"));
    assert_false(json_valid("{\"a\" 1}"));
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static vk_replay *hub_replay(const char *guest_mac)
{
    assert_int_equal(chdir(VK_SOURCE_DIR), 0);
    vk_topology *t = vk_topology_new();
    vk_diag d;
    assert_int_equal(vk_topology_load_file(t, "pcaps/hub-dhcp-ping-golden.topo", &d), VK_OK);
    static vk_mac mac;
    vk_replay_config cfg = {.capture_path = "pcaps/hub-dhcp-ping-golden.pcap", .reg = &reg,
                            .port_id = "g", .norm = VK_NORM_DEFAULT,
                            .settle_ns = VK_REPLAY_SETTLE_DEFAULT};
    if (guest_mac != NULL) {
        vk_mac_parse(guest_mac, &mac);
        cfg.guest_mac = &mac;
    }
    vk_replay *r;
    assert_int_equal(vk_replay_run(&cfg, t, &r, &d), VK_OK);
    return r;
}

static void check_report(vk_replay *r, const char *verdict)
{
    char path[] = "/tmp/vk-test-replay-report-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    vk_diag d;
    assert_int_equal(vk_report_json(r, VK_NORM_DEFAULT, path, &d), VK_OK);
    char *j = read_all(path);
    assert_true(json_valid(j));
    static const char *const keys[] = {"\"format\": \"vnetkit-replay-report\"", "\"version\": 1",
                                       "\"capture\":", "\"split\":", "\"normalize\": [",
                                       "\"matched\":", "\"divergences\":", "\"results\": ["};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_non_null(strstr(j, keys[i]));
    assert_non_null(strstr(j, verdict));
    free(j);
    unlink(path);
}

static void test_json_report_of_a_passing_replay(void **state)
{
    (void)state;
    vk_replay *r = hub_replay(NULL);
    assert_int_equal(r->cmp.divergences, 0);
    check_report(r, "\"verdict\": \"pass\"");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    vk_report_text(r, 10, f);
    fclose(f);
    assert_string_equal(buf, "replay: PASS 7 frames matched\n");
    free(buf);
    vk_replay_free(r);
}

static void test_json_report_of_a_failing_replay(void **state)
{
    (void)state;
    vk_replay *r = hub_replay("52:55:0a:00:02:02"); /* the wrong side */
    assert_true(r->cmp.divergences > 0);
    check_report(r, "\"verdict\": \"fail\"");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    vk_report_text(r, 2, f);
    fclose(f);
    char want[64];
    snprintf(want, sizeof want, "replay: FAIL %zu divergences (%zu matched)\n",
             r->cmp.divergences, r->cmp.matched);
    assert_memory_equal(buf, want, strlen(want));
    assert_non_null(strstr(buf, "  1) frame 1 missing at 0.000000000s, flow"));
    assert_non_null(strstr(buf, "more (--max-diffs N"));
    free(buf);
    vk_replay_free(r);
}

/* Copies src into a new file made from the mkstemp template path; returns
 * its descriptor (open for writing, at the end). */
static int copy_to_temp(const char *src, char *path)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *in = fopen(src, "rb");
    assert_non_null(in);
    static char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(write(fd, buf, n), (ssize_t)n);
    fclose(in);
    return fd;
}

/* Replays the copy at path of qemu-e1000-http-1m.pcap with its topology,
 * `change` altering the file during the run: the run must fail with VK_EIO,
 * no replay, and a message naming the file, saying it changed, and holding
 * `why`. */
typedef void (*progress_fn)(void *arg, size_t injected, size_t guest_total, size_t answers);

static void replay_fails_as_changed(char *path, progress_fn change, size_t rec_hold,
                                    const char *why)
{
    vk_topology *t = vk_topology_new();
    vk_diag d;
    assert_int_equal(vk_topology_load_file(t, "pcaps/qemu-e1000-http-1m.topo", &d), VK_OK);
    vk_replay_config cfg = {.capture_path = path, .reg = &reg, .norm = VK_NORM_DEFAULT,
                            .settle_ns = VK_REPLAY_SETTLE_DEFAULT, .progress = change,
                            .progress_arg = path, .rec_hold = rec_hold};
    vk_replay *r = NULL;
    int e = vk_replay_run(&cfg, t, &r, &d);
    assert_int_equal(e, VK_EIO);
    assert_null(r);
    assert_non_null(strstr(d.msg, path));
    assert_non_null(strstr(d.msg, "the file changed while it was replayed"));
    assert_non_null(strstr(d.msg, why));
    print_message("%s\n", d.msg);
}

/* The capture is read again during the run, never held: one cut under the
 * replay's feet (here after the tenth guest frame) is an error naming the
 * file, not a crash and not a verdict made of half the capture. */
static void cut_capture(void *arg, size_t injected, size_t guest_total, size_t answers)
{
    (void)guest_total, (void)answers;
    if (injected == 10)
        assert_int_equal(truncate(arg, 40000), 0);
}

static void cut_during_the_run(size_t rec_hold)
{
    assert_int_equal(chdir(VK_SOURCE_DIR), 0);
    char path[] = "/tmp/vk-test-replay-cut-XXXXXX";
    close(copy_to_temp("pcaps/qemu-e1000-http-1m.pcap", path));
    replay_fails_as_changed(path, cut_capture, rec_hold, "changed");
    unlink(path);
}

static void test_replay_of_a_capture_cut_during_the_run_is_an_error_naming_it(void **state)
{
    (void)state;
    cut_during_the_run(0);
    cut_during_the_run(1); /* every flow streamed: its source finds the cut too */
}

/* The capture rewritten in place during the run, every record length kept:
 * no reader sees a broken file, but the verdict would be made of two
 * captures.  The end of the run finds the file is not the one the first
 * pass read (its modification time moved) and fails naming it. */
static void rewrite_capture(void *arg, size_t injected, size_t guest_total, size_t answers)
{
    (void)guest_total, (void)answers;
    if (injected != 10)
        return;
    int fd = open(arg, O_WRONLY);
    assert_true(fd >= 0);
    off_t end = lseek(fd, 0, SEEK_END);
    static const uint8_t junk[8] = {0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a};
    /* the last record's last bytes: inside its frame, never a header */
    assert_int_equal(pwrite(fd, junk, sizeof junk, end - (off_t)sizeof junk),
                     (ssize_t)sizeof junk);
    close(fd);
}

static void rewritten_during_the_run(size_t rec_hold)
{
    assert_int_equal(chdir(VK_SOURCE_DIR), 0);
    char path[] = "/tmp/vk-test-replay-rewrite-XXXXXX";
    int fd = copy_to_temp("pcaps/qemu-e1000-http-1m.pcap", path);
    /* a modification time in the past: the rewrite moves it whatever the
     * kernel's timestamp granularity */
    const struct timespec past[2] = {{1600000000, 0}, {1600000000, 0}};
    assert_int_equal(futimens(fd, past), 0);
    close(fd);
    replay_fails_as_changed(path, rewrite_capture, rec_hold, "modification time");
    unlink(path);
}

static void test_replay_of_a_capture_rewritten_during_the_run_is_an_error_naming_it(void **state)
{
    (void)state;
    rewritten_during_the_run(0);
    rewritten_during_the_run(1);
}

/* A replay with its NAT flows streamed (their events, or the guest's
 * streams, or both, built again from the file during the run: recording.h)
 * is the replay with them held: the same JSON report, world notes and
 * frames, byte for byte, on the real captures with TCP, DNS over TCP,
 * hostfwd and a refused connection. */
static vk_replay *replay_held_or_streamed(const char *name, size_t rec_hold,
                                          size_t rec_hold_pieces, char *report)
{
    char cap[256], topo[256];
    snprintf(cap, sizeof cap, "pcaps/%s.pcap", name);
    snprintf(topo, sizeof topo, "pcaps/%s.topo", name);
    vk_topology *t = vk_topology_new();
    vk_diag d;
    assert_int_equal(vk_topology_load_file(t, topo, &d), VK_OK);
    vk_replay_config cfg = {.capture_path = cap, .reg = &reg, .norm = VK_NORM_DEFAULT,
                            .settle_ns = VK_REPLAY_SETTLE_DEFAULT, .check_wire = true,
                            .keep_log = true, .keep_matches = true, .rec_hold = rec_hold,
                            .rec_hold_pieces = rec_hold_pieces};
    vk_replay *r = NULL;
    assert_int_equal(vk_replay_run(&cfg, t, &r, &d), VK_OK);
    int fd = mkstemp(report);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(vk_report_json(r, VK_NORM_DEFAULT, report, &d), VK_OK);
    return r;
}

static void test_replay_with_every_flow_streamed_is_the_replay_with_them_held(void **state)
{
    (void)state;
    assert_int_equal(chdir(VK_SOURCE_DIR), 0);
    static const char *const caps[] = {"qemu-e1000-http-1m", "qemu-e1000-dns-udp-tcp",
                                       "qemu-e1000-hostfwd", "qemu-e1000-tcp-refused"};
    /* streamed: the events of flows of more than one, the guest streams of
     * more than one piece, both */
    static const struct {
        size_t events, pieces;
    } modes[] = {{1, 0}, {0, 1}, {1, 1}};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        char pa[] = "/tmp/vk-test-replay-held-XXXXXX";
        vk_replay *a = replay_held_or_streamed(caps[i], 0, 0, pa);
        assert_true(a->rec != NULL);
        assert_false(vk_recording_streams(a->rec));
        char *ja = read_all(pa);
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
            char pb[] = "/tmp/vk-test-replay-strm-XXXXXX";
            vk_replay *b = replay_held_or_streamed(caps[i], modes[m].events, modes[m].pieces, pb);
            assert_true(b->rec != NULL);
            bool longer = false, pieces = false;
            for (size_t k = 0; k < a->rec->ntcp; k++) {
                longer |= modes[m].events && a->rec->tcp[k].nev > 1;
                pieces |= modes[m].pieces && a->rec->tcp[k].npieces > 1;
                assert_true(b->rec->tcp[k].guest_streamed ==
                            (modes[m].pieces && a->rec->tcp[k].npieces > 1));
            }
            assert_true(vk_recording_streams(b->rec) == (longer || pieces));
            /* every capture but the refused one has a flow of events; only
             * hostfwd's guest (the server) sends more than one piece */
            assert_true(longer || !modes[m].events ||
                        strcmp(caps[i], "qemu-e1000-tcp-refused") == 0);
            assert_true(pieces || !modes[m].pieces ||
                        strcmp(caps[i], "qemu-e1000-hostfwd") != 0);
            char *jb = read_all(pb);
            assert_string_equal(ja, jb);
            free(jb);
            assert_int_equal(vk_replay_divergences(b), vk_replay_divergences(a));
            assert_int_equal(b->rec->nnotes, a->rec->nnotes);
            for (size_t k = 0; k < a->rec->nnotes; k++)
                assert_string_equal(b->rec->notes[k], a->rec->notes[k]);
            assert_int_equal(b->nlog, a->nlog);
            assert_true(a->nlog > 0);
            for (size_t k = 0; k < a->nlog; k++) {
                assert_int_equal(b->log[k].ts, a->log[k].ts);
                assert_int_equal(b->log[k].from_guest, a->log[k].from_guest);
                assert_int_equal(b->log[k].len, a->log[k].len);
                assert_memory_equal(b->log[k].data, a->log[k].data, a->log[k].len);
            }
            size_t peak;
            vk_recording_window_pieces(b->rec, &peak);
            assert_true(peak <= 64);
            vk_replay_free(b);
            unlink(pb);
        }
        free(ja);
        vk_replay_free(a);
        unlink(pa);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_of_a_capture_cut_during_the_run_is_an_error_naming_it),
        cmocka_unit_test(test_replay_of_a_capture_rewritten_during_the_run_is_an_error_naming_it),
        cmocka_unit_test(test_replay_with_every_flow_streamed_is_the_replay_with_them_held),
        cmocka_unit_test(test_json_strings_are_escaped),
        cmocka_unit_test(test_validator_rejects_broken_json),
        cmocka_unit_test(test_json_report_of_a_passing_replay),
        cmocka_unit_test(test_json_report_of_a_failing_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
