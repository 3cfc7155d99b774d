/*
 * One stream connection as a port: the engine behind -netdev stream and
 * -netdev socket,listen=|connect=|fd= (a stream socket).  Frames use QEMU's
 * framing (framing.h).
 *
 *  - server: watches a listening socket, accepts one peer, stops accepting
 *    while it is served (later peers wait in the backlog), and listens again
 *    when it leaves: QEMU's "one peer at a time".
 *  - client: connects (non-blocking); with a reconnect delay it tries again
 *    after every failure or disconnection, else it stays down.
 *  - fd: an already connected socket; after its EOF the link stays down.
 * While no peer is connected the link is down (vk_port_set_link): frames the
 * port receives are dropped with the reason "link down", as QEMU discards
 * them.  Link changes are traced and counted.
 *
 * Backpressure: frames are appended to a transmit buffer and written in one
 * send() per loop turn (a zero-delay timer), or at once when the buffer
 * fills.  When the socket takes no more, the port waits for POLLOUT and
 * can_receive() turns false once the buffer cannot hold a largest frame, so
 * frames wait in the port's input queue (whose overflow core traces).
 * Frames still in the buffer when the connection ends are traced as drops.
 * Frames read from the socket borrow the receive buffer (vk_frame_lend):
 * one read of many frames costs no copy per frame unless a queue or filter
 * keeps one.  Needs the live clock.
 */
#ifndef VK_BACKENDS_STREAM_LINK_H
#define VK_BACKENDS_STREAM_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/sockaddr.h"
#include "core/net.h"

typedef enum vk_slink_mode {
    VK_SLINK_SERVER, /* listen_fd */
    VK_SLINK_CLIENT, /* connect to addr */
    VK_SLINK_FD,     /* conn_fd, already connected */
} vk_slink_mode;

typedef struct vk_slink_config {
    vk_slink_mode mode;
    int listen_fd;          /* SERVER: listening socket; the port owns it after create */
    int conn_fd;            /* FD: connected socket; the port owns it after create */
    vk_saddr addr;          /* CLIENT: peer; SERVER: what we listen on (for messages) */
    uint64_t reconnect_ns;  /* CLIENT: delay before trying again; 0: never */
    const char *option;     /* "-netdev stream,id=s0": prefix of run-time messages */
    const char *model;      /* "stream" or "socket" */
} vk_slink_config;

/* Creates the port.  On failure the descriptors in cfg are closed. */
int vk_slink_create(vk_net *net, const char *id, const vk_slink_config *cfg, vk_port **out,
                    vk_diag *d);

#endif
