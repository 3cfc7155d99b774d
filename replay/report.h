/*
 * Reporting a replay like a test runner: a one-line verdict, then the first
 * divergences with frame numbers, flow, time and a field-level diff
 * (text, for people), and every match and divergence as JSON (for tools;
 * the schema is docs/replay-report.md).  Times are seconds since the
 * capture's first frame.
 */
#ifndef VK_REPLAY_REPORT_H
#define VK_REPLAY_REPORT_H

#include <stdio.h>

#include "replay/replay.h"

#define VK_REPORT_MAX_DIFFS_DEFAULT 10

/* Writes the verdict and up to max_diffs divergences to out. */
void vk_report_text(const vk_replay *r, size_t max_diffs, FILE *out);
/* Writes the JSON report to path.  VK_EIO with a message. */
int vk_report_json(const vk_replay *r, unsigned norm, const char *path, vk_diag *d);
/* Writes s as a JSON string (quotes included): control characters and
 * bytes >= 0x80 as \u00XX, so the output is valid JSON whatever s holds. */
void vk_json_string(FILE *out, const char *s);

#endif
