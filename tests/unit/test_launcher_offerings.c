/*
 * tests/unit/test_launcher_offerings.c — the launcher's offerings table (set, lookup, replace,
 * zone registration and its limit, capacity-error marks and their TTL, default offerings with
 * and without spot, per-index order), the pending-pod batcher's windows, and the catalog
 * refresher against the emulated account: the first refresh matches what the emulator serves,
 * zone restriction, a failed call keeps the previous data and retries, capacity-error marks
 * survive a refresh, and freeing with a refresh in flight (answer later, or cancelled by the
 * client) neither leaks nor calls back.
 */
#include "tests/unit/harness.h"

#include "aws/aws.h"
#include "core/core.h"
#include "launcher/internal.h"
#include "launcher/launcher.h"
#include "sim/internal.h"
#include "sim/sim.h"
#include "tests/unit/simaws.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SEC CORE_NS_PER_S
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)

static struct launcher_catalog *load(void)
{
    struct launcher_catalog *c = NULL;
    struct core_err err;
    core_err_clear(&err);
    int rc = launcher_catalog_load(&c, &err);
    if (rc != 0)
        fprintf(stderr, "catalog load: %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    return c;
}

static struct launcher_offerings *empty(const struct launcher_catalog *c)
{
    struct launcher_offerings *o = NULL;
    CU_ASSERT_EQUAL_FATAL(launcher_offerings_new(c, "us-east-1", &o, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    return o;
}

/* ---- offerings -------------------------------------------------------------------------- */

static void test_set_lookup_replace(void)
{
    struct launcher_catalog *c = load();
    struct launcher_offerings *o = empty(c);
    struct core_err err;
    double p = -1;

    CU_ASSERT_PTR_EQUAL(launcher_offerings_catalog(o), c);
    CU_ASSERT_STRING_EQUAL(launcher_offerings_region(o), "us-east-1");
    CU_ASSERT_EQUAL(launcher_offerings_zone_count(o), 0);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, "m5.large", "us-east-1a", 0,
                                              &p), 0);

    CU_ASSERT_EQUAL(launcher_offerings_set(o, "m5.large", "us-east-1a", LAUNCHER_ON_DEMAND,
                                           0.096, &err), 0);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, "m5.large", "us-east-1a", 0,
                                              &p), 1);
    CU_ASSERT_DOUBLE_EQUAL(p, 0.096, 1e-12);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, "m5.large", "us-east-1a", 5,
                                              NULL), 1);
    /* Other capacity type, other zone, other type: not offered. */
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_SPOT, "m5.large", "us-east-1a", 0, &p),
                    0);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, "m5.large", "us-east-1b", 0,
                                              &p), 0);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, "m5.xlarge", "us-east-1a",
                                              0, &p), 0);

    /* Replace: one offering, new price. */
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "m5.large", "us-east-1a", LAUNCHER_ON_DEMAND,
                                           0.12, &err), 0);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, "m5.large", "us-east-1a", 0,
                                              &p), 1);
    CU_ASSERT_DOUBLE_EQUAL(p, 0.12, 1e-12);
    {
        size_t n = 99;
        const struct launcher_itype *t = launcher_catalog_find(c, "m5.large");
        const struct launcher_offer *v = launcher_offerings_of(o, t->index, &n);
        CU_ASSERT_EQUAL(n, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        CU_ASSERT_DOUBLE_EQUAL(v[0].price, 0.12, 1e-12);
    }
    CU_ASSERT_EQUAL(launcher_offerings_zone_count(o), 1);

    /* Bad prices and arguments. */
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "m5.large", "us-east-1a", LAUNCHER_SPOT, 0, &err),
                    CORE_E_INVAL);
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "m5.large", "us-east-1a", LAUNCHER_SPOT, -1, &err),
                    CORE_E_INVAL);
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "m5.large", "us-east-1a", LAUNCHER_SPOT, NAN,
                                           &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "m5.large", "", LAUNCHER_SPOT, 1, &err),
                    CORE_E_INVAL);
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "m5.large", "z", (enum launcher_ct)7, 1, &err),
                    CORE_E_INVAL);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_SPOT, "m5.large", "us-east-1a", 0, &p),
                    0);

    launcher_offerings_free(o);
    launcher_catalog_free(c);
}

static void test_zone_order_and_limit(void)
{
    struct launcher_catalog *c = load();
    struct launcher_offerings *o = empty(c);
    struct core_err err;
    char name[32];

    /* Registered in first-seen order, not name order. */
    for (int i = LAUNCHER_MAX_ZONES - 1; i >= 0; i--) {
        snprintf(name, sizeof name, "zone-%02d", i);
        CU_ASSERT_EQUAL(launcher_offerings_set(o, "m5.large", name, LAUNCHER_ON_DEMAND, 0.1,
                                               &err), 0);
        /* A second offering in a known zone registers nothing. */
        CU_ASSERT_EQUAL(launcher_offerings_set(o, "c5.large", name, LAUNCHER_SPOT, 0.05, &err),
                        0);
    }
    CU_ASSERT_EQUAL(launcher_offerings_zone_count(o), LAUNCHER_MAX_ZONES);
    for (size_t i = 0; i < LAUNCHER_MAX_ZONES; i++) {
        snprintf(name, sizeof name, "zone-%02d", (int)(LAUNCHER_MAX_ZONES - 1 - i));
        CU_ASSERT_STRING_EQUAL(launcher_offerings_zone(o, i), name);
        CU_ASSERT_EQUAL(launcher_offerings_zone_index(o, name), (int)i);
    }
    CU_ASSERT_PTR_NULL(launcher_offerings_zone(o, LAUNCHER_MAX_ZONES));
    CU_ASSERT_EQUAL(launcher_offerings_zone_index(o, "zone-99"), -1);

    /* The 33rd distinct zone. */
    core_err_clear(&err);
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "m5.large", "zone-32", LAUNCHER_ON_DEMAND, 0.1,
                                           &err), CORE_E_TOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "zone-32"));
    CU_ASSERT_EQUAL(launcher_offerings_zone_count(o), LAUNCHER_MAX_ZONES);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, "m5.large", "zone-32", 0,
                                              NULL), 0);
    /* Known zones still take offerings. */
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "m5.xlarge", "zone-00", LAUNCHER_ON_DEMAND, 0.2,
                                           &err), 0);
    {
        size_t n = 0;
        const struct launcher_itype *t = launcher_catalog_find(c, "m5.large");
        const struct launcher_offer *v = launcher_offerings_of(o, t->index, &n);
        CU_ASSERT_EQUAL(n, LAUNCHER_MAX_ZONES);
        for (size_t i = 0; v && i < n; i++)
            CU_ASSERT_EQUAL(v[i].zone, i);
    }
    launcher_offerings_free(o);
    launcher_catalog_free(c);
}

static void test_unknown_type(void)
{
    struct launcher_catalog *c = load();
    struct launcher_offerings *o = empty(c);
    struct core_err err;

    core_err_clear(&err);
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "m99.huge", "us-east-1a", LAUNCHER_ON_DEMAND, 1.0,
                                           &err), CORE_E_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "m99.huge"));
    /* A failed set leaves no zone behind. */
    CU_ASSERT_EQUAL(launcher_offerings_zone_count(o), 0);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, "m99.huge", "us-east-1a", 0,
                                              NULL), 0);
    CU_ASSERT_EQUAL(launcher_offerings_mark_unavailable(o, LAUNCHER_ON_DEMAND, "m99.huge",
                                                        "us-east-1a", 0, SEC), 0);
    launcher_offerings_free(o);
    launcher_catalog_free(c);
}

static void test_mark_unavailable_ttl(void)
{
    struct launcher_catalog *c = load();
    struct launcher_offerings *o = empty(c);
    const core_ns now = 1000 * SEC;
    double p = 0;

    CU_ASSERT_EQUAL(launcher_offerings_set(o, "m5.large", "us-east-1a", LAUNCHER_ON_DEMAND,
                                           0.096, NULL), 0);
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "m5.large", "us-east-1a", LAUNCHER_SPOT, 0.03,
                                           NULL), 0);
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "m5.large", "us-east-1b", LAUNCHER_SPOT, 0.04,
                                           NULL), 0);

    CU_ASSERT_EQUAL(launcher_offerings_mark_unavailable(o, LAUNCHER_SPOT, "m5.large",
                                                        "us-east-1a", now, 5 * SEC), 0);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_SPOT, "m5.large", "us-east-1a", now,
                                              &p), 0);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_SPOT, "m5.large", "us-east-1a",
                                              now + 5 * SEC - 1, &p), 0);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_SPOT, "m5.large", "us-east-1a",
                                              now + 5 * SEC, &p), 1);
    CU_ASSERT_DOUBLE_EQUAL(p, 0.03, 1e-12);
    /* Only that offering: the other capacity type and the other zone are untouched. */
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, "m5.large", "us-east-1a",
                                              now, NULL), 1);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_SPOT, "m5.large", "us-east-1b", now,
                                              NULL), 1);

    /* ttl <= 0: the default 3 minutes. */
    CU_ASSERT_EQUAL(launcher_offerings_mark_unavailable(o, LAUNCHER_ON_DEMAND, "m5.large",
                                                        "us-east-1a", now, 0), 0);
    CU_ASSERT_EQUAL(LAUNCHER_ICE_TTL_DEFAULT, 3 * MINUTE);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, "m5.large", "us-east-1a",
                                              now + 3 * MINUTE - 1, NULL), 0);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, "m5.large", "us-east-1a",
                                              now + 3 * MINUTE, NULL), 1);
    CU_ASSERT_EQUAL(launcher_offerings_mark_unavailable(o, LAUNCHER_SPOT, "m5.large",
                                                        "us-east-1b", now, -7), 0);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_SPOT, "m5.large", "us-east-1b",
                                              now + 3 * MINUTE - 1, NULL), 0);

    /* A new price does not clear the mark; the mark shows in the per-index view. */
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "m5.large", "us-east-1b", LAUNCHER_SPOT, 0.05,
                                           NULL), 0);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_SPOT, "m5.large", "us-east-1b",
                                              now + MINUTE, NULL), 0);
    {
        size_t n = 0;
        const struct launcher_offer *v =
            launcher_offerings_of(o, launcher_catalog_find(c, "m5.large")->index, &n);
        CU_ASSERT_EQUAL_FATAL(n, 3);
        CU_ASSERT_EQUAL(v[2].unavailable_until, now + 3 * MINUTE);
    }

    /* Unknown zone, offering not present: ignored. */
    CU_ASSERT_EQUAL(launcher_offerings_mark_unavailable(o, LAUNCHER_ON_DEMAND, "m5.large",
                                                        "us-east-1z", now, SEC), 0);
    CU_ASSERT_EQUAL(launcher_offerings_mark_unavailable(o, LAUNCHER_ON_DEMAND, "m5.large",
                                                        "us-east-1b", now, SEC), 0);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, "m5.large", "us-east-1b",
                                              now + 10 * MINUTE, NULL), 0);
    launcher_offerings_free(o);
    launcher_catalog_free(c);
}

static void test_default_offerings(void)
{
    static const char *const zones[] = {"us-east-1b", "us-east-1a"};
    struct launcher_catalog *c = load();
    struct launcher_offerings *o = NULL;
    struct core_err err;
    size_t n_nopice = 0, n_priced = 0;

    CU_ASSERT_EQUAL_FATAL(launcher_offerings_default(c, "us-east-1", zones, 2, 0, &o, &err), 0);
    CU_ASSERT_EQUAL(launcher_offerings_zone_count(o), 2);
    CU_ASSERT_STRING_EQUAL(launcher_offerings_zone(o, 0), "us-east-1b");
    CU_ASSERT_STRING_EQUAL(launcher_offerings_zone(o, 1), "us-east-1a");
    for (size_t i = 0; i < launcher_catalog_count(c); i++) {
        const struct launcher_itype *t = launcher_catalog_at(c, i);
        size_t n = 99;
        const struct launcher_offer *v = launcher_offerings_of(o, i, &n);
        if (t->od_price_usd_hr > 0) {
            n_priced++;
            CU_ASSERT_EQUAL(n, 2);
            CU_ASSERT_PTR_NOT_NULL_FATAL(v);
            CU_ASSERT_EQUAL(v[0].zone, 0);
            CU_ASSERT_EQUAL(v[0].ct, LAUNCHER_ON_DEMAND);
            CU_ASSERT_EQUAL(v[1].zone, 1);
            CU_ASSERT_DOUBLE_EQUAL(v[0].price, t->od_price_usd_hr, 1e-12);
        } else {
            n_nopice++;
            CU_ASSERT_EQUAL(n, 0);
            CU_ASSERT_PTR_NULL(v);
            CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, t->name,
                                                      "us-east-1a", 0, NULL), 0);
        }
        CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_SPOT, t->name, "us-east-1a", 0,
                                                  NULL), 0);
    }
    CU_ASSERT(n_nopice > 0); /* the shipped data has types without a price */
    CU_ASSERT(n_priced > 1000);
    launcher_offerings_free(o);

    /* With a spot discount. */
    o = NULL;
    CU_ASSERT_EQUAL_FATAL(launcher_offerings_default(c, "us-east-1", zones, 2, 0.25, &o, &err),
                          0);
    {
        double p = 0;
        const struct launcher_itype *t = launcher_catalog_find(c, "m5.large");
        CU_ASSERT_FATAL(t && t->od_price_usd_hr > 0 && t->spot_supported);
        CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_SPOT, "m5.large", "us-east-1a", 0,
                                                  &p), 1);
        CU_ASSERT_DOUBLE_EQUAL(p, t->od_price_usd_hr * 0.75, 1e-12);
        CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, "m5.large",
                                                  "us-east-1b", 0, &p), 1);
        CU_ASSERT_DOUBLE_EQUAL(p, t->od_price_usd_hr, 1e-12);
    }
    for (size_t i = 0; i < launcher_catalog_count(c); i++) {
        const struct launcher_itype *t = launcher_catalog_at(c, i);
        size_t n = 0;
        const struct launcher_offer *v = launcher_offerings_of(o, i, &n);
        size_t want = t->od_price_usd_hr > 0 ? (t->spot_supported ? 4u : 2u) : 0u;
        CU_ASSERT_EQUAL(n, want);
        if (want == 4 && v) {
            CU_ASSERT(v[0].zone == 0 && v[0].ct == LAUNCHER_ON_DEMAND);
            CU_ASSERT(v[1].zone == 0 && v[1].ct == LAUNCHER_SPOT);
            CU_ASSERT(v[2].zone == 1 && v[2].ct == LAUNCHER_ON_DEMAND);
            CU_ASSERT(v[3].zone == 1 && v[3].ct == LAUNCHER_SPOT);
        }
    }
    launcher_offerings_free(o);

    /* Bad input. */
    {
        static const char *const dup[] = {"a", "a"};
        o = NULL;
        CU_ASSERT_EQUAL(launcher_offerings_default(c, "r", dup, 2, 0, &o, &err), CORE_E_INVAL);
        CU_ASSERT_EQUAL(launcher_offerings_default(c, "r", zones, 2, 1.0, &o, &err),
                        CORE_E_INVAL);
        CU_ASSERT_EQUAL(launcher_offerings_default(c, "r", zones, 2, -0.1, &o, &err),
                        CORE_E_INVAL);
        CU_ASSERT_EQUAL(launcher_offerings_default(c, "r", zones, LAUNCHER_MAX_ZONES + 1, 0, &o,
                                                   &err), CORE_E_TOOBIG);
        CU_ASSERT_PTR_NULL(o);
    }
    launcher_catalog_free(c);
}

static void test_of_ordering(void)
{
    struct launcher_catalog *c = load();
    struct launcher_offerings *o = empty(c);
    const struct launcher_itype *t = launcher_catalog_find(c, "c5.large");
    const struct launcher_offer *v;
    size_t n = 99;

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    /* zone "b" is seen first: index 0. */
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "c5.large", "b", LAUNCHER_SPOT, 4, NULL), 0);
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "c5.large", "a", LAUNCHER_ON_DEMAND, 1, NULL), 0);
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "c5.large", "c", LAUNCHER_SPOT, 6, NULL), 0);
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "c5.large", "b", LAUNCHER_ON_DEMAND, 3, NULL), 0);
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "c5.large", "a", LAUNCHER_SPOT, 2, NULL), 0);
    CU_ASSERT_EQUAL(launcher_offerings_set(o, "c5.large", "c", LAUNCHER_ON_DEMAND, 5, NULL), 0);
    v = launcher_offerings_of(o, t->index, &n);
    CU_ASSERT_EQUAL_FATAL(n, 6);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    {
        /* (zone index, ct, price) in order: b od 3, b spot 4, a od 1, a spot 2, c od 5, ... */
        static const double want[6][3] = {{0, 0, 3}, {0, 1, 4}, {1, 0, 1},
                                          {1, 1, 2}, {2, 0, 5}, {2, 1, 6}};
        for (size_t i = 0; i < 6; i++) {
            CU_ASSERT_EQUAL(v[i].zone, (unsigned)want[i][0]);
            CU_ASSERT_EQUAL(v[i].ct, (unsigned)want[i][1]);
            CU_ASSERT_DOUBLE_EQUAL(v[i].price, want[i][2], 1e-12);
            CU_ASSERT_EQUAL(v[i].unavailable_until, 0);
        }
    }
    /* A type without offerings, and an index past the catalog. */
    n = 99;
    CU_ASSERT_PTR_NULL(launcher_offerings_of(o, launcher_catalog_find(c, "m5.large")->index, &n));
    CU_ASSERT_EQUAL(n, 0);
    n = 99;
    CU_ASSERT_PTR_NULL(launcher_offerings_of(o, launcher_catalog_count(c), &n));
    CU_ASSERT_EQUAL(n, 0);

    CU_ASSERT_STRING_EQUAL(launcher_ct_name(LAUNCHER_ON_DEMAND), "on-demand");
    CU_ASSERT_STRING_EQUAL(launcher_ct_name(LAUNCHER_SPOT), "spot");
    CU_ASSERT_EQUAL(launcher_ct_parse("on-demand"), LAUNCHER_ON_DEMAND);
    CU_ASSERT_EQUAL(launcher_ct_parse("spot"), LAUNCHER_SPOT);
    CU_ASSERT_EQUAL(launcher_ct_parse("reserved"), -1);
    CU_ASSERT_EQUAL(launcher_ct_parse(NULL), -1);
    launcher_offerings_free(o);
    launcher_catalog_free(c);
}

static void test_alloc_failures(void)
{
    static const char *const zones[] = {"us-east-1a", "us-east-1b", "us-east-1c"};
    struct launcher_catalog *c = load();
    int done = 0;

    for (unsigned long k = 1; k < 10000 && !done; k++) {
        struct launcher_offerings *o = NULL;
        struct core_err err;
        unsigned long failures;
        int rc;
        core_alloc_fail_after(k);
        rc = launcher_offerings_default(c, "us-east-1", zones, 3, 0.3, &o, &err);
        if (rc == 0)
            rc = launcher_offerings_set(o, "m5.large", "us-west-2a", LAUNCHER_SPOT, 1, &err);
        failures = core_alloc_failures();
        core_alloc_fail_after(0);
        if (rc == 0) {
            done = failures == 0;
            CU_ASSERT_EQUAL(launcher_offerings_zone_count(o), 4);
        } else {
            CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
            /* A failed set registers no zone. */
            if (o)
                CU_ASSERT_EQUAL(launcher_offerings_zone_count(o), 3);
        }
        launcher_offerings_free(o);
    }
    CU_ASSERT(done);
    launcher_catalog_free(c);
}

TESTS_SUITE(offerings, "launcher_offerings", NULL, NULL, TESTS_CASE(test_set_lookup_replace),
            TESTS_CASE(test_zone_order_and_limit), TESTS_CASE(test_unknown_type),
            TESTS_CASE(test_mark_unavailable_ttl), TESTS_CASE(test_default_offerings),
            TESTS_CASE(test_of_ordering), TESTS_CASE(test_alloc_failures))

/* ---- batcher ---------------------------------------------------------------------------- */

static void test_batch_idle_window(void)
{
    struct launcher_batcher b;

    launcher_batcher_init(&b, SEC, 10 * SEC);
    CU_ASSERT_EQUAL(launcher_batcher_deadline(&b), 0);
    CU_ASSERT_EQUAL(launcher_batcher_due(&b, 100 * SEC), 0);
    launcher_batcher_add(&b, 100 * SEC);
    CU_ASSERT_EQUAL(launcher_batcher_deadline(&b), 101 * SEC);
    launcher_batcher_add(&b, 100 * SEC + SEC / 2);
    CU_ASSERT_EQUAL(launcher_batcher_deadline(&b), 101 * SEC + SEC / 2);
    CU_ASSERT_EQUAL(launcher_batcher_due(&b, 101 * SEC + SEC / 2 - 1), 0);
    CU_ASSERT_EQUAL(launcher_batcher_due(&b, 101 * SEC + SEC / 2), 1);
    CU_ASSERT_EQUAL(b.count, 2);
}

static void test_batch_max_window(void)
{
    struct launcher_batcher b;

    launcher_batcher_init(&b, SEC, 10 * SEC);
    /* A pod every half second: idle never ends the batch; max does, 10 s after the first. */
    for (core_ns t = 0; t <= 12 * SEC; t += SEC / 2) {
        launcher_batcher_add(&b, 50 * SEC + t);
        CU_ASSERT(launcher_batcher_deadline(&b) <= 60 * SEC);
        if (t < 9 * SEC)
            CU_ASSERT_EQUAL(launcher_batcher_deadline(&b), 50 * SEC + t + SEC);
    }
    CU_ASSERT_EQUAL(launcher_batcher_deadline(&b), 60 * SEC);
    CU_ASSERT_EQUAL(launcher_batcher_due(&b, 60 * SEC - 1), 0);
    CU_ASSERT_EQUAL(launcher_batcher_due(&b, 60 * SEC), 1);
}

static void test_batch_defaults_and_cap(void)
{
    struct launcher_batcher b;

    launcher_batcher_init(&b, 0, -1);
    CU_ASSERT_EQUAL(b.idle, LAUNCHER_BATCH_IDLE_DEFAULT);
    CU_ASSERT_EQUAL(b.max, LAUNCHER_BATCH_MAX_DEFAULT);
    CU_ASSERT_EQUAL(LAUNCHER_BATCH_IDLE_DEFAULT, SEC);
    CU_ASSERT_EQUAL(LAUNCHER_BATCH_MAX_DEFAULT, 10 * SEC);
    CU_ASSERT_EQUAL(b.count, 0);

    /* idle capped at max. */
    launcher_batcher_init(&b, 20 * SEC, 5 * SEC);
    CU_ASSERT_EQUAL(b.idle, 5 * SEC);
    CU_ASSERT_EQUAL(b.max, 5 * SEC);
    launcher_batcher_add(&b, SEC);
    CU_ASSERT_EQUAL(launcher_batcher_deadline(&b), 6 * SEC);
    /* max default with a larger idle: capped at the default max. */
    launcher_batcher_init(&b, 30 * SEC, 0);
    CU_ASSERT_EQUAL(b.idle, LAUNCHER_BATCH_MAX_DEFAULT);
}

static void test_batch_reset(void)
{
    struct launcher_batcher b;

    launcher_batcher_init(&b, SEC, 10 * SEC);
    launcher_batcher_add(&b, 0);
    launcher_batcher_add(&b, 5 * SEC);
    CU_ASSERT_EQUAL(launcher_batcher_deadline(&b), 6 * SEC);
    launcher_batcher_reset(&b);
    CU_ASSERT_EQUAL(b.count, 0);
    CU_ASSERT_EQUAL(launcher_batcher_deadline(&b), 0);
    CU_ASSERT_EQUAL(launcher_batcher_due(&b, 1000 * SEC), 0);
    /* The next add opens a new batch: max counts from it, not from the old first. */
    launcher_batcher_add(&b, 30 * SEC);
    CU_ASSERT_EQUAL(b.first, 30 * SEC);
    CU_ASSERT_EQUAL(launcher_batcher_deadline(&b), 31 * SEC);
    for (core_ns t = 30 * SEC; t < 45 * SEC; t += SEC / 2)
        launcher_batcher_add(&b, t);
    CU_ASSERT_EQUAL(launcher_batcher_deadline(&b), 40 * SEC);
}

TESTS_SUITE(batcher, "launcher_batcher", NULL, NULL, TESTS_CASE(test_batch_idle_window),
            TESTS_CASE(test_batch_max_window), TESTS_CASE(test_batch_defaults_and_cap),
            TESTS_CASE(test_batch_reset))

/* ---- refresher against the emulator ----------------------------------------------------- */

/* A handler in front of the emulator that fails one action with a 400 (not retried). */
struct gate {
    struct sim_aws *a;
    const char *fail_action; /* "Action=DescribeSpotPriceHistory", or NULL */
    int failed;
    const char *watch_action; /* requests carrying it are counted in seen */
    int seen;
};

static int body_has(const struct sim_http_req *req, const char *s)
{
    return s && req->body && memmem(req->body, req->body_len, s, strlen(s)) != NULL;
}

static void gate_handle(void *ud, const struct sim_http_req *req, struct core_http_response *resp,
                        core_ns *delay)
{
    static const char body[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
        "<Code>UnauthorizedOperation</Code><Message>gate says no</Message></Error></Errors>"
        "<RequestID>gate-1</RequestID></Response>";
    struct gate *g = ud;

    if (body_has(req, g->watch_action))
        g->seen++;
    if (body_has(req, g->fail_action)) {
        g->failed++;
        resp->status = 400;
        CU_ASSERT_EQUAL(core_buf_append(&resp->body, body, sizeof body - 1), 0);
        return;
    }
    sim_aws_handle(g->a, req, resp, delay);
}

struct fx {
    struct tests_simaws s;
    struct launcher_catalog *base;
    struct launcher_refresher *r;
    struct gate gate;
    struct core_http_transport *gt;     /* through the gate */
    struct aws_creds_provider *gcreds;
    struct aws_client *gc;
    int calls, fails;
    struct core_err last;
};

static void on_refresh(void *ud, const struct core_err *err)
{
    struct fx *f = ud;
    f->calls++;
    if (err) {
        f->fails++;
        f->last = *err;
    } else {
        core_err_clear(&f->last);
    }
}

/* use_gate: the refresher's client goes through the gate. */
static void fx_open(struct fx *f, const struct launcher_refresh_opts *opts, int use_gate)
{
    struct core_err err;
    struct aws_client *c;

    memset(f, 0, sizeof *f);
    tests_simaws_open(&f->s);
    f->base = load();
    c = f->s.c;
    if (use_gate) {
        struct core_http_transport *keep = f->s.t;
        f->gate.a = f->s.a;
        CU_ASSERT_EQUAL_FATAL(sim_transport_new(f->s.loop, gate_handle, &f->gate, &f->gt, NULL),
                              0);
        f->s.t = f->gt;
        CU_ASSERT_EQUAL_FATAL(tests_simaws_client(&f->s, SIM_AWS_SECRET_ACCESS_KEY, &f->gcreds,
                                                  &f->gc), 0);
        f->s.t = keep;
        c = f->gc;
    }
    core_err_clear(&err);
    CU_ASSERT_EQUAL_FATAL(launcher_refresher_new(f->s.loop, c, SIM_AWS_REGION, f->base, opts,
                                                 on_refresh, f, &f->r, &err), 0);
}

static void fx_close(struct fx *f)
{
    launcher_refresher_free(f->r);
    aws_client_free(f->gc);
    aws_creds_provider_free(f->gcreds);
    core_http_transport_free(f->gt);
    tests_simaws_close(&f->s);
    launcher_catalog_free(f->base);
}

/* Runs the loop until the callback count reaches n. */
static void fx_wait(struct fx *f, int n)
{
    struct core_err err;
    core_ns deadline = core_loop_now(f->s.loop) + 13 * HOUR;
    while (f->calls < n && core_loop_now(f->s.loop) < deadline) {
        int rc = core_loop_run_once(f->s.loop, -1, &err);
        CU_ASSERT_FATAL(rc >= 0);
        if (rc == 0)
            break;
    }
    CU_ASSERT_EQUAL_FATAL(f->calls, n);
}

static int sim_arch_ok(const struct launcher_itype *t)
{
    return (strcmp(t->arch, "amd64") == 0 || strcmp(t->arch, "arm64") == 0) && t->vcpu > 0 &&
           t->memory_mib > 0;
}

/* Every (type, zone, ct) the emulator serves is offered as the refresh rules say, and nothing
 * else; zones limited to `only` (bit mask of emulator zones). Returns the offerings counted. */
static size_t check_against_sim(struct fx *f, unsigned only)
{
    const struct launcher_catalog *cat = launcher_refresher_catalog(f->r);
    const struct launcher_offerings *o = launcher_refresher_offerings(f->r);
    const struct sim_aws *a = f->s.a;
    core_ns now = core_loop_now(f->s.loop);
    size_t total = 0, expect_types = 0, mismatches = 0;

    for (size_t i = 0; i < a->nitypes; i++)
        if (a->itypes[i].zones && sim_arch_ok(a->itypes[i].t))
            expect_types++;
    CU_ASSERT_EQUAL(launcher_catalog_count(cat), expect_types);
    for (size_t i = 0; i < a->nitypes; i++) {
        const struct sim_itype *it = &a->itypes[i];
        const struct launcher_itype *t = launcher_catalog_find(cat, it->t->name);
        const struct launcher_itype *bt = launcher_catalog_find(f->base, it->t->name);
        if (!t || !bt) {
            mismatches++;
            continue;
        }
        for (size_t z = 0; z < a->nzones; z++) {
            int served = (it->zones & only & (1u << z)) != 0;
            double p = 0;
            int od = launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, t->name, a->zones[z].name,
                                               now, &p);
            if (od != (served && bt->od_price_usd_hr > 0) ||
                (od && fabs(p - bt->od_price_usd_hr) > 1e-9))
                mismatches++;
            int sp = launcher_offerings_lookup(o, LAUNCHER_SPOT, t->name, a->zones[z].name, now,
                                               &p);
            if (sp != (served && !it->t->bare_metal) ||
                (sp && fabs(p - it->spot_price[z]) > 1e-9))
                mismatches++;
            total += (size_t)od + (size_t)sp;
        }
    }
    CU_ASSERT_EQUAL(mismatches, 0);
    return total;
}

static void test_refresh_first(void)
{
    struct fx f;
    const struct launcher_offerings *before;

    fx_open(&f, NULL, 0);
    /* Before any refresh: the base catalog and no offerings. */
    CU_ASSERT_PTR_EQUAL(launcher_refresher_catalog(f.r), f.base);
    before = launcher_refresher_offerings(f.r);
    CU_ASSERT_PTR_EQUAL(launcher_offerings_catalog(before), f.base);
    CU_ASSERT_EQUAL(launcher_offerings_zone_count(before), 0);
    CU_ASSERT_STRING_EQUAL(launcher_offerings_region(before), SIM_AWS_REGION);
    CU_ASSERT_EQUAL(f.calls, 0); /* the first refresh starts from the loop */

    fx_wait(&f, 1);
    CU_ASSERT_EQUAL(f.fails, 0);
    CU_ASSERT_PTR_NOT_EQUAL(launcher_refresher_catalog(f.r), f.base);
    CU_ASSERT_PTR_EQUAL(launcher_offerings_catalog(launcher_refresher_offerings(f.r)),
                        launcher_refresher_catalog(f.r));
    {
        const struct launcher_offerings *o = launcher_refresher_offerings(f.r);
        CU_ASSERT_EQUAL_FATAL(launcher_offerings_zone_count(o), f.s.a->nzones);
        /* Zones in name order. */
        CU_ASSERT_STRING_EQUAL(launcher_offerings_zone(o, 0), "us-east-1a");
        CU_ASSERT_STRING_EQUAL(launcher_offerings_zone(o, 1), "us-east-1b");
        CU_ASSERT_STRING_EQUAL(launcher_offerings_zone(o, 2), "us-east-1c");
    }
    CU_ASSERT(check_against_sim(&f, ~0u) > 1000);

    /* One at a time. */
    {
        struct core_err err;
        CU_ASSERT_EQUAL(launcher_refresher_refresh(f.r, &err), 0);
        CU_ASSERT_EQUAL(launcher_refresher_refresh(f.r, &err), CORE_E_STATE);
        fx_wait(&f, 2);
        CU_ASSERT_EQUAL(f.fails, 0);
    }
    /* The next one comes by itself after the interval (12 h by default). */
    {
        core_ns t0 = core_loop_now(f.s.loop);
        fx_wait(&f, 3);
        CU_ASSERT(core_loop_now(f.s.loop) - t0 >= 12 * 3600 * SEC - MINUTE);
        CU_ASSERT_EQUAL(f.fails, 0);
    }
    fx_close(&f);
}

static void test_refresh_zones(void)
{
    struct fx f;
    const char *zones[] = {"us-east-1b", "us-west-2a"};
    struct launcher_refresh_opts opts = {0, 0, zones, 2};

    fx_open(&f, &opts, 0);
    fx_wait(&f, 1);
    CU_ASSERT_EQUAL(f.fails, 0);
    {
        const struct launcher_offerings *o = launcher_refresher_offerings(f.r);
        CU_ASSERT_EQUAL(launcher_offerings_zone_count(o), 1);
        CU_ASSERT_STRING_EQUAL(launcher_offerings_zone(o, 0), "us-east-1b");
    }
    CU_ASSERT(check_against_sim(&f, 1u << 1) > 100);
    fx_close(&f);
}

static void test_refresh_failure_keeps_data(void)
{
    struct fx f;
    struct launcher_refresh_opts opts = {0, 5 * MINUTE, NULL, 0};
    const struct launcher_catalog *cat;
    struct launcher_offerings *off;
    struct core_err err;

    /* A failure before the first success keeps the base. */
    fx_open(&f, &opts, 1);
    f.s.a->opts.faults.error_rate = 1.0;
    fx_wait(&f, 1);
    CU_ASSERT_EQUAL(f.fails, 1);
    CU_ASSERT_NOT_EQUAL(f.last.code, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(f.last.message, "DescribeInstanceTypes"));
    CU_ASSERT_PTR_EQUAL(launcher_refresher_catalog(f.r), f.base);
    CU_ASSERT_EQUAL(launcher_offerings_zone_count(launcher_refresher_offerings(f.r)), 0);

    /* The retry comes after `retry` and succeeds once the fault is gone. */
    f.s.a->opts.faults.error_rate = 0;
    {
        core_ns t0 = core_loop_now(f.s.loop);
        fx_wait(&f, 2);
        CU_ASSERT(core_loop_now(f.s.loop) - t0 >= 5 * MINUTE);
        CU_ASSERT(core_loop_now(f.s.loop) - t0 < 6 * MINUTE);
    }
    CU_ASSERT_EQUAL(f.fails, 1);
    cat = launcher_refresher_catalog(f.r);
    off = launcher_refresher_offerings(f.r);
    CU_ASSERT_PTR_NOT_EQUAL(cat, f.base);

    /* The last call failing fails the whole refresh: data kept. */
    f.gate.fail_action = "Action=DescribeSpotPriceHistory";
    CU_ASSERT_EQUAL(launcher_refresher_refresh(f.r, &err), 0);
    fx_wait(&f, 3);
    CU_ASSERT_EQUAL(f.gate.failed, 1);
    CU_ASSERT_EQUAL(f.fails, 2);
    CU_ASSERT_EQUAL(f.last.code, CORE_E_AUTH); /* UnauthorizedOperation */
    CU_ASSERT_STRING_EQUAL(f.last.service_code, "UnauthorizedOperation");
    CU_ASSERT_PTR_NOT_NULL(strstr(f.last.message, "DescribeSpotPriceHistory"));
    CU_ASSERT_PTR_EQUAL(launcher_refresher_catalog(f.r), cat);
    CU_ASSERT_PTR_EQUAL(launcher_refresher_offerings(f.r), off);
    CU_ASSERT(check_against_sim(&f, ~0u) > 1000);

    /* The middle one too. */
    f.gate.fail_action = "Action=DescribeInstanceTypeOfferings";
    CU_ASSERT_EQUAL(launcher_refresher_refresh(f.r, &err), 0);
    fx_wait(&f, 4);
    CU_ASSERT_EQUAL(f.fails, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(f.last.message, "DescribeInstanceTypeOfferings"));
    CU_ASSERT_PTR_EQUAL(launcher_refresher_catalog(f.r), cat);
    CU_ASSERT_PTR_EQUAL(launcher_refresher_offerings(f.r), off);
    fx_close(&f);
}

static void test_refresh_keeps_ice_marks(void)
{
    struct fx f;
    struct core_err err;
    const char *type = NULL, *zone;
    core_ns now;

    fx_open(&f, NULL, 0);
    fx_wait(&f, 1);
    /* A type the emulator offers on-demand in its first zone, with a price. */
    for (size_t i = 0; i < f.s.a->nitypes && !type; i++)
        if ((f.s.a->itypes[i].zones & 1u) && f.s.a->itypes[i].t->od_price_usd_hr > 0 &&
            !f.s.a->itypes[i].t->bare_metal)
            type = f.s.a->itypes[i].t->name;
    CU_ASSERT_PTR_NOT_NULL_FATAL(type);
    zone = f.s.a->zones[0].name;
    now = core_loop_now(f.s.loop);
    CU_ASSERT_EQUAL(launcher_offerings_lookup(launcher_refresher_offerings(f.r),
                                              LAUNCHER_ON_DEMAND, type, zone, now, NULL), 1);
    CU_ASSERT_EQUAL(launcher_offerings_mark_unavailable(launcher_refresher_offerings(f.r),
                                                        LAUNCHER_ON_DEMAND, type, zone, now,
                                                        30 * MINUTE), 0);
    /* An expired mark is not carried (it would not matter, but it must not resurrect). */
    CU_ASSERT_EQUAL(launcher_offerings_mark_unavailable(launcher_refresher_offerings(f.r),
                                                        LAUNCHER_SPOT, type, zone, now - HOUR,
                                                        SEC), 0);

    CU_ASSERT_EQUAL(launcher_refresher_refresh(f.r, &err), 0);
    fx_wait(&f, 2);
    CU_ASSERT_EQUAL(f.fails, 0);
    {
        struct launcher_offerings *o = launcher_refresher_offerings(f.r);
        core_ns t = core_loop_now(f.s.loop);
        CU_ASSERT(t - now < 30 * MINUTE);
        CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, type, zone, t, NULL), 0);
        CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, type, zone,
                                                  now + 30 * MINUTE - 1, NULL), 0);
        CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_ON_DEMAND, type, zone,
                                                  now + 30 * MINUTE, NULL), 1);
        CU_ASSERT_EQUAL(launcher_offerings_lookup(o, LAUNCHER_SPOT, type, zone, t, NULL), 1);
    }
    fx_close(&f);
}

static void test_refresh_free_in_flight(void)
{
    struct fx f;
    struct core_err err;
    int rc;

    /* Freed with the first refresh's call in flight; the answer arrives afterwards. */
    fx_open(&f, NULL, 0);
    CU_ASSERT_EQUAL(launcher_refresher_refresh(f.r, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_once(f.s.loop, 0, &err) >= 0, 1);
    launcher_refresher_free(f.r);
    f.r = NULL;
    {
        int never = 0;
        rc = core_loop_run_until(f.s.loop, &never, core_loop_now(f.s.loop) + 10 * MINUTE, &err);
        CU_ASSERT_EQUAL(rc, CORE_E_TIMEOUT);
    }
    CU_ASSERT_EQUAL(f.calls, 0);
    CU_ASSERT_EQUAL(core_loop_timer_count(f.s.loop), 0);
    fx_close(&f);

    /* Freed in flight, then the client cancels the call. */
    fx_open(&f, NULL, 0);
    CU_ASSERT_EQUAL(launcher_refresher_refresh(f.r, &err), 0);
    launcher_refresher_free(f.r);
    f.r = NULL;
    fx_close(&f);
    CU_ASSERT_EQUAL(f.calls, 0);

    /* Freed in the middle of a refresh (after the types arrived), then the answer arrives. */
    fx_open(&f, NULL, 1);
    f.gate.watch_action = "Action=DescribeInstanceTypeOfferings";
    CU_ASSERT_EQUAL(launcher_refresher_refresh(f.r, &err), 0);
    while (f.gate.seen == 0) {
        rc = core_loop_run_once(f.s.loop, -1, &err);
        CU_ASSERT_FATAL(rc > 0);
    }
    launcher_refresher_free(f.r);
    f.r = NULL;
    {
        int never = 0;
        rc = core_loop_run_until(f.s.loop, &never, core_loop_now(f.s.loop) + 10 * MINUTE, &err);
        CU_ASSERT_EQUAL(rc, CORE_E_TIMEOUT);
    }
    CU_ASSERT_EQUAL(f.calls, 0);
    fx_close(&f);
}

/* The callback may free the refresher. */
struct self_free {
    struct launcher_refresher *r;
    int calls;
};

static void on_refresh_free(void *ud, const struct core_err *err)
{
    struct self_free *s = ud;
    (void)err;
    s->calls++;
    launcher_refresher_free(s->r);
    s->r = NULL;
}

static void test_refresh_free_from_callback(void)
{
    struct tests_simaws s;
    struct launcher_catalog *base = load();
    struct self_free sf = {NULL, 0};
    struct core_err err;
    int never = 0;

    tests_simaws_open(&s);
    CU_ASSERT_EQUAL_FATAL(launcher_refresher_new(s.loop, s.c, SIM_AWS_REGION, base, NULL,
                                                 on_refresh_free, &sf, &sf.r, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(s.loop, &never, core_loop_now(s.loop) + 24 * 3600 * SEC,
                                        &err), CORE_E_TIMEOUT);
    CU_ASSERT_EQUAL(sf.calls, 1);
    CU_ASSERT_PTR_NULL(sf.r);
    tests_simaws_close(&s);
    launcher_catalog_free(base);
}

static void test_refresher_bad_args(void)
{
    struct tests_simaws s;
    struct launcher_catalog *base = load();
    struct launcher_refresher *r = NULL;
    struct launcher_refresh_opts neg = {-1, 0, NULL, 0};
    const char *zones[] = {"a", NULL};
    struct launcher_refresh_opts nullzone = {0, 0, zones, 2};
    struct core_err err;

    tests_simaws_open(&s);
    CU_ASSERT_EQUAL(launcher_refresher_new(s.loop, s.c, SIM_AWS_REGION, NULL, NULL, on_refresh,
                                           NULL, &r, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(launcher_refresher_new(s.loop, s.c, SIM_AWS_REGION, base, &neg, on_refresh,
                                           NULL, &r, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(launcher_refresher_new(s.loop, s.c, SIM_AWS_REGION, base, &nullzone,
                                           on_refresh, NULL, &r, &err), CORE_E_INVAL);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_EQUAL(core_loop_timer_count(s.loop), 0);
    launcher_refresher_free(NULL);
    tests_simaws_close(&s);
    launcher_catalog_free(base);
}

TESTS_SUITE(refresher, "launcher_refresher", NULL, NULL, TESTS_CASE(test_refresh_first),
            TESTS_CASE(test_refresh_zones), TESTS_CASE(test_refresh_failure_keeps_data),
            TESTS_CASE(test_refresh_keeps_ice_marks), TESTS_CASE(test_refresh_free_in_flight),
            TESTS_CASE(test_refresh_free_from_callback), TESTS_CASE(test_refresher_bad_args))
