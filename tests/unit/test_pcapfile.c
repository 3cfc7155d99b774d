/*
 * Classic pcap reading and writing in large buffers (wire/pcapfile), with
 * libpcap as the oracle: files libpcap writes are read back record for
 * record, files we write are byte-identical to libpcap's pcap_dump output,
 * and every malformed record header is refused before its bytes are used.
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
#include <unistd.h>

#include "helpers/scratch.h"
#include "wire/pcapfile.h"

static char tmpdir[VK_TEST_SCRATCH_MAX];

static int setup(void **state)
{
    (void)state;
    return vk_test_scratch_make(tmpdir, "pcapfile");
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

/* Frame i of a test stream: its length cycles through sizes that make
 * records straddle the reader's 1 MiB window at many offsets. */
static size_t frame_len(size_t i)
{
    static const size_t lens[] = {60, 1514, 577, 64, 9000, 14, 1500};
    return lens[i % (sizeof lens / sizeof lens[0])];
}

static void fill(uint8_t *buf, size_t len, size_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed * 13 + i * 7);
}

static uint64_t frame_ts(size_t i)
{
    return 1700000000ull * 1000000000ull + (uint64_t)i * 123457u;
}

/* Writes n frames with libpcap's pcap_dump (nanosecond file). */
static void write_with_libpcap(const char *path, size_t n, int snaplen)
{
    pcap_t *dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, snaplen,
                                                        PCAP_TSTAMP_PRECISION_NANO);
    pcap_dumper_t *dump = pcap_dump_open(dead, path);
    assert_non_null(dump);
    static uint8_t buf[9000];
    for (size_t i = 0; i < n; i++) {
        size_t len = frame_len(i);
        fill(buf, len, i);
        uint64_t ts = frame_ts(i);
        struct pcap_pkthdr h = {.ts.tv_sec = (time_t)(ts / 1000000000u),
                                .ts.tv_usec = (suseconds_t)(ts % 1000000000u),
                                .caplen = (bpf_u_int32)len, .len = (bpf_u_int32)len};
        pcap_dump((u_char *)dump, &h, buf);
    }
    pcap_dump_close(dump);
    pcap_close(dead);
}

static void write_with_ours(const char *path, size_t n, uint32_t snaplen, size_t buffer)
{
    vk_pcapfile_writer *w = NULL;
    vk_diag d;
    assert_int_equal(vk_pcapfile_open_write(path, snaplen, buffer, &w, &d), VK_OK);
    static uint8_t buf[9000];
    for (size_t i = 0; i < n; i++) {
        size_t len = frame_len(i);
        fill(buf, len, i);
        assert_int_equal(vk_pcapfile_write(w, frame_ts(i), buf, (uint32_t)len, (uint32_t)len),
                         VK_OK);
    }
    assert_int_equal(vk_pcapfile_close_write(w, &d), VK_OK);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spew(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

static void test_reader_returns_every_record_libpcap_wrote_across_buffer_refills(void **state)
{
    (void)state;
    char path[VK_TEST_SCRATCH_MAX];
    tmp_path(path, sizeof path, "lib.pcap");
    enum { N = 2000 }; /* about 4 MiB: several refills of the 1 MiB window */
    write_with_libpcap(path, N, 262144);
    vk_pcapfile_reader *r = NULL;
    vk_diag d;
    assert_int_equal(vk_pcapfile_open_read(path, &r, &d), VK_OK);
    assert_int_equal(vk_pcapfile_snaplen(r), 262144);
    static uint8_t want[9000];
    vk_pcapfile_record rec;
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(vk_pcapfile_next(r, &rec, &d), 1);
        size_t len = frame_len(i);
        fill(want, len, i);
        assert_int_equal(rec.caplen, len);
        assert_int_equal(rec.origlen, len);
        assert_true(rec.ts_ns == frame_ts(i));
        assert_memory_equal(rec.data, want, len);
    }
    assert_int_equal(vk_pcapfile_next(r, &rec, &d), 0);
    assert_int_equal(vk_pcapfile_next(r, &rec, &d), 0);
    vk_pcapfile_close_read(r);
}

static void test_writer_output_is_byte_identical_to_pcap_dump(void **state)
{
    (void)state;
    char a[VK_TEST_SCRATCH_MAX], b[VK_TEST_SCRATCH_MAX];
    tmp_path(a, sizeof a, "lib-w.pcap");
    tmp_path(b, sizeof b, "ours-w.pcap");
    enum { N = 700 };
    write_with_libpcap(a, N, 4096);
    write_with_ours(b, N, 4096, 64 * 1024); /* small batches: many writes */
    size_t la, lb;
    uint8_t *ba = slurp(a, &la), *bb = slurp(b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(ba, bb, la);
    free(ba);
    free(bb);
}

static void test_a_record_larger_than_the_write_buffer_goes_straight_through(void **state)
{
    (void)state;
    char path[VK_TEST_SCRATCH_MAX];
    tmp_path(path, sizeof path, "big.pcap");
    vk_pcapfile_writer *w = NULL;
    vk_diag d;
    assert_int_equal(vk_pcapfile_open_write(path, 262144, 65536, &w, &d), VK_OK);
    static uint8_t big[65550];
    fill(big, sizeof big, 3);
    uint8_t small[60];
    fill(small, sizeof small, 4);
    assert_int_equal(vk_pcapfile_write(w, 5, small, 60, 60), VK_OK);
    assert_int_equal(vk_pcapfile_write(w, 6, big, sizeof big, sizeof big), VK_OK);
    assert_int_equal(vk_pcapfile_write(w, 7, small, 60, 60), VK_OK);
    assert_int_equal(vk_pcapfile_close_write(w, &d), VK_OK);
    vk_pcapfile_reader *r = NULL;
    assert_int_equal(vk_pcapfile_open_read(path, &r, &d), VK_OK);
    vk_pcapfile_record rec;
    assert_int_equal(vk_pcapfile_next(r, &rec, &d), 1);
    assert_int_equal(rec.caplen, 60);
    assert_int_equal(vk_pcapfile_next(r, &rec, &d), 1);
    assert_int_equal(rec.caplen, sizeof big);
    assert_memory_equal(rec.data, big, sizeof big);
    assert_true(rec.ts_ns == 6);
    assert_int_equal(vk_pcapfile_next(r, &rec, &d), 1);
    assert_true(rec.ts_ns == 7);
    assert_int_equal(vk_pcapfile_next(r, &rec, &d), 0);
    vk_pcapfile_close_read(r);
}

/* A classic header: magic as stored, snaplen, link type (little-endian). */
static size_t le_header(uint8_t *h, uint32_t magic, uint32_t snaplen, uint32_t linktype)
{
    const uint32_t v[6] = {magic, 0x00040002u, 0, 0, snaplen, linktype};
    for (size_t i = 0; i < 6; i++)
        for (size_t k = 0; k < 4; k++)
            h[4 * i + k] = (uint8_t)(v[i] >> (8 * k));
    return 24;
}

static size_t le_record(uint8_t *p, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t len)
{
    const uint32_t v[4] = {sec, frac, caplen, len};
    for (size_t i = 0; i < 4; i++)
        for (size_t k = 0; k < 4; k++)
            p[4 * i + k] = (uint8_t)(v[i] >> (8 * k));
    return 16;
}

static int read_one(const uint8_t *file, size_t n, vk_pcapfile_record *rec, vk_diag *d)
{
    char path[VK_TEST_SCRATCH_MAX];
    tmp_path(path, sizeof path, "crafted.pcap");
    spew(path, file, n);
    vk_pcapfile_reader *r = NULL;
    int rc = vk_pcapfile_open_read(path, &r, d);
    if (rc != VK_OK)
        return rc;
    rc = vk_pcapfile_next(r, rec, d);
    vk_pcapfile_close_read(r);
    return rc;
}

static void test_microsecond_and_swapped_files_give_nanosecond_times(void **state)
{
    (void)state;
    uint8_t f[24 + 16 + 60] = {0};
    size_t n = le_header(f, 0xa1b2c3d4u, 65535, 1);
    n += le_record(f + n, 100, 250000, 60, 60);
    vk_pcapfile_record rec;
    vk_diag d;
    assert_int_equal(read_one(f, sizeof f, &rec, &d), 1);
    assert_true(rec.ts_ns == 100ull * 1000000000u + 250000000u);
    /* the same file in the other byte order */
    uint8_t g[sizeof f];
    memcpy(g, f, sizeof f);
    for (size_t i = 0; i < 40; i += 4) {
        if (i == 4) { /* two 16-bit version fields */
            uint8_t t = g[4]; g[4] = g[5]; g[5] = t;
            t = g[6]; g[6] = g[7]; g[7] = t;
            continue;
        }
        for (size_t k = 0; k < 2; k++) {
            uint8_t t = g[i + k];
            g[i + k] = g[i + 3 - k];
            g[i + 3 - k] = t;
        }
    }
    assert_int_equal(read_one(g, sizeof g, &rec, &d), 1);
    assert_true(rec.ts_ns == 100ull * 1000000000u + 250000000u);
    assert_int_equal(rec.caplen, 60);
}

static void test_captured_length_over_the_snapshot_length_is_refused(void **state)
{
    (void)state;
    uint8_t f[24 + 16 + 100] = {0};
    size_t n = le_header(f, 0xa1b23c4du, 64, 1);
    le_record(f + n, 1, 0, 100, 100);
    vk_pcapfile_record rec;
    vk_diag d;
    assert_int_equal(read_one(f, sizeof f, &rec, &d), VK_EFORMAT);
    assert_non_null(strstr(d.msg, "captured length 100 exceeds the snapshot length 64"));
}

static void test_snaplen_zero_means_libpcaps_maximum(void **state)
{
    (void)state;
    uint8_t f[24 + 16 + 100] = {0};
    size_t n = le_header(f, 0xa1b23c4du, 0, 1);
    le_record(f + n, 1, 0, 100, 100);
    vk_pcapfile_record rec;
    vk_diag d;
    assert_int_equal(read_one(f, sizeof f, &rec, &d), 1);
    assert_int_equal(rec.caplen, 100);
}

static void test_record_cut_by_the_end_of_the_file_is_truncated(void **state)
{
    (void)state;
    uint8_t f[24 + 16 + 60] = {0};
    size_t n = le_header(f, 0xa1b23c4du, 262144, 1);
    le_record(f + n, 1, 0, 4096, 4096); /* only 60 bytes follow */
    vk_pcapfile_record rec;
    vk_diag d;
    assert_int_equal(read_one(f, sizeof f, &rec, &d), VK_ETRUNC);
    assert_non_null(strstr(d.msg, "truncated dump file"));
    /* a header cut in the middle */
    assert_int_equal(read_one(f, 24 + 10, &rec, &d), VK_ETRUNC);
    assert_non_null(strstr(d.msg, "10"));
}

static void test_formats_the_reader_does_not_take_are_left_to_libpcap(void **state)
{
    (void)state;
    uint8_t f[24];
    vk_pcapfile_record rec;
    vk_diag d;
    le_header(f, 0xa1b23c4du, 262144, 101); /* DLT_RAW */
    assert_int_equal(read_one(f, sizeof f, &rec, &d), VK_EUNSUPP);
    le_header(f, 0x0a0d0d0au, 262144, 1); /* a pcapng section header */
    assert_int_equal(read_one(f, sizeof f, &rec, &d), VK_EUNSUPP);
    le_header(f, 0xa1b2cd34u, 262144, 1); /* Kuznetzov's modified pcap */
    assert_int_equal(read_one(f, sizeof f, &rec, &d), VK_EUNSUPP);
    assert_int_equal(read_one(f, 10, &rec, &d), VK_EUNSUPP); /* no whole header */
    vk_pcapfile_reader *r = NULL;
    assert_int_equal(vk_pcapfile_open_read("/dev/null", &r, &d), VK_EUNSUPP); /* not a file */
}

static void test_a_failed_write_counts_every_record_it_lost(void **state)
{
    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    vk_pcapfile_writer *w = NULL;
    vk_diag d;
    assert_int_equal(vk_pcapfile_open_write("/dev/full", 262144, 65536, &w, &d), VK_OK);
    uint8_t b[1000] = {0};
    size_t accepted = 0;
    int rc = VK_OK;
    for (size_t i = 0; i < 200 && rc == VK_OK; i++, accepted++)
        rc = vk_pcapfile_write(w, i, b, sizeof b, sizeof b);
    assert_int_equal(rc, VK_EIO);
    /* the header's write at open failed: every record is refused, counted */
    assert_int_equal(vk_pcapfile_lost(w), accepted);
    assert_int_equal(vk_pcapfile_write(w, 1, b, 10, 10), VK_EIO);
    assert_int_equal(vk_pcapfile_lost(w), accepted + 1);
    assert_int_equal(vk_pcapfile_close_write(w, &d), VK_EIO);
    assert_non_null(strstr(d.msg, "/dev/full"));
}

/* Issue 13: run's errors for unreadable in= files passed libpcap's words on
 * ("invalid length 28 < 4294967280 < 1048576"). */
static void test_libpcap_open_errors_are_worded_plainly(void **state)
{
    (void)state;
    char buf[512];
    const char *m = vk_pcap_open_error_plain(
        "/nonexistent/x.pcapng",
        "Section Header Block in pcapng dump file has invalid length 28 < _4294967280_ < "
        "1048576 (BT_SHB_INSANE_MAX)",
        buf, sizeof buf);
    assert_true(strncmp(m, "a pcapng block has an impossible length", 39) == 0);
    assert_non_null(strstr(m, "(libpcap: Section Header Block"));
    m = vk_pcap_open_error_plain("/nonexistent/y", "unknown file format", buf, sizeof buf);
    assert_true(strncmp(m, "not a pcap or pcapng file", 25) == 0);
    m = vk_pcap_open_error_plain("/nonexistent/y", "truncated dump file; tried to read 24 file "
                                 "header bytes, only got 3", buf, sizeof buf);
    assert_true(strncmp(m, "the file ends inside its header", 31) == 0);
    /* libpcap's leading path is dropped: the caller names the file */
    m = vk_pcap_open_error_plain("/nonexistent/y", "/nonexistent/y: No such file or directory",
                                 buf, sizeof buf);
    assert_string_equal(m, "No such file or directory");
    char path[] = "/tmp/vk-empty-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    m = vk_pcap_open_error_plain(path, "truncated dump file; tried to read 4 file header "
                                 "bytes, only got 0", buf, sizeof buf);
    assert_true(strncmp(m, "the file is empty", 17) == 0);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_returns_every_record_libpcap_wrote_across_buffer_refills),
        cmocka_unit_test(test_writer_output_is_byte_identical_to_pcap_dump),
        cmocka_unit_test(test_a_record_larger_than_the_write_buffer_goes_straight_through),
        cmocka_unit_test(test_microsecond_and_swapped_files_give_nanosecond_times),
        cmocka_unit_test(test_captured_length_over_the_snapshot_length_is_refused),
        cmocka_unit_test(test_snaplen_zero_means_libpcaps_maximum),
        cmocka_unit_test(test_record_cut_by_the_end_of_the_file_is_truncated),
        cmocka_unit_test(test_formats_the_reader_does_not_take_are_left_to_libpcap),
        cmocka_unit_test(test_a_failed_write_counts_every_record_it_lost),
        cmocka_unit_test(test_libpcap_open_errors_are_worded_plainly),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
