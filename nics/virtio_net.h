/*
 * virtio-net (virtio 1.0, split virtqueues) as QEMU's virtio-net-pci, with
 * the PCI transport reduced to what a driver sees of it: the common
 * configuration registers (feature words, device status, queue select, size,
 * ring addresses, enable), the notify doorbell, an interrupt line and the
 * device-specific configuration (MAC, link status).  No PCI bus is emulated.
 *
 * The card has two halves, as every vnetkit NIC:
 *   - the device (virtio_net.c): TX on a kick, RX from its peer into posted
 *     buffers, the control queue (RX mode, MAC table), the RX filter.  The
 *     peer takes plain frames only, so checksum completion and TSO requested
 *     by the guest are done by the card before sending.
 *   - the guest driver (virtio_net_driver.c): does what Linux virtio_net
 *     does through the same registers and guest memory, so
 *     `-device virtio-net-pci,netdev=n0` is at DRIVER_OK once created.
 *
 * Tests and tools may drive the transport directly (after writing status 0)
 * to play a hostile guest.
 */
#ifndef VK_NICS_VIRTIO_NET_H
#define VK_NICS_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/topology.h"
#include "nics/guest_mem.h"
#include "nics/nic.h"

/* Feature bit numbers (virtio spec 5.1.3, 6). */
enum {
    VK_VIRTIO_NET_F_CSUM = 0,
    VK_VIRTIO_NET_F_GUEST_CSUM = 1,
    VK_VIRTIO_NET_F_MAC = 5,
    VK_VIRTIO_NET_F_GUEST_TSO4 = 7,
    VK_VIRTIO_NET_F_GUEST_TSO6 = 8,
    VK_VIRTIO_NET_F_GUEST_ECN = 9,
    VK_VIRTIO_NET_F_HOST_TSO4 = 11,
    VK_VIRTIO_NET_F_HOST_TSO6 = 12,
    VK_VIRTIO_NET_F_HOST_ECN = 13,
    VK_VIRTIO_NET_F_MRG_RXBUF = 15,
    VK_VIRTIO_NET_F_STATUS = 16,
    VK_VIRTIO_NET_F_CTRL_VQ = 17,
    VK_VIRTIO_NET_F_CTRL_RX = 18,
    VK_VIRTIO_NET_F_CTRL_VLAN = 19,
    VK_VIRTIO_NET_F_CTRL_RX_EXTRA = 20,
    VK_VIRTIO_NET_F_CTRL_MAC_ADDR = 23,
    VK_VIRTIO_F_INDIRECT_DESC = 28,
    VK_VIRTIO_F_EVENT_IDX = 29,
    VK_VIRTIO_F_VERSION_1 = 32,
};

static inline uint64_t vk_virtio_bit(unsigned feature)
{
    return 1ull << feature;
}

/* Device status bits (2.1). */
enum {
    VK_VIRTIO_S_ACKNOWLEDGE = 1,
    VK_VIRTIO_S_DRIVER = 2,
    VK_VIRTIO_S_DRIVER_OK = 4,
    VK_VIRTIO_S_FEATURES_OK = 8,
    VK_VIRTIO_S_NEEDS_RESET = 0x40,
    VK_VIRTIO_S_FAILED = 0x80,
};

/* Queues of a single-pair device. */
enum { VK_VNET_RXQ = 0, VK_VNET_TXQ = 1, VK_VNET_CTRLQ = 2, VK_VNET_NQUEUES = 3 };

/* The registers of struct virtio_pci_common_cfg that matter here. */
typedef enum vk_virtio_reg {
    VK_VIRTIO_DEVICE_FEATURE_SELECT,
    VK_VIRTIO_DEVICE_FEATURE, /* read: 32 bits of the offered features */
    VK_VIRTIO_DRIVER_FEATURE_SELECT,
    VK_VIRTIO_DRIVER_FEATURE, /* write: 32 bits of the accepted features */
    VK_VIRTIO_NUM_QUEUES,
    VK_VIRTIO_DEVICE_STATUS,  /* write 0: reset */
    VK_VIRTIO_QUEUE_SELECT,
    VK_VIRTIO_QUEUE_SIZE,     /* read: maximum; write: size to use */
    VK_VIRTIO_QUEUE_ENABLE,
    VK_VIRTIO_QUEUE_DESC,     /* 64-bit guest addresses */
    VK_VIRTIO_QUEUE_DRIVER,   /* available ring */
    VK_VIRTIO_QUEUE_DEVICE,   /* used ring */
} vk_virtio_reg;

/* struct virtio_net_hdr_v1: 12 bytes with VERSION_1, little-endian. */
#define VK_VNET_HDR_LEN 12
enum {
    VK_VNET_HDR_F_NEEDS_CSUM = 1,
    VK_VNET_HDR_F_DATA_VALID = 2,
    VK_VNET_HDR_GSO_NONE = 0,
    VK_VNET_HDR_GSO_TCPV4 = 1,
    VK_VNET_HDR_GSO_TCPV6 = 4,
    VK_VNET_HDR_GSO_ECN = 0x80,
};

typedef struct vk_vnet_hdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;
} vk_vnet_hdr;

void vk_vnet_hdr_emit(const vk_vnet_hdr *h, uint8_t out[VK_VNET_HDR_LEN]);
void vk_vnet_hdr_parse(const uint8_t in[VK_VNET_HDR_LEN], vk_vnet_hdr *h);

/* Control queue (5.1.6.5). */
enum {
    VK_VNET_CTRL_RX = 0,
    VK_VNET_CTRL_RX_PROMISC = 0,
    VK_VNET_CTRL_RX_ALLMULTI = 1,
    VK_VNET_CTRL_RX_ALLUNI = 2,
    VK_VNET_CTRL_RX_NOMULTI = 3,
    VK_VNET_CTRL_RX_NOUNI = 4,
    VK_VNET_CTRL_RX_NOBCAST = 5,
    VK_VNET_CTRL_MAC = 1,
    VK_VNET_CTRL_MAC_TABLE_SET = 0,
    VK_VNET_CTRL_MAC_ADDR_SET = 1,
    VK_VNET_OK = 0,
    VK_VNET_ERR = 1,
};
/* QEMU's MAC_TABLE_ENTRIES: more entries set the overflow flag instead. */
#define VK_VNET_MAC_TABLE_ENTRIES 64

/* The model keys, parsed. */
typedef struct vk_virtio_net_cfg {
    uint16_t rx_queue_size, tx_queue_size; /* device maxima, used by the driver */
    uint32_t rx_buffers;                   /* posted by the driver */
    uint32_t rx_buffer_size;               /* 0: as Linux for the mode */
    uint64_t rx_refill_delay;              /* ns; 0: reap in the interrupt */
    vk_nic_offload offload;
    bool mrg_rxbuf, event_idx;
} vk_virtio_net_cfg;

/* Defaults of every key (QEMU's queue sizes, mergeable and event idx on). */
void vk_virtio_net_cfg_default(vk_virtio_net_cfg *c);

typedef struct vk_virtio_net_stats {
    uint64_t tx_packets;   /* chains taken from the TX queue */
    uint64_t tx_segments;  /* wire frames sent after TSO */
    uint64_t tx_bad_hdr;   /* dropped for an invalid virtio_net_hdr */
    uint64_t tx_too_big;   /* chains longer than header + VK_FRAME_MAX */
    uint64_t rx_frames;    /* frames written into guest buffers */
    uint64_t rx_filtered;  /* refused by the RX filter */
    uint64_t rx_too_big;   /* larger than the (non-mergeable) buffer */
    uint64_t rx_held;      /* waited inside the card for buffers */
    uint64_t ctrl_ok, ctrl_err;
    uint64_t kicks, interrupts;
    uint64_t device_errors; /* entries into NEEDS_RESET */
} vk_virtio_net_stats;

/* The card, and its guest-driver half (nics/virtio_net_driver.c), which depends on
 * the card and never the reverse: nics/registry.c pairs them as the models
 * virtio-net-pci and virtio-net (see vk_nic_models in nic.h). */
extern const vk_nic_card vk_virtio_net_card;
extern const char *const vk_virtio_net_keys[];
extern const vk_nic_driver vk_virtio_net_driver;

/* Creates the card in its reset state, keeping cfg for the driver half
 * (which sizes guest memory and rings from it when it is probed).  The
 * card's create() parses the keys into a cfg and calls this. */
int vk_virtio_net_new(vk_net *net, const char *id, const vk_mac *mac,
                      const vk_virtio_net_cfg *cfg, vk_port **out, vk_diag *d);

/* Transport: what the driver reads and writes. */
uint64_t vk_virtio_net_reg_read(vk_port *p, vk_virtio_reg reg);
void vk_virtio_net_reg_write(vk_port *p, vk_virtio_reg reg, uint64_t value);
/* The doorbell for `queue`. */
void vk_virtio_net_notify(vk_port *p, uint16_t queue);
/* Device config: mac[6], le16 status (1 = link up), le16 max queue pairs. */
int vk_virtio_net_config_read(vk_port *p, size_t off, void *buf, size_t len);

/* Observation for tests and tools. */
vk_gmem *vk_virtio_net_gmem(vk_port *p);
const vk_virtio_net_stats *vk_virtio_net_get_stats(vk_port *p);
/* The first guest error since reset ("looped descriptor"), or NULL. */
const char *vk_virtio_net_error(vk_port *p);

/* Guest driver half. */
/* Reset, negotiate, set up queues, post RX buffers, DRIVER_OK.  VK_EINVAL
 * when the device refused the features or a queue. */
int vk_virtio_net_driver_probe(vk_port *p);
/* Transmits header h and frame bytes as one chain (the raw form of
 * vk_nic_guest_send, for tests that need a given header).  VK_EAGAIN when
 * the TX ring is full. */
int vk_virtio_net_driver_xmit(vk_port *p, const vk_vnet_hdr *h, const uint8_t *data, size_t len);
/* Sends one control command and returns the device's ack in *ack. */
int vk_virtio_net_driver_ctrl(vk_port *p, uint8_t cls, uint8_t cmd, const void *data, size_t len,
                              uint8_t *ack);
/* Reaps used TX and RX now (as a NAPI poll), re-posting RX buffers. */
void vk_virtio_net_driver_poll(vk_port *p);

#endif
