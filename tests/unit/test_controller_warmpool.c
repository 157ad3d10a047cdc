/*
 * tests/unit/test_controller_warmpool.c — the WarmPool reconciler on the emulators, virtual
 * time: a pool fills with stopped warm-up instances that never register a Node; a pending pod
 * is served by starting one (not CreateFleet) and the pool refills; scale-in terminates the
 * oldest; a changed EC2NodeClass rotates the pool without the ready count dropping below min;
 * a warm-up that never powers off is replaced; a start without capacity falls back to a cold
 * launch at once; a controller killed between the claim and the start resumes and starts the
 * instance exactly once; an invalid pool says why while a valid one fills; a schedule raises
 * the floor in its window and releases it after.
 *
 * Invariants: every test builds its own world (seed 1), so a failure is reproducible; every
 * wait has a virtual deadline and asserts that it held.
 */
#include "tests/unit/harness.h"
#include "tests/unit/simctl.h"

#include "controller/controller.h"
#include "controller/internal.h"
#include "sim/internal.h"
#include "sim/kube_internal.h"

#include <stdio.h>
#include <string.h>

#define S CORE_NS_PER_S
#define MIN (60 * S)

/* ---- helpers ------------------------------------------------------------------------------- */

static void open_world(struct tests_simctl *s, const char *boot)
{
    struct sim_world_opts wo;
    struct core_err err = {0};
    memset(&wo, 0, sizeof(wo));
    wo.seed = 1;
    sim_boot_model_default(&wo.boot);
    if (boot)
        CU_ASSERT_EQUAL_FATAL(sim_boot_model_set(&wo.boot, boot, &err), 0);
    tests_simctl_open(s, &wo);
    tests_simctl_apply(s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(s, tests_simctl_nodepool_yaml);
}

static void apply_pool(struct tests_simctl *s, const char *name, const char *nodepool,
                       const char *extra)
{
    char y[2048];
    snprintf(y, sizeof(y),
             "apiVersion: stoker.dev/v1alpha1\n"
             "kind: WarmPool\n"
             "metadata:\n"
             "  name: %s\n"
             "spec:\n"
             "  nodePoolRef:\n"
             "    name: %s\n"
             "  instanceTypes: [m5.large]\n"
             "%s",
             name, nodepool, extra);
    tests_simctl_apply(s, y);
}

static json_t *pool_get(struct tests_simctl *s, const char *name)
{
    return tests_simctl_get(s, "warmpools.stoker.dev", NULL, name);
}

static long long status_int(struct tests_simctl *s, const char *pool, const char *field)
{
    json_t *o = pool_get(s, pool);
    json_t *v = json_object_get(json_object_get(o, "status"), field);
    long long r = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
    json_decref(o);
    return r;
}

static void patch_obj(struct tests_simctl *s, const char *resource, const char *name,
                      const char *patch_json)
{
    json_error_t je;
    json_t *p = json_loads(patch_json, 0, &je);
    struct core_err err = {0};
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int rc = sim_kube_patch(s->w->kube, resource, NULL, name, p, 0, NULL, &err);
    if (rc)
        fprintf(stderr, "\n  patch %s: %s\n", name, err.message);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    json_decref(p);
}

/* Live instances of a pool, and how many of them are stopped and unclaimed. */
static size_t pool_instances(struct tests_simctl *s, const char *pool, const char **ids,
                             size_t max, size_t *stopped)
{
    size_t n = tests_simctl_instances(s, CONTROLLER_TAG_WARM_POOL, pool, ids, max);
    if (stopped) {
        *stopped = 0;
        for (size_t i = 0; i < n && i < max; i++) {
            struct tests_simctl_instance in;
            const char *claim = tests_simctl_instance_tag(s, ids[i], CONTROLLER_TAG_NODECLAIM);
            if (tests_simctl_instance(s, ids[i], &in) == 0 && strcmp(in.state, "stopped") == 0 &&
                (!claim || !*claim))
                (*stopped)++;
        }
    }
    return n;
}

/* Waits for status.warm == want, counting Nodes at every turn. */
struct warm_wait {
    const char *pool;
    long long want;
    size_t max_nodes;
    size_t min_ready;   /* the fewest stopped unclaimed instances seen (rotation) */
    int track_ready;
};

static int warm_reached(struct tests_simctl *s, void *ud)
{
    struct warm_wait *w = ud;
    size_t nodes = tests_simctl_count(s, "nodes", NULL, NULL);
    if (nodes > w->max_nodes)
        w->max_nodes = nodes;
    if (w->track_ready) {
        const char *ids[32];
        size_t stopped = 0;
        (void)pool_instances(s, w->pool, ids, 32, &stopped);
        if (stopped < w->min_ready)
            w->min_ready = stopped;
    }
    return status_int(s, w->pool, "warm") == w->want;
}

static int fill(struct tests_simctl *s, const char *pool, long long want, core_ns timeout,
                size_t *max_nodes)
{
    struct warm_wait w;
    memset(&w, 0, sizeof(w));
    w.pool = pool;
    w.want = want;
    int ok = tests_simctl_until(s, warm_reached, &w, timeout);
    if (max_nodes)
        *max_nodes = w.max_nodes;
    return ok;
}

static const char *pod_yaml(const char *name)
{
    static char y[1024];
    snprintf(y, sizeof(y),
             "apiVersion: v1\n"
             "kind: Pod\n"
             "metadata:\n"
             "  name: %s\n"
             "  namespace: default\n"
             "spec:\n"
             "  containers:\n"
             "  - name: c\n"
             "    image: public.ecr.aws/nginx/nginx:1\n"
             "    resources:\n"
             "      requests:\n"
             "        cpu: 500m\n"
             "        memory: 512Mi\n",
             name);
    return y;
}

static int pod_bound(struct tests_simctl *s, void *ud)
{
    json_t *p = tests_simctl_get(s, "pods", "default", ud);
    int ok = json_string_value(json_object_get(json_object_get(p, "spec"), "nodeName")) != NULL;
    json_decref(p);
    return ok;
}

static struct controller_stats stats(struct tests_simctl *s)
{
    struct controller_stats st;
    controller_get_stats(s->ctl, &st);
    return st;
}

static int in_list(const char *id, const char *const *ids, size_t n)
{
    for (size_t i = 0; id && i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return 1;
    return 0;
}

/* The single NodeClaim's warm annotation (NULL when none or not exactly one). */
static const char *the_claim_annotation(struct tests_simctl *s, char *buf, size_t n,
                                        char *name, size_t nname)
{
    json_t *l = tests_simctl_list(s, "nodeclaims.stoker.dev", NULL);
    const char *r = NULL;
    if (json_array_size(l) == 1) {
        json_t *meta = json_object_get(json_array_get(l, 0), "metadata");
        const char *a = json_string_value(
            json_object_get(json_object_get(meta, "annotations"), CONTROLLER_ANNOTATION_WARM));
        if (name)
            snprintf(name, nname, "%s", json_string_value(json_object_get(meta, "name")));
        if (a) {
            snprintf(buf, n, "%s", a);
            r = buf;
        }
    }
    json_decref(l);
    return r;
}

/* ---- a pool fills, serves a pod by StartInstances, refills ---------------------------------- */

static void test_fill_and_serve(void)
{
    struct tests_simctl s;
    struct sim_cluster_stats cs;
    size_t max_nodes = 99, stopped = 0;
    const char *ids[8];
    char ann[64], ncname[256];

    open_world(&s, NULL);
    apply_pool(&s, "pool-a", "default", "  size:\n    min: 2\n    max: 2\n");
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);

    CU_ASSERT_FATAL(fill(&s, "pool-a", 2, 10 * MIN, &max_nodes));
    CU_ASSERT_EQUAL(max_nodes, 0); /* no warm-up instance ever registered */
    CU_ASSERT_EQUAL(pool_instances(&s, "pool-a", ids, 8, &stopped), 2);
    CU_ASSERT_EQUAL(stopped, 2);
    CU_ASSERT_EQUAL(stats(&s).warm_launches, 2);
    CU_ASSERT_EQUAL(stats(&s).launches_cold, 0);
    CU_ASSERT_EQUAL(status_int(&s, "pool-a", "min"), 2);
    CU_ASSERT_EQUAL(status_int(&s, "pool-a", "max"), 2);
    CU_ASSERT_EQUAL(status_int(&s, "pool-a", "warming"), 0);
    {
        json_t *o = pool_get(&s, "pool-a");
        CU_ASSERT(tests_simctl_condition(o, "Ready"));
        CU_ASSERT_PTR_NOT_NULL(json_string_value(
            json_object_get(json_object_get(o, "status"), "idleCostPerHour")));
        json_decref(o);
    }
    for (size_t i = 0; i < 2; i++) {
        CU_ASSERT_PTR_NULL(tests_simctl_instance_tag(&s, ids[i], CONTROLLER_TAG_NODECLAIM));
        CU_ASSERT_PTR_NOT_NULL(tests_simctl_instance_tag(&s, ids[i], CONTROLLER_TAG_WARM_SINCE));
        CU_ASSERT_PTR_NOT_NULL(
            tests_simctl_instance_tag(&s, ids[i], CONTROLLER_TAG_WARM_POOL_HASH));
    }
    /* Quiet for a while: still 2, still no Node. */
    tests_simctl_run(&s, 3 * MIN);
    CU_ASSERT_EQUAL(stats(&s).warm_launches, 2);
    CU_ASSERT_EQUAL(tests_simctl_count(&s, "nodes", NULL, NULL), 0);
    sim_cluster_stats(s.w->cluster, &cs);
    CU_ASSERT_EQUAL(cs.nodes_registered, 0);
    CU_ASSERT_EQUAL(cs.warmups_completed, 2);

    /* A pending pod: served by starting a warm instance. */
    const char *warm_ids[2] = {ids[0], ids[1]};
    char keep[2][32];
    snprintf(keep[0], sizeof(keep[0]), "%s", ids[0]);
    snprintf(keep[1], sizeof(keep[1]), "%s", ids[1]);
    warm_ids[0] = keep[0];
    warm_ids[1] = keep[1];
    tests_simctl_apply(&s, pod_yaml("web-1"));
    CU_ASSERT_FATAL(tests_simctl_until(&s, pod_bound, (void *)"web-1", 5 * MIN));
    CU_ASSERT_EQUAL(stats(&s).launches_warm, 1);
    CU_ASSERT_EQUAL(stats(&s).launches_cold, 0);
    const char *a = the_claim_annotation(&s, ann, sizeof(ann), ncname, sizeof(ncname));
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT(in_list(a, warm_ids, 2));
    CU_ASSERT_STRING_EQUAL(tests_simctl_instance_tag(&s, a, CONTROLLER_TAG_NODECLAIM), ncname);
    {
        json_t *nodes = tests_simctl_list(&s, "nodes", NULL);
        CU_ASSERT_EQUAL(json_array_size(nodes), 1);
        const char *pid = json_string_value(
            json_object_get(json_object_get(json_array_get(nodes, 0), "spec"), "providerID"));
        CU_ASSERT_PTR_NOT_NULL(pid);
        CU_ASSERT(pid && strstr(pid, a) != NULL);
        json_decref(nodes);
    }
    struct tests_simctl_instance in;
    CU_ASSERT_EQUAL(tests_simctl_instance(&s, a, &in), 0);
    CU_ASSERT_EQUAL(in.boots, 2); /* the warm-up boot and this start */

    /* Refill to 2 free ones (the claimed one counts as claimed). */
    CU_ASSERT(fill(&s, "pool-a", 2, 10 * MIN, NULL));
    CU_ASSERT_EQUAL(stats(&s).warm_launches, 3);
    CU_ASSERT_EQUAL(status_int(&s, "pool-a", "claimed"), 1);
    CU_ASSERT_EQUAL(tests_simctl_count(&s, "nodes", NULL, NULL), 1);
    {
        struct core_buf b;
        core_buf_init(&b, 8u << 20);
        CU_ASSERT_EQUAL_FATAL(controller_metrics(s.ctl, &b), 0);
        const char *text = core_buf_cstr(&b);
        CU_ASSERT_PTR_NOT_NULL(
            strstr(text, "stoker_warmpool_instances{warmpool=\"pool-a\",phase=\"warm\"} 2"));
        CU_ASSERT_PTR_NOT_NULL(
            strstr(text, "stoker_warmpool_bounds{warmpool=\"pool-a\",bound=\"min\"} 2"));
        CU_ASSERT_PTR_NOT_NULL(strstr(
            text, "stoker_warmpool_actions_total{warmpool=\"pool-a\",action=\"launch\"} 3"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "stoker_warmpool_idle_cost_usd_per_hour{"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nstoker_warm_launches_total 3\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nstoker_warm_terminations_total 0\n"));
        core_buf_cleanup(&b);
    }
    tests_simctl_close(&s);
}

/* ---- scale-in: the oldest goes ---------------------------------------------------------- */

static void test_scale_in(void)
{
    struct tests_simctl s;
    const char *ids[8];
    char first[32];
    size_t stopped;

    open_world(&s, NULL);
    apply_pool(&s, "pool-a", "default", "  size:\n    min: 1\n    max: 1\n");
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT_FATAL(fill(&s, "pool-a", 1, 10 * MIN, NULL));
    CU_ASSERT_EQUAL_FATAL(pool_instances(&s, "pool-a", ids, 8, NULL), 1);
    snprintf(first, sizeof(first), "%s", ids[0]);
    tests_simctl_run(&s, MIN);
    patch_obj(&s, "warmpools.stoker.dev", "pool-a", "{\"spec\":{\"size\":{\"min\":2,\"max\":2}}}");
    CU_ASSERT_FATAL(fill(&s, "pool-a", 2, 10 * MIN, NULL));
    patch_obj(&s, "warmpools.stoker.dev", "pool-a", "{\"spec\":{\"size\":{\"min\":1,\"max\":1}}}");
    CU_ASSERT_FATAL(fill(&s, "pool-a", 1, 5 * MIN, NULL));
    tests_simctl_run(&s, MIN);
    CU_ASSERT_EQUAL(pool_instances(&s, "pool-a", ids, 8, &stopped), 1);
    CU_ASSERT_EQUAL(stopped, 1);
    CU_ASSERT(strcmp(ids[0], first) != 0); /* the first (oldest) was terminated */
    CU_ASSERT_EQUAL(stats(&s).warm_terminations, 1);
    CU_ASSERT_EQUAL(stats(&s).warm_launches, 2);
    CU_ASSERT_EQUAL(status_int(&s, "pool-a", "max"), 1);
    tests_simctl_close(&s);
}

/* ---- rotation: a changed EC2NodeClass replaces the pool, never below min ------------------ */

static void test_rotation(void)
{
    struct tests_simctl s;
    const char *ids[8];
    char old[2][32];
    struct warm_wait w;

    open_world(&s, NULL);
    apply_pool(&s, "pool-a", "default", "  size:\n    min: 2\n    max: 2\n");
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT_FATAL(fill(&s, "pool-a", 2, 10 * MIN, NULL));
    CU_ASSERT_EQUAL_FATAL(pool_instances(&s, "pool-a", ids, 8, NULL), 2);
    snprintf(old[0], sizeof(old[0]), "%s", ids[0]);
    snprintf(old[1], sizeof(old[1]), "%s", ids[1]);
    const char *hash0 = tests_simctl_instance_tag(&s, old[0], CONTROLLER_TAG_WARM_POOL_HASH);
    char h0[32];
    snprintf(h0, sizeof(h0), "%s", hash0 ? hash0 : "");

    patch_obj(&s, "ec2nodeclasses.stoker.dev", "default",
              "{\"spec\":{\"tags\":{\"team\":\"blue\"}}}");
    /* Until both old ones are gone and 2 new ones are warm; the stopped, unclaimed count must
     * never drop below 2. */
    memset(&w, 0, sizeof(w));
    w.pool = "pool-a";
    w.want = -2; /* never: run with the tracker until the condition below */
    w.track_ready = 1;
    w.min_ready = 99;
    for (int i = 0; i < 40; i++) {
        (void)tests_simctl_until(&s, warm_reached, &w, 30 * S);
        size_t n = pool_instances(&s, "pool-a", ids, 8, NULL);
        if (n == 2 && !in_list(ids[0], (const char *const[]){old[0], old[1]}, 2) &&
            !in_list(ids[1], (const char *const[]){old[0], old[1]}, 2) &&
            status_int(&s, "pool-a", "warm") == 2)
            break;
    }
    size_t n = pool_instances(&s, "pool-a", ids, 8, NULL);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT(!in_list(ids[0], (const char *const[]){old[0], old[1]}, 2));
    CU_ASSERT(!in_list(ids[1], (const char *const[]){old[0], old[1]}, 2));
    CU_ASSERT_EQUAL(status_int(&s, "pool-a", "warm"), 2);
    CU_ASSERT_EQUAL(status_int(&s, "pool-a", "stale"), 0);
    CU_ASSERT_EQUAL(w.min_ready, 2);
    CU_ASSERT_EQUAL(stats(&s).warm_terminations, 2);
    CU_ASSERT_EQUAL(stats(&s).warm_launches, 4);
    const char *h1 = tests_simctl_instance_tag(&s, ids[0], CONTROLLER_TAG_WARM_POOL_HASH);
    CU_ASSERT(h1 && strcmp(h1, h0) != 0);
    tests_simctl_close(&s);
}

/* ---- a warm-up that never powers off is replaced ---------------------------------------- */

static void test_warmup_timeout(void)
{
    struct tests_simctl s;
    const char *ids[8];
    char first[32];

    /* The warm-up takes 20 minutes; the pool allows 60 s (+ 5 min for the power-off). */
    open_world(&s, "warmup=1200s/0");
    apply_pool(&s, "pool-a", "default",
               "  size:\n    min: 1\n    max: 1\n  prewarm:\n    timeout: 60s\n");
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_run(&s, MIN);
    CU_ASSERT_EQUAL_FATAL(pool_instances(&s, "pool-a", ids, 8, NULL), 1);
    snprintf(first, sizeof(first), "%s", ids[0]);
    CU_ASSERT_EQUAL(status_int(&s, "pool-a", "warming"), 1);
    tests_simctl_run(&s, 8 * MIN);
    struct tests_simctl_instance in;
    CU_ASSERT_EQUAL(tests_simctl_instance(&s, first, &in), 0);
    CU_ASSERT(strcmp(in.state, "terminated") == 0 || strcmp(in.state, "shutting-down") == 0);
    CU_ASSERT(stats(&s).warm_terminations >= 1);
    CU_ASSERT(stats(&s).warm_launches >= 2);
    size_t n = pool_instances(&s, "pool-a", ids, 8, NULL);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT(n == 1 && strcmp(ids[0], first) != 0);
    CU_ASSERT_EQUAL(tests_simctl_count(&s, "nodes", NULL, NULL), 0);
    tests_simctl_close(&s);
}

/* ---- start without capacity: cold at once --------------------------------------------------- */

struct ice_watch {
    core_ns t_fail, t_cold;
    unsigned long fail0;
};

static int ice_progress(struct tests_simctl *s, void *ud)
{
    struct ice_watch *w = ud;
    struct controller_stats st = stats(s);
    core_ns now = core_loop_now(s->w->loop);
    if (!w->t_fail && st.launch_failures > w->fail0)
        w->t_fail = now;
    if (!w->t_cold && st.launches_cold > 0)
        w->t_cold = now;
    return w->t_cold && pod_bound(s, (void *)"web-1");
}

static void test_start_ice_goes_cold(void)
{
    struct tests_simctl s;
    const char *ids[8];
    struct tests_simctl_instance in;
    struct ice_watch w;
    char fault[128], warm_id[32];

    open_world(&s, NULL);
    apply_pool(&s, "pool-a", "default", "  size:\n    min: 1\n    max: 1\n");
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT_FATAL(fill(&s, "pool-a", 1, 10 * MIN, NULL));
    CU_ASSERT_EQUAL_FATAL(pool_instances(&s, "pool-a", ids, 8, NULL), 1);
    snprintf(warm_id, sizeof(warm_id), "%s", ids[0]);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_instance(&s, warm_id, &in), 0);
    snprintf(fault, sizeof(fault), "ice=%s@%s", in.type, in.zone);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_fault(&s, fault), 0);

    memset(&w, 0, sizeof(w));
    w.fail0 = stats(&s).launch_failures;
    tests_simctl_apply(&s, pod_yaml("web-1"));
    CU_ASSERT_FATAL(tests_simctl_until(&s, ice_progress, &w, 5 * MIN));
    CU_ASSERT(w.t_fail > 0);
    fprintf(stderr, "\n  [start ICE] failed start -> cold launch: %.2f s ",
            (double)(w.t_cold - w.t_fail) / 1e9);
    CU_ASSERT(w.t_cold - w.t_fail <= 3 * S);
    CU_ASSERT_EQUAL(stats(&s).launches_warm, 0);
    CU_ASSERT_EQUAL(stats(&s).launches_cold, 1);
    /* The warm instance went back to the pool, stopped and unclaimed. */
    CU_ASSERT_EQUAL(tests_simctl_instance(&s, warm_id, &in), 0);
    CU_ASSERT_STRING_EQUAL(in.state, "stopped");
    const char *claim = tests_simctl_instance_tag(&s, warm_id, CONTROLLER_TAG_NODECLAIM);
    CU_ASSERT(!claim || !*claim);
    CU_ASSERT_EQUAL(in.boots, 1);
    {
        json_t *nodes = tests_simctl_list(&s, "nodes", NULL);
        CU_ASSERT_EQUAL(json_array_size(nodes), 1);
        const char *pid = json_string_value(
            json_object_get(json_object_get(json_array_get(nodes, 0), "spec"), "providerID"));
        CU_ASSERT(pid && !strstr(pid, warm_id));
        json_decref(nodes);
    }
    tests_simctl_close(&s);
}

/* ---- killed between the claim and the start ------------------------------------------------ */

static void test_crash_mid_claim(void)
{
    struct tests_simctl s;
    const char *ids[8];
    char warm_id[32], ann[64], ncname[256];
    struct tests_simctl_instance in;
    unsigned long cold_before;

    open_world(&s, NULL);
    apply_pool(&s, "pool-a", "default", "  size:\n    min: 1\n    max: 1\n");
    s.opts.crash_after_warm_claims = 1;
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT_FATAL(fill(&s, "pool-a", 1, 10 * MIN, NULL));
    CU_ASSERT_EQUAL_FATAL(pool_instances(&s, "pool-a", ids, 8, NULL), 1);
    snprintf(warm_id, sizeof(warm_id), "%s", ids[0]);
    tests_simctl_apply(&s, pod_yaml("web-1"));
    for (int i = 0; i < 600 && !controller_crashed(s.ctl); i++)
        tests_simctl_run(&s, S);
    CU_ASSERT_FATAL(controller_crashed(s.ctl));
    cold_before = stats(&s).launches_cold;
    CU_ASSERT_EQUAL(cold_before, 0);
    /* Claimed, not started. */
    CU_ASSERT_EQUAL(tests_simctl_instance(&s, warm_id, &in), 0);
    CU_ASSERT_STRING_EQUAL(in.state, "stopped");
    CU_ASSERT_EQUAL(in.boots, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(the_claim_annotation(&s, ann, sizeof(ann), ncname,
                                                      sizeof(ncname)));
    CU_ASSERT_STRING_EQUAL(ann, warm_id);
    CU_ASSERT_STRING_EQUAL(tests_simctl_instance_tag(&s, warm_id, CONTROLLER_TAG_NODECLAIM),
                           ncname);
    tests_simctl_run(&s, 5 * S);

    /* A new controller on the same world. */
    tests_simctl_stop(&s);
    s.opts.crash_after_warm_claims = 0;
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT_FATAL(tests_simctl_until(&s, pod_bound, (void *)"web-1", 5 * MIN));
    tests_simctl_run(&s, MIN);
    CU_ASSERT_EQUAL(tests_simctl_instance(&s, warm_id, &in), 0);
    CU_ASSERT_STRING_EQUAL(in.state, "running");
    CU_ASSERT_EQUAL(in.boots, 2); /* started exactly once after the warm-up */
    CU_ASSERT_EQUAL(stats(&s).launches_cold, 0);
    CU_ASSERT_EQUAL(stats(&s).launches_warm, 1);
    CU_ASSERT_EQUAL(tests_simctl_count(&s, "nodeclaims.stoker.dev", NULL, NULL), 1);
    {
        json_t *nodes = tests_simctl_list(&s, "nodes", NULL);
        CU_ASSERT_EQUAL(json_array_size(nodes), 1);
        const char *pid = json_string_value(
            json_object_get(json_object_get(json_array_get(nodes, 0), "spec"), "providerID"));
        CU_ASSERT(pid && strstr(pid, warm_id));
        json_decref(nodes);
    }
    /* No instance but the warm one (and the pool's refill) exists for the cluster. */
    CU_ASSERT_EQUAL(tests_simctl_instances(&s, CONTROLLER_TAG_NODECLAIM, ncname, ids, 8), 1);
    tests_simctl_close(&s);
}

/* ---- an invalid pool next to a valid one -------------------------------------------------- */

static void test_invalid_pool(void)
{
    struct tests_simctl s;
    const char *ids[8];

    open_world(&s, NULL);
    apply_pool(&s, "bad", "no-such-pool", "  size:\n    min: 1\n    max: 1\n");
    apply_pool(&s, "good", "default", "  size:\n    min: 1\n    max: 1\n");
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT_FATAL(fill(&s, "good", 1, 10 * MIN, NULL));
    json_t *o = pool_get(&s, "bad");
    json_t *conds = json_object_get(json_object_get(o, "status"), "conditions");
    json_t *c0 = json_array_get(conds, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c0, "type")), "Ready");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c0, "status")), "False");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c0, "reason")), "NodePoolNotFound");
    const char *msg = json_string_value(json_object_get(c0, "message"));
    CU_ASSERT(msg && strstr(msg, "spec.nodePoolRef"));
    json_decref(o);
    CU_ASSERT_EQUAL(pool_instances(&s, "bad", ids, 8, NULL), 0);
    CU_ASSERT_EQUAL(pool_instances(&s, "good", ids, 8, NULL), 1);
    /* One Warning Event for it. */
    {
        json_t *evs = tests_simctl_list(&s, "events.events.k8s.io", NULL);
        size_t i, n = 0;
        json_t *e;
        json_array_foreach(evs, i, e)
        {
            const char *r = json_string_value(json_object_get(e, "reason"));
            if (r && strcmp(r, "NodePoolNotFound") == 0)
                n++;
        }
        CU_ASSERT_EQUAL(n, 1);
        json_decref(evs);
    }
    tests_simctl_close(&s);
}

/* ---- a pool the API stores but the decoder refuses ------------------------------------------ */

static void test_undecodable_pool(void)
{
    struct tests_simctl s;
    const char *ids[8];

    open_world(&s, NULL);
    /* The schema takes any non-empty string as a start; the cron grammar does not. */
    apply_pool(&s, "badcron", "default",
               "  size:\n    min: 1\n    max: 1\n"
               "  schedules:\n"
               "  - name: sale\n"
               "    start: \"61 * * * *\"\n"
               "    duration: 1h\n"
               "    size:\n      min: 2\n");
    apply_pool(&s, "good", "default", "  size:\n    min: 1\n    max: 1\n");
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT_FATAL(fill(&s, "good", 1, 10 * MIN, NULL));
    json_t *o = pool_get(&s, "badcron");
    json_t *c0 = json_array_get(json_object_get(json_object_get(o, "status"), "conditions"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c0, "status")), "False");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c0, "reason")), "InvalidSpec");
    const char *msg = json_string_value(json_object_get(c0, "message"));
    CU_ASSERT(msg && strstr(msg, "schedules[0].start"));
    json_decref(o);
    CU_ASSERT_EQUAL(pool_instances(&s, "badcron", ids, 8, NULL), 0);
    CU_ASSERT_EQUAL(pool_instances(&s, "good", ids, 8, NULL), 1);
    tests_simctl_close(&s);
}

/* ---- a schedule raises the floor in its window --------------------------------------------- */

static void test_schedule(void)
{
    struct tests_simctl s;
    char extra[512], start[64];

    open_world(&s, NULL);
    core_time_rfc3339(core_clock_wall(s.w->clock) + 5 * MIN, start, sizeof(start));
    snprintf(extra, sizeof(extra),
             "  size:\n    min: 2\n    max: 2\n"
             "  schedules:\n"
             "  - name: sale\n"
             "    start: \"%s\"\n"
             "    duration: 20m\n"
             "    size:\n      min: 4\n      max: 4\n",
             start);
    apply_pool(&s, "pool-a", "default", extra);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT_FATAL(fill(&s, "pool-a", 2, 4 * MIN, NULL));
    CU_ASSERT_EQUAL(status_int(&s, "pool-a", "min"), 2);
    /* In the window (starts 5 min after the world's start). */
    CU_ASSERT_FATAL(fill(&s, "pool-a", 4, 10 * MIN, NULL));
    CU_ASSERT_EQUAL(status_int(&s, "pool-a", "min"), 4);
    {
        json_t *o = pool_get(&s, "pool-a");
        const char *as = json_string_value(
            json_object_get(json_object_get(o, "status"), "activeSchedule"));
        CU_ASSERT(as && strcmp(as, "sale") == 0);
        json_decref(o);
    }
    /* After it: back to 2, the oldest terminated. */
    CU_ASSERT_FATAL(fill(&s, "pool-a", 2, 30 * MIN, NULL));
    CU_ASSERT_EQUAL(status_int(&s, "pool-a", "max"), 2);
    CU_ASSERT_EQUAL(stats(&s).warm_terminations, 2);
    CU_ASSERT_EQUAL(stats(&s).warm_launches, 4);
    tests_simctl_close(&s);
}


/* ---- Hibernated pools: launched hibernation-ready, hibernated by the controller ------------ */

static void test_hibernated(void)
{
    struct tests_simctl s;
    const char *ids[8];
    struct tests_simctl_instance in;

    open_world(&s, NULL);
    apply_pool(&s, "pool-h", "default",
               "  state: Hibernated\n  size:\n    min: 1\n    max: 1\n"
               "  prewarm:\n    timeout: 60s\n");
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT_FATAL(fill(&s, "pool-h", 1, 15 * MIN, NULL));
    CU_ASSERT_EQUAL_FATAL(pool_instances(&s, "pool-h", ids, 8, NULL), 1);
    CU_ASSERT_EQUAL(tests_simctl_instance(&s, ids[0], &in), 0);
    CU_ASSERT_STRING_EQUAL(in.state, "stopped");
    {
        const struct sim_instance *si = sim_instance_find(s.w->aws, ids[0]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(si);
        CU_ASSERT(si->hibernation_configured);
        CU_ASSERT(si->hibernated);
    }
    CU_ASSERT_EQUAL(tests_simctl_count(&s, "nodes", NULL, NULL), 0);
    tests_simctl_close(&s);
}

/* ---- orphans: a deleted pool's instances go after the grace -------------------------------- */

static void test_deleted_pool_orphans(void)
{
    struct tests_simctl s;
    const char *ids[8];
    char id[32];
    struct core_err err = {0};
    struct tests_simctl_instance in;

    open_world(&s, NULL);
    s.opts.orphan_grace = 2 * MIN;
    apply_pool(&s, "pool-a", "default", "  size:\n    min: 1\n    max: 1\n");
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT_FATAL(fill(&s, "pool-a", 1, 10 * MIN, NULL));
    CU_ASSERT_EQUAL_FATAL(pool_instances(&s, "pool-a", ids, 8, NULL), 1);
    snprintf(id, sizeof(id), "%s", ids[0]);
    CU_ASSERT_EQUAL_FATAL(
        sim_kube_delete(s.w->kube, "warmpools.stoker.dev", NULL, "pool-a", &err), 0);
    tests_simctl_run(&s, 5 * MIN);
    CU_ASSERT_EQUAL(tests_simctl_instance(&s, id, &in), 0);
    CU_ASSERT(strcmp(in.state, "terminated") == 0 || strcmp(in.state, "shutting-down") == 0);
    /* The orphan sweep's termination counts as an orphan, not as the pool's decision. */
    CU_ASSERT_EQUAL(stats(&s).warm_terminations, 0);
    CU_ASSERT_EQUAL(stats(&s).orphans_terminated, 1);
    CU_ASSERT_EQUAL(stats(&s).warm_launches, 1);
    tests_simctl_close(&s);
}

/* ---- regressions of the warm-pool review ---------------------------------------------------- */

static const char *warm_claim_yaml(const char *name, const char *warm_id)
{
    static char y[2048];
    snprintf(y, sizeof(y),
             "apiVersion: stoker.dev/v1alpha1\n"
             "kind: NodeClaim\n"
             "metadata:\n"
             "  name: %s\n"
             "  labels:\n"
             "    karpenter.sh/nodepool: default\n"
             "  annotations:\n"
             "    %s: %s\n"
             "  finalizers: [stoker.dev/termination]\n"
             "spec:\n"
             "  nodeClassRef:\n"
             "    group: stoker.dev\n"
             "    kind: EC2NodeClass\n"
             "    name: default\n"
             "  requirements:\n"
             "  - key: node.kubernetes.io/instance-type\n"
             "    operator: In\n"
             "    values: [m5.large]\n"
             "  - key: karpenter.sh/capacity-type\n"
             "    operator: In\n"
             "    values: [on-demand]\n"
             "  - key: karpenter.sh/nodepool\n"
             "    operator: In\n"
             "    values: [default]\n"
             "  resources:\n"
             "    requests:\n"
             "      cpu: 500m\n"
             "      memory: 512Mi\n",
             name, CONTROLLER_ANNOTATION_WARM, warm_id);
    return y;
}

/* A pod that needs an m5.large of its own. */
static const char *big_pod_yaml(const char *name)
{
    static char y[1024];
    snprintf(y, sizeof(y),
             "apiVersion: v1\n"
             "kind: Pod\n"
             "metadata:\n"
             "  name: %s\n"
             "  namespace: default\n"
             "spec:\n"
             "  containers:\n"
             "  - name: c\n"
             "    image: public.ecr.aws/nginx/nginx:1\n"
             "    resources:\n"
             "      requests:\n"
             "        cpu: 1500m\n"
             "        memory: 1Gi\n",
             name);
    return y;
}

/* How many NodeClaims carry the warm annotation `id`. */
static size_t claims_of(struct tests_simctl *s, const char *id)
{
    json_t *l = tests_simctl_list(s, "nodeclaims.stoker.dev", NULL);
    size_t i, n = 0;
    json_t *o;
    json_array_foreach(l, i, o)
    {
        const char *a = json_string_value(json_object_get(
            json_object_get(json_object_get(o, "metadata"), "annotations"),
            CONTROLLER_ANNOTATION_WARM));
        if (a && strcmp(a, id) == 0)
            n++;
    }
    json_decref(l);
    return n;
}

struct pair_watch {
    const char *id;
    size_t max_claims;
};

static int both_bound(struct tests_simctl *s, void *ud)
{
    struct pair_watch *w = ud;
    size_t n = claims_of(s, w->id);
    if (n > w->max_claims)
        w->max_claims = n;
    return pod_bound(s, (void *)"web-1") && pod_bound(s, (void *)"web-2");
}

/* Review #1a end to end: two pods a couple of seconds apart while every API answer takes ~3 s
 * (the second batch runs while the first NodeClaim's create is unanswered): one warm start,
 * one cold launch, never two NodeClaims on the instance. (The emulated API shows a created
 * object to watches before it answers the create, so this does not reach the informer-lag
 * window by itself; test_reservation covers that seam.) */
static void test_no_double_pairing_across_batches(void)
{
    struct sim_world_opts wo;
    struct tests_simctl s;
    struct tests_simctl_instance in;
    struct pair_watch w;
    const char *ids[8];
    char warm_id[32];

    memset(&wo, 0, sizeof(wo));
    wo.seed = 1;
    sim_boot_model_default(&wo.boot);
    tests_simctl_open(&s, &wo);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    apply_pool(&s, "pool-a", "default", "  size:\n    min: 1\n    max: 1\n");
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT_FATAL(fill(&s, "pool-a", 1, 10 * MIN, NULL));
    CU_ASSERT_EQUAL_FATAL(pool_instances(&s, "pool-a", ids, 8, NULL), 1);
    snprintf(warm_id, sizeof(warm_id), "%s", ids[0]);
    tests_simctl_run(&s, 2 * MIN); /* quiet: the settled snapshot pace */

    /* From now on the API answers slowly: the first NodeClaim's create is still in flight
     * when the second pod's batch runs. */
    s.w->kube->opts.faults.latency = 3 * S;
    tests_simctl_apply(&s, big_pod_yaml("web-1"));
    tests_simctl_run(&s, 2500 * CORE_NS_PER_MS);
    tests_simctl_apply(&s, big_pod_yaml("web-2"));
    memset(&w, 0, sizeof(w));
    w.id = warm_id;
    CU_ASSERT_FATAL(tests_simctl_until(&s, both_bound, &w, 10 * MIN));
    tests_simctl_run(&s, MIN);
    CU_ASSERT_EQUAL(w.max_claims, 1);
    CU_ASSERT_EQUAL(claims_of(&s, warm_id), 1);
    CU_ASSERT_EQUAL(stats(&s).launches_warm, 1);
    CU_ASSERT_EQUAL(stats(&s).launches_cold, 1);
    CU_ASSERT_EQUAL(tests_simctl_instance(&s, warm_id, &in), 0);
    CU_ASSERT_STRING_EQUAL(in.state, "running");
    CU_ASSERT_EQUAL(in.boots, 2);
    CU_ASSERT_EQUAL(tests_simctl_count(&s, "nodes", NULL, NULL), 2);
    tests_simctl_close(&s);
}

static size_t free_count(struct tests_simctl *s, const char *id)
{
    struct launcher_warm *v = NULL;
    size_t n = 0, hits = 0;
    CU_ASSERT_EQUAL_FATAL(controller_warmpool_free(s->ctl, &v, &n), 0);
    for (size_t i = 0; i < n; i++)
        hits += strcmp(v[i].id, id) == 0;
    core_free(v);
    return hits;
}

/* Review #1a at the seam: once provision.c reserves a warm instance for a NodeClaim it is
 * creating, no later batch gets it from the free list, and its pool counts it claimed (and
 * refills), until the NodeClaim shows up, the create fails (unreserve) or the TTL passes. */
static void test_reservation(void)
{
    struct tests_simctl s;
    const char *ids[8];
    char warm_id[32];

    open_world(&s, NULL);
    apply_pool(&s, "pool-a", "default", "  size:\n    min: 1\n    max: 2\n");
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT_FATAL(fill(&s, "pool-a", 1, 10 * MIN, NULL));
    tests_simctl_run(&s, MIN);
    CU_ASSERT_EQUAL_FATAL(pool_instances(&s, "pool-a", ids, 8, NULL), 1);
    snprintf(warm_id, sizeof(warm_id), "%s", ids[0]);
    CU_ASSERT_EQUAL(free_count(&s, warm_id), 1);

    CU_ASSERT_EQUAL_FATAL(controller_warmpool_reserve(s.ctl, warm_id, "default-abcde"), 0);
    CU_ASSERT_EQUAL(free_count(&s, warm_id), 0);
    tests_simctl_run(&s, 5 * S);
    CU_ASSERT_EQUAL(free_count(&s, warm_id), 0);
    CU_ASSERT_EQUAL(status_int(&s, "pool-a", "claimed"), 1);
    /* Another NodeClaim's failed create does not end it; its own does. */
    controller_warmpool_unreserve(s.ctl, warm_id, "default-zzzzz");
    CU_ASSERT_EQUAL(free_count(&s, warm_id), 0);
    controller_warmpool_unreserve(s.ctl, warm_id, "default-abcde");
    tests_simctl_run(&s, 2 * S); /* the pool plans again */
    CU_ASSERT_EQUAL(free_count(&s, warm_id), 1);

    /* A reservation whose NodeClaim never shows up ends after the TTL. */
    CU_ASSERT_EQUAL_FATAL(controller_warmpool_reserve(s.ctl, warm_id, "default-fghij"), 0);
    CU_ASSERT_EQUAL(free_count(&s, warm_id), 0);
    tests_simctl_run(&s, CONTROLLER_WARM_RESERVE_TTL + 5 * S);
    CU_ASSERT_EQUAL(free_count(&s, warm_id), 1);
    /* Never terminated meanwhile (the pool refilled to 2 while it was claimed: max 2). */
    CU_ASSERT_EQUAL(stats(&s).warm_terminations, 0);
    tests_simctl_close(&s);
}

/* Review #1b: two NodeClaims naming the same warm instance at once: one starts it, the other
 * is refused without touching EC2 and goes cold. */
static void test_two_claims_one_instance(void)
{
    struct tests_simctl s;
    struct tests_simctl_instance in;
    const char *ids[8];
    char warm_id[32];

    open_world(&s, NULL);
    apply_pool(&s, "pool-a", "default", "  size:\n    min: 1\n    max: 1\n");
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT_FATAL(fill(&s, "pool-a", 1, 10 * MIN, NULL));
    CU_ASSERT_EQUAL_FATAL(pool_instances(&s, "pool-a", ids, 8, NULL), 1);
    snprintf(warm_id, sizeof(warm_id), "%s", ids[0]);
    tests_simctl_apply(&s, warm_claim_yaml("nc-a", warm_id));
    tests_simctl_apply(&s, warm_claim_yaml("nc-b", warm_id));
    tests_simctl_run(&s, 5 * MIN);
    CU_ASSERT_EQUAL(stats(&s).launches_warm, 1);
    CU_ASSERT_EQUAL(stats(&s).launches_cold, 1);
    CU_ASSERT_EQUAL(claims_of(&s, warm_id), 1);
    CU_ASSERT_EQUAL(tests_simctl_instance(&s, warm_id, &in), 0);
    CU_ASSERT_STRING_EQUAL(in.state, "running");
    CU_ASSERT_EQUAL(in.boots, 2);
    {
        const char *tag = tests_simctl_instance_tag(&s, warm_id, CONTROLLER_TAG_NODECLAIM);
        char ann[64], dummy[8];
        CU_ASSERT_PTR_NOT_NULL_FATAL(tag);
        /* The NodeClaim the instance is tagged with is the one that kept the annotation. */
        json_t *o = tests_simctl_get(&s, "nodeclaims.stoker.dev", NULL, tag);
        const char *a = json_string_value(json_object_get(
            json_object_get(json_object_get(o, "metadata"), "annotations"),
            CONTROLLER_ANNOTATION_WARM));
        CU_ASSERT(a && strcmp(a, warm_id) == 0);
        json_decref(o);
        (void)ann;
        (void)dummy;
    }
    CU_ASSERT_EQUAL(tests_simctl_count(&s, "nodes", NULL, NULL), 2);
    tests_simctl_close(&s);
}

/* Review #2: a scale-in planned from a snapshot taken before a NodeClaim named the instance
 * must not terminate it. */
static void test_scale_in_spares_claimed(void)
{
    struct tests_simctl s;
    struct tests_simctl_instance in;
    const char *ids[8];
    char warm_id[32];

    open_world(&s, NULL);
    apply_pool(&s, "pool-a", "default", "  size:\n    min: 1\n    max: 1\n");
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT_FATAL(fill(&s, "pool-a", 1, 10 * MIN, NULL));
    CU_ASSERT_EQUAL_FATAL(pool_instances(&s, "pool-a", ids, 8, NULL), 1);
    snprintf(warm_id, sizeof(warm_id), "%s", ids[0]);
    tests_simctl_run(&s, 2 * MIN);
    tests_simctl_apply(&s, warm_claim_yaml("nc-a", warm_id));
    tests_simctl_run(&s, 200 * CORE_NS_PER_MS);
    patch_obj(&s, "warmpools.stoker.dev", "pool-a", "{\"spec\":{\"size\":{\"min\":0,\"max\":0}}}");
    tests_simctl_run(&s, 5 * MIN);
    CU_ASSERT_EQUAL(stats(&s).warm_terminations, 0);
    CU_ASSERT_EQUAL(tests_simctl_instance(&s, warm_id, &in), 0);
    CU_ASSERT_STRING_EQUAL(in.state, "running");
    CU_ASSERT_EQUAL(in.boots, 2);
    CU_ASSERT_EQUAL(stats(&s).launches_warm, 1);
    CU_ASSERT_EQUAL(tests_simctl_count(&s, "nodes", NULL, NULL), 1);
    CU_ASSERT_EQUAL(status_int(&s, "pool-a", "claimed"), 1);
    tests_simctl_close(&s);
}

/* Review #3: an offering marked unavailable (a capacity error) changes the filtered type list,
 * never the spec hash: the pool does not turn stale nor rotate. */
static void test_capacity_error_keeps_hash(void)
{
    struct tests_simctl s;
    struct tests_simctl_instance in;
    const char *ids[8];
    char warm_id[32], hash0[32];

    open_world(&s, NULL);
    /* No instanceTypes: the pool derives them from the NodePool and current offerings. */
    tests_simctl_apply(&s, "apiVersion: stoker.dev/v1alpha1\n"
                           "kind: WarmPool\n"
                           "metadata:\n"
                           "  name: pool-a\n"
                           "spec:\n"
                           "  nodePoolRef:\n"
                           "    name: default\n"
                           "  size:\n    min: 1\n    max: 1\n");
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT_FATAL(fill(&s, "pool-a", 1, 10 * MIN, NULL));
    CU_ASSERT_EQUAL_FATAL(pool_instances(&s, "pool-a", ids, 8, NULL), 1);
    snprintf(warm_id, sizeof(warm_id), "%s", ids[0]);
    snprintf(hash0, sizeof(hash0), "%s",
             tests_simctl_instance_tag(&s, warm_id, CONTROLLER_TAG_WARM_POOL_HASH));
    CU_ASSERT_EQUAL_FATAL(tests_simctl_instance(&s, warm_id, &in), 0);
    /* Its type has no capacity anywhere for a while. */
    {
        struct launcher_offerings *offs = controller_offerings(s.ctl);
        CU_ASSERT_PTR_NOT_NULL_FATAL(offs);
        for (size_t z = 0; z < launcher_offerings_zone_count(offs); z++)
            CU_ASSERT_EQUAL(launcher_offerings_mark_unavailable(
                                offs, LAUNCHER_ON_DEMAND, in.type,
                                launcher_offerings_zone(offs, z), core_loop_now(s.w->loop),
                                20 * MIN),
                            0);
    }
    tests_simctl_run(&s, 5 * MIN);
    CU_ASSERT_EQUAL(status_int(&s, "pool-a", "stale"), 0);
    CU_ASSERT_EQUAL(status_int(&s, "pool-a", "warm"), 1);
    CU_ASSERT_EQUAL(stats(&s).warm_terminations, 0);
    CU_ASSERT_EQUAL(stats(&s).warm_launches, 1);
    CU_ASSERT_EQUAL(tests_simctl_instance(&s, warm_id, &in), 0);
    CU_ASSERT_STRING_EQUAL(in.state, "stopped");
    tests_simctl_close(&s);
}

/* Review #5: no capacity in one zone: the others refill at once; a pool confined to that
 * zone says NoZones. */
static void test_zone_capacity_error(void)
{
    struct tests_simctl s;
    const char *ids[8];
    char fault[128], zone[32], extra[256];

    open_world(&s, NULL);
    snprintf(zone, sizeof(zone), "%s", s.w->aws->zones[0].name);
    snprintf(fault, sizeof(fault), "ice=m5.large@%s", zone);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_fault(&s, fault), 0);
    apply_pool(&s, "pool-a", "default", "  size:\n    min: 2\n    max: 2\n");
    snprintf(extra, sizeof(extra), "  zones: [%s]\n  size:\n    min: 1\n    max: 1\n", zone);
    apply_pool(&s, "pool-z", "default", extra);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT(fill(&s, "pool-a", 2, 3 * MIN, NULL));
    size_t n = pool_instances(&s, "pool-a", ids, 8, NULL);
    CU_ASSERT_EQUAL(n, 2);
    for (size_t i = 0; i < n && i < 8; i++) {
        struct tests_simctl_instance in;
        CU_ASSERT_EQUAL(tests_simctl_instance(&s, ids[i], &in), 0);
        CU_ASSERT_STRING_NOT_EQUAL(in.zone, zone);
    }
    CU_ASSERT_EQUAL(pool_instances(&s, "pool-z", ids, 8, NULL), 0);
    {
        json_t *o = pool_get(&s, "pool-z");
        json_t *c0 =
            json_array_get(json_object_get(json_object_get(o, "status"), "conditions"), 0);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c0, "status")), "False");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c0, "reason")), "NoZones");
        const char *msg = json_string_value(json_object_get(c0, "message"));
        CU_ASSERT(msg && strstr(msg, "spec.zones") && strstr(msg, "EC2NodeClass default"));
        json_decref(o);
    }
    tests_simctl_close(&s);
}

TESTS_SUITE(controller_warmpool, "controller_warmpool", NULL, NULL,
            TESTS_CASE(test_fill_and_serve), TESTS_CASE(test_scale_in),
            TESTS_CASE(test_rotation), TESTS_CASE(test_warmup_timeout),
            TESTS_CASE(test_start_ice_goes_cold), TESTS_CASE(test_crash_mid_claim),
            TESTS_CASE(test_invalid_pool), TESTS_CASE(test_undecodable_pool), TESTS_CASE(test_schedule),
            TESTS_CASE(test_hibernated), TESTS_CASE(test_deleted_pool_orphans),
            TESTS_CASE(test_no_double_pairing_across_batches), TESTS_CASE(test_reservation),
            TESTS_CASE(test_two_claims_one_instance), TESTS_CASE(test_scale_in_spares_claimed),
            TESTS_CASE(test_capacity_error_keeps_hash), TESTS_CASE(test_zone_capacity_error))
