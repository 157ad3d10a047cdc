/*
 * tests/unit/test_controller_metrics.c — the controller's Prometheus text (well-formed families,
 * label escaping, values that follow the controller's state), its HTTP endpoint (/metrics,
 * /healthz, /readyz, 404, 405) on 127.0.0.1:0, and garbage collection of orphan instances
 * (terminated past the grace, warm-pool and young instances spared) and of Nodes whose
 * NodeClaim was force-deleted (deleted and released) on the simulated world.
 */
#include "controller/internal.h"
#include "tests/unit/harness.h"
#include "tests/unit/simctl.h"

#include <CUnit/CUnit.h>
#include <string.h>

/* ---- the text format ----------------------------------------------------------------------- */

static void test_label_escape(void)
{
    struct core_buf b;
    core_buf_init(&b, 1024);
    CU_ASSERT_EQUAL(controller_metrics_label_escape(&b, "a\\b\"c\nd"), 0);
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&b), "a\\\\b\\\"c\\nd");
    core_buf_reset(&b);
    CU_ASSERT_EQUAL(controller_metrics_label_escape(&b, "plain"), 0);
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&b), "plain");
    core_buf_cleanup(&b);
}

/* Whether name (up to a '{' or ' ') belongs to family fam (itself or a histogram/summary
 * suffix). */
static int of_family(const char *name, size_t n, const char *fam)
{
    static const char *const sfx[] = {"", "_bucket", "_sum", "_count"};
    size_t f = strlen(fam);
    if (n < f || strncmp(name, fam, f) != 0)
        return 0;
    for (size_t i = 0; i < 4; i++)
        if (n - f == strlen(sfx[i]) && strncmp(name + f, sfx[i], n - f) == 0)
            return 1;
    return 0;
}

/* Checks every line: HELP then TYPE before samples of that family; samples are
 * `name{label="value",...} number` with escaped values. Returns the number of samples. */
static size_t check_exposition(const char *text)
{
    char fam[128] = "";
    int typed = 0;
    size_t samples = 0;
    const char *p = text;

    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        CU_ASSERT_PTR_NOT_NULL_FATAL(nl); /* every line ends with a newline */
        if (strncmp(p, "# HELP ", 7) == 0) {
            size_t n = strcspn(p + 7, " \n");
            CU_ASSERT_FATAL(n > 0 && n < sizeof fam);
            memcpy(fam, p + 7, n);
            fam[n] = '\0';
            typed = 0;
        } else if (strncmp(p, "# TYPE ", 7) == 0) {
            size_t n = strlen(fam);
            CU_ASSERT(n > 0 && strncmp(p + 7, fam, n) == 0 && p[7 + n] == ' ');
            typed = 1;
        } else {
            size_t n = strcspn(p, "{ ");
            const char *q = p + n;
            char *end;
            CU_ASSERT(typed);
            CU_ASSERT(of_family(p, n, fam));
            if (*q == '{') {
                q++;
                while (*q != '}') {
                    size_t ln = strspn(q, "abcdefghijklmnopqrstuvwxyz_");
                    CU_ASSERT_FATAL(ln > 0 && q[ln] == '=' && q[ln + 1] == '"');
                    q += ln + 2;
                    while (*q != '"') {
                        CU_ASSERT_FATAL(*q != '\n' && *q != '\0');
                        if (*q == '\\') {
                            CU_ASSERT_FATAL(q[1] == '\\' || q[1] == '"' || q[1] == 'n');
                            q++;
                        }
                        q++;
                    }
                    q++;
                    if (*q == ',')
                        q++;
                    else
                        CU_ASSERT_FATAL(*q == '}');
                }
                q++;
            }
            CU_ASSERT_FATAL(*q == ' ');
            (void)strtod(q + 1, &end);
            CU_ASSERT(end > q + 1 && end == p + len);
            samples++;
        }
        p += len + 1;
    }
    return samples;
}

static int nodeclass_ready(struct tests_simctl *s, void *ud)
{
    (void)ud;
    return controller_nodeclass_ready(s->ctl, "default");
}

static void test_metrics_wellformed(void)
{
    struct tests_simctl s;
    struct core_buf b;

    tests_simctl_open(&s, NULL);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    CU_ASSERT(tests_simctl_until(&s, nodeclass_ready, NULL, 60 * CORE_NS_PER_S));
    /* Two cold launches that took 3 s and 200 s, one warm of 1 s. */
    controller_launch_latency(s.ctl, 0, 3.0);
    controller_launch_latency(s.ctl, 0, 200.0);
    controller_launch_latency(s.ctl, 1, 1.0);
    core_buf_init(&b, 8u << 20);
    CU_ASSERT_EQUAL_FATAL(controller_metrics(s.ctl, &b), 0);
    CU_ASSERT(check_exposition(core_buf_cstr(&b)) > 20);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\nstoker_leader 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\nstoker_pending_pods 0\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "stoker_nodeclaims{phase=\"pending\"} 0\n"));
    /* Cumulative buckets: 3 s lands in le=5 and above; 200 s only in +Inf. */
    CU_ASSERT_PTR_NOT_NULL(
        strstr(b.data, "stoker_launch_duration_seconds_bucket{path=\"cold\",le=\"2\"} 0\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(b.data, "stoker_launch_duration_seconds_bucket{path=\"cold\",le=\"5\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(b.data, "stoker_launch_duration_seconds_bucket{path=\"cold\",le=\"120\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(b.data, "stoker_launch_duration_seconds_bucket{path=\"cold\",le=\"+Inf\"} 2\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(b.data, "stoker_launch_duration_seconds_bucket{path=\"warm\",le=\"1\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "stoker_launch_duration_seconds_sum{path=\"cold\"} "
                                          "203\n"));
    /* The AMI resolution went through the client: its calls are counted. */
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "stoker_cloud_calls_total{service=\"ec2\",action="));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "stoker_informer_events_total{resource=\"pods\"}"));
    /* Appending keeps what the caller had. */
    core_buf_reset(&b);
    CU_ASSERT_EQUAL(core_buf_append_str(&b, "# before\n"), 0);
    CU_ASSERT_EQUAL(controller_metrics(s.ctl, &b), 0);
    CU_ASSERT_EQUAL(strncmp(b.data, "# before\n# HELP ", 16), 0);
    core_buf_cleanup(&b);
    tests_simctl_close(&s);
}

/* ---- the HTTP endpoint ---------------------------------------------------------------------- */

struct http_wait {
    int done;
    long status;
    char ctype[128];
    struct core_buf body;
};

static void http_done(void *ud, struct core_http_response *resp)
{
    struct http_wait *w = ud;
    w->done = 1;
    w->status = resp->result == 0 ? resp->status : -1;
    for (size_t i = 0; i < resp->nheaders; i++)
        if (strcasecmp(resp->headers[i].name, "Content-Type") == 0)
            core_strlcpy(w->ctype, resp->headers[i].value, sizeof w->ctype);
    core_buf_reset(&w->body);
    if (resp->body.len && core_buf_append(&w->body, resp->body.data, resp->body.len) != 0)
        w->status = -2;
}

static long http_call(struct tests_simctl *s, struct core_http_transport *t, const char *method,
                      int port, const char *path, struct http_wait *w)
{
    struct core_http_request req;
    struct core_err err = {0};
    char url[128];
    uint64_t id;

    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    memset(&req, 0, sizeof req);
    req.method = method;
    req.url = url;
    req.timeout = 10 * CORE_NS_PER_S;
    req.on_done = http_done;
    req.ud = w;
    w->done = 0;
    w->ctype[0] = '\0';
    CU_ASSERT_EQUAL_FATAL(core_http_submit(t, &req, &id, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(s->w->loop, &w->done,
                                        core_loop_now(s->w->loop) + 30 * CORE_NS_PER_S, &err),
                    0);
    return w->done ? w->status : -3;
}

static void test_http_endpoint(void)
{
    struct tests_simctl s;
    struct controller_http *h = NULL;
    struct core_http_transport *t = NULL;
    struct core_err err = {0};
    struct http_wait w;
    int port;

    memset(&w, 0, sizeof w);
    core_buf_init(&w.body, 8u << 20);
    tests_simctl_open(&s, NULL);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_run(&s, 5 * CORE_NS_PER_S);
    CU_ASSERT_NOT_EQUAL(controller_http_new(s.w->loop, s.ctl, "10.0.0.1", &h, &err), 0);
    CU_ASSERT_EQUAL_FATAL(controller_http_new(s.w->loop, s.ctl, "127.0.0.1:0", &h, &err), 0);
    port = controller_http_port(h);
    CU_ASSERT(port > 0);
    CU_ASSERT_EQUAL_FATAL(core_http_curl_new(s.w->loop, NULL, &t, &err), 0);

    CU_ASSERT_EQUAL(http_call(&s, t, "GET", port, "/metrics", &w), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(w.ctype, "version=0.0.4"));
    CU_ASSERT_PTR_NOT_NULL(strstr(core_buf_cstr(&w.body), "# TYPE stoker_leader gauge\n"));
    CU_ASSERT_EQUAL(http_call(&s, t, "GET", port, "/healthz", &w), 200);
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&w.body), "ok\n");
    CU_ASSERT_EQUAL(http_call(&s, t, "GET", port, "/readyz", &w),
                    controller_ready(s.ctl) ? 200 : 503);
    CU_ASSERT_EQUAL(http_call(&s, t, "GET", port, "/nope", &w), 404);
    CU_ASSERT_EQUAL(http_call(&s, t, "POST", port, "/metrics", &w), 405);
    CU_ASSERT_EQUAL(http_call(&s, t, "DELETE", port, "/healthz", &w), 405);
    /* A crashed controller is unhealthy. */
    s.ctl->crashed = 1;
    CU_ASSERT_EQUAL(http_call(&s, t, "GET", port, "/healthz", &w), 503);
    CU_ASSERT_EQUAL(http_call(&s, t, "GET", port, "/readyz", &w), 503);
    s.ctl->crashed = 0;

    core_http_transport_free(t);
    controller_http_free(h);
    core_buf_cleanup(&w.body);
    tests_simctl_close(&s);
}

/* ---- garbage collection --------------------------------------------------------------------- */

struct run_wait {
    int done, rc;
    char id[32];
};

static void on_run(void *ud, int rc, const struct aws_ec2_instances *res,
                   const struct core_err *err)
{
    struct run_wait *w = ud;
    (void)err;
    w->done = 1;
    w->rc = rc;
    if (rc == 0 && res->n == 1)
        core_strlcpy(w->id, res->v[0].instance_id, sizeof w->id);
}

/* Launches one instance of the class's image with the cluster's tags, plus a nodeclaim tag
 * (claim != NULL) or the warm-pool tag. */
static void launch_tagged(struct tests_simctl *s, const char *claim, char *id, size_t idsz)
{
    const struct k8s_ec2nodeclass *cls = k8s_informer_get(s->ctl->nodeclasses, "default");
    struct aws_ec2_run_instances_req run;
    struct aws_ec2_tag tags[3] = {{"kubernetes.io/cluster/" SIM_AWS_CLUSTER, "owned"},
                                  {CONTROLLER_TAG_MANAGED_BY, SIM_AWS_CLUSTER},
                                  {NULL, NULL}};
    struct aws_ec2_tag_spec spec = {"instance", tags, 3};
    struct core_err err = {0};
    struct run_wait w = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(cls);
    CU_ASSERT_FATAL(cls->namis > 0 && cls->nsubnets > 0);
    if (claim) {
        tags[2].key = CONTROLLER_TAG_NODECLAIM;
        tags[2].value = (char *)claim;
    } else {
        tags[2].key = CONTROLLER_TAG_WARM_POOL;
        tags[2].value = "default";
    }
    memset(&run, 0, sizeof run);
    run.image_id = cls->amis[0].id;
    run.instance_type = "m5.large";
    run.min_count = run.max_count = 1;
    run.subnet_id = cls->subnets[0].id;
    run.tag_specs = &spec;
    run.ntag_specs = 1;
    CU_ASSERT_EQUAL_FATAL(aws_ec2_run_instances(s->w->awsc, &run, on_run, &w, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(s->w->loop, &w.done,
                                        core_loop_now(s->w->loop) + 60 * CORE_NS_PER_S, &err),
                    0);
    CU_ASSERT_EQUAL_FATAL(w.rc, 0);
    core_strlcpy(id, w.id, idsz);
}

struct state_wait {
    int done, rc;
    char state[32];
};

static void on_described(void *ud, int rc, const struct aws_ec2_instances *res,
                         const struct core_err *err)
{
    struct state_wait *w = ud;
    (void)err;
    w->done = 1;
    w->rc = rc;
    if (rc == 0 && res->n == 1 && res->v[0].state_name)
        core_strlcpy(w->state, res->v[0].state_name, sizeof w->state);
}

static int instance_dead(struct tests_simctl *s, const char *id)
{
    const char *ids[1] = {id};
    struct aws_ec2_describe_instances_req req;
    struct core_err err = {0};
    struct state_wait w = {0};

    memset(&req, 0, sizeof req);
    req.instance_ids = ids;
    req.ninstance_ids = 1;
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instances(s->w->awsc, &req, on_described, &w, &err),
                          0);
    CU_ASSERT_EQUAL(core_loop_run_until(s->w->loop, &w.done,
                                        core_loop_now(s->w->loop) + 60 * CORE_NS_PER_S, &err),
                    0);
    CU_ASSERT_EQUAL_FATAL(w.rc, 0);
    return strcmp(w.state, "shutting-down") == 0 || strcmp(w.state, "terminated") == 0;
}

static void test_gc_orphans(void)
{
    struct tests_simctl s;
    struct controller_stats st;
    char old_orphan[32], warm[32], young[32];

    tests_simctl_open(&s, NULL);
    s.opts.gc_interval = 60 * CORE_NS_PER_S;
    s.opts.orphan_grace = 5 * 60 * CORE_NS_PER_S;
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    CU_ASSERT_FATAL(tests_simctl_until(&s, nodeclass_ready, NULL, 60 * CORE_NS_PER_S));

    launch_tagged(&s, "ghost-old", old_orphan, sizeof old_orphan);
    launch_tagged(&s, NULL, warm, sizeof warm);
    /* Within the grace nothing happens, although GC runs every minute. */
    tests_simctl_run(&s, 4 * 60 * CORE_NS_PER_S);
    CU_ASSERT(!instance_dead(&s, old_orphan));
    /* Past the grace the old orphan goes; a new one launched now is young. */
    tests_simctl_run(&s, 90 * CORE_NS_PER_S);
    launch_tagged(&s, "ghost-young", young, sizeof young);
    tests_simctl_run(&s, 2 * 60 * CORE_NS_PER_S);
    CU_ASSERT(instance_dead(&s, old_orphan));
    CU_ASSERT(!instance_dead(&s, warm));
    CU_ASSERT(!instance_dead(&s, young));
    controller_get_stats(s.ctl, &st);
    CU_ASSERT_EQUAL(st.orphans_terminated, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(tests_simctl_log(&s), "orphan instance terminated"));
    tests_simctl_close(&s);
}


/* ---- a Node whose NodeClaim was force-deleted ---------------------------------------------- */

static const char gc_claim_yaml[] =
    "apiVersion: stoker.dev/v1alpha1\n"
    "kind: NodeClaim\n"
    "metadata:\n"
    "  name: nc-gc\n"
    "  labels:\n"
    "    karpenter.sh/nodepool: default\n"
    "  finalizers: [stoker.dev/termination]\n"
    "spec:\n"
    "  nodeClassRef: {group: stoker.dev, kind: EC2NodeClass, name: default}\n"
    "  requirements:\n"
    "  - {key: node.kubernetes.io/instance-type, operator: In, values: [m5.large]}\n"
    "  - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}\n"
    "  - {key: karpenter.sh/nodepool, operator: In, values: [default]}\n";

struct gc_node {
    char name[256];
};

static int claim_initialized(struct tests_simctl *s, void *ud)
{
    struct gc_node *g = ud;
    json_t *o = tests_simctl_get(s, "nodeclaims.stoker.dev", NULL, "nc-gc");
    int ok = o && tests_simctl_condition(o, "Initialized");
    const char *nn = json_string_value(json_object_get(json_object_get(o, "status"), "nodeName"));
    if (ok && nn)
        core_strlcpy(g->name, nn, sizeof g->name);
    json_decref(o);
    return ok && nn;
}

static int node_gone(struct tests_simctl *s, void *ud)
{
    struct gc_node *g = ud;
    json_t *n = tests_simctl_get(s, "nodes", NULL, g->name);
    json_decref(n);
    return n == NULL;
}

static void test_gc_releases_node_of_gone_claim(void)
{
    struct tests_simctl s;
    struct gc_node g;
    struct core_err err = {0};

    memset(&g, 0, sizeof g);
    tests_simctl_open(&s, NULL);
    s.opts.gc_interval = 60 * CORE_NS_PER_S;
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    tests_simctl_apply(&s, gc_claim_yaml);
    CU_ASSERT_FATAL(tests_simctl_until(&s, claim_initialized, &g, 10 * 60 * CORE_NS_PER_S));
    /* Force-delete the NodeClaim: delete, then strip its finalizer before anyone acts. */
    CU_ASSERT_EQUAL(sim_kube_delete(s.w->kube, "nodeclaims.stoker.dev", NULL, "nc-gc", &err), 0);
    json_t *patch = json_pack("{s:{s:[]}}", "metadata", "finalizers");
    CU_ASSERT_EQUAL(sim_kube_patch(s.w->kube, "nodeclaims.stoker.dev", NULL, "nc-gc", patch, 0,
                                   NULL, &err), 0);
    json_decref(patch);
    json_t *o = tests_simctl_get(&s, "nodeclaims.stoker.dev", NULL, "nc-gc");
    CU_ASSERT_PTR_NULL(o);
    json_decref(o);
    /* The Node carried the termination finalizer; GC deletes and releases it. */
    CU_ASSERT(tests_simctl_until(&s, node_gone, &g, 3 * 60 * CORE_NS_PER_S));
    CU_ASSERT_PTR_NOT_NULL(strstr(tests_simctl_log(&s), "whose NodeClaim does not exist"));
    tests_simctl_close(&s);
}


/* An instance tagged for NodeClaim "nc-gc" launched long before a NodeClaim of that name is
 * created (a name reused after a restart): the NodeClaim does not adopt it but launches its
 * own, and GC terminates the old one as an orphan. */
static int claim_launched(struct tests_simctl *s, void *ud)
{
    (void)ud;
    json_t *o = tests_simctl_get(s, "nodeclaims.stoker.dev", NULL, "nc-gc");
    int ok = o && tests_simctl_condition(o, "Launched");
    json_decref(o);
    return ok;
}

static void test_reused_name_not_adopted(void)
{
    struct tests_simctl s;
    char old[32];

    tests_simctl_open(&s, NULL);
    s.opts.gc_interval = 60 * CORE_NS_PER_S;
    s.opts.orphan_grace = 5 * 60 * CORE_NS_PER_S;
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    CU_ASSERT_FATAL(tests_simctl_until(&s, nodeclass_ready, NULL, 60 * CORE_NS_PER_S));
    launch_tagged(&s, "nc-gc", old, sizeof old);
    tests_simctl_run(&s, 3 * 60 * CORE_NS_PER_S);
    tests_simctl_apply(&s, gc_claim_yaml);
    CU_ASSERT_FATAL(tests_simctl_until(&s, claim_launched, NULL, 3 * 60 * CORE_NS_PER_S));
    json_t *o = tests_simctl_get(&s, "nodeclaims.stoker.dev", NULL, "nc-gc");
    const char *pid =
        json_string_value(json_object_get(json_object_get(o, "status"), "providerID"));
    CU_ASSERT_PTR_NOT_NULL(pid);
    CU_ASSERT(pid && strstr(pid, old) == NULL);
    json_decref(o);
    /* Past the grace, the old instance is an orphan although a NodeClaim has its name. */
    tests_simctl_run(&s, 4 * 60 * CORE_NS_PER_S);
    CU_ASSERT(instance_dead(&s, old));
    o = tests_simctl_get(&s, "nodeclaims.stoker.dev", NULL, "nc-gc");
    CU_ASSERT_PTR_NOT_NULL(o);
    json_decref(o);
    tests_simctl_close(&s);
}

TESTS_SUITE(controller_metrics, "controller_metrics", NULL, NULL, TESTS_CASE(test_label_escape),
            TESTS_CASE(test_metrics_wellformed), TESTS_CASE(test_http_endpoint),
            TESTS_CASE(test_gc_orphans), TESTS_CASE(test_gc_releases_node_of_gone_claim),
            TESTS_CASE(test_reused_name_not_adopted))
