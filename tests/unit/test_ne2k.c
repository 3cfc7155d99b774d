/* The ne2k_pci model: register pages, remote DMA and its bounds, the RX
 * filter, the receive ring (header, wrap-around, ring full), backpressure,
 * transmit and hostile register values, through the port API, the I/O
 * ports and the guest-driver half. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libnet.h>

#include "core/net.h"
#include "core/options.h"
#include "helpers/libnet_frames.h"
#include "helpers/nic_bench.h"
#include "wire/ethernet.h"
#include "nics/ne2k.h"
#include "nics/nic.h"

static const vk_mac mac0 = {{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};

typedef vk_nic_bench bench;

/* One card whose peer is a capturing test port. */
static bench *bench_new(const char *opts)
{
    return vk_nic_bench_new(&vk_nic_ne2k_pci, &mac0, opts);
}
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* ---- register access as a guest does it ---------------------------------- */

static uint8_t rreg(bench *b, uint32_t reg)
{
    return (uint8_t)vk_ne2k_io_read(b->nic, reg, 1);
}

static void wreg(bench *b, uint32_t reg, uint8_t v)
{
    vk_ne2k_io_write(b->nic, reg, v, 1);
}

/* Selects a register page without starting or stopping anything. */
static void page(bench *b, unsigned pg)
{
    uint8_t cr = rreg(b, VK_NE2K_CR) & (VK_NE2K_CR_STP | VK_NE2K_CR_STA);
    wreg(b, VK_NE2K_CR, (uint8_t)(cr | VK_NE2K_CR_RD_ABORT | pg << VK_NE2K_CR_PS_SHIFT));
}

static void dma_program(bench *b, uint16_t addr, uint16_t count, uint8_t mode)
{
    page(b, 0);
    wreg(b, VK_NE2K_RBCR0, (uint8_t)count);
    wreg(b, VK_NE2K_RBCR1, (uint8_t)(count >> 8));
    wreg(b, VK_NE2K_RSAR0, (uint8_t)addr);
    wreg(b, VK_NE2K_RSAR1, (uint8_t)(addr >> 8));
    uint8_t run = rreg(b, VK_NE2K_CR) & (VK_NE2K_CR_STP | VK_NE2K_CR_STA);
    wreg(b, VK_NE2K_CR, (uint8_t)(mode | run));
}

/* Remote DMA in byte mode (DCR.WTS clear), one byte per data-port read. */
static void dma_read_bytes(bench *b, uint16_t addr, uint8_t *buf, size_t n)
{
    dma_program(b, addr, (uint16_t)n, VK_NE2K_CR_RD_READ);
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)vk_ne2k_io_read(b->nic, VK_NE2K_DATA, 1);
}

static void dma_write_bytes(bench *b, uint16_t addr, const uint8_t *buf, size_t n)
{
    dma_program(b, addr, (uint16_t)n, VK_NE2K_CR_RD_WRITE);
    for (size_t i = 0; i < n; i++)
        vk_ne2k_io_write(b->nic, VK_NE2K_DATA, buf[i], 1);
}

/* Programs a ring by hand (guest-driver=off): byte-wide DMA, PAR = mac0,
 * accept broadcast, started. */
static void manual_ring(bench *b, uint8_t pstart, uint8_t pstop)
{
    wreg(b, VK_NE2K_CR, VK_NE2K_CR_STP | VK_NE2K_CR_RD_ABORT);
    wreg(b, VK_NE2K_DCR, 0x48);
    wreg(b, VK_NE2K_PSTART, pstart);
    wreg(b, VK_NE2K_PSTOP, pstop);
    wreg(b, VK_NE2K_BNRY, (uint8_t)(pstop - 1));
    page(b, 1);
    for (unsigned i = 0; i < 6; i++)
        wreg(b, VK_NE2K_PAR0 + i, mac0.b[i]);
    wreg(b, VK_NE2K_CURR, pstart);
    page(b, 0);
    wreg(b, VK_NE2K_RCR, VK_NE2K_RCR_AB);
    wreg(b, VK_NE2K_TCR, 0);
    wreg(b, VK_NE2K_CR, VK_NE2K_CR_STA | VK_NE2K_CR_RD_ABORT);
}

static uint8_t read_curr(bench *b)
{
    page(b, 1);
    uint8_t v = rreg(b, VK_NE2K_CURR);
    page(b, 0);
    return v;
}

/* ---- registers ----------------------------------------------------------- */

static void test_power_on_card_is_stopped_with_rst_and_rtl8029_id(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    assert_int_equal(rreg(b, VK_NE2K_CR), VK_NE2K_CR_STP | VK_NE2K_CR_RD_ABORT);
    assert_true(rreg(b, VK_NE2K_ISR) & VK_NE2K_ISR_RST);
    assert_int_equal(rreg(b, VK_NE2K_ID0), 0x50);
    assert_int_equal(rreg(b, VK_NE2K_ID1), 0x43);
    assert_false(b->nic->ops->can_receive(b->nic));
    /* ports the card does not decode read as all ones */
    assert_int_equal(vk_ne2k_io_read(b->nic, 0x14, 1), 0xff);
    assert_int_equal(vk_ne2k_io_read(b->nic, VK_NE2K_ISR, 2), 0xffff);
    vk_nic_bench_free(b);
}

static void test_page_bits_select_register_banks(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    wreg(b, VK_NE2K_PSTART, 0x50);
    wreg(b, VK_NE2K_PSTOP, 0x70);
    wreg(b, VK_NE2K_TPSR, 0x40);
    wreg(b, VK_NE2K_RCR, VK_NE2K_RCR_AB | VK_NE2K_RCR_AM);
    wreg(b, VK_NE2K_TCR, VK_NE2K_TCR_LB_INTERNAL);
    wreg(b, VK_NE2K_DCR, 0x49);
    wreg(b, VK_NE2K_IMR, 0x3f);
    /* page 0 reads other registers at those offsets */
    assert_int_equal(rreg(b, VK_NE2K_PSTART), 0); /* CLDA0 */
    page(b, 1);
    for (unsigned i = 0; i < 6; i++)
        wreg(b, VK_NE2K_PAR0 + i, (uint8_t)(0xa0 + i));
    wreg(b, VK_NE2K_CURR, 0x55);
    for (unsigned i = 0; i < 8; i++)
        wreg(b, VK_NE2K_MAR0 + i, (uint8_t)(1u << i));
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(rreg(b, VK_NE2K_PAR0 + i), 0xa0 + i);
    assert_int_equal(rreg(b, VK_NE2K_CURR), 0x55);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(rreg(b, VK_NE2K_MAR0 + i), 1u << i);
    page(b, 2);
    assert_int_equal(rreg(b, VK_NE2K_PSTART), 0x50);
    assert_int_equal(rreg(b, VK_NE2K_PSTOP), 0x70);
    assert_int_equal(rreg(b, VK_NE2K_TPSR), 0x40);
    assert_int_equal(rreg(b, VK_NE2K_RCR), VK_NE2K_RCR_AB | VK_NE2K_RCR_AM);
    assert_int_equal(rreg(b, VK_NE2K_TCR), VK_NE2K_TCR_LB_INTERNAL);
    assert_int_equal(rreg(b, VK_NE2K_DCR), 0x49);
    assert_int_equal(rreg(b, VK_NE2K_IMR), 0x3f);
    wreg(b, VK_NE2K_PSTART, 0x99); /* page 2 is read-only */
    assert_int_equal(rreg(b, VK_NE2K_PSTART), 0x50);
    page(b, 3);
    assert_int_equal(rreg(b, 0x05), 0x40); /* RTL8029 CONFIG2: 10BaseT */
    page(b, 0);
    wreg(b, VK_NE2K_BNRY, 0x66);
    assert_int_equal(rreg(b, VK_NE2K_BNRY), 0x66);
    vk_nic_bench_free(b);
}

static void test_isr_write_one_clears_and_only_start_clears_rst(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    wreg(b, VK_NE2K_ISR, 0xff);
    assert_int_equal(rreg(b, VK_NE2K_ISR), VK_NE2K_ISR_RST);
    wreg(b, VK_NE2K_CR, VK_NE2K_CR_STA | VK_NE2K_CR_RD_ABORT);
    assert_int_equal(rreg(b, VK_NE2K_ISR), 0);
    dma_program(b, 0, 0, VK_NE2K_CR_RD_READ); /* zero count: RDC at once */
    assert_int_equal(rreg(b, VK_NE2K_ISR), VK_NE2K_ISR_RDC);
    wreg(b, VK_NE2K_ISR, VK_NE2K_ISR_PRX); /* other bits stay */
    assert_int_equal(rreg(b, VK_NE2K_ISR), VK_NE2K_ISR_RDC);
    wreg(b, VK_NE2K_ISR, VK_NE2K_ISR_RDC);
    assert_int_equal(rreg(b, VK_NE2K_ISR), 0);
    wreg(b, VK_NE2K_CR, VK_NE2K_CR_STP | VK_NE2K_CR_RD_ABORT);
    assert_int_equal(rreg(b, VK_NE2K_ISR), VK_NE2K_ISR_RST);
    vk_nic_bench_free(b);
}

static void test_imr_gates_the_interrupt_line(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    wreg(b, VK_NE2K_CR, VK_NE2K_CR_STA | VK_NE2K_CR_RD_ABORT);
    dma_program(b, 0, 0, VK_NE2K_CR_RD_READ);
    assert_false(vk_ne2k_irq_line(b->nic));
    wreg(b, VK_NE2K_IMR, VK_NE2K_ISR_RDC);
    assert_true(vk_ne2k_irq_line(b->nic));
    wreg(b, VK_NE2K_ISR, VK_NE2K_ISR_RDC);
    assert_false(vk_ne2k_irq_line(b->nic));
    vk_nic_bench_free(b);
}

static void test_prom_holds_the_mac_doubled_for_word_reads(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    wreg(b, VK_NE2K_DCR, 0x49); /* word-wide */
    dma_program(b, 0, 32, VK_NE2K_CR_RD_READ);
    uint16_t w[16];
    for (unsigned i = 0; i < 16; i++)
        w[i] = (uint16_t)vk_ne2k_io_read(b->nic, VK_NE2K_DATA, 2);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(w[i], mac0.b[i] * 0x101);
    assert_int_equal(w[14], 0x5757);
    assert_int_equal(w[15], 0x5757);
    assert_true(rreg(b, VK_NE2K_ISR) & VK_NE2K_ISR_RDC);
    /* the transfer is over: the data port reads as all ones */
    assert_int_equal(vk_ne2k_io_read(b->nic, VK_NE2K_DATA, 2), 0xffff);
    assert_false(vk_ne2k_error(b->nic, NULL));
    vk_nic_bench_free(b);
}

static void test_driver_brings_the_card_up_as_linux(void **state)
{
    (void)state;
    bench *b = bench_new("");
    uint8_t cr = rreg(b, VK_NE2K_CR);
    assert_false(cr & VK_NE2K_CR_STP);
    assert_true(cr & VK_NE2K_CR_STA);
    assert_int_equal(rreg(b, VK_NE2K_BNRY), 0x7f);
    page(b, 1);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(rreg(b, VK_NE2K_PAR0 + i), mac0.b[i]);
    assert_int_equal(rreg(b, VK_NE2K_CURR), 0x4c);
    /* all-hosts (31), all-nodes (62), solicited-node of mac0 (2) */
    static const uint8_t mar[8] = {0x04, 0, 0, 0x80, 0, 0, 0, 0x40};
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(rreg(b, VK_NE2K_MAR0 + i), mar[i]);
    page(b, 2);
    assert_int_equal(rreg(b, VK_NE2K_PSTART), 0x4c);
    assert_int_equal(rreg(b, VK_NE2K_PSTOP), 0x80);
    assert_int_equal(rreg(b, VK_NE2K_TPSR), 0x40);
    assert_int_equal(rreg(b, VK_NE2K_RCR), VK_NE2K_RCR_AB | VK_NE2K_RCR_AM);
    assert_int_equal(rreg(b, VK_NE2K_TCR), 0);
    assert_int_equal(rreg(b, VK_NE2K_DCR), 0x49);
    assert_int_equal(rreg(b, VK_NE2K_IMR), 0x3f);
    page(b, 0);
    assert_true(b->nic->ops->can_receive(b->nic));
    vk_nic_bench_free(b);
}

static void test_mcast_index_is_the_top_six_crc_bits(void **state)
{
    (void)state;
    /* expected values from zlib: bitreverse(~crc32(addr)) >> 26 */
    static const struct {
        uint8_t mac[6];
        unsigned idx;
    } cases[] = {
        {{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}, 62}, {{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}, 31},
        {{0x33, 0x33, 0xff, 0x12, 0x34, 0x56}, 2},  {{0x33, 0x33, 0x00, 0x00, 0x00, 0xfb}, 46},
        {{0x01, 0x00, 0x5e, 0x00, 0x12, 0xab}, 54},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(vk_eth_mcast_hash6(cases[i].mac), cases[i].idx);
}

static void test_describe_names_model_and_mac(void **state)
{
    (void)state;
    vk_nic_bench_check_describe(&vk_nic_ne2k_pci, &mac0, "ne2k_pci mac=52:54:00:12:34:56");
}

static void test_bad_model_keys_are_reported(void **state)
{
    (void)state;
    const char *const bad[] = {"ne2k_pci,rx-ring-pages=6", "ne2k_pci,rx-ring-pages=117",
                               "ne2k_pci,guest-driver=maybe", "ne2k_pci,rx-refill-delay=-1"};
    vk_nic_bench_check_bad_keys(&vk_nic_ne2k_pci, &mac0, bad, sizeof bad / sizeof bad[0]);
}

/* ---- RX filter ----------------------------------------------------------- */

static void expect_rx(bench *b, const uint8_t dst[6], bool accepted)
{
    vk_nic_bench_expect_rx(b, dst, accepted, "ne2k_pci RX filter: not for us");
}

static void set_rcr(bench *b, uint8_t rcr)
{
    page(b, 0);
    wreg(b, VK_NE2K_RCR, rcr);
}

static void test_rx_unicast_needs_exact_par_match(void **state)
{
    (void)state;
    bench *b = bench_new("");
    const uint8_t other[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x57};
    expect_rx(b, mac0.b, true);
    expect_rx(b, other, false);
    page(b, 1);
    wreg(b, VK_NE2K_PAR0 + 5, 0x57);
    page(b, 0);
    expect_rx(b, other, true);
    expect_rx(b, mac0.b, false);
    vk_nic_bench_free(b);
}

static void test_rx_broadcast_needs_ab(void **state)
{
    (void)state;
    bench *b = bench_new("");
    expect_rx(b, bcast, true);
    set_rcr(b, VK_NE2K_RCR_AM);
    expect_rx(b, bcast, false);
    vk_nic_bench_free(b);
}

static void test_rx_multicast_needs_am_and_its_mar_bit(void **state)
{
    (void)state;
    bench *b = bench_new("");
    const uint8_t mc[6] = {0x33, 0x33, 0, 0, 0, 0xfb}; /* index 46: MAR5 bit 6 */
    expect_rx(b, mc, false);
    page(b, 1);
    wreg(b, VK_NE2K_MAR0 + 5, 0x40);
    page(b, 0);
    expect_rx(b, mc, true);
    set_rcr(b, VK_NE2K_RCR_AB);
    expect_rx(b, mc, false);
    vk_nic_bench_free(b);
}

static void test_rx_groups_a_linux_guest_joins_pass_the_mar(void **state)
{
    (void)state;
    vk_nic_bench_check_guest_groups_pass(&vk_nic_ne2k_pci, &mac0, "");
}

static void test_rx_promiscuous_accepts_everything(void **state)
{
    (void)state;
    bench *b = bench_new("");
    const uint8_t uc[6] = {0x02, 1, 2, 3, 4, 5}, mc[6] = {0x33, 0x33, 0, 0, 0, 0xfb};
    set_rcr(b, VK_NE2K_RCR_PRO);
    expect_rx(b, uc, true);
    expect_rx(b, mc, true);
    expect_rx(b, bcast, true); /* even without AB */
    vk_nic_bench_free(b);
}

static void test_rx_monitor_mode_counts_missed_and_stores_nothing(void **state)
{
    (void)state;
    bench *b = bench_new("");
    set_rcr(b, VK_NE2K_RCR_AB | VK_NE2K_RCR_MON);
    uint8_t f[80];
    vk_test_frame_fill(f, sizeof f, mac0.b, 1);
    vk_nic_bench_inject(b, f, sizeof f);
    vk_nic_bench_inject(b, f, sizeof f);
    assert_int_equal(b->guest.n, 0);
    assert_string_equal(b->dropped.reason, "ne2k_pci RX: monitor mode (RCR.MON)");
    assert_int_equal(read_curr(b), 0x4c);
    assert_int_equal(rreg(b, VK_NE2K_CNTR2), 2);
    assert_int_equal(rreg(b, VK_NE2K_CNTR2), 0); /* cleared by reading */
    vk_nic_bench_free(b);
}

static void test_rx_short_frame_is_padded_to_60(void **state)
{
    (void)state;
    vk_nic_bench_check_short_frame_padded(&vk_nic_ne2k_pci, &mac0, "");
}

static void test_rx_frames_longer_than_1518_are_dropped(void **state)
{
    (void)state;
    bench *b = bench_new("");
    uint8_t f[1600];
    vk_test_frame_fill(f, 1518, mac0.b, 3);
    vk_nic_bench_inject(b, f, 1518);
    assert_int_equal(b->guest.n, 1);
    assert_memory_equal(b->guest.data[0], f, 1518);
    vk_test_frame_fill(f, 1519, mac0.b, 3);
    vk_nic_bench_inject(b, f, 1519);
    vk_nic_bench_inject(b, f, 1600);
    assert_int_equal(b->guest.n, 1);
    assert_int_equal(b->dropped.n, 2);
    assert_string_equal(b->dropped.reason, "ne2k_pci RX: frame too long");
    vk_nic_bench_free(b);
}

/* ---- the receive ring ---------------------------------------------------- */

static void test_rx_ring_header_holds_status_next_page_and_length(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    manual_ring(b, 0x50, 0x60);
    uint8_t f[100];
    vk_test_frame_fill(f, sizeof f, mac0.b, 6);
    vk_nic_bench_inject(b, f, sizeof f);
    assert_int_equal(read_curr(b), 0x51); /* 4 + 100 + 4 (CRC room) fit a page */
    assert_true(rreg(b, VK_NE2K_ISR) & VK_NE2K_ISR_PRX);
    uint8_t got[4 + sizeof f];
    dma_read_bytes(b, 0x5000, got, sizeof got);
    assert_int_equal(got[0], VK_NE2K_RSR_PRX);
    assert_int_equal(got[1], 0x51);
    assert_int_equal(got[2] | got[3] << 8, 104);
    assert_memory_equal(got + 4, f, sizeof f);
    assert_int_equal(rreg(b, VK_NE2K_RSR), VK_NE2K_RSR_PRX);
    /* a broadcast frame of 300 bytes: PHY set, two pages */
    uint8_t g[300];
    vk_test_frame_fill(g, sizeof g, bcast, 7);
    vk_nic_bench_inject(b, g, sizeof g);
    assert_int_equal(read_curr(b), 0x53);
    dma_read_bytes(b, 0x5100, got, 4);
    assert_int_equal(got[0], VK_NE2K_RSR_PRX | VK_NE2K_RSR_PHY);
    assert_int_equal(got[1], 0x53);
    assert_int_equal(got[2] | got[3] << 8, 304);
    vk_nic_bench_free(b);
}

static void test_rx_ring_wraps_from_pstop_to_pstart(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    manual_ring(b, 0x50, 0x58);
    page(b, 1);
    wreg(b, VK_NE2K_CURR, 0x56);
    page(b, 0);
    wreg(b, VK_NE2K_BNRY, 0x55);
    uint8_t f[600], got[600], hdr[4];
    vk_test_frame_fill(f, sizeof f, mac0.b, 8);
    vk_nic_bench_inject(b, f, sizeof f);
    /* 4 + 600 + 4 bytes take 3 pages: 0x56, 0x57, then 0x50 */
    assert_int_equal(read_curr(b), 0x51);
    dma_read_bytes(b, 0x5600, hdr, 4);
    assert_int_equal(hdr[1], 0x51);
    /* a remote read that crosses PSTOP continues at PSTART, as drivers expect */
    dma_read_bytes(b, 0x5604, got, sizeof got);
    assert_memory_equal(got, f, sizeof f);
    dma_read_bytes(b, 0x5000, got, 600 - 508);
    assert_memory_equal(got, f + 508, 600 - 508);
    assert_false(vk_ne2k_error(b->nic, NULL));
    vk_nic_bench_free(b);
}

static void test_rx_through_the_driver_survives_many_wraps(void **state)
{
    (void)state;
    bench *b = bench_new("rx-ring-pages=7");
    for (unsigned i = 0; i < 40; i++) {
        size_t len = 60 + (i * 157) % 1455;
        uint8_t f[1514];
        vk_test_frame_fill(f, len, mac0.b, (uint8_t)i);
        vk_nic_bench_inject(b, f, len);
        assert_int_equal(b->guest.n, i + 1);
        assert_int_equal(b->guest.len[i], len);
        assert_memory_equal(b->guest.data[i], f, len);
    }
    assert_int_equal(vk_ne2k_driver_stats_of(b->nic)->rx_errors, 0);
    assert_int_equal(b->dropped.n, 0);
    vk_nic_bench_free(b);
}

/* fuzz.nic_ne2k found it: with CURR written outside the ring, the driver's
 * walk never met it and re-read the ring's stale frames round after round
 * (70,000 frames from one interrupt).  Now it counts an error and reads
 * nothing until CURR is back inside. */
static void test_driver_reads_nothing_while_curr_is_outside_its_ring(void **state)
{
    (void)state;
    bench *b = bench_new("rx-ring-pages=7");
    uint8_t f[60];
    for (unsigned i = 0; i < 7; i++) { /* the ring is full of old frames */
        vk_test_frame_fill(f, sizeof f, mac0.b, (uint8_t)i);
        vk_nic_bench_inject(b, f, sizeof f);
    }
    assert_int_equal(b->guest.n, 7);
    uint8_t curr = read_curr(b);
    /* a program widens the card's ring behind the driver's back (the
     * driver's ring is pages 76..82) and moves CURR to page 102 */
    wreg(b, VK_NE2K_PSTOP, 110);
    page(b, 1);
    wreg(b, VK_NE2K_CURR, 102);
    page(b, 0);
    /* the card stores this one at page 102 and raises PRX */
    vk_test_frame_fill(f, sizeof f, mac0.b, 50);
    vk_nic_bench_inject(b, f, sizeof f);
    vk_ne2k_driver_poll(b->nic);
    assert_int_equal(b->guest.n, 7);
    assert_true(vk_ne2k_driver_stats_of(b->nic)->rx_errors >= 1);
    wreg(b, VK_NE2K_PSTOP, 83);
    page(b, 1);
    wreg(b, VK_NE2K_CURR, curr);
    page(b, 0);
    vk_test_frame_fill(f, sizeof f, mac0.b, 99);
    vk_nic_bench_inject(b, f, sizeof f);
    assert_int_equal(b->guest.n, 8);
    assert_memory_equal(b->guest.data[7], f, sizeof f);
    vk_nic_bench_free(b);
}

/* ---- backpressure -------------------------------------------------------- */

static void test_full_ring_queues_frames_and_flushes_when_bnry_advances(void **state)
{
    (void)state;
    /* 7 pages: after one frame less than a maximal frame's room is left */
    bench *b = vk_nic_bench_check_backpressure(&vk_nic_ne2k_pci, &mac0,
                                               "rx-ring-pages=7,rx-refill-delay=1000000", 1, 1,
                                               1000000);
    assert_true(vk_ne2k_driver_stats_of(b->nic)->bnry_updates >= 4);
    vk_nic_bench_free(b);
}

static void test_queue_limit_overflow_drops_with_reason(void **state)
{
    (void)state;
    vk_nic_bench_check_queue_limit(&vk_nic_ne2k_pci, &mac0,
                                   "rx-ring-pages=7,rx-refill-delay=1000000", 1);
}

static void test_stopped_card_cannot_receive_until_started(void **state)
{
    (void)state;
    bench *b = bench_new("");
    wreg(b, VK_NE2K_CR, VK_NE2K_CR_STP | VK_NE2K_CR_RD_ABORT);
    assert_false(b->nic->ops->can_receive(b->nic));
    uint8_t f[80];
    vk_test_frame_fill(f, sizeof f, mac0.b, 1);
    vk_nic_bench_inject(b, f, sizeof f);
    assert_int_equal(vk_port_queue_len(b->nic), 1);
    wreg(b, VK_NE2K_CR, VK_NE2K_CR_STA | VK_NE2K_CR_RD_ABORT);
    assert_int_equal(vk_port_queue_len(b->nic), 0);
    assert_int_equal(b->guest.n, 1);
    vk_nic_bench_free(b);
}

/* ---- hostile register values -------------------------------------------- */

static void test_pstart_not_below_pstop_means_ring_full(void **state)
{
    (void)state;
    bench *b = bench_new("");
    uint8_t f[80];
    vk_test_frame_fill(f, sizeof f, mac0.b, 1);
    wreg(b, VK_NE2K_PSTART, 0x80);
    assert_false(b->nic->ops->can_receive(b->nic));
    vk_nic_bench_inject(b, f, sizeof f);
    wreg(b, VK_NE2K_PSTART, 0x90);
    vk_nic_bench_inject(b, f, sizeof f);
    assert_int_equal(vk_port_queue_len(b->nic), 2);
    assert_int_equal(b->guest.n, 0);
    wreg(b, VK_NE2K_PSTART, 0x4c);
    assert_int_equal(vk_port_queue_len(b->nic), 0);
    assert_int_equal(b->guest.n, 2);
    vk_nic_bench_free(b);
}

static void test_ring_outside_ram_or_curr_outside_ring_receives_nothing(void **state)
{
    (void)state;
    bench *b = bench_new("");
    wreg(b, VK_NE2K_PSTART, 0x00); /* the PROM and the hole */
    assert_false(b->nic->ops->can_receive(b->nic));
    wreg(b, VK_NE2K_PSTART, 0x4c);
    wreg(b, VK_NE2K_PSTOP, 0xff); /* beyond RAM */
    assert_false(b->nic->ops->can_receive(b->nic));
    wreg(b, VK_NE2K_PSTOP, 0x80);
    assert_true(b->nic->ops->can_receive(b->nic));
    static const uint8_t bad_curr[] = {0x00, 0x4b, 0x80, 0xc0, 0xff};
    for (size_t i = 0; i < sizeof bad_curr; i++) {
        page(b, 1);
        wreg(b, VK_NE2K_CURR, bad_curr[i]);
        page(b, 0);
        assert_false(b->nic->ops->can_receive(b->nic));
    }
    uint8_t f[80];
    vk_test_frame_fill(f, sizeof f, mac0.b, 1);
    vk_nic_bench_inject(b, f, sizeof f);
    assert_int_equal(vk_port_queue_len(b->nic), 1);
    page(b, 1);
    wreg(b, VK_NE2K_CURR, 0x4c);
    page(b, 0);
    assert_int_equal(b->guest.n, 1);
    vk_nic_bench_free(b);
}

/* BNRY far outside the ring makes QEMU's room arithmetic generous; frames
 * may then overwrite unread ones, but never land outside [PSTART, PSTOP). */
static void test_bnry_outside_ring_never_writes_outside_it(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint8_t fill[256], got[256];
    memset(fill, 0xa5, sizeof fill);
    dma_write_bytes(b, 0x4f00, fill, sizeof fill);
    dma_write_bytes(b, 0x5800, fill, sizeof fill);
    manual_ring(b, 0x50, 0x58);
    wreg(b, VK_NE2K_BNRY, 0xff);
    for (unsigned i = 0; i < 20; i++) {
        uint8_t f[1500];
        vk_test_frame_fill(f, 600 + i * 40, mac0.b, (uint8_t)i);
        if (!b->nic->ops->can_receive(b->nic))
            break;
        vk_nic_bench_inject(b, f, 600 + i * 40);
        uint8_t curr = read_curr(b);
        assert_true(curr >= 0x50 && curr < 0x58);
    }
    dma_read_bytes(b, 0x4f00, got, sizeof got);
    assert_memory_equal(got, fill, sizeof fill);
    dma_read_bytes(b, 0x5800, got, sizeof got);
    assert_memory_equal(got, fill, sizeof fill);
    assert_false(vk_ne2k_error(b->nic, NULL));
    vk_nic_bench_free(b);
}

static void test_receive_called_on_a_full_ring_sets_ovw(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    manual_ring(b, 0x50, 0x57); /* 7 pages: one frame fills it */
    uint8_t f[80];
    vk_test_frame_fill(f, sizeof f, mac0.b, 1);
    vk_nic_bench_inject(b, f, sizeof f);
    assert_false(b->nic->ops->can_receive(b->nic));
    vk_frame *fr = vk_frame_new(f, sizeof f);
    assert_non_null(fr);
    assert_true(b->nic->ops->receive(b->nic, fr) < 0); /* ignoring can_receive */
    vk_frame_unref(fr);
    assert_true(rreg(b, VK_NE2K_ISR) & VK_NE2K_ISR_OVW);
    assert_string_equal(b->dropped.reason, "ne2k_pci RX: receive ring full");
    assert_int_equal(rreg(b, VK_NE2K_CNTR2), 1);
    assert_int_equal(read_curr(b), 0x51);
    vk_nic_bench_free(b);
}

/* ---- remote DMA bounds --------------------------------------------------- */

static void test_remote_dma_read_off_the_end_stops_and_sets_error(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    wreg(b, VK_NE2K_CR, VK_NE2K_CR_STA | VK_NE2K_CR_RD_ABORT);
    wreg(b, VK_NE2K_DCR, 0x49);
    wreg(b, VK_NE2K_ISR, 0xff);
    dma_program(b, 0xbffc, 8, VK_NE2K_CR_RD_READ);
    assert_int_equal(vk_ne2k_io_read(b->nic, VK_NE2K_DATA, 4), 0);
    assert_false(vk_ne2k_error(b->nic, NULL));
    assert_int_equal(vk_ne2k_io_read(b->nic, VK_NE2K_DATA, 4), 0xffffffffu);
    const char *msg;
    assert_true(vk_ne2k_error(b->nic, &msg));
    assert_string_equal(msg, "ne2k_pci remote DMA read outside card memory: 0xc000+4");
    assert_false(rreg(b, VK_NE2K_ISR) & VK_NE2K_ISR_RDC); /* stopped, not completed */
    assert_int_equal(vk_ne2k_io_read(b->nic, VK_NE2K_DATA, 2), 0xffff);
    /* a reset clears the error state */
    (void)vk_ne2k_io_read(b->nic, VK_NE2K_RESET, 1);
    assert_false(vk_ne2k_error(b->nic, NULL));
    vk_nic_bench_free(b);
}

static void test_remote_dma_start_in_hole_or_count_beyond_ram_is_refused(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    wreg(b, VK_NE2K_CR, VK_NE2K_CR_STA | VK_NE2K_CR_RD_ABORT);
    const char *msg;
    dma_program(b, 0x1000, 16, VK_NE2K_CR_RD_READ);
    assert_true(vk_ne2k_error(b->nic, &msg));
    assert_non_null(strstr(msg, "remote DMA read"));
    assert_int_equal(vk_ne2k_io_read(b->nic, VK_NE2K_DATA, 1), 0xff);
    (void)vk_ne2k_io_read(b->nic, VK_NE2K_RESET, 1);
    wreg(b, VK_NE2K_CR, VK_NE2K_CR_STA | VK_NE2K_CR_RD_ABORT);
    dma_program(b, 0x4000, 0x8001, VK_NE2K_CR_RD_WRITE);
    assert_true(vk_ne2k_error(b->nic, &msg));
    assert_non_null(strstr(msg, "remote DMA count"));
    (void)vk_ne2k_io_read(b->nic, VK_NE2K_RESET, 1);
    wreg(b, VK_NE2K_CR, VK_NE2K_CR_STA | VK_NE2K_CR_RD_ABORT);
    dma_program(b, 0xfff0, 0xffff, VK_NE2K_CR_RD_READ);
    assert_true(vk_ne2k_error(b->nic, NULL));
    vk_nic_bench_free(b);
}

static void test_remote_dma_write_to_prom_or_past_ram_is_refused(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    wreg(b, VK_NE2K_CR, VK_NE2K_CR_STA | VK_NE2K_CR_RD_ABORT);
    wreg(b, VK_NE2K_DCR, 0x48);
    const uint8_t junk[4] = {1, 2, 3, 4};
    dma_write_bytes(b, 0x0000, junk, sizeof junk);
    assert_true(vk_ne2k_error(b->nic, NULL));
    uint8_t prom[2];
    dma_read_bytes(b, 0, prom, 2);
    assert_int_equal(prom[0], mac0.b[0]);
    (void)vk_ne2k_io_read(b->nic, VK_NE2K_RESET, 1);
    wreg(b, VK_NE2K_CR, VK_NE2K_CR_STA | VK_NE2K_CR_RD_ABORT);
    wreg(b, VK_NE2K_DCR, 0x48);
    dma_write_bytes(b, 0xbffe, junk, sizeof junk); /* 2 fit, then the end */
    const char *msg;
    assert_true(vk_ne2k_error(b->nic, &msg));
    assert_string_equal(msg, "ne2k_pci remote DMA write outside card memory: 0xc000+1");
    uint8_t got[2];
    dma_read_bytes(b, 0xbffe, got, 2);
    assert_memory_equal(got, junk, 2);
    vk_nic_bench_free(b);
}

/* ---- transmit ------------------------------------------------------------ */

static void start_tx(bench *b, uint8_t tpsr, uint16_t tbcr)
{
    page(b, 0);
    wreg(b, VK_NE2K_TPSR, tpsr);
    wreg(b, VK_NE2K_TBCR0, (uint8_t)tbcr);
    wreg(b, VK_NE2K_TBCR1, (uint8_t)(tbcr >> 8));
    wreg(b, VK_NE2K_CR, VK_NE2K_CR_STA | VK_NE2K_CR_TXP | VK_NE2K_CR_RD_ABORT);
}

static void test_tx_sends_tbcr_bytes_from_tpsr(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    manual_ring(b, 0x4c, 0x80);
    uint8_t f[100];
    vk_test_frame_fill(f, sizeof f, bcast, 2);
    dma_write_bytes(b, 0x4000, f, sizeof f);
    wreg(b, VK_NE2K_ISR, 0xff);
    start_tx(b, 0x40, sizeof f);
    assert_int_equal(b->on_wire.n, 1);
    assert_int_equal(b->on_wire.len[0], sizeof f);
    assert_memory_equal(b->on_wire.data[0], f, sizeof f);
    assert_int_equal(rreg(b, VK_NE2K_TSR), VK_NE2K_TSR_PTX);
    assert_true(rreg(b, VK_NE2K_ISR) & VK_NE2K_ISR_PTX);
    assert_false(rreg(b, VK_NE2K_CR) & VK_NE2K_CR_TXP);
    vk_nic_bench_free(b);
}

static void test_tx_tbcr_zero_or_outside_ram_is_refused_with_txe(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    manual_ring(b, 0x4c, 0x80);
    start_tx(b, 0x40, 0);
    assert_true(rreg(b, VK_NE2K_ISR) & VK_NE2K_ISR_TXE);
    assert_int_equal(rreg(b, VK_NE2K_TSR), VK_NE2K_TSR_ABT);
    assert_false(vk_ne2k_error(b->nic, NULL)); /* nothing was touched */
    const char *msg;
    start_tx(b, 0xbf, 512);
    assert_true(vk_ne2k_error(b->nic, &msg));
    assert_string_equal(msg, "ne2k_pci transmit (TPSR/TBCR) outside card memory: 0xbf00+512");
    start_tx(b, 0x10, 60);
    start_tx(b, 0x40, 0xffff);
    start_tx(b, 0xff, 60);
    assert_int_equal(b->on_wire.n, 0);
    assert_false(rreg(b, VK_NE2K_ISR) & VK_NE2K_ISR_PTX);
    /* the largest transmit is all of RAM, as QEMU allows */
    start_tx(b, 0x40, 0x8000);
    assert_int_equal(b->on_wire.n, 1);
    assert_int_equal(b->on_wire.len[0], 0x8000);
    vk_nic_bench_free(b);
}

static void test_tx_while_stopped_does_nothing(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    wreg(b, VK_NE2K_TPSR, 0x40);
    wreg(b, VK_NE2K_TBCR0, 60);
    wreg(b, VK_NE2K_CR, VK_NE2K_CR_STP | VK_NE2K_CR_TXP | VK_NE2K_CR_RD_ABORT);
    assert_int_equal(b->on_wire.n, 0);
    assert_false(rreg(b, VK_NE2K_ISR) & (VK_NE2K_ISR_PTX | VK_NE2K_ISR_TXE));
    vk_nic_bench_free(b);
}

static void test_guest_send_pads_short_frames_to_60(void **state)
{
    (void)state;
    bench *b = bench_new("");
    uint8_t f[42];
    vk_test_frame_fill(f, sizeof f, bcast, 5);
    assert_int_equal(vk_nic_guest_send(b->nic, f, sizeof f), VK_OK);
    assert_int_equal(b->on_wire.n, 1);
    assert_int_equal(b->on_wire.len[0], 60);
    assert_memory_equal(b->on_wire.data[0], f, sizeof f);
    for (size_t i = sizeof f; i < 60; i++)
        assert_int_equal(b->on_wire.data[0][i], 0);
    assert_int_equal(vk_ne2k_driver_stats_of(b->nic)->tx_sent, 1);
    vk_nic_bench_free(b);
}

static void test_guest_send_of_odd_sizes_and_oversize(void **state)
{
    (void)state;
    bench *b = bench_new("");
    uint8_t f[1519];
    for (size_t len = 60; len <= 1518; len += 97) {
        vk_test_frame_fill(f, len, bcast, (uint8_t)len);
        assert_int_equal(vk_nic_guest_send(b->nic, f, len), VK_OK);
        assert_int_equal(b->on_wire.len[b->on_wire.n - 1], len);
        assert_memory_equal(b->on_wire.data[b->on_wire.n - 1], f, len);
    }
    vk_test_frame_fill(f, sizeof f, bcast, 1);
    assert_int_equal(vk_nic_guest_send(b->nic, f, sizeof f), VK_EINVAL);
    assert_int_equal(vk_nic_guest_send(b->nic, f, 13), VK_EINVAL);
    vk_nic_bench_free(b);
}

static void test_tcr_loopback_returns_the_frame_to_the_guest(void **state)
{
    (void)state;
    bench *b = bench_new("");
    wreg(b, VK_NE2K_TCR, VK_NE2K_TCR_LB_INTERNAL);
    uint8_t f[100];
    vk_test_frame_fill(f, sizeof f, mac0.b, 7);
    assert_int_equal(vk_nic_guest_send(b->nic, f, sizeof f), VK_OK);
    assert_int_equal(b->on_wire.n, 0);
    assert_int_equal(b->guest.n, 1);
    assert_memory_equal(b->guest.data[0], f, sizeof f);
    vk_nic_bench_free(b);
}

static void internal_loopback_on(bench *b)
{
    wreg(b, VK_NE2K_TCR, VK_NE2K_TCR_LB_INTERNAL);
}

static void test_loopback_echo_from_the_guest_is_safe(void **state)
{
    (void)state;
    vk_nic_bench_check_loopback_echo(&vk_nic_ne2k_pci, &mac0, "rx-ring-pages=7",
                                     internal_loopback_on, vk_ne2k_error);
}

/* ---- round trip ---------------------------------------------------------- */

static uint8_t *libnet_udp(const uint8_t dst[6], const uint8_t src[6], size_t plen, size_t *len)
{
    uint8_t payload[1400];
    for (size_t i = 0; i < plen; i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    libnet_t *l = vk_test_libnet();
    assert_true(libnet_build_udp(40000, 7, (uint16_t)(LIBNET_UDP_H + plen), 0, payload,
                                 (uint32_t)plen, l, 0) != -1);
    assert_true(libnet_build_ipv4((uint16_t)(LIBNET_IPV4_H + LIBNET_UDP_H + plen), 0, 1, 0, 64,
                                  IPPROTO_UDP, 0, htonl(0x0a00020f), htonl(0x0a000210), NULL, 0,
                                  l, 0) != -1);
    assert_true(libnet_build_ethernet(dst, src, ETHERTYPE_IP, NULL, 0, l, 0) != -1);
    return vk_test_libnet_frame(l, len);
}

static void test_two_ne2k_on_a_hub_exchange_frames_byte_identical(void **state)
{
    (void)state;
    const vk_mac mac1 = {{0x52, 0x54, 0x00, 0x12, 0x34, 0x57}};
    vk_nic_pair *p = vk_nic_pair_new(&vk_nic_ne2k_pci, &mac0, "", &mac1, "");
    size_t n1, n2;
    uint8_t *f1 = libnet_udp(mac1.b, mac0.b, 1400, &n1); /* a -> b */
    uint8_t *f2 = libnet_udp(mac0.b, mac1.b, 10, &n2);   /* b -> a: 52 bytes, padded */
    uint8_t f3[300];
    vk_test_frame_fill(f3, sizeof f3, bcast, 3);
    assert_int_equal(vk_nic_guest_send(p->a, f1, n1), VK_OK);
    assert_int_equal(vk_nic_guest_send(p->b, f2, n2), VK_OK);
    assert_int_equal(vk_nic_guest_send(p->a, f3, sizeof f3), VK_OK);
    assert_int_equal(p->cb.n, 2);
    assert_int_equal(p->ca.n, 1);
    assert_int_equal(p->cb.len[0], n1);
    assert_memory_equal(p->cb.data[0], f1, n1);
    assert_memory_equal(p->cb.data[1], f3, sizeof f3);
    assert_int_equal(p->ca.len[0], 60);
    assert_memory_equal(p->ca.data[0], f2, n2);
    free(f1);
    free(f2);
    vk_nic_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_power_on_card_is_stopped_with_rst_and_rtl8029_id),
        cmocka_unit_test(test_page_bits_select_register_banks),
        cmocka_unit_test(test_isr_write_one_clears_and_only_start_clears_rst),
        cmocka_unit_test(test_imr_gates_the_interrupt_line),
        cmocka_unit_test(test_prom_holds_the_mac_doubled_for_word_reads),
        cmocka_unit_test(test_driver_brings_the_card_up_as_linux),
        cmocka_unit_test(test_mcast_index_is_the_top_six_crc_bits),
        cmocka_unit_test(test_describe_names_model_and_mac),
        cmocka_unit_test(test_bad_model_keys_are_reported),
        cmocka_unit_test(test_rx_unicast_needs_exact_par_match),
        cmocka_unit_test(test_rx_broadcast_needs_ab),
        cmocka_unit_test(test_rx_multicast_needs_am_and_its_mar_bit),
        cmocka_unit_test(test_rx_groups_a_linux_guest_joins_pass_the_mar),
        cmocka_unit_test(test_rx_promiscuous_accepts_everything),
        cmocka_unit_test(test_rx_monitor_mode_counts_missed_and_stores_nothing),
        cmocka_unit_test(test_rx_short_frame_is_padded_to_60),
        cmocka_unit_test(test_rx_frames_longer_than_1518_are_dropped),
        cmocka_unit_test(test_rx_ring_header_holds_status_next_page_and_length),
        cmocka_unit_test(test_rx_ring_wraps_from_pstop_to_pstart),
        cmocka_unit_test(test_rx_through_the_driver_survives_many_wraps),
        cmocka_unit_test(test_driver_reads_nothing_while_curr_is_outside_its_ring),
        cmocka_unit_test(test_full_ring_queues_frames_and_flushes_when_bnry_advances),
        cmocka_unit_test(test_queue_limit_overflow_drops_with_reason),
        cmocka_unit_test(test_stopped_card_cannot_receive_until_started),
        cmocka_unit_test(test_pstart_not_below_pstop_means_ring_full),
        cmocka_unit_test(test_ring_outside_ram_or_curr_outside_ring_receives_nothing),
        cmocka_unit_test(test_bnry_outside_ring_never_writes_outside_it),
        cmocka_unit_test(test_receive_called_on_a_full_ring_sets_ovw),
        cmocka_unit_test(test_remote_dma_read_off_the_end_stops_and_sets_error),
        cmocka_unit_test(test_remote_dma_start_in_hole_or_count_beyond_ram_is_refused),
        cmocka_unit_test(test_remote_dma_write_to_prom_or_past_ram_is_refused),
        cmocka_unit_test(test_tx_sends_tbcr_bytes_from_tpsr),
        cmocka_unit_test(test_tx_tbcr_zero_or_outside_ram_is_refused_with_txe),
        cmocka_unit_test(test_tx_while_stopped_does_nothing),
        cmocka_unit_test(test_guest_send_pads_short_frames_to_60),
        cmocka_unit_test(test_guest_send_of_odd_sizes_and_oversize),
        cmocka_unit_test(test_tcr_loopback_returns_the_frame_to_the_guest),
        cmocka_unit_test(test_loopback_echo_from_the_guest_is_safe),
        cmocka_unit_test(test_two_ne2k_on_a_hub_exchange_frames_byte_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
