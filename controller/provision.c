/*
 * controller/provision.c — the provisioning reconciler: pods the kube-scheduler gave up on
 * (PodScheduled=False, reason Unschedulable) are batched, handed to launcher_schedule together
 * with the NodePools, the existing capacity (Ready Nodes and in-flight NodeClaims) and the
 * volume facts, and the plan's NodeClaims are created in the API. Pods get a Nominated or a
 * FailedScheduling Event.
 *
 * Invariants:
 *  - A pod is "pending for us" when it is Pending (or has no phase yet), has no nodeName, is
 *    for the default scheduler, is not being deleted, is marked Unschedulable, and is not
 *    validly nominated. Only such pods go into a batch, so a pod is never planned twice.
 *  - A nomination (pod → NodeClaim) is recorded when the plan is made, before the create call
 *    answers, so a batch that runs while creates are in flight cannot plan those pods again.
 *    It is valid while the NodeClaim exists and is not being deleted; before the informer has
 *    seen the NodeClaim, while its create is in flight or for UNSEEN_GRACE after. A failed
 *    create, a deleted or deleting NodeClaim release the pods at once (and open a batch).
 *  - An in-flight NodeClaim's free space is its allocatable minus the DaemonSet pods that will
 *    run there and the pods nominated to it now (not its spec.resources.requests), so after a
 *    restart, with the nominations gone, pending pods go back onto it. A nomination to a
 *    NodeClaim Registered but not Initialized for REGISTERED_GRACE lapses.
 *  - A NodeClaim create refused for good (4xx other than 409/429) makes its pool back off
 *    (5 s doubling to 5 min); its pods are told once (FailedScheduling).
 *  - Everything that decides is sorted by key first (informer order is unspecified), and
 *    NodeClaim names come from a generator seeded from the cluster name: the same cluster
 *    state gives the same NodeClaims, in the same order, with the same names.
 *  - Writes (NodeClaims, Events) happen only when controller_may_act; a follower keeps its
 *    bookkeeping (first-seen times) so a takeover reacts at once.
 *  - Nothing here blocks; the batch runs from a loop timer.
 */
#include "controller/internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COMPONENT "provision"
/* How long a nomination to a NodeClaim the informer has not shown yet stays valid after its
 * create answered (the watch event normally follows within milliseconds). */
#define UNSEEN_GRACE ((core_ns)60 * CORE_NS_PER_S)
#define UNREGISTERED_TAINT "karpenter.sh/unregistered"
/* How long after its NodeClaim initialised a nominated pod may stay unschedulable before the
 * nomination is dropped and the pod planned again: the kube-scheduler is free to place other
 * pods on the new node first, and then this one needs capacity elsewhere. */
#define NOMINATION_GRACE ((core_ns)20 * CORE_NS_PER_S)
/* How long a NodeClaim may stay Registered without becoming Initialized before the pods
 * nominated to it are planned elsewhere (its Node may never become Ready). */
#define REGISTERED_GRACE ((core_ns)300 * CORE_NS_PER_S)

/* A pod we track: pending for the default scheduler and marked Unschedulable at some point,
 * not bound or deleted since. */
struct prov_pod {
    core_ns first_seen;
    int reacted;   /* its reaction time was taken (by the first launch that served it) */
    char *claim;   /* the NodeClaim it is nominated to, or NULL */
    char *reason;  /* last FailedScheduling reason reported, or NULL */
};

/* A NodeClaim that pods are nominated to. */
struct prov_claim {
    char *name;
    char **pods;   /* pod keys (owned) */
    size_t npods, cap;
    core_ns created;
    int creating;  /* our create call has not answered yet */
    int seen;      /* the informer has shown it */
};

struct controller_provision {
    struct core_map *pods;   /* pod key → struct prov_pod * */
    struct core_map *claims; /* NodeClaim name → struct prov_claim * */
    struct launcher_batcher batcher;
    struct core_timer *timer;
    core_ns timer_at;
    struct core_timer *sweep;        /* re-checks nominations to initialised NodeClaims */
    uint64_t rng;
    struct core_map *backoff;        /* NodePool name → struct prov_backoff * */
    struct core_timer *backoff_timer; /* opens a batch when the earliest backoff ends */
};

/* A NodePool whose NodeClaims the API refuses for good (a 4xx other than 409/429: the document
 * is invalid, e.g. a name too long): no NodeClaim for it before `until` (monotonic). */
struct prov_backoff {
    core_ns until;
    core_ns delay;
};
#define BACKOFF_BASE ((core_ns)5 * CORE_NS_PER_S)
#define BACKOFF_CAP ((core_ns)300 * CORE_NS_PER_S)

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */
/* ------------------------------------------------------------------------------------------ */

struct kv_item {
    const char *key;
    const void *value;
};

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kv_item *)a)->key, ((const struct kv_item *)b)->key);
}

/* Every stored value of an informer, sorted by key. *out is NULL when empty. */
static int collect(const struct k8s_informer *inf, struct kv_item **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t len = inf ? k8s_informer_len(inf) : 0;
    if (len == 0)
        return 0;
    struct kv_item *v = core_malloc(len * sizeof(*v));
    if (!v)
        return CORE_E_NOMEM;
    size_t it = 0, i = 0;
    const char *key;
    const void *val;
    while (i < len && k8s_informer_next(inf, &it, &key, &val)) {
        v[i].key = key;
        v[i].value = val;
        i++;
    }
    qsort(v, i, sizeof(*v), kv_cmp);
    *out = v;
    *n = i;
    return 0;
}

static int str_empty(const char *s)
{
    return !s || !*s;
}

/* Tracked at all: Pending, unbound, ours, alive. */
static int pod_trackable(const struct k8s_pod *p)
{
    if (p->phase != 0 && p->phase != K8S_POD_PENDING)
        return 0;
    if (!str_empty(p->spec.node_name) || p->meta.has_deletion_timestamp)
        return 0;
    return str_empty(p->spec.scheduler_name) ||
           strcmp(p->spec.scheduler_name, "default-scheduler") == 0;
}

static int pod_wants_capacity(const struct k8s_pod *p)
{
    return pod_trackable(p) && k8s_pod_unschedulable(p);
}

static int pod_terminal(const struct k8s_pod *p)
{
    return p->phase == K8S_POD_SUCCEEDED || p->phase == K8S_POD_FAILED;
}

static void pod_ref(const struct k8s_pod *p, struct k8s_object_ref *ref)
{
    memset(ref, 0, sizeof(*ref));
    ref->api_version = "v1";
    ref->kind = "Pod";
    ref->ns = p->meta.ns;
    ref->name = p->meta.name;
    ref->uid = p->meta.uid;
}

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64: small, good enough to spread names, and reproducible from a seed. */
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* Go duration text ("720h", "1h30m", "90s"; a sub-second rest is written "…500000000ns",
 * which the CRD's duration grammar accepts as well). */
static void format_duration(core_ns d, char *out, size_t outsz)
{
    if (d == K8S_NEVER) {
        snprintf(out, outsz, "Never");
        return;
    }
    if (d <= 0) {
        snprintf(out, outsz, "0s");
        return;
    }
    int64_t s = d / CORE_NS_PER_S, ns = d % CORE_NS_PER_S;
    int64_t h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
    size_t off = 0;
    out[0] = '\0';
    if (h && off < outsz)
        off += (size_t)snprintf(out + off, outsz - off, "%lldh", (long long)h);
    if (m && off < outsz)
        off += (size_t)snprintf(out + off, outsz - off, "%lldm", (long long)m);
    if (sec && off < outsz)
        off += (size_t)snprintf(out + off, outsz - off, "%llds", (long long)sec);
    if (ns && off < outsz)
        (void)snprintf(out + off, outsz - off, "%lldns", (long long)ns);
}

/* ------------------------------------------------------------------------------------------ */
/* Nominations                                                                                 */
/* ------------------------------------------------------------------------------------------ */

static void claim_free(struct prov_claim *cl)
{
    if (!cl)
        return;
    for (size_t i = 0; i < cl->npods; i++)
        core_free(cl->pods[i]);
    core_free(cl->pods);
    core_free(cl->name);
    core_free(cl);
}

static void claim_maybe_drop(struct controller_provision *p, struct prov_claim *cl)
{
    if (cl->npods == 0 && !cl->creating) {
        core_map_del(p->claims, cl->name);
        claim_free(cl);
    }
}

static struct prov_claim *claim_get_or_new(struct controller_provision *p, const char *name)
{
    struct prov_claim *cl = core_map_get(p->claims, name, NULL);
    if (cl)
        return cl;
    cl = core_calloc(1, sizeof(*cl));
    if (!cl)
        return NULL;
    cl->name = core_strdup(name);
    if (!cl->name || core_map_set(p->claims, name, cl, NULL) != 0) {
        claim_free(cl);
        return NULL;
    }
    return cl;
}

static void claim_remove_pod(struct prov_claim *cl, const char *pod_key)
{
    for (size_t i = 0; i < cl->npods; i++) {
        if (strcmp(cl->pods[i], pod_key) == 0) {
            core_free(cl->pods[i]);
            memmove(&cl->pods[i], &cl->pods[i + 1], (cl->npods - i - 1) * sizeof(char *));
            cl->npods--;
            return;
        }
    }
}

/* Clears a pod's nomination, if any. */
static void unnominate(struct controller_provision *p, const char *pod_key, struct prov_pod *pp)
{
    if (!pp->claim)
        return;
    struct prov_claim *cl = core_map_get(p->claims, pp->claim, NULL);
    if (cl) {
        claim_remove_pod(cl, pod_key);
        claim_maybe_drop(p, cl);
    }
    core_free(pp->claim);
    pp->claim = NULL;
}

static int nominate(struct controller_provision *p, const char *pod_key, struct prov_pod *pp,
                    const char *claim)
{
    unnominate(p, pod_key, pp);
    struct prov_claim *cl = claim_get_or_new(p, claim);
    if (!cl)
        return CORE_E_NOMEM;
    if (cl->npods == cl->cap) {
        size_t ncap = cl->cap ? cl->cap * 2 : 8;
        char **nv = core_realloc(cl->pods, ncap * sizeof(char *));
        if (!nv)
            goto fail;
        cl->pods = nv;
        cl->cap = ncap;
    }
    char *k = core_strdup(pod_key);
    char *cn = core_strdup(claim);
    if (!k || !cn) {
        core_free(k);
        core_free(cn);
        goto fail;
    }
    cl->pods[cl->npods++] = k;
    pp->claim = cn;
    return 0;
fail:
    claim_maybe_drop(p, cl);
    return CORE_E_NOMEM;
}

static int claim_failed(const struct k8s_nodeclaim *nc)
{
    return nc->meta.has_deletion_timestamp;
}

static int nomination_valid(const struct controller *c, const struct prov_pod *pp)
{
    if (!pp->claim)
        return 0;
    const struct k8s_nodeclaim *nc = k8s_informer_get(c->nodeclaims, pp->claim);
    if (nc) {
        if (claim_failed(nc))
            return 0;
        const struct k8s_condition *ic =
            k8s_condition_find(nc->conditions, nc->nconditions, "Initialized");
        if (ic && ic->status == K8S_COND_TRUE && ic->has_last_transition_time &&
            controller_wall(c) - ic->last_transition_time > NOMINATION_GRACE)
            return 0; /* its node is up and the kube-scheduler still cannot place the pod */
        const struct k8s_condition *rc =
            k8s_condition_find(nc->conditions, nc->nconditions, "Registered");
        if ((!ic || ic->status != K8S_COND_TRUE) && rc && rc->status == K8S_COND_TRUE &&
            rc->has_last_transition_time &&
            controller_wall(c) - rc->last_transition_time > REGISTERED_GRACE)
            return 0; /* its Node joined but does not become usable */
        return 1;
    }
    const struct prov_claim *cl = core_map_get(c->provision->claims, pp->claim, NULL);
    if (!cl || cl->seen)
        return 0;
    return cl->creating || controller_now(c) - cl->created < UNSEEN_GRACE;
}

/* ------------------------------------------------------------------------------------------ */
/* Batching                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static void batch_fire(void *ud);

static void arm(struct controller *c)
{
    struct controller_provision *p = c->provision;
    core_ns at = launcher_batcher_deadline(&p->batcher);
    if (at == 0)
        return;
    if (p->timer && p->timer_at == at)
        return;
    if (p->timer)
        core_loop_timer_cancel(c->loop, p->timer);
    core_ns now = controller_now(c);
    p->timer = core_loop_timer_add(c->loop, at > now ? at - now : 0, batch_fire, c);
    p->timer_at = p->timer ? at : 0;
}

/* A pod (or a change that may help pending pods) arrived: open or extend the batch. */
static void trigger(struct controller *c)
{
    launcher_batcher_add(&c->provision->batcher, controller_now(c));
    arm(c);
}

/* Whether any tracked pod wants capacity and has no valid nomination. */
static int any_waiting(const struct controller *c)
{
    size_t it = 0;
    const char *key;
    void *val;
    while (core_map_next(c->provision->pods, &it, &key, &val)) {
        const struct k8s_pod *pod = k8s_informer_get(c->pods, key);
        if (pod && pod_wants_capacity(pod) && !nomination_valid(c, val))
            return 1;
    }
    return 0;
}

/* Releases every pod nominated to a NodeClaim that is gone or failed; they are pending for us
 * again at once. */
static void release_claim(struct controller *c, const char *name)
{
    struct controller_provision *p = c->provision;
    struct prov_claim *cl = core_map_del(p->claims, name);
    if (!cl)
        return;
    int again = 0;
    for (size_t i = 0; i < cl->npods; i++) {
        struct prov_pod *pp = core_map_get(p->pods, cl->pods[i], NULL);
        if (pp && pp->claim && strcmp(pp->claim, name) == 0) {
            core_free(pp->claim);
            pp->claim = NULL;
            const struct k8s_pod *pod = k8s_informer_get(c->pods, cl->pods[i]);
            if (pod && pod_wants_capacity(pod))
                again = 1;
        }
    }
    if (cl->npods)
        controller_log(c, CORE_LOG_INFO, COMPONENT, name, "nominations released",
                       (const char *)NULL);
    claim_free(cl);
    if (again)
        trigger(c);
}

static void forget_pod(struct controller_provision *p, const char *key)
{
    struct prov_pod *pp = core_map_get(p->pods, key, NULL);
    if (!pp)
        return;
    unnominate(p, key, pp);
    core_map_del(p->pods, key);
    core_free(pp->reason);
    core_free(pp);
}

/* Level-triggered: looks at the pod as it is now. */
static void pod_changed(struct controller *c, const char *key, const struct k8s_pod *pod)
{
    struct controller_provision *p = c->provision;
    struct prov_pod *pp = core_map_get(p->pods, key, NULL);
    if (!pod || !pod_trackable(pod)) {
        forget_pod(p, key);
        return;
    }
    if (!k8s_pod_unschedulable(pod))
        return; /* the kube-scheduler has not given up (or is trying again) */
    if (!pp) {
        pp = core_calloc(1, sizeof(*pp));
        if (!pp || core_map_set(p->pods, key, pp, NULL) != 0) {
            core_free(pp);
            controller_log(c, CORE_LOG_ERROR, COMPONENT, key, "out of memory tracking pod",
                           (const char *)NULL);
            return;
        }
        pp->first_seen = controller_now(c);
        trigger(c);
        return;
    }
    if (pp->claim && !nomination_valid(c, pp)) {
        unnominate(p, key, pp);
        trigger(c);
    }
}

static void on_pod(void *ud, const char *key, const void *old, const void *value)
{
    (void)old;
    pod_changed(ud, key, value);
}

/* Drops the nominations that stopped being valid (see NOMINATION_GRACE) and plans their pods
 * again; re-arms itself while nominations to initialised NodeClaims remain. */
static void sweep_fire(void *ud)
{
    struct controller *c = ud;
    struct controller_provision *p = c->provision;
    p->sweep = NULL;
    size_t it = 0;
    const char *key;
    void *val;
    int released = 0, watching = 0;
    while (core_map_next(p->pods, &it, &key, &val)) {
        struct prov_pod *pp = val;
        if (!pp->claim)
            continue;
        if (!nomination_valid(c, pp)) {
            unnominate(p, key, pp);
            released = 1;
            continue;
        }
        const struct k8s_nodeclaim *nc = k8s_informer_get(c->nodeclaims, pp->claim);
        if (nc && (k8s_condition_find(nc->conditions, nc->nconditions, "Initialized") ||
                   k8s_condition_find(nc->conditions, nc->nconditions, "Registered")))
            watching = 1;
    }
    if (released)
        trigger(c);
    if (watching)
        p->sweep = core_loop_timer_add(c->loop, NOMINATION_GRACE / 4, sweep_fire, c);
}

static void on_nodeclaim(void *ud, const char *key, const void *old, const void *value)
{
    (void)old;
    struct controller *c = ud;
    struct prov_claim *cl = core_map_get(c->provision->claims, key, NULL);
    if (!cl)
        return;
    const struct k8s_nodeclaim *nc = value;
    if (!nc || claim_failed(nc)) {
        release_claim(c, key);
        return;
    }
    cl->seen = 1;
    if (!c->provision->sweep &&
        (k8s_condition_find(nc->conditions, nc->nconditions, "Initialized") ||
         k8s_condition_find(nc->conditions, nc->nconditions, "Registered")))
        c->provision->sweep =
            core_loop_timer_add(c->loop, NOMINATION_GRACE + CORE_NS_PER_S, sweep_fire, c);
}

static int generation_changed(const struct k8s_meta *a, const struct k8s_meta *b)
{
    return !a || !b || a->generation != b->generation ||
           a->has_deletion_timestamp != b->has_deletion_timestamp;
}

static void on_nodepool(void *ud, const char *key, const void *old, const void *value)
{
    (void)key;
    struct controller *c = ud;
    const struct k8s_nodepool *a = old, *b = value;
    /* Status-only updates (resources after every NodeClaim) are not news for pending pods. */
    if (generation_changed(a ? &a->meta : NULL, b ? &b->meta : NULL) && any_waiting(c))
        trigger(c);
}

static int class_ready(const struct k8s_ec2nodeclass *nc)
{
    if (!nc || nc->meta.has_deletion_timestamp)
        return 0;
    const struct k8s_condition *r = k8s_condition_find(nc->conditions, nc->nconditions, "Ready");
    return r && r->status == K8S_COND_TRUE;
}

static void on_nodeclass(void *ud, const char *key, const void *old, const void *value)
{
    (void)key;
    struct controller *c = ud;
    if (class_ready(old) != class_ready(value) && any_waiting(c))
        trigger(c);
}

/* ------------------------------------------------------------------------------------------ */
/* Building the scheduler's input                                                              */
/* ------------------------------------------------------------------------------------------ */

struct batch {
    struct kv_item *pods;             /* pending for us, sorted */
    size_t npods;
    const struct k8s_pod **podv;
    struct launcher_sched_pool *pools;
    struct k8s_res_list *used;
    size_t npools;
    struct kv_item *ds;
    const struct k8s_daemonset **dsv;
    size_t nds;
    struct launcher_sched_node *nodes;
    struct k8s_res_list *avail;
    struct k8s_taint **taints;        /* owned arrays of borrowed taints */
    const char **node_claim;          /* NodeClaim name of an in-flight claim entry, or NULL */
    size_t nnodes;
    struct launcher_sched_bound *bound;
    size_t nbound, capbound;
    struct launcher_warm *warm;
    size_t nwarm;
    struct kv_item *pvcs, *pvs, *scs;
    const struct k8s_pvc **pvcv;
    const struct k8s_pv **pvv;
    const struct k8s_storage_class **scv;
    size_t npvcs, npvs, nscs;
};

static void batch_cleanup(struct batch *b)
{
    core_free(b->pods);
    core_free(b->podv);
    for (size_t i = 0; i < b->npools; i++)
        k8s_res_cleanup(&b->used[i]);
    core_free(b->used);
    core_free(b->pools);
    core_free(b->ds);
    core_free(b->dsv);
    for (size_t i = 0; i < b->nnodes; i++) {
        k8s_res_cleanup(&b->avail[i]);
        core_free(b->taints[i]);
    }
    core_free(b->avail);
    core_free(b->taints);
    core_free(b->node_claim);
    core_free(b->nodes);
    core_free(b->bound);
    core_free(b->warm);
    core_free(b->pvcs);
    core_free(b->pvs);
    core_free(b->scs);
    core_free(b->pvcv);
    core_free(b->pvv);
    core_free(b->scv);
    memset(b, 0, sizeof(*b));
}

/* Free warm instances of WarmPools become candidates here (paired with a NodeClaim by the
 * scheduler, annotated CONTROLLER_ANNOTATION_WARM). The array and its strings are one
 * allocation owned by the batch (batch_cleanup's core_free(b->warm) releases it), so a
 * snapshot swap in the warm pool reconciler never pulls strings from under a batch. */
static int provision_warm_instances(struct controller *c, struct launcher_warm **out, size_t *n)
{
    return controller_warmpool_free(c, out, n);
}

static int res_sub(struct k8s_res_list *l, const struct k8s_res_list *sub)
{
    for (size_t i = 0; sub && i < sub->n; i++) {
        int64_t have = k8s_res_get(l, sub->v[i].name);
        int rc = k8s_res_set(l, sub->v[i].name, have - sub->v[i].milli);
        if (rc)
            return rc;
    }
    return 0;
}

static int bound_add(struct batch *b, const struct k8s_pod *pod, const char *node)
{
    if (b->nbound == b->capbound) {
        size_t ncap = b->capbound ? b->capbound * 2 : 64;
        struct launcher_sched_bound *nv = core_realloc(b->bound, ncap * sizeof(*nv));
        if (!nv)
            return CORE_E_NOMEM;
        b->bound = nv;
        b->capbound = ncap;
    }
    b->bound[b->nbound].pod = pod;
    b->bound[b->nbound].node = node;
    b->nbound++;
    return 0;
}

static int build_pods(struct controller *c, struct batch *b)
{
    struct controller_provision *p = c->provision;
    size_t cap = core_map_len(p->pods);
    if (cap == 0)
        return 0;
    b->pods = core_malloc(cap * sizeof(*b->pods));
    b->podv = core_malloc(cap * sizeof(*b->podv));
    if (!b->pods || !b->podv)
        return CORE_E_NOMEM;
    size_t it = 0;
    const char *key;
    void *val;
    while (core_map_next(p->pods, &it, &key, &val)) {
        struct prov_pod *pp = val;
        const struct k8s_pod *pod = k8s_informer_get(c->pods, key);
        if (!pod || !pod_wants_capacity(pod))
            continue;
        if (pp->claim) {
            if (nomination_valid(c, pp))
                continue;
            unnominate(p, key, pp);
        }
        b->pods[b->npods].key = key;
        b->pods[b->npods].value = pod;
        b->npods++;
    }
    qsort(b->pods, b->npods, sizeof(*b->pods), kv_cmp);
    for (size_t i = 0; i < b->npods; i++)
        b->podv[i] = b->pods[i].value;
    return 0;
}

static int build_pools(struct controller *c, struct batch *b)
{
    struct kv_item *v = NULL;
    size_t n = 0;
    int rc = collect(c->nodepools, &v, &n);
    if (rc || n == 0)
        return rc;
    b->pools = core_calloc(n, sizeof(*b->pools));
    b->used = core_calloc(n, sizeof(*b->used));
    if (!b->pools || !b->used) {
        rc = CORE_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct k8s_nodepool *np = v[i].value;
        const char *cls = np->node_class_ref.name;
        if (np->meta.has_deletion_timestamp || str_empty(cls))
            continue;
        const struct k8s_ec2nodeclass *nc = k8s_informer_get(c->nodeclasses, cls);
        if (!nc || nc->meta.has_deletion_timestamp || !controller_nodeclass_ready(c, cls))
            continue;
        struct k8s_res_list used = {0};
        rc = controller_nodepool_usage(c, np->meta.name, &used);
        if (rc)
            goto out;
        b->used[b->npools] = used;
        b->pools[b->npools].pool = np;
        b->pools[b->npools].nodeclass = nc;
        b->pools[b->npools].used = &b->used[b->npools];
        b->npools++;
    }
out:
    core_free(v);
    return rc;
}

/* Taints a scheduler should weigh on a Ready node: its own, minus the pool's startup taints
 * and the registration taint, which go away on their own. */
static int node_taints(const struct k8s_node *n, const struct k8s_nodepool *np,
                       struct k8s_taint **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (n->ntaints == 0)
        return 0;
    struct k8s_taint *v = core_malloc(n->ntaints * sizeof(*v));
    if (!v)
        return CORE_E_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n->ntaints; i++) {
        const struct k8s_taint *t = &n->taints[i];
        int skip = t->key && strcmp(t->key, UNREGISTERED_TAINT) == 0;
        for (size_t j = 0; np && !skip && j < np->nstartup_taints; j++)
            skip = t->key && np->startup_taints[j].key &&
                   strcmp(t->key, np->startup_taints[j].key) == 0 &&
                   t->effect == np->startup_taints[j].effect;
        if (!skip)
            v[k++] = *t;
    }
    *out = v;
    *nout = k;
    return 0;
}

static const struct k8s_node *claim_node(const struct controller *c,
                                         const struct k8s_nodeclaim *nc)
{
    if (!str_empty(nc->node_name)) {
        const struct k8s_node *n = k8s_informer_get(c->nodes, nc->node_name);
        if (n)
            return n;
    }
    if (!str_empty(nc->provider_id)) {
        size_t it = 0;
        const char *key;
        const void *val;
        if (k8s_informer_index_next(c->nodes, CONTROLLER_IDX_PROVIDER, nc->provider_id, &it,
                                    &key, &val))
            return val;
    }
    return NULL;
}

/* Whether DaemonSet d's pod would run on the node of NodeClaim nc, approximately: it tolerates
 * the claim's NoSchedule/NoExecute taints, and every label of its nodeSelector is promised by an
 * In requirement of the claim. Node affinity is not looked at (its pods then count where they
 * may not run: a claim looks a little fuller than it is, never emptier). */
static int ds_on_claim(const struct k8s_daemonset *d, const struct k8s_nodeclaim *nc)
{
    for (size_t i = 0; i < nc->ntaints; i++)
        if (nc->taints[i].effect != K8S_EFFECT_PREFER_NO_SCHEDULE &&
            !k8s_tolerates(d->spec.tolerations, d->spec.ntolerations, &nc->taints[i]))
            return 0;
    for (size_t i = 0; i < d->spec.node_selector.n; i++) {
        const struct k8s_kv *l = &d->spec.node_selector.v[i];
        int ok = 0;
        for (size_t j = 0; j < nc->nrequirements && !ok; j++) {
            const struct k8s_requirement *r = &nc->requirements[j];
            ok = r->op == K8S_OP_IN &&
                 strcmp(launcher_label_normalize(r->key), launcher_label_normalize(l->key)) ==
                     0 &&
                 k8s_strings_contains(&r->values, l->value);
        }
        if (!ok)
            return 0;
    }
    return 1;
}

/* Sizes the free space of an in-flight NodeClaim from what runs there now, not from what it was
 * sized for: minus the DaemonSet pods that will run on it and the pods nominated to it at this
 * moment (this process's nominations). A restarted controller, which lost its nominations, so
 * sees the claim empty and places the pending pods back onto it instead of launching more. */
static int claim_subtract_load(const struct controller *c, const struct batch *b,
                               const struct k8s_nodeclaim *nc, struct k8s_res_list *out)
{
    int rc = 0;
    for (size_t i = 0; i < b->nds && !rc; i++)
        if (ds_on_claim(b->dsv[i], nc))
            rc = res_sub(out, &b->dsv[i]->spec.requests);
    const struct prov_claim *cl = core_map_get(c->provision->claims, nc->meta.name, NULL);
    for (size_t j = 0; cl && j < cl->npods && !rc; j++) {
        const struct k8s_pod *pod = k8s_informer_get(c->pods, cl->pods[j]);
        if (pod && str_empty(pod->spec.node_name) && !pod_terminal(pod))
            rc = res_sub(out, &pod->spec.requests);
    }
    return rc;
}

/* What an in-flight NodeClaim will offer: its status' allocatable when launched, else the
 * allocatable of its cheapest listed type under its class's kubelet settings; minus its load
 * (claim_subtract_load). */
static int claim_available(const struct controller *c, const struct batch *b,
                           const struct k8s_nodeclaim *nc, struct k8s_res_list *out)
{
    int rc = 0;
    if (nc->allocatable.n) {
        for (size_t i = 0; i < nc->allocatable.n && !rc; i++)
            rc = k8s_res_set(out, nc->allocatable.v[i].name, nc->allocatable.v[i].milli);
        return rc ? rc : claim_subtract_load(c, b, nc, out);
    }
    const char *type = NULL;
    for (size_t i = 0; i < nc->nrequirements && !type; i++) {
        const struct k8s_requirement *r = &nc->requirements[i];
        if (r->op == K8S_OP_IN && r->values.n &&
            strcmp(launcher_label_normalize(r->key),
                   launcher_label_key(LAUNCHER_L_INSTANCE_TYPE)) == 0)
            type = r->values.v[0];
    }
    const struct launcher_itype *t = type ? launcher_catalog_find(controller_catalog(c), type)
                                          : NULL;
    if (!t)
        return 0; /* nothing known: it offers nothing more */
    const struct k8s_ec2nodeclass *cls =
        str_empty(nc->node_class_ref.name) ? NULL
                                           : k8s_informer_get(c->nodeclasses,
                                                              nc->node_class_ref.name);
    struct launcher_alloc_opts ao = {0};
    if (cls) {
        if (cls->kubelet.has_pods_per_core)
            ao.pods_per_core = (int32_t)cls->kubelet.pods_per_core;
        if (cls->kubelet.has_max_pods)
            ao.max_pods = (int32_t)cls->kubelet.max_pods;
        for (size_t i = 0; i < cls->nblock_devices; i++)
            if (cls->block_devices[i].root_volume && cls->block_devices[i].ebs.volume_size > 0)
                ao.root_volume_bytes = cls->block_devices[i].ebs.volume_size;
    }
    struct launcher_alloc a;
    rc = launcher_allocatable(t, &ao, &a);
    if (rc)
        return rc;
    rc = k8s_res_set(out, "cpu", a.cpu_milli);
    if (!rc)
        rc = k8s_res_set(out, "memory", a.memory_bytes * 1000);
    if (!rc)
        rc = k8s_res_set(out, K8S_RES_PODS, (int64_t)a.pods * 1000);
    if (!rc)
        rc = k8s_res_set(out, "ephemeral-storage", a.ephemeral_bytes * 1000);
    if (!rc && t->gpu_count > 0 && strcmp(t->gpu_manufacturer, "nvidia") == 0)
        rc = k8s_res_set(out, "nvidia.com/gpu", (int64_t)t->gpu_count * 1000);
    if (!rc && t->gpu_count > 0 && strcmp(t->gpu_manufacturer, "amd") == 0)
        rc = k8s_res_set(out, "amd.com/gpu", (int64_t)t->gpu_count * 1000);
    if (!rc && t->accelerator_count > 0)
        rc = k8s_res_set(out, "aws.amazon.com/neuron", (int64_t)t->accelerator_count * 1000);
    if (!rc && cls)
        rc = res_sub(out, &cls->kubelet.system_reserved);
    if (!rc)
        rc = claim_subtract_load(c, b, nc, out);
    return rc;
}

static int build_nodes(struct controller *c, struct batch *b)
{
    struct kv_item *nodes = NULL, *claims = NULL;
    size_t nn = 0, nc = 0;
    int rc = collect(c->nodes, &nodes, &nn);
    if (!rc)
        rc = collect(c->nodeclaims, &claims, &nc);
    size_t cap = nn + nc;
    if (rc || cap == 0)
        goto out;
    b->nodes = core_calloc(cap, sizeof(*b->nodes));
    b->avail = core_calloc(cap, sizeof(*b->avail));
    b->taints = core_calloc(cap, sizeof(*b->taints));
    b->node_claim = core_calloc(cap, sizeof(*b->node_claim));
    if (!b->nodes || !b->avail || !b->taints || !b->node_claim) {
        rc = CORE_E_NOMEM;
        goto out;
    }
    /* Ready Nodes first: real capacity beats capacity still on its way. */
    for (size_t i = 0; i < nn && !rc; i++) {
        const struct k8s_node *n = nodes[i].value;
        if (!k8s_node_ready(n))
            continue;
        size_t k = b->nnodes++;
        struct launcher_sched_node *sn = &b->nodes[k];
        const char *pool = k8s_labels_get(&n->meta.labels, LAUNCHER_KEY_NODEPOOL);
        const struct k8s_nodepool *np = pool ? k8s_informer_get(c->nodepools, pool) : NULL;
        sn->name = n->meta.name;
        sn->nodepool = pool;
        sn->labels = &n->meta.labels;
        sn->unschedulable = n->unschedulable || n->meta.has_deletion_timestamp;
        rc = node_taints(n, np, &b->taints[k], &sn->ntaints);
        sn->taints = b->taints[k];
        for (size_t j = 0; j < n->allocatable.n && !rc; j++)
            rc = k8s_res_set(&b->avail[k], n->allocatable.v[j].name, n->allocatable.v[j].milli);
        size_t it = 0;
        const char *key;
        const void *val;
        while (!rc && k8s_informer_index_next(c->pods, CONTROLLER_IDX_NODE, n->meta.name, &it,
                                              &key, &val)) {
            const struct k8s_pod *pod = val;
            if (!pod_terminal(pod))
                rc = res_sub(&b->avail[k], &pod->spec.requests);
        }
        sn->available = &b->avail[k];
    }
    /* In-flight NodeClaims: not being deleted, Node not Ready yet. */
    for (size_t i = 0; i < nc && !rc; i++) {
        const struct k8s_nodeclaim *cl = claims[i].value;
        if (claim_failed(cl))
            continue;
        const struct k8s_node *n = claim_node(c, cl);
        if (n && k8s_node_ready(n))
            continue;
        size_t k = b->nnodes++;
        struct launcher_sched_node *sn = &b->nodes[k];
        sn->name = cl->meta.name;
        sn->nodepool = k8s_labels_get(&cl->meta.labels, LAUNCHER_KEY_NODEPOOL);
        sn->labels = NULL;
        sn->requirements = cl->requirements;
        sn->nrequirements = cl->nrequirements;
        sn->taints = cl->taints;
        sn->ntaints = cl->ntaints;
        rc = claim_available(c, b, cl, &b->avail[k]);
        sn->available = &b->avail[k];
        b->node_claim[k] = cl->meta.name;
    }
out:
    core_free(nodes);
    core_free(claims);
    return rc;
}

static int build_bound(struct controller *c, struct batch *b)
{
    struct kv_item *v = NULL;
    size_t n = 0;
    int rc = collect(c->pods, &v, &n);
    for (size_t i = 0; i < n && !rc; i++) {
        const struct k8s_pod *pod = v[i].value;
        if (!str_empty(pod->spec.node_name) && !pod_terminal(pod))
            rc = bound_add(b, pod, pod->spec.node_name);
    }
    /* Pods nominated to in-flight NodeClaims count there, in claim and key order. */
    for (size_t k = 0; k < b->nnodes && !rc; k++) {
        if (!b->node_claim[k])
            continue;
        const struct prov_claim *cl = core_map_get(c->provision->claims, b->node_claim[k], NULL);
        for (size_t j = 0; cl && j < cl->npods && !rc; j++) {
            const struct k8s_pod *pod = k8s_informer_get(c->pods, cl->pods[j]);
            if (pod && str_empty(pod->spec.node_name))
                rc = bound_add(b, pod, b->node_claim[k]);
        }
    }
    core_free(v);
    return rc;
}

/* The values of a sorted item list, as the typed array the scheduler takes. */
#define VALUES_OF(items, n, type, out)                                                       \
    do {                                                                                      \
        if ((n) && !rc) {                                                                     \
            type *v_ = core_malloc((n) * sizeof(*v_));                                        \
            if (!v_)                                                                          \
                rc = CORE_E_NOMEM;                                                            \
            for (size_t i_ = 0; v_ && i_ < (n); i_++)                                         \
                v_[i_] = (items)[i_].value;                                                   \
            (out) = v_;                                                                       \
        }                                                                                     \
    } while (0)

static int build_input(struct controller *c, struct batch *b, struct launcher_sched_input *in)
{
    int rc = build_pods(c, b);
    if (!rc)
        rc = build_pools(c, b);
    if (!rc)
        rc = collect(c->daemonsets, &b->ds, &b->nds);
    VALUES_OF(b->ds, b->nds, const struct k8s_daemonset *, b->dsv);
    if (!rc)
        rc = build_nodes(c, b);
    if (!rc)
        rc = build_bound(c, b);
    if (!rc)
        rc = provision_warm_instances(c, &b->warm, &b->nwarm);
    if (!rc)
        rc = collect(c->pvcs, &b->pvcs, &b->npvcs);
    VALUES_OF(b->pvcs, b->npvcs, const struct k8s_pvc *, b->pvcv);
    if (!rc)
        rc = collect(c->pvs, &b->pvs, &b->npvs);
    VALUES_OF(b->pvs, b->npvs, const struct k8s_pv *, b->pvv);
    if (!rc)
        rc = collect(c->storage_classes, &b->scs, &b->nscs);
    VALUES_OF(b->scs, b->nscs, const struct k8s_storage_class *, b->scv);
    if (rc)
        return rc;
    memset(in, 0, sizeof(*in));
    in->offerings = controller_offerings(c);
    in->now = controller_now(c);
    in->pods = b->podv;
    in->npods = b->npods;
    in->pools = b->pools;
    in->npools = b->npools;
    in->daemonsets = b->dsv;
    in->ndaemonsets = b->nds;
    in->nodes = b->nodes;
    in->nnodes = b->nnodes;
    in->bound = b->bound;
    in->nbound = b->nbound;
    in->warm = b->warm;
    in->nwarm = b->nwarm;
    in->pvcs = b->pvcv;
    in->npvcs = b->npvcs;
    in->pvs = b->pvv;
    in->npvs = b->npvs;
    in->storage_classes = b->scv;
    in->nstorage_classes = b->nscs;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* NodeClaim documents                                                                         */
/* ------------------------------------------------------------------------------------------ */



/* Sets o[k] = v, taking v; a failure (or v NULL from a failed constructor) sets *bad. */
static void jset(json_t *o, const char *k, json_t *v, int *bad)
{
    if (!v || json_object_set_new(o, k, v) != 0)
        *bad = 1;
}

static void jpush(json_t *a, json_t *v, int *bad)
{
    if (!v || json_array_append_new(a, v) != 0)
        *bad = 1;
}

static json_t *taints_json(const struct k8s_taint *t, size_t n, int *bad)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *o = json_object();
        if (o) {
            jset(o, "key", json_string(t[i].key ? t[i].key : ""), bad);
            if (t[i].value)
                jset(o, "value", json_string(t[i].value), bad);
            jset(o, "effect", json_string(k8s_effect_name(t[i].effect)), bad);
        }
        jpush(a, o, bad);
    }
    if (!a)
        *bad = 1;
    return a;
}

static int well_known_key(const char *key)
{
    return launcher_label_index(key) >= 0 || strcmp(key, LAUNCHER_KEY_ZONE) == 0 ||
           strcmp(key, LAUNCHER_KEY_REGION) == 0 || strcmp(key, LAUNCHER_KEY_CAPACITY_TYPE) == 0;
}

static json_t *claim_json(const struct launcher_claim *cl, const struct k8s_nodepool *np,
                          const char *name)
{
    int bad = 0;
    json_t *doc = json_object();
    json_t *meta = json_object(), *labels = json_object(), *ann = json_object();
    json_t *spec = json_object();
    if (!doc || !meta || !labels || !ann || !spec) {
        json_decref(doc);
        json_decref(meta);
        json_decref(labels);
        json_decref(ann);
        json_decref(spec);
        return NULL;
    }
    jset(doc, "apiVersion", json_string(K8S_GROUP "/" K8S_GROUP_VERSION), &bad);
    jset(doc, "kind", json_string("NodeClaim"), &bad);
    jset(doc, "metadata", meta, &bad);
    jset(doc, "spec", spec, &bad);
    jset(meta, "name", json_string(name), &bad);

    for (size_t i = 0; i < np->template_labels.n; i++)
        jset(labels, np->template_labels.v[i].key, json_string(np->template_labels.v[i].value),
             &bad);
    for (size_t i = 0; i < cl->nrequirements; i++) {
        const struct k8s_requirement *r = &cl->requirements[i];
        if (r->op == K8S_OP_IN && r->values.n == 1 && well_known_key(r->key))
            jset(labels, r->key, json_string(r->values.v[0]), &bad);
    }
    jset(labels, LAUNCHER_KEY_NODEPOOL, json_string(np->meta.name), &bad);
    jset(meta, "labels", labels, &bad);

    for (size_t i = 0; i < np->template_annotations.n; i++)
        jset(ann, np->template_annotations.v[i].key,
             json_string(np->template_annotations.v[i].value), &bad);
    if (cl->warm_id)
        jset(ann, CONTROLLER_ANNOTATION_WARM, json_string(cl->warm_id), &bad);
    if (json_object_size(ann))
        jset(meta, "annotations", ann, &bad);
    else
        json_decref(ann);

    json_t *fin = json_array();
    jpush(fin, json_string(CONTROLLER_FINALIZER), &bad);
    jset(meta, "finalizers", fin, &bad);
    json_t *owners = json_array(), *owner = json_object();
    if (owner) {
        jset(owner, "apiVersion", json_string(K8S_GROUP "/" K8S_GROUP_VERSION), &bad);
        jset(owner, "kind", json_string("NodePool"), &bad);
        jset(owner, "name", json_string(np->meta.name), &bad);
        jset(owner, "uid", json_string(np->meta.uid ? np->meta.uid : ""), &bad);
        jset(owner, "blockOwnerDeletion", json_true(), &bad);
    }
    jpush(owners, owner, &bad);
    jset(meta, "ownerReferences", owners, &bad);

    json_t *reqs = json_array();
    for (size_t i = 0; reqs && i < cl->nrequirements; i++) {
        const struct k8s_requirement *r = &cl->requirements[i];
        json_t *o = json_object();
        if (o) {
            jset(o, "key", json_string(r->key), &bad);
            jset(o, "operator", json_string(k8s_op_name(r->op)), &bad);
            if (r->values.n) {
                json_t *vals = json_array();
                for (size_t j = 0; vals && j < r->values.n; j++)
                    jpush(vals, json_string(r->values.v[j]), &bad);
                jset(o, "values", vals, &bad);
            }
            if (r->min_values > 0)
                jset(o, "minValues", json_integer(r->min_values), &bad);
        }
        jpush(reqs, o, &bad);
    }
    jset(spec, "requirements", reqs, &bad);

    json_t *res = json_object(), *rq = json_object();
    for (size_t i = 0; rq && i < cl->requests.n; i++) {
        char q[64];
        k8s_quantity_format_milli(cl->requests.v[i].milli, q, sizeof(q));
        jset(rq, cl->requests.v[i].name, json_string(q), &bad);
    }
    if (res)
        jset(res, "requests", rq, &bad);
    else
        json_decref(rq);
    jset(spec, "resources", res, &bad);
    if (np->ntaints)
        jset(spec, "taints", taints_json(np->taints, np->ntaints, &bad), &bad);
    if (np->nstartup_taints)
        jset(spec, "startupTaints", taints_json(np->startup_taints, np->nstartup_taints, &bad),
             &bad);

    json_t *ref = json_object();
    if (ref) {
        const struct k8s_nodeclass_ref *r = &np->node_class_ref;
        jset(ref, "group", json_string(r->group ? r->group : K8S_GROUP), &bad);
        jset(ref, "kind", json_string(r->kind ? r->kind : "EC2NodeClass"), &bad);
        jset(ref, "name", json_string(r->name ? r->name : ""), &bad);
    }
    jset(spec, "nodeClassRef", ref, &bad);
    char d[64];
    format_duration(np->expire_after ? np->expire_after : (core_ns)720 * 3600 * CORE_NS_PER_S, d,
                    sizeof(d));
    jset(spec, "expireAfter", json_string(d), &bad);
    if (np->has_termination_grace_period) {
        format_duration(np->termination_grace_period, d, sizeof(d));
        jset(spec, "terminationGracePeriod", json_string(d), &bad);
    }
    if (bad) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* "<pool>-<5 lowercase alphanumerics>", unused by any NodeClaim we know of. */
static int claim_name(struct controller *c, const char *pool, char *out, size_t outsz)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    struct controller_provision *p = c->provision;
    for (int attempt = 0; attempt < 1000; attempt++) {
        char sfx[6];
        uint64_t x = rng_next(&p->rng);
        for (int i = 0; i < 5; i++) {
            sfx[i] = alnum[x % 36];
            x /= 36;
        }
        sfx[5] = '\0';
        int n = snprintf(out, outsz, "%s-%s", pool, sfx);
        if (n < 0 || (size_t)n >= outsz)
            return CORE_E_TOOBIG;
        if (!k8s_informer_get(c->nodeclaims, out) && !core_map_get(p->claims, out, NULL))
            return 0;
    }
    return CORE_E_CONFLICT;
}

/* ------------------------------------------------------------------------------------------ */
/* Running a batch                                                                             */
/* ------------------------------------------------------------------------------------------ */

struct create_ctx {
    struct controller_op op;
    char *name;
    char *pool;
    char *warm_id;   /* the warm instance reserved for it (controller_warmpool_reserve) */
    size_t ntypes;
};

static void nominated_event(struct controller *c, const char *pod_key, const char *claim)
{
    const struct k8s_pod *pod = k8s_informer_get(c->pods, pod_key);
    if (!pod)
        return;
    struct k8s_object_ref ref;
    pod_ref(pod, &ref);
    char msg[512];
    snprintf(msg, sizeof(msg), "Pod should schedule on: nodeclaim/%s", claim);
    controller_event(c, &ref, "Normal", "Nominated", msg);
}

static void trigger(struct controller *c);

static void backoff_fire(void *ud)
{
    struct controller *c = ud;
    c->provision->backoff_timer = NULL;
    trigger(c);
}

static int pool_backing_off(const struct controller *c, const char *pool)
{
    const struct prov_backoff *bo = core_map_get(c->provision->backoff, pool, NULL);
    return bo && controller_now(c) < bo->until;
}

/* A create refused for good: the pool backs off (BACKOFF_BASE doubling to BACKOFF_CAP; the
 * other refusals of the same batch do not double it again) and each pod that was nominated gets
 * one FailedScheduling Event naming the error, once per pool until a create succeeds: the error
 * names a new NodeClaim on every try, so pp->reason holds a marker, not the message. */
static void create_refused(struct controller *c, const char *pool, const struct prov_claim *cl,
                           const char *error)
{
    struct controller_provision *p = c->provision;
    core_ns now = controller_now(c);
    struct prov_backoff *bo = core_map_get(p->backoff, pool, NULL);
    if (!bo && (bo = core_calloc(1, sizeof(*bo))) != NULL &&
        core_map_set(p->backoff, pool, bo, NULL) != 0) {
        core_free(bo);
        bo = NULL;
    }
    if (bo && now >= bo->until) {
        bo->delay = bo->delay ? bo->delay * 2 : BACKOFF_BASE;
        if (bo->delay > BACKOFF_CAP)
            bo->delay = BACKOFF_CAP;
        bo->until = now + bo->delay;
        if (p->backoff_timer)
            core_loop_timer_cancel(c->loop, p->backoff_timer);
        /* Every pool's backoff ends at most this far away; the batch then re-plans them all. */
        p->backoff_timer = core_loop_timer_add(c->loop, bo->delay, backoff_fire, c);
    }
    char marker[300], msg[640];
    snprintf(marker, sizeof(marker), "create refused: %.250s", pool);
    snprintf(msg, sizeof(msg), "creating a NodeClaim for NodePool %.100s failed: %.480s", pool,
             error);
    for (size_t i = 0; cl && i < cl->npods; i++) {
        struct prov_pod *pp = core_map_get(p->pods, cl->pods[i], NULL);
        const struct k8s_pod *pod = k8s_informer_get(c->pods, cl->pods[i]);
        if (!pp || !pod || (pp->reason && strcmp(pp->reason, marker) == 0))
            continue;
        char *copy = core_strdup(marker);
        if (!copy)
            continue;
        core_free(pp->reason);
        pp->reason = copy;
        struct k8s_object_ref ref;
        pod_ref(pod, &ref);
        controller_event(c, &ref, "Warning", "FailedScheduling", msg);
    }
}

static void create_done(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    (void)obj;
    struct create_ctx *x = ud;
    struct controller *c = controller_op_finish(&x->op);
    if (!c)
        goto out;
    struct controller_provision *p = c->provision;
    struct prov_claim *cl = core_map_get(p->claims, x->name, NULL);
    if (rc) {
        controller_log(c, CORE_LOG_WARN, COMPONENT, x->name, "creating nodeclaim failed",
                       "nodepool", x->pool, "error", err ? err->message : core_strerror(rc),
                       (const char *)NULL);
        if (cl)
            cl->creating = 0;
        if (err && err->http_status >= 400 && err->http_status < 500 &&
            err->http_status != 409 && err->http_status != 429)
            create_refused(c, x->pool, cl, err->message[0] ? err->message : core_strerror(rc));
        release_claim(c, x->name);
        if (x->warm_id)
            controller_warmpool_unreserve(c, x->warm_id, x->name);
        goto out;
    }
    core_free(core_map_del(p->backoff, x->pool));
    size_t npods = 0;
    if (cl) {
        cl->creating = 0;
        cl->created = controller_now(c);
        if (k8s_informer_get(c->nodeclaims, x->name))
            cl->seen = 1;
        npods = cl->npods;
        for (size_t i = 0; i < cl->npods; i++)
            nominated_event(c, cl->pods[i], x->name);
    }
    c->stats.nodeclaims_created++;
    c->stats.pods_scheduled += npods;
    char np[32], nt[32];
    snprintf(np, sizeof(np), "%zu", npods);
    snprintf(nt, sizeof(nt), "%zu", x->ntypes);
    controller_log(c, CORE_LOG_INFO, COMPONENT, x->name, "nodeclaim created", "nodepool", x->pool,
                   "pods", np, "instance_types", nt, (const char *)NULL);
    if (cl)
        claim_maybe_drop(p, cl);
out:
    core_free(x->name);
    core_free(x->pool);
    core_free(x->warm_id);
    core_free(x);
}

static int create_claim(struct controller *c, const struct launcher_sched_input *in,
                        const struct batch *b, const struct launcher_plan *plan, size_t ci)
{
    struct controller_provision *p = c->provision;
    const struct launcher_claim *cl = &plan->claims[ci];
    const struct k8s_nodepool *np = in->pools[cl->pool].pool;
    char name[320];
    struct core_err err = {0};
    int rc = claim_name(c, np->meta.name, name, sizeof(name));
    if (rc)
        goto fail;
    json_t *doc = claim_json(cl, np, name);
    if (!doc) {
        rc = CORE_E_NOMEM;
        goto fail;
    }
    struct create_ctx *x = core_calloc(1, sizeof(*x));
    struct prov_claim *pc = NULL;
    if (x) {
        x->name = core_strdup(name);
        x->pool = core_strdup(np->meta.name);
        x->warm_id = cl->warm_id ? core_strdup(cl->warm_id) : NULL;
        x->ntypes = cl->ntypes;
    }
    if (x && x->name && x->pool && (!cl->warm_id || x->warm_id))
        pc = claim_get_or_new(p, name);
    if (!pc) {
        if (x) {
            core_free(x->name);
            core_free(x->pool);
            core_free(x->warm_id);
        }
        core_free(x);
        json_decref(doc);
        rc = CORE_E_NOMEM;
        goto fail;
    }
    pc->creating = 1;
    pc->created = controller_now(c);
    /* Nominate before the answer, so a batch meanwhile does not plan these pods again. */
    for (size_t i = 0; i < cl->npods && !rc; i++) {
        const char *key = b->pods[cl->pods[i]].key;
        struct prov_pod *pp = core_map_get(p->pods, key, NULL);
        if (pp)
            rc = nominate(p, key, pp, name);
    }
    /* The warm instance is this NodeClaim's from now on: a batch that runs before the
     * informer shows the NodeClaim (and its annotation) must not pair it again. */
    if (!rc && x->warm_id)
        rc = controller_warmpool_reserve(c, x->warm_id, name);
    if (!rc) {
        controller_op_track(c, &x->op);
        rc = k8s_create(c->k8s, &k8s_res_nodeclaims, NULL, doc, create_done, x, &err);
        if (rc)
            controller_op_finish(&x->op);
    }
    json_decref(doc);
    if (rc) {
        pc->creating = 0;
        release_claim(c, name);
        if (x->warm_id)
            controller_warmpool_unreserve(c, x->warm_id, name);
        core_free(x->name);
        core_free(x->pool);
        core_free(x->warm_id);
        core_free(x);
        goto fail;
    }
    return 0;
fail:
    controller_log(c, CORE_LOG_ERROR, COMPONENT, np->meta.name, "cannot create nodeclaim",
                   "error", err.code ? err.message : core_strerror(rc), (const char *)NULL);
    return rc;
}

/* Pods the plan put on an in-flight NodeClaim are nominated to it. */
static void place_on_claim(struct controller *c, const struct batch *b,
                           const struct launcher_placement *pl)
{
    const char *claim = b->node_claim[pl->node];
    if (!claim)
        return; /* a Ready Node: the kube-scheduler will bind it */
    const char *key = b->pods[pl->pod].key;
    struct prov_pod *pp = core_map_get(c->provision->pods, key, NULL);
    if (!pp || nominate(c->provision, key, pp, claim) != 0)
        return;
    struct prov_claim *pc = core_map_get(c->provision->claims, claim, NULL);
    if (pc && !pc->creating)
        pc->seen = k8s_informer_get(c->nodeclaims, claim) != NULL;
    /* A NodeClaim already launching serves this pod now: its reaction time ends here (a claim
     * still to launch takes it when its launch call goes out). */
    const struct k8s_nodeclaim *nc = k8s_informer_get(c->nodeclaims, claim);
    if (nc && k8s_condition_find(nc->conditions, nc->nconditions, "Launched") && !pp->reacted) {
        pp->reacted = 1;
        controller_reaction(c, controller_now(c) - pp->first_seen);
    }
    nominated_event(c, key, claim);
    c->stats.pods_scheduled++;
}

static void unschedulable(struct controller *c, const struct batch *b,
                          const struct launcher_unschedulable *u)
{
    const char *key = b->pods[u->pod].key;
    const struct k8s_pod *pod = b->podv[u->pod];
    struct prov_pod *pp = core_map_get(c->provision->pods, key, NULL);
    const char *reason = u->reason ? u->reason : "no capacity";
    c->stats.pods_unschedulable++;
    if (!pp || (pp->reason && strcmp(pp->reason, reason) == 0))
        return;
    char *copy = core_strdup(reason);
    if (!copy)
        return;
    core_free(pp->reason);
    pp->reason = copy;
    struct k8s_object_ref ref;
    pod_ref(pod, &ref);
    controller_event(c, &ref, "Warning", "FailedScheduling", reason);
    controller_log(c, CORE_LOG_INFO, COMPONENT, key, "pod unschedulable", "reason", reason,
                   (const char *)NULL);
}

static int synced(const struct controller *c)
{
    const struct k8s_informer *v[] = {c->pods,      c->nodes,       c->nodeclaims,
                                      c->nodepools, c->nodeclasses, c->daemonsets,
                                      c->pvcs,      c->pvs,         c->storage_classes};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (!v[i] || !k8s_informer_synced(v[i]))
            return 0;
    return 1;
}

static core_ns cpu_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (core_ns)ts.tv_sec * CORE_NS_PER_S + ts.tv_nsec;
}

static void run_batch(struct controller *c)
{
    core_ns t0 = cpu_now();
    struct batch b = {0};
    struct launcher_sched_input in;
    struct launcher_plan *plan = NULL;
    struct core_err err = {0};
    int rc = build_input(c, &b, &in);
    if (rc || b.npods == 0)
        goto out;
    rc = launcher_schedule(&in, &plan, &err);
    if (rc)
        goto out;
    c->stats.batches++;
    for (size_t i = 0; i < plan->nclaims; i++) {
        /* A pool backing off creates nothing; its timer opens the next batch. */
        if (pool_backing_off(c, in.pools[plan->claims[i].pool].pool->meta.name))
            continue;
        create_claim(c, &in, &b, plan, i); /* logged there; the pods stay pending */
    }
    for (size_t i = 0; i < plan->nplacements; i++)
        place_on_claim(c, &b, &plan->placements[i]);
    for (size_t i = 0; i < plan->nunschedulable; i++)
        unschedulable(c, &b, &plan->unschedulable[i]);
    char a[32], k[32], u[32];
    snprintf(a, sizeof(a), "%zu", b.npods);
    snprintf(k, sizeof(k), "%zu", plan->nclaims);
    snprintf(u, sizeof(u), "%zu", plan->nunschedulable);
    controller_log(c, CORE_LOG_INFO, COMPONENT, NULL, "batch scheduled", "pods", a, "nodeclaims",
                   k, "unschedulable", u, (const char *)NULL);
out:
    if (rc) {
        controller_log(c, CORE_LOG_ERROR, COMPONENT, NULL, "scheduling failed", "error",
                       err.code ? err.message : core_strerror(rc), (const char *)NULL);
        trigger(c); /* try again after the idle window */
    }
    launcher_plan_free(plan);
    batch_cleanup(&b);
    core_ns spent = cpu_now() - t0;
    if (spent > 0) {
        c->stats.decide_ns_total += spent;
        if (spent > c->stats.decide_ns_max)
            c->stats.decide_ns_max = spent;
    }
}

static void batch_fire(void *ud)
{
    struct controller *c = ud;
    struct controller_provision *p = c->provision;
    p->timer = NULL;
    p->timer_at = 0;
    core_ns now = controller_now(c);
    if (!launcher_batcher_due(&p->batcher, now)) {
        arm(c);
        return;
    }
    launcher_batcher_reset(&p->batcher);
    if (!controller_may_act(c))
        return; /* resync on becoming leader opens a batch again */
    if (!synced(c)) {
        trigger(c); /* a half-listed cluster would give wrong answers */
        return;
    }
    run_batch(c);
}

/* ------------------------------------------------------------------------------------------ */
/* Entry points                                                                                */
/* ------------------------------------------------------------------------------------------ */

int controller_provision_init(struct controller *c, struct core_err *err)
{
    struct controller_provision *p = core_calloc(1, sizeof(*p));
    if (!p)
        return CORE_E_NOMEM;
    c->provision = p;
    p->pods = core_map_new();
    p->claims = core_map_new();
    p->backoff = core_map_new();
    if (!p->pods || !p->claims || !p->backoff)
        return CORE_E_NOMEM;
    launcher_batcher_init(&p->batcher, c->opts.batch_idle, c->opts.batch_max);
    p->rng = fnv1a(c->opts.cluster_name);
    int rc = k8s_informer_add_handler(c->pods, on_pod, c);
    if (!rc)
        rc = k8s_informer_add_handler(c->nodeclaims, on_nodeclaim, c);
    if (!rc)
        rc = k8s_informer_add_handler(c->nodepools, on_nodepool, c);
    if (!rc)
        rc = k8s_informer_add_handler(c->nodeclasses, on_nodeclass, c);
    if (rc)
        return core_err_set(err, rc, "provision: informer handlers: %s", core_strerror(rc));
    return 0;
}

void controller_provision_kick(struct controller *c)
{
    if (c && c->provision && any_waiting(c))
        trigger(c);
}

void controller_provision_resync(struct controller *c)
{
    if (!c || !c->provision)
        return;
    size_t it = 0;
    const char *key;
    const void *val;
    while (k8s_informer_next(c->pods, &it, &key, &val))
        pod_changed(c, key, val);
    if (any_waiting(c))
        trigger(c);
}

void controller_provision_cleanup(struct controller *c)
{
    struct controller_provision *p = c ? c->provision : NULL;
    if (!p)
        return;
    if (p->timer)
        core_loop_timer_cancel(c->loop, p->timer);
    if (p->sweep)
        core_loop_timer_cancel(c->loop, p->sweep);
    if (p->backoff_timer)
        core_loop_timer_cancel(c->loop, p->backoff_timer);
    size_t it = 0;
    const char *key;
    void *val;
    while (p->pods && core_map_next(p->pods, &it, &key, &val)) {
        struct prov_pod *pp = val;
        core_free(pp->claim);
        core_free(pp->reason);
        core_free(pp);
    }
    it = 0;
    while (p->claims && core_map_next(p->claims, &it, &key, &val))
        claim_free(val);
    it = 0;
    while (p->backoff && core_map_next(p->backoff, &it, &key, &val))
        core_free(val);
    core_map_free(p->pods);
    core_map_free(p->claims);
    core_map_free(p->backoff);
    core_free(p);
    c->provision = NULL;
}

core_ns controller_provision_first_seen(struct controller *c, const char *pod_key)
{
    struct prov_pod *pp = c && c->provision ? core_map_get(c->provision->pods, pod_key, NULL)
                                            : NULL;
    if (!pp || pp->reacted)
        return 0;
    pp->reacted = 1;
    return pp->first_seen;
}

const char *const *controller_provision_nominated(const struct controller *c,
                                                  const char *nodeclaim, size_t *n)
{
    if (n)
        *n = 0;
    if (!c || !c->provision || !nodeclaim)
        return NULL;
    const struct prov_claim *cl = core_map_get(c->provision->claims, nodeclaim, NULL);
    if (!cl || cl->npods == 0)
        return NULL;
    if (n)
        *n = cl->npods;
    return (const char *const *)cl->pods;
}
