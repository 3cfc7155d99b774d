/*
 * QEMU stream framing (see framing.h): a receive buffer parsed record by
 * record, and a transmit buffer of whole records.  Lengths are read with the
 * wire/ big-endian helpers after the four bytes are known to be there.
 */
#include "backends/framing.h"

#include <stdlib.h>
#include <string.h>

#include "wire/buf.h"

int vk_stream_rx_init(vk_stream_rx *rx, size_t cap)
{
    memset(rx, 0, sizeof *rx);
    if (cap < VK_STREAM_HDR_LEN + VK_STREAM_LEN_MAX)
        return VK_EINVAL;
    rx->buf = malloc(cap);
    if (rx->buf == NULL)
        return VK_ENOMEM;
    rx->cap = cap;
    return VK_OK;
}

void vk_stream_rx_free(vk_stream_rx *rx)
{
    free(rx->buf);
    memset(rx, 0, sizeof *rx);
}

void vk_stream_rx_reset(vk_stream_rx *rx)
{
    rx->start = rx->end = 0;
}

uint8_t *vk_stream_rx_space(vk_stream_rx *rx, size_t *room)
{
    if (rx->start == rx->end) {
        rx->start = rx->end = 0;
    } else if (rx->start > 0 && rx->cap - rx->end < rx->cap / 2) {
        /* compact only when the tail got short: moves few bytes, rarely */
        memmove(rx->buf, rx->buf + rx->start, rx->end - rx->start);
        rx->end -= rx->start;
        rx->start = 0;
    }
    if (rx->end == rx->cap && rx->start > 0) {
        memmove(rx->buf, rx->buf + rx->start, rx->end - rx->start);
        rx->end -= rx->start;
        rx->start = 0;
    }
    *room = rx->cap - rx->end;
    return rx->buf + rx->end;
}

void vk_stream_rx_commit(vk_stream_rx *rx, size_t n)
{
    size_t room = rx->cap - rx->end;
    rx->end += n < room ? n : room;
}

size_t vk_stream_rx_partial(const vk_stream_rx *rx, size_t *claimed)
{
    size_t have = rx->end - rx->start;
    *claimed = have >= VK_STREAM_HDR_LEN ? vk_get_be32(rx->buf + rx->start) : 0;
    return have;
}

int vk_stream_tx_init(vk_stream_tx *tx, size_t cap)
{
    memset(tx, 0, sizeof *tx);
    if (cap < VK_STREAM_HDR_LEN + VK_STREAM_LEN_MAX)
        return VK_EINVAL;
    tx->buf = malloc(cap);
    if (tx->buf == NULL)
        return VK_ENOMEM;
    tx->cap = cap;
    return VK_OK;
}

void vk_stream_tx_free(vk_stream_tx *tx)
{
    free(tx->buf);
    memset(tx, 0, sizeof *tx);
}

void vk_stream_tx_reset(vk_stream_tx *tx)
{
    tx->start = tx->end = tx->rec = 0;
}

/* Moves rec past the records wholly written (those before start). */
static void tx_advance_rec(vk_stream_tx *tx)
{
    while (tx->start - tx->rec >= VK_STREAM_HDR_LEN) {
        size_t len = vk_get_be32(tx->buf + tx->rec);
        if (tx->rec + VK_STREAM_HDR_LEN + len > tx->start)
            break;
        tx->rec += VK_STREAM_HDR_LEN + len;
    }
}

int vk_stream_tx_fits_slow(vk_stream_tx *tx, size_t len)
{
    tx_advance_rec(tx);
    return tx->cap - (tx->end - tx->rec) >= VK_STREAM_HDR_LEN + len;
}

int vk_stream_tx_put_any(vk_stream_tx *tx, const uint8_t *frame, size_t len)
{
    if (len == 0 || len > VK_STREAM_LEN_MAX)
        return VK_ERANGE;
    if (!vk_stream_tx_fits(tx, len))
        return VK_EFULL;
    if (tx->start == tx->end) {
        tx->start = tx->end = tx->rec = 0;
    } else if (tx->cap - tx->end < VK_STREAM_HDR_LEN + len) {
        tx_advance_rec(tx); /* fits() may not have needed to */
        memmove(tx->buf, tx->buf + tx->rec, tx->end - tx->rec);
        tx->end -= tx->rec;
        tx->start -= tx->rec;
        tx->rec = 0;
    }
    vk_put_be32(tx->buf + tx->end, (uint32_t)len);
    memcpy(tx->buf + tx->end + VK_STREAM_HDR_LEN, frame, len);
    tx->end += VK_STREAM_HDR_LEN + len;
    return VK_OK;
}

const uint8_t *vk_stream_tx_data(const vk_stream_tx *tx, size_t *len)
{
    *len = tx->end - tx->start;
    return tx->buf + tx->start;
}

void vk_stream_tx_consume(vk_stream_tx *tx, size_t n)
{
    size_t have = tx->end - tx->start;
    tx->start += n < have ? n : have;
    if (tx->start == tx->end)
        tx->start = tx->end = tx->rec = 0;
    /* else rec stays behind: fits() and put() move it when they need to */
}

void vk_stream_tx_foreach_unsent(const vk_stream_tx *tx,
                                 void (*fn)(void *arg, const uint8_t *frame, size_t len),
                                 void *arg)
{
    size_t at = tx->rec;
    while (tx->end - at >= VK_STREAM_HDR_LEN) {
        size_t len = vk_get_be32(tx->buf + at);
        if (tx->end - at - VK_STREAM_HDR_LEN < len)
            break; /* cannot happen: put() writes whole records */
        if (at + VK_STREAM_HDR_LEN + len > tx->start) /* not wholly written */
            fn(arg, tx->buf + at + VK_STREAM_HDR_LEN, len);
        at += VK_STREAM_HDR_LEN + len;
    }
}
