/*
 * Fuzz target: topology files (core/topology.c: options several a line,
 * '#' comments, quotes and '\' continuations as pasted from a shell), then
 * building the network they describe.
 *
 * Building uses a registry of the kinds that touch nothing outside the
 * process: the user backend and every NIC model (hubs are core).  pcap
 * (reads and writes files named in the input), tap (creates devices) and
 * filter-dump (writes files) are left out, so they are unknown types here.
 * Each NIC allocates megabytes of guest memory, so only topologies of at
 * most VK_FUZZ_TOPO_BUILD_MAX options are built; all are parsed.
 * Property: a failure always comes with a message.  Input: the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/user/user.h"
#include "core/error.h"
#include "core/loop.h"
#include "core/net.h"
#include "core/topology.h"
#include "fuzz/fuzz.h"
#include "nics/nic.h"

#define VK_FUZZ_TOPO_BUILD_MAX 8

static const vk_netdev_type *const netdevs[] = {&vk_netdev_user, NULL};
static const vk_object_type *const objects[] = {NULL};
static const vk_registry registry = {netdevs, vk_nic_models, objects, VK_NIC_DEFAULT_MODEL,
                                     NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = vk_fuzz_scratch_file(data, size);
    vk_topology *t = vk_topology_new();
    vk_fuzz_check(t != NULL, "out of memory");
    vk_diag d = {{0}};
    if (vk_topology_load_file(t, path, &d) != VK_OK) {
        vk_fuzz_check(d.msg[0] != 0, "load failed without a message");
        if (vk_fuzz_verbose())
            fprintf(stderr, "topology: %s\n", d.msg);
        vk_topology_free(t);
        return 0;
    }
    const char *text = vk_topology_text(t);
    vk_fuzz_check(text != NULL, "no topology text");
    (void)vk_topology_needs_live(t, &registry);
    if (vk_topology_count(t) <= VK_FUZZ_TOPO_BUILD_MAX) {
        vk_loop *loop = vk_loop_new(VK_CLOCK_VIRTUAL);
        vk_net *net = vk_net_new(loop);
        vk_fuzz_check(loop && net, "out of memory");
        d.msg[0] = 0;
        if (vk_topology_build(t, net, &registry, &d) != VK_OK) {
            vk_fuzz_check(d.msg[0] != 0, "build failed without a message");
            if (vk_fuzz_verbose())
                fprintf(stderr, "topology: %s\n", d.msg);
        } else {
            if (vk_fuzz_verbose())
                fprintf(stderr, "topology: built %zu ports\n", vk_net_port_count(net));
            size_t nics = vk_topology_nic_count(t);
            for (size_t i = 0; i < nics; i++)
                vk_fuzz_check(vk_topology_nic_at(t, i) != NULL, "missing NIC port");
        }
        vk_net_free(net);
        vk_topology_free(t);
        vk_loop_free(loop);
        return 0;
    }
    vk_topology_free(t);
    return 0;
}
