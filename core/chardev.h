/*
 * Chardevs as the objects that use them see one (QEMU's CharBackend): the
 * front end of a -chardev, a port of kind "chardev" with the chardev's id.
 * A filter (filter-mirror's outdev, filter-redirector's indev and outdev)
 * claims it, writes frames to it and reads the frames it receives.  The
 * backend (backends/chardev.c: -chardev socket) creates the front end with
 * vk_chardev_new() and peers it with the port that carries the bytes, so
 * the front end only sends to and receives from that peer, and core needs
 * to know no backend.
 *
 * One user per chardev, as QEMU's qemu_chr_fe_init ("in use").
 * Ownership: the port belongs to the net; a user that claimed a chardev
 * releases it (vk_chardev_release) before it is freed.
 */
#ifndef VK_CORE_CHARDEV_H
#define VK_CORE_CHARDEV_H

#include <stddef.h>

#include "core/frame.h"
#include "core/net.h"

/* Frames read from the chardev (borrowed, frame.h). */
typedef void (*vk_chardev_reader)(void *arg, vk_frame *f);

/* Creates the front end `id` in net (for a chardev backend).  As
 * vk_port_new: VK_EEXIST, VK_ERANGE, VK_EFULL, VK_ENOMEM with a message. */
int vk_chardev_new(vk_net *net, const char *id, vk_port **fe, vk_diag *d);
/* The front end of chardev `id`, claimed for `owner` ("filter-mirror m0").
 * VK_ENOENT (no such chardev) or VK_EEXIST (already claimed), with a
 * message in err. */
int vk_chardev_claim(vk_net *net, const char *id, const char *owner, vk_port **fe, char *err,
                     size_t errcap);
/* Frames the chardev reads go to fn from now on (NULL: dropped, traced). */
void vk_chardev_set_reader(vk_port *fe, vk_chardev_reader fn, void *arg);
/* Writes f (borrowed) to the chardev: sent from the front end to its peer
 * (a backend that drops it, traced, while it has no connection). */
void vk_chardev_write(vk_port *fe, vk_frame *f);
/* Gives the chardev back (no reader, no owner). */
void vk_chardev_release(vk_port *fe);

#endif
