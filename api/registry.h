/*
 * The registry of every kind vnetkit builds: the -netdev backends, the
 * -device NIC models and the -object types.  One list, used by the program
 * (cli/), the library facade (api/vnetkit.c), --help and --list-keys (and so
 * the bash completion).  Internal: not installed.
 */
#ifndef VK_API_REGISTRY_H
#define VK_API_REGISTRY_H

#include "core/topology.h"

const vk_registry *vk_registry_default(void);

#endif
