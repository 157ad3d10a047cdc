/*
 * tests/bench/bench_core.c — the cost of the loop's own machinery, which every controller
 * action pays: timers through the heap, keys through the work queue, lookups in the map.
 * The controller's goal of packing tens of thousands of pods inline needs these to be small
 * next to the packing itself.
 */
#include "tests/bench/bench.h"

#include "core/core.h"

#include <stdio.h>

#define N_TIMERS 200000
#define N_KEYS 100000

static void noop(void *ud)
{
    (*(long *)ud)++;
}

BENCH(bench_timers, "core/timer_heap_add_fire_200k", "timers", 7)
{
    struct core_clock *c = core_clock_virtual_new(0, 0);
    struct core_loop *loop = NULL;
    long fired = 0;
    int rc = 1;

    if (!c || core_loop_new(c, NULL, &loop, NULL) != 0)
        goto done;
    bench_start(ctx);
    for (long i = 0; i < N_TIMERS; i++) {
        /* Spread deadlines pseudo-randomly so the heap does real work. */
        core_ns d = (core_ns)((i * 7919) % 100000) * CORE_NS_PER_MS;
        if (!core_loop_timer_add(loop, d, noop, &fired))
            goto done;
    }
    if (core_loop_run(loop, NULL) != 0)
        goto done;
    bench_stop(ctx, N_TIMERS);
    rc = fired == N_TIMERS ? 0 : 1;
done:
    core_loop_free(loop);
    core_clock_free(c);
    return rc;
}

static void wq_handler(void *ud, struct core_wq *wq, const char *key)
{
    (*(long *)ud)++;
    core_wq_done(wq, key, CORE_WQ_OK);
}

BENCH(bench_wq, "core/workqueue_100k_keys_x2", "adds", 7)
{
    struct core_clock *c = core_clock_virtual_new(0, 0);
    struct core_loop *loop = NULL;
    struct core_wq *wq = NULL;
    long handled = 0;
    char key[32];
    int rc = 1;

    if (!c || core_loop_new(c, NULL, &loop, NULL) != 0 ||
        core_wq_new(loop, NULL, wq_handler, &handled, &wq, NULL) != 0)
        goto done;
    bench_start(ctx);
    /* Every key twice: the second add is deduplicated. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < N_KEYS; i++) {
            snprintf(key, sizeof key, "default/pod-%d", i);
            if (core_wq_add(wq, key) != 0)
                goto done;
        }
    if (core_loop_run(loop, NULL) != 0)
        goto done;
    bench_stop(ctx, 2.0 * N_KEYS);
    bench_metric(ctx, "handled", (double)handled);
    rc = handled == N_KEYS ? 0 : 1;
done:
    core_wq_free(wq);
    core_loop_free(loop);
    core_clock_free(c);
    return rc;
}

BENCH(bench_map, "core/map_set_get_100k", "ops", 7)
{
    struct core_map *m = core_map_new();
    char key[32];
    long hits = 0;
    int rc = 1;

    if (!m)
        return 1;
    bench_start(ctx);
    for (long i = 0; i < N_KEYS; i++) {
        snprintf(key, sizeof key, "i-%017lx", i);
        if (core_map_set(m, key, m, NULL) != 0)
            goto done;
    }
    for (long i = 0; i < N_KEYS; i++) {
        snprintf(key, sizeof key, "i-%017lx", i);
        hits += core_map_get(m, key, NULL) == m;
    }
    bench_stop(ctx, 2.0 * N_KEYS);
    rc = hits == N_KEYS ? 0 : 1;
done:
    core_map_free(m);
    return rc;
}
