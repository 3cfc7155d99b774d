/*
 * What every NIC model shares.  A NIC is a vk_port on the network side (peer of
 * its netdev or a hub port) whose priv begins with a vk_nic; on the guest side
 * it has the model's registers and rings, driven by the model's guest-driver
 * half.  The replay driver and tests use only this interface:
 *   - vk_nic_guest_send() makes the guest driver transmit one frame through the
 *     card (descriptors, doorbell, completion), exactly as a guest would;
 *   - frames the card delivers into guest memory are reaped by the driver half
 *     and handed to the sink set with vk_nic_set_guest_sink();
 *   - optionally, vk_nic_guest_send_offload() transmits a frame whose
 *     checksum (and segmentation) the guest stack left to the card, as Linux
 *     hands a CHECKSUM_PARTIAL or GSO skb to the driver: the stack prepares
 *     the frame (replay/offload.c), the driver half only turns the metadata
 *     into the card's descriptors.
 * Bytes passed to and from the guest side are borrowed for the call.
 */
#ifndef VK_NICS_NIC_H
#define VK_NICS_NIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/port.h"
#include "core/topology.h"
#include "wire/offload.h"

typedef void (*vk_guest_sink_fn)(void *arg, vk_port *nic, const uint8_t *data, size_t len);

/* What the guest stack asks of the card for its frames: the models'
 * `guest-offload=none|csum|tso` key. */
typedef enum vk_nic_offload {
    VK_NIC_OFFLOAD_NONE,
    VK_NIC_OFFLOAD_CSUM,
    VK_NIC_OFFLOAD_TSO,
} vk_nic_offload;

/* Offload metadata of one frame, as Linux's skb carries it (offsets from the
 * start of the frame).  The checksum field at csum_start + csum_offset holds
 * the folded pseudo-header sum (with the L4 length of the frame as given),
 * not complemented; the card sums from csum_start to the end and stores the
 * result there.  gso_mss > 0: the frame is one TCP super-frame whose
 * headers are hdr_len bytes long, to be cut into segments of gso_mss payload
 * bytes (the card fixes lengths, IP ids, sequence numbers, flags, checksums). */
typedef struct vk_guest_offload {
    size_t csum_start;
    size_t csum_offset;
    size_t gso_mss;  /* 0: checksum only */
    size_t hdr_len;  /* gso only */
} vk_guest_offload;

typedef struct vk_nic_guest_ops {
    /* Transmit one frame via the driver half.  VK_EAGAIN when the TX ring is
     * full (the caller retries after the card made progress). */
    int (*send)(vk_port *nic, const uint8_t *data, size_t len);
    /* Optional (NULL: the model has none).  Sets what the guest stack asks of
     * the card, as the guest-offload= key does; only before the net starts.
     * VK_EUNSUPP when the card cannot be set so. */
    int (*set_offload)(vk_port *nic, vk_nic_offload mode);
    /* Optional.  Transmits a frame prepared by the stack with meta (see
     * vk_guest_offload), or with meta NULL a complete frame the card must
     * send untouched (CHECKSUM_NONE), whatever the guest-offload mode.
     * VK_EAGAIN as send; VK_EUNSUPP when the offload was not negotiated with
     * the card; VK_EINVAL for metadata the card's descriptors cannot
     * express. */
    int (*send_offload)(vk_port *nic, const uint8_t *frame, size_t len,
                        const vk_guest_offload *meta);
} vk_nic_guest_ops;

/* A card model: registers, DMA and interrupts, and nothing of the guest.
 * create() makes the card in its power-on state (o may be NULL: defaults)
 * with a vk_nic at the head of its priv; `model` is the name it was asked
 * for (aliases share a card).  Its keys are a NULL-terminated array beside
 * it (vk_MODEL_keys), which the registry's model rows name. */
typedef struct vk_nic_card {
    int (*create)(vk_net *net, const char *model, const char *id, const vk_mac *mac,
                  vk_opts *o, vk_port **out, vk_diag *d);
} vk_nic_card;

/* A guest-driver half: it depends on its card (registers, guest memory, the
 * interrupt handler it registers), never the reverse.  probe() brings the
 * card up as a booted guest's driver does; remove() frees what probe took,
 * before the card goes (NULL: nothing); error() says why a probe failed
 * when the card knows better than the error code (NULL: the code). */
typedef struct vk_nic_driver {
    int (*probe)(vk_port *card);
    void (*remove)(vk_port *card);
    const char *(*error)(vk_port *card);
    const vk_nic_guest_ops *ops;
} vk_nic_driver;

/* The common head of every NIC model's private state. */
typedef struct vk_nic {
    vk_mac mac;
    /* How the card stores a checksum it inserts that computes to 0
     * (wire/offload.h), as QEMU's model of it does: for checksum offload
     * and for the segments of its TSO.  The card's create() sets them
     * (zeroed: VK_CSUM_ZERO_AS_FFFF); the replay's guest stack reads them
     * to know which recorded frames the card can give back. */
    vk_csum_zero csum_zero, tso_zero;
    const vk_nic_guest_ops *guest;   /* the bound driver's; NULL: no driver */
    const vk_nic_driver *driver;     /* bound by vk_nic_create; NULL: none */
    void (*irq)(vk_port *nic);       /* the handler the driver registered */
    vk_guest_sink_fn sink;
    void *sink_arg;
} vk_nic;

static inline vk_nic *vk_nic_of(vk_port *p)
{
    return (vk_nic *)p->priv;
}

/* What the registry's models do (nics/registry.c pairs every card with its
 * driver): creates the card, then, unless guest-driver=off, probes the
 * driver on it.  On failure the net still owns whatever was created. */
int vk_nic_create(const vk_nic_card *card, const vk_nic_driver *drv, const char *model,
                  vk_net *net, const char *id, const vk_mac *mac, vk_opts *o, vk_port **out,
                  vk_diag *d);
/* Unbinds the driver, if one is bound (its remove()): the first step of
 * every card's cleanup, as a device going away makes the OS unbind it. */
void vk_nic_unbind(vk_port *nic);

/* The keys every card shares, parsed here once (o may be NULL: defaults):
 *   guest-offload=none|csum|tso  what the guest stack asks of the card;
 *   rx-refill-delay=NS           virtual-clock ns between the driver
 *                                reaping RX buffers and posting them again,
 *                                at most VK_NIC_REFILL_DELAY_MAX. */
#define VK_NIC_REFILL_DELAY_MAX (3600ull * 1000000000ull)
int vk_nic_opts_offload(vk_opts *o, vk_nic_offload *out, vk_diag *d);
/* "none", "csum" or "tso" <-> the enum; parse: VK_EINVAL for another name. */
int vk_nic_offload_parse(const char *name, vk_nic_offload *out);
const char *vk_nic_offload_name(vk_nic_offload m);
int vk_nic_opts_refill_delay(vk_opts *o, uint64_t *out, vk_diag *d);

/* The interrupt line, for cards with one line: the driver registers its
 * handler (as request_irq), the card raises the line and the handler, if
 * any, runs at once. */
void vk_nic_request_irq(vk_port *nic, void (*handler)(vk_port *nic));
void vk_nic_raise_irq(vk_port *nic);
/* The port's describe() of every card: "MODEL mac=MAC". */
void vk_nic_describe(vk_port *nic, char *buf, size_t cap);

/* The guest side; VK_EUNSUPP when no driver is bound (guest-driver=off). */
int vk_nic_guest_send(vk_port *nic, const uint8_t *data, size_t len);
/* The optional entry points: VK_EUNSUPP when the model lacks them. */
int vk_nic_guest_set_offload(vk_port *nic, vk_nic_offload mode);
int vk_nic_guest_send_offload(vk_port *nic, const uint8_t *frame, size_t len,
                              const vk_guest_offload *meta);
bool vk_nic_has_send_offload(vk_port *nic);
/* The card's spelling of a zero checksum: checksum offload, TSO segments. */
vk_csum_zero vk_nic_csum_zero(vk_port *nic);
vk_csum_zero vk_nic_tso_zero(vk_port *nic);
void vk_nic_set_guest_sink(vk_port *nic, vk_guest_sink_fn fn, void *arg);
/* Called by models' driver halves for every frame the guest received. */
void vk_nic_deliver_to_guest(vk_port *nic, const uint8_t *data, size_t len);

/* Running a driver half's interrupt handler to completion: an interrupt the
 * card raises while the handler runs (a frame the guest sink sent at once,
 * looped back) does not re-enter it but makes it go round again, at most
 * VK_NIC_IRQ_MAX_ROUNDS times in a row (only a guest answering its own
 * looped-back frames gets there; the rest waits for the next interrupt). */
#define VK_NIC_IRQ_MAX_ROUNDS 1024
typedef struct vk_nic_irq {
    bool running, again;
} vk_nic_irq;
void vk_nic_irq_run(vk_nic_irq *irq, vk_port *p, void (*round)(vk_port *p));

/* Register dispatch tables (as QEMU's e1000 macreg_readops/writeops): a
 * card keeps one row per register, or per run of alike registers, naming
 * its read and write handlers.  Every row begins with a span, the access
 * offsets it answers; a table is sorted by first with no two spans
 * overlapping, so a lookup is a binary search.  A new register is one row. */
typedef struct vk_nic_reg_span {
    uint32_t first, count; /* offsets first .. first + count - 1 */
} vk_nic_reg_span;
/* The row of `rows` (n rows of row_size bytes, each beginning with a
 * vk_nic_reg_span) whose span holds off; NULL when none does. */
const void *vk_nic_reg_find(const void *rows, size_t n, size_t row_size, uint32_t off);
/* True when the table is sorted with no overlap, as vk_nic_reg_find needs
 * (every card's table check in its unit tests). */
bool vk_nic_reg_table_ok(const void *rows, size_t n, size_t row_size);

/* The multicast groups a Linux guest with IPv4 and IPv6 up has joined:
 * all-hosts (224.0.0.1), all-nodes (ff02::1) and the solicited-node group of
 * its EUI-64 addresses.  Every driver half programs its card's multicast
 * filter with them, so RAs and neighbour solicitations reach the guest as in
 * a real one. */
#define VK_NIC_GUEST_GROUPS 3
void vk_nic_guest_groups(const vk_mac *mac, vk_mac out[VK_NIC_GUEST_GROUPS]);

/* NULL-terminated list of every NIC model (-device MODEL), and each model:
 * a card paired with its driver (nics/registry.c). */
extern const vk_nic_model *const vk_nic_models[];
extern const vk_nic_model vk_nic_e1000, vk_nic_e1000_82540em;
extern const vk_nic_model vk_nic_rtl8139;
extern const vk_nic_model vk_nic_ne2k_pci;
extern const vk_nic_model vk_virtio_net_pci_model; /* "virtio-net-pci" */
extern const vk_nic_model vk_virtio_net_model;     /* "virtio-net" alias */
/* QEMU's default NIC model (-nic and -net nic without model=). */
#define VK_NIC_DEFAULT_MODEL "e1000"

#endif
