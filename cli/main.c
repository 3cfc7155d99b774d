/*
 * vnetkit's entry point: dispatches to a subcommand and prints the global
 * help and version.  Exit statuses: 0 success, 1 a check failed, 2 bad usage
 * or bad input.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"run", vk_cmd_run, "build a network from QEMU options and run it, tracing every port"},
    {"replay", vk_cmd_replay, "feed a capture through the network and check what it answers"},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vnetkit SUBCOMMAND [options]\n"
            "       vnetkit SUBCOMMAND --help\n"
            "       vnetkit --help | --version\n"
            "\n"
            "QEMU's network emulation as a test bench: emulated NICs, host backends and\n"
            "hubs wired with QEMU's option grammar, a trace of every port, and replay of\n"
            "recorded captures on a virtual clock.\n"
            "\n"
            "subcommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n"
                 "exit status: 0 success, 1 a check failed (replay diverged), 2 bad usage or\n"
                 "bad input (options, topology, unreadable or malformed capture).\n");
}

static void print_keys(const char *kind, const char *name, const char *common,
                       const char *const *keys)
{
    printf("%s %s%s%s", kind, name, common[0] ? " " : "", common);
    for (size_t k = 0; keys && keys[k]; k++)
        printf(" %s", keys[k]);
    putchar('\n');
}

/* Hidden `vnetkit --list-keys`: the subcommands and every -netdev type,
 * -device model, -object type and -chardev backend with its keys, one a line
 * ("netdev user id net host ..."), for the bash completion
 * (scripts/completion/vnetkit.bash), so that it keeps no list of its own. */
static int list_keys(void)
{
    const vk_registry *reg = vk_cli_registry();
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        printf("subcommand %s\n", commands[i].name);
    for (size_t i = 0; reg->netdevs[i]; i++)
        print_keys("netdev", reg->netdevs[i]->name, "id", reg->netdevs[i]->keys);
    print_keys("netdev", "hubport", "", vk_topology_hubport_keys);
    for (size_t i = 0; reg->nics[i]; i++)
        print_keys("device", reg->nics[i]->name, "id netdev mac", reg->nics[i]->keys);
    for (size_t i = 0; reg->objects[i]; i++)
        print_keys("object", reg->objects[i]->name, "id", reg->objects[i]->keys);
    for (size_t i = 0; reg->chardevs && reg->chardevs[i]; i++)
        print_keys("chardev", reg->chardevs[i]->name, "id", reg->chardevs[i]->keys);
    return VK_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return VK_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return VK_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("vnetkit %s\n", VK_VERSION);
        return VK_EXIT_OK;
    }
    if (strcmp(argv[1], "--list-keys") == 0)
        return list_keys();
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    vk_cli_error("unknown subcommand '%s' (see 'vnetkit --help')", argv[1]);
    return VK_EXIT_USAGE;
}
