/*
 * tests/unit/test_controller_nodeclass.c — the EC2NodeClass and NodePool reconcilers against
 * the emulated account and API server (tests/unit/simctl.h): status subnets (most free IPs
 * first), security groups, AMIs, conditions and their reasons, independence of keys, no write
 * when nothing changed, and NodePool status.resources from its NodeClaims.
 *
 * Invariant: every wait is on virtual time with a bound, so a broken reconciler fails a test
 * instead of hanging it.
 */
#include "controller/internal.h"
#include "tests/unit/harness.h"
#include "tests/unit/simctl.h"

#include <stdio.h>
#include <string.h>

#define SEC ((core_ns)1000000000LL)
#define NC_RES "ec2nodeclasses.stoker.dev"

static const char class_yaml_fmt[] = "apiVersion: stoker.dev/v1alpha1\n"
                                     "kind: EC2NodeClass\n"
                                     "metadata:\n"
                                     "  name: %s\n"
                                     "spec:\n"
                                     "  amiSelectorTerms:\n"
                                     "  - alias: al2023@latest\n"
                                     "  subnetSelectorTerms:\n"
                                     "  - tags:\n"
                                     "      stoker.dev/discovery: %s\n"
                                     "  securityGroupSelectorTerms:\n"
                                     "  - tags:\n"
                                     "      stoker.dev/discovery: sim\n"
                                     "%s";

static void apply_class(struct tests_simctl *s, const char *name, const char *discovery,
                        const char *extra)
{
    char y[4096];
    snprintf(y, sizeof y, class_yaml_fmt, name, discovery, extra);
    tests_simctl_apply(s, y);
}

/* The named condition of an object's status, or NULL. Borrowed. */
static json_t *cond_of(const json_t *obj, const char *type)
{
    json_t *conds = json_object_get(json_object_get(obj, "status"), "conditions");
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && strcmp(t, type) == 0)
            return c;
    }
    return NULL;
}

static const char *cond_field(const json_t *obj, const char *type, const char *field)
{
    return json_string_value(json_object_get(cond_of(obj, type), field));
}

struct wait_cond {
    const char *resource, *name, *type;
};

/* The object has the condition (any status). */
static int has_cond(struct tests_simctl *s, void *ud)
{
    struct wait_cond *w = ud;
    json_t *o = tests_simctl_get(s, w->resource, NULL, w->name);
    int ok = o && cond_of(o, w->type) != NULL;
    json_decref(o);
    return ok;
}

static int cond_true(struct tests_simctl *s, void *ud)
{
    struct wait_cond *w = ud;
    json_t *o = tests_simctl_get(s, w->resource, NULL, w->name);
    int ok = o && tests_simctl_condition(o, w->type);
    json_decref(o);
    return ok;
}

static void open_started(struct tests_simctl *s, core_ns interval)
{
    tests_simctl_open(s, NULL);
    s->opts.nodeclass_interval = interval;
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(s), 0);
}

/* ---- subnets' free addresses, read back from the emulator through stoker's client -------- */

struct subnet_avail {
    int done, rc;
    char ids[8][32];
    int64_t avail[8];
    size_t n;
};

static void subnets_cb(void *ud, int rc, const struct aws_ec2_subnets *res,
                       const struct core_err *err)
{
    struct subnet_avail *a = ud;
    (void)err;
    a->rc = rc;
    for (size_t i = 0; rc == 0 && i < res->n && a->n < 8; i++, a->n++) {
        core_strlcpy(a->ids[a->n], res->v[i].subnet_id, sizeof a->ids[a->n]);
        a->avail[a->n] = res->v[i].available_ips;
    }
    a->done = 1;
}

static int avail_done(struct tests_simctl *s, void *ud)
{
    (void)s;
    return ((struct subnet_avail *)ud)->done;
}

static int64_t avail_of(const struct subnet_avail *a, const char *id)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->ids[i], id) == 0)
            return a->avail[i];
    return -1;
}

/* ------------------------------------------------------------------------------------------ */

static void test_valid_class_ready(void)
{
    struct tests_simctl s;
    struct wait_cond w = {NC_RES, "default", "Ready"};
    open_started(&s, 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    CU_ASSERT_TRUE_FATAL(tests_simctl_until(&s, cond_true, &w, 60 * SEC));

    json_t *o = tests_simctl_get(&s, NC_RES, NULL, "default");
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    json_t *st = json_object_get(o, "status");
    int64_t gen = json_integer_value(json_object_get(json_object_get(o, "metadata"),
                                                     "generation"));
    const char *types[] = {"SubnetsReady", "SecurityGroupsReady", "AMIsReady",
                           "InstanceProfileReady", "ValidationSucceeded", "Ready"};
    for (size_t i = 0; i < 6; i++) {
        CU_ASSERT_TRUE(tests_simctl_condition(o, types[i]));
        CU_ASSERT_PTR_NOT_NULL(cond_field(o, types[i], "lastTransitionTime"));
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(cond_of(o, types[i]),
                                                           "observedGeneration")),
                        gen);
    }
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(st, "instanceProfile")),
                           "sim-node");

    /* The emulator tags a /19 per zone and a small /24 for discovery: every one of them,
     * ordered by free addresses, the small one last. */
    json_t *subnets = json_object_get(st, "subnets");
    CU_ASSERT_EQUAL(json_array_size(subnets), 4);
    struct subnet_avail a;
    struct core_err err = {0};
    struct aws_ec2_describe_subnets_req req;
    memset(&a, 0, sizeof a);
    memset(&req, 0, sizeof req);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_subnets(s.w->awsc, &req, subnets_cb, &a, &err), 0);
    CU_ASSERT_TRUE_FATAL(tests_simctl_until(&s, avail_done, &a, 10 * SEC));
    int64_t prev = INT64_MAX;
    size_t i;
    json_t *sn;
    json_array_foreach(subnets, i, sn)
    {
        int64_t av = avail_of(&a, json_string_value(json_object_get(sn, "id")));
        CU_ASSERT_TRUE(av >= 0 && av <= prev);
        prev = av;
        CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(sn, "zone")));
        CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(sn, "zoneID")));
    }
    CU_ASSERT_TRUE(prev < 300); /* the /24 comes last */

    json_t *sgs = json_object_get(st, "securityGroups");
    CU_ASSERT_EQUAL(json_array_size(sgs), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(sgs, 0), "name")),
                           "stoker-node");

    /* AMIs for both architectures, variants included. */
    json_t *amis = json_object_get(st, "amis");
    int amd = 0, arm = 0;
    json_t *am;
    json_array_foreach(amis, i, am)
    {
        size_t k;
        json_t *rq;
        json_array_foreach(json_object_get(am, "requirements"), k, rq)
        {
            const char *key = json_string_value(json_object_get(rq, "key"));
            const char *v0 = json_string_value(json_array_get(json_object_get(rq, "values"), 0));
            if (key && v0 && strcmp(key, "kubernetes.io/arch") == 0) {
                amd += strcmp(v0, "amd64") == 0;
                arm += strcmp(v0, "arm64") == 0;
            }
        }
    }
    CU_ASSERT_TRUE(amd >= 2); /* standard and accelerated */
    CU_ASSERT_TRUE(arm >= 1);
    CU_ASSERT_TRUE(controller_nodeclass_ready(s.ctl, "default"));
    CU_ASSERT_FALSE(controller_nodeclass_ready(s.ctl, "nope"));
    json_decref(o);
    tests_simctl_close(&s);
}

static void test_bad_class_does_not_block(void)
{
    struct tests_simctl s;
    struct wait_cond wb = {NC_RES, "bad", "SubnetsReady"};
    struct wait_cond wg = {NC_RES, "good", "Ready"};
    open_started(&s, 0);
    apply_class(&s, "bad", "nobody", "  instanceProfile: sim-node\n");
    apply_class(&s, "good", "sim", "  instanceProfile: sim-node\n");
    CU_ASSERT_TRUE_FATAL(tests_simctl_until(&s, has_cond, &wb, 60 * SEC));
    CU_ASSERT_TRUE_FATAL(tests_simctl_until(&s, cond_true, &wg, 60 * SEC));
    tests_simctl_run(&s, 1 * SEC); /* the informer sees what the API has */
    json_t *o = tests_simctl_get(&s, NC_RES, NULL, "bad");
    CU_ASSERT_FALSE(tests_simctl_condition(o, "SubnetsReady"));
    CU_ASSERT_STRING_EQUAL(cond_field(o, "SubnetsReady", "reason"), "SubnetsNotFound");
    CU_ASSERT_PTR_NOT_NULL(strstr(cond_field(o, "SubnetsReady", "message"),
                                  "stoker.dev/discovery=nobody"));
    CU_ASSERT_FALSE(tests_simctl_condition(o, "Ready"));
    CU_ASSERT_STRING_EQUAL(cond_field(o, "Ready", "reason"), "SubnetsNotFound");
    CU_ASSERT_TRUE(tests_simctl_condition(o, "SecurityGroupsReady"));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_object_get(o, "status"), "subnets")), 0);
    CU_ASSERT_FALSE(controller_nodeclass_ready(s.ctl, "bad"));
    CU_ASSERT_TRUE(controller_nodeclass_ready(s.ctl, "good"));
    json_decref(o);
    tests_simctl_close(&s);
}

static void test_role_not_supported(void)
{
    struct tests_simctl s;
    struct wait_cond w = {NC_RES, "byrole", "InstanceProfileReady"};
    open_started(&s, 0);
    apply_class(&s, "byrole", "sim", "  role: KarpenterNodeRole-sim\n");
    CU_ASSERT_TRUE_FATAL(tests_simctl_until(&s, has_cond, &w, 60 * SEC));
    json_t *o = tests_simctl_get(&s, NC_RES, NULL, "byrole");
    CU_ASSERT_FALSE(tests_simctl_condition(o, "InstanceProfileReady"));
    CU_ASSERT_STRING_EQUAL(cond_field(o, "InstanceProfileReady", "reason"), "RoleNotSupported");
    CU_ASSERT_PTR_NOT_NULL(strstr(cond_field(o, "InstanceProfileReady", "message"),
                                  "spec.instanceProfile"));
    CU_ASSERT_TRUE(tests_simctl_condition(o, "SubnetsReady"));
    CU_ASSERT_FALSE(tests_simctl_condition(o, "Ready"));
    CU_ASSERT_STRING_EQUAL(cond_field(o, "Ready", "reason"), "RoleNotSupported");
    json_decref(o);
    tests_simctl_close(&s);
}

struct wait_reason {
    const char *name, *type, *reason;
};

static int reason_is(struct tests_simctl *s, void *ud)
{
    struct wait_reason *w = ud;
    json_t *o = tests_simctl_get(s, NC_RES, NULL, w->name);
    const char *r = o ? cond_field(o, w->type, "reason") : NULL;
    int ok = r && strcmp(r, w->reason) == 0;
    json_decref(o);
    return ok;
}

/* The emulator does not evaluate CEL, so the API takes the class; the decoder refuses it and
 * the informer reports it through its error hook, which controller.c forwards to
 * controller_nodeclass_invalid. */
static void test_reserved_tag(void)
{
    struct tests_simctl s;
    struct wait_reason w = {"tagged", "ValidationSucceeded", "ReservedTag"};
    struct k8s_ec2nodeclass nc;
    struct core_err err = {0};
    open_started(&s, 0);
    apply_class(&s, "tagged", "sim",
                "  instanceProfile: sim-node\n  tags:\n    karpenter.sh/nodepool: x\n");
    tests_simctl_run(&s, 2 * SEC);
    json_t *o = tests_simctl_get(&s, NC_RES, NULL, "tagged");
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    memset(&nc, 0, sizeof nc);
    CU_ASSERT_NOT_EQUAL_FATAL(k8s_ec2nodeclass_decode(o, &nc, &err), 0);
    json_decref(o);
    CU_ASSERT_TRUE_FATAL(tests_simctl_until(&s, reason_is, &w, 30 * SEC));
    o = tests_simctl_get(&s, NC_RES, NULL, "tagged");
    CU_ASSERT_FALSE(tests_simctl_condition(o, "ValidationSucceeded"));
    CU_ASSERT_PTR_NOT_NULL(strstr(cond_field(o, "ValidationSucceeded", "message"),
                                  "karpenter.sh/nodepool"));
    CU_ASSERT_FALSE(tests_simctl_condition(o, "Ready"));
    const char *rv1 = json_string_value(
        json_object_get(json_object_get(o, "metadata"), "resourceVersion"));
    char rv[64];
    core_strlcpy(rv, rv1 ? rv1 : "", sizeof rv);
    json_decref(o);
    /* Our own write comes back through the informer as the same error: no second write. */
    tests_simctl_run(&s, 10 * SEC);
    o = tests_simctl_get(&s, NC_RES, NULL, "tagged");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(o, "metadata"), "resourceVersion")), rv);
    CU_ASSERT_FALSE(controller_nodeclass_ready(s.ctl, "tagged"));
    json_decref(o);
    tests_simctl_close(&s);
}

static void test_userdata_too_large(void)
{
    struct tests_simctl s;
    struct wait_reason w = {"big", "ValidationSucceeded", "UserDataTooLarge"};
    /* 40,000 characters a PRNG picks from 64: gzip cannot bring that under 16 KiB. */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 40000;
    char *extra = core_malloc(n + 256);
    CU_ASSERT_PTR_NOT_NULL_FATAL(extra);
    int off = snprintf(extra, 256, "  instanceProfile: sim-node\n  userData: |\n"
                                   "    #!/bin/bash\n    echo ");
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        extra[off + (int)i] = alphabet[(x >> 16) & 63];
    }
    memcpy(extra + off + n, "\n", 2);
    char *y = core_malloc(n + 4096);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    snprintf(y, n + 4096, class_yaml_fmt, "big", "sim", extra);
    open_started(&s, 0);
    tests_simctl_apply(&s, y);
    core_free(y);
    core_free(extra);
    CU_ASSERT_TRUE_FATAL(tests_simctl_until(&s, reason_is, &w, 60 * SEC));
    json_t *o = tests_simctl_get(&s, NC_RES, NULL, "big");
    CU_ASSERT_FALSE(tests_simctl_condition(o, "ValidationSucceeded"));
    CU_ASSERT_TRUE(tests_simctl_condition(o, "SubnetsReady"));
    CU_ASSERT_FALSE(tests_simctl_condition(o, "Ready"));
    CU_ASSERT_STRING_EQUAL(cond_field(o, "Ready", "reason"), "UserDataTooLarge");
    json_decref(o);
    tests_simctl_close(&s);
}

static void test_no_write_when_unchanged(void)
{
    struct tests_simctl s;
    struct wait_cond w = {NC_RES, "default", "Ready"};
    struct controller_stats st1, st2;
    open_started(&s, 30 * SEC);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    CU_ASSERT_TRUE_FATAL(tests_simctl_until(&s, cond_true, &w, 60 * SEC));
    tests_simctl_run(&s, 2 * SEC);
    json_t *o = tests_simctl_get(&s, NC_RES, NULL, "default");
    char rv[64], ltt[64];
    core_strlcpy(rv,
                 json_string_value(json_object_get(json_object_get(o, "metadata"),
                                                   "resourceVersion")),
                 sizeof rv);
    core_strlcpy(ltt, cond_field(o, "Ready", "lastTransitionTime"), sizeof ltt);
    json_decref(o);
    controller_get_stats(s.ctl, &st1);
    /* Three re-resolutions later: EC2 was asked again, the object was not written. */
    tests_simctl_run(&s, 100 * SEC);
    controller_get_stats(s.ctl, &st2);
    CU_ASSERT_TRUE(st2.ec2_calls >= st1.ec2_calls + 3 * 2);
    o = tests_simctl_get(&s, NC_RES, NULL, "default");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(o, "metadata"), "resourceVersion")), rv);
    CU_ASSERT_STRING_EQUAL(cond_field(o, "Ready", "lastTransitionTime"), ltt);
    json_decref(o);
    tests_simctl_close(&s);
}

/* ---- NodePool ------------------------------------------------------------------------------ */

static void make_claim(struct tests_simctl *s, const char *name, const char *cpu, const char *mem)
{
    struct core_err err = {0};
    json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:{s:s, s:s, s:s}, s:[]}}",
                            "apiVersion", "stoker.dev/v1alpha1", "kind", "NodeClaim",
                            "metadata", "name", name, "labels", "karpenter.sh/nodepool",
                            "default", "spec", "nodeClassRef", "group", "stoker.dev", "kind",
                            "EC2NodeClass", "name", "default", "requirements");
    json_t *out = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
    int rc = sim_kube_create(s->w->kube, "nodeclaims.stoker.dev", NULL, obj, &out, &err);
    if (rc)
        fprintf(stderr, "\n  create: %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    json_decref(out);
    json_decref(obj);
    if (!cpu)
        return;
    json_t *patch = json_pack("{s:{s:s, s:{s:s, s:s, s:s}}}", "status", "providerID",
                              "aws:///us-east-1a/i-0123", "capacity", "cpu", cpu, "memory", mem,
                              "pods", "110");
    out = NULL;
    rc = sim_kube_patch(s->w->kube, "nodeclaims.stoker.dev", NULL, name, patch, 1, &out, &err);
    if (rc)
        fprintf(stderr, "\n  patch: %s\n", err.message);
    CU_ASSERT_EQUAL(rc, 0);
    json_decref(out);
    json_decref(patch);
}

static int pool_nodes(struct tests_simctl *s, void *ud)
{
    const char *want = ud;
    json_t *o = tests_simctl_get(s, "nodepools.stoker.dev", NULL, "default");
    const char *n = json_string_value(json_object_get(
        json_object_get(json_object_get(o, "status"), "resources"), "nodes"));
    int ok = n && strcmp(n, want) == 0 && tests_simctl_condition(o, "NodeClassReady");
    json_decref(o);
    return ok;
}

static int pool_cpu(struct tests_simctl *s, void *ud)
{
    json_t *o = tests_simctl_get(s, "nodepools.stoker.dev", NULL, "default");
    const char *n = json_string_value(json_object_get(
        json_object_get(json_object_get(o, "status"), "resources"), "cpu"));
    int ok = n && strcmp(n, ud) == 0;
    json_decref(o);
    return ok;
}

static void test_nodepool_resources(void)
{
    struct tests_simctl s;
    struct wait_cond w = {"nodepools.stoker.dev", "default", "Ready"};
    open_started(&s, 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml);
    CU_ASSERT_TRUE_FATAL(tests_simctl_until(&s, cond_true, &w, 60 * SEC));
    make_claim(&s, "default-a", "2", "4Gi");
    make_claim(&s, "default-b", "4", "8Gi");
    make_claim(&s, "default-c", NULL, NULL); /* not launched: counted as a node only */
    CU_ASSERT_TRUE_FATAL(tests_simctl_until(&s, pool_nodes, "3", 30 * SEC));
    /* Both status writes may race the claims' events: wait until the sum is the final one. */
    tests_simctl_run(&s, 2 * SEC);
    json_t *o = tests_simctl_get(&s, "nodepools.stoker.dev", NULL, "default");
    json_t *res = json_object_get(json_object_get(o, "status"), "resources");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(res, "cpu")), "6");
    int64_t mem = 0;
    CU_ASSERT_EQUAL(k8s_quantity_parse(json_string_value(json_object_get(res, "memory")), &mem),
                    0);
    CU_ASSERT_EQUAL(mem, 12LL << 30);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(res, "pods")), "220");
    CU_ASSERT_TRUE(tests_simctl_condition(o, "Ready"));
    json_decref(o);

    struct k8s_res_list u = {0};
    CU_ASSERT_EQUAL_FATAL(controller_nodepool_usage(s.ctl, "default", &u), 0);
    CU_ASSERT_EQUAL(k8s_res_get(&u, "cpu"), 6000);
    CU_ASSERT_EQUAL(k8s_res_get(&u, "nodes"), 3000);
    CU_ASSERT_EQUAL(k8s_res_get(&u, "memory"), (12LL << 30) * 1000);
    k8s_res_cleanup(&u);

    /* A claim whose capacity changes moves the sum (the claims' own events queue the pool). */
    struct core_err err = {0};
    json_t *patch = json_pack("{s:{s:{s:s}}}", "status", "capacity", "cpu", "8");
    json_t *out = NULL;
    CU_ASSERT_EQUAL(sim_kube_patch(s.w->kube, "nodeclaims.stoker.dev", NULL, "default-b", patch,
                                   1, &out, &err),
                    0);
    json_decref(out);
    json_decref(patch);
    CU_ASSERT_TRUE(tests_simctl_until(&s, pool_cpu, "10", 30 * SEC));
    tests_simctl_close(&s);
}

static void test_nodepool_class_not_ready(void)
{
    struct tests_simctl s;
    struct wait_cond w = {"nodepools.stoker.dev", "default", "NodeClassReady"};
    open_started(&s, 0);
    tests_simctl_apply(&s, tests_simctl_nodepool_yaml); /* its class does not exist */
    CU_ASSERT_TRUE_FATAL(tests_simctl_until(&s, has_cond, &w, 30 * SEC));
    json_t *o = tests_simctl_get(&s, "nodepools.stoker.dev", NULL, "default");
    CU_ASSERT_FALSE(tests_simctl_condition(o, "NodeClassReady"));
    CU_ASSERT_FALSE(tests_simctl_condition(o, "Ready"));
    CU_ASSERT_STRING_EQUAL(cond_field(o, "Ready", "reason"), "NodeClassNotReady");
    json_decref(o);
    /* The class appears and becomes Ready: the pool follows without its own change. */
    struct wait_cond wr = {"nodepools.stoker.dev", "default", "Ready"};
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    CU_ASSERT_TRUE(tests_simctl_until(&s, cond_true, &wr, 60 * SEC));
    tests_simctl_close(&s);
}


/* ---- pool limits across batches ------------------------------------------------------------ */

static void limit_pod(struct tests_simctl *s, const char *name)
{
    char y[1024];
    snprintf(y, sizeof(y),
             "apiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: default}\n"
             "spec:\n  containers:\n  - name: c\n    image: nginx\n"
             "    resources: {requests: {cpu: \"1\", memory: 256Mi}}\n",
             name);
    tests_simctl_apply(s, y);
}

/* Sum over the NodeClaims of the vCPUs of their largest listed instance type (milli). */
static int64_t claims_max_cpu(struct tests_simctl *s, size_t *nclaims)
{
    json_t *items = tests_simctl_list(s, "nodeclaims.stoker.dev", NULL);
    int64_t sum = 0;
    size_t i, j;
    json_t *o, *r, *v;
    *nclaims = json_array_size(items);
    json_array_foreach(items, i, o)
    {
        int64_t best = 0;
        json_array_foreach(json_object_get(json_object_get(o, "spec"), "requirements"), j, r)
        {
            const char *k = json_string_value(json_object_get(r, "key"));
            if (!k || strcmp(k, "node.kubernetes.io/instance-type") != 0)
                continue;
            size_t m;
            json_array_foreach(json_object_get(r, "values"), m, v)
            {
                const struct launcher_itype *t =
                    launcher_catalog_find(controller_catalog(s->ctl), json_string_value(v));
                CU_ASSERT_PTR_NOT_NULL(t);
                if (t && (int64_t)t->vcpu * 1000 > best)
                    best = (int64_t)t->vcpu * 1000;
            }
        }
        sum += best;
    }
    json_decref(items);
    return sum;
}

static int offerings_loaded(struct tests_simctl *s, void *ud)
{
    (void)ud;
    return strstr(tests_simctl_log(s), "instance types refreshed") != NULL;
}

static int any_claim(struct tests_simctl *s, void *ud)
{
    (void)ud;
    return tests_simctl_count(s, "nodeclaims.stoker.dev", NULL, NULL) > 0;
}

/* A pool limited to 8 CPUs, pods arriving in two batches while EC2 answers slowly (the first
 * batch's NodeClaims have no capacity yet when the second runs): the NodeClaims created never
 * add up to more than 8 vCPUs, counting each as its largest listed type. */
static void test_nodepool_limit_across_batches(void)
{
    struct tests_simctl s;
    struct sim_world_opts wo;
    memset(&wo, 0, sizeof(wo));
    wo.seed = 1;
    wo.faults.latency = 10 * SEC;
    tests_simctl_open(&s, &wo);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    struct wait_cond w = {"nodepools.stoker.dev", "default", "Ready"};
    char pool[2048];
    snprintf(pool, sizeof(pool), "%s  limits:\n    cpu: \"8\"\n", tests_simctl_nodepool_yaml);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    tests_simctl_apply(&s, pool);
    CU_ASSERT_TRUE_FATAL(tests_simctl_until(&s, cond_true, &w, 300 * SEC));
    /* The offerings come with slow EC2 answers too (a batch before them plans nothing). */
    CU_ASSERT_TRUE_FATAL(tests_simctl_until(&s, offerings_loaded, NULL, 300 * SEC));
    for (int i = 0; i < 10; i++) {
        char name[32];
        snprintf(name, sizeof(name), "lim-a-%d", i);
        limit_pod(&s, name);
    }
    CU_ASSERT_TRUE_FATAL(tests_simctl_until(&s, any_claim, NULL, 120 * SEC));
    tests_simctl_run(&s, 1 * SEC);
    size_t first = 0;
    int64_t cpu = claims_max_cpu(&s, &first);
    CU_ASSERT_FATAL(first >= 1);
    CU_ASSERT(cpu <= 8000);
    /* Not launched yet: the second batch only has the estimate to go by. */
    json_t *items = tests_simctl_list(&s, "nodeclaims.stoker.dev", NULL);
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
        CU_ASSERT_PTR_NULL(json_object_get(json_object_get(o, "status"), "capacity"));
    json_decref(items);
    for (int k = 0; k < 10; k++) {
        char name[32];
        snprintf(name, sizeof(name), "lim-b-%d", k);
        limit_pod(&s, name);
    }
    for (int t = 0; t < 12; t++) {
        tests_simctl_run(&s, 5 * SEC);
        size_t n = 0;
        cpu = claims_max_cpu(&s, &n);
        CU_ASSERT(cpu <= 8000);
    }
    struct k8s_res_list u = {0};
    CU_ASSERT_EQUAL_FATAL(controller_nodepool_usage(s.ctl, "default", &u), 0);
    CU_ASSERT(k8s_res_get(&u, "cpu") <= 8000);
    CU_ASSERT(k8s_res_get(&u, "cpu") > 0);
    k8s_res_cleanup(&u);
    tests_simctl_close(&s);
}

TESTS_SUITE(controller_nodeclass, "controller_nodeclass", NULL, NULL,
            TESTS_CASE(test_valid_class_ready), TESTS_CASE(test_bad_class_does_not_block),
            TESTS_CASE(test_role_not_supported), TESTS_CASE(test_reserved_tag),
            TESTS_CASE(test_userdata_too_large), TESTS_CASE(test_no_write_when_unchanged),
            TESTS_CASE(test_nodepool_resources), TESTS_CASE(test_nodepool_class_not_ready),
            TESTS_CASE(test_nodepool_limit_across_batches))
