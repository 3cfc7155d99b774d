/*
 * Socket addresses and sockets for the socket, stream and dgram backends:
 * QEMU's address spellings ("host:port", "[v6]:port", ":port", a Unix path,
 * an abstract name, an inherited descriptor number) turned into a
 * sockaddr, and the few socket set-ups they share (non-blocking, close on
 * exec).  Messages go into a caller's buffer so the backend can prefix the
 * option and key.
 */
#ifndef VK_BACKENDS_SOCKADDR_H
#define VK_BACKENDS_SOCKADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

typedef struct vk_saddr {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[160]; /* "inet:127.0.0.1:5555", "unix:/tmp/s", "unix:@name" */
} vk_saddr;

/* host and port as given; host "" means any address when passive, and
 * loopback never (an empty host cannot be connected to).  VK_EINVAL with
 * a message in err. */
int vk_saddr_inet(const char *host, const char *port, bool passive, vk_saddr *out, char *err,
                  size_t errcap);
/* "host:port", "[v6addr]:port" or ":port" (QEMU's parse_host_port). */
int vk_saddr_hostport(const char *s, bool passive, vk_saddr *out, char *err, size_t errcap);
/* A Unix socket path; abstract names live in Linux's abstract namespace,
 * tight (QEMU's default) gives them their exact length. */
int vk_saddr_unix(const char *path, bool abstract, bool tight, vk_saddr *out, char *err,
                  size_t errcap);
bool vk_saddr_is_multicast(const vk_saddr *a);

/* A descriptor number given as text, open and a socket of `type`
 * (SOCK_STREAM/SOCK_DGRAM; 0: any, its type in *type_out).  VK_EINVAL. */
int vk_sock_parse_fd(const char *s, int type, int *fd_out, int *type_out, char *err,
                     size_t errcap);
/* Makes fd non-blocking and close-on-exec. */
int vk_sock_prepare(int fd);
/* A bound, listening, non-blocking stream socket on a; removes a stale
 * Unix socket file first, as QEMU does.  Returns the fd or -errno. */
int vk_sock_listen(const vk_saddr *a);
/* A non-blocking datagram socket bound to a (stale Unix socket file
 * removed first).  Returns the fd or -errno. */
int vk_sock_dgram_bind(const vk_saddr *a);
/* QEMU's multicast socket (net_socket_mcast_create): bound to the group's
 * address and port with SO_REUSEADDR, member of the group on the interface of
 * localaddr (NULL: any), IP_MULTICAST_LOOP on so every process on the host
 * in the group hears every other, IP_MULTICAST_IF localaddr.  IPv4 only.
 * Returns the fd, or VK_EINVAL/VK_EIO with a message in err. */
int vk_sock_mcast(const vk_saddr *group, const char *localaddr, char *err, size_t errcap);

#endif
