/* Frame allocation and reference counting (ownership rule in frame.h).
 * Header and bytes live in one allocation.  Buffers of up to
 * VK_FRAME_POOL_BYTES are recycled through a LIFO free list (the most
 * recently freed buffer is the one still in cache), so forwarding a stream of
 * frames costs no malloc or free per frame. */
#include "core/frame.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define FRAME_POOL_ON 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FRAME_POOL_ON 0
#endif
#endif
#ifndef FRAME_POOL_ON
#define FRAME_POOL_ON 1
#endif

/* Idle pooled buffers, chained through their (unused) data pointer. */
static struct {
    vk_frame *idle;
    vk_frame_pool_stats stats;
} pool;

static inline vk_frame *frame_alloc(size_t len)
{
    if (FRAME_POOL_ON && len <= VK_FRAME_POOL_BYTES) {
        vk_frame *f = pool.idle;
        if (f != NULL) {
            pool.idle = (vk_frame *)(void *)f->data;
            pool.stats.idle--;
            pool.stats.reused++;
        } else {
            f = malloc(sizeof *f + VK_FRAME_POOL_BYTES);
            if (f == NULL)
                return NULL;
            pool.stats.allocated++;
        }
        f->cap = VK_FRAME_POOL_BYTES;
        return f;
    }
    vk_frame *f = malloc(sizeof *f + (len ? len : 1));
    if (f == NULL)
        return NULL;
    pool.stats.allocated++;
    f->cap = len;
    return f;
}

static inline void frame_release(vk_frame *f)
{
    if (FRAME_POOL_ON && f->cap == VK_FRAME_POOL_BYTES) {
        if (pool.stats.idle < VK_FRAME_POOL_MAX) {
            f->data = (uint8_t *)(void *)pool.idle;
            pool.idle = f;
            pool.stats.idle++;
            return;
        }
        pool.stats.released++;
    }
    free(f);
}

vk_frame *vk_frame_new(const void *data, size_t len)
{
    if (len > VK_FRAME_MAX)
        return NULL;
    vk_frame *f = frame_alloc(len);
    if (f == NULL)
        return NULL;
    f->data = (uint8_t *)(f + 1);
    f->len = len;
    f->id = 0;
    f->refcnt = 1;
    f->note = NULL;
    f->gso_mss = 0;
    if (data != NULL)
        memcpy(f->data, data, len);
    else
        memset(f->data, 0, len);
    return f;
}

vk_frame *vk_frame_clone(const vk_frame *f)
{
    vk_frame *c = vk_frame_new(f->data, f->len);
    if (c != NULL) {
        c->id = f->id;
        c->gso_mss = f->gso_mss;
    }
    return c;
}

vk_frame *vk_frame_lend(uint8_t *data, size_t len)
{
    if (len > VK_FRAME_POOL_BYTES)
        return vk_frame_new(data, len);
    vk_frame *f = frame_alloc(len);
    if (f == NULL)
        return NULL;
    f->data = data;
    f->len = len;
    f->id = 0;
    f->refcnt = 1;
    f->note = NULL;
    f->gso_mss = 0;
    return f;
}

void vk_frame_settle(vk_frame *f)
{
    uint8_t *own = (uint8_t *)(f + 1);
    if (f->refcnt > 1 && f->data != own) {
        /* a lent frame is pooled-sized (lend() copies longer ones) */
        memcpy(own, f->data, f->len);
        f->data = own;
    }
    vk_frame_unref(f);
}

vk_frame *vk_frame_lend_slot_(vk_frame **slot, uint8_t *data, size_t len)
{
    vk_frame *f = vk_frame_lend(data, len);
    /* only a pooled frame, whose own storage takes any frame a later loan
     * may lend, is kept in a slot */
    if (FRAME_POOL_ON && f != NULL && *slot == NULL && f->cap == VK_FRAME_POOL_BYTES &&
        f->data == data)
        *slot = f;
    return f;
}

void vk_frame_settle_slot_(vk_frame **slot, vk_frame *f)
{
    if (f == *slot && f->refcnt == 1) { /* nobody kept it: it stays */
        vk_frame_set_note(f, NULL);
        return;
    }
    if (f == *slot)
        *slot = NULL; /* kept: the frame is its holders' now */
    vk_frame_settle(f);
}

void vk_frame_slot_free(vk_frame **slot)
{
    vk_frame_unref(*slot);
    *slot = NULL;
}

void vk_frame_release_(vk_frame *f)
{
    if (f->note != NULL) /* rare: spare the call to free() on every frame */
        free(f->note);
    frame_release(f);
}

int vk_frame_set_note(vk_frame *f, const char *text)
{
    free(f->note);
    f->note = NULL;
    if (text == NULL)
        return VK_OK;
    f->note = strdup(text);
    return f->note != NULL ? VK_OK : VK_ENOMEM;
}

void vk_frame_pool_stats_get(vk_frame_pool_stats *out)
{
    *out = pool.stats;
}

void vk_frame_pool_trim(void)
{
    while (pool.idle != NULL) {
        vk_frame *f = pool.idle;
        pool.idle = (vk_frame *)(void *)f->data;
        free(f);
    }
    pool.stats.idle = 0;
}
