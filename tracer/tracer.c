/*
 * The tracer tap (see tracer.h): per-port classic pcaps through libpcap's
 * dump API and one pcapng through our own writer, both behind one BPF filter
 * and one snaplen.  Ports are found by their index, which is their position
 * in the net and their pcapng interface number; a port created after open
 * has no slot and is ignored.
 *
 * Buffering: the pcapng writer gathers whole blocks itself (pcapng.h), and
 * each --trace-dir file is a wire/pcapfile writer with DIR_BUFFER bytes of
 * whole records (the same bytes libpcap's pcap_dump wrote, without its two
 * stdio calls per record); both count exactly the records a failed write
 * took with it.
 */
#include "tracer/tracer.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wire/pcapng.h"
#include "wire/pcapfile.h"

/* Per --trace-dir file: 256 KiB makes a write(2) carry hundreds of records;
 * the buffer's pages are only touched on ports that see traffic. */
#define DIR_BUFFER (256u * 1024u)

typedef struct trace_port {
    const vk_port *port;   /* identity only: never dereferenced after open */
    uint32_t iface;        /* pcapng interface number */
    char *path;            /* DIR/<id>.pcap, NULL without --trace-dir */
    vk_pcapfile_writer *file; /* NULL if none */
    uint64_t file_lost;    /* vk_pcapfile_lost() already in c.write_errors */
} trace_port;

struct vk_tracer {
    trace_port *ports;
    size_t nports;
    char *dir;
    pcap_t *dead; /* DLT_EN10MB, snaplen, ns: for the filter */
    struct bpf_program prog;
    bool has_filter;
    vk_pcapng *ng;
    uint64_t ng_lost; /* vk_pcapng_packets_lost() already in c.write_errors */
    unsigned snaplen;
    bool flush_each;
    bool finished;
    vk_trace_counters c;
    int err; /* first write error */
    vk_diag err_diag;
};

/* ---- opening ---- */

int vk_trace_check_file_id(const char *id, vk_diag *d)
{
    if (id[0] == '\0' || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return vk_diag_set(d, VK_EINVAL, "--trace-dir: port id '%s' cannot name a file", id);
    if (strchr(id, '/') != NULL)
        return vk_diag_set(d, VK_EINVAL,
                           "--trace-dir: port id '%s' contains '/' and would escape the directory",
                           id);
    return VK_OK;
}

/* mkdir -p: creates dir and its missing parents. */
static int make_dirs(const char *dir, vk_diag *d)
{
    char *path = strdup(dir);
    if (path == NULL)
        return vk_diag_set(d, VK_ENOMEM, "--trace-dir %s: out of memory", dir);
    for (char *s = path + 1; *s != '\0'; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            vk_diag_set(d, VK_EIO, "--trace-dir: cannot create %s: %s", path, strerror(e));
            free(path);
            return VK_EIO;
        }
        *s = '/';
    }
    free(path);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return vk_diag_set(d, VK_EIO, "--trace-dir: cannot create %s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return vk_diag_set(d, VK_EIO, "--trace-dir: %s is not a directory", dir);
    return VK_OK;
}

static int compile_filter(vk_tracer *t, const char *expr, vk_diag *d)
{
    if (expr == NULL || expr[0] == '\0')
        return VK_OK;
    if (pcap_compile(t->dead, &t->prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0)
        return vk_diag_set(d, VK_EINVAL, "--trace-filter '%s': %s", expr, pcap_geterr(t->dead));
    t->has_filter = true;
    return VK_OK;
}

static int open_dir_file(vk_tracer *t, trace_port *tp, vk_diag *d)
{
    vk_diag e;
    int r = vk_pcapfile_open_write(tp->path, t->snaplen, DIR_BUFFER, &tp->file, &e);
    if (r == VK_ENOMEM)
        return vk_diag_set(d, r, "--trace-dir: out of memory");
    if (r != VK_OK)
        return vk_diag_set(d, VK_EIO, "--trace-dir: cannot create %s", e.msg);
    return VK_OK;
}

static int open_dir_files(vk_tracer *t, vk_diag *d)
{
    int r = make_dirs(t->dir, d);
    if (r != VK_OK)
        return r;
    for (size_t i = 0; i < t->nports; i++) {
        const char *id = t->ports[i].port->id;
        size_t n = strlen(t->dir) + strlen(id) + sizeof "/.pcap";
        char *path = malloc(n);
        if (path == NULL)
            return vk_diag_set(d, VK_ENOMEM, "--trace-dir: out of memory");
        snprintf(path, n, "%s/%s.pcap", t->dir, id);
        t->ports[i].path = path;
        if ((r = open_dir_file(t, &t->ports[i], d)) != VK_OK)
            return r;
    }
    return VK_OK;
}

static int open_pcapng(vk_tracer *t, vk_net *net, const vk_trace_config *cfg, vk_diag *d)
{
    vk_pcapng_section shb = {
        .userappl = "vnetkit " VK_VERSION,
        .comment = cfg->topology_text,
        /* no shb_os: a virtual run must give the same file on every host */
    };
    int r = vk_pcapng_open(cfg->pcapng_path, &shb, &t->ng, d);
    if (r != VK_OK)
        return r;
    for (size_t i = 0; i < t->nports; i++) {
        vk_port *p = vk_net_port_at(net, i);
        char desc[256];
        vk_port_describe(p, desc, sizeof desc);
        r = vk_pcapng_add_interface(t->ng, VK_PCAPNG_LINKTYPE_ETHERNET, t->snaplen, p->id, desc,
                                    &t->ports[i].iface);
        if (r != VK_OK) {
            if (vk_pcapng_status(t->ng, d) == VK_OK)
                vk_diag_set(d, r, "--trace %s: %s", cfg->pcapng_path, vk_strerror(r));
            return r;
        }
    }
    /* the section and interfaces reach the file at once: a run killed
     * before its first flush still leaves a file every reader opens.  A
     * failed write stays in the writer, which refuses and counts every
     * later packet, as after any failed write. */
    vk_pcapng_flush(t->ng);
    return VK_OK;
}

static void tap_frame(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f, uint64_t ts);
static void tap_drop(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f,
                     const char *reason, uint64_t ts);

static void tap_link(void *arg, const vk_port *p, bool up, const char *why, uint64_t ts);

static const vk_tap_ops tracer_tap_ops = {
    .frame = tap_frame,
    .drop = tap_drop,
    .link = tap_link,
};

static void tracer_free(vk_tracer *t)
{
    vk_tracer_finish(t, NULL);
    if (t->has_filter)
        pcap_freecode(&t->prog);
    if (t->dead != NULL)
        pcap_close(t->dead);
    for (size_t i = 0; i < t->nports; i++) {
        free(t->ports[i].path);
    }
    free(t->ports);
    free(t->dir);
    free(t);
}

static int tracer_setup(vk_tracer *t, vk_net *net, const vk_trace_config *cfg, vk_diag *d)
{
    t->snaplen = cfg->snaplen ? cfg->snaplen : VK_TRACE_SNAPLEN_DEFAULT;
    if (t->snaplen > VK_TRACE_SNAPLEN_MAX)
        return vk_diag_set(d, VK_ERANGE, "--trace-snaplen %u: more than the maximum %u",
                           cfg->snaplen, VK_TRACE_SNAPLEN_MAX);
    t->flush_each = cfg->flush_each_record;
    t->nports = vk_net_port_count(net);
    t->ports = calloc(t->nports ? t->nports : 1, sizeof *t->ports);
    t->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, (int)t->snaplen,
                                                   PCAP_TSTAMP_PRECISION_NANO);
    if (t->ports == NULL || t->dead == NULL)
        return vk_diag_set(d, VK_ENOMEM, "tracer: out of memory");
    for (size_t i = 0; i < t->nports; i++)
        t->ports[i].port = vk_net_port_at(net, i);
    int r = compile_filter(t, cfg->filter, d);
    if (r != VK_OK)
        return r;
    if (cfg->dir != NULL) {
        /* check every id before creating anything */
        for (size_t i = 0; i < t->nports; i++)
            if ((r = vk_trace_check_file_id(t->ports[i].port->id, d)) != VK_OK)
                return r;
        if ((t->dir = strdup(cfg->dir)) == NULL)
            return vk_diag_set(d, VK_ENOMEM, "tracer: out of memory");
        if ((r = open_dir_files(t, d)) != VK_OK)
            return r;
    }
    if (cfg->pcapng_path != NULL && (r = open_pcapng(t, net, cfg, d)) != VK_OK)
        return r;
    if ((r = vk_net_add_tap(net, &tracer_tap_ops, t)) != VK_OK)
        return vk_diag_set(d, r, "tracer: cannot add a tap to the net: %s", vk_strerror(r));
    return VK_OK;
}

int vk_tracer_open(vk_net *net, const vk_trace_config *cfg, vk_tracer **out, vk_diag *d)
{
    vk_tracer *t = calloc(1, sizeof *t);
    if (t == NULL)
        return vk_diag_set(d, VK_ENOMEM, "tracer: out of memory");
    int r = tracer_setup(t, net, cfg, d);
    if (r != VK_OK) {
        tracer_free(t);
        return r;
    }
    *out = t;
    return VK_OK;
}

/* ---- writing ---- */

static void record_error(vk_tracer *t, int err, const vk_diag *msg)
{
    if (t->err != VK_OK)
        return;
    t->err = err;
    t->err_diag = *msg;
}

static trace_port *tracer_port(vk_tracer *t, const vk_port *p)
{
    if (t->finished || p->index >= t->nports || t->ports[p->index].port != p)
        return NULL;
    return &t->ports[p->index];
}

/* True when the filter keeps f (judged on the whole frame). */
static bool tracer_keeps(const vk_tracer *t, const vk_frame *f)
{
    if (!t->has_filter)
        return true;
    struct pcap_pkthdr h = {.caplen = (bpf_u_int32)f->len, .len = (bpf_u_int32)f->len};
    return pcap_offline_filter(&t->prog, &h, f->data) != 0;
}

static uint32_t tracer_caplen(const vk_tracer *t, const vk_frame *f)
{
    return f->len < t->snaplen ? (uint32_t)f->len : t->snaplen;
}

/* Adds the records tp's file lost since the last look (a failed write takes
 * every buffered record with it, and refuses every later one) to
 * write_errors, and remembers the first error. */
static void count_dir_lost(vk_tracer *t, trace_port *tp)
{
    uint64_t lost = vk_pcapfile_lost(tp->file);
    if (lost == tp->file_lost)
        return;
    t->c.write_errors += lost - tp->file_lost;
    tp->file_lost = lost;
    vk_diag e, msg;
    vk_pcapfile_status(tp->file, &e);
    vk_diag_set(&msg, VK_EIO, "--trace-dir: %s", e.msg);
    record_error(t, VK_EIO, &msg);
}

static void write_dir(vk_tracer *t, trace_port *tp, const vk_frame *f, uint64_t ts)
{
    if (tp->file == NULL)
        return;
    int r = vk_pcapfile_write(tp->file, ts, f->data, tracer_caplen(t, f), (uint32_t)f->len);
    if (r == VK_OK && t->flush_each)
        r = vk_pcapfile_flush(tp->file);
    if (r != VK_OK)
        count_dir_lost(t, tp);
}

/* Adds the packets the pcapng writer lost since the last look (a failed write
 * takes every buffered packet with it) to write_errors. */
static void count_ng_lost(vk_tracer *t)
{
    uint64_t lost = vk_pcapng_packets_lost(t->ng);
    t->c.write_errors += lost - t->ng_lost;
    t->ng_lost = lost;
}

static void write_ng(vk_tracer *t, trace_port *tp, uint32_t flags, const vk_frame *f, uint64_t ts,
                     const char *comment)
{
    if (t->ng == NULL)
        return;
    vk_pcapng_packet pkt = {
        .iface = tp->iface,
        .ts_ns = ts,
        .data = f->data,
        .caplen = tracer_caplen(t, f),
        .origlen = (uint32_t)f->len,
        .flags = flags,
        .packet_id = f->id,
        .comment = comment,
    };
    int r = vk_pcapng_write_packet(t->ng, &pkt);
    if (r == VK_OK && t->flush_each)
        r = vk_pcapng_flush(t->ng);
    if (r != VK_OK && r != VK_EIO)
        t->c.write_errors++; /* refused, so not among the writer's lost packets */
    count_ng_lost(t);
    if (r != VK_OK) {
        vk_diag msg;
        if (vk_pcapng_status(t->ng, &msg) == VK_OK)
            vk_diag_set(&msg, r, "--trace: cannot write a packet: %s", vk_strerror(r));
        record_error(t, VK_EIO, &msg);
    }
}

static void tap_frame(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f, uint64_t ts)
{
    vk_tracer *t = arg;
    trace_port *tp = tracer_port(t, p);
    if (tp == NULL)
        return;
    if (!tracer_keeps(t, f)) {
        t->c.frames_filtered++;
        return;
    }
    t->c.frames_written++;
    write_dir(t, tp, f, ts);
    /* a filter's decision (a delay, a corrupted bit) rides on the frame */
    write_ng(t, tp, dir == VK_DIR_IN ? VK_PCAPNG_FLAG_INBOUND : VK_PCAPNG_FLAG_OUTBOUND, f, ts,
             f->note);
}

static void tap_drop(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f,
                     const char *reason, uint64_t ts)
{
    vk_tracer *t = arg;
    trace_port *tp = tracer_port(t, p);
    if (tp == NULL || t->ng == NULL) /* only pcapng can carry a drop */
        return;
    if (!tracer_keeps(t, f)) {
        t->c.frames_filtered++;
        return;
    }
    t->c.drops_recorded++;
    t->c.frames_written++;
    char comment[256];
    snprintf(comment, sizeof comment, "dropped: %s", reason);
    write_ng(t, tp, dir == VK_DIR_OUT ? VK_PCAPNG_FLAG_OUTBOUND : VK_PCAPNG_FLAG_INBOUND, f, ts,
             comment);
}

/* A link change is not a frame: it is an empty packet on the port's interface
 * carrying the comment "link up: <why>" or "link down: <why>", so Wireshark
 * shows it in line with the traffic.  The frame filter does not apply to it. */
static void tap_link(void *arg, const vk_port *p, bool up, const char *why, uint64_t ts)
{
    vk_tracer *t = arg;
    trace_port *tp = tracer_port(t, p);
    if (tp == NULL || t->ng == NULL)
        return;
    static const uint8_t none[1];
    vk_frame empty = {.data = (uint8_t *)none, .len = 0, .cap = 0, .id = 0, .refcnt = 1};
    char comment[256];
    snprintf(comment, sizeof comment, "link %s: %s", up ? "up" : "down", why);
    t->c.frames_written++;
    write_ng(t, tp, 0, &empty, ts, comment);
}

/* ---- flushing, closing, reporting ---- */

void vk_tracer_flush(vk_tracer *t)
{
    if (t == NULL || t->finished)
        return;
    for (size_t i = 0; i < t->nports; i++) {
        trace_port *tp = &t->ports[i];
        if (tp->file != NULL && vk_pcapfile_flush(tp->file) != VK_OK)
            count_dir_lost(t, tp);
    }
    if (t->ng == NULL)
        return;
    int r = vk_pcapng_flush(t->ng);
    count_ng_lost(t);
    if (r != VK_OK) {
        vk_diag msg;
        vk_pcapng_status(t->ng, &msg);
        record_error(t, VK_EIO, &msg);
    }
}

int vk_tracer_finish(vk_tracer *t, vk_diag *d)
{
    if (t == NULL)
        return VK_OK;
    if (!t->finished) {
        vk_tracer_flush(t);
        for (size_t i = 0; i < t->nports; i++) {
            trace_port *tp = &t->ports[i];
            if (tp->file == NULL)
                continue;
            vk_diag e, msg;
            if (vk_pcapfile_close_write(tp->file, &e) != VK_OK) {
                vk_diag_set(&msg, VK_EIO, "--trace-dir: %s", e.msg);
                record_error(t, VK_EIO, &msg);
            }
            tp->file = NULL;
        }
        vk_diag msg;
        if (vk_pcapng_close(t->ng, &msg) != VK_OK)
            record_error(t, VK_EIO, &msg);
        t->ng = NULL;
        t->finished = true;
    }
    return vk_tracer_status(t, d);
}

void vk_tracer_close(vk_tracer *t)
{
    if (t != NULL)
        tracer_free(t);
}

void vk_tracer_counters(const vk_tracer *t, vk_trace_counters *out)
{
    *out = t->c;
}

int vk_tracer_status(const vk_tracer *t, vk_diag *d)
{
    if (t->err == VK_OK)
        return VK_OK;
    return vk_diag_set(d, t->err, "%s", t->err_diag.msg);
}

void vk_tracer_print_summary(const vk_tracer *t, const vk_net *net, FILE *out)
{
    fprintf(out, "%-20s %-10s %10s %10s %8s %s\n", "port", "kind", "rx", "tx", "drops",
            "(queue full/no peer/other)");
    for (size_t i = 0; i < vk_net_port_count(net); i++) {
        const vk_port *p = vk_net_port_at(net, i);
        const vk_port_stats *s = &p->stats;
        uint64_t drops = s->drops_queue_full + s->drops_no_peer + s->drops_other;
        fprintf(out, "%-20s %-10s %10llu %10llu %8llu (%llu/%llu/%llu)\n", p->id, p->ops->kind,
                (unsigned long long)s->rx_frames, (unsigned long long)s->tx_frames,
                (unsigned long long)drops, (unsigned long long)s->drops_queue_full,
                (unsigned long long)s->drops_no_peer, (unsigned long long)s->drops_other);
        if (s->link_ups + s->link_downs > 0)
            fprintf(out, "%-20s link %s (%llu up, %llu down)\n", "", p->link_down ? "down" : "up",
                    (unsigned long long)s->link_ups, (unsigned long long)s->link_downs);
        if (s->gso_tx + s->gso_split > 0)
            fprintf(out, "%-20s super-segments: %llu sent whole, %llu segmented in software\n",
                    "", (unsigned long long)s->gso_tx, (unsigned long long)s->gso_split);
    }
    if (t == NULL)
        return;
    fprintf(out, "trace: %llu records written, %llu filtered out, %llu drops recorded",
            (unsigned long long)t->c.frames_written, (unsigned long long)t->c.frames_filtered,
            (unsigned long long)t->c.drops_recorded);
    if (t->c.write_errors > 0)
        fprintf(out, ", %llu lost to write errors (%s)", (unsigned long long)t->c.write_errors,
                t->err_diag.msg);
    fprintf(out, "\n");
}
