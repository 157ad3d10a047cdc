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
 *  - Every window of a schedule lasts its duration, so the window holding now is the one of
 *    the last fire at or before now; it is looked for back over min(duration, 400 days) (a
 *    window that began earlier is not seen: a cap, not a refusal), and the merged end is
 *    followed forward fire by fire until it is final or passes the lookahead.
 *  - Every scan is bounded and cheap: it steps from one local day, hour or minute the
 *    expression may match to the next (never across an offset change of the zone, whose
 *    offset is cached between transitions), so a day that cannot match costs one step and a
 *    year of a daily expression a few hundred; backward searches go in doubling chunks, so a
 *    frequent expression is answered from its last hour.
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

/* How far back a cron schedule's fires are looked for: a window that began earlier is not seen
 * (a cap, not a refusal; a year and a bit covers yearly events). */
#define SCAN_BACK ((core_ns)400 * 24 * 3600 * CORE_NS_PER_S)
/* Backward searches go in chunks that double from an hour to 64 days. */
#define CHUNK_FIRST ((int64_t)60)
#define CHUNK_LAST ((int64_t)64 * 24 * 60)
#define NO_FIRE INT64_MIN

static int64_t ceil_div(int64_t a, int64_t b)
{
    return -floor_div(-a, b);
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

/* One cron expression being searched: the zone cache, the last local day asked about, and a
 * minute and hour the expression has, with which whole days are asked k8s_cron_matches. */
struct cscan {
    const struct k8s_cron *cron;
    struct zcache zc;
    int m0, h0;
    int64_t day;
    int day_ok;
};

/* The first set bit of mask above bit i (bits below n), or -1. */
static int next_bit(uint64_t mask, int i, int n)
{
    for (int b = i + 1; b < n; b++)
        if (mask >> b & 1)
            return b;
    return -1;
}

/* 0 when the expression can never fire (no minute or no hour). */
static int cscan_init(struct cscan *s, const struct k8s_cron *cron, const struct prewarm_tz *z)
{
    memset(s, 0, sizeof *s);
    s->cron = cron;
    s->zc.z = z;
    s->m0 = next_bit(cron->minutes, -1, 60);
    s->h0 = next_bit(cron->hours, -1, 24);
    s->day = NO_FIRE;
    return s->m0 >= 0 && s->h0 >= 0;
}

static int day_matches(struct cscan *s, int64_t day)
{
    if (day != s->day) {
        int64_t y;
        int m, d, wday = (int)(((day + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
        prewarm_civil_from_days(day, &y, &m, &d);
        s->day = day;
        s->day_ok = k8s_cron_matches(s->cron, s->m0, s->h0, d, m, wday);
    }
    return s->day_ok;
}

/* Whether the expression fires at the UTC minute u (instant u * 60 s). When it does not,
 * *next is a later minute such that none in between fires: the next local day, hour or
 * minute the expression may match, or the next offset change, whichever comes first. */
static int probe(struct cscan *s, int64_t u, int64_t *next)
{
    int64_t t = u * 60, local, day, sod, target, tr;
    int32_t off = zc_offset(&s->zc, t);
    int h, m, b;

    local = t + off;
    day = floor_div(local, 86400);
    sod = local - day * 86400;
    h = (int)(sod / 3600);
    m = (int)(sod / 60 % 60);
    if (!day_matches(s, day)) {
        target = (day + 1) * 86400;
    } else if (!(s->cron->hours >> h & 1)) {
        b = next_bit(s->cron->hours, h, 24);
        target = b < 0 ? (day + 1) * 86400 : day * 86400 + (int64_t)b * 3600;
    } else if (!(s->cron->minutes >> m & 1)) {
        b = next_bit(s->cron->minutes, m, 60);
        target = day * 86400 + (int64_t)h * 3600 + (b < 0 ? 3600 : (int64_t)b * 60);
    } else {
        return 1;
    }
    /* Local time runs linearly with UTC only up to the next offset change. */
    *next = ceil_div(target - off, 60);
    tr = ceil_div(s->zc.until, 60);
    if (tr < *next)
        *next = tr;
    return 0;
}

/* The first (or, with want_last, the last) minute in [lo, hi] at which the expression fires;
 * NO_FIRE when none. Costs one step per local day, hour or minute the expression may match. */
static int64_t scan(struct cscan *s, int64_t lo, int64_t hi, int want_last)
{
    int64_t u = lo, found = NO_FIRE, nx = 0;
    while (u <= hi) {
        if (!probe(s, u, &nx)) {
            u = nx;
            continue;
        }
        if (!want_last)
            return u;
        found = u++;
    }
    return found;
}

/* The last minute in [lo, hi] at which the expression fires, searched back from hi in
 * doubling chunks so a frequent expression is answered from its last hour. */
static int64_t last_fire(struct cscan *s, int64_t lo, int64_t hi)
{
    int64_t len = CHUNK_FIRST, e = hi;
    while (e >= lo) {
        int64_t b = e - lo + 1 > len ? e - len + 1 : lo, f = scan(s, b, e, 1);
        if (f != NO_FIRE)
            return f;
        e = b - 1;
        if (len < CHUNK_LAST)
            len *= 2;
    }
    return NO_FIRE;
}

/* The last minute of the run of consecutive fires that u (a fire) is in, at most hi: a run
 * merges whatever the duration, and is crossed an hour at a time. */
static int64_t run_end(struct cscan *s, int64_t u, int64_t hi)
{
    int64_t nx = 0;
    while (u < hi) {
        int64_t t = u * 60, local, sod, last, tr;
        int32_t off = zc_offset(&s->zc, t);
        int m, b;
        local = t + off;
        sod = local - floor_div(local, 86400) * 86400;
        m = (int)(sod / 60 % 60);
        /* Day and hour stay as they are to the end of the local hour (offset unchanged). */
        b = next_bit(~s->cron->minutes, m, 60);
        last = u + (b < 0 ? 59 - m : b - 1 - m);
        tr = ceil_div(s->zc.until, 60) - 1;
        if (last > tr)
            last = tr;
        if (last > hi)
            last = hi;
        if (last > u) {
            u = last;
            continue;
        }
        if (!probe(s, u + 1, &nx))
            return u;
        u++;
    }
    return u;
}

/* One schedule at now: whether it is active, when the (merged) window ends, and the next
 * instant within the lookahead at which that flips (0 = none).
 * Every window lasts the same duration, so the window holding now is the one of the last fire
 * at or before now (searched back min(duration, SCAN_BACK)); later fires within the lookahead
 * that begin before it ends extend it, each found as the last fire before the current end. */
static void cron_window(const struct k8s_warm_schedule *s, const struct prewarm_tz *z,
                        core_ns now, int *active, core_ns *end, core_ns *next)
{
    struct cscan cs;
    core_ns dur = s->duration, back = dur < SCAN_BACK ? dur : SCAN_BACK;
    core_ns horizon = now + PREWARM_LOOKAHEAD, wend;
    int64_t hi = floor_div(now, MIN_NS), hz = floor_div(horizon, MIN_NS), f, g;
    int final = 0;

    *active = 0;
    *end = 0;
    *next = 0;
    if (!cscan_init(&cs, &s->cron, z))
        return;
    f = last_fire(&cs, floor_div(now - back, MIN_NS) + 1, hi);
    if (f == NO_FIRE) {
        g = scan(&cs, hi + 1, hz, 0);
        if (g != NO_FIRE)
            *next = g * MIN_NS;
        return;
    }
    wend = sat_add(f * MIN_NS, dur);
    for (;;) {
        /* Fires within the lookahead that begin before the window ends extend it (one at the
         * very end too: windows that touch are one). */
        int64_t wu = floor_div(wend, MIN_NS), ext = last_fire(&cs, f + 1, wu < hz ? wu : hz);
        if (ext == NO_FIRE) {
            final = wu <= hz;
            break;
        }
        f = run_end(&cs, ext, hz);
        wend = sat_add(f * MIN_NS, dur);
    }
    *active = 1;
    *end = wend;
    if (final && wend <= horizon)
        *next = wend;
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
