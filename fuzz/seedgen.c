/*
 * Writes the seed corpora of the frame-driven fuzz targets (wire, user, and
 * the four NIC programs) from captures and from the frames the user-stack
 * unit tests build (tests/unit/test_user_harness.h, libnet):
 *   seedgen OUTDIR CAPTURE...
 * For each capture: its first frames as wire inputs (selector 0), the
 * guest's frames as a user-stack program, and the whole exchange as a NIC
 * program per model (guest frames sent by the driver half, network frames
 * arriving from the wire).  Then hand-built frames the captures lack: IPv4
 * fragments, a TFTP read request with options, a TCP SYN with every option,
 * IPv6 echo to the gateway.  File names are a hash of the contents, so
 * rerunning gives the same files.  scripts/fuzz-seeds.sh runs it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../tests/unit/test_user_harness.h"
#include "replay/capture.h"
#include "replay/split.h"
#include "wire/checksum.h"
#include "wire/buf.h"

#define SEED_FRAMES 40     /* frames taken from one capture */
#define SEED_FRAME_MAX 1600 /* larger frames (TSO super-frames) are left out */

static const char *outdir;

static void write_seed(const char *target, const uint8_t *p, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/%s", outdir, target);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        perror(dir);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%016llx", dir, (unsigned long long)h);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* A growing program buffer. */
typedef struct prog {
    uint8_t b[256 * 1024];
    size_t n;
} prog;

static void put(prog *g, const void *p, size_t len)
{
    if (g->n + len <= sizeof g->b) {
        memcpy(g->b + g->n, p, len);
        g->n += len;
    }
}

static void put_u8(prog *g, uint8_t v)
{
    put(g, &v, 1);
}

static void put_u16(prog *g, size_t v)
{
    uint8_t b[2];
    vk_put_be16(b, (uint16_t)v);
    put(g, b, 2);
}

static void wire_seed(const uint8_t *f, size_t len)
{
    static prog g;
    g.n = 0;
    put_u8(&g, 0);
    put(&g, f, len);
    write_seed("wire", g.b, g.n);
}

/* User program record: dt (50 ms units), length, frame. */
static void user_add(prog *g, uint8_t dt, const uint8_t *f, size_t len)
{
    put_u8(g, dt);
    put_u16(g, len);
    put(g, f, len);
}

static const char *const nic_targets[] = {"nic_e1000", "nic_rtl8139", "nic_ne2k", "nic_virtio_net"};

static void from_capture(const char *path)
{
    vk_capture *c = NULL;
    vk_diag d = {{0}};
    if (vk_capture_read(path, &c, &d) != VK_OK) {
        fprintf(stderr, "seedgen: %s\n", d.msg);
        exit(1);
    }
    vk_split s;
    vk_split_config cfg = {0};
    bool split = vk_split_capture(c, &cfg, &s, &d) == VK_OK;
    static prog user, nic;
    user.n = 0;
    nic.n = 0;
    put_u8(&user, strstr(path, "restrict") ? 1 : 0);
    put_u8(&nic, 1); /* the driver half's configuration */
    uint64_t last = c->count ? c->frames[0].ts_ns : 0;
    size_t taken = 0;
    for (size_t i = 0; i < c->count && taken < SEED_FRAMES; i++) {
        const vk_cap_frame *f = &c->frames[i];
        if (f->len > SEED_FRAME_MAX || f->len == 0)
            continue;
        taken++;
        wire_seed(f->data, f->len);
        bool guest = split && s.side[i] == VK_SIDE_GUEST;
        uint64_t dt = (f->ts_ns - last) / (50ull * 1000 * 1000);
        last = f->ts_ns;
        if (guest)
            user_add(&user, dt > 255 ? 255 : (uint8_t)dt, f->data, f->len);
        put_u8(&nic, guest ? 4 : 3);
        put_u16(&nic, f->len);
        put(&nic, f->data, f->len);
        put_u8(&nic, 5); /* clock: 100 us */
        put_u8(&nic, 10);
    }
    if (user.n > 1)
        write_seed("user", user.b, user.n);
    for (size_t m = 0; m < sizeof nic_targets / sizeof nic_targets[0]; m++)
        write_seed(nic_targets[m], nic.b, nic.n);
    if (split)
        vk_split_free(&s);
    vk_capture_free(c);
}

/* Frames built as the user-stack unit tests build them. */
static void hand_built(void)
{
    static prog user;
    uint8_t *f;
    size_t n;

    /* IPv4 fragments of one ICMP echo to the gateway, in reverse order. */
    uint8_t echo[1200] = {8, 0, 0, 0, 0x12, 0x34, 0, 1};
    for (size_t i = 8; i < sizeof echo; i++)
        echo[i] = (uint8_t)i;
    vk_put_be16(echo + 2, vk_csum(echo, sizeof echo));
    user.n = 0;
    put_u8(&user, 0);
    n = uh_build_ip4(&f, "10.0.2.15", "10.0.2.2", 1, 0x4242, 600 / 8, echo + 600, 600);
    wire_seed(f, n), user_add(&user, 0, f, n), free(f);
    n = uh_build_ip4(&f, "10.0.2.15", "10.0.2.2", 1, 0x4242, 0x2000, echo, 600);
    wire_seed(f, n), user_add(&user, 1, f, n), free(f);
    write_seed("user", user.b, user.n);

    /* TFTP read request with blksize, tsize and timeout. */
    static const uint8_t rrq[] = "\0\1boot.bin\0octet\0blksize\0001428\0tsize\0000\0timeout\0003";
    user.n = 0;
    put_u8(&user, 0);
    n = uh_build_udp(&f, "10.0.2.15", 2000, "10.0.2.2", 69, rrq, sizeof rrq - 1);
    wire_seed(f, n), user_add(&user, 0, f, n), free(f);
    static const uint8_t ack1[] = {0, 4, 0, 1};
    n = uh_build_udp(&f, "10.0.2.15", 2000, "10.0.2.2", 2000, ack1, sizeof ack1);
    user_add(&user, 2, f, n), free(f);
    write_seed("user", user.b, user.n);

    /* TCP SYN with MSS, SACK-permitted, timestamps, NOP, window scale to the
     * gateway (restrict=on answers with a reset). */
    libnet_t *l = uh_ln();
    static const uint8_t opts[] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
    libnet_build_tcp_options(opts, sizeof opts, l, 0);
    libnet_build_tcp(40000, 80, 1000, 0, TH_SYN, 64240, 0, 0, LIBNET_TCP_H + sizeof opts, NULL,
                     0, l, 0);
    libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_TCP_H + sizeof opts, 0, 1, 0x4000, 64, IPPROTO_TCP,
                      0, uh_ip("10.0.2.15"), uh_ip("10.0.2.2"), NULL, 0, l, 0);
    libnet_build_ethernet(UH_GW_MAC, UH_GUEST_MAC, ETHERTYPE_IP, NULL, 0, l, 0);
    n = uh_ln_finish(l, &f);
    user.n = 0;
    put_u8(&user, 1);
    wire_seed(f, n), user_add(&user, 0, f, n), free(f);
    write_seed("user", user.b, user.n);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: seedgen OUTDIR CAPTURE...\n");
        return 2;
    }
    outdir = argv[1];
    for (int i = 2; i < argc; i++)
        from_capture(argv[i]);
    hand_built();
    return 0;
}
