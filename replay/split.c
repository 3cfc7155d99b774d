/* Guest/expected split and the BPF frame filter (rules in split.h). */
#include "replay/split.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "wire/pcapng.h"

/* The user network's virtual hosts: 52:55 + IPv4 address, 52:56 + the
 * last 4 bytes of an IPv6 address (backends/user). */
static bool is_slirp_mac(const uint8_t *mac)
{
    return mac[0] == 0x52 && (mac[1] == 0x55 || mac[1] == 0x56);
}

/* ---- the survey: what the choice needs of the whole capture ---- */

static void stats_add(vk_split_stats *st, const vk_cap_frame *f)
{
    if (f->dropped)
        return;
    if (!st->any)
        st->all_directed = true;
    st->any = true;
    if ((f->flags & 3u) == 0)
        st->all_directed = false;
    if (is_slirp_mac(f->data + 6))
        return;
    for (size_t k = 0; k < st->nmacs; k++)
        if (memcmp(st->macs[k].b, f->data + 6, 6) == 0)
            return;
    if (st->nmacs < VK_SPLIT_GUESTS_NAMED)
        memcpy(st->macs[st->nmacs++].b, f->data + 6, 6);
    else
        st->more = true;
}

int vk_split_survey_add(vk_split_survey *sv, const vk_cap_frame *f)
{
    stats_add(&sv->all, f);
    if (f->iface >= VK_CAPTURE_IFACES_MAX)
        return VK_OK; /* an unknown interface: the reader refuses the file */
    if (f->iface >= sv->n) {
        size_t n = sv->n;
        if (vk_grow(&sv->iface, &sv->cap, f->iface, sizeof *sv->iface, 4) != VK_OK)
            return VK_ENOMEM;
        memset(sv->iface + n, 0, (sv->cap - n) * sizeof *sv->iface);
        sv->n = sv->cap;
    }
    stats_add(&sv->iface[f->iface], f);
    return VK_OK;
}

void vk_split_survey_free(vk_split_survey *sv)
{
    free(sv->iface);
    memset(sv, 0, sizeof *sv);
}

static const vk_split_stats *stats_of(const vk_split_survey *sv, int iface)
{
    static const vk_split_stats none;
    if (iface < 0)
        return &sv->all;
    return (size_t)iface < sv->n ? &sv->iface[iface] : &none;
}

/* Several guests in one capture are refused by name: replay drives one
 * guest, and taking the first MAC would silently make the others' frames
 * "expected" from the network. */
static int refuse_guests(const vk_capture *c, const vk_split_stats *st, vk_diag *d)
{
    if (st->nmacs < 2)
        return VK_OK;
    char list[VK_SPLIT_GUESTS_NAMED * (VK_MAC_STRLEN + 2) + 64] = "", mac[VK_MAC_STRLEN];
    size_t off = 0;
    for (size_t k = 0; k < st->nmacs; k++)
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", k ? ", " : "",
                                vk_mac_format(&st->macs[k], mac));
    if (st->more)
        snprintf(list + off, sizeof list - off, " and more");
    return vk_diag_set(d, VK_EINVAL,
                       "%s: frames come from %zu%s guests (source MACs %s), and replay "
                       "drives one: choose it with --guest-mac (the others' frames are then "
                       "expected from the network)",
                       c->path, st->nmacs, st->more ? " or more" : "", list);
}

static int find_iface(const vk_capture *c, const char *name)
{
    for (size_t i = 0; name != NULL && i < c->iface_count; i++)
        if (strcmp(c->iface_names[i], name) == 0)
            return (int)i;
    return -1;
}

static void list_ifaces(const vk_capture *c, char *buf, size_t cap)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->iface_count && off + 1 < cap; i++) {
        int n = snprintf(buf + off, cap - off, "%s'%s'", i ? ", " : "", c->iface_names[i]);
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

/* Chooses the guest's interface; *from_network tells which direction is the
 * guest's.  Returns the index, or -1 with a message. */
static int choose_iface(const vk_capture *c, const vk_split_config *cfg, bool *from_network,
                        vk_diag *d)
{
    char names[256];
    *from_network = false;
    if (cfg->iface != NULL) {
        int i = find_iface(c, cfg->iface);
        if (i < 0) {
            list_ifaces(c, names, sizeof names);
            vk_diag_set(d, VK_EINVAL, "%s: --capture-iface: no interface '%s' (it has %s)",
                        c->path, cfg->iface, names);
        }
        *from_network = cfg->attach_is_peer && cfg->attach_id &&
                        strcmp(cfg->iface, cfg->attach_id) == 0;
        return i;
    }
    int i = find_iface(c, cfg->attach_id);
    if (i >= 0) {
        *from_network = cfg->attach_is_peer;
        return i;
    }
    if ((i = find_iface(c, "guest")) >= 0 || (i = find_iface(c, "replay")) >= 0)
        return i;
    if (c->iface_count == 1)
        return 0;
    list_ifaces(c, names, sizeof names);
    vk_diag_set(d, VK_EINVAL,
                "%s: %zu interfaces (%s) and none is named after the replay's port '%s'; "
                "name one with --capture-iface",
                c->path, c->iface_count, names, cfg->attach_id ? cfg->attach_id : "");
    return -1;
}

static int choose_mac(const vk_capture *c, const vk_split_stats *st, const vk_mac *given,
                      vk_split *s, vk_diag *d)
{
    if (given != NULL)
        s->guest_mac = *given;
    else if (refuse_guests(c, st, d) != VK_OK)
        return VK_EINVAL;
    else if (st->nmacs == 0)
        return vk_diag_set(d, VK_EINVAL,
                           "%s: cannot tell the guest's frames: every source MAC is "
                           "the user network's (52:55:xx or 52:56:xx); give --guest-mac",
                           c->path);
    else
        s->guest_mac = st->macs[0];
    s->by_mac = true;
    return VK_OK;
}

int vk_split_choose(const vk_capture *c, const vk_split_survey *sv, const vk_split_config *cfg,
                    vk_split *out, vk_diag *d)
{
    memset(out, 0, sizeof *out);
    out->iface = -1;
    bool from_network = false;
    if (c->pcapng && c->iface_count > 0) {
        out->iface = choose_iface(c, cfg, &from_network, d);
        if (out->iface < 0)
            return VK_EINVAL;
    }
    const vk_split_stats *st = stats_of(sv, out->iface);
    char mac[VK_MAC_STRLEN];
    if (out->iface >= 0 && cfg->guest_mac == NULL && st->any && st->all_directed) {
        out->guest_dir = from_network ? VK_PCAPNG_FLAG_INBOUND : VK_PCAPNG_FLAG_OUTBOUND;
        snprintf(out->method, sizeof out->method, "interface '%s', %s frames are the guest's",
                 c->iface_names[out->iface], from_network ? "inbound" : "outbound");
        return VK_OK;
    }
    int r = choose_mac(c, st, cfg->guest_mac, out, d);
    if (r != VK_OK)
        return r;
    snprintf(out->method, sizeof out->method, "source MAC %s%s is the guest",
             vk_mac_format(&out->guest_mac, mac), cfg->guest_mac ? " (--guest-mac)" : "");
    return VK_OK;
}

vk_side vk_split_side_of(const vk_split *s, const vk_cap_frame *f)
{
    if ((s->iface >= 0 && (int)f->iface != s->iface) || f->dropped)
        return VK_SIDE_IGNORED;
    if (s->by_mac)
        return memcmp(f->data + 6, s->guest_mac.b, 6) == 0 ? VK_SIDE_GUEST : VK_SIDE_EXPECTED;
    return (f->flags & 3u) == s->guest_dir ? VK_SIDE_GUEST : VK_SIDE_EXPECTED;
}

static void count_sides(vk_split *s, size_t n)
{
    s->guest = s->expected = 0;
    for (size_t i = 0; i < n; i++) {
        s->guest += s->side[i] == VK_SIDE_GUEST;
        s->expected += s->side[i] == VK_SIDE_EXPECTED;
    }
}

int vk_split_capture(const vk_capture *c, const vk_split_config *cfg, vk_split *out,
                     vk_diag *d)
{
    vk_split_survey sv = {0};
    int r = VK_OK;
    for (size_t i = 0; i < c->count && r == VK_OK; i++)
        r = vk_split_survey_add(&sv, &c->frames[i]);
    if (r != VK_OK) {
        vk_split_survey_free(&sv);
        memset(out, 0, sizeof *out);
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    }
    r = vk_split_choose(c, &sv, cfg, out, d);
    vk_split_survey_free(&sv);
    if (r != VK_OK)
        return r;
    out->side = calloc(c->count ? c->count : 1, sizeof *out->side);
    if (out->side == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    for (size_t i = 0; i < c->count; i++)
        out->side[i] = vk_split_side_of(out, &c->frames[i]);
    count_sides(out, c->count);
    return VK_OK;
}

void vk_split_free(vk_split *s)
{
    free(s->side);
    s->side = NULL;
}

/* ---- BPF ---- */

struct vk_bpf {
    struct bpf_program prog;
};

int vk_bpf_new(const char *expr, vk_bpf **out, vk_diag *d)
{
    *out = NULL;
    if (expr == NULL || expr[0] == '\0')
        return VK_OK;
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
    if (dead == NULL)
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    vk_bpf *f = calloc(1, sizeof *f);
    if (f == NULL) {
        pcap_close(dead);
        return vk_diag_set(d, VK_ENOMEM, "out of memory");
    }
    if (pcap_compile(dead, &f->prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        vk_diag_set(d, VK_EINVAL, "--filter '%s': %s", expr, pcap_geterr(dead));
        pcap_close(dead);
        free(f);
        return VK_EINVAL;
    }
    pcap_close(dead);
    *out = f;
    return VK_OK;
}

bool vk_bpf_match(const vk_bpf *f, const uint8_t *data, size_t len)
{
    if (f == NULL)
        return true;
    struct pcap_pkthdr h = {.caplen = (bpf_u_int32)len, .len = (bpf_u_int32)len};
    return pcap_offline_filter(&f->prog, &h, data) != 0;
}

void vk_bpf_free(vk_bpf *f)
{
    if (f == NULL)
        return;
    pcap_freecode(&f->prog);
    free(f);
}

void vk_split_apply_filter(vk_split *s, const vk_capture *c, const vk_bpf *f)
{
    for (size_t i = 0; f != NULL && i < c->count; i++)
        if (s->side[i] != VK_SIDE_IGNORED && !vk_bpf_match(f, c->frames[i].data, c->frames[i].len))
            s->side[i] = VK_SIDE_IGNORED;
    count_sides(s, c->count);
}
