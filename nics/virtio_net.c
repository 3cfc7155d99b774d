/*
 * virtio-net device half: transport registers, feature negotiation, device
 * status, TX, the port glue and the model table (see virtio_net.h).  RX, the
 * RX filter and the control queue are in virtio_net_rx.c.
 *
 * Guest errors (bad rings, looped chains, addresses outside guest memory)
 * put the device in NEEDS_RESET as QEMU's virtio_error(): it stops touching
 * its queues until the driver writes status 0.  Bad virtio_net_hdr fields
 * are not device errors: the frame is dropped and counted, as Linux's
 * virtio_net_hdr_to_skb refusal would.
 */
#include "nics/virtio_net_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/net.h"
#include "wire/offload.h"

#define VNET_DEFAULT_QUEUE 256
#define VNET_CTRL_QUEUE 64

/* What the device offers; CTRL_VLAN and MQ are not implemented. */
static const uint64_t vk_vnet_offered =
    1ull << VK_VIRTIO_NET_F_CSUM | 1ull << VK_VIRTIO_NET_F_GUEST_CSUM |
    1ull << VK_VIRTIO_NET_F_MAC | 1ull << VK_VIRTIO_NET_F_GUEST_TSO4 |
    1ull << VK_VIRTIO_NET_F_GUEST_TSO6 | 1ull << VK_VIRTIO_NET_F_GUEST_ECN |
    1ull << VK_VIRTIO_NET_F_HOST_TSO4 | 1ull << VK_VIRTIO_NET_F_HOST_TSO6 |
    1ull << VK_VIRTIO_NET_F_HOST_ECN | 1ull << VK_VIRTIO_NET_F_MRG_RXBUF |
    1ull << VK_VIRTIO_NET_F_STATUS | 1ull << VK_VIRTIO_NET_F_CTRL_VQ |
    1ull << VK_VIRTIO_NET_F_CTRL_RX | 1ull << VK_VIRTIO_NET_F_CTRL_RX_EXTRA |
    1ull << VK_VIRTIO_NET_F_CTRL_MAC_ADDR | 1ull << VK_VIRTIO_F_INDIRECT_DESC |
    1ull << VK_VIRTIO_F_EVENT_IDX | 1ull << VK_VIRTIO_F_VERSION_1;

void vk_vnet_hdr_emit(const vk_vnet_hdr *h, uint8_t out[VK_VNET_HDR_LEN])
{
    const uint16_t f[5] = {h->hdr_len, h->gso_size, h->csum_start, h->csum_offset,
                           h->num_buffers};
    out[0] = h->flags;
    out[1] = h->gso_type;
    for (int i = 0; i < 5; i++) {
        out[2 + 2 * i] = (uint8_t)f[i];
        out[3 + 2 * i] = (uint8_t)(f[i] >> 8);
    }
}

void vk_vnet_hdr_parse(const uint8_t in[VK_VNET_HDR_LEN], vk_vnet_hdr *h)
{
    uint16_t f[5];
    for (int i = 0; i < 5; i++)
        f[i] = (uint16_t)(in[2 + 2 * i] | in[3 + 2 * i] << 8);
    h->flags = in[0];
    h->gso_type = in[1];
    h->hdr_len = f[0];
    h->gso_size = f[1];
    h->csum_start = f[2];
    h->csum_offset = f[3];
    h->num_buffers = f[4];
}

void vk_vnet_device_error(vk_virtio_net *v, const char *fmt, ...)
{
    vk_vnet_device *dv = &v->dev;
    if (!dv->broken) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(dv->error, sizeof dv->error, fmt, ap);
        va_end(ap);
        dv->stats.device_errors++;
    }
    dv->broken = true;
    dv->status |= VK_VIRTIO_S_NEEDS_RESET;
}

/* A queue failed: its message becomes the device's. */
void vk_vnet_queue_error(vk_virtio_net *v, uint16_t q)
{
    static const char *const names[] = {"rx", "tx", "ctrl"};
    vk_vnet_device_error(v, "virtio-net %s queue: %s", names[q],
                      v->dev.vq[q].error[0] ? v->dev.vq[q].error : "guest error");
}

bool vk_vnet_queue_usable(vk_virtio_net *v, uint16_t q)
{
    return !v->dev.broken && (v->dev.status & VK_VIRTIO_S_DRIVER_OK) && v->dev.vq[q].ready;
}

/* Raises the interrupt for q if the driver wants one (flags / used_event). */
void vk_vnet_notify_guest(vk_virtio_net *v, uint16_t q)
{
    bool want;
    if (vk_vq_should_notify(&v->dev.vq[q], &want) != VK_OK) {
        vk_vnet_queue_error(v, q);
        return;
    }
    if (!want)
        return;
    v->dev.stats.interrupts++;
    if (v->irq_cb != NULL)
        v->irq_cb(v, q);
}

/* ---- reset, features, status ---- */

static void device_reset(vk_virtio_net *v)
{
    vk_vnet_device *dv = &v->dev;
    if (dv->held != NULL) {
        vk_port_drop(v->port, dv->held, "virtio-net reset");
        vk_frame_unref(dv->held);
        dv->held = NULL;
    }
    dv->guest_features = 0;
    dv->dfselect = dv->gfselect = 0;
    dv->status = 0;
    dv->qsel = 0;
    for (int q = 0; q < VK_VNET_NQUEUES; q++)
        vk_vq_reset(&dv->vq[q], &v->mem);
    dv->broken = false;
    dv->error[0] = '\0';
    dv->mac = v->nic.mac;
    /* QEMU starts promiscuous "for compatibility" with drivers that never
     * send RX mode commands; Linux turns it off at open */
    dv->promisc = true;
    dv->allmulti = dv->alluni = dv->nomulti = dv->nouni = dv->nobcast = false;
    dv->in_use = dv->first_multi = 0;
    dv->uni_overflow = dv->multi_overflow = false;
}

/* Spec 5.1.3.1: feature dependencies a driver must respect. */
static bool features_consistent(uint64_t f)
{
    uint64_t csum = vk_virtio_bit(VK_VIRTIO_NET_F_CSUM);
    uint64_t gcsum = vk_virtio_bit(VK_VIRTIO_NET_F_GUEST_CSUM);
    uint64_t ctrl = vk_virtio_bit(VK_VIRTIO_NET_F_CTRL_VQ);
    uint64_t host_tso = vk_virtio_bit(VK_VIRTIO_NET_F_HOST_TSO4) |
                        vk_virtio_bit(VK_VIRTIO_NET_F_HOST_TSO6);
    uint64_t guest_tso = vk_virtio_bit(VK_VIRTIO_NET_F_GUEST_TSO4) |
                         vk_virtio_bit(VK_VIRTIO_NET_F_GUEST_TSO6);
    if ((f & host_tso) && !(f & csum))
        return false;
    if ((f & (guest_tso | vk_virtio_bit(VK_VIRTIO_NET_F_GUEST_ECN))) && !(f & gcsum))
        return false;
    if (vk_vnet_has(f, VK_VIRTIO_NET_F_HOST_ECN) && !(f & host_tso))
        return false;
    if (vk_vnet_has(f, VK_VIRTIO_NET_F_GUEST_ECN) && !(f & guest_tso))
        return false;
    if ((f & (vk_virtio_bit(VK_VIRTIO_NET_F_CTRL_RX) | vk_virtio_bit(VK_VIRTIO_NET_F_CTRL_MAC_ADDR))) &&
        !(f & ctrl))
        return false;
    if (vk_vnet_has(f, VK_VIRTIO_NET_F_CTRL_RX_EXTRA) && !vk_vnet_has(f, VK_VIRTIO_NET_F_CTRL_RX))
        return false;
    return true;
}

/* The device may refuse FEATURES_OK (3.1.1 step 6): for a feature it did
 * not offer, a broken dependency, or a legacy driver (no VERSION_1: this
 * device is modern-only, as virtio-net-pci with disable-legacy=on). */
static bool features_acceptable(const vk_vnet_device *dv)
{
    uint64_t f = dv->guest_features;
    return (f & ~dv->host_features) == 0 && vk_vnet_has(f, VK_VIRTIO_F_VERSION_1) &&
           features_consistent(f);
}

static void set_status(vk_virtio_net *v, uint8_t value)
{
    vk_vnet_device *dv = &v->dev;
    if (value == 0) {
        device_reset(v);
        return;
    }
    bool newly_features_ok =
        (value & VK_VIRTIO_S_FEATURES_OK) && !(dv->status & VK_VIRTIO_S_FEATURES_OK);
    if (newly_features_ok && !features_acceptable(dv))
        value &= (uint8_t)~VK_VIRTIO_S_FEATURES_OK;
    bool newly_ok = (value & VK_VIRTIO_S_DRIVER_OK) && !(dv->status & VK_VIRTIO_S_DRIVER_OK);
    /* NEEDS_RESET is the device's to set; the driver cannot clear it */
    dv->status = (uint8_t)(value | (dv->status & VK_VIRTIO_S_NEEDS_RESET));
    if (newly_ok)
        vk_port_flush(v->port);
}

/* ---- queue registers ---- */

static vk_vq *selected(vk_virtio_net *v)
{
    return v->dev.qsel < VK_VNET_NQUEUES ? &v->dev.vq[v->dev.qsel] : NULL;
}

static void queue_enable(vk_virtio_net *v, vk_vq *vq)
{
    if (vq->ready)
        return;
    vq->event_idx = vk_vnet_has(v->dev.guest_features, VK_VIRTIO_F_EVENT_IDX);
    if (vq->size > v->dev.qmax[v->dev.qsel]) {
        vk_vnet_device_error(v, "virtio-net queue %u: size %u above the maximum %u", v->dev.qsel,
                          vq->size, v->dev.qmax[v->dev.qsel]);
        return;
    }
    if (vk_vq_enable(vq) != VK_OK)
        vk_vnet_queue_error(v, v->dev.qsel);
}

/* Ring addresses and size are frozen once the queue is enabled (4.1.4.3). */
static void queue_reg_write(vk_virtio_net *v, vk_virtio_reg reg, uint64_t value)
{
    vk_vq *vq = selected(v);
    if (vq == NULL || vq->ready)
        return;
    switch (reg) {
    case VK_VIRTIO_QUEUE_SIZE:
        /* checked at enable, where a bad size becomes a device error */
        vq->size = value > 0xffff ? 0xffff : (uint16_t)value;
        break;
    case VK_VIRTIO_QUEUE_ENABLE:
        if (value == 1)
            queue_enable(v, vq);
        break;
    case VK_VIRTIO_QUEUE_DESC: vq->desc = value; break;
    case VK_VIRTIO_QUEUE_DRIVER: vq->avail = value; break;
    case VK_VIRTIO_QUEUE_DEVICE: vq->used = value; break;
    default: break;
    }
}

static uint64_t queue_reg_read(vk_virtio_net *v, vk_virtio_reg reg)
{
    vk_vq *vq = selected(v);
    if (vq == NULL)
        return 0; /* a queue that does not exist reads as size 0 */
    switch (reg) {
    case VK_VIRTIO_QUEUE_SIZE: return vq->size ? vq->size : v->dev.qmax[v->dev.qsel];
    case VK_VIRTIO_QUEUE_ENABLE: return vq->ready;
    case VK_VIRTIO_QUEUE_DESC: return vq->desc;
    case VK_VIRTIO_QUEUE_DRIVER: return vq->avail;
    case VK_VIRTIO_QUEUE_DEVICE: return vq->used;
    default: return 0;
    }
}

uint64_t vk_virtio_net_reg_read(vk_port *p, vk_virtio_reg reg)
{
    vk_vnet_device *dv = &vk_vnet_of(p)->dev;
    switch (reg) {
    case VK_VIRTIO_DEVICE_FEATURE_SELECT: return dv->dfselect;
    case VK_VIRTIO_DEVICE_FEATURE:
        return dv->dfselect < 2 ? (uint32_t)(dv->host_features >> (32 * dv->dfselect)) : 0;
    case VK_VIRTIO_DRIVER_FEATURE_SELECT: return dv->gfselect;
    case VK_VIRTIO_DRIVER_FEATURE:
        return dv->gfselect < 2 ? (uint32_t)(dv->guest_features >> (32 * dv->gfselect)) : 0;
    case VK_VIRTIO_NUM_QUEUES: return VK_VNET_NQUEUES;
    case VK_VIRTIO_DEVICE_STATUS: return dv->status;
    case VK_VIRTIO_QUEUE_SELECT: return dv->qsel;
    default: return queue_reg_read(vk_vnet_of(p), reg);
    }
}

static void driver_feature_write(vk_vnet_device *dv, uint64_t value)
{
    /* features are frozen once FEATURES_OK was accepted (QEMU too) */
    if (dv->gfselect >= 2 || (dv->status & VK_VIRTIO_S_FEATURES_OK))
        return;
    unsigned shift = 32 * dv->gfselect;
    dv->guest_features &= ~(0xffffffffull << shift);
    dv->guest_features |= (value & 0xffffffffull) << shift;
}

void vk_virtio_net_reg_write(vk_port *p, vk_virtio_reg reg, uint64_t value)
{
    vk_virtio_net *v = vk_vnet_of(p);
    vk_vnet_device *dv = &v->dev;
    switch (reg) {
    case VK_VIRTIO_DEVICE_FEATURE_SELECT: dv->dfselect = (uint32_t)value; break;
    case VK_VIRTIO_DRIVER_FEATURE_SELECT: dv->gfselect = (uint32_t)value; break;
    case VK_VIRTIO_DRIVER_FEATURE: driver_feature_write(dv, value); break;
    case VK_VIRTIO_DEVICE_STATUS: set_status(v, (uint8_t)value); break;
    case VK_VIRTIO_QUEUE_SELECT: dv->qsel = (uint16_t)value; break;
    default: queue_reg_write(v, reg, value); break;
    }
}

int vk_virtio_net_config_read(vk_port *p, size_t off, void *buf, size_t len)
{
    vk_virtio_net *v = vk_vnet_of(p);
    uint8_t cfg[10];
    memcpy(cfg, v->dev.mac.b, 6);
    /* VIRTIO_NET_S_LINK_UP follows set_link; the driver half reads it when
     * it wants (it has no config-change interrupt handler) */
    cfg[6] = p->link_down ? 0 : 1;
    cfg[7] = 0;
    cfg[8] = 1; /* max_virtqueue_pairs */
    cfg[9] = 0;
    if (off > sizeof cfg || len > sizeof cfg - off)
        return VK_ERANGE;
    memcpy(buf, cfg + off, len);
    return VK_OK;
}

/* ---- TX ---- */

static void tx_emit(void *arg, const uint8_t *seg, size_t seglen)
{
    vk_virtio_net *v = arg;
    if (vk_port_send_bytes(v->port, seg, seglen) == VK_OK)
        v->dev.stats.tx_segments++;
}

/* Checks the header as Linux's virtio_net_hdr_to_skb would; NULL if fine. */
static const char *tx_header_problem(const vk_vnet_device *dv, const vk_vnet_hdr *h, size_t len)
{
    if ((h->flags & VK_VNET_HDR_F_NEEDS_CSUM) &&
        (size_t)h->csum_start + h->csum_offset + 2 > len)
        return "csum_start + csum_offset beyond the frame";
    if (h->gso_type == VK_VNET_HDR_GSO_NONE)
        return NULL;
    uint8_t type = h->gso_type & (uint8_t)~VK_VNET_HDR_GSO_ECN;
    if (type == VK_VNET_HDR_GSO_TCPV4 && !vk_vnet_has(dv->guest_features, VK_VIRTIO_NET_F_HOST_TSO4))
        return "TCPv4 GSO without HOST_TSO4";
    if (type == VK_VNET_HDR_GSO_TCPV6 && !vk_vnet_has(dv->guest_features, VK_VIRTIO_NET_F_HOST_TSO6))
        return "TCPv6 GSO without HOST_TSO6";
    if (type != VK_VNET_HDR_GSO_TCPV4 && type != VK_VNET_HDR_GSO_TCPV6)
        return "unsupported gso_type";
    if ((h->gso_type & VK_VNET_HDR_GSO_ECN) && !vk_vnet_has(dv->guest_features, VK_VIRTIO_NET_F_HOST_ECN))
        return "ECN GSO without HOST_ECN";
    if (h->gso_size == 0)
        return "gso_size 0";
    if (h->hdr_len > len)
        return "hdr_len beyond the frame";
    return NULL;
}

/* One frame of len bytes in txbuf (after the header): offloads, then send. */
static void tx_frame(vk_virtio_net *v, const vk_vnet_hdr *h, uint8_t *frame, size_t len)
{
    vk_vnet_device *dv = &v->dev;
    const char *bad = tx_header_problem(dv, h, len);
    int r = VK_OK;
    if (bad == NULL && h->gso_type != VK_VNET_HDR_GSO_NONE) {
        r = vk_offload_tso(frame, len, h->hdr_len, h->gso_size, v->nic.tso_zero, tx_emit, v);
        bad = r < 0 ? "GSO frame that cannot be segmented" : NULL;
    } else if (bad == NULL) {
        if (h->flags & VK_VNET_HDR_F_NEEDS_CSUM)
            r = vk_offload_csum(frame, len, h->csum_start, h->csum_offset, v->nic.csum_zero);
        if (r == VK_OK)
            tx_emit(v, frame, len);
    }
    if (bad == NULL)
        return;
    dv->stats.tx_bad_hdr++;
    char reason[96];
    snprintf(reason, sizeof reason, "virtio-net TX header: %s", bad);
    vk_port_drop_outbound_bytes(v->port, frame, len, reason);
}

/* One TX chain: gather, check, send; always completed with length 0 as QEMU
 * does (the driver only needs to know the buffers are free). */
static int tx_chain(vk_virtio_net *v, vk_vq *vq, const vk_vq_elem *e)
{
    vk_vnet_device *dv = &v->dev;
    dv->stats.tx_packets++;
    if (e->out_bytes < VK_VNET_HDR_LEN) {
        vk_vnet_device_error(v, "virtio-net header not in first element");
        return VK_EFORMAT;
    }
    if (e->out_bytes > VK_VNET_HDR_LEN + VK_FRAME_MAX) {
        dv->stats.tx_too_big++;
    } else {
        size_t total = (size_t)e->out_bytes;
        if (vk_vq_elem_read(vq, e, 0, dv->txbuf, total) != VK_OK)
            return VK_ERANGE;
        vk_vnet_hdr h;
        vk_vnet_hdr_parse(dv->txbuf, &h);
        tx_frame(v, &h, dv->txbuf + VK_VNET_HDR_LEN, total - VK_VNET_HDR_LEN);
    }
    if (vk_vq_fill(vq, e->head, 0, 0) != VK_OK || vk_vq_flush(vq, 1) != VK_OK)
        return VK_ERANGE;
    return VK_OK;
}

static void tx_run(vk_virtio_net *v)
{
    vk_vq *vq = &v->dev.vq[VK_VNET_TXQ];
    int r;
    while (vk_vnet_queue_usable(v, VK_VNET_TXQ) && (r = vk_vq_pop(vq, &v->dev.tx_elem)) != 0) {
        if (r < 0 || tx_chain(v, vq, &v->dev.tx_elem) != VK_OK) {
            if (!v->dev.broken)
                vk_vnet_queue_error(v, VK_VNET_TXQ);
            return;
        }
        vk_vnet_notify_guest(v, VK_VNET_TXQ);
    }
}

static void tx_kick(vk_virtio_net *v)
{
    vk_vnet_device *dv = &v->dev;
    /* a kick from inside our own TX (the peer answered synchronously and
     * the guest sent again) is served by the loop already running */
    if (dv->in_tx) {
        dv->tx_again = true;
        return;
    }
    dv->in_tx = true;
    do {
        dv->tx_again = false;
        tx_run(v);
    } while (dv->tx_again);
    dv->in_tx = false;
}

void vk_virtio_net_notify(vk_port *p, uint16_t queue)
{
    vk_virtio_net *v = vk_vnet_of(p);
    v->dev.stats.kicks++;
    if (queue >= VK_VNET_NQUEUES || !vk_vnet_queue_usable(v, queue))
        return;
    if (queue == VK_VNET_TXQ)
        tx_kick(v);
    else if (queue == VK_VNET_RXQ)
        vk_vnet_rx_kick(v);
    else
        vk_vnet_ctrl_kick(v);
}

/* ---- observation ---- */

vk_gmem *vk_virtio_net_gmem(vk_port *p)
{
    return &vk_vnet_of(p)->mem;
}

const vk_virtio_net_stats *vk_virtio_net_get_stats(vk_port *p)
{
    return &vk_vnet_of(p)->dev.stats;
}

const char *vk_virtio_net_error(vk_port *p)
{
    vk_virtio_net *v = vk_vnet_of(p);
    return v->dev.broken ? v->dev.error : NULL;
}

/* ---- port and model ---- */

static void vk_vnet_cleanup(vk_port *self)
{
    vk_virtio_net *v = vk_vnet_of(self);
    if (v->dev.held != NULL)
        vk_frame_unref(v->dev.held);
    vk_nic_unbind(self);
    free(v->dev.txbuf);
    vk_gmem_destroy(&v->mem);
}

static const vk_port_ops vk_vnet_port_ops = {
    .kind = "nic",
    .receive = vk_vnet_receive,
    .can_receive = vk_vnet_can_receive,
    .cleanup = vk_vnet_cleanup,
    .describe = vk_nic_describe,
};

void vk_virtio_net_cfg_default(vk_virtio_net_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->rx_queue_size = VNET_DEFAULT_QUEUE;
    c->tx_queue_size = VNET_DEFAULT_QUEUE;
    c->rx_buffers = VNET_DEFAULT_QUEUE;
    c->offload = VK_NIC_OFFLOAD_NONE;
    c->mrg_rxbuf = true;
    c->event_idx = true;
}

int vk_virtio_net_new(vk_net *net, const char *id, const vk_mac *mac,
                      const vk_virtio_net_cfg *cfg, vk_port **out, vk_diag *d)
{
    vk_port *p;
    int r = vk_port_new(net, &vk_vnet_port_ops, id, "virtio-net-pci", sizeof(vk_virtio_net), &p,
                        d);
    if (r != VK_OK)
        return r;
    vk_virtio_net *v = vk_vnet_of(p);
    v->nic.mac = *mac;
    /* resolved as the host kernel behind QEMU's tap would: a checksum by
     * skb_checksum_help (0 stored as 0xffff), GSO segments by csum_fold */
    v->nic.csum_zero = VK_CSUM_ZERO_AS_FFFF;
    v->nic.tso_zero = VK_CSUM_ZERO_KEPT;
    v->port = p;
    v->cfg = *cfg;
    v->dev.host_features = vk_vnet_offered;
    v->dev.qmax[VK_VNET_RXQ] = cfg->rx_queue_size;
    v->dev.qmax[VK_VNET_TXQ] = cfg->tx_queue_size;
    v->dev.qmax[VK_VNET_CTRLQ] = VNET_CTRL_QUEUE;
    v->dev.txbuf = malloc(VK_VNET_HDR_LEN + VK_FRAME_MAX);
    if (v->dev.txbuf == NULL)
        return vk_diag_set(d, VK_ENOMEM, "virtio-net %s: out of memory", id);
    device_reset(v);
    *out = p;
    return VK_OK;
}

static int opt_queue_size(vk_opts *o, const char *key, uint16_t *out, vk_diag *d)
{
    uint64_t n;
    int r = vk_opts_get_uint(o, key, VNET_DEFAULT_QUEUE, 2, 1024, &n, d);
    if (r != VK_OK)
        return r;
    if (n & (n - 1))
        return vk_opts_error(o, d, VK_EINVAL, key, "must be a power of 2 between 2 and 1024");
    *out = (uint16_t)n;
    return VK_OK;
}

static int parse_cfg(vk_opts *o, vk_virtio_net_cfg *c, vk_diag *d)
{
    uint64_t n;
    int r;
    vk_virtio_net_cfg_default(c);
    if ((r = opt_queue_size(o, "rx-queue-size", &c->rx_queue_size, d)) != VK_OK ||
        (r = opt_queue_size(o, "tx-queue-size", &c->tx_queue_size, d)) != VK_OK)
        return r;
    if ((r = vk_opts_get_uint(o, "rx-buffers", c->rx_queue_size, 1, c->rx_queue_size, &n, d)) != VK_OK)
        return r;
    c->rx_buffers = (uint32_t)n;
    /* at least a header and a minimal frame; at most one super-frame */
    if ((r = vk_opts_get_uint(o, "rx-buffer-size", 0, 0, VK_VNET_HDR_LEN + VK_FRAME_MAX, &n, d)) != VK_OK)
        return r;
    if (n != 0 && n < VK_VNET_HDR_LEN + 60)
        return vk_opts_error(o, d, VK_ERANGE, "rx-buffer-size", "must be at least %d",
                             VK_VNET_HDR_LEN + 60);
    c->rx_buffer_size = (uint32_t)n;
    if ((r = vk_nic_opts_refill_delay(o, &c->rx_refill_delay, d)) != VK_OK)
        return r;
    if ((r = vk_nic_opts_offload(o, &c->offload, d)) != VK_OK ||
        (r = vk_opts_get_bool(o, "mrg-rxbuf", true, &c->mrg_rxbuf, d)) != VK_OK ||
        (r = vk_opts_get_bool(o, "event-idx", true, &c->event_idx, d)) != VK_OK)
        return r;
    return VK_OK;
}

static int vk_vnet_card_create(vk_net *net, const char *model, const char *id, const vk_mac *mac,
                            vk_opts *o, vk_port **out, vk_diag *d)
{
    (void)model; /* both names make the card QEMU calls virtio-net-pci */
    vk_virtio_net_cfg cfg;
    int r = parse_cfg(o, &cfg, d);
    if (r != VK_OK)
        return r;
    return vk_virtio_net_new(net, id, mac, &cfg, out, d);
}

const char *const vk_virtio_net_keys[] = {
    "rx-queue-size", "tx-queue-size", "rx-buffers", "rx-buffer-size", "rx-refill-delay",
    "guest-offload", "mrg-rxbuf", "event-idx", NULL,
};

const vk_nic_card vk_virtio_net_card = {vk_vnet_card_create};
