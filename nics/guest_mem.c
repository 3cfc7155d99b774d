/* Bounds-checked simulated guest memory (see guest_mem.h). */
#include "nics/guest_mem.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The last memory freed, kept for the next card of the same size: a process
 * that creates and frees cards in a loop (the fuzz targets make one per
 * input) then pays a memset instead of a fresh mapping, its page faults and,
 * under ASan, the poisoning of megabytes of shadow (80% of a NIC fuzz
 * target's time).  Every write goes through vk_gmem_write, which marks the
 * 64ths of the memory it touched (`written`), so only those are cleared for
 * the next card: a card whose driver used a few rings and buffers clears a
 * few of its megabytes, not all.  The buffer keeps its exact size, so ASan
 * still sees any byte outside it; each thread has its own. */
static _Thread_local struct {
    uint8_t *bytes;
    uint64_t size;
    uint64_t written;
} spare;

/* The size of a 64th of memory of `size` bytes (rounded up). */
static uint64_t region_size(uint64_t size)
{
    return (size + 63) / 64;
}

int vk_gmem_init(vk_gmem *m, uint64_t size)
{
    memset(m, 0, sizeof *m);
    if (size == 0 || size > (1ull << 32))
        return VK_ERANGE;
    if (spare.bytes != NULL && spare.size == size) {
        m->bytes = spare.bytes;
        spare.bytes = NULL;
        uint64_t rs = region_size(size);
        for (unsigned i = 0; i < 64; i++) {
            if (!(spare.written >> i & 1))
                continue;
            uint64_t at = i * rs, n = at < size ? (size - at < rs ? size - at : rs) : 0;
            memset(m->bytes + at, 0, (size_t)n);
        }
    } else {
        m->bytes = calloc(1, (size_t)size);
    }
    if (m->bytes == NULL)
        return VK_ENOMEM;
    m->size = size;
    m->next_free = 4096; /* keep page 0 unused so address 0 means "none" */
    return VK_OK;
}

void vk_gmem_destroy(vk_gmem *m)
{
    if (m->bytes != NULL) {
        free(spare.bytes);
        spare.bytes = m->bytes;
        spare.size = m->size;
        spare.written = m->written;
    }
    memset(m, 0, sizeof *m);
}

int vk_gmem_valid(const vk_gmem *m, uint64_t addr, uint64_t len)
{
    return addr <= m->size && len <= m->size - addr;
}

int vk_gmem_read(vk_gmem *m, uint64_t addr, void *dst, size_t len)
{
    if (!vk_gmem_valid(m, addr, len)) {
        m->faults++;
        return VK_ERANGE;
    }
    memcpy(dst, m->bytes + addr, len);
    return VK_OK;
}

int vk_gmem_write(vk_gmem *m, uint64_t addr, const void *src, size_t len)
{
    if (!vk_gmem_valid(m, addr, len)) {
        m->faults++;
        return VK_ERANGE;
    }
    if (len > 0) {
        uint64_t rs = region_size(m->size), first = addr / rs, last = (addr + len - 1) / rs;
        for (uint64_t i = first; i <= last; i++)
            m->written |= 1ull << i;
        memcpy(m->bytes + addr, src, len);
    }
    return VK_OK;
}

static uint64_t le_load(const uint8_t *b, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

static void le_store(uint8_t *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++, v >>= 8)
        b[i] = (uint8_t)v;
}

int vk_gmem_read_le16(vk_gmem *m, uint64_t addr, uint16_t *v)
{
    uint8_t b[2];
    int r = vk_gmem_read(m, addr, b, 2);
    if (r == VK_OK)
        *v = (uint16_t)le_load(b, 2);
    return r;
}

int vk_gmem_read_le32(vk_gmem *m, uint64_t addr, uint32_t *v)
{
    uint8_t b[4];
    int r = vk_gmem_read(m, addr, b, 4);
    if (r == VK_OK)
        *v = (uint32_t)le_load(b, 4);
    return r;
}

int vk_gmem_read_le64(vk_gmem *m, uint64_t addr, uint64_t *v)
{
    uint8_t b[8];
    int r = vk_gmem_read(m, addr, b, 8);
    if (r == VK_OK)
        *v = le_load(b, 8);
    return r;
}

int vk_gmem_write_le16(vk_gmem *m, uint64_t addr, uint16_t v)
{
    uint8_t b[2];
    le_store(b, v, 2);
    return vk_gmem_write(m, addr, b, 2);
}

int vk_gmem_write_le32(vk_gmem *m, uint64_t addr, uint32_t v)
{
    uint8_t b[4];
    le_store(b, v, 4);
    return vk_gmem_write(m, addr, b, 4);
}

int vk_gmem_write_le64(vk_gmem *m, uint64_t addr, uint64_t v)
{
    uint8_t b[8];
    le_store(b, v, 8);
    return vk_gmem_write(m, addr, b, 8);
}

uint64_t vk_gmem_alloc(vk_gmem *m, uint64_t len, uint64_t align)
{
    if (align == 0 || (align & (align - 1)) != 0)
        return 0;
    uint64_t start = (m->next_free + align - 1) & ~(align - 1);
    if (start < m->next_free || !vk_gmem_valid(m, start, len))
        return 0;
    m->next_free = start + len;
    return start;
}

static void record_fault(vk_dma_fault *f, const char *card, bool tx, uint64_t addr, size_t len)
{
    if (tx)
        f->tx = true;
    else
        f->rx = true;
    snprintf(f->msg, sizeof f->msg, "%s %s DMA outside guest memory: 0x%llx+%zu", card,
             tx ? "TX" : "RX", (unsigned long long)addr, len);
}

bool vk_gmem_dma_read(vk_gmem *m, vk_dma_fault *f, const char *card, bool tx, uint64_t addr,
                      void *dst, size_t len)
{
    if (vk_gmem_read(m, addr, dst, len) == VK_OK)
        return true;
    record_fault(f, card, tx, addr, len);
    return false;
}

bool vk_gmem_dma_write(vk_gmem *m, vk_dma_fault *f, const char *card, bool tx, uint64_t addr,
                       const void *src, size_t len)
{
    if (vk_gmem_write(m, addr, src, len) == VK_OK)
        return true;
    record_fault(f, card, tx, addr, len);
    return false;
}

bool vk_dma_fault_report(const vk_dma_fault *f, const char **msg)
{
    if (msg != NULL)
        *msg = f->msg;
    return f->rx || f->tx;
}
