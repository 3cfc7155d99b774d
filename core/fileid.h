/*
 * What tells one version of a file from another without reading it: its
 * device and inode (a replacement changes them), its size and its
 * modification time to the nanosecond (a rewrite in place moves it).  Used
 * where a file is read more than once and must be noticed when it changed
 * between the reads: a replayed capture (read once per pass), the live
 * world's resolv.conf.  A rewrite of the same size within the kernel's
 * timestamp tick of the first look is the one change it cannot see.
 */
#ifndef VK_CORE_FILEID_H
#define VK_CORE_FILEID_H

#include <stdbool.h>
#include <stdint.h>

typedef struct vk_file_id {
    bool known; /* stat() answered */
    uint64_t dev, ino, size;
    int64_t mtime_s;
    long mtime_ns;
} vk_file_id;

/* path's identity now (known false when stat() fails). */
vk_file_id vk_file_id_of(const char *path);
/* The same version of the file: both unknown, or every field equal. */
bool vk_file_id_same(const vk_file_id *a, const vk_file_id *b);

#endif
