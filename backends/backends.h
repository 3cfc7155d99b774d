/*
 * The host backends (-netdev TYPE) vnetkit knows, for the topology builder.
 * Each backend lives in its own file and exports one vk_netdev_type.
 */
#ifndef VK_BACKENDS_BACKENDS_H
#define VK_BACKENDS_BACKENDS_H

#include "core/topology.h"

extern const vk_netdev_type vk_netdev_pcap;
extern const vk_netdev_type vk_netdev_user;
extern const vk_netdev_type vk_netdev_tap;
extern const vk_netdev_type vk_netdev_stream;
extern const vk_netdev_type vk_netdev_dgram;
extern const vk_netdev_type vk_netdev_socket;
extern const vk_netdev_type vk_netdev_libslirp; /* refused when built without libslirp */
extern const vk_netdev_type vk_netdev_vde;

/* NULL-terminated list of every netdev type. */
extern const vk_netdev_type *const vk_backend_types[];

#endif
