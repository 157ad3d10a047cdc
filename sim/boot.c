/*
 * sim/boot.c — the boot-time model and the emulator's deterministic randomness.
 *
 * Every delay an emulated instance or node goes through comes from one table of lognormal
 * rows (median, shape, clamp, source), so a report can print exactly which model produced its
 * figures. The medians come from published measurements (../shared/reference/warm-pools.md);
 * rows without a published figure say "emulator assumption".
 *
 * Invariants: no clock, no global state; the same seed gives the same sequence of draws. The
 * composite figures hold by construction: cold launch -> Ready = launch + join_cold + ready
 * medians = 14 + 20 + 2 = 36 s (published: 30-40 s); warm start -> Ready = start + join_warm +
 * ready = 5 + 6 + 2 = 13 s (published: about 13 s).
 */
#include "sim/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct sim_boot_param default_rows[SIM_BOOT_COUNT] = {
    [SIM_BOOT_LAUNCH] = {"launch", 14.0, 0.15, 8.0, 60.0,
                         "fleet request -> VM initialised 12-16 s (amazon-eks-ami issue 1099; "
                         "karpenter-provider-aws PR 3827)"},
    [SIM_BOOT_START] = {"start", 5.0, 0.25, 2.0, 40.0,
                        "stop/start with a warm root volume: EC2 boot 40 s -> 5 s (depot.dev)"},
    [SIM_BOOT_RESUME] = {"resume", 8.0, 0.30, 3.0, 90.0,
                         "emulator assumption: resume bound by EBS reads of the RAM image"},
    [SIM_BOOT_STOP] = {"stop", 15.0, 0.30, 5.0, 120.0, "emulator assumption"},
    [SIM_BOOT_HIBERNATE] = {"hibernate", 25.0, 0.30, 8.0, 300.0,
                            "emulator assumption: RAM written to the root volume"},
    [SIM_BOOT_TERMINATE] = {"terminate", 20.0, 0.30, 5.0, 120.0, "emulator assumption"},
    [SIM_BOOT_JOIN_COLD] = {"join_cold", 20.0, 0.15, 10.0, 90.0,
                            "cold launch -> Ready 30-40 s (karpenter-provider-aws issue 6165, "
                            "PR 3827) minus launch and ready; AL2023 pre-kubelet work 24-30 s "
                            "(amazon-eks-ami issue 2210) overlaps VM initialisation"},
    [SIM_BOOT_JOIN_WARM] = {"join_warm", 6.0, 0.20, 2.0, 40.0,
                            "warmed node stop -> start -> Ready about 13 s "
                            "(karpenter-provider-aws issue 3798) minus start and ready"},
    [SIM_BOOT_READY] = {"ready", 2.0, 0.30, 0.5, 20.0,
                        "emulator assumption: Node registered -> Ready (CNI up)"},
    [SIM_BOOT_WARMUP] = {"warmup", 90.0, 0.30, 30.0, 900.0,
                         "emulator assumption: image pulls and reading a 20 GiB root volume"},
};

void sim_boot_model_default(struct sim_boot_model *m)
{
    memcpy(m->step, default_rows, sizeof default_rows);
}

const struct sim_boot_param *sim_boot_model_find(const struct sim_boot_model *m, const char *name)
{
    if (!m || !name)
        return NULL;
    for (size_t i = 0; i < SIM_BOOT_COUNT; i++)
        if (m->step[i].name && strcmp(m->step[i].name, name) == 0)
            return &m->step[i];
    return NULL;
}

/* "250ms", "14s", "14", "2m" -> seconds. Returns 0 and *out on success. */
static int parse_seconds(const char *s, size_t len, double *out)
{
    char tmp[64];
    char *end = NULL;
    double v, scale = 1.0;

    if (len == 0 || len >= sizeof tmp)
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    v = strtod(tmp, &end);
    if (end == tmp || !isfinite(v) || v < 0)
        return -1;
    if (strcmp(end, "ms") == 0)
        scale = 0.001;
    else if (strcmp(end, "s") == 0 || *end == '\0')
        scale = 1.0;
    else if (strcmp(end, "m") == 0)
        scale = 60.0;
    else
        return -1;
    *out = v * scale;
    return 0;
}

int sim_boot_model_set(struct sim_boot_model *m, const char *spec, struct core_err *err)
{
    const char *eq, *slash;
    char name[32];
    size_t nlen;
    double median, sigma;
    struct sim_boot_param *row = NULL;

    if (!m || !spec || !(eq = strchr(spec, '='))) {
        core_err_set(err, CORE_E_INVAL,
                     "boot model override '%s': expected STEP=MEDIAN[/SIGMA], e.g. launch=14s",
                     spec ? spec : "(null)");
        return CORE_E_INVAL;
    }
    nlen = (size_t)(eq - spec);
    if (nlen == 0 || nlen >= sizeof name)
        goto bad_step;
    memcpy(name, spec, nlen);
    name[nlen] = '\0';
    for (size_t i = 0; i < SIM_BOOT_COUNT; i++)
        if (strcmp(m->step[i].name, name) == 0)
            row = &m->step[i];
    if (!row)
        goto bad_step;
    slash = strchr(eq + 1, '/');
    sigma = row->sigma;
    if (parse_seconds(eq + 1, slash ? (size_t)(slash - eq - 1) : strlen(eq + 1), &median) != 0 ||
        median <= 0) {
        core_err_set(err, CORE_E_INVAL,
                     "boot model override '%s': median must be a positive duration "
                     "(250ms, 14s, 2m)",
                     spec);
        return CORE_E_INVAL;
    }
    if (slash) {
        char *end = NULL;
        sigma = strtod(slash + 1, &end);
        if (end == slash + 1 || *end != '\0' || !isfinite(sigma) || sigma < 0 || sigma > 3) {
            core_err_set(err, CORE_E_INVAL,
                         "boot model override '%s': sigma must be a number in [0, 3]", spec);
            return CORE_E_INVAL;
        }
    }
    if (median > 86400.0) {
        core_err_set(err, CORE_E_INVAL,
                     "boot model override '%s': median must be at most a day (86400s)", spec);
        return CORE_E_INVAL;
    }
    row->median_s = median;
    row->sigma = sigma;
    /* The clamp follows an explicit median so an override is never silently cut. */
    if (row->min_s > median)
        row->min_s = median;
    if (row->max_s < median)
        row->max_s = median;
    return 0;

bad_step:
    core_err_set(err, CORE_E_INVAL,
                 "boot model override '%s': unknown step; expected one of launch, start, "
                 "resume, stop, hibernate, terminate, join_cold, join_warm, ready, warmup",
                 spec);
    return CORE_E_INVAL;
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
    r->s = seed ^ UINT64_C(0x5DEECE66D2545F49);
}

uint64_t sim_rng_next(struct sim_rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

double sim_rng_unit(struct sim_rng *r)
{
    return (double)(sim_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

double sim_rng_normal(struct sim_rng *r)
{
    double u1 = sim_rng_unit(r), u2 = sim_rng_unit(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t sim_hash(const char *s, uint64_t salt)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325) ^ salt;
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(0x100000001b3);
    }
    /* Final mix so that near-identical names spread over all bits. */
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return h;
}

core_ns sim_boot_draw(const struct sim_boot_model *m, enum sim_boot_step step, struct sim_rng *r)
{
    const struct sim_boot_param *p;
    double v;

    if (!m || (unsigned)step >= SIM_BOOT_COUNT)
        return 0;
    p = &m->step[step];
    v = p->median_s;
    /* Always consume one draw, so changing a sigma to 0 keeps later draws aligned. */
    {
        double n = sim_rng_normal(r);
        if (p->sigma > 0)
            v = p->median_s * exp(p->sigma * n);
    }
    if (v < p->min_s)
        v = p->min_s;
    if (v > p->max_s)
        v = p->max_s;
    if (!(v >= 0)) /* NaN from a hand-made table */
        v = 0;
    if (v > 864000.0) /* ten days: far beyond any row, and safe to convert */
        v = 864000.0;
    return (core_ns)(v * 1e9);
}
