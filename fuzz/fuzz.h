/*
 * Shared by the fuzz targets in fuzz/: the libFuzzer entry point, a failure
 * that aborts with the target's words (so libFuzzer, or the standalone
 * driver under ctest, reports it as a finding), a scratch file for the
 * readers that take a path, and the frame invariants several targets assert.
 *
 * A target never returns early on input the real code would accept: it feeds
 * the bytes to the code under test and checks what comes out.
 */
#ifndef VK_FUZZ_FUZZ_H
#define VK_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry point, defined by each fuzz_<name>.c. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints "fuzz invariant: <message>" and aborts. */
_Noreturn void vk_fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline void vk_fuzz_check(bool ok, const char *what)
{
    if (!ok)
        vk_fuzz_fail("%s", what);
}

/* True when VK_FUZZ_VERBOSE is set: targets then say on stderr what an
 * input did (for reproducing a finding by hand). */
bool vk_fuzz_verbose(void);

/* Writes size bytes to this process's scratch file (created on first use in
 * $TMPDIR, else /dev/shm, else /tmp; rewritten in place; removed at exit)
 * and returns its path. */
const char *vk_fuzz_scratch_file(const uint8_t *data, size_t size);

/* A scratch directory of this process (removed at exit), for targets that
 * need files to serve (TFTP). */
const char *vk_fuzz_scratch_dir(void);

/* Invariants of a frame a vnetkit component put on a wire: at least an
 * Ethernet header and at most mtu bytes of payload after it (VLAN tag
 * allowed on top); for IPv4/IPv6 every header parses, the IPv4 header
 * checksum is right, and when l4_csum the TCP/UDP/ICMP/ICMPv6 checksum too.
 * `who` names the component in the failure message. */
void vk_fuzz_check_frame(const char *who, const uint8_t *f, size_t len, size_t mtu,
                         bool l4_csum);

#endif
