/*
 * IPv6 fixed header (RFC 8200).  Parse checks the version and that the
 * payload length fits the buffer (bytes beyond it are padding), then skips
 * hop-by-hop, routing and destination-options headers -- at most
 * VK_IPV6_MAX_EXT_HDRS of them, each at least 8 bytes, so the walk is
 * bounded -- to find the upper-layer protocol.  A fragment header stops the
 * walk (proto 44); reassembly is the stack's business.  Jumbograms
 * (payload length 0 with a jumbo option) are not supported.
 */
#ifndef VK_WIRE_IPV6_H
#define VK_WIRE_IPV6_H

#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

#define VK_IPV6_HLEN 40
#define VK_IPV6_MAX_EXT_HDRS 8

typedef struct vk_ipv6_repr {
    uint8_t tclass;
    uint32_t flow; /* 20 bits */
    uint8_t next_header; /* as in the fixed header */
    uint8_t hop_limit;
    vk_ip6 src;
    vk_ip6 dst;
    uint8_t proto;  /* parse: upper layer after the skipped extension headers */
    size_t hdr_len; /* parse: 40 + skipped extension headers */
    const uint8_t *payload; /* parse: upper-layer data; emit: whole payload */
    size_t payload_len;
} vk_ipv6_repr;

/* VK_OK, VK_ETRUNC, or VK_EFORMAT (version, too many extension headers). */
int vk_ipv6_parse(const uint8_t *p, size_t len, vk_ipv6_repr *out);
/* Writes the 40-byte header (next header = next_header, payload length =
 * payload_len) and the payload as vk_ipv4_emit does.  VK_ERANGE when the
 * payload exceeds 65535, VK_EFULL when cap is short. */
int vk_ipv6_emit(const vk_ipv6_repr *r, uint8_t *buf, size_t cap, size_t *written);

#endif
