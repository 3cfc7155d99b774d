/*
 * -chardev socket: QEMU's socket character device, as the filters that use a
 * chardev (filter-mirror's outdev, filter-redirector's indev and outdev) see
 * it: a stream of frames in QEMU's 4-byte length framing (framing.h).
 *
 * A chardev is two ports of the net: the socket itself (a stream_link port,
 * id "<id>.socket": connection, reconnection, backpressure and the "link
 * down" drops while no peer is connected, as -netdev stream) and, as its
 * peer, the front end "<id>" that a filter writes to and reads from.  So
 * every frame that crosses a chardev is traced on both, and --trace-dir
 * gives the chardev its own pcaps.  Chardev ids share the port namespace:
 * a chardev and a netdev cannot have the same id (QEMU keeps them apart).
 *
 * The front end and how filters use it are core/chardev.h.  Ownership: the
 * ports belong to the net.
 */
#ifndef VK_BACKENDS_CHARDEV_H
#define VK_BACKENDS_CHARDEV_H

#include "core/topology.h"

extern const vk_chardev_type vk_chardev_socket;
/* NULL-terminated list of every chardev backend. */
extern const vk_chardev_type *const vk_chardev_types[];

#endif
