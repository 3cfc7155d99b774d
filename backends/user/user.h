/*
 * -netdev user: a slirp-compatible user-mode network stack, answering a guest
 * the way QEMU 7.2 with libslirp 4.7 does (pcaps/README.md is the spec).
 * Part 1 serves what lives inside the virtual network: ARP, DHCP, ICMP echo
 * to the gateway and DNS addresses, TFTP, IPv6 RS/RA, NS/NA and echo, IPv4
 * reassembly, and restrict=on.  Traffic for the outside world goes to a
 * `world` (world.h); part 1's world drops it with a counted reason.
 *
 * The counters below are the named caps and drop reasons of the stack, for
 * the tracer's reports and for tests.
 */
#ifndef VK_BACKENDS_USER_USER_H
#define VK_BACKENDS_USER_USER_H

#include <stdint.h>

#include "backends/user/world.h"
#include "core/port.h"
#include "core/topology.h"

extern const vk_netdev_type vk_netdev_user;

typedef struct vk_user_stats {
    uint64_t drops;               /* every frame dropped with a reason */
    uint64_t arp_replies;
    uint64_t arp_requests_sent;
    uint64_t arp_table_evictions; /* VK_USER_ARP_TABLE_SIZE reached */
    uint64_t arp_hold_full;       /* VK_USER_ARP_HOLD_MAX reached */
    uint64_t arp_hold_expired;    /* no answer within VK_USER_ARP_HOLD_NS */
    uint64_t dhcp_offers, dhcp_acks, dhcp_naks;
    uint64_t dhcp_malformed;
    uint64_t dhcp_pool_exhausted; /* VK_USER_DHCP_POOL_SIZE clients reached */
    uint64_t icmp_echo_replies;
    uint64_t tftp_sessions_full;  /* VK_USER_TFTP_SESSIONS_MAX reached */
    uint64_t tftp_errors_sent;
    uint64_t tftp_retransmits;
    uint64_t tftp_timeouts;
    uint64_t frag_reassembled;
    uint64_t frag_queues_full;    /* VK_USER_FRAG_MAX_DATAGRAMS reached */
    uint64_t frag_pieces_full;    /* VK_USER_FRAG_MAX_PIECES reached */
    uint64_t frag_memory_full;    /* VK_USER_FRAG_MAX_BYTES reached */
    uint64_t frag_overlaps;
    uint64_t frag_oversize;
    uint64_t frag_timeouts;
    uint64_t ra_sent, na_sent, echo6_replies;
    uint64_t tcp_resets;          /* restrict=on refusals */
    uint64_t nat_not_implemented; /* handed to the part-1 world */
} vk_user_stats;

/* Replaces the world of a user port (the "none" world it starts with on a
 * virtual loop).  The old world is freed.  The port takes ownership of w,
 * also on error.  VK_EINVAL if p is not a user port. */
int vk_user_set_world(vk_port *p, vk_world *w);

/* The counters of a user port (NULL if p is not one). */
const vk_user_stats *vk_user_stats_of(const vk_port *p);

#endif
