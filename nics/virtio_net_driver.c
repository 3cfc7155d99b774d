/*
 * The guest driver half of virtio-net: what Linux's drivers/net/virtio_net.c
 * does, through the transport registers and guest memory only (it never
 * reads the device's state).  Probe follows the spec's init sequence (3.1.1):
 * reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK (re-read), queues,
 * buffers, DRIVER_OK.
 *
 * Guest memory layout (allocated once, reused by every probe): three rings,
 * rx_buffers RX buffers of one size (descriptor i <-> buffer i), TX slots of
 * two descriptors each (12-byte header, then the frame, as Linux's sg with
 * the header apart), and one control command buffer.
 *
 * RX is reaped in the interrupt, or after rx-refill-delay on the loop's clock
 * so that tests can hold buffers back and see the card's backpressure.
 */
#include "nics/virtio_net_priv.h"

#include <stdlib.h>
#include <string.h>

#include "core/net.h"
#include "wire/packet.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/tcp.h"

#define ETH_MTU 1500
#define GOOD_PACKET_LEN 1518 /* Linux: ETH_HLEN + VLAN_HLEN + ETH_DATA_LEN */
#define MERGE_BUFFER_LEN 1536
#define TX_HDR_STRIDE 16
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17

/* ---- ring helpers (driver side) ---- */

static int write_desc(vk_gmem *m, const vk_vnet_drv_queue *q, uint16_t i, uint64_t addr,
                      uint32_t len, uint16_t flags, uint16_t next)
{
    uint64_t a = q->desc + 16ull * i;
    if (vk_gmem_write_le64(m, a, addr) != VK_OK || vk_gmem_write_le32(m, a + 8, len) != VK_OK ||
        vk_gmem_write_le16(m, a + 12, flags) != VK_OK ||
        vk_gmem_write_le16(m, a + 14, next) != VK_OK)
        return VK_ERANGE;
    return VK_OK;
}

/* Puts head on the available ring (not yet published). */
static int add_avail(vk_gmem *m, vk_vnet_drv_queue *q, uint16_t head)
{
    uint64_t a = q->avail + 4 + 2ull * (q->avail_idx & (q->size - 1));
    if (vk_gmem_write_le16(m, a, head) != VK_OK)
        return VK_ERANGE;
    q->avail_idx++;
    return VK_OK;
}

/* Publishes avail idx and kicks unless the device said not to
 * (avail_event with EVENT_IDX, else the used ring's NO_NOTIFY flag). */
static void publish_and_kick(vk_virtio_net *v, uint16_t qi, uint16_t old_idx)
{
    vk_vnet_drv_queue *q = &v->drv.q[qi];
    if (q->avail_idx == old_idx || vk_gmem_write_le16(&v->mem, q->avail + 2, q->avail_idx) != VK_OK)
        return;
    uint16_t x = 0;
    bool kick;
    if (vk_vnet_has(v->drv.features, VK_VIRTIO_F_EVENT_IDX)) {
        (void)vk_gmem_read_le16(&v->mem, q->used + 4 + 8ull * q->size, &x);
        kick = vk_vring_need_event(x, q->avail_idx, old_idx);
    } else {
        (void)vk_gmem_read_le16(&v->mem, q->used, &x);
        kick = !(x & VK_VRING_USED_F_NO_NOTIFY);
    }
    if (kick)
        vk_virtio_net_notify(v->port, qi);
}

/* Next used entry of q, if any: 1 and (id, len), or 0. */
static int next_used(vk_virtio_net *v, vk_vnet_drv_queue *q, uint32_t *id, uint32_t *len)
{
    uint16_t idx;
    if (q->size == 0 || vk_gmem_read_le16(&v->mem, q->used + 2, &idx) != VK_OK ||
        idx == q->last_used)
        return 0;
    uint64_t a = q->used + 4 + 8ull * (q->last_used & (q->size - 1));
    if (vk_gmem_read_le32(&v->mem, a, id) != VK_OK || vk_gmem_read_le32(&v->mem, a + 4, len) != VK_OK)
        return 0;
    q->last_used++;
    return 1;
}

/* Asks for an interrupt at the next used entry (Linux virtqueue_enable_cb). */
static void enable_cb(vk_virtio_net *v, vk_vnet_drv_queue *q)
{
    if (vk_vnet_has(v->drv.features, VK_VIRTIO_F_EVENT_IDX))
        (void)vk_gmem_write_le16(&v->mem, q->avail + 4 + 2ull * q->size, q->last_used);
    else
        (void)vk_gmem_write_le16(&v->mem, q->avail, 0);
}

/* ---- RX ---- */

static int post_rx(vk_virtio_net *v, uint16_t buf)
{
    vk_vnet_driver *dr = &v->drv;
    vk_vnet_drv_queue *q = &dr->q[VK_VNET_RXQ];
    int r = write_desc(&v->mem, q, buf, dr->rx_bufs + (uint64_t)buf * dr->rx_buf_size,
                       dr->rx_buf_size, VK_VRING_DESC_F_WRITE, 0);
    return r == VK_OK ? add_avail(&v->mem, q, buf) : r;
}

/* Copies used buffer `id` of len bytes to the scratch frame at *have. */
static bool rx_gather(vk_virtio_net *v, uint32_t id, uint32_t len, size_t skip, size_t *have)
{
    vk_vnet_driver *dr = &v->drv;
    if (id >= dr->cfg.rx_buffers || len > dr->rx_buf_size || len < skip ||
        *have + (len - skip) > VK_FRAME_MAX)
        return false;
    uint64_t a = dr->rx_bufs + (uint64_t)id * dr->rx_buf_size + skip;
    if (vk_gmem_read(&v->mem, a, dr->scratch + *have, len - skip) != VK_OK)
        return false;
    *have += len - skip;
    return true;
}

/* Reaps one received frame (num_buffers used entries with MRG_RXBUF):
 * 1 when a frame was taken (delivered if well formed), 0 when none. */
static int rx_reap_one(vk_virtio_net *v, uint16_t *posted)
{
    vk_vnet_driver *dr = &v->drv;
    vk_vnet_drv_queue *q = &dr->q[VK_VNET_RXQ];
    uint32_t id, len;
    if (!next_used(v, q, &id, &len))
        return 0;
    uint16_t nbufs = 1;
    if (vk_vnet_has(dr->features, VK_VIRTIO_NET_F_MRG_RXBUF) && id < dr->cfg.rx_buffers &&
        len >= VK_VNET_HDR_LEN)
        (void)vk_gmem_read_le16(&v->mem, dr->rx_bufs + (uint64_t)id * dr->rx_buf_size + 10, &nbufs);
    size_t have = 0;
    bool ok = rx_gather(v, id, len, VK_VNET_HDR_LEN, &have) && nbufs >= 1;
    if (id < dr->cfg.rx_buffers && post_rx(v, (uint16_t)id) == VK_OK)
        (*posted)++;
    for (uint16_t k = 1; k < nbufs; k++) {
        if (!next_used(v, q, &id, &len)) {
            ok = false; /* Linux: "rx error: %d buffers missing" */
            break;
        }
        ok = ok && rx_gather(v, id, len, 0, &have);
        if (id < dr->cfg.rx_buffers && post_rx(v, (uint16_t)id) == VK_OK)
            (*posted)++;
    }
    if (ok && have > 0)
        vk_nic_deliver_to_guest(v->port, dr->scratch, have);
    return 1;
}

static void rx_poll(vk_virtio_net *v)
{
    vk_vnet_drv_queue *q = &v->drv.q[VK_VNET_RXQ];
    uint16_t old = q->avail_idx, posted = 0;
    while (rx_reap_one(v, &posted))
        ;
    enable_cb(v, q);
    publish_and_kick(v, VK_VNET_RXQ, old);
}

static void refill_timer(void *arg, uint64_t now)
{
    (void)now;
    rx_poll(arg);
}

/* ---- TX ---- */

static void tx_reap(vk_virtio_net *v)
{
    vk_vnet_driver *dr = &v->drv;
    uint32_t id, len;
    while (next_used(v, &dr->q[VK_VNET_TXQ], &id, &len))
        if (id / 2 < dr->tx_slots)
            dr->tx_busy[id / 2] = 0;
    enable_cb(v, &dr->q[VK_VNET_TXQ]);
}

static int tx_free_slot(vk_virtio_net *v)
{
    for (uint16_t s = 0; s < v->drv.tx_slots; s++)
        if (!v->drv.tx_busy[s])
            return s;
    return -1;
}

int vk_virtio_net_driver_xmit(vk_port *p, const vk_vnet_hdr *h, const uint8_t *data, size_t len)
{
    vk_virtio_net *v = vk_vnet_of(p);
    vk_vnet_driver *dr = &v->drv;
    vk_vnet_drv_queue *q = &dr->q[VK_VNET_TXQ];
    if (len == 0 || len > VK_FRAME_MAX || q->size == 0)
        return VK_EINVAL;
    tx_reap(v);
    int s = tx_free_slot(v);
    if (s < 0)
        return VK_EAGAIN;
    uint8_t hb[VK_VNET_HDR_LEN];
    vk_vnet_hdr_emit(h, hb);
    uint64_t ha = dr->tx_bufs + (uint64_t)s * TX_HDR_STRIDE;
    uint64_t da = dr->tx_bufs + (uint64_t)dr->tx_slots * TX_HDR_STRIDE + (uint64_t)s * VK_FRAME_MAX;
    uint16_t d0 = (uint16_t)(2 * s), old = q->avail_idx;
    if (vk_gmem_write(&v->mem, ha, hb, sizeof hb) != VK_OK ||
        vk_gmem_write(&v->mem, da, data, len) != VK_OK ||
        write_desc(&v->mem, q, d0, ha, VK_VNET_HDR_LEN, VK_VRING_DESC_F_NEXT, (uint16_t)(d0 + 1)) != VK_OK ||
        write_desc(&v->mem, q, (uint16_t)(d0 + 1), da, (uint32_t)len, 0, 0) != VK_OK ||
        add_avail(&v->mem, q, d0) != VK_OK)
        return VK_ERANGE;
    dr->tx_busy[s] = 1;
    publish_and_kick(v, VK_VNET_TXQ, old);
    return VK_OK;
}

/* Where the L4 header starts and which protocol, for offloads; false for
 * anything that is not unfragmented TCP or UDP over IPv4/IPv6. */
typedef struct l4_info {
    size_t off, len;
    uint8_t proto;
    bool v6;
    uint32_t pseudo;
    size_t ip_hdr_len;
} l4_info;

static bool find_l4(const uint8_t *data, size_t len, l4_info *l4)
{
    vk_pkt k;
    if (vk_pkt_locate(data, len, &k) != VK_OK || !vk_pkt_is_tcp_udp(&k))
        return false;
    *l4 = (l4_info){k.l4_off, vk_pkt_l4_len(&k), k.proto, k.l3 == 6, vk_pkt_pseudo(&k),
                    k.l4_off - k.l3_off};
    if (l4->proto == IPPROTO_UDP_) /* a zero checksum: the sender chose none */
        return l4->len >= 8 && (data[l4->off + 6] | data[l4->off + 7]) != 0;
    return l4->proto == IPPROTO_TCP_;
}

/* Linux CHECKSUM_PARTIAL: the checksum field holds the folded pseudo-header
 * sum (with the L4 length) and the header says where the card finishes it. */
static void offload_csum(uint8_t *frame, const l4_info *l4, vk_vnet_hdr *h)
{
    uint16_t field = l4->proto == IPPROTO_TCP_ ? 16 : 6;
    uint16_t seed = (uint16_t)~vk_csum_finish(vk_csum_add_len(l4->pseudo, l4->len));
    frame[l4->off + field] = (uint8_t)(seed >> 8);
    frame[l4->off + field + 1] = (uint8_t)seed;
    h->flags = VK_VNET_HDR_F_NEEDS_CSUM;
    h->csum_start = (uint16_t)l4->off;
    h->csum_offset = field;
}

/* A TCP frame longer than the MTU goes as one GSO frame (Linux TSO). */
static void offload_tso(const uint8_t *frame, const l4_info *l4, uint64_t features,
                        vk_vnet_hdr *h)
{
    vk_tcp_repr tcp;
    unsigned need = l4->v6 ? VK_VIRTIO_NET_F_HOST_TSO6 : VK_VIRTIO_NET_F_HOST_TSO4;
    if (l4->proto != IPPROTO_TCP_ || !vk_vnet_has(features, need) ||
        vk_tcp_parse(frame + l4->off, l4->len, &tcp) != VK_OK)
        return;
    size_t mss = ETH_MTU - l4->ip_hdr_len - tcp.hdr_len;
    if (tcp.payload_len <= mss)
        return;
    h->gso_type = l4->v6 ? VK_VNET_HDR_GSO_TCPV6 : VK_VNET_HDR_GSO_TCPV4;
    h->gso_size = (uint16_t)mss;
    h->hdr_len = (uint16_t)(l4->off + tcp.hdr_len);
}

static int guest_send(vk_port *nic, const uint8_t *data, size_t len)
{
    vk_virtio_net *v = vk_vnet_of(nic);
    vk_vnet_driver *dr = &v->drv;
    vk_vnet_hdr h = {0};
    l4_info l4;
    if (len == 0 || len > VK_FRAME_MAX)
        return VK_EINVAL;
    if (dr->cfg.offload == VK_NIC_OFFLOAD_NONE || !vk_vnet_has(dr->features, VK_VIRTIO_NET_F_CSUM) ||
        !find_l4(data, len, &l4))
        return vk_virtio_net_driver_xmit(nic, &h, data, len);
    /* the offloads rewrite the checksum field: work on a copy */
    memcpy(dr->tx_scratch, data, len);
    offload_csum(dr->tx_scratch, &l4, &h);
    if (dr->cfg.offload == VK_NIC_OFFLOAD_TSO)
        offload_tso(dr->tx_scratch, &l4, dr->features, &h);
    return vk_virtio_net_driver_xmit(nic, &h, dr->tx_scratch, len);
}

/* The stack's metadata (nic.h) as a virtio_net_hdr: NEEDS_CSUM with
 * csum_start/offset, plus a GSO type, gso_size and hdr_len for a super-frame;
 * an all-zero header for a complete frame (meta NULL).
 * The features must have been negotiated (guest-offload= or set_offload). */
static int guest_send_offload(vk_port *nic, const uint8_t *data, size_t len,
                              const vk_guest_offload *m)
{
    vk_virtio_net *v = vk_vnet_of(nic);
    vk_vnet_hdr h = {.flags = VK_VNET_HDR_F_NEEDS_CSUM};
    if (len == 0 || len > VK_FRAME_MAX)
        return VK_EINVAL;
    if (m == NULL) {
        h.flags = 0; /* a complete frame */
        return vk_virtio_net_driver_xmit(nic, &h, data, len);
    }
    if (!vk_vnet_has(v->drv.features, VK_VIRTIO_NET_F_CSUM))
        return VK_EUNSUPP;
    if (m->csum_start > 0xffff || m->csum_offset > 0xffff ||
        m->csum_start + m->csum_offset + 2 > len)
        return VK_EINVAL;
    h.csum_start = (uint16_t)m->csum_start;
    h.csum_offset = (uint16_t)m->csum_offset;
    if (m->gso_mss > 0) {
        l4_info l4;
        if (!find_l4(data, len, &l4) || l4.proto != IPPROTO_TCP_ || m->gso_mss > 0xffff ||
            m->hdr_len > len)
            return VK_EINVAL;
        unsigned need = l4.v6 ? VK_VIRTIO_NET_F_HOST_TSO6 : VK_VIRTIO_NET_F_HOST_TSO4;
        if (!vk_vnet_has(v->drv.features, need))
            return VK_EUNSUPP;
        h.gso_type = l4.v6 ? VK_VNET_HDR_GSO_TCPV6 : VK_VNET_HDR_GSO_TCPV4;
        h.gso_size = (uint16_t)m->gso_mss;
        h.hdr_len = (uint16_t)m->hdr_len;
    }
    return vk_virtio_net_driver_xmit(nic, &h, data, len);
}

/* The guest-offload= key at run time: the driver probes again when the
 * features it wants change (before the net starts, nothing is in flight).
 * RX buffers keep the size chosen at creation. */
static int guest_set_offload(vk_port *nic, vk_nic_offload mode)
{
    vk_vnet_driver *dr = &vk_vnet_of(nic)->drv;
    if ((unsigned)mode > VK_NIC_OFFLOAD_TSO)
        return VK_EINVAL;
    if (dr->cfg.offload == mode)
        return VK_OK;
    dr->cfg.offload = mode;
    return vk_virtio_net_driver_probe(nic);
}

static const vk_nic_guest_ops guest_ops = {
    .send = guest_send,
    .set_offload = guest_set_offload,
    .send_offload = guest_send_offload,
};

/* ---- control queue ---- */

int vk_virtio_net_driver_ctrl(vk_port *p, uint8_t cls, uint8_t cmd, const void *data, size_t len,
                              uint8_t *ack)
{
    vk_virtio_net *v = vk_vnet_of(p);
    vk_vnet_driver *dr = &v->drv;
    vk_vnet_drv_queue *q = &dr->q[VK_VNET_CTRLQ];
    uint8_t hdr[2] = {cls, cmd};
    uint64_t b = dr->ctrl_buf;
    uint16_t old = q->avail_idx, d = 0;
    uint32_t id, ulen;
    *ack = VK_VNET_ERR;
    if (q->size == 0 || len > VNET_CTRL_DATA_MAX)
        return VK_EINVAL;
    int r = vk_gmem_write(&v->mem, b, hdr, 2);
    r = r ? r : write_desc(&v->mem, q, d++, b, 2, VK_VRING_DESC_F_NEXT, 1);
    if (len > 0) {
        r = r ? r : vk_gmem_write(&v->mem, b + 2, data, len);
        r = r ? r : write_desc(&v->mem, q, d++, b + 2, (uint32_t)len, VK_VRING_DESC_F_NEXT, 2);
    }
    r = r ? r : write_desc(&v->mem, q, d, b + 2 + VNET_CTRL_DATA_MAX, 1, VK_VRING_DESC_F_WRITE, 0);
    r = r ? r : add_avail(&v->mem, q, 0);
    if (r != VK_OK)
        return r;
    publish_and_kick(v, VK_VNET_CTRLQ, old);
    /* Linux spins on virtqueue_get_buf; our device answered synchronously */
    if (!next_used(v, q, &id, &ulen))
        return VK_EIO;
    return vk_gmem_read(&v->mem, b + 2 + VNET_CTRL_DATA_MAX, ack, 1);
}

/* ---- interrupt, probe, setup ---- */

void vk_virtio_net_driver_poll(vk_port *p)
{
    vk_virtio_net *v = vk_vnet_of(p);
    tx_reap(v);
    rx_poll(v);
}

static void irq_service(vk_virtio_net *v, uint16_t queue)
{
    vk_vnet_driver *dr = &v->drv;
    if (queue == VK_VNET_TXQ)
        tx_reap(v);
    else if (queue == VK_VNET_RXQ && dr->cfg.rx_refill_delay > 0 && dr->refill != NULL) {
        if (!vk_timer_pending(dr->refill))
            vk_timer_arm(dr->refill, vk_loop_now(vk_net_loop(v->port->net)) + dr->cfg.rx_refill_delay);
    } else if (queue == VK_VNET_RXQ)
        rx_poll(v);
    /* the control queue is polled by the command itself */
}

static void drv_interrupt(vk_virtio_net *v, uint16_t queue)
{
    vk_vnet_driver *dr = &v->drv;
    /* an interrupt raised while we handle one (the sink sent a frame that
     * came straight back) is handled by the outer call, as a real guest
     * masks its vector while in the handler */
    if (dr->in_irq) {
        dr->irq_again = true;
        return;
    }
    dr->in_irq = true;
    irq_service(v, queue);
    while (dr->irq_again) {
        dr->irq_again = false;
        tx_reap(v);
        irq_service(v, VK_VNET_RXQ);
    }
    dr->in_irq = false;
}

static uint64_t wanted_features(const vk_virtio_net_cfg *c)
{
    uint64_t f = vk_virtio_bit(VK_VIRTIO_F_VERSION_1) | vk_virtio_bit(VK_VIRTIO_NET_F_MAC) |
                 vk_virtio_bit(VK_VIRTIO_NET_F_STATUS) | vk_virtio_bit(VK_VIRTIO_NET_F_CTRL_VQ) |
                 vk_virtio_bit(VK_VIRTIO_NET_F_CTRL_RX) |
                 vk_virtio_bit(VK_VIRTIO_NET_F_CTRL_RX_EXTRA) |
                 vk_virtio_bit(VK_VIRTIO_NET_F_CTRL_MAC_ADDR);
    if (c->mrg_rxbuf)
        f |= vk_virtio_bit(VK_VIRTIO_NET_F_MRG_RXBUF);
    if (c->event_idx)
        f |= vk_virtio_bit(VK_VIRTIO_F_EVENT_IDX);
    if (c->offload != VK_NIC_OFFLOAD_NONE)
        f |= vk_virtio_bit(VK_VIRTIO_NET_F_CSUM) | vk_virtio_bit(VK_VIRTIO_NET_F_GUEST_CSUM);
    if (c->offload == VK_NIC_OFFLOAD_TSO)
        f |= vk_virtio_bit(VK_VIRTIO_NET_F_HOST_TSO4) | vk_virtio_bit(VK_VIRTIO_NET_F_HOST_TSO6) |
             vk_virtio_bit(VK_VIRTIO_NET_F_GUEST_TSO4) | vk_virtio_bit(VK_VIRTIO_NET_F_GUEST_TSO6);
    return f;
}

static int negotiate(vk_virtio_net *v)
{
    vk_port *p = v->port;
    uint64_t offered = 0;
    for (unsigned w = 0; w < 2; w++) {
        vk_virtio_net_reg_write(p, VK_VIRTIO_DEVICE_FEATURE_SELECT, w);
        offered |= vk_virtio_net_reg_read(p, VK_VIRTIO_DEVICE_FEATURE) << (32 * w);
    }
    v->drv.features = wanted_features(&v->drv.cfg) & offered;
    for (unsigned w = 0; w < 2; w++) {
        vk_virtio_net_reg_write(p, VK_VIRTIO_DRIVER_FEATURE_SELECT, w);
        vk_virtio_net_reg_write(p, VK_VIRTIO_DRIVER_FEATURE, (uint32_t)(v->drv.features >> (32 * w)));
    }
    uint8_t s = (uint8_t)vk_virtio_net_reg_read(p, VK_VIRTIO_DEVICE_STATUS);
    vk_virtio_net_reg_write(p, VK_VIRTIO_DEVICE_STATUS, s | VK_VIRTIO_S_FEATURES_OK);
    if (!(vk_virtio_net_reg_read(p, VK_VIRTIO_DEVICE_STATUS) & VK_VIRTIO_S_FEATURES_OK))
        return VK_EINVAL;
    return VK_OK;
}

static void zero_guest(vk_gmem *m, uint64_t addr, uint64_t len)
{
    static const uint8_t zero[256];
    for (uint64_t off = 0; off < len; off += sizeof zero)
        (void)vk_gmem_write(m, addr + off, zero, len - off < sizeof zero ? (size_t)(len - off) : sizeof zero);
}

static int setup_queue(vk_virtio_net *v, uint16_t qi)
{
    vk_port *p = v->port;
    vk_vnet_drv_queue *q = &v->drv.q[qi];
    vk_virtio_net_reg_write(p, VK_VIRTIO_QUEUE_SELECT, qi);
    uint64_t max = vk_virtio_net_reg_read(p, VK_VIRTIO_QUEUE_SIZE);
    if (max == 0 || max > q->size)
        return VK_EINVAL; /* our rings were laid out for the sizes at init */
    /* fresh rings, as Linux allocates them: a re-probe must not see the
     * last run's indices or event fields */
    zero_guest(&v->mem, q->desc, vk_vq_desc_bytes(q->size));
    zero_guest(&v->mem, q->avail, vk_vq_avail_bytes_of(q->size));
    zero_guest(&v->mem, q->used, vk_vq_used_bytes_of(q->size));
    q->avail_idx = q->last_used = 0;
    vk_virtio_net_reg_write(p, VK_VIRTIO_QUEUE_SIZE, q->size);
    vk_virtio_net_reg_write(p, VK_VIRTIO_QUEUE_DESC, q->desc);
    vk_virtio_net_reg_write(p, VK_VIRTIO_QUEUE_DRIVER, q->avail);
    vk_virtio_net_reg_write(p, VK_VIRTIO_QUEUE_DEVICE, q->used);
    vk_virtio_net_reg_write(p, VK_VIRTIO_QUEUE_ENABLE, 1);
    return vk_virtio_net_reg_read(p, VK_VIRTIO_QUEUE_ENABLE) == 1 ? VK_OK : VK_EINVAL;
}

int vk_virtio_net_driver_probe(vk_port *p)
{
    vk_virtio_net *v = vk_vnet_of(p);
    vk_vnet_driver *dr = &v->drv;
    vk_virtio_net_reg_write(p, VK_VIRTIO_DEVICE_STATUS, 0);
    vk_virtio_net_reg_write(p, VK_VIRTIO_DEVICE_STATUS, VK_VIRTIO_S_ACKNOWLEDGE);
    vk_virtio_net_reg_write(p, VK_VIRTIO_DEVICE_STATUS,
                            VK_VIRTIO_S_ACKNOWLEDGE | VK_VIRTIO_S_DRIVER);
    int r = negotiate(v);
    for (uint16_t qi = 0; r == VK_OK && qi < VK_VNET_NQUEUES; qi++)
        r = setup_queue(v, qi);
    if (r != VK_OK) {
        uint8_t s = (uint8_t)vk_virtio_net_reg_read(p, VK_VIRTIO_DEVICE_STATUS);
        vk_virtio_net_reg_write(p, VK_VIRTIO_DEVICE_STATUS, s | VK_VIRTIO_S_FAILED);
        return r;
    }
    memset(dr->tx_busy, 0, dr->tx_slots);
    if (dr->refill != NULL)
        vk_timer_cancel(dr->refill);
    for (uint32_t b = 0; b < dr->cfg.rx_buffers; b++)
        if ((r = post_rx(v, (uint16_t)b)) != VK_OK)
            return r;
    (void)vk_gmem_write_le16(&v->mem, dr->q[VK_VNET_RXQ].avail + 2, dr->q[VK_VNET_RXQ].avail_idx);
    uint8_t s = (uint8_t)vk_virtio_net_reg_read(p, VK_VIRTIO_DEVICE_STATUS);
    vk_virtio_net_reg_write(p, VK_VIRTIO_DEVICE_STATUS, s | VK_VIRTIO_S_DRIVER_OK);
    return vk_virtio_net_error(p) == NULL ? VK_OK : VK_EIO;
}

static uint32_t rx_buffer_size(const vk_virtio_net_cfg *c)
{
    if (c->rx_buffer_size != 0)
        return c->rx_buffer_size;
    if (c->mrg_rxbuf)
        return MERGE_BUFFER_LEN;
    /* Linux "big packets" when it may receive GSO frames, else "small" */
    if (c->offload == VK_NIC_OFFLOAD_TSO)
        return VK_VNET_HDR_LEN + VK_FRAME_MAX;
    return VK_VNET_HDR_LEN + GOOD_PACKET_LEN;
}

static int alloc_ring(vk_virtio_net *v, vk_vnet_drv_queue *q, uint16_t size)
{
    q->size = size;
    q->desc = vk_gmem_alloc(&v->mem, vk_vq_desc_bytes(size), 4096);
    q->avail = vk_gmem_alloc(&v->mem, vk_vq_avail_bytes_of(size), 4096);
    q->used = vk_gmem_alloc(&v->mem, vk_vq_used_bytes_of(size), 4096);
    return q->desc && q->avail && q->used ? VK_OK : VK_ENOMEM;
}

static int drv_init(vk_virtio_net *v, const vk_virtio_net_cfg *cfg)
{
    vk_vnet_driver *dr = &v->drv;
    uint16_t qsize[VK_VNET_NQUEUES];
    dr->cfg = *cfg;
    dr->rx_buf_size = rx_buffer_size(cfg);
    dr->tx_slots = cfg->tx_queue_size / 2;
    for (uint16_t qi = 0; qi < VK_VNET_NQUEUES; qi++) {
        vk_virtio_net_reg_write(v->port, VK_VIRTIO_QUEUE_SELECT, qi);
        qsize[qi] = (uint16_t)vk_virtio_net_reg_read(v->port, VK_VIRTIO_QUEUE_SIZE);
    }
    if (cfg->rx_buffers == 0 || cfg->rx_buffers > qsize[VK_VNET_RXQ] || dr->tx_slots == 0)
        return VK_EINVAL;
    uint64_t bytes = 3 * 3 * 4096 + 16ull * (qsize[0] + qsize[1] + qsize[2]) * 2 +
                     (uint64_t)cfg->rx_buffers * dr->rx_buf_size +
                     (uint64_t)dr->tx_slots * (TX_HDR_STRIDE + VK_FRAME_MAX) +
                     VNET_CTRL_DATA_MAX + 3 * 4096 + 65536;
    int r = vk_gmem_init(&v->mem, bytes);
    if (r != VK_OK)
        return r;
    for (uint16_t qi = 0; qi < VK_VNET_NQUEUES; qi++)
        if ((r = alloc_ring(v, &dr->q[qi], qsize[qi])) != VK_OK)
            return r;
    dr->rx_bufs = vk_gmem_alloc(&v->mem, (uint64_t)cfg->rx_buffers * dr->rx_buf_size, 4096);
    dr->tx_bufs = vk_gmem_alloc(&v->mem, (uint64_t)dr->tx_slots * (TX_HDR_STRIDE + VK_FRAME_MAX), 4096);
    dr->ctrl_buf = vk_gmem_alloc(&v->mem, 2 + VNET_CTRL_DATA_MAX + 1, 4096);
    dr->tx_busy = calloc(dr->tx_slots ? dr->tx_slots : 1, 1);
    dr->scratch = malloc(VK_FRAME_MAX);
    dr->tx_scratch = malloc(VK_FRAME_MAX);
    if (!dr->rx_bufs || !dr->tx_bufs || !dr->ctrl_buf || !dr->tx_busy || !dr->scratch ||
        !dr->tx_scratch)
        return VK_ENOMEM;
    if (cfg->rx_refill_delay > 0) {
        dr->refill = vk_timer_new(vk_net_loop(v->port->net), refill_timer, v);
        if (dr->refill == NULL)
            return VK_ENOMEM;
    }
    return VK_OK;
}

static void drv_free(vk_virtio_net *v)
{
    vk_vnet_driver *dr = &v->drv;
    if (dr->refill != NULL)
        vk_timer_free(dr->refill);
    free(dr->tx_busy);
    free(dr->scratch);
    free(dr->tx_scratch);
    dr->tx_scratch = NULL;
    dr->refill = NULL;
    dr->tx_busy = NULL;
    dr->scratch = NULL;
}

/* The pairing's driver side (nics/registry.c): set up from the card's
 * configuration, register the interrupt handler, probe. */
static int drv_bind(vk_port *p)
{
    vk_virtio_net *v = vk_vnet_of(p);
    int r = drv_init(v, &v->cfg);
    if (r != VK_OK)
        return r;
    v->irq_cb = drv_interrupt;
    return vk_virtio_net_driver_probe(p);
}

static void drv_unbind(vk_port *p)
{
    vk_virtio_net *v = vk_vnet_of(p);
    v->irq_cb = NULL;
    drv_free(v);
}

const vk_nic_driver vk_virtio_net_driver = {
    .probe = drv_bind,
    .remove = drv_unbind,
    .error = vk_virtio_net_error,
    .ops = &guest_ops,
};
