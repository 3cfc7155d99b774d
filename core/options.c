/*
 * QEMU option strings (grammar in options.h).  Splitting honours ",," as an
 * escaped comma; every item is copied so the result owns its strings.
 */
#include "core/options.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vk_opts_free(vk_opts *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->items[i].key);
        free(o->items[i].value);
    }
    free(o->items);
    free(o->option);
    free(o->text);
    memset(o, 0, sizeof *o);
}

int vk_opts_error(const vk_opts *o, vk_diag *d, int err, const char *key, const char *fmt, ...)
{
    if (d == NULL)
        return err;
    char detail[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (key != NULL)
        return vk_diag_set(d, err, "%s %s: key '%s': %s", o->option ? o->option : "",
                           o->text ? o->text : "", key, detail);
    return vk_diag_set(d, err, "%s %s: %s", o->option ? o->option : "", o->text ? o->text : "",
                       detail);
}

/* Copies one element starting at *pp up to an unescaped ',' or the end,
 * turning ",," into ','; advances *pp past the separator. */
static char *take_element(const char **pp)
{
    const char *p = *pp;
    size_t cap = strlen(p) + 1, n = 0;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    while (*p != '\0') {
        if (*p == ',') {
            if (p[1] == ',') {
                out[n++] = ',';
                p += 2;
                continue;
            }
            p++;
            break;
        }
        out[n++] = *p++;
    }
    out[n] = '\0';
    *pp = p;
    return out;
}

static int add_item(vk_opts *o, char *key, char *value)
{
    vk_opt *items = realloc(o->items, (o->n + 1) * sizeof *items);
    if (items == NULL) {
        free(key);
        free(value);
        return VK_ENOMEM;
    }
    o->items = items;
    o->items[o->n++] = (vk_opt){key, value, false};
    return VK_OK;
}

static int parse_element(vk_opts *o, char *elem, bool first, const char *implied_key, vk_diag *d)
{
    char *eq = strchr(elem, '=');
    char *key, *value;
    if (eq != NULL) {
        *eq = '\0';
        key = strdup(elem);
        value = strdup(eq + 1);
    } else if (first && implied_key != NULL) {
        key = strdup(implied_key);
        value = strdup(elem);
    } else {
        key = strdup(elem);
        value = strdup("on");
    }
    if (key == NULL || value == NULL) {
        free(key);
        free(value);
        return VK_ENOMEM;
    }
    if (key[0] == '\0') {
        free(key);
        free(value);
        return vk_opts_error(o, d, VK_EINVAL, NULL, "empty key");
    }
    return add_item(o, key, value);
}

int vk_opts_parse(const char *option, const char *implied_key, const char *text, vk_opts *out,
                  vk_diag *d)
{
    memset(out, 0, sizeof *out);
    out->option = strdup(option ? option : "");
    out->text = strdup(text);
    if (out->option == NULL || out->text == NULL) {
        vk_opts_free(out);
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    }
    if (text[0] == '\0') {
        int r = vk_opts_error(out, d, VK_EINVAL, NULL, "empty option value");
        vk_opts_free(out);
        return r;
    }
    const char *p = text;
    bool first = true;
    while (*p != '\0' || first) {
        char *elem = take_element(&p);
        if (elem == NULL) {
            vk_opts_free(out);
            return vk_diag_set(d, VK_ENOMEM, "out of memory");
        }
        /* a separator is never followed by ',' (that would be ",,"), so
         * the only empty element is a leading one: ",id=x" */
        int r = VK_OK;
        if (elem[0] == '\0')
            r = vk_opts_error(out, d, VK_EINVAL, NULL, "empty element");
        else
            r = parse_element(out, elem, first, implied_key, d);
        free(elem);
        if (r != VK_OK) {
            vk_opts_free(out);
            return r;
        }
        first = false;
    }
    return VK_OK;
}

const char *vk_opts_get(vk_opts *o, const char *key)
{
    const char *v = NULL;
    for (size_t i = 0; i < o->n; i++) {
        if (strcmp(o->items[i].key, key) == 0) {
            o->items[i].used = true;
            v = o->items[i].value;
        }
    }
    return v;
}

bool vk_opts_has(const vk_opts *o, const char *key)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->items[i].key, key) == 0)
            return true;
    return false;
}

size_t vk_opts_get_all(vk_opts *o, const char *key, const char **vals, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < o->n; i++) {
        if (strcmp(o->items[i].key, key) != 0)
            continue;
        o->items[i].used = true;
        if (n < max)
            vals[n] = o->items[i].value;
        n++;
    }
    return n < max ? n : max;
}

void vk_opts_mark_used(vk_opts *o, const char *key)
{
    (void)vk_opts_get(o, key);
}

int vk_opts_check_unused(const vk_opts *o, vk_diag *d)
{
    for (size_t i = 0; i < o->n; i++)
        if (!o->items[i].used)
            return vk_opts_error(o, d, VK_EINVAL, o->items[i].key, "unknown key");
    return VK_OK;
}

int vk_opts_get_uint(vk_opts *o, const char *key, uint64_t def, uint64_t min, uint64_t max,
                     uint64_t *out, vk_diag *d)
{
    const char *v = vk_opts_get(o, key);
    if (v == NULL) {
        *out = def;
        return VK_OK;
    }
    if (!isdigit((unsigned char)v[0]))
        return vk_opts_error(o, d, VK_EINVAL, key, "'%s' is not a number", v);
    errno = 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 0);
    if (*end != '\0')
        return vk_opts_error(o, d, VK_EINVAL, key, "'%s' is not a number", v);
    if (errno == ERANGE || n < min || n > max)
        return vk_opts_error(o, d, VK_ERANGE, key, "%s is out of range %llu..%llu", v,
                             (unsigned long long)min, (unsigned long long)max);
    *out = n;
    return VK_OK;
}

int vk_opts_get_bool(vk_opts *o, const char *key, bool def, bool *out, vk_diag *d)
{
    const char *v = vk_opts_get(o, key);
    if (v == NULL) {
        *out = def;
        return VK_OK;
    }
    if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))
        *out = true;
    else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))
        *out = false;
    else
        return vk_opts_error(o, d, VK_EINVAL, key, "'%s' is not on or off", v);
    return VK_OK;
}

int vk_opts_get_mac(vk_opts *o, const char *key, bool *present, vk_mac *out, vk_diag *d)
{
    const char *v = vk_opts_get(o, key);
    *present = v != NULL;
    if (v == NULL)
        return VK_OK;
    if (vk_mac_parse(v, out) != VK_OK)
        return vk_opts_error(o, d, VK_EINVAL, key, "'%s' is not a MAC address", v);
    if (vk_mac_is_multicast(out))
        return vk_opts_error(o, d, VK_EINVAL, key, "'%s' is a multicast address", v);
    return VK_OK;
}

int vk_parse_duration(const char *s, uint64_t *ns_out)
{
    if (s == NULL || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
        return VK_EINVAL;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || v < 0)
        return VK_EINVAL;
    double scale;
    if (*end == '\0' || strcmp(end, "s") == 0)
        scale = 1e9;
    else if (strcmp(end, "ms") == 0)
        scale = 1e6;
    else if (strcmp(end, "us") == 0)
        scale = 1e3;
    else if (strcmp(end, "ns") == 0)
        scale = 1;
    else
        return VK_EINVAL;
    double ns = v * scale;
    if (ns > 1.8e19)
        return VK_ERANGE;
    *ns_out = (uint64_t)(ns + 0.5);
    return VK_OK;
}

int vk_name_index(const char *const *names, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(name, names[i]) == 0)
            return (int)i;
    return -1;
}

const char *vk_name_at(const char *const *names, size_t count, size_t i)
{
    return i < count ? names[i] : "?";
}
