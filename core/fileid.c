/* File identity (see fileid.h). */
#include "core/fileid.h"

#include <sys/stat.h>

vk_file_id vk_file_id_of(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return (vk_file_id){.known = false};
    return (vk_file_id){.known = true, .dev = (uint64_t)st.st_dev, .ino = (uint64_t)st.st_ino,
                        .size = (uint64_t)st.st_size, .mtime_s = (int64_t)st.st_mtim.tv_sec,
                        .mtime_ns = st.st_mtim.tv_nsec};
}

bool vk_file_id_same(const vk_file_id *a, const vk_file_id *b)
{
    if (!a->known || !b->known)
        return a->known == b->known;
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_s == b->mtime_s && a->mtime_ns == b->mtime_ns;
}
