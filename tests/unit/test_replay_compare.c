/*
 * The replay comparator's result: one stored key per flow however many
 * frames it has, a diff text only on divergences, entries in time order;
 * and the periodic router advertisement rule (docs/replay-report.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
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

/* A router advertisement from fe80::2 to ff02::1; lifetime varies content. */
static void ra(uint8_t *f, uint16_t lifetime)
{
    static const uint8_t head[54] = {
        0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x52, 0x56, 0x00, 0x00, 0x00, 0x02, 0x86, 0xdd,
        0x60, 0x00, 0x00, 0x00, 0x00, 0x10, 58,   255,  0xfe, 0x80, 0,    0,    0,    0,
        0,    0,    0,    0,    0,    0,    0,    0,    0,    2,    0xff, 0x02, 0,    0,
        0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    1};
    memset(f, 0, 70);
    memcpy(f, head, sizeof head);
    f[54] = 134; /* ICMPv6 router advertisement */
    f[58] = 64;  /* cur hop limit */
    f[60] = (uint8_t)(lifetime >> 8);
    f[61] = (uint8_t)lifetime;
}

static size_t count_rule(const vk_cmp_result *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->e[i].kind == VK_CMP_MATCH && r->e[i].rule == VK_CMP_RULE_PERIODIC_RA;
    return n;
}

static void test_surplus_periodic_router_advertisements_match_by_content(void **state)
{
    (void)state;
    /* recorded: three RAs 200 s apart; the replay's timer sent only one */
    static uint8_t e[3][70], p[1][70];
    vk_cmp_frame exp[3], prod[1];
    for (size_t i = 0; i < 3; i++) {
        ra(e[i], 1800);
        exp[i] = (vk_cmp_frame){i + 1, i * 200000000000ull, e[i], 70};
    }
    ra(p[0], 1800);
    prod[0] = (vk_cmp_frame){1, 350000000000ull, p[0], 70};
    vk_cmp_result r;
    assert_int_equal(vk_compare(exp, 3, prod, 1, VK_NORM_DEFAULT, NULL, &r), VK_OK);
    assert_int_equal(r.divergences, 0);
    assert_int_equal(r.matched, 3);
    assert_int_equal(count_rule(&r), 2);
    assert_string_equal(vk_cmp_rule_name(VK_CMP_RULE_PERIODIC_RA), "periodic-ra");
    vk_cmp_result_free(&r);
    /* the other way round: one recorded, three produced */
    assert_int_equal(vk_compare(prod, 1, exp, 3, VK_NORM_DEFAULT, NULL, &r), VK_OK);
    assert_int_equal(r.divergences, 0);
    assert_int_equal(count_rule(&r), 2);
    vk_cmp_result_free(&r);
}

static void test_a_wrong_or_absent_router_advertisement_still_diverges(void **state)
{
    (void)state;
    static uint8_t e[2][70], p[2][70];
    vk_cmp_frame exp[2], prod[2];
    ra(e[0], 1800);
    ra(e[1], 1800);
    ra(p[0], 1800);
    ra(p[1], 1800);
    p[1][60] = 0; /* a surplus RA with another router lifetime: wrong */
    p[1][61] = 0;
    const uint64_t s200 = 200000000000ull; /* timer RAs: 200 s apart */
    exp[0] = (vk_cmp_frame){1, 1, e[0], 70};
    prod[0] = (vk_cmp_frame){1, 2, p[0], 70};
    prod[1] = (vk_cmp_frame){2, s200, p[1], 70};
    vk_cmp_result r;
    assert_int_equal(vk_compare(exp, 1, prod, 2, VK_NORM_DEFAULT, NULL, &r), VK_OK);
    assert_int_equal(r.divergences, 1);
    assert_int_equal(count_rule(&r), 0);
    vk_cmp_result_free(&r);
    /* recorded RAs, and the network sent none at all */
    exp[1] = (vk_cmp_frame){2, s200, e[1], 70};
    assert_int_equal(vk_compare(exp, 2, prod, 0, VK_NORM_DEFAULT, NULL, &r), VK_OK);
    assert_int_equal(r.divergences, 2);
    assert_int_equal(r.e[0].kind, VK_CMP_MISSING);
    vk_cmp_result_free(&r);
    /* a surplus RA but the only RA of the other side differs from it */
    assert_int_equal(vk_compare(exp, 2, &prod[1], 1, VK_NORM_DEFAULT, NULL, &r), VK_OK);
    assert_int_equal(count_rule(&r), 0);
    assert_int_equal(r.divergences, 2); /* one differ, one missing */
    vk_cmp_result_free(&r);
}

static void test_a_missing_answer_in_a_burst_of_router_advertisements_diverges(void **state)
{
    (void)state;
    /* the guest's solicitations at start were answered twice, 4 s apart;
     * the replay answered once: the second answer is missing, even though
     * an equal RA exists */
    static uint8_t e[2][70], p[1][70];
    vk_cmp_frame exp[2], prod[1];
    ra(e[0], 1800);
    ra(e[1], 1800);
    ra(p[0], 1800);
    exp[0] = (vk_cmp_frame){1, 1000000000ull, e[0], 70};
    exp[1] = (vk_cmp_frame){2, 5000000000ull, e[1], 70};
    prod[0] = (vk_cmp_frame){1, 1000000000ull, p[0], 70};
    vk_cmp_result r;
    assert_int_equal(vk_compare(exp, 2, prod, 1, VK_NORM_DEFAULT, NULL, &r), VK_OK);
    assert_int_equal(r.divergences, 1);
    assert_int_equal(count_rule(&r), 0);
    vk_cmp_result_free(&r);
}

/* Two flows, N frames each; frame `bad` of flow A answered wrongly. */
enum { SN = 64 };
static uint8_t s_ef[2 * SN][60], s_pf[2 * SN][60];
static vk_cmp_frame s_exp[2 * SN], s_prod[2 * SN];

static void two_flows(size_t bad)
{
    for (size_t i = 0; i < 2 * SN; i++) { /* even: flow 15<>2, odd: flow 15<>3 */
        uint8_t b = (uint8_t)(i % 2 ? 3 : 2);
        arp(s_ef[i], 15, b, 1, (uint8_t)i);
        arp(s_pf[i], 15, b, i == bad ? 2 : 1, (uint8_t)i);
        s_exp[i] = (vk_cmp_frame){i + 1, 1000 * i, s_ef[i], 60};
        s_prod[i] = (vk_cmp_frame){i + 1, 1000 * i, s_pf[i], 60};
    }
}

/* prod_order: b's produced frames came in a's order (their indices agree) */
static void assert_same_result(const vk_cmp_result *a, const vk_cmp_result *b, bool prod_order)
{
    assert_int_equal(a->matched, b->matched);
    assert_int_equal(a->divergences, b->divergences);
    size_t da = 0, db = 0;
    for (size_t i = 0; i < a->n; i++)
        da += a->e[i].kind != VK_CMP_MATCH;
    for (size_t i = 0; i < b->n; i++)
        db += b->e[i].kind != VK_CMP_MATCH;
    assert_int_equal(da, db);
    for (size_t i = 0, j = 0; i < a->n; i++) {
        if (a->e[i].kind == VK_CMP_MATCH)
            continue;
        while (b->e[j].kind == VK_CMP_MATCH)
            j++;
        const vk_cmp_entry *x = &a->e[i], *y = &b->e[j++];
        assert_int_equal(x->kind, y->kind);
        assert_int_equal(x->exp, y->exp);
        if (prod_order)
            assert_int_equal(x->prod, y->prod);
        assert_int_equal(x->p.no, y->p.no);
        assert_int_equal(x->ts, y->ts);
        assert_string_equal(vk_cmp_flow(a, x), vk_cmp_flow(b, y));
        assert_string_equal(x->diff ? x->diff : "", y->diff ? y->diff : "");
    }
}

static void test_streamed_frames_pair_within_their_flow_whatever_the_interleaving(void **state)
{
    (void)state;
    two_flows(10);
    vk_cmp_result whole;
    assert_int_equal(vk_compare(s_exp, 2 * SN, s_prod, 2 * SN, VK_NORM_DEFAULT, NULL, &whole),
                     VK_OK);
    assert_int_equal(whole.divergences, 1);
    /* produced frames first, then expected ones; then one side lagging the
     * other by 7 frames; then flow B's answers all before flow A's */
    for (int order = 0; order < 3; order++) {
        vk_cmp_stream *s;
        assert_int_equal(vk_cmp_stream_new(VK_NORM_DEFAULT, NULL, false, &s), VK_OK);
        if (order == 0) {
            for (size_t i = 0; i < 2 * SN; i++)
                assert_int_equal(vk_cmp_stream_produced(s, &s_prod[i]), VK_OK);
            for (size_t i = 0; i < 2 * SN; i++)
                assert_int_equal(vk_cmp_stream_expected(s, &s_exp[i]), VK_OK);
        } else if (order == 1) {
            for (size_t i = 0; i < 2 * SN + 7; i++) {
                if (i < 2 * SN)
                    assert_int_equal(vk_cmp_stream_expected(s, &s_exp[i]), VK_OK);
                if (i >= 7)
                    assert_int_equal(vk_cmp_stream_produced(s, &s_prod[i - 7]), VK_OK);
            }
        } else {
            for (size_t i = 0; i < 2 * SN; i++)
                assert_int_equal(vk_cmp_stream_expected(s, &s_exp[i]), VK_OK);
            for (size_t i = 1; i < 2 * SN; i += 2)
                assert_int_equal(vk_cmp_stream_produced(s, &s_prod[i]), VK_OK);
            for (size_t i = 0; i < 2 * SN; i += 2)
                assert_int_equal(vk_cmp_stream_produced(s, &s_prod[i]), VK_OK);
        }
        vk_cmp_result r;
        assert_int_equal(vk_cmp_stream_finish(s, &r), VK_OK);
        assert_same_result(&whole, &r, order != 2);
        assert_int_equal(r.n, 1); /* matches not kept: only the divergence */
        assert_int_equal(r.e[0].exp, 10);
        assert_int_equal(r.e[0].x.no, 11);
        assert_int_equal(r.e[0].p.no, 11);
        assert_memory_equal(r.e[0].p.data, s_pf[10], 60); /* its own copy */
        vk_cmp_result_free(&r);
    }
    vk_cmp_result_free(&whole);
}

static void test_streamed_frames_are_released_once_paired(void **state)
{
    (void)state;
    two_flows(SIZE_MAX);
    vk_cmp_stream *s;
    assert_int_equal(vk_cmp_stream_new(VK_NORM_DEFAULT, NULL, false, &s), VK_OK);
    for (size_t i = 0; i < 2 * SN; i++) {
        assert_int_equal(vk_cmp_stream_expected(s, &s_exp[i]), VK_OK);
        assert_int_equal(vk_cmp_stream_pending(s), 1); /* the frame waits in its flow */
        assert_int_equal(vk_cmp_stream_produced(s, &s_prod[i]), VK_OK);
        assert_int_equal(vk_cmp_stream_pending(s), 0); /* paired and released */
    }
    /* frames that never get a pair are settled at the end */
    arp(s_ef[0], 15, 9, 1, 0);
    assert_int_equal(vk_cmp_stream_expected(s, &s_exp[0]), VK_OK);
    vk_cmp_result r;
    assert_int_equal(vk_cmp_stream_finish(s, &r), VK_OK);
    assert_int_equal(r.matched, 2 * SN);
    assert_int_equal(r.divergences, 1);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.e[0].kind, VK_CMP_MISSING);
    assert_int_equal(r.nexp, 2 * SN + 1);
    assert_int_equal(r.nprod, 2 * SN);
    assert_string_equal(vk_cmp_flow(&r, &r.e[0]), "arp 10.0.2.9 <> 10.0.2.15");
    vk_cmp_result_free(&r);
}

/* Found by fuzz_capture (regression fuzz/regressions/capture/
 * compare-empty-qsort-null): a stream that saw no frame finished by handing
 * qsort a NULL array, undefined behaviour UBSan reports. */
static void test_stream_with_no_frames_finishes_empty_without_sorting_null(void **state)
{
    (void)state;
    vk_cmp_stream *s;
    assert_int_equal(vk_cmp_stream_new(VK_NORM_DEFAULT, NULL, false, &s), VK_OK);
    vk_cmp_result r;
    assert_int_equal(vk_cmp_stream_finish(s, &r), VK_OK);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.matched, 0);
    assert_int_equal(r.divergences, 0);
    vk_cmp_result_free(&r);
}

static void test_binary_flow_key_formats_as_the_text_key(void **state)
{
    (void)state;
    uint8_t f[70];
    char a[VK_FLOW_KEY_MAX], b[VK_FLOW_KEY_MAX];
    vk_flow_bkey k1, k2;
    arp(f, 15, 2, 1, 0);
    vk_flow_bkey_of(f, 60, &k1);
    vk_flow_bkey_text(&k1, a);
    assert_string_equal(a, "arp 10.0.2.2 <> 10.0.2.15");
    arp(f, 2, 15, 2, 9); /* the other direction: the same key, byte for byte */
    vk_flow_bkey_of(f, 60, &k2);
    assert_memory_equal(&k1, &k2, sizeof k1);
    vk_flow_key(f, 60, b);
    assert_string_equal(a, b);
    ra(f, 1800);
    vk_flow_key(f, 70, a);
    assert_string_equal(a, "icmp6 router");
    vk_flow_key(f, 10, a);
    assert_string_equal(a, "runt");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_flow_key_is_stored_once_and_only_divergences_carry_a_diff),
        cmocka_unit_test(test_surplus_periodic_router_advertisements_match_by_content),
        cmocka_unit_test(test_a_wrong_or_absent_router_advertisement_still_diverges),
        cmocka_unit_test(test_a_missing_answer_in_a_burst_of_router_advertisements_diverges),
        cmocka_unit_test(test_streamed_frames_pair_within_their_flow_whatever_the_interleaving),
        cmocka_unit_test(test_streamed_frames_are_released_once_paired),
        cmocka_unit_test(test_binary_flow_key_formats_as_the_text_key),
        cmocka_unit_test(test_stream_with_no_frames_finishes_empty_without_sorting_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
