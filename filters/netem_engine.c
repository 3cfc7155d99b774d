/*
 * The decisions of filter-netem (netem.h), after Linux's sch_netem.c:
 * correlated draws (get_crandom), table distributions (tabledist), the
 * 4-state and Gilbert-Elliott loss models, rate with packet and cell
 * overhead, and slots.  Where we differ, on purpose:
 *  - the generator is xoshiro256** seeded with seed= (netem: prandom), so
 *    runs repeat;
 *  - uniform jitter scales the draw instead of taking it modulo 2*jitter (no
 *    modulo bias, any jitter size);
 *  - the distribution tables are computed here from their definitions
 *    (normal: the standard normal quantile; pareto: Pareto with shape 3,
 *    centred and scaled to unit deviation; paretonormal: 3/4 normal + 1/4
 *    pareto, as iproute2's table), with netem's scale of 8192 per sigma;
 *  - a negative delay (mu - k*sigma < 0) is clamped to 0.
 */
#include "filters/netem.h"

#include <math.h>
#include <string.h>

#define DIST_SCALE 8192
#define TABLE_SIZE 4096

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint32_t vk_netem_rand(vk_netem_state *st)
{
    uint64_t *s = st->rng.s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return (uint32_t)(result >> 32);
}

/* netem's get_crandom: the next draw leans toward the last by rho. */
static uint32_t crandom(vk_netem_state *st, vk_netem_corr *c, vk_netem_prob rho)
{
    uint32_t value = vk_netem_rand(st);
    if (rho == 0)
        return value;
    uint64_t r = (uint64_t)rho + 1;
    uint64_t answer = ((uint64_t)value * ((1ull << 32) - r) + (uint64_t)c->last * r) >> 32;
    c->last = (uint32_t)answer;
    return (uint32_t)answer;
}

/* Acklam's rational approximation of the standard normal quantile. */
static double normal_quantile(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                               2.445134137142996e+00, 3.754408661907416e+00};
    const double lo = 0.02425;
    if (p < lo) {
        double q = sqrt(-2 * log(p));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    if (p > 1 - lo)
        return -normal_quantile(1 - p);
    double q = p - 0.5, r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/* Pareto, shape 3: mean 1.5, deviation sqrt(3)/2; centred, unit deviation. */
static double pareto_quantile(double p)
{
    double x = 1.0 / cbrt(1.0 - p);
    return (x - 1.5) / (sqrt(3.0) / 2.0);
}

static void build_table(int16_t *t, vk_netem_dist dist)
{
    for (int i = 0; i < TABLE_SIZE; i++) {
        double p = (i + 0.5) / TABLE_SIZE, x;
        if (dist == VK_NETEM_DIST_NORMAL)
            x = normal_quantile(p);
        else if (dist == VK_NETEM_DIST_PARETO)
            x = pareto_quantile(p);
        else
            x = 0.75 * normal_quantile(p) + 0.25 * pareto_quantile(p);
        x *= DIST_SCALE;
        if (x > 32767)
            x = 32767;
        if (x < -32767)
            x = -32767;
        t[i] = (int16_t)lrint(x);
    }
}

void vk_netem_init(vk_netem_state *st, const vk_netem_config *c)
{
    memset(st, 0, sizeof *st);
    st->cfg = *c;
    uint64_t x = c->seed;
    for (int i = 0; i < 4; i++)
        st->rng.s[i] = splitmix64(&x);
    st->loss_state = 1;
    if (c->dist != VK_NETEM_DIST_UNIFORM)
        build_table(st->table, c->dist);
    st->slot_packets_left = c->slot_packets ? c->slot_packets : INT64_MAX;
    st->slot_bytes_left = c->slot_bytes ? c->slot_bytes : INT64_MAX;
}

bool vk_netem_config_is_idle(const vk_netem_config *c)
{
    return c->delay_ns == 0 && c->jitter_ns == 0 && c->loss_model == VK_NETEM_LOSS_RANDOM &&
           c->loss == 0 && c->duplicate == 0 && c->corrupt == 0 && c->reorder == 0 &&
           c->rate_bps == 0 && c->slot_min_ns == 0;
}

/* netem's tabledist: mu plus sigma times a draw of the distribution. */
static int64_t tabledist(vk_netem_state *st, uint64_t mu, uint64_t sigma, vk_netem_corr *c,
                         vk_netem_prob rho)
{
    if (sigma == 0)
        return (int64_t)mu;
    uint32_t rnd = crandom(st, c, rho);
    if (st->cfg.dist == VK_NETEM_DIST_UNIFORM)
        return (int64_t)mu - (int64_t)sigma + (int64_t)(((__uint128_t)rnd * (2 * sigma)) >> 32);
    int64_t t = st->table[rnd % TABLE_SIZE];
    int64_t x = (int64_t)(sigma % DIST_SCALE) * t;
    x += x >= 0 ? DIST_SCALE / 2 : -DIST_SCALE / 2;
    return x / DIST_SCALE + (int64_t)(sigma / DIST_SCALE) * t + (int64_t)mu;
}

/* The 4-state model (sch_netem loss_4state): 1 gap/no loss, 2 burst/no
 * loss, 3 burst/loss, 4 isolated loss. */
static const char *loss_4state(vk_netem_state *st)
{
    const vk_netem_prob *p = st->cfg.p; /* p13 p31 p32 p23 p14 */
    uint32_t rnd = vk_netem_rand(st);
    switch (st->loss_state) {
    case 1:
        if (rnd < p[4]) {
            st->loss_state = 4;
            return "loss (4-state: isolated)";
        }
        if (rnd < (uint64_t)p[4] + p[0]) {
            st->loss_state = 3;
            return "loss (4-state: burst)";
        }
        return NULL;
    case 2:
        if (rnd < p[3]) {
            st->loss_state = 3;
            return "loss (4-state: burst)";
        }
        return NULL;
    case 3:
        if (rnd < p[2]) {
            st->loss_state = 2;
            return NULL;
        }
        if (rnd < (uint64_t)p[2] + p[1]) {
            st->loss_state = 1;
            return NULL;
        }
        return "loss (4-state: burst)";
    default:
        st->loss_state = 1;
        return NULL;
    }
}

/* Gilbert-Elliott (sch_netem loss_gilb_ell): move first, then lose with
 * the loss rate of the state the frame met (good: 1-k, bad: 1-h). */
static const char *loss_gemodel(vk_netem_state *st)
{
    const vk_netem_prob *p = st->cfg.p; /* p r 1-h 1-k */
    if (st->loss_state == 1) {
        if (vk_netem_rand(st) < p[0])
            st->loss_state = 2;
        if (p[3] != 0 && vk_netem_rand(st) <= p[3])
            return "loss (gemodel good state)";
        return NULL;
    }
    if (vk_netem_rand(st) < p[1])
        st->loss_state = 1;
    if (p[2] != 0 && vk_netem_rand(st) <= p[2])
        return "loss (gemodel bad state)";
    return NULL;
}

static const char *loss_event(vk_netem_state *st)
{
    switch (st->cfg.loss_model) {
    case VK_NETEM_LOSS_STATE:
        return loss_4state(st);
    case VK_NETEM_LOSS_GEMODEL:
        return loss_gemodel(st);
    default:
        if (st->cfg.loss != 0 && st->cfg.loss >= crandom(st, &st->loss_c, st->cfg.loss_corr))
            return "loss (random)";
        return NULL;
    }
}

static uint64_t packet_time_ns(const vk_netem_config *c, size_t len)
{
    int64_t l = (int64_t)len + c->packet_overhead;
    if (l < 0)
        l = 0;
    if (c->cell_size != 0) {
        int64_t cells = (l + c->cell_size - 1) / c->cell_size;
        l = cells * ((int64_t)c->cell_size + c->cell_overhead);
        if (l < 0)
            l = 0;
    }
    return (uint64_t)(((__uint128_t)l * 8u * 1000000000u) / c->rate_bps);
}

void vk_netem_decide(vk_netem_state *st, uint64_t now, size_t len, size_t held, bool may_duplicate,
                     vk_netem_verdict *v)
{
    const vk_netem_config *c = &st->cfg;
    memset(v, 0, sizeof *v);
    int count = 1;
    if (may_duplicate && c->duplicate != 0 &&
        c->duplicate >= crandom(st, &st->dup_c, c->duplicate_corr))
        count++;
    const char *why = loss_event(st);
    if (why != NULL)
        count--;
    if (count == 0) {
        v->drop = true;
        v->why = why;
        return;
    }
    v->duplicate = count > 1;
    if (c->corrupt != 0 && c->corrupt >= crandom(st, &st->corrupt_c, c->corrupt_corr) && len > 0) {
        v->corrupt = true;
        v->corrupt_bit = (uint32_t)(((uint64_t)vk_netem_rand(st) * (len * 8)) >> 32);
    }
    if (held >= c->limit) {
        v->drop = true;
        v->duplicate = false;
        v->why = "queue over limit";
        return;
    }
    (void)now;
}

void vk_netem_schedule(vk_netem_state *st, uint64_t now, size_t len, vk_netem_verdict *v)
{
    const vk_netem_config *c = &st->cfg;
    v->reorder = false;
    if (c->gap == 0 || st->counter + 1 < c->gap ||
        c->reorder < crandom(st, &st->reorder_c, c->reorder_corr)) {
        int64_t delay = tabledist(st, c->delay_ns, c->jitter_ns, &st->delay_c, c->delay_corr);
        uint64_t t = now;
        if (c->rate_bps != 0) {
            if (st->last_send > now) {
                delay -= (int64_t)(st->last_send - now);
                t = st->last_send;
            }
            if (delay < 0)
                delay = 0;
            delay += (int64_t)packet_time_ns(c, len);
        }
        v->send_at = t + (uint64_t)(delay > 0 ? delay : 0);
        if (v->send_at > st->last_send)
            st->last_send = v->send_at;
        st->counter++;
        return;
    }
    v->reorder = true;
    v->send_at = now;
    st->counter = 0;
}

static void next_slot(vk_netem_state *st, uint64_t now)
{
    const vk_netem_config *c = &st->cfg;
    uint64_t span = c->slot_max_ns > c->slot_min_ns ? c->slot_max_ns - c->slot_min_ns : 0;
    st->slot_next = now + c->slot_min_ns + (uint64_t)(((__uint128_t)vk_netem_rand(st) * span) >> 32);
    st->slot_packets_left = c->slot_packets ? c->slot_packets : INT64_MAX;
    st->slot_bytes_left = c->slot_bytes ? c->slot_bytes : INT64_MAX;
}

bool vk_netem_slot_take(vk_netem_state *st, uint64_t now, size_t len, uint64_t *next)
{
    const vk_netem_config *c = &st->cfg;
    if (c->slot_min_ns == 0 && c->slot_max_ns == 0)
        return true;
    if (st->slot_next == 0)
        next_slot(st, 0); /* netem starts the first slot when configured */
    if (now < st->slot_next) {
        *next = st->slot_next;
        return false;
    }
    st->slot_packets_left--;
    st->slot_bytes_left -= (int64_t)len;
    if (st->slot_packets_left <= 0 || st->slot_bytes_left <= 0)
        next_slot(st, now);
    return true;
}
