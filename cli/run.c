/*
 * `vnetkit run`: build the network from QEMU options, trace it, run it.  On
 * the virtual clock the run ends when no event is left (or at --duration); on
 * the live clock at --duration or SIGINT/SIGTERM.  Traces are closed as valid
 * files on every way out, including an input error in the middle of the run.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/filter.h"
#include "core/loop.h"
#include "core/options.h"

/* Joins the registered names with ", " into buf. */
static const char *list_names(char *buf, size_t cap, bool netdevs)
{
    const vk_registry *reg = vk_cli_registry();
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0;; i++) {
        const char *name = netdevs ? (reg->netdevs[i] ? reg->netdevs[i]->name : NULL)
                                   : (reg->nics[i] ? reg->nics[i]->name : NULL);
        if (name == NULL || off >= cap)
            break;
        off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? ", " : "", name);
    }
    return buf;
}

static void run_usage(FILE *out)
{
    char netdevs[256], nics[256];
    list_names(netdevs, sizeof netdevs, true);
    list_names(nics, sizeof nics, false);
    fprintf(out,
            "usage: vnetkit run [topology options] [--trace-dir DIR] [--trace FILE.pcapng]\n"
            "                   [--trace-filter BPF] [--trace-snaplen N] [--duration T]\n"
            "                   [--clock virtual|live] [--stats] [--progress | --quiet]\n"
            "\n"
            "topology options (QEMU's grammar and meaning; ',,' is a literal comma):\n"
            "  -netdev TYPE,id=ID[,key=value...]     a host backend: hubport, %s\n"
            "  -netdev hubport,id=ID,hubid=N[,netdev=ID]\n"
            "  -netdev pcap,id=ID,in=FILE[,out=FILE][,loop=N]\n"
            "  -netdev user,id=ID[,net=ADDR/MASK][,host=][,dns=][,dhcpstart=][,tftp=DIR]...\n"
            "  -netdev tap,id=ID,ifname=NAME[,script=no,downscript=no][,vnet_hdr=on] | fd=N\n"
            "  -netdev stream,id=ID,server=on|off,addr.type=inet|unix|fd,addr.host=,addr.port=,\n"
            "          addr.path=,addr.str=[,reconnect-ms=MS]\n"
            "  -netdev dgram,id=ID,local.type=...,local.host=...,remote.type=...,remote.host=...\n"
            "  -netdev socket,id=ID,listen=[H]:P|connect=H:P|mcast=M:P|udp=H:P,localaddr=|fd=N\n"
            "  -netdev vde,id=ID[,sock=PATH][,port=N][,group=G][,mode=M]\n"
            "  -device MODEL,netdev=ID[,mac=MAC][,id=ID]   MODEL: %s\n"
            "  -nic TYPE[,model=MODEL][,mac=MAC][,backend keys]\n"
            "  -net nic[,model=MODEL][,macaddr=MAC] | -net TYPE[,...]   (joined on hub 0)\n"
            "  -object filter-dump,id=ID,netdev=ID,file=PATH[,maxlen=N]\n"
            "  -object filter-netem,id=ID,netdev=ID[,queue=all|rx|tx][,delay=T][,loss=P%%]...\n"
            "  --topology FILE     the same options, one or more a line, '#' comments\n"
            "\n"
            "tracing (every port, both directions):\n"
            "  --trace-dir DIR       one classic pcap per port: DIR/<port-id>.pcap\n"
            "  --trace FILE.pcapng   one pcapng: an interface per port, direction flags,\n"
            "                        packet ids, drop reasons as comments\n"
            "  --trace-filter BPF    only frames matching this tcpdump filter are traced\n"
            "  --trace-snaplen N     bytes kept per frame (default %u)\n"
            "\n"
            "run control:\n"
            "  --duration T          stop at time T (e.g. 10, 1.5s, 200ms)\n"
            "  --clock virtual|live  default: live if a backend needs the real world\n"
            "  --stats               print per-port counters on stderr at the end\n"
            "  --progress            a progress line on stderr (frames, percent of the input\n"
            "                        captures or of --duration, rate, ETA); default: when\n"
            "                        stderr is a terminal, redrawn in place and erased at the end\n"
            "  --quiet               no progress line\n"
            "  --at T 'set_link ID on|off'  QEMU's monitor command at time T (repeatable)\n"
            "\n"
            "exit status: 0 success (also when ended by SIGINT/SIGTERM), 2 bad usage or\n"
            "bad input (the message names the option, key, file and frame).\n",
            netdevs, nics, VK_TRACE_SNAPLEN_DEFAULT);
}

static const char *const run_value_opts[] = {"trace-dir", "trace", "trace-filter",
                                             "trace-snaplen", "duration", "clock", "at", NULL};

#define RUN_AT_MAX 64

/* --at T 'set_link ID on|off': one scheduled monitor command. */
typedef struct run_at {
    uint64_t at;
    char when[32]; /* as written */
    char id[64];
    bool up;
    vk_net *net;
    vk_timer *timer;
} run_at;

typedef struct run_args {
    vk_cli_trace trace;
    uint64_t duration;
    int clock; /* -1 auto */
    bool stats;
    vk_cli_progress_mode progress;
    run_at at[RUN_AT_MAX];
    size_t n_at;
} run_args;

/* Parses "set_link ID on|off" (QEMU's monitor syntax). */
static int parse_at_command(const char *when, const char *cmd, run_args *a)
{
    run_at *x = &a->at[a->n_at];
    if (a->n_at == RUN_AT_MAX) {
        vk_cli_error("--at: more than %d commands", RUN_AT_MAX);
        return -1;
    }
    if (vk_parse_duration(when, &x->at) != VK_OK) {
        vk_cli_error("--at: '%s' is not a time (e.g. 10, 1.5s, 200ms)", when);
        return -1;
    }
    char verb[16], id[64], state[8], extra[2];
    int n = cmd ? sscanf(cmd, "%15s %63s %7s %1s", verb, id, state, extra) : 0;
    if (n != 3 || strcmp(verb, "set_link") != 0 ||
        (strcmp(state, "on") != 0 && strcmp(state, "off") != 0)) {
        vk_cli_error("--at %s: '%s' is not 'set_link ID on|off'", when, cmd ? cmd : "");
        return -1;
    }
    snprintf(x->id, sizeof x->id, "%s", id);
    snprintf(x->when, sizeof x->when, "%s", when);
    x->up = strcmp(state, "on") == 0;
    a->n_at++;
    return 0;
}

static int parse_run_args(int argc, char **argv, run_args *a)
{
    static const struct option longopts[] = {
        {"trace-dir", required_argument, NULL, 0},
        {"trace", required_argument, NULL, 0},
        {"trace-filter", required_argument, NULL, 0},
        {"trace-snaplen", required_argument, NULL, 0},
        {"duration", required_argument, NULL, 0},
        {"clock", required_argument, NULL, 0},
        {"stats", no_argument, NULL, 0},
        {"progress", no_argument, NULL, 0},
        {"quiet", no_argument, NULL, 0},
        {"at", required_argument, NULL, 0},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int idx, c;
    optind = 1;
    opterr = 0;
    /* '+': stop at the first non-option, so that --at's second argument (the
     * command) is ours to take, never permuted away */
    while ((c = getopt_long(argc, argv, "+h", longopts, &idx)) != -1) {
        if (c == 'h') {
            run_usage(stdout);
            fputc('\n', stdout);
            vk_cli_print_registry(stdout);
            return 1;
        }
        if (c == '?') {
            vk_cli_error("run: unknown or incomplete option '%s' (see 'vnetkit run --help')",
                         argv[optind - 1]);
            return -1;
        }
        const char *name = longopts[idx].name;
        int t = vk_cli_trace_option(&a->trace, name, optarg);
        if (t < 0)
            return -1;
        if (t > 0)
            continue;
        if (strcmp(name, "duration") == 0) {
            if (vk_parse_duration(optarg, &a->duration) != VK_OK) {
                vk_cli_error("--duration: '%s' is not a time (e.g. 10, 1.5s, 200ms)", optarg);
                return -1;
            }
        } else if (strcmp(name, "clock") == 0) {
            if (strcmp(optarg, "virtual") == 0)
                a->clock = VK_CLOCK_VIRTUAL;
            else if (strcmp(optarg, "live") == 0)
                a->clock = VK_CLOCK_LIVE;
            else {
                vk_cli_error("--clock: '%s' is not virtual or live", optarg);
                return -1;
            }
        } else if (strcmp(name, "stats") == 0) {
            a->stats = true;
        } else if (strcmp(name, "progress") == 0) {
            a->progress = VK_CLI_PROGRESS_ON;
        } else if (strcmp(name, "quiet") == 0) {
            a->progress = VK_CLI_PROGRESS_OFF;
        } else if (strcmp(name, "at") == 0) {
            const char *cmd = optind < argc ? argv[optind++] : NULL;
            if (parse_at_command(optarg, cmd, a) != 0)
                return -1;
        }
    }
    if (optind < argc) {
        vk_cli_error("run: unexpected argument '%s'", argv[optind]);
        return -1;
    }
    return vk_cli_trace_check(&a->trace) == VK_OK ? 0 : -1;
}

/* Everything a run owns, released in one place in the right order. */
typedef struct run_state {
    vk_topology *topo;
    vk_loop *loop;
    vk_net *net;
    vk_tracer *tracer;
    vk_timer *flush_timer;
    run_args *args;
    vk_progress meter;
} run_state;

/* The share of the run done, in millionths: the input captures' bytes read,
 * or the time of --duration passed, whichever is further; 0 if unknown. */
#define RUN_SHARE_TOTAL 1000000u

static uint64_t run_share(const run_state *s, uint64_t now)
{
    uint64_t done = 0, total = 0, d, t;
    bool known = true;
    for (size_t i = 0; i < vk_net_port_count(s->net); i++) {
        vk_port *p = vk_net_port_at(s->net, i);
        if (p->ops->input_progress == NULL)
            continue;
        if (p->ops->input_progress(p, &d, &t)) {
            done += d;
            total += t;
        } else {
            known = false;
        }
    }
    uint64_t share = known && total > 0 ? (uint64_t)((double)done / (double)total *
                                                     RUN_SHARE_TOTAL) : 0;
    uint64_t duration = s->args->duration;
    if (duration > 0) {
        uint64_t by_time = (uint64_t)((double)(now < duration ? now : duration) /
                                      (double)duration * RUN_SHARE_TOTAL);
        share = by_time > share ? by_time : share;
    }
    return share;
}

/* The loop's tick: counts are gathered only when a line is due. */
static void on_run_tick(void *arg, uint64_t now)
{
    run_state *s = arg;
    uint64_t wall = vk_cli_wall_ns();
    if (!vk_progress_due(&s->meter, wall))
        return;
    uint64_t frames = 0;
    for (size_t i = 0; i < vk_net_port_count(s->net); i++)
        frames += vk_net_port_at(s->net, i)->stats.tx_frames;
    uint64_t share = run_share(s, now);
    vk_progress_update(&s->meter, wall, frames, share, share > 0 ? RUN_SHARE_TOTAL : 0);
}

static void on_at_timer(void *arg, uint64_t now)
{
    (void)now;
    run_at *x = arg;
    vk_net_set_link(x->net, x->id, x->up, NULL);
}

/* Checks every --at id against the topology, then schedules the commands
 * (ordinary timers: a run lasts until its last command). */
static int arm_at_commands(run_state *s, run_args *a)
{
    for (size_t i = 0; i < a->n_at; i++) {
        run_at *x = &a->at[i];
        if (vk_net_find_port(s->net, x->id) == NULL) {
            vk_cli_error("--at %s 'set_link %s': no netdev or NIC '%s'", x->when, x->id,
                         x->id);
            return -1;
        }
        x->net = s->net;
        x->timer = vk_timer_new(s->loop, on_at_timer, x);
        if (x->timer == NULL) {
            vk_cli_error("out of memory");
            return -1;
        }
        vk_timer_arm(x->timer, x->at);
    }
    return 0;
}

/* On the live clock traces are flushed once a second, so a reader following
 * the files (tail, Wireshark) sees at most a second's lag; a background timer,
 * so it never keeps a finished run alive. */
#define LIVE_TRACE_FLUSH_NS VK_NS_PER_SEC

static void on_flush_timer(void *arg, uint64_t now)
{
    run_state *s = arg;
    vk_tracer_flush(s->tracer);
    vk_timer_arm(s->flush_timer, now + LIVE_TRACE_FLUSH_NS);
}

static int arm_live_flush(run_state *s)
{
    if (s->tracer == NULL || vk_loop_clock(s->loop) != VK_CLOCK_LIVE)
        return VK_OK;
    s->flush_timer = vk_timer_new(s->loop, on_flush_timer, s);
    if (s->flush_timer == NULL)
        return VK_ENOMEM;
    vk_timer_set_background(s->flush_timer, true);
    vk_timer_arm(s->flush_timer, vk_loop_now(s->loop) + LIVE_TRACE_FLUSH_NS);
    return VK_OK;
}

static void run_teardown(run_state *s)
{
    vk_timer_free(s->flush_timer);
    for (size_t i = 0; s->args != NULL && i < s->args->n_at; i++)
        vk_timer_free(s->args->at[i].timer);
    if (s->tracer != NULL)
        vk_tracer_finish(s->tracer, NULL);
    vk_net_free(s->net);
    vk_tracer_close(s->tracer);
    vk_topology_free(s->topo);
    vk_loop_free(s->loop);
}

static int run_network(run_state *s, run_args *a)
{
    vk_diag d;
    const vk_registry *reg = vk_cli_registry();
    vk_clock_kind clock = a->clock >= 0 ? (vk_clock_kind)a->clock
                          : vk_topology_needs_live(s->topo, reg) ? VK_CLOCK_LIVE
                                                                  : VK_CLOCK_VIRTUAL;
    s->loop = vk_loop_new(clock);
    s->net = s->loop ? vk_net_new(s->loop) : NULL;
    if (s->net == NULL) {
        vk_cli_error("out of memory");
        return VK_EXIT_USAGE;
    }
    if (vk_topology_build(s->topo, s->net, reg, &d) != VK_OK) {
        vk_cli_error("%s", d.msg);
        return VK_EXIT_USAGE;
    }
    vk_trace_config cfg = a->trace.cfg;
    cfg.topology_text = vk_topology_text(s->topo);
    if ((cfg.dir || cfg.pcapng_path) && vk_tracer_open(s->net, &cfg, &s->tracer, &d) != VK_OK) {
        vk_cli_error("%s", d.msg);
        return VK_EXIT_USAGE;
    }
    if (arm_live_flush(s) != VK_OK) {
        vk_cli_error("out of memory");
        return VK_EXIT_USAGE;
    }
    vk_loop_catch_signals();
    if (vk_net_start(s->net, &d) != VK_OK) {
        vk_cli_error("%s", d.msg);
        return VK_EXIT_USAGE;
    }
    s->args = a;
    if (arm_at_commands(s, a) != 0)
        return VK_EXIT_USAGE;
    vk_cli_progress_start(&s->meter, "run", a->progress);
    if (s->meter.out != NULL)
        vk_loop_set_tick(s->loop, on_run_tick, s);
    vk_loop_run(s->loop, a->duration ? a->duration : VK_TIME_NEVER);
    vk_net_end(s->net); /* what is still held is traced as dropped */
    vk_progress_finish(&s->meter);
    int status = VK_EXIT_OK;
    const char *msg;
    if (vk_net_failure(s->net, &msg) != VK_OK) {
        vk_cli_error("%s", msg);
        status = VK_EXIT_USAGE;
    }
    if (s->tracer != NULL && vk_tracer_finish(s->tracer, &d) != VK_OK) {
        vk_cli_error("%s", d.msg);
        status = VK_EXIT_USAGE;
    }
    if (a->stats) {
        vk_tracer_print_summary(s->tracer, s->net, stderr);
        vk_filter_print_stats(s->net, stderr);
    }
    return status;
}

int vk_cmd_run(int argc, char **argv)
{
    run_state s = {0};
    vk_diag d;
    s.topo = vk_topology_new();
    if (s.topo == NULL) {
        vk_cli_error("out of memory");
        return VK_EXIT_USAGE;
    }
    if (vk_cli_take_topology(&argc, argv, run_value_opts, s.topo, &d) != VK_OK) {
        vk_cli_error("%s", d.msg);
        vk_topology_free(s.topo);
        return VK_EXIT_USAGE;
    }
    run_args a = {.clock = -1};
    int r = parse_run_args(argc, argv, &a);
    if (r != 0) {
        vk_topology_free(s.topo);
        return r > 0 ? VK_EXIT_OK : VK_EXIT_USAGE;
    }
    if (vk_topology_count(s.topo) == 0) {
        vk_cli_error("run: no topology given (see 'vnetkit run --help')");
        vk_topology_free(s.topo);
        return VK_EXIT_USAGE;
    }
    int status = run_network(&s, &a);
    run_teardown(&s);
    return status;
}
