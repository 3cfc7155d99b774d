/* Shared unit-test helper for NIC models: a virtual-clock net with one card
 * whose network-side peer is a capturing test port ("the wire"), a guest sink
 * that records what the driver half delivered, and a tap that records drops. */
#ifndef VK_TEST_NIC_BENCH_H
#define VK_TEST_NIC_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/net.h"
#include "core/topology.h"

#define VK_TEST_MAX_FRAMES 128

/* Frames seen somewhere (the guest sink, or a test port on the wire); each
 * is a malloc'd copy, freed by vk_test_capture_free. */
typedef struct vk_test_capture {
    size_t n;
    uint8_t *data[VK_TEST_MAX_FRAMES];
    size_t len[VK_TEST_MAX_FRAMES];
} vk_test_capture;

void vk_test_capture_add(vk_test_capture *c, const uint8_t *d, size_t len);
void vk_test_capture_free(vk_test_capture *c);

/* A guest sink (vk_nic_set_guest_sink) appending to the vk_test_capture arg. */
void vk_test_sink(void *arg, vk_port *nic, const uint8_t *data, size_t len);
/* A port kind that records what it receives into the capture at its priv. */
extern const vk_port_ops vk_test_wire_ops;

/* Drops the net reported, with the last reason. */
typedef struct vk_test_drops {
    size_t n;
    char reason[96];
} vk_test_drops;
/* A tap appending to the vk_test_drops arg. */
extern const vk_tap_ops vk_test_drop_tap;

typedef struct vk_nic_bench {
    vk_loop *loop;
    vk_net *net;
    vk_port *nic, *wire; /* wire is NULL after vk_nic_bench_alloc */
    vk_port *src;        /* vk_nic_bench_on_hub: the card's neighbour */
    vk_test_capture guest, on_wire;
    vk_test_drops dropped;
} vk_nic_bench;

/* Creates a card of model m as `-device MODEL[,opts]` would (asserts success). */
vk_port *vk_test_nic_new(vk_net *net, const vk_nic_model *m, const char *id, const vk_mac *mac,
                         const char *opts);
/* The net, the drop tap and the card "nic0" with its guest sink; no wire. */
vk_nic_bench *vk_nic_bench_alloc(const vk_nic_model *m, const vk_mac *mac, const char *opts);
/* The same, with the wire connected as the card's peer. */
vk_nic_bench *vk_nic_bench_new(const vk_nic_model *m, const vk_mac *mac, const char *opts);
/* The card on hub 0 with a test port `src` on the same hub (what src
 * receives goes to on_wire); the net is started.  For backpressure tests:
 * frames the card cannot take wait in its port queue. */
vk_nic_bench *vk_nic_bench_on_hub(const vk_nic_model *m, const vk_mac *mac, const char *opts);
void vk_nic_bench_free(vk_nic_bench *b);

/* The backpressure contract every card keeps, checked on a hub bench made
 * with opts (which must set a refill delay of refill_ns): of 5 frames sent
 * at once, `fits` reach the guest, the rest wait in the card's port queue
 * and it says it cannot receive; nothing moves before refill_ns; at refill_ns
 * `per_refill` more arrive; in the end all 5 arrive in order, none dropped.
 * Returns the bench for model-specific checks; the caller frees it. */
vk_nic_bench *vk_nic_bench_check_backpressure(const vk_nic_model *m, const vk_mac *mac,
                                              const char *opts, size_t fits,
                                              size_t per_refill, uint64_t refill_ns);
/* With the port queue limited to 2 frames, 5 frames sent at once: those
 * neither taken (`fits`) nor queued are dropped as "queue full", counted,
 * and the queued ones still arrive. */
void vk_nic_bench_check_queue_limit(const vk_nic_model *m, const vk_mac *mac, const char *opts,
                                    size_t fits);

/* An Ethernet frame of len bytes to dst from 52:55:0a:00:02:02 with the
 * local experimental ethertype 0x88b5 and a payload recognisable by tag. */
void vk_test_frame_fill(uint8_t *f, size_t len, const uint8_t dst[6], uint8_t tag);
/* Sends len bytes from the wire into the card (asserts success). */
void vk_nic_bench_inject(vk_nic_bench *b, const uint8_t *f, size_t len);

#endif
