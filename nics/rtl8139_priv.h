/*
 * State shared by the rtl8139 card (rtl8139.c) and its guest-driver half
 * (rtl8139_driver.c).  Nothing outside these two files includes it: the
 * driver half itself talks to the card only through registers, guest memory
 * and the interrupt callback, as a real driver would.
 */
#ifndef VK_NICS_RTL8139_PRIV_H
#define VK_NICS_RTL8139_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"
#include "nics/guest_mem.h"
#include "nics/nic.h"
#include "nics/rtl8139.h"

#define RTL_EEPROM_WORDS 64
/* The 8139C+ rings hold at most 64 descriptors (datasheet 10.2). */
#define RTL_CP_RING_MAX 64

typedef enum rtl_mode {
    RTL_MODE_CPLUS,
    RTL_MODE_LEGACY,
} rtl_mode;

typedef struct rtl_config {
    rtl_mode mode;
    unsigned rx_ring, tx_ring, rx_buffers; /* C+ */
    uint32_t rx_ring_bytes;                /* legacy */
    uint64_t rx_refill_delay;
    vk_nic_offload offload;
} rtl_config;

/* The 93C46 serial EEPROM behind 9346CR (QEMU's EEprom9346). */
typedef enum rtl_ee_mode {
    RTL_EE_IDLE,
    RTL_EE_WAIT_START,
    RTL_EE_COMMAND,
    RTL_EE_READ,
} rtl_ee_mode;

typedef struct rtl_eeprom {
    uint16_t words[RTL_EEPROM_WORDS];
    rtl_ee_mode mode;
    unsigned tick;
    uint16_t input, output;
    bool cs, sk, di, dout;
} rtl_eeprom;

/* The guest driver half's bookkeeping (8139cp's cp_private / 8139too's
 * rtl8139_private, reduced). */
typedef struct rtl_driver {
    bool up;
    /* C+ */
    uint64_t rx_ring_addr, tx_ring_addr;
    unsigned rx_count, tx_count;
    unsigned rx_tail;          /* next descriptor to look at */
    unsigned rx_posted;        /* descriptors owned by the card */
    uint64_t *rx_slot_buf;     /* buffer of each RX descriptor */
    unsigned rx_reaped;        /* reaped, waiting to be handed back */
    unsigned tx_head, tx_tail; /* next to use, next to clean */
    uint64_t *tx_slot_buf;     /* each TX slot's bounce buffer */
    unsigned *tx_last;         /* per first slot of a frame: its last slot */
    uint8_t *frame;            /* a received frame, copied out of the ring */
    /* legacy */
    uint64_t ring_addr;        /* RX ring buffer */
    uint32_t cur_rx;           /* read offset into the ring */
    uint32_t capr_target;      /* CAPR to write once the refill delay passed */
    bool capr_pending;
    uint64_t tx_buf[4];
    unsigned cur_tx, dirty_tx;
    /* both */
    vk_timer *refill_timer;
    vk_nic_irq irq;   /* handler run to completion */
    vk_rtl8139_driver_stats stats;
} rtl_driver;

typedef struct vk_rtl8139 {
    vk_nic nic; /* must come first (nic.h) */
    vk_port *port;
    /* registers QEMU keeps as fields */
    uint8_t phys[6], mult[8];
    uint32_t tsd[4], tsad[4];
    uint32_t rbstart;
    uint32_t rx_buf_size; /* legacy ring size from RCR.RBLEN */
    uint32_t rx_read;     /* CAPR + 16 */
    uint32_t rx_write;    /* CBR */
    uint16_t isr, imr;
    uint32_t tcr, rcr, mpc;
    uint8_t cr, cfg9346, config0, config1, config3, config4, config5, ettthr;
    uint16_t multint, bmcr, bmsr, anar, anlpar, aner, cscr, cpcr;
    uint32_t rdsar_lo, rdsar_hi;
    bool cplus_enabled; /* a CPCR write happened: TSD is DTCCR */
    unsigned cur_tx;    /* legacy: the TX slot to send next */
    unsigned cp_rx_desc, cp_tx_desc;
    rtl_eeprom eeprom;
    vk_gmem mem;
    uint8_t *tx_data; /* C+ TX assembly, VK_FRAME_MAX bytes */
    size_t tx_size;
    bool tx_overflow;
    bool in_tx, tx_kick;
    vk_dma_fault fault;
    rtl_config cfg;
    rtl_driver drv;
} vk_rtl8139;

static inline vk_rtl8139 *rtl_of(vk_port *p)
{
    return (vk_rtl8139 *)p->priv;
}

/* Card internals shared by rtl8139.c and rtl8139_rx.c. */
void vk_rtl_raise(vk_rtl8139 *s, uint16_t cause);
bool vk_rtl_dma_read(vk_rtl8139 *s, bool tx, uint64_t addr, void *dst, size_t len);
bool vk_rtl_dma_write(vk_rtl8139 *s, bool tx, uint64_t addr, const void *src, size_t len);
/* A C+ descriptor (datasheet 10.2): opts1, opts2, and the buffer address;
 * read from at (false on a DMA fault). */
typedef struct rtl_cp_desc {
    uint32_t opts1, opts2;
    uint64_t addr;
} rtl_cp_desc;
bool vk_rtl_cp_desc_read(vk_rtl8139 *s, bool tx, uint64_t at, rtl_cp_desc *d);
/* The descriptor after idx: the ring wraps after one with EOR set, or after
 * RTL_CP_RING_MAX of them. */
unsigned vk_rtl_cp_next(unsigned idx, uint32_t opts1);
int vk_rtl_receive(vk_port *p, vk_frame *f);
bool vk_rtl_can_receive(vk_port *p);
/* A register write that may let the card receive again flushes the frames
 * the core queued for it (QEMU: qemu_flush_queued_packets). */
void vk_rtl_rx_maybe_flush(vk_rtl8139 *s);

#endif
