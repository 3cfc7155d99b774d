/*
 * The one parser and formatter for link and network addresses given as text
 * (options, command line, reports): MAC, IPv4 with optional prefix or mask,
 * IPv6 with optional prefix.  Addresses are kept in network byte order as
 * byte arrays so they can be copied onto and compared with wire bytes.
 */
#ifndef VK_CORE_ADDR_H
#define VK_CORE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vk_mac {
    uint8_t b[6];
} vk_mac;

typedef struct vk_ip4 {
    uint8_t b[4];
} vk_ip4;

typedef struct vk_ip6 {
    uint8_t b[16];
} vk_ip6;

#define VK_MAC_STRLEN 18 /* "52:54:00:12:34:56" + NUL */
#define VK_IP4_STRLEN 16
#define VK_IP6_STRLEN 46

/* "52:54:00:12:34:56" (also '-' separated).  VK_OK or VK_EINVAL. */
int vk_mac_parse(const char *s, vk_mac *out);
/* Dotted quad only (no shorthand like "10.2"). */
int vk_ip4_parse(const char *s, vk_ip4 *out);
/* "10.0.2.0/24" or "10.0.2.0/255.255.255.0" or "10.0.2.0" (prefix_out = -1
 * then).  A non-contiguous mask is VK_EINVAL. */
int vk_ip4_parse_prefix(const char *s, vk_ip4 *out, int *prefix_out);
int vk_ip6_parse(const char *s, vk_ip6 *out);
/* "fec0::/64" or "fec0::" (prefix_out = -1). */
int vk_ip6_parse_prefix(const char *s, vk_ip6 *out, int *prefix_out);

/* Formatters write a NUL-terminated string into buf (at least *_STRLEN). */
char *vk_mac_format(const vk_mac *m, char *buf);
char *vk_ip4_format(const vk_ip4 *a, char *buf);
char *vk_ip6_format(const vk_ip6 *a, char *buf);

static inline uint32_t vk_ip4_to_u32(vk_ip4 a)
{
    return (uint32_t)a.b[0] << 24 | (uint32_t)a.b[1] << 16 | (uint32_t)a.b[2] << 8 | a.b[3];
}

static inline vk_ip4 vk_ip4_from_u32(uint32_t v)
{
    vk_ip4 a = {{(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v}};
    return a;
}

static inline uint32_t vk_ip4_mask(int prefix)
{
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
}

bool vk_mac_is_multicast(const vk_mac *m);
bool vk_mac_is_broadcast(const vk_mac *m);

/* The limited broadcast address, 255.255.255.255. */
#define VK_IP4_BROADCAST_U32 0xffffffffu
static inline bool vk_ip4_is_broadcast(vk_ip4 a)
{
    return vk_ip4_to_u32(a) == VK_IP4_BROADCAST_U32;
}

static inline vk_ip4 vk_ip4_broadcast(void)
{
    return vk_ip4_from_u32(VK_IP4_BROADCAST_U32);
}

/* 224.0.0.0 and above: multicast (224/4) or reserved (240/4), the
 * destinations slirp never answers or connects to ("b[0] >= 224"). */
static inline bool vk_ip4_is_multicast_or_reserved(vk_ip4 a)
{
    return a.b[0] >= 224;
}

/* ff00::/8. */
static inline bool vk_ip6_is_multicast(const vk_ip6 *a)
{
    return a->b[0] == 0xff;
}

#endif
