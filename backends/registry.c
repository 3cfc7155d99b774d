/* The list of host backends; add a new -netdev type here. */
#include "backends/backends.h"

#include <stddef.h>

const vk_netdev_type *const vk_backend_types[] = {
    &vk_netdev_pcap,
    &vk_netdev_user,
    &vk_netdev_tap,
    &vk_netdev_stream,
    &vk_netdev_dgram,
    &vk_netdev_socket,
    &vk_netdev_libslirp,
    &vk_netdev_vde,
    NULL,
};
