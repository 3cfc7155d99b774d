/*
 * Checked cursors over wire bytes.  A vk_rd reads from a (pointer, length)
 * pair and a vk_wr writes into a (pointer, capacity) pair; neither ever
 * touches a byte outside its range.  Running off the end sets a sticky error
 * flag and yields zeros, so a parser can read a run of fields and check once
 * at the end (smoltcp's checked views, in plain C).  Also the big-endian
 * load/store helpers every wire module uses on bytes it has already bounded,
 * and the little-endian ones for device descriptors and capture files.
 */
#ifndef VK_WIRE_BUF_H
#define VK_WIRE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t vk_get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t vk_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void vk_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void vk_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint32_t vk_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void vk_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Reader.  Invariant: off <= len. */
typedef struct vk_rd {
    const uint8_t *p;
    size_t len;
    size_t off;
    bool err;
} vk_rd;

void vk_rd_init(vk_rd *r, const uint8_t *p, size_t len);
/* Bytes still readable (0 once the error flag is set). */
size_t vk_rd_left(const vk_rd *r);
bool vk_rd_ok(const vk_rd *r);
/* Consumes n bytes and returns a pointer to them, or NULL and sets the error
 * flag when fewer than n remain (nothing is consumed then). */
const uint8_t *vk_rd_take(vk_rd *r, size_t n);
uint8_t vk_rd_u8(vk_rd *r);
uint16_t vk_rd_u16be(vk_rd *r);
uint32_t vk_rd_u32be(vk_rd *r);
/* Copies n bytes into dst; on overrun dst is zero-filled and the flag set. */
void vk_rd_bytes(vk_rd *r, void *dst, size_t n);
void vk_rd_skip(vk_rd *r, size_t n);

/* Writer.  Invariant: off <= cap; nothing is written at or past cap. */
typedef struct vk_wr {
    uint8_t *p;
    size_t cap;
    size_t off;
    bool err;
} vk_wr;

void vk_wr_init(vk_wr *w, uint8_t *p, size_t cap);
bool vk_wr_ok(const vk_wr *w);
/* Reserves n bytes and returns where to write them, or NULL and sets the
 * error flag when they do not fit. */
uint8_t *vk_wr_reserve(vk_wr *w, size_t n);
void vk_wr_u8(vk_wr *w, uint8_t v);
void vk_wr_u16be(vk_wr *w, uint16_t v);
void vk_wr_u32be(vk_wr *w, uint32_t v);
void vk_wr_u16le(vk_wr *w, uint16_t v); /* virtio's little-endian fields */
void vk_wr_bytes(vk_wr *w, const void *src, size_t n);
void vk_wr_zero(vk_wr *w, size_t n);
/* VK_OK, or VK_EFULL when the writer overflowed: the one code every emitter
 * returns for "output buffer too small". */
int vk_wr_status(const vk_wr *w);

#endif
