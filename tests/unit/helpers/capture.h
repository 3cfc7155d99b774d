/* Shared unit-test helpers for any test on a vk_net: frames captured by a
 * recording port or a NIC's guest sink, and a tap that records drops. */
#ifndef VK_TEST_CAPTURE_H
#define VK_TEST_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "core/net.h"

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
    char reason[160];
} vk_test_drops;
/* A tap appending to the vk_test_drops arg. */
extern const vk_tap_ops vk_test_drop_tap;

#endif
