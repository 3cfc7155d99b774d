/* The rtl8139 model: registers and EEPROM, each RX filter rule, the legacy
 * RX ring and the C+ descriptor rings (wrap-around), backpressure, C+
 * checksum offload and large send against libnet references, hostile slots
 * and descriptors, and round trips through a vk_net, in both driver modes. */
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
#include "nics/nic.h"
#include "nics/rtl8139.h"
#include "wire/checksum.h"

static const vk_mac mac0 = {{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};

typedef vk_nic_bench bench;

/* One card whose peer is a capturing test port. */
static bench *bench_new(const char *opts)
{
    return vk_nic_bench_new(&vk_nic_rtl8139, &mac0, opts);
}
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static uint32_t rreg(bench *b, uint32_t off, unsigned size)
{
    return vk_rtl8139_io_read(b->nic, off, size);
}

static void wreg(bench *b, uint32_t off, uint32_t v, unsigned size)
{
    vk_rtl8139_io_write(b->nic, off, v, size);
}

/* The multicast filter bit of an address, computed here independently of
 * the model: the MSB-first CRC-32 of the address, top 6 bits. */
static unsigned ref_hash(const uint8_t a[6])
{
    uint32_t crc = 0xffffffffu;
    for (int i = 0; i < 48; i++) {
        unsigned bit = (a[i / 8] >> (i % 8)) & 1;
        unsigned top = crc >> 31;
        crc <<= 1;
        if (top ^ bit)
            crc ^= 0x04c11db7u;
    }
    return crc >> 26;
}

/* ---- registers and EEPROM -------------------------------------------------- */

/* 93C46 read, bit-banged the way a driver does it (6 address bits). */
static uint16_t ee_read(bench *b, unsigned addr)
{
    unsigned cmd = addr | 6u << 6;
    wreg(b, VK_RTL_9346CR, 0x80, 1);
    wreg(b, VK_RTL_9346CR, 0x88, 1);
    for (int i = 8; i >= 0; i--) {
        uint8_t bit = (cmd >> i) & 1 ? 0x02 : 0;
        wreg(b, VK_RTL_9346CR, 0x88 | bit, 1);
        wreg(b, VK_RTL_9346CR, 0x88 | bit | 0x04, 1);
    }
    wreg(b, VK_RTL_9346CR, 0x88, 1);
    uint16_t v = 0;
    for (int i = 0; i < 16; i++) {
        wreg(b, VK_RTL_9346CR, 0x8c, 1);
        v = (uint16_t)(v << 1 | (rreg(b, VK_RTL_9346CR, 1) & 1));
        wreg(b, VK_RTL_9346CR, 0x88, 1);
    }
    wreg(b, VK_RTL_9346CR, 0, 1);
    return v;
}

static void test_eeprom_holds_signature_and_mac(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    assert_int_equal(ee_read(b, 0), 0x8129);
    assert_int_equal(ee_read(b, 1), 0x10ec);
    assert_int_equal(ee_read(b, 2), 0x8139);
    assert_int_equal(ee_read(b, 7), 0x5452);
    assert_int_equal(ee_read(b, 8), 0x1200);
    assert_int_equal(ee_read(b, 9), 0x5634);
    vk_nic_bench_free(b);
}

static void test_power_on_registers_are_qemus(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    assert_int_equal(rreg(b, VK_RTL_IDR0, 4), 0x12005452);
    assert_int_equal(rreg(b, VK_RTL_IDR0 + 4, 2), 0x5634);
    assert_int_equal(rreg(b, VK_RTL_TCR, 4), 0x74800000);
    assert_int_equal(rreg(b, VK_RTL_CR, 1), VK_RTL_CR_BUFE);
    assert_int_equal(rreg(b, VK_RTL_TSAD, 2), 0x000f); /* all four slots host-owned */
    assert_int_equal(rreg(b, VK_RTL_RERID, 1), 0x20);
    assert_int_equal(rreg(b, VK_RTL_MSR, 1) & 0x04, 0); /* link up */
    assert_int_equal(rreg(b, VK_RTL_BMSR, 2) & 0x0004, 0x0004);
    assert_int_equal(rreg(b, VK_RTL_CAPR, 2), 0xfff0);
    vk_nic_bench_free(b);
}

static void test_register_tables_are_sorted_without_overlap(void **state)
{
    (void)state;
    assert_true(vk_rtl8139_reg_table_ok());
}

/* An access of a width the register lacks goes byte by byte; unaligned
 * slot accesses, odd sizes and offsets no register answers read 0 and
 * ignore writes; read-only registers ignore writes. */
static void test_register_widths_and_unmapped_offsets(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    wreg(b, VK_RTL_MAR0, 0xbeef, 2); /* MAR has byte registers only */
    assert_int_equal(rreg(b, VK_RTL_MAR0, 4), 0x0000beef);
    assert_int_equal(rreg(b, VK_RTL_MAR0 + 1, 1), 0xbe);
    wreg(b, VK_RTL_MAR0 + 4, 0x11223344u, 3); /* no such size */
    assert_int_equal(rreg(b, VK_RTL_MAR0 + 4, 4), 0);
    assert_int_equal(rreg(b, VK_RTL_MAR0, 3), 0);
    wreg(b, VK_RTL_TSAD0 + 4, 0x12345678u, 4);
    assert_int_equal(rreg(b, VK_RTL_TSAD0 + 4, 4), 0x12345678u);
    assert_int_equal(rreg(b, VK_RTL_TSAD0 + 6, 2), 0x1234);
    assert_int_equal(rreg(b, VK_RTL_TSAD0 + 5, 2), 0);
    assert_int_equal(rreg(b, VK_RTL_TSAD0 + 5, 4), 0);
    assert_int_equal(rreg(b, VK_RTL_TSAD0 + 4, 1), 0); /* no byte register */
    assert_int_equal(rreg(b, VK_RTL_TSD0 + 1, 4), 0);
    assert_int_equal(rreg(b, VK_RTL_TCR, 1), 0); /* TCR's low byte is write-only */
    assert_int_equal(rreg(b, VK_RTL_TCR + 3, 1), 0x74);
    assert_int_equal(rreg(b, 0x5b, 1), 1);
    assert_int_equal(rreg(b, 0xe2, 2), 0);
    wreg(b, VK_RTL_CBR, 0x1234, 2); /* read-only */
    assert_int_equal(rreg(b, VK_RTL_CBR, 2), 0);
    wreg(b, VK_RTL_CAPR, 0x0100, 2);
    assert_int_equal(rreg(b, VK_RTL_CAPR, 2), 0x0100);
    wreg(b, 0x70, 0xffffffffu, 4);
    assert_int_equal(rreg(b, 0x70, 4), 0);
    vk_nic_bench_free(b);
}

static void test_isr_is_write_one_to_clear_and_imr_gates_the_line(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    wreg(b, VK_RTL_CR, VK_RTL_CR_RE | VK_RTL_CR_TE, 1);
    wreg(b, VK_RTL_RCR, VK_RTL_RCR_APM, 4);
    vk_gmem *m = vk_rtl8139_gmem(b->nic);
    wreg(b, VK_RTL_RBSTART, (uint32_t)vk_gmem_alloc(m, 8192 + 2048, 16), 4);
    uint8_t f[80];
    vk_test_frame_fill(f, sizeof f, mac0.b, 1);
    vk_nic_bench_inject(b, f, sizeof f);
    assert_int_equal(rreg(b, VK_RTL_ISR, 2), VK_RTL_INT_ROK);
    assert_false(vk_rtl8139_irq_line(b->nic));
    wreg(b, VK_RTL_IMR, VK_RTL_INT_ROK, 2);
    assert_true(vk_rtl8139_irq_line(b->nic));
    wreg(b, VK_RTL_ISR, VK_RTL_INT_TOK, 2); /* other bits stay */
    assert_int_equal(rreg(b, VK_RTL_ISR, 2), VK_RTL_INT_ROK);
    wreg(b, VK_RTL_ISR, VK_RTL_INT_ROK, 2);
    assert_int_equal(rreg(b, VK_RTL_ISR, 2), 0);
    assert_false(vk_rtl8139_irq_line(b->nic));
    vk_nic_bench_free(b);
}

static void test_cr_rst_restores_power_on_state(void **state)
{
    (void)state;
    bench *b = bench_new("");
    assert_int_equal(rreg(b, VK_RTL_CR, 1) & (VK_RTL_CR_RE | VK_RTL_CR_TE),
                     VK_RTL_CR_RE | VK_RTL_CR_TE);
    assert_true(rreg(b, VK_RTL_CPCR, 2) & VK_RTL_CPCR_RXENB);
    wreg(b, VK_RTL_IDR0, 0x11223344, 4);
    wreg(b, VK_RTL_CR, VK_RTL_CR_RST, 1);
    assert_int_equal(rreg(b, VK_RTL_CR, 1), VK_RTL_CR_BUFE);
    assert_int_equal(rreg(b, VK_RTL_IMR, 2), 0);
    assert_int_equal(rreg(b, VK_RTL_CPCR, 2), 0);
    assert_int_equal(rreg(b, VK_RTL_RDSAR, 4), 0);
    assert_int_equal(rreg(b, VK_RTL_IDR0, 4), 0x12005452);
    vk_nic_bench_free(b);
}

static void test_driver_brings_card_up_in_each_mode(void **state)
{
    (void)state;
    bench *b = bench_new("");
    uint32_t rcr = rreg(b, VK_RTL_RCR, 4);
    assert_int_equal(rcr & 0x0f, VK_RTL_RCR_AB | VK_RTL_RCR_APM | VK_RTL_RCR_AM);
    assert_int_equal(rreg(b, VK_RTL_CPCR, 2) & 3, VK_RTL_CPCR_RXENB | VK_RTL_CPCR_TXENB);
    assert_true(rreg(b, VK_RTL_RDSAR, 4) != 0);
    assert_true(rreg(b, VK_RTL_TNPDS, 4) != 0);
    assert_int_equal(rreg(b, VK_RTL_9346CR, 1), 0); /* config locked again */
    vk_nic_bench_free(b);
    b = bench_new("mode=legacy");
    rcr = rreg(b, VK_RTL_RCR, 4);
    assert_int_equal((rcr >> VK_RTL_RCR_RBLEN_SHIFT) & 3, 2); /* 32 KiB */
    assert_true(rcr & VK_RTL_RCR_WRAP);
    assert_int_equal(rreg(b, VK_RTL_CPCR, 2), 0);
    assert_true(rreg(b, VK_RTL_RBSTART, 4) != 0);
    for (uint32_t i = 0; i < 4; i++)
        assert_true(rreg(b, VK_RTL_TSAD0 + 4 * i, 4) != 0);
    vk_nic_bench_free(b);
}

static void test_describe_names_model_and_mac(void **state)
{
    (void)state;
    vk_nic_bench_check_describe(&vk_nic_rtl8139, &mac0, "rtl8139 mac=52:54:00:12:34:56");
}

static void test_bad_model_keys_are_reported(void **state)
{
    (void)state;
    const char *const bad[] = {"rtl8139,mode=turbo",
                               "rtl8139,rx-ring=65",
                               "rtl8139,rx-buffers=65",
                               "rtl8139,guest-offload=gso",
                               "rtl8139,mode=legacy,rx-ring=8",
                               "rtl8139,mode=legacy,guest-offload=csum",
                               "rtl8139,rx-ring-bytes=8192",
                               "rtl8139,mode=legacy,rx-ring-bytes=4096",
                               "rtl8139,tx-ring=1"};
    vk_nic_bench_check_bad_keys(&vk_nic_rtl8139, &mac0, bad, sizeof bad / sizeof bad[0]);
}

/* ---- RX filter (both modes) ------------------------------------------------ */

static void expect_rx(bench *b, const uint8_t dst[6], bool accepted)
{
    vk_nic_bench_expect_rx(b, dst, accepted, "rtl8139 RX filter: not for us");
}

static const char *const modes[] = {"", "mode=legacy"};

static void test_rx_apm_takes_own_unicast_only(void **state)
{
    (void)state;
    for (int m = 0; m < 2; m++) {
        bench *b = bench_new(modes[m]);
        const uint8_t other[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x57};
        expect_rx(b, mac0.b, true);
        expect_rx(b, other, false);
        wreg(b, VK_RTL_RCR, rreg(b, VK_RTL_RCR, 4) & ~(uint32_t)VK_RTL_RCR_APM, 4);
        expect_rx(b, mac0.b, false);
        vk_nic_bench_free(b);
    }
}

static void test_rx_ab_takes_broadcast(void **state)
{
    (void)state;
    for (int m = 0; m < 2; m++) {
        bench *b = bench_new(modes[m]);
        expect_rx(b, bcast, true);
        wreg(b, VK_RTL_RCR, rreg(b, VK_RTL_RCR, 4) & ~(uint32_t)VK_RTL_RCR_AB, 4);
        expect_rx(b, bcast, false);
        vk_nic_bench_free(b);
    }
}

static void test_rx_am_takes_multicast_by_crc_hash_over_mar(void **state)
{
    (void)state;
    for (int m = 0; m < 2; m++) {
        bench *b = bench_new(modes[m]);
        const uint8_t mc[6] = {0x01, 0x00, 0x5e, 0x00, 0x12, 0xab};
        unsigned h = ref_hash(mc);
        wreg(b, VK_RTL_MAR0, 0, 4);
        wreg(b, VK_RTL_MAR0 + 4, 0, 4);
        expect_rx(b, mc, false);
        wreg(b, VK_RTL_MAR0 + h / 8, 1u << (h % 8), 1);
        expect_rx(b, mc, true);
        wreg(b, VK_RTL_RCR, rreg(b, VK_RTL_RCR, 4) & ~(uint32_t)VK_RTL_RCR_AM, 4);
        expect_rx(b, mc, false);
        vk_nic_bench_free(b);
    }
}

static void test_rx_groups_a_linux_guest_joins_pass_the_hash(void **state)
{
    (void)state;
    for (int m = 0; m < 2; m++)
        vk_nic_bench_check_guest_groups_pass(&vk_nic_rtl8139, &mac0, modes[m]);
}

static void test_rx_aap_is_promiscuous(void **state)
{
    (void)state;
    for (int m = 0; m < 2; m++) {
        bench *b = bench_new(modes[m]);
        const uint8_t uc[6] = {0x02, 1, 2, 3, 4, 5}, mc[6] = {0x33, 0x33, 0, 0, 0, 0xfb};
        wreg(b, VK_RTL_MAR0, 0, 4);
        wreg(b, VK_RTL_MAR0 + 4, 0, 4);
        expect_rx(b, uc, false);
        expect_rx(b, mc, false);
        wreg(b, VK_RTL_RCR, rreg(b, VK_RTL_RCR, 4) | VK_RTL_RCR_AAP, 4);
        expect_rx(b, uc, true);
        expect_rx(b, mc, true);
        vk_nic_bench_free(b);
    }
}

static void test_rx_short_frame_is_padded_to_60(void **state)
{
    (void)state;
    for (int m = 0; m < 2; m++)
        vk_nic_bench_check_short_frame_padded(&vk_nic_rtl8139, &mac0, modes[m]);
}

/* ---- the legacy RX ring ---------------------------------------------------- */

/* Card only: RX enabled on a ring of `len` bytes at a fresh buffer. */
static uint64_t manual_legacy_rx(bench *b, uint32_t rblen, bool wrap, uint64_t extra)
{
    vk_gmem *m = vk_rtl8139_gmem(b->nic);
    uint64_t ring = vk_gmem_alloc(m, (8192u << rblen) + extra, 16);
    assert_true(ring != 0);
    wreg(b, VK_RTL_CR, VK_RTL_CR_RE | VK_RTL_CR_TE, 1);
    wreg(b, VK_RTL_RBSTART, (uint32_t)ring, 4);
    wreg(b, VK_RTL_RCR,
         VK_RTL_RCR_APM | VK_RTL_RCR_AB | rblen << VK_RTL_RCR_RBLEN_SHIFT |
             (wrap ? VK_RTL_RCR_WRAP : 0),
         4);
    return ring;
}

static void test_legacy_rx_header_has_status_and_length_with_crc(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint64_t ring = manual_legacy_rx(b, 0, true, 2048);
    vk_gmem *m = vk_rtl8139_gmem(b->nic);
    uint8_t f[100];
    vk_test_frame_fill(f, sizeof f, bcast, 3);
    vk_nic_bench_inject(b, f, sizeof f);
    uint32_t hdr;
    assert_int_equal(vk_gmem_read_le32(m, ring, &hdr), VK_OK);
    assert_int_equal(hdr & 0xffff, VK_RTL_RX_ROK | VK_RTL_RX_BAR);
    assert_int_equal(hdr >> 16, 104);
    uint8_t got[100];
    assert_int_equal(vk_gmem_read(m, ring + 4, got, sizeof got), VK_OK);
    assert_memory_equal(got, f, sizeof f);
    /* the CRC libnet-independent: reflected CRC-32, as the FCS */
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < sizeof f; i++) {
        crc ^= f[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (crc & 1 ? 0xedb88320u : 0);
    }
    uint32_t fcs;
    assert_int_equal(vk_gmem_read_le32(m, ring + 104, &fcs), VK_OK);
    assert_int_equal(fcs, ~crc);
    assert_int_equal(rreg(b, VK_RTL_CBR, 2), 108);
    assert_false(rreg(b, VK_RTL_CR, 1) & VK_RTL_CR_BUFE);
    wreg(b, VK_RTL_CAPR, 108 - 16, 2);
    assert_true(rreg(b, VK_RTL_CR, 1) & VK_RTL_CR_BUFE);
    vk_test_frame_fill(f, sizeof f, mac0.b, 3);
    vk_nic_bench_inject(b, f, sizeof f);
    assert_int_equal(vk_gmem_read_le32(m, ring + 108, &hdr), VK_OK);
    assert_int_equal(hdr & 0xffff, VK_RTL_RX_ROK | VK_RTL_RX_PAM);
    vk_nic_bench_free(b);
}

static void test_legacy_rx_ring_wraps_around_in_every_size(void **state)
{
    (void)state;
    const char *opts[] = {"mode=legacy,rx-ring-bytes=8192", "mode=legacy,rx-ring-bytes=16384",
                          "mode=legacy,rx-ring-bytes=65536"};
    for (int k = 0; k < 3; k++) {
        bench *b = bench_new(opts[k]);
        /* 120 frames of 1000..1119 bytes: several laps of every ring */
        for (unsigned i = 0; i < 120; i++) {
            uint8_t f[1200];
            size_t len = 1000 + i;
            vk_test_frame_fill(f, len, mac0.b, (uint8_t)i);
            vk_nic_bench_inject(b, f, len);
            assert_int_equal(b->guest.n, 1);
            assert_int_equal(b->guest.len[0], len);
            assert_memory_equal(b->guest.data[0], f, len);
            vk_test_capture_free(&b->guest);
        }
        assert_int_equal(b->dropped.n, 0);
        assert_false(vk_rtl8139_error(b->nic, NULL));
        vk_nic_bench_free(b);
    }
}

static void test_legacy_rx_frame_split_at_ring_end_without_wrap_bit(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint64_t ring = manual_legacy_rx(b, 0, false, 0);
    vk_gmem *m = vk_rtl8139_gmem(b->nic);
    /* move both pointers to 64 bytes before the end */
    uint32_t start = 8192 - 64;
    wreg(b, VK_RTL_CAPR, (uint16_t)(start - 16), 2);
    uint8_t pad[4096] = {0};
    while (rreg(b, VK_RTL_CBR, 2) != start) {
        uint32_t cbr = rreg(b, VK_RTL_CBR, 2);
        size_t len = start - cbr - 8 > 1500 ? 1500 : start - cbr - 8;
        if (len < 60)
            len = (start - cbr) / 2 - 8;
        vk_test_frame_fill(pad, len, mac0.b, 0);
        vk_nic_bench_inject(b, pad, len);
        wreg(b, VK_RTL_CAPR, (uint16_t)(rreg(b, VK_RTL_CBR, 2) - 16), 2);
        assert_true(rreg(b, VK_RTL_CBR, 2) <= start);
    }
    uint8_t f[200], got[200];
    vk_test_frame_fill(f, sizeof f, mac0.b, 7);
    vk_nic_bench_inject(b, f, sizeof f);
    /* 4 header + 60 bytes at the end, the remaining 140 + CRC at the start */
    assert_int_equal(vk_gmem_read(m, ring + start + 4, got, 60), VK_OK);
    assert_int_equal(vk_gmem_read(m, ring, got + 60, 140), VK_OK);
    assert_memory_equal(got, f, sizeof f);
    assert_int_equal(rreg(b, VK_RTL_CBR, 2), 208 - 64);
    assert_false(vk_rtl8139_error(b->nic, NULL));
    vk_nic_bench_free(b);
}

static void test_legacy_rx_wrap_bit_writes_past_the_end(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint64_t ring = manual_legacy_rx(b, 0, true, 2048);
    vk_gmem *m = vk_rtl8139_gmem(b->nic);
    uint8_t big[1500];
    /* fill to 8192 - 100 */
    for (int i = 0; i < 5; i++) {
        vk_test_frame_fill(big, 1500, mac0.b, 1);
        vk_nic_bench_inject(b, big, 1500);
        wreg(b, VK_RTL_CAPR, (uint16_t)(rreg(b, VK_RTL_CBR, 2) - 16), 2);
    }
    uint32_t at = rreg(b, VK_RTL_CBR, 2);
    assert_int_equal(at, 5 * 1508);
    uint8_t f[800], got[800];
    vk_test_frame_fill(f, sizeof f, mac0.b, 9);
    vk_nic_bench_inject(b, f, sizeof f);
    assert_int_equal(vk_gmem_read(m, ring + at + 4, got, sizeof got), VK_OK);
    assert_memory_equal(got, f, sizeof f);
    assert_int_equal(rreg(b, VK_RTL_CBR, 2), (at + 808) % 8192);
    vk_nic_bench_free(b);
}

/* ---- the C+ descriptor rings ------------------------------------------------ */

static void test_cplus_rx_ring_wraps_around(void **state)
{
    (void)state;
    bench *b = bench_new("rx-ring=4");
    for (unsigned i = 0; i < 30; i++) {
        uint8_t f[64 + 8];
        vk_test_frame_fill(f, 64 + (i % 8), mac0.b, (uint8_t)i);
        vk_nic_bench_inject(b, f, 64 + (i % 8));
        assert_int_equal(b->guest.n, i + 1);
        assert_memory_equal(b->guest.data[i], f, 64 + (i % 8));
    }
    assert_int_equal(b->dropped.n, 0);
    vk_nic_bench_free(b);
}

static void test_cplus_tx_ring_wraps_around(void **state)
{
    (void)state;
    bench *b = bench_new("tx-ring=4");
    for (unsigned i = 0; i < 30; i++) {
        uint8_t f[300];
        vk_test_frame_fill(f, 42 + i, bcast, (uint8_t)i);
        assert_int_equal(vk_nic_guest_send(b->nic, f, 42 + i), VK_OK);
        assert_int_equal(b->on_wire.n, i + 1);
        assert_int_equal(b->on_wire.len[i], 42 + i); /* 8139cp does not pad */
        assert_memory_equal(b->on_wire.data[i], f, 42 + i);
    }
    vk_nic_bench_free(b);
}

static void test_cplus_big_frame_spans_descriptors(void **state)
{
    (void)state;
    bench *b = bench_new("tx-ring=8");
    uint8_t *f = malloc(9000);
    assert_non_null(f);
    vk_test_frame_fill(f, 9000, bcast, 1);
    assert_int_equal(vk_nic_guest_send(b->nic, f, 9000), VK_OK);
    assert_int_equal(b->on_wire.n, 1);
    assert_int_equal(b->on_wire.len[0], 9000);
    assert_memory_equal(b->on_wire.data[0], f, 9000);
    /* a 5-descriptor frame does not fit the 7 free of an 8-ring twice
     * until the first is reaped: the driver cleans before it refuses */
    assert_int_equal(vk_nic_guest_send(b->nic, f, 9000), VK_OK);
    free(f);
    vk_nic_bench_free(b);
}

static void test_cplus_rx_frame_larger_than_buffer_is_dropped(void **state)
{
    (void)state;
    bench *b = bench_new("");
    uint8_t f[1600];
    vk_test_frame_fill(f, 1532, mac0.b, 2); /* 1532 + CRC = 1536: fits */
    vk_nic_bench_inject(b, f, 1532);
    assert_int_equal(b->guest.n, 1);
    vk_test_frame_fill(f, 1533, mac0.b, 2);
    vk_nic_bench_inject(b, f, 1533);
    assert_int_equal(b->guest.n, 1);
    assert_string_equal(b->dropped.reason, "rtl8139 RX: frame larger than the RX descriptor buffer");
    assert_int_equal(rreg(b, VK_RTL_MPC, 4), 1);
    vk_nic_bench_free(b);
}

static void test_legacy_tx_pads_to_60_and_cycles_the_four_slots(void **state)
{
    (void)state;
    bench *b = bench_new("mode=legacy");
    for (unsigned i = 0; i < 10; i++) {
        uint8_t f[100];
        vk_test_frame_fill(f, 42, bcast, (uint8_t)i);
        assert_int_equal(vk_nic_guest_send(b->nic, f, 42), VK_OK);
        assert_int_equal(b->on_wire.n, i + 1);
        assert_int_equal(b->on_wire.len[i], 60);
        assert_memory_equal(b->on_wire.data[i], f, 42);
    }
    uint8_t big[1792];
    vk_test_frame_fill(big, sizeof big, bcast, 1);
    assert_int_equal(vk_nic_guest_send(b->nic, big, 1791), VK_OK);
    assert_int_equal(vk_nic_guest_send(b->nic, big, 1792), VK_EINVAL); /* 8139too vk_test_drops */
    assert_int_equal(vk_rtl8139_driver_stats_of(b->nic)->tx_dropped, 1);
    vk_nic_bench_free(b);
}

/* ---- backpressure ---------------------------------------------------------- */

typedef struct hubbench {
    bench *b;
    vk_port *src;
} hubbench;

static hubbench hub_new(const char *opts)
{
    bench *b = vk_nic_bench_on_hub(&vk_nic_rtl8139, &mac0, opts);
    return (hubbench){b, b->src};
}

static void test_cplus_rx_descriptors_exhausted_frames_queue_and_flush(void **state)
{
    (void)state;
    bench *b = vk_nic_bench_check_backpressure(&vk_nic_rtl8139, &mac0,
                                               "rx-buffers=2,rx-refill-delay=1000000", 2, 2,
                                               1000000);
    vk_nic_bench_free(b);
}

static void test_legacy_ring_full_frames_queue_until_capr_moves(void **state)
{
    (void)state;
    hubbench h = hub_new("mode=legacy,rx-ring-bytes=8192,rx-refill-delay=1000000");
    bench *b = h.b;
    /* 1000-byte frames take 1008 bytes: 7 fit in 8 KiB before less than a
     * full-sized frame's room is left */
    for (unsigned i = 0; i < 10; i++) {
        uint8_t f[1000];
        vk_test_frame_fill(f, sizeof f, mac0.b, (uint8_t)i);
        assert_int_equal(vk_port_send_bytes(h.src, f, sizeof f), VK_OK);
    }
    assert_int_equal(b->guest.n, 7);
    assert_int_equal(vk_port_queue_len(b->nic), 3);
    vk_loop_run(b->loop, 1000000);
    assert_int_equal(b->guest.n, 10);
    vk_loop_run(b->loop, VK_TIME_NEVER);
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(b->guest.data[i][14], (uint8_t)(i + 14));
    assert_int_equal(b->dropped.n, 0);
    vk_nic_bench_free(b);
}

static void test_queue_limit_overflow_drops_with_reason(void **state)
{
    (void)state;
    vk_nic_bench_check_queue_limit(&vk_nic_rtl8139, &mac0, "rx-buffers=2,rx-refill-delay=1000000",
                                   2);
}

static void test_rx_disabled_card_cannot_receive(void **state)
{
    (void)state;
    for (int m = 0; m < 2; m++) {
        bench *b = bench_new(modes[m]);
        assert_true(b->nic->ops->can_receive(b->nic));
        wreg(b, VK_RTL_CR, VK_RTL_CR_TE, 1);
        assert_false(b->nic->ops->can_receive(b->nic));
        uint8_t f[80];
        vk_test_frame_fill(f, sizeof f, mac0.b, 1);
        vk_nic_bench_inject(b, f, sizeof f);
        assert_int_equal(vk_port_queue_len(b->nic), 1);
        wreg(b, VK_RTL_CR, VK_RTL_CR_TE | VK_RTL_CR_RE, 1);
        assert_int_equal(vk_port_queue_len(b->nic), 0);
        assert_int_equal(b->guest.n, 1);
        vk_nic_bench_free(b);
    }
}

/* ---- C+ offloads against libnet -------------------------------------------- */

/* The guest's frames: to the slirp gateway from the card's MAC. */
static uint8_t *tcp4_frame(uint32_t seq, uint8_t flags, uint16_t ipid, const uint8_t *pl,
                           size_t plen, size_t *len)
{
    static const uint8_t dst[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
    return vk_test_libnet_tcp4(dst, mac0.b, seq, flags, ipid, pl, plen, len);
}

static uint8_t *udp4_frame(const uint8_t *pl, size_t plen, size_t *len)
{
    static const uint8_t dst[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
    return vk_test_libnet_udp4(dst, mac0.b, pl, plen, len);
}

static void test_guest_csum_offload_matches_libnet(void **state)
{
    (void)state;
    bench *b = bench_new("guest-offload=csum");
    uint8_t pl[333];
    for (size_t i = 0; i < sizeof pl; i++)
        pl[i] = (uint8_t)(i * 7);
    size_t tn, un;
    uint8_t *tref = tcp4_frame(1000, TH_ACK | TH_PUSH, 5, pl, sizeof pl, &tn);
    uint8_t *uref = udp4_frame(pl, 101, &un);
    uint8_t *t = malloc(tn), *u = malloc(un);
    memcpy(t, tref, tn);
    memcpy(u, uref, un);
    t[50] = 0xde, t[51] = 0xad; /* whatever the guest had: the card recomputes */
    u[40] = 0xbe, u[41] = 0xef;
    assert_int_equal(vk_nic_guest_send(b->nic, t, tn), VK_OK);
    assert_int_equal(vk_nic_guest_send(b->nic, u, un), VK_OK);
    assert_int_equal(b->on_wire.n, 2);
    assert_int_equal(b->on_wire.len[0], tn);
    assert_memory_equal(b->on_wire.data[0], tref, tn);
    assert_int_equal(b->on_wire.len[1], un);
    assert_memory_equal(b->on_wire.data[1], uref, un);
    free(t), free(u), free(tref), free(uref);
    vk_nic_bench_free(b);
}

/* QEMU's rtl8139 fills TCPCS/UDPCS with ip_checksum, which keeps a
 * computed 0 as 0x0000 (e1000 stores 0xffff): the same bytes here. */
static void test_guest_csum_offload_keeps_a_zero_checksum_as_qemus_card(void **state)
{
    (void)state;
    bench *b = bench_new("guest-offload=csum");
    uint8_t pl[200];
    for (size_t i = 0; i < sizeof pl; i++)
        pl[i] = (uint8_t)(i * 3);
    size_t tn, un;
    uint8_t *t = tcp4_frame(7, TH_ACK, 9, pl, sizeof pl, &tn);
    uint8_t *u = udp4_frame(pl, 100, &un);
    vk_test_ones_add(t + 54, (uint16_t)(t[50] << 8 | t[51]));
    vk_test_ones_add(u + 42, (uint16_t)(u[40] << 8 | u[41]));
    t[50] = 0xde, t[51] = 0xad;
    u[40] = 0xbe, u[41] = 0xef;
    assert_int_equal(vk_nic_guest_send(b->nic, t, tn), VK_OK);
    assert_int_equal(vk_nic_guest_send(b->nic, u, un), VK_OK);
    assert_int_equal(b->on_wire.n, 2);
    const uint8_t *wt = b->on_wire.data[0], *wu = b->on_wire.data[1];
    assert_int_equal(wt[50] << 8 | wt[51], 0x0000);
    assert_int_equal(wu[40] << 8 | wu[41], 0x0000);
    unsigned bad = 99;
    assert_int_equal(vk_csum_check_frame(wt, b->on_wire.len[0], &bad), VK_OK);
    assert_int_equal(bad, 0);
    assert_memory_equal(wt + 52, t + 52, tn - 52);
    free(t), free(u);
    vk_nic_bench_free(b);
}

static void test_guest_large_send_segments_match_libnet(void **state)
{
    (void)state;
    bench *b = bench_new("guest-offload=tso");
    size_t plen = 4000, n;
    uint8_t *pl = malloc(plen);
    assert_non_null(pl);
    for (size_t i = 0; i < plen; i++)
        pl[i] = (uint8_t)(i ^ (i >> 8));
    uint8_t *big = tcp4_frame(5000, TH_ACK | TH_PUSH, 100, pl, plen, &n);
    assert_int_equal(vk_nic_guest_send(b->nic, big, n), VK_OK);
    assert_int_equal(vk_rtl8139_driver_stats_of(b->nic)->tx_large_send, 1);
    assert_int_equal(b->on_wire.n, 3);
    const size_t mss = 1460;
    for (size_t i = 0; i < 3; i++) {
        size_t off = i * mss, len = plen - off < mss ? plen - off : mss, sn;
        uint8_t flags = i == 2 ? TH_ACK | TH_PUSH : TH_ACK;
        uint8_t *seg = tcp4_frame(5000 + (uint32_t)off, flags, (uint16_t)(100 + i), pl + off,
                                  len, &sn);
        assert_int_equal(b->on_wire.len[i], sn);
        assert_memory_equal(b->on_wire.data[i], seg, sn);
        free(seg);
    }
    free(big);
    free(pl);
    vk_nic_bench_free(b);
}

/* ---- hostile slots and descriptors (guest-driver=off) ---------------------- */

static void legacy_tx_setup(bench *b)
{
    wreg(b, VK_RTL_CR, VK_RTL_CR_TE, 1);
}

static void test_legacy_tx_zero_tiny_and_oversized_slots_are_safe(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    legacy_tx_setup(b);
    vk_gmem *m = vk_rtl8139_gmem(b->nic);
    uint64_t buf = vk_gmem_alloc(m, 8192, 16);
    uint8_t f[8192];
    vk_test_frame_fill(f, sizeof f, bcast, 1);
    assert_int_equal(vk_gmem_write(m, buf, f, sizeof f), VK_OK);
    for (uint32_t i = 0; i < 4; i++)
        wreg(b, VK_RTL_TSAD0 + 4 * i, (uint32_t)buf, 4);
    wreg(b, VK_RTL_TSD0, 0, 4); /* empty: nothing sent, TOK */
    assert_true(rreg(b, VK_RTL_TSD0, 4) & VK_RTL_TSD_TOK);
    wreg(b, VK_RTL_TSD0 + 4, 1, 4); /* one byte: sent as is (QEMU does not pad) */
    wreg(b, VK_RTL_TSD0 + 8, 1792, 4);
    wreg(b, VK_RTL_TSD0 + 12, 1793, 4); /* above the datasheet's maximum */
    assert_int_equal(b->on_wire.n, 2);
    assert_int_equal(b->on_wire.len[0], 1);
    assert_int_equal(b->on_wire.len[1], 1792);
    uint32_t st = rreg(b, VK_RTL_TSD0 + 12, 4);
    assert_true(st & VK_RTL_TSD_TABT);
    assert_false(st & VK_RTL_TSD_TOK);
    assert_true(rreg(b, VK_RTL_ISR, 2) & VK_RTL_INT_TER);
    assert_string_equal(b->dropped.reason, "rtl8139 TX: slot size above 1792 bytes");
    assert_int_equal(rreg(b, VK_RTL_TSAD, 2), 0xf | 0x7 << 12 | 1u << 7);
    assert_false(vk_rtl8139_error(b->nic, NULL));
    vk_nic_bench_free(b);
}

static void test_legacy_tx_buffer_outside_guest_memory_sets_error_state(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    legacy_tx_setup(b);
    vk_gmem *m = vk_rtl8139_gmem(b->nic);
    wreg(b, VK_RTL_TSAD0, (uint32_t)(m->size - 10), 4);
    wreg(b, VK_RTL_TSD0, 100, 4);
    const char *msg;
    assert_true(vk_rtl8139_error(b->nic, &msg));
    assert_non_null(strstr(msg, "TX DMA outside guest memory"));
    assert_int_equal(b->on_wire.n, 0);
    assert_true(rreg(b, VK_RTL_TSD0, 4) & VK_RTL_TSD_TABT);
    /* reprogramming the slot address clears the state */
    wreg(b, VK_RTL_TSAD0, 0x1000, 4);
    assert_false(vk_rtl8139_error(b->nic, NULL));
    vk_nic_bench_free(b);
}

static void test_rx_ring_outside_guest_memory_sets_error_state(void **state)
{
    (void)state;
    for (int m = 0; m < 2; m++) {
        bench *b = bench_new(modes[m]);
        if (m == 0)
            wreg(b, VK_RTL_RDSAR + 4, 0x10, 4);
        else
            wreg(b, VK_RTL_RBSTART, 0xfffff000u, 4);
        uint8_t f[80];
        vk_test_frame_fill(f, sizeof f, mac0.b, 1);
        vk_nic_bench_inject(b, f, sizeof f);
        const char *msg;
        assert_true(vk_rtl8139_error(b->nic, &msg));
        assert_non_null(strstr(msg, "RX DMA"));
        assert_string_equal(b->dropped.reason, "rtl8139 RX DMA outside guest memory");
        vk_nic_bench_inject(b, f, sizeof f);
        assert_string_equal(b->dropped.reason, "rtl8139 RX in DMA error state");
        assert_int_equal(b->guest.n, 0);
        vk_nic_bench_free(b);
    }
}

/* A C+ TX ring of `count` descriptors placed by the test. */
static uint64_t manual_cp_tx(bench *b, unsigned count)
{
    vk_gmem *m = vk_rtl8139_gmem(b->nic);
    uint64_t ring = vk_gmem_alloc(m, count * 16, 256);
    assert_true(ring != 0);
    wreg(b, VK_RTL_CPCR, VK_RTL_CPCR_TXENB, 2);
    wreg(b, VK_RTL_TNPDS, (uint32_t)ring, 4);
    wreg(b, VK_RTL_TNPDS + 4, 0, 4);
    wreg(b, VK_RTL_CR, VK_RTL_CR_TE, 1);
    return ring;
}

static void put_desc(bench *b, uint64_t ring, unsigned i, uint32_t opts1, uint32_t opts2,
                     uint64_t addr)
{
    vk_gmem *m = vk_rtl8139_gmem(b->nic);
    assert_int_equal(vk_gmem_write_le32(m, ring + 16 * i, opts1), VK_OK);
    assert_int_equal(vk_gmem_write_le32(m, ring + 16 * i + 4, opts2), VK_OK);
    assert_int_equal(vk_gmem_write_le64(m, ring + 16 * i + 8, addr), VK_OK);
}

static const uint32_t own_fs_ls = VK_RTL_DESC_OWN | VK_RTL_DESC_FS | VK_RTL_DESC_LS;

static void test_cplus_large_send_with_mss_zero_or_bad_header_goes_out_unsegmented(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint64_t ring = manual_cp_tx(b, 8);
    vk_gmem *m = vk_rtl8139_gmem(b->nic);
    uint8_t pl[3000] = {0};
    size_t n;
    uint8_t *f = tcp4_frame(1, TH_ACK, 1, pl, sizeof pl, &n);
    uint64_t buf = vk_gmem_alloc(m, n, 64);
    assert_int_equal(vk_gmem_write(m, buf, f, n), VK_OK);
    put_desc(b, ring, 0, own_fs_ls | VK_RTL_TXD_LGSEN | (uint32_t)n, 0, buf); /* MSS 0 */
    wreg(b, VK_RTL_TPPOLL, VK_RTL_TPPOLL_NPQ, 1);
    assert_int_equal(b->on_wire.n, 1);
    assert_int_equal(b->on_wire.len[0], n);
    assert_memory_equal(b->on_wire.data[0], f, n);
    /* a TCP data offset of 60 bytes in a frame that ends before it */
    uint8_t shortf[64];
    memcpy(shortf, f, 64);
    shortf[46] = 0xf0;
    uint64_t sbuf = vk_gmem_alloc(m, 64, 64);
    assert_int_equal(vk_gmem_write(m, sbuf, shortf, 64), VK_OK);
    put_desc(b, ring, 1, own_fs_ls | VK_RTL_TXD_LGSEN | 536u << 16 | 64, 0, sbuf);
    wreg(b, VK_RTL_TPPOLL, VK_RTL_TPPOLL_NPQ, 1);
    assert_int_equal(b->on_wire.n, 2);
    assert_int_equal(b->on_wire.len[1], 64);
    /* tiny and empty descriptors */
    put_desc(b, ring, 2, own_fs_ls | VK_RTL_TXD_IPCS | VK_RTL_TXD_TCPCS | 5, 0, sbuf);
    put_desc(b, ring, 3, own_fs_ls | 0, 0, 0);
    wreg(b, VK_RTL_TPPOLL, VK_RTL_TPPOLL_NPQ, 1);
    assert_int_equal(b->on_wire.n, 3);
    assert_int_equal(b->on_wire.len[2], 5);
    uint32_t opts1;
    assert_int_equal(vk_gmem_read_le32(m, ring + 16 * 3, &opts1), VK_OK);
    assert_false(opts1 & VK_RTL_DESC_OWN);
    assert_false(vk_rtl8139_error(b->nic, NULL));
    free(f);
    vk_nic_bench_free(b);
}

static void test_cplus_large_send_honours_the_mss(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint64_t ring = manual_cp_tx(b, 8);
    vk_gmem *m = vk_rtl8139_gmem(b->nic);
    uint8_t pl[1000];
    for (size_t i = 0; i < sizeof pl; i++)
        pl[i] = (uint8_t)i;
    size_t n;
    uint8_t *f = tcp4_frame(77, TH_ACK | TH_PUSH, 40, pl, sizeof pl, &n);
    uint64_t buf = vk_gmem_alloc(m, n, 64);
    assert_int_equal(vk_gmem_write(m, buf, f, n), VK_OK);
    /* in two descriptors, the offload bits on the last */
    put_desc(b, ring, 0, VK_RTL_DESC_OWN | VK_RTL_DESC_FS | 100, 0, buf);
    put_desc(b, ring, 1,
             VK_RTL_DESC_OWN | VK_RTL_DESC_LS | VK_RTL_TXD_LGSEN | 400u << 16 | (uint32_t)(n - 100),
             0, buf + 100);
    wreg(b, VK_RTL_TPPOLL, VK_RTL_TPPOLL_NPQ, 1);
    assert_int_equal(b->on_wire.n, 3);
    for (size_t i = 0; i < 3; i++) {
        size_t off = i * 400, len = i < 2 ? 400 : 200, sn;
        uint8_t *seg = tcp4_frame(77 + (uint32_t)off, i == 2 ? TH_ACK | TH_PUSH : TH_ACK,
                                  (uint16_t)(40 + i), pl + off, len, &sn);
        assert_int_equal(b->on_wire.len[i], sn);
        assert_memory_equal(b->on_wire.data[i], seg, sn);
        free(seg);
    }
    assert_true(rreg(b, VK_RTL_ISR, 2) & VK_RTL_INT_TOK);
    free(f);
    vk_nic_bench_free(b);
}

static void test_cplus_tag_insertion_puts_the_tci_on_the_wire(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint64_t ring = manual_cp_tx(b, 4);
    vk_gmem *m = vk_rtl8139_gmem(b->nic);
    uint8_t f[100];
    vk_test_frame_fill(f, sizeof f, bcast, 3);
    uint64_t buf = vk_gmem_alloc(m, sizeof f, 64);
    assert_int_equal(vk_gmem_write(m, buf, f, sizeof f), VK_OK);
    /* TCI 0x2005, byte-swapped in opts2 */
    put_desc(b, ring, 0, own_fs_ls | VK_RTL_DESC_EOR | (uint32_t)sizeof f,
             VK_RTL_TXD_TAGC | 0x0520, buf);
    wreg(b, VK_RTL_TPPOLL, VK_RTL_TPPOLL_NPQ, 1);
    assert_int_equal(b->on_wire.n, 1);
    const uint8_t *w = b->on_wire.data[0];
    assert_int_equal(b->on_wire.len[0], sizeof f + 4);
    assert_memory_equal(w, f, 12);
    assert_int_equal(w[12] << 8 | w[13], 0x8100);
    assert_int_equal(w[14] << 8 | w[15], 0x2005);
    assert_memory_equal(w + 16, f + 12, sizeof f - 12);
    vk_nic_bench_free(b);
}

static void test_cplus_tx_ring_outside_guest_memory_sets_error_state(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    manual_cp_tx(b, 4);
    vk_gmem *m = vk_rtl8139_gmem(b->nic);
    wreg(b, VK_RTL_TNPDS, (uint32_t)(m->size - 8), 4);
    wreg(b, VK_RTL_TPPOLL, VK_RTL_TPPOLL_NPQ, 1);
    assert_true(vk_rtl8139_error(b->nic, NULL));
    assert_int_equal(b->on_wire.n, 0);
    /* and a buffer outside it */
    uint64_t ring = manual_cp_tx(b, 4);
    assert_false(vk_rtl8139_error(b->nic, NULL));
    put_desc(b, ring, 0, own_fs_ls | 100, 0, 0xffffffff00ull);
    wreg(b, VK_RTL_TPPOLL, VK_RTL_TPPOLL_NPQ, 1);
    assert_true(vk_rtl8139_error(b->nic, NULL));
    assert_int_equal(b->on_wire.n, 0);
    vk_nic_bench_free(b);
}

static void test_cplus_descriptor_chain_longer_than_frame_max_is_dropped(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint64_t ring = manual_cp_tx(b, 8);
    uint64_t buf = vk_gmem_alloc(vk_rtl8139_gmem(b->nic), 65535, 64);
    put_desc(b, ring, 0, VK_RTL_DESC_OWN | VK_RTL_DESC_FS | 0xffff, 0, buf);
    put_desc(b, ring, 1, VK_RTL_DESC_OWN | VK_RTL_DESC_LS | 0xffff, 0, buf);
    put_desc(b, ring, 2, own_fs_ls | 100, 0, buf);
    wreg(b, VK_RTL_TPPOLL, VK_RTL_TPPOLL_NPQ, 1);
    assert_int_equal(b->on_wire.n, 1);
    assert_int_equal(b->on_wire.len[0], 100);
    assert_string_equal(b->dropped.reason,
                        "rtl8139 TX: descriptor chain longer than VK_FRAME_MAX");
    vk_nic_bench_free(b);
}

/* ---- round trips ----------------------------------------------------------- */

static void test_cplus_and_legacy_cards_on_a_hub_exchange_frames(void **state)
{
    (void)state;
    const vk_mac mac1 = {{0x52, 0x54, 0x00, 0x12, 0x34, 0x57}};
    vk_nic_bench_check_hub_exchange(&vk_nic_rtl8139, &mac0, "", &mac1, "mode=legacy", 20);
}

static void tcr_loopback_on(bench *b)
{
    wreg(b, VK_RTL_TCR, rreg(b, VK_RTL_TCR, 4) | VK_RTL_TCR_LOOPBACK, 4);
}

static void test_loopback_echo_from_the_guest_is_safe(void **state)
{
    (void)state;
    vk_nic_bench_check_loopback_echo(&vk_nic_rtl8139, &mac0, "tx-ring=4,rx-ring=4",
                                     tcr_loopback_on, vk_rtl8139_error);
    vk_nic_bench_check_loopback_echo(&vk_nic_rtl8139, &mac0, "mode=legacy,rx-ring-bytes=8192",
                                     tcr_loopback_on, vk_rtl8139_error);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eeprom_holds_signature_and_mac),
        cmocka_unit_test(test_power_on_registers_are_qemus),
        cmocka_unit_test(test_register_tables_are_sorted_without_overlap),
        cmocka_unit_test(test_register_widths_and_unmapped_offsets),
        cmocka_unit_test(test_isr_is_write_one_to_clear_and_imr_gates_the_line),
        cmocka_unit_test(test_cr_rst_restores_power_on_state),
        cmocka_unit_test(test_driver_brings_card_up_in_each_mode),
        cmocka_unit_test(test_describe_names_model_and_mac),
        cmocka_unit_test(test_bad_model_keys_are_reported),
        cmocka_unit_test(test_rx_apm_takes_own_unicast_only),
        cmocka_unit_test(test_rx_ab_takes_broadcast),
        cmocka_unit_test(test_rx_am_takes_multicast_by_crc_hash_over_mar),
        cmocka_unit_test(test_rx_groups_a_linux_guest_joins_pass_the_hash),
        cmocka_unit_test(test_rx_aap_is_promiscuous),
        cmocka_unit_test(test_rx_short_frame_is_padded_to_60),
        cmocka_unit_test(test_legacy_rx_header_has_status_and_length_with_crc),
        cmocka_unit_test(test_legacy_rx_ring_wraps_around_in_every_size),
        cmocka_unit_test(test_legacy_rx_frame_split_at_ring_end_without_wrap_bit),
        cmocka_unit_test(test_legacy_rx_wrap_bit_writes_past_the_end),
        cmocka_unit_test(test_cplus_rx_ring_wraps_around),
        cmocka_unit_test(test_cplus_tx_ring_wraps_around),
        cmocka_unit_test(test_cplus_big_frame_spans_descriptors),
        cmocka_unit_test(test_cplus_rx_frame_larger_than_buffer_is_dropped),
        cmocka_unit_test(test_legacy_tx_pads_to_60_and_cycles_the_four_slots),
        cmocka_unit_test(test_cplus_rx_descriptors_exhausted_frames_queue_and_flush),
        cmocka_unit_test(test_legacy_ring_full_frames_queue_until_capr_moves),
        cmocka_unit_test(test_queue_limit_overflow_drops_with_reason),
        cmocka_unit_test(test_rx_disabled_card_cannot_receive),
        cmocka_unit_test(test_guest_csum_offload_matches_libnet),
        cmocka_unit_test(test_guest_csum_offload_keeps_a_zero_checksum_as_qemus_card),
        cmocka_unit_test(test_guest_large_send_segments_match_libnet),
        cmocka_unit_test(test_legacy_tx_zero_tiny_and_oversized_slots_are_safe),
        cmocka_unit_test(test_legacy_tx_buffer_outside_guest_memory_sets_error_state),
        cmocka_unit_test(test_rx_ring_outside_guest_memory_sets_error_state),
        cmocka_unit_test(test_cplus_large_send_with_mss_zero_or_bad_header_goes_out_unsegmented),
        cmocka_unit_test(test_cplus_large_send_honours_the_mss),
        cmocka_unit_test(test_cplus_tag_insertion_puts_the_tci_on_the_wire),
        cmocka_unit_test(test_cplus_tx_ring_outside_guest_memory_sets_error_state),
        cmocka_unit_test(test_cplus_descriptor_chain_longer_than_frame_max_is_dropped),
        cmocka_unit_test(test_cplus_and_legacy_cards_on_a_hub_exchange_frames),
        cmocka_unit_test(test_loopback_echo_from_the_guest_is_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
