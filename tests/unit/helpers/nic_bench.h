/* Shared unit-test helper for NIC models: a virtual-clock net with one card
 * whose network-side peer is a capturing test port ("the wire"), a guest sink
 * that records what the driver half delivered, and the drop tap of
 * helpers/capture.h; and the checks every card shares. */
#ifndef VK_TEST_NIC_BENCH_H
#define VK_TEST_NIC_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/net.h"
#include "core/topology.h"
#include "capture.h"

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

/* The checks every card shares (each card's test names the behaviour and
 * calls one, with its model, MAC and options). */

/* Each of the `-device` option strings in bad[] (MODEL,KEY=VALUE...) is
 * refused by the model with a message; fails naming the one accepted. */
void vk_nic_bench_check_bad_keys(const vk_nic_model *m, const vk_mac *mac,
                                 const char *const *bad, size_t n);
/* The card's describe() reads "MODEL mac=MAC" (want). */
void vk_nic_bench_check_describe(const vk_nic_model *m, const vk_mac *mac, const char *want);
/* An 80-byte frame to dst reaches the guest whole (accepted) or is dropped
 * once with drop_reason, the guest seeing nothing. */
void vk_nic_bench_expect_rx(vk_nic_bench *b, const uint8_t dst[6], bool accepted,
                            const char *drop_reason);
/* The groups a booted Linux guest joins (all-nodes, all-hosts, its
 * solicited-node group) pass the card's filter as the driver programmed it. */
void vk_nic_bench_check_guest_groups_pass(const vk_nic_model *m, const vk_mac *mac,
                                          const char *opts);
/* A 42-byte frame reaches the guest padded with zeros to 60 bytes. */
void vk_nic_bench_check_short_frame_padded(const vk_nic_model *m, const vk_mac *mac,
                                           const char *opts);
/* A guest answering every frame it receives while the card loops its
 * transmissions back (loopback_on sets the card's loopback mode): the
 * answers re-enter the card while it transmits, ten arrive intact, nothing
 * goes on the wire and the card reports no error (error: its
 * vk_MODEL_error). */
void vk_nic_bench_check_loopback_echo(const vk_nic_model *m, const vk_mac *mac, const char *opts,
                                      void (*loopback_on)(vk_nic_bench *b),
                                      bool (*error)(vk_port *p, const char **msg));

/* Two cards on hub 0, each with a guest sink; the net is not started. */
typedef struct vk_nic_pair {
    vk_loop *loop;
    vk_net *net;
    vk_port *a, *b;
    vk_test_capture ca, cb; /* what each card's guest received */
} vk_nic_pair;
vk_nic_pair *vk_nic_pair_new(const vk_nic_model *m, const vk_mac *mac_a, const char *opts_a,
                             const vk_mac *mac_b, const char *opts_b);
void vk_nic_pair_free(vk_nic_pair *p);
/* On such a pair, `rounds` times: a sends b a 1514-byte frame, b sends a
 * a 60-byte one, a broadcasts 300 bytes; every frame arrives byte
 * identical, in order, and nowhere else. */
void vk_nic_bench_check_hub_exchange(const vk_nic_model *m, const vk_mac *mac_a,
                                     const char *opts_a, const vk_mac *mac_b,
                                     const char *opts_b, unsigned rounds);

/* An Ethernet frame of len bytes to dst from 52:55:0a:00:02:02 with the
 * local experimental ethertype 0x88b5 and a payload recognisable by tag. */
void vk_test_frame_fill(uint8_t *f, size_t len, const uint8_t dst[6], uint8_t tag);
/* Sends len bytes from the wire into the card (asserts success). */
void vk_nic_bench_inject(vk_nic_bench *b, const uint8_t *f, size_t len);

#endif
