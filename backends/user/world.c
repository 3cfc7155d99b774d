/*
 * The "none" world: NAT disabled.  Every operation that would reach the
 * outside fails, so the stack answers the guest as a host without a route
 * would, and traces why.
 */
#include "backends/user/world.h"

#include <stdlib.h>

#include "core/error.h"

static int none_tcp_connect(vk_world *w, const vk_world_flow *flow, const vk_waddr *dst,
                            const vk_wsock_events *ev, void *ctx, vk_wsock **out, uint64_t now)
{
    (void)w, (void)flow, (void)dst, (void)ev, (void)ctx, (void)now;
    *out = NULL;
    return VK_ENETUNREACH;
}

static int none_tcp_listen(vk_world *w, const vk_waddr *local, const vk_wsock_events *ev,
                           void *ctx, vk_wsock **out, uint64_t now)
{
    (void)w, (void)local, (void)ev, (void)ctx, (void)now;
    *out = NULL;
    return VK_EUNSUPP;
}

static long none_send(vk_world *w, vk_wsock *s, const uint8_t *data, size_t len, uint64_t now)
{
    (void)w, (void)s, (void)data, (void)len, (void)now;
    return VK_EIO;
}

static long none_recv(vk_world *w, vk_wsock *s, uint8_t *buf, size_t cap, uint64_t now)
{
    (void)w, (void)s, (void)buf, (void)cap, (void)now;
    return VK_EIO;
}

static int none_shutdown_write(vk_world *w, vk_wsock *s, uint64_t now)
{
    (void)w, (void)s, (void)now;
    return VK_EIO;
}

static int none_udp_open(vk_world *w, const vk_world_flow *flow, const vk_waddr *bind_to,
                         const vk_wsock_events *ev, void *ctx, vk_wsock **out, uint64_t now)
{
    (void)w, (void)flow, (void)bind_to, (void)ev, (void)ctx, (void)now;
    *out = NULL;
    return VK_ENETUNREACH;
}

static int none_sendto(vk_world *w, vk_wsock *s, const vk_waddr *dst, const uint8_t *data,
                       size_t len, uint8_t ttl, uint64_t now)
{
    (void)w, (void)s, (void)dst, (void)data, (void)len, (void)ttl, (void)now;
    return VK_ENETUNREACH;
}

static long none_recvfrom(vk_world *w, vk_wsock *s, uint8_t *buf, size_t cap, vk_waddr *from,
                          uint64_t now)
{
    (void)w, (void)s, (void)buf, (void)cap, (void)from, (void)now;
    return VK_EAGAIN;
}

static int none_ping_open(vk_world *w, const vk_world_flow *flow, const vk_wsock_events *ev,
                          void *ctx, vk_wsock **out, uint64_t now)
{
    (void)w, (void)flow, (void)ev, (void)ctx, (void)now;
    *out = NULL;
    return VK_ENETUNREACH;
}

static int none_stream_open(vk_world *w, const vk_world_flow *flow, const char *target,
                            const vk_wsock_events *ev, void *ctx, vk_wsock **out, uint64_t now)
{
    (void)w, (void)flow, (void)target, (void)ev, (void)ctx, (void)now;
    *out = NULL;
    return VK_EUNSUPP;
}

static int none_dns_server(vk_world *w, int family, vk_waddr *out, uint64_t now)
{
    (void)w, (void)family, (void)out, (void)now;
    return VK_ENOENT;
}

static void none_close(vk_world *w, vk_wsock *s, bool abort, uint64_t now)
{
    (void)w, (void)s, (void)abort, (void)now;
}

static void none_free(vk_world *w)
{
    free(w);
}

static const vk_world_ops none_ops = {
    .name = "none",
    .tcp_connect = none_tcp_connect,
    .tcp_listen = none_tcp_listen,
    .send = none_send,
    .recv = none_recv,
    .shutdown_write = none_shutdown_write,
    .udp_open = none_udp_open,
    .sendto = none_sendto,
    .recvfrom = none_recvfrom,
    .ping_open = none_ping_open,
    .stream_open = none_stream_open,
    .dns_server = none_dns_server,
    .close = none_close,
    .free = none_free,
};

vk_world *vk_world_none_new(vk_loop *loop)
{
    vk_world *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->ops = &none_ops;
    w->loop = loop;
    return w;
}
