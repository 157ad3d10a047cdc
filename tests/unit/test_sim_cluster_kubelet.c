/*
 * tests/unit/test_sim_cluster_kubelet.c — suite "sim_cluster_kubelet": the simulated kubelets
 * of sim/cluster_kubelet.c over the emulated account and API. Instances are launched through
 * sim_aws_handle (EC2 requests built with stoker's own encoders) with user data rendered by
 * userdata_build, so the kubelet reads exactly what the controller would send. Time is a
 * virtual clock with every boot step at a fixed median (sigma 0), so each assertion can name
 * the exact moment something must (not) have happened. The scheduler is off (no_scheduler).
 */
#include "sim/cluster_internal.h"
#include "tests/unit/harness.h"

#include "launcher/launcher.h"
#include "userdata/userdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WALL0 ((core_ns)1795000000 * 1000000000LL)
#define S(x) ((core_ns)(x) * CORE_NS_PER_S)
#define MS(x) ((core_ns)(x) * CORE_NS_PER_MS)

/* The fixed timeline (seconds). */
#define T_LAUNCH 20
#define T_START 5
#define T_STOP 15
#define T_TERMINATE 20
#define T_JOIN_COLD 40
#define T_JOIN_WARM 10
#define T_READY 5
#define T_WARMUP 120

#define TEST_CA "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJmYWtlCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"
#define ENDPOINT "https://ABCDEF.gr7.us-east-1.eks.amazonaws.com"
#define ITYPE "m5.large"

struct fx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct sim_aws *a;
    struct sim_kube *k;
    struct sim_cluster *c;
    unsigned chained;          /* calls seen by the observer installed before the cluster */
    char last_state[16];
};

static void prev_observer(void *ud, const struct sim_instance_view *v)
{
    struct fx *f = ud;
    f->chained++;
    core_strlcpy(f->last_state, v->state, sizeof f->last_state);
}

static void fx_open(struct fx *f, enum sim_node_on_stop on_stop)
{
    static const char *const rows[] = {"launch=20s/0",   "start=5s/0",      "stop=15s/0",
                                       "terminate=20s/0", "join_cold=40s/0", "join_warm=10s/0",
                                       "ready=5s/0",      "warmup=120s/0"};
    struct sim_aws_opts o;
    struct sim_kube_opts ko;
    struct sim_cluster_opts co;

    memset(f, 0, sizeof *f);
    sim_aws_opts_default(&o);
    o.skip_signature_check = 1;
    o.faults.throttle = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CU_ASSERT_EQUAL_FATAL(sim_boot_model_set(&o.boot, rows[i], NULL), 0);
    f->clock = core_clock_virtual_new(S(1000), WALL0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(f->clock, NULL, &f->loop, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(sim_aws_new(f->loop, &o, &f->a, NULL), 0);
    sim_kube_opts_default(&ko);
    CU_ASSERT_EQUAL_FATAL(sim_kube_new(f->loop, &ko, &f->k, NULL), 0);
    sim_aws_set_observer(f->a, prev_observer, f);
    memset(&co, 0, sizeof co);
    co.seed = 7;
    co.node_on_stop = on_stop;
    co.no_scheduler = 1;
    CU_ASSERT_EQUAL_FATAL(sim_cluster_new(f->loop, f->a, f->k, &co, &f->c, NULL), 0);
}

static void fx_close(struct fx *f)
{
    sim_aws_observer_fn fn;
    void *ud;
    sim_cluster_free(f->c);
    /* Freeing the cluster gives the observer back. */
    sim_aws_observer_get(f->a, &fn, &ud);
    CU_ASSERT(fn == prev_observer && ud == f);
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
    /* One more turn for notifications queued at the same instant. */
    done = 0;
    t = core_loop_timer_add(f->loop, 0, on_mark, &done);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    for (int turns = 0; !done && turns < 1000; turns++)
        if (core_loop_run_once(f->loop, -1, NULL) < 0)
            break;
}

/* ---- EC2 through the handler ------------------------------------------------------------ */

struct ans {
    long status;
    struct core_http_response resp;
    struct aws_xml_parser *p;
    const struct aws_xml_node *root;
};

static void ans_free(struct ans *a)
{
    aws_xml_parser_free(a->p);
    core_http_response_cleanup(&a->resp);
    memset(a, 0, sizeof *a);
}

static void call_q(struct fx *f, struct aws_query *q, struct ans *a)
{
    struct sim_header h[] = {
        {"Host", "ec2.us-east-1.amazonaws.com"},
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    struct sim_http_req req = {0};
    struct core_buf b;
    core_ns delay = 0;

    memset(a, 0, sizeof *a);
    core_buf_init(&b, 1u << 24);
    CU_ASSERT_EQUAL_FATAL(aws_query_encode(q, &b), 0);
    aws_query_cleanup(q);
    req.method = "POST";
    req.target = "/";
    req.headers = h;
    req.nheaders = 2;
    req.body = b.data;
    req.body_len = b.len;
    core_buf_init(&a->resp.body, 64u << 20);
    sim_aws_handle(f->a, &req, &a->resp, &delay);
    core_buf_cleanup(&b);
    a->status = a->resp.status;
    a->p = aws_xml_parser_new(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a->p);
    CU_ASSERT_EQUAL_FATAL(aws_xml_parser_feed(a->p, a->resp.body.data, a->resp.body.len, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(aws_xml_parser_finish(a->p, &a->root, NULL), 0);
}

/* An x86_64 image of the family. */
static const char *image_of(struct fx *f, enum sim_ami_family fam)
{
    for (size_t i = 0; i < f->a->nimages; i++)
        if (f->a->images[i]->family == fam && strcmp(f->a->images[i]->arch, "x86_64") == 0)
            return f->a->images[i]->id;
    return NULL;
}

struct inst {
    char id[SIM_ID_MAX];
    char dns[64];
    char zone[32];
};

static void run_one(struct fx *f, enum sim_ami_family fam, const void *ud, size_t ud_len,
                    struct inst *out)
{
    struct aws_ec2_run_instances_req r = {0};
    struct aws_ec2_instances got = {0};
    struct aws_query q;
    struct ans a;

    r.image_id = image_of(f, fam);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.image_id);
    r.instance_type = ITYPE;
    r.min_count = r.max_count = 1;
    r.user_data = ud;
    r.user_data_len = ud_len;
    aws_query_init(&q);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_run_instances_encode(&r, &q, NULL), 0);
    call_q(f, &q, &a);
    CU_ASSERT_EQUAL_FATAL(a.status, 200);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_run_instances_decode(a.root, &got, NULL), 0);
    ans_free(&a);
    CU_ASSERT_EQUAL_FATAL(got.n, 1);
    core_strlcpy(out->id, got.v[0].instance_id, sizeof out->id);
    core_strlcpy(out->dns, got.v[0].private_dns_name, sizeof out->dns);
    core_strlcpy(out->zone, got.v[0].availability_zone, sizeof out->zone);
    aws_ec2_instances_cleanup(&got);
}

enum change { START, STOP, TERMINATE };

static void change(struct fx *f, enum change what, const char *id)
{
    const char *ids[1] = {id};
    struct aws_query q;
    struct ans a;
    int rc;
    aws_query_init(&q);
    if (what == START) {
        struct aws_ec2_start_instances_req r = {ids, 1};
        rc = aws_ec2_start_instances_encode(&r, &q, NULL);
    } else if (what == TERMINATE) {
        struct aws_ec2_terminate_instances_req r = {ids, 1};
        rc = aws_ec2_terminate_instances_encode(&r, &q, NULL);
    } else {
        struct aws_ec2_stop_instances_req r = {ids, 1, 0, 0};
        rc = aws_ec2_stop_instances_encode(&r, &q, NULL);
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    call_q(f, &q, &a);
    CU_ASSERT_EQUAL(a.status, 200);
    ans_free(&a);
}

static void modify_user_data(struct fx *f, const char *id, const void *ud, size_t len)
{
    struct aws_ec2_modify_instance_attribute_req r = {id, ud, len};
    struct aws_query q;
    struct ans a;
    aws_query_init(&q);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_modify_instance_attribute_encode(&r, &q, NULL), 0);
    call_q(f, &q, &a);
    CU_ASSERT_EQUAL(a.status, 200);
    ans_free(&a);
}

/* The instance's state and state reason code, through DescribeInstances. */
static void describe_state(struct fx *f, const char *id, char *state, size_t statesz,
                           char *reason, size_t reasonsz)
{
    struct aws_ec2_describe_instances_req r = {0};
    struct aws_ec2_instances got = {0};
    const char *ids[1] = {id};
    struct aws_query q;
    struct ans a;
    state[0] = reason[0] = '\0';
    r.instance_ids = ids;
    r.ninstance_ids = 1;
    aws_query_init(&q);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instances_encode(&r, NULL, &q, NULL), 0);
    call_q(f, &q, &a);
    if (a.status == 200 && aws_ec2_describe_instances_decode(a.root, &got, NULL, NULL) == 0 &&
        got.n == 1) {
        core_strlcpy(state, got.v[0].state_name, statesz);
        if (got.v[0].state_reason_code)
            core_strlcpy(reason, got.v[0].state_reason_code, reasonsz);
    }
    aws_ec2_instances_cleanup(&got);
    ans_free(&a);
}

/* ---- user data ------------------------------------------------------------------------------ */

struct ud {
    struct k8s_labels labels;
    struct k8s_taint taints[1];
    struct userdata_output out;
};

static void ud_build(struct ud *u, enum k8s_ami_family fam, enum userdata_phase phase)
{
    static const char *const images[] = {"public.ecr.aws/eks-distro/kubernetes/pause:3.9"};
    struct userdata_input in;
    struct core_err err;

    memset(u, 0, sizeof *u);
    memset(&in, 0, sizeof in);
    CU_ASSERT_FATAL(k8s_labels_set(&u->labels, "team", "a") == 0);
    CU_ASSERT_FATAL(k8s_labels_set(&u->labels, "karpenter.sh/nodepool", "default") == 0);
    u->taints[0] = (struct k8s_taint){"dedicated", "gpu", K8S_EFFECT_NO_SCHEDULE};
    in.family = fam;
    in.phase = phase;
    in.cluster.name = SIM_AWS_CLUSTER;
    in.cluster.endpoint = ENDPOINT;
    in.cluster.ca_bundle = TEST_CA;
    in.node.max_pods = 29;
    in.node.labels = &u->labels;
    in.node.taints = u->taints;
    in.node.ntaints = 1;
    in.warm.images = images;
    in.warm.nimages = 1;
    in.warm.hydrate_root_volume = 1;
    if (userdata_build(&in, &u->out, &err) != 0)
        fprintf(stderr, "\nuserdata_build: %s\n", err.message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(u->out.gz);
}

static void ud_free(struct ud *u)
{
    userdata_output_cleanup(&u->out);
    k8s_labels_cleanup(&u->labels);
}

/* ---- Node inspection ------------------------------------------------------------------------ */

static json_t *node_get(struct fx *f, const char *name)
{
    json_t *n = NULL;
    if (sim_kube_get(f->k, "nodes", NULL, name, &n, NULL) != 0)
        return NULL;
    return n;
}

static size_t node_count(struct fx *f)
{
    json_t *items = NULL;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(sim_kube_list(f->k, "nodes", NULL, NULL, NULL, &items, NULL), 0);
    n = json_array_size(items);
    json_decref(items);
    return n;
}

static const char *label(const json_t *node, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(node, "metadata"), "labels"), key));
}

/* The Ready condition's status ("True", "False", "Unknown"), or "". */
static const char *ready_status(const json_t *node)
{
    json_t *conds = json_object_get(json_object_get(node, "status"), "conditions"), *c;
    size_t i;
    json_array_foreach(conds, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && strcmp(t, "Ready") == 0) {
            const char *s = json_string_value(json_object_get(c, "status"));
            return s ? s : "";
        }
    }
    return "";
}

static int has_taint(const json_t *node, const char *key, const char *value, const char *effect)
{
    json_t *taints = json_object_get(json_object_get(node, "spec"), "taints"), *t;
    size_t i;
    json_array_foreach(taints, i, t) {
        const char *k = json_string_value(json_object_get(t, "key"));
        const char *v = json_string_value(json_object_get(t, "value"));
        const char *e = json_string_value(json_object_get(t, "effect"));
        if (k && strcmp(k, key) == 0 && e && strcmp(e, effect) == 0 &&
            (!value || (v && strcmp(v, value) == 0)))
            return 1;
    }
    return 0;
}

static const char *alloc_of(const json_t *node, const char *res)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(node, "status"), "allocatable"), res));
}

#define ASSERT_STR(got, want)                                                                 \
    do {                                                                                      \
        const char *g_ = (got);                                                               \
        CU_ASSERT(g_ != NULL && strcmp(g_, (want)) == 0);                                     \
        if (!g_ || strcmp(g_, (want)) != 0)                                                   \
            fprintf(stderr, "\n%s:%d: got '%s', want '%s'\n", __FILE__, __LINE__,             \
                    g_ ? g_ : "(null)", (want));                                              \
    } while (0)

/* Launches with AL2023 join user data and runs to Ready; returns the instance. */
static void launch_to_ready(struct fx *f, enum k8s_ami_family fam, enum sim_ami_family img,
                            struct inst *in)
{
    struct ud u;
    json_t *n;
    ud_build(&u, fam, USERDATA_JOIN);
    run_one(f, img, u.out.gz, u.out.gz_len, in);
    ud_free(&u);
    run_for(f, S(T_LAUNCH + T_JOIN_COLD + T_READY));
    n = node_get(f, in->dns);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    ASSERT_STR(ready_status(n), "True");
    json_decref(n);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_al2023_join_registers_node(void)
{
    struct fx f;
    struct ud u;
    struct inst in;
    struct launcher_alloc want;
    struct launcher_alloc_opts ao = {0, 29, 0};
    struct sim_cluster_stats st;
    char provider[128], buf[64];
    json_t *n;

    fx_open(&f, SIM_NODE_DELETE);
    ud_build(&u, K8S_AMI_AL2023, USERDATA_JOIN);
    run_one(&f, SIM_AMI_AL2023, u.out.gz, u.out.gz_len, &in);
    ud_free(&u);

    /* Running at launch, but no Node until join_cold later. */
    run_for(&f, S(T_LAUNCH + T_JOIN_COLD) - MS(1));
    CU_ASSERT_EQUAL(node_count(&f), 0);
    CU_ASSERT_STRING_EQUAL(f.last_state, "running");
    CU_ASSERT(f.chained >= 2); /* pending, running: the cluster forwards to the old observer */

    run_for(&f, MS(1));
    n = node_get(&f, in.dns);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    snprintf(provider, sizeof provider, "aws:///%s/%s", in.zone, in.id);
    ASSERT_STR(json_string_value(json_object_get(json_object_get(n, "spec"), "providerID")),
               provider);
    ASSERT_STR(ready_status(n), "False");
    ASSERT_STR(label(n, "node.kubernetes.io/instance-type"), ITYPE);
    ASSERT_STR(label(n, "kubernetes.io/arch"), "amd64");
    ASSERT_STR(label(n, "kubernetes.io/os"), "linux");
    ASSERT_STR(label(n, "topology.kubernetes.io/zone"), in.zone);
    ASSERT_STR(label(n, "topology.kubernetes.io/region"), SIM_AWS_REGION);
    ASSERT_STR(label(n, "kubernetes.io/hostname"), in.dns);
    ASSERT_STR(label(n, "karpenter.sh/capacity-type"), "on-demand");
    ASSERT_STR(label(n, "karpenter.k8s.aws/instance-family"), "m5");
    ASSERT_STR(label(n, "karpenter.k8s.aws/instance-size"), "large");
    ASSERT_STR(label(n, "karpenter.k8s.aws/instance-cpu"), "2");
    ASSERT_STR(label(n, "team"), "a");
    ASSERT_STR(label(n, "karpenter.sh/nodepool"), "default");
    CU_ASSERT(has_taint(n, "dedicated", "gpu", "NoSchedule"));
    CU_ASSERT(has_taint(n, USERDATA_STARTUP_TAINT_KEY, NULL, "NoExecute"));
    /* Allocatable is the catalog's, with the user data's max pods. */
    CU_ASSERT_EQUAL_FATAL(
        launcher_allocatable(sim_itype_find(f.a, ITYPE)->t, &ao, &want), 0);
    snprintf(buf, sizeof buf, "%lldm", (long long)want.cpu_milli);
    ASSERT_STR(alloc_of(n, "cpu"), buf);
    snprintf(buf, sizeof buf, "%lldKi", (long long)(want.memory_bytes / 1024));
    ASSERT_STR(alloc_of(n, "memory"), buf);
    ASSERT_STR(alloc_of(n, "pods"), "29");
    snprintf(buf, sizeof buf, "%lld", (long long)want.ephemeral_bytes);
    ASSERT_STR(alloc_of(n, "ephemeral-storage"), buf);
    ASSERT_STR(json_string_value(json_object_get(
                   json_object_get(json_object_get(n, "status"), "capacity"), "cpu")),
               "2");
    CU_ASSERT_PTR_NULL(alloc_of(n, "nvidia.com/gpu"));
    json_decref(n);

    /* Ready after the ready delay, not before. */
    run_for(&f, S(T_READY) - MS(1));
    n = node_get(&f, in.dns);
    ASSERT_STR(ready_status(n), "False");
    json_decref(n);
    run_for(&f, MS(1));
    n = node_get(&f, in.dns);
    ASSERT_STR(ready_status(n), "True");
    json_decref(n);
    sim_cluster_stats(f.c, &st);
    CU_ASSERT_EQUAL(st.nodes_registered, 1);
    CU_ASSERT_EQUAL(st.nodes_ready, 1);
    CU_ASSERT_EQUAL(st.nodes_removed, 0);
    fx_close(&f);
}

static void test_warmup_powers_off_then_joins_warm(void)
{
    struct fx f;
    struct ud warm, join;
    struct inst in;
    struct sim_cluster_stats st;
    char state[32], reason[64];
    json_t *n;

    fx_open(&f, SIM_NODE_DELETE);
    ud_build(&warm, K8S_AMI_AL2023, USERDATA_WARM);
    run_one(&f, SIM_AMI_AL2023, warm.out.gz, warm.out.gz_len, &in);
    ud_free(&warm);

    run_for(&f, S(T_LAUNCH + T_WARMUP) - MS(1));
    describe_state(&f, in.id, state, sizeof state, reason, sizeof reason);
    CU_ASSERT_STRING_EQUAL(state, "running");
    run_for(&f, MS(1));
    describe_state(&f, in.id, state, sizeof state, reason, sizeof reason);
    CU_ASSERT_STRING_EQUAL(state, "stopping");
    CU_ASSERT_STRING_EQUAL(reason, "Client.InstanceInitiatedShutdown");
    run_for(&f, S(T_STOP));
    describe_state(&f, in.id, state, sizeof state, reason, sizeof reason);
    CU_ASSERT_STRING_EQUAL(state, "stopped");
    CU_ASSERT_EQUAL(node_count(&f), 0);
    sim_cluster_stats(f.c, &st);
    CU_ASSERT_EQUAL(st.warmups_completed, 1);
    CU_ASSERT_EQUAL(st.nodes_registered, 0);

    /* The controller's second phase: join user data, start. The image cache is warm. */
    ud_build(&join, K8S_AMI_AL2023, USERDATA_JOIN);
    modify_user_data(&f, in.id, join.out.gz, join.out.gz_len);
    ud_free(&join);
    change(&f, START, in.id);
    run_for(&f, S(T_START + T_JOIN_WARM) - MS(1));
    CU_ASSERT_EQUAL(node_count(&f), 0);
    run_for(&f, MS(1));
    n = node_get(&f, in.dns);
    CU_ASSERT_PTR_NOT_NULL(n);
    json_decref(n);
    run_for(&f, S(T_READY));
    n = node_get(&f, in.dns);
    ASSERT_STR(ready_status(n), "True");
    json_decref(n);
    /* Warm join beats a cold one from launch: start + join_warm < launch + join_cold. */
    CU_ASSERT(T_START + T_JOIN_WARM < T_LAUNCH + T_JOIN_COLD);
    sim_cluster_stats(f.c, &st);
    CU_ASSERT_EQUAL(st.warmups_completed, 1);
    CU_ASSERT_EQUAL(st.nodes_registered, 1);
    fx_close(&f);
}

static void test_stop_deletes_node(void)
{
    struct fx f;
    struct inst in;
    struct sim_cluster_stats st;

    fx_open(&f, SIM_NODE_DELETE);
    launch_to_ready(&f, K8S_AMI_AL2023, SIM_AMI_AL2023, &in);
    change(&f, STOP, in.id);
    run_for(&f, MS(1));
    CU_ASSERT_EQUAL(node_count(&f), 0);
    run_for(&f, S(T_STOP));
    CU_ASSERT_EQUAL(node_count(&f), 0);
    sim_cluster_stats(f.c, &st);
    CU_ASSERT_EQUAL(st.nodes_removed, 1);
    fx_close(&f);
}

static void test_stop_notready_keeps_node(void)
{
    struct fx f;
    struct inst in;
    json_t *n;

    fx_open(&f, SIM_NODE_NOTREADY);
    launch_to_ready(&f, K8S_AMI_AL2023, SIM_AMI_AL2023, &in);
    change(&f, STOP, in.id);
    run_for(&f, S(T_STOP));
    n = node_get(&f, in.dns);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    ASSERT_STR(ready_status(n), "Unknown");
    CU_ASSERT(has_taint(n, "node.kubernetes.io/unreachable", NULL, "NoExecute"));
    CU_ASSERT(has_taint(n, "node.kubernetes.io/unreachable", NULL, "NoSchedule"));
    json_decref(n);

    /* Started again, the kubelet takes its Node back: Ready, unreachable taint gone. */
    change(&f, START, in.id);
    run_for(&f, S(T_START + T_JOIN_WARM + T_READY));
    n = node_get(&f, in.dns);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    ASSERT_STR(ready_status(n), "True");
    CU_ASSERT(!has_taint(n, "node.kubernetes.io/unreachable", NULL, "NoExecute"));
    json_decref(n);
    CU_ASSERT_EQUAL(node_count(&f), 1);

    /* Stopped and then terminated: the Node goes with the instance. */
    change(&f, STOP, in.id);
    run_for(&f, S(T_STOP));
    CU_ASSERT_EQUAL(node_count(&f), 1);
    change(&f, TERMINATE, in.id);
    run_for(&f, MS(1));
    CU_ASSERT_EQUAL(node_count(&f), 0);
    fx_close(&f);
}

static void test_terminate_deletes_node(void)
{
    struct fx f;
    struct inst in;
    struct sim_cluster_stats st;

    fx_open(&f, SIM_NODE_DELETE);
    launch_to_ready(&f, K8S_AMI_AL2023, SIM_AMI_AL2023, &in);
    change(&f, TERMINATE, in.id);
    run_for(&f, S(T_TERMINATE));
    CU_ASSERT_EQUAL(node_count(&f), 0);
    CU_ASSERT_EQUAL(core_map_len(f.c->kubelets), 0);
    sim_cluster_stats(f.c, &st);
    CU_ASSERT_EQUAL(st.nodes_removed, 1);
    fx_close(&f);
}

static void test_stop_before_register_never_registers(void)
{
    struct fx f;
    struct ud u;
    struct inst in;

    fx_open(&f, SIM_NODE_DELETE);
    ud_build(&u, K8S_AMI_AL2023, USERDATA_JOIN);
    run_one(&f, SIM_AMI_AL2023, u.out.gz, u.out.gz_len, &in);
    ud_free(&u);
    run_for(&f, S(T_LAUNCH + 10));
    change(&f, STOP, in.id);
    /* Well past when the join would have completed. */
    run_for(&f, S(T_JOIN_COLD + T_READY + 60));
    CU_ASSERT_EQUAL(node_count(&f), 0);
    fx_close(&f);
}

static void test_plain_script_never_registers(void)
{
    static const char script[] = "#!/bin/bash\necho hello > /tmp/hello\n";
    struct fx f;
    struct inst in;
    char state[32], reason[64];

    fx_open(&f, SIM_NODE_DELETE);
    run_one(&f, SIM_AMI_AL2023, script, strlen(script), &in);
    run_for(&f, S(T_LAUNCH + T_JOIN_COLD + T_WARMUP + 60));
    CU_ASSERT_EQUAL(node_count(&f), 0);
    describe_state(&f, in.id, state, sizeof state, reason, sizeof reason);
    CU_ASSERT_STRING_EQUAL(state, "running"); /* not a warm-up either: it stays up */
    fx_close(&f);
}

static void test_bottlerocket_and_al2_register(void)
{
    struct fx f;
    struct inst br, al2;
    json_t *n;

    fx_open(&f, SIM_NODE_DELETE);
    launch_to_ready(&f, K8S_AMI_BOTTLEROCKET, SIM_AMI_BOTTLEROCKET, &br);
    launch_to_ready(&f, K8S_AMI_AL2, SIM_AMI_AL2, &al2);
    CU_ASSERT_EQUAL(node_count(&f), 2);
    n = node_get(&f, br.dns);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    ASSERT_STR(label(n, "team"), "a");
    CU_ASSERT(has_taint(n, "dedicated", "gpu", "NoSchedule"));
    ASSERT_STR(alloc_of(n, "pods"), "29");
    ASSERT_STR(json_string_value(json_object_get(
                   json_object_get(json_object_get(n, "status"), "nodeInfo"), "osImage")),
               "Bottlerocket OS");
    json_decref(n);
    n = node_get(&f, al2.dns);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    ASSERT_STR(label(n, "team"), "a");
    CU_ASSERT(has_taint(n, USERDATA_STARTUP_TAINT_KEY, NULL, "NoExecute"));
    ASSERT_STR(alloc_of(n, "pods"), "29");
    json_decref(n);
    fx_close(&f);
}

TESTS_SUITE(sim_cluster_kubelet, "sim_cluster_kubelet", NULL, NULL,
            TESTS_CASE(test_al2023_join_registers_node),
            TESTS_CASE(test_warmup_powers_off_then_joins_warm),
            TESTS_CASE(test_stop_deletes_node), TESTS_CASE(test_stop_notready_keeps_node),
            TESTS_CASE(test_terminate_deletes_node),
            TESTS_CASE(test_stop_before_register_never_registers),
            TESTS_CASE(test_plain_script_never_registers),
            TESTS_CASE(test_bottlerocket_and_al2_register));
