/*
 * Inside the user-mode stack: its configuration, its state, its named caps,
 * and the entry point of each protocol file (one file per protocol, as lwIP).
 * Input flows user.c -> arp.c | ipv4.c (ipfrag.c) -> icmp.c | udp.c (dhcp.c,
 * tftp.c) | tcp.c (tcp_conn.c), and user.c -> ip6.c (-> tcp.c).  Every reply leaves through
 * vk_user_ip4_output() or vk_user_ip6_output(), which add the Ethernet header
 * (resolving the guest's MAC) and send the frame on the backend's port.
 * `now` is always passed in; the stack never reads a clock.
 */
#ifndef VK_BACKENDS_USER_USER_INTERNAL_H
#define VK_BACKENDS_USER_USER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/user/user.h"
#include "backends/user/world.h"
#include "core/addr.h"
#include "core/loop.h"
#include "core/options.h"
#include "core/port.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/udp.h"

/* Caps on what a guest can make the stack hold (libslirp's values where it
 * has one; its CVE history is why each has a counter). */
#define VK_USER_MTU 1500                   /* default of mtu= (libslirp IF_MTU_DEFAULT) */
#define VK_USER_MTU_MIN 1280               /* mtu= range: IPv6's minimum ... */
#define VK_USER_MTU_MAX 65520              /* ... to slirp4netns's and pasta's largest */
#define VK_USER_ARP_TABLE_SIZE 16          /* libslirp ARP_TABLE_SIZE */
#define VK_USER_HOLD_MAX 32                /* frames waiting for an ARP reply or an NA */
#define VK_USER_HOLD_NS (1 * VK_NS_PER_SEC)  /* libslirp: dropped after 1 s */
#define VK_USER_NDP_TABLE_SIZE 16          /* libslirp NDP_TABLE_SIZE */
#define VK_USER_DHCP_POOL_SIZE 16          /* libslirp NB_BOOTP_CLIENTS */
#define VK_USER_DHCP_LEASE_SECS 86400u     /* libslirp LEASE_TIME */
#define VK_USER_TFTP_SESSIONS_MAX 20       /* libslirp TFTP_SESSIONS_MAX */
#define VK_USER_TFTP_BLKSIZE_MAX 1428      /* libslirp TFTP_BLOCKSIZE_MAX */
#define VK_USER_TFTP_FILENAME_MAX 512      /* libslirp TFTP_FILENAME_MAX */
#define VK_USER_TFTP_IDLE_NS (5 * VK_NS_PER_SEC) /* libslirp: 5 s inactive */
#define VK_USER_TFTP_RETRANS_NS (1 * VK_NS_PER_SEC)
#define VK_USER_TFTP_RETRIES 4
#define VK_USER_FRAG_MAX_DATAGRAMS 16      /* datagrams being reassembled */
#define VK_USER_FRAG_MAX_PIECES 64         /* fragments of one datagram */
#define VK_USER_FRAG_MAX_BYTES (256u * 1024u) /* all pending fragment bytes */
#define VK_USER_FRAG_TIMEOUT_NS (30 * VK_NS_PER_SEC) /* libslirp IPFRAGTTL */
#define VK_USER_RA_MIN_NS (200ull * VK_NS_PER_SEC) /* NDP_MaxRtrAdvInterval / 3 */
#define VK_USER_RA_MAX_NS (600ull * VK_NS_PER_SEC) /* NDP_MaxRtrAdvInterval */
#define VK_USER_UDP_SOCKETS_MAX 512        /* UDP NAT sockets (libslirp: fds only) */
#define VK_USER_UDP_EXPIRE_NS (240ull * VK_NS_PER_SEC)  /* libslirp SO_EXPIRE */
#define VK_USER_UDP_EXPIRE_DNS_NS (10ull * VK_NS_PER_SEC) /* SO_EXPIREFAST, port 53 */
#define VK_USER_PING_MAX 64                /* echo requests waiting for a reply */
#define VK_USER_ICMP_QUOTE_MAX 548         /* libslirp ICMP_MAXDATALEN (576 - 28) */

/* hostfwd=[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport */
typedef struct vk_user_hostfwd {
    bool udp;
    vk_waddr host;  /* family 4 or 6; a zero address is "any" */
    vk_waddr guest; /* family 4 (an empty guestaddr is dhcpstart) or 6 */
} vk_user_hostfwd;

#define VK_USER_HOSTFWD_MAX 64

/* guestfwd=[tcp]:server:port-target; target is "cmd:COMMAND",
 * "tcp:HOST:PORT" or "unix:PATH" (handed to the world's stream_open()). */
typedef struct vk_user_guestfwd {
    vk_ip4 server;
    uint16_t port;
    char *target;
} vk_user_guestfwd;

#define VK_USER_GUESTFWD_MAX 64

typedef struct vk_user_config {
    bool ipv4, ipv6, restricted;
    vk_ip4 net, mask, host, dns, dhcp_start;
    int prefix;
    vk_ip6 net6, host6, dns6;
    int prefix6;
    char *hostname, *domainname, *bootfile, *tftp_server_name;
    char *tftp_root;    /* realpath of tftp=, or NULL: TFTP refuses access */
    char **dnssearch;
    size_t dnssearch_n;
    vk_user_hostfwd hostfwd[VK_USER_HOSTFWD_MAX];
    size_t hostfwd_n;
    vk_user_guestfwd guestfwd[VK_USER_GUESTFWD_MAX];
    size_t guestfwd_n;
    char *smb_dir;      /* smb=: a private smbd configuration directory (removed at exit) */
    bool has_dns_upstream; /* dns-upstream= (vnetkit's own key) */
    vk_waddr dns_upstream;
    uint32_t mtu;       /* mtu= (vnetkit's own key): largest IP packet to the guest */
} vk_user_config;

typedef struct vk_user_arp_entry {
    bool used;
    vk_ip4 ip;
    vk_mac mac;
} vk_user_arp_entry;

/* A frame waiting for its next hop's MAC: an ARP reply (family 4) or a
 * neighbor advertisement (family 6), as libslirp's if_encap4/if_encap6 keep
 * a packet 1 s while they ask. */
typedef struct vk_user_held {
    vk_frame *f; /* whole Ethernet frame; destination MAC filled on reply */
    int family;
    vk_ip4 dst;
    vk_ip6 dst6;
    uint64_t expires;
} vk_user_held;

typedef struct vk_user_ndp_entry {
    bool used;
    vk_ip6 ip;
    vk_mac mac;
} vk_user_ndp_entry;

typedef struct vk_user_dhcp_client {
    bool allocated;
    vk_mac mac;
} vk_user_dhcp_client;

typedef struct vk_user vk_user;
typedef struct vk_user_tcp vk_user_tcp; /* tcp_conn.h */

/* One NAT socket for UDP (one guest address and port, as libslirp's udb
 * list) or for one ICMP echo request.  `last` is the guest's last datagram
 * (IP header on), quoted by the ICMP error an outcome may cause. */
typedef struct vk_user_nat_sock {
    vk_user *u;
    int family;
    uint8_t proto;          /* VK_IP_PROTO_UDP, _ICMP, _ICMPV6 */
    vk_ip4 gaddr4, faddr4;  /* guest's address; its last destination */
    vk_ip6 gaddr6, faddr6;
    uint16_t gport, fport;
    uint8_t tos;
    bool hostfwd;           /* hostfwd=udp: bound at start, never expires */
    vk_waddr peer;          /* hostfwd: the last host peer */
    vk_wsock *ws;
    uint64_t expires;
    uint8_t last[VK_USER_ICMP_QUOTE_MAX];
    size_t last_len;
    uint8_t *echo;          /* ICMP echo: the whole request, for the reflection */
    size_t echo_len;
} vk_user_nat_sock;

typedef struct vk_user_tftp_session {
    bool used;
    vk_user *u;
    vk_ip4 client;
    uint16_t client_port;
    int fd;
    uint64_t size;
    uint32_t block_size;
    uint32_t block_nr;      /* blocks sent and acknowledged */
    bool oack_pending;      /* OACK sent, waiting for ACK 0 */
    bool last_sent;         /* the short (final) block is out */
    unsigned retries;
    uint64_t timeout_ns;
    uint64_t last_active;
    uint8_t last[4 + VK_USER_TFTP_BLKSIZE_MAX + 64]; /* last packet, for resending */
    size_t last_len;
    vk_timer *timer;
} vk_user_tftp_session;

typedef struct vk_user_frag_piece {
    uint16_t off, len;
} vk_user_frag_piece;

typedef struct vk_user_frag_queue {
    bool used;
    vk_user *u;
    vk_ip4 src, dst;
    uint16_t id;
    uint8_t proto;
    uint8_t hdr[60];        /* header of the first fragment (offset 0) */
    size_t hdr_len;
    bool have_first, have_last;
    size_t total;           /* payload length, known once the last fragment came */
    uint8_t *data;          /* 65535 bytes once allocated */
    size_t bytes;           /* payload bytes held */
    size_t npieces;
    vk_user_frag_piece pieces[VK_USER_FRAG_MAX_PIECES];
    vk_frame *first;        /* the first fragment seen, to report a timeout */
    vk_timer *timer;
} vk_user_frag_queue;

struct vk_user {
    vk_port *port;
    vk_loop *loop;
    vk_user_config cfg;
    vk_user_stats st;
    uint16_t ip_id;         /* next IPv4 id: one counter, from 0 (libslirp) */
    vk_user_arp_entry arp[VK_USER_ARP_TABLE_SIZE];
    size_t arp_next;        /* round-robin eviction */
    vk_user_held held[VK_USER_HOLD_MAX];
    vk_timer *hold_timer;
    vk_user_ndp_entry ndp[VK_USER_NDP_TABLE_SIZE];
    size_t ndp_next;
    vk_user_dhcp_client dhcp[VK_USER_DHCP_POOL_SIZE];
    vk_user_tftp_session tftp[VK_USER_TFTP_SESSIONS_MAX];
    vk_user_frag_queue frag[VK_USER_FRAG_MAX_DATAGRAMS];
    size_t frag_bytes;      /* payload bytes held by all queues */
    vk_timer *ra_timer;
    uint32_t rng;           /* RA intervals: fixed seed, runs are reproducible */
    bool rx_since_ra;
    vk_world *world;
    vk_user_tcp *tcp;       /* connections, listeners, ISN counter */
    bool started;           /* start() ran: hostfwd sockets are bound */
    vk_user_nat_sock *udp[VK_USER_UDP_SOCKETS_MAX]; /* NULL: free slot */
    vk_user_nat_sock *ping[VK_USER_PING_MAX];
    vk_timer *nat_timer;    /* expiry of UDP and echo sockets */
    /* Both buffers are the stack's own (allocated with it, freed in
     * cleanup), apart so that vk_user stays a small allocation.
     * scratch: upper-layer payload being built, VK_USER_SCRATCH bytes (a TCP
     * segment of mtu - 40 bytes is staged past the largest TCP header, hence
     * the room over 64 KiB); rxbuf: a datagram read from the world,
     * VK_USER_RXBUF bytes */
    uint8_t *scratch;
    uint8_t *rxbuf;
};

#define VK_USER_SCRATCH (65536u + 128u)
#define VK_USER_RXBUF 65536u

/* What a protocol file gets for the frame being handled. */
typedef struct vk_user_rx {
    const vk_frame *f;
    vk_eth_repr eth;
    uint64_t now;
} vk_user_rx;

/* An IPv4 packet to send: header fields and an upper-layer payload. */
typedef struct vk_user_ip4_out {
    vk_ip4 src, dst;
    uint8_t proto, tos, ttl;
    bool df;
    const uint8_t *payload;
    size_t len;
    uint16_t gso_mss; /* 0, or the packet is a TCP super-segment (core/frame.h):
                       * one frame past the MTU, never fragmented */
} vk_user_ip4_out;

/* user.c */
int vk_user_drop(vk_user *u, const vk_user_rx *rx, const char *reason);
vk_mac vk_user_mac4(vk_ip4 a);        /* 52:55 + the address */
vk_mac vk_user_mac6(const vk_ip6 *a); /* 52:56 + its last 4 bytes */
void vk_user_send(vk_user *u, vk_frame *f);
bool vk_user_in_net(const vk_user *u, vk_ip4 a);
/* Hands a packet for the outside to the world, dropping it when refused. */
int vk_user_to_world(vk_user *u, const vk_user_rx *rx, const vk_world_flow *flow,
                     const uint8_t *ip, size_t len);
/* The same for an IPv4 datagram (ports 0 for ICMP). */
int vk_user_to_world4(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                      uint16_t sport, uint16_t dport, const uint8_t *raw, size_t raw_len);

/* nat.c: where the world should send flow (libslirp's sotranslate_out);
 * VK_EPORTUNREACH for a port other than 53 on the DNS address. */
int vk_user_nat_dst(vk_user *u, const vk_world_flow *flow, vk_waddr *dst, uint64_t now);

/* config.c */
int vk_user_config_parse(vk_user_config *c, vk_opts *o, vk_diag *d);
/* Every key of -netdev user with its checks, hostfwd rules included, but
 * without refusing what this backend cannot serve yet (hostfwd, guestfwd,
 * smb): for -netdev libslirp, which takes the same keys.  guestfwd and smb
 * are left unread for the caller.  Free c with vk_user_config_free(). */
int vk_user_config_parse_keys(vk_user_config *c, vk_opts *o, vk_diag *d);
bool vk_user_config_in_net(const vk_user_config *c, vk_ip4 a);
void vk_user_config_free(vk_user_config *c);

/* arp.c */
int vk_user_arp_input(vk_user *u, const vk_user_rx *rx);
void vk_user_arp_learn(vk_user *u, vk_ip4 ip, const vk_mac *mac);
/* Sends f (an IPv4 frame whose destination MAC is still open) to dst: now
 * if the MAC is known, else after an ARP exchange (held, bounded). */
void vk_user_arp_resolve_send(vk_user *u, vk_frame *f, vk_ip4 dst, uint64_t now);
/* The same for IPv6 (f's destination MAC still open): held while ip6.c's
 * neighbor solicitation goes out (it sends it when this returns true). */
bool vk_user_nd_hold(vk_user *u, vk_frame *f, const vk_ip6 *dst, uint64_t now);
/* A neighbor was learnt (ip6.c): frames held for it go now. */
void vk_user_nd_learnt(vk_user *u, const vk_ip6 *ip, const vk_mac *mac);
void vk_user_arp_cleanup(vk_user *u);
int vk_user_arp_init(vk_user *u);

/* ipv4.c */
int vk_user_ip4_input(vk_user *u, const vk_user_rx *rx);
int vk_user_ip4_output(vk_user *u, const vk_user_ip4_out *o, uint64_t now);

/* ipfrag.c: 1 with *out (malloc'd whole datagram, caller frees) when ip
 * completed a datagram, 0 when it was kept, negative when dropped. */
int vk_user_frag_input(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                       uint8_t **out, size_t *out_len);
int vk_user_frag_init(vk_user *u);
void vk_user_frag_cleanup(vk_user *u);

/* icmp.c, udp.c, tcp.c: ip is the (reassembled) datagram, checked. */
int vk_user_icmp_input(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                       const uint8_t *raw, size_t raw_len);
int vk_user_udp_input(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                      const uint8_t *raw, size_t raw_len);
int vk_user_tcp_input(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                      const uint8_t *raw, size_t raw_len);
/* IPv6 TCP (tcp.c); init/start/cleanup of the TCP NAT (start opens the
 * hostfwd=tcp listeners; close_all ends every connection and listener, as
 * before the world changes). */
int vk_user_tcp6_input(vk_user *u, const vk_user_rx *rx, const vk_ipv6_repr *ip);
int vk_user_tcp_init(vk_user *u);
int vk_user_tcp_start(vk_user *u, uint64_t now);
void vk_user_tcp_close_all(vk_user *u, uint64_t now);
void vk_user_tcp_cleanup(vk_user *u);
/* ICMP destination unreachable (code: VK_ICMP_UNREACH_*) quoting the
 * IPv4 packet ip/len (the header and what follows, at most 548 bytes). */
int vk_user_icmp_unreach(vk_user *u, const uint8_t *ip, size_t len, uint8_t code, uint64_t now);
/* udp.c: the UDP NAT.  udp6_input gets IPv6 UDP for the outside. */
int vk_user_udp6_input(vk_user *u, const vk_user_rx *rx, const vk_ipv6_repr *ip);
int vk_user_udp_hostfwd_start(vk_user *u, vk_diag *d);
/* nat.c: the NAT sockets' shared pieces. */
int vk_user_nat_init(vk_user *u);
void vk_user_nat_cleanup(vk_user *u);
void vk_user_nat_schedule(vk_user *u);
void vk_user_nat_close(vk_user *u, vk_user_nat_sock *s, uint64_t now);
/* The address a reply from `from` shows to the guest (libslirp's
 * sotranslate_in): the guest's destination for aliases of the host. */
void vk_user_nat_src(const vk_user *u, const vk_user_nat_sock *s, const vk_waddr *from,
                     vk_waddr *out);
bool vk_user_world_is_none(const vk_user *u);
/* ICMP errors toward the guest about `quoted` (an IP datagram it sent), as
 * libslirp's icmp_send_error / icmp6_send_error. */
void vk_user_icmp_error4(vk_user *u, const uint8_t *quoted, size_t len, uint8_t type,
                         uint8_t code, vk_ip4 src, uint64_t now);
void vk_user_icmp_error6(vk_user *u, const uint8_t *quoted, size_t len, uint8_t type,
                         uint8_t code, uint64_t now);
/* icmp.c: ICMPv6 echo for the outside (from ip6.c). */
int vk_user_icmp6_echo_out(vk_user *u, const vk_user_rx *rx, const vk_ipv6_repr *ip,
                           const uint8_t *raw, size_t raw_len);
/* ip6.c: sends an IPv6 packet from the stack (hop limit 255 unless given). */
int vk_user_ip6_output(vk_user *u, const vk_ip6 *src, const vk_ip6 *dst, uint8_t proto,
                       uint8_t hop_limit, const uint8_t *payload, size_t len);
/* The same for a TCP super-segment (core/frame.h) of gso_mss segments,
 * which may be longer than the MTU. */
int vk_user_ip6_output_gso(vk_user *u, const vk_ip6 *src, const vk_ip6 *dst,
                           uint8_t hop_limit, const uint8_t *payload, size_t len,
                           uint16_t gso_mss);
int vk_user_udp6_output(vk_user *u, const vk_ip6 *src, uint16_t sport, const vk_ip6 *dst,
                        uint16_t dport, const uint8_t *data, size_t len);
/* Sends a UDP datagram from the stack (checksum filled). */
int vk_user_udp_output(vk_user *u, vk_ip4 src, uint16_t sport, vk_ip4 dst, uint16_t dport,
                       uint8_t tos, const uint8_t *data, size_t len, uint64_t now);

/* dhcp.c */
int vk_user_dhcp_input(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                       const vk_udp_repr *udp);

/* tftp.c */
int vk_user_tftp_input(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                       const vk_udp_repr *udp);
int vk_user_tftp_init(vk_user *u);
void vk_user_tftp_cleanup(vk_user *u);

/* ip6.c (with NDP) */
int vk_user_ip6_input(vk_user *u, const vk_user_rx *rx);
int vk_user_ip6_init(vk_user *u);
void vk_user_ip6_start(vk_user *u, uint64_t now);
void vk_user_ip6_activity(vk_user *u, uint64_t now);
void vk_user_ip6_cleanup(vk_user *u);
/* ICMPv6 destination unreachable (code 0 no route, 3 address, 4 port)
 * quoting the IPv6 packet ip/len, from the stack's link-local address. */
int vk_user_icmp6_unreach(vk_user *u, const uint8_t *ip, size_t len, uint8_t code, uint64_t now);

#endif
