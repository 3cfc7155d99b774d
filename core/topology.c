/*
 * Building a vk_net from QEMU options (see topology.h for the grammar).
 * Ids follow QEMU's rule (a letter, then letters, digits, '-', '.', '_') so a
 * port id is always a safe file name for the tracer.  Auto-named things use
 * QEMU's names: "hub0port0", "user.0", "MODEL.0", "__org.qemu.nic0".
 */
#include "core/topology.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_AUTO_NAME 64

typedef struct topo_entry {
    char option[16];
    char where[160];
    vk_opts opts;
} topo_entry;

typedef struct topo_object {
    const vk_object_type *type;
    void *handle;
} topo_object;

struct vk_topology {
    topo_entry *entries;
    size_t n;
    char *text;
    vk_port **netdevs;
    size_t nnetdevs;
    vk_port **nics;
    size_t nnics;
    topo_object *objects;
    size_t nobjects;
    unsigned legacy_hubports;
    unsigned nd_table_used; /* -nic and -net nic count here, as QEMU's nd_table */
    bool mac_used[256]; /* last bytes of 52:54:00:12:34:xx MACs handed out */
};

static const struct {
    const char *option;
    const char *implied_key;
} option_table[] = {
    {"-netdev", "type"}, {"-device", "driver"}, {"-nic", "type"},
    {"-net", "type"},    {"-object", "qom-type"}, {"-chardev", "backend"},
};

int vk_topology_is_option(const char *option)
{
    for (size_t i = 0; i < sizeof option_table / sizeof option_table[0]; i++)
        if (strcmp(option_table[i].option, option) == 0)
            return 1;
    return 0;
}

static const char *implied_key_of(const char *option)
{
    for (size_t i = 0; i < sizeof option_table / sizeof option_table[0]; i++)
        if (strcmp(option_table[i].option, option) == 0)
            return option_table[i].implied_key;
    return NULL;
}

vk_topology *vk_topology_new(void)
{
    return calloc(1, sizeof(vk_topology));
}

void vk_topology_free(vk_topology *t)
{
    if (t == NULL)
        return;
    for (size_t i = t->nobjects; i-- > 0;)
        t->objects[i].type->destroy(t->objects[i].handle);
    for (size_t i = 0; i < t->n; i++)
        vk_opts_free(&t->entries[i].opts);
    free(t->entries);
    free(t->text);
    free(t->netdevs);
    free(t->nics);
    free(t->objects);
    free(t);
}

int vk_topology_add(vk_topology *t, const char *option, const char *value, const char *where,
                    vk_diag *d)
{
    const char *implied = implied_key_of(option);
    if (implied == NULL)
        return vk_diag_set(d, VK_EINVAL, "%s: unknown option '%s'", where, option);
    topo_entry *entries = realloc(t->entries, (t->n + 1) * sizeof *entries);
    if (entries == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    t->entries = entries;
    topo_entry *e = &t->entries[t->n];
    memset(e, 0, sizeof *e);
    snprintf(e->option, sizeof e->option, "%s", option);
    snprintf(e->where, sizeof e->where, "%s", where ? where : "");
    int r = vk_opts_parse(option, implied, value, &e->opts, d);
    if (r != VK_OK)
        return r;
    t->n++;
    free(t->text);
    t->text = NULL;
    return VK_OK;
}

static bool is_netdev_option(const char *option)
{
    return strcmp(option, "-netdev") == 0 || strcmp(option, "-nic") == 0 ||
           strcmp(option, "-net") == 0;
}

/* Sets the type of the last entry to `to` when it is `from`. */
static int swap_type(vk_topology *c, const char *from, const char *to, size_t *swapped)
{
    vk_opts *o = &c->entries[c->n - 1].opts;
    for (size_t k = 0; k < o->n; k++) {
        if (strcmp(o->items[k].key, "type") != 0 || strcmp(o->items[k].value, from) != 0)
            continue;
        char *v = strdup(to);
        if (v == NULL)
            return VK_ENOMEM;
        free(o->items[k].value);
        o->items[k].value = v;
        (*swapped)++;
    }
    return VK_OK;
}

int vk_topology_copy_swapping(const vk_topology *t, const char *from, const char *to,
                              vk_topology **out, size_t *swapped, vk_diag *d)
{
    *out = NULL;
    *swapped = 0;
    vk_topology *c = vk_topology_new();
    if (c == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    for (size_t i = 0; i < t->n; i++) {
        const topo_entry *e = &t->entries[i];
        int r = vk_topology_add(c, e->option, e->opts.text, e->where, d);
        if (r == VK_OK && is_netdev_option(e->option) &&
            (r = swap_type(c, from, to, swapped)) != VK_OK)
            vk_diag_set(d, r, "out of memory");
        if (r != VK_OK) {
            vk_topology_free(c);
            return r;
        }
    }
    *out = c;
    return VK_OK;
}

size_t vk_topology_count(const vk_topology *t)
{
    return t->n;
}

const char *vk_topology_text(vk_topology *t)
{
    if (t->text != NULL)
        return t->text;
    size_t len = 1;
    for (size_t i = 0; i < t->n; i++)
        len += strlen(t->entries[i].option) + strlen(t->entries[i].opts.text) + 2;
    t->text = malloc(len);
    if (t->text == NULL)
        return "";
    t->text[0] = '\0';
    size_t off = 0;
    for (size_t i = 0; i < t->n; i++)
        off += (size_t)snprintf(t->text + off, len - off, "%s%s %s", i ? " " : "",
                                t->entries[i].option, t->entries[i].opts.text);
    return t->text;
}

/* ---- topology files ---- */

typedef struct tokenizer {
    const char *p;
    unsigned line;
} tokenizer;

/* Next shell-like word: whitespace separated, '...' and "..." quoted,
 * backslash-newline joins lines, '#' at a word start comments to end of line.
 * Returns 0 at the end, -1 on an unterminated quote, else 1 with *out owned
 * by the caller. */
static int next_word(tokenizer *tk, char **out, unsigned *line)
{
    const char *p = tk->p;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' ||
               (*p == '\\' && (p[1] == '\n' || (p[1] == '\r' && p[2] == '\n')))) {
            if (*p == '\n')
                tk->line++;
            p++;
        }
        if (*p != '#')
            break;
        while (*p != '\0' && *p != '\n')
            p++;
    }
    if (*p == '\0') {
        tk->p = p;
        return 0;
    }
    *line = tk->line;
    size_t cap = strlen(p) + 1, n = 0;
    char *w = malloc(cap);
    if (w == NULL)
        return -2;
    while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
        if (*p == '\'' || *p == '"') {
            char q = *p++;
            unsigned qline = tk->line;
            while (*p != '\0' && *p != q) {
                if (*p == '\n')
                    tk->line++;
                w[n++] = *p++;
            }
            if (*p != q) {
                free(w);
                *line = qline; /* where the quote opened, not the end of file */
                return -1;
            }
            p++;
            continue;
        }
        if (*p == '\\' && (p[1] == '\n' || (p[1] == '\r' && p[2] == '\n'))) {
            /* a continuation inside a word joins its two halves, as in sh */
            p += p[1] == '\n' ? 2 : 3;
            tk->line++;
            continue;
        }
        if (*p == '\\' && p[1] != '\0') {
            w[n++] = p[1];
            p += 2;
            continue;
        }
        if (*p == '\\') {
            p++;
            continue;
        }
        w[n++] = *p++;
    }
    w[n] = '\0';
    tk->p = p;
    *out = w;
    return 1;
}

static char *read_whole_file(const char *path, vk_diag *d, int *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *err = vk_diag_set(d, VK_ENOENT, "topology file '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        if (n + 1 >= cap) {
            char *b = cap > (1u << 24) ? NULL : realloc(buf, cap * 2);
            if (b == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (buf == NULL) {
        *err = vk_diag_set(d, VK_ENOMEM, "topology file '%s': too large", path);
        return NULL;
    }
    if (bad) {
        free(buf);
        *err = vk_diag_set(d, VK_EIO, "topology file '%s': read error", path);
        return NULL;
    }
    buf[n] = '\0';
    if (strlen(buf) != n) {
        free(buf);
        *err = vk_diag_set(d, VK_EFORMAT, "topology file '%s': contains a NUL byte", path);
        return NULL;
    }
    return buf;
}

int vk_topology_load_file(vk_topology *t, const char *path, vk_diag *d)
{
    int r = VK_OK;
    char *text = read_whole_file(path, d, &r);
    if (text == NULL)
        return r;
    tokenizer tk = {text, 1};
    for (;;) {
        char *opt = NULL, *val = NULL;
        unsigned line = 0, vline = 0;
        int got = next_word(&tk, &opt, &line);
        if (got == 0)
            break;
        if (got < 0) {
            r = got == -1 ? vk_diag_set(d, VK_EFORMAT, "%s:%u: unterminated quote", path, line)
                          : vk_diag_set(d, VK_ENOMEM, "out of memory");
            break;
        }
        char where[160];
        snprintf(where, sizeof where, "%s:%u", path, line);
        if (!vk_topology_is_option(opt)) {
            r = vk_diag_set(d, VK_EINVAL, "%s: unknown option '%s'", where, opt);
            free(opt);
            break;
        }
        got = next_word(&tk, &val, &vline);
        if (got < 0) {
            r = got == -1 ? vk_diag_set(d, VK_EFORMAT, "%s:%u: unterminated quote", path, vline)
                          : vk_diag_set(d, VK_ENOMEM, "out of memory");
            free(opt);
            break;
        }
        if (got == 0) {
            r = vk_diag_set(d, VK_EINVAL, "%s: option '%s' needs a value", where, opt);
            free(opt);
            break;
        }
        vk_diag sub;
        r = vk_topology_add(t, opt, val, where, &sub);
        if (r != VK_OK)
            vk_diag_set(d, r, "%s: %s", where, sub.msg);
        free(opt);
        free(val);
        if (r != VK_OK)
            break;
    }
    free(text);
    return r;
}

/* ---- building ---- */

static bool id_wellformed(const char *id)
{
    if (!isalpha((unsigned char)id[0]))
        return false;
    for (const char *p = id + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
            return false;
    return strlen(id) < 64;
}

static int push_port(vk_port ***arr, size_t *n, vk_port *p)
{
    vk_port **a = realloc(*arr, (*n + 1) * sizeof *a);
    if (a == NULL)
        return VK_ENOMEM;
    a[(*n)++] = p;
    *arr = a;
    return VK_OK;
}

static bool is_netdev(const vk_topology *t, const vk_port *p)
{
    for (size_t i = 0; i < t->nnetdevs; i++)
        if (t->netdevs[i] == p)
            return true;
    return false;
}

static const vk_netdev_type *find_netdev_type(const vk_registry *reg, const char *name)
{
    for (size_t i = 0; reg->netdevs && reg->netdevs[i]; i++)
        if (strcmp(reg->netdevs[i]->name, name) == 0)
            return reg->netdevs[i];
    return NULL;
}

static const vk_nic_model *find_nic_model(const vk_registry *reg, const char *name)
{
    for (size_t i = 0; reg->nics && reg->nics[i]; i++)
        if (strcmp(reg->nics[i]->name, name) == 0)
            return reg->nics[i];
    return NULL;
}

static const vk_object_type *find_object_type(const vk_registry *reg, const char *name)
{
    for (size_t i = 0; reg->objects && reg->objects[i]; i++)
        if (strcmp(reg->objects[i]->name, name) == 0)
            return reg->objects[i];
    return NULL;
}

static const vk_chardev_type *find_chardev_type(const vk_registry *reg, const char *name)
{
    for (size_t i = 0; reg->chardevs && reg->chardevs[i]; i++)
        if (strcmp(reg->chardevs[i]->name, name) == 0)
            return reg->chardevs[i];
    return NULL;
}

static int check_new_id(vk_net *net, vk_opts *o, const char *key, const char *id, vk_diag *d)
{
    if (!id_wellformed(id))
        return vk_opts_error(o, d, VK_EINVAL, key,
                             "'%s' is not a valid id (a letter, then letters, digits, '-', '.', '_')",
                             id);
    if (vk_net_find_port(net, id) != NULL)
        return vk_opts_error(o, d, VK_EEXIST, key, "duplicate id '%s'", id);
    return VK_OK;
}

static bool key_listed(const char *const *list, const char *key)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++)
        if (strcmp(list[i], key) == 0)
            return true;
    return false;
}

/* Unknown keys are reported before anything is created (no file is opened
 * for an option that is going to be rejected anyway). */
static int check_keys(const vk_opts *o, const char *const *a, const char *const *b,
                      const char *const *c, vk_diag *d)
{
    for (size_t i = 0; i < o->n; i++) {
        const char *k = o->items[i].key;
        if (!key_listed(a, k) && !key_listed(b, k) && !key_listed(c, k))
            return vk_opts_error(o, d, VK_EINVAL, k, "unknown key");
    }
    return VK_OK;
}

static const char *const netdev_common_keys[] = {"type", "id", NULL};
static const char *const device_common_keys[] = {"driver", "id", "netdev", "mac", "bus",
                                                 "addr", "romfile", "bootindex",
                                                 "multifunction", NULL};
static const char *const nic_common_keys[] = {"type", "id", "model", "mac", NULL};
static const char *const net_nic_keys[] = {"type", "model", "macaddr", "id", "name", "vlan",
                                           "bus", "addr", NULL};
static const char *const net_backend_keys[] = {"type", "id", "name", "vlan", NULL};
static const char *const object_common_keys[] = {"qom-type", "id", NULL};
static const char *const chardev_common_keys[] = {"backend", "id", NULL};
const char *const vk_topology_hubport_keys[] = {"type", "id", "hubid", "netdev", NULL};

/* Creates a netdev port of the type named by `type_key` in o.  id_key names
 * the key the id came from; NULL for an id we made up ("__org.qemu.nic0"
 * breaks the user's id rule on purpose, as in QEMU, and is unique). */
static int create_netdev(vk_topology *t, vk_net *net, const vk_registry *reg, vk_opts *o,
                         const char *type_key, const char *type, const char *id_key,
                         const char *id, vk_port **out, vk_diag *d)
{
    const vk_netdev_type *nt = find_netdev_type(reg, type);
    if (nt == NULL)
        return vk_opts_error(o, d, VK_EINVAL, type_key, "unknown netdev type '%s'", type);
    int r = id_key ? check_new_id(net, o, id_key, id, d) : VK_OK;
    if (r != VK_OK)
        return r;
    r = nt->create(net, id, o, out, d);
    if (r != VK_OK)
        return r;
    return push_port(&t->netdevs, &t->nnetdevs, *out);
}

/* QEMU's qemu_macaddr_default_if_unset(): a NIC without mac= gets
 * 52:54:00:12:34:XX with the lowest XX from 0x56 that no NIC uses yet,
 * counting explicit MACs in that range too (so a default never duplicates
 * one given by the user). */
static const uint8_t qemu_mac_base[5] = {0x52, 0x54, 0x00, 0x12, 0x34};

static vk_mac default_mac(const vk_topology *t)
{
    vk_mac m = {{0x52, 0x54, 0x00, 0x12, 0x34, 0xff}}; /* QEMU's value when all are taken */
    for (unsigned i = 0x56; i < 0xff; i++) {
        if (!t->mac_used[i]) {
            m.b[5] = (uint8_t)i;
            break;
        }
    }
    return m;
}

static void note_mac(vk_topology *t, const vk_mac *m)
{
    if (memcmp(m->b, qemu_mac_base, sizeof qemu_mac_base) == 0)
        t->mac_used[m->b[5]] = true;
}

static int create_nic(vk_topology *t, vk_net *net, const vk_registry *reg, vk_opts *o,
                      const char *model_key, const char *model, const char *id_key,
                      const char *mac_key, vk_port **out, vk_diag *d)
{
    const vk_nic_model *m = find_nic_model(reg, model);
    if (m == NULL)
        return vk_opts_error(o, d, VK_EINVAL, model_key, "unknown NIC model '%s'", model);
    const char *id = id_key ? vk_opts_get(o, id_key) : NULL;
    char auto_id[MAX_AUTO_NAME];
    if (id == NULL) {
        unsigned n = 0;
        do
            snprintf(auto_id, sizeof auto_id, "%s.%u", model, n++);
        while (vk_net_find_port(net, auto_id) != NULL);
        id = auto_id;
    } else {
        int r = check_new_id(net, o, id_key, id, d);
        if (r != VK_OK)
            return r;
    }
    bool has_mac;
    vk_mac mac;
    int r = vk_opts_get_mac(o, mac_key, &has_mac, &mac, d);
    if (r != VK_OK)
        return r;
    if (!has_mac)
        mac = default_mac(t);
    r = m->create(net, id, &mac, o, out, d);
    if (r != VK_OK)
        return r;
    note_mac(t, &mac);
    return push_port(&t->nics, &t->nnics, *out);
}

static int connect_to_netdev(vk_topology *t, vk_net *net, vk_opts *o, const char *key,
                             vk_port *port, vk_diag *d)
{
    const char *nd = vk_opts_get(o, key);
    if (nd == NULL)
        return VK_OK;
    vk_port *peer = vk_net_find_port(net, nd);
    if (peer == NULL || !is_netdev(t, peer))
        return vk_opts_error(o, d, VK_ENOENT, key, "no netdev '%s' (a netdev must be defined before it is used)", nd);
    if (peer->peer != NULL)
        return vk_opts_error(o, d, VK_EEXIST, key, "netdev '%s' is already in use by '%s'", nd,
                             peer->peer->id);
    return vk_net_connect(port, peer, d);
}

static int build_hubport(vk_topology *t, vk_net *net, vk_opts *o, vk_diag *d)
{
    int r = check_keys(o, vk_topology_hubport_keys, NULL, NULL, d);
    if (r != VK_OK)
        return r;
    const char *id = vk_opts_get(o, "id");
    if (id == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "id", "missing (every -netdev needs an id)");
    r = check_new_id(net, o, "id", id, d);
    if (r != VK_OK)
        return r;
    if (!vk_opts_has(o, "hubid"))
        return vk_opts_error(o, d, VK_EINVAL, "hubid", "missing (hubport needs hubid=N)");
    uint64_t hubid;
    r = vk_opts_get_uint(o, "hubid", 0, 0, 0x7fffffff, &hubid, d);
    if (r != VK_OK)
        return r;
    vk_port *p;
    r = vk_net_add_hubport(net, (int)hubid, id, &p, d);
    if (r != VK_OK)
        return r;
    r = push_port(&t->netdevs, &t->nnetdevs, p);
    if (r != VK_OK)
        return r;
    return connect_to_netdev(t, net, o, "netdev", p, d);
}

static int build_netdev(vk_topology *t, vk_net *net, const vk_registry *reg, vk_opts *o,
                        vk_diag *d)
{
    const char *type = vk_opts_get(o, "type");
    if (strcmp(type, "hubport") == 0)
        return build_hubport(t, net, o, d);
    const vk_netdev_type *nt = find_netdev_type(reg, type);
    if (nt == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "type", "unknown netdev type '%s'", type);
    int r = check_keys(o, netdev_common_keys, nt->keys, NULL, d);
    if (r != VK_OK)
        return r;
    const char *id = vk_opts_get(o, "id");
    if (id == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "id", "missing (every -netdev needs an id)");
    vk_port *p;
    return create_netdev(t, net, reg, o, "type", type, "id", id, &p, d);
}

/* Keys QEMU's -device takes for the PCI bus, meaningless here but common in
 * pasted command lines. */
static void ignore_bus_keys(vk_opts *o)
{
    static const char *const keys[] = {"bus", "addr", "romfile", "bootindex", "multifunction"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        vk_opts_mark_used(o, keys[i]);
}

static int build_device(vk_topology *t, vk_net *net, const vk_registry *reg, vk_opts *o,
                        vk_diag *d)
{
    const char *model = vk_opts_get(o, "driver");
    const vk_nic_model *m = find_nic_model(reg, model);
    if (m == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "driver", "unknown NIC model '%s'", model);
    int r = check_keys(o, device_common_keys, m->keys, NULL, d);
    if (r != VK_OK)
        return r;
    ignore_bus_keys(o);
    const char *nd = vk_opts_get(o, "netdev");
    if (nd != NULL) {
        vk_port *peer = vk_net_find_port(net, nd);
        if (peer == NULL || !is_netdev(t, peer))
            return vk_opts_error(o, d, VK_ENOENT, "netdev", "no netdev '%s' (a netdev must be defined before it is used)", nd);
    }
    vk_port *nic;
    r = create_nic(t, net, reg, o, "driver", model, "id", "mac", &nic, d);
    if (r != VK_OK)
        return r;
    return connect_to_netdev(t, net, o, "netdev", nic, d);
}

/* model= of -nic / -net nic, else the registry's default; NULL after an
 * error in d when neither is there. */
static const char *nic_model_or_default(vk_opts *o, const vk_registry *reg, vk_diag *d)
{
    const char *model = vk_opts_get(o, "model");
    if (model == NULL)
        model = reg->default_nic;
    if (model == NULL)
        vk_opts_error(o, d, VK_EINVAL, "model", "missing (no default NIC model)");
    return model;
}

static int build_nic(vk_topology *t, vk_net *net, const vk_registry *reg, vk_opts *o, vk_diag *d)
{
    const char *type = vk_opts_get(o, "type");
    if (strcmp(type, "none") == 0)
        return VK_OK;
    unsigned nd_index = t->nd_table_used++;
    const char *model = nic_model_or_default(o, reg, d);
    if (model == NULL)
        return VK_EINVAL;
    const vk_nic_model *m = find_nic_model(reg, model);
    if (m == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "model", "unknown NIC model '%s'", model);
    const vk_netdev_type *nt = find_netdev_type(reg, type);
    if (nt == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "type", "unknown netdev type '%s'", type);
    int r = check_keys(o, nic_common_keys, nt->keys, m->keys, d);
    if (r != VK_OK)
        return r;
    char auto_id[MAX_AUTO_NAME];
    const char *id = vk_opts_get(o, "id");
    const char *id_key = "id";
    if (id == NULL) {
        snprintf(auto_id, sizeof auto_id, "__org.qemu.nic%u", nd_index);
        id = auto_id;
        id_key = NULL;
    }
    ignore_bus_keys(o);
    vk_port *nd, *nic;
    /* the NIC's own keys are read first so the netdev does not see them */
    bool has_mac;
    vk_mac mac;
    r = vk_opts_get_mac(o, "mac", &has_mac, &mac, d);
    if (r != VK_OK)
        return r;
    r = create_netdev(t, net, reg, o, "type", type, id_key, id, &nd, d);
    if (r != VK_OK)
        return r;
    if (!has_mac)
        mac = default_mac(t);
    char nic_id[MAX_AUTO_NAME];
    unsigned n = 0;
    do
        snprintf(nic_id, sizeof nic_id, "%s.%u", model, n++);
    while (vk_net_find_port(net, nic_id) != NULL);
    r = m->create(net, nic_id, &mac, o, &nic, d);
    if (r != VK_OK)
        return r;
    note_mac(t, &mac);
    r = push_port(&t->nics, &t->nnics, nic);
    if (r != VK_OK)
        return r;
    return vk_net_connect(nic, nd, d);
}

static int add_legacy_hubport(vk_topology *t, vk_net *net, vk_port *to, vk_diag *d)
{
    char id[MAX_AUTO_NAME];
    snprintf(id, sizeof id, "hub0port%u", t->legacy_hubports++);
    vk_port *hp;
    int r = vk_net_add_hubport(net, 0, id, &hp, d);
    if (r != VK_OK)
        return r;
    r = push_port(&t->netdevs, &t->nnetdevs, hp);
    if (r != VK_OK)
        return r;
    return vk_net_connect(to, hp, d);
}

static int build_legacy_net(vk_topology *t, vk_net *net, const vk_registry *reg, vk_opts *o,
                            vk_diag *d)
{
    const char *type = vk_opts_get(o, "type");
    vk_opts_mark_used(o, "vlan"); /* only hub 0 exists for -net, as in QEMU 9 */
    vk_port *p;
    int r;
    if (strcmp(type, "nic") == 0) {
        const char *model = nic_model_or_default(o, reg, d);
        if (model == NULL)
            return VK_EINVAL;
        const vk_nic_model *m = find_nic_model(reg, model);
        if (m == NULL)
            return vk_opts_error(o, d, VK_EINVAL, "model", "unknown NIC model '%s'", model);
        if ((r = check_keys(o, net_nic_keys, m->keys, NULL, d)) != VK_OK)
            return r;
        const char *id_key = vk_opts_has(o, "id") ? "id" : "name";
        ignore_bus_keys(o);
        t->nd_table_used++;
        r = create_nic(t, net, reg, o, "model", model, id_key, "macaddr", &p, d);
    } else {
        const vk_netdev_type *nt = find_netdev_type(reg, type);
        if (nt == NULL)
            return vk_opts_error(o, d, VK_EINVAL, "type", "unknown netdev type '%s'", type);
        if ((r = check_keys(o, net_backend_keys, nt->keys, NULL, d)) != VK_OK)
            return r;
        const char *id_key = vk_opts_has(o, "id") ? "id" : "name";
        const char *id = vk_opts_get(o, id_key);
        char auto_id[MAX_AUTO_NAME];
        if (id == NULL) {
            unsigned n = 0;
            do
                snprintf(auto_id, sizeof auto_id, "%s.%u", type, n++);
            while (vk_net_find_port(net, auto_id) != NULL);
            id = auto_id;
            id_key = NULL;
        }
        r = create_netdev(t, net, reg, o, "type", type, id_key, id, &p, d);
    }
    if (r != VK_OK)
        return r;
    return add_legacy_hubport(t, net, p, d);
}

static int build_object(vk_topology *t, vk_net *net, const vk_registry *reg, vk_opts *o,
                        vk_diag *d)
{
    const char *type = vk_opts_get(o, "qom-type");
    const vk_object_type *ot = find_object_type(reg, type);
    if (ot == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "qom-type", "unknown object type '%s'", type);
    int r = check_keys(o, object_common_keys, ot->keys, NULL, d);
    if (r != VK_OK)
        return r;
    const char *id = vk_opts_get(o, "id");
    if (id == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "id", "missing (every -object needs an id)");
    topo_object *objs = realloc(t->objects, (t->nobjects + 1) * sizeof *objs);
    if (objs == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    t->objects = objs;
    void *handle;
    r = ot->create(net, o, &handle, d);
    if (r != VK_OK)
        return r;
    t->objects[t->nobjects++] = (topo_object){ot, handle};
    return VK_OK;
}

static int build_chardev(vk_net *net, const vk_registry *reg, vk_opts *o, vk_diag *d)
{
    const char *backend = vk_opts_get(o, "backend");
    const vk_chardev_type *ct = find_chardev_type(reg, backend);
    if (ct == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "backend", "'%s' is not a valid char driver name"
                             " (vnetkit has: socket)", backend);
    int r = check_keys(o, chardev_common_keys, ct->keys, NULL, d);
    if (r != VK_OK)
        return r;
    const char *id = vk_opts_get(o, "id");
    if (id == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "id", "missing (every -chardev needs an id)");
    if ((r = check_new_id(net, o, "id", id, d)) != VK_OK)
        return r;
    return ct->create(net, id, o, d);
}

static int build_entry(vk_topology *t, vk_net *net, const vk_registry *reg, topo_entry *e,
                       vk_diag *d)
{
    vk_opts *o = &e->opts;
    /* every builder reads the implied key first: "-netdev id=x" has none */
    const char *implied = implied_key_of(e->option);
    if (!vk_opts_has(o, implied))
        return vk_opts_error(o, d, VK_EINVAL, implied, "missing");
    int r;
    if (strcmp(e->option, "-netdev") == 0)
        r = build_netdev(t, net, reg, o, d);
    else if (strcmp(e->option, "-device") == 0)
        r = build_device(t, net, reg, o, d);
    else if (strcmp(e->option, "-nic") == 0)
        r = build_nic(t, net, reg, o, d);
    else if (strcmp(e->option, "-net") == 0)
        r = build_legacy_net(t, net, reg, o, d);
    else if (strcmp(e->option, "-chardev") == 0)
        r = build_chardev(net, reg, o, d);
    else
        r = build_object(t, net, reg, o, d);
    if (r != VK_OK)
        return r;
    return vk_opts_check_unused(o, d);
}

static bool object_ids_unique(vk_topology *t, vk_diag *d, int *err)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->entries[i].option, "-object") != 0)
            continue;
        const char *a = vk_opts_get(&t->entries[i].opts, "id");
        for (size_t j = i + 1; a && j < t->n; j++) {
            if (strcmp(t->entries[j].option, "-object") != 0)
                continue;
            const char *b = vk_opts_get(&t->entries[j].opts, "id");
            if (b != NULL && strcmp(a, b) == 0) {
                *err = vk_opts_error(&t->entries[j].opts, d, VK_EEXIST, "id",
                                     "duplicate id '%s'", b);
                return false;
            }
        }
    }
    return true;
}

/* Builds one entry; a message from a topology file names its line. */
static int build_one(vk_topology *t, vk_net *net, const vk_registry *reg, topo_entry *e,
                     vk_diag *d)
{
    vk_diag sub;
    sub.msg[0] = '\0';
    int r = build_entry(t, net, reg, e, &sub);
    if (r == VK_OK)
        return VK_OK;
    if (e->where[0] != '\0' && strcmp(e->where, "command line") != 0)
        return vk_diag_set(d, r, "%s: %s", e->where, sub.msg);
    return vk_diag_set(d, r, "%s", sub.msg);
}

int vk_topology_build(vk_topology *t, vk_net *net, const vk_registry *reg, vk_diag *d)
{
    int r = VK_OK;
    if (!object_ids_unique(t, d, &r))
        return r;
    /* chardevs first (QEMU creates them before netdevs and objects) */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < t->n; i++) {
            if ((strcmp(t->entries[i].option, "-chardev") == 0) != (pass == 0))
                continue;
            if ((r = build_one(t, net, reg, &t->entries[i], d)) != VK_OK)
                return r;
        }
    return VK_OK;
}

bool vk_topology_needs_live(vk_topology *t, const vk_registry *reg)
{
    for (size_t i = 0; i < t->n; i++) {
        const char *opt = t->entries[i].option;
        vk_opts *o = &t->entries[i].opts;
        if (strcmp(opt, "-chardev") == 0) {
            for (size_t k = 0; k < o->n; k++) {
                const vk_chardev_type *ct = strcmp(o->items[k].key, "backend") == 0
                                                ? find_chardev_type(reg, o->items[k].value)
                                                : NULL;
                if (ct != NULL && ct->live)
                    return true;
            }
            continue;
        }
        if (strcmp(opt, "-netdev") != 0 && strcmp(opt, "-nic") != 0 && strcmp(opt, "-net") != 0)
            continue;
        for (size_t k = 0; k < o->n; k++) {
            if (strcmp(o->items[k].key, "type") != 0)
                continue;
            const vk_netdev_type *nt = find_netdev_type(reg, o->items[k].value);
            if (nt != NULL && nt->live)
                return true;
        }
    }
    return false;
}

size_t vk_topology_nic_count(const vk_topology *t)
{
    return t->nnics;
}

vk_port *vk_topology_nic_at(const vk_topology *t, size_t i)
{
    return i < t->nnics ? t->nics[i] : NULL;
}
