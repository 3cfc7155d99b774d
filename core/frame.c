/* Frame allocation and reference counting (ownership rule in frame.h).
 * Header and bytes live in one allocation, so a frame costs one malloc. */
#include "core/frame.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

vk_frame *vk_frame_new(const void *data, size_t len)
{
    if (len > VK_FRAME_MAX)
        return NULL;
    vk_frame *f = malloc(sizeof *f + (len ? len : 1));
    if (f == NULL)
        return NULL;
    f->data = (uint8_t *)(f + 1);
    f->len = len;
    f->cap = len;
    f->id = 0;
    f->refcnt = 1;
    f->note = NULL;
    if (data != NULL)
        memcpy(f->data, data, len);
    else
        memset(f->data, 0, len);
    return f;
}

vk_frame *vk_frame_clone(const vk_frame *f)
{
    vk_frame *c = vk_frame_new(f->data, f->len);
    if (c != NULL)
        c->id = f->id;
    return c;
}

vk_frame *vk_frame_ref(vk_frame *f)
{
    f->refcnt++;
    return f;
}

void vk_frame_unref(vk_frame *f)
{
    if (f == NULL)
        return;
    if (--f->refcnt == 0) {
        free(f->note);
        free(f);
    }
}

int vk_frame_set_note(vk_frame *f, const char *text)
{
    free(f->note);
    f->note = NULL;
    if (text == NULL)
        return VK_OK;
    f->note = strdup(text);
    return f->note != NULL ? VK_OK : VK_ENOMEM;
}
