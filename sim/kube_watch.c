/*
 * sim/kube_watch.c — HTTP watches of the emulated Kubernetes API over struct sim_stream: the
 * replay from a resourceVersion, live events filtered by resource, namespace and selectors,
 * bookmarks, the server-side timeout and injected drops.
 *
 * The wire format is the API server's: one JSON object per line, {"type": ADDED | MODIFIED |
 * DELETED | BOOKMARK | ERROR, "object": {...}}. A resourceVersion older than the history
 * answers 200 with a single ERROR event carrying a 410 Status (reason Expired), as real API
 * servers do; the stream then ends. A watch that asked for a Table (kubectl get -w) gets, for
 * every ADDED / MODIFIED / DELETED event, a meta.k8s.io Table with that object's one row
 * (kube_table.c) with the column definitions every time, so kubectl prints its header once.
 *
 * Invariants:
 *  - Every open watch is on k->http_watches and owns its listener, timers, selectors and the
 *    stream handle; it ends exactly once: by its own end (timeout, drop, a stalled client, the
 *    API being freed: sim_stream_end) or by the client going away (on_close: the handle is
 *    dead, not ended).
 *  - Events reach the client in resourceVersion order and at most once: everything at or
 *    below last_rv has been sent (or deliberately skipped), so the history replay and the
 *    live listener, which may overlap, never duplicate.
 *  - With a selector, each event is judged by whether the object matched before the change
 *    (the event carries the previous state) and whether it matches after: leaving the
 *    selection is DELETED, entering it ADDED, as the real watch cache does; so a watch resumed
 *    from any version still in the history is exact.
 *  - Bookmarks never claim a version whose events may still be queued for delivery: they
 *    carry the newest version this watch's listener has seen, or the API's current version
 *    when nothing is queued.
 */
#include "sim/kube_internal.h"

#include <stdio.h>
#include <string.h>

#define KW_DROP_CHECK CORE_NS_PER_S

struct sim_kwatch {
    struct sim_kwatch *prev, *next;
    struct sim_kube *k;
    struct sim_kres *r;
    char *ns;                   /* NULL = every namespace (or cluster-scoped) */
    struct sim_ksel *labels;    /* owned; NULL = none */
    struct sim_ksel *fields;
    struct sim_stream *st;      /* NULL once ended or closed */
    struct sim_klistener *lis;
    int bookmarks;
    struct sim_ktable_req table; /* table.wanted: events carry one-row Tables */
    uint64_t last_rv;           /* sent or skipped up to here */
    uint64_t seen_rv;           /* newest version the listener delivered (any resource) */
    struct core_timer *bookmark_timer, *timeout_timer, *drop_timer;
};

static const char *obj_ns(const json_t *obj)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
}

static void group_version(const struct sim_kres *r, char *out, size_t outsz)
{
    if (r->group[0])
        snprintf(out, outsz, "%s/%s", r->group, r->version);
    else
        snprintf(out, outsz, "%s", r->version);
}

static int dump_cb(const char *buf, size_t size, void *data)
{
    return core_buf_append(data, buf, size) == 0 ? 0 : -1;
}

/* Frees everything the watch owns; the stream must already be ended or closed. */
static void kw_free(struct sim_kwatch *w)
{
    struct sim_kube *k = w->k;

    if (w->prev)
        w->prev->next = w->next;
    else if (k->http_watches == w)
        k->http_watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    sim_kube_unlisten(k, w->lis);
    if (w->bookmark_timer)
        core_loop_timer_cancel(k->loop, w->bookmark_timer);
    if (w->timeout_timer)
        core_loop_timer_cancel(k->loop, w->timeout_timer);
    if (w->drop_timer)
        core_loop_timer_cancel(k->loop, w->drop_timer);
    if (w->labels) {
        sim_ksel_cleanup(w->labels);
        core_free(w->labels);
    }
    if (w->fields) {
        sim_ksel_cleanup(w->fields);
        core_free(w->fields);
    }
    core_free(w->ns);
    core_free(w);
}

/* Our side ends the watch: the answer finishes normally after what is queued. */
static void kw_end(struct sim_kwatch *w)
{
    if (w->st)
        sim_stream_end(w->st);
    w->st = NULL;
    kw_free(w);
}

static void kw_on_close(void *ud)
{
    struct sim_kwatch *w = ud;
    w->st = NULL;
    kw_free(w);
}

/* Sends one event line; 0, or non-zero when the watch had to end (it is freed then). */
static int kw_send(struct sim_kwatch *w, const char *type, const json_t *obj)
{
    struct core_buf line;
    json_t *table = NULL, *ev;
    int rc = 0;

    if (w->table.wanted && strcmp(type, "BOOKMARK") != 0 && strcmp(type, "ERROR") != 0) {
        rc = sim_ktable_event(w->r, obj, &w->table,
                              core_clock_wall(core_loop_clock(w->k->loop)), &table, NULL);
        obj = table;
    }
    ev = rc ? NULL : json_pack("{s:s, s:O}", "type", type, "object", (json_t *)obj);
    json_decref(table);
    if (!ev)
        rc = CORE_E_NOMEM;

    core_buf_init(&line, SIM_STREAM_QUEUE_MAX);
    if (!rc && json_dump_callback(ev, dump_cb, &line, JSON_COMPACT) != 0)
        rc = CORE_E_NOMEM;
    if (!rc)
        rc = core_buf_append_char(&line, '\n');
    if (!rc)
        rc = sim_stream_write(w->st, line.data, line.len);
    json_decref(ev);
    core_buf_cleanup(&line);
    if (rc) {
        /* A stalled client (queue full) or no memory: end it; the client re-watches. */
        kw_end(w);
        return 1;
    }
    return 0;
}

static int kw_matches(const struct sim_kwatch *w, const json_t *obj)
{
    const char *ns;

    if (w->ns && w->r->namespaced) {
        ns = obj_ns(obj);
        if (!ns || strcmp(ns, w->ns) != 0)
            return 0;
    }
    return sim_ksel_match_labels(w->labels, obj) && sim_ksel_match_fields(w->fields, obj);
}

/* One change against this watch; 0, or non-zero when the watch ended. */
static int kw_event(struct sim_kwatch *w, const struct sim_kevent *ev)
{
    int now, before;

    if (ev->rv <= w->last_rv)
        return 0;
    w->last_rv = ev->rv;
    if (ev->res != w->r)
        return 0;
    /* Matched before the change versus matches after it, as the real watch cache decides:
     * an object leaving the selection is DELETED, one entering it ADDED. This needs no memory
     * of what the client has, so a watch resumed from any version in the history is exact. */
    before = ev->prev && kw_matches(w, ev->prev);
    if (ev->type == SIM_KEV_DELETED)
        return before || kw_matches(w, ev->obj) ? kw_send(w, "DELETED", ev->obj) : 0;
    now = kw_matches(w, ev->obj);
    if (now)
        return kw_send(w, before ? "MODIFIED" : "ADDED", ev->obj);
    return before ? kw_send(w, "DELETED", ev->obj) : 0;
}

/* Replay calls this for each event of the history; a watch that ended ignores the rest. */
struct kw_replay {
    struct sim_kwatch *w;
    int ended;
};

static void kw_replay_cb(void *ud, const struct sim_kevent *ev)
{
    struct kw_replay *rp = ud;
    if (!rp->ended && kw_event(rp->w, ev))
        rp->ended = 1;
}

static void kw_listener(void *ud, const struct sim_kevent *ev)
{
    struct sim_kwatch *w = ud;
    if (ev->rv > w->seen_rv)
        w->seen_rv = ev->rv;
    (void)kw_event(w, ev);
}

/* ---- timers -------------------------------------------------------------------------------- */

static void kw_bookmark(void *ud)
{
    struct sim_kwatch *w = ud;
    struct sim_kube *k = w->k;
    char gv[200], rvs[24];
    uint64_t rv = w->last_rv > w->seen_rv ? w->last_rv : w->seen_rv;
    json_t *obj;

    w->bookmark_timer = NULL;
    if (k->npending == 0 && k->rv > rv)
        rv = k->rv;
    if (rv > w->last_rv)
        w->last_rv = rv; /* nothing at or below it is still to come */
    group_version(w->r, gv, sizeof gv);
    snprintf(rvs, sizeof rvs, "%llu", (unsigned long long)rv);
    obj = json_pack("{s:s, s:s, s:{s:s}}", "kind", w->r->kind, "apiVersion", gv, "metadata",
                    "resourceVersion", rvs);
    if (!obj) {
        kw_end(w);
        return;
    }
    if (kw_send(w, "BOOKMARK", obj) == 0)
        w->bookmark_timer = core_loop_timer_add(k->loop, k->opts.bookmark_interval, kw_bookmark,
                                                w);
    json_decref(obj);
}

static void kw_timeout(void *ud)
{
    struct sim_kwatch *w = ud;
    w->timeout_timer = NULL;
    kw_end(w);
}

static void kw_drop(void *ud)
{
    struct sim_kwatch *w = ud;
    struct sim_kube *k = w->k;

    w->drop_timer = NULL;
    if (sim_rng_unit(&k->rng) < k->opts.faults.watch_drop_rate) {
        kw_end(w);
        return;
    }
    w->drop_timer = core_loop_timer_add(k->loop, KW_DROP_CHECK, kw_drop, w);
}

/* ---- start --------------------------------------------------------------------------------- */

/* The ERROR event of a too-old resourceVersion, then the end. */
static void kw_expired(struct sim_kwatch *w, uint64_t since)
{
    char msg[160];
    json_t *st;

    snprintf(msg, sizeof msg, "too old resource version: %llu (%llu)",
             (unsigned long long)since, (unsigned long long)w->k->hist_floor);
    st = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
                   "metadata", "status", "Failure", "message", msg, "reason", "Expired", "code",
                   410);
    if (st && kw_send(w, "ERROR", st) != 0) {
        json_decref(st);
        return; /* ended by kw_send */
    }
    json_decref(st);
    kw_end(w);
}

/* The current matching objects as ADDED events. */
static int kw_initial(struct sim_kwatch *w, struct core_err *err)
{
    json_t *items = NULL, *obj;
    char *next = NULL;
    size_t i;
    int rc;

    rc = sim_kube_store_list(w->k, w->r, w->r->namespaced ? w->ns : NULL, w->labels, w->fields,
                             NULL, 0, &items, &next, err);
    core_free(next);
    if (rc)
        return rc;
    json_array_foreach(items, i, obj) {
        if (kw_send(w, "ADDED", obj)) {
            json_decref(items);
            return 1; /* ended */
        }
    }
    json_decref(items);
    return 0;
}

static int sel_empty(const struct sim_ksel *s)
{
    return !s || s->n == 0;
}

int sim_kube_watch_start(struct sim_kube *k, struct sim_kres *r, const char *ns,
                         struct sim_ksel *labels, struct sim_ksel *fields, const char *since,
                         int bookmarks, int send_initial, core_ns timeout,
                         const struct sim_ktable_req *table,
                         const struct sim_http_req *req, struct core_http_response *resp,
                         struct core_err *err)
{
    struct sim_kwatch *w = NULL;
    int64_t from = 0;
    int from_now = !since || !*since || strcmp(since, "0") == 0;
    int rc = 0;

    if (!from_now && core_parse_i64(since, 0, INT64_MAX, &from) != 0) {
        rc = core_err_set(err, CORE_E_INVAL, "invalid resourceVersion \"%.40s\"", since);
        err->http_status = 400;
        core_strlcpy(err->service_code, "BadRequest", sizeof err->service_code);
        goto fail;
    }
    if (!req->stream) {
        rc = core_err_set(err, CORE_E_STATE, "this front end cannot stream a watch");
        err->http_status = 500;
        core_strlcpy(err->service_code, "InternalError", sizeof err->service_code);
        goto fail;
    }
    w = core_calloc(1, sizeof *w);
    if (!w || (ns && !(w->ns = core_strdup(ns)))) {
        rc = core_err_set(err, CORE_E_NOMEM, "watch: out of memory");
        goto fail;
    }
    w->k = k;
    w->r = r;
    w->labels = sel_empty(labels) ? NULL : labels;
    w->fields = sel_empty(fields) ? NULL : fields;
    if (!w->labels && labels) {
        sim_ksel_cleanup(labels);
        core_free(labels);
    }
    if (!w->fields && fields) {
        sim_ksel_cleanup(fields);
        core_free(fields);
    }
    labels = fields = NULL;
    w->bookmarks = bookmarks;
    if (table && table->wanted)
        w->table = *table;
    rc = sim_kube_listen(k, kw_listener, w, &w->lis);
    if (rc) {
        rc = core_err_set(err, rc, "watch: out of memory");
        goto fail;
    }
    rc = sim_stream_begin(req->stream, kw_on_close, w);
    if (rc) {
        rc = core_err_set(err, rc, "watch: the answer cannot be streamed");
        goto fail;
    }
    /* From here on the answer is the stream: failures end it rather than fail the call. */
    w->st = req->stream;
    w->next = k->http_watches;
    if (k->http_watches)
        k->http_watches->prev = w;
    k->http_watches = w;
    resp->status = 200;
    if (core_http_response_add_header(resp, "Content-Type", "application/json") != 0 ||
        core_http_response_add_header(resp, "Cache-Control", "no-cache, private") != 0) {
        kw_end(w);
        return 0;
    }
    if (from_now) {
        /* Everything queued is already reflected in the current objects. */
        w->last_rv = w->seen_rv = k->rv;
        rc = send_initial ? kw_initial(w, err) : 0;
    } else {
        struct kw_replay rp = {w, 0};
        if ((uint64_t)from < k->hist_floor) {
            kw_expired(w, (uint64_t)from);
            return 0;
        }
        w->last_rv = w->seen_rv = (uint64_t)from;
        rc = 0;
        if (rc == 0) {
            if (sim_kube_history_since(k, r, (uint64_t)from, kw_replay_cb, &rp) != 0) {
                kw_expired(w, (uint64_t)from);
                return 0;
            }
            if (rp.ended)
                return 0;
        }
    }
    if (rc == 1)
        return 0; /* ended while sending */
    if (rc) {
        kw_end(w);
        return 0;
    }
    if (send_initial && bookmarks && from_now) {
        /* sendInitialEvents: a bookmark annotated as the end of the initial events. */
        char gv[200], rvs[24];
        json_t *bm;
        group_version(r, gv, sizeof gv);
        snprintf(rvs, sizeof rvs, "%llu", (unsigned long long)w->last_rv);
        bm = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "kind", r->kind, "apiVersion", gv,
                       "metadata", "resourceVersion", rvs, "annotations",
                       "k8s.io/initial-events-end", "true");
        if (!bm || kw_send(w, "BOOKMARK", bm) != 0) {
            json_decref(bm);
            if (!bm)
                kw_end(w);
            return 0;
        }
        json_decref(bm);
    }
    if (timeout <= 0 || timeout > k->opts.watch_timeout_max)
        timeout = k->opts.watch_timeout_max;
    w->timeout_timer = core_loop_timer_add(k->loop, timeout, kw_timeout, w);
    if (bookmarks && k->opts.bookmark_interval > 0)
        w->bookmark_timer = core_loop_timer_add(k->loop, k->opts.bookmark_interval, kw_bookmark,
                                                w);
    if (k->opts.faults.watch_drop_rate > 0)
        w->drop_timer = core_loop_timer_add(k->loop, KW_DROP_CHECK, kw_drop, w);
    if (!w->timeout_timer)
        kw_end(w); /* a watch that could never end is worse than none */
    return 0;

fail:
    if (labels) {
        sim_ksel_cleanup(labels);
        core_free(labels);
    }
    if (fields) {
        sim_ksel_cleanup(fields);
        core_free(fields);
    }
    if (w) {
        if (!w->prev && !w->next && k->http_watches != w) {
            /* never linked */
            sim_kube_unlisten(k, w->lis);
            if (w->labels) {
                sim_ksel_cleanup(w->labels);
                core_free(w->labels);
            }
            if (w->fields) {
                sim_ksel_cleanup(w->fields);
                core_free(w->fields);
            }
            core_free(w->ns);
            core_free(w);
        }
    }
    return rc;
}

void sim_kube_watches_cleanup(struct sim_kube *k)
{
    while (k->http_watches)
        kw_end(k->http_watches);
}
