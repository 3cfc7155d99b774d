/*
 * State shared by the e1000 card (e1000.c) and its guest-driver half
 * (e1000_driver.c).  Nothing outside these two files includes it: the
 * driver half itself talks to the card only through registers, guest memory
 * and the interrupt callback, as a real driver would.
 */
#ifndef VK_NICS_E1000_PRIV_H
#define VK_NICS_E1000_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "core/frame.h"
#include "core/loop.h"
#include "nics/e1000.h"
#include "nics/guest_mem.h"
#include "nics/nic.h"

/* Registers are kept in one array indexed by offset / 4, up to the end of
 * the VFTA (the last register we model). */
#define E1K_NREGS ((VK_E1000_VFTA + 128 * 4) / 4)
#define E1K_EEPROM_WORDS 64

typedef struct e1k_config {
    unsigned rx_ring, tx_ring, rx_buffers;
    uint64_t rx_refill_delay;
    vk_nic_offload offload;
} e1k_config;

/* One offload context as a context descriptor sets it (QEMU e1000x_txd_props). */
typedef struct e1k_tx_ctx {
    uint8_t ipcss, ipcso, tucss, tucso;
    uint16_t ipcse, tucse;
    uint32_t paylen;
    uint8_t hdr_len;
    uint16_t mss;
    bool ip, tcp;
} e1k_tx_ctx;

/* The frame being assembled from TX data descriptors until EOP. */
typedef struct e1k_tx {
    uint8_t *data; /* VK_FRAME_MAX bytes */
    size_t size;
    bool overflow;    /* the chain outgrew the buffer: the frame is dropped */
    bool tse;         /* this frame is a TSO job */
    uint8_t popts;    /* POPTS of the first data descriptor */
    bool legacy_ic;   /* legacy descriptor asked for CSO/CSS insertion */
    uint8_t legacy_cso, legacy_css;
    bool vlan;
    uint16_t vlan_tci;
    e1k_tx_ctx ctx, tso_ctx;
} e1k_tx;

/* The Microwire EEPROM's side of EECD (QEMU's eecd_state): bits clocked
 * in, and which bit of the image DO shows. */
typedef struct e1k_eecd {
    uint16_t val_in;     /* opcode and address, shifted in MSB first */
    unsigned bitnum_in;  /* rising SK edges since CS went high (stops at 9) */
    uint16_t bitnum_out; /* image bit on DO: word (>> 4) & 0x3f, bit 15 - (& 0xf) */
    bool reading;        /* a read opcode was clocked in */
} e1k_eecd;

/* The guest driver half's bookkeeping (what Linux keeps in e1000_adapter). */
typedef struct e1k_driver {
    bool up;
    uint64_t rx_ring_addr, tx_ring_addr;
    unsigned rx_count, tx_count;
    unsigned rx_next_to_clean, rx_next_to_use;
    unsigned tx_next_to_clean, tx_next_to_use;
    uint64_t *rx_slot_buf;  /* buffer posted in each RX slot (0: none) */
    uint64_t *rx_free;      /* buffers reaped and not yet posted again */
    unsigned rx_nfree;
    uint64_t *tx_slot_buf;  /* each TX slot's 4 KiB bounce buffer */
    unsigned *tx_eop;       /* per first slot of a packet: its last slot */
    uint8_t *rx_frame;      /* assembly of a frame spanning descriptors */
    size_t rx_frame_len;
    bool rx_frame_bad;
    vk_timer *refill_timer;
    vk_nic_irq irq;   /* handler run to completion */
    vk_e1000_driver_stats stats;
} e1k_driver;

typedef struct vk_e1000 {
    vk_nic nic; /* must come first (nic.h) */
    vk_port *port;
    uint32_t regs[E1K_NREGS];
    uint16_t eeprom[E1K_EEPROM_WORDS];
    e1k_eecd eecd;
    vk_gmem mem;
    e1k_tx tx;
    bool in_tx;      /* start_xmit is running: a nested TDT write sets tx_kick */
    bool tx_kick;
    vk_dma_fault fault;
    e1k_config cfg;
    e1k_driver drv;
} vk_e1000;

static inline vk_e1000 *e1k_of(vk_port *p)
{
    return (vk_e1000 *)p->priv;
}


#endif
