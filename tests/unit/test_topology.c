/* Building networks from QEMU options (-netdev, -device, -nic, -net, -object)
 * and topology files, against a registry of fake kinds defined here so the
 * test proves core/ alone, not any real backend or card. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/topology.h"

/* ---- the fake registry ---- */

/* How often each constructor ran, and what the last one saw. */
static struct {
    int netdev_creates;
    int nic_creates;
    int object_creates;
    int object_destroys;
    int chardev_creates;
    int chardevs_seen_by_objects; /* chardev ports that existed when an object was made */
    uint64_t last_knob;
} calls;

static int fake_receive(vk_port *self, vk_frame *f)
{
    (void)self, (void)f;
    return VK_OK;
}

static const vk_port_ops fake_netdev_ops = {.kind = "fake", .receive = fake_receive};
static const vk_port_ops fake_nic_ops = {.kind = "nic", .receive = fake_receive};

/* Reads knob= (0..10); never reads unread=, which it nonetheless lists. */
static int fake_netdev_create(vk_net *net, const char *id, vk_opts *o, vk_port **out,
                              vk_diag *d)
{
    calls.netdev_creates++;
    int r = vk_opts_get_uint(o, "knob", 0, 0, 10, &calls.last_knob, d);
    if (r != VK_OK)
        return r;
    r = vk_port_new(net, &fake_netdev_ops, id, "fake", 0, out, NULL);
    return r == VK_OK ? r : vk_diag_set(d, r, "fake: %s", vk_strerror(r));
}

static const char *const fake_netdev_keys[] = {"knob", "unread", NULL};
static const vk_netdev_type fake_netdev = {
    .name = "fake", .live = false, .keys = fake_netdev_keys, .create = fake_netdev_create};
static const vk_netdev_type live_netdev = {
    .name = "livefake", .live = true, .keys = NULL, .create = fake_netdev_create};

typedef struct fake_nic {
    vk_mac mac;
    uint64_t rings;
} fake_nic;

static int fake_nic_create(vk_net *net, const char *id, const vk_mac *mac, vk_opts *o,
                           vk_port **out, vk_diag *d)
{
    calls.nic_creates++;
    uint64_t rings;
    int r = vk_opts_get_uint(o, "rings", 1, 1, 8, &rings, d);
    if (r != VK_OK)
        return r;
    r = vk_port_new(net, &fake_nic_ops, id, "fakenic", sizeof(fake_nic), out, NULL);
    if (r != VK_OK)
        return vk_diag_set(d, r, "fakenic: %s", vk_strerror(r));
    fake_nic *n = (*out)->priv;
    n->mac = *mac;
    n->rings = rings;
    return VK_OK;
}

static const char *const fake_nic_keys[] = {"rings", NULL};
static const vk_nic_model fake_nic_model = {
    .name = "fakenic", .keys = fake_nic_keys, .create = fake_nic_create};

static int fake_object_create(vk_net *net, vk_opts *o, void **out, vk_diag *d)
{
    (void)net, (void)d;
    calls.object_creates++;
    calls.chardevs_seen_by_objects += calls.chardev_creates;
    vk_opts_mark_used(o, "netdev");
    *out = malloc(16);
    return *out ? VK_OK : VK_ENOMEM;
}

static void fake_object_destroy(void *obj)
{
    calls.object_destroys++;
    free(obj);
}

static const char *const fake_object_keys[] = {"netdev", NULL};
static const vk_object_type fake_object = {.name = "fake-object",
                                           .keys = fake_object_keys,
                                           .create = fake_object_create,
                                           .destroy = fake_object_destroy};

static int fake_chardev_create(vk_net *net, const char *id, vk_opts *o, vk_diag *d)
{
    vk_port *p;
    calls.chardev_creates++;
    vk_opts_mark_used(o, "path");
    int r = vk_port_new(net, &fake_netdev_ops, id, "chardev", 0, &p, NULL);
    return r == VK_OK ? r : vk_diag_set(d, r, "chardev: %s", vk_strerror(r));
}

static const char *const fake_chardev_keys[] = {"path", NULL};
static const vk_chardev_type fake_chardev = {
    .name = "fakechr", .live = false, .keys = fake_chardev_keys, .create = fake_chardev_create};
static const vk_chardev_type live_chardev = {
    .name = "livechr", .live = true, .keys = fake_chardev_keys, .create = fake_chardev_create};

static const vk_netdev_type *const test_netdevs[] = {&fake_netdev, &live_netdev, NULL};
static const vk_nic_model *const test_nics[] = {&fake_nic_model, NULL};
static const vk_object_type *const test_objects[] = {&fake_object, NULL};
static const vk_chardev_type *const test_chardevs[] = {&fake_chardev, &live_chardev, NULL};
static const vk_registry test_registry = {test_netdevs, test_nics, test_objects, NULL,
                                          test_chardevs};

/* ---- fixture ---- */

typedef struct fixture {
    vk_loop *loop;
    vk_net *net;
    vk_topology *topo;
    vk_diag d;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    fx->loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    fx->net = vk_net_new(fx->loop);
    fx->topo = vk_topology_new();
    memset(&calls, 0, sizeof calls);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    vk_net_free(fx->net);
    vk_topology_free(fx->topo);
    vk_loop_free(fx->loop);
    free(fx);
    return 0;
}

/* Adds options given as pairs ("-netdev", "fake,id=a", ..., NULL) from the
 * command line; fails the test on a syntax error. */
static void add(fixture *fx, ...)
{
    va_list ap;
    va_start(ap, fx);
    const char *opt;
    while ((opt = va_arg(ap, const char *)) != NULL) {
        const char *val = va_arg(ap, const char *);
        if (vk_topology_add(fx->topo, opt, val, "command line", &fx->d) != VK_OK)
            fail_msg("%s %s: %s", opt, val, fx->d.msg);
    }
    va_end(ap);
}

static int build(fixture *fx)
{
    fx->d.msg[0] = '\0';
    return vk_topology_build(fx->topo, fx->net, &test_registry, &fx->d);
}

static void build_ok(fixture *fx)
{
    if (build(fx) != VK_OK)
        fail_msg("build failed: %s", fx->d.msg);
}

static vk_port *port(fixture *fx, const char *id)
{
    vk_port *p = vk_net_find_port(fx->net, id);
    if (p == NULL)
        fail_msg("no port '%s'", id);
    return p;
}

static void assert_mac(const vk_port *nic, uint8_t last)
{
    const vk_mac want = {{0x52, 0x54, 0x00, 0x12, 0x34, last}};
    assert_memory_equal(((fake_nic *)nic->priv)->mac.b, want.b, 6);
}

/* Asserts the message contains every fragment given (NULL-terminated). */
static void assert_msg(const fixture *fx, ...)
{
    va_list ap;
    va_start(ap, fx);
    const char *frag;
    while ((frag = va_arg(ap, const char *)) != NULL)
        if (strstr(fx->d.msg, frag) == NULL)
            fail_msg("message '%s' lacks '%s'", fx->d.msg, frag);
    va_end(ap);
}

/* ---- building ---- */

static void test_device_becomes_the_peer_of_its_netdev(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,id=n0,knob=3", "-device", "fakenic,netdev=n0,id=nic0,rings=2", NULL);
    build_ok(fx);
    vk_port *n0 = port(fx, "n0"), *nic = port(fx, "nic0");
    assert_ptr_equal(n0->peer, nic);
    assert_ptr_equal(nic->peer, n0);
    assert_int_equal(calls.last_knob, 3);
    assert_int_equal(((fake_nic *)nic->priv)->rings, 2);
    assert_string_equal(n0->model, "fake");
    assert_int_equal(vk_topology_nic_count(fx->topo), 1);
    assert_ptr_equal(vk_topology_nic_at(fx->topo, 0), nic);
    assert_null(vk_topology_nic_at(fx->topo, 1));
}

static void test_device_without_id_is_named_after_its_model(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,id=a", "-netdev", "fake,id=b", "-device", "fakenic,netdev=a",
        "-device", "fakenic,netdev=b", "-device", "fakenic", NULL);
    build_ok(fx);
    assert_ptr_equal(port(fx, "fakenic.0")->peer, port(fx, "a"));
    assert_ptr_equal(port(fx, "fakenic.1")->peer, port(fx, "b"));
    /* a NIC without netdev= is legal in QEMU: it just has no peer */
    assert_null(port(fx, "fakenic.2")->peer);
}

static void test_nics_get_qemu_default_macs_in_creation_order(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,id=a", "-netdev", "fake,id=b", "-device", "fakenic,netdev=a,id=x",
        "-device", "fakenic,netdev=b,id=y", NULL);
    build_ok(fx);
    assert_mac(port(fx, "x"), 0x56);
    assert_mac(port(fx, "y"), 0x57);
}

static void test_default_mac_skips_ones_the_user_gave(void **state)
{
    fixture *fx = *state;
    /* as QEMU: an explicit 52:54:00:12:34:XX is taken, others do not count */
    add(fx, "-device", "fakenic,id=a,mac=52:54:00:12:34:56", "-device",
        "fakenic,id=b,mac=02:00:00:00:00:01", "-device", "fakenic,id=c", "-device",
        "fakenic,id=d,mac=52:54:00:12:34:58", "-device", "fakenic,id=e", NULL);
    build_ok(fx);
    assert_mac(port(fx, "c"), 0x57);
    assert_mac(port(fx, "e"), 0x59);
    const vk_mac b = {{0x02, 0, 0, 0, 0, 0x01}};
    assert_memory_equal(((fake_nic *)port(fx, "b")->priv)->mac.b, b.b, 6);
}

static void test_hubport_joins_hub_and_peers_its_netdev(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,id=n0", "-netdev", "hubport,id=h0,hubid=7,netdev=n0", "-netdev",
        "hubport,id=h1,hubid=7", "-netdev", "hubport,id=h2,hubid=0", NULL);
    build_ok(fx);
    assert_ptr_equal(port(fx, "h0")->peer, port(fx, "n0"));
    assert_null(port(fx, "h1")->peer);
    assert_int_equal(vk_net_hub_size(fx->net, 7), 2);
    assert_int_equal(vk_net_hub_size(fx->net, 0), 1);
}

static void test_device_may_use_a_hubport_as_its_netdev(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "hubport,id=h0,hubid=0", "-device", "fakenic,netdev=h0,id=nic", NULL);
    build_ok(fx);
    assert_ptr_equal(port(fx, "nic")->peer, port(fx, "h0"));
}

static void test_nic_option_creates_netdev_and_nic(void **state)
{
    fixture *fx = *state;
    add(fx, "-nic", "fake,model=fakenic,knob=4,rings=3", "-nic",
        "fake,id=second,model=fakenic,mac=52:54:00:aa:bb:cc", NULL);
    build_ok(fx);
    vk_port *nd0 = port(fx, "__org.qemu.nic0"), *nic0 = port(fx, "fakenic.0");
    assert_ptr_equal(nd0->peer, nic0);
    assert_string_equal(nd0->model, "fake");
    assert_int_equal(((fake_nic *)nic0->priv)->rings, 3);
    assert_mac(nic0, 0x56);
    vk_port *nd1 = port(fx, "second"), *nic1 = port(fx, "fakenic.1");
    assert_ptr_equal(nd1->peer, nic1);
    assert_int_equal(((fake_nic *)nic1->priv)->mac.b[5], 0xcc);
    assert_int_equal(calls.netdev_creates, 2);
    assert_int_equal(calls.nic_creates, 2);
    assert_int_equal(vk_topology_nic_count(fx->topo), 2);
}

static void test_nic_auto_ids_count_only_nic_and_net_nic(void **state)
{
    fixture *fx = *state;
    /* QEMU numbers __org.qemu.nicN in its nd_table: -device NICs are not in it */
    add(fx, "-netdev", "hubport,id=h0,hubid=0", "-device", "fakenic,netdev=h0", "-nic",
        "fake,model=fakenic", "-net", "nic,model=fakenic", "-nic", "fake,model=fakenic", NULL);
    build_ok(fx);
    assert_non_null(port(fx, "__org.qemu.nic0"));
    assert_non_null(port(fx, "__org.qemu.nic2"));
    assert_null(vk_net_find_port(fx->net, "__org.qemu.nic1"));
}

static void test_nic_none_creates_nothing(void **state)
{
    fixture *fx = *state;
    add(fx, "-nic", "none", NULL);
    build_ok(fx);
    assert_int_equal(vk_net_port_count(fx->net), 0);
}

static void test_legacy_net_joins_hub_zero_with_qemu_names(void **state)
{
    fixture *fx = *state;
    add(fx, "-net", "nic,model=fakenic,vlan=0", "-net", "fake,knob=1", "-net",
        "nic,model=fakenic,name=guest2,macaddr=52:54:00:12:34:60", NULL);
    build_ok(fx);
    vk_port *nic = port(fx, "fakenic.0"), *nd = port(fx, "fake.0"), *g2 = port(fx, "guest2");
    assert_ptr_equal(nic->peer, port(fx, "hub0port0"));
    assert_ptr_equal(nd->peer, port(fx, "hub0port1"));
    assert_ptr_equal(g2->peer, port(fx, "hub0port2"));
    assert_int_equal(vk_net_hub_size(fx->net, 0), 3);
    assert_mac(nic, 0x56);
    assert_mac(g2, 0x60);
    assert_int_equal(vk_topology_nic_count(fx->topo), 2);
    assert_ptr_equal(vk_topology_nic_at(fx->topo, 1), g2);
}

static void test_nic_list_follows_option_order_across_kinds(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,id=a", "-device", "fakenic,netdev=a,id=first", "-nic",
        "fake,model=fakenic", "-net", "nic,model=fakenic,id=third", "-device",
        "fakenic,id=fourth", NULL);
    build_ok(fx);
    const char *want[] = {"first", "fakenic.0", "third", "fourth"};
    assert_int_equal(vk_topology_nic_count(fx->topo), 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(vk_topology_nic_at(fx->topo, i)->id, want[i]);
}

static void test_objects_are_created_and_destroyed_with_the_topology(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,id=n0", "-object", "fake-object,id=o1,netdev=n0", "-object",
        "fake-object,id=o2", NULL);
    build_ok(fx);
    assert_int_equal(calls.object_creates, 2);
    vk_topology_free(fx->topo);
    fx->topo = NULL;
    assert_int_equal(calls.object_destroys, 2);
}

static void test_needs_live_when_any_netdev_is_live(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,id=a", NULL);
    assert_false(vk_topology_needs_live(fx->topo, &test_registry));
    add(fx, "-nic", "livefake,model=fakenic", NULL);
    assert_true(vk_topology_needs_live(fx->topo, &test_registry));
}

/* ---- errors ---- */

static void test_unknown_netdev_type_is_an_error_naming_it(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "tap,id=t0", NULL);
    assert_int_equal(build(fx), VK_EINVAL);
    assert_msg(fx, "-netdev tap,id=t0", "key 'type'", "unknown netdev type 'tap'", NULL);
    assert_int_equal(calls.netdev_creates, 0);
}

static void test_unknown_key_is_reported_before_the_constructor_runs(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,id=n0,knob=1,bogus=2", NULL);
    assert_int_equal(build(fx), VK_EINVAL);
    assert_msg(fx, "key 'bogus': unknown key", NULL);
    assert_int_equal(calls.netdev_creates, 0);
    assert_int_equal(vk_net_port_count(fx->net), 0);
}

static void test_unknown_key_of_device_and_nic_reported_before_constructors(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,id=n0", "-device", "fakenic,netdev=n0,knob=1", NULL);
    assert_int_equal(build(fx), VK_EINVAL);
    assert_msg(fx, "-device fakenic,netdev=n0,knob=1", "key 'knob': unknown key", NULL);
    assert_int_equal(calls.nic_creates, 0);

    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    memset(&calls, 0, sizeof calls);
    add(fx, "-nic", "fake,model=fakenic,speed=10", NULL);
    assert_int_equal(build(fx), VK_EINVAL);
    assert_msg(fx, "key 'speed': unknown key", NULL);
    assert_int_equal(calls.netdev_creates, 0);
    assert_int_equal(calls.nic_creates, 0);
}

static void test_listed_key_no_constructor_read_is_reported_after(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,id=n0,unread=1", NULL);
    assert_int_equal(build(fx), VK_EINVAL);
    assert_msg(fx, "key 'unread': unknown key", NULL);
    assert_int_equal(calls.netdev_creates, 1);
}

static void test_duplicate_id_is_rejected_across_kinds(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,id=dup", "-netdev", "hubport,id=dup,hubid=0", NULL);
    assert_int_equal(build(fx), VK_EEXIST);
    assert_msg(fx, "-netdev hubport,id=dup,hubid=0", "key 'id'", "duplicate id 'dup'", NULL);

    vk_net_free(fx->net);
    fx->net = vk_net_new(fx->loop);
    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    memset(&calls, 0, sizeof calls);
    add(fx, "-netdev", "fake,id=dup", "-device", "fakenic,id=dup", NULL);
    assert_int_equal(build(fx), VK_EEXIST);
    assert_int_equal(calls.nic_creates, 0);

    vk_net_free(fx->net);
    fx->net = vk_net_new(fx->loop);
    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    memset(&calls, 0, sizeof calls);
    add(fx, "-netdev", "fake,id=a", "-netdev", "fake,id=a", NULL);
    assert_int_equal(build(fx), VK_EEXIST);
    assert_int_equal(calls.netdev_creates, 1);
}

static void test_duplicate_object_id_is_rejected_before_anything_is_built(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,id=n0", "-object", "fake-object,id=o", "-object",
        "fake-object,id=o", NULL);
    assert_int_equal(build(fx), VK_EEXIST);
    assert_msg(fx, "duplicate id 'o'", NULL);
    assert_int_equal(calls.netdev_creates, 0);
    assert_int_equal(calls.object_creates, 0);
}

static void test_device_naming_a_missing_netdev_is_an_error(void **state)
{
    fixture *fx = *state;
    add(fx, "-device", "fakenic,netdev=nope", NULL);
    assert_int_equal(build(fx), VK_ENOENT);
    assert_msg(fx, "key 'netdev'", "no netdev 'nope'", NULL);
    assert_int_equal(calls.nic_creates, 0);
}

static void test_netdev_defined_after_its_device_is_dangling(void **state)
{
    fixture *fx = *state;
    add(fx, "-device", "fakenic,netdev=n0", "-netdev", "fake,id=n0", NULL);
    assert_int_equal(build(fx), VK_ENOENT);
    assert_msg(fx, "must be defined before it is used", NULL);
}

static void test_device_may_not_name_another_nic_as_netdev(void **state)
{
    fixture *fx = *state;
    add(fx, "-device", "fakenic,id=nic0", "-device", "fakenic,netdev=nic0", NULL);
    assert_int_equal(build(fx), VK_ENOENT);
    assert_msg(fx, "no netdev 'nic0'", NULL);
}

static void test_netdev_used_twice_is_an_error_naming_the_first_user(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,id=n0", "-device", "fakenic,netdev=n0,id=one", "-device",
        "fakenic,netdev=n0,id=two", NULL);
    assert_int_equal(build(fx), VK_EEXIST);
    assert_msg(fx, "-device fakenic,netdev=n0,id=two", "netdev 'n0' is already in use by 'one'",
               NULL);
}

static void test_hubport_netdev_already_in_use_is_an_error(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,id=n0", "-device", "fakenic,netdev=n0", "-netdev",
        "hubport,id=h0,hubid=0,netdev=n0", NULL);
    assert_int_equal(build(fx), VK_EEXIST);
    assert_msg(fx, "already in use by 'fakenic.0'", NULL);
}

static void test_bad_ids_are_rejected(void **state)
{
    fixture *fx = *state;
    const char *bad[] = {"fake,id=0abc", "fake,id=a/b", "fake,id=..", "fake,id=a b",
                         "fake,id=", "hubport,hubid=0,id=_x",
                         "fake,id=a123456789012345678901234567890123456789012345678901234567890123"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vk_topology_free(fx->topo);
        fx->topo = vk_topology_new();
        add(fx, "-netdev", bad[i], NULL);
        if (build(fx) != VK_EINVAL)
            fail_msg("'%s' was accepted (%s)", bad[i], fx->d.msg);
        assert_msg(fx, "key 'id'", "is not a valid id", NULL);
    }
    assert_int_equal(calls.netdev_creates, 0);
    assert_int_equal(vk_net_port_count(fx->net), 0);
    /* the id rule allows these */
    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    add(fx, "-netdev", "fake,id=A-b.c_9", "-device", "fakenic,id=z", NULL);
    build_ok(fx);
}

static void test_missing_id_or_hubid_is_an_error(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,knob=1", NULL);
    assert_int_equal(build(fx), VK_EINVAL);
    assert_msg(fx, "key 'id': missing", NULL);
    assert_int_equal(calls.netdev_creates, 0);

    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    add(fx, "-netdev", "hubport,hubid=1", NULL);
    assert_int_equal(build(fx), VK_EINVAL);
    assert_msg(fx, "key 'id': missing", NULL);

    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    add(fx, "-netdev", "hubport,id=h", NULL);
    assert_int_equal(build(fx), VK_EINVAL);
    assert_msg(fx, "key 'hubid': missing", NULL);

    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    add(fx, "-object", "fake-object", NULL);
    assert_int_equal(build(fx), VK_EINVAL);
    assert_msg(fx, "key 'id': missing", NULL);
    assert_int_equal(calls.object_creates, 0);
}

static void test_missing_type_driver_or_qom_type_is_an_error(void **state)
{
    fixture *fx = *state;
    const char *opts[][3] = {{"-netdev", "id=x", "key 'type': missing"},
                             {"-device", "netdev=x", "key 'driver': missing"},
                             {"-nic", "model=fakenic", "key 'type': missing"},
                             {"-net", "vlan=0", "key 'type': missing"},
                             {"-object", "id=o", "key 'qom-type': missing"}};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        vk_topology_free(fx->topo);
        fx->topo = vk_topology_new();
        add(fx, opts[i][0], opts[i][1], NULL);
        assert_int_equal(build(fx), VK_EINVAL);
        assert_msg(fx, opts[i][2], NULL);
    }
}

static void test_bad_mac_is_an_error_before_the_nic_exists(void **state)
{
    fixture *fx = *state;
    const char *bad[] = {"fakenic,mac=52:54:00:12:34", "fakenic,mac=01:00:5e:00:00:01",
                         "fakenic,mac=nonsense"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vk_topology_free(fx->topo);
        fx->topo = vk_topology_new();
        add(fx, "-device", bad[i], NULL);
        assert_int_equal(build(fx), VK_EINVAL);
        assert_msg(fx, "key 'mac'", NULL);
    }
    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    add(fx, "-nic", "fake,model=fakenic,mac=ff:ff:ff:ff:ff:ff", NULL);
    assert_int_equal(build(fx), VK_EINVAL);
    assert_msg(fx, "key 'mac'", "multicast", NULL);
    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    add(fx, "-net", "nic,model=fakenic,macaddr=xx", NULL);
    assert_int_equal(build(fx), VK_EINVAL);
    assert_msg(fx, "key 'macaddr'", NULL);
    assert_int_equal(calls.nic_creates, 0);
    assert_int_equal(calls.netdev_creates, 0);
}

static void test_bad_number_names_option_and_key(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "hubport,id=h,hubid=one", NULL);
    assert_int_equal(build(fx), VK_EINVAL);
    assert_msg(fx, "-netdev hubport,id=h,hubid=one: key 'hubid': 'one' is not a number", NULL);

    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    add(fx, "-netdev", "fake,id=n,knob=11", NULL);
    assert_int_equal(build(fx), VK_ERANGE);
    assert_msg(fx, "key 'knob': 11 is out of range 0..10", NULL);
}

static void test_unknown_model_and_object_are_errors(void **state)
{
    fixture *fx = *state;
    add(fx, "-device", "rtl8139", NULL);
    assert_int_equal(build(fx), VK_EINVAL);
    assert_msg(fx, "key 'driver'", "unknown NIC model 'rtl8139'", NULL);

    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    add(fx, "-nic", "fake,model=ne2k_pci", NULL);
    assert_int_equal(build(fx), VK_EINVAL);
    assert_msg(fx, "key 'model'", "unknown NIC model 'ne2k_pci'", NULL);
    assert_int_equal(calls.netdev_creates, 0);

    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    add(fx, "-object", "memory-backend-ram,id=m", NULL);
    assert_int_equal(build(fx), VK_EINVAL);
    assert_msg(fx, "key 'qom-type'", "unknown object type 'memory-backend-ram'", NULL);
}

static void test_chardevs_are_built_before_the_objects_that_name_them(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,id=n0", "-object", "fake-object,id=o1,netdev=n0", "-chardev",
        "fakechr,id=c0,path=x", NULL);
    assert_int_equal(build(fx), VK_OK);
    assert_int_equal(calls.chardevs_seen_by_objects, 1);
    assert_non_null(vk_net_find_port(fx->net, "c0"));
    assert_false(vk_topology_needs_live(fx->topo, &test_registry));
}

/* A fresh topology of one option fails to build with err and a message
 * holding both fragments. */
static void expect_build_error(fixture *fx, const char *option, const char *value, int err,
                               const char *frag1, const char *frag2)
{
    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    add(fx, option, value, NULL);
    assert_int_equal(build(fx), err);
    assert_msg(fx, frag1, frag2, NULL);
}

static void test_chardev_errors_and_live_chardevs(void **state)
{
    fixture *fx = *state;
    expect_build_error(fx, "-chardev", "pty,id=c0", VK_EINVAL, "-chardev pty,id=c0: key 'backend'",
                       "'pty' is not a valid char driver name");
    expect_build_error(fx, "-chardev", "fakechr,path=x", VK_EINVAL, "key 'id'", "missing");
    expect_build_error(fx, "-chardev", "fakechr,id=c0,speed=9600", VK_EINVAL, "key 'speed'",
                       "unknown key");
    assert_int_equal(calls.chardev_creates, 0);
    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    add(fx, "-chardev", "livechr,id=c0", NULL);
    assert_true(vk_topology_needs_live(fx->topo, &test_registry));
}

static void test_unknown_option_and_syntax_errors_fail_at_add(void **state)
{
    fixture *fx = *state;
    assert_int_equal(vk_topology_add(fx->topo, "-serial", "x", "here", &fx->d), VK_EINVAL);
    assert_msg(fx, "here: unknown option '-serial'", NULL);
    assert_int_equal(vk_topology_add(fx->topo, "-netdev", "", "here", &fx->d), VK_EINVAL);
    assert_int_equal(vk_topology_count(fx->topo), 0);
}

static void test_build_stops_at_first_error_and_keeps_earlier_ports(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,id=a", "-netdev", "nope,id=b", "-netdev", "fake,id=c", NULL);
    assert_int_equal(build(fx), VK_EINVAL);
    assert_int_equal(calls.netdev_creates, 1);
    assert_null(vk_net_find_port(fx->net, "c"));
}

/* ---- topology files ---- */

/* Writes text to a fresh file in /tmp; returns its path (static buffer). */
static const char *write_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/vk-test-topo-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

static int load(fixture *fx, const char *text, char *path_out, size_t cap)
{
    const char *path = write_file(text);
    snprintf(path_out, cap, "%s", path);
    fx->d.msg[0] = '\0';
    int r = vk_topology_load_file(fx->topo, path, &fx->d);
    unlink(path);
    return r;
}

static void test_file_options_build_like_the_command_line(void **state)
{
    fixture *fx = *state;
    char path[64];
    const char *text = "# a topology as pasted from a shell script\n"
                       "\n"
                       "-netdev fake,id=a   # trailing comment\n"
                       "-netdev 'fake,id=b,knob=2' -netdev \"hubport,id=h0,hubid=0\"\n"
                       "-device \\\n"
                       "    fakenic,netdev=a,id=nic0,\\\n"
                       "rings=4 \\\n"
                       "  -device fakenic,netdev=b,id=x\n"
                       "\t-netdev 'fake,id=c,knob=1'\r\n";
    assert_int_equal(load(fx, text, path, sizeof path), VK_OK);
    assert_int_equal(vk_topology_count(fx->topo), 6);
    assert_string_equal(vk_topology_text(fx->topo),
                        "-netdev fake,id=a -netdev fake,id=b,knob=2 -netdev hubport,id=h0,hubid=0 "
                        "-device fakenic,netdev=a,id=nic0,rings=4 -device fakenic,netdev=b,id=x "
                        "-netdev fake,id=c,knob=1");
    build_ok(fx);
    assert_ptr_equal(port(fx, "nic0")->peer, port(fx, "a"));
    assert_int_equal(((fake_nic *)port(fx, "nic0")->priv)->rings, 4);
    assert_ptr_equal(port(fx, "x")->peer, port(fx, "b"));
    assert_int_equal(vk_net_hub_size(fx->net, 0), 1);
    assert_int_equal(calls.last_knob, 1);
}

static void test_file_hash_inside_a_word_is_not_a_comment(void **state)
{
    fixture *fx = *state;
    char path[64], want[160];
    assert_int_equal(load(fx, "-device fakenic,id=x#y # a real comment\n", path, sizeof path),
                     VK_OK);
    assert_string_equal(vk_topology_text(fx->topo), "-device fakenic,id=x#y");
    assert_int_equal(build(fx), VK_EINVAL);
    snprintf(want, sizeof want, "%s:1: -device fakenic,id=x#y: key 'id': 'x#y' is not a valid id",
             path);
    assert_int_equal(strncmp(fx->d.msg, want, strlen(want)), 0);
}

static void test_file_lines_are_counted_through_continuations(void **state)
{
    fixture *fx = *state;
    char path[64];
    const char *text = "# line 1\n"
                       "-netdev fake,id=a \\\n"
                       "  -netdev fake,id=b\n"
                       "-device fakenic,netdev=a,\\\n"
                       "id=n1 -device \\\n"
                       "'fakenic,netdev=b' -netdev fake,id=c,bogus=1\n";
    assert_int_equal(load(fx, text, path, sizeof path), VK_OK);
    assert_int_equal(vk_topology_count(fx->topo), 5);
    assert_int_equal(build(fx), VK_EINVAL);
    char want[128];
    snprintf(want, sizeof want, "%s:6: -netdev fake,id=c,bogus=1: key 'bogus': unknown key", path);
    assert_string_equal(fx->d.msg, want);
    /* everything before it was built */
    assert_ptr_equal(port(fx, "n1")->peer, port(fx, "a"));
    assert_ptr_equal(port(fx, "fakenic.0")->peer, port(fx, "b"));
}

static void test_file_unterminated_quote_names_the_line_it_opened_on(void **state)
{
    fixture *fx = *state;
    char path[64], want[128];
    assert_int_equal(load(fx, "-netdev fake,id=a\n-netdev 'fake,id=b\n-netdev fake,id=c\n", path,
                          sizeof path),
                     VK_EFORMAT);
    snprintf(want, sizeof want, "%s:2: unterminated quote", path);
    assert_string_equal(fx->d.msg, want);

    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    assert_int_equal(load(fx, "\n\n\"-netdev fake,id=a\n", path, sizeof path), VK_EFORMAT);
    snprintf(want, sizeof want, "%s:3: unterminated quote", path);
    assert_string_equal(fx->d.msg, want);
}

static void test_file_errors_name_file_and_line(void **state)
{
    fixture *fx = *state;
    char path[64], want[160];
    assert_int_equal(load(fx, "-netdev fake,id=a\n\n  -serial x\n", path, sizeof path),
                     VK_EINVAL);
    snprintf(want, sizeof want, "%s:3: unknown option '-serial'", path);
    assert_string_equal(fx->d.msg, want);

    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    assert_int_equal(load(fx, "-netdev fake,id=a -netdev\n# nothing after\n", path, sizeof path),
                     VK_EINVAL);
    snprintf(want, sizeof want, "%s:1: option '-netdev' needs a value", path);
    assert_string_equal(fx->d.msg, want);

    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    assert_int_equal(load(fx, "# c\n-netdev ,id=a\n", path, sizeof path), VK_EINVAL);
    snprintf(want, sizeof want, "%s:2: -netdev ,id=a: empty element", path);
    assert_string_equal(fx->d.msg, want);

    vk_topology_free(fx->topo);
    fx->topo = vk_topology_new();
    assert_int_equal(vk_topology_load_file(fx->topo, "/nonexistent/x.topo", &fx->d), VK_ENOENT);
    assert_msg(fx, "/nonexistent/x.topo", NULL);
}

static void test_empty_file_is_an_empty_topology(void **state)
{
    fixture *fx = *state;
    char path[64];
    assert_int_equal(load(fx, "# nothing here\n\n   \n", path, sizeof path), VK_OK);
    assert_int_equal(vk_topology_count(fx->topo), 0);
    assert_string_equal(vk_topology_text(fx->topo), "");
    build_ok(fx);
}

static void test_topology_text_follows_additions(void **state)
{
    fixture *fx = *state;
    add(fx, "-netdev", "fake,id=a", NULL);
    assert_string_equal(vk_topology_text(fx->topo), "-netdev fake,id=a");
    add(fx, "-device", "fakenic,netdev=a,mac=52:54:00:12:34:99", "-nic", "fake,,x", NULL);
    /* the original text, escapes and all */
    assert_string_equal(vk_topology_text(fx->topo),
                        "-netdev fake,id=a -device fakenic,netdev=a,mac=52:54:00:12:34:99 "
                        "-nic fake,,x");
    assert_int_equal(vk_topology_count(fx->topo), 3);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_device_becomes_the_peer_of_its_netdev),
        T(test_device_without_id_is_named_after_its_model),
        T(test_nics_get_qemu_default_macs_in_creation_order),
        T(test_default_mac_skips_ones_the_user_gave),
        T(test_hubport_joins_hub_and_peers_its_netdev),
        T(test_device_may_use_a_hubport_as_its_netdev),
        T(test_nic_option_creates_netdev_and_nic),
        T(test_nic_auto_ids_count_only_nic_and_net_nic),
        T(test_nic_none_creates_nothing),
        T(test_legacy_net_joins_hub_zero_with_qemu_names),
        T(test_nic_list_follows_option_order_across_kinds),
        T(test_objects_are_created_and_destroyed_with_the_topology),
        T(test_needs_live_when_any_netdev_is_live),
        T(test_chardevs_are_built_before_the_objects_that_name_them),
        T(test_chardev_errors_and_live_chardevs),
        T(test_unknown_netdev_type_is_an_error_naming_it),
        T(test_unknown_key_is_reported_before_the_constructor_runs),
        T(test_unknown_key_of_device_and_nic_reported_before_constructors),
        T(test_listed_key_no_constructor_read_is_reported_after),
        T(test_duplicate_id_is_rejected_across_kinds),
        T(test_duplicate_object_id_is_rejected_before_anything_is_built),
        T(test_device_naming_a_missing_netdev_is_an_error),
        T(test_netdev_defined_after_its_device_is_dangling),
        T(test_device_may_not_name_another_nic_as_netdev),
        T(test_netdev_used_twice_is_an_error_naming_the_first_user),
        T(test_hubport_netdev_already_in_use_is_an_error),
        T(test_bad_ids_are_rejected),
        T(test_missing_id_or_hubid_is_an_error),
        T(test_missing_type_driver_or_qom_type_is_an_error),
        T(test_bad_mac_is_an_error_before_the_nic_exists),
        T(test_bad_number_names_option_and_key),
        T(test_unknown_model_and_object_are_errors),
        T(test_unknown_option_and_syntax_errors_fail_at_add),
        T(test_build_stops_at_first_error_and_keeps_earlier_ports),
        T(test_file_options_build_like_the_command_line),
        T(test_file_hash_inside_a_word_is_not_a_comment),
        T(test_file_lines_are_counted_through_continuations),
        T(test_file_unterminated_quote_names_the_line_it_opened_on),
        T(test_file_errors_name_file_and_line),
        T(test_empty_file_is_an_empty_topology),
        T(test_topology_text_follows_additions),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
