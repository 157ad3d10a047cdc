/*
 * controller/nodepool.c — the NodePool reconciler: status.resources (what the pool's NodeClaims
 * hold: the sum of their status.capacity, plus "nodes", their count) and the conditions
 * NodeClassReady (its EC2NodeClass is Ready) and Ready.
 *
 * A pool is queued when it is created or its spec changes, when one of its NodeClaims changes
 * (the pool label, old and new), and when its EC2NodeClass changes (the nodeclass index of the
 * NodePool informer). The handler computes the status from the informers alone, compares it
 * with the status the informer holds, and writes one merge patch on the status subresource
 * only when they differ, so its own writes come back as no-ops.
 *
 * Invariants:
 *  - controller_nodepool_usage and the status use the same sum, so the provisioner's limit
 *    checks and what users see agree. A NodeClaim not launched yet (no status.capacity) counts
 *    as the largest of its listed instance types, so limits hold before launches answer.
 *  - Resource names that disappear are removed with explicit nulls (a merge patch merges
 *    maps); lastTransitionTime moves only when a condition's status does.
 */
#include "controller/internal.h"

#include <stdio.h>
#include <string.h>

#define COMPONENT "nodepool"
#define NP_RES_NODES "nodes"

struct controller_nodepool {
    struct core_wq *wq;
};

struct np_call {
    struct controller_op op; /* first */
    char *key;
};

/* What a NodeClaim without status.capacity (not launched yet) will hold at most: per resource,
 * the largest of its listed instance types (cpu vcpu×1000 milli, memory bytes×1000 milli, pods
 * the type's default max pods). Counting it now keeps the pool's limits across batches that
 * run before the launches answer; once launched, the real capacity replaces it. Types the
 * catalog does not know add nothing. */
static int claim_estimate(const struct controller *c, const struct k8s_nodeclaim *nc,
                          struct k8s_res_list *sum)
{
    const struct launcher_catalog *cat = controller_catalog(c);
    const char *itkey = launcher_label_key(LAUNCHER_L_INSTANCE_TYPE);
    int64_t cpu = 0, mem = 0, pods = 0;
    int rc = 0;

    for (size_t i = 0; cat && i < nc->nrequirements; i++) {
        const struct k8s_requirement *r = &nc->requirements[i];
        if (r->op != K8S_OP_IN || strcmp(launcher_label_normalize(r->key), itkey) != 0)
            continue;
        for (size_t j = 0; j < r->values.n; j++) {
            const struct launcher_itype *t = launcher_catalog_find(cat, r->values.v[j]);
            struct launcher_alloc a;
            if (!t)
                continue;
            if ((int64_t)t->vcpu * 1000 > cpu)
                cpu = (int64_t)t->vcpu * 1000;
            if (t->memory_mib > 0 && t->memory_mib <= INT64_MAX / (1048576LL * 1000) &&
                t->memory_mib * 1048576LL * 1000 > mem)
                mem = t->memory_mib * 1048576LL * 1000;
            if (launcher_allocatable(t, NULL, &a) == 0 && (int64_t)a.pods * 1000 > pods)
                pods = (int64_t)a.pods * 1000;
        }
    }
    if (cpu > 0)
        rc = k8s_res_set(sum, "cpu", k8s_res_get(sum, "cpu") + cpu);
    if (!rc && mem > 0)
        rc = k8s_res_set(sum, "memory", k8s_res_get(sum, "memory") + mem);
    if (!rc && pods > 0)
        rc = k8s_res_set(sum, "pods", k8s_res_get(sum, "pods") + pods);
    return rc;
}

int controller_nodepool_usage(const struct controller *c, const char *pool,
                              struct k8s_res_list *out)
{
    struct k8s_res_list sum = {0};
    size_t it = 0, count = 0;
    const char *key;
    const void *v;
    int rc = 0;

    if (!c || !pool || !out)
        return CORE_E_INVAL;
    while (k8s_informer_index_next(c->nodeclaims, CONTROLLER_IDX_POOL, pool, &it, &key, &v)) {
        const struct k8s_nodeclaim *nc = v;
        count++;
        if (nc->capacity.n > 0)
            rc = k8s_res_add(&sum, &nc->capacity);
        else
            rc = claim_estimate(c, nc, &sum);
        if (rc)
            break;
    }
    if (!rc && count > (size_t)(INT64_MAX / 1000))
        rc = CORE_E_TOOBIG;
    if (!rc)
        rc = k8s_res_set(&sum, NP_RES_NODES, (int64_t)count * 1000);
    if (rc) {
        k8s_res_cleanup(&sum);
        return rc;
    }
    *out = sum;
    return 0;
}

static json_t *res_json(const struct k8s_res_list *l)
{
    char q[64];
    json_t *o = json_object();
    for (size_t i = 0; o && i < l->n; i++) {
        k8s_quantity_format_milli(l->v[i].milli, q, sizeof q);
        if (json_object_set_new(o, l->v[i].name, json_string(q))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static json_t *cond_json(const char *type, enum k8s_cond_status st, const char *reason,
                         const char *message, int has_ltt, core_ns ltt, int64_t gen)
{
    char ts[40];
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = json_object_set_new(o, "type", json_string(type)) ||
              json_object_set_new(o, "status",
                                  json_string(st == K8S_COND_TRUE    ? "True"
                                              : st == K8S_COND_FALSE ? "False"
                                                                     : "Unknown")) ||
              json_object_set_new(o, "reason", json_string(reason ? reason : "")) ||
              json_object_set_new(o, "message", json_string(message ? message : "")) ||
              json_object_set_new(o, "observedGeneration", json_integer(gen));
    if (!bad && has_ltt) {
        core_time_rfc3339(ltt, ts, sizeof ts);
        bad = json_object_set_new(o, "lastTransitionTime", json_string(ts));
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static const char *const np_cond_types[2] = {"NodeClassReady", "Ready"};

/* The status the informer holds, in the shape this file writes. */
static json_t *current_status(const struct k8s_nodepool *p)
{
    json_t *st = json_object(), *res = res_json(&p->resources), *conds = json_array();
    int bad = !st || !res || !conds;
    for (size_t i = 0; !bad && i < 2; i++) {
        const struct k8s_condition *k =
            k8s_condition_find(p->conditions, p->nconditions, np_cond_types[i]);
        if (!k)
            continue;
        json_t *o = cond_json(k->type, k->status, k->reason, k->message,
                              k->has_last_transition_time, k->last_transition_time,
                              k->observed_generation);
        bad = !o || json_array_append_new(conds, o);
    }
    if (!bad) {
        bad = json_object_set_new(st, "resources", res) ||
              json_object_set_new(st, "conditions", conds);
        res = conds = NULL;
    }
    if (bad) {
        json_decref(res);
        json_decref(conds);
        json_decref(st);
        return NULL;
    }
    return st;
}

static json_t *desired_status(const struct controller *c, const struct k8s_nodepool *p,
                              const struct k8s_res_list *usage)
{
    const char *cls = p->node_class_ref.name;
    int ready = cls && controller_nodeclass_ready(c, cls);
    char msg[512];
    const char *reason = ready ? "NodeClassReady" : "NodeClassNotReady";
    json_t *st = json_object(), *res = res_json(usage), *conds = json_array();
    int bad = !st || !res || !conds;
    core_ns now = controller_wall(c);

    if (ready)
        msg[0] = '\0';
    else if (cls && k8s_informer_get(c->nodeclasses, cls))
        snprintf(msg, sizeof msg, "EC2NodeClass %s is not ready", cls);
    else
        snprintf(msg, sizeof msg, "EC2NodeClass %s not found", cls ? cls : "(unnamed)");
    for (size_t i = 0; !bad && i < 2; i++) {
        enum k8s_cond_status s = ready ? K8S_COND_TRUE : K8S_COND_FALSE;
        const struct k8s_condition *old =
            k8s_condition_find(p->conditions, p->nconditions, np_cond_types[i]);
        core_ns ltt = old && old->status == s && old->has_last_transition_time
                          ? old->last_transition_time
                          : now;
        json_t *o = cond_json(np_cond_types[i], s, i == 0 || !ready ? reason : "Ready", msg, 1,
                              ltt, p->meta.generation);
        bad = !o || json_array_append_new(conds, o);
    }
    if (!bad) {
        bad = json_object_set_new(st, "resources", res) ||
              json_object_set_new(st, "conditions", conds);
        res = conds = NULL;
    }
    if (bad) {
        json_decref(res);
        json_decref(conds);
        json_decref(st);
        return NULL;
    }
    return st;
}

static void patch_done(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct np_call *call = ud;
    struct controller *c = controller_op_finish(&call->op);
    (void)obj;
    if (c) {
        if (rc == 0 || rc == CORE_E_NOTFOUND) {
            core_wq_done(c->nodepool->wq, call->key, CORE_WQ_OK);
        } else {
            controller_log(c, CORE_LOG_WARN, COMPONENT, call->key, "status write failed",
                           "error", err ? err->message : core_strerror(rc), (const char *)NULL);
            core_wq_done(c->nodepool->wq, call->key, CORE_WQ_RETRY);
        }
    }
    core_free(call->key);
    core_free(call);
}

static void np_handle(void *ud, struct core_wq *wq, const char *key)
{
    struct controller *c = ud;
    const struct k8s_nodepool *p = k8s_informer_get(c->nodepools, key);
    struct k8s_res_list usage = {0};
    json_t *want = NULL, *have = NULL, *patch = NULL;
    struct np_call *call = NULL;
    struct core_err err;
    enum core_wq_result result = CORE_WQ_RETRY;

    core_err_clear(&err);
    if (!p || !controller_may_act(c)) {
        result = CORE_WQ_OK;
        goto done;
    }
    if (controller_nodepool_usage(c, p->meta.name, &usage) != 0)
        goto done;
    want = desired_status(c, p, &usage);
    have = want ? current_status(p) : NULL;
    if (!have)
        goto done;
    if (json_equal(want, have)) {
        result = CORE_WQ_OK;
        goto done;
    }
    /* Names the pool no longer holds are removed explicitly. */
    json_t *res = json_object_get(want, "resources");
    for (size_t i = 0; i < p->resources.n; i++)
        if (!json_object_get(res, p->resources.v[i].name) &&
            json_object_set_new(res, p->resources.v[i].name, json_null()))
            goto done;
    if (!(patch = json_pack("{s:O}", "status", want)))
        goto done;
    if (!(call = core_calloc(1, sizeof *call)) || !(call->key = core_strdup(key)))
        goto done;
    controller_op_track(c, &call->op);
    if (k8s_patch(c->k8s, &k8s_res_nodepools, NULL, key, "status", K8S_PATCH_MERGE, patch,
                  patch_done, call, &err) != 0) {
        controller_op_finish(&call->op);
        controller_log(c, CORE_LOG_WARN, COMPONENT, key, "status write failed", "error",
                       err.message, (const char *)NULL);
        goto done;
    }
    call = NULL; /* the key is done when the patch answers */
    json_decref(patch);
    json_decref(want);
    json_decref(have);
    k8s_res_cleanup(&usage);
    return;
done:
    if (call) {
        core_free(call->key);
        core_free(call);
    }
    json_decref(patch);
    json_decref(want);
    json_decref(have);
    k8s_res_cleanup(&usage);
    core_wq_done(wq, key, result);
}

static void enqueue(struct controller *c, const char *key)
{
    if (key && *key && core_wq_add(c->nodepool->wq, key) != 0)
        controller_log(c, CORE_LOG_WARN, COMPONENT, key, "cannot enqueue", (const char *)NULL);
}

/* NodeClaim changes come in storms (a scale-out of thousands): the pool's status is summed at
 * most once per second, since each sum walks all of its NodeClaims. */
#define CLAIM_COALESCE ((core_ns)CORE_NS_PER_S)

static void enqueue_soon(struct controller *c, const char *key)
{
    if (key && *key && core_wq_add_after(c->nodepool->wq, key, CLAIM_COALESCE) != 0)
        controller_log(c, CORE_LOG_WARN, COMPONENT, key, "cannot enqueue", (const char *)NULL);
}

static void pool_changed(void *ud, const char *key, const void *old, const void *value)
{
    struct controller *c = ud;
    const struct k8s_nodepool *o = old, *v = value;
    if (!v)
        return;
    /* Our own status writes leave the generation alone. */
    if (o && o->meta.generation == v->meta.generation && o->meta.generation != 0)
        return;
    enqueue(c, key);
}

static void claim_changed(void *ud, const char *key, const void *old, const void *value)
{
    struct controller *c = ud;
    const struct k8s_nodeclaim *o = old, *v = value;
    const char *po = o ? k8s_labels_get(&o->meta.labels, LAUNCHER_KEY_NODEPOOL) : NULL;
    const char *pv = v ? k8s_labels_get(&v->meta.labels, LAUNCHER_KEY_NODEPOOL) : NULL;
    (void)key;
    enqueue_soon(c, pv);
    if (po && (!pv || strcmp(po, pv) != 0))
        enqueue_soon(c, po);
}

static void class_changed(void *ud, const char *key, const void *old, const void *value)
{
    struct controller *c = ud;
    size_t it = 0;
    const char *pool;
    const void *v;
    (void)old;
    (void)value;
    while (k8s_informer_index_next(c->nodepools, CONTROLLER_IDX_CLASS, key, &it, &pool, &v))
        enqueue(c, pool);
}

int controller_nodepool_init(struct controller *c, struct core_err *err)
{
    struct controller_nodepool *n = core_calloc(1, sizeof *n);
    struct core_wq_opts wo;
    int rc;
    if (!n)
        return core_err_set(err, CORE_E_NOMEM, "nodepool: out of memory");
    c->nodepool = n;
    memset(&wo, 0, sizeof wo);
    wo.backoff_base = 100000000LL; /* 100 ms */
    wo.backoff_cap = 60LL * 1000000000LL;
    if ((rc = core_wq_new(c->loop, &wo, np_handle, c, &n->wq, err)))
        return rc;
    if ((rc = k8s_informer_add_handler(c->nodepools, pool_changed, c)) ||
        (rc = k8s_informer_add_handler(c->nodeclaims, claim_changed, c)) ||
        (rc = k8s_informer_add_handler(c->nodeclasses, class_changed, c)))
        return core_err_set(err, rc, "nodepool: informer handler: %s", core_strerror(rc));
    return 0;
}

void controller_nodepool_resync(struct controller *c)
{
    size_t it = 0;
    const char *key;
    const void *v;
    if (!c->nodepool)
        return;
    while (k8s_informer_next(c->nodepools, &it, &key, &v))
        enqueue(c, key);
}

void controller_nodepool_cleanup(struct controller *c)
{
    if (!c || !c->nodepool)
        return;
    core_wq_free(c->nodepool->wq);
    core_free(c->nodepool);
    c->nodepool = NULL;
}
