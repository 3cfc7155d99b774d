/*
 * The guest-driver half of the e1000 model: what Linux's e1000 driver does
 * with an 82540EM, reduced to what changes the traffic.  It touches the card
 * only through vk_e1000_mmio_read/write and guest memory, so every frame a
 * test or the replay driver sends crosses real descriptors and doorbells.
 *
 * Bring-up (e1000_reset_hw, e1000_read_mac_addr, e1000_configure): reset,
 * MAC from the EEPROM (checksum verified), RAL/RAH[0], MTA cleared, TX and RX
 * rings in guest memory, RX buffers of 2048 bytes posted, RCTL/TCTL enabled,
 * interrupts unmasked.  The card calls our handler when its interrupt line
 * goes up: it reaps RX (each frame to vk_nic_deliver_to_guest) and TX
 * completions.  Reaped RX buffers go back on the ring at once, or after
 * rx-refill-delay on the virtual clock -- the knob that makes backpressure
 * reproducible.
 *
 * One difference from Linux, on purpose: RDT is written as "one past the last
 * posted descriptor", so rx-buffers=N means N frames fit, exactly.
 */
#include "core/error.h"
#include "core/net.h"
#include "nics/e1000.h"
#include "nics/e1000_priv.h"
#include "wire/buf.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/packet.h"
#include "wire/tcp.h"

#include <stdlib.h>
#include <string.h>

#define DRV_RX_BUF 2048
#define DRV_TX_BUF 4096 /* Linux: E1000_MAX_DATA_PER_TXD */
#define DRV_MTU_FRAME 1514
#define DRV_IMS (VK_E1000_ICR_RXT0 | VK_E1000_ICR_TXDW | VK_E1000_ICR_RXDMT0 | \
                 VK_E1000_ICR_RXSEQ | VK_E1000_ICR_LSC)

static uint32_t rd(vk_port *p, uint32_t off)
{
    return vk_e1000_mmio_read(p, off);
}

static void wr(vk_port *p, uint32_t off, uint32_t v)
{
    vk_e1000_mmio_write(p, off, v);
}

/* ---- bring-up ------------------------------------------------------------ */

static uint16_t eeprom_word(vk_port *p, unsigned index)
{
    wr(p, VK_E1000_EERD, VK_E1000_EERD_START | index << VK_E1000_EERD_ADDR_SHIFT);
    return (uint16_t)(rd(p, VK_E1000_EERD) >> VK_E1000_EERD_DATA_SHIFT);
}

/* e1000_validate_eeprom_checksum + e1000_read_mac_addr */
static int read_mac(vk_port *p, uint8_t mac[6])
{
    uint16_t sum = 0;
    for (unsigned i = 0; i < E1K_EEPROM_WORDS; i++)
        sum = (uint16_t)(sum + eeprom_word(p, i));
    if (sum != 0xbaba)
        return VK_EFORMAT;
    for (unsigned i = 0; i < 3; i++) {
        uint16_t w = eeprom_word(p, i);
        mac[2 * i] = (uint8_t)w;
        mac[2 * i + 1] = (uint8_t)(w >> 8);
    }
    return VK_OK;
}

static void program_addresses(vk_port *p, const uint8_t mac[6])
{
    wr(p, VK_E1000_RAL0, (uint32_t)mac[0] | (uint32_t)mac[1] << 8 | (uint32_t)mac[2] << 16 |
                             (uint32_t)mac[3] << 24);
    wr(p, VK_E1000_RAH0, (uint32_t)mac[4] | (uint32_t)mac[5] << 8 | VK_E1000_RAH_AV);
    for (uint32_t i = 1; i < 16; i++) {
        wr(p, VK_E1000_RAL0 + 8 * i, 0);
        wr(p, VK_E1000_RAH0 + 8 * i, 0);
    }
    for (uint32_t i = 0; i < 128; i++)
        wr(p, VK_E1000_MTA + 4 * i, 0);
}

/* Sets the MTA bit for a multicast group (e1000_hash_mc_addr, filter type 0
 * = RCTL.MO 0: bits 47..36 of the address). */
static void join_group(vk_port *p, const uint8_t group[6])
{
    uint32_t h = ((uint32_t)(group[5] << 8 | group[4]) >> 4) & 0xfff;
    uint32_t off = VK_E1000_MTA + 4 * (h >> 5);
    wr(p, off, rd(p, off) | 1u << (h & 31));
}

static void join_default_groups(vk_port *p, const uint8_t mac[6])
{
    vk_mac m, groups[VK_NIC_GUEST_GROUPS];
    memcpy(m.b, mac, 6);
    vk_nic_guest_groups(&m, groups);
    for (size_t i = 0; i < VK_NIC_GUEST_GROUPS; i++)
        join_group(p, groups[i].b);
}

static int alloc_rings(vk_e1000 *s)
{
    e1k_driver *d = &s->drv;
    d->rx_count = s->cfg.rx_ring;
    d->tx_count = s->cfg.tx_ring;
    d->rx_ring_addr = vk_gmem_alloc(&s->mem, (uint64_t)d->rx_count * VK_E1000_DESC_SIZE, 4096);
    d->tx_ring_addr = vk_gmem_alloc(&s->mem, (uint64_t)d->tx_count * VK_E1000_DESC_SIZE, 4096);
    d->rx_slot_buf = calloc(d->rx_count, sizeof *d->rx_slot_buf);
    d->rx_free = calloc(s->cfg.rx_buffers, sizeof *d->rx_free);
    d->tx_slot_buf = calloc(d->tx_count, sizeof *d->tx_slot_buf);
    d->tx_eop = calloc(d->tx_count, sizeof *d->tx_eop);
    d->rx_frame = malloc(VK_FRAME_MAX);
    if (d->rx_ring_addr == 0 || d->tx_ring_addr == 0 || d->rx_slot_buf == NULL ||
        d->rx_free == NULL || d->tx_slot_buf == NULL || d->tx_eop == NULL || d->rx_frame == NULL)
        return VK_ENOMEM;
    for (unsigned i = 0; i < s->cfg.rx_buffers; i++) {
        uint64_t b = vk_gmem_alloc(&s->mem, DRV_RX_BUF, 64);
        if (b == 0)
            return VK_ENOMEM;
        d->rx_free[d->rx_nfree++] = b;
    }
    for (unsigned i = 0; i < d->tx_count; i++)
        if ((d->tx_slot_buf[i] = vk_gmem_alloc(&s->mem, DRV_TX_BUF, 64)) == 0)
            return VK_ENOMEM;
    return VK_OK;
}

static void configure_tx(vk_port *p, const e1k_driver *d)
{
    wr(p, VK_E1000_TDBAL, (uint32_t)d->tx_ring_addr);
    wr(p, VK_E1000_TDBAH, (uint32_t)(d->tx_ring_addr >> 32));
    wr(p, VK_E1000_TDLEN, d->tx_count * VK_E1000_DESC_SIZE);
    wr(p, VK_E1000_TDH, 0);
    wr(p, VK_E1000_TDT, 0);
    wr(p, VK_E1000_TIPG, 10 | 10 << 10 | 10 << 20); /* Linux's copper defaults */
    /* collision threshold 15 and distance 64, as e1000_configure_tx */
    wr(p, VK_E1000_TCTL, VK_E1000_TCTL_EN | VK_E1000_TCTL_PSP | 0xfu << 4 | 0x40u << 12);
}

static void configure_rx(vk_port *p, const e1k_driver *d)
{
    wr(p, VK_E1000_RCTL, 0);
    wr(p, VK_E1000_RDBAL, (uint32_t)d->rx_ring_addr);
    wr(p, VK_E1000_RDBAH, (uint32_t)(d->rx_ring_addr >> 32));
    wr(p, VK_E1000_RDLEN, d->rx_count * VK_E1000_DESC_SIZE);
    wr(p, VK_E1000_RDH, 0);
    wr(p, VK_E1000_RDT, 0);
    /* 2048-byte buffers, broadcast accepted, MO 0, FCS left in the length */
    wr(p, VK_E1000_RCTL, VK_E1000_RCTL_EN | VK_E1000_RCTL_BAM);
}

static void drv_irq(vk_port *p);
static void rx_refill(vk_port *p);

static void refill_timer_cb(void *arg, uint64_t now)
{
    (void)now;
    rx_refill(arg);
}

static int drv_probe(vk_port *p)
{
    vk_e1000 *s = e1k_of(p);
    e1k_driver *d = &s->drv;
    /* e1000_reset_hw: mask interrupts, stop RX/TX, global reset */
    wr(p, VK_E1000_IMC, 0xffffffff);
    wr(p, VK_E1000_RCTL, 0);
    wr(p, VK_E1000_TCTL, VK_E1000_TCTL_PSP);
    wr(p, VK_E1000_CTRL, rd(p, VK_E1000_CTRL) | VK_E1000_CTRL_RST);
    wr(p, VK_E1000_IMC, 0xffffffff);
    (void)rd(p, VK_E1000_ICR);
    uint8_t mac[6];
    int r = read_mac(p, mac);
    if (r != VK_OK)
        return r;
    program_addresses(p, mac);
    join_default_groups(p, mac);
    if ((r = alloc_rings(s)) != VK_OK)
        return r;
    if (s->cfg.rx_refill_delay > 0) {
        d->refill_timer = vk_timer_new(vk_net_loop(p->net), refill_timer_cb, p);
        if (d->refill_timer == NULL)
            return VK_ENOMEM;
    }
    vk_nic_request_irq(p, drv_irq);
    configure_tx(p, d);
    configure_rx(p, d);
    d->up = true;
    rx_refill(p);
    wr(p, VK_E1000_IMS, DRV_IMS);
    return VK_OK;
}

static void drv_remove(vk_port *p)
{
    e1k_driver *d = &e1k_of(p)->drv;
    if (d->refill_timer != NULL)
        vk_timer_free(d->refill_timer);
    free(d->rx_slot_buf);
    free(d->rx_free);
    free(d->tx_slot_buf);
    free(d->tx_eop);
    free(d->rx_frame);
    memset(d, 0, sizeof *d);
}

/* ---- RX ------------------------------------------------------------------ */

static uint64_t rx_desc(const e1k_driver *d, unsigned i)
{
    return d->rx_ring_addr + (uint64_t)i * VK_E1000_DESC_SIZE;
}

/* e1000_alloc_rx_buffers: every free buffer back on the ring, then RDT. */
static void rx_refill(vk_port *p)
{
    vk_e1000 *s = e1k_of(p);
    e1k_driver *d = &s->drv;
    unsigned posted = 0;
    while (d->rx_nfree > 0 && (d->rx_next_to_use + 1) % d->rx_count != d->rx_next_to_clean) {
        unsigned i = d->rx_next_to_use;
        uint64_t buf = d->rx_free[--d->rx_nfree];
        uint8_t desc[VK_E1000_DESC_SIZE] = {0};
        for (int b = 0; b < 8; b++)
            desc[b] = (uint8_t)(buf >> (8 * b));
        if (vk_gmem_write(&s->mem, rx_desc(d, i), desc, sizeof desc) != VK_OK) {
            d->rx_free[d->rx_nfree++] = buf;
            break;
        }
        d->rx_slot_buf[i] = buf;
        d->rx_next_to_use = (i + 1) % d->rx_count;
        posted++;
    }
    if (posted > 0)
        wr(p, VK_E1000_RDT, d->rx_next_to_use);
}

/* Appends one descriptor's bytes to the frame being reassembled. */
static void rx_collect(vk_e1000 *s, uint64_t buf, size_t len)
{
    e1k_driver *d = &s->drv;
    if (len > DRV_RX_BUF)
        len = DRV_RX_BUF;
    if (buf == 0 || len > VK_FRAME_MAX - d->rx_frame_len ||
        vk_gmem_read(&s->mem, buf, d->rx_frame + d->rx_frame_len, len) != VK_OK) {
        d->rx_frame_bad = true;
        return;
    }
    d->rx_frame_len += len;
}

/* The frame is complete: strip the FCS the card counted (RCTL.SECRC is
 * off, as in Linux's e1000) and hand it to the guest. */
static void rx_finish(vk_port *p, uint8_t errors)
{
    e1k_driver *d = &e1k_of(p)->drv;
    size_t fcs = (rd(p, VK_E1000_RCTL) & VK_E1000_RCTL_SECRC) ? 0 : 4;
    if (d->rx_frame_bad || errors != 0 || d->rx_frame_len <= fcs) {
        d->stats.rx_errors++;
    } else {
        d->stats.rx_delivered++;
        vk_nic_deliver_to_guest(p, d->rx_frame, d->rx_frame_len - fcs);
    }
    d->rx_frame_len = 0;
    d->rx_frame_bad = false;
}

/* e1000_clean_rx_irq: every descriptor the card marked done. */
static void rx_clean(vk_port *p)
{
    vk_e1000 *s = e1k_of(p);
    e1k_driver *d = &s->drv;
    while (d->rx_next_to_clean != d->rx_next_to_use) {
        unsigned i = d->rx_next_to_clean;
        uint8_t desc[VK_E1000_DESC_SIZE];
        if (vk_gmem_read(&s->mem, rx_desc(d, i), desc, sizeof desc) != VK_OK ||
            !(desc[12] & VK_E1000_RXD_STAT_DD))
            break;
        rx_collect(s, d->rx_slot_buf[i], (size_t)(desc[8] | desc[9] << 8));
        uint8_t zero = 0;
        (void)vk_gmem_write(&s->mem, rx_desc(d, i) + 12, &zero, 1);
        d->rx_free[d->rx_nfree++] = d->rx_slot_buf[i];
        d->rx_slot_buf[i] = 0;
        d->rx_next_to_clean = (i + 1) % d->rx_count;
        if (desc[12] & VK_E1000_RXD_STAT_EOP)
            rx_finish(p, desc[13]);
    }
    if (s->cfg.rx_refill_delay == 0)
        rx_refill(p);
    else if (d->rx_nfree > 0 && !vk_timer_pending(d->refill_timer))
        vk_timer_arm(d->refill_timer,
                     vk_loop_now(vk_net_loop(p->net)) + s->cfg.rx_refill_delay);
}

/* ---- TX ------------------------------------------------------------------ */

static uint64_t tx_desc(const e1k_driver *d, unsigned i)
{
    return d->tx_ring_addr + (uint64_t)i * VK_E1000_DESC_SIZE;
}

/* e1000_clean_tx_irq: packets whose last descriptor has DD. */
static void tx_clean(vk_port *p)
{
    vk_e1000 *s = e1k_of(p);
    e1k_driver *d = &s->drv;
    while (d->tx_next_to_clean != d->tx_next_to_use) {
        unsigned eop = d->tx_eop[d->tx_next_to_clean];
        uint8_t status;
        if (vk_gmem_read(&s->mem, tx_desc(d, eop) + 12, &status, 1) != VK_OK ||
            !(status & VK_E1000_TXD_STAT_DD))
            break;
        d->tx_next_to_clean = (eop + 1) % d->tx_count;
    }
}

static unsigned tx_free_slots(const e1k_driver *d)
{
    unsigned used = (d->tx_next_to_use + d->tx_count - d->tx_next_to_clean) % d->tx_count;
    return d->tx_count - 1 - used;
}

/* What the guest stack asks the card to do for one frame. */
typedef struct tx_plan {
    bool ctx;      /* a context descriptor goes first */
    bool tso;
    uint8_t popts;
    uint8_t c[VK_E1000_DESC_SIZE]; /* the context descriptor */
} tx_plan;

/* Where the headers of a TCP or UDP frame are, if it has them. */
typedef struct l4_info {
    size_t l3, l4, hdr_len; /* hdr_len: through the TCP header (TCP only) */
    bool v6;
    uint8_t proto;
    uint32_t pseudo; /* pseudo-header sum without the length */
    size_t l4_len;
} l4_info;

static bool find_l4(const uint8_t *f, size_t len, l4_info *o)
{
    vk_pkt k;
    if (vk_pkt_locate(f, len, &k) != VK_OK || !vk_pkt_is_tcp_udp(&k))
        return false;
    o->l3 = k.l3_off;
    o->v6 = k.l3 == 6;
    o->proto = k.proto;
    o->pseudo = vk_pkt_pseudo(&k);
    o->l4 = k.l4_off;
    o->l4_len = vk_pkt_l4_len(&k);
    const uint8_t *l4 = f + o->l4;
    if (o->proto == VK_IP_PROTO_UDP)
        return o->l4_len >= 8 && vk_get_be16(l4 + 6) != 0; /* 0: sender chose none */
    vk_tcp_repr tcp;
    if (vk_tcp_parse(l4, o->l4_len, &tcp) != VK_OK)
        return false;
    o->hdr_len = o->l4 + tcp.hdr_len;
    return true;
}

static void put_le16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *b, uint32_t v)
{
    put_le16(b, (uint16_t)v);
    put_le16(b + 2, (uint16_t)(v >> 16));
}

/* The partial checksum Linux leaves for the card (CHECKSUM_PARTIAL): the
 * folded pseudo-header sum, not complemented. */
static uint16_t seed(uint32_t pseudo, size_t len)
{
    return (uint16_t)~vk_csum_finish(vk_csum_add_len(pseudo, len));
}

/* e1000_tx_csum: context for TCP/UDP checksum insertion; `frame` is our
 * private copy, which gets the seed. */
static void plan_csum(uint8_t *frame, const l4_info *l, tx_plan *t)
{
    size_t csum_off = l->l4 + (l->proto == VK_IP_PROTO_TCP ? 16 : 6);
    vk_put_be16(frame + csum_off, seed(l->pseudo, l->l4_len));
    t->ctx = true;
    t->popts = VK_E1000_TXD_POPTS_TXSM;
    t->c[4] = (uint8_t)l->l4;
    t->c[5] = (uint8_t)csum_off;
    uint32_t cmd = VK_E1000_TXD_CMD_DEXT;
    if (l->proto == VK_IP_PROTO_TCP)
        cmd |= VK_E1000_TXD_CMD_TCP;
    put_le32(t->c + 8, cmd);
}

/* e1000_tso: IP lengths and header checksum zeroed, TCP checksum seeded
 * with the pseudo header without length; the card fills them per segment. */
static void plan_tso(uint8_t *frame, size_t len, const l4_info *l, size_t mss, tx_plan *t)
{
    uint8_t *ip = frame + l->l3;
    if (l->v6) {
        vk_put_be16(ip + 4, 0);
    } else {
        vk_put_be16(ip + 2, 0);
        vk_put_be16(ip + 10, 0);
    }
    vk_put_be16(frame + l->l4 + 16, seed(l->pseudo, 0));
    t->ctx = t->tso = true;
    t->popts = VK_E1000_TXD_POPTS_TXSM | (l->v6 ? 0 : VK_E1000_TXD_POPTS_IXSM);
    t->c[0] = (uint8_t)l->l3;
    t->c[1] = (uint8_t)(l->l3 + 10);
    put_le16(t->c + 2, l->v6 ? 0 : (uint16_t)(l->l4 - 1));
    t->c[4] = (uint8_t)l->l4;
    t->c[5] = (uint8_t)(l->l4 + 16);
    uint32_t cmd = VK_E1000_TXD_CMD_DEXT | VK_E1000_TXD_CMD_TSE | VK_E1000_TXD_CMD_TCP |
                   (l->v6 ? 0 : VK_E1000_TXD_CMD_IP) | (uint32_t)((len - l->hdr_len) & 0xfffff);
    put_le32(t->c + 8, cmd);
    t->c[13] = (uint8_t)l->hdr_len;
    put_le16(t->c + 14, (uint16_t)mss);
}

static void plan_tx(const vk_e1000 *s, uint8_t *frame, size_t len, tx_plan *t)
{
    memset(t, 0, sizeof *t);
    l4_info l;
    if (s->cfg.offload == VK_NIC_OFFLOAD_NONE || !find_l4(frame, len, &l))
        return;
    bool vlan = vk_get_be16(frame + 12) == VK_ETHERTYPE_VLAN;
    if (s->cfg.offload == VK_NIC_OFFLOAD_TSO && l.proto == VK_IP_PROTO_TCP &&
        len > DRV_MTU_FRAME + (vlan ? 4 : 0) && l.hdr_len - l.l3 < 1500)
        plan_tso(frame, len, &l, 1500 - (l.hdr_len - l.l3), t);
    else
        plan_csum(frame, &l, t);
}

static bool write_desc(vk_e1000 *s, unsigned i, const uint8_t desc[VK_E1000_DESC_SIZE])
{
    return vk_gmem_write(&s->mem, tx_desc(&s->drv, i), desc, VK_E1000_DESC_SIZE) == VK_OK;
}

/* e1000_tx_map + e1000_tx_queue: the frame in 4 KiB pieces, EOP|RS last. */
static int tx_queue(vk_port *p, const uint8_t *frame, size_t len, const tx_plan *t)
{
    vk_e1000 *s = e1k_of(p);
    e1k_driver *d = &s->drv;
    unsigned first = d->tx_next_to_use, i = first;
    if (t->ctx) {
        if (!write_desc(s, i, t->c))
            return VK_ERANGE;
        i = (i + 1) % d->tx_count;
    }
    unsigned last = i;
    for (size_t off = 0; off < len; off += DRV_TX_BUF) {
        size_t n = len - off < DRV_TX_BUF ? len - off : DRV_TX_BUF;
        if (vk_gmem_write(&s->mem, d->tx_slot_buf[i], frame + off, n) != VK_OK)
            return VK_ERANGE;
        uint8_t desc[VK_E1000_DESC_SIZE] = {0};
        for (int b = 0; b < 8; b++)
            desc[b] = (uint8_t)(d->tx_slot_buf[i] >> (8 * b));
        uint32_t lower = (uint32_t)n | VK_E1000_TXD_CMD_IFCS;
        if (t->ctx)
            lower |= VK_E1000_TXD_CMD_DEXT | VK_E1000_TXD_DTYP_D |
                     (t->tso ? VK_E1000_TXD_CMD_TSE : 0);
        if (off + n == len)
            lower |= VK_E1000_TXD_CMD_EOP | VK_E1000_TXD_CMD_RS;
        put_le32(desc + 8, lower);
        put_le32(desc + 12, (uint32_t)t->popts << 8);
        if (!write_desc(s, i, desc))
            return VK_ERANGE;
        last = i;
        i = (i + 1) % d->tx_count;
    }
    d->tx_eop[first] = last;
    d->tx_next_to_use = i;
    d->stats.tx_sent++;
    if (t->tso)
        d->stats.tx_tso++;
    wr(p, VK_E1000_TDT, i);
    return VK_OK;
}

/* Copies the frame, lets plan() fill the descriptors' plan (and change the
 * copy, as Linux's e1000_tso does), and queues it if the ring has room. */
typedef int (*plan_fn)(vk_e1000 *s, uint8_t *frame, size_t len, const void *arg, tx_plan *t);

static int tx_submit(vk_port *p, const uint8_t *data, size_t len, plan_fn plan, const void *arg)
{
    vk_e1000 *s = e1k_of(p);
    e1k_driver *d = &s->drv;
    if (!d->up)
        return VK_EUNSUPP;
    if (len < VK_ETH_HLEN || len > VK_FRAME_MAX)
        return VK_EINVAL;
    tx_clean(p);
    uint8_t *frame = malloc(len);
    if (frame == NULL)
        return VK_ENOMEM;
    memcpy(frame, data, len);
    tx_plan t;
    int r = plan(s, frame, len, arg, &t);
    unsigned need = (unsigned)((len + DRV_TX_BUF - 1) / DRV_TX_BUF) + (t.ctx ? 1 : 0);
    if (r == VK_OK && need > tx_free_slots(d)) {
        d->stats.tx_busy++;
        r = VK_EAGAIN;
    } else if (r == VK_OK) {
        r = tx_queue(p, frame, len, &t);
    }
    free(frame);
    return r;
}

static int plan_own(vk_e1000 *s, uint8_t *frame, size_t len, const void *arg, tx_plan *t)
{
    (void)arg;
    plan_tx(s, frame, len, t);
    return VK_OK;
}

static int drv_send(vk_port *p, const uint8_t *data, size_t len)
{
    return tx_submit(p, data, len, plan_own, NULL);
}

/* The stack's metadata (nic.h) in a context descriptor: e1000_tx_csum for a
 * checksum (the stack already seeded the field), e1000_tso for a
 * super-frame, none for a complete frame (meta NULL).  TUCSS, TUCSO and
 * HDRLEN are 8-bit fields. */
static int plan_meta(vk_e1000 *s, uint8_t *frame, size_t len, const void *arg, tx_plan *t)
{
    (void)s;
    const vk_guest_offload *m = arg;
    memset(t, 0, sizeof *t);
    if (m == NULL)
        return VK_OK; /* legacy descriptors: the frame as it is */
    if (m->csum_start > 255 || m->csum_offset > 255 - m->csum_start ||
        m->csum_start + m->csum_offset + 2 > len)
        return VK_EINVAL;
    if (m->gso_mss == 0) {
        t->ctx = true;
        t->popts = VK_E1000_TXD_POPTS_TXSM;
        t->c[4] = (uint8_t)m->csum_start;
        t->c[5] = (uint8_t)(m->csum_start + m->csum_offset);
        put_le32(t->c + 8, VK_E1000_TXD_CMD_DEXT |
                               (m->csum_offset == 16 ? VK_E1000_TXD_CMD_TCP : 0));
        return VK_OK;
    }
    l4_info l;
    if (!find_l4(frame, len, &l) || l.proto != VK_IP_PROTO_TCP || l.l4 != m->csum_start ||
        l.hdr_len != m->hdr_len || m->hdr_len > 255 || m->gso_mss > 0xffff)
        return VK_EINVAL;
    plan_tso(frame, len, &l, m->gso_mss, t);
    return VK_OK;
}

static int drv_send_offload(vk_port *p, const uint8_t *data, size_t len,
                            const vk_guest_offload *meta)
{
    return tx_submit(p, data, len, plan_meta, meta);
}

/* The guest-offload= key at run time: only changes what drv_send asks. */
static int drv_set_offload(vk_port *p, vk_nic_offload mode)
{
    if ((unsigned)mode > VK_NIC_OFFLOAD_TSO)
        return VK_EINVAL;
    e1k_of(p)->cfg.offload = mode;
    return VK_OK;
}

static const vk_nic_guest_ops guest_ops = {
    .send = drv_send,
    .set_offload = drv_set_offload,
    .send_offload = drv_send_offload,
};

/* ---- interrupts ---------------------------------------------------------- */

/* One round of e1000_intr + NAPI poll. */
static void drv_irq_round(vk_port *p)
{
    (void)rd(p, VK_E1000_ICR);
    e1k_of(p)->drv.stats.irqs++;
    rx_clean(p);
    tx_clean(p);
}

static void drv_irq(vk_port *p)
{
    e1k_driver *d = &e1k_of(p)->drv;
    if (d->up)
        vk_nic_irq_run(&d->irq, p, drv_irq_round);
}

void vk_e1000_driver_poll(vk_port *p)
{
    drv_irq(p);
}

const vk_e1000_driver_stats *vk_e1000_driver_stats_of(vk_port *p)
{
    return &e1k_of(p)->drv.stats;
}

/* The pairing's driver side (nics/registry.c): the card knows none of it. */
const vk_nic_driver vk_e1000_driver = {
    .probe = drv_probe,
    .remove = drv_remove,
    .ops = &guest_ops,
};
