/*
 * The "none" world of part 1: every outbound flow is refused, so the stack
 * drops the packet with a reason the tracer shows.  It exists so that the
 * stack's NAT hand-off is already one call through a vtable.
 */
#include "backends/user/world.h"

#include <stdlib.h>

#include "core/error.h"

static int none_output(vk_world *w, const vk_world_flow *flow, const uint8_t *ip, size_t len,
                       uint64_t now, const char **reason)
{
    (void)w;
    (void)flow;
    (void)ip;
    (void)len;
    (void)now;
    *reason = "user: NAT not implemented yet";
    return VK_EUNSUPP;
}

static void none_free(vk_world *w)
{
    free(w);
}

static const vk_world_ops none_ops = {
    .name = "none",
    .output = none_output,
    .free = none_free,
};

vk_world *vk_world_none_new(void *stack, vk_world_deliver_fn deliver)
{
    vk_world *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->ops = &none_ops;
    w->stack = stack;
    w->deliver = deliver;
    return w;
}
