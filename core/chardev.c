/* The front end of a chardev (see chardev.h). */
#include "core/chardev.h"

#include <stdio.h>

#include "core/port.h"

typedef struct chardev_fe {
    char owner[96]; /* "" while unclaimed */
    vk_chardev_reader reader;
    void *arg;
} chardev_fe;

static int fe_receive(vk_port *self, vk_frame *f)
{
    chardev_fe *fe = self->priv;
    if (fe->reader == NULL) {
        vk_port_drop(self, f, fe->owner[0] ? "chardev: its user does not read it"
                                           : "chardev: no filter uses it");
        return VK_EDROP;
    }
    fe->reader(fe->arg, f);
    return VK_OK;
}

static void fe_describe(vk_port *self, char *buf, size_t cap)
{
    chardev_fe *fe = self->priv;
    snprintf(buf, cap, "chardev front end%s%s", fe->owner[0] ? " of " : "", fe->owner);
}

static const vk_port_ops fe_ops = {
    .kind = "chardev",
    .receive = fe_receive,
    .describe = fe_describe,
};

int vk_chardev_claim(vk_net *net, const char *id, const char *owner, vk_port **out, char *err,
                     size_t errcap)
{
    vk_port *p = vk_net_find_port(net, id);
    if (p == NULL || p->ops != &fe_ops) {
        snprintf(err, errcap, "Device '%s' not found (no -chardev with that id)", id);
        return VK_ENOENT;
    }
    chardev_fe *fe = p->priv;
    if (fe->owner[0] != '\0') {
        snprintf(err, errcap, "Device '%s' is in use by %s", id, fe->owner);
        return VK_EEXIST;
    }
    snprintf(fe->owner, sizeof fe->owner, "%s", owner);
    *out = p;
    return VK_OK;
}

void vk_chardev_set_reader(vk_port *p, vk_chardev_reader fn, void *arg)
{
    chardev_fe *fe = p->priv;
    fe->reader = fn;
    fe->arg = arg;
}

void vk_chardev_write(vk_port *p, vk_frame *f)
{
    vk_port_send(p, f);
}

int vk_chardev_new(vk_net *net, const char *id, vk_port **fe, vk_diag *d)
{
    return vk_port_new(net, &fe_ops, id, "chardev", sizeof(chardev_fe), fe, d);
}

void vk_chardev_release(vk_port *p)
{
    chardev_fe *fe = p->priv;
    fe->owner[0] = '\0';
    fe->reader = NULL;
    fe->arg = NULL;
}
