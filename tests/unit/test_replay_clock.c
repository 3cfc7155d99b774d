/*
 * The replay driver's clock: guest frames are injected at their capture
 * times relative to the first frame (the loop's epoch is that frame's
 * timestamp), frames at the same time, or earlier than the previous one, keep
 * file order; the answers of a hub arrive at the same virtual instant.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/backends.h"
#include "nics/nic.h"
#include "replay/replay.h"

#define T0 (1000ull * 1000000000ull + 123456789ull)
#define MS 1000000ull

static const vk_object_type *const no_objects[] = {NULL};
static const vk_registry reg = {vk_backend_types, vk_nic_models, no_objects,
                                 VK_NIC_DEFAULT_MODEL, NULL};

static void write_capture(const char *path, const uint64_t *ts, const char *const *src, size_t n)
{
    pcap_t *h = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535,
                                                     PCAP_TSTAMP_PRECISION_NANO);
    pcap_dumper_t *dump = pcap_dump_open(h, path);
    assert_non_null(dump);
    for (size_t i = 0; i < n; i++) {
        uint8_t f[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        vk_mac m;
        assert_int_equal(vk_mac_parse(src[i], &m), VK_OK);
        memcpy(f + 6, m.b, 6);
        f[12] = 0x88; /* a local experimental ethertype: payload byte = index */
        f[13] = 0xb5;
        f[14] = (uint8_t)i;
        struct pcap_pkthdr ph = {.caplen = sizeof f, .len = sizeof f};
        ph.ts.tv_sec = (time_t)(ts[i] / 1000000000ull);
        ph.ts.tv_usec = (suseconds_t)(ts[i] % 1000000000ull);
        pcap_dump((u_char *)dump, &ph, f);
    }
    pcap_dump_close(dump);
    pcap_close(h);
}

static vk_topology *hub_topology(const char *const *opts, size_t n)
{
    vk_topology *t = vk_topology_new();
    vk_diag d;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vk_topology_add(t, "-netdev", opts[i], "test", &d), VK_OK);
    return t;
}

static void test_guest_frames_enter_at_capture_times_in_file_order(void **state)
{
    (void)state;
    char path[] = "/tmp/vk-test-replay-clock-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    static const char *const g = "52:54:00:12:34:56", *const s = "52:55:0a:00:02:02";
    const uint64_t ts[] = {T0, T0 + 3 * MS, T0 + 5 * MS, T0 + 5 * MS, T0 + 4 * MS};
    const char *const src[] = {g, s, g, g, g};
    write_capture(path, ts, src, 5);
    /* a second hub port with no peer: nothing ever answers */
    static const char *const opts[] = {"hubport,id=g,hubid=0", "hubport,id=h,hubid=0"};
    vk_replay_config cfg = {.capture_path = path, .reg = &reg, .port_id = "g",
                            .norm = VK_NORM_DEFAULT, .settle_ns = 10 * MS, .keep_log = true};
    vk_replay *r;
    vk_diag d;
    int e = vk_replay_run(&cfg, hub_topology(opts, 2), &r, &d);
    if (e != VK_OK)
        print_error("%s\n", d.msg);
    assert_int_equal(e, VK_OK);
    assert_int_equal(r->epoch, T0);
    assert_int_equal(r->injected, 4);
    assert_int_equal(r->nlog, 4);
    const uint64_t want_ts[] = {T0, T0 + 5 * MS, T0 + 5 * MS, T0 + 5 * MS};
    const uint64_t want_no[] = {1, 3, 4, 5};
    for (size_t i = 0; i < 4; i++) {
        assert_true(r->log[i].from_guest);
        assert_int_equal(r->log[i].ts, want_ts[i]);
        assert_int_equal(r->log[i].no, want_no[i]);
        assert_int_equal(r->log[i].data[14], want_no[i] - 1);
    }
    /* the expected answer never came */
    assert_int_equal(r->cmp.divergences, 1);
    assert_int_equal(r->cmp.e[0].kind, VK_CMP_MISSING);
    vk_replay_free(r);
    unlink(path);
}

static void test_hub_answers_arrive_at_the_same_virtual_time(void **state)
{
    (void)state;
    assert_int_equal(chdir(VK_SOURCE_DIR), 0);
    static const char *const opts[] = {"hubport,id=g,hubid=0",
                                       "pcap,id=peer,in=pcaps/hub-peer-in.pcap",
                                       "hubport,id=h1,hubid=0,netdev=peer"};
    vk_replay_config cfg = {.capture_path = "pcaps/hub-dhcp-ping.pcapng", .reg = &reg,
                            .port_id = "g", .norm = VK_NORM_DEFAULT,
                            .settle_ns = VK_REPLAY_SETTLE_DEFAULT, .keep_matches = true};
    vk_replay *r;
    vk_diag d;
    assert_int_equal(vk_replay_run(&cfg, hub_topology(opts, 3), &r, &d), VK_OK);
    assert_int_equal(r->cmp.divergences, 0);
    assert_int_equal(r->cmp.matched, 7);
    /* every produced frame came at the expected frame's recorded time */
    assert_int_equal(r->cmp.n, 7);
    for (size_t i = 0; i < r->cmp.n; i++) {
        const vk_cmp_entry *e = &r->cmp.e[i];
        assert_int_equal(e->x.ts, e->p.ts);
    }
    vk_replay_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guest_frames_enter_at_capture_times_in_file_order),
        cmocka_unit_test(test_hub_answers_arrive_at_the_same_virtual_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
