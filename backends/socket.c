/*
 * -netdev socket,id=ID,listen=[HOST]:PORT | connect=HOST:PORT
 *                    | mcast=MADDR:PORT[,localaddr=ADDR]
 *                    | udp=HOST:PORT,localaddr=HOST:PORT | fd=N
 * QEMU's legacy socket netdev (net/socket.c), the transport of every QEMU
 * since 0.x: listen and connect are TCP streams with the 4-byte length
 * framing (stream_link.c); mcast and udp carry one frame per datagram
 * (dgram_io.c); fd= is either, by the descriptor's SO_TYPE.
 *
 * Where we differ from QEMU: connect= is asynchronous (QEMU starts it
 * non-blocking too, but fails at start-up on an immediate error; we do the
 * same for an immediate error and keep the link down on a later one).
 */
#include "backends/backends.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/dgram_io.h"
#include "backends/stream_link.h"

static int socket_stream(vk_net *net, const char *id, vk_opts *o, const char *key,
                         vk_slink_config *cfg, vk_port **out, vk_diag *d)
{
    char err[256];
    bool server = strcmp(key, "listen") == 0;
    if (vk_saddr_hostport(vk_opts_get(o, key), server, &cfg->addr, err, sizeof err) != VK_OK)
        return vk_opts_error(o, d, VK_EINVAL, key, "%s", err);
    if (!server) {
        cfg->mode = VK_SLINK_CLIENT;
        return vk_slink_create(net, id, cfg, out, d);
    }
    int fd = vk_sock_listen(&cfg->addr);
    if (fd < 0)
        return vk_opts_error(o, d, VK_EIO, key, "cannot listen on %s: %s", cfg->addr.text,
                             strerror(-fd));
    cfg->mode = VK_SLINK_SERVER;
    cfg->listen_fd = fd;
    return vk_slink_create(net, id, cfg, out, d);
}

static int socket_mcast(vk_net *net, const char *id, vk_opts *o, vk_dlink_config *cfg,
                        vk_port **out, vk_diag *d)
{
    char err[256];
    vk_saddr group;
    if (vk_saddr_hostport(vk_opts_get(o, "mcast"), false, &group, err, sizeof err) != VK_OK)
        return vk_opts_error(o, d, VK_EINVAL, "mcast", "%s", err);
    int r = vk_dlink_open_mcast(cfg, &group, vk_opts_get(o, "localaddr"), err, sizeof err);
    if (r != VK_OK)
        return vk_opts_error(o, d, r, "mcast", "%s", err);
    return vk_dlink_create(net, id, cfg, out, d);
}

static int socket_udp(vk_net *net, const char *id, vk_opts *o, vk_dlink_config *cfg,
                      vk_port **out, vk_diag *d)
{
    char err[256];
    const char *local_s = vk_opts_get(o, "localaddr");
    if (local_s == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "localaddr", "missing (udp= needs "
                             "localaddr=HOST:PORT)");
    vk_saddr local, remote;
    if (vk_saddr_hostport(vk_opts_get(o, "udp"), false, &remote, err, sizeof err) != VK_OK)
        return vk_opts_error(o, d, VK_EINVAL, "udp", "%s", err);
    if (vk_saddr_hostport(local_s, true, &local, err, sizeof err) != VK_OK)
        return vk_opts_error(o, d, VK_EINVAL, "localaddr", "%s", err);
    int r = vk_dlink_open_unicast(cfg, &local, &remote, err, sizeof err);
    if (r != VK_OK)
        return vk_opts_error(o, d, r, "localaddr", "%s", err);
    return vk_dlink_create(net, id, cfg, out, d);
}

static int socket_fd(vk_net *net, const char *id, vk_opts *o, vk_slink_config *scfg,
                     vk_dlink_config *dcfg, vk_port **out, vk_diag *d)
{
    char err[256];
    int fd, type;
    if (vk_sock_parse_fd(vk_opts_get(o, "fd"), 0, &fd, &type, err, sizeof err) != VK_OK)
        return vk_opts_error(o, d, VK_EINVAL, "fd", "%s", err);
    if (type != SOCK_STREAM && type != SOCK_DGRAM)
        return vk_opts_error(o, d, VK_EINVAL, "fd", "descriptor %d is neither a stream nor a "
                             "datagram socket", fd);
    if (type == SOCK_DGRAM) {
        int r = vk_dlink_open_fd(dcfg, fd, err, sizeof err);
        if (r != VK_OK)
            return vk_opts_error(o, d, r, "fd", "%s", err);
        return vk_dlink_create(net, id, dcfg, out, d);
    }
    int r = vk_sock_prepare(fd);
    if (r != 0)
        return vk_opts_error(o, d, VK_EIO, "fd", "descriptor %d: %s", fd, strerror(-r));
    scfg->mode = VK_SLINK_FD;
    scfg->conn_fd = fd;
    snprintf(scfg->addr.text, sizeof scfg->addr.text, "fd:%d", fd);
    return vk_slink_create(net, id, scfg, out, d);
}

static int socket_create(vk_net *net, const char *id, vk_opts *o, vk_port **out, vk_diag *d)
{
    static const char *const modes[] = {"listen", "connect", "mcast", "udp", "fd", NULL};
    const char *mode = NULL;
    for (size_t i = 0; modes[i] != NULL; i++) {
        if (vk_opts_get(o, modes[i]) == NULL)
            continue;
        if (mode != NULL)
            return vk_opts_error(o, d, VK_EINVAL, modes[i], "give only one of listen=, "
                                 "connect=, mcast=, udp= or fd= (%s= was given too)", mode);
        mode = modes[i];
    }
    if (mode == NULL)
        return vk_opts_error(o, d, VK_EINVAL, NULL, "exactly one of listen=, connect=, mcast=, "
                             "udp= or fd= is required");
    const char *localaddr = vk_opts_get(o, "localaddr");
    if (localaddr != NULL && strcmp(mode, "mcast") != 0 && strcmp(mode, "udp") != 0)
        return vk_opts_error(o, d, VK_EINVAL, "localaddr", "only used with mcast= or udp=");
    char option[128];
    snprintf(option, sizeof option, "-netdev socket,id=%s", id);
    vk_slink_config scfg = {.listen_fd = -1, .conn_fd = -1, .option = option, .model = "socket"};
    vk_dlink_config dcfg = {.fd = -1, .option = option, .model = "socket"};
    if (strcmp(mode, "listen") == 0 || strcmp(mode, "connect") == 0)
        return socket_stream(net, id, o, mode, &scfg, out, d);
    if (strcmp(mode, "mcast") == 0)
        return socket_mcast(net, id, o, &dcfg, out, d);
    if (strcmp(mode, "udp") == 0)
        return socket_udp(net, id, o, &dcfg, out, d);
    return socket_fd(net, id, o, &scfg, &dcfg, out, d);
}

static const char *const socket_keys[] = {"listen", "connect", "mcast", "udp", "fd", "localaddr",
                                          NULL};

const vk_netdev_type vk_netdev_socket = {
    .name = "socket",
    .live = true,
    .keys = socket_keys,
    .create = socket_create,
};
