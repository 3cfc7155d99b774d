/* The recorded world's builder out of memory: every growth of its tables
 * (core/grow.c's realloc, wrapped at link time for this test alone) made to
 * fail in turn, the n-th call for n = 1, 2, ... until a build no longer
 * reaches it.  A build either ends as the unhurt one does, with the same
 * counts, or fails with VK_ENOMEM: a frame whose record could not grow is
 * never counted as skipped and left out (the streamed flows' second builder
 * numbers events and pieces as the first did: one left out would shift
 * every number after it).  Under ASan the failed builds also show that
 * nothing leaks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/capture.h"
#include "replay/recording.h"

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static long fail_in; /* the call that fails: 1 = the next one; 0 = none */

void *__wrap_realloc(void *p, size_t n)
{
    if (fail_in > 0 && --fail_in == 0)
        return NULL;
    return __real_realloc(p, n);
}

static const vk_mac guest_mac = {{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};

static void build_under_every_failure(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/pcaps/%s", VK_SOURCE_DIR, name);
    vk_capture *c = NULL;
    vk_diag d;
    assert_int_equal(vk_capture_read(path, &c, &d), VK_OK);
    vk_recording *whole = NULL;
    assert_int_equal(vk_recording_build_mac(c, &guest_mac, &whole, &d), VK_OK);
    assert_true(whole->st.frames_used > 0);
    size_t failed = 0;
    for (long n = 1;; n++) {
        fail_in = n;
        vk_recording *r = NULL;
        int e = vk_recording_build_mac(c, &guest_mac, &r, &d);
        bool reached = fail_in == 0;
        fail_in = 0;
        if (e != VK_OK) {
            assert_int_equal(e, VK_ENOMEM);
            assert_true(reached);
            assert_null(r);
            failed++;
            continue;
        }
        /* whether the failed growth was one the builder could do without or
         * none was reached: the recording is the unhurt one */
        assert_int_equal(r->st.frames_used, whole->st.frames_used);
        assert_int_equal(r->st.frames_skipped, whole->st.frames_skipped);
        assert_int_equal(r->ntcp, whole->ntcp);
        assert_int_equal(r->nudp, whole->nudp);
        assert_int_equal(r->ndns, whole->ndns);
        assert_int_equal(r->nping, whole->nping);
        for (size_t i = 0; i < r->ntcp; i++) {
            assert_int_equal(r->tcp[i].nev, whole->tcp[i].nev);
            assert_int_equal(r->tcp[i].npieces, whole->tcp[i].npieces);
        }
        vk_recording_unref(r);
        if (!reached)
            break; /* n is past every growth of a build */
    }
    print_message("%s: %zu builds failed with VK_ENOMEM, none lost a frame\n", name, failed);
    assert_true(failed > 0);
    vk_recording_unref(whole);
    vk_capture_free(c);
}

static void test_tcp_flows_out_of_memory_fail_the_build_or_equal_it(void **state)
{
    (void)state;
    build_under_every_failure("qemu-e1000-http.pcap");
    build_under_every_failure("qemu-e1000-hostfwd.pcap");
}

static void test_udp_dns_and_ping_out_of_memory_fail_the_build_or_equal_it(void **state)
{
    (void)state;
    build_under_every_failure("qemu-e1000-dns-udp-tcp.pcap");
    build_under_every_failure("qemu-e1000-udp-echo.pcap");
    build_under_every_failure("qemu-e1000-dhcp-ping.pcap");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_flows_out_of_memory_fail_the_build_or_equal_it),
        cmocka_unit_test(test_udp_dns_and_ping_out_of_memory_fail_the_build_or_equal_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
