/*
 * One datagram socket as a port: the engine behind -netdev dgram and
 * -netdev socket,mcast=|udp=|fd= (a datagram socket).  One raw Ethernet frame
 * per datagram, no header (QEMU net/dgram.c, net/socket.c).
 *
 * Receive: one recvmmsg(2) per POLLIN takes up to VK_DGRAM_BATCH datagrams;
 * a datagram longer than VK_FRAME_MAX or shorter than an Ethernet header is
 * dropped with its reason.  Datagrams the kernel dropped because the socket's
 * receive buffer was full are traced too, as a count (SO_RXQ_OVFL).  A
 * multicast sender receives its own frames
 * (IP_MULTICAST_LOOP=1, as QEMU sets it) and forwards them like any other,
 * as QEMU does.
 * Transmit: frames received by the port are held (a reference each) and sent
 * with one sendmmsg(2) per loop turn (a zero-delay timer) or when
 * VK_DGRAM_BATCH are waiting.  When the socket takes no more the port waits
 * for POLLOUT and, once the batch is full, can_receive() is false so frames
 * wait in the port's queue.  A datagram the kernel refuses (no listener on
 * a Unix path, message too long, ...) is dropped with the error as reason.
 * The link is always up: datagrams have no connection.  Needs the live clock.
 */
#ifndef VK_BACKENDS_DGRAM_IO_H
#define VK_BACKENDS_DGRAM_IO_H

#include <stdbool.h>

#include "backends/sockaddr.h"
#include "core/net.h"

#define VK_DGRAM_BATCH 64

typedef struct vk_dlink_config {
    int fd;          /* bound datagram socket; the port owns it after create */
    bool has_dest;   /* sendto(dest); false: the socket is connected, send() */
    vk_saddr dest;
    const char *option; /* "-netdev dgram,id=d0": prefix of run-time messages */
    const char *model;  /* "dgram" or "socket" */
    char desc[400];     /* "mcast inet:230.0.0.1:1234", for trace headers */
} vk_dlink_config;

/* The three ways to get the socket, shared by -netdev dgram and -netdev
 * socket (mcast=, udp=, fd=).  Each fills fd, has_dest, dest and desc of cfg;
 * on failure nothing is left open and err holds a message that the caller
 * prefixes with its option and key.
 *   mcast:   a member of `group` (vk_sock_mcast), sending to the group;
 *            VK_EINVAL (not a multicast address, bad localaddr), VK_EIO
 *   unicast: bound to local, sending to remote; VK_EIO
 *   fd:      an inherited datagram socket, connected (send()) or bound to a
 *            multicast group (sending to that group, QEMU's case);
 *            VK_EINVAL, VK_EIO.  The port owns fd once vk_dlink_create runs. */
int vk_dlink_open_mcast(vk_dlink_config *cfg, const vk_saddr *group, const char *localaddr,
                        char *err, size_t errcap);
int vk_dlink_open_unicast(vk_dlink_config *cfg, const vk_saddr *local, const vk_saddr *remote,
                          char *err, size_t errcap);
int vk_dlink_open_fd(vk_dlink_config *cfg, int fd, char *err, size_t errcap);

/* Creates the port.  On failure cfg->fd is closed. */
int vk_dlink_create(vk_net *net, const char *id, const vk_dlink_config *cfg, vk_port **out,
                    vk_diag *d);

#endif
