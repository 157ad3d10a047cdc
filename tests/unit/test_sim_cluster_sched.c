/*
 * tests/unit/test_sim_cluster_sched.c — suite "sim_cluster_sched": the simulated cluster's
 * scheduler, volume provisioner, pod GC and workload drivers (sim/cluster_sched.c,
 * sim/cluster_workload.c) over the emulated account and API on a virtual clock. Nodes are
 * created directly through sim_kube_create (Ready condition, allocatable, zone label), so
 * these tests do not depend on the kubelets; every expectation names the node, zone or
 * message the scheduler must produce.
 */
#include "sim/cluster_internal.h"
#include "tests/unit/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WALL0 ((core_ns)1795000000 * 1000000000LL)
#define S(x) ((core_ns)(x) * CORE_NS_PER_S)
#define ZA "us-east-1a"
#define ZB "us-east-1b"
#define ZC "us-east-1c"

#define ASSERT_STR(actual, expected)                                                          \
    do {                                                                                      \
        const char *as_ = (actual);                                                           \
        CU_ASSERT(as_ != NULL && strcmp(as_, (expected)) == 0);                               \
        if (!as_ || strcmp(as_, (expected)) != 0)                                             \
            fprintf(stderr, "\n  line %d: got \"%s\", want \"%s\"\n", __LINE__,              \
                    as_ ? as_ : "(null)", (expected));                                        \
    } while (0)

struct fx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct sim_aws *a;
    struct sim_kube *k;
    struct sim_cluster *c;
};

static void fx_open(struct fx *f)
{
    struct sim_aws_opts o;
    struct sim_kube_opts ko;
    struct sim_cluster_opts co;
    struct core_err err;

    memset(f, 0, sizeof *f);
    sim_aws_opts_default(&o);
    f->clock = core_clock_virtual_new(S(1000), WALL0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(f->clock, NULL, &f->loop, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(sim_aws_new(f->loop, &o, &f->a, NULL), 0);
    sim_kube_opts_default(&ko);
    ko.seed = 3;
    CU_ASSERT_EQUAL_FATAL(sim_kube_new(f->loop, &ko, &f->k, NULL), 0);
    memset(&co, 0, sizeof co);
    co.seed = 11;
    if (sim_cluster_new(f->loop, f->a, f->k, &co, &f->c, &err) != 0)
        fprintf(stderr, "\n  sim_cluster_new: %s\n", err.message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->c);
}

static void fx_close(struct fx *f)
{
    sim_cluster_free(f->c);
    sim_kube_free(f->k);
    sim_aws_free(f->a);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

static void on_mark(void *ud)
{
    *(int *)ud = 1;
}

/* Runs the loop until `d` from now has passed (everything due by then included). */
static void run_for(struct fx *f, core_ns d)
{
    int done = 0;
    struct core_timer *t = core_loop_timer_add(f->loop, d, on_mark, &done);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    for (int turns = 0; !done && turns < 100000; turns++)
        if (core_loop_run_once(f->loop, -1, NULL) < 0)
            break;
    CU_ASSERT_FATAL(done);
}

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fprintf(stderr, "\n  bad test JSON: %s: %s\n", text, e.text);
    return v;
}

static void create(struct fx *f, const char *res, const char *ns, const char *text)
{
    json_t *o = J(text);
    struct core_err err;
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    if (sim_kube_create(f->k, res, ns, o, NULL, &err) != 0) {
        fprintf(stderr, "\n  create %s: %s\n", text, err.message);
        CU_FAIL("create");
    }
    json_decref(o);
}

/* A node: cpu in cores, memory a quantity, 110 pods; extra_labels is JSON object members
 * ("" for none), taints a JSON array ("[]"). */
static void mk_node_full(struct fx *f, const char *name, const char *zone, int cpu,
                         const char *mem, int ready, const char *extra_labels, const char *taints)
{
    char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\","
             "\"labels\":{\"kubernetes.io/hostname\":\"%s\","
             "\"topology.kubernetes.io/zone\":\"%s\"%s%s}},"
             "\"spec\":{\"taints\":%s},"
             "\"status\":{\"allocatable\":{\"cpu\":\"%d\",\"memory\":\"%s\",\"pods\":\"110\"},"
             "\"capacity\":{\"cpu\":\"%d\",\"memory\":\"%s\",\"pods\":\"110\"},"
             "\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\"}]}}",
             name, name, zone, extra_labels[0] ? "," : "", extra_labels, taints, cpu, mem, cpu,
             mem, ready ? "True" : "False");
    create(f, "nodes", NULL, buf);
}

static void mk_node(struct fx *f, const char *name, const char *zone, int cpu, int mem_gi)
{
    char mem[32];
    snprintf(mem, sizeof mem, "%dGi", mem_gi);
    mk_node_full(f, name, zone, cpu, mem, 1, "", "[]");
}

/* A pod asking for cpu (a quantity) and 256Mi; extra is JSON members added to the spec ("" for
 * none). */
static void mk_pod(struct fx *f, const char *name, const char *cpu, const char *extra)
{
    char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"app:1\","
             "\"resources\":{\"requests\":{\"cpu\":\"%s\",\"memory\":\"256Mi\"}}}]%s%s}}",
             name, cpu, extra[0] ? "," : "", extra);
    create(f, "pods", "default", buf);
}

static json_t *get(struct fx *f, const char *res, const char *ns, const char *name)
{
    json_t *o = NULL;
    if (sim_kube_get(f->k, res, ns, name, &o, NULL) != 0)
        return NULL;
    return o;
}

/* The pod's spec.nodeName ("" when unbound, "(gone)" when the pod does not exist), copied. */
static const char *node_of(struct fx *f, const char *pod, char *out, size_t outsz)
{
    json_t *p = get(f, "pods", "default", pod);
    const char *n;
    if (!p) {
        core_strlcpy(out, "(gone)", outsz);
        return out;
    }
    n = json_string_value(json_object_get(json_object_get(p, "spec"), "nodeName"));
    core_strlcpy(out, n ? n : "", outsz);
    json_decref(p);
    return out;
}

/* The PodScheduled condition's message when it is False/Unschedulable, copied; "" otherwise. */
static const char *unsched_msg(struct fx *f, const char *pod, char *out, size_t outsz)
{
    json_t *p = get(f, "pods", "default", pod), *v;
    size_t i;
    out[0] = '\0';
    json_array_foreach(json_object_get(json_object_get(p, "status"), "conditions"), i, v) {
        const char *t = json_string_value(json_object_get(v, "type"));
        const char *r = json_string_value(json_object_get(v, "reason"));
        const char *s = json_string_value(json_object_get(v, "status"));
        const char *m = json_string_value(json_object_get(v, "message"));
        if (t && strcmp(t, "PodScheduled") == 0 && r && strcmp(r, "Unschedulable") == 0 && s &&
            strcmp(s, "False") == 0 && m)
            core_strlcpy(out, m, outsz);
    }
    json_decref(p);
    return out;
}

static struct sim_cluster_stats stats(struct fx *f)
{
    struct sim_cluster_stats st;
    sim_cluster_stats(f->c, &st);
    return st;
}

/* ---- resources ----------------------------------------------------------------------------- */

static void test_resources_fit_and_unschedulable(void)
{
    struct fx f;
    char buf[512];

    fx_open(&f);
    mk_node(&f, "node-a", ZA, 2, 8);
    mk_pod(&f, "small", "500m", "");
    mk_pod(&f, "big", "4", "");
    run_for(&f, S(1));
    ASSERT_STR(node_of(&f, "small", buf, sizeof buf), "node-a");
    ASSERT_STR(node_of(&f, "big", buf, sizeof buf), "");
    ASSERT_STR(unsched_msg(&f, "big", buf, sizeof buf),
               "0/1 nodes are available: 1 Insufficient cpu.");
    CU_ASSERT_EQUAL(stats(&f).pods_bound, 1);
    CU_ASSERT_EQUAL(stats(&f).pods_unschedulable, 1);

    /* 1.5 cores remain: a 1.5-core pod fits, then nothing more does. Later batches keep the
     * big pod's message as it is: no rewrite, no count. */
    mk_pod(&f, "fits-exactly", "1500m", "");
    mk_pod(&f, "one-too-many", "100m", "");
    run_for(&f, S(1));
    ASSERT_STR(node_of(&f, "fits-exactly", buf, sizeof buf), "node-a");
    ASSERT_STR(node_of(&f, "one-too-many", buf, sizeof buf), "");
    ASSERT_STR(unsched_msg(&f, "one-too-many", buf, sizeof buf),
               "0/1 nodes are available: 1 Insufficient cpu.");
    CU_ASSERT_EQUAL(stats(&f).pods_unschedulable, 2);

    /* A second node changes the message ("sorted as strings", kube-scheduler's histogram). */
    mk_node_full(&f, "node-b", ZB, 8, "128Mi", 1, "", "[]");
    run_for(&f, S(1));
    ASSERT_STR(node_of(&f, "one-too-many", buf, sizeof buf), "");
    ASSERT_STR(node_of(&f, "big", buf, sizeof buf), "");
    ASSERT_STR(unsched_msg(&f, "big", buf, sizeof buf),
               "0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.");
    ASSERT_STR(unsched_msg(&f, "one-too-many", buf, sizeof buf),
               "0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.");
    fx_close(&f);
}

static void test_init_containers_and_extended_resources(void)
{
    struct fx f;
    char buf[512];

    fx_open(&f);
    mk_node(&f, "node-a", ZA, 4, 8);
    /* An init container asking for more than the node: effective request is its 6 cores. */
    create(&f, "pods", "default",
           "{\"metadata\":{\"name\":\"init-heavy\"},\"spec\":{"
           "\"initContainers\":[{\"name\":\"i\",\"image\":\"x\","
           "\"resources\":{\"requests\":{\"cpu\":\"6\"}}}],"
           "\"containers\":[{\"name\":\"c\",\"image\":\"x\","
           "\"resources\":{\"requests\":{\"cpu\":\"1\"}}}]}}");
    create(&f, "pods", "default",
           "{\"metadata\":{\"name\":\"gpu\"},\"spec\":{\"containers\":[{\"name\":\"c\","
           "\"image\":\"x\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\"}}}]}}");
    run_for(&f, S(1));
    ASSERT_STR(unsched_msg(&f, "init-heavy", buf, sizeof buf),
               "0/1 nodes are available: 1 Insufficient cpu.");
    ASSERT_STR(unsched_msg(&f, "gpu", buf, sizeof buf),
               "0/1 nodes are available: 1 Insufficient nvidia.com/gpu.");
    fx_close(&f);
}

/* ---- node selection ------------------------------------------------------------------------ */

static void test_node_selector_and_affinity(void)
{
    struct fx f;
    char buf[512];

    fx_open(&f);
    mk_node(&f, "node-a", ZA, 4, 16);
    mk_node_full(&f, "node-b", ZB, 4, "16Gi", 1, "\"disk\":\"ssd\"", "[]");
    mk_pod(&f, "wants-ssd", "100m", "\"nodeSelector\":{\"disk\":\"ssd\"}");
    mk_pod(&f, "wants-a", "100m",
           "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
           "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":"
           "\"topology.kubernetes.io/zone\",\"operator\":\"In\",\"values\":[\"" ZA "\"]}]}]}}}");
    mk_pod(&f, "not-b", "100m",
           "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
           "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"disk\","
           "\"operator\":\"DoesNotExist\"}]}]}}}");
    mk_pod(&f, "wants-c", "100m",
           "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
           "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":"
           "\"topology.kubernetes.io/zone\",\"operator\":\"In\",\"values\":[\"" ZC "\"]}]}]}}}");
    run_for(&f, S(1));
    ASSERT_STR(node_of(&f, "wants-ssd", buf, sizeof buf), "node-b");
    ASSERT_STR(node_of(&f, "wants-a", buf, sizeof buf), "node-a");
    ASSERT_STR(node_of(&f, "not-b", buf, sizeof buf), "node-a");
    ASSERT_STR(node_of(&f, "wants-c", buf, sizeof buf), "");
    ASSERT_STR(unsched_msg(&f, "wants-c", buf, sizeof buf),
               "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.");
    fx_close(&f);
}

static void test_taints_and_tolerations(void)
{
    struct fx f;
    char buf[512];

    fx_open(&f);
    mk_node_full(&f, "gpu-node", ZA, 8, "32Gi", 1, "",
                 "[{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"},"
                 "{\"key\":\"soft\",\"effect\":\"PreferNoSchedule\"}]");
    mk_node_full(&f, "not-ready", ZA, 8, "32Gi", 0, "", "[]");
    mk_pod(&f, "plain", "100m", "");
    mk_pod(&f, "tolerant", "100m",
           "\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"gpu\","
           "\"effect\":\"NoSchedule\"}]");
    run_for(&f, S(1));
    ASSERT_STR(node_of(&f, "plain", buf, sizeof buf), "");
    ASSERT_STR(unsched_msg(&f, "plain", buf, sizeof buf),
               "0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
               "1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.");
    /* PreferNoSchedule does not filter; the NotReady node is never chosen. */
    ASSERT_STR(node_of(&f, "tolerant", buf, sizeof buf), "gpu-node");
    fx_close(&f);
}

static void test_least_requested_spreads(void)
{
    struct fx f;
    char buf[64], name[16];
    int per[3] = {0, 0, 0};

    fx_open(&f);
    mk_node(&f, "node-c", ZC, 4, 16);
    mk_node(&f, "node-a", ZA, 4, 16);
    mk_node(&f, "node-b", ZB, 4, 16);
    mk_pod(&f, "p0", "1", "");
    run_for(&f, S(1));
    /* Equal scores: the first name wins. */
    ASSERT_STR(node_of(&f, "p0", buf, sizeof buf), "node-a");
    for (int i = 1; i < 6; i++) {
        snprintf(name, sizeof name, "p%d", i);
        mk_pod(&f, name, "1", "");
    }
    run_for(&f, S(1));
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "p%d", i);
        node_of(&f, name, buf, sizeof buf);
        CU_ASSERT(strlen(buf) == 6);
        if (strlen(buf) == 6 && buf[5] >= 'a' && buf[5] <= 'c')
            per[buf[5] - 'a']++;
    }
    CU_ASSERT_EQUAL(per[0], 2);
    CU_ASSERT_EQUAL(per[1], 2);
    CU_ASSERT_EQUAL(per[2], 2);
    CU_ASSERT_EQUAL(stats(&f).pods_bound, 6);
    fx_close(&f);
}

/* ---- scale: equivalence classes, stable messages --------------------------------------------- */

/* The pod's metadata.resourceVersion, copied ("" when the pod does not exist). */
static const char *rv_of(struct fx *f, const char *pod, char *out, size_t outsz)
{
    json_t *p = get(f, "pods", "default", pod);
    const char *v = json_string_value(
        json_object_get(json_object_get(p, "metadata"), "resourceVersion"));
    core_strlcpy(out, v ? v : "", outsz);
    json_decref(p);
    return out;
}

/* An Unschedulable message whose counts alone would change (more nodes, the same reasons) is
 * not rewritten until 5 minutes (kube-scheduler's podMaxInUnschedulablePodsDuration) have
 * passed since its last write; a pod joining the class meanwhile gets the current counts; a
 * new reason is written at once once the backoff has passed. */
static void test_unschedulable_counts_only_kept(void)
{
    struct fx f;
    char buf[512], rv0[64], rv1[64], name[16];

    fx_open(&f);
    mk_node(&f, "node-a", ZA, 1, 8);
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "big-%d", i);
        mk_pod(&f, name, "4", "");
    }
    run_for(&f, S(1));
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "big-%d", i);
        ASSERT_STR(unsched_msg(&f, name, buf, sizeof buf),
                   "0/1 nodes are available: 1 Insufficient cpu.");
    }
    CU_ASSERT_EQUAL(stats(&f).pods_unschedulable, 3);
    rv_of(&f, "big-0", rv0, sizeof rv0);

    /* Two more nodes, no more room: the same reason, other counts. */
    mk_node(&f, "node-b", ZB, 1, 8);
    mk_node(&f, "node-c", ZC, 1, 8);
    run_for(&f, S(30));
    ASSERT_STR(unsched_msg(&f, "big-0", buf, sizeof buf),
               "0/1 nodes are available: 1 Insufficient cpu.");
    ASSERT_STR(rv_of(&f, "big-0", rv1, sizeof rv1), rv0);
    CU_ASSERT_EQUAL(stats(&f).pods_unschedulable, 3);

    /* A newcomer of the same spec is marked with today's counts; the others stay. */
    mk_pod(&f, "big-3", "4", "");
    run_for(&f, S(1));
    ASSERT_STR(unsched_msg(&f, "big-3", buf, sizeof buf),
               "0/3 nodes are available: 3 Insufficient cpu.");
    ASSERT_STR(unsched_msg(&f, "big-2", buf, sizeof buf),
               "0/1 nodes are available: 1 Insufficient cpu.");
    CU_ASSERT_EQUAL(stats(&f).pods_unschedulable, 4);

    /* Five minutes on, the next batch brings every member's counts up to date. */
    run_for(&f, S(320));
    mk_node(&f, "node-d", ZA, 1, 8);
    run_for(&f, S(1));
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "big-%d", i);
        ASSERT_STR(unsched_msg(&f, name, buf, sizeof buf),
                   "0/4 nodes are available: 4 Insufficient cpu.");
    }
    CU_ASSERT_EQUAL(stats(&f).pods_unschedulable, 8);

    /* A new reason (a NotReady node) is a new message, without waiting for the refresh. */
    run_for(&f, S(15));
    mk_node_full(&f, "node-e", ZB, 8, "16Gi", 0, "", "[]");
    run_for(&f, S(1));
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "big-%d", i);
        ASSERT_STR(unsched_msg(&f, name, buf, sizeof buf),
                   "0/5 nodes are available: 1 node(s) had untolerated taint "
                   "{node.kubernetes.io/not-ready: }, 4 Insufficient cpu.");
    }
    CU_ASSERT_EQUAL(stats(&f).pods_unschedulable, 12);
    CU_ASSERT_EQUAL(stats(&f).pods_bound, 0);
    fx_close(&f);
}

/* A reference scheduler for the mixed fixture: creation (name) order, filters Ready, the one
 * NoSchedule taint, cpu / memory / pods; least requested wins, ties by name. Every pod there
 * asks for cpu and memory, so the non-zero defaults play no part. */
struct ref_node {
    const char *name;
    int64_t acpu, amem, apods, cpu, mem, pods;
    int ready, tainted;
};
struct ref_pod {
    char name[16];
    int64_t cpu, mem;
    int tolerates;
    int node; /* index, or -1 */
};

static double ref_score(const struct ref_node *n, const struct ref_pod *p)
{
    int64_t cpu = p->cpu + n->cpu, mem = p->mem + n->mem;
    double s = 0;
    if (n->acpu > 0 && cpu < n->acpu)
        s += (double)(n->acpu - cpu) / (double)n->acpu;
    if (n->amem > 0 && mem < n->amem)
        s += (double)(n->amem - mem) / (double)n->amem;
    return s / 2.0;
}

static void ref_schedule(struct ref_node *n, size_t nn, struct ref_pod *p, size_t np)
{
    for (size_t i = 0; i < np; i++) {
        int best = -1;
        double best_s = -1;
        if (p[i].node >= 0)
            continue;
        for (size_t j = 0; j < nn; j++) {
            double s;
            if (!n[j].ready || (n[j].tainted && !p[i].tolerates) ||
                n[j].cpu + p[i].cpu > n[j].acpu || n[j].mem + p[i].mem > n[j].amem ||
                n[j].pods + 1000 > n[j].apods)
                continue;
            s = ref_score(&n[j], &p[i]);
            if (best < 0 || s > best_s || (s == best_s && strcmp(n[j].name, n[best].name) < 0)) {
                best = (int)j;
                best_s = s;
            }
        }
        if (best >= 0) {
            p[i].node = best;
            n[best].cpu += p[i].cpu;
            n[best].mem += p[i].mem;
            n[best].pods += 1000;
        }
    }
}

#define GI(x) ((int64_t)(x) * 1024 * 1024 * 1024 * 1000)
#define MI(x) ((int64_t)(x) * 1024 * 1024 * 1000)

/* Several classes of equivalent pods interleaved in creation order, nodes that differ in size,
 * readiness and taints, over two batches: every pod lands where the reference puts it (the
 * class memo, the per-class list of nodes that fit and the passes over classes that fit
 * nowhere change the work, not the decisions), and no node is overcommitted. */
static void test_mixed_classes_match_reference(void)
{
    static const char tol[] = "\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Equal\","
                              "\"value\":\"gpu\",\"effect\":\"NoSchedule\"}]";
    struct ref_node n[] = {
        {"n-a", 4000, GI(8), 110000, 0, 0, 0, 1, 0},
        {"n-b", 2000, GI(8), 110000, 0, 0, 0, 1, 0},
        {"n-c", 3000, GI(1), 110000, 0, 0, 0, 1, 0},
        {"n-d", 8000, GI(32), 110000, 0, 0, 0, 0, 0},
        {"n-e", 4000, GI(16), 110000, 0, 0, 0, 1, 1},
        {"n-f", 6000, GI(8), 110000, 0, 0, 0, 1, 0},
    };
    struct ref_pod p[24];
    struct fx f;
    char buf[64];
    unsigned bound = 0, want_bound = 0;

    fx_open(&f);
    mk_node(&f, "n-a", ZA, 4, 8);
    mk_node(&f, "n-b", ZB, 2, 8);
    mk_node_full(&f, "n-c", ZC, 3, "1Gi", 1, "", "[]");
    mk_node_full(&f, "n-d", ZA, 8, "32Gi", 0, "", "[]");
    mk_node_full(&f, "n-e", ZB, 4, "16Gi", 1, "",
                 "[{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"}]");
    for (unsigned i = 0; i < 24; i++) {
        static const char *const cpu[6] = {"700m", "500m", "700m", "3", "700m", "500m"};
        static const int64_t milli[6] = {700, 500, 700, 3000, 700, 500};
        unsigned k = i % 6;
        snprintf(p[i].name, sizeof p[i].name, "p%02u", i);
        p[i].cpu = milli[k];
        p[i].mem = MI(256);
        p[i].tolerates = k == 1 || k == 5;
        p[i].node = -1;
        mk_pod(&f, p[i].name, cpu[k], p[i].tolerates ? tol : "");
    }
    run_for(&f, S(1));
    ref_schedule(n, 5, p, 24);
    for (int i = 0; i < 24; i++)
        ASSERT_STR(node_of(&f, p[i].name, buf, sizeof buf), p[i].node >= 0 ? n[p[i].node].name : "");

    /* A sixth node: the pods still pending get another batch, in the same order. */
    mk_node(&f, "n-f", ZC, 6, 8);
    run_for(&f, S(1));
    ref_schedule(n, 6, p, 24);
    for (int i = 0; i < 24; i++) {
        ASSERT_STR(node_of(&f, p[i].name, buf, sizeof buf), p[i].node >= 0 ? n[p[i].node].name : "");
        if (p[i].node >= 0)
            want_bound++;
        if (buf[0])
            bound++;
    }
    CU_ASSERT_EQUAL(bound, want_bound);
    CU_ASSERT(want_bound > 8 && want_bound < 24); /* the fixture is a mix of both */
    CU_ASSERT_EQUAL(stats(&f).pods_bound, want_bound);
    for (size_t j = 0; j < 6; j++)
        CU_ASSERT(n[j].cpu <= n[j].acpu && n[j].mem <= n[j].amem);
    /* Pods left: each says why, with the six nodes counted. */
    for (int i = 0; i < 24; i++)
        if (p[i].node < 0) {
            char msg[512];
            unsched_msg(&f, p[i].name, msg, sizeof msg);
            CU_ASSERT(strncmp(msg, "0/", 2) == 0);
        }
    fx_close(&f);
}

/* Pending pods deleted from the middle of the order (its holes, the class's unsynced list),
 * then room for some: the rest bind in creation order, a newcomer of the class is marked. */
static void test_pending_deleted_then_room(void)
{
    struct fx f;
    char buf[512], name[16];

    fx_open(&f);
    mk_node(&f, "node-a", ZA, 1, 8);
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "q%d", i);
        mk_pod(&f, name, "2", "");
    }
    run_for(&f, S(1));
    ASSERT_STR(unsched_msg(&f, "q4", buf, sizeof buf),
               "0/1 nodes are available: 1 Insufficient cpu.");
    CU_ASSERT_EQUAL(sim_kube_delete(f.k, "pods", "default", "q1", NULL), 0);
    CU_ASSERT_EQUAL(sim_kube_delete(f.k, "pods", "default", "q4", NULL), 0);
    run_for(&f, S(1));
    mk_node(&f, "node-big", ZB, 6, 16); /* three of the four left */
    run_for(&f, S(1));
    ASSERT_STR(node_of(&f, "q0", buf, sizeof buf), "node-big");
    ASSERT_STR(node_of(&f, "q1", buf, sizeof buf), "(gone)");
    ASSERT_STR(node_of(&f, "q2", buf, sizeof buf), "node-big");
    ASSERT_STR(node_of(&f, "q3", buf, sizeof buf), "node-big");
    ASSERT_STR(node_of(&f, "q4", buf, sizeof buf), "(gone)");
    ASSERT_STR(node_of(&f, "q5", buf, sizeof buf), "");
    CU_ASSERT_EQUAL(stats(&f).pods_bound, 3);
    /* q5 keeps its first message (the counts alone changed); a newcomer gets today's. */
    ASSERT_STR(unsched_msg(&f, "q5", buf, sizeof buf),
               "0/1 nodes are available: 1 Insufficient cpu.");
    mk_pod(&f, "q6", "2", "");
    run_for(&f, S(1));
    ASSERT_STR(unsched_msg(&f, "q6", buf, sizeof buf),
               "0/2 nodes are available: 2 Insufficient cpu.");
    fx_close(&f);
}

/* ---- volumes ------------------------------------------------------------------------------- */

static const char *pv_zone(const json_t *pv, const char *key)
{
    json_t *terms = json_object_get(json_object_get(json_object_get(json_object_get(pv, "spec"),
                                                                    "nodeAffinity"),
                                                    "required"),
                                    "nodeSelectorTerms"),
           *t;
    size_t i;
    json_array_foreach(terms, i, t) {
        json_t *e = json_array_get(json_object_get(t, "matchExpressions"), 0);
        const char *k = json_string_value(json_object_get(e, "key"));
        if (k && strcmp(k, key) == 0)
            return json_string_value(json_array_get(json_object_get(e, "values"), 0));
    }
    return NULL;
}

#define CLAIM_VOL(claim)                                                                      \
    "\"volumes\":[{\"name\":\"data\",\"persistentVolumeClaim\":{\"claimName\":\"" claim "\"}}]"

static void test_wffc_provisions_in_node_zone(void)
{
    struct fx f;
    char buf[512], pvname[128];
    json_t *pvc, *pv;
    const char *uid, *vn;

    fx_open(&f);
    create(&f, "storageclasses.storage.k8s.io", NULL,
           "{\"metadata\":{\"name\":\"gp3\"},\"provisioner\":\"ebs.csi.aws.com\","
           "\"volumeBindingMode\":\"WaitForFirstConsumer\"}");
    mk_node(&f, "node-a", ZA, 2, 8);
    mk_node(&f, "node-b", ZB, 8, 32); /* more room: least-requested picks it */
    create(&f, "persistentvolumeclaims", "default",
           "{\"metadata\":{\"name\":\"data\"},\"spec\":{\"storageClassName\":\"gp3\","
           "\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":"
           "\"20Gi\"}}}}");
    run_for(&f, S(1));
    /* WaitForFirstConsumer: nothing before a pod. */
    pvc = get(&f, "persistentvolumeclaims", "default", "data");
    CU_ASSERT_PTR_NULL(json_object_get(json_object_get(pvc, "spec"), "volumeName"));
    json_decref(pvc);
    CU_ASSERT_EQUAL(stats(&f).volumes_provisioned, 0);

    mk_pod(&f, "db", "500m", CLAIM_VOL("data"));
    run_for(&f, S(1));
    ASSERT_STR(node_of(&f, "db", buf, sizeof buf), "node-b");
    CU_ASSERT_EQUAL(stats(&f).volumes_provisioned, 1);
    pvc = get(&f, "persistentvolumeclaims", "default", "data");
    CU_ASSERT_PTR_NOT_NULL_FATAL(pvc);
    uid = json_string_value(json_object_get(json_object_get(pvc, "metadata"), "uid"));
    vn = json_string_value(json_object_get(json_object_get(pvc, "spec"), "volumeName"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(uid);
    snprintf(pvname, sizeof pvname, "pvc-%s", uid);
    ASSERT_STR(vn, pvname);
    ASSERT_STR(json_string_value(json_object_get(json_object_get(pvc, "status"), "phase")),
               "Bound");
    ASSERT_STR(json_string_value(json_object_get(
                   json_object_get(json_object_get(pvc, "metadata"), "annotations"),
                   "volume.kubernetes.io/selected-node")),
               "node-b");
    json_decref(pvc);
    pv = get(&f, "persistentvolumes", NULL, pvname);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pv);
    ASSERT_STR(pv_zone(pv, "topology.ebs.csi.aws.com/zone"), ZB);
    ASSERT_STR(pv_zone(pv, "topology.kubernetes.io/zone"), ZB);
    ASSERT_STR(json_string_value(json_object_get(
                   json_object_get(json_object_get(pv, "spec"), "capacity"), "storage")),
               "20Gi");
    ASSERT_STR(json_string_value(json_object_get(
                   json_object_get(json_object_get(pv, "spec"), "csi"), "driver")),
               "ebs.csi.aws.com");
    {
        const char *h = json_string_value(json_object_get(
            json_object_get(json_object_get(pv, "spec"), "csi"), "volumeHandle"));
        CU_ASSERT(h && strncmp(h, "vol-", 4) == 0 && strlen(h) == 21);
    }
    ASSERT_STR(json_string_value(json_object_get(
                   json_object_get(json_object_get(pv, "spec"), "claimRef"), "name")),
               "data");
    ASSERT_STR(json_string_value(json_object_get(json_object_get(pv, "spec"),
                                                 "storageClassName")),
               "gp3");
    json_decref(pv);

    /* The pod goes and its node is cordoned: the replacement cannot follow the volume to
     * another zone, although node-a has room. */
    CU_ASSERT_EQUAL(sim_kube_delete(f.k, "pods", "default", "db", NULL), 0);
    {
        json_t *p = J("{\"spec\":{\"unschedulable\":true}}");
        CU_ASSERT_EQUAL(sim_kube_patch(f.k, "nodes", NULL, "node-b", p, 0, NULL, NULL), 0);
        json_decref(p);
    }
    mk_pod(&f, "db2", "500m", CLAIM_VOL("data"));
    run_for(&f, S(1));
    ASSERT_STR(node_of(&f, "db2", buf, sizeof buf), "");
    ASSERT_STR(unsched_msg(&f, "db2", buf, sizeof buf),
               "0/2 nodes are available: 1 node(s) had volume node affinity conflict, "
               "1 node(s) were unschedulable.");
    /* A node in the volume's zone takes it; no second volume. */
    mk_node(&f, "node-b2", ZB, 2, 8);
    run_for(&f, S(1));
    ASSERT_STR(node_of(&f, "db2", buf, sizeof buf), "node-b2");
    CU_ASSERT_EQUAL(stats(&f).volumes_provisioned, 1);
    fx_close(&f);
}

static void test_wffc_allowed_topologies(void)
{
    struct fx f;
    char buf[512];

    fx_open(&f);
    create(&f, "storageclasses.storage.k8s.io", NULL,
           "{\"metadata\":{\"name\":\"only-c\"},\"provisioner\":\"ebs.csi.aws.com\","
           "\"volumeBindingMode\":\"WaitForFirstConsumer\",\"allowedTopologies\":[{"
           "\"matchLabelExpressions\":[{\"key\":\"topology.kubernetes.io/zone\","
           "\"values\":[\"" ZC "\"]}]}]}");
    mk_node(&f, "node-a", ZA, 4, 16);
    create(&f, "persistentvolumeclaims", "default",
           "{\"metadata\":{\"name\":\"cdata\"},\"spec\":{\"storageClassName\":\"only-c\","
           "\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":"
           "\"1Gi\"}}}}");
    mk_pod(&f, "c-pod", "100m", CLAIM_VOL("cdata"));
    run_for(&f, S(1));
    ASSERT_STR(unsched_msg(&f, "c-pod", buf, sizeof buf),
               "0/1 nodes are available: 1 node(s) didn't find available persistent volumes "
               "to bind.");
    mk_node(&f, "node-c", ZC, 4, 16);
    run_for(&f, S(1));
    ASSERT_STR(node_of(&f, "c-pod", buf, sizeof buf), "node-c");
    fx_close(&f);
}

static void test_immediate_class(void)
{
    struct fx f;
    char buf[512];
    json_t *pvc, *pv;
    const char *vn;

    fx_open(&f);
    create(&f, "storageclasses.storage.k8s.io", NULL,
           "{\"metadata\":{\"name\":\"now\",\"annotations\":{"
           "\"storageclass.kubernetes.io/is-default-class\":\"true\"}},"
           "\"provisioner\":\"ebs.csi.aws.com\",\"volumeBindingMode\":\"Immediate\"}");
    mk_node(&f, "node-a", ZA, 4, 16);
    mk_node(&f, "node-b1", ZB, 2, 8);
    mk_node(&f, "node-b2", ZB, 2, 8);
    /* No storageClassName: the default class applies. */
    create(&f, "persistentvolumeclaims", "default",
           "{\"metadata\":{\"name\":\"logs\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],"
           "\"resources\":{\"requests\":{\"storage\":\"5Gi\"}}}}");
    run_for(&f, S(1));
    /* Bound without any pod, in the zone with most nodes. */
    pvc = get(&f, "persistentvolumeclaims", "default", "logs");
    vn = json_string_value(json_object_get(json_object_get(pvc, "spec"), "volumeName"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(vn);
    pv = get(&f, "persistentvolumes", NULL, vn);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pv);
    ASSERT_STR(pv_zone(pv, "topology.kubernetes.io/zone"), ZB);
    json_decref(pv);
    json_decref(pvc);
    CU_ASSERT_EQUAL(stats(&f).volumes_provisioned, 1);
    /* node-a has the most room but the wrong zone. */
    mk_pod(&f, "logger", "100m", CLAIM_VOL("logs"));
    run_for(&f, S(1));
    node_of(&f, "logger", buf, sizeof buf);
    CU_ASSERT(strcmp(buf, "node-b1") == 0 || strcmp(buf, "node-b2") == 0);
    fx_close(&f);
}

static void test_missing_and_deleting_pvc(void)
{
    struct fx f;
    char buf[512];

    fx_open(&f);
    mk_node(&f, "node-a", ZA, 4, 16);
    mk_pod(&f, "orphan", "100m", CLAIM_VOL("nope"));
    run_for(&f, S(1));
    ASSERT_STR(node_of(&f, "orphan", buf, sizeof buf), "");
    ASSERT_STR(unsched_msg(&f, "orphan", buf, sizeof buf),
               "0/1 nodes are available: persistentvolumeclaim \"nope\" not found.");

    create(&f, "persistentvolumeclaims", "default",
           "{\"metadata\":{\"name\":\"going\",\"finalizers\":[\"kubernetes.io/pvc-protection\"]},"
           "\"spec\":{\"storageClassName\":\"none\",\"accessModes\":[\"ReadWriteOnce\"],"
           "\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}");
    CU_ASSERT_EQUAL(sim_kube_delete(f.k, "persistentvolumeclaims", "default", "going", NULL), 0);
    mk_pod(&f, "late", "100m", CLAIM_VOL("going"));
    mk_pod(&f, "noclass", "100m", "\"volumes\":[]");
    run_for(&f, S(1));
    ASSERT_STR(unsched_msg(&f, "late", buf, sizeof buf),
               "0/1 nodes are available: persistentvolumeclaim \"going\" is being deleted.");
    ASSERT_STR(node_of(&f, "noclass", buf, sizeof buf), "node-a");
    fx_close(&f);
}

/* ---- pod GC -------------------------------------------------------------------------------- */

static void test_pod_gc_after_node_deletion(void)
{
    struct fx f;
    char buf[64];

    fx_open(&f);
    mk_node(&f, "node-a", ZA, 4, 16);
    mk_node(&f, "node-b", ZB, 1, 16);
    mk_pod(&f, "victim", "2", ""); /* only node-a fits */
    run_for(&f, S(1));
    ASSERT_STR(node_of(&f, "victim", buf, sizeof buf), "node-a");
    CU_ASSERT_EQUAL(sim_kube_delete(f.k, "nodes", NULL, "node-a", NULL), 0);
    run_for(&f, S(1));
    ASSERT_STR(node_of(&f, "victim", buf, sizeof buf), "(gone)");
    CU_ASSERT_EQUAL(stats(&f).pods_collected, 1);
    fx_close(&f);
}

/* A Node held by a finalizer after its delete takes no new pods; an orphaned pod that is
 * already terminating is collected (and counted) once. */
static void test_deleting_node_not_used(void)
{
    struct fx f;
    char buf[64];
    json_t *fin;

    fx_open(&f);
    mk_node(&f, "dying", ZA, 8, 16);
    fin = J("{\"metadata\":{\"finalizers\":[\"stoker.dev/termination\"]}}");
    CU_ASSERT_EQUAL(sim_kube_patch(f.k, "nodes", NULL, "dying", fin, 0, NULL, NULL), 0);
    json_decref(fin);
    CU_ASSERT_EQUAL(sim_kube_delete(f.k, "nodes", NULL, "dying", NULL), 0);
    mk_node(&f, "small", ZB, 1, 16);
    mk_pod(&f, "p", "500m", "");
    run_for(&f, S(1));
    ASSERT_STR(node_of(&f, "p", buf, sizeof buf), "small");
    /* A held pod on a vanished node: deleted once, counted once over many batches. */
    create(&f, "pods", "default",
           "{\"metadata\":{\"name\":\"held\",\"finalizers\":[\"x/y\"]},\"spec\":{"
           "\"nodeName\":\"nowhere\",\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}");
    for (int i = 0; i < 5; i++) {
        mk_pod(&f, i == 0 ? "k0" : i == 1 ? "k1" : i == 2 ? "k2" : i == 3 ? "k3" : "k4", "1m",
               "");
        run_for(&f, S(1));
    }
    CU_ASSERT_EQUAL(stats(&f).pods_collected, 1);
    fx_close(&f);
}

/* NotReady and cordoned nodes refuse ordinary pods but take those tolerating their taints. */
static void test_not_ready_tolerated(void)
{
    struct fx f;
    char buf[64];

    fx_open(&f);
    mk_node_full(&f, "booting", ZA, 4, "16Gi", 0, "", "[]");
    mk_pod(&f, "plain", "100m", "");
    mk_pod(&f, "ds", "100m", "\"tolerations\":[{\"operator\":\"Exists\"}]");
    run_for(&f, S(1));
    ASSERT_STR(node_of(&f, "plain", buf, sizeof buf), "");
    ASSERT_STR(node_of(&f, "ds", buf, sizeof buf), "booting");
    fx_close(&f);
}

/* ---- workloads ----------------------------------------------------------------------------- */

struct podset {
    char names[16][64];
    char nodes[16][64];
    long long seq[16];
    size_t n;
};

static void list_workload(struct fx *f, const char *wl, struct podset *ps)
{
    char sel[128];
    json_t *items = NULL, *p;
    size_t i;
    memset(ps, 0, sizeof *ps);
    snprintf(sel, sizeof sel, "stoker.dev/sim-workload=%s", wl);
    CU_ASSERT_EQUAL_FATAL(sim_kube_list(f->k, "pods", "default", sel, NULL, &items, NULL), 0);
    json_array_foreach(items, i, p) {
        json_t *meta = json_object_get(p, "metadata");
        const char *n = json_string_value(json_object_get(meta, "name"));
        const char *nn = json_string_value(json_object_get(json_object_get(p, "spec"),
                                                           "nodeName"));
        const char *sq = json_string_value(json_object_get(json_object_get(meta, "annotations"),
                                                           "stoker.dev/sim-seq"));
        int64_t v = 0;
        if (ps->n < 16) {
            core_strlcpy(ps->names[ps->n], n ? n : "", sizeof ps->names[0]);
            core_strlcpy(ps->nodes[ps->n], nn ? nn : "", sizeof ps->nodes[0]);
            if (sq && core_parse_i64(sq, 0, INT64_MAX, &v) == 0)
                ps->seq[ps->n] = (long long)v;
            ps->n++;
        }
    }
    json_decref(items);
}

static int podset_has(const struct podset *ps, const char *name)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->names[i], name) == 0)
            return 1;
    return 0;
}

static void test_workload_deployment_scales(void)
{
    static const struct sim_workload_step steps[] = {{S(60), 2}, {0, 0}, {S(10), 5}};
    struct sim_workload_spec spec;
    struct podset ps, five;
    struct core_err err;
    char oldest[2][64];
    json_t *tmpl;
    struct fx f;

    fx_open(&f);
    mk_node(&f, "node-a", ZA, 8, 32);
    mk_node(&f, "node-b", ZB, 8, 32);
    tmpl = J("{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{"
             "\"name\":\"c\",\"image\":\"web:1\",\"resources\":{\"requests\":{\"cpu\":"
             "\"100m\"}}}]}}");
    memset(&spec, 0, sizeof spec);
    spec.name = "web";
    spec.pod_template = tmpl;
    spec.steps = steps; /* out of order on purpose: the driver sorts them */
    spec.nsteps = 3;
    CU_ASSERT_EQUAL(sim_cluster_add_workload(f.c, &spec, &err), 0);
    CU_ASSERT_EQUAL(sim_cluster_add_workload(f.c, &spec, &err), CORE_E_CONFLICT);
    spec.name = "Bad_Name";
    CU_ASSERT_EQUAL(sim_cluster_add_workload(f.c, &spec, &err), CORE_E_INVAL);
    spec.name = "web";

    run_for(&f, S(5));
    list_workload(&f, "web", &ps);
    CU_ASSERT_EQUAL(ps.n, 0);

    run_for(&f, S(10)); /* t = 15 s */
    list_workload(&f, "web", &five);
    CU_ASSERT_EQUAL_FATAL(five.n, 5);
    for (size_t i = 0; i < five.n; i++) {
        CU_ASSERT(strncmp(five.names[i], "web-", 4) == 0 && strlen(five.names[i]) == 9);
        CU_ASSERT(five.nodes[i][0] != '\0');
        if (five.seq[i] == 1 || five.seq[i] == 2)
            core_strlcpy(oldest[five.seq[i] - 1], five.names[i], sizeof oldest[0]);
    }
    {
        /* The template's labels are kept. */
        json_t *p = get(&f, "pods", "default", five.names[0]);
        ASSERT_STR(json_string_value(json_object_get(
                       json_object_get(json_object_get(p, "metadata"), "labels"), "app")),
                   "web");
        json_decref(p);
    }

    run_for(&f, S(50)); /* t = 65 s: 2 replicas, the oldest kept */
    list_workload(&f, "web", &ps);
    CU_ASSERT_EQUAL_FATAL(ps.n, 2);
    CU_ASSERT(podset_has(&ps, oldest[0]));
    CU_ASSERT(podset_has(&ps, oldest[1]));

    /* A pod deleted by someone else is replaced. */
    CU_ASSERT_EQUAL(sim_kube_delete(f.k, "pods", "default", oldest[0], NULL), 0);
    run_for(&f, S(1));
    list_workload(&f, "web", &ps);
    CU_ASSERT_EQUAL(ps.n, 2);
    CU_ASSERT(!podset_has(&ps, oldest[0]));
    CU_ASSERT(podset_has(&ps, oldest[1]));
    json_decref(tmpl);
    fx_close(&f);
}

static const char *pvc_volume(struct fx *f, const char *name, char *out, size_t outsz)
{
    json_t *pvc = get(f, "persistentvolumeclaims", "default", name);
    const char *v = json_string_value(json_object_get(json_object_get(pvc, "spec"),
                                                      "volumeName"));
    core_strlcpy(out, pvc ? (v ? v : "") : "(gone)", outsz);
    json_decref(pvc);
    return out;
}

static void test_workload_stateful_keeps_claims(void)
{
    static const struct sim_workload_step steps[] = {{0, 2}, {S(100), 1}};
    struct sim_workload_spec spec;
    struct podset ps;
    char vol0[128], vol1[128], buf[128], node0[64];
    json_t *tmpl, *pod;

    struct fx f;
    fx_open(&f);
    create(&f, "storageclasses.storage.k8s.io", NULL,
           "{\"metadata\":{\"name\":\"gp3\"},\"provisioner\":\"ebs.csi.aws.com\","
           "\"volumeBindingMode\":\"WaitForFirstConsumer\"}");
    mk_node(&f, "node-a", ZA, 4, 16);
    mk_node(&f, "node-b", ZB, 4, 16);
    tmpl = J("{\"metadata\":{\"labels\":{\"app\":\"db\"}},\"spec\":{\"containers\":[{"
             "\"name\":\"c\",\"image\":\"db:1\",\"resources\":{\"requests\":{\"cpu\":"
             "\"1\"}}}]}}");
    memset(&spec, 0, sizeof spec);
    spec.name = "db";
    spec.pod_template = tmpl;
    spec.stateful = 1;
    spec.storage_class = "gp3";
    spec.volume_size = "5Gi";
    spec.steps = steps;
    spec.nsteps = 2;
    CU_ASSERT_EQUAL_FATAL(sim_cluster_add_workload(f.c, &spec, NULL), 0);
    run_for(&f, S(2));
    list_workload(&f, "db", &ps);
    CU_ASSERT_EQUAL(ps.n, 2);
    CU_ASSERT(podset_has(&ps, "db-0") && podset_has(&ps, "db-1"));
    node_of(&f, "db-0", node0, sizeof node0);
    CU_ASSERT(node0[0] != '\0');
    pvc_volume(&f, "data-db-0", vol0, sizeof vol0);
    pvc_volume(&f, "data-db-1", vol1, sizeof vol1);
    CU_ASSERT(strncmp(vol0, "pvc-", 4) == 0);
    CU_ASSERT(strncmp(vol1, "pvc-", 4) == 0);
    CU_ASSERT_EQUAL(stats(&f).volumes_provisioned, 2);
    pod = get(&f, "pods", "default", "db-0");
    ASSERT_STR(json_string_value(json_object_get(
                   json_object_get(json_array_get(json_object_get(json_object_get(pod, "spec"),
                                                                  "volumes"),
                                                  0),
                                   "persistentVolumeClaim"),
                   "claimName")),
               "data-db-0");
    json_decref(pod);
    {
        json_t *pvc = get(&f, "persistentvolumeclaims", "default", "data-db-0");
        ASSERT_STR(json_string_value(json_object_get(
                       json_object_get(json_object_get(json_object_get(pvc, "spec"),
                                                       "resources"),
                                       "requests"),
                       "storage")),
                   "5Gi");
        json_decref(pvc);
    }

    /* db-0 goes: it comes back with the same claim and volume, on the volume's node's zone
     * (the only node there), without a new volume. */
    CU_ASSERT_EQUAL(sim_kube_delete(f.k, "pods", "default", "db-0", NULL), 0);
    run_for(&f, S(2));
    ASSERT_STR(node_of(&f, "db-0", buf, sizeof buf), node0);
    ASSERT_STR(pvc_volume(&f, "data-db-0", buf, sizeof buf), vol0);
    CU_ASSERT_EQUAL(stats(&f).volumes_provisioned, 2);

    /* Scale to 1: the highest ordinal goes, its claim stays. */
    run_for(&f, S(100));
    list_workload(&f, "db", &ps);
    CU_ASSERT_EQUAL(ps.n, 1);
    CU_ASSERT(podset_has(&ps, "db-0"));
    ASSERT_STR(pvc_volume(&f, "data-db-1", buf, sizeof buf), vol1);
    json_decref(tmpl);
    fx_close(&f);
}

TESTS_SUITE(sim_cluster_sched, "sim_cluster_sched", NULL, NULL,
            TESTS_CASE(test_resources_fit_and_unschedulable),
            TESTS_CASE(test_init_containers_and_extended_resources),
            TESTS_CASE(test_node_selector_and_affinity), TESTS_CASE(test_taints_and_tolerations),
            TESTS_CASE(test_least_requested_spreads),
            TESTS_CASE(test_unschedulable_counts_only_kept),
            TESTS_CASE(test_mixed_classes_match_reference),
            TESTS_CASE(test_pending_deleted_then_room),
            TESTS_CASE(test_wffc_provisions_in_node_zone),
            TESTS_CASE(test_wffc_allowed_topologies), TESTS_CASE(test_immediate_class),
            TESTS_CASE(test_missing_and_deleting_pvc),
            TESTS_CASE(test_pod_gc_after_node_deletion), TESTS_CASE(test_deleting_node_not_used), TESTS_CASE(test_not_ready_tolerated),
            TESTS_CASE(test_workload_deployment_scales),
            TESTS_CASE(test_workload_stateful_keeps_claims));
