/* The filter chain (QEMU's netfilter order and keys) and filter-netem inside
 * a network: where frames meet filters, what the trace sees, and that a
 * delayed run repeats exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/chardev.h"
#include "core/filter.h"
#include "core/loop.h"
#include "core/net.h"
#include "core/options.h"
#include "filters/filters.h"
#include "filters/netem.h"

/* A port that records the first byte and arrival time of what it gets. */
typedef struct recorder {
    size_t count;
    uint8_t first[256];
    uint64_t at[256];
    vk_loop *loop;
} recorder;

static int rec_receive(vk_port *self, vk_frame *f)
{
    recorder *r = self->priv;
    if (r->count < 256) {
        r->first[r->count] = f->len ? f->data[0] : 0;
        r->at[r->count] = vk_loop_now(r->loop);
    }
    r->count++;
    return VK_OK;
}

static const vk_port_ops rec_ops = {.kind = "recorder", .receive = rec_receive};

/* Every trace event, as the tracer would see it. */
typedef struct event {
    char port[64];
    vk_dir dir;
    bool drop;
    uint64_t id, ts;
    char text[128]; /* note or drop reason */
} event;

typedef struct trace_log {
    size_t n;
    event ev[1024];
} trace_log;

static void log_frame(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f, uint64_t ts)
{
    trace_log *l = arg;
    if (l->n == 1024)
        return;
    event *e = &l->ev[l->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->port, sizeof e->port, "%s", p->id);
    e->dir = dir;
    e->id = f->id;
    e->ts = ts;
    if (f->note != NULL)
        snprintf(e->text, sizeof e->text, "%s", f->note);
}

static void log_drop(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f,
                     const char *reason, uint64_t ts)
{
    log_frame(arg, p, dir, f, ts);
    trace_log *l = arg;
    l->ev[l->n - 1].drop = true;
    snprintf(l->ev[l->n - 1].text, sizeof l->ev[0].text, "%s", reason);
}

static const vk_tap_ops log_ops = {.frame = log_frame, .drop = log_drop};

/* A filter that writes its id into a shared order log and may drop. */
typedef struct tagger {
    vk_filter flt;
    char *order;
    bool drop;
} tagger;

static int tag_receive(vk_filter *flt, vk_filter_dir dir, vk_frame *f)
{
    tagger *t = flt->priv;
    strcat(t->order, flt->id);
    strcat(t->order, dir == VK_FILTER_TX ? "t " : "r ");
    if (t->drop) {
        vk_filter_drop(flt, dir, f, "tagger: drop");
        return VK_FILTER_TAKEN;
    }
    return VK_FILTER_PASS;
}

static const vk_filter_ops tag_ops = {.type = "tagger", .receive = tag_receive};

typedef struct fixture {
    vk_loop *loop;
    vk_net *net;
    vk_port *nic, *netdev;
    trace_log log;
    char order[256];
    tagger tags[4];
    void *netem;
} fixture;

/* nic <-> netdev, both recorders. */
static fixture *make(void)
{
    fixture *fx = calloc(1, sizeof *fx);
    fx->loop = vk_loop_new(VK_CLOCK_VIRTUAL);
    fx->net = vk_net_new(fx->loop);
    assert_int_equal(vk_net_add_tap(fx->net, &log_ops, &fx->log), VK_OK);
    assert_int_equal(vk_port_new(fx->net, &rec_ops, "nic", "rec", sizeof(recorder), &fx->nic,
                                 NULL),
                     VK_OK);
    assert_int_equal(vk_port_new(fx->net, &rec_ops, "nd", "rec", sizeof(recorder), &fx->netdev,
                                 NULL),
                     VK_OK);
    ((recorder *)fx->nic->priv)->loop = fx->loop;
    ((recorder *)fx->netdev->priv)->loop = fx->loop;
    assert_int_equal(vk_net_connect(fx->nic, fx->netdev, NULL), VK_OK);
    return fx;
}

static int add_tag(fixture *fx, size_t i, const char *opts, vk_diag *d)
{
    vk_opts o;
    assert_int_equal(vk_opts_parse("-object", NULL, opts, &o, NULL), VK_OK);
    tagger *t = &fx->tags[i];
    t->flt.ops = &tag_ops;
    t->flt.priv = t;
    t->order = fx->order;
    int r = vk_filter_attach(&t->flt, fx->net, &o, d);
    vk_opts_free(&o);
    return r;
}

static void add_netem(fixture *fx, const char *opts)
{
    vk_opts o;
    vk_diag d;
    assert_int_equal(vk_opts_parse("-object", NULL, opts, &o, NULL), VK_OK);
    if (vk_object_filter_netem.create(fx->net, &o, &fx->netem, &d) != VK_OK)
        fail_msg("%s: %s", opts, d.msg);
    vk_opts_free(&o);
}

static void free_fixture(fixture *fx)
{
    vk_net_free(fx->net);
    if (fx->netem != NULL)
        vk_object_filter_netem.destroy(fx->netem);
    vk_loop_free(fx->loop);
    free(fx);
}

static void send_byte(vk_port *from, uint8_t b)
{
    uint8_t frame[60] = {b};
    assert_int_equal(vk_port_send_bytes(from, frame, sizeof frame), VK_OK);
}

static recorder *rec(vk_port *p)
{
    return p->priv;
}

static void test_tx_filters_run_in_order_rx_filters_in_reverse(void **state)
{
    (void)state;
    fixture *fx = make();
    assert_int_equal(add_tag(fx, 0, "id=a,netdev=nd", NULL), VK_OK);
    assert_int_equal(add_tag(fx, 1, "id=b,netdev=nd", NULL), VK_OK);
    assert_int_equal(add_tag(fx, 2, "id=c,netdev=nd,position=head", NULL), VK_OK);
    assert_int_equal(add_tag(fx, 3, "id=d,netdev=nd,position=id=a,insert=before", NULL), VK_OK);
    /* chain: c d a b */
    send_byte(fx->netdev, 1);
    assert_string_equal(fx->order, "ct dt at bt ");
    fx->order[0] = '\0';
    send_byte(fx->nic, 2);
    assert_string_equal(fx->order, "br ar dr cr ");
    assert_int_equal(rec(fx->nic)->count, 1);
    assert_int_equal(rec(fx->netdev)->count, 1);
    free_fixture(fx);
}

static void test_queue_and_status_choose_which_frames_a_filter_sees(void **state)
{
    (void)state;
    fixture *fx = make();
    assert_int_equal(add_tag(fx, 0, "id=a,netdev=nd,queue=rx", NULL), VK_OK);
    assert_int_equal(add_tag(fx, 1, "id=b,netdev=nd,queue=tx", NULL), VK_OK);
    assert_int_equal(add_tag(fx, 2, "id=c,netdev=nd,status=off", NULL), VK_OK);
    send_byte(fx->netdev, 1);
    send_byte(fx->nic, 2);
    assert_string_equal(fx->order, "bt ar ");
    free_fixture(fx);
}

static void test_a_dropped_frame_is_one_record_on_the_filters_port(void **state)
{
    (void)state;
    fixture *fx = make();
    assert_int_equal(add_tag(fx, 0, "id=a,netdev=nd,queue=rx", NULL), VK_OK);
    fx->tags[0].drop = true;
    send_byte(fx->nic, 2);
    /* nic sent it (out), the filter in nd dropped it (in, with the reason):
     * no ordinary "in" record of nd */
    assert_int_equal(fx->log.n, 2);
    assert_string_equal(fx->log.ev[0].port, "nic");
    assert_int_equal(fx->log.ev[0].dir, VK_DIR_OUT);
    assert_string_equal(fx->log.ev[1].port, "nd");
    assert_int_equal(fx->log.ev[1].dir, VK_DIR_IN);
    assert_true(fx->log.ev[1].drop);
    assert_string_equal(fx->log.ev[1].text, "tagger: drop");
    assert_int_equal(rec(fx->netdev)->count, 0);
    /* tx: the frame never leaves nd: one record, outbound, the drop */
    fx->tags[0].flt.queue = VK_FILTER_TX;
    fx->log.n = 0;
    send_byte(fx->netdev, 3);
    assert_int_equal(fx->log.n, 1);
    assert_int_equal(fx->log.ev[0].dir, VK_DIR_OUT);
    assert_true(fx->log.ev[0].drop);
    free_fixture(fx);
}

static void test_bad_common_keys_name_the_key(void **state)
{
    (void)state;
    fixture *fx = make();
    vk_diag d;
    assert_int_equal(add_tag(fx, 0, "id=a,netdev=nope", &d), VK_ENOENT);
    assert_non_null(strstr(d.msg, "no netdev 'nope'"));
    assert_int_equal(add_tag(fx, 0, "id=a,netdev=nd,queue=up", &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "key 'queue'"));
    assert_int_equal(add_tag(fx, 0, "id=a,netdev=nd,status=maybe", &d), VK_EINVAL);
    assert_int_equal(add_tag(fx, 0, "id=a,netdev=nd,position=id=zz", &d), VK_ENOENT);
    assert_non_null(strstr(d.msg, "no filter 'zz'"));
    assert_int_equal(add_tag(fx, 0, "id=a,netdev=nd,position=middle", &d), VK_EINVAL);
    assert_int_equal(add_tag(fx, 0, "id=a,netdev=nd,insert=before", &d), VK_EINVAL);
    assert_int_equal(add_tag(fx, 0, "id=a,netdev=nd,position=head,insert=aside", &d), VK_EINVAL);
    free_fixture(fx);
}

static void test_netem_delay_holds_frames_on_the_virtual_clock(void **state)
{
    (void)state;
    fixture *fx = make();
    add_netem(fx, "id=f1,netdev=nd,queue=rx,delay=10ms");
    send_byte(fx->nic, 1);
    vk_loop_run(fx->loop, 5000000);
    send_byte(fx->nic, 2);
    assert_int_equal(rec(fx->netdev)->count, 0);
    vk_loop_run(fx->loop, VK_TIME_NEVER);
    assert_int_equal(rec(fx->netdev)->count, 2);
    assert_int_equal(rec(fx->netdev)->at[0], 10000000);
    assert_int_equal(rec(fx->netdev)->at[1], 15000000);
    /* the frame's record entering nd carries netem's note, once */
    event *in = &fx->log.ev[2];
    assert_string_equal(in->port, "nd");
    assert_string_equal(in->text, "netem f1: delayed 10.000000 ms");
    /* frames the filter does not see (tx, queue=rx) pass at once, unnoted */
    send_byte(fx->netdev, 3);
    assert_int_equal(rec(fx->nic)->count, 1);
    assert_string_equal(fx->log.ev[fx->log.n - 1].text, "");
    free_fixture(fx);
}

static void test_netem_loss_and_duplicate_are_traced_with_their_cause(void **state)
{
    (void)state;
    fixture *fx = make();
    add_netem(fx, "id=f1,netdev=nd,loss=30%,duplicate=30%,seed=5");
    for (int i = 0; i < 60; i++)
        send_byte(fx->nic, (uint8_t)i);
    vk_loop_run(fx->loop, VK_TIME_NEVER);
    size_t lost = 0, dups = 0, dups_lost = 0;
    for (size_t i = 0; i < fx->log.n; i++) {
        event *e = &fx->log.ev[i];
        bool dup = strstr(e->text, "duplicate of packet") != NULL;
        if (e->drop) {
            /* a duplicate meets netem again and may be lost too */
            assert_true(strncmp(e->text, "netem f1: loss (random)", 23) == 0);
            lost++;
            dups_lost += dup;
        } else if (dup) {
            dups++;
            assert_string_equal(e->port, "nd");
        }
    }
    assert_true(lost > 5 && dups > 5);
    assert_int_equal(rec(fx->netdev)->count, 60 - (lost - dups_lost) + dups);
    free_fixture(fx);
}

static size_t drops_with(const fixture *fx, const char *reason)
{
    size_t n = 0;
    for (size_t i = 0; i < fx->log.n; i++)
        n += fx->log.ev[i].drop && strcmp(fx->log.ev[i].text, reason) == 0;
    return n;
}

static void test_frames_a_filter_holds_when_the_run_ends_are_traced_drops(void **state)
{
    (void)state;
    fixture *fx = make();
    add_netem(fx, "id=f1,netdev=nd,queue=rx,delay=10ms");
    vk_opts o;
    vk_diag d;
    void *buf;
    assert_int_equal(vk_opts_parse("-object", NULL, "id=b1,netdev=nic,queue=rx,interval=10000", &o,
                                   NULL),
                     VK_OK);
    if (vk_object_filter_buffer.create(fx->net, &o, &buf, &d) != VK_OK)
        fail_msg("%s", d.msg);
    vk_opts_free(&o);
    send_byte(fx->nic, 1);    /* delayed by netem on nd */
    send_byte(fx->netdev, 2); /* held by the buffer on nic */
    send_byte(fx->netdev, 3);
    vk_loop_run(fx->loop, 2000000); /* the run ends before either lets go */
    assert_int_equal(rec(fx->netdev)->count, 0);
    assert_int_equal(rec(fx->nic)->count, 0);
    vk_net_end(fx->net);
    assert_int_equal(drops_with(fx, "netem: still delayed at the end of the run"), 1);
    assert_int_equal(drops_with(fx, "buffer b1: still held at the end of the run"), 2);
    assert_int_equal(fx->netdev->stats.drops_other, 1);
    assert_int_equal(fx->nic->stats.drops_other, 2);
    vk_net_free(fx->net);
    fx->net = NULL;
    vk_object_filter_buffer.destroy(buf);
    vk_object_filter_netem.destroy(fx->netem);
    vk_loop_free(fx->loop);
    free(fx);
}

static void test_buffer_releases_everything_every_interval(void **state)
{
    (void)state;
    fixture *fx = make();
    vk_opts o;
    vk_diag d;
    void *buf;
    assert_int_equal(vk_opts_parse("-object", NULL, "id=b1,netdev=nd,queue=rx,interval=10000", &o,
                                   NULL),
                     VK_OK);
    if (vk_object_filter_buffer.create(fx->net, &o, &buf, &d) != VK_OK)
        fail_msg("%s", d.msg);
    vk_opts_free(&o);
    vk_loop_run(fx->loop, 1000000);
    send_byte(fx->nic, 1);
    vk_loop_run(fx->loop, 3000000);
    send_byte(fx->nic, 2);
    vk_loop_run(fx->loop, 12000000);
    send_byte(fx->nic, 3);
    vk_loop_run(fx->loop, VK_TIME_NEVER);
    recorder *r = rec(fx->netdev);
    assert_int_equal(r->count, 3);
    assert_int_equal(r->first[0], 1);
    assert_int_equal(r->first[1], 2);
    assert_int_equal(r->at[0], 10000000);
    assert_int_equal(r->at[1], 10000000);
    assert_int_equal(r->at[2], 20000000);
    vk_net_free(fx->net);
    fx->net = NULL;
    vk_object_filter_buffer.destroy(buf);
    vk_loop_free(fx->loop);
    free(fx);
    /* interval is required and positive */
    fx = make();
    assert_int_equal(vk_opts_parse("-object", NULL, "id=b1,netdev=nd,interval=0", &o, NULL),
                     VK_OK);
    assert_int_equal(vk_object_filter_buffer.create(fx->net, &o, &buf, &d), VK_EINVAL);
    assert_non_null(strstr(d.msg, "key 'interval'"));
    vk_opts_free(&o);
    free_fixture(fx);
}

static void run_once(const char *opts, trace_log *out)
{
    fixture *fx = make();
    add_netem(fx, opts);
    for (int i = 0; i < 100; i++) {
        send_byte(fx->nic, (uint8_t)i);
        send_byte(fx->netdev, (uint8_t)i);
        vk_loop_run(fx->loop, (uint64_t)(i + 1) * 1000000);
    }
    vk_loop_run(fx->loop, VK_TIME_NEVER);
    memcpy(out, &fx->log, sizeof *out);
    free_fixture(fx);
}

static void test_netem_runs_repeat_exactly_for_a_seed(void **state)
{
    (void)state;
    const char *a = "id=f1,netdev=nd,delay=3ms,jitter=2ms,loss=10%,duplicate=5%,corrupt=5%,"
                    "reorder=20%,seed=42";
    trace_log *l1 = malloc(sizeof *l1), *l2 = malloc(sizeof *l2), *l3 = malloc(sizeof *l3);
    run_once(a, l1);
    run_once(a, l2);
    run_once("id=f1,netdev=nd,delay=3ms,jitter=2ms,loss=10%,duplicate=5%,corrupt=5%,"
             "reorder=20%,seed=43",
             l3);
    assert_int_equal(l1->n, l2->n);
    assert_memory_equal(l1->ev, l2->ev, l1->n * sizeof l1->ev[0]);
    assert_true(l1->n != l3->n || memcmp(l1->ev, l3->ev, l1->n * sizeof l1->ev[0]) != 0);
    free(l1);
    free(l2);
    free(l3);
}


/* ---- filter-mirror and filter-redirector on a chardev ---- */

/* Chardev `id` whose far end is a recorder port "<id>.socket" (what a
 * -chardev socket would write to its peer). */
static vk_port *add_chardev(fixture *fx, const char *id)
{
    vk_port *fe, *sock;
    char sid[64];
    snprintf(sid, sizeof sid, "%s.socket", id);
    assert_int_equal(vk_chardev_new(fx->net, id, &fe, NULL), VK_OK);
    assert_int_equal(vk_port_new(fx->net, &rec_ops, sid, "rec", sizeof(recorder), &sock, NULL),
                     VK_OK);
    rec(sock)->loop = fx->loop;
    assert_int_equal(vk_net_connect(fe, sock, NULL), VK_OK);
    return sock;
}

static int add_object(fixture *fx, const vk_object_type *t, const char *opts, void **obj,
                      vk_diag *d)
{
    vk_opts o;
    assert_int_equal(vk_opts_parse("-object", NULL, opts, &o, NULL), VK_OK);
    int r = t->create(fx->net, &o, obj, d);
    vk_opts_free(&o);
    return r;
}

static size_t notes_on(const fixture *fx, const char *port, const char *note)
{
    size_t n = 0;
    for (size_t i = 0; i < fx->log.n; i++)
        n += strcmp(fx->log.ev[i].port, port) == 0 && strstr(fx->log.ev[i].text, note) != NULL;
    return n;
}

static void test_mirror_copies_what_its_queue_sees_and_lets_it_go_on(void **state)
{
    (void)state;
    fixture *fx = make();
    vk_port *sock = add_chardev(fx, "c0");
    void *m;
    vk_diag d;
    assert_int_equal(add_object(fx, &vk_object_filter_mirror,
                                "id=m0,netdev=nd,queue=tx,outdev=c0", &m, &d), VK_OK);
    for (int i = 1; i <= 3; i++)
        send_byte(fx->netdev, (uint8_t)i); /* the netdev sends: tx */
    send_byte(fx->nic, 9);                 /* sent to the netdev: rx, not mirrored */
    vk_loop_run(fx->loop, VK_TIME_NEVER);
    assert_int_equal(rec(fx->nic)->count, 3);
    assert_int_equal(rec(fx->netdev)->count, 1);
    assert_int_equal(rec(sock)->count, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rec(sock)->first[i], i + 1);
    assert_int_equal(notes_on(fx, "c0", "mirror m0: copy from netdev nd, tx"), 3);
    vk_object_filter_mirror.destroy(m);
    free_fixture(fx);
}

static void test_redirector_takes_frames_out_and_puts_indev_frames_on_the_path(void **state)
{
    (void)state;
    fixture *fx = make();
    vk_port *out = add_chardev(fx, "c0"), *in = add_chardev(fx, "c1");
    void *r0;
    vk_diag d;
    assert_int_equal(add_object(fx, &vk_object_filter_redirector,
                                "id=r0,netdev=nd,indev=c1,outdev=c0", &r0, &d), VK_OK);
    send_byte(fx->nic, 1);     /* rx: redirected instead of entering nd */
    send_byte(fx->netdev, 2);  /* tx: redirected instead of reaching the nic */
    vk_loop_run(fx->loop, VK_TIME_NEVER);
    assert_int_equal(rec(fx->netdev)->count, 0);
    assert_int_equal(rec(fx->nic)->count, 0);
    assert_int_equal(rec(out)->count, 2);
    assert_int_equal(notes_on(fx, "c0", "redirector r0: from netdev nd, rx"), 1);
    assert_int_equal(notes_on(fx, "c0", "redirector r0: from netdev nd, tx"), 1);
    /* read from indev with queue=all: as sent by nd (to the nic) and as
     * sent to nd, after the redirector, so it is not redirected again */
    send_byte(in, 7);
    vk_loop_run(fx->loop, VK_TIME_NEVER);
    assert_int_equal(rec(fx->nic)->count, 1);
    assert_int_equal(rec(fx->nic)->first[0], 7);
    assert_int_equal(rec(fx->netdev)->count, 1);
    assert_int_equal(rec(fx->netdev)->first[0], 7);
    assert_int_equal(rec(out)->count, 2);
    vk_object_filter_redirector.destroy(r0);
    free_fixture(fx);
}

static void test_a_chardev_has_one_user_until_it_is_released(void **state)
{
    (void)state;
    fixture *fx = make();
    add_chardev(fx, "c0");
    void *a, *b;
    vk_diag d;
    assert_int_equal(add_object(fx, &vk_object_filter_mirror, "id=m1,netdev=nd,outdev=c0", &a, &d),
                     VK_OK);
    assert_int_equal(add_object(fx, &vk_object_filter_mirror, "id=m2,netdev=nd,outdev=c0", &b, &d),
                     VK_EEXIST);
    assert_non_null(strstr(d.msg, "key 'outdev': Device 'c0' is in use by filter-mirror m1"));
    assert_int_equal(add_object(fx, &vk_object_filter_redirector, "id=r,netdev=nd,indev=nd", &b,
                                &d), VK_ENOENT);
    assert_non_null(strstr(d.msg, "IN Device 'nd' not found")); /* a netdev is no chardev */
    vk_object_filter_mirror.destroy(a);
    assert_int_equal(add_object(fx, &vk_object_filter_mirror, "id=m2,netdev=nd,outdev=c0", &b, &d),
                     VK_OK);
    vk_object_filter_mirror.destroy(b);
    free_fixture(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tx_filters_run_in_order_rx_filters_in_reverse),
        cmocka_unit_test(test_queue_and_status_choose_which_frames_a_filter_sees),
        cmocka_unit_test(test_a_dropped_frame_is_one_record_on_the_filters_port),
        cmocka_unit_test(test_bad_common_keys_name_the_key),
        cmocka_unit_test(test_netem_delay_holds_frames_on_the_virtual_clock),
        cmocka_unit_test(test_netem_loss_and_duplicate_are_traced_with_their_cause),
        cmocka_unit_test(test_netem_runs_repeat_exactly_for_a_seed),
        cmocka_unit_test(test_buffer_releases_everything_every_interval),
        cmocka_unit_test(test_frames_a_filter_holds_when_the_run_ends_are_traced_drops),
        cmocka_unit_test(test_mirror_copies_what_its_queue_sees_and_lets_it_go_on),
        cmocka_unit_test(test_redirector_takes_frames_out_and_puts_indev_frames_on_the_path),
        cmocka_unit_test(test_a_chardev_has_one_user_until_it_is_released),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
