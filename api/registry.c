/* The registry of every backend, NIC model and object (see registry.h). */
#include "api/registry.h"

#include <stddef.h>

#include "backends/backends.h"
#include "backends/chardev.h"
#include "filters/filters.h"
#include "nics/nic.h"
#include "tracer/filter_dump.h"

static const vk_object_type *const object_types[] = {
    &vk_object_filter_dump,
    &vk_object_filter_netem,
    &vk_object_filter_buffer,
    &vk_object_filter_mirror,
    &vk_object_filter_redirector,
    NULL,
};

const vk_registry *vk_registry_default(void)
{
    static const vk_registry reg = {
        .netdevs = vk_backend_types,
        .nics = vk_nic_models,
        .objects = object_types,
        .default_nic = VK_NIC_DEFAULT_MODEL,
        .chardevs = vk_chardev_types,
    };
    return &reg;
}
