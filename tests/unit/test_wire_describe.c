/* One-line frame descriptions: the wording for the frames the user-mode
 * stack exchanges, "[truncated]" for every cut of them, and survival of
 * arbitrary garbage (run under ASan to prove it). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libnet.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/libnet_frames.h"
#include "core/addr.h"
#include "core/error.h"
#include "wire/buf.h"
#include "wire/checksum.h"
#include "wire/describe.h"
#include "wire/dhcp.h"
#include "wire/icmpv6.h"
#include "wire/ipv4.h"

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t gw_mac[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t guest_ip[4] = {10, 0, 2, 15};
static const uint8_t gw_ip[4] = {10, 0, 2, 2};

struct frame {
    uint8_t *p;
    size_t len;
};

static struct frame finish(libnet_t *l)
{
    struct frame f;
    f.p = vk_test_libnet_frame(l, &f.len);
    return f;
}

static uint32_t u32_of(const uint8_t b[4])
{
    uint32_t v;
    memcpy(&v, b, 4);
    return v;
}

static struct frame udp_frame(const uint8_t *smac, const uint8_t *dmac, uint32_t sip,
                              uint32_t dip, uint16_t sp, uint16_t dp, const uint8_t *pl,
                              size_t plen)
{
    libnet_t *l = vk_test_libnet();
    libnet_build_udp(sp, dp, (uint16_t)(LIBNET_UDP_H + plen), 0, pl, (uint32_t)plen, l, 0);
    libnet_build_ipv4((uint16_t)(LIBNET_IPV4_H + LIBNET_UDP_H + plen), 0, 1, 0, 64,
                      IPPROTO_UDP, 0, sip, dip, NULL, 0, l, 0);
    libnet_build_ethernet(dmac, smac, ETHERTYPE_IP, NULL, 0, l, 0);
    return finish(l);
}

static struct frame dhcp_frame(uint8_t type, uint32_t xid, const uint8_t *yiaddr)
{
    uint8_t b[400];
    vk_wr w;
    vk_wr_init(&w, b, sizeof(b));
    vk_dhcp_repr r = {.op = type == VK_DHCP_DISCOVER ? 1 : 2, .htype = 1, .hlen = 6,
                      .xid = xid};
    memcpy(r.chaddr, guest_mac, 6);
    if (yiaddr != NULL)
        memcpy(r.yiaddr.b, yiaddr, 4);
    vk_dhcp_emit_header(&r, &w);
    vk_dhcp_put_u8(&w, VK_DHCP_OPT_MSG_TYPE, type);
    assert_int_equal(vk_dhcp_finish(&w, VK_DHCP_MIN_LEN), VK_OK);
    if (type == VK_DHCP_DISCOVER)
        return udp_frame(guest_mac, bcast, 0, 0xffffffffu, 68, 67, b, w.off);
    return udp_frame(gw_mac, guest_mac, u32_of(gw_ip), u32_of(guest_ip), 67, 68, b, w.off);
}

static struct frame arp_frame(uint16_t op)
{
    libnet_t *l = vk_test_libnet();
    const uint8_t zero[6] = {0};
    if (op == ARPOP_REQUEST) {
        libnet_build_arp(ARPHRD_ETHER, ETHERTYPE_IP, 6, 4, op, guest_mac, guest_ip, zero,
                         gw_ip, NULL, 0, l, 0);
        libnet_build_ethernet(bcast, guest_mac, ETHERTYPE_ARP, NULL, 0, l, 0);
    } else {
        libnet_build_arp(ARPHRD_ETHER, ETHERTYPE_IP, 6, 4, op, gw_mac, gw_ip, guest_mac,
                         guest_ip, NULL, 0, l, 0);
        libnet_build_ethernet(guest_mac, gw_mac, ETHERTYPE_ARP, NULL, 0, l, 0);
    }
    return finish(l);
}

static struct frame ping_frame(void)
{
    libnet_t *l = vk_test_libnet();
    const uint8_t data[8] = {0};
    libnet_build_icmpv4_echo(ICMP_ECHO, 0, 0, 1, 2, data, sizeof(data), l, 0);
    libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_ICMPV4_ECHO_H + sizeof(data), 0, 1, 0, 64,
                      IPPROTO_ICMP, 0, u32_of(guest_ip), u32_of(gw_ip), NULL, 0, l, 0);
    libnet_build_ethernet(gw_mac, guest_mac, ETHERTYPE_IP, NULL, 0, l, 0);
    return finish(l);
}

static struct frame synack_frame(void)
{
    libnet_t *l = vk_test_libnet();
    const uint8_t opts[4] = {2, 4, 0x05, 0xb4};
    libnet_build_tcp_options(opts, sizeof(opts), l, 0);
    libnet_build_tcp(80, 40000, 1000, 2001, TH_SYN | TH_ACK, 65535, 0, 0, LIBNET_TCP_H + 4,
                     NULL, 0, l, 0);
    libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_TCP_H + 4, 0, 1, 0, 64, IPPROTO_TCP, 0,
                      u32_of(gw_ip), u32_of(guest_ip), NULL, 0, l, 0);
    libnet_build_ethernet(guest_mac, gw_mac, ETHERTYPE_IP, NULL, 0, l, 0);
    return finish(l);
}

static struct frame tftp_rrq_frame(void)
{
    const uint8_t rrq[] = "\0\1pxelinux.0\0octet\0blksize\0" "1432";
    return udp_frame(guest_mac, gw_mac, u32_of(guest_ip), u32_of(gw_ip), 2000, 69, rrq,
                     sizeof(rrq));
}

static struct frame ra_frame(void)
{
    struct frame f = {malloc(14 + 40 + 64), 14 + 40 + 64};
    assert_non_null(f.p);
    vk_ip6 s, d;
    assert_int_equal(vk_ip6_parse("fe80::2", &s), VK_OK);
    assert_int_equal(vk_ip6_parse("ff02::1", &d), VK_OK);
    vk_icmpv6_repr ra = {.type = VK_ICMPV6_ROUTER_ADVERT, .cur_hop_limit = 64,
                         .router_lifetime = 1800, .has_src_ll = true, .prefix_count = 1};
    memcpy(ra.src_ll.b, gw_mac, 6);
    ra.prefix[0].prefix_len = 64;
    assert_int_equal(vk_ip6_parse("fec0::", &ra.prefix[0].prefix), VK_OK);
    size_t n;
    uint32_t ph = vk_csum_pseudo6(&s, &d, VK_IP_PROTO_ICMPV6);
    assert_int_equal(vk_icmpv6_emit(&ra, ph, f.p + 54, 64, &n), VK_OK);
    assert_int_equal(n, 16 + 8 + 32);
    f.len = 54 + n;
    memcpy(f.p, (const uint8_t[6]){0x33, 0x33, 0, 0, 0, 1}, 6);
    memcpy(f.p + 6, gw_mac, 6);
    vk_put_be16(f.p + 12, 0x86dd);
    memset(f.p + 14, 0, 40);
    f.p[14] = 0x60;
    vk_put_be16(f.p + 18, (uint16_t)n);
    f.p[20] = VK_IP_PROTO_ICMPV6;
    f.p[21] = 255;
    memcpy(f.p + 22, s.b, 16);
    memcpy(f.p + 38, d.b, 16);
    return f;
}

static const char *describe(const struct frame *f)
{
    static char line[256];
    size_t n = vk_wire_describe(f->p, f->len, line, sizeof(line));
    assert_int_equal(n, strlen(line));
    return line;
}

static void test_describe_dhcp_discover_like_tcpdump(void **state)
{
    (void)state;
    struct frame f = dhcp_frame(VK_DHCP_DISCOVER, 0x1234, NULL);
    assert_string_equal(describe(&f), "52:54:00:12:34:56 > ff:ff:ff:ff:ff:ff, IPv4 "
                                      "0.0.0.0.68 > 255.255.255.255.67: DHCP DISCOVER xid "
                                      "0x1234");
    free(f.p);
}

static void test_describe_dhcp_ack_names_yiaddr(void **state)
{
    (void)state;
    struct frame f = dhcp_frame(VK_DHCP_ACK, 0x1234, guest_ip);
    assert_non_null(strstr(describe(&f), "DHCP ACK yiaddr 10.0.2.15"));
    free(f.p);
}

static void test_describe_arp_request_and_reply(void **state)
{
    (void)state;
    struct frame f = arp_frame(ARPOP_REQUEST);
    assert_string_equal(describe(&f), "52:54:00:12:34:56 > ff:ff:ff:ff:ff:ff, "
                                      "ARP who-has 10.0.2.2 tell 10.0.2.15");
    free(f.p);
    f = arp_frame(ARPOP_REPLY);
    assert_non_null(strstr(describe(&f), "ARP reply 10.0.2.2 is-at 52:55:0a:00:02:02"));
    free(f.p);
}

static void test_describe_icmp_echo(void **state)
{
    (void)state;
    struct frame f = ping_frame();
    assert_non_null(strstr(describe(&f), "IPv4 10.0.2.15 > 10.0.2.2: ICMP echo request id 1 seq 2"));
    free(f.p);
}

static void test_describe_tcp_flags_seq_ack(void **state)
{
    (void)state;
    struct frame f = synack_frame();
    assert_non_null(strstr(describe(&f), "10.0.2.2.80 > 10.0.2.15.40000: TCP [S.] seq 1000 "
                                         "ack 2001 win 65535 mss 1460 len 0"));
    free(f.p);
}

static void test_describe_tftp_rrq_with_blksize(void **state)
{
    (void)state;
    struct frame f = tftp_rrq_frame();
    assert_non_null(strstr(describe(&f), "TFTP RRQ \"pxelinux.0\" blksize 1432"));
    free(f.p);
}

static void test_describe_icmpv6_router_advertisement(void **state)
{
    (void)state;
    struct frame f = ra_frame();
    assert_non_null(strstr(describe(&f), "IPv6 fe80::2 > ff02::1: ICMPv6 router "
                                         "advertisement prefix fec0::/64"));
    free(f.p);
}

static void test_describe_every_cut_says_truncated(void **state)
{
    (void)state;
    struct frame frames[] = {dhcp_frame(VK_DHCP_DISCOVER, 1, NULL), arp_frame(ARPOP_REPLY),
                             ping_frame(), synack_frame(), tftp_rrq_frame(), ra_frame()};
    for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
        for (size_t k = 0; k < frames[i].len; k++) {
            struct frame cut = {malloc(k > 0 ? k : 1), k};
            memcpy(cut.p, frames[i].p, k);
            const char *s = describe(&cut);
            if (strstr(s, "[truncated]") == NULL)
                fail_msg("frame %zu cut at %zu: %s", i, k, s);
            free(cut.p);
        }
        free(frames[i].p);
    }
}

static void test_describe_respects_small_output_buffers(void **state)
{
    (void)state;
    struct frame f = arp_frame(ARPOP_REQUEST);
    char out[11];
    memset(out, 'z', sizeof(out));
    assert_int_equal(vk_wire_describe(f.p, f.len, out, 0), 0);
    assert_int_equal(out[0], 'z');
    assert_int_equal(vk_wire_describe(f.p, f.len, out, 1), 0);
    assert_int_equal(out[0], '\0');
    assert_int_equal(vk_wire_describe(f.p, f.len, out, 10), 9);
    assert_string_equal(out, "52:54:00:");
    assert_int_equal(out[10], 'z');
    free(f.p);
}

/* xorshift: deterministic garbage without libc rand state. */
static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void test_describe_survives_random_garbage(void **state)
{
    (void)state;
    uint32_t seed = 0x9e3779b9u;
    static const uint16_t types[] = {0x0800, 0x86dd, 0x0806, 0x8100, 0x1234};
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = next_rand(&seed) % 400;
        uint8_t *p = malloc(len > 0 ? len : 1);
        for (size_t i = 0; i < len; i++)
            p[i] = (uint8_t)next_rand(&seed);
        /* Steer most inputs past the first layers so the deep parsers run. */
        if (len >= 14 && iter % 8 != 0)
            vk_put_be16(p + 12, types[next_rand(&seed) % 5]);
        if (len >= 34 && p[12] == 0x08 && p[13] == 0x00) {
            p[14] = 0x45;
            vk_put_be16(p + 16, (uint16_t)(len - 14 - next_rand(&seed) % 4));
            p[23] = (const uint8_t[]){1, 6, 17, 17}[next_rand(&seed) % 4];
            p[20] = 0;
            p[21] = 0;
        }
        if (len >= 54 && p[12] == 0x86 && p[13] == 0xdd) {
            p[14] = 0x60;
            vk_put_be16(p + 18, (uint16_t)(len - 54));
            p[20] = (const uint8_t[]){58, 0, 60, 17}[next_rand(&seed) % 4];
        }
        char out[200];
        size_t n = vk_wire_describe(p, len, out, sizeof(out));
        assert_true(n < sizeof(out));
        assert_int_equal(strlen(out), n);
        free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe_dhcp_discover_like_tcpdump),
        cmocka_unit_test(test_describe_dhcp_ack_names_yiaddr),
        cmocka_unit_test(test_describe_arp_request_and_reply),
        cmocka_unit_test(test_describe_icmp_echo),
        cmocka_unit_test(test_describe_tcp_flags_seq_ack),
        cmocka_unit_test(test_describe_tftp_rrq_with_blksize),
        cmocka_unit_test(test_describe_icmpv6_router_advertisement),
        cmocka_unit_test(test_describe_every_cut_says_truncated),
        cmocka_unit_test(test_describe_respects_small_output_buffers),
        cmocka_unit_test(test_describe_survives_random_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
