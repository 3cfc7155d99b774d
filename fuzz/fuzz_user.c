/*
 * Fuzz target: the user-mode stack (-netdev user, backends/user/) fed a
 * sequence of guest frames on the virtual clock: ARP, DHCP, ICMP echo, TFTP
 * (a scratch directory with a few files), IPv6 RS/NS/echo, IPv4 fragments,
 * restrict=on, and whatever else the bytes say.  The stack's outside world
 * is the one on main (it drops NAT traffic with a counted reason), so no
 * socket is ever opened.
 *
 * Invariants, on every frame the stack sends: at least an Ethernet header,
 * no more than the 1500-byte MTU, IPv4/IPv6 headers that parse, the IPv4
 * header checksum and every TCP/UDP/ICMP/ICMPv6 checksum right; no more than
 * VK_FUZZ_USER_BUDGET frames in answer to one guest frame (timers included).
 *
 * Input: byte 0 picks one of the configurations below; then records of
 *   u8 dt, u16be len, len bytes
 * where dt advances the clock by dt * 50 ms before the frame is sent.  At
 * the end the clock moves on 10 minutes so every timer (TFTP retransmits,
 * ARP holds, fragment timeouts, router advertisements) fires.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backends/user/user.h"
#include "core/error.h"
#include "core/frame.h"
#include "core/loop.h"
#include "core/net.h"
#include "core/options.h"
#include "core/port.h"
#include "fuzz/fuzz.h"
#include "wire/buf.h"

#define VK_FUZZ_USER_MTU 1500
#define VK_FUZZ_USER_BUDGET 256
#define VK_FUZZ_USER_STEP_NS (50ull * 1000 * 1000)
#define VK_FUZZ_USER_TAIL_NS (600ull * 1000 * 1000 * 1000)

typedef struct sink {
    size_t frames; /* sent by the stack since the last reset */
    size_t total;
} sink;

static int sink_receive(vk_port *self, vk_frame *f)
{
    sink *s = *(sink **)self->priv;
    vk_fuzz_check_frame("user stack", f->data, f->len, VK_FUZZ_USER_MTU, true);
    s->frames++;
    s->total++;
    return VK_OK;
}

static const vk_port_ops sink_ops = {.kind = "fuzz", .receive = sink_receive};

static void tick(void *arg, uint64_t now)
{
    (void)arg, (void)now;
}

static void write_file(const char *dir, const char *name, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    vk_fuzz_check(f != NULL, "cannot create a TFTP file");
    for (size_t i = 0; i < len; i++)
        fputc((int)(i * 7 + 3) & 0xff, f);
    fclose(f);
}

/* The TFTP directory: an empty file, one of exactly one 512-byte block, a
 * few blocks, and one in a subdirectory. */
static const char *tftp_dir(void)
{
    static char dir[300];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s", vk_fuzz_scratch_dir());
        write_file(dir, "empty", 0);
        write_file(dir, "block", 512);
        write_file(dir, "boot.bin", 3000);
        char sub[400];
        snprintf(sub, sizeof sub, "%s/sub", dir);
        mkdir(sub, 0755);
        write_file(dir, "sub/f", 700);
    }
    return dir;
}

static const char *const configs[] = {
    "user,id=u,bootfile=boot.bin,hostname=guest,domainname=example.org,"
    "dnssearch=a.example.org,dnssearch=b.example",
    "user,id=u,restrict=on",
    "user,id=u,net=192.168.76.0/24,dhcpstart=192.168.76.9,ipv6-net=fd00:1::/64,"
    "tftp-server-name=srv",
    "user,id=u,ipv6=off",
};
#define NCONFIGS (sizeof configs / sizeof configs[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char opts_text[512];
    snprintf(opts_text, sizeof opts_text, "%s,tftp=%s", configs[data[0] % NCONFIGS], tftp_dir());

    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    vk_net *net = vk_net_new(loop);
    vk_timer *t = vk_timer_new(loop, tick, NULL);
    vk_fuzz_check(loop && net && t, "out of memory");
    vk_opts o;
    vk_diag d = {{0}};
    if (vk_opts_parse("-netdev", "type", opts_text, &o, &d) != VK_OK)
        vk_fuzz_fail("configuration: %s", d.msg);
    vk_opts_mark_used(&o, "type");
    vk_opts_mark_used(&o, "id");
    vk_port *user = NULL, *guest = NULL;
    if (vk_netdev_user.create(net, "u", &o, &user, &d) != VK_OK ||
        vk_opts_check_unused(&o, &d) != VK_OK)
        vk_fuzz_fail("configuration: %s", d.msg);
    vk_opts_free(&o);
    sink s = {0};
    if (vk_port_new(net, &sink_ops, "guest", "fuzz", sizeof(sink *), &guest, &d) != VK_OK)
        vk_fuzz_fail("guest port: %s", d.msg);
    *(sink **)guest->priv = &s;
    if (vk_net_connect(user, guest, &d) != VK_OK || vk_net_start(net, &d) != VK_OK)
        vk_fuzz_fail("start: %s", d.msg);

    vk_rd r;
    vk_rd_init(&r, data + 1, size - 1);
    uint64_t now = 0;
    while (vk_rd_left(&r) >= 3) {
        uint8_t dt = vk_rd_u8(&r);
        size_t len = vk_rd_u16be(&r);
        if (len > vk_rd_left(&r))
            len = vk_rd_left(&r);
        const uint8_t *frame = vk_rd_take(&r, len);
        if (frame == NULL)
            break;
        s.frames = 0;
        now += dt * VK_FUZZ_USER_STEP_NS;
        vk_timer_arm(t, now);
        vk_loop_run(loop, now);
        vk_port_send_bytes(guest, frame, len);
        vk_fuzz_check(s.frames <= VK_FUZZ_USER_BUDGET, "too many answers to one frame");
    }
    s.frames = 0;
    now += VK_FUZZ_USER_TAIL_NS;
    vk_timer_arm(t, now);
    vk_loop_run(loop, now);
    vk_fuzz_check(s.frames <= VK_FUZZ_USER_BUDGET, "too many frames from timers");
    const vk_user_stats *st = vk_user_stats_of(user);
    vk_fuzz_check(st != NULL, "user port without stats");
    if (vk_fuzz_verbose())
        fprintf(stderr, "user: %zu frames answered, %llu drops\n", s.total,
                (unsigned long long)st->drops);

    vk_timer_free(t);
    vk_net_free(net);
    vk_loop_free(loop);
    return 0;
}
