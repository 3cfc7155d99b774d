/* The progress line (see progress.h). */
#include "core/progress.h"

#include <inttypes.h>

void vk_progress_start(vk_progress *p, FILE *out, bool tty, const char *what,
                       uint64_t now_ns)
{
    *p = (vk_progress){.out = out, .tty = tty, .what = what, .start_ns = now_ns};
}

bool vk_progress_due(const vk_progress *p, uint64_t now_ns)
{
    if (p->out == NULL)
        return false;
    if (!p->any)
        return true;
    uint64_t every = p->tty ? VK_PROGRESS_INTERVAL_NS : VK_PROGRESS_LINE_INTERVAL_NS;
    return now_ns - p->last_ns >= every;
}

/* "12.3k"-style counts keep the line short whatever the run. */
static void print_count(FILE *out, double v)
{
    if (v >= 1e9)
        fprintf(out, "%.1fG", v / 1e9);
    else if (v >= 1e6)
        fprintf(out, "%.1fM", v / 1e6);
    else if (v >= 1e4)
        fprintf(out, "%.1fk", v / 1e3);
    else
        fprintf(out, "%.0f", v);
}

static void print_duration(FILE *out, uint64_t s)
{
    if (s >= 3600)
        fprintf(out, "%" PRIu64 ":%02u:%02u", s / 3600, (unsigned)(s / 60 % 60),
                (unsigned)(s % 60));
    else
        fprintf(out, "%u:%02u", (unsigned)(s / 60), (unsigned)(s % 60));
}

void vk_progress_update(vk_progress *p, uint64_t now_ns, uint64_t frames, uint64_t done,
                        uint64_t total)
{
    if (!vk_progress_due(p, now_ns))
        return;
    double elapsed = (double)(now_ns - p->start_ns) / 1e9;
    fprintf(p->out, "%s%s: ", p->tty ? "\r" : "", p->what);
    print_count(p->out, (double)frames);
    fprintf(p->out, " frames");
    if (total > 0)
        fprintf(p->out, ", %.1f%%", 100.0 * (double)(done > total ? total : done) /
                                        (double)total);
    /* a rate over less than one interval says nothing yet */
    bool timed = now_ns - p->start_ns >= VK_PROGRESS_INTERVAL_NS;
    if (timed) {
        fprintf(p->out, ", ");
        print_count(p->out, (double)frames / elapsed);
        fprintf(p->out, " frames/s");
    }
    if (timed && total > 0 && done > 0 && done <= total) {
        fprintf(p->out, ", ETA ");
        print_duration(p->out, (uint64_t)(elapsed * (double)(total - done) / (double)done + 0.5));
    }
    /* on a terminal: erase what a longer earlier line left */
    fputs(p->tty ? "\033[K" : "\n", p->out);
    fflush(p->out);
    p->last_ns = now_ns;
    p->any = true;
    p->drawn = p->tty;
}

void vk_progress_finish(vk_progress *p)
{
    if (p->out != NULL && p->drawn) {
        fputs("\r\033[K", p->out);
        fflush(p->out);
    }
    p->drawn = false;
    p->out = NULL;
}
