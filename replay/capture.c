/*
 * Capture reading for replay (see capture.h).  libpcap reads the frames; our
 * own walk of the same file, in step with it, learns where each record's
 * bytes are and, for pcapng, each packet's interface, direction and comment,
 * which libpcap hides (checked block reader).
 */
#include "replay/capture.h"
#include "core/grow.h"

#include <pcap/pcap.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/frame.h"
#include "replay/linktype.h"
#include "wire/pcapfile.h"
#include "wire/ethernet.h"

enum {
    PCAPNG_SHB = 0x0A0D0D0A,
    PCAPNG_IDB = 1,
    PCAPNG_PB = 2,
    PCAPNG_SPB = 3,
    PCAPNG_EPB = 6,
    PCAPNG_OPT_COMMENT = 1,
    PCAPNG_OPT_NAME_OR_FLAGS = 2, /* if_name in an IDB, epb_flags in an EPB/PB */
};

vk_capture *vk_capture_new(const char *path)
{
    vk_capture *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->linktype = DLT_EN10MB;
    c->path = strdup(path ? path : "(memory)");
    if (c->path == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

void vk_capture_free(vk_capture *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nchunks; i++)
        free(c->chunks[i]);
    free(c->chunks);
    for (size_t i = 0; i < c->iface_count; i++)
        free(c->iface_names[i]);
    free(c->iface_names);
    free(c->frames);
    free(c->skipped);
    free(c->path);
    free(c);
}

/* n bytes in the last chunk, or in a new one (8-byte aligned, as malloc's
 * would be for any code that reads frames by wider loads).  Chunks start at
 * VK_CAPTURE_CHUNK_FIRST and double up to VK_CAPTURE_CHUNK, so a small
 * capture costs a small allocation and a big one still one per MiB. */
static uint8_t *chunk_take(vk_capture *c, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (c->nchunks == 0 || n > c->chunk_size - c->chunk_used) {
        if (vk_grow(&c->chunks, &c->chunks_cap, c->nchunks, sizeof *c->chunks, 16) != VK_OK)
            return NULL;
        size_t next = c->nchunks == 0                     ? VK_CAPTURE_CHUNK_FIRST
                      : c->chunk_size >= VK_CAPTURE_CHUNK / 2 ? VK_CAPTURE_CHUNK
                                                          : 2 * c->chunk_size;
        size_t size = n > next ? n : next;
        if ((c->chunks[c->nchunks] = malloc(size)) == NULL)
            return NULL;
        c->nchunks++;
        c->chunk_size = size;
        c->chunk_used = 0;
    }
    uint8_t *at = c->chunks[c->nchunks - 1] + c->chunk_used;
    c->chunk_used += n;
    return at;
}

/* Stores a copy of frame f as frame number c->count (already counted). */
static int keep_frame(vk_capture *c, const vk_cap_frame *f)
{
    if (vk_grow(&c->frames, &c->cap, c->count - 1, sizeof *c->frames, 64) != VK_OK)
        return VK_ENOMEM;
    uint8_t *copy = chunk_take(c, f->len ? f->len : 1);
    if (copy == NULL)
        return VK_ENOMEM;
    if (f->len)
        memcpy(copy, f->data, f->len);
    c->frames[c->count - 1] = *f;
    c->frames[c->count - 1].data = copy;
    c->frames[c->count - 1].pos = (uint64_t)(uintptr_t)copy;
    return VK_OK;
}

int vk_capture_append(vk_capture *c, uint64_t ts_ns, const uint8_t *data, size_t len,
                      uint32_t iface, uint32_t flags)
{
    /* skipped records keep their numbers: frames are numbered as in the file */
    vk_cap_frame f = {.no = c->count + c->nskipped + 1, .ts_ns = ts_ns, .data = (uint8_t *)data,
                      .len = len, .iface = iface, .flags = flags};
    c->count++;
    int e = keep_frame(c, &f);
    if (e != VK_OK)
        c->count--;
    return e;
}

int vk_capture_skip(vk_capture *c, uint64_t ts_ns, const uint8_t *data, size_t caplen,
                    const char *why)
{
    if (vk_grow(&c->skipped, &c->skipped_cap, c->nskipped, sizeof *c->skipped, 16) != VK_OK)
        return VK_ENOMEM;
    size_t keep = caplen < VK_CAPTURE_SKIP_KEEP ? caplen : VK_CAPTURE_SKIP_KEEP;
    uint8_t *copy = chunk_take(c, keep ? keep : 1);
    if (copy == NULL)
        return VK_ENOMEM;
    if (keep)
        memcpy(copy, data, keep);
    c->skipped[c->nskipped] = (vk_cap_skip){.no = c->count + c->nskipped + 1, .ts_ns = ts_ns,
                                            .data = copy, .len = keep, .caplen = caplen,
                                            .why = why};
    c->nskipped++;
    return VK_OK;
}

int vk_capture_add_iface(vk_capture *c, const char *name)
{
    if (c->iface_count >= VK_CAPTURE_IFACES_MAX)
        return VK_EFULL;
    char **names = realloc(c->iface_names, (c->iface_count + 1) * sizeof *names);
    if (names == NULL)
        return VK_ENOMEM;
    c->iface_names = names;
    names[c->iface_count] = strdup(name ? name : "");
    if (names[c->iface_count] == NULL)
        return VK_ENOMEM;
    c->iface_count++;
    return VK_OK;
}

/* ---- our own walk of the file: where each record's bytes are ---- */

/* A buffered sequential reader over a file descriptor, counting offsets. */
typedef struct bfile {
    int fd;
    uint8_t *buf;
    size_t size;       /* of buf: the file's size, at least 4 KiB, at most BFILE_BUFFER */
    size_t len, at;    /* bytes in buf, next one to hand out */
    uint64_t off;      /* file offset of buf[at] */
} bfile;

#define BFILE_BUFFER (1u << 20)

static int bfile_open(bfile *b, const char *path)
{
    memset(b, 0, sizeof *b);
    b->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (b->fd < 0)
        return VK_EIO;
    struct stat st;
    b->size = BFILE_BUFFER;
    if (fstat(b->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (off_t)BFILE_BUFFER)
        b->size = st.st_size < 4096 ? 4096 : (size_t)st.st_size;
    if ((b->buf = malloc(b->size)) == NULL) {
        close(b->fd);
        b->fd = -1;
        return VK_ENOMEM;
    }
    return VK_OK;
}

static void bfile_close(bfile *b)
{
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
    free(b->buf);
    b->buf = NULL;
}

/* Copies n bytes into dst (NULL: skips them); returns how many there were
 * (fewer at the end of the file or on a read error). */
static size_t bfile_take(bfile *b, uint8_t *dst, size_t n)
{
    size_t got = 0;
    while (got < n) {
        if (b->at == b->len) {
            ssize_t r;
            do
                r = read(b->fd, b->buf, b->size);
            while (r < 0 && errno == EINTR);
            if (r <= 0)
                break;
            b->len = (size_t)r;
            b->at = 0;
        }
        size_t k = b->len - b->at < n - got ? b->len - b->at : n - got;
        if (dst != NULL)
            memcpy(dst + got, b->buf + b->at, k);
        b->at += k;
        b->off += k;
        got += k;
    }
    return got;
}

/* ---- pcapng block walk ---- */

typedef struct ng_walk {
    vk_capture *c;
    bfile f;
    bool be;              /* section byte order */
    uint32_t iface_base;  /* first interface of the current section */
    size_t packets;       /* packet blocks seen */
    uint8_t *body;
    size_t body_cap;
    uint64_t block_off;   /* file offset of the block being read */
    /* the last packet block */
    uint32_t iface, flags, caplen;
    bool dropped;
    uint64_t data_off;    /* file offset of its packet bytes */
} ng_walk;

static uint32_t ng32(const ng_walk *w, const uint8_t *p)
{
    return w->be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                 : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t ng16(const ng_walk *w, const uint8_t *p)
{
    return w->be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

typedef struct ng_opts {
    const uint8_t *name; /* code 2 in an IDB */
    size_t name_len;
    bool has_flags;      /* code 2 in an EPB/PB */
    uint32_t flags;
    bool dropped;        /* a "dropped: ..." comment */
} ng_opts;

/* Walks options at p/len; every step advances by at least 4 bytes. */
static int ng_options(const ng_walk *w, const uint8_t *p, size_t len, bool idb, ng_opts *o)
{
    size_t off = 0;
    while (len - off >= 4) {
        uint16_t code = ng16(w, p + off), olen = ng16(w, p + off + 2);
        if (code == 0)
            break;
        size_t padded = ((size_t)olen + 3) & ~(size_t)3;
        if (padded > len - off - 4)
            return VK_ETRUNC;
        const uint8_t *v = p + off + 4;
        if (code == PCAPNG_OPT_NAME_OR_FLAGS && idb) {
            o->name = v;
            o->name_len = olen;
        } else if (code == PCAPNG_OPT_NAME_OR_FLAGS && olen == 4) {
            o->has_flags = true;
            o->flags = ng32(w, v);
        } else if (code == PCAPNG_OPT_COMMENT && olen >= 8 && memcmp(v, "dropped:", 8) == 0) {
            o->dropped = true;
        }
        off += 4 + padded;
    }
    return VK_OK;
}

static int ng_idb(ng_walk *w, size_t blen)
{
    if (blen < 8)
        return VK_ETRUNC;
    ng_opts o = {0};
    if (ng_options(w, w->body + 8, blen - 8, true, &o) != VK_OK)
        return VK_ETRUNC;
    char name[256] = "";
    size_t n = o.name_len < sizeof name - 1 ? o.name_len : sizeof name - 1;
    if (o.name != NULL)
        memcpy(name, o.name, n);
    name[n] = '\0';
    return vk_capture_add_iface(w->c, name);
}

/* EPB, SPB and the obsolete PB: the k-th packet block is libpcap's k-th
 * record.  Its metadata is left in w. */
static int ng_packet(ng_walk *w, uint32_t type, size_t blen)
{
    size_t fixed = type == PCAPNG_EPB ? 20 : type == PCAPNG_PB ? 20 : 4;
    if (blen < fixed)
        return VK_ETRUNC;
    uint32_t iface = 0, caplen = 0;
    if (type == PCAPNG_EPB) {
        iface = ng32(w, w->body);
        caplen = ng32(w, w->body + 12);
    } else if (type == PCAPNG_PB) {
        iface = ng16(w, w->body);
        caplen = ng32(w, w->body + 12);
    } else {
        caplen = (uint32_t)(blen - fixed); /* at most: libpcap may cut it to the snaplen */
    }
    ng_opts o = {0};
    if (type != PCAPNG_SPB) {
        size_t padded = ((size_t)caplen + 3) & ~(size_t)3;
        if (padded > blen - fixed)
            return VK_ETRUNC;
        if (ng_options(w, w->body + fixed + padded, blen - fixed - padded, false, &o) != VK_OK)
            return VK_ETRUNC;
    }
    w->iface = w->iface_base + iface;
    w->flags = o.has_flags ? o.flags : 0;
    w->dropped = o.dropped;
    w->caplen = caplen;
    w->data_off = w->block_off + 8 + fixed;
    w->packets++;
    return VK_OK;
}

/* Reads one block's body (after the type, length and, for a section header,
 * the byte-order magic) into w->body; returns 1, 0 at a clean end, or an
 * error code. */
static int ng_block(ng_walk *w, uint32_t *type, size_t *blen)
{
    uint8_t hdr[12];
    w->block_off = w->f.off;
    size_t got = bfile_take(&w->f, hdr, 8);
    if (got == 0)
        return 0;
    if (got < 8)
        return VK_ETRUNC;
    bool shb = memcmp(hdr, "\x0a\x0d\x0d\x0a", 4) == 0;
    if (shb) {
        if (bfile_take(&w->f, hdr + 8, 4) != 4)
            return VK_ETRUNC;
        if (memcmp(hdr + 8, "\x1a\x2b\x3c\x4d", 4) == 0)
            w->be = true;
        else if (memcmp(hdr + 8, "\x4d\x3c\x2b\x1a", 4) == 0)
            w->be = false;
        else
            return VK_EFORMAT;
    }
    uint32_t total = ng32(w, hdr + 4);
    size_t consumed = shb ? 12 : 8;
    if (total % 4 != 0 || total > VK_CAPTURE_BLOCK_MAX || total < consumed + 4)
        return VK_EFORMAT;
    size_t rest = total - consumed; /* rest of the body + trailing length */
    if (rest > w->body_cap) {
        uint8_t *b = realloc(w->body, rest);
        if (b == NULL)
            return VK_ENOMEM;
        w->body = b;
        w->body_cap = rest;
    }
    if (bfile_take(&w->f, w->body, rest) != rest)
        return VK_ETRUNC;
    *type = shb ? PCAPNG_SHB : ng32(w, hdr);
    *blen = rest - 4;
    return 1;
}

/* Walks blocks up to and including the next packet block: 1 when one was
 * read (its metadata in w), 0 at the end of the file, or an error code. */
static int ng_next_packet(ng_walk *w)
{
    for (;;) {
        uint32_t type;
        size_t blen;
        int r = ng_block(w, &type, &blen);
        if (r <= 0)
            return r;
        if (type == PCAPNG_SHB)
            w->iface_base = (uint32_t)w->c->iface_count;
        else if (type == PCAPNG_IDB)
            r = ng_idb(w, blen);
        else if (type == PCAPNG_EPB || type == PCAPNG_SPB || type == PCAPNG_PB)
            return ng_packet(w, type, blen) == VK_OK ? 1 : VK_ETRUNC;
        if (r < 0)
            return r;
    }
}

/* ---- the reader ---- */

struct vk_capture_reader {
    vk_capture *c;          /* what the file says (frames not kept) */
    vk_pcapfile_reader *fast; /* a file already checked: the buffered reader, or */
    pcap_t *p;
    vk_linktype lt;
    uint8_t *eth;           /* the frame handed out, ETH_SCRATCH bytes */
    /* classic pcap: where the records are */
    bfile pf;
    bool pf_ok, pf_be;
    size_t rec_hdr;
    /* pcapng: the block walk, in step with libpcap */
    ng_walk w;
    bool walk_on;           /* not ended nor failed */
    int walk_err;           /* reported at the end, as libpcap's errors come first */
    size_t walk_err_at;     /* the block count at that error */
    size_t bad_iface_frame; /* 1-based frame index with an unknown interface, 0: none */
    uint32_t bad_iface;
    bool ended;
};

#define ETH_SCRATCH (VK_FRAME_MAX + VK_ETH_HLEN)

static uint32_t pcap32(bool be, const uint8_t *p)
{
    return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
              : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Classic pcap: the magic tells the byte order and the record header size
 * (24 bytes for the "modified" format of Kuznetzov's patches). */
static void pcap_walk_open(vk_capture_reader *r)
{
    uint8_t h[24];
    if (bfile_open(&r->pf, r->c->path) != VK_OK)
        return;
    if (bfile_take(&r->pf, h, 24) != 24)
        return;
    uint32_t le = pcap32(false, h);
    bool be = pcap32(true, h) == 0xa1b2c3d4u || pcap32(true, h) == 0xa1b23c4du ||
              pcap32(true, h) == 0xa1b2cd34u;
    uint32_t magic = be ? pcap32(true, h) : le;
    if (magic != 0xa1b2c3d4u && magic != 0xa1b23c4du && magic != 0xa1b2cd34u)
        return;
    r->pf_be = be;
    r->rec_hdr = magic == 0xa1b2cd34u ? 24 : 16;
    r->pf_ok = true;
}

/* The file offset of the record libpcap just gave with caplen bytes, or
 * VK_CAP_POS_NONE when our walk does not find the same length there. */
static uint64_t pcap_walk_record(vk_capture_reader *r, uint32_t caplen)
{
    uint8_t h[24];
    if (!r->pf_ok || bfile_take(&r->pf, h, r->rec_hdr) != r->rec_hdr) {
        r->pf_ok = false;
        return VK_CAP_POS_NONE;
    }
    uint32_t incl = pcap32(r->pf_be, h + 8);
    uint64_t at = r->pf.off;
    if (bfile_take(&r->pf, NULL, incl) != incl)
        r->pf_ok = false;
    return r->pf_ok && incl == caplen ? at : VK_CAP_POS_NONE;
}

/* One step of the pcapng walk: true with the next packet block's metadata
 * in r->w; false at its end or on an error, kept for the end of the read
 * (libpcap's errors come first), and the walk stops. */
static bool walk_step(vk_capture_reader *r)
{
    int e = r->walk_on ? ng_next_packet(&r->w) : 0;
    if (e > 0)
        return true;
    if (e < 0 && r->walk_on) {
        r->walk_err = e;
        r->walk_err_at = r->w.packets + 1;
    }
    r->walk_on = false;
    return false;
}

/* The pcapng walk's step for the record libpcap just gave: its interface,
 * direction and comment into f, its offset returned. */
static uint64_t ng_walk_record(vk_capture_reader *r, vk_cap_frame *f, uint32_t caplen)
{
    if (!walk_step(r))
        return VK_CAP_POS_NONE;
    f->iface = r->w.iface;
    f->flags = r->w.flags;
    f->dropped = r->w.dropped;
    return r->w.caplen == caplen ? r->w.data_off : VK_CAP_POS_NONE;
}

/* libpcap reads through stdio; a large buffer makes one read(2) per MiB
 * instead of one per 4 KiB.  Any failure is left to libpcap's own open,
 * which words it. */
static pcap_t *open_buffered(const char *path, char *errbuf)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL || setvbuf(f, NULL, _IOFBF, BFILE_BUFFER) != 0) {
        if (f != NULL)
            fclose(f);
        return NULL;
    }
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (p == NULL)
        fclose(f);
    return p;
}

static int open_pcap(vk_capture *c, pcap_t **out, vk_diag *d)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = open_buffered(c->path, errbuf);
    if (p == NULL)
        p = pcap_open_offline_with_tstamp_precision(c->path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (p == NULL) {
        char plain[PCAP_ERRBUF_SIZE + 128];
        return vk_diag_set(d, VK_EFORMAT, "%s: %s", c->path,
                           vk_pcap_open_error_plain(c->path, errbuf, plain, sizeof plain));
    }
    int dlt = pcap_datalink(p);
    if (!vk_linktype_supported(dlt)) {
        const char *name = pcap_datalink_val_to_name(dlt);
        pcap_close(p);
        return vk_diag_set(d, VK_EUNSUPP,
                           "%s: link type %d (%s) is not supported; replay reads Ethernet "
                           "(1), LINUX_SLL (113), LINUX_SLL2 (276) and raw IP (101)",
                           c->path, dlt, name ? name : "unknown");
    }
    c->linktype = dlt;
    *out = p;
    return VK_OK;
}

static bool file_is_pcapng(const char *path)
{
    uint8_t magic[4] = {0};
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    size_t n = fread(magic, 1, 4, f);
    fclose(f);
    return n == 4 && memcmp(magic, "\x0a\x0d\x0d\x0a", 4) == 0;
}

int vk_capture_open(const char *path, vk_capture_reader **out, vk_diag *d)
{
    return vk_capture_open_ex(path, VK_CAPTURE_POSITIONS, out, d);
}

/* A classic Ethernet pcap read once already (VK_CAPTURE_CHECKED) is read
 * again with the buffered reader of wire/pcapfile.h: no library call per
 * record, and its offsets are the records' positions. */
static bool open_fast(vk_capture_reader *r, const char *path)
{
    vk_diag ignored;
    if (vk_pcapfile_open_read(path, &r->fast, &ignored) != VK_OK) {
        r->fast = NULL;
        return false;
    }
    return true;
}

int vk_capture_open_ex(const char *path, unsigned flags, vk_capture_reader **out, vk_diag *d)
{
    *out = NULL;
    vk_capture_reader *r = calloc(1, sizeof *r);
    if (r == NULL || (r->c = vk_capture_new(path)) == NULL ||
        (r->eth = malloc(ETH_SCRATCH)) == NULL) {
        vk_capture_reader_free(r);
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    }
    r->c->id = vk_file_id_of(path); /* before any byte is read */
    r->pf.fd = r->w.f.fd = -1;
    if ((flags & VK_CAPTURE_CHECKED) && open_fast(r, path)) {
        *out = r;
        return VK_OK;
    }
    int e = open_pcap(r->c, &r->p, d);
    if (e != VK_OK) {
        vk_capture_reader_free(r);
        return e;
    }
    vk_linktype_init(&r->lt, r->c->linktype);
    r->c->pcapng = file_is_pcapng(path);
    if (r->c->pcapng) {
        r->w.c = r->c;
        int we = bfile_open(&r->w.f, path);
        r->walk_on = we == VK_OK;
        if (we != VK_OK) {
            r->walk_err = we;
            r->walk_err_at = 1;
        }
    } else if (flags & VK_CAPTURE_POSITIONS) {
        pcap_walk_open(r);
    }
    *out = r;
    return VK_OK;
}

/* A record that is not a frame is kept apart with why. */
static int skip_record(vk_capture_reader *r, uint64_t ts, const uint8_t *data, size_t caplen,
                       const char *why, vk_diag *d)
{
    if (vk_capture_skip(r->c, ts, data, caplen, why) != VK_OK)
        return vk_diag_set(d, VK_ENOMEM, "%s: out of memory", r->c->path);
    return 0;
}

/* One libpcap record as a frame in f (1), or kept apart (0). */
static int take_record(vk_capture_reader *r, const struct pcap_pkthdr *h, const uint8_t *data,
                       vk_cap_frame *f, vk_diag *d)
{
    uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
    size_t caplen = h->caplen, len = 0;
    *f = (vk_cap_frame){.no = r->c->count + r->c->nskipped + 1, .ts_ns = ts};
    uint64_t at = r->c->pcapng ? ng_walk_record(r, f, h->caplen)
                               : pcap_walk_record(r, h->caplen);
    const char *why = NULL;
    if (r->lt.dlt == DLT_EN10MB && caplen < VK_ETH_HLEN)
        why = "runt record: shorter than an Ethernet header";
    else if (vk_linktype_to_ethernet(&r->lt, data, caplen, r->eth, ETH_SCRATCH, &len, &why) !=
             VK_OK)
        why = why != NULL ? why : "record cannot be given an Ethernet header";
    else if (len > VK_FRAME_MAX)
        why = "frame too large once given an Ethernet header";
    if (why != NULL)
        return skip_record(r, ts, data, caplen, why, d);
    /* a converted frame's network-layer bytes end where the record ends */
    f->pos = at == VK_CAP_POS_NONE ? VK_CAP_POS_NONE : at + caplen - len;
    f->data = r->eth;
    f->len = len;
    r->c->count++;
    if (r->c->pcapng && r->bad_iface_frame == 0 && f->iface >= r->c->iface_count) {
        r->bad_iface_frame = r->c->count;
        r->bad_iface = f->iface;
    }
    return 1;
}

/* The checks that need the whole file: frames at all, and for pcapng the
 * block walk's agreement with libpcap. */
static int finish_read(vk_capture_reader *r, vk_diag *d)
{
    vk_capture *c = r->c;
    r->ended = true;
    if (c->count == 0)
        return vk_diag_set(d, VK_ENOENT, "%s: the capture holds no frames%s", c->path,
                           c->nskipped ? " (only records too short or not convertible)" : "");
    if (!c->pcapng)
        return 0;
    while (walk_step(r))
        ;
    if (r->walk_err == VK_EIO)
        return vk_diag_set(d, VK_EIO, "%s: cannot open", c->path);
    if (r->walk_err < 0)
        return vk_diag_set(d, r->walk_err, "%s: pcapng block %zu: %s", c->path,
                           r->walk_err_at, vk_strerror(r->walk_err));
    if (r->w.packets != c->count + c->nskipped)
        return vk_diag_set(d, VK_EFORMAT,
                           "%s: libpcap read %zu records but the file has %zu packet blocks",
                           c->path, c->count + c->nskipped, r->w.packets);
    if (r->bad_iface_frame != 0)
        return vk_diag_set(d, VK_EFORMAT, "%s: frame %zu: unknown interface %u", c->path,
                           r->bad_iface_frame, r->bad_iface);
    return 0;
}

/* vk_capture_next() through the buffered reader (a file that passed the
 * checks once: its errors are worded by the caller). */
static int next_fast(vk_capture_reader *r, vk_cap_frame *f, vk_diag *d)
{
    for (;;) {
        vk_pcapfile_record rec;
        int e = vk_pcapfile_next(r->fast, &rec, d);
        if (e == 0)
            return finish_read(r, d);
        if (e < 0)
            return e;
        vk_capture *c = r->c;
        if (rec.caplen < rec.origlen)
            return vk_diag_set(d, VK_ETRUNC, "frame %llu: only %u of %u bytes were captured",
                               (unsigned long long)(c->count + c->nskipped + 1), rec.caplen,
                               rec.origlen);
        if (rec.caplen < VK_ETH_HLEN) {
            if ((e = skip_record(r, rec.ts_ns, rec.data, rec.caplen,
                                 "runt record: shorter than an Ethernet header", d)) != 0)
                return e;
            continue;
        }
        *f = (vk_cap_frame){.no = c->count + c->nskipped + 1, .ts_ns = rec.ts_ns,
                            .data = r->eth, .len = rec.caplen,
                            .pos = vk_pcapfile_offset(r->fast) - rec.caplen};
        memcpy(r->eth, rec.data, rec.caplen);
        c->count++;
        return 1;
    }
}

int vk_capture_next(vk_capture_reader *r, vk_cap_frame *f, vk_diag *d)
{
    if (r->ended)
        return 0;
    if (r->fast != NULL)
        return next_fast(r, f, d);
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *data;
        int e = pcap_next_ex(r->p, &h, &data);
        if (e == PCAP_ERROR_BREAK)
            return finish_read(r, d);
        vk_capture *c = r->c;
        unsigned long long no = (unsigned long long)(c->count + c->nskipped) + 1;
        if (e != 1)
            return vk_diag_set(d, VK_ETRUNC, "%s: frame %llu: %s", c->path, no,
                               pcap_geterr(r->p));
        if (h->caplen > (bpf_u_int32)pcap_snapshot(r->p) || h->caplen > VK_FRAME_MAX)
            return vk_diag_set(d, VK_EFORMAT,
                               "%s: frame %llu: captured length %u exceeds the snapshot "
                               "length %d",
                               c->path, no, h->caplen, pcap_snapshot(r->p));
        if (h->caplen < h->len && h->caplen == (bpf_u_int32)pcap_snapshot(r->p))
            return vk_diag_set(d, VK_ETRUNC,
                               "%s: frame %llu: %u bytes long, larger than the snapshot "
                               "length %u: replay needs whole frames",
                               c->path, no, h->len, h->caplen);
        if (h->caplen < h->len)
            return vk_diag_set(d, VK_ETRUNC,
                               "%s: frame %llu: only %u of %u bytes were captured; replay "
                               "needs whole frames",
                               c->path, no, h->caplen, h->len);
        if ((e = take_record(r, h, data, f, d)) != 0)
            return e;
    }
}

const vk_capture *vk_capture_reader_info(const vk_capture_reader *r)
{
    return r->c;
}

vk_capture *vk_capture_reader_take(vk_capture_reader *r)
{
    vk_capture *c = r->c;
    r->c = NULL;
    return c;
}

void vk_capture_reader_free(vk_capture_reader *r)
{
    if (r == NULL)
        return;
    if (r->p != NULL)
        pcap_close(r->p);
    vk_pcapfile_close_read(r->fast);
    bfile_close(&r->pf);
    bfile_close(&r->w.f);
    free(r->w.body);
    free(r->eth);
    vk_capture_free(r->c);
    free(r);
}

int vk_capture_read(const char *path, vk_capture **out, vk_diag *d)
{
    *out = NULL;
    vk_capture_reader *r;
    int e = vk_capture_open(path, &r, d);
    if (e != VK_OK)
        return e;
    vk_cap_frame f;
    while ((e = vk_capture_next(r, &f, d)) == 1)
        if (keep_frame(r->c, &f) != VK_OK) {
            e = vk_diag_set(d, VK_ENOMEM, "%s: out of memory", path);
            break;
        }
    if (e == 0)
        *out = vk_capture_reader_take(r);
    vk_capture_reader_free(r);
    return e == 0 ? VK_OK : e;
}
