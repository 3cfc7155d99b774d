/* QEMU's option-string grammar and the typed getters built on it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/options.h"

/* Parses text as a -netdev (implied key "type"); fails the test on error. */
static void parse_ok(const char *text, vk_opts *o)
{
    vk_diag d = {{0}};
    int r = vk_opts_parse("-netdev", "type", text, o, &d);
    if (r != VK_OK)
        fail_msg("parse of '%s' failed: %s", text, d.msg);
}

static void test_first_element_without_key_is_the_implied_key(void **state)
{
    (void)state;
    vk_opts o;
    parse_ok("user,id=n0", &o);
    assert_int_equal(o.n, 2);
    assert_string_equal(vk_opts_get(&o, "type"), "user");
    assert_string_equal(vk_opts_get(&o, "id"), "n0");
    vk_opts_free(&o);
    /* the implied key may also be written out, in any position */
    parse_ok("id=n0,type=user", &o);
    assert_string_equal(vk_opts_get(&o, "type"), "user");
    vk_opts_free(&o);
}

static void test_without_implied_key_a_bare_first_element_means_on(void **state)
{
    (void)state;
    vk_opts o;
    assert_int_equal(vk_opts_parse("-x", NULL, "verbose,level=3", &o, NULL), VK_OK);
    assert_string_equal(vk_opts_get(&o, "verbose"), "on");
    assert_string_equal(vk_opts_get(&o, "level"), "3");
    vk_opts_free(&o);
}

static void test_double_comma_is_a_literal_comma(void **state)
{
    (void)state;
    vk_opts o;
    parse_ok("pcap,id=p,in=a,,b.pcap,out=c,,,,d", &o);
    assert_int_equal(o.n, 4);
    assert_string_equal(vk_opts_get(&o, "in"), "a,b.pcap");
    assert_string_equal(vk_opts_get(&o, "out"), "c,,d");
    vk_opts_free(&o);
    /* also in the implied element, and ",,," is an escaped comma then a separator */
    parse_ok("we,,ird,,,id=x", &o);
    assert_string_equal(vk_opts_get(&o, "type"), "we,ird,");
    assert_string_equal(vk_opts_get(&o, "id"), "x");
    vk_opts_free(&o);
}

static void test_bare_key_means_on(void **state)
{
    (void)state;
    vk_opts o;
    parse_ok("user,id=n0,restrict,ipv6=off", &o);
    assert_string_equal(vk_opts_get(&o, "restrict"), "on");
    bool b;
    assert_int_equal(vk_opts_get_bool(&o, "restrict", false, &b, NULL), VK_OK);
    assert_true(b);
    assert_int_equal(vk_opts_get_bool(&o, "ipv6", true, &b, NULL), VK_OK);
    assert_false(b);
    vk_opts_free(&o);
}

static void test_repeated_key_last_wins_in_get_every_one_in_get_all(void **state)
{
    (void)state;
    vk_opts o;
    parse_ok("user,id=n0,dnssearch=a.org,hostfwd=tcp::1-:2,dnssearch=b.org,dnssearch=c.org",
             &o);
    assert_string_equal(vk_opts_get(&o, "dnssearch"), "c.org");
    const char *vals[4];
    assert_int_equal(vk_opts_get_all(&o, "dnssearch", vals, 4), 3);
    assert_string_equal(vals[0], "a.org");
    assert_string_equal(vals[1], "b.org");
    assert_string_equal(vals[2], "c.org");
    /* at most max are returned, the first ones */
    assert_int_equal(vk_opts_get_all(&o, "dnssearch", vals, 2), 2);
    assert_string_equal(vals[1], "b.org");
    assert_int_equal(vk_opts_get_all(&o, "nosuch", vals, 4), 0);
    vk_opts_free(&o);
}

static void test_empty_value_is_kept_as_empty_string(void **state)
{
    (void)state;
    vk_opts o;
    parse_ok("user,id=n0,domainname=", &o);
    assert_true(vk_opts_has(&o, "domainname"));
    assert_string_equal(vk_opts_get(&o, "domainname"), "");
    vk_opts_free(&o);
}

static void test_value_may_contain_equals_signs(void **state)
{
    (void)state;
    vk_opts o;
    parse_ok("user,id=n0,guestfwd=tcp:10.0.2.100:80-cmd:x=y", &o);
    assert_string_equal(vk_opts_get(&o, "guestfwd"), "tcp:10.0.2.100:80-cmd:x=y");
    vk_opts_free(&o);
}

static void test_trailing_comma_is_ignored_as_in_qemu(void **state)
{
    (void)state;
    vk_opts o;
    parse_ok("user,id=n0,", &o);
    assert_int_equal(o.n, 2);
    vk_opts_free(&o);
}

static void test_empty_text_and_empty_elements_are_errors(void **state)
{
    (void)state;
    vk_opts o;
    vk_diag d = {{0}};
    assert_int_equal(vk_opts_parse("-netdev", "type", "", &o, &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "empty option value"));
    assert_int_equal(o.n, 0);
    assert_int_equal(vk_opts_parse("-netdev", "type", ",id=x", &o, &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "-netdev ,id=x"));
    assert_non_null(strstr(d.msg, "empty element"));
    assert_int_equal(vk_opts_parse("-netdev", "type", "user,=x", &o, &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "empty key"));
    /* a failed parse leaves nothing to free (vk_opts_free is still safe) */
    vk_opts_free(&o);
}

static void test_uint_getter_accepts_range_and_rejects_junk(void **state)
{
    (void)state;
    vk_opts o;
    parse_ok("x,a=42,b=0x10,c=7k,d=-1,e=300,f=99999999999999999999999,g=,h= 5", &o);
    uint64_t v;
    assert_int_equal(vk_opts_get_uint(&o, "a", 0, 0, 100, &v, NULL), VK_OK);
    assert_int_equal(v, 42);
    assert_int_equal(vk_opts_get_uint(&o, "b", 0, 0, 100, &v, NULL), VK_OK);
    assert_int_equal(v, 16);
    assert_int_equal(vk_opts_get_uint(&o, "absent", 9, 0, 100, &v, NULL), VK_OK);
    assert_int_equal(v, 9);
    vk_diag d;
    assert_int_equal(vk_opts_get_uint(&o, "c", 0, 0, 100, &v, &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "key 'c': '7k' is not a number"));
    assert_int_equal(vk_opts_get_uint(&o, "d", 0, 0, 100, &v, &d), VK_EINVAL);
    assert_int_equal(vk_opts_get_uint(&o, "e", 0, 0, 255, &v, &d), VK_ERANGE);
    assert_non_null(strstr(d.msg, "key 'e': 300 is out of range 0..255"));
    assert_int_equal(vk_opts_get_uint(&o, "a", 0, 50, 100, &v, &d), VK_ERANGE);
    assert_int_equal(vk_opts_get_uint(&o, "f", 0, 0, UINT64_MAX, &v, &d), VK_ERANGE);
    assert_int_equal(vk_opts_get_uint(&o, "g", 0, 0, 100, &v, &d), VK_EINVAL);
    assert_int_equal(vk_opts_get_uint(&o, "h", 0, 0, 100, &v, &d), VK_EINVAL);
    /* bounds are inclusive */
    assert_int_equal(vk_opts_get_uint(&o, "a", 0, 42, 42, &v, NULL), VK_OK);
    vk_opts_free(&o);
}

static void test_bool_getter_takes_on_off_yes_no_true_false(void **state)
{
    (void)state;
    vk_opts o;
    parse_ok("x,a=on,b=off,c=yes,d=no,e=true,f=false,g=1,h=ON", &o);
    const struct {
        const char *key;
        int want; /* 1, 0, or -1 for an error */
    } cases[] = {{"a", 1}, {"b", 0}, {"c", 1}, {"d", 0}, {"e", 1}, {"f", 0}, {"g", -1}, {"h", -1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool b = cases[i].want == 0;
        vk_diag d;
        int r = vk_opts_get_bool(&o, cases[i].key, false, &b, &d);
        if (cases[i].want < 0) {
            assert_int_equal(r, VK_EINVAL);
            assert_non_null(strstr(d.msg, "is not on or off"));
        } else {
            assert_int_equal(r, VK_OK);
            assert_int_equal(b, cases[i].want);
        }
    }
    bool b = false;
    assert_int_equal(vk_opts_get_bool(&o, "absent", true, &b, NULL), VK_OK);
    assert_true(b);
    vk_opts_free(&o);
}

static void test_mac_getter_rejects_bad_and_multicast_addresses(void **state)
{
    (void)state;
    vk_opts o;
    parse_ok("x,a=52:54:00:12:34:56,b=52-54-00-AB-cd-EF,c=52:54:00:12:34,d=zz:54:00:12:34:56,"
             "e=01:00:5e:00:00:01,f=ff:ff:ff:ff:ff:ff",
             &o);
    bool present;
    vk_mac m;
    vk_diag d;
    assert_int_equal(vk_opts_get_mac(&o, "a", &present, &m, NULL), VK_OK);
    assert_true(present);
    const vk_mac want = {{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
    assert_memory_equal(m.b, want.b, 6);
    assert_int_equal(vk_opts_get_mac(&o, "b", &present, &m, NULL), VK_OK);
    assert_int_equal(m.b[3], 0xab);
    assert_int_equal(m.b[5], 0xef);
    assert_int_equal(vk_opts_get_mac(&o, "c", &present, &m, &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "key 'c': '52:54:00:12:34' is not a MAC address"));
    assert_int_equal(vk_opts_get_mac(&o, "d", &present, &m, &d), VK_EINVAL);
    assert_int_equal(vk_opts_get_mac(&o, "e", &present, &m, &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "multicast"));
    assert_int_equal(vk_opts_get_mac(&o, "f", &present, &m, &d), VK_EINVAL);
    assert_int_equal(vk_opts_get_mac(&o, "absent", &present, &m, NULL), VK_OK);
    assert_false(present);
    vk_opts_free(&o);
}

static void test_duration_parser_units(void **state)
{
    (void)state;
    const struct {
        const char *text;
        uint64_t ns;
    } good[] = {
        {"1.5s", 1500000000ull}, {"1.5", 1500000000ull}, {"200ms", 200000000ull},
        {"10us", 10000ull},      {"5ns", 5ull},          {"0", 0},
        {".25s", 250000000ull},  {"3600", 3600000000000ull},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t ns = 12345;
        assert_int_equal(vk_parse_duration(good[i].text, &ns), VK_OK);
        assert_int_equal(ns, good[i].ns);
    }
    const char *bad[] = {"", "s", "1m", "1h", "10 ms", "1.5sec", "-1", "ms", "1msx", "abc", "1MS"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ns = 777;
        if (vk_parse_duration(bad[i], &ns) != VK_EINVAL)
            fail_msg("duration '%s' was accepted", bad[i]);
        assert_int_equal(ns, 777); /* untouched on error */
    }
    uint64_t ns;
    assert_int_equal(vk_parse_duration(NULL, &ns), VK_EINVAL);
    assert_int_equal(vk_parse_duration("1e30", &ns), VK_ERANGE);
}

static void test_unknown_key_is_the_first_one_no_getter_asked_for(void **state)
{
    (void)state;
    vk_opts o;
    parse_ok("user,id=n0,net=10.0.2.0/24,bogus=1,other=2", &o);
    vk_diag d;
    assert_int_equal(vk_opts_check_unused(&o, &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "key 'type': unknown key"));
    (void)vk_opts_get(&o, "type");
    (void)vk_opts_get(&o, "id");
    vk_opts_mark_used(&o, "net");
    assert_int_equal(vk_opts_check_unused(&o, &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "key 'bogus': unknown key"));
    uint64_t v;
    assert_int_equal(vk_opts_get_uint(&o, "bogus", 0, 0, 9, &v, NULL), VK_OK);
    (void)vk_opts_has(&o, "other"); /* asking whether it exists does not use it */
    assert_int_equal(vk_opts_check_unused(&o, &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "key 'other'"));
    vk_opts_mark_used(&o, "other");
    assert_int_equal(vk_opts_check_unused(&o, &d), VK_OK);
    vk_opts_free(&o);
}

static void test_getting_a_repeated_key_marks_every_occurrence_used(void **state)
{
    (void)state;
    vk_opts o;
    parse_ok("x,k=1,k=2,j=1,j=2", &o);
    (void)vk_opts_get(&o, "type");
    (void)vk_opts_get(&o, "k");
    const char *vals[1];
    (void)vk_opts_get_all(&o, "j", vals, 1);
    assert_int_equal(vk_opts_check_unused(&o, NULL), VK_OK);
    vk_opts_free(&o);
}

static void test_error_messages_name_the_option_text_and_key(void **state)
{
    (void)state;
    vk_opts o;
    assert_int_equal(vk_opts_parse("-device", "driver", "e1000,netdev=n0,mac=bad", &o, NULL),
                     VK_OK);
    vk_diag d;
    bool present;
    vk_mac m;
    assert_int_equal(vk_opts_get_mac(&o, "mac", &present, &m, &d), VK_EINVAL);
    assert_string_equal(d.msg,
                        "-device e1000,netdev=n0,mac=bad: key 'mac': 'bad' is not a MAC address");
    assert_int_equal(vk_opts_error(&o, &d, VK_ENOENT, NULL, "no such %s", "thing"), VK_ENOENT);
    assert_string_equal(d.msg, "-device e1000,netdev=n0,mac=bad: no such thing");
    /* a NULL diag is allowed everywhere */
    assert_int_equal(vk_opts_error(&o, NULL, VK_EINVAL, "mac", "x"), VK_EINVAL);
    vk_opts_free(&o);
}

/* QEMU's keyval syntax for -netdev stream/dgram nests with dots
 * (addr.type=unix); the flat grammar keeps the dotted name as the key. */
static void test_dotted_keys_are_kept_whole(void **state)
{
    (void)state;
    vk_opts o;
    parse_ok("stream,id=s0,server=on,addr.type=unix,addr.path=/tmp/a,,b", &o);
    assert_string_equal(vk_opts_get(&o, "addr.type"), "unix");
    assert_string_equal(vk_opts_get(&o, "addr.path"), "/tmp/a,b");
    assert_null(vk_opts_get(&o, "addr"));
    assert_string_equal(vk_opts_get(&o, "type"), "stream");
    vk_opts_free(&o);
    /* an unknown dotted key is named whole */
    parse_ok("stream,addr.type=unix,addr.paht=/tmp/a", &o);
    vk_opts_get(&o, "type");
    vk_opts_get(&o, "addr.type");
    vk_diag d = {{0}};
    assert_int_equal(vk_opts_check_unused(&o, &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "key 'addr.paht': unknown key"));
    vk_opts_free(&o);
}

static void test_keyword_tables_map_names_to_indices_and_back(void **state)
{
    (void)state;
    static const char *const names[] = {"none", "csum", "tso"};
    assert_int_equal(VK_NAMES_COUNT(names), 3);
    assert_int_equal(vk_name_index(names, VK_NAMES_COUNT(names), "none"), 0);
    assert_int_equal(vk_name_index(names, VK_NAMES_COUNT(names), "tso"), 2);
    assert_int_equal(vk_name_index(names, VK_NAMES_COUNT(names), "TSO"), -1);
    assert_int_equal(vk_name_index(names, VK_NAMES_COUNT(names), ""), -1);
    assert_int_equal(vk_name_index(names, 2, "tso"), -1); /* only the first count entries */
    assert_string_equal(vk_name_at(names, VK_NAMES_COUNT(names), 1), "csum");
    assert_string_equal(vk_name_at(names, VK_NAMES_COUNT(names), 3), "?");
    assert_string_equal(vk_name_at(names, VK_NAMES_COUNT(names), (size_t)-1), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_element_without_key_is_the_implied_key),
        cmocka_unit_test(test_without_implied_key_a_bare_first_element_means_on),
        cmocka_unit_test(test_double_comma_is_a_literal_comma),
        cmocka_unit_test(test_bare_key_means_on),
        cmocka_unit_test(test_repeated_key_last_wins_in_get_every_one_in_get_all),
        cmocka_unit_test(test_empty_value_is_kept_as_empty_string),
        cmocka_unit_test(test_value_may_contain_equals_signs),
        cmocka_unit_test(test_trailing_comma_is_ignored_as_in_qemu),
        cmocka_unit_test(test_empty_text_and_empty_elements_are_errors),
        cmocka_unit_test(test_uint_getter_accepts_range_and_rejects_junk),
        cmocka_unit_test(test_bool_getter_takes_on_off_yes_no_true_false),
        cmocka_unit_test(test_mac_getter_rejects_bad_and_multicast_addresses),
        cmocka_unit_test(test_duration_parser_units),
        cmocka_unit_test(test_unknown_key_is_the_first_one_no_getter_asked_for),
        cmocka_unit_test(test_getting_a_repeated_key_marks_every_occurrence_used),
        cmocka_unit_test(test_error_messages_name_the_option_text_and_key),
        cmocka_unit_test(test_dotted_keys_are_kept_whole),
        cmocka_unit_test(test_keyword_tables_map_names_to_indices_and_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
