/*
 * vk_frame: the one buffer type for an Ethernet frame moving through vnetkit.
 *
 * Ownership rule (the only one):
 *   - vk_frame_new() returns a frame with one reference, owned by the caller.
 *   - Passing a frame to a function never transfers that reference.  A callee
 *     that wants to keep the frame after it returns (a queue, a hold-for-ARP
 *     list, a NIC ring waiting for DMA) takes its own with vk_frame_ref() and
 *     later drops it with vk_frame_unref().
 *   - Whoever created or ref'd a frame unrefs it exactly once; the last unref
 *     frees it.
 *   - The bytes of a frame with more than one reference are shared: do not
 *     modify them; make a copy with vk_frame_clone() first.
 *   - A frame made with vk_frame_lend() points at bytes its creator lends
 *     (a receive buffer) instead of a copy.  The creator holds its one
 *     reference and ends the loan with vk_frame_settle() before those bytes
 *     change: a frame somebody else still holds then gets its own copy, so
 *     to everyone else it is an ordinary frame.  This is why a holder keeps
 *     the frame (f), never a pointer to its bytes (f->data), across calls.
 * Every frame carries `id`, a number unique within a run that the tracer
 * writes as the pcapng packet id, so one frame can be followed across a hub.
 *
 * Allocation: frames of up to VK_FRAME_POOL_BYTES come from a pool of
 * recycled buffers (the last unref puts the buffer back instead of freeing
 * it), so a steady stream of frames costs no malloc; larger frames are
 * allocated on their own.  The pool keeps at most VK_FRAME_POOL_MAX idle
 * buffers (the rest are freed) and belongs to the process: the engine runs
 * in one thread.  In sanitizer builds every frame is a fresh allocation, so
 * a use after the last unref is still caught.  The rule above is unchanged:
 * a frame's bytes must not be touched after its last unref.
 *
 * A frame may carry a `note` (a filter's decision, "netem f1: delayed 10 ms")
 * that the next trace record of it shows as a comment; the note belongs to
 * the frame and is set only on a frame with a single reference.
 *
 * A frame may be a TCP super-segment (gso_mss != 0, live clock only): one
 * IPv4 or IPv6 TCP packet longer than the MTU that stands for the segments
 * of at most gso_mss payload bytes it becomes on a wire.  Its IP lengths are
 * those of the whole (IPv4 header checksum valid); its TCP checksum field
 * holds the folded pseudo-header sum with the TCP length (a vnet header's
 * NEEDS_CSUM: csum_start at the TCP header, csum_offset 16), not a checksum
 * that verifies.  It crosses a port whole only where vk_port_passes_gso()
 * says so and is segmented in software everywhere else (port.h), so that
 * traces, filters and cards only ever see wire-sized segments.
 */
#ifndef VK_CORE_FRAME_H
#define VK_CORE_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* Largest frame any port accepts: a 64 KiB TSO/GSO super-frame plus headers. */
#define VK_FRAME_MAX 65550

typedef struct vk_frame {
    uint8_t *data;      /* len bytes of Ethernet frame (no FCS) */
    size_t len;
    size_t cap;         /* bytes available at data */
    uint64_t id;        /* packet id for tracing; 0 = not yet assigned */
    unsigned refcnt;
    char *note;         /* NULL, or a comment for the next trace record */
    uint16_t gso_mss;   /* 0: a plain frame; else a TCP super-segment (above) */
} vk_frame;

/* A frame holding a copy of len bytes (data may be NULL: zero-filled).
 * Returns NULL on allocation failure or len > VK_FRAME_MAX. */
vk_frame *vk_frame_new(const void *data, size_t len);
vk_frame *vk_frame_clone(const vk_frame *f);
/* A frame over len lent bytes at data (no copy; the bytes must stay as they
 * are until vk_frame_settle()).  Frames longer than VK_FRAME_POOL_BYTES get
 * a copy instead, as from vk_frame_new().  NULL on allocation failure or
 * len > VK_FRAME_MAX. */
vk_frame *vk_frame_lend(uint8_t *data, size_t len);
/* Ends the loan of a frame from vk_frame_lend() and drops the creator's
 * reference: if another reference remains, the frame first takes a copy of
 * the lent bytes into its own storage. */
void vk_frame_settle(vk_frame *f);
void vk_frame_release_(vk_frame *f); /* the last unref: use vk_frame_unref() */

/* Lending through a slot: a lender that hands out frames over and over (a
 * stream reader, a burst per read) keeps each frame in a slot of its own
 * between loans, so a loan costs neither a pool pop nor a push.  A slot is
 * a vk_frame pointer, NULL at first; it holds a frame only while that frame
 * has no other holder.
 *   vk_frame_lend_slot(slot, data, len): as vk_frame_lend(), reusing the
 *     slot's frame (or filling the slot from the pool).  NULL on failure.
 *   vk_frame_settle_slot(slot, f): as vk_frame_settle(f) for the frame it
 *     returned; a frame somebody kept gets its own copy and leaves the slot
 *     to its holders, one nobody kept stays in the slot for the next loan.
 *   vk_frame_slot_free(slot): releases the slot's frame (the lender's end).
 * To everyone but the lender these are ordinary lent frames.  In sanitizer
 * builds slots stay empty (every frame is a fresh allocation, so a use after
 * the loan is still caught). */
vk_frame *vk_frame_lend_slot_(vk_frame **slot, uint8_t *data, size_t len);
void vk_frame_settle_slot_(vk_frame **slot, vk_frame *f);
void vk_frame_slot_free(vk_frame **slot);

static inline vk_frame *vk_frame_lend_slot(vk_frame **slot, uint8_t *data, size_t len)
{
    vk_frame *f = *slot;
    if (f == NULL || len > f->cap)
        return vk_frame_lend_slot_(slot, data, len);
    f->data = data;
    f->len = len;
    f->id = 0;
    f->gso_mss = 0;
    return f;
}

static inline void vk_frame_settle_slot(vk_frame **slot, vk_frame *f)
{
    if (f != *slot || f->refcnt != 1 || f->note != NULL)
        vk_frame_settle_slot_(slot, f);
}

static inline vk_frame *vk_frame_ref(vk_frame *f)
{
    f->refcnt++;
    return f;
}

static inline void vk_frame_unref(vk_frame *f)
{
    if (f != NULL && --f->refcnt == 0)
        vk_frame_release_(f);
}
/* Replaces f's note with a copy of text (NULL clears it).  VK_ENOMEM. */
int vk_frame_set_note(vk_frame *f, const char *text);

/* Frames this long or shorter come from the pool: a VLAN-tagged full-size
 * Ethernet frame fits. */
#define VK_FRAME_POOL_BYTES 1600
/* Idle pooled buffers kept for reuse (about 1.6 MiB). */
#define VK_FRAME_POOL_MAX 1024

typedef struct vk_frame_pool_stats {
    uint64_t reused;   /* frames served from an idle pooled buffer */
    uint64_t allocated; /* frames that needed a malloc */
    uint64_t released; /* pooled buffers freed because the pool was full */
    size_t idle;       /* idle buffers now */
} vk_frame_pool_stats;

void vk_frame_pool_stats_get(vk_frame_pool_stats *out);
/* Frees every idle pooled buffer (at exit, or to measure memory). */
void vk_frame_pool_trim(void);

#endif
