/*
 * A tcpdump-like one-line summary of an Ethernet frame, for divergence
 * reports and traces, e.g.
 *   52:54:00:12:34:56 > ff:ff:ff:ff:ff:ff, IPv4 0.0.0.0.68 > 255.255.255.255.67:
 *   DHCP DISCOVER xid 0x1234
 * It goes through the wire parsers only, so any input is safe: it describes
 * the layers that parsed, then appends "[truncated]" (a layer ran past the
 * end) or "[malformed]" (a field was invalid).
 */
#ifndef VK_WIRE_DESCRIBE_H
#define VK_WIRE_DESCRIBE_H

#include <stddef.h>
#include <stdint.h>

/* Writes a NUL-terminated line into out (cut at cap - 1 characters) and
 * returns its length.  cap 0 writes nothing and returns 0. */
size_t vk_wire_describe(const uint8_t *frame, size_t len, char *out, size_t cap);

#endif
