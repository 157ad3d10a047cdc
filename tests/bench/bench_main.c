/*
 * tests/bench/bench_main.c — runs the registered benchmarks, prints a table of medians, and
 * writes JSON (--json FILE). `--filter SUBSTR` runs only matching benchmarks.
 */
#include "tests/bench/bench.h"

#include "core/core.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define BENCH_MAX 64
#define BENCH_MAX_REPS 64
#define BENCH_MAX_METRICS 16

struct bench_def {
    const char *name;
    const char *unit;
    bench_fn fn;
    unsigned reps;
};

struct bench_ctx {
    struct timespec t0;
    double seconds;
    double work;
    const char *mnames[BENCH_MAX_METRICS];
    double mvals[BENCH_MAX_METRICS];
    int nm;
};

static struct bench_def defs[BENCH_MAX];
static size_t ndefs;

void bench_register(const char *name, const char *unit, bench_fn fn, unsigned reps)
{
    if (ndefs == BENCH_MAX)
        abort();
    defs[ndefs].name = name;
    defs[ndefs].unit = unit;
    defs[ndefs].fn = fn;
    defs[ndefs].reps = reps > BENCH_MAX_REPS ? BENCH_MAX_REPS : (reps ? reps : 1);
    ndefs++;
}

void bench_start(struct bench_ctx *ctx)
{
    clock_gettime(CLOCK_MONOTONIC, &ctx->t0);
}

void bench_stop(struct bench_ctx *ctx, double work)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ctx->seconds = (double)(t1.tv_sec - ctx->t0.tv_sec) + (double)(t1.tv_nsec - ctx->t0.tv_nsec) / 1e9;
    ctx->work = work;
}

void bench_metric(struct bench_ctx *ctx, const char *name, double value)
{
    if (ctx->nm < BENCH_MAX_METRICS) {
        ctx->mnames[ctx->nm] = name;
        ctx->mvals[ctx->nm] = value;
        ctx->nm++;
    }
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof *v, dbl_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int def_cmp(const void *a, const void *b)
{
    return strcmp(((const struct bench_def *)a)->name, ((const struct bench_def *)b)->name);
}

int main(int argc, char **argv)
{
    const char *json_path = NULL, *filter = NULL;
    json_t *results = json_array();
    struct rusage ru;
    int failed = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json_path = argv[++i];
        else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
            filter = argv[++i];
        else {
            fprintf(stderr, "usage: stoker-bench [--json FILE] [--filter SUBSTR]\n");
            return 2;
        }
    }
    if (!results)
        return 1;
    qsort(defs, ndefs, sizeof defs[0], def_cmp);
    printf("%-34s %6s %14s %16s  %s\n", "benchmark", "reps", "median s", "units/s", "metrics (median)");
    for (size_t d = 0; d < ndefs; d++) {
        double secs[BENCH_MAX_REPS], rate[BENCH_MAX_REPS];
        double mv[BENCH_MAX_METRICS][BENCH_MAX_REPS];
        const char *mn[BENCH_MAX_METRICS];
        int nm = 0;
        json_t *jr, *jm;

        if (filter && !strstr(defs[d].name, filter))
            continue;
        for (unsigned r = 0; r < defs[d].reps; r++) {
            struct bench_ctx ctx;
            memset(&ctx, 0, sizeof ctx);
            if (defs[d].fn(&ctx) != 0) {
                fprintf(stderr, "bench %s: repetition %u failed\n", defs[d].name, r);
                failed = 1;
                break;
            }
            secs[r] = ctx.seconds;
            rate[r] = ctx.seconds > 0 ? ctx.work / ctx.seconds : 0;
            nm = ctx.nm;
            for (int m = 0; m < ctx.nm; m++) {
                mn[m] = ctx.mnames[m];
                mv[m][r] = ctx.mvals[m];
            }
        }
        if (failed)
            break;
        jr = json_object();
        jm = json_object();
        json_object_set_new(jr, "name", json_string(defs[d].name));
        json_object_set_new(jr, "unit", json_string(defs[d].unit));
        json_object_set_new(jr, "reps", json_integer(defs[d].reps));
        json_object_set_new(jr, "median_seconds", json_real(median(secs, defs[d].reps)));
        json_object_set_new(jr, "median_units_per_second", json_real(median(rate, defs[d].reps)));
        printf("%-34s %6u %14.6f %16.0f ", defs[d].name, defs[d].reps, median(secs, defs[d].reps),
               median(rate, defs[d].reps));
        for (int m = 0; m < nm; m++) {
            double v = median(mv[m], defs[d].reps);
            printf(" %s=%.4g", mn[m], v);
            json_object_set_new(jm, mn[m], json_real(v));
        }
        printf("  (%s/s)\n", defs[d].unit);
        json_object_set_new(jr, "metrics", jm);
        json_array_append_new(results, jr);
    }
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS: %ld KiB\n", ru.ru_maxrss);
    if (json_path) {
        json_t *doc = json_object();
        json_object_set_new(doc, "stoker_version", json_string(STOKER_VERSION));
        json_object_set_new(doc, "peak_rss_kib", json_integer(ru.ru_maxrss));
        json_object_set_new(doc, "results", results);
        if (json_dump_file(doc, json_path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
            fprintf(stderr, "bench: cannot write %s\n", json_path);
            failed = 1;
        } else {
            printf("results: %s\n", json_path);
        }
        json_decref(doc);
    } else {
        json_decref(results);
    }
    return failed;
}
