/*
 * sim/kube_store.c — the object store of the emulated Kubernetes API: the registry of served
 * resources, objects and their metadata, the write verbs with the API server's semantics,
 * the watch history and listeners, and the public in-process sim_kube_* API.
 *
 * Semantics kept (as the API server does, unless marked as a simplification):
 *  - Every write takes the next value of one counter as its resourceVersion; an update or a
 *    patch that changes nothing is not a write (no new resourceVersion, no event).
 *  - metadata.uid (uuid-shaped, from a counter and the seed), creationTimestamp (the loop's
 *    wall clock) and generation (1 on create, +1 when anything outside metadata and status
 *    changes) are set by the server; name, namespace, uid and creationTimestamp are immutable.
 *  - A resource with a status subresource ignores status on main writes and takes only status
 *    through /status.
 *  - Deleting an object with finalizers sets deletionTimestamp and keeps it; the write that
 *    removes the last finalizer deletes it. Deleting a namespace marks it Terminating, deletes
 *    everything in it, and removes it once it is empty; creates in it are then Forbidden.
 *  - Owner references: after a (background) deletion a garbage-collection pass runs from a
 *    loop timer and deletes every object whose owners are all gone, transitively; Orphan
 *    propagation removes the references to the deleted owner instead.
 *  - Simplification: pods are deleted at once (no graceful termination, no kubelet); a pod's
 *    spec is immutable except through the binding subresource (spec.nodeName, once) and the
 *    fields the API allows (container images, activeDeadlineSeconds, tolerations,
 *    terminationGracePeriodSeconds). Eviction computes a PodDisruptionBudget's allowed
 *    disruptions from its spec and the ready pods it selects; the expected pod count is the
 *    larger of the selected pods and the budget's status.expectedPods (there are no
 *    controllers whose scale could be asked). The budget's status is not maintained here.
 *  - The public in-process API hands out deep copies, so a caller that edits what it got
 *    cannot change the stored object behind the store's back.
 *
 * Invariants: stored objects are never changed in place (a write stores a new json_t); every
 * notification is queued and delivered from a loop timer in resourceVersion order, the history
 * being appended at delivery so that a replay from the history followed by live delivery
 * neither skips nor repeats an event; listeners may be added or removed from inside callbacks
 * (removed ones are marked dead and freed after the batch); out-parameters are written only on
 * success.
 */
#include "sim/kube_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIST_MIN_CAP 64u
#define GEN_NAME_TRIES 8
#define UID_LEN 40

struct sim_klistener {
    sim_kube_listener_fn fn;
    void *ud;
    int dead;
    struct sim_klistener *next;
};

struct sim_kube_watch {
    struct sim_kube *k;
    struct sim_kres *r;
    sim_kube_watch_fn fn;
    void *ud;
    struct sim_klistener *l;
    struct sim_kube_watch *next;
};

static const char CONFLICT_MSG[] = "the object has been modified; please apply your changes to "
                                   "the latest version and try again";

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */
/* ------------------------------------------------------------------------------------------ */

static int kerr(struct core_err *err, int code, long http, const char *reason, const char *fmt,
                ...) CORE_PRINTF(5, 6);

static int kerr(struct core_err *err, int code, long http, const char *reason, const char *fmt,
                ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)core_err_setv(err, code, fmt, ap);
    va_end(ap);
    core_err_set_service(err, http, reason, NULL);
    return code;
}

static int nomem(struct core_err *err)
{
    return kerr(err, CORE_E_NOMEM, 500, "InternalError", "out of memory");
}

/* "Pod", "NodeClaim.stoker.dev": how Invalid messages name a kind. */
static void qual_kind(const struct sim_kres *r, char *out, size_t outsz)
{
    if (r->group[0])
        snprintf(out, outsz, "%s.%s", r->kind, r->group);
    else
        core_strlcpy(out, r->kind, outsz);
}

static int dns_subdomain_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int an = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!an && c != '-' && c != '.')
            return 0;
        if ((i == 0 || i == n - 1) && !an)
            return 0;
        if (c == '.' && (s[i + 1] == '.' || s[i - 1] == '-' || s[i + 1] == '-'))
            return 0;
    }
    return 1;
}

static int dns_label_ok(const char *s)
{
    return strlen(s) <= 63 && !strchr(s, '.') && dns_subdomain_ok(s);
}

static int name_ok(const struct sim_kres *r, const char *name)
{
    if (!name)
        return 0;
    return strcmp(r->key, "namespaces") == 0 ? dns_label_ok(name) : dns_subdomain_ok(name);
}

static json_t *meta_of(json_t *obj)
{
    json_t *m = json_object_get(obj, "metadata");
    if (!json_is_object(m)) {
        m = json_object();
        if (!m || json_object_set_new(obj, "metadata", m) != 0)
            return NULL;
    }
    return m;
}

static const char *meta_str(const json_t *obj, const char *field)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
}

static int is_terminating(const json_t *obj)
{
    return meta_str(obj, "deletionTimestamp") != NULL;
}

static size_t finalizer_count(const json_t *obj)
{
    return json_array_size(json_object_get(json_object_get(obj, "metadata"), "finalizers"));
}

static core_ns now_wall(const struct sim_kube *k)
{
    return core_clock_wall(core_loop_clock(k->loop));
}

static void stamp_now(const struct sim_kube *k, char *out, size_t outsz)
{
    core_time_rfc3339(now_wall(k), out, outsz);
}

static void new_uid(struct sim_kube *k, char *out, size_t outsz)
{
    struct sim_rng g;
    uint64_t a, b;

    sim_rng_seed(&g, k->opts.seed ^ (++k->uid_counter * UINT64_C(0xD1B54A32D192ED03)));
    a = sim_rng_next(&g);
    b = sim_rng_next(&g);
    snprintf(out, outsz, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)((a >> 16) & 0xffffu), (unsigned)(a & 0xfffu),
             (unsigned)(((b >> 48) & 0x3fffu) | 0x8000u),
             (unsigned long long)(b & UINT64_C(0xffffffffffff)));
}

/* Five characters of the alphabet the API server uses for generateName (no vowels, no
 * look-alikes), drawn from a stream derived from the seed and a counter. */
static void gen_suffix(struct sim_kube *k, char out[6])
{
    static const char ALPHA[] = "bcdfghjklmnpqrstvwxz2456789";
    struct sim_rng g;

    sim_rng_seed(&g, k->opts.seed ^ UINT64_C(0x6B7562656E616D65) ^
                         (++k->uid_counter * UINT64_C(0x9E3779B97F4A7C15)));
    for (int i = 0; i < 5; i++)
        out[i] = ALPHA[sim_rng_next(&g) % (sizeof ALPHA - 1)];
    out[5] = '\0';
}

/* ------------------------------------------------------------------------------------------ */
/* Registry                                                                                    */
/* ------------------------------------------------------------------------------------------ */

void sim_kube_obj_key(const struct sim_kres *r, const char *ns, const char *name, char *out,
                      size_t outsz)
{
    snprintf(out, outsz, "%s/%s", r->namespaced && ns ? ns : "", name ? name : "");
}

int sim_kube_register(struct sim_kube *k, const struct sim_kres *tmpl, struct sim_kres **out,
                      struct core_err *err)
{
    struct sim_kres *r;

    if (!tmpl->key[0] || !tmpl->plural[0] || !tmpl->kind[0])
        return kerr(err, CORE_E_INVAL, 500, "InternalError",
                    "register: a resource needs key, plural and kind");
    if (sim_kube_res_by_key(k, tmpl->key))
        return kerr(err, CORE_E_CONFLICT, 409, "AlreadyExists",
                    "resource %s is already served", tmpl->key);
    if (k->nres == k->res_cap) {
        size_t cap = k->res_cap ? k->res_cap * 2 : 16;
        struct sim_kres **nr = core_realloc(k->res, cap * sizeof *nr);
        if (!nr)
            return nomem(err);
        k->res = nr;
        k->res_cap = cap;
    }
    r = core_malloc(sizeof *r);
    if (!r)
        return nomem(err);
    *r = *tmpl;
    r->objects = core_map_new();
    if (!r->objects) {
        core_free(r);
        return nomem(err);
    }
    r->count = 0;
    if (!r->list_kind[0])
        snprintf(r->list_kind, sizeof r->list_kind, "%sList", r->kind);
    k->res[k->nres++] = r;
    if (out)
        *out = r;
    return 0;
}

struct sim_kres *sim_kube_res_by_key(struct sim_kube *k, const char *key)
{
    if (!key)
        return NULL;
    for (size_t i = 0; i < k->nres; i++)
        if (strcmp(k->res[i]->key, key) == 0)
            return k->res[i];
    return NULL;
}

struct sim_kres *sim_kube_res_find(struct sim_kube *k, const char *group, const char *version,
                                   const char *plural)
{
    for (size_t i = 0; i < k->nres; i++) {
        struct sim_kres *r = k->res[i];
        if (strcmp(r->group, group ? group : "") == 0 && strcmp(r->version, version) == 0 &&
            strcmp(r->plural, plural) == 0)
            return r;
    }
    return NULL;
}

static void res_free(struct sim_kres *r)
{
    size_t it = 0;
    const char *key;
    void *val;

    while (core_map_next(r->objects, &it, &key, &val))
        json_decref(val);
    core_map_free(r->objects);
    json_decref(r->schema);
    json_decref(r->printer_columns);
    core_free(r->crd_short_names);
    core_free(r);
}

const char *sim_kev_name(enum sim_kev_type t)
{
    switch (t) {
    case SIM_KEV_ADDED:
        return "ADDED";
    case SIM_KEV_MODIFIED:
        return "MODIFIED";
    case SIM_KEV_DELETED:
        return "DELETED";
    }
    return "ERROR";
}

uint64_t sim_kube_resource_version(const struct sim_kube *k)
{
    return k->rv;
}

/* ------------------------------------------------------------------------------------------ */
/* History and delivery                                                                        */
/* ------------------------------------------------------------------------------------------ */

static void hist_drop_oldest(struct sim_kube *k)
{
    struct sim_kevent *ev = &k->hist[k->hist_head];
    k->hist_floor = ev->rv;
    json_decref(ev->obj);
    json_decref(ev->prev);
    ev->obj = ev->prev = NULL;
    k->hist_head = (k->hist_head + 1) % k->hist_cap;
    k->hist_len--;
}

static void hist_prune(struct sim_kube *k)
{
    core_ns now = core_loop_now(k->loop);
    while (k->hist_len > 0 && k->opts.history_window > 0 &&
           now - k->hist[k->hist_head].at > k->opts.history_window)
        hist_drop_oldest(k);
}

/* Takes a reference to ev->obj. Never fails: without memory to grow, the oldest is dropped. */
static void hist_append(struct sim_kube *k, const struct sim_kevent *ev)
{
    hist_prune(k);
    if (k->hist_len == k->hist_cap && k->hist_cap < k->opts.history_max) {
        size_t cap = k->hist_cap ? k->hist_cap * 2 : HIST_MIN_CAP;
        struct sim_kevent *nh;
        if (cap > k->opts.history_max)
            cap = k->opts.history_max;
        nh = core_malloc(cap * sizeof *nh);
        if (nh) {
            for (size_t i = 0; i < k->hist_len; i++)
                nh[i] = k->hist[(k->hist_head + i) % k->hist_cap];
            core_free(k->hist);
            k->hist = nh;
            k->hist_cap = cap;
            k->hist_head = 0;
        }
    }
    if (k->hist_cap == 0) {
        k->hist_floor = ev->rv;
        return;
    }
    if (k->hist_len == k->hist_cap)
        hist_drop_oldest(k);
    k->hist[(k->hist_head + k->hist_len) % k->hist_cap] = *ev;
    json_incref(ev->obj);
    json_incref(ev->prev);
    k->hist_len++;
}

int sim_kube_history_since(struct sim_kube *k, struct sim_kres *res, uint64_t since,
                           sim_kube_listener_fn fn, void *ud)
{
    hist_prune(k);
    if (since < k->hist_floor)
        return CORE_E_STATE;
    for (size_t i = 0; i < k->hist_len; i++) {
        const struct sim_kevent *ev = &k->hist[(k->hist_head + i) % k->hist_cap];
        if (ev->rv > since && (!res || ev->res == res))
            fn(ud, ev);
    }
    return 0;
}

static void listeners_sweep(struct sim_kube *k)
{
    struct sim_klistener **pp = &k->listeners;
    while (*pp) {
        struct sim_klistener *l = *pp;
        if (l->dead) {
            *pp = l->next;
            core_free(l);
        } else {
            pp = &l->next;
        }
    }
}

static void deliver_cb(void *ud)
{
    struct sim_kube *k = ud;
    struct sim_kevent *batch = k->pending;
    size_t n = k->npending;

    k->deliver_timer = NULL;
    k->pending = NULL;
    k->npending = k->pending_cap = 0;
    for (size_t i = 0; i < n; i++) {
        struct sim_klistener *l = k->listeners;
        hist_append(k, &batch[i]);
        for (; l; l = l->next)
            if (!l->dead)
                l->fn(l->ud, &batch[i]);
    }
    for (size_t i = 0; i < n; i++) {
        json_decref(batch[i].obj);
        json_decref(batch[i].prev);
    }
    core_free(batch);
    listeners_sweep(k);
}

static int pending_reserve(struct sim_kube *k)
{
    if (k->npending == k->pending_cap) {
        size_t cap = k->pending_cap ? k->pending_cap * 2 : 16;
        struct sim_kevent *np = core_realloc(k->pending, cap * sizeof *np);
        if (!np)
            return CORE_E_NOMEM;
        k->pending = np;
        k->pending_cap = cap;
    }
    return 0;
}

/* The slot was reserved; takes the references to obj and prev (may be NULL). */
static void queue_event(struct sim_kube *k, struct sim_kres *r, enum sim_kev_type t, json_t *obj,
                        json_t *prev)
{
    struct sim_kevent *ev = &k->pending[k->npending++];
    ev->rv = k->rv;
    ev->type = t;
    ev->res = r;
    ev->obj = obj;
    ev->prev = prev;
    ev->at = core_loop_now(k->loop);
    if (!k->deliver_timer)
        k->deliver_timer = core_loop_timer_add(k->loop, 0, deliver_cb, k);
}

int sim_kube_listen(struct sim_kube *k, sim_kube_listener_fn fn, void *ud,
                    struct sim_klistener **out)
{
    struct sim_klistener *l = core_calloc(1, sizeof *l);
    if (!l)
        return CORE_E_NOMEM;
    l->fn = fn;
    l->ud = ud;
    /* At the head: a listener added during delivery misses the event being delivered, which
     * a replay of the history it asked for already covers. */
    l->next = k->listeners;
    k->listeners = l;
    *out = l;
    return 0;
}

void sim_kube_unlisten(struct sim_kube *k, struct sim_klistener *l)
{
    (void)k;
    if (l) {
        l->dead = 1;
        l->fn = NULL;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Committing writes                                                                           */
/* ------------------------------------------------------------------------------------------ */

static void events_mirror(struct sim_kube *k, const json_t *ev, int deleted);

/* Stores obj (reference taken) under key with the next resourceVersion. */
static int commit_put(struct sim_kube *k, struct sim_kres *r, const char *key, json_t *obj,
                      enum sim_kev_type t, struct core_err *err)
{
    char rvs[24];
    json_t *m = meta_of(obj);
    void *old = NULL;

    snprintf(rvs, sizeof rvs, "%llu", (unsigned long long)(k->rv + 1));
    if (!m || json_object_set_new(m, "resourceVersion", json_string(rvs)) != 0 ||
        pending_reserve(k) != 0 || core_map_set(r->objects, key, obj, &old) != 0) {
        json_decref(obj);
        return nomem(err);
    }
    k->rv++;
    if (!old)
        r->count++;
    queue_event(k, r, t, json_incref(obj), old); /* the event keeps the previous state */
    if (strcmp(r->key, "events.events.k8s.io") == 0)
        events_mirror(k, obj, 0);
    return 0;
}

/* Removes key; last (reference taken) is the object's final state, given a new version. */
static int commit_del(struct sim_kube *k, struct sim_kres *r, const char *key, json_t *last,
                      struct core_err *err)
{
    char rvs[24];
    json_t *m = meta_of(last), *old;

    snprintf(rvs, sizeof rvs, "%llu", (unsigned long long)(k->rv + 1));
    if (!m || json_object_set_new(m, "resourceVersion", json_string(rvs)) != 0 ||
        pending_reserve(k) != 0) {
        json_decref(last);
        return nomem(err);
    }
    old = core_map_del(r->objects, key);
    if (old)
        r->count--;
    k->rv++;
    queue_event(k, r, SIM_KEV_DELETED, last, old);
    if (strcmp(r->key, "events.events.k8s.io") == 0)
        events_mirror(k, last, 1);
    return 0;
}

/* A real API server keeps events.k8s.io/v1 and core/v1 Events in one storage and converts
 * between the versions, so `kubectl get events` (core/v1) shows what stoker records through
 * events.k8s.io. The emulator keeps two resources and mirrors each events.k8s.io write into
 * core/v1, converted (regarding -> involvedObject, note -> message, series.count -> count,
 * reportingController -> source.component). One way only: core/v1 writes are not mirrored
 * back. Best effort: the mirror never fails the write that caused it. */
static void events_mirror(struct sim_kube *k, const json_t *ev, int deleted)
{
    struct sim_kres *core = sim_kube_res_by_key(k, "events");
    const json_t *m = json_object_get(ev, "metadata");
    const char *ns = json_string_value(json_object_get(m, "namespace"));
    const char *name = json_string_value(json_object_get(m, "name"));
    const json_t *series = json_object_get(ev, "series");
    json_t *cur, *conv, *cm, *v;
    const char *first, *last, *ctl;
    char key[600];
    json_int_t count;

    if (!core || !ns || !name)
        return;
    sim_kube_obj_key(core, ns, name, key, sizeof key);
    cur = core_map_get(core->objects, key, NULL);
    if (deleted) {
        json_t *copy = cur ? json_deep_copy(cur) : NULL;
        if (copy)
            (void)commit_del(k, core, key, copy, NULL);
        return;
    }
    conv = json_object();
    cm = json_deep_copy(m);
    if (!conv || !cm) {
        json_decref(conv);
        json_decref(cm);
        return;
    }
    (void)json_object_del(cm, "managedFields");
    json_object_set_new(conv, "apiVersion", json_string("v1"));
    json_object_set_new(conv, "kind", json_string("Event"));
    json_object_set_new(conv, "metadata", cm);
    if ((v = json_object_get(ev, "regarding")))
        json_object_set(conv, "involvedObject", v);
    if ((v = json_object_get(ev, "related")))
        json_object_set(conv, "related", v);
    if ((v = json_object_get(ev, "reason")))
        json_object_set(conv, "reason", v);
    if ((v = json_object_get(ev, "note")))
        json_object_set(conv, "message", v);
    if ((v = json_object_get(ev, "type")))
        json_object_set(conv, "type", v);
    if ((v = json_object_get(ev, "action")))
        json_object_set(conv, "action", v);
    if ((v = json_object_get(ev, "eventTime")))
        json_object_set(conv, "eventTime", v);
    count = json_integer_value(json_object_get(series, "count"));
    if (count < 1)
        count = json_integer_value(json_object_get(ev, "deprecatedCount"));
    json_object_set_new(conv, "count", json_integer(count < 1 ? 1 : count));
    first = json_string_value(json_object_get(ev, "deprecatedFirstTimestamp"));
    last = json_string_value(json_object_get(series, "lastObservedTime"));
    if (!last)
        last = json_string_value(json_object_get(ev, "deprecatedLastTimestamp"));
    if (!first)
        first = json_string_value(json_object_get(ev, "eventTime"));
    if (!first)
        first = json_string_value(json_object_get(m, "creationTimestamp"));
    if (first)
        json_object_set_new(conv, "firstTimestamp", json_string(first));
    if (last || first)
        json_object_set_new(conv, "lastTimestamp", json_string(last ? last : first));
    ctl = json_string_value(json_object_get(ev, "reportingController"));
    if (ctl) {
        json_object_set_new(conv, "source", json_pack("{s:s}", "component", ctl));
        json_object_set_new(conv, "reportingComponent", json_string(ctl));
    }
    if ((v = json_object_get(ev, "reportingInstance")))
        json_object_set(conv, "reportingInstance", v);
    (void)commit_put(k, core, key, conv, cur ? SIM_KEV_MODIFIED : SIM_KEV_ADDED, NULL);
}

static void gc_cb(void *ud);

static void gc_schedule(struct sim_kube *k)
{
    if (!k->gc_timer)
        k->gc_timer = core_loop_timer_add(k->loop, 0, gc_cb, k);
}

static json_t *lookup(struct sim_kres *r, const char *ns, const char *name)
{
    char key[512];
    sim_kube_obj_key(r, ns, name, key, sizeof key);
    return core_map_get(r->objects, key, NULL);
}

static struct sim_kres *ns_res(struct sim_kube *k)
{
    return sim_kube_res_by_key(k, "namespaces");
}

static int ns_has_objects(struct sim_kube *k, const char *ns)
{
    size_t nl = strlen(ns);
    for (size_t i = 0; i < k->nres; i++) {
        struct sim_kres *r = k->res[i];
        size_t it = 0;
        const char *key;
        void *val;
        if (!r->namespaced)
            continue;
        while (core_map_next(r->objects, &it, &key, &val))
            if (strncmp(key, ns, nl) == 0 && key[nl] == '/')
                return 1;
    }
    return 0;
}

/* A terminating namespace goes away once it is empty and has no finalizers of its own. */
static void ns_finalize_check(struct sim_kube *k, const char *ns)
{
    struct sim_kres *nr = ns_res(k);
    json_t *o = nr ? lookup(nr, NULL, ns) : NULL, *last;
    char key[300];

    if (!o || !is_terminating(o) || finalizer_count(o) > 0 || ns_has_objects(k, ns))
        return;
    last = json_deep_copy(o);
    if (!last)
        return;
    sim_kube_obj_key(nr, NULL, ns, key, sizeof key);
    if (commit_del(k, nr, key, last, NULL) == 0)
        gc_schedule(k);
}

/* Removes an object for good and runs what follows a removal. */
static int remove_obj(struct sim_kube *k, struct sim_kres *r, const char *key, const json_t *cur,
                      json_t **out, struct core_err *err)
{
    char ns[256];
    const char *nsv = meta_str(cur, "namespace");
    json_t *last = json_deep_copy(cur);
    int rc;

    if (!last)
        return nomem(err);
    core_strlcpy(ns, nsv ? nsv : "", sizeof ns);
    json_incref(last);
    if ((rc = commit_del(k, r, key, last, err)) != 0) {
        json_decref(last);
        return rc;
    }
    gc_schedule(k);
    if (r->namespaced && ns[0])
        ns_finalize_check(k, ns);
    if (out)
        *out = last;
    else
        json_decref(last);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Validation shared by create and update                                                      */
/* ------------------------------------------------------------------------------------------ */

static int check_type_meta(const struct sim_kres *r, json_t *obj, struct core_err *err)
{
    char want[200];
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));

    if (r->group[0])
        snprintf(want, sizeof want, "%s/%s", r->group, r->version);
    else
        core_strlcpy(want, r->version, sizeof want);
    if (av && strcmp(av, want) != 0)
        return kerr(err, CORE_E_INVAL, 400, "BadRequest",
                    "the API version in the data (%.100s) does not match the expected API "
                    "version (%s)", av, want);
    if (kind && strcmp(kind, r->kind) != 0)
        return kerr(err, CORE_E_INVAL, 400, "BadRequest",
                    "the kind in the data (%.100s) does not match the expected kind (%s)", kind,
                    r->kind);
    if (json_object_set_new(obj, "apiVersion", json_string(want)) != 0 ||
        json_object_set_new(obj, "kind", json_string(r->kind)) != 0)
        return nomem(err);
    if (json_object_get(obj, "metadata") && !json_is_object(json_object_get(obj, "metadata")))
        return kerr(err, CORE_E_INVAL, 400, "BadRequest", "metadata must be an object");
    return 0;
}

static int run_validate(struct sim_kres *r, const json_t *cand, json_t **pruned,
                        struct core_err *err)
{
    int rc;
    if (err)
        core_err_clear(err);
    rc = sim_kube_crd_validate(r, cand, pruned, err);
    if (rc && err && err->http_status == 0)
        core_err_set_service(err, rc == CORE_E_NOMEM ? 500 : 422,
                             rc == CORE_E_NOMEM ? "InternalError" : "Invalid", NULL);
    return rc;
}

/* A pod's spec with the fields an update may change taken out. */
static json_t *pod_spec_fixed(const json_t *spec)
{
    static const char *const LISTS[] = {"containers", "initContainers"};
    json_t *s = json_is_object(spec) ? json_deep_copy(spec) : json_object();
    if (!s)
        return NULL;
    (void)json_object_del(s, "activeDeadlineSeconds");
    (void)json_object_del(s, "tolerations");
    (void)json_object_del(s, "terminationGracePeriodSeconds");
    for (size_t i = 0; i < 2; i++) {
        json_t *l = json_object_get(s, LISTS[i]), *c;
        size_t j;
        json_array_foreach(l, j, c) {
            if (json_is_object(c))
                (void)json_object_del(c, "image");
        }
    }
    return s;
}

static int pod_spec_check(const struct sim_kres *r, const json_t *cur, const json_t *cand,
                          struct core_err *err)
{
    json_t *a, *b;
    int same;

    if (strcmp(r->key, "pods") != 0)
        return 0;
    a = pod_spec_fixed(json_object_get(cur, "spec"));
    b = pod_spec_fixed(json_object_get(cand, "spec"));
    same = a && b && json_equal(a, b);
    json_decref(a);
    json_decref(b);
    if (!same)
        return kerr(err, CORE_E_INVAL, 422, "Invalid",
                    "Pod \"%s\" is invalid: spec: Forbidden: pod updates may not change fields "
                    "other than `spec.containers[*].image`, `spec.initContainers[*].image`, "
                    "`spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to "
                    "existing tolerations), `spec.terminationGracePeriodSeconds`",
                    meta_str(cur, "name"));
    return 0;
}

/* Whether anything outside metadata and status differs. */
static int spec_changed(const json_t *a, const json_t *b)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)a, key, v) {
        if (strcmp(key, "metadata") == 0 || strcmp(key, "status") == 0)
            continue;
        if (!json_equal(v, json_object_get(b, key)))
            return 1;
    }
    json_object_foreach((json_t *)b, key, v) {
        if (strcmp(key, "metadata") == 0 || strcmp(key, "status") == 0)
            continue;
        if (!json_object_get(a, key))
            return 1;
    }
    return 0;
}

static int copy_field(json_t *dst, const json_t *src, const char *field)
{
    json_t *v = json_object_get(src, field);
    if (!v) {
        (void)json_object_del(dst, field);
        return 0;
    }
    return json_object_set(dst, field, v);
}

/* ------------------------------------------------------------------------------------------ */
/* Verbs                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static int need_ns(const struct sim_kres *r, const char *ns, struct core_err *err)
{
    if (r->namespaced && (!ns || !ns[0]))
        return kerr(err, CORE_E_INVAL, 400, "BadRequest",
                    "%s: a namespace is required for a namespaced resource", r->key);
    return 0;
}

int sim_kube_store_get(struct sim_kube *k, struct sim_kres *r, const char *ns, const char *name,
                       json_t **out, struct core_err *err)
{
    json_t *o;
    int rc;

    (void)k;
    if ((rc = need_ns(r, ns, err)) != 0)
        return rc;
    o = name ? lookup(r, ns, name) : NULL;
    if (!o)
        return kerr(err, CORE_E_NOTFOUND, 404, "NotFound", "%s \"%.253s\" not found", r->key,
                    name ? name : "");
    if (out)
        *out = json_incref(o);
    return 0;
}

int sim_kube_store_create(struct sim_kube *k, struct sim_kres *r, const char *ns,
                          const json_t *obj, int keep_status, int dry_run, json_t **out,
                          struct core_err *err)
{
    char kq[200], name[300], key[600], uid[UID_LEN], ts[40];
    json_t *cand = NULL, *pruned = NULL, *m;
    const char *v;
    int rc;

    if (!json_is_object(obj))
        return kerr(err, CORE_E_INVAL, 400, "BadRequest", "the object must be a JSON object");
    if ((rc = need_ns(r, ns, err)) != 0)
        return rc;
    qual_kind(r, kq, sizeof kq);
    cand = json_deep_copy(obj);
    if (!cand)
        return nomem(err);
    if ((rc = check_type_meta(r, cand, err)) != 0)
        goto out;
    if (!(m = meta_of(cand))) {
        rc = nomem(err);
        goto out;
    }
    if (r->namespaced) {
        struct sim_kres *nr = ns_res(k);
        json_t *nso = nr ? lookup(nr, NULL, ns) : NULL;
        v = json_string_value(json_object_get(m, "namespace"));
        if (v && v[0] && strcmp(v, ns) != 0) {
            rc = kerr(err, CORE_E_INVAL, 400, "BadRequest",
                      "the namespace of the provided object (%.63s) does not match the "
                      "namespace sent on the request (%.63s)", v, ns);
            goto out;
        }
        if (!nso) {
            rc = kerr(err, CORE_E_NOTFOUND, 404, "NotFound", "namespaces \"%.63s\" not found",
                      ns);
            goto out;
        }
        if (is_terminating(nso)) {
            rc = kerr(err, CORE_E_STATE, 403, "Forbidden",
                      "%s is forbidden: unable to create new content in namespace %.63s "
                      "because it is being terminated", r->key, ns);
            goto out;
        }
        if (json_object_set_new(m, "namespace", json_string(ns)) != 0) {
            rc = nomem(err);
            goto out;
        }
    } else {
        (void)json_object_del(m, "namespace");
    }
    v = json_string_value(json_object_get(m, "name"));
    if (!v || !v[0]) {
        const char *gen = json_string_value(json_object_get(m, "generateName"));
        if (!gen || !gen[0]) {
            rc = kerr(err, CORE_E_INVAL, 422, "Invalid",
                      "%s \"\" is invalid: metadata.name: Required value: name or generateName "
                      "is required", kq);
            goto out;
        }
        if (strlen(gen) > 248) {
            rc = kerr(err, CORE_E_INVAL, 422, "Invalid",
                      "%s is invalid: metadata.generateName: too long", kq);
            goto out;
        }
        for (int i = 0;; i++) {
            char suf[6];
            gen_suffix(k, suf);
            snprintf(name, sizeof name, "%s%s", gen, suf);
            sim_kube_obj_key(r, ns, name, key, sizeof key);
            if (!core_map_get(r->objects, key, NULL) || i >= GEN_NAME_TRIES)
                break;
        }
        if (json_object_set_new(m, "name", json_string(name)) != 0) {
            rc = nomem(err);
            goto out;
        }
    } else {
        core_strlcpy(name, v, sizeof name);
    }
    if (!name_ok(r, name)) {
        rc = kerr(err, CORE_E_INVAL, 422, "Invalid",
                  "%s \"%.253s\" is invalid: metadata.name: Invalid value: \"%.253s\": a "
                  "lowercase RFC 1123 %s must consist of lower case alphanumeric characters, "
                  "'-'%s, and must start and end with an alphanumeric character (at most %d "
                  "characters)", kq, name, name, strcmp(r->key, "namespaces") ? "subdomain" :
                  "label", strcmp(r->key, "namespaces") ? " or '.'" : "",
                  strcmp(r->key, "namespaces") ? 253 : 63);
        goto out;
    }
    sim_kube_obj_key(r, ns, name, key, sizeof key);
    /* Server-owned metadata is never taken from the client. */
    (void)json_object_del(m, "resourceVersion");
    (void)json_object_del(m, "deletionTimestamp");
    (void)json_object_del(m, "deletionGracePeriodSeconds");
    (void)json_object_del(m, "managedFields");
    (void)json_object_del(m, "selfLink");
    if (r->has_status && !keep_status) {
        (void)json_object_del(cand, "status");
        if (strcmp(r->key, "pods") == 0)
            rc = json_object_set_new(cand, "status", json_pack("{s:s}", "phase", "Pending"));
    }
    if (!rc && strcmp(r->key, "namespaces") == 0 &&
        !json_string_value(json_object_get(json_object_get(cand, "status"), "phase")))
        rc = json_object_set_new(cand, "status", json_pack("{s:s}", "phase", "Active"));
    if (rc) {
        rc = nomem(err);
        goto out;
    }
    if ((rc = run_validate(r, cand, &pruned, err)) != 0)
        goto out;
    if (core_map_get(r->objects, key, NULL)) {
        rc = kerr(err, CORE_E_CONFLICT, 409, "AlreadyExists", "%s \"%.253s\" already exists",
                  r->key, name);
        goto out;
    }
    if (!(m = meta_of(pruned))) {
        rc = nomem(err);
        goto out;
    }
    new_uid(k, uid, sizeof uid);
    stamp_now(k, ts, sizeof ts);
    if (json_object_set_new(m, "uid", json_string(uid)) != 0 ||
        json_object_set_new(m, "creationTimestamp", json_string(ts)) != 0 ||
        json_object_set_new(m, "generation", json_integer(1)) != 0) {
        rc = nomem(err);
        goto out;
    }
    if (dry_run) {
        if (out)
            *out = json_incref(pruned);
        goto out;
    }
    json_incref(pruned);
    if ((rc = commit_put(k, r, key, pruned, SIM_KEV_ADDED, err)) != 0)
        goto out;
    if (out)
        *out = json_incref(pruned);
out:
    json_decref(cand);
    json_decref(pruned);
    return rc;
}

int sim_kube_store_update(struct sim_kube *k, struct sim_kres *r, const char *ns,
                          const char *name, const json_t *obj, const char *subresource,
                          int dry_run, json_t **out, struct core_err *err)
{
    static const char *const SYS_META[] = {"uid", "creationTimestamp", "namespace", "name",
                                           "deletionTimestamp", "deletionGracePeriodSeconds",
                                           "generation"};
    char kq[200], key[600];
    json_t *cur, *cand = NULL, *pruned = NULL, *m, *cm;
    const char *v;
    int status_only = 0, rc;

    if ((rc = need_ns(r, ns, err)) != 0)
        return rc;
    if (subresource) {
        if (strcmp(subresource, "status") != 0 || !r->has_status)
            return kerr(err, CORE_E_NOTFOUND, 404, "NotFound",
                        "the server could not find the requested resource (%s/%.40s)", r->key,
                        subresource);
        status_only = 1;
    }
    if (!json_is_object(obj))
        return kerr(err, CORE_E_INVAL, 400, "BadRequest", "the object must be a JSON object");
    qual_kind(r, kq, sizeof kq);
    cur = name ? lookup(r, ns, name) : NULL;
    if (!cur)
        return kerr(err, CORE_E_NOTFOUND, 404, "NotFound", "%s \"%.253s\" not found", r->key,
                    name ? name : "");
    sim_kube_obj_key(r, ns, name, key, sizeof key);
    v = meta_str(obj, "name");
    if (v && strcmp(v, name) != 0)
        return kerr(err, CORE_E_INVAL, 400, "BadRequest",
                    "the name of the object (%.253s) does not match the name on the URL "
                    "(%.253s)", v, name);
    v = meta_str(obj, "namespace");
    if (r->namespaced && v && v[0] && strcmp(v, ns) != 0)
        return kerr(err, CORE_E_INVAL, 400, "BadRequest",
                    "the namespace of the provided object (%.63s) does not match the namespace "
                    "sent on the request (%.63s)", v, ns);
    v = meta_str(obj, "resourceVersion");
    if (v && v[0] && strcmp(v, meta_str(cur, "resourceVersion")) != 0)
        return kerr(err, CORE_E_CONFLICT, 409, "Conflict",
                    "Operation cannot be fulfilled on %s \"%.253s\": %s", r->key, name,
                    CONFLICT_MSG);
    v = meta_str(obj, "uid");
    if (v && v[0] && strcmp(v, meta_str(cur, "uid")) != 0)
        return kerr(err, CORE_E_CONFLICT, 409, "Conflict",
                    "Operation cannot be fulfilled on %s \"%.253s\": Precondition failed: UID "
                    "in precondition: %.40s, UID in object meta: %s", r->key, name, v,
                    meta_str(cur, "uid"));
    if (status_only) {
        cand = json_deep_copy(cur);
        if (!cand || copy_field(cand, obj, "status") != 0) {
            rc = nomem(err);
            goto out;
        }
    } else {
        cand = json_deep_copy(obj);
        if (!cand) {
            rc = nomem(err);
            goto out;
        }
        if ((rc = check_type_meta(r, cand, err)) != 0)
            goto out;
        if (r->has_status && copy_field(cand, cur, "status") != 0) {
            rc = nomem(err);
            goto out;
        }
        if (!(m = meta_of(cand))) {
            rc = nomem(err);
            goto out;
        }
        cm = json_object_get(cur, "metadata");
        for (size_t i = 0; i < sizeof SYS_META / sizeof SYS_META[0]; i++)
            if (copy_field(m, cm, SYS_META[i]) != 0) {
                rc = nomem(err);
                goto out;
            }
        (void)json_object_del(m, "managedFields");
        if ((rc = pod_spec_check(r, cur, cand, err)) != 0)
            goto out;
        if (is_terminating(cur)) {
            json_t *nf = json_object_get(m, "finalizers"), *of, *f;
            size_t i;
            of = json_object_get(cm, "finalizers");
            json_array_foreach(nf, i, f) {
                size_t j;
                json_t *g;
                int had = 0;
                json_array_foreach(of, j, g) {
                    if (json_equal(f, g))
                        had = 1;
                }
                if (!had) {
                    rc = kerr(err, CORE_E_INVAL, 422, "Invalid",
                              "%s \"%.253s\" is invalid: metadata.finalizers: Forbidden: no new "
                              "finalizers can be added if the object is being deleted", kq,
                              name);
                    goto out;
                }
            }
        }
    }
    if ((rc = run_validate(r, cand, &pruned, err)) != 0)
        goto out;
    if (!(m = meta_of(pruned))) {
        rc = nomem(err);
        goto out;
    }
    {
        json_int_t gen = json_integer_value(json_object_get(json_object_get(cur, "metadata"),
                                                            "generation"));
        if (spec_changed(cur, pruned))
            gen++;
        if (json_object_set_new(m, "generation", json_integer(gen)) != 0 ||
            json_object_set(m, "resourceVersion",
                            json_object_get(json_object_get(cur, "metadata"),
                                            "resourceVersion")) != 0) {
            rc = nomem(err);
            goto out;
        }
    }
    /* A namespace is never removed by an update: it goes only when it is empty too
     * (ns_finalize_check after the write below). */
    if (is_terminating(cur) && finalizer_count(pruned) == 0 &&
        strcmp(r->key, "namespaces") != 0) {
        if (dry_run) {
            if (out)
                *out = json_incref(pruned);
            goto out;
        }
        rc = remove_obj(k, r, key, pruned, out, err);
        goto out;
    }
    if (json_equal(pruned, cur) || dry_run) {
        /* Nothing changed: no write, as the API server does. */
        if (out)
            *out = json_incref(dry_run ? pruned : cur);
        goto out;
    }
    json_incref(pruned);
    if ((rc = commit_put(k, r, key, pruned, SIM_KEV_MODIFIED, err)) != 0)
        goto out;
    if (out)
        *out = json_incref(pruned);
    if (strcmp(r->key, "namespaces") == 0 && is_terminating(pruned))
        ns_finalize_check(k, name);
out:
    json_decref(cand);
    json_decref(pruned);
    return rc;
}

int sim_kube_store_patch(struct sim_kube *k, struct sim_kres *r, const char *ns,
                         const char *name, enum sim_kpatch type, const char *patch,
                         size_t patch_len, const char *subresource, const char *field_manager,
                         int force, int dry_run, json_t **out, struct core_err *err)
{
    json_t *p = NULL, *cur, *res = NULL;
    json_error_t jerr;
    int rc;

    (void)force; /* no managedFields, so nothing to force: see kube_patch.c */
    if ((rc = need_ns(r, ns, err)) != 0)
        return rc;
    if (type == SIM_KPATCH_STRATEGIC && r->is_crd)
        return kerr(err, CORE_E_UNSUPPORTED, 415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types "
                    "include: application/json-patch+json, application/merge-patch+json, "
                    "application/apply-patch+yaml");
    if (type == SIM_KPATCH_APPLY) {
        if (!field_manager || !field_manager[0])
            return kerr(err, CORE_E_INVAL, 400, "BadRequest",
                        "PATCH %s: fieldManager is required for apply requests", r->key);
        if ((rc = sim_kube_apply_parse(patch ? patch : "", patch_len, &p, err)) != 0)
            return rc;
    } else if (type >= SIM_KPATCH_MERGE && type <= SIM_KPATCH_STRATEGIC) {
        p = json_loadb(patch ? patch : "", patch_len, JSON_DECODE_ANY, &jerr);
        if (!p)
            return kerr(err, CORE_E_INVAL, 400, "BadRequest",
                        "the patch is not valid JSON: line %d column %d: %.200s", jerr.line,
                        jerr.column, jerr.text);
    } else {
        return kerr(err, CORE_E_UNSUPPORTED, 415, "UnsupportedMediaType",
                    "unknown patch type");
    }
    cur = name ? lookup(r, ns, name) : NULL;
    if (!cur) {
        if (type == SIM_KPATCH_APPLY && !subresource) {
            const char *bn = meta_str(p, "name");
            json_t *m;
            if (bn && name && strcmp(bn, name) != 0) {
                rc = kerr(err, CORE_E_INVAL, 400, "BadRequest",
                          "the name of the object (%.253s) does not match the name on the URL "
                          "(%.253s)", bn, name);
                goto out;
            }
            if (!(m = meta_of(p)) || json_object_set_new(m, "name", json_string(name)) != 0) {
                rc = nomem(err);
                goto out;
            }
            rc = sim_kube_store_create(k, r, ns, p, 0, dry_run, out, err);
            goto out;
        }
        rc = kerr(err, CORE_E_NOTFOUND, 404, "NotFound", "%s \"%.253s\" not found", r->key,
                  name ? name : "");
        goto out;
    }
    switch (type) {
    case SIM_KPATCH_MERGE:
        rc = sim_kube_merge_patch(cur, p, &res, err);
        break;
    case SIM_KPATCH_JSON:
        rc = sim_kube_json_patch(cur, p, &res, err);
        break;
    case SIM_KPATCH_STRATEGIC:
    case SIM_KPATCH_APPLY:
        if (type == SIM_KPATCH_APPLY &&
            (!json_string_value(json_object_get(p, "apiVersion")) ||
             !json_string_value(json_object_get(p, "kind")))) {
            rc = kerr(err, CORE_E_INVAL, 400, "BadRequest",
                      "apply configuration must set apiVersion and kind");
            break;
        }
        rc = sim_kube_strategic_patch(cur, p, r->kind, &res, err);
        break;
    }
    if (rc)
        goto out;
    if (!json_is_object(res)) {
        rc = kerr(err, CORE_E_INVAL, 422, "Invalid", "the patched %s \"%.253s\" is not an "
                  "object", r->key, name);
        goto out;
    }
    rc = sim_kube_store_update(k, r, ns, name, res, subresource, dry_run, out, err);
out:
    json_decref(p);
    json_decref(res);
    return rc;
}

/* Drops the owner references to uid from every object that has one. */
static int orphan_dependents(struct sim_kube *k, const char *uid, struct core_err *err)
{
    for (size_t i = 0; i < k->nres; i++) {
        struct sim_kres *r = k->res[i];
        size_t it = 0, nk = 0;
        const char *key;
        void *val;
        char **keys = NULL;
        int rc = 0;

        while (core_map_next(r->objects, &it, &key, &val)) {
            json_t *refs = json_object_get(json_object_get(val, "metadata"), "ownerReferences");
            json_t *ref;
            size_t j;
            json_array_foreach(refs, j, ref) {
                const char *u = json_string_value(json_object_get(ref, "uid"));
                if (u && strcmp(u, uid) == 0) {
                    char **nkeys = core_realloc(keys, (nk + 1) * sizeof *keys);
                    if (!nkeys || !(nkeys[nk] = core_strdup(key))) {
                        keys = nkeys ? nkeys : keys;
                        rc = nomem(err);
                        break;
                    }
                    keys = nkeys;
                    nk++;
                    break;
                }
            }
            if (rc)
                break;
        }
        for (size_t j = 0; j < nk && !rc; j++) {
            json_t *cur = core_map_get(r->objects, keys[j], NULL);
            json_t *n = json_deep_copy(cur), *refs;
            if (!n) {
                rc = nomem(err);
                break;
            }
            refs = json_object_get(json_object_get(n, "metadata"), "ownerReferences");
            for (size_t x = json_array_size(refs); x-- > 0;) {
                const char *u = json_string_value(json_object_get(json_array_get(refs, x),
                                                                  "uid"));
                if (u && strcmp(u, uid) == 0)
                    (void)json_array_remove(refs, x);
            }
            if (json_array_size(refs) == 0)
                (void)json_object_del(json_object_get(n, "metadata"), "ownerReferences");
            rc = commit_put(k, r, keys[j], n, SIM_KEV_MODIFIED, err);
        }
        for (size_t j = 0; j < nk; j++)
            core_free(keys[j]);
        core_free(keys);
        if (rc)
            return rc;
    }
    return 0;
}

/* Marks an object terminating (finalizers present) or removes it. */
static int delete_obj(struct sim_kube *k, struct sim_kres *r, const char *key, json_t *cur,
                      json_t **out, struct core_err *err)
{
    char ts[40];
    json_t *n, *m;
    int rc;

    if (finalizer_count(cur) == 0)
        return remove_obj(k, r, key, cur, out, err);
    if (is_terminating(cur)) {
        if (out)
            *out = json_incref(cur);
        return 0;
    }
    stamp_now(k, ts, sizeof ts);
    n = json_deep_copy(cur);
    if (!n || !(m = meta_of(n)) ||
        json_object_set_new(m, "deletionTimestamp", json_string(ts)) != 0 ||
        json_object_set_new(m, "deletionGracePeriodSeconds", json_integer(0)) != 0) {
        json_decref(n);
        return nomem(err);
    }
    json_incref(n);
    if ((rc = commit_put(k, r, key, n, SIM_KEV_MODIFIED, err)) != 0) {
        json_decref(n);
        return rc;
    }
    if (out)
        *out = n;
    else
        json_decref(n);
    return 0;
}

/* Every object in namespace ns, of every namespaced resource, is deleted. */
static int ns_empty(struct sim_kube *k, const char *ns, struct core_err *err)
{
    size_t nl = strlen(ns);
    for (size_t i = 0; i < k->nres; i++) {
        struct sim_kres *r = k->res[i];
        size_t it = 0, nk = 0;
        const char *key;
        void *val;
        char **keys = NULL;
        int rc = 0;

        if (!r->namespaced)
            continue;
        while (core_map_next(r->objects, &it, &key, &val)) {
            char **nkeys;
            if (strncmp(key, ns, nl) != 0 || key[nl] != '/')
                continue;
            nkeys = core_realloc(keys, (nk + 1) * sizeof *keys);
            if (!nkeys || !(nkeys[nk] = core_strdup(key))) {
                keys = nkeys ? nkeys : keys;
                rc = nomem(err);
                break;
            }
            keys = nkeys;
            nk++;
        }
        for (size_t j = 0; j < nk && !rc; j++) {
            json_t *cur = core_map_get(r->objects, keys[j], NULL);
            if (cur)
                rc = delete_obj(k, r, keys[j], cur, NULL, err);
        }
        for (size_t j = 0; j < nk; j++)
            core_free(keys[j]);
        core_free(keys);
        if (rc)
            return rc;
    }
    return 0;
}

int sim_kube_store_delete(struct sim_kube *k, struct sim_kres *r, const char *ns,
                          const char *name, const char *precondition_uid,
                          const char *precondition_rv, const char *propagation, int dry_run,
                          json_t **out, struct core_err *err)
{
    char key[600], uid[UID_LEN];
    json_t *cur;
    int rc;

    if ((rc = need_ns(r, ns, err)) != 0)
        return rc;
    cur = name ? lookup(r, ns, name) : NULL;
    if (!cur)
        return kerr(err, CORE_E_NOTFOUND, 404, "NotFound", "%s \"%.253s\" not found", r->key,
                    name ? name : "");
    if (propagation && propagation[0] && strcmp(propagation, "Background") != 0 &&
        strcmp(propagation, "Foreground") != 0 && strcmp(propagation, "Orphan") != 0)
        return kerr(err, CORE_E_INVAL, 400, "BadRequest",
                    "propagationPolicy: Unsupported value: \"%.40s\": supported values: "
                    "\"Orphan\", \"Background\", \"Foreground\"", propagation);
    if (precondition_uid && precondition_uid[0] &&
        strcmp(precondition_uid, meta_str(cur, "uid")) != 0)
        return kerr(err, CORE_E_CONFLICT, 409, "Conflict",
                    "Operation cannot be fulfilled on %s \"%.253s\": Precondition failed: UID in "
                    "precondition: %.40s, UID in object meta: %s", r->key, name,
                    precondition_uid, meta_str(cur, "uid"));
    if (precondition_rv && precondition_rv[0] &&
        strcmp(precondition_rv, meta_str(cur, "resourceVersion")) != 0)
        return kerr(err, CORE_E_CONFLICT, 409, "Conflict",
                    "Operation cannot be fulfilled on %s \"%.253s\": Precondition failed: "
                    "ResourceVersion in precondition: %.40s, ResourceVersion in object meta: %s",
                    r->key, name, precondition_rv, meta_str(cur, "resourceVersion"));
    if (dry_run) {
        if (out)
            *out = json_incref(cur);
        return 0;
    }
    sim_kube_obj_key(r, ns, name, key, sizeof key);
    core_strlcpy(uid, meta_str(cur, "uid") ? meta_str(cur, "uid") : "", sizeof uid);
    if (propagation && strcmp(propagation, "Orphan") == 0 && uid[0]) {
        if ((rc = orphan_dependents(k, uid, err)) != 0)
            return rc;
        cur = core_map_get(r->objects, key, NULL);
    }
    if (strcmp(r->key, "namespaces") == 0 && is_terminating(cur))
        return kerr(err, CORE_E_CONFLICT, 409, "Conflict",
                    "Operation cannot be fulfilled on namespaces \"%.63s\": The system is "
                    "ensuring all content is removed from this namespace.  Upon completion, this "
                    "namespace will automatically be purged by the system.",
                    name);
    if (strcmp(r->key, "namespaces") == 0) {
        char ts[40];
        json_t *n = json_deep_copy(cur), *m, *st;
        char nsname[64];
        core_strlcpy(nsname, name, sizeof nsname);
        stamp_now(k, ts, sizeof ts);
        if (!n || !(m = meta_of(n)) ||
            json_object_set_new(m, "deletionTimestamp", json_string(ts)) != 0 ||
            json_object_set_new(m, "deletionGracePeriodSeconds", json_integer(0)) != 0 ||
            !(st = json_pack("{s:s}", "phase", "Terminating")) ||
            json_object_set_new(n, "status", st) != 0) {
            json_decref(n);
            return nomem(err);
        }
        if ((rc = commit_put(k, r, key, n, SIM_KEV_MODIFIED, err)) != 0)
            return rc;
        if ((rc = ns_empty(k, nsname, err)) != 0)
            return rc;
        ns_finalize_check(k, nsname);
        cur = core_map_get(r->objects, key, NULL);
        if (out) {
            if (cur) {
                *out = json_incref(cur);
            } else {
                /* Already gone: the last state is the one the DELETED event carried. */
                *out = json_incref(k->pending[k->npending - 1].obj);
            }
        }
        return 0;
    }
    return delete_obj(k, r, key, cur, out, err);
}

static int cmp_keys(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    const char *sx = strchr(x, '/'), *sy = strchr(y, '/');
    size_t nx = sx ? (size_t)(sx - x) : strlen(x), ny = sy ? (size_t)(sy - y) : strlen(y);
    int c = strncmp(x, y, nx < ny ? nx : ny);
    if (c)
        return c;
    if (nx != ny)
        return nx < ny ? -1 : 1;
    return strcmp(sx ? sx + 1 : "", sy ? sy + 1 : "");
}

int sim_kube_store_list(struct sim_kube *k, struct sim_kres *r, const char *ns,
                        const struct sim_ksel *labels, const struct sim_ksel *fields,
                        const char *continue_from, size_t limit, json_t **items,
                        char **next_key, struct core_err *err)
{
    const char **keys = NULL;
    size_t nk = 0, it = 0, nl = ns ? strlen(ns) : 0, taken = 0, i;
    const char *key;
    void *val;
    json_t *arr = NULL;
    char *next = NULL;
    int rc = 0;

    (void)k;
    if (r->count) {
        keys = core_malloc(r->count * sizeof *keys);
        if (!keys)
            return nomem(err);
    }
    while (core_map_next(r->objects, &it, &key, &val)) {
        if (nk >= r->count)
            break;
        if (r->namespaced && ns && ns[0] && (strncmp(key, ns, nl) != 0 || key[nl] != '/'))
            continue;
        if (!sim_ksel_match_labels(labels, val) || !sim_ksel_match_fields(fields, val))
            continue;
        keys[nk++] = key;
    }
    if (nk > 1)
        qsort(keys, nk, sizeof *keys, cmp_keys);
    arr = json_array();
    if (!arr) {
        rc = nomem(err);
        goto out;
    }
    for (i = 0; i < nk; i++) {
        const char *ck = keys[i];
        if (continue_from && cmp_keys(&ck, &continue_from) <= 0)
            continue;
        if (limit && taken == limit) {
            next = core_strdup(keys[i - 1]);
            if (!next) {
                rc = nomem(err);
                goto out;
            }
            break;
        }
        if (json_array_append(arr, core_map_get(r->objects, ck, NULL)) != 0) {
            rc = nomem(err);
            goto out;
        }
        taken++;
    }
    *items = arr;
    arr = NULL;
    if (next_key)
        *next_key = next;
    else
        core_free(next);
    next = NULL;
out:
    json_decref(arr);
    core_free(next);
    core_free(keys);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Garbage collection                                                                          */
/* ------------------------------------------------------------------------------------------ */

struct victim {
    struct sim_kres *r;
    char *key;
};

static void gc_cb(void *ud)
{
    struct sim_kube *k = ud;
    struct core_map *uids = core_map_new();
    struct victim *vs = NULL;
    size_t nv = 0, capv = 0;
    int oom = 0;

    k->gc_timer = NULL;
    if (!uids)
        return;
    for (size_t i = 0; i < k->nres && !oom; i++) {
        size_t it = 0;
        const char *key;
        void *val;
        while (core_map_next(k->res[i]->objects, &it, &key, &val)) {
            const char *u = meta_str(val, "uid");
            if (u && core_map_set(uids, u, val, NULL) != 0) {
                oom = 1;
                break;
            }
        }
    }
    for (size_t i = 0; i < k->nres && !oom; i++) {
        size_t it = 0;
        const char *key;
        void *val;
        while (core_map_next(k->res[i]->objects, &it, &key, &val)) {
            json_t *refs = json_object_get(json_object_get(val, "metadata"), "ownerReferences");
            json_t *ref;
            size_t j;
            int alive = 0;
            if (json_array_size(refs) == 0 || is_terminating(val))
                continue;
            json_array_foreach(refs, j, ref) {
                const char *u = json_string_value(json_object_get(ref, "uid"));
                if (u && core_map_get(uids, u, NULL))
                    alive = 1;
            }
            if (alive)
                continue;
            if (nv == capv) {
                size_t nc = capv ? capv * 2 : 16;
                struct victim *nvs = core_realloc(vs, nc * sizeof *nvs);
                if (!nvs) {
                    oom = 1;
                    break;
                }
                vs = nvs;
                capv = nc;
            }
            vs[nv].r = k->res[i];
            vs[nv].key = core_strdup(key);
            if (!vs[nv].key) {
                oom = 1;
                break;
            }
            nv++;
        }
    }
    core_map_free(uids);
    for (size_t i = 0; i < nv; i++) {
        json_t *cur = core_map_get(vs[i].r->objects, vs[i].key, NULL);
        if (cur && delete_obj(k, vs[i].r, vs[i].key, cur, NULL, NULL) != 0)
            oom = 1;
        core_free(vs[i].key);
    }
    core_free(vs);
    if (oom)
        gc_schedule(k); /* try again on a later turn */
}

/* ------------------------------------------------------------------------------------------ */
/* Binding and eviction                                                                        */
/* ------------------------------------------------------------------------------------------ */

static json_t *cond_find(const json_t *obj, const char *type)
{
    json_t *conds = json_object_get(json_object_get(obj, "status"), "conditions"), *c;
    size_t i;
    json_array_foreach(conds, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && strcmp(t, type) == 0)
            return c;
    }
    return NULL;
}

int sim_kube_store_bind(struct sim_kube *k, const char *ns, const char *pod, const char *node,
                        struct core_err *err)
{
    struct sim_kres *r = sim_kube_res_by_key(k, "pods");
    char key[600], ts[40];
    json_t *cur, *n = NULL, *spec, *st, *conds, *c;
    const char *have;
    int rc;

    if (!r)
        return kerr(err, CORE_E_NOTFOUND, 404, "NotFound", "pods are not served");
    if (!node || !node[0])
        return kerr(err, CORE_E_INVAL, 422, "Invalid",
                    "Binding \"%.253s\" is invalid: target.name: Required value", pod ? pod : "");
    cur = pod && ns ? lookup(r, ns, pod) : NULL;
    if (!cur)
        return kerr(err, CORE_E_NOTFOUND, 404, "NotFound", "pods \"%.253s\" not found",
                    pod ? pod : "");
    have = json_string_value(json_object_get(json_object_get(cur, "spec"), "nodeName"));
    if (have && have[0])
        return kerr(err, CORE_E_CONFLICT, 409, "Conflict",
                    "Operation cannot be fulfilled on pods/binding \"%.253s\": pod %.253s is "
                    "already assigned to node \"%.253s\"", pod, pod, have);
    if (is_terminating(cur))
        return kerr(err, CORE_E_CONFLICT, 409, "Conflict",
                    "Operation cannot be fulfilled on pods/binding \"%.253s\": pod %.253s is "
                    "being deleted, cannot be assigned to a host", pod, pod);
    stamp_now(k, ts, sizeof ts);
    n = json_deep_copy(cur);
    if (!n) {
        rc = nomem(err);
        goto fail;
    }
    spec = json_object_get(n, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        if (!spec || json_object_set_new(n, "spec", spec) != 0) {
            rc = nomem(err);
            goto fail;
        }
    }
    st = json_object_get(n, "status");
    if (!json_is_object(st)) {
        st = json_object();
        if (!st || json_object_set_new(n, "status", st) != 0) {
            rc = nomem(err);
            goto fail;
        }
    }
    conds = json_object_get(st, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        if (!conds || json_object_set_new(st, "conditions", conds) != 0) {
            rc = nomem(err);
            goto fail;
        }
    }
    c = cond_find(n, "PodScheduled");
    if (!c) {
        c = json_object();
        if (!c || json_array_append_new(conds, c) != 0) {
            rc = nomem(err);
            goto fail;
        }
    }
    if (json_object_set_new(spec, "nodeName", json_string(node)) != 0 ||
        json_object_set_new(c, "type", json_string("PodScheduled")) != 0 ||
        json_object_set_new(c, "status", json_string("True")) != 0 ||
        json_object_set_new(c, "lastProbeTime", json_null()) != 0 ||
        json_object_set_new(c, "lastTransitionTime", json_string(ts)) != 0) {
        rc = nomem(err);
        goto fail;
    }
    sim_kube_obj_key(r, ns, pod, key, sizeof key);
    return commit_put(k, r, key, n, SIM_KEV_MODIFIED, err);
fail:
    json_decref(n);
    return rc;
}

/* metav1.LabelSelector (matchLabels, matchExpressions) against an object's labels. A null
 * selector matches nothing, an empty one everything (policy/v1). */
static int label_selector_match(const json_t *sel, const json_t *obj)
{
    json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
    json_t *ml = json_object_get(sel, "matchLabels"), *v, *e;
    const char *key;
    size_t i;

    if (!json_is_object(sel))
        return 0;
    json_object_foreach(ml, key, v) {
        const char *have = json_string_value(json_object_get(labels, key));
        if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)) != 0)
            return 0;
    }
    json_array_foreach(json_object_get(sel, "matchExpressions"), i, e) {
        const char *k = json_string_value(json_object_get(e, "key"));
        const char *op = json_string_value(json_object_get(e, "operator"));
        const char *have = k ? json_string_value(json_object_get(labels, k)) : NULL;
        json_t *vals = json_object_get(e, "values"), *x;
        size_t j;
        int in = 0;
        if (!k || !op)
            return 0;
        json_array_foreach(vals, j, x) {
            if (have && json_is_string(x) && strcmp(have, json_string_value(x)) == 0)
                in = 1;
        }
        if ((strcmp(op, "In") == 0 && !in) || (strcmp(op, "NotIn") == 0 && in) ||
            (strcmp(op, "Exists") == 0 && !have) || (strcmp(op, "DoesNotExist") == 0 && have))
            return 0;
        if (strcmp(op, "In") && strcmp(op, "NotIn") && strcmp(op, "Exists") &&
            strcmp(op, "DoesNotExist"))
            return 0;
    }
    return 1;
}

static int pod_ready(const json_t *pod)
{
    json_t *c = cond_find(pod, "Ready");
    const char *s = json_string_value(json_object_get(c, "status"));
    return !is_terminating(pod) && s && strcmp(s, "True") == 0;
}

/* An int-or-percent scaled against total, rounded up; -1 when absent or malformed. */
static long long int_or_percent(const json_t *v, long long total)
{
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = strlen(s);
        char num[24];
        int64_t pct;
        if (n < 2 || n >= sizeof num || s[n - 1] != '%')
            return -1;
        memcpy(num, s, n - 1);
        num[n - 1] = '\0';
        if (core_parse_i64(num, 0, 100000, &pct) != 0)
            return -1;
        return (total * pct + 99) / 100;
    }
    return -1;
}

int sim_kube_store_evict(struct sim_kube *k, const char *ns, const char *pod,
                         struct core_err *err)
{
    struct sim_kres *r = sim_kube_res_by_key(k, "pods");
    struct sim_kres *pr = sim_kube_res_by_key(k, "poddisruptionbudgets.policy");
    json_t *cur, *pdb = NULL;
    const char *phase;
    char key[600];
    size_t it = 0, nl = ns ? strlen(ns) : 0;
    const char *pk;
    void *val;

    if (!r)
        return kerr(err, CORE_E_NOTFOUND, 404, "NotFound", "pods are not served");
    cur = pod && ns ? lookup(r, ns, pod) : NULL;
    if (!cur)
        return kerr(err, CORE_E_NOTFOUND, 404, "NotFound", "pods \"%.253s\" not found",
                    pod ? pod : "");
    sim_kube_obj_key(r, ns, pod, key, sizeof key);
    phase = json_string_value(json_object_get(json_object_get(cur, "status"), "phase"));
    if (is_terminating(cur))
        return 0;
    /* As the API server's eviction: a pod that is not running yet (Pending) or has finished
     * disrupts nothing, so no budget is consulted. */
    if (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0 ||
                  strcmp(phase, "Pending") == 0))
        return delete_obj(k, r, key, cur, NULL, err);
    while (pr && core_map_next(pr->objects, &it, &pk, &val)) {
        if (strncmp(pk, ns, nl) != 0 || pk[nl] != '/')
            continue;
        if (!label_selector_match(json_object_get(json_object_get(val, "spec"), "selector"),
                                  cur))
            continue;
        if (pdb)
            return kerr(err, CORE_E_STATE, 500, "InternalError",
                        "This pod has more than one PodDisruptionBudget, which the eviction "
                        "subresource does not support.");
        pdb = val;
    }
    if (pdb) {
        json_t *spec = json_object_get(pdb, "spec");
        json_t *sel = json_object_get(spec, "selector");
        long long expected = 0, healthy = 0, desired = 0, allowed;
        size_t pit = 0;
        while (core_map_next(r->objects, &pit, &pk, &val)) {
            if (strncmp(pk, ns, nl) != 0 || pk[nl] != '/' || !label_selector_match(sel, val))
                continue;
            expected++;
            if (pod_ready(val))
                healthy++;
        }
        /* Without controllers to ask for their scale, the budget's status.expectedPods (set
         * by whoever seeds it) stands for it; otherwise the selected pods are the expected. */
        {
            json_int_t ep = json_integer_value(
                json_object_get(json_object_get(pdb, "status"), "expectedPods"));
            if (ep > expected)
                expected = ep;
        }
        if (json_object_get(spec, "minAvailable")) {
            desired = int_or_percent(json_object_get(spec, "minAvailable"), expected);
        } else if (json_object_get(spec, "maxUnavailable")) {
            long long mu = int_or_percent(json_object_get(spec, "maxUnavailable"), expected);
            desired = mu < 0 ? expected : expected - mu;
        }
        if (desired < 0)
            desired = expected; /* a malformed budget protects everything */
        allowed = healthy - desired;
        if (allowed < 0)
            allowed = 0;
        if (pod_ready(cur) ? allowed == 0 : healthy < desired)
            return kerr(err, CORE_E_THROTTLED, 429, "TooManyRequests",
                        "Cannot evict pod as it would violate the pod's disruption budget.");
    }
    return delete_obj(k, r, key, cur, NULL, err);
}

/* ------------------------------------------------------------------------------------------ */
/* Construction                                                                                */
/* ------------------------------------------------------------------------------------------ */

void sim_kube_opts_default(struct sim_kube_opts *o)
{
    memset(o, 0, sizeof *o);
    o->git_version = "v1.31.4";
    o->history_max = 100000;
    o->history_window = 5 * 60 * CORE_NS_PER_S;
    o->bookmark_interval = 60 * CORE_NS_PER_S;
    o->watch_timeout_max = 30 * 60 * CORE_NS_PER_S;
    o->faults.retry_after = CORE_NS_PER_S;
}

#define BUILTIN(g, v, p, s, kd, key_, sn1, nsd, st)                                            \
    {.group = g, .version = v, .plural = p, .singular = s, .kind = kd, .key = key_,          \
     .short_names = {sn1, NULL, NULL, NULL}, .namespaced = nsd, .has_status = st}

static const struct sim_kres BUILTINS[] = {
    BUILTIN("", "v1", "pods", "pod", "Pod", "pods", "po", 1, 1),
    BUILTIN("", "v1", "nodes", "node", "Node", "nodes", "no", 0, 1),
    BUILTIN("", "v1", "namespaces", "namespace", "Namespace", "namespaces", "ns", 0, 1),
    BUILTIN("", "v1", "services", "service", "Service", "services", "svc", 1, 1),
    BUILTIN("", "v1", "events", "event", "Event", "events", "ev", 1, 0),
    BUILTIN("", "v1", "persistentvolumeclaims", "persistentvolumeclaim",
            "PersistentVolumeClaim", "persistentvolumeclaims", "pvc", 1, 1),
    BUILTIN("", "v1", "persistentvolumes", "persistentvolume", "PersistentVolume",
            "persistentvolumes", "pv", 0, 1),
    BUILTIN("storage.k8s.io", "v1", "storageclasses", "storageclass", "StorageClass",
            "storageclasses.storage.k8s.io", "sc", 0, 0),
    BUILTIN("apps", "v1", "daemonsets", "daemonset", "DaemonSet", "daemonsets.apps", "ds", 1,
            1),
    BUILTIN("coordination.k8s.io", "v1", "leases", "lease", "Lease",
            "leases.coordination.k8s.io", NULL, 1, 0),
    BUILTIN("events.k8s.io", "v1", "events", "event", "Event", "events.events.k8s.io", "ev", 1,
            0),
    BUILTIN("policy", "v1", "poddisruptionbudgets", "poddisruptionbudget",
            "PodDisruptionBudget", "poddisruptionbudgets.policy", "pdb", 1, 1),
};

int sim_kube_new(struct core_loop *loop, const struct sim_kube_opts *opts, struct sim_kube **out,
                 struct core_err *err)
{
    static const char *const NAMESPACES[] = {"default", "kube-system", "kube-public",
                                             "kube-node-lease"};
    struct sim_kube_opts def;
    struct sim_kube *k;
    struct sim_kres *nr = NULL;
    int rc = 0;

    if (!loop)
        return core_err_set(err, CORE_E_INVAL, "sim_kube_new: a loop is required");
    sim_kube_opts_default(&def);
    k = core_calloc(1, sizeof *k);
    if (!k)
        return nomem(err);
    k->loop = loop;
    k->opts = opts ? *opts : def;
    if (!k->opts.git_version || !k->opts.git_version[0])
        k->opts.git_version = def.git_version;
    core_strlcpy(k->git_version, k->opts.git_version, sizeof k->git_version);
    k->opts.git_version = k->git_version;
    if (k->opts.history_max == 0)
        k->opts.history_max = def.history_max;
    if (k->opts.history_window <= 0)
        k->opts.history_window = def.history_window;
    if (k->opts.bookmark_interval <= 0)
        k->opts.bookmark_interval = def.bookmark_interval;
    if (k->opts.watch_timeout_max <= 0)
        k->opts.watch_timeout_max = def.watch_timeout_max;
    if (k->opts.faults.retry_after <= 0)
        k->opts.faults.retry_after = def.faults.retry_after;
    sim_rng_seed(&k->rng, k->opts.seed);
    for (size_t i = 0; i < sizeof BUILTINS / sizeof BUILTINS[0] && !rc; i++)
        rc = sim_kube_register(k, &BUILTINS[i], NULL, err);
    nr = ns_res(k);
    for (size_t i = 0; i < 4 && !rc && nr; i++) {
        json_t *o = json_pack("{s:s,s:s,s:{s:s},s:{s:s}}", "apiVersion", "v1", "kind",
                              "Namespace", "metadata", "name", NAMESPACES[i], "status", "phase",
                              "Active");
        if (!o) {
            rc = nomem(err);
            break;
        }
        rc = sim_kube_store_create(k, nr, NULL, o, 1, 0, NULL, err);
        json_decref(o);
    }
    if (rc) {
        sim_kube_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

void sim_kube_free(struct sim_kube *k)
{
    if (!k)
        return;
    sim_kube_watches_cleanup(k);
    if (k->deliver_timer)
        core_loop_timer_cancel(k->loop, k->deliver_timer);
    if (k->gc_timer)
        core_loop_timer_cancel(k->loop, k->gc_timer);
    for (size_t i = 0; i < k->npending; i++) {
        json_decref(k->pending[i].obj);
        json_decref(k->pending[i].prev);
    }
    core_free(k->pending);
    for (size_t i = 0; i < k->hist_len; i++) {
        json_decref(k->hist[(k->hist_head + i) % k->hist_cap].obj);
        json_decref(k->hist[(k->hist_head + i) % k->hist_cap].prev);
    }
    core_free(k->hist);
    while (k->watches) {
        struct sim_kube_watch *w = k->watches;
        k->watches = w->next;
        core_free(w);
    }
    while (k->listeners) {
        struct sim_klistener *l = k->listeners;
        k->listeners = l->next;
        core_free(l);
    }
    for (size_t i = 0; i < k->nres; i++)
        res_free(k->res[i]);
    core_free(k->res);
    core_free(k);
}

/* ------------------------------------------------------------------------------------------ */
/* In-process API                                                                              */
/* ------------------------------------------------------------------------------------------ */

static int res_or_fail(struct sim_kube *k, const char *resource, struct sim_kres **r,
                       struct core_err *err)
{
    *r = sim_kube_res_by_key(k, resource);
    if (!*r)
        return kerr(err, CORE_E_NOTFOUND, 404, "NotFound",
                    "the server doesn't have a resource type \"%.200s\"",
                    resource ? resource : "");
    return 0;
}

/* Turns a stored reference in *o into a private deep copy. */
static int copy_out(int rc, json_t *o, json_t **out, struct core_err *err)
{
    json_t *c;
    if (rc || !out) {
        json_decref(o);
        return rc;
    }
    c = json_deep_copy(o);
    json_decref(o);
    if (!c)
        return nomem(err);
    *out = c;
    return 0;
}

int sim_kube_get(struct sim_kube *k, const char *resource, const char *ns, const char *name,
                 json_t **out, struct core_err *err)
{
    struct sim_kres *r;
    json_t *o = NULL;
    int rc = res_or_fail(k, resource, &r, err);
    if (rc)
        return rc;
    rc = sim_kube_store_get(k, r, ns, name, &o, err);
    return copy_out(rc, o, out, err);
}

int sim_kube_create(struct sim_kube *k, const char *resource, const char *ns, const json_t *obj,
                    json_t **out, struct core_err *err)
{
    struct sim_kres *r;
    json_t *o = NULL;
    int rc = res_or_fail(k, resource, &r, err);
    if (rc)
        return rc;
    rc = sim_kube_store_create(k, r, ns, obj, 1, 0, &o, err);
    return copy_out(rc, o, out, err);
}

int sim_kube_update(struct sim_kube *k, const char *resource, const char *ns, const json_t *obj,
                    int status, json_t **out, struct core_err *err)
{
    struct sim_kres *r;
    const char *name = meta_str(obj, "name");
    int rc = res_or_fail(k, resource, &r, err);
    if (rc)
        return rc;
    if (!name)
        return kerr(err, CORE_E_INVAL, 422, "Invalid", "%s: metadata.name: Required value",
                    r->key);
    {
        json_t *o = NULL;
        rc = sim_kube_store_update(k, r, ns, name, obj, status ? "status" : NULL, 0, &o, err);
        return copy_out(rc, o, out, err);
    }
}

int sim_kube_patch(struct sim_kube *k, const char *resource, const char *ns, const char *name,
                   const json_t *merge_patch, int status, json_t **out, struct core_err *err)
{
    struct sim_kres *r;
    json_t *cur, *res = NULL;
    int rc = res_or_fail(k, resource, &r, err);

    if (rc)
        return rc;
    if ((rc = sim_kube_store_get(k, r, ns, name, &cur, err)) != 0)
        return rc;
    rc = sim_kube_merge_patch(cur, merge_patch, &res, err);
    json_decref(cur);
    if (rc)
        return rc;
    cur = NULL;
    rc = sim_kube_store_update(k, r, ns, name, res, status ? "status" : NULL, 0, &cur, err);
    json_decref(res);
    return copy_out(rc, cur, out, err);
}

int sim_kube_delete(struct sim_kube *k, const char *resource, const char *ns, const char *name,
                    struct core_err *err)
{
    struct sim_kres *r;
    int rc = res_or_fail(k, resource, &r, err);
    return rc ? rc : sim_kube_store_delete(k, r, ns, name, NULL, NULL, NULL, 0, NULL, err);
}

int sim_kube_list(struct sim_kube *k, const char *resource, const char *ns,
                  const char *label_selector, const char *field_selector, json_t **items,
                  struct core_err *err)
{
    struct sim_kres *r;
    struct sim_ksel ls, fs;
    int rc = res_or_fail(k, resource, &r, err);

    if (rc)
        return rc;
    if ((rc = sim_ksel_parse_labels(label_selector, &ls, err)) != 0) {
        core_err_set_service(err, 400, "BadRequest", NULL);
        return rc;
    }
    if ((rc = sim_ksel_parse_fields(field_selector, &fs, err)) != 0) {
        sim_ksel_cleanup(&ls);
        core_err_set_service(err, 400, "BadRequest", NULL);
        return rc;
    }
    {
        json_t *arr = NULL;
        rc = sim_kube_store_list(k, r, r->namespaced ? ns : NULL, &ls, &fs, NULL, 0, &arr, NULL,
                                 err);
        sim_ksel_cleanup(&ls);
        sim_ksel_cleanup(&fs);
        return copy_out(rc, arr, items, err);
    }
}

static void watch_listener(void *ud, const struct sim_kevent *ev)
{
    struct sim_kube_watch *w = ud;
    if (ev->res == w->r)
        w->fn(w->ud, sim_kev_name(ev->type), ev->obj);
}

int sim_kube_watch(struct sim_kube *k, const char *resource, sim_kube_watch_fn fn, void *ud,
                   struct sim_kube_watch **out, struct core_err *err)
{
    struct sim_kube_watch *w;
    struct sim_kres *r;
    int rc = res_or_fail(k, resource, &r, err);

    if (rc)
        return rc;
    w = core_calloc(1, sizeof *w);
    if (!w)
        return nomem(err);
    w->k = k;
    w->r = r;
    w->fn = fn;
    w->ud = ud;
    if (sim_kube_listen(k, watch_listener, w, &w->l) != 0) {
        core_free(w);
        return nomem(err);
    }
    w->next = k->watches;
    k->watches = w;
    *out = w;
    return 0;
}

void sim_kube_unwatch(struct sim_kube_watch *w)
{
    struct sim_kube_watch **pp;

    if (!w)
        return;
    sim_kube_unlisten(w->k, w->l);
    for (pp = &w->k->watches; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    core_free(w);
}
