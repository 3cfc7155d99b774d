/*
 * vnetkit.h: the installed C API of libvnetkit (pkg-config name "vnetkit").
 *
 * A small, stable facade over the engine for C test programs:
 *   - build a network from QEMU-style options (-netdev, -device, -nic, -net,
 *     -object) or from a topology file, on the virtual clock;
 *   - attach a probe to a port that has no peer (a hub port, a netdev
 *     without a NIC) and inject frames through it at chosen virtual times;
 *   - run the virtual clock; read the frames each probe received and the
 *     counters and drops (with their reasons) of every port;
 *   - replay a capture against a topology and read its verdict.
 * Everything else in the source tree is internal and may change; only this
 * header is installed and only the symbols declared here are exported by
 * libvnetkit.so.  Names start with vnetkit_ / VNETKIT_.
 *
 * Conventions: functions that can fail return 0 or a negative error code
 * (vnetkit_strerror() names it); a net keeps the one-line message of its
 * last failure for vnetkit_net_error().  Time is virtual nanoseconds since
 * the network started.  Bytes passed in are copied; pointers handed out
 * (frame data, ids, reasons, messages) belong to the net and stay valid
 * until vnetkit_net_free().  A net is not thread-safe.
 *
 * Lifecycle: vnetkit_net_new -> vnetkit_net_option / vnetkit_net_load ...
 * -> vnetkit_net_build -> vnetkit_net_probe ... -> vnetkit_probe_inject /
 * vnetkit_net_run (any number of times) -> read results -> vnetkit_net_free.
 * Networks with a live backend (tap, socket, user with host forwarding...)
 * are refused by vnetkit_net_build: the facade runs the virtual clock only.
 */
#ifndef VNETKIT_VNETKIT_H
#define VNETKIT_VNETKIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define VNETKIT_API __attribute__((visibility("default")))
#else
#define VNETKIT_API
#endif

/* Incremented when a declaration below changes incompatibly (together with
 * the library's soname). */
#define VNETKIT_API_VERSION 1

/* Caps (each has a counter of what it refused). */
#define VNETKIT_PROBE_FRAMES_MAX 65536  /* frames kept per probe */
#define VNETKIT_PROBE_PENDING_MAX 65536 /* injections waiting for their time */
#define VNETKIT_DROPS_MAX 65536         /* drop records kept per net */
#define VNETKIT_FRAME_MAX 65535         /* largest frame accepted by inject */

/* vnetkit_net_run: no deadline. */
#define VNETKIT_FOREVER UINT64_MAX

typedef struct vnetkit_net vnetkit_net;
typedef struct vnetkit_probe vnetkit_probe;

/* The library's version, "MAJOR.MINOR.PATCH". */
VNETKIT_API const char *vnetkit_version(void);
/* A short text for an error code returned by this API. */
VNETKIT_API const char *vnetkit_strerror(int err);

/* A new, empty network on the virtual clock; NULL when out of memory. */
VNETKIT_API vnetkit_net *vnetkit_net_new(void);
/* Frees the net, its ports, probes and everything handed out.  NULL is ok. */
VNETKIT_API void vnetkit_net_free(vnetkit_net *n);
/* The message of the last failure ("" if none). */
VNETKIT_API const char *vnetkit_net_error(const vnetkit_net *n);

/* Adds one QEMU-style option before the build, e.g. ("-netdev",
 * "hubport,id=h0,hubid=0") or ("-device", "e1000,netdev=n0"). */
VNETKIT_API int vnetkit_net_option(vnetkit_net *n, const char *option, const char *value);
/* Adds the options of a topology file (one or more a line, '#' comments). */
VNETKIT_API int vnetkit_net_load(vnetkit_net *n, const char *path);
/* Creates every port, peer and object.  Options cannot be added afterwards. */
VNETKIT_API int vnetkit_net_build(vnetkit_net *n);

/* Attaches a probe, a port of its own, as the peer of port `port_id` (which
 * must exist and have no peer), after the build and before the first run.
 * The probe belongs to the net. */
VNETKIT_API int vnetkit_net_probe(vnetkit_net *n, const char *port_id, vnetkit_probe **out);
/* Sends a copy of frame (an Ethernet frame without FCS, 14..VNETKIT_FRAME_MAX
 * bytes) out of the probe at virtual time at_ns (now if in the past). */
VNETKIT_API int vnetkit_probe_inject(vnetkit_probe *p, uint64_t at_ns, const void *frame,
                                     size_t len);

/* Runs the virtual clock until no event is left or until time until_ns
 * (VNETKIT_FOREVER: no deadline).  The first call starts the network. */
VNETKIT_API int vnetkit_net_run(vnetkit_net *n, uint64_t until_ns);
/* Virtual time now, ns. */
VNETKIT_API uint64_t vnetkit_net_now(const vnetkit_net *n);

/* A frame the probe received (from the port it is attached to). */
typedef struct vnetkit_frame {
    const uint8_t *data; /* owned by the net */
    size_t len;
    uint64_t time_ns;    /* virtual time of arrival */
} vnetkit_frame;
/* Frames received so far, and how many were not kept (past
 * VNETKIT_PROBE_FRAMES_MAX). */
VNETKIT_API size_t vnetkit_probe_frame_count(const vnetkit_probe *p);
VNETKIT_API uint64_t vnetkit_probe_frames_lost(const vnetkit_probe *p);
/* The i-th received frame (0-based): 0, or a negative code past the end. */
VNETKIT_API int vnetkit_probe_frame(const vnetkit_probe *p, size_t i, vnetkit_frame *out);

/* Counters of one port, by id. */
typedef struct vnetkit_port_counts {
    uint64_t rx_frames, rx_bytes; /* taken in by the port */
    uint64_t tx_frames, tx_bytes; /* sent by the port */
    uint64_t drops;               /* frames dropped on their way in or out */
} vnetkit_port_counts;
VNETKIT_API int vnetkit_net_port_counts(const vnetkit_net *n, const char *port_id,
                                        vnetkit_port_counts *out);
/* The ids of the ports, in creation order (probes included, as "probe-ID"). */
VNETKIT_API size_t vnetkit_net_port_count(const vnetkit_net *n);
VNETKIT_API const char *vnetkit_net_port_id(const vnetkit_net *n, size_t i);

/* One dropped frame, as the trace records it. */
typedef struct vnetkit_drop {
    const char *port_id; /* the port that dropped it */
    int inbound;         /* 1: on its way into the port; 0: out of it */
    const char *reason;  /* "queue full", "no peer", a card's reason... */
    size_t len;          /* frame length */
    uint64_t time_ns;
} vnetkit_drop;
/* Drops recorded so far (all ports, time order), those past
 * VNETKIT_DROPS_MAX (counted, not kept), and the i-th. */
VNETKIT_API size_t vnetkit_net_drop_count(const vnetkit_net *n);
VNETKIT_API uint64_t vnetkit_net_drops_lost(const vnetkit_net *n);
VNETKIT_API int vnetkit_net_drop(const vnetkit_net *n, size_t i, vnetkit_drop *out);

/* Replay: the guest's frames of a capture are played into the network of a
 * topology file, through its first NIC or, with port_id, through a probe on
 * that peer-less port; the answers are compared with the capture's (the
 * rules of `vnetkit replay`, default normalisation, 2 s settle time). */
typedef struct vnetkit_replay_result {
    int diverged;        /* 0: every expected frame produced and nothing else */
    size_t injected;     /* guest frames played */
    size_t produced;     /* frames the network answered */
    size_t matched;      /* answers that matched the capture */
    size_t divergences;  /* missing, extra or different answers */
    char error[512];     /* why the replay could not run ("" on success) */
} vnetkit_replay_result;
/* 0 when the replay ran (read out->diverged for its verdict), or an error
 * code with out->error set (unreadable capture, bad topology...). */
VNETKIT_API int vnetkit_replay(const char *capture_path, const char *topology_path,
                               const char *port_id, vnetkit_replay_result *out);

#ifdef __cplusplus
}
#endif

#endif
