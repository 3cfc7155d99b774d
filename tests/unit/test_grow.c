/* vk_grow (core/grow.h): room is made only when needed, by doubling from
 * the initial capacity; contents survive; an impossible size fails with
 * the array untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/error.h"
#include "core/grow.h"

static void test_grow_doubles_from_initial_and_keeps_contents(void **state)
{
    (void)state;
    int *a = NULL;
    size_t cap = 0;
    for (size_t n = 0; n < 100; n++) {
        assert_int_equal(vk_grow(&a, &cap, n, sizeof *a, 4), VK_OK);
        a[n] = (int)n;
    }
    assert_int_equal(cap, 128); /* 4, 8, ..., 128 */
    for (size_t n = 0; n < 100; n++)
        assert_int_equal(a[n], (int)n);
    free(a);
}

static void test_grow_leaves_a_roomy_array_alone(void **state)
{
    (void)state;
    int *a = malloc(8 * sizeof *a);
    int *before = a;
    size_t cap = 8;
    assert_int_equal(vk_grow(&a, &cap, 7, sizeof *a, 4), VK_OK);
    assert_ptr_equal(a, before);
    assert_int_equal(cap, 8);
    free(a);
}

static void test_grow_refuses_an_overflowing_size(void **state)
{
    (void)state;
    char *a = NULL;
    size_t cap = 0;
    assert_int_equal(vk_grow(&a, &cap, 0, SIZE_MAX / 2, 4), VK_ENOMEM);
    assert_null(a);
    assert_int_equal(cap, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow_doubles_from_initial_and_keeps_contents),
        cmocka_unit_test(test_grow_leaves_a_roomy_array_alone),
        cmocka_unit_test(test_grow_refuses_an_overflowing_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
