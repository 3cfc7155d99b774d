/*
 * -netdev user: a slirp-compatible user-mode network stack, answering a guest
 * the way QEMU 7.2 with libslirp 4.7 does (pcaps/README.md is the spec).
 * It serves what lives inside the virtual network itself: ARP, DHCP, ICMP echo
 * to the gateway and DNS addresses, TFTP, IPv6 RS/RA, NS/NA and echo, IPv4
 * reassembly, and restrict=on.  Traffic for the outside world goes to a
 * `world` (world.h): the live world (host sockets) on a live loop, the
 * "none" world (every NAT flow dropped with a counted reason) on a virtual
 * loop unless vk_user_set_world() gives it another.  TCP goes through the TCP NAT (tcp.c, tcp_conn.c), with
 * hostfwd=tcp and guestfwd; UDP, ICMP and DNS through udp.c and icmp.c.
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
    uint64_t arp_hold_full;       /* VK_USER_HOLD_MAX reached */
    uint64_t arp_hold_expired;    /* no answer within VK_USER_HOLD_NS */
    uint64_t nd_hold_full;        /* the same queue, for IPv6 neighbors */
    uint64_t nd_hold_expired;     /* no NA within VK_USER_HOLD_NS */
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
    uint64_t tcp_resets;          /* resets sent to the guest (restrict=on included) */
    uint64_t tcp_conns;           /* TCP connections open now */
    uint64_t tcp_conns_opened;
    uint64_t tcp_conns_full;      /* VK_USER_TCP_CONNS_MAX reached: SYN reset */
    uint64_t tcp_ooo_full;        /* VK_USER_TCP_OOO_MAX reached: segment dropped */
    uint64_t tcp_memory_full;     /* VK_USER_TCP_MEMORY_MAX reached */
    uint64_t tcp_refused;         /* the world refused a connect */
    uint64_t tcp_unreachable;     /* ICMP unreachable sent for a SYN */
    uint64_t tcp_timeouts;        /* no answer in 75 s, or 12 retransmits */
    uint64_t tcp_retransmits;
    uint64_t tcp_guest_resets;    /* connections the guest reset */
    uint64_t tcp_world_errors;    /* the world could not open a socket */
    uint64_t tcp_hostfwd_clashes; /* an accepted client's flow was taken */
    uint64_t nat_not_implemented; /* outside traffic no NAT protocol carries */
    uint64_t nat_no_world;        /* NAT traffic dropped: the "none" world */
    uint64_t udp_sockets;         /* UDP NAT sockets open now */
    uint64_t udp_sockets_full;    /* VK_USER_UDP_SOCKETS_MAX reached */
    uint64_t udp_expired;
    uint64_t udp_out, udp_in;     /* datagrams guest->world, world->guest */
    uint64_t udp_world_errors;    /* sockets the world refused to open */
    uint64_t dns_queries;         /* datagrams to the DNS address's port 53 */
    uint64_t icmp_errors_sent;    /* ICMP/ICMPv6 errors the NAT sent the guest */
    uint64_t ping_full;           /* VK_USER_PING_MAX reached */
    uint64_t ping_replies;        /* echo replies from the outside */
    uint64_t ping_expired;
} vk_user_stats;

/* The counters of a user port (NULL if p is not one). */
const vk_user_stats *vk_user_stats_of(const vk_port *p);

/* Replaces the world of a user port.  NAT sockets of the old world are
 * closed (TCP connections reset) and the old world freed; hostfwd rules are
 * bound with the new one if the port has started (else at start).  The port
 * takes ownership of w, also on error.  VK_EINVAL if p is not a user port. */
int vk_user_set_world(vk_port *p, vk_world *w);

#endif
