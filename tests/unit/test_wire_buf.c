/* Checked reader/writer cursors: nothing is read or written out of range,
 * and errors are sticky. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/error.h"
#include "wire/buf.h"

static void test_reader_reads_big_endian_fields(void **state)
{
    (void)state;
    const uint8_t b[] = {1, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 9};
    vk_rd r;
    vk_rd_init(&r, b, sizeof(b));
    assert_int_equal(vk_rd_u8(&r), 1);
    assert_int_equal(vk_rd_u16be(&r), 0x1234);
    assert_int_equal(vk_rd_u32be(&r), 0xdeadbeef);
    assert_int_equal(vk_rd_left(&r), 1);
    assert_true(vk_rd_ok(&r));
}

static void test_reader_overrun_sets_sticky_error_and_yields_zero(void **state)
{
    (void)state;
    const uint8_t b[] = {1, 2, 3};
    vk_rd r;
    vk_rd_init(&r, b, sizeof(b));
    assert_int_equal(vk_rd_u16be(&r), 0x0102);
    assert_int_equal(vk_rd_u16be(&r), 0); /* only one byte left */
    assert_false(vk_rd_ok(&r));
    assert_int_equal(vk_rd_u8(&r), 0); /* stays failed though a byte remains */
    assert_int_equal(vk_rd_left(&r), 0);
    uint8_t dst[4] = {9, 9, 9, 9};
    vk_rd_bytes(&r, dst, sizeof(dst));
    assert_int_equal(dst[0], 0);
    assert_null(vk_rd_take(&r, 0));
}

static void test_reader_skip_past_end_fails(void **state)
{
    (void)state;
    const uint8_t b[4] = {0};
    vk_rd r;
    vk_rd_init(&r, b, sizeof(b));
    vk_rd_skip(&r, 5);
    assert_false(vk_rd_ok(&r));
}

static void test_reader_with_huge_length_request_does_not_wrap(void **state)
{
    (void)state;
    const uint8_t b[4] = {0};
    vk_rd r;
    vk_rd_init(&r, b, sizeof(b));
    vk_rd_skip(&r, 2);
    assert_null(vk_rd_take(&r, SIZE_MAX));
    assert_false(vk_rd_ok(&r));
}

static void test_writer_never_writes_past_capacity(void **state)
{
    (void)state;
    uint8_t b[6] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};
    vk_wr w;
    vk_wr_init(&w, b, 5);
    vk_wr_u32be(&w, 0x01020304);
    vk_wr_u16be(&w, 0x0506); /* does not fit: nothing written */
    assert_false(vk_wr_ok(&w));
    assert_int_equal(vk_wr_status(&w), VK_EFULL);
    vk_wr_u8(&w, 7); /* would fit, but the error is sticky */
    assert_int_equal(b[4], 0xaa);
    assert_int_equal(b[5], 0xaa);
    assert_int_equal(w.off, 4);
    assert_int_equal(b[0], 1);
    assert_int_equal(b[3], 4);
}

static void test_writer_zero_and_bytes(void **state)
{
    (void)state;
    uint8_t b[8];
    vk_wr w;
    vk_wr_init(&w, b, sizeof(b));
    vk_wr_bytes(&w, "abc", 3);
    vk_wr_zero(&w, 5);
    assert_int_equal(vk_wr_status(&w), VK_OK);
    assert_memory_equal(b, "abc\0\0\0\0\0", 8);
}

static void test_be_helpers_round_trip(void **state)
{
    (void)state;
    uint8_t b[4];
    vk_put_be16(b, 0xabcd);
    assert_int_equal(b[0], 0xab);
    assert_int_equal(vk_get_be16(b), 0xabcd);
    vk_put_be32(b, 0x89abcdef);
    assert_int_equal(b[0], 0x89);
    assert_int_equal(vk_get_be32(b), 0x89abcdef);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_reads_big_endian_fields),
        cmocka_unit_test(test_reader_overrun_sets_sticky_error_and_yields_zero),
        cmocka_unit_test(test_reader_skip_past_end_fails),
        cmocka_unit_test(test_reader_with_huge_length_request_does_not_wrap),
        cmocka_unit_test(test_writer_never_writes_past_capacity),
        cmocka_unit_test(test_writer_zero_and_bytes),
        cmocka_unit_test(test_be_helpers_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
