/*
 * -netdev stream,id=ID,server=on|off,addr.type=inet,addr.host=H,addr.port=P
 *                [,reconnect-ms=MS | ,reconnect=S]
 * -netdev stream,...,addr.type=unix,addr.path=PATH[,addr.abstract=on][,addr.tight=on|off]
 * -netdev stream,...,addr.type=fd,addr.str=N
 * QEMU's stream netdev (net/stream.c), keys and defaults as QEMU's: server
 * defaults to off; reconnect (QEMU 8.0, seconds) and reconnect-ms (QEMU 9.2)
 * only make sense for a client.  With addr.type=fd a server is given a
 * listening socket and a client a connected one.  The connection itself is
 * stream_link.c.
 */
#include "backends/backends.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/stream_link.h"

static int stream_addr_inet(vk_opts *o, bool server, vk_saddr *a, vk_diag *d)
{
    const char *host = vk_opts_get(o, "addr.host"), *port = vk_opts_get(o, "addr.port");
    if (host == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "addr.host", "missing (required with "
                             "addr.type=inet)");
    if (port == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "addr.port", "missing (required with "
                             "addr.type=inet)");
    char err[256];
    if (vk_saddr_inet(host, port, server, a, err, sizeof err) != VK_OK)
        return vk_opts_error(o, d, VK_EINVAL, "addr.host", "%s", err);
    return VK_OK;
}

static int stream_addr_unix(vk_opts *o, vk_saddr *a, vk_diag *d)
{
    bool abstract, tight;
    int r = vk_opts_get_bool(o, "addr.abstract", false, &abstract, d);
    if (r == VK_OK)
        r = vk_opts_get_bool(o, "addr.tight", true, &tight, d);
    if (r != VK_OK)
        return r;
    const char *path = vk_opts_get(o, "addr.path");
    if (path == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "addr.path", "missing (required with "
                             "addr.type=unix)");
    char err[256];
    if (vk_saddr_unix(path, abstract, tight, a, err, sizeof err) != VK_OK)
        return vk_opts_error(o, d, VK_EINVAL, "addr.path", "%s", err);
    return VK_OK;
}

/* reconnect-ms= or reconnect= (seconds); 0 means never. */
static int stream_reconnect(vk_opts *o, bool server, uint64_t *ns, vk_diag *d)
{
    uint64_t ms, s;
    int r = vk_opts_get_uint(o, "reconnect-ms", 0, 0, UINT32_MAX, &ms, d);
    if (r == VK_OK)
        r = vk_opts_get_uint(o, "reconnect", 0, 0, UINT32_MAX, &s, d);
    if (r != VK_OK)
        return r;
    if (ms != 0 && s != 0)
        return vk_opts_error(o, d, VK_EINVAL, "reconnect", "give reconnect or reconnect-ms, "
                             "not both");
    *ns = ms != 0 ? ms * 1000000ull : s * VK_NS_PER_SEC;
    if (*ns != 0 && server)
        return vk_opts_error(o, d, VK_EINVAL, vk_opts_has(o, "reconnect") ? "reconnect"
                             : "reconnect-ms", "only a client (server=off) reconnects");
    return VK_OK;
}

static int stream_fd(vk_opts *o, bool server, vk_slink_config *cfg, vk_diag *d)
{
    const char *str = vk_opts_get(o, "addr.str");
    if (str == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "addr.str", "missing (required with "
                             "addr.type=fd)");
    char err[256];
    int fd;
    if (vk_sock_parse_fd(str, SOCK_STREAM, &fd, NULL, err, sizeof err) != VK_OK)
        return vk_opts_error(o, d, VK_EINVAL, "addr.str", "%s", err);
    int listening = 0;
    socklen_t len = sizeof listening;
    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
    if (server && !listening)
        return vk_opts_error(o, d, VK_EINVAL, "addr.str", "descriptor %d is not a listening "
                             "socket (server=on)", fd);
    if (!server && listening)
        return vk_opts_error(o, d, VK_EINVAL, "addr.str", "descriptor %d is a listening "
                             "socket (use server=on)", fd);
    if (vk_sock_prepare(fd) != 0)
        return vk_opts_error(o, d, VK_EIO, "addr.str", "descriptor %d: %s", fd, strerror(errno));
    if (server)
        cfg->listen_fd = fd;
    else
        cfg->conn_fd = fd;
    cfg->mode = server ? VK_SLINK_SERVER : VK_SLINK_FD;
    snprintf(cfg->addr.text, sizeof cfg->addr.text, "fd:%d", fd);
    return VK_OK;
}

static int stream_create(vk_net *net, const char *id, vk_opts *o, vk_port **out, vk_diag *d)
{
    vk_slink_config cfg = {.listen_fd = -1, .conn_fd = -1, .model = "stream"};
    char option[128];
    snprintf(option, sizeof option, "-netdev stream,id=%s", id);
    cfg.option = option;
    bool server;
    int r = vk_opts_get_bool(o, "server", false, &server, d);
    if (r == VK_OK)
        r = stream_reconnect(o, server, &cfg.reconnect_ns, d);
    if (r != VK_OK)
        return r;
    const char *type = vk_opts_get(o, "addr.type");
    if (type == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "addr.type", "missing (inet, unix or fd)");
    if (strcmp(type, "fd") == 0) {
        if ((r = stream_fd(o, server, &cfg, d)) != VK_OK)
            return r;
        return vk_slink_create(net, id, &cfg, out, d);
    }
    if (strcmp(type, "inet") == 0)
        r = stream_addr_inet(o, server, &cfg.addr, d);
    else if (strcmp(type, "unix") == 0)
        r = stream_addr_unix(o, &cfg.addr, d);
    else
        return vk_opts_error(o, d, VK_EINVAL, "addr.type", "'%s': not inet, unix or fd"
                             " (vsock is not supported)", type);
    if (r != VK_OK)
        return r;
    if (!server) {
        cfg.mode = VK_SLINK_CLIENT;
        return vk_slink_create(net, id, &cfg, out, d);
    }
    int fd = vk_sock_listen(&cfg.addr);
    if (fd < 0)
        return vk_opts_error(o, d, VK_EIO, type[0] == 'u' ? "addr.path" : "addr.port",
                             "cannot listen on %s: %s", cfg.addr.text, strerror(-fd));
    cfg.mode = VK_SLINK_SERVER;
    cfg.listen_fd = fd;
    return vk_slink_create(net, id, &cfg, out, d);
}

static const char *const stream_keys[] = {"server", "addr.type", "addr.host", "addr.port",
                                          "addr.path", "addr.abstract", "addr.tight",
                                          "addr.str", "reconnect", "reconnect-ms", NULL};

const vk_netdev_type vk_netdev_stream = {
    .name = "stream",
    .live = true,
    .keys = stream_keys,
    .create = stream_create,
};
