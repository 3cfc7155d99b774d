/*
 * vk_bench: frames per second through the engine, each scenario reported as
 * a ratio against a baseline measured in the same run on the same machine
 * (copying the same frames into a preallocated ring), so numbers from
 * different machines or loads can be compared by their ratios.
 *
 *   baseline      memcpy of each frame into a preallocated ring of slots
 *   hub2          sender -> hubport -> hub -> hubport -> sink
 *   hub4-fanout   sender -> 4-port hub -> 3 sinks (one frame, three deliveries)
 *   hub2+pcapng   hub2 with the pcapng tracer writing every event to /dev/null
 *                 (or --trace-file): the cost of formatting and handing over
 *   hub2+ng-file  the same into a real file in --tmpdir: adds the file system
 *   hub2+pcapdir  hub2 with --trace-dir, one classic pcap per port in --tmpdir
 *   pcap-loop     -netdev pcap reading a real capture with loop=N on the
 *                 virtual clock, through a 2-port hub to a sink
 *
 * Each scenario runs for a fixed time slice, several rounds, and keeps its
 * best round (the least disturbed by the rest of the machine).  Not a test:
 * it asserts nothing and is not registered with ctest (see bench/README.md).
 */
#include <dirent.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "backends/backends.h"
#include "core/net.h"
#include "core/topology.h"
#include "tracer/tracer.h"

#ifndef VK_SOURCE_DIR
#define VK_SOURCE_DIR "."
#endif

typedef struct bench_opts {
    double slice_s;  /* seconds per round */
    int rounds;
    size_t frame_len;
    const char *pcap_path;
    const char *trace_path;
    const char *tmpdir;
    const char *only; /* one scenario (plus the baseline), NULL: all */
} bench_opts;

typedef struct result {
    const char *name;
    double fps;         /* frames injected per second (best round) */
    double deliveries;  /* frames received by sinks per injected frame */
    long rss_kib;       /* peak RSS of the process after the scenario */
} result;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss; /* KiB on Linux */
}

/* A frame that looks like a UDP packet between two QEMU MACs; content does
 * not matter to a hub, only its length. */
static void fill_frame(uint8_t *buf, size_t len)
{
    static const uint8_t head[14] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x57, 0x52, 0x54,
                                     0x00, 0x12, 0x34, 0x56, 0x08, 0x00};
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 31 + 7);
    memcpy(buf, head, len < sizeof head ? len : sizeof head);
}

/* Runs `step` (which moves `batch` frames) until the slice is over; returns
 * frames per second of the best of `rounds` slices. */
typedef void (*step_fn)(void *ctx, size_t batch);

static double measure(const bench_opts *o, step_fn step, void *ctx)
{
    enum { BATCH = 1024 };
    double best = 0;
    for (int r = 0; r < o->rounds; r++) {
        uint64_t frames = 0;
        double start = now_s(), t;
        do {
            step(ctx, BATCH);
            frames += BATCH;
            t = now_s() - start;
        } while (t < o->slice_s);
        double fps = (double)frames / t;
        if (fps > best)
            best = fps;
    }
    return best;
}

/* ---- (a) baseline ---- */

#define RING_SLOTS 4096

typedef struct baseline_ctx {
    const uint8_t *frame;
    size_t len;
    uint8_t *ring; /* RING_SLOTS slots of len bytes */
    size_t head;
    uint64_t checksum;
} baseline_ctx;

static void baseline_step(void *arg, size_t batch)
{
    baseline_ctx *c = arg;
    for (size_t i = 0; i < batch; i++) {
        uint8_t *slot = c->ring + c->head * c->len;
        memcpy(slot, c->frame, c->len);
        c->checksum += slot[c->len - 1]; /* keep the copy observable */
        c->head = (c->head + 1) % RING_SLOTS;
    }
}

/* ---- engine scenarios ---- */

typedef struct sink_state {
    uint64_t frames, bytes;
} sink_state;

static int sink_receive(vk_port *self, vk_frame *f)
{
    sink_state *s = self->priv;
    s->frames++;
    s->bytes += f->len;
    return VK_OK;
}

static const vk_port_ops sink_ops = {.kind = "sink", .receive = sink_receive};

typedef struct hub_ctx {
    vk_loop *loop;
    vk_net *net;
    vk_tracer *tracer;
    vk_port *src;
    vk_port *sinks[8];
    size_t nsinks;
    const uint8_t *frame;
    size_t len;
} hub_ctx;

static int hub_setup(hub_ctx *c, size_t nports, const uint8_t *frame, size_t len,
                     const vk_trace_config *trace)
{
    memset(c, 0, sizeof *c);
    c->frame = frame;
    c->len = len;
    c->loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    c->net = vk_net_new(c->loop);
    if (c->loop == NULL || c->net == NULL)
        return VK_ENOMEM;
    for (size_t i = 0; i < nports; i++) {
        char id[32];
        vk_port *end, *hp;
        snprintf(id, sizeof id, "p%zu", i);
        int r = vk_port_new(c->net, &sink_ops, id, "sink", sizeof(sink_state), &end, NULL);
        if (r != VK_OK)
            return r;
        snprintf(id, sizeof id, "h%zu", i);
        if ((r = vk_net_add_hubport(c->net, 0, id, &hp, NULL)) != VK_OK)
            return r;
        if ((r = vk_net_connect(end, hp, NULL)) != VK_OK)
            return r;
        if (i == 0)
            c->src = end;
        else
            c->sinks[c->nsinks++] = end;
    }
    if (trace != NULL) {
        vk_diag d;
        int r = vk_tracer_open(c->net, trace, &c->tracer, &d);
        if (r != VK_OK) {
            fprintf(stderr, "vk_bench: tracer: %s\n", d.msg);
            return r;
        }
    }
    return VK_OK;
}

static void hub_step(void *arg, size_t batch)
{
    hub_ctx *c = arg;
    for (size_t i = 0; i < batch; i++)
        vk_port_send_bytes(c->src, c->frame, c->len);
}

static double hub_deliveries(const hub_ctx *c, uint64_t sent)
{
    uint64_t got = 0;
    for (size_t i = 0; i < c->nsinks; i++)
        got += ((sink_state *)c->sinks[i]->priv)->frames;
    return sent ? (double)got / (double)sent : 0;
}

static void hub_teardown(hub_ctx *c)
{
    if (c->tracer != NULL)
        vk_tracer_finish(c->tracer, NULL);
    vk_net_free(c->net);
    vk_tracer_close(c->tracer);
    vk_loop_free(c->loop);
}

static int run_hub(const bench_opts *o, const char *name, size_t nports, const uint8_t *frame,
                   const vk_trace_config *trace, result *out)
{
    hub_ctx c;
    int r = hub_setup(&c, nports, frame, o->frame_len, trace);
    if (r != VK_OK) {
        fprintf(stderr, "vk_bench: %s: setup failed: %s\n", name, vk_strerror(r));
        hub_teardown(&c);
        return r;
    }
    out->name = name;
    out->fps = measure(o, hub_step, &c);
    out->deliveries = hub_deliveries(&c, c.src->stats.tx_frames);
    hub_teardown(&c);
    out->rss_kib = peak_rss_kib();
    return VK_OK;
}

/* ---- tracing into real files ---- */

/* buf = a/b; false if it does not fit. */
static bool join_path(char *buf, size_t cap, const char *a, const char *b)
{
    int n = snprintf(buf, cap, "%s/%s", a, b);
    return n >= 0 && (size_t)n < cap;
}

/* Removes dir and the files in it (no subdirectories: the tracer makes none). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (join_path(path, sizeof path, dir, e->d_name))
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* hub2 tracing into a fresh directory under o->tmpdir: a pcapng file, or
 * (pcap_dir) one classic pcap per port; removed afterwards. */
static int run_hub_to_files(const bench_opts *o, const char *name, const uint8_t *frame,
                            bool pcap_dir, result *out)
{
    char dir[4096], file[4096];
    if (!join_path(dir, sizeof dir - 64, o->tmpdir, "vk_bench.XXXXXX") || mkdtemp(dir) == NULL) {
        fprintf(stderr, "vk_bench: %s: cannot create a directory in %s\n", name, o->tmpdir);
        return VK_EIO;
    }
    if (!join_path(file, sizeof file, dir, pcap_dir ? "ports" : "trace.pcapng")) {
        rmdir(dir);
        return VK_EIO; /* cannot happen: dir left room */
    }
    vk_trace_config cfg = {.topology_text = "vk_bench"};
    if (pcap_dir)
        cfg.dir = file;
    else
        cfg.pcapng_path = file;
    int r = run_hub(o, name, 2, frame, &cfg, out);
    if (pcap_dir)
        remove_tree(file);
    else
        unlink(file);
    rmdir(dir);
    return r;
}

/* ---- (e) pcap backend, virtual clock ---- */

static const vk_netdev_type *const pcap_only[] = {&vk_netdev_pcap, NULL};
static const vk_registry pcap_registry = {pcap_only, NULL, NULL, NULL, NULL};

/* One run of the capture looped `loops` times; returns frames sent and sets
 * *secs, or 0 on error. */
static uint64_t pcap_run(const char *path, uint64_t loops, double *secs)
{
    vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    vk_net *net = vk_net_new(loop);
    vk_topology *t = vk_topology_new();
    char val[4096];
    vk_diag d;
    uint64_t sent = 0;
    snprintf(val, sizeof val, "pcap,id=src,in=%s,loop=%llu", path, (unsigned long long)loops);
    int r = vk_topology_add(t, "-netdev", val, "bench", &d);
    if (r == VK_OK)
        r = vk_topology_add(t, "-netdev", "hubport,id=h0,hubid=0,netdev=src", "bench", &d);
    if (r == VK_OK)
        r = vk_topology_add(t, "-netdev", "hubport,id=h1,hubid=0", "bench", &d);
    if (r == VK_OK)
        r = vk_topology_build(t, net, &pcap_registry, &d);
    vk_port *sink = NULL;
    if (r == VK_OK && (r = vk_port_new(net, &sink_ops, "sink", "sink", sizeof(sink_state),
                                       &sink, NULL)) == VK_OK)
        r = vk_net_connect(sink, vk_net_find_port(net, "h1"), &d);
    double start = now_s();
    if (r == VK_OK)
        r = vk_net_start(net, &d);
    if (r == VK_OK)
        r = vk_loop_run(loop, VK_TIME_NEVER);
    *secs = now_s() - start;
    if (r != VK_OK)
        fprintf(stderr, "vk_bench: pcap-loop: %s\n", d.msg[0] ? d.msg : vk_strerror(r));
    else
        sent = ((sink_state *)sink->priv)->frames;
    vk_net_free(net);
    vk_topology_free(t);
    vk_loop_free(loop);
    return sent;
}

static int run_pcap(const bench_opts *o, result *out)
{
    out->name = "pcap-loop";
    double secs;
    /* calibrate: a short run tells how many passes fill a slice */
    uint64_t probe_loops = 50;
    uint64_t frames = pcap_run(o->pcap_path, probe_loops, &secs);
    if (frames == 0)
        return VK_EIO;
    double per_loop = secs / (double)probe_loops;
    uint64_t loops = per_loop > 0 ? (uint64_t)(o->slice_s / per_loop) : 1000;
    if (loops < 1)
        loops = 1;
    double best = 0;
    for (int r = 0; r < o->rounds; r++) {
        frames = pcap_run(o->pcap_path, loops, &secs);
        if (frames == 0)
            return VK_EIO;
        if (frames / secs > best)
            best = (double)frames / secs;
    }
    out->fps = best;
    out->deliveries = 1;
    out->rss_kib = peak_rss_kib();
    return VK_OK;
}

/* ---- main ---- */

static bool wanted(const bench_opts *o, const char *name)
{
    return o->only == NULL || strcmp(o->only, name) == 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: vk_bench [--slice SECONDS] [--rounds N] [--size BYTES] [--pcap FILE]\n"
               "                [--trace-file FILE] [--tmpdir DIR] [--only SCENARIO] [--quick]\n"
               "  --slice     seconds per measured round (default 0.8)\n"
               "  --rounds    rounds per scenario, best kept (default 3)\n"
               "  --size      frame length for the synthetic scenarios (default 512)\n"
               "  --pcap      capture for pcap-loop (default pcaps/qemu-e1000-dhcp-ping.pcap)\n"
               "  --trace-file  where hub2+pcapng writes (default /dev/null)\n"
               "  --tmpdir    where hub2+ng-file and hub2+pcapdir write (default $TMPDIR\n"
               "              or /tmp); their files are removed once open\n"
               "  --only      run the baseline and this one scenario (for profiling)\n"
               "  --quick     --slice 0.2 --rounds 1 (a smoke run)\n");
}

static int parse_args(int argc, char **argv, bench_opts *o)
{
    static const struct option longopts[] = {
        {"slice", required_argument, NULL, 's'},  {"rounds", required_argument, NULL, 'r'},
        {"size", required_argument, NULL, 'z'},   {"pcap", required_argument, NULL, 'p'},
        {"trace-file", required_argument, NULL, 't'}, {"quick", no_argument, NULL, 'q'},
        {"tmpdir", required_argument, NULL, 'd'}, {"only", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': o->slice_s = atof(optarg); break;
        case 'r': o->rounds = atoi(optarg); break;
        case 'z': o->frame_len = (size_t)strtoul(optarg, NULL, 10); break;
        case 'p': o->pcap_path = optarg; break;
        case 't': o->trace_path = optarg; break;
        case 'd': o->tmpdir = optarg; break;
        case 'o': o->only = optarg; break;
        case 'q': o->slice_s = 0.2; o->rounds = 1; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (o->slice_s <= 0 || o->rounds < 1 || o->frame_len < 14 || o->frame_len > 1514) {
        fprintf(stderr, "vk_bench: need --slice > 0, --rounds >= 1, 14 <= --size <= 1514\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench_opts o = {.slice_s = 0.8,
                    .rounds = 3,
                    .frame_len = 512,
                    .pcap_path = VK_SOURCE_DIR "/pcaps/qemu-e1000-dhcp-ping.pcap",
                    .trace_path = "/dev/null",
                    .tmpdir = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp"};
    if (parse_args(argc, argv, &o) != 0)
        return 2;

    uint8_t *frame = malloc(o.frame_len);
    uint8_t *ring = malloc(RING_SLOTS * o.frame_len);
    if (frame == NULL || ring == NULL)
        return 1;
    fill_frame(frame, o.frame_len);
    memset(ring, 0, RING_SLOTS * o.frame_len); /* fault the ring in before timing */

    result res[7] = {{0}};
    size_t n = 0;
    baseline_ctx bc = {frame, o.frame_len, ring, 0, 0};
    res[n++] = (result){"baseline", measure(&o, baseline_step, &bc), 1, peak_rss_kib()};
    if (bc.checksum == 42) /* never true in practice; stops the copy being optimised out */
        fputc(' ', stderr);
    int failed = 0;
    if (wanted(&o, "hub2"))
        failed |= run_hub(&o, "hub2", 2, frame, NULL, &res[n++]) != VK_OK;
    if (wanted(&o, "hub4-fanout"))
        failed |= run_hub(&o, "hub4-fanout", 4, frame, NULL, &res[n++]) != VK_OK;
    vk_trace_config ng = {.pcapng_path = o.trace_path, .topology_text = "vk_bench"};
    if (wanted(&o, "hub2+pcapng"))
        failed |= run_hub(&o, "hub2+pcapng", 2, frame, &ng, &res[n++]) != VK_OK;
    if (wanted(&o, "hub2+ng-file"))
        failed |= run_hub_to_files(&o, "hub2+ng-file", frame, false, &res[n++]) != VK_OK;
    if (wanted(&o, "hub2+pcapdir"))
        failed |= run_hub_to_files(&o, "hub2+pcapdir", frame, true, &res[n++]) != VK_OK;
    if (wanted(&o, "pcap-loop"))
        failed |= run_pcap(&o, &res[n++]) != VK_OK;
    free(ring);
    free(frame);

    printf("vk_bench: %zu-byte frames (pcap-loop: %s), best of %d x %.2fs\n", o.frame_len,
           o.pcap_path, o.rounds, o.slice_s);
    printf("%-14s %14s %10s %12s %14s\n", "scenario", "frames/s", "ratio", "deliveries",
           "peak RSS KiB");
    for (size_t i = 0; i < n; i++) {
        if (res[i].name == NULL)
            continue;
        printf("%-14s %14.0f %10.4f %12.1f %14ld\n", res[i].name, res[i].fps,
               res[i].fps / res[0].fps, res[i].deliveries, res[i].rss_kib);
    }
    printf("ratio = frames/s / baseline frames/s (same run); peak RSS is the process's "
           "high-water mark after each scenario\n");
    return failed ? 1 : 0;
}
