/* DHCPv4: the fixed part and options agree with libnet, malformed packets are
 * named (short, bad cookie, option past the end, missing END, wrong option
 * size), options are emitted in caller order, and option 119 is encoded with
 * RFC 1035 compression and split per RFC 3396. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libnet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/libnet_frames.h"
#include "core/addr.h"
#include "core/error.h"
#include "wire/buf.h"
#include "wire/dhcp.h"

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

/* A DISCOVER as a Linux client sends it (shortened), END last. */
static const uint8_t discover_opts[] = {
    53, 1, 1,                               /* DISCOVER */
    61, 7, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, /* client id */
    57, 2, 0x05, 0xdc,                      /* max size 1500 */
    50, 4, 10, 0, 2, 15,                    /* requested 10.0.2.15 */
    0, 0,                                   /* PAD */
    12, 5, 'g', 'u', 'e', 's', 't',         /* hostname */
    55, 4, 1, 3, 6, 119,                    /* parameter request list */
    255};

/* Builds BOOTP + options with libnet; the buffer is exactly the packet. */
static uint8_t *libnet_dhcp(const uint8_t *opts, size_t optlen, size_t *len)
{
    libnet_t *l = vk_test_libnet();
    assert_true(libnet_build_dhcpv4(LIBNET_DHCP_REQUEST, 1, 6, 0, 0x1234, 3, 0x8000, 0, 0, 0,
                                    0x0a000202, guest_mac, "srv", "pxelinux.0", opts,
                                    (uint32_t)optlen, l, 0) != -1);
    return vk_test_libnet_frame(l, len);
}

static void test_dhcp_discover_fields_match_libnet(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = libnet_dhcp(discover_opts, sizeof(discover_opts), &n);
    vk_dhcp_repr d;
    assert_int_equal(vk_dhcp_parse(p, n, &d), VK_OK);
    assert_int_equal(d.op, VK_BOOTP_REQUEST);
    assert_int_equal(d.htype, 1);
    assert_int_equal(d.hlen, 6);
    assert_int_equal(d.xid, 0x1234);
    assert_int_equal(d.secs, 3);
    assert_int_equal(d.flags, VK_DHCP_FLAG_BROADCAST);
    vk_ip4 gi = {{10, 0, 2, 2}};
    assert_memory_equal(d.giaddr.b, gi.b, 4);
    vk_mac m;
    assert_true(vk_dhcp_chaddr_mac(&d, &m));
    assert_memory_equal(m.b, guest_mac, 6);
    assert_string_equal(d.sname, "srv");
    assert_string_equal(d.file, "pxelinux.0");
    assert_int_equal(d.msg_type, VK_DHCP_DISCOVER);
    assert_int_equal(d.client_id_len, 7);
    assert_memory_equal(d.client_id + 1, guest_mac, 6);
    assert_true(d.has_max_msg_size);
    assert_int_equal(d.max_msg_size, 1500);
    assert_true(d.has_requested_ip);
    vk_ip4 rq = {{10, 0, 2, 15}};
    assert_memory_equal(d.requested_ip.b, rq.b, 4);
    assert_int_equal(d.hostname_len, 5);
    assert_memory_equal(d.hostname, "guest", 5);
    assert_int_equal(d.param_request_len, 4);
    assert_int_equal(d.param_request[3], 119);
    assert_false(d.has_server_id);
    assert_int_equal(d.options_len, sizeof(discover_opts) - 1);
    free(p);
}

static void test_dhcp_every_truncation_is_refused(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = libnet_dhcp(discover_opts, sizeof(discover_opts), &n);
    for (size_t k = 0; k < n; k++) {
        uint8_t *cut = malloc(k > 0 ? k : 1);
        memcpy(cut, p, k);
        vk_dhcp_repr d;
        int err = vk_dhcp_parse(cut, k, &d);
        if (err != VK_ETRUNC)
            fail_msg("cut at %zu: %s", k, vk_errname(err));
        free(cut);
    }
    free(p);
}

static void test_dhcp_short_packet_is_truncated(void **state)
{
    (void)state;
    uint8_t p[239] = {0};
    vk_dhcp_repr d;
    assert_int_equal(vk_dhcp_parse(p, sizeof(p), &d), VK_ETRUNC);
}

static void test_dhcp_bad_magic_cookie_is_malformed(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = libnet_dhcp(discover_opts, sizeof(discover_opts), &n);
    p[239] = 98;
    vk_dhcp_repr d;
    assert_int_equal(vk_dhcp_parse(p, n, &d), VK_EFORMAT);
    free(p);
}

static void test_dhcp_option_running_past_end_is_truncated(void **state)
{
    (void)state;
    const uint8_t opts[] = {53, 1, 1, 12, 20, 'a', 'b', 255};
    size_t n;
    uint8_t *p = libnet_dhcp(opts, sizeof(opts), &n);
    vk_dhcp_repr d;
    assert_int_equal(vk_dhcp_parse(p, n, &d), VK_ETRUNC);
    free(p);
}

static void test_dhcp_option_without_length_byte_is_truncated(void **state)
{
    (void)state;
    const uint8_t opts[] = {53, 1, 1, 12};
    size_t n;
    uint8_t *p = libnet_dhcp(opts, sizeof(opts), &n);
    vk_dhcp_repr d;
    assert_int_equal(vk_dhcp_parse(p, n, &d), VK_ETRUNC);
    free(p);
}

static void test_dhcp_options_without_end_are_truncated(void **state)
{
    (void)state;
    const uint8_t opts[] = {53, 1, 1, 0, 0};
    size_t n;
    uint8_t *p = libnet_dhcp(opts, sizeof(opts), &n);
    vk_dhcp_repr d;
    assert_int_equal(vk_dhcp_parse(p, n, &d), VK_ETRUNC);
    free(p);
}

static void test_dhcp_without_message_type_parses_with_type_zero(void **state)
{
    (void)state;
    /* Plain BOOTP: valid on the wire, the server decides to ignore it. */
    const uint8_t opts[] = {255};
    size_t n;
    uint8_t *p = libnet_dhcp(opts, sizeof(opts), &n);
    vk_dhcp_repr d;
    assert_int_equal(vk_dhcp_parse(p, n, &d), VK_OK);
    assert_int_equal(d.msg_type, 0);
    assert_int_equal(d.options_len, 0);
    free(p);
}

static void test_dhcp_fixed_size_option_with_wrong_length_is_malformed(void **state)
{
    (void)state;
    const uint8_t bad_type[] = {53, 2, 1, 1, 255};
    const uint8_t bad_ip[] = {53, 1, 3, 50, 3, 10, 0, 2, 255};
    const uint8_t empty_list[] = {53, 1, 1, 55, 0, 255};
    const uint8_t *cases[] = {bad_type, bad_ip, empty_list};
    const size_t lens[] = {sizeof(bad_type), sizeof(bad_ip), sizeof(empty_list)};
    for (size_t i = 0; i < 3; i++) {
        size_t n;
        uint8_t *p = libnet_dhcp(cases[i], lens[i], &n);
        vk_dhcp_repr d;
        assert_int_equal(vk_dhcp_parse(p, n, &d), VK_EFORMAT);
        free(p);
    }
}

static void test_dhcp_data_after_end_is_ignored(void **state)
{
    (void)state;
    const uint8_t opts[] = {53, 1, 3, 255, 12, 200, 0, 0};
    size_t n;
    uint8_t *p = libnet_dhcp(opts, sizeof(opts), &n);
    vk_dhcp_repr d;
    assert_int_equal(vk_dhcp_parse(p, n, &d), VK_OK);
    assert_int_equal(d.msg_type, VK_DHCP_REQUEST);
    assert_null(d.hostname);
    free(p);
}

static void test_dhcp_sname_without_nul_is_cut_at_field_end(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = libnet_dhcp(discover_opts, sizeof(discover_opts), &n);
    memset(p + 44, 'x', 64 + 128);
    vk_dhcp_repr d;
    assert_int_equal(vk_dhcp_parse(p, n, &d), VK_OK);
    assert_int_equal(strlen(d.sname), 64);
    assert_int_equal(strlen(d.file), 128);
    free(p);
}

static void test_dhcp_emit_header_matches_libnet(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = libnet_dhcp(discover_opts, sizeof(discover_opts), &n);
    vk_dhcp_repr d;
    assert_int_equal(vk_dhcp_parse(p, n, &d), VK_OK);
    uint8_t out[VK_DHCP_OPTIONS_OFF];
    vk_wr w;
    vk_wr_init(&w, out, sizeof(out));
    assert_int_equal(vk_dhcp_emit_header(&d, &w), VK_OK);
    assert_int_equal(w.off, VK_DHCP_OPTIONS_OFF);
    assert_memory_equal(out, p, VK_DHCP_OPTIONS_OFF);
    vk_wr_init(&w, out, sizeof(out) - 1);
    assert_int_equal(vk_dhcp_emit_header(&d, &w), VK_EFULL);
    free(p);
}

/* Option codes in order, by walking the emitted options. */
static size_t option_codes(const uint8_t *p, size_t len, uint8_t *codes, size_t max)
{
    size_t k = 0;
    for (size_t off = VK_DHCP_OPTIONS_OFF; off < len && p[off] != 255 && k < max;) {
        if (p[off] == 0) {
            off++;
            continue;
        }
        codes[k++] = p[off];
        off += 2 + (size_t)p[off + 1];
    }
    return k;
}

static void test_dhcp_emit_keeps_caller_option_order(void **state)
{
    (void)state;
    vk_dhcp_repr r = {.op = VK_BOOTP_REPLY, .htype = 1, .hlen = 6, .xid = 0xcafe};
    memcpy(r.chaddr, guest_mac, 6);
    r.yiaddr = (vk_ip4){{10, 0, 2, 15}};
    vk_ip4 srv = {{10, 0, 2, 2}}, mask = {{255, 255, 255, 0}}, dns = {{10, 0, 2, 3}};
    const char *search[] = {"example.com"};
    uint8_t b[576];
    vk_wr w;
    vk_wr_init(&w, b, sizeof(b));
    /* libslirp's order. */
    assert_int_equal(vk_dhcp_emit_header(&r, &w), VK_OK);
    assert_int_equal(vk_dhcp_put_u8(&w, VK_DHCP_OPT_MSG_TYPE, VK_DHCP_OFFER), VK_OK);
    assert_int_equal(vk_dhcp_put_ip4(&w, VK_DHCP_OPT_SERVER_ID, &srv), VK_OK);
    assert_int_equal(vk_dhcp_put_ip4(&w, VK_DHCP_OPT_SUBNET_MASK, &mask), VK_OK);
    assert_int_equal(vk_dhcp_put_ip4(&w, VK_DHCP_OPT_ROUTER, &srv), VK_OK);
    assert_int_equal(vk_dhcp_put_ip4(&w, VK_DHCP_OPT_DNS, &dns), VK_OK);
    assert_int_equal(vk_dhcp_put_u32(&w, VK_DHCP_OPT_LEASE_TIME, 86400), VK_OK);
    assert_int_equal(vk_dhcp_put_option(&w, VK_DHCP_OPT_HOSTNAME, "vm", 2), VK_OK);
    assert_int_equal(vk_dhcp_put_option(&w, VK_DHCP_OPT_DOMAIN_NAME, "example.com", 11),
                     VK_OK);
    assert_int_equal(vk_dhcp_put_search(&w, search, 1), VK_OK);
    assert_int_equal(vk_dhcp_finish(&w, VK_DHCP_MIN_LEN), VK_OK);
    assert_true(w.off >= VK_DHCP_MIN_LEN);

    uint8_t codes[16];
    const uint8_t want[] = {53, 54, 1, 3, 6, 51, 12, 15, 119};
    assert_int_equal(option_codes(b, w.off, codes, 16), sizeof(want));
    assert_memory_equal(codes, want, sizeof(want));

    vk_dhcp_repr d;
    assert_int_equal(vk_dhcp_parse(b, w.off, &d), VK_OK);
    assert_int_equal(d.msg_type, VK_DHCP_OFFER);
    assert_int_equal(d.xid, 0xcafe);
    assert_true(d.has_server_id);
    assert_memory_equal(d.server_id.b, srv.b, 4);
    assert_int_equal(d.lease_time, 86400);
    assert_memory_equal(d.yiaddr.b, r.yiaddr.b, 4);
}

static void test_dhcp_writer_overflow_is_full_and_stays_in_bounds(void **state)
{
    (void)state;
    uint8_t b[VK_DHCP_OPTIONS_OFF + 4 + 1];
    b[sizeof(b) - 1] = 0xee;
    vk_dhcp_repr r = {.op = 1};
    vk_wr w;
    vk_wr_init(&w, b, sizeof(b) - 1);
    assert_int_equal(vk_dhcp_emit_header(&r, &w), VK_OK);
    assert_int_equal(vk_dhcp_put_u32(&w, VK_DHCP_OPT_LEASE_TIME, 1), VK_EFULL);
    assert_int_equal(vk_dhcp_finish(&w, 0), VK_EFULL);
    assert_int_equal(b[sizeof(b) - 1], 0xee);
}

static void test_dhcp_search_list_compresses_rfc3397_example(void **state)
{
    (void)state;
    /* RFC 3397 section 2. */
    const char *names[] = {"eng.apple.com.", "marketing.apple.com."};
    const uint8_t want[] = {3,   'e', 'n', 'g', 5,   'a', 'p', 'p', 'l', 'e', 3,
                            'c', 'o', 'm', 0,   9,   'm', 'a', 'r', 'k', 'e', 't',
                            'i', 'n', 'g', 0xc0, 0x04};
    uint8_t out[64];
    size_t n;
    assert_int_equal(vk_dhcp_encode_search(names, 2, out, sizeof(out), &n), VK_OK);
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(out, want, n);
}

static void test_dhcp_search_list_reuses_whole_names_case_insensitively(void **state)
{
    (void)state;
    const char *names[] = {"example.com", "a.EXAMPLE.com", "example.com"};
    uint8_t out[64];
    size_t n;
    assert_int_equal(vk_dhcp_encode_search(names, 3, out, sizeof(out), &n), VK_OK);
    /* 7example3com0 | 1a + ptr 0 | ptr 0 */
    const uint8_t want[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
                            1, 'a', 0xc0, 0x00, 0xc0, 0x00};
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(out, want, n);
}

static void test_dhcp_search_list_rejects_bad_names(void **state)
{
    (void)state;
    uint8_t out[512];
    size_t n;
    const char *empty[] = {""};
    const char *double_dot[] = {"a..b"};
    const char *leading_dot[] = {".a"};
    char label64[80];
    memset(label64, 'x', 64);
    strcpy(label64 + 64, ".com");
    const char *long_label[] = {label64};
    assert_int_equal(vk_dhcp_encode_search(empty, 1, out, sizeof(out), &n), VK_EINVAL);
    assert_int_equal(vk_dhcp_encode_search(double_dot, 1, out, sizeof(out), &n), VK_EINVAL);
    assert_int_equal(vk_dhcp_encode_search(leading_dot, 1, out, sizeof(out), &n), VK_EINVAL);
    assert_int_equal(vk_dhcp_encode_search(long_label, 1, out, sizeof(out), &n), VK_EINVAL);
    const char *ok[] = {"example.com"};
    assert_int_equal(vk_dhcp_encode_search(ok, 1, out, 5, &n), VK_EFULL);
}

static void test_dhcp_search_list_longer_than_255_is_split(void **state)
{
    (void)state;
    /* 30 unrelated names of 12 bytes each: 30 * 13 bytes, no compression. */
    char store[30][24];
    const char *names[30];
    for (int i = 0; i < 30; i++) {
        snprintf(store[i], sizeof(store[i]), "d%02dxxxxx.t%c", i, 'a' + i % 26);
        names[i] = store[i];
    }
    uint8_t enc[VK_DHCP_SEARCH_MAX];
    size_t elen;
    assert_int_equal(vk_dhcp_encode_search(names, 30, enc, sizeof(enc), &elen), VK_OK);
    assert_true(elen > 255);
    uint8_t b[1024];
    vk_wr w;
    vk_wr_init(&w, b, sizeof(b));
    assert_int_equal(vk_dhcp_put_search(&w, names, 30), VK_OK);
    /* Instances of 119: 255 bytes, then the rest; concatenation = encoding. */
    assert_int_equal(b[0], 119);
    assert_int_equal(b[1], 255);
    assert_int_equal(b[257], 119);
    assert_int_equal(b[258], elen - 255);
    assert_memory_equal(b + 2, enc, 255);
    assert_memory_equal(b + 259, enc + 255, elen - 255);
    assert_int_equal(w.off, elen + 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dhcp_discover_fields_match_libnet),
        cmocka_unit_test(test_dhcp_every_truncation_is_refused),
        cmocka_unit_test(test_dhcp_short_packet_is_truncated),
        cmocka_unit_test(test_dhcp_bad_magic_cookie_is_malformed),
        cmocka_unit_test(test_dhcp_option_running_past_end_is_truncated),
        cmocka_unit_test(test_dhcp_option_without_length_byte_is_truncated),
        cmocka_unit_test(test_dhcp_options_without_end_are_truncated),
        cmocka_unit_test(test_dhcp_without_message_type_parses_with_type_zero),
        cmocka_unit_test(test_dhcp_fixed_size_option_with_wrong_length_is_malformed),
        cmocka_unit_test(test_dhcp_data_after_end_is_ignored),
        cmocka_unit_test(test_dhcp_sname_without_nul_is_cut_at_field_end),
        cmocka_unit_test(test_dhcp_emit_header_matches_libnet),
        cmocka_unit_test(test_dhcp_emit_keeps_caller_option_order),
        cmocka_unit_test(test_dhcp_writer_overflow_is_full_and_stays_in_bounds),
        cmocka_unit_test(test_dhcp_search_list_compresses_rfc3397_example),
        cmocka_unit_test(test_dhcp_search_list_reuses_whole_names_case_insensitively),
        cmocka_unit_test(test_dhcp_search_list_rejects_bad_names),
        cmocka_unit_test(test_dhcp_search_list_longer_than_255_is_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
