/*
 * State shared by the two halves of the virtio-net card (device in
 * virtio_net.c, guest driver in virtio_net_driver.c); not for other modules.
 * The halves talk only through the transport (registers, doorbell, guest
 * memory) and the interrupt line, as on real hardware; they share this
 * struct because they live in one port's priv.
 */
#ifndef VK_NICS_VIRTIO_NET_PRIV_H
#define VK_NICS_VIRTIO_NET_PRIV_H

#include "core/loop.h"
#include "nics/virtio_net.h"
#include "nics/virtqueue.h"

typedef struct vk_vnet_device {
    uint64_t host_features, guest_features;
    uint32_t dfselect, gfselect;
    uint8_t status;
    uint16_t qsel;
    uint16_t qmax[VK_VNET_NQUEUES];
    vk_vq vq[VK_VNET_NQUEUES];
    bool broken;
    char error[160];
    vk_mac mac; /* the filter's own address: MAC_ADDR_SET changes it */
    /* RX mode and MAC table as QEMU's VirtIONet */
    bool promisc, allmulti, alluni, nomulti, nouni, nobcast;
    uint8_t macs[VK_VNET_MAC_TABLE_ENTRIES][6];
    unsigned in_use, first_multi;
    bool uni_overflow, multi_overflow;
    vk_frame *held;      /* a frame waiting inside the card for RX buffers */
    bool in_tx, tx_again; /* a kick while TX runs is served by the same run */
    /* chains being processed, one set per path because the paths nest (a
     * TX frame answered synchronously comes back as RX); large: kept here */
    vk_vq_elem tx_elem, ctrl_elem, rx_elem, rx_elem2;
    uint8_t *txbuf;      /* header + frame gathered from a TX chain */
    vk_virtio_net_stats stats;
} vk_vnet_device;

typedef struct vk_vnet_drv_queue {
    uint16_t size;
    uint64_t desc, avail, used;
    uint16_t avail_idx; /* next free avail slot (the driver's shadow) */
    uint16_t last_used;
} vk_vnet_drv_queue;

#define VNET_CTRL_DATA_MAX 1024

typedef struct vk_vnet_driver {
    vk_virtio_net_cfg cfg;
    uint64_t features;
    vk_vnet_drv_queue q[VK_VNET_NQUEUES];
    uint64_t rx_bufs;      /* rx_buffers buffers of buf_size bytes */
    uint32_t rx_buf_size;
    uint64_t tx_bufs;      /* one header + frame slot per TX chain */
    uint16_t tx_slots;
    uint8_t *tx_busy;      /* per slot */
    uint64_t ctrl_buf;     /* class, cmd, data..., ack */
    vk_timer *refill;
    bool in_irq, irq_again;
    uint8_t *scratch;      /* one received frame, header stripped */
    uint8_t *tx_scratch;   /* a frame being prepared for offloads */
} vk_vnet_driver;

typedef struct vk_virtio_net {
    vk_nic nic; /* first: see nic.h */
    vk_port *port;
    vk_gmem mem;
    vk_vnet_device dev;
    vk_virtio_net_cfg cfg; /* the model keys, as the card was created with */
    /* the interrupt line: the handler the driver registered, or NULL */
    void (*irq_cb)(struct vk_virtio_net *v, uint16_t queue);
    vk_vnet_driver drv;       /* the driver half's bookkeeping (the card never reads it) */
} vk_virtio_net;

static inline vk_virtio_net *vk_vnet_of(vk_port *p)
{
    return (vk_virtio_net *)p->priv;
}

static inline bool vk_vnet_has(uint64_t features, unsigned bit)
{
    return (features & vk_virtio_bit(bit)) != 0;
}

/* Device internals shared by virtio_net.c and virtio_net_rx.c. */
void vk_vnet_device_error(vk_virtio_net *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vk_vnet_queue_error(vk_virtio_net *v, uint16_t q);
bool vk_vnet_queue_usable(vk_virtio_net *v, uint16_t q);
void vk_vnet_notify_guest(vk_virtio_net *v, uint16_t q);
int vk_vnet_receive(vk_port *self, vk_frame *f);
bool vk_vnet_can_receive(vk_port *self);
void vk_vnet_rx_kick(vk_virtio_net *v);
void vk_vnet_ctrl_kick(vk_virtio_net *v);


#endif
