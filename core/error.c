/* Error names and texts for the VK_E* codes (see error.h). */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
    int code;
    const char *name;
    const char *text;
} error_table[] = {
    {VK_OK, "VK_OK", "success"},
    {VK_ENOMEM, "VK_ENOMEM", "out of memory"},
    {VK_EINVAL, "VK_EINVAL", "invalid argument"},
    {VK_EIO, "VK_EIO", "input/output error"},
    {VK_ETRUNC, "VK_ETRUNC", "truncated input"},
    {VK_ENOENT, "VK_ENOENT", "not found"},
    {VK_EEXIST, "VK_EEXIST", "already exists"},
    {VK_EFULL, "VK_EFULL", "resource limit reached"},
    {VK_EFORMAT, "VK_EFORMAT", "malformed data"},
    {VK_EAGAIN, "VK_EAGAIN", "cannot accept now"},
    {VK_ERANGE, "VK_ERANGE", "value out of range"},
    {VK_EUNSUPP, "VK_EUNSUPP", "not supported"},
    {VK_EDROP, "VK_EDROP", "dropped"},
    {VK_ECONNREFUSED, "VK_ECONNREFUSED", "connection refused"},
    {VK_ENETUNREACH, "VK_ENETUNREACH", "network unreachable"},
    {VK_EHOSTUNREACH, "VK_EHOSTUNREACH", "host unreachable"},
    {VK_ETIMEDOUT, "VK_ETIMEDOUT", "timed out"},
    {VK_ECONNRESET, "VK_ECONNRESET", "connection reset by peer"},
    {VK_EPORTUNREACH, "VK_EPORTUNREACH", "port unreachable"},
};

const char *vk_strerror(int err)
{
    for (size_t i = 0; i < sizeof error_table / sizeof error_table[0]; i++)
        if (error_table[i].code == err)
            return error_table[i].text;
    return "unknown error";
}

const char *vk_errname(int err)
{
    for (size_t i = 0; i < sizeof error_table / sizeof error_table[0]; i++)
        if (error_table[i].code == err)
            return error_table[i].name;
    return "VK_E?";
}

int vk_diag_set(vk_diag *d, int err, const char *fmt, ...)
{
    if (d == NULL)
        return err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    return err;
}
