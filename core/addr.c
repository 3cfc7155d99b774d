/* Text <-> address conversions (see addr.h).  inet_pton does the IP work. */
#include "core/addr.h"
#include "core/error.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int vk_mac_parse(const char *s, vk_mac *out)
{
    if (s == NULL || strlen(s) != 17)
        return VK_EINVAL;
    for (int i = 0; i < 6; i++) {
        const char *p = s + i * 3;
        int hi = hex_value(p[0]), lo = hex_value(p[1]);
        if (hi < 0 || lo < 0)
            return VK_EINVAL;
        if (i < 5 && p[2] != ':' && p[2] != '-')
            return VK_EINVAL;
        out->b[i] = (uint8_t)(hi << 4 | lo);
    }
    return VK_OK;
}

int vk_ip4_parse(const char *s, vk_ip4 *out)
{
    struct in_addr a;
    if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
        return VK_EINVAL;
    memcpy(out->b, &a, 4);
    return VK_OK;
}

static int parse_prefix_len(const char *s, int max, int *out)
{
    if (*s == '\0' || strlen(s) > 3)
        return VK_EINVAL;
    int v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return VK_EINVAL;
        v = v * 10 + (*p - '0');
    }
    if (v > max)
        return VK_EINVAL;
    *out = v;
    return VK_OK;
}

static int split_at_slash(const char *s, char *head, size_t cap, const char **tail)
{
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n >= cap)
        return VK_EINVAL;
    memcpy(head, s, n);
    head[n] = '\0';
    *tail = slash ? slash + 1 : NULL;
    return VK_OK;
}

int vk_ip4_parse_prefix(const char *s, vk_ip4 *out, int *prefix_out)
{
    char head[64];
    const char *tail;
    if (s == NULL || split_at_slash(s, head, sizeof head, &tail) != VK_OK)
        return VK_EINVAL;
    if (vk_ip4_parse(head, out) != VK_OK)
        return VK_EINVAL;
    *prefix_out = -1;
    if (tail == NULL)
        return VK_OK;
    if (strchr(tail, '.') != NULL) {
        vk_ip4 mask;
        if (vk_ip4_parse(tail, &mask) != VK_OK)
            return VK_EINVAL;
        uint32_t m = vk_ip4_to_u32(mask);
        /* contiguous: the inverted mask plus one is a power of two */
        uint32_t inv = ~m;
        if ((inv & (inv + 1)) != 0)
            return VK_EINVAL;
        int n = 0;
        while (n < 32 && (m & (0x80000000u >> n)))
            n++;
        *prefix_out = n;
        return VK_OK;
    }
    return parse_prefix_len(tail, 32, prefix_out);
}

int vk_ip6_parse(const char *s, vk_ip6 *out)
{
    if (s == NULL || inet_pton(AF_INET6, s, out->b) != 1)
        return VK_EINVAL;
    return VK_OK;
}

int vk_ip6_parse_prefix(const char *s, vk_ip6 *out, int *prefix_out)
{
    char head[64];
    const char *tail;
    if (s == NULL || split_at_slash(s, head, sizeof head, &tail) != VK_OK)
        return VK_EINVAL;
    if (vk_ip6_parse(head, out) != VK_OK)
        return VK_EINVAL;
    *prefix_out = -1;
    if (tail == NULL)
        return VK_OK;
    return parse_prefix_len(tail, 128, prefix_out);
}

char *vk_mac_format(const vk_mac *m, char *buf)
{
    snprintf(buf, VK_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", m->b[0], m->b[1], m->b[2],
             m->b[3], m->b[4], m->b[5]);
    return buf;
}

char *vk_ip4_format(const vk_ip4 *a, char *buf)
{
    snprintf(buf, VK_IP4_STRLEN, "%u.%u.%u.%u", a->b[0], a->b[1], a->b[2], a->b[3]);
    return buf;
}

char *vk_ip6_format(const vk_ip6 *a, char *buf)
{
    if (inet_ntop(AF_INET6, a->b, buf, VK_IP6_STRLEN) == NULL)
        buf[0] = '\0';
    return buf;
}

bool vk_mac_is_multicast(const vk_mac *m)
{
    return (m->b[0] & 1) != 0;
}

bool vk_mac_is_broadcast(const vk_mac *m)
{
    static const uint8_t all[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    return memcmp(m->b, all, 6) == 0;
}
