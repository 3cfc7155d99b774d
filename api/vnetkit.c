/*
 * The installed facade (include/vnetkit/vnetkit.h) over core/, the topology
 * and the replay driver.  A vnetkit_net owns a virtual loop, a vk_net, the
 * topology it was built from, its probes and the drop records of a tap.
 *
 * A probe is a port of kind "probe" peered with a peer-less port: what it
 * receives is copied into its frame list (capped, counted past the cap);
 * what is injected waits, copied, in a list sorted by time (capped) and is
 * sent by one timer per probe when its time comes.
 */
#include "vnetkit/vnetkit.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/registry.h"
#include "core/grow.h"
#include "core/loop.h"
#include "core/net.h"
#include "core/port.h"
#include "core/topology.h"
#include "replay/replay.h"

#define PROBE_MAX 256 /* probes per net */

typedef struct probe_frame {
    uint8_t *data; /* owned */
    size_t len;
    uint64_t time_ns;
} probe_frame;

typedef struct probe_inject {
    uint64_t at;
    uint8_t *data; /* owned until sent */
    size_t len;
} probe_inject;

struct vnetkit_probe {
    vnetkit_net *owner;
    vk_port *port;
    vk_timer *timer;
    probe_frame *frames;
    size_t nframes, capframes;
    uint64_t frames_lost;
    probe_inject *pending; /* sorted by at, then by order of injection */
    size_t npending, cappending;
};

typedef struct drop_record {
    const char *port_id; /* the port's id: lives as long as the net */
    bool inbound;
    char *reason; /* owned */
    size_t len;
    uint64_t time_ns;
} drop_record;

struct vnetkit_net {
    vk_loop *loop;
    vk_net *net;
    vk_topology *topo;
    bool built, started;
    vk_diag diag;
    vnetkit_probe *probes[PROBE_MAX];
    size_t nprobes;
    drop_record *drops;
    size_t ndrops, capdrops;
    uint64_t drops_lost;
};

/* Grows *arr (elements of `size` bytes) to hold one more than n, up to max
 * elements (VK_EFULL beyond). */
static int grow(void **arr, size_t *cap, size_t n, size_t size, size_t max)
{
    if (n >= max)
        return VK_EFULL;
    return vk_grow(arr, cap, n, size, 16);
}

static int fail(vnetkit_net *n, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(vnetkit_net *n, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->diag.msg, sizeof n->diag.msg, fmt, ap);
    va_end(ap);
    return err;
}

const char *vnetkit_version(void)
{
    return VK_VERSION;
}

const char *vnetkit_strerror(int err)
{
    return vk_strerror(err);
}

/* ---- drops: a tap records every drop of every port ---- */

static void on_drop(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f,
                    const char *reason, uint64_t ts)
{
    vnetkit_net *n = arg;
    (void)ts;
    if (grow((void **)&n->drops, &n->capdrops, n->ndrops, sizeof *n->drops, VNETKIT_DROPS_MAX) !=
        VK_OK) {
        n->drops_lost++;
        return;
    }
    char *r = strdup(reason ? reason : "");
    if (r == NULL) {
        n->drops_lost++;
        return;
    }
    n->drops[n->ndrops++] = (drop_record){
        .port_id = p->id,
        .inbound = dir == VK_DIR_IN,
        .reason = r,
        .len = f ? f->len : 0,
        .time_ns = vk_loop_now(n->loop),
    };
}

static const vk_tap_ops drop_tap = {.drop = on_drop};

vnetkit_net *vnetkit_net_new(void)
{
    vnetkit_net *n = calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    n->loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    n->net = n->loop ? vk_net_new(n->loop) : NULL;
    n->topo = vk_topology_new();
    if (n->net == NULL || n->topo == NULL || vk_net_add_tap(n->net, &drop_tap, n) != VK_OK) {
        vnetkit_net_free(n);
        return NULL;
    }
    return n;
}

static void probe_free(vnetkit_probe *p)
{
    vk_timer_free(p->timer);
    for (size_t i = 0; i < p->nframes; i++)
        free(p->frames[i].data);
    for (size_t i = 0; i < p->npending; i++)
        free(p->pending[i].data);
    free(p->frames);
    free(p->pending);
    free(p);
}

void vnetkit_net_free(vnetkit_net *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->nprobes; i++)
        probe_free(n->probes[i]); /* before the net: their timers are on its loop */
    vk_net_free(n->net);
    vk_topology_free(n->topo);
    vk_loop_free(n->loop);
    for (size_t i = 0; i < n->ndrops; i++)
        free(n->drops[i].reason);
    free(n->drops);
    free(n);
}

const char *vnetkit_net_error(const vnetkit_net *n)
{
    return n->diag.msg;
}

/* ---- building ---- */

int vnetkit_net_option(vnetkit_net *n, const char *option, const char *value)
{
    if (n->built)
        return fail(n, VK_EINVAL, "option '%s' given after the network was built", option);
    if (!vk_topology_is_option(option))
        return fail(n, VK_EINVAL, "'%s' is not a topology option (-netdev, -device, -nic, "
                                  "-net, -object)", option);
    return vk_topology_add(n->topo, option, value, "vnetkit_net_option", &n->diag);
}

int vnetkit_net_load(vnetkit_net *n, const char *path)
{
    if (n->built)
        return fail(n, VK_EINVAL, "topology '%s' loaded after the network was built", path);
    return vk_topology_load_file(n->topo, path, &n->diag);
}

int vnetkit_net_build(vnetkit_net *n)
{
    const vk_registry *reg = vk_registry_default();
    if (n->built)
        return fail(n, VK_EINVAL, "the network is already built");
    if (vk_topology_needs_live(n->topo, reg))
        return fail(n, VK_EUNSUPP, "the topology has a live backend: the library runs the "
                                   "virtual clock only (use 'vnetkit run' for live networks)");
    int e = vk_topology_build(n->topo, n->net, reg, &n->diag);
    if (e == VK_OK)
        n->built = true;
    return e;
}

/* ---- probes ---- */

static int probe_receive(vk_port *self, vk_frame *f)
{
    vnetkit_probe *p = *(vnetkit_probe **)self->priv;
    if (grow((void **)&p->frames, &p->capframes, p->nframes, sizeof *p->frames,
             VNETKIT_PROBE_FRAMES_MAX) != VK_OK) {
        p->frames_lost++;
        return VK_OK; /* received and counted, not kept: the cap is the caller's */
    }
    uint8_t *copy = malloc(f->len ? f->len : 1);
    if (copy == NULL) {
        p->frames_lost++;
        return VK_OK;
    }
    memcpy(copy, f->data, f->len);
    p->frames[p->nframes++] = (probe_frame){copy, f->len, vk_loop_now(p->owner->loop)};
    return VK_OK;
}

static const vk_port_ops probe_ops = {
    .kind = "probe",
    .receive = probe_receive,
};

static void probe_fire(void *arg, uint64_t now)
{
    vnetkit_probe *p = arg;
    size_t k = 0;
    while (k < p->npending && p->pending[k].at <= now) {
        probe_inject *x = &p->pending[k++];
        if (vk_port_send_bytes(p->port, x->data, x->len) != VK_OK)
            vk_port_drop_outbound_bytes(p->port, x->data, x->len, "out of memory");
        free(x->data);
    }
    memmove(p->pending, p->pending + k, (p->npending - k) * sizeof *p->pending);
    p->npending -= k;
    if (p->npending > 0)
        vk_timer_arm(p->timer, p->pending[0].at);
}

int vnetkit_net_probe(vnetkit_net *n, const char *port_id, vnetkit_probe **out)
{
    *out = NULL;
    if (!n->built)
        return fail(n, VK_EINVAL, "probe on '%s': build the network first", port_id);
    if (n->started)
        return fail(n, VK_EINVAL, "probe on '%s': the network is already running", port_id);
    vk_port *target = vk_net_find_port(n->net, port_id);
    if (target == NULL)
        return fail(n, VK_ENOENT, "probe on '%s': no port has that id", port_id);
    if (target->peer != NULL)
        return fail(n, VK_EEXIST, "probe on '%s': the port already has a peer ('%s')",
                    port_id, target->peer->id);
    if (n->nprobes == PROBE_MAX)
        return fail(n, VK_EFULL, "probe on '%s': more than %d probes", port_id, PROBE_MAX);
    char id[64];
    if ((size_t)snprintf(id, sizeof id, "probe-%s", port_id) >= sizeof id)
        return fail(n, VK_ERANGE, "probe on '%s': port id too long", port_id);
    vnetkit_probe *p = calloc(1, sizeof *p);
    if (p == NULL)
        return fail(n, VK_ENOMEM, "out of memory");
    p->owner = n;
    p->timer = vk_timer_new(n->loop, probe_fire, p);
    int e = p->timer ? vk_port_new(n->net, &probe_ops, id, "probe", sizeof p, &p->port, &n->diag)
                     : fail(n, VK_ENOMEM, "out of memory");
    if (e == VK_OK) {
        *(vnetkit_probe **)p->port->priv = p;
        e = vk_net_connect(p->port, target, &n->diag);
    }
    if (e != VK_OK) {
        probe_free(p); /* a created port stays with the net, unpeered and silent */
        return e;
    }
    n->probes[n->nprobes++] = p;
    *out = p;
    return VK_OK;
}

int vnetkit_probe_inject(vnetkit_probe *p, uint64_t at_ns, const void *frame, size_t len)
{
    vnetkit_net *n = p->owner;
    if (len < 14 || len > VNETKIT_FRAME_MAX)
        return fail(n, VK_EINVAL, "inject on '%s': a frame of %zu bytes (14..%d)", p->port->id,
                    len, VNETKIT_FRAME_MAX);
    uint64_t now = vk_loop_now(n->loop);
    if (at_ns < now)
        at_ns = now;
    int e = grow((void **)&p->pending, &p->cappending, p->npending, sizeof *p->pending,
                 VNETKIT_PROBE_PENDING_MAX);
    if (e != VK_OK)
        return fail(n, e, "inject on '%s': %s (at most %d frames wait)", p->port->id,
                    vk_strerror(e), VNETKIT_PROBE_PENDING_MAX);
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        return fail(n, VK_ENOMEM, "out of memory");
    memcpy(copy, frame, len);
    size_t k = p->npending;
    while (k > 0 && p->pending[k - 1].at > at_ns)
        k--;
    memmove(p->pending + k + 1, p->pending + k, (p->npending - k) * sizeof *p->pending);
    p->pending[k] = (probe_inject){at_ns, copy, len};
    p->npending++;
    vk_timer_arm(p->timer, p->pending[0].at);
    return VK_OK;
}

/* ---- running ---- */

int vnetkit_net_run(vnetkit_net *n, uint64_t until_ns)
{
    if (!n->built)
        return fail(n, VK_EINVAL, "run: build the network first");
    if (!n->started) {
        int e = vk_net_start(n->net, &n->diag);
        if (e != VK_OK)
            return e;
        n->started = true;
    }
    vk_loop_run(n->loop, until_ns);
    const char *msg = NULL;
    int e = vk_net_failure(n->net, &msg);
    if (e != VK_OK)
        return fail(n, e, "%s", msg ? msg : vk_strerror(e));
    return VK_OK;
}

uint64_t vnetkit_net_now(const vnetkit_net *n)
{
    return vk_loop_now(n->loop);
}

/* ---- results ---- */

size_t vnetkit_probe_frame_count(const vnetkit_probe *p)
{
    return p->nframes;
}

uint64_t vnetkit_probe_frames_lost(const vnetkit_probe *p)
{
    return p->frames_lost;
}

int vnetkit_probe_frame(const vnetkit_probe *p, size_t i, vnetkit_frame *out)
{
    if (i >= p->nframes)
        return VK_ENOENT;
    *out = (vnetkit_frame){p->frames[i].data, p->frames[i].len, p->frames[i].time_ns};
    return VK_OK;
}

int vnetkit_net_port_counts(const vnetkit_net *n, const char *port_id, vnetkit_port_counts *out)
{
    const vk_port *p = vk_net_find_port(n->net, port_id);
    if (p == NULL)
        return VK_ENOENT;
    const vk_port_stats *s = &p->stats;
    *out = (vnetkit_port_counts){
        .rx_frames = s->rx_frames,
        .rx_bytes = s->rx_bytes,
        .tx_frames = s->tx_frames,
        .tx_bytes = s->tx_bytes,
        .drops = s->drops_queue_full + s->drops_no_peer + s->drops_other,
    };
    return VK_OK;
}

size_t vnetkit_net_port_count(const vnetkit_net *n)
{
    return vk_net_port_count(n->net);
}

const char *vnetkit_net_port_id(const vnetkit_net *n, size_t i)
{
    const vk_port *p = i < vk_net_port_count(n->net) ? vk_net_port_at(n->net, i) : NULL;
    return p ? p->id : NULL;
}

size_t vnetkit_net_drop_count(const vnetkit_net *n)
{
    return n->ndrops;
}

uint64_t vnetkit_net_drops_lost(const vnetkit_net *n)
{
    return n->drops_lost;
}

int vnetkit_net_drop(const vnetkit_net *n, size_t i, vnetkit_drop *out)
{
    if (i >= n->ndrops)
        return VK_ENOENT;
    const drop_record *r = &n->drops[i];
    *out = (vnetkit_drop){r->port_id, r->inbound, r->reason, r->len, r->time_ns};
    return VK_OK;
}

/* ---- replay ---- */

int vnetkit_replay(const char *capture_path, const char *topology_path, const char *port_id,
                   vnetkit_replay_result *out)
{
    memset(out, 0, sizeof *out);
    vk_diag d = {{0}};
    vk_topology *topo = vk_topology_new();
    if (topo == NULL) {
        snprintf(out->error, sizeof out->error, "out of memory");
        return VK_ENOMEM;
    }
    int e = vk_topology_load_file(topo, topology_path, &d);
    if (e != VK_OK) {
        vk_topology_free(topo);
        snprintf(out->error, sizeof out->error, "%s", d.msg);
        return e;
    }
    vk_replay_config cfg = {
        .capture_path = capture_path,
        .reg = vk_registry_default(),
        .port_id = port_id,
        .norm = VK_NORM_DEFAULT,
        .settle_ns = VK_REPLAY_SETTLE_DEFAULT,
    };
    vk_replay *r = NULL;
    e = vk_replay_run(&cfg, topo, &r, &d); /* takes topo */
    if (e != VK_OK) {
        snprintf(out->error, sizeof out->error, "%s", d.msg);
        return e;
    }
    out->injected = r->injected;
    out->produced = r->produced;
    out->matched = r->cmp.matched;
    out->divergences = vk_replay_divergences(r);
    out->diverged = out->divergences != 0;
    vk_replay_free(r);
    return VK_OK;
}
