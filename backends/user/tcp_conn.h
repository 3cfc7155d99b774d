/*
 * TCP NAT of the user-mode stack, inside: the connection table and the
 * connection record shared by tcp.c (input dispatch, resets, hostfwd and
 * guestfwd) and tcp_conn.c (the state machine toward the guest).
 *
 * A connection terminates the guest's TCP and relays the bytes through one
 * world socket (world.h), as libslirp does.  Its two byte buffers are the
 * only places data waits in the stack, each bounded by
 * VK_USER_TCP_BUF_BYTES (libslirp's 128 KiB socket buffers) and all of them
 * together by VK_USER_TCP_MEMORY_MAX:
 *   - `snd`: bytes read from the world, kept until the guest ACKs them (for
 *     retransmission); the first byte is at sequence snd_una once the SYN
 *     is acknowledged.  Ownership: the connection, freed when it empties.
 *   - `rcv`: guest bytes the world's send() did not take yet; the window
 *     advertised to the guest is what is left of VK_USER_TCP_BUF_BYTES.
 */
#ifndef VK_BACKENDS_USER_TCP_CONN_H
#define VK_BACKENDS_USER_TCP_CONN_H

#include "backends/user/user_internal.h"
#include "wire/tcp.h"

#define VK_USER_TCP_CONNS_MAX 16384          /* connections at once */
#define VK_USER_TCP_HASH_SIZE 4096           /* buckets of the connection table */
#define VK_USER_TCP_BUF_BYTES (128u * 1024u) /* libslirp TCP_SNDSPACE, TCP_RCVSPACE */
#define VK_USER_TCP_MEMORY_MAX (256u * 1024u * 1024u) /* every buffer together */
#define VK_USER_TCP_OOO_MAX 32               /* out-of-order guest segments per connection */
#define VK_USER_TCP_MAXWIN 65535u            /* no window scaling (libslirp) */
/* Live clock only: window scaling (RFC 7323) when the guest offers it, and
 * buffers of this size instead of 128 KiB (tcp_conn.c explains why). */
#define VK_USER_TCP_LIVE_WSCALE 5            /* our shift: windows up to 2 MiB */
#define VK_USER_TCP_LIVE_BUF_BYTES (1024u * 1024u)
#define VK_USER_TCP_TRIM_NS (1ull * VK_NS_PER_SEC) /* live: an empty buffer is kept this long */
#define VK_USER_TCP_ISS_INCR 64000u          /* libslirp TCP_ISSINCR / 2 */
#define VK_USER_TCP_TICK_NS (500ull * 1000000ull) /* libslirp slow timeout (PR_SLOWHZ 2) */
#define VK_USER_TCP_DELACK_NS (2ull * 1000000ull) /* libslirp TIMEOUT_FAST */
#define VK_USER_TCP_KEEP_INIT_NS (75ull * VK_NS_PER_SEC) /* TCPTV_KEEP_INIT */
#define VK_USER_TCP_2MSL_NS (10ull * VK_NS_PER_SEC)      /* 2 * TCPTV_MSL */
/* Retransmission, in slow ticks as libslirp counts them. */
#define VK_USER_TCP_RTO_MIN 2                /* TCPTV_MIN: 1 s */
#define VK_USER_TCP_RTO_MAX 24               /* TCPTV_REXMTMAX: 12 s */
#define VK_USER_TCP_RTT_DFLT 6               /* TCPTV_SRTTDFLT: 3 s */
#define VK_USER_TCP_MAXRXTSHIFT 12           /* TCP_MAXRXTSHIFT */
#define VK_USER_TCP_PERS_MIN 10              /* TCPTV_PERSMIN: 5 s */
#define VK_USER_TCP_PERS_MAX 120             /* TCPTV_PERSMAX: 60 s */
#define VK_USER_TCP_TTL 64                   /* libslirp IPDEFTTL */
#define VK_USER_TCP_RST_TTL 255              /* libslirp MAXTTL */
#define VK_USER_TCP_HOP_LIMIT 255            /* libslirp IP6_HOP_LIMIT */

typedef enum vk_user_tcp_state {
    VK_TCPS_CONNECTING,  /* guest SYN seen, world connect under way: silent */
    VK_TCPS_SYN_SENT,    /* hostfwd: our SYN is out to the guest */
    VK_TCPS_SYN_RCVD,    /* our SYN-ACK is out */
    VK_TCPS_ESTABLISHED,
    VK_TCPS_CLOSE_WAIT,  /* guest FIN received */
    VK_TCPS_FIN_WAIT_1,  /* our FIN is out */
    VK_TCPS_FIN_WAIT_2,
    VK_TCPS_CLOSING,
    VK_TCPS_LAST_ACK,
    VK_TCPS_TIME_WAIT
} vk_user_tcp_state;

typedef struct vk_user_tcp_buf {
    uint8_t *data; /* ring of `cap` bytes, NULL while empty */
    size_t cap, head, len;
} vk_user_tcp_buf;

typedef struct vk_user_tcp_ooo {
    struct vk_user_tcp_ooo *next; /* sorted by seq, no overlaps */
    uint32_t seq;
    size_t len;
    bool fin;
    uint8_t data[];
} vk_user_tcp_ooo;

typedef struct vk_user_tcp_conn vk_user_tcp_conn;

struct vk_user_tcp_conn {
    vk_user *u;
    vk_user_tcp_conn *hnext;   /* hash chain */
    vk_user_tcp_conn *next, *prev; /* list of all connections */
    int family;
    vk_ip4 gaddr4, faddr4; /* guest side, far side (as the guest sees it) */
    vk_ip6 gaddr6, faddr6;
    uint16_t gport, fport;
    uint8_t tos;
    vk_user_tcp_state state;
    vk_wsock *ws;          /* NULL once closed */
    bool ws_eof;           /* the world sent EOF: FIN after snd drains */
    bool ws_want_read;     /* readable came, more may wait in the world */
    bool ws_shut;          /* shutdown_write done */
    bool incoming;         /* hostfwd: the world side opened it */
    uint8_t syn_ip[128];   /* the guest's SYN (IP header on), for ICMP errors */
    size_t syn_ip_len;

    /* Toward the guest. */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
    uint32_t max_sndwnd, cwnd, ssthresh;
    uint16_t mss;          /* what we send: ours capped by the guest's */
    uint8_t snd_scale;     /* the guest's window shift (0 without scaling) */
    uint8_t rcv_scale;     /* ours */
    size_t buf_max;        /* cap of snd and rcv: VK_USER_TCP_BUF_BYTES, or
                            * VK_USER_TCP_LIVE_BUF_BYTES with scaling */
    bool syn_acked;
    bool fin_sent;
    uint32_t fin_seq;
    vk_user_tcp_buf snd;

    /* From the guest. */
    uint32_t irs, rcv_nxt, rcv_adv;
    vk_user_tcp_buf rcv;
    vk_user_tcp_ooo *ooo;
    size_t ooo_n;
    bool fin_rcvd;
    bool ack_now;

    /* Timers. */
    vk_timer *rexmt;       /* retransmission or persist */
    bool persisting;
    vk_timer *delack;
    vk_timer *life;        /* 75 s connect/handshake limit, then TIME_WAIT */
    /* Live clock only (NULL on the virtual clock): the end of the loop
     * round.  Guest bytes wait in `rcv` and ACKs and world reads wait for
     * it, so a burst of segments read from a TAP costs one send(), one
     * recv() and one ACK instead of one of each per segment (tcp_conn.c). */
    vk_timer *batch;
    bool batch_ack;        /* an immediate ACK is owed at the end of the round */
    vk_timer *trim;        /* live: frees buffers left empty for VK_USER_TCP_TRIM_NS */
    int rxtshift;
    int rxtcur;            /* ticks */
    int srtt, rttvar;      /* ticks << 3, ticks << 2 (BSD fixed point) */
    bool rtt_timing;
    uint32_t rtt_seq;
    uint64_t rtt_start;
};

typedef struct vk_user_tcp_listener {
    vk_user *u;
    size_t rule;   /* index in cfg.hostfwd */
    vk_wsock *ws;  /* NULL: not listening */
} vk_user_tcp_listener;

typedef struct vk_user_tcp {
    vk_user_tcp_conn *hash[VK_USER_TCP_HASH_SIZE];
    vk_user_tcp_conn *all;
    size_t n;
    size_t mem;            /* bytes allocated by every buffer */
    uint32_t iss;          /* libslirp tcp_iss: 1, +64000 per connection and per tick */
    vk_timer *tick;        /* the slow tick, while anything TCP exists */
    bool ticked;
    uint64_t last_tick;
    vk_user_tcp_listener lis[VK_USER_HOSTFWD_MAX];
    size_t nlisten;
    bool started;
} vk_user_tcp;

/* tcp_conn.c */
vk_user_tcp_conn *vk_user_tcp_conn_new(vk_user *u, int family, uint64_t now);
void vk_user_tcp_conn_free(vk_user_tcp_conn *c, uint64_t now);
/* The world socket events of a connection (ctx = the connection). */
extern const vk_wsock_events vk_user_tcp_conn_events;
/* A guest SYN for a new connection (c filled with addresses): starts the
 * world side (world connect, or guestfwd stream with `target`). */
int vk_user_tcp_conn_syn(vk_user_tcp_conn *c, const vk_user_rx *rx, const vk_tcp_repr *seg,
                         const char *guestfwd_target, uint64_t now);
/* hostfwd: the world accepted `ws`; sends our SYN to the guest. */
void vk_user_tcp_conn_open_incoming(vk_user_tcp_conn *c, vk_wsock *ws, uint64_t now);
/* A segment from the guest for an existing connection. */
int vk_user_tcp_conn_input(vk_user_tcp_conn *c, const vk_user_rx *rx, const vk_tcp_repr *seg);
/* Sends one segment outside any connection state: a reset. */
int vk_user_tcp_send_raw(vk_user *u, int family, const void *src, const void *dst,
                         const vk_tcp_repr *t, uint8_t tos, uint8_t ttl, uint64_t now);
/* The next ISN (libslirp tcp_iss), advancing it for the next connection. */
uint32_t vk_user_tcp_next_iss(vk_user *u, uint64_t now);
/* Table: insert c (addresses and ports set); find the connection with
 * the addresses and ports of `probe`. */
void vk_user_tcp_hash_insert(vk_user_tcp_conn *c);
vk_user_tcp_conn *vk_user_tcp_lookup(vk_user *u, const vk_user_tcp_conn *probe);
/* Keeps the slow tick running (a connection or listener exists). */
void vk_user_tcp_tick_kick(vk_user *u, uint64_t now);

#endif
