/*
 * Fuzz target: the e1000 card through its guest interface (MMIO registers,
 * guest memory with descriptor rings and buffers, frames from the wire, the
 * driver half).  Instructions and invariants: nic_program.h.
 */
#include "fuzz/fuzz.h"
#include "fuzz/nic_program.h"
#include "nics/e1000.h"

static void wr(vk_port *p, uint32_t off, uint32_t v, unsigned size)
{
    (void)size;
    vk_e1000_mmio_write(p, off, v);
}

static uint32_t rd(vk_port *p, uint32_t off, unsigned size)
{
    (void)size;
    return vk_e1000_mmio_read(p, off);
}

static const char *const configs[] = {
    "guest-driver=off",
    "rx-ring=8,tx-ring=8",
    "rx-ring=8,tx-ring=8,guest-offload=tso",
    "rx-ring=16,tx-ring=8,rx-buffers=2,rx-refill-delay=100000,guest-offload=csum",
    NULL,
};

static const vk_fuzz_nic e1000 = {
    .model = &vk_nic_e1000,
    .configs = configs,
    .write = wr,
    .read = rd,
    .gmem = vk_e1000_gmem,
    .poll = vk_e1000_driver_poll,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return vk_fuzz_nic_run(&e1000, data, size);
}
