/*
 * The replay comparator's result: one stored key per flow however many
 * frames it has, a diff text only on divergences, entries in time order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "replay/compare.h"

/* An ARP frame from 10.0.2.a to 10.0.2.b (its flow is "arp A <> B"); op and
 * the last sender MAC byte let two frames of one flow differ. */
static void arp(uint8_t *f, uint8_t a, uint8_t b, uint8_t op, uint8_t mac)
{
    static const uint8_t head[22] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54,
                                     0x00, 0x12, 0x34, 0x56, 0x08, 0x06, 0x00, 0x01,
                                     0x08, 0x00, 0x06, 0x04, 0x00, 0x01};
    memset(f, 0, 60);
    memcpy(f, head, sizeof head);
    f[21] = op;
    const uint8_t sha[6] = {0x52, 0x54, 0x00, 0x12, 0x34, mac};
    memcpy(f + 22, sha, 6);
    const uint8_t spa[4] = {10, 0, 2, a}, tpa[4] = {10, 0, 2, b};
    memcpy(f + 28, spa, 4);
    memcpy(f + 38, tpa, 4);
}

static void test_each_flow_key_is_stored_once_and_only_divergences_carry_a_diff(void **state)
{
    (void)state;
    enum { N = 200 };
    static uint8_t ef[N + 1][60], pf[N + 2][60];
    static vk_cmp_frame exp[N + 1], prod[N + 2];
    for (size_t i = 0; i < N; i++) { /* one busy flow, frame N/2 answered wrongly */
        arp(ef[i], 15, 2, 1, (uint8_t)i);
        arp(pf[i], 15, 2, i == N / 2 ? 2 : 1, (uint8_t)i);
        exp[i] = (vk_cmp_frame){i + 1, 1000 * i, ef[i], 60};
        prod[i] = (vk_cmp_frame){i + 1, 1000 * i, pf[i], 60};
    }
    arp(ef[N], 15, 3, 1, 0); /* expected, never produced */
    exp[N] = (vk_cmp_frame){N + 1, 1000 * N, ef[N], 60};
    arp(pf[N], 15, 4, 1, 0); /* produced, never expected */
    prod[N] = (vk_cmp_frame){N + 1, 1000 * N + 1, pf[N], 60};
    vk_cmp_result r;
    assert_int_equal(vk_compare(exp, N + 1, prod, N + 1, VK_NORM_DEFAULT, NULL, &r), VK_OK);
    assert_int_equal(r.nflows, 3);
    assert_int_equal(r.n, N + 2);
    assert_int_equal(r.matched, N - 1);
    assert_int_equal(r.divergences, 3);
    for (size_t i = 0; i < r.n; i++) {
        const vk_cmp_entry *e = &r.e[i];
        if (i > 0) /* time order */
            assert_true(r.e[i - 1].ts <= e->ts);
        if (e->kind == VK_CMP_DIFFER) {
            assert_int_equal(e->exp, N / 2);
            assert_non_null(e->diff);
            assert_non_null(strstr(e->diff, "arp.op expected request got reply"));
        } else {
            assert_null(e->diff);
        }
        if (e->kind == VK_CMP_MISSING)
            assert_string_equal(vk_cmp_flow(&r, e), "arp 10.0.2.3 <> 10.0.2.15");
        if (e->kind == VK_CMP_UNEXPECTED)
            assert_string_equal(vk_cmp_flow(&r, e), "arp 10.0.2.4 <> 10.0.2.15");
        if (e->kind == VK_CMP_MATCH)
            assert_string_equal(vk_cmp_flow(&r, e), "arp 10.0.2.2 <> 10.0.2.15");
    }
    vk_cmp_result_free(&r);
    assert_null(r.e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_flow_key_is_stored_once_and_only_divergences_carry_a_diff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
