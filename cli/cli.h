/*
 * The command-line front end: `vnetkit SUBCOMMAND ...`.  Shared pieces of the
 * subcommands live in common.c: collecting QEMU-style topology options out of
 * argv, the registry of every backend/NIC/object, and tracer options.
 */
#ifndef VK_CLI_CLI_H
#define VK_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/progress.h"
#include "core/topology.h"
#include "tracer/tracer.h"

/* Exit statuses, documented in --help and README.md. */
enum {
    VK_EXIT_OK = 0,
    VK_EXIT_CHECK_FAILED = 1,
    VK_EXIT_USAGE = 2, /* bad usage or bad input */
};

extern const char *vk_prog;

/* Moves every QEMU topology option (-netdev X, -device X, -nic X, -net X,
 * -object X, and --topology FILE) out of argv into t, leaving the rest (and
 * argv[0]) for getopt_long; `value_opts` lists the long options of the
 * subcommand that take a value, so their values are never mistaken for
 * topology options.  Returns VK_OK or an error with its message. */
int vk_cli_take_topology(int *argc, char **argv, const char *const *value_opts, vk_topology *t,
                         vk_diag *d);

const vk_registry *vk_cli_registry(void);
/* Prints every -netdev type, NIC model and -object type of the registry with
 * its keys (for the subcommands' --help). */
void vk_cli_print_registry(FILE *out);

/* Prints "vnetkit: MESSAGE" on stderr. */
void vk_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Tracer options shared by run and replay. */
typedef struct vk_cli_trace {
    vk_trace_config cfg;
} vk_cli_trace;
/* Handles --trace-dir/--trace/--trace-filter/--trace-snaplen; returns 1 if
 * `name` was one of them, 0 if not, or -1 after printing an error. */
int vk_cli_trace_option(vk_cli_trace *tr, const char *name, const char *value);
/* VK_OK, or prints why the trace options cannot be used as given. */
int vk_cli_trace_check(const vk_cli_trace *tr);

/* The progress line of run and replay (core/progress.h) on stderr: by
 * default only when stderr is a terminal; --progress asks for it anyway
 * (whole lines when not a terminal), --quiet turns it off. */
typedef enum vk_cli_progress_mode {
    VK_CLI_PROGRESS_AUTO = 0,
    VK_CLI_PROGRESS_ON,  /* --progress */
    VK_CLI_PROGRESS_OFF, /* --quiet */
} vk_cli_progress_mode;
void vk_cli_progress_start(vk_progress *p, const char *what, vk_cli_progress_mode mode);
/* Wall time for the meter, CLOCK_MONOTONIC ns: the engine never reads it. */
uint64_t vk_cli_wall_ns(void);

int vk_cmd_run(int argc, char **argv);
int vk_cmd_replay(int argc, char **argv);

#endif
