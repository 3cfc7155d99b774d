/*
 * Shared by the tests/unit/test_user_*.c programs: a vk_net on the virtual
 * clock with one -netdev user port peered with a recording test port, the
 * shared drop tap (helpers/capture.h), frame builders on the shared libnet
 * helpers (helpers/libnet_frames.h), and small accessors.
 * Everything is static inline so each test program takes what it uses.
 */
#ifndef VK_TEST_USER_HARNESS_H
#define VK_TEST_USER_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <libnet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/user/user.h"
#include "helpers/capture.h"
#include "helpers/libnet_frames.h"
#include "core/loop.h"
#include "core/net.h"
#include "core/options.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"

#define UH_MAX_FRAMES 4096

typedef struct uh {
    vk_loop *loop;
    vk_net *net;
    vk_port *user;
    vk_port *peer;
    vk_timer *tick;
    vk_frame *got[UH_MAX_FRAMES];
    size_t ngot;
    vk_test_drops dropped; /* by vk_test_drop_tap */
} uh;

static const uint8_t UH_GUEST_MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t UH_GW_MAC[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
static const uint8_t UH_BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static inline int uh_rec_receive(vk_port *self, vk_frame *f)
{
    uh *h = *(uh **)self->priv;
    if (h->ngot < UH_MAX_FRAMES)
        h->got[h->ngot++] = vk_frame_ref(f);
    return VK_OK;
}

static const vk_port_ops uh_rec_ops = {.kind = "test", .receive = uh_rec_receive};

static inline bool uh_rec_accepts_gso(const vk_port *self)
{
    (void)self;
    return true;
}

/* The same recorder as a TAP with a vnet header: it takes TCP
 * super-segments whole (core/frame.h). */
static const vk_port_ops uh_rec_gso_ops = {.kind = "test", .receive = uh_rec_receive,
                                           .accepts_gso = uh_rec_accepts_gso};

static inline void uh_tick(void *arg, uint64_t now)
{
    (void)arg, (void)now;
}

/* How a harness net is built (all false: the virtual clock, the drop tap,
 * a recorder that takes MSS-sized segments only). */
typedef struct uh_setup {
    bool live;     /* the live clock (vk_loop_run then waits in real time) */
    bool untraced; /* no tap: drops are not recorded, super-segments may pass */
    bool gso_peer; /* the recording peer takes super-segments whole */
} uh_setup;

/* A netdev of the given type (port id `id`) peered with the recorder, on a
 * started net built as `how` says.  opts: the -netdev value, e.g.
 * "user,id=u,restrict=on".  Returns the create() result; the diagnostic
 * lands in d. */
static inline int uh_open_type_with(uh *h, const vk_netdev_type *type, const char *id,
                                    const char *opts, const uh_setup *how, vk_diag *d)
{
    memset(h, 0, sizeof *h);
    h->loop = vk_loop_new(how->live ? VK_CLOCK_LIVE : VK_CLOCK_VIRTUAL);
    h->net = vk_net_new(h->loop);
    h->tick = vk_timer_new(h->loop, uh_tick, NULL);
    if (!how->untraced)
        vk_net_add_tap(h->net, &vk_test_drop_tap, &h->dropped);
    vk_opts o;
    int r = vk_opts_parse("-netdev", "type", opts, &o, d);
    if (r != VK_OK)
        return r;
    vk_opts_mark_used(&o, "type");
    vk_opts_mark_used(&o, "id");
    r = type->create(h->net, id, &o, &h->user, d);
    if (r == VK_OK)
        r = vk_opts_check_unused(&o, d);
    vk_opts_free(&o);
    if (r != VK_OK)
        return r;
    assert_int_equal(vk_port_new(h->net, how->gso_peer ? &uh_rec_gso_ops : &uh_rec_ops, "guest",
                                 "test", sizeof(uh *), &h->peer, NULL),
                     VK_OK);
    *(uh **)h->peer->priv = h;
    assert_int_equal(vk_net_connect(h->user, h->peer, d), VK_OK);
    assert_int_equal(vk_net_start(h->net, d), VK_OK);
    return VK_OK;
}

/* The same on the virtual clock with the drop tap. */
static inline int uh_open_type(uh *h, const vk_netdev_type *type, const char *id,
                               const char *opts, vk_diag *d)
{
    uh_setup how = {0};
    return uh_open_type_with(h, type, id, opts, &how, d);
}

/* The user backend as port "u", built as `how` says. */
static inline int uh_open_with(uh *h, const char *opts, const uh_setup *how, vk_diag *d)
{
    return uh_open_type_with(h, &vk_netdev_user, "u", opts, how, d);
}

/* The user backend as port "u" on the virtual clock with the drop tap. */
static inline int uh_open(uh *h, const char *opts, vk_diag *d)
{
    return uh_open_type(h, &vk_netdev_user, "u", opts, d);
}

static inline void uh_open_ok(uh *h, const char *opts)
{
    vk_diag d = {{0}};
    int r = uh_open(h, opts, &d);
    if (r != VK_OK)
        fail_msg("%s: %s", opts, d.msg);
}

static inline void uh_clear(uh *h)
{
    for (size_t i = 0; i < h->ngot; i++)
        vk_frame_unref(h->got[i]);
    h->ngot = 0;
}

static inline void uh_close(uh *h)
{
    uh_clear(h);
    vk_timer_free(h->tick);
    if (h->net)
        vk_net_free(h->net);
    if (h->loop)
        vk_loop_free(h->loop);
}

/* cmocka teardown of a test fixture allocated with malloc whose first
 * member is its uh. */
static inline int uh_fixture_close(void **state)
{
    uh *h = *state;
    uh_close(h);
    free(h);
    return 0;
}

static inline const vk_user_stats *uh_stats(const uh *h)
{
    return vk_user_stats_of(h->user);
}

/* Moves the virtual clock to `when` (ns), firing every timer due. */
static inline void uh_advance(uh *h, uint64_t when)
{
    vk_timer_arm(h->tick, when);
    vk_loop_run(h->loop, when);
}

static inline void uh_send(uh *h, const uint8_t *p, size_t len)
{
    vk_port_send_bytes(h->peer, p, len);
}

/* ---- libnet builders: each returns a malloc'd frame in *out ---- */

/* The shared libnet helpers (helpers/libnet_frames.h), in the harness's
 * calling convention: the frame in *out (free() it), its length returned. */
static inline libnet_t *uh_ln(void)
{
    return vk_test_libnet();
}

static inline size_t uh_ln_finish(libnet_t *l, uint8_t **out)
{
    size_t n;
    *out = vk_test_libnet_frame(l, &n);
    return n;
}

static inline uint32_t uh_ip(const char *s)
{
    struct in_addr a;
    assert_int_equal(inet_pton(AF_INET, s, &a), 1);
    return a.s_addr;
}

/* An IPv4 frame from the guest with the given upper-layer payload. */
static inline size_t uh_build_ip4(uint8_t **out, const char *src, const char *dst, uint8_t proto,
                                  uint16_t id, uint16_t frag, const uint8_t *pl, size_t len)
{
    libnet_t *l = uh_ln();
    libnet_build_ipv4((uint16_t)(LIBNET_IPV4_H + len), 0, id, frag, 64, proto, 0, uh_ip(src),
                      uh_ip(dst), pl, (uint32_t)len, l, 0);
    libnet_build_ethernet(UH_GW_MAC, UH_GUEST_MAC, ETHERTYPE_IP, NULL, 0, l, 0);
    return uh_ln_finish(l, out);
}

static inline size_t uh_build_udp(uint8_t **out, const char *src, uint16_t sport,
                                  const char *dst, uint16_t dport, const uint8_t *pl, size_t len)
{
    libnet_t *l = uh_ln();
    libnet_build_udp(sport, dport, (uint16_t)(LIBNET_UDP_H + len), 0, pl, (uint32_t)len, l, 0);
    libnet_build_ipv4((uint16_t)(LIBNET_IPV4_H + LIBNET_UDP_H + len), 0, 0x1234, 0, 64,
                      IPPROTO_UDP, 0, uh_ip(src), uh_ip(dst), NULL, 0, l, 0);
    libnet_build_ethernet(strcmp(dst, "255.255.255.255") ? UH_GW_MAC : UH_BCAST, UH_GUEST_MAC,
                          ETHERTYPE_IP, NULL, 0, l, 0);
    return uh_ln_finish(l, out);
}

static inline size_t uh_build_arp_request(uint8_t **out, const uint8_t *mac, const char *sip,
                                          const char *tip)
{
    libnet_t *l = uh_ln();
    uint32_t s = uh_ip(sip), t = uh_ip(tip);
    uint8_t zero[6] = {0};
    libnet_build_arp(ARPHRD_ETHER, ETHERTYPE_IP, 6, 4, ARPOP_REQUEST, mac, (uint8_t *)&s, zero,
                     (uint8_t *)&t, NULL, 0, l, 0);
    libnet_build_ethernet(UH_BCAST, mac, ETHERTYPE_ARP, NULL, 0, l, 0);
    return uh_ln_finish(l, out);
}

/* The guest asks for the gateway's MAC, as a guest does before its first IP
 * packet: the stack learns the guest's MAC from it (as libslirp, it learns
 * from ARP and DHCP only).  The answer is cleared. */
static inline void uh_announce(uh *h)
{
    uint8_t *f;
    size_t n = uh_build_arp_request(&f, UH_GUEST_MAC, "10.0.2.15", "10.0.2.2");
    uh_send(h, f, n);
    free(f);
    uh_clear(h);
}

/* The same for IPv6: an unsolicited NA for `addr` to ff02::1, from which
 * the stack (as libslirp) learns the guest's MAC for that address. */
static inline void uh_announce6(uh *h, const char *addr)
{
    uint8_t f[14 + 40 + 32] = {0x33, 0x33, 0, 0, 0, 1};
    memcpy(f + 6, UH_GUEST_MAC, 6);
    f[12] = 0x86, f[13] = 0xdd;
    uint8_t *ip = f + 14, *na = f + 54;
    ip[0] = 0x60, ip[5] = 32, ip[6] = 58, ip[7] = 255;
    assert_int_equal(inet_pton(AF_INET6, addr, ip + 8), 1);
    assert_int_equal(inet_pton(AF_INET6, "ff02::1", ip + 24), 1);
    na[0] = 136, na[4] = 0x20; /* override, not solicited */
    memcpy(na + 8, ip + 8, 16);
    na[24] = 2, na[25] = 1; /* target link-layer address */
    memcpy(na + 26, UH_GUEST_MAC, 6);
    assert_int_equal(vk_csum_fill_frame(f, sizeof f), VK_OK);
    uh_send(h, f, sizeof f);
    uh_clear(h);
}

/* The i-th frame the stack sent, parsed down to IPv4. */
static inline void uh_got_ip4(const uh *h, size_t i, vk_eth_repr *eth, vk_ipv4_repr *ip)
{
    assert_true(i < h->ngot);
    assert_int_equal(vk_eth_parse(h->got[i]->data, h->got[i]->len, eth), VK_OK);
    assert_int_equal(eth->ethertype, VK_ETHERTYPE_IPV4);
    assert_int_equal(vk_ipv4_parse(eth->payload, eth->payload_len, ip), VK_OK);
    assert_true(ip->csum_ok);
}

#endif
