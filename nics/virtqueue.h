/*
 * The device side of a virtio 1.0 split virtqueue (virtio spec 2.4) over
 * simulated guest memory.  The three areas live in guest memory, written by
 * the guest driver and read here only through vk_gmem:
 *   descriptor table  size x {le64 addr, le32 len, le16 flags, le16 next}
 *   available ring    le16 flags, le16 idx, le16 ring[size], le16 used_event
 *   used ring         le16 flags, le16 idx, {le32 id, le32 len}[size], le16 avail_event
 *
 * Everything the guest wrote is untrusted: chains are walked with a bound
 * (queue size, or the indirect table's length) so a descriptor cycle ends in
 * an error instead of a hang; indirect tables are checked for length and
 * nesting; every address goes through vk_gmem.  Functions return negative
 * VK_E* codes on guest error; the device then enters its NEEDS_RESET state
 * (QEMU's virtio_error) and does not touch the queue again until reset.
 * vk_vq_error_msg() says what was wrong.
 */
#ifndef VK_NICS_VIRTQUEUE_H
#define VK_NICS_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nics/guest_mem.h"

#define VK_VRING_DESC_F_NEXT 1
#define VK_VRING_DESC_F_WRITE 2
#define VK_VRING_DESC_F_INDIRECT 4
#define VK_VRING_AVAIL_F_NO_INTERRUPT 1
#define VK_VRING_USED_F_NO_NOTIFY 1

#define VK_VQ_MAX_SIZE 32768 /* the spec's limit for split queues */
/* Segments of one chain, direct or indirect: QEMU's VIRTQUEUE_MAX_SIZE.
 * A longer chain is a guest error, which bounds what a guest can make us
 * walk for one element. */
#define VK_VQ_MAX_SEGS 1024

/* Bytes of each area for a queue of `size` entries (with the event fields). */
static inline uint64_t vk_vq_desc_bytes(uint16_t size) { return 16ull * size; }
static inline uint64_t vk_vq_avail_bytes_of(uint16_t size) { return 6ull + 2ull * size; }
static inline uint64_t vk_vq_used_bytes_of(uint16_t size) { return 6ull + 8ull * size; }

/* The spec's vring_need_event(): true when the other side asked to be told
 * about index new_idx, having last been told at old_idx (2.4.7.2). */
static inline bool vk_vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

typedef struct vk_vq_seg {
    uint64_t addr;
    uint32_t len;
} vk_vq_seg;

/* One popped chain: device-readable segments first, then device-writable
 * ones (a readable descriptor after a writable one is a guest error). */
typedef struct vk_vq_elem {
    uint16_t head;
    size_t n_out, n_in;
    uint64_t out_bytes, in_bytes;
    vk_vq_seg out[VK_VQ_MAX_SEGS];
    vk_vq_seg in[VK_VQ_MAX_SEGS];
} vk_vq_elem;

typedef struct vk_vq {
    vk_gmem *mem;
    uint16_t size;  /* entries; set by the driver, checked at enable */
    uint64_t desc, avail, used;
    bool ready;     /* enabled and checked */
    bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
    uint16_t last_avail;      /* next available entry the device reads */
    uint16_t used_idx;        /* the device's copy of used->idx */
    uint16_t signalled_used;  /* used idx at the last interrupt */
    bool signalled_valid;
    char error[128];          /* first guest error, for messages */
} vk_vq;

/* Forgets everything (device reset); size/addresses back to 0. */
void vk_vq_reset(vk_vq *vq, vk_gmem *mem);
/* Checks size (power of two, 1..VK_VQ_MAX_SIZE), alignment and that the
 * three areas lie in guest memory, then marks the queue ready. */
int vk_vq_enable(vk_vq *vq);

/* Entries the driver made available and the device has not taken. */
int vk_vq_avail_count(vk_vq *vq, uint16_t *n);
/* Pops the next chain into e: 1 when popped, 0 when the ring is empty,
 * negative on a malformed chain. */
int vk_vq_pop(vk_vq *vq, vk_vq_elem *e);
/* Gives back the last n popped chains (nothing was used from them). */
void vk_vq_unpop(vk_vq *vq, uint16_t n);
/* True in *enough when the available chains, not yet popped, offer at least
 * `want` device-writable bytes (QEMU's virtqueue_avail_bytes); scratch is
 * walked over each chain. */
int vk_vq_avail_in_bytes(vk_vq *vq, uint64_t want, vk_vq_elem *scratch, bool *enough);

/* Writes used entry number i after the current used idx (for one frame
 * spread over several chains), then vk_vq_flush publishes n entries. */
int vk_vq_fill(vk_vq *vq, uint16_t head, uint32_t len, uint16_t i);
int vk_vq_flush(vk_vq *vq, uint16_t n);
/* Whether the driver wants an interrupt now (flags or used_event). */
int vk_vq_should_notify(vk_vq *vq, bool *notify);
/* Asks the driver for kicks (enable) or not: used->flags without event
 * idx, avail_event with it. */
int vk_vq_set_notification(vk_vq *vq, bool enable);

/* Copy from the readable segments at byte offset off (gather), or into the
 * writable ones (scatter).  VK_ETRUNC when the chain is shorter. */
int vk_vq_elem_read(vk_vq *vq, const vk_vq_elem *e, uint64_t off, void *dst, size_t len);
int vk_vq_elem_write(vk_vq *vq, const vk_vq_elem *e, uint64_t off, const void *src, size_t len);

#endif
