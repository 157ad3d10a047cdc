/*
 * controller/controller.c — wiring: options, informers and their indexes, leader election,
 * the event recorder, the catalog refresher and AMI resolver, the tracked-request list, and
 * the life cycle of the reconcilers (init before the informers start, resync on becoming
 * leader, cleanup on free).
 *
 * Invariants:
 *  - controller_free is safe at any moment: tracked requests are detached first (their
 *    callbacks then only free their own context), reconcilers are cleaned up next, and the
 *    leader elector, which answers into its own memory, is released and frees itself when the
 *    release completes (or when the borrowed client is freed, which completes it).
 *  - The leader callbacks reach the controller through a small context that outlives it, so
 *    an on_stop that fires during release after free touches nothing.
 *  - Only this file logs about wiring; reconcilers log their own decisions.
 */
#include "controller/internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------ */
/* Tracked requests                                                                            */
/* ------------------------------------------------------------------------------------------ */

void controller_op_track(struct controller *c, struct controller_op *op)
{
    op->c = c;
    op->prev = &c->ops;
    op->next = c->ops.next;
    if (c->ops.next)
        c->ops.next->prev = op;
    c->ops.next = op;
}

struct controller *controller_op_finish(struct controller_op *op)
{
    struct controller *c = op->c;
    if (op->prev)
        op->prev->next = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->prev = op->next = NULL;
    op->c = NULL;
    return c;
}

static void detach_ops(struct controller *c)
{
    struct controller_op *op = c->ops.next;
    while (op) {
        struct controller_op *next = op->next;
        op->c = NULL;
        op->prev = op->next = NULL;
        op = next;
    }
    c->ops.next = NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Small services for the reconcilers                                                          */
/* ------------------------------------------------------------------------------------------ */

int controller_may_act(const struct controller *c)
{
    return c && c->leading && !c->crashed;
}

void controller_log(const struct controller *c, enum core_log_level level, const char *component,
                    const char *key, const char *msg, ...)
{
    if (!c || !c->log)
        return;
    /* Up to 16 name/value pairs, passed on to the logger's variadic writer. */
    const char *kv[33] = {0};
    va_list ap;
    va_start(ap, msg);
    size_t n = 0;
    while (n < 32) {
        const char *name = va_arg(ap, const char *);
        if (!name)
            break;
        kv[n++] = name;
        kv[n++] = va_arg(ap, const char *);
    }
    va_end(ap);
    core_log_write(c->log, level, component, key, msg, kv[0], kv[1], kv[2], kv[3], kv[4], kv[5],
                   kv[6], kv[7], kv[8], kv[9], kv[10], kv[11], kv[12], kv[13], kv[14], kv[15],
                   kv[16], kv[17], kv[18], kv[19], kv[20], kv[21], kv[22], kv[23], kv[24],
                   kv[25], kv[26], kv[27], kv[28], kv[29], kv[30], kv[31], (const char *)NULL);
}

core_ns controller_now(const struct controller *c)
{
    return core_loop_now(c->loop);
}

core_ns controller_wall(const struct controller *c)
{
    return core_clock_wall(core_loop_clock(c->loop));
}

const struct launcher_catalog *controller_catalog(const struct controller *c)
{
    return c->refresher ? launcher_refresher_catalog(c->refresher) : c->base_catalog;
}

struct launcher_offerings *controller_offerings(struct controller *c)
{
    return c->refresher ? launcher_refresher_offerings(c->refresher) : NULL;
}

void controller_count_ec2(struct controller *c)
{
    c->stats.ec2_calls++;
}

static int cmp_ns(const void *a, const void *b)
{
    core_ns x = *(const core_ns *)a, y = *(const core_ns *)b;
    return x < y ? -1 : x > y;
}

/* The most recent samples kept; older ones are overwritten (a long-running controller must
 * not grow without bound, and percentiles over the recent past are what an operator wants). */
#define REACTION_KEEP 65536

void controller_reaction(struct controller *c, core_ns d)
{
    if (d < 0)
        d = 0;
    if (c->nreaction == REACTION_KEEP) {
        c->reaction[c->reaction_next++ % REACTION_KEEP] = d;
        return;
    }
    if (c->nreaction == c->capreaction) {
        size_t n = c->capreaction ? c->capreaction * 2 : 256;
        core_ns *v = core_realloc(c->reaction, n * sizeof(*v));
        if (!v)
            return; /* a lost sample, not an error */
        c->reaction = v;
        c->capreaction = n;
    }
    c->reaction[c->nreaction++] = d;
}

const double controller_launch_buckets[11] = {1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120};

void controller_launch_latency(struct controller *c, int warm, double seconds)
{
    int path = warm ? 1 : 0;
    size_t b = 0;
    while (b < 11 && seconds > controller_launch_buckets[b])
        b++;
    c->launch_hist[path][b]++;
    c->launch_sum[path] += seconds;
    c->launch_count[path]++;
}

void controller_event(struct controller *c, const struct k8s_object_ref *obj, const char *type,
                      const char *reason, const char *message)
{
    if (controller_may_act(c) && c->recorder)
        k8s_event(c->recorder, obj, type, reason, message);
}

void controller_get_stats(const struct controller *c, struct controller_stats *out)
{
    *out = c->stats;
    out->reaction_samples = c->nreaction;
    out->reaction_p50 = out->reaction_p99 = 0;
    if (c->nreaction) {
        core_ns *v = core_malloc(c->nreaction * sizeof(*v));
        if (v) {
            memcpy(v, c->reaction, c->nreaction * sizeof(*v));
            qsort(v, c->nreaction, sizeof(*v), cmp_ns);
            out->reaction_p50 = v[(c->nreaction - 1) / 2];
            out->reaction_p99 = v[(c->nreaction - 1) * 99 / 100];
            core_free(v);
        }
    }
}

int controller_healthy(const struct controller *c)
{
    return c && !c->crashed;
}

static int informers_synced(const struct controller *c)
{
    const struct k8s_informer *v[] = {c->pods,      c->nodes,     c->nodeclaims,
                                      c->nodepools, c->nodeclasses, c->daemonsets,
                                      c->pvcs,      c->pvs,       c->storage_classes};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (!v[i] || !k8s_informer_synced(v[i]))
            return 0;
    return 1;
}

int controller_ready(const struct controller *c)
{
    return controller_healthy(c) && informers_synced(c) && c->k8s_version;
}

int controller_leading(const struct controller *c)
{
    return c && c->leading;
}

int controller_crashed(const struct controller *c)
{
    return c && c->crashed;
}

/* ------------------------------------------------------------------------------------------ */
/* Informers                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* Typed decode/free pairs for the informers. */
#define TYPED(name, type, decode, cleanup)                                                   \
    static int name##_decode(void *ud, const json_t *obj, void **out, struct core_err *err)  \
    {                                                                                         \
        (void)ud;                                                                             \
        type *v = core_calloc(1, sizeof(*v));                                                 \
        if (!v)                                                                               \
            return CORE_E_NOMEM;                                                              \
        int rc = decode(obj, v, err);                                                         \
        if (rc) {                                                                             \
            core_free(v);                                                                     \
            return rc;                                                                        \
        }                                                                                     \
        *out = v;                                                                             \
        return 0;                                                                             \
    }                                                                                         \
    static void name##_free(void *value)                                                      \
    {                                                                                         \
        if (!value)                                                                           \
            return;                                                                           \
        cleanup((type *)value);                                                               \
        core_free(value);                                                                     \
    }

TYPED(pod, struct k8s_pod, k8s_pod_decode, k8s_pod_cleanup)
TYPED(node, struct k8s_node, k8s_node_decode, k8s_node_cleanup)
TYPED(nodeclaim, struct k8s_nodeclaim, k8s_nodeclaim_decode, k8s_nodeclaim_cleanup)
TYPED(nodepool, struct k8s_nodepool, k8s_nodepool_decode, k8s_nodepool_cleanup)
TYPED(nodeclass, struct k8s_ec2nodeclass, k8s_ec2nodeclass_decode, k8s_ec2nodeclass_cleanup)
TYPED(daemonset, struct k8s_daemonset, k8s_daemonset_decode, k8s_daemonset_cleanup)
TYPED(pvc, struct k8s_pvc, k8s_pvc_decode, k8s_pvc_cleanup)
TYPED(pv, struct k8s_pv, k8s_pv_decode, k8s_pv_cleanup)
TYPED(storage_class, struct k8s_storage_class, k8s_storage_class_decode,
      k8s_storage_class_cleanup)
TYPED(warmpool, struct k8s_warmpool, k8s_warmpool_decode, k8s_warmpool_cleanup)

static int one_key(const char *v, char **keys, size_t max)
{
    if (!v || !*v || max == 0)
        return 0;
    keys[0] = core_strdup(v);
    return keys[0] ? 1 : CORE_E_NOMEM;
}

static int idx_pod_node(const void *value, char **keys, size_t max)
{
    return one_key(((const struct k8s_pod *)value)->spec.node_name, keys, max);
}

static int idx_node_provider(const void *value, char **keys, size_t max)
{
    return one_key(((const struct k8s_node *)value)->provider_id, keys, max);
}

static int idx_node_pool(const void *value, char **keys, size_t max)
{
    const struct k8s_node *n = value;
    return one_key(k8s_labels_get(&n->meta.labels, LAUNCHER_KEY_NODEPOOL), keys, max);
}

static int idx_claim_provider(const void *value, char **keys, size_t max)
{
    return one_key(((const struct k8s_nodeclaim *)value)->provider_id, keys, max);
}

static int idx_claim_pool(const void *value, char **keys, size_t max)
{
    const struct k8s_nodeclaim *n = value;
    return one_key(k8s_labels_get(&n->meta.labels, LAUNCHER_KEY_NODEPOOL), keys, max);
}

static int idx_claim_class(const void *value, char **keys, size_t max)
{
    return one_key(((const struct k8s_nodeclaim *)value)->node_class_ref.name, keys, max);
}

static int idx_pool_class(const void *value, char **keys, size_t max)
{
    return one_key(((const struct k8s_nodepool *)value)->node_class_ref.name, keys, max);
}

static void informer_error(void *ud, const char *key, const struct core_err *err)
{
    struct controller *c = ud;
    controller_log(c, CORE_LOG_WARN, "informer", key, key ? "object not decoded" : "watch failed",
                   "error", err ? err->message : "", (const char *)NULL);
}

/* An EC2NodeClass that does not decode (a reserved tag key, a bad field) gets a status that
 * says so instead of silently missing from the store. */
static void nodeclass_error(void *ud, const char *key, const struct core_err *err)
{
    struct controller *c = ud;
    informer_error(ud, key, err);
    if (key)
        controller_nodeclass_invalid(c, key, err);
}

/* Likewise a WarmPool (a cron expression that does not parse, overlapping schedules, ...). */
static void warmpool_error(void *ud, const char *key, const struct core_err *err)
{
    struct controller *c = ud;
    informer_error(ud, key, err);
    if (key)
        controller_warmpool_invalid(c, key, err);
}

static int make_informer(struct controller *c, const struct k8s_resource *res, k8s_decode_fn dec,
                         k8s_value_free_fn fr, struct k8s_informer **out, struct core_err *err)
{
    struct k8s_informer_opts o = {0};
    o.decode = dec;
    o.free_value = fr;
    o.on_error = res == &k8s_res_ec2nodeclasses ? nodeclass_error
                 : res == &k8s_res_warmpools    ? warmpool_error
                                                : informer_error;
    o.error_ud = c;
    return k8s_informer_new(c->k8s, res, &o, out, err);
}

static int make_informers(struct controller *c, struct core_err *err)
{
    int rc = 0;
    if (!rc)
        rc = make_informer(c, &k8s_res_pods, pod_decode, pod_free, &c->pods, err);
    if (!rc)
        rc = make_informer(c, &k8s_res_nodes, node_decode, node_free, &c->nodes, err);
    if (!rc)
        rc = make_informer(c, &k8s_res_nodeclaims, nodeclaim_decode, nodeclaim_free,
                           &c->nodeclaims, err);
    if (!rc)
        rc = make_informer(c, &k8s_res_nodepools, nodepool_decode, nodepool_free, &c->nodepools,
                           err);
    if (!rc)
        rc = make_informer(c, &k8s_res_ec2nodeclasses, nodeclass_decode, nodeclass_free,
                           &c->nodeclasses, err);
    if (!rc)
        rc = make_informer(c, &k8s_res_daemonsets, daemonset_decode, daemonset_free,
                           &c->daemonsets, err);
    if (!rc)
        rc = make_informer(c, &k8s_res_pvcs, pvc_decode, pvc_free, &c->pvcs, err);
    if (!rc)
        rc = make_informer(c, &k8s_res_pvs, pv_decode, pv_free, &c->pvs, err);
    if (!rc)
        rc = make_informer(c, &k8s_res_storageclasses, storage_class_decode, storage_class_free,
                           &c->storage_classes, err);
    if (!rc)
        rc = make_informer(c, &k8s_res_warmpools, warmpool_decode, warmpool_free, &c->warmpools,
                           err);
    if (!rc)
        rc = k8s_informer_add_index(c->pods, CONTROLLER_IDX_NODE, idx_pod_node);
    if (!rc)
        rc = k8s_informer_add_index(c->nodes, CONTROLLER_IDX_PROVIDER, idx_node_provider);
    if (!rc)
        rc = k8s_informer_add_index(c->nodes, CONTROLLER_IDX_POOL, idx_node_pool);
    if (!rc)
        rc = k8s_informer_add_index(c->nodeclaims, CONTROLLER_IDX_PROVIDER, idx_claim_provider);
    if (!rc)
        rc = k8s_informer_add_index(c->nodeclaims, CONTROLLER_IDX_POOL, idx_claim_pool);
    if (!rc)
        rc = k8s_informer_add_index(c->nodeclaims, CONTROLLER_IDX_CLASS, idx_claim_class);
    if (!rc)
        rc = k8s_informer_add_index(c->nodepools, CONTROLLER_IDX_CLASS, idx_pool_class);
    if (rc && err && !err->code)
        core_err_set(err, rc, "controller: informers: %s", core_strerror(rc));
    return rc;
}

static void free_informers(struct controller *c)
{
    struct k8s_informer **v[] = {&c->pods,       &c->nodes,      &c->nodeclaims,
                                 &c->nodepools,  &c->nodeclasses, &c->daemonsets,
                                 &c->pvcs,       &c->pvs,        &c->storage_classes,
                                 &c->warmpools};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        k8s_informer_free(*v[i]);
        *v[i] = NULL;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Leadership                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Outlives the controller when the elector's release completes after controller_free. */
struct controller_leader {
    struct controller *c;
    struct k8s_leader *leader;
};

static void resync_all(struct controller *c)
{
    controller_nodeclass_resync(c);
    controller_nodepool_resync(c);
    controller_nodeclaim_resync(c);
    controller_provision_resync(c);
    controller_gc_resync(c);
    controller_warmpool_resync(c);
}

static void on_lead(void *ud)
{
    struct controller_leader *lc = ud;
    struct controller *c = lc->c;
    if (!c)
        return;
    c->leading = 1;
    controller_log(c, CORE_LOG_INFO, "leader", c->identity, "leading", (const char *)NULL);
    resync_all(c);
}

static void on_follow(void *ud)
{
    struct controller_leader *lc = ud;
    struct controller *c = lc->c;
    if (!c)
        return;
    c->leading = 0;
    controller_log(c, CORE_LOG_INFO, "leader", c->identity, "stopped leading",
                   (const char *)NULL);
}

static void released(void *ud)
{
    struct controller_leader *lc = ud;
    k8s_leader_free(lc->leader);
    core_free(lc);
}

/* ------------------------------------------------------------------------------------------ */
/* Kubernetes version                                                                          */
/* ------------------------------------------------------------------------------------------ */

struct version_ctx {
    struct controller_op op;
};

#define VERSION_RETRY_MIN ((core_ns)2 * CORE_NS_PER_S)
#define VERSION_RETRY_MAX ((core_ns)60 * CORE_NS_PER_S)

static int ask_version(struct controller *c, struct core_err *err);

static void version_retry(void *ud)
{
    struct controller *c = ud;
    c->version_timer = NULL;
    struct core_err err = {0};
    if (ask_version(c, &err) != 0) {
        c->version_backoff = c->version_backoff ? c->version_backoff * 2 : VERSION_RETRY_MIN;
        if (c->version_backoff > VERSION_RETRY_MAX)
            c->version_backoff = VERSION_RETRY_MAX;
        c->version_timer = core_loop_timer_add(c->loop, c->version_backoff, version_retry, c);
    }
}

static void version_done(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct version_ctx *v = ud;
    struct controller *c = controller_op_finish(&v->op);
    core_free(v);
    if (!c)
        return;
    const char *major = rc ? NULL : json_string_value(json_object_get(obj, "major"));
    const char *minor = rc ? NULL : json_string_value(json_object_get(obj, "minor"));
    if (!major || !minor) {
        /* Without the version no AMI resolves: keep asking (the API server may be coming up,
         * a token may not be ready yet); readiness stays false meanwhile. */
        c->version_backoff = c->version_backoff ? c->version_backoff * 2 : VERSION_RETRY_MIN;
        if (c->version_backoff > VERSION_RETRY_MAX)
            c->version_backoff = VERSION_RETRY_MAX;
        controller_log(c, CORE_LOG_WARN, "controller", NULL,
                       "cannot learn the Kubernetes version yet; retrying (or pass the version)",
                       "error", err ? err->message : "no major/minor in /version",
                       (const char *)NULL);
        c->version_timer = core_loop_timer_add(c->loop, c->version_backoff, version_retry, c);
        return;
    }
    char buf[32];
    size_t i = 0, j = 0;
    for (; major[i] && major[i] >= '0' && major[i] <= '9' && j < 8; i++)
        buf[j++] = major[i];
    buf[j++] = '.';
    for (i = 0; minor[i] && minor[i] >= '0' && minor[i] <= '9' && j < 20; i++)
        buf[j++] = minor[i]; /* EKS says "31+" */
    buf[j] = '\0';
    c->k8s_version = core_strdup(buf);
    controller_log(c, CORE_LOG_INFO, "controller", NULL, "kubernetes version", "version", buf,
                   (const char *)NULL);
    if (c->leading)
        controller_nodeclass_resync(c);
}

static int ask_version(struct controller *c, struct core_err *err)
{
    struct version_ctx *vc = core_calloc(1, sizeof(*vc));
    if (!vc)
        return CORE_E_NOMEM;
    controller_op_track(c, &vc->op);
    int rc = k8s_request(c->k8s, "GET", "/version", NULL, NULL, NULL, 0, version_done, vc, err);
    if (rc) {
        controller_op_finish(&vc->op);
        core_free(vc);
    }
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Life cycle                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static void refreshed(void *ud, const struct core_err *err)
{
    struct controller *c = ud;
    if (err)
        controller_log(c, CORE_LOG_WARN, "catalog", NULL, "instance type refresh failed",
                       "error", err->message, (const char *)NULL);
    else
        controller_log(c, CORE_LOG_INFO, "catalog", NULL, "instance types refreshed",
                       (const char *)NULL);
    /* Pods found unschedulable against the old (or the empty initial) offerings may fit now. */
    if (!err && controller_may_act(c))
        controller_provision_kick(c);
}

/* Copies the option strings into one block. */
static int copy_opts(struct controller *c, const struct controller_opts *o, struct core_err *err)
{
    const char *req[][2] = {{o->cluster_name, "cluster name"},
                            {o->cluster_endpoint, "cluster endpoint"},
                            {o->cluster_ca, "cluster CA bundle"},
                            {o->region, "region"}};
    for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
        if (!req[i][0] || !*req[i][0])
            return core_err_set(err, CORE_E_INVAL, "controller: the %s is required", req[i][1]);
    c->opts = *o;
    const char **fields[] = {&c->opts.cluster_name, &c->opts.cluster_endpoint,
                             &c->opts.cluster_ca,   &c->opts.service_cidr,
                             &c->opts.cluster_dns,  &c->opts.k8s_version,
                             &c->opts.region,       &c->opts.identity,
                             &c->opts.lease_namespace, &c->opts.lease_name};
    size_t nf = sizeof(fields) / sizeof(fields[0]);
    size_t total = 0;
    for (size_t i = 0; i < nf; i++)
        total += *fields[i] ? strlen(*fields[i]) + 1 : 0;
    for (size_t i = 0; i < o->nzones; i++)
        total += strlen(o->zones[i]) + 1 + sizeof(char *);
    c->strings = core_malloc(total + sizeof(char *));
    if (!c->strings)
        return CORE_E_NOMEM;
    /* Zone pointers first (aligned), then the text. */
    const char **zones = (const char **)(void *)c->strings;
    char *p = c->strings + o->nzones * sizeof(char *);
    for (size_t i = 0; i < nf; i++) {
        if (!*fields[i])
            continue;
        size_t n = strlen(*fields[i]) + 1;
        memcpy(p, *fields[i], n);
        *fields[i] = p;
        p += n;
    }
    for (size_t i = 0; i < o->nzones; i++) {
        size_t n = strlen(o->zones[i]) + 1;
        memcpy(p, o->zones[i], n);
        zones[i] = p;
        p += n;
    }
    c->opts.zones = o->nzones ? zones : NULL;
    return 0;
}

int controller_new(struct core_loop *loop, struct k8s_client *k8s, struct aws_client *aws,
                   struct core_log *log, const struct controller_opts *opts,
                   struct controller **out, struct core_err *err)
{
    if (!loop || !k8s || !aws || !opts || !out)
        return core_err_set(err, CORE_E_INVAL, "controller_new: missing argument");
    struct controller *c = core_calloc(1, sizeof(*c));
    if (!c)
        return CORE_E_NOMEM;
    c->loop = loop;
    c->k8s = k8s;
    c->aws = aws;
    c->log = log;
    int rc = copy_opts(c, opts, err);
    if (!rc && c->opts.k8s_version && !(c->k8s_version = core_strdup(c->opts.k8s_version)))
        rc = CORE_E_NOMEM;
    if (!rc) {
        if (c->opts.identity && *c->opts.identity) {
            snprintf(c->identity, sizeof(c->identity), "%s", c->opts.identity);
        } else {
            char host[128] = "stoker";
            if (gethostname(host, sizeof(host) - 1) != 0)
                snprintf(host, sizeof(host), "stoker");
            host[sizeof(host) - 1] = '\0';
            snprintf(c->identity, sizeof(c->identity), "%s-%ld", host, (long)getpid());
        }
    }
    if (!rc)
        rc = make_informers(c, err);
    if (!rc)
        rc = launcher_catalog_load(&c->base_catalog, err);
    if (!rc) {
        struct launcher_refresh_opts ro = {0};
        ro.interval = c->opts.catalog_interval;
        ro.zones = c->opts.zones;
        ro.nzones = c->opts.nzones;
        rc = launcher_refresher_new(loop, aws, c->opts.region, c->base_catalog, &ro, refreshed, c,
                                    &c->refresher, err);
    }
    if (!rc)
        rc = amiresolve_new(aws, NULL, &c->ami, err);
    if (!rc)
        rc = k8s_recorder_new(k8s, "stoker", c->identity, &c->recorder, err);
    if (!rc)
        rc = controller_launch_init(c, err);
    if (!rc)
        rc = controller_nodeclass_init(c, err);
    if (!rc)
        rc = controller_nodepool_init(c, err);
    if (!rc)
        rc = controller_nodeclaim_init(c, err);
    if (!rc)
        rc = controller_provision_init(c, err);
    if (!rc)
        rc = controller_gc_init(c, err);
    if (!rc)
        rc = controller_warmpool_init(c, err);
    if (rc) {
        controller_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int controller_start(struct controller *c, struct core_err *err)
{
    struct k8s_informer *v[] = {c->nodeclasses, c->nodepools, c->nodeclaims,
                                c->nodes,       c->daemonsets, c->pvcs,
                                c->pvs,         c->storage_classes, c->warmpools,
                                c->pods};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        int rc = k8s_informer_start(v[i], err);
        if (rc)
            return rc;
    }
    if (!c->k8s_version) {
        int rc = ask_version(c, err);
        if (rc)
            return rc;
    }
    if (!c->opts.leader_election) {
        c->leading = 1;
        resync_all(c);
        return 0;
    }
    struct controller_leader *lc = core_calloc(1, sizeof(*lc));
    if (!lc)
        return CORE_E_NOMEM;
    lc->c = c;
    const char *ns = c->opts.lease_namespace ? c->opts.lease_namespace : "kube-system";
    const char *name = c->opts.lease_name ? c->opts.lease_name : "stoker-controller";
    int rc = k8s_leader_new(c->k8s, ns, name, c->identity, NULL, on_lead, on_follow, lc,
                            &lc->leader, err);
    if (!rc)
        rc = k8s_leader_start(lc->leader, err);
    if (rc) {
        k8s_leader_free(lc->leader);
        core_free(lc);
        return rc;
    }
    c->leader = lc;
    return 0;
}

void controller_free(struct controller *c)
{
    if (!c)
        return;
    detach_ops(c);
    if (c->version_timer)
        core_loop_timer_cancel(c->loop, c->version_timer);
    if (c->leader) {
        struct controller_leader *lc = c->leader;
        lc->c = NULL;
        k8s_leader_release(lc->leader, released, lc);
    }
    c->leading = 0;
    controller_warmpool_cleanup(c);
    controller_gc_cleanup(c);
    controller_provision_cleanup(c);
    controller_nodeclaim_cleanup(c);
    controller_nodepool_cleanup(c);
    controller_nodeclass_cleanup(c);
    controller_launch_cleanup(c);
    free_informers(c);
    k8s_recorder_free(c->recorder);
    amiresolve_free(c->ami);
    launcher_refresher_free(c->refresher);
    launcher_catalog_free(c->base_catalog);
    core_free(c->reaction);
    core_free(c->k8s_version);
    core_free(c->strings);
    core_free(c);
}
