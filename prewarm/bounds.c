/*
 * prewarm/bounds.c — the size a WarmPool wants at a given instant: its base (spec.size, or
 * spec.target as a share of the NodePool's nodes, rounded up) raised by whichever schedules are
 * active then, and when that may next change.
 *
 * Invariants:
 *  - A schedule's window is [fire, fire + duration) for every fire: an absolute start, or each
 *    minute whose local wall time (in the cron's zone) the expression matches. Overlapping
 *    windows of one schedule merge. In a spring-forward gap the skipped local minutes never
 *    fire; in a fall-back hour the repeated ones fire twice (the windows merge).
 *  - Every scan is bounded: a cron schedule is examined minute by minute over at most
 *    PREWARM_LOOKAHEAD before now (or its duration, when shorter) and PREWARM_LOOKAHEAD after,
 *    with the zone offset cached between transitions, so a call costs at most a few tens of
 *    thousands of minute checks per schedule. A window that began more than PREWARM_LOOKAHEAD
 *    ago is not seen (a cap, not a refusal).
 *  - Arithmetic on untrusted durations saturates; nothing reads a clock or logs.
 */
#include "prewarm/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MIN_NS ((core_ns)60 * CORE_NS_PER_S)

static core_ns sat_add(core_ns a, core_ns b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    return a + b;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The zone offset, looked up again only when t leaves the span it is known for. */
struct zcache {
    const struct prewarm_tz *z;
    int valid;
    int64_t from, until;
    int32_t off;
};

static int32_t zc_offset(struct zcache *c, int64_t t)
{
    if (!c->valid || t < c->from || t >= c->until) {
        prewarm_tz_lookup(c->z, t, &c->off, &c->until);
        c->from = t;
        c->valid = 1;
    }
    return c->off;
}

/* Whether the cron fires at the UTC minute u (seconds u * 60). */
static int fires(const struct k8s_cron *cron, struct zcache *zc, int64_t u)
{
    int64_t t = u * 60, local = t + zc_offset(zc, t), day = floor_div(local, 86400), y;
    int64_t sod = local - day * 86400;
    int m, d, wday = (int)(((day + 4) % 7 + 7) % 7);
    prewarm_civil_from_days(day, &y, &m, &d);
    return k8s_cron_matches(cron, (int)(sod / 60 % 60), (int)(sod / 3600), d, m, wday);
}

/* One schedule at now: whether it is active, when the (merged) window ends, and the next
 * instant within the lookahead at which that flips (0 = none). */
static void cron_window(const struct k8s_warm_schedule *s, const struct prewarm_tz *z,
                        core_ns now, int *active, core_ns *end, core_ns *next)
{
    struct zcache zc = {z, 0, 0, 0, 0};
    core_ns dur = s->duration, back = dur < PREWARM_LOOKAHEAD ? dur : PREWARM_LOOKAHEAD;
    core_ns horizon = now + PREWARM_LOOKAHEAD, wend = 0;
    int64_t u = floor_div(now - back, MIN_NS), ulast = floor_div(horizon, MIN_NS);
    int act = 0;

    *next = 0;
    for (; u <= ulast; u++) {
        core_ns f = u * MIN_NS;
        if (f <= now) {
            if (sat_add(f, dur) > now && fires(&s->cron, &zc, u)) {
                act = 1;
                if (sat_add(f, dur) > wend)
                    wend = sat_add(f, dur);
            }
            continue;
        }
        if (!act) {
            if (fires(&s->cron, &zc, u)) {
                *next = f;
                break;
            }
            continue;
        }
        if (f <= wend && fires(&s->cron, &zc, u)) {
            if (sat_add(f, dur) > wend)
                wend = sat_add(f, dur);
            continue;
        }
        if (f >= wend) {
            *next = wend;
            break;
        }
    }
    *active = act;
    *end = act ? wend : 0;
}

static void abs_window(const struct k8s_warm_schedule *s, core_ns now, int *active, core_ns *end,
                       core_ns *next)
{
    core_ns st = s->start_time, en = sat_add(st, s->duration), horizon = now + PREWARM_LOOKAHEAD;
    *active = st <= now && now < en;
    *end = *active ? en : 0;
    *next = 0;
    if (now < st && st <= horizon)
        *next = st;
    else if (*active && en <= horizon)
        *next = en;
}

int prewarm_bounds(const struct k8s_warmpool *wp, core_ns now, int64_t pool_nodes,
                   struct prewarm_bounds *out, struct core_err *err)
{
    struct prewarm_bounds b;
    int64_t best_min = -1;
    char when[40];

    if (!wp || !out)
        return core_err_set(err, CORE_E_INVAL, "warm pool bounds: NULL argument");
    if (now < 0 || now > INT64_MAX / 2)
        return core_err_set(err, CORE_E_INVAL, "warm pool bounds: time out of range");
    memset(&b, 0, sizeof b);
    if (wp->has_size) {
        b.base_min = wp->size.min;
        b.base_max = wp->size.max;
        snprintf(b.reason, sizeof b.reason, "size %" PRId64 "..%" PRId64, b.base_min,
                 b.base_max);
    } else if (wp->has_target) {
        int64_t n = pool_nodes < 0 ? 0 : pool_nodes, pct = wp->target_percent, v;
        if (pct < 0 || pct > 100)
            return core_err_set(err, CORE_E_INVAL, "spec.target: %" PRId64 "%% is not 0..100",
                                pct);
        if (n > INT64_MAX / 101)
            n = INT64_MAX / 101;
        v = (n * pct + 99) / 100;
        b.base_min = b.base_max = v;
        snprintf(b.reason, sizeof b.reason,
                 "target %" PRId64 "%% of %" PRId64 " nodes = %" PRId64, pct, n, v);
    } else {
        return core_err_set(err, CORE_E_INVAL, "spec: neither size nor target is set");
    }
    b.min = b.base_min;
    b.max = b.base_max;

    for (size_t i = 0; i < wp->nschedules; i++) {
        const struct k8s_warm_schedule *s = &wp->schedules[i];
        core_ns end = 0, next = 0;
        int active = 0;
        if (s->duration <= 0)
            continue;
        if (s->start_is_cron) {
            struct prewarm_tz *z = NULL;
            int rc = prewarm_tz_load(s->cron.tz, &z, err);
            if (rc != 0) {
                core_err_prefix(err, "spec.schedules[%zu].start", i);
                return rc;
            }
            cron_window(s, z, now, &active, &end, &next);
            prewarm_tz_free(z);
        } else {
            abs_window(s, now, &active, &end, &next);
        }
        if (next > now && (b.next_change == 0 || next < b.next_change))
            b.next_change = next;
        if (!active)
            continue;
        if (s->size.min > b.min)
            b.min = s->size.min;
        if (s->size.max > b.max)
            b.max = s->size.max;
        /* The schedule named is the one asking the most (the first of equals). */
        if (s->size.min > best_min) {
            best_min = s->size.min;
            core_strlcpy(b.schedule, s->name ? s->name : "", sizeof b.schedule);
            b.schedule_end = end;
        }
    }
    if (b.max < b.min)
        b.max = b.min;
    if (b.schedule[0]) {
        char base[PREWARM_REASON_MAX];
        core_strlcpy(base, b.reason, sizeof base);
        core_time_rfc3339(b.schedule_end, when, sizeof when);
        if (best_min > b.base_min)
            snprintf(b.reason, sizeof b.reason,
                     "schedule %s raises the floor to %" PRId64 " until %s", b.schedule, b.min,
                     when);
        else
            snprintf(b.reason, sizeof b.reason, "%.120s; schedule %s active until %s", base,
                     b.schedule, when);
    }
    *out = b;
    return 0;
}
