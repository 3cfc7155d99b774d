/*
 * The guest-driver half of the rtl8139 model: what Linux does with the card,
 * reduced to what changes the traffic.  It touches the card only through
 * vk_rtl8139_io_read/write and guest memory, so every frame a test or the
 * replay driver sends crosses real descriptors, slots and registers.
 *
 * Both drivers read the MAC from the 93C46 EEPROM (read_eeprom: 0x8129 at
 * word 0 sizes the addresses, words 7-9 hold the MAC), reset the chip,
 * unlock the config registers, write IDR0-5, and set the RX filter as
 * __cp_set_rx_mode / rtl8139_set_rx_mode do: AB and APM, and AM with the
 * hash bits of the groups a Linux guest with IPv4 and IPv6 up has joined.
 *
 *   mode=cplus (8139cp, the default; QEMU's card is a C+ and Linux binds
 *   8139cp to it): RX and TX descriptor rings, RX buffers of 1536 bytes
 *   (PKT_BUF_SZ), frames sent unpadded in pieces of at most 2048 bytes with
 *   FS/LS, TPPoll.NPQ as the doorbell, IPCS+TCPCS/UDPCS or LGSEN+MSS when
 *   guest-offload asks for them (IPv4 only, as 8139cp).
 *
 *   mode=legacy (8139too): one RX ring buffer (RCR.WRAP set, with the 2 KiB
 *   of spare room 8139too allocates past it; 64 KiB rings wrap instead),
 *   CAPR written as cur_rx - 16 after each frame; four TX slots of 1792
 *   bytes, frames padded to 60 with zeros and those of 1792 bytes or more
 *   dropped, as 8139too does.
 *
 * The card calls our handler when its interrupt line goes up: it acks ISR,
 * reaps RX (each frame, CRC stripped, to vk_nic_deliver_to_guest) and TX
 * completions.  Space goes back to the card at once, or rx-refill-delay
 * later on the virtual clock -- the knob that makes backpressure
 * reproducible.  Differences from Linux, on purpose: the legacy RX loop
 * runs until cur_rx reaches CBR (not until CR.BUFE), so it still sees new
 * frames while CAPR is held back; VLAN tag stripping (CPCR.RxVLAN) is left
 * off, so frames reach the guest as they were on the wire.
 */
#include "core/error.h"
#include "core/net.h"
#include "nics/rtl8139.h"
#include "nics/rtl8139_priv.h"
#include "wire/buf.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/packet.h"
#include "wire/tcp.h"

#include <stdlib.h>
#include <string.h>

#define DRV_CP_RX_BUF 1536 /* 8139cp PKT_BUF_SZ */
#define DRV_CP_TX_BUF 2048
#define DRV_LEGACY_TX_BUF 1792 /* 8139too TX_BUF_SIZE */
#define DRV_LEGACY_RX_PAD (16 + 2048) /* RX_BUF_PAD + RX_BUF_WRAP_PAD */
#define DRV_MTU_FRAME 1514
#define DRV_MIN_FRAME 60

/* cp_intr_mask, cp_rx_intr_mask; rtl8139_intr_mask, RxAckBits */
#define DRV_CP_IMR (VK_RTL_INT_SERR | VK_RTL_INT_PUN | VK_RTL_INT_ROK | VK_RTL_INT_RER | \
                    VK_RTL_INT_RXOVW | VK_RTL_INT_FOVW | VK_RTL_INT_TOK | VK_RTL_INT_TER)
#define DRV_CP_RX_BITS (VK_RTL_INT_ROK | VK_RTL_INT_RER | VK_RTL_INT_RXOVW | VK_RTL_INT_FOVW)
#define DRV_LEGACY_IMR (DRV_CP_IMR | 0x4000)
#define DRV_LEGACY_RX_ACK (VK_RTL_INT_FOVW | VK_RTL_INT_RXOVW | VK_RTL_INT_ROK)
/* RX and TX configuration as the drivers write it: FIFO threshold and DMA
 * burst (8139cp: 5 and 4; 8139too: 7 and 7), IFG 96 bit times. */
#define DRV_CP_RCR (5u << 13 | 4u << 8)
#define DRV_LEGACY_RCR (7u << 13 | 7u << 8)
#define DRV_CP_TCR (3u << 24 | 6u << 8)
#define DRV_LEGACY_TCR (3u << 24 | 6u << 8 | 8u << 4)
#define DRV_LEGACY_TX_FLAG ((256u << 11) & 0x003f0000u) /* early TX threshold */

static uint32_t rd(vk_port *p, uint32_t off, unsigned size)
{
    return vk_rtl8139_io_read(p, off, size);
}

static void wr(vk_port *p, uint32_t off, uint32_t v, unsigned size)
{
    vk_rtl8139_io_write(p, off, v, size);
}

static bool legacy(const vk_rtl8139 *s)
{
    return s->cfg.mode == RTL_MODE_LEGACY;
}

/* ---- EEPROM and bring-up --------------------------------------------------- */

enum { EE_CS = 0x08, EE_SK = 0x04, EE_DI = 0x02, EE_DO = 0x01, EE_ENB = 0x80 | EE_CS };

/* read_eeprom: start bit, opcode 10, address, then 16 data bits, MSB first. */
static uint16_t read_eeprom(vk_port *p, unsigned location, unsigned addr_len)
{
    unsigned cmd = location | 6u << addr_len;
    wr(p, VK_RTL_9346CR, EE_ENB & ~EE_CS, 1);
    wr(p, VK_RTL_9346CR, EE_ENB, 1);
    for (int i = (int)(3 + addr_len) - 1; i >= 0; i--) {
        uint8_t bit = (cmd >> i) & 1 ? EE_DI : 0;
        wr(p, VK_RTL_9346CR, EE_ENB | bit, 1);
        wr(p, VK_RTL_9346CR, EE_ENB | bit | EE_SK, 1);
    }
    wr(p, VK_RTL_9346CR, EE_ENB, 1);
    uint16_t v = 0;
    for (int i = 0; i < 16; i++) {
        wr(p, VK_RTL_9346CR, EE_ENB | EE_SK, 1);
        v = (uint16_t)(v << 1 | (rd(p, VK_RTL_9346CR, 1) & EE_DO));
        wr(p, VK_RTL_9346CR, EE_ENB, 1);
    }
    wr(p, VK_RTL_9346CR, 0, 1);
    return v;
}

static void read_mac(vk_port *p, uint8_t mac[6])
{
    unsigned addr_len = read_eeprom(p, 0, 8) == 0x8129 ? 8 : 6;
    for (unsigned i = 0; i < 3; i++) {
        uint16_t w = read_eeprom(p, 7 + i, addr_len);
        mac[2 * i] = (uint8_t)w;
        mac[2 * i + 1] = (uint8_t)(w >> 8);
    }
}

static void chip_reset(vk_port *p)
{
    wr(p, VK_RTL_CR, VK_RTL_CR_RST, 1);
    for (int i = 0; i < 1000 && (rd(p, VK_RTL_CR, 1) & VK_RTL_CR_RST); i++)
        ;
}

static void write_mac(vk_port *p, const uint8_t mac[6])
{
    wr(p, VK_RTL_9346CR, VK_RTL_9346_CONFIG_WRITE, 1);
    wr(p, VK_RTL_IDR0, (uint32_t)mac[0] | (uint32_t)mac[1] << 8 | (uint32_t)mac[2] << 16 |
                           (uint32_t)mac[3] << 24, 4);
    wr(p, VK_RTL_IDR0 + 4, (uint32_t)mac[4] | (uint32_t)mac[5] << 8, 4);
}

/* __cp_set_rx_mode / rtl8139_set_rx_mode with the groups a Linux guest has
 * joined (vk_nic_guest_groups). */
static void set_rx_mode(vk_port *p, const uint8_t mac[6], uint32_t rcr_base)
{
    vk_mac m, groups[VK_NIC_GUEST_GROUPS];
    memcpy(m.b, mac, 6);
    vk_nic_guest_groups(&m, groups);
    uint32_t filter[2] = {0, 0};
    for (size_t i = 0; i < VK_NIC_GUEST_GROUPS; i++) {
        unsigned bit = vk_eth_mcast_hash6(groups[i].b);
        filter[bit >> 5] |= 1u << (bit & 31);
    }
    uint32_t rcr = rcr_base | VK_RTL_RCR_AB | VK_RTL_RCR_APM | VK_RTL_RCR_AM;
    if (rd(p, VK_RTL_RCR, 4) != rcr)
        wr(p, VK_RTL_RCR, rcr, 4);
    wr(p, VK_RTL_MAR0, filter[0], 4);
    wr(p, VK_RTL_MAR0 + 4, filter[1], 4);
}

static void drv_irq(vk_port *p);
static void refill_timer_cb(void *arg, uint64_t now);

/* ---- C+ (8139cp) ----------------------------------------------------------- */

static uint64_t cp_rx_desc(const rtl_driver *d, unsigned i)
{
    return d->rx_ring_addr + (uint64_t)i * VK_RTL_DESC_SIZE;
}

static uint64_t cp_tx_desc(const rtl_driver *d, unsigned i)
{
    return d->tx_ring_addr + (uint64_t)i * VK_RTL_DESC_SIZE;
}

static int write_desc(vk_rtl8139 *s, uint64_t at, uint32_t opts1, uint32_t opts2, uint64_t buf)
{
    int r = vk_gmem_write_le32(&s->mem, at + 4, opts2);
    if (r == VK_OK)
        r = vk_gmem_write_le64(&s->mem, at + 8, buf);
    if (r == VK_OK) /* opts1 last: it hands the descriptor over */
        r = vk_gmem_write_le32(&s->mem, at, opts1);
    return r;
}

static uint32_t cp_eor(unsigned i, unsigned count)
{
    return i + 1 == count ? VK_RTL_DESC_EOR : 0;
}

/* Hands reaped descriptors back, in ring order after those the card owns. */
static void cp_rx_refill(vk_port *p)
{
    vk_rtl8139 *s = rtl_of(p);
    rtl_driver *d = &s->drv;
    while (d->rx_reaped > 0 && d->rx_posted < s->cfg.rx_buffers) {
        unsigned i = (d->rx_tail + d->rx_posted) % d->rx_count;
        uint32_t opts1 = VK_RTL_DESC_OWN | cp_eor(i, d->rx_count) | DRV_CP_RX_BUF;
        if (write_desc(s, cp_rx_desc(d, i), opts1, 0, d->rx_slot_buf[i]) != VK_OK)
            break;
        d->rx_posted++;
        d->rx_reaped--;
    }
}

static int cp_alloc(vk_rtl8139 *s)
{
    rtl_driver *d = &s->drv;
    d->rx_count = s->cfg.rx_ring;
    d->tx_count = s->cfg.tx_ring;
    d->rx_ring_addr = vk_gmem_alloc(&s->mem, (uint64_t)d->rx_count * VK_RTL_DESC_SIZE, 256);
    d->tx_ring_addr = vk_gmem_alloc(&s->mem, (uint64_t)d->tx_count * VK_RTL_DESC_SIZE, 256);
    d->rx_slot_buf = calloc(d->rx_count, sizeof *d->rx_slot_buf);
    d->tx_slot_buf = calloc(d->tx_count, sizeof *d->tx_slot_buf);
    d->tx_last = calloc(d->tx_count, sizeof *d->tx_last);
    d->frame = malloc(VK_FRAME_MAX);
    if (d->rx_ring_addr == 0 || d->tx_ring_addr == 0 || d->rx_slot_buf == NULL ||
        d->tx_slot_buf == NULL || d->tx_last == NULL || d->frame == NULL)
        return VK_ENOMEM;
    for (unsigned i = 0; i < d->rx_count; i++)
        if ((d->rx_slot_buf[i] = vk_gmem_alloc(&s->mem, DRV_CP_RX_BUF, 64)) == 0)
            return VK_ENOMEM;
    for (unsigned i = 0; i < d->tx_count; i++)
        if ((d->tx_slot_buf[i] = vk_gmem_alloc(&s->mem, DRV_CP_TX_BUF, 64)) == 0)
            return VK_ENOMEM;
    /* cp_init_rings: TX descriptors empty but for the ring end; the RX
     * buffers handed to the card */
    for (unsigned i = 0; i < d->tx_count; i++)
        if (write_desc(s, cp_tx_desc(d, i), cp_eor(i, d->tx_count), 0, 0) != VK_OK)
            return VK_ERANGE;
    for (unsigned i = 0; i < d->rx_count; i++)
        if (write_desc(s, cp_rx_desc(d, i), cp_eor(i, d->rx_count) | DRV_CP_RX_BUF, 0,
                       d->rx_slot_buf[i]) != VK_OK)
            return VK_ERANGE;
    d->rx_reaped = s->cfg.rx_buffers;
    cp_rx_refill(s->port);
    return VK_OK;
}

/* cp_init_hw + cp_start_hw + cp_enable_irq */
static int cp_init(vk_port *p, const uint8_t mac[6])
{
    vk_rtl8139 *s = rtl_of(p);
    int r = cp_alloc(s);
    if (r != VK_OK)
        return r;
    rtl_driver *d = &s->drv;
    chip_reset(p);
    write_mac(p, mac);
    wr(p, VK_RTL_CPCR, 0x0008 | VK_RTL_CPCR_RXCHKSUM | VK_RTL_CPCR_RXENB | VK_RTL_CPCR_TXENB,
       2); /* PCIMulRW */
    wr(p, VK_RTL_THPDS, 0, 4);
    wr(p, VK_RTL_THPDS + 4, 0, 4);
    wr(p, VK_RTL_RDSAR, (uint32_t)d->rx_ring_addr, 4);
    wr(p, VK_RTL_RDSAR + 4, (uint32_t)(d->rx_ring_addr >> 32), 4);
    wr(p, VK_RTL_TNPDS, (uint32_t)d->tx_ring_addr, 4);
    wr(p, VK_RTL_TNPDS + 4, (uint32_t)(d->tx_ring_addr >> 32), 4);
    wr(p, VK_RTL_CR, VK_RTL_CR_RE | VK_RTL_CR_TE, 1);
    wr(p, VK_RTL_ETTHR, 0x06, 1);
    set_rx_mode(p, mac, DRV_CP_RCR);
    wr(p, VK_RTL_TCR, DRV_CP_TCR, 4);
    wr(p, VK_RTL_CONFIG1, rd(p, VK_RTL_CONFIG1, 1) | 0x20 | 0x01, 1); /* DriverLoaded, PMEnable */
    wr(p, VK_RTL_CONFIG3, 0x40, 1);                                  /* PARMEnable */
    wr(p, VK_RTL_CONFIG5, rd(p, VK_RTL_CONFIG5, 1) & 0x01, 1);
    wr(p, VK_RTL_MULINT, 0, 2);
    wr(p, VK_RTL_9346CR, 0, 1);
    return VK_OK;
}

/* cp_rx_poll: every descriptor the card handed back. */
static void cp_rx(vk_port *p)
{
    vk_rtl8139 *s = rtl_of(p);
    rtl_driver *d = &s->drv;
    wr(p, VK_RTL_ISR, DRV_CP_RX_BITS, 2);
    while (d->rx_posted > 0) {
        unsigned i = d->rx_tail;
        uint32_t opts1;
        if (vk_gmem_read_le32(&s->mem, cp_rx_desc(d, i), &opts1) != VK_OK ||
            (opts1 & VK_RTL_DESC_OWN))
            break;
        size_t len = opts1 & VK_RTL_RXD_SIZE_MASK;
        bool whole = (opts1 & (VK_RTL_DESC_FS | VK_RTL_DESC_LS)) ==
                     (VK_RTL_DESC_FS | VK_RTL_DESC_LS);
        if (!whole || len <= 4 || len > DRV_CP_RX_BUF ||
            vk_gmem_read(&s->mem, d->rx_slot_buf[i], d->frame, len - 4) != VK_OK) {
            d->stats.rx_errors++;
        } else {
            d->stats.rx_delivered++;
            vk_nic_deliver_to_guest(p, d->frame, len - 4);
        }
        d->rx_tail = (i + 1) % d->rx_count;
        d->rx_posted--;
        d->rx_reaped++;
    }
}

/* cp_tx: frames whose descriptors the card handed back. */
static void cp_tx_clean(vk_port *p)
{
    vk_rtl8139 *s = rtl_of(p);
    rtl_driver *d = &s->drv;
    while (d->tx_tail != d->tx_head) {
        unsigned last = d->tx_last[d->tx_tail];
        uint32_t opts1;
        if (vk_gmem_read_le32(&s->mem, cp_tx_desc(d, last), &opts1) != VK_OK ||
            (opts1 & VK_RTL_DESC_OWN))
            break;
        d->tx_tail = (last + 1) % d->tx_count;
    }
}

static unsigned cp_tx_free(const rtl_driver *d)
{
    unsigned used = (d->tx_head + d->tx_count - d->tx_tail) % d->tx_count;
    return d->tx_count - 1 - used;
}

/* Where the transport header of an IPv4 TCP/UDP frame is (8139cp offloads
 * IPv4 only). */
typedef struct l4_info {
    vk_ipv4_repr ip;
    size_t l4, hdr_len; /* hdr_len: through the TCP header (TCP only) */
} l4_info;

static bool find_l4(const uint8_t *f, size_t len, l4_info *o)
{
    vk_pkt k;
    if (vk_pkt_locate(f, len, &k) != VK_OK || k.eth.has_vlan || k.l3 != 4 || k.frag)
        return false;
    o->ip = k.ip4;
    o->l4 = k.l4_off;
    if (o->ip.proto == VK_IP_PROTO_UDP)
        return o->ip.payload_len >= 8;
    vk_tcp_repr tcp;
    if (o->ip.proto != VK_IP_PROTO_TCP ||
        vk_tcp_parse(o->ip.payload, o->ip.payload_len, &tcp) != VK_OK)
        return false;
    o->hdr_len = o->l4 + tcp.hdr_len;
    return true;
}

/* The offload bits for opts1 (cp_start_xmit); `frame` is our private copy,
 * whose checksum field gets the pseudo-header seed (CHECKSUM_PARTIAL). */
static uint32_t cp_plan(const vk_rtl8139 *s, uint8_t *frame, size_t len, bool *large)
{
    l4_info l;
    *large = false;
    if (s->cfg.offload == VK_NIC_OFFLOAD_NONE || !find_l4(frame, len, &l))
        return 0;
    bool tcp = l.ip.proto == VK_IP_PROTO_TCP;
    if (s->cfg.offload == VK_NIC_OFFLOAD_TSO && tcp && len > DRV_MTU_FRAME &&
        l.hdr_len - VK_ETH_HLEN < 1500) {
        *large = true;
        uint32_t mss = (uint32_t)(1500 - (l.hdr_len - VK_ETH_HLEN));
        return VK_RTL_TXD_LGSEN | mss << VK_RTL_TXD_MSS_SHIFT;
    }
    uint32_t pseudo = vk_csum_add_len(vk_csum_pseudo4(&l.ip.src, &l.ip.dst, l.ip.proto),
                                      l.ip.payload_len);
    vk_put_be16(frame + l.l4 + (tcp ? 16 : 6), (uint16_t)~vk_csum_finish(pseudo));
    return VK_RTL_TXD_IPCS | (tcp ? VK_RTL_TXD_TCPCS : VK_RTL_TXD_UDPCS);
}

/* The frame in pieces of at most 2048 bytes, FS on the first, LS on the
 * last; the first descriptor is handed over last, as 8139cp does. */
static int cp_queue(vk_port *p, const uint8_t *frame, size_t len, uint32_t offload)
{
    vk_rtl8139 *s = rtl_of(p);
    rtl_driver *d = &s->drv;
    unsigned first = d->tx_head, i = first, last = first;
    for (size_t off = 0; off < len; off += DRV_CP_TX_BUF) {
        size_t n = len - off < DRV_CP_TX_BUF ? len - off : DRV_CP_TX_BUF;
        if (vk_gmem_write(&s->mem, d->tx_slot_buf[i], frame + off, n) != VK_OK)
            return VK_ERANGE;
        uint32_t opts1 = offload | cp_eor(i, d->tx_count) | (uint32_t)n;
        if (off == 0)
            opts1 |= VK_RTL_DESC_FS;
        if (off + n == len)
            opts1 |= VK_RTL_DESC_LS;
        if (i != first)
            opts1 |= VK_RTL_DESC_OWN;
        if (write_desc(s, cp_tx_desc(d, i), opts1, 0, d->tx_slot_buf[i]) != VK_OK)
            return VK_ERANGE;
        last = i;
        i = (i + 1) % d->tx_count;
    }
    uint32_t opts1;
    if (vk_gmem_read_le32(&s->mem, cp_tx_desc(d, first), &opts1) != VK_OK ||
        vk_gmem_write_le32(&s->mem, cp_tx_desc(d, first), opts1 | VK_RTL_DESC_OWN) != VK_OK)
        return VK_ERANGE;
    d->tx_last[first] = last;
    d->tx_head = i;
    d->stats.tx_sent++;
    wr(p, VK_RTL_TPPOLL, VK_RTL_TPPOLL_NPQ, 1);
    return VK_OK;
}

static int cp_send(vk_port *p, const uint8_t *data, size_t len)
{
    vk_rtl8139 *s = rtl_of(p);
    rtl_driver *d = &s->drv;
    cp_tx_clean(p);
    unsigned need = (unsigned)((len + DRV_CP_TX_BUF - 1) / DRV_CP_TX_BUF);
    if (need > cp_tx_free(d)) {
        d->stats.tx_busy++;
        return VK_EAGAIN;
    }
    uint8_t *frame = malloc(len);
    if (frame == NULL)
        return VK_ENOMEM;
    memcpy(frame, data, len);
    bool large;
    uint32_t offload = cp_plan(s, frame, len, &large);
    int r = cp_queue(p, frame, len, offload);
    if (r == VK_OK && large)
        d->stats.tx_large_send++;
    free(frame);
    return r;
}

/* ---- legacy (8139too) ------------------------------------------------------ */

static uint32_t legacy_rcr(const vk_rtl8139 *s)
{
    uint32_t len = s->cfg.rx_ring_bytes;
    uint32_t rblen = len == 8192 ? 0 : len == 16384 ? 1 : len == 32768 ? 2 : 3;
    uint32_t rcr = DRV_LEGACY_RCR | rblen << VK_RTL_RCR_RBLEN_SHIFT;
    return len == 65536 ? rcr : rcr | VK_RTL_RCR_WRAP;
}

static int legacy_alloc(vk_rtl8139 *s)
{
    rtl_driver *d = &s->drv;
    uint32_t len = s->cfg.rx_ring_bytes;
    uint64_t total = len + (len == 65536 ? 16 : DRV_LEGACY_RX_PAD);
    d->ring_addr = vk_gmem_alloc(&s->mem, total, 16);
    d->frame = malloc(VK_FRAME_MAX);
    if (d->ring_addr == 0 || d->frame == NULL)
        return VK_ENOMEM;
    for (int i = 0; i < 4; i++)
        if ((d->tx_buf[i] = vk_gmem_alloc(&s->mem, DRV_LEGACY_TX_BUF, 16)) == 0)
            return VK_ENOMEM;
    return VK_OK;
}

/* The RX registers as rtl8139_hw_start and rtl8139_rx_err set them. */
static void legacy_rx_setup(vk_port *p, const uint8_t mac[6])
{
    vk_rtl8139 *s = rtl_of(p);
    wr(p, VK_RTL_CR, VK_RTL_CR_RE | VK_RTL_CR_TE, 1);
    wr(p, VK_RTL_RCR, legacy_rcr(s) | VK_RTL_RCR_AB | VK_RTL_RCR_APM, 4);
    s->drv.cur_rx = 0;
    s->drv.capr_pending = false;
    wr(p, VK_RTL_RBSTART, (uint32_t)s->drv.ring_addr, 4);
    set_rx_mode(p, mac, legacy_rcr(s));
}

/* rtl8139_hw_start */
static int legacy_init(vk_port *p, const uint8_t mac[6])
{
    vk_rtl8139 *s = rtl_of(p);
    int r = legacy_alloc(s);
    if (r != VK_OK)
        return r;
    chip_reset(p);
    write_mac(p, mac);
    legacy_rx_setup(p, mac);
    wr(p, VK_RTL_TCR, DRV_LEGACY_TCR, 4);
    wr(p, VK_RTL_9346CR, 0, 1);
    for (uint32_t i = 0; i < 4; i++)
        wr(p, VK_RTL_TSAD0 + 4 * i, (uint32_t)s->drv.tx_buf[i], 4);
    wr(p, VK_RTL_MPC, 0, 4);
    wr(p, VK_RTL_MULINT, rd(p, VK_RTL_MULINT, 2) & 0xf000, 2);
    return VK_OK;
}

/* rtl8139_rx_err: receiver off and on, RX registers set up again. */
static void legacy_rx_reset(vk_port *p)
{
    vk_rtl8139 *s = rtl_of(p);
    s->drv.stats.rx_errors++;
    wr(p, VK_RTL_CR, VK_RTL_CR_TE, 1);
    wr(p, VK_RTL_9346CR, VK_RTL_9346_CONFIG_WRITE, 1);
    legacy_rx_setup(p, s->nic.mac.b);
    wr(p, VK_RTL_9346CR, 0, 1);
}

/* Copies len bytes at ring offset off: linearly into the spare room when
 * the card writes past the end (RCR.WRAP), else wrapping at the end. */
static bool legacy_ring_read(vk_rtl8139 *s, uint32_t off, uint8_t *dst, size_t len)
{
    rtl_driver *d = &s->drv;
    uint32_t n = s->cfg.rx_ring_bytes;
    if (n < 65536 || off + len <= n)
        return vk_gmem_read(&s->mem, d->ring_addr + off, dst, len) == VK_OK;
    size_t first = n - off;
    return vk_gmem_read(&s->mem, d->ring_addr + off, dst, first) == VK_OK &&
           vk_gmem_read(&s->mem, d->ring_addr, dst + first, len - first) == VK_OK;
}

static void legacy_give_back(vk_port *p)
{
    rtl_driver *d = &rtl_of(p)->drv;
    wr(p, VK_RTL_CAPR, (uint16_t)(d->capr_target - 16), 2);
    d->capr_pending = false;
}

/* rtl8139_rx: every frame between cur_rx and CBR. */
static void legacy_rx(vk_port *p)
{
    vk_rtl8139 *s = rtl_of(p);
    rtl_driver *d = &s->drv;
    uint32_t n = s->cfg.rx_ring_bytes;
    for (unsigned guard = 0; guard < n / 8; guard++) {
        uint32_t off = d->cur_rx % n;
        if (off == rd(p, VK_RTL_CBR, 2))
            break;
        uint8_t hdr[4];
        if (!legacy_ring_read(s, off, hdr, 4)) {
            legacy_rx_reset(p);
            return;
        }
        uint32_t status = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8;
        size_t rx_size = (size_t)hdr[2] | (size_t)hdr[3] << 8;
        if (rx_size > DRV_LEGACY_TX_BUF + 4 || rx_size < 8 || !(status & VK_RTL_RX_ROK) ||
            !legacy_ring_read(s, (off + 4) % n, d->frame, rx_size - 4)) {
            legacy_rx_reset(p);
            return;
        }
        d->stats.rx_delivered++;
        d->cur_rx = (d->cur_rx + (uint32_t)rx_size + 4 + 3) & ~3u;
        d->capr_target = d->cur_rx;
        d->capr_pending = true;
        if (s->cfg.rx_refill_delay == 0)
            legacy_give_back(p);
        vk_nic_deliver_to_guest(p, d->frame, rx_size - 4);
        wr(p, VK_RTL_ISR, DRV_LEGACY_RX_ACK, 2);
    }
    if (d->capr_pending && s->cfg.rx_refill_delay > 0 && !vk_timer_pending(d->refill_timer))
        vk_timer_arm(d->refill_timer,
                     vk_loop_now(vk_net_loop(p->net)) + s->cfg.rx_refill_delay);
}

/* rtl8139_tx_interrupt */
static void legacy_tx_clean(vk_port *p)
{
    rtl_driver *d = &rtl_of(p)->drv;
    while (d->dirty_tx != d->cur_tx) {
        unsigned entry = d->dirty_tx % 4;
        uint32_t st = rd(p, VK_RTL_TSD0 + 4 * entry, 4);
        if (!(st & (VK_RTL_TSD_TOK | VK_RTL_TSD_TUN | VK_RTL_TSD_TABT)))
            break;
        d->dirty_tx++;
    }
}

/* rtl8139_start_xmit */
static int legacy_send(vk_port *p, const uint8_t *data, size_t len)
{
    vk_rtl8139 *s = rtl_of(p);
    rtl_driver *d = &s->drv;
    if (len >= DRV_LEGACY_TX_BUF) {
        d->stats.tx_dropped++;
        return VK_EINVAL;
    }
    legacy_tx_clean(p);
    if (d->cur_tx - d->dirty_tx >= 4) {
        d->stats.tx_busy++;
        return VK_EAGAIN;
    }
    unsigned entry = d->cur_tx % 4;
    uint8_t buf[DRV_LEGACY_TX_BUF];
    size_t out = len < DRV_MIN_FRAME ? DRV_MIN_FRAME : len;
    memset(buf, 0, out);
    memcpy(buf, data, len);
    if (vk_gmem_write(&s->mem, d->tx_buf[entry], buf, out) != VK_OK)
        return VK_ERANGE;
    d->cur_tx++;
    d->stats.tx_sent++;
    wr(p, VK_RTL_TSD0 + 4 * entry, DRV_LEGACY_TX_FLAG | (uint32_t)out, 4);
    return VK_OK;
}

/* ---- shared ---------------------------------------------------------------- */

static void refill_timer_cb(void *arg, uint64_t now)
{
    (void)now;
    vk_port *p = arg;
    vk_rtl8139 *s = rtl_of(p);
    if (legacy(s)) {
        if (s->drv.capr_pending)
            legacy_give_back(p);
        return;
    }
    cp_rx_refill(p);
    /* as at the end of a NAPI poll: interrupts back on, which is also
     * when the card looks at the ring again */
    wr(p, VK_RTL_IMR, DRV_CP_IMR, 2);
}

static int drv_probe(vk_port *p)
{
    vk_rtl8139 *s = rtl_of(p);
    rtl_driver *d = &s->drv;
    uint8_t mac[6];
    read_mac(p, mac);
    if (s->cfg.rx_refill_delay > 0) {
        d->refill_timer = vk_timer_new(vk_net_loop(p->net), refill_timer_cb, p);
        if (d->refill_timer == NULL)
            return VK_ENOMEM;
    }
    int r = legacy(s) ? legacy_init(p, mac) : cp_init(p, mac);
    if (r != VK_OK)
        return r;
    vk_nic_request_irq(p, drv_irq);
    d->up = true;
    wr(p, VK_RTL_IMR, legacy(s) ? DRV_LEGACY_IMR : DRV_CP_IMR, 2);
    return VK_OK;
}

static void drv_remove(vk_port *p)
{
    rtl_driver *d = &rtl_of(p)->drv;
    if (d->refill_timer != NULL)
        vk_timer_free(d->refill_timer);
    free(d->rx_slot_buf);
    free(d->tx_slot_buf);
    free(d->tx_last);
    free(d->frame);
    memset(d, 0, sizeof *d);
}

static int drv_send(vk_port *p, const uint8_t *data, size_t len)
{
    vk_rtl8139 *s = rtl_of(p);
    if (!s->drv.up)
        return VK_EUNSUPP;
    if (len < VK_ETH_HLEN || len > VK_FRAME_MAX)
        return VK_EINVAL;
    return legacy(s) ? legacy_send(p, data, len) : cp_send(p, data, len);
}

static const vk_nic_guest_ops guest_ops = {
    .send = drv_send,
};

/* One pass of the handler (cp_interrupt + cp_rx_poll; rtl8139_interrupt +
 * rtl8139_poll). */
static void drv_irq_once(vk_port *p)
{
    vk_rtl8139 *s = rtl_of(p);
    uint16_t status = (uint16_t)rd(p, VK_RTL_ISR, 2);
    s->drv.stats.irqs++;
    if (legacy(s)) {
        uint16_t ack = status & (uint16_t)~DRV_LEGACY_RX_ACK;
        if (ack)
            wr(p, VK_RTL_ISR, ack, 2);
        legacy_rx(p);
        legacy_tx_clean(p);
        return;
    }
    uint16_t ack = status & (uint16_t)~DRV_CP_RX_BITS;
    if (ack)
        wr(p, VK_RTL_ISR, ack, 2);
    cp_rx(p);
    if (s->cfg.rx_refill_delay == 0)
        cp_rx_refill(p);
    else if (s->drv.rx_reaped > 0 && !vk_timer_pending(s->drv.refill_timer))
        vk_timer_arm(s->drv.refill_timer,
                     vk_loop_now(vk_net_loop(p->net)) + s->cfg.rx_refill_delay);
    cp_tx_clean(p);
}

static void drv_irq_round(vk_port *p)
{
    drv_irq_once(p);
    /* napi_complete: interrupts on again, and the card re-checks its ring
     * (frames it takes now make us go round again) */
    if (!legacy(rtl_of(p)))
        wr(p, VK_RTL_IMR, DRV_CP_IMR, 2);
}

static void drv_irq(vk_port *p)
{
    rtl_driver *d = &rtl_of(p)->drv;
    if (d->up)
        vk_nic_irq_run(&d->irq, p, drv_irq_round);
}

void vk_rtl8139_driver_poll(vk_port *p)
{
    drv_irq(p);
}

const vk_rtl8139_driver_stats *vk_rtl8139_driver_stats_of(vk_port *p)
{
    return &rtl_of(p)->drv.stats;
}

/* The pairing's driver side (nics/registry.c): the card knows none of it. */
const vk_nic_driver vk_rtl8139_driver = {
    .probe = drv_probe,
    .remove = drv_remove,
    .ops = &guest_ops,
};
