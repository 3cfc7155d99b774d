/* core/fileid: a file's identity changes with a same-size rewrite (its
 * modification time), a replacement (its inode) and a growth (its size),
 * and stays the same while the file is left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileid.h"

static void write_file(const char *path, const char *text, time_t mtime)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    const struct timespec t[2] = {{mtime, 0}, {mtime, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

static void test_identity_follows_every_kind_of_change(void **state)
{
    (void)state;
    char dir[] = "/tmp/vk-test-fileid-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64], other[64];
    snprintf(path, sizeof path, "%s/a", dir);
    snprintf(other, sizeof other, "%s/b", dir);
    write_file(path, "abcd", 1600000000);
    vk_file_id first = vk_file_id_of(path), again = vk_file_id_of(path);
    assert_true(first.known);
    assert_true(vk_file_id_same(&first, &again));
    /* the same size, rewritten in place: the modification time moved */
    write_file(path, "wxyz", 1600000001);
    vk_file_id rewritten = vk_file_id_of(path);
    assert_int_equal(rewritten.size, first.size);
    assert_int_equal(rewritten.ino, first.ino);
    assert_false(vk_file_id_same(&first, &rewritten));
    /* replaced by another file of the same size and time: the inode moved */
    write_file(other, "wxyz", 1600000001);
    assert_int_equal(rename(other, path), 0);
    vk_file_id replaced = vk_file_id_of(path);
    assert_false(vk_file_id_same(&rewritten, &replaced));
    /* grown, the time put back: the size moved */
    write_file(path, "wxyz+", 1600000001);
    vk_file_id grown = vk_file_id_of(path);
    assert_false(vk_file_id_same(&replaced, &grown));
    /* gone: unknown, the same as another unknown, never as a known one */
    assert_int_equal(unlink(path), 0);
    vk_file_id gone = vk_file_id_of(path), gone2 = vk_file_id_of(path);
    assert_false(gone.known);
    assert_true(vk_file_id_same(&gone, &gone2));
    assert_false(vk_file_id_same(&gone, &grown));
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_follows_every_kind_of_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
