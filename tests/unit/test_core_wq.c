/*
 * tests/unit/test_core_wq.c — the work queue's rules under a virtual clock: dedup, never two
 * at once for one key, per-key exponential backoff with cap and reset, the overall token
 * bucket, delayed adds, max in-flight, shutdown, and allocation failures.
 */
#include "tests/unit/harness.h"

#include "core/core.h"

#include <string.h>

#define MS CORE_NS_PER_MS

struct rec {
    struct core_loop *loop;
    char keys[256][16];
    core_ns at[256];
    int n;
    int async;               /* do not call done from the handler */
    enum core_wq_result result;
    int inflight_per_key_max;
    int inflight_a;
    char pending[64][16];    /* keys handed out and not yet done (async mode) */
    int npending;
};

static void handler(void *ud, struct core_wq *wq, const char *key)
{
    struct rec *r = ud;
    if (r->n < 256) {
        core_strlcpy(r->keys[r->n], key, sizeof r->keys[0]);
        r->at[r->n] = core_loop_now(r->loop);
        r->n++;
    }
    if (strcmp(key, "a") == 0) {
        r->inflight_a++;
        if (r->inflight_a > r->inflight_per_key_max)
            r->inflight_per_key_max = r->inflight_a;
    }
    if (r->async) {
        core_strlcpy(r->pending[r->npending++], key, sizeof r->pending[0]);
        return;
    }
    if (strcmp(key, "a") == 0)
        r->inflight_a--;
    core_wq_done(wq, key, r->result);
}

static void finish_all(struct rec *r, struct core_wq *wq, enum core_wq_result res)
{
    int n = r->npending;
    r->npending = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(r->pending[i], "a") == 0)
            r->inflight_a--;
        core_wq_done(wq, r->pending[i], res);
    }
}

struct fixture {
    struct core_clock *clock;
    struct core_loop *loop;
    struct core_wq *wq;
    struct rec rec;
};

static void fx_init(struct fixture *fx, const struct core_wq_opts *o)
{
    memset(fx, 0, sizeof *fx);
    fx->clock = core_clock_virtual_new(0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(fx->clock, NULL, &fx->loop, NULL), 0);
    fx->rec.loop = fx->loop;
    CU_ASSERT_EQUAL_FATAL(core_wq_new(fx->loop, o, handler, &fx->rec, &fx->wq, NULL), 0);
}

static void fx_cleanup(struct fixture *fx)
{
    core_wq_free(fx->wq);
    core_loop_free(fx->loop);
    core_clock_free(fx->clock);
}

static void test_dedup(void)
{
    struct fixture fx;
    fx_init(&fx, NULL);
    CU_ASSERT_EQUAL(core_wq_add(fx.wq, "a"), 0);
    CU_ASSERT_EQUAL(core_wq_add(fx.wq, "b"), 0);
    CU_ASSERT_EQUAL(core_wq_add(fx.wq, "a"), 0);
    CU_ASSERT_EQUAL(core_wq_add(fx.wq, "a"), 0);
    CU_ASSERT_EQUAL(core_wq_len(fx.wq), 2);
    CU_ASSERT_EQUAL(fx.rec.n, 0); /* nothing runs inside add */
    CU_ASSERT_EQUAL(core_loop_run(fx.loop, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(fx.rec.n, 2);
    CU_ASSERT_STRING_EQUAL(fx.rec.keys[0], "a");
    CU_ASSERT_STRING_EQUAL(fx.rec.keys[1], "b");
    CU_ASSERT_EQUAL(core_wq_len(fx.wq), 0);
    fx_cleanup(&fx);
}

static void test_no_parallel_processing_of_a_key(void)
{
    struct core_wq_opts o = {0};
    struct fixture fx;
    o.max_inflight = 4;
    fx_init(&fx, &o);
    fx.rec.async = 1;
    CU_ASSERT_EQUAL(core_wq_add(fx.wq, "a"), 0);
    CU_ASSERT_EQUAL(core_loop_run(fx.loop, NULL), 0);
    CU_ASSERT_EQUAL(fx.rec.n, 1);
    CU_ASSERT_EQUAL(core_wq_inflight(fx.wq), 1);
    /* Added again while processing: held back although there is room for 4 in flight. */
    CU_ASSERT_EQUAL(core_wq_add(fx.wq, "a"), 0);
    CU_ASSERT_EQUAL(core_wq_add(fx.wq, "a"), 0);
    CU_ASSERT_EQUAL(core_wq_add(fx.wq, "b"), 0);
    CU_ASSERT_EQUAL(core_loop_run(fx.loop, NULL), 0);
    CU_ASSERT_EQUAL(fx.rec.n, 2); /* only b ran */
    CU_ASSERT_STRING_EQUAL(fx.rec.keys[1], "b");
    CU_ASSERT_EQUAL(fx.rec.inflight_per_key_max, 1);
    /* Done: a comes back once (the two adds collapse into one). */
    finish_all(&fx.rec, fx.wq, CORE_WQ_OK);
    CU_ASSERT_EQUAL(core_loop_run(fx.loop, NULL), 0);
    CU_ASSERT_EQUAL(fx.rec.n, 3);
    CU_ASSERT_STRING_EQUAL(fx.rec.keys[2], "a");
    CU_ASSERT_EQUAL(fx.rec.inflight_per_key_max, 1);
    finish_all(&fx.rec, fx.wq, CORE_WQ_OK);
    CU_ASSERT_EQUAL(core_loop_run(fx.loop, NULL), 0);
    CU_ASSERT_EQUAL(fx.rec.n, 3);
    fx_cleanup(&fx);
}

static void test_max_inflight(void)
{
    struct core_wq_opts o = {0};
    struct fixture fx;
    char k[16];
    o.max_inflight = 3;
    fx_init(&fx, &o);
    fx.rec.async = 1;
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof k, "k%d", i);
        CU_ASSERT_EQUAL(core_wq_add(fx.wq, k), 0);
    }
    CU_ASSERT_EQUAL(core_loop_run(fx.loop, NULL), 0);
    CU_ASSERT_EQUAL(fx.rec.n, 3);
    CU_ASSERT_EQUAL(core_wq_inflight(fx.wq), 3);
    CU_ASSERT_EQUAL(core_wq_len(fx.wq), 7);
    finish_all(&fx.rec, fx.wq, CORE_WQ_OK);
    CU_ASSERT_EQUAL(core_loop_run(fx.loop, NULL), 0);
    CU_ASSERT_EQUAL(fx.rec.n, 6);
    CU_ASSERT_STRING_EQUAL(fx.rec.keys[5], "k5"); /* FIFO order */
    fx_cleanup(&fx);
}

static void test_backoff_exponential_capped_and_reset(void)
{
    struct core_wq_opts o = {0};
    struct fixture fx;
    o.backoff_base = 10 * MS;
    o.backoff_cap = 100 * MS;
    o.qps = 1000;
    o.burst = 1000;
    fx_init(&fx, &o);
    fx.rec.result = CORE_WQ_RETRY;
    CU_ASSERT_EQUAL(core_wq_add(fx.wq, "x"), 0);
    /* Run until 7 attempts. */
    while (fx.rec.n < 7)
        CU_ASSERT_FATAL(core_loop_run_once(fx.loop, -1, NULL) > 0);
    const core_ns want_gap[6] = {10 * MS, 20 * MS, 40 * MS, 80 * MS, 100 * MS, 100 * MS};
    for (int i = 1; i < 7; i++)
        CU_ASSERT_EQUAL(fx.rec.at[i] - fx.rec.at[i - 1], want_gap[i - 1]);
    CU_ASSERT_EQUAL(core_wq_failures(fx.wq, "x"), 7);
    /* Success resets: the next failure waits the base delay again. */
    fx.rec.result = CORE_WQ_OK;
    while (fx.rec.n < 8)
        CU_ASSERT_FATAL(core_loop_run_once(fx.loop, -1, NULL) >= 0);
    CU_ASSERT_EQUAL(core_wq_failures(fx.wq, "x"), 0);
    fx.rec.result = CORE_WQ_RETRY;
    CU_ASSERT_EQUAL(core_wq_add(fx.wq, "x"), 0);
    while (fx.rec.n < 10)
        CU_ASSERT_FATAL(core_loop_run_once(fx.loop, -1, NULL) > 0);
    CU_ASSERT_EQUAL(fx.rec.at[9] - fx.rec.at[8], 10 * MS);
    core_wq_forget(fx.wq, "x");
    CU_ASSERT_EQUAL(core_wq_failures(fx.wq, "x"), 0);
    fx_cleanup(&fx);
}

static void test_overall_rate_limit(void)
{
    struct core_wq_opts o = {0};
    struct fixture fx;
    char k[16];
    o.backoff_base = 1 * MS;
    o.qps = 10; /* one token every 100 ms */
    o.burst = 2;
    o.max_inflight = 100;
    fx_init(&fx, &o);
    for (int i = 0; i < 6; i++) {
        snprintf(k, sizeof k, "k%d", i);
        CU_ASSERT_EQUAL(core_wq_add_rate_limited(fx.wq, k), 0);
    }
    CU_ASSERT_EQUAL(core_loop_run(fx.loop, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(fx.rec.n, 6);
    /* Two from the burst after the per-key 1 ms backoff, then one per 100 ms. */
    const core_ns want[6] = {1 * MS, 1 * MS, 100 * MS, 200 * MS, 300 * MS, 400 * MS};
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(fx.rec.at[i], want[i]);
    fx_cleanup(&fx);
}

static void test_add_after(void)
{
    struct fixture fx;
    fx_init(&fx, NULL);
    CU_ASSERT_EQUAL(core_wq_add_after(fx.wq, "late", 5 * CORE_NS_PER_S), 0);
    CU_ASSERT_EQUAL(core_wq_add_after(fx.wq, "soon", 1 * CORE_NS_PER_S), 0);
    /* A longer delay for a key already waiting does not postpone it; a shorter one wins. */
    CU_ASSERT_EQUAL(core_wq_add_after(fx.wq, "soon", 9 * CORE_NS_PER_S), 0);
    CU_ASSERT_EQUAL(core_wq_add_after(fx.wq, "late", 3 * CORE_NS_PER_S), 0);
    CU_ASSERT_EQUAL(core_wq_len(fx.wq), 0);
    CU_ASSERT_EQUAL(core_loop_run(fx.loop, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(fx.rec.n, 2);
    CU_ASSERT_STRING_EQUAL(fx.rec.keys[0], "soon");
    CU_ASSERT_EQUAL(fx.rec.at[0], 1 * CORE_NS_PER_S);
    CU_ASSERT_STRING_EQUAL(fx.rec.keys[1], "late");
    CU_ASSERT_EQUAL(fx.rec.at[1], 3 * CORE_NS_PER_S);
    fx_cleanup(&fx);
}

static void test_shutdown_stops_dispatch(void)
{
    struct fixture fx;
    fx_init(&fx, NULL);
    CU_ASSERT_EQUAL(core_wq_add(fx.wq, "a"), 0);
    CU_ASSERT_EQUAL(core_wq_add_after(fx.wq, "b", CORE_NS_PER_S), 0);
    core_wq_shutdown(fx.wq);
    CU_ASSERT_EQUAL(core_wq_add(fx.wq, "c"), CORE_E_CANCELLED);
    CU_ASSERT_EQUAL(core_loop_run(fx.loop, NULL), 0);
    CU_ASSERT_EQUAL(fx.rec.n, 0);
    CU_ASSERT_EQUAL(core_loop_timer_count(fx.loop), 0);
    fx_cleanup(&fx);
}

static void test_alloc_failures(void)
{
    /* Drive a retrying, deduplicating workload with each allocation made to fail in turn. The
     * queue reports CORE_E_NOMEM or carries on; it never crashes or leaks (ASan checks). */
    for (unsigned long n = 1;; n++) {
        struct core_clock *c = core_clock_virtual_new(0, 0);
        struct core_loop *loop = NULL;
        struct core_wq *wq = NULL;
        struct rec r;
        char k[16];
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_EQUAL_FATAL(core_loop_new(c, NULL, &loop, NULL), 0);
        memset(&r, 0, sizeof r);
        r.loop = loop;
        r.result = CORE_WQ_OK;
        core_alloc_fail_after(n);
        if (core_wq_new(loop, NULL, handler, &r, &wq, NULL) == 0) {
            for (int i = 0; i < 5; i++) {
                int rc;
                snprintf(k, sizeof k, "k%d", i % 3);
                rc = core_wq_add(wq, k);
                CU_ASSERT(rc == 0 || rc == CORE_E_NOMEM);
                rc = core_wq_add_rate_limited(wq, k);
                CU_ASSERT(rc == 0 || rc == CORE_E_NOMEM);
            }
            CU_ASSERT(core_loop_run(loop, NULL) >= 0);
        }
        core_wq_free(wq);
        core_loop_free(loop);
        core_clock_free(c);
        if (core_alloc_failures() == 0) {
            core_alloc_fail_after(0);
            CU_ASSERT(r.n >= 3);
            break;
        }
        core_alloc_fail_after(0);
        CU_ASSERT_FATAL(n < 1000);
    }
}

TESTS_SUITE(core_wq, "core_wq", NULL, NULL, TESTS_CASE(test_dedup),
            TESTS_CASE(test_no_parallel_processing_of_a_key), TESTS_CASE(test_max_inflight),
            TESTS_CASE(test_backoff_exponential_capped_and_reset),
            TESTS_CASE(test_overall_rate_limit), TESTS_CASE(test_add_after),
            TESTS_CASE(test_shutdown_stops_dispatch), TESTS_CASE(test_alloc_failures))
