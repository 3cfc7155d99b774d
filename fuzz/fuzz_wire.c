/*
 * Fuzz target: every parser of wire/, with the round-trip property where an
 * emitter exists.  For a representation R parsed from the input:
 *   emit(R) succeeds, parse(emit(R)) succeeds and gives R again (field by
 *   field, for the fields emit writes), and emit is idempotent from there:
 *   emit(parse(emit(R))) == emit(R) byte for byte.
 * Checksums: what emit writes always verifies.  Also: vk_pkt_locate,
 * vk_wire_describe, and "vk_csum_fill_frame then vk_csum_check_frame finds
 * nothing bad".
 *
 * Input: one selector byte, then the bytes.  Selector 0 is an Ethernet frame
 * walked down every layer that parses (ARP, IPv4/IPv6, ICMP/ICMPv6, TCP,
 * UDP, DHCP on ports 67/68, TFTP on any UDP payload); selectors 1..10 feed
 * the bytes straight to one parser so the fuzzer need not get the outer
 * layers right first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "fuzz/fuzz.h"
#include "wire/arp.h"
#include "wire/buf.h"
#include "wire/checksum.h"
#include "wire/describe.h"
#include "wire/dhcp.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/icmpv6.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/packet.h"
#include "wire/tcp.h"
#include "wire/tftp.h"
#include "wire/udp.h"

/* Two emit buffers: big enough for any input (libFuzzer's -max_len is far
 * below) plus the largest header an emitter adds. */
#define VK_FRAME_MAX_FUZZ 70000
#define WBUF (VK_FRAME_MAX_FUZZ + 1024)
static uint8_t out1[WBUF], out2[WBUF];

static void same(bool ok, const char *proto, const char *what)
{
    if (!ok)
        vk_fuzz_fail("%s round trip: %s", proto, what);
}

static void ok_rc(int r, const char *proto, const char *step)
{
    if (r != VK_OK)
        vk_fuzz_fail("%s round trip: %s failed with %s", proto, step, vk_errname(r));
}

static bool bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static void idempotent(const char *proto, size_t n1, size_t n2)
{
    same(bytes_eq(out1, n1, out2, n2), proto, "emit(parse(emit(R))) != emit(R)");
}

/* ---- one function per protocol: parse, and round-trip what parsed ---- */

static void rt_eth(const uint8_t *p, size_t len)
{
    vk_eth_repr a, b;
    if (vk_eth_parse(p, len, &a) != VK_OK)
        return;
    size_t n1, n2;
    ok_rc(vk_eth_emit(&a, out1, sizeof out1, &n1), "eth", "emit");
    ok_rc(vk_eth_parse(out1, n1, &b), "eth", "reparse");
    same(!memcmp(a.dst.b, b.dst.b, 6) && !memcmp(a.src.b, b.src.b, 6), "eth", "addresses");
    same(a.ethertype == b.ethertype && a.has_vlan == b.has_vlan && a.vlan_tci == b.vlan_tci &&
             a.hdr_len == b.hdr_len,
         "eth", "type or tag");
    same(bytes_eq(a.payload, a.payload_len, b.payload, b.payload_len), "eth", "payload");
    ok_rc(vk_eth_emit(&b, out2, sizeof out2, &n2), "eth", "second emit");
    idempotent("eth", n1, n2);
}

static void rt_arp(const uint8_t *p, size_t len)
{
    vk_arp_repr a, b;
    if (vk_arp_parse(p, len, &a) != VK_OK)
        return;
    size_t n1, n2;
    ok_rc(vk_arp_emit(&a, out1, sizeof out1, &n1), "arp", "emit");
    ok_rc(vk_arp_parse(out1, n1, &b), "arp", "reparse");
    same(a.op == b.op && !memcmp(&a.sha, &b.sha, 6) && !memcmp(&a.spa, &b.spa, 4) &&
             !memcmp(&a.tha, &b.tha, 6) && !memcmp(&a.tpa, &b.tpa, 4),
         "arp", "fields");
    ok_rc(vk_arp_emit(&b, out2, sizeof out2, &n2), "arp", "second emit");
    idempotent("arp", n1, n2);
}

static void rt_icmp(const uint8_t *p, size_t len)
{
    vk_icmp_repr a, b;
    if (vk_icmp_parse(p, len, &a) != VK_OK)
        return;
    vk_ipv4_repr quoted;
    if (!vk_icmp_is_echo(a.type) && vk_icmp_quoted(&a, &quoted) == VK_OK)
        same(quoted.hdr_len <= a.data_len && quoted.payload_len <= a.data_len - quoted.hdr_len,
             "icmp", "quoted datagram larger than the data");
    size_t n1, n2;
    ok_rc(vk_icmp_emit(&a, out1, sizeof out1, &n1), "icmp", "emit");
    ok_rc(vk_icmp_parse(out1, n1, &b), "icmp", "reparse");
    same(b.csum_ok, "icmp", "emitted checksum does not verify");
    same(a.type == b.type && a.code == b.code && a.id == b.id && a.seq == b.seq &&
             a.rest == b.rest,
         "icmp", "header fields");
    same(bytes_eq(a.data, a.data_len, b.data, b.data_len), "icmp", "data");
    ok_rc(vk_icmp_emit(&b, out2, sizeof out2, &n2), "icmp", "second emit");
    idempotent("icmp", n1, n2);
}

static void rt_icmpv6(const uint8_t *p, size_t len, uint32_t pseudo)
{
    static vk_icmpv6_repr a, b;
    if (vk_icmpv6_parse(p, len, &a) != VK_OK)
        return;
    (void)vk_icmpv6_csum_ok(pseudo, p, len);
    size_t n1, n2;
    ok_rc(vk_icmpv6_emit(&a, pseudo, out1, sizeof out1, &n1), "icmpv6", "emit");
    ok_rc(vk_icmpv6_parse(out1, n1, &b), "icmpv6", "reparse");
    same(vk_icmpv6_csum_ok(pseudo, out1, n1), "icmpv6", "emitted checksum does not verify");
    same(a.type == b.type && a.code == b.code, "icmpv6", "type or code");
    same(a.has_src_ll == b.has_src_ll && a.has_tgt_ll == b.has_tgt_ll &&
             a.has_mtu == b.has_mtu && a.prefix_count == b.prefix_count &&
             a.rdnss_count == b.rdnss_count,
         "icmpv6", "options present");
    ok_rc(vk_icmpv6_emit(&b, pseudo, out2, sizeof out2, &n2), "icmpv6", "second emit");
    idempotent("icmpv6", n1, n2);
}

static void rt_tftp(const uint8_t *p, size_t len)
{
    static vk_tftp_repr a, b;
    if (vk_tftp_parse(p, len, &a) != VK_OK)
        return;
    size_t n1, n2;
    ok_rc(vk_tftp_emit(&a, out1, sizeof out1, &n1), "tftp", "emit");
    ok_rc(vk_tftp_parse(out1, n1, &b), "tftp", "reparse");
    same(a.opcode == b.opcode && a.option_count == b.option_count &&
             a.has_blksize == b.has_blksize && a.blksize == b.blksize &&
             a.has_timeout == b.has_timeout && a.timeout == b.timeout &&
             a.has_tsize == b.has_tsize && a.tsize == b.tsize && a.block == b.block &&
             a.error_code == b.error_code,
         "tftp", "fields");
    for (size_t i = 0; i < a.option_count; i++)
        same(!strcmp(a.options[i].name, b.options[i].name) &&
                 !strcmp(a.options[i].value, b.options[i].value),
             "tftp", "options");
    same(bytes_eq(a.data, a.data_len, b.data, b.data_len), "tftp", "data");
    ok_rc(vk_tftp_emit(&b, out2, sizeof out2, &n2), "tftp", "second emit");
    idempotent("tftp", n1, n2);
}

static void dhcp_emit(const vk_dhcp_repr *r, uint8_t *buf, size_t *n)
{
    vk_wr w;
    vk_wr_init(&w, buf, WBUF);
    ok_rc(vk_dhcp_emit_header(r, &w), "dhcp", "emit header");
    vk_wr_bytes(&w, r->options, r->options_len);
    ok_rc(vk_dhcp_finish(&w, 0), "dhcp", "finish");
    *n = w.off;
}

static void rt_dhcp(const uint8_t *p, size_t len)
{
    static vk_dhcp_repr a, b;
    if (vk_dhcp_parse(p, len, &a) != VK_OK)
        return;
    vk_mac m;
    (void)vk_dhcp_chaddr_mac(&a, &m);
    (void)vk_dhcp_msg_name(a.msg_type);
    size_t n1, n2;
    dhcp_emit(&a, out1, &n1);
    ok_rc(vk_dhcp_parse(out1, n1, &b), "dhcp", "reparse");
    same(a.op == b.op && a.htype == b.htype && a.hlen == b.hlen && a.hops == b.hops &&
             a.xid == b.xid && a.secs == b.secs && a.flags == b.flags &&
             !memcmp(&a.ciaddr, &b.ciaddr, 4) && !memcmp(&a.yiaddr, &b.yiaddr, 4) &&
             !memcmp(&a.siaddr, &b.siaddr, 4) && !memcmp(&a.giaddr, &b.giaddr, 4) &&
             !memcmp(a.chaddr, b.chaddr, 16) && !strcmp(a.sname, b.sname) &&
             !strcmp(a.file, b.file),
         "dhcp", "fixed fields");
    same(a.msg_type == b.msg_type && a.has_requested_ip == b.has_requested_ip &&
             a.has_server_id == b.has_server_id && a.has_lease_time == b.has_lease_time &&
             a.lease_time == b.lease_time && a.has_max_msg_size == b.has_max_msg_size &&
             a.max_msg_size == b.max_msg_size,
         "dhcp", "option fields");
    same(bytes_eq(a.param_request, a.param_request_len, b.param_request, b.param_request_len) &&
             bytes_eq(a.client_id, a.client_id_len, b.client_id, b.client_id_len) &&
             bytes_eq(a.hostname, a.hostname_len, b.hostname, b.hostname_len),
         "dhcp", "variable options");
    dhcp_emit(&b, out2, &n2);
    idempotent("dhcp", n1, n2);
}

static void walk_udp_payload(const vk_udp_repr *u)
{
    if (u->src_port == VK_UDP_PORT_BOOTPS || u->src_port == VK_UDP_PORT_BOOTPC ||
        u->dst_port == VK_UDP_PORT_BOOTPS || u->dst_port == VK_UDP_PORT_BOOTPC)
        rt_dhcp(u->payload, u->payload_len);
    rt_tftp(u->payload, u->payload_len);
}

/* UDP: the payload of the second parse is copied first, because the emit
 * buffers are reused by the layers inside. */
static void rt_udp(const uint8_t *p, size_t len, uint32_t pseudo, bool walk)
{
    vk_udp_repr a, b;
    if (vk_udp_parse(p, len, &a) != VK_OK)
        return;
    (void)vk_udp_csum_ok(pseudo, p, a.payload_len + VK_UDP_HLEN, true);
    size_t n1, n2;
    ok_rc(vk_udp_emit(&a, pseudo, out1, sizeof out1, &n1), "udp", "emit");
    ok_rc(vk_udp_parse(out1, n1, &b), "udp", "reparse");
    same(vk_udp_csum_ok(pseudo, out1, n1, false), "udp", "emitted checksum does not verify");
    same(a.src_port == b.src_port && a.dst_port == b.dst_port, "udp", "ports");
    same(bytes_eq(a.payload, a.payload_len, b.payload, b.payload_len), "udp", "payload");
    ok_rc(vk_udp_emit(&b, pseudo, out2, sizeof out2, &n2), "udp", "second emit");
    idempotent("udp", n1, n2);
    if (walk)
        walk_udp_payload(&a);
}

static void rt_tcp(const uint8_t *p, size_t len, uint32_t pseudo)
{
    vk_tcp_repr a, b;
    if (vk_tcp_parse(p, len, &a) != VK_OK)
        return;
    (void)vk_tcp_csum_ok(pseudo, p, len);
    size_t n1, n2;
    ok_rc(vk_tcp_emit(&a, pseudo, out1, sizeof out1, &n1), "tcp", "emit");
    ok_rc(vk_tcp_parse(out1, n1, &b), "tcp", "reparse");
    same(vk_tcp_csum_ok(pseudo, out1, n1), "tcp", "emitted checksum does not verify");
    same(a.src_port == b.src_port && a.dst_port == b.dst_port && a.seq == b.seq &&
             a.ack == b.ack && a.flags == b.flags && a.window == b.window &&
             a.urgent == b.urgent && a.hdr_len == b.hdr_len,
         "tcp", "header fields");
    same(a.has_mss == b.has_mss && a.mss == b.mss && a.has_wscale == b.has_wscale &&
             a.wscale == b.wscale && a.sack_perm == b.sack_perm && a.has_ts == b.has_ts &&
             a.ts_val == b.ts_val && a.ts_ecr == b.ts_ecr,
         "tcp", "options");
    same(bytes_eq(a.payload, a.payload_len, b.payload, b.payload_len), "tcp", "payload");
    ok_rc(vk_tcp_emit(&b, pseudo, out2, sizeof out2, &n2), "tcp", "second emit");
    idempotent("tcp", n1, n2);

    /* The options built from the parsed fields (raw bytes dropped) must
     * parse back to the same fields. */
    vk_tcp_repr c = a, d;
    c.options = NULL;
    c.options_len = 0;
    c.payload = NULL;
    c.payload_len = 0;
    ok_rc(vk_tcp_emit(&c, pseudo, out1, sizeof out1, &n1), "tcp (built options)", "emit");
    ok_rc(vk_tcp_parse(out1, n1, &d), "tcp (built options)", "reparse");
    same(c.has_mss == d.has_mss && (!c.has_mss || c.mss == d.mss) &&
             c.has_wscale == d.has_wscale && (!c.has_wscale || c.wscale == d.wscale) &&
             c.sack_perm == d.sack_perm && c.has_ts == d.has_ts &&
             (!c.has_ts || (c.ts_val == d.ts_val && c.ts_ecr == d.ts_ecr)),
         "tcp (built options)", "options");
}

static void walk_l4(uint8_t proto, const uint8_t *p, size_t len, uint32_t pseudo, bool v6)
{
    if (proto == VK_IP_PROTO_TCP)
        rt_tcp(p, len, pseudo);
    else if (proto == VK_IP_PROTO_UDP)
        rt_udp(p, len, pseudo, true);
    else if (proto == VK_IP_PROTO_ICMP && !v6)
        rt_icmp(p, len);
    else if (proto == VK_IP_PROTO_ICMPV6 && v6)
        rt_icmpv6(p, len, pseudo);
}

static void rt_ipv4(const uint8_t *p, size_t len, bool walk)
{
    vk_ipv4_repr a, b;
    if (vk_ipv4_parse(p, len, &a) != VK_OK)
        return;
    vk_ipv4_repr q;
    (void)vk_ipv4_parse_quoted(p, len, &q);
    size_t n1, n2;
    ok_rc(vk_ipv4_emit(&a, out1, sizeof out1, &n1), "ipv4", "emit");
    ok_rc(vk_ipv4_parse(out1, n1, &b), "ipv4", "reparse");
    same(b.csum_ok, "ipv4", "emitted checksum does not verify");
    same(a.tos == b.tos && a.id == b.id && a.df == b.df && a.mf == b.mf &&
             a.frag_off == b.frag_off && a.ttl == b.ttl && a.proto == b.proto &&
             !memcmp(&a.src, &b.src, 4) && !memcmp(&a.dst, &b.dst, 4) &&
             a.hdr_len == b.hdr_len && a.total_len == b.total_len,
         "ipv4", "header fields");
    same(bytes_eq(a.options, a.options_len, b.options, b.options_len), "ipv4", "options");
    same(bytes_eq(a.payload, a.payload_len, b.payload, b.payload_len), "ipv4", "payload");
    ok_rc(vk_ipv4_emit(&b, out2, sizeof out2, &n2), "ipv4", "second emit");
    idempotent("ipv4", n1, n2);
    if (walk && !a.mf && a.frag_off == 0)
        walk_l4(a.proto, a.payload, a.payload_len, vk_csum_pseudo4(&a.src, &a.dst, a.proto),
                false);
}

static void rt_ipv6(const uint8_t *p, size_t len, bool walk)
{
    vk_ipv6_repr a, b;
    if (vk_ipv6_parse(p, len, &a) != VK_OK)
        return;
    same(a.hdr_len >= VK_IPV6_HLEN && a.hdr_len + a.payload_len <= len, "ipv6",
         "parsed lengths outside the input");
    /* Emit takes the whole payload: extension headers and upper layer. */
    vk_ipv6_repr e = a;
    e.payload = p + VK_IPV6_HLEN;
    e.payload_len = a.hdr_len - VK_IPV6_HLEN + a.payload_len;
    size_t n1, n2;
    ok_rc(vk_ipv6_emit(&e, out1, sizeof out1, &n1), "ipv6", "emit");
    ok_rc(vk_ipv6_parse(out1, n1, &b), "ipv6", "reparse");
    same(a.tclass == b.tclass && a.flow == b.flow && a.next_header == b.next_header &&
             a.hop_limit == b.hop_limit && !memcmp(&a.src, &b.src, 16) &&
             !memcmp(&a.dst, &b.dst, 16) && a.proto == b.proto && a.hdr_len == b.hdr_len,
         "ipv6", "header fields");
    same(bytes_eq(a.payload, a.payload_len, b.payload, b.payload_len), "ipv6", "payload");
    vk_ipv6_repr f = b;
    f.payload = out1 + VK_IPV6_HLEN;
    f.payload_len = b.hdr_len - VK_IPV6_HLEN + b.payload_len;
    ok_rc(vk_ipv6_emit(&f, out2, sizeof out2, &n2), "ipv6", "second emit");
    idempotent("ipv6", n1, n2);
    if (walk && a.proto != VK_IP_PROTO_FRAGMENT)
        walk_l4(a.proto, a.payload, a.payload_len, vk_csum_pseudo6(&a.src, &a.dst, a.proto),
                true);
}

/* The whole-frame helpers: locate, describe, checksum fill/check. */
static void frame_helpers(const uint8_t *p, size_t len)
{
    vk_pkt k;
    if (vk_pkt_locate(p, len, &k) == VK_OK) {
        same(k.l3_off <= len && k.l3_end <= len && k.l4_off <= len, "pkt_locate",
             "offsets outside the frame");
        if (vk_pkt_is_tcp_udp(&k))
            same(k.l4_off <= k.l3_end && vk_pkt_l4_len(&k) == k.l3_end - k.l4_off, "pkt_locate",
                 "transport length");
        (void)vk_pkt_pseudo(&k);
    }
    char line[512];
    size_t n = vk_wire_describe(p, len, line, sizeof line);
    same(n < sizeof line && strlen(line) == n, "describe", "length of the line");

    static uint8_t copy[VK_FRAME_MAX_FUZZ];
    if (len > sizeof copy)
        return;
    memcpy(copy, p, len);
    unsigned bad = 0;
    (void)vk_csum_check_frame(copy, len, &bad);
    if (vk_csum_fill_frame(copy, len) != VK_OK)
        return;
    int r = vk_csum_check_frame(copy, len, &bad);
    same(r == VK_OK && !(bad & VK_CSUM_BAD_IP4), "checksum", "IPv4 header bad after fill");
    /* A segment too short to hold its checksum field cannot be filled and
     * is reported bad by design; any other must verify after fill. */
    if ((bad & VK_CSUM_BAD_L4) && vk_pkt_locate(copy, len, &k) == VK_OK && k.l4_off > 0 &&
        !k.frag) {
        size_t l4len = vk_pkt_l4_len(&k);
        size_t min = k.proto == VK_IP_PROTO_TCP ? 20 : k.proto == VK_IP_PROTO_UDP ? 8 : 4;
        same(l4len < min, "checksum", "check after fill finds a bad transport checksum");
    }
    static uint8_t again[VK_FRAME_MAX_FUZZ];
    memcpy(again, copy, len);
    (void)vk_csum_fill_frame(again, len);
    same(memcmp(again, copy, len) == 0, "checksum", "fill is not idempotent");
}

static void walk_frame(const uint8_t *p, size_t len)
{
    vk_eth_repr eth;
    frame_helpers(p, len);
    if (vk_eth_parse(p, len, &eth) != VK_OK)
        return;
    rt_eth(p, len);
    if (eth.ethertype == VK_ETHERTYPE_ARP)
        rt_arp(eth.payload, eth.payload_len);
    else if (eth.ethertype == VK_ETHERTYPE_IPV4)
        rt_ipv4(eth.payload, eth.payload_len, true);
    else if (eth.ethertype == VK_ETHERTYPE_IPV6)
        rt_ipv6(eth.payload, eth.payload_len, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t len = size - 1;
    switch (data[0] % 11) {
    case 0: walk_frame(p, len); break;
    case 1: rt_eth(p, len); break;
    case 2: rt_arp(p, len); break;
    case 3: rt_ipv4(p, len, false); break;
    case 4: rt_ipv6(p, len, false); break;
    case 5: rt_icmp(p, len); break;
    case 6: rt_icmpv6(p, len, 0x1234); break;
    case 7: rt_tcp(p, len, 0x1234); break;
    case 8: rt_udp(p, len, 0x1234, false); break;
    case 9: rt_tftp(p, len); break;
    case 10: rt_dhcp(p, len); break;
    }
    return 0;
}
