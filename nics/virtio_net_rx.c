/*
 * virtio-net device half, receive side: the RX filter (QEMU's
 * receive_filter: RX mode flags and the MAC table), writing frames into the
 * buffers the driver posted (one buffer, or several with MRG_RXBUF and
 * num_buffers), backpressure, and the control queue that sets the filter.
 *
 * Backpressure as QEMU: can_receive() says no until DRIVER_OK, a ready RX
 * queue and at least one posted buffer; the core queue then holds frames.
 * A frame that needs more mergeable buffers than are posted waits inside the
 * card (one frame, referenced) until the driver posts more and kicks, like
 * QEMU's virtio_net_receive returning 0; queued frames follow it in order.
 */
#include "nics/virtio_net_priv.h"

#include <string.h>

#include "core/net.h"

/* ---- RX filter ---- */

static bool mac_in(const vk_vnet_device *dv, const uint8_t *mac, unsigned from, unsigned to)
{
    for (unsigned i = from; i < to; i++)
        if (memcmp(dv->macs[i], mac, 6) == 0)
            return true;
    return false;
}

/* Why the filter refuses a frame to destination dst, or NULL to accept
 * (QEMU's receive_filter; no VLAN filter since CTRL_VLAN is not offered). */
static const char *filter_reason(const vk_vnet_device *dv, const uint8_t *dst)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (dv->promisc)
        return NULL;
    if (memcmp(dst, bcast, 6) == 0)
        return dv->nobcast ? "virtio-net RX filter: broadcast refused (nobcast)" : NULL;
    if (dst[0] & 1) {
        if (dv->nomulti)
            return "virtio-net RX filter: multicast refused (nomulti)";
        if (dv->allmulti || dv->multi_overflow || mac_in(dv, dst, dv->first_multi, dv->in_use))
            return NULL;
        return "virtio-net RX filter: multicast not in the MAC table";
    }
    if (dv->nouni)
        return "virtio-net RX filter: unicast refused (nouni)";
    if (dv->alluni || dv->uni_overflow || memcmp(dst, dv->mac.b, 6) == 0 ||
        mac_in(dv, dst, 0, dv->first_multi))
        return NULL;
    return "virtio-net RX filter: unicast not for this MAC";
}

/* ---- writing a frame into RX buffers ---- */

/* Writes bytes [from, from+n) of the stream "header then frame" into e at
 * offset eoff. */
static int write_stream(vk_vq *vq, const vk_vq_elem *e, uint64_t eoff, const uint8_t *hdr,
                        const vk_frame *f, size_t from, size_t n)
{
    if (from < VK_VNET_HDR_LEN) {
        size_t k = VK_VNET_HDR_LEN - from < n ? VK_VNET_HDR_LEN - from : n;
        int r = vk_vq_elem_write(vq, e, eoff, hdr + from, k);
        if (r != VK_OK)
            return r;
        eoff += k;
        from += k;
        n -= k;
    }
    if (n == 0)
        return VK_OK;
    return vk_vq_elem_write(vq, e, eoff, f->data + (from - VK_VNET_HDR_LEN), n);
}

typedef enum rx_result { RX_DONE, RX_WAIT, RX_TOO_BIG, RX_ERROR } rx_result;

static rx_result rx_enough_buffers(vk_virtio_net *v, size_t need)
{
    vk_vnet_device *dv = &v->dev;
    vk_vq *vq = &dv->vq[VK_VNET_RXQ];
    uint16_t n;
    if (vk_vq_avail_count(vq, &n) != VK_OK)
        return RX_ERROR;
    if (n == 0)
        return RX_WAIT;
    if (!vk_vnet_has(dv->guest_features, VK_VIRTIO_NET_F_MRG_RXBUF))
        return RX_DONE;
    bool enough;
    if (vk_vq_avail_in_bytes(vq, need, &dv->rx_elem2, &enough) != VK_OK)
        return RX_ERROR;
    return enough ? RX_DONE : RX_WAIT;
}

/* Pops buffers and writes header + frame, QEMU's virtio_net_receive_rcu. */
static rx_result rx_write(vk_virtio_net *v, const vk_frame *f)
{
    vk_vnet_device *dv = &v->dev;
    vk_vq *vq = &dv->vq[VK_VNET_RXQ];
    bool mrg = vk_vnet_has(dv->guest_features, VK_VIRTIO_NET_F_MRG_RXBUF);
    size_t need = VK_VNET_HDR_LEN + f->len, done = 0;
    rx_result res = rx_enough_buffers(v, need);
    if (res != RX_DONE)
        return res;
    /* plain frames from the peer: no offload flags (QEMU writes 0 too) */
    vk_vnet_hdr h = {.num_buffers = 1};
    uint8_t hdr[VK_VNET_HDR_LEN];
    vk_vnet_hdr_emit(&h, hdr);
    uint16_t i = 0;
    while (done < need) {
        vk_vq_elem *e = i == 0 ? &dv->rx_elem : &dv->rx_elem2;
        if (vk_vq_pop(vq, e) != 1 || e->in_bytes == 0 || (i == 0 && e->in_bytes < VK_VNET_HDR_LEN)) {
            if (!dv->broken && vq->error[0] == '\0')
                vk_vnet_device_error(v, "virtio-net rx queue: buffer without room for the header");
            return RX_ERROR;
        }
        size_t n = e->in_bytes < need - done ? (size_t)e->in_bytes : need - done;
        if (!mrg && n < need) {
            vk_vq_unpop(vq, 1); /* the buffer stays posted (QEMU) */
            return RX_TOO_BIG;
        }
        if (write_stream(vq, e, 0, hdr, f, done, n) != VK_OK || vk_vq_fill(vq, e->head, (uint32_t)n, i) != VK_OK)
            return RX_ERROR;
        done += n;
        i++;
    }
    if (mrg) {
        uint8_t nb[2] = {(uint8_t)i, (uint8_t)(i >> 8)};
        if (vk_vq_elem_write(vq, &dv->rx_elem, 10, nb, 2) != VK_OK)
            return RX_ERROR;
    }
    if (vk_vq_flush(vq, i) != VK_OK)
        return RX_ERROR;
    dv->stats.rx_frames++;
    return RX_DONE;
}

/* Delivers f, or holds it when buffers are short; the interrupt goes last,
 * once the device state is consistent, since the driver may re-enter. */
static int rx_deliver(vk_virtio_net *v, vk_frame *f)
{
    vk_vnet_device *dv = &v->dev;
    switch (rx_write(v, f)) {
    case RX_DONE:
        vk_vnet_notify_guest(v, VK_VNET_RXQ);
        return VK_OK;
    case RX_WAIT:
        dv->held = vk_frame_ref(f);
        /* ask for a kick when buffers arrive */
        if (vk_vq_set_notification(&dv->vq[VK_VNET_RXQ], true) != VK_OK)
            vk_vnet_queue_error(v, VK_VNET_RXQ);
        return VK_OK;
    case RX_TOO_BIG:
        dv->stats.rx_too_big++;
        vk_port_drop(v->port, f, "virtio-net RX: frame larger than the receive buffer");
        return VK_EDROP;
    case RX_ERROR:
    default:
        if (!dv->broken)
            vk_vnet_queue_error(v, VK_VNET_RXQ);
        vk_port_drop(v->port, f, "virtio-net RX: device needs reset");
        return VK_EIO;
    }
}

int vk_vnet_receive(vk_port *self, vk_frame *f)
{
    vk_virtio_net *v = vk_vnet_of(self);
    const char *why = f->len < 14 && !v->dev.promisc ? "virtio-net RX filter: runt frame"
                      : filter_reason(&v->dev, f->data);
    if (why != NULL) {
        v->dev.stats.rx_filtered++;
        vk_port_drop(self, f, why);
        return VK_EDROP;
    }
    int r = rx_deliver(v, f);
    if (v->dev.held == f)
        v->dev.stats.rx_held++;
    return r;
}

bool vk_vnet_can_receive(vk_port *self)
{
    vk_virtio_net *v = vk_vnet_of(self);
    uint16_t n;
    if (!vk_vnet_queue_usable(v, VK_VNET_RXQ) || v->dev.held != NULL)
        return false;
    if (vk_vq_avail_count(&v->dev.vq[VK_VNET_RXQ], &n) != VK_OK) {
        vk_vnet_queue_error(v, VK_VNET_RXQ);
        return false;
    }
    if (n > 0)
        return true;
    /* no buffers: ask the driver to kick us when it posts some (QEMU's
     * virtio_net_has_buffers enables notification the same way) */
    if (vk_vq_set_notification(&v->dev.vq[VK_VNET_RXQ], true) != VK_OK)
        vk_vnet_queue_error(v, VK_VNET_RXQ);
    return false;
}

/* The driver posted buffers: first the held frame, then the core queue. */
void vk_vnet_rx_kick(vk_virtio_net *v)
{
    vk_vnet_device *dv = &v->dev;
    if (dv->held != NULL) {
        /* cleared first: delivery raises the interrupt and the driver may
         * kick again from inside it */
        vk_frame *f = dv->held;
        dv->held = NULL;
        rx_deliver(v, f);
        vk_frame_unref(f);
        if (dv->held != NULL)
            return; /* still short of buffers */
    }
    vk_port_flush(v->port);
}

/* ---- control queue ---- */

static uint8_t ctrl_rx_mode(vk_vnet_device *dv, uint8_t cmd, const uint8_t *data, size_t len)
{
    bool *flags[] = {&dv->promisc, &dv->allmulti, &dv->alluni, &dv->nomulti, &dv->nouni,
                     &dv->nobcast};
    if (len != 1 || cmd >= sizeof flags / sizeof flags[0])
        return VK_VNET_ERR;
    *flags[cmd] = data[0] != 0;
    return VK_VNET_OK;
}

static uint32_t le32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* VIRTIO_NET_CTRL_MAC_TABLE_SET: two virtio_net_ctrl_mac lists (unicast,
 * then multicast), each le32 entries + entries * 6 bytes.  As QEMU, a list
 * that does not fit the table sets its overflow flag (accept all of that
 * kind); lengths must match exactly. */
static uint8_t ctrl_mac_table(vk_vnet_device *dv, const uint8_t *data, size_t len)
{
    uint8_t macs[VK_VNET_MAC_TABLE_ENTRIES][6];
    unsigned in_use = 0, first_multi = 0;
    bool overflow[2] = {false, false};
    size_t off = 0;
    for (int list = 0; list < 2; list++) {
        if (list == 1)
            first_multi = in_use;
        if (len - off < 4)
            return VK_VNET_ERR;
        uint64_t entries = le32_at(data + off);
        off += 4;
        if (entries * 6 > len - off || (list == 1 && entries * 6 != len - off))
            return VK_VNET_ERR;
        if (entries <= VK_VNET_MAC_TABLE_ENTRIES - in_use) {
            memcpy(macs[in_use], data + off, (size_t)entries * 6);
            in_use += (unsigned)entries;
        } else {
            overflow[list] = true;
        }
        off += (size_t)entries * 6;
    }
    memcpy(dv->macs, macs, sizeof macs);
    dv->in_use = in_use;
    dv->first_multi = first_multi;
    dv->uni_overflow = overflow[0];
    dv->multi_overflow = overflow[1];
    return VK_VNET_OK;
}

static uint8_t ctrl_mac(vk_vnet_device *dv, uint8_t cmd, const uint8_t *data, size_t len)
{
    if (cmd == VK_VNET_CTRL_MAC_ADDR_SET) {
        if (len != 6)
            return VK_VNET_ERR;
        memcpy(dv->mac.b, data, 6);
        return VK_VNET_OK;
    }
    if (cmd == VK_VNET_CTRL_MAC_TABLE_SET)
        return ctrl_mac_table(dv, data, len);
    return VK_VNET_ERR;
}

static uint8_t ctrl_command(vk_vnet_device *dv, const uint8_t *buf, size_t len)
{
    if (buf[0] == VK_VNET_CTRL_RX)
        return ctrl_rx_mode(dv, buf[1], buf + 2, len - 2);
    if (buf[0] == VK_VNET_CTRL_MAC)
        return ctrl_mac(dv, buf[1], buf + 2, len - 2);
    return VK_VNET_ERR;
}

/* One command chain: out = class, cmd, data; in = ack (QEMU's
 * virtio_net_handle_ctrl_iov).  Missing headers are a device error. */
static int ctrl_chain(vk_virtio_net *v, vk_vq *vq, const vk_vq_elem *e)
{
    vk_vnet_device *dv = &v->dev;
    uint8_t buf[2 + VNET_CTRL_DATA_MAX];
    if (e->in_bytes < 1 || e->out_bytes < 2) {
        vk_vnet_device_error(v, "virtio-net ctrl missing headers");
        return VK_EFORMAT;
    }
    uint8_t ack = VK_VNET_ERR;
    if (e->out_bytes <= sizeof buf) {
        size_t len = (size_t)e->out_bytes;
        if (vk_vq_elem_read(vq, e, 0, buf, len) != VK_OK)
            return VK_ERANGE;
        ack = ctrl_command(dv, buf, len);
    }
    if (ack == VK_VNET_OK)
        dv->stats.ctrl_ok++;
    else
        dv->stats.ctrl_err++;
    if (vk_vq_elem_write(vq, e, 0, &ack, 1) != VK_OK || vk_vq_fill(vq, e->head, 1, 0) != VK_OK ||
        vk_vq_flush(vq, 1) != VK_OK)
        return VK_ERANGE;
    return VK_OK;
}

void vk_vnet_ctrl_kick(vk_virtio_net *v)
{
    vk_vq *vq = &v->dev.vq[VK_VNET_CTRLQ];
    int r;
    while (vk_vnet_queue_usable(v, VK_VNET_CTRLQ) && (r = vk_vq_pop(vq, &v->dev.ctrl_elem)) != 0) {
        if (r < 0 || ctrl_chain(v, vq, &v->dev.ctrl_elem) != VK_OK) {
            if (!v->dev.broken)
                vk_vnet_queue_error(v, VK_VNET_CTRLQ);
            return;
        }
        vk_vnet_notify_guest(v, VK_VNET_CTRLQ);
    }
    /* a filter change may let queued frames pass now or be dropped */
    vk_port_flush(v->port);
}
