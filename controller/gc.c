/*
 * controller/gc.c — garbage collection: instances this cluster launched whose NodeClaim is gone
 * (orphans) are terminated and their Nodes deleted; NodeClaims whose instance is gone are
 * deleted; Nodes left behind by a force-deleted NodeClaim are deleted and released; unused
 * launch templates are handed to controller_launch_gc. One round every
 * gc_interval, only while this replica may act.
 *
 * Invariants:
 *  - Nothing is judged against a store that is not synced: a round is skipped until the
 *    NodeClaim and Node informers have loaded, since an empty store would make every instance
 *    look orphaned.
 *  - An instance is an orphan only when it carries this cluster's tags (owned, managed-by) and
 *    a karpenter.sh/nodeclaim tag naming no NodeClaim (or one created more than a minute after
 *    the instance's launch, which does not name it), and its launch time (wall clock) is more
 *    than orphan_grace ago; an instance without a known launch time is never an orphan. A warm
 *    pool instance (no nodeclaim tag) is never one.
 *  - A NodeClaim is deleted for a missing instance only after two consecutive rounds that both
 *    answered and both found it missing (or terminated): one answer may lag a fresh launch.
 *  - A Node carrying our finalizer whose owning NodeClaim no longer exists (force-deleted) is
 *    deleted and its finalizer dropped: nothing else would release it.
 *  - At most one round runs at a time; an instance whose termination is in flight is not asked
 *    for again. Termination entries live on a list the state owns, so cleanup frees them even
 *    though controller_terminate never calls back after the controller is gone.
 */
#include "controller/internal.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define GC_COMPONENT "gc"
#define GC_DEFAULT_INTERVAL (60 * CORE_NS_PER_S)
#define GC_DEFAULT_GRACE (5 * 60 * CORE_NS_PER_S)
/* EC2 accepts at most 200 values per filter. */
#define GC_IDS_PER_CALL 200u
/* Rounds in a row a NodeClaim's instance must be missing before the NodeClaim goes. */
#define GC_MISSING_ROUNDS 2u
/* Clock slack between EC2's launch times and the API server's creation times. */
#define GC_CLAIM_SLACK (60 * CORE_NS_PER_S)

struct gc_term {
    struct gc_term *prev, *next;
    struct controller_gc *g;
    char instance_id[32];
};

struct controller_gc {
    struct controller *c;
    struct core_timer *timer;
    unsigned pending;            /* DescribeInstances answers still owed to this round */
    struct core_map *missing;    /* NodeClaim name -> rounds missing, as (void *)(uintptr_t) */
    struct core_map *seen;       /* NodeClaim names checked this round (values unused) */
    struct gc_term *terms;       /* terminations in flight */
};

/* One DescribeInstances of a round. kind 0: orphan search; 1: NodeClaims' instances. */
struct gc_describe {
    struct controller_op op;
    int kind;
    size_t n;
    char **claims;               /* kind 1: NodeClaim names, parallel to ids */
    char **ids;
};

struct gc_delete {
    struct controller_op op;
    char kind[16];
    char name[256];
    int release;                 /* a Node: drop our finalizer once the delete is accepted */
};

static void gc_arm(struct controller_gc *g, core_ns delay);

static core_ns gc_interval(const struct controller *c)
{
    return c->opts.gc_interval > 0 ? c->opts.gc_interval : GC_DEFAULT_INTERVAL;
}

static core_ns gc_grace(const struct controller *c)
{
    return c->opts.orphan_grace > 0 ? c->opts.orphan_grace : GC_DEFAULT_GRACE;
}

static void describe_free(struct gc_describe *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        if (d->claims)
            core_free(d->claims[i]);
        if (d->ids)
            core_free(d->ids[i]);
    }
    core_free(d->claims);
    core_free(d->ids);
    core_free(d);
}

/* The instance id at the end of "aws:///<zone>/<id>", or NULL. */
static const char *provider_instance(const char *provider_id)
{
    const char *slash;
    if (!provider_id || strncmp(provider_id, "aws://", 6) != 0)
        return NULL;
    slash = strrchr(provider_id, '/');
    if (!slash || strncmp(slash + 1, "i-", 2) != 0)
        return NULL;
    return slash + 1;
}

static const char *tag_value(const struct aws_ec2_instance *in, const char *key)
{
    for (size_t i = 0; i < in->tags.n; i++)
        if (in->tags.v[i].key && strcmp(in->tags.v[i].key, key) == 0)
            return in->tags.v[i].value ? in->tags.v[i].value : "";
    return NULL;
}

static int term_inflight(const struct controller_gc *g, const char *id)
{
    for (const struct gc_term *t = g->terms; t; t = t->next)
        if (strcmp(t->instance_id, id) == 0)
            return 1;
    return 0;
}

/* Marks a NodeClaim as checked this round. On failure its count is forgotten at the end of
 * the round, which only delays a deletion. */
static void mark_seen(struct controller_gc *g, const char *claim)
{
    if (g->seen && core_map_set(g->seen, claim, g, NULL) != 0)
        return;
}

static void round_done(struct controller_gc *g)
{
    if (g->pending > 0 && --g->pending > 0)
        return;
    /* Forget counts of NodeClaims that were not checked this round (gone, deleting, or no
     * longer pointing at an instance): "consecutive" means consecutive. */
    if (g->missing && g->seen) {
        size_t it = 0;
        const char *key;
        void *val;
        while (core_map_next(g->missing, &it, &key, &val))
            if (!core_map_get(g->seen, key, NULL))
                (void)core_map_del(g->missing, key);
    }
    core_map_free(g->seen);
    g->seen = NULL;
}

/* ---- deletes ------------------------------------------------------------------------------- */

static void deleted(void *ud, int rc, json_t *obj, const struct core_err *err);

/* JSON patch removing our finalizer at index i, guarded by a test so a concurrent change of
 * the list fails instead of removing someone else's. */
static json_t *finalizer_patch(size_t i)
{
    char path[64];
    snprintf(path, sizeof path, "/metadata/finalizers/%zu", i);
    return json_pack("[{s:s, s:s, s:s}, {s:s, s:s}]", "op", "test", "path", path, "value",
                     CONTROLLER_FINALIZER, "op", "remove", "path", path);
}

/* Issues the finalizer patch with d (release cleared); frees d when it cannot. */
static void release_node(struct controller *c, struct gc_delete *d, size_t index)
{
    struct core_err err;
    json_t *patch = finalizer_patch(index);
    core_err_clear(&err);
    d->release = 0;
    if (!patch) {
        core_free(d);
        return;
    }
    controller_log(c, CORE_LOG_INFO, GC_COMPONENT, d->name,
                   "releasing a node whose NodeClaim does not exist", (const char *)NULL);
    controller_op_track(c, &d->op);
    if (k8s_patch(c->k8s, &k8s_res_nodes, NULL, d->name, NULL, K8S_PATCH_JSON, patch, deleted, d,
                  &err) != 0) {
        controller_log(c, CORE_LOG_WARN, GC_COMPONENT, d->name, "release failed", "error",
                       err.message, (const char *)NULL);
        (void)controller_op_finish(&d->op);
        core_free(d);
    }
    json_decref(patch);
}

static void deleted(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct gc_delete *d = ud;
    struct controller *c = controller_op_finish(&d->op);
    if (c && rc != 0 && rc != CORE_E_NOTFOUND)
        controller_log(c, CORE_LOG_WARN, GC_COMPONENT, d->name, "delete failed", "kind", d->kind,
                       "error", err && err->message[0] ? err->message : core_strerror(rc),
                       (const char *)NULL);
    if (c && rc == 0 && d->release && obj && controller_may_act(c)) {
        /* The Node is Terminating now; nothing else would ever drop our finalizer. */
        json_t *fins = json_object_get(json_object_get(obj, "metadata"), "finalizers");
        size_t i;
        json_t *f;
        json_array_foreach(fins, i, f)
        {
            const char *v = json_string_value(f);
            if (v && strcmp(v, CONTROLLER_FINALIZER) == 0) {
                release_node(c, d, i);
                return;
            }
        }
    }
    core_free(d);
}

static void delete_object2(struct controller *c, const struct k8s_resource *res,
                           const char *kind, const char *name, const char *uid, int release);

static void delete_object(struct controller *c, const struct k8s_resource *res, const char *kind,
                          const char *name, const char *uid)
{
    delete_object2(c, res, kind, name, uid, 0);
}

static void delete_object2(struct controller *c, const struct k8s_resource *res,
                           const char *kind, const char *name, const char *uid, int release)
{
    struct k8s_delete_opts o;
    struct core_err err;
    struct gc_delete *d = core_calloc(1, sizeof *d);

    if (!d)
        return; /* the next round tries again */
    core_err_clear(&err);
    memset(&o, 0, sizeof o);
    o.precondition_uid = uid;
    o.grace_period_seconds = -1;
    core_strlcpy(d->kind, kind, sizeof d->kind);
    core_strlcpy(d->name, name, sizeof d->name);
    d->release = release;
    controller_op_track(c, &d->op);
    if (k8s_delete(c->k8s, res, NULL, name, &o, deleted, d, &err) != 0) {
        controller_log(c, CORE_LOG_WARN, GC_COMPONENT, name, "delete failed", "kind", kind,
                       "error", err.message, (const char *)NULL);
        (void)controller_op_finish(&d->op);
        core_free(d);
    }
}

/* Deletes the Nodes whose providerID names the instance. */
static void delete_nodes_of(struct controller *c, const char *instance_id)
{
    size_t it = 0;
    const char *key;
    const void *val;

    if (!c->nodes)
        return;
    while (k8s_informer_next(c->nodes, &it, &key, &val)) {
        const struct k8s_node *n = val;
        const char *id = provider_instance(n->provider_id);
        if (!id || strcmp(id, instance_id) != 0 || n->meta.has_deletion_timestamp)
            continue;
        controller_log(c, CORE_LOG_INFO, GC_COMPONENT, key, "deleting the node of an orphan "
                       "instance", "instance", instance_id, (const char *)NULL);
        delete_object(c, &k8s_res_nodes, "Node", key, n->meta.uid);
    }
}

/* ---- Nodes whose NodeClaim is gone --------------------------------------------------------- */

/* The NodeClaim owner of a Node, or NULL. */
static const struct k8s_owner_ref *claim_owner(const struct k8s_node *n)
{
    for (size_t i = 0; i < n->meta.nowners; i++)
        if (n->meta.owners[i].kind && strcmp(n->meta.owners[i].kind, "NodeClaim") == 0 &&
            n->meta.owners[i].name)
            return &n->meta.owners[i];
    return NULL;
}

/* A Node carrying our finalizer and owned by a NodeClaim that no longer exists (force-deleted,
 * or replaced by one of the same name) would stay Terminating for ever: the NodeClaim's
 * deletion is what drops that finalizer. Delete such a Node and release it; its instance is an
 * orphan the search above terminates after orphan_grace. */
static void release_orphan_nodes(struct controller *c)
{
    size_t it = 0;
    const char *key;
    const void *val;

    while (k8s_informer_next(c->nodes, &it, &key, &val)) {
        const struct k8s_node *n = val;
        const struct k8s_owner_ref *o;
        const struct k8s_nodeclaim *nc;
        if (!n || !(o = claim_owner(n)) ||
            !k8s_strings_contains(&n->meta.finalizers, CONTROLLER_FINALIZER))
            continue;
        nc = k8s_informer_get(c->nodeclaims, o->name);
        if (nc && (!o->uid || !nc->meta.uid || strcmp(o->uid, nc->meta.uid) == 0))
            continue;
        if (!n->meta.has_deletion_timestamp) {
            controller_log(c, CORE_LOG_INFO, GC_COMPONENT, key,
                           "deleting a node whose NodeClaim does not exist", "nodeclaim",
                           o->name, (const char *)NULL);
            delete_object2(c, &k8s_res_nodes, "Node", key, n->meta.uid, 1);
            continue;
        }
        for (size_t i = 0; i < n->meta.finalizers.n; i++) {
            if (strcmp(n->meta.finalizers.v[i], CONTROLLER_FINALIZER) != 0)
                continue;
            struct gc_delete *d = core_calloc(1, sizeof *d);
            if (!d)
                break;
            core_strlcpy(d->kind, "Node", sizeof d->kind);
            core_strlcpy(d->name, key, sizeof d->name);
            release_node(c, d, i);
            break;
        }
    }
}

/* ---- orphans ------------------------------------------------------------------------------- */

static void terminated(struct controller *c, void *ud, int rc, const struct core_err *err)
{
    struct gc_term *t = ud;
    struct controller_gc *g = t->g;

    if (t->prev)
        t->prev->next = t->next;
    else
        g->terms = t->next;
    if (t->next)
        t->next->prev = t->prev;
    if (rc == 0) {
        c->stats.orphans_terminated++;
        controller_log(c, CORE_LOG_INFO, GC_COMPONENT, t->instance_id,
                       "orphan instance terminated", (const char *)NULL);
        delete_nodes_of(c, t->instance_id);
    } else {
        controller_log(c, CORE_LOG_WARN, GC_COMPONENT, t->instance_id,
                       "terminating an orphan instance failed", "error",
                       err && err->message[0] ? err->message : core_strerror(rc),
                       (const char *)NULL);
    }
    core_free(t);
}

static void terminate_orphan(struct controller *c, struct controller_gc *g,
                             const struct aws_ec2_instance *in, const char *claim, core_ns age)
{
    struct core_err err;
    struct gc_term *t;
    char agebuf[32];

    if (term_inflight(g, in->instance_id) || strlen(in->instance_id) >= sizeof t->instance_id)
        return;
    if (!(t = core_calloc(1, sizeof *t)))
        return;
    core_err_clear(&err);
    t->g = g;
    core_strlcpy(t->instance_id, in->instance_id, sizeof t->instance_id);
    snprintf(agebuf, sizeof agebuf, "%llds", (long long)(age / CORE_NS_PER_S));
    controller_log(c, CORE_LOG_INFO, GC_COMPONENT, in->instance_id,
                   "terminating orphan instance: its NodeClaim does not exist", "nodeclaim",
                   claim, "state", in->state_name ? in->state_name : "", "age", agebuf,
                   (const char *)NULL);
    t->next = g->terms;
    if (g->terms)
        g->terms->prev = t;
    g->terms = t;
    if (controller_terminate(c, in->instance_id, terminated, t, &err) != 0) {
        g->terms = t->next;
        if (t->next)
            t->next->prev = NULL;
        controller_log(c, CORE_LOG_WARN, GC_COMPONENT, in->instance_id,
                       "terminating an orphan instance failed", "error", err.message,
                       (const char *)NULL);
        core_free(t);
    }
}

/* The instance was launched well before the NodeClaim carrying its tag's name was created, and
 * that NodeClaim does not name it: it belongs to an earlier NodeClaim of the same name (a name
 * reused), which controller_launch_find does not adopt either. */
static int older_than_claim(const struct aws_ec2_instance *in, const struct k8s_nodeclaim *nc)
{
    const char *id = provider_instance(nc->provider_id);
    const char *warm = k8s_labels_get(&nc->meta.annotations, CONTROLLER_ANNOTATION_WARM);
    if (!nc->meta.has_creation_timestamp || (id && strcmp(id, in->instance_id) == 0))
        return 0;
    if (warm && strcmp(warm, in->instance_id) == 0)
        return 0; /* a warm instance launched long ago, being taken by this NodeClaim */
    return in->launch_time < nc->meta.creation_timestamp - GC_CLAIM_SLACK;
}

static void judge_orphans(struct controller *c, struct controller_gc *g,
                          const struct aws_ec2_instances *res)
{
    core_ns now = controller_wall(c), grace = gc_grace(c);

    for (size_t i = 0; i < res->n; i++) {
        const struct aws_ec2_instance *in = &res->v[i];
        const char *claim = tag_value(in, CONTROLLER_TAG_NODECLAIM);
        if (!in->instance_id || !claim || !*claim)
            continue; /* warm-pool instances and strangers */
        if (in->state_name && (strcmp(in->state_name, "terminated") == 0 ||
                               strcmp(in->state_name, "shutting-down") == 0))
            continue;
        if (in->launch_time <= 0 || now - in->launch_time <= grace)
            continue;
        const struct k8s_nodeclaim *nc = k8s_informer_get(c->nodeclaims, claim);
        if (nc && !older_than_claim(in, nc))
            continue;
        terminate_orphan(c, g, in, claim, now - in->launch_time);
    }
}

/* ---- NodeClaims whose instance is gone ------------------------------------------------------ */

static int instance_alive(const struct aws_ec2_instances *res, const char *id)
{
    for (size_t i = 0; i < res->n; i++)
        if (res->v[i].instance_id && strcmp(res->v[i].instance_id, id) == 0)
            return !res->v[i].state_name || strcmp(res->v[i].state_name, "terminated") != 0;
    return 0;
}

static void judge_claims(struct controller *c, struct controller_gc *g,
                         const struct gc_describe *d, const struct aws_ec2_instances *res)
{
    for (size_t i = 0; i < d->n; i++) {
        const struct k8s_nodeclaim *nc = k8s_informer_get(c->nodeclaims, d->claims[i]);
        const char *id;
        uintptr_t count;

        /* The NodeClaim changed while we asked: judge it next round. */
        if (!nc || nc->meta.has_deletion_timestamp ||
            !(id = provider_instance(nc->provider_id)) || strcmp(id, d->ids[i]) != 0) {
            (void)core_map_del(g->missing, d->claims[i]);
            continue;
        }
        mark_seen(g, d->claims[i]);
        if (instance_alive(res, d->ids[i])) {
            (void)core_map_del(g->missing, d->claims[i]);
            continue;
        }
        count = (uintptr_t)core_map_get(g->missing, d->claims[i], NULL) + 1;
        if (count < GC_MISSING_ROUNDS) {
            if (core_map_set(g->missing, d->claims[i], (void *)count, NULL) != 0)
                continue;
            controller_log(c, CORE_LOG_DEBUG, GC_COMPONENT, d->claims[i],
                           "instance not found; checking again next round", "instance",
                           d->ids[i], (const char *)NULL);
            continue;
        }
        (void)core_map_del(g->missing, d->claims[i]);
        controller_log(c, CORE_LOG_INFO, GC_COMPONENT, d->claims[i],
                       "deleting NodeClaim: its instance no longer exists", "instance",
                       d->ids[i], (const char *)NULL);
        delete_object(c, &k8s_res_nodeclaims, "NodeClaim", d->claims[i], nc->meta.uid);
    }
}

/* ---- rounds -------------------------------------------------------------------------------- */

static void described(void *ud, int rc, const struct aws_ec2_instances *res,
                      const struct core_err *err)
{
    struct gc_describe *d = ud;
    struct controller *c = controller_op_finish(&d->op);
    struct controller_gc *g;

    if (!c || !(g = c->gc)) {
        describe_free(d);
        return;
    }
    if (rc != 0) {
        controller_log(c, CORE_LOG_WARN, GC_COMPONENT, NULL, "DescribeInstances failed",
                       "error", err && err->message[0] ? err->message : core_strerror(rc),
                       (const char *)NULL);
        /* Unanswered claims keep their counts: not "seen", but not judged either. */
        if (d->kind == 1)
            for (size_t i = 0; i < d->n; i++)
                mark_seen(g, d->claims[i]);
    } else if (controller_may_act(c)) {
        if (d->kind == 0)
            judge_orphans(c, g, res);
        else
            judge_claims(c, g, d, res);
    }
    describe_free(d);
    round_done(g);
}

static int issue(struct controller *c, struct controller_gc *g, struct gc_describe *d,
                 const struct aws_ec2_filter *filters, size_t nfilters)
{
    struct aws_ec2_describe_instances_req req;
    struct core_err err;

    memset(&req, 0, sizeof req);
    core_err_clear(&err);
    req.filters = filters;
    req.nfilters = nfilters;
    controller_op_track(c, &d->op);
    controller_count_ec2(c);
    if (aws_ec2_describe_instances(c->aws, &req, described, d, &err) != 0) {
        controller_log(c, CORE_LOG_WARN, GC_COMPONENT, NULL, "DescribeInstances failed",
                       "error", err.message, (const char *)NULL);
        (void)controller_op_finish(&d->op);
        return -1;
    }
    g->pending++;
    return 0;
}

static void search_orphans(struct controller *c, struct controller_gc *g)
{
    static const char *const states[] = {"pending", "running", "stopping", "stopped"};
    static const char *const owned[] = {"owned"};
    static const char *const claim_key[] = {CONTROLLER_TAG_NODECLAIM};
    char cluster_tag[256], managed_tag[128];
    const char *cluster[1] = {c->opts.cluster_name};
    struct aws_ec2_filter f[4];
    struct gc_describe *d;

    snprintf(cluster_tag, sizeof cluster_tag, "tag:%s%s", CONTROLLER_TAG_CLUSTER_PREFIX,
             c->opts.cluster_name);
    snprintf(managed_tag, sizeof managed_tag, "tag:%s", CONTROLLER_TAG_MANAGED_BY);
    f[0] = (struct aws_ec2_filter){cluster_tag, owned, 1};
    f[1] = (struct aws_ec2_filter){"tag-key", claim_key, 1};
    f[2] = (struct aws_ec2_filter){managed_tag, cluster, 1};
    f[3] = (struct aws_ec2_filter){"instance-state-name", states, 4};
    if (!(d = core_calloc(1, sizeof *d)))
        return;
    if (issue(c, g, d, f, 4) != 0)
        describe_free(d);
}

/* Asks for the instances of NodeClaims (by instance-id filter, which answers "nothing" for an
 * instance that is gone instead of failing the call), at most GC_IDS_PER_CALL per call. */
static void check_claims(struct controller *c, struct controller_gc *g)
{
    size_t it = 0;
    const char *key;
    const void *val;
    struct gc_describe *d = NULL;

    for (;;) {
        int more = k8s_informer_next(c->nodeclaims, &it, &key, &val);
        if (more) {
            const struct k8s_nodeclaim *nc = val;
            const char *id = provider_instance(nc->provider_id);
            if (!id || nc->meta.has_deletion_timestamp)
                continue;
            if (!d) {
                d = core_calloc(1, sizeof *d);
                if (d) {
                    d->kind = 1;
                    d->claims = core_calloc(GC_IDS_PER_CALL, sizeof *d->claims);
                    d->ids = core_calloc(GC_IDS_PER_CALL, sizeof *d->ids);
                }
                if (!d || !d->claims || !d->ids) {
                    describe_free(d);
                    return;
                }
            }
            d->claims[d->n] = core_strdup(key);
            d->ids[d->n] = core_strdup(id);
            if (!d->claims[d->n] || !d->ids[d->n]) {
                d->n++;
                describe_free(d);
                return;
            }
            d->n++;
        }
        if (d && (d->n == GC_IDS_PER_CALL || !more)) {
            struct aws_ec2_filter f = {"instance-id", (const char *const *)d->ids, d->n};
            if (issue(c, g, d, &f, 1) != 0)
                describe_free(d);
            d = NULL;
        }
        if (!more)
            break;
    }
}

static void gc_round(struct controller *c, struct controller_gc *g)
{
    if (!controller_may_act(c) || g->pending > 0)
        return;
    if (!c->nodeclaims || !c->nodes || !k8s_informer_synced(c->nodeclaims) ||
        !k8s_informer_synced(c->nodes))
        return;
    controller_launch_gc(c);
    if (!g->missing && !(g->missing = core_map_new()))
        return;
    core_map_free(g->seen);
    if (!(g->seen = core_map_new()))
        return;
    /* Held open while the calls are issued, so an answer cannot end the round early. */
    g->pending++;
    search_orphans(c, g);
    check_claims(c, g);
    release_orphan_nodes(c);
    round_done(g);
}

static void gc_tick(void *ud)
{
    struct controller_gc *g = ud;
    g->timer = NULL;
    gc_round(g->c, g);
    gc_arm(g, gc_interval(g->c));
}

static void gc_arm(struct controller_gc *g, core_ns delay)
{
    if (g->timer)
        core_loop_timer_cancel(g->c->loop, g->timer);
    /* NULL on allocation failure: the next resync arms it again. */
    g->timer = core_loop_timer_add(g->c->loop, delay, gc_tick, g);
}

int controller_gc_init(struct controller *c, struct core_err *err)
{
    struct controller_gc *g = core_calloc(1, sizeof *g);

    if (!g)
        return core_err_set(err, CORE_E_NOMEM, "gc: out of memory");
    g->c = c;
    c->gc = g;
    return 0;
}

void controller_gc_resync(struct controller *c)
{
    if (!c || !c->gc)
        return;
    /* A new leader waits one interval: the informers have settled and the grace protects
     * young instances anyway. */
    gc_arm(c->gc, gc_interval(c));
}

void controller_gc_cleanup(struct controller *c)
{
    struct controller_gc *g;

    if (!c || !(g = c->gc))
        return;
    if (g->timer)
        core_loop_timer_cancel(c->loop, g->timer);
    while (g->terms) {
        struct gc_term *t = g->terms;
        g->terms = t->next;
        core_free(t);
    }
    core_map_free(g->missing);
    core_map_free(g->seen);
    core_free(g);
    c->gc = NULL;
}
