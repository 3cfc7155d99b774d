/* The list of NIC models; add a new -device model here. */
#include "nics/nic.h"

#include <stddef.h>

const vk_nic_model *const vk_nic_models[] = {
    NULL,
};
