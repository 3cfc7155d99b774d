/*
 * Fuzz target: QEMU's option grammar (core/options.c), the one parser of
 * "TYPE,key=value,..." strings, and the typed getters every constructor
 * uses (numbers, booleans, MACs, durations, repeated keys).
 *
 * Property (round trip): writing the parsed items back as "key=value" with
 * every ',' doubled, joined by ',', and parsing that again gives the same
 * items in the same order.  Getters never fail without a message.
 * Input: the option text (bytes after a NUL are ignored, as on a command
 * line).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/options.h"
#include "fuzz/fuzz.h"

/* Appends s with ',' doubled. */
static size_t put_escaped(char *out, size_t n, const char *s)
{
    for (; *s; s++) {
        if (*s == ',')
            out[n++] = ',';
        out[n++] = *s;
    }
    return n;
}

static char *serialise(const vk_opts *o)
{
    size_t cap = 1;
    for (size_t i = 0; i < o->n; i++)
        cap += 2 * (strlen(o->items[i].key) + strlen(o->items[i].value)) + 2;
    char *out = malloc(cap);
    vk_fuzz_check(out != NULL, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < o->n; i++) {
        if (i > 0)
            out[n++] = ',';
        n = put_escaped(out, n, o->items[i].key);
        out[n++] = '=';
        n = put_escaped(out, n, o->items[i].value);
    }
    out[n] = '\0';
    return out;
}

static void getters(vk_opts *o)
{
    vk_diag d = {{0}};
    uint64_t u;
    bool b, present;
    vk_mac mac;
    const char *vals[8];
    (void)vk_opts_get(o, "id");
    (void)vk_opts_has(o, "type");
    vk_fuzz_check(vk_opts_get_all(o, "dnssearch", vals, 8) <= 8, "get_all past max");
    if (vk_opts_get_uint(o, "hubid", 7, 0, 1000, &u, &d) != VK_OK)
        vk_fuzz_check(d.msg[0] != 0, "get_uint failed without a message");
    else
        vk_fuzz_check(u <= 1000, "get_uint out of its range");
    d.msg[0] = 0;
    if (vk_opts_get_bool(o, "restrict", false, &b, &d) != VK_OK)
        vk_fuzz_check(d.msg[0] != 0, "get_bool failed without a message");
    d.msg[0] = 0;
    if (vk_opts_get_mac(o, "mac", &present, &mac, &d) != VK_OK)
        vk_fuzz_check(d.msg[0] != 0, "get_mac failed without a message");
    const char *t = vk_opts_get(o, "t");
    if (t != NULL)
        (void)vk_parse_duration(t, &u);
    d.msg[0] = 0;
    if (vk_opts_check_unused(o, &d) != VK_OK)
        vk_fuzz_check(d.msg[0] != 0, "check_unused failed without a message");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    vk_fuzz_check(text != NULL, "out of memory");
    memcpy(text, data, size);
    text[size] = '\0';
    uint64_t ns;
    (void)vk_parse_duration(text, &ns);

    vk_opts a, b;
    vk_diag d = {{0}};
    if (vk_opts_parse("-netdev", "type", text, &a, &d) != VK_OK) {
        vk_fuzz_check(d.msg[0] != 0, "parse failed without a message");
        free(text);
        return 0;
    }
    char *again = serialise(&a);
    if (vk_opts_parse("-netdev", "type", again, &b, &d) != VK_OK)
        vk_fuzz_fail("round trip: '%s' does not parse again: %s", again, d.msg);
    vk_fuzz_check(a.n == b.n, "round trip: item count differs");
    for (size_t i = 0; i < a.n; i++)
        vk_fuzz_check(!strcmp(a.items[i].key, b.items[i].key) &&
                          !strcmp(a.items[i].value, b.items[i].value),
                      "round trip: an item differs");
    getters(&a);
    vk_opts_free(&a);
    vk_opts_free(&b);
    free(again);
    free(text);
    return 0;
}
