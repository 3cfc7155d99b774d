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
#include "core/frame.h"
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

/* ---- flow keys ----
 * A frame's flow is first located into a binary key (flow_bkey: what the
 * text names, endpoints already in their fixed order, every unused byte
 * zero), which the comparator hashes and compares with memcmp; the text of
 * compare.h is formatted from that key only when a report shows it.  The
 * text is a function of the key and the key of the text, so two frames share
 * a key exactly when they share a text. */

enum {
    FK_RUNT = 1, FK_DHCP, FK_TCP, FK_UDP, FK_ICMP, FK_ICMP6, FK_ND, FK_ROUTER, FK_IP, FK_ARP,
    FK_ETH,
};

enum { TAIL_NONE, TAIL_ID, TAIL_TYPE, TAIL_PROTO };

typedef struct endpoint {
    const uint8_t *addr;
    int port; /* -1: none */
} endpoint;

/* Fixes the order of two endpoints: address bytes, then port. */
static void order_ends(vk_flow_bkey *b, endpoint x, endpoint y, size_t alen)
{
    int c = memcmp(x.addr, y.addr, alen);
    if (c > 0 || (c == 0 && x.port > y.port)) {
        endpoint t = x;
        x = y;
        y = t;
    }
    b->alen = (uint8_t)alen;
    memcpy(b->addr[0], x.addr, alen);
    memcpy(b->addr[1], y.addr, alen);
    b->has_port = x.port >= 0;
    b->port[0] = (uint16_t)(x.port >= 0 ? x.port : 0);
    b->port[1] = (uint16_t)(y.port >= 0 ? y.port : 0);
}

static void ip_ends(const vk_pkt *k, endpoint *s, endpoint *d, size_t *alen)
{
    s->addr = k->l3 == 4 ? k->ip4.src.b : k->ip6.src.b;
    d->addr = k->l3 == 4 ? k->ip4.dst.b : k->ip6.dst.b;
    s->port = d->port = -1;
    *alen = k->l3 == 4 ? 4 : 16;
}

static bool l4_bkey(const vk_pkt *k, const uint8_t *f, vk_flow_bkey *b)
{
    const uint8_t *seg = f + k->l4_off;
    size_t seglen = k->l3_end - k->l4_off;
    endpoint s, d;
    size_t alen;
    ip_ends(k, &s, &d, &alen);
    if (k->proto == VK_IP_PROTO_UDP || k->proto == VK_IP_PROTO_TCP) {
        if (seglen < 4)
            return false;
        s.port = vk_get_be16(seg);
        d.port = vk_get_be16(seg + 2);
        bool dhcp = k->proto == VK_IP_PROTO_UDP && k->l3 == 4 &&
                    ((s.port == 67 && d.port == 68) || (s.port == 68 && d.port == 67));
        vk_dhcp_repr dh;
        if (dhcp && seglen > 8 && vk_dhcp_parse(seg + 8, seglen - 8, &dh) == VK_OK) {
            b->kind = FK_DHCP;
            b->value = dh.xid;
            return true;
        }
        b->kind = k->proto == VK_IP_PROTO_TCP ? FK_TCP : FK_UDP;
        order_ends(b, s, d, alen);
        return true;
    }
    if (k->proto == VK_IP_PROTO_ICMP && k->l3 == 4) {
        vk_icmp_repr ic;
        if (vk_icmp_parse(seg, seglen, &ic) != VK_OK)
            return false;
        b->kind = FK_ICMP;
        b->tail = vk_icmp_is_echo(ic.type) ? TAIL_ID : TAIL_TYPE;
        b->value = vk_icmp_is_echo(ic.type) ? ic.id : ic.type;
        order_ends(b, s, d, alen);
        return true;
    }
    if (k->proto == VK_IP_PROTO_ICMPV6 && k->l3 == 6) {
        vk_icmpv6_repr ic;
        if (vk_icmpv6_parse(seg, seglen, &ic) != VK_OK)
            return false;
        if (ic.type == VK_ICMPV6_NEIGHBOR_SOLICIT || ic.type == VK_ICMPV6_NEIGHBOR_ADVERT) {
            b->kind = FK_ND;
            b->alen = 16;
            memcpy(b->addr[0], ic.target.b, 16);
            return true;
        }
        if (ic.type == VK_ICMPV6_ROUTER_SOLICIT || ic.type == VK_ICMPV6_ROUTER_ADVERT) {
            b->kind = FK_ROUTER;
            return true;
        }
        bool echo = ic.type == VK_ICMPV6_ECHO_REQUEST || ic.type == VK_ICMPV6_ECHO_REPLY;
        b->kind = FK_ICMP6;
        b->tail = echo ? TAIL_ID : TAIL_TYPE;
        b->value = echo ? ic.id : ic.type;
        order_ends(b, s, d, alen);
        return true;
    }
    return false;
}

void vk_flow_bkey_of(const uint8_t *f, size_t len, vk_flow_bkey *b)
{
    memset(b, 0, sizeof *b);
    vk_pkt k;
    if (vk_pkt_locate(f, len, &k) != VK_OK) {
        b->kind = FK_RUNT;
        return;
    }
    if (k.eth.has_vlan) {
        b->has_vlan = 1;
        b->vlan = vk_eth_vlan_id(&k.eth);
    }
    if (k.l3 != 0 && k.l4_off != 0 && l4_bkey(&k, f, b))
        return;
    if (k.l3 != 0) {
        endpoint s, d;
        size_t alen;
        ip_ends(&k, &s, &d, &alen);
        b->kind = FK_IP;
        b->tail = TAIL_PROTO;
        b->value = k.proto;
        order_ends(b, s, d, alen);
        return;
    }
    vk_arp_repr a;
    if (k.eth.ethertype == VK_ETHERTYPE_ARP &&
        vk_arp_parse(k.eth.payload, k.eth.payload_len, &a) == VK_OK) {
        b->kind = FK_ARP;
        order_ends(b, (endpoint){a.spa.b, -1}, (endpoint){a.tpa.b, -1}, 4);
        return;
    }
    b->kind = FK_ETH;
    b->value = k.eth.ethertype;
    order_ends(b, (endpoint){k.eth.src.b, -1}, (endpoint){k.eth.dst.b, -1}, 6);
}

static void format_ep(const vk_flow_bkey *b, int i, char *buf, size_t cap)
{
    char a[VK_IP6_STRLEN];
    if (b->alen == 4)
        vk_ip4_format((const vk_ip4 *)b->addr[i], a);
    else
        vk_ip6_format((const vk_ip6 *)b->addr[i], a);
    if (b->has_port)
        snprintf(buf, cap, "%s:%u", a, b->port[i]);
    else
        snprintf(buf, cap, "%s", a);
}

/* "what A <> B tail". */
static void pair_text(const vk_flow_bkey *b, char *key, size_t off, const char *what)
{
    char x[64], y[64], tail[32] = "";
    format_ep(b, 0, x, sizeof x);
    format_ep(b, 1, y, sizeof y);
    if (b->tail == TAIL_ID)
        snprintf(tail, sizeof tail, " id %u", (unsigned)b->value);
    else if (b->tail == TAIL_TYPE)
        snprintf(tail, sizeof tail, " type %u", (unsigned)b->value);
    else if (b->tail == TAIL_PROTO)
        snprintf(tail, sizeof tail, " proto %u", (unsigned)b->value);
    snprintf(key + off, VK_FLOW_KEY_MAX - off, "%s %s <> %s%s", what, x, y, tail);
}

void vk_flow_bkey_text(const vk_flow_bkey *b, char *key)
{
    key[0] = '\0';
    if (b->kind == FK_RUNT) {
        snprintf(key, VK_FLOW_KEY_MAX, "runt");
        return;
    }
    size_t off = 0;
    if (b->has_vlan)
        off = (size_t)snprintf(key, VK_FLOW_KEY_MAX, "vlan %u ", b->vlan);
    char t[VK_IP6_STRLEN], m1[VK_MAC_STRLEN], m2[VK_MAC_STRLEN];
    switch (b->kind) {
    case FK_DHCP:
        snprintf(key + off, VK_FLOW_KEY_MAX - off, "dhcp xid 0x%08" PRIx32, b->value);
        return;
    case FK_TCP:
        pair_text(b, key, off, "tcp");
        return;
    case FK_UDP:
        pair_text(b, key, off, "udp");
        return;
    case FK_ICMP:
        pair_text(b, key, off, "icmp");
        return;
    case FK_ICMP6:
        pair_text(b, key, off, "icmp6");
        return;
    case FK_ND:
        snprintf(key + off, VK_FLOW_KEY_MAX - off, "icmp6 nd %s",
                 vk_ip6_format((const vk_ip6 *)b->addr[0], t));
        return;
    case FK_ROUTER:
        snprintf(key + off, VK_FLOW_KEY_MAX - off, "icmp6 router");
        return;
    case FK_IP:
        pair_text(b, key, off, "ip");
        return;
    case FK_ARP:
        pair_text(b, key, off, "arp");
        return;
    default:
        snprintf(key + off, VK_FLOW_KEY_MAX - off, "eth 0x%04x %s <> %s", (unsigned)b->value,
                 vk_mac_format((const vk_mac *)b->addr[0], m1),
                 vk_mac_format((const vk_mac *)b->addr[1], m2));
    }
}

void vk_flow_key(const uint8_t *f, size_t len, char *key)
{
    vk_flow_bkey b;
    vk_flow_bkey_of(f, len, &b);
    vk_flow_bkey_text(&b, key);
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

/* ---- matching, as the frames come ----
 * Each side's frames are handed over in their order; a frame joins its
 * flow's queue of unpaired frames, or, when the other side of the flow has
 * one waiting, is paired with the oldest at once (the k-th expected with the
 * k-th produced frame of the flow, whatever the interleaving), compared and
 * released.  So a replay that keeps pace holds only the frames in flight.
 * A flow whose queues are empty is forgotten: its next frame starts it anew
 * and pairs exactly as it would have.  Matches are counted and, unless the
 * caller keeps them (a JSON report lists every one), not stored; a
 * divergence keeps copies of its frames, its diff text and its flow's text
 * key.  What is left in the queues at the end is missing or unexpected. */

/* A frame waiting in a flow's queue (its bytes follow). */
typedef struct pend {
    struct pend *next;
    uint64_t no, ts;
    size_t ord;            /* index among its side's frames */
    size_t len;
    uint8_t data[];
} pend;

typedef struct sflow {
    vk_flow_bkey key;
    uint64_t hash;
    uint32_t hnext;        /* bucket chain, or the free list */
    pend *q[2], *qt[2];    /* [0] expected, [1] produced: unpaired, oldest first */
} sflow;

/* A router advertisement kept for the periodic RA rule. */
typedef struct kept_ra {
    vk_flow_bkey key;
    size_t ord;
    uint64_t no, ts;
    uint8_t *data;
    size_t len;
} kept_ra;

#define NO_FLOW UINT32_MAX

struct vk_cmp_stream {
    vk_cmp_result r;
    unsigned norm;
    const vk_rewriter *rw;
    bool keep_matches;
    size_t ord[2];         /* frames handed over per side */
    sflow *flows;
    size_t nflows, flows_cap;
    uint32_t *bucket;
    size_t nbuckets;
    size_t live;           /* flows in the table */
    uint32_t free_flow;
    kept_ra *ra[2];        /* grown by doubling up to VK_CMP_RA_KEPT_MAX */
    size_t nra[2], ra_cap[2];
    uint8_t *ebuf, *pbuf;  /* normalised copies of the pair being compared */
    int err;
};

static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static uint64_t bkey_hash(const vk_flow_bkey *b)
{
    const uint8_t *p = (const uint8_t *)b;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof *b; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* Rebuilds the text-key index at twice the size. */
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

/* The index of key in the result's table of text keys, added if new. */
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

/* ---- the live flow table: chained buckets, slots reused ---- */

static int buckets_grow(vk_cmp_stream *s)
{
    size_t n = s->nbuckets ? s->nbuckets * 2 : 64;
    uint32_t *b = malloc(n * sizeof *b);
    if (b == NULL)
        return VK_ENOMEM;
    for (size_t i = 0; i < n; i++)
        b[i] = NO_FLOW;
    for (size_t i = 0; i < s->nbuckets; i++)
        for (uint32_t f = s->bucket[i]; f != NO_FLOW;) {
            uint32_t next = s->flows[f].hnext;
            size_t h = (size_t)s->flows[f].hash & (n - 1);
            s->flows[f].hnext = b[h];
            b[h] = f;
            f = next;
        }
    free(s->bucket);
    s->bucket = b;
    s->nbuckets = n;
    return VK_OK;
}

static uint32_t flow_get(vk_cmp_stream *s, const vk_flow_bkey *key)
{
    uint64_t h = bkey_hash(key);
    for (uint32_t f = s->nbuckets ? s->bucket[h & (s->nbuckets - 1)] : NO_FLOW; f != NO_FLOW;
         f = s->flows[f].hnext)
        if (s->flows[f].hash == h && memcmp(&s->flows[f].key, key, sizeof *key) == 0)
            return f;
    if (s->live + 1 > s->nbuckets && buckets_grow(s) != VK_OK)
        return NO_FLOW;
    uint32_t f = s->free_flow;
    if (f != NO_FLOW) {
        s->free_flow = s->flows[f].hnext;
    } else {
        if (s->nflows >= NO_FLOW - 1)
            return NO_FLOW;
        if (vk_grow(&s->flows, &s->flows_cap, s->nflows, sizeof *s->flows, 64) != VK_OK)
            return NO_FLOW;
        f = (uint32_t)s->nflows++;
    }
    sflow *fl = &s->flows[f];
    memset(fl, 0, sizeof *fl);
    fl->key = *key;
    fl->hash = h;
    size_t b = (size_t)h & (s->nbuckets - 1);
    fl->hnext = s->bucket[b];
    s->bucket[b] = f;
    s->live++;
    return f;
}

/* Forgets flow f (both queues empty). */
static void flow_drop(vk_cmp_stream *s, uint32_t f)
{
    uint32_t *at = &s->bucket[(size_t)s->flows[f].hash & (s->nbuckets - 1)];
    while (*at != f)
        at = &s->flows[*at].hnext;
    *at = s->flows[f].hnext;
    s->flows[f].hnext = s->free_flow;
    s->free_flow = f;
    s->live--;
}

/* ---- entries ---- */

/* One side of a pair being settled: borrowed. */
typedef struct side_frame {
    uint64_t no, ts;
    size_t ord;
    const uint8_t *data;
    size_t len;
} side_frame;

static int scratch(vk_cmp_stream *s, size_t len)
{
    if (s->ebuf == NULL) {
        s->ebuf = malloc(VK_FRAME_MAX);
        s->pbuf = malloc(VK_FRAME_MAX);
    }
    return s->ebuf != NULL && s->pbuf != NULL && len <= VK_FRAME_MAX ? VK_OK : VK_ENOMEM;
}

static size_t normalized(const vk_cmp_stream *s, const side_frame *f, uint8_t *buf,
                         bool produced)
{
    memcpy(buf, f->data, f->len);
    return vk_normalize(buf, f->len, s->norm, s->rw, produced);
}

static int keep_frame(vk_cmp_frame *to, const side_frame *f)
{
    uint8_t *copy = malloc(f->len ? f->len : 1);
    if (copy == NULL)
        return VK_ENOMEM;
    memcpy(copy, f->data, f->len);
    *to = (vk_cmp_frame){f->no, f->ts, copy, f->len};
    return VK_OK;
}

static int entry_add(vk_cmp_result *r, const vk_cmp_entry *en)
{
    if (vk_grow(&r->e, &r->cap, r->n, sizeof *r->e, 64) != VK_OK)
        return VK_ENOMEM;
    r->e[r->n++] = *en;
    return VK_OK;
}

static void entry_free(vk_cmp_entry *e)
{
    free(e->diff);
    free((void *)e->x.data);
    free((void *)e->p.data);
}

/* Whether normalising the same bytes as expected and as produced gives the
 * same result: only normalize_tcp's ISN rewrite looks at the side, and only
 * for a TCP segment, which a frame keyed as one of these kinds is not (each
 * is set from the located protocol, never TCP). */
static bool side_blind(const vk_cmp_stream *s, const vk_flow_bkey *key)
{
    if (!(s->norm & VK_NORM_TCP_ISN) || s->rw == NULL)
        return true;
    return key->kind == FK_UDP || key->kind == FK_DHCP || key->kind == FK_ICMP ||
           key->kind == FK_ICMP6 || key->kind == FK_ND || key->kind == FK_ROUTER ||
           key->kind == FK_ARP;
}

/* Judges a pair (either side may be absent) and stores the entry when it is
 * a divergence or matches are kept.  A pair whose bytes are equal matches
 * without being normalised when normalising cannot tell the sides apart. */
static int settle(vk_cmp_stream *s, const vk_flow_bkey *key, const side_frame *x,
                  const side_frame *p)
{
    vk_cmp_result *r = &s->r;
    vk_cmp_kind kind = x == NULL ? VK_CMP_UNEXPECTED : p == NULL ? VK_CMP_MISSING : VK_CMP_MATCH;
    char words[480] = ""; /* the text only divergences carry */
    bool same = kind == VK_CMP_MATCH && x->len == p->len &&
                memcmp(x->data, p->data, x->len) == 0 && side_blind(s, key);
    if (kind == VK_CMP_MATCH && !same) {
        if (scratch(s, x->len > p->len ? x->len : p->len) != VK_OK)
            return VK_ENOMEM;
        size_t el = normalized(s, x, s->ebuf, false);
        size_t pl = normalized(s, p, s->pbuf, true);
        if (el != pl || memcmp(s->ebuf, s->pbuf, el) != 0) {
            kind = VK_CMP_DIFFER;
            vk_diff_frames(s->ebuf, el, s->pbuf, pl, words, sizeof words);
        }
    }
    if (kind == VK_CMP_MATCH)
        r->matched++;
    else
        r->divergences++;
    if (kind == VK_CMP_MATCH && !s->keep_matches)
        return VK_OK;
    char ktext[VK_FLOW_KEY_MAX];
    vk_flow_bkey_text(key, ktext);
    vk_cmp_entry en = {.kind = kind,
                       .exp = x ? x->ord : VK_CMP_NONE,
                       .prod = p ? p->ord : VK_CMP_NONE,
                       .ts = x ? x->ts : p->ts};
    if (intern_flow(r, ktext, &en.flow) != VK_OK)
        return VK_ENOMEM;
    if ((x && keep_frame(&en.x, x) != VK_OK) || (p && keep_frame(&en.p, p) != VK_OK) ||
        (kind == VK_CMP_DIFFER && (en.diff = strdup(words)) == NULL) ||
        entry_add(r, &en) != VK_OK) {
        entry_free(&en);
        return VK_ENOMEM;
    }
    return VK_OK;
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
 * at all, and a missing answer in a burst stay divergences.  Every RA of
 * both sides is kept for this (they are rare), up to VK_CMP_RA_KEPT_MAX a
 * side; RAs past that are counted and take no part in the rule. */

static bool is_router_advert(const uint8_t *data, size_t len)
{
    vk_pkt k;
    if (vk_pkt_locate(data, len, &k) != VK_OK || k.l3 != 6 || k.frag ||
        k.proto != VK_IP_PROTO_ICMPV6 || k.l4_off == 0 || vk_pkt_l4_len(&k) < 1)
        return false;
    return data[k.l4_off] == VK_ICMPV6_ROUTER_ADVERT;
}

/* Only an IPv6 frame's key can belong to an RA. */
static bool may_be_ra(const vk_flow_bkey *b)
{
    return b->kind == FK_ROUTER || b->kind == FK_ICMP6 || b->kind == FK_ND ||
           (b->kind == FK_IP && b->alen == 16);
}

static int keep_ra(vk_cmp_stream *s, int side, const vk_flow_bkey *key, const side_frame *f)
{
    if (!may_be_ra(key) || !is_router_advert(f->data, f->len))
        return VK_OK;
    if (s->nra[side] >= VK_CMP_RA_KEPT_MAX) {
        s->r.ras_over_cap++;
        return VK_OK;
    }
    if (vk_grow(&s->ra[side], &s->ra_cap[side], s->nra[side], sizeof *s->ra[side], 8) != VK_OK)
        return VK_ENOMEM;
    uint8_t *copy = malloc(f->len ? f->len : 1);
    if (copy == NULL)
        return VK_ENOMEM;
    memcpy(copy, f->data, f->len);
    s->ra[side][s->nra[side]++] = (kept_ra){*key, f->ord, f->no, f->ts, copy, f->len};
    return VK_OK;
}

static const kept_ra *find_ra(const vk_cmp_stream *s, int side, size_t ord)
{
    for (size_t i = 0; i < s->nra[side]; i++)
        if (s->ra[side][i].ord == ord)
            return &s->ra[side][i];
    return NULL;
}

/* No other RA of the flow on this side within VK_CMP_RA_ALONE_NS of m. */
static bool ra_alone(const vk_cmp_stream *s, int side, const kept_ra *m)
{
    for (size_t i = 0; i < s->nra[side]; i++) {
        const kept_ra *o = &s->ra[side][i];
        uint64_t gap = o->ts > m->ts ? o->ts - m->ts : m->ts - o->ts;
        if (o->ord != m->ord && gap < VK_CMP_RA_ALONE_NS &&
            memcmp(&o->key, &m->key, sizeof m->key) == 0)
            return false;
    }
    return true;
}

/* The first RA of the flow on the other side equal to m after
 * normalisation, or NULL. */
static const kept_ra *equal_ra(vk_cmp_stream *s, int side, const kept_ra *m)
{
    int other = !side;
    uint8_t *mine = side ? s->pbuf : s->ebuf, *theirs = side ? s->ebuf : s->pbuf;
    side_frame f = {m->no, m->ts, m->ord, m->data, m->len};
    size_t fl = normalized(s, &f, mine, side == 1);
    for (size_t i = 0; i < s->nra[other]; i++) {
        const kept_ra *o = &s->ra[other][i];
        if (memcmp(&o->key, &m->key, sizeof m->key) != 0)
            continue;
        side_frame of = {o->no, o->ts, o->ord, o->data, o->len};
        size_t ol = normalized(s, &of, theirs, other == 1);
        if (ol == fl && memcmp(mine, theirs, fl) == 0)
            return o;
    }
    return NULL;
}

static int periodic_ra_rule(vk_cmp_stream *s)
{
    vk_cmp_result *r = &s->r;
    if ((s->nra[0] || s->nra[1]) && scratch(s, 0) != VK_OK)
        return VK_ENOMEM;
    for (size_t i = 0; i < r->n; i++) {
        vk_cmp_entry *e = &r->e[i];
        int side;
        if (e->kind == VK_CMP_MISSING)
            side = 0;
        else if (e->kind == VK_CMP_UNEXPECTED)
            side = 1;
        else
            continue;
        const kept_ra *m = find_ra(s, side, side ? e->prod : e->exp);
        if (m == NULL || !ra_alone(s, side, m))
            continue;
        const kept_ra *o = equal_ra(s, side, m);
        if (o == NULL)
            continue;
        side_frame of = {o->no, o->ts, o->ord, o->data, o->len};
        if (keep_frame(side ? &e->x : &e->p, &of) != VK_OK)
            return VK_ENOMEM;
        if (side)
            e->exp = o->ord;
        else
            e->prod = o->ord;
        e->kind = VK_CMP_MATCH;
        e->rule = VK_CMP_RULE_PERIODIC_RA;
        r->divergences--;
        r->matched++;
        r->by_rule++;
    }
    return VK_OK;
}

/* ---- the stream ---- */

int vk_cmp_stream_new(unsigned norm, const vk_rewriter *rw, bool keep_matches,
                      vk_cmp_stream **out)
{
    vk_cmp_stream *s = calloc(1, sizeof *s);
    *out = s;
    if (s == NULL)
        return VK_ENOMEM;
    s->norm = norm;
    s->rw = rw;
    s->keep_matches = keep_matches;
    s->free_flow = NO_FLOW;
    return VK_OK;
}

static pend *pend_new(const side_frame *f)
{
    pend *p = malloc(sizeof *p + (f->len ? f->len : 1));
    if (p == NULL)
        return NULL;
    *p = (pend){NULL, f->no, f->ts, f->ord, f->len};
    memcpy(p->data, f->data, f->len);
    return p;
}

/* One frame of a side (0 expected, 1 produced). */
static int stream_add(vk_cmp_stream *s, int side, const vk_cmp_frame *in)
{
    if (s->err != VK_OK)
        return s->err;
    side_frame f = {in->no, in->ts, s->ord[side]++, in->data, in->len};
    vk_flow_bkey key;
    vk_flow_bkey_of(in->data, in->len, &key);
    int e = keep_ra(s, side, &key, &f);
    uint32_t fi = e == VK_OK ? flow_get(s, &key) : NO_FLOW;
    if (fi == NO_FLOW)
        return s->err = VK_ENOMEM;
    sflow *fl = &s->flows[fi];
    pend *o = fl->q[!side];
    if (o == NULL) { /* nothing to pair with yet: wait */
        pend *p = pend_new(&f);
        if (p == NULL)
            return s->err = VK_ENOMEM;
        if (fl->qt[side] != NULL)
            fl->qt[side]->next = p;
        else
            fl->q[side] = p;
        fl->qt[side] = p;
        return VK_OK;
    }
    if ((fl->q[!side] = o->next) == NULL)
        fl->qt[!side] = NULL;
    side_frame of = {o->no, o->ts, o->ord, o->data, o->len};
    e = side ? settle(s, &key, &of, &f) : settle(s, &key, &f, &of);
    free(o);
    if (fl->q[!side] == NULL)
        flow_drop(s, fi);
    return e == VK_OK ? VK_OK : (s->err = e);
}

int vk_cmp_stream_expected(vk_cmp_stream *s, const vk_cmp_frame *f)
{
    return stream_add(s, 0, f);
}

int vk_cmp_stream_produced(vk_cmp_stream *s, const vk_cmp_frame *f)
{
    return stream_add(s, 1, f);
}

size_t vk_cmp_stream_pending(const vk_cmp_stream *s)
{
    return s->live;
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

/* The frames still queued: missing (expected) or unexpected (produced). */
static int settle_leftovers(vk_cmp_stream *s)
{
    for (size_t i = 0; i < s->nflows; i++) {
        sflow *fl = &s->flows[i];
        for (int side = 0; side < 2; side++)
            while (fl->q[side] != NULL) {
                pend *p = fl->q[side];
                fl->q[side] = p->next;
                side_frame f = {p->no, p->ts, p->ord, p->data, p->len};
                int e = side ? settle(s, &fl->key, NULL, &f) : settle(s, &fl->key, &f, NULL);
                free(p);
                if (e != VK_OK)
                    return e;
            }
        fl->qt[0] = fl->qt[1] = NULL;
    }
    return VK_OK;
}

void vk_cmp_stream_free(vk_cmp_stream *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nflows; i++)
        for (int side = 0; side < 2; side++)
            while (s->flows[i].q[side] != NULL) {
                pend *p = s->flows[i].q[side];
                s->flows[i].q[side] = p->next;
                free(p);
            }
    for (int side = 0; side < 2; side++) {
        for (size_t i = 0; i < s->nra[side]; i++)
            free(s->ra[side][i].data);
        free(s->ra[side]);
    }
    free(s->flows);
    free(s->bucket);
    free(s->ebuf);
    free(s->pbuf);
    vk_cmp_result_free(&s->r);
    free(s);
}

int vk_cmp_stream_finish(vk_cmp_stream *s, vk_cmp_result *out)
{
    memset(out, 0, sizeof *out);
    int rc = s->err;
    if (rc == VK_OK)
        rc = settle_leftovers(s);
    if (rc == VK_OK)
        rc = periodic_ra_rule(s);
    if (rc == VK_OK) {
        s->r.nexp = s->ord[0];
        s->r.nprod = s->ord[1];
        free(s->r.flow_index); /* only needed while interning */
        s->r.flow_index = NULL;
        s->r.index_cap = 0;
        if (s->r.n > 0) /* e is NULL when nothing was kept */
            qsort(s->r.e, s->r.n, sizeof *s->r.e, entry_cmp);
        *out = s->r;
        memset(&s->r, 0, sizeof s->r);
    }
    vk_cmp_stream_free(s);
    return rc;
}

int vk_compare(const vk_cmp_frame *exp, size_t nexp, const vk_cmp_frame *prod, size_t nprod,
               unsigned norm, const vk_rewriter *rw, vk_cmp_result *out)
{
    memset(out, 0, sizeof *out);
    vk_cmp_stream *s;
    int rc = vk_cmp_stream_new(norm, rw, true, &s);
    for (size_t i = 0; rc == VK_OK && i < nexp; i++)
        rc = vk_cmp_stream_expected(s, &exp[i]);
    for (size_t i = 0; rc == VK_OK && i < nprod; i++)
        rc = vk_cmp_stream_produced(s, &prod[i]);
    if (rc != VK_OK) {
        vk_cmp_stream_free(s);
        return rc;
    }
    return vk_cmp_stream_finish(s, out);
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
        entry_free(&r->e[i]);
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
