/*
 * The TFTP server of -netdev user: transfers in lock-step from port 69,
 * options (tsize, blksize capped at 1428, timeout), the extra empty block,
 * confinement to tftp=DIR ('..', absolute names, symlinks out), libslirp's
 * ERROR packets, malformed packets dropped, retransmission and session
 * timeouts on the virtual clock, and the session cap.
 */
#include "helpers/scratch.h"
#include "test_user_harness.h"

#include <sys/stat.h>
#include <unistd.h>

#include "wire/tftp.h"
#include "wire/udp.h"

static char dir[VK_TEST_SCRATCH_MAX];
static char opts[192];

static void put_file(const char *name, size_t size)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < size; i++)
        fputc((int)(i & 0xff), f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    if (vk_test_scratch_make(dir, "user-tftp") != 0)
        return -1;
    put_file("hello.txt", 15);
    put_file("k1.bin", 1024);
    put_file("big.bin", 5000);
    char path[160];
    snprintf(path, sizeof path, "%s/sub", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/escape", dir);
    if (symlink("/etc/hostname", path) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/inside", dir);
    if (symlink("hello.txt", path) != 0)
        return -1;
    snprintf(opts, sizeof opts, "user,id=u,ipv6=off,tftp=%s", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return vk_test_scratch_remove(dir);
}

static void send_tftp(uh *h, uint16_t port, const uint8_t *p, size_t n)
{
    uint8_t *f;
    size_t len = uh_build_udp(&f, "10.0.2.15", port, "10.0.2.2", 69, p, n);
    uh_send(h, f, len);
    free(f);
}

/* RRQ: name, mode, then NULL-terminated option name/value pairs. */
static void rrq(uh *h, uint16_t port, const char *name, const char *mode, ...)
{
    uint8_t buf[512] = {0, VK_TFTP_RRQ};
    size_t n = 2;
    n += (size_t)sprintf((char *)buf + n, "%s", name) + 1;
    n += (size_t)sprintf((char *)buf + n, "%s", mode) + 1;
    va_list ap;
    va_start(ap, mode);
    const char *s;
    while ((s = va_arg(ap, const char *)) != NULL)
        n += (size_t)sprintf((char *)buf + n, "%s", s) + 1;
    va_end(ap);
    send_tftp(h, port, buf, n);
}

static void ack(uh *h, uint16_t port, uint16_t block)
{
    uint8_t buf[4] = {0, VK_TFTP_ACK, (uint8_t)(block >> 8), (uint8_t)block};
    send_tftp(h, port, buf, 4);
}

static void got_tftp(uh *h, size_t i, uint16_t port, vk_tftp_repr *t)
{
    vk_eth_repr eth;
    vk_ipv4_repr ip;
    uh_got_ip4(h, i, &eth, &ip);
    assert_int_equal(ip.tos, 0x10);
    assert_int_equal(ip.ttl, 64);
    vk_udp_repr udp;
    assert_int_equal(vk_udp_parse(ip.payload, ip.payload_len, &udp), VK_OK);
    assert_int_equal(udp.src_port, 69);
    assert_int_equal(udp.dst_port, port);
    assert_int_equal(vk_tftp_parse(udp.payload, udp.payload_len, t), VK_OK);
}

static void expect_error(uh *h, size_t i, uint16_t code, const char *msg)
{
    vk_tftp_repr t;
    got_tftp(h, i, 2000, &t);
    assert_int_equal(t.opcode, VK_TFTP_ERROR);
    assert_int_equal(t.error_code, code);
    assert_string_equal(t.error_msg, msg);
}

static void test_plain_transfer_is_lock_step_with_empty_last_block(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, opts);
    uh_announce(&h);
    rrq(&h, 2000, "k1.bin", "octet", NULL);
    vk_tftp_repr t;
    for (uint16_t b = 1; b <= 3; b++) {
        assert_int_equal(h.ngot, b);
        got_tftp(&h, b - 1, 2000, &t);
        assert_int_equal(t.opcode, VK_TFTP_DATA);
        assert_int_equal(t.block, b);
        assert_int_equal(t.data_len, b < 3 ? 512 : 0);
        ack(&h, 2000, b);
    }
    assert_int_equal(h.ngot, 3);
    ack(&h, 2000, 3);
    assert_string_equal(h.dropped.reason, "TFTP: ACK for no session");
    uh_close(&h);
}

static void test_options_are_acknowledged_in_request_order(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, opts);
    uh_announce(&h);
    rrq(&h, 2000, "big.bin", "OCTET", "blksize", "65464", "tsize", "0", "timeout", "3",
        "windowsize", "4", NULL);
    vk_tftp_repr t;
    got_tftp(&h, 0, 2000, &t);
    assert_int_equal(t.opcode, VK_TFTP_OACK);
    /* libslirp acknowledges tsize and blksize only: timeout and windowsize
     * are left out, so the client keeps its defaults */
    assert_int_equal(t.option_count, 2);
    assert_string_equal(t.options[0].name, "blksize");
    assert_string_equal(t.options[0].value, "1428");
    assert_string_equal(t.options[1].name, "tsize");
    assert_string_equal(t.options[1].value, "5000");
    ack(&h, 2000, 0);
    got_tftp(&h, 1, 2000, &t);
    assert_int_equal(t.block, 1);
    assert_int_equal(t.data_len, 1428);
    /* no ACK: resent after our own 1 s, not after the client's 3 s */
    uh_advance(&h, VK_NS_PER_SEC - 1);
    assert_int_equal(h.ngot, 2);
    uh_advance(&h, VK_NS_PER_SEC);
    assert_int_equal(h.ngot, 3);
    assert_memory_equal(h.got[2]->data + 42, h.got[1]->data + 42, 4 + 1428);
    uh_close(&h);
}

static void test_unanswered_session_is_retransmitted_then_ends(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, opts);
    uh_announce(&h);
    rrq(&h, 2000, "hello.txt", "octet", NULL);
    uh_advance(&h, 60 * VK_NS_PER_SEC);
    assert_int_equal(h.ngot, 1 + 4);
    assert_int_equal(uh_stats(&h)->tftp_retransmits, 4);
    assert_int_equal(uh_stats(&h)->tftp_timeouts, 1);
    ack(&h, 2000, 1);
    assert_string_equal(h.dropped.reason, "TFTP: ACK for no session");
    uh_close(&h);
}

static void test_names_outside_the_directory_are_access_violations(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, opts);
    uh_announce(&h);
    const char *bad[] = {"../etc/passwd", "sub/../hello.txt", "..", "/etc/passwd", "escape",
                         "sub/"};
    for (size_t i = 0; i < 6; i++) {
        rrq(&h, 2000, bad[i], "octet", NULL);
        expect_error(&h, i, VK_TFTP_ERR_ACCESS, "Access violation");
    }
    rrq(&h, 2000, "inside", "octet", NULL); /* a symlink that stays inside is fine */
    vk_tftp_repr t;
    got_tftp(&h, 6, 2000, &t);
    assert_int_equal(t.opcode, VK_TFTP_DATA);
    assert_int_equal(t.data_len, 15);
    uh_close(&h);
}

static void test_libslirp_errors(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, opts);
    uh_announce(&h);
    rrq(&h, 2000, "missing.txt", "octet", "tsize", "0", NULL);
    expect_error(&h, 0, VK_TFTP_ERR_NOT_FOUND, "File not found");
    rrq(&h, 2000, "sub", "octet", NULL);
    expect_error(&h, 1, VK_TFTP_ERR_NOT_FOUND, "File not found");
    rrq(&h, 2000, "hello.txt", "netascii", NULL);
    expect_error(&h, 2, VK_TFTP_ERR_ILLEGAL_OP, "Unsupported transfer mode");
    uint8_t unterminated[] = {0, 1, 'h', 'e', 'l', 'l', 'o'};
    send_tftp(&h, 2000, unterminated, sizeof unterminated);
    expect_error(&h, 3, VK_TFTP_ERR_ACCESS, "Access violation");
    assert_int_equal(uh_stats(&h)->tftp_errors_sent, 4);
    uh_close(&h);
    uh_open_ok(&h, "user,id=u,ipv6=off");
    uh_announce(&h); /* no tftp= */
    rrq(&h, 2000, "hello.txt", "octet", NULL);
    expect_error(&h, 0, VK_TFTP_ERR_ACCESS, "Access violation");
    uh_close(&h);
}

static void test_unknown_opcodes_and_writes_are_dropped(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, opts);
    uh_announce(&h);
    uint8_t op9[] = {0, 9, 0, 0};
    send_tftp(&h, 2000, op9, sizeof op9);
    assert_string_equal(h.dropped.reason, "TFTP: unknown opcode");
    uint8_t wrq[] = {0, 2, 'x', 0, 'o', 'c', 't', 'e', 't', 0};
    send_tftp(&h, 2000, wrq, sizeof wrq);
    assert_string_equal(h.dropped.reason, "TFTP: write requests are not served");
    send_tftp(&h, 2000, op9, 1);
    assert_string_equal(h.dropped.reason, "TFTP: unknown opcode");
    assert_int_equal(h.ngot, 0);
    uh_close(&h);
}

static void test_sessions_are_capped(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, opts);
    uh_announce(&h);
    for (uint16_t p = 0; p < 21; p++)
        rrq(&h, (uint16_t)(3000 + p), "big.bin", "octet", NULL);
    assert_int_equal(h.ngot, 20);
    assert_int_equal(uh_stats(&h)->tftp_sessions_full, 1);
    assert_string_equal(h.dropped.reason, "TFTP: too many sessions");
    uh_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_transfer_is_lock_step_with_empty_last_block),
        cmocka_unit_test(test_options_are_acknowledged_in_request_order),
        cmocka_unit_test(test_unanswered_session_is_retransmitted_then_ends),
        cmocka_unit_test(test_names_outside_the_directory_are_access_violations),
        cmocka_unit_test(test_libslirp_errors),
        cmocka_unit_test(test_unknown_opcodes_and_writes_are_dropped),
        cmocka_unit_test(test_sessions_are_capped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
