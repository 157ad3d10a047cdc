/*
 * prewarm/advise.c — how big a warm pool an expected burst needs: per candidate type, how many
 * nodes the pods take, how many of those EC2 can launch cold within the deadline (its launch
 * token bucket: burst + rate × the time left after a cold node's pod-pending → Ready time),
 * and what holding the rest warm costs while idle.
 *
 * Invariants:
 *  - The same input gives the same rows in the same order: cheapest burst first, then type name;
 *    at most ADVISE_ROWS rows.
 *  - A deadline the warm path cannot meet is not an error: every node is warm and
 *    meets_deadline is 0, so the caller can say how far off it is.
 *  - Pure: no I/O, no clock, no logging.
 */
#include "prewarm/internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADVISE_ROWS 10
#define DEFAULT_ROOT_GIB 20

void prewarm_advice_free(struct prewarm_advice *a)
{
    if (!a)
        return;
    core_free(a->rows);
    core_free(a);
}

static int cmp_row(const void *a, const void *b)
{
    const struct prewarm_advice_row *x = a, *y = b;
    if (x->burst_usd_per_hour != y->burst_usd_per_hour)
        return x->burst_usd_per_hour < y->burst_usd_per_hour ? -1 : 1;
    return strcmp(x->type->name, y->type->name);
}

static int bad_num(double v)
{
    return !isfinite(v) || v < 0;
}

int prewarm_advise(const struct prewarm_advise_input *in, struct prewarm_advice **out,
                   struct core_err *err)
{
    const struct prewarm_timing *tm;
    struct prewarm_advice *a = NULL;
    struct prewarm_advice_row *rows = NULL;
    size_t nrows = 0;
    double deadline_s, ebs;
    int64_t gib;
    int meets, rc = 0;

    if (!in || !out)
        return core_err_set(err, CORE_E_INVAL, "advise: NULL argument");
    tm = &in->timing;
    if (in->pods <= 0)
        return core_err_set(err, CORE_E_INVAL, "pods: must be positive (got %" PRId64 ")",
                            in->pods);
    if (in->cpu_milli <= 0)
        return core_err_set(err, CORE_E_INVAL, "cpu: must be positive (got %" PRId64 "m)",
                            in->cpu_milli);
    if (in->memory_bytes <= 0)
        return core_err_set(err, CORE_E_INVAL, "memory: must be positive (got %" PRId64 ")",
                            in->memory_bytes);
    if (in->deadline < 0)
        return core_err_set(err, CORE_E_INVAL, "deadline: must not be negative");
    if (!in->types || in->ntypes == 0)
        return core_err_set(err, CORE_E_INVAL, "types: no candidate instance types");
    if (in->root_volume_gib < 0)
        return core_err_set(err, CORE_E_INVAL, "root volume: must not be negative");
    if (bad_num(tm->cold_ready_s) || bad_num(tm->warm_ready_s) || bad_num(tm->launch_burst) ||
        bad_num(tm->launch_rate_per_s))
        return core_err_set(err, CORE_E_INVAL, "timing: times and rates must be finite, >= 0");

    gib = in->root_volume_gib > 0 ? in->root_volume_gib : DEFAULT_ROOT_GIB;
    ebs = (double)gib * PREWARM_EBS_USD_PER_GB_MONTH / PREWARM_HOURS_PER_MONTH;
    deadline_s = in->deadline > 0 ? (double)in->deadline / (double)CORE_NS_PER_S
                                  : tm->warm_ready_s;
    meets = deadline_s >= tm->warm_ready_s;

    if (!(a = core_calloc(1, sizeof *a)) || !(rows = core_calloc(in->ntypes, sizeof *rows))) {
        rc = core_err_set(err, CORE_E_NOMEM, "advise: out of memory");
        goto out;
    }
    for (size_t i = 0; i < in->ntypes; i++) {
        const struct launcher_itype *t = in->types[i];
        struct prewarm_advice_row *r;
        int64_t ppn, by_mem, nodes, cold = 0;
        if (!t)
            continue;
        ppn = t->alloc_cpu_milli / in->cpu_milli;
        by_mem = t->alloc_memory_bytes / in->memory_bytes;
        if (by_mem < ppn)
            ppn = by_mem;
        if (t->alloc_pods < ppn)
            ppn = t->alloc_pods;
        if (ppn <= 0)
            continue;
        nodes = in->pods / ppn + (in->pods % ppn != 0);
        if (meets && deadline_s >= tm->cold_ready_s) {
            double c = floor(tm->launch_burst + tm->launch_rate_per_s *
                                                    (deadline_s - tm->cold_ready_s));
            cold = c >= (double)nodes ? nodes : (int64_t)c;
        }
        r = &rows[nrows++];
        r->type = t;
        r->pods_per_node = ppn;
        r->nodes = nodes;
        r->cold = cold;
        r->warm = nodes - cold;
        r->idle_usd_per_hour = (double)r->warm * ebs;
        r->burst_usd_per_hour = (double)nodes * t->od_price_usd_hr;
        r->seconds_saved_per_pod = r->warm > 0 ? tm->cold_ready_s - tm->warm_ready_s : 0;
    }
    if (nrows == 0) {
        rc = core_err_set(err, CORE_E_NOTFOUND,
                          "types: no candidate holds one pod of %" PRId64 "m CPU, %" PRId64
                          " bytes of memory", in->cpu_milli, in->memory_bytes);
        goto out;
    }
    qsort(rows, nrows, sizeof *rows, cmp_row);
    if (nrows > ADVISE_ROWS)
        nrows = ADVISE_ROWS;
    a->rows = rows;
    a->nrows = nrows;
    rows = NULL;
    a->best = 0;
    for (size_t i = 1; i < a->nrows; i++) {
        const struct prewarm_advice_row *x = &a->rows[i], *b = &a->rows[a->best];
        if (x->idle_usd_per_hour < b->idle_usd_per_hour ||
            (x->idle_usd_per_hour == b->idle_usd_per_hour && x->nodes < b->nodes))
            a->best = i;
    }
    a->meets_deadline = meets;
    {
        const struct prewarm_advice_row *b = &a->rows[a->best];
        if (meets)
            snprintf(a->summary, sizeof a->summary,
                     "hold %" PRId64 " warm %.32s (idle $%.4f/h) for %" PRId64
                     " pods on %" PRId64 " nodes; %" PRId64 " launch cold within %.0fs",
                     b->warm, b->type->name, b->idle_usd_per_hour, in->pods, b->nodes, b->cold,
                     deadline_s);
        else
            snprintf(a->summary, sizeof a->summary,
                     "deadline %.0fs is below the warm path's %.0fs: even %" PRId64
                     " warm %.32s (idle $%.4f/h) cannot make it", deadline_s, tm->warm_ready_s,
                     b->warm, b->type->name, b->idle_usd_per_hour);
    }
    *out = a;
    a = NULL;
out:
    core_free(rows);
    prewarm_advice_free(a);
    return rc;
}
