/*
 * One-line frame summaries (see describe.h).  One function per layer, each
 * appending to a bounded string; a parse error ends the line with a tag.
 * Wording follows tcpdump where it has one, so readers recognise it.
 */
#include "wire/describe.h"

#include "core/addr.h"
#include "core/error.h"
#include "wire/arp.h"
#include "wire/dhcp.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/icmpv6.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/tcp.h"
#include "wire/tftp.h"
#include "wire/udp.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct line {
    char *s;
    size_t cap;
    size_t len; /* always < cap when cap > 0 */
};

static void add(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct line *l, const char *fmt, ...)
{
    if (l->cap == 0 || l->len >= l->cap - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->s + l->len, l->cap - l->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    l->len += (size_t)n;
    if (l->len >= l->cap)
        l->len = l->cap - 1;
}

static void add_error(struct line *l, int err)
{
    add(l, err == VK_ETRUNC ? " [truncated]" : " [malformed]");
}

/* Printable form of a packet string, cut short: peers choose these bytes
 * and the line may end up in a terminal or a log. */
static void add_safe(struct line *l, const char *s, bool quoted)
{
    for (size_t i = 0; s[i] != '\0' && i < 64; i++) {
        unsigned char c = (unsigned char)s[i];
        bool space_ok = quoted && c == ' ';
        if ((space_ok || (c > 0x20 && c < 0x7f)) && c != '"' && c != '\\')
            add(l, "%c", c);
        else
            add(l, "\\x%02x", c);
    }
}

static void add_quoted(struct line *l, const char *s)
{
    add(l, "\"");
    add_safe(l, s, true);
    add(l, "\"");
}

/* Addresses of the network layer, formatted once for the L4 printers. */
struct ends {
    char src[VK_IP6_STRLEN];
    char dst[VK_IP6_STRLEN];
};

static void describe_dhcp(struct line *l, const uint8_t *p, size_t len)
{
    vk_dhcp_repr d;
    int err = vk_dhcp_parse(p, len, &d);
    if (err != VK_OK && len >= VK_DHCP_FIXED_LEN) {
        add(l, "BOOTP/DHCP xid 0x%" PRIx32, vk_get_be32(p + 4));
        add_error(l, err);
        return;
    }
    if (err != VK_OK) {
        add(l, "BOOTP/DHCP");
        add_error(l, err);
        return;
    }
    char a[VK_IP4_STRLEN];
    if (d.msg_type == 0)
        add(l, "BOOTP %s", d.op == VK_BOOTP_REPLY ? "reply" : "request");
    else
        add(l, "DHCP %s", vk_dhcp_msg_name(d.msg_type));
    if (vk_ip4_to_u32(d.yiaddr) != 0)
        add(l, " yiaddr %s", vk_ip4_format(&d.yiaddr, a));
    if (d.has_requested_ip)
        add(l, " requested %s", vk_ip4_format(&d.requested_ip, a));
    add(l, " xid 0x%" PRIx32, d.xid);
}

static void describe_tftp_options(struct line *l, const vk_tftp_repr *t)
{
    for (size_t i = 0; i < t->option_count; i++) {
        add(l, " ");
        add_safe(l, t->options[i].name, false);
        add(l, " ");
        add_safe(l, t->options[i].value, false);
    }
}

static void describe_tftp(struct line *l, const uint8_t *p, size_t len)
{
    vk_tftp_repr t;
    int err = vk_tftp_parse(p, len, &t);
    add(l, "TFTP");
    if (err != VK_OK) {
        add_error(l, err);
        return;
    }
    add(l, " %s", vk_tftp_op_name(t.opcode));
    switch (t.opcode) {
    case VK_TFTP_RRQ:
    case VK_TFTP_WRQ:
        add(l, " ");
        add_quoted(l, t.filename);
        if (strcmp(t.mode, "octet") != 0) {
            add(l, " ");
            add_quoted(l, t.mode);
        }
        describe_tftp_options(l, &t);
        break;
    case VK_TFTP_OACK:
        describe_tftp_options(l, &t);
        break;
    case VK_TFTP_DATA:
        add(l, " block %u len %zu", t.block, t.data_len);
        break;
    case VK_TFTP_ACK:
        add(l, " block %u", t.block);
        break;
    default:
        add(l, " %u ", t.error_code);
        add_quoted(l, t.error_msg);
        break;
    }
}

static bool port_is(const vk_udp_repr *u, uint16_t a, uint16_t b)
{
    return (u->src_port == a && u->dst_port == b) || (u->src_port == b && u->dst_port == a);
}

static void describe_udp(struct line *l, const struct ends *e, const uint8_t *p, size_t len)
{
    vk_udp_repr u;
    int err = vk_udp_parse(p, len, &u);
    if (err != VK_OK) {
        add(l, "%s > %s: UDP", e->src, e->dst);
        add_error(l, err);
        return;
    }
    add(l, "%s.%u > %s.%u: ", e->src, u.src_port, e->dst, u.dst_port);
    if (port_is(&u, VK_UDP_PORT_BOOTPS, VK_UDP_PORT_BOOTPC))
        describe_dhcp(l, u.payload, u.payload_len);
    else if (u.src_port == VK_UDP_PORT_TFTP || u.dst_port == VK_UDP_PORT_TFTP)
        describe_tftp(l, u.payload, u.payload_len);
    else
        add(l, "UDP len %zu", u.payload_len);
}

/* tcpdump's letters, in tcpdump's order. */
static void add_tcp_flags(struct line *l, uint8_t flags)
{
    static const struct {
        uint8_t bit;
        char c;
    } tab[] = {{VK_TCP_FIN, 'F'}, {VK_TCP_SYN, 'S'}, {VK_TCP_RST, 'R'}, {VK_TCP_PSH, 'P'},
               {VK_TCP_ACK, '.'}, {VK_TCP_URG, 'U'}, {VK_TCP_ECE, 'E'}, {VK_TCP_CWR, 'W'}};
    add(l, "[");
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
        if (flags & tab[i].bit)
            add(l, "%c", tab[i].c);
    if (flags == 0)
        add(l, "none");
    add(l, "]");
}

static void describe_tcp(struct line *l, const struct ends *e, const uint8_t *p, size_t len)
{
    vk_tcp_repr t;
    int err = vk_tcp_parse(p, len, &t);
    if (err != VK_OK) {
        add(l, "%s > %s: TCP", e->src, e->dst);
        add_error(l, err);
        return;
    }
    add(l, "%s.%u > %s.%u: TCP ", e->src, t.src_port, e->dst, t.dst_port);
    add_tcp_flags(l, t.flags);
    add(l, " seq %" PRIu32, t.seq);
    if (t.flags & VK_TCP_ACK)
        add(l, " ack %" PRIu32, t.ack);
    add(l, " win %u", t.window);
    if (t.has_mss)
        add(l, " mss %u", t.mss);
    if (t.has_wscale)
        add(l, " wscale %u", t.wscale);
    add(l, " len %zu", t.payload_len);
}

static const char *icmp_name(uint8_t type)
{
    switch (type) {
    case VK_ICMP_ECHO_REPLY:
        return "echo reply";
    case VK_ICMP_ECHO_REQUEST:
        return "echo request";
    case VK_ICMP_DEST_UNREACH:
        return "unreachable";
    case VK_ICMP_REDIRECT:
        return "redirect";
    case VK_ICMP_TIME_EXCEEDED:
        return "time exceeded";
    case VK_ICMP_PARAM_PROBLEM:
        return "parameter problem";
    default:
        return NULL;
    }
}

static void describe_icmp(struct line *l, const struct ends *e, const uint8_t *p, size_t len)
{
    vk_icmp_repr c;
    add(l, "%s > %s: ICMP", e->src, e->dst);
    int err = vk_icmp_parse(p, len, &c);
    if (err != VK_OK) {
        add_error(l, err);
        return;
    }
    const char *name = icmp_name(c.type);
    if (name == NULL)
        add(l, " type %u", c.type);
    else
        add(l, " %s", name);
    if (vk_icmp_is_echo(c.type)) {
        add(l, " id %u seq %u", c.id, c.seq);
        return;
    }
    add(l, " code %u", c.code);
    vk_ipv4_repr q;
    if (vk_icmp_quoted(&c, &q) == VK_OK) {
        char a[VK_IP4_STRLEN], b[VK_IP4_STRLEN];
        add(l, " for %s > %s proto %u", vk_ip4_format(&q.src, a), vk_ip4_format(&q.dst, b),
            q.proto);
    }
}

static const char *icmpv6_name(uint8_t type)
{
    switch (type) {
    case VK_ICMPV6_DEST_UNREACH:
        return "destination unreachable";
    case VK_ICMPV6_PKT_TOO_BIG:
        return "packet too big";
    case VK_ICMPV6_TIME_EXCEEDED:
        return "time exceeded";
    case VK_ICMPV6_PARAM_PROBLEM:
        return "parameter problem";
    case VK_ICMPV6_ECHO_REQUEST:
        return "echo request";
    case VK_ICMPV6_ECHO_REPLY:
        return "echo reply";
    case VK_ICMPV6_ROUTER_SOLICIT:
        return "router solicitation";
    case VK_ICMPV6_ROUTER_ADVERT:
        return "router advertisement";
    case VK_ICMPV6_NEIGHBOR_SOLICIT:
        return "neighbor solicitation";
    case VK_ICMPV6_NEIGHBOR_ADVERT:
        return "neighbor advertisement";
    case VK_ICMPV6_REDIRECT:
        return "redirect";
    default:
        return NULL;
    }
}

static void describe_icmpv6_body(struct line *l, const vk_icmpv6_repr *c)
{
    char a[VK_IP6_STRLEN];
    switch (c->type) {
    case VK_ICMPV6_ECHO_REQUEST:
    case VK_ICMPV6_ECHO_REPLY:
        add(l, " id %u seq %u", c->id, c->seq);
        break;
    case VK_ICMPV6_NEIGHBOR_SOLICIT:
        add(l, " who has %s", vk_ip6_format(&c->target, a));
        break;
    case VK_ICMPV6_NEIGHBOR_ADVERT:
        add(l, " tgt is %s", vk_ip6_format(&c->target, a));
        break;
    case VK_ICMPV6_ROUTER_ADVERT:
        for (size_t i = 0; i < c->prefix_count; i++)
            add(l, " prefix %s/%u", vk_ip6_format(&c->prefix[i].prefix, a),
                c->prefix[i].prefix_len);
        for (size_t i = 0; i < c->rdnss_count; i++)
            add(l, " rdnss %s", vk_ip6_format(&c->rdnss[i], a));
        break;
    default:
        break;
    }
    char m[VK_MAC_STRLEN];
    if (c->has_tgt_ll)
        add(l, " tgt-ll %s", vk_mac_format(&c->tgt_ll, m));
    if (c->has_src_ll)
        add(l, " src-ll %s", vk_mac_format(&c->src_ll, m));
}

static void describe_icmpv6(struct line *l, const struct ends *e, const uint8_t *p, size_t len)
{
    vk_icmpv6_repr c;
    add(l, "%s > %s: ICMPv6", e->src, e->dst);
    int err = vk_icmpv6_parse(p, len, &c);
    if (len >= 1) {
        const char *name = icmpv6_name(p[0]);
        if (name == NULL)
            add(l, " type %u", p[0]);
        else
            add(l, " %s", name);
    }
    if (err != VK_OK) {
        add_error(l, err);
        return;
    }
    describe_icmpv6_body(l, &c);
}

static void describe_l4(struct line *l, const struct ends *e, uint8_t proto,
                        const uint8_t *p, size_t len)
{
    switch (proto) {
    case VK_IP_PROTO_UDP:
        describe_udp(l, e, p, len);
        break;
    case VK_IP_PROTO_TCP:
        describe_tcp(l, e, p, len);
        break;
    case VK_IP_PROTO_ICMP:
        describe_icmp(l, e, p, len);
        break;
    case VK_IP_PROTO_ICMPV6:
        describe_icmpv6(l, e, p, len);
        break;
    default:
        add(l, "%s > %s: proto %u len %zu", e->src, e->dst, proto, len);
        break;
    }
}

static void describe_ipv4(struct line *l, const uint8_t *p, size_t len)
{
    vk_ipv4_repr ip;
    struct ends e;
    add(l, "IPv4");
    int err = vk_ipv4_parse(p, len, &ip);
    if (err != VK_OK) {
        /* A header that is whole still names the endpoints. */
        if (err == VK_ETRUNC && vk_ipv4_parse_quoted(p, len, &ip) == VK_OK)
            add(l, " %s > %s:", vk_ip4_format(&ip.src, e.src), vk_ip4_format(&ip.dst, e.dst));
        add_error(l, err);
        return;
    }
    vk_ip4_format(&ip.src, e.src);
    vk_ip4_format(&ip.dst, e.dst);
    add(l, " ");
    if (ip.frag_off != 0) {
        add(l, "%s > %s: frag id %u offset %u proto %u len %zu", e.src, e.dst, ip.id,
            ip.frag_off, ip.proto, ip.payload_len);
        return;
    }
    describe_l4(l, &e, ip.proto, ip.payload, ip.payload_len);
    if (!ip.csum_ok)
        add(l, " [bad ip cksum]");
}

static void describe_ipv6(struct line *l, const uint8_t *p, size_t len)
{
    vk_ipv6_repr ip;
    struct ends e;
    add(l, "IPv6");
    int err = vk_ipv6_parse(p, len, &ip);
    if (err != VK_OK) {
        if (len >= VK_IPV6_HLEN && p[0] >> 4 == 6) {
            vk_ip6 s, d;
            memcpy(s.b, p + 8, 16);
            memcpy(d.b, p + 24, 16);
            add(l, " %s > %s:", vk_ip6_format(&s, e.src), vk_ip6_format(&d, e.dst));
        }
        add_error(l, err);
        return;
    }
    vk_ip6_format(&ip.src, e.src);
    vk_ip6_format(&ip.dst, e.dst);
    add(l, " ");
    describe_l4(l, &e, ip.proto, ip.payload, ip.payload_len);
}

static void describe_arp(struct line *l, const uint8_t *p, size_t len)
{
    vk_arp_repr a;
    add(l, "ARP");
    int err = vk_arp_parse(p, len, &a);
    if (err != VK_OK) {
        add_error(l, err);
        return;
    }
    char x[VK_IP4_STRLEN], y[VK_IP4_STRLEN], m[VK_MAC_STRLEN];
    if (a.op == VK_ARP_OP_REQUEST)
        add(l, " who-has %s tell %s", vk_ip4_format(&a.tpa, x), vk_ip4_format(&a.spa, y));
    else if (a.op == VK_ARP_OP_REPLY)
        add(l, " reply %s is-at %s", vk_ip4_format(&a.spa, x), vk_mac_format(&a.sha, m));
    else
        add(l, " op %u", a.op);
}

size_t vk_wire_describe(const uint8_t *frame, size_t len, char *out, size_t cap)
{
    struct line l = {out, cap, 0};
    if (cap == 0)
        return 0;
    out[0] = '\0';
    vk_eth_repr eth;
    int err = vk_eth_parse(frame, len, &eth);
    if (err != VK_OK) {
        add(&l, "Ethernet");
        add_error(&l, err);
        return l.len;
    }
    char s[VK_MAC_STRLEN], d[VK_MAC_STRLEN];
    add(&l, "%s > %s, ", vk_mac_format(&eth.src, s), vk_mac_format(&eth.dst, d));
    if (eth.has_vlan)
        add(&l, "vlan %u, ", vk_eth_vlan_id(&eth));
    switch (eth.ethertype) {
    case VK_ETHERTYPE_IPV4:
        describe_ipv4(&l, eth.payload, eth.payload_len);
        break;
    case VK_ETHERTYPE_IPV6:
        describe_ipv6(&l, eth.payload, eth.payload_len);
        break;
    case VK_ETHERTYPE_ARP:
        describe_arp(&l, eth.payload, eth.payload_len);
        break;
    default:
        add(&l, "ethertype 0x%04x len %zu", eth.ethertype, eth.payload_len);
        break;
    }
    return l.len;
}
