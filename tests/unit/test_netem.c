/* filter-netem's engine: every impairment's rate and distribution measured
 * over many frames against what was configured, the loss models against
 * their analytic values, and tc's vocabulary parsed or refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/loop.h"
#include "core/options.h"
#include "filters/netem.h"

#define N_FRAMES 1000000

static int parse(const char *text, vk_netem_config *c, vk_diag *d)
{
    vk_opts o;
    int r = vk_opts_parse("-object", NULL, text, &o, d);
    if (r != VK_OK)
        return r;
    r = vk_netem_config_parse(c, &o, "f1", d);
    vk_opts_free(&o);
    return r;
}

static vk_netem_state *state_of(const char *text)
{
    vk_netem_config c;
    vk_diag d = {{0}};
    int r = parse(text, &c, &d);
    if (r != VK_OK)
        fail_msg("%s: %s", text, d.msg);
    vk_netem_state *st = malloc(sizeof *st);
    assert_non_null(st);
    vk_netem_init(st, &c);
    return st;
}

/* Fraction of N frames dropped, one frame a millisecond. */
static double loss_rate(vk_netem_state *st, size_t n)
{
    size_t lost = 0;
    for (size_t i = 0; i < n; i++) {
        vk_netem_verdict v;
        vk_netem_decide(st, i * 1000000ull, 100, 0, true, &v);
        lost += v.drop;
    }
    return (double)lost / (double)n;
}

static void assert_near(double got, double want, double tol, const char *what)
{
    if (fabs(got - want) > tol)
        fail_msg("%s: got %.5f, want %.5f +- %.5f", what, got, want, tol);
}

static void test_random_loss_rate_is_the_configured_one(void **state)
{
    (void)state;
    vk_netem_state *st = state_of("loss=7.5%,seed=1");
    /* binomial sd at 1M frames is 0.00026: 4 sd */
    assert_near(loss_rate(st, N_FRAMES), 0.075, 0.0011, "loss 7.5%");
    free(st);
    st = state_of("loss=100,seed=1");
    assert_near(loss_rate(st, 1000), 1.0, 0, "loss 100");
    free(st);
    st = state_of("loss=0%,seed=1");
    assert_near(loss_rate(st, 1000), 0.0, 0, "loss 0");
    free(st);
}

static void test_correlated_loss_clusters_and_lowers_the_rate_as_netems(void **state)
{
    (void)state;
    vk_netem_state *st = state_of("loss=20%,loss-correlation=75%,seed=2");
    size_t lost = 0, pairs = 0, n = N_FRAMES;
    bool prev = false;
    for (size_t i = 0; i < n; i++) {
        vk_netem_verdict v;
        vk_netem_decide(st, i, 100, 0, true, &v);
        lost += v.drop;
        pairs += v.drop && prev;
        prev = v.drop;
    }
    double rate = (double)lost / n;
    fprintf(stderr, "correlated loss: rate %.4f, P(loss|loss) %.4f\n", rate, (double)pairs / lost);
    /* netem's correlation averages each draw with the last, which narrows
     * the draws around the middle: the loss rate falls well below the one
     * configured (tc-netem(8) warns of this), and losses cluster: a loss
     * follows a loss far more often than the rate alone would make it */
    assert_true(rate > 0.001 && rate < 0.2);
    assert_true((double)pairs / lost > rate * 3);
    free(st);
}

static void test_duplicate_and_corrupt_rates_are_the_configured_ones(void **state)
{
    (void)state;
    vk_netem_state *st = state_of("duplicate=3%,corrupt=12%,seed=3");
    size_t dup = 0, bad = 0, bits[8] = {0};
    for (size_t i = 0; i < N_FRAMES; i++) {
        vk_netem_verdict v;
        vk_netem_decide(st, i, 64, 0, true, &v);
        dup += v.duplicate;
        if (v.corrupt) {
            bad++;
            assert_true(v.corrupt_bit < 64 * 8);
            bits[v.corrupt_bit % 8]++;
        }
    }
    assert_near((double)dup / N_FRAMES, 0.03, 0.0007, "duplicate 3%");
    assert_near((double)bad / N_FRAMES, 0.12, 0.0013, "corrupt 12%");
    for (int b = 0; b < 8; b++) /* the bit is uniform over the frame */
        assert_near((double)bits[b] / bad, 0.125, 0.004, "corrupt bit position");
    free(st);
}

static void test_gemodel_bursts_have_the_models_mean_length(void **state)
{
    (void)state;
    /* p = 1% to the bad state, r = 25% back: bursts of mean 1/r = 4 frames,
     * loss rate p/(p+r) = 3.85% (1-h = 100%, 1-k = 0) */
    vk_netem_state *st = state_of("loss-model=gemodel:1%:25%,seed=4");
    size_t lost = 0, bursts = 0;
    bool prev = false;
    for (size_t i = 0; i < N_FRAMES; i++) {
        vk_netem_verdict v;
        vk_netem_decide(st, i, 100, 0, true, &v);
        lost += v.drop;
        bursts += v.drop && !prev;
        prev = v.drop;
        if (v.drop)
            assert_string_equal(v.why, "loss (gemodel bad state)");
    }
    assert_near((double)lost / bursts, 4.0, 0.15, "gemodel mean burst length");
    assert_near((double)lost / N_FRAMES, 0.01 / 0.26, 0.003, "gemodel loss rate");
    free(st);
}

static void test_four_state_model_matches_its_stationary_loss(void **state)
{
    (void)state;
    /* p13 = 2%, p31 = 30%, p32 = 40%, p23 = 10%, p14 = 1%.  Solving the
     * chain's balance equations gives the stationary loss probability
     * pi3 + pi4 (computed below from the same equations). */
    double p13 = .02, p31 = .30, p32 = .40, p23 = .10, p14 = .01;
    /* states 1..4: pi1 = pi1(1-p13-p14) + pi3 p31 + pi4; pi2 = pi2(1-p23) + pi3 p32;
     * pi3 = pi1 p13 + pi2 p23 + pi3 (1-p31-p32); pi4 = pi1 p14 */
    double pi1 = 1, pi4 = p14 * pi1;
    /* pi3 (p31 + p32) = pi1 p13 + pi2 p23 and pi2 p23 = pi3 p32 => pi3 p31 = pi1 p13 */
    double pi3 = pi1 * p13 / p31, pi2 = pi3 * p32 / p23;
    double want = (pi3 + pi4) / (pi1 + pi2 + pi3 + pi4);
    vk_netem_state *st = state_of("loss-model=state:2%:30%:40%:10%:1%,seed=5");
    assert_near(loss_rate(st, N_FRAMES), want, 0.003, "4-state loss rate");
    free(st);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double normal_cdf(double x)
{
    return 0.5 * erfc(-x / sqrt(2.0));
}

/* Kolmogorov-Smirnov distance of the delays (in sigma units around mu) from
 * the standard normal. */
static void test_normal_delay_passes_a_ks_test(void **state)
{
    (void)state;
    vk_netem_state *st = state_of("delay=100ms,jitter=10ms,distribution=normal,seed=6");
    size_t n = N_FRAMES;
    double *x = malloc(n * sizeof *x);
    assert_non_null(x);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        vk_netem_verdict v;
        vk_netem_schedule(st, 0, 100, &v);
        x[i] = ((double)v.send_at - 100e6) / 10e6;
        sum += x[i];
    }
    qsort(x, n, sizeof *x, cmp_double);
    double dmax = 0;
    for (size_t i = 0; i < n; i++) {
        double f = normal_cdf(x[i]);
        double d1 = fabs(f - (double)i / n), d2 = fabs(f - (double)(i + 1) / n);
        dmax = fmax(dmax, fmax(d1, d2));
    }
    /* the 4096-entry table quantises the quantiles: allow 1/4096 beyond the
     * 1% critical value 1.63/sqrt(n) */
    assert_true(dmax < 1.63 / sqrt((double)n) + 1.0 / 4096);
    assert_near(sum / n, 0.0, 0.01, "normal delay mean");
    free(x);
    free(st);
}

/* Delays of n draws, in ms, sorted. */
static double *delays_ms(const char *opts, size_t n)
{
    vk_netem_state *st = state_of(opts);
    double *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++) {
        vk_netem_verdict v;
        vk_netem_schedule(st, 1000000000ull, 100, &v);
        x[i] = ((double)v.send_at - 1e9) / 1e6;
        assert_true(x[i] >= 0);
    }
    free(st);
    qsort(x, n, sizeof *x, cmp_double);
    return x;
}

static void test_uniform_delay_is_flat_over_mu_plus_minus_sigma(void **state)
{
    (void)state;
    size_t n = 200000;
    double *x = delays_ms("delay=50ms,jitter=20ms,seed=7", n);
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        sum += x[i];
        sq += x[i] * x[i];
    }
    double mean = sum / n, sd = sqrt(sq / n - mean * mean);
    assert_true(x[0] >= 30 && x[n - 1] < 70);
    assert_near(mean, 50, 0.1, "uniform mean");
    assert_near(sd, 20 / sqrt(3.0), 0.1, "uniform deviation");
    assert_near(x[n / 4], 40, 0.2, "uniform first quartile");
    free(x);
}

static void test_pareto_delays_have_the_distributions_quantiles(void **state)
{
    (void)state;
    /* standardised Pareto of shape 3: quantile q is
     * ((1-q)^(-1/3) - 1.5) / (sqrt(3)/2) sigmas from mu; paretonormal is
     * 3/4 normal + 1/4 pareto */
    size_t n = 200000;
    const double qs[] = {0.1, 0.5, 0.9};
    const double z[] = {-1.2816, 0.0, 1.2816};
    double *p = delays_ms("delay=50ms,jitter=10ms,distribution=pareto,seed=7", n);
    double *pn = delays_ms("delay=50ms,jitter=10ms,distribution=paretonormal,seed=7", n);
    for (size_t k = 0; k < 3; k++) {
        double par = (pow(1 - qs[k], -1.0 / 3) - 1.5) / (sqrt(3.0) / 2);
        size_t at = (size_t)(qs[k] * n);
        assert_near(p[at], 50 + 10 * par, 0.1, "pareto quantile");
        assert_near(pn[at], 50 + 10 * (0.75 * z[k] + 0.25 * par), 0.1, "paretonormal quantile");
    }
    /* the long right tail: the 99th percentile is far above mu + 2.33 sigma */
    assert_true(p[(size_t)(0.99 * n)] > 50 + 10 * 3.5);
    free(p);
    free(pn);
}

static void test_delay_correlation_makes_neighbours_alike(void **state)
{
    (void)state;
    vk_netem_state *st = state_of("delay=10ms,jitter=5ms,correlation=90%,seed=8");
    double prev = 0, sxy = 0, sx = 0, sxx = 0;
    size_t n = 100000;
    for (size_t i = 0; i < n; i++) {
        vk_netem_verdict v;
        vk_netem_schedule(st, 0, 100, &v);
        double x = (double)v.send_at;
        if (i > 0)
            sxy += x * prev;
        sx += x;
        sxx += x * x;
        prev = x;
    }
    double mean = sx / n, var = sxx / n - mean * mean;
    double lag1 = (sxy / (n - 1) - mean * mean) / var;
    assert_true(lag1 > 0.8);
    free(st);
}


/* Pearson's chi-square statistic of observed counts against expected ones. */
static double chi_square(const double *obs, const double *exp, size_t bins)
{
    double x2 = 0;
    for (size_t i = 0; i < bins; i++)
        x2 += (obs[i] - exp[i]) * (obs[i] - exp[i]) / exp[i];
    return x2;
}

/* The chi-square value a correct generator exceeds with probability 0.001
 * (Wilson-Hilferty: z = 3.09). */
static double chi_square_critical(size_t df)
{
    double k = (double)df, z = 3.09;
    double t = 1 - 2 / (9 * k) + z * sqrt(2 / (9 * k));
    return k * t * t * t;
}

static void assert_chi_square(const double *obs, const double *exp, size_t bins,
                              const char *what)
{
    double x2 = chi_square(obs, exp, bins), crit = chi_square_critical(bins - 1);
    fprintf(stderr, "%s: chi-square %.2f (df %zu, p=0.001 critical %.2f)\n", what, x2,
            bins - 1, crit);
    if (x2 > crit)
        fail_msg("%s: chi-square %.2f over %.2f", what, x2, crit);
}

/* Each frame's outcome over 1M frames against netem's order of decisions:
 * a duplicate is decided first and a loss then takes one copy away (so a
 * duplicated frame that meets a loss goes on alone), and corruption hits a
 * frame that goes on, at a byte chosen uniformly. */
static void test_loss_duplicate_corrupt_outcomes_pass_chi_square(void **state)
{
    (void)state;
    const double l = 0.10, dp = 0.05, c = 0.08;
    vk_netem_state *st = state_of("loss=10%,duplicate=5%,corrupt=8%,seed=21");
    /* cells: dropped; one copy clean/corrupt; two copies clean/corrupt */
    double obs[5] = {0}, byte_obs[64] = {0};
    for (size_t i = 0; i < N_FRAMES; i++) {
        vk_netem_verdict v;
        vk_netem_decide(st, i, 64, 0, true, &v);
        size_t cell = v.drop ? 0 : 1 + 2 * (size_t)v.duplicate + (size_t)v.corrupt;
        obs[cell]++;
        if (!v.drop && v.corrupt)
            byte_obs[v.corrupt_bit / 8]++;
    }
    double single = (1 - dp) * (1 - l) + dp * l, twice = dp * (1 - l);
    double exp[5] = {(1 - dp) * l, single * (1 - c), single * c, twice * (1 - c), twice * c};
    for (size_t k = 0; k < 5; k++)
        exp[k] *= N_FRAMES;
    assert_chi_square(obs, exp, 5, "loss/duplicate/corrupt outcomes");
    double corrupted = obs[2] + obs[4], byte_exp[64];
    for (size_t k = 0; k < 64; k++)
        byte_exp[k] = corrupted / 64;
    assert_chi_square(byte_obs, byte_exp, 64, "corrupted byte position");
    free(st);
}

/* Reordering over 1M frames: with gap=1 each frame is sent ahead with the
 * configured probability; with gap=4 at most every 4th, and then with it. */
static void test_reorder_passes_chi_square_over_1m_frames(void **state)
{
    (void)state;
    vk_netem_state *st = state_of("delay=10ms,reorder=30%,seed=22");
    double obs[2] = {0};
    for (size_t i = 0; i < N_FRAMES; i++) {
        vk_netem_verdict v;
        vk_netem_schedule(st, 0, 100, &v);
        obs[v.reorder]++;
    }
    double exp[2] = {0.7 * N_FRAMES, 0.3 * N_FRAMES};
    assert_chi_square(obs, exp, 2, "reorder 30%");
    free(st);
    /* gap=4: runs of frames between reorders are 3 + Geometric(0.5) long */
    st = state_of("delay=10ms,reorder=50%,gap=4,seed=23");
    double runs[8] = {0};
    size_t since = 0, nruns = 0;
    for (size_t i = 0; i < N_FRAMES; i++) {
        vk_netem_verdict v;
        vk_netem_schedule(st, 0, 100, &v);
        if (!v.reorder) {
            since++;
            continue;
        }
        assert_true(since >= 3);
        runs[since - 3 < 7 ? since - 3 : 7]++;
        nruns++;
        since = 0;
    }
    double rexp[8];
    for (size_t k = 0; k < 7; k++)
        rexp[k] = nruns * pow(0.5, (double)k + 1);
    rexp[7] = nruns * pow(0.5, 7);
    assert_chi_square(runs, rexp, 8, "reorder gap=4 run lengths");
    free(st);
}

/* Gilbert-Elliott: a burst of losses is a stay in the bad state, so its
 * length is geometric with the return probability r: P(L=k) = (1-r)^(k-1) r. */
static void test_gemodel_burst_lengths_pass_chi_square(void **state)
{
    (void)state;
    const double r = 0.25;
    vk_netem_state *st = state_of("loss-model=gemodel:1%:25%,seed=24");
    double obs[13] = {0};
    size_t run = 0, bursts = 0;
    for (size_t i = 0; i < N_FRAMES; i++) {
        vk_netem_verdict v;
        vk_netem_decide(st, i, 100, 0, true, &v);
        if (v.drop) {
            run++;
            continue;
        }
        if (run > 0) {
            obs[run <= 12 ? run - 1 : 12]++;
            bursts++;
        }
        run = 0;
    }
    double exp[13];
    for (size_t k = 0; k < 12; k++)
        exp[k] = bursts * pow(1 - r, (double)k) * r;
    exp[12] = bursts * pow(1 - r, 12);
    assert_chi_square(obs, exp, 13, "gemodel burst lengths");
    free(st);
}

/* Kolmogorov-Smirnov distance of sorted samples x[n] from cdf, over the
 * samples below `top` (a distribution with an atom at top: there the
 * distance is the one of the last sample below). */
static double ks_distance(const double *x, size_t n, double (*cdf)(double), double top)
{
    double dmax = 0;
    for (size_t i = 0; i < n && x[i] < top; i++) {
        double f = cdf(x[i]);
        dmax = fmax(dmax, fmax(fabs(f - (double)i / n), fabs(f - (double)(i + 1) / n)));
    }
    return dmax;
}

static double uniform_30_70_cdf(double ms)
{
    return ms <= 30 ? 0 : ms >= 70 ? 1 : (ms - 30) / 40;
}

/* standardised Pareto of shape 3 (netem's table), for delay=50ms,jitter=10ms */
static double pareto_cdf(double ms)
{
    double y = (ms - 50) / 10 * (sqrt(3.0) / 2) + 1.5;
    return y <= 1 ? 0 : 1 - pow(y, -3);
}

static void test_uniform_and_pareto_delays_pass_ks_over_1m_frames(void **state)
{
    (void)state;
    size_t n = N_FRAMES;
    double *u = delays_ms("delay=50ms,jitter=20ms,seed=25", n);
    double du = ks_distance(u, n, uniform_30_70_cdf, INFINITY);
    fprintf(stderr, "uniform delay: KS %.5f (1%% critical %.5f)\n", du, 1.63 / sqrt((double)n));
    assert_true(du < 1.63 / sqrt((double)n));
    free(u);
    /* the 4096-entry table quantises the quantiles: 1/4096 more allowed.
     * Its int16 entries at 8192 per sigma (netem's) stop the long tail at
     * 32767/8192 sigmas, where the rest of it is drawn: an atom the KS
     * distance is taken below */
    double *p = delays_ms("delay=50ms,jitter=10ms,distribution=pareto,seed=26", n);
    double top = 50 + 10 * (32767.0 / 8192) - 1e-4;
    double dp = ks_distance(p, n, pareto_cdf, top);
    fprintf(stderr, "pareto delay: KS %.5f\n", dp);
    assert_true(dp < 1.63 / sqrt((double)n) + 1.0 / 4096);
    size_t below = 0;
    while (below < n && p[below] < top)
        below++;
    assert_near((double)(n - below) / n, 1 - pareto_cdf(top), 1.0 / 4096 + 0.0005,
                "pareto tail drawn at the table's end");
    free(p);
}

static void test_rate_spaces_frames_by_their_transmission_time(void **state)
{
    (void)state;
    /* 1500-byte frames at 12 Mbit/s take 1 ms each; with 4 bytes of packet
     * overhead (1504 * 8 / 12e6 s) */
    vk_netem_state *st = state_of("rate=12mbit,seed=9");
    vk_netem_verdict v;
    for (int i = 1; i <= 100; i++) {
        vk_netem_schedule(st, 0, 1500, &v);
        assert_int_equal(v.send_at, (uint64_t)i * 1000000);
    }
    /* after the queue drained, a frame waits only its own time */
    vk_netem_schedule(st, 500000000, 1500, &v);
    assert_int_equal(v.send_at, 501000000);
    free(st);
    st = state_of("rate=12mbit,rate-packet-overhead=4,seed=9");
    vk_netem_schedule(st, 0, 1496, &v);
    assert_int_equal(v.send_at, 1000000);
    free(st);
    /* cells: 100 bytes in 48-byte cells of 53 on the wire = 3 * 53 bytes */
    st = state_of("rate=8mbit,rate-cell-size=48,rate-cell-overhead=5,seed=9");
    vk_netem_schedule(st, 0, 100, &v);
    assert_int_equal(v.send_at, 159000);
    free(st);
}

static void test_reorder_sends_every_gapth_frame_ahead(void **state)
{
    (void)state;
    vk_netem_state *st = state_of("delay=10ms,reorder=100%,gap=5,seed=10");
    for (int i = 1; i <= 20; i++) {
        vk_netem_verdict v;
        vk_netem_schedule(st, 0, 100, &v);
        assert_int_equal(v.reorder, i % 5 == 0);
        assert_int_equal(v.send_at, v.reorder ? 0 : 10000000);
    }
    free(st);
    /* without gap=, tc's gap 1: each frame is reordered with the probability */
    st = state_of("delay=10ms,reorder=25%,seed=11");
    size_t re = 0;
    for (int i = 0; i < 100000; i++) {
        vk_netem_verdict v;
        vk_netem_schedule(st, 0, 100, &v);
        re += v.reorder;
    }
    assert_near(re / 100000.0, 0.25, 0.006, "reorder 25%");
    free(st);
}

static void test_limit_drops_past_the_queue(void **state)
{
    (void)state;
    vk_netem_state *st = state_of("delay=1s,limit=3,seed=12");
    vk_netem_verdict v;
    vk_netem_decide(st, 0, 100, 2, true, &v);
    assert_false(v.drop);
    vk_netem_decide(st, 0, 100, 3, true, &v);
    assert_true(v.drop);
    assert_string_equal(v.why, "queue over limit");
    free(st);
}

static void test_slots_release_frames_in_bursts(void **state)
{
    (void)state;
    vk_netem_state *st = state_of("slot=10ms,slot-packets=2,seed=13");
    uint64_t next = 0;
    assert_false(vk_netem_slot_take(st, 0, 100, &next));
    assert_int_equal(next, 10000000);
    assert_true(vk_netem_slot_take(st, next, 100, &next));
    assert_true(vk_netem_slot_take(st, 10000000, 100, &next));
    /* two frames used the slot: the next opens 10 ms later */
    assert_false(vk_netem_slot_take(st, 10000000, 100, &next));
    assert_int_equal(next, 20000000);
    free(st);
}

static void test_same_seed_same_decisions_other_seed_others(void **state)
{
    (void)state;
    const char *a = "delay=5ms,jitter=4ms,loss=10%,duplicate=5%,corrupt=5%,seed=99";
    vk_netem_state *s1 = state_of(a), *s2 = state_of(a),
                   *s3 = state_of("delay=5ms,jitter=4ms,loss=10%,duplicate=5%,corrupt=5%,seed=98");
    bool differs = false;
    for (int i = 0; i < 10000; i++) {
        vk_netem_verdict v1, v2, v3;
        vk_netem_decide(s1, i, 100, 0, true, &v1);
        vk_netem_decide(s2, i, 100, 0, true, &v2);
        vk_netem_decide(s3, i, 100, 0, true, &v3);
        vk_netem_schedule(s1, i, 100, &v1);
        vk_netem_schedule(s2, i, 100, &v2);
        vk_netem_schedule(s3, i, 100, &v3);
        assert_memory_equal(&v1, &v2, sizeof v1);
        differs |= memcmp(&v1, &v3, sizeof v1) != 0;
    }
    assert_true(differs);
    free(s1);
    free(s2);
    free(s3);
}

/* A filter that impairs nothing lets frames pass without the engine: every
 * impairment key, and only those, makes it decide. */
static void test_only_impairments_make_the_filter_decide(void **state)
{
    (void)state;
    vk_netem_config c;
    vk_diag d;
    assert_int_equal(parse("seed=5,limit=10,delay=0,loss=0%", &c, &d), VK_OK);
    assert_true(vk_netem_config_is_idle(&c));
    const char *busy[] = {"delay=1us", "delay=1ms,jitter=1ms", "loss=0.001%",
                          "loss-model=gemodel:1%", "duplicate=1%", "corrupt=1%",
                          "delay=1ms,reorder=1%", "rate=1gbit", "slot=1ms"};
    for (size_t i = 0; i < sizeof busy / sizeof busy[0]; i++) {
        if (parse(busy[i], &c, &d) != VK_OK)
            fail_msg("%s: %s", busy[i], d.msg);
        if (vk_netem_config_is_idle(&c))
            fail_msg("%s counted as idle", busy[i]);
    }
}

static void expect_error(const char *text, const char *key, const char *words)
{
    vk_netem_config c;
    vk_diag d = {{0}};
    if (parse(text, &c, &d) == VK_OK)
        fail_msg("%s: accepted", text);
    char k[64];
    snprintf(k, sizeof k, "key '%s'", key);
    if (strstr(d.msg, k) == NULL || strstr(d.msg, words) == NULL)
        fail_msg("%s: message '%s' lacks %s or '%s'", text, d.msg, k, words);
}

static void test_bad_values_are_refused_naming_the_key(void **state)
{
    (void)state;
    expect_error("loss=101%", "loss", "0 to 100%");
    expect_error("loss=-1", "loss", "0 to 100%");
    expect_error("duplicate=lots", "duplicate", "percentage");
    expect_error("delay=-5ms", "delay", "a time");
    expect_error("delay=5 parsecs", "delay", "a time");
    expect_error("rate=0", "rate", "a rate");
    expect_error("rate=1000tbit", "rate", "outside");
    expect_error("reorder=10%", "reorder", "needs a delay");
    expect_error("loss-model=markov:1%", "loss-model", "state:");
    expect_error("loss-model=gemodel:1%:2%:3%:4%:5%", "loss-model", "4 values");
    expect_error("loss-model=state:1%:2%:3%:4%:5%:6%", "loss-model", "at most 5");
    expect_error("loss=1%,loss-model=gemodel:1%", "loss-model", "not both");
    expect_error("distribution=cauchy", "distribution", "uniform, normal");
    expect_error("limit=0", "limit", "whole number");
    expect_error("slot-max=5ms", "slot", "need slot=");
    expect_error("slot=10ms,slot-max=5ms", "slot-max", "shorter");
    expect_error("rate-cell-size=48", "rate", "need rate=");
}

static void test_tc_units_are_understood(void **state)
{
    (void)state;
    vk_netem_config c;
    vk_diag d;
    assert_int_equal(parse("delay=250,jitter=1.5ms,rate=1kbps,slot=2s", &c, &d), VK_OK);
    assert_int_equal(c.delay_ns, 250000); /* a bare time is microseconds, as tc */
    assert_int_equal(c.jitter_ns, 1500000);
    assert_int_equal(c.rate_bps, 8000);
    assert_int_equal(c.slot_min_ns, 2000000000ull);
    assert_int_equal(parse("loss=0.5,rate=2mibit", &c, &d), VK_OK);
    assert_int_equal(c.loss, (vk_netem_prob)llround(0.005 * 4294967296.0));
    assert_int_equal(c.rate_bps, 2097152);
    /* ',,' is a literal comma in an option value */
    assert_int_equal(parse("loss-model=gemodel:10%,,20%", &c, &d), VK_OK);
    assert_int_equal(c.p[1], (vk_netem_prob)llround(0.2 * 4294967296.0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_loss_rate_is_the_configured_one),
        cmocka_unit_test(test_correlated_loss_clusters_and_lowers_the_rate_as_netems),
        cmocka_unit_test(test_duplicate_and_corrupt_rates_are_the_configured_ones),
        cmocka_unit_test(test_gemodel_bursts_have_the_models_mean_length),
        cmocka_unit_test(test_four_state_model_matches_its_stationary_loss),
        cmocka_unit_test(test_normal_delay_passes_a_ks_test),
        cmocka_unit_test(test_uniform_delay_is_flat_over_mu_plus_minus_sigma),
        cmocka_unit_test(test_pareto_delays_have_the_distributions_quantiles),
        cmocka_unit_test(test_delay_correlation_makes_neighbours_alike),
        cmocka_unit_test(test_loss_duplicate_corrupt_outcomes_pass_chi_square),
        cmocka_unit_test(test_reorder_passes_chi_square_over_1m_frames),
        cmocka_unit_test(test_gemodel_burst_lengths_pass_chi_square),
        cmocka_unit_test(test_uniform_and_pareto_delays_pass_ks_over_1m_frames),
        cmocka_unit_test(test_rate_spaces_frames_by_their_transmission_time),
        cmocka_unit_test(test_reorder_sends_every_gapth_frame_ahead),
        cmocka_unit_test(test_limit_drops_past_the_queue),
        cmocka_unit_test(test_slots_release_frames_in_bursts),
        cmocka_unit_test(test_same_seed_same_decisions_other_seed_others),
        cmocka_unit_test(test_only_impairments_make_the_filter_decide),
        cmocka_unit_test(test_bad_values_are_refused_naming_the_key),
        cmocka_unit_test(test_tc_units_are_understood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
