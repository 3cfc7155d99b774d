/*
 * The world behind the user-mode stack: where a guest's TCP, UDP and ICMP
 * traffic for addresses outside the stack goes (NAT), and where answers come
 * from.  The stack hands each such packet to world->ops->output() with the
 * flow it belongs to; a world answers later, from its own timers or file
 * descriptors, by calling back the stack's `deliver` function with a whole IP
 * packet addressed to the guest (the stack fills in Ethernet, ARP, IP id).
 *
 * Part 1 has only the "none" world, which refuses everything with the reason
 * "user: NAT not implemented yet".  Part 2 adds live host sockets and a
 * recorded or scripted world; both plug in here without touching protocols.
 */
#ifndef VK_BACKENDS_USER_WORLD_H
#define VK_BACKENDS_USER_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

typedef struct vk_world vk_world;

/* One guest flow as the world sees it (addresses as the guest used them). */
typedef struct vk_world_flow {
    int family;    /* 4 or 6 */
    uint8_t proto; /* VK_IP_PROTO_TCP, _UDP, _ICMP, _ICMPV6 */
    vk_ip4 src4, dst4;
    vk_ip6 src6, dst6;
    uint16_t src_port, dst_port; /* 0 for ICMP */
} vk_world_flow;

/* How a world gives the stack a packet for the guest: ip/len is a whole IPv4
 * or IPv6 packet; the stack copies it.  Returns VK_OK or a negative code. */
typedef int (*vk_world_deliver_fn)(void *stack, const uint8_t *ip, size_t len, uint64_t now);

typedef struct vk_world_ops {
    const char *name;
    /* A guest packet (ip/len, borrowed) of `flow` leaving for the outside at
     * `now`.  VK_OK when taken; otherwise a negative code and *reason, a
     * short phrase the stack reports as the drop reason. */
    int (*output)(vk_world *w, const vk_world_flow *flow, const uint8_t *ip, size_t len,
                  uint64_t now, const char **reason);
    void (*free)(vk_world *w);
} vk_world_ops;

struct vk_world {
    const vk_world_ops *ops;
    void *stack;                 /* passed back to deliver */
    vk_world_deliver_fn deliver;
};

/* The part-1 world: takes nothing. */
vk_world *vk_world_none_new(void *stack, vk_world_deliver_fn deliver);

#endif
