/*
 * tests/unit/test_k8s_objects.c — typed decoders for core kinds and stoker's CRDs: every field of
 * the fixtures in tests/data/k8s, the effective pod request (sidecars, init containers, limits
 * standing in for requests, overhead, extended resources), defaults, the matching helpers, and
 * one table of invalid variants (each a mutation of a valid fixture, or an invalid fixture) whose
 * exact message names kind, object and JSON path. Every decoder is also run with an allocation
 * failure at each allocation in turn: it fails cleanly with CORE_E_NOMEM or succeeds.
 */
#include "tests/unit/harness.h"

#include "k8s/k8s.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MI(n) ((int64_t)(n) * 1048576 * 1000)  /* n Mi in milli */
#define GI(n) ((int64_t)(n) * 1073741824 * 1000)
#define NS_S INT64_C(1000000000)
#define NS_H (3600 * NS_S)

/* ---- helpers ------------------------------------------------------------------------------ */

static json_t *load(const char *name)
{
    char rel[128];
    size_t len = 0;
    char *text;
    json_t *j;
    json_error_t jerr;

    snprintf(rel, sizeof rel, "k8s/%s", name);
    text = tests_read_file(tests_data_path(rel), &len);
    if (!text) {
        fprintf(stderr, "fixture %s missing\n", rel);
        return NULL;
    }
    j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        fprintf(stderr, "fixture %s: %s (line %d)\n", rel, jerr.text, jerr.line);
    core_free(text);
    return j;
}

/* Sets (or deletes, for value NULL) the member at path: segments separated by '|', numbers index
 * arrays, missing objects on the way are created. Returns 0 on success. */
static int mutate(json_t *root, const char *path, const char *value)
{
    json_t *cur = root, *v = NULL;
    const char *seg = path;

    if (value && !(v = json_loads(value, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL)))
        return -1;
    for (;;) {
        const char *bar = strchr(seg, '|');
        size_t n = bar ? (size_t)(bar - seg) : strlen(seg);
        char key[128];
        if (n >= sizeof key)
            break;
        memcpy(key, seg, n);
        key[n] = '\0';
        if (json_is_array(cur)) {
            size_t i = strtoul(key, NULL, 10);
            if (!bar)
                return v ? json_array_set_new(cur, i, v) : json_array_remove(cur, i);
            cur = json_array_get(cur, i);
        } else if (json_is_object(cur)) {
            if (!bar)
                return v ? json_object_set_new(cur, key, v) : json_object_del(cur, key);
            if (!json_object_get(cur, key))
                json_object_set_new(cur, key, json_object());
            cur = json_object_get(cur, key);
        } else {
            break;
        }
        seg = bar + 1;
    }
    json_decref(v);
    return -1;
}

/* Every decoder behind one signature, for the tables below. */
union any_obj {
    struct k8s_pod pod;
    struct k8s_daemonset ds;
    struct k8s_node node;
    struct k8s_pvc pvc;
    struct k8s_pv pv;
    struct k8s_storage_class sc;
    struct k8s_service svc;
    struct k8s_lease lease;
    struct k8s_nodepool np;
    struct k8s_nodeclaim nc;
    struct k8s_ec2nodeclass ec2nc;
    struct k8s_warmpool wp;
};

#define KIND(fn)                                                                                   \
    static int dec_##fn(const json_t *j, union any_obj *o, struct core_err *e)                     \
    {                                                                                              \
        return k8s_##fn##_decode(j, (void *)o, e);                                                 \
    }                                                                                              \
    static void cln_##fn(union any_obj *o)                                                         \
    {                                                                                              \
        k8s_##fn##_cleanup((void *)o);                                                             \
    }
KIND(pod)
KIND(daemonset)
KIND(node)
KIND(pvc)
KIND(pv)
KIND(storage_class)
KIND(service)
KIND(lease)
KIND(nodepool)
KIND(nodeclaim)
KIND(ec2nodeclass)
KIND(warmpool)

struct kind {
    const char *fixture; /* a valid one */
    int (*dec)(const json_t *, union any_obj *, struct core_err *);
    void (*cln)(union any_obj *);
};

enum { POD, POD2, DS, NODE, PVC, PV, SC, SVC, LEASE, NP, NP2, NC, EC2, EC2MIN, WP, WP2, NKINDS };
static const struct kind kinds[NKINDS] = {
    [POD] = {"pod_full.json", dec_pod, cln_pod},
    [POD2] = {"pod_simple.json", dec_pod, cln_pod},
    [DS] = {"daemonset.json", dec_daemonset, cln_daemonset},
    [NODE] = {"node.json", dec_node, cln_node},
    [PVC] = {"pvc.json", dec_pvc, cln_pvc},
    [PV] = {"pv.json", dec_pv, cln_pv},
    [SC] = {"storageclass.json", dec_storage_class, cln_storage_class},
    [SVC] = {"service.json", dec_service, cln_service},
    [LEASE] = {"lease.json", dec_lease, cln_lease},
    [NP] = {"nodepool.json", dec_nodepool, cln_nodepool},
    [NP2] = {"nodepool_min.json", dec_nodepool, cln_nodepool},
    [NC] = {"nodeclaim.json", dec_nodeclaim, cln_nodeclaim},
    [EC2] = {"ec2nodeclass.json", dec_ec2nodeclass, cln_ec2nodeclass},
    [EC2MIN] = {"ec2nodeclass_min.json", dec_ec2nodeclass, cln_ec2nodeclass},
    [WP] = {"warmpool.json", dec_warmpool, cln_warmpool},
    [WP2] = {"warmpool_target.json", dec_warmpool, cln_warmpool},
};

/* Decodes a kind's fixture into *o; fails the test (fatally) on error. */
static void decode_ok(int k, union any_obj *o)
{
    struct core_err err;
    json_t *j = load(kinds[k].fixture);
    int rc;

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    core_err_clear(&err);
    memset(o, 0, sizeof *o);
    rc = kinds[k].dec(j, o, &err);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", kinds[k].fixture, err.message);
    json_decref(j);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static int64_t res(const struct k8s_res_list *l, const char *name)
{
    return k8s_res_get(l, name);
}

static core_ns at_utc(const char *s)
{
    core_ns t = 0;
    CU_ASSERT_EQUAL(core_time_parse_rfc3339(s, &t), 0);
    return t;
}

/* ---- core kinds ---------------------------------------------------------------------------- */

static void test_pod_full(void)
{
    union any_obj o;
    const struct k8s_pod *p = &o.pod;
    const struct k8s_pod_spec *s = &p->spec;
    const struct k8s_affinity *a = &s->affinity;

    decode_ok(POD, &o);
    CU_ASSERT_STRING_EQUAL(p->meta.name, "web-0");
    CU_ASSERT_STRING_EQUAL(p->meta.ns, "prod");
    CU_ASSERT_STRING_EQUAL(p->meta.uid, "6f1c8f0e-0000-4000-8000-000000000001");
    CU_ASSERT_STRING_EQUAL(p->meta.resource_version, "12345");
    CU_ASSERT_EQUAL(p->meta.labels.n, 3);
    CU_ASSERT_STRING_EQUAL(p->meta.labels.v[0].key, "app"); /* sorted */
    CU_ASSERT_STRING_EQUAL(p->meta.labels.v[2].key, "tier");
    CU_ASSERT_STRING_EQUAL(k8s_labels_get(&p->meta.labels, "pod-template-hash"), "abc");
    CU_ASSERT_PTR_NULL(k8s_labels_get(&p->meta.labels, "missing"));
    CU_ASSERT_STRING_EQUAL(k8s_labels_get(&p->meta.annotations, "example.com/note"), "hello");
    CU_ASSERT_EQUAL_FATAL(p->meta.nowners, 1);
    CU_ASSERT_STRING_EQUAL(p->meta.owners[0].api_version, "apps/v1");
    CU_ASSERT_STRING_EQUAL(p->meta.owners[0].kind, "StatefulSet");
    CU_ASSERT_STRING_EQUAL(p->meta.owners[0].name, "web");
    CU_ASSERT_STRING_EQUAL(p->meta.owners[0].uid, "6f1c8f0e-0000-4000-8000-0000000000aa");
    CU_ASSERT_EQUAL(p->meta.owners[0].controller, 1);
    CU_ASSERT_TRUE(k8s_strings_contains(&p->meta.finalizers, "example.com/keep"));
    CU_ASSERT_EQUAL(p->meta.has_creation_timestamp, 1);
    CU_ASSERT_EQUAL(p->meta.creation_timestamp, at_utc("2026-11-22T13:00:00Z"));
    CU_ASSERT_EQUAL(p->meta.has_deletion_timestamp, 0);

    CU_ASSERT_PTR_NULL(s->node_name);
    CU_ASSERT_STRING_EQUAL(s->scheduler_name, "default-scheduler"); /* defaulted */
    CU_ASSERT_STRING_EQUAL(s->priority_class_name, "high");
    CU_ASSERT_EQUAL(s->has_priority, 1);
    CU_ASSERT_EQUAL(s->priority, 1000);
    CU_ASSERT_STRING_EQUAL(k8s_labels_get(&s->node_selector, "kubernetes.io/arch"), "amd64");

    CU_ASSERT_EQUAL_FATAL(s->ntolerations, 3);
    CU_ASSERT_STRING_EQUAL(s->tolerations[0].key, "nvidia.com/gpu");
    CU_ASSERT_EQUAL(s->tolerations[0].op, K8S_TOL_EXISTS);
    CU_ASSERT_EQUAL(s->tolerations[0].effect, K8S_EFFECT_NO_SCHEDULE);
    CU_ASSERT_EQUAL(s->tolerations[0].has_seconds, 0);
    CU_ASSERT_EQUAL(s->tolerations[1].op, K8S_TOL_EQUAL); /* defaulted */
    CU_ASSERT_STRING_EQUAL(s->tolerations[1].value, "web");
    CU_ASSERT_EQUAL(s->tolerations[1].effect, K8S_EFFECT_NO_EXECUTE);
    CU_ASSERT_EQUAL(s->tolerations[1].has_seconds, 1);
    CU_ASSERT_EQUAL(s->tolerations[1].seconds, 300);
    CU_ASSERT_PTR_NULL(s->tolerations[2].key);
    CU_ASSERT_EQUAL(s->tolerations[2].effect, K8S_EFFECT_PREFER_NO_SCHEDULE);

    CU_ASSERT_EQUAL_FATAL(a->node_required.nterms, 2);
    CU_ASSERT_EQUAL_FATAL(a->node_required.terms[0].nexprs, 2);
    CU_ASSERT_STRING_EQUAL(a->node_required.terms[0].exprs[0].key, "topology.kubernetes.io/zone");
    CU_ASSERT_EQUAL(a->node_required.terms[0].exprs[0].op, K8S_OP_IN);
    CU_ASSERT_EQUAL(a->node_required.terms[0].exprs[0].values.n, 2);
    CU_ASSERT_STRING_EQUAL(a->node_required.terms[0].exprs[0].values.v[1], "us-east-1b");
    CU_ASSERT_EQUAL(a->node_required.terms[0].exprs[1].op, K8S_OP_GT);
    CU_ASSERT_EQUAL(a->node_required.terms[1].nexprs, 0);
    CU_ASSERT_EQUAL_FATAL(a->node_required.terms[1].nfields, 1);
    CU_ASSERT_STRING_EQUAL(a->node_required.terms[1].fields[0].key, "metadata.name");
    CU_ASSERT_EQUAL_FATAL(a->nnode_preferred, 1);
    CU_ASSERT_EQUAL(a->node_preferred[0].weight, 50);
    CU_ASSERT_STRING_EQUAL(a->node_preferred[0].preference.exprs[0].values.v[0], "spot");
    CU_ASSERT_EQUAL_FATAL(a->pod_affinity.nrequired, 1);
    CU_ASSERT_EQUAL(a->pod_affinity.npreferred, 0);
    CU_ASSERT_EQUAL(a->pod_affinity.required[0].selector.present, 1);
    CU_ASSERT_STRING_EQUAL(a->pod_affinity.required[0].topology_key, "topology.kubernetes.io/zone");
    CU_ASSERT_EQUAL(a->pod_affinity.required[0].ns_selector.present, 0);
    CU_ASSERT_EQUAL(a->pod_anti_affinity.nrequired, 0);
    CU_ASSERT_EQUAL_FATAL(a->pod_anti_affinity.npreferred, 1);
    CU_ASSERT_EQUAL(a->pod_anti_affinity.preferred[0].weight, 100);
    CU_ASSERT_STRING_EQUAL(a->pod_anti_affinity.preferred[0].term.topology_key,
                           "kubernetes.io/hostname");
    CU_ASSERT_TRUE(
        k8s_strings_contains(&a->pod_anti_affinity.preferred[0].term.namespaces, "prod"));
    CU_ASSERT_EQUAL(a->pod_anti_affinity.preferred[0].term.ns_selector.present, 1);

    CU_ASSERT_EQUAL_FATAL(s->nspread, 2);
    CU_ASSERT_EQUAL(s->spread[0].max_skew, 1);
    CU_ASSERT_STRING_EQUAL(s->spread[0].topology_key, "topology.kubernetes.io/zone");
    CU_ASSERT_EQUAL(s->spread[0].when_unsatisfiable, K8S_DO_NOT_SCHEDULE);
    CU_ASSERT_EQUAL(s->spread[0].min_domains, 3);
    CU_ASSERT_EQUAL(s->spread[0].node_affinity_policy, K8S_POLICY_HONOR);
    CU_ASSERT_EQUAL(s->spread[0].node_taints_policy, K8S_POLICY_IGNORE);
    CU_ASSERT_TRUE(k8s_strings_contains(&s->spread[0].match_label_keys, "pod-template-hash"));
    CU_ASSERT_EQUAL(s->spread[1].when_unsatisfiable, K8S_SCHEDULE_ANYWAY);
    CU_ASSERT_EQUAL(s->spread[1].node_taints_policy, K8S_POLICY_HONOR);
    CU_ASSERT_EQUAL(s->spread[1].selector.present, 0);
    CU_ASSERT_EQUAL(s->spread[1].min_domains, 0);

    /* Volumes: the PVC claim, the generic ephemeral volume's claim <pod>-<volume>, and a
     * configMap that only counts. */
    CU_ASSERT_EQUAL(s->nvolumes, 3);
    CU_ASSERT_EQUAL_FATAL(s->claims.n, 2);
    CU_ASSERT_STRING_EQUAL(s->claims.v[0], "data-web-0");
    CU_ASSERT_STRING_EQUAL(s->claims.v[1], "web-0-scratch");

    CU_ASSERT_EQUAL(res(&s->overhead, "cpu"), 250);
    CU_ASSERT_EQUAL(res(&s->overhead, "memory"), MI(120));

    CU_ASSERT_EQUAL(p->phase, K8S_POD_PENDING);
    CU_ASSERT_STRING_EQUAL(p->nominated_node_name, "node-b");
    CU_ASSERT_EQUAL_FATAL(p->nconditions, 1);
    CU_ASSERT_STRING_EQUAL(p->conditions[0].message,
                           "0/3 nodes are available: 3 Insufficient cpu.");
    CU_ASSERT_EQUAL(p->conditions[0].last_transition_time, at_utc("2026-11-22T13:00:01Z"));
    CU_ASSERT_TRUE(k8s_pod_unschedulable(p));
    cln_pod(&o);
    cln_pod(&o); /* cleanup twice is safe */
    k8s_pod_cleanup(NULL);
}

static void test_pod_effective_requests(void)
{
    union any_obj o;
    const struct k8s_res_list *r;

    /* containers:  app cpu 500m (the 1 cpu limit does not replace a request), memory 1Gi,
     *              gpu 1 (limit only); side-app cpu 0.25, ephemeral 1Gi, memory 512Mi (limit)
     * sidecar:     cpu 100m, memory 128Mi, ephemeral 2Gi -> adds to the sum
     * sum:         cpu 850m, memory 1664Mi, ephemeral 3Gi, gpu 1
     * init use:    init-db 2 cpu / 256Mi; sidecar 100m / 128Mi / 2Gi;
     *              init-late = sidecar + (1 cpu, 3Gi, neuron 1 from its limit) = 1100m / 3200Mi
     * max:         cpu 2000m, memory 3200Mi, ephemeral 3Gi, gpu 1, neuron 1
     * + overhead:  cpu 2250m, memory 3320Mi; pods 1 */
    decode_ok(POD, &o);
    r = &o.pod.spec.requests;
    CU_ASSERT_EQUAL(r->n, 6);
    CU_ASSERT_EQUAL(res(r, "cpu"), 2250);
    CU_ASSERT_EQUAL(res(r, "memory"), MI(3320));
    CU_ASSERT_EQUAL(res(r, "ephemeral-storage"), GI(3));
    CU_ASSERT_EQUAL(res(r, "nvidia.com/gpu"), 1000);
    CU_ASSERT_EQUAL(res(r, "aws.amazon.com/neuron"), 1000);
    CU_ASSERT_EQUAL(res(r, K8S_RES_PODS), 1000);
    for (size_t i = 1; i < r->n; i++)
        CU_ASSERT_TRUE(strcmp(r->v[i - 1].name, r->v[i].name) < 0);
    cln_pod(&o);

    /* Limits stand in for absent requests, per resource; a container without resources adds
     * nothing. */
    decode_ok(POD2, &o);
    r = &o.pod.spec.requests;
    CU_ASSERT_EQUAL(r->n, 3);
    CU_ASSERT_EQUAL(res(r, "cpu"), 100);
    CU_ASSERT_EQUAL(res(r, "memory"), GI(1));
    CU_ASSERT_EQUAL(res(r, K8S_RES_PODS), 1000);
    CU_ASSERT_STRING_EQUAL(o.pod.spec.scheduler_name, "stoker-scheduler");
    CU_ASSERT_STRING_EQUAL(o.pod.spec.node_name, "node-a");
    CU_ASSERT_EQUAL(o.pod.meta.has_deletion_timestamp, 1);
    CU_ASSERT_EQUAL(o.pod.meta.deletion_timestamp, at_utc("2026-11-22T13:00:00Z"));
    CU_ASSERT_EQUAL(o.pod.phase, K8S_POD_RUNNING);
    CU_ASSERT_FALSE(k8s_pod_unschedulable(&o.pod));
    cln_pod(&o);
}

static void test_pod_sidecar_order(void)
{
    /* A sidecar declared after an init container does not add to that one's footprint, only to
     * later ones; with cpu only: init A 1, sidecar 300m, init B 800m -> init use max(1,
     * 300m, 1.1) = 1.1; sum = container 200m + sidecar 300m = 500m -> 1100m. */
    json_t *pod = json_pack(
        "{s:{s:s}, s:{s:[{s:{s:{s:s}}}, {s:s, s:{s:{s:s}}}, {s:{s:{s:s}}}], s:[{s:{s:{s:s}}}]}}",
        "metadata", "name", "p", "spec", "initContainers", "resources", "requests", "cpu", "1",
        "restartPolicy", "Always", "resources", "requests", "cpu", "300m", "resources", "requests",
        "cpu", "800m", "containers", "resources", "requests", "cpu", "200m");
    struct k8s_pod p;
    CU_ASSERT_PTR_NOT_NULL_FATAL(pod);
    CU_ASSERT_EQUAL_FATAL(k8s_pod_decode(pod, &p, NULL), 0);
    CU_ASSERT_EQUAL(k8s_res_get(&p.spec.requests, "cpu"), 1100);
    k8s_pod_cleanup(&p);
    /* Without restartPolicy Always the same container is a plain init container: max(1, 300m,
     * 800m, sum 200m) = 1. */
    CU_ASSERT_EQUAL(mutate(pod, "spec|initContainers|1|restartPolicy", "\"OnFailure\""), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_pod_decode(pod, &p, NULL), 0);
    CU_ASSERT_EQUAL(k8s_res_get(&p.spec.requests, "cpu"), 1000);
    k8s_pod_cleanup(&p);
    json_decref(pod);
}

static void test_daemonset(void)
{
    union any_obj o;
    const struct k8s_daemonset *d = &o.ds;

    decode_ok(DS, &o);
    CU_ASSERT_STRING_EQUAL(d->meta.name, "aws-node");
    CU_ASSERT_STRING_EQUAL(d->meta.ns, "kube-system");
    CU_ASSERT_EQUAL(d->meta.generation, 4);
    CU_ASSERT_STRING_EQUAL(k8s_labels_get(&d->template_labels, "k8s-app"), "aws-node");
    CU_ASSERT_STRING_EQUAL(k8s_labels_get(&d->spec.node_selector, "kubernetes.io/os"), "linux");
    CU_ASSERT_EQUAL_FATAL(d->spec.ntolerations, 1);
    CU_ASSERT_EQUAL(d->spec.tolerations[0].op, K8S_TOL_EXISTS);
    CU_ASSERT_EQUAL(d->spec.affinity.node_required.nterms, 1);
    CU_ASSERT_EQUAL(d->spec.affinity.node_required.terms[0].exprs[0].op, K8S_OP_NOT_IN);
    /* max(containers 50m/128Mi, init 50m/300Mi) */
    CU_ASSERT_EQUAL(res(&d->spec.requests, "cpu"), 50);
    CU_ASSERT_EQUAL(res(&d->spec.requests, "memory"), MI(300));
    CU_ASSERT_EQUAL(res(&d->spec.requests, K8S_RES_PODS), 1000);
    /* A template has no pod name, so its ephemeral volume names no claim. */
    CU_ASSERT_EQUAL(d->spec.nvolumes, 1);
    CU_ASSERT_EQUAL(d->spec.claims.n, 0);
    cln_daemonset(&o);
}

static void test_node(void)
{
    union any_obj o;
    const struct k8s_node *n = &o.node;

    decode_ok(NODE, &o);
    CU_ASSERT_STRING_EQUAL(n->meta.name, "node-a");
    CU_ASSERT_PTR_NULL(n->meta.ns);
    CU_ASSERT_STRING_EQUAL(n->provider_id, "aws:///us-east-1a/i-0123456789abcdef0");
    CU_ASSERT_EQUAL(n->unschedulable, 0);
    CU_ASSERT_EQUAL_FATAL(n->ntaints, 2);
    CU_ASSERT_STRING_EQUAL(n->taints[0].key, "nvidia.com/gpu");
    CU_ASSERT_PTR_NULL(n->taints[0].value);
    CU_ASSERT_EQUAL(n->taints[0].effect, K8S_EFFECT_NO_SCHEDULE);
    CU_ASSERT_STRING_EQUAL(n->taints[1].value, "web");
    CU_ASSERT_EQUAL(n->taints[1].effect, K8S_EFFECT_NO_EXECUTE);
    CU_ASSERT_EQUAL(res(&n->capacity, "cpu"), 4000);
    CU_ASSERT_EQUAL(res(&n->capacity, "memory"), GI(16));
    CU_ASSERT_EQUAL(res(&n->capacity, "pods"), 110000);
    CU_ASSERT_EQUAL(res(&n->allocatable, "cpu"), 3920);
    CU_ASSERT_EQUAL(res(&n->allocatable, "memory"), MI(15155));
    CU_ASSERT_EQUAL(res(&n->allocatable, "ephemeral-storage"), GI(95));
    CU_ASSERT_EQUAL(n->nconditions, 2);
    CU_ASSERT_TRUE(k8s_node_ready(n));
    CU_ASSERT_EQUAL(k8s_condition_find(n->conditions, n->nconditions, "MemoryPressure")->status,
                    K8S_COND_FALSE);
    CU_ASSERT_PTR_NULL(k8s_condition_find(n->conditions, n->nconditions, "DiskPressure"));
    cln_node(&o);
}

static void test_storage(void)
{
    union any_obj o;

    decode_ok(PVC, &o);
    CU_ASSERT_STRING_EQUAL(o.pvc.meta.name, "data-web-0");
    CU_ASSERT_STRING_EQUAL(o.pvc.storage_class, "gp3");
    CU_ASSERT_STRING_EQUAL(o.pvc.volume_name, "pv-1");
    CU_ASSERT_EQUAL(o.pvc.phase, K8S_PVC_BOUND);
    CU_ASSERT_STRING_EQUAL(o.pvc.selected_node, "node-a");
    cln_pvc(&o);

    decode_ok(PV, &o);
    CU_ASSERT_STRING_EQUAL(o.pv.csi_driver, "ebs.csi.aws.com");
    CU_ASSERT_STRING_EQUAL(o.pv.storage_class, "gp3");
    CU_ASSERT_STRING_EQUAL(o.pv.claim_ref.ns, "prod");
    CU_ASSERT_STRING_EQUAL(o.pv.claim_ref.name, "data-web-0");
    CU_ASSERT_STRING_EQUAL(o.pv.claim_ref.uid, "c1");
    CU_ASSERT_EQUAL_FATAL(o.pv.node_affinity.nterms, 1);
    CU_ASSERT_STRING_EQUAL(o.pv.node_affinity.terms[0].exprs[0].key,
                           "topology.ebs.csi.aws.com/zone");
    cln_pv(&o);

    decode_ok(SC, &o);
    CU_ASSERT_STRING_EQUAL(o.sc.provisioner, "ebs.csi.aws.com");
    CU_ASSERT_EQUAL(o.sc.binding_mode, K8S_BIND_WAIT_FOR_FIRST_CONSUMER);
    CU_ASSERT_EQUAL_FATAL(o.sc.allowed_topologies.nterms, 1);
    CU_ASSERT_EQUAL_FATAL(o.sc.allowed_topologies.terms[0].nexprs, 1);
    CU_ASSERT_EQUAL(o.sc.allowed_topologies.terms[0].exprs[0].op, K8S_OP_IN);
    CU_ASSERT_EQUAL(o.sc.allowed_topologies.terms[0].exprs[0].values.n, 2);
    cln_storage_class(&o);
}

static void test_service_lease(void)
{
    union any_obj o;

    decode_ok(SVC, &o);
    CU_ASSERT_STRING_EQUAL(o.svc.meta.ns, "kube-system");
    CU_ASSERT_STRING_EQUAL(k8s_labels_get(&o.svc.selector, "k8s-app"), "kube-dns");
    CU_ASSERT_EQUAL(o.svc.type, K8S_SVC_CLUSTER_IP); /* defaulted */
    cln_service(&o);

    decode_ok(LEASE, &o);
    CU_ASSERT_STRING_EQUAL(o.lease.meta.resource_version, "999");
    CU_ASSERT_STRING_EQUAL(o.lease.holder_identity, "stoker-7d9f-abc");
    CU_ASSERT_EQUAL(o.lease.has_lease_duration, 1);
    CU_ASSERT_EQUAL(o.lease.lease_duration_seconds, 15);
    CU_ASSERT_EQUAL(o.lease.has_acquire_time, 1);
    CU_ASSERT_EQUAL(o.lease.acquire_time, at_utc("2026-11-22T13:00:00Z") + 123456000);
    CU_ASSERT_EQUAL(o.lease.renew_time, at_utc("2026-11-22T13:05:00Z") + 654321000);
    CU_ASSERT_EQUAL(o.lease.lease_transitions, 3);
    cln_lease(&o);
}

/* ---- stoker kinds ------------------------------------------------------------------------- */

static void test_ec2nodeclass_full(void)
{
    union any_obj o;
    const struct k8s_ec2nodeclass *n = &o.ec2nc;
    const struct k8s_kubelet *k = &n->kubelet;
    const struct k8s_ebs *e;

    decode_ok(EC2, &o);
    CU_ASSERT_EQUAL_FATAL(n->nami_terms, 1);
    CU_ASSERT_STRING_EQUAL(n->ami_terms[0].alias, "al2023@v20240807");
    CU_ASSERT_EQUAL(n->ami_family, K8S_AMI_AL2023); /* inferred from the alias */
    CU_ASSERT_EQUAL_FATAL(n->nsubnet_terms, 2);
    CU_ASSERT_STRING_EQUAL(k8s_labels_get(&n->subnet_terms[0].tags, "tier"), "*");
    CU_ASSERT_STRING_EQUAL(n->subnet_terms[1].id, "subnet-0abc123def4567890");
    CU_ASSERT_EQUAL_FATAL(n->nsg_terms, 3);
    CU_ASSERT_STRING_EQUAL(n->sg_terms[1].name, "eks-cluster-sg-my-cluster");
    CU_ASSERT_STRING_EQUAL(k8s_labels_get(&n->sg_terms[1].tags, "team"), "platform");
    CU_ASSERT_STRING_EQUAL(n->sg_terms[2].id, "sg-0123abcd");
    CU_ASSERT_STRING_EQUAL(n->role, "KarpenterNodeRole-my-cluster");
    CU_ASSERT_PTR_NULL(n->instance_profile);
    CU_ASSERT_STRING_EQUAL(n->user_data, "[settings.kubernetes]\nmax-pods = 50\n");
    CU_ASSERT_EQUAL(n->tags.n, 3);
    CU_ASSERT_STRING_EQUAL(k8s_labels_get(&n->tags, "eks:cluster-owner"), "platform");

    CU_ASSERT_STRING_EQUAL(k->cluster_dns.v[0], "10.100.0.10");
    CU_ASSERT_TRUE(k->has_max_pods && k->max_pods == 110);
    CU_ASSERT_TRUE(k->has_pods_per_core && k->pods_per_core == 8);
    CU_ASSERT_EQUAL(res(&k->system_reserved, "pid"), 1000000);
    CU_ASSERT_EQUAL(res(&k->system_reserved, "ephemeral-storage"), GI(1));
    CU_ASSERT_EQUAL(res(&k->kube_reserved, "memory"), MI(300));
    CU_ASSERT_STRING_EQUAL(k8s_labels_get(&k->eviction_hard, "memory.available"), "5%");
    CU_ASSERT_STRING_EQUAL(k8s_labels_get(&k->eviction_soft, "memory.available"), "500Mi");
    CU_ASSERT_STRING_EQUAL(k8s_labels_get(&k->eviction_soft_grace_period, "memory.available"),
                           "1m30s");
    CU_ASSERT_TRUE(k->has_eviction_max_pod_grace_period && k->eviction_max_pod_grace_period == 60);
    CU_ASSERT_TRUE(k->has_image_gc_high && k->image_gc_high == 85);
    CU_ASSERT_TRUE(k->has_image_gc_low && k->image_gc_low == 80);
    CU_ASSERT_TRUE(k->has_cpu_cfs_quota && k->cpu_cfs_quota == 1);

    CU_ASSERT_EQUAL_FATAL(n->nblock_devices, 2);
    CU_ASSERT_STRING_EQUAL(n->block_devices[0].device_name, "/dev/xvda");
    CU_ASSERT_EQUAL(n->block_devices[0].root_volume, 1);
    e = &n->block_devices[0].ebs;
    CU_ASSERT_EQUAL(e->volume_size, 100 * INT64_C(1073741824));
    CU_ASSERT_EQUAL(e->volume_type, K8S_EBS_GP3);
    CU_ASSERT_TRUE(e->has_iops && e->iops == 10000);
    CU_ASSERT_TRUE(e->has_throughput && e->throughput == 500);
    CU_ASSERT_TRUE(e->has_encrypted && e->encrypted == 1);
    CU_ASSERT_STRING_EQUAL(e->kms_key_id, "arn:aws:kms:us-east-1:111122223333:key/abcd");
    CU_ASSERT_TRUE(e->has_delete_on_termination && e->delete_on_termination == 1);
    CU_ASSERT_STRING_EQUAL(e->snapshot_id, "snap-0123456789abcdef0");
    CU_ASSERT_TRUE(e->has_volume_initialization_rate && e->volume_initialization_rate == 200);
    e = &n->block_devices[1].ebs;
    CU_ASSERT_EQUAL(n->block_devices[1].root_volume, 0);
    CU_ASSERT_EQUAL(e->volume_size, INT64_C(200000000000));
    CU_ASSERT_EQUAL(e->volume_type, K8S_EBS_IO2);
    CU_ASSERT_TRUE(e->has_encrypted && e->encrypted == 0);
    CU_ASSERT_EQUAL(e->has_throughput, 0);

    CU_ASSERT_EQUAL(n->instance_store_raid0, 1);
    CU_ASSERT_EQUAL(n->metadata_options.http_endpoint, K8S_ENABLED);
    CU_ASSERT_EQUAL(n->metadata_options.http_protocol_ipv6, K8S_ENABLED);
    CU_ASSERT_EQUAL(n->metadata_options.http_put_response_hop_limit, 2);
    CU_ASSERT_EQUAL(n->metadata_options.http_tokens, K8S_TOKENS_REQUIRED);
    CU_ASSERT_EQUAL(n->detailed_monitoring, 1);
    CU_ASSERT_TRUE(n->has_associate_public_ip && n->associate_public_ip == 0);
    CU_ASSERT_STRING_EQUAL(n->context, "cr-0123456789");

    CU_ASSERT_EQUAL_FATAL(n->nsubnets, 2);
    CU_ASSERT_STRING_EQUAL(n->subnets[0].zone, "us-east-1a");
    CU_ASSERT_STRING_EQUAL(n->subnets[1].zone_id, "use1-az2");
    CU_ASSERT_STRING_EQUAL(n->security_groups[0].name, "eks-cluster-sg-my-cluster");
    CU_ASSERT_EQUAL_FATAL(n->namis, 2);
    CU_ASSERT_EQUAL(n->amis[0].deprecated, 0);
    CU_ASSERT_EQUAL(n->amis[1].deprecated, 1);
    CU_ASSERT_EQUAL_FATAL(n->amis[0].nrequirements, 2);
    CU_ASSERT_EQUAL(n->amis[0].requirements[1].op, K8S_OP_DOES_NOT_EXIST);
    CU_ASSERT_STRING_EQUAL(n->status_instance_profile, "my-cluster_1234567890");
    CU_ASSERT_EQUAL_FATAL(n->nconditions, 2);
    CU_ASSERT_EQUAL(n->conditions[1].observed_generation, 3);
    CU_ASSERT_EQUAL(k8s_condition_find(n->conditions, n->nconditions, "Ready")->status,
                    K8S_COND_TRUE);
    cln_ec2nodeclass(&o);
}

static void test_ec2nodeclass_defaults(void)
{
    union any_obj o;
    const struct k8s_ec2nodeclass *n = &o.ec2nc;

    decode_ok(EC2MIN, &o);
    CU_ASSERT_EQUAL(n->ami_family, K8S_AMI_CUSTOM);
    CU_ASSERT_EQUAL_FATAL(n->nami_terms, 4);
    CU_ASSERT_STRING_EQUAL(n->ami_terms[0].owner, "111122223333");
    CU_ASSERT_STRING_EQUAL(n->ami_terms[3].ssm_parameter, "/my/ami/id");
    CU_ASSERT_STRING_EQUAL(n->instance_profile, "my-profile");
    CU_ASSERT_PTR_NULL(n->role);
    /* The default root volume: 20Gi gp3, encrypted, on /dev/xvda. */
    CU_ASSERT_EQUAL_FATAL(n->nblock_devices, 1);
    CU_ASSERT_STRING_EQUAL(n->block_devices[0].device_name, "/dev/xvda");
    CU_ASSERT_EQUAL(n->block_devices[0].root_volume, 1);
    CU_ASSERT_EQUAL(n->block_devices[0].ebs.volume_size, 20 * INT64_C(1073741824));
    CU_ASSERT_EQUAL(n->block_devices[0].ebs.volume_type, K8S_EBS_GP3);
    CU_ASSERT_TRUE(n->block_devices[0].ebs.has_encrypted && n->block_devices[0].ebs.encrypted);
    /* metadataOptions defaults */
    CU_ASSERT_EQUAL(n->metadata_options.http_endpoint, K8S_ENABLED);
    CU_ASSERT_EQUAL(n->metadata_options.http_protocol_ipv6, K8S_DISABLED);
    CU_ASSERT_EQUAL(n->metadata_options.http_put_response_hop_limit, 1);
    CU_ASSERT_EQUAL(n->metadata_options.http_tokens, K8S_TOKENS_REQUIRED);
    CU_ASSERT_EQUAL(n->instance_store_raid0, 0);
    CU_ASSERT_EQUAL(n->has_associate_public_ip, 0);
    CU_ASSERT_EQUAL(n->kubelet.has_max_pods, 0);
    cln_ec2nodeclass(&o);
}

static void test_nodepool(void)
{
    union any_obj o;
    const struct k8s_nodepool *p = &o.np;

    decode_ok(NP, &o);
    CU_ASSERT_STRING_EQUAL(p->meta.name, "gpu");
    CU_ASSERT_STRING_EQUAL(k8s_labels_get(&p->template_labels, "team"), "ml");
    CU_ASSERT_STRING_EQUAL(k8s_labels_get(&p->template_annotations, "example.com/owner"),
                           "ml-infra");
    CU_ASSERT_STRING_EQUAL(p->node_class_ref.group, "stoker.dev");
    CU_ASSERT_STRING_EQUAL(p->node_class_ref.kind, "EC2NodeClass");
    CU_ASSERT_STRING_EQUAL(p->node_class_ref.name, "default");
    CU_ASSERT_EQUAL_FATAL(p->nrequirements, 5);
    CU_ASSERT_EQUAL(p->requirements[0].min_values, 2);
    CU_ASSERT_EQUAL(p->requirements[0].values.n, 3);
    CU_ASSERT_EQUAL(p->requirements[1].min_values, 0);
    CU_ASSERT_EQUAL(p->requirements[2].op, K8S_OP_GT);
    CU_ASSERT_EQUAL(p->requirements[3].op, K8S_OP_EXISTS);
    CU_ASSERT_EQUAL(p->requirements[4].op, K8S_OP_NOT_IN);
    CU_ASSERT_EQUAL_FATAL(p->ntaints, 1);
    CU_ASSERT_EQUAL(p->taints[0].effect, K8S_EFFECT_NO_SCHEDULE);
    CU_ASSERT_EQUAL_FATAL(p->nstartup_taints, 1);
    CU_ASSERT_STRING_EQUAL(p->startup_taints[0].value, "true");
    CU_ASSERT_EQUAL(p->expire_after, 168 * NS_H);
    CU_ASSERT_TRUE(p->has_termination_grace_period);
    CU_ASSERT_EQUAL(p->termination_grace_period, 48 * NS_H);
    CU_ASSERT_EQUAL(p->consolidation_policy, K8S_WHEN_EMPTY);
    CU_ASSERT_EQUAL(p->consolidate_after, 30 * NS_S);
    CU_ASSERT_EQUAL_FATAL(p->nbudgets, 2);
    CU_ASSERT_STRING_EQUAL(p->budgets[0].nodes, "20%");
    CU_ASSERT_TRUE(p->budgets[0].nodes_percent && p->budgets[0].nodes_count == 20);
    CU_ASSERT_EQUAL(p->budgets[0].reasons, K8S_REASON_EMPTY | K8S_REASON_DRIFTED);
    CU_ASSERT_PTR_NULL(p->budgets[0].schedule);
    CU_ASSERT_TRUE(!p->budgets[1].nodes_percent && p->budgets[1].nodes_count == 0);
    CU_ASSERT_STRING_EQUAL(p->budgets[1].schedule, "0 9 * * mon-fri");
    CU_ASSERT_EQUAL(p->budgets[1].cron.hours, 1u << 9);
    CU_ASSERT_EQUAL(p->budgets[1].cron.wdays, 0x3eu);
    CU_ASSERT_EQUAL(p->budgets[1].duration, 8 * NS_H);
    CU_ASSERT_EQUAL(p->budgets[1].reasons, 0);
    CU_ASSERT_EQUAL(res(&p->limits, "cpu"), 1000000);
    CU_ASSERT_EQUAL(res(&p->limits, "memory"), GI(1000));
    CU_ASSERT_EQUAL(res(&p->limits, "nvidia.com/gpu"), 64000);
    CU_ASSERT_EQUAL(p->weight, 10);
    CU_ASSERT_EQUAL(res(&p->resources, "nodes"), 3000);
    CU_ASSERT_EQUAL(p->nconditions, 1);
    cln_nodepool(&o);

    /* Defaults: expireAfter 720h, WhenEmptyOrUnderutilized after 0s, one budget of 10%. */
    decode_ok(NP2, &o);
    CU_ASSERT_STRING_EQUAL(p->node_class_ref.group, "karpenter.k8s.aws");
    CU_ASSERT_EQUAL(p->expire_after, 720 * NS_H);
    CU_ASSERT_EQUAL(p->has_termination_grace_period, 0);
    CU_ASSERT_EQUAL(p->consolidation_policy, K8S_WHEN_EMPTY_OR_UNDERUTILIZED);
    CU_ASSERT_EQUAL(p->consolidate_after, 0);
    CU_ASSERT_EQUAL_FATAL(p->nbudgets, 1);
    CU_ASSERT_STRING_EQUAL(p->budgets[0].nodes, "10%");
    CU_ASSERT_TRUE(p->budgets[0].nodes_percent && p->budgets[0].nodes_count == 10);
    CU_ASSERT_EQUAL(p->weight, 0);
    CU_ASSERT_EQUAL(p->nrequirements, 0);
    cln_nodepool(&o);
}

static void test_nodeclaim(void)
{
    union any_obj o;
    const struct k8s_nodeclaim *c = &o.nc;

    decode_ok(NC, &o);
    CU_ASSERT_STRING_EQUAL(k8s_labels_get(&c->meta.labels, "karpenter.sh/nodepool"), "gpu");
    CU_ASSERT_STRING_EQUAL(c->meta.owners[0].kind, "NodePool");
    CU_ASSERT_EQUAL(c->meta.owners[0].controller, 0);
    CU_ASSERT_EQUAL_FATAL(c->nrequirements, 3);
    CU_ASSERT_STRING_EQUAL(c->requirements[0].key, "karpenter.sh/nodepool"); /* allowed here */
    CU_ASSERT_EQUAL(c->requirements[1].min_values, 1);
    CU_ASSERT_EQUAL(res(&c->requests, "cpu"), 3500);
    CU_ASSERT_EQUAL(res(&c->requests, "memory"), GI(10));
    CU_ASSERT_EQUAL(res(&c->requests, "pods"), 5000);
    CU_ASSERT_STRING_EQUAL(c->startup_taints[0].key, "karpenter.sh/unregistered");
    CU_ASSERT_STRING_EQUAL(c->node_class_ref.name, "default");
    CU_ASSERT_EQUAL(c->expire_after, K8S_NEVER);
    CU_ASSERT_STRING_EQUAL(c->provider_id, "aws:///us-east-1a/i-0123456789abcdef0");
    CU_ASSERT_STRING_EQUAL(c->node_name, "ip-10-0-1-23.ec2.internal");
    CU_ASSERT_STRING_EQUAL(c->image_id, "ami-0aaa");
    CU_ASSERT_EQUAL(res(&c->capacity, "pods"), 58000);
    CU_ASSERT_EQUAL(res(&c->allocatable, "memory"), MI(14162));
    CU_ASSERT_EQUAL_FATAL(c->nconditions, 4);
    CU_ASSERT_EQUAL(c->conditions[2].status, K8S_COND_FALSE);
    CU_ASSERT_STRING_EQUAL(c->conditions[2].message, "startup taint present");
    CU_ASSERT_EQUAL(c->conditions[3].status, K8S_COND_UNKNOWN);
    cln_nodeclaim(&o);
}

static void test_warmpool(void)
{
    union any_obj o;
    const struct k8s_warmpool *w = &o.wp;
    const struct k8s_warm_schedule *s;

    decode_ok(WP, &o);
    CU_ASSERT_STRING_EQUAL(w->nodepool, "general");
    CU_ASSERT_EQUAL(w->instance_types.n, 2);
    CU_ASSERT_STRING_EQUAL(w->zones.v[1], "us-east-1b");
    CU_ASSERT_EQUAL(res(&w->pod_shape, "memory"), GI(4));
    CU_ASSERT_TRUE(w->has_size && w->size.min == 5 && w->size.max == 20);
    CU_ASSERT_EQUAL(w->has_target, 0);
    CU_ASSERT_EQUAL(w->state, K8S_WARM_HIBERNATED);
    CU_ASSERT_EQUAL(w->prewarm_images.n, 2);
    CU_ASSERT_EQUAL(w->hydrate_root_volume, 1);
    CU_ASSERT_EQUAL(w->prewarm_timeout, 15 * 60 * NS_S);
    CU_ASSERT_EQUAL(w->max_age, 168 * NS_H);
    CU_ASSERT_EQUAL_FATAL(w->nschedules, 3);
    s = &w->schedules[0];
    CU_ASSERT_STRING_EQUAL(s->name, "black-friday");
    CU_ASSERT_EQUAL(s->start_is_cron, 0);
    CU_ASSERT_EQUAL(s->start_time, at_utc("2026-11-27T13:00:00Z"));
    CU_ASSERT_EQUAL(s->duration, 6 * NS_H);
    CU_ASSERT_TRUE(s->size.min == 50 && s->size.max == 80);
    s = &w->schedules[1];
    CU_ASSERT_EQUAL(s->duration, 4 * NS_H + 30 * 60 * NS_S);
    CU_ASSERT_TRUE(s->size.min == 40 && s->size.max == 40); /* max defaults to min */
    s = &w->schedules[2];
    CU_ASSERT_EQUAL(s->start_is_cron, 1);
    CU_ASSERT_STRING_EQUAL(s->cron.tz, "America/New_York");
    CU_ASSERT_EQUAL(s->cron.minutes, UINT64_C(1) << 30);
    CU_ASSERT_EQUAL(s->duration, 90 * 60 * NS_S);
    CU_ASSERT_TRUE(w->warming == 2 && w->warm == 5 && w->claimed == 1 && w->failed == 0 &&
                   w->stale == 1);
    CU_ASSERT_STRING_EQUAL(w->idle_cost_per_hour, "0.4210");
    CU_ASSERT_STRING_EQUAL(w->conditions[0].reason, "PoolAtTarget");
    cln_warmpool(&o);

    decode_ok(WP2, &o);
    CU_ASSERT_TRUE(w->has_target && w->target_percent == 20);
    CU_ASSERT_EQUAL(w->has_size, 0);
    CU_ASSERT_EQUAL(w->state, K8S_WARM_STOPPED); /* defaulted */
    CU_ASSERT_EQUAL(w->nschedules, 0);
    cln_warmpool(&o);
}

/* ---- invalid variants ----------------------------------------------------------------------- */

struct bad {
    int kind;
    const char *file;  /* NULL: the kind's valid fixture */
    const char *path;  /* mutation ('|'-separated), or NULL */
    const char *value; /* JSON; NULL deletes */
    int code;
    const char *msg;
};

#define INV CORE_E_INVAL
#define PAR CORE_E_PARSE
static const struct bad bads[] = {
    /* core kinds: types and values */
    {POD, NULL, "spec|tolerations", "{}", PAR,
     "Pod prod/web-0: spec.tolerations: expected an array"},
    {POD, NULL, "spec|containers|0|resources|requests|cpu", "\"abc\"", PAR,
     "Pod prod/web-0: spec.containers[0].resources.requests[cpu]: invalid quantity 'abc'"},
    {POD, NULL, "spec|containers|1|resources|limits|memory", "\"-1Gi\"", INV,
     "Pod prod/web-0: spec.containers[1].resources.limits[memory]: must not be negative"},
    {POD, NULL, "spec|initContainers|2|resources|requests|memory", "\"1e30\"", CORE_E_TOOBIG,
     "Pod prod/web-0: spec.initContainers[2].resources.requests[memory]: quantity '1e30' is too "
     "large"},
    {POD, NULL, "spec|initContainers|1|resources|limits", "[]", PAR,
     "Pod prod/web-0: spec.initContainers[1].resources.limits: expected an object of quantities"},
    {POD, NULL, "spec|containers|0|resources|requests|cpu", "\"9223372036854775807m\"",
     CORE_E_TOOBIG,
     "Pod prod/web-0: spec.containers[1]: requests add up past the largest quantity"},
    {POD, NULL, "spec|tolerations|1|operator", "\"Equals\"", INV,
     "Pod prod/web-0: spec.tolerations[1].operator: expected Equal or Exists, got 'Equals'"},
    {POD, NULL, "spec|tolerations|2|operator", "\"Equal\"", INV,
     "Pod prod/web-0: spec.tolerations[2]: operator must be Exists when key is empty"},
    {POD, NULL, "spec|tolerations|0|value", "\"x\"", INV,
     "Pod prod/web-0: spec.tolerations[0]: value must be empty when operator is Exists"},
    {POD, NULL,
     "spec|affinity|nodeAffinity|requiredDuringSchedulingIgnoredDuringExecution|nodeSelectorTerms|"
     "0|matchExpressions|1|values", "[\"3\", \"4\"]", INV,
     "Pod prod/web-0: spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
     "nodeSelectorTerms[0].matchExpressions[1].values: operator Gt needs exactly one integer "
     "value"},
    {POD, NULL,
     "spec|affinity|nodeAffinity|requiredDuringSchedulingIgnoredDuringExecution|nodeSelectorTerms|"
     "1|matchFields|0|key", "\"metadata.uid\"", INV,
     "Pod prod/web-0: spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
     "nodeSelectorTerms[1].matchFields[0].key: only metadata.name is supported, got "
     "'metadata.uid'"},
    {POD, NULL, "spec|affinity|podAffinity|requiredDuringSchedulingIgnoredDuringExecution|0|"
                "labelSelector|matchExpressions", "[{\"key\": \"a\", \"operator\": \"Gt\", "
                "\"values\": [\"1\"]}]", INV,
     "Pod prod/web-0: spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"
     ".labelSelector.matchExpressions[0].operator: expected In, NotIn, Exists or DoesNotExist, "
     "got 'Gt'"},
    {POD, NULL, "spec|affinity|podAntiAffinity|preferredDuringSchedulingIgnoredDuringExecution|0|"
                "weight", "101", INV,
     "Pod prod/web-0: spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution"
     "[0].weight: must be between 1 and 100, got 101"},
    {POD, NULL, "spec|topologySpreadConstraints|0|maxSkew", "0", INV,
     "Pod prod/web-0: spec.topologySpreadConstraints[0].maxSkew: must be between 1 and 2147483647, "
     "got 0"},
    {POD, NULL, "spec|topologySpreadConstraints|1|minDomains", "2", INV,
     "Pod prod/web-0: spec.topologySpreadConstraints[1].minDomains: only allowed with "
     "whenUnsatisfiable DoNotSchedule"},
    {POD, NULL, "spec|topologySpreadConstraints|0|topologyKey", NULL, INV,
     "Pod prod/web-0: spec.topologySpreadConstraints[0].topologyKey: is required"},
    {POD, NULL, "spec|volumes|0|persistentVolumeClaim|claimName", "5", INV,
     "Pod prod/web-0: spec.volumes[0].persistentVolumeClaim.claimName: expected a non-empty "
     "string"},
    {POD, NULL, "spec|volumes|1", "\"scratch\"", PAR,
     "Pod prod/web-0: spec.volumes[1]: expected an object"},
    {POD, NULL, "spec|priority", "1.5", PAR, "Pod prod/web-0: spec.priority: expected an integer"},
    {POD, NULL, "kind", "\"Node\"", INV, "Pod prod/web-0: kind: expected 'Pod', got 'Node'"},
    {POD, NULL, "metadata|labels|app", "5", PAR,
     "Pod prod/web-0: metadata.labels[app]: expected a string"},
    {POD, NULL, "metadata|creationTimestamp", "\"yesterday\"", PAR,
     "Pod prod/web-0: metadata.creationTimestamp: expected an RFC 3339 time, got 'yesterday'"},
    {POD, NULL, "metadata|ownerReferences|0|controller", "\"yes\"", PAR,
     "Pod prod/web-0: metadata.ownerReferences[0].controller: expected a boolean"},
    {POD, NULL, "status|conditions|0|status", "\"Maybe\"", INV,
     "Pod prod/web-0: status.conditions[0].status: expected True, False or Unknown, got 'Maybe'"},
    {POD, NULL, "spec", NULL, INV, "Pod prod/web-0: spec: is required"},
    {POD, NULL, "metadata|name", "\"a\\u0000b\"", PAR,
     "Pod prod/a: metadata.name: string contains a NUL character"},
    {NODE, NULL, "spec|taints|0|effect", "\"NoScheduleX\"", INV,
     "Node node-a: spec.taints[0].effect: expected NoSchedule, PreferNoSchedule or NoExecute, got "
     "'NoScheduleX'"},
    {NODE, NULL, "spec|taints|0|key", "\"\"", INV, "Node node-a: spec.taints[0].key: must not be "
                                                   "empty"},
    {NODE, NULL, "status|capacity|cpu", "true", PAR,
     "Node node-a: status.capacity[cpu]: expected a quantity (a string or a number)"},
    {NODE, NULL, "spec|unschedulable", "1", PAR, "Node node-a: spec.unschedulable: expected a "
                                                 "boolean"},
    {PVC, NULL, "status|phase", "\"Gone\"", INV,
     "PersistentVolumeClaim prod/data-web-0: status.phase: expected Pending, Bound or Lost, got "
     "'Gone'"},
    {PV, NULL, "spec|nodeAffinity|required|nodeSelectorTerms", NULL, INV,
     "PersistentVolume pv-1: spec.nodeAffinity.required.nodeSelectorTerms: is required"},
    {PV, NULL, "spec|csi|driver", NULL, INV, "PersistentVolume pv-1: spec.csi.driver: is required"},
    {SC, NULL, "volumeBindingMode", "\"Later\"", INV,
     "StorageClass gp3: volumeBindingMode: expected Immediate or WaitForFirstConsumer, got "
     "'Later'"},
    {SC, NULL, "allowedTopologies|0|matchLabelExpressions|0|values", "[]", INV,
     "StorageClass gp3: allowedTopologies[0].matchLabelExpressions[0].values: needs at least one "
     "value"},
    {LEASE, NULL, "spec|renewTime", "\"2026-11-22 13:05\"", PAR,
     "Lease kube-system/stoker-leader: spec.renewTime: expected an RFC 3339 time, got "
     "'2026-11-22 13:05'"},
    {LEASE, NULL, "spec|leaseDurationSeconds", "\"15\"", PAR,
     "Lease kube-system/stoker-leader: spec.leaseDurationSeconds: expected an integer"},
    {DS, NULL, "spec|template|spec", NULL, INV,
     "DaemonSet kube-system/aws-node: spec.template.spec: is required"},
    {DS, NULL, "spec|template|spec|containers", "{}", PAR,
     "DaemonSet kube-system/aws-node: spec.template.spec.containers: expected an array"},
    {SVC, NULL, "spec|type", "\"Headless\"", INV,
     "Service kube-system/kube-dns: spec.type: expected ClusterIP, NodePort, LoadBalancer or "
     "ExternalName, got 'Headless'"},

    /* EC2NodeClass */
    {EC2, "ec2nodeclass_alias_combined.json", NULL, NULL, INV,
     "EC2NodeClass default: spec.amiSelectorTerms[1]: alias cannot be combined with other fields"},
    {EC2, NULL, "spec|amiSelectorTerms", "[{\"alias\": \"al2023@latest\"}, {\"id\": \"ami-1\"}]",
     INV, "EC2NodeClass default: spec.amiSelectorTerms[0]: alias cannot be combined with other "
          "terms"},
    {EC2, NULL, "spec|amiSelectorTerms", "[]", INV,
     "EC2NodeClass default: spec.amiSelectorTerms: must have at least one entry"},
    {EC2, NULL, "spec|amiSelectorTerms", NULL, INV,
     "EC2NodeClass default: spec.amiSelectorTerms: is required"},
    {EC2, NULL, "spec|amiSelectorTerms|0", "{\"owner\": \"self\"}", INV,
     "EC2NodeClass default: spec.amiSelectorTerms[0]: expected at least one of alias, id, name, "
     "tags or ssmParameter"},
    {EC2, NULL, "spec|amiSelectorTerms|0", "{\"id\": \"ami-1\", \"name\": \"x\"}", INV,
     "EC2NodeClass default: spec.amiSelectorTerms[0]: id cannot be combined with other fields"},
    {EC2, NULL, "spec|amiSelectorTerms|0", "{\"ssmParameter\": \"/p\", \"owner\": \"self\"}", INV,
     "EC2NodeClass default: spec.amiSelectorTerms[0]: ssmParameter cannot be combined with other "
     "fields"},
    {EC2, NULL, "spec|amiSelectorTerms|0|alias", "\"ubuntu@latest\"", INV,
     "EC2NodeClass default: spec.amiSelectorTerms[0].alias: expected family@version with family "
     "al2, al2023, bottlerocket, windows2019, windows2022 or windows2025 (windows only @latest), "
     "got 'ubuntu@latest'"},
    {EC2, NULL, "spec|amiSelectorTerms|0|alias", "\"windows2022@v1\"", INV,
     "EC2NodeClass default: spec.amiSelectorTerms[0].alias: expected family@version with family "
     "al2, al2023, bottlerocket, windows2019, windows2022 or windows2025 (windows only @latest), "
     "got 'windows2022@v1'"},
    {EC2, NULL, "spec|amiSelectorTerms|0|alias", "\"\"", INV,
     "EC2NodeClass default: spec.amiSelectorTerms[0].alias: must not be empty"},
    {EC2, NULL, "spec|amiSelectorTerms|0|tags", "{\"k\": \"\"}", INV,
     "EC2NodeClass default: spec.amiSelectorTerms[0]: alias cannot be combined with other "
     "fields"},
    {EC2, NULL, "spec|amiSelectorTerms|0", "{\"tags\": {\"k\": \"\"}}", INV,
     "EC2NodeClass default: spec.amiSelectorTerms[0].tags[k]: tag keys and values must not be "
     "empty"},
    {EC2, NULL, "spec|amiSelectorTerms|0", "{\"id\": \"ami_123\"}", INV,
     "EC2NodeClass default: spec.amiSelectorTerms[0].id: expected ami-<id>, got 'ami_123'"},
    {EC2, NULL, "spec|amiFamily", "\"AL2\"", INV,
     "EC2NodeClass default: spec.amiFamily: does not match the family of the alias "
     "'al2023@v20240807'"},
    {EC2, NULL, "spec|amiFamily", "\"Ubuntu\"", INV,
     "EC2NodeClass default: spec.amiFamily: expected AL2, AL2023, Bottlerocket, Custom, "
     "Windows2019, Windows2022 or Windows2025, got 'Ubuntu'"},
    {EC2MIN, NULL, "spec|amiFamily", NULL, INV,
     "EC2NodeClass custom: spec.amiFamily: is required when amiSelectorTerms has no alias"},
    {EC2, NULL, "spec|instanceProfile", "\"p\"", INV,
     "EC2NodeClass default: spec: exactly one of role and instanceProfile is required"},
    {EC2, NULL, "spec|role", NULL, INV,
     "EC2NodeClass default: spec: exactly one of role and instanceProfile is required"},
    {EC2, NULL, "spec|tags|kubernetes.io/cluster/my-cluster", "\"owned\"", INV,
     "EC2NodeClass default: spec.tags[kubernetes.io/cluster/my-cluster]: tag key is reserved for "
     "the controller"},
    {EC2, NULL, "spec|tags|karpenter.sh/nodepool", "\"x\"", INV,
     "EC2NodeClass default: spec.tags[karpenter.sh/nodepool]: tag key is reserved for the "
     "controller"},
    {EC2, NULL, "spec|tags|karpenter.k8s.aws/ec2nodeclass", "\"x\"", INV,
     "EC2NodeClass default: spec.tags[karpenter.k8s.aws/ec2nodeclass]: tag key is reserved for "
     "the controller"},
    {EC2, NULL, "spec|tags|stoker.dev/warm", "\"x\"", INV,
     "EC2NodeClass default: spec.tags[stoker.dev/warm]: tag key is reserved for the controller"},
    {EC2, NULL, "spec|tags|AWS:foo", "\"x\"", INV,
     "EC2NodeClass default: spec.tags[AWS:foo]: tag key is reserved for the controller"},
    {EC2, NULL, "spec|tags|eks:eks-cluster-name", "\"x\"", INV,
     "EC2NodeClass default: spec.tags[eks:eks-cluster-name]: tag key is reserved for the "
     "controller"},
    {EC2, NULL, "spec|foo", "1", INV,
     "EC2NodeClass default: spec.foo: unknown field (not supported by stoker)"},
    {EC2, NULL, "spec|capacityReservationSelectorTerms", "[]", INV,
     "EC2NodeClass default: spec.capacityReservationSelectorTerms: unknown field (not supported "
     "by stoker)"},
    {EC2, NULL, "spec|kubelet|maxPodz", "5", INV,
     "EC2NodeClass default: spec.kubelet.maxPodz: unknown field (not supported by stoker)"},
    {EC2, NULL, "spec|blockDeviceMappings|0|ebs|size", "\"1Gi\"", INV,
     "EC2NodeClass default: spec.blockDeviceMappings[0].ebs.size: unknown field (not supported by "
     "stoker)"},
    {EC2, NULL, "spec|blockDeviceMappings|1|rootVolume", "true", INV,
     "EC2NodeClass default: spec.blockDeviceMappings[1].rootVolume: only one block device mapping "
     "can be the root volume"},
    {EC2, NULL, "spec|blockDeviceMappings|1|ebs|volumeType", "\"gp4\"", INV,
     "EC2NodeClass default: spec.blockDeviceMappings[1].ebs.volumeType: expected standard, io1, "
     "io2, gp2, sc1, st1 or gp3, got 'gp4'"},
    {EC2, NULL, "spec|blockDeviceMappings|1|ebs|volumeSize", "\"1Mi\"", INV,
     "EC2NodeClass default: spec.blockDeviceMappings[1].ebs.volumeSize: must be between "
     "1073741824 and 70368744177664, got 1048576"},
    {EC2, NULL, "spec|blockDeviceMappings|1|deviceName", NULL, INV,
     "EC2NodeClass default: spec.blockDeviceMappings[1].deviceName: is required"},
    {EC2, NULL, "spec|blockDeviceMappings|0|ebs|iops", "99", INV,
     "EC2NodeClass default: spec.blockDeviceMappings[0].ebs.iops: must be between 100 and 256000, "
     "got 99"},
    {EC2, NULL, "spec|metadataOptions|httpPutResponseHopLimit", "65", INV,
     "EC2NodeClass default: spec.metadataOptions.httpPutResponseHopLimit: must be between 1 and "
     "64, got 65"},
    {EC2, NULL, "spec|metadataOptions|httpTokens", "\"sometimes\"", INV,
     "EC2NodeClass default: spec.metadataOptions.httpTokens: expected required or optional, got "
     "'sometimes'"},
    {EC2, NULL, "spec|subnetSelectorTerms|0", "{}", INV,
     "EC2NodeClass default: spec.subnetSelectorTerms[0]: expected at least one of id or tags"},
    {EC2, NULL, "spec|subnetSelectorTerms|0|name", "\"x\"", INV,
     "EC2NodeClass default: spec.subnetSelectorTerms[0].name: unknown field (not supported by "
     "stoker)"},
    {EC2, NULL, "spec|securityGroupSelectorTerms|2|id", "\"sgx-1\"", INV,
     "EC2NodeClass default: spec.securityGroupSelectorTerms[2].id: expected sg-<id>, got 'sgx-1'"},
    {EC2, NULL, "spec|securityGroupSelectorTerms|2|name", "\"n\"", INV,
     "EC2NodeClass default: spec.securityGroupSelectorTerms[2]: id cannot be combined with other "
     "fields"},
    {EC2, NULL, "spec|kubelet|evictionSoft|nodefs.available", "\"10%\"", INV,
     "EC2NodeClass default: spec.kubelet.evictionSoft[nodefs.available]: has no matching "
     "evictionSoftGracePeriod entry"},
    {EC2, NULL, "spec|kubelet|evictionSoftGracePeriod|pid.available", "\"1m\"", INV,
     "EC2NodeClass default: spec.kubelet.evictionSoftGracePeriod[pid.available]: has no matching "
     "evictionSoft entry"},
    {EC2, NULL, "spec|kubelet|evictionHard|memory.free", "\"1Gi\"", INV,
     "EC2NodeClass default: spec.kubelet.evictionHard[memory.free]: unknown eviction signal"},
    {EC2, NULL, "spec|kubelet|evictionHard|memory.available", "\"150%\"", INV,
     "EC2NodeClass default: spec.kubelet.evictionHard[memory.available]: expected a quantity or a "
     "percentage, got '150%'"},
    {EC2, NULL, "spec|kubelet|evictionSoftGracePeriod|memory.available", "\"soon\"", INV,
     "EC2NodeClass default: spec.kubelet.evictionSoftGracePeriod[memory.available]: expected a "
     "duration, got 'soon'"},
    {EC2, NULL, "spec|kubelet|kubeReserved|nvidia.com/gpu", "\"1\"", INV,
     "EC2NodeClass default: spec.kubelet.kubeReserved[nvidia.com/gpu]: expected cpu, memory, "
     "ephemeral-storage or pid"},
    {EC2, NULL, "spec|kubelet|imageGCLowThresholdPercent", "85", INV,
     "EC2NodeClass default: spec.kubelet.imageGCLowThresholdPercent: must be less than "
     "imageGCHighThresholdPercent"},
    {EC2, NULL, "spec|kubelet|imageGCHighThresholdPercent", "101", INV,
     "EC2NodeClass default: spec.kubelet.imageGCHighThresholdPercent: must be between 0 and 100, "
     "got 101"},
    {EC2, NULL, "spec|instanceStorePolicy", "\"RAID1\"", INV,
     "EC2NodeClass default: spec.instanceStorePolicy: expected RAID0, got 'RAID1'"},
    {EC2, NULL, "spec", "[]", PAR, "EC2NodeClass default: spec: expected an object"},

    /* NodePool */
    {NP, "nodepool_bad_operator.json", NULL, NULL, INV,
     "NodePool gpu: spec.template.spec.requirements[0].operator: expected In, NotIn, Exists, "
     "DoesNotExist, Gt or Lt, got 'Equals'"},
    {NP, NULL, "spec|template|spec|requirements|2|values", "[\"4\", \"5\"]", INV,
     "NodePool gpu: spec.template.spec.requirements[2].values: operator Gt needs exactly one "
     "integer value"},
    {NP, NULL, "spec|template|spec|requirements|2|values", "[\"four\"]", INV,
     "NodePool gpu: spec.template.spec.requirements[2].values: operator Gt needs exactly one "
     "integer value"},
    {NP, NULL, "spec|template|spec|requirements|3|values", "[\"amd64\"]", INV,
     "NodePool gpu: spec.template.spec.requirements[3].values: operator Exists takes no values"},
    {NP, NULL, "spec|template|spec|requirements|1|values", "[]", INV,
     "NodePool gpu: spec.template.spec.requirements[1].values: operator In needs at least one "
     "value"},
    {NP, NULL, "spec|template|spec|requirements|0|minValues", "51", INV,
     "NodePool gpu: spec.template.spec.requirements[0].minValues: must be between 1 and 50, got "
     "51"},
    {NP, NULL, "spec|template|spec|requirements|0|minValues", "4", INV,
     "NodePool gpu: spec.template.spec.requirements[0].minValues: 4 is more than the 3 values "
     "given"},
    {NP, NULL, "spec|template|spec|requirements|3|key", "\"karpenter.sh/nodepool\"", INV,
     "NodePool gpu: spec.template.spec.requirements[3].key: label 'karpenter.sh/nodepool' is "
     "restricted (the controller sets it)"},
    {NP, NULL, "spec|template|spec|requirements|3|key", "\"bad key\"", INV,
     "NodePool gpu: spec.template.spec.requirements[3].key: 'bad key' is not a valid label key"},
    {NP, NULL, "spec|template|metadata|labels|kubernetes.io/hostname", "\"x\"", INV,
     "NodePool gpu: spec.template.metadata.labels[kubernetes.io/hostname]: label is restricted "
     "(the controller sets it)"},
    {NP, NULL, "spec|template|metadata|labels|team", "\"ml team\"", INV,
     "NodePool gpu: spec.template.metadata.labels[team]: 'ml team' is not a valid label value"},
    {NP, NULL, "spec|weight", "0", INV, "NodePool gpu: spec.weight: must be between 1 and 100, got "
                                        "0"},
    {NP, NULL, "spec|weight", "101", INV, "NodePool gpu: spec.weight: must be between 1 and 100, "
                                          "got 101"},
    {NP, NULL, "spec|template|spec|expireAfter", "\"30 days\"", PAR,
     "NodePool gpu: spec.template.spec.expireAfter: invalid duration '30 days' (expected a Go "
     "duration like 90s, 30m or 1h30m, or Never)"},
    {NP, NULL, "spec|template|spec|terminationGracePeriod", "\"-1h\"", INV,
     "NodePool gpu: spec.template.spec.terminationGracePeriod: must not be negative"},
    {NP, NULL, "spec|template|spec|terminationGracePeriod", "\"Never\"", PAR,
     "NodePool gpu: spec.template.spec.terminationGracePeriod: invalid duration 'Never' (expected "
     "a Go duration like 90s, 30m or 1h30m)"},
    {NP, NULL, "spec|disruption|budgets|1|schedule", "\"0 25 * * *\"", PAR,
     "NodePool gpu: spec.disruption.budgets[1].schedule: cron hour field '25': 25-25 is outside "
     "0-23"},
    {NP, NULL, "spec|disruption|budgets|1|duration", NULL, INV,
     "NodePool gpu: spec.disruption.budgets[1].duration: schedule and duration must be set "
     "together"},
    {NP, NULL, "spec|disruption|budgets|0|duration", "\"1h\"", INV,
     "NodePool gpu: spec.disruption.budgets[0].schedule: schedule and duration must be set "
     "together"},
    {NP, NULL, "spec|disruption|budgets|0|nodes", "\"150%\"", INV,
     "NodePool gpu: spec.disruption.budgets[0].nodes: expected a node count (\"5\") or a "
     "percentage (\"10%\"), got '150%'"},
    {NP, NULL, "spec|disruption|budgets|0|reasons", "[\"Expired\"]", INV,
     "NodePool gpu: spec.disruption.budgets[0].reasons[0]: expected Underutilized, Empty or "
     "Drifted, got 'Expired'"},
    {NP, NULL, "spec|disruption|consolidationPolicy", "\"Always\"", INV,
     "NodePool gpu: spec.disruption.consolidationPolicy: expected WhenEmpty or "
     "WhenEmptyOrUnderutilized, got 'Always'"},
    {NP, NULL, "spec|template|spec|nodeClassRef|kind", "\"NodeClass\"", INV,
     "NodePool gpu: spec.template.spec.nodeClassRef.kind: expected EC2NodeClass, got 'NodeClass'"},
    {NP, NULL, "spec|template|spec|nodeClassRef|group", "\"example.com\"", INV,
     "NodePool gpu: spec.template.spec.nodeClassRef.group: expected stoker.dev, got 'example.com'"},
    {NP, NULL, "spec|template|spec|nodeClassRef", NULL, INV,
     "NodePool gpu: spec.template.spec.nodeClassRef: is required"},
    {NP, NULL, "spec|template|spec|kubelet", "{}", INV,
     "NodePool gpu: spec.template.spec.kubelet: unknown field (not supported by stoker)"},
    {NP, NULL, "spec|template|spec|taints|0|timeAdded", "\"2026-11-22T00:00:00Z\"", INV,
     "NodePool gpu: spec.template.spec.taints[0].timeAdded: unknown field (not supported by "
     "stoker)"},
    {NP, NULL, "spec|replicas", "3", INV,
     "NodePool gpu: spec.replicas: unknown field (not supported by stoker)"},
    {NP, NULL, "spec|limits|cpu", "\"lots\"", PAR,
     "NodePool gpu: spec.limits[cpu]: invalid quantity 'lots'"},

    /* NodeClaim */
    {NC, NULL, "spec|resources|limits", "{}", INV,
     "NodeClaim gpu-x7k2p: spec.resources.limits: unknown field (not supported by stoker)"},
    {NC, NULL, "spec|requirements", NULL, INV, "NodeClaim gpu-x7k2p: spec.requirements: is "
                                               "required"},
    {NC, NULL, "spec|requirements|1|operator", "\"Lt\"", INV,
     "NodeClaim gpu-x7k2p: spec.requirements[1].values: operator Lt needs exactly one integer "
     "value"},

    /* WarmPool */
    {WP, NULL, "spec|size|min", "30", INV,
     "WarmPool flash-sale: spec.size: min (30) must not be greater than max (20)"},
    {WP, NULL, "spec|size|min", "-1", INV,
     "WarmPool flash-sale: spec.size.min: must be between 0 and 100000, got -1"},
    {WP, NULL, "spec|target", "\"20%\"", INV,
     "WarmPool flash-sale: spec: exactly one of size and target is required"},
    {WP2, NULL, "spec|target", NULL, INV,
     "WarmPool share: spec: exactly one of size and target is required"},
    {WP2, NULL, "spec|target", "\"120%\"", INV,
     "WarmPool share: spec.target: expected a percentage of the NodePool's nodes, \"0%\" to "
     "\"100%\""},
    {WP2, NULL, "spec|target", "0.2", INV,
     "WarmPool share: spec.target: expected a percentage of the NodePool's nodes, \"0%\" to "
     "\"100%\""},
    {WP, NULL, "spec|state", "\"Paused\"", INV,
     "WarmPool flash-sale: spec.state: expected Stopped, Hibernated or Running, got 'Paused'"},
    {WP, "warmpool_overlap.json", NULL, NULL, INV,
     "WarmPool overlap: spec.schedules[1].start: window overlaps schedule 'a'"},
    {WP, NULL, "spec|schedules|1|start", "\"2026-11-27T10:00:00-05:00\"", INV,
     "WarmPool flash-sale: spec.schedules[1].start: window overlaps schedule 'black-friday'"},
    {WP, NULL, "spec|schedules|2|start", "\"CRON_TZ=America/New_York 30 8 * * 1-8\"", PAR,
     "WarmPool flash-sale: spec.schedules[2].start: expected an RFC 3339 time or a cron "
     "expression: cron day-of-week field '1-8': 1-8 is outside 0-7"},
    {WP, NULL, "spec|schedules|0|start", "\"2026-11-27T08:00:00\"", PAR,
     "WarmPool flash-sale: spec.schedules[0].start: expected an RFC 3339 time with an offset "
     "(2026-11-27T08:00:00Z, ...+01:00), got '2026-11-27T08:00:00'"},
    {WP, NULL, "spec|schedules|1|name", "\"black-friday\"", INV,
     "WarmPool flash-sale: spec.schedules[1].name: duplicate schedule name 'black-friday'"},
    {WP, NULL, "spec|schedules|0|duration", "\"0s\"", INV,
     "WarmPool flash-sale: spec.schedules[0].duration: must be positive"},
    {WP, NULL, "spec|schedules|0|size", NULL, INV,
     "WarmPool flash-sale: spec.schedules[0].size: is required"},
    {WP, NULL, "spec|schedules|2|size|max", "5", INV,
     "WarmPool flash-sale: spec.schedules[2].size: min (10) must not be greater than max (5)"},
    {WP, NULL, "spec|prewarm|timeout", "\"soon\"", PAR,
     "WarmPool flash-sale: spec.prewarm.timeout: invalid duration 'soon' (expected a Go duration "
     "like 90s, 30m or 1h30m)"},
    {WP, NULL, "spec|prewarm|pullImages", "true", INV,
     "WarmPool flash-sale: spec.prewarm.pullImages: unknown field (not supported by stoker)"},
    {WP, NULL, "spec|maxAge", "\"7d\"", PAR,
     "WarmPool flash-sale: spec.maxAge: invalid duration '7d' (expected a Go duration like 90s, "
     "30m or 1h30m)"},
    {WP, NULL, "spec|nodePoolRef", NULL, INV, "WarmPool flash-sale: spec.nodePoolRef: is required"},
    {WP, NULL, "spec|nodePoolRef|name", "\"\"", INV,
     "WarmPool flash-sale: spec.nodePoolRef.name: must not be empty"},
    {WP, NULL, "spec|instanceTypes", "\"m7i.xlarge\"", PAR,
     "WarmPool flash-sale: spec.instanceTypes: expected an array of strings"},
    {WP, NULL, "spec|podShape|cpu", "\"-1\"", INV,
     "WarmPool flash-sale: spec.podShape[cpu]: must not be negative"},
};

static void test_invalid_variants(void)
{
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        const struct bad *b = &bads[i];
        json_t *j = load(b->file ? b->file : kinds[b->kind].fixture);
        union any_obj o, before;
        struct core_err err;
        int rc;

        CU_ASSERT_PTR_NOT_NULL_FATAL(j);
        if (b->path && mutate(j, b->path, b->value) != 0) {
            CU_FAIL("mutation path does not exist in the fixture");
            fprintf(stderr, "case %zu: cannot mutate %s\n", i, b->path);
            json_decref(j);
            continue;
        }
        memset(&o, 0x5a, sizeof o);
        before = o;
        core_err_clear(&err);
        rc = kinds[b->kind].dec(j, &o, &err);
        CU_ASSERT_EQUAL(rc, b->code);
        CU_ASSERT_STRING_EQUAL(err.message, b->msg);
        CU_ASSERT_EQUAL(memcmp(&o, &before, sizeof o), 0); /* out untouched */
        if (rc != b->code || strcmp(err.message, b->msg) != 0)
            fprintf(stderr, "case %zu (%s): rc %d\n  got  %s\n  want %s\n", i,
                    b->path ? b->path : b->file, rc, err.message, b->msg);
        if (rc == 0)
            kinds[b->kind].cln(&o);
        json_decref(j);
    }
}

static void test_array_limits(void)
{
    /* 31 AMI terms and 51 block device mappings are one too many. */
    static const struct {
        const char *key, *item, *msg;
        size_t n;
    } cases[] = {
        {"amiSelectorTerms", "{\"tags\": {\"a\": \"b\"}}",
         "EC2NodeClass default: spec.amiSelectorTerms: must have at most 30 entries, got 31", 31},
        {"blockDeviceMappings", "{\"deviceName\": \"/dev/sdb\"}",
         "EC2NodeClass default: spec.blockDeviceMappings: must have at most 50 entries, got 51",
         51},
    };
    for (size_t c = 0; c < 2; c++) {
        json_t *j = load(kinds[EC2].fixture), *arr = json_array();
        struct k8s_ec2nodeclass n;
        struct core_err err;
        for (size_t i = 0; i < cases[c].n; i++)
            json_array_append_new(arr, json_loads(cases[c].item, 0, NULL));
        json_object_set_new(json_object_get(j, "spec"), cases[c].key, arr);
        if (c == 0)
            json_object_set_new(json_object_get(j, "spec"), "amiFamily", json_string("AL2023"));
        CU_ASSERT_EQUAL(k8s_ec2nodeclass_decode(j, &n, &err), CORE_E_INVAL);
        CU_ASSERT_STRING_EQUAL(err.message, cases[c].msg);
        /* One fewer is fine. */
        json_array_remove(arr, 0);
        CU_ASSERT_EQUAL(k8s_ec2nodeclass_decode(j, &n, &err), 0);
        k8s_ec2nodeclass_cleanup(&n);
        json_decref(j);
    }
}

static void test_lenient_and_null(void)
{
    struct core_err err;
    union any_obj o;
    json_t *j;

    /* Core kinds ignore what they do not model; JSON null is absence everywhere. */
    j = load("pod_full.json");
    CU_ASSERT_EQUAL(mutate(j, "spec|nodeName", "null"), 0);
    CU_ASSERT_EQUAL(mutate(j, "spec|hostNetwork", "true"), 0);
    CU_ASSERT_EQUAL(mutate(j, "spec|tolerations", "null"), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_pod_decode(j, &o.pod, &err), 0);
    CU_ASSERT_PTR_NULL(o.pod.spec.node_name);
    CU_ASSERT_EQUAL(o.pod.spec.ntolerations, 0);
    k8s_pod_cleanup(&o.pod);
    json_decref(j);

    /* CRD statuses are lenient; specs take null as absent (then defaults apply). */
    j = load("nodepool.json");
    CU_ASSERT_EQUAL(mutate(j, "status|newField", "1"), 0);
    CU_ASSERT_EQUAL(mutate(j, "spec|weight", "null"), 0);
    CU_ASSERT_EQUAL(mutate(j, "spec|template|spec|expireAfter", "null"), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_nodepool_decode(j, &o.np, &err), 0);
    CU_ASSERT_EQUAL(o.np.weight, 0);
    CU_ASSERT_EQUAL(o.np.expire_after, 720 * NS_H);
    k8s_nodepool_cleanup(&o.np);
    json_decref(j);

    /* Windows that only touch do not overlap, in either order; one second more does. */
    {
        static const struct {
            const char *start_b;
            int rc;
        } w[] = {
            {"\"2026-11-27T12:00:00+02:00\"", 0},             /* b starts when a ends */
            {"\"2026-11-27T11:59:59+02:00\"", CORE_E_INVAL},
            {"\"2026-11-27T07:00:00Z\"", 0},                  /* b ends when a starts */
            {"\"2026-11-27T07:00:01Z\"", CORE_E_INVAL},
        };
        for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
            j = load("warmpool_overlap.json");
            CU_ASSERT_EQUAL(mutate(j, "spec|schedules|1|start", w[i].start_b), 0);
            CU_ASSERT_EQUAL(k8s_warmpool_decode(j, &o.wp, &err), w[i].rc);
            if (w[i].rc == 0)
                k8s_warmpool_cleanup(&o.wp);
            json_decref(j);
        }
    }

    /* Not an object at all; err may be NULL. */
    j = json_string("pod");
    CU_ASSERT_EQUAL(k8s_pod_decode(j, &o.pod, &err), CORE_E_PARSE);
    CU_ASSERT_STRING_EQUAL(err.message, "Pod: expected an object");
    CU_ASSERT_EQUAL(k8s_node_decode(j, &o.node, NULL), CORE_E_PARSE);
    CU_ASSERT_EQUAL(k8s_node_decode(NULL, &o.node, NULL), CORE_E_PARSE);
    json_decref(j);
}

/* ---- helpers and matching ------------------------------------------------------------------- */

static void test_labels_and_resources(void)
{
    struct k8s_labels l = {NULL, 0};
    struct k8s_res_list a = {NULL, 0}, b = {NULL, 0};

    CU_ASSERT_EQUAL(k8s_labels_set(&l, "zone", "a"), 0);
    CU_ASSERT_EQUAL(k8s_labels_set(&l, "arch", "amd64"), 0);
    CU_ASSERT_EQUAL(k8s_labels_set(&l, "os", "linux"), 0);
    CU_ASSERT_EQUAL(k8s_labels_set(&l, "zone", "b"), 0);
    CU_ASSERT_EQUAL_FATAL(l.n, 3);
    CU_ASSERT_STRING_EQUAL(l.v[0].key, "arch");
    CU_ASSERT_STRING_EQUAL(l.v[1].key, "os");
    CU_ASSERT_STRING_EQUAL(l.v[2].key, "zone");
    CU_ASSERT_STRING_EQUAL(k8s_labels_get(&l, "zone"), "b");
    CU_ASSERT_PTR_NULL(k8s_labels_get(&l, "aaa"));
    CU_ASSERT_PTR_NULL(k8s_labels_get(NULL, "zone"));
    k8s_labels_cleanup(&l);
    CU_ASSERT_EQUAL(l.n, 0);
    k8s_labels_cleanup(&l);

    CU_ASSERT_EQUAL(k8s_res_set(&a, "memory", 10), 0);
    CU_ASSERT_EQUAL(k8s_res_set(&a, "cpu", 5), 0);
    CU_ASSERT_EQUAL(k8s_res_set(&b, "cpu", 7), 0);
    CU_ASSERT_EQUAL(k8s_res_set(&b, "nvidia.com/gpu", 1000), 0);
    CU_ASSERT_EQUAL(k8s_res_add(&a, &b), 0);
    CU_ASSERT_EQUAL(a.n, 3);
    CU_ASSERT_EQUAL(k8s_res_get(&a, "cpu"), 12);
    CU_ASSERT_EQUAL(k8s_res_get(&a, "nvidia.com/gpu"), 1000);
    CU_ASSERT_EQUAL(k8s_res_get(&a, "absent"), 0);
    CU_ASSERT_STRING_EQUAL(a.v[0].name, "cpu");
    CU_ASSERT_STRING_EQUAL(a.v[2].name, "nvidia.com/gpu");
    CU_ASSERT_EQUAL(k8s_res_set(&b, "cpu", 20), 0);
    CU_ASSERT_EQUAL(k8s_res_max(&a, &b), 0);
    CU_ASSERT_EQUAL(k8s_res_get(&a, "cpu"), 20);
    CU_ASSERT_EQUAL(k8s_res_get(&a, "memory"), 10);
    /* Overflow leaves the list as it was. */
    CU_ASSERT_EQUAL(k8s_res_set(&b, "memory", INT64_MAX), 0);
    CU_ASSERT_EQUAL(k8s_res_add(&a, &b), CORE_E_TOOBIG);
    CU_ASSERT_EQUAL(k8s_res_get(&a, "cpu"), 20);
    CU_ASSERT_EQUAL(k8s_res_get(&a, "memory"), 10);
    /* So does an allocation failure, at every point. */
    for (unsigned long n = 1; n < 20; n++) {
        int rc;
        core_alloc_fail_after(n);
        rc = k8s_res_max(&a, &b);
        core_alloc_fail_after(0);
        if (rc == 0)
            break;
        CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
        CU_ASSERT_EQUAL(a.n, 3);
        CU_ASSERT_EQUAL(k8s_res_get(&a, "cpu"), 20);
    }
    CU_ASSERT_EQUAL(k8s_res_get(&a, "memory"), INT64_MAX);
    k8s_res_cleanup(&a);
    k8s_res_cleanup(&b);
    k8s_res_cleanup(NULL);

    CU_ASSERT_TRUE(k8s_tag_key_reserved("kubernetes.io/cluster/x"));
    CU_ASSERT_TRUE(k8s_tag_key_reserved("aws:cloudformation:stack-name"));
    CU_ASSERT_FALSE(k8s_tag_key_reserved("kubernetes.io/role"));
    CU_ASSERT_FALSE(k8s_tag_key_reserved("eks:cluster-owner"));
    CU_ASSERT_FALSE(k8s_tag_key_reserved("team"));
}

static void test_matching(void)
{
    union any_obj pod, node, pv, sc;
    const struct k8s_affinity *a;
    struct k8s_labels l = {NULL, 0};
    struct k8s_taint other = {(char *)"other", NULL, K8S_EFFECT_NO_SCHEDULE};
    struct k8s_taint soft = {(char *)"other", NULL, K8S_EFFECT_PREFER_NO_SCHEDULE};
    struct k8s_taint wrong = {(char *)"dedicated", (char *)"db", K8S_EFFECT_NO_EXECUTE};

    decode_ok(POD, &pod);
    decode_ok(NODE, &node);
    decode_ok(PV, &pv);
    decode_ok(SC, &sc);
    a = &pod.pod.spec.affinity;

    /* Required node affinity: term 0 (zone In, cpu Gt 3) holds on node-a. */
    CU_ASSERT_TRUE(k8s_node_selector_matches(&a->node_required, &node.node.meta.labels, "node-a"));
    CU_ASSERT_EQUAL(k8s_labels_set(&node.node.meta.labels, "karpenter.k8s.aws/instance-cpu", "2"),
                    0);
    CU_ASSERT_FALSE(k8s_node_selector_matches(&a->node_required, &node.node.meta.labels, "node-a"));
    /* ... but term 1 (matchFields metadata.name) holds for node-special whatever its labels. */
    CU_ASSERT_TRUE(k8s_node_selector_matches(&a->node_required, &l, "node-special"));
    CU_ASSERT_EQUAL(k8s_labels_set(&node.node.meta.labels, "karpenter.k8s.aws/instance-cpu", "x"),
                    0);
    CU_ASSERT_FALSE(k8s_node_selector_matches(&a->node_required, &node.node.meta.labels, "node-a"));

    /* Tolerations against node-a's taints and others. */
    for (size_t i = 0; i < node.node.ntaints; i++)
        CU_ASSERT_TRUE(k8s_tolerates(pod.pod.spec.tolerations, pod.pod.spec.ntolerations,
                                     &node.node.taints[i]));
    CU_ASSERT_FALSE(k8s_tolerates(pod.pod.spec.tolerations, pod.pod.spec.ntolerations, &other));
    CU_ASSERT_TRUE(k8s_tolerates(pod.pod.spec.tolerations, pod.pod.spec.ntolerations, &soft));
    CU_ASSERT_FALSE(k8s_tolerates(pod.pod.spec.tolerations, pod.pod.spec.ntolerations, &wrong));
    CU_ASSERT_FALSE(k8s_tolerates(NULL, 0, &other));
    {
        /* Built by hand (the decoder refuses it): an empty key with Equal tolerates nothing. */
        struct k8s_toleration eq = {NULL, K8S_TOL_EQUAL, NULL, K8S_EFFECT_ALL, 0, 0};
        struct k8s_toleration ex = {NULL, K8S_TOL_EXISTS, NULL, K8S_EFFECT_ALL, 0, 0};
        CU_ASSERT_FALSE(k8s_tolerates(&eq, 1, &other));
        CU_ASSERT_TRUE(k8s_tolerates(&ex, 1, &other));
    }

    /* Label selectors: matchLabels, matchExpressions, absent (nothing) and empty (everything). */
    CU_ASSERT_TRUE(k8s_label_selector_matches(&a->pod_anti_affinity.preferred[0].term.selector,
                                              &pod.pod.meta.labels));
    CU_ASSERT_FALSE(k8s_label_selector_matches(&a->pod_affinity.required[0].selector,
                                               &pod.pod.meta.labels));
    CU_ASSERT_TRUE(k8s_label_selector_matches(&a->pod_affinity.required[0].selector,
                                              &node.node.meta.labels)); /* app=cache */
    CU_ASSERT_TRUE(k8s_label_selector_matches(&pod.pod.spec.spread[0].selector,
                                              &pod.pod.meta.labels));
    CU_ASSERT_FALSE(k8s_label_selector_matches(&pod.pod.spec.spread[1].selector,
                                               &pod.pod.meta.labels));
    CU_ASSERT_TRUE(k8s_label_selector_matches(&a->pod_anti_affinity.preferred[0].term.ns_selector,
                                              &l));

    /* Volume topology: the PV's zone label is the EBS CSI key. */
    CU_ASSERT_FALSE(k8s_node_selector_matches(&pv.pv.node_affinity, &node.node.meta.labels, NULL));
    CU_ASSERT_EQUAL(k8s_labels_set(&l, "topology.ebs.csi.aws.com/zone", "us-east-1a"), 0);
    CU_ASSERT_TRUE(k8s_node_selector_matches(&pv.pv.node_affinity, &l, NULL));
    CU_ASSERT_TRUE(k8s_node_selector_matches(&sc.sc.allowed_topologies, &l, NULL));
    CU_ASSERT_EQUAL(k8s_labels_set(&l, "topology.ebs.csi.aws.com/zone", "us-east-1c"), 0);
    CU_ASSERT_FALSE(k8s_node_selector_matches(&sc.sc.allowed_topologies, &l, NULL));

    k8s_labels_cleanup(&l);
    cln_pod(&pod);
    cln_node(&node);
    cln_pv(&pv);
    cln_storage_class(&sc);
}

static void test_requirement_ops(void)
{
    static const struct {
        enum k8s_op op;
        const char *value; /* the requirement's single value, or NULL for none */
        const char *label; /* the label "k", or NULL when absent */
        int want;
    } cases[] = {
        {K8S_OP_IN, "a", "a", 1},        {K8S_OP_IN, "a", "b", 0},
        {K8S_OP_IN, "a", NULL, 0},       {K8S_OP_NOT_IN, "a", "b", 1},
        {K8S_OP_NOT_IN, "a", NULL, 1},   {K8S_OP_NOT_IN, "a", "a", 0},
        {K8S_OP_EXISTS, NULL, "", 1},    {K8S_OP_EXISTS, NULL, NULL, 0},
        {K8S_OP_DOES_NOT_EXIST, NULL, NULL, 1}, {K8S_OP_DOES_NOT_EXIST, NULL, "x", 0},
        {K8S_OP_GT, "4", "5", 1},        {K8S_OP_GT, "4", "4", 0},
        {K8S_OP_GT, "-1", "0", 1},       {K8S_OP_GT, "4", "five", 0},
        {K8S_OP_GT, "4", NULL, 0},       {K8S_OP_LT, "4", "3", 1},
        {K8S_OP_LT, "4", "10", 0},       {K8S_OP_LT, "4", " 3", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *v = (char *)cases[i].value;
        struct k8s_requirement r = {(char *)"k", cases[i].op, {&v, v ? 1u : 0u}, 0};
        struct k8s_kv kv = {(char *)"k", (char *)cases[i].label};
        struct k8s_labels l = {&kv, cases[i].label ? 1u : 0u};
        CU_ASSERT_EQUAL(k8s_requirement_matches(&r, &l), cases[i].want);
    }
}

/* ---- allocation failures -------------------------------------------------------------------- */

static void test_alloc_failures(void)
{
    for (int k = 0; k < NKINDS; k++) {
        json_t *j = load(kinds[k].fixture);
        unsigned long n;
        CU_ASSERT_PTR_NOT_NULL_FATAL(j);
        for (n = 1; n < 100000; n++) {
            union any_obj o, before;
            struct core_err err;
            unsigned long failed;
            int rc;
            memset(&o, 0x5a, sizeof o);
            before = o;
            core_alloc_fail_after(n);
            rc = kinds[k].dec(j, &o, &err);
            failed = core_alloc_failures();
            core_alloc_fail_after(0);
            if (rc == 0) {
                CU_ASSERT_EQUAL(failed, 0); /* success only once no allocation was failed */
                kinds[k].cln(&o);
                break;
            }
            CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
            CU_ASSERT_EQUAL(failed, 1);
            CU_ASSERT_EQUAL(memcmp(&o, &before, sizeof o), 0);
            if (rc != CORE_E_NOMEM)
                fprintf(stderr, "%s: allocation %lu: rc %d %s\n", kinds[k].fixture, n, rc,
                        err.message);
        }
        CU_ASSERT_TRUE(n > 1); /* the decoder allocates, so failures were exercised */
        json_decref(j);
    }
}

TESTS_SUITE(k8s_objects, "k8s_objects", NULL, NULL, TESTS_CASE(test_pod_full),
            TESTS_CASE(test_pod_effective_requests), TESTS_CASE(test_pod_sidecar_order),
            TESTS_CASE(test_daemonset), TESTS_CASE(test_node), TESTS_CASE(test_storage),
            TESTS_CASE(test_service_lease), TESTS_CASE(test_ec2nodeclass_full),
            TESTS_CASE(test_ec2nodeclass_defaults), TESTS_CASE(test_nodepool),
            TESTS_CASE(test_nodeclaim), TESTS_CASE(test_warmpool),
            TESTS_CASE(test_invalid_variants), TESTS_CASE(test_array_limits),
            TESTS_CASE(test_lenient_and_null), TESTS_CASE(test_labels_and_resources),
            TESTS_CASE(test_matching), TESTS_CASE(test_requirement_ops),
            TESTS_CASE(test_alloc_failures))
