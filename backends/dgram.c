/*
 * -netdev dgram,id=ID,local.type=inet,local.host=H,local.port=P,
 *                     remote.type=inet,remote.host=H,remote.port=P
 * -netdev dgram,id=ID,remote.type=inet,remote.host=MCAST,remote.port=P
 *                     [,local.type=inet,local.host=LOCALADDR]
 * -netdev dgram,id=ID,local.type=unix,local.path=P,remote.type=unix,remote.path=P
 * -netdev dgram,id=ID,local.type=fd,local.str=N
 * QEMU's dgram netdev (net/dgram.c): unicast needs local and remote of the
 * same type; a multicast remote makes a group member (local.host then names
 * the interface, as socket's localaddr=); an fd is a datagram socket used as
 * it is (connected, or a multicast member whose group is its own address).
 * The socket itself is dgram_io.c.
 */
#include "backends/backends.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/dgram_io.h"

/* side is "local" or "remote"; fills a from SIDE.host/port or SIDE.path. */
static int dgram_side(vk_opts *o, const char *side, const char *type, bool passive, vk_saddr *a,
                      vk_diag *d)
{
    char khost[32], kport[32], kpath[32], err[256];
    snprintf(khost, sizeof khost, "%s.host", side);
    snprintf(kport, sizeof kport, "%s.port", side);
    snprintf(kpath, sizeof kpath, "%s.path", side);
    if (strcmp(type, "inet") == 0) {
        const char *host = vk_opts_get(o, khost), *port = vk_opts_get(o, kport);
        if (host == NULL)
            return vk_opts_error(o, d, VK_EINVAL, khost, "missing (required with %s.type=inet)",
                                 side);
        if (port == NULL)
            return vk_opts_error(o, d, VK_EINVAL, kport, "missing (required with %s.type=inet)",
                                 side);
        if (vk_saddr_inet(host, port, passive, a, err, sizeof err) != VK_OK)
            return vk_opts_error(o, d, VK_EINVAL, khost, "%s", err);
        return VK_OK;
    }
    if (strcmp(type, "unix") == 0) {
        const char *path = vk_opts_get(o, kpath);
        if (path == NULL)
            return vk_opts_error(o, d, VK_EINVAL, kpath, "missing (required with %s.type=unix)",
                                 side);
        if (vk_saddr_unix(path, false, true, a, err, sizeof err) != VK_OK)
            return vk_opts_error(o, d, VK_EINVAL, kpath, "%s", err);
        return VK_OK;
    }
    char ktype[32];
    snprintf(ktype, sizeof ktype, "%s.type", side);
    return vk_opts_error(o, d, VK_EINVAL, ktype, "'%s': not inet or unix%s", type,
                         strcmp(side, "local") == 0 ? " or fd" : "");
}

static int dgram_fd(vk_opts *o, vk_dlink_config *cfg, vk_diag *d)
{
    const char *str = vk_opts_get(o, "local.str");
    char err[256];
    int fd;
    if (str == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "local.str", "missing (required with "
                             "local.type=fd)");
    if (vk_opts_get(o, "remote.type") != NULL)
        return vk_opts_error(o, d, VK_EINVAL, "remote.type", "not used with local.type=fd");
    if (vk_sock_parse_fd(str, SOCK_DGRAM, &fd, NULL, err, sizeof err) != VK_OK)
        return vk_opts_error(o, d, VK_EINVAL, "local.str", "%s", err);
    int r = vk_dlink_open_fd(cfg, fd, err, sizeof err);
    if (r != VK_OK)
        return vk_opts_error(o, d, r, "local.str", "%s", err);
    return VK_OK;
}

static int dgram_create(vk_net *net, const char *id, vk_opts *o, vk_port **out, vk_diag *d)
{
    char option[128], err[256];
    snprintf(option, sizeof option, "-netdev dgram,id=%s", id);
    vk_dlink_config cfg = {.fd = -1, .option = option, .model = "dgram"};
    const char *ltype = vk_opts_get(o, "local.type"), *rtype = vk_opts_get(o, "remote.type");
    int r;
    if (ltype != NULL && strcmp(ltype, "fd") == 0) {
        if ((r = dgram_fd(o, &cfg, d)) != VK_OK)
            return r;
        return vk_dlink_create(net, id, &cfg, out, d);
    }
    if (rtype == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "remote.type", "missing (a remote address is "
                             "required unless local.type=fd)");
    vk_saddr remote, local;
    if ((r = dgram_side(o, "remote", rtype, false, &remote, d)) != VK_OK)
        return r;
    if (vk_saddr_is_multicast(&remote)) {
        const char *localaddr = NULL;
        if (ltype != NULL && strcmp(ltype, "inet") != 0)
            return vk_opts_error(o, d, VK_EINVAL, "local.type", "'%s': a multicast member's "
                                 "local address is inet", ltype);
        if (ltype != NULL)
            localaddr = vk_opts_get(o, "local.host");
        vk_opts_mark_used(o, "local.port"); /* the group's port is the one bound */
        if ((r = vk_dlink_open_mcast(&cfg, &remote, localaddr, err, sizeof err)) != VK_OK)
            return vk_opts_error(o, d, r, "remote.host", "%s", err);
        return vk_dlink_create(net, id, &cfg, out, d);
    }
    if (ltype == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "local.type", "missing (unicast needs a local "
                             "address of the remote's type, %s)", rtype);
    if (strcmp(ltype, rtype) != 0)
        return vk_opts_error(o, d, VK_EINVAL, "local.type", "'%s' differs from remote.type "
                             "'%s'", ltype, rtype);
    if ((r = dgram_side(o, "local", ltype, true, &local, d)) != VK_OK)
        return r;
    if ((r = vk_dlink_open_unicast(&cfg, &local, &remote, err, sizeof err)) != VK_OK)
        return vk_opts_error(o, d, r, strcmp(ltype, "unix") == 0 ? "local.path" : "local.port",
                             "%s", err);
    return vk_dlink_create(net, id, &cfg, out, d);
}

static const char *const dgram_keys[] = {"local.type",  "local.host",  "local.port",
                                         "local.path",  "local.str",   "remote.type",
                                         "remote.host", "remote.port", "remote.path", NULL};

const vk_netdev_type vk_netdev_dgram = {
    .name = "dgram",
    .live = true,
    .keys = dgram_keys,
    .create = dgram_create,
};
