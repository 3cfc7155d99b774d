/*
 * -chardev socket,id=ID,host=H,port=P[,server=on|off][,wait=on|off][,reconnect=S]
 * -chardev socket,id=ID,path=PATH[,abstract=on][,tight=on|off][,server=...]
 * QEMU's socket chardev (chardev/char-socket.c) with its keys and defaults:
 * server defaults to off (a client), a server waits (wait=on) for its first
 * peer before the run starts, as QEMU waits before the guest starts, and
 * reconnect= (seconds) only makes sense for a client.  A client without
 * reconnect= connects while the topology is built, and a refusal is an
 * error (QEMU exits); after its peer leaves its link stays down.  The connection is a
 * stream_link port (id "<id>.socket"), peer of the front end that the
 * filters use (core/chardev.h, id "<id>"): see chardev.h.
 */
#include "backends/chardev.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/sockaddr.h"
#include "backends/stream_link.h"
#include "core/chardev.h"
#include "core/port.h"

/* ---- -chardev socket ---- */

static int socket_addr(vk_opts *o, bool server, vk_saddr *a, vk_diag *d)
{
    const char *path = vk_opts_get(o, "path");
    const char *host = vk_opts_get(o, "host"), *port = vk_opts_get(o, "port");
    char err[256];
    if (path != NULL) {
        if (host != NULL || port != NULL)
            return vk_opts_error(o, d, VK_EINVAL, host ? "host" : "port",
                                 "give path= or host= and port=, not both");
        bool abstract, tight;
        int r = vk_opts_get_bool(o, "abstract", false, &abstract, d);
        if (r == VK_OK)
            r = vk_opts_get_bool(o, "tight", true, &tight, d);
        if (r != VK_OK)
            return r;
        if (vk_saddr_unix(path, abstract, tight, a, err, sizeof err) != VK_OK)
            return vk_opts_error(o, d, VK_EINVAL, "path", "%s", err);
        return VK_OK;
    }
    if (vk_opts_has(o, "abstract") || vk_opts_has(o, "tight"))
        return vk_opts_error(o, d, VK_EINVAL, vk_opts_has(o, "abstract") ? "abstract" : "tight",
                             "only with path=");
    if (host == NULL && port == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "path", "missing (give path= or host= and port=)");
    if (port == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "port", "missing (no port given)");
    if (host == NULL && !server)
        return vk_opts_error(o, d, VK_EINVAL, "host", "missing (no host given)");
    char *end;
    unsigned long n = strtoul(port, &end, 10);
    if (*end == '\0' && (port[0] < '0' || port[0] > '9' || n > 65535))
        return vk_opts_error(o, d, VK_ERANGE, "port", "'%s' is not a port from 0 to 65535", port);
    if (vk_saddr_inet(host ? host : "", port, server, a, err, sizeof err) != VK_OK)
        return vk_opts_error(o, d, VK_EINVAL, host ? "host" : "port", "%s", err);
    return VK_OK;
}

/* wait=on: the run starts once the first peer is there (QEMU blocks before
 * the guest starts); the port accepts that peer when it starts. */
static int wait_for_peer(vk_opts *o, const char *id, int fd, const vk_saddr *a, vk_diag *d)
{
    fprintf(stderr, "vnetkit: -chardev socket,id=%s: waiting for a connection on %s "
            "(wait=on)\n", id, a->text);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    for (;;) {
        int n = poll(&pfd, 1, -1);
        if (n > 0)
            return VK_OK;
        if (n < 0 && errno != EINTR)
            return vk_opts_error(o, d, VK_EIO, "wait", "waiting on %s: %s", a->text,
                                 strerror(errno));
    }
}

static int socket_listen(vk_opts *o, const char *id, bool wait, vk_slink_config *cfg,
                         vk_diag *d)
{
    const char *addr_key = vk_opts_has(o, "path") ? "path" : "port";
    int fd = vk_sock_listen(&cfg->addr);
    if (fd < 0)
        return vk_opts_error(o, d, VK_EIO, addr_key, "cannot listen on %s: %s", cfg->addr.text,
                             strerror(-fd));
    int r = wait ? wait_for_peer(o, id, fd, &cfg->addr, d) : VK_OK;
    if (r != VK_OK) {
        close(fd);
        return r;
    }
    cfg->mode = VK_SLINK_SERVER;
    cfg->listen_fd = fd;
    return VK_OK;
}

/* A client without reconnect=: connected now, as QEMU does at start-up. */
static int socket_connect(vk_opts *o, vk_slink_config *cfg, vk_diag *d)
{
    const char *addr_key = vk_opts_has(o, "path") ? "path" : "port";
    int fd = socket(cfg->addr.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)&cfg->addr.ss, cfg->addr.len) != 0 ||
        vk_sock_prepare(fd) != 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return vk_opts_error(o, d, VK_EIO, addr_key, "cannot connect to %s: %s", cfg->addr.text,
                             strerror(err));
    }
    cfg->mode = VK_SLINK_FD;
    cfg->conn_fd = fd;
    return VK_OK;
}

static int socket_create(vk_net *net, const char *id, vk_opts *o, vk_diag *d)
{
    bool server, wait;
    uint64_t reconnect_s;
    int r = vk_opts_get_bool(o, "server", false, &server, d);
    if (r == VK_OK)
        r = vk_opts_get_bool(o, "wait", true, &wait, d);
    if (r == VK_OK)
        r = vk_opts_get_uint(o, "reconnect", 0, 0, UINT32_MAX, &reconnect_s, d);
    if (r != VK_OK)
        return r;
    if (!server && vk_opts_has(o, "wait"))
        return vk_opts_error(o, d, VK_EINVAL, "wait", "only a server (server=on) waits");
    if (server && reconnect_s != 0)
        return vk_opts_error(o, d, VK_EINVAL, "reconnect",
                             "'reconnect' option is incompatible with 'server' option");
    char option[128], sock_id[80];
    snprintf(option, sizeof option, "-chardev socket,id=%s", id);
    if ((size_t)snprintf(sock_id, sizeof sock_id, "%s.socket", id) >= sizeof ((vk_port *)0)->id)
        return vk_opts_error(o, d, VK_ERANGE, "id", "'%s' is too long for a chardev", id);
    if (vk_net_find_port(net, sock_id) != NULL)
        return vk_opts_error(o, d, VK_EEXIST, "id", "duplicate id '%s'", sock_id);
    vk_slink_config cfg = {.listen_fd = -1, .conn_fd = -1, .model = "chardev", .option = option,
                           .mode = VK_SLINK_CLIENT, .reconnect_ns = reconnect_s * VK_NS_PER_SEC};
    if ((r = socket_addr(o, server, &cfg.addr, d)) != VK_OK)
        return r;
    if (server && (r = socket_listen(o, id, wait, &cfg, d)) != VK_OK)
        return r;
    if (!server && reconnect_s == 0 && (r = socket_connect(o, &cfg, d)) != VK_OK)
        return r;
    vk_port *sock, *fe;
    if ((r = vk_slink_create(net, sock_id, &cfg, &sock, d)) != VK_OK)
        return r;
    if ((r = vk_chardev_new(net, id, &fe, d)) != VK_OK)
        return r;
    return vk_net_connect(fe, sock, d);
}

static const char *const socket_keys[] = {"host",     "port",  "path",      "server", "wait",
                                          "abstract", "tight", "reconnect", NULL};

const vk_chardev_type vk_chardev_socket = {
    .name = "socket",
    .live = true,
    .keys = socket_keys,
    .create = socket_create,
};

const vk_chardev_type *const vk_chardev_types[] = {&vk_chardev_socket, NULL};
