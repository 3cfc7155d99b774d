/*
 * The tracer: a tap on every port of a vk_net that writes what it sees.
 *   - dir:         DIR/<port-id>.pcap per port, classic pcap with nanosecond
 *                  timestamps, both directions in one file (as QEMU filter-dump)
 *   - pcapng_path: one pcapng for the whole net, one interface per port in
 *                  port index order, each packet with its direction (epb_flags)
 *                  and its frame id (epb_packetid); a dropped frame is an
 *                  inbound packet on the port that dropped it, with the comment
 *                  "dropped: <reason>" (classic pcaps cannot carry drops)
 *   - filter:      a BPF expression (tcpdump syntax) that every frame, and the
 *                  frame of every drop, must match to be written; it is applied
 *                  to the whole frame, before snaplen truncation
 *   - snaplen:     bytes kept per frame (0: VK_TRACE_SNAPLEN_DEFAULT)
 * Plus the QEMU object `-object filter-dump,...` (filter_dump.h).
 *
 * Ownership and lifetime:
 *   - vk_tracer_open() is called once the topology is built (ports created
 *     later are not traced) and registers the tracer as a tap of the net.
 *     The tracer keeps no reference to the net or its ports beyond that.
 *   - The net has no way to remove a tap, so the net may call the tracer
 *     until vk_net_free(): call vk_tracer_finish() when the run ends (it
 *     closes every file as a valid capture and makes later frames no-ops),
 *     and vk_tracer_close() only after vk_net_free() (or once no frame can
 *     move any more).  finish is idempotent; close finishes if needed.
 *   - Strings in the config are copied; the caller keeps its own.
 *
 * Every record is written whole: records are buffered (1 MiB of whole pcapng
 * blocks, 256 KiB of whole classic pcap records per --trace-dir file) and a
 * buffer is written out before a record that would not fit, so a file grows
 * by whole records (a classic record larger than the buffer is written
 * alone, in one writev).  Files are flushed by vk_tracer_flush(), at finish,
 * and after every record when cfg->flush_each_record is set (for readers that
 * follow a live file); between flushes a reader may see the file lag behind.
 * A write error (disk full) stops that file, is counted in write_errors for
 * every record it loses (the ones buffered when it happened, then each later
 * one), and is reported once: by vk_tracer_status() and the return of
 * vk_tracer_finish().
 */
#ifndef VK_TRACER_TRACER_H
#define VK_TRACER_TRACER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "core/net.h"

/* tcpdump's default snapshot length: never truncates a 64 KiB GSO frame. */
#define VK_TRACE_SNAPLEN_DEFAULT 262144u
/* libpcap refuses to read records longer than this for Ethernet. */
#define VK_TRACE_SNAPLEN_MAX 262144u

typedef struct vk_trace_config {
    const char *dir;           /* --trace-dir; NULL: none */
    const char *pcapng_path;   /* --trace; NULL: none */
    const char *filter;        /* --trace-filter; NULL or "": everything */
    unsigned snaplen;          /* --trace-snaplen; 0: default */
    const char *topology_text; /* pcapng section comment; NULL: none */
    bool flush_each_record;
} vk_trace_config;

typedef struct vk_trace_counters {
    uint64_t frames_written;  /* frames (or drops) that passed the filter */
    uint64_t frames_filtered; /* frame and drop events the filter rejected */
    uint64_t drops_recorded;  /* drops that passed the filter */
    uint64_t write_errors;    /* records lost to a failed file */
} vk_trace_counters;

typedef struct vk_tracer vk_tracer;

/* Opens every output and starts tracing.  Errors (VK_EINVAL bad filter or
 * port id, VK_ERANGE snaplen, VK_EIO file) come with a message in d; nothing
 * is left registered or open on failure. */
int vk_tracer_open(vk_net *net, const vk_trace_config *cfg, vk_tracer **out, vk_diag *d);
void vk_tracer_flush(vk_tracer *t);
/* Flushes and closes every file; later frames are ignored.  Returns the
 * first write error (message in d), else VK_OK.  Idempotent. */
int vk_tracer_finish(vk_tracer *t, vk_diag *d);
/* Finishes if needed and frees.  NULL ok.  See the lifetime rule above. */
void vk_tracer_close(vk_tracer *t);

void vk_tracer_counters(const vk_tracer *t, vk_trace_counters *out);
/* VK_OK or the first write error, with its message. */
int vk_tracer_status(const vk_tracer *t, vk_diag *d);

/* End-of-run report: one line per port (rx/tx/drops from vk_port_stats),
 * then the tracer's counters if t is not NULL. */
void vk_tracer_print_summary(const vk_tracer *t, const vk_net *net, FILE *out);

/* Checks that a port id can name a file inside a directory (no '/', not
 * "", "." or ".."): VK_EINVAL with a message. */
int vk_trace_check_file_id(const char *id, vk_diag *d);

#endif
