/*
 * The options of -netdev user, with QEMU's names and defaults, checked for
 * consistency before anything is built: every address goes through core/addr.h
 * and every error names the option and the key.  hostfwd=, guestfwd= and smb=
 * take QEMU's syntax and QEMU's error words (net/slirp.c).  smb= writes a
 * private smbd configuration, as QEMU does, into a directory removed again
 * by vk_user_config_free().
 * `dns-upstream=ADDR[:PORT]` is vnetkit's own key (QEMU has no such option):
 * where DNS queries to the DNS address are forwarded, instead of the host's
 * resolv.conf.  So is `mtu=N` (slirp4netns --mtu, libslirp's if_mtu): the
 * largest IP packet sent to the guest, hence the MSS it is offered.  vk_user_config_parse_keys() is the part the libslirp
 * backend shares (it serves guestfwd= and smb= itself).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "backends/user/user_internal.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wire/dhcp.h"

#define VK_USER_DNSSEARCH_MAX 16

static vk_ip4 ip4_or(vk_ip4 net, uint32_t host_part)
{
    return vk_ip4_from_u32(vk_ip4_to_u32(net) | host_part);
}

/* QEMU's default mask for net=ADDR without one: the address class. */
static int classful_prefix(vk_ip4 a)
{
    if (a.b[0] < 128)
        return 8;
    return a.b[0] < 192 ? 16 : 24;
}

static int parse_net(vk_user_config *c, vk_opts *o, vk_diag *d)
{
    const char *v = vk_opts_get(o, "net");
    if (v == NULL) {
        c->net = vk_ip4_from_u32(0x0a000200u);
        c->prefix = 24;
    } else if (vk_ip4_parse_prefix(v, &c->net, &c->prefix) != VK_OK) {
        return vk_opts_error(o, d, VK_EINVAL, "net",
                             "'%s' is not ADDR[/PREFIX] or ADDR/MASK with a contiguous mask", v);
    }
    if (c->prefix < 0)
        c->prefix = classful_prefix(c->net);
    if (c->prefix < 1 || c->prefix > 30)
        return vk_opts_error(o, d, VK_EINVAL, "net", "prefix /%d leaves no room for hosts",
                             c->prefix);
    uint32_t mask = vk_ip4_mask(c->prefix);
    c->mask = vk_ip4_from_u32(mask);
    if ((vk_ip4_to_u32(c->net) & ~mask) != 0)
        return vk_opts_error(o, d, VK_EINVAL, "net", "'%s' has host bits set", v);
    return VK_OK;
}

static int parse_addr_in_net(vk_user_config *c, vk_opts *o, const char *key, uint32_t def_part,
                             vk_ip4 *out, vk_diag *d)
{
    const char *v = vk_opts_get(o, key);
    if (v == NULL) {
        *out = ip4_or(c->net, def_part);
        return VK_OK;
    }
    if (vk_ip4_parse(v, out) != VK_OK)
        return vk_opts_error(o, d, VK_EINVAL, key, "'%s' is not an IPv4 address", v);
    uint32_t mask = vk_ip4_to_u32(c->mask);
    if ((vk_ip4_to_u32(*out) & mask) != vk_ip4_to_u32(c->net))
        return vk_opts_error(o, d, VK_EINVAL, key, "%s is outside net (%s/%d)", v,
                             vk_ip4_format(&c->net, (char[VK_IP4_STRLEN]){0}), c->prefix);
    uint32_t hostpart = vk_ip4_to_u32(*out) & ~mask;
    if (hostpart == 0 || hostpart == ~mask)
        return vk_opts_error(o, d, VK_EINVAL, key, "%s is the network or broadcast address", v);
    return VK_OK;
}

/* The 16 pool addresses must be usable hosts of net and clash with nothing. */
static int check_pool(const vk_user_config *c, vk_opts *o, vk_diag *d)
{
    uint32_t mask = vk_ip4_to_u32(c->mask);
    uint32_t start = vk_ip4_to_u32(c->dhcp_start);
    uint32_t last = start + VK_USER_DHCP_POOL_SIZE - 1;
    if ((last & mask) != vk_ip4_to_u32(c->net) || (last & ~mask) == ~mask)
        return vk_opts_error(o, d, VK_EINVAL, "dhcpstart",
                             "the pool of %d addresses from it runs past the end of net",
                             VK_USER_DHCP_POOL_SIZE);
    uint32_t host = vk_ip4_to_u32(c->host), dns = vk_ip4_to_u32(c->dns);
    if ((host >= start && host <= last) || (dns >= start && dns <= last))
        return vk_opts_error(o, d, VK_EINVAL, "dhcpstart",
                             "the pool of %d addresses from it contains host or dns",
                             VK_USER_DHCP_POOL_SIZE);
    return VK_OK;
}

static int parse_ipv4(vk_user_config *c, vk_opts *o, vk_diag *d)
{
    int r;
    if ((r = parse_net(c, o, d)) != VK_OK ||
        (r = parse_addr_in_net(c, o, "host", 2, &c->host, d)) != VK_OK ||
        (r = parse_addr_in_net(c, o, "dns", 3, &c->dns, d)) != VK_OK ||
        (r = parse_addr_in_net(c, o, "dhcpstart", 15, &c->dhcp_start, d)) != VK_OK)
        return r;
    if (memcmp(&c->host, &c->dns, sizeof c->host) == 0)
        return vk_opts_error(o, d, VK_EINVAL, "dns", "must differ from host");
    return check_pool(c, o, d);
}

static bool ip6_in_prefix(const vk_ip6 *a, const vk_ip6 *net, int prefix)
{
    for (int i = 0; i < prefix; i++) {
        uint8_t bit = (uint8_t)(0x80 >> (i % 8));
        if ((a->b[i / 8] & bit) != (net->b[i / 8] & bit))
            return false;
    }
    return true;
}

static int parse_ip6_in_net(vk_user_config *c, vk_opts *o, const char *key, uint8_t def_last,
                            vk_ip6 *out, vk_diag *d)
{
    const char *v = vk_opts_get(o, key);
    if (v == NULL) {
        *out = c->net6;
        out->b[15] = def_last;
        return VK_OK;
    }
    if (vk_ip6_parse(v, out) != VK_OK)
        return vk_opts_error(o, d, VK_EINVAL, key, "'%s' is not an IPv6 address", v);
    if (!ip6_in_prefix(out, &c->net6, c->prefix6))
        return vk_opts_error(o, d, VK_EINVAL, key, "%s is outside ipv6-net", v);
    return VK_OK;
}

static int parse_ipv6(vk_user_config *c, vk_opts *o, vk_diag *d)
{
    const char *v = vk_opts_get(o, "ipv6-net");
    if (v == NULL) {
        memset(&c->net6, 0, sizeof c->net6);
        c->net6.b[0] = 0xfe;
        c->net6.b[1] = 0xc0;
        c->prefix6 = 64;
    } else if (vk_ip6_parse_prefix(v, &c->net6, &c->prefix6) != VK_OK) {
        return vk_opts_error(o, d, VK_EINVAL, "ipv6-net", "'%s' is not ADDR[/PREFIX]", v);
    }
    if (c->prefix6 < 0)
        c->prefix6 = 64;
    if (c->prefix6 > 126)
        return vk_opts_error(o, d, VK_EINVAL, "ipv6-net", "prefix /%d is longer than /126",
                             c->prefix6);
    for (int i = c->prefix6; i < 128; i++)
        if (c->net6.b[i / 8] & (0x80 >> (i % 8)))
            return vk_opts_error(o, d, VK_EINVAL, "ipv6-net", "'%s' has host bits set", v);
    int r;
    if ((r = parse_ip6_in_net(c, o, "ipv6-host", 2, &c->host6, d)) != VK_OK ||
        (r = parse_ip6_in_net(c, o, "ipv6-dns", 3, &c->dns6, d)) != VK_OK)
        return r;
    if (memcmp(&c->host6, &c->dns6, sizeof c->host6) == 0)
        return vk_opts_error(o, d, VK_EINVAL, "ipv6-dns", "must differ from ipv6-host");
    return VK_OK;
}

static int dup_str(vk_opts *o, const char *key, size_t max, char **out, vk_diag *d)
{
    const char *v = vk_opts_get(o, key);
    if (v == NULL)
        return VK_OK;
    size_t n = strlen(v);
    if (n == 0 || n > max)
        return vk_opts_error(o, d, VK_EINVAL, key, "must be 1 to %zu characters", max);
    *out = strdup(v);
    return *out != NULL ? VK_OK : vk_diag_set(d, VK_ENOMEM, "out of memory");
}

/* Every DHCP option of ours must fit the 312-byte options area of a reply. */
static int check_dhcp_room(vk_user_config *c, vk_opts *o, vk_diag *d)
{
    uint8_t buf[VK_DHCP_SEARCH_MAX];
    size_t search = 0;
    if (c->dnssearch_n > 0) {
        int r = vk_dhcp_encode_search((const char *const *)c->dnssearch, c->dnssearch_n, buf,
                                      sizeof buf, &search);
        if (r != VK_OK)
            return vk_opts_error(o, d, VK_EINVAL, "dnssearch",
                                 "not a list of valid domain names (%s)", vk_strerror(r));
        search += 2 * ((search + 254) / 255);
    }
    size_t need = 4 + 3 + 6 + 6 + 6 + 6 + 6 + 1 + search;
    const char *strs[] = {c->hostname, c->domainname, c->tftp_server_name};
    for (size_t i = 0; i < 3; i++)
        need += strs[i] ? 2 + strlen(strs[i]) : 0;
    const char *key = c->dnssearch_n     ? "dnssearch"
                      : c->tftp_server_name ? "tftp-server-name"
                      : c->domainname       ? "domainname"
                                            : "hostname";
    if (need > 312)
        return vk_opts_error(o, d, VK_EINVAL, key,
                             "DHCP options would need %zu bytes; a reply holds 312", need);
    return VK_OK;
}

static int parse_names(vk_user_config *c, vk_opts *o, vk_diag *d)
{
    int r;
    if ((r = dup_str(o, "hostname", 255, &c->hostname, d)) != VK_OK ||
        (r = dup_str(o, "domainname", 255, &c->domainname, d)) != VK_OK ||
        (r = dup_str(o, "bootfile", 127, &c->bootfile, d)) != VK_OK ||
        (r = dup_str(o, "tftp-server-name", 255, &c->tftp_server_name, d)) != VK_OK)
        return r;
    const char *vals[VK_USER_DNSSEARCH_MAX + 1];
    size_t n = vk_opts_get_all(o, "dnssearch", vals, VK_USER_DNSSEARCH_MAX + 1);
    if (n > VK_USER_DNSSEARCH_MAX)
        return vk_opts_error(o, d, VK_EINVAL, "dnssearch", "more than %d domains",
                             VK_USER_DNSSEARCH_MAX);
    if (n > 0 && (c->dnssearch = calloc(n, sizeof *c->dnssearch)) == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if ((c->dnssearch[i] = strdup(vals[i])) == NULL)
            return vk_diag_set(d, VK_ENOMEM, "out of memory");
        c->dnssearch_n++;
    }
    return check_dhcp_room(c, o, d);
}

static int parse_tftp(vk_user_config *c, vk_opts *o, vk_diag *d)
{
    const char *v = vk_opts_get(o, "tftp");
    if (v == NULL)
        return VK_OK;
    char real[PATH_MAX];
    struct stat st;
    if (realpath(v, real) == NULL || stat(real, &st) != 0)
        return vk_opts_error(o, d, VK_ENOENT, "tftp", "'%s': no such directory", v);
    if (!S_ISDIR(st.st_mode))
        return vk_opts_error(o, d, VK_EINVAL, "tftp", "'%s' is not a directory", v);
    c->tftp_root = strdup(real);
    return c->tftp_root != NULL ? VK_OK : vk_diag_set(d, VK_ENOMEM, "out of memory");
}

/* Splits s at the first `sep` outside [brackets]: the part before goes to
 * buf (brackets removed), *rest points after sep.  false if no sep. */
static bool take_field(const char **rest, char sep, char *buf, size_t cap)
{
    const char *s = *rest;
    bool bracket = *s == '[';
    const char *end = bracket ? strchr(s, ']') : strchr(s, sep);
    if (end == NULL)
        return false;
    const char *start = bracket ? s + 1 : s;
    size_t n = (size_t)(end - start);
    if (bracket) {
        if (end[1] != sep)
            return false;
        end++;
    }
    if (n >= cap)
        return false;
    memcpy(buf, start, n);
    buf[n] = '\0';
    *rest = end + 1;
    return true;
}

static bool parse_port(const char *s, uint16_t *out, bool zero_ok)
{
    char *end;
    if (*s < '0' || *s > '9')
        return false;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v > 65535 || (v == 0 && !zero_ok))
        return false;
    *out = (uint16_t)v;
    return true;
}

/* An empty string is the unspecified address of IPv4. */
static bool parse_any_addr(const char *s, vk_waddr *a)
{
    if (*s == '\0') {
        a->family = 4;
        return true;
    }
    if (vk_ip4_parse(s, &a->ip4) == VK_OK) {
        a->family = 4;
        return true;
    }
    if (vk_ip6_parse(s, &a->ip6) == VK_OK) {
        a->family = 6;
        return true;
    }
    return false;
}

/* One hostfwd rule, QEMU's syntax and QEMU's words for what is wrong. */
static int parse_one_hostfwd(vk_user_config *c, vk_opts *o, const char *rule, vk_diag *d)
{
    vk_user_hostfwd f;
    memset(&f, 0, sizeof f);
    const char *p = rule;
    char buf[256];
    const char *why = NULL;
    const char *colon = strchr(p, ':');
    if (colon == NULL) {
        why = "missing protocol name separator";
    } else {
        size_t n = (size_t)(colon - p);
        if (n == 3 && strncmp(p, "udp", 3) == 0)
            f.udp = true;
        else if (!(n == 0 || (n == 3 && strncmp(p, "tcp", 3) == 0)))
            why = "bad protocol name";
        p = colon + 1;
    }
    if (why == NULL && !take_field(&p, ':', buf, sizeof buf))
        why = "missing host-guest separator";
    if (why == NULL && !parse_any_addr(buf, &f.host))
        why = "could not parse host address";
    if (why == NULL && !take_field(&p, '-', buf, sizeof buf))
        why = "missing host-guest separator";
    if (why == NULL && !parse_port(buf, &f.host.port, true))
        why = "bad host port";
    if (why == NULL && !take_field(&p, ':', buf, sizeof buf))
        why = "missing guest address separator";
    if (why == NULL && !parse_any_addr(buf, &f.guest))
        why = "could not parse guest address";
    if (why == NULL && !parse_port(p, &f.guest.port, false))
        why = "bad guest port";
    if (why == NULL && buf[0] == '\0')
        f.guest.ip4 = c->dhcp_start;
    if (why == NULL && f.guest.family == 4 && !vk_user_config_in_net(c, f.guest.ip4))
        why = "guest address outside the virtual network";
    if (why != NULL)
        return vk_opts_error(o, d, VK_EINVAL, "hostfwd", "invalid host forwarding rule '%s' (%s)",
                             rule, why);
    if (c->hostfwd_n == VK_USER_HOSTFWD_MAX)
        return vk_opts_error(o, d, VK_EFULL, "hostfwd", "more than %d rules",
                             VK_USER_HOSTFWD_MAX);
    c->hostfwd[c->hostfwd_n++] = f;
    return VK_OK;
}

static int parse_hostfwd(vk_user_config *c, vk_opts *o, vk_diag *d)
{
    const char *vals[VK_USER_HOSTFWD_MAX + 1];
    size_t n = vk_opts_get_all(o, "hostfwd", vals, VK_USER_HOSTFWD_MAX + 1);
    if (n > VK_USER_HOSTFWD_MAX)
        return vk_opts_error(o, d, VK_EFULL, "hostfwd", "more than %d rules",
                             VK_USER_HOSTFWD_MAX);
    for (size_t i = 0; i < n; i++) {
        int r = parse_one_hostfwd(c, o, vals[i], d);
        if (r != VK_OK)
            return r;
    }
    return VK_OK;
}

/* dns-upstream=ADDR[:PORT] or [IPV6]:PORT or IPV6; port 53 by default. */
static int parse_dns_upstream(vk_user_config *c, vk_opts *o, vk_diag *d)
{
    const char *v = vk_opts_get(o, "dns-upstream");
    if (v == NULL)
        return VK_OK;
    char buf[128];
    if (strlen(v) >= sizeof buf)
        return vk_opts_error(o, d, VK_EINVAL, "dns-upstream", "'%s' is too long", v);
    strcpy(buf, v);
    vk_waddr *a = &c->dns_upstream;
    char *port = NULL;
    char *addr = buf;
    if (buf[0] == '[') {
        char *end = strchr(buf, ']');
        if (end == NULL || (end[1] != '\0' && end[1] != ':'))
            return vk_opts_error(o, d, VK_EINVAL, "dns-upstream",
                                 "'%s' is not ADDR[:PORT] or [IPV6]:PORT", v);
        *end = '\0';
        addr = buf + 1;
        port = end[1] == ':' ? end + 2 : NULL;
    } else if (strchr(buf, ':') == strrchr(buf, ':') && strchr(buf, ':') != NULL) {
        port = strchr(buf, ':');
        *port++ = '\0';
    }
    if (!parse_any_addr(addr, a) || addr[0] == '\0')
        return vk_opts_error(o, d, VK_EINVAL, "dns-upstream",
                             "'%s' is not ADDR[:PORT] or [IPV6]:PORT", v);
    a->port = 53;
    if (port != NULL && (!parse_port(port, &a->port, false) || a->port == 0))
        return vk_opts_error(o, d, VK_EINVAL, "dns-upstream", "bad port in '%s'", v);
    c->has_dns_upstream = true;
    return VK_OK;
}

bool vk_user_config_in_net(const vk_user_config *c, vk_ip4 a)
{
    return (vk_ip4_to_u32(a) & vk_ip4_to_u32(c->mask)) == vk_ip4_to_u32(c->net);
}

/* Adds a guestfwd target for server:port; false when the address is not
 * a free one of the network (QEMU: "Conflicting/invalid host:port"). */
static bool add_guestfwd(vk_user_config *c, vk_ip4 server, uint16_t port, const char *target)
{
    if (!vk_user_config_in_net(c, server) || memcmp(&server, &c->host, 4) == 0 ||
        memcmp(&server, &c->dns, 4) == 0 || c->guestfwd_n == VK_USER_GUESTFWD_MAX)
        return false;
    for (size_t i = 0; i < c->guestfwd_n; i++)
        if (c->guestfwd[i].port == port && memcmp(&c->guestfwd[i].server, &server, 4) == 0)
            return false;
    char *t = strdup(target);
    if (t == NULL)
        return false;
    c->guestfwd[c->guestfwd_n++] = (vk_user_guestfwd){.server = server, .port = port,
                                                      .target = t};
    return true;
}

/* QEMU's default guestfwd and smb server: host part .4 of the network. */
static vk_ip4 default_server(const vk_user_config *c)
{
    return ip4_or(c->net, 0x0204u & ~vk_ip4_to_u32(c->mask));
}

/* One guestfwd rule: [tcp]:[server]:port-cmd:COMMAND | -tcp:HOST:PORT |
 * -unix:PATH (QEMU slirp_guestfwd, with the chardev kinds that make sense
 * without QEMU; each connection gets its own stream). */
static int parse_one_guestfwd(vk_user_config *c, vk_opts *o, const char *rule, size_t index,
                              vk_diag *d)
{
    const char *p = rule;
    char buf[256];
    vk_ip4 server = default_server(c);
    bool ok = take_field(&p, ':', buf, sizeof buf) && (buf[0] == '\0' || !strcmp(buf, "tcp")) &&
              take_field(&p, ':', buf, sizeof buf) &&
              (buf[0] == '\0' || vk_ip4_parse(buf, &server) == VK_OK) &&
              take_field(&p, '-', buf, sizeof buf);
    uint16_t port = 0;
    if (!ok || !parse_port(buf, &port, false))
        return vk_opts_error(o, d, VK_EINVAL, "guestfwd", "Invalid guest forwarding rule '%s'",
                             rule);
    if (strncmp(p, "cmd:", 4) != 0 && strncmp(p, "tcp:", 4) != 0 && strncmp(p, "unix:", 5) != 0)
        return vk_opts_error(o, d, VK_EUNSUPP, "guestfwd",
                             "Could not open guest forwarding device 'guestfwd.tcp.%zu' "
                             "(only cmd:, tcp: and unix: are supported)", index);
    if (!add_guestfwd(c, server, port, p))
        return vk_opts_error(o, d, VK_EINVAL, "guestfwd",
                             "Conflicting/invalid host:port in guest forwarding rule '%s'", rule);
    return VK_OK;
}

static int parse_guestfwd(vk_user_config *c, vk_opts *o, vk_diag *d)
{
    const char *vals[VK_USER_GUESTFWD_MAX + 1];
    size_t n = vk_opts_get_all(o, "guestfwd", vals, VK_USER_GUESTFWD_MAX + 1);
    if (n > VK_USER_GUESTFWD_MAX)
        return vk_opts_error(o, d, VK_EFULL, "guestfwd", "more than %d rules",
                             VK_USER_GUESTFWD_MAX);
    for (size_t i = 0; i < n; i++) {
        int r = parse_one_guestfwd(c, o, vals[i], i, d);
        if (r != VK_OK)
            return r;
    }
    return VK_OK;
}

#define SMBD "/usr/sbin/smbd" /* QEMU's CONFIG_SMBD_COMMAND */

static int write_smb_conf(const char *dir, const char *share, vk_diag *d)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/smb.conf", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return vk_diag_set(d, VK_EIO, "smb: could not create '%s'", path);
    const char *user = getenv("USER");
    fprintf(f,
            "[global]\n"
            "private dir=%1$s\n"
            "interfaces=127.0.0.1\n"
            "bind interfaces only=yes\n"
            "pid directory=%1$s\n"
            "lock directory=%1$s\n"
            "state directory=%1$s\n"
            "cache directory=%1$s\n"
            "ncalrpc dir=%1$s/ncalrpc\n"
            "log file=%1$s/log.smbd\n"
            "smb passwd file=%1$s/smbpasswd\n"
            "security = user\n"
            "map to guest = Bad User\n"
            "load printers = no\n"
            "printing = bsd\n"
            "disable spoolss = yes\n"
            "usershare max shares = 0\n"
            "[qemu]\n"
            "path=%2$s\n"
            "read only=no\n"
            "guest ok=yes\n"
            "force user=%3$s\n",
            dir, share, user != NULL ? user : "root");
    return fclose(f) == 0 ? VK_OK : vk_diag_set(d, VK_EIO, "smb: could not write '%s'", path);
}

/* smb=DIR[,smbserver=ADDR]: QEMU's slirp_smb.  smbd runs per connection as
 * a guestfwd cmd: at ADDR (default .4) ports 139 and 445. */
static int parse_smb(vk_user_config *c, vk_opts *o, vk_diag *d)
{
    const char *dir = vk_opts_get(o, "smb");
    const char *srv = vk_opts_get(o, "smbserver");
    if (dir == NULL) {
        if (srv != NULL)
            return vk_opts_error(o, d, VK_EINVAL, "smbserver", "needs smb=DIR");
        return VK_OK;
    }
    vk_ip4 server = default_server(c);
    if (srv != NULL && vk_ip4_parse(srv, &server) != VK_OK)
        return vk_opts_error(o, d, VK_EINVAL, "smbserver", "'%s' is not an IPv4 address", srv);
    if (access(SMBD, X_OK) != 0)
        return vk_opts_error(o, d, VK_EUNSUPP, "smb",
                             "could not find '%s', please install it (Debian package samba)",
                             SMBD);
    if (access(dir, R_OK | X_OK) != 0)
        return vk_opts_error(o, d, VK_EINVAL, "smb", "error accessing shared directory '%s'",
                             dir);
    char tmpl[] = "/tmp/vnetkit-smb.XXXXXX";
    if (mkdtemp(tmpl) == NULL)
        return vk_opts_error(o, d, VK_EIO, "smb", "could not create samba server dir");
    c->smb_dir = strdup(tmpl);
    if (c->smb_dir == NULL)
        return VK_ENOMEM;
    int r = write_smb_conf(c->smb_dir, dir, d);
    if (r != VK_OK)
        return r;
    char cmd[PATH_MAX * 2 + 64];
    snprintf(cmd, sizeof cmd, "cmd:%s -l %s -s %s/smb.conf", SMBD, c->smb_dir, c->smb_dir);
    if (!add_guestfwd(c, server, 139, cmd) || !add_guestfwd(c, server, 445, cmd))
        return vk_opts_error(o, d, VK_EINVAL, "smbserver", "conflicting/invalid smbserver address");
    return VK_OK;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int vk_user_config_parse_keys(vk_user_config *c, vk_opts *o, vk_diag *d)
{
    memset(c, 0, sizeof *c);
    c->mtu = VK_USER_MTU;
    int r;
    if ((r = vk_opts_get_bool(o, "ipv4", true, &c->ipv4, d)) != VK_OK ||
        (r = vk_opts_get_bool(o, "ipv6", true, &c->ipv6, d)) != VK_OK ||
        (r = vk_opts_get_bool(o, "restrict", false, &c->restricted, d)) != VK_OK)
        return r;
    if (!c->ipv4 && !c->ipv6)
        return vk_opts_error(o, d, VK_EINVAL, "ipv6", "ipv4=off and ipv6=off leave nothing");
    if ((r = parse_ipv4(c, o, d)) != VK_OK || (r = parse_ipv6(c, o, d)) != VK_OK ||
        (r = parse_names(c, o, d)) != VK_OK || (r = parse_tftp(c, o, d)) != VK_OK ||
        (r = parse_hostfwd(c, o, d)) != VK_OK)
        return r;
    return parse_dns_upstream(c, o, d);
}

int vk_user_config_parse(vk_user_config *c, vk_opts *o, vk_diag *d)
{
    int r = vk_user_config_parse_keys(c, o, d);
    uint64_t mtu = VK_USER_MTU;
    if (r == VK_OK)
        r = vk_opts_get_uint(o, "mtu", VK_USER_MTU, VK_USER_MTU_MIN, VK_USER_MTU_MAX, &mtu, d);
    c->mtu = (uint32_t)mtu;
    if (r == VK_OK)
        r = parse_guestfwd(c, o, d);
    if (r == VK_OK)
        r = parse_smb(c, o, d);
    return r;
}

void vk_user_config_free(vk_user_config *c)
{
    free(c->hostname);
    free(c->domainname);
    free(c->bootfile);
    free(c->tftp_server_name);
    free(c->tftp_root);
    for (size_t i = 0; i < c->dnssearch_n; i++)
        free(c->dnssearch[i]);
    free(c->dnssearch);
    for (size_t i = 0; i < c->guestfwd_n; i++)
        free(c->guestfwd[i].target);
    if (c->smb_dir != NULL)
        nftw(c->smb_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(c->smb_dir);
    memset(c, 0, sizeof *c);
}
