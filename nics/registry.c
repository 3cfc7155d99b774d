/* The list of NIC models; add a new -device model here. */
#include "nics/e1000.h"
#include "nics/ne2k.h"
#include "nics/nic.h"
#include "nics/rtl8139.h"
#include "nics/virtio_net.h"

#include <stddef.h>

const vk_nic_model *const vk_nic_models[] = {
    &vk_virtio_net_pci_model, &vk_virtio_net_model,
    &vk_nic_e1000, &vk_nic_e1000_82540em,
    &vk_nic_rtl8139,
    &vk_nic_ne2k_pci,
    NULL,
};
