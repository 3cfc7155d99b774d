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

#define RTL_MIN_FRAME 60
#define RTL_LEGACY_TX_MAX 1792
/* Room the legacy ring must have for can_receive(): the longest VLAN frame
 * (1518 bytes) with its header and CRC, rounded to the 4-byte alignment. */
#define RTL_RX_ROOM 1528
#define RTL_PCI_REVISION 0x20 /* 8139C+ */
#define RTL_TCR_VERSION 0x74800000u /* HW_REVID of the RTL8139C+ */
#define RTL_TX_MAX_ROUNDS 1024

static const vk_port_ops rtl_ops;

static uint32_t le32_at(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void put_le32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++, v >>= 8)
        b[i] = (uint8_t)v;
}

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

static void raise(vk_rtl8139 *s, uint16_t cause)
{
    s->isr |= cause;
    irq_update(s);
}

/* ---- DMA ------------------------------------------------------------------- */

static bool dma_read(vk_rtl8139 *s, bool tx, uint64_t addr, void *dst, size_t len)
{
    return vk_gmem_dma_read(&s->mem, &s->fault, "rtl8139", tx, addr, dst, len);
}

static bool dma_write(vk_rtl8139 *s, bool tx, uint64_t addr, const void *src, size_t len)
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

/* ---- RX -------------------------------------------------------------------- */

static bool rx_enabled(const vk_rtl8139 *s)
{
    return (s->cr & VK_RTL_CR_RE) != 0;
}

static bool cp_rx_mode(const vk_rtl8139 *s)
{
    return (s->cpcr & VK_RTL_CPCR_RXENB) != 0;
}

static uint64_t cp_rx_ring(const vk_rtl8139 *s)
{
    return (uint64_t)s->rdsar_hi << 32 | s->rdsar_lo;
}

static uint64_t cp_tx_ring(const vk_rtl8139 *s)
{
    return (uint64_t)s->tsad[1] << 32 | s->tsad[0];
}

/* Free bytes of the legacy ring: an empty ring (CBR == CAPR + 16) has all
 * of them. */
static uint32_t rx_ring_free(const vk_rtl8139 *s)
{
    uint32_t n = s->rx_buf_size;
    uint32_t avail = (n + s->rx_read - s->rx_write) & (n - 1);
    return avail == 0 ? n : avail;
}

static bool cp_rx_desc_owned(vk_rtl8139 *s)
{
    uint64_t d = cp_rx_ring(s) + (uint64_t)s->cp_rx_desc * VK_RTL_DESC_SIZE;
    uint32_t opts1;
    if (!vk_gmem_valid(&s->mem, d, 4))
        return true; /* receive() will hit the fault and report it */
    if (vk_gmem_read_le32(&s->mem, d, &opts1) != VK_OK)
        return true;
    return (opts1 & VK_RTL_DESC_OWN) != 0;
}

static bool rtl_can_receive(vk_port *p)
{
    vk_rtl8139 *s = rtl_of(p);
    if (!rx_enabled(s))
        return false;
    if (s->fault.rx)
        return true; /* frames are dropped with the reason, not held */
    if (cp_rx_mode(s))
        return cp_rx_ring(s) != 0 && cp_rx_desc_owned(s);
    return rx_ring_free(s) > RTL_RX_ROOM;
}

static void rx_maybe_flush(vk_rtl8139 *s)
{
    if (rtl_can_receive(s->port))
        vk_port_flush(s->port);
}

/* The destination's class, as the RX header's BAR/MAR/PAM bits; 0 for a
 * unicast to another address. */
static uint16_t rx_dest_class(const vk_rtl8139 *s, const uint8_t *dst)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (memcmp(dst, bcast, 6) == 0)
        return VK_RTL_RX_BAR;
    if (dst[0] & 1)
        return VK_RTL_RX_MAR;
    if (memcmp(dst, s->phys, 6) == 0)
        return VK_RTL_RX_PAM;
    return 0;
}

/* QEMU's filter, in its order: AAP takes all, else each class needs its bit
 * (and a multicast its bit in MAR0-7 too). */
static bool rx_accept(const vk_rtl8139 *s, const uint8_t *dst, uint16_t cls)
{
    if (s->rcr & VK_RTL_RCR_AAP)
        return true;
    switch (cls) {
    case VK_RTL_RX_BAR:
        return (s->rcr & VK_RTL_RCR_AB) != 0;
    case VK_RTL_RX_MAR: {
        if (!(s->rcr & VK_RTL_RCR_AM))
            return false;
        unsigned idx = vk_eth_mcast_hash6(dst);
        return (s->mult[idx >> 3] >> (idx & 7)) & 1;
    }
    case VK_RTL_RX_PAM:
        return (s->rcr & VK_RTL_RCR_APM) != 0;
    default:
        return false;
    }
}

/* Writes len bytes at CBR.  With RCR.WRAP set (and a ring under 64 KiB) the
 * card writes past the end into the driver's spare room; otherwise it
 * continues at the start of the ring. */
static bool rx_ring_write(vk_rtl8139 *s, const uint8_t *src, size_t len)
{
    uint32_t n = s->rx_buf_size;
    uint64_t at = s->rx_write;
    bool linear = n < 65536 && (s->rcr & VK_RTL_RCR_WRAP);
    if (!linear && at + len > n) {
        size_t first = n - at;
        if (!dma_write(s, false, (uint64_t)s->rbstart + at, src, first) ||
            !dma_write(s, false, s->rbstart, src + first, len - first))
            return false;
        s->rx_write = (uint32_t)(len - first);
        return true;
    }
    if (!dma_write(s, false, (uint64_t)s->rbstart + at, src, len))
        return false;
    s->rx_write = (uint32_t)(at + len);
    return true;
}

/* The legacy path: header (status, length with CRC), frame, CRC. */
static int rx_legacy(vk_rtl8139 *s, const uint8_t *buf, size_t size, uint16_t cls,
                     const char **why)
{
    size_t record = (size + 8 + 3) & ~(size_t)3;
    if (record >= rx_ring_free(s)) {
        s->mpc++;
        raise(s, VK_RTL_INT_RXOVW);
        *why = "rtl8139 RX: no room in the RX ring";
        return VK_EAGAIN;
    }
    uint8_t hdr[4], crc[4];
    put_le32(hdr, (uint32_t)cls | VK_RTL_RX_ROK | (uint32_t)(size + 4) << 16);
    put_le32(crc, vk_eth_fcs(buf, size));
    if (!rx_ring_write(s, hdr, 4) || !rx_ring_write(s, buf, size) || !rx_ring_write(s, crc, 4)) {
        *why = "rtl8139 RX DMA outside guest memory";
        return VK_ERANGE;
    }
    s->rx_write = ((s->rx_write + 3) & ~3u) & (s->rx_buf_size - 1);
    return VK_OK;
}

static uint32_t cp_class_bits(uint16_t cls)
{
    switch (cls) {
    case VK_RTL_RX_BAR:
        return VK_RTL_RXD_BAR;
    case VK_RTL_RX_MAR:
        return VK_RTL_RXD_MAR;
    case VK_RTL_RX_PAM:
        return VK_RTL_RXD_PAM;
    default:
        return 0;
    }
}

static void cp_rx_advance(vk_rtl8139 *s, uint32_t opts1)
{
    if ((opts1 & VK_RTL_DESC_EOR) || s->cp_rx_desc + 1 >= RTL_CP_RING_MAX)
        s->cp_rx_desc = 0;
    else
        s->cp_rx_desc++;
}

/* The C+ path: the whole frame into the current descriptor's buffer (no
 * scatter, as QEMU), the tag stripped when CPCR.RxVLAN asks. */
static int rx_cplus(vk_rtl8139 *s, const uint8_t *buf, size_t size, uint16_t cls,
                    const char **why)
{
    uint64_t d = cp_rx_ring(s) + (uint64_t)s->cp_rx_desc * VK_RTL_DESC_SIZE;
    uint8_t desc[VK_RTL_DESC_SIZE];
    *why = "rtl8139 RX DMA outside guest memory";
    if (!dma_read(s, false, d, desc, sizeof desc))
        return VK_ERANGE;
    uint32_t opts1 = le32_at(desc), opts2 = le32_at(desc + 4);
    uint64_t addr = (uint64_t)le32_at(desc + 12) << 32 | le32_at(desc + 8);
    if (!(opts1 & VK_RTL_DESC_OWN)) {
        s->mpc++;
        raise(s, VK_RTL_INT_RXOVW);
        *why = "rtl8139 RX: no RX descriptor owned by the card";
        return VK_EAGAIN;
    }
    /* buf has 4 zero bytes of tailroom past a padded frame (see receive) */
    uint8_t *copy = NULL;
    opts2 &= ~(VK_RTL_RXD_TAVA | 0xffffu);
    if ((s->cpcr & VK_RTL_CPCR_RXVLAN) && size >= VK_ETH_VLAN_HLEN &&
        vk_get_be16(buf + 12) == VK_ETHERTYPE_VLAN) {
        copy = malloc(size);
        if (copy == NULL) {
            *why = "out of memory";
            return VK_ENOMEM;
        }
        memcpy(copy, buf, 12);
        memcpy(copy + 12, buf + 16, size - 16);
        memset(copy + size - 4, 0, 4);
        opts2 |= VK_RTL_RXD_TAVA | (uint32_t)buf[14] | (uint32_t)buf[15] << 8;
        size -= 4;
        if (size < RTL_MIN_FRAME)
            size = RTL_MIN_FRAME;
        buf = copy;
    }
    int r = VK_OK;
    uint8_t crc[4];
    put_le32(crc, vk_eth_fcs(buf, size));
    if (size + 4 > (opts1 & VK_RTL_RXD_SIZE_MASK)) {
        s->mpc++;
        raise(s, VK_RTL_INT_RXOVW);
        *why = "rtl8139 RX: frame larger than the RX descriptor buffer";
        r = VK_EAGAIN;
    } else if (!dma_write(s, false, addr, buf, size) ||
               !dma_write(s, false, addr + size, crc, 4)) {
        r = VK_ERANGE;
    }
    free(copy);
    if (r != VK_OK)
        return r;
    opts1 &= ~(VK_RTL_DESC_OWN | VK_RTL_RXD_SIZE_MASK | VK_RTL_RXD_BAR | VK_RTL_RXD_PAM |
               VK_RTL_RXD_MAR);
    opts1 |= VK_RTL_DESC_FS | VK_RTL_DESC_LS | cp_class_bits(cls) | (uint32_t)(size + 4);
    uint8_t wb[8];
    put_le32(wb, opts1);
    put_le32(wb + 4, opts2);
    /* opts2 first, then opts1 (which hands the descriptor back) */
    if (!dma_write(s, false, d + 4, wb + 4, 4) || !dma_write(s, false, d, wb, 4))
        return VK_ERANGE;
    cp_rx_advance(s, opts1);
    return VK_OK;
}

static int rtl_receive(vk_port *p, vk_frame *f)
{
    vk_rtl8139 *s = rtl_of(p);
    /* short frames are padded with zeros, and 4 bytes of tailroom kept for
     * a tag that is stripped later (QEMU's MIN_BUF_SIZE + VLAN_HLEN) */
    uint8_t small[RTL_MIN_FRAME + 4];
    const uint8_t *buf = f->data;
    size_t size = f->len;
    if (s->fault.rx) {
        vk_port_drop(p, f, "rtl8139 RX in DMA error state");
        return VK_EDROP;
    }
    if (!rx_enabled(s)) {
        vk_port_drop(p, f, "rtl8139 RX: receiver disabled");
        return VK_EDROP;
    }
    if (size < sizeof small) {
        memset(small, 0, sizeof small);
        memcpy(small, f->data, size);
        buf = small;
        if (size < RTL_MIN_FRAME)
            size = RTL_MIN_FRAME;
    }
    uint16_t cls = rx_dest_class(s, buf);
    if (!rx_accept(s, buf, cls)) {
        vk_port_drop(p, f, "rtl8139 RX filter: not for us");
        return VK_EDROP;
    }
    const char *why = NULL;
    int r = cp_rx_mode(s) ? rx_cplus(s, buf, size, cls, &why) : rx_legacy(s, buf, size, cls, &why);
    if (r != VK_OK) {
        vk_port_drop(p, f, why);
        return r;
    }
    raise(s, VK_RTL_INT_ROK);
    return VK_OK;
}

/* ---- TX -------------------------------------------------------------------- */

static bool tx_enabled(const vk_rtl8139 *s)
{
    return (s->cr & VK_RTL_CR_TE) != 0;
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
    if (!dma_read(s, true, s->tsad[i], buf, size)) {
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
static void cp_l4_csum(uint8_t *f, const vk_ipv4_repr *ip, size_t l4, uint32_t opts1)
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
    (void)vk_offload_csum(f, l4 + l4_len, l4, field);
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
    return vk_offload_tso(f, ip_end, l4 + tcp.hdr_len, mss, tx_emit_segment, tag) > 0;
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
        cp_l4_csum(f, &ip, l4, opts1);
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

/* Processes the current TX descriptor; false when it is not the card's (or
 * on a DMA fault). */
static bool cp_tx_one(vk_rtl8139 *s)
{
    uint64_t d = cp_tx_ring(s) + (uint64_t)s->cp_tx_desc * VK_RTL_DESC_SIZE;
    uint8_t desc[VK_RTL_DESC_SIZE];
    if (!dma_read(s, true, d, desc, sizeof desc))
        return false;
    uint32_t opts1 = le32_at(desc), opts2 = le32_at(desc + 4);
    uint64_t addr = (uint64_t)le32_at(desc + 12) << 32 | le32_at(desc + 8);
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
        if (!dma_read(s, true, addr, s->tx_data + s->tx_size, n))
            return false;
        s->tx_size += n;
    }
    if ((opts1 & VK_RTL_DESC_EOR) || s->cp_tx_desc + 1 >= RTL_CP_RING_MAX)
        s->cp_tx_desc = 0;
    else
        s->cp_tx_desc++;
    /* ownership back; the error summary bits (UNF, TES, OWC, LNKF, EXC)
     * cleared */
    uint8_t wb[4];
    put_le32(wb, opts1 & ~(VK_RTL_DESC_OWN | 1u << 25 | 0x1fu << 19));
    if (!dma_write(s, true, d, wb, 4))
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
        raise(s, VK_RTL_INT_TOK);
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

/* ---- register writes ------------------------------------------------------- */

static void write_cr(vk_rtl8139 *s, uint8_t v)
{
    if (v & VK_RTL_CR_RST)
        card_reset(s);
    if (v & VK_RTL_CR_RE)
        s->cp_rx_desc = 0;
    if (v & VK_RTL_CR_TE)
        s->cp_tx_desc = 0;
    s->cr = (uint8_t)(set_masked(v, 0xe3, s->cr) & ~VK_RTL_CR_RST);
    rx_maybe_flush(s);
}

static bool config_writable(const vk_rtl8139 *s)
{
    return (s->cfg9346 & 0xc0) == VK_RTL_9346_CONFIG_WRITE;
}

static void write_9346(vk_rtl8139 *s, uint8_t v)
{
    v = (uint8_t)set_masked(v, 0x31, s->cfg9346);
    if ((v & 0xc0) == VK_RTL_9346_PROGRAM) {
        eeprom_wires(&s->eeprom, v & VK_RTL_9346_EECS, v & VK_RTL_9346_EESK,
                     v & VK_RTL_9346_EEDI);
    } else if ((v & 0xc0) == 0x40) { /* auto-load: a reset */
        v = 0;
        card_reset(s);
    }
    s->cfg9346 = v;
}

static void write_config(vk_rtl8139 *s, uint8_t *reg, uint8_t v, uint8_t ro_mask, bool gated)
{
    if (gated && !config_writable(s))
        return;
    *reg = (uint8_t)set_masked(v, ro_mask, *reg);
}

static void write_b(vk_rtl8139 *s, uint8_t a, uint8_t v)
{
    if (a < 6) {
        s->phys[a] = v;
        return;
    }
    if (a >= VK_RTL_MAR0 && a < VK_RTL_MAR0 + 8) {
        s->mult[a - VK_RTL_MAR0] = v;
        return;
    }
    switch (a) {
    case VK_RTL_CR:
        write_cr(s, v);
        break;
    case VK_RTL_9346CR:
        write_9346(s, v);
        break;
    case VK_RTL_TCR: /* some drivers write its low byte alone */
        if (tx_enabled(s))
            s->tcr = set_masked((s->tcr & ~0xffu) | v, 0xfcf0f80fu, s->tcr);
        break;
    case VK_RTL_CONFIG0:
        write_config(s, &s->config0, v, 0xf8, true);
        break;
    case VK_RTL_CONFIG1:
        write_config(s, &s->config1, v, 0x0c, true);
        break;
    case VK_RTL_CONFIG3:
        write_config(s, &s->config3, v, 0x8f, true);
        break;
    case VK_RTL_CONFIG4:
        write_config(s, &s->config4, v, 0x0a, true);
        break;
    case VK_RTL_CONFIG5:
        write_config(s, &s->config5, v, 0x80, false);
        break;
    case VK_RTL_ETTHR:
        s->ettthr = v;
        break;
    case VK_RTL_TPPOLL:
        if (v & VK_RTL_TPPOLL_NPQ)
            tx_start(s, true);
        break;
    default:
        break;
    }
}

static bool write_w(vk_rtl8139 *s, uint8_t a, uint16_t v)
{
    switch (a) {
    case VK_RTL_IMR:
        s->imr = (uint16_t)set_masked(v, 0x1e00, s->imr);
        irq_update(s);
        rx_maybe_flush(s);
        return true;
    case VK_RTL_ISR: {
        /* write 1 to clear */
        s->isr = (uint16_t)set_masked(s->isr & ~v, 0x1e00, s->isr);
        irq_update(s);
        rx_maybe_flush(s);
        return true;
    }
    case VK_RTL_MULINT:
        s->multint = (uint16_t)set_masked(v, 0xf000, s->multint);
        return true;
    case VK_RTL_CAPR:
        s->rx_read = (uint32_t)(v + 16u) & (s->rx_buf_size - 1);
        rx_maybe_flush(s);
        return true;
    case VK_RTL_BMCR: /* speed, autonegotiation and duplex are read-only */
        s->bmcr = (uint16_t)set_masked(v, 0x4cff | 0x3000 | 0x0100, s->bmcr);
        return true;
    case VK_RTL_BMSR:
        s->bmsr = (uint16_t)set_masked(v, 0xff3f, s->bmsr);
        return true;
    case VK_RTL_ANAR:
        s->anar = v;
        return true;
    case VK_RTL_ANLPAR:
        return true;
    case VK_RTL_ANER:
        s->aner = v;
        return true;
    case VK_RTL_CPCR:
        s->cplus_enabled = true;
        s->cpcr = (uint16_t)set_masked(v, 0xff84, s->cpcr);
        rx_maybe_flush(s);
        return true;
    case 0xe2: /* IntrMitigate: accepted, not modelled */
        return true;
    default:
        return false;
    }
}

static void write_tsd(vk_rtl8139 *s, unsigned i, uint32_t v)
{
    if (s->cplus_enabled) {
        /* DTCCR in C+ mode: a tally dump completes at once (not modelled) */
        s->tsd[i] = i == 0 ? v & ~0x8u : v;
        return;
    }
    v &= ~0xff00c000u; /* TOK, TUN and the status byte clear on write */
    s->tsd[i] = set_masked(v, 0x00c00000u, s->tsd[i]);
    tx_start(s, false);
}

static bool write_l(vk_rtl8139 *s, uint8_t a, uint32_t v)
{
    if (a >= VK_RTL_TSD0 && a < VK_RTL_TSD0 + 16) {
        if ((a & 3) == 0)
            write_tsd(s, (a - VK_RTL_TSD0) / 4, v);
        return true;
    }
    if (a >= VK_RTL_TSAD0 && a < VK_RTL_TSAD0 + 16) {
        if ((a & 3) == 0) {
            s->tsad[(a - VK_RTL_TSAD0) / 4] = v;
            s->fault.tx = false;
        }
        return true;
    }
    switch (a) {
    case VK_RTL_MPC:
        s->mpc = 0;
        return true;
    case VK_RTL_TCR:
        if (tx_enabled(s)) /* QEMU: ignored while the transmitter is off */
            s->tcr = set_masked(v, 0xfcf0f80fu, s->tcr);
        return true;
    case VK_RTL_RCR:
        s->rcr = set_masked(v, 0xf0fc0040u, s->rcr);
        rx_ring_reset(s);
        rx_maybe_flush(s);
        return true;
    case VK_RTL_RBSTART:
        s->rbstart = v;
        s->fault.rx = false;
        return true;
    case VK_RTL_RDSAR:
        s->rdsar_lo = v;
        s->fault.rx = false;
        rx_maybe_flush(s);
        return true;
    case VK_RTL_RDSAR + 4:
        s->rdsar_hi = v;
        s->fault.rx = false;
        rx_maybe_flush(s);
        return true;
    case VK_RTL_TCTR:
    case 0x54: /* TimerInt: the PCI timer is not modelled */
        return true;
    default:
        return false;
    }
}

void vk_rtl8139_io_write(vk_port *p, uint32_t offset, uint32_t value, unsigned size)
{
    vk_rtl8139 *s = rtl_of(p);
    uint8_t a = (uint8_t)offset;
    if (size == 4 && write_l(s, a, value))
        return;
    if (size == 2 && write_w(s, a, (uint16_t)value))
        return;
    if (size != 1 && size != 2 && size != 4)
        return;
    /* a size the register does not have: byte by byte, as QEMU */
    for (unsigned i = 0; i < size; i++)
        write_b(s, (uint8_t)(a + i), (uint8_t)(value >> (8 * i)));
}

/* ---- register reads -------------------------------------------------------- */

static uint8_t read_b(vk_rtl8139 *s, uint8_t a)
{
    if (a < 6)
        return s->phys[a];
    if (a >= VK_RTL_MAR0 && a < VK_RTL_MAR0 + 8)
        return s->mult[a - VK_RTL_MAR0];
    if (a >= VK_RTL_TSD0 && a < VK_RTL_TSD0 + 16)
        return (uint8_t)(s->tsd[(a - VK_RTL_TSD0) / 4] >> (8 * (a & 3)));
    switch (a) {
    case VK_RTL_CR:
        return (uint8_t)(s->cr | (s->rx_read == s->rx_write ? VK_RTL_CR_BUFE : 0));
    case VK_RTL_9346CR: {
        uint8_t v = s->cfg9346;
        if ((v & 0xc0) == VK_RTL_9346_PROGRAM)
            v = (uint8_t)((v & ~VK_RTL_9346_EEDO) |
                          (s->eeprom.cs && s->eeprom.dout ? VK_RTL_9346_EEDO : 0));
        return v;
    }
    case VK_RTL_CONFIG0:
        return s->config0;
    case VK_RTL_CONFIG1:
        return s->config1;
    case VK_RTL_CONFIG3:
        return s->config3;
    case VK_RTL_CONFIG4:
        return s->config4;
    case VK_RTL_CONFIG5:
        return s->config5;
    case VK_RTL_MSR: /* LINKB is the inverse of the link status */
        return (uint8_t)(0xd0 | (~s->bmsr & 0x04));
    case 0x5b: /* HltClk: the clock always runs */
        return 1;
    case VK_RTL_RERID:
        return RTL_PCI_REVISION;
    case VK_RTL_ETTHR:
        return s->ettthr;
    case 0x43:
        return (uint8_t)(s->tcr >> 24);
    default:
        return 0;
    }
}

static uint16_t tsad_summary(const vk_rtl8139 *s)
{
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

static bool read_w(vk_rtl8139 *s, uint8_t a, uint32_t *out)
{
    if (a >= VK_RTL_TSAD0 && a < VK_RTL_TSAD0 + 16) {
        *out = (a & 1) ? 0 : (s->tsad[(a - VK_RTL_TSAD0) / 4] >> (8 * (a & 2))) & 0xffff;
        return true;
    }
    switch (a) {
    case VK_RTL_IMR:
        *out = s->imr;
        return true;
    case VK_RTL_ISR:
        *out = s->isr;
        return true;
    case VK_RTL_MULINT:
        *out = s->multint;
        return true;
    case VK_RTL_CAPR: /* off by 16, as the hardware */
        *out = (s->rx_read - 16) & 0xffff;
        return true;
    case VK_RTL_CBR:
        *out = s->rx_write & 0xffff;
        return true;
    case VK_RTL_BMCR:
        *out = s->bmcr;
        return true;
    case VK_RTL_BMSR:
        *out = s->bmsr;
        return true;
    case VK_RTL_ANAR:
        *out = s->anar;
        return true;
    case VK_RTL_ANLPAR:
        *out = s->anlpar;
        return true;
    case VK_RTL_ANER:
        *out = s->aner;
        return true;
    case VK_RTL_CPCR:
        *out = s->cpcr;
        return true;
    case 0xe2:
        *out = 0;
        return true;
    case VK_RTL_TSAD:
        *out = tsad_summary(s);
        return true;
    case VK_RTL_CSCR:
        *out = s->cscr;
        return true;
    default:
        return false;
    }
}

static bool read_l(vk_rtl8139 *s, uint8_t a, uint32_t *out)
{
    if (a >= VK_RTL_TSD0 && a < VK_RTL_TSD0 + 16) {
        *out = (a & 3) ? 0 : s->tsd[(a - VK_RTL_TSD0) / 4];
        return true;
    }
    if (a >= VK_RTL_TSAD0 && a < VK_RTL_TSAD0 + 16) {
        *out = (a & 3) ? 0 : s->tsad[(a - VK_RTL_TSAD0) / 4];
        return true;
    }
    switch (a) {
    case VK_RTL_MPC:
        *out = s->mpc & 0xffffff;
        return true;
    case VK_RTL_TCR:
        *out = s->tcr;
        return true;
    case VK_RTL_RCR:
        *out = s->rcr;
        return true;
    case VK_RTL_RBSTART:
        *out = s->rbstart;
        return true;
    case VK_RTL_RDSAR:
        *out = s->rdsar_lo;
        return true;
    case VK_RTL_RDSAR + 4:
        *out = s->rdsar_hi;
        return true;
    case VK_RTL_TCTR:
    case 0x54:
        *out = 0;
        return true;
    default:
        return false;
    }
}

uint32_t vk_rtl8139_io_read(vk_port *p, uint32_t offset, unsigned size)
{
    vk_rtl8139 *s = rtl_of(p);
    uint8_t a = (uint8_t)offset;
    uint32_t v = 0;
    if (size == 4 && read_l(s, a, &v))
        return v;
    if (size == 2 && read_w(s, a, &v))
        return v;
    if (size != 1 && size != 2 && size != 4)
        return 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)read_b(s, (uint8_t)(a + i)) << (8 * i);
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
    raise(s, VK_RTL_INT_PUN);
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
    .receive = rtl_receive,
    .can_receive = rtl_can_receive,
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
