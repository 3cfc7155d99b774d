/* Guest memory (nics/guest_mem.h): a memory handed to the next card of the
 * same size is recycled, and it reads back all zero however the last card
 * wrote into it (only the 64ths a write touched are cleared); writes mark
 * the 64ths they touch, refused writes mark nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/error.h"
#include "nics/guest_mem.h"

/* 1 MiB + 100 bytes: a 64th is not a whole number of bytes. */
#define MEM_SIZE ((1u << 20) + 100u)

static void assert_all_zero(vk_gmem *m)
{
    static uint8_t chunk[4096];
    for (uint64_t at = 0; at < m->size; at += sizeof chunk) {
        size_t n = m->size - at < sizeof chunk ? (size_t)(m->size - at) : sizeof chunk;
        assert_int_equal(vk_gmem_read(m, at, chunk, n), VK_OK);
        for (size_t i = 0; i < n; i++)
            if (chunk[i] != 0)
                fail_msg("byte 0x%llx is 0x%02x after recycling",
                         (unsigned long long)(at + i), chunk[i]);
    }
}

static void test_recycled_memory_reads_zero_wherever_the_last_card_wrote(void **state)
{
    (void)state;
    vk_gmem m;
    assert_int_equal(vk_gmem_init(&m, MEM_SIZE), VK_OK);
    const uint8_t *first = m.bytes;
    static uint8_t ones[70000];
    memset(ones, 0xff, sizeof ones);
    uint64_t rs = (MEM_SIZE + 63) / 64;
    /* the first byte, the last, across a 64th's boundary, a long run over
     * several 64ths, and little-endian descriptor writes */
    assert_int_equal(vk_gmem_write(&m, 0, ones, 1), VK_OK);
    assert_int_equal(vk_gmem_write(&m, MEM_SIZE - 1, ones, 1), VK_OK);
    assert_int_equal(vk_gmem_write(&m, 5 * rs - 2, ones, 4), VK_OK);
    assert_int_equal(vk_gmem_write(&m, 20 * rs + 7, ones, sizeof ones), VK_OK);
    assert_int_equal(vk_gmem_write_le64(&m, 40 * rs, UINT64_MAX), VK_OK);
    assert_int_equal(vk_gmem_write_le32(&m, 63 * rs - 2, UINT32_MAX), VK_OK);
    vk_gmem_destroy(&m);

    vk_gmem again;
    assert_int_equal(vk_gmem_init(&again, MEM_SIZE), VK_OK);
    assert_ptr_equal(again.bytes, first); /* recycled, not a fresh allocation */
    assert_int_equal(again.size, MEM_SIZE);
    assert_int_equal(again.written, 0);
    assert_all_zero(&again);
    vk_gmem_destroy(&again);
}

static void test_writes_mark_the_64ths_they_touch(void **state)
{
    (void)state;
    vk_gmem m;
    assert_int_equal(vk_gmem_init(&m, MEM_SIZE), VK_OK);
    uint64_t rs = (MEM_SIZE + 63) / 64;
    uint8_t b[2] = {1, 2};
    assert_int_equal(vk_gmem_write(&m, rs - 1, b, 2), VK_OK); /* ends in the 2nd */
    assert_int_equal(m.written, 0x3ull);
    assert_int_equal(vk_gmem_write(&m, MEM_SIZE - 1, b, 1), VK_OK);
    assert_int_equal(m.written, 0x3ull | 1ull << 63);
    assert_int_equal(vk_gmem_write(&m, 10 * rs, b, 0), VK_OK); /* nothing written */
    assert_int_equal(m.written, 0x3ull | 1ull << 63);
    vk_gmem_destroy(&m);
}

static void test_refused_writes_mark_nothing(void **state)
{
    (void)state;
    vk_gmem m;
    assert_int_equal(vk_gmem_init(&m, MEM_SIZE), VK_OK);
    uint8_t b[4] = {0};
    assert_int_equal(vk_gmem_write(&m, MEM_SIZE - 2, b, 4), VK_ERANGE);
    assert_int_equal(vk_gmem_write(&m, UINT64_MAX - 1, b, 4), VK_ERANGE);
    assert_int_equal(vk_gmem_write_le64(&m, MEM_SIZE, 1), VK_ERANGE);
    assert_int_equal(m.faults, 3);
    assert_int_equal(m.written, 0);
    vk_gmem_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recycled_memory_reads_zero_wherever_the_last_card_wrote),
        cmocka_unit_test(test_writes_mark_the_64ths_they_touch),
        cmocka_unit_test(test_refused_writes_mark_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
