/*
 * Fuzz target: the rtl8139 card (C+ and legacy modes) through its guest
 * interface (I/O registers of 1, 2 or 4 bytes, guest memory, frames from the
 * wire, the driver half).  Instructions and invariants: nic_program.h.
 */
#include "fuzz/fuzz.h"
#include "fuzz/nic_program.h"
#include "nics/rtl8139.h"

static const char *const configs[] = {
    "guest-driver=off",
    "rx-ring=4,tx-ring=4",
    "mode=legacy,rx-ring-bytes=8192",
    "rx-ring=4,tx-ring=4,rx-buffers=2,rx-refill-delay=100000,guest-offload=tso",
    NULL,
};

static const vk_fuzz_nic rtl8139 = {
    .model = &vk_nic_rtl8139,
    .configs = configs,
    .write = vk_rtl8139_io_write,
    .read = vk_rtl8139_io_read,
    .gmem = vk_rtl8139_gmem,
    .poll = vk_rtl8139_driver_poll,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return vk_fuzz_nic_run(&rtl8139, data, size);
}
