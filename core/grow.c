/* Growing arrays by doubling (see grow.h). */
#include "core/grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int vk_grow(void *arrp, size_t *cap, size_t n, size_t size, size_t initial)
{
    if (n < *cap)
        return VK_OK;
    size_t ncap = *cap ? *cap * 2 : initial;
    if (ncap <= n)
        ncap = n + 1;
    if (ncap < *cap || size == 0 || ncap > SIZE_MAX / size)
        return VK_ENOMEM;
    void *arr;
    memcpy(&arr, arrp, sizeof arr); /* arrp is a T **, read without punning */
    void *p = realloc(arr, ncap * size);
    if (p == NULL)
        return VK_ENOMEM;
    memcpy(arrp, &p, sizeof p);
    *cap = ncap;
    return VK_OK;
}
