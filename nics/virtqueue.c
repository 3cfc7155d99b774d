/*
 * Split virtqueue, device side (see virtqueue.h).  The checks follow QEMU's
 * hw/virtio/virtio.c (virtqueue_pop, virtqueue_map_desc): a chain longer than
 * its table is a loop, zero-sized buffers are refused, indirect tables must
 * be whole descriptors and not nested.  Each failure records one message in
 * vq->error; the caller turns it into the device's NEEDS_RESET state.
 */
#include "nics/virtqueue.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct vq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} vq_desc;

static int vq_fail(vk_vq *vq, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int vq_fail(vk_vq *vq, int err, const char *fmt, ...)
{
    if (vq->error[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(vq->error, sizeof vq->error, fmt, ap);
        va_end(ap);
    }
    return err;
}

void vk_vq_reset(vk_vq *vq, vk_gmem *mem)
{
    memset(vq, 0, sizeof *vq);
    vq->mem = mem;
}

int vk_vq_enable(vk_vq *vq)
{
    uint16_t n = vq->size;
    if (n == 0 || (n & (n - 1)) != 0)
        return vq_fail(vq, VK_EINVAL, "queue size %u is not a power of two", n);
    /* alignment as the spec's table in 2.4: 16, 2, 4 */
    if ((vq->desc & 15) || (vq->avail & 1) || (vq->used & 3))
        return vq_fail(vq, VK_EINVAL, "misaligned ring address");
    if (!vk_gmem_valid(vq->mem, vq->desc, vk_vq_desc_bytes(n)) ||
        !vk_gmem_valid(vq->mem, vq->avail, vk_vq_avail_bytes_of(n)) ||
        !vk_gmem_valid(vq->mem, vq->used, vk_vq_used_bytes_of(n)))
        return vq_fail(vq, VK_ERANGE, "ring outside guest memory");
    vq->ready = true;
    return VK_OK;
}

static int read_desc(vk_vq *vq, uint64_t table, uint16_t i, vq_desc *d)
{
    uint8_t b[16];
    if (vk_gmem_read(vq->mem, table + 16ull * i, b, sizeof b) != VK_OK)
        return vq_fail(vq, VK_ERANGE, "descriptor table outside guest memory");
    d->addr = 0;
    for (int k = 7; k >= 0; k--)
        d->addr = d->addr << 8 | b[k];
    d->len = (uint32_t)b[8] | (uint32_t)b[9] << 8 | (uint32_t)b[10] << 16 | (uint32_t)b[11] << 24;
    d->flags = (uint16_t)(b[12] | b[13] << 8);
    d->next = (uint16_t)(b[14] | b[15] << 8);
    return VK_OK;
}

int vk_vq_avail_count(vk_vq *vq, uint16_t *n)
{
    uint16_t idx;
    *n = 0;
    if (vk_gmem_read_le16(vq->mem, vq->avail + 2, &idx) != VK_OK)
        return vq_fail(vq, VK_ERANGE, "available ring outside guest memory");
    *n = (uint16_t)(idx - vq->last_avail);
    if (*n > vq->size)
        return vq_fail(vq, VK_EFORMAT, "guest moved avail idx from %u to %u", vq->last_avail,
                       idx);
    return VK_OK;
}

/* Adds one buffer to e, keeping readable before writable. */
static int add_seg(vk_vq *vq, vk_vq_elem *e, const vq_desc *d)
{
    if (d->len == 0)
        return vq_fail(vq, VK_EFORMAT, "zero sized buffers are not allowed");
    if (!vk_gmem_valid(vq->mem, d->addr, d->len))
        return vq_fail(vq, VK_ERANGE, "buffer 0x%llx+%u outside guest memory",
                       (unsigned long long)d->addr, d->len);
    if (e->n_out + e->n_in >= VK_VQ_MAX_SEGS)
        return vq_fail(vq, VK_EFULL, "chain longer than %d buffers", VK_VQ_MAX_SEGS);
    if (d->flags & VK_VRING_DESC_F_WRITE) {
        e->in[e->n_in++] = (vk_vq_seg){d->addr, d->len};
        e->in_bytes += d->len;
        return VK_OK;
    }
    if (e->n_in > 0)
        return vq_fail(vq, VK_EFORMAT, "readable descriptor after a writable one");
    e->out[e->n_out++] = (vk_vq_seg){d->addr, d->len};
    e->out_bytes += d->len;
    return VK_OK;
}

/* Walks a chain in `table` of `max` entries from index i.  Every step
 * counts against max, so a cycle ends as "looped descriptor". */
static int walk_chain(vk_vq *vq, vk_vq_elem *e, uint64_t table, uint32_t max, uint16_t i,
                      bool indirect)
{
    for (uint32_t steps = 0;; steps++) {
        if (steps >= max)
            return vq_fail(vq, VK_EFORMAT, "looped descriptor");
        if (i >= max)
            return vq_fail(vq, VK_EFORMAT, "descriptor index %u beyond table of %u", i, max);
        vq_desc d = {0};
        int r = read_desc(vq, table, i, &d);
        if (r != VK_OK)
            return r;
        if (d.flags & VK_VRING_DESC_F_INDIRECT) {
            if (indirect)
                return vq_fail(vq, VK_EFORMAT, "nested indirect descriptor table");
            if (d.len == 0 || d.len % 16 != 0 || d.len / 16 > VK_VQ_MAX_SEGS)
                return vq_fail(vq, VK_EFORMAT, "invalid indirect table size %u", d.len);
            if ((d.addr & 15) || !vk_gmem_valid(vq->mem, d.addr, d.len))
                return vq_fail(vq, VK_ERANGE, "indirect table outside guest memory");
            /* an indirect descriptor stands for the whole chain (2.4.5.3.1) */
            return walk_chain(vq, e, d.addr, d.len / 16, 0, true);
        }
        r = add_seg(vq, e, &d);
        if (r != VK_OK)
            return r;
        if (!(d.flags & VK_VRING_DESC_F_NEXT))
            return VK_OK;
        i = d.next;
    }
}

static int write_avail_event(vk_vq *vq, uint16_t idx);

static int read_head(vk_vq *vq, uint16_t at, uint16_t *head)
{
    uint64_t a = vq->avail + 4 + 2ull * (at & (vq->size - 1));
    if (vk_gmem_read_le16(vq->mem, a, head) != VK_OK)
        return vq_fail(vq, VK_ERANGE, "available ring outside guest memory");
    if (*head >= vq->size)
        return vq_fail(vq, VK_EFORMAT, "guest says index %u is available", *head);
    return VK_OK;
}

static int pop_at(vk_vq *vq, uint16_t at, vk_vq_elem *e)
{
    e->n_out = e->n_in = 0;
    e->out_bytes = e->in_bytes = 0;
    int r = read_head(vq, at, &e->head);
    if (r != VK_OK)
        return r;
    return walk_chain(vq, e, vq->desc, vq->size, e->head, false);
}

int vk_vq_pop(vk_vq *vq, vk_vq_elem *e)
{
    uint16_t n;
    int r = vk_vq_avail_count(vq, &n);
    if (r != VK_OK)
        return r;
    if (n == 0)
        return 0;
    r = pop_at(vq, vq->last_avail, e);
    if (r != VK_OK)
        return r;
    vq->last_avail++;
    /* with event idx, "kick me when you pass what I have taken" (QEMU) */
    if (vq->event_idx && (r = write_avail_event(vq, vq->last_avail)) != VK_OK)
        return r;
    return 1;
}

void vk_vq_unpop(vk_vq *vq, uint16_t n)
{
    vq->last_avail = (uint16_t)(vq->last_avail - n);
}

int vk_vq_avail_in_bytes(vk_vq *vq, uint64_t want, vk_vq_elem *scratch, bool *enough)
{
    uint16_t n;
    uint64_t have = 0;
    int r = vk_vq_avail_count(vq, &n);
    *enough = false;
    for (uint16_t k = 0; r == VK_OK && k < n && have < want; k++) {
        r = pop_at(vq, (uint16_t)(vq->last_avail + k), scratch);
        have += scratch->in_bytes;
    }
    if (r == VK_OK)
        *enough = have >= want;
    return r;
}

int vk_vq_fill(vk_vq *vq, uint16_t head, uint32_t len, uint16_t i)
{
    uint16_t slot = (uint16_t)(vq->used_idx + i) & (uint16_t)(vq->size - 1);
    uint64_t a = vq->used + 4 + 8ull * slot;
    if (vk_gmem_write_le32(vq->mem, a, head) != VK_OK ||
        vk_gmem_write_le32(vq->mem, a + 4, len) != VK_OK)
        return vq_fail(vq, VK_ERANGE, "used ring outside guest memory");
    return VK_OK;
}

int vk_vq_flush(vk_vq *vq, uint16_t n)
{
    uint16_t old = vq->used_idx;
    vq->used_idx = (uint16_t)(old + n);
    if (vk_gmem_write_le16(vq->mem, vq->used + 2, vq->used_idx) != VK_OK)
        return vq_fail(vq, VK_ERANGE, "used ring outside guest memory");
    /* QEMU's virtqueue_flush: an interrupt owed from before the wrap of
     * signalled_used would be missed, so forget it */
    if ((uint16_t)(vq->used_idx - vq->signalled_used) < (uint16_t)(vq->used_idx - old))
        vq->signalled_valid = false;
    return VK_OK;
}

int vk_vq_should_notify(vk_vq *vq, bool *notify)
{
    if (!vq->event_idx) {
        uint16_t flags;
        if (vk_gmem_read_le16(vq->mem, vq->avail, &flags) != VK_OK)
            return vq_fail(vq, VK_ERANGE, "available ring outside guest memory");
        *notify = !(flags & VK_VRING_AVAIL_F_NO_INTERRUPT);
        return VK_OK;
    }
    uint16_t event;
    if (vk_gmem_read_le16(vq->mem, vq->avail + 4 + 2ull * vq->size, &event) != VK_OK)
        return vq_fail(vq, VK_ERANGE, "available ring outside guest memory");
    uint16_t old = vq->signalled_used;
    bool valid = vq->signalled_valid;
    vq->signalled_used = vq->used_idx;
    vq->signalled_valid = true;
    *notify = !valid || vk_vring_need_event(event, vq->used_idx, old);
    return VK_OK;
}

static int write_avail_event(vk_vq *vq, uint16_t idx)
{
    if (vk_gmem_write_le16(vq->mem, vq->used + 4 + 8ull * vq->size, idx) != VK_OK)
        return vq_fail(vq, VK_ERANGE, "used ring outside guest memory");
    return VK_OK;
}

int vk_vq_set_notification(vk_vq *vq, bool enable)
{
    if (vq->event_idx) {
        /* as QEMU: with event idx, "off" is simply not moving avail_event */
        uint16_t idx;
        if (!enable)
            return VK_OK;
        if (vk_gmem_read_le16(vq->mem, vq->avail + 2, &idx) != VK_OK)
            return vq_fail(vq, VK_ERANGE, "available ring outside guest memory");
        return write_avail_event(vq, idx);
    }
    if (vk_gmem_write_le16(vq->mem, vq->used, enable ? 0 : VK_VRING_USED_F_NO_NOTIFY) != VK_OK)
        return vq_fail(vq, VK_ERANGE, "used ring outside guest memory");
    return VK_OK;
}

/* Copies between a segment list and a flat buffer from byte offset off. */
static int elem_copy(vk_vq *vq, const vk_vq_seg *segs, size_t nseg, uint64_t off, uint8_t *buf,
                     size_t len, bool to_guest)
{
    for (size_t i = 0; i < nseg && len > 0; i++) {
        if (off >= segs[i].len) {
            off -= segs[i].len;
            continue;
        }
        size_t n = segs[i].len - (size_t)off;
        if (n > len)
            n = len;
        int r = to_guest ? vk_gmem_write(vq->mem, segs[i].addr + off, buf, n)
                         : vk_gmem_read(vq->mem, segs[i].addr + off, buf, n);
        if (r != VK_OK)
            return vq_fail(vq, r, "buffer outside guest memory");
        buf += n;
        len -= n;
        off = 0;
    }
    return len == 0 ? VK_OK : VK_ETRUNC;
}

int vk_vq_elem_read(vk_vq *vq, const vk_vq_elem *e, uint64_t off, void *dst, size_t len)
{
    return elem_copy(vq, e->out, e->n_out, off, dst, len, false);
}

int vk_vq_elem_write(vk_vq *vq, const vk_vq_elem *e, uint64_t off, const void *src, size_t len)
{
    return elem_copy(vq, e->in, e->n_in, off, (uint8_t *)src, len, true);
}
