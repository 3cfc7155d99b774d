/* Shared unit-test helper: a scratch directory under /tmp for files a test
 * writes (traces, TFTP roots), removed with everything in it afterwards. */
#ifndef VK_TEST_SCRATCH_H
#define VK_TEST_SCRATCH_H

#include <stddef.h>

#define VK_TEST_SCRATCH_MAX 96

/* Creates /tmp/vk-test-TAG-XXXXXX into dir (VK_TEST_SCRATCH_MAX bytes);
 * returns 0, or -1 if it could not be made. */
int vk_test_scratch_make(char *dir, const char *tag);
/* Removes dir and everything below it (no shell involved); 0 or -1. */
int vk_test_scratch_remove(const char *dir);
/* Writes "dir/name" into buf. */
void vk_test_scratch_path(char *buf, size_t cap, const char *dir, const char *name);

#endif
