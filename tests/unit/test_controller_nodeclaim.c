/*
 * tests/unit/test_controller_nodeclaim.c — the NodeClaim lifecycle reconciler, through the
 * whole controller on the simulated world (tests/unit/simctl.h): launch → Launched,
 * Node pairing → Registered, Ready → Initialized; deletion (cordon, drain, terminate,
 * finalizers; pods stuck terminating and dead Nodes do not hold it up); liveness (launch,
 * registration, initialisation); capacity errors; a restart after a crash between CreateFleet
 * and the status write.
 *
 * Invariants: every test drives virtual time only; NodeClaims are created the way the
 * provisioner creates them (requirements with instance types, the finalizer, the nodepool
 * label), and pods are created already bound so the provisioner has nothing to do.
 */
#include "controller/controller.h"
#include "sim/sim.h"
#include "tests/unit/harness.h"
#include "tests/unit/simctl.h"

#include "aws/aws.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#define SEC ((core_ns)1000000000)
#define MIN (60 * SEC)

static const char nodeclaim_yaml[] =
    "apiVersion: stoker.dev/v1alpha1\n"
    "kind: NodeClaim\n"
    "metadata:\n"
    "  name: nc-1\n"
    "  labels:\n"
    "    karpenter.sh/nodepool: default\n"
    "  finalizers: [stoker.dev/termination]\n"
    "spec:\n"
    "  nodeClassRef:\n"
    "    group: stoker.dev\n"
    "    kind: EC2NodeClass\n"
    "    name: default\n"
    "  requirements:\n"
    "  - key: node.kubernetes.io/instance-type\n"
    "    operator: In\n"
    "    values: [m5.large, m5.xlarge]\n"
    "  - key: karpenter.sh/capacity-type\n"
    "    operator: In\n"
    "    values: [on-demand]\n"
    "  - key: karpenter.sh/nodepool\n"
    "    operator: In\n"
    "    values: [default]\n"
    "  resources:\n"
    "    requests:\n"
    "      cpu: 500m\n"
    "      memory: 512Mi\n"
    "      pods: \"1\"\n";

/* A class whose subnet selector matches nothing: it never becomes Ready. */
static const char broken_class_yaml[] =
    "apiVersion: stoker.dev/v1alpha1\n"
    "kind: EC2NodeClass\n"
    "metadata:\n"
    "  name: default\n"
    "spec:\n"
    "  amiSelectorTerms:\n"
    "  - alias: al2023@latest\n"
    "  subnetSelectorTerms:\n"
    "  - tags:\n"
    "      stoker.dev/discovery: nowhere\n"
    "  securityGroupSelectorTerms:\n"
    "  - tags:\n"
    "      stoker.dev/discovery: sim\n"
    "  instanceProfile: sim-node\n";

static const char *str_at(const json_t *o, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(o, a), b));
}

static json_t *get_claim(struct tests_simctl *s)
{
    return tests_simctl_get(s, "nodeclaims.stoker.dev", NULL, "nc-1");
}

static int claim_cond(struct tests_simctl *s, void *ud)
{
    json_t *o = get_claim(s);
    int ok = o && tests_simctl_condition(o, ud);
    json_decref(o);
    return ok;
}

static int claim_gone(struct tests_simctl *s, void *ud)
{
    (void)ud;
    json_t *o = get_claim(s);
    json_decref(o);
    return o == NULL;
}

static int crashed(struct tests_simctl *s, void *ud)
{
    (void)ud;
    return s->ctl && controller_crashed(s->ctl);
}

struct pod_watch {
    const char *node;
    int web_gone;
    int node_present_when_web_gone;
    int ds_present_when_web_gone;
    int saw_cordon;
};

static int web_evicted(struct tests_simctl *s, void *ud)
{
    struct pod_watch *pw = ud;
    json_t *node = tests_simctl_get(s, "nodes", NULL, pw->node);
    if (node && json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable"))) {
        json_t *t;
        size_t i;
        json_array_foreach(json_object_get(json_object_get(node, "spec"), "taints"), i, t)
            if (json_string_value(json_object_get(t, "key")) &&
                strcmp(json_string_value(json_object_get(t, "key")), "stoker.dev/disrupted") == 0)
                pw->saw_cordon = 1;
    }
    json_t *web = tests_simctl_get(s, "pods", "default", "web");
    json_t *ds = tests_simctl_get(s, "pods", "default", "ds-agent");
    if (!web) {
        pw->web_gone = 1;
        pw->node_present_when_web_gone = node != NULL;
        pw->ds_present_when_web_gone = ds != NULL;
    }
    json_decref(node);
    json_decref(web);
    json_decref(ds);
    return pw->web_gone;
}

/* EC2's view, through stoker's own client: instances by state. */
struct states {
    int done;
    size_t live, terminated, total;
};
static void states_cb(void *ud, int rc, const struct aws_ec2_instances *res,
                      const struct core_err *err)
{
    struct states *st = ud;
    (void)err;
    st->done = 1;
    if (rc)
        return;
    for (size_t i = 0; i < res->n; i++) {
        const char *s = res->v[i].state_name ? res->v[i].state_name : "";
        st->total++;
        if (strcmp(s, "terminated") == 0 || strcmp(s, "shutting-down") == 0)
            st->terminated++;
        else
            st->live++;
    }
}
static void instance_states(struct tests_simctl *s, struct states *st)
{
    struct aws_ec2_describe_instances_req req = {0};
    struct core_err err = {0};
    memset(st, 0, sizeof(*st));
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instances(s->w->awsc, &req, states_cb, st, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(s->w->loop, &st->done,
                                        core_loop_now(s->w->loop) + 30 * SEC, &err), 0);
}

static int has_event(struct tests_simctl *s, const char *reason)
{
    int found = 0;
    json_t *evs = tests_simctl_list(s, "events", NULL);
    json_t *e;
    size_t i;
    json_array_foreach(evs, i, e)
    {
        const char *r = json_string_value(json_object_get(e, "reason"));
        if (r && strcmp(r, reason) == 0)
            found = 1;
    }
    json_decref(evs);
    return found;
}

static void create_pod(struct tests_simctl *s, const char *name, const char *node, int daemon)
{
    json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:[{s:s, s:s}]}}", "apiVersion",
                            "v1", "kind", "Pod", "metadata", "name", name, "namespace",
                            "default", "spec", "nodeName", node, "containers", "name", "c",
                            "image", "busybox");
    CU_ASSERT_PTR_NOT_NULL_FATAL(pod);
    CU_ASSERT_EQUAL(json_object_set_new(json_object_get(pod, "metadata"), "labels",
                                        json_pack("{s:s}", "app", name)), 0);
    if (daemon) {
        json_t *owners = json_pack("[{s:s, s:s, s:s, s:s, s:b}]", "apiVersion", "apps/v1",
                                   "kind", "DaemonSet", "name", "agent", "uid", "ds-uid-1",
                                   "controller", 1);
        CU_ASSERT_EQUAL(json_object_set_new(json_object_get(pod, "metadata"), "ownerReferences",
                                            owners), 0);
    }
    struct core_err err = {0};
    int rc = sim_kube_create(s->w->kube, "pods", "default", pod, NULL, &err);
    if (rc)
        fprintf(stderr, "\n  create pod: %s\n", err.message);
    CU_ASSERT_EQUAL(rc, 0);
    json_decref(pod);
}

static void test_lifecycle_and_deletion(void)
{
    struct tests_simctl s;
    tests_simctl_open(&s, NULL);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    tests_simctl_apply(&s, nodeclaim_yaml);

    /* Launched: providerID, labels from the launch, capacity from the catalog. */
    CU_ASSERT_FATAL(tests_simctl_until(&s, claim_cond, "Launched", 3 * MIN));
    json_t *nc = get_claim(&s);
    const char *pid = str_at(nc, "status", "providerID");
    CU_ASSERT_PTR_NOT_NULL_FATAL(pid);
    CU_ASSERT_EQUAL(strncmp(pid, "aws:///us-east-1", 16), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(pid, "/i-"));
    const char *itype = json_string_value(json_object_get(
        json_object_get(json_object_get(nc, "metadata"), "labels"),
        "node.kubernetes.io/instance-type"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(itype);
    CU_ASSERT(strcmp(itype, "m5.large") == 0 || strcmp(itype, "m5.xlarge") == 0);
    json_t *labels = json_object_get(json_object_get(nc, "metadata"), "labels");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(labels, "kubernetes.io/arch")),
                           "amd64");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(labels, "karpenter.sh/capacity-type")), "on-demand");
    CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(labels,
                                                             "topology.kubernetes.io/zone")));
    CU_ASSERT_PTR_NOT_NULL(json_object_get(json_object_get(json_object_get(nc, "status"),
                                                           "capacity"), "cpu"));
    CU_ASSERT_PTR_NOT_NULL(json_object_get(json_object_get(json_object_get(nc, "status"),
                                                           "allocatable"), "memory"));
    CU_ASSERT_PTR_NOT_NULL(str_at(nc, "status", "imageID"));
    json_decref(nc);

    /* Registered: the Node carries the pairing. */
    CU_ASSERT_FATAL(tests_simctl_until(&s, claim_cond, "Registered", 10 * MIN));
    nc = get_claim(&s);
    char node_name[256] = "";
    const char *nn = str_at(nc, "status", "nodeName");
    CU_ASSERT_PTR_NOT_NULL_FATAL(nn);
    snprintf(node_name, sizeof(node_name), "%s", nn);
    json_decref(nc);
    json_t *node = tests_simctl_get(&s, "nodes", NULL, node_name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(node);
    json_t *meta = json_object_get(node, "metadata");
    json_t *owner = json_array_get(json_object_get(meta, "ownerReferences"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(owner, "kind")), "NodeClaim");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(owner, "name")), "nc-1");
    CU_ASSERT(json_is_true(json_object_get(owner, "controller")));
    int fin = 0;
    json_t *f;
    size_t i;
    json_array_foreach(json_object_get(meta, "finalizers"), i, f)
        fin |= strcmp(json_string_value(f), CONTROLLER_FINALIZER) == 0;
    CU_ASSERT(fin);
    json_t *nl = json_object_get(meta, "labels");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(nl, CONTROLLER_LABEL_REGISTERED)),
                           "true");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(nl, "karpenter.sh/nodepool")),
                           "default");
    json_t *t;
    json_array_foreach(json_object_get(json_object_get(node, "spec"), "taints"), i, t)
        CU_ASSERT_STRING_NOT_EQUAL(json_string_value(json_object_get(t, "key")),
                                   "stoker.dev/unregistered");
    json_decref(node);

    /* Initialized and Ready once the Node is Ready. */
    CU_ASSERT_FATAL(tests_simctl_until(&s, claim_cond, "Initialized", 5 * MIN));
    CU_ASSERT_FATAL(tests_simctl_until(&s, claim_cond, "Ready", 1 * MIN));
    tests_simctl_run(&s, 1 * SEC); /* the write's answer reaches the controller after the API */
    node = tests_simctl_get(&s, "nodes", NULL, node_name);
    CU_ASSERT_STRING_EQUAL(str_at(json_object_get(node, "metadata"), "labels",
                                  CONTROLLER_LABEL_INITIALIZED), "true");
    json_decref(node);
    struct controller_stats st;
    controller_get_stats(s.ctl, &st);
    CU_ASSERT_EQUAL(st.registered, 1);
    CU_ASSERT_EQUAL(st.initialized, 1);

    /* Deletion: cordon, evict the plain pod (not the DaemonSet's), terminate, finalizers. */
    create_pod(&s, "web", node_name, 0);
    create_pod(&s, "ds-agent", node_name, 1);
    tests_simctl_run(&s, 2 * SEC);
    struct core_err err = {0};
    CU_ASSERT_EQUAL(sim_kube_delete(s.w->kube, "nodeclaims.stoker.dev", NULL, "nc-1", &err), 0);
    struct pod_watch pw = {.node = node_name};
    CU_ASSERT(tests_simctl_until(&s, web_evicted, &pw, 5 * MIN));
    CU_ASSERT(pw.saw_cordon);
    CU_ASSERT(pw.node_present_when_web_gone); /* drained before the instance went */
    CU_ASSERT(pw.ds_present_when_web_gone);   /* DaemonSet pods are not evicted */
    CU_ASSERT_FATAL(tests_simctl_until(&s, claim_gone, NULL, 5 * MIN));
    tests_simctl_run(&s, 1 * SEC);
    node = tests_simctl_get(&s, "nodes", NULL, node_name);
    CU_ASSERT_PTR_NULL(node);
    json_decref(node);
    struct states is;
    instance_states(&s, &is);
    CU_ASSERT_EQUAL(is.total, 1);
    CU_ASSERT_EQUAL(is.live, 0);
    CU_ASSERT_EQUAL(is.terminated, 1);
    controller_get_stats(s.ctl, &st);
    CU_ASSERT_EQUAL(st.nodeclaims_deleted, 1);
    tests_simctl_close(&s);
}

static void test_liveness_launch_timeout(void)
{
    struct tests_simctl s;
    tests_simctl_open(&s, NULL);
    s.opts.launch_timeout = 2 * MIN;
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, broken_class_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    tests_simctl_apply(&s, nodeclaim_yaml);
    /* Still there shortly before the deadline... */
    tests_simctl_run(&s, 100 * SEC);
    json_t *nc = get_claim(&s);
    CU_ASSERT_PTR_NOT_NULL(nc);
    CU_ASSERT(!tests_simctl_condition(nc, "Launched"));
    json_decref(nc);
    /* ...and gone soon after it. */
    CU_ASSERT(tests_simctl_until(&s, claim_gone, NULL, 1 * MIN));
    tests_simctl_run(&s, 1 * SEC);
    struct controller_stats st;
    controller_get_stats(s.ctl, &st);
    CU_ASSERT_EQUAL(st.liveness_deleted, 1);
    CU_ASSERT_EQUAL(st.nodeclaims_deleted, 1);
    CU_ASSERT(has_event(&s, "LivenessTimeout"));
    struct states is;
    instance_states(&s, &is);
    CU_ASSERT_EQUAL(is.total, 0);
    tests_simctl_close(&s);
}

static void test_capacity_error_deletes(void)
{
    struct sim_world_opts wo;
    memset(&wo, 0, sizeof(wo));
    wo.seed = 1;
    struct core_err err = {0};
    CU_ASSERT_EQUAL_FATAL(sim_faults_parse(&wo.faults, "ice=*@*", &err), 0);
    struct tests_simctl s;
    tests_simctl_open(&s, &wo);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    tests_simctl_apply(&s, nodeclaim_yaml);
    CU_ASSERT(tests_simctl_until(&s, claim_gone, NULL, 3 * MIN));
    tests_simctl_run(&s, 1 * SEC);
    CU_ASSERT(has_event(&s, "LaunchFailed"));
    struct controller_stats st;
    controller_get_stats(s.ctl, &st);
    CU_ASSERT(st.launch_failures >= 1);
    CU_ASSERT_EQUAL(st.nodeclaims_deleted, 1);
    CU_ASSERT_EQUAL(st.liveness_deleted, 0);
    struct sim_aws_stats as;
    sim_aws_stats(s.w->aws, &as);
    CU_ASSERT_EQUAL(as.launched, 0);
    CU_ASSERT(as.ice >= 1);
    tests_simctl_close(&s);
}

static void test_restart_finds_instance(void)
{
    struct tests_simctl s;
    tests_simctl_open(&s, NULL);
    s.opts.crash_after_launches = 1;
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    tests_simctl_apply(&s, nodeclaim_yaml);
    CU_ASSERT_FATAL(tests_simctl_until(&s, crashed, NULL, 3 * MIN));
    tests_simctl_run(&s, 5 * SEC);
    json_t *nc = get_claim(&s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nc);
    CU_ASSERT(!tests_simctl_condition(nc, "Launched")); /* it died before recording */
    json_decref(nc);
    struct sim_aws_stats as;
    sim_aws_stats(s.w->aws, &as);
    CU_ASSERT_EQUAL(as.launched, 1);

    tests_simctl_stop(&s);
    s.opts.crash_after_launches = 0;
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT_FATAL(tests_simctl_until(&s, claim_cond, "Registered", 10 * MIN));
    sim_aws_stats(s.w->aws, &as);
    CU_ASSERT_EQUAL(as.launched, 1); /* found, not launched again */
    struct states is;
    instance_states(&s, &is);
    CU_ASSERT_EQUAL(is.total, 1);
    CU_ASSERT_EQUAL(is.live, 1);
    nc = get_claim(&s);
    const char *pid = str_at(nc, "status", "providerID");
    CU_ASSERT(pid && strstr(pid, "/i-"));
    json_decref(nc);
    tests_simctl_close(&s);
}


/* The claim as the tests create it, with text replaced (no finalizer, a grace period). */
static void apply_claim_variant(struct tests_simctl *s, const char *from, const char *to)
{
    char buf[4096];
    const char *at = strstr(nodeclaim_yaml, from);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - nodeclaim_yaml), nodeclaim_yaml, to,
             at + strlen(from));
    tests_simctl_apply(s, buf);
}

static int claim_has_finalizer(struct tests_simctl *s, void *ud)
{
    (void)ud;
    json_t *o = get_claim(s);
    int fin = 0;
    json_t *f;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(o, "metadata"), "finalizers"), i, f)
        fin |= json_string_value(f) && strcmp(json_string_value(f), CONTROLLER_FINALIZER) == 0;
    json_decref(o);
    return fin;
}

static void test_finalizer_added(void)
{
    struct tests_simctl s;
    tests_simctl_open(&s, NULL);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    apply_claim_variant(&s, "  finalizers: [stoker.dev/termination]\n", "");
    CU_ASSERT(!claim_has_finalizer(&s, NULL));
    CU_ASSERT(tests_simctl_until(&s, claim_has_finalizer, NULL, 1 * MIN));
    CU_ASSERT(tests_simctl_until(&s, claim_cond, "Launched", 3 * MIN));
    tests_simctl_close(&s);
}

static char *node_of_claim(struct tests_simctl *s, char *out, size_t n)
{
    json_t *nc = get_claim(s);
    const char *nn = str_at(nc, "status", "nodeName");
    snprintf(out, n, "%s", nn ? nn : "");
    json_decref(nc);
    return out;
}

static void test_node_deleted_deletes_claim(void)
{
    struct tests_simctl s;
    tests_simctl_open(&s, NULL);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    tests_simctl_apply(&s, nodeclaim_yaml);
    CU_ASSERT_FATAL(tests_simctl_until(&s, claim_cond, "Initialized", 10 * MIN));
    char node[256];
    node_of_claim(&s, node, sizeof(node));
    struct core_err err = {0};
    CU_ASSERT_EQUAL(sim_kube_delete(s.w->kube, "nodes", NULL, node, &err), 0);
    CU_ASSERT(tests_simctl_until(&s, claim_gone, NULL, 5 * MIN));
    tests_simctl_run(&s, 1 * SEC);
    json_t *n = tests_simctl_get(&s, "nodes", NULL, node);
    CU_ASSERT_PTR_NULL(n);
    json_decref(n);
    struct states is;
    instance_states(&s, &is);
    CU_ASSERT_EQUAL(is.live, 0);
    CU_ASSERT_EQUAL(is.terminated, 1);
    tests_simctl_close(&s);
}

static const char pdb_yaml[] =
    "apiVersion: policy/v1\n"
    "kind: PodDisruptionBudget\n"
    "metadata:\n"
    "  name: web\n"
    "  namespace: default\n"
    "spec:\n"
    "  minAvailable: 1\n"
    "  selector:\n"
    "    matchLabels:\n"
    "      app: web\n";

static int pod_exists(struct tests_simctl *s, const char *name)
{
    json_t *p = tests_simctl_get(s, "pods", "default", name);
    json_decref(p);
    return p != NULL;
}

/* A PDB blocks the eviction; the drain waits, until terminationGracePeriod runs out. */
static void test_pdb_blocks_until_grace(void)
{
    struct tests_simctl s;
    tests_simctl_open(&s, NULL);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    apply_claim_variant(&s, "  resources:\n", "  terminationGracePeriod: 60s\n  resources:\n");
    CU_ASSERT_FATAL(tests_simctl_until(&s, claim_cond, "Initialized", 10 * MIN));
    char node[256];
    node_of_claim(&s, node, sizeof(node));
    create_pod(&s, "web", node, 0);
    tests_simctl_apply(&s, pdb_yaml);
    tests_simctl_run(&s, 2 * SEC);
    struct core_err err = {0};
    CU_ASSERT_EQUAL(sim_kube_delete(s.w->kube, "nodeclaims.stoker.dev", NULL, "nc-1", &err), 0);
    tests_simctl_run(&s, 30 * SEC);
    /* Blocked: pod, claim and instance all still there. */
    CU_ASSERT(pod_exists(&s, "web"));
    json_t *nc = get_claim(&s);
    CU_ASSERT_PTR_NOT_NULL(nc);
    json_decref(nc);
    struct states is;
    instance_states(&s, &is);
    CU_ASSERT_EQUAL(is.live, 1);
    /* The grace period ends: terminated regardless. */
    CU_ASSERT(tests_simctl_until(&s, claim_gone, NULL, 2 * MIN));
    instance_states(&s, &is);
    CU_ASSERT_EQUAL(is.live, 0);
    tests_simctl_close(&s);
}

static int log_has_launching(struct tests_simctl *s, void *ud)
{
    (void)ud;
    return strstr(tests_simctl_log(s), "component=nodeclaim key=nc-1 msg=launching") != NULL;
}

/* Deleted while CreateFleet is in flight: the instance it returns is terminated. */
static void test_deleted_during_launch(void)
{
    struct sim_world_opts wo;
    memset(&wo, 0, sizeof(wo));
    wo.seed = 1;
    struct core_err err = {0};
    CU_ASSERT_EQUAL_FATAL(sim_faults_parse(&wo.faults, "latency=3s", &err), 0);
    struct tests_simctl s;
    tests_simctl_open(&s, &wo);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    tests_simctl_apply(&s, nodeclaim_yaml);
    CU_ASSERT_FATAL(tests_simctl_until(&s, log_has_launching, NULL, 5 * MIN));
    CU_ASSERT_EQUAL(sim_kube_delete(s.w->kube, "nodeclaims.stoker.dev", NULL, "nc-1", &err), 0);
    CU_ASSERT(tests_simctl_until(&s, claim_gone, NULL, 5 * MIN));
    tests_simctl_run(&s, 10 * SEC);
    struct states is;
    instance_states(&s, &is);
    CU_ASSERT_EQUAL(is.total, 1);
    CU_ASSERT_EQUAL(is.live, 0);
    tests_simctl_close(&s);
}

/* Launched but no Node in time: deleted, and the instance with it. */
static void test_liveness_register_timeout(void)
{
    struct tests_simctl s;
    tests_simctl_open(&s, NULL);
    s.opts.register_timeout = 15 * SEC; /* the emulated join takes 10 s at the very least */
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    tests_simctl_apply(&s, nodeclaim_yaml);
    CU_ASSERT_FATAL(tests_simctl_until(&s, claim_cond, "Launched", 1 * MIN));
    CU_ASSERT(tests_simctl_until(&s, claim_gone, NULL, 2 * MIN));
    tests_simctl_run(&s, 1 * SEC);
    struct controller_stats st;
    controller_get_stats(s.ctl, &st);
    CU_ASSERT_EQUAL(st.liveness_deleted, 1);
    CU_ASSERT_EQUAL(st.registered, 0);
    CU_ASSERT(has_event(&s, "LivenessTimeout"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tests_simctl_log(&s), "not registered in time"));
    struct states is;
    instance_states(&s, &is);
    CU_ASSERT_EQUAL(is.total, 1);
    CU_ASSERT_EQUAL(is.live, 0);
    tests_simctl_close(&s);
}

static int claim_launched_cold(struct tests_simctl *s, void *ud)
{
    (void)ud;
    json_t *o = get_claim(s);
    int ok = o && tests_simctl_condition(o, "Launched") &&
             !json_object_get(json_object_get(json_object_get(o, "metadata"), "annotations"),
                              CONTROLLER_ANNOTATION_WARM);
    json_decref(o);
    return ok;
}

/* The warm instance named by the annotation does not exist: the annotation goes, and the next
 * try is cold. */
static void test_warm_gone_goes_cold(void)
{
    struct tests_simctl s;
    tests_simctl_open(&s, NULL);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    apply_claim_variant(&s, "  finalizers:",
                        "  annotations:\n    stoker.dev/warm-instance: i-0123456789abcdef0\n"
                        "  finalizers:");
    CU_ASSERT(tests_simctl_until(&s, claim_launched_cold, NULL, 3 * MIN));
    struct sim_aws_stats as;
    sim_aws_stats(s.w->aws, &as);
    CU_ASSERT_EQUAL(as.launched, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(tests_simctl_log(&s), "warm instance unusable"));
    tests_simctl_close(&s);
}


/* The Node of a NodeClaim whose instance stopped (kubelet dead): with node_on_stop NOTREADY the
 * Node stays, NotReady. Deleting the NodeClaim must not wait for the pods on it (evictions are
 * accepted but nothing ever stops the pods): the drain is skipped once the Node has been
 * NotReady for 5 minutes, and evicted pods stuck terminating are not waited for. */
static int node_not_ready(struct tests_simctl *s, void *ud)
{
    json_t *n = tests_simctl_get(s, "nodes", NULL, ud);
    int r = n && !tests_simctl_condition(n, "Ready");
    json_decref(n);
    return r;
}

/* A pod that an eviction cannot remove: a finalizer nobody drops keeps it Terminating, as a
 * pod on a dead kubelet stays (the emulated API otherwise deletes pods at once). */
static void create_stuck_pod(struct tests_simctl *s, const char *name, const char *node)
{
    create_pod(s, name, node, 0);
    json_t *patch = json_pack("{s:{s:[s]}}", "metadata", "finalizers", "example.com/hold");
    struct core_err err = {0};
    CU_ASSERT_EQUAL(sim_kube_patch(s->w->kube, "pods", "default", name, patch, 0, NULL, &err), 0);
    json_decref(patch);
}

/* Deleting a NodeClaim whose pods never go away completes: dead = the instance is stopped and
 * its Node NotReady (drain skipped after 5 minutes), else the evicted pod is stuck terminating
 * (ignored once its deletion is 30 s + 1 min old). */
static void delete_with_stuck_pods(int dead)
{
    struct tests_simctl s;
    struct sim_world_opts wo;
    memset(&wo, 0, sizeof(wo));
    wo.seed = 1;
    wo.node_on_stop = SIM_NODE_NOTREADY;
    tests_simctl_open(&s, &wo);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    tests_simctl_apply(&s, nodeclaim_yaml);
    CU_ASSERT_FATAL(tests_simctl_until(&s, claim_cond, "Initialized", 10 * MIN));
    char node[256];
    node_of_claim(&s, node, sizeof(node));
    create_stuck_pod(&s, "web", node);
    create_pod(&s, "db", node, 0);
    tests_simctl_run(&s, 2 * SEC);
    struct core_err err = {0};
    if (dead) {
        json_t *nc = get_claim(&s);
        const char *pid = str_at(nc, "status", "providerID");
        const char *id = pid ? strrchr(pid, '/') : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(id);
        CU_ASSERT_EQUAL(sim_aws_instance_poweroff(s.w->aws, id + 1, &err), 0);
        json_decref(nc);
        CU_ASSERT_FATAL(tests_simctl_until(&s, node_not_ready, node, 3 * MIN));
        tests_simctl_run(&s, 6 * MIN); /* NotReady long enough: no drain at all */
    }
    CU_ASSERT_EQUAL(sim_kube_delete(s.w->kube, "nodeclaims.stoker.dev", NULL, "nc-1", &err), 0);
    CU_ASSERT(tests_simctl_until(&s, claim_gone, NULL, 8 * MIN));
    tests_simctl_run(&s, 1 * SEC);
    json_t *n = tests_simctl_get(&s, "nodes", NULL, node);
    CU_ASSERT_PTR_NULL(n);
    json_decref(n);
    CU_ASSERT(pod_exists(&s, "web")); /* still held by its finalizer: it was not waited for */
    if (dead)
        CU_ASSERT_PTR_NOT_NULL(strstr(tests_simctl_log(&s), "node not ready: not draining"));
    struct states is;
    instance_states(&s, &is);
    CU_ASSERT_EQUAL(is.total, 1);
    CU_ASSERT_EQUAL(is.live, 0);
    struct controller_stats st;
    controller_get_stats(s.ctl, &st);
    CU_ASSERT_EQUAL(st.nodeclaims_deleted, 1);
    tests_simctl_close(&s);
}

static void test_delete_dead_node_completes(void)
{
    delete_with_stuck_pods(1);
}

static void test_delete_stuck_pod_completes(void)
{
    delete_with_stuck_pods(0);
}

/* Registered, but a startup taint nobody removes keeps it from Initialized: after 15 minutes
 * the NodeClaim is deleted for liveness (and its instance with it). */
static void test_liveness_initialization_timeout(void)
{
    struct tests_simctl s;
    tests_simctl_open(&s, NULL);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    apply_claim_variant(&s, "  resources:\n",
                        "  startupTaints:\n"
                        "  - key: example.com/never-ready\n"
                        "    effect: NoSchedule\n"
                        "  resources:\n");
    CU_ASSERT_FATAL(tests_simctl_until(&s, claim_cond, "Registered", 10 * MIN));
    /* Not before 15 minutes. */
    tests_simctl_run(&s, 10 * MIN);
    json_t *nc = get_claim(&s);
    CU_ASSERT_PTR_NOT_NULL(nc);
    CU_ASSERT(nc && !tests_simctl_condition(nc, "Initialized"));
    json_decref(nc);
    CU_ASSERT(tests_simctl_until(&s, claim_gone, NULL, 8 * MIN));
    tests_simctl_run(&s, 1 * SEC);
    struct controller_stats st;
    controller_get_stats(s.ctl, &st);
    CU_ASSERT_EQUAL(st.liveness_deleted, 1);
    CU_ASSERT_EQUAL(st.initialized, 0);
    CU_ASSERT(has_event(&s, "LivenessTimeout"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tests_simctl_log(&s), "not initialized in time"));
    struct states is;
    instance_states(&s, &is);
    CU_ASSERT_EQUAL(is.live, 0);
    tests_simctl_close(&s);
}

static const char pending_pod_yaml[] =
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata:\n"
    "  name: pending\n"
    "  namespace: default\n"
    "spec:\n"
    "  containers:\n"
    "  - name: c\n"
    "    image: busybox\n"
    "    resources:\n"
    "      requests:\n"
    "        cpu: 250m\n"
    "        memory: 256Mi\n";

static int pod_bound(struct tests_simctl *s, void *ud)
{
    (void)ud;
    json_t *p = tests_simctl_get(s, "pods", "default", "pending");
    int ok = p && str_at(p, "spec", "nodeName") && str_at(p, "spec", "nodeName")[0];
    json_decref(p);
    return ok;
}

/* End to end with the provisioner: a pending pod gets a NodeClaim, the NodeClaim a Node, the
 * pod a place; the reaction time is sampled when the launch call is issued. */
static void test_pending_pod_end_to_end(void)
{
    struct tests_simctl s;
    tests_simctl_open(&s, NULL);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    tests_simctl_run(&s, 5 * SEC);
    tests_simctl_apply(&s, pending_pod_yaml);
    CU_ASSERT(tests_simctl_until(&s, pod_bound, NULL, 10 * MIN));
    struct controller_stats st;
    controller_get_stats(s.ctl, &st);
    CU_ASSERT_EQUAL(st.registered, 1);
    CU_ASSERT_EQUAL(st.initialized, 1);
    CU_ASSERT_EQUAL(st.reaction_samples, 1);
    CU_ASSERT(st.reaction_p50 > 0);
    CU_ASSERT_EQUAL(tests_simctl_count(&s, "nodeclaims.stoker.dev", NULL, NULL), 1);
    tests_simctl_close(&s);
}

TESTS_SUITE(controller_nodeclaim, "controller_nodeclaim", NULL, NULL,
            TESTS_CASE(test_lifecycle_and_deletion), TESTS_CASE(test_liveness_launch_timeout),
            TESTS_CASE(test_capacity_error_deletes), TESTS_CASE(test_restart_finds_instance),
            TESTS_CASE(test_finalizer_added), TESTS_CASE(test_node_deleted_deletes_claim),
            TESTS_CASE(test_pdb_blocks_until_grace), TESTS_CASE(test_deleted_during_launch),
            TESTS_CASE(test_liveness_register_timeout), TESTS_CASE(test_warm_gone_goes_cold),
            TESTS_CASE(test_pending_pod_end_to_end), TESTS_CASE(test_delete_dead_node_completes),
            TESTS_CASE(test_delete_stuck_pod_completes),
            TESTS_CASE(test_liveness_initialization_timeout));
