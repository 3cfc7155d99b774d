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
 *    stream is kept too, so that what the stack sends can be checked.
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
 * Ownership: a recording borrows the capture's frame bytes (every `data`
 * below points into a vk_cap_frame, except a joined TCP chunk's, which
 * points into the event's own buffer, owned and freed by the recording), so
 * the capture must outlive it.  It is
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
/* libslirp gives up a connect that got no answer after 75 s (TCPTV_KEEP_INIT). */
#define VK_REC_CONNECT_TIMEOUT_NS (75ull * 1000000000ull)

typedef enum vk_rec_ev_kind {
    VK_REC_DATA,
    VK_REC_EOF,
    VK_REC_RST,
} vk_rec_ev_kind;

/* One thing the TCP peer did. */
typedef struct vk_rec_event {
    vk_rec_ev_kind kind;
    uint64_t ts;          /* capture time of the frame that showed it (absolute ns) */
    uint64_t frame_no;
    uint64_t prefix;      /* guest stream bytes seen before it */
    bool after_guest_fin; /* the guest's FIN had been seen before it */
    uint64_t delay;       /* ns after the later of: prefix reached, FIN seen (when
                           * after_guest_fin), the previous event (or the connect) */
    const uint8_t *data;  /* DATA: borrowed from the capture, or own */
    size_t len;
    uint8_t *own;         /* a chunk joined from several segments: its bytes, owned
                           * by the recording (freed with it); NULL otherwise */
} vk_rec_event;

/* A piece of the guest's stream, in order, without overlaps. */
typedef struct vk_rec_piece {
    uint64_t off;
    const uint8_t *data;
    size_t len;
} vk_rec_piece;

typedef struct vk_rec_tcp {
    bool inbound;         /* hostfwd: the first SYN came from the network side */
    vk_waddr guest;       /* the guest's end (address, port) */
    vk_waddr peer;        /* the other end as the guest sees it */
    unsigned ordinal;     /* among flows of the same direction and peer */
    uint64_t syn_ts, syn_no; /* the first SYN */
    int status;           /* VK_OK, VK_ECONNREFUSED, VK_ENETUNREACH, VK_EHOSTUNREACH,
                           * VK_ETIMEDOUT (nothing came) */
    uint64_t connect_delay; /* first SYN -> outcome */
    vk_rec_event *ev;
    size_t nev, capev;
    vk_rec_piece *guest_stream;
    size_t npieces, cappieces;
    uint64_t guest_bytes; /* in-order guest bytes */
    bool guest_fin;
    struct vk_rec_tcp_build *b; /* builder state; NULL once built */
} vk_rec_tcp;

typedef struct vk_rec_dgram {
    bool from_guest;
    uint64_t ts, frame_no;
    vk_waddr addr;        /* guest datagram: its destination; reply: its source
                           * (guest view) */
    const uint8_t *data;  /* payload (ICMP echo: the whole ICMP message) */
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
} vk_recording;

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
