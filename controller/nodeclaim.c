/*
 * controller/nodeclaim.c — the NodeClaim lifecycle reconciler: launch (or find, after a
 * restart) the instance behind a NodeClaim and record it (Launched), pair the Node that
 * registers with that providerID (Registered), notice when it is Ready with its startup taints
 * gone (Initialized, Ready), enforce liveness (not Launched / Registered / Initialized in time
 * → delete), and carry out deletion (cordon, drain, terminate, delete the Node, drop the
 * finalizer).
 *
 * Invariants:
 *  - Level-triggered: every pass reads the informers' current values and issues at most one
 *    next action for the key; the informer event the write causes brings the key back.
 *  - At most one launch or find is in flight per NodeClaim (entry->launching). While it is,
 *    nothing else is decided for the key; its callback records the answer in the entry and
 *    re-queues the key. An instance this process launched but has not yet written into the
 *    NodeClaim's status lives in the entry, so a NodeClaim deleted meanwhile still gets its
 *    instance terminated.
 *  - A write that succeeded is remembered in the entry until the informer shows its effect, so
 *    a stale informer cannot make a pass repeat it (or count it twice in the stats).
 *  - Nothing is written unless controller_may_act(); a follower only keeps no state.
 *  - Deletion never waits for what cannot happen: pods stuck terminating (deleted more than
 *    their grace + 1 minute ago) are not waited for, and a Node NotReady for more than 5
 *    minutes is not drained at all.
 *  - A launch that failed without a definite answer (timeout, transport, 5xx) may have created
 *    the instance: the next attempt looks for it first.
 *  - Calls into launch.c may never answer when the controller is freed first: their contexts
 *    are kept on a list owned here and freed in _cleanup. Kubernetes calls always answer and
 *    use the tracked-op pattern.
 */
#include "controller/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define COMP "nodeclaim"
#define NC_API_VERSION K8S_GROUP "/" K8S_GROUP_VERSION
#define NC_DISRUPTED_TAINT "stoker.dev/disrupted"
#define NC_MIRROR_ANNOTATION "kubernetes.io/config.mirror"
#define NC_DRAIN_POLL ((core_ns)1000000000)
#define NC_DEFAULT_LAUNCH_TIMEOUT ((core_ns)300 * 1000000000)
#define NC_DEFAULT_REGISTER_TIMEOUT ((core_ns)900 * 1000000000)
#define NC_KEY_MAX 256
#define NC_RETRY_BASE ((core_ns)1000000000)
#define NC_RETRY_CAP ((core_ns)60 * 1000000000)
#define NC_POD_DEFAULT_GRACE ((core_ns)30 * 1000000000)
#define NC_STUCK_TERMINATING ((core_ns)60 * 1000000000)
#define NC_NOT_READY_SKIP ((core_ns)300 * 1000000000)
#define NC_INIT_TIMEOUT ((core_ns)900 * 1000000000)

/* What this process knows about one NodeClaim beyond the informer. */
struct nc_entry {
    int launching;          /* a launch or find is in flight */
    int have_instance;      /* res holds the NodeClaim's instance */
    struct controller_launch_result res;
    int launched_at_start;  /* res came from launch_start (latency recorded) */
    int searched;           /* launch_find answered: nothing launched before */
    int capacity_failed;    /* the last launch found no capacity */
    int state_failed;       /* the last launch said: class not ready / warm instance gone */
    int warm_cleared;       /* the warm annotation was removed here; the informer may lag */
    int reaction_done;      /* reaction samples taken for the first launch call */
    int launched_written;   /* status Launched written, informer may lag */
    int registered_written;
    int initialized_written;
    int terminated;         /* TerminateInstances answered for the instance */
    int finalizer_removed;
    int delete_requested;   /* this process asked to delete the NodeClaim */
    int node_delete_requested;
    int drain_logged;       /* "draining" said once per deletion, not once per poll */
    unsigned failures;      /* launch/find failures in a row: the retry backoff */
    core_ns retry_at;       /* monotonic: no launch or find before this */
    char last_error[256];   /* the last launch error, for the LaunchFailed Event */
};

struct nc_call; /* a launch.c call in flight */

struct controller_nodeclaim {
    struct core_wq *wq;
    struct core_map *entries; /* key -> struct nc_entry * */
    struct nc_call *calls;    /* launch.c calls in flight (doubly linked) */
};

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */
/* ------------------------------------------------------------------------------------------ */

static struct nc_entry *entry_get(struct controller *c, const char *key, int create)
{
    int found = 0;
    struct nc_entry *e = core_map_get(c->nodeclaim->entries, key, &found);
    if (found || !create)
        return e;
    e = core_calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    void *old = NULL;
    if (core_map_set(c->nodeclaim->entries, key, e, &old) != 0) {
        core_free(e);
        return NULL;
    }
    return e;
}

static void entry_drop(struct controller *c, const char *key)
{
    core_free(core_map_del(c->nodeclaim->entries, key));
}

static void requeue(struct controller *c, const char *key)
{
    if (core_wq_add(c->nodeclaim->wq, key) != 0)
        controller_log(c, CORE_LOG_WARN, COMP, key, "requeue failed", (const char *)NULL);
}

static void requeue_after(struct controller *c, const char *key, core_ns d)
{
    if (d < 0)
        d = 0;
    if (core_wq_add_after(c->nodeclaim->wq, key, d) != 0)
        controller_log(c, CORE_LOG_WARN, COMP, key, "requeue failed", (const char *)NULL);
}

static int cond_true(const struct k8s_nodeclaim *nc, const char *type)
{
    const struct k8s_condition *k = k8s_condition_find(nc->conditions, nc->nconditions, type);
    return k && k->status == K8S_COND_TRUE;
}

static int has_finalizer(const struct k8s_meta *m)
{
    return k8s_strings_contains(&m->finalizers, CONTROLLER_FINALIZER);
}

/* The instance id of "aws:///<zone>/<id>", or NULL. */
static const char *instance_of(const char *provider_id)
{
    if (!provider_id || strncmp(provider_id, "aws:///", 7) != 0)
        return NULL;
    const char *slash = strrchr(provider_id, '/');
    if (!slash || strncmp(slash + 1, "i-", 2) != 0)
        return NULL;
    return slash + 1;
}


static const char *status_name(enum k8s_cond_status s)
{
    return s == K8S_COND_TRUE ? "True" : s == K8S_COND_FALSE ? "False" : "Unknown";
}

static void object_ref(const struct k8s_nodeclaim *nc, struct k8s_object_ref *ref)
{
    memset(ref, 0, sizeof(*ref));
    ref->api_version = NC_API_VERSION;
    ref->kind = "NodeClaim";
    ref->name = nc->meta.name;
    ref->uid = nc->meta.uid;
}

/* The Node paired with nc: by providerID, else by status.nodeName. */
static const struct k8s_node *node_of(const struct controller *c, const struct k8s_nodeclaim *nc)
{
    if (nc->provider_id && nc->provider_id[0]) {
        size_t it = 0;
        const char *k = NULL;
        const void *v = NULL;
        if (k8s_informer_index_next(c->nodes, CONTROLLER_IDX_PROVIDER, nc->provider_id, &it, &k,
                                    &v) && v)
            return v;
    }
    if (nc->node_name && nc->node_name[0])
        return k8s_informer_get(c->nodes, nc->node_name);
    return NULL;
}

static int taint_same(const struct k8s_taint *a, const struct k8s_taint *b)
{
    return strcmp(a->key, b->key) == 0 && a->effect == b->effect;
}

static int node_has_taint(const struct k8s_node *n, const char *key, enum k8s_effect effect)
{
    for (size_t i = 0; i < n->ntaints; i++)
        if (strcmp(n->taints[i].key, key) == 0 && n->taints[i].effect == effect)
            return 1;
    return 0;
}

static json_t *taint_json(const char *key, const char *value, enum k8s_effect effect)
{
    json_t *t = json_pack("{s:s, s:s}", "key", key, "effect", k8s_effect_name(effect));
    if (t && value && json_object_set_new(t, "value", json_string(value)) != 0) {
        json_decref(t);
        return NULL;
    }
    return t;
}

static int array_push(json_t *arr, json_t *v)
{
    return v && json_array_append_new(arr, v) == 0 ? 0 : CORE_E_NOMEM;
}

static int obj_put(json_t *obj, const char *k, json_t *v)
{
    return v && json_object_set_new(obj, k, v) == 0 ? 0 : CORE_E_NOMEM;
}

/* The NodeClaim's conditions with `set` (types/reasons, all True) applied: merge patches
 * replace arrays, so the whole list is written each time. */
struct cond_set {
    const char *type, *reason;
};
static json_t *conditions_json(const struct controller *c, const struct k8s_nodeclaim *nc,
                               const struct cond_set *set, size_t nset)
{
    char now[64], t[64];
    json_t *arr = json_array();
    int rc = arr ? 0 : CORE_E_NOMEM;
    core_time_rfc3339(controller_wall(c), now, sizeof(now));
    for (size_t i = 0; !rc && i < nc->nconditions; i++) {
        const struct k8s_condition *k = &nc->conditions[i];
        int replaced = 0;
        for (size_t j = 0; j < nset; j++)
            replaced |= strcmp(k->type, set[j].type) == 0 && k->status != K8S_COND_TRUE;
        if (replaced)
            continue; /* written below with a new transition time */
        json_t *o = json_pack("{s:s, s:s}", "type", k->type, "status", status_name(k->status));
        if (o && k->reason)
            rc = obj_put(o, "reason", json_string(k->reason));
        if (!rc && o && k->message)
            rc = obj_put(o, "message", json_string(k->message));
        if (!rc && o && k->has_last_transition_time) {
            core_time_rfc3339(k->last_transition_time, t, sizeof(t));
            rc = obj_put(o, "lastTransitionTime", json_string(t));
        }
        if (!rc)
            rc = array_push(arr, o);
        else
            json_decref(o);
    }
    for (size_t j = 0; !rc && j < nset; j++) {
        if (cond_true(nc, set[j].type))
            continue;
        rc = array_push(arr, json_pack("{s:s, s:s, s:s, s:s}", "type", set[j].type, "status",
                                       "True", "reason", set[j].reason, "lastTransitionTime",
                                       now));
    }
    if (rc) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

static json_t *qty(int64_t milli)
{
    char b[64];
    k8s_quantity_format_milli(milli, b, sizeof(b));
    return json_string(b);
}

/* ------------------------------------------------------------------------------------------ */
/* Kubernetes writes: one or two chained requests, then the step's bookkeeping                */
/* ------------------------------------------------------------------------------------------ */

enum nc_step {
    STEP_PLAIN = 0,        /* nothing to record */
    STEP_LAUNCHED,
    STEP_REGISTERED,
    STEP_INITIALIZED,
    STEP_FINALIZER,        /* NodeClaim finalizer removed: deletion done */
    STEP_DELETE_LIVENESS,  /* NodeClaim deleted for liveness */
    STEP_DELETE,           /* NodeClaim deleted (capacity, Node gone) */
    STEP_NODE_DELETE,
    STEP_WARM_CLEARED,
};

struct nc_write {
    const struct k8s_resource *res;
    char name[254];
    const char *sub;            /* "status" or NULL */
    enum k8s_patch_type type;
    json_t *patch;              /* NULL: delete */
    char uid[64];               /* delete precondition */
};

struct nc_wctx {
    struct controller_op op;    /* first */
    char key[NC_KEY_MAX];
    enum nc_step step;
    struct nc_write w[2];
    size_t i, n;
};

static void wctx_free(struct nc_wctx *x)
{
    for (size_t i = 0; i < 2; i++)
        json_decref(x->w[i].patch);
    core_free(x);
}

static void write_done(void *ud, int rc, json_t *obj, const struct core_err *err);

static int write_issue(struct controller *c, struct nc_wctx *x, struct core_err *err)
{
    struct nc_write *w = &x->w[x->i];
    controller_op_track(c, &x->op);
    int rc;
    if (w->patch) {
        rc = k8s_patch(c->k8s, w->res, NULL, w->name, w->sub, w->type, w->patch, write_done, x,
                       err);
    } else {
        struct k8s_delete_opts o = {.grace_period_seconds = -1};
        o.precondition_uid = w->uid[0] ? w->uid : NULL;
        rc = k8s_delete(c->k8s, w->res, NULL, w->name, &o, write_done, x, err);
    }
    if (rc)
        (void)controller_op_finish(&x->op);
    return rc;
}

static void step_ok(struct controller *c, const char *key, enum nc_step step)
{
    struct nc_entry *e = entry_get(c, key, 0);
    switch (step) {
    case STEP_LAUNCHED:
        if (e)
            e->launched_written = 1;
        break;
    case STEP_REGISTERED:
        if (e)
            e->registered_written = 1;
        c->stats.registered++;
        break;
    case STEP_INITIALIZED:
        if (e)
            e->initialized_written = 1;
        c->stats.initialized++;
        break;
    case STEP_FINALIZER:
        if (e)
            e->finalizer_removed = 1;
        c->stats.nodeclaims_deleted++;
        break;
    case STEP_DELETE_LIVENESS:
        if (e)
            e->delete_requested = 1;
        c->stats.liveness_deleted++;
        break;
    case STEP_DELETE:
        if (e)
            e->delete_requested = 1;
        break;
    case STEP_NODE_DELETE:
        if (e)
            e->node_delete_requested = 1;
        break;
    case STEP_WARM_CLEARED:
        /* The cold launch goes at once: the failure was the warm instance's, not a reason
         * to back off, and nothing was launched cold before (no need to look first: a find
         * by tag could even answer the released warm instance). */
        if (e) {
            e->state_failed = 0;
            e->warm_cleared = 1;
            e->failures = 0;
            e->retry_at = 0;
            e->searched = 1;
        }
        break;
    case STEP_PLAIN:
        break;
    }
}

static void write_done(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct nc_wctx *x = ud;
    struct controller *c = controller_op_finish(&x->op);
    (void)obj;
    if (!c) {
        wctx_free(x);
        return;
    }
    /* Deleting what is already gone is done. */
    if (rc == CORE_E_NOTFOUND && !x->w[x->i].patch)
        rc = 0;
    struct core_err e2;
    core_err_clear(&e2);
    if (rc == 0 && x->i + 1 < x->n && !controller_may_act(c)) {
        /* Lost the lease half-way: the new leader's pass redoes the step. */
        core_wq_done(c->nodeclaim->wq, x->key, CORE_WQ_OK);
        wctx_free(x);
        return;
    }
    if (rc == 0 && x->i + 1 < x->n) {
        x->i++;
        rc = write_issue(c, x, &e2);
        if (rc == 0)
            return;
        err = &e2;
    }
    if (rc == 0) {
        step_ok(c, x->key, x->step);
        core_wq_done(c->nodeclaim->wq, x->key, CORE_WQ_OK);
    } else {
        controller_log(c, CORE_LOG_WARN, COMP, x->key, "write failed", "resource",
                       x->w[x->i].res->kind, "name", x->w[x->i].name, "error",
                       err && err->message[0] ? err->message : core_strerror(rc), (const char *)NULL);
        core_wq_done(c->nodeclaim->wq, x->key, CORE_WQ_RETRY);
    }
    wctx_free(x);
}

static void wset(struct nc_write *w, const struct k8s_resource *res, const char *name,
                 const char *sub, enum k8s_patch_type type, json_t *patch, const char *uid)
{
    w->res = res;
    core_strlcpy(w->name, name, sizeof(w->name));
    w->sub = sub;
    w->type = type;
    w->patch = patch;
    if (uid)
        core_strlcpy(w->uid, uid, sizeof(w->uid));
}

/* Issues w[0] (then w[1]) for key; takes the patches. On any failure (the patches are
 * released) the key is done with RETRY. The pass that calls this must not call done itself. */
static void write_start(struct controller *c, const char *key, enum nc_step step,
                        const struct nc_write *w, size_t n)
{
    struct core_err err;
    core_err_clear(&err);
    struct nc_wctx *x = core_calloc(1, sizeof(*x));
    if (!x) {
        for (size_t i = 0; i < n; i++)
            json_decref(w[i].patch);
        core_wq_done(c->nodeclaim->wq, key, CORE_WQ_RETRY);
        return;
    }
    core_strlcpy(x->key, key, sizeof(x->key));
    x->step = step;
    x->n = n;
    for (size_t i = 0; i < n; i++)
        x->w[i] = w[i];
    if (write_issue(c, x, &err) != 0) {
        controller_log(c, CORE_LOG_WARN, COMP, key, "write failed", "error", err.message,
                       (const char *)NULL);
        wctx_free(x);
        core_wq_done(c->nodeclaim->wq, key, CORE_WQ_RETRY);
    }
}

/* One patch; patch NULL (out of memory building it) is a retry. */
static void patch1(struct controller *c, const char *key, enum nc_step step,
                   const struct k8s_resource *res, const char *name, const char *sub,
                   enum k8s_patch_type type, json_t *patch)
{
    struct nc_write w = {0};
    if (!patch) {
        core_wq_done(c->nodeclaim->wq, key, CORE_WQ_RETRY);
        return;
    }
    wset(&w, res, name, sub, type, patch, NULL);
    write_start(c, key, step, &w, 1);
}

static void delete_claim(struct controller *c, const char *key, const struct k8s_nodeclaim *nc,
                         enum nc_step step)
{
    struct nc_write w = {0};
    wset(&w, &k8s_res_nodeclaims, nc->meta.name, NULL, K8S_PATCH_MERGE, NULL, nc->meta.uid);
    write_start(c, key, step, &w, 1);
}

/* JSON patch removing our finalizer at its index, guarded by a test so a concurrent change of
 * the list fails (and is retried) instead of removing someone else's. */
static json_t *finalizer_remove_patch(const struct k8s_meta *m)
{
    for (size_t i = 0; i < m->finalizers.n; i++) {
        if (strcmp(m->finalizers.v[i], CONTROLLER_FINALIZER) != 0)
            continue;
        char path[64];
        snprintf(path, sizeof(path), "/metadata/finalizers/%zu", i);
        return json_pack("[{s:s, s:s, s:s}, {s:s, s:s}]", "op", "test", "path", path, "value",
                         CONTROLLER_FINALIZER, "op", "remove", "path", path);
    }
    return NULL;
}

static json_t *finalizer_add_patch(const struct k8s_meta *m)
{
    if (m->finalizers.n == 0)
        return json_pack("[{s:s, s:s, s:[s]}]", "op", "add", "path", "/metadata/finalizers",
                         "value", CONTROLLER_FINALIZER);
    return json_pack("[{s:s, s:s, s:s}]", "op", "add", "path", "/metadata/finalizers/-", "value",
                     CONTROLLER_FINALIZER);
}

/* ------------------------------------------------------------------------------------------ */
/* launch.c calls                                                                              */
/* ------------------------------------------------------------------------------------------ */

enum nc_call_kind { CALL_FIND, CALL_LAUNCH, CALL_TERMINATE };

struct nc_call {
    struct nc_call *prev, *next;
    char key[NC_KEY_MAX];
    enum nc_call_kind kind;
};

static struct nc_call *call_new(struct controller *c, const char *key, enum nc_call_kind kind)
{
    struct nc_call *k = core_calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    core_strlcpy(k->key, key, sizeof(k->key));
    k->kind = kind;
    k->next = c->nodeclaim->calls;
    if (k->next)
        k->next->prev = k;
    c->nodeclaim->calls = k;
    return k;
}

static void call_free(struct controller *c, struct nc_call *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else if (c && c->nodeclaim && c->nodeclaim->calls == k)
        c->nodeclaim->calls = k->next;
    if (k->next)
        k->next->prev = k->prev;
    core_free(k);
}

static void launch_answer(struct controller *c, void *ud, int rc,
                          const struct controller_launch_result *res,
                          const struct core_err *err)
{
    struct nc_call *k = ud;
    char key[NC_KEY_MAX];
    enum nc_call_kind kind = k->kind;
    core_strlcpy(key, k->key, sizeof(key));
    call_free(c, k);
    if (!c->nodeclaim)
        return;
    struct nc_entry *e = entry_get(c, key, 1);
    if (!e) {
        requeue(c, key);
        return;
    }
    e->launching = 0;
    if (rc == 0)
        e->failures = 0;
    if (rc == 0 && res && res->instance_id[0]) {
        e->have_instance = 1;
        e->res = *res;
        e->launched_at_start = kind == CALL_LAUNCH;
        e->capacity_failed = e->state_failed = 0;
        controller_log(c, CORE_LOG_INFO, COMP, key,
                       kind == CALL_FIND ? "found instance launched earlier" : "launched",
                       "instance", res->instance_id, "type", res->instance_type, "zone",
                       res->zone, "capacity_type", res->capacity_type, "warm",
                       res->warm ? "true" : "false", (const char *)NULL);
        if (kind == CALL_LAUNCH) {
            const struct k8s_nodeclaim *nc = k8s_informer_get(c->nodeclaims, key);
            if (nc && nc->meta.has_creation_timestamp)
                controller_launch_latency(
                    c, res->warm,
                    (double)(controller_wall(c) - nc->meta.creation_timestamp) / 1e9);
        }
        requeue(c, key);
        return;
    }
    if (rc == 0) {
        e->searched = 1;
        requeue(c, key);
        return;
    }
    /* launch.c counts the failure (stats.launch_failures); here only what to do next. */
    const char *msg = err && err->message[0] ? err->message : core_strerror(rc);
    core_strlcpy(e->last_error, msg, sizeof(e->last_error));
    /* Our own backoff: the work queue's resets whenever a pass ends OK, and a launch pass
     * always does (the answer comes later). */
    core_ns delay = NC_RETRY_BASE;
    for (unsigned i = 0; i < e->failures && delay < NC_RETRY_CAP; i++)
        delay *= 2;
    if (delay > NC_RETRY_CAP)
        delay = NC_RETRY_CAP;
    e->failures++;
    e->retry_at = controller_now(c) + delay;
    /* A launch whose answer was lost (timeout, connection, server error) may have created the
     * instance all the same: look for it again before launching anew. */
    if (kind == CALL_LAUNCH &&
        (rc == CORE_E_TIMEOUT || rc == CORE_E_TRANSPORT || rc == CORE_E_TLS ||
         (err && err->http_status >= 500)))
        e->searched = 0;
    if (rc == CORE_E_SERVICE && err && aws_error_is_capacity(err->service_code)) {
        e->capacity_failed = 1;
        controller_log(c, CORE_LOG_WARN, COMP, key, "no capacity for any offering", "error",
                       msg, (const char *)NULL);
        requeue(c, key);
    } else if (rc == CORE_E_CANCELLED) {
        /* Not acting (leadership lost mid-launch): nothing is wrong with the NodeClaim or its
         * warm instance; try again later (the warm annotation stays). */
        controller_log(c, CORE_LOG_INFO, COMP, key, "launch cancelled: not acting", "error",
                       msg, (const char *)NULL);
        requeue_after(c, key, delay);
    } else if (rc == CORE_E_STATE) {
        e->state_failed = 1;
        controller_log(c, CORE_LOG_INFO, COMP, key, "launch not possible yet", "error", msg,
                       (const char *)NULL);
        const struct k8s_nodeclaim *nc = k8s_informer_get(c->nodeclaims, key);
        if (nc && k8s_labels_get(&nc->meta.annotations, CONTROLLER_ANNOTATION_WARM))
            requeue(c, key); /* the next pass drops the warm instance at once */
        else
            requeue_after(c, key, delay);
    } else {
        controller_log(c, CORE_LOG_WARN, COMP, key, "launch failed", "error", msg,
                       (const char *)NULL);
        requeue_after(c, key, delay);
    }
}

static void terminate_answer(struct controller *c, void *ud, int rc, const struct core_err *err)
{
    struct nc_call *k = ud;
    char key[NC_KEY_MAX];
    core_strlcpy(key, k->key, sizeof(key));
    call_free(c, k);
    if (!c->nodeclaim)
        return;
    if (rc == 0) {
        struct nc_entry *e = entry_get(c, key, 0);
        if (e)
            e->terminated = 1;
        core_wq_done(c->nodeclaim->wq, key, CORE_WQ_OK);
        requeue(c, key);
        return;
    }
    controller_log(c, CORE_LOG_WARN, COMP, key, "terminate failed", "error",
                   err && err->message[0] ? err->message : core_strerror(rc), (const char *)NULL);
    core_wq_done(c->nodeclaim->wq, key, CORE_WQ_RETRY);
}

/* Terminates instance for key; the pass ends in terminate_answer. */
static void terminate(struct controller *c, const char *key, const char *instance)
{
    struct core_err err;
    core_err_clear(&err);
    struct nc_call *k = call_new(c, key, CALL_TERMINATE);
    if (!k) {
        core_wq_done(c->nodeclaim->wq, key, CORE_WQ_RETRY);
        return;
    }
    controller_log(c, CORE_LOG_INFO, COMP, key, "terminating instance", "instance", instance,
                   (const char *)NULL);
    if (controller_terminate(c, instance, terminate_answer, k, &err) != 0) {
        call_free(c, k);
        controller_log(c, CORE_LOG_WARN, COMP, key, "terminate failed", "error", err.message,
                       (const char *)NULL);
        core_wq_done(c->nodeclaim->wq, key, CORE_WQ_RETRY);
    }
}

/* Starts a find or a launch; the pass is done at once (the answer re-queues the key). */
static void launch_call(struct controller *c, const char *key, const struct k8s_nodeclaim *nc,
                        struct nc_entry *e, enum nc_call_kind kind)
{
    struct core_err err;
    core_err_clear(&err);
    struct nc_call *k = call_new(c, key, kind);
    int rc;
    if (!k) {
        core_wq_done(c->nodeclaim->wq, key, CORE_WQ_RETRY);
        return;
    }
    if (kind == CALL_FIND) {
        rc = controller_launch_find(c, nc->meta.name, launch_answer, k, &err);
    } else {
        core_ns now = controller_now(c);
        rc = controller_launch_start(c, nc, launch_answer, k, &err);
        if (rc == 0 && !e->reaction_done) {
            /* Reaction time ends when the first launch call serving a pod is issued. */
            size_t n = 0;
            const char *const *pods = controller_provision_nominated(c, nc->meta.name, &n);
            for (size_t i = 0; pods && i < n; i++) {
                core_ns seen = controller_provision_first_seen(c, pods[i]);
                if (seen > 0)
                    controller_reaction(c, now - seen);
            }
            e->reaction_done = 1;
        }
    }
    if (rc != 0) {
        call_free(c, k);
        controller_log(c, CORE_LOG_WARN, COMP, key,
                       kind == CALL_FIND ? "find failed" : "launch failed", "error", err.message,
                       (const char *)NULL);
        core_wq_done(c->nodeclaim->wq, key, CORE_WQ_RETRY);
        return;
    }
    e->launching = 1;
    controller_log(c, CORE_LOG_DEBUG, COMP, key,
                   kind == CALL_FIND ? "looking for an earlier instance" : "launching",
                   (const char *)NULL);
    core_wq_done(c->nodeclaim->wq, key, CORE_WQ_OK);
}

/* ------------------------------------------------------------------------------------------ */
/* Launched: status and labels from the launch result                                          */
/* ------------------------------------------------------------------------------------------ */

static int64_t root_volume_bytes(const struct k8s_ec2nodeclass *cls)
{
    for (size_t i = 0; cls && i < cls->nblock_devices; i++)
        if (cls->block_devices[i].root_volume && cls->block_devices[i].ebs.volume_size > 0)
            return cls->block_devices[i].ebs.volume_size;
    for (size_t i = 0; cls && i < cls->nblock_devices; i++)
        if (cls->block_devices[i].device_name &&
            strcmp(cls->block_devices[i].device_name, "/dev/xvda") == 0 &&
            cls->block_devices[i].ebs.volume_size > 0)
            return cls->block_devices[i].ebs.volume_size;
    return LAUNCHER_DEFAULT_ROOT_VOLUME_BYTES;
}

/* capacity and allocatable of the launched type, with the class's kubelet settings. */
static int resources_json(const struct controller *c, const struct k8s_nodeclaim *nc,
                          const char *type, json_t *status)
{
    const struct launcher_itype *t = launcher_catalog_find(controller_catalog(c), type);
    if (!t)
        return 0; /* unknown to the catalog: the Node will tell */
    const struct k8s_ec2nodeclass *cls =
        nc->node_class_ref.name ? k8s_informer_get(c->nodeclasses, nc->node_class_ref.name)
                                : NULL;
    struct launcher_alloc_opts o = {0};
    if (cls && cls->kubelet.has_max_pods && cls->kubelet.max_pods > 0 &&
        cls->kubelet.max_pods <= INT32_MAX)
        o.max_pods = (int32_t)cls->kubelet.max_pods;
    if (cls && cls->kubelet.has_pods_per_core && cls->kubelet.pods_per_core > 0 &&
        cls->kubelet.pods_per_core <= INT32_MAX)
        o.pods_per_core = (int32_t)cls->kubelet.pods_per_core;
    o.root_volume_bytes = root_volume_bytes(cls);
    struct launcher_alloc a;
    if (launcher_allocatable(t, &o, &a) != 0)
        return 0;
    json_t *cap = json_object(), *alloc = json_object();
    int rc = cap && alloc ? 0 : CORE_E_NOMEM;
    if (!rc)
        rc = obj_put(cap, "cpu", qty((int64_t)t->vcpu * 1000));
    if (!rc)
        rc = obj_put(cap, "memory", qty(t->memory_mib * 1048576 * 1000));
    if (!rc)
        rc = obj_put(cap, "pods", qty((int64_t)a.pods * 1000));
    if (!rc)
        rc = obj_put(cap, "ephemeral-storage", qty(o.root_volume_bytes * 1000));
    if (!rc)
        rc = obj_put(alloc, "cpu", qty(a.cpu_milli));
    if (!rc)
        rc = obj_put(alloc, "memory", qty(a.memory_bytes * 1000));
    if (!rc)
        rc = obj_put(alloc, "pods", qty((int64_t)a.pods * 1000));
    if (!rc)
        rc = obj_put(alloc, "ephemeral-storage", qty(a.ephemeral_bytes * 1000));
    const char *ext = NULL;
    int32_t count = 0;
    if (t->gpu_count > 0 && t->gpu_manufacturer && strcmp(t->gpu_manufacturer, "nvidia") == 0) {
        ext = "nvidia.com/gpu";
        count = t->gpu_count;
    } else if (t->accelerator_count > 0) {
        ext = "aws.amazon.com/neuron";
        count = t->accelerator_count;
    }
    if (!rc && ext)
        rc = obj_put(cap, ext, qty((int64_t)count * 1000));
    if (!rc && ext)
        rc = obj_put(alloc, ext, qty((int64_t)count * 1000));
    if (!rc) {
        rc = obj_put(status, "capacity", cap);
        cap = NULL;
    }
    if (!rc) {
        rc = obj_put(status, "allocatable", alloc);
        alloc = NULL;
    }
    json_decref(cap);
    json_decref(alloc);
    return rc;
}

static void write_launched(struct controller *c, const char *key, const struct k8s_nodeclaim *nc,
                           const struct controller_launch_result *r)
{
    char pid[160];
    snprintf(pid, sizeof(pid), "aws:///%s/%s", r->zone, r->instance_id);
    const struct launcher_itype *t = launcher_catalog_find(controller_catalog(c), r->instance_type);
    json_t *labels = json_pack("{s:s, s:s, s:s}", launcher_label_key(LAUNCHER_L_INSTANCE_TYPE),
                               r->instance_type, LAUNCHER_KEY_ZONE, r->zone,
                               LAUNCHER_KEY_CAPACITY_TYPE,
                               r->capacity_type[0] ? r->capacity_type : LAUNCHER_CT_ON_DEMAND);
    int rc = labels ? 0 : CORE_E_NOMEM;
    if (!rc && t)
        rc = obj_put(labels, launcher_label_key(LAUNCHER_L_ARCH), json_string(t->arch));
    json_t *meta = NULL;
    if (!rc) {
        meta = json_pack("{s:{s:O}}", "metadata", "labels", labels);
        if (!meta)
            rc = CORE_E_NOMEM;
    }
    json_decref(labels);

    static const struct cond_set launched[] = {{"Launched", "Launched"}};
    json_t *st = json_pack("{s:s}", "providerID", pid), *status = NULL;
    if (!st)
        rc = CORE_E_NOMEM;
    if (!rc && r->image_id[0])
        rc = obj_put(st, "imageID", json_string(r->image_id));
    if (!rc)
        rc = resources_json(c, nc, r->instance_type, st);
    if (!rc)
        rc = obj_put(st, "conditions", conditions_json(c, nc, launched, 1));
    if (!rc) {
        status = json_pack("{s:o}", "status", st);
        st = NULL;
        if (!status)
            rc = CORE_E_NOMEM;
    }
    json_decref(st);
    if (rc) {
        json_decref(meta);
        json_decref(status);
        core_wq_done(c->nodeclaim->wq, key, CORE_WQ_RETRY);
        return;
    }
    /* Labels first: once Launched is visible the next steps read them. */
    struct nc_write w[2] = {{0}};
    wset(&w[0], &k8s_res_nodeclaims, nc->meta.name, NULL, K8S_PATCH_MERGE, meta, NULL);
    wset(&w[1], &k8s_res_nodeclaims, nc->meta.name, "status", K8S_PATCH_MERGE, status, NULL);
    controller_log(c, CORE_LOG_INFO, COMP, key, "recording launch", "providerID", pid,
                   (const char *)NULL);
    write_start(c, key, STEP_LAUNCHED, w, 2);
}

/* ------------------------------------------------------------------------------------------ */
/* Registration and initialisation                                                             */
/* ------------------------------------------------------------------------------------------ */

static void do_register(struct controller *c, const char *key, const struct k8s_nodeclaim *nc,
                        const struct k8s_node *node)
{
    json_t *owner = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", NC_API_VERSION,
                              "kind", "NodeClaim", "name", nc->meta.name, "uid",
                              nc->meta.uid ? nc->meta.uid : "", "controller", 1,
                              "blockOwnerDeletion", 1);
    json_t *owners = json_array(), *fins = json_array(), *labels = json_object(),
           *taints = json_array();
    int rc = owner && owners && fins && labels && taints ? 0 : CORE_E_NOMEM;
    for (size_t i = 0; !rc && i < node->meta.nowners; i++) {
        const struct k8s_owner_ref *o = &node->meta.owners[i];
        if (o->kind && strcmp(o->kind, "NodeClaim") == 0)
            continue;
        json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "apiVersion",
                              o->api_version ? o->api_version : "", "kind",
                              o->kind ? o->kind : "", "name", o->name ? o->name : "", "uid",
                              o->uid ? o->uid : "");
        if (j && o->controller)
            rc = obj_put(j, "controller", json_true());
        if (!rc)
            rc = array_push(owners, j);
        else
            json_decref(j);
    }
    if (!rc) {
        rc = array_push(owners, owner);
        owner = NULL;
    }
    for (size_t i = 0; !rc && i < node->meta.finalizers.n; i++)
        rc = array_push(fins, json_string(node->meta.finalizers.v[i]));
    if (!rc && !has_finalizer(&node->meta))
        rc = array_push(fins, json_string(CONTROLLER_FINALIZER));
    for (size_t i = 0; !rc && i < nc->meta.labels.n; i++)
        rc = obj_put(labels, nc->meta.labels.v[i].key, json_string(nc->meta.labels.v[i].value));
    if (!rc)
        rc = obj_put(labels, CONTROLLER_LABEL_REGISTERED, json_string("true"));
    for (size_t i = 0; !rc && i < node->ntaints; i++) {
        const struct k8s_taint *t = &node->taints[i];
        if (strcmp(t->key, USERDATA_STARTUP_TAINT_KEY) == 0)
            continue;
        rc = array_push(taints, taint_json(t->key, t->value, t->effect));
    }
    for (size_t i = 0; !rc && i < nc->ntaints; i++) {
        int present = 0;
        for (size_t j = 0; j < node->ntaints; j++)
            present |= taint_same(&nc->taints[i], &node->taints[j]);
        if (!present)
            rc = array_push(taints, taint_json(nc->taints[i].key, nc->taints[i].value,
                                               nc->taints[i].effect));
    }
    json_t *npatch = NULL;
    if (!rc) {
        npatch = json_pack("{s:{s:O, s:O, s:O}, s:{s:O}}", "metadata", "ownerReferences", owners,
                           "finalizers", fins, "labels", labels, "spec", "taints", taints);
        if (!npatch)
            rc = CORE_E_NOMEM;
    }
    json_decref(owner);
    json_decref(owners);
    json_decref(fins);
    json_decref(labels);
    json_decref(taints);

    static const struct cond_set registered[] = {{"Registered", "Registered"}};
    json_t *spatch = NULL;
    if (!rc) {
        json_t *conds = conditions_json(c, nc, registered, 1);
        if (conds)
            spatch = json_pack("{s:{s:s, s:o}}", "status", "nodeName", node->meta.name,
                               "conditions", conds);
        if (!spatch)
            rc = CORE_E_NOMEM;
    }
    if (rc) {
        json_decref(npatch);
        json_decref(spatch);
        core_wq_done(c->nodeclaim->wq, key, CORE_WQ_RETRY);
        return;
    }
    struct nc_write w[2] = {{0}};
    wset(&w[0], &k8s_res_nodes, node->meta.name, NULL, K8S_PATCH_MERGE, npatch, NULL);
    wset(&w[1], &k8s_res_nodeclaims, nc->meta.name, "status", K8S_PATCH_MERGE, spatch, NULL);
    controller_log(c, CORE_LOG_INFO, COMP, key, "registering node", "node", node->meta.name,
                   (const char *)NULL);
    write_start(c, key, STEP_REGISTERED, w, 2);
}

static int is_extended(const char *name)
{
    return strchr(name, '/') && strncmp(name, "kubernetes.io/", 14) != 0 &&
           strncmp(name, "hugepages-", 10) != 0;
}

/* Why nc is not Initialized yet, or NULL when it is. */
static const char *not_initialized(const struct k8s_nodeclaim *nc, const struct k8s_node *node)
{
    if (!k8s_node_ready(node))
        return "node not ready";
    if (node_has_taint(node, USERDATA_STARTUP_TAINT_KEY, K8S_EFFECT_NO_EXECUTE))
        return "unregistered taint present";
    for (size_t i = 0; i < nc->nstartup_taints; i++)
        if (node_has_taint(node, nc->startup_taints[i].key, nc->startup_taints[i].effect))
            return "startup taint present";
    for (size_t i = 0; i < nc->requests.n; i++)
        if (is_extended(nc->requests.v[i].name) && nc->requests.v[i].milli > 0 &&
            k8s_res_get(&node->allocatable, nc->requests.v[i].name) <= 0)
            return "extended resource not registered";
    return NULL;
}

static void do_initialize(struct controller *c, const char *key, const struct k8s_nodeclaim *nc,
                          const struct k8s_node *node)
{
    static const struct cond_set init[] = {{"Initialized", "Initialized"}, {"Ready", "Ready"}};
    json_t *npatch = json_pack("{s:{s:{s:s}}}", "metadata", "labels",
                               CONTROLLER_LABEL_INITIALIZED, "true");
    json_t *conds = conditions_json(c, nc, init, 2);
    json_t *spatch = conds ? json_pack("{s:{s:o}}", "status", "conditions", conds) : NULL;
    if (!npatch || !spatch) {
        json_decref(npatch);
        json_decref(spatch);
        core_wq_done(c->nodeclaim->wq, key, CORE_WQ_RETRY);
        return;
    }
    struct nc_write w[2] = {{0}};
    wset(&w[0], &k8s_res_nodes, node->meta.name, NULL, K8S_PATCH_MERGE, npatch, NULL);
    wset(&w[1], &k8s_res_nodeclaims, nc->meta.name, "status", K8S_PATCH_MERGE, spatch, NULL);
    controller_log(c, CORE_LOG_INFO, COMP, key, "initialized", "node", node->meta.name,
                   (const char *)NULL);
    write_start(c, key, STEP_INITIALIZED, w, 2);
}

/* ------------------------------------------------------------------------------------------ */
/* Deletion: cordon, drain, terminate, Node, finalizer                                         */
/* ------------------------------------------------------------------------------------------ */

static int cordoned(const struct k8s_node *n)
{
    return n->unschedulable && node_has_taint(n, NC_DISRUPTED_TAINT, K8S_EFFECT_NO_SCHEDULE);
}

static void cordon(struct controller *c, const char *key, const struct k8s_node *n)
{
    json_t *taints = json_array();
    int rc = taints ? 0 : CORE_E_NOMEM;
    for (size_t i = 0; !rc && i < n->ntaints; i++)
        rc = array_push(taints, taint_json(n->taints[i].key, n->taints[i].value,
                                           n->taints[i].effect));
    if (!rc && !node_has_taint(n, NC_DISRUPTED_TAINT, K8S_EFFECT_NO_SCHEDULE))
        rc = array_push(taints, taint_json(NC_DISRUPTED_TAINT, NULL, K8S_EFFECT_NO_SCHEDULE));
    json_t *p = rc ? NULL : json_pack("{s:{s:b, s:O}}", "spec", "unschedulable", 1, "taints",
                                      taints);
    json_decref(taints);
    controller_log(c, CORE_LOG_INFO, COMP, key, "cordoning node", "node", n->meta.name,
                   (const char *)NULL);
    patch1(c, key, STEP_PLAIN, &k8s_res_nodes, n->meta.name, NULL, K8S_PATCH_MERGE, p);
}

static int pod_evictable(const struct k8s_pod *p)
{
    if (p->phase == K8S_POD_SUCCEEDED || p->phase == K8S_POD_FAILED)
        return 0;
    if (k8s_labels_get(&p->meta.annotations, NC_MIRROR_ANNOTATION))
        return 0;
    for (size_t i = 0; i < p->meta.nowners; i++)
        if (p->meta.owners[i].kind && strcmp(p->meta.owners[i].kind, "DaemonSet") == 0)
            return 0;
    return 1;
}

struct nc_evict {
    struct controller_op op; /* first */
    char key[NC_KEY_MAX];
    char ns[254], name[254];
    struct nc_evict_batch *batch;
};
struct nc_evict_batch {
    size_t pending;
    int failed;
};

static void evict_done(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct nc_evict *x = ud;
    struct controller *c = controller_op_finish(&x->op);
    struct nc_evict_batch *b = x->batch;
    (void)obj;
    b->pending--;
    if (c && rc != 0 && rc != CORE_E_NOTFOUND) {
        /* A PDB refusing (429) is routine: the drain polls again. */
        if (rc != CORE_E_THROTTLED)
            b->failed = 1;
        controller_log(c, rc == CORE_E_THROTTLED ? CORE_LOG_DEBUG : CORE_LOG_WARN, COMP, x->key,
                       "eviction refused", "pod", x->name, "error",
                       err && err->message[0] ? err->message : core_strerror(rc), (const char *)NULL);
    }
    if (b->pending == 0) {
        if (c) {
            core_wq_done(c->nodeclaim->wq, x->key, b->failed ? CORE_WQ_RETRY : CORE_WQ_OK);
            requeue_after(c, x->key, NC_DRAIN_POLL);
        }
        core_free(b);
    }
    core_free(x);
}

/* A pod deleted long ago that is still there will not go away by waiting: its kubelet is gone
 * or wedged (Karpenter's IsStuckTerminating). The pod's own grace period is not decoded, so the
 * API's default (30 s) stands in for it. */
static int pod_stuck_terminating(const struct controller *c, const struct k8s_pod *p)
{
    return p->meta.has_deletion_timestamp &&
           controller_wall(c) > p->meta.deletion_timestamp + NC_POD_DEFAULT_GRACE +
                                    NC_STUCK_TERMINATING;
}

/* The Node's Ready condition has not been True for longer than NC_NOT_READY_SKIP: nothing on it
 * can be evicted gracefully (no kubelet to stop the pods), so draining would only wait. */
static int node_long_not_ready(const struct controller *c, const struct k8s_node *n)
{
    const struct k8s_condition *k = k8s_condition_find(n->conditions, n->nconditions, "Ready");
    if (!k || k->status == K8S_COND_TRUE || !k->has_last_transition_time)
        return 0;
    return controller_wall(c) - k->last_transition_time > NC_NOT_READY_SKIP;
}

/* Evicts the evictable pods on node. Returns 1 when the pass ended here (evictions issued, or a
 * wait for pods still terminating), 0 when the node is drained. Pods stuck terminating are not
 * waited for. */
static int drain(struct controller *c, const char *key, const struct k8s_node *node,
                 struct nc_entry *e)
{
    size_t it = 0, nwait = 0;
    const char *pk = NULL;
    const void *pv = NULL;
    struct nc_evict_batch *b = NULL;
    while (k8s_informer_index_next(c->pods, CONTROLLER_IDX_NODE, node->meta.name, &it, &pk,
                                   &pv)) {
        const struct k8s_pod *p = pv;
        if (!p || !pod_evictable(p) || pod_stuck_terminating(c, p))
            continue;
        nwait++;
        if (p->meta.has_deletion_timestamp)
            continue;
        if (!b && !(b = core_calloc(1, sizeof(*b))))
            break;
        struct nc_evict *x = core_calloc(1, sizeof(*x));
        if (!x) {
            b->failed = 1;
            break;
        }
        core_strlcpy(x->key, key, sizeof(x->key));
        core_strlcpy(x->ns, p->meta.ns ? p->meta.ns : "default", sizeof(x->ns));
        core_strlcpy(x->name, p->meta.name, sizeof(x->name));
        x->batch = b;
        struct core_err err;
        core_err_clear(&err);
        controller_op_track(c, &x->op);
        b->pending++;
        if (k8s_evict(c->k8s, x->ns, x->name, evict_done, x, &err) != 0) {
            (void)controller_op_finish(&x->op);
            b->pending--;
            b->failed = 1;
            core_free(x);
        }
    }
    if (b && b->pending > 0) {
        if (!e->drain_logged)
            controller_log(c, CORE_LOG_INFO, COMP, key, "draining node", "node",
                           node->meta.name, (const char *)NULL);
        e->drain_logged = 1;
        return 1; /* the last answer ends the pass */
    }
    int failed = b ? b->failed : 0;
    core_free(b);
    if (nwait == 0 && !failed)
        return 0;
    core_wq_done(c->nodeclaim->wq, key, failed ? CORE_WQ_RETRY : CORE_WQ_OK);
    requeue_after(c, key, NC_DRAIN_POLL);
    return 1;
}

static void handle_deleting(struct controller *c, const char *key, const struct k8s_nodeclaim *nc,
                            struct nc_entry *e)
{
    struct core_wq *wq = c->nodeclaim->wq;
    if (!has_finalizer(&nc->meta) || e->finalizer_removed) {
        core_wq_done(wq, key, CORE_WQ_OK);
        return;
    }
    const char *instance = instance_of(nc->provider_id);
    if (!instance && e->have_instance)
        instance = e->res.instance_id;
    /* A crashed predecessor may have launched without recording it: look once. */
    if (!instance && !e->searched && !cond_true(nc, "Launched")) {
        launch_call(c, key, nc, e, CALL_FIND);
        return;
    }
    const struct k8s_node *node = node_of(c, nc);
    if (node && !e->terminated) {
        if (!cordoned(node)) {
            cordon(c, key, node);
            return;
        }
        int expired = nc->has_termination_grace_period && nc->meta.has_deletion_timestamp &&
                      controller_wall(c) >= nc->meta.deletion_timestamp +
                                                nc->termination_grace_period;
        /* A Node long NotReady has no kubelet to carry out evictions (the instance is stopped,
         * gone, or wedged; also what a restarted controller sees of an instance already
         * terminated): skip the drain rather than wait for pods that never leave. */
        int dead = node_long_not_ready(c, node);
        if (dead && !e->drain_logged) {
            controller_log(c, CORE_LOG_INFO, COMP, key, "node not ready: not draining", "node",
                           node->meta.name, (const char *)NULL);
            e->drain_logged = 1;
        }
        if (!expired && !dead && drain(c, key, node, e))
            return;
    }
    if (instance && !e->terminated) {
        terminate(c, key, instance);
        return;
    }
    if (node && !node->meta.has_deletion_timestamp && !e->node_delete_requested) {
        struct nc_write w = {0};
        wset(&w, &k8s_res_nodes, node->meta.name, NULL, K8S_PATCH_MERGE, NULL, node->meta.uid);
        controller_log(c, CORE_LOG_INFO, COMP, key, "deleting node", "node", node->meta.name,
                       (const char *)NULL);
        write_start(c, key, STEP_NODE_DELETE, &w, 1);
        return;
    }
    if (node && has_finalizer(&node->meta)) {
        controller_log(c, CORE_LOG_INFO, COMP, key, "releasing node", "node", node->meta.name,
                       (const char *)NULL);
        patch1(c, key, STEP_PLAIN, &k8s_res_nodes, node->meta.name, NULL, K8S_PATCH_JSON,
               finalizer_remove_patch(&node->meta));
        return;
    }
    controller_log(c, CORE_LOG_INFO, COMP, key, "removing finalizer", (const char *)NULL);
    patch1(c, key, STEP_FINALIZER, &k8s_res_nodeclaims, nc->meta.name, NULL, K8S_PATCH_JSON,
           finalizer_remove_patch(&nc->meta));
}

/* ------------------------------------------------------------------------------------------ */
/* The pass                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static core_ns timeout_or(core_ns v, core_ns dflt)
{
    return v > 0 ? v : dflt;
}

static void liveness_delete(struct controller *c, const char *key, const struct k8s_nodeclaim *nc,
                            const char *why)
{
    struct k8s_object_ref ref;
    object_ref(nc, &ref);
    controller_log(c, CORE_LOG_WARN, COMP, key, "liveness timeout: deleting", "reason", why,
                   (const char *)NULL);
    controller_event(c, &ref, "Warning", "LivenessTimeout", why);
    delete_claim(c, key, nc, STEP_DELETE_LIVENESS);
}

static void handle_gone(struct controller *c, const char *key)
{
    struct nc_entry *e = entry_get(c, key, 0);
    if (e && e->launching) {
        core_wq_done(c->nodeclaim->wq, key, CORE_WQ_OK); /* the answer brings the key back */
        return;
    }
    if (e && e->have_instance && !e->terminated && c->nodeclaim->wq) {
        /* Launched for a NodeClaim that disappeared before its status said so. */
        terminate(c, key, e->res.instance_id);
        return;
    }
    entry_drop(c, key);
    core_wq_done(c->nodeclaim->wq, key, CORE_WQ_OK);
}

static void handle(void *ud, struct core_wq *wq, const char *key)
{
    struct controller *c = ud;
    if (!controller_may_act(c)) {
        core_wq_done(wq, key, CORE_WQ_OK); /* resync brings everything back when leading */
        return;
    }
    const struct k8s_nodeclaim *nc = k8s_informer_get(c->nodeclaims, key);
    if (!nc) {
        handle_gone(c, key);
        return;
    }
    struct nc_entry *e = entry_get(c, key, 1);
    if (!e) {
        core_wq_done(wq, key, CORE_WQ_RETRY);
        return;
    }
    if (e->launching) {
        core_wq_done(wq, key, CORE_WQ_OK);
        return;
    }
    if (nc->meta.has_deletion_timestamp) {
        handle_deleting(c, key, nc, e);
        return;
    }
    if (e->delete_requested) {
        core_wq_done(wq, key, CORE_WQ_OK); /* the informer will show the deletion */
        return;
    }
    if (!has_finalizer(&nc->meta)) {
        controller_log(c, CORE_LOG_INFO, COMP, key, "adding finalizer", (const char *)NULL);
        patch1(c, key, STEP_PLAIN, &k8s_res_nodeclaims, nc->meta.name, NULL, K8S_PATCH_JSON,
               finalizer_add_patch(&nc->meta));
        return;
    }
    core_ns age = nc->meta.has_creation_timestamp
                      ? controller_wall(c) - nc->meta.creation_timestamp : 0;
    core_ns launch_to = timeout_or(c->opts.launch_timeout, NC_DEFAULT_LAUNCH_TIMEOUT);
    core_ns reg_to = timeout_or(c->opts.register_timeout, NC_DEFAULT_REGISTER_TIMEOUT);

    if (!cond_true(nc, "Launched")) {
        if (e->have_instance) {
            if (e->launched_written)
                core_wq_done(wq, key, CORE_WQ_OK);
            else
                write_launched(c, key, nc, &e->res);
            return;
        }
        if (age >= launch_to) {
            liveness_delete(c, key, nc, "not launched in time");
            return;
        }
        requeue_after(c, key, launch_to - age);
        if (e->capacity_failed) {
            struct k8s_object_ref ref;
            object_ref(nc, &ref);
            char msg[384];
            snprintf(msg, sizeof(msg), "no capacity for any of the NodeClaim's offerings: %s",
                     e->last_error);
            controller_event(c, &ref, "Warning", "LaunchFailed", msg);
            controller_log(c, CORE_LOG_INFO, COMP, key, "deleting after capacity error",
                           (const char *)NULL);
            delete_claim(c, key, nc, STEP_DELETE);
            return;
        }
        if (e->warm_cleared &&
            k8s_labels_get(&nc->meta.annotations, CONTROLLER_ANNOTATION_WARM)) {
            /* Cleared here, not yet seen: a launch now would take the warm path again. The
             * informer's update brings the key back. */
            core_wq_done(wq, key, CORE_WQ_OK);
            return;
        }
        if (e->state_failed &&
            k8s_labels_get(&nc->meta.annotations, CONTROLLER_ANNOTATION_WARM)) {
            controller_log(c, CORE_LOG_INFO, COMP, key, "warm instance unusable: going cold",
                           (const char *)NULL);
            patch1(c, key, STEP_WARM_CLEARED, &k8s_res_nodeclaims, nc->meta.name, NULL,
                   K8S_PATCH_MERGE,
                   json_pack("{s:{s:{s:n}}}", "metadata", "annotations",
                             CONTROLLER_ANNOTATION_WARM));
            return;
        }
        core_ns now = controller_now(c);
        if (now < e->retry_at) {
            requeue_after(c, key, e->retry_at - now);
            core_wq_done(wq, key, CORE_WQ_OK);
            return;
        }
        if (!e->searched) {
            launch_call(c, key, nc, e, CALL_FIND);
            return;
        }
        if (nc->node_class_ref.name && !controller_nodeclass_ready(c, nc->node_class_ref.name)) {
            core_wq_done(wq, key, CORE_WQ_RETRY);
            return;
        }
        launch_call(c, key, nc, e, CALL_LAUNCH);
        return;
    }

    const struct k8s_node *node = node_of(c, nc);
    if (!cond_true(nc, "Registered")) {
        if (node && !node->meta.has_deletion_timestamp && !e->registered_written) {
            do_register(c, key, nc, node);
            return;
        }
        if (e->registered_written) {
            core_wq_done(wq, key, CORE_WQ_OK);
            return;
        }
        if (age >= reg_to) {
            liveness_delete(c, key, nc, "not registered in time");
            return;
        }
        requeue_after(c, key, reg_to - age);
        core_wq_done(wq, key, CORE_WQ_OK);
        return;
    }

    /* Registered: the Node going away takes the NodeClaim with it. */
    if (!k8s_informer_synced(c->nodes)) {
        requeue_after(c, key, NC_DRAIN_POLL);
        core_wq_done(wq, key, CORE_WQ_OK);
        return;
    }
    if (!node || node->meta.has_deletion_timestamp) {
        controller_log(c, CORE_LOG_INFO, COMP, key, "node gone: deleting", (const char *)NULL);
        delete_claim(c, key, nc, STEP_DELETE);
        return;
    }
    if (!cond_true(nc, "Initialized") && !e->initialized_written) {
        const char *why = not_initialized(nc, node);
        if (!why) {
            do_initialize(c, key, nc, node);
            return;
        }
        /* Liveness: a Node that registered but never became usable (kubelet wedged, a
         * startup taint nobody removes) would hold its pods' nominations forever. */
        const struct k8s_condition *reg =
            k8s_condition_find(nc->conditions, nc->nconditions, "Registered");
        if (reg && reg->has_last_transition_time) {
            core_ns since = controller_wall(c) - reg->last_transition_time;
            if (since >= NC_INIT_TIMEOUT) {
                char msg[128];
                snprintf(msg, sizeof(msg), "not initialized in time (%s)", why);
                liveness_delete(c, key, nc, msg);
                return;
            }
            requeue_after(c, key, NC_INIT_TIMEOUT - since);
        }
    }
    core_wq_done(wq, key, CORE_WQ_OK);
}

/* ------------------------------------------------------------------------------------------ */
/* Informer handlers                                                                           */
/* ------------------------------------------------------------------------------------------ */

static void on_nodeclaim(void *ud, const char *key, const void *old, const void *value)
{
    struct controller *c = ud;
    (void)old;
    (void)value;
    if (c->nodeclaim && c->nodeclaim->wq)
        requeue(c, key);
}

static void enqueue_for_node(struct controller *c, const struct k8s_node *n)
{
    if (!n)
        return;
    if (n->provider_id && n->provider_id[0]) {
        size_t it = 0;
        const char *k = NULL;
        const void *v = NULL;
        while (k8s_informer_index_next(c->nodeclaims, CONTROLLER_IDX_PROVIDER, n->provider_id,
                                       &it, &k, &v))
            requeue(c, k);
    }
    for (size_t i = 0; i < n->meta.nowners; i++)
        if (n->meta.owners[i].kind && strcmp(n->meta.owners[i].kind, "NodeClaim") == 0 &&
            n->meta.owners[i].name)
            requeue(c, n->meta.owners[i].name);
    if (n->provider_id && n->provider_id[0])
        return;
    /* No providerID (yet): the NodeClaim that names this Node in its status. */
    size_t it = 0;
    const char *k = NULL;
    const void *v = NULL;
    while (k8s_informer_next(c->nodeclaims, &it, &k, &v)) {
        const struct k8s_nodeclaim *nc = v;
        if (nc && nc->node_name && strcmp(nc->node_name, n->meta.name) == 0)
            requeue(c, k);
    }
}

static void on_node(void *ud, const char *key, const void *old, const void *value)
{
    struct controller *c = ud;
    (void)key;
    if (!c->nodeclaim || !c->nodeclaim->wq)
        return;
    enqueue_for_node(c, old);
    enqueue_for_node(c, value);
}

/* ------------------------------------------------------------------------------------------ */
/* Entry points                                                                                */
/* ------------------------------------------------------------------------------------------ */

int controller_nodeclaim_init(struct controller *c, struct core_err *err)
{
    struct controller_nodeclaim *r = core_calloc(1, sizeof(*r));
    int rc = 0;
    if (!r)
        return core_err_set(err, CORE_E_NOMEM, "nodeclaim reconciler: out of memory");
    r->entries = core_map_new();
    if (!r->entries) {
        rc = core_err_set(err, CORE_E_NOMEM, "nodeclaim reconciler: out of memory");
        goto out;
    }
    struct core_wq_opts o = {
        .backoff_base = 500 * (core_ns)1000000,
        .backoff_cap = 60 * (core_ns)1000000000,
        .max_inflight = 64,
    };
    rc = core_wq_new(c->loop, &o, handle, c, &r->wq, err);
    if (rc)
        goto out;
    c->nodeclaim = r;
    rc = k8s_informer_add_handler(c->nodeclaims, on_nodeclaim, c);
    if (!rc)
        rc = k8s_informer_add_handler(c->nodes, on_node, c);
    if (rc) {
        core_err_set(err, rc, "nodeclaim reconciler: informer handlers");
        c->nodeclaim = NULL;
    }
out:
    if (rc) {
        core_wq_free(r->wq);
        core_map_free(r->entries);
        core_free(r);
    }
    return rc;
}

void controller_nodeclaim_resync(struct controller *c)
{
    if (!c->nodeclaim)
        return;
    size_t it = 0;
    const char *k = NULL;
    const void *v = NULL;
    while (k8s_informer_next(c->nodeclaims, &it, &k, &v))
        requeue(c, k);
}

void controller_nodeclaim_cleanup(struct controller *c)
{
    struct controller_nodeclaim *r = c->nodeclaim;
    if (!r)
        return;
    core_wq_free(r->wq);
    r->wq = NULL;
    while (r->calls)
        call_free(c, r->calls);
    size_t it = 0;
    const char *k = NULL;
    void *v = NULL;
    while (core_map_next(r->entries, &it, &k, &v))
        core_free(v);
    core_map_free(r->entries);
    core_free(r);
    c->nodeclaim = NULL;
}
