/*
 * pcapng writer (format in pcapng.h and draft-ietf-opsawg-pcapng).  Each block
 * is sized first, then emitted through a checked little-endian writer straight
 * into the end of one output buffer, and the buffer goes to the file with one
 * fwrite when the next block does not fit or on flush.  The size computation
 * and the emitter are kept side by side per block so they cannot drift: the
 * emitter's final length must equal the computed size or the block is refused.
 *
 * Why our own buffer rather than stdio's: a packet is copied once (into the
 * block, in place) instead of twice (block, then stdio), a write carries many
 * blocks instead of a 4 KiB slice of them, and we know exactly which packets a
 * failed write took with it (vk_pcapng_packets_lost).
 */
#include "wire/pcapng.h"

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
    FILE *fp;    /* unbuffered: it only ever receives whole batches of blocks */
    char *path;
    uint8_t *out; /* whole blocks not yet written, in file order */
    size_t out_len, out_cap;
    uint64_t out_packets; /* EPBs in out */
    uint64_t lost;        /* EPBs that never reached the file (see pcapng.h) */
    uint32_t *snaplens;   /* per interface */
    uint32_t nifaces, ifaces_cap;
    int err;       /* first error (VK_EIO), VK_OK if none */
    int err_errno; /* its errno */
};

/* ---- checked little-endian writer ----
 * Every put reserves its bytes with one bounds check (bw_take) and then stores
 * them; a group of fields that always goes together (a block's fixed header,
 * an option's code, length and value) is one put, so the check is per group
 * rather than per byte.  Stores are spelled byte by byte with shifts, which is
 * endian-independent and which compilers turn into single moves. */

typedef struct bw {
    uint8_t *p;
    size_t len, cap;
    bool overflow;
} bw;

static inline void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}

/* n bytes at the write position, or NULL (and the writer marked overflowed)
 * if they do not fit. */
static inline uint8_t *bw_take(bw *b, size_t n)
{
    if (b->overflow || n > b->cap - b->len) {
        b->overflow = true;
        return NULL;
    }
    uint8_t *at = b->p + b->len;
    b->len += n;
    return at;
}

static inline void bw_u16(bw *b, uint16_t v)
{
    uint8_t *p = bw_take(b, 2);
    if (p != NULL)
        put_le16(p, v);
}

static inline void bw_u32(bw *b, uint32_t v)
{
    uint8_t *p = bw_take(b, 4);
    if (p != NULL)
        put_le32(p, v);
}

static inline void bw_u64(bw *b, uint64_t v)
{
    uint8_t *p = bw_take(b, 8);
    if (p != NULL)
        put_le64(p, v);
}

/* n 32-bit words in one put. */
static inline void bw_u32s(bw *b, const uint32_t *v, size_t n)
{
    uint8_t *p = bw_take(b, 4 * n);
    if (p == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        put_le32(p + 4 * i, v[i]);
}

/* n bytes of data followed by zeros up to the next multiple of 4. */
static inline void bw_bytes_pad32(bw *b, const void *data, size_t n)
{
    size_t padded = (n + 3) & ~(size_t)3;
    uint8_t *p = bw_take(b, padded);
    if (p == NULL)
        return;
    if (n > 0)
        memcpy(p, data, n);
    memset(p + n, 0, padded - n);
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

static void opt_head(bw *b, uint16_t code, uint16_t len)
{
    uint8_t *p = bw_take(b, 4);
    if (p == NULL)
        return;
    put_le16(p, code);
    put_le16(p + 2, len);
}

static void opt_raw(bw *b, uint16_t code, const void *val, size_t n)
{
    opt_head(b, code, (uint16_t)n);
    bw_bytes_pad32(b, val, n);
}

static void opt_str(bw *b, uint16_t code, const char *s)
{
    if (s != NULL)
        opt_raw(b, code, s, str_opt_len(s));
}

static void opt_u32(bw *b, uint16_t code, uint32_t v)
{
    uint8_t *p = bw_take(b, 8);
    if (p == NULL)
        return;
    put_le16(p, code);
    put_le16(p + 2, 4);
    put_le32(p + 4, v);
}

static void opt_u64(bw *b, uint16_t code, uint64_t v)
{
    uint8_t *p = bw_take(b, 12);
    if (p == NULL)
        return;
    put_le16(p, code);
    put_le16(p + 2, 8);
    put_le64(p + 4, v);
}

static void opt_end(bw *b)
{
    opt_head(b, OPT_ENDOFOPT, 0);
}

/* ---- the output buffer ---- */

static int fail(vk_pcapng *w, int err, int errnum)
{
    if (w->err == VK_OK) {
        w->err = err;
        w->err_errno = errnum;
    }
    return err;
}

/* Writes the buffered blocks with one fwrite.  On failure the whole batch
 * counts as lost: we cannot tell how much of it reached the file, and what
 * did ends in a cut block that no reader will use. */
static int spill(vk_pcapng *w)
{
    if (w->err != VK_OK)
        return w->err;
    if (w->out_len == 0)
        return VK_OK;
    size_t len = w->out_len;
    uint64_t packets = w->out_packets;
    w->out_len = 0;
    w->out_packets = 0;
    if (fwrite(w->out, 1, len, w->fp) != len) {
        w->lost += packets;
        return fail(w, VK_EIO, errno);
    }
    return VK_OK;
}

/* ---- blocks ---- */

/* Starts a block of `size` bytes (a multiple of 4) at the end of the output
 * buffer, spilling the buffer first if the block does not fit. */
static int block_begin(vk_pcapng *w, bw *b, uint32_t type, size_t size)
{
    if (w->err != VK_OK)
        return w->err;
    if (size > UINT32_MAX)
        return VK_ERANGE;
    if (size > w->out_cap - w->out_len) {
        int r = spill(w);
        if (r != VK_OK)
            return r;
    }
    if (size > w->out_cap) { /* a block larger than the buffer: grow it */
        uint8_t *nb = realloc(w->out, size);
        if (nb == NULL)
            return VK_ENOMEM;
        w->out = nb;
        w->out_cap = size;
    }
    *b = (bw){.p = w->out + w->out_len, .len = 0, .cap = size, .overflow = false};
    bw_u32s(b, (const uint32_t[]){type, (uint32_t)size}, 2);
    return VK_OK;
}

/* Closes the block with its repeated length and keeps it in the buffer. */
static int block_end(vk_pcapng *w, bw *b)
{
    bw_u32(b, (uint32_t)b->cap);
    if (b->overflow || b->len != b->cap)
        return VK_EFORMAT; /* size and emitter disagree: a bug, not a user error */
    w->out_len += b->len;
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
    w->out_cap = VK_PCAPNG_BUFFER;
    if ((w->out = malloc(w->out_cap)) == NULL) {
        free(w->path);
        free(w);
        return vk_diag_set(d, VK_ENOMEM, "%s: out of memory", path);
    }
    w->fp = fopen(path, "wb");
    if (w->fp == NULL) {
        int e = errno;
        free(w->out);
        free(w->path);
        free(w);
        return vk_diag_set(d, VK_EIO, "cannot create %s: %s", path, strerror(e));
    }
    /* we buffer whole blocks ourselves: stdio passes each batch straight on */
    setvbuf(w->fp, NULL, _IONBF, 0);
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
    if (r != VK_OK) {
        if (r == VK_EIO)
            w->lost++;
        return r;
    }
    const uint32_t head[5] = {pkt->iface, (uint32_t)(pkt->ts_ns >> 32), (uint32_t)pkt->ts_ns,
                              caplen, pkt->origlen};
    bw_u32s(&b, head, 5);
    bw_bytes_pad32(&b, pkt->data, caplen);
    opt_str(&b, OPT_COMMENT, pkt->comment);
    if (pkt->flags)
        opt_u32(&b, OPT_EPB_FLAGS, pkt->flags);
    if (pkt->packet_id)
        opt_u64(&b, OPT_EPB_PACKETID, pkt->packet_id);
    if (opts > 0)
        opt_end(&b);
    r = block_end(w, &b);
    if (r == VK_OK)
        w->out_packets++;
    return r;
}

int vk_pcapng_flush(vk_pcapng *w)
{
    return spill(w);
}

uint64_t vk_pcapng_packets_lost(const vk_pcapng *w)
{
    return w->lost;
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
    free(w->out);
    free(w->snaplens);
    free(w->path);
    free(w);
    return r;
}
