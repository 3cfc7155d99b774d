/*
 * The one grow-by-doubling step for arrays kept as (pointer, count,
 * capacity): before storing element n, vk_grow makes room for it.
 * Part of the base layer (libc only), so wire/ may use it too.
 */
#ifndef VK_CORE_GROW_H
#define VK_CORE_GROW_H

#include <stddef.h>

/* arrp points to the array's pointer (T **); elements are `size` bytes.
 * When n < *cap nothing happens; else the array is reallocated to
 * max(initial, 2 * *cap) elements and *cap updated.  VK_OK, or VK_ENOMEM
 * (on failure or size overflow) with the array and *cap untouched. */
int vk_grow(void *arrp, size_t *cap, size_t n, size_t size, size_t initial);

#endif
