/* Ethernet, ARP, IPv4, ICMP, UDP and TCP views: fields agree with libnet-built
 * packets, emit -> parse round-trips, every truncation is refused without
 * reading out of bounds, and malformed headers are named as such. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libnet.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/libnet_frames.h"
#include "core/error.h"
#include "wire/arp.h"
#include "wire/buf.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/udp.h"

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t guest_ip[4] = {10, 0, 2, 15};
static const uint8_t gw_ip[4] = {10, 0, 2, 2};

static uint32_t u32_of(const uint8_t b[4])
{
    uint32_t v;
    memcpy(&v, b, 4);
    return v;
}

static int parse_eth(const uint8_t *p, size_t n)
{
    vk_eth_repr r;
    return vk_eth_parse(p, n, &r);
}

static int parse_arp(const uint8_t *p, size_t n)
{
    vk_arp_repr r;
    return vk_arp_parse(p, n, &r);
}

static int parse_ip(const uint8_t *p, size_t n)
{
    vk_ipv4_repr r;
    return vk_ipv4_parse(p, n, &r);
}

static int parse_udp(const uint8_t *p, size_t n)
{
    vk_udp_repr r;
    return vk_udp_parse(p, n, &r);
}

static int parse_tcp_header(const uint8_t *p, size_t n)
{
    vk_tcp_repr r;
    return vk_tcp_parse(p, n, &r);
}

/* IPv4 then UDP then payload, as a stack would. */
static int parse_ip_udp(const uint8_t *p, size_t n)
{
    vk_ipv4_repr ip;
    vk_udp_repr u;
    int err = vk_ipv4_parse(p, n, &ip);
    return err != VK_OK ? err : vk_udp_parse(ip.payload, ip.payload_len, &u);
}

static void test_ethernet_parse_plain_and_vlan_tagged(void **state)
{
    (void)state;
    uint8_t f[64] = {0};
    memcpy(f, bcast_mac, 6);
    memcpy(f + 6, guest_mac, 6);
    f[12] = 0x08;
    vk_eth_repr e;
    assert_int_equal(vk_eth_parse(f, 60, &e), VK_OK);
    assert_memory_equal(e.src.b, guest_mac, 6);
    assert_int_equal(e.ethertype, VK_ETHERTYPE_IPV4);
    assert_false(e.has_vlan);
    assert_int_equal(e.payload_len, 46);

    f[12] = 0x81;
    f[13] = 0x00;
    f[14] = 0x20; /* PCP 1, VLAN 5 */
    f[15] = 0x05;
    f[16] = 0x86;
    f[17] = 0xdd;
    assert_int_equal(vk_eth_parse(f, 60, &e), VK_OK);
    assert_true(e.has_vlan);
    assert_int_equal(vk_eth_vlan_id(&e), 5);
    assert_int_equal(e.ethertype, VK_ETHERTYPE_IPV6);
    assert_int_equal(e.hdr_len, 18);
    vk_test_assert_truncations_fail(parse_eth, f, 18);
}

static void test_ethernet_emit_round_trips_with_tag(void **state)
{
    (void)state;
    const uint8_t pl[] = {1, 2, 3};
    vk_eth_repr e = {.ethertype = 0x0806, .has_vlan = true, .vlan_tci = 7,
                     .payload = pl, .payload_len = 3};
    memcpy(e.dst.b, bcast_mac, 6);
    memcpy(e.src.b, guest_mac, 6);
    uint8_t b[21];
    size_t n;
    assert_int_equal(vk_eth_emit(&e, b, 20, &n), VK_EFULL);
    assert_int_equal(vk_eth_emit(&e, b, sizeof(b), &n), VK_OK);
    assert_int_equal(n, 21);
    vk_eth_repr back;
    assert_int_equal(vk_eth_parse(b, n, &back), VK_OK);
    assert_int_equal(back.vlan_tci, 7);
    assert_int_equal(back.ethertype, 0x0806);
    assert_memory_equal(back.payload, pl, 3);
}

static void test_arp_request_fields_match_libnet(void **state)
{
    (void)state;
    libnet_t *l = vk_test_libnet();
    const uint8_t zero[6] = {0};
    libnet_build_arp(ARPHRD_ETHER, ETHERTYPE_IP, 6, 4, ARPOP_REQUEST, guest_mac, guest_ip,
                     zero, gw_ip, NULL, 0, l, 0);
    size_t n;
    uint8_t *p = vk_test_libnet_frame(l, &n);
    vk_arp_repr a;
    assert_int_equal(vk_arp_parse(p, n, &a), VK_OK);
    assert_int_equal(a.op, VK_ARP_OP_REQUEST);
    assert_memory_equal(a.sha.b, guest_mac, 6);
    assert_memory_equal(a.spa.b, guest_ip, 4);
    assert_memory_equal(a.tpa.b, gw_ip, 4);
    vk_test_assert_truncations_fail(parse_arp, p, n);

    uint8_t out[VK_ARP_LEN];
    size_t w;
    assert_int_equal(vk_arp_emit(&a, out, sizeof(out), &w), VK_OK);
    assert_int_equal(w, n);
    assert_memory_equal(out, p, n);
    assert_int_equal(vk_arp_emit(&a, out, sizeof(out) - 1, &w), VK_EFULL);
    free(p);
}

static void test_arp_for_other_hardware_is_malformed(void **state)
{
    (void)state;
    vk_arp_repr a = {.op = 2};
    uint8_t b[VK_ARP_LEN];
    size_t n;
    assert_int_equal(vk_arp_emit(&a, b, sizeof(b), &n), VK_OK);
    b[5] = 16; /* plen for IPv6 */
    assert_int_equal(vk_arp_parse(b, n, &a), VK_EFORMAT);
    b[5] = 4;
    b[1] = 6; /* IEEE 802 htype */
    assert_int_equal(vk_arp_parse(b, n, &a), VK_EFORMAT);
}

static uint8_t *libnet_udp4(size_t *len, const uint8_t *opts, size_t optlen)
{
    libnet_t *l = vk_test_libnet();
    const uint8_t pl[] = "payload!";
    libnet_build_udp(68, 67, LIBNET_UDP_H + sizeof(pl), 0, pl, sizeof(pl), l, 0);
    if (opts != NULL)
        libnet_build_ipv4_options(opts, (uint32_t)optlen, l, 0);
    libnet_build_ipv4((uint16_t)(LIBNET_IPV4_H + optlen + LIBNET_UDP_H + sizeof(pl)), 0x10,
                      0xbeef, IP_DF, 63, IPPROTO_UDP, 0, u32_of(guest_ip), u32_of(gw_ip), NULL,
                      0, l, 0);
    return vk_test_libnet_frame(l, len);
}

static void test_ipv4_udp_fields_match_libnet(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = libnet_udp4(&n, NULL, 0);
    vk_ipv4_repr ip;
    assert_int_equal(vk_ipv4_parse(p, n, &ip), VK_OK);
    assert_int_equal(ip.hdr_len, 20);
    assert_int_equal(ip.tos, 0x10);
    assert_int_equal(ip.id, 0xbeef);
    assert_true(ip.df);
    assert_false(ip.mf);
    assert_int_equal(ip.ttl, 63);
    assert_int_equal(ip.proto, VK_IP_PROTO_UDP);
    assert_true(ip.csum_ok);
    assert_memory_equal(ip.src.b, guest_ip, 4);
    assert_memory_equal(ip.dst.b, gw_ip, 4);
    vk_udp_repr u;
    assert_int_equal(vk_udp_parse(ip.payload, ip.payload_len, &u), VK_OK);
    assert_int_equal(u.src_port, 68);
    assert_int_equal(u.dst_port, 67);
    assert_string_equal((const char *)u.payload, "payload!");
    uint32_t ph = vk_csum_pseudo4(&ip.src, &ip.dst, ip.proto);
    assert_true(vk_udp_csum_ok(ph, ip.payload, ip.payload_len, true));
    vk_test_assert_truncations_fail(parse_ip, p, n);
    vk_test_assert_truncations_fail(parse_ip_udp, p, n);
    vk_test_assert_truncations_fail(parse_udp, ip.payload, ip.payload_len);
    free(p);
}

static void test_ipv4_with_options_exposes_them_and_round_trips(void **state)
{
    (void)state;
    const uint8_t opts[8] = {0x94, 0x04, 0, 0, 1, 1, 1, 0}; /* router alert, NOPs, EOL */
    size_t n;
    uint8_t *p = libnet_udp4(&n, opts, sizeof(opts));
    vk_ipv4_repr ip;
    assert_int_equal(vk_ipv4_parse(p, n, &ip), VK_OK);
    assert_int_equal(ip.hdr_len, 28);
    assert_int_equal(ip.options_len, 8);
    assert_memory_equal(ip.options, opts, 8);
    assert_true(ip.csum_ok);
    uint8_t *out = malloc(n);
    size_t w;
    assert_int_equal(vk_ipv4_emit(&ip, out, n, &w), VK_OK);
    assert_int_equal(w, n);
    assert_memory_equal(out, p, n); /* same bytes as libnet, checksum included */
    assert_int_equal(vk_ipv4_emit(&ip, out, n - 1, &w), VK_EFULL);
    vk_test_assert_truncations_fail(parse_ip, p, n);
    free(out);
    free(p);
}

static void test_ipv4_ihl_below_five_is_malformed(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = libnet_udp4(&n, NULL, 0);
    vk_ipv4_repr ip;
    p[0] = 0x44;
    assert_int_equal(vk_ipv4_parse(p, n, &ip), VK_EFORMAT);
    p[0] = 0x40;
    assert_int_equal(vk_ipv4_parse(p, n, &ip), VK_EFORMAT);
    p[0] = 0x65; /* version 6 */
    assert_int_equal(vk_ipv4_parse(p, n, &ip), VK_EFORMAT);
    free(p);
}

static void test_ipv4_total_length_beyond_buffer_is_truncated(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = libnet_udp4(&n, NULL, 0);
    vk_ipv4_repr ip;
    vk_put_be16(p + 2, (uint16_t)(n + 1));
    assert_int_equal(vk_ipv4_parse(p, n, &ip), VK_ETRUNC);
    vk_put_be16(p + 2, 19); /* shorter than the header itself */
    assert_int_equal(vk_ipv4_parse(p, n, &ip), VK_EFORMAT);
    uint8_t big[64] = {0};
    memcpy(big, p, n);
    big[0] = 0x4f; /* IHL 60 > total length */
    vk_put_be16(big + 2, (uint16_t)n);
    assert_int_equal(vk_ipv4_parse(big, sizeof(big), &ip), VK_EFORMAT);
    free(p);
}

static void test_ipv4_ignores_ethernet_padding(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = libnet_udp4(&n, NULL, 0);
    uint8_t padded[64] = {0};
    memcpy(padded, p, n);
    vk_ipv4_repr ip;
    assert_int_equal(vk_ipv4_parse(padded, sizeof(padded), &ip), VK_OK);
    assert_int_equal(ip.payload_len, n - 20);
    free(p);
}

static void test_ipv4_bad_header_checksum_is_reported_not_fatal(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = libnet_udp4(&n, NULL, 0);
    p[8]--; /* TTL changed without fixing the checksum */
    vk_ipv4_repr ip;
    assert_int_equal(vk_ipv4_parse(p, n, &ip), VK_OK);
    assert_false(ip.csum_ok);
    free(p);
}

static void test_ipv4_emit_fragment_fields(void **state)
{
    (void)state;
    vk_ipv4_repr r = {.id = 9, .mf = true, .frag_off = 1480, .ttl = 1, .proto = 1};
    uint8_t b[20];
    size_t n;
    assert_int_equal(vk_ipv4_emit(&r, b, sizeof(b), &n), VK_OK);
    vk_ipv4_repr back;
    assert_int_equal(vk_ipv4_parse(b, n, &back), VK_OK);
    assert_true(back.mf);
    assert_int_equal(back.frag_off, 1480);
    assert_true(back.csum_ok);
    r.frag_off = 1481;
    assert_int_equal(vk_ipv4_emit(&r, b, sizeof(b), &n), VK_EINVAL);
    r.frag_off = 0;
    r.options_len = 3;
    assert_int_equal(vk_ipv4_emit(&r, b, sizeof(b), &n), VK_EINVAL);
}

static void test_udp_length_field_checked(void **state)
{
    (void)state;
    uint8_t u[12] = {0, 1, 0, 2, 0, 12};
    vk_udp_repr r;
    assert_int_equal(vk_udp_parse(u, sizeof(u), &r), VK_OK);
    assert_int_equal(r.payload_len, 4);
    vk_put_be16(u + 4, 7);
    assert_int_equal(vk_udp_parse(u, sizeof(u), &r), VK_EFORMAT);
    vk_put_be16(u + 4, 13);
    assert_int_equal(vk_udp_parse(u, sizeof(u), &r), VK_ETRUNC);
}

static void test_udp_emit_round_trips_with_valid_checksum(void **state)
{
    (void)state;
    vk_ip4 s, d;
    memcpy(s.b, guest_ip, 4);
    memcpy(d.b, gw_ip, 4);
    uint32_t ph = vk_csum_pseudo4(&s, &d, VK_IP_PROTO_UDP);
    const uint8_t pl[] = {0xde, 0xad};
    vk_udp_repr r = {.src_port = 1000, .dst_port = 53, .payload = pl, .payload_len = 2};
    uint8_t b[10];
    size_t n;
    assert_int_equal(vk_udp_emit(&r, ph, b, 9, &n), VK_EFULL);
    assert_int_equal(vk_udp_emit(&r, ph, b, sizeof(b), &n), VK_OK);
    assert_true(vk_udp_csum_ok(ph, b, n, false));
    vk_udp_repr back;
    assert_int_equal(vk_udp_parse(b, n, &back), VK_OK);
    assert_int_equal(back.dst_port, 53);
    assert_memory_equal(back.payload, pl, 2);
}

/* libnet only checksums ICMP inside an IPv4 header: add one, return all. */
static uint8_t *finish_icmp(libnet_t *l, size_t icmp_len, size_t *len)
{
    libnet_build_ipv4((uint16_t)(LIBNET_IPV4_H + icmp_len), 0, 1, 0, 64, IPPROTO_ICMP, 0,
                      u32_of(gw_ip), u32_of(guest_ip), NULL, 0, l, 0);
    return vk_test_libnet_frame(l, len);
}

static void test_icmp_echo_fields_match_libnet(void **state)
{
    (void)state;
    libnet_t *l = vk_test_libnet();
    const uint8_t data[] = "ping data";
    libnet_build_icmpv4_echo(ICMP_ECHO, 0, 0, 1, 2, data, sizeof(data), l, 0);
    size_t n;
    uint8_t *ipp = finish_icmp(l, LIBNET_ICMPV4_ECHO_H + sizeof(data), &n);
    uint8_t *p = ipp + 20;
    n -= 20;
    vk_icmp_repr c;
    assert_int_equal(vk_icmp_parse(p, n, &c), VK_OK);
    assert_int_equal(c.type, VK_ICMP_ECHO_REQUEST);
    assert_int_equal(c.id, 1);
    assert_int_equal(c.seq, 2);
    assert_true(c.csum_ok);
    assert_int_equal(c.data_len, sizeof(data));
    /* Reply built from the request has the same bytes but type and checksum. */
    c.type = VK_ICMP_ECHO_REPLY;
    uint8_t *out = malloc(n);
    size_t w;
    assert_int_equal(vk_icmp_emit(&c, out, n, &w), VK_OK);
    assert_int_equal(w, n);
    assert_int_equal(vk_csum(out, w), 0);
    assert_memory_equal(out + 4, p + 4, n - 4);
    for (size_t k = 0; k < VK_ICMP_HLEN; k++)
        assert_int_equal(vk_icmp_parse(p, k, &c), VK_ETRUNC);
    /* ICMP has no length field: a shorter body parses but fails the sum. */
    assert_int_equal(vk_icmp_parse(p, n - 2, &c), VK_OK); /* drops "a\0" */
    assert_false(c.csum_ok);
    free(out);
    free(ipp);
}

static void test_icmp_unreachable_quotes_the_datagram(void **state)
{
    (void)state;
    size_t qn;
    uint8_t *q = libnet_udp4(&qn, NULL, 0);
    libnet_t *l = vk_test_libnet();
    libnet_build_icmpv4_unreach(ICMP_UNREACH, ICMP_UNREACH_PORT, 0, q, 28, l, 0);
    size_t n;
    uint8_t *ipp = finish_icmp(l, LIBNET_ICMPV4_UNREACH_H + 28, &n);
    uint8_t *p = ipp + 20;
    n -= 20;
    vk_icmp_repr c;
    assert_int_equal(vk_icmp_parse(p, n, &c), VK_OK);
    assert_int_equal(c.type, VK_ICMP_DEST_UNREACH);
    assert_int_equal(c.code, VK_ICMP_UNREACH_PORT);
    assert_true(c.csum_ok);
    vk_ipv4_repr ip;
    assert_int_equal(vk_icmp_quoted(&c, &ip), VK_OK);
    assert_int_equal(ip.proto, VK_IP_PROTO_UDP);
    assert_memory_equal(ip.dst.b, gw_ip, 4);
    assert_int_equal(ip.payload_len, 8); /* header + 8 bytes quoted */
    assert_int_equal(vk_ipv4_parse(c.data, c.data_len, &ip), VK_ETRUNC);
    c.data_len = 19;
    assert_int_equal(vk_icmp_quoted(&c, &ip), VK_ETRUNC);
    free(ipp);
    free(q);
}

static uint8_t *libnet_tcp_syn(size_t *len)
{
    libnet_t *l = vk_test_libnet();
    /* MSS 1460, SACK-permitted, timestamps, NOP, wscale 7: Linux's SYN. */
    const uint8_t opts[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x12, 0x34,
                              0, 0, 0, 0, 1, 3, 3, 7};
    libnet_build_tcp_options(opts, sizeof(opts), l, 0);
    libnet_build_tcp(40000, 80, 0x01020304, 0, TH_SYN, 64240, 0, 0,
                     LIBNET_TCP_H + sizeof(opts), NULL, 0, l, 0);
    libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_TCP_H + sizeof(opts), 0, 1, IP_DF, 64,
                      IPPROTO_TCP, 0, u32_of(guest_ip), u32_of(gw_ip), NULL, 0, l, 0);
    return vk_test_libnet_frame(l, len);
}

static void test_tcp_syn_options_match_libnet(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = libnet_tcp_syn(&n);
    vk_ipv4_repr ip;
    assert_int_equal(vk_ipv4_parse(p, n, &ip), VK_OK);
    vk_tcp_repr t;
    assert_int_equal(vk_tcp_parse(ip.payload, ip.payload_len, &t), VK_OK);
    assert_int_equal(t.src_port, 40000);
    assert_int_equal(t.seq, 0x01020304);
    assert_int_equal(t.flags, VK_TCP_SYN);
    assert_int_equal(t.window, 64240);
    assert_int_equal(t.hdr_len, 40);
    assert_true(t.has_mss);
    assert_int_equal(t.mss, 1460);
    assert_true(t.sack_perm);
    assert_true(t.has_ts);
    assert_int_equal(t.ts_val, 0x1234);
    assert_true(t.has_wscale);
    assert_int_equal(t.wscale, 7);
    uint32_t ph = vk_csum_pseudo4(&ip.src, &ip.dst, VK_IP_PROTO_TCP);
    assert_true(vk_tcp_csum_ok(ph, ip.payload, ip.payload_len));
    /* Options synthesised from the fields give Linux's (and libnet's) bytes. */
    t.options = NULL;
    t.options_len = 0;
    uint8_t out[40];
    size_t w;
    assert_int_equal(vk_tcp_emit(&t, ph, out, sizeof(out), &w), VK_OK);
    assert_int_equal(w, 40);
    assert_memory_equal(out, ip.payload, 40);
    assert_int_equal(vk_tcp_emit(&t, ph, out, 39, &w), VK_EFULL);
    vk_test_assert_truncations_fail(parse_tcp_header, ip.payload, ip.payload_len);
    free(p);
}

static void test_tcp_data_offset_checked(void **state)
{
    (void)state;
    uint8_t h[20] = {0};
    vk_tcp_repr t;
    h[12] = 0x40; /* 16 bytes */
    assert_int_equal(vk_tcp_parse(h, sizeof(h), &t), VK_EFORMAT);
    h[12] = 0x60; /* 24 bytes in a 20-byte buffer */
    assert_int_equal(vk_tcp_parse(h, sizeof(h), &t), VK_ETRUNC);
}

static void test_tcp_option_length_zero_or_past_offset_is_malformed(void **state)
{
    (void)state;
    uint8_t h[24] = {0};
    h[12] = 0x60;
    vk_tcp_repr t;
    h[20] = 0x22; /* unknown kind, length 0: would never advance */
    h[21] = 0;
    assert_int_equal(vk_tcp_parse(h, sizeof(h), &t), VK_EFORMAT);
    h[21] = 5; /* runs past the data offset */
    assert_int_equal(vk_tcp_parse(h, sizeof(h), &t), VK_EFORMAT);
    h[20] = VK_TCP_OPT_MSS; /* MSS with the wrong size */
    h[21] = 3;
    assert_int_equal(vk_tcp_parse(h, sizeof(h), &t), VK_EFORMAT);
    h[20] = 1;
    h[21] = 1;
    h[22] = 1;
    h[23] = 0;
    assert_int_equal(vk_tcp_parse(h, sizeof(h), &t), VK_OK);
}

static void test_tcp_emit_round_trips_payload_and_flags(void **state)
{
    (void)state;
    vk_ip4 s, d;
    memcpy(s.b, guest_ip, 4);
    memcpy(d.b, gw_ip, 4);
    uint32_t ph = vk_csum_pseudo4(&s, &d, VK_IP_PROTO_TCP);
    const uint8_t pl[] = "abc";
    vk_tcp_repr r = {.src_port = 80, .dst_port = 40000, .seq = 7, .ack = 0x01020305,
                     .flags = VK_TCP_SYN | VK_TCP_ACK, .window = 1000, .has_mss = true,
                     .mss = 1460, .has_wscale = true, .wscale = 2, .payload = pl,
                     .payload_len = 3};
    uint8_t b[64];
    size_t n;
    assert_int_equal(vk_tcp_emit(&r, ph, b, sizeof(b), &n), VK_OK);
    assert_int_equal(n, 28 + 3);
    assert_true(vk_tcp_csum_ok(ph, b, n));
    vk_tcp_repr t;
    assert_int_equal(vk_tcp_parse(b, n, &t), VK_OK);
    assert_int_equal(t.flags, VK_TCP_SYN | VK_TCP_ACK);
    assert_int_equal(t.ack, 0x01020305);
    assert_int_equal(t.mss, 1460);
    assert_int_equal(t.wscale, 2);
    assert_false(t.has_ts);
    assert_memory_equal(t.payload, "abc", 3);
}

static void test_ethernet_fcs_is_the_standard_crc32(void **state)
{
    (void)state;
    /* the CRC-32 check value of "123456789" (IEEE 802.3 / zlib) */
    assert_int_equal(vk_eth_fcs((const uint8_t *)"123456789", 9), 0xcbf43926u);
    assert_int_equal(vk_eth_fcs(NULL, 0), 0);
}

static void test_ethernet_mcast_hash_uses_the_top_six_crc_bits(void **state)
{
    (void)state;
    /* expected: bitreverse(~zlib.crc32(mac)) >> 26, computed independently */
    const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const uint8_t all_hosts[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
    const uint8_t all_nodes[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
    assert_int_equal(vk_eth_mcast_hash6(bcast), 63);
    assert_int_equal(vk_eth_mcast_hash6(all_hosts), 31);
    assert_int_equal(vk_eth_mcast_hash6(all_nodes), 62);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ethernet_parse_plain_and_vlan_tagged),
        cmocka_unit_test(test_ethernet_fcs_is_the_standard_crc32),
        cmocka_unit_test(test_ethernet_mcast_hash_uses_the_top_six_crc_bits),
        cmocka_unit_test(test_ethernet_emit_round_trips_with_tag),
        cmocka_unit_test(test_arp_request_fields_match_libnet),
        cmocka_unit_test(test_arp_for_other_hardware_is_malformed),
        cmocka_unit_test(test_ipv4_udp_fields_match_libnet),
        cmocka_unit_test(test_ipv4_with_options_exposes_them_and_round_trips),
        cmocka_unit_test(test_ipv4_ihl_below_five_is_malformed),
        cmocka_unit_test(test_ipv4_total_length_beyond_buffer_is_truncated),
        cmocka_unit_test(test_ipv4_ignores_ethernet_padding),
        cmocka_unit_test(test_ipv4_bad_header_checksum_is_reported_not_fatal),
        cmocka_unit_test(test_ipv4_emit_fragment_fields),
        cmocka_unit_test(test_udp_length_field_checked),
        cmocka_unit_test(test_udp_emit_round_trips_with_valid_checksum),
        cmocka_unit_test(test_icmp_echo_fields_match_libnet),
        cmocka_unit_test(test_icmp_unreachable_quotes_the_datagram),
        cmocka_unit_test(test_tcp_syn_options_match_libnet),
        cmocka_unit_test(test_tcp_data_offset_checked),
        cmocka_unit_test(test_tcp_option_length_zero_or_past_offset_is_malformed),
        cmocka_unit_test(test_tcp_emit_round_trips_payload_and_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
