/* Captures and the drop tap for unit tests (see capture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture.h"

void vk_test_capture_add(vk_test_capture *c, const uint8_t *d, size_t len)
{
    if (c->n >= VK_TEST_MAX_FRAMES)
        return;
    c->data[c->n] = malloc(len ? len : 1);
    assert_non_null(c->data[c->n]);
    memcpy(c->data[c->n], d, len);
    c->len[c->n++] = len;
}

void vk_test_capture_free(vk_test_capture *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->data[i]);
    c->n = 0;
}

void vk_test_sink(void *arg, vk_port *nic, const uint8_t *data, size_t len)
{
    (void)nic;
    vk_test_capture_add(arg, data, len);
}

static int wire_receive(vk_port *self, vk_frame *f)
{
    vk_test_capture_add(self->priv, f->data, f->len);
    return VK_OK;
}

const vk_port_ops vk_test_wire_ops = {.kind = "test-wire", .receive = wire_receive};

static void tap_drop(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f,
                     const char *reason, uint64_t ts)
{
    (void)p, (void)dir, (void)f, (void)ts;
    vk_test_drops *d = arg;
    d->n++;
    snprintf(d->reason, sizeof d->reason, "%s", reason);
}

const vk_tap_ops vk_test_drop_tap = {.drop = tap_drop};
