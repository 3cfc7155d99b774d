/*
 * `vnetkit replay CAPTURE`: plays the guest's side of a capture into a
 * network and checks that the network answers as recorded (replay/).
 * Exit 0 when every expected frame was produced and nothing else was,
 * 1 on any divergence, 2 for bad usage or a capture that cannot be read.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/options.h"
#include "replay/differential.h"
#include "replay/replay.h"
#include "replay/report.h"

static void replay_usage(FILE *out)
{
    fprintf(out,
            "usage: vnetkit replay CAPTURE [topology options] [--guest-mac MAC]\n"
            "                      [--filter BPF] [--report FILE.json] [--max-diffs N]\n"
            "                      [--trace-dir DIR | --trace FILE.pcapng]\n"
            "                      [--update-expected OUT] [--nic-id ID | --port ID]\n"
            "                      [--guest-offload none|csum|tso] [--check-wire]\n"
            "                      [--world recorded|none|live] [--against libslirp]\n"
            "                      [--progress | --quiet] [--fix-checksums]\n"
            "\n"
            "Plays the frames the guest sent in CAPTURE (pcap or pcapng; Ethernet, or\n"
            "LINUX_SLL/SLL2 and raw IP given Ethernet headers: guest 52:54:00:12:34:56,\n"
            "network 52:55:0a:00:02:02) into the network at\n"
            "their recorded times on the virtual clock, and compares what the network\n"
            "answers with the rest of the capture, in order within each flow.\n"
            "\n"
            "network (as for 'vnetkit run'; default: -netdev user,id=net0\n"
            "         -device e1000,netdev=net0, QEMU's default):\n"
            "  -netdev/-device/-nic/-net/-object/-chardev ..., --topology FILE\n"
            "  -object filter-netem,id=F,netdev=ID,loss=P%%,seed=N  impairments on the network\n"
            "                       side (any -object filter-*); each divergence then lists\n"
            "                       the network's drops and filter notes in its flow\n"
            "  --nic-id ID          replay through this NIC (default: the first)\n"
            "  --port ID            replay through a port without peer (e.g. a hubport):\n"
            "                       a port 'replay' is peered with it\n"
            "\n"
            "the outside world (what the user netdevs' NAT reaches):\n"
            "  --world W            recorded (default): rebuilt from CAPTURE itself at the\n"
            "                       socket level -- connect outcomes, the peers' bytes as\n"
            "                       timed chunks released once the guest's stream has\n"
            "                       reached what it had sent before them, datagrams, DNS\n"
            "                       answers by id and name, echo replies (docs/world.md);\n"
            "                       what the recording does not know is refused or\n"
            "                       unreachable and counts as a divergence.\n"
            "                       none: every NAT flow refused.  live: real sockets,\n"
            "                       an error here (a replay runs on the virtual clock)\n"
            "\n"
            "the guest driver (through a NIC):\n"
            "  --guest-offload M    none, csum or tso: hand the guest frames to the driver\n"
            "                       as a guest stack with that offload would (csum: TCP/UDP\n"
            "                       checksums left to the card; tso: consecutive TCP\n"
            "                       segments merged into one job the card segments), and\n"
            "                       set the card's guest-offload key to M; implies\n"
            "                       --check-wire\n"
            "  --check-wire         also compare, byte for byte, the frames that left the\n"
            "                       NIC with the guest frames injected\n"
            "\n"
            "which frames are the guest's:\n"
            "  --guest-mac MAC      frames from MAC (default: the one source MAC not from\n"
            "                       52:55:xx or 52:56:xx; several such guests are refused,\n"
            "                       named)\n"
            "  --capture-iface NAME pcapng: the guest's interface (default: the one named\n"
            "                       after the NIC or --port, else 'guest'/'replay', else the\n"
            "                       only one); its direction flags then decide\n"
            "  --filter BPF         only frames matching this tcpdump filter take part\n"
            "\n"
            "comparison:\n"
            "  --normalize LIST     turn on normalisations: ip-id, tcp-ts, tcp-isn, eth-pad,\n"
            "                       checksums, all (default: all but checksums)\n"
            "  --no-normalize LIST  turn them off\n"
            "  --settle T           run on T after the last capture frame (default 2s)\n"
            "  --fix-checksums      recompute every IPv4, TCP, UDP, ICMP and ICMPv6 checksum\n"
            "                       that does not verify before replaying (captures taken\n"
            "                       before checksum offload carry partial ones: the verdict\n"
            "                       says so)\n"
            "\n"
            "differential:\n"
            "  --against TYPE       run the guest frames a second time with every -netdev\n"
            "                       user swapped to TYPE (libslirp: the real library) and\n"
            "                       compare our answers with that oracle's instead of the\n"
            "                       capture's; README's deliberate differences are named\n"
            "                       and allowed; our side has --world none unless told\n"
            "                       (libslirp has no outside on the virtual clock)\n"
            "                       (not with --trace*, --report,\n"
            "                       --update-expected)\n"
            "\n"
            "output:\n"
            "  --max-diffs N        divergences printed (default %d)\n"
            "  --report FILE.json   every match and divergence (docs/replay-report.md)\n"
            "  --update-expected OUT  write the injected and produced frames as a new\n"
            "                       capture (pcapng if OUT ends in .pcapng); exit 0 if written\n"
            "  --trace-dir DIR, --trace FILE.pcapng, --trace-filter BPF, --trace-snaplen N\n"
            "                       trace every port as 'vnetkit run' does\n"
            "  --progress           a progress line on stderr (guest frames, percent of the\n"
            "                       capture's, rate, ETA); default: when stderr is a\n"
            "                       terminal, redrawn in place and erased at the end\n"
            "  --quiet              no progress line\n"
            "\n"
            "Records shorter than an Ethernet header and guest frames the card's driver\n"
            "cannot send (e.g. oversize on ne2k_pci) are dropped, traced with their reason\n"
            "and listed in the verdict; the replay goes on.\n"
            "\n"
            "exit status: 0 every expected frame produced and nothing else (and, with\n"
            "--check-wire, the wire as sent), 1 a divergence,\n"
            "2 bad usage, a capture that cannot be read, or a network that cannot be built.\n",
            VK_REPORT_MAX_DIFFS_DEFAULT);
}

static const char *const replay_value_opts[] = {
    "guest-mac", "filter", "report", "trace-dir", "trace", "trace-filter", "trace-snaplen",
    "update-expected", "nic-id", "port", "capture-iface", "normalize", "no-normalize",
    "max-diffs", "settle", "guest-offload", "world", "against", NULL};

typedef struct replay_args {
    vk_cli_trace trace;
    vk_replay_config cfg;
    vk_mac mac;
    const char *report, *update;
    const char *against; /* --against TYPE */
    bool world_set;      /* --world given */
    unsigned long max_diffs;
    vk_cli_progress_mode progress;
} replay_args;

static int parse_value(replay_args *a, const char *name, const char *v)
{
    vk_diag d;
    if (strcmp(name, "guest-mac") == 0) {
        if (vk_mac_parse(v, &a->mac) != VK_OK) {
            vk_cli_error("--guest-mac: '%s' is not a MAC address", v);
            return -1;
        }
        a->cfg.guest_mac = &a->mac;
    } else if (strcmp(name, "normalize") == 0 || strcmp(name, "no-normalize") == 0) {
        if (vk_norm_parse(v, name[0] != 'n' || name[1] != 'o', &a->cfg.norm, &d) != VK_OK) {
            vk_cli_error("%s", d.msg);
            return -1;
        }
    } else if (strcmp(name, "max-diffs") == 0) {
        char *end;
        a->max_diffs = strtoul(v, &end, 10);
        if (v[0] < '0' || v[0] > '9' || *end != '\0') {
            vk_cli_error("--max-diffs: '%s' is not a number", v);
            return -1;
        }
    } else if (strcmp(name, "settle") == 0) {
        if (vk_parse_duration(v, &a->cfg.settle_ns) != VK_OK) {
            vk_cli_error("--settle: '%s' is not a time (e.g. 2, 1.5s, 200ms)", v);
            return -1;
        }
    } else if (strcmp(name, "guest-offload") == 0) {
        if (vk_nic_offload_parse(v, &a->cfg.offload) != VK_OK) {
            vk_cli_error("--guest-offload: '%s' is not none, csum or tso", v);
            return -1;
        }
        a->cfg.offload_set = true;
    } else if (strcmp(name, "world") == 0) {
        if (vk_replay_world_parse(v, &a->cfg.world) != VK_OK) {
            vk_cli_error("--world: '%s' is not recorded, none or live", v);
            return -1;
        }
        a->world_set = true;
    } else if (strcmp(name, "filter") == 0) {
        a->cfg.filter = v;
    } else if (strcmp(name, "report") == 0) {
        a->report = v;
    } else if (strcmp(name, "update-expected") == 0) {
        a->update = v;
    } else if (strcmp(name, "nic-id") == 0) {
        a->cfg.nic_id = v;
    } else if (strcmp(name, "port") == 0) {
        a->cfg.port_id = v;
    } else if (strcmp(name, "capture-iface") == 0) {
        a->cfg.capture_iface = v;
    } else if (strcmp(name, "against") == 0) {
        a->against = v;
    }
    return 0;
}

static int parse_replay_args(int argc, char **argv, replay_args *a)
{
    static const struct option longopts[] = {
        {"guest-mac", required_argument, NULL, 0}, {"filter", required_argument, NULL, 0},
        {"report", required_argument, NULL, 0}, {"trace-dir", required_argument, NULL, 0},
        {"trace", required_argument, NULL, 0}, {"trace-filter", required_argument, NULL, 0},
        {"trace-snaplen", required_argument, NULL, 0},
        {"update-expected", required_argument, NULL, 0}, {"nic-id", required_argument, NULL, 0},
        {"port", required_argument, NULL, 0}, {"capture-iface", required_argument, NULL, 0},
        {"normalize", required_argument, NULL, 0}, {"no-normalize", required_argument, NULL, 0},
        {"max-diffs", required_argument, NULL, 0}, {"settle", required_argument, NULL, 0},
        {"guest-offload", required_argument, NULL, 0}, {"check-wire", no_argument, NULL, 0},
        {"world", required_argument, NULL, 0}, {"against", required_argument, NULL, 0},
        {"progress", no_argument, NULL, 0}, {"quiet", no_argument, NULL, 0},
        {"fix-checksums", no_argument, NULL, 0},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int idx, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
        if (c == 'h') {
            replay_usage(stdout);
            fputc('\n', stdout);
            vk_cli_print_registry(stdout);
            return 1;
        }
        if (c == '?') {
            vk_cli_error("replay: unknown or incomplete option '%s' (see 'vnetkit replay "
                         "--help')", argv[optind - 1]);
            return -1;
        }
        const char *name = longopts[idx].name;
        int t = vk_cli_trace_option(&a->trace, name, optarg);
        if (t < 0)
            return -1;
        if (strcmp(name, "progress") == 0)
            a->progress = VK_CLI_PROGRESS_ON;
        else if (strcmp(name, "quiet") == 0)
            a->progress = VK_CLI_PROGRESS_OFF;
        else if (strcmp(name, "check-wire") == 0)
            a->cfg.check_wire = true;
        else if (strcmp(name, "fix-checksums") == 0)
            a->cfg.fix_checksums = true;
        else if (t == 0 && parse_value(a, name, optarg) < 0)
            return -1;
    }
    if (optind + 1 != argc) {
        vk_cli_error(optind == argc ? "replay: no capture given (see 'vnetkit replay --help')"
                                    : "replay: one capture only; unexpected '%s'",
                     optind < argc ? argv[optind + 1] : "");
        return -1;
    }
    a->cfg.capture_path = argv[optind];
    if (a->cfg.nic_id && a->cfg.port_id) {
        vk_cli_error("replay: --nic-id and --port exclude each other");
        return -1;
    }
    if (a->against && (a->report || a->update || a->trace.cfg.dir || a->trace.cfg.pcapng_path)) {
        vk_cli_error("replay: --against compares two runs; --report, --update-expected and "
                     "--trace* apply to one (replay each side alone for them)");
        return -1;
    }
    return 0;
}

static int default_topology(vk_topology *t, vk_diag *d)
{
    int r = vk_topology_add(t, "-netdev", "user,id=net0", "default topology", d);
    return r != VK_OK ? r : vk_topology_add(t, "-device", "e1000,netdev=net0",
                                            "default topology", d);
}

static int finish_replay(vk_replay *r, const replay_args *a)
{
    vk_diag d;
    vk_report_text(r, a->max_diffs, stdout);
    if (a->report != NULL && vk_report_json(r, a->cfg.norm, a->report, &d) != VK_OK) {
        vk_cli_error("%s", d.msg);
        return VK_EXIT_USAGE;
    }
    if (a->update != NULL) {
        if (vk_replay_write_capture(r, a->update, &d) != VK_OK) {
            vk_cli_error("%s", d.msg);
            return VK_EXIT_USAGE;
        }
        fprintf(stderr, "%s: replay: wrote %zu frames to %s\n", vk_prog, r->nlog, a->update);
        return VK_EXIT_OK;
    }
    return vk_replay_divergences(r) ? VK_EXIT_CHECK_FAILED : VK_EXIT_OK;
}

/* --against TYPE: our user stack against TYPE (replay/differential.h). */
static int replay_against(const replay_args *a, vk_topology *topo)
{
    vk_diag d;
    vk_differential *x;
    if (vk_differential_run(&a->cfg, topo, "user", a->against, &x, &d) != VK_OK) {
        vk_cli_error("replay: %s", d.msg);
        return VK_EXIT_USAGE;
    }
    vk_differential_report(x, a->max_diffs, stdout);
    int status = x->res.real ? VK_EXIT_CHECK_FAILED : VK_EXIT_OK;
    vk_differential_free(x);
    return status;
}

/* The replay driver's progress hook: guest frames injected of the
 * capture's; answers count as frames too. */
static void on_replay_progress(void *arg, size_t injected, size_t guest_total, size_t answers)
{
    vk_progress *meter = arg;
    uint64_t wall = vk_cli_wall_ns();
    if (vk_progress_due(meter, wall))
        vk_progress_update(meter, wall, injected + answers, injected, guest_total);
}

int vk_cmd_replay(int argc, char **argv)
{
    vk_diag d;
    vk_topology *topo = vk_topology_new();
    if (topo == NULL) {
        vk_cli_error("out of memory");
        return VK_EXIT_USAGE;
    }
    replay_args a = {.max_diffs = VK_REPORT_MAX_DIFFS_DEFAULT};
    a.cfg.norm = VK_NORM_DEFAULT;
    a.cfg.settle_ns = VK_REPLAY_SETTLE_DEFAULT;
    int r = vk_cli_take_topology(&argc, argv, replay_value_opts, topo, &d);
    if (r != VK_OK)
        vk_cli_error("%s", d.msg);
    int p = r == VK_OK ? parse_replay_args(argc, argv, &a) : -1;
    if (p == 0 && vk_topology_count(topo) == 0 && default_topology(topo, &d) != VK_OK) {
        vk_cli_error("%s", d.msg);
        p = -1;
    }
    if (p != 0) {
        vk_topology_free(topo);
        return p > 0 ? VK_EXIT_OK : VK_EXIT_USAGE;
    }
    a.cfg.reg = vk_cli_registry();
    a.cfg.keep_log = a.update != NULL;
    a.cfg.keep_matches = a.report != NULL; /* the JSON report lists every match */
    a.cfg.trace = (a.trace.cfg.dir || a.trace.cfg.pcapng_path) ? &a.trace.cfg : NULL;
    vk_progress meter;
    vk_cli_progress_start(&meter, "replay", a.progress);
    if (meter.out != NULL) {
        a.cfg.progress = on_replay_progress;
        a.cfg.progress_arg = &meter;
    }
    if (a.against != NULL) {
        /* libslirp refuses the outside on the virtual clock: compare like
         * with like unless the user asked for a world */
        if (!a.world_set)
            a.cfg.world = VK_REPLAY_WORLD_NONE;
        int status = replay_against(&a, topo);
        vk_progress_finish(&meter);
        return status;
    }
    vk_replay *rep;
    int e = vk_replay_run(&a.cfg, topo, &rep, &d);
    vk_progress_finish(&meter);
    if (e != VK_OK) {
        vk_cli_error("replay: %s", d.msg);
        return VK_EXIT_USAGE;
    }
    int status = finish_replay(rep, &a);
    vk_replay_free(rep);
    return status;
}
