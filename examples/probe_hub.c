/*
 * An example C test linking the installed libvnetkit through pkg-config:
 *
 *   cc probe_hub.c $(pkg-config --cflags --libs vnetkit) -o probe_hub
 *   ./probe_hub SOURCE_DIR SCRATCH_DIR
 *
 * It uses only <vnetkit/vnetkit.h>.  First it builds a hub with three ports
 * from QEMU options, attaches probes to two of them, injects a broadcast
 * frame on one, runs the virtual clock, and checks that the other probe got
 * it at the injection time, that the third port (no peer) dropped its copy
 * with the reason "port has no peer", and the counters.  Then it replays a capture
 * of the repository (pcaps/qemu-e1000-arp.pcap) against its topology (verdict:
 * match) and against a topology with no one to answer (verdict: diverged).
 * Exit 0 when every check holds; each failed check prints what it saw.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vnetkit/vnetkit.h>

static int failures;

#define CHECK(cond, ...)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                   \
            fprintf(stderr, __VA_ARGS__);                                                     \
            fputc('\n', stderr);                                                              \
            failures++;                                                                       \
        }                                                                                     \
    } while (0)

static void hub_probe(void)
{
    vnetkit_net *n = vnetkit_net_new();
    CHECK(n != NULL, "vnetkit_net_new");
    if (n == NULL)
        return;
    int e = vnetkit_net_option(n, "-netdev", "hubport,id=h0,hubid=0");
    if (e == 0)
        e = vnetkit_net_option(n, "-netdev", "hubport,id=h1,hubid=0");
    if (e == 0)
        e = vnetkit_net_option(n, "-netdev", "hubport,id=h2,hubid=0");
    if (e == 0)
        e = vnetkit_net_build(n);
    CHECK(e == 0, "building: %s", vnetkit_net_error(n));
    vnetkit_probe *a = NULL, *b = NULL, *bad = NULL;
    CHECK(vnetkit_net_probe(n, "h0", &a) == 0, "probe h0: %s", vnetkit_net_error(n));
    CHECK(vnetkit_net_probe(n, "h1", &b) == 0, "probe h1: %s", vnetkit_net_error(n));
    CHECK(vnetkit_net_probe(n, "nope", &bad) < 0 && bad == NULL, "a probe on a missing port");
    CHECK(vnetkit_net_probe(n, "h1", &bad) < 0, "a second probe on h1");
    if (a == NULL || b == NULL || failures) {
        vnetkit_net_free(n);
        return;
    }
    int probe_listed = 0; /* a probe is a port of the net too */
    for (size_t i = 0; i < vnetkit_net_port_count(n); i++)
        probe_listed += strcmp(vnetkit_net_port_id(n, i), "probe-h1") == 0;
    CHECK(probe_listed == 1, "port 'probe-h1' listed %d times", probe_listed);

    unsigned char frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* broadcast */
                               0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x88, 0xb5};
    memcpy(frame + 14, "vnetkit example", 15);
    CHECK(vnetkit_probe_inject(a, 1000000, frame, sizeof frame) == 0, "inject: %s",
          vnetkit_net_error(n));
    CHECK(vnetkit_probe_inject(a, 0, frame, 5) < 0, "a 5-byte frame must be refused");
    CHECK(vnetkit_net_run(n, VNETKIT_FOREVER) == 0, "run: %s", vnetkit_net_error(n));
    CHECK(vnetkit_net_now(n) == 1000000, "virtual time %llu, expected 1 ms",
          (unsigned long long)vnetkit_net_now(n));

    vnetkit_port_counts c;
    CHECK(vnetkit_net_port_counts(n, "h1", &c) == 0 && c.tx_frames == 1 && c.tx_bytes == 60,
          "h1 sent %llu frames", (unsigned long long)c.tx_frames);
    CHECK(vnetkit_net_port_counts(n, "h0", &c) == 0 && c.rx_frames == 1 && c.tx_frames == 0,
          "h0: rx %llu tx %llu", (unsigned long long)c.rx_frames,
          (unsigned long long)c.tx_frames);
    CHECK(vnetkit_net_port_counts(n, "h2", &c) == 0 && c.drops == 1, "h2 drops %llu",
          (unsigned long long)c.drops);

    size_t nd = vnetkit_net_drop_count(n);
    CHECK(nd == 1, "%zu drops recorded", nd);
    vnetkit_drop d;
    if (nd == 1 && vnetkit_net_drop(n, 0, &d) == 0) {
        CHECK(strcmp(d.port_id, "h2") == 0, "drop on '%s'", d.port_id);
        CHECK(strcmp(d.reason, "port has no peer") == 0, "drop reason '%s'", d.reason);
        CHECK(!d.inbound && d.len == 60 && d.time_ns == 1000000, "drop: in %d len %zu t %llu",
              d.inbound, d.len, (unsigned long long)d.time_ns);
    }
    CHECK(vnetkit_net_drop(n, nd, &d) < 0, "past the last drop");
    CHECK(vnetkit_probe_frame_count(a) == 0, "the sender's probe got %zu frames",
          vnetkit_probe_frame_count(a));
    vnetkit_frame f;
    CHECK(vnetkit_probe_frame_count(b) == 1 && vnetkit_probe_frame(b, 0, &f) == 0 &&
              f.len == 60 && memcmp(f.data, frame, 60) == 0 && f.time_ns == 1000000,
          "h1's probe got %zu frames", vnetkit_probe_frame_count(b));
    CHECK(vnetkit_probe_frames_lost(b) == 0, "frames lost");
    vnetkit_net_free(n);
}

/* The same hub, read from the receiving probe. */
static void hub_receive(void)
{
    vnetkit_net *n = vnetkit_net_new();
    vnetkit_probe *a = NULL, *b = NULL;
    int e = vnetkit_net_option(n, "-netdev", "hubport,id=x0,hubid=3");
    if (e == 0)
        e = vnetkit_net_option(n, "-netdev", "hubport,id=x1,hubid=3");
    if (e == 0)
        e = vnetkit_net_build(n);
    if (e == 0)
        e = vnetkit_net_probe(n, "x0", &a);
    if (e == 0)
        e = vnetkit_net_probe(n, "x1", &b);
    CHECK(e == 0, "setting up: %s", vnetkit_net_error(n));
    if (e != 0) {
        vnetkit_net_free(n);
        return;
    }
    unsigned char frame[64] = {0x52, 0x54, 0x00, 0, 0, 2, 0x52, 0x54, 0x00, 0, 0, 1, 0x88, 0xb5};
    for (int i = 0; i < 3; i++) {
        frame[14] = (unsigned char)i;
        CHECK(vnetkit_probe_inject(a, (uint64_t)(3 - i) * 1000, frame, sizeof frame) == 0,
              "inject %d", i);
    }
    CHECK(vnetkit_net_run(n, 1500) == 0, "run to 1.5 us: %s", vnetkit_net_error(n));
    CHECK(vnetkit_probe_frame_count(b) == 1, "by 1.5 us: %zu frames",
          vnetkit_probe_frame_count(b));
    CHECK(vnetkit_net_run(n, VNETKIT_FOREVER) == 0, "run: %s", vnetkit_net_error(n));
    CHECK(vnetkit_probe_frame_count(b) == 3, "%zu frames", vnetkit_probe_frame_count(b));
    for (size_t i = 0; i < vnetkit_probe_frame_count(b); i++) {
        vnetkit_frame f;
        CHECK(vnetkit_probe_frame(b, i, &f) == 0 && f.len == 64 && f.time_ns == (i + 1) * 1000 &&
                  f.data[14] == 2 - i,
              "frame %zu: len %zu t %llu tag %u", i, f.len, (unsigned long long)f.time_ns,
              f.data[14]);
    }
    vnetkit_net_free(n);
}

static void replay(const char *src, const char *scratch)
{
    char cap[4096], topo[4096], quiet[4096];
    snprintf(cap, sizeof cap, "%s/pcaps/qemu-e1000-arp.pcap", src);
    snprintf(topo, sizeof topo, "%s/pcaps/qemu-e1000-arp.topo", src);
    snprintf(quiet, sizeof quiet, "%s/silent.topo", scratch);
    vnetkit_replay_result r;
    /* the topology names its tftp directory relative to the source dir */
    if (chdir(src) != 0) {
        CHECK(0, "cannot enter %s", src);
        return;
    }
    int e = vnetkit_replay(cap, topo, NULL, &r);
    CHECK(e == 0, "replay: %s", r.error);
    CHECK(e != 0 || (!r.diverged && r.divergences == 0 && r.injected > 0 && r.produced > 0 &&
                     r.matched == r.produced),
          "replay of the arp capture: diverged %d, %zu injected, %zu produced, %zu matched",
          r.diverged, r.injected, r.produced, r.matched);

    FILE *f = fopen(quiet, "w");
    if (f == NULL) {
        CHECK(0, "cannot write %s", quiet);
        return;
    }
    fputs("-netdev hubport,id=h0,hubid=0\n-device e1000,netdev=h0\n", f);
    fclose(f);
    e = vnetkit_replay(cap, quiet, NULL, &r);
    CHECK(e == 0, "replay (silent): %s", r.error);
    CHECK(e != 0 || (r.diverged && r.produced == 0 && r.divergences > 0),
          "nobody answers: diverged %d, %zu produced, %zu divergences", r.diverged, r.produced,
          r.divergences);

    e = vnetkit_replay("/nonexistent.pcap", topo, NULL, &r);
    CHECK(e < 0 && r.error[0] != '\0', "a missing capture: %d '%s'", e, r.error);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SOURCE_DIR SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    printf("libvnetkit %s\n", vnetkit_version());
    hub_probe();
    hub_receive();
    replay(argv[1], argv[2]);
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
