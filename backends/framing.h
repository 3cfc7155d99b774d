/*
 * QEMU's stream framing, shared by every stream transport (-netdev socket
 * listen=/connect=/fd=, -netdev stream): each frame travels as a 4-byte
 * big-endian length followed by that many bytes of Ethernet frame.  QEMU
 * (net/stream.c, net/socket.c) drops the connection when a length is larger
 * than its receive buffer, 4096 + 65536 bytes; so do we.  A zero length is
 * legal on the wire but carries no frame: it is reported so the caller can
 * trace it as a drop.
 *
 * Both directions are plain byte buffers so that one read(2) or write(2)
 * moves as many frames as fit (batching), and a partial read or write simply
 * leaves bytes for the next call.  Neither side does I/O: the caller reads
 * into vk_stream_rx_space() and writes from vk_stream_tx_data().
 * Ownership: each struct owns its buffer (init allocates, free releases).
 */
#ifndef VK_BACKENDS_FRAMING_H
#define VK_BACKENDS_FRAMING_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "wire/buf.h"

#define VK_STREAM_HDR_LEN 4
/* Largest length accepted from a peer (QEMU's NET_BUFSIZE). */
#define VK_STREAM_LEN_MAX (4096u + 65536u)
/* Default buffer sizes: big enough for several 64 KiB frames per syscall. */
#define VK_STREAM_RX_BUF (256u * 1024u)
#define VK_STREAM_TX_BUF (512u * 1024u)

typedef struct vk_stream_rx {
    uint8_t *buf;
    size_t cap;
    size_t start, end; /* unparsed bytes are buf[start..end) */
} vk_stream_rx;

/* cap must hold one whole record (VK_STREAM_HDR_LEN + VK_STREAM_LEN_MAX):
 * VK_EINVAL otherwise, VK_ENOMEM. */
int vk_stream_rx_init(vk_stream_rx *rx, size_t cap);
void vk_stream_rx_free(vk_stream_rx *rx);
/* Forgets every buffered byte (a new connection). */
void vk_stream_rx_reset(vk_stream_rx *rx);
/* Where the next read may write, and how much (> 0 while a record is
 * incomplete); moves unparsed bytes to the front first when that makes room.
 * The pointers handed out by vk_stream_rx_next() are invalid afterwards. */
uint8_t *vk_stream_rx_space(vk_stream_rx *rx, size_t *room);
/* n bytes were read into the space (n <= room). */
void vk_stream_rx_commit(vk_stream_rx *rx, size_t n);
/* The next record:
 *   VK_OK      *frame, *len: a frame (borrowed from the buffer)
 *   VK_EAGAIN  the record is not complete yet
 *   VK_EDROP   a zero-length record, consumed (*len = 0)
 *   VK_ERANGE  the length field (*len) is over VK_STREAM_LEN_MAX; nothing is
 *              consumed: the stream cannot be resynchronised, drop it. */
static inline int vk_stream_rx_next(vk_stream_rx *rx, const uint8_t **frame, size_t *len)
{
    size_t have = rx->end - rx->start;
    *frame = NULL;
    *len = 0;
    if (have < VK_STREAM_HDR_LEN)
        return VK_EAGAIN;
    uint32_t n = vk_get_be32(rx->buf + rx->start);
    if (n > VK_STREAM_LEN_MAX) {
        *len = n;
        return VK_ERANGE;
    }
    if (have - VK_STREAM_HDR_LEN < n)
        return VK_EAGAIN;
    *frame = rx->buf + rx->start + VK_STREAM_HDR_LEN;
    *len = n;
    rx->start += VK_STREAM_HDR_LEN + n;
    return n == 0 ? VK_EDROP : VK_OK;
}
/* Bytes of an incomplete record held, and (if its header is complete) the
 * length it announced in *claimed (else 0).  For "truncated at EOF". */
size_t vk_stream_rx_partial(const vk_stream_rx *rx, size_t *claimed);

typedef struct vk_stream_tx {
    uint8_t *buf;
    size_t cap;
    size_t start, end; /* bytes still to write are buf[start..end) */
    /* A record boundary at or before start: the records from here up to
     * start are written.  consume() leaves it behind (a walk over written
     * records per send cost a few ns a frame); put() brings it up to the
     * record that holds start before it compacts, the rare case. */
    size_t rec;
} vk_stream_tx;

int vk_stream_tx_init(vk_stream_tx *tx, size_t cap);
void vk_stream_tx_free(vk_stream_tx *tx);
void vk_stream_tx_reset(vk_stream_tx *tx);
/* Appends one record.  VK_ERANGE for len 0 or len > VK_STREAM_LEN_MAX,
 * VK_EFULL when it does not fit now (write some out first). */
int vk_stream_tx_put_any(vk_stream_tx *tx, const uint8_t *frame, size_t len);

/* Frames up to this long are appended inline (vk_stream_tx_put). */
#define VK_STREAM_SMALL 128

/* Copies 16 <= n <= VK_STREAM_SMALL (128) bytes as two runs of 16, 32 or
 * 64 bytes from either end that overlap in the middle: for a small frame a
 * call to memcpy costs as much as the copy. */
static inline void vk_stream_copy_small(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n <= 32) {
        __builtin_memcpy(dst, src, 16);
        __builtin_memcpy(dst + n - 16, src + n - 16, 16);
    } else if (n <= 64) {
        __builtin_memcpy(dst, src, 32);
        __builtin_memcpy(dst + n - 32, src + n - 32, 32);
    } else {
        __builtin_memcpy(dst, src, 64);
        __builtin_memcpy(dst + n - 64, src + n - 64, 64);
    }
}

/* vk_stream_tx_put_any() with the common case inline: a small frame
 * appended behind bytes still waiting, with room at the end. */
static inline int vk_stream_tx_put(vk_stream_tx *tx, const uint8_t *frame, size_t len)
{
    if (len >= 16 && len <= VK_STREAM_SMALL && tx->start != tx->end &&
        tx->cap - tx->end >= VK_STREAM_HDR_LEN + VK_STREAM_SMALL) {
        uint8_t *p = tx->buf + tx->end;
        vk_put_be32(p, (uint32_t)len);
        vk_stream_copy_small(p + VK_STREAM_HDR_LEN, frame, len);
        tx->end += VK_STREAM_HDR_LEN + len;
        return VK_OK;
    }
    return vk_stream_tx_put_any(tx, frame, len);
}
/* The slow half of vk_stream_tx_fits(): brings rec up to date first. */
int vk_stream_tx_fits_slow(vk_stream_tx *tx, size_t len);
/* True when a record of len bytes fits now (the written records count as
 * free space: put() compacts).  Only when the answer from a rec left
 * behind is no does it walk the written records to be sure. */
static inline int vk_stream_tx_fits(vk_stream_tx *tx, size_t len)
{
    if (tx->cap - (tx->end - tx->rec) >= VK_STREAM_HDR_LEN + len)
        return 1;
    return vk_stream_tx_fits_slow(tx, len);
}
/* The bytes waiting to be written (*len may be 0). */
const uint8_t *vk_stream_tx_data(const vk_stream_tx *tx, size_t *len);
/* n of them were written (n <= *len of vk_stream_tx_data). */
void vk_stream_tx_consume(vk_stream_tx *tx, size_t n);
static inline size_t vk_stream_tx_pending(const vk_stream_tx *tx)
{
    return tx->end - tx->start;
}
/* Calls fn for every frame not wholly written yet (a connection that ends
 * loses them: the caller traces each), in order. */
void vk_stream_tx_foreach_unsent(const vk_stream_tx *tx,
                                 void (*fn)(void *arg, const uint8_t *frame, size_t len),
                                 void *arg);

#endif
