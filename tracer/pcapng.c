/*
 * pcapng writer (format in pcapng.h and draft-ietf-opsawg-pcapng).  Each block
 * is sized first, then emitted into a reusable buffer through a checked
 * little-endian writer, then written with one fwrite.  The size computation
 * and the emitter are kept side by side per block so they cannot drift: the
 * emitter's final length must equal the computed size or the block is refused.
 */
#include "tracer/pcapng.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_EPB 0x00000006u
#define SHB_MAGIC 0x1A2B3C4Du

#define OPT_ENDOFOPT 0
#define OPT_COMMENT 1
#define OPT_SHB_HARDWARE 2
#define OPT_SHB_OS 3
#define OPT_SHB_USERAPPL 4
#define OPT_IF_NAME 2
#define OPT_IF_DESCRIPTION 3
#define OPT_IF_TSRESOL 9
#define OPT_EPB_FLAGS 2
#define OPT_EPB_PACKETID 5

#define OPT_VALUE_MAX 65535u
/* block type + total length at the start, total length at the end */
#define BLOCK_FRAME 12u

struct vk_pcapng {
    FILE *fp;
    char *path;
    uint8_t *buf; /* one block being built */
    size_t buf_cap;
    uint32_t *snaplens; /* per interface */
    uint32_t nifaces, ifaces_cap;
    int err;       /* first error (VK_EIO), VK_OK if none */
    int err_errno; /* its errno */
};

/* ---- checked little-endian byte writer ---- */

typedef struct bw {
    uint8_t *p;
    size_t len, cap;
    bool overflow;
} bw;

static bool bw_room(bw *b, size_t n)
{
    if (b->overflow || n > b->cap - b->len) {
        b->overflow = true;
        return false;
    }
    return true;
}

static void bw_u8(bw *b, uint8_t v)
{
    if (bw_room(b, 1))
        b->p[b->len++] = v;
}

static void bw_u16(bw *b, uint16_t v)
{
    bw_u8(b, (uint8_t)(v & 0xff));
    bw_u8(b, (uint8_t)(v >> 8));
}

static void bw_u32(bw *b, uint32_t v)
{
    bw_u16(b, (uint16_t)(v & 0xffff));
    bw_u16(b, (uint16_t)(v >> 16));
}

static void bw_u64(bw *b, uint64_t v)
{
    bw_u32(b, (uint32_t)(v & 0xffffffffu));
    bw_u32(b, (uint32_t)(v >> 32));
}

static void bw_bytes(bw *b, const void *data, size_t n)
{
    if (n > 0 && bw_room(b, n)) {
        memcpy(b->p + b->len, data, n);
        b->len += n;
    }
}

static void bw_pad32(bw *b)
{
    while (!b->overflow && b->len % 4 != 0)
        bw_u8(b, 0);
}

/* ---- options ---- */

static size_t pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

static size_t str_opt_len(const char *s)
{
    size_t n = strlen(s);
    return n > OPT_VALUE_MAX ? OPT_VALUE_MAX : n;
}

/* Bytes an option with an n-byte value takes, header and padding included. */
static size_t opt_size(size_t n)
{
    return 4 + pad4(n);
}

static size_t str_opt_size(const char *s)
{
    return s != NULL ? opt_size(str_opt_len(s)) : 0;
}

static void opt_raw(bw *b, uint16_t code, const void *val, size_t n)
{
    bw_u16(b, code);
    bw_u16(b, (uint16_t)n);
    bw_bytes(b, val, n);
    bw_pad32(b);
}

static void opt_str(bw *b, uint16_t code, const char *s)
{
    if (s != NULL)
        opt_raw(b, code, s, str_opt_len(s));
}

static void opt_u32(bw *b, uint16_t code, uint32_t v)
{
    bw_u16(b, code);
    bw_u16(b, 4);
    bw_u32(b, v);
}

static void opt_u64(bw *b, uint16_t code, uint64_t v)
{
    bw_u16(b, code);
    bw_u16(b, 8);
    bw_u64(b, v);
}

static void opt_end(bw *b)
{
    bw_u16(b, OPT_ENDOFOPT);
    bw_u16(b, 0);
}

/* ---- blocks ---- */

static int fail(vk_pcapng *w, int err, int errnum)
{
    if (w->err == VK_OK) {
        w->err = err;
        w->err_errno = errnum;
    }
    return err;
}

/* Starts a block of `size` bytes (a multiple of 4) in w->buf. */
static int block_begin(vk_pcapng *w, bw *b, uint32_t type, size_t size)
{
    if (w->err != VK_OK)
        return w->err;
    if (size > UINT32_MAX)
        return VK_ERANGE;
    if (size > w->buf_cap) {
        uint8_t *nb = realloc(w->buf, size);
        if (nb == NULL)
            return VK_ENOMEM;
        w->buf = nb;
        w->buf_cap = size;
    }
    *b = (bw){.p = w->buf, .len = 0, .cap = size, .overflow = false};
    bw_u32(b, type);
    bw_u32(b, (uint32_t)size);
    return VK_OK;
}

/* Closes the block with its repeated length and writes it in one piece. */
static int block_end(vk_pcapng *w, bw *b)
{
    bw_u32(b, (uint32_t)b->cap);
    if (b->overflow || b->len != b->cap)
        return VK_EFORMAT; /* size and emitter disagree: a bug, not a user error */
    if (fwrite(b->p, 1, b->len, w->fp) != b->len)
        return fail(w, VK_EIO, errno);
    return VK_OK;
}

static int write_shb(vk_pcapng *w, const vk_pcapng_section *s)
{
    size_t opts = str_opt_size(s->comment) + str_opt_size(s->hardware) + str_opt_size(s->os) +
                  str_opt_size(s->userappl);
    if (opts > 0)
        opts += 4;
    bw b;
    int r = block_begin(w, &b, BT_SHB, BLOCK_FRAME + 16 + opts);
    if (r != VK_OK)
        return r;
    bw_u32(&b, SHB_MAGIC);
    bw_u16(&b, 1); /* major */
    bw_u16(&b, 0); /* minor */
    bw_u64(&b, UINT64_MAX); /* section length: not specified */
    opt_str(&b, OPT_COMMENT, s->comment);
    opt_str(&b, OPT_SHB_HARDWARE, s->hardware);
    opt_str(&b, OPT_SHB_OS, s->os);
    opt_str(&b, OPT_SHB_USERAPPL, s->userappl);
    if (opts > 0)
        opt_end(&b);
    return block_end(w, &b);
}

int vk_pcapng_open(const char *path, const vk_pcapng_section *shb, vk_pcapng **out,
                   vk_diag *d)
{
    static const vk_pcapng_section none = {0};
    vk_pcapng *w = calloc(1, sizeof *w);
    if (w == NULL || (w->path = strdup(path)) == NULL) {
        free(w);
        return vk_diag_set(d, VK_ENOMEM, "%s: out of memory", path);
    }
    w->fp = fopen(path, "wb");
    if (w->fp == NULL) {
        int e = errno;
        free(w->path);
        free(w);
        return vk_diag_set(d, VK_EIO, "cannot create %s: %s", path, strerror(e));
    }
    int r = write_shb(w, shb != NULL ? shb : &none);
    if (r != VK_OK) {
        vk_pcapng_status(w, d);
        vk_pcapng_close(w, NULL);
        return r == VK_EIO ? r : vk_diag_set(d, r, "%s: %s", path, vk_strerror(r));
    }
    *out = w;
    return VK_OK;
}

int vk_pcapng_add_interface(vk_pcapng *w, uint16_t linktype, uint32_t snaplen, const char *name,
                            const char *description, uint32_t *iface_out)
{
    if (w->nifaces == w->ifaces_cap) {
        uint32_t cap = w->ifaces_cap ? w->ifaces_cap * 2 : 8;
        uint32_t *s = realloc(w->snaplens, cap * sizeof *s);
        if (s == NULL)
            return VK_ENOMEM;
        w->snaplens = s;
        w->ifaces_cap = cap;
    }
    size_t opts = str_opt_size(name) + str_opt_size(description) + opt_size(1) + 4;
    bw b;
    int r = block_begin(w, &b, BT_IDB, BLOCK_FRAME + 8 + opts);
    if (r != VK_OK)
        return r;
    bw_u16(&b, linktype);
    bw_u16(&b, 0); /* reserved */
    bw_u32(&b, snaplen);
    opt_str(&b, OPT_IF_NAME, name);
    opt_str(&b, OPT_IF_DESCRIPTION, description);
    uint8_t tsresol = 9; /* 10^-9 s */
    opt_raw(&b, OPT_IF_TSRESOL, &tsresol, 1);
    opt_end(&b);
    r = block_end(w, &b);
    if (r != VK_OK)
        return r;
    w->snaplens[w->nifaces] = snaplen;
    if (iface_out != NULL)
        *iface_out = w->nifaces;
    w->nifaces++;
    return VK_OK;
}

int vk_pcapng_write_packet(vk_pcapng *w, const vk_pcapng_packet *pkt)
{
    if (pkt->iface >= w->nifaces || pkt->caplen > pkt->origlen)
        return VK_EINVAL;
    uint32_t caplen = pkt->caplen;
    uint32_t snaplen = w->snaplens[pkt->iface];
    if (snaplen != 0 && caplen > snaplen)
        caplen = snaplen;
    size_t opts = str_opt_size(pkt->comment) + (pkt->flags ? opt_size(4) : 0) +
                  (pkt->packet_id ? opt_size(8) : 0);
    if (opts > 0)
        opts += 4;
    bw b;
    int r = block_begin(w, &b, BT_EPB, BLOCK_FRAME + 20 + pad4(caplen) + opts);
    if (r != VK_OK)
        return r;
    bw_u32(&b, pkt->iface);
    bw_u32(&b, (uint32_t)(pkt->ts_ns >> 32));
    bw_u32(&b, (uint32_t)(pkt->ts_ns & 0xffffffffu));
    bw_u32(&b, caplen);
    bw_u32(&b, pkt->origlen);
    bw_bytes(&b, pkt->data, caplen);
    bw_pad32(&b);
    opt_str(&b, OPT_COMMENT, pkt->comment);
    if (pkt->flags)
        opt_u32(&b, OPT_EPB_FLAGS, pkt->flags);
    if (pkt->packet_id)
        opt_u64(&b, OPT_EPB_PACKETID, pkt->packet_id);
    if (opts > 0)
        opt_end(&b);
    return block_end(w, &b);
}

int vk_pcapng_flush(vk_pcapng *w)
{
    if (w->err != VK_OK)
        return w->err;
    if (fflush(w->fp) != 0)
        return fail(w, VK_EIO, errno);
    return VK_OK;
}

int vk_pcapng_status(const vk_pcapng *w, vk_diag *d)
{
    if (w->err == VK_OK)
        return VK_OK;
    return vk_diag_set(d, w->err, "writing %s: %s", w->path, strerror(w->err_errno));
}

int vk_pcapng_close(vk_pcapng *w, vk_diag *d)
{
    if (w == NULL)
        return VK_OK;
    vk_pcapng_flush(w);
    if (fclose(w->fp) != 0)
        fail(w, VK_EIO, errno);
    int r = vk_pcapng_status(w, d);
    free(w->buf);
    free(w->snaplens);
    free(w->path);
    free(w);
    return r;
}
