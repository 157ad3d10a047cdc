/*
 * tests/unit/test_k8s_leader.c — Lease leader election timing on a virtual clock (acquire,
 * renew, take-over after a lease goes stale by our own observation, losing the lease when
 * renewals fail for the renew deadline, release on shutdown), and the event recorder (create,
 * deduplicated series updates, the spam limit, cluster-scoped objects).
 */
#include "tests/unit/harness.h"

#include "k8s/k8s.h"

#include <stdio.h>
#include <string.h>

#define S CORE_NS_PER_S

struct lfx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct core_http_script *script;
    struct k8s_client *c;
    struct k8s_leader *l;
    int starts, stops, released;
    core_ns started_at, stopped_at;
};

static void on_start(void *ud)
{
    struct lfx *f = ud;
    f->starts++;
    f->started_at = core_loop_now(f->loop);
}

static void on_stop(void *ud)
{
    struct lfx *f = ud;
    f->stops++;
    f->stopped_at = core_loop_now(f->loop);
}

static void on_released(void *ud)
{
    ((struct lfx *)ud)->released = 1;
}

static void lfx_init(struct lfx *f)
{
    struct k8s_config cfg;
    struct core_err err;
    memset(f, 0, sizeof *f);
    memset(&cfg, 0, sizeof cfg);
    cfg.server = "https://k8s.test";
    f->clock = core_clock_virtual_new(0, INT64_C(1795352400) * S);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(f->clock, NULL, &f->loop, &err), 0);
    CU_ASSERT_EQUAL_FATAL(core_http_script_new(f->loop, &f->script, &err), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_client_new(f->loop, core_http_script_transport(f->script), &cfg,
                                         NULL, NULL, &f->c, &err), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_leader_new(f->c, "kube-system", "stoker", "pod-a", NULL, on_start,
                                         on_stop, f, &f->l, &err), 0);
}

static void lfx_cleanup(struct lfx *f)
{
    k8s_client_free(f->c);
    k8s_leader_free(f->l);
    core_http_script_free(f->script);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

static void step(struct lfx *f, const char *method, long status, const char *body)
{
    struct core_http_script_step st;
    memset(&st, 0, sizeof st);
    st.method = method;
    st.url = "https://k8s.test/apis/coordination.k8s.io/v1/namespaces/kube-system/leases*";
    st.status = status;
    st.body = body;
    CU_ASSERT_EQUAL_FATAL(core_http_script_expect(f->script, &st), 0);
}

static void lease(char *out, size_t outsz, const char *holder, const char *rv, int transitions)
{
    snprintf(out, outsz, "{\"metadata\":{\"name\":\"stoker\",\"resourceVersion\":\"%s\"},"
                         "\"spec\":{\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":15,"
                         "\"renewTime\":\"2026-11-22T13:00:00.000000Z\",\"leaseTransitions\":%d}}",
             rv, holder, transitions);
}

/* Runs until monotonic time t. */
static void run_to(struct lfx *f, core_ns t)
{
    int never = 0;
    struct core_err err;
    int rc = core_loop_run_until(f->loop, &never, t, &err);
    CU_ASSERT(rc == 0 || rc == CORE_E_TIMEOUT);
}

static void test_acquire_renew_release(void)
{
    struct lfx f;
    struct core_err err;
    char b[512];
    const struct core_http_script_request *rq;

    lfx_init(&f);
    step(&f, "GET", 404, "{\"kind\":\"Status\",\"code\":404,\"reason\":\"NotFound\"}");
    step(&f, "POST", 201, "{}");
    lease(b, sizeof b, "pod-a", "2", 0);
    step(&f, "GET", 200, b);
    step(&f, "PUT", 200, "{}");
    CU_ASSERT_EQUAL(k8s_leader_start(f.l, &err), 0);
    run_to(&f, 3 * S);
    CU_ASSERT_EQUAL(f.starts, 1);
    CU_ASSERT_EQUAL(f.started_at, 0);
    CU_ASSERT(k8s_leader_is_leader(f.l));
    rq = core_http_script_request(f.script, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(rq->body, "\"holderIdentity\":\"pod-a\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(rq->body, "\"leaseDurationSeconds\":15"));
    CU_ASSERT_PTR_NOT_NULL(strstr(rq->body, "\"renewTime\":\"2026-11-22T13:00:00.000000Z\""));
    /* The renewal at 2 s is a PUT carrying the read resourceVersion. */
    rq = core_http_script_request(f.script, 3);
    CU_ASSERT_STRING_EQUAL(rq->method, "PUT");
    CU_ASSERT_PTR_NOT_NULL(strstr(rq->body, "\"resourceVersion\":\"2\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(rq->body, "\"renewTime\":\"2026-11-22T13:00:02.000000Z\""));
    /* Release clears the holder so a successor need not wait for expiry. */
    lease(b, sizeof b, "pod-a", "3", 0);
    step(&f, "GET", 200, b);
    step(&f, "PUT", 200, "{}");
    k8s_leader_release(f.l, on_released, &f);
    CU_ASSERT_EQUAL(f.stops, 1);
    run_to(&f, 10 * S);
    CU_ASSERT(f.released);
    rq = core_http_script_request(f.script, core_http_script_nrequests(f.script) - 1);
    CU_ASSERT_STRING_EQUAL(rq->method, "PUT");
    CU_ASSERT_PTR_NOT_NULL(strstr(rq->body, "\"holderIdentity\":\"\""));
    CU_ASSERT_EQUAL(core_http_script_unexpected(f.script), 0);
    lfx_cleanup(&f);
}

static void test_takeover_after_stale_lease(void)
{
    struct lfx f;
    struct core_err err;
    char b[512];
    const struct core_http_script_request *rq;

    lfx_init(&f);
    /* Another holder whose record never changes: ours after 15 s of our own observation. */
    lease(b, sizeof b, "pod-b", "7", 4);
    for (int i = 0; i < 9; i++) /* reads at 0, 2, ..., 16 s */
        step(&f, "GET", 200, b);
    step(&f, "PUT", 200, "{}");
    CU_ASSERT_EQUAL(k8s_leader_start(f.l, &err), 0);
    run_to(&f, 14 * S);
    CU_ASSERT_EQUAL(f.starts, 0); /* still fresh at 14 s */
    run_to(&f, 17 * S);
    CU_ASSERT_EQUAL(f.starts, 1);
    CU_ASSERT_EQUAL(f.started_at, 16 * S); /* the first read at or past 15 s */
    rq = core_http_script_request(f.script, 9);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rq);
    CU_ASSERT_STRING_EQUAL(rq->method, "PUT");
    CU_ASSERT_PTR_NOT_NULL_FATAL(rq->body);
    CU_ASSERT_PTR_NOT_NULL(strstr(rq->body, "\"holderIdentity\":\"pod-a\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(rq->body, "\"leaseTransitions\":5"));
    k8s_leader_release(f.l, NULL, NULL);
    lfx_cleanup(&f);
}

static void test_renewing_holder_keeps_lease(void)
{
    struct lfx f;
    struct core_err err;
    char b[512];
    lfx_init(&f);
    /* The other holder renews (a new resourceVersion every time): never taken over. */
    for (int i = 0; i < 15; i++) {
        char rv[16];
        snprintf(rv, sizeof rv, "%d", 10 + i);
        lease(b, sizeof b, "pod-b", rv, 0);
        step(&f, "GET", 200, b);
    }
    CU_ASSERT_EQUAL(k8s_leader_start(f.l, &err), 0);
    run_to(&f, 29 * S);
    CU_ASSERT_EQUAL(f.starts, 0);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 15);
    k8s_leader_release(f.l, NULL, NULL);
    lfx_cleanup(&f);
}

static void test_lost_when_renewals_fail(void)
{
    struct lfx f;
    struct core_err err;
    static const char denied[] = "{\"kind\":\"Status\",\"code\":403,\"reason\":\"Forbidden\"}";
    lfx_init(&f);
    step(&f, "GET", 404, "{\"code\":404}");
    step(&f, "POST", 201, "{}");
    for (int i = 0; i < 10; i++)
        step(&f, "GET", 403, denied);
    CU_ASSERT_EQUAL(k8s_leader_start(f.l, &err), 0);
    run_to(&f, 20 * S);
    CU_ASSERT_EQUAL(f.starts, 1);
    CU_ASSERT_EQUAL(f.stops, 1);
    /* Last success at 0 s, renew deadline 10 s: stopped at the first failure at or past it, and
     * well before another replica could take a 15 s lease. */
    CU_ASSERT_EQUAL(f.stopped_at, 10 * S);
    CU_ASSERT_FALSE(k8s_leader_is_leader(f.l));
    k8s_leader_release(f.l, NULL, NULL);
    lfx_cleanup(&f);
}

static void test_leader_options_checked(void)
{
    struct lfx f;
    struct k8s_leader *l2 = NULL;
    struct k8s_leader_opts bad = {10 * S, 10 * S, 2 * S};
    struct core_err err;
    lfx_init(&f);
    CU_ASSERT_EQUAL(k8s_leader_new(f.c, "ns", "n", "id", &bad, on_start, on_stop, &f, &l2, &err),
                    CORE_E_INVAL);
    CU_ASSERT_PTR_NULL(l2);
    CU_ASSERT_EQUAL(k8s_leader_new(f.c, "ns", "n", "", NULL, on_start, on_stop, &f, &l2, &err),
                    CORE_E_INVAL);
    lfx_cleanup(&f);
}


static void step_delayed(struct lfx *f, const char *method, long status, const char *body,
                         core_ns delay)
{
    struct core_http_script_step st;
    memset(&st, 0, sizeof st);
    st.method = method;
    st.url = "https://k8s.test/apis/coordination.k8s.io/v1/namespaces/kube-system/leases*";
    st.status = status;
    st.body = body;
    st.delay = delay;
    CU_ASSERT_EQUAL_FATAL(core_http_script_expect(f->script, &st), 0);
}

/* A renewal that hangs must not stretch the term: it ends at the last successful renewal's
 * send time + renew deadline, while the request is still in flight. */
static void test_hung_renewal_ends_term(void)
{
    struct lfx f;
    struct core_err err;
    char b[512];
    lfx_init(&f);
    step(&f, "GET", 404, "{\"code\":404}");
    step(&f, "POST", 201, "{}");
    lease(b, sizeof b, "pod-a", "2", 0);
    step_delayed(&f, "GET", 200, b, 29 * S);
    step(&f, "PUT", 200, "{}");
    CU_ASSERT_EQUAL(k8s_leader_start(f.l, &err), 0);
    run_to(&f, 20 * S);
    CU_ASSERT_EQUAL(f.starts, 1);
    CU_ASSERT_EQUAL(f.stops, 1);
    CU_ASSERT_EQUAL(f.stopped_at, 10 * S);
    /* The late answer (sent at 2 s, back at 31 s) leads to a renewal whose own send time is
     * fresh: a new term may begin then, never the old one continued. */
    run_to(&f, 40 * S);
    CU_ASSERT_EQUAL(f.starts, 2);
    CU_ASSERT_EQUAL(f.started_at, 31 * S);
    k8s_client_free(f.c);
    f.c = NULL;
    lfx_cleanup(&f);
}

static void free_in_done(void *ud)
{
    struct lfx *f = ud;
    f->released = 1;
    k8s_leader_free(f->l);
    f->l = NULL;
}

/* Release while a renewal is in flight: done waits for it and for the clearing write, comes
 * from the loop, and may free the elector. */
static void test_release_while_busy(void)
{
    struct lfx f;
    struct core_err err;
    char b[512];
    const struct core_http_script_request *rq;
    lfx_init(&f);
    step(&f, "GET", 404, "{\"code\":404}");
    step(&f, "POST", 201, "{}");
    lease(b, sizeof b, "pod-a", "2", 0);
    step_delayed(&f, "GET", 200, b, 1 * S); /* the read at 2 s answers at 3 s */
    lease(b, sizeof b, "pod-a", "2", 0);
    step(&f, "GET", 200, b);                /* the release's read */
    step(&f, "PUT", 200, "{}");             /* the release's clearing write */
    CU_ASSERT_EQUAL(k8s_leader_start(f.l, &err), 0);
    run_to(&f, 2500 * CORE_NS_PER_MS);
    CU_ASSERT_EQUAL(f.starts, 1);
    k8s_leader_release(f.l, free_in_done, &f);
    CU_ASSERT_EQUAL(f.released, 0); /* never from inside the call */
    CU_ASSERT_EQUAL(f.stops, 1);
    run_to(&f, 10 * S);
    CU_ASSERT_EQUAL(f.released, 1);
    CU_ASSERT_PTR_NULL(f.l);
    rq = core_http_script_request(f.script, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rq);
    CU_ASSERT_STRING_EQUAL(rq->method, "PUT");
    CU_ASSERT_PTR_NOT_NULL(strstr(rq->body, "\"holderIdentity\":\"\""));
    lfx_cleanup(&f);
}

/* Freeing the client under a running elector halts it; freeing the elector afterwards is safe. */
static void test_client_freed_first(void)
{
    struct lfx f;
    struct core_err err;
    lfx_init(&f);
    step(&f, "GET", 404, "{\"code\":404}");
    step(&f, "POST", 201, "{}");
    step_delayed(&f, "GET", 200, "{}", 60 * S);
    CU_ASSERT_EQUAL(k8s_leader_start(f.l, &err), 0);
    run_to(&f, 3 * S);
    CU_ASSERT_EQUAL(f.starts, 1);
    k8s_client_free(f.c); /* the read in flight completes as cancelled */
    f.c = NULL;
    CU_ASSERT_EQUAL(f.stops, 1);
    CU_ASSERT_FALSE(k8s_leader_is_leader(f.l));
    run_to(&f, 100 * S); /* no timer may touch the freed client */
    lfx_cleanup(&f);
}

/* ---- events --------------------------------------------------------------------------------- */

static void ev_step(struct lfx *f, const char *method, long status)
{
    struct core_http_script_step st;
    memset(&st, 0, sizeof st);
    st.method = method;
    st.url = "https://k8s.test/apis/events.k8s.io/v1/namespaces/*";
    st.status = status;
    st.body = "{}";
    CU_ASSERT_EQUAL_FATAL(core_http_script_expect(f->script, &st), 0);
}

static void test_events_dedup_and_spam(void)
{
    struct lfx f;
    struct k8s_recorder *r = NULL;
    struct k8s_recorder_stats st;
    struct core_err err;
    struct k8s_object_ref pod = {"v1", "Pod", "shop", "web-1", "uid-1"};
    struct k8s_object_ref claim = {"stoker.dev/v1alpha1", "NodeClaim", NULL, "default-abc", "u2"};
    const struct core_http_script_request *rq;
    int never = 0;

    lfx_init(&f);
    CU_ASSERT_EQUAL_FATAL(k8s_recorder_new(f.c, "provisioner", "pod-a", &r, &err), 0);
    ev_step(&f, "POST", 201);
    ev_step(&f, "PATCH", 200);
    ev_step(&f, "POST", 201);
    k8s_event(r, &pod, "Normal", "Nominated", "pod nominated to NodeClaim default-abc");
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &never, 1 * S, &err), CORE_E_TIMEOUT);
    k8s_event(r, &pod, "Normal", "Nominated", "pod nominated to NodeClaim default-abc");
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &never, 2 * S, &err), CORE_E_TIMEOUT);
    k8s_event(r, &claim, "Warning", "LaunchFailed", "InsufficientInstanceCapacity");
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &never, 3 * S, &err), CORE_E_TIMEOUT);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 3);
    rq = core_http_script_request(f.script, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(rq->url, "/namespaces/shop/events"));
    CU_ASSERT_PTR_NOT_NULL(strstr(rq->body, "\"reportingController\":\"stoker.dev/provisioner\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(rq->body, "\"note\":\"pod nominated to NodeClaim default-abc\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(rq->body, "\"uid\":\"uid-1\""));
    rq = core_http_script_request(f.script, 1);
    CU_ASSERT_STRING_EQUAL(rq->method, "PATCH");
    CU_ASSERT_PTR_NOT_NULL(strstr(rq->body, "\"count\":2"));
    rq = core_http_script_request(f.script, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(rq->url, "/namespaces/default/events")); /* cluster-scoped */
    /* A hot loop: 40 distinct messages with one reason on one object → 25 writes (the
     * (object, reason) bucket's burst), the rest dropped. */
    for (int i = 0; i < 30; i++)
        ev_step(&f, "POST", 201);
    for (int i = 0; i < 40; i++) {
        char msg[64];
        snprintf(msg, sizeof msg, "attempt %d failed", i);
        k8s_event(r, &pod, "Warning", "FailedScheduling", msg);
    }
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &never, 10 * S, &err), CORE_E_TIMEOUT);
    k8s_recorder_get_stats(r, &st);
    CU_ASSERT_EQUAL(st.created, 2 + 25);
    CU_ASSERT_EQUAL(st.updated, 1);
    CU_ASSERT_EQUAL(st.dropped, 15);
    CU_ASSERT_EQUAL(st.failed, 0);
    k8s_client_free(f.c);
    f.c = NULL;
    k8s_recorder_free(r);
    k8s_leader_free(f.l);
    f.l = NULL;
    lfx_cleanup(&f);
}


static void test_events_recreated_after_failure(void)
{
    struct lfx f;
    struct k8s_recorder *r = NULL;
    struct k8s_recorder_stats st;
    struct core_err err;
    struct k8s_object_ref pod = {"v1", "Pod", "shop", "web-1", "uid-1"};
    char msg[1100];
    int never = 0;

    lfx_init(&f);
    CU_ASSERT_EQUAL_FATAL(k8s_recorder_new(f.c, "provisioner", "pod-a", &r, &err), 0);
    ev_step(&f, "POST", 500);
    ev_step(&f, "POST", 201);
    ev_step(&f, "POST", 201);
    /* The create fails: the next occurrence creates it again rather than patching nothing. */
    k8s_event(r, &pod, "Warning", "Failed", "boom");
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &never, 1 * S, &err), CORE_E_TIMEOUT);
    k8s_event(r, &pod, "Warning", "Failed", "boom");
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &never, 2 * S, &err), CORE_E_TIMEOUT);
    CU_ASSERT_STRING_EQUAL(core_http_script_request(f.script, 1)->method, "POST");
    CU_ASSERT_PTR_NOT_NULL(strstr(core_http_script_request(f.script, 1)->body, "\"boom\""));
    /* A message cut at 1 KiB inside a two-byte character still makes a valid event. */
    memset(msg, 'a', 1023);
    memcpy(msg + 1023, "\xc3\xa9", 3);
    k8s_event(r, &pod, "Warning", "Long", msg);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &never, 3 * S, &err), CORE_E_TIMEOUT);
    k8s_recorder_get_stats(r, &st);
    CU_ASSERT_EQUAL(st.created, 2);
    CU_ASSERT_EQUAL(st.failed, 1);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 3);
    CU_ASSERT_PTR_NULL(strstr(core_http_script_request(f.script, 2)->body, "\xc3"));
    k8s_client_free(f.c);
    f.c = NULL;
    k8s_recorder_free(r);
    lfx_cleanup(&f);
}

TESTS_SUITE(k8s_leader, "k8s_leader", NULL, NULL, TESTS_CASE(test_acquire_renew_release),
            TESTS_CASE(test_takeover_after_stale_lease),
            TESTS_CASE(test_renewing_holder_keeps_lease), TESTS_CASE(test_lost_when_renewals_fail),
            TESTS_CASE(test_leader_options_checked), TESTS_CASE(test_hung_renewal_ends_term),
            TESTS_CASE(test_release_while_busy), TESTS_CASE(test_client_freed_first), TESTS_CASE(test_events_dedup_and_spam),
            TESTS_CASE(test_events_recreated_after_failure))
