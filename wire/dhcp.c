/* DHCPv4/BOOTP parse, option writer and domain-search encoder (see dhcp.h). */
#include "wire/dhcp.h"

#include "core/error.h"

#include <string.h>
#include <strings.h>

static const uint8_t magic_cookie[4] = {99, 130, 83, 99};

static void copy_field(char *dst, const uint8_t *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void parse_fixed(const uint8_t *p, vk_dhcp_repr *out)
{
    out->op = p[0];
    out->htype = p[1];
    out->hlen = p[2];
    out->hops = p[3];
    out->xid = vk_get_be32(p + 4);
    out->secs = vk_get_be16(p + 8);
    out->flags = vk_get_be16(p + 10);
    memcpy(out->ciaddr.b, p + 12, 4);
    memcpy(out->yiaddr.b, p + 16, 4);
    memcpy(out->siaddr.b, p + 20, 4);
    memcpy(out->giaddr.b, p + 24, 4);
    memcpy(out->chaddr, p + 28, 16);
    copy_field(out->sname, p + 44, 64);
    copy_field(out->file, p + 108, 128);
}

static int take_option(vk_dhcp_repr *out, uint8_t code, const uint8_t *v, size_t n)
{
    switch (code) {
    case VK_DHCP_OPT_MSG_TYPE:
        if (n != 1)
            return VK_EFORMAT;
        out->msg_type = v[0];
        break;
    case VK_DHCP_OPT_REQUESTED_IP:
    case VK_DHCP_OPT_SERVER_ID:
        if (n != 4)
            return VK_EFORMAT;
        if (code == VK_DHCP_OPT_REQUESTED_IP) {
            out->has_requested_ip = true;
            memcpy(out->requested_ip.b, v, 4);
        } else {
            out->has_server_id = true;
            memcpy(out->server_id.b, v, 4);
        }
        break;
    case VK_DHCP_OPT_LEASE_TIME:
        if (n != 4)
            return VK_EFORMAT;
        out->has_lease_time = true;
        out->lease_time = vk_get_be32(v);
        break;
    case VK_DHCP_OPT_MAX_MSG_SIZE:
        if (n != 2)
            return VK_EFORMAT;
        out->has_max_msg_size = true;
        out->max_msg_size = vk_get_be16(v);
        break;
    case VK_DHCP_OPT_PARAM_REQUEST:
    case VK_DHCP_OPT_CLIENT_ID:
    case VK_DHCP_OPT_HOSTNAME:
        if (n == 0)
            return VK_EFORMAT;
        if (code == VK_DHCP_OPT_PARAM_REQUEST) {
            out->param_request = v;
            out->param_request_len = n;
        } else if (code == VK_DHCP_OPT_CLIENT_ID) {
            out->client_id = v;
            out->client_id_len = n;
        } else {
            out->hostname = v;
            out->hostname_len = n;
        }
        break;
    default:
        break; /* includes overload (52): see dhcp.h */
    }
    return VK_OK;
}

static int parse_options(vk_rd *r, vk_dhcp_repr *out)
{
    const uint8_t *start = r->p + r->off;
    /* Every iteration consumes at least one byte, so this ends. */
    for (;;) {
        size_t at = r->off;
        uint8_t code = vk_rd_u8(r);
        if (!vk_rd_ok(r))
            return VK_ETRUNC; /* no END */
        if (code == VK_DHCP_OPT_PAD)
            continue;
        if (code == VK_DHCP_OPT_END) {
            out->options = start;
            out->options_len = (size_t)(r->p + at - start);
            return VK_OK;
        }
        size_t n = vk_rd_u8(r);
        const uint8_t *v = vk_rd_take(r, n);
        if (!vk_rd_ok(r))
            return VK_ETRUNC;
        int err = take_option(out, code, v, n);
        if (err != VK_OK)
            return err;
    }
}

int vk_dhcp_parse(const uint8_t *p, size_t len, vk_dhcp_repr *out)
{
    if (len < VK_DHCP_OPTIONS_OFF)
        return VK_ETRUNC;
    if (memcmp(p + VK_DHCP_FIXED_LEN, magic_cookie, 4) != 0)
        return VK_EFORMAT;
    memset(out, 0, sizeof(*out));
    parse_fixed(p, out);
    vk_rd r;
    vk_rd_init(&r, p + VK_DHCP_OPTIONS_OFF, len - VK_DHCP_OPTIONS_OFF);
    return parse_options(&r, out);
}

bool vk_dhcp_chaddr_mac(const vk_dhcp_repr *r, vk_mac *out)
{
    if (r->htype != 1 || r->hlen != 6)
        return false;
    memcpy(out->b, r->chaddr, 6);
    return true;
}

const char *vk_dhcp_msg_name(uint8_t msg_type)
{
    static const char *const names[] = {"?", "DISCOVER", "OFFER", "REQUEST", "DECLINE",
                                        "ACK", "NAK", "RELEASE", "INFORM"};
    if (msg_type >= sizeof(names) / sizeof(names[0]))
        return "?";
    return names[msg_type];
}

static void put_field(vk_wr *w, const char *s, size_t n)
{
    size_t sl = strnlen(s, n);
    vk_wr_bytes(w, s, sl);
    vk_wr_zero(w, n - sl);
}

int vk_dhcp_emit_header(const vk_dhcp_repr *r, vk_wr *w)
{
    vk_wr_u8(w, r->op);
    vk_wr_u8(w, r->htype);
    vk_wr_u8(w, r->hlen);
    vk_wr_u8(w, r->hops);
    vk_wr_u32be(w, r->xid);
    vk_wr_u16be(w, r->secs);
    vk_wr_u16be(w, r->flags);
    vk_wr_bytes(w, r->ciaddr.b, 4);
    vk_wr_bytes(w, r->yiaddr.b, 4);
    vk_wr_bytes(w, r->siaddr.b, 4);
    vk_wr_bytes(w, r->giaddr.b, 4);
    vk_wr_bytes(w, r->chaddr, 16);
    put_field(w, r->sname, 64);
    put_field(w, r->file, 128);
    vk_wr_bytes(w, magic_cookie, 4);
    return vk_wr_status(w);
}

int vk_dhcp_put_option(vk_wr *w, uint8_t code, const void *data, size_t len)
{
    const uint8_t *v = data;
    size_t off = 0;
    /* A zero-length option is still one instance (e.g. rapid commit). */
    do {
        size_t n = len - off > 255 ? 255 : len - off;
        vk_wr_u8(w, code);
        vk_wr_u8(w, (uint8_t)n);
        if (n > 0)
            vk_wr_bytes(w, v + off, n);
        off += n;
    } while (off < len && vk_wr_ok(w));
    return vk_wr_status(w);
}

int vk_dhcp_put_u8(vk_wr *w, uint8_t code, uint8_t v)
{
    return vk_dhcp_put_option(w, code, &v, 1);
}

int vk_dhcp_put_u16(vk_wr *w, uint8_t code, uint16_t v)
{
    uint8_t b[2];
    vk_put_be16(b, v);
    return vk_dhcp_put_option(w, code, b, 2);
}

int vk_dhcp_put_u32(vk_wr *w, uint8_t code, uint32_t v)
{
    uint8_t b[4];
    vk_put_be32(b, v);
    return vk_dhcp_put_option(w, code, b, 4);
}

int vk_dhcp_put_ip4(vk_wr *w, uint8_t code, const vk_ip4 *a)
{
    return vk_dhcp_put_option(w, code, a->b, 4);
}

int vk_dhcp_finish(vk_wr *w, size_t min_len)
{
    vk_wr_u8(w, VK_DHCP_OPT_END);
    if (w->off < min_len)
        vk_wr_zero(w, min_len - w->off);
    return vk_wr_status(w);
}

/* A name suffix already in the encoded list, for compression. */
struct suffix {
    const char *name;
    size_t len;
    size_t off;
};

struct search_enc {
    vk_wr w;
    struct suffix tab[VK_DHCP_SEARCH_MAX_SUFFIXES];
    size_t ntab;
};

static const struct suffix *find_suffix(const struct search_enc *e, const char *s, size_t n)
{
    for (size_t i = 0; i < e->ntab; i++)
        if (e->tab[i].len == n && strncasecmp(e->tab[i].name, s, n) == 0)
            return &e->tab[i];
    return NULL;
}

static void remember(struct search_enc *e, const char *s, size_t n)
{
    /* Pointers carry 14 bits of offset; later suffixes just stay verbatim. */
    if (e->ntab == VK_DHCP_SEARCH_MAX_SUFFIXES || e->w.off > 0x3fff)
        return;
    e->tab[e->ntab++] = (struct suffix){s, n, e->w.off};
}

static int encode_name(struct search_enc *e, const char *d)
{
    size_t dlen = strlen(d);
    if (dlen > 0 && d[dlen - 1] == '.')
        dlen--;
    if (dlen == 0 || dlen > 253)
        return VK_EINVAL;
    size_t pos = 0;
    while (pos < dlen) {
        const struct suffix *s = find_suffix(e, d + pos, dlen - pos);
        if (s != NULL) {
            vk_wr_u16be(&e->w, (uint16_t)(0xc000 | s->off));
            return vk_wr_status(&e->w);
        }
        const char *dot = memchr(d + pos, '.', dlen - pos);
        size_t end = dot == NULL ? dlen : (size_t)(dot - d);
        size_t lab = end - pos;
        if (lab == 0 || lab > 63)
            return VK_EINVAL;
        remember(e, d + pos, dlen - pos);
        vk_wr_u8(&e->w, (uint8_t)lab);
        vk_wr_bytes(&e->w, d + pos, lab);
        pos = end == dlen ? dlen : end + 1;
    }
    vk_wr_u8(&e->w, 0);
    return vk_wr_status(&e->w);
}

int vk_dhcp_encode_search(const char *const *domains, size_t n, uint8_t *out, size_t cap,
                          size_t *written)
{
    struct search_enc e;
    vk_wr_init(&e.w, out, cap);
    e.ntab = 0;
    for (size_t i = 0; i < n; i++) {
        int err = encode_name(&e, domains[i]);
        if (err != VK_OK)
            return err;
    }
    *written = e.w.off;
    return VK_OK;
}

int vk_dhcp_put_search(vk_wr *w, const char *const *domains, size_t n)
{
    uint8_t tmp[VK_DHCP_SEARCH_MAX];
    size_t len;
    int err = vk_dhcp_encode_search(domains, n, tmp, sizeof(tmp), &len);
    if (err != VK_OK)
        return err;
    return vk_dhcp_put_option(w, VK_DHCP_OPT_DOMAIN_SEARCH, tmp, len);
}
