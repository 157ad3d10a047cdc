/*
 * sim/cluster_sched.c — the simulated cluster's scheduler, EBS-like volume provisioner and pod
 * garbage collector, working on the in-process kube API only.
 *
 * How it runs: in-process watches on pods, nodes, claims and storage classes (and
 * sim_cluster_sched_kick from the kubelets) arm one batch timer, opts.schedule_delay after the
 * first change; a batch lists everything afresh, so it never acts on a stale cache and a lost
 * event costs at most a delay. A batch:
 *   1. decodes Nodes (k8s_node_decode); usable = Ready condition True and not unschedulable;
 *   2. decodes Pods: a pod bound to a Node that does not exist is deleted (pod GC); a bound,
 *      non-terminal pod adds its effective request (k8s_pod_spec.requests: containers, init
 *      containers, overhead, "pods" = 1) to its node's usage; unbound pods of the default
 *      scheduler that are not being deleted and not terminal are pending;
 *   3. provisions every unbound claim of an Immediate class (zone with most usable nodes);
 *   4. schedules the pending pods in creation order (then namespace/name): claims first
 *      (missing, being deleted, unbound without a WaitForFirstConsumer class: the pod waits or
 *      is unschedulable before any node is looked at), then per node, in kube-scheduler's
 *      filter order, the first failing check: unschedulable, untolerated NoSchedule/NoExecute
 *      taint (a NotReady node counts as tainted not-ready), nodeSelector + required node
 *      affinity, resources, volume topology; the node with the most free cpu and memory
 *      (least-requested, non-zero defaults for best-effort pods as kube-scheduler uses) wins,
 *      ties by name. WaitForFirstConsumer claims get their PV in the winner's zone and are
 *      bound before the pod is bound.
 *
 * Invariants:
 *  - A batch is idempotent: given an unchanged API it writes nothing (the Unschedulable
 *    condition is written only when its message changes), so the events its own writes cause
 *    end in a quiet batch instead of a loop.
 *  - Usage is updated as pods are bound within a batch, so a batch never overcommits a node.
 *  - PV names (pvc-<claim uid>) and volume handles (hash of the uid) depend only on the claim,
 *    so re-provisioning after a failed claim update finds the PV it already created.
 *  - No state survives a batch except the watches and the timer.
 */
#include "sim/cluster_internal.h"

#include "k8s/k8s.h"
#include "sim/kube_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZONE_LABEL "topology.kubernetes.io/zone"
#define ZONE_LABEL_BETA "failure-domain.beta.kubernetes.io/zone"
#define EBS_ZONE_KEY "topology.ebs.csi.aws.com/zone"
#define EBS_DRIVER "ebs.csi.aws.com"
#define CLASSES "storageclasses.storage.k8s.io"
#define DEFAULT_SCHEDULER "default-scheduler"
/* kube-scheduler scores best-effort containers as if they asked for this much. */
#define NONZERO_CPU_MILLI INT64_C(100)
#define NONZERO_MEM_MILLI (INT64_C(200) * 1024 * 1024 * 1000)
#define MSG_MAX 1024u
#define REASONS_MAX 64u

struct sched {
    struct sim_cluster *c;
    struct sim_kube_watch *w_pods, *w_nodes, *w_pvcs, *w_classes;
    struct core_timer *timer;
};

struct snode {
    struct k8s_node n;
    const char *zone;        /* borrowed from n's labels; NULL when unlabelled */
    int ready;
    struct k8s_res_list used;
    int64_t nz_cpu, nz_mem;  /* non-zero requests, for scoring */
};

struct spod {
    struct k8s_pod p;
    const json_t *obj;       /* borrowed from the batch's list */
};

struct spvc {
    struct k8s_pvc p;
    const json_t *obj;
};

struct ssc {
    struct k8s_storage_class s;
    int is_default;
};

struct batch {
    struct sched *s;
    struct snode *nodes;
    size_t nnodes;
    struct spod *pending;
    size_t npending;
    struct spvc *pvcs;
    size_t npvcs;
    struct k8s_pv *pvs;
    size_t npvs, pvs_cap;
    struct ssc *scs;
    size_t nscs;
    struct core_map *node_idx;  /* name -> index + 1 */
    struct core_map *pvc_idx;   /* ns/name -> index + 1 */
    json_t *node_items, *pod_items, *pvc_items;
    int stop; /* usage could not be recorded: schedule no more in this batch */
};

/* What a pod's claims ask of a node. */
enum claim_kind { CLAIM_BOUND = 1, CLAIM_WFFC };
struct claim_use {
    enum claim_kind kind;
    size_t pvc;                               /* index into b->pvcs */
    const struct k8s_node_selector *affinity; /* PV node affinity or class topologies */
    const struct ssc *sc;                     /* WFFC: the class */
};

struct reason {
    char text[256];
    unsigned count;
};
struct reasons {
    struct reason v[REASONS_MAX];
    size_t n;
};

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */
/* ------------------------------------------------------------------------------------------ */

static void *idx_ptr(size_t i)
{
    return (void *)(uintptr_t)(i + 1);
}

static int idx_get(const struct core_map *m, const char *key, size_t *out)
{
    uintptr_t v = (uintptr_t)core_map_get(m, key, NULL);
    if (!v)
        return 0;
    *out = (size_t)(v - 1);
    return 1;
}

static void now_stamp(const struct sim_cluster *c, char *out, size_t outsz)
{
    core_time_rfc3339(core_clock_wall(core_loop_clock(c->loop)), out, outsz);
}

static const char *node_zone(const struct k8s_node *n)
{
    const char *z = k8s_labels_get(&n->meta.labels, ZONE_LABEL);
    if (!z)
        z = k8s_labels_get(&n->meta.labels, ZONE_LABEL_BETA);
    if (!z)
        z = k8s_labels_get(&n->meta.labels, EBS_ZONE_KEY);
    return z;
}

static void reasons_add(struct reasons *r, const char *text)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].text, text) == 0) {
            r->v[i].count++;
            return;
        }
    if (r->n == REASONS_MAX)
        return; /* bounded: a pathological variety of taints loses its tail */
    core_strlcpy(r->v[r->n].text, text, sizeof r->v[r->n].text);
    r->v[r->n].count = 1;
    r->n++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* kube-scheduler's FitError text: "0/N nodes are available: " then "<count> <reason>" items
 * sorted as strings, joined with ", ", and a final period. */
static void reasons_message(const struct reasons *r, size_t nnodes, char *out, size_t outsz)
{
    char items[REASONS_MAX][272];
    const char *sorted[REASONS_MAX];
    size_t len;

    snprintf(out, outsz, "0/%zu nodes are available", nnodes);
    if (nnodes == 0) {
        len = strlen(out);
        snprintf(out + len, outsz - len, ": no nodes available to schedule pods.");
        return;
    }
    for (size_t i = 0; i < r->n; i++) {
        snprintf(items[i], sizeof items[i], "%u %s", r->v[i].count, r->v[i].text);
        sorted[i] = items[i];
    }
    qsort(sorted, r->n, sizeof sorted[0], cmp_str);
    for (size_t i = 0; i < r->n; i++) {
        len = strlen(out);
        if (len + 1 >= outsz)
            break;
        snprintf(out + len, outsz - len, "%s%s", i == 0 ? ": " : ", ", sorted[i]);
    }
    len = strlen(out);
    if (len + 1 < outsz)
        snprintf(out + len, outsz - len, ".");
}

/* ------------------------------------------------------------------------------------------ */
/* Batch: loading                                                                              */
/* ------------------------------------------------------------------------------------------ */

static void batch_cleanup(struct batch *b)
{
    for (size_t i = 0; i < b->nnodes; i++) {
        k8s_node_cleanup(&b->nodes[i].n);
        k8s_res_cleanup(&b->nodes[i].used);
    }
    core_free(b->nodes);
    for (size_t i = 0; i < b->npending; i++)
        k8s_pod_cleanup(&b->pending[i].p);
    core_free(b->pending);
    for (size_t i = 0; i < b->npvcs; i++)
        k8s_pvc_cleanup(&b->pvcs[i].p);
    core_free(b->pvcs);
    for (size_t i = 0; i < b->npvs; i++)
        k8s_pv_cleanup(&b->pvs[i]);
    core_free(b->pvs);
    for (size_t i = 0; i < b->nscs; i++)
        k8s_storage_class_cleanup(&b->scs[i].s);
    core_free(b->scs);
    core_map_free(b->node_idx);
    core_map_free(b->pvc_idx);
    json_decref(b->node_items);
    json_decref(b->pod_items);
    json_decref(b->pvc_items);
    memset(b, 0, sizeof *b);
}

static int load_nodes(struct batch *b, struct core_err *err)
{
    struct sim_kube *k = b->s->c->kube;
    size_t n;
    int rc = sim_kube_list(k, "nodes", NULL, NULL, NULL, &b->node_items, err);
    if (rc)
        return rc;
    n = json_array_size(b->node_items);
    b->nodes = core_calloc(n ? n : 1, sizeof *b->nodes);
    b->node_idx = core_map_new();
    if (!b->nodes || !b->node_idx)
        return core_err_set(err, CORE_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct snode *sn = &b->nodes[b->nnodes];
        if (k8s_node_decode(json_array_get(b->node_items, i), &sn->n, NULL) != 0)
            continue; /* a node the decoder refuses is one nothing can land on */
        b->nnodes++;
        sn->zone = node_zone(&sn->n);
        sn->ready = k8s_node_ready(&sn->n);
        if (core_map_set(b->node_idx, sn->n.meta.name, idx_ptr(b->nnodes - 1), NULL) != 0)
            return core_err_set(err, CORE_E_NOMEM, "out of memory");
    }
    return 0;
}

static int load_pvcs(struct batch *b, struct core_err *err)
{
    struct sim_kube *k = b->s->c->kube;
    json_t *items = NULL;
    size_t n;
    char key[600];
    int rc = sim_kube_list(k, "persistentvolumeclaims", NULL, NULL, NULL, &b->pvc_items, err);
    if (rc)
        return rc;
    n = json_array_size(b->pvc_items);
    b->pvcs = core_calloc(n ? n : 1, sizeof *b->pvcs);
    b->pvc_idx = core_map_new();
    if (!b->pvcs || !b->pvc_idx)
        return core_err_set(err, CORE_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct spvc *sp = &b->pvcs[b->npvcs];
        sp->obj = json_array_get(b->pvc_items, i);
        if (k8s_pvc_decode(sp->obj, &sp->p, NULL) != 0)
            continue;
        b->npvcs++;
        snprintf(key, sizeof key, "%s/%s", sp->p.meta.ns ? sp->p.meta.ns : "", sp->p.meta.name);
        if (core_map_set(b->pvc_idx, key, idx_ptr(b->npvcs - 1), NULL) != 0)
            return core_err_set(err, CORE_E_NOMEM, "out of memory");
    }

    if ((rc = sim_kube_list(k, "persistentvolumes", NULL, NULL, NULL, &items, err)) != 0)
        return rc;
    n = json_array_size(items);
    b->pvs_cap = n + 8;
    b->pvs = core_calloc(b->pvs_cap, sizeof *b->pvs);
    if (!b->pvs) {
        json_decref(items);
        return core_err_set(err, CORE_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        if (k8s_pv_decode(json_array_get(items, i), &b->pvs[b->npvs], NULL) == 0)
            b->npvs++;
    json_decref(items);

    items = NULL;
    if ((rc = sim_kube_list(k, CLASSES, NULL, NULL, NULL, &items, err)) != 0)
        return rc;
    n = json_array_size(items);
    b->scs = core_calloc(n ? n : 1, sizeof *b->scs);
    if (!b->scs) {
        json_decref(items);
        return core_err_set(err, CORE_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        struct ssc *sc = &b->scs[b->nscs];
        const char *def;
        if (k8s_storage_class_decode(json_array_get(items, i), &sc->s, NULL) != 0)
            continue;
        b->nscs++;
        def = k8s_labels_get(&sc->s.meta.annotations,
                             "storageclass.kubernetes.io/is-default-class");
        sc->is_default = def && strcmp(def, "true") == 0;
    }
    json_decref(items);
    return 0;
}

static int cmp_pending(const void *a, const void *b)
{
    const struct spod *x = a, *y = b;
    int r;
    if (x->p.meta.creation_timestamp != y->p.meta.creation_timestamp)
        return x->p.meta.creation_timestamp < y->p.meta.creation_timestamp ? -1 : 1;
    r = strcmp(x->p.meta.ns ? x->p.meta.ns : "", y->p.meta.ns ? y->p.meta.ns : "");
    return r ? r : strcmp(x->p.meta.name, y->p.meta.name);
}

static int add_usage(struct snode *sn, const struct k8s_pod *p, struct core_err *err)
{
    int64_t cpu = k8s_res_get(&p->spec.requests, "cpu");
    int64_t mem = k8s_res_get(&p->spec.requests, "memory");
    if (k8s_res_add(&sn->used, &p->spec.requests) != 0)
        return core_err_set(err, CORE_E_NOMEM, "out of memory for node usage");
    sn->nz_cpu += cpu > 0 ? cpu : NONZERO_CPU_MILLI;
    sn->nz_mem += mem > 0 ? mem : NONZERO_MEM_MILLI;
    return 0;
}

/* Pods: usage of bound ones, GC of orphans, the pending list. */
static int load_pods(struct batch *b, struct core_err *err)
{
    struct sim_cluster *c = b->s->c;
    size_t n;
    int rc = sim_kube_list(c->kube, "pods", NULL, NULL, NULL, &b->pod_items, err);
    if (rc)
        return rc;
    n = json_array_size(b->pod_items);
    b->pending = core_calloc(n ? n : 1, sizeof *b->pending);
    if (!b->pending)
        return core_err_set(err, CORE_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *obj = json_array_get(b->pod_items, i);
        struct k8s_pod p;
        size_t ni;
        int terminal;

        if (k8s_pod_decode(obj, &p, NULL) != 0)
            continue;
        terminal = p.phase == K8S_POD_SUCCEEDED || p.phase == K8S_POD_FAILED;
        if (p.spec.node_name && p.spec.node_name[0]) {
            if (!idx_get(b->node_idx, p.spec.node_name, &ni)) {
                /* A pod already terminating is counted once, when it was deleted. */
                if (!p.meta.has_deletion_timestamp &&
                    sim_kube_delete(c->kube, "pods", p.meta.ns, p.meta.name, NULL) == 0)
                    c->stats.pods_collected++;
            } else if (!terminal && (rc = add_usage(&b->nodes[ni], &p, err)) != 0) {
                k8s_pod_cleanup(&p);
                return rc;
            }
            k8s_pod_cleanup(&p);
            continue;
        }
        if (terminal || p.meta.has_deletion_timestamp || !p.spec.scheduler_name ||
            strcmp(p.spec.scheduler_name, DEFAULT_SCHEDULER) != 0) {
            k8s_pod_cleanup(&p);
            continue;
        }
        b->pending[b->npending].p = p;
        b->pending[b->npending].obj = obj;
        b->npending++;
    }
    qsort(b->pending, b->npending, sizeof *b->pending, cmp_pending);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Volumes                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static const struct ssc *class_of(const struct batch *b, const struct k8s_pvc *p)
{
    if (!p->storage_class) {
        for (size_t i = 0; i < b->nscs; i++)
            if (b->scs[i].is_default)
                return &b->scs[i];
        return NULL;
    }
    for (size_t i = 0; i < b->nscs; i++)
        if (strcmp(b->scs[i].s.meta.name, p->storage_class) == 0)
            return &b->scs[i];
    return NULL;
}

static const struct k8s_pv *pv_find(const struct batch *b, const char *name)
{
    for (size_t i = 0; i < b->npvs; i++)
        if (strcmp(b->pvs[i].meta.name, name) == 0)
            return &b->pvs[i];
    return NULL;
}

static int pvc_unbound(const struct k8s_pvc *p)
{
    return !p->volume_name || !p->volume_name[0];
}

static json_t *zone_term(const char *key, const char *zone)
{
    return json_pack("{s:[{s:s, s:s, s:[s]}]}", "matchExpressions", "key", key, "operator",
                     "In", "values", zone);
}

/* Creates the PV for claim sp in zone (selected_node for WaitForFirstConsumer, else NULL),
 * binds the claim, and records both in the batch. */
static int provision(struct batch *b, struct spvc *sp, const struct ssc *sc, const char *zone,
                     const char *selected_node, struct core_err *err)
{
    struct sim_cluster *c = b->s->c;
    const json_t *spec = json_object_get(sp->obj, "spec");
    const char *size = json_string_value(
        json_object_get(json_object_get(json_object_get(spec, "resources"), "requests"),
                        "storage"));
    const char *reclaim = "Delete";
    json_t *modes = json_object_get(spec, "accessModes");
    json_t *pv = NULL, *created = NULL, *patch = NULL;
    char name[300], handle[40], ts[40];
    uint64_t h1, h2;
    int rc;

    if (!size)
        size = "1Gi";
    modes = json_is_array(modes) && json_array_size(modes) ? json_incref(modes)
                                                           : json_pack("[s]", "ReadWriteOnce");
    if (!modes)
        return core_err_set(err, CORE_E_NOMEM, "out of memory");
    if (!sp->p.meta.uid) {
        json_decref(modes);
        return core_err_set(err, CORE_E_STATE, "claim %s has no uid", sp->p.meta.name);
    }
    snprintf(name, sizeof name, "pvc-%s", sp->p.meta.uid);
    h1 = sim_hash(sp->p.meta.uid, 0x65627376ull);
    h2 = sim_hash(sp->p.meta.uid, 0x766f6c31ull);
    snprintf(handle, sizeof handle, "vol-%016" PRIx64 "%x", h1, (unsigned)(h2 & 0xf));
    {
        const char *rp = NULL;
        json_t *sco = NULL;
        if (sim_kube_get(c->kube, CLASSES, NULL, sc->s.meta.name, &sco, NULL) == 0)
            rp = json_string_value(json_object_get(sco, "reclaimPolicy"));
        if (rp && strcmp(rp, "Retain") == 0)
            reclaim = "Retain";
        json_decref(sco);
    }
    now_stamp(c, ts, sizeof ts);

    /* Two ORed terms: nodes labelled by the EBS CSI node plugin and nodes with only the
     * well-known zone label both satisfy it. */
    pv = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:{s:s}, s:O, s:s, s:s, s:s, "
                   "s:{s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:{s:s}}, "
                   "s:{s:{s:[o, o]}}}, s:{s:s}}",
                   "apiVersion", "v1", "kind", "PersistentVolume",
                   "metadata", "name", name, "annotations", "pv.kubernetes.io/provisioned-by",
                   EBS_DRIVER,
                   "spec", "capacity", "storage", size,
                   "accessModes", modes,
                   "persistentVolumeReclaimPolicy", reclaim,
                   "storageClassName", sc->s.meta.name, "volumeMode", "Filesystem",
                   "claimRef", "apiVersion", "v1", "kind", "PersistentVolumeClaim", "namespace",
                   sp->p.meta.ns ? sp->p.meta.ns : "default", "name", sp->p.meta.name, "uid",
                   sp->p.meta.uid,
                   "csi", "driver", EBS_DRIVER, "volumeHandle", handle, "volumeAttributes",
                   "storage.kubernetes.io/csiProvisionerIdentity", "ebs.csi.aws.com-sim",
                   "nodeAffinity", "required", "nodeSelectorTerms",
                   zone_term(EBS_ZONE_KEY, zone), zone_term(ZONE_LABEL, zone),
                   "status", "phase", "Bound");
    if (!pv) {
        rc = core_err_set(err, CORE_E_NOMEM, "out of memory for a PersistentVolume");
        goto done;
    }
    rc = sim_kube_create(c->kube, "persistentvolumes", NULL, pv, &created, err);
    if (rc == 0)
        c->stats.volumes_provisioned++;
    else if (rc == CORE_E_CONFLICT) /* made by a batch whose claim update failed */
        rc = sim_kube_get(c->kube, "persistentvolumes", NULL, name, &created, err);
    if (rc)
        goto done;
    if (!pv_find(b, name)) {
        if (b->npvs == b->pvs_cap) {
            size_t cap = b->pvs_cap * 2 + 8;
            struct k8s_pv *nv = core_realloc(b->pvs, cap * sizeof *nv);
            if (!nv) {
                rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
                goto done;
            }
            b->pvs = nv;
            b->pvs_cap = cap;
        }
        if ((rc = k8s_pv_decode(created, &b->pvs[b->npvs], err)) != 0)
            goto done;
        b->npvs++;
    }

    /* The claim: spec.volumeName (main resource), then phase Bound (status). */
    patch = json_pack("{s:{s:{s:s, s:s}}, s:{s:s}}", "metadata", "annotations",
                      "pv.kubernetes.io/bind-completed", "yes",
                      "pv.kubernetes.io/bound-by-controller", "yes", "spec", "volumeName",
                      name);
    if (patch && selected_node &&
        json_object_set_new(json_object_get(json_object_get(patch, "metadata"), "annotations"),
                            "volume.kubernetes.io/selected-node",
                            json_string(selected_node)) != 0) {
        json_decref(patch);
        patch = NULL;
    }
    if (!patch) {
        rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
        goto done;
    }
    rc = sim_kube_patch(c->kube, "persistentvolumeclaims", sp->p.meta.ns, sp->p.meta.name, patch,
                        0, NULL, err);
    json_decref(patch);
    patch = NULL;
    if (rc)
        goto done;
    patch = json_pack("{s:{s:s, s:O, s:{s:s}}}", "status", "phase", "Bound", "accessModes",
                      modes, "capacity", "storage", size);
    if (!patch) {
        rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
        goto done;
    }
    rc = sim_kube_patch(c->kube, "persistentvolumeclaims", sp->p.meta.ns, sp->p.meta.name, patch,
                        1, NULL, err);
    if (rc)
        goto done;
    {
        char *vn = core_strdup(name);
        if (!vn) {
            rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
            goto done;
        }
        core_free(sp->p.volume_name);
        sp->p.volume_name = vn;
        sp->p.phase = K8S_PVC_BOUND;
    }
done:
    json_decref(modes);
    json_decref(patch);
    json_decref(created);
    json_decref(pv);
    return rc;
}

/* Immediate classes: provisioned at once, in the zone with the most usable nodes the class
 * allows (ties by zone name); with no such node, the class's first allowed zone or the
 * account's first zone. */
static void provision_immediate(struct batch *b)
{
    struct sim_cluster *c = b->s->c;
    for (size_t i = 0; i < b->npvcs; i++) {
        struct spvc *sp = &b->pvcs[i];
        const struct ssc *sc;
        const char *best = NULL;
        size_t best_n = 0;

        if (!pvc_unbound(&sp->p) || sp->p.meta.has_deletion_timestamp)
            continue;
        sc = class_of(b, &sp->p);
        if (!sc || sc->s.binding_mode != K8S_BIND_IMMEDIATE)
            continue;
        for (size_t a = 0; a < b->nnodes; a++) {
            const struct snode *na = &b->nodes[a];
            size_t cnt = 0;
            if (!na->zone || !na->ready)
                continue;
            if (sc->s.allowed_topologies.nterms &&
                !k8s_node_selector_matches(&sc->s.allowed_topologies, &na->n.meta.labels,
                                           na->n.meta.name))
                continue;
            for (size_t z = 0; z < b->nnodes; z++)
                if (b->nodes[z].ready && b->nodes[z].zone &&
                    strcmp(b->nodes[z].zone, na->zone) == 0)
                    cnt++;
            if (cnt > best_n || (cnt == best_n && best && strcmp(na->zone, best) < 0)) {
                best = na->zone;
                best_n = cnt;
            }
        }
        if (!best && sc->s.allowed_topologies.nterms &&
            sc->s.allowed_topologies.terms[0].nexprs &&
            sc->s.allowed_topologies.terms[0].exprs[0].values.n)
            best = sc->s.allowed_topologies.terms[0].exprs[0].values.v[0];
        if (!best && c->aws->nzones)
            best = c->aws->zones[0].name;
        /* A failure is left for the next batch: re-arming here could spin forever. */
        if (best && provision(b, sp, sc, best, NULL, NULL) != 0)
            continue;
    }
}

/* Resolves the pod's claims. 0 with *nuse filled when every claim lets scheduling go on; 1
 * with msg set when the pod cannot be scheduled anywhere for a volume reason; 2 when it waits
 * (an Immediate claim not provisioned yet) without a message. */
static int resolve_claims(const struct batch *b, const struct spod *sp, struct claim_use *use,
                          size_t *nuse, char *msg, size_t msgsz)
{
    const char *ns = sp->p.meta.ns ? sp->p.meta.ns : "default";
    char key[600];
    size_t n = 0, pi;

    for (size_t i = 0; i < sp->p.spec.claims.n; i++) {
        const char *cn = sp->p.spec.claims.v[i];
        const struct spvc *pvc;
        snprintf(key, sizeof key, "%s/%s", ns, cn);
        if (!idx_get(b->pvc_idx, key, &pi)) {
            snprintf(msg, msgsz, "persistentvolumeclaim \"%s\" not found", cn);
            return 1;
        }
        pvc = &b->pvcs[pi];
        if (pvc->p.meta.has_deletion_timestamp) {
            snprintf(msg, msgsz, "persistentvolumeclaim \"%s\" is being deleted", cn);
            return 1;
        }
        if (!pvc_unbound(&pvc->p)) {
            const struct k8s_pv *pv = pv_find(b, pvc->p.volume_name);
            if (!pv) {
                snprintf(msg, msgsz, "persistentvolume \"%s\" not found", pvc->p.volume_name);
                return 1;
            }
            use[n].kind = CLAIM_BOUND;
            use[n].pvc = pi;
            use[n].affinity = pv->node_affinity.nterms ? &pv->node_affinity : NULL;
            use[n].sc = NULL;
            n++;
            continue;
        }
        {
            const struct ssc *sc = class_of(b, &pvc->p);
            if (!sc) {
                if (pvc->p.storage_class && pvc->p.storage_class[0])
                    snprintf(msg, msgsz, "storageclass.storage.k8s.io \"%s\" not found",
                             pvc->p.storage_class);
                else
                    snprintf(msg, msgsz, "pod has unbound immediate PersistentVolumeClaims");
                return 1;
            }
            if (sc->s.binding_mode != K8S_BIND_WAIT_FOR_FIRST_CONSUMER)
                return 2;
            use[n].kind = CLAIM_WFFC;
            use[n].pvc = pi;
            use[n].affinity = sc->s.allowed_topologies.nterms ? &sc->s.allowed_topologies : NULL;
            use[n].sc = sc;
            n++;
        }
    }
    *nuse = n;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Filters and score                                                                           */
/* ------------------------------------------------------------------------------------------ */

static int pod_selects_node(const struct k8s_pod *p, const struct snode *sn)
{
    for (size_t i = 0; i < p->spec.node_selector.n; i++) {
        const char *v = k8s_labels_get(&sn->n.meta.labels, p->spec.node_selector.v[i].key);
        if (!v || strcmp(v, p->spec.node_selector.v[i].value) != 0)
            return 0;
    }
    if (p->spec.affinity.node_required.nterms &&
        !k8s_node_selector_matches(&p->spec.affinity.node_required, &sn->n.meta.labels,
                                   sn->n.meta.name))
        return 0;
    return 1;
}

/* Returns 1 when the node passes; otherwise adds the node's reasons. */
static int node_fits(const struct spod *sp, const struct snode *sn, const struct claim_use *use,
                     size_t nuse, struct reasons *r)
{
    char text[256];
    int fits = 1;

    /* A Node being deleted (a finalizer holds it) takes no new pods, whatever they tolerate. */
    if (sn->n.meta.has_deletion_timestamp) {
        reasons_add(r, "node(s) were being deleted");
        return 0;
    }
    /* Cordoned and NotReady nodes carry these taints in a real cluster (the node lifecycle
     * controller adds them), so a pod that tolerates them may still land, as DaemonSet pods
     * do. */
    if (sn->n.unschedulable) {
        struct k8s_taint t = {(char *)(uintptr_t)"node.kubernetes.io/unschedulable", NULL,
                              K8S_EFFECT_NO_SCHEDULE};
        if (!k8s_tolerates(sp->p.spec.tolerations, sp->p.spec.ntolerations, &t)) {
            reasons_add(r, "node(s) were unschedulable");
            return 0;
        }
    }
    for (size_t i = 0; i < sn->n.ntaints; i++) {
        const struct k8s_taint *t = &sn->n.taints[i];
        if (t->effect != K8S_EFFECT_NO_SCHEDULE && t->effect != K8S_EFFECT_NO_EXECUTE)
            continue;
        if (k8s_tolerates(sp->p.spec.tolerations, sp->p.spec.ntolerations, t))
            continue;
        snprintf(text, sizeof text, "node(s) had untolerated taint {%s: %s}", t->key,
                 t->value ? t->value : "");
        reasons_add(r, text);
        return 0;
    }
    if (!sn->ready) {
        /* The node lifecycle controller would have tainted it; judge and say so the same way. */
        struct k8s_taint t = {(char *)(uintptr_t)"node.kubernetes.io/not-ready", NULL,
                              K8S_EFFECT_NO_SCHEDULE};
        if (!k8s_tolerates(sp->p.spec.tolerations, sp->p.spec.ntolerations, &t)) {
            reasons_add(r, "node(s) had untolerated taint {node.kubernetes.io/not-ready: }");
            return 0;
        }
    }
    if (!pod_selects_node(&sp->p, sn)) {
        reasons_add(r, "node(s) didn't match Pod's node affinity/selector");
        return 0;
    }
    for (size_t i = 0; i < sp->p.spec.requests.n; i++) {
        const struct k8s_res_qty *q = &sp->p.spec.requests.v[i];
        int64_t alloc, used;
        if (q->milli <= 0)
            continue;
        alloc = k8s_res_get(&sn->n.allocatable, q->name);
        used = k8s_res_get(&sn->used, q->name);
        if (used > alloc || q->milli > alloc - used) {
            if (strcmp(q->name, K8S_RES_PODS) == 0)
                core_strlcpy(text, "Too many pods", sizeof text);
            else
                snprintf(text, sizeof text, "Insufficient %s", q->name);
            reasons_add(r, text);
            fits = 0;
        }
    }
    if (!fits)
        return 0;
    for (size_t i = 0; i < nuse; i++) {
        if (use[i].kind == CLAIM_BOUND && use[i].affinity &&
            !k8s_node_selector_matches(use[i].affinity, &sn->n.meta.labels, sn->n.meta.name)) {
            reasons_add(r, "node(s) had volume node affinity conflict");
            return 0;
        }
        if (use[i].kind == CLAIM_WFFC &&
            (!sn->zone || (use[i].affinity && !k8s_node_selector_matches(
                                                  use[i].affinity, &sn->n.meta.labels,
                                                  sn->n.meta.name)))) {
            reasons_add(r, "node(s) didn't find available persistent volumes to bind");
            return 0;
        }
    }
    return 1;
}

/* Least-requested score in [0, 1]: the mean free fraction of cpu and memory after placing. */
static double node_score(const struct spod *sp, const struct snode *sn)
{
    int64_t cpu = k8s_res_get(&sp->p.spec.requests, "cpu");
    int64_t mem = k8s_res_get(&sp->p.spec.requests, "memory");
    int64_t acpu = k8s_res_get(&sn->n.allocatable, "cpu");
    int64_t amem = k8s_res_get(&sn->n.allocatable, "memory");
    double s = 0;
    cpu = (cpu > 0 ? cpu : NONZERO_CPU_MILLI) + sn->nz_cpu;
    mem = (mem > 0 ? mem : NONZERO_MEM_MILLI) + sn->nz_mem;
    if (acpu > 0 && cpu < acpu)
        s += (double)(acpu - cpu) / (double)acpu;
    if (amem > 0 && mem < amem)
        s += (double)(amem - mem) / (double)amem;
    return s / 2.0;
}

/* ------------------------------------------------------------------------------------------ */
/* Writing the outcome                                                                         */
/* ------------------------------------------------------------------------------------------ */

/* PodScheduled=False/Unschedulable with msg, unless the pod already says exactly that. */
static void mark_unschedulable(struct batch *b, const struct spod *sp, const char *msg)
{
    struct sim_cluster *c = b->s->c;
    const struct k8s_condition *cur =
        k8s_condition_find(sp->p.conditions, sp->p.nconditions, "PodScheduled");
    const json_t *status = json_object_get(sp->obj, "status");
    const json_t *conds = json_object_get(status, "conditions");
    json_t *nconds, *patch, *cond;
    char ts[40];
    size_t i;
    json_t *v;

    if (cur && cur->status == K8S_COND_FALSE && cur->reason &&
        strcmp(cur->reason, "Unschedulable") == 0 && cur->message &&
        strcmp(cur->message, msg) == 0)
        return;
    now_stamp(c, ts, sizeof ts);
    nconds = json_array();
    if (!nconds)
        return;
    json_array_foreach(conds, i, v) {
        const char *t = json_string_value(json_object_get(v, "type"));
        if (t && strcmp(t, "PodScheduled") == 0)
            continue;
        if (json_array_append(nconds, v) != 0) {
            json_decref(nconds);
            return;
        }
    }
    cond = json_pack("{s:s, s:s, s:s, s:s, s:n, s:s}", "type", "PodScheduled", "status",
                     "False", "reason", "Unschedulable", "message", msg, "lastProbeTime",
                     "lastTransitionTime", ts);
    if (!cond || json_array_append_new(nconds, cond) != 0) {
        json_decref(nconds);
        return;
    }
    patch = json_pack("{s:{s:o}}", "status", "conditions", nconds);
    if (!patch)
        return;
    if (!json_string_value(json_object_get(status, "phase")))
        (void)json_object_set_new(json_object_get(patch, "status"), "phase",
                                  json_string("Pending"));
    if (sim_kube_patch(c->kube, "pods", sp->p.meta.ns, sp->p.meta.name, patch, 1, NULL, NULL) ==
        0)
        c->stats.pods_unschedulable++;
    json_decref(patch);
}

static void schedule_one(struct batch *b, struct spod *sp)
{
    struct sim_cluster *c = b->s->c;
    struct claim_use *use = NULL;
    struct reasons *r = NULL;
    size_t nuse = 0, best = SIZE_MAX;
    double best_score = -1;
    char msg[MSG_MAX], pre[512];
    int rc;

    if (sp->p.spec.claims.n) {
        use = core_calloc(sp->p.spec.claims.n, sizeof *use);
        if (!use)
            return;
    }
    rc = resolve_claims(b, sp, use, &nuse, pre, sizeof pre);
    if (rc == 2)
        goto done;
    if (rc == 1) {
        snprintf(msg, sizeof msg, "0/%zu nodes are available: %s.", b->nnodes, pre);
        mark_unschedulable(b, sp, msg);
        goto done;
    }
    r = core_calloc(1, sizeof *r);
    if (!r)
        goto done;
    for (size_t i = 0; i < b->nnodes; i++) {
        double s;
        if (!node_fits(sp, &b->nodes[i], use, nuse, r))
            continue;
        s = node_score(sp, &b->nodes[i]);
        if (best == SIZE_MAX || s > best_score ||
            (s == best_score && strcmp(b->nodes[i].n.meta.name, b->nodes[best].n.meta.name) < 0)) {
            best = i;
            best_score = s;
        }
    }
    if (best == SIZE_MAX) {
        reasons_message(r, b->nnodes, msg, sizeof msg);
        mark_unschedulable(b, sp, msg);
        goto done;
    }
    for (size_t i = 0; i < nuse; i++) {
        if (use[i].kind != CLAIM_WFFC || !pvc_unbound(&b->pvcs[use[i].pvc].p))
            continue; /* two volumes of the pod naming one claim: provisioned once */
        if (provision(b, &b->pvcs[use[i].pvc], use[i].sc, b->nodes[best].zone,
                      b->nodes[best].n.meta.name, NULL) != 0)
            goto done; /* retried by the next batch */
    }
    if (sim_kube_store_bind(c->kube, sp->p.meta.ns, sp->p.meta.name,
                            b->nodes[best].n.meta.name, NULL) != 0)
        goto done;
    c->stats.pods_bound++;
    /* Without the usage, later pods could overcommit the node: end the batch instead (the
     * bind's own event kicks the next one, which recounts from the API). */
    if (add_usage(&b->nodes[best], &sp->p, NULL) != 0)
        b->stop = 1;
done:
    core_free(r);
    core_free(use);
}

static void run_batch(struct sched *s)
{
    struct batch b;
    memset(&b, 0, sizeof b);
    b.s = s;
    if (load_nodes(&b, NULL) != 0 || load_pvcs(&b, NULL) != 0 || load_pods(&b, NULL) != 0) {
        batch_cleanup(&b); /* out of memory: the next change kicks another batch */
        return;
    }
    provision_immediate(&b);
    for (size_t i = 0; i < b.npending && !b.stop; i++)
        schedule_one(&b, &b.pending[i]);
    batch_cleanup(&b);
}

/* ------------------------------------------------------------------------------------------ */
/* Watches, timer, hooks                                                                       */
/* ------------------------------------------------------------------------------------------ */

static void on_timer(void *ud)
{
    struct sched *s = ud;
    s->timer = NULL;
    run_batch(s);
}

static void kick(struct sched *s)
{
    if (s->timer)
        return;
    s->timer = core_loop_timer_add(s->c->loop, s->c->opts.schedule_delay, on_timer, s);
}

/* Status updates of bound, running pods change nothing the scheduler looks at; everything
 * else (a pending pod, a deletion, a pod finishing, a bound pod appearing) may. */
static void on_pod(void *ud, const char *type, const json_t *obj)
{
    struct sched *s = ud;
    const char *node = json_string_value(json_object_get(json_object_get(obj, "spec"),
                                                         "nodeName"));
    const char *phase = json_string_value(json_object_get(json_object_get(obj, "status"),
                                                          "phase"));
    if (strcmp(type, "MODIFIED") == 0 && node && node[0] &&
        !(phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0)))
        return;
    kick(s);
}

static void on_other(void *ud, const char *type, const json_t *obj)
{
    (void)type;
    (void)obj;
    kick(ud);
}

int sim_cluster_sched_init(struct sim_cluster *c, struct core_err *err)
{
    struct sched *s;
    int rc;

    if (c->opts.no_scheduler)
        return 0;
    s = core_calloc(1, sizeof *s);
    if (!s)
        return core_err_set(err, CORE_E_NOMEM, "out of memory for the scheduler");
    s->c = c;
    c->sched = s;
    if ((rc = sim_kube_watch(c->kube, "pods", on_pod, s, &s->w_pods, err)) != 0 ||
        (rc = sim_kube_watch(c->kube, "nodes", on_other, s, &s->w_nodes, err)) != 0 ||
        (rc = sim_kube_watch(c->kube, "persistentvolumeclaims", on_other, s, &s->w_pvcs,
                             err)) != 0 ||
        (rc = sim_kube_watch(c->kube, CLASSES, on_other, s, &s->w_classes, err)) != 0)
        return rc;
    kick(s); /* pods that were pending before the cluster existed */
    if (!s->timer)
        return core_err_set(err, CORE_E_NOMEM, "out of memory for the scheduler's timer");
    return 0;
}

void sim_cluster_sched_cleanup(struct sim_cluster *c)
{
    struct sched *s = c ? c->sched : NULL;
    if (!s)
        return;
    sim_kube_unwatch(s->w_pods);
    sim_kube_unwatch(s->w_nodes);
    sim_kube_unwatch(s->w_pvcs);
    sim_kube_unwatch(s->w_classes);
    if (s->timer)
        core_loop_timer_cancel(c->loop, s->timer);
    core_free(s);
    c->sched = NULL;
}

void sim_cluster_sched_kick(struct sim_cluster *c)
{
    if (c && c->sched)
        kick(c->sched);
}
