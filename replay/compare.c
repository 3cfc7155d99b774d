/*
 * Flow keys, normalisations and field-level diffs (see compare.h).  Every
 * look into a frame goes through the wire/ parsers; normalisations only touch
 * fields those parsers located.
 */
#include "replay/compare.h"
#include "core/grow.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "replay/rewrite.h"
#include "wire/arp.h"
#include "wire/buf.h"
#include "wire/checksum.h"
#include "wire/dhcp.h"
#include "wire/icmp.h"
#include "wire/icmpv6.h"
#include "wire/tcp.h"
#include "wire/tftp.h"
#include "wire/udp.h"

static const char *const norm_names[] = {"ip-id", "checksums", "tcp-ts", "tcp-isn", "eth-pad"};

const char *vk_norm_name(unsigned bit)
{
    for (unsigned i = 0; i < 5; i++)
        if (bit == 1u << i)
            return norm_names[i];
    return "?";
}

static int norm_bit(const char *name, size_t n, unsigned *bit)
{
    if (n == 3 && strncmp(name, "all", 3) == 0) {
        *bit = VK_NORM_ALL;
        return VK_OK;
    }
    for (unsigned i = 0; i < 5; i++)
        if (strlen(norm_names[i]) == n && strncmp(name, norm_names[i], n) == 0) {
            *bit = 1u << i;
            return VK_OK;
        }
    return VK_EINVAL;
}

int vk_norm_parse(const char *list, bool on, unsigned *mask, vk_diag *d)
{
    const char *p = list;
    for (;;) {
        size_t n = strcspn(p, ",");
        unsigned bit;
        if (norm_bit(p, n, &bit) != VK_OK)
            return vk_diag_set(d, VK_EINVAL,
                               "--%snormalize: unknown normalisation '%.*s' (known: ip-id, "
                               "checksums, tcp-ts, tcp-isn, eth-pad, all)",
                               on ? "" : "no-", (int)n, p);
        *mask = on ? *mask | bit : *mask & ~bit;
        if (p[n] == '\0')
            return VK_OK;
        p += n + 1;
    }
}

/* ---- flow keys ---- */

typedef struct endpoint {
    const uint8_t *addr;
    int port; /* -1: none */
} endpoint;

static void format_ep(const vk_pkt *k, const endpoint *e, char *buf, size_t cap)
{
    char a[VK_IP6_STRLEN];
    if (k->l3 == 4 || k->eth.ethertype == VK_ETHERTYPE_ARP)
        vk_ip4_format((const vk_ip4 *)e->addr, a);
    else
        vk_ip6_format((const vk_ip6 *)e->addr, a);
    if (e->port >= 0)
        snprintf(buf, cap, "%s:%d", a, e->port);
    else
        snprintf(buf, cap, "%s", a);
}

/* "what A <> B tail" with the endpoints in a fixed order. */
static void pair_key(const vk_pkt *k, char *key, size_t off, const char *what, endpoint x,
                     endpoint y, size_t alen, const char *tail)
{
    int c = memcmp(x.addr, y.addr, alen);
    if (c > 0 || (c == 0 && x.port > y.port)) {
        endpoint t = x;
        x = y;
        y = t;
    }
    char a[64], b[64];
    format_ep(k, &x, a, sizeof a);
    format_ep(k, &y, b, sizeof b);
    snprintf(key + off, VK_FLOW_KEY_MAX - off, "%s %s <> %s%s", what, a, b, tail);
}

static void ip_ends(const vk_pkt *k, endpoint *s, endpoint *d, size_t *alen)
{
    s->addr = k->l3 == 4 ? k->ip4.src.b : k->ip6.src.b;
    d->addr = k->l3 == 4 ? k->ip4.dst.b : k->ip6.dst.b;
    s->port = d->port = -1;
    *alen = k->l3 == 4 ? 4 : 16;
}

static bool l4_key(const vk_pkt *k, const uint8_t *f, char *key, size_t off)
{
    const uint8_t *seg = f + k->l4_off;
    size_t seglen = k->l3_end - k->l4_off;
    endpoint s, d;
    size_t alen;
    ip_ends(k, &s, &d, &alen);
    char tail[32];
    if (k->proto == VK_IP_PROTO_UDP || k->proto == VK_IP_PROTO_TCP) {
        if (seglen < 4)
            return false;
        s.port = vk_get_be16(seg);
        d.port = vk_get_be16(seg + 2);
        bool dhcp = k->proto == VK_IP_PROTO_UDP && k->l3 == 4 &&
                    ((s.port == 67 && d.port == 68) || (s.port == 68 && d.port == 67));
        vk_dhcp_repr dh;
        if (dhcp && seglen > 8 && vk_dhcp_parse(seg + 8, seglen - 8, &dh) == VK_OK) {
            snprintf(key + off, VK_FLOW_KEY_MAX - off, "dhcp xid 0x%08" PRIx32, dh.xid);
            return true;
        }
        pair_key(k, key, off, k->proto == VK_IP_PROTO_TCP ? "tcp" : "udp", s, d, alen, "");
        return true;
    }
    if (k->proto == VK_IP_PROTO_ICMP && k->l3 == 4) {
        vk_icmp_repr ic;
        if (vk_icmp_parse(seg, seglen, &ic) != VK_OK)
            return false;
        if (vk_icmp_is_echo(ic.type))
            snprintf(tail, sizeof tail, " id %u", ic.id);
        else
            snprintf(tail, sizeof tail, " type %u", ic.type);
        pair_key(k, key, off, "icmp", s, d, alen, tail);
        return true;
    }
    if (k->proto == VK_IP_PROTO_ICMPV6 && k->l3 == 6) {
        vk_icmpv6_repr ic;
        if (vk_icmpv6_parse(seg, seglen, &ic) != VK_OK)
            return false;
        char t[VK_IP6_STRLEN];
        if (ic.type == VK_ICMPV6_NEIGHBOR_SOLICIT || ic.type == VK_ICMPV6_NEIGHBOR_ADVERT) {
            snprintf(key + off, VK_FLOW_KEY_MAX - off, "icmp6 nd %s", vk_ip6_format(&ic.target, t));
            return true;
        }
        if (ic.type == VK_ICMPV6_ROUTER_SOLICIT || ic.type == VK_ICMPV6_ROUTER_ADVERT) {
            snprintf(key + off, VK_FLOW_KEY_MAX - off, "icmp6 router");
            return true;
        }
        if (ic.type == VK_ICMPV6_ECHO_REQUEST || ic.type == VK_ICMPV6_ECHO_REPLY)
            snprintf(tail, sizeof tail, " id %u", ic.id);
        else
            snprintf(tail, sizeof tail, " type %u", ic.type);
        pair_key(k, key, off, "icmp6", s, d, alen, tail);
        return true;
    }
    return false;
}

void vk_flow_key(const uint8_t *f, size_t len, char *key)
{
    vk_pkt k;
    key[0] = '\0';
    if (vk_pkt_locate(f, len, &k) != VK_OK) {
        snprintf(key, VK_FLOW_KEY_MAX, "runt");
        return;
    }
    size_t off = 0;
    if (k.eth.has_vlan)
        off = (size_t)snprintf(key, VK_FLOW_KEY_MAX, "vlan %u ", vk_eth_vlan_id(&k.eth));
    if (k.l3 != 0 && k.l4_off != 0 && l4_key(&k, f, key, off))
        return;
    if (k.l3 != 0) {
        endpoint s, d;
        size_t alen;
        char tail[16];
        ip_ends(&k, &s, &d, &alen);
        snprintf(tail, sizeof tail, " proto %u", k.proto);
        pair_key(&k, key, off, "ip", s, d, alen, tail);
        return;
    }
    vk_arp_repr a;
    if (k.eth.ethertype == VK_ETHERTYPE_ARP &&
        vk_arp_parse(k.eth.payload, k.eth.payload_len, &a) == VK_OK) {
        pair_key(&k, key, off, "arp", (endpoint){a.spa.b, -1}, (endpoint){a.tpa.b, -1}, 4, "");
        return;
    }
    const vk_mac *m1 = &k.eth.src, *m2 = &k.eth.dst;
    if (memcmp(m1->b, m2->b, 6) > 0) {
        m1 = &k.eth.dst;
        m2 = &k.eth.src;
    }
    char a1[VK_MAC_STRLEN], a2[VK_MAC_STRLEN];
    snprintf(key + off, VK_FLOW_KEY_MAX - off, "eth 0x%04x %s <> %s", k.eth.ethertype,
             vk_mac_format(m1, a1), vk_mac_format(m2, a2));
}

/* ---- normalisation ---- */

void vk_patch_csum(uint8_t *seg, size_t csum_off, size_t off, const uint8_t *bytes, size_t n)
{
    size_t start = off & ~(size_t)1, end = (off + n + 1) & ~(size_t)1;
    uint8_t old[16];
    if (end - start > sizeof old)
        return;
    memcpy(old, seg + start, end - start);
    memcpy(seg + off, bytes, n);
    uint16_t cs = vk_get_be16(seg + csum_off);
    for (size_t w = start; w < end; w += 2)
        cs = vk_csum_update16(cs, vk_get_be16(old + (w - start)), vk_get_be16(seg + w));
    vk_put_be16(seg + csum_off, cs);
}

size_t vk_tcp_ts_offset(const uint8_t *seg, size_t hdr_len)
{
    size_t i = VK_TCP_MIN_HLEN;
    while (i < hdr_len) {
        uint8_t kind = seg[i];
        if (kind == VK_TCP_OPT_EOL)
            break;
        if (kind == VK_TCP_OPT_NOP) {
            i++;
            continue;
        }
        if (i + 1 >= hdr_len || seg[i + 1] < 2 || i + seg[i + 1] > hdr_len)
            break;
        if (kind == VK_TCP_OPT_TIMESTAMP && seg[i + 1] == 10)
            return i + 2;
        i += seg[i + 1];
    }
    return 0;
}

static void normalize_tcp(uint8_t *f, const vk_pkt *k, unsigned norm, const vk_rewriter *rw,
                          bool produced)
{
    uint8_t *seg = f + k->l4_off;
    vk_tcp_repr t;
    if (vk_tcp_parse(seg, k->l3_end - k->l4_off, &t) != VK_OK)
        return;
    if ((norm & VK_NORM_TCP_ISN) && produced && rw != NULL) {
        char key[VK_FLOW_KEY_MAX];
        vk_flow_key(f, k->l3_end, key);
        const vk_rw_flow *fl = vk_rw_find(rw, key);
        if (fl != NULL && fl->have_seq) {
            uint8_t b[4];
            vk_put_be32(b, t.seq - fl->seq_delta);
            vk_patch_csum(seg, 16, 4, b, 4);
        }
    }
    size_t ts = vk_tcp_ts_offset(seg, t.hdr_len);
    if ((norm & VK_NORM_TCP_TS) && ts != 0) {
        static const uint8_t zero[8];
        vk_patch_csum(seg, 16, ts, zero, 8);
    }
}

size_t vk_normalize(uint8_t *buf, size_t len, unsigned norm, const vk_rewriter *rw, bool produced)
{
    vk_pkt k;
    if (vk_pkt_locate(buf, len, &k) != VK_OK)
        return len;
    if ((norm & VK_NORM_ETH_PAD) && k.l3_end != 0 && k.l3_end <= len)
        len = k.l3_end;
    if (k.l3 == 4 && (norm & VK_NORM_IP_ID)) {
        static const uint8_t zero[2];
        vk_patch_csum(buf + k.l3_off, 10, 4, zero, 2);
    }
    if (k.l3 != 0 && k.l4_off != 0 && k.proto == VK_IP_PROTO_TCP)
        normalize_tcp(buf, &k, norm, rw, produced);
    if (norm & VK_NORM_CHECKSUMS)
        (void)vk_csum_fill_frame(buf, len);
    return len;
}

/* ---- field-level diff ---- */

#define MAX_FIELDS 64

typedef struct field {
    char name[20];
    char val[72];
} field;

typedef struct fields {
    field f[MAX_FIELDS];
    size_t n;
} fields;

static void put(fields *fs, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void put(fields *fs, const char *name, const char *fmt, ...)
{
    if (fs->n >= MAX_FIELDS)
        return;
    field *f = &fs->f[fs->n++];
    snprintf(f->name, sizeof f->name, "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->val, sizeof f->val, fmt, ap);
    va_end(ap);
}

static void put_ip4(fields *fs, const char *name, const vk_ip4 *a)
{
    char b[VK_IP4_STRLEN];
    put(fs, name, "%s", vk_ip4_format(a, b));
}

static void put_ip6(fields *fs, const char *name, const vk_ip6 *a)
{
    char b[VK_IP6_STRLEN];
    put(fs, name, "%s", vk_ip6_format(a, b));
}

static void put_mac(fields *fs, const char *name, const vk_mac *m)
{
    char b[VK_MAC_STRLEN];
    put(fs, name, "%s", vk_mac_format(m, b));
}

/* Packet strings are peer-chosen: keep them printable. */
static void put_str(fields *fs, const char *name, const char *s)
{
    char b[64];
    size_t i;
    for (i = 0; s[i] != '\0' && i < sizeof b - 1; i++)
        b[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    b[i] = '\0';
    put(fs, name, "\"%s\"", b);
}

static void dhcp_fields(fields *fs, const uint8_t *p, size_t len)
{
    vk_dhcp_repr r;
    if (vk_dhcp_parse(p, len, &r) != VK_OK)
        return;
    put(fs, "dhcp.msg", "%s", r.msg_type ? vk_dhcp_msg_name(r.msg_type) : "BOOTP");
    put(fs, "dhcp.op", "%u", r.op);
    put(fs, "dhcp.xid", "0x%08" PRIx32, r.xid);
    put(fs, "dhcp.flags", "0x%04x", r.flags);
    put_ip4(fs, "dhcp.ciaddr", &r.ciaddr);
    put_ip4(fs, "dhcp.yiaddr", &r.yiaddr);
    put_ip4(fs, "dhcp.siaddr", &r.siaddr);
    put_ip4(fs, "dhcp.giaddr", &r.giaddr);
    vk_mac m;
    if (vk_dhcp_chaddr_mac(&r, &m))
        put_mac(fs, "dhcp.chaddr", &m);
    put_str(fs, "dhcp.file", r.file);
    if (r.has_server_id)
        put_ip4(fs, "dhcp.server_id", &r.server_id);
    if (r.has_lease_time)
        put(fs, "dhcp.lease", "%" PRIu32, r.lease_time);
    put(fs, "dhcp.options", "%zu bytes", r.options_len);
}

static void tftp_fields(fields *fs, const uint8_t *p, size_t len)
{
    vk_tftp_repr t;
    if (vk_tftp_parse(p, len, &t) != VK_OK)
        return;
    put(fs, "tftp.op", "%s", vk_tftp_op_name(t.opcode));
    if (t.opcode == VK_TFTP_RRQ || t.opcode == VK_TFTP_WRQ) {
        put_str(fs, "tftp.file", t.filename);
        put_str(fs, "tftp.mode", t.mode);
    }
    if (t.opcode == VK_TFTP_DATA || t.opcode == VK_TFTP_ACK)
        put(fs, "tftp.block", "%u", t.block);
    if (t.opcode == VK_TFTP_DATA)
        put(fs, "tftp.data", "%zu bytes", t.data_len);
    if (t.opcode == VK_TFTP_ERROR) {
        put(fs, "tftp.error", "%u", t.error_code);
        put_str(fs, "tftp.errmsg", t.error_msg);
    }
    if (t.has_blksize)
        put(fs, "tftp.blksize", "%" PRIu32, t.blksize);
    if (t.has_tsize)
        put(fs, "tftp.tsize", "%" PRIu64, t.tsize);
}

static void udp_fields(fields *fs, const uint8_t *seg, size_t len)
{
    vk_udp_repr u;
    if (vk_udp_parse(seg, len, &u) != VK_OK)
        return;
    put(fs, "udp.sport", "%u", u.src_port);
    put(fs, "udp.dport", "%u", u.dst_port);
    put(fs, "udp.len", "%zu", u.payload_len + VK_UDP_HLEN);
    put(fs, "udp.csum", "0x%04x", u.csum);
    bool bootp = u.src_port == 67 || u.src_port == 68 || u.dst_port == 67 || u.dst_port == 68;
    if (bootp)
        dhcp_fields(fs, u.payload, u.payload_len);
    else if (u.src_port == VK_UDP_PORT_TFTP || u.dst_port == VK_UDP_PORT_TFTP)
        tftp_fields(fs, u.payload, u.payload_len);
}

static void tcp_fields(fields *fs, const uint8_t *seg, size_t len)
{
    vk_tcp_repr t;
    if (vk_tcp_parse(seg, len, &t) != VK_OK)
        return;
    static const char fl[] = "FSRPAUEC";
    char flags[9];
    size_t n = 0;
    for (int i = 0; i < 8; i++)
        if (t.flags & (1u << i))
            flags[n++] = fl[i];
    flags[n] = '\0';
    put(fs, "tcp.sport", "%u", t.src_port);
    put(fs, "tcp.dport", "%u", t.dst_port);
    put(fs, "tcp.flags", "[%s]", flags);
    put(fs, "tcp.seq", "%" PRIu32, t.seq);
    put(fs, "tcp.ack", "%" PRIu32, t.ack);
    put(fs, "tcp.win", "%u", t.window);
    put(fs, "tcp.csum", "0x%04x", t.csum);
    put(fs, "tcp.urg", "%u", t.urgent);
    put(fs, "tcp.mss", t.has_mss ? "%u" : "none", t.mss);
    put(fs, "tcp.wscale", t.has_wscale ? "%u" : "none", t.wscale);
    put(fs, "tcp.sackperm", "%s", t.sack_perm ? "yes" : "no");
    put(fs, "tcp.tsval", t.has_ts ? "%" PRIu32 : "none", t.ts_val);
    put(fs, "tcp.tsecr", t.has_ts ? "%" PRIu32 : "none", t.ts_ecr);
    put(fs, "tcp.len", "%zu", t.payload_len);
}

static void icmp_fields(fields *fs, const uint8_t *seg, size_t len)
{
    vk_icmp_repr c;
    if (vk_icmp_parse(seg, len, &c) != VK_OK)
        return;
    put(fs, "icmp.type", "%u", c.type);
    put(fs, "icmp.code", "%u", c.code);
    put(fs, "icmp.csum", "0x%04x", c.csum);
    if (vk_icmp_is_echo(c.type)) {
        put(fs, "icmp.id", "%u", c.id);
        put(fs, "icmp.seq", "%u", c.seq);
    } else {
        put(fs, "icmp.rest", "0x%08" PRIx32, c.rest);
    }
    put(fs, "icmp.len", "%zu", c.data_len);
}

static void icmpv6_fields(fields *fs, const uint8_t *seg, size_t len)
{
    vk_icmpv6_repr c;
    if (vk_icmpv6_parse(seg, len, &c) != VK_OK)
        return;
    put(fs, "icmp6.type", "%u", c.type);
    put(fs, "icmp6.code", "%u", c.code);
    put(fs, "icmp6.csum", "0x%04x", c.csum);
    if (c.type == VK_ICMPV6_ECHO_REQUEST || c.type == VK_ICMPV6_ECHO_REPLY) {
        put(fs, "icmp6.id", "%u", c.id);
        put(fs, "icmp6.seq", "%u", c.seq);
    }
    if (c.type == VK_ICMPV6_NEIGHBOR_SOLICIT || c.type == VK_ICMPV6_NEIGHBOR_ADVERT)
        put_ip6(fs, "icmp6.target", &c.target);
    if (c.type == VK_ICMPV6_ROUTER_ADVERT) {
        put(fs, "icmp6.hoplimit", "%u", c.cur_hop_limit);
        put(fs, "icmp6.raflags", "0x%02x", c.ra_flags);
        put(fs, "icmp6.lifetime", "%u", c.router_lifetime);
        put(fs, "icmp6.prefixes", "%zu", c.prefix_count);
        for (size_t i = 0; i < c.prefix_count; i++)
            put_ip6(fs, "icmp6.prefix", &c.prefix[i].prefix);
    }
    if (c.has_src_ll)
        put_mac(fs, "icmp6.src_ll", &c.src_ll);
    if (c.has_tgt_ll)
        put_mac(fs, "icmp6.tgt_ll", &c.tgt_ll);
    put(fs, "icmp6.len", "%zu", c.data_len);
}

static void ip_fields(fields *fs, const uint8_t *f, const vk_pkt *k)
{
    if (k->l3 == 4) {
        const vk_ipv4_repr *ip = &k->ip4;
        put(fs, "ip.tos", "0x%02x", ip->tos);
        put(fs, "ip.len", "%zu", ip->total_len);
        put(fs, "ip.id", "%u", ip->id);
        put(fs, "ip.flags", "%s%s", ip->df ? "DF" : "", ip->mf ? "MF" : "");
        put(fs, "ip.frag", "%u", ip->frag_off);
        put(fs, "ip.ttl", "%u", ip->ttl);
        put(fs, "ip.proto", "%u", ip->proto);
        put(fs, "ip.csum", "0x%04x", ip->csum);
        put_ip4(fs, "ip.src", &ip->src);
        put_ip4(fs, "ip.dst", &ip->dst);
        put(fs, "ip.options", "%zu bytes", ip->options_len);
    } else {
        const vk_ipv6_repr *ip = &k->ip6;
        put(fs, "ip6.tclass", "0x%02x", ip->tclass);
        put(fs, "ip6.flow", "0x%05" PRIx32, ip->flow);
        put(fs, "ip6.nxt", "%u", ip->next_header);
        put(fs, "ip6.hlim", "%u", ip->hop_limit);
        put_ip6(fs, "ip6.src", &ip->src);
        put_ip6(fs, "ip6.dst", &ip->dst);
        put(fs, "ip6.plen", "%zu", ip->payload_len);
    }
    if (k->l4_off == 0)
        return;
    const uint8_t *seg = f + k->l4_off;
    size_t len = k->l3_end - k->l4_off;
    if (k->proto == VK_IP_PROTO_UDP)
        udp_fields(fs, seg, len);
    else if (k->proto == VK_IP_PROTO_TCP)
        tcp_fields(fs, seg, len);
    else if (k->proto == VK_IP_PROTO_ICMP && k->l3 == 4)
        icmp_fields(fs, seg, len);
    else if (k->proto == VK_IP_PROTO_ICMPV6 && k->l3 == 6)
        icmpv6_fields(fs, seg, len);
}

static void collect(const uint8_t *f, size_t len, fields *fs)
{
    vk_pkt k;
    fs->n = 0;
    if (vk_pkt_locate(f, len, &k) != VK_OK)
        return;
    put_mac(fs, "eth.dst", &k.eth.dst);
    put_mac(fs, "eth.src", &k.eth.src);
    if (k.eth.has_vlan)
        put(fs, "eth.vlan", "%u", vk_eth_vlan_id(&k.eth));
    put(fs, "eth.type", "0x%04x", k.eth.ethertype);
    vk_arp_repr a;
    if (k.l3 != 0) {
        ip_fields(fs, f, &k);
    } else if (k.eth.ethertype == VK_ETHERTYPE_ARP &&
               vk_arp_parse(k.eth.payload, k.eth.payload_len, &a) == VK_OK) {
        put(fs, "arp.op", "%s", a.op == 1 ? "request" : a.op == 2 ? "reply" : "other");
        put_mac(fs, "arp.sha", &a.sha);
        put_ip4(fs, "arp.spa", &a.spa);
        put_mac(fs, "arp.tha", &a.tha);
        put_ip4(fs, "arp.tpa", &a.tpa);
    }
}

typedef struct text {
    char *s;
    size_t cap, len;
} text;

static void say(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(text *t, const char *fmt, ...)
{
    if (t->len + 1 >= t->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len = t->len + (size_t)n < t->cap ? t->len + (size_t)n : t->cap - 1;
}

static const char *value_of(const fields *fs, const char *name)
{
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->f[i].name, name) == 0)
            return fs->f[i].val;
    return NULL;
}

/* "expected DHCP ACK yiaddr 10.0.2.15, got NAK": the one change that matters
 * most in a DHCP answer, said first. */
static void dhcp_headline(text *t, const fields *e, const fields *g)
{
    const char *em = value_of(e, "dhcp.msg"), *gm = value_of(g, "dhcp.msg");
    if (em == NULL || gm == NULL || strcmp(em, gm) == 0)
        return;
    say(t, "expected DHCP %s yiaddr %s, got %s; ", em, value_of(e, "dhcp.yiaddr"), gm);
}

void vk_diff_frames(const uint8_t *exp, size_t elen, const uint8_t *got, size_t glen, char *out,
                    size_t cap)
{
    text t = {out, cap, 0};
    if (cap == 0)
        return;
    out[0] = '\0';
    if (elen == glen && memcmp(exp, got, elen) == 0)
        return;
    fields *e = malloc(sizeof *e), *g = malloc(sizeof *g);
    if (e != NULL && g != NULL) {
        collect(exp, elen, e);
        collect(got, glen, g);
        dhcp_headline(&t, e, g);
        size_t n = e->n < g->n ? e->n : g->n, i;
        for (i = 0; i < n && strcmp(e->f[i].name, g->f[i].name) == 0; i++)
            if (strcmp(e->f[i].val, g->f[i].val) != 0)
                say(&t, "%s expected %s got %s; ", e->f[i].name, e->f[i].val, g->f[i].val);
        if (i < n)
            say(&t, "expected %s, got %s; ", e->f[i].name, g->f[i].name);
    }
    free(e);
    free(g);
    if (t.len == 0) {
        size_t m = elen < glen ? elen : glen, i = 0;
        while (i < m && exp[i] == got[i])
            i++;
        if (i < m)
            say(&t, "byte %zu expected 0x%02x got 0x%02x; ", i, exp[i], got[i]);
        if (elen != glen)
            say(&t, "length expected %zu got %zu; ", elen, glen);
    }
    if (t.len >= 2 && out[t.len - 2] == ';')
        out[t.len - 2] = '\0';
}

/* ---- matching ----
 * Each frame's flow key is interned once into the result's table of distinct
 * keys; frames of a flow are chained in index order (one link per frame), so
 * pairing the k-th expected with the k-th produced frame of each flow needs
 * no sort, and a frame is normalised only when it is compared, into a scratch
 * buffer, instead of every frame being copied up front. */

#define CHAIN_END UINT32_MAX

/* One side's frames chained per flow. */
typedef struct chains {
    uint32_t *flow; /* per frame: its flow */
    uint32_t *next; /* per frame: the next frame of its flow, CHAIN_END */
    uint32_t *head, *tail; /* per flow */
    size_t nflows;
} chains;

static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* Rebuilds the hash index at twice the size. */
static int index_grow(vk_cmp_result *r)
{
    size_t cap = r->index_cap ? r->index_cap * 2 : 256;
    uint32_t *ix = malloc(cap * sizeof *ix);
    if (ix == NULL)
        return VK_ENOMEM;
    for (size_t i = 0; i < cap; i++)
        ix[i] = UINT32_MAX;
    for (size_t f = 0; f < r->nflows; f++) {
        size_t h = (size_t)key_hash(r->flows[f]) & (cap - 1);
        while (ix[h] != UINT32_MAX)
            h = (h + 1) & (cap - 1);
        ix[h] = (uint32_t)f;
    }
    free(r->flow_index);
    r->flow_index = ix;
    r->index_cap = cap;
    return VK_OK;
}

/* The index of key in the result's flow table, added if new. */
static int intern_flow(vk_cmp_result *r, const char *key, uint32_t *out)
{
    if (2 * (r->nflows + 1) > r->index_cap && index_grow(r) != VK_OK)
        return VK_ENOMEM;
    size_t h = (size_t)key_hash(key) & (r->index_cap - 1);
    for (; r->flow_index[h] != UINT32_MAX; h = (h + 1) & (r->index_cap - 1))
        if (strcmp(r->flows[r->flow_index[h]], key) == 0) {
            *out = r->flow_index[h];
            return VK_OK;
        }
    if (vk_grow(&r->flows, &r->flows_cap, r->nflows, sizeof *r->flows, 64) != VK_OK)
        return VK_ENOMEM;
    memcpy(r->flows[r->nflows], key, VK_FLOW_KEY_MAX);
    r->flow_index[h] = (uint32_t)r->nflows;
    *out = (uint32_t)r->nflows++;
    return VK_OK;
}

static void chains_free(chains *c)
{
    free(c->flow);
    free(c->next);
    free(c->head);
    free(c->tail);
}

/* Interns the flow of every frame of one side. */
static int chain_flows(vk_cmp_result *r, const vk_cmp_frame *fr, size_t n, chains *c)
{
    memset(c, 0, sizeof *c);
    if (n >= CHAIN_END)
        return VK_ERANGE;
    c->flow = malloc((n ? n : 1) * sizeof *c->flow);
    c->next = malloc((n ? n : 1) * sizeof *c->next);
    if (c->flow == NULL || c->next == NULL)
        return VK_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char key[VK_FLOW_KEY_MAX] = {0};
        vk_flow_key(fr[i].data, fr[i].len, key);
        if (intern_flow(r, key, &c->flow[i]) != VK_OK)
            return VK_ENOMEM;
    }
    return VK_OK;
}

/* Links the frames of each flow in index order (once every flow is known). */
static int link_chains(chains *c, size_t n, size_t nflows)
{
    c->nflows = nflows;
    c->head = malloc((nflows ? nflows : 1) * sizeof *c->head);
    c->tail = malloc((nflows ? nflows : 1) * sizeof *c->tail);
    if (c->head == NULL || c->tail == NULL)
        return VK_ENOMEM;
    for (size_t f = 0; f < nflows; f++)
        c->head[f] = c->tail[f] = CHAIN_END;
    for (size_t i = 0; i < n; i++) {
        uint32_t f = c->flow[i];
        c->next[i] = CHAIN_END;
        if (c->tail[f] == CHAIN_END)
            c->head[f] = (uint32_t)i;
        else
            c->next[c->tail[f]] = (uint32_t)i;
        c->tail[f] = (uint32_t)i;
    }
    return VK_OK;
}

/* What the comparison needs at hand while pairing. */
typedef struct pairing {
    vk_cmp_result *r;
    const vk_cmp_frame *exp, *prod;
    unsigned norm;
    const vk_rewriter *rw;
    uint8_t *ebuf, *pbuf; /* normalised copies of the pair being compared */
} pairing;

static size_t normalized(const pairing *pp, const vk_cmp_frame *f, uint8_t *buf, bool produced)
{
    memcpy(buf, f->data, f->len);
    return vk_normalize(buf, f->len, pp->norm, pp->rw, produced);
}

static int add_entry(pairing *pp, uint32_t flow, size_t e, size_t p)
{
    vk_cmp_result *r = pp->r;
    vk_cmp_kind kind = e == VK_CMP_NONE ? VK_CMP_UNEXPECTED
                       : p == VK_CMP_NONE ? VK_CMP_MISSING
                                          : VK_CMP_MATCH;
    char *diff = NULL;
    if (kind == VK_CMP_MATCH) {
        size_t el = normalized(pp, &pp->exp[e], pp->ebuf, false);
        size_t pl = normalized(pp, &pp->prod[p], pp->pbuf, true);
        if (el != pl || memcmp(pp->ebuf, pp->pbuf, el) != 0) {
            char words[480]; /* the text only divergences carry */
            kind = VK_CMP_DIFFER;
            vk_diff_frames(pp->ebuf, el, pp->pbuf, pl, words, sizeof words);
            if ((diff = strdup(words)) == NULL)
                return VK_ENOMEM;
        }
    }
    vk_cmp_entry *en = &r->e[r->n++];
    *en = (vk_cmp_entry){.kind = kind, .flow = flow, .exp = e, .prod = p, .diff = diff,
                         .ts = e != VK_CMP_NONE ? pp->exp[e].ts : pp->prod[p].ts};
    if (kind == VK_CMP_MATCH)
        r->matched++;
    else
        r->divergences++;
    return VK_OK;
}

static int entry_cmp(const void *a, const void *b)
{
    const vk_cmp_entry *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    size_t xi = x->exp != VK_CMP_NONE ? x->exp : x->prod;
    size_t yi = y->exp != VK_CMP_NONE ? y->exp : y->prod;
    if (xi != yi)
        return xi < yi ? -1 : 1;
    return (int)x->kind - (int)y->kind;
}

/* ---- the periodic router advertisement rule ----
 * A network sends unsolicited RAs on its own timer (the user backend every
 * 200-600 s, drawn differently from libslirp's), so a long recording and a
 * replay of it hold RAs at other times and in other numbers.  After the k-th
 * with k-th pairing, the RAs left over on either side of a flow (a MISSING
 * recorded RA, an UNEXPECTED produced one) that are alone on their side for
 * VK_CMP_RA_ALONE_NS either way (as timer RAs, 200 s or more apart, are;
 * answers to router solicitations come in bursts at the guest's start and
 * stay paired in order) are judged by content instead: one is matched, by
 * rule, when the other side of the same flow has an RA equal to it after
 * normalisation.  An RA whose content no RA of the other side has (a wrong
 * prefix, lifetime or flag), a recorded RA when the network sent no equal RA
 * at all, and a missing answer in a burst stay divergences. */

static bool is_router_advert(const vk_cmp_frame *f)
{
    vk_pkt k;
    if (vk_pkt_locate(f->data, f->len, &k) != VK_OK || k.l3 != 6 || k.frag ||
        k.proto != VK_IP_PROTO_ICMPV6 || k.l4_off == 0 || vk_pkt_l4_len(&k) < 1)
        return false;
    return f->data[k.l4_off] == VK_ICMPV6_ROUTER_ADVERT;
}

/* The first RA of `flow` on the other side equal to frame `i` of this side
 * after normalisation, or VK_CMP_NONE. */
static size_t equal_ra(pairing *pp, const chains *other, bool other_produced, uint32_t flow,
                       const vk_cmp_frame *f, bool produced)
{
    const vk_cmp_frame *side = other_produced ? pp->prod : pp->exp;
    size_t fl = normalized(pp, f, produced ? pp->pbuf : pp->ebuf, produced);
    uint8_t *mine = produced ? pp->pbuf : pp->ebuf, *theirs = produced ? pp->ebuf : pp->pbuf;
    for (uint32_t j = other->head[flow]; j != CHAIN_END; j = other->next[j]) {
        if (!is_router_advert(&side[j]))
            continue;
        size_t ol = normalized(pp, &side[j], theirs, other_produced);
        if (ol == fl && memcmp(mine, theirs, fl) == 0)
            return j;
    }
    return VK_CMP_NONE;
}

/* No other RA of the flow on this side within VK_CMP_RA_ALONE_NS of frame i. */
static bool ra_alone(const chains *c, const vk_cmp_frame *side, uint32_t flow, size_t i)
{
    uint64_t t = side[i].ts;
    for (uint32_t j = c->head[flow]; j != CHAIN_END; j = c->next[j]) {
        uint64_t u = side[j].ts, gap = u > t ? u - t : t - u;
        if (j != i && gap < VK_CMP_RA_ALONE_NS && is_router_advert(&side[j]))
            return false;
    }
    return true;
}

static void periodic_ra_rule(pairing *pp, const chains *ce, const chains *cp)
{
    vk_cmp_result *r = pp->r;
    for (size_t i = 0; i < r->n; i++) {
        vk_cmp_entry *e = &r->e[i];
        size_t other;
        if (e->kind == VK_CMP_MISSING && is_router_advert(&pp->exp[e->exp]) &&
            ra_alone(ce, pp->exp, e->flow, e->exp))
            other = e->prod = equal_ra(pp, cp, true, e->flow, &pp->exp[e->exp], false);
        else if (e->kind == VK_CMP_UNEXPECTED && is_router_advert(&pp->prod[e->prod]) &&
                 ra_alone(cp, pp->prod, e->flow, e->prod))
            other = e->exp = equal_ra(pp, ce, false, e->flow, &pp->prod[e->prod], true);
        else
            continue;
        if (other == VK_CMP_NONE)
            continue;
        e->kind = VK_CMP_MATCH;
        e->rule = VK_CMP_RULE_PERIODIC_RA;
        r->divergences--;
        r->matched++;
    }
}

/* Within each flow the k-th expected and k-th produced frames are paired.
 * (The order of flows does not matter: entries are sorted by time after.) */
static int pair_flows(pairing *pp, const chains *e, const chains *p)
{
    for (size_t f = 0; f < pp->r->nflows; f++) {
        uint32_t i = e->head[f], j = p->head[f];
        while (i != CHAIN_END || j != CHAIN_END) {
            int rc = add_entry(pp, (uint32_t)f, i != CHAIN_END ? i : VK_CMP_NONE,
                               j != CHAIN_END ? j : VK_CMP_NONE);
            if (rc != VK_OK)
                return rc;
            if (i != CHAIN_END)
                i = e->next[i];
            if (j != CHAIN_END)
                j = p->next[j];
        }
    }
    return VK_OK;
}

static size_t longest(const vk_cmp_frame *fr, size_t n)
{
    size_t m = 1;
    for (size_t i = 0; i < n; i++)
        if (fr[i].len > m)
            m = fr[i].len;
    return m;
}

int vk_compare(const vk_cmp_frame *exp, size_t nexp, const vk_cmp_frame *prod, size_t nprod,
               unsigned norm, const vk_rewriter *rw, vk_cmp_result *out)
{
    memset(out, 0, sizeof *out);
    chains ce, cp;
    memset(&cp, 0, sizeof cp);
    size_t le = longest(exp, nexp), lp = longest(prod, nprod);
    pairing pp = {out, exp, prod, norm, rw, malloc(le > lp ? le : lp), malloc(le > lp ? le : lp)};
    int rc = chain_flows(out, exp, nexp, &ce);
    if (rc == VK_OK)
        rc = chain_flows(out, prod, nprod, &cp);
    if (rc == VK_OK)
        rc = link_chains(&ce, nexp, out->nflows);
    if (rc == VK_OK)
        rc = link_chains(&cp, nprod, out->nflows);
    free(out->flow_index); /* only needed while interning */
    out->flow_index = NULL;
    out->index_cap = 0;
    if (rc == VK_OK && (out->e = calloc(nexp + nprod + 1, sizeof *out->e)) == NULL)
        rc = VK_ENOMEM;
    if (rc == VK_OK && (pp.ebuf == NULL || pp.pbuf == NULL))
        rc = VK_ENOMEM;
    if (rc == VK_OK)
        rc = pair_flows(&pp, &ce, &cp);
    if (rc == VK_OK)
        periodic_ra_rule(&pp, &ce, &cp);
    chains_free(&ce);
    chains_free(&cp);
    free(pp.ebuf);
    free(pp.pbuf);
    if (rc != VK_OK) {
        vk_cmp_result_free(out);
        return rc;
    }
    qsort(out->e, out->n, sizeof *out->e, entry_cmp);
    return VK_OK;
}

const char *vk_cmp_rule_name(vk_cmp_rule rule)
{
    return rule == VK_CMP_RULE_PERIODIC_RA ? "periodic-ra" : "";
}

const char *vk_cmp_flow(const vk_cmp_result *r, const vk_cmp_entry *e)
{
    return e->flow < r->nflows ? r->flows[e->flow] : "";
}

void vk_cmp_result_free(vk_cmp_result *r)
{
    for (size_t i = 0; r->e != NULL && i < r->n; i++)
        free(r->e[i].diff);
    free(r->e);
    free(r->flows);
    free(r->flow_index);
    memset(r, 0, sizeof *r);
}

const char *vk_cmp_kind_name(vk_cmp_kind k)
{
    switch (k) {
    case VK_CMP_MATCH:
        return "match";
    case VK_CMP_DIFFER:
        return "differ";
    case VK_CMP_MISSING:
        return "missing";
    case VK_CMP_UNEXPECTED:
        return "unexpected";
    }
    return "?";
}
