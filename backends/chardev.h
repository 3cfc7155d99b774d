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
 * One user per chardev, as QEMU's qemu_chr_fe_init ("in use").
 * Ownership: the ports belong to the net; a filter that claimed a chardev
 * releases it (vk_chardev_release) before it is freed.
 */
#ifndef VK_BACKENDS_CHARDEV_H
#define VK_BACKENDS_CHARDEV_H

#include <stddef.h>

#include "core/frame.h"
#include "core/net.h"
#include "core/topology.h"

extern const vk_chardev_type vk_chardev_socket;
/* NULL-terminated list of every chardev backend. */
extern const vk_chardev_type *const vk_chardev_types[];

/* Frames read from the chardev (borrowed, frame.h). */
typedef void (*vk_chardev_reader)(void *arg, vk_frame *f);

/* The front end of chardev `id`, claimed for `owner` ("filter-mirror m0").
 * VK_ENOENT (no such chardev) or VK_EEXIST (already claimed), with a
 * message in err. */
int vk_chardev_claim(vk_net *net, const char *id, const char *owner, vk_port **fe, char *err,
                     size_t errcap);
/* Frames the chardev reads go to fn from now on (NULL: dropped, traced). */
void vk_chardev_set_reader(vk_port *fe, vk_chardev_reader fn, void *arg);
/* Writes f (borrowed) to the chardev: sent from the front end to the
 * socket, which drops it, traced, while no peer is connected. */
void vk_chardev_write(vk_port *fe, vk_frame *f);
/* Gives the chardev back (no reader, no owner). */
void vk_chardev_release(vk_port *fe);

#endif
