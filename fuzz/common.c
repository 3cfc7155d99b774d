/*
 * Helpers shared by the fuzz targets (fuzz.h).  The scratch file is one per
 * process and rewritten for every input, because the capture and topology
 * readers take a path (libpcap opens the file itself).  It lives in
 * $TMPDIR, else in /dev/shm when that is a writable directory (tmpfs: an
 * input costs no disk I/O; on the ext4 /tmp the truncation and writeback of
 * every input were a third of the topology target's time), else in /tmp;
 * it is opened once and rewritten in place (pwrite, then ftruncate to the
 * input's size), so an input pays no open/close of its own.
 */
#include "fuzz/fuzz.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

void vk_fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz invariant: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

bool vk_fuzz_verbose(void)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("VK_FUZZ_VERBOSE") != NULL;
    return verbose;
}

static char scratch_path[256];
static int scratch_fd = -1;
static char scratch_dir[256];

static void remove_scratch(void)
{
    if (scratch_fd >= 0)
        close(scratch_fd);
    if (scratch_path[0])
        unlink(scratch_path);
    if (scratch_dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "fuzz: could not remove %s\n", scratch_dir);
    }
}

static const char *tmp_root(void)
{
    const char *t = getenv("TMPDIR");
    if (t && t[0])
        return t;
    struct stat st;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
        return "/dev/shm";
    return "/tmp";
}

static void register_cleanup(void)
{
    static bool registered;
    if (!registered) {
        atexit(remove_scratch);
        registered = true;
    }
}

const char *vk_fuzz_scratch_file(const uint8_t *data, size_t size)
{
    if (!scratch_path[0]) {
        snprintf(scratch_path, sizeof scratch_path, "%s/vkfuzz-%ld-XXXXXX", tmp_root(),
                 (long)getpid());
        scratch_fd = mkstemp(scratch_path);
        if (scratch_fd < 0)
            vk_fuzz_fail("cannot create a scratch file in %s", tmp_root());
        register_cleanup();
    }
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(scratch_fd, data + done, size - done, (off_t)done);
        if (w <= 0)
            vk_fuzz_fail("cannot write the scratch file %s", scratch_path);
        done += (size_t)w;
    }
    if (ftruncate(scratch_fd, (off_t)size) != 0)
        vk_fuzz_fail("cannot truncate the scratch file %s", scratch_path);
    return scratch_path;
}

const char *vk_fuzz_scratch_dir(void)
{
    if (!scratch_dir[0]) {
        snprintf(scratch_dir, sizeof scratch_dir, "%s/vkfuzzd-%ld-XXXXXX", tmp_root(),
                 (long)getpid());
        if (mkdtemp(scratch_dir) == NULL)
            vk_fuzz_fail("cannot create a scratch directory in %s", tmp_root());
        register_cleanup();
    }
    return scratch_dir;
}

void vk_fuzz_check_frame(const char *who, const uint8_t *f, size_t len, size_t mtu, bool l4_csum)
{
    vk_eth_repr eth;
    if (vk_eth_parse(f, len, &eth) != VK_OK)
        vk_fuzz_fail("%s sent a %zu-byte frame, shorter than an Ethernet header", who, len);
    if (len > VK_ETH_VLAN_HLEN + mtu)
        vk_fuzz_fail("%s sent a %zu-byte frame, over its MTU %zu", who, len, mtu);
    if (eth.ethertype == VK_ETHERTYPE_IPV4) {
        vk_ipv4_repr ip;
        int r = vk_ipv4_parse(eth.payload, eth.payload_len, &ip);
        if (r != VK_OK)
            vk_fuzz_fail("%s sent an IPv4 packet that does not parse: %s", who, vk_errname(r));
        if (!ip.csum_ok)
            vk_fuzz_fail("%s sent an IPv4 header with a wrong checksum", who);
        if (ip.total_len > mtu)
            vk_fuzz_fail("%s sent an IPv4 packet of %zu bytes, over its MTU %zu", who,
                         ip.total_len, mtu);
    } else if (eth.ethertype == VK_ETHERTYPE_IPV6) {
        vk_ipv6_repr ip;
        int r = vk_ipv6_parse(eth.payload, eth.payload_len, &ip);
        if (r != VK_OK)
            vk_fuzz_fail("%s sent an IPv6 packet that does not parse: %s", who, vk_errname(r));
    } else {
        return;
    }
    if (!l4_csum)
        return;
    unsigned bad = 0;
    if (vk_csum_check_frame(f, len, &bad) != VK_OK || bad != 0)
        vk_fuzz_fail("%s sent a frame with a wrong checksum (mask %u)", who, bad);
}
