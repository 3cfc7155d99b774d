/*
 * ICMPv4 (RFC 792): the 8-byte header and its data.  Echo request/reply
 * carry id and seq; for other types the second word is kept raw in `rest`
 * (e.g. the next-hop MTU of "fragmentation needed") and `data` is the quoted
 * datagram, which vk_icmp_quoted() parses.  ICMP has no length field, so the
 * data is whatever the IP payload holds; the checksum covers it all.
 */
#ifndef VK_WIRE_ICMP_H
#define VK_WIRE_ICMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/ipv4.h"

#define VK_ICMP_HLEN 8

enum {
    VK_ICMP_ECHO_REPLY = 0,
    VK_ICMP_DEST_UNREACH = 3,
    VK_ICMP_REDIRECT = 5,
    VK_ICMP_ECHO_REQUEST = 8,
    VK_ICMP_TIME_EXCEEDED = 11,
    VK_ICMP_PARAM_PROBLEM = 12
};

/* Codes of VK_ICMP_DEST_UNREACH. */
enum {
    VK_ICMP_UNREACH_NET = 0,
    VK_ICMP_UNREACH_HOST = 1,
    VK_ICMP_UNREACH_PROTO = 2,
    VK_ICMP_UNREACH_PORT = 3,
    VK_ICMP_UNREACH_NEEDFRAG = 4,
    VK_ICMP_UNREACH_ADMIN = 13
};

typedef struct vk_icmp_repr {
    uint8_t type;
    uint8_t code;
    uint16_t csum; /* as received; ignored by emit */
    bool csum_ok;  /* parse only */
    uint16_t id;   /* echo types */
    uint16_t seq;  /* echo types */
    uint32_t rest; /* other types: bytes 4..7 */
    const uint8_t *data;
    size_t data_len;
} vk_icmp_repr;

static inline bool vk_icmp_is_echo(uint8_t type)
{
    return type == VK_ICMP_ECHO_REQUEST || type == VK_ICMP_ECHO_REPLY;
}

/* p/len is the IP payload.  VK_OK or VK_ETRUNC (< 8 bytes). */
int vk_icmp_parse(const uint8_t *p, size_t len, vk_icmp_repr *out);
/* Parses the datagram quoted by an error message (dest unreachable, time
 * exceeded, ...); VK_EFORMAT for echo types, else vk_ipv4_parse_quoted's
 * result. */
int vk_icmp_quoted(const vk_icmp_repr *r, vk_ipv4_repr *out);
/* Writes header + data with the checksum; data is copied unless already
 * in place at buf + 8.  VK_EFULL if cap is short. */
int vk_icmp_emit(const vk_icmp_repr *r, uint8_t *buf, size_t cap, size_t *written);

#endif
