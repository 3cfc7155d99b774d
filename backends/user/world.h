/*
 * The world behind the user-mode stack: the host sockets its NAT uses, behind
 * one table of operations, so that the protocols never call the OS.  libslirp
 * terminates the guest's TCP and relays the bytes through ordinary host
 * sockets; we do the same, and the sockets are a `vk_world`:
 *
 *  - "live" (world_live.c): real non-blocking sockets watched by the live
 *    loop.  It refuses to be created on a virtual loop.
 *  - "recorded" (world_recorded.c): the outside rebuilt from a capture at the
 *    socket boundary (connect outcomes, the peer's bytes as timed chunks,
 *    datagrams, echo replies), answering on the virtual clock.
 *  - "none": refuses everything ("user: no world: NAT disabled").
 *
 * Model.  A world socket (vk_wsock) is opened by the stack for one guest flow
 * and belongs to the world; the stack holds the pointer until it calls
 * close().  The world tells the stack what happened through the callbacks of
 * vk_wsock_events, with the `ctx` given at open; it never calls back from
 * inside an operation the stack is making (events are delivered from the
 * loop: fd callbacks or timers), so the stack need not be re-entrant.
 * Readiness is level-triggered in meaning and edge-triggered in delivery:
 * after `readable`, the stack calls recv() until VK_EAGAIN (or stops
 * reading when the guest's window is full, and reads again later: data then
 * waits in the world, as passt keeps it in the socket); after a send() that
 * took less than asked, `writable` comes when there is room again.
 *
 * Addresses: `dst` is where the world should connect (after the stack's
 * mapping: the gateway address becomes host loopback); `flow` is the flow
 * as the guest sent it, which a recorded world uses as its key.
 *
 * Time: every operation and event carries `now`; a world schedules its own
 * timers on the loop it was created with.
 */
#ifndef VK_BACKENDS_USER_WORLD_H
#define VK_BACKENDS_USER_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/loop.h"

typedef struct vk_world vk_world;
typedef struct vk_wsock vk_wsock;

/* One guest flow as the guest sent it. */
typedef struct vk_world_flow {
    int family;    /* 4 or 6 */
    uint8_t proto; /* VK_IP_PROTO_TCP, _UDP, _ICMP, _ICMPV6 */
    vk_ip4 src4, dst4;
    vk_ip6 src6, dst6;
    uint16_t src_port, dst_port; /* ICMP echo: the identifier in src_port, 0 in dst_port */
} vk_world_flow;

/* A socket address on the world's side. */
typedef struct vk_waddr {
    int family; /* 4 or 6 */
    vk_ip4 ip4;
    vk_ip6 ip6;
    uint16_t port;
} vk_waddr;

/* What a world tells the stack about one of its sockets.  Any may be NULL
 * when the socket kind never produces it. */
typedef struct vk_wsock_events {
    /* A TCP connect finished: VK_OK, or VK_ECONNREFUSED, VK_ENETUNREACH,
     * VK_EHOSTUNREACH, VK_ETIMEDOUT (libslirp: 75 s without an answer). */
    void (*connected)(void *ctx, vk_wsock *s, int status, uint64_t now);
    /* Data, EOF or an error is waiting: call recv()/recvfrom(). */
    void (*readable)(void *ctx, vk_wsock *s, uint64_t now);
    /* Room again after a short send(). */
    void (*writable)(void *ctx, vk_wsock *s, uint64_t now);
    /* A listening socket accepted `conn` (already connected) from `peer`;
     * the stack takes conn and sets its ev/ctx before any event of its own. */
    void (*accepted)(void *ctx, vk_wsock *listener, vk_wsock *conn, const vk_waddr *peer,
                     uint64_t now);
} vk_wsock_events;

typedef struct vk_world_ops {
    const char *name;

    /* TCP: starts a non-blocking connect to dst for the guest flow `flow`;
     * the outcome comes as `connected` (never from inside this call).  An
     * error known at once (no route) may be returned here instead. */
    int (*tcp_connect)(vk_world *w, const vk_world_flow *flow, const vk_waddr *dst,
                       const vk_wsock_events *ev, void *ctx, vk_wsock **out, uint64_t now);
    /* TCP: listens on `local` (hostfwd); connections come as `accepted`. */
    int (*tcp_listen)(vk_world *w, const vk_waddr *local, const vk_wsock_events *ev, void *ctx,
                      vk_wsock **out, uint64_t now);
    /* Bytes taken (maybe fewer than len), VK_EAGAIN when none fit, or
     * VK_ECONNRESET / VK_EIO. */
    long (*send)(vk_world *w, vk_wsock *s, const uint8_t *data, size_t len, uint64_t now);
    /* Bytes read (> 0), 0 at EOF, VK_EAGAIN when nothing is waiting, or
     * VK_ECONNRESET / VK_EIO. */
    long (*recv)(vk_world *w, vk_wsock *s, uint8_t *buf, size_t cap, uint64_t now);
    /* The guest sent FIN: no more bytes toward the peer (shutdown(SHUT_WR)). */
    int (*shutdown_write)(vk_world *w, vk_wsock *s, uint64_t now);

    /* UDP: a socket for one guest (address, port) flow; `bind_to` (NULL: any)
     * is the local address for hostfwd=udp.  Datagrams come with `readable`. */
    int (*udp_open)(vk_world *w, const vk_world_flow *flow, const vk_waddr *bind_to,
                    const vk_wsock_events *ev, void *ctx, vk_wsock **out, uint64_t now);
    /* Sends one datagram to dst with the given TTL/hop limit (0: default).
     * VK_OK, or VK_ENETUNREACH / VK_EHOSTUNREACH / VK_EPORTUNREACH / VK_EIO. */
    int (*sendto)(vk_world *w, vk_wsock *s, const vk_waddr *dst, const uint8_t *data,
                  size_t len, uint8_t ttl, uint64_t now);
    /* One datagram (its length, possibly 0) and its source, VK_EAGAIN when
     * none, or an error a previous datagram caused (VK_EPORTUNREACH,
     * VK_EHOSTUNREACH, VK_ENETUNREACH): libslirp turns those into ICMP. */
    long (*recvfrom)(vk_world *w, vk_wsock *s, uint8_t *buf, size_t cap, vk_waddr *from,
                     uint64_t now);

    /* ICMP echo (an unprivileged ping socket, SOCK_DGRAM/IPPROTO_ICMP[V6]):
     * the flow names the guest's echo; sendto()/recvfrom() carry the ICMP
     * message (type, code, checksum, id, seq, data) as the socket sees it. */
    int (*ping_open)(vk_world *w, const vk_world_flow *flow, const vk_wsock_events *ev,
                     void *ctx, vk_wsock **out, uint64_t now);

    /* guestfwd=...-cmd:COMMAND: a connected stream to a command run per
     * connection (socketpair); guestfwd=...-tcp:H:P / -unix:PATH: a stream
     * to that address.  `target` is the text after the port's '-'
     * ("cmd:...", "tcp:HOST:PORT", "unix:PATH"); `flow` the guest's
     * connection to the guestfwd server:port (a recorded world's key).
     * Ready at once (no `connected`); a failure to reach it shows as a
     * recv()/send() error. */
    int (*stream_open)(vk_world *w, const vk_world_flow *flow, const char *target,
                       const vk_wsock_events *ev, void *ctx, vk_wsock **out, uint64_t now);

    /* The upstream DNS server for the given family (4 or 6), as libslirp
     * finds it: the first matching `nameserver` of resolv.conf (re-read at
     * most once a second), else loopback.  VK_ENOENT when there is none. */
    int (*dns_server)(vk_world *w, int family, vk_waddr *out, uint64_t now);

    /* Closes s; abort = true resets a TCP connection (SO_LINGER 0).  No event
     * for s comes after this. */
    void (*close)(vk_world *w, vk_wsock *s, bool abort, uint64_t now);
    void (*free)(vk_world *w);
} vk_world_ops;

struct vk_world {
    const vk_world_ops *ops;
    vk_loop *loop;
};

/* A world socket.  A world allocates its own state with this struct as its
 * first member and frees it in close().  The stack sets ev/ctx of an
 * accepted socket (from `accepted`) before any event of its own comes. */
struct vk_wsock {
    const vk_wsock_events *ev;
    void *ctx;
};

/* The world that refuses everything (NAT disabled). */
vk_world *vk_world_none_new(vk_loop *loop);

#endif
