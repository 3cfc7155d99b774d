/*
 * -netdev user options: QEMU's defaults, and every inconsistent value is a
 * one-line input error naming the option and the key.
 */
#include "test_user_harness.h"

#include <unistd.h>

static void expect_error(const char *opts, int err, const char *key, const char *text)
{
    uh h;
    vk_diag d = {{0}};
    int r = uh_open(&h, opts, &d);
    if (r != err)
        fail_msg("%s: got %d (%s), wanted %d", opts, r, d.msg, err);
    char want[64];
    snprintf(want, sizeof want, "key '%s'", key);
    if (strstr(d.msg, want) == NULL || strstr(d.msg, "-netdev") == NULL ||
        strstr(d.msg, text) == NULL)
        fail_msg("%s: message '%s' lacks -netdev, %s or '%s'", opts, d.msg, want, text);
    uh_close(&h);
}

static void test_defaults_are_qemus(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u");
    char buf[128];
    vk_port_describe(h.user, buf, sizeof buf);
    assert_string_equal(buf, "user net=10.0.2.0/24 host=10.0.2.2");
    uh_close(&h);
}

static void test_net_without_mask_is_classful(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,net=172.16.0.0");
    char buf[128];
    vk_port_describe(h.user, buf, sizeof buf);
    assert_string_equal(buf, "user net=172.16.0.0/16 host=172.16.0.2");
    uh_close(&h);
}

static void test_dotted_mask_is_accepted(void **state)
{
    (void)state;
    uh h;
    uh_open_ok(&h, "user,id=u,net=192.168.5.0/255.255.255.0,restrict=on,ipv6=off");
    char buf[128];
    vk_port_describe(h.user, buf, sizeof buf);
    assert_string_equal(buf, "user net=192.168.5.0/24 host=192.168.5.2 restrict=on ipv6=off");
    uh_close(&h);
}

static void test_inconsistent_values_name_the_key(void **state)
{
    (void)state;
    expect_error("user,id=u,dhcpstart=10.0.3.15", VK_EINVAL, "dhcpstart", "outside net");
    expect_error("user,id=u,host=10.0.2.3", VK_EINVAL, "dns", "must differ from host");
    expect_error("user,id=u,net=10.0.0.0/255.0.255.0", VK_EINVAL, "net", "contiguous");
    expect_error("user,id=u,host=10.0.9.2", VK_EINVAL, "host", "outside net");
    expect_error("user,id=u,dns=192.168.0.3", VK_EINVAL, "dns", "outside net");
    expect_error("user,id=u,net=10.0.2.1/24", VK_EINVAL, "net", "host bits");
    expect_error("user,id=u,net=10.0.2.0/31", VK_EINVAL, "net", "no room");
    expect_error("user,id=u,dhcpstart=10.0.2.250", VK_EINVAL, "dhcpstart", "runs past");
    expect_error("user,id=u,host=10.0.2.20", VK_EINVAL, "dhcpstart", "contains host");
    expect_error("user,id=u,host=10.0.2.255", VK_EINVAL, "host", "broadcast");
    expect_error("user,id=u,host=10.0.2", VK_EINVAL, "host", "not an IPv4 address");
    expect_error("user,id=u,restrict=maybe", VK_EINVAL, "restrict", "not on or off");
    expect_error("user,id=u,ipv4=off,ipv6=off", VK_EINVAL, "ipv6", "leave nothing");
    expect_error("user,id=u,ipv6-host=fec1::2", VK_EINVAL, "ipv6-host", "outside ipv6-net");
    expect_error("user,id=u,ipv6-dns=fec0::2", VK_EINVAL, "ipv6-dns", "must differ");
    expect_error("user,id=u,ipv6-net=fec0::1/64", VK_EINVAL, "ipv6-net", "host bits");
    expect_error("user,id=u,dnssearch=bad..name", VK_EINVAL, "dnssearch", "valid domain");
    expect_error("user,id=u,tftp=/nonexistent/vk-dir", VK_ENOENT, "tftp", "no such directory");
    expect_error("user,id=u,tftp=/etc/hostname", VK_EINVAL, "tftp", "not a directory");
}

static void test_oversized_dhcp_options_are_refused(void **state)
{
    (void)state;
    char opts[1024], name[110];
    memset(name, 'a', 109);
    name[109] = '\0';
    snprintf(opts, sizeof opts, "user,id=u,hostname=%s,domainname=%s,tftp-server-name=%s", name,
             name, name);
    expect_error(opts, VK_EINVAL, "tftp-server-name", "312");
    char file[200];
    memset(file, 'f', 150);
    file[150] = '\0';
    snprintf(opts, sizeof opts, "user,id=u,bootfile=%s", file);
    expect_error(opts, VK_EINVAL, "bootfile", "1 to 127");
}

static void test_bad_guestfwd_rules_use_qemus_words(void **state)
{
    (void)state;
    expect_error("user,id=u,guestfwd=udp:10.0.2.100:80-cmd:cat", VK_EINVAL, "guestfwd",
                 "Invalid guest forwarding rule 'udp:10.0.2.100:80-cmd:cat'");
    expect_error("user,id=u,guestfwd=tcp:10.0.2.100:0-cmd:cat", VK_EINVAL, "guestfwd",
                 "Invalid guest forwarding rule");
    expect_error("user,id=u,guestfwd=tcp:10.0.2.2:80-cmd:cat", VK_EINVAL, "guestfwd",
                 "Conflicting/invalid host:port in guest forwarding rule");
    expect_error("user,id=u,guestfwd=tcp:10.0.2.3:80-cmd:cat", VK_EINVAL, "guestfwd",
                 "Conflicting/invalid host:port");
    expect_error("user,id=u,guestfwd=tcp:192.168.1.1:80-cmd:cat", VK_EINVAL, "guestfwd",
                 "Conflicting/invalid host:port");
    expect_error("user,id=u,guestfwd=:10.0.2.100:80-cmd:cat,guestfwd=tcp:10.0.2.100:80-cmd:x",
                 VK_EINVAL, "guestfwd", "Conflicting/invalid host:port");
    expect_error("user,id=u,guestfwd=tcp:10.0.2.100:80-file:/tmp/x", VK_EUNSUPP, "guestfwd",
                 "Could not open guest forwarding device 'guestfwd.tcp.0'");
}

static void test_smb_without_smbd_names_the_package(void **state)
{
    (void)state;
    if (access("/usr/sbin/smbd", X_OK) == 0)
        skip();
    expect_error("user,id=u,smb=/tmp", VK_EUNSUPP, "smb", "package samba");
}


static void test_bad_hostfwd_rules_say_what_is_wrong(void **state)
{
    (void)state;
    expect_error("user,id=u,hostfwd=sctp::1-:2", VK_EINVAL, "hostfwd", "(bad protocol name)");
    expect_error("user,id=u,hostfwd=tcp:1.2.3.4", VK_EINVAL, "hostfwd",
                 "(missing host-guest separator)");
    expect_error("user,id=u,hostfwd=tcp:1.2.3:1-:2", VK_EINVAL, "hostfwd",
                 "(could not parse host address)");
    expect_error("user,id=u,hostfwd=tcp::65536-:2", VK_EINVAL, "hostfwd", "(bad host port)");
    expect_error("user,id=u,hostfwd=tcp::1-:0", VK_EINVAL, "hostfwd", "(bad guest port)");
    expect_error("user,id=u,hostfwd=tcp::1-:x", VK_EINVAL, "hostfwd", "(bad guest port)");
    expect_error("user,id=u,hostfwd=tcp:[::1:1-:2", VK_EINVAL, "hostfwd",
                 "(missing host-guest separator)");
    expect_error("user,id=u,hostfwd=tcp::1-192.168.0.1:2", VK_EINVAL, "hostfwd",
                 "(guest address outside the virtual network)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_qemus),
        cmocka_unit_test(test_bad_hostfwd_rules_say_what_is_wrong),
        cmocka_unit_test(test_net_without_mask_is_classful),
        cmocka_unit_test(test_dotted_mask_is_accepted),
        cmocka_unit_test(test_inconsistent_values_name_the_key),
        cmocka_unit_test(test_oversized_dhcp_options_are_refused),
        cmocka_unit_test(test_bad_guestfwd_rules_use_qemus_words),
        cmocka_unit_test(test_smb_without_smbd_names_the_package),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
