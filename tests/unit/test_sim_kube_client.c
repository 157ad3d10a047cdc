/*
 * tests/unit/test_sim_kube_client.c — stoker's own Kubernetes client machinery (informers,
 * leader election, the events recorder, patches, eviction, throttling retries) driven against
 * the emulated API server through the in-process transport, on a virtual clock.
 *
 * What it proves: everything the controller will build on behaves against the emulator as it
 * must against a real API server, including under the emulator's injected faults (expired
 * history, 410 Gone, dropped watches, 429s). Faults are switched on and off mid-test through
 * the emulator's options (sim/kube_internal.h), the way a scenario would change them.
 *
 * Invariants: every test builds its own emulator and clients and frees them (no leaks under
 * LSan); all waiting is on the virtual clock with a deadline, so a broken component fails an
 * assertion instead of hanging. Tests that demonstrate a known emulator defect say so in a
 * comment marked "DEFECT" and assert the correct behaviour.
 */
#include "tests/unit/harness.h"

#include "core/core.h"
#include "k8s/k8s.h"
#include "sim/kube_internal.h"
#include "sim/sim.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define S CORE_NS_PER_S
#define MS CORE_NS_PER_MS
#define NCLIENTS 3

/* String assertions that fail, rather than crash, when a field is missing. */
static const char *sv(const char *s)
{
    return s ? s : "<absent>";
}
#define ASSERT_STR(a, b) CU_ASSERT_STRING_EQUAL(sv(a), sv(b))
#define ASSERT_STR_NE(a, b) CU_ASSERT_STRING_NOT_EQUAL(sv(a), sv(b))

/* ---- fixture ------------------------------------------------------------------------------ */

struct fx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct sim_kube *k;
    struct core_http_transport *t[NCLIENTS];
    struct k8s_client *c[NCLIENTS];
};

static void fx_init(struct fx *f, const struct sim_kube_opts *o)
{
    struct k8s_config cfg;
    struct sim_kube_opts def;
    struct core_err err;

    memset(f, 0, sizeof *f);
    memset(&cfg, 0, sizeof cfg);
    if (!o) {
        sim_kube_opts_default(&def);
        o = &def;
    }
    cfg.server = "http://127.0.0.1";
    f->clock = core_clock_virtual_new(0, INT64_C(1795352400) * S);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(f->clock, NULL, &f->loop, &err), 0);
    CU_ASSERT_EQUAL_FATAL(sim_kube_new(f->loop, o, &f->k, &err), 0);
    /* Separate transports and clients: separate processes as far as the API can tell. */
    for (int i = 0; i < NCLIENTS; i++) {
        CU_ASSERT_EQUAL_FATAL(sim_transport_new(f->loop, sim_kube_handle, f->k, &f->t[i], &err),
                              0);
        CU_ASSERT_EQUAL_FATAL(k8s_client_new(f->loop, f->t[i], &cfg, NULL, NULL, &f->c[i], &err),
                              0);
    }
}

static void fx_cleanup(struct fx *f)
{
    for (int i = 0; i < NCLIENTS; i++)
        k8s_client_free(f->c[i]);
    sim_kube_free(f->k);
    for (int i = 0; i < NCLIENTS; i++)
        core_http_transport_free(f->t[i]);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

static void set_flag(void *ud)
{
    *(int *)ud = 1;
}

/* Lets virtual time pass: everything due meanwhile runs. */
static void run_for(struct fx *f, core_ns d)
{
    int flag = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(core_loop_timer_add(f->loop, d, set_flag, &flag));
    CU_ASSERT_EQUAL(core_loop_run_until(f->loop, &flag, core_loop_now(f->loop) + d + S, NULL),
                    0);
}

/* ---- one request's answer ----------------------------------------------------------------- */

struct res {
    int done;
    int rc;
    long http;
    char reason[64];
    json_t *obj;
};

static void on_done(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct res *r = ud;
    r->done = 1;
    r->rc = rc;
    r->http = err ? err->http_status : 0;
    core_strlcpy(r->reason, err ? err->service_code : "", sizeof r->reason);
    json_decref(r->obj);
    r->obj = obj ? json_incref(obj) : NULL;
}

static void res_reset(struct res *r)
{
    json_decref(r->obj);
    memset(r, 0, sizeof *r);
}

static void wait_res(struct fx *f, struct res *r)
{
    CU_ASSERT_EQUAL(core_loop_run_until(f->loop, &r->done, core_loop_now(f->loop) + 600 * S,
                                        NULL), 0);
    CU_ASSERT_EQUAL(r->done, 1);
}

static const char *str_at(const json_t *o, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(o, a), b));
}

static json_int_t int_at(const json_t *o, const char *a, const char *b)
{
    return json_integer_value(json_object_get(json_object_get(o, a), b));
}

/* ---- in-process writes (what the rest of the cluster does) --------------------------------- */

static json_t *pod(const char *name, const char *app)
{
    return json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1",
                     "kind", "Pod", "metadata", "name", name, "labels", "app", app, "spec",
                     "containers", "name", "c", "image", "busybox");
}

static void w_create(struct fx *f, const char *name, const char *app)
{
    json_t *p = pod(name, app);
    CU_ASSERT_EQUAL(sim_kube_create(f->k, "pods", "default", p, NULL, NULL), 0);
    json_decref(p);
}

static void w_label(struct fx *f, const char *name, const char *app)
{
    json_t *p = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "app", app);
    CU_ASSERT_EQUAL(sim_kube_patch(f->k, "pods", "default", name, p, 0, NULL, NULL), 0);
    json_decref(p);
}

static void w_annotate(struct fx *f, const char *name, const char *value)
{
    json_t *p = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", "step", value);
    CU_ASSERT_EQUAL(sim_kube_patch(f->k, "pods", "default", name, p, 0, NULL, NULL), 0);
    json_decref(p);
}

static void w_delete(struct fx *f, const char *name)
{
    CU_ASSERT_EQUAL(sim_kube_delete(f->k, "pods", "default", name, NULL), 0);
}

static void make_ready(struct fx *f, const char *name)
{
    json_t *p = json_pack("{s:{s:s, s:[{s:s, s:s}]}}", "status", "phase", "Running",
                          "conditions", "type", "Ready", "status", "True");
    CU_ASSERT_EQUAL(sim_kube_patch(f->k, "pods", "default", name, p, 1, NULL, NULL), 0);
    json_decref(p);
}

/* ---- informers ---------------------------------------------------------------------------- */

struct seen {
    int adds, updates, deletes;
    int errors;
};

static void on_change(void *ud, const char *key, const void *old, const void *value)
{
    struct seen *s = ud;
    (void)key;
    if (!old)
        s->adds++;
    else if (!value)
        s->deletes++;
    else
        s->updates++;
}

static void on_inf_error(void *ud, const char *key, const struct core_err *err)
{
    struct seen *s = ud;
    (void)key;
    (void)err;
    s->errors++;
}

/* The informer's store is exactly what the API holds for the selector: the same keys, and for
 * each the same resourceVersion. The handlers' net count agrees with the store. */
static int cache_matches(struct fx *f, const struct k8s_informer *inf, const struct seen *s,
                         const char *selector)
{
    json_t *items = NULL, *it;
    size_t i;
    int ok = 1;

    if (sim_kube_list(f->k, "pods", "default", selector, NULL, &items, NULL) != 0)
        return 0;
    if (json_array_size(items) != k8s_informer_len(inf))
        ok = 0;
    json_array_foreach(items, i, it) {
        char key[300];
        const json_t *stored;
        const char *want = str_at(it, "metadata", "resourceVersion");
        snprintf(key, sizeof key, "default/%s", str_at(it, "metadata", "name"));
        stored = k8s_informer_get(inf, key);
        if (!stored || !want ||
            strcmp(want, str_at(stored, "metadata", "resourceVersion") ?
                             str_at(stored, "metadata", "resourceVersion") : "") != 0)
            ok = 0;
    }
    json_decref(items);
    if (s && (size_t)(s->adds - s->deletes) != k8s_informer_len(inf))
        ok = 0;
    return ok;
}

static struct k8s_informer *start_informer(struct fx *f, struct seen *s, unsigned watch_timeout,
                                           core_ns backoff)
{
    struct k8s_informer_opts io;
    struct k8s_informer *inf = NULL;

    memset(&io, 0, sizeof io);
    io.ns = "default";
    io.label_selector = "app=web";
    io.watch_timeout = watch_timeout;
    io.backoff_base = backoff;
    io.backoff_cap = backoff;
    io.on_error = on_inf_error;
    io.error_ud = s;
    CU_ASSERT_EQUAL_FATAL(k8s_informer_new(f->c[0], &k8s_res_pods, &io, &inf, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_informer_add_handler(inf, on_change, s), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_informer_start(inf, NULL), 0);
    run_for(f, 1 * S);
    CU_ASSERT_FATAL(k8s_informer_synced(inf));
    return inf;
}

/* Initial list, then adds, updates and deletes (a label change out of the selector is a
 * delete) arriving through the watch, with no relist. */
static void test_informer_watch(void)
{
    struct fx f;
    struct seen s;
    struct k8s_informer *inf;
    struct k8s_informer_stats st;

    fx_init(&f, NULL);
    memset(&s, 0, sizeof s);
    w_create(&f, "a", "web");
    w_create(&f, "b", "db");
    w_create(&f, "c", "web");
    run_for(&f, 1 * S);
    inf = start_informer(&f, &s, 60, 500 * MS);
    CU_ASSERT_EQUAL(k8s_informer_len(inf), 2);
    CU_ASSERT_PTR_NOT_NULL(k8s_informer_get(inf, "default/a"));
    CU_ASSERT_PTR_NULL(k8s_informer_get(inf, "default/b"));
    CU_ASSERT_EQUAL(s.adds, 2);

    w_create(&f, "d", "web");
    run_for(&f, 1 * S);
    CU_ASSERT_PTR_NOT_NULL(k8s_informer_get(inf, "default/d"));
    CU_ASSERT_EQUAL(s.adds, 3);

    w_annotate(&f, "a", "one");
    run_for(&f, 1 * S);
    CU_ASSERT_EQUAL(s.updates, 1);
    ASSERT_STR(json_string_value(json_object_get(
        json_object_get(json_object_get(k8s_informer_get(inf, "default/a"), "metadata"),
                        "annotations"), "step")), "one");

    w_label(&f, "c", "db");   /* leaves the selection */
    w_label(&f, "b", "web");  /* enters it */
    w_delete(&f, "d");
    run_for(&f, 1 * S);
    CU_ASSERT_PTR_NULL(k8s_informer_get(inf, "default/c"));
    CU_ASSERT_PTR_NULL(k8s_informer_get(inf, "default/d"));
    CU_ASSERT_PTR_NOT_NULL(k8s_informer_get(inf, "default/b"));
    CU_ASSERT_EQUAL(s.deletes, 2);
    CU_ASSERT(cache_matches(&f, inf, &s, "app=web"));

    /* Through several normal watch ends (timeoutSeconds 60) nothing is lost or relisted. */
    run_for(&f, 200 * S);
    w_create(&f, "e", "web");
    run_for(&f, 1 * S);
    CU_ASSERT(cache_matches(&f, inf, &s, "app=web"));
    k8s_informer_get_stats(inf, &st);
    CU_ASSERT_EQUAL(st.lists, 1);
    CU_ASSERT_EQUAL(st.relists, 0);
    CU_ASSERT(st.watches >= 4);
    CU_ASSERT_EQUAL(s.errors, 0);
    k8s_informer_free(inf);
    fx_cleanup(&f);
}

/* The informer's watch is down (injected 500s) while writes happen and the history window
 * passes them by: the re-watch from its old resourceVersion is answered 410, the informer
 * relists and its store (and the handlers' view) converges on what the API holds. */
static void test_informer_relist_history(void)
{
    struct fx f;
    struct sim_kube_opts o;
    struct seen s;
    struct k8s_informer *inf;
    struct k8s_informer_stats st;

    sim_kube_opts_default(&o);
    o.history_window = 1 * S;
    fx_init(&f, &o);
    memset(&s, 0, sizeof s);
    w_create(&f, "a", "web");
    w_create(&f, "b", "web");
    w_create(&f, "x", "db");
    run_for(&f, 1 * S);
    inf = start_informer(&f, &s, 5, 2 * S);
    CU_ASSERT_EQUAL(k8s_informer_len(inf), 2);

    /* Every new request fails: the open watch ends at its timeout and cannot be reopened. */
    f.k->opts.faults.error_rate = 1.0;
    run_for(&f, 6 * S);
    w_create(&f, "c", "web");
    w_label(&f, "a", "db");
    w_delete(&f, "b");
    w_annotate(&f, "c", "changed");
    w_label(&f, "x", "web");
    run_for(&f, 3 * S);
    w_create(&f, "y", "db"); /* an append that prunes the expired history */
    run_for(&f, 1 * S);
    CU_ASSERT(sim_kube_resource_version(f.k) > f.k->hist_floor);
    CU_ASSERT_FALSE(cache_matches(&f, inf, &s, "app=web")); /* it really missed the changes */

    f.k->opts.faults.error_rate = 0;
    run_for(&f, 20 * S);
    k8s_informer_get_stats(inf, &st);
    CU_ASSERT(st.relists >= 1);
    CU_ASSERT(st.lists >= 2);
    CU_ASSERT(cache_matches(&f, inf, &s, "app=web"));
    CU_ASSERT_PTR_NULL(k8s_informer_get(inf, "default/a"));
    CU_ASSERT_PTR_NULL(k8s_informer_get(inf, "default/b"));
    CU_ASSERT_PTR_NOT_NULL(k8s_informer_get(inf, "default/c"));
    CU_ASSERT_PTR_NOT_NULL(k8s_informer_get(inf, "default/x"));
    CU_ASSERT(s.errors >= 1); /* the 500s were reported; the 410 is not an error */

    /* And it is live again afterwards. */
    w_create(&f, "z", "web");
    run_for(&f, 2 * S);
    CU_ASSERT_PTR_NOT_NULL(k8s_informer_get(inf, "default/z"));
    CU_ASSERT(cache_matches(&f, inf, &s, "app=web"));
    k8s_informer_free(inf);
    fx_cleanup(&f);
}

/* Every watch answered 410 Gone for a while (with writes meanwhile): the informer relists,
 * backs off, and converges once the fault stops. */
static void test_informer_gone_rate(void)
{
    struct fx f;
    struct seen s;
    struct k8s_informer *inf;
    struct k8s_informer_stats st;
    char name[32];

    fx_init(&f, NULL);
    memset(&s, 0, sizeof s);
    w_create(&f, "a", "web");
    run_for(&f, 1 * S);
    inf = start_informer(&f, &s, 3, 1 * S);
    f.k->opts.faults.gone_rate = 1.0;
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "g-%d", i);
        w_create(&f, name, i % 3 ? "web" : "db");
        if (i % 4 == 1)
            w_label(&f, "a", i % 8 == 1 ? "db" : "web");
        if (i == 6)
            w_delete(&f, "g-1");
        run_for(&f, 2 * S);
    }
    f.k->opts.faults.gone_rate = 0;
    run_for(&f, 15 * S);
    k8s_informer_get_stats(inf, &st);
    CU_ASSERT(st.relists >= 2);
    CU_ASSERT(cache_matches(&f, inf, &s, "app=web"));
    w_create(&f, "after", "web");
    run_for(&f, 2 * S);
    CU_ASSERT_PTR_NOT_NULL(k8s_informer_get(inf, "default/after"));
    CU_ASSERT(cache_matches(&f, inf, &s, "app=web"));
    k8s_informer_free(inf);
    fx_cleanup(&f);
}

/* Watches dropped by the server at a high rate: the informer keeps re-watching from the last
 * version it saw and converges. */
static void test_informer_watch_drops(void)
{
    struct fx f;
    struct sim_kube_opts o;
    struct seen s;
    struct k8s_informer *inf;
    struct k8s_informer_stats st;
    char name[32];

    sim_kube_opts_default(&o);
    o.faults.watch_drop_rate = 0.5;
    o.seed = 7;
    fx_init(&f, &o);
    memset(&s, 0, sizeof s);
    inf = start_informer(&f, &s, 300, 500 * MS);
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "p-%d", i);
        w_create(&f, name, i % 2 ? "web" : "db");
        if (i >= 5) {
            snprintf(name, sizeof name, "p-%d", i - 5);
            if (i % 3 == 0)
                w_delete(&f, name);
            else if (i % 3 == 1)
                w_label(&f, name, i % 2 ? "db" : "web");
            else
                w_annotate(&f, name, "x");
        }
        run_for(&f, 1500 * MS);
    }
    run_for(&f, 10 * S);
    k8s_informer_get_stats(inf, &st);
    CU_ASSERT(st.watches >= 10); /* the drops really happened */
    CU_ASSERT(cache_matches(&f, inf, &s, "app=web"));
    CU_ASSERT(k8s_informer_len(inf) > 5);
    k8s_informer_free(inf);
    fx_cleanup(&f);
}

/* ---- leader election ---------------------------------------------------------------------- */

struct cand {
    struct k8s_leader *l;
    const char *id;
    int starts, stops;
    core_ns started_at;
    int released;
    struct cand **all; /* NULL-terminated; for the "never two leaders" check */
    int *overlaps;
    struct core_loop *loop;
};

static void cand_start(void *ud)
{
    struct cand *c = ud;
    c->starts++;
    c->started_at = core_loop_now(c->loop);
    for (struct cand **o = c->all; *o; o++)
        if (*o != c && (*o)->l && k8s_leader_is_leader((*o)->l))
            (*c->overlaps)++;
}

static void cand_stop(void *ud)
{
    struct cand *c = ud;
    c->stops++;
}

static void cand_released(void *ud)
{
    struct cand *c = ud;
    c->released = 1;
}

static void cand_new(struct fx *f, struct cand *c, int client, const char *id)
{
    struct k8s_leader_opts lo;
    memset(&lo, 0, sizeof lo);
    lo.lease_duration = 15 * S;
    lo.renew_deadline = 10 * S;
    lo.retry_period = 2 * S;
    c->id = id;
    c->loop = f->loop;
    c->starts = c->stops = 0;
    c->released = 0;
    CU_ASSERT_EQUAL_FATAL(k8s_leader_new(f->c[client], "kube-system", "stoker-leader", id, &lo,
                                         cand_start, cand_stop, c, &c->l, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_leader_start(c->l, NULL), 0);
}

static char *lease_holder(struct fx *f, char *out, size_t outsz, char *rv, size_t rvsz)
{
    json_t *l = NULL;
    out[0] = '\0';
    if (sim_kube_get(f->k, "leases.coordination.k8s.io", "kube-system", "stoker-leader", &l,
                     NULL) != 0)
        return out;
    core_strlcpy(out, str_at(l, "spec", "holderIdentity") ? str_at(l, "spec", "holderIdentity")
                                                          : "", outsz);
    if (rv)
        core_strlcpy(rv, str_at(l, "metadata", "resourceVersion"), rvsz);
    json_decref(l);
    return out;
}

static void test_leader_election(void)
{
    struct fx f;
    struct cand a, b, c2;
    struct cand *all[4] = {&a, &b, &c2, NULL};
    struct cand *lead, *other;
    int overlaps = 0;
    char holder[64], rv1[32], rv2[32];
    core_ns t0;

    fx_init(&f, NULL);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c2, 0, sizeof c2);
    a.all = b.all = c2.all = all;
    a.overlaps = b.overlaps = c2.overlaps = &overlaps;
    cand_new(&f, &a, 0, "replica-a");
    cand_new(&f, &b, 1, "replica-b");
    run_for(&f, 5 * S);
    CU_ASSERT_EQUAL_FATAL(k8s_leader_is_leader(a.l) + k8s_leader_is_leader(b.l), 1);
    lead = k8s_leader_is_leader(a.l) ? &a : &b;
    other = lead == &a ? &b : &a;
    ASSERT_STR(lease_holder(&f, holder, sizeof holder, rv1, sizeof rv1), lead->id);

    /* Renewals keep it: a minute later the same term, the Lease rewritten meanwhile. */
    run_for(&f, 60 * S);
    CU_ASSERT(k8s_leader_is_leader(lead->l));
    CU_ASSERT_FALSE(k8s_leader_is_leader(other->l));
    CU_ASSERT_EQUAL(lead->starts, 1);
    CU_ASSERT_EQUAL(lead->stops, 0);
    CU_ASSERT_EQUAL(other->starts, 0);
    ASSERT_STR(lease_holder(&f, holder, sizeof holder, rv2, sizeof rv2), lead->id);
    ASSERT_STR_NE(rv1, rv2);

    /* Graceful release: the other takes over well within the lease duration. */
    t0 = core_loop_now(f.loop);
    k8s_leader_release(lead->l, cand_released, lead);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &other->starts, t0 + 15 * S, NULL), 0);
    CU_ASSERT_EQUAL(other->starts, 1);
    CU_ASSERT(other->started_at - t0 <= 15 * S);
    CU_ASSERT(lead->released);
    CU_ASSERT_EQUAL(lead->stops, 1);
    CU_ASSERT_FALSE(k8s_leader_is_leader(lead->l));
    run_for(&f, 1 * S);
    ASSERT_STR(lease_holder(&f, holder, sizeof holder, NULL, 0), other->id);
    k8s_leader_free(lead->l);
    lead->l = NULL;

    /* A crash (the leader's process is gone without releasing): a third replica, watching
     * the Lease renewed, takes over only once the record stopped changing for the lease
     * duration, never before the old term's renew deadline. */
    cand_new(&f, &c2, 2, "replica-c");
    run_for(&f, 9 * S);
    CU_ASSERT(k8s_leader_is_leader(other->l));
    CU_ASSERT_FALSE(k8s_leader_is_leader(c2.l));
    t0 = core_loop_now(f.loop);
    {
        int idx = other == &a ? 0 : 1;
        k8s_client_free(f.c[idx]); /* completes its requests: the elector halts */
        f.c[idx] = NULL;
        k8s_leader_free(other->l);
        other->l = NULL;
    }
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &c2.starts, t0 + 60 * S, NULL), 0);
    CU_ASSERT_EQUAL(c2.starts, 1);
    CU_ASSERT(c2.started_at - t0 >= 10 * S);
    CU_ASSERT(c2.started_at - t0 <= 15 * S + 2 * 2 * S);
    run_for(&f, 1 * S);
    ASSERT_STR(lease_holder(&f, holder, sizeof holder, NULL, 0), "replica-c");
    {
        json_t *l = NULL;
        CU_ASSERT_EQUAL(sim_kube_get(f.k, "leases.coordination.k8s.io", "kube-system",
                                     "stoker-leader", &l, NULL), 0);
        CU_ASSERT_EQUAL(int_at(l, "spec", "leaseTransitions"), 2);
        CU_ASSERT_EQUAL(int_at(l, "spec", "leaseDurationSeconds"), 15);
        json_decref(l);
    }
    CU_ASSERT_EQUAL(overlaps, 0);

    c2.released = 0;
    k8s_leader_release(c2.l, cand_released, &c2);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &c2.released, core_loop_now(f.loop) + 10 * S,
                                        NULL), 0);
    ASSERT_STR(lease_holder(&f, holder, sizeof holder, NULL, 0), "");
    k8s_leader_free(c2.l);
    fx_cleanup(&f);
}

/* ---- events ------------------------------------------------------------------------------- */

static json_t *only_event(struct fx *f, const char *resource, const char *reason)
{
    json_t *items = NULL, *it, *found = NULL;
    size_t i;
    if (sim_kube_list(f->k, resource, "default", NULL, NULL, &items, NULL) != 0)
        return NULL;
    json_array_foreach(items, i, it) {
        if (strcmp(json_string_value(json_object_get(it, "reason")) ?
                       json_string_value(json_object_get(it, "reason")) : "", reason) == 0) {
            json_decref(found);
            found = json_incref(it);
        }
    }
    json_decref(items);
    return found;
}

static size_t count_items(struct fx *f, const char *resource)
{
    json_t *items = NULL;
    size_t n;
    if (sim_kube_list(f->k, resource, "default", NULL, NULL, &items, NULL) != 0)
        return 0;
    n = json_array_size(items);
    json_decref(items);
    return n;
}

static void setup_event_pod(struct fx *f, char *uid, size_t uidsz)
{
    json_t *p = pod("ev-pod", "web"), *out = NULL;
    CU_ASSERT_EQUAL_FATAL(sim_kube_create(f->k, "pods", "default", p, &out, NULL), 0);
    core_strlcpy(uid, str_at(out, "metadata", "uid"), uidsz);
    json_decref(out);
    json_decref(p);
}

static void test_events_recorder(void)
{
    struct fx f;
    struct k8s_recorder *rec = NULL;
    struct k8s_recorder_stats st;
    struct k8s_object_ref ref;
    char uid[64];
    json_t *ev;

    fx_init(&f, NULL);
    setup_event_pod(&f, uid, sizeof uid);
    CU_ASSERT_EQUAL_FATAL(k8s_recorder_new(f.c[0], "controller", "replica-a", &rec, NULL), 0);
    memset(&ref, 0, sizeof ref);
    ref.api_version = "v1";
    ref.kind = "Pod";
    ref.ns = "default";
    ref.name = "ev-pod";
    ref.uid = uid;

    k8s_event(rec, &ref, "Normal", "Nominated", "Pod should schedule on nodeclaim general-x");
    run_for(&f, 1 * S);
    CU_ASSERT_EQUAL(count_items(&f, "events.events.k8s.io"), 1);
    ev = only_event(&f, "events.events.k8s.io", "Nominated");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    ASSERT_STR(str_at(ev, "metadata", "namespace"), "default");
    ASSERT_STR(str_at(ev, "regarding", "kind"), "Pod");
    ASSERT_STR(str_at(ev, "regarding", "name"), "ev-pod");
    ASSERT_STR(str_at(ev, "regarding", "namespace"), "default");
    ASSERT_STR(str_at(ev, "regarding", "uid"), uid);
    ASSERT_STR(json_string_value(json_object_get(ev, "type")), "Normal");
    ASSERT_STR(json_string_value(json_object_get(ev, "reportingController")),
                           "stoker.dev/controller");
    ASSERT_STR(json_string_value(json_object_get(ev, "note")),
                           "Pod should schedule on nodeclaim general-x");
    json_decref(ev);

    /* Repeats: the same Event, its series count going up. One repeat in a later loop turn,
     * two in a burst (folded into one patch). */
    k8s_event(rec, &ref, "Normal", "Nominated", "Pod should schedule on nodeclaim general-x");
    run_for(&f, 1 * S);
    k8s_event(rec, &ref, "Normal", "Nominated", "Pod should schedule on nodeclaim general-x");
    k8s_event(rec, &ref, "Normal", "Nominated", "Pod should schedule on nodeclaim general-x");
    run_for(&f, 1 * S);
    CU_ASSERT_EQUAL(count_items(&f, "events.events.k8s.io"), 1);
    ev = only_event(&f, "events.events.k8s.io", "Nominated");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    CU_ASSERT_EQUAL(int_at(ev, "series", "count"), 4);
    CU_ASSERT_PTR_NOT_NULL(str_at(ev, "series", "lastObservedTime"));
    json_decref(ev);

    /* Another reason is another Event. */
    k8s_event(rec, &ref, "Warning", "FailedDraining", "PDB blocks eviction");
    run_for(&f, 1 * S);
    CU_ASSERT_EQUAL(count_items(&f, "events.events.k8s.io"), 2);
    ev = only_event(&f, "events.events.k8s.io", "FailedDraining");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    ASSERT_STR(json_string_value(json_object_get(ev, "type")), "Warning");
    json_decref(ev);

    k8s_recorder_get_stats(rec, &st);
    CU_ASSERT_EQUAL(st.created, 2);
    CU_ASSERT(st.updated >= 2);
    CU_ASSERT_EQUAL(st.failed, 0);
    k8s_recorder_free(rec);
    fx_cleanup(&f);
}

/* DEFECT (emulator): a real API server keeps events.k8s.io/v1 and core/v1 Events in ONE
 * storage, converting between the versions: an Event written through events.k8s.io/v1 is
 * listed by GET /api/v1/namespaces/ns/events (what `kubectl get events` and
 * `kubectl describe` read) with involvedObject from `regarding` and count from
 * `series.count`. The emulator registers the two as separate resources (sim/kube_store.c,
 * BUILTINS: "events" and "events.events.k8s.io"), so stoker's events are invisible through
 * core/v1. This test asserts the real behaviour and fails until that is fixed. */
static void test_events_core_v1_view(void)
{
    struct fx f;
    struct k8s_recorder *rec = NULL;
    struct k8s_object_ref ref;
    struct res r;
    char uid[64];
    json_t *ev;

    fx_init(&f, NULL);
    memset(&r, 0, sizeof r);
    setup_event_pod(&f, uid, sizeof uid);
    CU_ASSERT_EQUAL_FATAL(k8s_recorder_new(f.c[0], "controller", "replica-a", &rec, NULL), 0);
    memset(&ref, 0, sizeof ref);
    ref.api_version = "v1";
    ref.kind = "Pod";
    ref.ns = "default";
    ref.name = "ev-pod";
    ref.uid = uid;
    k8s_event(rec, &ref, "Normal", "Nominated", "m");
    run_for(&f, 1 * S);
    k8s_event(rec, &ref, "Normal", "Nominated", "m");
    run_for(&f, 1 * S);
    ev = only_event(&f, "events", "Nominated");
    CU_ASSERT_PTR_NOT_NULL(ev);
    if (ev) {
        ASSERT_STR(str_at(ev, "involvedObject", "name"), "ev-pod");
        ASSERT_STR(str_at(ev, "involvedObject", "uid"), uid);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(ev, "count")), 2);
        json_decref(ev);
    }
    /* Over HTTP, as kubectl asks. */
    CU_ASSERT_EQUAL(k8s_request(f.c[1], "GET", "/api/v1/namespaces/default/events", NULL, NULL,
                                NULL, 0, on_done, &r, NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(r.obj, "items")), 1);
    res_reset(&r);
    k8s_recorder_free(rec);
    fx_cleanup(&f);
}

/* ---- patches: merge, JSON, server-side apply, status, conflicts ---------------------------- */

static const char NODEPOOL_V1[] =
    "{\"apiVersion\":\"stoker.dev/v1alpha1\",\"kind\":\"NodePool\",\"metadata\":{\"name\":"
    "\"general\"},\"spec\":{\"template\":{\"spec\":{\"nodeClassRef\":{\"group\":\"stoker.dev\","
    "\"kind\":\"EC2NodeClass\",\"name\":\"default\"},\"requirements\":[{\"key\":"
    "\"karpenter.sh/capacity-type\",\"operator\":\"In\",\"values\":[\"on-demand\"]}]}},"
    "\"weight\":10}}";

static const char NODEPOOL_V2[] =
    "{\"apiVersion\":\"stoker.dev/v1alpha1\",\"kind\":\"NodePool\",\"metadata\":{\"name\":"
    "\"general\",\"labels\":{\"team\":\"infra\"}},\"spec\":{\"template\":{\"spec\":{"
    "\"nodeClassRef\":{\"group\":\"stoker.dev\",\"kind\":\"EC2NodeClass\",\"name\":\"default\"},"
    "\"requirements\":[{\"key\":\"karpenter.sh/capacity-type\",\"operator\":\"In\",\"values\":"
    "[\"on-demand\",\"spot\"]}]}},\"weight\":20,\"limits\":{\"cpu\":\"100\"}}}";

static const char NODECLAIM[] =
    "{\"apiVersion\":\"stoker.dev/v1alpha1\",\"kind\":\"NodeClaim\",\"metadata\":{\"name\":"
    "\"general-abcde\",\"labels\":{\"karpenter.sh/nodepool\":\"general\"}},\"spec\":{"
    "\"nodeClassRef\":{\"group\":\"stoker.dev\",\"kind\":\"EC2NodeClass\",\"name\":\"default\"},"
    "\"requirements\":[{\"key\":\"node.kubernetes.io/instance-type\",\"operator\":\"In\","
    "\"values\":[\"m5.large\"]}],\"resources\":{\"requests\":{\"cpu\":\"1\"}}},"
    "\"status\":{\"nodeName\":\"smuggled\"}}";

static void send_patch(struct fx *f, const struct k8s_resource *res, const char *name,
                       const char *sub, enum k8s_patch_type type, const char *json, struct res *r)
{
    json_t *p = json_loads(json, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    res_reset(r);
    CU_ASSERT_EQUAL_FATAL(k8s_patch(f->c[0], res, NULL, name, sub, type, p, on_done, r, NULL),
                          0);
    json_decref(p);
    wait_res(f, r);
}

static void test_patches_nodepool(void)
{
    struct fx f;
    struct res r;
    struct k8s_nodepool np;
    char rv1[32];
    json_t *o, *stale;

    fx_init(&f, NULL);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(sim_kube_load_builtin_crds(f.k, NULL), 0);

    /* Server-side apply of an absent object creates it. */
    send_patch(&f, &k8s_res_nodepools, "general", NULL, K8S_PATCH_APPLY, NODEPOOL_V1, &r);
    CU_ASSERT_EQUAL_FATAL(r.rc, 0);
    CU_ASSERT_EQUAL(int_at(r.obj, "spec", "weight"), 10);
    CU_ASSERT_EQUAL(int_at(r.obj, "metadata", "generation"), 1);
    core_strlcpy(rv1, str_at(r.obj, "metadata", "resourceVersion"), sizeof rv1);
    stale = json_deep_copy(r.obj);
    memset(&np, 0, sizeof np);
    CU_ASSERT_EQUAL(k8s_nodepool_decode(r.obj, &np, NULL), 0); /* schema defaults decode */
    k8s_nodepool_cleanup(&np);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "nodepools.stoker.dev", NULL, "general", &o, NULL), 0);
    json_decref(o);

    /* Apply again with changes: updated in place. */
    send_patch(&f, &k8s_res_nodepools, "general", NULL, K8S_PATCH_APPLY, NODEPOOL_V2, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(int_at(r.obj, "spec", "weight"), 20);
    ASSERT_STR(str_at(json_object_get(r.obj, "spec"), "limits", "cpu"), "100");
    ASSERT_STR(str_at(json_object_get(r.obj, "metadata"), "labels", "team"), "infra");
    CU_ASSERT_EQUAL(int_at(r.obj, "metadata", "generation"), 2);
    ASSERT_STR_NE(str_at(r.obj, "metadata", "resourceVersion"), rv1);

    /* Merge patch. */
    send_patch(&f, &k8s_res_nodepools, "general", NULL, K8S_PATCH_MERGE,
               "{\"metadata\":{\"annotations\":{\"stoker.dev/note\":\"hi\"}},"
               "\"spec\":{\"weight\":30}}", &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(int_at(r.obj, "spec", "weight"), 30);
    ASSERT_STR(str_at(json_object_get(r.obj, "metadata"), "annotations",
                                  "stoker.dev/note"), "hi");

    /* JSON patch, with a test that holds, then with one that fails (nothing changes). */
    send_patch(&f, &k8s_res_nodepools, "general", NULL, K8S_PATCH_JSON,
               "[{\"op\":\"test\",\"path\":\"/spec/weight\",\"value\":30},"
               "{\"op\":\"replace\",\"path\":\"/spec/weight\",\"value\":40}]", &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(int_at(r.obj, "spec", "weight"), 40);
    send_patch(&f, &k8s_res_nodepools, "general", NULL, K8S_PATCH_JSON,
               "[{\"op\":\"test\",\"path\":\"/spec/weight\",\"value\":1},"
               "{\"op\":\"replace\",\"path\":\"/spec/weight\",\"value\":50}]", &r);
    CU_ASSERT_NOT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "nodepools.stoker.dev", NULL, "general", &o, NULL), 0);
    CU_ASSERT_EQUAL(int_at(o, "spec", "weight"), 40);
    json_decref(o);

    /* A patch the schema refuses: 422 → CORE_E_INVAL. */
    send_patch(&f, &k8s_res_nodepools, "general", NULL, K8S_PATCH_MERGE,
               "{\"spec\":{\"weight\":101}}", &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_INVAL);
    CU_ASSERT_EQUAL(r.http, 422);

    /* A PUT with the first resourceVersion: 409 → CORE_E_CONFLICT, and nothing changes. */
    json_object_set_new(json_object_get(stale, "spec"), "weight", json_integer(77));
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_update(f.c[0], &k8s_res_nodepools, NULL, "general", NULL, stale, on_done,
                               &r, NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_CONFLICT);
    CU_ASSERT_EQUAL(r.http, 409);
    ASSERT_STR(r.reason, "Conflict");
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "nodepools.stoker.dev", NULL, "general", &o, NULL), 0);
    CU_ASSERT_EQUAL(int_at(o, "spec", "weight"), 40);
    /* With the current version it goes through. */
    json_object_set_new(json_object_get(stale, "metadata"), "resourceVersion",
                        json_string(str_at(o, "metadata", "resourceVersion")));
    json_decref(o);
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_update(f.c[0], &k8s_res_nodepools, NULL, "general", NULL, stale, on_done,
                               &r, NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(int_at(r.obj, "spec", "weight"), 77);
    json_decref(stale);
    res_reset(&r);
    fx_cleanup(&f);
}

static void test_nodeclaim_status(void)
{
    struct fx f;
    struct res r;
    struct k8s_nodeclaim nc;
    json_t *o, *obj;
    char rv[32];

    fx_init(&f, NULL);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(sim_kube_load_builtin_crds(f.k, NULL), 0);
    obj = json_loads(NODECLAIM, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
    CU_ASSERT_EQUAL(k8s_create(f.c[0], &k8s_res_nodeclaims, NULL, obj, on_done, &r, NULL), 0);
    json_decref(obj);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL_FATAL(r.rc, 0);
    /* With a status subresource, status is not taken on create. */
    CU_ASSERT_PTR_NULL(str_at(r.obj, "status", "nodeName"));
    CU_ASSERT_EQUAL(int_at(r.obj, "metadata", "generation"), 1);

    /* Merge patch of /status. */
    send_patch(&f, &k8s_res_nodeclaims, "general-abcde", "status", K8S_PATCH_MERGE,
               "{\"status\":{\"providerID\":\"aws:///us-east-1a/i-0123456789abcdef0\","
               "\"conditions\":[{\"type\":\"Launched\",\"status\":\"True\",\"reason\":"
               "\"Launched\",\"message\":\"\",\"lastTransitionTime\":"
               "\"2026-11-23T00:00:00Z\"}]}}", &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    ASSERT_STR(str_at(r.obj, "status", "providerID"),
                           "aws:///us-east-1a/i-0123456789abcdef0");
    CU_ASSERT_EQUAL(int_at(r.obj, "metadata", "generation"), 1); /* status is not spec */

    /* A status PUT that also tries to change spec: only status is taken. */
    obj = json_deep_copy(r.obj);
    json_object_set_new(json_object_get(obj, "status"), "nodeName",
                        json_string("ip-10-0-0-1.ec2.internal"));
    json_object_set_new(json_object_get(json_object_get(obj, "spec"), "resources"), "requests",
                        json_pack("{s:s}", "cpu", "64"));
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_update(f.c[0], &k8s_res_nodeclaims, NULL, "general-abcde", "status", obj,
                               on_done, &r, NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    ASSERT_STR(str_at(r.obj, "status", "nodeName"), "ip-10-0-0-1.ec2.internal");
    ASSERT_STR(str_at(json_object_get(json_object_get(r.obj, "spec"), "resources"),
                                  "requests", "cpu"), "1");
    core_strlcpy(rv, str_at(r.obj, "metadata", "resourceVersion"), sizeof rv);

    /* The same stale object again: 409 → CORE_E_CONFLICT. */
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_update(f.c[0], &k8s_res_nodeclaims, NULL, "general-abcde", "status", obj,
                               on_done, &r, NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_CONFLICT);
    json_decref(obj);

    /* A main-resource merge patch touching status: status ignored. */
    send_patch(&f, &k8s_res_nodeclaims, "general-abcde", NULL, K8S_PATCH_MERGE,
               "{\"metadata\":{\"labels\":{\"x\":\"y\"}},\"status\":{\"nodeName\":\"other\"}}",
               &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "nodeclaims.stoker.dev", NULL, "general-abcde", &o, NULL),
                    0);
    ASSERT_STR(str_at(o, "status", "nodeName"), "ip-10-0-0-1.ec2.internal");
    ASSERT_STR(str_at(json_object_get(o, "metadata"), "labels", "x"), "y");
    memset(&nc, 0, sizeof nc);
    CU_ASSERT_EQUAL(k8s_nodeclaim_decode(o, &nc, NULL), 0);
    ASSERT_STR(nc.provider_id ? nc.provider_id : "",
                           "aws:///us-east-1a/i-0123456789abcdef0");
    ASSERT_STR(nc.node_name ? nc.node_name : "", "ip-10-0-0-1.ec2.internal");
    CU_ASSERT_PTR_NOT_NULL(k8s_condition_find(nc.conditions, nc.nconditions, "Launched"));
    k8s_nodeclaim_cleanup(&nc);
    json_decref(o);
    res_reset(&r);
    fx_cleanup(&f);
}

/* ---- eviction ----------------------------------------------------------------------------- */

static void evict(struct fx *f, const char *name, struct res *r)
{
    res_reset(r);
    CU_ASSERT_EQUAL_FATAL(k8s_evict(f->c[0], "default", name, on_done, r, NULL), 0);
    wait_res(f, r);
}

static int pod_exists(struct fx *f, const char *name)
{
    json_t *o = NULL;
    int rc = sim_kube_get(f->k, "pods", "default", name, &o, NULL);
    json_decref(o);
    return rc == 0;
}

static void test_eviction(void)
{
    struct fx f;
    struct res r;
    json_t *pdb;
    core_ns t0;

    fx_init(&f, NULL);
    memset(&r, 0, sizeof r);
    w_create(&f, "free", "loose");
    make_ready(&f, "free");
    w_create(&f, "guarded-1", "guarded");
    make_ready(&f, "guarded-1");
    pdb = json_pack("{s:s, s:s, s:{s:s}, s:{s:i, s:{s:{s:s}}}}", "apiVersion", "policy/v1",
                    "kind", "PodDisruptionBudget", "metadata", "name", "guard", "spec",
                    "minAvailable", 1, "selector", "matchLabels", "app", "guarded");
    CU_ASSERT_EQUAL_FATAL(sim_kube_create(f.k, "poddisruptionbudgets.policy", "default", pdb,
                                          NULL, NULL), 0);
    json_decref(pdb);
    run_for(&f, 1 * S);

    /* No budget covers it: evicted (deleted at once in the emulator). */
    evict(&f, "free", &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_FALSE(pod_exists(&f, "free"));

    /* The budget forbids it: 429 → CORE_E_THROTTLED at once (no Retry-After wait, no retry),
     * and the pod stays. */
    t0 = core_loop_now(f.loop);
    evict(&f, "guarded-1", &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_THROTTLED);
    CU_ASSERT_EQUAL(r.http, 429);
    ASSERT_STR(r.reason, "TooManyRequests");
    CU_ASSERT(core_loop_now(f.loop) - t0 < 1 * S);
    CU_ASSERT(pod_exists(&f, "guarded-1"));

    /* A second ready replica makes one disruption allowed. */
    w_create(&f, "guarded-2", "guarded");
    make_ready(&f, "guarded-2");
    evict(&f, "guarded-1", &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_FALSE(pod_exists(&f, "guarded-1"));
    evict(&f, "guarded-2", &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_THROTTLED);
    CU_ASSERT(pod_exists(&f, "guarded-2"));

    /* An absent pod: 404 → CORE_E_NOTFOUND. */
    evict(&f, "nope", &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_NOTFOUND);
    res_reset(&r);
    fx_cleanup(&f);
}

/* DEFECT (emulator): the API server's eviction skips the PodDisruptionBudget check for a pod
 * whose phase is Pending, Succeeded or Failed, or that is already being deleted
 * (canIgnorePDB in pkg/registry/core/pod/storage/eviction.go): a pod that has not started
 * cannot make an application less available. sim_kube_store_evict (sim/kube_store.c, the
 * phase test before the PDB loop) only skips Succeeded and Failed, so a Pending pod under a
 * budget with no healthy pods is refused with 429. A node drain of a node that still has
 * starting pods then stalls in the emulator where a real cluster proceeds. This test asserts
 * the real behaviour and fails until that is fixed. */
static void test_eviction_pending_pod(void)
{
    struct fx f;
    struct res r;
    json_t *pdb, *o = NULL;

    fx_init(&f, NULL);
    memset(&r, 0, sizeof r);
    /* Created through the API, as a workload controller would: the server sets Pending. */
    o = pod("starting-1", "starting");
    CU_ASSERT_EQUAL_FATAL(k8s_create(f.c[0], &k8s_res_pods, "default", o, on_done, &r, NULL), 0);
    json_decref(o);
    o = NULL;
    wait_res(&f, &r);
    CU_ASSERT_EQUAL_FATAL(r.rc, 0);
    CU_ASSERT_EQUAL_FATAL(sim_kube_get(f.k, "pods", "default", "starting-1", &o, NULL), 0);
    ASSERT_STR(str_at(o, "status", "phase") ? str_at(o, "status", "phase") : "",
                           "Pending");
    json_decref(o);
    pdb = json_pack("{s:s, s:s, s:{s:s}, s:{s:i, s:{s:{s:s}}}}", "apiVersion", "policy/v1",
                    "kind", "PodDisruptionBudget", "metadata", "name", "guard", "spec",
                    "minAvailable", 1, "selector", "matchLabels", "app", "starting");
    CU_ASSERT_EQUAL_FATAL(sim_kube_create(f.k, "poddisruptionbudgets.policy", "default", pdb,
                                          NULL, NULL), 0);
    json_decref(pdb);
    run_for(&f, 1 * S);
    evict(&f, "starting-1", &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_FALSE(pod_exists(&f, "starting-1"));
    res_reset(&r);
    fx_cleanup(&f);
}

/* ---- throttling --------------------------------------------------------------------------- */

static void stop_throttle(void *ud)
{
    struct sim_kube *k = ud;
    k->opts.faults.throttle_rate = 0;
}

static void test_throttle_retry(void)
{
    struct fx f;
    struct sim_kube_opts o;
    struct res r;
    core_ns t0;
    json_t *p;

    sim_kube_opts_default(&o);
    o.faults.retry_after = 2 * S;
    fx_init(&f, &o);
    memset(&r, 0, sizeof r);
    w_create(&f, "a", "web");
    run_for(&f, 1 * S);

    /* Throttled for 5 s: a GET and a POST both get through after Retry-After waits. */
    f.k->opts.faults.throttle_rate = 1.0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(core_loop_timer_add(f.loop, 5 * S, stop_throttle, f.k));
    t0 = core_loop_now(f.loop);
    CU_ASSERT_EQUAL(k8s_get(f.c[0], &k8s_res_pods, "default", "a", on_done, &r, NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    ASSERT_STR(str_at(r.obj, "metadata", "name"), "a");
    CU_ASSERT(core_loop_now(f.loop) - t0 >= 5 * S);     /* it did wait out the 429s */
    CU_ASSERT(core_loop_now(f.loop) - t0 <= 5 * S + 2 * S + 500 * MS); /* ... by Retry-After */

    f.k->opts.faults.throttle_rate = 1.0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(core_loop_timer_add(f.loop, 3 * S, stop_throttle, f.k));
    p = pod("b", "web");
    res_reset(&r);
    t0 = core_loop_now(f.loop);
    CU_ASSERT_EQUAL(k8s_create(f.c[0], &k8s_res_pods, "default", p, on_done, &r, NULL), 0);
    json_decref(p);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT(core_loop_now(f.loop) - t0 >= 3 * S);
    CU_ASSERT(pod_exists(&f, "b"));

    /* Throttled for good: the retries run out and the code surfaces. */
    f.k->opts.faults.throttle_rate = 1.0;
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_get(f.c[0], &k8s_res_pods, "default", "a", on_done, &r, NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_THROTTLED);
    CU_ASSERT_EQUAL(r.http, 429);
    f.k->opts.faults.throttle_rate = 0;
    res_reset(&r);
    fx_cleanup(&f);
}

TESTS_SUITE(sim_kube_client, "sim_kube_client", NULL, NULL, TESTS_CASE(test_informer_watch),
            TESTS_CASE(test_informer_relist_history), TESTS_CASE(test_informer_gone_rate),
            TESTS_CASE(test_informer_watch_drops), TESTS_CASE(test_leader_election),
            TESTS_CASE(test_events_recorder), TESTS_CASE(test_events_core_v1_view),
            TESTS_CASE(test_patches_nodepool), TESTS_CASE(test_nodeclaim_status),
            TESTS_CASE(test_eviction), TESTS_CASE(test_eviction_pending_pod),
            TESTS_CASE(test_throttle_retry))
