/*
 * Topology: the network described with QEMU's options, with QEMU's meaning.
 *   -netdev TYPE,id=ID,...            a host backend (or hubport,hubid=N[,netdev=ID])
 *   -device MODEL,netdev=ID[,mac=M]   a NIC, peer of its netdev
 *   -nic TYPE[,model=M][,mac=M],...   a netdev and a NIC in one
 *   -net nic[,model=M] / -net TYPE    legacy: everything joins hub 0
 *   -object filter-dump,id=ID,netdev=ID,file=PATH[,maxlen=N]
 *   -chardev socket,id=ID,...         a character device (filter-mirror's outdev)
 * Options are collected first (from the command line or a topology file, one
 * option a line, '#' comments), then built into a vk_net in order.  The kinds
 * of netdev, NIC and object come from a vk_registry so that core/ knows no
 * backend or card by name.
 */
#ifndef VK_CORE_TOPOLOGY_H
#define VK_CORE_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/addr.h"
#include "core/net.h"
#include "core/options.h"

typedef struct vk_netdev_type {
    const char *name;
    bool live; /* talks to the real world: the run needs the live clock */
    const char *const *keys; /* keys it accepts besides type and id; NULL-terminated */
    /* Creates the backend port `id`, reading its keys from o (unknown keys are
     * reported by the caller afterwards). */
    int (*create)(vk_net *net, const char *id, vk_opts *o, vk_port **out, vk_diag *d);
} vk_netdev_type;

typedef struct vk_nic_model {
    const char *name;
    const char *const *keys; /* model keys besides driver, id, netdev, mac */
    int (*create)(vk_net *net, const char *id, const vk_mac *mac, vk_opts *o, vk_port **out,
                  vk_diag *d);
} vk_nic_model;

typedef struct vk_object_type {
    const char *name;
    const char *const *keys; /* keys besides qom-type and id */
    /* Returns an object handle in *out that destroy() later releases. */
    int (*create)(vk_net *net, vk_opts *o, void **out, vk_diag *d);
    void (*destroy)(void *obj);
} vk_object_type;

/* -chardev BACKEND,id=ID,...: a character device the objects use (QEMU's
 * chardevs).  Chardevs are built before every other option, as QEMU
 * creates them first, so an -object may name one given later. */
typedef struct vk_chardev_type {
    const char *name;
    bool live; /* talks to the real world: the run needs the live clock */
    const char *const *keys; /* keys besides backend and id; NULL-terminated */
    /* Creates chardev `id` in net (its ports belong to the net). */
    int (*create)(vk_net *net, const char *id, vk_opts *o, vk_diag *d);
} vk_chardev_type;

typedef struct vk_registry {
    const vk_netdev_type *const *netdevs; /* NULL-terminated */
    const vk_nic_model *const *nics;
    const vk_object_type *const *objects;
    /* The model of -nic and -net nic without model= (QEMU's default NIC);
     * NULL: model= is required. */
    const char *default_nic;
    const vk_chardev_type *const *chardevs; /* NULL: none */
} vk_registry;

typedef struct vk_topology vk_topology;

/* Built objects, freed with vk_topology_free after the net is done. */
vk_topology *vk_topology_new(void);
void vk_topology_free(vk_topology *t);

/* Adds one option ("-netdev", "user,id=n0"); `where` names its origin for
 * messages ("command line", "net.topo:3").  Syntax errors are reported here. */
int vk_topology_add(vk_topology *t, const char *option, const char *value, const char *where,
                    vk_diag *d);
/* Reads a topology file: options one a line (several per line allowed, as
 * pasted from a shell: quotes and trailing backslashes are understood). */
int vk_topology_load_file(vk_topology *t, const char *path, vk_diag *d);
size_t vk_topology_count(const vk_topology *t);
/* The options as one line of text (for trace headers). */
const char *vk_topology_text(vk_topology *t);

/* A new, unbuilt topology with t's options in which every netdev of type
 * `from` (-netdev, -nic, -net) is of type `to` instead, keys unchanged; the
 * number swapped goes to *swapped.  For running one network with two
 * backends side by side (replay --against). */
int vk_topology_copy_swapping(const vk_topology *t, const char *from, const char *to,
                              vk_topology **out, size_t *swapped, vk_diag *d);

/* Creates every port, peer and object in option order. */
int vk_topology_build(vk_topology *t, vk_net *net, const vk_registry *reg, vk_diag *d);

/* After build: the NIC ports in creation order (for the replay driver). */
size_t vk_topology_nic_count(const vk_topology *t);
vk_port *vk_topology_nic_at(const vk_topology *t, size_t i);

/* True when some netdev in t is of a live type (tap, socket, user with
 * real host sockets...): such a network must run on the live clock. */
bool vk_topology_needs_live(vk_topology *t, const vk_registry *reg);

/* The keys of -netdev hubport (built by the topology itself, not a
 * registry entry), NULL-terminated: for --help and --list-keys. */
extern const char *const vk_topology_hubport_keys[];
/* True for option names the topology understands ("-netdev", ...). */
int vk_topology_is_option(const char *option);

#endif
