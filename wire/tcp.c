/* TCP header and option parse and emit (see tcp.h). */
#include "wire/tcp.h"

#include "core/error.h"
#include "wire/buf.h"
#include "wire/checksum.h"

#include <string.h>

/* The one option whose value we keep: o points at the kind byte, olen is
 * its checked length. */
static int take_option(vk_tcp_repr *out, const uint8_t *o, size_t olen)
{
    switch (o[0]) {
    case VK_TCP_OPT_MSS:
        if (olen != 4)
            return VK_EFORMAT;
        out->has_mss = true;
        out->mss = vk_get_be16(o + 2);
        break;
    case VK_TCP_OPT_WSCALE:
        if (olen != 3)
            return VK_EFORMAT;
        out->has_wscale = true;
        out->wscale = o[2];
        break;
    case VK_TCP_OPT_SACK_PERM:
        if (olen != 2)
            return VK_EFORMAT;
        out->sack_perm = true;
        break;
    case VK_TCP_OPT_TIMESTAMP:
        if (olen != 10)
            return VK_EFORMAT;
        out->has_ts = true;
        out->ts_val = vk_get_be32(o + 2);
        out->ts_ecr = vk_get_be32(o + 6);
        break;
    default:
        break; /* SACK blocks and unknown kinds: skipped by length */
    }
    return VK_OK;
}

static int parse_options(vk_tcp_repr *out, const uint8_t *o, size_t n)
{
    size_t off = 0;
    while (off < n) {
        uint8_t kind = o[off];
        if (kind == VK_TCP_OPT_EOL)
            break;
        if (kind == VK_TCP_OPT_NOP) {
            off++;
            continue;
        }
        if (n - off < 2)
            return VK_EFORMAT;
        size_t olen = o[off + 1];
        /* olen >= 2 is what guarantees the loop advances. */
        if (olen < 2 || olen > n - off)
            return VK_EFORMAT;
        int err = take_option(out, o + off, olen);
        if (err != VK_OK)
            return err;
        off += olen;
    }
    return VK_OK;
}

static int parse_header(const uint8_t *p, size_t len, vk_tcp_repr *out)
{
    if (len < VK_TCP_MIN_HLEN)
        return VK_ETRUNC;
    size_t hl = (size_t)(p[12] >> 4) * 4;
    if (hl < VK_TCP_MIN_HLEN)
        return VK_EFORMAT;
    if (hl > len)
        return VK_ETRUNC;
    memset(out, 0, sizeof(*out));
    out->src_port = vk_get_be16(p);
    out->dst_port = vk_get_be16(p + 2);
    out->seq = vk_get_be32(p + 4);
    out->ack = vk_get_be32(p + 8);
    out->flags = p[13];
    out->window = vk_get_be16(p + 14);
    out->csum = vk_get_be16(p + 16);
    out->urgent = vk_get_be16(p + 18);
    out->hdr_len = hl;
    out->options = p + VK_TCP_MIN_HLEN;
    out->options_len = hl - VK_TCP_MIN_HLEN;
    out->payload = p + hl;
    out->payload_len = len - hl;
    return VK_OK;
}

int vk_tcp_parse(const uint8_t *p, size_t len, vk_tcp_repr *out)
{
    int r = parse_header(p, len, out);
    if (r != VK_OK)
        return r;
    return parse_options(out, out->options, out->options_len);
}

int vk_tcp_parse_lenient(const uint8_t *p, size_t len, vk_tcp_repr *out)
{
    int r = parse_header(p, len, out);
    if (r != VK_OK)
        return r;
    if (parse_options(out, out->options, out->options_len) != VK_OK)
        out->options_bad = true;
    return VK_OK;
}

bool vk_tcp_csum_ok(uint32_t pseudo, const uint8_t *seg, size_t len)
{
    return len >= VK_TCP_MIN_HLEN && vk_csum_l4(pseudo, seg, len) == 0;
}

/* Options from the fields, in Linux's SYN order so captures look familiar:
 * MSS, SACK-permitted + timestamps, NOP + window scale; NOPs pad to 4. */
static void build_options(const vk_tcp_repr *r, vk_wr *w)
{
    if (r->has_mss) {
        vk_wr_u8(w, VK_TCP_OPT_MSS);
        vk_wr_u8(w, 4);
        vk_wr_u16be(w, r->mss);
    }
    if (r->sack_perm && r->has_ts) {
        vk_wr_u8(w, VK_TCP_OPT_SACK_PERM);
        vk_wr_u8(w, 2);
    } else if (r->has_ts) {
        vk_wr_u16be(w, VK_TCP_OPT_NOP << 8 | VK_TCP_OPT_NOP);
    } else if (r->sack_perm) {
        vk_wr_u16be(w, VK_TCP_OPT_NOP << 8 | VK_TCP_OPT_NOP);
        vk_wr_u8(w, VK_TCP_OPT_SACK_PERM);
        vk_wr_u8(w, 2);
    }
    if (r->has_ts) {
        vk_wr_u8(w, VK_TCP_OPT_TIMESTAMP);
        vk_wr_u8(w, 10);
        vk_wr_u32be(w, r->ts_val);
        vk_wr_u32be(w, r->ts_ecr);
    }
    if (r->has_wscale) {
        vk_wr_u8(w, VK_TCP_OPT_NOP);
        vk_wr_u8(w, VK_TCP_OPT_WSCALE);
        vk_wr_u8(w, 3);
        vk_wr_u8(w, r->wscale);
    }
}

int vk_tcp_emit(const vk_tcp_repr *r, uint32_t pseudo, uint8_t *buf, size_t cap,
                size_t *written)
{
    if (r->options_len % 4 != 0 || r->options_len > VK_TCP_MAX_OPTIONS_LEN)
        return VK_EINVAL;
    uint8_t opts[VK_TCP_MAX_OPTIONS_LEN];
    vk_wr ow;
    vk_wr_init(&ow, opts, sizeof(opts));
    if (r->options_len > 0)
        vk_wr_bytes(&ow, r->options, r->options_len);
    else
        build_options(r, &ow);
    if (!vk_wr_ok(&ow))
        return VK_EINVAL;
    size_t hl = VK_TCP_MIN_HLEN + ow.off;
    if (cap < hl || r->payload_len > cap - hl)
        return VK_EFULL;
    vk_put_be16(buf, r->src_port);
    vk_put_be16(buf + 2, r->dst_port);
    vk_put_be32(buf + 4, r->seq);
    vk_put_be32(buf + 8, r->ack);
    buf[12] = (uint8_t)(hl / 4 << 4);
    buf[13] = r->flags;
    vk_put_be16(buf + 14, r->window);
    vk_put_be16(buf + 16, 0);
    vk_put_be16(buf + 18, r->urgent);
    /* Move the payload before writing options: it may sit in place at the
     * caller's idea of the header end. */
    if (r->payload != NULL && r->payload != buf + hl && r->payload_len > 0)
        memmove(buf + hl, r->payload, r->payload_len);
    memcpy(buf + VK_TCP_MIN_HLEN, opts, ow.off);
    size_t n = hl + r->payload_len;
    uint16_t csum = r->csum_partial ? (uint16_t)~vk_csum_finish(vk_csum_add_len(pseudo, n))
                                    : vk_csum_l4(pseudo, buf, n);
    vk_put_be16(buf + 16, csum);
    *written = n;
    return VK_OK;
}
