/* The guest-side entry points shared by all NIC models (see nic.h). */
#include "nics/nic.h"

int vk_nic_guest_send(vk_port *nic, const uint8_t *data, size_t len)
{
    vk_nic *n = vk_nic_of(nic);
    return n->guest->send(nic, data, len);
}

void vk_nic_set_guest_sink(vk_port *nic, vk_guest_sink_fn fn, void *arg)
{
    vk_nic *n = vk_nic_of(nic);
    n->sink = fn;
    n->sink_arg = arg;
}

void vk_nic_deliver_to_guest(vk_port *nic, const uint8_t *data, size_t len)
{
    vk_nic *n = vk_nic_of(nic);
    if (n->sink != NULL)
        n->sink(n->sink_arg, nic, data, len);
}
