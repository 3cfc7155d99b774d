/*
 * Fuzz target: virtio-net-pci through its guest interface (the common
 * configuration registers, the notify doorbell, the device configuration,
 * guest memory with split virtqueues and buffers, frames from the wire, the
 * driver half).  A hostile driver starts by writing status 0 (reset) and
 * negotiates itself.  Register numbers are the vk_virtio_reg values (offset
 * modulo 12; values are 32-bit, the ring addresses inside guest memory);
 * the extra instruction rings queue arg % 4 (3 does not exist) or reads the
 * device configuration.  Instructions and invariants: nic_program.h.
 */
#include "fuzz/fuzz.h"
#include "fuzz/nic_program.h"
#include "nics/virtio_net.h"

static void wr(vk_port *p, uint32_t off, uint32_t v, unsigned size)
{
    (void)size;
    vk_virtio_net_reg_write(p, (vk_virtio_reg)(off % 12), v);
}

static uint32_t rd(vk_port *p, uint32_t off, unsigned size)
{
    (void)size;
    return (uint32_t)vk_virtio_net_reg_read(p, (vk_virtio_reg)(off % 12));
}

static void extra(vk_port *p, uint8_t arg)
{
    if (arg & 0x80) {
        uint8_t buf[16];
        (void)vk_virtio_net_config_read(p, arg & 0x0f, buf, (arg >> 4) & 7);
        return;
    }
    vk_virtio_net_notify(p, arg % 4);
}

static const char *const configs[] = {
    "rx-queue-size=16,tx-queue-size=16",
    "rx-queue-size=16,tx-queue-size=16,mrg-rxbuf=off,event-idx=off",
    "rx-queue-size=8,tx-queue-size=8,guest-offload=tso",
    "rx-queue-size=8,tx-queue-size=8,rx-buffers=2,rx-refill-delay=100000,guest-offload=csum",
    NULL,
};

static const vk_fuzz_nic virtio_net = {
    .model = &vk_virtio_net_pci_model,
    .configs = configs,
    .write = wr,
    .read = rd,
    .gmem = vk_virtio_net_gmem,
    .poll = vk_virtio_net_driver_poll,
    .extra = extra,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return vk_fuzz_nic_run(&virtio_net, data, size);
}
