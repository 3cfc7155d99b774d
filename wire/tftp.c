/* TFTP parse and emit (see tftp.h). */
#include "wire/tftp.h"

#include "core/error.h"
#include "wire/buf.h"

#include <string.h>
#include <strings.h>

/* Reads a NUL-terminated string at *off; advances past the NUL. */
static int read_str(const uint8_t *p, size_t len, size_t *off, const char **out)
{
    if (*off >= len)
        return VK_EFORMAT;
    const uint8_t *nul = memchr(p + *off, '\0', len - *off);
    if (nul == NULL)
        return VK_EFORMAT;
    *out = (const char *)(p + *off);
    *off = (size_t)(nul - p) + 1;
    return VK_OK;
}

/* Plain decimal, no sign or spaces, no overflow past max. */
static bool parse_dec(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static void recognise(vk_tftp_repr *out, const vk_tftp_option *o)
{
    uint64_t v;
    if (strcasecmp(o->name, "blksize") == 0 && parse_dec(o->value, UINT32_MAX, &v)) {
        out->has_blksize = true;
        out->blksize = (uint32_t)v;
    } else if (strcasecmp(o->name, "timeout") == 0 && parse_dec(o->value, UINT32_MAX, &v)) {
        out->has_timeout = true;
        out->timeout = (uint32_t)v;
    } else if (strcasecmp(o->name, "tsize") == 0 && parse_dec(o->value, UINT64_MAX, &v)) {
        out->has_tsize = true;
        out->tsize = v;
    }
}

static int parse_options(const uint8_t *p, size_t len, size_t off, vk_tftp_repr *out)
{
    /* read_str always advances past a NUL, so this ends. */
    while (off < len) {
        if (out->option_count == VK_TFTP_MAX_OPTIONS)
            return VK_EFORMAT;
        vk_tftp_option *o = &out->options[out->option_count];
        int err = read_str(p, len, &off, &o->name);
        if (err == VK_OK)
            err = read_str(p, len, &off, &o->value);
        if (err != VK_OK)
            return err;
        out->option_count++;
        recognise(out, o);
    }
    return VK_OK;
}

static int parse_request(const uint8_t *p, size_t len, vk_tftp_repr *out)
{
    size_t off = 2;
    int err = read_str(p, len, &off, &out->filename);
    if (err == VK_OK)
        err = read_str(p, len, &off, &out->mode);
    if (err != VK_OK)
        return err;
    return parse_options(p, len, off, out);
}

int vk_tftp_parse(const uint8_t *p, size_t len, vk_tftp_repr *out)
{
    if (len < 2)
        return VK_ETRUNC;
    memset(out, 0, sizeof(*out));
    out->opcode = vk_get_be16(p);
    switch (out->opcode) {
    case VK_TFTP_RRQ:
    case VK_TFTP_WRQ:
        return parse_request(p, len, out);
    case VK_TFTP_OACK:
        return parse_options(p, len, 2, out);
    case VK_TFTP_DATA:
    case VK_TFTP_ACK:
        if (len < 4)
            return VK_ETRUNC;
        out->block = vk_get_be16(p + 2);
        /* An ACK is the block number only: bytes after it are ignored (as
         * libslirp and tftpd do), not data, so that what emit writes for the
         * representation is what parse read (found by fuzz/fuzz_wire). */
        if (out->opcode == VK_TFTP_DATA) {
            out->data = p + 4;
            out->data_len = len - 4;
        }
        return VK_OK;
    case VK_TFTP_ERROR: {
        if (len < 4)
            return VK_ETRUNC;
        out->error_code = vk_get_be16(p + 2);
        size_t off = 4;
        return read_str(p, len, &off, &out->error_msg);
    }
    default:
        return VK_EFORMAT;
    }
}

static void put_str(vk_wr *w, const char *s)
{
    vk_wr_bytes(w, s, strlen(s) + 1);
}

static void put_options(vk_wr *w, const vk_tftp_repr *r)
{
    for (size_t i = 0; i < r->option_count && i < VK_TFTP_MAX_OPTIONS; i++) {
        put_str(w, r->options[i].name);
        put_str(w, r->options[i].value);
    }
}

int vk_tftp_emit(const vk_tftp_repr *r, uint8_t *buf, size_t cap, size_t *written)
{
    vk_wr w;
    vk_wr_init(&w, buf, cap);
    vk_wr_u16be(&w, r->opcode);
    switch (r->opcode) {
    case VK_TFTP_RRQ:
    case VK_TFTP_WRQ:
        put_str(&w, r->filename);
        put_str(&w, r->mode);
        put_options(&w, r);
        break;
    case VK_TFTP_OACK:
        put_options(&w, r);
        break;
    case VK_TFTP_DATA:
        vk_wr_u16be(&w, r->block);
        vk_wr_bytes(&w, r->data, r->data_len);
        break;
    case VK_TFTP_ACK:
        vk_wr_u16be(&w, r->block);
        break;
    case VK_TFTP_ERROR:
        vk_wr_u16be(&w, r->error_code);
        put_str(&w, r->error_msg);
        break;
    default:
        return VK_EINVAL;
    }
    int err = vk_wr_status(&w);
    if (err == VK_OK)
        *written = w.off;
    return err;
}

const char *vk_tftp_op_name(uint16_t opcode)
{
    static const char *const names[] = {"?", "RRQ", "WRQ", "DATA", "ACK", "ERROR", "OACK"};
    if (opcode >= sizeof(names) / sizeof(names[0]))
        return "?";
    return names[opcode];
}
