/*
 * Classic pcap reading and writing in large buffers (see pcapfile.h).  The
 * reader keeps a window of the file in one buffer and parses each record
 * header with the checked cursor of wire/buf.h before it trusts the length;
 * a record that straddles the end of the window moves to its front and the
 * window is refilled behind it.  The writer stores whole records at the end
 * of its buffer and hands the buffer over when the next record does not fit.
 */
#include "wire/pcapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/frame.h"
#include "wire/buf.h"

#define MAGIC_US 0xa1b2c3d4u
#define MAGIC_NS 0xa1b23c4du
#define LINKTYPE_ETHERNET 1u
#define LINKTYPE_MASK 0x03ffffffu /* the upper bits carry FCS information */

struct vk_pcapfile_reader {
    int fd;
    bool swapped;   /* the file's byte order is not the host's */
    bool nanosec;
    bool eof;       /* read() said the file has no more bytes */
    int err;        /* sticky error */
    char err_msg[160];
    uint32_t snaplen;
    uint8_t *buf;
    size_t start, end; /* unread bytes are buf[start..end) */
    uint64_t read_total; /* bytes read(2) so far */
};

struct vk_pcapfile_writer {
    int fd;
    char *path;
    uint8_t *buf;
    size_t len, cap;
    uint64_t buffered; /* records in buf */
    uint64_t lost;
    int err;
    int err_errno;
};

/* ---- byte order ---- */

static uint32_t swap32(uint32_t v)
{
    return v >> 24 | (v >> 8 & 0xff00u) | (v << 8 & 0xff0000u) | v << 24;
}

/* A 32-bit field of the file in host order (the file's is the writer's). */
static uint32_t file_u32(const vk_pcapfile_reader *r, vk_rd *rd)
{
    const uint8_t *p = vk_rd_take(rd, 4);
    uint32_t v = 0;
    if (p != NULL)
        memcpy(&v, p, 4);
    return r->swapped ? swap32(v) : v;
}

static uint16_t file_u16(const vk_pcapfile_reader *r, vk_rd *rd)
{
    const uint8_t *p = vk_rd_take(rd, 2);
    uint16_t v = 0;
    if (p != NULL)
        memcpy(&v, p, 2);
    return r->swapped ? (uint16_t)(v >> 8 | v << 8) : v;
}

/* A 32-bit field at p, already bounded by the caller, in host order. */
static inline uint32_t field_u32(const vk_pcapfile_reader *r, const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return r->swapped ? swap32(v) : v;
}

/* ---- reader ---- */

/* Reads until at least `want` unread bytes are buffered or the file ends.
 * VK_OK or VK_EIO. */
static int fill(vk_pcapfile_reader *r, size_t want)
{
    if (r->end - r->start >= want || r->eof)
        return VK_OK;
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    while (r->end < want && !r->eof) {
        ssize_t n = read(r->fd, r->buf + r->end, VK_PCAPFILE_READ_BUFFER - r->end);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(r->err_msg, sizeof r->err_msg, "read error: %s", strerror(errno));
            return r->err = VK_EIO;
        }
        if (n == 0)
            r->eof = true;
        r->end += (size_t)n;
        r->read_total += (uint64_t)n;
    }
    return VK_OK;
}

/* Parses the file header.  VK_OK or VK_EUNSUPP. */
static int parse_header(vk_pcapfile_reader *r)
{
    if (fill(r, VK_PCAPFILE_HEADER) != VK_OK || r->end - r->start < VK_PCAPFILE_HEADER)
        return VK_EUNSUPP;
    uint32_t magic;
    memcpy(&magic, r->buf, 4);
    if (magic == MAGIC_US || magic == MAGIC_NS) {
        r->swapped = false;
    } else if (swap32(magic) == MAGIC_US || swap32(magic) == MAGIC_NS) {
        r->swapped = true;
        magic = swap32(magic);
    } else {
        return VK_EUNSUPP;
    }
    r->nanosec = magic == MAGIC_NS;
    vk_rd rd;
    vk_rd_init(&rd, r->buf + 4, VK_PCAPFILE_HEADER - 4);
    uint16_t major = file_u16(r, &rd);
    (void)file_u16(r, &rd); /* minor: any */
    vk_rd_skip(&rd, 8);      /* thiszone, sigfigs */
    uint32_t snaplen = file_u32(r, &rd);
    uint32_t linktype = file_u32(r, &rd);
    if (!vk_rd_ok(&rd) || major != 2 || (linktype & LINKTYPE_MASK) != LINKTYPE_ETHERNET)
        return VK_EUNSUPP;
    r->snaplen = snaplen == 0 || snaplen > VK_PCAPFILE_SNAPLEN_MAX ? VK_PCAPFILE_SNAPLEN_MAX
                                                                   : snaplen;
    r->start = VK_PCAPFILE_HEADER;
    return VK_OK;
}

int vk_pcapfile_open_read(const char *path, vk_pcapfile_reader **out, vk_diag *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vk_diag_set(d, VK_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd); /* a pipe cannot be read twice: leave it to libpcap */
        return VK_EUNSUPP;
    }
    vk_pcapfile_reader *r = calloc(1, sizeof *r);
    uint8_t *buf = malloc(VK_PCAPFILE_READ_BUFFER);
    if (r == NULL || buf == NULL) {
        free(r);
        free(buf);
        close(fd);
        return vk_diag_set(d, VK_ENOMEM, "%s: out of memory", path);
    }
    r->fd = fd;
    r->buf = buf;
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    int rc = parse_header(r);
    if (rc != VK_OK) {
        vk_pcapfile_close_read(r);
        return rc;
    }
    *out = r;
    return VK_OK;
}

static int reader_fail(vk_pcapfile_reader *r, int err, vk_diag *d)
{
    r->err = err;
    return vk_diag_set(d, err, "%s", r->err_msg);
}

int vk_pcapfile_next(vk_pcapfile_reader *r, vk_pcapfile_record *rec, vk_diag *d)
{
    if (r->err != VK_OK)
        return vk_diag_set(d, r->err, "%s", r->err_msg);
    if (fill(r, VK_PCAPFILE_RECORD_HEADER) != VK_OK)
        return reader_fail(r, VK_EIO, d);
    size_t have = r->end - r->start;
    if (have == 0)
        return 0;
    if (have < VK_PCAPFILE_RECORD_HEADER) {
        snprintf(r->err_msg, sizeof r->err_msg,
                 "truncated dump file; tried to read %u header bytes, only got %zu",
                 VK_PCAPFILE_RECORD_HEADER, have);
        return reader_fail(r, VK_ETRUNC, d);
    }
    /* one checked take of the whole header, then loads from bounded bytes */
    vk_rd rd;
    vk_rd_init(&rd, r->buf + r->start, have);
    const uint8_t *h = vk_rd_take(&rd, VK_PCAPFILE_RECORD_HEADER);
    uint32_t sec = field_u32(r, h), frac = field_u32(r, h + 4);
    uint32_t caplen = field_u32(r, h + 8), origlen = field_u32(r, h + 12);
    if (caplen > r->snaplen || caplen > VK_FRAME_MAX) {
        snprintf(r->err_msg, sizeof r->err_msg,
                 "captured length %u exceeds the snapshot length %u", caplen, r->snaplen);
        return reader_fail(r, VK_EFORMAT, d);
    }
    if (fill(r, VK_PCAPFILE_RECORD_HEADER + (size_t)caplen) != VK_OK)
        return reader_fail(r, VK_EIO, d);
    have = r->end - r->start;
    if (have < VK_PCAPFILE_RECORD_HEADER + (size_t)caplen) {
        snprintf(r->err_msg, sizeof r->err_msg,
                 "truncated dump file; tried to read %u captured bytes, only got %zu", caplen,
                 have - VK_PCAPFILE_RECORD_HEADER);
        return reader_fail(r, VK_ETRUNC, d);
    }
    /* seconds are a signed 32-bit field to libpcap */
    uint64_t ns = r->nanosec ? frac : (uint64_t)frac * 1000u;
    rec->ts_ns = (uint64_t)(int64_t)(int32_t)sec * 1000000000u + ns;
    rec->caplen = caplen;
    rec->origlen = origlen;
    rec->data = r->buf + r->start + VK_PCAPFILE_RECORD_HEADER;
    r->start += VK_PCAPFILE_RECORD_HEADER + caplen;
    return 1;
}

uint32_t vk_pcapfile_snaplen(const vk_pcapfile_reader *r)
{
    return r->snaplen;
}

uint64_t vk_pcapfile_offset(const vk_pcapfile_reader *r)
{
    return r->read_total - (uint64_t)(r->end - r->start);
}

void vk_pcapfile_close_read(vk_pcapfile_reader *r)
{
    if (r == NULL)
        return;
    close(r->fd);
    free(r->buf);
    free(r);
}

/* ---- writer ---- */

static int writer_fail(vk_pcapfile_writer *w, int errnum)
{
    if (w->err == VK_OK) {
        w->err = VK_EIO;
        w->err_errno = errnum;
    }
    return VK_EIO;
}

/* write(2) of every byte of the iovecs, retrying short writes. */
static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t k = writev(fd, iov, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? errno : EIO;
        size_t done = (size_t)k;
        while (n > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return 0;
}

/* Hands the buffer to the kernel; on failure its records are lost. */
static int spill(vk_pcapfile_writer *w)
{
    if (w->err != VK_OK)
        return w->err;
    if (w->len == 0)
        return VK_OK;
    struct iovec iov = {w->buf, w->len};
    uint64_t records = w->buffered;
    w->len = 0;
    w->buffered = 0;
    int e = write_all(w->fd, &iov, 1);
    if (e != 0) {
        w->lost += records;
        return writer_fail(w, e);
    }
    return VK_OK;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4); /* host order, as libpcap writes */
}

int vk_pcapfile_open_write(const char *path, uint32_t snaplen, size_t buffer,
                           vk_pcapfile_writer **out, vk_diag *d)
{
    if (buffer < 65536)
        buffer = 65536;
    vk_pcapfile_writer *w = calloc(1, sizeof *w);
    if (w == NULL || (w->path = strdup(path)) == NULL || (w->buf = malloc(buffer)) == NULL) {
        if (w != NULL)
            free(w->path);
        free(w);
        return vk_diag_set(d, VK_ENOMEM, "%s: out of memory", path);
    }
    w->cap = buffer;
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (w->fd < 0) {
        int e = errno;
        free(w->buf);
        free(w->path);
        free(w);
        return vk_diag_set(d, VK_EIO, "%s: %s", path, strerror(e));
    }
    uint8_t *h = w->buf;
    put_u32(h, MAGIC_NS);
    uint16_t version[2] = {2, 4};
    memcpy(h + 4, version, 4);
    put_u32(h + 8, 0);  /* thiszone */
    put_u32(h + 12, 0); /* sigfigs */
    put_u32(h + 16, snaplen);
    put_u32(h + 20, LINKTYPE_ETHERNET);
    w->len = VK_PCAPFILE_HEADER;
    /* the header is written at once: a file that receives nothing before
     * the process is killed is still a valid, empty capture.  A failure is
     * kept, as any write's: every later record is refused and counted, and
     * vk_pcapfile_status/close report it. */
    spill(w);
    *out = w;
    return VK_OK;
}

int vk_pcapfile_write(vk_pcapfile_writer *w, uint64_t ts_ns, const uint8_t *data,
                      uint32_t caplen, uint32_t origlen)
{
    if (caplen > origlen)
        return VK_EINVAL;
    if (w->err != VK_OK) {
        w->lost++;
        return w->err;
    }
    size_t size = VK_PCAPFILE_RECORD_HEADER + (size_t)caplen;
    if (size > w->cap - w->len && spill(w) != VK_OK) {
        w->lost++;
        return w->err;
    }
    uint8_t head[VK_PCAPFILE_RECORD_HEADER];
    /* libpcap stores the seconds in 32 bits and the fraction in ns */
    put_u32(head, (uint32_t)(ts_ns / 1000000000u));
    put_u32(head + 4, (uint32_t)(ts_ns % 1000000000u));
    put_u32(head + 8, caplen);
    put_u32(head + 12, origlen);
    if (size > w->cap) { /* larger than the whole buffer: straight through */
        struct iovec iov[2] = {{head, sizeof head}, {(void *)(uintptr_t)data, caplen}};
        int e = write_all(w->fd, iov, 2);
        if (e != 0) {
            w->lost++;
            return writer_fail(w, e);
        }
        return VK_OK;
    }
    uint8_t *p = w->buf + w->len;
    memcpy(p, head, sizeof head);
    memcpy(p + sizeof head, data, caplen);
    w->len += size;
    w->buffered++;
    return VK_OK;
}

int vk_pcapfile_flush(vk_pcapfile_writer *w)
{
    return spill(w);
}

uint64_t vk_pcapfile_lost(const vk_pcapfile_writer *w)
{
    return w->lost;
}

int vk_pcapfile_status(const vk_pcapfile_writer *w, vk_diag *d)
{
    if (w->err == VK_OK)
        return VK_OK;
    return vk_diag_set(d, w->err, "writing %s: %s", w->path, strerror(w->err_errno));
}

int vk_pcapfile_close_write(vk_pcapfile_writer *w, vk_diag *d)
{
    if (w == NULL)
        return VK_OK;
    spill(w);
    if (close(w->fd) != 0)
        writer_fail(w, errno);
    int r = vk_pcapfile_status(w, d);
    free(w->buf);
    free(w->path);
    free(w);
    return r;
}

/* ---- libpcap's open errors in plain words ---- */

const char *vk_pcap_open_error_plain(const char *path, const char *libpcap_msg, char *buf,
                                     size_t cap)
{
    struct stat st;
    const char *plain = NULL;
    size_t n = strlen(path);
    /* libpcap starts some messages with the path, which the caller names */
    if (strncmp(libpcap_msg, path, n) == 0 && libpcap_msg[n] == ':' && libpcap_msg[n + 1] == ' ')
        libpcap_msg += n + 2;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
        plain = "the file is empty: not a capture";
    else if (strstr(libpcap_msg, "unknown file format") != NULL)
        plain = "not a pcap or pcapng file (its first bytes are no capture magic number)";
    else if (strstr(libpcap_msg, "file header") != NULL || strstr(libpcap_msg, "pcap file header"))
        plain = "the file ends inside its header: it is cut short";
    else if (strstr(libpcap_msg, "Section Header Block") != NULL ||
             strstr(libpcap_msg, "block in pcapng") != NULL)
        plain = "a pcapng block has an impossible length: the file is damaged";
    else if (strstr(libpcap_msg, "truncated") != NULL)
        plain = "the file is cut short";
    if (plain == NULL)
        snprintf(buf, cap, "%s", libpcap_msg);
    else
        snprintf(buf, cap, "%s (libpcap: %s)", plain, libpcap_msg);
    return buf;
}
