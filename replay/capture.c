/*
 * Capture reading for replay (see capture.h).  libpcap reads the frames; for
 * pcapng a second pass walks the blocks with a checked reader to learn each
 * packet's interface, direction and comment, which libpcap hides.
 */
#include "replay/capture.h"
#include "core/grow.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
 * would be for any code that reads frames by wider loads). */
static uint8_t *chunk_take(vk_capture *c, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (c->nchunks == 0 || n > c->chunk_size - c->chunk_used) {
        if (vk_grow(&c->chunks, &c->chunks_cap, c->nchunks, sizeof *c->chunks, 16) != VK_OK)
            return NULL;
        size_t size = n > VK_CAPTURE_CHUNK ? n : VK_CAPTURE_CHUNK;
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

int vk_capture_append(vk_capture *c, uint64_t ts_ns, const uint8_t *data, size_t len,
                      uint32_t iface, uint32_t flags)
{
    if (vk_grow(&c->frames, &c->cap, c->count, sizeof *c->frames, 64) != VK_OK)
        return VK_ENOMEM;
    uint8_t *copy = chunk_take(c, len ? len : 1);
    if (copy == NULL)
        return VK_ENOMEM;
    if (len)
        memcpy(copy, data, len);
    /* skipped records keep their numbers: frames are numbered as in the file */
    c->frames[c->count] = (vk_cap_frame){.no = c->count + c->nskipped + 1, .ts_ns = ts_ns,
                                          .data = copy, .len = len, .iface = iface,
                                          .flags = flags};
    c->count++;
    return VK_OK;
}

int vk_capture_skip(vk_capture *c, uint64_t ts_ns, const uint8_t *data, size_t caplen,
                    const char *why)
{
    if (c->nskipped == c->skipped_cap) {
        size_t cap = c->skipped_cap ? c->skipped_cap * 2 : 16;
        vk_cap_skip *sk = realloc(c->skipped, cap * sizeof *sk);
        if (sk == NULL)
            return VK_ENOMEM;
        c->skipped = sk;
        c->skipped_cap = cap;
    }
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

/* ---- libpcap pass ---- */

#define ETH_SCRATCH (VK_FRAME_MAX + VK_ETH_HLEN)

/* One record as a frame: converted to Ethernet (into eth, ETH_SCRATCH
 * bytes), or kept apart with why. */
static int take_frame(vk_capture *c, vk_linktype *lt, uint8_t *eth, uint64_t ts,
                      const uint8_t *data, size_t caplen)
{
    const char *why = NULL;
    size_t len = 0;
    if (lt->dlt == DLT_EN10MB && caplen < VK_ETH_HLEN)
        why = "runt record: shorter than an Ethernet header";
    else if (lt->dlt == DLT_EN10MB)
        return vk_capture_append(c, ts, data, caplen, 0, 0);
    else if (vk_linktype_to_ethernet(lt, data, caplen, eth, ETH_SCRATCH, &len, &why) != VK_OK)
        why = why != NULL ? why : "record cannot be given an Ethernet header";
    else if (len > VK_FRAME_MAX)
        why = "frame too large once given an Ethernet header";
    if (why != NULL)
        return vk_capture_skip(c, ts, data, caplen, why);
    return vk_capture_append(c, ts, eth, len, 0, 0);
}

static int read_records(vk_capture *c, pcap_t *p, vk_linktype *lt, uint8_t *eth, vk_diag *d)
{
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *data;
        int r = pcap_next_ex(p, &h, &data);
        if (r == PCAP_ERROR_BREAK)
            return VK_OK;
        unsigned long long no = (unsigned long long)(c->count + c->nskipped) + 1;
        if (r != 1)
            return vk_diag_set(d, VK_ETRUNC, "%s: frame %llu: %s", c->path, no, pcap_geterr(p));
        if (h->caplen > (bpf_u_int32)pcap_snapshot(p) || h->caplen > VK_FRAME_MAX)
            return vk_diag_set(d, VK_EFORMAT,
                               "%s: frame %llu: captured length %u exceeds the snapshot "
                               "length %d",
                               c->path, no, h->caplen, pcap_snapshot(p));
        if (h->caplen < h->len && h->caplen == (bpf_u_int32)pcap_snapshot(p))
            return vk_diag_set(d, VK_ETRUNC,
                               "%s: frame %llu: %u bytes long, larger than the snapshot "
                               "length %u: replay needs whole frames",
                               c->path, no, h->len, h->caplen);
        if (h->caplen < h->len)
            return vk_diag_set(d, VK_ETRUNC,
                               "%s: frame %llu: only %u of %u bytes were captured; replay "
                               "needs whole frames",
                               c->path, no, h->caplen, h->len);
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
        if (take_frame(c, lt, eth, ts, data, h->caplen) != VK_OK)
            return vk_diag_set(d, VK_ENOMEM, "%s: out of memory", c->path);
    }
}

static int read_frames(vk_capture *c, pcap_t *p, vk_diag *d)
{
    vk_linktype lt;
    vk_linktype_init(&lt, c->linktype);
    uint8_t *eth = NULL;
    if (c->linktype != DLT_EN10MB && (eth = malloc(ETH_SCRATCH)) == NULL)
        return vk_diag_set(d, VK_ENOMEM, "%s: out of memory", c->path);
    int r = read_records(c, p, &lt, eth, d);
    free(eth);
    return r;
}

/* ---- pcapng block walk ---- */

typedef struct ng_walk {
    vk_capture *c;
    FILE *f;
    bool be;              /* section byte order */
    uint32_t iface_base;  /* first interface of the current section */
    size_t packets;       /* packet blocks seen */
    size_t frame;         /* the next frame of c to be given its metadata */
    uint8_t *body;
    size_t body_cap;
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

/* EPB, SPB and the obsolete PB: the k-th packet block is libpcap's k-th frame. */
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
    }
    ng_opts o = {0};
    if (type != PCAPNG_SPB) {
        size_t padded = ((size_t)caplen + 3) & ~(size_t)3;
        if (padded > blen - fixed)
            return VK_ETRUNC;
        if (ng_options(w, w->body + fixed + padded, blen - fixed - padded, false, &o) != VK_OK)
            return VK_ETRUNC;
    }
    /* packet k of the file is a frame or a skipped record, both in file order */
    if (w->frame < w->c->count && w->c->frames[w->frame].no == w->packets + 1) {
        vk_cap_frame *fr = &w->c->frames[w->frame++];
        fr->iface = w->iface_base + iface;
        fr->flags = o.has_flags ? o.flags : 0;
        fr->dropped = o.dropped;
    }
    w->packets++;
    return VK_OK;
}

/* Reads one block's body (after the type, length and, for a section header,
 * the byte-order magic) into w->body; returns 1, 0 at a clean end, or an
 * error code. */
static int ng_block(ng_walk *w, uint32_t *type, size_t *blen)
{
    uint8_t hdr[12];
    size_t got = fread(hdr, 1, 8, w->f);
    if (got == 0)
        return 0;
    if (got < 8)
        return VK_ETRUNC;
    bool shb = memcmp(hdr, "\x0a\x0d\x0d\x0a", 4) == 0;
    if (shb) {
        if (fread(hdr + 8, 1, 4, w->f) != 4)
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
    if (fread(w->body, 1, rest, w->f) != rest)
        return VK_ETRUNC;
    *type = shb ? PCAPNG_SHB : ng32(w, hdr);
    *blen = rest - 4;
    return 1;
}

static int ng_walk_blocks(ng_walk *w)
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
            r = ng_packet(w, type, blen);
        if (r < 0)
            return r;
    }
}

static int read_pcapng_meta(vk_capture *c, vk_diag *d)
{
    ng_walk w = {.c = c};
    w.f = fopen(c->path, "rb");
    if (w.f == NULL)
        return vk_diag_set(d, VK_EIO, "%s: cannot open", c->path);
    int r = ng_walk_blocks(&w);
    fclose(w.f);
    free(w.body);
    if (r < 0)
        return vk_diag_set(d, r, "%s: pcapng block %zu: %s", c->path, w.packets + 1,
                           vk_strerror(r));
    if (w.packets != c->count + c->nskipped)
        return vk_diag_set(d, VK_EFORMAT,
                           "%s: libpcap read %zu records but the file has %zu packet blocks",
                           c->path, c->count + c->nskipped, w.packets);
    for (size_t i = 0; i < c->count; i++)
        if (c->frames[i].iface >= c->iface_count)
            return vk_diag_set(d, VK_EFORMAT, "%s: frame %zu: unknown interface %u", c->path,
                               i + 1, c->frames[i].iface);
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

static int open_pcap(vk_capture *c, pcap_t **out, vk_diag *d)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(c->path, PCAP_TSTAMP_PRECISION_NANO,
                                                       errbuf);
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

int vk_capture_read(const char *path, vk_capture **out, vk_diag *d)
{
    vk_capture *c = vk_capture_new(path);
    if (c == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    pcap_t *p = NULL;
    int r = open_pcap(c, &p, d);
    if (r == VK_OK) {
        r = read_frames(c, p, d);
        pcap_close(p);
    }
    if (r == VK_OK && c->count == 0)
        r = vk_diag_set(d, VK_ENOENT, "%s: the capture holds no frames%s", path,
                        c->nskipped ? " (only records too short or not convertible)" : "");
    c->pcapng = file_is_pcapng(path);
    if (r == VK_OK && c->pcapng)
        r = read_pcapng_meta(c, d);
    if (r != VK_OK) {
        vk_capture_free(c);
        return r;
    }
    *out = c;
    return VK_OK;
}
