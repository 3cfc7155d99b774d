/*
 * The NIC fuzz targets' common part: a card driven through its guest
 * interface by a program read from the fuzz input, so a hostile driver and a
 * hostile wire are explored together.  Each fuzz_nic_<model>.c fills a
 * vk_fuzz_nic with the card's register access and calls vk_fuzz_nic_run.
 *
 * Input: byte 0 picks one of the model's configurations (model keys; with
 * guest-driver=off the card starts at power-on, otherwise the driver half
 * has set it up as Linux does), then instructions, each an opcode byte and
 * its operands (big-endian; a program simply ends where the input does):
 *   0 write   u16 offset, u32 value, u8 size      register write
 *   1 read    u16 offset, u8 size                 register read
 *   2 memory  u32 address, u16 n, n bytes         guest writes its memory
 *                                                 (address modulo its size)
 *   3 wire    u16 n, n bytes                      a frame arrives from the wire
 *   4 send    u16 n, n bytes                      the driver half transmits
 *   5 clock   u8 t                                virtual time += t * 10 us
 *   6 poll                                        the driver's interrupt handler
 *   7 extra   u8 arg                              model-specific (virtio: notify)
 * Invariants: every DMA stays inside guest memory (the buffer is exactly its
 * size, so ASan sees any byte outside it, and the memory's bounds never
 * change); every frame the card puts on the wire or hands the guest is 1 to
 * VK_FRAME_MAX bytes; one instruction makes at most VK_FUZZ_NIC_BUDGET
 * frames (ring sizes bound the legitimate work); libFuzzer's -timeout
 * catches loops that produce nothing.
 */
#ifndef VK_FUZZ_NIC_PROGRAM_H
#define VK_FUZZ_NIC_PROGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "core/port.h"
#include "core/topology.h"
#include "nics/guest_mem.h"

#define VK_FUZZ_NIC_BUDGET 70000

typedef struct vk_fuzz_nic {
    const vk_nic_model *model;
    const char *const *configs; /* model keys, NULL-terminated list */
    void (*write)(vk_port *p, uint32_t off, uint32_t value, unsigned size);
    uint32_t (*read)(vk_port *p, uint32_t off, unsigned size);
    vk_gmem *(*gmem)(vk_port *p); /* NULL: the card has no bus-master DMA */
    void (*poll)(vk_port *p);
    void (*extra)(vk_port *p, uint8_t arg); /* NULL: none */
} vk_fuzz_nic;

int vk_fuzz_nic_run(const vk_fuzz_nic *n, const uint8_t *data, size_t size);

#endif
