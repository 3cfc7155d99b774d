/*
 * Fuzz target: the ne2k_pci card through its guest interface (I/O ports:
 * the DP8390 register pages, the data port's remote DMA into card memory,
 * the reset port; frames from the wire; the driver half).  The card has no
 * bus-master DMA, so the memory instruction does nothing; its memory is the
 * card's own, reached only through remote DMA.  Instructions and
 * invariants: nic_program.h.
 */
#include "fuzz/fuzz.h"
#include "fuzz/nic_program.h"
#include "nics/ne2k.h"

static const char *const configs[] = {
    "guest-driver=off",
    "",
    "rx-ring-pages=7,rx-refill-delay=100000",
    "rx-ring-pages=116",
    NULL,
};

static const vk_fuzz_nic ne2k = {
    .model = &vk_nic_ne2k_pci,
    .configs = configs,
    .write = vk_ne2k_io_write,
    .read = vk_ne2k_io_read,
    .gmem = NULL,
    .poll = vk_ne2k_driver_poll,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return vk_fuzz_nic_run(&ne2k, data, size);
}
