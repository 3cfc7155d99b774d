/*
 * The NIC models: each -device name is a card paired with its guest-driver
 * half.  The pairing lives here, not in the card: a card model knows its
 * registers, DMA and interrupt line and nothing of the driver, and the
 * driver depends on the card (as real hardware and its driver do).  A new
 * model is a card, a driver, a create function below and a row.
 */
#include "nics/e1000.h"
#include "nics/ne2k.h"
#include "nics/nic.h"
#include "nics/rtl8139.h"
#include "nics/virtio_net.h"

#include <stddef.h>

static int create_e1000(vk_net *net, const char *id, const vk_mac *mac, vk_opts *o,
                        vk_port **out, vk_diag *d)
{
    return vk_nic_create(&vk_e1000_card, &vk_e1000_driver, "e1000", net, id, mac, o, out, d);
}

static int create_e1000_82540em(vk_net *net, const char *id, const vk_mac *mac, vk_opts *o,
                                vk_port **out, vk_diag *d)
{
    return vk_nic_create(&vk_e1000_card, &vk_e1000_driver, "e1000-82540em", net, id, mac, o,
                         out, d);
}

static int create_rtl8139(vk_net *net, const char *id, const vk_mac *mac, vk_opts *o,
                          vk_port **out, vk_diag *d)
{
    return vk_nic_create(&vk_rtl8139_card, &vk_rtl8139_driver, "rtl8139", net, id, mac, o, out,
                         d);
}

static int create_ne2k_pci(vk_net *net, const char *id, const vk_mac *mac, vk_opts *o,
                           vk_port **out, vk_diag *d)
{
    return vk_nic_create(&vk_ne2k_card, &vk_ne2k_driver, "ne2k_pci", net, id, mac, o, out, d);
}

static int create_virtio_net(vk_net *net, const char *id, const vk_mac *mac, vk_opts *o,
                             vk_port **out, vk_diag *d)
{
    return vk_nic_create(&vk_virtio_net_card, &vk_virtio_net_driver, "virtio-net-pci", net, id,
                         mac, o, out, d);
}

const vk_nic_model vk_virtio_net_pci_model = {"virtio-net-pci", vk_virtio_net_keys, create_virtio_net};
const vk_nic_model vk_virtio_net_model = {"virtio-net", vk_virtio_net_keys, create_virtio_net};
const vk_nic_model vk_nic_e1000 = {"e1000", vk_e1000_keys, create_e1000};
const vk_nic_model vk_nic_e1000_82540em = {"e1000-82540em", vk_e1000_keys, create_e1000_82540em};
const vk_nic_model vk_nic_rtl8139 = {"rtl8139", vk_rtl8139_keys, create_rtl8139};
const vk_nic_model vk_nic_ne2k_pci = {"ne2k_pci", vk_ne2k_keys, create_ne2k_pci};

const vk_nic_model *const vk_nic_models[] = {
    &vk_virtio_net_pci_model, &vk_virtio_net_model,
    &vk_nic_e1000, &vk_nic_e1000_82540em,
    &vk_nic_rtl8139,
    &vk_nic_ne2k_pci,
    NULL,
};
