/*
 * tests/bench/bench_sched.c — packing throughput and cost of the scheduler (issue #8; section 1
 * of reference/benchmarks.md): launcher_schedule over N pending pods against the real compiled-in
 * catalog, on-demand offerings in three us-east-1 zones, and one unlimited NodePool.
 *
 * The pod mix follows Karpenter's scheduling benchmark: CPU requests from {100, 250, 500, 1000,
 * 1500}m and memory from {100, 256, 512, 1024, 2048, 4096}Mi, drawn by a seeded xorshift PRNG
 * (same seed, same pods, same plan on every run); five equal groups, each with its own label
 * group=gK: plain; zonal topology spread; hostname topology spread; zonal pod self-affinity;
 * hostname pod anti-affinity (all maxSkew 1 / DoNotSchedule / required). "sched/plain/20k" is
 * the plain group alone, where packing quality is easiest to judge.
 *
 * The NodePool excludes instance-category t: burstable types sell a vCPU that is only a baseline
 * fraction of a core, so counting them would let both the scheduler and the lower bound buy
 * "CPU" that a steadily busy pod cannot actually use.
 *
 * Only launcher_schedule is timed; building pods, the catalog and offerings, checking the plan
 * and freeing it are outside the timed section. Per repetition the run reports pods/s,
 * NodeClaims, $/hour (each claim priced at its cheapest listed type, prices[0]), lower
 * bounds and the ratios to them:
 *  - per pod: max(vCPU × A, GiB × B) summed, A and B the cheapest on-demand $/vCPU and $/GiB
 *    over the types the pool admits (reference/benchmarks.md's bound);
 *  - fractional (LP): the cheapest fractional mix of admitted types covering the total vCPU and
 *    total GiB. With two constraints an optimal vertex uses one type or two, so every type and
 *    every pair is tried: exact.
 * Both use raw vCPU and memory, not allocatable, so ratio 1.0 is unreachable; "lp_alloc" is the
 * same LP over allocatable CPU and memory (launcher_allocatable, default node settings), the
 * tighter figure: what no packing onto these types can beat.
 * "usd_per_hour_fit" (and "ratio_fit") prices each claim instead at the cheapest admitted type
 * that holds its pods, computed here from launcher_allocatable: packing quality on its own,
 * whatever type list the scheduler wrote.
 * A plan that leaves any pod unschedulable fails the run. The plan is also checked for what the
 * constraints promise (a claim's cheapest listed type holds its pods; at most one g2 / g4 pod per
 * claim; g3 in one zone; g1's per-zone skew ≤ 1); breaches are counted in "violations" and
 * summarised on stderr, without failing the run, so the numbers still come out.
 */
#include "tests/bench/bench.h"

#include "core/core.h"
#include "k8s/k8s.h"
#include "launcher/launcher.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NGROUPS 5
#define SEED 0x5eed5c4edULL
#define MIB_BYTES ((int64_t)1 << 20)

static const char *const zones[] = {"us-east-1a", "us-east-1b", "us-east-1c"};
#define NZONES (sizeof zones / sizeof *zones)

struct fixture {
    struct launcher_catalog *cat;
    struct launcher_offerings *off;
    struct k8s_nodepool pool;
    struct k8s_pod *pods;
    const struct k8s_pod **ptrs;
    int *group;     /* per pod */
    size_t n;
};

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static int set_selector(struct k8s_label_selector *s, const char *g)
{
    s->present = 1;
    return k8s_labels_set(&s->match_labels, "group", g);
}

static int add_spread(struct k8s_pod_spec *ps, const char *key, const char *g)
{
    struct k8s_spread *sp = core_calloc(1, sizeof *sp);
    if (!sp)
        return CORE_E_NOMEM;
    ps->spread = sp;
    ps->nspread = 1;
    sp->max_skew = 1;
    sp->when_unsatisfiable = K8S_DO_NOT_SCHEDULE;
    sp->node_affinity_policy = K8S_POLICY_HONOR;
    sp->node_taints_policy = K8S_POLICY_IGNORE;
    if (!(sp->topology_key = core_strdup(key)))
        return CORE_E_NOMEM;
    return set_selector(&sp->selector, g);
}

static int add_pod_term(struct k8s_pod_affinity *pa, const char *key, const char *g)
{
    struct k8s_pod_affinity_term *t = core_calloc(1, sizeof *t);
    if (!t)
        return CORE_E_NOMEM;
    pa->required = t;
    pa->nrequired = 1;
    if (!(t->topology_key = core_strdup(key)))
        return CORE_E_NOMEM;
    return set_selector(&t->selector, g);
}

static int make_pod(struct k8s_pod *p, size_t i, int g, uint64_t *rng)
{
    static const int64_t cpus[] = {100, 250, 500, 1000, 1500};
    static const int64_t mems[] = {100, 256, 512, 1024, 2048, 4096};
    char name[64], gname[8];
    int64_t cpu = cpus[xorshift(rng) % (sizeof cpus / sizeof *cpus)];
    int64_t mem = mems[xorshift(rng) % (sizeof mems / sizeof *mems)];
    int rc;

    snprintf(name, sizeof name, "bench-g%d-%06zu", g, i);
    snprintf(gname, sizeof gname, "g%d", g);
    p->phase = K8S_POD_PENDING;
    if (!(p->meta.name = core_strdup(name)) || !(p->meta.ns = core_strdup("bench")) ||
        !(p->spec.scheduler_name = core_strdup("default-scheduler")))
        return CORE_E_NOMEM;
    if ((rc = k8s_labels_set(&p->meta.labels, "group", gname)) != 0 ||
        (rc = k8s_res_set(&p->spec.requests, "cpu", cpu)) != 0 ||
        (rc = k8s_res_set(&p->spec.requests, "memory", mem * MIB_BYTES * 1000)) != 0 ||
        (rc = k8s_res_set(&p->spec.requests, K8S_RES_PODS, 1000)) != 0)
        return rc;
    switch (g) {
    case 1:
        return add_spread(&p->spec, LAUNCHER_KEY_ZONE, gname);
    case 2:
        return add_spread(&p->spec, LAUNCHER_KEY_HOSTNAME, gname);
    case 3:
        return add_pod_term(&p->spec.affinity.pod_affinity, LAUNCHER_KEY_ZONE, gname);
    case 4:
        return add_pod_term(&p->spec.affinity.pod_anti_affinity, LAUNCHER_KEY_HOSTNAME, gname);
    default:
        return 0;
    }
}

static int make_pool(struct k8s_nodepool *np)
{
    struct k8s_requirement *r;

    if (!(np->meta.name = core_strdup("bench")))
        return CORE_E_NOMEM;
    if (!(r = core_calloc(1, sizeof *r)))
        return CORE_E_NOMEM;
    np->requirements = r;
    np->nrequirements = 1;
    r->op = K8S_OP_NOT_IN;
    if (!(r->key = core_strdup("karpenter.k8s.aws/instance-category")) ||
        !(r->values.v = core_calloc(1, sizeof *r->values.v)) ||
        !(r->values.v[0] = core_strdup("t")))
        return CORE_E_NOMEM;
    r->values.n = 1;
    return 0;
}

static void fixture_cleanup(struct fixture *f)
{
    if (f->pods)
        for (size_t i = 0; i < f->n; i++)
            k8s_pod_cleanup(&f->pods[i]);
    core_free(f->pods);
    core_free(f->ptrs);
    core_free(f->group);
    k8s_nodepool_cleanup(&f->pool);
    launcher_offerings_free(f->off);
    launcher_catalog_free(f->cat);
    memset(f, 0, sizeof *f);
}

/* n pods in ngroups equal consecutive groups (ngroups 1: plain only). */
static int fixture_init(struct fixture *f, size_t n, int ngroups)
{
    struct core_err err;
    uint64_t rng = SEED;
    size_t per = n / (size_t)ngroups;

    memset(f, 0, sizeof *f);
    if (launcher_catalog_load(&f->cat, &err) != 0 ||
        launcher_offerings_default(f->cat, "us-east-1", zones, NZONES, 0, &f->off, &err) != 0) {
        fprintf(stderr, "bench sched: catalog/offerings: %s\n", err.message);
        return 1;
    }
    if (make_pool(&f->pool) != 0)
        return 1;
    f->pods = core_calloc(n, sizeof *f->pods);
    f->ptrs = core_calloc(n, sizeof *f->ptrs);
    f->group = core_calloc(n, sizeof *f->group);
    if (!f->pods || !f->ptrs || !f->group)
        return 1;
    f->n = n;
    for (size_t i = 0; i < n; i++) {
        int g = (int)(i / per);
        if (g >= ngroups)
            g = ngroups - 1;
        f->group[i] = g;
        f->ptrs[i] = &f->pods[i];
        if (make_pod(&f->pods[i], i, g, &rng) != 0)
            return 1;
    }
    return 0;
}

/* Types the pool admits: not burstable, with a known on-demand price. */
static int admitted(const struct launcher_itype *t)
{
    return strcmp(t->category, "t") != 0 && t->od_price_usd_hr > 0 && t->vcpu > 0 &&
           t->memory_mib > 0;
}

/* The claim's zone when its requirements pin exactly one, else NULL. */
static const char *claim_zone(const struct launcher_claim *c)
{
    for (size_t i = 0; i < c->nrequirements; i++) {
        const struct k8s_requirement *r = &c->requirements[i];
        if (strcmp(r->key, LAUNCHER_KEY_ZONE) == 0 && r->op == K8S_OP_IN && r->values.n == 1)
            return r->values.v[0];
    }
    return NULL;
}

static int zone_index(const char *z)
{
    for (size_t i = 0; z && i < NZONES; i++)
        if (strcmp(z, zones[i]) == 0)
            return (int)i;
    return -1;
}

/* An admitted type with what a pod can use on it, for pricing a claim independently of the
 * type list the scheduler wrote. */
struct sized {
    const struct launcher_itype *t;
    struct launcher_alloc al;
};

static int sized_cmp(const void *a, const void *b)
{
    const struct sized *x = a, *y = b;
    if (x->t->od_price_usd_hr != y->t->od_price_usd_hr)
        return x->t->od_price_usd_hr < y->t->od_price_usd_hr ? -1 : 1;
    return strcmp(x->t->name, y->t->name);
}

/* Admitted types, cheapest first; *out owned by the caller. */
static int sized_types(const struct fixture *f, struct sized **out, size_t *nout)
{
    size_t nt = launcher_catalog_count(f->cat), n = 0;
    struct sized *v = core_calloc(nt ? nt : 1, sizeof *v);
    if (!v)
        return CORE_E_NOMEM;
    for (size_t i = 0; i < nt; i++) {
        const struct launcher_itype *t = launcher_catalog_at(f->cat, i);
        if (admitted(t) && launcher_allocatable(t, NULL, &v[n].al) == 0)
            v[n++].t = t;
    }
    qsort(v, n, sizeof *v, sized_cmp);
    *out = v;
    *nout = n;
    return 0;
}

struct bounds {
    double per_pod;  /* Σ max(vCPU × A, GiB × B) */
    double lp;       /* fractional cover of Σ vCPU and Σ GiB by raw vCPU and memory */
    double lp_alloc; /* the same cover by allocatable CPU and memory */
};

/* The cheapest fractional mix of types covering tc CPU and tm memory, type i giving v[i] and
 * m[i] for price p[i]. An optimal vertex of this two-constraint LP uses one type or two that
 * meet both constraints exactly, so trying every type and every pair is exact. */
static double lp_cover(const double *v, const double *m, const double *p, size_t n, double tc,
                       double tm)
{
    double best = INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (v[i] <= 0 || m[i] <= 0)
            continue;
        best = fmin(best, p[i] * fmax(tc / v[i], tm / m[i]));
        for (size_t j = i + 1; j < n; j++) {
            double det = v[i] * m[j] - v[j] * m[i], xi, xj;
            if (det == 0 || v[j] <= 0 || m[j] <= 0)
                continue;
            xi = (tc * m[j] - tm * v[j]) / det;
            xj = (v[i] * tm - m[i] * tc) / det;
            if (xi >= 0 && xj >= 0)
                best = fmin(best, xi * p[i] + xj * p[j]);
        }
    }
    return best;
}

/* Bounds over the admitted types st[0..nst) for the fixture's pods. CPU in vCPU, memory in GiB. */
static int lower_bounds(const struct fixture *f, const struct sized *st, size_t nst,
                        struct bounds *out)
{
    double a = INFINITY, b = INFINITY, tc = 0, tm = 0, per_pod = 0;
    double *v = core_calloc(nst ? nst : 1, sizeof *v), *m = core_calloc(nst ? nst : 1, sizeof *m);
    double *va = core_calloc(nst ? nst : 1, sizeof *va);
    double *ma = core_calloc(nst ? nst : 1, sizeof *ma), *p = core_calloc(nst ? nst : 1, sizeof *p);
    int rc = CORE_E_NOMEM;

    if (!v || !m || !va || !ma || !p)
        goto done;
    for (size_t i = 0; i < nst; i++) {
        v[i] = st[i].t->vcpu;
        m[i] = (double)st[i].t->memory_mib / 1024;
        va[i] = (double)st[i].al.cpu_milli / 1000;
        ma[i] = (double)st[i].al.memory_bytes / (double)((int64_t)1 << 30);
        p[i] = st[i].t->od_price_usd_hr;
        a = fmin(a, p[i] / v[i]);
        b = fmin(b, p[i] / m[i]);
    }
    for (size_t i = 0; i < f->n; i++) {
        double c = (double)k8s_res_get(&f->pods[i].spec.requests, "cpu") / 1000;
        double g = (double)k8s_res_get(&f->pods[i].spec.requests, "memory") / 1000 /
                   (double)((int64_t)1 << 30);
        per_pod += fmax(c * a, g * b);
        tc += c;
        tm += g;
    }
    out->per_pod = per_pod;
    out->lp = lp_cover(v, m, p, nst, tc, tm);
    out->lp_alloc = lp_cover(va, ma, p, nst, tc, tm);
    rc = 0;
done:
    core_free(v);
    core_free(m);
    core_free(va);
    core_free(ma);
    core_free(p);
    return rc;
}

enum breach { B_TYPE_TOO_SMALL, B_NO_TYPE_HOLDS, B_G2_SHARED, B_G4_SHARED, B_G1_NO_ZONE,
              B_G3_NO_ZONE, B_G3_ZONES, B_G1_SKEW, B_COUNT };
static const char *const breach_names[B_COUNT] = {
    "cheapest_listed_type_too_small", "no_admitted_type_holds", "hostname_spread_g2_shared",
    "anti_affinity_g4_shared", "zonal_spread_g1_no_zone", "zonal_affinity_g3_no_zone",
    "zonal_affinity_g3_split", "zonal_spread_g1_skew"};

/* Counts plan breaches of the pods' constraints (describing the first few and a summary on
 * stderr) and prices each claim at the cheapest admitted type that holds its pods (*fit_usd). */
static size_t check_plan(const struct fixture *f, const struct launcher_plan *plan,
                         const struct sized *st, size_t nst, double *fit_usd)
{
    size_t bad = 0, said = 0, count[B_COUNT] = {0};
    int64_t g1_zone[NZONES] = {0};
    int g3_zone = -2; /* -2: none seen yet */
    double usd = 0;

#define SAY(kind, ...)                                                                     \
    do {                                                                                   \
        bad++;                                                                             \
        count[kind]++;                                                                     \
        if (said++ < 3)                                                                    \
            fprintf(stderr, "bench sched: " __VA_ARGS__);                                  \
    } while (0)

    for (size_t c = 0; c < plan->nclaims; c++) {
        const struct launcher_claim *cl = &plan->claims[c];
        struct launcher_alloc al;
        int64_t cpu = 0, mem = 0, pods = 0;
        int per_group[NGROUPS] = {0};
        int z = zone_index(claim_zone(cl));
        size_t k;

        for (size_t q = 0; q < cl->npods; q++) {
            const struct k8s_pod *p = &f->pods[cl->pods[q]];
            cpu += k8s_res_get(&p->spec.requests, "cpu");
            mem += k8s_res_get(&p->spec.requests, "memory") / 1000;
            pods++;
            per_group[f->group[cl->pods[q]]]++;
        }
        for (k = 0; k < nst; k++)
            if (cpu <= st[k].al.cpu_milli && mem <= st[k].al.memory_bytes && pods <= st[k].al.pods)
                break;
        if (k < nst)
            usd += st[k].t->od_price_usd_hr;
        else
            SAY(B_NO_TYPE_HOLDS, "claim %zu: no admitted type holds %lldm/%lldMi/%lld pods\n",
                c, (long long)cpu, (long long)(mem / MIB_BYTES), (long long)pods);
        if (cl->ntypes == 0 || launcher_allocatable(cl->types[0], NULL, &al) != 0 ||
            cpu > al.cpu_milli || mem > al.memory_bytes || pods > al.pods)
            SAY(B_TYPE_TOO_SMALL,
                "claim %zu: pods need %lldm/%lldMi/%lld pods; its cheapest listed type %s "
                "has %lldm/%lldMi/%d (cheapest admitted type that holds them: %s)\n",
                c, (long long)cpu, (long long)(mem / MIB_BYTES), (long long)pods,
                cl->ntypes ? cl->types[0]->name : "(none)",
                cl->ntypes ? (long long)al.cpu_milli : 0LL,
                cl->ntypes ? (long long)(al.memory_bytes / MIB_BYTES) : 0LL,
                cl->ntypes ? al.pods : 0, k < nst ? st[k].t->name : "(none)");
        if (per_group[2] > 1)
            SAY(B_G2_SHARED, "claim %zu holds %d hostname-spread (g2) pods\n", c, per_group[2]);
        if (per_group[4] > 1)
            SAY(B_G4_SHARED, "claim %zu holds %d hostname anti-affinity (g4) pods\n", c,
                per_group[4]);
        if (per_group[1]) {
            if (z < 0)
                SAY(B_G1_NO_ZONE, "claim %zu holds zonal-spread (g1) pods but no single zone\n",
                    c);
            else
                g1_zone[z] += per_group[1];
        }
        if (per_group[3]) {
            if (z < 0)
                SAY(B_G3_NO_ZONE,
                    "claim %zu holds zonal-affinity (g3) pods but no single zone\n", c);
            else if (g3_zone == -2)
                g3_zone = z;
            else if (g3_zone != z)
                SAY(B_G3_ZONES, "zonal-affinity (g3) pods in %s and %s\n", zones[g3_zone],
                    zones[z]);
        }
    }
    {
        int64_t lo = g1_zone[0], hi = g1_zone[0];
        for (size_t z = 1; z < NZONES; z++) {
            lo = g1_zone[z] < lo ? g1_zone[z] : lo;
            hi = g1_zone[z] > hi ? g1_zone[z] : hi;
        }
        if (hi - lo > 1)
            SAY(B_G1_SKEW, "zonal spread (g1) skew %lld (%lld/%lld/%lld)\n",
                (long long)(hi - lo), (long long)g1_zone[0], (long long)g1_zone[1],
                (long long)g1_zone[2]);
    }
#undef SAY
    if (bad) {
        fprintf(stderr, "bench sched: %zu pods, %zu claims, %zu violations:", f->n,
                plan->nclaims, bad);
        for (int i = 0; i < B_COUNT; i++)
            if (count[i])
                fprintf(stderr, " %s=%zu", breach_names[i], count[i]);
        fprintf(stderr, "\n");
    }
    *fit_usd = usd;
    return bad;
}

static int run(struct bench_ctx *ctx, size_t n, int ngroups)
{
    struct fixture f;
    struct launcher_sched_pool sp;
    struct launcher_sched_input in;
    struct launcher_plan *plan = NULL;
    struct core_err err;
    struct bounds lb;
    struct timespec t0, t1;
    struct sized *st = NULL;
    size_t nst = 0;
    double usd = 0, fit_usd = 0, secs;
    size_t bad;
    int rc = 1;

    if (fixture_init(&f, n, ngroups) != 0) {
        fprintf(stderr, "bench sched: fixture setup failed\n");
        goto done;
    }
    memset(&sp, 0, sizeof sp);
    sp.pool = &f.pool;
    memset(&in, 0, sizeof in);
    in.offerings = f.off;
    in.pods = f.ptrs;
    in.npods = n;
    in.pools = &sp;
    in.npools = 1;

    /* The harness keeps its clock to itself; a second reading gives the pods_per_s metric. */
    bench_start(ctx);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (launcher_schedule(&in, &plan, &err) != 0) {
        fprintf(stderr, "bench sched: launcher_schedule: %s\n", err.message);
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    bench_stop(ctx, (double)n);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

    for (size_t c = 0; c < plan->nclaims; c++)
        if (plan->claims[c].ntypes)
            usd += plan->claims[c].prices[0];
    if (sized_types(&f, &st, &nst) != 0 || lower_bounds(&f, st, nst, &lb) != 0)
        goto done;
    bad = check_plan(&f, plan, st, nst, &fit_usd);
    bench_metric(ctx, "pods_per_s", secs > 0 ? (double)n / secs : 0);
    bench_metric(ctx, "nodeclaims", (double)plan->nclaims);
    bench_metric(ctx, "usd_per_hour", usd);
    bench_metric(ctx, "lower_bound_usd_per_hour", lb.per_pod);
    bench_metric(ctx, "ratio", lb.per_pod > 0 ? usd / lb.per_pod : 0);
    bench_metric(ctx, "lp_bound_usd_per_hour", lb.lp);
    bench_metric(ctx, "ratio_lp", lb.lp > 0 ? usd / lb.lp : 0);
    bench_metric(ctx, "lp_alloc_bound_usd_per_hour", lb.lp_alloc);
    bench_metric(ctx, "ratio_lp_alloc", lb.lp_alloc > 0 ? usd / lb.lp_alloc : 0);
    bench_metric(ctx, "usd_per_hour_fit", fit_usd);
    bench_metric(ctx, "ratio_fit", lb.per_pod > 0 ? fit_usd / lb.per_pod : 0);
    bench_metric(ctx, "unschedulable", (double)plan->nunschedulable);
    bench_metric(ctx, "violations", (double)bad);
    if (plan->nunschedulable) {
        fprintf(stderr, "bench sched: %zu pods unschedulable; first (%s): %s\n",
                plan->nunschedulable, f.pods[plan->unschedulable[0].pod].meta.name,
                plan->unschedulable[0].reason ? plan->unschedulable[0].reason : "");
        goto done;
    }
    if (plan->nplacements) {
        fprintf(stderr, "bench sched: %zu placements with no existing nodes\n", plan->nplacements);
        goto done;
    }
    rc = 0;
done:
    core_free(st);
    launcher_plan_free(plan);
    fixture_cleanup(&f);
    return rc;
}

BENCH(bench_mix_1k, "sched/mix/1k", "pods", 3) { return run(ctx, 1000, NGROUPS); }
BENCH(bench_mix_5k, "sched/mix/5k", "pods", 3) { return run(ctx, 5000, NGROUPS); }
BENCH(bench_mix_10k, "sched/mix/10k", "pods", 3) { return run(ctx, 10000, NGROUPS); }
BENCH(bench_mix_20k, "sched/mix/20k", "pods", 2) { return run(ctx, 20000, NGROUPS); }
BENCH(bench_mix_50k, "sched/mix/50k", "pods", 1) { return run(ctx, 50000, NGROUPS); }
BENCH(bench_plain_20k, "sched/plain/20k", "pods", 2) { return run(ctx, 20000, 1); }
