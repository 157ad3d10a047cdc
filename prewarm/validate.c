/*
 * prewarm/validate.c — the checks a WarmPool's schema cannot make (against its NodePool and the
 * instance catalog), and the instance types a pool warms when its spec does not list them.
 *
 * Invariants:
 *  - Validation stops at the first problem and names the field as the user wrote it
 *    ("spec.instanceTypes[2]"), with a CamelCase reason for the Ready condition.
 *  - Warm instances are on-demand (only persistent Spot requests can stop, and EC2 may take
 *    them back), so NodePool requirements are asked with capacity type on-demand.
 *  - A Hibernated pool only warms types that may hibernate: support not known to be missing
 *    and memory within hibernation's 150 GiB.
 *  - Pure: no I/O beyond reading the zone database for cron schedules' zones (as
 *    prewarm_bounds will), no clock, no logging; sorting is by price, then name.
 *  - Arithmetic on spec times saturates (a window's end), and spec.prewarm.timeout is kept
 *    at 24h or less so the timeouts prewarm_classify derives from it stay small.
 */
#include "prewarm/internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIBERNATE_MAX_MIB ((int64_t)150 * 1024)
#define DEFAULT_SHAPE_CPU_MILLI 1000
#define DEFAULT_SHAPE_MEMORY ((int64_t)2 << 30)
/* The longest warm-up accepted: a boot script that runs longer is stuck, and the timeouts
 * derived from it must stay far from overflow. */
#define TIMEOUT_MAX ((core_ns)24 * 3600 * CORE_NS_PER_S)

static core_ns sat_add(core_ns a, core_ns b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

struct shape {
    int64_t cpu_milli, memory_bytes;
};

static struct shape pod_shape(const struct k8s_warmpool *wp)
{
    struct shape s = {DEFAULT_SHAPE_CPU_MILLI, DEFAULT_SHAPE_MEMORY};
    if (wp->pod_shape.n > 0) {
        int64_t mem = k8s_res_get(&wp->pod_shape, "memory");
        s.cpu_milli = k8s_res_get(&wp->pod_shape, "cpu");
        s.memory_bytes = mem / 1000 + (mem % 1000 != 0);
    }
    return s;
}

/* Whether a node of type t holds one pod of shape s next to the DaemonSets' overhead. */
static int holds(const struct launcher_itype *t, struct shape s,
                 const struct k8s_res_list *overhead)
{
    int64_t ocpu = 0, omem = 0, opods = 0;
    if (overhead) {
        int64_t m = k8s_res_get(overhead, "memory");
        ocpu = k8s_res_get(overhead, "cpu");
        omem = m / 1000 + (m % 1000 != 0);
        opods = k8s_res_get(overhead, K8S_RES_PODS) / 1000;
    }
    return t->alloc_cpu_milli - ocpu >= s.cpu_milli &&
           t->alloc_memory_bytes - omem >= s.memory_bytes && (int64_t)t->alloc_pods - opods >= 1;
}

static int may_hibernate(const struct launcher_itype *t)
{
    return t->hibernation != 0 && t->memory_mib <= HIBERNATE_MAX_MIB;
}

static int fail(char reason[64], char msg[PREWARM_REASON_MAX], const char *r, const char *fmt,
                ...) CORE_PRINTF(4, 5);
static int fail(char reason[64], char msg[PREWARM_REASON_MAX], const char *r, const char *fmt,
                ...)
{
    va_list ap;
    core_strlcpy(reason, r, 64);
    va_start(ap, fmt);
    vsnprintf(msg, PREWARM_REASON_MAX, fmt, ap);
    va_end(ap);
    return CORE_E_INVAL;
}

/* Whether the NodePool admits t, on-demand, in zone (NULL = any). 1, 0 (why set), or < 0. */
static int np_admits(const struct k8s_nodepool *np, const struct launcher_itype *t,
                     const char *zone, char *why, size_t whysz, struct core_err *err)
{
    if (!np)
        return 1;
    return launcher_requirements_admit(np->requirements, np->nrequirements, t, zone,
                                       LAUNCHER_ON_DEMAND, why, whysz, err);
}

/* Whether the NodePool allows a zone. The zone requirement does not depend on the type, so it
 * is asked with the first type the NodePool admits anywhere; with none, the zone alone cannot
 * be blamed (NoInstanceTypes says so later). */
static int zone_allowed(const struct k8s_nodepool *np, const struct launcher_catalog *cat,
                        const char *zone, char *why, size_t whysz)
{
    size_t n = launcher_catalog_count(cat);
    for (size_t i = 0; i < n; i++) {
        const struct launcher_itype *t = launcher_catalog_at(cat, i);
        if (np_admits(np, t, NULL, NULL, 0, NULL) != 1)
            continue;
        return np_admits(np, t, zone, why, whysz, NULL) == 1;
    }
    return 1;
}

int prewarm_validate(const struct k8s_warmpool *wp, const struct k8s_nodepool *np,
                     const struct launcher_catalog *cat, char reason[64],
                     char msg[PREWARM_REASON_MAX])
{
    const char *npname;
    char why[160];
    struct core_err err;

    if (!reason || !msg)
        return CORE_E_INVAL;
    reason[0] = '\0';
    msg[0] = '\0';
    if (!wp || !cat)
        return fail(reason, msg, "InvalidArgument", "warm pool validation: NULL argument");
    npname = wp->nodepool ? wp->nodepool : "";
    if (!np)
        return fail(reason, msg, "NodePoolNotFound", "spec.nodePoolRef.name: NodePool %.128s "
                    "not found", npname);
    if (wp->state == K8S_WARM_RUNNING)
        return fail(reason, msg, "StateNotSupported",
                    "spec.state: Running is not supported yet: a running instance cannot be "
                    "given its join configuration without a stop; use Stopped or Hibernated");
    for (size_t i = 0; i < wp->instance_types.n; i++)
        if (!launcher_catalog_find(cat, wp->instance_types.v[i]))
            return fail(reason, msg, "InstanceTypeNotFound",
                        "spec.instanceTypes[%zu]: %.64s is not in the catalog", i,
                        wp->instance_types.v[i]);
    for (size_t i = 0; i < wp->instance_types.n; i++) {
        const struct launcher_itype *t = launcher_catalog_find(cat, wp->instance_types.v[i]);
        int rc = np_admits(np, t, NULL, why, sizeof why, &err);
        if (rc < 0)
            return fail(reason, msg, "NodePoolInvalid", "spec.nodePoolRef.name: NodePool "
                        "%.64s: %.160s", npname, err.message);
        if (rc == 0)
            return fail(reason, msg, "InstanceTypeNotAllowed",
                        "spec.instanceTypes[%zu]: NodePool %.64s does not allow %.64s (%.100s)",
                        i, npname, t->name, why);
    }
    for (size_t i = 0; i < wp->zones.n; i++) {
        if (!zone_allowed(np, cat, wp->zones.v[i], why, sizeof why))
            return fail(reason, msg, "ZoneNotAllowed",
                        "spec.zones[%zu]: NodePool %.64s does not allow %.64s (%.100s)", i,
                        npname, wp->zones.v[i], why);
    }
    if (wp->state == K8S_WARM_HIBERNATED) {
        for (size_t i = 0; i < wp->instance_types.n; i++) {
            const struct launcher_itype *t = launcher_catalog_find(cat, wp->instance_types.v[i]);
            if (t->hibernation == 0)
                return fail(reason, msg, "HibernationNotSupported",
                            "spec.state: Hibernated, but %.64s (spec.instanceTypes[%zu]) does "
                            "not support hibernation", t->name, i);
            if (t->memory_mib > HIBERNATE_MAX_MIB)
                return fail(reason, msg, "HibernationNotSupported",
                            "spec.state: Hibernated, but %.64s (spec.instanceTypes[%zu]) has "
                            "%" PRId64 " GiB of memory, over hibernation's 150 GiB", t->name,
                            i, t->memory_mib / 1024);
        }
    }
    if (wp->instance_types.n == 0) {
        struct shape s = pod_shape(wp);
        int found = 0;
        size_t n = launcher_catalog_count(cat);
        for (size_t i = 0; i < n && !found; i++) {
            const struct launcher_itype *t = launcher_catalog_at(cat, i);
            if (!holds(t, s, NULL) ||
                (wp->state == K8S_WARM_HIBERNATED && !may_hibernate(t)))
                continue;
            if (wp->zones.n == 0) {
                found = np_admits(np, t, NULL, NULL, 0, NULL) == 1;
                continue;
            }
            for (size_t z = 0; z < wp->zones.n && !found; z++)
                found = np_admits(np, t, wp->zones.v[z], NULL, 0, NULL) == 1;
        }
        if (!found)
            return fail(reason, msg, "NoInstanceTypes",
                        "spec.podShape: no instance type the NodePool allows holds it");
    }
    if (wp->prewarm_timeout > TIMEOUT_MAX) {
        prewarm_fmt_duration(wp->prewarm_timeout, why, sizeof why);
        return fail(reason, msg, "InvalidPrewarmTimeout",
                    "spec.prewarm.timeout: %s is over 24h", why);
    }
    for (size_t j = 0; j < wp->nschedules; j++) {
        const struct k8s_warm_schedule *s = &wp->schedules[j];
        int32_t off = 0;
        if (!s->start_is_cron || !s->cron.tz[0])
            continue;
        core_err_clear(&err);
        /* Any instant will do: loading the zone is what can fail. */
        if (prewarm_tz_offset(s->cron.tz, 0, &off, &err) != 0)
            return fail(reason, msg, "ScheduleInvalid", "spec.schedules[%zu].start: %.200s",
                        j, err.message);
    }
    for (size_t j = 0; j < wp->nschedules; j++) {
        const struct k8s_warm_schedule *b = &wp->schedules[j];
        if (b->start_is_cron)
            continue;
        for (size_t i = 0; i < j; i++) {
            const struct k8s_warm_schedule *a = &wp->schedules[i];
            if (a->start_is_cron)
                continue;
            if (a->start_time < sat_add(b->start_time, b->duration) &&
                b->start_time < sat_add(a->start_time, a->duration))
                return fail(reason, msg, "ScheduleOverlap",
                            "spec.schedules[%zu]: overlaps spec.schedules[%zu] (%.64s)", j, i,
                            a->name ? a->name : "");
        }
    }
    return 0;
}

/* ---- default instance types ----------------------------------------------------------------- */

struct cand {
    const struct launcher_itype *t;
    double price;
};

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->price != y->price)
        return x->price < y->price ? -1 : 1;
    return strcmp(x->t->name, y->t->name);
}

int prewarm_types(const struct k8s_warmpool *wp, const struct k8s_nodepool *np,
                  const struct launcher_offerings *off, core_ns now,
                  const struct k8s_res_list *daemon_overhead, size_t max,
                  const struct launcher_itype ***out, size_t *nout, struct core_err *err)
{
    const struct launcher_catalog *cat;
    const struct launcher_itype **res = NULL;
    struct cand *c = NULL;
    size_t n = 0, cap;
    int rc = 0;

    if (!wp || !off || !out || !nout || !(cat = launcher_offerings_catalog(off)))
        return core_err_set(err, CORE_E_INVAL, "warm pool instance types: NULL argument");
    cap = launcher_catalog_count(cat);
    if (max == 0 || max > cap)
        max = cap;
    if (!(res = core_calloc(max + 1, sizeof *res))) {
        rc = core_err_set(err, CORE_E_NOMEM, "warm pool instance types: out of memory");
        goto out;
    }
    if (wp->instance_types.n > 0) {
        for (size_t i = 0; i < wp->instance_types.n && n < max; i++) {
            const struct launcher_itype *t = launcher_catalog_find(cat, wp->instance_types.v[i]);
            if (t)
                res[n++] = t;
        }
    } else {
        struct shape s = pod_shape(wp);
        size_t nc = 0, nz = wp->zones.n ? wp->zones.n : launcher_offerings_zone_count(off);
        if (!(c = core_calloc(cap + 1, sizeof *c))) {
            rc = core_err_set(err, CORE_E_NOMEM, "warm pool instance types: out of memory");
            goto out;
        }
        for (size_t i = 0; i < cap; i++) {
            const struct launcher_itype *t = launcher_catalog_at(cat, i);
            double best = -1;
            int arc;
            if (!holds(t, s, daemon_overhead) ||
                (wp->state == K8S_WARM_HIBERNATED && !may_hibernate(t)))
                continue;
            arc = np_admits(np, t, NULL, NULL, 0, err);
            if (arc < 0) {
                rc = arc;
                goto out;
            }
            if (arc == 0)
                continue;
            for (size_t z = 0; z < nz; z++) {
                const char *zone = wp->zones.n ? wp->zones.v[z] : launcher_offerings_zone(off, z);
                double price = 0;
                if (!zone ||
                    !launcher_offerings_lookup(off, LAUNCHER_ON_DEMAND, t->name, zone, now,
                                               &price) ||
                    (best >= 0 && price >= best))
                    continue;
                if (np_admits(np, t, zone, NULL, 0, NULL) == 1)
                    best = price;
            }
            if (best >= 0) {
                c[nc].t = t;
                c[nc].price = best;
                nc++;
            }
        }
        if (nc)
            qsort(c, nc, sizeof *c, cmp_cand);
        for (size_t i = 0; i < nc && n < max; i++)
            res[n++] = c[i].t;
    }
    if (n == 0) {
        rc = core_err_set(err, CORE_E_NOTFOUND,
                          wp->instance_types.n ? "spec.instanceTypes: none is in the catalog"
                                               : "spec.podShape: no instance type the NodePool "
                                                 "allows holds it on-demand in the pool's zones");
        goto out;
    }
    *out = res;
    *nout = n;
    res = NULL;
out:
    core_free(res);
    core_free(c);
    return rc;
}
