/* ICMPv6 and Neighbor Discovery parse and emit (see icmpv6.h). */
#include "wire/icmpv6.h"

#include "core/error.h"
#include "wire/buf.h"
#include "wire/checksum.h"

#include <string.h>

/* Fixed part (header included) of each ND message; options follow it. */
static size_t nd_fixed_len(uint8_t type)
{
    switch (type) {
    case VK_ICMPV6_ROUTER_SOLICIT:
        return 8;
    case VK_ICMPV6_ROUTER_ADVERT:
        return 16;
    case VK_ICMPV6_NEIGHBOR_SOLICIT:
    case VK_ICMPV6_NEIGHBOR_ADVERT:
        return 24;
    default:
        return 0; /* not an ND message we walk */
    }
}

static int opt_prefix(vk_icmpv6_repr *out, const uint8_t *o, size_t olen)
{
    if (olen != 32)
        return VK_EFORMAT;
    if (out->prefix_count == VK_ICMPV6_MAX_PREFIXES) {
        out->prefixes_dropped++;
        return VK_OK;
    }
    vk_nd_prefix *pi = &out->prefix[out->prefix_count++];
    pi->prefix_len = o[2];
    pi->flags = o[3];
    pi->valid_lifetime = vk_get_be32(o + 4);
    pi->preferred_lifetime = vk_get_be32(o + 8);
    memcpy(pi->prefix.b, o + 16, 16);
    return VK_OK;
}

static int opt_rdnss(vk_icmpv6_repr *out, const uint8_t *o, size_t olen)
{
    /* 8 bytes of header then whole addresses: length 3, 5, 7, ... */
    if (olen < 24 || (olen - 8) % 16 != 0)
        return VK_EFORMAT;
    out->rdnss_lifetime = vk_get_be32(o + 4);
    for (size_t off = 8; off < olen; off += 16) {
        if (out->rdnss_count == VK_ICMPV6_MAX_RDNSS) {
            out->rdnss_dropped++;
            continue;
        }
        memcpy(out->rdnss[out->rdnss_count++].b, o + off, 16);
    }
    return VK_OK;
}

static int take_option(vk_icmpv6_repr *out, const uint8_t *o, size_t olen)
{
    switch (o[0]) {
    case VK_ND_OPT_SRC_LLADDR:
    case VK_ND_OPT_TGT_LLADDR:
        /* Ethernet only: 8 bytes, 6 of them the address. */
        if (olen != 8)
            return VK_EFORMAT;
        if (o[0] == VK_ND_OPT_SRC_LLADDR) {
            out->has_src_ll = true;
            memcpy(out->src_ll.b, o + 2, 6);
        } else {
            out->has_tgt_ll = true;
            memcpy(out->tgt_ll.b, o + 2, 6);
        }
        return VK_OK;
    case VK_ND_OPT_PREFIX_INFO:
        return opt_prefix(out, o, olen);
    case VK_ND_OPT_MTU:
        if (olen != 8)
            return VK_EFORMAT;
        out->has_mtu = true;
        out->mtu = vk_get_be32(o + 4);
        return VK_OK;
    case VK_ND_OPT_RDNSS:
        return opt_rdnss(out, o, olen);
    default:
        return VK_OK; /* unknown options are skipped (RFC 4861 4.6) */
    }
}

static int parse_options(vk_icmpv6_repr *out, const uint8_t *o, size_t n)
{
    size_t off = 0;
    while (off < n) {
        if (n - off < 2)
            return VK_ETRUNC;
        size_t olen = (size_t)o[off + 1] * 8;
        if (olen == 0)
            return VK_EFORMAT;
        if (olen > n - off)
            return VK_ETRUNC;
        int err = take_option(out, o + off, olen);
        if (err != VK_OK)
            return err;
        off += olen;
    }
    return VK_OK;
}

static void parse_fixed(vk_icmpv6_repr *out, const uint8_t *p)
{
    switch (out->type) {
    case VK_ICMPV6_ROUTER_ADVERT:
        out->cur_hop_limit = p[4];
        out->ra_flags = p[5];
        out->router_lifetime = vk_get_be16(p + 6);
        out->reachable_time = vk_get_be32(p + 8);
        out->retrans_timer = vk_get_be32(p + 12);
        break;
    case VK_ICMPV6_NEIGHBOR_ADVERT:
        out->na_flags = vk_get_be32(p + 4) & 0xe0000000u;
        memcpy(out->target.b, p + 8, 16);
        break;
    case VK_ICMPV6_NEIGHBOR_SOLICIT:
        memcpy(out->target.b, p + 8, 16);
        break;
    default:
        break;
    }
}

int vk_icmpv6_parse(const uint8_t *p, size_t len, vk_icmpv6_repr *out)
{
    if (len < VK_ICMPV6_HLEN)
        return VK_ETRUNC;
    memset(out, 0, sizeof(*out));
    out->type = p[0];
    out->code = p[1];
    out->csum = vk_get_be16(p + 2);
    if (out->type == VK_ICMPV6_ECHO_REQUEST || out->type == VK_ICMPV6_ECHO_REPLY) {
        if (len < 8)
            return VK_ETRUNC;
        out->id = vk_get_be16(p + 4);
        out->seq = vk_get_be16(p + 6);
        out->data = p + 8;
        out->data_len = len - 8;
        return VK_OK;
    }
    size_t fixed = nd_fixed_len(out->type);
    if (fixed == 0) {
        out->data = p + VK_ICMPV6_HLEN;
        out->data_len = len - VK_ICMPV6_HLEN;
        return VK_OK;
    }
    if (len < fixed)
        return VK_ETRUNC;
    parse_fixed(out, p);
    return parse_options(out, p + fixed, len - fixed);
}

bool vk_icmpv6_csum_ok(uint32_t pseudo, const uint8_t *seg, size_t len)
{
    return len >= VK_ICMPV6_HLEN && vk_csum_l4(pseudo, seg, len) == 0;
}

static void put_ll(vk_wr *w, uint8_t type, const vk_mac *m)
{
    vk_wr_u8(w, type);
    vk_wr_u8(w, 1);
    vk_wr_bytes(w, m->b, 6);
}

static void put_options(const vk_icmpv6_repr *r, vk_wr *w)
{
    if (r->has_src_ll)
        put_ll(w, VK_ND_OPT_SRC_LLADDR, &r->src_ll);
    if (r->has_tgt_ll)
        put_ll(w, VK_ND_OPT_TGT_LLADDR, &r->tgt_ll);
    if (r->has_mtu) {
        vk_wr_u8(w, VK_ND_OPT_MTU);
        vk_wr_u8(w, 1);
        vk_wr_u16be(w, 0);
        vk_wr_u32be(w, r->mtu);
    }
    for (size_t i = 0; i < r->prefix_count && i < VK_ICMPV6_MAX_PREFIXES; i++) {
        const vk_nd_prefix *pi = &r->prefix[i];
        vk_wr_u8(w, VK_ND_OPT_PREFIX_INFO);
        vk_wr_u8(w, 4);
        vk_wr_u8(w, pi->prefix_len);
        vk_wr_u8(w, pi->flags);
        vk_wr_u32be(w, pi->valid_lifetime);
        vk_wr_u32be(w, pi->preferred_lifetime);
        vk_wr_u32be(w, 0);
        vk_wr_bytes(w, pi->prefix.b, 16);
    }
    size_t nr = r->rdnss_count < VK_ICMPV6_MAX_RDNSS ? r->rdnss_count : VK_ICMPV6_MAX_RDNSS;
    if (nr > 0) {
        vk_wr_u8(w, VK_ND_OPT_RDNSS);
        vk_wr_u8(w, (uint8_t)(1 + 2 * nr));
        vk_wr_u16be(w, 0);
        vk_wr_u32be(w, r->rdnss_lifetime);
        for (size_t i = 0; i < nr; i++)
            vk_wr_bytes(w, r->rdnss[i].b, 16);
    }
}

static void put_body(const vk_icmpv6_repr *r, vk_wr *w)
{
    switch (r->type) {
    case VK_ICMPV6_ECHO_REQUEST:
    case VK_ICMPV6_ECHO_REPLY:
        vk_wr_u16be(w, r->id);
        vk_wr_u16be(w, r->seq);
        vk_wr_bytes(w, r->data, r->data_len);
        return;
    case VK_ICMPV6_ROUTER_SOLICIT:
        vk_wr_u32be(w, 0);
        break;
    case VK_ICMPV6_ROUTER_ADVERT:
        vk_wr_u8(w, r->cur_hop_limit);
        vk_wr_u8(w, r->ra_flags);
        vk_wr_u16be(w, r->router_lifetime);
        vk_wr_u32be(w, r->reachable_time);
        vk_wr_u32be(w, r->retrans_timer);
        break;
    case VK_ICMPV6_NEIGHBOR_SOLICIT:
    case VK_ICMPV6_NEIGHBOR_ADVERT:
        vk_wr_u32be(w, r->type == VK_ICMPV6_NEIGHBOR_ADVERT ? r->na_flags : 0);
        vk_wr_bytes(w, r->target.b, 16);
        break;
    default:
        vk_wr_bytes(w, r->data, r->data_len);
        return;
    }
    put_options(r, w);
}

int vk_icmpv6_emit(const vk_icmpv6_repr *r, uint32_t pseudo, uint8_t *buf, size_t cap,
                   size_t *written)
{
    vk_wr w;
    vk_wr_init(&w, buf, cap);
    vk_wr_u8(&w, r->type);
    vk_wr_u8(&w, r->code);
    vk_wr_u16be(&w, 0);
    put_body(r, &w);
    int err = vk_wr_status(&w);
    if (err != VK_OK)
        return err;
    vk_put_be16(buf + 2, vk_csum_l4(pseudo, buf, w.off));
    *written = w.off;
    return VK_OK;
}
