/*
 * tests/unit/test_controller_provision.c — the provisioning reconciler (controller/provision.c)
 * run with the whole controller against the emulated cluster (tests/unit/simctl.h): pods the
 * simulated kube-scheduler marks Unschedulable become NodeClaims, nominations keep pods from
 * being planned twice, unusable pools are skipped, unservable pods get FailedScheduling, and
 * pods arriving within the idle window share one batch.
 *
 * Invariants: each test opens its own world and closes it; time is virtual; assertions look at
 * the API objects (NodeClaims, Events) and at the controller's counters and nominations.
 */
#include "controller/internal.h"
#include "tests/unit/harness.h"
#include "tests/unit/simctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) ((core_ns)(x) * CORE_NS_PER_S)
#define CLAIMS "nodeclaims.stoker.dev"
#define EVENTS "events.events.k8s.io"

static void pod_yaml(char *out, size_t outsz, const char *name, const char *cpu,
                     const char *extra)
{
    snprintf(out, outsz,
             "apiVersion: v1\n"
             "kind: Pod\n"
             "metadata:\n"
             "  name: %s\n"
             "  namespace: default\n"
             "  labels: {app: web}\n"
             "spec:\n"
             "%s"
             "  containers:\n"
             "  - name: c\n"
             "    image: nginx\n"
             "    resources:\n"
             "      requests: {cpu: \"%s\", memory: 256Mi}\n",
             name, extra ? extra : "", cpu);
}

static void apply_pods(struct tests_simctl *s, const char *prefix, int n, const char *cpu,
                       const char *extra)
{
    for (int i = 0; i < n; i++) {
        char name[64], y[2048];
        snprintf(name, sizeof(name), "%s-%d", prefix, i);
        pod_yaml(y, sizeof(y), name, cpu, extra);
        tests_simctl_apply(s, y);
    }
}

static int class_ready(struct tests_simctl *s, void *ud)
{
    json_t *o = tests_simctl_get(s, "ec2nodeclasses.stoker.dev", NULL, ud);
    int r = o && tests_simctl_condition(o, "Ready");
    json_decref(o);
    return r;
}

/* A world with the controller started, the default class Ready and the default pool. */
static void open_ready(struct tests_simctl *s)
{
    tests_simctl_open(s, NULL);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(s), 0);
    tests_simctl_apply(s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(s, tests_simctl_nodepool_yaml);
    CU_ASSERT_FATAL(tests_simctl_until(s, class_ready, (void *)"default", S(60)));
}

/* Pods nominated to any NodeClaim in the API, as the controller records them. */
static size_t nominated_total(struct tests_simctl *s)
{
    json_t *items = tests_simctl_list(s, CLAIMS, NULL);
    size_t total = 0, i;
    json_t *o;
    json_array_foreach(items, i, o)
    {
        const char *name = json_string_value(json_object_get(json_object_get(o, "metadata"),
                                                             "name"));
        size_t n = 0;
        (void)controller_provision_nominated(s->ctl, name, &n);
        total += n;
    }
    json_decref(items);
    return total;
}

struct want {
    size_t pods;
};

/* The pods are nominated and their creates have answered. */
static int nominated_at_least(struct tests_simctl *s, void *ud)
{
    struct controller_stats st;
    controller_get_stats(s->ctl, &st);
    size_t want = ((struct want *)ud)->pods;
    return nominated_total(s) >= want && st.pods_scheduled >= want;
}

static int scheduled_at_least(struct tests_simctl *s, void *ud)
{
    struct controller_stats st;
    controller_get_stats(s->ctl, &st);
    return st.pods_scheduled >= ((struct want *)ud)->pods;
}

static int has_instance_type_in(const json_t *claim)
{
    json_t *reqs = json_object_get(json_object_get(claim, "spec"), "requirements");
    size_t i;
    json_t *r;
    json_array_foreach(reqs, i, r)
    {
        const char *k = json_string_value(json_object_get(r, "key"));
        const char *op = json_string_value(json_object_get(r, "operator"));
        if (k && op && strcmp(k, "node.kubernetes.io/instance-type") == 0 &&
            strcmp(op, "In") == 0 && json_array_size(json_object_get(r, "values")) > 0)
            return 1;
    }
    return 0;
}

static const json_t *instance_types(const json_t *claim)
{
    json_t *reqs = json_object_get(json_object_get(claim, "spec"), "requirements");
    size_t i;
    json_t *r;
    json_array_foreach(reqs, i, r)
    {
        const char *k = json_string_value(json_object_get(r, "key"));
        if (k && strcmp(k, "node.kubernetes.io/instance-type") == 0)
            return json_object_get(r, "values");
    }
    return NULL;
}

/* Events with this reason whose note contains `needle` (NULL = any). */
static size_t count_events(struct tests_simctl *s, const char *reason, const char *needle)
{
    json_t *items = tests_simctl_list(s, EVENTS, NULL);
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(items, i, e)
    {
        const char *r = json_string_value(json_object_get(e, "reason"));
        const char *note = json_string_value(json_object_get(e, "note"));
        if (r && strcmp(r, reason) == 0 && (!needle || (note && strstr(note, needle)))) {
            n++;
            /* Reported once: a repeat would have raised the event's series count. */
            CU_ASSERT_PTR_NULL(json_object_get(e, "series"));
        }
    }
    json_decref(items);
    return n;
}

static int events_at_least(struct tests_simctl *s, void *ud)
{
    return count_events(s, "FailedScheduling", ud) > 0;
}

static int ten_nominated_events(struct tests_simctl *s, void *ud)
{
    (void)ud;
    return count_events(s, "Nominated", "nodeclaim/default-") >= 10;
}

/* ------------------------------------------------------------------------------------------ */

static void test_ten_pods(void)
{
    struct tests_simctl s;
    open_ready(&s);
    apply_pods(&s, "web", 10, "500m", NULL);
    struct want w = {10};
    CU_ASSERT_FATAL(tests_simctl_until(&s, nominated_at_least, &w, S(30)));
    CU_ASSERT_EQUAL(nominated_total(&s), 10);

    json_t *items = tests_simctl_list(&s, CLAIMS, NULL);
    CU_ASSERT(json_array_size(items) >= 1);
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
    {
        json_t *meta = json_object_get(o, "metadata");
        const char *name = json_string_value(json_object_get(meta, "name"));
        CU_ASSERT_PTR_NOT_NULL_FATAL(name);
        CU_ASSERT_EQUAL(strncmp(name, "default-", 8), 0);
        CU_ASSERT_EQUAL(strlen(name), strlen("default-") + 5);
        json_t *fin = json_object_get(meta, "finalizers");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(fin, 0)), CONTROLLER_FINALIZER);
        json_t *own = json_array_get(json_object_get(meta, "ownerReferences"), 0);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(own, "kind")), "NodePool");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(own, "name")), "default");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(own, "apiVersion")),
                               "stoker.dev/v1alpha1");
        CU_ASSERT(json_is_true(json_object_get(own, "blockOwnerDeletion")));
        CU_ASSERT(json_string_length(json_object_get(own, "uid")) > 0);
        json_t *labels = json_object_get(meta, "labels");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(labels, "karpenter.sh/nodepool")),
                               "default");
        CU_ASSERT_STRING_EQUAL(
            json_string_value(json_object_get(labels, "karpenter.sh/capacity-type")), "on-demand");
        CU_ASSERT(has_instance_type_in(o));
        json_t *spec = json_object_get(o, "spec");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
                                   json_object_get(spec, "nodeClassRef"), "name")),
                               "default");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(spec, "expireAfter")), "720h");
        CU_ASSERT_PTR_NOT_NULL(json_object_get(
            json_object_get(json_object_get(spec, "resources"), "requests"), "cpu"));
        size_t n = 0;
        const char *const *pods = controller_provision_nominated(s.ctl, name, &n);
        for (size_t k = 0; k < n; k++) {
            CU_ASSERT_EQUAL(strncmp(pods[k], "default/web-", 12), 0);
            CU_ASSERT(controller_provision_first_seen(s.ctl, pods[k]) > 0);
        }
    }
    struct controller_stats st;
    controller_get_stats(s.ctl, &st);
    CU_ASSERT_EQUAL(st.pods_scheduled, 10);
    CU_ASSERT_EQUAL(st.nodeclaims_created, json_array_size(items));
    CU_ASSERT(st.batches >= 1);
    CU_ASSERT(tests_simctl_until(&s, ten_nominated_events, NULL, S(5)));
    CU_ASSERT_EQUAL(count_events(&s, "Nominated", "nodeclaim/default-"), 10);
    json_decref(items);
    tests_simctl_close(&s);
}

static void test_gpu_pod(void)
{
    struct tests_simctl s;
    open_ready(&s);
    tests_simctl_apply(&s, "apiVersion: v1\n"
                           "kind: Pod\n"
                           "metadata: {name: train, namespace: default}\n"
                           "spec:\n"
                           "  tolerations: [{key: nvidia.com/gpu, operator: Exists}]\n"
                           "  containers:\n"
                           "  - name: c\n"
                           "    image: cuda\n"
                           "    resources:\n"
                           "      requests: {cpu: \"1\", memory: 1Gi}\n"
                           "      limits: {nvidia.com/gpu: \"1\"}\n");
    struct want w = {1};
    CU_ASSERT_FATAL(tests_simctl_until(&s, nominated_at_least, &w, S(30)));
    struct launcher_catalog *cat = NULL;
    CU_ASSERT_EQUAL_FATAL(launcher_catalog_load(&cat, NULL), 0);
    json_t *items = tests_simctl_list(&s, CLAIMS, NULL);
    CU_ASSERT_EQUAL(json_array_size(items), 1);
    const json_t *types = instance_types(json_array_get(items, 0));
    CU_ASSERT(json_array_size(types) > 0);
    size_t i;
    json_t *t;
    json_array_foreach(types, i, t)
    {
        const struct launcher_itype *it = launcher_catalog_find(cat, json_string_value(t));
        CU_ASSERT_PTR_NOT_NULL_FATAL(it);
        CU_ASSERT(it->gpu_count > 0);
    }
    json_decref(items);
    launcher_catalog_free(cat);
    tests_simctl_close(&s);
}

static void test_label_nobody_offers(void)
{
    struct tests_simctl s;
    open_ready(&s);
    apply_pods(&s, "picky", 1, "250m", "  nodeSelector: {team: blue}\n");
    CU_ASSERT(tests_simctl_until(&s, events_at_least, (void *)"team", S(30)));
    tests_simctl_run(&s, S(10));
    CU_ASSERT_EQUAL(tests_simctl_count(&s, CLAIMS, NULL, NULL), 0);
    struct controller_stats st;
    controller_get_stats(s.ctl, &st);
    CU_ASSERT(st.pods_unschedulable >= 1);
    CU_ASSERT_EQUAL(st.nodeclaims_created, 0);
    /* Reported once per reason, not once per batch: more batches, still one event. */
    apply_pods(&s, "other", 1, "250m", "  nodeSelector: {team: red}\n");
    tests_simctl_run(&s, S(10));
    CU_ASSERT_EQUAL(count_events(&s, "FailedScheduling", "team"), 2);
    controller_get_stats(s.ctl, &st);
    CU_ASSERT(st.batches >= 2);
    tests_simctl_close(&s);
}

static void test_no_double_scheduling(void)
{
    struct tests_simctl s;
    open_ready(&s);
    apply_pods(&s, "a", 10, "500m", NULL);
    struct want w = {10};
    CU_ASSERT_FATAL(tests_simctl_until(&s, nominated_at_least, &w, S(30)));
    size_t first = tests_simctl_count(&s, CLAIMS, NULL, NULL);
    CU_ASSERT(first >= 1);
    /* More batch windows while the first claims are in flight, each opened by a new pod
     * small enough for the room the first claims have left. */
    for (int i = 0; i < 3; i++) {
        char name[32], y[2048];
        snprintf(name, sizeof(name), "late-%d", i);
        pod_yaml(y, sizeof(y), name, "100m", NULL);
        tests_simctl_apply(&s, y);
        tests_simctl_run(&s, S(3));
    }
    struct controller_stats st;
    controller_get_stats(s.ctl, &st);
    CU_ASSERT(st.batches >= 2);
    /* Every pod given capacity exactly once, the late ones on the in-flight claims. */
    CU_ASSERT_EQUAL(st.pods_scheduled, 13);
    CU_ASSERT_EQUAL(st.nodeclaims_created, first);
    CU_ASSERT_EQUAL(tests_simctl_count(&s, CLAIMS, NULL, NULL), first);
    CU_ASSERT_EQUAL(nominated_total(&s), 13);
    CU_ASSERT_EQUAL(count_events(&s, "Nominated", NULL), 13);
    tests_simctl_close(&s);
}

static void test_pool_class_not_ready(void)
{
    struct tests_simctl s;
    tests_simctl_open(&s, NULL);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    /* Subnets that do not exist: the class never becomes Ready. */
    tests_simctl_apply(&s, "apiVersion: stoker.dev/v1alpha1\n"
                           "kind: EC2NodeClass\n"
                           "metadata: {name: broken}\n"
                           "spec:\n"
                           "  amiSelectorTerms: [{alias: al2023@latest}]\n"
                           "  subnetSelectorTerms: [{tags: {nothing: here}}]\n"
                           "  securityGroupSelectorTerms: [{tags: {stoker.dev/discovery: sim}}]\n"
                           "  instanceProfile: sim-node\n");
    tests_simctl_apply(&s, "apiVersion: stoker.dev/v1alpha1\n"
                           "kind: NodePool\n"
                           "metadata: {name: lame}\n"
                           "spec:\n"
                           "  template:\n"
                           "    spec:\n"
                           "      nodeClassRef: {group: stoker.dev, kind: EC2NodeClass, "
                           "name: broken}\n"
                           "      requirements: []\n");
    tests_simctl_run(&s, S(10));
    apply_pods(&s, "w", 2, "500m", NULL);
    CU_ASSERT(tests_simctl_until(&s, events_at_least, NULL, S(30)));
    tests_simctl_run(&s, S(5));
    CU_ASSERT_EQUAL(tests_simctl_count(&s, CLAIMS, NULL, NULL), 0);
    struct controller_stats st;
    controller_get_stats(s.ctl, &st);
    CU_ASSERT_EQUAL(st.nodeclaims_created, 0);
    CU_ASSERT(st.pods_unschedulable >= 2);
    /* A Ready pool appears: the waiting pods are served without any new pod. */
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    struct want w = {2};
    CU_ASSERT(tests_simctl_until(&s, nominated_at_least, &w, S(60)));
    json_t *items = tests_simctl_list(&s, CLAIMS, NULL);
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
    {
        const char *pool = json_string_value(json_object_get(
            json_object_get(json_object_get(o, "metadata"), "labels"), "karpenter.sh/nodepool"));
        CU_ASSERT_STRING_EQUAL(pool ? pool : "", "default");
    }
    json_decref(items);
    tests_simctl_close(&s);
}

/* A NodeClaim deleted before its pods bound: they are pending for us again at once and get
 * another NodeClaim. */
static void test_claim_deleted_releases_pods(void)
{
    struct tests_simctl s;
    open_ready(&s);
    apply_pods(&s, "r", 3, "500m", NULL);
    struct want w = {3};
    CU_ASSERT_FATAL(tests_simctl_until(&s, nominated_at_least, &w, S(30)));
    json_t *items = tests_simctl_list(&s, CLAIMS, NULL);
    size_t nclaims = json_array_size(items);
    CU_ASSERT_FATAL(nclaims >= 1);
    char victim[128];
    snprintf(victim, sizeof(victim), "%s",
             json_string_value(json_object_get(
                 json_object_get(json_array_get(items, 0), "metadata"), "name")));
    json_decref(items);
    size_t n = 0;
    (void)controller_provision_nominated(s.ctl, victim, &n);
    CU_ASSERT_FATAL(n >= 1);
    size_t released = n;
    struct core_err err = {0};
    CU_ASSERT_EQUAL(sim_kube_delete(s.w->kube, CLAIMS, NULL, victim, &err), 0);
    struct want w2 = {3 + released}; /* pods_scheduled counts both rounds */
    CU_ASSERT(tests_simctl_until(&s, scheduled_at_least, &w2, S(30)));
    CU_ASSERT_EQUAL(nominated_total(&s), 3);
    struct controller_stats st;
    controller_get_stats(s.ctl, &st);
    CU_ASSERT_EQUAL(st.pods_scheduled, 3 + released);
    CU_ASSERT(st.nodeclaims_created > nclaims);
    (void)controller_provision_nominated(s.ctl, victim, &n);
    CU_ASSERT_EQUAL(n, 0);
    tests_simctl_close(&s);
}

static void test_batching_window(void)
{
    struct tests_simctl s;
    open_ready(&s);
    struct controller_stats st;
    controller_get_stats(s.ctl, &st);
    unsigned long before = st.batches;
    for (int i = 0; i < 4; i++) {
        char name[32], y[2048];
        snprintf(name, sizeof(name), "burst-%d", i);
        pod_yaml(y, sizeof(y), name, "250m", NULL);
        tests_simctl_apply(&s, y);
        tests_simctl_run(&s, CORE_NS_PER_S / 2);
    }
    struct want w = {4};
    CU_ASSERT(tests_simctl_until(&s, nominated_at_least, &w, S(30)));
    controller_get_stats(s.ctl, &st);
    CU_ASSERT_EQUAL(st.batches - before, 1);
    CU_ASSERT_EQUAL(st.pods_scheduled, 4);
    tests_simctl_close(&s);
}

/* Same world seed, same actions: same NodeClaim names and instance types. */
static char *claims_fingerprint(void)
{
    struct tests_simctl s;
    open_ready(&s);
    apply_pods(&s, "d", 6, "1", NULL);
    apply_pods(&s, "e", 3, "3", NULL);
    struct want w = {9};
    (void)tests_simctl_until(&s, nominated_at_least, &w, S(30));
    json_t *items = tests_simctl_list(&s, CLAIMS, NULL);
    struct core_buf b;
    core_buf_init(&b, 1 << 20);
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
    {
        const char *name = json_string_value(json_object_get(json_object_get(o, "metadata"),
                                                             "name"));
        char *types = json_dumps(instance_types(o), JSON_COMPACT);
        CU_ASSERT(core_buf_appendf(&b, "%s=%s;", name ? name : "", types ? types : "") == 0);
        free(types);
    }
    json_decref(items);
    tests_simctl_close(&s);
    char *out = NULL;
    size_t len = 0;
    if (core_buf_steal(&b, &out, &len) != 0)
        out = NULL;
    core_buf_cleanup(&b);
    return out;
}

static void test_deterministic(void)
{
    char *a = claims_fingerprint();
    char *b = claims_fingerprint();
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT(strlen(a) > 0);
    CU_ASSERT_STRING_EQUAL(a, b);
    core_free(a);
    core_free(b);
}


/* Pods that have a nodeName. */
static int all_bound(struct tests_simctl *s, void *ud)
{
    size_t want = *(size_t *)ud, n = 0, i;
    json_t *items = tests_simctl_list(s, "pods", "default");
    json_t *o;
    json_array_foreach(items, i, o)
        if (json_string_value(json_object_get(json_object_get(o, "spec"), "nodeName")))
            n++;
    json_decref(items);
    return n >= want;
}

/* A restart while NodeClaims are in flight: the new controller has no nominations, sees the
 * claims' free space (allocatable minus DaemonSets minus what is nominated now, i.e. all of it)
 * and places the pending pods back onto them instead of creating more NodeClaims. */
static void test_restart_reuses_inflight_claims(void)
{
    struct tests_simctl s;
    open_ready(&s);
    apply_pods(&s, "re", 10, "500m", NULL);
    struct want w = {10};
    CU_ASSERT_FATAL(tests_simctl_until(&s, nominated_at_least, &w, S(30)));
    size_t nclaims = tests_simctl_count(&s, CLAIMS, NULL, NULL);
    CU_ASSERT_FATAL(nclaims >= 1);
    CU_ASSERT_EQUAL(tests_simctl_count(&s, "nodes", NULL, NULL), 0);
    tests_simctl_stop(&s);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    /* The new controller plans the pods again: onto the existing claims. */
    CU_ASSERT(tests_simctl_until(&s, scheduled_at_least, &w, S(120)));
    CU_ASSERT_EQUAL(tests_simctl_count(&s, "nodes", NULL, NULL), 0); /* before any node */
    struct controller_stats st;
    controller_get_stats(s.ctl, &st);
    CU_ASSERT_EQUAL(st.nodeclaims_created, 0);
    CU_ASSERT_EQUAL(tests_simctl_count(&s, CLAIMS, NULL, NULL), nclaims);
    CU_ASSERT_EQUAL(nominated_total(&s), 10);
    size_t all = 10;
    CU_ASSERT(tests_simctl_until(&s, all_bound, &all, S(15 * 60)));
    CU_ASSERT_EQUAL(tests_simctl_count(&s, CLAIMS, NULL, NULL), nclaims);
    controller_get_stats(s.ctl, &st);
    CU_ASSERT_EQUAL(st.nodeclaims_created, 0);
    tests_simctl_close(&s);
}

/* How many times the log says a create failed. */
static size_t log_count(struct tests_simctl *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = tests_simctl_log(s); (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* A NodePool whose NodeClaims the API refuses (the name it gives them is too long: 422): the
 * pool backs off (5 s doubling), and each pod gets one FailedScheduling Event naming the error. */
static void test_create_refused_backs_off(void)
{
    struct tests_simctl s;
    tests_simctl_open(&s, NULL);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    CU_ASSERT_FATAL(tests_simctl_until(&s, class_ready, (void *)"default", S(60)));
    char pool[251], y[4096];
    memset(pool, 'p', 250);
    pool[250] = '\0';
    snprintf(y, sizeof(y),
             "apiVersion: stoker.dev/v1alpha1\n"
             "kind: NodePool\n"
             "metadata: {name: %s}\n"
             "spec:\n"
             "  template:\n"
             "    spec:\n"
             "      nodeClassRef: {group: stoker.dev, kind: EC2NodeClass, name: default}\n"
             "      requirements:\n"
             "      - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}\n",
             pool);
    tests_simctl_apply(&s, y);
    tests_simctl_run(&s, S(5));
    apply_pods(&s, "x", 3, "500m", NULL);
    tests_simctl_run(&s, S(62));
    size_t fails = log_count(&s, "creating nodeclaim failed");
    /* Within ~60 s: the first batch (3 NodeClaims), then one batch after 5, 10 and 20 s of
     * backoff: four rounds, not one per batch window. */
    CU_ASSERT(fails >= 6);
    CU_ASSERT(fails <= 15);
    CU_ASSERT_EQUAL(tests_simctl_count(&s, CLAIMS, NULL, NULL), 0);
    CU_ASSERT_EQUAL(count_events(&s, "FailedScheduling", "creating a NodeClaim for NodePool"), 3);
    CU_ASSERT(count_events(&s, "FailedScheduling", "Invalid") >= 1 ||
              count_events(&s, "FailedScheduling", "invalid") >= 1);
    tests_simctl_close(&s);
}

TESTS_SUITE(controller_provision, "controller_provision", NULL, NULL, TESTS_CASE(test_ten_pods),
            TESTS_CASE(test_gpu_pod), TESTS_CASE(test_label_nobody_offers),
            TESTS_CASE(test_no_double_scheduling), TESTS_CASE(test_pool_class_not_ready),
            TESTS_CASE(test_batching_window), TESTS_CASE(test_claim_deleted_releases_pods),
            TESTS_CASE(test_deterministic), TESTS_CASE(test_restart_reuses_inflight_claims),
            TESTS_CASE(test_create_refused_backs_off))
