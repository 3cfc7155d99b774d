/* The e1000 model: registers, RX filter, rings, backpressure, offloads and
 * hostile descriptors, through the port API and the guest-driver half. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libnet.h>

#include "helpers/libnet_frames.h"
#include "helpers/nic_bench.h"
#include "core/net.h"
#include "core/options.h"
#include "nics/e1000.h"
#include "nics/nic.h"
#include "wire/buf.h"
#include "wire/checksum.h"

static const vk_mac mac0 = {{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};

typedef vk_nic_bench bench;

/* One card whose peer is a capturing test port. */
static bench *bench_new(const char *opts)
{
    return vk_nic_bench_new(&vk_nic_e1000, &mac0, opts);
}

static uint32_t rreg(bench *b, uint32_t off)
{
    return vk_e1000_mmio_read(b->nic, off);
}

static void wreg(bench *b, uint32_t off, uint32_t v)
{
    vk_e1000_mmio_write(b->nic, off, v);
}

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* ---- registers ----------------------------------------------------------- */

static void test_eeprom_holds_mac_and_sums_to_0xbaba(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint16_t sum = 0, w[64];
    for (uint32_t i = 0; i < 64; i++) {
        wreg(b, VK_E1000_EERD, VK_E1000_EERD_START | i << 8);
        uint32_t v = rreg(b, VK_E1000_EERD);
        assert_true(v & VK_E1000_EERD_DONE);
        w[i] = (uint16_t)(v >> 16);
        sum = (uint16_t)(sum + w[i]);
    }
    assert_int_equal(sum, 0xbaba);
    assert_int_equal(w[0], 0x5452);
    assert_int_equal(w[1], 0x1200);
    assert_int_equal(w[2], 0x5634);
    vk_nic_bench_free(b);
}

/* The Microwire EEPROM through EECD, as Linux's e1000_read_eeprom does it
 * on an 82540: request access, raise CS, clock out the READ opcode and the
 * address on DI, clock in 16 bits from DO, drop CS. */
static void eecd_clock_out(bench *b, uint32_t bits, unsigned n)
{
    const uint32_t cs = VK_E1000_EECD_REQ | VK_E1000_EECD_CS;
    for (unsigned i = n; i-- > 0;) {
        uint32_t v = cs | (((bits >> i) & 1) ? VK_E1000_EECD_DI : 0);
        wreg(b, VK_E1000_EECD, v);
        wreg(b, VK_E1000_EECD, v | VK_E1000_EECD_SK);
        wreg(b, VK_E1000_EECD, v);
    }
}

static uint16_t eecd_clock_in_word(bench *b)
{
    const uint32_t cs = VK_E1000_EECD_REQ | VK_E1000_EECD_CS;
    uint16_t w = 0;
    for (unsigned i = 0; i < 16; i++) {
        wreg(b, VK_E1000_EECD, cs | VK_E1000_EECD_SK);
        w = (uint16_t)(w << 1 | ((rreg(b, VK_E1000_EECD) & VK_E1000_EECD_DO) ? 1 : 0));
        wreg(b, VK_E1000_EECD, cs);
    }
    return w;
}

static uint16_t eecd_command(bench *b, uint32_t opcode, uint32_t addr)
{
    wreg(b, VK_E1000_EECD, VK_E1000_EECD_REQ);
    assert_true(rreg(b, VK_E1000_EECD) & VK_E1000_EECD_GNT);
    wreg(b, VK_E1000_EECD, VK_E1000_EECD_REQ | VK_E1000_EECD_CS);
    eecd_clock_out(b, opcode, 3);
    eecd_clock_out(b, addr, 6);
    uint16_t w = eecd_clock_in_word(b);
    wreg(b, VK_E1000_EECD, 0);
    assert_false(rreg(b, VK_E1000_EECD) & VK_E1000_EECD_GNT);
    return w;
}

static uint16_t eecd_read_word(bench *b, uint32_t addr)
{
    return eecd_command(b, 6, addr); /* 110b: start bit, READ */
}

static void test_eecd_bitbang_reads_mac_words(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    assert_true(rreg(b, VK_E1000_EECD) & VK_E1000_EECD_PRES);
    assert_int_equal(eecd_read_word(b, 0), 0x5452);
    assert_int_equal(eecd_read_word(b, 1), 0x1200);
    assert_int_equal(eecd_read_word(b, 2), 0x5634);
    /* out of order, to show each command starts afresh */
    assert_int_equal(eecd_read_word(b, 1), 0x1200);
    vk_nic_bench_free(b);
}

static void test_eecd_bitbang_image_sums_to_0xbaba_and_matches_eerd(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint16_t sum = 0;
    for (uint32_t i = 0; i < 64; i++) {
        uint16_t w = eecd_read_word(b, i);
        wreg(b, VK_E1000_EERD, VK_E1000_EERD_START | i << 8);
        assert_int_equal(w, rreg(b, VK_E1000_EERD) >> 16);
        sum = (uint16_t)(sum + w);
    }
    assert_int_equal(sum, 0xbaba);
    vk_nic_bench_free(b);
}

static void test_eecd_bitbang_sequential_read_continues_into_next_word(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    wreg(b, VK_E1000_EECD, VK_E1000_EECD_REQ | VK_E1000_EECD_CS);
    eecd_clock_out(b, 6, 3);
    eecd_clock_out(b, 1, 6);
    assert_int_equal(eecd_clock_in_word(b), 0x1200);
    assert_int_equal(eecd_clock_in_word(b), 0x5634);
    wreg(b, VK_E1000_EECD, 0);
    vk_nic_bench_free(b);
}

static void test_eecd_other_opcode_or_cs_low_reads_do_high(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    assert_int_equal(eecd_command(b, 5, 0), 0xffff); /* 101b: WRITE, not modelled */
    assert_int_equal(eecd_command(b, 4, 0), 0xffff); /* 100b: EWEN/EWDS/ERAL */
    /* clocking a READ of word 1 (0x1200) with CS low starts no command */
    for (unsigned i = 0; i < 9 + 16; i++) {
        uint32_t di = ((0x181u >> (8 - (i < 9 ? i : 8))) & 1) ? VK_E1000_EECD_DI : 0;
        wreg(b, VK_E1000_EECD, di | VK_E1000_EECD_SK);
        assert_true(rreg(b, VK_E1000_EECD) & VK_E1000_EECD_DO);
        wreg(b, VK_E1000_EECD, di);
    }
    vk_nic_bench_free(b);
}

static void test_icr_is_cleared_by_reading(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    wreg(b, VK_E1000_ICS, VK_E1000_ICR_TXDW | VK_E1000_ICR_LSC);
    assert_int_equal(rreg(b, VK_E1000_ICR), VK_E1000_ICR_TXDW | VK_E1000_ICR_LSC);
    assert_int_equal(rreg(b, VK_E1000_ICR), 0);
    vk_nic_bench_free(b);
}

static void test_ims_and_imc_gate_the_interrupt_line(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    wreg(b, VK_E1000_ICS, VK_E1000_ICR_RXT0);
    assert_false(vk_e1000_irq_line(b->nic));
    wreg(b, VK_E1000_IMS, VK_E1000_ICR_RXT0);
    assert_true(vk_e1000_irq_line(b->nic));
    assert_int_equal(rreg(b, VK_E1000_IMS), VK_E1000_ICR_RXT0);
    wreg(b, VK_E1000_IMC, VK_E1000_ICR_RXT0);
    assert_false(vk_e1000_irq_line(b->nic));
    vk_nic_bench_free(b);
}

static void test_register_table_is_sorted_without_overlap(void **state)
{
    (void)state;
    assert_true(vk_e1000_reg_table_ok());
}

/* What the register table's rows say beyond plain storage: write masks,
 * read-only and write-only registers, and offsets no row answers. */
static void test_register_masks_and_unmapped_offsets(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    wreg(b, VK_E1000_VET, 0xabcd8100u);
    assert_int_equal(rreg(b, VK_E1000_VET), 0x8100);
    wreg(b, VK_E1000_RDH, 0x12345u);
    assert_int_equal(rreg(b, VK_E1000_RDH), 0x2345);
    wreg(b, VK_E1000_TDLEN, 0x1234567u);
    assert_int_equal(rreg(b, VK_E1000_TDLEN), 0x34500);
    wreg(b, VK_E1000_MDIC, 0xffffffffu);
    assert_int_equal(rreg(b, VK_E1000_MDIC), 0xffff0000u);
    wreg(b, VK_E1000_IMS, VK_E1000_ICR_TXDW);
    assert_int_equal(rreg(b, VK_E1000_IMC), 0); /* write-only */
    wreg(b, VK_E1000_ICS, VK_E1000_ICR_LSC);
    assert_int_equal(rreg(b, VK_E1000_ICS), VK_E1000_ICR_LSC); /* ICR, not cleared */
    assert_int_equal(rreg(b, VK_E1000_ICR), VK_E1000_ICR_LSC);
    wreg(b, VK_E1000_MPC, 7); /* statistics are read-only */
    assert_int_equal(rreg(b, VK_E1000_MPC), 0);
    wreg(b, VK_E1000_MTA + 4 * 127, 0x5a5a5a5au);
    assert_int_equal(rreg(b, VK_E1000_MTA + 4 * 127), 0x5a5a5a5au);
    wreg(b, VK_E1000_VFTA + 4 * 127, 0xa5a5a5a5u);
    assert_int_equal(rreg(b, VK_E1000_VFTA + 4 * 127), 0xa5a5a5a5u);
    const uint32_t unmapped[] = {0x0004, 0x00cc, 0x0104, 0x3000, 0x5100, 0x5600 + 4 * 128,
                                 0x0002};
    for (size_t i = 0; i < sizeof unmapped / sizeof unmapped[0]; i++) {
        wreg(b, unmapped[i], 0xffffffffu);
        assert_int_equal(rreg(b, unmapped[i]), 0);
    }
    vk_nic_bench_free(b);
}

static void test_status_reports_link_up_full_duplex_1000(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint32_t st = rreg(b, VK_E1000_STATUS);
    assert_true(st & VK_E1000_STATUS_LU);
    assert_true(st & VK_E1000_STATUS_FD);
    assert_true(st & VK_E1000_STATUS_SPEED_1000);
    wreg(b, VK_E1000_STATUS, 0); /* read-only */
    assert_int_equal(rreg(b, VK_E1000_STATUS), st);
    vk_nic_bench_free(b);
}

static void test_ctrl_rst_restores_power_on_state(void **state)
{
    (void)state;
    bench *b = bench_new("");
    assert_true(rreg(b, VK_E1000_RCTL) & VK_E1000_RCTL_EN);
    wreg(b, VK_E1000_CTRL, rreg(b, VK_E1000_CTRL) | VK_E1000_CTRL_RST);
    assert_int_equal(rreg(b, VK_E1000_RCTL), 0);
    assert_int_equal(rreg(b, VK_E1000_IMS), 0);
    assert_false(rreg(b, VK_E1000_CTRL) & VK_E1000_CTRL_RST);
    assert_int_equal(rreg(b, VK_E1000_RAH0), 0x5634u | VK_E1000_RAH_AV);
    vk_nic_bench_free(b);
}

static void test_statistics_count_and_clear_on_read(void **state)
{
    (void)state;
    bench *b = bench_new("");
    uint8_t f[100];
    vk_test_frame_fill(f, sizeof f, mac0.b, 1);
    vk_nic_bench_inject(b, f, sizeof f);
    assert_int_equal(rreg(b, VK_E1000_GPRC), 1);
    assert_int_equal(rreg(b, VK_E1000_GPRC), 0);
    assert_int_equal(rreg(b, VK_E1000_GORCL), 104);
    assert_int_equal(rreg(b, VK_E1000_GORCH), 0);
    assert_int_equal(rreg(b, VK_E1000_GORCL), 0); /* cleared by reading the high half */
    assert_int_equal(vk_nic_guest_send(b->nic, f, sizeof f), VK_OK);
    assert_int_equal(rreg(b, VK_E1000_GPTC), 1);
    assert_int_equal(rreg(b, VK_E1000_TPT), 1);
    assert_int_equal(rreg(b, VK_E1000_TPT), 0);
    vk_nic_bench_free(b);
}

static void test_describe_names_model_and_mac(void **state)
{
    (void)state;
    vk_nic_bench_check_describe(&vk_nic_e1000, &mac0, "e1000 mac=52:54:00:12:34:56");
}

static void test_bad_model_keys_are_reported(void **state)
{
    (void)state;
    const char *const bad[] = {"e1000,rx-ring=12", "e1000,rx-buffers=256",
                               "e1000,guest-offload=gso", "e1000,tx-ring=4"};
    vk_nic_bench_check_bad_keys(&vk_nic_e1000, &mac0, bad, sizeof bad / sizeof bad[0]);
}

/* ---- RX filter ----------------------------------------------------------- */

static void expect_rx(bench *b, const uint8_t dst[6], bool accepted)
{
    vk_nic_bench_expect_rx(b, dst, accepted, "e1000 RX filter: not for us");
}

static void test_rx_unicast_to_own_mac_is_delivered(void **state)
{
    (void)state;
    bench *b = bench_new("");
    expect_rx(b, mac0.b, true);
    vk_nic_bench_free(b);
}

static void test_rx_unicast_to_other_mac_is_dropped_with_reason(void **state)
{
    (void)state;
    bench *b = bench_new("");
    const uint8_t other[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x57};
    expect_rx(b, other, false);
    vk_nic_bench_free(b);
}

static void test_rx_second_address_needs_av_bit(void **state)
{
    (void)state;
    bench *b = bench_new("");
    const uint8_t other[6] = {0x02, 0, 0, 0, 0, 0x77};
    wreg(b, VK_E1000_RAL0 + 8 * 3, 0x02);
    wreg(b, VK_E1000_RAH0 + 8 * 3, 0x7700);
    expect_rx(b, other, false);
    wreg(b, VK_E1000_RAH0 + 8 * 3, 0x7700 | VK_E1000_RAH_AV);
    expect_rx(b, other, true);
    vk_nic_bench_free(b);
}

static void test_rx_broadcast_needs_bam(void **state)
{
    (void)state;
    bench *b = bench_new("");
    expect_rx(b, bcast, true);
    wreg(b, VK_E1000_RCTL, rreg(b, VK_E1000_RCTL) & ~VK_E1000_RCTL_BAM);
    expect_rx(b, bcast, false);
    vk_nic_bench_free(b);
}

static void test_rx_multicast_hash_follows_each_mo(void **state)
{
    (void)state;
    bench *b = bench_new("");
    const uint8_t mc[6] = {0x01, 0x00, 0x5e, 0x00, 0x12, 0xab};
    static const unsigned shift[4] = {4, 3, 2, 0};
    uint32_t base = rreg(b, VK_E1000_RCTL) & ~(3u << VK_E1000_RCTL_MO_SHIFT);
    for (unsigned mo = 0; mo < 4; mo++) {
        uint32_t h = ((uint32_t)(mc[5] << 8 | mc[4]) >> shift[mo]) & 0xfff;
        wreg(b, VK_E1000_RCTL, base | mo << VK_E1000_RCTL_MO_SHIFT);
        expect_rx(b, mc, false);
        wreg(b, VK_E1000_MTA + 4 * (h >> 5), 1u << (h & 31));
        expect_rx(b, mc, true);
        /* the same bit means another address under the next MO */
        wreg(b, VK_E1000_RCTL, base | ((mo + 1) % 4) << VK_E1000_RCTL_MO_SHIFT);
        expect_rx(b, mc, false);
        wreg(b, VK_E1000_MTA + 4 * (h >> 5), 0);
    }
    vk_nic_bench_free(b);
}

static void test_rx_upe_accepts_any_unicast_and_mpe_any_multicast(void **state)
{
    (void)state;
    bench *b = bench_new("");
    /* ff02::fb (mDNS): a group the driver half has not joined */
    const uint8_t uc[6] = {0x02, 1, 2, 3, 4, 5}, mc[6] = {0x33, 0x33, 0, 0, 0, 0xfb};
    expect_rx(b, uc, false);
    expect_rx(b, mc, false);
    wreg(b, VK_E1000_RCTL, rreg(b, VK_E1000_RCTL) | VK_E1000_RCTL_UPE);
    expect_rx(b, uc, true);
    expect_rx(b, mc, false);
    wreg(b, VK_E1000_RCTL, rreg(b, VK_E1000_RCTL) | VK_E1000_RCTL_MPE);
    expect_rx(b, mc, true);
    vk_nic_bench_free(b);
}

static void test_rx_groups_a_linux_guest_joins_pass_the_mta(void **state)
{
    (void)state;
    vk_nic_bench_check_guest_groups_pass(&vk_nic_e1000, &mac0, "");
}

static void test_rx_long_frames_need_lpe(void **state)
{
    (void)state;
    bench *b = bench_new("");
    uint8_t f[1600];
    vk_test_frame_fill(f, 1522, mac0.b, 3);
    vk_nic_bench_inject(b, f, 1522); /* QEMU's limit without LPE, FCS not counted */
    assert_int_equal(b->guest.n, 1);
    vk_test_frame_fill(f, 1523, mac0.b, 3);
    vk_nic_bench_inject(b, f, 1523);
    assert_int_equal(b->guest.n, 1);
    assert_string_equal(b->dropped.reason, "e1000 RX: frame too long (RCTL.LPE)");
    assert_int_equal(rreg(b, VK_E1000_ROC), 1);
    wreg(b, VK_E1000_RCTL, rreg(b, VK_E1000_RCTL) | VK_E1000_RCTL_LPE);
    vk_test_frame_fill(f, 1600, mac0.b, 3);
    vk_nic_bench_inject(b, f, 1600);
    assert_int_equal(b->guest.n, 2);
    assert_int_equal(b->guest.len[1], 1600);
    assert_memory_equal(b->guest.data[1], f, 1600);
    vk_nic_bench_free(b);
}

static void test_rx_frame_spanning_descriptors_is_reassembled(void **state)
{
    (void)state;
    bench *b = bench_new("");
    /* 256-byte buffers: a 1000-byte frame takes four descriptors */
    wreg(b, VK_E1000_RCTL, rreg(b, VK_E1000_RCTL) | 3u << VK_E1000_RCTL_BSIZE_SHIFT);
    uint8_t f[1000];
    vk_test_frame_fill(f, sizeof f, mac0.b, 5);
    vk_nic_bench_inject(b, f, sizeof f);
    assert_int_equal(b->guest.n, 1);
    assert_int_equal(b->guest.len[0], sizeof f);
    assert_memory_equal(b->guest.data[0], f, sizeof f);
    vk_nic_bench_free(b);
}

static void test_rx_short_frame_is_padded_to_60(void **state)
{
    (void)state;
    vk_nic_bench_check_short_frame_padded(&vk_nic_e1000, &mac0, "");
}

static void test_rx_vlan_tag_is_stripped_when_ctrl_vme(void **state)
{
    (void)state;
    bench *b = bench_new("");
    wreg(b, VK_E1000_CTRL, rreg(b, VK_E1000_CTRL) | VK_E1000_CTRL_VME);
    uint8_t f[100], plain[96];
    vk_test_frame_fill(f, sizeof f, mac0.b, 2);
    f[12] = 0x81, f[13] = 0x00, f[14] = 0x00, f[15] = 0x05, f[16] = 0x88, f[17] = 0xb5;
    memcpy(plain, f, 12);
    memcpy(plain + 12, f + 16, sizeof f - 16);
    vk_nic_bench_inject(b, f, sizeof f);
    assert_int_equal(b->guest.n, 1);
    assert_int_equal(b->guest.len[0], sizeof plain);
    assert_memory_equal(b->guest.data[0], plain, sizeof plain);
    vk_nic_bench_free(b);
}

/* ---- rings --------------------------------------------------------------- */

static void test_rx_ring_wraps_around(void **state)
{
    (void)state;
    bench *b = bench_new("rx-ring=8");
    for (unsigned i = 0; i < 30; i++) {
        uint8_t f[64 + 8];
        vk_test_frame_fill(f, 64 + (i % 8), mac0.b, (uint8_t)i);
        vk_nic_bench_inject(b, f, 64 + (i % 8));
        assert_int_equal(b->guest.n, i + 1);
        assert_memory_equal(b->guest.data[i], f, 64 + (i % 8));
    }
    assert_true(rreg(b, VK_E1000_RDH) < 8);
    vk_nic_bench_free(b);
}

static void test_tx_ring_wraps_around(void **state)
{
    (void)state;
    bench *b = bench_new("tx-ring=8");
    for (unsigned i = 0; i < 30; i++) {
        uint8_t f[200];
        vk_test_frame_fill(f, 100 + i, bcast, (uint8_t)i);
        assert_int_equal(vk_nic_guest_send(b->nic, f, 100 + i), VK_OK);
        assert_int_equal(b->on_wire.n, i + 1);
        assert_int_equal(b->on_wire.len[i], 100 + i);
        assert_memory_equal(b->on_wire.data[i], f, 100 + i);
    }
    assert_true(rreg(b, VK_E1000_TDH) == rreg(b, VK_E1000_TDT));
    vk_nic_bench_free(b);
}

static void test_tx_big_frame_uses_several_descriptors(void **state)
{
    (void)state;
    bench *b = bench_new("tx-ring=8");
    uint8_t *f = malloc(9000);
    assert_non_null(f);
    vk_test_frame_fill(f, 9000, bcast, 1);
    assert_int_equal(vk_nic_guest_send(b->nic, f, 9000), VK_OK);
    assert_int_equal(b->on_wire.n, 1);
    assert_memory_equal(b->on_wire.data[0], f, 9000);
    free(f);
    vk_nic_bench_free(b);
}

/* ---- backpressure -------------------------------------------------------- */

static void test_rx_buffers_exhausted_frames_queue_and_flush_on_refill(void **state)
{
    (void)state;
    bench *b = vk_nic_bench_check_backpressure(&vk_nic_e1000, &mac0,
                                               "rx-buffers=2,rx-refill-delay=1000000", 2, 2,
                                               1000000);
    vk_nic_bench_free(b);
}

static void test_queue_limit_overflow_drops_with_reason(void **state)
{
    (void)state;
    vk_nic_bench_check_queue_limit(&vk_nic_e1000, &mac0, "rx-buffers=2,rx-refill-delay=1000000",
                                   2);
}

static void test_rx_disabled_card_cannot_receive(void **state)
{
    (void)state;
    bench *b = bench_new("");
    assert_true(b->nic->ops->can_receive(b->nic));
    wreg(b, VK_E1000_RCTL, rreg(b, VK_E1000_RCTL) & ~VK_E1000_RCTL_EN);
    assert_false(b->nic->ops->can_receive(b->nic));
    uint8_t f[80];
    vk_test_frame_fill(f, sizeof f, mac0.b, 1);
    vk_nic_bench_inject(b, f, sizeof f);
    assert_int_equal(vk_port_queue_len(b->nic), 1);
    wreg(b, VK_E1000_RCTL, rreg(b, VK_E1000_RCTL) | VK_E1000_RCTL_EN);
    assert_int_equal(vk_port_queue_len(b->nic), 0);
    assert_int_equal(b->guest.n, 1);
    vk_nic_bench_free(b);
}

/* ---- round trip ---------------------------------------------------------- */

static void test_two_e1000_on_a_hub_exchange_frames_byte_identical(void **state)
{
    (void)state;
    const vk_mac mac1 = {{0x52, 0x54, 0x00, 0x12, 0x34, 0x57}};
    vk_nic_bench_check_hub_exchange(&vk_nic_e1000, &mac0, "", &mac1, "", 1);
}

static void test_mac_loopback_returns_own_frame_to_guest(void **state)
{
    (void)state;
    bench *b = bench_new("");
    wreg(b, VK_E1000_RCTL, rreg(b, VK_E1000_RCTL) | VK_E1000_RCTL_LBM_MAC);
    uint8_t f[100];
    vk_test_frame_fill(f, sizeof f, mac0.b, 7);
    assert_int_equal(vk_nic_guest_send(b->nic, f, sizeof f), VK_OK);
    assert_int_equal(b->on_wire.n, 0);
    assert_int_equal(b->guest.n, 1);
    assert_memory_equal(b->guest.data[0], f, sizeof f);
    vk_nic_bench_free(b);
}

static void mac_loopback_on(bench *b)
{
    wreg(b, VK_E1000_RCTL, rreg(b, VK_E1000_RCTL) | VK_E1000_RCTL_LBM_MAC);
}

static void test_loopback_echo_from_the_guest_is_safe(void **state)
{
    (void)state;
    vk_nic_bench_check_loopback_echo(&vk_nic_e1000, &mac0, "tx-ring=8,rx-ring=8",
                                     mac_loopback_on, vk_e1000_error);
}

/* ---- hostile descriptors (guest-driver=off, rings placed by the test) ---- */

static uint64_t manual_tx(bench *b, unsigned count)
{
    vk_gmem *m = vk_e1000_gmem(b->nic);
    uint64_t ring = vk_gmem_alloc(m, count * 16, 4096);
    assert_true(ring != 0);
    wreg(b, VK_E1000_TDBAL, (uint32_t)ring);
    wreg(b, VK_E1000_TDBAH, 0);
    wreg(b, VK_E1000_TDLEN, count * 16);
    wreg(b, VK_E1000_TDH, 0);
    wreg(b, VK_E1000_TDT, 0);
    wreg(b, VK_E1000_TCTL, VK_E1000_TCTL_EN);
    return ring;
}

static void put_desc(bench *b, uint64_t ring, unsigned i, uint64_t addr, uint32_t lower,
                     uint32_t upper)
{
    vk_gmem *m = vk_e1000_gmem(b->nic);
    assert_int_equal(vk_gmem_write_le64(m, ring + 16 * i, addr), VK_OK);
    assert_int_equal(vk_gmem_write_le32(m, ring + 16 * i + 8, lower), VK_OK);
    assert_int_equal(vk_gmem_write_le32(m, ring + 16 * i + 12, upper), VK_OK);
}

/* A context descriptor: TSE with the given HDRLEN and MSS. */
static void put_tso_ctx(bench *b, uint64_t ring, unsigned i, uint8_t hdr_len, uint16_t mss)
{
    uint64_t fields = 14 | 24 << 8 | (uint64_t)33 << 16 | (uint64_t)34 << 32 |
                      (uint64_t)50 << 40;
    put_desc(b, ring, i, fields,
             VK_E1000_TXD_CMD_DEXT | VK_E1000_TXD_CMD_TSE | VK_E1000_TXD_CMD_TCP |
                 VK_E1000_TXD_CMD_IP,
             (uint32_t)hdr_len << 8 | (uint32_t)mss << 16);
}

static const uint32_t data_tse = VK_E1000_TXD_CMD_DEXT | VK_E1000_TXD_DTYP_D |
                                 VK_E1000_TXD_CMD_TSE | VK_E1000_TXD_CMD_EOP;

static void test_tx_zero_length_and_tiny_descriptors_are_safe(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint64_t ring = manual_tx(b, 8);
    vk_gmem *m = vk_e1000_gmem(b->nic);
    uint64_t buf = vk_gmem_alloc(m, 64, 64);
    const uint32_t eop_rs = VK_E1000_TXD_CMD_EOP | VK_E1000_TXD_CMD_RS;
    put_desc(b, ring, 0, buf, 0 | eop_rs, 0);  /* empty frame: nothing sent */
    put_desc(b, ring, 1, buf, 1 | eop_rs, 0);  /* one byte */
    put_desc(b, ring, 2, 0, 0, 0);             /* null, no EOP */
    put_desc(b, ring, 3, buf, 13 | eop_rs, 0); /* shorter than a header */
    wreg(b, VK_E1000_TDT, 4);
    assert_int_equal(rreg(b, VK_E1000_TDH), 4);
    assert_int_equal(b->on_wire.n, 2);
    assert_int_equal(b->on_wire.len[0], 1);
    assert_int_equal(b->on_wire.len[1], 13);
    uint8_t st;
    assert_int_equal(vk_gmem_read(m, ring + 12, &st, 1), VK_OK);
    assert_true(st & VK_E1000_TXD_STAT_DD);
    /* with PSP, short frames are padded to 60 */
    wreg(b, VK_E1000_TCTL, VK_E1000_TCTL_EN | VK_E1000_TCTL_PSP);
    put_desc(b, ring, 4, buf, 1 | eop_rs, 0);
    wreg(b, VK_E1000_TDT, 5);
    assert_int_equal(b->on_wire.len[2], 60);
    assert_false(vk_e1000_error(b->nic, NULL));
    vk_nic_bench_free(b);
}

static void test_tso_hdrlen_beyond_frame_or_mss_zero_is_dropped(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint64_t ring = manual_tx(b, 8);
    uint64_t buf = vk_gmem_alloc(vk_e1000_gmem(b->nic), 256, 64);
    put_tso_ctx(b, ring, 0, 200, 100);
    put_desc(b, ring, 1, buf, 100 | data_tse, 3u << 8);
    put_tso_ctx(b, ring, 2, 54, 0);
    put_desc(b, ring, 3, buf, 200 | data_tse, 3u << 8);
    put_tso_ctx(b, ring, 4, 54, 100);
    put_desc(b, ring, 5, buf, 200 | data_tse, 3u << 8); /* zeros: not TCP */
    wreg(b, VK_E1000_TDT, 6);
    assert_int_equal(b->on_wire.n, 0);
    assert_int_equal(b->dropped.n, 3);
    assert_string_equal(b->dropped.reason, "e1000 TX: TSO job is not IPv4/IPv6 TCP");
    assert_int_equal(rreg(b, VK_E1000_TDH), 6);
    vk_nic_bench_free(b);
}

static void test_tx_ring_outside_guest_memory_sets_error_state(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    vk_gmem *m = vk_e1000_gmem(b->nic);
    manual_tx(b, 8);
    wreg(b, VK_E1000_TDBAL, (uint32_t)(m->size - 32));
    wreg(b, VK_E1000_TDT, 5);
    const char *msg;
    assert_true(vk_e1000_error(b->nic, &msg));
    assert_non_null(strstr(msg, "TX DMA outside guest memory"));
    assert_int_equal(b->on_wire.n, 0);
    wreg(b, VK_E1000_TDBAH, 0xffffffff);
    wreg(b, VK_E1000_TDT, 6);
    assert_true(vk_e1000_error(b->nic, NULL));
    assert_int_equal(b->on_wire.n, 0);
    vk_nic_bench_free(b);
}

static void test_tx_buffer_outside_guest_memory_sets_error_state(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    vk_gmem *m = vk_e1000_gmem(b->nic);
    uint64_t ring = manual_tx(b, 8);
    put_desc(b, ring, 0, m->size - 10, 100 | VK_E1000_TXD_CMD_EOP, 0);
    wreg(b, VK_E1000_TDT, 1);
    assert_true(vk_e1000_error(b->nic, NULL));
    assert_int_equal(b->on_wire.n, 0);
    /* reprogramming the ring clears the state */
    wreg(b, VK_E1000_TDBAL, (uint32_t)ring);
    assert_false(vk_e1000_error(b->nic, NULL));
    vk_nic_bench_free(b);
}

static void test_rx_ring_outside_guest_memory_sets_error_state(void **state)
{
    (void)state;
    bench *b = bench_new("");
    wreg(b, VK_E1000_RDBAH, 0x10);
    uint8_t f[80];
    vk_test_frame_fill(f, sizeof f, mac0.b, 1);
    vk_nic_bench_inject(b, f, sizeof f);
    const char *msg;
    assert_true(vk_e1000_error(b->nic, &msg));
    assert_non_null(strstr(msg, "RX DMA"));
    assert_string_equal(b->dropped.reason, "e1000 RX DMA outside guest memory");
    vk_nic_bench_inject(b, f, sizeof f);
    assert_string_equal(b->dropped.reason, "e1000 RX ring in DMA error state");
    assert_int_equal(b->guest.n, 0);
    vk_nic_bench_free(b);
}

static void test_tdlen_zero_or_heads_beyond_ring_leave_card_idle(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint64_t ring = manual_tx(b, 8);
    uint64_t buf = vk_gmem_alloc(vk_e1000_gmem(b->nic), 64, 64);
    for (unsigned i = 0; i < 8; i++)
        put_desc(b, ring, i, buf, 60 | VK_E1000_TXD_CMD_EOP, 0);
    wreg(b, VK_E1000_TDLEN, 0);
    wreg(b, VK_E1000_TDT, 3);
    assert_int_equal(b->on_wire.n, 0);
    wreg(b, VK_E1000_TDLEN, 100); /* not a multiple of 128: masked to 0 */
    assert_int_equal(rreg(b, VK_E1000_TDLEN), 0);
    wreg(b, VK_E1000_TDLEN, 8 * 16);
    wreg(b, VK_E1000_TDH, 20);
    wreg(b, VK_E1000_TDT, 3);
    assert_int_equal(b->on_wire.n, 0);
    wreg(b, VK_E1000_TDH, 0);
    wreg(b, VK_E1000_TDT, 200);
    assert_int_equal(b->on_wire.n, 0);
    wreg(b, VK_E1000_TDT, 3);
    assert_int_equal(b->on_wire.n, 3);
    assert_false(vk_e1000_error(b->nic, NULL));
    vk_nic_bench_free(b);
}

static void test_huge_tx_chain_is_bounded_and_dropped(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint64_t ring = manual_tx(b, 8);
    uint64_t buf = vk_gmem_alloc(vk_e1000_gmem(b->nic), 16384, 64);
    for (unsigned i = 0; i < 5; i++)
        put_desc(b, ring, i, buf, 16000, 0);
    put_desc(b, ring, 5, buf, 16000 | VK_E1000_TXD_CMD_EOP, 0);
    put_desc(b, ring, 6, buf, 100 | VK_E1000_TXD_CMD_EOP, 0);
    wreg(b, VK_E1000_TDT, 7);
    assert_int_equal(b->on_wire.n, 1);
    assert_int_equal(b->on_wire.len[0], 100);
    assert_string_equal(b->dropped.reason,
                        "e1000 TX: descriptor chain longer than VK_FRAME_MAX");
    vk_nic_bench_free(b);
}

static void test_legacy_ic_inserts_checksum_at_cso_from_css(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint64_t ring = manual_tx(b, 8);
    vk_gmem *m = vk_e1000_gmem(b->nic);
    uint64_t buf = vk_gmem_alloc(m, 128, 64);
    uint8_t f[100];
    vk_test_frame_fill(f, sizeof f, bcast, 5);
    f[40] = f[41] = 0;
    assert_int_equal(vk_gmem_write(m, buf, f, sizeof f), VK_OK);
    put_desc(b, ring, 0, buf, 100 | VK_E1000_TXD_CMD_EOP | VK_E1000_TXD_CMD_IC | 40u << 16,
             20u << 8);
    wreg(b, VK_E1000_TDT, 1);
    assert_int_equal(b->on_wire.n, 1);
    assert_int_equal(vk_csum(b->on_wire.data[0] + 20, 80), 0);
    assert_memory_equal(b->on_wire.data[0], f, 40);
    vk_nic_bench_free(b);
}

/* ---- VLAN: tag insertion on TX, VFTA filter and stripping on RX ---------- */

static const uint8_t vlan_src[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

/* A frame to dst with ethertype 0x88b5 and plen payload bytes, built by
 * libnet: untagged, or with an 802.1Q-style tag (tpid, pcp, vid). */
static uint8_t *vlan_ref_frame(const uint8_t dst[6], size_t plen, bool tagged, uint16_t tpid,
                               uint8_t pcp, uint16_t vid, size_t *len)
{
    uint8_t payload[256];
    assert_true(plen <= sizeof payload);
    for (size_t i = 0; i < plen; i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    libnet_t *l = vk_test_libnet();
    if (tagged)
        assert_true(libnet_build_802_1q(dst, vlan_src, tpid, pcp, 0, vid, 0x88b5, payload,
                                        (uint32_t)plen, l, 0) != -1);
    else
        assert_true(libnet_build_ethernet(dst, vlan_src, 0x88b5, payload, (uint32_t)plen, l,
                                          0) != -1);
    return vk_test_libnet_frame(l, len);
}

/* Posts f as one descriptor (lower: length ORed in, upper as given) at
 * ring slot i and rings the doorbell. */
static void post_frame(bench *b, uint64_t ring, unsigned i, const uint8_t *f, size_t len,
                       uint32_t lower, uint32_t upper)
{
    vk_gmem *m = vk_e1000_gmem(b->nic);
    uint64_t buf = vk_gmem_alloc(m, len, 64);
    assert_true(buf != 0);
    assert_int_equal(vk_gmem_write(m, buf, f, len), VK_OK);
    put_desc(b, ring, i, buf, (uint32_t)len | lower, upper);
    wreg(b, VK_E1000_TDT, i + 1);
}

static const uint32_t eop_vle = VK_E1000_TXD_CMD_EOP | VK_E1000_TXD_CMD_VLE |
                                VK_E1000_TXD_CMD_RS;

static void test_tx_vle_with_ctrl_vme_inserts_8021q_tag(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint64_t ring = manual_tx(b, 8);
    wreg(b, VK_E1000_CTRL, rreg(b, VK_E1000_CTRL) | VK_E1000_CTRL_VME);
    size_t n, tn;
    uint8_t *f = vlan_ref_frame(bcast, 100, false, 0, 0, 0, &n);
    uint8_t *tagged = vlan_ref_frame(bcast, 100, true, 0x8100, 5, 42, &tn);
    assert_int_equal(tn, n + 4);
    /* legacy descriptor: the tag control information is its special field */
    post_frame(b, ring, 0, f, n, eop_vle, (uint32_t)(5u << 13 | 42) << 16);
    assert_int_equal(b->on_wire.n, 1);
    assert_int_equal(b->on_wire.len[0], tn);
    assert_memory_equal(b->on_wire.data[0], tagged, tn);
    /* extended data descriptor, TPID from VET */
    uint8_t *qinq = vlan_ref_frame(bcast, 100, true, 0x88a8, 5, 42, &tn);
    wreg(b, VK_E1000_VET, 0x88a8);
    post_frame(b, ring, 1, f, n, eop_vle | VK_E1000_TXD_CMD_DEXT | VK_E1000_TXD_DTYP_D,
               (uint32_t)(5u << 13 | 42) << 16);
    assert_int_equal(b->on_wire.n, 2);
    assert_int_equal(b->on_wire.len[1], tn);
    assert_memory_equal(b->on_wire.data[1], qinq, tn);
    /* the tag goes into the octet count */
    assert_int_equal(rreg(b, VK_E1000_GOTCL), 2 * (tn + 4));
    free(f);
    free(tagged);
    free(qinq);
    vk_nic_bench_free(b);
}

static void test_tx_vle_without_ctrl_vme_sends_frame_untagged(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint64_t ring = manual_tx(b, 8);
    assert_false(rreg(b, VK_E1000_CTRL) & VK_E1000_CTRL_VME);
    size_t n;
    uint8_t *f = vlan_ref_frame(bcast, 100, false, 0, 0, 0, &n);
    post_frame(b, ring, 0, f, n, eop_vle, 42u << 16);
    assert_int_equal(b->on_wire.n, 1);
    assert_int_equal(b->on_wire.len[0], n);
    assert_memory_equal(b->on_wire.data[0], f, n);
    free(f);
    vk_nic_bench_free(b);
}

static void test_tx_vle_is_taken_from_the_eop_descriptor(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint64_t ring = manual_tx(b, 8);
    wreg(b, VK_E1000_CTRL, rreg(b, VK_E1000_CTRL) | VK_E1000_CTRL_VME);
    vk_gmem *m = vk_e1000_gmem(b->nic);
    size_t n, tn;
    uint8_t *f = vlan_ref_frame(bcast, 100, false, 0, 0, 0, &n);
    uint8_t *tagged = vlan_ref_frame(bcast, 100, true, 0x8100, 0, 7, &tn);
    uint64_t buf = vk_gmem_alloc(m, n, 64);
    assert_int_equal(vk_gmem_write(m, buf, f, n), VK_OK);
    /* VLE on a descriptor without EOP is not looked at (QEMU) */
    put_desc(b, ring, 0, buf, 30 | VK_E1000_TXD_CMD_VLE, 99u << 16);
    put_desc(b, ring, 1, buf + 30, (uint32_t)(n - 30) | VK_E1000_TXD_CMD_EOP, 0);
    put_desc(b, ring, 2, buf, 30 | VK_E1000_TXD_CMD_VLE, 99u << 16);
    put_desc(b, ring, 3, buf + 30, (uint32_t)(n - 30) | eop_vle, 7u << 16);
    wreg(b, VK_E1000_TDT, 4);
    assert_int_equal(b->on_wire.n, 2);
    assert_int_equal(b->on_wire.len[0], n);
    assert_memory_equal(b->on_wire.data[0], f, n);
    assert_int_equal(b->on_wire.len[1], tn);
    assert_memory_equal(b->on_wire.data[1], tagged, tn);
    free(f);
    free(tagged);
    vk_nic_bench_free(b);
}

/* An RX ring of 8 descriptors with 2048-byte buffers, placed by the test;
 * the card strips the CRC so lengths are the frame's.  Returns the ring. */
static uint64_t manual_rx(bench *b)
{
    vk_gmem *m = vk_e1000_gmem(b->nic);
    uint64_t ring = vk_gmem_alloc(m, 8 * 16, 4096);
    assert_true(ring != 0);
    for (unsigned i = 0; i < 8; i++) {
        uint64_t buf = vk_gmem_alloc(m, 2048, 64);
        assert_true(buf != 0);
        assert_int_equal(vk_gmem_write_le64(m, ring + 16 * i, buf), VK_OK);
    }
    wreg(b, VK_E1000_RDBAL, (uint32_t)ring);
    wreg(b, VK_E1000_RDBAH, 0);
    wreg(b, VK_E1000_RDLEN, 8 * 16);
    wreg(b, VK_E1000_RDH, 0);
    wreg(b, VK_E1000_RDT, 7);
    wreg(b, VK_E1000_RCTL, VK_E1000_RCTL_EN | VK_E1000_RCTL_BAM | VK_E1000_RCTL_SECRC);
    return ring;
}

/* Descriptor i of an RX ring as the card wrote it back. */
typedef struct rx_desc {
    uint64_t addr;
    uint16_t length, special;
    uint8_t status, errors;
} rx_desc;

static rx_desc read_rx_desc(bench *b, uint64_t ring, unsigned i)
{
    uint8_t d[16];
    assert_int_equal(vk_gmem_read(vk_e1000_gmem(b->nic), ring + 16 * i, d, sizeof d), VK_OK);
    rx_desc r = {0};
    for (int k = 7; k >= 0; k--)
        r.addr = r.addr << 8 | d[k];
    r.length = (uint16_t)(d[8] | d[9] << 8);
    r.status = d[12];
    r.errors = d[13];
    r.special = (uint16_t)(d[14] | d[15] << 8);
    return r;
}

static void set_vfta_bit(bench *b, uint16_t vid)
{
    uint32_t off = VK_E1000_VFTA + 4 * (vid >> 5);
    wreg(b, off, rreg(b, off) | 1u << (vid & 31));
}

static void test_rx_vfe_drops_vlan_id_missing_from_vfta_with_reason(void **state)
{
    (void)state;
    bench *b = bench_new("");
    wreg(b, VK_E1000_RCTL, rreg(b, VK_E1000_RCTL) | VK_E1000_RCTL_VFE);
    set_vfta_bit(b, 41); /* a neighbour of the id sent: must not let it through */
    set_vfta_bit(b, 43);
    size_t n;
    uint8_t *f = vlan_ref_frame(mac0.b, 100, true, 0x8100, 0, 42, &n);
    vk_nic_bench_inject(b, f, n);
    assert_int_equal(b->guest.n, 0);
    assert_int_equal(b->dropped.n, 1);
    assert_string_equal(b->dropped.reason, "e1000 RX filter: VLAN id not in VFTA (RCTL.VFE)");
    /* the VLAN filter comes before the address filter: promiscuous is no way round it */
    wreg(b, VK_E1000_RCTL, rreg(b, VK_E1000_RCTL) | VK_E1000_RCTL_UPE);
    vk_nic_bench_inject(b, f, n);
    assert_int_equal(b->guest.n, 0);
    assert_int_equal(b->dropped.n, 2);
    assert_int_equal(rreg(b, VK_E1000_GPRC), 0);
    /* untagged frames are not subject to it */
    size_t un;
    uint8_t *plain = vlan_ref_frame(mac0.b, 100, false, 0, 0, 0, &un);
    vk_nic_bench_inject(b, plain, un);
    assert_int_equal(b->guest.n, 1);
    free(f);
    free(plain);
    vk_nic_bench_free(b);
}

static void test_rx_vfe_accepts_vlan_id_set_in_vfta(void **state)
{
    (void)state;
    bench *b = bench_new("");
    wreg(b, VK_E1000_RCTL, rreg(b, VK_E1000_RCTL) | VK_E1000_RCTL_VFE);
    set_vfta_bit(b, 42);
    size_t n;
    /* the priority bits are no part of the VFTA index */
    uint8_t *f = vlan_ref_frame(mac0.b, 100, true, 0x8100, 7, 42, &n);
    vk_nic_bench_inject(b, f, n);
    assert_int_equal(b->dropped.n, 0);
    assert_int_equal(b->guest.n, 1);
    /* without CTRL.VME the tag stays in the frame */
    assert_int_equal(b->guest.len[0], n);
    assert_memory_equal(b->guest.data[0], f, n);
    free(f);
    vk_nic_bench_free(b);
}

static void test_rx_vme_strips_tag_into_descriptor_special_field(void **state)
{
    (void)state;
    bench *b = bench_new("guest-driver=off");
    uint64_t ring = manual_rx(b);
    wreg(b, VK_E1000_RCTL, rreg(b, VK_E1000_RCTL) | VK_E1000_RCTL_VFE);
    wreg(b, VK_E1000_CTRL, rreg(b, VK_E1000_CTRL) | VK_E1000_CTRL_VME);
    set_vfta_bit(b, 42);
    size_t n, un;
    uint8_t *f = vlan_ref_frame(mac0.b, 100, true, 0x8100, 5, 42, &n);
    uint8_t *plain = vlan_ref_frame(mac0.b, 100, false, 0, 0, 0, &un);
    vk_nic_bench_inject(b, f, n);
    assert_int_equal(rreg(b, VK_E1000_RDH), 1);
    rx_desc d = read_rx_desc(b, ring, 0);
    assert_true(d.status & VK_E1000_RXD_STAT_DD);
    assert_true(d.status & VK_E1000_RXD_STAT_EOP);
    assert_true(d.status & VK_E1000_RXD_STAT_VP);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.special, 5u << 13 | 42);
    assert_int_equal(d.length, un);
    uint8_t got[256];
    assert_int_equal(vk_gmem_read(vk_e1000_gmem(b->nic), d.addr, got, un), VK_OK);
    assert_memory_equal(got, plain, un);
    /* an untagged frame: no VP, special 0 */
    vk_nic_bench_inject(b, plain, un);
    d = read_rx_desc(b, ring, 1);
    assert_true(d.status & VK_E1000_RXD_STAT_DD);
    assert_false(d.status & VK_E1000_RXD_STAT_VP);
    assert_int_equal(d.special, 0);
    assert_int_equal(d.length, un);
    /* a tag whose TPID is not VET is not a tag: kept, no VP */
    wreg(b, VK_E1000_VET, 0x88a8);
    vk_nic_bench_inject(b, f, n);
    d = read_rx_desc(b, ring, 2);
    assert_false(d.status & VK_E1000_RXD_STAT_VP);
    assert_int_equal(d.length, n);
    free(f);
    free(plain);
    vk_nic_bench_free(b);
}

/* ---- guest offloads through the driver half ------------------------------ */

/* Ethernet + IPv4 + TCP with payload plen and correct checksums. */
static size_t tcp_frame(uint8_t *f, size_t plen)
{
    static const uint8_t hdr[54] = {
        0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x00,
        0x45, 0x00, 0x00, 0x00, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 10,   0,
        2,    15,   10,   0,    2,    2,    0x04, 0xd2, 0x00, 0x50, 0x00, 0x00, 0x10, 0x00,
        0x00, 0x00, 0x00, 0x01, 0x50, 0x18, 0xfa, 0xf0, 0x00, 0x00, 0x00, 0x00};
    memcpy(f, hdr, sizeof hdr);
    f[16] = (uint8_t)((40 + plen) >> 8);
    f[17] = (uint8_t)(40 + plen);
    for (size_t i = 0; i < plen; i++)
        f[54 + i] = (uint8_t)(i * 13 + 1);
    assert_int_equal(vk_csum_fill_frame(f, 54 + plen), VK_OK);
    return 54 + plen;
}

static void test_guest_csum_offload_fills_tcp_checksum(void **state)
{
    (void)state;
    bench *b = bench_new("guest-offload=csum");
    uint8_t ref[600], f[600];
    size_t n = tcp_frame(ref, 500);
    memcpy(f, ref, n);
    f[50] = 0xde, f[51] = 0xad; /* whatever the guest had: the card recomputes */
    assert_int_equal(vk_nic_guest_send(b->nic, f, n), VK_OK);
    assert_int_equal(b->on_wire.n, 1);
    assert_int_equal(b->on_wire.len[0], n);
    assert_memory_equal(b->on_wire.data[0], ref, n);
    vk_nic_bench_free(b);
}

static void test_guest_tso_offload_cuts_large_frame_into_mss_segments(void **state)
{
    (void)state;
    bench *b = bench_new("guest-offload=tso");
    uint8_t *f = malloc(54 + 4000);
    assert_non_null(f);
    size_t n = tcp_frame(f, 4000);
    assert_int_equal(vk_nic_guest_send(b->nic, f, n), VK_OK);
    assert_int_equal(vk_e1000_driver_stats_of(b->nic)->tx_tso, 1);
    assert_int_equal(b->on_wire.n, 3);
    size_t sent = 0;
    for (size_t i = 0; i < 3; i++) {
        const uint8_t *s = b->on_wire.data[i];
        size_t plen = b->on_wire.len[i] - 54;
        assert_int_equal(plen, i < 2 ? 1460 : 4000 - 2 * 1460);
        unsigned bad = 99;
        assert_int_equal(vk_csum_check_frame(s, b->on_wire.len[i], &bad), VK_OK);
        assert_int_equal(bad, 0);
        assert_int_equal(s[18] << 8 | s[19], 0x1234 + i);        /* IP id */
        assert_int_equal((uint32_t)(s[38] << 24 | s[39] << 16 | s[40] << 8 | s[41]),
                         0x1000 + sent);                          /* seq */
        assert_int_equal(s[47], i < 2 ? 0x10 : 0x18);             /* PSH last */
        assert_memory_equal(s + 54, f + 54 + sent, plen);
        sent += plen;
    }
    free(f);
    vk_nic_bench_free(b);
}

/* QEMU's e1000 fills every checksum of a TSO segment with putsum, which
 * stores a computed 0 as 0xffff (rtl8139 keeps 0x0000): a payload word of
 * the second segment tuned so that its TCP checksum computes to 0. */
static void test_guest_tso_segment_with_a_zero_checksum_carries_0xffff_as_qemus_card(void **state)
{
    (void)state;
    uint8_t *f = malloc(54 + 4000);
    assert_non_null(f);
    size_t n = tcp_frame(f, 4000);
    bench *b = bench_new("guest-offload=tso");
    assert_int_equal(vk_nic_guest_send(b->nic, f, n), VK_OK);
    assert_int_equal(b->on_wire.n, 3);
    const uint8_t *s1 = b->on_wire.data[1];
    uint16_t c = (uint16_t)(s1[50] << 8 | s1[51]);
    assert_int_not_equal(c, 0xffff);
    vk_nic_bench_free(b);
    vk_test_ones_add(f + 54 + 1460 + 100, c); /* in segment 1, an even offset */
    b = bench_new("guest-offload=tso");
    assert_int_equal(vk_nic_guest_send(b->nic, f, n), VK_OK);
    assert_int_equal(b->on_wire.n, 3);
    s1 = b->on_wire.data[1];
    assert_int_equal(s1[50] << 8 | s1[51], 0xffff);
    unsigned bad = 99;
    assert_int_equal(vk_csum_check_frame(s1, b->on_wire.len[1], &bad), VK_OK);
    assert_int_equal(bad, 0);
    free(f);
    vk_nic_bench_free(b);
}

/* One IPv6 TCP frame as libnet builds it, checksums included.  Traffic
 * class and flow label stay 0: libnet 1.2 mis-encodes them. */
static uint8_t *tcp6_ref_frame(uint32_t seq, uint8_t flags, const uint8_t *payload, size_t plen,
                               size_t *len)
{
    static const uint8_t dst[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
    struct libnet_in6_addr src6, dst6;
    memset(&src6, 0, sizeof src6);
    memset(&dst6, 0, sizeof dst6);
    src6.__u6_addr.__u6_addr8[0] = dst6.__u6_addr.__u6_addr8[0] = 0xfd;
    src6.__u6_addr.__u6_addr8[15] = 15;
    dst6.__u6_addr.__u6_addr8[15] = 2;
    libnet_t *l = vk_test_libnet();
    uint16_t tcp_len = (uint16_t)(LIBNET_TCP_H + plen);
    assert_true(libnet_build_tcp(40000, 80, seq, 0x01020304, flags, 64240, 0, 0, tcp_len,
                                 payload, (uint32_t)plen, l, 0) != -1);
    assert_true(libnet_build_ipv6(0, 0, tcp_len, IPPROTO_TCP, 64, src6, dst6, NULL, 0, l, 0) !=
                -1);
    assert_true(libnet_build_ethernet(dst, vlan_src, 0x86dd, NULL, 0, l, 0) != -1);
    return vk_test_libnet_frame(l, len);
}

static void test_guest_tso_offload_cuts_ipv6_frame_into_segments_equal_to_libnet(void **state)
{
    (void)state;
    bench *b = bench_new("guest-offload=tso");
    enum { PLEN = 4000, HDR = 14 + 40 + 20, MSS = 1500 - 40 - 20 };
    uint8_t *payload = malloc(PLEN);
    assert_non_null(payload);
    for (size_t i = 0; i < PLEN; i++)
        payload[i] = (uint8_t)(i * 31 + 5);
    const uint32_t seq = 0xfffff000; /* the sequence numbers wrap in the job */
    size_t n;
    uint8_t *big = tcp6_ref_frame(seq, TH_ACK | TH_PUSH, payload, PLEN, &n);
    assert_int_equal(vk_nic_guest_send(b->nic, big, n), VK_OK);
    assert_int_equal(vk_e1000_driver_stats_of(b->nic)->tx_tso, 1);
    assert_int_equal(b->on_wire.n, (PLEN + MSS - 1) / MSS);
    size_t sent = 0;
    for (size_t i = 0; i < b->on_wire.n; i++) {
        size_t plen = PLEN - sent < MSS ? PLEN - sent : MSS;
        bool last = sent + plen == PLEN;
        size_t rn;
        uint8_t *ref = tcp6_ref_frame(seq + (uint32_t)sent, last ? TH_ACK | TH_PUSH : TH_ACK,
                                      payload + sent, plen, &rn);
        const uint8_t *s = b->on_wire.data[i];
        assert_int_equal(b->on_wire.len[i], HDR + plen);
        assert_int_equal(rn, HDR + plen);
        assert_int_equal(s[18] << 8 | s[19], 20 + plen); /* IPv6 payload length */
        assert_int_equal(vk_get_be32(s + 58), seq + (uint32_t)sent);
        unsigned bad = 99;
        assert_int_equal(vk_csum_check_frame(s, b->on_wire.len[i], &bad), VK_OK);
        assert_int_equal(bad, 0);
        assert_memory_equal(s, ref, rn);
        free(ref);
        sent += plen;
    }
    assert_int_equal(sent, PLEN);
    assert_int_equal(rreg(b, VK_E1000_TSCTC), 1);
    free(big);
    free(payload);
    vk_nic_bench_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eeprom_holds_mac_and_sums_to_0xbaba),
        cmocka_unit_test(test_eecd_bitbang_reads_mac_words),
        cmocka_unit_test(test_eecd_bitbang_image_sums_to_0xbaba_and_matches_eerd),
        cmocka_unit_test(test_eecd_bitbang_sequential_read_continues_into_next_word),
        cmocka_unit_test(test_eecd_other_opcode_or_cs_low_reads_do_high),
        cmocka_unit_test(test_icr_is_cleared_by_reading),
        cmocka_unit_test(test_ims_and_imc_gate_the_interrupt_line),
        cmocka_unit_test(test_register_table_is_sorted_without_overlap),
        cmocka_unit_test(test_register_masks_and_unmapped_offsets),
        cmocka_unit_test(test_status_reports_link_up_full_duplex_1000),
        cmocka_unit_test(test_ctrl_rst_restores_power_on_state),
        cmocka_unit_test(test_statistics_count_and_clear_on_read),
        cmocka_unit_test(test_describe_names_model_and_mac),
        cmocka_unit_test(test_bad_model_keys_are_reported),
        cmocka_unit_test(test_rx_unicast_to_own_mac_is_delivered),
        cmocka_unit_test(test_rx_unicast_to_other_mac_is_dropped_with_reason),
        cmocka_unit_test(test_rx_second_address_needs_av_bit),
        cmocka_unit_test(test_rx_broadcast_needs_bam),
        cmocka_unit_test(test_rx_multicast_hash_follows_each_mo),
        cmocka_unit_test(test_rx_upe_accepts_any_unicast_and_mpe_any_multicast),
        cmocka_unit_test(test_rx_groups_a_linux_guest_joins_pass_the_mta),
        cmocka_unit_test(test_rx_long_frames_need_lpe),
        cmocka_unit_test(test_rx_frame_spanning_descriptors_is_reassembled),
        cmocka_unit_test(test_rx_short_frame_is_padded_to_60),
        cmocka_unit_test(test_rx_vlan_tag_is_stripped_when_ctrl_vme),
        cmocka_unit_test(test_rx_ring_wraps_around),
        cmocka_unit_test(test_tx_ring_wraps_around),
        cmocka_unit_test(test_tx_big_frame_uses_several_descriptors),
        cmocka_unit_test(test_rx_buffers_exhausted_frames_queue_and_flush_on_refill),
        cmocka_unit_test(test_queue_limit_overflow_drops_with_reason),
        cmocka_unit_test(test_rx_disabled_card_cannot_receive),
        cmocka_unit_test(test_two_e1000_on_a_hub_exchange_frames_byte_identical),
        cmocka_unit_test(test_mac_loopback_returns_own_frame_to_guest),
        cmocka_unit_test(test_loopback_echo_from_the_guest_is_safe),
        cmocka_unit_test(test_tx_zero_length_and_tiny_descriptors_are_safe),
        cmocka_unit_test(test_tso_hdrlen_beyond_frame_or_mss_zero_is_dropped),
        cmocka_unit_test(test_tx_ring_outside_guest_memory_sets_error_state),
        cmocka_unit_test(test_tx_buffer_outside_guest_memory_sets_error_state),
        cmocka_unit_test(test_rx_ring_outside_guest_memory_sets_error_state),
        cmocka_unit_test(test_tdlen_zero_or_heads_beyond_ring_leave_card_idle),
        cmocka_unit_test(test_huge_tx_chain_is_bounded_and_dropped),
        cmocka_unit_test(test_legacy_ic_inserts_checksum_at_cso_from_css),
        cmocka_unit_test(test_tx_vle_with_ctrl_vme_inserts_8021q_tag),
        cmocka_unit_test(test_tx_vle_without_ctrl_vme_sends_frame_untagged),
        cmocka_unit_test(test_tx_vle_is_taken_from_the_eop_descriptor),
        cmocka_unit_test(test_rx_vfe_drops_vlan_id_missing_from_vfta_with_reason),
        cmocka_unit_test(test_rx_vfe_accepts_vlan_id_set_in_vfta),
        cmocka_unit_test(test_rx_vme_strips_tag_into_descriptor_special_field),
        cmocka_unit_test(test_guest_csum_offload_fills_tcp_checksum),
        cmocka_unit_test(test_guest_tso_segment_with_a_zero_checksum_carries_0xffff_as_qemus_card),
        cmocka_unit_test(test_guest_tso_offload_cuts_large_frame_into_mss_segments),
        cmocka_unit_test(test_guest_tso_offload_cuts_ipv6_frame_into_segments_equal_to_libnet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
