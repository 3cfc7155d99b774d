/* TFTP: requests with options, DATA/ACK/ERROR/OACK, unterminated strings
 * refused, the option count bounded, and emit -> parse round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "wire/tftp.h"

static const uint8_t rrq[] = "\0\1pxelinux.0\0octet\0blksize\0" "1432\0tsize\0" "0\0"
                             "x-vendor\0abc";
/* sizeof includes the literal's final NUL, which terminates "abc". */

static void test_tftp_rrq_with_options_parses(void **state)
{
    (void)state;
    vk_tftp_repr t;
    assert_int_equal(vk_tftp_parse(rrq, sizeof(rrq), &t), VK_OK);
    assert_int_equal(t.opcode, VK_TFTP_RRQ);
    assert_string_equal(t.filename, "pxelinux.0");
    assert_string_equal(t.mode, "octet");
    assert_int_equal(t.option_count, 3);
    assert_true(t.has_blksize);
    assert_int_equal(t.blksize, 1432);
    assert_true(t.has_tsize);
    assert_int_equal(t.tsize, 0);
    assert_false(t.has_timeout);
    assert_string_equal(t.options[2].name, "x-vendor"); /* unknown kept by name */
    assert_string_equal(t.options[2].value, "abc");
}

/* Request cuts are refused unless they fall right after a complete
 * name/value pair: TFTP has no length field, so those are valid requests. */
static void test_tftp_rrq_cut_mid_string_is_malformed(void **state)
{
    (void)state;
    const size_t pair_ends[] = {19, 32, 40}; /* after mode, blksize, tsize pairs */
    for (size_t k = 0; k < sizeof(rrq); k++) {
        uint8_t *cut = malloc(k > 0 ? k : 1);
        memcpy(cut, rrq, k);
        vk_tftp_repr t;
        int err = vk_tftp_parse(cut, k, &t);
        bool boundary = false;
        for (size_t i = 0; i < 3; i++)
            boundary |= k == pair_ends[i];
        if (boundary && err != VK_OK)
            fail_msg("cut at %zu after a pair: %s", k, vk_errname(err));
        if (!boundary && err == VK_OK)
            fail_msg("cut at %zu parsed", k);
        if (k >= 2 && !boundary)
            assert_int_equal(err, VK_EFORMAT);
        free(cut);
    }
}

static void test_tftp_unterminated_filename_is_malformed(void **state)
{
    (void)state;
    const uint8_t p[] = {0, 1, 'a', 'b', 'c'};
    vk_tftp_repr t;
    assert_int_equal(vk_tftp_parse(p, sizeof(p), &t), VK_EFORMAT);
}

static void test_tftp_option_without_value_is_malformed(void **state)
{
    (void)state;
    const uint8_t p[] = "\0\1f\0octet\0blksize";
    vk_tftp_repr t;
    assert_int_equal(vk_tftp_parse(p, sizeof(p), &t), VK_EFORMAT);
}

static void test_tftp_too_many_options_is_malformed(void **state)
{
    (void)state;
    uint8_t p[256];
    size_t n = 0;
    memcpy(p, "\0\1f\0octet\0", 10);
    n = 10;
    for (int i = 0; i <= VK_TFTP_MAX_OPTIONS; i++) {
        memcpy(p + n, "o\0v\0", 4);
        n += 4;
    }
    vk_tftp_repr t;
    assert_int_equal(vk_tftp_parse(p, n, &t), VK_EFORMAT);
    assert_int_equal(vk_tftp_parse(p, n - 4, &t), VK_OK);
    assert_int_equal(t.option_count, VK_TFTP_MAX_OPTIONS);
}

static void test_tftp_non_numeric_blksize_is_kept_but_not_recognised(void **state)
{
    (void)state;
    const uint8_t p[] = "\0\1f\0octet\0BLKSIZE\0" "12x\0timeout\0" "99999999999";
    vk_tftp_repr t;
    assert_int_equal(vk_tftp_parse(p, sizeof(p), &t), VK_OK);
    assert_int_equal(t.option_count, 2);
    assert_false(t.has_blksize);
    assert_false(t.has_timeout); /* overflows 32 bits */
}

static void test_tftp_option_names_are_case_insensitive(void **state)
{
    (void)state;
    const uint8_t p[] = "\0\6BlkSize\0" "512";
    vk_tftp_repr t;
    assert_int_equal(vk_tftp_parse(p, sizeof(p), &t), VK_OK);
    assert_int_equal(t.opcode, VK_TFTP_OACK);
    assert_true(t.has_blksize);
    assert_int_equal(t.blksize, 512);
}

static void test_tftp_data_ack_error(void **state)
{
    (void)state;
    vk_tftp_repr t;
    const uint8_t data[] = {0, 3, 0, 7, 'x', 'y'};
    assert_int_equal(vk_tftp_parse(data, sizeof(data), &t), VK_OK);
    assert_int_equal(t.block, 7);
    assert_int_equal(t.data_len, 2);
    assert_int_equal(vk_tftp_parse(data, 4, &t), VK_OK); /* empty last block */
    assert_int_equal(t.data_len, 0);
    assert_int_equal(vk_tftp_parse(data, 3, &t), VK_ETRUNC);
    const uint8_t ack[] = {0, 4, 1, 2};
    assert_int_equal(vk_tftp_parse(ack, sizeof(ack), &t), VK_OK);
    assert_int_equal(t.block, 0x102);
    assert_int_equal(vk_tftp_parse(ack, 1, &t), VK_ETRUNC);
    const uint8_t err[] = "\0\5\0\1File not found";
    assert_int_equal(vk_tftp_parse(err, sizeof(err), &t), VK_OK);
    assert_int_equal(t.error_code, VK_TFTP_ERR_NOT_FOUND);
    assert_string_equal(t.error_msg, "File not found");
    assert_int_equal(vk_tftp_parse(err, sizeof(err) - 1, &t), VK_EFORMAT);
    assert_int_equal(vk_tftp_parse(err, 4, &t), VK_EFORMAT); /* message missing */
    const uint8_t bad_op[] = {0, 9, 0, 0};
    assert_int_equal(vk_tftp_parse(bad_op, sizeof(bad_op), &t), VK_EFORMAT);
}

/* Bug found by fuzz/fuzz_wire (regression fuzz/regressions/wire/
 * tftp-ack-trailing-bytes): an ACK with bytes after its block number parsed
 * them as data, which emit does not write, so parse -> emit -> parse lost
 * them.  An ACK is its block number; trailing bytes are ignored. */
static void test_tftp_ack_trailing_bytes_are_not_data_and_round_trip(void **state)
{
    (void)state;
    const uint8_t ack[] = {0, 4, 0x00, 0xfe, 0xc0, 0, 0, 4};
    vk_tftp_repr a, b;
    assert_int_equal(vk_tftp_parse(ack, sizeof(ack), &a), VK_OK);
    assert_int_equal(a.block, 0xfe);
    assert_int_equal(a.data_len, 0);
    uint8_t out[16];
    size_t n = 0;
    assert_int_equal(vk_tftp_emit(&a, out, sizeof out, &n), VK_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(out, ack, 4);
    assert_int_equal(vk_tftp_parse(out, n, &b), VK_OK);
    assert_int_equal(b.block, a.block);
    assert_int_equal(b.data_len, a.data_len);
}

static void test_tftp_emit_round_trips_each_opcode(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n;
    vk_tftp_repr t;
    assert_int_equal(vk_tftp_parse(rrq, sizeof(rrq), &t), VK_OK);
    assert_int_equal(vk_tftp_emit(&t, b, sizeof(b), &n), VK_OK);
    assert_int_equal(n, sizeof(rrq));
    assert_memory_equal(b, rrq, n);
    assert_int_equal(vk_tftp_emit(&t, b, sizeof(rrq) - 1, &n), VK_EFULL);

    vk_tftp_repr oack = {.opcode = VK_TFTP_OACK, .option_count = 1,
                         .options = {{"blksize", "1432"}}};
    assert_int_equal(vk_tftp_emit(&oack, b, sizeof(b), &n), VK_OK);
    assert_int_equal(vk_tftp_parse(b, n, &t), VK_OK);
    assert_int_equal(t.blksize, 1432);

    const uint8_t payload[] = {1, 2, 3};
    vk_tftp_repr data = {.opcode = VK_TFTP_DATA, .block = 9, .data = payload, .data_len = 3};
    assert_int_equal(vk_tftp_emit(&data, b, sizeof(b), &n), VK_OK);
    assert_int_equal(n, 7);
    assert_int_equal(vk_tftp_parse(b, n, &t), VK_OK);
    assert_int_equal(t.block, 9);
    assert_memory_equal(t.data, payload, 3);

    vk_tftp_repr e = {.opcode = VK_TFTP_ERROR, .error_code = 8, .error_msg = "bad option"};
    assert_int_equal(vk_tftp_emit(&e, b, sizeof(b), &n), VK_OK);
    assert_int_equal(vk_tftp_parse(b, n, &t), VK_OK);
    assert_string_equal(t.error_msg, "bad option");

    vk_tftp_repr bogus = {.opcode = 42};
    assert_int_equal(vk_tftp_emit(&bogus, b, sizeof(b), &n), VK_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tftp_rrq_with_options_parses),
        cmocka_unit_test(test_tftp_rrq_cut_mid_string_is_malformed),
        cmocka_unit_test(test_tftp_unterminated_filename_is_malformed),
        cmocka_unit_test(test_tftp_option_without_value_is_malformed),
        cmocka_unit_test(test_tftp_too_many_options_is_malformed),
        cmocka_unit_test(test_tftp_non_numeric_blksize_is_kept_but_not_recognised),
        cmocka_unit_test(test_tftp_option_names_are_case_insensitive),
        cmocka_unit_test(test_tftp_data_ack_error),
        cmocka_unit_test(test_tftp_ack_trailing_bytes_are_not_data_and_round_trip),
        cmocka_unit_test(test_tftp_emit_round_trips_each_opcode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
