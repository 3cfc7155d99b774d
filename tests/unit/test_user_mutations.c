/*
 * Robustness of -netdev user against hostile frames: the guest frames of the
 * reference captures, with deterministic byte flips and truncations (and
 * fixed-up IP/L4 checksums half of the time, so the mutations reach the
 * protocol parsers), are fed to a stack with TFTP enabled.  The stack must
 * neither crash nor read or write out of bounds (run it under ASan: the
 * sanitize build), and it must still answer a clean request afterwards.
 */
#include "test_user_harness.h"

#include <pcap/pcap.h>

#include "wire/checksum.h"

static uint32_t rng = 12345;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void mutate_and_send(uh *h, const uint8_t *data, size_t len)
{
    uint8_t buf[2048];
    if (len > sizeof buf)
        return;
    for (int round = 0; round < 60; round++) {
        memcpy(buf, data, len);
        size_t n = len;
        unsigned flips = 1 + next() % 4;
        for (unsigned i = 0; i < flips; i++)
            buf[14 + next() % (n - 14)] = (uint8_t)next();
        if (next() % 4 == 0)
            n = 14 + next() % (n - 14);
        if (next() % 2 == 0)
            vk_csum_fill_frame(buf, n);
        uh_send(h, buf, n);
    }
}

static void test_mutated_capture_frames_never_break_the_stack(void **state)
{
    (void)state;
    static const char *const files[] = {"qemu-e1000-dhcp-ping.pcap", "qemu-e1000-tftp.pcap",
                                        "qemu-e1000-ping6.pcap", "qemu-e1000-restrict.pcap",
                                        "qemu-e1000-udp-dns.pcap"};
    uh h;
    uh_open_ok(&h, "user,id=u,tftp=" VK_SOURCE_DIR "/pcaps");
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        char path[512], err[PCAP_ERRBUF_SIZE];
        snprintf(path, sizeof path, "%s/pcaps/%s", VK_SOURCE_DIR, files[k]);
        pcap_t *p = pcap_open_offline(path, err);
        assert_non_null(p);
        struct pcap_pkthdr *hd;
        const u_char *d;
        while (pcap_next_ex(p, &hd, &d) == 1) {
            if (hd->caplen > 14 && memcmp(d + 6, UH_GUEST_MAC, 6) == 0)
                mutate_and_send(&h, d, hd->caplen);
            uh_clear(&h);
        }
        pcap_close(p);
        uh_advance(&h, (k + 1) * 100 * VK_NS_PER_SEC);
    }
    uh_clear(&h);
    uint8_t *f;
    size_t n = uh_build_arp_request(&f, UH_GUEST_MAC, "10.0.2.15", "10.0.2.2");
    uh_send(&h, f, n);
    free(f);
    assert_int_equal(h.ngot, 1);
    uh_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutated_capture_frames_never_break_the_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
