/*
 * -netdev pcap,id=ID,in=FILE[,out=FILE][,loop=N]: a capture file as a host.
 * Frames of `in` (pcap or pcapng, read by libpcap at nanosecond precision)
 * are sent at their recorded times relative to the file's first frame; a loop
 * run starts each new pass where the previous one ended, plus the gap between
 * the file's first two frames.  Every frame the port receives is written to
 * `out` (classic pcap, nanosecond timestamps from the engine clock).
 * A malformed record mid-file stops the run with an input error naming the
 * file and the frame number; what was traced so far stays valid.
 *
 * Speed: a classic pcap in a regular file is read by wire/pcapfile in 1 MiB
 * batches with every record header checked (no system call per frame); pcapng
 * and pipes go through libpcap.  `out` is written by wire/pcapfile too, the
 * same bytes libpcap's pcap_dump wrote, one write(2) per 1 MiB; a failed
 * write stops the run with an error naming the file.  A frame played from
 * `in` borrows the reader's bytes (vk_frame_lend) and is copied only if a
 * queue or filter keeps it past its send.
 */
#include "backends/backends.h"
#include "wire/pcapfile.h"

#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of out= records gathered per write(2). */
#define OUT_BUFFER (1u << 20)

typedef struct pcap_backend {
    char *in_path, *out_path;
    vk_pcapfile_reader *file; /* in, when it is a classic pcap in a regular file */
    pcap_t *in;               /* in, otherwise */
    vk_pcapfile_writer *out;
    uint64_t in_size;     /* bytes of `in`; 0 when not a regular file */
    uint64_t loops_total; /* 0 = forever */
    uint64_t loops_done;
    uint64_t frame_no;    /* 1-based number of the frame in the current pass */
    uint64_t first_ts;    /* ts of the file's first frame */
    uint64_t second_gap;  /* ns between first and second frame (>= 1 ms if unknown) */
    uint64_t pass_start;  /* loop time at which the current pass started */
    uint64_t last_when;
    bool have_first, have_gap;
    vk_frame *next;       /* the frame waiting for its time */
    vk_timer *timer;
    vk_port *port;
} pcap_backend;

static uint64_t ts_ns(const struct pcap_pkthdr *h)
{
    return (uint64_t)h->ts.tv_sec * VK_NS_PER_SEC + (uint64_t)h->ts.tv_usec;
}

static int open_input(pcap_backend *b, vk_diag *d, const char *id)
{
    /* anything our reader does not take (or cannot open) is libpcap's, which
     * words the errors */
    if (vk_pcapfile_open_read(b->in_path, &b->file, NULL) == VK_OK)
        return VK_OK;
    b->file = NULL;
    char errbuf[PCAP_ERRBUF_SIZE];
    b->in = pcap_open_offline_with_tstamp_precision(b->in_path, PCAP_TSTAMP_PRECISION_NANO,
                                                    errbuf);
    if (b->in == NULL) {
        char plain[PCAP_ERRBUF_SIZE + 128];
        return vk_diag_set(d, VK_EFORMAT, "-netdev pcap,id=%s: key 'in': %s: %s", id,
                           b->in_path,
                           vk_pcap_open_error_plain(b->in_path, errbuf, plain, sizeof plain));
    }
    int dlt = pcap_datalink(b->in);
    if (dlt != DLT_EN10MB) {
        const char *name = pcap_datalink_val_to_name(dlt);
        return vk_diag_set(d, VK_EUNSUPP,
                           "-netdev pcap,id=%s: key 'in': '%s' has link type %d (%s); only "
                           "Ethernet (1) is supported",
                           id, b->in_path, dlt, name ? name : "unknown");
    }
    return VK_OK;
}

/* libpcap quietly cuts a classic-pcap record whose captured length exceeds
 * the file's snapshot length; such a file is malformed, so we read the
 * record header ourselves (pread: libpcap's stdio position is untouched)
 * and refuse it.  Returns the record's own captured length, or 0 if it
 * cannot be known (pcapng, pipes). */
static uint32_t classic_record_caplen(pcap_t *p, long pos)
{
    FILE *f = pcap_file(p);
    uint8_t h[16];
    if (f == NULL || pos < 0 || pread(fileno(f), h, sizeof h, pos) != (ssize_t)sizeof h)
        return 0;
    if (pcap_is_swapped(p))
        return (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 | (uint32_t)h[10] << 8 | h[11];
    uint32_t le = (uint32_t)h[11] << 24 | (uint32_t)h[10] << 16 | (uint32_t)h[9] << 8 | h[8];
    uint32_t be = (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 | (uint32_t)h[10] << 8 | h[11];
    /* host order is what an unswapped file holds */
    const uint16_t probe = 1;
    return *(const uint8_t *)&probe ? le : be;
}

static bool is_classic_pcap(pcap_t *p)
{
    /* pcapng files report major version 1; classic pcap 2 */
    return pcap_major_version(p) == 2;
}

/* Takes a record's time and bytes (lent) as b->next.  1, or VK_ENOMEM after
 * vk_net_fail(). */
static int take_record(pcap_backend *b, uint64_t t, const uint8_t *data, uint32_t caplen)
{
    if (!b->have_first) {
        b->first_ts = t;
        b->have_first = true;
    } else if (!b->have_gap) {
        b->second_gap = t > b->first_ts ? t - b->first_ts : 0;
        b->have_gap = true;
    }
    /* the frame borrows the reader's bytes, which stay put until the next
     * read: on_timer() settles it (a copy for whoever kept it) before that */
    b->next = vk_frame_lend((uint8_t *)data, caplen);
    if (b->next == NULL) {
        vk_net_fail(b->port->net, VK_ENOMEM, "-netdev pcap,id=%s: out of memory", b->port->id);
        return VK_ENOMEM;
    }
    uint64_t rel = t > b->first_ts ? t - b->first_ts : 0;
    b->last_when = b->pass_start + rel;
    return 1;
}

/* read_record for a file wire/pcapfile reads. */
static int read_file_record(pcap_backend *b)
{
    vk_pcapfile_record rec;
    vk_diag d;
    int r = vk_pcapfile_next(b->file, &rec, &d);
    if (r == 0)
        return 0;
    b->frame_no++;
    if (r < 0) {
        vk_net_fail(b->port->net, r == VK_ETRUNC ? VK_EFORMAT : r,
                    "-netdev pcap,id=%s: %s: frame %llu: %s", b->port->id, b->in_path,
                    (unsigned long long)b->frame_no, d.msg);
        return r;
    }
    return take_record(b, rec.ts_ns, rec.data, rec.caplen);
}

/* Reads the next record into b->next.  Returns 1 with a frame, 0 at the end
 * of the file, or a negative error after vk_net_fail(). */
static int read_record(pcap_backend *b)
{
    if (b->file != NULL)
        return read_file_record(b);
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *data;
        FILE *f = pcap_file(b->in);
        long pos = f != NULL ? ftell(f) : -1;
        int r = pcap_next_ex(b->in, &h, &data);
        if (r == PCAP_ERROR_BREAK)
            return 0;
        b->frame_no++;
        if (r != 1) {
            vk_net_fail(b->port->net, VK_EFORMAT, "-netdev pcap,id=%s: %s: frame %llu: %s",
                        b->port->id, b->in_path, (unsigned long long)b->frame_no,
                        pcap_geterr(b->in));
            return VK_EFORMAT;
        }
        uint32_t raw_caplen = is_classic_pcap(b->in) ? classic_record_caplen(b->in, pos) : 0;
        if (raw_caplen > h->caplen)
            h->caplen = raw_caplen;
        if (h->caplen > (bpf_u_int32)pcap_snapshot(b->in) || h->caplen > VK_FRAME_MAX) {
            vk_net_fail(b->port->net, VK_EFORMAT,
                        "-netdev pcap,id=%s: %s: frame %llu: captured length %u exceeds the "
                        "snapshot length %d",
                        b->port->id, b->in_path, (unsigned long long)b->frame_no, h->caplen,
                        pcap_snapshot(b->in));
            return VK_EFORMAT;
        }
        return take_record(b, ts_ns(h), data, h->caplen);
    }
}

static int rewind_input(pcap_backend *b)
{
    if (b->in != NULL)
        pcap_close(b->in);
    b->in = NULL;
    vk_pcapfile_close_read(b->file);
    b->file = NULL;
    vk_diag d;
    int r = open_input(b, &d, b->port->id);
    if (r != VK_OK) {
        vk_net_fail(b->port->net, r, "%s", d.msg);
        return r;
    }
    uint64_t gap = b->have_gap && b->second_gap > 0 ? b->second_gap : 1000000;
    b->pass_start = b->last_when + gap;
    b->frame_no = 0;
    b->have_first = false;
    b->have_gap = false;
    return VK_OK;
}

/* Schedules the next frame, rewinding for further passes.  Ends quietly. */
static void schedule_next(pcap_backend *b)
{
    int r = read_record(b);
    if (r == 0 && b->frame_no > 0 &&
        (b->loops_total == 0 || ++b->loops_done < b->loops_total)) {
        if (rewind_input(b) != VK_OK)
            return;
        r = read_record(b);
    }
    if (r == 1)
        vk_timer_arm(b->timer, b->last_when);
}

static void on_timer(void *arg, uint64_t now)
{
    (void)now;
    pcap_backend *b = arg;
    vk_frame *f = b->next;
    b->next = NULL;
    if (f->len < 14)
        vk_port_drop_outbound(b->port, f, "runt frame in input capture");
    else
        vk_port_send(b->port, f);
    vk_frame_settle(f);
    schedule_next(b);
}

static int pcapdev_start(vk_port *self)
{
    pcap_backend *b = self->priv;
    if (b->in == NULL && b->file == NULL)
        return VK_OK;
    b->pass_start = vk_loop_now(vk_net_loop(self->net));
    int r = read_record(b);
    if (r < 0)
        return r;
    if (r == 0)
        return VK_OK;
    vk_loop *loop = vk_net_loop(self->net);
    /* a virtual run's trace timestamps follow the first capture's clock */
    if (vk_loop_clock(loop) == VK_CLOCK_VIRTUAL && vk_loop_epoch(loop) == 0)
        vk_loop_set_epoch(loop, b->first_ts);
    vk_timer_arm(b->timer, b->last_when);
    return VK_OK;
}

static int pcapdev_receive(vk_port *self, vk_frame *f)
{
    pcap_backend *b = self->priv;
    if (b->out == NULL)
        return VK_OK;
    uint32_t len = (uint32_t)f->len;
    if (vk_pcapfile_write(b->out, vk_net_timestamp(self->net), f->data, len, len) != VK_OK) {
        vk_diag d;
        vk_pcapfile_status(b->out, &d);
        vk_net_fail(self->net, VK_EIO, "-netdev pcap,id=%s: key 'out': %s", self->id, d.msg);
        return VK_EIO;
    }
    return VK_OK;
}

static void pcapdev_cleanup(vk_port *self)
{
    pcap_backend *b = self->priv;
    vk_timer_free(b->timer);
    vk_frame_unref(b->next);
    if (b->in != NULL)
        pcap_close(b->in);
    vk_pcapfile_close_read(b->file);
    vk_pcapfile_close_write(b->out, NULL);
    free(b->in_path);
    free(b->out_path);
}

static void pcapdev_describe(vk_port *self, char *buf, size_t cap)
{
    pcap_backend *b = self->priv;
    snprintf(buf, cap, "pcap%s%s%s%s", b->in_path ? " in=" : "", b->in_path ? b->in_path : "",
             b->out_path ? " out=" : "", b->out_path ? b->out_path : "");
}

/* Bytes of `in` taken over all passes, of the size times the passes. */
static bool pcapdev_input_progress(vk_port *self, uint64_t *done, uint64_t *total)
{
    pcap_backend *b = self->priv;
    uint64_t pos;
    if (b->in_size == 0 || b->loops_total == 0)
        return false;
    if (b->file != NULL) {
        pos = vk_pcapfile_offset(b->file);
    } else if (b->in != NULL && pcap_file(b->in) != NULL) {
        long at = ftell(pcap_file(b->in));
        pos = at > 0 ? (uint64_t)at : 0;
    } else {
        pos = b->in_size; /* closed: the input is done */
    }
    *total = b->in_size * b->loops_total;
    *done = b->in_size * b->loops_done + (pos < b->in_size ? pos : b->in_size);
    if (*done > *total) /* the last pass counted as done and read to its end */
        *done = *total;
    return true;
}

static const vk_port_ops pcapdev_ops = {
    .kind = "pcap",
    .receive = pcapdev_receive,
    .cleanup = pcapdev_cleanup,
    .describe = pcapdev_describe,
    .start = pcapdev_start,
    .input_progress = pcapdev_input_progress,
};

static int open_output(pcap_backend *b, vk_opts *o, vk_diag *d)
{
    vk_diag e;
    int r = vk_pcapfile_open_write(b->out_path, VK_PCAPFILE_SNAPLEN_MAX, OUT_BUFFER, &b->out, &e);
    if (r != VK_OK)
        return vk_opts_error(o, d, r, "out", "%s", e.msg);
    return VK_OK;
}

static int pcapdev_create(vk_net *net, const char *id, vk_opts *o, vk_port **out, vk_diag *d)
{
    const char *in = vk_opts_get(o, "in");
    const char *outp = vk_opts_get(o, "out");
    uint64_t loops;
    int r = vk_opts_get_uint(o, "loop", 1, 0, UINT32_MAX, &loops, d);
    if (r != VK_OK)
        return r;
    if (in == NULL && outp == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "in", "missing (pcap needs in=FILE and/or out=FILE)");
    vk_port *p;
    r = vk_port_new(net, &pcapdev_ops, id, "pcap", sizeof(pcap_backend), &p, d);
    if (r != VK_OK)
        return r;
    pcap_backend *b = p->priv;
    b->port = p;
    b->loops_total = loops;
    b->timer = vk_timer_new(vk_net_loop(net), on_timer, b);
    b->in_path = in ? strdup(in) : NULL;
    b->out_path = outp ? strdup(outp) : NULL;
    if (b->timer == NULL || (in && !b->in_path) || (outp && !b->out_path))
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    if (in != NULL && (r = open_input(b, d, id)) != VK_OK)
        return r;
    struct stat st;
    if (in != NULL && stat(in, &st) == 0 && S_ISREG(st.st_mode))
        b->in_size = (uint64_t)st.st_size;
    if (outp != NULL && (r = open_output(b, o, d)) != VK_OK)
        return r;
    *out = p;
    return VK_OK;
}

static const char *const pcapdev_keys[] = {"in", "out", "loop", NULL};

const vk_netdev_type vk_netdev_pcap = {
    .name = "pcap",
    .keys = pcapdev_keys,
    .create = pcapdev_create,
};
