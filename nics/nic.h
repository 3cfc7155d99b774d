/*
 * What every NIC model shares.  A NIC is a vk_port on the network side (peer of
 * its netdev or a hub port) whose priv begins with a vk_nic; on the guest side
 * it has the model's registers and rings, driven by the model's guest-driver
 * half.  The replay driver and tests use only this interface:
 *   - vk_nic_guest_send() makes the guest driver transmit one frame through the
 *     card (descriptors, doorbell, completion), exactly as a guest would;
 *   - frames the card delivers into guest memory are reaped by the driver half
 *     and handed to the sink set with vk_nic_set_guest_sink().
 * Bytes passed to and from the guest side are borrowed for the call.
 */
#ifndef VK_NICS_NIC_H
#define VK_NICS_NIC_H

#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/port.h"
#include "core/topology.h"

typedef void (*vk_guest_sink_fn)(void *arg, vk_port *nic, const uint8_t *data, size_t len);

typedef struct vk_nic_guest_ops {
    /* Transmit one frame via the driver half.  VK_EAGAIN when the TX ring is
     * full (the caller retries after the card made progress). */
    int (*send)(vk_port *nic, const uint8_t *data, size_t len);
} vk_nic_guest_ops;

/* The common head of every NIC model's private state. */
typedef struct vk_nic {
    vk_mac mac;
    const vk_nic_guest_ops *guest;
    vk_guest_sink_fn sink;
    void *sink_arg;
} vk_nic;

static inline vk_nic *vk_nic_of(vk_port *p)
{
    return (vk_nic *)p->priv;
}

int vk_nic_guest_send(vk_port *nic, const uint8_t *data, size_t len);
void vk_nic_set_guest_sink(vk_port *nic, vk_guest_sink_fn fn, void *arg);
/* Called by models' driver halves for every frame the guest received. */
void vk_nic_deliver_to_guest(vk_port *nic, const uint8_t *data, size_t len);

/* NULL-terminated list of every NIC model (-device MODEL). */
extern const vk_nic_model *const vk_nic_models[];

#endif
