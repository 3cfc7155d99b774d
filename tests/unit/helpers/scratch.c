/* Scratch directories for unit tests (see scratch.h). */
#define _XOPEN_SOURCE 700
#include "scratch.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int vk_test_scratch_make(char *dir, const char *tag)
{
    snprintf(dir, VK_TEST_SCRATCH_MAX, "/tmp/vk-test-%s-XXXXXX", tag);
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int vk_test_scratch_remove(const char *dir)
{
    /* depth first, not following symlinks: a test's escape link to /etc is
     * removed, never what it points at */
    return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

void vk_test_scratch_path(char *buf, size_t cap, const char *dir, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}
