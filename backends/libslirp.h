/*
 * -netdev libslirp: the real libslirp (4.7, the version QEMU 7.2 uses) as a
 * vnetkit backend, driven by vnetkit's loop and clock; see libslirp.c for the
 * callbacks and for what it refuses on the virtual clock.  Built only when
 * libslirp is found at build time (VK_HAVE_LIBSLIRP); otherwise the type is
 * registered and refused with the package to install.
 */
#ifndef VK_BACKENDS_LIBSLIRP_H
#define VK_BACKENDS_LIBSLIRP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/port.h"
#include "core/topology.h"

extern const vk_netdev_type vk_netdev_libslirp;

/* Host sockets libslirp may hold on the live clock (each is polled). */
#define VK_LIBSLIRP_POLLFDS_MAX 4096
/* Largest frame handed to libslirp: Ethernet header, a VLAN tag, the MTU. */
#define VK_LIBSLIRP_MTU 1500
#define VK_LIBSLIRP_FRAME_MAX (14 + 4 + VK_LIBSLIRP_MTU)
/* IPv4 datagrams whose fragments are being passed to libslirp in order (the
 * guard in libslirp.c), and how long one is followed: under libslirp 4.7's
 * reassembly lifetime (IPFRAGTTL, 60 ticks of 500 ms). */
#define VK_LIBSLIRP_FRAG_TRACK 16
#define VK_LIBSLIRP_FRAG_TRACK_NS (25ull * 1000000000ull)
/* guestfwd= rules (live clock only). */
#define VK_LIBSLIRP_GUESTFWD_MAX 16

typedef struct vk_libslirp_stats {
    uint64_t frames_in;       /* handed to slirp_input() */
    uint64_t frames_out;      /* sent by libslirp (send_packet) */
    uint64_t drops;           /* every frame we dropped, traced with its reason */
    uint64_t refused_outside; /* virtual clock: would have needed a host socket */
    uint64_t oversize;        /* longer than VK_LIBSLIRP_FRAME_MAX */
    uint64_t frag_out_of_order; /* fragments refused by the reassembly guard */
    uint64_t frag_track_full; /* VK_LIBSLIRP_FRAG_TRACK reached (oldest forgotten) */
    uint64_t guest_errors;    /* libslirp's guest_error() */
    uint64_t host_sockets;    /* register_poll_fd() calls */
    uint64_t pollfds_full;    /* VK_LIBSLIRP_POLLFDS_MAX reached */
    uint64_t timers_fired;    /* libslirp timers (RA) */
    uint64_t polls;           /* slirp_pollfds_poll() calls */
} vk_libslirp_stats;

/* True when this build has libslirp. */
bool vk_libslirp_available(void);
/* The counters of a libslirp port (NULL if p is not one). */
const vk_libslirp_stats *vk_libslirp_stats_of(const vk_port *p);

#endif
