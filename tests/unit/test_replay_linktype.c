/*
 * Captures from the wild (issue 13): replay/capture.c keeps runt records
 * apart with their numbers, replay/linktype.c gives SLL, SLL2 and raw IP
 * records an Ethernet header (wire/sll.c reads the cooked headers), and
 * replay/offload.c tells an offload-style partial checksum from a wrong one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay/capture.h"
#include "replay/linktype.h"
#include "replay/offload.h"
#include "wire/buf.h"
#include "wire/checksum.h"
#include "wire/sll.h"

static const uint8_t guest_mac[6] = VK_LINKTYPE_GUEST_MAC;
static const uint8_t net_mac[6] = VK_LINKTYPE_NET_MAC;

/* An IPv4 UDP packet src -> dst, ports sport -> 9, 4 payload bytes, with
 * correct checksums.  Returns its length (32). */
static size_t ip4_udp(uint8_t *p, const uint8_t src[4], const uint8_t dst[4], uint16_t sport)
{
    memset(p, 0, 32);
    p[0] = 0x45;
    vk_put_be16(p + 2, 32);
    p[8] = 64;
    p[9] = 17;
    memcpy(p + 12, src, 4);
    memcpy(p + 16, dst, 4);
    vk_put_be16(p + 20, sport);
    vk_put_be16(p + 22, 9);
    vk_put_be16(p + 24, 12);
    memcpy(p + 28, "ping", 4);
    assert_int_equal(vk_csum_fill_ip(p, 32), VK_OK);
    return 32;
}

static const uint8_t guest_ip[4] = {10, 0, 2, 15}, gw_ip[4] = {10, 0, 2, 2},
                     any_ip[4] = {0, 0, 0, 0}, bcast_ip[4] = {255, 255, 255, 255},
                     mcast_ip[4] = {224, 1, 2, 3};

static void convert(vk_linktype *lt, const uint8_t *p, size_t len, uint8_t *out, size_t *n)
{
    const char *why = NULL;
    assert_int_equal(vk_linktype_to_ethernet(lt, p, len, out, 2048, n, &why), VK_OK);
    assert_null(why);
}

static void test_sll_outgoing_is_the_guest_and_incoming_the_network(void **state)
{
    (void)state;
    uint8_t rec[64] = {0, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00}, out[2048];
    size_t n = ip4_udp(rec + VK_SLL_HLEN, guest_ip, gw_ip, 5000) + VK_SLL_HLEN, len;
    vk_linktype lt;
    vk_linktype_init(&lt, DLT_LINUX_SLL);
    convert(&lt, rec, n, out, &len);
    assert_int_equal(len, n - VK_SLL_HLEN + 14);
    assert_memory_equal(out, net_mac, 6);
    assert_memory_equal(out + 6, guest_mac, 6); /* the capture's 01:02:.. is not used */
    assert_int_equal(vk_get_be16(out + 12), 0x0800);
    assert_memory_equal(out + 14, rec + VK_SLL_HLEN, n - VK_SLL_HLEN);
    rec[1] = VK_SLL_HOST;
    convert(&lt, rec, n, out, &len);
    assert_memory_equal(out, guest_mac, 6);
    assert_memory_equal(out + 6, net_mac, 6);
}

static void test_sll2_header_is_read_field_by_field(void **state)
{
    (void)state;
    uint8_t rec[64] = {0x08, 0x00, 0, 0, 0, 0, 0, 7, 0, 1, VK_SLL_OUTGOING, 6}, out[2048];
    size_t n = ip4_udp(rec + VK_SLL2_HLEN, guest_ip, bcast_ip, 68) + VK_SLL2_HLEN, len;
    vk_sll_repr r;
    assert_int_equal(vk_sll2_parse(rec, n, &r), VK_OK);
    assert_int_equal(r.ifindex, 7);
    assert_int_equal(r.pkttype, VK_SLL_OUTGOING);
    assert_int_equal(r.protocol, 0x0800);
    assert_int_equal(vk_sll2_parse(rec, VK_SLL2_HLEN - 1, &r), VK_ETRUNC);
    assert_int_equal(vk_sll_parse(rec, VK_SLL_HLEN - 1, &r), VK_ETRUNC);
    vk_linktype lt;
    vk_linktype_init(&lt, DLT_LINUX_SLL2);
    convert(&lt, rec, n, out, &len);
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_memory_equal(out, bcast, 6); /* 255.255.255.255 */
    assert_memory_equal(out + 6, guest_mac, 6);
}

static void test_sll_frame_without_ethertype_is_refused_with_a_reason(void **state)
{
    (void)state;
    uint8_t rec[40] = {0, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x00, 0x04}, out[2048];
    size_t len;
    const char *why = NULL;
    vk_linktype lt;
    vk_linktype_init(&lt, DLT_LINUX_SLL);
    assert_int_equal(vk_linktype_to_ethernet(&lt, rec, sizeof rec, out, sizeof out, &len, &why),
                     VK_EINVAL);
    assert_non_null(strstr(why, "EtherType"));
    assert_int_equal(vk_linktype_to_ethernet(&lt, rec, 10, out, sizeof out, &len, &why),
                     VK_EINVAL);
    assert_non_null(strstr(why, "SLL header"));
}

/* Raw IP: a DHCP client (0.0.0.0) and the server's answer come before the
 * guest's own address is seen; neither may be taken for the guest's. */
static void test_raw_ip_guest_is_the_first_real_source_not_dhcp(void **state)
{
    (void)state;
    uint8_t p[64], out[2048];
    size_t len;
    vk_linktype lt;
    vk_linktype_init(&lt, DLT_RAW);
    convert(&lt, p, ip4_udp(p, any_ip, bcast_ip, 68), out, &len);
    assert_memory_equal(out + 6, guest_mac, 6);
    convert(&lt, p, ip4_udp(p, gw_ip, bcast_ip, 67), out, &len);
    assert_memory_equal(out + 6, net_mac, 6);
    convert(&lt, p, ip4_udp(p, guest_ip, mcast_ip, 5000), out, &len);
    static const uint8_t mc[6] = {0x01, 0x00, 0x5e, 0x01, 0x02, 0x03};
    assert_memory_equal(out, mc, 6);
    assert_memory_equal(out + 6, guest_mac, 6);
    convert(&lt, p, ip4_udp(p, gw_ip, guest_ip, 9), out, &len);
    assert_memory_equal(out, guest_mac, 6);
    assert_memory_equal(out + 6, net_mac, 6);
    const char *why = NULL;
    uint8_t junk[20] = {0x12};
    assert_int_equal(vk_linktype_to_ethernet(&lt, junk, sizeof junk, out, sizeof out, &len, &why),
                     VK_EINVAL);
    assert_non_null(strstr(why, "not an IPv4 or IPv6 packet"));
}

/* Issue 13: one 4-byte record made replay reject the whole capture. */
static void test_capture_keeps_a_runt_apart_and_numbers_frames_as_in_the_file(void **state)
{
    (void)state;
    char path[] = "/tmp/vk-runt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *dump = pcap_dump_open(dead, path);
    assert_non_null(dump);
    uint8_t f[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 8, 6};
    unsigned lens[] = {60, 4, 60};
    for (unsigned i = 0; i < 3; i++) {
        struct pcap_pkthdr h = {.ts = {.tv_sec = i}, .caplen = lens[i], .len = lens[i]};
        pcap_dump((u_char *)dump, &h, f);
    }
    pcap_dump_close(dump);
    pcap_close(dead);
    vk_capture *c = NULL;
    vk_diag d;
    assert_int_equal(vk_capture_read(path, &c, &d), VK_OK);
    assert_int_equal(c->count, 2);
    assert_int_equal(c->frames[0].no, 1);
    assert_int_equal(c->frames[1].no, 3);
    assert_int_equal(c->nskipped, 1);
    assert_int_equal(c->skipped[0].no, 2);
    assert_int_equal(c->skipped[0].caplen, 4);
    assert_int_equal(c->skipped[0].ts_ns, 1000000000ull);
    assert_non_null(strstr(c->skipped[0].why, "runt"));
    vk_capture_free(c);
    unlink(path);
}

static void test_partial_checksum_is_told_from_a_wrong_one(void **state)
{
    (void)state;
    uint8_t f[14 + 32] = {0x52, 0x55, 10, 0, 2, 2, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x08, 0x00};
    ip4_udp(f + 14, guest_ip, gw_ip, 5000);
    assert_false(vk_csum_is_partial(f, sizeof f)); /* correct */
    /* what Linux leaves for the card: the pseudo-header sum with the length */
    vk_ip4 src, dst;
    memcpy(src.b, guest_ip, 4);
    memcpy(dst.b, gw_ip, 4);
    uint16_t seed =
        (uint16_t)~vk_csum_finish(vk_csum_add_len(vk_csum_pseudo4(&src, &dst, 17), 12));
    vk_put_be16(f + 14 + 26, seed);
    assert_true(vk_csum_is_partial(f, sizeof f));
    vk_put_be16(f + 14 + 26, (uint16_t)(seed + 1)); /* merely wrong */
    assert_false(vk_csum_is_partial(f, sizeof f));
    vk_put_be16(f + 14 + 26, 0); /* UDP without a checksum */
    assert_false(vk_csum_is_partial(f, sizeof f));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sll_outgoing_is_the_guest_and_incoming_the_network),
        cmocka_unit_test(test_sll2_header_is_read_field_by_field),
        cmocka_unit_test(test_sll_frame_without_ethertype_is_refused_with_a_reason),
        cmocka_unit_test(test_raw_ip_guest_is_the_first_real_source_not_dhcp),
        cmocka_unit_test(test_capture_keeps_a_runt_apart_and_numbers_frames_as_in_the_file),
        cmocka_unit_test(test_partial_checksum_is_told_from_a_wrong_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
