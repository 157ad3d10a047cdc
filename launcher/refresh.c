/*
 * launcher/refresh.c — the catalog refresher: keeps the instance catalog and its offerings
 * current from EC2, on the core loop. One refresh is a "job" of three calls in sequence:
 * DescribeInstanceTypes (all pages) → launcher_catalog_from_ec2 over the compiled-in base;
 * DescribeInstanceTypeOfferings by availability zone → which types each kept zone offers;
 * DescribeSpotPriceHistory (Linux/UNIX, from now) → the newest spot price per type and zone.
 * Then new offerings are built (on-demand at the catalog price when known, spot when the type
 * supports it and a price is known), capacity-error marks still running are carried over, and
 * the new catalog and offerings replace the old ones in one step.
 *
 * Invariants:
 *  - r->off is never NULL and always belongs to the current catalog: r->cat, or r->base until
 *    the first refresh succeeds. The pair changes only at the end of a successful job, and the
 *    old pair is freed only after the swap, so nothing is ever half-replaced.
 *  - Any failed call (or a failure building the result) fails the whole refresh: the previous
 *    catalog and offerings stay current and a retry is scheduled.
 *  - At most one job runs (r->job); while none runs, exactly one timer is pending unless
 *    scheduling it failed for lack of memory (then only launcher_refresher_refresh restarts).
 *  - The user's callback never runs inside a public call: it runs from the aws client's
 *    callbacks (or the refresh timer), and runs last, touching nothing afterwards, so it may
 *    free the refresher.
 *  - A job outlives the refresher when it is freed with a call in flight: job->r becomes NULL
 *    and the job frees itself when its call comes back (from the loop, or with
 *    CORE_E_CANCELLED from aws_client_free). Such a job touches nothing of the refresher.
 *  - Zones of a refresh are registered in the new offerings in name order, so zone indexes do
 *    not depend on the order EC2 answers in.
 */
#include "launcher/internal.h"

#include "aws/aws.h"

#include <stdlib.h>
#include <string.h>

#define INTERVAL_DEFAULT ((core_ns)12 * 3600 * CORE_NS_PER_S)
#define RETRY_DEFAULT ((core_ns)60 * CORE_NS_PER_S)
#define ZONE_NAME_MAX 64u
#define SPOT_PRODUCT "Linux/UNIX"

struct refresh_job;

struct launcher_refresher {
    struct core_loop *loop;               /* borrowed */
    struct aws_client *aws;               /* borrowed */
    const struct launcher_catalog *base;  /* borrowed */
    char *region;
    core_ns interval, retry;
    char **zones; /* opts->zones copied; NULL = every zone */
    size_t nzones;
    launcher_refresh_fn cb;
    void *ud;
    struct launcher_catalog *cat;         /* owned; NULL until the first success */
    struct launcher_offerings *off;       /* owned; of cat, or of base before */
    struct core_timer *timer;
    struct refresh_job *job;
};

struct refresh_job {
    struct launcher_refresher *r;         /* NULL once the refresher is freed */
    struct launcher_catalog *cat;         /* the new catalog, owned until swapped in */
    size_t ntypes;
    char *zones[LAUNCHER_MAX_ZONES];      /* kept zones in the order EC2 named them */
    size_t nzones;
    uint32_t *mask;                       /* per type index: bit z = offered in zones[z] */
    double *spot;                         /* [ti * LAUNCHER_MAX_ZONES + z], 0 = unknown */
    core_ns *spot_at;                     /* the timestamp of that price */
};

static void job_free(struct refresh_job *j)
{
    if (!j)
        return;
    launcher_catalog_free(j->cat);
    for (size_t i = 0; i < j->nzones; i++)
        core_free(j->zones[i]);
    core_free(j->mask);
    core_free(j->spot);
    core_free(j->spot_at);
    core_free(j);
}

static void on_timer(void *ud);

static void arm(struct launcher_refresher *r, core_ns delay)
{
    if (r->timer)
        core_loop_timer_cancel(r->loop, r->timer);
    r->timer = core_loop_timer_add(r->loop, delay, on_timer, r);
}

/* ---- building the result ---------------------------------------------------------------- */

static int zone_cmp(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    return strcmp(*x, *y);
}

/* Carries capacity-error marks that are still running from old to fresh, by type name, zone
 * name and capacity type (type indexes differ between catalogs). */
static void carry_marks(const struct launcher_offerings *old, struct launcher_offerings *fresh,
                        core_ns now)
{
    const struct launcher_catalog *oc = launcher_offerings_catalog(old);
    size_t n = launcher_catalog_count(oc);

    for (size_t ti = 0; ti < n; ti++) {
        size_t k = 0;
        const struct launcher_offer *v = launcher_offerings_of(old, ti, &k);
        const struct launcher_itype *t = launcher_catalog_at(oc, ti);
        for (size_t i = 0; i < k; i++) {
            if (v[i].unavailable_until <= now)
                continue;
            /* Unknown type or zone in the new data: nothing to mark, which is right. */
            (void)launcher_offerings_mark_unavailable(
                fresh, (enum launcher_ct)v[i].ct, t->name,
                launcher_offerings_zone(old, v[i].zone), now, v[i].unavailable_until - now);
        }
    }
}

static int build(struct refresh_job *j, const struct launcher_offerings *old, core_ns now,
                 struct launcher_offerings **out, struct core_err *err)
{
    struct launcher_offerings *o = NULL;
    size_t order[LAUNCHER_MAX_ZONES];
    const char *names[LAUNCHER_MAX_ZONES];
    int rc;

    if ((rc = launcher_offerings_new(j->cat, j->r->region, &o, err)) != 0)
        goto out;
    for (size_t z = 0; z < j->nzones; z++)
        names[z] = j->zones[z];
    qsort(names, j->nzones, sizeof *names, zone_cmp);
    for (size_t s = 0; s < j->nzones; s++)
        for (size_t z = 0; z < j->nzones; z++)
            if (names[s] == j->zones[z])
                order[s] = z;
    for (size_t s = 0; s < j->nzones; s++) {
        size_t z = order[s];
        for (size_t ti = 0; ti < j->ntypes; ti++) {
            const struct launcher_itype *t = launcher_catalog_at(j->cat, ti);
            double sp = j->spot[ti * LAUNCHER_MAX_ZONES + z];
            if (!(j->mask[ti] & (UINT32_C(1) << z)))
                continue;
            if (t->od_price_usd_hr > 0 &&
                (rc = launcher_offerings_set(o, t->name, j->zones[z], LAUNCHER_ON_DEMAND,
                                             t->od_price_usd_hr, err)) != 0)
                goto out;
            if (t->spot_supported && sp > 0 &&
                (rc = launcher_offerings_set(o, t->name, j->zones[z], LAUNCHER_SPOT, sp,
                                             err)) != 0)
                goto out;
        }
    }
    carry_marks(old, o, now);
    *out = o;
    o = NULL;
out:
    launcher_offerings_free(o);
    return rc;
}

/* Ends the job: on success swaps the new data in; schedules the next refresh; tells the user.
 * The user's callback runs last: it may free the refresher. */
static void job_end(struct refresh_job *j, int rc, const struct core_err *cause,
                    const char *action)
{
    struct launcher_refresher *r = j->r;
    struct launcher_offerings *fresh = NULL;
    struct core_err e;
    launcher_refresh_fn cb = r->cb;
    void *ud = r->ud;

    core_err_clear(&e);
    if (rc) {
        if (cause)
            e = *cause;
        else
            core_err_set(&e, rc, "%s", core_strerror(rc));
        e.code = rc;
        if (action)
            core_err_prefix(&e, "%s", action);
    } else if ((rc = build(j, r->off, core_loop_now(r->loop), &fresh, &e)) == 0) {
        struct launcher_catalog *old_cat = r->cat;
        struct launcher_offerings *old_off = r->off;
        r->cat = j->cat;
        r->off = fresh;
        j->cat = NULL;
        launcher_offerings_free(old_off);
        launcher_catalog_free(old_cat);
    }
    if (rc)
        core_err_prefix(&e, "catalog refresh");
    r->job = NULL;
    job_free(j);
    arm(r, rc ? r->retry : r->interval);
    cb(ud, rc ? &e : NULL);
}

/* ---- the calls ------------------------------------------------------------------------------ */

static void on_spot(void *ud, int rc, const struct aws_ec2_spot_prices *res,
                    const struct core_err *err)
{
    struct refresh_job *j = ud;

    if (!j->r) {
        job_free(j);
        return;
    }
    if (rc) {
        job_end(j, rc, err, "DescribeSpotPriceHistory");
        return;
    }
    for (size_t i = 0; i < res->n; i++) {
        const struct aws_ec2_spot_price *p = &res->v[i];
        const struct launcher_itype *t = launcher_catalog_find(j->cat, p->instance_type);
        size_t z = 0, k;
        if (!t || !p->availability_zone || !(p->spot_price > 0))
            continue;
        while (z < j->nzones && strcmp(j->zones[z], p->availability_zone) != 0)
            z++;
        if (z == j->nzones)
            continue;
        k = t->index * LAUNCHER_MAX_ZONES + z;
        /* The newest entry wins; among equal stamps the first one EC2 listed. */
        if (j->spot[k] > 0 && p->timestamp <= j->spot_at[k])
            continue;
        j->spot[k] = p->spot_price;
        j->spot_at[k] = p->timestamp;
    }
    job_end(j, 0, NULL, NULL);
}

static int issue_spot(struct refresh_job *j, struct core_err *err)
{
    static const char *const products[] = {SPOT_PRODUCT};
    struct aws_ec2_describe_spot_price_history_req req;

    memset(&req, 0, sizeof req);
    req.product_descriptions = products;
    req.nproduct_descriptions = 1;
    req.start_time = core_clock_wall(core_loop_clock(j->r->loop));
    req.max_results = 1000;
    return aws_ec2_describe_spot_price_history(j->r->aws, &req, on_spot, j, err);
}

/* The index of a kept zone in j->zones, registering it; -1 when not kept; CORE_E_* on
 * failure. */
static int zone_keep(struct refresh_job *j, const char *zone, struct core_err *err)
{
    const struct launcher_refresher *r = j->r;
    size_t z;

    if (r->zones) {
        size_t i = 0;
        while (i < r->nzones && strcmp(r->zones[i], zone) != 0)
            i++;
        if (i == r->nzones)
            return -1;
    }
    for (z = 0; z < j->nzones; z++)
        if (strcmp(j->zones[z], zone) == 0)
            return (int)z;
    if (!zone[0] || strlen(zone) >= ZONE_NAME_MAX)
        return -1;
    if (j->nzones == LAUNCHER_MAX_ZONES)
        return core_err_set(err, CORE_E_TOOBIG, "more than %u availability zones offer "
                            "instance types (\"%.64s\"); restrict them with the refresher's "
                            "zones", (unsigned)LAUNCHER_MAX_ZONES, zone);
    j->zones[j->nzones] = core_strdup(zone);
    if (!j->zones[j->nzones])
        return core_err_set(err, CORE_E_NOMEM, "out of memory");
    return (int)j->nzones++;
}

static void on_offerings(void *ud, int rc, const struct aws_ec2_offerings *res,
                         const struct core_err *err)
{
    struct refresh_job *j = ud;
    struct core_err e;

    if (!j->r) {
        job_free(j);
        return;
    }
    if (rc) {
        job_end(j, rc, err, "DescribeInstanceTypeOfferings");
        return;
    }
    core_err_clear(&e);
    for (size_t i = 0; i < res->n; i++) {
        const struct aws_ec2_offering *f = &res->v[i];
        const struct launcher_itype *t = launcher_catalog_find(j->cat, f->instance_type);
        int z;
        if (!t || !f->location)
            continue;
        z = zone_keep(j, f->location, &e);
        if (z < -1) {
            job_end(j, z, &e, "DescribeInstanceTypeOfferings");
            return;
        }
        if (z >= 0)
            j->mask[t->index] |= UINT32_C(1) << z;
    }
    if ((rc = issue_spot(j, &e)) != 0)
        job_end(j, rc, &e, "DescribeSpotPriceHistory");
}

static int issue_offerings(struct refresh_job *j, struct core_err *err)
{
    struct aws_ec2_describe_instance_type_offerings_req req;

    memset(&req, 0, sizeof req);
    req.location_type = "availability-zone";
    req.max_results = 1000;
    return aws_ec2_describe_instance_type_offerings(j->r->aws, &req, on_offerings, j, err);
}

static void on_types(void *ud, int rc, const struct aws_ec2_instance_types *res,
                     const struct core_err *err)
{
    struct refresh_job *j = ud;
    struct core_err e;
    size_t n;

    if (!j->r) {
        job_free(j);
        return;
    }
    if (rc) {
        job_end(j, rc, err, "DescribeInstanceTypes");
        return;
    }
    core_err_clear(&e);
    if ((rc = launcher_catalog_from_ec2(res->v, res->n, j->r->base, &j->cat, &e)) != 0) {
        job_end(j, rc, &e, "DescribeInstanceTypes");
        return;
    }
    n = launcher_catalog_count(j->cat);
    j->ntypes = n;
    j->mask = core_calloc(n ? n : 1, sizeof *j->mask);
    j->spot = core_calloc(n ? n * LAUNCHER_MAX_ZONES : 1, sizeof *j->spot);
    j->spot_at = core_calloc(n ? n * LAUNCHER_MAX_ZONES : 1, sizeof *j->spot_at);
    if (!j->mask || !j->spot || !j->spot_at) {
        job_end(j, core_err_set(&e, CORE_E_NOMEM, "out of memory"), &e, NULL);
        return;
    }
    if ((rc = issue_offerings(j, &e)) != 0)
        job_end(j, rc, &e, "DescribeInstanceTypeOfferings");
}

/* Starts a job; on failure nothing changed and no callback will come. */
static int start(struct launcher_refresher *r, struct core_err *err)
{
    struct aws_ec2_describe_instance_types_req req;
    struct refresh_job *j;
    int rc;

    j = core_calloc(1, sizeof *j);
    if (!j)
        return core_err_set(err, CORE_E_NOMEM, "catalog refresh: out of memory");
    j->r = r;
    memset(&req, 0, sizeof req);
    req.max_results = 100;
    if ((rc = aws_ec2_describe_instance_types(r->aws, &req, on_types, j, err)) != 0) {
        core_err_prefix(err, "catalog refresh: DescribeInstanceTypes");
        job_free(j);
        return rc;
    }
    r->job = j;
    return 0;
}

static void on_timer(void *ud)
{
    struct launcher_refresher *r = ud;
    struct core_err e;
    int rc;

    r->timer = NULL;
    if (r->job)
        return; /* the running job schedules the next one when it ends */
    core_err_clear(&e);
    if ((rc = start(r, &e)) != 0) {
        arm(r, r->retry);
        r->cb(r->ud, &e);
    }
}

/* ---- public --------------------------------------------------------------------------------- */

int launcher_refresher_new(struct core_loop *loop, struct aws_client *aws, const char *region,
                           const struct launcher_catalog *base,
                           const struct launcher_refresh_opts *opts, launcher_refresh_fn cb,
                           void *ud, struct launcher_refresher **out, struct core_err *err)
{
    struct launcher_refresher *r = NULL;
    struct core_err e;
    int rc;

    if (!loop || !aws || !region || !base || !cb || !out)
        return core_err_set(err, CORE_E_INVAL, "catalog refresher: loop, client, region, base "
                            "catalog, callback and out are required");
    if (opts && (opts->interval < 0 || opts->retry < 0 || (opts->nzones && !opts->zones)))
        return core_err_set(err, CORE_E_INVAL, "catalog refresher: negative interval or retry, "
                            "or zones missing");
    if (opts && opts->zones && opts->nzones > LAUNCHER_MAX_ZONES)
        return core_err_set(err, CORE_E_TOOBIG, "catalog refresher: %zu zones; at most %u",
                            opts->nzones, (unsigned)LAUNCHER_MAX_ZONES);
    r = core_calloc(1, sizeof *r);
    if (!r)
        return core_err_set(err, CORE_E_NOMEM, "catalog refresher: out of memory");
    r->loop = loop;
    r->aws = aws;
    r->base = base;
    r->cb = cb;
    r->ud = ud;
    r->interval = opts && opts->interval ? opts->interval : INTERVAL_DEFAULT;
    r->retry = opts && opts->retry ? opts->retry : RETRY_DEFAULT;
    rc = core_err_set(&e, CORE_E_NOMEM, "catalog refresher: out of memory");
    r->region = core_strdup(region);
    if (!r->region)
        goto fail;
    if (opts && opts->zones) {
        r->zones = core_calloc(opts->nzones ? opts->nzones : 1, sizeof *r->zones);
        if (!r->zones)
            goto fail;
        for (size_t i = 0; i < opts->nzones; i++) {
            if (!opts->zones[i]) {
                rc = core_err_set(&e, CORE_E_INVAL, "catalog refresher: zones[%zu] is NULL", i);
                goto fail;
            }
            r->zones[i] = core_strdup(opts->zones[i]);
            if (!r->zones[i])
                goto fail;
            r->nzones = i + 1;
        }
    }
    if ((rc = launcher_offerings_new(base, region, &r->off, &e)) != 0)
        goto fail;
    /* The first refresh starts on the loop's next turn, never inside this call. */
    r->timer = core_loop_timer_add(loop, 0, on_timer, r);
    if (!r->timer) {
        rc = core_err_set(&e, CORE_E_NOMEM, "catalog refresher: out of memory");
        goto fail;
    }
    *out = r;
    return 0;
fail:
    launcher_refresher_free(r);
    if (err)
        *err = e;
    return rc;
}

int launcher_refresher_refresh(struct launcher_refresher *r, struct core_err *err)
{
    int rc;

    if (!r)
        return core_err_set(err, CORE_E_INVAL, "catalog refresher: NULL refresher");
    if (r->job)
        return core_err_set(err, CORE_E_STATE, "catalog refresher: a refresh is running");
    if ((rc = start(r, err)) != 0)
        return rc;
    if (r->timer) {
        core_loop_timer_cancel(r->loop, r->timer);
        r->timer = NULL;
    }
    return 0;
}

const struct launcher_catalog *launcher_refresher_catalog(const struct launcher_refresher *r)
{
    if (!r)
        return NULL;
    return r->cat ? r->cat : r->base;
}

struct launcher_offerings *launcher_refresher_offerings(struct launcher_refresher *r)
{
    return r ? r->off : NULL;
}

void launcher_refresher_free(struct launcher_refresher *r)
{
    if (!r)
        return;
    if (r->timer)
        core_loop_timer_cancel(r->loop, r->timer);
    if (r->job) {
        /* Its aws call still holds the job; the answer (or the client's cancel) frees it. */
        r->job->r = NULL;
        r->job = NULL;
    }
    launcher_offerings_free(r->off);
    launcher_catalog_free(r->cat);
    for (size_t i = 0; i < r->nzones; i++)
        core_free(r->zones[i]);
    core_free(r->zones);
    core_free(r->region);
    core_free(r);
}
