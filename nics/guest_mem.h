/*
 * Simulated guest physical memory for NIC models.  Every DMA a card does goes
 * through vk_gmem_read/vk_gmem_write, which check address and length against
 * the memory's size (with overflow-safe arithmetic) and fail with VK_ERANGE
 * instead of touching anything outside it.  A model that gets VK_ERANGE sets
 * its own error state, as a real card would raise a bus error.
 * The guest-driver half allocates its rings and buffers with vk_gmem_alloc,
 * a bump allocator (drivers set up once; nothing is freed until the memory is).
 */
#ifndef VK_NICS_GUEST_MEM_H
#define VK_NICS_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vk_gmem {
    uint8_t *bytes;
    uint64_t size;
    uint64_t next_free; /* bump allocator */
    uint64_t faults;    /* accesses refused for being out of range */
    uint64_t written;   /* bit i: a write touched the i-th 64th of the memory */
} vk_gmem;

int vk_gmem_init(vk_gmem *m, uint64_t size);
void vk_gmem_destroy(vk_gmem *m);
/* True when [addr, addr+len) lies inside the memory. */
int vk_gmem_valid(const vk_gmem *m, uint64_t addr, uint64_t len);
int vk_gmem_read(vk_gmem *m, uint64_t addr, void *dst, size_t len);
int vk_gmem_write(vk_gmem *m, uint64_t addr, const void *src, size_t len);
/* Little-endian accessors for descriptor fields (out-of-range: VK_ERANGE). */
int vk_gmem_read_le16(vk_gmem *m, uint64_t addr, uint16_t *v);
int vk_gmem_read_le32(vk_gmem *m, uint64_t addr, uint32_t *v);
int vk_gmem_read_le64(vk_gmem *m, uint64_t addr, uint64_t *v);
int vk_gmem_write_le16(vk_gmem *m, uint64_t addr, uint16_t v);
int vk_gmem_write_le32(vk_gmem *m, uint64_t addr, uint32_t v);
int vk_gmem_write_le64(vk_gmem *m, uint64_t addr, uint64_t v);
/* A bus-master card's DMA fault state, one flag per direction: a card that
 * gets VK_ERANGE stops that direction (as a real one raises a bus error)
 * until the guest reprograms the ring or resets the card.  msg keeps the
 * first fault's words ("e1000 RX DMA outside guest memory: 0x...+N"). */
typedef struct vk_dma_fault {
    bool rx, tx;
    char msg[128];
} vk_dma_fault;

/* True once a DMA of either direction faulted; *msg (if not NULL) gets the
 * message naming the ring and address (what vk_MODEL_error() report). */
bool vk_dma_fault_report(const vk_dma_fault *f, const char **msg);

/* DMA on behalf of `card` in direction tx: true on success; out of range
 * records the fault in f and returns false. */
bool vk_gmem_dma_read(vk_gmem *m, vk_dma_fault *f, const char *card, bool tx, uint64_t addr,
                     void *dst, size_t len);
bool vk_gmem_dma_write(vk_gmem *m, vk_dma_fault *f, const char *card, bool tx, uint64_t addr,
                       const void *src, size_t len);

/* Allocates len bytes aligned to `align` (a power of two); 0 on exhaustion
 * (address 0 is never handed out). */
uint64_t vk_gmem_alloc(vk_gmem *m, uint64_t len, uint64_t align);

#endif
