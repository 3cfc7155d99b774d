/* QEMU's stream framing (backends/framing.h): records split across reads at
 * every offset, every length edge (0, 1, VK_STREAM_LEN_MAX, one more, the
 * largest 32-bit value), partial writes resumed, unsent frames reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends/framing.h"

static void put_record(uint8_t *p, const uint8_t *frame, uint32_t len)
{
    p[0] = (uint8_t)(len >> 24);
    p[1] = (uint8_t)(len >> 16);
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    if (len > 0)
        memcpy(p + 4, frame, len);
}

/* Feeds bytes into rx as a socket would, at most `chunk` per read. */
static void feed(vk_stream_rx *rx, const uint8_t *bytes, size_t n, size_t chunk)
{
    size_t off = 0;
    while (off < n) {
        size_t room;
        uint8_t *space = vk_stream_rx_space(rx, &room);
        assert_true(room > 0);
        size_t k = n - off < chunk ? n - off : chunk;
        if (k > room)
            k = room;
        memcpy(space, bytes + off, k);
        vk_stream_rx_commit(rx, k);
        off += k;
    }
}

static void test_a_record_split_at_every_offset_comes_out_whole_once(void **state)
{
    (void)state;
    uint8_t frame[64], wire[68];
    for (size_t i = 0; i < sizeof frame; i++)
        frame[i] = (uint8_t)(i * 7);
    put_record(wire, frame, sizeof frame);
    for (size_t cut = 0; cut <= sizeof wire; cut++) {
        vk_stream_rx rx;
        assert_int_equal(vk_stream_rx_init(&rx, VK_STREAM_RX_BUF), VK_OK);
        const uint8_t *got;
        size_t len;
        feed(&rx, wire, cut, 1000);
        if (cut < sizeof wire)
            assert_int_equal(vk_stream_rx_next(&rx, &got, &len), VK_EAGAIN);
        feed(&rx, wire + cut, sizeof wire - cut, 1000);
        assert_int_equal(vk_stream_rx_next(&rx, &got, &len), VK_OK);
        assert_int_equal(len, sizeof frame);
        assert_memory_equal(got, frame, sizeof frame);
        assert_int_equal(vk_stream_rx_next(&rx, &got, &len), VK_EAGAIN);
        vk_stream_rx_free(&rx);
    }
}

static void test_many_records_read_one_byte_at_a_time_keep_their_order(void **state)
{
    (void)state;
    enum { N = 300 };
    size_t total = 0;
    uint8_t *wire = malloc(N * (4 + 1600));
    assert_non_null(wire);
    for (uint32_t i = 0; i < N; i++) {
        uint8_t frame[1600];
        uint32_t len = 1 + (i * 37) % 1599;
        memset(frame, (int)i, len);
        put_record(wire + total, frame, len);
        total += 4 + len;
    }
    for (size_t chunk = 1; chunk <= 4096; chunk *= 8) {
        vk_stream_rx rx;
        assert_int_equal(vk_stream_rx_init(&rx, VK_STREAM_HDR_LEN + VK_STREAM_LEN_MAX), VK_OK);
        uint32_t next = 0;
        size_t off = 0;
        while (off < total) {
            size_t k = total - off < chunk ? total - off : chunk;
            feed(&rx, wire + off, k, chunk);
            off += k;
            const uint8_t *got;
            size_t len;
            while (vk_stream_rx_next(&rx, &got, &len) == VK_OK) {
                assert_int_equal(len, 1 + (next * 37) % 1599);
                assert_int_equal(got[0], (uint8_t)next);
                assert_int_equal(got[len - 1], (uint8_t)next);
                next++;
            }
        }
        assert_int_equal(next, N);
        size_t claimed;
        assert_int_equal(vk_stream_rx_partial(&rx, &claimed), 0);
        vk_stream_rx_free(&rx);
    }
    free(wire);
}

static void test_length_edges(void **state)
{
    (void)state;
    static const struct {
        uint32_t len;
        int want;
    } cases[] = {
        {0, VK_EDROP},
        {1, VK_OK},
        {VK_STREAM_LEN_MAX, VK_OK},
        {VK_STREAM_LEN_MAX + 1, VK_ERANGE},
        {0x00ffffffu, VK_ERANGE},
        {0xffffffffu, VK_ERANGE},
    };
    uint8_t *frame = calloc(1, VK_STREAM_LEN_MAX);
    uint8_t *wire = malloc(4 + VK_STREAM_LEN_MAX);
    assert_non_null(frame);
    assert_non_null(wire);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vk_stream_rx rx;
        assert_int_equal(vk_stream_rx_init(&rx, VK_STREAM_RX_BUF), VK_OK);
        uint32_t len = cases[i].len;
        size_t body = len <= VK_STREAM_LEN_MAX ? len : 0;
        put_record(wire, frame, (uint32_t)body);
        put_record(wire, NULL, 0);
        wire[0] = (uint8_t)(len >> 24), wire[1] = (uint8_t)(len >> 16);
        wire[2] = (uint8_t)(len >> 8), wire[3] = (uint8_t)len;
        feed(&rx, wire, 4 + body, 65536);
        const uint8_t *got;
        size_t n;
        assert_int_equal(vk_stream_rx_next(&rx, &got, &n), cases[i].want);
        assert_int_equal(n, len); /* the frame's length, or the bad one */
        if (cases[i].want == VK_ERANGE) {
            /* nothing consumed: the caller sees the same header again */
            assert_int_equal(vk_stream_rx_next(&rx, &got, &n), VK_ERANGE);
        } else {
            assert_int_equal(vk_stream_rx_next(&rx, &got, &n), VK_EAGAIN);
        }
        vk_stream_rx_free(&rx);
    }
    free(frame);
    free(wire);
}

static void test_a_header_alone_reports_the_claimed_length_as_partial(void **state)
{
    (void)state;
    vk_stream_rx rx;
    assert_int_equal(vk_stream_rx_init(&rx, VK_STREAM_RX_BUF), VK_OK);
    uint8_t wire[14] = {0, 0, 0, 100};
    size_t claimed;
    feed(&rx, wire, 3, 3);
    assert_int_equal(vk_stream_rx_partial(&rx, &claimed), 3);
    assert_int_equal(claimed, 0); /* header incomplete: nothing claimed yet */
    feed(&rx, wire + 3, 11, 11);
    assert_int_equal(vk_stream_rx_partial(&rx, &claimed), 14);
    assert_int_equal(claimed, 100);
    vk_stream_rx_reset(&rx);
    assert_int_equal(vk_stream_rx_partial(&rx, &claimed), 0);
    vk_stream_rx_free(&rx);
}

static void test_buffers_smaller_than_one_record_are_refused(void **state)
{
    (void)state;
    vk_stream_rx rx;
    vk_stream_tx tx;
    assert_int_equal(vk_stream_rx_init(&rx, VK_STREAM_LEN_MAX), VK_EINVAL);
    assert_int_equal(vk_stream_tx_init(&tx, VK_STREAM_LEN_MAX + 3), VK_EINVAL);
}

static void test_tx_refuses_empty_and_overlong_frames(void **state)
{
    (void)state;
    vk_stream_tx tx;
    assert_int_equal(vk_stream_tx_init(&tx, VK_STREAM_TX_BUF), VK_OK);
    uint8_t *big = calloc(1, VK_STREAM_LEN_MAX + 1);
    assert_non_null(big);
    assert_int_equal(vk_stream_tx_put(&tx, big, 0), VK_ERANGE);
    assert_int_equal(vk_stream_tx_put(&tx, big, VK_STREAM_LEN_MAX + 1), VK_ERANGE);
    assert_int_equal(vk_stream_tx_put(&tx, big, VK_STREAM_LEN_MAX), VK_OK);
    assert_int_equal(vk_stream_tx_pending(&tx), 4 + VK_STREAM_LEN_MAX);
    free(big);
    vk_stream_tx_free(&tx);
}

static void count_unsent(void *arg, const uint8_t *frame, size_t len)
{
    size_t *n = arg;
    assert_int_equal(frame[0], (uint8_t)(*n + 1));
    assert_int_equal(len, 100);
    (*n)++;
}

static void count_unsent_any(void *arg, const uint8_t *frame, size_t len)
{
    (void)frame, (void)len;
    (*(size_t *)arg)++;
}

/* Writes of every size resume where the last stopped; the bytes on the
 * "socket" parse back into the same frames. */
static void test_partial_writes_resume_and_parse_back(void **state)
{
    (void)state;
    vk_stream_tx tx;
    vk_stream_rx rx;
    assert_int_equal(vk_stream_tx_init(&tx, VK_STREAM_HDR_LEN + VK_STREAM_LEN_MAX), VK_OK);
    assert_int_equal(vk_stream_rx_init(&rx, VK_STREAM_RX_BUF), VK_OK);
    uint32_t sent = 0, got_n = 0;
    for (size_t step = 1; step < 5000; step = step * 3 + 1) {
        for (int round = 0; round < 40; round++) {
            uint8_t frame[3000];
            size_t len = 1 + (sent * 131) % sizeof frame;
            memset(frame, (int)(sent & 0xff), len);
            if (vk_stream_tx_fits(&tx, len)) {
                assert_int_equal(vk_stream_tx_put(&tx, frame, len), VK_OK);
                sent++;
            } else {
                assert_int_equal(vk_stream_tx_put(&tx, frame, len), VK_EFULL);
            }
            size_t n;
            const uint8_t *data = vk_stream_tx_data(&tx, &n);
            size_t w = n < step ? n : step; /* a short write */
            feed(&rx, data, w, w);
            vk_stream_tx_consume(&tx, w);
            const uint8_t *f;
            size_t flen;
            while (vk_stream_rx_next(&rx, &f, &flen) == VK_OK) {
                assert_int_equal(flen, 1 + (got_n * 131) % 3000);
                assert_int_equal(f[0], (uint8_t)(got_n & 0xff));
                got_n++;
            }
        }
    }
    size_t n;
    const uint8_t *data = vk_stream_tx_data(&tx, &n);
    feed(&rx, data, n, 4096);
    vk_stream_tx_consume(&tx, n);
    const uint8_t *f;
    size_t flen;
    while (vk_stream_rx_next(&rx, &f, &flen) == VK_OK)
        got_n++;
    assert_int_equal(got_n, sent);
    assert_int_equal(vk_stream_tx_pending(&tx), 0);
    vk_stream_tx_free(&tx);
    vk_stream_rx_free(&rx);
}

/* A frame half written counts as unsent, a wholly written one does not. */
static void test_unsent_frames_are_those_not_wholly_written(void **state)
{
    (void)state;
    vk_stream_tx tx;
    assert_int_equal(vk_stream_tx_init(&tx, VK_STREAM_TX_BUF), VK_OK);
    uint8_t frame[100];
    for (int i = 0; i < 5; i++) {
        memset(frame, i, sizeof frame);
        assert_int_equal(vk_stream_tx_put(&tx, frame, sizeof frame), VK_OK);
    }
    vk_stream_tx_consume(&tx, 104 + 50); /* frame 0 written, frame 1 half */
    size_t n = 0;
    vk_stream_tx_foreach_unsent(&tx, count_unsent, &n);
    assert_int_equal(n, 4);
    vk_stream_tx_consume(&tx, 54 + 2); /* frame 1 done, 2 bytes of frame 2's header */
    n = 1; /* frames 2, 3 and 4 are left */
    vk_stream_tx_foreach_unsent(&tx, count_unsent, &n);
    assert_int_equal(n, 4);
    vk_stream_tx_free(&tx);
}

/* Every byte of frames of every small length (the inline copy's sizes and
 * around them), put behind bytes still waiting, comes out as it went in. */
static void test_small_frames_of_every_length_are_copied_whole(void **state)
{
    (void)state;
    vk_stream_tx tx;
    vk_stream_rx rx;
    assert_int_equal(vk_stream_tx_init(&tx, VK_STREAM_TX_BUF), VK_OK);
    assert_int_equal(vk_stream_rx_init(&rx, VK_STREAM_RX_BUF), VK_OK);
    uint8_t frame[VK_STREAM_SMALL + 40];
    for (size_t len = 1; len <= sizeof frame; len++) {
        for (size_t i = 0; i < len; i++)
            frame[i] = (uint8_t)(len * 7 + i);
        assert_int_equal(vk_stream_tx_put(&tx, frame, len), VK_OK);
    }
    size_t n;
    const uint8_t *data = vk_stream_tx_data(&tx, &n);
    feed(&rx, data, n, n);
    for (size_t len = 1; len <= sizeof frame; len++) {
        const uint8_t *got;
        size_t glen;
        assert_int_equal(vk_stream_rx_next(&rx, &got, &glen), VK_OK);
        assert_int_equal(glen, len);
        for (size_t i = 0; i < len; i++)
            assert_int_equal(got[i], (uint8_t)(len * 7 + i));
    }
    vk_stream_tx_free(&tx);
    vk_stream_rx_free(&rx);
}

/* A send that stops inside the buffer leaves the written records behind
 * (no walk per send); the room they free still counts, and a put that
 * needs it compacts to the record the next write starts in. */
static void test_written_records_free_their_room_without_a_walk_per_send(void **state)
{
    (void)state;
    vk_stream_tx tx;
    assert_int_equal(vk_stream_tx_init(&tx, VK_STREAM_HDR_LEN + VK_STREAM_LEN_MAX), VK_OK);
    uint8_t frame[1000];
    size_t put = 0;
    while (vk_stream_tx_fits(&tx, sizeof frame)) {
        memset(frame, (int)put, sizeof frame);
        assert_int_equal(vk_stream_tx_put(&tx, frame, sizeof frame), VK_OK);
        put++;
    }
    /* all but the last 1.5 records written, in two sends */
    size_t pending = vk_stream_tx_pending(&tx);
    vk_stream_tx_consume(&tx, 1000);
    vk_stream_tx_consume(&tx, pending - 1000 - 1004 - 502);
    assert_true(vk_stream_tx_fits(&tx, sizeof frame));
    memset(frame, 0xee, sizeof frame);
    assert_int_equal(vk_stream_tx_put(&tx, frame, sizeof frame), VK_OK);
    size_t unsent = 0;
    vk_stream_tx_foreach_unsent(&tx, count_unsent_any, &unsent);
    assert_int_equal(unsent, 3); /* the half-written one, the last old one, the new one */
    vk_stream_rx rx;
    assert_int_equal(vk_stream_rx_init(&rx, VK_STREAM_RX_BUF), VK_OK);
    size_t n;
    const uint8_t *data = vk_stream_tx_data(&tx, &n);
    assert_int_equal(n, 502 + 1004 + 1004);
    feed(&rx, data + 502, n - 502, n); /* from the next whole record on */
    const uint8_t *got;
    size_t glen;
    assert_int_equal(vk_stream_rx_next(&rx, &got, &glen), VK_OK);
    assert_int_equal(got[0], (uint8_t)(put - 1));
    assert_int_equal(vk_stream_rx_next(&rx, &got, &glen), VK_OK);
    assert_int_equal(got[0], 0xee);
    vk_stream_tx_free(&tx);
    vk_stream_rx_free(&rx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_record_split_at_every_offset_comes_out_whole_once),
        cmocka_unit_test(test_many_records_read_one_byte_at_a_time_keep_their_order),
        cmocka_unit_test(test_length_edges),
        cmocka_unit_test(test_a_header_alone_reports_the_claimed_length_as_partial),
        cmocka_unit_test(test_buffers_smaller_than_one_record_are_refused),
        cmocka_unit_test(test_tx_refuses_empty_and_overlong_frames),
        cmocka_unit_test(test_partial_writes_resume_and_parse_back),
        cmocka_unit_test(test_unsent_frames_are_those_not_wholly_written),
        cmocka_unit_test(test_small_frames_of_every_length_are_copied_whole),
        cmocka_unit_test(test_written_records_free_their_room_without_a_walk_per_send),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
