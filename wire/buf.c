/* Checked reader and writer cursors (see buf.h). */
#include "wire/buf.h"

#include "core/error.h"

void vk_rd_init(vk_rd *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = p == NULL ? 0 : len;
    r->off = 0;
    r->err = false;
}

size_t vk_rd_left(const vk_rd *r)
{
    return r->err ? 0 : r->len - r->off;
}

bool vk_rd_ok(const vk_rd *r)
{
    return !r->err;
}

const uint8_t *vk_rd_take(vk_rd *r, size_t n)
{
    if (r->err || n > r->len - r->off) {
        r->err = true;
        return NULL;
    }
    /* A NULL base only happens with len 0; avoid NULL + 0 arithmetic. */
    const uint8_t *q = r->p == NULL ? NULL : r->p + r->off;
    r->off += n;
    return q;
}

uint8_t vk_rd_u8(vk_rd *r)
{
    const uint8_t *q = vk_rd_take(r, 1);
    return q == NULL ? 0 : q[0];
}

uint16_t vk_rd_u16be(vk_rd *r)
{
    const uint8_t *q = vk_rd_take(r, 2);
    return q == NULL ? 0 : vk_get_be16(q);
}

uint32_t vk_rd_u32be(vk_rd *r)
{
    const uint8_t *q = vk_rd_take(r, 4);
    return q == NULL ? 0 : vk_get_be32(q);
}

void vk_rd_bytes(vk_rd *r, void *dst, size_t n)
{
    const uint8_t *q = vk_rd_take(r, n);
    if (n == 0)
        return;
    if (q == NULL)
        memset(dst, 0, n);
    else
        memcpy(dst, q, n);
}

void vk_rd_skip(vk_rd *r, size_t n)
{
    (void)vk_rd_take(r, n);
}

void vk_wr_init(vk_wr *w, uint8_t *p, size_t cap)
{
    w->p = p;
    w->cap = p == NULL ? 0 : cap;
    w->off = 0;
    w->err = false;
}

bool vk_wr_ok(const vk_wr *w)
{
    return !w->err;
}

uint8_t *vk_wr_reserve(vk_wr *w, size_t n)
{
    if (w->err || n > w->cap - w->off) {
        w->err = true;
        return NULL;
    }
    uint8_t *q = w->p == NULL ? NULL : w->p + w->off;
    w->off += n;
    return q;
}

void vk_wr_u8(vk_wr *w, uint8_t v)
{
    uint8_t *q = vk_wr_reserve(w, 1);
    if (q != NULL)
        q[0] = v;
}

void vk_wr_u16be(vk_wr *w, uint16_t v)
{
    uint8_t *q = vk_wr_reserve(w, 2);
    if (q != NULL)
        vk_put_be16(q, v);
}

void vk_wr_u16le(vk_wr *w, uint16_t v)
{
    uint8_t *q = vk_wr_reserve(w, 2);
    if (q != NULL) {
        q[0] = (uint8_t)v;
        q[1] = (uint8_t)(v >> 8);
    }
}

void vk_wr_u32be(vk_wr *w, uint32_t v)
{
    uint8_t *q = vk_wr_reserve(w, 4);
    if (q != NULL)
        vk_put_be32(q, v);
}

void vk_wr_bytes(vk_wr *w, const void *src, size_t n)
{
    uint8_t *q = vk_wr_reserve(w, n);
    if (q != NULL && n > 0)
        memmove(q, src, n);
}

void vk_wr_zero(vk_wr *w, size_t n)
{
    uint8_t *q = vk_wr_reserve(w, n);
    if (q != NULL && n > 0)
        memset(q, 0, n);
}

int vk_wr_status(const vk_wr *w)
{
    return w->err ? VK_EFULL : VK_OK;
}
