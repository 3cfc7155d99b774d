/*
 * IPv4 reassembly in -netdev user: fragments of an echo request are put
 * back together (in any order) and answered; overlapping, oversized and
 * badly cut fragments are dropped and counted; the number of datagrams in
 * progress is capped; unfinished datagrams time out on the virtual clock.
 * A reply larger than the MTU leaves in fragments.
 */
#include "test_user_harness.h"

#include "wire/checksum.h"
#include "wire/icmp.h"

#define MF 0x2000
#define VK_USER_MTU_FOR_TEST 1500

static uint8_t msg[4000];

static size_t echo(size_t data_len)
{
    memset(msg, 0, 8);
    msg[0] = VK_ICMP_ECHO_REQUEST;
    msg[5] = 1;
    for (size_t i = 0; i < data_len; i++)
        msg[8 + i] = (uint8_t)(i * 3);
    uint16_t c = vk_csum(msg, 8 + data_len);
    msg[2] = (uint8_t)(c >> 8);
    msg[3] = (uint8_t)c;
    return 8 + data_len;
}

/* Sends len bytes of data as the fragment at off of datagram `id`. */
static void frag_at(uh *h, uint16_t id, size_t off, const uint8_t *data, size_t len, bool more)
{
    uint8_t *f;
    uint16_t field = (uint16_t)((off / 8) | (more ? MF : 0));
    size_t n = uh_build_ip4(&f, "10.0.2.15", "10.0.2.2", IPPROTO_ICMP, id, field, data, len);
    uh_send(h, f, n);
    free(f);
}

/* Sends bytes [off, off+len) of msg as a fragment of datagram `id`. */
static void frag(uh *h, uint16_t id, size_t off, size_t len, bool more)
{
    uint8_t *f;
    uint16_t field = (uint16_t)((off / 8) | (more ? MF : 0));
    size_t n = uh_build_ip4(&f, "10.0.2.15", "10.0.2.2", IPPROTO_ICMP, id, field, msg + off, len);
    uh_send(h, f, n);
    free(f);
}

static void test_fragments_in_any_order_are_reassembled(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    uh_announce(&h);
    size_t n = echo(92); /* 100 bytes: 48 + 48 + 4 */
    frag(&h, 7, 96, n - 96, false);
    frag(&h, 7, 0, 48, true);
    assert_int_equal(h.ngot, 0);
    frag(&h, 7, 48, 48, true);
    assert_int_equal(h.ngot, 1);
    vk_eth_repr eth;
    vk_ipv4_repr ip;
    uh_got_ip4(&h, 0, &eth, &ip);
    vk_icmp_repr r;
    assert_int_equal(vk_icmp_parse(ip.payload, ip.payload_len, &r), VK_OK);
    assert_true(r.csum_ok);
    assert_int_equal(r.data_len, 92);
    assert_memory_equal(r.data, msg + 8, 92);
    assert_int_equal(uh_stats(&h)->frag_reassembled, 1);
    uh_close(&h);
}

static void test_large_reply_is_fragmented(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    uh_announce(&h);
    size_t n = echo(2992); /* 3000 bytes of ICMP */
    for (size_t off = 0; off < n; off += 1480)
        frag(&h, 9, off, n - off < 1480 ? n - off : 1480, off + 1480 < n);
    assert_int_equal(h.ngot, 3);
    size_t total = 0;
    for (size_t i = 0; i < 3; i++) {
        vk_eth_repr eth;
        vk_ipv4_repr ip;
        uh_got_ip4(&h, i, &eth, &ip);
        assert_true(h.got[i]->len <= VK_ETH_HLEN + VK_USER_MTU_FOR_TEST);
        assert_int_equal(ip.id, 0);
        assert_int_equal(ip.frag_off, total);
        assert_int_equal(ip.mf, i < 2);
        total += ip.payload_len;
    }
    assert_int_equal(total, n);
    uh_close(&h);
}

static void test_overlap_discards_the_datagram(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    uh_announce(&h);
    size_t n = echo(92);
    frag(&h, 7, 0, 48, true);
    frag(&h, 7, 0, 48, true); /* exact duplicate: ignored */
    assert_string_equal(h.dropped.reason, "IPv4: duplicate fragment");
    frag(&h, 7, 40, 56, true);
    assert_string_equal(h.dropped.reason, "IPv4: overlapping fragment");
    assert_int_equal(uh_stats(&h)->frag_overlaps, 1);
    frag(&h, 7, 48, 48, true);
    frag(&h, 7, 96, n - 96, false);
    assert_int_equal(h.ngot, 0); /* the first piece went with the overlap */
    uh_close(&h);
}

static void test_oversized_and_badly_cut_fragments_are_dropped(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    uh_announce(&h);
    echo(100);
    frag_at(&h, 3, 65528, msg, 16, false);
    assert_string_equal(h.dropped.reason, "IPv4: fragment beyond 65535 bytes");
    assert_int_equal(uh_stats(&h)->frag_oversize, 1);
    frag(&h, 3, 0, 20, true);
    assert_string_equal(h.dropped.reason, "IPv4: fragment length not a multiple of 8");
    frag_at(&h, 4, 64, msg, 8, false);
    frag_at(&h, 4, 72, msg, 8, true);
    assert_string_equal(h.dropped.reason, "IPv4: fragment past the end");
    assert_int_equal(h.ngot, 0);
    uh_close(&h);
}

static void test_pending_datagrams_are_capped_and_time_out(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,ipv6=off");
    uh_announce(&h);
    echo(100);
    for (uint16_t id = 0; id < 17; id++)
        frag(&h, id, 0, 48, true);
    assert_int_equal(uh_stats(&h)->frag_queues_full, 1);
    assert_string_equal(h.dropped.reason, "IPv4: too many datagrams in reassembly");
    uh_advance(&h, 30 * VK_NS_PER_SEC - 1);
    assert_int_equal(uh_stats(&h)->frag_timeouts, 0);
    uh_advance(&h, 30 * VK_NS_PER_SEC);
    assert_int_equal(uh_stats(&h)->frag_timeouts, 16);
    assert_string_equal(h.dropped.reason, "IPv4: reassembly timeout");
    /* room again */
    frag(&h, 99, 0, 48, true);
    assert_int_equal(uh_stats(&h)->frag_queues_full, 1);
    uh_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fragments_in_any_order_are_reassembled),
        cmocka_unit_test(test_large_reply_is_fragmented),
        cmocka_unit_test(test_overlap_discards_the_datagram),
        cmocka_unit_test(test_oversized_and_badly_cut_fragments_are_dropped),
        cmocka_unit_test(test_pending_datagrams_are_capped_and_time_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
