/*
 * The ne2k_pci NIC model: a Realtek RTL8029 (an NE2000, i.e. a National
 * DP8390 with on-card packet memory) as QEMU's hw/net/ne2000.c emulates it,
 * plus the guest-driver half that does what Linux's 8390/ne2k-pci driver does
 * with it (nics/ne2k_driver.c).
 *
 * `-device ne2k_pci,netdev=ID[,mac=M][,KEY=VALUE...]`.
 * Model keys (all optional; the defaults behave as a booted Linux guest):
 *   rx-ring-pages=N    pages of 256 bytes in the receive ring (7..116;
 *                      default 52, Linux's 0x4c..0x80).  The driver keeps 12
 *                      transmit pages at 0x40 below the ring, as Linux does.
 *   rx-refill-delay=NS virtual-clock nanoseconds between reading frames out
 *                      of the ring and advancing BNRY past them (0 = at once,
 *                      the default).  Frames are delivered at once; only the
 *                      ring space comes back late, so backpressure (the core
 *                      queue filling, then draining) is reproducible.
 *   guest-driver=on|off  off leaves the card in its power-on state (stopped)
 *                      for register-level tests
 *
 * The card has no bus-master DMA: the guest reaches the packet memory only
 * through the remote-DMA data port (RSAR/RBCR).  So the "guest memory" of
 * this card is its own RAM, and every remote-DMA address and count, every
 * transmit (TPSR/TBCR) and every ring write is checked against it.  A
 * remote-DMA access outside the card's memory stops the transfer (no RDC),
 * a transmit outside it is refused with ISR.TXE; both set the error state
 * reported by vk_ne2k_error, which a reset (reading the reset port) clears.
 * Host memory is never touched.
 *
 * Card memory, as QEMU lays it out: 48 KiB of address space, where
 * 0x0000..0x001f is the station-address PROM (read-only here, each byte
 * doubled for word access) and 0x4000..0xbfff is packet RAM (pages
 * 0x40..0xbf).  Everything else is a hole.
 */
#ifndef VK_NICS_NE2K_H
#define VK_NICS_NE2K_H

#include <stdbool.h>
#include <stdint.h>

#include "core/port.h"
#include "core/topology.h"
#include "nics/nic.h"

/* The card, and its guest-driver half (nics/ne2k_driver.c), which depends on
 * the card and never the reverse: nics/registry.c pairs them as the model
 * ne2k_pci (see vk_nic_models in nic.h). */
extern const vk_nic_card vk_ne2k_card;
extern const char *const vk_ne2k_keys[];
extern const vk_nic_driver vk_ne2k_driver;

/* Card memory (QEMU: NE2000_PMEM_START/END). */
enum {
    VK_NE2K_PROM_SIZE = 32,
    VK_NE2K_RAM_START = 0x4000,
    VK_NE2K_RAM_END = 0xc000,
    VK_NE2K_PAGE = 256,
    VK_NE2K_FIRST_PAGE = VK_NE2K_RAM_START / VK_NE2K_PAGE, /* 0x40 */
    VK_NE2K_END_PAGE = VK_NE2K_RAM_END / VK_NE2K_PAGE,     /* 0xc0 */
};

/* I/O port offsets.  Offsets 0x01..0x0f select a register of the page that
 * CR.PS names; reads and writes of the same offset often reach different
 * registers (DP8390 datasheet, Linux 8390.h). */
enum {
    VK_NE2K_CR = 0x00,
    /* page 0, write */
    VK_NE2K_PSTART = 0x01,
    VK_NE2K_PSTOP = 0x02,
    VK_NE2K_BNRY = 0x03, /* read and write */
    VK_NE2K_TPSR = 0x04,
    VK_NE2K_TBCR0 = 0x05,
    VK_NE2K_TBCR1 = 0x06,
    VK_NE2K_ISR = 0x07, /* read and write (write 1 to clear) */
    VK_NE2K_RSAR0 = 0x08,
    VK_NE2K_RSAR1 = 0x09,
    VK_NE2K_RBCR0 = 0x0a,
    VK_NE2K_RBCR1 = 0x0b,
    VK_NE2K_RCR = 0x0c,
    VK_NE2K_TCR = 0x0d,
    VK_NE2K_DCR = 0x0e,
    VK_NE2K_IMR = 0x0f,
    /* page 0, read */
    VK_NE2K_TSR = 0x04,
    VK_NE2K_NCR = 0x05,
    VK_NE2K_CRDA0 = 0x08,
    VK_NE2K_CRDA1 = 0x09,
    VK_NE2K_ID0 = 0x0a, /* RTL8029: 0x50 'P' */
    VK_NE2K_ID1 = 0x0b, /* RTL8029: 0x43 'C' */
    VK_NE2K_RSR = 0x0c,
    VK_NE2K_CNTR0 = 0x0d,
    VK_NE2K_CNTR1 = 0x0e,
    VK_NE2K_CNTR2 = 0x0f, /* missed frames; cleared by reading */
    /* page 1, read and write */
    VK_NE2K_PAR0 = 0x01, /* PAR0..PAR5 at 0x01..0x06 */
    VK_NE2K_CURR = 0x07,
    VK_NE2K_MAR0 = 0x08, /* MAR0..MAR7 at 0x08..0x0f */
    /* page 2 reads back PSTART 0x01, PSTOP 0x02, TPSR 0x04, RCR 0x0c,
     * TCR 0x0d, DCR 0x0e, IMR 0x0f */
    /* the ASIC ports */
    VK_NE2K_DATA = 0x10,
    VK_NE2K_RESET = 0x1f,
    VK_NE2K_IO_SIZE = 0x20,
};

/* Register bits. */
enum {
    VK_NE2K_CR_STP = 0x01,
    VK_NE2K_CR_STA = 0x02,
    VK_NE2K_CR_TXP = 0x04,
    VK_NE2K_CR_RD_READ = 0x08,
    VK_NE2K_CR_RD_WRITE = 0x10,
    VK_NE2K_CR_RD_ABORT = 0x20, /* "no DMA" */
    VK_NE2K_CR_RD_MASK = 0x38,
    VK_NE2K_CR_PS_SHIFT = 6,
    VK_NE2K_CR_PAGE0 = 0x00,
    VK_NE2K_CR_PAGE1 = 0x40,
    VK_NE2K_CR_PAGE2 = 0x80,
    VK_NE2K_CR_PAGE3 = 0xc0,

    VK_NE2K_ISR_PRX = 0x01,
    VK_NE2K_ISR_PTX = 0x02,
    VK_NE2K_ISR_RXE = 0x04,
    VK_NE2K_ISR_TXE = 0x08,
    VK_NE2K_ISR_OVW = 0x10,
    VK_NE2K_ISR_CNT = 0x20,
    VK_NE2K_ISR_RDC = 0x40,
    VK_NE2K_ISR_RST = 0x80,

    VK_NE2K_RCR_SEP = 0x01,
    VK_NE2K_RCR_AR = 0x02,
    VK_NE2K_RCR_AB = 0x04,
    VK_NE2K_RCR_AM = 0x08,
    VK_NE2K_RCR_PRO = 0x10,
    VK_NE2K_RCR_MON = 0x20,

    VK_NE2K_TCR_CRC = 0x01,
    VK_NE2K_TCR_LB_MASK = 0x06, /* 0: normal; 1..3: loopback */
    VK_NE2K_TCR_LB_INTERNAL = 0x02,

    VK_NE2K_DCR_WTS = 0x01, /* word-wide remote DMA */

    VK_NE2K_TSR_PTX = 0x01,
    VK_NE2K_TSR_ABT = 0x08,

    VK_NE2K_RSR_PRX = 0x01,
    VK_NE2K_RSR_PHY = 0x20, /* multicast or broadcast destination */
    VK_NE2K_RSR_MPA = 0x10,
};

/* Port access as the guest does it: `size` is 1, 2 or 4 bytes.  Registers
 * (0x00..0x0f) and the reset port take byte accesses; the data port takes a
 * byte or word (one DCR.WTS-sized remote-DMA step) or a dword.  Anything
 * else reads as all ones and ignores writes, as QEMU.  Reads have side
 * effects (data port, reset port, CNTR2). */
uint32_t vk_ne2k_io_read(vk_port *p, uint32_t addr, unsigned size);
void vk_ne2k_io_write(vk_port *p, uint32_t addr, uint32_t value, unsigned size);

/* True once a remote DMA or a transmit went outside the card's memory;
 * *msg (if not NULL) says which and where.  A reset clears it. */
bool vk_ne2k_error(vk_port *p, const char **msg);
/* The interrupt line: (ISR & IMR & 0x7f) != 0. */
bool vk_ne2k_irq_line(vk_port *p);
/* True when p is an ne2k_pci port (the functions above require one). */
bool vk_ne2k_is(const vk_port *p);

/* The driver half's counters, for tests and reports. */
typedef struct vk_ne2k_driver_stats {
    uint64_t rx_delivered; /* frames handed to the guest sink */
    uint64_t rx_errors;    /* bad ring headers, bad lengths, DMA faults */
    uint64_t tx_sent;      /* frames the card reported sent (TSR.PTX) */
    uint64_t tx_busy;      /* sends refused with VK_EAGAIN (CR.TXP set) */
    uint64_t tx_errors;    /* sends the card refused (TXE) */
    uint64_t irqs;         /* interrupt handler runs */
    uint64_t bnry_updates; /* BNRY writes that gave ring space back */
} vk_ne2k_driver_stats;

const vk_ne2k_driver_stats *vk_ne2k_driver_stats_of(vk_port *p);

/* Runs the driver's interrupt handler now, as if the line had been raised;
 * the card calls it itself whenever the line goes up. */
void vk_ne2k_driver_poll(vk_port *p);

#endif
