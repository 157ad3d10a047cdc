/*
 * tests/unit/test_sim_scenario.c — suite "sim_scenario": the built-in scenarios
 * (sim/scenario.c), the tracker (sim/tracker.c) and the report (sim/report.c) on a simulated
 * world with a virtual clock and no controller: pods stay pending unless the test adds a Ready
 * node itself, so every count and wait asserted here is known in advance.
 */
#include "sim/sim.h"
#include "tests/unit/harness.h"

#include <expat.h>
#include <stdio.h>
#include <string.h>

#define S(x) ((core_ns)(x) * CORE_NS_PER_S)
#define MINUTES(x) ((core_ns)(x) * 60 * CORE_NS_PER_S)

static void on_mark(void *ud)
{
    *(int *)ud = 1;
}

/* Runs the world's loop until `d` from now has passed. */
static void run_for(struct sim_world *w, core_ns d)
{
    int done = 0;
    struct core_timer *t = core_loop_timer_add(w->loop, d, on_mark, &done);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    for (long turns = 0; !done && turns < 10000000; turns++)
        if (core_loop_run_once(w->loop, -1, NULL) < 0)
            break;
    CU_ASSERT_FATAL(done);
}

static struct sim_world *world_for(const struct sim_scenario *sc, int no_scheduler)
{
    struct sim_world_opts o;
    struct sim_world *w = NULL;
    struct core_err err = {0};

    CU_ASSERT_EQUAL_FATAL(sim_scenario_world_opts(sc, 7, &o, &err), 0);
    o.no_scheduler = no_scheduler;
    if (sim_world_new(&o, &w, &err) != 0)
        fprintf(stderr, "\n  sim_world_new: %s\n", err.message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    return w;
}

static int exists(struct sim_world *w, const char *res, const char *ns, const char *name)
{
    return sim_kube_get(w->kube, res, ns, name, NULL, NULL) == 0;
}

static void test_catalog(void)
{
    static const char *const names[] = {"steady", "flash-sale", "pvc-zones", "gpu-mix", "chaos"};
    struct sim_world_opts o;
    const struct sim_scenario *sc;

    /* The first five, in this order; scenarios added later come after them. */
    CU_ASSERT(sim_scenario_count() >= 5);
    for (size_t i = 0; i < 5; i++) {
        sc = sim_scenario_find(names[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
        CU_ASSERT_PTR_EQUAL(sim_scenario_at(i), sc);
        CU_ASSERT(sc->duration >= MINUTES(20));
        CU_ASSERT(sc->nworkloads > 0);
        CU_ASSERT(sc->description && sc->description[0]);
    }
    CU_ASSERT_PTR_NULL(sim_scenario_find("nope"));
    CU_ASSERT_PTR_NULL(sim_scenario_find(NULL));
    CU_ASSERT_PTR_NULL(sim_scenario_at(sim_scenario_count()));

    /* No fault, throttling off, unless the scenario says so. */
    CU_ASSERT_EQUAL(sim_scenario_world_opts(sim_scenario_find("steady"), 3, &o, NULL), 0);
    CU_ASSERT_EQUAL(o.seed, 3);
    CU_ASSERT_EQUAL(o.faults.throttle, 0);
    CU_ASSERT_EQUAL(o.faults.nice, 0);
    CU_ASSERT_EQUAL(o.faults.error_rate, 0);

    sc = sim_scenario_find("chaos");
    CU_ASSERT_EQUAL(sim_scenario_world_opts(sc, 3, &o, NULL), 0);
    CU_ASSERT_EQUAL(o.faults.throttle, 1);
    CU_ASSERT(o.faults.nice >= 1);
    CU_ASSERT_STRING_EQUAL(o.faults.ice[0].zone, "us-east-1a");
    CU_ASSERT(o.faults.error_rate > 0.019 && o.faults.error_rate < 0.021);
    CU_ASSERT(o.kube_faults.watch_drop_rate > 0);
    CU_ASSERT(o.kube_faults.error_rate > 0);
    CU_ASSERT_EQUAL(sc->restart_controller_at, MINUTES(4));
}

/* Every scenario applies to a fresh world and its workloads create pods as time runs; the
 * tracker counts them pending. */
static void test_setup_every_scenario(void)
{
    static const struct {
        const char *name;
        core_ns run;
        unsigned pods;
    } want[] = {
        {"steady", MINUTES(3), 20},
        {"flash-sale", MINUTES(3), 30},
        {"pvc-zones", MINUTES(3), 18},
        {"gpu-mix", MINUTES(3), 48},
        {"chaos", MINUTES(3), 300},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct sim_scenario *sc = sim_scenario_find(want[i].name);
        struct sim_world *w;
        struct sim_tracker *t = NULL;
        struct core_err err = {0};
        struct sim_sample s;
        CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
        w = world_for(sc, 0);
        CU_ASSERT_EQUAL_FATAL(sim_tracker_new(w, S(10), &t, &err), 0);
        if (sim_scenario_setup(sc, w, &err) != 0) {
            fprintf(stderr, "\n  %s: %s\n", sc->name, err.message);
            CU_FAIL("scenario setup");
        }
        CU_ASSERT(exists(w, "ec2nodeclasses.stoker.dev", NULL, "default"));
        CU_ASSERT(exists(w, "nodepools.stoker.dev", NULL, "default"));
        run_for(w, want[i].run);
        sim_tracker_now(t, &s);
        if (s.pods_pending != want[i].pods)
            fprintf(stderr, "\n  %s: %u pods pending, want %u\n", sc->name, s.pods_pending,
                    want[i].pods);
        CU_ASSERT_EQUAL(s.pods_pending, want[i].pods);
        CU_ASSERT_EQUAL(s.pods_bound, 0);
        CU_ASSERT_EQUAL(s.nodes_ready, 0);
        CU_ASSERT_EQUAL(s.launches_cold + s.launches_warm, 0);
        CU_ASSERT_EQUAL(s.t, want[i].run);
        sim_tracker_free(t);
        sim_world_free(w);
    }
}

static void test_scenario_objects(void)
{
    struct sim_world *w = world_for(sim_scenario_find("pvc-zones"), 0);
    struct core_err err = {0};
    json_t *pv = NULL;

    CU_ASSERT_EQUAL_FATAL(sim_scenario_setup(sim_scenario_find("pvc-zones"), w, &err), 0);
    CU_ASSERT(exists(w, "storageclasses.storage.k8s.io", NULL, "gp3"));
    for (int i = 0; i < 6; i++) {
        char pvc[32], pvn[32];
        snprintf(pvc, sizeof pvc, "data-pinned-%d", i);
        snprintf(pvn, sizeof pvn, "pv-pinned-%d", i);
        CU_ASSERT(exists(w, "persistentvolumeclaims", "default", pvc));
        CU_ASSERT(exists(w, "persistentvolumes", NULL, pvn));
    }
    CU_ASSERT_EQUAL(sim_kube_get(w->kube, "persistentvolumes", NULL, "pv-pinned-3", &pv, NULL),
                    0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
                               json_object_get(json_object_get(pv, "spec"), "claimRef"), "name")),
                           "data-pinned-3");
    json_decref(pv);
    /* Setting up twice: the objects exist already. */
    CU_ASSERT_NOT_EQUAL(sim_scenario_setup(sim_scenario_find("pvc-zones"), w, &err), 0);
    sim_world_free(w);

    w = world_for(sim_scenario_find("gpu-mix"), 0);
    CU_ASSERT_EQUAL_FATAL(sim_scenario_setup(sim_scenario_find("gpu-mix"), w, &err), 0);
    CU_ASSERT(exists(w, "nodepools.stoker.dev", NULL, "gpu"));
    sim_world_free(w);
}

/* flash-sale's warm pool, three ways: the policy pool (default) with its schedule placed 5
 * virtual minutes after setup; none; advise, sized for the burst; and the modes' errors. */
static void test_flash_sale_warm_pool(void)
{
    const struct sim_scenario *sc = sim_scenario_find("flash-sale");
    struct sim_scenario_warm res;
    struct core_err err = {0};
    struct sim_world *w;
    json_t *wp = NULL;
    enum sim_warm_mode m;

    CU_ASSERT_PTR_NOT_NULL_FATAL(sc->warm_pool_yaml);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc->burst);
    CU_ASSERT_EQUAL(sc->burst->pods, 1500);
    CU_ASSERT_EQUAL(sim_warm_mode_parse("advise", &m), 0);
    CU_ASSERT_EQUAL(m, SIM_WARM_ADVISE);
    CU_ASSERT_NOT_EQUAL(sim_warm_mode_parse("bogus", &m), 0);
    CU_ASSERT_STRING_EQUAL(sim_warm_mode_name(SIM_WARM_POLICY), "policy");

    /* Default: the policy pool; its schedule starts at the world's wall clock + 5 min. */
    w = world_for(sc, 1);
    char want[40];
    core_time_rfc3339(core_clock_wall(w->clock) + MINUTES(5), want, sizeof want);
    CU_ASSERT_EQUAL_FATAL(sim_scenario_setup(sc, w, &err), 0);
    CU_ASSERT_EQUAL_FATAL(sim_kube_get(w->kube, "warmpools.stoker.dev", NULL, "checkout", &wp,
                                       NULL), 0);
    json_t *sched = json_array_get(json_object_get(json_object_get(wp, "spec"), "schedules"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(sched, "start")), want);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(sched, "duration")), "40m");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(sched, "size"), "min")),
                    40);
    json_decref(wp);
    sim_world_free(w);

    /* none: no WarmPool. */
    w = world_for(sc, 1);
    CU_ASSERT_EQUAL_FATAL(sim_scenario_setup_warm(sc, w, SIM_WARM_NONE, &res, &err), 0);
    CU_ASSERT_EQUAL(res.mode, SIM_WARM_NONE);
    CU_ASSERT_FALSE(exists(w, "warmpools.stoker.dev", NULL, "checkout"));
    sim_world_free(w);

    /* advise: the best row's type, min = max = its warm count; enough nodes for the burst. */
    w = world_for(sc, 1);
    if (sim_scenario_setup_warm(sc, w, SIM_WARM_ADVISE, &res, &err) != 0)
        fprintf(stderr, "\n  advise: %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(res.mode, SIM_WARM_ADVISE);
    CU_ASSERT_FATAL(res.has_advice);
    CU_ASSERT(res.advice.instance_type[0] != '\0');
    CU_ASSERT(res.advice.ncandidates > 0);
    CU_ASSERT(res.advice.pods_per_node > 0);
    CU_ASSERT(res.advice.nodes * res.advice.pods_per_node >= 1500);
    /* 20 s: the cold path (14 + 20 + 2 + 1 = 37 s) cannot make it, the warm one (15 s) can. */
    CU_ASSERT(res.advice.cold_ready_s > 36.9 && res.advice.cold_ready_s < 37.1);
    CU_ASSERT(res.advice.warm_ready_s > 14.9 && res.advice.warm_ready_s < 15.1);
    CU_ASSERT(res.advice.meets_deadline);
    CU_ASSERT_EQUAL(res.advice.warm, res.advice.nodes);
    CU_ASSERT_FALSE(exists(w, "warmpools.stoker.dev", NULL, "checkout"));
    CU_ASSERT_EQUAL_FATAL(sim_kube_get(w->kube, "warmpools.stoker.dev", NULL,
                                       "flash-sale-advised", &wp, NULL), 0);
    json_t *spec = json_object_get(wp, "spec");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(
                               json_object_get(spec, "instanceTypes"), 0)),
                           res.advice.instance_type);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(spec, "size"), "min")),
                    res.advice.warm);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(spec, "size"), "max")),
                    res.advice.warm);
    CU_ASSERT_PTR_NULL(json_object_get(spec, "schedules"));
    json_decref(wp);
    sim_world_free(w);

    /* A scenario without a pool or a burst: policy and advise are errors naming the scenario;
     * the default is none. */
    sc = sim_scenario_find("steady");
    w = world_for(sc, 1);
    CU_ASSERT_EQUAL(sim_scenario_setup_warm(sc, w, SIM_WARM_POLICY, NULL, &err), CORE_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "steady"));
    CU_ASSERT_EQUAL(sim_scenario_setup_warm(sc, w, SIM_WARM_ADVISE, NULL, &err), CORE_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "burst"));
    CU_ASSERT_EQUAL(sim_scenario_setup_warm(sc, w, SIM_WARM_DEFAULT, &res, &err), 0);
    CU_ASSERT_EQUAL(res.mode, SIM_WARM_NONE);
    sim_world_free(w);
}

/* The burst of flash-sale: 1,500 pods within the minute after 10:00. */
static void test_flash_sale_burst(void)
{
    const struct sim_scenario *sc = sim_scenario_find("flash-sale");
    struct sim_world *w = world_for(sc, 1);
    struct sim_tracker *t = NULL;
    struct sim_sample s;

    CU_ASSERT_EQUAL_FATAL(sim_tracker_new(w, S(30), &t, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(sim_scenario_setup(sc, w, NULL), 0);
    run_for(w, MINUTES(10) + S(10));
    sim_tracker_now(t, &s);
    CU_ASSERT_EQUAL(s.pods_pending, 630);
    run_for(w, S(40));
    sim_tracker_now(t, &s);
    CU_ASSERT_EQUAL(s.pods_pending, 1530);
    sim_tracker_free(t);
    sim_world_free(w);
}

static void mk(struct sim_world *w, const char *res, const char *text)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    struct core_err err = {0};
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    if (sim_kube_create(w->kube, res, strcmp(res, "nodes") ? "default" : NULL, o, NULL, &err))
        fprintf(stderr, "\n  create %s: %s\n", res, err.message);
    json_decref(o);
}

static void mk_pod(struct sim_world *w, const char *name, const char *cpu)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"containers\":[{\"name\":\"c\","
             "\"image\":\"x\",\"resources\":{\"requests\":{\"cpu\":\"%s\",\"memory\":\"256Mi\"}}}"
             "]}}",
             name, cpu);
    mk(w, "pods", buf);
}

/* A world where 5 small pods wait 30 s for a node, then bind, and one big pod never fits. */
static struct sim_world *synthetic(struct sim_tracker **t)
{
    struct sim_world *w = world_for(sim_scenario_find("steady"), 0);
    char name[32];

    CU_ASSERT_EQUAL_FATAL(sim_tracker_new(w, S(5), t, NULL), 0);
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "small-%d", i);
        mk_pod(w, name, "100m");
    }
    mk_pod(w, "huge", "64");
    run_for(w, S(30));
    mk(w, "nodes",
       "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"kubernetes.io/hostname\":\"n1\","
       "\"topology.kubernetes.io/zone\":\"us-east-1a\"}},"
       "\"spec\":{\"providerID\":\"aws:///us-east-1a/i-0000000000000001\"},"
       "\"status\":{\"allocatable\":{\"cpu\":\"4\",\"memory\":\"16Gi\",\"pods\":\"110\"},"
       "\"capacity\":{\"cpu\":\"4\",\"memory\":\"16Gi\",\"pods\":\"110\"},"
       "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}");
    run_for(w, S(30));
    return w;
}

static void test_tracker_waits(void)
{
    struct sim_tracker *t = NULL;
    struct sim_world *w = synthetic(&t);
    struct sim_summary s;
    struct sim_sample now;

    sim_tracker_now(t, &now);
    CU_ASSERT_EQUAL(now.pods_bound, 5);
    CU_ASSERT_EQUAL(now.pods_pending, 1);
    CU_ASSERT_EQUAL(now.nodes_ready, 1);
    sim_tracker_summary(t, &s);
    CU_ASSERT_EQUAL(s.pods_created, 6);
    CU_ASSERT_EQUAL(s.pods_bound, 5);
    CU_ASSERT_EQUAL(s.pods_pending_end, 1);
    /* Bound on the scheduler's batch 100 ms after the node appeared. */
    CU_ASSERT(s.wait_p50_s >= 30.0 && s.wait_p50_s <= 31.0);
    CU_ASSERT(s.wait_p99_s >= 30.0 && s.wait_p99_s <= 31.0);
    CU_ASSERT(s.ready_p50_s >= 29.9 && s.ready_p50_s <= 30.5);
    CU_ASSERT_EQUAL(s.launches_cold, 0);
    CU_ASSERT_EQUAL(s.cost_usd, 0);

    /* A pod deleted while pending leaves the pending count; it stays created. */
    CU_ASSERT_EQUAL(sim_kube_delete(w->kube, "pods", "default", "huge", NULL), 0);
    run_for(w, S(1));
    sim_tracker_now(t, &now);
    CU_ASSERT_EQUAL(now.pods_pending, 0);
    sim_tracker_summary(t, &s);
    CU_ASSERT_EQUAL(s.pods_created, 6);
    CU_ASSERT_EQUAL(s.pods_pending_end, 0);
    sim_tracker_free(t);
    sim_world_free(w);
}

/* Pods created from the burst's time on have their own percentiles; earlier ones only count
 * in the overall figures. */
static void test_tracker_burst(void)
{
    struct sim_world *w = world_for(sim_scenario_find("steady"), 0);
    struct sim_tracker *t = NULL;
    struct sim_summary s;

    CU_ASSERT_EQUAL_FATAL(sim_tracker_new(w, S(5), &t, NULL), 0);
    sim_tracker_set_burst(t, S(20));
    mk_pod(w, "early", "100m");
    run_for(w, S(20));
    mk_pod(w, "burst", "100m");
    run_for(w, S(10));
    mk(w, "nodes",
       "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"kubernetes.io/hostname\":\"n1\","
       "\"topology.kubernetes.io/zone\":\"us-east-1a\"}},"
       "\"spec\":{\"providerID\":\"aws:///us-east-1a/i-0000000000000001\"},"
       "\"status\":{\"allocatable\":{\"cpu\":\"4\",\"memory\":\"16Gi\",\"pods\":\"110\"},"
       "\"capacity\":{\"cpu\":\"4\",\"memory\":\"16Gi\",\"pods\":\"110\"},"
       "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}");
    run_for(w, S(5));
    sim_tracker_summary(t, &s);
    CU_ASSERT_EQUAL(s.pods_bound, 2);
    CU_ASSERT_EQUAL(s.burst_pods, 1);
    CU_ASSERT_EQUAL(s.burst_bound, 1);
    CU_ASSERT(s.wait_p99_s >= 30.0 && s.wait_p99_s <= 31.0);
    CU_ASSERT(s.burst_wait_p50_s >= 10.0 && s.burst_wait_p50_s <= 11.0);
    CU_ASSERT(s.burst_wait_p99_s >= 10.0 && s.burst_wait_p99_s <= 11.0);
    sim_tracker_free(t);
    sim_world_free(w);
}

/* The value of a row of the text report (after the label and the padding), or NULL. */
static const char *text_value(const char *txt, const char *label)
{
    const char *r = strstr(txt, label);

    if (!r)
        return NULL;
    r += strlen(label);
    while (*r == ' ')
        r++;
    return r;
}

struct xml_count {
    int svg, svg_ns, html_ns, polyline, rect, table, script, src, depth_max, depth;
};

static void xml_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct xml_count *c = ud;
    for (size_t i = 0; attrs[i]; i += 2) {
        int xmlns = strcmp(attrs[i], "xmlns") == 0;
        c->src += strcmp(attrs[i], "src") == 0 || strcmp(attrs[i], "href") == 0 ||
                  strcmp(attrs[i], "xlink:href") == 0;
        c->svg_ns += xmlns && strcmp(name, "svg") == 0 &&
                     strcmp(attrs[i + 1], "http://www.w3.org/2000/svg") == 0;
        c->html_ns += xmlns && strcmp(name, "html") == 0 &&
                      strcmp(attrs[i + 1], "http://www.w3.org/1999/xhtml") == 0;
    }
    c->svg += strcmp(name, "svg") == 0;
    c->polyline += strcmp(name, "polyline") == 0;
    c->rect += strcmp(name, "rect") == 0;
    c->table += strcmp(name, "table") == 0;
    c->script += strcmp(name, "script") == 0;
    if (++c->depth > c->depth_max)
        c->depth_max = c->depth;
}

static void xml_end(void *ud, const XML_Char *name)
{
    struct xml_count *c = ud;
    (void)name;
    c->depth--;
}

static void test_report(void)
{
    struct sim_tracker *t = NULL;
    struct sim_world *w = synthetic(&t);
    struct sim_report_info info = {0};
    struct core_buf b;
    struct xml_count c = {0};
    XML_Parser p;

    info.scenario = "<flash&\"sale'>";
    info.seed = 42;
    info.ec2_calls = 17;
    info.wall_seconds = 1.5;
    /* Control characters (ESC, SOH), a lone continuation byte, a cut sequence, an overlong
     * '/', a surrogate and 0xff, none of which XML can carry; é and the tab can. */
    info.notes = "a & b\x1b[31m\x01 \x80 \xc3( \xc0\xaf \xed\xa0\x80 \xff caf\xc3\xa9\tend";

    core_buf_init(&b, 1u << 20);
    CU_ASSERT_EQUAL_FATAL(core_buf_append_str(&b, "head\n"), 0);
    CU_ASSERT_EQUAL(sim_report_text(t, &info, &b), 0);
    const char *txt = core_buf_cstr(&b);
    CU_ASSERT(strncmp(txt, "head\n", 5) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "pods created"));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "pod wait p50 / p90 / p99"));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "pods pending at end"));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "launches cold / warm"));
    /* No node became Ready: no calls-per-node figure, not a division by zero. */
    CU_ASSERT(text_value(txt, "EC2 calls per Ready node") &&
              strncmp(text_value(txt, "EC2 calls per Ready node"), "-\n", 2) == 0);
    CU_ASSERT(text_value(txt, "double starts") &&
              strncmp(text_value(txt, "double starts"), "0\n", 2) == 0);
    CU_ASSERT(text_value(txt, "warm registered unclaimed") &&
              strncmp(text_value(txt, "warm registered unclaimed"), "0\n", 2) == 0);
    /* The default model, named on one line with the medians of both paths. */
    CU_ASSERT(text_value(txt, "boot model") &&
              strncmp(text_value(txt, "boot model"), "default #", 9) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "cold 36.0 s (launch 14 + join 20 + ready 2), warm 13.0 s"));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "boot model"));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "join_cold"));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "42"));
    /* No launch in this world: no Ready time for either path, not "0.0 s". The pending pod is
     * not in the wait percentiles, and the summary says so. */
    CU_ASSERT(text_value(txt, "node Ready after launch p50 cold / warm") &&
              strncmp(text_value(txt, "node Ready after launch p50 cold / warm"), "- / -\n", 6) ==
                  0);
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, " s (1 still pending, not counted)\n"));
    /* Aligned: the values of two rows start in the same column. */
    const char *r1 = strstr(txt, "  pods created"), *r2 = strstr(txt, "  wall time");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r2);
    const char *v1 = strstr(r1, "6\n"), *v2 = strstr(r2, "1.50 s\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v2);
    CU_ASSERT_EQUAL(v1 - r1, v2 - r2);

    core_buf_reset(&b);
    CU_ASSERT_EQUAL(sim_report_html(t, &info, &b), 0);
    const char *html = core_buf_cstr(&b);
    CU_ASSERT(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "&lt;flash&amp;&quot;sale&#39;&gt;"));
    CU_ASSERT_PTR_NULL(strstr(html, "<flash"));
    /* Loads nothing: no script, no src or href; the only URIs are the two namespace names,
     * which are names, not fetched. */
    CU_ASSERT_PTR_NULL(strstr(html, "<script"));
    CU_ASSERT_PTR_NULL(strstr(html, "src="));
    CU_ASSERT_PTR_NULL(strstr(html, "href="));
    CU_ASSERT_PTR_NULL(strstr(html, "url("));
    for (const char *h = strstr(html, "http"); h; h = strstr(h + 1, "http"))
        CU_ASSERT(strncmp(h, "http://www.w3.org/2000/svg\"", 27) == 0 ||
                  strncmp(h, "http://www.w3.org/1999/xhtml\"", 29) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<p>a &amp; b\xef\xbf\xbd[31m\xef\xbf\xbd \xef\xbf\xbd "
                                        "\xef\xbf\xbd( \xef\xbf\xbd\xef\xbf\xbd "
                                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd "
                                        "caf\xc3\xa9\tend</p>"));
    /* The one pending pod is named as left out of the percentiles; no launch: no Ready time. */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, " (1 still pending, not counted)</td>"));

    p = XML_ParserCreate("UTF-8");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    XML_SetUserData(p, &c);
    XML_SetElementHandler(p, xml_start, xml_end);
    int ok = XML_Parse(p, html, (int)b.len, 1) == XML_STATUS_OK;
    if (!ok)
        fprintf(stderr, "\n  report: line %lu: %s\n", (unsigned long)XML_GetCurrentLineNumber(p),
                XML_ErrorString(XML_GetErrorCode(p)));
    CU_ASSERT(ok);
    XML_ParserFree(p);
    CU_ASSERT_EQUAL(c.svg, 3);
    CU_ASSERT_EQUAL(c.svg_ns, 3);
    CU_ASSERT_EQUAL(c.html_ns, 1);
    CU_ASSERT_EQUAL(c.src, 0);
    CU_ASSERT_EQUAL(c.polyline, 3); /* pending; cold and warm launches */
    CU_ASSERT(c.rect >= 1);         /* the histogram has a bar (the 5 waits) */
    CU_ASSERT_EQUAL(c.table, 2);
    CU_ASSERT_EQUAL(c.script, 0);
    CU_ASSERT_EQUAL(c.depth, 0);

    /* A buffer too small leaves what it held. */
    struct core_buf small;
    core_buf_init(&small, 64);
    CU_ASSERT_EQUAL(core_buf_append_str(&small, "keep"), 0);
    CU_ASSERT_NOT_EQUAL(sim_report_html(t, &info, &small), 0);
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&small), "keep");
    CU_ASSERT_NOT_EQUAL(sim_report_text(t, &info, &small), 0);
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&small), "keep");
    core_buf_cleanup(&small);

    core_buf_cleanup(&b);
    sim_tracker_free(t);
    sim_world_free(w);
}

/* No pod bound yet: the waits are no figure, not 0 s; notes up to 4 KiB are kept whole (cut at
 * a character beyond that). */
static void test_report_no_samples(void)
{
    struct sim_world *w = world_for(sim_scenario_find("steady"), 0);
    struct sim_tracker *t = NULL;
    struct sim_report_info info = {0};
    struct core_buf b, notes;
    const char *txt, *row;

    CU_ASSERT_EQUAL_FATAL(sim_tracker_new(w, S(5), &t, NULL), 0);
    mk_pod(w, "alone", "100m");
    run_for(w, S(10));
    core_buf_init(&notes, 8192);
    for (int i = 0; i < 1000; i++) /* 3,000 bytes, then one more character cut at 4096 */
        CU_ASSERT_EQUAL_FATAL(core_buf_append_str(&notes, "n\xc3\xa9"), 0);
    info.notes = core_buf_cstr(&notes);
    core_buf_init(&b, 1u << 20);
    CU_ASSERT_EQUAL_FATAL(sim_report_text(t, &info, &b), 0);
    txt = core_buf_cstr(&b);
    row = text_value(txt, "pod wait p50 / p90 / p99");
    CU_ASSERT(row && strncmp(row, "- (1 still pending, not counted)\n", 33) == 0);
    row = text_value(txt, "pod -> node Ready p50 / p90 / p99");
    CU_ASSERT(row && strncmp(row, "- (1 still pending, not counted)\n", 33) == 0);
    CU_ASSERT_PTR_NULL(strstr(txt, "0.0 s / 0.0 s / 0.0 s"));
    /* The whole note: not cut at 900 bytes. */
    row = strstr(txt, "  notes: ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT(strncmp(row + 9, info.notes, notes.len) == 0 && row[9 + notes.len] == '\n');

    /* Longer than 4 KiB: cut before a character that would not fit whole. */
    core_buf_reset(&notes);
    CU_ASSERT_EQUAL_FATAL(core_buf_append_str(&notes, "x"), 0);
    for (int i = 0; i < 2100; i++)
        CU_ASSERT_EQUAL_FATAL(core_buf_append_str(&notes, "\xc3\xa9"), 0);
    info.notes = core_buf_cstr(&notes);
    core_buf_reset(&b);
    CU_ASSERT_EQUAL_FATAL(sim_report_text(t, &info, &b), 0);
    row = strstr(core_buf_cstr(&b), "  notes: ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT_EQUAL(strlen(row), 9 + 4095 + 1); /* "x" and 2047 whole characters, then \n */
    core_buf_cleanup(&notes);
    core_buf_cleanup(&b);
    sim_tracker_free(t);
    sim_world_free(w);
}

/* An allocation failing inside the statistics is an error of the report, never a figure of 0;
 * the buffer is left as it was. */
static void test_report_nomem(void)
{
    struct sim_tracker *t = NULL;
    struct sim_world *w = synthetic(&t);
    struct sim_report_info info = {0};
    struct core_buf b;
    int failed = 0;

    core_buf_init(&b, 1u << 20);
    /* Room reserved, so that the buffer itself does not allocate while failures are armed. */
    CU_ASSERT_EQUAL_FATAL(core_buf_reserve(&b, 512u * 1024u), 0);
    CU_ASSERT_EQUAL_FATAL(core_buf_append_str(&b, "keep"), 0);
    for (int html = 0; html < 2; html++) {
        for (unsigned long n = 1; n < 64; n++) {
            int rc;
            unsigned long fails;
            core_alloc_fail_after(n);
            rc = html ? sim_report_html(t, &info, &b) : sim_report_text(t, &info, &b);
            fails = core_alloc_failures();
            core_alloc_fail_after(0);
            if (fails == 0) {
                CU_ASSERT_EQUAL(rc, 0);
                break;
            }
            failed++;
            CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
            CU_ASSERT_STRING_EQUAL(core_buf_cstr(&b), "keep");
            if (rc == 0) {
                b.len = 4;
                b.data[4] = '\0';
            }
        }
        b.len = 4;
        b.data[4] = '\0';
    }
    CU_ASSERT(failed >= 4); /* waits and Ready times; cold and warm launches */
    core_buf_cleanup(&b);
    sim_tracker_free(t);
    sim_world_free(w);
}

TESTS_SUITE(sim_scenario, "sim_scenario", NULL, NULL, TESTS_CASE(test_catalog),
            TESTS_CASE(test_setup_every_scenario), TESTS_CASE(test_scenario_objects),
            TESTS_CASE(test_flash_sale_burst), TESTS_CASE(test_flash_sale_warm_pool),
            TESTS_CASE(test_tracker_waits), TESTS_CASE(test_tracker_burst),
            TESTS_CASE(test_report), TESTS_CASE(test_report_no_samples),
            TESTS_CASE(test_report_nomem))
