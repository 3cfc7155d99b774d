/* The list of NIC models; add a new -device model here. */
#include "nics/e1000.h"
#include "nics/nic.h"
#include "nics/virtio_net.h"

#include <stddef.h>

const vk_nic_model *const vk_nic_models[] = {
    &vk_virtio_net_pci_model, &vk_virtio_net_model,
    &vk_nic_e1000, &vk_nic_e1000_82540em,
    NULL,
};
