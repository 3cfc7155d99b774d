/* QEMU's set_link: a port with its link down neither sends nor takes frames
 * (each a traced drop), a netdev's NIC follows it, and each card shows the
 * link in its status register and says so with its interrupt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/net.h"
#include "helpers/nic_bench.h"
#include "nics/e1000.h"
#include "nics/rtl8139.h"
#include "nics/virtio_net.h"

static const vk_mac mac = {{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
static const uint8_t to_card[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static void test_a_down_link_takes_nothing_and_says_why(void **state)
{
    (void)state;
    vk_nic_bench *b = vk_nic_bench_new(&vk_nic_e1000, &mac, "");
    uint8_t f[60];
    vk_test_frame_fill(f, sizeof f, to_card, 1);
    assert_int_equal(vk_net_set_link(b->net, "nic0", false, NULL), VK_OK);
    vk_nic_bench_inject(b, f, sizeof f);
    assert_int_equal(b->guest.n, 0);
    assert_int_equal(b->dropped.n, 1);
    assert_string_equal(b->dropped.reason, "link down");
    assert_int_equal(vk_net_set_link(b->net, "nic0", true, NULL), VK_OK);
    vk_nic_bench_inject(b, f, sizeof f);
    assert_int_equal(b->dropped.n, 1);
    vk_diag d;
    assert_int_equal(vk_net_set_link(b->net, "nope", false, &d), VK_ENOENT);
    assert_non_null(strstr(d.msg, "no netdev or NIC 'nope'"));
    vk_nic_bench_free(b);
}

static void test_a_netdevs_nic_follows_it_but_not_the_reverse(void **state)
{
    (void)state;
    vk_nic_bench *b = vk_nic_bench_new(&vk_nic_e1000, &mac, "");
    assert_int_equal(vk_net_set_link(b->net, b->wire->id, false, NULL), VK_OK);
    assert_true(b->wire->link_down);
    assert_true(b->nic->link_down);
    assert_int_equal(vk_net_set_link(b->net, "nic0", true, NULL), VK_OK);
    assert_false(b->nic->link_down);
    assert_true(b->wire->link_down);
    vk_nic_bench_free(b);
}

static void test_e1000_status_lu_and_lsc_interrupt_follow_the_link(void **state)
{
    (void)state;
    /* without the driver half, nothing reads ICR behind the test's back */
    vk_nic_bench *b = vk_nic_bench_new(&vk_nic_e1000, &mac, "guest-driver=off");
    assert_true(vk_e1000_mmio_read(b->nic, VK_E1000_STATUS) & VK_E1000_STATUS_LU);
    vk_e1000_mmio_read(b->nic, VK_E1000_ICR); /* read clears */
    vk_net_set_link(b->net, "nic0", false, NULL);
    assert_false(vk_e1000_mmio_read(b->nic, VK_E1000_STATUS) & VK_E1000_STATUS_LU);
    assert_true(vk_e1000_mmio_read(b->nic, VK_E1000_ICR) & VK_E1000_ICR_LSC);
    vk_net_set_link(b->net, "nic0", true, NULL);
    assert_true(vk_e1000_mmio_read(b->nic, VK_E1000_STATUS) & VK_E1000_STATUS_LU);
    assert_true(vk_e1000_mmio_read(b->nic, VK_E1000_ICR) & VK_E1000_ICR_LSC);
    vk_nic_bench_free(b);
}

static void test_rtl8139_bmsr_msr_and_linkchg_follow_the_link(void **state)
{
    (void)state;
    vk_nic_bench *b = vk_nic_bench_new(&vk_nic_rtl8139, &mac, "guest-driver=off");
    assert_true(vk_rtl8139_io_read(b->nic, VK_RTL_BMSR, 2) & 0x0004);
    assert_false(vk_rtl8139_io_read(b->nic, VK_RTL_MSR, 1) & 0x04);
    vk_net_set_link(b->net, "nic0", false, NULL);
    assert_false(vk_rtl8139_io_read(b->nic, VK_RTL_BMSR, 2) & 0x0004);
    assert_true(vk_rtl8139_io_read(b->nic, VK_RTL_MSR, 1) & 0x04); /* LINKB: link bad */
    assert_true(vk_rtl8139_io_read(b->nic, VK_RTL_ISR, 2) & VK_RTL_INT_PUN);
    vk_nic_bench_free(b);
}

static void test_virtio_net_status_follows_the_link(void **state)
{
    (void)state;
    vk_nic_bench *b = vk_nic_bench_new(&vk_virtio_net_pci_model, &mac, "");
    uint8_t st = 0;
    assert_int_equal(vk_virtio_net_config_read(b->nic, 6, &st, 1), VK_OK);
    assert_int_equal(st, 1);
    vk_net_set_link(b->net, "nic0", false, NULL);
    assert_int_equal(vk_virtio_net_config_read(b->nic, 6, &st, 1), VK_OK);
    assert_int_equal(st, 0);
    vk_nic_bench_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_down_link_takes_nothing_and_says_why),
        cmocka_unit_test(test_a_netdevs_nic_follows_it_but_not_the_reverse),
        cmocka_unit_test(test_e1000_status_lu_and_lsc_interrupt_follow_the_link),
        cmocka_unit_test(test_rtl8139_bmsr_msr_and_linkchg_follow_the_link),
        cmocka_unit_test(test_virtio_net_status_follows_the_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
