/*
 * k8s/obj_core.c — typed decoders for the core kinds stoker reads: Pod, DaemonSet, Node,
 * PersistentVolumeClaim, PersistentVolume, StorageClass, Service, Lease.
 *
 * Invariants:
 *  - Fields the tables do not name are ignored: the API server owns these kinds and validated
 *    them; a field we do model is still checked for type and value, so a malformed object is
 *    reported, never half-read.
 *  - A pod's effective request is computed here once, the way the scheduler computes it (the
 *    rule is documented at struct k8s_pod_spec in k8s.h): containers' requests (limits standing
 *    in for absent requests), restartable init containers (sidecars) adding to the sum and to
 *    every later init container's footprint, the largest init footprint, then overhead, then
 *    pods = 1.
 */
#include "k8s/obj_internal.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Pod spec                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static const struct obj_field node_pref_desc_f[] = {
    F_INT("weight", struct k8s_node_preference, weight, FL_REQ, 0, 1, 100),
    F_OBJ("preference", struct k8s_node_preference, preference, FL_REQ, obj_node_term_desc, 0),
};
static OBJ_DESC(node_pref_desc, struct k8s_node_preference, OBJ_INHERIT, NULL, NULL);

static const struct obj_field pod_term_desc_f[] = {
    F_OBJ("labelSelector", struct k8s_pod_affinity_term, selector, 0, obj_label_selector_desc,
          HAS(struct k8s_pod_affinity_term, selector.present)),
    F_STR("topologyKey", struct k8s_pod_affinity_term, topology_key, FL_REQ | FL_NONEMPTY),
    F_STRS("namespaces", struct k8s_pod_affinity_term, namespaces, 0, 0),
    F_OBJ("namespaceSelector", struct k8s_pod_affinity_term, ns_selector, 0,
          obj_label_selector_desc, HAS(struct k8s_pod_affinity_term, ns_selector.present)),
};
static OBJ_DESC(pod_term_desc, struct k8s_pod_affinity_term, OBJ_INHERIT, NULL, NULL);

static const struct obj_field weighted_term_desc_f[] = {
    F_INT("weight", struct k8s_weighted_pod_term, weight, FL_REQ, 0, 1, 100),
    F_OBJ("podAffinityTerm", struct k8s_weighted_pod_term, term, FL_REQ, pod_term_desc, 0),
};
static OBJ_DESC(weighted_term_desc, struct k8s_weighted_pod_term, OBJ_INHERIT, NULL, NULL);

static const struct obj_field pod_aff_desc_f[] = {
    F_ARR("requiredDuringSchedulingIgnoredDuringExecution", struct k8s_pod_affinity, required,
          nrequired, 0, 0, pod_term_desc),
    F_ARR("preferredDuringSchedulingIgnoredDuringExecution", struct k8s_pod_affinity, preferred,
          npreferred, 0, 0, weighted_term_desc),
};
static OBJ_DESC(pod_aff_desc, struct k8s_pod_affinity, OBJ_INHERIT, NULL, NULL);

/* nodeAffinity is flattened into struct k8s_affinity. */
static const struct obj_field node_aff_desc_f[] = {
    F_OBJ("requiredDuringSchedulingIgnoredDuringExecution", struct k8s_affinity, node_required, 0,
          obj_node_selector_desc, 0),
    F_ARR("preferredDuringSchedulingIgnoredDuringExecution", struct k8s_affinity, node_preferred,
          nnode_preferred, 0, 0, node_pref_desc),
};
static OBJ_DESC(node_aff_desc, struct k8s_affinity, OBJ_INHERIT, NULL, NULL);

static const struct obj_field affinity_desc_f[] = {
    F_NEST("nodeAffinity", 0, node_aff_desc),
    F_OBJ("podAffinity", struct k8s_affinity, pod_affinity, 0, pod_aff_desc, 0),
    F_OBJ("podAntiAffinity", struct k8s_affinity, pod_anti_affinity, 0, pod_aff_desc, 0),
};
static OBJ_DESC(affinity_desc, struct k8s_affinity, OBJ_INHERIT, NULL, NULL);

static int spread_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    struct k8s_spread *s = dst;
    (void)obj;
    if (s->node_affinity_policy == 0)
        s->node_affinity_policy = K8S_POLICY_HONOR;
    if (s->node_taints_policy == 0)
        s->node_taints_policy = K8S_POLICY_IGNORE;
    if (s->min_domains && s->when_unsatisfiable != K8S_DO_NOT_SCHEDULE) {
        size_t mark = obj_push_key(c, "minDomains");
        int rc = obj_fail(c, CORE_E_INVAL, "only allowed with whenUnsatisfiable DoNotSchedule");
        obj_pop(c, mark);
        return rc;
    }
    return 0;
}

static const char *const unsatisfiable_names[] = {"DoNotSchedule", "ScheduleAnyway", NULL};
static const char *const policy_names[] = {"Honor", "Ignore", NULL};
static const struct obj_field spread_desc_f[] = {
    F_INT("maxSkew", struct k8s_spread, max_skew, FL_REQ, 0, 1, INT32_MAX),
    F_STR("topologyKey", struct k8s_spread, topology_key, FL_REQ | FL_NONEMPTY),
    F_ENUM("whenUnsatisfiable", struct k8s_spread, when_unsatisfiable, FL_REQ,
           unsatisfiable_names),
    F_OBJ("labelSelector", struct k8s_spread, selector, 0, obj_label_selector_desc,
          HAS(struct k8s_spread, selector.present)),
    F_INT("minDomains", struct k8s_spread, min_domains, 0, 0, 1, INT32_MAX),
    F_ENUM("nodeAffinityPolicy", struct k8s_spread, node_affinity_policy, 0, policy_names),
    F_ENUM("nodeTaintsPolicy", struct k8s_spread, node_taints_policy, 0, policy_names),
    F_STRS("matchLabelKeys", struct k8s_spread, match_label_keys, 0, 0),
};
static OBJ_DESC(spread_desc, struct k8s_spread, OBJ_INHERIT, spread_check, NULL);

/* One container's resources, decoded only to compute the pod's request. */
struct ctr {
    struct k8s_res_list requests, limits;
    char *restart_policy;
};
static const struct obj_field ctr_res_desc_f[] = {
    F_RES("requests", struct ctr, requests),
    F_RES("limits", struct ctr, limits),
};
static OBJ_DESC(ctr_res_desc, struct ctr, OBJ_INHERIT, NULL, NULL);
static const struct obj_field ctr_desc_f[] = {
    F_NEST("resources", 0, ctr_res_desc),
    F_STR("restartPolicy", struct ctr, restart_policy, 0),
};
static OBJ_DESC(ctr_desc, struct ctr, OBJ_INHERIT, NULL, NULL);

static int res_fail(struct obj_ctx *c, int rc)
{
    if (rc == CORE_E_NOMEM)
        return obj_fail(c, rc, "out of memory");
    return obj_fail(c, rc, "requests add up past the largest quantity");
}

/* The container's request with API defaulting: a limit stands in for an absent request. */
static int ctr_request(struct obj_ctx *c, const json_t *item, struct ctr *k)
{
    int rc = obj_decode(c, item, &ctr_desc, k);
    for (size_t i = 0; rc == 0 && i < k->limits.n; i++) {
        int found = 0;
        for (size_t j = 0; j < k->requests.n && !found; j++)
            found = strcmp(k->requests.v[j].name, k->limits.v[i].name) == 0;
        if (!found && (rc = k8s_res_set(&k->requests, k->limits.v[i].name, k->limits.v[i].milli)))
            rc = res_fail(c, rc);
    }
    return rc;
}

static int pod_requests(struct obj_ctx *c, const json_t *spec, struct k8s_pod_spec *ps)
{
    static const char *const lists[2] = {"containers", "initContainers"};
    struct k8s_res_list sum = {NULL, 0}, sidecars = {NULL, 0}, init = {NULL, 0};
    int rc = 0;

    for (size_t pass = 0; pass < 2 && rc == 0; pass++) {
        const json_t *arr = json_object_get(spec, lists[pass]);
        size_t mark = obj_push_key(c, lists[pass]);
        if (arr && !json_is_null(arr) && !json_is_array(arr))
            rc = obj_fail(c, CORE_E_PARSE, "expected an array");
        for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++) {
            struct ctr k;
            size_t m2 = obj_push_index(c, i);
            memset(&k, 0, sizeof k);
            rc = ctr_request(c, json_array_get(arr, i), &k);
            if (rc == 0) {
                int arc;
                if (pass == 0) {
                    arc = k8s_res_add(&sum, &k.requests);
                } else if (obj_streq(k.restart_policy, "Always")) {
                    /* A sidecar runs alongside the containers and every later init container. */
                    if ((arc = k8s_res_add(&sum, &k.requests)) == 0 &&
                        (arc = k8s_res_add(&sidecars, &k.requests)) == 0)
                        arc = k8s_res_max(&init, &sidecars);
                } else if ((arc = k8s_res_add(&k.requests, &sidecars)) == 0) {
                    arc = k8s_res_max(&init, &k.requests);
                }
                if (arc != 0)
                    rc = res_fail(c, arc);
            }
            obj_cleanup(&ctr_desc, &k);
            obj_pop(c, m2);
        }
        obj_pop(c, mark);
    }
    if (rc == 0 && ((rc = k8s_res_max(&sum, &init)) != 0 ||
                    (rc = k8s_res_add(&sum, &ps->overhead)) != 0 ||
                    (rc = k8s_res_set(&sum, K8S_RES_PODS, 1000)) != 0))
        rc = res_fail(c, rc);
    if (rc == 0) {
        ps->requests = sum;
        sum.v = NULL;
        sum.n = 0;
    }
    k8s_res_cleanup(&sum);
    k8s_res_cleanup(&sidecars);
    k8s_res_cleanup(&init);
    return rc;
}

/* A volume's claim name (heap), or *out = NULL when the volume uses no PVC. */
static int volume_claim(struct obj_ctx *c, const json_t *vol, char **out)
{
    const json_t *pvc = json_object_get(vol, "persistentVolumeClaim");
    const json_t *eph = json_object_get(vol, "ephemeral");
    const json_t *name = json_object_get(vol, "name");
    size_t mark;
    int rc = 0;

    *out = NULL;
    if (pvc && !json_is_null(pvc)) {
        const json_t *cn = json_object_get(pvc, "claimName");
        mark = obj_push_key(c, "persistentVolumeClaim");
        obj_push_key(c, "claimName");
        if (!json_is_object(pvc) || !json_is_string(cn) || !*json_string_value(cn) ||
            strlen(json_string_value(cn)) != json_string_length(cn))
            rc = obj_fail(c, CORE_E_INVAL, "expected a non-empty string");
        else if (!(*out = core_strdup(json_string_value(cn))))
            rc = obj_fail(c, CORE_E_NOMEM, "out of memory");
        obj_pop(c, mark);
    } else if (eph && !json_is_null(eph) && c->is_pod && c->name) {
        /* A generic ephemeral volume's PVC is named <pod>-<volume> by the controller. */
        struct core_buf b;
        mark = obj_push_key(c, "name");
        core_buf_init(&b, 512);
        if (!json_is_string(name) || !*json_string_value(name))
            rc = obj_fail(c, CORE_E_INVAL, "expected a non-empty string");
        else if (core_buf_appendf(&b, "%s-%s", c->name, json_string_value(name)) != 0 ||
                 core_buf_steal(&b, out, NULL) != 0)
            rc = obj_fail(c, CORE_E_NOMEM, "out of memory");
        core_buf_cleanup(&b);
        obj_pop(c, mark);
    }
    return rc;
}

static int pod_volumes(struct obj_ctx *c, const json_t *spec, struct k8s_pod_spec *ps)
{
    const json_t *vols = json_object_get(spec, "volumes");
    size_t mark = obj_push_key(c, "volumes"), n;
    int rc = 0;

    if (!vols || json_is_null(vols))
        goto out;
    if (!json_is_array(vols)) {
        rc = obj_fail(c, CORE_E_PARSE, "expected an array");
        goto out;
    }
    n = json_array_size(vols);
    ps->nvolumes = n;
    if (n && !(ps->claims.v = core_calloc(n, sizeof *ps->claims.v))) {
        rc = obj_fail(c, CORE_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const json_t *vol = json_array_get(vols, i);
        size_t m2 = obj_push_index(c, i);
        char *claim = NULL;
        if (!json_is_object(vol))
            rc = obj_fail(c, CORE_E_PARSE, "expected an object");
        else if ((rc = volume_claim(c, vol, &claim)) == 0 && claim)
            ps->claims.v[ps->claims.n++] = claim;
        obj_pop(c, m2);
    }
out:
    obj_pop(c, mark);
    return rc;
}

static int pod_spec_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    struct k8s_pod_spec *ps = dst;
    int rc;

    if (!ps->scheduler_name && !(ps->scheduler_name = core_strdup("default-scheduler")))
        return obj_fail(c, CORE_E_NOMEM, "out of memory");
    if ((rc = pod_volumes(c, obj, ps)) != 0)
        return rc;
    return pod_requests(c, obj, ps);
}

static void pod_spec_cleanup(void *dst)
{
    struct k8s_pod_spec *ps = dst;
    k8s_strings_cleanup(&ps->claims);
    k8s_res_cleanup(&ps->requests);
    ps->nvolumes = 0;
}

static const struct obj_field pod_spec_desc_f[] = {
    F_STR("nodeName", struct k8s_pod_spec, node_name, 0),
    F_STR("schedulerName", struct k8s_pod_spec, scheduler_name, 0),
    F_STR("priorityClassName", struct k8s_pod_spec, priority_class_name, 0),
    F_INT("priority", struct k8s_pod_spec, priority, 0, HAS(struct k8s_pod_spec, has_priority),
          INT32_MIN, INT32_MAX),
    F_LABELS("nodeSelector", struct k8s_pod_spec, node_selector, 0),
    F_ARR("tolerations", struct k8s_pod_spec, tolerations, ntolerations, 0, 0,
          obj_toleration_desc),
    F_OBJ("affinity", struct k8s_pod_spec, affinity, 0, affinity_desc, 0),
    F_ARR("topologySpreadConstraints", struct k8s_pod_spec, spread, nspread, 0, 0, spread_desc),
    F_RES("overhead", struct k8s_pod_spec, overhead),
};
static OBJ_DESC(pod_spec_desc, struct k8s_pod_spec, OBJ_LENIENT, pod_spec_check,
                pod_spec_cleanup);

/* ------------------------------------------------------------------------------------------ */
/* Pod, DaemonSet                                                                              */
/* ------------------------------------------------------------------------------------------ */

static const char *const pod_phase_names[] = {"Pending", "Running", "Succeeded", "Failed",
                                              "Unknown", NULL};
static const struct obj_field pod_status_desc_f[] = {
    F_ENUM("phase", struct k8s_pod, phase, 0, pod_phase_names),
    F_ARR("conditions", struct k8s_pod, conditions, nconditions, 0, 0, obj_condition_desc),
    F_STR("nominatedNodeName", struct k8s_pod, nominated_node_name, 0),
};
static OBJ_DESC(pod_status_desc, struct k8s_pod, OBJ_LENIENT, NULL, NULL);

static const struct obj_field pod_desc_f[] = {
    F_OBJ("metadata", struct k8s_pod, meta, 0, obj_meta_desc, 0),
    F_OBJ("spec", struct k8s_pod, spec, FL_REQ, pod_spec_desc, 0),
    F_NEST("status", 0, pod_status_desc),
};
static OBJ_DESC(pod_desc, struct k8s_pod, OBJ_LENIENT, NULL, NULL);
OBJ_KIND(pod, k8s_pod, "Pod", 1, pod_desc)

int k8s_pod_unschedulable(const struct k8s_pod *p)
{
    const struct k8s_condition *cond = k8s_condition_find(p->conditions, p->nconditions,
                                                          "PodScheduled");
    return cond && cond->status == K8S_COND_FALSE && obj_streq(cond->reason, "Unschedulable");
}

static const struct obj_field ds_tmeta_desc_f[] = {
    F_LABELS("labels", struct k8s_daemonset, template_labels, 0),
};
static OBJ_DESC(ds_tmeta_desc, struct k8s_daemonset, OBJ_LENIENT, NULL, NULL);
static const struct obj_field ds_template_desc_f[] = {
    F_NEST("metadata", 0, ds_tmeta_desc),
    F_OBJ("spec", struct k8s_daemonset, spec, FL_REQ, pod_spec_desc, 0),
};
static OBJ_DESC(ds_template_desc, struct k8s_daemonset, OBJ_LENIENT, NULL, NULL);
static const struct obj_field ds_spec_desc_f[] = {
    F_NEST("template", FL_REQ, ds_template_desc),
};
static OBJ_DESC(ds_spec_desc, struct k8s_daemonset, OBJ_LENIENT, NULL, NULL);
static const struct obj_field ds_desc_f[] = {
    F_OBJ("metadata", struct k8s_daemonset, meta, 0, obj_meta_desc, 0),
    F_NEST("spec", FL_REQ, ds_spec_desc),
};
static OBJ_DESC(ds_desc, struct k8s_daemonset, OBJ_LENIENT, NULL, NULL);
OBJ_KIND(daemonset, k8s_daemonset, "DaemonSet", 0, ds_desc)

/* ------------------------------------------------------------------------------------------ */
/* Node                                                                                        */
/* ------------------------------------------------------------------------------------------ */

static const struct obj_field node_spec_desc_f[] = {
    F_STR("providerID", struct k8s_node, provider_id, 0),
    F_BOOL("unschedulable", struct k8s_node, unschedulable, 0),
    F_ARR("taints", struct k8s_node, taints, ntaints, 0, 0, obj_taint_desc),
};
static OBJ_DESC(node_spec_desc, struct k8s_node, OBJ_LENIENT, NULL, NULL);
static const struct obj_field node_status_desc_f[] = {
    F_RES("capacity", struct k8s_node, capacity),
    F_RES("allocatable", struct k8s_node, allocatable),
    F_ARR("conditions", struct k8s_node, conditions, nconditions, 0, 0, obj_condition_desc),
};
static OBJ_DESC(node_status_desc, struct k8s_node, OBJ_LENIENT, NULL, NULL);
static const struct obj_field node_desc_f[] = {
    F_OBJ("metadata", struct k8s_node, meta, 0, obj_meta_desc, 0),
    F_NEST("spec", 0, node_spec_desc),
    F_NEST("status", 0, node_status_desc),
};
static OBJ_DESC(node_desc, struct k8s_node, OBJ_LENIENT, NULL, NULL);
OBJ_KIND(node, k8s_node, "Node", 0, node_desc)

int k8s_node_ready(const struct k8s_node *n)
{
    const struct k8s_condition *cond = k8s_condition_find(n->conditions, n->nconditions, "Ready");
    return cond && cond->status == K8S_COND_TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* PersistentVolumeClaim, PersistentVolume, StorageClass                                       */
/* ------------------------------------------------------------------------------------------ */

static int pvc_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    struct k8s_pvc *p = dst;
    const char *node = k8s_labels_get(&p->meta.annotations, "volume.kubernetes.io/selected-node");
    (void)obj;
    if (node && !(p->selected_node = core_strdup(node)))
        return obj_fail(c, CORE_E_NOMEM, "out of memory");
    return 0;
}

static void pvc_cleanup(void *dst)
{
    struct k8s_pvc *p = dst;
    core_free(p->selected_node);
    p->selected_node = NULL;
}

static const char *const pvc_phase_names[] = {"Pending", "Bound", "Lost", NULL};
static const struct obj_field pvc_spec_desc_f[] = {
    F_STR("storageClassName", struct k8s_pvc, storage_class, 0),
    F_STR("volumeName", struct k8s_pvc, volume_name, 0),
};
static OBJ_DESC(pvc_spec_desc, struct k8s_pvc, OBJ_LENIENT, NULL, NULL);
static const struct obj_field pvc_status_desc_f[] = {
    F_ENUM("phase", struct k8s_pvc, phase, 0, pvc_phase_names),
};
static OBJ_DESC(pvc_status_desc, struct k8s_pvc, OBJ_LENIENT, NULL, NULL);
static const struct obj_field pvc_desc_f[] = {
    F_OBJ("metadata", struct k8s_pvc, meta, 0, obj_meta_desc, 0),
    F_NEST("spec", 0, pvc_spec_desc),
    F_NEST("status", 0, pvc_status_desc),
};
static OBJ_DESC(pvc_desc, struct k8s_pvc, OBJ_LENIENT, pvc_check, pvc_cleanup);
OBJ_KIND(pvc, k8s_pvc, "PersistentVolumeClaim", 0, pvc_desc)

static const struct obj_field claim_ref_desc_f[] = {
    F_STR("namespace", struct k8s_claim_ref, ns, 0),
    F_STR("name", struct k8s_claim_ref, name, 0),
    F_STR("uid", struct k8s_claim_ref, uid, 0),
};
static OBJ_DESC(claim_ref_desc, struct k8s_claim_ref, OBJ_LENIENT, NULL, NULL);
static const struct obj_field pv_affinity_desc_f[] = {
    F_OBJ("required", struct k8s_pv, node_affinity, 0, obj_node_selector_desc, 0),
};
static OBJ_DESC(pv_affinity_desc, struct k8s_pv, OBJ_LENIENT, NULL, NULL);
static const struct obj_field pv_csi_desc_f[] = {
    F_STR("driver", struct k8s_pv, csi_driver, FL_REQ),
};
static OBJ_DESC(pv_csi_desc, struct k8s_pv, OBJ_LENIENT, NULL, NULL);
static const struct obj_field pv_spec_desc_f[] = {
    F_NEST("nodeAffinity", 0, pv_affinity_desc),
    F_NEST("csi", 0, pv_csi_desc),
    F_STR("storageClassName", struct k8s_pv, storage_class, 0),
    F_OBJ("claimRef", struct k8s_pv, claim_ref, 0, claim_ref_desc, 0),
};
static OBJ_DESC(pv_spec_desc, struct k8s_pv, OBJ_LENIENT, NULL, NULL);
static const struct obj_field pv_desc_f[] = {
    F_OBJ("metadata", struct k8s_pv, meta, 0, obj_meta_desc, 0),
    F_NEST("spec", 0, pv_spec_desc),
};
static OBJ_DESC(pv_desc, struct k8s_pv, OBJ_LENIENT, NULL, NULL);
OBJ_KIND(pv, k8s_pv, "PersistentVolume", 0, pv_desc)

/* A TopologySelectorLabelRequirement {key, values} is an In requirement. */
static int topo_req_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    struct k8s_requirement *r = dst;
    (void)obj;
    r->op = K8S_OP_IN;
    if (r->values.n == 0) {
        size_t mark = obj_push_key(c, "values");
        int rc = obj_fail(c, CORE_E_INVAL, "needs at least one value");
        obj_pop(c, mark);
        return rc;
    }
    return 0;
}

static const struct obj_field topo_req_desc_f[] = {
    F_STR("key", struct k8s_requirement, key, FL_REQ | FL_NONEMPTY),
    F_STRS("values", struct k8s_requirement, values, 0, 0),
};
static OBJ_DESC(topo_req_desc, struct k8s_requirement, OBJ_LENIENT, topo_req_check, NULL);
static const struct obj_field topo_term_desc_f[] = {
    F_ARR("matchLabelExpressions", struct k8s_node_selector_term, exprs, nexprs, 0, 0,
          topo_req_desc),
};
static OBJ_DESC(topo_term_desc, struct k8s_node_selector_term, OBJ_LENIENT, NULL, NULL);

static int sc_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    struct k8s_storage_class *s = dst;
    (void)c;
    (void)obj;
    if (s->binding_mode == 0)
        s->binding_mode = K8S_BIND_IMMEDIATE;
    return 0;
}

static const char *const binding_names[] = {"Immediate", "WaitForFirstConsumer", NULL};
static const struct obj_field sc_desc_f[] = {
    F_OBJ("metadata", struct k8s_storage_class, meta, 0, obj_meta_desc, 0),
    F_STR("provisioner", struct k8s_storage_class, provisioner, 0),
    F_ENUM("volumeBindingMode", struct k8s_storage_class, binding_mode, 0, binding_names),
    F_ARR("allowedTopologies", struct k8s_storage_class, allowed_topologies.terms,
          allowed_topologies.nterms, 0, 0, topo_term_desc),
};
static OBJ_DESC(sc_desc, struct k8s_storage_class, OBJ_LENIENT, sc_check, NULL);
OBJ_KIND(storage_class, k8s_storage_class, "StorageClass", 0, sc_desc)

/* ------------------------------------------------------------------------------------------ */
/* Service, Lease                                                                              */
/* ------------------------------------------------------------------------------------------ */

static int svc_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    struct k8s_service *s = dst;
    (void)c;
    (void)obj;
    if (s->type == 0)
        s->type = K8S_SVC_CLUSTER_IP;
    return 0;
}

static const char *const svc_type_names[] = {"ClusterIP", "NodePort", "LoadBalancer",
                                             "ExternalName", NULL};
static const struct obj_field svc_spec_desc_f[] = {
    F_LABELS("selector", struct k8s_service, selector, 0),
    F_ENUM("type", struct k8s_service, type, 0, svc_type_names),
};
static OBJ_DESC(svc_spec_desc, struct k8s_service, OBJ_LENIENT, NULL, NULL);
static const struct obj_field svc_desc_f[] = {
    F_OBJ("metadata", struct k8s_service, meta, 0, obj_meta_desc, 0),
    F_NEST("spec", 0, svc_spec_desc),
};
static OBJ_DESC(svc_desc, struct k8s_service, OBJ_LENIENT, svc_check, NULL);
OBJ_KIND(service, k8s_service, "Service", 0, svc_desc)

static const struct obj_field lease_spec_desc_f[] = {
    F_STR("holderIdentity", struct k8s_lease, holder_identity, 0),
    F_INT("leaseDurationSeconds", struct k8s_lease, lease_duration_seconds, 0,
          HAS(struct k8s_lease, has_lease_duration), 0, INT32_MAX),
    F_TIME("acquireTime", struct k8s_lease, acquire_time, HAS(struct k8s_lease, has_acquire_time)),
    F_TIME("renewTime", struct k8s_lease, renew_time, HAS(struct k8s_lease, has_renew_time)),
    F_INT("leaseTransitions", struct k8s_lease, lease_transitions, 0, 0, 0, INT32_MAX),
};
static OBJ_DESC(lease_spec_desc, struct k8s_lease, OBJ_LENIENT, NULL, NULL);
static const struct obj_field lease_desc_f[] = {
    F_OBJ("metadata", struct k8s_lease, meta, 0, obj_meta_desc, 0),
    F_NEST("spec", 0, lease_spec_desc),
};
static OBJ_DESC(lease_desc, struct k8s_lease, OBJ_LENIENT, NULL, NULL);
OBJ_KIND(lease, k8s_lease, "Lease", 0, lease_desc)
