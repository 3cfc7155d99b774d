/*
 * Socket address parsing and socket set-up shared by the socket, stream and
 * dgram backends (see sockaddr.h).
 */
#include "backends/sockaddr.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/error.h"

static void saddr_describe(vk_saddr *a)
{
    char host[INET6_ADDRSTRLEN + 2] = "?", port[16] = "?";
    getnameinfo((struct sockaddr *)&a->ss, a->len, host, sizeof host, port, sizeof port,
                NI_NUMERICHOST | NI_NUMERICSERV);
    if (a->ss.ss_family == AF_INET6)
        snprintf(a->text, sizeof a->text, "inet:[%s]:%s", host, port);
    else
        snprintf(a->text, sizeof a->text, "inet:%s:%s", host, port);
}

int vk_saddr_inet(const char *host, const char *port, bool passive, vk_saddr *out, char *err,
                  size_t errcap)
{
    memset(out, 0, sizeof *out);
    if (port == NULL || port[0] == '\0') {
        snprintf(err, errcap, "a port is required");
        return VK_EINVAL;
    }
    /* getaddrinfo takes "99999" and wraps it modulo 65536: refuse it here */
    char *end = NULL;
    unsigned long n = strtoul(port, &end, 10);
    if (port[0] < '0' || port[0] > '9' || *end != '\0' || n > 65535) {
        snprintf(err, errcap, "'%s' is not a port from 0 to 65535", port);
        return VK_ERANGE;
    }
    if (!passive && (host == NULL || host[0] == '\0')) {
        snprintf(err, errcap, "a host is required to connect");
        return VK_EINVAL;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    int r = getaddrinfo(host && host[0] ? host : NULL, port, &hints, &res);
    if (r != 0) {
        snprintf(err, errcap, "address '%s:%s': %s", host ? host : "", port, gai_strerror(r));
        return VK_EINVAL;
    }
    /* prefer IPv4 for an empty host, as QEMU's parse_host_port (INADDR_ANY) */
    struct addrinfo *pick = res;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
    memcpy(&out->ss, pick->ai_addr, pick->ai_addrlen);
    out->len = pick->ai_addrlen;
    freeaddrinfo(res);
    saddr_describe(out);
    return VK_OK;
}

int vk_saddr_hostport(const char *s, bool passive, vk_saddr *out, char *err, size_t errcap)
{
    char host[256];
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':') {
            snprintf(err, errcap, "'%s' is not [ADDRESS]:PORT", s);
            return VK_EINVAL;
        }
        colon = close + 1;
        size_t n = (size_t)(close - s - 1);
        if (n >= sizeof host)
            n = sizeof host - 1;
        memcpy(host, s + 1, n);
        host[n] = '\0';
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL) {
            snprintf(err, errcap, "'%s' is not HOST:PORT", s);
            return VK_EINVAL;
        }
        size_t n = (size_t)(colon - s);
        if (n >= sizeof host) {
            snprintf(err, errcap, "host in '%s' is too long", s);
            return VK_EINVAL;
        }
        memcpy(host, s, n);
        host[n] = '\0';
    }
    return vk_saddr_inet(host, colon + 1, passive, out, err, errcap);
}

int vk_saddr_unix(const char *path, bool abstract, bool tight, vk_saddr *out, char *err,
                  size_t errcap)
{
    memset(out, 0, sizeof *out);
    struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;
    size_t n = path ? strlen(path) : 0;
    size_t room = sizeof sun->sun_path - (abstract ? 1 : 0) - 1;
    if (n == 0) {
        snprintf(err, errcap, "a path is required");
        return VK_EINVAL;
    }
    if (n > room) {
        snprintf(err, errcap, "'%s' is longer than %zu bytes", path, room);
        return VK_EINVAL;
    }
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path + (abstract ? 1 : 0), path, n);
    if (abstract && tight)
        out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    else
        out->len = sizeof *sun;
    snprintf(out->text, sizeof out->text, "unix:%s%s", abstract ? "@" : "", path);
    return VK_OK;
}

bool vk_saddr_is_multicast(const vk_saddr *a)
{
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&a->ss;
        return IN_MULTICAST(ntohl(in->sin_addr.s_addr));
    }
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
        return IN6_IS_ADDR_MULTICAST(&in6->sin6_addr);
    }
    return false;
}

int vk_sock_parse_fd(const char *s, int type, int *fd_out, int *type_out, char *err,
                     size_t errcap)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : -1;
    if (s == NULL || s[0] == '\0' || *end != '\0' || errno != 0 || v < 0 || v > 65535) {
        snprintf(err, errcap, "'%s' is not a file descriptor number (monitor fd names are not "
                 "supported)", s ? s : "");
        return VK_EINVAL;
    }
    int fd = (int)v, got;
    socklen_t len = sizeof got;
    if (fcntl(fd, F_GETFD) < 0) {
        snprintf(err, errcap, "descriptor %d is not open", fd);
        return VK_EINVAL;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &got, &len) < 0) {
        snprintf(err, errcap, "descriptor %d is not a socket", fd);
        return VK_EINVAL;
    }
    if (type != 0 && got != type) {
        snprintf(err, errcap, "descriptor %d is not a %s socket", fd,
                 type == SOCK_STREAM ? "stream" : "datagram");
        return VK_EINVAL;
    }
    *fd_out = fd;
    if (type_out != NULL)
        *type_out = got;
    return VK_OK;
}

int vk_sock_prepare(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    return 0;
}

static void unlink_stale_socket(const vk_saddr *a)
{
    const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->ss;
    struct stat st;
    if (a->ss.ss_family != AF_UNIX || sun->sun_path[0] == '\0')
        return;
    if (stat(sun->sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(sun->sun_path);
}

int vk_sock_listen(const vk_saddr *a)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    if (a->ss.ss_family != AF_UNIX)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    unlink_stale_socket(a);
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int vk_sock_dgram_bind(const vk_saddr *a)
{
    int fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    unlink_stale_socket(a);
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int mcast_fail(int fd, char *err, size_t errcap, const char *what)
{
    snprintf(err, errcap, "%s: %s", what, strerror(errno));
    close(fd);
    return VK_EIO;
}

int vk_sock_mcast(const vk_saddr *group, const char *localaddr, char *err, size_t errcap)
{
    if (group->ss.ss_family != AF_INET || !vk_saddr_is_multicast(group)) {
        snprintf(err, errcap, "%s is not an IPv4 multicast address", group->text);
        return VK_EINVAL;
    }
    struct in_addr local = {.s_addr = htonl(INADDR_ANY)};
    if (localaddr != NULL && inet_pton(AF_INET, localaddr, &local) != 1) {
        snprintf(err, errcap, "localaddr '%s' is not an IPv4 address", localaddr);
        return VK_EINVAL;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return mcast_fail(-1, err, errcap, "socket");
    int one = 1;
    unsigned char loop = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        return mcast_fail(fd, err, errcap, "SO_REUSEADDR");
    if (bind(fd, (const struct sockaddr *)&group->ss, group->len) < 0)
        return mcast_fail(fd, err, errcap, "bind");
    struct ip_mreq mreq = {
        .imr_multiaddr = ((const struct sockaddr_in *)&group->ss)->sin_addr,
        .imr_interface = local,
    };
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) < 0)
        return mcast_fail(fd, err, errcap, "IP_ADD_MEMBERSHIP");
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) < 0)
        return mcast_fail(fd, err, errcap, "IP_MULTICAST_LOOP");
    if (localaddr != NULL &&
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &local, sizeof local) < 0)
        return mcast_fail(fd, err, errcap, "IP_MULTICAST_IF");
    return fd;
}
