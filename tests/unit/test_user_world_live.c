/*
 * The live world (backends/user/world_live.c) on loopback: real sockets, the
 * live loop, events only from the loop.  When it can (root), the program
 * first moves into a private network namespace with only `lo` up, so that it
 * touches nothing of the host and may allow ping sockets there
 * (net.ipv4.ping_group_range is per namespace); otherwise it uses the
 * host's loopback and the ping test is skipped with its reason.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/user/world_live.h"
#include "core/loop.h"

static bool private_netns;
static bool ping_allowed;

/* ---- a recorder of events ---- */

typedef struct rec {
    vk_loop *loop;
    vk_world *w;
    int connected_status;
    int nconnected, nreadable, nwritable, naccepted;
    vk_wsock *accepted;
    vk_waddr peer;
    bool stop_on_readable, stop_on_connected, stop_on_accepted;
} rec;

static void on_connected(void *ctx, vk_wsock *s, int status, uint64_t now)
{
    (void)s, (void)now;
    rec *r = ctx;
    r->nconnected++;
    r->connected_status = status;
    if (r->stop_on_connected)
        vk_loop_stop(r->loop, VK_OK);
}

static void on_readable(void *ctx, vk_wsock *s, uint64_t now)
{
    (void)s, (void)now;
    rec *r = ctx;
    r->nreadable++;
    if (r->stop_on_readable)
        vk_loop_stop(r->loop, VK_OK);
}

static void on_writable(void *ctx, vk_wsock *s, uint64_t now)
{
    (void)s, (void)now;
    rec *r = ctx;
    r->nwritable++;
}

static const vk_wsock_events rec_events;

static void on_accepted(void *ctx, vk_wsock *l, vk_wsock *c, const vk_waddr *peer, uint64_t now)
{
    (void)l, (void)now;
    rec *r = ctx;
    r->naccepted++;
    r->accepted = c;
    r->peer = *peer;
    c->ev = &rec_events;
    c->ctx = r;
    if (r->stop_on_accepted)
        vk_loop_stop(r->loop, VK_OK);
}

static const vk_wsock_events rec_events = {.connected = on_connected, .readable = on_readable,
                                           .writable = on_writable, .accepted = on_accepted};

static void rec_open(rec *r)
{
    memset(r, 0, sizeof *r);
    r->loop = vk_loop_new(VK_CLOCK_LIVE);
    vk_diag d = {{0}};
    assert_int_equal(vk_world_live_new(r->loop, NULL, &r->w, &d), VK_OK);
}

static void rec_close(rec *r)
{
    assert_int_equal(vk_world_live_stats_of(r->w)->open_sockets, 0);
    r->w->ops->free(r->w);
    vk_loop_free(r->loop);
}

/* Runs the loop until a callback stops it, at most 5 s. */
static void run(rec *r)
{
    vk_loop_run(r->loop, vk_loop_now(r->loop) + 5 * VK_NS_PER_SEC);
}

static uint64_t now_of(rec *r)
{
    return vk_loop_now(r->loop);
}

static vk_waddr lo4(uint16_t port)
{
    vk_waddr a = {.family = 4, .ip4 = {{127, 0, 0, 1}}, .port = port};
    return a;
}

/* A port nobody listens on: bound, read, closed. */
static uint16_t free_port(int type)
{
    int fd = socket(AF_INET, type, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t sl = sizeof sin;
    getsockname(fd, (struct sockaddr *)&sin, &sl);
    close(fd);
    return ntohs(sin.sin_port);
}

/* A UDP echo server in a child process; returns its port. */
static uint16_t udp_echo_server(pid_t *pid)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t sl = sizeof sin;
    getsockname(fd, (struct sockaddr *)&sin, &sl);
    *pid = fork();
    assert_true(*pid >= 0);
    if (*pid == 0) {
        alarm(10);
        for (;;) {
            char buf[2048];
            struct sockaddr_in from;
            socklen_t fl = sizeof from;
            ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
            if (n > 0)
                sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
        }
    }
    close(fd);
    return ntohs(sin.sin_port);
}

/* ---- tests ---- */

static void test_live_world_refuses_the_virtual_clock(void **state)
{
    (void)state;
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    vk_world *w = NULL;
    vk_diag d = {{0}};
    assert_int_equal(vk_world_live_new(loop, NULL, &w, &d), VK_EUNSUPP);
    assert_null(w);
    assert_non_null(strstr(d.msg, "live clock"));
    vk_loop_free(loop);
}

static void test_udp_echo_through_a_live_socket(void **state)
{
    (void)state;
    pid_t pid;
    uint16_t port = udp_echo_server(&pid);
    rec r;
    rec_open(&r);
    vk_world_flow flow = {.family = 4, .proto = 17};
    vk_wsock *s;
    assert_int_equal(r.w->ops->udp_open(r.w, &flow, NULL, &rec_events, &r, &s, now_of(&r)),
                     VK_OK);
    vk_waddr dst = lo4(port);
    assert_int_equal(r.w->ops->sendto(r.w, s, &dst, (const uint8_t *)"echo me", 7, 63,
                                      now_of(&r)),
                     VK_OK);
    assert_int_equal(r.nreadable, 0); /* never from inside an operation */
    r.stop_on_readable = true;
    run(&r);
    assert_int_equal(r.nreadable, 1);
    uint8_t buf[64];
    vk_waddr from;
    long n = r.w->ops->recvfrom(r.w, s, buf, sizeof buf, &from, now_of(&r));
    assert_int_equal(n, 7);
    assert_memory_equal(buf, "echo me", 7);
    assert_int_equal(from.family, 4);
    assert_int_equal(from.port, port);
    assert_int_equal(from.ip4.b[0], 127);
    assert_int_equal(r.w->ops->recvfrom(r.w, s, buf, sizeof buf, &from, now_of(&r)), VK_EAGAIN);
    r.w->ops->close(r.w, s, false, now_of(&r));
    rec_close(&r);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void test_udp_to_a_closed_port_reads_back_port_unreachable(void **state)
{
    (void)state;
    rec r;
    rec_open(&r);
    vk_world_flow flow = {.family = 4, .proto = 17};
    vk_wsock *s;
    assert_int_equal(r.w->ops->udp_open(r.w, &flow, NULL, &rec_events, &r, &s, now_of(&r)),
                     VK_OK);
    vk_waddr dst = lo4(free_port(SOCK_DGRAM));
    assert_int_equal(r.w->ops->sendto(r.w, s, &dst, (const uint8_t *)"x", 1, 0, now_of(&r)),
                     VK_OK);
    r.stop_on_readable = true;
    run(&r);
    uint8_t buf[16];
    vk_waddr from;
    assert_int_equal(r.w->ops->recvfrom(r.w, s, buf, sizeof buf, &from, now_of(&r)),
                     VK_EPORTUNREACH);
    assert_int_equal(from.family, 4); /* the offender: loopback */
    assert_int_equal(vk_world_live_stats_of(r.w)->icmp_errors, 1);
    r.w->ops->close(r.w, s, false, now_of(&r));
    rec_close(&r);
}

static void test_tcp_connect_to_a_closed_port_is_refused_from_the_loop(void **state)
{
    (void)state;
    rec r;
    rec_open(&r);
    vk_world_flow flow = {.family = 4, .proto = 6};
    vk_waddr dst = lo4(free_port(SOCK_STREAM));
    vk_wsock *s = NULL;
    int rc = r.w->ops->tcp_connect(r.w, &flow, &dst, &rec_events, &r, &s, now_of(&r));
    if (rc == VK_ECONNREFUSED) {
        assert_null(s); /* known at once: allowed by the contract */
    } else {
        assert_int_equal(rc, VK_OK);
        assert_int_equal(r.nconnected, 0);
        r.stop_on_connected = true;
        run(&r);
        assert_int_equal(r.nconnected, 1);
        assert_int_equal(r.connected_status, VK_ECONNREFUSED);
        r.w->ops->close(r.w, s, false, now_of(&r));
    }
    rec_close(&r);
}

static void test_tcp_listen_accept_connect_send_recv_and_reset(void **state)
{
    (void)state;
    rec r;
    rec_open(&r);
    vk_waddr local = lo4(free_port(SOCK_STREAM));
    vk_wsock *l;
    assert_int_equal(r.w->ops->tcp_listen(r.w, &local, &rec_events, &r, &l, now_of(&r)), VK_OK);
    vk_world_flow flow = {.family = 4, .proto = 6};
    vk_wsock *c;
    assert_int_equal(r.w->ops->tcp_connect(r.w, &flow, &local, &rec_events, &r, &c, now_of(&r)),
                     VK_OK);
    while (r.nconnected == 0 || r.naccepted == 0) {
        r.stop_on_connected = r.stop_on_accepted = true;
        run(&r);
    }
    r.stop_on_connected = r.stop_on_accepted = false;
    assert_int_equal(r.connected_status, VK_OK);
    assert_int_equal(r.peer.family, 4);
    assert_int_equal(r.peer.ip4.b[0], 127);
    vk_wsock *a = r.accepted;
    assert_int_equal(r.w->ops->send(r.w, c, (const uint8_t *)"abc", 3, now_of(&r)), 3);
    r.stop_on_readable = true;
    run(&r);
    uint8_t buf[16];
    assert_int_equal(r.w->ops->recv(r.w, a, buf, sizeof buf, now_of(&r)), 3);
    assert_memory_equal(buf, "abc", 3);
    assert_int_equal(r.w->ops->recv(r.w, a, buf, sizeof buf, now_of(&r)), VK_EAGAIN);
    /* the guest's FIN: EOF on the other side */
    assert_int_equal(r.w->ops->shutdown_write(r.w, c, now_of(&r)), VK_OK);
    run(&r);
    assert_int_equal(r.w->ops->recv(r.w, a, buf, sizeof buf, now_of(&r)), 0);
    /* abort: the peer sees a reset */
    r.w->ops->close(r.w, a, true, now_of(&r));
    run(&r);
    assert_int_equal(r.w->ops->recv(r.w, c, buf, sizeof buf, now_of(&r)), VK_ECONNRESET);
    r.w->ops->close(r.w, c, false, now_of(&r));
    r.w->ops->close(r.w, l, false, now_of(&r));
    assert_int_equal(vk_world_live_stats_of(r.w)->accepted, 1);
    rec_close(&r);
}

static void test_cmd_stream_runs_the_command_per_connection(void **state)
{
    (void)state;
    rec r;
    rec_open(&r);
    vk_wsock *s;
    assert_int_equal(
        r.w->ops->stream_open(r.w, NULL, "cmd:cat", &rec_events, &r, &s, now_of(&r)), VK_OK);
    assert_int_equal(r.w->ops->send(r.w, s, (const uint8_t *)"hello\n", 6, now_of(&r)), 6);
    uint8_t buf[64];
    size_t got = 0;
    r.stop_on_readable = true;
    while (got < 6) {
        run(&r);
        long n;
        while ((n = r.w->ops->recv(r.w, s, buf + got, sizeof buf - got, now_of(&r))) > 0)
            got += (size_t)n;
        assert_true(n == VK_EAGAIN || n == 0);
    }
    assert_memory_equal(buf, "hello\n", 6);
    assert_int_equal(r.w->ops->shutdown_write(r.w, s, now_of(&r)), VK_OK);
    long n;
    do {
        run(&r);
        n = r.w->ops->recv(r.w, s, buf, sizeof buf, now_of(&r));
    } while (n == VK_EAGAIN);
    assert_int_equal(n, 0); /* cat saw EOF and exited */
    r.w->ops->close(r.w, s, false, now_of(&r));
    assert_int_equal(
        r.w->ops->stream_open(r.w, NULL, "bogus:x", &rec_events, &r, &s, now_of(&r)), VK_EINVAL);
    assert_int_equal(r.w->ops->stream_open(r.w, NULL, "unix:/nonexistent/sock", &rec_events, &r,
                                           &s, now_of(&r)),
                     VK_ENOENT);
    rec_close(&r);
}

static void test_dns_server_is_the_first_nameserver_reread_after_a_second(void **state)
{
    (void)state;
    char path[] = "/tmp/vk-resolv-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *one = "# comment\nsearch example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n"
                      "nameserver fe80::1%lo\n";
    assert_int_equal(write(fd, one, strlen(one)), (ssize_t)strlen(one));
    close(fd);
    vk_loop *loop = vk_loop_new(VK_CLOCK_LIVE);
    vk_world *w;
    vk_diag d = {{0}};
    assert_int_equal(vk_world_live_new(loop, path, &w, &d), VK_OK);
    vk_waddr a;
    uint64_t t = 5 * VK_NS_PER_SEC;
    assert_int_equal(w->ops->dns_server(w, 4, &a, t), VK_OK);
    assert_int_equal(a.family, 4);
    assert_int_equal(a.ip4.b[3], 53);
    assert_int_equal(a.port, 53);
    assert_int_equal(w->ops->dns_server(w, 6, &a, t), VK_OK);
    assert_int_equal(a.family, 6);
    assert_int_equal(a.ip6.b[0], 0xfe);
    /* a new file: seen only once a second has passed */
    FILE *f = fopen(path, "w");
    fputs("nameserver 198.51.100.1\n", f);
    fclose(f);
    assert_int_equal(w->ops->dns_server(w, 4, &a, t + VK_NS_PER_SEC / 2), VK_OK);
    assert_int_equal(a.ip4.b[0], 192);
    assert_int_equal(w->ops->dns_server(w, 4, &a, t + 2 * VK_NS_PER_SEC), VK_OK);
    assert_int_equal(a.ip4.b[0], 198);
    assert_int_equal(w->ops->dns_server(w, 6, &a, t + 2 * VK_NS_PER_SEC), VK_ENOENT);
    unlink(path);
    assert_int_equal(w->ops->dns_server(w, 4, &a, t + 4 * VK_NS_PER_SEC), VK_ENOENT);
    w->ops->free(w);
    vk_loop_free(loop);
}

static void test_ping_socket_echo_on_loopback(void **state)
{
    (void)state;
    if (!ping_allowed)
        skip();
    rec r;
    rec_open(&r);
    vk_world_flow flow = {.family = 4, .proto = 1, .src_port = 0x77};
    vk_wsock *s;
    assert_int_equal(r.w->ops->ping_open(r.w, &flow, &rec_events, &r, &s, now_of(&r)), VK_OK);
    /* type 8, code 0, checksum left to the kernel, id, seq 1, data */
    uint8_t req[12] = {8, 0, 0, 0, 0, 0x77, 0, 1, 'p', 'i', 'n', 'g'};
    vk_waddr dst = lo4(0);
    assert_int_equal(r.w->ops->sendto(r.w, s, &dst, req, sizeof req, 0, now_of(&r)), VK_OK);
    r.stop_on_readable = true;
    run(&r);
    uint8_t buf[64];
    vk_waddr from;
    long n = r.w->ops->recvfrom(r.w, s, buf, sizeof buf, &from, now_of(&r));
    assert_int_equal(n, 12);
    assert_int_equal(buf[0], 0); /* echo reply */
    assert_memory_equal(buf + 8, "ping", 4);
    r.w->ops->close(r.w, s, false, now_of(&r));
    rec_close(&r);
}

static void test_descriptor_exhaustion_is_an_error_not_a_crash(void **state)
{
    (void)state;
    rec r;
    rec_open(&r);
    struct rlimit old;
    getrlimit(RLIMIT_NOFILE, &old);
    /* use up every descriptor below a small limit */
    struct rlimit lim = {.rlim_cur = 64, .rlim_max = old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
    int fds[64], nfds = 0;
    while (nfds < 64 && (fds[nfds] = dup(0)) >= 0)
        nfds++;
    vk_world_flow flow = {.family = 4, .proto = 17};
    vk_wsock *s;
    assert_int_equal(r.w->ops->udp_open(r.w, &flow, NULL, &rec_events, &r, &s, now_of(&r)),
                     VK_EFULL);
    assert_int_equal(vk_world_live_stats_of(r.w)->fd_exhausted, 1);
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    setrlimit(RLIMIT_NOFILE, &old);
    assert_int_equal(r.w->ops->udp_open(r.w, &flow, NULL, &rec_events, &r, &s, now_of(&r)),
                     VK_OK);
    r.w->ops->close(r.w, s, false, now_of(&r));
    rec_close(&r);
}

/* Private network namespace with lo up and ping sockets allowed, if we may. */
static void isolate(void)
{
    if (unshare(CLONE_NEWNET) != 0) {
        printf("# host loopback (no private namespace: %s); ping test skipped\n",
               strerror(errno));
        return;
    }
    private_netns = true;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP;
        ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    if (fd >= 0)
        close(fd);
    FILE *f = fopen("/proc/sys/net/ipv4/ping_group_range", "w");
    if (f != NULL) {
        fputs("0 2147483647\n", f);
        ping_allowed = fclose(f) == 0;
    }
    if (!ping_allowed)
        printf("# ping_group_range not writable: ping test skipped\n");
}

int main(void)
{
    isolate();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_world_refuses_the_virtual_clock),
        cmocka_unit_test(test_udp_echo_through_a_live_socket),
        cmocka_unit_test(test_udp_to_a_closed_port_reads_back_port_unreachable),
        cmocka_unit_test(test_tcp_connect_to_a_closed_port_is_refused_from_the_loop),
        cmocka_unit_test(test_tcp_listen_accept_connect_send_recv_and_reset),
        cmocka_unit_test(test_cmd_stream_runs_the_command_per_connection),
        cmocka_unit_test(test_dns_server_is_the_first_nameserver_reread_after_a_second),
        cmocka_unit_test(test_ping_socket_echo_on_loopback),
        cmocka_unit_test(test_descriptor_exhaustion_is_an_error_not_a_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
