/*
 * The outside world as a capture recorded it, at the socket boundary: what
 * the recorded world (replay/world_recorded.h) plays back to the user
 * backend's NAT.  A capture taken at slirp's netdev shows the guest's side of
 * every NAT flow; from it we infer what slirp's host sockets saw:
 *
 *  - TCP, per flow the guest opened (key: guest-view destination address and
 *    port, and the ordinal of the flow among flows with that key): the
 *    connect outcome and its delay after the guest's first SYN (SYN-ACK: ok;
 *    RST: refused; ICMP unreachable: unreachable; nothing: silent, which
 *    libslirp ends after 75 s), then the peer's events in order: its bytes
 *    as chunks (the payload slirp sent to the guest, retransmissions removed,
 *    in sequence order; the segments up to one with PSH, which libslirp sets
 *    when its send buffer empties, make one chunk), EOF (slirp's FIN) or
 *    reset.  Each event records the
 *    guest stream prefix seen before it (in-order guest bytes slirp had
 *    received), whether the guest's FIN had come, and its delay after the
 *    later of "prefix reached" and the previous event.  The guest's own
 *    stream is kept too (as pieces: vk_rec_piece), so that what the stack
 *    sends can be checked.
 *    A flow whose first SYN came from the network side is inbound (hostfwd).
 *  - UDP, per guest socket (guest address and port; key: the first
 *    datagram's destination and the ordinal among sockets with that key): the
 *    guest's datagrams and the replies, each reply with the number of guest
 *    datagrams sent before it and its delay; an ICMP error quoting a guest
 *    datagram is a reply carrying an error code.
 *  - DNS (UDP to port 53): per query, keyed by id and question name, the
 *    answers and their delays after the query.
 *  - ICMP echo to the outside: per request (destination, id, seq) the
 *    replies and their delays.
 *
 * Bytes are not held: every payload below is a span (vk_rec_span), its
 * position in the recording's byte source -- the capture file, read back
 * with pread() when the world needs the bytes, or, for a recording built
 * from a capture held in memory, the address of the bytes there.  A TCP
 * chunk is the spans of the segments that make it.  Only ICMP echo replies
 * (whose checksum --fix-checksums may have changed) and the bytes of frames
 * whose file position the reader could not tell are copied, into the
 * recording's own arena.  So a recording holds a few words per segment and
 * datagram, not their bytes; and a TCP flow of more than VK_REC_HOLD_EVENTS
 * peer events (a long download) not even those: it is streamed, its events
 * built again during the replay a short way ahead of the world and
 * forgotten once read (docs/world.md, "Memory").  Likewise a flow whose
 * guest sent more than VK_REC_HOLD_PIECES pieces (a long upload): its guest
 * stream is streamed, its pieces built again ahead of the world's check of
 * what the stack sends and forgotten once checked.
 *
 * Ownership: a recording built from a held capture (vk_recording_build)
 * borrows its frame bytes, so the capture must outlive it; one built from a
 * file (vk_rec_builder with a path) keeps the file open.  It is
 * reference counted because each user netdev gets its own world made from
 * one recording; the notes (flows the guest sent that the recording did not
 * know) are appended by those worlds and read by the replay report.
 */
#ifndef VK_REPLAY_RECORDING_H
#define VK_REPLAY_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/user/world.h"
#include "core/addr.h"
#include "core/error.h"
#include "replay/capture.h"
#include "replay/split.h"
#include "wire/dns.h"

/* Caps: a hostile capture cannot make the builder keep more than this. */
#define VK_REC_FLOWS_MAX 65536u   /* TCP flows, UDP sockets, DNS queries, pings, each */
#define VK_REC_OOO_MAX 64u        /* out-of-order segments held per direction of a flow */
#define VK_REC_NOTES_MAX 256u     /* notes kept (more are counted) */
#define VK_REC_NOTE_LEN 200
/* Bytes read back from the capture file at a time (one buffer a recording):
 * a chunk's segments follow each other in the file. */
#define VK_REC_READ_AHEAD (256u * 1024)
/* A TCP flow with more peer events than this (a long download) is streamed:
 * a recording built from a file keeps only its counts, its steps and its
 * last event, and during the replay the events are built again from the
 * file a short way ahead of the world that consumes them (see "Streamed
 * flows" below).  Flows up to this size are held whole, as before. */
#ifndef VK_REC_HOLD_EVENTS /* a build may lower it to stream every flow (tests) */
#define VK_REC_HOLD_EVENTS 4096u
#endif
/* Events of streamed flows built ahead of the world and not yet consumed,
 * all flows together: a capture that needs more look-ahead than this (a
 * streamed flow the replay never reads while others go on, a peer far ahead
 * of what the guest takes) fails the replay with a message naming the cap. */
#define VK_REC_WINDOW_EVENTS 65536u
/* A TCP flow whose guest stream has more pieces than this (a long upload:
 * a piece a guest segment with new bytes) has its guest stream streamed: a
 * recording built from a file keeps only its count of pieces, guest_bytes
 * and guest_fin (the steps, which the peer's events wait on, are kept as
 * for any flow), and during the replay the pieces are built again from the
 * file a short way ahead of the world's check of what the stack sends (see
 * "Streamed flows" below).  Guest streams up to this size are held whole. */
#ifndef VK_REC_HOLD_PIECES /* a build may lower it to stream every guest stream (tests) */
#define VK_REC_HOLD_PIECES 4096u
#endif
/* Pieces of streamed guest streams built ahead of the world and not yet
 * checked, all flows together (40 bytes each): past it, as past
 * VK_REC_WINDOW_EVENTS, the replay fails with a message naming the cap
 * (a streamed guest stream the stack does not send while the capture goes
 * on). */
#define VK_REC_WINDOW_PIECES 65536u
/* libslirp gives up a connect that got no answer after 75 s (TCPTV_KEEP_INIT). */
#define VK_REC_CONNECT_TIMEOUT_NS (75ull * 1000000000ull)

typedef enum vk_rec_ev_kind {
    VK_REC_DATA,
    VK_REC_EOF,
    VK_REC_RST,
} vk_rec_ev_kind;

/* Bytes of the capture, by position (see the file comment). */
typedef struct vk_rec_span {
    uint64_t pos;         /* file offset, or (mem) the address of the bytes */
    uint32_t len;
    bool mem;             /* in memory: the held capture's or the arena's */
} vk_rec_span;

/* One thing the TCP peer did. */
typedef struct vk_rec_event {
    vk_rec_ev_kind kind;
    uint64_t ts;          /* capture time of the frame that showed it (absolute ns) */
    uint64_t frame_no;
    uint64_t prefix;      /* guest stream bytes seen before it */
    bool after_guest_fin; /* the guest's FIN had been seen before it */
    uint64_t delay;       /* ns after the later of: prefix reached, FIN seen (when
                           * after_guest_fin), the previous event (or the connect) */
    size_t span, nspan;   /* DATA: its segments, the flow's spans number span..span+nspan
                           * (numbered from the flow's first; see span_base) */
    size_t len;           /* DATA: bytes in all */
} vk_rec_event;

/* A piece of the guest's stream, in order, without overlaps: the bytes of
 * one guest segment that were new (off: their stream offset). */
typedef struct vk_rec_piece {
    uint64_t off;
    size_t len;
    vk_rec_span at;
} vk_rec_piece;

/* Where the condition of the peer's events changes: events first.. (up to
 * the next step's first) wait for the guest stream to reach prefix (and for
 * its FIN, when after_guest_fin).  One row per step of the guest's stream
 * that came before a peer event, not per event: a download has one. */
typedef struct vk_rec_step {
    uint64_t prefix;
    bool after_guest_fin;
    size_t first;
} vk_rec_step;

typedef struct vk_rec_tcp {
    bool inbound;         /* hostfwd: the first SYN came from the network side */
    vk_waddr guest;       /* the guest's end (address, port) */
    vk_waddr peer;        /* the other end as the guest sees it */
    unsigned ordinal;     /* among flows of the same direction and peer */
    uint64_t syn_ts, syn_no; /* the first SYN */
    int status;           /* VK_OK, VK_ECONNREFUSED, VK_ENETUNREACH, VK_EHOSTUNREACH,
                           * VK_ETIMEDOUT (nothing came) */
    uint64_t connect_delay; /* first SYN -> outcome */
    vk_rec_event *ev;     /* the events held: ev[0] is event number ev_base */
    size_t nev, capev;    /* nev: events in all (numbers 0..nev); nev - ev_base held */
    size_t ev_base;       /* 0, except for a streamed flow */
    vk_rec_span *spans;   /* the peer's segments held, in stream order: spans[0] is
                           * span number span_base */
    size_t nspans, capspans; /* nspans: held */
    size_t span_base;
    bool streamed;        /* more than the hold limit: only the last event is held */
    vk_rec_step *steps;
    size_t nsteps, capsteps;
    vk_rec_piece *guest_stream; /* the guest's stream pieces held: guest_stream[0] is
                           * piece number piece_base (owned; NULL when none held) */
    size_t npieces, cappieces; /* npieces: pieces in all (numbers 0..npieces);
                           * npieces - piece_base held */
    size_t piece_base;    /* 0, except for a streamed guest stream */
    bool guest_streamed;  /* more pieces than the hold limit: none held (the world
                           * reads them with vk_recording_piece) */
    uint64_t guest_bytes; /* in-order guest bytes */
    bool guest_fin;
    struct vk_rec_tcp_build *b; /* builder state; NULL once built */
} vk_rec_tcp;

typedef struct vk_rec_dgram {
    bool from_guest;
    uint64_t ts, frame_no;
    vk_waddr addr;        /* guest datagram: its destination; reply: its source
                           * (guest view) */
    vk_rec_span at;       /* payload (ICMP echo: the whole ICMP message, a copy) */
    size_t len;
    int error;            /* replies: 0, or VK_EPORTUNREACH/VK_EHOSTUNREACH/
                           * VK_ENETUNREACH for an ICMP error */
    uint64_t prefix;      /* replies: guest datagrams of the socket before it */
    uint64_t delay;       /* replies: after the later of prefix reached and the
                           * previous reply */
} vk_rec_dgram;

typedef struct vk_rec_dlist {
    vk_rec_dgram *d;
    size_t n, cap;
} vk_rec_dlist;

/* One guest UDP socket (address, port).  Inbound (hostfwd=udp): the first
 * datagram came from the network side; first_dst is then its source, and
 * the replies before any guest datagram are timed from the capture's
 * start. */
typedef struct vk_rec_udp {
    bool inbound;
    vk_waddr guest;
    vk_waddr first_dst;   /* key, with the ordinal */
    unsigned ordinal;
    vk_rec_dlist dg;      /* guest datagrams and replies, capture order */
    uint64_t sent;        /* builder: guest datagrams so far */
    uint64_t sent_ts;     /* builder: time of the last one */
    uint64_t last_reply_ts;
} vk_rec_udp;

/* One DNS query (UDP to port 53) and its answers. */
typedef struct vk_rec_dns {
    uint16_t id;
    char name[VK_DNS_NAME_MAX + 1];
    unsigned ordinal;     /* among queries with the same id and name */
    vk_waddr guest, server;
    uint64_t ts, frame_no;
    vk_rec_dlist replies; /* delay: after the query, then after the previous answer */
} vk_rec_dns;

/* One ICMP echo request to the outside and its replies. */
typedef struct vk_rec_ping {
    vk_waddr guest, dst;  /* ports unused */
    uint16_t id, seq;
    unsigned ordinal;     /* among requests with the same dst, id and seq */
    uint64_t ts, frame_no;
    vk_rec_dlist replies; /* data: the ICMP(v6) echo reply message */
} vk_rec_ping;

typedef struct vk_rec_stats {
    uint64_t frames_used, frames_skipped; /* skipped: not IP, fragments, malformed */
    uint64_t tcp_retransmits;  /* segments whose bytes were all seen already */
    uint64_t ooo_dropped;      /* VK_REC_OOO_MAX reached */
    uint64_t flows_full;       /* VK_REC_FLOWS_MAX reached */
    uint64_t orphans;          /* network frames matching no flow */
} vk_rec_stats;

typedef struct vk_recording {
    unsigned refs;
    uint64_t epoch;       /* the capture's first timestamp */
    vk_rec_tcp *tcp;
    size_t ntcp, captcp;
    vk_rec_udp *udp;
    size_t nudp, capudp;
    vk_rec_dns *dns;
    size_t ndns, capdns;
    vk_rec_ping *ping;
    size_t nping, capping;
    vk_rec_stats st;
    char (*notes)[VK_REC_NOTE_LEN];
    size_t nnotes;
    uint64_t notes_total; /* including those past VK_REC_NOTES_MAX */
    /* the byte source: the capture file (fd >= 0), and the arena of copies */
    int fd;
    char *path;
    uint8_t **arena;
    size_t narena, caparena, arena_used;
    uint64_t bytes_read;  /* read back from the file */
    uint8_t *cache;       /* the file's bytes at cache_pos (read ahead) */
    uint64_t cache_pos;
    size_t cache_len;
    struct vk_rec_stream *stream; /* streamed flows' events and guest stream pieces,
                           * built again (recording.c; owned) */
    int io_error;         /* the first failure to read bytes back, VK_OK: none */
    char io_msg[256];
} vk_recording;

/* Building a recording frame by frame, from a capture read as a stream.
 * path: the file whose positions the frames carry (vk_cap_frame.pos), kept
 * open by the recording to read bytes back; NULL when the frames live in
 * memory for as long as the recording (a held capture).  add() takes the
 * frames in file order, guest (true: the guest sent it) or the network's;
 * f->data is read during the call only.  Malformed frames are skipped and
 * counted.  VK_ENOMEM (sticky), VK_EIO (path cannot be opened). */
typedef struct vk_rec_builder vk_rec_builder;
int vk_rec_builder_new(uint64_t epoch, const char *path, vk_rec_builder **out, vk_diag *d);
int vk_rec_builder_add(vk_rec_builder *b, const vk_cap_frame *f, bool guest);
/* The recording built (frees b, also on error). */
int vk_rec_builder_finish(vk_rec_builder *b, vk_recording **out, vk_diag *d);
void vk_rec_builder_free(vk_rec_builder *b);

/* Events held per flow: from then on a flow with more than max events is
 * streamed (0: every flow held whole).  The default is VK_REC_HOLD_EVENTS
 * for a builder with a path, 0 for frames held in memory.  Before the first
 * add(). */
void vk_rec_builder_set_hold(vk_rec_builder *b, size_t max);
/* The same for the guest's stream: a flow whose guest stream has more than
 * max pieces has it streamed (0: every guest stream held whole).  The
 * default is VK_REC_HOLD_PIECES for a builder with a path, 0 for frames held
 * in memory.  Before the first add(). */
void vk_rec_builder_set_hold_pieces(vk_rec_builder *b, size_t max);

/* Streamed flows.  Their events, and the pieces of streamed guest streams,
 * are built again, during the replay, by a second builder fed by next():
 * the frames add() got, in the same order, with the same guest flag (1 and
 * *f, *guest set; 0 at the end; negative with a message in d when the file
 * changed).  f->data is read during the call that pumped it only.  The
 * recording pumps the source only when the world asks for an event or a
 * piece not built yet, keeps the events built and not yet consumed (at most
 * VK_REC_WINDOW_EVENTS) and the pieces built and not yet checked (at most
 * VK_REC_WINDOW_PIECES), and forgets them once consumed or checked; the
 * second builder owns them.  A failure (the source's, a cap, out of memory)
 * is kept in io_error and io_msg and fails the replay.  next == NULL
 * detaches the source (ctx must outlive the attachment).  A streamed flow
 * plays to one world: what was forgotten cannot be asked for again.
 * VK_ENOMEM. */
typedef int (*vk_rec_next_fn)(void *ctx, vk_cap_frame *f, bool *guest, vk_diag *d);
int vk_recording_set_source(vk_recording *r, vk_rec_next_fn next, void *ctx);
/* Whether some flow is streamed, its events or its guest stream (then a
 * source is needed to replay it). */
bool vk_recording_streams(const vk_recording *r);
/* Event k of TCP flow `flow`, complete, and in *holder the flow whose spans
 * it numbers (pass both to vk_recording_read_event).  Valid until the next
 * call of this or vk_recording_consumed.  NULL when k >= nev, or on a
 * failure (io_error).  Events of a streamed flow are taken in order: one
 * below what was consumed is a failure. */
const vk_rec_event *vk_recording_event(vk_recording *r, size_t flow, size_t k,
                                       const vk_rec_tcp **holder);
/* The world is done with the events below k of flow `flow` (k >= nev: with
 * the flow): a streamed flow's are forgotten. */
void vk_recording_consumed(vk_recording *r, size_t flow, size_t k);
/* Events of streamed flows built ahead and held now (the window), and the
 * most it held at once. */
size_t vk_recording_window(const vk_recording *r, size_t *peak);
/* Piece k of TCP flow `flow`'s guest stream (the recording, or its second
 * builder, owns it).  Valid until the next call of this or
 * vk_recording_pieces_checked.  NULL when k >= npieces, or on a failure
 * (io_error).  Pieces of a streamed guest stream are taken in order: one
 * below what was checked is a failure. */
const vk_rec_piece *vk_recording_piece(vk_recording *r, size_t flow, size_t k);
/* The world has checked what the stack sent against the pieces below k of
 * flow `flow` (k >= npieces: it checks no more of the flow's guest stream):
 * a streamed guest stream's are forgotten. */
void vk_recording_pieces_checked(vk_recording *r, size_t flow, size_t k);
/* Pieces of streamed guest streams built ahead and held now, and the most
 * held at once. */
size_t vk_recording_window_pieces(const vk_recording *r, size_t *peak);
/* How many of t's events have their condition met by a guest that sent
 * gsent bytes (and its FIN, when gfin): the conditions only grow, so they
 * are events 0..n. */
size_t vk_rec_tcp_ready(const vk_rec_tcp *t, uint64_t gsent, bool gfin);

/* Reads n bytes of span s from offset off in it into buf.  VK_OK, or VK_EIO
 * when the file cannot give them (the file changed since it was read):
 * recorded in r->io_error/io_msg (the first one), naming the position. */
int vk_recording_read(vk_recording *r, const vk_rec_span *s, size_t off, void *buf, size_t n);
/* Reads up to cap bytes of DATA event e of flow t from offset off in it;
 * returns how many (0 at its end) or VK_EIO. */
long vk_recording_read_event(vk_recording *r, const vk_rec_tcp *t, const vk_rec_event *e,
                             size_t off, void *buf, size_t cap);

/* Builds the recording from the capture, side[i] telling which frames the
 * guest sent (VK_SIDE_GUEST) and which the network answered
 * (VK_SIDE_EXPECTED); other frames are not looked at.  Malformed frames are
 * skipped and counted, never an error.  VK_ENOMEM. */
int vk_recording_build(const vk_capture *c, const vk_side *side, vk_recording **out,
                       vk_diag *d);
/* The same, the guest being the frames from guest_mac and the network the
 * frames to it (or broadcast). */
int vk_recording_build_mac(const vk_capture *c, const vk_mac *guest_mac,
                           vk_recording **out, vk_diag *d);
vk_recording *vk_recording_ref(vk_recording *r);
void vk_recording_unref(vk_recording *r);

/* Appends a note (a flow the recording does not know, a guest stream that
 * differs from the recorded one); kept up to VK_REC_NOTES_MAX. */
void vk_recording_note(vk_recording *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "tcp 10.0.2.2:18080 #0" and the like, for notes and reports. */
void vk_waddr_format(const vk_waddr *a, char *buf, size_t cap);
bool vk_waddr_eq(const vk_waddr *a, const vk_waddr *b);

#endif
