/*
 * The live world (world_live.c): the user stack's NAT sockets as real
 * non-blocking host sockets on the live loop.  Created only on a live loop;
 * on a virtual loop creation fails with a message saying why.
 */
#ifndef VK_BACKENDS_USER_WORLD_LIVE_H
#define VK_BACKENDS_USER_WORLD_LIVE_H

#include <stdint.h>

#include "backends/user/world.h"
#include "core/error.h"

/* Counters of a live world, for reports and tests. */
typedef struct vk_world_live_stats {
    uint64_t open_sockets;     /* sockets open now */
    uint64_t fd_exhausted;     /* EMFILE/ENFILE/ENOBUFS/ENOMEM: refused, never fatal */
    uint64_t connect_failures; /* TCP connects that did not succeed */
    uint64_t accepted;         /* connections accepted on listeners */
    uint64_t icmp_errors;      /* errors read from IP_RECVERR queues */
    uint64_t truncated;        /* datagrams longer than the stack's buffer */
    uint64_t ping_refused;     /* ping sockets the kernel did not allow */
} vk_world_live_stats;

/* resolv_conf: the file DNS upstreams come from (NULL: /etc/resolv.conf).
 * VK_EUNSUPP (with a message in d) on a virtual loop. */
int vk_world_live_new(vk_loop *loop, const char *resolv_conf, vk_world **out, vk_diag *d);
const vk_world_live_stats *vk_world_live_stats_of(const vk_world *w);

#endif
