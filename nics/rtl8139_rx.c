/*
 * The rtl8139 card's receive side (the rest of the card is in rtl8139.c):
 * can_receive, QEMU's RX filter (AAP, APM, AB, AM with the CRC hash over
 * MAR0-7), the legacy RX ring buffer with its 4-byte header and CAPR/CBR,
 * and the C+ RX descriptor ring with VLAN tag stripping.  Where we differ
 * from QEMU is listed at the top of rtl8139.c.
 */
#include "core/error.h"
#include "core/net.h"
#include "nics/rtl8139_priv.h"
#include "wire/buf.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"

#include <stdlib.h>
#include <string.h>

#define RTL_MIN_FRAME 60
/* Room the legacy ring must have for can_receive(): the longest VLAN frame
 * (1518 bytes) with its header and CRC, rounded to the 4-byte alignment. */
#define RTL_RX_ROOM 1528

static bool rx_enabled(const vk_rtl8139 *s)
{
    return (s->cr & VK_RTL_CR_RE) != 0;
}

static bool cp_rx_mode(const vk_rtl8139 *s)
{
    return (s->cpcr & VK_RTL_CPCR_RXENB) != 0;
}

static uint64_t cp_rx_ring(const vk_rtl8139 *s)
{
    return (uint64_t)s->rdsar_hi << 32 | s->rdsar_lo;
}

/* Free bytes of the legacy ring: an empty ring (CBR == CAPR + 16) has all
 * of them. */
static uint32_t rx_ring_free(const vk_rtl8139 *s)
{
    uint32_t n = s->rx_buf_size;
    uint32_t avail = (n + s->rx_read - s->rx_write) & (n - 1);
    return avail == 0 ? n : avail;
}

static bool cp_rx_desc_owned(vk_rtl8139 *s)
{
    uint64_t d = cp_rx_ring(s) + (uint64_t)s->cp_rx_desc * VK_RTL_DESC_SIZE;
    uint32_t opts1;
    if (!vk_gmem_valid(&s->mem, d, 4))
        return true; /* receive() will hit the fault and report it */
    if (vk_gmem_read_le32(&s->mem, d, &opts1) != VK_OK)
        return true;
    return (opts1 & VK_RTL_DESC_OWN) != 0;
}

bool vk_rtl_can_receive(vk_port *p)
{
    vk_rtl8139 *s = rtl_of(p);
    if (!rx_enabled(s))
        return false;
    if (s->fault.rx)
        return true; /* frames are dropped with the reason, not held */
    if (cp_rx_mode(s))
        return cp_rx_ring(s) != 0 && cp_rx_desc_owned(s);
    return rx_ring_free(s) > RTL_RX_ROOM;
}

void vk_rtl_rx_maybe_flush(vk_rtl8139 *s)
{
    if (vk_rtl_can_receive(s->port))
        vk_port_flush(s->port);
}

/* The destination's class, as the RX header's BAR/MAR/PAM bits; 0 for a
 * unicast to another address. */
static uint16_t rx_dest_class(const vk_rtl8139 *s, const uint8_t *dst)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (memcmp(dst, bcast, 6) == 0)
        return VK_RTL_RX_BAR;
    if (dst[0] & 1)
        return VK_RTL_RX_MAR;
    if (memcmp(dst, s->phys, 6) == 0)
        return VK_RTL_RX_PAM;
    return 0;
}

/* QEMU's filter, in its order: AAP takes all, else each class needs its bit
 * (and a multicast its bit in MAR0-7 too). */
static bool rx_accept(const vk_rtl8139 *s, const uint8_t *dst, uint16_t cls)
{
    if (s->rcr & VK_RTL_RCR_AAP)
        return true;
    switch (cls) {
    case VK_RTL_RX_BAR:
        return (s->rcr & VK_RTL_RCR_AB) != 0;
    case VK_RTL_RX_MAR: {
        if (!(s->rcr & VK_RTL_RCR_AM))
            return false;
        unsigned idx = vk_eth_mcast_hash6(dst);
        return (s->mult[idx >> 3] >> (idx & 7)) & 1;
    }
    case VK_RTL_RX_PAM:
        return (s->rcr & VK_RTL_RCR_APM) != 0;
    default:
        return false;
    }
}

/* Writes len bytes at CBR.  With RCR.WRAP set (and a ring under 64 KiB) the
 * card writes past the end into the driver's spare room; otherwise it
 * continues at the start of the ring. */
static bool rx_ring_write(vk_rtl8139 *s, const uint8_t *src, size_t len)
{
    uint32_t n = s->rx_buf_size;
    uint64_t at = s->rx_write;
    bool linear = n < 65536 && (s->rcr & VK_RTL_RCR_WRAP);
    if (!linear && at + len > n) {
        size_t first = n - at;
        if (!vk_rtl_dma_write(s, false, (uint64_t)s->rbstart + at, src, first) ||
            !vk_rtl_dma_write(s, false, s->rbstart, src + first, len - first))
            return false;
        s->rx_write = (uint32_t)(len - first);
        return true;
    }
    if (!vk_rtl_dma_write(s, false, (uint64_t)s->rbstart + at, src, len))
        return false;
    s->rx_write = (uint32_t)(at + len);
    return true;
}

/* The legacy path: header (status, length with CRC), frame, CRC. */
static int rx_legacy(vk_rtl8139 *s, const uint8_t *buf, size_t size, uint16_t cls,
                     const char **why)
{
    size_t record = (size + 8 + 3) & ~(size_t)3;
    if (record >= rx_ring_free(s)) {
        s->mpc++;
        vk_rtl_raise(s, VK_RTL_INT_RXOVW);
        *why = "rtl8139 RX: no room in the RX ring";
        return VK_EAGAIN;
    }
    uint8_t hdr[4], crc[4];
    vk_put_le32(hdr, (uint32_t)cls | VK_RTL_RX_ROK | (uint32_t)(size + 4) << 16);
    vk_put_le32(crc, vk_eth_fcs(buf, size));
    if (!rx_ring_write(s, hdr, 4) || !rx_ring_write(s, buf, size) || !rx_ring_write(s, crc, 4)) {
        *why = "rtl8139 RX DMA outside guest memory";
        return VK_ERANGE;
    }
    s->rx_write = ((s->rx_write + 3) & ~3u) & (s->rx_buf_size - 1);
    return VK_OK;
}

static uint32_t cp_class_bits(uint16_t cls)
{
    switch (cls) {
    case VK_RTL_RX_BAR:
        return VK_RTL_RXD_BAR;
    case VK_RTL_RX_MAR:
        return VK_RTL_RXD_MAR;
    case VK_RTL_RX_PAM:
        return VK_RTL_RXD_PAM;
    default:
        return 0;
    }
}

/* The C+ path: the whole frame into the current descriptor's buffer (no
 * scatter, as QEMU), the tag stripped when CPCR.RxVLAN asks. */
static int rx_cplus(vk_rtl8139 *s, const uint8_t *buf, size_t size, uint16_t cls,
                    const char **why)
{
    uint64_t d = cp_rx_ring(s) + (uint64_t)s->cp_rx_desc * VK_RTL_DESC_SIZE;
    rtl_cp_desc desc;
    *why = "rtl8139 RX DMA outside guest memory";
    if (!vk_rtl_cp_desc_read(s, false, d, &desc))
        return VK_ERANGE;
    uint32_t opts1 = desc.opts1, opts2 = desc.opts2;
    uint64_t addr = desc.addr;
    if (!(opts1 & VK_RTL_DESC_OWN)) {
        s->mpc++;
        vk_rtl_raise(s, VK_RTL_INT_RXOVW);
        *why = "rtl8139 RX: no RX descriptor owned by the card";
        return VK_EAGAIN;
    }
    /* buf has 4 zero bytes of tailroom past a padded frame (see receive) */
    uint8_t *copy = NULL;
    opts2 &= ~(VK_RTL_RXD_TAVA | 0xffffu);
    if ((s->cpcr & VK_RTL_CPCR_RXVLAN) && size >= VK_ETH_VLAN_HLEN &&
        vk_get_be16(buf + 12) == VK_ETHERTYPE_VLAN) {
        copy = malloc(size);
        if (copy == NULL) {
            *why = "out of memory";
            return VK_ENOMEM;
        }
        memcpy(copy, buf, 12);
        memcpy(copy + 12, buf + 16, size - 16);
        memset(copy + size - 4, 0, 4);
        opts2 |= VK_RTL_RXD_TAVA | (uint32_t)buf[14] | (uint32_t)buf[15] << 8;
        size -= 4;
        if (size < RTL_MIN_FRAME)
            size = RTL_MIN_FRAME;
        buf = copy;
    }
    int r = VK_OK;
    uint8_t crc[4];
    vk_put_le32(crc, vk_eth_fcs(buf, size));
    if (size + 4 > (opts1 & VK_RTL_RXD_SIZE_MASK)) {
        s->mpc++;
        vk_rtl_raise(s, VK_RTL_INT_RXOVW);
        *why = "rtl8139 RX: frame larger than the RX descriptor buffer";
        r = VK_EAGAIN;
    } else if (!vk_rtl_dma_write(s, false, addr, buf, size) ||
               !vk_rtl_dma_write(s, false, addr + size, crc, 4)) {
        r = VK_ERANGE;
    }
    free(copy);
    if (r != VK_OK)
        return r;
    opts1 &= ~(VK_RTL_DESC_OWN | VK_RTL_RXD_SIZE_MASK | VK_RTL_RXD_BAR | VK_RTL_RXD_PAM |
               VK_RTL_RXD_MAR);
    opts1 |= VK_RTL_DESC_FS | VK_RTL_DESC_LS | cp_class_bits(cls) | (uint32_t)(size + 4);
    uint8_t wb[8];
    vk_put_le32(wb, opts1);
    vk_put_le32(wb + 4, opts2);
    /* opts2 first, then opts1 (which hands the descriptor back) */
    if (!vk_rtl_dma_write(s, false, d + 4, wb + 4, 4) || !vk_rtl_dma_write(s, false, d, wb, 4))
        return VK_ERANGE;
    s->cp_rx_desc = vk_rtl_cp_next(s->cp_rx_desc, opts1);
    return VK_OK;
}

int vk_rtl_receive(vk_port *p, vk_frame *f)
{
    vk_rtl8139 *s = rtl_of(p);
    /* short frames are padded with zeros, and 4 bytes of tailroom kept for
     * a tag that is stripped later (QEMU's MIN_BUF_SIZE + VLAN_HLEN) */
    uint8_t small[RTL_MIN_FRAME + 4];
    const uint8_t *buf = f->data;
    size_t size = f->len;
    if (s->fault.rx) {
        vk_port_drop(p, f, "rtl8139 RX in DMA error state");
        return VK_EDROP;
    }
    if (!rx_enabled(s)) {
        vk_port_drop(p, f, "rtl8139 RX: receiver disabled");
        return VK_EDROP;
    }
    if (size < sizeof small) {
        memset(small, 0, sizeof small);
        memcpy(small, f->data, size);
        buf = small;
        if (size < RTL_MIN_FRAME)
            size = RTL_MIN_FRAME;
    }
    uint16_t cls = rx_dest_class(s, buf);
    if (!rx_accept(s, buf, cls)) {
        vk_port_drop(p, f, "rtl8139 RX filter: not for us");
        return VK_EDROP;
    }
    const char *why = NULL;
    int r = cp_rx_mode(s) ? rx_cplus(s, buf, size, cls, &why) : rx_legacy(s, buf, size, cls, &why);
    if (r != VK_OK) {
        vk_port_drop(p, f, why);
        return r;
    }
    vk_rtl_raise(s, VK_RTL_INT_ROK);
    return VK_OK;
}
