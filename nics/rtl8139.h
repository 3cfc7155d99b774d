/*
 * The rtl8139 NIC model: a Realtek RTL8139C+ at register level, as QEMU's
 * hw/net/rtl8139.c emulates it, plus a guest-driver half that does what
 * Linux does with it (nics/rtl8139_driver.c): 8139cp in C+ mode (the
 * default, and what a Linux guest of QEMU binds to), or 8139too in the
 * legacy mode of the original RTL8139 (mode=legacy).
 *
 * `-device rtl8139,netdev=ID[,mac=M][,KEY=VALUE...]`.
 * Model keys (all optional; the defaults behave as a booted Linux guest):
 *   mode=cplus|legacy   which driver the guest runs: 8139cp (C+ descriptor
 *                       rings) or 8139too (4 TX slots, one RX ring buffer)
 *   rx-ring=N           C+: RX descriptors (1..64; default 64)
 *   tx-ring=N           C+: TX descriptors (2..64; default 64)
 *   rx-buffers=N        C+: RX descriptors the driver keeps handed to the
 *                       card (1..rx-ring; default rx-ring).  Few buffers plus
 *                       a refill delay make backpressure deterministic.
 *   rx-ring-bytes=N     legacy: RX ring buffer size, 8192, 16384, 32768
 *                       (default) or 65536 (RCR.RBLEN)
 *   rx-refill-delay=NS  virtual-clock nanoseconds between the driver reading
 *                       received frames and giving their space back (C+:
 *                       descriptors re-owned; legacy: CAPR advanced);
 *                       0 = at once, the default
 *   guest-offload=none|csum|tso   C+ only: what the guest stack asks of the
 *                       card: none; csum = IPv4 TCP/UDP checksums by the
 *                       descriptor's IPCS/TCPCS/UDPCS bits; tso = csum, and
 *                       IPv4 TCP frames longer than 1514 bytes go out as one
 *                       large send (LGSEN with the MSS)
 *   guest-driver=on|off off leaves the card in its power-on state for
 *                       register-level tests (no rings, RX/TX disabled)
 *
 * Register access and guest memory are public so that tests, and the driver
 * half, go through exactly what a guest can touch.  The 8139 has byte, word
 * and dword registers: accesses name their size (1, 2 or 4) and, as in QEMU,
 * a size a register does not have is split into byte accesses.  Any DMA
 * outside guest memory puts the card in an error state (vk_rtl8139_error)
 * and stops the path it came from; a reset (CR.RST) or writing the base
 * register of that path (RBSTART, RDSAR, TSAD0-3/TNPDS) clears it.
 */
#ifndef VK_NICS_RTL8139_H
#define VK_NICS_RTL8139_H

#include <stdbool.h>
#include <stdint.h>

#include "core/port.h"
#include "core/topology.h"
#include "nics/nic.h"
#include "nics/guest_mem.h"

/* The card, and its guest-driver half (nics/rtl8139_driver.c), which depends on
 * the card and never the reverse: nics/registry.c pairs them as the model
 * rtl8139 (see vk_nic_models in nic.h). */
extern const vk_nic_card vk_rtl8139_card;
extern const char *const vk_rtl8139_keys[];
extern const vk_nic_driver vk_rtl8139_driver;

/* Register offsets (RTL8139C(L)+ datasheet; QEMU's names in comments). */
enum {
    VK_RTL_IDR0 = 0x00,    /* MAC0: 6 bytes */
    VK_RTL_MAR0 = 0x08,    /* multicast hash: 8 bytes */
    VK_RTL_TSD0 = 0x10,    /* TxStatus0-3; DTCCR in C+ mode */
    VK_RTL_TSAD0 = 0x20,   /* TxAddr0-3; TNPDS (0x20) and THPDS (0x28) in C+ */
    VK_RTL_TNPDS = 0x20,
    VK_RTL_THPDS = 0x28,
    VK_RTL_RBSTART = 0x30, /* RxBuf */
    VK_RTL_CR = 0x37,      /* ChipCmd */
    VK_RTL_CAPR = 0x38,    /* RxBufPtr */
    VK_RTL_CBR = 0x3a,     /* RxBufAddr */
    VK_RTL_IMR = 0x3c,
    VK_RTL_ISR = 0x3e,
    VK_RTL_TCR = 0x40,     /* TxConfig */
    VK_RTL_RCR = 0x44,     /* RxConfig */
    VK_RTL_TCTR = 0x48,
    VK_RTL_MPC = 0x4c,     /* RxMissed */
    VK_RTL_9346CR = 0x50,
    VK_RTL_CONFIG0 = 0x51,
    VK_RTL_CONFIG1 = 0x52,
    VK_RTL_MSR = 0x58,     /* MediaStatus */
    VK_RTL_CONFIG3 = 0x59,
    VK_RTL_CONFIG4 = 0x5a,
    VK_RTL_MULINT = 0x5c,
    VK_RTL_RERID = 0x5e,   /* PCI revision */
    VK_RTL_TSAD = 0x60,    /* TxSummary */
    VK_RTL_BMCR = 0x62,
    VK_RTL_BMSR = 0x64,
    VK_RTL_ANAR = 0x66,
    VK_RTL_ANLPAR = 0x68,
    VK_RTL_ANER = 0x6a,
    VK_RTL_CSCR = 0x74,
    VK_RTL_CONFIG5 = 0xd8,
    VK_RTL_TPPOLL = 0xd9,  /* TxPoll */
    VK_RTL_CPCR = 0xe0,    /* CpCmd */
    VK_RTL_RDSAR = 0xe4,   /* RxRingAddrLO/HI */
    VK_RTL_ETTHR = 0xec,   /* TxThresh */
};

/* Register bits. */
enum {
    VK_RTL_CR_BUFE = 0x01,
    VK_RTL_CR_TE = 0x04,
    VK_RTL_CR_RE = 0x08,
    VK_RTL_CR_RST = 0x10,

    VK_RTL_INT_ROK = 0x0001,
    VK_RTL_INT_RER = 0x0002,
    VK_RTL_INT_TOK = 0x0004,
    VK_RTL_INT_TER = 0x0008,
    VK_RTL_INT_RXOVW = 0x0010,
    VK_RTL_INT_PUN = 0x0020, /* packet underrun / link change */
    VK_RTL_INT_FOVW = 0x0040,
    VK_RTL_INT_SERR = 0x8000,

    VK_RTL_RCR_AAP = 0x01,
    VK_RTL_RCR_APM = 0x02,
    VK_RTL_RCR_AM = 0x04,
    VK_RTL_RCR_AB = 0x08,
    VK_RTL_RCR_WRAP = 0x80,
    VK_RTL_RCR_RBLEN_SHIFT = 11,

    VK_RTL_TCR_LOOPBACK = 3u << 17,

    VK_RTL_TSD_SIZE = 0x1fff,
    VK_RTL_TSD_OWN = 1u << 13,
    VK_RTL_TSD_TUN = 1u << 14,
    VK_RTL_TSD_TOK = 1u << 15,
    VK_RTL_TSD_TABT = 1u << 30,

    VK_RTL_RX_ROK = 0x0001,
    VK_RTL_RX_BAR = 0x2000,
    VK_RTL_RX_PAM = 0x4000,
    VK_RTL_RX_MAR = 0x8000,

    VK_RTL_9346_EEDO = 0x01,
    VK_RTL_9346_EEDI = 0x02,
    VK_RTL_9346_EESK = 0x04,
    VK_RTL_9346_EECS = 0x08,
    VK_RTL_9346_PROGRAM = 0x80,
    VK_RTL_9346_CONFIG_WRITE = 0xc0,

    VK_RTL_CPCR_TXENB = 0x0001,
    VK_RTL_CPCR_RXENB = 0x0002,
    VK_RTL_CPCR_RXCHKSUM = 0x0020,
    VK_RTL_CPCR_RXVLAN = 0x0040,

    VK_RTL_TPPOLL_NPQ = 0x40, /* normal priority queue */
};

/* C+ descriptors: 16 bytes, opts1 (le32), opts2 (le32), buffer (le64). */
enum {
    VK_RTL_DESC_SIZE = 16,
    VK_RTL_DESC_OWN = 1u << 31,
    VK_RTL_DESC_EOR = 1u << 30,
    VK_RTL_DESC_FS = 1u << 29,
    VK_RTL_DESC_LS = 1u << 28,
    /* TX opts1 */
    VK_RTL_TXD_LGSEN = 1u << 27,
    VK_RTL_TXD_MSS_SHIFT = 16,
    VK_RTL_TXD_MSS_MASK = 0x7ff,
    VK_RTL_TXD_IPCS = 1u << 18,
    VK_RTL_TXD_UDPCS = 1u << 17,
    VK_RTL_TXD_TCPCS = 1u << 16,
    VK_RTL_TXD_SIZE_MASK = 0xffff,
    /* TX opts2: insert the tag (byte-swapped TCI in bits 0-15) */
    VK_RTL_TXD_TAGC = 1u << 17,
    /* RX opts1 */
    VK_RTL_RXD_MAR = 1u << 26,
    VK_RTL_RXD_PAM = 1u << 25,
    VK_RTL_RXD_BAR = 1u << 24,
    VK_RTL_RXD_SIZE_MASK = 0x1fff,
    /* RX opts2: a tag was stripped (byte-swapped TCI in bits 0-15) */
    VK_RTL_RXD_TAVA = 1u << 16,
};

/* Register access as the guest does it: size is 1, 2 or 4; offsets wrap at
 * 256 (the I/O window).  Reads may have side effects (the EEPROM). */
uint32_t vk_rtl8139_io_read(vk_port *p, uint32_t offset, unsigned size);
void vk_rtl8139_io_write(vk_port *p, uint32_t offset, uint32_t value, unsigned size);
/* The card's register tables (one row of handlers per register, one table
 * per access width) are sorted and their spans do not overlap, as their
 * lookup needs; for the unit tests. */
bool vk_rtl8139_reg_table_ok(void);

/* The card's guest memory (the driver half allocates its rings in it). */
vk_gmem *vk_rtl8139_gmem(vk_port *p);

/* True once a DMA went outside guest memory; *msg (if not NULL) names the
 * path and the address.  See the file comment for what clears it. */
bool vk_rtl8139_error(vk_port *p, const char **msg);
/* The interrupt line: (ISR & IMR) != 0. */
bool vk_rtl8139_irq_line(vk_port *p);

/* True when p is an rtl8139 port (the functions above require one). */
bool vk_rtl8139_is(const vk_port *p);

/* The driver half's counters, for tests and reports. */
typedef struct vk_rtl8139_driver_stats {
    uint64_t rx_delivered; /* frames handed to the guest sink */
    uint64_t rx_errors;    /* bad headers / descriptors (legacy: ring reset) */
    uint64_t tx_sent;      /* frames handed to the card */
    uint64_t tx_busy;      /* sends refused with VK_EAGAIN */
    uint64_t tx_dropped;   /* frames the driver refused (too long) */
    uint64_t tx_large_send; /* of tx_sent, C+ large sends */
    uint64_t irqs;         /* interrupt handler runs */
} vk_rtl8139_driver_stats;

const vk_rtl8139_driver_stats *vk_rtl8139_driver_stats_of(vk_port *p);

/* Runs the driver's interrupt handler now, as if the line had been raised;
 * the card calls it itself whenever the line goes up. */
void vk_rtl8139_driver_poll(vk_port *p);

#endif
