/*
 * UDP header (RFC 768).  Parse checks 8 <= length field <= buffer; bytes past
 * the length field are ignored.  The checksum needs the IP pseudo header, so
 * it is verified apart: vk_udp_csum_ok(pseudo, ...) with pseudo from
 * vk_csum_pseudo4/6 (see checksum.h); emit fills it the same way.
 */
#ifndef VK_WIRE_UDP_H
#define VK_WIRE_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VK_UDP_HLEN 8

enum {
    VK_UDP_PORT_DNS = 53,
    VK_UDP_PORT_BOOTPS = 67,
    VK_UDP_PORT_BOOTPC = 68,
    VK_UDP_PORT_TFTP = 69,
    VK_UDP_PORT_DHCP6_CLIENT = 546,
    VK_UDP_PORT_DHCP6_SERVER = 547
};

typedef struct vk_udp_repr {
    uint16_t src_port;
    uint16_t dst_port;
    uint16_t csum; /* as received; ignored by emit */
    const uint8_t *payload;
    size_t payload_len;
} vk_udp_repr;

/* VK_OK, VK_ETRUNC (header or length beyond buffer), VK_EFORMAT (length < 8). */
int vk_udp_parse(const uint8_t *p, size_t len, vk_udp_repr *out);
/* True if the checksum is right, or absent (0) and zero_ok (IPv4 only:
 * IPv6 requires it).  seg/len is the whole datagram as delimited by the
 * length field. */
bool vk_udp_csum_ok(uint32_t pseudo, const uint8_t *seg, size_t len, bool zero_ok);
/* Writes header + payload (copied unless in place at buf + 8) and the
 * checksum over the pseudo header.  VK_ERANGE above 65535 bytes, VK_EFULL
 * if cap is short. */
int vk_udp_emit(const vk_udp_repr *r, uint32_t pseudo, uint8_t *buf, size_t cap,
                size_t *written);

#endif
