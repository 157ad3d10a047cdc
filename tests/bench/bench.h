/*
 * tests/bench/bench.h — the benchmark harness: each benchmark registers from a constructor,
 * runs a body several times, and reports its own metrics; the runner prints one table and
 * writes every result as JSON so runs can be compared.
 *
 * Invariants: time is measured inside the process with CLOCK_MONOTONIC; the reported figure is
 * the median over the repetitions; peak RSS is read once at the end (getrusage).
 */
#ifndef STOKER_BENCH_H
#define STOKER_BENCH_H

#include <stddef.h>

struct bench_ctx;

/* One repetition of a benchmark. Returns 0, or non-zero to fail the run. */
typedef int (*bench_fn)(struct bench_ctx *ctx);

void bench_register(const char *name, const char *unit_of_work, bench_fn fn, unsigned reps);

#define BENCH(ident, name, unit, reps)                                                    \
    static int ident(struct bench_ctx *ctx);                                              \
    static void ident##_register(void) __attribute__((constructor));                      \
    static void ident##_register(void) { bench_register(name, unit, ident, reps); }      \
    static int ident(struct bench_ctx *ctx)

/* Inside a body: marks the timed section. Work between start and stop is what is measured;
 * `work` is how many units were done (pods, timers, keys). */
void bench_start(struct bench_ctx *ctx);
void bench_stop(struct bench_ctx *ctx, double work);
/* Adds a named metric for this repetition (medians are reported). */
void bench_metric(struct bench_ctx *ctx, const char *name, double value);

#endif
