/*
 * vkguest: the socket helper of vnetkit's test guest (scripts/mkguest.sh
 * builds it statically into the initramfs). busybox covers DHCP, ping, TFTP
 * and HTTP, but has no UDP client or server, no DNS over TCP and no way to
 * tell a refused connection from a silent one; this program does exactly
 * those, with numeric addresses only (inet_pton, no resolver, so a static glibc
 * link needs nothing at run time), and prints one result line per action for the serial console:
 *
 *   vkguest udp HOST PORT MESSAGE TIMEOUT_S    send one datagram, print the reply
 *   vkguest udpecho PORT COUNT                 answer COUNT datagrams with "guest-echo:" + payload
 *   vkguest tcp HOST PORT MESSAGE TIMEOUT_S    connect, send, half-close, read to EOF
 *   vkguest dnstcp SERVER NAME TIMEOUT_S       one A query over TCP (RFC 1035 4.2.2 length prefix)
 *
 * Exit status 0 on success, 1 on a network outcome other than success
 * (refused, timeout, unreachable: named on the result line), 2 on usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { REPLY_MAX = 65536 };

static int resolve(const char *host, const char *port, struct sockaddr_storage *ss,
                   socklen_t *len)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    char *end;
    long p = strtol(port, &end, 10);
    memset(ss, 0, sizeof *ss);
    if (*port == '\0' || *end != '\0' || p < 0 || p > 65535) {
        printf("VKG bad port %s\n", port);
        return -1;
    }
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)p);
        *len = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)p);
        *len = sizeof *v6;
        return 0;
    }
    printf("VKG bad address %s\n", host);
    return -1;
}

static const char *outcome(int err)
{
    switch (err) {
    case ECONNREFUSED: return "refused";
    case ETIMEDOUT: return "timeout";
    case ENETUNREACH: return "net-unreachable";
    case EHOSTUNREACH: return "host-unreachable";
    case ECONNRESET: return "reset";
    default: return strerror(err);
    }
}

/* Waits for EVENTS on FD for at most TIMEOUT_S seconds: 1 ready, 0 timeout. */
static int wait_fd(int fd, short events, int timeout_s)
{
    struct pollfd p = { .fd = fd, .events = events };
    int r = poll(&p, 1, timeout_s * 1000);
    return r > 0 ? 1 : 0;
}

static void print_printable(const char *tag, const unsigned char *b, size_t n)
{
    printf("%s %zu bytes: ", tag, n);
    for (size_t i = 0; i < n && i < 80; i++)
        putchar(b[i] >= 0x20 && b[i] < 0x7f ? b[i] : '.');
    putchar('\n');
}

static int cmd_udp(char **av)
{
    struct sockaddr_storage ss;
    socklen_t len;
    static unsigned char buf[REPLY_MAX];
    if (resolve(av[0], av[1], &ss, &len) < 0)
        return 2;
    int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
    /* Connected, so that an ICMP unreachable answer is reported as an error. */
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0 ||
        send(fd, av[2], strlen(av[2]), 0) < 0) {
        printf("VKG udp send: %s\n", outcome(errno));
        return 1;
    }
    if (!wait_fd(fd, POLLIN, atoi(av[3]))) {
        printf("VKG udp: timeout\n");
        return 1;
    }
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
        printf("VKG udp recv: %s\n", outcome(errno));
        return 1;
    }
    print_printable("VKG udp reply", buf, (size_t)n);
    return 0;
}

static int cmd_udpecho(char **av)
{
    static unsigned char buf[REPLY_MAX];
    static const char prefix[] = "guest-echo:";
    struct sockaddr_in6 me = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
    me.sin6_port = htons((uint16_t)atoi(av[0]));
    int count = atoi(av[1]);
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    int off = 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof me) < 0) {
        printf("VKG udpecho bind: %s\n", strerror(errno));
        return 1;
    }
    printf("VKG udpecho listening on %s\n", av[0]);
    fflush(stdout);
    for (int i = 0; i < count; i++) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        memcpy(buf, prefix, sizeof prefix - 1);
        ssize_t n = recvfrom(fd, buf + sizeof prefix - 1, sizeof buf - sizeof prefix, 0,
                             (struct sockaddr *)&from, &flen);
        if (n < 0)
            return 1;
        sendto(fd, buf, (size_t)n + sizeof prefix - 1, 0, (struct sockaddr *)&from, flen);
        print_printable("VKG udpecho got", buf + sizeof prefix - 1, (size_t)n);
        fflush(stdout);
    }
    return 0;
}

/* Non-blocking connect bounded by TIMEOUT_S; returns the fd or -1 (result printed). */
static int connect_bounded(const char *host, const char *port, int timeout_s)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (resolve(host, port, &ss, &len) < 0)
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    fcntl(fd, F_SETFL, O_NONBLOCK);
    int err = 0;
    if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
        if (errno != EINPROGRESS)
            err = errno;
        else if (!wait_fd(fd, POLLOUT, timeout_s))
            err = ETIMEDOUT;
        else {
            socklen_t el = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
        }
    }
    if (err != 0) {
        printf("VKG tcp %s port %s: %s\n", host, port, outcome(err));
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, 0);
    printf("VKG tcp %s port %s: connected\n", host, port);
    return fd;
}

static int send_all(int fd, const unsigned char *b, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads until EOF or TIMEOUT_S of silence into BUF; returns the byte count or -1. */
static ssize_t read_to_eof(int fd, unsigned char *buf, size_t cap, int timeout_s)
{
    size_t have = 0;
    for (;;) {
        if (!wait_fd(fd, POLLIN, timeout_s))
            return -1;
        unsigned char sink[4096];
        unsigned char *dst = have < cap ? buf + have : sink;
        size_t room = have < cap ? cap - have : sizeof sink;
        ssize_t n = recv(fd, dst, room, 0);
        if (n < 0)
            return -1;
        if (n == 0)
            return (ssize_t)have;
        have += (size_t)n;
    }
}

static int cmd_tcp(char **av)
{
    static unsigned char buf[REPLY_MAX];
    int timeout_s = atoi(av[3]);
    int fd = connect_bounded(av[0], av[1], timeout_s);
    if (fd < 0)
        return 1;
    if (send_all(fd, (const unsigned char *)av[2], strlen(av[2])) < 0) {
        printf("VKG tcp send: %s\n", outcome(errno));
        return 1;
    }
    shutdown(fd, SHUT_WR);
    ssize_t n = read_to_eof(fd, buf, sizeof buf, timeout_s);
    if (n < 0) {
        printf("VKG tcp read: %s\n", errno ? outcome(errno) : "timeout");
        return 1;
    }
    print_printable("VKG tcp reply", buf, (size_t)n);
    close(fd);
    return 0;
}

/* Builds a DNS A query for NAME after a 2-byte length prefix; returns the total length or 0. */
static size_t dns_query(const char *name, unsigned char *q, size_t cap)
{
    size_t at = 2 + 12;
    static const unsigned char hdr[12] = { 0x4b, 0x56, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
    if (cap < at + strlen(name) + 2 + 4)
        return 0;
    memcpy(q + 2, hdr, sizeof hdr);
    for (const char *p = name; *p;) {
        size_t l = strcspn(p, ".");
        if (l == 0 || l > 63)
            return 0;
        q[at++] = (unsigned char)l;
        memcpy(q + at, p, l);
        at += l;
        p += l;
        if (*p == '.')
            p++;
    }
    q[at++] = 0;
    q[at++] = 0, q[at++] = 1; /* QTYPE A */
    q[at++] = 0, q[at++] = 1; /* QCLASS IN */
    q[0] = (unsigned char)((at - 2) >> 8);
    q[1] = (unsigned char)(at - 2);
    return at;
}

/* Skips a (possibly compressed) name at OFF; returns the offset after it or 0. */
static size_t dns_skip_name(const unsigned char *m, size_t len, size_t off)
{
    while (off < len) {
        if ((m[off] & 0xc0) == 0xc0)
            return off + 2 <= len ? off + 2 : 0;
        if (m[off] == 0)
            return off + 1;
        off += (size_t)m[off] + 1;
    }
    return 0;
}

static void dns_print_answer(const unsigned char *m, size_t len)
{
    if (len < 12) {
        printf("VKG dnstcp: short answer (%zu bytes)\n", len);
        return;
    }
    unsigned an = (unsigned)(m[6] << 8 | m[7]);
    printf("VKG dnstcp rcode %u answers %u\n", m[3] & 15u, an);
    size_t off = dns_skip_name(m, len, 12);
    off = off && off + 4 <= len ? off + 4 : 0;
    for (unsigned i = 0; i < an && off; i++) {
        off = dns_skip_name(m, len, off);
        if (!off || off + 10 > len)
            return;
        unsigned type = (unsigned)(m[off] << 8 | m[off + 1]);
        size_t rdlen = (size_t)(m[off + 8] << 8 | m[off + 9]);
        off += 10;
        if (off + rdlen > len)
            return;
        if (type == 1 && rdlen == 4)
            printf("VKG dnstcp A %u.%u.%u.%u\n", m[off], m[off + 1], m[off + 2], m[off + 3]);
        off += rdlen;
    }
}

static int cmd_dnstcp(char **av)
{
    static unsigned char q[300], buf[REPLY_MAX];
    int timeout_s = atoi(av[2]);
    size_t qlen = dns_query(av[1], q, sizeof q);
    if (qlen == 0) {
        printf("VKG dnstcp: bad name %s\n", av[1]);
        return 2;
    }
    int fd = connect_bounded(av[0], "53", timeout_s);
    if (fd < 0)
        return 1;
    if (send_all(fd, q, qlen) < 0)
        return 1;
    /* One answer: read until the length prefix is satisfied or EOF. */
    size_t have = 0;
    while (have < 2 || have < 2 + (size_t)(buf[0] << 8 | buf[1])) {
        if (!wait_fd(fd, POLLIN, timeout_s)) {
            printf("VKG dnstcp: timeout\n");
            return 1;
        }
        ssize_t n = recv(fd, buf + have, sizeof buf - have, 0);
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    close(fd);
    if (have < 2) {
        printf("VKG dnstcp: no answer\n");
        return 1;
    }
    size_t mlen = (size_t)(buf[0] << 8 | buf[1]);
    dns_print_answer(buf + 2, have - 2 < mlen ? have - 2 : mlen);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 6 && strcmp(argv[1], "udp") == 0)
        return cmd_udp(argv + 2);
    if (argc == 4 && strcmp(argv[1], "udpecho") == 0)
        return cmd_udpecho(argv + 2);
    if (argc == 6 && strcmp(argv[1], "tcp") == 0)
        return cmd_tcp(argv + 2);
    if (argc == 5 && strcmp(argv[1], "dnstcp") == 0)
        return cmd_dnstcp(argv + 2);
    fprintf(stderr, "usage: vkguest udp|udpecho|tcp|dnstcp ... (see the source's top comment)\n");
    return 2;
}
