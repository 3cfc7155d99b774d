/*
 * Fuzz target: QEMU's stream framing (backends/framing.c), the 4-byte
 * big-endian length + frame records every stream transport reads from a
 * peer it does not control.
 *
 * Input: byte 0 picks the read sizes (the peer's bytes arrive in chunks of
 * 1..256 bytes cycling through a pattern drawn from it, as TCP may cut them
 * anywhere); the rest is the byte stream.
 * Properties: the receiver yields exactly the records a plain walk of the
 * stream finds (zero lengths reported as drops, a length over
 * VK_STREAM_LEN_MAX stops the stream), whatever the chunking; every frame
 * yielded is 1..VK_STREAM_LEN_MAX bytes; after the end, the bytes held are
 * the incomplete record.  Round trip: the frames put through a transmitter
 * (written out in odd-sized pieces) and read back by a second receiver come
 * back equal, in order; the transmitter refuses 0 and over-long frames.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/framing.h"
#include "fuzz/fuzz.h"
#include "wire/buf.h"

/* The reference: the records of the whole stream, walked plainly. */
typedef struct ref {
    const uint8_t *s;
    size_t n, off;
    bool stopped; /* a length over the maximum was met */
} ref;

/* The next record of the reference: 1 frame (len may be 0), 0 end/stop. */
static int ref_next(ref *r, const uint8_t **frame, size_t *len)
{
    if (r->stopped || r->n - r->off < VK_STREAM_HDR_LEN)
        return 0;
    size_t l = vk_get_be32(r->s + r->off);
    if (l > VK_STREAM_LEN_MAX) {
        r->stopped = true;
        return 0;
    }
    if (r->n - r->off - VK_STREAM_HDR_LEN < l)
        return 0;
    *frame = r->s + r->off + VK_STREAM_HDR_LEN;
    *len = l;
    r->off += VK_STREAM_HDR_LEN + l;
    return 1;
}

typedef struct frames {
    uint8_t **f;
    size_t *len;
    size_t n, cap;
} frames;

static void keep(frames *fs, const uint8_t *f, size_t len)
{
    if (fs->n == fs->cap) {
        fs->cap = fs->cap ? 2 * fs->cap : 16;
        fs->f = realloc(fs->f, fs->cap * sizeof *fs->f);
        fs->len = realloc(fs->len, fs->cap * sizeof *fs->len);
        vk_fuzz_check(fs->f != NULL && fs->len != NULL, "out of memory");
    }
    fs->f[fs->n] = malloc(len);
    vk_fuzz_check(fs->f[fs->n] != NULL, "out of memory");
    memcpy(fs->f[fs->n], f, len);
    fs->len[fs->n++] = len;
}

static void frames_free(frames *fs)
{
    for (size_t i = 0; i < fs->n; i++)
        free(fs->f[i]);
    free(fs->f);
    free(fs->len);
}

/* Drains rx, checking each record against the reference; keeps frames. */
static bool drain(vk_stream_rx *rx, ref *r, frames *out)
{
    for (;;) {
        const uint8_t *f, *want;
        size_t len, wlen;
        int e = vk_stream_rx_next(rx, &f, &len);
        if (e == VK_EAGAIN)
            return true;
        if (e == VK_ERANGE) {
            vk_fuzz_check(len > VK_STREAM_LEN_MAX, "VK_ERANGE for a length within the maximum");
            vk_fuzz_check(ref_next(r, &want, &wlen) == 0 && r->stopped,
                          "receiver stopped where the stream goes on");
            return false;
        }
        vk_fuzz_check(ref_next(r, &want, &wlen) == 1, "receiver yields a record the walk has not");
        vk_fuzz_check(len == wlen, "record length differs from the stream's");
        if (e == VK_EDROP) {
            vk_fuzz_check(len == 0, "VK_EDROP for a non-empty record");
            continue;
        }
        vk_fuzz_check(e == VK_OK, "unexpected error from vk_stream_rx_next");
        vk_fuzz_check(len >= 1 && len <= VK_STREAM_LEN_MAX, "frame length out of bounds");
        vk_fuzz_check(memcmp(f, want, len) == 0, "frame bytes differ from the stream's");
        if (out != NULL)
            keep(out, f, len);
    }
}

/* Feeds s[0..n) to rx in chunks of the pattern's sizes. */
static bool feed(vk_stream_rx *rx, const uint8_t *s, size_t n, uint8_t pattern, ref *r,
                 frames *out)
{
    size_t off = 0;
    for (unsigned k = 0; off < n; k++) {
        size_t want = 1 + (size_t)((pattern * (k + 1) * 37u) & 0xff);
        size_t room;
        uint8_t *space = vk_stream_rx_space(rx, &room);
        vk_fuzz_check(room > 0, "no room while a record is incomplete");
        size_t take = want < room ? want : room;
        if (take > n - off)
            take = n - off;
        memcpy(space, s + off, take);
        vk_stream_rx_commit(rx, take);
        off += take;
        if (!drain(rx, r, out))
            return false;
    }
    return true;
}

/* Sends the frames through a transmitter in odd-sized writes and reads the
 * written bytes back. */
static void round_trip(const frames *in, uint8_t pattern)
{
    vk_stream_tx tx;
    vk_stream_rx rx;
    vk_fuzz_check(vk_stream_tx_init(&tx, VK_STREAM_TX_BUF) == VK_OK &&
                      vk_stream_rx_init(&rx, VK_STREAM_RX_BUF) == VK_OK,
                  "framing init failed");
    vk_fuzz_check(vk_stream_tx_put(&tx, (const uint8_t *)"", 0) == VK_ERANGE,
                  "transmitter took an empty frame");
    size_t total = 0;
    for (size_t i = 0; i < in->n; i++)
        total += VK_STREAM_HDR_LEN + in->len[i];
    uint8_t *wire = malloc(total ? total : 1);
    vk_fuzz_check(wire != NULL, "out of memory");
    size_t wrote = 0, next = 0;
    for (unsigned k = 0; next < in->n || vk_stream_tx_pending(&tx) > 0; k++) {
        for (; next < in->n && vk_stream_tx_fits(&tx, in->len[next]); next++)
            vk_fuzz_check(vk_stream_tx_put(&tx, in->f[next], in->len[next]) == VK_OK,
                          "transmitter refused a frame that fits");
        size_t len;
        const uint8_t *data = vk_stream_tx_data(&tx, &len);
        size_t n = 1 + (size_t)((pattern ^ (k * 101u)) % 4096u);
        if (n > len)
            n = len;
        vk_fuzz_check(len > 0 || next < in->n, "nothing to write and frames left");
        vk_fuzz_check(wrote + n <= total, "transmitter wrote more than its records");
        memcpy(wire + wrote, data, n);
        wrote += n;
        vk_stream_tx_consume(&tx, n);
    }
    vk_fuzz_check(wrote == total, "transmitter wrote fewer bytes than its records");
    frames back = {0};
    ref r = {.s = wire, .n = total};
    vk_fuzz_check(feed(&rx, wire, total, pattern, &r, &back), "own stream stopped");
    vk_fuzz_check(back.n == in->n, "round trip lost or gained frames");
    for (size_t i = 0; i < back.n; i++)
        vk_fuzz_check(back.len[i] == in->len[i] && memcmp(back.f[i], in->f[i], in->len[i]) == 0,
                      "round trip changed a frame");
    frames_free(&back);
    free(wire);
    vk_stream_rx_free(&rx);
    vk_stream_tx_free(&tx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t pattern = data[0];
    const uint8_t *s = data + 1;
    size_t n = size - 1;
    vk_stream_rx rx;
    vk_fuzz_check(vk_stream_rx_init(&rx, VK_STREAM_RX_BUF) == VK_OK, "rx init failed");
    ref r = {.s = s, .n = n};
    frames got = {0};
    bool whole = feed(&rx, s, n, pattern, &r, &got);
    if (whole) {
        /* what is left is the incomplete record the walk stopped at */
        size_t claimed;
        size_t held = vk_stream_rx_partial(&rx, &claimed);
        vk_fuzz_check(held == n - r.off, "bytes held differ from the incomplete record");
        if (held >= VK_STREAM_HDR_LEN)
            vk_fuzz_check(claimed == vk_get_be32(s + r.off), "claimed length differs");
    }
    vk_stream_rx_free(&rx);
    round_trip(&got, pattern);
    frames_free(&got);
    return 0;
}
