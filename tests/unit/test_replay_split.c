/*
 * replay/capture + replay/split: reading real QEMU captures and our own
 * pcapng traces, telling the guest's frames from the network's (guest MAC
 * detection, --guest-mac, pcapng interface and direction), and the BPF filter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "replay/capture.h"
#include "replay/split.h"
#include "wire/pcapng.h"

static vk_capture *read_cap(const char *name)
{
    char path[512];
    vk_diag d;
    vk_capture *c = NULL;
    snprintf(path, sizeof path, "%s/pcaps/%s", VK_SOURCE_DIR, name);
    int r = vk_capture_read(path, &c, &d);
    if (r != VK_OK)
        print_error("%s\n", d.msg);
    assert_int_equal(r, VK_OK);
    return c;
}

static size_t count_src(const vk_capture *c, const char *mac_text)
{
    vk_mac m;
    assert_int_equal(vk_mac_parse(mac_text, &m), VK_OK);
    size_t n = 0;
    for (size_t i = 0; i < c->count; i++)
        n += memcmp(c->frames[i].data + 6, m.b, 6) == 0;
    return n;
}

static void test_split_detects_qemu_guest_mac(void **state)
{
    (void)state;
    static const char *const caps[] = {"qemu-e1000-dhcp-ping.pcap", "qemu-virtio-dhcp-ping.pcap",
                                       "qemu-rtl8139-dhcp-ping.pcap", "qemu-e1000-http.pcap"};
    for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
        vk_capture *c = read_cap(caps[k]);
        vk_split s;
        vk_split_config cfg = {0};
        vk_diag d;
        assert_int_equal(vk_split_capture(c, &cfg, &s, &d), VK_OK);
        char mac[VK_MAC_STRLEN];
        assert_string_equal(vk_mac_format(&s.guest_mac, mac), "52:54:00:12:34:56");
        assert_true(s.by_mac);
        assert_int_equal(s.guest, count_src(c, "52:54:00:12:34:56"));
        assert_int_equal(s.guest + s.expected, c->count);
        for (size_t i = 0; i < c->count; i++)
            assert_int_equal(s.side[i] == VK_SIDE_GUEST,
                             memcmp(c->frames[i].data + 6, s.guest_mac.b, 6) == 0);
        vk_split_free(&s);
        vk_capture_free(c);
    }
}

static void test_split_uses_given_guest_mac(void **state)
{
    (void)state;
    vk_capture *c = read_cap("qemu-e1000-dhcp-ping.pcap");
    vk_mac m;
    vk_mac_parse("52:55:0a:00:02:02", &m);
    vk_split_config cfg = {.guest_mac = &m};
    vk_split s;
    vk_diag d;
    assert_int_equal(vk_split_capture(c, &cfg, &s, &d), VK_OK);
    assert_int_equal(s.guest, count_src(c, "52:55:0a:00:02:02"));
    assert_non_null(strstr(s.method, "--guest-mac"));
    vk_split_free(&s);
    vk_capture_free(c);
}

static void test_split_fails_without_a_guest_mac(void **state)
{
    (void)state;
    vk_capture *c = vk_capture_new("only-slirp");
    uint8_t f[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x55, 10, 0, 2, 2, 0x08, 0x06};
    assert_int_equal(vk_capture_append(c, 1, f, sizeof f, 0, 0), VK_OK);
    vk_split_config cfg = {0};
    vk_split s;
    vk_diag d;
    assert_int_equal(vk_split_capture(c, &cfg, &s, &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "--guest-mac"));
    vk_capture_free(c);
}

/* Issue 13: a capture with several guests was replayed as if the first MAC
 * were the only guest, the others' frames silently "expected". */
static void test_split_refuses_several_guests_naming_each_mac(void **state)
{
    (void)state;
    vk_capture *c = vk_capture_new("pool");
    uint8_t f[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x08, 0};
    for (uint8_t last = 0x56; last <= 0x58; last++) {
        f[11] = last;
        assert_int_equal(vk_capture_append(c, last, f, sizeof f, 0, 0), VK_OK);
    }
    vk_split_config cfg = {0};
    vk_split s;
    vk_diag d;
    assert_int_equal(vk_split_capture(c, &cfg, &s, &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "pool: frames come from 3 guests (source MACs "
                                  "52:54:00:12:34:56, 52:54:00:12:34:57, 52:54:00:12:34:58)"));
    assert_non_null(strstr(d.msg, "--guest-mac"));
    vk_mac m = {{0x52, 0x54, 0, 0x12, 0x34, 0x57}};
    cfg.guest_mac = &m;
    assert_int_equal(vk_split_capture(c, &cfg, &s, &d), VK_OK);
    assert_int_equal(s.guest, 1);
    assert_int_equal(s.expected, 2);
    vk_split_free(&s);
    vk_capture_free(c);
}

/* 52:56:xx (the user network's IPv6 hosts) is the network, not a guest. */
static void test_split_counts_ipv6_virtual_hosts_as_network(void **state)
{
    (void)state;
    vk_capture *c = vk_capture_new("ra-first");
    uint8_t ra[60] = {0x33, 0x33, 0, 0, 0, 1, 0x52, 0x56, 0, 0, 0, 2, 0x86, 0xdd};
    uint8_t g[60] = {0x33, 0x33, 0, 0, 0, 2, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x86, 0xdd};
    assert_int_equal(vk_capture_append(c, 1, ra, sizeof ra, 0, 0), VK_OK);
    assert_int_equal(vk_capture_append(c, 2, g, sizeof g, 0, 0), VK_OK);
    vk_split_config cfg = {0};
    vk_split s;
    vk_diag d;
    assert_int_equal(vk_split_capture(c, &cfg, &s, &d), VK_OK);
    assert_int_equal(s.side[0], VK_SIDE_EXPECTED);
    assert_int_equal(s.side[1], VK_SIDE_GUEST);
    vk_split_free(&s);
    vk_capture_free(c);
}

/* Our own trace: one interface per port, each packet with its direction. */
static void test_split_pcapng_by_interface_and_direction(void **state)
{
    (void)state;
    vk_capture *c = read_cap("hub-dhcp-ping.pcapng");
    assert_true(c->pcapng);
    assert_int_equal(c->iface_count, 4);
    assert_string_equal(c->iface_names[1], "g");
    vk_diag d;
    vk_split s;
    /* g is the hub port the replay peers with: inbound frames are the guest's */
    vk_split_config peer = {.attach_id = "g", .attach_is_peer = true};
    assert_int_equal(vk_split_capture(c, &peer, &s, &d), VK_OK);
    assert_int_equal(s.iface, 1);
    assert_int_equal(s.guest, 13);
    assert_int_equal(s.expected, 7);
    for (size_t i = 0; i < c->count; i++) {
        if (c->frames[i].iface != 1)
            assert_int_equal(s.side[i], VK_SIDE_IGNORED);
        else
            assert_int_equal(s.side[i] == VK_SIDE_GUEST,
                             c->frames[i].flags == VK_PCAPNG_FLAG_INBOUND);
    }
    vk_split_free(&s);
    /* the pcap backend "guest" sent the guest's frames: outbound ones */
    vk_split_config named = {.iface = "guest"};
    assert_int_equal(vk_split_capture(c, &named, &s, &d), VK_OK);
    assert_int_equal(s.iface, 0);
    assert_int_equal(s.guest, 13);
    assert_int_equal(s.expected, 7);
    vk_split_free(&s);
    vk_split_config bad = {.iface = "nope"};
    assert_int_equal(vk_split_capture(c, &bad, &s, &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "'nope'"));
    vk_capture_free(c);
}

static void test_split_pcapng_without_match_needs_capture_iface(void **state)
{
    (void)state;
    vk_capture *c = vk_capture_new("two-ifaces");
    c->pcapng = true;
    vk_capture_add_iface(c, "a");
    vk_capture_add_iface(c, "b");
    uint8_t f[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x08, 0x06};
    vk_capture_append(c, 1, f, sizeof f, 0, VK_PCAPNG_FLAG_OUTBOUND);
    vk_capture_append(c, 1, f, sizeof f, 1, VK_PCAPNG_FLAG_INBOUND);
    vk_split_config cfg = {.attach_id = "n0"};
    vk_split s;
    vk_diag d;
    assert_int_equal(vk_split_capture(c, &cfg, &s, &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "--capture-iface"));
    /* an interface named after the NIC is seen from the guest: outbound */
    vk_capture_add_iface(c, "n0");
    vk_capture_append(c, 2, f, sizeof f, 2, VK_PCAPNG_FLAG_OUTBOUND);
    vk_capture_append(c, 3, f, sizeof f, 2, VK_PCAPNG_FLAG_INBOUND);
    assert_int_equal(vk_split_capture(c, &cfg, &s, &d), VK_OK);
    assert_int_equal(s.side[0], VK_SIDE_IGNORED);
    assert_int_equal(s.side[2], VK_SIDE_GUEST);
    assert_int_equal(s.side[3], VK_SIDE_EXPECTED);
    vk_split_free(&s);
    vk_capture_free(c);
}

static void test_filter_removes_frames_from_both_sides(void **state)
{
    (void)state;
    vk_capture *c = read_cap("qemu-e1000-dhcp-ping.pcap");
    vk_split_config cfg = {0};
    vk_split s;
    vk_diag d;
    vk_bpf *f;
    assert_int_equal(vk_split_capture(c, &cfg, &s, &d), VK_OK);
    assert_int_equal(vk_bpf_new("icmp", &f, &d), VK_OK);
    vk_split_apply_filter(&s, c, f);
    assert_int_equal(s.guest, 3);    /* echo requests */
    assert_int_equal(s.expected, 3); /* echo replies */
    vk_bpf_free(f);
    assert_int_equal(vk_bpf_new("tcp portt 80", &f, &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "--filter 'tcp portt 80'"));
    vk_split_free(&s);
    vk_capture_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_detects_qemu_guest_mac),
        cmocka_unit_test(test_split_uses_given_guest_mac),
        cmocka_unit_test(test_split_fails_without_a_guest_mac),
        cmocka_unit_test(test_split_refuses_several_guests_naming_each_mac),
        cmocka_unit_test(test_split_counts_ipv6_virtual_hosts_as_network),
        cmocka_unit_test(test_split_pcapng_by_interface_and_direction),
        cmocka_unit_test(test_split_pcapng_without_match_needs_capture_iface),
        cmocka_unit_test(test_filter_removes_frames_from_both_sides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
