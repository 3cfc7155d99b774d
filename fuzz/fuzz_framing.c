/*
 * Fuzz target: QEMU's stream framing (backends/framing.c), the reader every
 * stream transport puts a peer's bytes through, and the writer it sends with.
 *
 * Input: two bytes that seed the read sizes, then the bytes a peer sends.
 * The bytes go into vk_stream_rx in reads of 1..N bytes (never more than the
 * room it offers), and every record is taken out after each read, as
 * stream_link.c does.  Properties, against a plain reference walk of the
 * whole input (4-byte big-endian length, then that many bytes):
 *   - the frames come out in the reference's order with its bytes, each of
 *     1..VK_STREAM_LEN_MAX bytes; zero-length records come out as VK_EDROP;
 *   - a length over VK_STREAM_LEN_MAX is VK_ERANGE with that length, at the
 *     reference's place, and nothing after it is parsed;
 *   - otherwise, at the end, vk_stream_rx_partial holds exactly the
 *     reference's unfinished record and the length it announced.
 * Then the frames go back out through vk_stream_tx, drained in writes of
 * varying sizes: the bytes written are the records re-framed, byte for
 * byte, and what vk_stream_tx_foreach_unsent lists at each step is the
 * records not yet wholly written.
 *
 * Speed: the reader and the writer are made once per process and reset for
 * every input (vk_stream_rx_reset / vk_stream_tx_reset, what a stream
 * transport does on a new connection), with the sizes a connection uses, so
 * an input pays neither a 512 KiB allocation nor its unmapping under ASan
 * (three quarters of the target's time before); the reference clears only
 * the counters it uses, not its whole 64 KiB frame table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/framing.h"
#include "fuzz/fuzz.h"
#include "wire/buf.h"

/* A small receive buffer (one record's worth) makes compaction happen. */
#define RX_CAP (VK_STREAM_HDR_LEN + VK_STREAM_LEN_MAX)
#define MAX_FRAMES 4096

typedef struct span {
    size_t off, len; /* a frame's bytes in the input */
} span;

typedef struct ref {
    span frames[MAX_FRAMES];
    size_t nframes, nzero;
    bool bad;          /* stopped at a length over the limit */
    uint32_t bad_len;
    size_t rest;       /* bytes of the unfinished record at the end */
    uint32_t rest_len; /* its announced length, if its header is whole */
} ref;

static void reference(const uint8_t *p, size_t n, ref *r)
{
    size_t at = 0;
    r->nframes = r->nzero = 0;
    r->bad = false;
    r->bad_len = 0;
    r->rest = 0;
    r->rest_len = 0;
    while (n - at >= VK_STREAM_HDR_LEN && r->nframes < MAX_FRAMES) {
        uint32_t len = vk_get_be32(p + at);
        if (len > VK_STREAM_LEN_MAX) {
            r->bad = true;
            r->bad_len = len;
            return;
        }
        if (n - at - VK_STREAM_HDR_LEN < len)
            break;
        if (len == 0)
            r->nzero++;
        else
            r->frames[r->nframes++] = (span){at + VK_STREAM_HDR_LEN, len};
        at += VK_STREAM_HDR_LEN + len;
    }
    r->rest = n - at;
    r->rest_len = r->rest >= VK_STREAM_HDR_LEN ? vk_get_be32(p + at) : 0;
}

/* A read size from the seed: mostly small, sometimes large. */
static size_t next_size(uint32_t *seed, size_t max)
{
    *seed = *seed * 1103515245u + 12345u;
    size_t s = (*seed >> 16) % 4 == 0 ? (*seed >> 8) % 70000 : (*seed >> 16) % 64;
    s += 1;
    return s < max ? s : max;
}

typedef struct unsent_walk {
    const uint8_t *in;
    const ref *r;
    size_t next; /* index of the frame expected next */
} unsent_walk;

static void check_unsent(void *arg, const uint8_t *frame, size_t len)
{
    unsent_walk *w = arg;
    vk_fuzz_check(w->next < w->r->nframes, "tx: unsent lists more frames than were put");
    const span *s = &w->r->frames[w->next++];
    vk_fuzz_check(len == s->len && memcmp(frame, w->in + s->off, len) == 0,
                  "tx: an unsent frame differs from the one put");
}

static void check_tx(const uint8_t *in, const ref *r, uint32_t seed)
{
    static vk_stream_tx tx;
    if (tx.buf == NULL)
        vk_fuzz_check(vk_stream_tx_init(&tx, VK_STREAM_TX_BUF) == VK_OK, "tx: init");
    vk_stream_tx_reset(&tx);
    vk_fuzz_check(vk_stream_tx_put(&tx, in, 0) == VK_ERANGE, "tx: a zero-length frame is put");
    size_t put = 0, written = 0, done = 0; /* frames put; bytes written; frames wholly written */
    size_t done_bytes = 0;                 /* wire bytes of the frames wholly written */
    while (done < r->nframes) {
        while (put < r->nframes && vk_stream_tx_fits(&tx, r->frames[put].len)) {
            const span *s = &r->frames[put];
            vk_fuzz_check(vk_stream_tx_put(&tx, in + s->off, s->len) == VK_OK,
                          "tx: put refused a frame that fits");
            put++;
        }
        size_t len;
        const uint8_t *data = vk_stream_tx_data(&tx, &len);
        vk_fuzz_check(len > 0, "tx: nothing to write with frames unsent");
        size_t n = next_size(&seed, len);
        /* the bytes written are the records re-framed */
        for (size_t i = 0; i < n; i++) {
            size_t pos = written + i - done_bytes, f = done;
            while (pos >= VK_STREAM_HDR_LEN + r->frames[f].len) {
                pos -= VK_STREAM_HDR_LEN + r->frames[f].len;
                f++;
            }
            uint8_t hdr[VK_STREAM_HDR_LEN];
            vk_put_be32(hdr, (uint32_t)r->frames[f].len);
            uint8_t want = pos < VK_STREAM_HDR_LEN ? hdr[pos]
                                                   : in[r->frames[f].off + pos - VK_STREAM_HDR_LEN];
            vk_fuzz_check(data[i] == want, "tx: a written byte is not the re-framed stream");
        }
        vk_stream_tx_consume(&tx, n);
        written += n;
        while (done < r->nframes &&
               written - done_bytes >= VK_STREAM_HDR_LEN + r->frames[done].len) {
            done_bytes += VK_STREAM_HDR_LEN + r->frames[done].len;
            done++;
        }
        unsent_walk w = {in, r, done};
        vk_stream_tx_foreach_unsent(&tx, check_unsent, &w);
        vk_fuzz_check(w.next == put, "tx: unsent does not list every frame not wholly written");
    }
    vk_fuzz_check(vk_stream_tx_pending(&tx) == 0, "tx: bytes left after every frame was written");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint32_t seed = (uint32_t)data[0] << 8 | data[1];
    const uint8_t *in = data + 2;
    size_t n = size - 2;
    static ref r;
    reference(in, n, &r);
    if (r.nframes == MAX_FRAMES)
        return 0; /* past what the reference keeps: not a property of the code */

    static vk_stream_rx rx;
    if (rx.buf == NULL)
        vk_fuzz_check(vk_stream_rx_init(&rx, RX_CAP) == VK_OK, "rx: init");
    vk_stream_rx_reset(&rx);
    size_t fed = 0, got = 0, zero = 0;
    bool bad = false;
    while (fed < n && !bad) {
        size_t room;
        uint8_t *space = vk_stream_rx_space(&rx, &room);
        vk_fuzz_check(room > 0, "rx: no room while a record is incomplete");
        size_t k = next_size(&seed, room < n - fed ? room : n - fed);
        memcpy(space, in + fed, k);
        vk_stream_rx_commit(&rx, k);
        fed += k;
        for (;;) {
            const uint8_t *frame;
            size_t len;
            int st = vk_stream_rx_next(&rx, &frame, &len);
            if (st == VK_EAGAIN)
                break;
            if (st == VK_ERANGE) {
                vk_fuzz_check(r.bad && len == r.bad_len && got == r.nframes && zero == r.nzero,
                              "rx: a bad length where the reference has none");
                bad = true;
                break;
            }
            if (st == VK_EDROP) {
                vk_fuzz_check(len == 0, "rx: VK_EDROP with a length");
                zero++;
                continue;
            }
            vk_fuzz_check(st == VK_OK, "rx: unknown status");
            vk_fuzz_check(got < r.nframes, "rx: more frames than the reference");
            const span *s = &r.frames[got++];
            vk_fuzz_check(len >= 1 && len <= VK_STREAM_LEN_MAX, "rx: frame length out of range");
            vk_fuzz_check(len == s->len && memcmp(frame, in + s->off, len) == 0,
                          "rx: a frame differs from the reference");
        }
    }
    if (!bad) {
        vk_fuzz_check(!r.bad, "rx: the reference's bad length was missed");
        vk_fuzz_check(got == r.nframes && zero == r.nzero, "rx: frames missing at the end");
        size_t claimed, partial = vk_stream_rx_partial(&rx, &claimed);
        vk_fuzz_check(partial == r.rest && claimed == r.rest_len,
                      "rx: the unfinished record differs from the reference");
    }
    if (vk_fuzz_verbose())
        fprintf(stderr, "framing: %zu frames, %zu empty, %s, %zu bytes left\n", r.nframes,
                r.nzero, r.bad ? "bad length" : "no bad length", r.rest);
    check_tx(in, &r, seed);
    return 0;
}
