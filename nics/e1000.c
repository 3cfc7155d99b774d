/*
 * The e1000 card: an Intel 82540EM at register level, following QEMU's
 * hw/net/e1000.c (and e1000x_common.c) for what a guest can observe:
 * register reset values, the RX filter and its order, RX buffer sizes and
 * the long-frame limits, can_receive, descriptor write-back, interrupt
 * causes and read-to-clear statistics.  The facts come from QEMU and the
 * 8254x Software Developer's Manual; the code is ours.
 *
 * Where we differ from QEMU, on purpose:
 *   - every DMA goes through vk_gmem; an address outside guest memory puts
 *     the ring in an error state (see e1000.h) instead of being ignored;
 *   - TDH/TDT/RDH beyond the ring, or a zero ring length, make the card
 *     idle instead of processing one stray descriptor;
 *   - a TX chain longer than VK_FRAME_MAX is dropped (traced), not sent
 *     truncated; a TSO job is assembled whole and then cut by
 *     vk_offload_tso, which finds the headers by parsing them (HDRLEN must
 *     cover them) and always fills IP and TCP checksums, so an IPv6
 *     segment's payload length is right (QEMU stores the length from IPCSS,
 *     which counts the 40-byte IPv6 header too);
 *   - CTRL.RST resets the card as the SDM says (QEMU only clears the bit);
 *   - BPRC/MPRC count once per accepted frame, by destination type;
 *   - EECD grants EEPROM access only while REQ is set (QEMU always grants);
 *   - a frame refused by the VLAN filter is traced with its own reason.
 * The EEPROM reads through EERD and, as in QEMU, bit by bit through EECD.
 * The card runs synchronously: a TDT write transmits before it returns, and
 * receive() fills descriptors and raises the interrupt, whose handler (the
 * driver half) runs at once.
 */
#include "nics/e1000.h"

#include "core/error.h"
#include "core/net.h"
#include "nics/e1000_priv.h"
#include "wire/offload.h"
#include "wire/buf.h"
#include "wire/ethernet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define E1K_DEV_ID 0x100e /* 82540EM */
#define E1K_EEPROM_CHECKSUM_WORD 0x3f
#define E1K_EEPROM_SUM 0xbaba
#define E1K_RA_ENTRIES 16
#define E1K_MAX_VLAN_FRAME 1522     /* QEMU: longest frame without LPE */
#define E1K_MAX_LPE_FRAME (16 * 1024) /* QEMU: longest frame with LPE */
#define E1K_MIN_FRAME 60

/* Reset values QEMU gives these registers (mac_reg_init). */
#define E1K_CTRL_INIT (1u << 18 | 1u << 20 | 2u << 8 | VK_E1000_CTRL_SLU) /* SWDPIN0/2, SPD_1000 */
#define E1K_STATUS_INIT                                                                     \
    (0x80000000u | 1u << 19 | 3u << 8 | 1u << 10 | VK_E1000_STATUS_SPEED_1000 |             \
     VK_E1000_STATUS_FD | VK_E1000_STATUS_LU) /* GIO master, ASDV 1000, MTXCKOK */
/* EECD bits a write keeps (QEMU: SK, CS, DI, FWE, REQ); the rest are
 * the card's to report. */
#define E1K_EECD_FWE (3u << 4)
#define E1K_EECD_KEPT                                                                      \
    (VK_E1000_EECD_SK | VK_E1000_EECD_CS | VK_E1000_EECD_DI | E1K_EECD_FWE | VK_E1000_EECD_REQ)
#define E1K_EEPROM_READ_OPCODE 6 /* Microwire READ: start bit 1, then 10 */
#define E1K_EEPROM_CMD_BITS 9    /* 3 opcode bits + 6 address bits */
#define E1K_MDIC_READY (1u << 28)

/* The 82540EM EEPROM image QEMU starts from; words 0-2 get the MAC and
 * word 0x3f the checksum. */
static const uint16_t eeprom_template[E1K_EEPROM_WORDS] = {
    0x0000, 0x0000, 0x0000, 0x0000, 0xffff, 0x0000, 0x0000, 0x0000,
    0x3000, 0x1000, 0x6403, E1K_DEV_ID, 0x8086, E1K_DEV_ID, 0x8086, 0x3040,
    0x0008, 0x2000, 0x7e14, 0x0048, 0x1000, 0x00d8, 0x0000, 0x2700,
    0x6cc9, 0x3150, 0x0722, 0x040b, 0x0984, 0x0000, 0xc000, 0x0706,
    0x1008, 0x0000, 0x0f04, 0x7fff, 0x4d01, 0xffff, 0xffff, 0xffff,
    0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
    0x0100, 0x4000, 0x121c, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
    0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0x0000,
};

static const vk_port_ops e1k_ops;

static uint32_t *reg(vk_e1000 *s, uint32_t off)
{
    return &s->regs[off / 4];
}

/* ---- statistics ---------------------------------------------------------- */

/* Counters saturate instead of wrapping, as the hardware's do. */
static void stat_inc(vk_e1000 *s, uint32_t off)
{
    if (*reg(s, off) != UINT32_MAX)
        (*reg(s, off))++;
}

static void stat_grow64(vk_e1000 *s, uint32_t lo_off, uint64_t n)
{
    uint64_t v = (uint64_t)*reg(s, lo_off + 4) << 32 | *reg(s, lo_off);
    v = v + n < v ? UINT64_MAX : v + n;
    *reg(s, lo_off) = (uint32_t)v;
    *reg(s, lo_off + 4) = (uint32_t)(v >> 32);
}

/* PRC64..PRC1522 (base 0x405c) and PTC64..PTC1522 (base 0x40d8) buckets. */
static void stat_size(vk_e1000 *s, uint32_t base, size_t size)
{
    static const size_t upper[] = {64, 127, 255, 511, 1023};
    unsigned i = 0;
    while (i < 5 && size > upper[i])
        i++;
    if (size >= 64)
        stat_inc(s, base + 4 * i);
}

/* ---- interrupts ---------------------------------------------------------- */

static void irq_update(vk_e1000 *s)
{
    if ((*reg(s, VK_E1000_ICR) & *reg(s, VK_E1000_IMS)) != 0)
        vk_nic_raise_irq(s->port);
}

static void set_ics(vk_e1000 *s, uint32_t cause)
{
    *reg(s, VK_E1000_ICR) |= cause;
    irq_update(s);
}

/* ---- reset and EEPROM ---------------------------------------------------- */

static void eeprom_init(vk_e1000 *s)
{
    memcpy(s->eeprom, eeprom_template, sizeof s->eeprom);
    const uint8_t *m = s->nic.mac.b;
    for (int i = 0; i < 3; i++)
        s->eeprom[i] = (uint16_t)(m[2 * i] | m[2 * i + 1] << 8);
    uint16_t sum = 0;
    for (int i = 0; i < E1K_EEPROM_CHECKSUM_WORD; i++)
        sum = (uint16_t)(sum + s->eeprom[i]);
    s->eeprom[E1K_EEPROM_CHECKSUM_WORD] = (uint16_t)(E1K_EEPROM_SUM - sum);
}

/* Forgets the frame being assembled; the offload contexts stay, as they
 * do in the hardware until the next context descriptor. */
static void tx_frame_done(vk_e1000 *s)
{
    e1k_tx *t = &s->tx;
    t->size = 0;
    t->overflow = t->tse = t->vlan = t->legacy_ic = false;
    t->popts = 0;
}

static void reset_tx_assembly(vk_e1000 *s)
{
    uint8_t *data = s->tx.data;
    memset(&s->tx, 0, sizeof s->tx);
    s->tx.data = data;
}

static void card_reset(vk_e1000 *s)
{
    memset(s->regs, 0, sizeof s->regs);
    *reg(s, VK_E1000_CTRL) = E1K_CTRL_INIT;
    *reg(s, VK_E1000_STATUS) = E1K_STATUS_INIT;
    memset(&s->eecd, 0, sizeof s->eecd);
    *reg(s, VK_E1000_VET) = VK_ETHERTYPE_VLAN;
    const uint8_t *m = s->nic.mac.b;
    /* the hardware loads RA[0] from the EEPROM at reset */
    *reg(s, VK_E1000_RAL0) = (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 |
                             (uint32_t)m[3] << 24;
    *reg(s, VK_E1000_RAH0) = (uint32_t)m[4] | (uint32_t)m[5] << 8 | VK_E1000_RAH_AV;
    reset_tx_assembly(s);
    memset(&s->fault, 0, sizeof s->fault);
}

static uint32_t eerd_read(vk_e1000 *s)
{
    uint32_t v = *reg(s, VK_E1000_EERD);
    if (!(v & VK_E1000_EERD_START))
        return v;
    uint32_t index = (v >> VK_E1000_EERD_ADDR_SHIFT) & 0xff;
    if (index >= E1K_EEPROM_WORDS)
        return v | VK_E1000_EERD_DONE;
    return VK_E1000_EERD_DONE | index << VK_E1000_EERD_ADDR_SHIFT |
           (uint32_t)s->eeprom[index] << VK_E1000_EERD_DATA_SHIFT;
}

/* EECD written: the EEPROM sees its pins (QEMU's set_eecd).  Nothing
 * happens while CS is low; CS going high starts a new command; each rising
 * SK edge clocks DI in, each falling edge moves DO to the next bit.  Once
 * the 9 command bits are in, a READ points DO one bit before the word, so
 * that the falling edge that ends the command shows its MSB. */
static void eecd_write(vk_e1000 *s, uint32_t value)
{
    e1k_eecd *e = &s->eecd;
    uint32_t old = *reg(s, VK_E1000_EECD);
    *reg(s, VK_E1000_EECD) = value & E1K_EECD_KEPT;
    if (!(value & VK_E1000_EECD_CS))
        return;
    if ((value ^ old) & VK_E1000_EECD_CS)
        memset(e, 0, sizeof *e);
    if (!((value ^ old) & VK_E1000_EECD_SK))
        return;
    if (!(value & VK_E1000_EECD_SK)) {
        e->bitnum_out++; /* wraps from 0xffff to bit 0 of word 0, as QEMU's */
        return;
    }
    e->val_in = (uint16_t)(e->val_in << 1 | ((value & VK_E1000_EECD_DI) ? 1 : 0));
    if (e->bitnum_in >= E1K_EEPROM_CMD_BITS || ++e->bitnum_in < E1K_EEPROM_CMD_BITS ||
        e->reading)
        return;
    e->bitnum_out = (uint16_t)(((e->val_in & 0x3f) << 4) - 1);
    e->reading = ((e->val_in >> 6) & 7) == E1K_EEPROM_READ_OPCODE;
}

/* EECD read (QEMU's get_eecd): the kept bits, EEPROM present, the grant
 * when requested, and DO -- high whenever no read is in progress. */
static uint32_t eecd_read(vk_e1000 *s)
{
    const e1k_eecd *e = &s->eecd;
    uint32_t v = *reg(s, VK_E1000_EECD) | VK_E1000_EECD_PRES;
    if (v & VK_E1000_EECD_REQ)
        v |= VK_E1000_EECD_GNT;
    uint16_t word = s->eeprom[(e->bitnum_out >> 4) & 0x3f];
    if (!e->reading || ((word >> (15 - (e->bitnum_out & 0xf))) & 1))
        v |= VK_E1000_EECD_DO;
    return v;
}

/* ---- DMA ----------------------------------------------------------------- */

static bool dma_read(vk_e1000 *s, bool tx, uint64_t addr, void *dst, size_t len)
{
    return vk_gmem_dma_read(&s->mem, &s->fault, "e1000", tx, addr, dst, len);
}

static bool dma_write(vk_e1000 *s, bool tx, uint64_t addr, const void *src, size_t len)
{
    return vk_gmem_dma_write(&s->mem, &s->fault, "e1000", tx, addr, src, len);
}

static uint64_t ring_base(vk_e1000 *s, uint32_t bal, uint32_t bah)
{
    return (uint64_t)*reg(s, bah) << 32 | (*reg(s, bal) & ~0xfu);
}

static uint32_t ring_count(vk_e1000 *s, uint32_t len_off)
{
    return *reg(s, len_off) / VK_E1000_DESC_SIZE;
}

/* ---- RX ------------------------------------------------------------------ */

static size_t rx_buf_size(uint32_t rctl)
{
    uint32_t bsize = (rctl >> VK_E1000_RCTL_BSIZE_SHIFT) & 3;
    if (rctl & VK_E1000_RCTL_BSEX) {
        static const size_t ext[] = {2048, 16384, 8192, 4096}; /* BSEX with 00 is reserved */
        return ext[bsize];
    }
    static const size_t std[] = {2048, 1024, 512, 256};
    return std[bsize];
}

static size_t rx_fcs_len(vk_e1000 *s)
{
    return (*reg(s, VK_E1000_RCTL) & VK_E1000_RCTL_SECRC) ? 0 : 4;
}

static bool rx_ready(vk_e1000 *s)
{
    return (*reg(s, VK_E1000_STATUS) & VK_E1000_STATUS_LU) &&
           (*reg(s, VK_E1000_RCTL) & VK_E1000_RCTL_EN);
}

/* QEMU's e1000_has_rxbufs: are there descriptors for total_size bytes? */
static bool rx_has_bufs(vk_e1000 *s, size_t total_size)
{
    uint32_t rdh = *reg(s, VK_E1000_RDH), rdt = *reg(s, VK_E1000_RDT);
    size_t bufsize = rx_buf_size(*reg(s, VK_E1000_RCTL));
    if (total_size <= bufsize)
        return rdh != rdt;
    uint64_t bufs;
    if (rdh < rdt)
        bufs = rdt - rdh;
    else if (rdh > rdt)
        bufs = (uint64_t)ring_count(s, VK_E1000_RDLEN) + rdt - rdh;
    else
        return false;
    return total_size <= bufs * bufsize;
}

static bool e1k_can_receive(vk_port *p)
{
    vk_e1000 *s = e1k_of(p);
    return rx_ready(s) && rx_has_bufs(s, 1);
}

static bool is_vlan_frame(vk_e1000 *s, const uint8_t *buf)
{
    return vk_get_be16(buf + 12) == (uint16_t)*reg(s, VK_E1000_VET);
}

static bool rx_vlan_filter_ok(vk_e1000 *s, const uint8_t *buf)
{
    if (!(*reg(s, VK_E1000_RCTL) & VK_E1000_RCTL_VFE) || !is_vlan_frame(s, buf))
        return true;
    uint16_t vid = vk_get_be16(buf + 14) & 0x0fff;
    return (*reg(s, VK_E1000_VFTA + 4 * (vid >> 5)) >> (vid & 31)) & 1;
}

static bool rx_exact_match(vk_e1000 *s, const uint8_t *dst)
{
    for (unsigned i = 0; i < E1K_RA_ENTRIES; i++) {
        uint32_t ral = *reg(s, VK_E1000_RAL0 + 8 * i), rah = *reg(s, VK_E1000_RAH0 + 8 * i);
        if (!(rah & VK_E1000_RAH_AV))
            continue;
        uint8_t ra[6] = {(uint8_t)ral, (uint8_t)(ral >> 8), (uint8_t)(ral >> 16),
                         (uint8_t)(ral >> 24), (uint8_t)rah, (uint8_t)(rah >> 8)};
        if (memcmp(dst, ra, 6) == 0)
            return true;
    }
    return false;
}

/* The inexact filter: 12 bits of the destination, chosen by RCTL.MO, index
 * one bit of the 4096-bit MTA.  QEMU applies it to unicast too. */
static bool rx_hash_match(vk_e1000 *s, const uint8_t *dst)
{
    static const unsigned mo_shift[] = {4, 3, 2, 0};
    unsigned shift = mo_shift[(*reg(s, VK_E1000_RCTL) >> VK_E1000_RCTL_MO_SHIFT) & 3];
    uint32_t h = ((uint32_t)(dst[5] << 8 | dst[4]) >> shift) & 0xfff;
    return (*reg(s, VK_E1000_MTA + 4 * (h >> 5)) >> (h & 31)) & 1;
}

/* QEMU's receive_filter, in its order (a broadcast is also a multicast). */
static bool rx_address_ok(vk_e1000 *s, const uint8_t *buf)
{
    uint32_t rctl = *reg(s, VK_E1000_RCTL);
    const vk_mac *dst = (const vk_mac *)buf;
    bool bcast = vk_mac_is_broadcast(dst), mcast = vk_mac_is_multicast(dst);
    if (!mcast && (rctl & VK_E1000_RCTL_UPE))
        return true;
    if (mcast && (rctl & VK_E1000_RCTL_MPE))
        return true;
    if (bcast && (rctl & VK_E1000_RCTL_BAM))
        return true;
    return rx_exact_match(s, buf) || rx_hash_match(s, buf);
}

/* NULL when the frame passes, else the drop reason.  The VLAN filter comes
 * first and even promiscuous modes do not bypass it, as in QEMU. */
static const char *rx_filter(vk_e1000 *s, const uint8_t *buf)
{
    if (!rx_vlan_filter_ok(s, buf))
        return "e1000 RX filter: VLAN id not in VFTA (RCTL.VFE)";
    if (!rx_address_ok(s, buf))
        return "e1000 RX filter: not for us";
    return NULL;
}

static bool rx_oversized(vk_e1000 *s, size_t size)
{
    uint32_t rctl = *reg(s, VK_E1000_RCTL);
    if (rctl & VK_E1000_RCTL_SBP)
        return false;
    return size > E1K_MAX_LPE_FRAME ||
           (size > E1K_MAX_VLAN_FRAME && !(rctl & VK_E1000_RCTL_LPE));
}

static void rx_overrun(vk_e1000 *s)
{
    stat_inc(s, VK_E1000_RNBC);
    stat_inc(s, VK_E1000_MPC);
    set_ics(s, VK_E1000_ICR_RXO);
}

/* One frame as the card will write it: data (possibly a stripped copy),
 * size, and the VLAN fields for the descriptors. */
typedef struct rx_pkt {
    const uint8_t *data;
    size_t size;
    uint16_t special;
    uint8_t vlan_status;
} rx_pkt;

/* Writes descriptor `idx` for bytes [off, off + desc_size) of the frame;
 * false on a DMA fault.  *used tells whether the descriptor took data
 * (a descriptor with a null buffer is skipped, as the SDM says). */
static bool rx_fill_desc(vk_e1000 *s, uint32_t idx, const rx_pkt *pk, size_t off,
                         size_t total, bool *used)
{
    uint64_t base = ring_base(s, VK_E1000_RDBAL, VK_E1000_RDBAH) +
                    (uint64_t)idx * VK_E1000_DESC_SIZE;
    uint8_t d[VK_E1000_DESC_SIZE];
    if (!dma_read(s, false, base, d, sizeof d))
        return false;
    uint64_t addr = 0;
    for (int i = 7; i >= 0; i--)
        addr = addr << 8 | d[i];
    size_t bufsize = rx_buf_size(*reg(s, VK_E1000_RCTL));
    size_t desc_size = total - off < bufsize ? total - off : bufsize;
    uint8_t status = 0;
    *used = addr != 0;
    if (*used) {
        if (off < pk->size) {
            size_t n = pk->size - off < bufsize ? pk->size - off : bufsize;
            if (!dma_write(s, false, addr, pk->data + off, n))
                return false;
        }
        d[8] = (uint8_t)desc_size;
        d[9] = (uint8_t)(desc_size >> 8);
        if (off + desc_size >= total)
            status = VK_E1000_RXD_STAT_EOP | VK_E1000_RXD_STAT_IXSM;
    }
    d[10] = d[11] = 0; /* packet checksum: not offered */
    d[13] = 0;         /* errors */
    d[14] = (uint8_t)pk->special;
    d[15] = (uint8_t)(pk->special >> 8);
    /* status (with DD) last, so a driver never sees DD before the data */
    d[12] = 0;
    if (!dma_write(s, false, base, d, sizeof d))
        return false;
    status |= pk->vlan_status | VK_E1000_RXD_STAT_DD;
    return dma_write(s, false, base + 12, &status, 1);
}

/* Walks the ring from RDH; false when the frame could not be stored (the
 * ring wrapped onto itself, or a DMA fault). */
static bool rx_store(vk_e1000 *s, const rx_pkt *pk, size_t total)
{
    uint32_t count = ring_count(s, VK_E1000_RDLEN);
    uint32_t start = *reg(s, VK_E1000_RDH);
    if (count == 0 || start >= count) {
        rx_overrun(s);
        return false;
    }
    size_t off = 0;
    do {
        bool used;
        uint32_t rdh = *reg(s, VK_E1000_RDH);
        if (!rx_fill_desc(s, rdh, pk, off, total, &used))
            return false;
        if (used) {
            size_t bufsize = rx_buf_size(*reg(s, VK_E1000_RCTL));
            off += total - off < bufsize ? total - off : bufsize;
        }
        *reg(s, VK_E1000_RDH) = rdh + 1 >= count ? 0 : rdh + 1;
        if (*reg(s, VK_E1000_RDH) == start) {
            rx_overrun(s);
            return false;
        }
    } while (off < total);
    return true;
}

static void rx_count_stats(vk_e1000 *s, const uint8_t *buf, size_t size, size_t total)
{
    const vk_mac *dst = (const vk_mac *)buf;
    stat_size(s, 0x405c, total);
    stat_inc(s, VK_E1000_TPR);
    stat_inc(s, VK_E1000_GPRC);
    if (vk_mac_is_broadcast(dst))
        stat_inc(s, VK_E1000_BPRC);
    else if (vk_mac_is_multicast(dst))
        stat_inc(s, VK_E1000_MPRC);
    stat_grow64(s, VK_E1000_TORL, size + 4);
    stat_grow64(s, VK_E1000_GORCL, size + 4);
}

/* RXT0 always; RXDMT0 when the free descriptors fall to the RDMTS fraction. */
static uint32_t rx_causes(vk_e1000 *s)
{
    uint32_t cause = VK_E1000_ICR_RXT0;
    uint32_t count = ring_count(s, VK_E1000_RDLEN);
    uint64_t rdh = *reg(s, VK_E1000_RDH), rdt = *reg(s, VK_E1000_RDT);
    if (rdt < rdh)
        rdt += count;
    unsigned min_shift = ((*reg(s, VK_E1000_RCTL) >> VK_E1000_RCTL_RDMTS_SHIFT) & 3) + 1;
    if ((rdt - rdh) * VK_E1000_DESC_SIZE <= (*reg(s, VK_E1000_RDLEN) >> min_shift))
        cause |= VK_E1000_ICR_RXDMT0;
    return cause;
}

/* Strips the tag the card is told to strip (CTRL.VME); *copy is freed by
 * the caller. */
static int rx_strip_vlan(vk_e1000 *s, rx_pkt *pk, uint8_t **copy)
{
    *copy = NULL;
    if (!(*reg(s, VK_E1000_CTRL) & VK_E1000_CTRL_VME) || !is_vlan_frame(s, pk->data) ||
        pk->size < VK_ETH_VLAN_HLEN)
        return VK_OK;
    uint8_t *c = malloc(pk->size - 4);
    if (c == NULL)
        return VK_ENOMEM;
    memcpy(c, pk->data, 12);
    memcpy(c + 12, pk->data + 16, pk->size - 16);
    /* the descriptor's special field is little endian, the tag big endian */
    pk->special = vk_get_be16(pk->data + 14);
    pk->vlan_status = VK_E1000_RXD_STAT_VP;
    pk->data = c;
    pk->size -= 4;
    *copy = c;
    return VK_OK;
}

static int e1k_receive(vk_port *p, vk_frame *f)
{
    vk_e1000 *s = e1k_of(p);
    uint8_t min_buf[E1K_MIN_FRAME];
    rx_pkt pk = {f->data, f->len, 0, 0};
    if (s->fault.rx) {
        vk_port_drop(p, f, "e1000 RX ring in DMA error state");
        return VK_EDROP;
    }
    if (pk.size < E1K_MIN_FRAME) { /* QEMU pads short frames with zeros */
        memset(min_buf, 0, sizeof min_buf);
        memcpy(min_buf, f->data, f->len);
        pk.data = min_buf;
        pk.size = sizeof min_buf;
    }
    if (rx_oversized(s, pk.size)) {
        stat_inc(s, VK_E1000_ROC);
        vk_port_drop(p, f, "e1000 RX: frame too long (RCTL.LPE)");
        return VK_EDROP;
    }
    const char *refused = rx_filter(s, pk.data);
    if (refused != NULL) {
        vk_port_drop(p, f, refused);
        return VK_EDROP;
    }
    const uint8_t *orig = pk.data;
    size_t orig_size = pk.size;
    uint8_t *copy;
    if (rx_strip_vlan(s, &pk, &copy) != VK_OK) {
        vk_port_drop(p, f, "out of memory");
        return VK_ENOMEM;
    }
    size_t total = pk.size + rx_fcs_len(s);
    int r = VK_OK;
    if (!rx_has_bufs(s, total)) {
        rx_overrun(s);
        r = VK_EAGAIN;
    } else if (!rx_store(s, &pk, total)) {
        r = s->fault.rx ? VK_ERANGE : VK_EAGAIN;
    }
    free(copy);
    if (r != VK_OK) {
        vk_port_drop(p, f, r == VK_ERANGE ? "e1000 RX DMA outside guest memory"
                                          : "e1000 RX: no receive buffers");
        return r;
    }
    rx_count_stats(s, orig, orig_size, total);
    set_ics(s, rx_causes(s));
    return VK_OK;
}

/* ---- TX ------------------------------------------------------------------ */

static void tx_count_stats(vk_e1000 *s, const uint8_t *buf, size_t len)
{
    const vk_mac *dst = (const vk_mac *)buf;
    stat_size(s, 0x40d8, len + 4);
    stat_inc(s, VK_E1000_TPT);
    stat_inc(s, VK_E1000_GPTC);
    if (vk_mac_is_broadcast(dst))
        stat_inc(s, VK_E1000_BPTC);
    else if (vk_mac_is_multicast(dst))
        stat_inc(s, VK_E1000_MPTC);
    stat_grow64(s, VK_E1000_TOTL, len + 4);
    stat_grow64(s, VK_E1000_GOTCL, len + 4);
}

/* Puts one finished frame on the wire: VLAN tag inserted, short frames
 * padded (TCTL.PSP), then to the peer -- or back into our own receive path
 * in MAC loopback (RCTL.LBM = 01). */
static void tx_send_one(vk_e1000 *s, const uint8_t *data, size_t len)
{
    size_t tag = s->tx.vlan && len >= 12 ? 4 : 0;
    size_t out = len + tag;
    if ((*reg(s, VK_E1000_TCTL) & VK_E1000_TCTL_PSP) && out < E1K_MIN_FRAME)
        out = E1K_MIN_FRAME;
    vk_frame *f = vk_frame_new(NULL, out);
    if (f == NULL) {
        vk_port_drop_outbound_bytes(s->port, data, len, "e1000 TX: frame too long");
        return;
    }
    if (tag) {
        memcpy(f->data, data, 12);
        vk_put_be16(f->data + 12, (uint16_t)*reg(s, VK_E1000_VET));
        vk_put_be16(f->data + 14, s->tx.vlan_tci);
        memcpy(f->data + 16, data + 12, len - 12);
    } else {
        memcpy(f->data, data, len);
    }
    if (out >= 6)
        tx_count_stats(s, f->data, out);
    if (((*reg(s, VK_E1000_RCTL) >> 6) & 3) == 1)
        vk_port_deliver(s->port, f);
    else
        vk_port_send(s->port, f);
    vk_frame_unref(f);
}

static void tx_emit_segment(void *arg, const uint8_t *seg, size_t len)
{
    tx_send_one(arg, seg, len);
}

/* QEMU's putsum: checksum from css to cse (0: end of frame) stored at sloc.
 * A field outside that range is left alone, as the card does. */
static void tx_put_sum(uint8_t *data, size_t size, size_t sloc, size_t css, size_t cse,
                       vk_csum_zero zero)
{
    size_t n = size;
    if (cse != 0 && cse < n)
        n = cse + 1;
    if (sloc >= css && sloc + 2 <= n)
        (void)vk_offload_csum(data, n, css, sloc - css, zero);
}

static void tx_xmit_tso(vk_e1000 *s)
{
    const e1k_tx_ctx *c = &s->tx.tso_ctx;
    if (s->tx.size < c->hdr_len || c->mss == 0) {
        vk_port_drop_outbound_bytes(s->port, s->tx.data, s->tx.size,
                                    "e1000 TX: bad TSO context (HDRLEN/MSS)");
        return;
    }
    int n = vk_offload_tso(s->tx.data, s->tx.size, c->hdr_len, c->mss, s->nic.tso_zero,
                           tx_emit_segment, s);
    if (n < 0)
        vk_port_drop_outbound_bytes(s->port, s->tx.data, s->tx.size,
                                    "e1000 TX: TSO job is not IPv4/IPv6 TCP");
    else if (n > 1)
        stat_inc(s, VK_E1000_TSCTC);
}

static void tx_xmit(vk_e1000 *s)
{
    e1k_tx *t = &s->tx;
    if (t->overflow) {
        vk_port_drop_outbound_bytes(s->port, t->data, t->size,
                                    "e1000 TX: descriptor chain longer than VK_FRAME_MAX");
        return;
    }
    if (t->size == 0)
        return;
    if (t->tse) {
        tx_xmit_tso(s);
        return;
    }
    if (t->popts & VK_E1000_TXD_POPTS_TXSM)
        tx_put_sum(t->data, t->size, t->ctx.tucso, t->ctx.tucss, t->ctx.tucse, s->nic.csum_zero);
    if (t->popts & VK_E1000_TXD_POPTS_IXSM)
        tx_put_sum(t->data, t->size, t->ctx.ipcso, t->ctx.ipcss, t->ctx.ipcse, s->nic.csum_zero);
    if (t->legacy_ic)
        tx_put_sum(t->data, t->size, t->legacy_cso, t->legacy_css, 0, s->nic.csum_zero);
    tx_send_one(s, t->data, t->size);
}

static void tx_read_context(const uint8_t *d, e1k_tx_ctx *c)
{
    uint32_t cmd = (uint32_t)d[8] | (uint32_t)d[9] << 8 | (uint32_t)d[10] << 16 |
                   (uint32_t)d[11] << 24;
    c->ipcss = d[0];
    c->ipcso = d[1];
    c->ipcse = (uint16_t)(d[2] | d[3] << 8);
    c->tucss = d[4];
    c->tucso = d[5];
    c->tucse = (uint16_t)(d[6] | d[7] << 8);
    c->paylen = cmd & 0xfffff;
    c->tcp = (cmd & VK_E1000_TXD_CMD_TCP) != 0;
    c->ip = (cmd & VK_E1000_TXD_CMD_IP) != 0;
    c->hdr_len = d[13];
    c->mss = (uint16_t)(d[14] | d[15] << 8);
}

/* Appends a data buffer to the frame being assembled. */
static bool tx_append(vk_e1000 *s, uint64_t addr, size_t len)
{
    e1k_tx *t = &s->tx;
    if (len == 0 || t->overflow)
        return true;
    if (len > VK_FRAME_MAX - t->size) {
        t->overflow = true;
        return true;
    }
    if (!dma_read(s, true, addr, t->data + t->size, len))
        return false;
    t->size += len;
    return true;
}

/* Legacy descriptors: CSO/CSS checksum when IC is set (from the first
 * descriptor of the frame that asks for it). */
static void tx_legacy_fields(vk_e1000 *s, uint32_t lower, uint32_t upper)
{
    e1k_tx *t = &s->tx;
    t->tse = false;
    if ((lower & VK_E1000_TXD_CMD_IC) && !t->legacy_ic) {
        t->legacy_ic = true;
        t->legacy_cso = (uint8_t)(lower >> 16);
        t->legacy_css = (uint8_t)(upper >> 8);
    }
}

/* Returns false on a DMA fault. */
static bool tx_process_desc(vk_e1000 *s, const uint8_t *d)
{
    e1k_tx *t = &s->tx;
    uint64_t addr = 0;
    for (int i = 7; i >= 0; i--)
        addr = addr << 8 | d[i];
    uint32_t lower = (uint32_t)d[8] | (uint32_t)d[9] << 8 | (uint32_t)d[10] << 16 |
                     (uint32_t)d[11] << 24;
    uint32_t upper = (uint32_t)d[12] | (uint32_t)d[13] << 8 | (uint32_t)d[14] << 16 |
                     (uint32_t)d[15] << 24;
    uint32_t dtype = lower & (VK_E1000_TXD_CMD_DEXT | VK_E1000_TXD_DTYP_D);
    size_t len;
    if (dtype == VK_E1000_TXD_CMD_DEXT) {
        tx_read_context(d, (lower & VK_E1000_TXD_CMD_TSE) ? &t->tso_ctx : &t->ctx);
        return true;
    }
    if (dtype == (VK_E1000_TXD_CMD_DEXT | VK_E1000_TXD_DTYP_D)) {
        if (t->size == 0)
            t->popts = (uint8_t)(upper >> 8);
        t->tse = (lower & VK_E1000_TXD_CMD_TSE) != 0;
        len = lower & 0xfffff;
    } else {
        tx_legacy_fields(s, lower, upper);
        len = lower & 0xffff;
    }
    if ((*reg(s, VK_E1000_CTRL) & VK_E1000_CTRL_VME) && (lower & VK_E1000_TXD_CMD_VLE) &&
        (t->tse || (lower & VK_E1000_TXD_CMD_EOP))) {
        t->vlan = true;
        t->vlan_tci = (uint16_t)(upper >> 16);
    }
    if (!tx_append(s, addr, len))
        return false;
    if (lower & VK_E1000_TXD_CMD_EOP) {
        tx_xmit(s);
        tx_frame_done(s);
    }
    return true;
}

/* Sets DD in a descriptor that asked for status (RS/RPS); returns the
 * interrupt cause it earns. */
static uint32_t tx_writeback(vk_e1000 *s, uint64_t base, const uint8_t *d)
{
    uint32_t lower = (uint32_t)d[8] | (uint32_t)d[9] << 8 | (uint32_t)d[10] << 16 |
                     (uint32_t)d[11] << 24;
    if (!(lower & (VK_E1000_TXD_CMD_RS | VK_E1000_TXD_CMD_RPS)))
        return 0;
    /* DD set; excess collisions, late collision, underrun cleared */
    uint8_t status = (uint8_t)((d[12] | VK_E1000_TXD_STAT_DD) & ~0x0eu);
    if (!dma_write(s, true, base + 12, &status, 1))
        return 0;
    return VK_E1000_ICR_TXDW;
}

/* Processes descriptors from TDH to TDT (QEMU's start_xmit).  At most one
 * lap of the ring per call, as QEMU, so bogus TDT values cannot spin. */
static void tx_run(vk_e1000 *s)
{
    uint32_t count = ring_count(s, VK_E1000_TDLEN);
    uint32_t start = *reg(s, VK_E1000_TDH);
    uint32_t cause = VK_E1000_ICR_TXQE;
    if (count == 0 || start >= count || *reg(s, VK_E1000_TDT) >= count)
        return;
    uint64_t base = ring_base(s, VK_E1000_TDBAL, VK_E1000_TDBAH);
    while (*reg(s, VK_E1000_TDH) != *reg(s, VK_E1000_TDT) && !s->fault.tx) {
        uint32_t tdh = *reg(s, VK_E1000_TDH);
        uint64_t addr = base + (uint64_t)tdh * VK_E1000_DESC_SIZE;
        uint8_t d[VK_E1000_DESC_SIZE];
        if (!dma_read(s, true, addr, d, sizeof d) || !tx_process_desc(s, d))
            break;
        cause |= tx_writeback(s, addr, d);
        *reg(s, VK_E1000_TDH) = tdh + 1 >= count ? 0 : tdh + 1;
        if (*reg(s, VK_E1000_TDH) == start)
            break;
    }
    set_ics(s, cause);
}

/* A TDT write made from inside a transmit (the driver's RX handler answering
 * a looped-back frame) only asks for another round, so the card never runs
 * recursively; rounds are bounded so a guest that answers forever cannot
 * hang the run (what is left goes out on its next TDT write). */
#define E1K_TX_MAX_ROUNDS 1024

static void tx_start(vk_e1000 *s)
{
    if (!(*reg(s, VK_E1000_TCTL) & VK_E1000_TCTL_EN) || s->fault.tx)
        return;
    if (s->in_tx) {
        s->tx_kick = true;
        return;
    }
    s->in_tx = true;
    unsigned rounds = 0;
    do {
        s->tx_kick = false;
        tx_run(s);
    } while (s->tx_kick && !s->fault.tx && ++rounds < E1K_TX_MAX_ROUNDS);
    s->in_tx = false;
}

/* ---- register access ----------------------------------------------------- */

/* The handlers of the register table below (QEMU's macreg_readops and
 * macreg_writeops): each gets the offset it was reached by, so one handler
 * serves a run of alike registers. */

static uint32_t read_plain(vk_e1000 *s, uint32_t off)
{
    return *reg(s, off);
}

static void write_plain(vk_e1000 *s, uint32_t off, uint32_t value)
{
    *reg(s, off) = value;
}

/* RDH, TDH and VET keep 16 bits. */
static void write_16bit(vk_e1000 *s, uint32_t off, uint32_t value)
{
    *reg(s, off) = value & 0xffff;
}

/* A statistics register: reading clears it.  The low halves of the 64-bit
 * octet counters are the exception: reading the high half clears both. */
static bool is_stat_low_half(uint32_t off)
{
    return off == VK_E1000_GORCL || off == VK_E1000_GOTCL || off == VK_E1000_TORL ||
           off == VK_E1000_TOTL;
}

static bool is_stat_high_half(uint32_t off)
{
    return off == VK_E1000_GORCH || off == VK_E1000_GOTCH || off == VK_E1000_TORH ||
           off == VK_E1000_TOTH;
}

static uint32_t read_stat(vk_e1000 *s, uint32_t off)
{
    uint32_t v = *reg(s, off);
    if (is_stat_low_half(off))
        return v;
    *reg(s, off) = 0;
    if (is_stat_high_half(off))
        *reg(s, off - 4) = 0;
    return v;
}

static uint32_t read_eerd(vk_e1000 *s, uint32_t off)
{
    (void)off;
    return eerd_read(s);
}

static uint32_t read_eecd(vk_e1000 *s, uint32_t off)
{
    (void)off;
    return eecd_read(s);
}

static void write_eecd(vk_e1000 *s, uint32_t off, uint32_t value)
{
    (void)off;
    eecd_write(s, value);
}

static void write_ctrl(vk_e1000 *s, uint32_t off, uint32_t value)
{
    if (value & VK_E1000_CTRL_RST) {
        card_reset(s);
        return;
    }
    *reg(s, off) = value;
}

/* No PHY model: every MDI access completes at once, reading 0. */
static void write_mdic(vk_e1000 *s, uint32_t off, uint32_t value)
{
    *reg(s, off) = (value & ~0xffffu & ~E1K_MDIC_READY) | E1K_MDIC_READY;
}

/* ICR clears on read; a write clears the bits written as 1. */
static uint32_t read_icr(vk_e1000 *s, uint32_t off)
{
    uint32_t v = *reg(s, off);
    *reg(s, off) = 0;
    return v;
}

static void write_icr(vk_e1000 *s, uint32_t off, uint32_t value)
{
    *reg(s, off) &= ~value;
}

/* Reads of ICS return ICR without clearing it. */
static uint32_t read_ics(vk_e1000 *s, uint32_t off)
{
    (void)off;
    return *reg(s, VK_E1000_ICR);
}

static void write_ics(vk_e1000 *s, uint32_t off, uint32_t value)
{
    (void)off;
    set_ics(s, value);
}

static void write_ims(vk_e1000 *s, uint32_t off, uint32_t value)
{
    *reg(s, off) |= value;
    irq_update(s);
}

static void write_imc(vk_e1000 *s, uint32_t off, uint32_t value)
{
    (void)off;
    *reg(s, VK_E1000_IMS) &= ~value;
}

/* Writes that change whether the card can receive end with a flush, so the
 * frames the core queued for us enter now (QEMU: qemu_flush_queued_packets). */
static void rx_maybe_flush(vk_e1000 *s)
{
    if (e1k_can_receive(s->port))
        vk_port_flush(s->port);
}

static void write_rctl(vk_e1000 *s, uint32_t off, uint32_t value)
{
    *reg(s, off) = value;
    rx_maybe_flush(s);
}

/* The ring a base or length register belongs to: reprogramming the ring
 * clears its DMA fault. */
static bool *ring_fault(vk_e1000 *s, uint32_t off)
{
    return off >= VK_E1000_TDBAL ? &s->fault.tx : &s->fault.rx;
}

/* RDBAL/RDBAH, TDBAL/TDBAH. */
static void write_ring_base(vk_e1000 *s, uint32_t off, uint32_t value)
{
    *reg(s, off) = value;
    *ring_fault(s, off) = false;
}

/* RDLEN, TDLEN: a multiple of 128 bytes. */
static void write_ring_len(vk_e1000 *s, uint32_t off, uint32_t value)
{
    *reg(s, off) = value & 0xfff80;
    *ring_fault(s, off) = false;
}

static void write_rdt(vk_e1000 *s, uint32_t off, uint32_t value)
{
    *reg(s, off) = value & 0xffff;
    rx_maybe_flush(s);
}

/* TCTL and TDT start the transmitter. */
static void write_tctl(vk_e1000 *s, uint32_t off, uint32_t value)
{
    *reg(s, off) = value;
    tx_start(s);
}

static void write_tdt(vk_e1000 *s, uint32_t off, uint32_t value)
{
    *reg(s, off) = value & 0xffff;
    tx_start(s);
}

/* One row per register (span counted in bytes, 4 per register), sorted by
 * offset.  A NULL read reads as 0 (IMC), a NULL write is ignored (STATUS,
 * the statistics); offsets without a row do both. */
typedef struct e1k_reg {
    vk_nic_reg_span span;
    uint32_t (*read)(vk_e1000 *s, uint32_t off);
    void (*write)(vk_e1000 *s, uint32_t off, uint32_t value);
} e1k_reg;

static const e1k_reg e1k_regs[] = {
    {{VK_E1000_CTRL, 4}, read_plain, write_ctrl},
    {{VK_E1000_STATUS, 4}, read_plain, NULL},
    {{VK_E1000_EECD, 4}, read_eecd, write_eecd},
    {{VK_E1000_EERD, 4}, read_eerd, write_plain},
    {{VK_E1000_CTRL_EXT, 4}, read_plain, write_plain},
    {{VK_E1000_MDIC, 4}, read_plain, write_mdic},
    {{VK_E1000_VET, 4}, read_plain, write_16bit},
    {{VK_E1000_ICR, 4}, read_icr, write_icr},
    {{VK_E1000_ITR, 4}, read_plain, write_plain},
    {{VK_E1000_ICS, 4}, read_ics, write_ics},
    {{VK_E1000_IMS, 4}, read_plain, write_ims},
    {{VK_E1000_IMC, 4}, NULL, write_imc},
    {{VK_E1000_RCTL, 4}, read_plain, write_rctl},
    {{VK_E1000_TCTL, 4}, read_plain, write_tctl},
    {{VK_E1000_TIPG, 4}, read_plain, write_plain},
    {{VK_E1000_RDBAL, 8}, read_plain, write_ring_base}, /* RDBAL, RDBAH */
    {{VK_E1000_RDLEN, 4}, read_plain, write_ring_len},
    {{VK_E1000_RDH, 4}, read_plain, write_16bit},
    {{VK_E1000_RDT, 4}, read_plain, write_rdt},
    {{VK_E1000_RDTR, 4}, read_plain, write_plain},
    {{VK_E1000_RADV, 4}, read_plain, write_plain},
    {{VK_E1000_TDBAL, 8}, read_plain, write_ring_base}, /* TDBAL, TDBAH */
    {{VK_E1000_TDLEN, 4}, read_plain, write_ring_len},
    {{VK_E1000_TDH, 4}, read_plain, write_16bit},
    {{VK_E1000_TDT, 4}, read_plain, write_tdt},
    {{VK_E1000_TIDV, 4}, read_plain, write_plain},
    {{VK_E1000_TADV, 4}, read_plain, write_plain},
    {{VK_E1000_CRCERRS, 64 * 4}, read_stat, NULL}, /* CRCERRS .. 0x40fc */
    {{VK_E1000_MTA, 128 * 4}, read_plain, write_plain},
    {{VK_E1000_RAL0, 2 * E1K_RA_ENTRIES * 4}, read_plain, write_plain},
    {{VK_E1000_VFTA, 128 * 4}, read_plain, write_plain},
};

#define E1K_NROWS (sizeof e1k_regs / sizeof e1k_regs[0])

static const e1k_reg *reg_row(const vk_e1000 *s, uint32_t offset)
{
    if ((offset & 3) != 0 || offset >= sizeof s->regs)
        return NULL;
    return vk_nic_reg_find(e1k_regs, E1K_NROWS, sizeof e1k_regs[0], offset);
}

bool vk_e1000_reg_table_ok(void)
{
    return vk_nic_reg_table_ok(e1k_regs, E1K_NROWS, sizeof e1k_regs[0]);
}

uint32_t vk_e1000_mmio_read(vk_port *p, uint32_t offset)
{
    vk_e1000 *s = e1k_of(p);
    const e1k_reg *r = reg_row(s, offset);
    return r != NULL && r->read != NULL ? r->read(s, offset) : 0;
}

void vk_e1000_mmio_write(vk_port *p, uint32_t offset, uint32_t value)
{
    vk_e1000 *s = e1k_of(p);
    const e1k_reg *r = reg_row(s, offset);
    if (r != NULL && r->write != NULL)
        r->write(s, offset, value);
}

/* ---- public queries ------------------------------------------------------ */

vk_gmem *vk_e1000_gmem(vk_port *p)
{
    return &e1k_of(p)->mem;
}

bool vk_e1000_error(vk_port *p, const char **msg)
{
    return vk_dma_fault_report(&e1k_of(p)->fault, msg);
}

bool vk_e1000_irq_line(vk_port *p)
{
    vk_e1000 *s = e1k_of(p);
    return (*reg(s, VK_E1000_ICR) & *reg(s, VK_E1000_IMS)) != 0;
}

bool vk_e1000_is(const vk_port *p)
{
    return p != NULL && p->ops == &e1k_ops;
}

/* ---- port and model ------------------------------------------------------ */

/* set_link: STATUS.LU follows the link and the driver hears of it through
 * a link status change interrupt (QEMU's set_phy_ctrl/e1000_link_down). */
static void e1k_link_changed(vk_port *p)
{
    vk_e1000 *s = e1k_of(p);
    if (p->link_down)
        *reg(s, VK_E1000_STATUS) &= ~(uint32_t)VK_E1000_STATUS_LU;
    else
        *reg(s, VK_E1000_STATUS) |= VK_E1000_STATUS_LU;
    set_ics(s, VK_E1000_ICR_LSC);
}

static void e1k_cleanup(vk_port *p)
{
    vk_e1000 *s = e1k_of(p);
    vk_nic_unbind(p);
    free(s->tx.data);
    s->tx.data = NULL;
    vk_gmem_destroy(&s->mem);
}

static const vk_port_ops e1k_ops = {
    .kind = "nic",
    .receive = e1k_receive,
    .can_receive = e1k_can_receive,
    .cleanup = e1k_cleanup,
    .describe = vk_nic_describe,
    .link_changed = e1k_link_changed,
};

const char *const vk_e1000_keys[] = {"rx-ring",         "tx-ring",       "rx-buffers",
                                       "rx-refill-delay", "guest-offload", "guest-driver",
                                       NULL};

static int get_ring_size(vk_opts *o, const char *key, unsigned *out, vk_diag *d)
{
    uint64_t v;
    int r = vk_opts_get_uint(o, key, 256, 8, 4096, &v, d);
    if (r != VK_OK)
        return r;
    if (v % 8 != 0)
        return vk_opts_error(o, d, VK_EINVAL, key, "must be a multiple of 8 (got %llu)",
                             (unsigned long long)v);
    *out = (unsigned)v;
    return VK_OK;
}

/* Reads the model keys (o may be NULL: all defaults). */
static int read_config(vk_opts *o, e1k_config *c, vk_diag *d)
{
    *c = (e1k_config){256, 256, 255, 0, VK_NIC_OFFLOAD_NONE};
    if (o == NULL)
        return VK_OK;
    uint64_t v;
    int r;
    if ((r = get_ring_size(o, "rx-ring", &c->rx_ring, d)) != VK_OK ||
        (r = get_ring_size(o, "tx-ring", &c->tx_ring, d)) != VK_OK)
        return r;
    if ((r = vk_opts_get_uint(o, "rx-buffers", c->rx_ring - 1, 1, c->rx_ring - 1, &v, d)) != VK_OK)
        return r;
    c->rx_buffers = (unsigned)v;
    if ((r = vk_nic_opts_refill_delay(o, &c->rx_refill_delay, d)) != VK_OK)
        return r;
    return vk_nic_opts_offload(o, &c->offload, d);
}

/* Guest memory large enough for the driver's rings and buffers, with room
 * to spare for tests that place their own. */
static uint64_t gmem_size(const e1k_config *c)
{
    uint64_t need = 4096 + (uint64_t)(c->rx_ring + c->tx_ring) * VK_E1000_DESC_SIZE +
                    (uint64_t)c->rx_buffers * 2048 + (uint64_t)c->tx_ring * 4096;
    need = (need + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
    return need + (4u << 20);
}

static int e1k_init(vk_port *p, const vk_mac *mac, const e1k_config *cfg, vk_diag *d)
{
    vk_e1000 *s = e1k_of(p);
    s->port = p;
    s->nic.mac = *mac;
    /* QEMU's putsum, for every checksum the card inserts */
    s->nic.csum_zero = s->nic.tso_zero = VK_CSUM_ZERO_AS_FFFF;
    s->cfg = *cfg;
    s->tx.data = malloc(VK_FRAME_MAX);
    if (s->tx.data == NULL || vk_gmem_init(&s->mem, gmem_size(cfg)) != VK_OK)
        return vk_diag_set(d, VK_ENOMEM, "e1000 '%s': out of memory", p->id);
    eeprom_init(s);
    card_reset(s);
    return VK_OK;
}

static int e1k_create(vk_net *net, const char *model, const char *id, const vk_mac *mac,
                      vk_opts *o, vk_port **out, vk_diag *d)
{
    e1k_config cfg;
    int r = read_config(o, &cfg, d);
    if (r != VK_OK)
        return r;
    vk_port *p;
    r = vk_port_new(net, &e1k_ops, id, model, sizeof(vk_e1000), &p, d);
    if (r != VK_OK)
        return r;
    /* from here on the net owns p and frees it with e1k_cleanup */
    r = e1k_init(p, mac, &cfg, d);
    if (r != VK_OK)
        return r;
    *out = p;
    return VK_OK;
}

const vk_nic_card vk_e1000_card = {e1k_create};
