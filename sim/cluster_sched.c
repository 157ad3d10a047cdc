/*
 * sim/cluster_sched.c — the simulated cluster's scheduler, EBS-like volume provisioner and pod
 * garbage collector, working on the in-process kube API only.
 *
 * How it runs: in-process watches on pods, nodes, claims and storage classes (and
 * sim_cluster_sched_kick from the kubelets) arm one batch timer, opts.schedule_delay after the
 * first change. Pods and Nodes are cached, decoded, from an initial list plus the pod and node
 * watches (events older than the cached resourceVersion are ignored), as kube-scheduler's
 * informer cache does: at thousands of pods a batch that listed and decoded everything afresh
 * cost seconds. The cache keeps the nodes in a dense array (allocatable as integers, a "plain"
 * flag for nodes only selectors, resources and volumes can filter), per node name the summed
 * requests of its bound non-terminal pods, and the pending pods in scheduling order (kept
 * across batches: newcomers are sorted and appended or merged, leavers leave holes). Claims,
 * volumes and classes (few) are listed per batch. A batch:
 *   1. takes the cached Nodes; usable = Ready condition True and not unschedulable;
 *   2. deletes pods bound to a Node that does not exist (pod GC; looked for only after a Node
 *      went away or a pod bound to an unknown Node appeared); takes the pending pods: unbound
 *      pods of the default scheduler that are not being deleted and not terminal; a bound,
 *      non-terminal pod's effective request (k8s_pod_spec.requests: containers, init
 *      containers, overhead, "pods" = 1) counts on its node;
 *   3. provisions every unbound claim of an Immediate class (zone with most usable nodes);
 *   4. schedules the pending pods in creation order (then namespace/name): claims first
 *      (missing, being deleted, unbound without a WaitForFirstConsumer class: the pod waits or
 *      is unschedulable before any node is looked at), then per node, in kube-scheduler's
 *      filter order, the first failing check: unschedulable, untolerated NoSchedule/NoExecute
 *      taint (a NotReady node counts as tainted not-ready), nodeSelector + required node
 *      affinity, resources, volume topology; the node with the most free cpu and memory
 *      (least-requested, non-zero defaults for best-effort pods as kube-scheduler uses) wins,
 *      ties by name. WaitForFirstConsumer claims get their PV in the winner's zone and are
 *      bound before the pod is bound. A bound pod is "assumed" on its node at once (its usage
 *      counts) until its own event confirms it.
 *
 * Equivalent pods (same spec, no claims) form a class. Within a batch free capacity only
 * shrinks, so a class that fits nowhere stays so for the rest of the batch, and a class's later
 * members need look only at the nodes where an earlier one fit (a full scan again only for the
 * message). Members that follow one which fit nowhere, with nothing bound in between, get its
 * message without another look at every node. And a class that fits nowhere with the reason
 * set it last published is passed over without visiting its members, except those on its
 * unsynced list (see struct pclass): a batch costs one pass over the order, a scan per bound
 * pod and per class, and writes only where something changed.
 *
 * The Unschedulable condition follows kube-scheduler's per-pod backoff: a pod whose condition
 * already says Unschedulable gets a new message only once its backoff has passed (1 s after
 * the first write, doubling up to 10 s), since a real scheduler retries (and rewrites) a pod no
 * sooner. A message that would differ only in its counts (same reasons: the "shape") is kept
 * until REFRESH (5 min) after the pod's last write: rewriting 20,000 pods at every Node change
 * was most of a large run. Binding is not delayed: every class and every pod without one is
 * tried in every batch.
 *
 * Invariants:
 *  - A batch is idempotent: given an unchanged API it writes nothing (the Unschedulable
 *    condition is written only when its message changes), so the events its own writes cause
 *    end in a quiet batch instead of a loop.
 *  - A pod's usage is counted on at most one node name (the one it was counted on is kept
 *    with the requests counted), so every change of the pod first takes back what it added.
 *  - Usage is updated as pods are bound within a batch, so a batch never overcommits a node.
 *  - PV names (pvc-<claim uid>) and volume handles (hash of the uid) depend only on the claim,
 *    so re-provisioning after a failed claim update finds the PV it already created.
 *  - A pending pod is in s->order (order_pos, with its class copied beside it) or in s->fresh
 *    (fresh_pos), at one place. A pod that stops pending leaves s->order at once (a hole);
 *    s->fresh and cls->unsynced (us_pos) are filtered when used; spod_free clears all three,
 *    so nothing points at a freed pod.
 *  - A member of a class that is pending and not on the class's unsynced list has an
 *    Unschedulable condition of the class's published shape (its own events re-check it; a
 *    batch cut short makes every class look at all its members next time).
 *  - Nothing but the caches, the classes' memo and lists, the watches and the timer survives a
 *    batch; the batch works on the cache itself (events are delivered from a loop timer, never
 *    during a batch), so nodes and the order do not move under it.
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
/* kube-scheduler's default pod backoff: initial 1 s, doubling, at most 10 s. */
#define BACKOFF_INITIAL CORE_NS_PER_S
#define BACKOFF_MAX (10 * CORE_NS_PER_S)
/* A message whose reasons are unchanged (only the counts moved) is refreshed no more often:
 * kube-scheduler's podMaxInUnschedulablePodsDuration, the longest an unschedulable pod waits
 * for its next attempt. */
#define REFRESH (5 * 60 * CORE_NS_PER_S)

struct sched {
    struct sim_cluster *c;
    struct sim_kube_watch *w_pods, *w_nodes, *w_pvcs, *w_classes;
    struct core_timer *timer;
    struct core_map *pods;    /* ns/name -> struct spod * (owned) */
    struct core_map *pending; /* ns/name -> struct spod * (borrowed from pods) */
    struct core_map *nodes;   /* name -> struct snode * (owned) */
    struct snode **nv;        /* the same nodes, dense (snode.idx), in no particular order */
    size_t nnv, nv_cap;
    int nodes_unused;         /* a node's usage record could not be made at its event */
    struct core_map *usage;   /* node name -> struct nuse * (owned; also for absent nodes) */
    struct core_map *classes; /* spec signature -> struct pclass * (owned) */
    struct oent *order;       /* pending pods in scheduling order (sp NULL = a hole) */
    size_t norder, order_cap, nholes;
    struct spod **fresh;      /* pods that became pending since the last batch, unsorted */
    size_t nfresh, fresh_cap;
    uint64_t batches;         /* batches run so far */
    int gc;                   /* a pod may be bound to a Node that does not exist */
};

/* One place in the scheduling order; the class is copied here so that a batch passes over
 * the members of a class that fits nowhere without touching the pods themselves. */
struct oent {
    struct spod *sp;
    struct pclass *cls;
};

/* Pods with one spec (and no claims) share it: what the batch learnt about one holds for
 * all. Within a batch free capacity only shrinks (pods are bound, nodes do not change), so a
 * class that fits nowhere stays so for the rest of the batch.
 *
 * The members' Unschedulable condition is kept in step per class: the class publishes the
 * reason set ("shape") of its message; a member is in sync when its condition is
 * Unschedulable with that shape. Members that may not be (new, changed by an event, held
 * back by their backoff) are on the unsynced list; when the class fits nowhere and its shape
 * and refresh are unchanged, only those are looked at; otherwise ("full") every member. */
struct pclass {
    uint64_t memo_batch;     /* the batch whose memo this is (+1; 0 = none) */
    uint64_t memo_gen;       /* the batch's gen when a member fit nowhere */
    char msg[MSG_MAX];
    uint64_t msg_shape;      /* msg's reason set */
    uint64_t dead_batch;     /* the batch (+1) in which a member fit nowhere; 0 = none */
    int full;                /* in dead_batch: every remaining member is looked at */
    uint64_t shape;          /* the published reason set; 0 = none yet */
    core_ns pub_at;          /* when the members were last all looked at */
    struct spod **unsynced;  /* members that may be out of sync (NULL = left since) */
    size_t nunsynced, unsynced_cap;
    uint64_t fit_batch;      /* the batch (+1) whose scan filled fit; 0 = none */
    size_t *fit;             /* indexes into the batch's nodes where a member fit */
    size_t nfit, fit_cap;
};

/* What the pods bound to one node name request. */
struct nuse {
    struct k8s_res_list used;
    int64_t cpu, mem, pods;  /* used's cpu, memory and pods, for the hot loop */
    int64_t nz_cpu, nz_mem;  /* non-zero requests, for scoring */
};

/* A cached node, decoded once per event; batches work on the cache itself (events are
 * delivered from a loop timer, never during a batch). */
struct snode {
    struct k8s_node n;
    const char *zone;        /* borrowed from n's labels; NULL when unlabelled */
    int ready;
    int plain;               /* not being deleted, not cordoned, Ready, no NoSchedule or
                              * NoExecute taint: only selectors, resources, volumes filter */
    int64_t a_cpu, a_mem, a_pods; /* allocatable cpu, memory, pods (from n) */
    struct nuse *u;          /* the node's usage (NULL only when out of memory) */
    int64_t rv;
    size_t idx;              /* position in s->nv */
};

/* A cached pod. */
struct spod {
    struct k8s_pod p;
    const json_t *obj;       /* the stored object (immutable; a reference is held) */
    int64_t rv;
    char *counted_on;        /* the node name its requests count on; NULL = none */
    struct k8s_res_list counted; /* the requests counted there */
    int assumed;             /* bound by a batch; its own event has not arrived yet */
    char *sig;               /* its spec, for equivalence (no claims); NULL = none */
    int sig_done;
    struct pclass *cls;      /* its class (owned by the sched); NULL = none */
    int is_pending;          /* in s->pending */
    size_t order_pos;        /* index + 1 in s->order; 0 = not there */
    size_t fresh_pos;        /* index + 1 in s->fresh; 0 = not there */
    size_t us_pos;           /* index + 1 in cls->unsynced; 0 = not there */
    core_ns cond_at;         /* when the Unschedulable condition was last written */
    unsigned cond_writes;    /* how many times in a row */
    uint64_t cur_shape;      /* reason set of its Unschedulable condition; 0 = none */
    int64_t r_cpu, r_mem, r_pods; /* its requests of cpu, memory, pods (from p.spec) */
    int r_other;             /* it requests something else too */
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
    struct snode **nodes;       /* s->nv */
    size_t nnodes;
    uint64_t id;                /* s->batches + 1 */
    size_t pos;                 /* the place in s->order being scheduled */
    core_ns now;
    struct spvc *pvcs;
    size_t npvcs;
    struct k8s_pv *pvs;
    size_t npvs, pvs_cap;
    struct ssc *scs;
    size_t nscs;
    struct core_map *pvc_idx;   /* ns/name -> index + 1 */
    json_t *pvc_items;
    uint64_t gen;               /* pods bound so far in this batch */
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

/* The reasons every scan may give, counted without building their text. */
enum fixed_reason {
    R_DELETING, R_CORDONED, R_NOT_READY, R_SELECTOR, R_CPU, R_MEMORY, R_PODS, R_VOLUME_AFFINITY,
    R_VOLUME_BIND, R_FIXED
};
static const char *const fixed_text[R_FIXED] = {
    "node(s) were being deleted",
    "node(s) were unschedulable",
    "node(s) had untolerated taint {node.kubernetes.io/not-ready: }",
    "node(s) didn't match Pod's node affinity/selector",
    "Insufficient cpu",
    "Insufficient memory",
    "Too many pods",
    "node(s) had volume node affinity conflict",
    "node(s) didn't find available persistent volumes to bind",
};

struct reason {
    char text[256];
    unsigned count;
};
struct reasons {
    unsigned fixed[R_FIXED];
    struct reason v[REASONS_MAX]; /* the others (taints, extended resources) */
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
    for (size_t i = 0; i < R_FIXED; i++)
        if (strcmp(fixed_text[i], text) == 0) {
            r->fixed[i]++;
            return;
        }
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
    char items[R_FIXED + REASONS_MAX][272];
    const char *sorted[R_FIXED + REASONS_MAX];
    size_t len, n = 0;

    snprintf(out, outsz, "0/%zu nodes are available", nnodes);
    if (nnodes == 0) {
        len = strlen(out);
        snprintf(out + len, outsz - len, ": no nodes available to schedule pods.");
        return;
    }
    for (size_t i = 0; i < R_FIXED; i++)
        if (r->fixed[i]) {
            snprintf(items[n], sizeof items[n], "%u %s", r->fixed[i], fixed_text[i]);
            sorted[n] = items[n];
            n++;
        }
    for (size_t i = 0; i < r->n; i++) {
        snprintf(items[n], sizeof items[n], "%u %s", r->v[i].count, r->v[i].text);
        sorted[n] = items[n];
        n++;
    }
    qsort(sorted, n, sizeof sorted[0], cmp_str);
    for (size_t i = 0; i < n; i++) {
        len = strlen(out);
        if (len + 1 >= outsz)
            break;
        snprintf(out + len, outsz - len, "%s%s", i == 0 ? ": " : ", ", sorted[i]);
    }
    len = strlen(out);
    if (len + 1 < outsz)
        snprintf(out + len, outsz - len, ".");
}

/* The reason set of an Unschedulable message: its items without their counts, in any
 * order, and the text before them without its digits ("0/N nodes are available"), hashed;
 * never 0. Two messages with one shape differ only in how many nodes gave each reason. */
static uint64_t msg_shape(const char *msg)
{
    const char *colon = msg ? strstr(msg, ": ") : NULL;
    const char *p, *end;
    uint64_t h = 0x9e3779b97f4a7c15ull, sum = 0;

    if (!msg)
        return 0;
    end = colon ? colon : msg + strlen(msg);
    for (p = msg; p < end; p++)
        if (*p < '0' || *p > '9')
            h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    if (colon) {
        p = colon + 2;
        while (*p) {
            const char *q = strstr(p, ", ");
            const char *stop = q ? q : p + strlen(p);
            uint64_t ih = 0xcbf29ce484222325ull;
            const char *t = p;
            while (t < stop && *t >= '0' && *t <= '9')
                t++;
            if (t > p && t < stop && *t == ' ')
                t++;
            else
                t = p;
            if (!q && stop > t && stop[-1] == '.')
                stop--;
            for (; t < stop; t++)
                ih = (ih ^ (unsigned char)*t) * 0x100000001b3ull;
            sum += ih * 0x9e3779b97f4a7c15ull; /* a sum: the order of the items is lost */
            if (!q)
                break;
            p = q + 2;
        }
    }
    h ^= sum;
    return h ? h : 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Batch: loading                                                                              */
/* ------------------------------------------------------------------------------------------ */

static void batch_cleanup(struct batch *b)
{
    for (size_t i = 0; i < b->npvcs; i++)
        k8s_pvc_cleanup(&b->pvcs[i].p);
    core_free(b->pvcs);
    for (size_t i = 0; i < b->npvs; i++)
        k8s_pv_cleanup(&b->pvs[i]);
    core_free(b->pvs);
    for (size_t i = 0; i < b->nscs; i++)
        k8s_storage_class_cleanup(&b->scs[i].s);
    core_free(b->scs);
    core_map_free(b->pvc_idx);
    json_decref(b->pvc_items);
    memset(b, 0, sizeof *b);
}

/* ------------------------------------------------------------------------------------------ */
/* The cache                                                                                   */
/* ------------------------------------------------------------------------------------------ */

static int64_t obj_rv(const json_t *obj)
{
    const char *v = json_string_value(
        json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
    int64_t rv = 0;
    if (!v || core_parse_i64(v, 0, INT64_MAX, &rv) != 0)
        return 0;
    return rv;
}

static struct nuse *usage_of(struct sched *s, const char *node)
{
    struct nuse *u = core_map_get(s->usage, node, NULL);
    if (u)
        return u;
    u = core_calloc(1, sizeof *u);
    if (!u)
        return NULL;
    if (core_map_set(s->usage, node, u, NULL) != 0) {
        core_free(u);
        return NULL;
    }
    return u;
}

static int nuse_add(struct nuse *u, const struct k8s_res_list *req, int sign)
{
    int64_t cpu = k8s_res_get(req, "cpu");
    int64_t mem = k8s_res_get(req, "memory");
    for (size_t i = 0; i < req->n; i++) {
        int64_t v = k8s_res_get(&u->used, req->v[i].name) + sign * req->v[i].milli;
        if (k8s_res_set(&u->used, req->v[i].name, v) != 0)
            return CORE_E_NOMEM;
    }
    u->cpu = k8s_res_get(&u->used, "cpu");
    u->mem = k8s_res_get(&u->used, "memory");
    u->pods = k8s_res_get(&u->used, K8S_RES_PODS);
    u->nz_cpu += sign * (cpu > 0 ? cpu : NONZERO_CPU_MILLI);
    u->nz_mem += sign * (mem > 0 ? mem : NONZERO_MEM_MILLI);
    return 0;
}

/* Takes back what the pod counted on its node. */
static void pod_uncount(struct sched *s, struct spod *sp)
{
    if (sp->counted_on) {
        struct nuse *u = core_map_get(s->usage, sp->counted_on, NULL);
        /* Only subtracting existing names: k8s_res_set does not allocate. */
        if (u && nuse_add(u, &sp->counted, -1) != 0)
            s->gc = 1;
        core_free(sp->counted_on);
        sp->counted_on = NULL;
    }
    k8s_res_cleanup(&sp->counted);
    memset(&sp->counted, 0, sizeof sp->counted);
}

/* Counts the pod's requests on node. */
static int pod_count(struct sched *s, struct spod *sp, const char *node)
{
    struct nuse *u = usage_of(s, node);
    if (!u)
        return CORE_E_NOMEM;
    sp->counted_on = core_strdup(node);
    if (!sp->counted_on || k8s_res_add(&sp->counted, &sp->p.spec.requests) != 0 ||
        nuse_add(u, &sp->counted, 1) != 0) {
        core_free(sp->counted_on);
        sp->counted_on = NULL;
        k8s_res_cleanup(&sp->counted);
        memset(&sp->counted, 0, sizeof sp->counted);
        return CORE_E_NOMEM;
    }
    return 0;
}

/* Takes the pod out of the scheduling order (it is no longer pending): a hole, closed by the
 * next compaction. */
static void order_drop(struct sched *s, struct spod *sp)
{
    if (sp->order_pos) {
        s->order[sp->order_pos - 1].sp = NULL;
        s->order[sp->order_pos - 1].cls = NULL;
        sp->order_pos = 0;
        s->nholes++;
    }
}

static void unsynced_drop(struct spod *sp)
{
    if (sp->us_pos) {
        sp->cls->unsynced[sp->us_pos - 1] = NULL;
        sp->us_pos = 0;
    }
}

/* Puts the pod on its class's unsynced list; out of memory, the class is looked at in full
 * by its next batch instead. */
static void unsynced_add(struct spod *sp)
{
    struct pclass *pc = sp->cls;
    if (sp->us_pos)
        return;
    if (pc->nunsynced == pc->unsynced_cap) {
        size_t cap = pc->unsynced_cap * 2 + 16;
        struct spod **nv = core_realloc(pc->unsynced, cap * sizeof *nv);
        if (!nv) {
            pc->shape = 0;
            return;
        }
        pc->unsynced = nv;
        pc->unsynced_cap = cap;
    }
    pc->unsynced[pc->nunsynced++] = sp;
    sp->us_pos = pc->nunsynced;
}

/* Whether a pending member's condition says what its class published: then batches may pass
 * it by. */
static void sync_update(struct spod *sp)
{
    if (!sp->cls)
        return;
    if (sp->is_pending && sp->cur_shape && sp->cur_shape == sp->cls->shape)
        unsynced_drop(sp);
    else if (sp->is_pending)
        unsynced_add(sp);
}

static void spod_free(struct sched *s, struct spod *sp)
{
    order_drop(s, sp);
    if (sp->fresh_pos) {
        s->fresh[sp->fresh_pos - 1] = NULL;
        sp->fresh_pos = 0;
    }
    unsynced_drop(sp);
    pod_uncount(s, sp);
    k8s_pod_cleanup(&sp->p);
    json_decref((json_t *)(uintptr_t)sp->obj);
    core_free(sp->sig);
    core_free(sp);
}

static int pod_terminal(const struct k8s_pod *p)
{
    return p->phase == K8S_POD_SUCCEEDED || p->phase == K8S_POD_FAILED;
}

static int pod_is_pending(const struct spod *sp)
{
    const struct k8s_pod *p = &sp->p;
    return !sp->assumed && !(p->spec.node_name && p->spec.node_name[0]) && !pod_terminal(p) &&
           !p->meta.has_deletion_timestamp && p->spec.scheduler_name &&
           strcmp(p->spec.scheduler_name, DEFAULT_SCHEDULER) == 0;
}

/* Brings the cached pod in line with its decoded state: usage, pending set, GC hint. */
static void pod_settle(struct sched *s, struct spod *sp, const char *key)
{
    const char *node = sp->p.spec.node_name;
    pod_uncount(s, sp);
    if (node && node[0]) {
        if (!pod_terminal(&sp->p) && pod_count(s, sp, node) != 0)
            s->gc = 1; /* usage lost: at least make the next batch look again */
        if (!core_map_get(s->nodes, node, NULL))
            s->gc = 1;
    }
    if (pod_is_pending(sp)) {
        if (core_map_set(s->pending, key, sp, NULL) != 0) {
            s->gc = 1;
            (void)core_map_del(s->pending, key);
            sp->is_pending = 0;
            return;
        }
        sp->is_pending = 1;
        if (!sp->order_pos && !sp->fresh_pos) {
            if (s->nfresh == s->fresh_cap) {
                size_t cap = s->fresh_cap * 2 + 64;
                struct spod **nv = core_realloc(s->fresh, cap * sizeof *nv);
                if (!nv) {
                    /* Left out of the order: take it out of the pending set too, so the
                     * two agree; the next change of the pod tries again. */
                    (void)core_map_del(s->pending, key);
                    sp->is_pending = 0;
                    s->gc = 1;
                    return;
                }
                s->fresh = nv;
                s->fresh_cap = cap;
            }
            s->fresh[s->nfresh++] = sp;
            sp->fresh_pos = s->nfresh;
        }
    } else {
        (void)core_map_del(s->pending, key);
        sp->is_pending = 0;
        order_drop(s, sp);
    }
}

/* What the hot loops need of the pod's spec and status, taken once per version. */
static void pod_digest(struct spod *sp)
{
    const struct k8s_condition *cur =
        k8s_condition_find(sp->p.conditions, sp->p.nconditions, "PodScheduled");
    const struct k8s_res_list *req = &sp->p.spec.requests;

    sp->cur_shape = cur && cur->status == K8S_COND_FALSE && cur->reason &&
                            strcmp(cur->reason, "Unschedulable") == 0
                        ? msg_shape(cur->message ? cur->message : "")
                        : 0;
    sp->r_cpu = sp->r_mem = sp->r_pods = 0;
    sp->r_other = 0;
    for (size_t i = 0; i < req->n; i++) {
        if (strcmp(req->v[i].name, "cpu") == 0)
            sp->r_cpu = req->v[i].milli;
        else if (strcmp(req->v[i].name, "memory") == 0)
            sp->r_mem = req->v[i].milli;
        else if (strcmp(req->v[i].name, K8S_RES_PODS) == 0)
            sp->r_pods = req->v[i].milli;
        else if (req->v[i].milli > 0)
            sp->r_other = 1;
    }
}

static void pod_apply(struct sched *s, const char *type, const json_t *obj)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    int64_t rv = obj_rv(obj);
    struct spod *sp;
    struct k8s_pod p;
    char key[600];

    if (!name)
        return;
    snprintf(key, sizeof key, "%s/%s", ns ? ns : "", name);
    sp = core_map_get(s->pods, key, NULL);
    if (sp && rv && rv < sp->rv)
        return; /* queued before the initial list saw a newer version */
    if (strcmp(type, "DELETED") == 0) {
        if (sp) {
            (void)core_map_del(s->pending, key);
            sp->is_pending = 0;
            (void)core_map_del(s->pods, key);
            spod_free(s, sp);
        }
        return;
    }
    if (k8s_pod_decode(obj, &p, NULL) != 0)
        return; /* as a batch that listed it would: skipped */
    if (!sp) {
        sp = core_calloc(1, sizeof *sp);
        if (!sp) {
            k8s_pod_cleanup(&p);
            return;
        }
        if (core_map_set(s->pods, key, sp, NULL) != 0) {
            core_free(sp);
            k8s_pod_cleanup(&p);
            return;
        }
    } else {
        k8s_pod_cleanup(&sp->p);
        json_decref((json_t *)(uintptr_t)sp->obj);
    }
    sp->p = p;
    sp->obj = json_incref((json_t *)(uintptr_t)obj);
    sp->rv = rv;
    sp->assumed = 0;
    pod_digest(sp);
    pod_settle(s, sp, key);
    sync_update(sp); /* members not yet classed are looked at when they are ordered */
}

/* Drops a cached node: out of the map and the dense array (the last one takes its place). */
static void node_forget(struct sched *s, struct snode *sn)
{
    (void)core_map_del(s->nodes, sn->n.meta.name);
    s->nv[sn->idx] = s->nv[s->nnv - 1];
    s->nv[sn->idx]->idx = sn->idx;
    s->nnv--;
    k8s_node_cleanup(&sn->n);
    core_free(sn);
}

static void node_apply(struct sched *s, const char *type, const json_t *obj)
{
    const char *name = json_string_value(
        json_object_get(json_object_get(obj, "metadata"), "name"));
    int64_t rv = obj_rv(obj);
    struct snode *sn;
    struct k8s_node n;
    int filtering_taint = 0;

    if (!name)
        return;
    sn = core_map_get(s->nodes, name, NULL);
    if (sn && rv && rv < sn->rv)
        return;
    if (strcmp(type, "DELETED") == 0 || k8s_node_decode(obj, &n, NULL) != 0) {
        /* A node the decoder refuses is one nothing can land on, as if absent. */
        if (sn) {
            node_forget(s, sn);
            s->gc = 1;
        }
        return;
    }
    if (!sn) {
        if (s->nnv == s->nv_cap) {
            size_t cap = s->nv_cap * 2 + 64;
            struct snode **nv = core_realloc(s->nv, cap * sizeof *nv);
            if (!nv) {
                k8s_node_cleanup(&n);
                return;
            }
            s->nv = nv;
            s->nv_cap = cap;
        }
        sn = core_calloc(1, sizeof *sn);
        if (!sn || core_map_set(s->nodes, name, sn, NULL) != 0) {
            core_free(sn);
            k8s_node_cleanup(&n);
            return;
        }
        sn->idx = s->nnv;
        s->nv[s->nnv++] = sn;
    } else {
        k8s_node_cleanup(&sn->n);
    }
    sn->n = n;
    sn->zone = node_zone(&sn->n);
    sn->ready = k8s_node_ready(&sn->n);
    sn->a_cpu = k8s_res_get(&sn->n.allocatable, "cpu");
    sn->a_mem = k8s_res_get(&sn->n.allocatable, "memory");
    sn->a_pods = k8s_res_get(&sn->n.allocatable, K8S_RES_PODS);
    for (size_t i = 0; i < sn->n.ntaints; i++)
        if (sn->n.taints[i].effect == K8S_EFFECT_NO_SCHEDULE ||
            sn->n.taints[i].effect == K8S_EFFECT_NO_EXECUTE)
            filtering_taint = 1;
    sn->plain = !sn->n.meta.has_deletion_timestamp && !sn->n.unschedulable && sn->ready &&
                !filtering_taint;
    sn->rv = rv;
    if (!sn->u && !(sn->u = usage_of(s, name)))
        s->nodes_unused = 1;
}

static void cache_cleanup(struct sched *s)
{
    size_t it = 0;
    const char *key;
    void *val;

    core_map_free(s->pending);
    s->pending = NULL;
    while (s->pods && core_map_next(s->pods, &it, &key, &val))
        spod_free(s, val);
    core_map_free(s->pods);
    s->pods = NULL;
    it = 0;
    while (s->nodes && core_map_next(s->nodes, &it, &key, &val)) {
        struct snode *sn = val;
        k8s_node_cleanup(&sn->n);
        core_free(sn);
    }
    core_map_free(s->nodes);
    s->nodes = NULL;
    core_free(s->nv);
    s->nv = NULL;
    s->nnv = s->nv_cap = 0;
    it = 0;
    while (s->usage && core_map_next(s->usage, &it, &key, &val)) {
        struct nuse *u = val;
        k8s_res_cleanup(&u->used);
        core_free(u);
    }
    core_map_free(s->usage);
    s->usage = NULL;
    it = 0;
    while (s->classes && core_map_next(s->classes, &it, &key, &val)) {
        struct pclass *pc = val;
        core_free(pc->unsynced);
        core_free(pc->fit);
        core_free(pc);
    }
    core_map_free(s->classes);
    s->classes = NULL;
    core_free(s->order);
    s->order = NULL;
    s->norder = s->order_cap = 0;
    core_free(s->fresh);
    s->fresh = NULL;
    s->nfresh = s->fresh_cap = 0;
}

/* Fills the cache from a list; called after the watches exist, so nothing is missed. */
static int cache_load(struct sched *s, struct core_err *err)
{
    json_t *items = NULL;
    size_t i;
    json_t *v;
    int rc;

    if ((rc = sim_kube_list(s->c->kube, "nodes", NULL, NULL, NULL, &items, err)) != 0)
        return rc;
    json_array_foreach(items, i, v)
        node_apply(s, "ADDED", v);
    json_decref(items);
    items = NULL;
    if ((rc = sim_kube_list(s->c->kube, "pods", NULL, NULL, NULL, &items, err)) != 0)
        return rc;
    json_array_foreach(items, i, v)
        pod_apply(s, "ADDED", v);
    json_decref(items);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Batch: loading                                                                              */
/* ------------------------------------------------------------------------------------------ */

static int load_nodes(struct batch *b, struct core_err *err)
{
    struct sched *s = b->s;

    if (s->nodes_unused) {
        for (size_t i = 0; i < s->nnv; i++)
            if (!s->nv[i]->u && !(s->nv[i]->u = usage_of(s, s->nv[i]->n.meta.name)))
                return core_err_set(err, CORE_E_NOMEM, "out of memory");
        s->nodes_unused = 0;
    }
    b->nodes = s->nv;
    b->nnodes = s->nnv;
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
    const struct spod *x = *(const struct spod *const *)a, *y = *(const struct spod *const *)b;
    int r;
    if (x->p.meta.creation_timestamp != y->p.meta.creation_timestamp)
        return x->p.meta.creation_timestamp < y->p.meta.creation_timestamp ? -1 : 1;
    r = strcmp(x->p.meta.ns ? x->p.meta.ns : "", y->p.meta.ns ? y->p.meta.ns : "");
    return r ? r : strcmp(x->p.meta.name, y->p.meta.name);
}

/* Pod GC (when a Node went away or a pod names an unknown one), then the pending list. */
static const char *pod_sig(struct sched *s, struct spod *sp);

static int load_pods(struct batch *b, struct core_err *err)
{
    struct sched *s = b->s;
    struct sim_cluster *c = s->c;
    size_t it = 0;
    const char *key;
    void *val;

    if (s->gc) {
        s->gc = 0;
        while (core_map_next(s->pods, &it, &key, &val)) {
            const struct spod *sp = val;
            const char *node = sp->p.spec.node_name;
            if (!node || !node[0] || core_map_get(s->nodes, node, NULL))
                continue;
            /* A pod already terminating is counted once, when it was deleted. Its DELETED
             * event drops it from the cache. */
            if (sp->p.meta.has_deletion_timestamp)
                continue;
            if (sim_kube_delete(c->kube, "pods", sp->p.meta.ns, sp->p.meta.name, NULL) == 0)
                c->stats.pods_collected++;
            else
                s->gc = 1; /* retried by the next batch */
        }
    }
    /* The order is kept across batches: only the pods that became pending since are
     * sorted, then appended (the usual case: they are the newest) or merged in; pods that
     * stopped pending leave holes, closed when they are half the order. A full sort of
     * thousands of pods per batch cost most of a batch. */
    {
        size_t nf = 0, i, j, k, last, n;
        struct oent *merged;

        for (i = 0; i < s->nfresh; i++) {
            struct spod *sp = s->fresh[i];
            if (!sp)
                continue;
            sp->fresh_pos = 0;
            if (!sp->is_pending)
                continue;
            (void)pod_sig(s, sp); /* its class, for the order entry */
            s->fresh[nf++] = sp;
        }
        s->nfresh = 0;
        if (nf > 1) /* s->fresh may be NULL when nothing came */
            qsort(s->fresh, nf, sizeof *s->fresh, cmp_pending);
        for (last = s->norder; last > 0 && !s->order[last - 1].sp; last--)
            ;
        if (nf && s->norder + nf > s->order_cap) {
            size_t cap = (s->norder + nf) * 2 + 64;
            struct oent *nv = core_realloc(s->order, cap * sizeof *nv);
            if (!nv) {
                /* Keep every pod reachable: the fresh ones go back to the fresh list. */
                for (i = 0; i < nf; i++)
                    s->fresh[i]->fresh_pos = i + 1;
                s->nfresh = nf;
                return core_err_set(err, CORE_E_NOMEM, "out of memory");
            }
            s->order = nv;
            s->order_cap = cap;
        }
        if (nf && (last == 0 || cmp_pending(&s->order[last - 1].sp, &s->fresh[0]) <= 0)) {
            for (i = 0; i < nf; i++) {
                s->order[s->norder].sp = s->fresh[i];
                s->order[s->norder].cls = s->fresh[i]->cls;
                s->fresh[i]->order_pos = ++s->norder;
            }
        } else if (nf || s->nholes * 2 > s->norder) {
            n = s->norder - s->nholes + nf;
            merged = core_calloc(n ? n : 1, sizeof *merged);
            if (!merged) {
                for (i = 0; i < nf; i++)
                    s->fresh[i]->fresh_pos = i + 1;
                s->nfresh = nf;
                return core_err_set(err, CORE_E_NOMEM, "out of memory");
            }
            for (i = 0, j = 0, k = 0; i < s->norder || j < nf;) {
                if (i < s->norder && !s->order[i].sp) {
                    i++;
                    continue;
                }
                if (j == nf || (i < s->norder && cmp_pending(&s->order[i].sp, &s->fresh[j]) <= 0)) {
                    merged[k] = s->order[i++];
                } else {
                    merged[k].sp = s->fresh[j];
                    merged[k].cls = s->fresh[j++]->cls;
                }
                merged[k].sp->order_pos = k + 1;
                k++;
            }
            core_free(s->order);
            s->order = merged;
            s->norder = s->order_cap = k;
            s->nholes = 0;
        }
        for (i = 0; i < nf; i++)
            sync_update(s->fresh[i]);
    }
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
            const struct snode *na = b->nodes[a];
            size_t cnt = 0;
            if (!na->zone || !na->ready)
                continue;
            if (sc->s.allowed_topologies.nterms &&
                !k8s_node_selector_matches(&sc->s.allowed_topologies, &na->n.meta.labels,
                                           na->n.meta.name))
                continue;
            for (size_t z = 0; z < b->nnodes; z++)
                if (b->nodes[z]->ready && b->nodes[z]->zone &&
                    strcmp(b->nodes[z]->zone, na->zone) == 0)
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

/* Whether a request of v fits the node's allocatable alloc with used taken. */
static int res_fits(int64_t v, int64_t alloc, int64_t used)
{
    return v <= 0 || (used <= alloc && v <= alloc - used);
}

/* Returns 1 when the node passes; otherwise adds the node's reasons. This runs per pod per
 * node: a plain node skips the taint checks, and cpu, memory and pods are plain integers. */
static int node_fits(const struct spod *sp, const struct snode *sn, const struct claim_use *use,
                     size_t nuse, struct reasons *r)
{
    char text[256];
    int fits = 1;

    if (sn->plain)
        goto selectors;
    /* A Node being deleted (a finalizer holds it) takes no new pods, whatever they tolerate. */
    if (sn->n.meta.has_deletion_timestamp) {
        r->fixed[R_DELETING]++;
        return 0;
    }
    /* Cordoned and NotReady nodes carry these taints in a real cluster (the node lifecycle
     * controller adds them), so a pod that tolerates them may still land, as DaemonSet pods
     * do. */
    if (sn->n.unschedulable) {
        struct k8s_taint t = {(char *)(uintptr_t)"node.kubernetes.io/unschedulable", NULL,
                              K8S_EFFECT_NO_SCHEDULE};
        if (!k8s_tolerates(sp->p.spec.tolerations, sp->p.spec.ntolerations, &t)) {
            r->fixed[R_CORDONED]++;
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
            r->fixed[R_NOT_READY]++;
            return 0;
        }
    }
selectors:
    if (!pod_selects_node(&sp->p, sn)) {
        r->fixed[R_SELECTOR]++;
        return 0;
    }
    if (!res_fits(sp->r_cpu, sn->a_cpu, sn->u->cpu)) {
        r->fixed[R_CPU]++;
        fits = 0;
    }
    if (!res_fits(sp->r_mem, sn->a_mem, sn->u->mem)) {
        r->fixed[R_MEMORY]++;
        fits = 0;
    }
    if (!res_fits(sp->r_pods, sn->a_pods, sn->u->pods)) {
        r->fixed[R_PODS]++;
        fits = 0;
    }
    for (size_t i = 0; sp->r_other && i < sp->p.spec.requests.n; i++) {
        const struct k8s_res_qty *q = &sp->p.spec.requests.v[i];
        if (q->milli <= 0 || strcmp(q->name, "cpu") == 0 || strcmp(q->name, "memory") == 0 ||
            strcmp(q->name, K8S_RES_PODS) == 0)
            continue;
        if (!res_fits(q->milli, k8s_res_get(&sn->n.allocatable, q->name),
                      k8s_res_get(&sn->u->used, q->name))) {
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
            r->fixed[R_VOLUME_AFFINITY]++;
            return 0;
        }
        if (use[i].kind == CLAIM_WFFC &&
            (!sn->zone || (use[i].affinity && !k8s_node_selector_matches(
                                                  use[i].affinity, &sn->n.meta.labels,
                                                  sn->n.meta.name)))) {
            r->fixed[R_VOLUME_BIND]++;
            return 0;
        }
    }
    return 1;
}

/* Least-requested score in [0, 1]: the mean free fraction of cpu and memory after placing. */
static double node_score(const struct spod *sp, const struct snode *sn)
{
    int64_t cpu = sp->r_cpu;
    int64_t mem = sp->r_mem;
    int64_t acpu = sn->a_cpu;
    int64_t amem = sn->a_mem;
    double s = 0;
    cpu = (cpu > 0 ? cpu : NONZERO_CPU_MILLI) + sn->u->nz_cpu;
    mem = (mem > 0 ? mem : NONZERO_MEM_MILLI) + sn->u->nz_mem;
    if (acpu > 0 && cpu < acpu)
        s += (double)(acpu - cpu) / (double)acpu;
    if (amem > 0 && mem < amem)
        s += (double)(amem - mem) / (double)amem;
    return s / 2.0;
}

/* ------------------------------------------------------------------------------------------ */
/* Writing the outcome                                                                         */
/* ------------------------------------------------------------------------------------------ */

/* PodScheduled=False/Unschedulable with msg (whose reason set is shape), unless the pod
 * already says exactly that, or says the same reasons with other counts and was written less
 * than REFRESH ago, or its backoff has not passed. */
static void mark_unschedulable(struct batch *b, struct spod *sp, const char *msg,
                               uint64_t shape)
{
    struct sim_cluster *c = b->s->c;
    const struct k8s_condition *cur =
        k8s_condition_find(sp->p.conditions, sp->p.nconditions, "PodScheduled");
    const json_t *status, *conds;
    json_t *nconds, *patch, *cond;
    char ts[40];
    size_t i;
    json_t *v;

    core_ns now = core_loop_now(c->loop);

    if (cur && cur->status == K8S_COND_FALSE && cur->reason &&
        strcmp(cur->reason, "Unschedulable") == 0) {
        core_ns backoff = BACKOFF_INITIAL;
        for (unsigned k = 1; k < sp->cond_writes && backoff < BACKOFF_MAX; k++)
            backoff *= 2;
        if (backoff > BACKOFF_MAX)
            backoff = BACKOFF_MAX;
        if (sp->cond_writes && now - sp->cond_at < backoff)
            return; /* kube-scheduler would not have retried the pod yet */
        if (cur->message && strcmp(cur->message, msg) == 0)
            return;
        /* Only the node counts moved (nodes came or went, others filled up): kube-scheduler
         * would rewrite it, but at thousands of pods and nodes that is a write per pod per
         * Node change, all notified to every watcher. */
        if (sp->cur_shape == shape && now - sp->cond_at < REFRESH)
            return;
    } else {
        sp->cond_writes = 0;
    }
    status = json_object_get(sp->obj, "status");
    conds = json_object_get(status, "conditions");
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
        0) {
        c->stats.pods_unschedulable++;
        sp->cond_at = now;
        sp->cond_writes++;
    }
    json_decref(patch);
}

static const char *key_of(const struct spod *sp, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s/%s", sp->p.meta.ns ? sp->p.meta.ns : "", sp->p.meta.name);
    return out;
}

/* The pod's spec as canonical JSON: pods with equal ones (and no claims) are judged alike.
 * NULL when it has claims (their state is per pod) or cannot be built. */
static const char *pod_sig(struct sched *s, struct spod *sp)
{
    if (!sp->sig_done) {
        sp->sig_done = 1;
        char *text = sp->p.spec.claims.n ? NULL
                                         : json_dumps(json_object_get(sp->obj, "spec"),
                                                      JSON_COMPACT | JSON_SORT_KEYS);
        if (text) {
            sp->sig = core_strdup(text);
            free(text); /* jansson's allocation */
        }
        if (sp->sig) {
            struct pclass *pc = core_map_get(s->classes, sp->sig, NULL);
            if (!pc) {
                pc = core_calloc(1, sizeof *pc);
                if (pc && core_map_set(s->classes, sp->sig, pc, NULL) != 0) {
                    core_free(pc);
                    pc = NULL;
                }
            }
            sp->cls = pc; /* NULL (out of memory): judged alone */
        }
    }
    return sp->sig;
}

static void memo_put(struct batch *b, struct pclass *pc, const char *msg)
{
    pc->memo_batch = b->id;
    pc->memo_gen = b->gen;
    core_strlcpy(pc->msg, msg, sizeof pc->msg);
    pc->msg_shape = msg_shape(msg);
}

/* The class's members not in sync, after the one at b->pos found the class fits nowhere (and
 * its shape is unchanged): they get its message. Members before b->pos were tried by this
 * batch already. */
static void class_sync(struct batch *b, struct pclass *pc)
{
    size_t k = 0;
    for (size_t i = 0; i < pc->nunsynced; i++) {
        struct spod *sp = pc->unsynced[i];
        if (!sp)
            continue;
        if (sp->is_pending && sp->order_pos && sp->order_pos - 1 > b->pos) {
            mark_unschedulable(b, sp, pc->msg, pc->msg_shape);
            if (sp->cur_shape && sp->cur_shape == pc->shape) {
                sp->us_pos = 0;
                continue;
            }
        } else if (!sp->is_pending) {
            sp->us_pos = 0;
            continue;
        }
        pc->unsynced[k++] = sp;
        sp->us_pos = k;
    }
    pc->nunsynced = k;
}

/* A member of pc fit nowhere with msg: the first in this batch decides whether the rest are
 * all looked at (the reason set changed, or REFRESH passed) or only the unsynced ones. */
static void class_unschedulable(struct batch *b, struct spod *sp, struct pclass *pc)
{
    if (pc->dead_batch != b->id) {
        pc->dead_batch = b->id;
        pc->full = pc->msg_shape != pc->shape || b->now - pc->pub_at >= REFRESH;
        if (pc->full) {
            pc->shape = pc->msg_shape;
            pc->pub_at = b->now;
        }
        mark_unschedulable(b, sp, pc->msg, pc->msg_shape);
        sync_update(sp);
        if (!pc->full)
            class_sync(b, pc);
        return;
    }
    mark_unschedulable(b, sp, pc->msg, pc->msg_shape);
    sync_update(sp);
}

/* Records a node where a member of pc fit; out of memory, the class's next member scans
 * every node again. */
static void fit_add(struct pclass *pc, size_t i)
{
    if (pc->nfit == pc->fit_cap) {
        size_t cap = pc->fit_cap * 2 + 16;
        size_t *nv = core_realloc(pc->fit, cap * sizeof *nv);
        if (!nv) {
            pc->fit_batch = 0;
            return;
        }
        pc->fit = nv;
        pc->fit_cap = cap;
    }
    pc->fit[pc->nfit++] = i;
}

static void schedule_one(struct batch *b, struct spod *sp)
{
    struct sim_cluster *c = b->s->c;
    struct claim_use *use = NULL;
    struct reasons *r = NULL;
    size_t nuse = 0, best = SIZE_MAX;
    double best_score = -1;
    char msg[MSG_MAX], pre[512], key[600];
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
        mark_unschedulable(b, sp, msg, msg_shape(msg));
        goto done;
    }
    if (!nuse && pod_sig(b->s, sp) && sp->cls) {
        struct pclass *pc = sp->cls;
        if (pc->memo_batch == b->id && pc->memo_gen == b->gen) {
            class_unschedulable(b, sp, pc);
            goto done;
        }
    }
    r = core_calloc(1, sizeof *r);
    if (!r)
        goto done;
    /* A class's later members in this batch need look only where an earlier one fit: free
     * capacity only shrinks within a batch. When none fits any more, the full scan below
     * gives the message. */
    if (!nuse && sp->cls && sp->cls->fit_batch == b->id) {
        struct pclass *pc = sp->cls;
        size_t k = 0;
        for (size_t j = 0; j < pc->nfit; j++) {
            size_t i = pc->fit[j];
            const struct snode *sn = b->nodes[i];
            double s;
            if (!node_fits(sp, sn, NULL, 0, r))
                continue;
            pc->fit[k++] = i;
            s = node_score(sp, sn);
            if (best == SIZE_MAX || s > best_score ||
                (s == best_score && strcmp(sn->n.meta.name, b->nodes[best]->n.meta.name) < 0)) {
                best = i;
                best_score = s;
            }
        }
        pc->nfit = k;
        if (best != SIZE_MAX)
            goto chosen;
        memset(r, 0, sizeof *r);
    }
    if (!nuse && sp->cls) {
        sp->cls->fit_batch = b->id;
        sp->cls->nfit = 0;
    }
    for (size_t i = 0; i < b->nnodes; i++) {
        const struct snode *sn = b->nodes[i];
        double s;
        if (!node_fits(sp, sn, use, nuse, r))
            continue;
        if (!nuse && sp->cls)
            fit_add(sp->cls, i);
        s = node_score(sp, sn);
        if (best == SIZE_MAX || s > best_score ||
            (s == best_score && strcmp(sn->n.meta.name, b->nodes[best]->n.meta.name) < 0)) {
            best = i;
            best_score = s;
        }
    }
chosen:
    if (best == SIZE_MAX) {
        reasons_message(r, b->nnodes, msg, sizeof msg);
        if (!nuse && sp->cls) {
            memo_put(b, sp->cls, msg);
            class_unschedulable(b, sp, sp->cls);
        } else {
            mark_unschedulable(b, sp, msg, msg_shape(msg));
        }
        goto done;
    }
    for (size_t i = 0; i < nuse; i++) {
        if (use[i].kind != CLAIM_WFFC || !pvc_unbound(&b->pvcs[use[i].pvc].p))
            continue; /* two volumes of the pod naming one claim: provisioned once */
        if (provision(b, &b->pvcs[use[i].pvc], use[i].sc, b->nodes[best]->zone,
                      b->nodes[best]->n.meta.name, NULL) != 0)
            goto done; /* retried by the next batch */
    }
    if (sim_kube_store_bind(c->kube, sp->p.meta.ns, sp->p.meta.name,
                            b->nodes[best]->n.meta.name, NULL) != 0)
        goto done;
    c->stats.pods_bound++;
    b->gen++;
    /* Assumed on the node until its event arrives. Without the usage, later pods could
     * overcommit the node: end the batch instead (the bind's own event recounts it). */
    sp->assumed = 1;
    (void)core_map_del(b->s->pending, key_of(sp, key, sizeof key));
    sp->is_pending = 0;
    order_drop(b->s, sp);
    unsynced_drop(sp);
    pod_uncount(b->s, sp);
    if (pod_count(b->s, sp, b->nodes[best]->n.meta.name) != 0)
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
    b.id = s->batches + 1;
    b.now = core_loop_now(s->c->loop);
    if (load_nodes(&b, NULL) != 0 || load_pvcs(&b, NULL) != 0 || load_pods(&b, NULL) != 0) {
        batch_cleanup(&b); /* out of memory: the next change kicks another batch */
        return;
    }
    provision_immediate(&b);
    /* Pods are bound in the loop (their places become holes); the order itself changes only
     * in load_pods: events are delivered from a loop timer, never during a batch. */
    for (size_t i = 0; i < s->norder && !b.stop; i++) {
        const struct oent *e = &s->order[i];
        if (!e->sp || (e->cls && e->cls->dead_batch == b.id && !e->cls->full))
            continue;
        b.pos = i;
        schedule_one(&b, e->sp);
    }
    if (b.stop) {
        /* Members after the cut were not looked at: no class may pass over them. */
        size_t it = 0;
        const char *key;
        void *val;
        while (core_map_next(s->classes, &it, &key, &val))
            ((struct pclass *)val)->shape = 0;
    }
    s->batches++;
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
    pod_apply(s, type, obj);
    if (strcmp(type, "MODIFIED") == 0 && node && node[0] &&
        !(phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0)))
        return;
    kick(s);
}

static void on_node(void *ud, const char *type, const json_t *obj)
{
    node_apply(ud, type, obj);
    kick(ud);
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
    s->pods = core_map_new();
    s->pending = core_map_new();
    s->nodes = core_map_new();
    s->usage = core_map_new();
    s->classes = core_map_new();
    if (!s->pods || !s->pending || !s->nodes || !s->usage || !s->classes)
        return core_err_set(err, CORE_E_NOMEM, "out of memory for the scheduler");
    if ((rc = sim_kube_watch(c->kube, "pods", on_pod, s, &s->w_pods, err)) != 0 ||
        (rc = sim_kube_watch(c->kube, "nodes", on_node, s, &s->w_nodes, err)) != 0 ||
        (rc = sim_kube_watch(c->kube, "persistentvolumeclaims", on_other, s, &s->w_pvcs,
                             err)) != 0 ||
        (rc = sim_kube_watch(c->kube, CLASSES, on_other, s, &s->w_classes, err)) != 0 ||
        (rc = cache_load(s, err)) != 0)
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
    cache_cleanup(s);
    core_free(s);
    c->sched = NULL;
}

void sim_cluster_sched_kick(struct sim_cluster *c)
{
    if (c && c->sched)
        kick(c->sched);
}
