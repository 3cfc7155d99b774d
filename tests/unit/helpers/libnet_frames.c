#include "libnet_frames.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

libnet_t *vk_test_libnet(void)
{
    char eb[LIBNET_ERRBUF_SIZE];
    libnet_t *l = libnet_init(LIBNET_NONE, NULL, eb);
    assert_non_null(l);
    return l;
}

uint8_t *vk_test_libnet_frame(libnet_t *l, size_t *len)
{
    uint8_t *pkt = NULL;
    uint32_t n = 0;
    assert_true(libnet_pblock_coalesce(l, &pkt, &n) >= 0);
    uint8_t *copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, pkt, n);
    libnet_adv_free_packet(l, pkt);
    libnet_destroy(l);
    *len = n;
    return copy;
}

void vk_test_assert_truncations_fail(vk_test_parse_fn fn, const uint8_t *p, size_t len)
{
    for (size_t n = 0; n < len; n++) {
        uint8_t *cut = malloc(n > 0 ? n : 1);
        assert_non_null(cut);
        memcpy(cut, p, n);
        if (fn(cut, n) == VK_OK)
            fail_msg("truncation to %zu of %zu bytes parsed", n, len);
        free(cut);
    }
    assert_int_equal(fn(p, len), VK_OK);
}

/* An IPv4 address given as its dotted quad, in network byte order. */
static uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    uint8_t x[4] = {a, b, c, d};
    uint32_t v;
    memcpy(&v, x, 4);
    return v;
}

uint8_t *vk_test_libnet_tcp4(const uint8_t dst[6], const uint8_t src[6], uint32_t seq,
                             uint8_t flags, uint16_t ipid, const uint8_t *pl, size_t plen,
                             size_t *len)
{
    libnet_t *l = vk_test_libnet();
    assert_true(libnet_build_tcp(40000, 80, seq, 777, flags, 65535, 0, 0,
                                 (uint32_t)(LIBNET_TCP_H + plen), pl, (uint32_t)plen, l, 0) != -1);
    assert_true(libnet_build_ipv4((uint16_t)(LIBNET_IPV4_H + LIBNET_TCP_H + plen), 0, ipid,
                                  0x4000, 64, IPPROTO_TCP, 0, ip4(10, 0, 2, 15), ip4(10, 0, 2, 2),
                                  NULL, 0, l, 0) != -1);
    assert_true(libnet_build_ethernet(dst, src, ETHERTYPE_IP, NULL, 0, l, 0) != -1);
    return vk_test_libnet_frame(l, len);
}

uint8_t *vk_test_libnet_udp4(const uint8_t dst[6], const uint8_t src[6], const uint8_t *pl,
                             size_t plen, size_t *len)
{
    libnet_t *l = vk_test_libnet();
    assert_true(libnet_build_udp(5353, 53, (uint16_t)(LIBNET_UDP_H + plen), 0, pl,
                                 (uint32_t)plen, l, 0) != -1);
    assert_true(libnet_build_ipv4((uint16_t)(LIBNET_IPV4_H + LIBNET_UDP_H + plen), 0, 9, 0, 64,
                                  IPPROTO_UDP, 0, ip4(10, 0, 2, 15), ip4(10, 0, 2, 3), NULL, 0, l,
                                  0) != -1);
    assert_true(libnet_build_ethernet(dst, src, ETHERTYPE_IP, NULL, 0, l, 0) != -1);
    return vk_test_libnet_frame(l, len);
}

void vk_test_ones_add(uint8_t *p, uint16_t x)
{
    uint32_t v = (uint32_t)(p[0] << 8 | p[1]) + x;
    v = (v & 0xffff) + (v >> 16);
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
