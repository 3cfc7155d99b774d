/*
 * QEMU's option-string grammar, the one parser for "TYPE,key=value,..." in
 * vnetkit: the first element may omit its key (it is then the group's implied
 * key, e.g. the netdev type), ",," stands for a literal comma, a bare "key"
 * means key=on, and keys may repeat (dnssearch=, hostfwd=).  Getters mark keys
 * as used so that unknown keys can be reported after a constructor ran.
 */
#ifndef VK_CORE_OPTIONS_H
#define VK_CORE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/error.h"

typedef struct vk_opt {
    char *key;
    char *value;
    bool used;
} vk_opt;

typedef struct vk_opts {
    char *option;  /* "-netdev", "-device", ... (for messages) */
    char *text;    /* the original text, for messages */
    vk_opt *items;
    size_t n;
} vk_opts;

/* Parses text; implied_key names the first element when it has no '='
 * (NULL: every element needs a key).  The caller frees with vk_opts_free. */
int vk_opts_parse(const char *option, const char *implied_key, const char *text, vk_opts *out,
                  vk_diag *d);
void vk_opts_free(vk_opts *o);

/* The last value of key (QEMU keeps the last), or NULL.  Marks all uses. */
const char *vk_opts_get(vk_opts *o, const char *key);
bool vk_opts_has(const vk_opts *o, const char *key);
/* Every value of a repeatable key, in order: returns the count (at most max). */
size_t vk_opts_get_all(vk_opts *o, const char *key, const char **vals, size_t max);

/* Typed getters: absent key gives def; a bad value is a one-line error
 * naming the option and the key (VK_EINVAL / VK_ERANGE). */
int vk_opts_get_uint(vk_opts *o, const char *key, uint64_t def, uint64_t min, uint64_t max,
                     uint64_t *out, vk_diag *d);
int vk_opts_get_bool(vk_opts *o, const char *key, bool def, bool *out, vk_diag *d);
int vk_opts_get_mac(vk_opts *o, const char *key, bool *present, vk_mac *out, vk_diag *d);
/* Parses a time value: "1.5" or "1.5s", "200ms", "10us", "1000ns". */
int vk_parse_duration(const char *s, uint64_t *ns_out);

/* Marks a key used without reading it (handled elsewhere). */
void vk_opts_mark_used(vk_opts *o, const char *key);
/* VK_EINVAL naming the first key no getter asked for. */
int vk_opts_check_unused(const vk_opts *o, vk_diag *d);
/* Keyword tables ("none", "csum", "tso"): the index of name among the
 * count entries of names, or -1; and the entry at index i, or "?" when i is
 * out of the table.  VK_NAMES_COUNT gives a static table's length. */
#define VK_NAMES_COUNT(names) (sizeof(names) / sizeof((names)[0]))
int vk_name_index(const char *const *names, size_t count, const char *name);
const char *vk_name_at(const char *const *names, size_t count, size_t i);

/* Writes "-netdev user,id=n0" style prefix for messages. */
int vk_opts_error(const vk_opts *o, vk_diag *d, int err, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
