/*
 * tests/unit/test_sim_kube_crd.c — the emulated API's CustomResourceDefinitions: stoker's four
 * CRDs (deploy/crds) load and are served and stored; their schemas are structural and every
 * pattern in them compiles as a POSIX ERE; objects the schema accepts are objects stoker's own
 * decoders accept (so the two cannot drift apart silently); each kind of violation gives the
 * API server's message; unknown fields are pruned and defaults applied; the kubeconfig writer
 * produces a file stoker's own kubeconfig loader reads, mode 0600, without following a planted
 * symlink.
 */
#include "tests/unit/harness.h"

#include "core/core.h"
#include "k8s/k8s.h"
#include "sim/kube_internal.h"
#include "sim/sim.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ASSERT_STR(actual, expected)                                                          \
    do {                                                                                      \
        const char *as_ = (actual);                                                           \
        CU_ASSERT(as_ != NULL && strcmp(as_, (expected)) == 0);                               \
        if (!as_ || strcmp(as_, (expected)) != 0)                                             \
            fprintf(stderr, "\n  got:  %s\n  want: %s\n", as_ ? as_ : "(null)", (expected));  \
    } while (0)
#define ASSERT_HAS(actual, needle)                                                            \
    do {                                                                                      \
        const char *ah_ = (actual);                                                           \
        CU_ASSERT(ah_ != NULL && strstr(ah_, (needle)) != NULL);                              \
        if (!ah_ || !strstr(ah_, (needle)))                                                   \
            fprintf(stderr, "\n  got:  %s\n  want substring: %s\n", ah_ ? ah_ : "(null)",     \
                    (needle));                                                                \
    } while (0)

static const char *const crd_files[] = {"stoker.dev_nodepools.yaml",
                                        "stoker.dev_ec2nodeclasses.yaml",
                                        "stoker.dev_nodeclaims.yaml",
                                        "stoker.dev_warmpools.yaml", NULL};

struct fx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct sim_kube *k;
};

static char *read_crd(const char *file, size_t *len)
{
    char rel[256];
    snprintf(rel, sizeof rel, "../../deploy/crds/%s", file);
    return tests_read_file(tests_data_path(rel), len);
}

static int fx_init(struct fx *f, int load)
{
    struct sim_kube_opts o;
    struct core_err err;

    memset(f, 0, sizeof *f);
    core_err_clear(&err);
    if (!(f->clock = core_clock_virtual_new(0, INT64_C(1767225600) * CORE_NS_PER_S)) ||
        core_loop_new(f->clock, NULL, &f->loop, NULL) != 0)
        return -1;
    sim_kube_opts_default(&o);
    if (sim_kube_new(f->loop, &o, &f->k, &err) != 0) {
        fprintf(stderr, "\n  sim_kube_new: %s\n", err.message);
        return -1;
    }
    for (size_t i = 0; load && crd_files[i]; i++) {
        size_t len;
        char *text = read_crd(crd_files[i], &len);
        int rc = text ? sim_kube_load_crds(f->k, text, len, crd_files[i], &err) : -1;
        if (rc != 0)
            fprintf(stderr, "\n  load %s: %s\n", crd_files[i], text ? err.message : "unreadable");
        core_free(text);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static void fx_free(struct fx *f)
{
    sim_kube_free(f->k);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

/* The first document of a YAML text. */
static json_t *yaml1(const char *text)
{
    json_t **docs = NULL, *d;
    size_t n = 0;
    if (k8s_yaml_parse(text, strlen(text), &docs, &n, NULL) != 0 || n == 0)
        return NULL;
    d = json_incref(docs[0]);
    k8s_yaml_docs_free(docs, n);
    return d;
}

/* Every document of a manifest under tests/data. */
static json_t *manifest_doc(const char *rel, size_t index)
{
    json_t **docs = NULL, *d = NULL;
    size_t n = 0;
    if (k8s_yaml_load_file(tests_data_path(rel), &docs, &n, NULL) != 0)
        return NULL;
    if (index < n)
        d = json_incref(docs[index]);
    k8s_yaml_docs_free(docs, n);
    return d;
}

/* Validates text (YAML) against the resource; returns rc, *out the pruned object. */
static int check(struct fx *f, const char *key, const char *text, json_t **out,
                 struct core_err *err)
{
    struct sim_kres *r = sim_kube_res_by_key(f->k, key);
    json_t *obj = yaml1(text);
    int rc;

    core_err_clear(err);
    CU_ASSERT_PTR_NOT_NULL(r);
    CU_ASSERT_PTR_NOT_NULL(obj);
    if (!r || !obj) {
        json_decref(obj);
        return -1;
    }
    rc = sim_kube_crd_validate(r, obj, out, err);
    json_decref(obj);
    return rc;
}

/* The message of validating text, "" when it passes. */
static const char *violation_of(struct fx *f, const char *key, const char *text)
{
    static struct core_err err;
    json_t *out = NULL;
    if (check(f, key, text, &out, &err) == 0) {
        json_decref(out);
        return "";
    }
    return err.message;
}

#define NP_HEAD                                                                                \
    "apiVersion: stoker.dev/v1alpha1\nkind: NodePool\nmetadata: {name: x}\nspec:\n"
#define NP_TSPEC                                                                               \
    "  template:\n    spec:\n      nodeClassRef: {group: stoker.dev, kind: EC2NodeClass, "   \
    "name: default}\n"
#define NC_HEAD                                                                                \
    "apiVersion: stoker.dev/v1alpha1\nkind: EC2NodeClass\nmetadata: {name: d}\nspec:\n"        \
    "  subnetSelectorTerms: [{tags: {a: b}}]\n"                                                \
    "  securityGroupSelectorTerms: [{tags: {a: b}}]\n  role: R\n"

/* ------------------------------------------------------------------------------------------ */

static void test_load_four(void)
{
    struct fx f;
    struct core_err err;
    struct sim_kres *r;
    json_t *crd = NULL, *items = NULL;
    size_t len;
    char *text;

    CU_ASSERT_EQUAL_FATAL(fx_init(&f, 1), 0);
    r = sim_kube_res_by_key(f.k, "nodepools.stoker.dev");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    ASSERT_STR(r->group, "stoker.dev");
    ASSERT_STR(r->version, "v1alpha1");
    ASSERT_STR(r->kind, "NodePool");
    ASSERT_STR(r->list_kind, "NodePoolList");
    ASSERT_STR(r->singular, "nodepool");
    CU_ASSERT_EQUAL(r->namespaced, 0);
    CU_ASSERT_EQUAL(r->has_status, 1);
    CU_ASSERT_EQUAL(r->is_crd, 1);
    CU_ASSERT(json_is_object(r->schema));
    CU_ASSERT(json_array_size(r->printer_columns) >= 4);
    CU_ASSERT_PTR_EQUAL(sim_kube_res_find(f.k, "stoker.dev", "v1alpha1", "nodepools"), r);

    r = sim_kube_res_by_key(f.k, "ec2nodeclasses.stoker.dev");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    ASSERT_STR(r->crd_short_names, "ec2nc,ec2ncs");
    ASSERT_STR(r->kind, "EC2NodeClass");
    r = sim_kube_res_by_key(f.k, "nodeclaims.stoker.dev");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_PTR_NULL(r->crd_short_names);
    CU_ASSERT_EQUAL(r->namespaced, 0);
    {
        /* The columns kubectl shows: Type from the instance-type label, escaped dots. */
        const json_t *c0 = json_array_get(r->printer_columns, 0);
        ASSERT_STR(json_string_value(json_object_get(c0, "name")), "Type");
        ASSERT_STR(json_string_value(json_object_get(c0, "jsonPath")),
                   ".metadata.labels.node\\.kubernetes\\.io/instance-type");
    }
    r = sim_kube_res_by_key(f.k, "warmpools.stoker.dev");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->namespaced, 0);

    /* Each definition is stored too, accepted and established. */
    core_err_clear(&err);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "customresourcedefinitions.apiextensions.k8s.io", NULL,
                                 "warmpools.stoker.dev", &crd, &err), 0);
    ASSERT_STR(json_string_value(json_object_get(
                   json_array_get(json_object_get(json_object_get(crd, "status"), "conditions"),
                                  1), "type")),
               "Established");
    ASSERT_STR(json_string_value(json_array_get(
                   json_object_get(json_object_get(crd, "status"), "storedVersions"), 0)),
               "v1alpha1");
    json_decref(crd);
    CU_ASSERT_EQUAL(sim_kube_list(f.k, "customresourcedefinitions.apiextensions.k8s.io", NULL,
                                  NULL, NULL, &items, &err), 0);
    CU_ASSERT_EQUAL(json_array_size(items), 4);
    json_decref(items);

    /* The same definition again is a conflict naming it. */
    text = read_crd("stoker.dev_nodepools.yaml", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(sim_kube_load_crds(f.k, text, len, "again.yaml", &err), CORE_E_CONFLICT);
    ASSERT_HAS(err.message, "nodepools.stoker.dev");
    core_free(text);
    fx_free(&f);
}

/* The CRDs built into the binary are exactly the four in deploy/crds, schemas included. */
static void test_builtin_crds(void)
{
    struct fx f;
    struct core_err err;
    static const char *const keys[] = {"nodepools.stoker.dev", "ec2nodeclasses.stoker.dev",
                                       "nodeclaims.stoker.dev", "warmpools.stoker.dev"};

    CU_ASSERT_EQUAL_FATAL(fx_init(&f, 0), 0);
    CU_ASSERT_PTR_NULL(sim_kube_res_by_key(f.k, "nodepools.stoker.dev"));
    CU_ASSERT_EQUAL(sim_kube_load_builtin_crds(f.k, &err), 0);
    for (size_t i = 0; i < 4; i++) {
        struct sim_kres *r = sim_kube_res_by_key(f.k, keys[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        CU_ASSERT(json_is_object(r->schema));
        CU_ASSERT_EQUAL(r->has_status, 1);
    }
    /* Loading them twice is refused rather than served twice. */
    CU_ASSERT_NOT_EQUAL(sim_kube_load_builtin_crds(f.k, &err), 0);
    fx_free(&f);
}

static void test_load_errors(void)
{
    static const char bad_name[] =
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: widgets.example.com}\n"
        "spec:\n  group: example.com\n  scope: Cluster\n"
        "  names: {kind: Gadget, plural: gadgets}\n"
        "  versions: [{name: v1, served: true, storage: true,\n"
        "    schema: {openAPIV3Schema: {type: object}}}]\n";
    static const char no_type[] =
        "kind: ConfigMap\napiVersion: v1\nmetadata: {name: skipped}\n---\n"
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: gadgets.example.com}\n"
        "spec:\n  group: example.com\n  scope: Namespaced\n"
        "  names: {kind: Gadget, plural: gadgets}\n"
        "  versions: [{name: v1, served: true, storage: true,\n"
        "    schema: {openAPIV3Schema: {type: object, properties: {spec: {properties: {}}}}}}]\n";
    static const char good_then_bad[] =
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: gadgets.example.com}\n"
        "spec:\n  group: example.com\n  scope: Namespaced\n"
        "  names: {kind: Gadget, plural: gadgets}\n"
        "  versions: [{name: v1, served: true, storage: true,\n"
        "    schema: {openAPIV3Schema: {type: object}}}]\n---\n"
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: things.example.com}\n"
        "spec:\n  group: example.com\n  scope: Sideways\n"
        "  names: {kind: Thing, plural: things}\n"
        "  versions: [{name: v1, served: true, storage: true,\n"
        "    schema: {openAPIV3Schema: {type: object}}}]\n";
    struct fx f;
    struct core_err err;
    struct sim_kres *r;

    CU_ASSERT_EQUAL_FATAL(fx_init(&f, 0), 0);
    core_err_clear(&err);
    CU_ASSERT_EQUAL(sim_kube_load_crds(f.k, bad_name, strlen(bad_name), "a.yaml", &err),
                    CORE_E_INVAL);
    ASSERT_HAS(err.message, "a.yaml: document 1 (CustomResourceDefinition widgets.example.com)");
    ASSERT_HAS(err.message, "metadata.name");
    CU_ASSERT_EQUAL(sim_kube_load_crds(f.k, no_type, strlen(no_type), "b.yaml", &err),
                    CORE_E_INVAL);
    ASSERT_HAS(err.message, "document 2");
    ASSERT_HAS(err.message, "openAPIV3Schema.properties.spec.type: Required value");
    /* A bad second document registers nothing, not even the good first one. */
    CU_ASSERT_EQUAL(sim_kube_load_crds(f.k, good_then_bad, strlen(good_then_bad), "c.yaml",
                                       &err), CORE_E_INVAL);
    ASSERT_HAS(err.message, "spec.scope: Unsupported value: \"Sideways\"");
    CU_ASSERT_PTR_NULL(sim_kube_res_by_key(f.k, "gadgets.example.com"));
    /* A YAML error names the source and the line. */
    CU_ASSERT_NOT_EQUAL(sim_kube_load_crds(f.k, "a: [b", 5, "d.yaml", &err), 0);
    ASSERT_HAS(err.message, "d.yaml: line ");
    /* A good one is served namespaced, singular and listKind derived. */
    CU_ASSERT_EQUAL(sim_kube_load_crds(f.k, good_then_bad, strstr(good_then_bad, "---") -
                                       good_then_bad, "e.yaml", &err), 0);
    r = sim_kube_res_by_key(f.k, "gadgets.example.com");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->namespaced, 1);
    ASSERT_STR(r->singular, "gadget");
    ASSERT_STR(r->list_kind, "GadgetList");
    CU_ASSERT_EQUAL(r->has_status, 0);
    fx_free(&f);
}

/* Calls fn for every "pattern" in a schema tree. */
static void each_pattern(const json_t *s, void (*fn)(const char *pat, void *ud), void *ud)
{
    const char *key;
    json_t *v;
    size_t i;

    if (json_is_array(s)) {
        json_array_foreach(s, i, v)
            each_pattern(v, fn, ud);
        return;
    }
    if (!json_is_object(s))
        return;
    json_object_foreach((json_t *)s, key, v) {
        if (strcmp(key, "pattern") == 0 && json_is_string(v))
            fn(json_string_value(v), ud);
        else if (strcmp(key, "enum") != 0 && strcmp(key, "default") != 0)
            each_pattern(v, fn, ud);
    }
}

struct pat_count {
    unsigned total, bad;
};

static void compile_one(const char *pat, void *ud)
{
    struct pat_count *pc = ud;
    regex_t re;
    pc->total++;
    if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0) {
        pc->bad++;
        fprintf(stderr, "\n  pattern does not compile as POSIX ERE (not enforced): %s\n", pat);
        return;
    }
    regfree(&re);
}

static void test_patterns_compile(void)
{
    struct fx f;
    struct pat_count pc = {0, 0};

    CU_ASSERT_EQUAL_FATAL(fx_init(&f, 1), 0);
    for (size_t i = 0; crd_files[i]; i++) {
        char key[128];
        const char *dot = strchr(crd_files[i], '_');
        struct sim_kres *r;
        size_t n = strlen(dot + 1) - strlen(".yaml");
        snprintf(key, sizeof key, "%.*s.stoker.dev", (int)n, dot + 1);
        r = sim_kube_res_by_key(f.k, key);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        each_pattern(r->schema, compile_one, &pc);
    }
    CU_ASSERT(pc.total >= 20);
    CU_ASSERT_EQUAL(pc.bad, 0);
    fx_free(&f);
}

/* Objects the schema accepts decode with stoker's own decoders, before and after pruning and
 * defaulting; the defaults the schema applies are the ones the decoders assume. */
static void test_valid_examples(void)
{
    static const char claim[] =
        "apiVersion: stoker.dev/v1alpha1\nkind: NodeClaim\nmetadata:\n  name: general-abcde\n"
        "  labels: {karpenter.sh/nodepool: general}\n"
        "spec:\n  nodeClassRef: {group: stoker.dev, kind: EC2NodeClass, name: default}\n"
        "  requirements:\n"
        "    - {key: node.kubernetes.io/instance-type, operator: In, values: [m5.large, "
        "m5.xlarge], minValues: 2}\n"
        "    - {key: karpenter.k8s.aws/instance-cpu, operator: Gt, values: ['3']}\n"
        "  resources: {requests: {cpu: 1500m, memory: 2Gi, pods: 3}}\n"
        "  taints: [{key: dedicated, value: web, effect: NoSchedule}]\n"
        "  terminationGracePeriod: 1h30m\n"
        "status:\n  providerID: aws:///us-east-1a/i-0123456789abcdef0\n  nodeName: ip-10-0-0-1\n"
        "  capacity: {cpu: '2', memory: 8Gi}\n"
        "  conditions: [{type: Ready, status: 'True', lastTransitionTime: "
        "'2026-01-01T00:00:00Z', reason: Ready, message: ''}]\n";
    static const char warm[] =
        "apiVersion: stoker.dev/v1alpha1\nkind: WarmPool\nmetadata: {name: web}\n"
        "spec:\n  nodePoolRef: {name: general}\n  instanceTypes: [m5.large]\n"
        "  zones: [us-east-1a]\n  podShape: {cpu: '1', memory: 2Gi}\n"
        "  size: {min: 2, max: 5}\n  state: Hibernated\n"
        "  prewarm: {images: [public.ecr.aws/nginx/nginx:1.27], hydrateRootVolume: true, "
        "timeout: 10m}\n  maxAge: 168h\n"
        "  schedules:\n    - {name: black-friday, start: '2026-11-27T08:00:00Z', duration: 16h, "
        "size: {min: 20}}\n    - {name: mornings, start: '0 8 * * 1-5', duration: 2h, "
        "size: {min: 5, max: 10}}\n"
        "status: {warm: 2, claimed: 1, idleCostPerHour: '0.0123'}\n";
    static const char full_nc[] = NC_HEAD
        "  amiSelectorTerms: [{name: 'my-ami-*', owner: '123456789012'}, {id: ami-0abc}]\n"
        "  amiFamily: AL2023\n"
        "  userData: |\n    #!/bin/bash\n    echo hi\n"
        "  tags: {team: platform}\n"
        "  kubelet: {clusterDNS: [10.100.0.10], maxPods: 110, systemReserved: {cpu: 100m, "
        "memory: 100Mi}, evictionHard: {memory.available: 5%}, evictionSoft: "
        "{nodefs.available: 10%}, evictionSoftGracePeriod: {nodefs.available: 1m30s}, "
        "imageGCHighThresholdPercent: 85, imageGCLowThresholdPercent: 80, cpuCFSQuota: true}\n"
        "  blockDeviceMappings:\n    - deviceName: /dev/xvda\n      rootVolume: true\n"
        "      ebs: {volumeSize: 100Gi, volumeType: gp3, iops: 3000, throughput: 125, "
        "encrypted: true, deleteOnTermination: true, volumeInitializationRate: 200}\n"
        "  instanceStorePolicy: RAID0\n  metadataOptions: {httpTokens: optional}\n"
        "  detailedMonitoring: true\n  associatePublicIPAddress: false\n";
    struct fx f;
    struct core_err err;
    json_t *out = NULL, *obj;
    struct sim_kres *r;

    CU_ASSERT_EQUAL_FATAL(fx_init(&f, 1), 0);

    /* The manifests other tests use. */
    r = sim_kube_res_by_key(f.k, "nodepools.stoker.dev");
    obj = manifest_doc("manifests/nodepool-general.yaml", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
    core_err_clear(&err);
    CU_ASSERT_EQUAL(sim_kube_crd_validate(r, obj, &out, &err), 0);
    {
        struct k8s_nodepool np;
        memset(&np, 0, sizeof np);
        CU_ASSERT_EQUAL(k8s_nodepool_decode(out, &np, &err), 0);
        CU_ASSERT_EQUAL(np.nbudgets, 1);
        CU_ASSERT_EQUAL(np.consolidation_policy, K8S_WHEN_EMPTY_OR_UNDERUTILIZED);
        CU_ASSERT_EQUAL(np.expire_after, INT64_C(720) * 3600 * CORE_NS_PER_S);
        k8s_nodepool_cleanup(&np);
    }
    json_decref(out);
    out = NULL;
    json_decref(obj);
    obj = manifest_doc("manifests/multi.yaml", 1);
    r = sim_kube_res_by_key(f.k, "ec2nodeclasses.stoker.dev");
    CU_ASSERT_EQUAL(sim_kube_crd_validate(r, obj, &out, &err), 0);
    json_decref(out);
    out = NULL;
    json_decref(obj);
    obj = manifest_doc("manifests/nodeclass-al2023.yaml", 0);
    CU_ASSERT_EQUAL(sim_kube_crd_validate(r, obj, &out, &err), 0);
    {
        struct k8s_ec2nodeclass nc;
        memset(&nc, 0, sizeof nc);
        CU_ASSERT_EQUAL(k8s_ec2nodeclass_decode(out, &nc, &err), 0);
        CU_ASSERT_EQUAL(nc.metadata_options.http_tokens, K8S_TOKENS_REQUIRED);
        k8s_ec2nodeclass_cleanup(&nc);
    }
    /* Nothing the author wrote was pruned (another helper owns the file: compare, not pin). */
    CU_ASSERT(json_equal(json_object_get(json_object_get(obj, "spec"), "kubelet"),
                         json_object_get(json_object_get(out, "spec"), "kubelet")));
    CU_ASSERT(json_equal(json_object_get(json_object_get(obj, "spec"), "tags"),
                         json_object_get(json_object_get(out, "spec"), "tags")));
    json_decref(out);
    out = NULL;
    json_decref(obj);

    CU_ASSERT_EQUAL(check(&f, "ec2nodeclasses.stoker.dev", full_nc, &out, &err), 0);
    {
        struct k8s_ec2nodeclass nc;
        memset(&nc, 0, sizeof nc);
        CU_ASSERT_EQUAL(k8s_ec2nodeclass_decode(out, &nc, &err), 0);
        if (err.message[0])
            fprintf(stderr, "\n  %s\n", err.message);
        CU_ASSERT_EQUAL(nc.metadata_options.http_tokens, K8S_TOKENS_OPTIONAL);
        CU_ASSERT_EQUAL(nc.metadata_options.http_put_response_hop_limit, 1);
        CU_ASSERT_EQUAL(nc.nblock_devices, 1);
        k8s_ec2nodeclass_cleanup(&nc);
    }
    json_decref(out);
    out = NULL;

    CU_ASSERT_EQUAL(check(&f, "nodeclaims.stoker.dev", claim, &out, &err), 0);
    {
        struct k8s_nodeclaim c;
        memset(&c, 0, sizeof c);
        CU_ASSERT_EQUAL(k8s_nodeclaim_decode(out, &c, &err), 0);
        CU_ASSERT_EQUAL(c.nrequirements, 2);
        CU_ASSERT_EQUAL(k8s_res_get(&c.requests, "cpu"), 1500);
        k8s_nodeclaim_cleanup(&c);
    }
    /* Labels under metadata are the API's, never pruned. */
    ASSERT_STR(json_string_value(json_object_get(
                   json_object_get(json_object_get(out, "metadata"), "labels"),
                   "karpenter.sh/nodepool")),
               "general");
    json_decref(out);
    out = NULL;

    CU_ASSERT_EQUAL(check(&f, "warmpools.stoker.dev", warm, &out, &err), 0);
    {
        struct k8s_warmpool w;
        memset(&w, 0, sizeof w);
        CU_ASSERT_EQUAL(k8s_warmpool_decode(out, &w, &err), 0);
        CU_ASSERT_EQUAL(w.nschedules, 2);
        CU_ASSERT_EQUAL(w.state, K8S_WARM_HIBERNATED);
        k8s_warmpool_cleanup(&w);
    }
    json_decref(out);
    fx_free(&f);
}

static void test_violations(void)
{
    struct fx f;
    struct core_err err;
    json_t *out = NULL;
    struct core_buf b;

    CU_ASSERT_EQUAL_FATAL(fx_init(&f, 1), 0);
    /* enum */
    ASSERT_STR(violation_of(&f, "nodepools.stoker.dev", NP_HEAD NP_TSPEC
                            "      requirements: [{key: a, operator: Foo, values: [b]}]\n"),
               "NodePool.stoker.dev \"x\" is invalid: spec.template.spec.requirements[0]."
               "operator: Unsupported value: \"Foo\": supported values: \"In\", \"NotIn\", "
               "\"Exists\", \"DoesNotExist\", \"Gt\", \"Lt\"");
    /* required */
    ASSERT_STR(violation_of(&f, "nodepools.stoker.dev", NP_HEAD "  template: {spec: {}}\n"),
               "NodePool.stoker.dev \"x\" is invalid: spec.template.spec.nodeClassRef: "
               "Required value");
    /* type */
    ASSERT_STR(violation_of(&f, "nodepools.stoker.dev", NP_HEAD NP_TSPEC "  weight: heavy\n"),
               "NodePool.stoker.dev \"x\" is invalid: spec.weight: Invalid value: \"string\": "
               "spec.weight in body must be of type integer: \"string\"");
    /* minimum / maximum */
    ASSERT_STR(violation_of(&f, "nodepools.stoker.dev", NP_HEAD NP_TSPEC "  weight: 0\n"),
               "NodePool.stoker.dev \"x\" is invalid: spec.weight: Invalid value: 0: "
               "spec.weight in body should be greater than or equal to 1");
    ASSERT_STR(violation_of(&f, "nodepools.stoker.dev", NP_HEAD NP_TSPEC "  weight: 101\n"),
               "NodePool.stoker.dev \"x\" is invalid: spec.weight: Invalid value: 101: "
               "spec.weight in body should be less than or equal to 100");
    /* pattern */
    ASSERT_STR(violation_of(&f, "nodepools.stoker.dev",
                            NP_HEAD NP_TSPEC "      expireAfter: forever\n"),
               "NodePool.stoker.dev \"x\" is invalid: spec.template.spec.expireAfter: Invalid "
               "value: \"forever\": spec.template.spec.expireAfter in body should match "
               "'^(([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+|Never)$'");
    /* minLength, in a map value: the path names the key */
    ASSERT_STR(violation_of(&f, "ec2nodeclasses.stoker.dev",
                            NC_HEAD "  amiSelectorTerms: [{tags: {Name: ''}}]\n  amiFamily: AL2\n"),
               "EC2NodeClass.stoker.dev \"d\" is invalid: spec.amiSelectorTerms[0].tags[Name]: "
               "Invalid value: \"\": spec.amiSelectorTerms[0].tags[Name] in body should be at "
               "least 1 chars long");
    /* maxLength */
    ASSERT_STR(violation_of(&f, "nodepools.stoker.dev",
                            NP_HEAD "  template:\n    metadata: {labels: {a: "
                            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}}\n"
                            "    spec: {nodeClassRef: {group: stoker.dev, kind: EC2NodeClass, "
                            "name: d}}\n"),
               "NodePool.stoker.dev \"x\" is invalid: spec.template.metadata.labels[a]: Too "
               "long: may not be more than 63 bytes");
    /* minItems */
    ASSERT_STR(violation_of(&f, "ec2nodeclasses.stoker.dev", NC_HEAD "  amiSelectorTerms: []\n"),
               "EC2NodeClass.stoker.dev \"d\" is invalid: spec.amiSelectorTerms: Invalid value: "
               "0: spec.amiSelectorTerms in body should have at least 1 items");
    /* maxItems */
    core_buf_init(&b, 1 << 20);
    CU_ASSERT_EQUAL(core_buf_appendf(&b, NP_HEAD NP_TSPEC "      requirements:\n"), 0);
    for (int i = 0; i < 101; i++)
        CU_ASSERT_EQUAL(core_buf_appendf(&b, "        - {key: k%d, operator: Exists}\n", i), 0);
    ASSERT_STR(violation_of(&f, "nodepools.stoker.dev", core_buf_cstr(&b)),
               "NodePool.stoker.dev \"x\" is invalid: spec.template.spec.requirements: Too "
               "many: 101: must have at most 100 items");
    core_buf_cleanup(&b);
    /* int-or-string */
    ASSERT_STR(violation_of(&f, "nodepools.stoker.dev", NP_HEAD NP_TSPEC
                            "  limits: {cpu: true}\n"),
               "NodePool.stoker.dev \"x\" is invalid: spec.limits[cpu]: Invalid value: "
               "\"boolean\": spec.limits[cpu] in body must be of type integer,string: "
               "\"boolean\"");
    ASSERT_STR(violation_of(&f, "nodepools.stoker.dev", NP_HEAD NP_TSPEC
                            "  limits: {cpu: 1000, memory: 1000Gi}\n"), "");
    /* maxProperties */
    ASSERT_HAS(violation_of(&f, "ec2nodeclasses.stoker.dev",
                            NC_HEAD "  amiFamily: AL2\n  amiSelectorTerms: [{tags: {a: '1', "
                            "b: '1', c: '1', d: '1', e: '1', f: '1', g: '1', h: '1', i: '1', "
                            "j: '1', k: '1', l: '1', m: '1', n: '1', o: '1', p: '1', q: '1', "
                            "r: '1', s: '1', t: '1', u: '1'}}]\n"),
               "spec.amiSelectorTerms[0].tags: Too many: 21: must have at most 20 items");
    /* a wrong type stops the checks below it: one message, not one per child */
    ASSERT_STR(violation_of(&f, "nodepools.stoker.dev", NP_HEAD "  template: []\n"),
               "NodePool.stoker.dev \"x\" is invalid: spec.template: Invalid value: \"array\": "
               "spec.template in body must be of type object: \"array\"");
    /* several at once, bracketed, with the status fields a 422 carries */
    core_err_clear(&err);
    CU_ASSERT_EQUAL(check(&f, "nodepools.stoker.dev", NP_HEAD NP_TSPEC
                          "  weight: 0\n  disruption: {consolidationPolicy: Never}\n",
                          &out, &err), CORE_E_INVAL);
    ASSERT_STR(err.message,
               "NodePool.stoker.dev \"x\" is invalid: [spec.weight: Invalid value: 0: "
               "spec.weight in body should be greater than or equal to 1, "
               "spec.disruption.consolidationPolicy: Unsupported value: \"Never\": supported "
               "values: \"WhenEmpty\", \"WhenEmptyOrUnderutilized\"]");
    CU_ASSERT_EQUAL(err.http_status, 422);
    ASSERT_STR(err.service_code, "Invalid");
    /* at most 20 */
    core_buf_init(&b, 1 << 20);
    CU_ASSERT_EQUAL(core_buf_appendf(&b, NP_HEAD NP_TSPEC "      requirements:\n"), 0);
    for (int i = 0; i < 30; i++)
        CU_ASSERT_EQUAL(core_buf_appendf(&b, "        - {key: k%d, operator: X}\n", i), 0);
    core_err_clear(&err);
    CU_ASSERT_EQUAL(check(&f, "nodepools.stoker.dev", core_buf_cstr(&b), &out, &err),
                    CORE_E_INVAL);
    core_buf_cleanup(&b);
    ASSERT_HAS(err.message, "requirements[0].operator: Unsupported value: \"X\"");
    fx_free(&f);
}

/* The twenty-violation bound and exclusive bounds, on a hand-written schema. */
static void test_bounds_custom(void)
{
    struct sim_kres r;
    struct core_err err;
    json_t *obj, *out = NULL;
    struct core_buf b;

    memset(&r, 0, sizeof r);
    core_strlcpy(r.group, "example.com", sizeof r.group);
    core_strlcpy(r.kind, "Gadget", sizeof r.kind);
    r.schema = json_loads(
        "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
        "\"ratio\":{\"type\":\"number\",\"minimum\":0,\"exclusiveMinimum\":true,"
        "\"maximum\":1,\"exclusiveMaximum\":true},"
        "\"free\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true},"
        "\"maybe\":{\"type\":\"string\",\"nullable\":true},"
        "\"ecma\":{\"type\":\"string\",\"pattern\":\"^(?<x>a)$\"},"
        "\"xs\":{\"type\":\"array\",\"items\":{\"type\":\"integer\",\"maximum\":0}}}}}}",
        0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.schema);

    obj = json_loads("{\"metadata\":{\"name\":\"g\"},\"spec\":{\"ratio\":0}}", 0, NULL);
    CU_ASSERT_EQUAL(sim_kube_crd_validate(&r, obj, &out, &err), CORE_E_INVAL);
    ASSERT_STR(err.message, "Gadget.example.com \"g\" is invalid: spec.ratio: Invalid value: 0: "
                            "spec.ratio in body should be greater than 0");
    json_decref(obj);
    obj = json_loads("{\"metadata\":{\"name\":\"g\"},\"spec\":{\"ratio\":1.0}}", 0, NULL);
    CU_ASSERT_EQUAL(sim_kube_crd_validate(&r, obj, &out, &err), CORE_E_INVAL);
    ASSERT_HAS(err.message, "spec.ratio in body should be less than 1");
    json_decref(obj);

    /* preserved subtree, kept null, a pattern that is not POSIX (not enforced) */
    obj = json_loads("{\"metadata\":{\"name\":\"g\"},\"spec\":{\"ratio\":0.5,\"free\":{\"a\":"
                     "{\"b\":1}},\"maybe\":null,\"ecma\":\"zzz\",\"junk\":1}}", 0, NULL);
    CU_ASSERT_EQUAL_FATAL(sim_kube_crd_validate(&r, obj, &out, &err), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(
                        json_object_get(json_object_get(json_object_get(out, "spec"), "free"),
                                        "a"), "b")), 1);
    CU_ASSERT(json_is_null(json_object_get(json_object_get(out, "spec"), "maybe")));
    CU_ASSERT_PTR_NULL(json_object_get(json_object_get(out, "spec"), "junk"));
    /* the input is untouched */
    CU_ASSERT_PTR_NOT_NULL(json_object_get(json_object_get(obj, "spec"), "junk"));
    json_decref(out);
    json_decref(obj);

    core_buf_init(&b, 1 << 16);
    CU_ASSERT_EQUAL(core_buf_appendf(&b, "{\"metadata\":{\"name\":\"g\"},\"spec\":{\"xs\":["),
                    0);
    for (int i = 1; i <= 25; i++)
        CU_ASSERT_EQUAL(core_buf_appendf(&b, "%s%d", i > 1 ? "," : "", i), 0);
    CU_ASSERT_EQUAL(core_buf_appendf(&b, "]}}"), 0);
    obj = json_loads(core_buf_cstr(&b), 0, NULL);
    core_buf_cleanup(&b);
    CU_ASSERT_EQUAL(sim_kube_crd_validate(&r, obj, &out, &err), CORE_E_INVAL);
    /* the message is bounded; the first ones are there and the list says it goes on */
    ASSERT_HAS(err.message, "is invalid: [spec.xs[0]: Invalid value: 1:");
    CU_ASSERT(strlen(err.message) < CORE_ERR_MSG_MAX);
    json_decref(obj);

    /* built-ins (no schema): a copy */
    json_decref(r.schema);
    r.schema = NULL;
    obj = json_loads("{\"anything\":{\"goes\":[1,2]}}", 0, NULL);
    CU_ASSERT_EQUAL(sim_kube_crd_validate(&r, obj, &out, &err), 0);
    CU_ASSERT(json_equal(obj, out));
    CU_ASSERT_PTR_NOT_EQUAL(obj, out);
    json_decref(out);
    json_decref(obj);
}

static void test_pruning(void)
{
    struct fx f;
    struct core_err err;
    json_t *out = NULL, *spec;

    CU_ASSERT_EQUAL_FATAL(fx_init(&f, 1), 0);
    {
        struct sim_kres *r = sim_kube_res_by_key(f.k, "nodepools.stoker.dev");
        json_t *obj = json_loads(
            "{\"apiVersion\":\"stoker.dev/v1alpha1\",\"kind\":\"NodePool\",\"metadata\":{"
            "\"name\":\"x\",\"annotations\":{\"a\":\"b\"},\"managedFields\":[]},\"spec\":{"
            "\"template\":{\"spec\":{\"nodeClassRef\":{\"group\":\"stoker.dev\",\"kind\":"
            "\"EC2NodeClass\",\"name\":\"d\",\"extra\":1},\"kubelet\":{\"maxPods\":5}}},"
            "\"colour\":\"blue\"},\"status\":{\"resources\":{\"cpu\":\"4\"},\"surprise\":true},"
            "\"unknownTop\":1}", 0, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
        core_err_clear(&err);
        CU_ASSERT_EQUAL(sim_kube_crd_validate(r, obj, &out, &err), 0);
        json_decref(obj);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    spec = json_object_get(out, "spec");
    CU_ASSERT_PTR_NULL(json_object_get(spec, "colour"));
    CU_ASSERT_PTR_NULL(json_object_get(out, "unknownTop"));
    CU_ASSERT_PTR_NULL(json_object_get(
        json_object_get(json_object_get(json_object_get(spec, "template"), "spec"),
                        "nodeClassRef"), "extra"));
    CU_ASSERT_PTR_NULL(json_object_get(json_object_get(json_object_get(spec, "template"),
                                                       "spec"), "kubelet"));
    CU_ASSERT_PTR_NULL(json_object_get(json_object_get(out, "status"), "surprise"));
    ASSERT_STR(json_string_value(json_object_get(
                   json_object_get(json_object_get(out, "status"), "resources"), "cpu")), "4");
    /* metadata, apiVersion and kind are the API's own */
    ASSERT_STR(json_string_value(json_object_get(
                   json_object_get(json_object_get(out, "metadata"), "annotations"), "a")), "b");
    CU_ASSERT_PTR_NOT_NULL(json_object_get(json_object_get(out, "metadata"), "managedFields"));
    ASSERT_STR(json_string_value(json_object_get(out, "kind")), "NodePool");
    json_decref(out);
    fx_free(&f);
}

static void test_defaults(void)
{
    struct fx f;
    struct core_err err;
    json_t *out = NULL, *dis, *mo;

    CU_ASSERT_EQUAL_FATAL(fx_init(&f, 1), 0);
    /* Absent disruption: the default object, then its own nested defaults. weight: null is
     * dropped (not nullable) rather than refused. */
    CU_ASSERT_EQUAL(check(&f, "nodepools.stoker.dev", NP_HEAD NP_TSPEC "  weight: null\n", &out,
                          &err), 0);
    dis = json_object_get(json_object_get(out, "spec"), "disruption");
    ASSERT_STR(json_string_value(json_object_get(dis, "consolidateAfter")), "0s");
    ASSERT_STR(json_string_value(json_object_get(dis, "consolidationPolicy")),
               "WhenEmptyOrUnderutilized");
    ASSERT_STR(json_string_value(json_object_get(json_array_get(json_object_get(dis, "budgets"),
                                                                0), "nodes")), "10%");
    ASSERT_STR(json_string_value(json_object_get(json_object_get(json_object_get(
                   json_object_get(out, "spec"), "template"), "spec"), "expireAfter")), "720h");
    CU_ASSERT_PTR_NULL(json_object_get(json_object_get(out, "spec"), "weight"));
    json_decref(out);
    out = NULL;
    /* A given value is kept; a budget without nodes gets 10%. */
    CU_ASSERT_EQUAL(check(&f, "nodepools.stoker.dev", NP_HEAD NP_TSPEC
                          "  disruption: {consolidationPolicy: WhenEmpty, budgets: "
                          "[{schedule: '@daily', duration: 10m}]}\n", &out, &err), 0);
    dis = json_object_get(json_object_get(out, "spec"), "disruption");
    ASSERT_STR(json_string_value(json_object_get(dis, "consolidationPolicy")), "WhenEmpty");
    ASSERT_STR(json_string_value(json_object_get(dis, "consolidateAfter")), "0s");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(dis, "budgets")), 1);
    ASSERT_STR(json_string_value(json_object_get(json_array_get(json_object_get(dis, "budgets"),
                                                                0), "nodes")), "10%");
    json_decref(out);
    out = NULL;
    /* metadataOptions: partially given, the rest defaulted */
    CU_ASSERT_EQUAL(check(&f, "ec2nodeclasses.stoker.dev",
                          NC_HEAD "  amiSelectorTerms: [{alias: al2023@latest}]\n"
                          "  metadataOptions: {httpTokens: optional}\n", &out, &err), 0);
    mo = json_object_get(json_object_get(out, "spec"), "metadataOptions");
    ASSERT_STR(json_string_value(json_object_get(mo, "httpTokens")), "optional");
    ASSERT_STR(json_string_value(json_object_get(mo, "httpEndpoint")), "enabled");
    ASSERT_STR(json_string_value(json_object_get(mo, "httpProtocolIPv6")), "disabled");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(mo, "httpPutResponseHopLimit")), 1);
    json_decref(out);
    out = NULL;
    CU_ASSERT_EQUAL(check(&f, "warmpools.stoker.dev",
                          "apiVersion: stoker.dev/v1alpha1\nkind: WarmPool\nmetadata: {name: w}\n"
                          "spec: {nodePoolRef: {name: general}, target: 20%}\n", &out, &err), 0);
    ASSERT_STR(json_string_value(json_object_get(json_object_get(out, "spec"), "state")),
               "Stopped");
    json_decref(out);
    fx_free(&f);
}

static void test_kubeconfig(void)
{
    char dir[] = "/tmp/stoker-kcfg-XXXXXX", path[128], tmp[160], victim[128];
    struct k8s_config cfg;
    struct core_err err;
    struct stat st;
    char *text;
    FILE *v;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/kubeconfig", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    /* A planted symlink at the temporary name must not be followed. */
    v = fopen(victim, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    fputs("untouched\n", v);
    fclose(v);
    CU_ASSERT_EQUAL(symlink(victim, tmp), 0);
    core_err_clear(&err);
    CU_ASSERT_EQUAL(sim_kube_write_kubeconfig("http://127.0.0.1:4566", path, &err), 0);
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    CU_ASSERT_NOT_EQUAL(lstat(tmp, &st), 0);
    text = tests_read_file(victim, NULL);
    ASSERT_STR(text, "untouched\n");
    core_free(text);
    text = tests_read_file(path, NULL);
    ASSERT_HAS(text, "current-context: stoker-sim");
    core_free(text);

    memset(&cfg, 0, sizeof cfg);
    if (k8s_config_load_kubeconfig(NULL, path, NULL, &cfg, &err) == 0) {
        ASSERT_STR(cfg.server, "http://127.0.0.1:4566");
        ASSERT_STR(cfg.context, "stoker-sim");
        CU_ASSERT_EQUAL(cfg.auth, K8S_AUTH_TOKEN);
        ASSERT_STR(cfg.token, "stoker-sim-token");
        k8s_config_cleanup(&cfg);
    } else {
        /* Plain HTTP may be refused by stoker's loader; the YAML must still parse. */
        json_t **docs = NULL;
        size_t n = 0;
        fprintf(stderr, "\n  (kubeconfig loader: %s)\n", err.message);
        CU_ASSERT_EQUAL(k8s_yaml_load_file(path, &docs, &n, &err), 0);
        CU_ASSERT_EQUAL(n, 1);
        if (n == 1)
            ASSERT_STR(json_string_value(json_object_get(
                           json_object_get(json_array_get(json_object_get(docs[0], "clusters"),
                                                          0), "cluster"), "server")),
                       "http://127.0.0.1:4566");
        k8s_yaml_docs_free(docs, n);
    }
    CU_ASSERT_EQUAL(sim_kube_write_kubeconfig("", path, &err), CORE_E_INVAL);
    unlink(path);
    unlink(victim);
    rmdir(dir);
}

/* Every allocation failure on the way through loading and validating is a clean
 * CORE_E_NOMEM (no crash, no leak under ASan), until the walk gets through. */
static void test_alloc_failures(void)
{
    static const char obj_text[] = NP_HEAD NP_TSPEC "  weight: 0\n  colour: blue\n";
    size_t len;
    char *text = read_crd("stoker.dev_ec2nodeclasses.yaml", &len);
    int done = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    for (unsigned long n = 1; n < 5000 && !done; n++) {
        struct fx f;
        struct core_err err;
        int rc;
        if (fx_init(&f, 0) != 0) {
            fx_free(&f);
            CU_FAIL("setup");
            break;
        }
        core_err_clear(&err);
        core_alloc_fail_after(n);
        rc = sim_kube_load_crds(f.k, text, len, "ec2nc.yaml", &err);
        core_alloc_fail_after(0);
        CU_ASSERT(rc == 0 || rc == CORE_E_NOMEM);
        if (rc != 0 && rc != CORE_E_NOMEM)
            fprintf(stderr, "\n  n=%lu rc=%d %s\n", n, rc, err.message);
        if (rc == 0 && core_alloc_failures() == 0) {
            done = 1;
            CU_ASSERT_PTR_NOT_NULL(sim_kube_res_by_key(f.k, "ec2nodeclasses.stoker.dev"));
        } else if (rc == CORE_E_NOMEM) {
            /* Nothing half-registered. */
            CU_ASSERT_PTR_NULL(sim_kube_res_by_key(f.k, "ec2nodeclasses.stoker.dev"));
        }
        fx_free(&f);
    }
    CU_ASSERT(done);
    core_free(text);

    done = 0;
    {
        struct fx f;
        json_t *obj = yaml1(obj_text);
        CU_ASSERT_EQUAL_FATAL(fx_init(&f, 1), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
        for (unsigned long n = 1; n < 100 && !done; n++) {
            struct core_err err;
            json_t *out = NULL;
            int rc;
            core_err_clear(&err);
            core_alloc_fail_after(n);
            rc = sim_kube_crd_validate(sim_kube_res_by_key(f.k, "nodepools.stoker.dev"), obj,
                                       &out, &err);
            core_alloc_fail_after(0);
            CU_ASSERT(rc == CORE_E_INVAL || rc == CORE_E_NOMEM);
            CU_ASSERT_PTR_NULL(out);
            if (rc == CORE_E_INVAL && core_alloc_failures() == 0)
                done = 1;
        }
        json_decref(obj);
        fx_free(&f);
    }
    CU_ASSERT(done);
}

TESTS_SUITE(sim_kube_crd, "sim_kube_crd", NULL, NULL, TESTS_CASE(test_load_four),
            TESTS_CASE(test_builtin_crds),
            TESTS_CASE(test_load_errors), TESTS_CASE(test_patterns_compile),
            TESTS_CASE(test_valid_examples), TESTS_CASE(test_violations),
            TESTS_CASE(test_bounds_custom), TESTS_CASE(test_pruning), TESTS_CASE(test_defaults),
            TESTS_CASE(test_kubeconfig), TESTS_CASE(test_alloc_failures))
