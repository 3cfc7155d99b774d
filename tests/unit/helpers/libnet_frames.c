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
