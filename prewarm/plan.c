/*
 * prewarm/plan.c — what each instance of a WarmPool is (prewarm_classify) and what to do about
 * the pool as a whole (prewarm_plan): terminate failed, stale and surplus instances, hibernate
 * finished warm-ups of Hibernated pools, launch up to the floor, list the free warm instances
 * and price the idle pool.
 *
 * Invariants:
 *  - Pure and deterministic: every ordering is by age (warm-since, else launch time) and then
 *    by instance id, never by input order alone.
 *  - An instance gets at most one action; claimed instances never get one.
 *  - The ready count (warm + warming) is never reduced below bounds.min by a rotation, and live
 *    unclaimed instances never exceed bounds.max (+ max_surge while stale ones are replaced)
 *    through launches made here.
 *  - Launches per plan are capped at PLAN_LAUNCH_MAX: the controller plans again each round.
 *    Without a zone to launch in the cap is 0 (no_zones) and the rest of the plan stands.
 *  - Times from tags are untrusted: a warm-since tag that cannot be real (before 2006, or more
 *    than a day ahead) counts as absent, ages saturate and are never negative, and the
 *    timeouts derived from the spec saturate.
 */
#include "prewarm/internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRACE ((core_ns)5 * 60 * CORE_NS_PER_S)
/* A warm-since tag before this (2006-01-01, before EC2 existed) or more than a day ahead of now
 * is not a time the controller wrote: the instance's age is then its launch time's. */
#define CREATED_MIN ((core_ns)1136073600 * CORE_NS_PER_S)
#define CREATED_AHEAD ((core_ns)24 * 3600 * CORE_NS_PER_S)
#define PLAN_LAUNCH_MAX 1000
#define DEFAULT_ROOT_GIB 20

const char *prewarm_phase_name(enum prewarm_phase p)
{
    switch (p) {
    case PREWARM_WARMING: return "warming";
    case PREWARM_WARM: return "warm";
    case PREWARM_CLAIMED: return "claimed";
    case PREWARM_FAILED: return "failed";
    case PREWARM_STALE: return "stale";
    case PREWARM_GONE: return "gone";
    default: return "unknown";
    }
}

static int streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static core_ns sat_add(core_ns a, core_ns b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

/* now - t, saturating, and never negative (a clock skewed ahead is no age). */
static core_ns age_at(core_ns now, core_ns t)
{
    core_ns d;
    if (t < 0 && now > INT64_MAX + t)
        return INT64_MAX;
    d = t > 0 && now < INT64_MIN + t ? INT64_MIN : now - t;
    return d < 0 ? 0 : d;
}

static int created_ok(core_ns now, core_ns created)
{
    return created >= CREATED_MIN && created <= sat_add(now, CREATED_AHEAD);
}

/* When the instance's warm-up began: the warm-since tag when plausible, else its launch. */
static core_ns born(core_ns now, const struct prewarm_instance *in)
{
    return in->created && created_ok(now, in->created) ? in->created : in->launch_time;
}

/* When it last started: its launch time, else a plausible warm-since tag. */
static core_ns started(core_ns now, const struct prewarm_instance *in)
{
    if (in->launch_time)
        return in->launch_time;
    return created_ok(now, in->created) ? in->created : 0;
}

static core_ns warmup_timeout(const struct k8s_warmpool *wp)
{
    return wp && wp->prewarm_timeout > 0 ? wp->prewarm_timeout : PREWARM_WARMUP_TIMEOUT_DEFAULT;
}

static enum prewarm_phase say(char *why, enum prewarm_phase p, const char *fmt, ...)
    CORE_PRINTF(3, 4);
static enum prewarm_phase say(char *why, enum prewarm_phase p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, PREWARM_REASON_MAX, fmt, ap);
    va_end(ap);
    return p;
}

enum prewarm_phase prewarm_classify(const struct prewarm_context *ctx,
                                    const struct prewarm_instance *in, char *why)
{
    char scratch[PREWARM_REASON_MAX], dur[32];
    const char *st;
    core_ns age;

    if (!why)
        why = scratch;
    if (!ctx || !in)
        return say(why, PREWARM_FAILED, "no instance to classify");
    st = in->state ? in->state : "";
    age = age_at(ctx->now, born(ctx->now, in));
    if (strcmp(st, "shutting-down") == 0 || strcmp(st, "terminated") == 0)
        return say(why, PREWARM_GONE, "%s", st);
    if (in->nodeclaim && *in->nodeclaim)
        return say(why, PREWARM_CLAIMED, "claimed by NodeClaim %.200s", in->nodeclaim);
    if (strcmp(st, "pending") == 0 || strcmp(st, "running") == 0 ||
        strcmp(st, "stopping") == 0) {
        core_ns limit = warmup_timeout(ctx->wp);
        /* A Hibernated pool's instance is hibernated by the plan once its warm-up has run:
         * the hibernation gets a second timeout of its own before the instance counts as
         * stuck. */
        int hib = ctx->wp && ctx->wp->state == K8S_WARM_HIBERNATED;
        core_ns fail_at = sat_add(hib ? sat_add(limit, limit) : limit, GRACE);
        prewarm_fmt_duration(limit, dur, sizeof dur);
        if (born(ctx->now, in) != 0 && age >= fail_at)
            return say(why, PREWARM_FAILED, "warm-up timed out after %s", dur);
        return say(why, PREWARM_WARMING, "%s, warming up", st);
    }
    if (strcmp(st, "stopped") == 0) {
        if (!in->spec_hash)
            return say(why, PREWARM_STALE, "no spec hash tag");
        if (ctx->spec_hash && strcmp(in->spec_hash, ctx->spec_hash) != 0)
            return say(why, PREWARM_STALE, "spec hash %.64s differs from %.64s", in->spec_hash,
                       ctx->spec_hash);
        if (ctx->current_images) {
            int found = 0;
            for (size_t i = 0; i < ctx->ncurrent_images && !found; i++)
                found = streq(in->image_id, ctx->current_images[i]);
            if (!found)
                return say(why, PREWARM_STALE, "AMI %.64s is not current (%.64s)",
                           in->image_id ? in->image_id : "(unknown)",
                           ctx->ncurrent_images ? ctx->current_images[0] : "none");
        }
        if (ctx->wp && ctx->wp->max_age > 0 && born(ctx->now, in) != 0 &&
            age > ctx->wp->max_age) {
            prewarm_fmt_duration(ctx->wp->max_age, dur, sizeof dur);
            return say(why, PREWARM_STALE, "older than maxAge %s", dur);
        }
        return say(why, PREWARM_WARM, "%s, current", in->hibernated ? "hibernated" : "stopped");
    }
    return say(why, PREWARM_FAILED, "in state \"%.64s\" it cannot leave", st);
}

/* ---- the plan ------------------------------------------------------------------------------ */

struct entry {
    const struct prewarm_instance *in;
    core_ns born;
    enum prewarm_phase ph;
    int acted; /* terminated (or hibernated) by this plan */
    char why[PREWARM_REASON_MAX];
};

static int cmp_age(const void *a, const void *b)
{
    const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
    if (x->born != y->born)
        return x->born < y->born ? -1 : 1;
    return strcmp(x->in->id ? x->in->id : "", y->in->id ? y->in->id : "");
}

/* A Hibernated pool's warm-up that has run for the timeout since its last start. */
static int hibernate_due(const struct prewarm_context *ctx, const struct entry *e)
{
    core_ns since = started(ctx->now, e->in);
    return e->ph == PREWARM_WARMING && streq(e->in->state, "running") && since != 0 &&
           age_at(ctx->now, since) >= warmup_timeout(ctx->wp);
}

void prewarm_plan_free(struct prewarm_plan *p)
{
    if (!p)
        return;
    core_free(p->actions);
    core_free(p->free);
    core_free(p);
}

static void add_action(struct prewarm_plan *p, enum prewarm_action_kind k, const char *id,
                       const char *zone, const char *reason)
{
    struct prewarm_action *a = &p->actions[p->nactions++];
    a->kind = k;
    a->id = id;
    a->zone = zone;
    core_strlcpy(a->reason, reason, sizeof a->reason);
}

static double idle_cost(const struct prewarm_instance *in)
{
    int64_t gib = in->root_volume_gib > 0 ? in->root_volume_gib : DEFAULT_ROOT_GIB;
    double ebs = (double)gib * PREWARM_EBS_USD_PER_GB_MONTH / PREWARM_HOURS_PER_MONTH;
    const char *st = in->state ? in->state : "";
    if (strcmp(st, "pending") == 0 || strcmp(st, "running") == 0 || strcmp(st, "stopping") == 0)
        return ebs + (in->od_price_usd_hr > 0 ? in->od_price_usd_hr : 0);
    return ebs;
}

int prewarm_plan(const struct prewarm_plan_input *in, struct prewarm_plan **out,
                 struct core_err *err)
{
    const struct prewarm_context *ctx;
    struct prewarm_plan *p = NULL;
    struct entry *e = NULL, **order = NULL;
    int64_t *zcount = NULL;
    int64_t w = 0, g = 0, s = 0, live, surge, launches = 0;
    int64_t nfailed = 0, nscale = 0, nrot = 0, nhib = 0, unplaced = 0;
    size_t n;
    int hib_pool, rc = 0;
    char buf[PREWARM_REASON_MAX], dur[32];

    if (!in || !out || !in->ctx || !in->ctx->wp || (in->ninstances && !in->instances))
        return core_err_set(err, CORE_E_INVAL, "warm pool plan: NULL argument");
    if (in->nzones && !in->zones)
        return core_err_set(err, CORE_E_INVAL, "warm pool plan: %zu zones but NULL zones",
                            in->nzones);
    ctx = in->ctx;
    n = in->ninstances;
    hib_pool = ctx->wp->state == K8S_WARM_HIBERNATED;
    if (!(p = core_calloc(1, sizeof *p)) || (n && (!(e = core_calloc(n, sizeof *e)) ||
                                                   !(order = core_calloc(n, sizeof *order)))) ||
        (in->nzones && !(zcount = core_calloc(in->nzones, sizeof *zcount)))) {
        rc = core_err_set(err, CORE_E_NOMEM, "warm pool plan: out of memory");
        goto out;
    }
    if ((rc = prewarm_bounds(ctx->wp, ctx->now, in->pool_nodes, &p->bounds, err)) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        e[i].in = &in->instances[i];
        e[i].born = born(ctx->now, e[i].in);
        e[i].ph = prewarm_classify(ctx, e[i].in, e[i].why);
        p->count[e[i].ph]++;
        order[i] = &e[i];
    }
    if (n)
        qsort(order, n, sizeof *order, cmp_age);
    w = p->count[PREWARM_WARM];
    g = p->count[PREWARM_WARMING];
    s = p->count[PREWARM_STALE];

    /* Failed instances go. */
    for (size_t i = 0; i < n; i++)
        if (order[i]->ph == PREWARM_FAILED) {
            order[i]->acted = 1;
            nfailed++;
        }
    /* Scale in: warm instances (stale ones first) beyond max; warming ones finish first. */
    for (int pass = 0; pass < 2 && w + s > p->bounds.max; pass++) {
        enum prewarm_phase want = pass == 0 ? PREWARM_STALE : PREWARM_WARM;
        for (size_t i = 0; i < n && w + s > p->bounds.max; i++) {
            if (order[i]->ph != want || order[i]->acted)
                continue;
            snprintf(buf, sizeof buf, "scale in: %" PRId64 " above max %" PRId64 "%s%.180s",
                     w + s, p->bounds.max, want == PREWARM_STALE ? "; stale: " : "",
                     want == PREWARM_STALE ? order[i]->why : "");
            core_strlcpy(order[i]->why, buf, sizeof order[i]->why);
            order[i]->acted = 1;
            nscale++;
            if (want == PREWARM_STALE)
                s--;
            else
                w--;
        }
    }
    /* Rotation: a stale instance goes only while warm + stale stays at min or above. */
    for (size_t i = 0; i < n; i++) {
        if (order[i]->ph != PREWARM_STALE || order[i]->acted)
            continue;
        if (w + s - 1 < p->bounds.min)
            break;
        snprintf(buf, sizeof buf, "stale: %.240s", order[i]->why);
        core_strlcpy(order[i]->why, buf, sizeof order[i]->why);
        order[i]->acted = 1;
        s--;
        nrot++;
    }
    live = w + g + s;

    /* Refill. */
    surge = in->max_surge > 0 ? in->max_surge : (p->bounds.min * 25 + 99) / 100;
    if (surge < 1)
        surge = 1;
    if (w + g < p->bounds.min) {
        int64_t cap = p->bounds.max - live;
        if (s > 0)
            cap = p->bounds.max > INT64_MAX - surge ? INT64_MAX - live
                                                     : p->bounds.max + surge - live;
        launches = p->bounds.min - (w + g);
        if (launches > cap)
            launches = cap;
        if (launches < 0)
            launches = 0;
        if (launches > PLAN_LAUNCH_MAX)
            launches = PLAN_LAUNCH_MAX;
    }
    /* Without a zone nothing can be launched, but failed, surplus and stale instances still
     * go: the plan says so (no_zones) instead of failing whole. */
    if (launches > 0 && in->nzones == 0) {
        p->no_zones = 1;
        unplaced = launches;
        launches = 0;
    }

    /* Hibernations: a Hibernated pool's warm-up that has run for the timeout. */
    prewarm_fmt_duration(warmup_timeout(ctx->wp), dur, sizeof dur);
    for (size_t i = 0; hib_pool && i < n; i++) {
        if (hibernate_due(ctx, order[i]))
            nhib++;
    }

    if (!(p->actions = core_calloc((size_t)(nfailed + nscale + nrot + nhib + launches) + 1,
                                   sizeof *p->actions)) ||
        !(p->free = core_calloc(n + 1, sizeof *p->free))) {
        rc = core_err_set(err, CORE_E_NOMEM, "warm pool plan: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (order[i]->acted)
            add_action(p, PREWARM_TERMINATE, order[i]->in->id, NULL, order[i]->why);
    for (size_t i = 0; hib_pool && i < n; i++) {
        const struct prewarm_instance *x = order[i]->in;
        if (!hibernate_due(ctx, order[i]))
            continue;
        snprintf(buf, sizeof buf, "warm-up ran %s: hibernate", dur);
        add_action(p, PREWARM_HIBERNATE, x->id, NULL, buf);
        order[i]->acted = 1;
    }
    /* Spread: each launch goes to the zone holding the fewest live unclaimed instances. */
    for (size_t i = 0; i < n; i++) {
        if (order[i]->ph != PREWARM_WARM && order[i]->ph != PREWARM_WARMING &&
            order[i]->ph != PREWARM_STALE)
            continue;
        if (order[i]->acted && order[i]->ph != PREWARM_WARMING)
            continue;
        for (size_t z = 0; z < in->nzones; z++)
            if (streq(order[i]->in->zone, in->zones[z]))
                zcount[z]++;
    }
    for (int64_t k = 0; k < launches; k++) {
        size_t best = 0;
        for (size_t z = 1; z < in->nzones; z++)
            if (zcount[z] < zcount[best])
                best = z;
        zcount[best]++;
        snprintf(buf, sizeof buf, "refill: %" PRId64 " warm + %" PRId64 " warming below min %" PRId64 "%s",
                 w, g, p->bounds.min, s > 0 ? ", replacing stale" : "");
        add_action(p, PREWARM_LAUNCH, NULL, in->zones[best], buf);
    }

    for (size_t i = 0; i < n; i++)
        if (order[i]->ph == PREWARM_WARM && !order[i]->acted)
            p->free[p->nfree++] = order[i]->in;
    for (size_t i = 0; i < n; i++)
        if (e[i].ph != PREWARM_GONE && e[i].ph != PREWARM_CLAIMED)
            p->idle_usd_per_hour += idle_cost(e[i].in);

    {
        struct core_buf sb;
        int brc;
        core_buf_init(&sb, PREWARM_REASON_MAX - 1);
        brc = core_buf_appendf(&sb, "%" PRId64 " warm, %" PRId64 " warming",
                               p->count[PREWARM_WARM], p->count[PREWARM_WARMING]);
        if (brc == 0 && p->count[PREWARM_STALE])
            brc = core_buf_appendf(&sb, ", %" PRId64 " stale", p->count[PREWARM_STALE]);
        if (brc == 0 && p->count[PREWARM_FAILED])
            brc = core_buf_appendf(&sb, ", %" PRId64 " failed", p->count[PREWARM_FAILED]);
        if (brc == 0 && p->count[PREWARM_CLAIMED])
            brc = core_buf_appendf(&sb, ", %" PRId64 " claimed", p->count[PREWARM_CLAIMED]);
        if (brc == 0)
            brc = core_buf_appendf(&sb, " of %" PRId64 "..%" PRId64 ":", p->bounds.min,
                                   p->bounds.max);
        if (brc == 0 && launches)
            brc = core_buf_appendf(&sb, " launch %" PRId64 " (refill)", launches);
        if (brc == 0 && nfailed + nscale + nrot)
            brc = core_buf_appendf(&sb, "%s terminate %" PRId64 " (%" PRId64 " failed, %" PRId64
                                   " scale-in, %" PRId64 " stale)", launches ? "," : "",
                                   nfailed + nscale + nrot, nfailed, nscale, nrot);
        if (brc == 0 && nhib)
            brc = core_buf_appendf(&sb, "%s hibernate %" PRId64,
                                   launches || nfailed + nscale + nrot ? "," : "", nhib);
        if (brc == 0 && unplaced)
            brc = core_buf_appendf(&sb, "%s %" PRId64 " to launch but no zone given",
                                   nfailed + nscale + nrot || nhib ? "," : "", unplaced);
        if (brc == 0 && !launches && !(nfailed + nscale + nrot) && !nhib && !unplaced)
            brc = core_buf_append_str(&sb, " nothing to do");
        core_strlcpy(p->summary, core_buf_cstr(&sb), sizeof p->summary);
        core_buf_cleanup(&sb);
    }
    *out = p;
    p = NULL;
out:
    prewarm_plan_free(p);
    core_free(e);
    core_free(order);
    core_free(zcount);
    return rc;
}
