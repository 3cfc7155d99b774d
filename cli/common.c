/* Pieces shared by the subcommands (see cli.h). */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/registry.h"

const char *vk_prog = "vnetkit";

void vk_cli_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", vk_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

const vk_registry *vk_cli_registry(void)
{
    return vk_registry_default();
}

static bool takes_value(const char *arg, const char *const *value_opts)
{
    if (strncmp(arg, "--", 2) != 0 || strchr(arg, '=') != NULL)
        return false;
    for (size_t i = 0; value_opts && value_opts[i]; i++)
        if (strcmp(arg + 2, value_opts[i]) == 0)
            return true;
    return false;
}

int vk_cli_take_topology(int *argc, char **argv, const char *const *value_opts, vk_topology *t,
                         vk_diag *d)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        const char *name = (a[0] == '-' && a[1] == '-') ? a + 1 : a; /* --netdev too */
        if (strcmp(a, "--") == 0) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (vk_topology_is_option(name) || strcmp(a, "--topology") == 0) {
            if (i + 1 >= *argc)
                return vk_diag_set(d, VK_EINVAL, "option '%s' needs a value", a);
            int r = strcmp(a, "--topology") == 0
                        ? vk_topology_load_file(t, argv[i + 1], d)
                        : vk_topology_add(t, name, argv[i + 1], "command line", d);
            if (r != VK_OK)
                return r;
            i++;
            continue;
        }
        argv[out++] = argv[i];
        if (takes_value(a, value_opts) && i + 1 < *argc)
            argv[out++] = argv[++i];
    }
    argv[out] = NULL;
    *argc = out;
    return VK_OK;
}

int vk_cli_trace_option(vk_cli_trace *tr, const char *name, const char *value)
{
    if (strcmp(name, "trace-dir") == 0) {
        tr->cfg.dir = value;
    } else if (strcmp(name, "trace") == 0) {
        tr->cfg.pcapng_path = value;
    } else if (strcmp(name, "trace-filter") == 0) {
        tr->cfg.filter = value;
    } else if (strcmp(name, "trace-snaplen") == 0) {
        char *end;
        unsigned long n = strtoul(value, &end, 10);
        if (value[0] < '0' || value[0] > '9' || *end != '\0' || n == 0 ||
            n > VK_TRACE_SNAPLEN_MAX) {
            vk_cli_error("--trace-snaplen: '%s' is not a number in 1..%u", value,
                         VK_TRACE_SNAPLEN_MAX);
            return -1;
        }
        tr->cfg.snaplen = (unsigned)n;
    } else {
        return 0;
    }
    return 1;
}

int vk_cli_trace_check(const vk_cli_trace *tr)
{
    bool output = tr->cfg.dir != NULL || tr->cfg.pcapng_path != NULL;
    if (!output && tr->cfg.filter != NULL) {
        vk_cli_error("--trace-filter needs --trace or --trace-dir");
        return VK_EINVAL;
    }
    if (!output && tr->cfg.snaplen != 0) {
        vk_cli_error("--trace-snaplen needs --trace or --trace-dir");
        return VK_EINVAL;
    }
    return VK_OK;
}

/* One "  NAME  key key ..." entry, keys wrapped under column `col`. */
static void print_entry(FILE *out, const char *name, const char *const *keys)
{
    enum { col = 16, width = 79 };
    int pos = fprintf(out, "  %-*s", col - 3, name);
    if (pos < col - 1) {
        fprintf(out, " ");
        pos++;
    }
    for (size_t k = 0; keys && keys[k]; k++) {
        if (strcmp(keys[k], "type") == 0 || strcmp(keys[k], "id") == 0)
            continue;
        int len = (int)strlen(keys[k]) + 1;
        if (pos + len > width && pos > col) {
            fprintf(out, "\n%*s", col - 1, "");
            pos = col - 1;
        }
        pos += fprintf(out, " %s", keys[k]);
    }
    fputc('\n', out);
}

void vk_cli_print_registry(FILE *out)
{
    const vk_registry *reg = vk_cli_registry();
    fprintf(out, "netdev types (-netdev TYPE,id=ID,KEY=VALUE... or -nic TYPE,...) and keys:\n");
    print_entry(out, "hubport", vk_topology_hubport_keys);
    for (size_t i = 0; reg->netdevs[i]; i++)
        print_entry(out, reg->netdevs[i]->name, reg->netdevs[i]->keys);
    fprintf(out, "\nNIC models (-device MODEL,netdev=ID[,mac=MAC][,id=ID],KEY=VALUE...) and keys:\n");
    for (size_t i = 0; reg->nics[i]; i++)
        print_entry(out, reg->nics[i]->name, reg->nics[i]->keys);
    fprintf(out, "\nobjects (-object TYPE,id=ID,KEY=VALUE...) and keys:\n");
    for (size_t i = 0; reg->objects[i]; i++)
        print_entry(out, reg->objects[i]->name, reg->objects[i]->keys);
    fprintf(out, "\nchardevs (-chardev BACKEND,id=ID,KEY=VALUE..., for filter-mirror/redirector)"
                 " and keys:\n");
    for (size_t i = 0; reg->chardevs && reg->chardevs[i]; i++)
        print_entry(out, reg->chardevs[i]->name, reg->chardevs[i]->keys);
}

uint64_t vk_cli_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vk_cli_progress_start(vk_progress *p, const char *what, vk_cli_progress_mode mode)
{
    bool tty = isatty(STDERR_FILENO) == 1;
    bool on = mode == VK_CLI_PROGRESS_ON || (mode == VK_CLI_PROGRESS_AUTO && tty);
    vk_progress_start(p, on ? stderr : NULL, tty, what, vk_cli_wall_ns());
}
