/*
 * The pcapng writer, proven three ways: libpcap reads back every packet with
 * its bytes and nanosecond timestamp, tshark (when installed) sees interface
 * names, directions, comments and packet ids, and a small block walker here
 * checks lengths, padding and the trailing length copy of every block.
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
#include "wire/pcapng.h"

static char tmpdir[VK_TEST_SCRATCH_MAX];

static int setup(void **state)
{
    (void)state;
    return vk_test_scratch_make(tmpdir, "pcapng");
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

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed + i * 7);
}

static vk_pcapng *open_writer(const char *path, const char *comment)
{
    vk_pcapng_section shb = {.userappl = "vnetkit " VK_VERSION, .comment = comment};
    vk_pcapng *w = NULL;
    vk_diag d = {{0}};
    assert_int_equal(vk_pcapng_open(path, &shb, &w, &d), VK_OK);
    return w;
}

static void put_packet(vk_pcapng *w, uint32_t iface, uint64_t ts, const uint8_t *data,
                       uint32_t len, uint32_t flags, uint64_t id, const char *comment)
{
    vk_pcapng_packet p = {
        .iface = iface, .ts_ns = ts, .data = data, .caplen = len, .origlen = len,
        .flags = flags, .packet_id = id, .comment = comment,
    };
    assert_int_equal(vk_pcapng_write_packet(w, &p), VK_OK);
}

/* ---- a minimal block walker (little-endian files only, which we write) ---- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Checks an option list of `len` bytes: every option padded, zero padding,
 * ends with opt_endofopt exactly at the end.  Returns the value of `want`
 * (copied into out, cut to cap - 1 bytes) if present. */
static void walk_options(const uint8_t *p, size_t len, uint16_t want, char *out, size_t cap)
{
    size_t off = 0;
    bool ended = false;
    while (off < len) {
        assert_true(len - off >= 4);
        uint16_t code = le16(p + off), olen = le16(p + off + 2);
        off += 4;
        if (code == 0) {
            assert_int_equal(olen, 0);
            ended = true;
            break;
        }
        size_t padded = (olen + 3u) & ~3u;
        assert_true(padded <= len - off);
        for (size_t i = olen; i < padded; i++)
            assert_int_equal(p[off + i], 0);
        if (code == want && out != NULL) {
            size_t n = olen < cap ? olen : cap - 1; /* keep the start of long values */
            memcpy(out, p + off, n);
            out[n] = '\0';
        }
        off += padded;
    }
    assert_true(ended);
    assert_int_equal(off, len);
}

typedef struct walk_result {
    unsigned shb, idb, epb;
    uint32_t caplens[16];
    char userappl[64], shb_comment[128];
} walk_result;

static void walk_blocks(const char *path, walk_result *res)
{
    size_t len;
    uint8_t *buf = slurp(path, &len);
    memset(res, 0, sizeof *res);
    size_t off = 0;
    while (off < len) {
        assert_true(len - off >= 12);
        uint32_t type = le32(buf + off), total = le32(buf + off + 4);
        assert_int_equal(total % 4, 0);
        assert_true(total >= 12 && total <= len - off);
        assert_int_equal(le32(buf + off + total - 4), total);
        const uint8_t *body = buf + off + 8;
        size_t blen = total - 12;
        if (type == 0x0A0D0D0A) {
            assert_int_equal(off, 0);
            assert_int_equal(le32(body), 0x1A2B3C4D);
            assert_int_equal(le16(body + 4), 1);
            assert_int_equal(le16(body + 6), 0);
            for (int i = 8; i < 16; i++)
                assert_int_equal(body[i], 0xff);
            walk_options(body + 16, blen - 16, 4, res->userappl, sizeof res->userappl);
            walk_options(body + 16, blen - 16, 1, res->shb_comment, sizeof res->shb_comment);
            res->shb++;
        } else if (type == 1) {
            assert_int_equal(le16(body), 1); /* LINKTYPE_ETHERNET */
            walk_options(body + 8, blen - 8, 0xffff, NULL, 0);
            res->idb++;
        } else {
            assert_int_equal(type, 6);
            uint32_t caplen = le32(body + 12);
            size_t padded = (caplen + 3u) & ~3u;
            assert_true(20 + padded <= blen);
            for (size_t i = caplen; i < padded; i++)
                assert_int_equal(body[20 + i], 0);
            if (20 + padded < blen)
                walk_options(body + 20 + padded, blen - 20 - padded, 0xffff, NULL, 0);
            if (res->epb < 16)
                res->caplens[res->epb] = caplen;
            res->epb++;
        }
        off += total;
    }
    assert_int_equal(off, len);
    free(buf);
}

/* ---- the test file: 3 interfaces, 4 packets ---- */

static const uint64_t base_ts = 1700000000ull * 1000000000ull + 123456789ull;

static void write_three_interface_file(const char *path, uint8_t pkts[4][64])
{
    vk_pcapng *w = open_writer(path, "-netdev hubport,id=a,hubid=0");
    uint32_t ifc;
    assert_int_equal(vk_pcapng_add_interface(w, 1, 65535, "a", "hubport", &ifc), VK_OK);
    assert_int_equal(ifc, 0);
    assert_int_equal(vk_pcapng_add_interface(w, 1, 65535, "b", "hubport", &ifc), VK_OK);
    assert_int_equal(vk_pcapng_add_interface(w, 1, 65535, "n0", "pcap in=x.pcap", &ifc), VK_OK);
    assert_int_equal(ifc, 2);
    for (int i = 0; i < 4; i++)
        fill(pkts[i], 64, (uint8_t)(i * 31));
    put_packet(w, 0, base_ts, pkts[0], 60, VK_PCAPNG_FLAG_INBOUND, 1, NULL);
    put_packet(w, 1, base_ts + 1, pkts[1], 61, VK_PCAPNG_FLAG_OUTBOUND, 1, NULL);
    put_packet(w, 2, base_ts + 1000000001ull, pkts[2], 62, VK_PCAPNG_FLAG_OUTBOUND, 2, NULL);
    put_packet(w, 2, base_ts + 2000000000ull, pkts[3], 64, VK_PCAPNG_FLAG_INBOUND, 3,
               "dropped: queue full");
    vk_diag d = {{0}};
    assert_int_equal(vk_pcapng_close(w, &d), VK_OK);
}

static void test_pcapng_libpcap_reads_every_packet_with_ns_timestamps(void **state)
{
    (void)state;
    char path[128];
    uint8_t pkts[4][64];
    tmp_path(path, sizeof path, "three.pcapng");
    write_three_interface_file(path, pkts);

    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
    assert_non_null(p);
    assert_int_equal(pcap_datalink(p), DLT_EN10MB);
    static const uint32_t lens[4] = {60, 61, 62, 64};
    static const uint64_t offs[4] = {0, 1, 1000000001ull, 2000000000ull};
    struct pcap_pkthdr *h;
    const u_char *data;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pcap_next_ex(p, &h, &data), 1);
        assert_int_equal(h->caplen, lens[i]);
        assert_int_equal(h->len, lens[i]);
        assert_memory_equal(data, pkts[i], lens[i]);
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
        assert_true(ts == base_ts + offs[i]);
    }
    assert_int_equal(pcap_next_ex(p, &h, &data), PCAP_ERROR_BREAK);
    pcap_close(p);
}

static bool have_tshark(void)
{
    return system("command -v tshark >/dev/null 2>&1") == 0;
}

/* Runs tshark on path with `fields` and returns its stdout (malloc'd). */
static char *tshark_fields(const char *path, const char *fields)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "tshark -n -r '%s' -T fields -E separator='|' %s 2>/dev/null", path,
             fields);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
    }
    out[len] = '\0';
    assert_int_equal(pclose(f), 0);
    return out;
}

static void test_pcapng_tshark_sees_names_directions_comments_and_ids(void **state)
{
    (void)state;
    if (!have_tshark())
        skip();
    char path[128];
    uint8_t pkts[4][64];
    tmp_path(path, sizeof path, "three-tshark.pcapng");
    write_three_interface_file(path, pkts);
    char *out = tshark_fields(path, "-e frame.interface_name -e frame.interface_description "
                                    "-e frame.packet_flags_direction -e frame.comment "
                                    "-e frame.packet_id -e frame.len");
    /* tshark 4.0 prints the direction as the hex flags word: 1 in, 2 out */
    assert_string_equal(out, "a|hubport|0x00000001||1|60\n"
                             "b|hubport|0x00000002||1|61\n"
                             "n0|pcap in=x.pcap|0x00000002||2|62\n"
                             "n0|pcap in=x.pcap|0x00000001|dropped: queue full|3|64\n");
    free(out);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "capinfos '%s' 2>/dev/null | grep -q 'vnetkit %s'", path,
             VK_VERSION);
    if (system("command -v capinfos >/dev/null 2>&1") == 0)
        assert_int_equal(system(cmd), 0);
}

static void test_pcapng_section_header_carries_userappl_and_comment(void **state)
{
    (void)state;
    char path[128];
    uint8_t pkts[4][64];
    tmp_path(path, sizeof path, "shb.pcapng");
    write_three_interface_file(path, pkts);
    walk_result res;
    walk_blocks(path, &res);
    assert_int_equal(res.shb, 1);
    assert_int_equal(res.idb, 3);
    assert_int_equal(res.epb, 4);
    assert_string_equal(res.userappl, "vnetkit " VK_VERSION);
    assert_string_equal(res.shb_comment, "-netdev hubport,id=a,hubid=0");
}

static void test_pcapng_odd_length_frames_are_padded_to_32_bits(void **state)
{
    (void)state;
    char path[128];
    tmp_path(path, sizeof path, "odd.pcapng");
    vk_pcapng *w = open_writer(path, NULL);
    assert_int_equal(vk_pcapng_add_interface(w, 1, 65535, "odd", NULL, NULL), VK_OK);
    static const uint8_t bytes[3] = {0xaa, 0xbb, 0xcc};
    put_packet(w, 0, 1, bytes, 1, 0, 0, NULL);   /* no options at all */
    put_packet(w, 0, 2, bytes, 2, VK_PCAPNG_FLAG_INBOUND, 7, "c");
    put_packet(w, 0, 3, bytes, 3, VK_PCAPNG_FLAG_OUTBOUND, 0, "odd comment");
    assert_int_equal(vk_pcapng_close(w, NULL), VK_OK);
    walk_result res;
    walk_blocks(path, &res);
    assert_int_equal(res.epb, 3);
    assert_int_equal(res.caplens[0], 1);
    assert_int_equal(res.caplens[1], 2);
    assert_int_equal(res.caplens[2], 3);
    assert_string_equal(res.userappl, "vnetkit " VK_VERSION);

    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    assert_non_null(p);
    struct pcap_pkthdr *h;
    const u_char *data;
    for (unsigned i = 1; i <= 3; i++) {
        assert_int_equal(pcap_next_ex(p, &h, &data), 1);
        assert_int_equal(h->caplen, i);
        assert_memory_equal(data, bytes, i);
    }
    pcap_close(p);
}

/* Writes one 65535-byte frame to a one-interface file with `snaplen` and
 * checks what libpcap reads back.  (One file per snaplen: libpcap refuses
 * pcapng files whose interfaces have different snapshot lengths.) */
static void check_big_frame(const char *name, uint32_t snaplen, uint32_t want_caplen)
{
    char path[128];
    tmp_path(path, sizeof path, name);
    vk_pcapng *w = open_writer(path, NULL);
    assert_int_equal(vk_pcapng_add_interface(w, 1, snaplen, "p", NULL, NULL), VK_OK);
    uint8_t *big = malloc(65535);
    assert_non_null(big);
    fill(big, 65535, 3);
    put_packet(w, 0, 10, big, 65535, VK_PCAPNG_FLAG_INBOUND, 1, NULL);
    assert_int_equal(vk_pcapng_close(w, NULL), VK_OK);

    walk_result res;
    walk_blocks(path, &res);
    assert_int_equal(res.epb, 1);
    assert_int_equal(res.caplens[0], want_caplen);

    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    assert_non_null(p);
    struct pcap_pkthdr *h;
    const u_char *data;
    assert_int_equal(pcap_next_ex(p, &h, &data), 1);
    assert_int_equal(h->caplen, want_caplen);
    assert_int_equal(h->len, 65535);
    assert_memory_equal(data, big, want_caplen);
    pcap_close(p);
    free(big);
}

static void test_pcapng_snaplen_truncates_a_65535_byte_frame(void **state)
{
    (void)state;
    check_big_frame("big-100.pcapng", 100, 100);
    check_big_frame("big-full.pcapng", 65535, 65535);
    check_big_frame("big-101.pcapng", 101, 101); /* odd caplen: padded */
}

static void test_pcapng_long_comment_is_cut_to_an_options_65535_bytes(void **state)
{
    (void)state;
    char path[128];
    tmp_path(path, sizeof path, "long.pcapng");
    char *text = malloc(70001);
    assert_non_null(text);
    memset(text, 'x', 70000);
    text[70000] = '\0';
    vk_pcapng *w = open_writer(path, text);
    assert_int_equal(vk_pcapng_add_interface(w, 1, 0, "p", NULL, NULL), VK_OK);
    uint8_t b[3] = {1, 2, 3};
    put_packet(w, 0, 1, b, 3, 0, 0, text);
    assert_int_equal(vk_pcapng_close(w, NULL), VK_OK);
    free(text);
    walk_result res;
    walk_blocks(path, &res); /* every option header and padding checks out */
    size_t len;
    uint8_t *buf = slurp(path, &len);
    /* SHB: 28 fixed bytes + comment (4 + 65536) + userappl + end */
    assert_int_equal(le16(buf + 24), 1);
    assert_int_equal(le16(buf + 26), 65535);
    free(buf);
    assert_int_equal(res.epb, 1);
}

static void test_pcapng_rejects_bad_interface_and_caplen_over_origlen(void **state)
{
    (void)state;
    char path[128];
    tmp_path(path, sizeof path, "bad.pcapng");
    vk_pcapng *w = open_writer(path, NULL);
    assert_int_equal(vk_pcapng_add_interface(w, 1, 0, "x", NULL, NULL), VK_OK);
    uint8_t b[8] = {0};
    vk_pcapng_packet p = {.iface = 1, .data = b, .caplen = 8, .origlen = 8};
    assert_int_equal(vk_pcapng_write_packet(w, &p), VK_EINVAL);
    p.iface = 0;
    p.origlen = 7;
    assert_int_equal(vk_pcapng_write_packet(w, &p), VK_EINVAL);
    assert_int_equal(vk_pcapng_close(w, NULL), VK_OK);
    walk_result res;
    walk_blocks(path, &res);
    assert_int_equal(res.epb, 0);
}

/* The buffer holds whole blocks: a flush mid-file leaves a file that every
 * reader takes whole, and a block larger than the buffer is written whole. */
static void test_pcapng_flush_leaves_whole_blocks_even_past_the_buffer_size(void **state)
{
    (void)state;
    char path[128];
    tmp_path(path, sizeof path, "flush.pcapng");
    vk_pcapng *w = open_writer(path, NULL);
    assert_int_equal(vk_pcapng_add_interface(w, 1, 0, "p", NULL, NULL), VK_OK);
    size_t big_len = VK_PCAPNG_BUFFER + 3;
    uint8_t *big = malloc(big_len);
    assert_non_null(big);
    fill(big, big_len, 5);
    uint8_t small[61];
    fill(small, sizeof small, 9);
    put_packet(w, 0, 1, small, sizeof small, VK_PCAPNG_FLAG_INBOUND, 1, NULL);
    assert_int_equal(vk_pcapng_flush(w), VK_OK);
    walk_result res;
    walk_blocks(path, &res);
    assert_int_equal(res.epb, 1);
    put_packet(w, 0, 2, big, (uint32_t)big_len, VK_PCAPNG_FLAG_OUTBOUND, 2, "big");
    put_packet(w, 0, 3, small, sizeof small, VK_PCAPNG_FLAG_INBOUND, 3, NULL);
    assert_int_equal(vk_pcapng_flush(w), VK_OK);
    walk_blocks(path, &res);
    assert_int_equal(res.epb, 3);
    assert_int_equal(res.caplens[1], big_len);
    assert_int_equal(res.caplens[2], sizeof small);
    assert_int_equal(vk_pcapng_packets_lost(w), 0);
    assert_int_equal(vk_pcapng_close(w, NULL), VK_OK);
    size_t len;
    uint8_t *buf = slurp(path, &len);
    /* the big packet's bytes follow its EPB's 28-byte header */
    size_t off = 0;
    for (int i = 0; i < 3; i++)
        off += le32(buf + off + 4); /* SHB, IDB, first EPB */
    assert_memory_equal(buf + off + 28, big, big_len);
    free(buf);
    free(big);
}

static void test_pcapng_open_names_the_file_it_cannot_create(void **state)
{
    (void)state;
    vk_pcapng *w = NULL;
    vk_diag d = {{0}};
    assert_int_equal(vk_pcapng_open("/nonexistent-dir/x.pcapng", NULL, &w, &d), VK_EIO);
    assert_null(w);
    assert_non_null(strstr(d.msg, "/nonexistent-dir/x.pcapng"));
}

static void test_pcapng_disk_full_is_reported_once_at_close(void **state)
{
    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    vk_pcapng *w = open_writer("/dev/full", NULL);
    assert_int_equal(vk_pcapng_add_interface(w, 1, 0, "x", NULL, NULL), VK_OK);
    uint8_t b[1500] = {0};
    vk_pcapng_packet p = {.data = b, .caplen = sizeof b, .origlen = sizeof b};
    int r = VK_OK;
    uint64_t offered = 0;
    /* the writer buffers VK_PCAPNG_BUFFER bytes; the error shows once it spills */
    while (r == VK_OK && offered < 2 * VK_PCAPNG_BUFFER / sizeof b) {
        r = vk_pcapng_write_packet(w, &p);
        offered++;
    }
    assert_int_equal(r, VK_EIO);
    assert_true(offered > VK_PCAPNG_BUFFER / (sizeof b + 64));
    assert_int_equal(vk_pcapng_write_packet(w, &p), VK_EIO);
    offered++;
    assert_int_equal(vk_pcapng_flush(w), VK_EIO);
    /* nothing reached the device: every packet offered is counted lost */
    assert_int_equal(vk_pcapng_packets_lost(w), offered);
    vk_diag d = {{0}};
    assert_int_equal(vk_pcapng_close(w, &d), VK_EIO);
    assert_non_null(strstr(d.msg, "/dev/full"));
    assert_non_null(strstr(d.msg, "No space left on device"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pcapng_libpcap_reads_every_packet_with_ns_timestamps),
        cmocka_unit_test(test_pcapng_tshark_sees_names_directions_comments_and_ids),
        cmocka_unit_test(test_pcapng_section_header_carries_userappl_and_comment),
        cmocka_unit_test(test_pcapng_odd_length_frames_are_padded_to_32_bits),
        cmocka_unit_test(test_pcapng_snaplen_truncates_a_65535_byte_frame),
        cmocka_unit_test(test_pcapng_long_comment_is_cut_to_an_options_65535_bytes),
        cmocka_unit_test(test_pcapng_rejects_bad_interface_and_caplen_over_origlen),
        cmocka_unit_test(test_pcapng_flush_leaves_whole_blocks_even_past_the_buffer_size),
        cmocka_unit_test(test_pcapng_open_names_the_file_it_cannot_create),
        cmocka_unit_test(test_pcapng_disk_full_is_reported_once_at_close),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
