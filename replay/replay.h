/*
 * The replay driver: plays the guest's side of a capture into a network built
 * from a topology and records what the network answers, on the virtual clock.
 * It is a client of the engine's public API (core/net.h, core/loop.h,
 * core/topology.h, nics/nic.h) like any user.
 *
 * Attachment: the guest frames enter through a NIC (the first, or the one
 * named by nic_id) with vk_nic_guest_send(), and what the card delivers to
 * the guest is collected by its guest sink; or, with port_id, through a small
 * port of kind "replay" (id "replay") peered with that peer-less port (a hub
 * port, say): frames are sent from it and what it receives are the answers.
 *
 * Time: the loop's epoch is the capture's first timestamp, so traces look
 * like the capture; guest frame k is injected at (ts_k - ts_first), never
 * before the previous one (frames with equal or decreasing times keep file
 * order).  The run ends when no event is left, or settle_ns after the last
 * capture frame.
 *
 * Offloads (--guest-offload, replay/offload.h): through a NIC, the guest
 * frames can be handed to the driver as a guest stack with checksum offload
 * or TSO would (prepared frames plus metadata, vk_nic_guest_send_offload),
 * and the model is set to that mode as its guest-offload= key would.
 *
 * Wire check (check_wire, implied by --guest-offload): every frame the NIC
 * sends to the network is recorded (a tap on the NIC port, outbound) and
 * compared, byte for byte and in order within each flow, with the guest
 * frames as injected (after the TCP rewriting): whatever the driver asked
 * of the card, what leaves it must be what the guest meant to send.
 *
 * The outside world (--world): every `user` netdev of the topology gets a
 * world for its NAT (backends/user/world.h).  "recorded" (the default)
 * rebuilds the outside from the capture itself (replay/recording.h,
 * replay/world_recorded.h; docs/world.md), "none" refuses every flow, and
 * "live" is refused: real sockets cannot run on the virtual clock.  What the
 * guest did that the recording did not know is noted (world_notes) and is a
 * divergence.
 *
 * Frames that cannot go in (a guest frame the card's driver refuses, e.g. an
 * oversize frame on ne2k_pci or rtl8139 in legacy mode; a capture record
 * kept apart by the reader, e.g. a runt) are dropped as real hardware would,
 * traced as drops at the attachment port with their reason, listed in the
 * verdict, and the replay goes on.
 *
 * Checksums: frames captured before checksum offload carry partial
 * checksums (replay/offload.h vk_csum_is_partial); they are counted and the
 * verdict says so, because the user stack drops them.  With fix_checksums
 * (--fix-checksums, as tcprewrite --fixcsum) every IPv4 header, TCP, UDP,
 * ICMP and ICMPv6 checksum of the capture that does not verify is
 * recomputed before the split.
 *
 * Memory: the capture is never held (docs/world.md, "Memory").  It is read
 * three times, a frame at a time: a first pass checks it as
 * vk_capture_read() would and surveys it for the split; a second builds the
 * recorded world, whose payloads are positions in the file read back when
 * the stack takes them; the third injects the guest's frames behind a
 * window of at most a TSO group and the answer after it.  Answers are
 * compared as they come (compare.h, vk_cmp_stream): the expected frames are
 * handed to the comparator as the injection passes them in the capture, the
 * produced ones as the guest receives them, and a frame is released once
 * paired.  Only divergences keep their frames, unless the caller asks for
 * every match (keep_matches, for a JSON report) or for the log of every
 * frame that crossed (keep_log, for --update-expected and the differential
 * run).  A capture that changes between the passes is an error naming it.
 *
 * Ownership: vk_replay_run() takes the topology (it is freed with the run)
 * and returns a vk_replay holding the capture's description (cap: no
 * frames, only its path, link type, interfaces and skipped records), the
 * split's choice and counts (split.side is NULL), the event log (when kept)
 * and the comparison; free it with vk_replay_free().
 */
#ifndef VK_REPLAY_REPLAY_H
#define VK_REPLAY_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/topology.h"
#include "nics/nic.h"
#include "replay/capture.h"
#include "replay/compare.h"
#include "replay/decisions.h"
#include "replay/recording.h"
#include "replay/rewrite.h"
#include "replay/split.h"
#include "tracer/tracer.h"

#define VK_REPLAY_SETTLE_DEFAULT (2ull * 1000000000ull)
/* Retries of a guest frame a NIC refused with VK_EAGAIN (1 us apart). */
#define VK_REPLAY_TX_RETRIES 100000

typedef enum vk_replay_world {
    VK_REPLAY_WORLD_RECORDED = 0,
    VK_REPLAY_WORLD_NONE,
    VK_REPLAY_WORLD_LIVE,
} vk_replay_world;

typedef struct vk_replay_config {
    const char *capture_path;
    const vk_registry *reg;
    const char *nic_id;        /* NULL: first NIC */
    const char *port_id;       /* NULL: attach to a NIC */
    const char *capture_iface; /* --capture-iface */
    const vk_mac *guest_mac;   /* NULL: detect */
    const char *filter;        /* BPF; NULL: all */
    unsigned norm;             /* VK_NORM_* */
    uint64_t settle_ns;
    const vk_trace_config *trace; /* NULL: no tracing */
    /* Called after every guest frame (or TSO group) injected, NULL: never;
     * an observer (a progress meter) that must not change the run. */
    void (*progress)(void *arg, size_t injected, size_t guest_total, size_t answers);
    void *progress_arg;
    bool offload_set;          /* --guest-offload given: */
    vk_nic_offload offload;    /*   its value */
    bool check_wire;           /* compare what left the NIC (needs a NIC) */
    vk_replay_world world;     /* --world; recorded by default */
    bool fix_checksums;        /* --fix-checksums: recompute wrong checksums */
    /* What is kept past its comparison (replay.h "Memory"): */
    bool keep_log;             /* every frame that crossed (--update-expected) */
    bool keep_matches;         /* every match with its frames (a JSON report) */
    /* TCP events a recorded flow holds before it is streamed (recording.h,
     * VK_REC_HOLD_EVENTS when 0); tests lower it to stream every flow */
    size_t rec_hold;
    /* Guest stream pieces a recorded flow holds before its guest stream is
     * streamed (VK_REC_HOLD_PIECES when 0); tests lower it likewise */
    size_t rec_hold_pieces;
} vk_replay_config;

/* A guest frame the driver refused to send (VK_EINVAL from the driver). */
typedef struct vk_replay_drop {
    uint64_t no;   /* capture frame number */
    size_t len;
} vk_replay_drop;

/* One frame that crossed the attachment point, in time order. */
typedef struct vk_replay_event {
    uint64_t ts;        /* absolute ns (epoch + loop time) */
    bool from_guest;
    bool in_filter;     /* produced frames: matched --filter */
    uint64_t no;        /* guest: capture frame number; produced: 1-based index */
    uint8_t *data;
    size_t len;
} vk_replay_event;

typedef struct vk_replay {
    vk_capture *cap;
    vk_split split;
    vk_rewriter rw;
    uint64_t epoch;
    vk_replay_event *log;      /* with keep_log only */
    size_t nlog, caplog;
    size_t injected, produced;
    vk_replay_drop *drops;  /* guest frames the driver refused, dropped */
    size_t ndrops, capdrops;
    /* frames of the capture with offload-style partial checksums (before
     * --fix-checksums), the first one's number, frames --fix-checksums
     * changed */
    size_t csum_partial, csum_fixed;
    uint64_t csum_first;
    vk_cmp_result cmp;
    char attach[96];    /* "NIC 'n0'" or "port 'g'" */
    /* wire check: frames that left the NIC, the comparison with the guest
     * frames injected, and how the frames were handed to the driver */
    bool wire_checked;
    size_t nwire;              /* frames that left the NIC */
    vk_cmp_result wire;
    struct {
        size_t plain, csum, tso_jobs, tso_segs;
    } offload_stats;
    /* the recorded world: the recording (NULL with --world none) and how
     * many user netdevs were given a world made from it */
    vk_recording *rec;
    size_t worlds;
    /* every drop and filter note of the run, to explain divergences */
    vk_decisions decisions;
} vk_replay;

/* Reads the capture, builds the network, runs, compares.  Errors (bad
 * capture, topology, attachment, filter, input failure mid-run) return a
 * negative code with the message in d; *out is then NULL. */
int vk_replay_run(const vk_replay_config *cfg, vk_topology *topo, vk_replay **out, vk_diag *d);
void vk_replay_free(vk_replay *r);
/* Divergences of the run: the answers' and, when checked, the wire's. */
size_t vk_replay_divergences(const vk_replay *r);
/* Notes of the recorded world: flows the recording did not know. */
size_t vk_replay_world_notes(const vk_replay *r);
/* "recorded", "none", "live"; VK_EINVAL for another name. */
int vk_replay_world_parse(const char *name, vk_replay_world *out);
const char *vk_replay_world_name(vk_replay_world w);

/* Writes the log (guest frames as injected and produced frames, time order)
 * as a capture that replays with exit 0: classic pcap with nanosecond
 * timestamps, or pcapng when path ends in ".pcapng" (one interface "guest",
 * guest frames outbound, answers inbound). */
int vk_replay_write_capture(const vk_replay *r, const char *path, vk_diag *d);

#endif
