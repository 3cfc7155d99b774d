/*
 * The ne2k_pci card: an RTL8029 (NE2000 / DP8390) at register level,
 * following QEMU's hw/net/ne2000.c for what a guest can observe: the
 * register pages and the RTL8029 ID and config bytes, remote DMA through
 * the data port (byte or word by DCR.WTS, or dword; RSAR wrapping from
 * PSTOP to PSTART), ISR write-1-to-clear with RST kept until a start,
 * the RX filter and its order, the 4-byte ring header (status, next page,
 * length = frame + 4) with the next page rounded for a CRC that is never
 * stored, short frames padded to 60, ne2000_buffer_full as the one rule for
 * "ring full", and transmit straight from card memory at TPSR.  Facts come
 * from QEMU, the DP8390 datasheet and Linux's 8390 drivers; the code is ours.
 *
 * Where we differ from QEMU, on purpose:
 *   - remote DMA is checked against card memory: a start address outside
 *     the PROM or RAM, a count larger than RAM, a write into the PROM, or an
 *     access that runs off the end stops the transfer and sets the error
 *     state (QEMU reads 0xff and ignores writes, and keeps counting);
 *   - data-port reads need a remote read in progress (QEMU reads on after
 *     RBCR reached 0); without one they read as all ones;
 *   - a transmit with TBCR 0, or outside RAM, is refused with ISR.TXE
 *     (QEMU reports PTX, and folds TPSR >= 0xc0 back for NetWare);
 *   - the unicast filter compares with PAR0-5, as the DP8390 does (QEMU
 *     compares with the PROM; a Linux guest programs PAR from the PROM, so
 *     the two agree);
 *   - CURR outside [PSTART, PSTOP) or a ring outside RAM means "cannot
 *     receive" like PSTART >= PSTOP does in QEMU; frames wait in the core
 *     queue instead of landing outside the ring;
 *   - frames longer than 1518 bytes are dropped (QEMU has no limit and
 *     would wrap them over unread frames);
 *   - CR.STP sets ISR.RST and a stopped card cannot receive (QEMU's
 *     can_receive says yes and receive then refuses);
 *   - RCR.MON (monitor mode, set by Linux while it configures) counts the
 *     frame in CNTR2 and does not store it; TCR loopback returns the frame
 *     to our own receive path instead of the wire.
 * The card runs synchronously: a TXP write transmits before it returns, and
 * receive() fills the ring and raises the interrupt, whose handler (the
 * driver half) runs at once.
 */
#include "nics/ne2k.h"

#include "core/error.h"
#include "core/net.h"
#include "nics/ne2k_priv.h"
#include "wire/ethernet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NE2K_MIN_FRAME 60
#define NE2K_MAX_RX_FRAME 1518
#define NE2K_MAX_ETH_FRAME 1514 /* QEMU's MAX_ETH_FRAME_SIZE, for buffer_full */
#define NE2K_RAM_SIZE (VK_NE2K_RAM_END - VK_NE2K_RAM_START)
#define NE2K_RTL8029_ID0 0x50
#define NE2K_RTL8029_ID1 0x43
#define NE2K_PROM_SIGNATURE 0x57 /* 'W' in PROM bytes 14 and 15: an NE2000 in word mode */

static const vk_port_ops ne2k_ops;

/* ---- interrupts ---------------------------------------------------------- */

static bool irq_pending(const vk_ne2k *s)
{
    return (s->isr & s->imr & 0x7f) != 0;
}

static void irq_update(vk_ne2k *s)
{
    if (irq_pending(s))
        vk_nic_raise_irq(s->port);
}

/* ---- card memory --------------------------------------------------------- */

static bool in_prom(uint32_t addr, uint32_t len)
{
    return addr + len <= VK_NE2K_PROM_SIZE;
}

static bool in_ram(uint32_t addr, uint32_t len)
{
    return addr >= VK_NE2K_RAM_START && addr <= VK_NE2K_RAM_END &&
           len <= VK_NE2K_RAM_END - addr;
}

/* The station-address PROM as QEMU's ne2000_reset fills it: MAC, zeros,
 * 0x57 0x57 at 14 and 15, every byte doubled for word-wide reads. */
static void prom_load(vk_ne2k *s)
{
    uint8_t prom[16] = {0};
    memcpy(prom, s->nic.mac.b, 6);
    prom[14] = prom[15] = NE2K_PROM_SIGNATURE;
    for (unsigned i = 0; i < 16; i++)
        s->mem[2 * i] = s->mem[2 * i + 1] = prom[i];
}

static void set_fault(vk_ne2k *s, const char *what, uint32_t addr, uint32_t len)
{
    s->fault = true;
    snprintf(s->fault_msg, sizeof s->fault_msg,
             "ne2k_pci %s outside card memory: 0x%04x+%u", what, (unsigned)addr,
             (unsigned)len);
}

static void card_reset(vk_ne2k *s)
{
    s->cr = VK_NE2K_CR_STP | VK_NE2K_CR_RD_ABORT;
    s->isr = VK_NE2K_ISR_RST;
    s->imr = s->rcr = s->tcr = s->dcr = s->tsr = s->rsr = 0;
    s->rbcr = 0;
    s->missed = 0;
    s->fault = false;
    s->fault_msg[0] = '\0';
    prom_load(s);
}

/* ---- RX ------------------------------------------------------------------ */

static uint32_t page_addr(uint8_t page)
{
    return (uint32_t)page << 8;
}

/* The ring is usable: inside RAM, not empty, and CURR inside it.  BNRY is
 * not checked: Linux writes next_frame - 1, which is PSTART - 1 after a
 * wrap, and QEMU's arithmetic copes with it. */
static bool ring_ok(const vk_ne2k *s)
{
    return s->pstart >= VK_NE2K_FIRST_PAGE && s->pstop <= VK_NE2K_END_PAGE &&
           s->pstart < s->pstop && s->curr >= s->pstart && s->curr < s->pstop;
}

/* QEMU's ne2000_buffer_full: less than one maximal frame of room between
 * CURR and BNRY.  Room is counted in whole pages, so "at least 1518 bytes"
 * means six pages, enough for any frame we store. */
static bool buffer_full(const vk_ne2k *s)
{
    if (s->pstop <= s->pstart)
        return true;
    int64_t start = page_addr(s->pstart), stop = page_addr(s->pstop);
    int64_t index = page_addr(s->curr), boundary = page_addr(s->bnry);
    int64_t avail = index < boundary ? boundary - index : (stop - start) - (index - boundary);
    return avail < NE2K_MAX_ETH_FRAME + 4;
}

static bool ne2k_can_receive(vk_port *p)
{
    vk_ne2k *s = ne2k_of(p);
    return !(s->cr & VK_NE2K_CR_STP) && ring_ok(s) && !buffer_full(s);
}

/* QEMU's filter, in its order: PRO takes everything; broadcast needs AB;
 * multicast needs AM and its MAR bit; unicast must equal PAR. */
static bool rx_filter(const vk_ne2k *s, const uint8_t *dst)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (s->rcr & VK_NE2K_RCR_PRO)
        return true;
    if (memcmp(dst, bcast, 6) == 0)
        return (s->rcr & VK_NE2K_RCR_AB) != 0;
    if (dst[0] & 1) {
        if (!(s->rcr & VK_NE2K_RCR_AM))
            return false;
        unsigned idx = vk_eth_mcast_hash6(dst);
        return (s->mar[idx >> 3] >> (idx & 7)) & 1;
    }
    return memcmp(dst, s->par, 6) == 0;
}

static void count_missed(vk_ne2k *s)
{
    if (s->missed != 0xff)
        s->missed++;
}

/* Writes header and frame at CURR, wrapping from PSTOP to PSTART, and moves
 * CURR on.  The caller checked that the ring is valid and has room. */
static void rx_store(vk_ne2k *s, const uint8_t *buf, size_t size)
{
    uint32_t start = page_addr(s->pstart), stop = page_addr(s->pstop);
    uint32_t index = page_addr(s->curr);
    size_t total = size + 4;
    /* QEMU leaves room for a 4-byte CRC it never writes */
    uint32_t next = index + (uint32_t)((total + 4 + 255) & ~(size_t)0xff);
    if (next >= stop)
        next -= stop - start;
    s->rsr = VK_NE2K_RSR_PRX | ((buf[0] & 1) ? VK_NE2K_RSR_PHY : 0);
    s->mem[index] = s->rsr;
    s->mem[index + 1] = (uint8_t)(next >> 8);
    s->mem[index + 2] = (uint8_t)total;
    s->mem[index + 3] = (uint8_t)(total >> 8);
    index += 4; /* a page holds the header: index + 4 < stop */
    while (size > 0) {
        if (index >= stop)
            index = start;
        size_t n = stop - index < size ? stop - index : size;
        memcpy(s->mem + index, buf, n);
        buf += n;
        size -= n;
        index += (uint32_t)n;
    }
    s->curr = (uint8_t)(next >> 8);
}

static int rx_refuse(vk_ne2k *s, vk_frame *f, const char *reason, int err)
{
    vk_port_drop(s->port, f, reason);
    return err;
}

static int ne2k_receive(vk_port *p, vk_frame *f)
{
    vk_ne2k *s = ne2k_of(p);
    uint8_t min_buf[NE2K_MIN_FRAME];
    const uint8_t *buf = f->data;
    size_t size = f->len;
    if (s->cr & VK_NE2K_CR_STP)
        return rx_refuse(s, f, "ne2k_pci RX: card stopped", VK_EAGAIN);
    if (size > NE2K_MAX_RX_FRAME)
        return rx_refuse(s, f, "ne2k_pci RX: frame too long", VK_EDROP);
    if (size < NE2K_MIN_FRAME) { /* QEMU pads short frames with zeros */
        memset(min_buf, 0, sizeof min_buf);
        memcpy(min_buf, buf, size);
        buf = min_buf;
        size = sizeof min_buf;
    }
    if (!rx_filter(s, buf))
        return rx_refuse(s, f, "ne2k_pci RX filter: not for us", VK_EDROP);
    if (s->rcr & VK_NE2K_RCR_MON) {
        count_missed(s);
        return rx_refuse(s, f, "ne2k_pci RX: monitor mode (RCR.MON)", VK_EDROP);
    }
    /* can_receive said yes; these hold unless a caller ignored it */
    size_t ring = page_addr(s->pstop) - (size_t)page_addr(s->pstart);
    if (!ring_ok(s) || buffer_full(s) || size + 8 > ring) {
        count_missed(s);
        s->isr |= VK_NE2K_ISR_OVW;
        irq_update(s);
        return rx_refuse(s, f, "ne2k_pci RX: receive ring full", VK_EAGAIN);
    }
    rx_store(s, buf, size);
    s->isr |= VK_NE2K_ISR_PRX;
    irq_update(s);
    return VK_OK;
}

/* Writes that can make room end with a flush, so the frames the core queued
 * for us enter now (QEMU: qemu_flush_queued_packets). */
static void rx_maybe_flush(vk_ne2k *s)
{
    if (ne2k_can_receive(s->port))
        vk_port_flush(s->port);
}

/* ---- TX ------------------------------------------------------------------ */

/* Sends TBCR bytes from page TPSR: to the wire, or back into our own
 * receive path in loopback. */
static void tx_run(vk_ne2k *s)
{
    uint32_t start = page_addr(s->tpsr);
    uint32_t len = s->tbcr;
    s->tsr = 0;
    if (len == 0 || !in_ram(start, len)) {
        if (len != 0)
            set_fault(s, "transmit (TPSR/TBCR)", start, len);
        s->tsr = VK_NE2K_TSR_ABT;
        s->isr |= VK_NE2K_ISR_TXE;
        return;
    }
    vk_frame *f = vk_frame_new(s->mem + start, len);
    if (f == NULL) {
        s->tsr = VK_NE2K_TSR_ABT;
        s->isr |= VK_NE2K_ISR_TXE;
        return;
    }
    s->in_tx = true;
    if (s->tcr & VK_NE2K_TCR_LB_MASK)
        vk_port_deliver(s->port, f);
    else
        vk_port_send(s->port, f);
    s->in_tx = false;
    vk_frame_unref(f);
    s->tsr = VK_NE2K_TSR_PTX;
    s->isr |= VK_NE2K_ISR_PTX;
}

/* ---- remote DMA ---------------------------------------------------------- */

static void dma_stop(vk_ne2k *s)
{
    s->rbcr = 0;
    s->cr = (uint8_t)((s->cr & ~VK_NE2K_CR_RD_MASK) | VK_NE2K_CR_RD_ABORT);
}

/* A remote read or write was started: its start address and count must
 * fit the card before any byte moves. */
static void dma_check_start(vk_ne2k *s, bool write)
{
    uint32_t a = s->rsar;
    if (write ? !in_ram(a, 1) : !(in_prom(a, 1) || in_ram(a, 1))) {
        set_fault(s, write ? "remote DMA write" : "remote DMA read", a, s->rbcr);
        dma_stop(s);
    } else if (s->rbcr > NE2K_RAM_SIZE) {
        set_fault(s, "remote DMA count", a, s->rbcr);
        dma_stop(s);
    }
}

/* QEMU's ne2000_dma_update: RSAR moves on, wrapping at PSTOP; RBCR counts
 * down and RDC is raised when it reaches 0. */
static void dma_advance(vk_ne2k *s, unsigned n)
{
    s->rsar = (uint16_t)(s->rsar + n);
    if (s->pstop != 0 && s->rsar == page_addr(s->pstop))
        s->rsar = (uint16_t)page_addr(s->pstart);
    if (s->rbcr <= n) {
        s->rbcr = 0;
        s->isr |= VK_NE2K_ISR_RDC;
        irq_update(s);
    } else {
        s->rbcr = (uint16_t)(s->rbcr - n);
    }
}

static uint32_t ones(unsigned size)
{
    return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

/* One data-port step of n bytes (1, 2 by DCR.WTS, or 4). */
static uint32_t dma_read(vk_ne2k *s, unsigned n)
{
    if ((s->cr & VK_NE2K_CR_RD_MASK) != VK_NE2K_CR_RD_READ || s->rbcr == 0)
        return ones(n);
    uint32_t a = n > 1 ? s->rsar & ~1u : s->rsar;
    if (!in_prom(a, n) && !in_ram(a, n)) {
        set_fault(s, "remote DMA read", a, n);
        dma_stop(s);
        return ones(n);
    }
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint32_t)s->mem[a + i] << (8 * i);
    dma_advance(s, n);
    return v;
}

static void dma_write(vk_ne2k *s, unsigned n, uint32_t v)
{
    if ((s->cr & VK_NE2K_CR_RD_MASK) != VK_NE2K_CR_RD_WRITE || s->rbcr == 0)
        return;
    uint32_t a = n > 1 ? s->rsar & ~1u : s->rsar;
    if (!in_ram(a, n)) {
        set_fault(s, "remote DMA write", a, n);
        dma_stop(s);
        return;
    }
    for (unsigned i = 0; i < n; i++)
        s->mem[a + i] = (uint8_t)(v >> (8 * i));
    dma_advance(s, n);
}

static unsigned data_step(const vk_ne2k *s, unsigned size)
{
    if (size >= 4)
        return 4;
    return (s->dcr & VK_NE2K_DCR_WTS) ? 2 : 1;
}

/* ---- registers ----------------------------------------------------------- */

static void write_cr(vk_ne2k *s, uint8_t v)
{
    s->cr = v;
    if (s->in_tx) /* a transmit is running: TXP stays set until it ends */
        s->cr |= VK_NE2K_CR_TXP;
    /* the data port works whether the card runs or not (QEMU), so a
     * transfer is checked whenever one is started */
    uint8_t rd = v & VK_NE2K_CR_RD_MASK;
    bool dma = rd == VK_NE2K_CR_RD_READ || rd == VK_NE2K_CR_RD_WRITE;
    if (dma && s->rbcr != 0)
        dma_check_start(s, rd == VK_NE2K_CR_RD_WRITE);
    if (v & VK_NE2K_CR_STP) {
        s->isr |= VK_NE2K_ISR_RST;
        return;
    }
    s->isr &= (uint8_t)~VK_NE2K_ISR_RST;
    if (dma && s->rbcr == 0)
        s->isr |= VK_NE2K_ISR_RDC; /* QEMU: a zero-length transfer completes at once */
    if ((v & VK_NE2K_CR_TXP) && !s->in_tx) {
        tx_run(s);
        s->cr &= (uint8_t)~VK_NE2K_CR_TXP;
    }
    irq_update(s);
    rx_maybe_flush(s);
}

static void write_page0(vk_ne2k *s, uint32_t reg, uint8_t v)
{
    switch (reg) {
    case VK_NE2K_PSTART:
        s->pstart = v;
        rx_maybe_flush(s);
        break;
    case VK_NE2K_PSTOP:
        s->pstop = v;
        rx_maybe_flush(s);
        break;
    case VK_NE2K_BNRY:
        s->bnry = v;
        rx_maybe_flush(s);
        break;
    case VK_NE2K_TPSR:
        s->tpsr = v;
        break;
    case VK_NE2K_TBCR0:
        s->tbcr = (uint16_t)((s->tbcr & 0xff00) | v);
        break;
    case VK_NE2K_TBCR1:
        s->tbcr = (uint16_t)((s->tbcr & 0x00ff) | v << 8);
        break;
    case VK_NE2K_ISR: /* write 1 to clear; RST: only a start clears it */
        s->isr &= (uint8_t)~(v & 0x7f);
        break;
    case VK_NE2K_RSAR0:
        s->rsar = (uint16_t)((s->rsar & 0xff00) | v);
        break;
    case VK_NE2K_RSAR1:
        s->rsar = (uint16_t)((s->rsar & 0x00ff) | v << 8);
        break;
    case VK_NE2K_RBCR0:
        s->rbcr = (uint16_t)((s->rbcr & 0xff00) | v);
        break;
    case VK_NE2K_RBCR1:
        s->rbcr = (uint16_t)((s->rbcr & 0x00ff) | v << 8);
        break;
    case VK_NE2K_RCR:
        s->rcr = v & 0x3f;
        break;
    case VK_NE2K_TCR:
        s->tcr = v & 0x1f;
        break;
    case VK_NE2K_DCR:
        s->dcr = v & 0x7f;
        break;
    case VK_NE2K_IMR:
        s->imr = v & 0x7f;
        irq_update(s);
        break;
    default:
        break;
    }
}

static void write_page1(vk_ne2k *s, uint32_t reg, uint8_t v)
{
    if (reg >= VK_NE2K_PAR0 && reg < VK_NE2K_PAR0 + 6) {
        s->par[reg - VK_NE2K_PAR0] = v;
    } else if (reg == VK_NE2K_CURR) {
        s->curr = v;
        rx_maybe_flush(s);
    } else if (reg >= VK_NE2K_MAR0) {
        s->mar[reg - VK_NE2K_MAR0] = v;
    }
}

static uint8_t read_page0(vk_ne2k *s, uint32_t reg)
{
    switch (reg) {
    case VK_NE2K_BNRY:
        return s->bnry;
    case VK_NE2K_TSR:
        return s->tsr;
    case VK_NE2K_ISR:
        return s->isr;
    case VK_NE2K_CRDA0:
        return (uint8_t)s->rsar;
    case VK_NE2K_CRDA1:
        return (uint8_t)(s->rsar >> 8);
    case VK_NE2K_ID0:
        return NE2K_RTL8029_ID0;
    case VK_NE2K_ID1:
        return NE2K_RTL8029_ID1;
    case VK_NE2K_RSR:
        return s->rsr;
    case VK_NE2K_CNTR2: {
        uint8_t v = s->missed;
        s->missed = 0;
        return v;
    }
    default:
        return 0; /* CLDA, NCR, FIFO, CNTR0/1 */
    }
}

static uint8_t read_page1(vk_ne2k *s, uint32_t reg)
{
    if (reg >= VK_NE2K_PAR0 && reg < VK_NE2K_PAR0 + 6)
        return s->par[reg - VK_NE2K_PAR0];
    if (reg == VK_NE2K_CURR)
        return s->curr;
    return s->mar[reg - VK_NE2K_MAR0];
}

/* Page 2 reads back the page-0 configuration; page 3 holds the RTL8029's
 * CONFIG registers (10BaseT, full duplex; QEMU's values). */
static uint8_t read_page2(const vk_ne2k *s, uint32_t reg)
{
    switch (reg) {
    case VK_NE2K_PSTART:
        return s->pstart;
    case VK_NE2K_PSTOP:
        return s->pstop;
    case VK_NE2K_TPSR:
        return s->tpsr;
    case VK_NE2K_RCR:
        return s->rcr;
    case VK_NE2K_TCR:
        return s->tcr;
    case VK_NE2K_DCR:
        return s->dcr;
    case VK_NE2K_IMR:
        return s->imr;
    default:
        return 0;
    }
}

static uint8_t read_page3(uint32_t reg)
{
    return reg == 0x05 || reg == 0x06 ? 0x40 : 0;
}

static uint8_t reg_read(vk_ne2k *s, uint32_t reg)
{
    if (reg == VK_NE2K_CR)
        return s->cr;
    switch (s->cr >> VK_NE2K_CR_PS_SHIFT) {
    case 0:
        return read_page0(s, reg);
    case 1:
        return read_page1(s, reg);
    case 2:
        return read_page2(s, reg);
    default:
        return read_page3(reg);
    }
}

static void reg_write(vk_ne2k *s, uint32_t reg, uint8_t v)
{
    if (reg == VK_NE2K_CR)
        write_cr(s, v);
    else if ((s->cr >> VK_NE2K_CR_PS_SHIFT) == 0)
        write_page0(s, reg, v);
    else if ((s->cr >> VK_NE2K_CR_PS_SHIFT) == 1)
        write_page1(s, reg, v);
    /* pages 2 and 3: read-only here, as in QEMU */
}

uint32_t vk_ne2k_io_read(vk_port *p, uint32_t addr, unsigned size)
{
    vk_ne2k *s = ne2k_of(p);
    if (size != 1 && size != 2 && size != 4)
        return 0xffffffffu;
    if (addr < VK_NE2K_DATA && size == 1)
        return reg_read(s, addr);
    if (addr == VK_NE2K_DATA)
        return dma_read(s, data_step(s, size)) & ones(size);
    if (addr == VK_NE2K_RESET && size == 1) {
        card_reset(s);
        return 0;
    }
    return ones(size);
}

void vk_ne2k_io_write(vk_port *p, uint32_t addr, uint32_t value, unsigned size)
{
    vk_ne2k *s = ne2k_of(p);
    if (size != 1 && size != 2 && size != 4)
        return;
    if (addr < VK_NE2K_DATA && size == 1)
        reg_write(s, addr, (uint8_t)value);
    else if (addr == VK_NE2K_DATA)
        dma_write(s, data_step(s, size), value);
    /* the reset port: writing ends the reset pulse, nothing to do */
}

/* ---- public queries ------------------------------------------------------ */

bool vk_ne2k_error(vk_port *p, const char **msg)
{
    vk_ne2k *s = ne2k_of(p);
    if (msg != NULL)
        *msg = s->fault_msg;
    return s->fault;
}

bool vk_ne2k_irq_line(vk_port *p)
{
    return irq_pending(ne2k_of(p));
}

bool vk_ne2k_is(const vk_port *p)
{
    return p != NULL && p->ops == &ne2k_ops;
}

/* ---- port and model ------------------------------------------------------ */

static void ne2k_cleanup(vk_port *p)
{
    vk_nic_unbind(p);
}

static const vk_port_ops ne2k_ops = {
    .kind = "nic",
    .receive = ne2k_receive,
    .can_receive = ne2k_can_receive,
    .cleanup = ne2k_cleanup,
    .describe = vk_nic_describe,
};

const char *const vk_ne2k_keys[] = {"rx-ring-pages", "rx-refill-delay", "guest-driver",
                                        NULL};

/* Linux's layout: 12 TX pages at 0x40, then the RX ring. */
#define NE2K_DRV_RX_START (VK_NE2K_FIRST_PAGE + 12)
#define NE2K_MIN_RING_PAGES 7 /* one maximal frame plus the page BNRY holds */

/* Reads the model keys (o may be NULL: all defaults). */
static int read_config(vk_opts *o, ne2k_config *c, vk_diag *d)
{
    *c = (ne2k_config){0x80 - NE2K_DRV_RX_START, 0};
    if (o == NULL)
        return VK_OK;
    uint64_t v;
    int r = vk_opts_get_uint(o, "rx-ring-pages", c->rx_pages, NE2K_MIN_RING_PAGES,
                             VK_NE2K_END_PAGE - NE2K_DRV_RX_START, &v, d);
    if (r != VK_OK)
        return r;
    c->rx_pages = (unsigned)v;
    return vk_nic_opts_refill_delay(o, &c->rx_refill_delay, d);
}

static void ne2k_init(vk_port *p, const vk_mac *mac, const ne2k_config *cfg)
{
    vk_ne2k *s = ne2k_of(p);
    s->port = p;
    s->nic.mac = *mac;
    s->cfg = *cfg;
    card_reset(s);
}

static int ne2k_create(vk_net *net, const char *model, const char *id, const vk_mac *mac,
                       vk_opts *o, vk_port **out, vk_diag *d)
{
    ne2k_config cfg;
    int r = read_config(o, &cfg, d);
    if (r != VK_OK)
        return r;
    vk_port *p;
    r = vk_port_new(net, &ne2k_ops, id, model, sizeof(vk_ne2k), &p, d);
    if (r != VK_OK)
        return r;
    /* from here on the net owns p and frees it with ne2k_cleanup */
    ne2k_init(p, mac, &cfg);
    *out = p;
    return VK_OK;
}

const vk_nic_card vk_ne2k_card = {ne2k_create};
