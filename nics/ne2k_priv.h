/*
 * State shared by the ne2k_pci card (ne2k.c) and its guest-driver half
 * (ne2k_driver.c).  Nothing outside these two files includes it; the driver
 * half itself talks to the card only through vk_ne2k_io_read/write and the
 * interrupt callback, as a real driver does.
 */
#ifndef VK_NICS_NE2K_PRIV_H
#define VK_NICS_NE2K_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"
#include "nics/ne2k.h"
#include "nics/nic.h"

typedef struct ne2k_config {
    unsigned rx_pages;
    uint64_t rx_refill_delay;
} ne2k_config;

/* What Linux keeps in struct ei_device, reduced to what we use. */
typedef struct ne2k_driver {
    bool up;
    uint8_t tx_start, rx_start, stop; /* pages */
    uint8_t current_page;             /* next frame to read from the ring */
    uint8_t bnry;                     /* last BNRY written */
    vk_timer *refill_timer;
    bool rx_more; /* rx_clean stopped with frames left */
    vk_nic_irq irq;   /* handler run to completion */
    vk_ne2k_driver_stats stats;
} ne2k_driver;

typedef struct vk_ne2k {
    vk_nic nic; /* must come first (nic.h) */
    vk_port *port;
    uint8_t mem[VK_NE2K_RAM_END]; /* PROM at 0, RAM at 0x4000; the rest unused */
    uint8_t cr, isr, imr, rcr, tcr, dcr, tsr, rsr;
    uint8_t pstart, pstop, bnry, curr, tpsr; /* pages */
    uint16_t tbcr, rsar, rbcr;
    uint8_t par[6], mar[8];
    uint8_t missed; /* CNTR2 */
    bool in_tx;
    bool fault;
    char fault_msg[128];
    ne2k_config cfg;
    ne2k_driver drv;
} vk_ne2k;

static inline vk_ne2k *ne2k_of(vk_port *p)
{
    return (vk_ne2k *)p->priv;
}


#endif
