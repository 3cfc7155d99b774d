/*
 * A progress line for long runs and replays: frames so far, the share of
 * the input done, the rate and the time left, redrawn in place on a terminal
 * at most every VK_PROGRESS_INTERVAL_NS and cleared at the end, so that what
 * stays on the screen is exactly what a run without it prints.  Not on a
 * terminal (asked for explicitly) it prints whole lines, at most one every
 * VK_PROGRESS_LINE_INTERVAL_NS, and clears nothing.
 *
 * The caller owns the clock, as everywhere in vnetkit: every call is given
 * the wall time (any monotonic nanoseconds); the meter reads none.
 */
#ifndef VK_CORE_PROGRESS_H
#define VK_CORE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define VK_PROGRESS_INTERVAL_NS 250000000ull      /* on a terminal: 4 a second */
#define VK_PROGRESS_LINE_INTERVAL_NS 1000000000ull /* whole lines: 1 a second */

typedef struct vk_progress {
    FILE *out;          /* NULL: the meter is off and every call does nothing */
    bool tty;           /* redraw one line in place */
    const char *what;   /* "run", "replay": the line's first word */
    uint64_t start_ns;  /* wall time of vk_progress_start */
    uint64_t last_ns;   /* wall time of the last line drawn */
    bool drawn;         /* a line is on the terminal (to be cleared) */
    bool any;           /* some line was drawn */
} vk_progress;

/* Starts the meter on out (NULL: off).  tty: out is a terminal. */
void vk_progress_start(vk_progress *p, FILE *out, bool tty, const char *what,
                       uint64_t now_ns);
/* True when a line is due at now_ns (the first update is always due), so
 * the caller gathers its counts only then. */
bool vk_progress_due(const vk_progress *p, uint64_t now_ns);
/* Draws the line if one is due: `frames` so far; `done` of `total` units of
 * the input (total 0: unknown, no percent and no ETA). */
void vk_progress_update(vk_progress *p, uint64_t now_ns, uint64_t frames, uint64_t done,
                        uint64_t total);
/* Ends the meter: on a terminal the line is erased. */
void vk_progress_finish(vk_progress *p);

#endif
