/*
 * Splitting a capture into what the guest sent (to be injected) and what the
 * network answered (to be expected), and choosing which frames take part.
 *
 * Rules, in order:
 *  1. A pcapng with interfaces: one interface is the guest's -- the one named
 *     by --capture-iface, else the one named after the port the replay is
 *     attached to (the NIC id or the --port id), else one named "guest" or
 *     "replay" (what vnetkit itself writes), else the only interface.  Frames
 *     on other interfaces are ignored.  If that interface's frames carry
 *     direction flags, they decide: seen from the guest's side (a NIC,
 *     "guest", "replay") outbound frames are the guest's; seen from the
 *     network's side (the --port the replay is peered with) inbound ones
 *     are.  Drop records of a vnetkit trace are ignored.
 *  2. Otherwise by source MAC: the guest's MAC is --guest-mac, else the one
 *     source that is not 52:55:xx:xx:xx:xx or 52:56:xx:xx:xx:xx (the
 *     prefixes of slirp's virtual hosts, IPv4 and IPv6).  Several such
 *     sources (several guests: a DHCP pool test, a capture of a LAN) are
 *     refused with their MACs named: replay drives one guest, and the others'
 *     frames would silently become "expected"; --guest-mac chooses one.
 * A BPF filter (--filter, tcpdump syntax) then removes frames from both sides.
 */
#ifndef VK_REPLAY_SPLIT_H
#define VK_REPLAY_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/error.h"
#include "replay/capture.h"

typedef enum vk_side {
    VK_SIDE_IGNORED = 0, /* other interface, drop record, or filtered out */
    VK_SIDE_GUEST,
    VK_SIDE_EXPECTED,
} vk_side;

typedef struct vk_split_config {
    const vk_mac *guest_mac;   /* --guest-mac; NULL: detect */
    const char *iface;         /* --capture-iface; NULL: automatic */
    const char *attach_id;     /* id of the port the replay attaches to; NULL: none */
    bool attach_is_peer;       /* --port: that interface sees guest frames inbound */
} vk_split_config;

typedef struct vk_split {
    vk_side *side;             /* one per capture frame (vk_split_capture only) */
    size_t guest, expected;    /* counts after the filter */
    vk_mac guest_mac;          /* valid when by_mac */
    bool by_mac;
    uint32_t guest_dir;        /* else: the guest's direction flag */
    int iface;                 /* chosen interface, -1 for a classic pcap */
    char method[160];          /* how the split was made, for reports */
} vk_split;

/* Fills out (free with vk_split_free).  VK_EINVAL with a message when the
 * guest cannot be told apart (no interface matches, no guest MAC found). */
int vk_split_capture(const vk_capture *c, const vk_split_config *cfg, vk_split *out,
                     vk_diag *d);
void vk_split_free(vk_split *s);

/* The same choice for a capture that is read as a stream (not held): the
 * survey gathers, frame by frame, what the choice needs (per interface:
 * whether every frame has direction flags, the first guest MACs); then
 * vk_split_choose() decides (nothing in out->side), and vk_split_side_of()
 * tells each frame's side (before the filter) when it is read again.  The
 * survey holds a few words per interface, whatever the capture's length. */
#define VK_SPLIT_GUESTS_NAMED 8
typedef struct vk_split_stats {
    bool any;              /* a frame that is not a drop record */
    bool all_directed;     /* every such frame has direction flags */
    vk_mac macs[VK_SPLIT_GUESTS_NAMED]; /* distinct non-slirp sources, first seen first */
    size_t nmacs;
    bool more;             /* more distinct sources than that */
} vk_split_stats;

typedef struct vk_split_survey {
    vk_split_stats all;    /* every frame (classic pcap) */
    vk_split_stats *iface; /* per pcapng interface */
    size_t n, cap;
} vk_split_survey;

int vk_split_survey_add(vk_split_survey *sv, const vk_cap_frame *f); /* VK_ENOMEM */
void vk_split_survey_free(vk_split_survey *sv);
int vk_split_choose(const vk_capture *c, const vk_split_survey *sv, const vk_split_config *cfg,
                    vk_split *out, vk_diag *d);
vk_side vk_split_side_of(const vk_split *s, const vk_cap_frame *f);

/* A compiled BPF filter on a dead Ethernet handle.  NULL or "" matches all. */
typedef struct vk_bpf vk_bpf;
int vk_bpf_new(const char *expr, vk_bpf **out, vk_diag *d);
bool vk_bpf_match(const vk_bpf *f, const uint8_t *data, size_t len);
void vk_bpf_free(vk_bpf *f);

/* Marks frames the filter rejects as ignored and recounts. */
void vk_split_apply_filter(vk_split *s, const vk_capture *c, const vk_bpf *f);

#endif
