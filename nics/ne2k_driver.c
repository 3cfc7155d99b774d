/*
 * The guest-driver half of the ne2k_pci model: what Linux's ne2k-pci and
 * lib8390 drivers do with an RTL8029, reduced to what changes the traffic.
 * It touches the card only through vk_ne2k_io_read/write, so every frame a
 * test or the replay driver sends crosses the remote-DMA port and TXP, and
 * every frame received is read out of the card's ring.
 *
 * Bring-up (ne2k_pci_init_one, NS8390_init): reset through the reset port,
 * the station address read from the PROM by remote DMA, then stopped: DCR
 * word mode, RBCR cleared, RCR monitor and TCR loopback while configuring,
 * TPSR, PSTART/BNRY/PSTOP, ISR cleared and IMR masked, PAR and CURR in page
 * 1, MAR, start, TCR normal, RCR broadcast + multicast, IMR unmasked.
 * Linux's layout: 12 transmit pages at 0x40, the receive ring after them
 * (rx-ring-pages, 52 by default: 0x4c..0x80).
 *
 * Send (ei_start_xmit, ne2k_pci_block_output, NS8390_trigger_send): short
 * frames padded to 60 with zeros; refused with VK_EAGAIN while CR.TXP shows
 * a transmit running; the frame written at the TX page by a remote write in
 * dwords; TBCR/TPSR; TXP; TSR tells the outcome.
 *
 * Interrupt (ei_interrupt, ei_receive): every frame from our read pointer to
 * CURR, header then data by remote read, checked as Linux checks them, is
 * handed to vk_nic_deliver_to_guest; BNRY then moves to one page before the
 * next frame -- at once, or rx-refill-delay later on the virtual clock, the
 * knob that makes backpressure reproducible.  Unlike Linux we empty the ring
 * (Linux stops after 10 frames and waits for the next interrupt, which a
 * replay may never bring) and acknowledge PRX before reading, not after.
 */
#include "core/error.h"
#include "core/net.h"
#include "nics/ne2k.h"
#include "nics/ne2k_priv.h"
#include "wire/ethernet.h"

#include <string.h>

#define DRV_TX_PAGES 12 /* Linux TX_PAGES: two 6-page transmit buffers */
#define DRV_MIN_FRAME 60 /* ETH_ZLEN */
#define DRV_MAX_FRAME 1518
#define DRV_DCR 0x49 /* word-wide, 4-word FIFO threshold, normal operation */
#define DRV_IMR 0x3f /* ENISR_ALL: everything but RDC */
#define DRV_MAX_SERVICE 12 /* ei_interrupt's bound on handler rounds */

static uint8_t rd(vk_port *p, uint32_t reg)
{
    return (uint8_t)vk_ne2k_io_read(p, reg, 1);
}

static void wr(vk_port *p, uint32_t reg, uint8_t v)
{
    vk_ne2k_io_write(p, reg, v, 1);
}

static const uint8_t cr_nodma = VK_NE2K_CR_RD_ABORT;

/* ---- remote DMA ---------------------------------------------------------- */

static void dma_setup(vk_port *p, uint16_t addr, uint16_t count, uint8_t mode)
{
    wr(p, VK_NE2K_CR, cr_nodma | VK_NE2K_CR_PAGE0 | VK_NE2K_CR_STA);
    wr(p, VK_NE2K_RBCR0, (uint8_t)count);
    wr(p, VK_NE2K_RBCR1, (uint8_t)(count >> 8));
    wr(p, VK_NE2K_RSAR0, (uint8_t)addr);
    wr(p, VK_NE2K_RSAR1, (uint8_t)(addr >> 8));
    wr(p, VK_NE2K_CR, mode | VK_NE2K_CR_STA);
}

/* ne2k_pci_block_input: dwords, then a word and a byte for the tail (in
 * word mode each of those is one word step of the card).  False when the
 * card did not complete the transfer (no RDC: it stopped on a fault). */
static bool block_input(vk_port *p, uint16_t addr, uint8_t *buf, size_t count)
{
    dma_setup(p, addr, (uint16_t)count, VK_NE2K_CR_RD_READ);
    size_t i = 0;
    for (; i + 4 <= count; i += 4) {
        uint32_t v = vk_ne2k_io_read(p, VK_NE2K_DATA, 4);
        buf[i] = (uint8_t)v;
        buf[i + 1] = (uint8_t)(v >> 8);
        buf[i + 2] = (uint8_t)(v >> 16);
        buf[i + 3] = (uint8_t)(v >> 24);
    }
    if (count - i >= 2) {
        uint32_t v = vk_ne2k_io_read(p, VK_NE2K_DATA, 2);
        buf[i] = (uint8_t)v;
        buf[i + 1] = (uint8_t)(v >> 8);
        i += 2;
    }
    if (i < count)
        buf[i] = (uint8_t)vk_ne2k_io_read(p, VK_NE2K_DATA, 1);
    bool done = (rd(p, VK_NE2K_ISR) & VK_NE2K_ISR_RDC) != 0;
    wr(p, VK_NE2K_ISR, VK_NE2K_ISR_RDC);
    return done;
}

/* ne2k_pci_block_output: the count rounded up to dwords, as Linux does for
 * 32-bit I/O. */
static bool block_output(vk_port *p, uint16_t addr, const uint8_t *buf, size_t count)
{
    size_t padded = (count + 3) & ~(size_t)3;
    wr(p, VK_NE2K_CR, cr_nodma | VK_NE2K_CR_PAGE0 | VK_NE2K_CR_STA);
    wr(p, VK_NE2K_ISR, VK_NE2K_ISR_RDC);
    dma_setup(p, addr, (uint16_t)padded, VK_NE2K_CR_RD_WRITE);
    for (size_t i = 0; i < padded; i += 4) {
        uint32_t v = 0;
        for (size_t b = 0; b < 4 && i + b < count; b++)
            v |= (uint32_t)buf[i + b] << (8 * b);
        vk_ne2k_io_write(p, VK_NE2K_DATA, v, 4);
    }
    bool done = (rd(p, VK_NE2K_ISR) & VK_NE2K_ISR_RDC) != 0;
    wr(p, VK_NE2K_ISR, VK_NE2K_ISR_RDC);
    return done;
}

/* ---- bring-up ------------------------------------------------------------ */

/* ne2k_pci_init_one: the station address from the PROM (each byte read
 * with a byte access, which in word mode takes one doubled word). */
static int read_mac(vk_port *p, uint8_t mac[6])
{
    uint8_t prom[16];
    wr(p, VK_NE2K_CR, cr_nodma | VK_NE2K_CR_PAGE0 | VK_NE2K_CR_STP);
    wr(p, VK_NE2K_DCR, DRV_DCR);
    wr(p, VK_NE2K_RBCR0, 0);
    wr(p, VK_NE2K_RBCR1, 0);
    wr(p, VK_NE2K_IMR, 0);
    wr(p, VK_NE2K_ISR, 0xff);
    wr(p, VK_NE2K_RCR, VK_NE2K_RCR_MON);
    wr(p, VK_NE2K_TCR, VK_NE2K_TCR_LB_INTERNAL);
    wr(p, VK_NE2K_RBCR0, 32);
    wr(p, VK_NE2K_RBCR1, 0);
    wr(p, VK_NE2K_RSAR0, 0);
    wr(p, VK_NE2K_RSAR1, 0);
    wr(p, VK_NE2K_CR, VK_NE2K_CR_RD_READ | VK_NE2K_CR_STA);
    for (unsigned i = 0; i < sizeof prom; i++)
        prom[i] = (uint8_t)vk_ne2k_io_read(p, VK_NE2K_DATA, 1);
    wr(p, VK_NE2K_ISR, VK_NE2K_ISR_RDC);
    if (prom[14] != 0x57 || prom[15] != 0x57) /* not an NE2000 in word mode */
        return VK_EFORMAT;
    memcpy(mac, prom, 6);
    return VK_OK;
}

static void set_mar_bit(uint8_t mar[8], const uint8_t group[6])
{
    unsigned idx = vk_eth_mcast_hash6(group);
    mar[idx >> 3] |= (uint8_t)(1u << (idx & 7));
}

/* MAR with the groups a Linux guest has joined (vk_nic_guest_groups). */
static void default_mar(const uint8_t mac[6], uint8_t mar[8])
{
    vk_mac m, groups[VK_NIC_GUEST_GROUPS];
    memcpy(m.b, mac, 6);
    vk_nic_guest_groups(&m, groups);
    memset(mar, 0, 8);
    for (size_t i = 0; i < VK_NIC_GUEST_GROUPS; i++)
        set_mar_bit(mar, groups[i].b);
}

/* __NS8390_init(dev, 1) */
static void ns8390_init(vk_port *p, const ne2k_driver *d, const uint8_t mac[6])
{
    uint8_t mar[8];
    wr(p, VK_NE2K_CR, cr_nodma | VK_NE2K_CR_PAGE0 | VK_NE2K_CR_STP);
    wr(p, VK_NE2K_DCR, DRV_DCR);
    wr(p, VK_NE2K_RBCR0, 0);
    wr(p, VK_NE2K_RBCR1, 0);
    wr(p, VK_NE2K_RCR, VK_NE2K_RCR_MON);
    wr(p, VK_NE2K_TCR, VK_NE2K_TCR_LB_INTERNAL);
    wr(p, VK_NE2K_TPSR, d->tx_start);
    wr(p, VK_NE2K_PSTART, d->rx_start);
    wr(p, VK_NE2K_BNRY, (uint8_t)(d->stop - 1));
    wr(p, VK_NE2K_PSTOP, d->stop);
    wr(p, VK_NE2K_ISR, 0xff);
    wr(p, VK_NE2K_IMR, 0);
    wr(p, VK_NE2K_CR, cr_nodma | VK_NE2K_CR_PAGE1 | VK_NE2K_CR_STP);
    for (unsigned i = 0; i < 6; i++)
        wr(p, VK_NE2K_PAR0 + i, mac[i]);
    wr(p, VK_NE2K_CURR, d->rx_start);
    /* do_set_multicast_list: MAR in page 1 */
    default_mar(mac, mar);
    for (unsigned i = 0; i < 8; i++)
        wr(p, VK_NE2K_MAR0 + i, mar[i]);
    wr(p, VK_NE2K_CR, cr_nodma | VK_NE2K_CR_PAGE0 | VK_NE2K_CR_STP);
    wr(p, VK_NE2K_ISR, 0xff);
    wr(p, VK_NE2K_IMR, DRV_IMR);
    wr(p, VK_NE2K_CR, cr_nodma | VK_NE2K_CR_PAGE0 | VK_NE2K_CR_STA);
    wr(p, VK_NE2K_TCR, 0);
    wr(p, VK_NE2K_RCR, VK_NE2K_RCR_AB | VK_NE2K_RCR_AM);
}

static void drv_irq(vk_port *p);

static void refill_timer_cb(void *arg, uint64_t now);

static int drv_probe(vk_port *p)
{
    vk_ne2k *s = ne2k_of(p);
    ne2k_driver *d = &s->drv;
    /* ne2k_pci_reset_8390: pulse the reset port, wait for ISR.RST */
    wr(p, VK_NE2K_RESET, rd(p, VK_NE2K_RESET));
    if (!(rd(p, VK_NE2K_ISR) & VK_NE2K_ISR_RST))
        return VK_EIO;
    wr(p, VK_NE2K_ISR, VK_NE2K_ISR_RST);
    uint8_t mac[6];
    int r = read_mac(p, mac);
    if (r != VK_OK)
        return r;
    d->tx_start = VK_NE2K_FIRST_PAGE;
    d->rx_start = (uint8_t)(VK_NE2K_FIRST_PAGE + DRV_TX_PAGES);
    d->stop = (uint8_t)(d->rx_start + s->cfg.rx_pages);
    d->current_page = d->rx_start;
    d->bnry = (uint8_t)(d->stop - 1);
    if (s->cfg.rx_refill_delay > 0) {
        d->refill_timer = vk_timer_new(vk_net_loop(p->net), refill_timer_cb, p);
        if (d->refill_timer == NULL)
            return VK_ENOMEM;
    }
    vk_nic_request_irq(p, drv_irq);
    d->up = true;
    ns8390_init(p, d, mac);
    return VK_OK;
}

static void drv_remove(vk_port *p)
{
    ne2k_driver *d = &ne2k_of(p)->drv;
    if (d->refill_timer != NULL)
        vk_timer_free(d->refill_timer);
    memset(d, 0, sizeof *d);
}

/* ---- RX ------------------------------------------------------------------ */

/* Gives the ring up to (not including) the next unread frame back to the
 * card: BNRY = next - 1, as Linux writes it (PSTART - 1 after a wrap). */
static void give_back(vk_port *p)
{
    ne2k_driver *d = &ne2k_of(p)->drv;
    uint8_t bnry = (uint8_t)(d->current_page - 1);
    if (bnry == d->bnry)
        return;
    d->bnry = bnry;
    d->stats.bnry_updates++;
    wr(p, VK_NE2K_CR, cr_nodma | VK_NE2K_CR_PAGE0 | VK_NE2K_CR_STA);
    wr(p, VK_NE2K_BNRY, bnry);
}

static void refill_timer_cb(void *arg, uint64_t now)
{
    (void)now;
    give_back(arg);
}

static uint8_t read_curr(vk_port *p)
{
    wr(p, VK_NE2K_CR, cr_nodma | VK_NE2K_CR_PAGE1 | VK_NE2K_CR_STA);
    uint8_t curr = rd(p, VK_NE2K_CURR);
    wr(p, VK_NE2K_CR, cr_nodma | VK_NE2K_CR_PAGE0 | VK_NE2K_CR_STA);
    return curr;
}

/* One frame at page `this`; returns false when the ring is unusable and
 * reading must stop (CURR taken as the new read pointer, as Linux does). */
static bool rx_one(vk_port *p, uint8_t this_page, uint8_t curr)
{
    ne2k_driver *d = &ne2k_of(p)->drv;
    uint8_t hdr[4];
    uint8_t frame[DRV_MAX_FRAME];
    if (!block_input(p, (uint16_t)(this_page << 8), hdr, sizeof hdr)) {
        d->stats.rx_errors++;
        d->current_page = curr;
        return false;
    }
    size_t count = (size_t)(hdr[2] | hdr[3] << 8);
    size_t pkt_len = count >= 4 ? count - 4 : 0;
    unsigned ring = (unsigned)(d->stop - d->rx_start);
    unsigned next_frame = this_page + 1 + (unsigned)((pkt_len + 4) >> 8);
    unsigned next = hdr[1];
    /* ei_receive's sanity check on the card's next-page pointer */
    if (next != next_frame && next != next_frame + 1 && next != next_frame - ring &&
        next != next_frame + 1 - ring) {
        d->stats.rx_errors++;
        d->current_page = curr;
        return false;
    }
    if (pkt_len < DRV_MIN_FRAME || pkt_len > DRV_MAX_FRAME ||
        (hdr[0] & 0x0f) != VK_NE2K_RSR_PRX) {
        d->stats.rx_errors++;
    } else if (!block_input(p, (uint16_t)((this_page << 8) + 4), frame, pkt_len)) {
        d->stats.rx_errors++;
    } else {
        d->stats.rx_delivered++;
        vk_nic_deliver_to_guest(p, frame, pkt_len);
    }
    if (next >= d->stop || next < d->rx_start) /* "should never happen" */
        next = d->rx_start;
    d->current_page = (uint8_t)next;
    return true;
}

/* ei_receive: every frame between our read pointer and CURR.  Unlike
 * Linux we acknowledge PRX first, so a frame that lands while we read
 * (the sink answered, the answer looped back) raises it again instead of
 * waiting in the ring for an interrupt that may never come.  Each call
 * reads at most a ring's worth; rx_more asks the handler for another. */
static void rx_clean(vk_port *p)
{
    vk_ne2k *s = ne2k_of(p);
    ne2k_driver *d = &s->drv;
    unsigned budget = (unsigned)(d->stop - d->rx_start);
    wr(p, VK_NE2K_ISR, VK_NE2K_ISR_PRX | VK_NE2K_ISR_RXE);
    d->rx_more = false;
    for (;;) {
        uint8_t curr = read_curr(p);
        /* CURR outside our ring (a program wrote it): the walk below would
         * never meet it and read the ring's stale frames round after round
         * (found by fuzz.nic_ne2k).  Linux does not check; we count an
         * error and read nothing until the card's CURR is back inside. */
        if (curr >= d->stop || curr < d->rx_start) {
            d->stats.rx_errors++;
            break;
        }
        uint8_t this_page = d->current_page;
        if (this_page >= d->stop || this_page < d->rx_start)
            this_page = d->rx_start;
        if (this_page == curr)
            break;
        if (budget-- == 0) {
            d->rx_more = true;
            break;
        }
        int ring = d->stop - d->rx_start;
        int to_curr = ((int)curr - this_page + ring) % ring;
        bool ok = rx_one(p, this_page, curr);
        /* a frame whose header carries us past CURR was never written by the
         * card (stale ring contents): resynchronise on CURR, so that every
         * walk ends within one pass of the ring */
        if (ok && ((int)d->current_page - this_page + ring) % ring > to_curr) {
            d->stats.rx_errors++;
            d->current_page = curr;
            ok = false;
        }
        if (s->cfg.rx_refill_delay == 0)
            give_back(p);
        if (!ok)
            break;
    }
    if (s->cfg.rx_refill_delay > 0 && (uint8_t)(d->current_page - 1) != d->bnry &&
        !vk_timer_pending(d->refill_timer))
        vk_timer_arm(d->refill_timer,
                     vk_loop_now(vk_net_loop(p->net)) + s->cfg.rx_refill_delay);
}

/* ---- TX ------------------------------------------------------------------ */

static int drv_send(vk_port *p, const uint8_t *data, size_t len)
{
    ne2k_driver *d = &ne2k_of(p)->drv;
    if (!d->up)
        return VK_EUNSUPP;
    if (len < VK_ETH_HLEN || len > DRV_MAX_FRAME)
        return VK_EINVAL;
    /* NS8390_trigger_send refuses while the card is still transmitting */
    if (rd(p, VK_NE2K_CR) & VK_NE2K_CR_TXP) {
        d->stats.tx_busy++;
        return VK_EAGAIN;
    }
    uint8_t frame[DRV_MAX_FRAME];
    size_t send_len = len < DRV_MIN_FRAME ? DRV_MIN_FRAME : len;
    memset(frame, 0, send_len);
    memcpy(frame, data, len);
    /* ei_start_xmit masks the card while it owns the remote-DMA port, so
     * the handler cannot reprogram it halfway; what is pending runs when
     * the mask comes back */
    wr(p, VK_NE2K_CR, cr_nodma | VK_NE2K_CR_PAGE0 | VK_NE2K_CR_STA);
    wr(p, VK_NE2K_IMR, 0);
    int r = VK_OK;
    if (!block_output(p, (uint16_t)(d->tx_start << 8), frame, send_len)) {
        r = VK_EIO;
    } else {
        wr(p, VK_NE2K_CR, cr_nodma | VK_NE2K_CR_PAGE0);
        wr(p, VK_NE2K_TBCR0, (uint8_t)send_len);
        wr(p, VK_NE2K_TBCR1, (uint8_t)(send_len >> 8));
        wr(p, VK_NE2K_TPSR, d->tx_start);
        wr(p, VK_NE2K_CR, cr_nodma | VK_NE2K_CR_TXP | VK_NE2K_CR_STA);
        /* the card transmits synchronously: TSR holds the outcome now */
        if (!(rd(p, VK_NE2K_TSR) & VK_NE2K_TSR_PTX))
            r = VK_EIO;
    }
    if (r == VK_OK)
        d->stats.tx_sent++;
    else
        d->stats.tx_errors++;
    wr(p, VK_NE2K_IMR, DRV_IMR);
    return r;
}

static const vk_nic_guest_ops guest_ops = {
    .send = drv_send,
};

/* ---- interrupts ---------------------------------------------------------- */

/* One ei_interrupt: service what ISR shows, a bounded number of rounds. */
static void irq_service(vk_port *p)
{
    ne2k_driver *d = &ne2k_of(p)->drv;
    wr(p, VK_NE2K_CR, cr_nodma | VK_NE2K_CR_PAGE0);
    for (unsigned n = 0; n < DRV_MAX_SERVICE; n++) {
        uint8_t isr = rd(p, VK_NE2K_ISR) & 0x7f;
        if (isr == 0 && !d->rx_more)
            break;
        if (isr & VK_NE2K_ISR_OVW)
            wr(p, VK_NE2K_ISR, VK_NE2K_ISR_OVW);
        if ((isr & (VK_NE2K_ISR_PRX | VK_NE2K_ISR_RXE | VK_NE2K_ISR_OVW)) || d->rx_more)
            rx_clean(p);
        if (isr & (VK_NE2K_ISR_PTX | VK_NE2K_ISR_TXE))
            wr(p, VK_NE2K_ISR, VK_NE2K_ISR_PTX | VK_NE2K_ISR_TXE);
        if (isr & (VK_NE2K_ISR_CNT | VK_NE2K_ISR_RDC))
            wr(p, VK_NE2K_ISR, VK_NE2K_ISR_CNT | VK_NE2K_ISR_RDC);
        wr(p, VK_NE2K_CR, cr_nodma | VK_NE2K_CR_PAGE0 | VK_NE2K_CR_STA);
    }
}

static void drv_irq_round(vk_port *p)
{
    ne2k_of(p)->drv.stats.irqs++;
    irq_service(p);
}

static void drv_irq(vk_port *p)
{
    ne2k_driver *d = &ne2k_of(p)->drv;
    if (d->up)
        vk_nic_irq_run(&d->irq, p, drv_irq_round);
}

void vk_ne2k_driver_poll(vk_port *p)
{
    drv_irq(p);
}

const vk_ne2k_driver_stats *vk_ne2k_driver_stats_of(vk_port *p)
{
    return &ne2k_of(p)->drv.stats;
}

/* The pairing's driver side (nics/registry.c): the card knows none of it. */
const vk_nic_driver vk_ne2k_driver = {
    .probe = drv_probe,
    .remove = drv_remove,
    .ops = &guest_ops,
};
