/*
 * The rtl8139 card: a Realtek RTL8139C+ at register level, following QEMU's
 * hw/net/rtl8139.c for what a guest can observe: register reset values and
 * write masks, the 93C46 EEPROM behind 9346CR, the RX filter (AAP, APM, AB,
 * AM with the CRC hash over MAR0-7), the legacy RX ring buffer with its
 * 4-byte header and CAPR/CBR, the four legacy TX slots, the C+ descriptor
 * rings with checksum offload and large send, and VLAN tag insertion and
 * stripping.  The facts come from QEMU and the RTL8139C(L)+ datasheet; the
 * code is ours.
 *
 * Where we differ from QEMU, on purpose:
 *   - every DMA goes through vk_gmem; an address outside guest memory puts
 *     RX or TX in an error state (see rtl8139.h) instead of being ignored;
 *   - can_receive() is false while the receiver is off, while the legacy
 *     ring lacks room for a full-sized frame, and in C+ mode while the
 *     current RX descriptor is not owned by the card, so the core queues
 *     frames instead of the card dropping them (QEMU drops in C+ mode and
 *     when IMR.RXOVW is set).  The 8139C+ has no RX doorbell: the driver
 *     hands descriptors back in memory only, so we re-check (and flush the
 *     queue) on every IMR/ISR write, which 8139cp makes after each RX poll;
 *   - a legacy frame is stored only if it leaves the ring not full (QEMU
 *     stores anything into an empty ring, even a frame larger than it);
 *   - a legacy TX slot with a size above 1792 bytes (the datasheet's
 *     maximum) is aborted (TSD.TABT, ISR.TER) and its frame dropped; a slot
 *     write sends every ready slot from the current one on, in order (QEMU
 *     sends at most the current slot per write);
 *   - a C+ TX chain longer than VK_FRAME_MAX is dropped, not truncated;
 *     both rings wrap after 64 descriptors as the datasheet says (QEMU
 *     wraps only the TX ring);
 *   - TCP/UDP checksum offload is skipped for IP fragments; large send
 *     goes through vk_offload_tso, which also keeps CWR on the first
 *     segment only;
 *   - the legacy RX header's BAR/PAM/MAR bits are set in promiscuous mode
 *     too; tally counters (DTCCR dumps), the PCI timer and the EEPROM write
 *     commands are not modelled.
 * The card runs synchronously: a TSD or TPPoll write transmits before it
 * returns, and receive() stores the frame and raises the interrupt, whose
 * handler (the driver half) runs at once.
 *
 * This file holds reset, the EEPROM, TX, the register tables and the port
 * glue; RX (filter, legacy ring, C+ descriptors) is in rtl8139_rx.c.
 */
#include "nics/rtl8139.h"

#include "core/error.h"
#include "core/net.h"
#include "wire/offload.h"
#include "nics/rtl8139_priv.h"
#include "wire/buf.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RTL_LEGACY_TX_MAX 1792
#define RTL_PCI_REVISION 0x20 /* 8139C+ */
#define RTL_TCR_VERSION 0x74800000u /* HW_REVID of the RTL8139C+ */
#define RTL_TX_MAX_ROUNDS 1024

static const vk_port_ops rtl_ops;

/* (input & ~mask) | (curr & mask): the bits in mask keep their value. */
static uint32_t set_masked(uint32_t input, uint32_t mask, uint32_t curr)
{
    return (input & ~mask) | (curr & mask);
}


/* ---- interrupts ------------------------------------------------------------ */

static void irq_update(vk_rtl8139 *s)
{
    if ((s->isr & s->imr) != 0)
        vk_nic_raise_irq(s->port);
}

void vk_rtl_raise(vk_rtl8139 *s, uint16_t cause)
{
    s->isr |= cause;
    irq_update(s);
}

/* ---- DMA ------------------------------------------------------------------- */

bool vk_rtl_dma_read(vk_rtl8139 *s, bool tx, uint64_t addr, void *dst, size_t len)
{
    return vk_gmem_dma_read(&s->mem, &s->fault, "rtl8139", tx, addr, dst, len);
}

bool vk_rtl_dma_write(vk_rtl8139 *s, bool tx, uint64_t addr, const void *src, size_t len)
{
    return vk_gmem_dma_write(&s->mem, &s->fault, "rtl8139", tx, addr, src, len);
}

/* ---- the 93C46 EEPROM ------------------------------------------------------ */

static void eeprom_init(vk_rtl8139 *s)
{
    rtl_eeprom *e = &s->eeprom;
    const uint8_t *m = s->nic.mac.b;
    memset(e, 0, sizeof *e);
    e->words[0] = 0x8129; /* the signature Linux checks to size addresses */
    e->words[1] = 0x10ec; /* PCI vendor and device, mirrored */
    e->words[2] = 0x8139;
    for (int i = 0; i < 3; i++)
        e->words[7 + i] = (uint16_t)(m[2 * i] | m[2 * i + 1] << 8);
}

/* Commands are 8 bits after the start bit: 10AAAAAA reads word A.  Writes
 * and the extended commands are accepted and ignored. */
static void eeprom_command(rtl_eeprom *e, uint8_t cmd)
{
    if ((cmd & 0xc0) != 0x80) {
        e->mode = RTL_EE_IDLE;
        return;
    }
    e->output = e->words[cmd & (RTL_EEPROM_WORDS - 1)];
    e->dout = false;
    e->tick = 0;
    e->mode = RTL_EE_READ;
}

/* One rising edge of SK. */
static void eeprom_clock(rtl_eeprom *e)
{
    e->tick++;
    switch (e->mode) {
    case RTL_EE_WAIT_START:
        if (e->di) {
            e->mode = RTL_EE_COMMAND;
            e->tick = 0;
            e->input = 0;
        }
        break;
    case RTL_EE_COMMAND:
        e->input = (uint16_t)(e->input << 1 | (e->di ? 1 : 0));
        if (e->tick == 8)
            eeprom_command(e, (uint8_t)e->input);
        break;
    case RTL_EE_READ:
        e->dout = (e->output & 0x8000) != 0;
        e->output = (uint16_t)(e->output << 1);
        /* as QEMU: wait for the next command without a CS cycle (the BSD
         * drivers do not toggle CS between reads) */
        if (e->tick == 16) {
            e->mode = RTL_EE_WAIT_START;
            e->tick = 0;
            e->input = 0;
        }
        break;
    default:
        break;
    }
}

static void eeprom_wires(rtl_eeprom *e, bool cs, bool sk, bool di)
{
    bool old_cs = e->cs, old_sk = e->sk;
    e->cs = cs;
    e->sk = sk;
    e->di = di;
    if (!old_cs && cs) {
        e->tick = 0;
        e->input = e->output = 0;
        e->mode = RTL_EE_WAIT_START;
    }
    if (cs && !old_sk && sk)
        eeprom_clock(e);
}

/* ---- reset ----------------------------------------------------------------- */

static void rx_ring_reset(vk_rtl8139 *s)
{
    s->rx_buf_size = 8192u << ((s->rcr >> VK_RTL_RCR_RBLEN_SHIFT) & 3);
    s->rx_read = s->rx_write = 0;
}

/* QEMU's rtl8139_reset: the MAC comes back from the configuration, the
 * multicast filter, RCR and the EEPROM keep their contents. */
static void card_reset(vk_rtl8139 *s)
{
    memcpy(s->phys, s->nic.mac.b, 6);
    s->isr = s->imr = 0;
    for (int i = 0; i < 4; i++)
        s->tsd[i] = VK_RTL_TSD_OWN;
    s->cur_tx = s->cp_rx_desc = s->cp_tx_desc = 0;
    s->rdsar_lo = s->rdsar_hi = 0;
    s->rbstart = 0;
    s->rx_buf_size = 8192; /* until RCR is written, whatever it holds */
    s->rx_read = s->rx_write = 0;
    s->tcr = RTL_TCR_VERSION;
    s->cr = 0;
    s->config0 = 0;
    s->config1 = 0x0c; /* I/O and memory mapped registers */
    s->config3 = 0x01; /* fast back-to-back */
    s->config5 = 0;
    s->cscr = 1u << 6 | 1u << 8 | 1u << 9; /* F_LINK_100, HEART_BIT, LD */
    s->cpcr = 0;
    s->cplus_enabled = false;
    s->bmcr = 0x1000;                  /* autonegotiation */
    s->bmsr = 0x7809 | 0x0020 | 0x0004; /* capabilities, autoneg done, link up */
    s->anar = s->anlpar = 0x05e1;
    s->aner = 0x0001;
    s->tx_size = 0;
    s->tx_overflow = false;
    memset(&s->fault, 0, sizeof s->fault);
}

/* ---- TX -------------------------------------------------------------------- */

static bool tx_enabled(const vk_rtl8139 *s)
{
    return (s->cr & VK_RTL_CR_TE) != 0;
}

static uint64_t cp_tx_ring(const vk_rtl8139 *s)
{
    return (uint64_t)s->tsad[1] << 32 | s->tsad[0];
}

/* Puts one frame on the wire, with the tag inserted (opts2 holds the TCI
 * byte-swapped), or back into our own receive path in TCR loopback. */
static void tx_send_one(vk_rtl8139 *s, const uint8_t *data, size_t len, bool tag,
                        uint16_t tag_field)
{
    if (len == 0)
        return;
    size_t extra = tag && len >= 12 ? 4 : 0;
    vk_frame *f = vk_frame_new(NULL, len + extra);
    if (f == NULL) {
        vk_port_drop_outbound_bytes(s->port, data, len, "rtl8139 TX: frame too long");
        return;
    }
    if (extra) {
        memcpy(f->data, data, 12);
        f->data[12] = 0x81;
        f->data[13] = 0x00;
        f->data[14] = (uint8_t)tag_field;
        f->data[15] = (uint8_t)(tag_field >> 8);
        memcpy(f->data + 16, data + 12, len - 12);
    } else {
        memcpy(f->data, data, len);
    }
    if ((s->tcr & VK_RTL_TCR_LOOPBACK) == VK_RTL_TCR_LOOPBACK)
        vk_port_deliver(s->port, f);
    else
        vk_port_send(s->port, f);
    vk_frame_unref(f);
}

/* One legacy slot whose OWN bit the driver cleared. */
static void tx_legacy_slot(vk_rtl8139 *s, unsigned i)
{
    uint8_t buf[VK_RTL_TSD_SIZE + 1];
    size_t size = s->tsd[i] & VK_RTL_TSD_SIZE;
    if (!vk_rtl_dma_read(s, true, s->tsad[i], buf, size)) {
        s->tsd[i] |= VK_RTL_TSD_OWN | VK_RTL_TSD_TABT;
        s->isr |= VK_RTL_INT_TER;
        return;
    }
    if (size > RTL_LEGACY_TX_MAX) {
        s->tsd[i] |= VK_RTL_TSD_OWN | VK_RTL_TSD_TABT;
        s->isr |= VK_RTL_INT_TER;
        vk_port_drop_outbound_bytes(s->port, buf, size, "rtl8139 TX: slot size above 1792 bytes");
        return;
    }
    s->tsd[i] |= VK_RTL_TSD_OWN | VK_RTL_TSD_TOK;
    s->isr |= VK_RTL_INT_TOK;
    tx_send_one(s, buf, size, false, 0);
}

/* Sends the ready slots from the current one on, in order. */
static void tx_legacy_run(vk_rtl8139 *s)
{
    for (unsigned n = 0; n < 4 && tx_enabled(s) && !s->fault.tx; n++) {
        unsigned i = s->cur_tx;
        if (s->tsd[i] & VK_RTL_TSD_OWN)
            break;
        tx_legacy_slot(s, i);
        s->cur_tx = (i + 1) % 4;
    }
    irq_update(s);
}

typedef struct tx_tag {
    vk_rtl8139 *s;
    bool tag;
    uint16_t field;
} tx_tag;

static void tx_emit_segment(void *arg, const uint8_t *seg, size_t len)
{
    tx_tag *t = arg;
    tx_send_one(t->s, seg, len, t->tag, t->field);
}

/* TCPCS/UDPCS: the card computes the whole checksum, pseudo header
 * included, whatever the field held; we seed the field with the
 * pseudo-header sum and let vk_offload_csum add the rest. */
static void cp_l4_csum(uint8_t *f, const vk_ipv4_repr *ip, size_t l4, uint32_t opts1,
                       vk_csum_zero zero)
{
    size_t l4_len = ip->payload_len;
    size_t field;
    if (ip->mf || ip->frag_off != 0)
        return;
    if ((opts1 & VK_RTL_TXD_TCPCS) && ip->proto == VK_IP_PROTO_TCP && l4_len >= 20)
        field = 16;
    else if ((opts1 & VK_RTL_TXD_UDPCS) && ip->proto == VK_IP_PROTO_UDP && l4_len >= 8)
        field = 6;
    else
        return;
    uint32_t pseudo = vk_csum_add_len(vk_csum_pseudo4(&ip->src, &ip->dst, ip->proto), l4_len);
    vk_put_be16(f + l4 + field, (uint16_t)~vk_csum_finish(pseudo));
    (void)vk_offload_csum(f, l4 + l4_len, l4, field, zero);
}

/* Large send: QEMU skips the offload (sends the frame as it is) for MSS 0
 * and for headers that do not parse; so do we. */
static bool cp_large_send(uint8_t *f, const vk_ipv4_repr *ip, size_t l4, uint32_t opts1,
                          tx_tag *tag)
{
    size_t mss = (opts1 >> VK_RTL_TXD_MSS_SHIFT) & VK_RTL_TXD_MSS_MASK;
    vk_tcp_repr tcp;
    if (mss == 0 || vk_tcp_parse(ip->payload, ip->payload_len, &tcp) != VK_OK)
        return false;
    size_t ip_end = VK_ETH_HLEN + ip->total_len;
    return vk_offload_tso(f, ip_end, l4 + tcp.hdr_len, mss, tag->s->nic.tso_zero,
                          tx_emit_segment, tag) > 0;
}

/* The assembled frame (IPv4 only, untagged in the buffer, as QEMU): IP
 * header checksum, then large send or TCP/UDP checksum. */
static void cp_tx_offload_send(vk_rtl8139 *s, uint32_t opts1, tx_tag *tag)
{
    uint8_t *f = s->tx_data;
    size_t len = s->tx_size;
    vk_ipv4_repr ip;
    if (len < VK_ETH_HLEN || vk_get_be16(f + 12) != VK_ETHERTYPE_IPV4 ||
        vk_ipv4_parse(f + VK_ETH_HLEN, len - VK_ETH_HLEN, &ip) != VK_OK) {
        tx_send_one(s, f, len, tag->tag, tag->field);
        return;
    }
    uint8_t *iph = f + VK_ETH_HLEN;
    size_t l4 = VK_ETH_HLEN + ip.hdr_len;
    if (opts1 & VK_RTL_TXD_IPCS) {
        vk_put_be16(iph + 10, 0);
        vk_put_be16(iph + 10, vk_csum(iph, ip.hdr_len));
    }
    if ((opts1 & VK_RTL_TXD_LGSEN) && ip.proto == VK_IP_PROTO_TCP) {
        if (cp_large_send(f, &ip, l4, opts1, tag))
            return;
    } else {
        cp_l4_csum(f, &ip, l4, opts1, s->nic.csum_zero);
    }
    tx_send_one(s, f, len, tag->tag, tag->field);
}

static void cp_tx_finish(vk_rtl8139 *s, uint32_t opts1, uint32_t opts2)
{
    tx_tag tag = {s, (opts2 & VK_RTL_TXD_TAGC) != 0, (uint16_t)opts2};
    if (s->tx_overflow) {
        vk_port_drop_outbound_bytes(s->port, s->tx_data, s->tx_size,
                                    "rtl8139 TX: descriptor chain longer than VK_FRAME_MAX");
    } else if (opts1 & (VK_RTL_TXD_IPCS | VK_RTL_TXD_UDPCS | VK_RTL_TXD_TCPCS | VK_RTL_TXD_LGSEN)) {
        cp_tx_offload_send(s, opts1, &tag);
    } else {
        tx_send_one(s, s->tx_data, s->tx_size, tag.tag, tag.field);
    }
    s->tx_size = 0;
    s->tx_overflow = false;
}

bool vk_rtl_cp_desc_read(vk_rtl8139 *s, bool tx, uint64_t at, rtl_cp_desc *d)
{
    uint8_t b[VK_RTL_DESC_SIZE];
    if (!vk_rtl_dma_read(s, tx, at, b, sizeof b))
        return false;
    d->opts1 = vk_get_le32(b);
    d->opts2 = vk_get_le32(b + 4);
    d->addr = (uint64_t)vk_get_le32(b + 12) << 32 | vk_get_le32(b + 8);
    return true;
}

unsigned vk_rtl_cp_next(unsigned idx, uint32_t opts1)
{
    return (opts1 & VK_RTL_DESC_EOR) || idx + 1 >= RTL_CP_RING_MAX ? 0 : idx + 1;
}

/* Processes the current TX descriptor; false when it is not the card's (or
 * on a DMA fault). */
static bool cp_tx_one(vk_rtl8139 *s)
{
    uint64_t d = cp_tx_ring(s) + (uint64_t)s->cp_tx_desc * VK_RTL_DESC_SIZE;
    rtl_cp_desc desc;
    if (!vk_rtl_cp_desc_read(s, true, d, &desc))
        return false;
    uint32_t opts1 = desc.opts1, opts2 = desc.opts2;
    uint64_t addr = desc.addr;
    if (!(opts1 & VK_RTL_DESC_OWN))
        return false;
    if (opts1 & VK_RTL_DESC_FS) {
        s->tx_size = 0;
        s->tx_overflow = false;
    }
    size_t n = opts1 & VK_RTL_TXD_SIZE_MASK;
    if (n > VK_FRAME_MAX - s->tx_size)
        s->tx_overflow = true;
    else if (!s->tx_overflow && n > 0) {
        if (!vk_rtl_dma_read(s, true, addr, s->tx_data + s->tx_size, n))
            return false;
        s->tx_size += n;
    }
    s->cp_tx_desc = vk_rtl_cp_next(s->cp_tx_desc, opts1);
    /* ownership back; the error summary bits (UNF, TES, OWC, LNKF, EXC)
     * cleared */
    uint8_t wb[4];
    vk_put_le32(wb, opts1 & ~(VK_RTL_DESC_OWN | 1u << 25 | 0x1fu << 19));
    if (!vk_rtl_dma_write(s, true, d, wb, 4))
        return false;
    if (opts1 & VK_RTL_DESC_LS)
        cp_tx_finish(s, opts1, opts2);
    return true;
}

static void cp_tx_run(vk_rtl8139 *s)
{
    if (!tx_enabled(s) || !(s->cpcr & VK_RTL_CPCR_TXENB))
        return;
    unsigned count = 0;
    /* each processed descriptor is handed back, so one lap ends the loop;
     * the bound only guards against a ring that changes under us */
    while (count < 4 * RTL_CP_RING_MAX && !s->fault.tx && cp_tx_one(s))
        count++;
    if (count > 0)
        vk_rtl_raise(s, VK_RTL_INT_TOK);
}

/* A transmit started from inside a transmit (the driver's RX handler
 * answering a looped-back frame) only asks for another round, so the card
 * never runs recursively; rounds are bounded so a guest that answers
 * forever cannot hang the run. */
static void tx_start(vk_rtl8139 *s, bool cplus)
{
    if (s->fault.tx)
        return;
    if (s->in_tx) {
        s->tx_kick = true;
        return;
    }
    s->in_tx = true;
    unsigned rounds = 0;
    do {
        s->tx_kick = false;
        if (cplus || s->cplus_enabled)
            cp_tx_run(s);
        else
            tx_legacy_run(s);
    } while (s->tx_kick && !s->fault.tx && ++rounds < RTL_TX_MAX_ROUNDS);
    s->in_tx = false;
}

/* ---- registers --------------------------------------------------------------
 *
 * Three tables of handlers, one per access width (QEMU's e1000
 * macreg_readops/writeops, applied to the 8139's byte, word and long
 * registers).  A row answers accesses starting at the offsets of its span;
 * each handler gets the offset, so one serves a run of alike registers.  A
 * word or long access no row (or no handler) answers goes byte by byte, as
 * in QEMU; a byte nobody answers reads 0 and ignores writes. */

typedef struct rtl_reg {
    vk_nic_reg_span span;
    uint32_t (*read)(vk_rtl8139 *s, uint8_t a);
    void (*write)(vk_rtl8139 *s, uint8_t a, uint32_t v);
    /* for read_field16/write_field16: the register's field in vk_rtl8139
     * and the bits a write keeps */
    size_t field;
    uint16_t ro_mask;
} rtl_reg;

static const rtl_reg *reg_row(unsigned size, uint8_t a);

static uint32_t read_zero(vk_rtl8139 *s, uint8_t a)
{
    (void)s;
    (void)a;
    return 0;
}

static void write_ignored(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    (void)s;
    (void)a;
    (void)v;
}

/* -- byte registers -- */

static uint32_t read_idr(vk_rtl8139 *s, uint8_t a)
{
    return s->phys[a - VK_RTL_IDR0];
}

static void write_idr(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    s->phys[a - VK_RTL_IDR0] = (uint8_t)v;
}

static uint32_t read_mar(vk_rtl8139 *s, uint8_t a)
{
    return s->mult[a - VK_RTL_MAR0];
}

static void write_mar(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    s->mult[a - VK_RTL_MAR0] = (uint8_t)v;
}

static uint32_t read_tsd_byte(vk_rtl8139 *s, uint8_t a)
{
    return (uint8_t)(s->tsd[(a - VK_RTL_TSD0) / 4] >> (8 * (a & 3)));
}

static uint32_t read_cr(vk_rtl8139 *s, uint8_t a)
{
    (void)a;
    return (uint8_t)(s->cr | (s->rx_read == s->rx_write ? VK_RTL_CR_BUFE : 0));
}

static void write_cr(vk_rtl8139 *s, uint8_t a, uint32_t value)
{
    (void)a;
    uint8_t v = (uint8_t)value;
    if (v & VK_RTL_CR_RST)
        card_reset(s);
    if (v & VK_RTL_CR_RE)
        s->cp_rx_desc = 0;
    if (v & VK_RTL_CR_TE)
        s->cp_tx_desc = 0;
    s->cr = (uint8_t)(set_masked(v, 0xe3, s->cr) & ~VK_RTL_CR_RST);
    vk_rtl_rx_maybe_flush(s);
}

/* Some drivers write TCR's low byte alone; its top byte reads alone. */
static void write_tcr_low(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    (void)a;
    if (tx_enabled(s))
        s->tcr = set_masked((s->tcr & ~0xffu) | (v & 0xff), 0xfcf0f80fu, s->tcr);
}

static uint32_t read_tcr_high(vk_rtl8139 *s, uint8_t a)
{
    (void)a;
    return (uint8_t)(s->tcr >> 24);
}

static uint32_t read_9346(vk_rtl8139 *s, uint8_t a)
{
    (void)a;
    uint8_t v = s->cfg9346;
    if ((v & 0xc0) == VK_RTL_9346_PROGRAM)
        v = (uint8_t)((v & ~VK_RTL_9346_EEDO) |
                      (s->eeprom.cs && s->eeprom.dout ? VK_RTL_9346_EEDO : 0));
    return v;
}

static void write_9346(vk_rtl8139 *s, uint8_t a, uint32_t value)
{
    (void)a;
    uint8_t v = (uint8_t)set_masked(value & 0xff, 0x31, s->cfg9346);
    if ((v & 0xc0) == VK_RTL_9346_PROGRAM) {
        eeprom_wires(&s->eeprom, v & VK_RTL_9346_EECS, v & VK_RTL_9346_EESK,
                     v & VK_RTL_9346_EEDI);
    } else if ((v & 0xc0) == 0x40) { /* auto-load: a reset */
        v = 0;
        card_reset(s);
    }
    s->cfg9346 = v;
}

/* CONFIG0-5: the bits of ro_mask are read-only; all but CONFIG5 are
 * writable only while 9346CR unlocks them. */
typedef struct rtl_config_reg {
    uint8_t *reg;
    uint8_t ro_mask;
    bool gated;
} rtl_config_reg;

static rtl_config_reg config_reg(vk_rtl8139 *s, uint8_t a)
{
    switch (a) {
    case VK_RTL_CONFIG0:
        return (rtl_config_reg){&s->config0, 0xf8, true};
    case VK_RTL_CONFIG1:
        return (rtl_config_reg){&s->config1, 0x0c, true};
    case VK_RTL_CONFIG3:
        return (rtl_config_reg){&s->config3, 0x8f, true};
    case VK_RTL_CONFIG4:
        return (rtl_config_reg){&s->config4, 0x0a, true};
    default:
        return (rtl_config_reg){&s->config5, 0x80, false};
    }
}

static uint32_t read_config_reg(vk_rtl8139 *s, uint8_t a)
{
    return *config_reg(s, a).reg;
}

static void write_config_reg(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    rtl_config_reg c = config_reg(s, a);
    if (c.gated && (s->cfg9346 & 0xc0) != VK_RTL_9346_CONFIG_WRITE)
        return;
    *c.reg = (uint8_t)set_masked(v & 0xff, c.ro_mask, *c.reg);
}

/* MSR: LINKB is the inverse of the link status. */
static uint32_t read_msr(vk_rtl8139 *s, uint8_t a)
{
    (void)a;
    return (uint8_t)(0xd0 | (~s->bmsr & 0x04));
}

static uint32_t read_hltclk(vk_rtl8139 *s, uint8_t a)
{
    (void)s;
    (void)a;
    return 1; /* the clock always runs */
}

static uint32_t read_rerid(vk_rtl8139 *s, uint8_t a)
{
    (void)s;
    (void)a;
    return RTL_PCI_REVISION;
}

static void write_tppoll(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    (void)a;
    if (v & VK_RTL_TPPOLL_NPQ)
        tx_start(s, true);
}

static uint32_t read_ettthr(vk_rtl8139 *s, uint8_t a)
{
    (void)a;
    return s->ettthr;
}

static void write_ettthr(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    (void)a;
    s->ettthr = (uint8_t)v;
}

/* A word register that holds a field of the card (the row names it): reads
 * return it, writes keep the row's read-only bits. */
static uint16_t *field16(vk_rtl8139 *s, uint8_t a)
{
    return (uint16_t *)(void *)((unsigned char *)s + reg_row(2, a)->field);
}

static uint32_t read_field16(vk_rtl8139 *s, uint8_t a)
{
    return *field16(s, a);
}

static void write_field16(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    uint16_t *f = field16(s, a);
    *f = (uint16_t)set_masked(v & 0xffff, reg_row(2, a)->ro_mask, *f);
}

/* -- word registers -- */

static uint32_t read_tsad_half(vk_rtl8139 *s, uint8_t a)
{
    return (a & 1) ? 0 : (s->tsad[(a - VK_RTL_TSAD0) / 4] >> (8 * (a & 2))) & 0xffff;
}

/* CAPR reads off by 16, as the hardware. */
static uint32_t read_capr(vk_rtl8139 *s, uint8_t a)
{
    (void)a;
    return (s->rx_read - 16) & 0xffff;
}

static void write_capr(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    (void)a;
    s->rx_read = ((v & 0xffff) + 16u) & (s->rx_buf_size - 1);
    vk_rtl_rx_maybe_flush(s);
}

static uint32_t read_cbr(vk_rtl8139 *s, uint8_t a)
{
    (void)a;
    return s->rx_write & 0xffff;
}

static void write_imr(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    (void)a;
    s->imr = (uint16_t)set_masked(v & 0xffff, 0x1e00, s->imr);
    irq_update(s);
    vk_rtl_rx_maybe_flush(s);
}

/* ISR: write 1 to clear. */
static void write_isr(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    (void)a;
    s->isr = (uint16_t)set_masked(s->isr & ~(v & 0xffff), 0x1e00, s->isr);
    irq_update(s);
    vk_rtl_rx_maybe_flush(s);
}

/* TSAD (TxSummary): the status bits of the four TX slots. */
static uint32_t read_tsad_summary(vk_rtl8139 *s, uint8_t a)
{
    (void)a;
    uint16_t v = 0;
    for (unsigned i = 0; i < 4; i++) {
        if (s->tsd[i] & VK_RTL_TSD_TOK)
            v |= (uint16_t)(1u << (12 + i));
        if (s->tsd[i] & VK_RTL_TSD_TUN)
            v |= (uint16_t)(1u << (8 + i));
        if (s->tsd[i] & VK_RTL_TSD_TABT)
            v |= (uint16_t)(1u << (4 + i));
        if (s->tsd[i] & VK_RTL_TSD_OWN)
            v |= (uint16_t)(1u << i);
    }
    return v;
}

/* The first CPCR write switches the card to C+ (TSD becomes DTCCR). */
static void write_cpcr(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    (void)a;
    s->cplus_enabled = true;
    s->cpcr = (uint16_t)set_masked(v & 0xffff, 0xff84, s->cpcr);
    vk_rtl_rx_maybe_flush(s);
}

/* -- long registers -- */

static uint32_t read_tsd(vk_rtl8139 *s, uint8_t a)
{
    return (a & 3) ? 0 : s->tsd[(a - VK_RTL_TSD0) / 4];
}

static void write_tsd(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    if (a & 3)
        return;
    unsigned i = (a - VK_RTL_TSD0) / 4u;
    if (s->cplus_enabled) {
        /* DTCCR in C+ mode: a tally dump completes at once (not modelled) */
        s->tsd[i] = i == 0 ? v & ~0x8u : v;
        return;
    }
    v &= ~0xff00c000u; /* TOK, TUN and the status byte clear on write */
    s->tsd[i] = set_masked(v, 0x00c00000u, s->tsd[i]);
    tx_start(s, false);
}

static uint32_t read_tsad(vk_rtl8139 *s, uint8_t a)
{
    return (a & 3) ? 0 : s->tsad[(a - VK_RTL_TSAD0) / 4];
}

static void write_tsad(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    if (a & 3)
        return;
    s->tsad[(a - VK_RTL_TSAD0) / 4] = v;
    s->fault.tx = false;
}

static uint32_t read_rbstart(vk_rtl8139 *s, uint8_t a)
{
    (void)a;
    return s->rbstart;
}

static void write_rbstart(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    (void)a;
    s->rbstart = v;
    s->fault.rx = false;
}

static uint32_t read_tcr(vk_rtl8139 *s, uint8_t a)
{
    (void)a;
    return s->tcr;
}

/* QEMU ignores TCR writes while the transmitter is off. */
static void write_tcr(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    (void)a;
    if (tx_enabled(s))
        s->tcr = set_masked(v, 0xfcf0f80fu, s->tcr);
}

static uint32_t read_rcr(vk_rtl8139 *s, uint8_t a)
{
    (void)a;
    return s->rcr;
}

static void write_rcr(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    (void)a;
    s->rcr = set_masked(v, 0xf0fc0040u, s->rcr);
    rx_ring_reset(s);
    vk_rtl_rx_maybe_flush(s);
}

static uint32_t read_mpc(vk_rtl8139 *s, uint8_t a)
{
    (void)a;
    return s->mpc & 0xffffff;
}

/* Any write clears the missed-packet counter. */
static void write_mpc(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    (void)a;
    (void)v;
    s->mpc = 0;
}

/* RDSAR (low) and RDSAR + 4 (high): the C+ RX ring's address. */
static uint32_t read_rdsar(vk_rtl8139 *s, uint8_t a)
{
    return a == VK_RTL_RDSAR ? s->rdsar_lo : s->rdsar_hi;
}

static void write_rdsar(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    if (a == VK_RTL_RDSAR)
        s->rdsar_lo = v;
    else
        s->rdsar_hi = v;
    s->fault.rx = false;
    vk_rtl_rx_maybe_flush(s);
}

static const rtl_reg rtl_byte_regs[] = {
    {{VK_RTL_IDR0, 6}, read_idr, write_idr, 0, 0},
    {{VK_RTL_MAR0, 8}, read_mar, write_mar, 0, 0},
    {{VK_RTL_TSD0, 16}, read_tsd_byte, NULL, 0, 0},
    {{VK_RTL_CR, 1}, read_cr, write_cr, 0, 0},
    {{VK_RTL_TCR, 1}, NULL, write_tcr_low, 0, 0},
    {{VK_RTL_TCR + 3, 1}, read_tcr_high, NULL, 0, 0},
    {{VK_RTL_9346CR, 1}, read_9346, write_9346, 0, 0},
    {{VK_RTL_CONFIG0, 2}, read_config_reg, write_config_reg, 0, 0}, /* CONFIG0, CONFIG1 */
    {{VK_RTL_MSR, 1}, read_msr, NULL, 0, 0},
    {{VK_RTL_CONFIG3, 2}, read_config_reg, write_config_reg, 0, 0}, /* CONFIG3, CONFIG4 */
    {{0x5b, 1}, read_hltclk, NULL, 0, 0},                   /* HltClk */
    {{VK_RTL_RERID, 1}, read_rerid, NULL, 0, 0},
    {{VK_RTL_CONFIG5, 1}, read_config_reg, write_config_reg, 0, 0},
    {{VK_RTL_TPPOLL, 1}, NULL, write_tppoll, 0, 0},
    {{VK_RTL_ETTHR, 1}, read_ettthr, write_ettthr, 0, 0},
};

#define RTL_FIELD(name) offsetof(vk_rtl8139, name)

static const rtl_reg rtl_word_regs[] = {
    {{VK_RTL_TSAD0, 16}, read_tsad_half, NULL, 0, 0},
    {{VK_RTL_CAPR, 1}, read_capr, write_capr, 0, 0},
    {{VK_RTL_CBR, 1}, read_cbr, NULL, 0, 0},
    {{VK_RTL_IMR, 1}, read_field16, write_imr, RTL_FIELD(imr), 0},
    {{VK_RTL_ISR, 1}, read_field16, write_isr, RTL_FIELD(isr), 0},
    {{VK_RTL_MULINT, 1}, read_field16, write_field16, RTL_FIELD(multint), 0xf000},
    {{VK_RTL_TSAD, 1}, read_tsad_summary, NULL, 0, 0},
    /* BMCR: speed, autonegotiation and duplex are read-only */
    {{VK_RTL_BMCR, 1}, read_field16, write_field16, RTL_FIELD(bmcr), 0x4cff | 0x3000 | 0x0100},
    {{VK_RTL_BMSR, 1}, read_field16, write_field16, RTL_FIELD(bmsr), 0xff3f},
    {{VK_RTL_ANAR, 1}, read_field16, write_field16, RTL_FIELD(anar), 0},
    {{VK_RTL_ANLPAR, 1}, read_field16, write_ignored, RTL_FIELD(anlpar), 0},
    {{VK_RTL_ANER, 1}, read_field16, write_field16, RTL_FIELD(aner), 0},
    {{VK_RTL_CSCR, 1}, read_field16, NULL, RTL_FIELD(cscr), 0},
    {{VK_RTL_CPCR, 1}, read_field16, write_cpcr, RTL_FIELD(cpcr), 0},
    {{0xe2, 1}, read_zero, write_ignored, 0, 0}, /* IntrMitigate: not modelled */
};

static const rtl_reg rtl_long_regs[] = {
    {{VK_RTL_TSD0, 16}, read_tsd, write_tsd, 0, 0},
    {{VK_RTL_TSAD0, 16}, read_tsad, write_tsad, 0, 0},
    {{VK_RTL_RBSTART, 1}, read_rbstart, write_rbstart, 0, 0},
    {{VK_RTL_TCR, 1}, read_tcr, write_tcr, 0, 0},
    {{VK_RTL_RCR, 1}, read_rcr, write_rcr, 0, 0},
    {{VK_RTL_TCTR, 1}, read_zero, write_ignored, 0, 0}, /* the PCI timer is not modelled */
    {{VK_RTL_MPC, 1}, read_mpc, write_mpc, 0, 0},
    {{0x54, 1}, read_zero, write_ignored, 0, 0}, /* TimerInt */
    {{VK_RTL_RDSAR, 1}, read_rdsar, write_rdsar, 0, 0},
    {{VK_RTL_RDSAR + 4, 1}, read_rdsar, write_rdsar, 0, 0},
};

#define RTL_NROWS(t) (sizeof(t) / sizeof((t)[0]))

/* The row for an access of `size` bytes at a; NULL: none. */
static const rtl_reg *reg_row(unsigned size, uint8_t a)
{
    switch (size) {
    case 1:
        return vk_nic_reg_find(rtl_byte_regs, RTL_NROWS(rtl_byte_regs), sizeof(rtl_reg), a);
    case 2:
        return vk_nic_reg_find(rtl_word_regs, RTL_NROWS(rtl_word_regs), sizeof(rtl_reg), a);
    case 4:
        return vk_nic_reg_find(rtl_long_regs, RTL_NROWS(rtl_long_regs), sizeof(rtl_reg), a);
    default:
        return NULL;
    }
}

bool vk_rtl8139_reg_table_ok(void)
{
    return vk_nic_reg_table_ok(rtl_byte_regs, RTL_NROWS(rtl_byte_regs), sizeof(rtl_reg)) &&
           vk_nic_reg_table_ok(rtl_word_regs, RTL_NROWS(rtl_word_regs), sizeof(rtl_reg)) &&
           vk_nic_reg_table_ok(rtl_long_regs, RTL_NROWS(rtl_long_regs), sizeof(rtl_reg));
}

void vk_rtl8139_io_write(vk_port *p, uint32_t offset, uint32_t value, unsigned size)
{
    vk_rtl8139 *s = rtl_of(p);
    uint8_t a = (uint8_t)offset;
    if (size != 1 && size != 2 && size != 4)
        return;
    if (size < 4)
        value &= (1u << (8 * size)) - 1;
    const rtl_reg *r = reg_row(size, a);
    if (r != NULL && r->write != NULL) {
        r->write(s, a, value);
        return;
    }
    if (size == 1)
        return;
    /* a size the register does not have: byte by byte, as QEMU */
    for (unsigned i = 0; i < size; i++)
        vk_rtl8139_io_write(p, (uint8_t)(a + i), (uint8_t)(value >> (8 * i)), 1);
}

uint32_t vk_rtl8139_io_read(vk_port *p, uint32_t offset, unsigned size)
{
    vk_rtl8139 *s = rtl_of(p);
    uint8_t a = (uint8_t)offset;
    if (size != 1 && size != 2 && size != 4)
        return 0;
    const rtl_reg *r = reg_row(size, a);
    if (r != NULL && r->read != NULL)
        return r->read(s, a);
    if (size == 1)
        return 0;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= vk_rtl8139_io_read(p, (uint8_t)(a + i), 1) << (8 * i);
    return v;
}

/* ---- public queries -------------------------------------------------------- */

vk_gmem *vk_rtl8139_gmem(vk_port *p)
{
    return &rtl_of(p)->mem;
}

bool vk_rtl8139_error(vk_port *p, const char **msg)
{
    return vk_dma_fault_report(&rtl_of(p)->fault, msg);
}

bool vk_rtl8139_irq_line(vk_port *p)
{
    vk_rtl8139 *s = rtl_of(p);
    return (s->isr & s->imr) != 0;
}

bool vk_rtl8139_is(const vk_port *p)
{
    return p != NULL && p->ops == &rtl_ops;
}

/* ---- port and model -------------------------------------------------------- */

/* set_link: the PHY's link status bit (BMSR, and MSR's LINKB read from
 * it) follows the link, with the link-change interrupt. */
static void rtl_link_changed(vk_port *p)
{
    vk_rtl8139 *s = rtl_of(p);
    if (p->link_down)
        s->bmsr = (uint16_t)(s->bmsr & ~0x0004u);
    else
        s->bmsr |= 0x0004;
    vk_rtl_raise(s, VK_RTL_INT_PUN);
}

static void rtl_cleanup(vk_port *p)
{
    vk_rtl8139 *s = rtl_of(p);
    vk_nic_unbind(p);
    free(s->tx_data);
    s->tx_data = NULL;
    vk_gmem_destroy(&s->mem);
}

static const vk_port_ops rtl_ops = {
    .kind = "nic",
    .receive = vk_rtl_receive,
    .can_receive = vk_rtl_can_receive,
    .cleanup = rtl_cleanup,
    .describe = vk_nic_describe,
    .link_changed = rtl_link_changed,
};

const char *const vk_rtl8139_keys[] = {"mode",          "rx-ring",         "tx-ring",
                                       "rx-buffers",    "rx-ring-bytes",   "rx-refill-delay",
                                       "guest-offload", "guest-driver",    NULL};

static int get_mode(vk_opts *o, rtl_mode *out, vk_diag *d)
{
    const char *v = vk_opts_get(o, "mode");
    if (v == NULL || strcmp(v, "cplus") == 0)
        *out = RTL_MODE_CPLUS;
    else if (strcmp(v, "legacy") == 0)
        *out = RTL_MODE_LEGACY;
    else
        return vk_opts_error(o, d, VK_EINVAL, "mode", "must be cplus or legacy (got '%s')", v);
    return VK_OK;
}

/* Keys that only one mode has are errors in the other, so a topology never
 * silently ignores a knob. */
static int check_mode_keys(vk_opts *o, const rtl_config *c, vk_diag *d)
{
    static const char *const cplus_only[] = {"rx-ring", "tx-ring", "rx-buffers"};
    if (c->mode == RTL_MODE_LEGACY) {
        for (size_t i = 0; i < 3; i++)
            if (vk_opts_has(o, cplus_only[i]))
                return vk_opts_error(o, d, VK_EINVAL, cplus_only[i],
                                     "only applies to mode=cplus");
        if (c->offload != VK_NIC_OFFLOAD_NONE)
            return vk_opts_error(o, d, VK_EINVAL, "guest-offload",
                                 "8139too offers no offloads (mode=legacy)");
    } else if (vk_opts_has(o, "rx-ring-bytes")) {
        return vk_opts_error(o, d, VK_EINVAL, "rx-ring-bytes", "only applies to mode=legacy");
    }
    return VK_OK;
}

static int get_ring_bytes(vk_opts *o, uint32_t *out, vk_diag *d)
{
    uint64_t v;
    int r = vk_opts_get_uint(o, "rx-ring-bytes", 32768, 8192, 65536, &v, d);
    if (r != VK_OK)
        return r;
    if (v != 8192 && v != 16384 && v != 32768 && v != 65536)
        return vk_opts_error(o, d, VK_EINVAL, "rx-ring-bytes",
                             "must be 8192, 16384, 32768 or 65536 (got %llu)",
                             (unsigned long long)v);
    *out = (uint32_t)v;
    return VK_OK;
}

/* Reads the model keys (o may be NULL: all defaults). */
static int read_config(vk_opts *o, rtl_config *c, vk_diag *d)
{
    *c = (rtl_config){RTL_MODE_CPLUS, 64, 64, 64, 32768, 0, VK_NIC_OFFLOAD_NONE};
    if (o == NULL)
        return VK_OK;
    uint64_t v;
    int r;
    if ((r = get_mode(o, &c->mode, d)) != VK_OK || (r = vk_nic_opts_offload(o, &c->offload, d)) != VK_OK ||
        (r = check_mode_keys(o, c, d)) != VK_OK)
        return r;
    if ((r = vk_opts_get_uint(o, "rx-ring", 64, 1, RTL_CP_RING_MAX, &v, d)) != VK_OK)
        return r;
    c->rx_ring = (unsigned)v;
    if ((r = vk_opts_get_uint(o, "tx-ring", 64, 2, RTL_CP_RING_MAX, &v, d)) != VK_OK)
        return r;
    c->tx_ring = (unsigned)v;
    if ((r = vk_opts_get_uint(o, "rx-buffers", c->rx_ring, 1, c->rx_ring, &v, d)) != VK_OK)
        return r;
    c->rx_buffers = (unsigned)v;
    if ((r = get_ring_bytes(o, &c->rx_ring_bytes, d)) != VK_OK)
        return r;
    return vk_nic_opts_refill_delay(o, &c->rx_refill_delay, d);
}

/* Guest memory for the driver's rings and buffers (at most a 64 KiB ring
 * plus spare room, or 128 descriptors with 2 KiB buffers), with room to
 * spare for tests that place their own. */
#define RTL_GMEM_SIZE (4u << 20)

static int rtl_init(vk_port *p, const vk_mac *mac, const rtl_config *cfg, vk_diag *d)
{
    vk_rtl8139 *s = rtl_of(p);
    s->port = p;
    s->nic.mac = *mac;
    /* QEMU's ip_checksum, for checksum offload and large send alike */
    s->nic.csum_zero = s->nic.tso_zero = VK_CSUM_ZERO_KEPT;
    s->cfg = *cfg;
    s->tx_data = malloc(VK_FRAME_MAX);
    if (s->tx_data == NULL || vk_gmem_init(&s->mem, RTL_GMEM_SIZE) != VK_OK)
        return vk_diag_set(d, VK_ENOMEM, "rtl8139 '%s': out of memory", p->id);
    eeprom_init(s);
    s->rcr = 0;
    card_reset(s);
    return VK_OK;
}

static int rtl_create(vk_net *net, const char *model, const char *id, const vk_mac *mac,
                      vk_opts *o, vk_port **out, vk_diag *d)
{
    rtl_config cfg;
    int r = read_config(o, &cfg, d);
    if (r != VK_OK)
        return r;
    vk_port *p;
    r = vk_port_new(net, &rtl_ops, id, model, sizeof(vk_rtl8139), &p, d);
    if (r != VK_OK)
        return r;
    /* from here on the net owns p and frees it with rtl_cleanup */
    r = rtl_init(p, mac, &cfg, d);
    if (r != VK_OK)
        return r;
    *out = p;
    return VK_OK;
}

const vk_nic_card vk_rtl8139_card = {rtl_create};
