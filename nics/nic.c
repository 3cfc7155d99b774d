/* The guest-side entry points shared by all NIC models, and the lookup of
 * their register dispatch tables (see nic.h). */
#include "nics/nic.h"

#include "core/error.h"
#include "core/options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vk_nic_create(const vk_nic_card *card, const vk_nic_driver *drv, const char *model,
                  vk_net *net, const char *id, const vk_mac *mac, vk_opts *o, vk_port **out,
                  vk_diag *d)
{
    bool driver = true;
    int r = o != NULL ? vk_opts_get_bool(o, "guest-driver", true, &driver, d) : VK_OK;
    vk_port *p;
    if (r == VK_OK)
        r = card->create(net, model, id, mac, o, &p, d);
    if (r != VK_OK)
        return r;
    if (driver) {
        vk_nic *n = vk_nic_of(p);
        n->driver = drv;
        n->guest = drv->ops;
        if ((r = drv->probe(p)) != VK_OK) {
            const char *why = drv->error ? drv->error(p) : NULL;
            return vk_diag_set(d, r, "%s '%s': guest driver setup failed: %s", model, id,
                               why ? why : vk_strerror(r));
        }
    }
    *out = p;
    return VK_OK;
}

static const char *const offload_names[] = {"none", "csum", "tso"};

int vk_nic_offload_parse(const char *name, vk_nic_offload *out)
{
    int i = vk_name_index(offload_names, VK_NAMES_COUNT(offload_names), name);
    if (i < 0)
        return VK_EINVAL;
    *out = (vk_nic_offload)i;
    return VK_OK;
}

const char *vk_nic_offload_name(vk_nic_offload m)
{
    return vk_name_at(offload_names, VK_NAMES_COUNT(offload_names), (size_t)m);
}

int vk_nic_opts_offload(vk_opts *o, vk_nic_offload *out, vk_diag *d)
{
    const char *v = o != NULL ? vk_opts_get(o, "guest-offload") : NULL;
    *out = VK_NIC_OFFLOAD_NONE;
    if (v == NULL || vk_nic_offload_parse(v, out) == VK_OK)
        return VK_OK;
    return vk_opts_error(o, d, VK_EINVAL, "guest-offload", "must be none, csum or tso (got '%s')",
                         v);
}

int vk_nic_opts_refill_delay(vk_opts *o, uint64_t *out, vk_diag *d)
{
    *out = 0;
    if (o == NULL)
        return VK_OK;
    return vk_opts_get_uint(o, "rx-refill-delay", 0, 0, VK_NIC_REFILL_DELAY_MAX, out, d);
}

void vk_nic_unbind(vk_port *nic)
{
    vk_nic *n = vk_nic_of(nic);
    if (n->driver != NULL && n->driver->remove != NULL)
        n->driver->remove(nic);
    n->driver = NULL;
    n->guest = NULL;
    n->irq = NULL;
}

void vk_nic_request_irq(vk_port *nic, void (*handler)(vk_port *nic))
{
    vk_nic_of(nic)->irq = handler;
}

void vk_nic_raise_irq(vk_port *nic)
{
    vk_nic *n = vk_nic_of(nic);
    if (n->irq != NULL)
        n->irq(nic);
}

void vk_nic_describe(vk_port *nic, char *buf, size_t cap)
{
    char mac[VK_MAC_STRLEN];
    snprintf(buf, cap, "%s mac=%s", nic->model, vk_mac_format(&vk_nic_of(nic)->mac, mac));
}

int vk_nic_guest_send(vk_port *nic, const uint8_t *data, size_t len)
{
    vk_nic *n = vk_nic_of(nic);
    return n->guest ? n->guest->send(nic, data, len) : VK_EUNSUPP;
}

int vk_nic_guest_set_offload(vk_port *nic, vk_nic_offload mode)
{
    vk_nic *n = vk_nic_of(nic);
    return n->guest && n->guest->set_offload ? n->guest->set_offload(nic, mode) : VK_EUNSUPP;
}

int vk_nic_guest_send_offload(vk_port *nic, const uint8_t *frame, size_t len,
                              const vk_guest_offload *meta)
{
    vk_nic *n = vk_nic_of(nic);
    return n->guest && n->guest->send_offload ? n->guest->send_offload(nic, frame, len, meta)
                                              : VK_EUNSUPP;
}

bool vk_nic_has_send_offload(vk_port *nic)
{
    vk_nic *n = vk_nic_of(nic);
    return n->guest != NULL && n->guest->send_offload != NULL;
}

vk_csum_zero vk_nic_csum_zero(vk_port *nic)
{
    return vk_nic_of(nic)->csum_zero;
}

vk_csum_zero vk_nic_tso_zero(vk_port *nic)
{
    return vk_nic_of(nic)->tso_zero;
}

void vk_nic_set_guest_sink(vk_port *nic, vk_guest_sink_fn fn, void *arg)
{
    vk_nic *n = vk_nic_of(nic);
    n->sink = fn;
    n->sink_arg = arg;
}

void vk_nic_deliver_to_guest(vk_port *nic, const uint8_t *data, size_t len)
{
    vk_nic *n = vk_nic_of(nic);
    if (n->sink != NULL)
        n->sink(n->sink_arg, nic, data, len);
}

void vk_nic_guest_groups(const vk_mac *mac, vk_mac out[VK_NIC_GUEST_GROUPS])
{
    const vk_mac groups[VK_NIC_GUEST_GROUPS] = {
        {{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}},
        {{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}},
        {{0x33, 0x33, 0xff, mac->b[3], mac->b[4], mac->b[5]}},
    };
    for (size_t i = 0; i < VK_NIC_GUEST_GROUPS; i++)
        out[i] = groups[i];
}

void vk_nic_irq_run(vk_nic_irq *irq, vk_port *p, void (*round)(vk_port *p))
{
    if (irq->running) {
        irq->again = true;
        return;
    }
    irq->running = true;
    unsigned rounds = 0;
    do {
        irq->again = false;
        round(p);
    } while (irq->again && ++rounds < VK_NIC_IRQ_MAX_ROUNDS);
    irq->running = false;
}

static int reg_span_cmp(const void *key, const void *row)
{
    uint32_t off = *(const uint32_t *)key;
    const vk_nic_reg_span *sp = row;
    if (off < sp->first)
        return -1;
    return off - sp->first >= sp->count ? 1 : 0;
}

const void *vk_nic_reg_find(const void *rows, size_t n, size_t row_size, uint32_t off)
{
    return bsearch(&off, rows, n, row_size, reg_span_cmp);
}

bool vk_nic_reg_table_ok(const void *rows, size_t n, size_t row_size)
{
    const unsigned char *b = rows;
    for (size_t i = 0; i < n; i++) {
        const vk_nic_reg_span *sp = (const vk_nic_reg_span *)(const void *)(b + i * row_size);
        if (sp->count == 0)
            return false;
        if (i + 1 < n) {
            const vk_nic_reg_span *next =
                (const vk_nic_reg_span *)(const void *)(b + (i + 1) * row_size);
            if ((uint64_t)sp->first + sp->count > next->first)
                return false;
        }
    }
    return true;
}
