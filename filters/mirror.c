/*
 * -object filter-mirror,id=ID,netdev=ND,outdev=CHARDEV[,queue=...]
 * -object filter-redirector,id=ID,netdev=ND[,indev=CHARDEV][,outdev=CHARDEV][,queue=...]
 * QEMU's net/filter-mirror.c on the chain of core/filter.h, with a chardev
 * (core/chardev.h; -chardev socket carries QEMU's 4-byte big-endian length
 * framing):
 *  - filter-mirror writes a copy of every frame it sees to outdev and lets
 *    the frame go on; a copy the chardev cannot take (no peer connected) is
 *    the chardev's traced drop, never the frame's;
 *  - filter-redirector sends every frame it sees to outdev instead of
 *    letting it go on (without outdev it lets it go on), and puts every
 *    frame read from indev on the netdev's path right after itself: with
 *    queue=tx as if the netdev had sent it (towards the NIC), with queue=rx
 *    as if the netdev's peer had (into the netdev), with queue=all both.
 * vnet_hdr_support (QEMU: off by default) adds a virtio-net header length to
 * every record; vnetkit's frames carry no virtio-net header, so only off is
 * accepted.  A redirected frame keeps its packet id and carries a note
 * ("redirector r0: from netdev n0, tx") so the trace shows where it left
 * the network.
 */
#include "filters/filters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/chardev.h"
#include "core/filter.h"
#include "core/port.h"

typedef struct mirror_filter {
    vk_filter flt;
    const char *type;  /* "filter-mirror" or "filter-redirector" */
    vk_port *in, *out; /* claimed chardev front ends; NULL: none */
    uint64_t copied, redirected, injected, no_memory;
} mirror_filter;

static const char *dir_name(vk_filter_dir dir)
{
    return dir == VK_FILTER_TX ? "tx" : "rx";
}

/* A copy of f for the chardev, with f's packet id and a note. */
static void write_copy(mirror_filter *m, vk_filter_dir dir, const vk_frame *f, const char *what)
{
    vk_frame *c = vk_frame_new(f->data, f->len);
    if (c == NULL) {
        m->no_memory++;
        return;
    }
    c->id = f->id;
    char note[200];
    snprintf(note, sizeof note, "%s %s: %s netdev %s, %s", m->type + 7, m->flt.id, what,
             m->flt.port->id, dir_name(dir));
    if (vk_frame_set_note(c, note) != VK_OK)
        m->no_memory++;
    vk_chardev_write(m->out, c);
    vk_frame_unref(c);
}

static int mirror_receive(vk_filter *flt, vk_filter_dir dir, vk_frame *f)
{
    mirror_filter *m = flt->priv;
    m->copied++;
    write_copy(m, dir, f, "copy from");
    return VK_FILTER_PASS;
}

static int redirector_receive(vk_filter *flt, vk_filter_dir dir, vk_frame *f)
{
    mirror_filter *m = flt->priv;
    if (m->out == NULL)
        return VK_FILTER_PASS;
    m->redirected++;
    write_copy(m, dir, f, "from");
    return VK_FILTER_TAKEN;
}

/* A frame read from indev (borrowed): on the netdev's path after us. */
static void redirector_read(void *arg, vk_frame *f)
{
    mirror_filter *m = arg;
    m->injected++;
    if (m->flt.queue & VK_FILTER_TX)
        vk_filter_pass_on(&m->flt, VK_FILTER_TX, f);
    if (m->flt.queue & VK_FILTER_RX)
        vk_filter_pass_on(&m->flt, VK_FILTER_RX, f);
}

static void mirror_print_stats(const vk_filter *flt, FILE *out)
{
    const mirror_filter *m = flt->priv;
    if (m->in == NULL && strcmp(m->type, "filter-mirror") == 0)
        fprintf(out, " copied %llu to %s", (unsigned long long)m->copied, m->out->id);
    else
        fprintf(out, " redirected %llu to %s, injected %llu from %s",
                (unsigned long long)m->redirected, m->out ? m->out->id : "-",
                (unsigned long long)m->injected, m->in ? m->in->id : "-");
    if (m->no_memory != 0)
        fprintf(out, ", out of memory %llu", (unsigned long long)m->no_memory);
}

static const vk_filter_ops mirror_ops = {
    .type = "filter-mirror",
    .receive = mirror_receive,
    .print_stats = mirror_print_stats,
};

static const vk_filter_ops redirector_ops = {
    .type = "filter-redirector",
    .receive = redirector_receive,
    .print_stats = mirror_print_stats,
};

static void mirror_destroy(void *obj)
{
    mirror_filter *m = obj;
    if (m == NULL)
        return;
    vk_filter_detach(&m->flt);
    if (m->in != NULL)
        vk_chardev_release(m->in);
    if (m->out != NULL)
        vk_chardev_release(m->out);
    free(m);
}

static int claim(vk_net *net, vk_opts *o, mirror_filter *m, const char *key, const char *what,
                 vk_port **fe, vk_diag *d)
{
    const char *id = vk_opts_get(o, key);
    char owner[96], err[200];
    snprintf(owner, sizeof owner, "%s %s", m->type, vk_opts_get(o, "id"));
    int r = vk_chardev_claim(net, id, owner, fe, err, sizeof err);
    if (r != VK_OK)
        return vk_opts_error(o, d, r, key, "%s%s", what, err);
    return VK_OK;
}

/* Reads outdev/indev and vnet_hdr_support (QEMU's checks and messages). */
static int parse_devs(vk_net *net, vk_opts *o, mirror_filter *m, bool redirector, vk_diag *d)
{
    bool vnet_hdr;
    int r = vk_opts_get_bool(o, "vnet_hdr_support", false, &vnet_hdr, d);
    if (r != VK_OK)
        return r;
    if (vnet_hdr)
        return vk_opts_error(o, d, VK_EUNSUPP, "vnet_hdr_support",
                             "on is not supported (vnetkit's frames carry no virtio-net header)");
    const char *in = redirector ? vk_opts_get(o, "indev") : NULL;
    const char *out = vk_opts_get(o, "outdev");
    if (!redirector && out == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "outdev", "filter mirror needs 'outdev' property "
                             "set");
    if (redirector && in == NULL && out == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "indev", "filter redirector needs 'indev' or "
                             "'outdev' at least one property set");
    if (in != NULL && out != NULL && strcmp(in, out) == 0)
        return vk_opts_error(o, d, VK_EINVAL, "outdev", "'indev' and 'outdev' could not be "
                             "same for filter redirector");
    if (in != NULL && (r = claim(net, o, m, "indev", "IN ", &m->in, d)) != VK_OK)
        return r;
    if (out != NULL && (r = claim(net, o, m, "outdev", redirector ? "OUT " : "", &m->out, d)) !=
                           VK_OK)
        return r;
    if (m->in != NULL)
        vk_chardev_set_reader(m->in, redirector_read, m);
    return VK_OK;
}

static int create(vk_net *net, vk_opts *o, void **out, vk_diag *d, bool redirector)
{
    mirror_filter *m = calloc(1, sizeof *m);
    if (m == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    m->type = redirector ? "filter-redirector" : "filter-mirror";
    m->flt.ops = redirector ? &redirector_ops : &mirror_ops;
    m->flt.priv = m;
    int r = vk_filter_attach(&m->flt, net, o, d);
    if (r == VK_OK)
        r = parse_devs(net, o, m, redirector, d);
    if (r != VK_OK) {
        mirror_destroy(m);
        return r;
    }
    *out = m;
    return VK_OK;
}

static int mirror_create(vk_net *net, vk_opts *o, void **out, vk_diag *d)
{
    return create(net, o, out, d, false);
}

static int redirector_create(vk_net *net, vk_opts *o, void **out, vk_diag *d)
{
    return create(net, o, out, d, true);
}

static const char *const mirror_keys[] = {"netdev", "queue",  "status", "position",
                                          "insert", "outdev", "vnet_hdr_support", NULL};
static const char *const redirector_keys[] = {"netdev", "queue", "status", "position", "insert",
                                              "indev",  "outdev", "vnet_hdr_support", NULL};

const vk_object_type vk_object_filter_mirror = {
    .name = "filter-mirror",
    .keys = mirror_keys,
    .create = mirror_create,
    .destroy = mirror_destroy,
};

const vk_object_type vk_object_filter_redirector = {
    .name = "filter-redirector",
    .keys = redirector_keys,
    .create = redirector_create,
    .destroy = mirror_destroy,
};
