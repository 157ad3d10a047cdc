/*
 * controller/metrics.c — the controller's Prometheus text exposition (format 0.0.4) and the
 * small HTTP endpoint that serves it with /healthz and /readyz: libmicrohttpd in external
 * epoll mode, driven from the core loop like sim/server.c (no server threads).
 *
 * Invariants:
 *  - Every metric family is written as HELP, TYPE, then its samples, each family once; label
 *    values are escaped (\\, \", \n) and HELP text has no backslash or newline to escape.
 *  - Rendering only reads the controller (counters, informer stores, client statistics); it
 *    never issues a call, so a scrape cannot change what the controller does.
 *  - Histogram buckets are cumulative on the wire although launch_hist keeps one count per
 *    bucket; the +Inf bucket equals _count.
 *  - MHD runs only from the loop: when its epoll descriptor is readable and from one timer kept
 *    armed at min(MHD_get_timeout, HTTP_TICK). Answers are built whole before they are queued:
 *    no request is ever suspended, so MHD_stop_daemon can always stop.
 *  - Nothing here logs.
 *  - Warm pools (one series set per WarmPool this replica has reconciled, in name order, as of
 *    its last reconcile):
 *      stoker_warmpool_instances{warmpool,phase}        gauge: warming, warm, claimed, failed,
 *                                                       stale
 *      stoker_warmpool_bounds{warmpool,bound}           gauge: the min and max in force
 *      stoker_warmpool_idle_cost_usd_per_hour{warmpool} gauge: what the pool costs while idle
 *      stoker_warmpool_actions_total{warmpool,action}   counter: launch, terminate, hibernate
 *    only while this replica leads (a follower's figures are its last term's). Cluster-wide:
 *    stoker_warm_launches_total and stoker_warm_terminations_total (the pools' own
 *    terminations; the orphan sweep's count in stoker_orphans_terminated_total).
 */
#include "controller/internal.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define METRICS_LIMIT (8u * 1024u * 1024u)
#define HTTP_TICK (50 * CORE_NS_PER_MS)
#define HTTP_CONN_TIMEOUT_S 30u
#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"

/* ---- the text format ----------------------------------------------------------------------- */

int controller_metrics_label_escape(struct core_buf *out, const char *value)
{
    int rc = 0;
    for (const char *p = value ? value : ""; *p && rc == 0; p++) {
        if (*p == '\\')
            rc = core_buf_append(out, "\\\\", 2);
        else if (*p == '"')
            rc = core_buf_append(out, "\\\"", 2);
        else if (*p == '\n')
            rc = core_buf_append(out, "\\n", 2);
        else
            rc = core_buf_append_char(out, *p);
    }
    return rc;
}

static int family(struct core_buf *b, const char *name, const char *type, const char *help)
{
    return core_buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{l1="v1",...} — labels is a NULL-terminated list of name, value pairs (may be NULL). */
static int sample_start(struct core_buf *b, const char *name, const char *const *labels)
{
    int rc = core_buf_append_str(b, name);
    if (rc == 0 && labels && labels[0]) {
        rc = core_buf_append_char(b, '{');
        for (size_t i = 0; rc == 0 && labels[i]; i += 2) {
            if (i > 0)
                rc = core_buf_append_char(b, ',');
            if (rc == 0)
                rc = core_buf_appendf(b, "%s=\"", labels[i]);
            if (rc == 0)
                rc = controller_metrics_label_escape(b, labels[i + 1]);
            if (rc == 0)
                rc = core_buf_append_char(b, '"');
        }
        if (rc == 0)
            rc = core_buf_append_char(b, '}');
    }
    return rc;
}

static int sample_u(struct core_buf *b, const char *name, const char *const *labels,
                    unsigned long v)
{
    int rc = sample_start(b, name, labels);
    return rc ? rc : core_buf_appendf(b, " %lu\n", v);
}

static int sample_d(struct core_buf *b, const char *name, const char *const *labels, double v)
{
    int rc = sample_start(b, name, labels);
    return rc ? rc : core_buf_appendf(b, " %.9g\n", v);
}

/* A family with one unlabelled sample. */
static int single_u(struct core_buf *b, const char *name, const char *type, const char *help,
                    unsigned long v)
{
    int rc = family(b, name, type, help);
    return rc ? rc : sample_u(b, name, NULL, v);
}

/* ---- the metrics ---------------------------------------------------------------------------- */

static unsigned long pending_pods(const struct controller *c)
{
    size_t it = 0;
    const char *key;
    const void *val;
    unsigned long n = 0;

    if (!c->pods)
        return 0;
    while (k8s_informer_next(c->pods, &it, &key, &val)) {
        const struct k8s_pod *p = val;
        if ((!p->spec.node_name || !*p->spec.node_name) && k8s_pod_unschedulable(p))
            n++;
    }
    return n;
}

static int cond_true(const struct k8s_nodeclaim *nc, const char *type)
{
    const struct k8s_condition *cd = k8s_condition_find(nc->conditions, nc->nconditions, type);
    return cd && cd->status == K8S_COND_TRUE;
}

static int nodeclaims(const struct controller *c, struct core_buf *b)
{
    static const char *const phases[] = {"pending", "launched", "registered", "initialized",
                                         "deleting"};
    unsigned long n[5] = {0};
    size_t it = 0;
    const char *key;
    const void *val;
    int rc;

    while (c->nodeclaims && k8s_informer_next(c->nodeclaims, &it, &key, &val)) {
        const struct k8s_nodeclaim *nc = val;
        if (nc->meta.has_deletion_timestamp)
            n[4]++;
        else if (cond_true(nc, "Initialized"))
            n[3]++;
        else if (cond_true(nc, "Registered"))
            n[2]++;
        else if (cond_true(nc, "Launched"))
            n[1]++;
        else
            n[0]++;
    }
    rc = family(b, "stoker_nodeclaims", "gauge", "NodeClaims in the cluster by lifecycle phase.");
    for (size_t i = 0; rc == 0 && i < 5; i++) {
        const char *l[] = {"phase", phases[i], NULL};
        rc = sample_u(b, "stoker_nodeclaims", l, n[i]);
    }
    return rc;
}

static int launches(const struct controller *c, struct core_buf *b)
{
    const char *cold[] = {"path", "cold", "result", "success", NULL};
    const char *warm[] = {"path", "warm", "result", "success", NULL};
    /* Failures are not counted per path. */
    const char *fail[] = {"result", "failure", NULL};
    int rc = family(b, "stoker_launches_total", "counter",
                    "Instance launches: cold (CreateFleet) and warm (StartInstances).");
    if (rc == 0)
        rc = sample_u(b, "stoker_launches_total", cold, c->stats.launches_cold);
    if (rc == 0)
        rc = sample_u(b, "stoker_launches_total", warm, c->stats.launches_warm);
    if (rc == 0)
        rc = sample_u(b, "stoker_launches_total", fail, c->stats.launch_failures);
    return rc;
}

static int launch_histogram(const struct controller *c, struct core_buf *b)
{
    static const char *const paths[] = {"cold", "warm"};
    int rc = family(b, "stoker_launch_duration_seconds", "histogram",
                    "Seconds from a NodeClaim's launch call to its instance answering.");
    for (size_t p = 0; rc == 0 && p < 2; p++) {
        unsigned long cum = 0;
        for (size_t i = 0; rc == 0 && i < 12; i++) {
            char le[32];
            const char *l[] = {"path", paths[p], "le", le, NULL};
            cum += c->launch_hist[p][i];
            if (i < 11)
                snprintf(le, sizeof le, "%g", controller_launch_buckets[i]);
            else
                core_strlcpy(le, "+Inf", sizeof le);
            rc = sample_u(b, "stoker_launch_duration_seconds_bucket", l, cum);
        }
        if (rc == 0) {
            const char *l[] = {"path", paths[p], NULL};
            rc = sample_d(b, "stoker_launch_duration_seconds_sum", l, c->launch_sum[p]);
            if (rc == 0)
                rc = sample_u(b, "stoker_launch_duration_seconds_count", l,
                              c->launch_count[p]);
        }
    }
    return rc;
}

static int cloud_calls(const struct controller *c, struct core_buf *b)
{
    struct aws_action_stats st;
    size_t it;
    int rc = family(b, "stoker_cloud_calls_total", "counter",
                    "AWS API calls made, by service, action and result.");

    for (it = 0; rc == 0 && c->aws && aws_client_stats_next(c->aws, &it, &st);) {
        const char *ok[] = {"service", st.service, "action", st.action, "result", "success",
                            NULL};
        const char *bad[] = {"service", st.service, "action", st.action, "result", "error",
                             NULL};
        rc = sample_u(b, "stoker_cloud_calls_total", ok,
                      st.calls >= st.errors ? st.calls - st.errors : 0);
        if (rc == 0)
            rc = sample_u(b, "stoker_cloud_calls_total", bad, st.errors);
    }
    if (rc == 0)
        rc = family(b, "stoker_cloud_attempts_total", "counter",
                    "AWS API requests sent, retries included.");
    for (it = 0; rc == 0 && c->aws && aws_client_stats_next(c->aws, &it, &st);) {
        const char *l[] = {"service", st.service, "action", st.action, NULL};
        rc = sample_u(b, "stoker_cloud_attempts_total", l, st.attempts);
    }
    if (rc == 0)
        rc = family(b, "stoker_cloud_throttled_total", "counter",
                    "AWS API answers with a throttling error code.");
    for (it = 0; rc == 0 && c->aws && aws_client_stats_next(c->aws, &it, &st);) {
        const char *l[] = {"service", st.service, "action", st.action, NULL};
        rc = sample_u(b, "stoker_cloud_throttled_total", l, st.throttled);
    }
    if (rc == 0)
        rc = single_u(b, "stoker_cloud_retry_quota_refusals_total", "counter",
                      "AWS retries refused because the retry quota was spent.",
                      c->aws ? aws_client_quota_refusals(c->aws) : 0);
    return rc;
}

static int informers(const struct controller *c, struct core_buf *b)
{
    const struct {
        const char *name;
        const struct k8s_informer *inf;
    } v[] = {{"pods", c->pods},
             {"nodes", c->nodes},
             {"nodeclaims", c->nodeclaims},
             {"nodepools", c->nodepools},
             {"ec2nodeclasses", c->nodeclasses},
             {"daemonsets", c->daemonsets},
             {"persistentvolumeclaims", c->pvcs},
             {"persistentvolumes", c->pvs},
             {"storageclasses", c->storage_classes},
             {"warmpools", c->warmpools}};
    struct k8s_informer_stats st;
    int rc = family(b, "stoker_informer_events_total", "counter",
                    "Watch events applied to the controller's caches, by resource.");

    for (size_t i = 0; rc == 0 && i < sizeof v / sizeof v[0]; i++) {
        const char *l[] = {"resource", v[i].name, NULL};
        if (!v[i].inf)
            continue;
        k8s_informer_get_stats(v[i].inf, &st);
        rc = sample_u(b, "stoker_informer_events_total", l, st.events);
    }
    if (rc == 0)
        rc = family(b, "stoker_informer_relists_total", "counter",
                    "Full relists of a cache after its watch expired, by resource.");
    for (size_t i = 0; rc == 0 && i < sizeof v / sizeof v[0]; i++) {
        const char *l[] = {"resource", v[i].name, NULL};
        if (!v[i].inf)
            continue;
        k8s_informer_get_stats(v[i].inf, &st);
        rc = sample_u(b, "stoker_informer_relists_total", l, st.relists);
    }
    return rc;
}

static int reaction(const struct controller *c, const struct controller_stats *st,
                    struct core_buf *b)
{
    const char *q50[] = {"quantile", "0.5", NULL};
    const char *q99[] = {"quantile", "0.99", NULL};
    double sum = 0;
    int rc;

    for (size_t i = 0; i < c->nreaction; i++)
        sum += (double)c->reaction[i] / (double)CORE_NS_PER_S;
    rc = family(b, "stoker_reaction_seconds", "summary",
                "Seconds from a pod first seen pending to the first launch call serving it.");
    if (rc == 0)
        rc = sample_d(b, "stoker_reaction_seconds", q50,
                      (double)st->reaction_p50 / (double)CORE_NS_PER_S);
    if (rc == 0)
        rc = sample_d(b, "stoker_reaction_seconds", q99,
                      (double)st->reaction_p99 / (double)CORE_NS_PER_S);
    if (rc == 0)
        rc = sample_d(b, "stoker_reaction_seconds_sum", NULL, sum);
    if (rc == 0)
        rc = sample_u(b, "stoker_reaction_seconds_count", NULL, st->reaction_samples);
    return rc;
}

static int counters(const struct controller_stats *st, struct core_buf *b)
{
    const struct {
        const char *name, *help;
        unsigned long v;
    } v[] = {
        {"stoker_scheduling_batches_total", "Scheduling runs over batches of pending pods.",
         st->batches},
        {"stoker_pods_scheduled_total", "Pods given a NodeClaim.", st->pods_scheduled},
        {"stoker_pods_unschedulable_total", "Pods a batch found no capacity for.",
         st->pods_unschedulable},
        {"stoker_nodeclaims_created_total", "NodeClaims created.", st->nodeclaims_created},
        {"stoker_nodeclaims_deleted_total", "NodeClaims deleted.", st->nodeclaims_deleted},
        {"stoker_nodeclaims_registered_total", "NodeClaims whose Node registered.",
         st->registered},
        {"stoker_nodeclaims_initialized_total", "NodeClaims whose Node initialised.",
         st->initialized},
        {"stoker_liveness_deleted_total",
         "NodeClaims deleted for not launching or registering in time.", st->liveness_deleted},
        {"stoker_orphans_terminated_total",
         "Instances terminated for having no NodeClaim (or no WarmPool).",
         st->orphans_terminated},
        {"stoker_warm_launches_total", "Warm-up launches (CreateFleet for a WarmPool).",
         st->warm_launches},
        {"stoker_warm_terminations_total",
         "Warm-pool instances terminated by their pool's plan (scale-in, rotation, failed "
         "warm-ups).",
         st->warm_terminations},
        {"stoker_ec2_calls_total", "EC2 calls the controller issued.", st->ec2_calls},
    };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof v / sizeof v[0]; i++)
        rc = single_u(b, v[i].name, "counter", v[i].help, v[i].v);
    return rc;
}

static int cmp_info(const void *a, const void *b)
{
    return strcmp(((const struct controller_warmpool_info *)a)->name,
                  ((const struct controller_warmpool_info *)b)->name);
}

static int warmpools(const struct controller *c, struct core_buf *b)
{
    struct controller_warmpool_info *v = NULL, one;
    size_t n = 0, cap = 0, it = 0;
    int rc = 0;

    /* A replica that does not lead keeps the figures of its last term: stale gauges beside
     * the leader's. Only the leader reports pools (the families stay, empty). */
    while (controller_leading(c) && controller_warmpool_next(c, &it, &one)) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            struct controller_warmpool_info *nv = core_realloc(v, nc * sizeof(*nv));
            if (!nv) {
                core_free(v);
                return CORE_E_NOMEM;
            }
            v = nv;
            cap = nc;
        }
        v[n++] = one;
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_info);
    rc = family(b, "stoker_warmpool_instances", "gauge",
                "Warm-pool instances by pool and phase.");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *phases[] = {"warming", "warm", "claimed", "failed", "stale"};
        int64_t counts[] = {v[i].warming, v[i].warm, v[i].claimed, v[i].failed, v[i].stale};
        for (size_t j = 0; rc == 0 && j < 5; j++) {
            const char *l[] = {"warmpool", v[i].name, "phase", phases[j], NULL};
            rc = sample_u(b, "stoker_warmpool_instances", l,
                          (unsigned long)(counts[j] > 0 ? counts[j] : 0));
        }
    }
    if (rc == 0)
        rc = family(b, "stoker_warmpool_bounds", "gauge",
                    "The size bounds in force for each warm pool (schedules applied).");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *lmin[] = {"warmpool", v[i].name, "bound", "min", NULL};
        const char *lmax[] = {"warmpool", v[i].name, "bound", "max", NULL};
        rc = sample_u(b, "stoker_warmpool_bounds", lmin,
                      (unsigned long)(v[i].min > 0 ? v[i].min : 0));
        if (rc == 0)
            rc = sample_u(b, "stoker_warmpool_bounds", lmax,
                          (unsigned long)(v[i].max > 0 ? v[i].max : 0));
    }
    if (rc == 0)
        rc = family(b, "stoker_warmpool_idle_cost_usd_per_hour", "gauge",
                    "What each warm pool's unclaimed instances cost per hour while waiting.");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *l[] = {"warmpool", v[i].name, NULL};
        rc = sample_d(b, "stoker_warmpool_idle_cost_usd_per_hour", l, v[i].idle_usd_per_hour);
    }
    if (rc == 0)
        rc = family(b, "stoker_warmpool_actions_total", "counter",
                    "Warm-pool actions that succeeded: warm-up launches, terminations, "
                    "hibernations.");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *acts[] = {"launch", "terminate", "hibernate"};
        unsigned long vals[] = {v[i].launches, v[i].terminations, v[i].hibernations};
        for (size_t j = 0; rc == 0 && j < 3; j++) {
            const char *l[] = {"warmpool", v[i].name, "action", acts[j], NULL};
            rc = sample_u(b, "stoker_warmpool_actions_total", l, vals[j]);
        }
    }
    core_free(v);
    return rc;
}

static int ami_cache(const struct controller *c, struct core_buf *b)
{
    struct amiresolve_stats st;
    const char *l[] = {"cache", "ami", NULL};
    int rc;

    memset(&st, 0, sizeof st);
    if (c->ami)
        amiresolve_stats(c->ami, &st);
    rc = family(b, "stoker_cache_hits_total", "counter", "Answers served from a cache.");
    if (rc == 0)
        rc = sample_u(b, "stoker_cache_hits_total", l, st.cache_hits);
    if (rc == 0)
        rc = family(b, "stoker_cache_misses_total", "counter",
                    "Lookups a cache could not answer.");
    if (rc == 0)
        rc = sample_u(b, "stoker_cache_misses_total", l, st.cache_misses);
    return rc;
}

int controller_metrics(const struct controller *c, struct core_buf *out)
{
    struct controller_stats st;
    size_t start;
    int rc;

    if (!c || !out)
        return CORE_E_INVAL;
    start = out->len;
    controller_get_stats(c, &st);
    rc = single_u(out, "stoker_pending_pods", "gauge",
                  "Pods the scheduler gave up on that have no node yet.", pending_pods(c));
    if (rc == 0)
        rc = nodeclaims(c, out);
    if (rc == 0)
        rc = launches(c, out);
    if (rc == 0)
        rc = launch_histogram(c, out);
    if (rc == 0)
        rc = cloud_calls(c, out);
    if (rc == 0)
        rc = informers(c, out);
    if (rc == 0)
        rc = reaction(c, &st, out);
    if (rc == 0)
        rc = counters(&st, out);
    if (rc == 0)
        rc = ami_cache(c, out);
    if (rc == 0)
        rc = warmpools(c, out);
    if (rc == 0)
        rc = single_u(out, "stoker_leader", "gauge",
                      "1 when this replica leads (and may act), else 0.",
                      (unsigned long)(controller_leading(c) ? 1 : 0));
    if (rc != 0 && out->len > start) {
        /* Leave the caller's buffer as it was: a partial exposition would mislead. */
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return rc;
}

/* ---- the HTTP endpoint ---------------------------------------------------------------------- */

struct controller_http {
    struct core_loop *loop;
    struct controller *c;
    struct MHD_Daemon *d;
    int epfd;
    int watching;
    int port;
    int running;
    struct core_timer *tick;
};

static void http_tick(void *ud);

static void http_arm(struct controller_http *h)
{
    MHD_UNSIGNED_LONG_LONG ms = 0;
    core_ns wait = HTTP_TICK;

    if (h->tick)
        core_loop_timer_cancel(h->loop, h->tick);
    if (MHD_get_timeout(h->d, &ms) == MHD_YES && (core_ns)ms * CORE_NS_PER_MS < wait)
        wait = (core_ns)ms * CORE_NS_PER_MS;
    /* NULL on allocation failure: the epoll watch still drives MHD. */
    h->tick = core_loop_timer_add(h->loop, wait, http_tick, h);
}

static void http_run(struct controller_http *h)
{
    if (h->running)
        return;
    h->running = 1;
    (void)MHD_run(h->d); /* MHD_NO only for a daemon in the wrong mode: not ours */
    h->running = 0;
    http_arm(h);
}

static void http_tick(void *ud)
{
    struct controller_http *h = ud;
    h->tick = NULL;
    http_run(h);
}

static void http_on_fd(void *ud, int fd, int events)
{
    (void)fd;
    (void)events;
    http_run(ud);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *ctype,
                             const char *body, size_t len, int allow)
{
    struct MHD_Response *mr =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (!mr)
        return MHD_NO;
    if (MHD_add_response_header(mr, "Content-Type", ctype) != MHD_YES ||
        (allow && MHD_add_response_header(mr, "Allow", "GET, HEAD") != MHD_YES)) {
        MHD_destroy_response(mr);
        return MHD_NO;
    }
    ret = MHD_queue_response(conn, status, mr);
    MHD_destroy_response(mr);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    return reply(conn, status, "text/plain; charset=utf-8", text, strlen(text), 0);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct controller_http *h = cls;
    const char *q;
    size_t plen;

    (void)version;
    (void)upload_data;
    (void)con_cls;
    /* A body is never wanted: swallow whatever arrives, the answer is already queued. */
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    q = strchr(url, '?');
    plen = q ? (size_t)(q - url) : strlen(url);
#define PATH_IS(p) (plen == strlen(p) && strncmp(url, p, plen) == 0)
    if (!PATH_IS("/metrics") && !PATH_IS("/healthz") && !PATH_IS("/readyz"))
        return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
                     "method not allowed\n", strlen("method not allowed\n"), 1);
    if (PATH_IS("/healthz"))
        return controller_healthy(h->c) ? reply_text(conn, MHD_HTTP_OK, "ok\n")
                                        : reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                                                     "unhealthy\n");
    if (PATH_IS("/readyz"))
        return controller_ready(h->c) ? reply_text(conn, MHD_HTTP_OK, "ok\n")
                                      : reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                                                   "not ready\n");
#undef PATH_IS
    {
        struct core_buf b;
        enum MHD_Result ret;
        core_buf_init(&b, METRICS_LIMIT);
        if (controller_metrics(h->c, &b) != 0)
            ret = reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics unavailable\n");
        else
            ret = reply(conn, MHD_HTTP_OK, CT_METRICS, core_buf_cstr(&b), b.len, 0);
        core_buf_cleanup(&b);
        return ret;
    }
}

/* "host:port", "[v6]:port" or ":port" (all addresses) into a socket address. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, int *v6)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    char host[64];
    const char *colon, *h = listen;
    size_t hlen;
    int64_t port;

    memset(ss, 0, sizeof *ss);
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (!close || close[1] != ':')
            return CORE_E_INVAL;
        h = listen + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return CORE_E_INVAL;
        hlen = (size_t)(colon - listen);
    }
    if (hlen >= sizeof host || core_parse_i64(colon + 1, 0, 65535, &port) != 0)
        return CORE_E_INVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (strcmp(host, "localhost") == 0)
        core_strlcpy(host, "127.0.0.1", sizeof host);
    if (host[0] == '\0' || strcmp(host, "*") == 0)
        core_strlcpy(host, "0.0.0.0", sizeof host);
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *v6 = 0;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *v6 = 1;
        return 0;
    }
    return CORE_E_INVAL;
}

int controller_http_new(struct core_loop *loop, struct controller *c, const char *listen,
                        struct controller_http **out, struct core_err *err)
{
    struct sockaddr_storage ss;
    const union MHD_DaemonInfo *info;
    struct controller_http *h;
    unsigned flags = MHD_USE_EPOLL;
    int v6 = 0, rc;

    if (!loop || !c || !listen || !out)
        return core_err_set(err, CORE_E_INVAL, "metrics endpoint: missing argument");
    if (parse_listen(listen, &ss, &v6) != 0)
        return core_err_set(err, CORE_E_INVAL, "metrics endpoint: expected HOST:PORT (port 0 "
                            "to 65535), got '%.64s'", listen);
    if (v6)
        flags |= MHD_USE_IPv6;
    if (!(h = core_calloc(1, sizeof *h)))
        return core_err_set(err, CORE_E_NOMEM, "metrics endpoint: out of memory");
    h->loop = loop;
    h->c = c;
    h->epfd = -1;
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned int)HTTP_CONN_TIMEOUT_S, MHD_OPTION_END);
    if (!h->d) {
        core_free(h);
        return core_err_set(err, CORE_E_TRANSPORT, "metrics endpoint: cannot listen on %.64s "
                            "(address in use?)", listen);
    }
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? (int)info->port : 0;
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
    h->epfd = info ? info->epoll_fd : -1;
    if (!h->port || h->epfd < 0) {
        controller_http_free(h);
        return core_err_set(err, CORE_E_TRANSPORT, "metrics endpoint: libmicrohttpd did not "
                            "report its port or epoll descriptor");
    }
    if ((rc = core_loop_watch_fd(loop, h->epfd, CORE_LOOP_READ, http_on_fd, h)) != 0) {
        controller_http_free(h);
        return core_err_set(err, rc, "metrics endpoint: cannot watch its descriptor: %s",
                            core_strerror(rc));
    }
    h->watching = 1;
    http_arm(h);
    if (!h->tick) {
        controller_http_free(h);
        return core_err_set(err, CORE_E_NOMEM, "metrics endpoint: out of memory");
    }
    *out = h;
    return 0;
}

int controller_http_port(const struct controller_http *h)
{
    return h ? h->port : 0;
}

void controller_http_free(struct controller_http *h)
{
    if (!h)
        return;
    if (h->watching)
        core_loop_unwatch_fd(h->loop, h->epfd);
    if (h->tick)
        core_loop_timer_cancel(h->loop, h->tick);
    if (h->d)
        MHD_stop_daemon(h->d);
    core_free(h);
}
