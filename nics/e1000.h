/*
 * The e1000 NIC model: an Intel 82540EM at register level, as QEMU's
 * hw/net/e1000.c emulates it, plus the guest-driver half that does what
 * Linux's e1000 driver does with it (nics/e1000_driver.c).
 *
 * `-device e1000,netdev=ID[,mac=M][,KEY=VALUE...]` (alias: e1000-82540em).
 * Model keys (all optional; the defaults behave as a booted Linux guest):
 *   rx-ring=N          RX descriptors (8..4096, multiple of 8; default 256)
 *   tx-ring=N          TX descriptors (8..4096, multiple of 8; default 256)
 *   rx-buffers=N       RX buffers the driver keeps posted (1..rx-ring-1;
 *                      default rx-ring-1).  Few buffers plus a refill delay
 *                      make backpressure happen deterministically.
 *   rx-refill-delay=NS virtual-clock nanoseconds between reaping RX buffers
 *                      and posting them again (0 = at once, the default)
 *   guest-offload=none|csum|tso   what the guest stack asks of the card:
 *                      none = legacy descriptors; csum = TCP/UDP checksum
 *                      by a context descriptor; tso = csum, and TCP frames
 *                      longer than 1514 bytes are sent as one TSO job
 *   guest-driver=on|off  off leaves the card in its power-on state for
 *                      register-level tests (no rings, RX/TX disabled)
 *
 * The EEPROM reads through EERD, or bit by bit through EECD as a 93C46
 * Microwire part: with CS high, clock in 110b and a 6-bit word address on DI
 * (rising SK edges), then clock out 16 data bits on DO, MSB first; reading
 * on continues into the next word.
 *
 * Register access and guest memory are public so that tests, and the driver
 * half, go through exactly what a guest can touch.  Any DMA outside guest
 * memory puts the card in an error state (vk_e1000_error) and stops the
 * ring it came from; a reset (CTRL.RST) or reprogramming the ring's base or
 * length registers clears it.
 */
#ifndef VK_NICS_E1000_H
#define VK_NICS_E1000_H

#include <stdbool.h>
#include <stdint.h>

#include "core/port.h"
#include "core/topology.h"
#include "nics/nic.h"
#include "nics/guest_mem.h"

/* The card, and its guest-driver half (nics/e1000_driver.c), which depends on
 * the card and never the reverse: nics/registry.c pairs them as the models
 * e1000 and e1000-82540em (see vk_nic_models in nic.h). */
extern const vk_nic_card vk_e1000_card;
extern const char *const vk_e1000_keys[];
extern const vk_nic_driver vk_e1000_driver;

/* Register offsets (8254x SDM table 13-2; QEMU e1000_regs.h). */
enum {
    VK_E1000_CTRL = 0x0000,
    VK_E1000_STATUS = 0x0008,
    VK_E1000_EECD = 0x0010,
    VK_E1000_EERD = 0x0014,
    VK_E1000_CTRL_EXT = 0x0018,
    VK_E1000_MDIC = 0x0020,
    VK_E1000_VET = 0x0038,
    VK_E1000_ICR = 0x00c0,
    VK_E1000_ITR = 0x00c4,
    VK_E1000_ICS = 0x00c8,
    VK_E1000_IMS = 0x00d0,
    VK_E1000_IMC = 0x00d8,
    VK_E1000_RCTL = 0x0100,
    VK_E1000_TCTL = 0x0400,
    VK_E1000_TIPG = 0x0410,
    VK_E1000_RDBAL = 0x2800,
    VK_E1000_RDBAH = 0x2804,
    VK_E1000_RDLEN = 0x2808,
    VK_E1000_RDH = 0x2810,
    VK_E1000_RDT = 0x2818,
    VK_E1000_RDTR = 0x2820,
    VK_E1000_RADV = 0x282c,
    VK_E1000_TDBAL = 0x3800,
    VK_E1000_TDBAH = 0x3804,
    VK_E1000_TDLEN = 0x3808,
    VK_E1000_TDH = 0x3810,
    VK_E1000_TDT = 0x3818,
    VK_E1000_TIDV = 0x3820,
    VK_E1000_TADV = 0x382c,
    VK_E1000_CRCERRS = 0x4000,
    VK_E1000_MPC = 0x4010,
    VK_E1000_GPRC = 0x4074,
    VK_E1000_BPRC = 0x4078,
    VK_E1000_MPRC = 0x407c,
    VK_E1000_GPTC = 0x4080,
    VK_E1000_GORCL = 0x4088,
    VK_E1000_GORCH = 0x408c,
    VK_E1000_GOTCL = 0x4090,
    VK_E1000_GOTCH = 0x4094,
    VK_E1000_RNBC = 0x40a0,
    VK_E1000_ROC = 0x40ac,
    VK_E1000_TORL = 0x40c0,
    VK_E1000_TORH = 0x40c4,
    VK_E1000_TOTL = 0x40c8,
    VK_E1000_TOTH = 0x40cc,
    VK_E1000_TPR = 0x40d0,
    VK_E1000_TPT = 0x40d4,
    VK_E1000_MPTC = 0x40f0,
    VK_E1000_BPTC = 0x40f4,
    VK_E1000_TSCTC = 0x40f8,
    VK_E1000_MTA = 0x5200, /* 128 registers */
    VK_E1000_RAL0 = 0x5400, /* RAL(n) = 0x5400 + 8n, RAH(n) = 0x5404 + 8n, n < 16 */
    VK_E1000_RAH0 = 0x5404,
    VK_E1000_VFTA = 0x5600, /* 128 registers */
};

/* Register bits. */
enum {
    VK_E1000_CTRL_FD = 1u << 0,
    VK_E1000_CTRL_SLU = 1u << 6,
    VK_E1000_CTRL_RST = 1u << 26,
    VK_E1000_CTRL_VME = 1u << 30,

    VK_E1000_STATUS_FD = 1u << 0,
    VK_E1000_STATUS_LU = 1u << 1,
    VK_E1000_STATUS_SPEED_1000 = 1u << 7,

    /* EECD: the Microwire EEPROM's pins, and the access handshake */
    VK_E1000_EECD_SK = 1u << 0, /* clock */
    VK_E1000_EECD_CS = 1u << 1, /* chip select */
    VK_E1000_EECD_DI = 1u << 2, /* data into the EEPROM */
    VK_E1000_EECD_DO = 1u << 3, /* data out of the EEPROM */
    VK_E1000_EECD_REQ = 1u << 6,
    VK_E1000_EECD_GNT = 1u << 7,
    VK_E1000_EECD_PRES = 1u << 8,

    VK_E1000_EERD_START = 1u << 0,
    VK_E1000_EERD_DONE = 1u << 4,
    VK_E1000_EERD_ADDR_SHIFT = 8,
    VK_E1000_EERD_DATA_SHIFT = 16,

    VK_E1000_RCTL_EN = 1u << 1,
    VK_E1000_RCTL_SBP = 1u << 2,
    VK_E1000_RCTL_UPE = 1u << 3,
    VK_E1000_RCTL_MPE = 1u << 4,
    VK_E1000_RCTL_LPE = 1u << 5,
    VK_E1000_RCTL_LBM_MAC = 1u << 6,
    VK_E1000_RCTL_RDMTS_SHIFT = 8,
    VK_E1000_RCTL_MO_SHIFT = 12,
    VK_E1000_RCTL_BAM = 1u << 15,
    VK_E1000_RCTL_BSIZE_SHIFT = 16,
    VK_E1000_RCTL_VFE = 1u << 18,
    VK_E1000_RCTL_BSEX = 1u << 25,
    VK_E1000_RCTL_SECRC = 1u << 26,

    VK_E1000_TCTL_EN = 1u << 1,
    VK_E1000_TCTL_PSP = 1u << 3,

    VK_E1000_RAH_AV = 1u << 31,

    VK_E1000_ICR_TXDW = 1u << 0,
    VK_E1000_ICR_TXQE = 1u << 1,
    VK_E1000_ICR_LSC = 1u << 2,
    VK_E1000_ICR_RXSEQ = 1u << 3,
    VK_E1000_ICR_RXDMT0 = 1u << 4,
    VK_E1000_ICR_RXO = 1u << 6,
    VK_E1000_ICR_RXT0 = 1u << 7,
};

/* Descriptor fields (SDM 3.2.3 and 3.3). */
enum {
    VK_E1000_DESC_SIZE = 16,
    /* TX lower dword: length (legacy 16 bits, extended 20), then CMD */
    VK_E1000_TXD_DTYP_D = 1u << 20,
    VK_E1000_TXD_CMD_EOP = 1u << 24,
    VK_E1000_TXD_CMD_IFCS = 1u << 25,
    VK_E1000_TXD_CMD_IC = 1u << 26,
    VK_E1000_TXD_CMD_TSE = 1u << 26, /* TSE in extended descriptors, IC in legacy */
    VK_E1000_TXD_CMD_RS = 1u << 27,
    VK_E1000_TXD_CMD_RPS = 1u << 28,
    VK_E1000_TXD_CMD_DEXT = 1u << 29,
    VK_E1000_TXD_CMD_VLE = 1u << 30,
    VK_E1000_TXD_CMD_IDE = 1u << 31,
    /* context descriptor TUCMD (same bits as CMD) */
    VK_E1000_TXD_CMD_TCP = 1u << 24,
    VK_E1000_TXD_CMD_IP = 1u << 25,
    /* TX upper dword: status, then POPTS << 8, then special << 16 */
    VK_E1000_TXD_STAT_DD = 1u << 0,
    VK_E1000_TXD_POPTS_IXSM = 1u << 0,
    VK_E1000_TXD_POPTS_TXSM = 1u << 1,
    /* RX status and errors bytes */
    VK_E1000_RXD_STAT_DD = 1u << 0,
    VK_E1000_RXD_STAT_EOP = 1u << 1,
    VK_E1000_RXD_STAT_IXSM = 1u << 2,
    VK_E1000_RXD_STAT_VP = 1u << 3,
};

/* Register access as the guest does it (32-bit, aligned; other offsets
 * read 0 and ignore writes).  Reads may have side effects (ICR, counters). */
uint32_t vk_e1000_mmio_read(vk_port *p, uint32_t offset);
void vk_e1000_mmio_write(vk_port *p, uint32_t offset, uint32_t value);
/* The card's register table (one row of handlers per register) is sorted
 * and its spans do not overlap, as its lookup needs; for the unit tests. */
bool vk_e1000_reg_table_ok(void);

/* The card's guest memory (the driver half allocates its rings in it). */
vk_gmem *vk_e1000_gmem(vk_port *p);

/* True once a DMA went outside guest memory; *msg (if not NULL) names the
 * ring and the address.  See the file comment for what clears it. */
bool vk_e1000_error(vk_port *p, const char **msg);
/* The interrupt line: (ICR & IMS) != 0. */
bool vk_e1000_irq_line(vk_port *p);

/* True when p is an e1000 port (the functions above require one). */
bool vk_e1000_is(const vk_port *p);

/* The driver half's counters, for tests and reports. */
typedef struct vk_e1000_driver_stats {
    uint64_t rx_delivered; /* frames handed to the guest sink */
    uint64_t rx_errors;    /* descriptors reaped with an error or no EOP */
    uint64_t tx_sent;      /* frames placed on the TX ring */
    uint64_t tx_busy;      /* sends refused with VK_EAGAIN */
    uint64_t tx_tso;       /* of which TSO jobs */
    uint64_t irqs;         /* interrupt handler runs */
} vk_e1000_driver_stats;

const vk_e1000_driver_stats *vk_e1000_driver_stats_of(vk_port *p);

/* Runs the driver's interrupt handler now (reap RX and TX), as if the line
 * had been raised; the card calls it itself whenever the line goes up. */
void vk_e1000_driver_poll(vk_port *p);

#endif
