/*
 * k8s/informer.c — a local store of one resource kept in step with the API server by list and
 * watch, with secondary indexes and change handlers.
 *
 * The state machine:
 *
 *     IDLE --start--> LISTING --list ok: diff into the store, synced--> WATCHING
 *     LISTING --list failed--> BACKOFF (then LISTING)
 *     WATCHING --event--> apply to the store in arrival order (BOOKMARK: remember its
 *                         resourceVersion only), stay WATCHING
 *     WATCHING --normal end (server timeoutSeconds)--> WATCHING again, from the last
 *                         resourceVersion seen (an event's or a bookmark's)
 *     WATCHING --410 Expired/Gone--> LISTING (relist, then diff: objects missing from the new
 *                         list are DELETED, changed ones MODIFIED, new ones ADDED)
 *     WATCHING --other error--> BACKOFF (then WATCHING from the last resourceVersion)
 *     WATCHING --an event could not be applied (out of memory)--> BACKOFF (then LISTING: the
 *                         store may have missed a change, only a list can repair it)
 *     any --stop--> IDLE (no handler or error callback runs after stop)
 *     any --CORE_E_CANCELLED (k8s_client_free)--> reported once, then IDLE: no retry on a
 *                         client that is going away. The client must outlive the informer.
 *
 * Backoff starts at backoff_base and doubles up to backoff_cap; it resets when a watch proves
 * the cycle healthy (it delivered an event, or ended normally after running a while). Guards
 * against hot loops: a watch that ends "normally" at once without a single event, or a 410 from
 * a watch that delivered nothing, counts as a failure, so a misbehaving server or proxy meets
 * the backoff instead of a request storm.
 *
 * Invariants:
 *  - resourceVersions are opaque: they are only passed back to the server and compared for
 *    equality (a relisted object whose resourceVersion equals the stored one has not changed),
 *    never ordered. Events are applied in the order they arrive.
 *  - The store maps "ns/name" (or "name" for cluster-scoped resources) to an entry holding the
 *    value (the decode hook's result; the JSON object itself only when there is no hook, so the
 *    raw JSON is never kept beside a decoded value), the object's resourceVersion and, per
 *    index, the index values it is filed under with its position in each set.
 *  - An index is a core_map from index value to a set (array) of entries; an entry records its
 *    slot in each set so removal is O(1) by swapping the last element in. A set is freed when
 *    it becomes empty.
 *  - A change is applied all-or-nothing: everything that can fail (decode, index keys, copies,
 *    set capacity, the store slot) is prepared first; the commit cannot fail. Handlers run after
 *    the commit, for every change, in order (add: old NULL; delete: value NULL); an old value
 *    is freed only after the handlers saw it.
 *  - A decode (or index function) failure keeps the object out of the store, removing any
 *    previous version with a delete notification, reports the key through on_error, counts in
 *    stats.decode_errors, and the informer goes on. Objects without metadata.name (or
 *    metadata.namespace for namespaced resources) are reported the same way with key NULL.
 *    CORE_E_NOMEM from a decode hook or an index function is not the object's fault: it is
 *    treated like any allocation failure while applying (nothing changes, relist after the
 *    backoff), so memory pressure never silently drops an object.
 *  - Index functions allocate their keys with core_malloc/core_strdup (the informer frees them
 *    with core_free); on error they free what they allocated themselves. Up to
 *    INF_MAX_INDEX_KEYS (16) keys per value; NULL and duplicate keys are ignored.
 *  - Values: with a decode hook and no free_value, stored values are never freed (the hook's
 *    owner owns them); without a decode hook they are JSON objects released with json_decref.
 *  - Failures of the cycle itself (list or watch errors) are reported to on_error with key
 *    NULL before the backoff; a 410 is not a failure and is not reported.
 *  - Re-entrancy: handlers and on_error may call k8s_informer_stop and k8s_informer_free; the
 *    free is deferred until the informer's own callback unwinds (busy counter). Indexes and
 *    handlers can only be added before the first start.
 *  - k8s_list cannot be cancelled, so a list in flight holds a small ticket instead of the
 *    informer; stop detaches the ticket and the answer, when it comes, is dropped.
 */
#include "k8s/internal.h"

#include <stdio.h>
#include <string.h>

#define INF_DEFAULT_PAGE 500u
#define INF_DEFAULT_TIMEOUT 300u
#define INF_DEFAULT_BACKOFF_BASE (500 * CORE_NS_PER_MS)
#define INF_DEFAULT_BACKOFF_CAP (30 * CORE_NS_PER_S)
/* Index values one stored value may be filed under, per index. */
#define INF_MAX_INDEX_KEYS 16
/* "namespace/name": namespaces are at most 63 bytes and names 253. */
#define INF_KEY_MAX 512
/* A watch that ends normally sooner than this without any event was not a success. */
#define INF_SHORT_WATCH (1 * CORE_NS_PER_S)

enum inf_state { INF_IDLE = 0, INF_LISTING, INF_WATCHING, INF_BACKOFF };

struct entry;

struct keyset {
    struct entry **v;
    size_t n, cap;
};

struct ikey {
    char *val;           /* the index value (owned) */
    struct keyset *set;  /* the set filed under it */
    size_t pos;          /* this entry's slot in set->v */
};

struct ikeys {
    struct ikey *k;
    size_t n;
};

struct entry {
    char *key;
    void *value;
    char *rv;           /* the object's resourceVersion; NULL if it had none */
    unsigned long gen;  /* the list generation that last saw it */
    struct ikeys *ix;   /* [nindexes]; NULL when there are no indexes */
};

struct handler {
    k8s_handler_fn fn;
    void *ud;
};

struct index {
    char *name;
    k8s_index_fn fn;
    struct core_map *sets; /* index value -> struct keyset * */
};

struct list_ticket {
    struct k8s_informer *inf; /* NULL once the informer stopped caring */
};

struct k8s_informer {
    struct k8s_client *c;
    struct core_loop *loop;
    const struct k8s_resource *res;
    char *ns, *label, *field;
    unsigned page_limit, watch_timeout;
    size_t max_event;
    core_ns backoff_base, backoff_cap;
    k8s_decode_fn decode;
    k8s_value_free_fn free_value;
    void *decode_ud;
    k8s_informer_error_fn on_error;
    void *error_ud;
    char what[96];

    struct handler *handlers;
    size_t nhandlers;
    struct index *indexes;
    size_t nindexes;
    struct core_map *store; /* key -> struct entry * */

    enum inf_state state;
    int started;       /* between start and stop */
    int ever_started;
    int synced;
    char *rv;          /* where the next watch starts */
    int next_is_list;  /* what the backoff timer starts */
    unsigned failures;
    unsigned long gen;
    struct list_ticket *ticket;
    struct k8s_watch *watch;
    int watch_progress;
    core_ns watch_started;
    struct core_timer *timer;
    unsigned busy;
    int free_pending;
    struct k8s_informer_stats stats;
};

static int begin_list(struct k8s_informer *inf, struct core_err *err);
static int begin_watch(struct k8s_informer *inf, struct core_err *err);
static void fail_cycle(struct k8s_informer *inf, int rc, const struct core_err *err, int relist);
static void release(struct k8s_informer *inf);

/* ---- small helpers ----------------------------------------------------------------------------- */

static const char *obj_rv(const json_t *obj)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                             "resourceVersion"));
}

static void value_free(struct k8s_informer *inf, void *value)
{
    if (!value)
        return;
    if (!inf->decode)
        json_decref(value);
    else if (inf->free_value)
        inf->free_value(value);
}

static void ikeys_free(struct ikeys *ik)
{
    if (!ik)
        return;
    for (size_t j = 0; j < ik->n; j++)
        core_free(ik->k[j].val);
    core_free(ik->k);
    ik->k = NULL;
    ik->n = 0;
}

static void ix_free(struct k8s_informer *inf, struct ikeys *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < inf->nindexes; i++)
        ikeys_free(&ix[i]);
    core_free(ix);
}

static void report(struct k8s_informer *inf, const char *key, const struct core_err *err)
{
    if (inf->on_error && inf->started)
        inf->on_error(inf->error_ud, key, err);
}

static void notify(struct k8s_informer *inf, const char *key, const void *old, const void *value)
{
    for (size_t i = 0; i < inf->nhandlers && inf->started; i++)
        inf->handlers[i].fn(inf->handlers[i].ud, key, old, value);
}

/* Writes the store key of obj. CORE_E_PARSE for objects that cannot be keyed. */
static int object_key(const struct k8s_informer *inf, const json_t *obj, char *key,
                      size_t keysz, struct core_err *err)
{
    const json_t *meta = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    int n;

    if (!name || !*name)
        return core_err_set(err, CORE_E_PARSE, "%s: object without metadata.name", inf->what);
    if (inf->res->namespaced && (!ns || !*ns))
        return core_err_set(err, CORE_E_PARSE, "%s %.253s: object without metadata.namespace",
                            inf->what, name);
    if (inf->res->namespaced)
        n = snprintf(key, keysz, "%s/%s", ns, name);
    else
        n = snprintf(key, keysz, "%s", name);
    if (n < 0 || (size_t)n >= keysz)
        return core_err_set(err, CORE_E_PARSE, "%s: metadata.name or namespace too long",
                            inf->what);
    return 0;
}

/* ---- index sets -------------------------------------------------------------------------------- */

/* Takes the entry filed as ik out of its set; the entry moved into its slot learns its new
 * position. The set itself stays (see set_release_if_empty). */
static void set_remove(size_t i, struct ikey *ik)
{
    struct keyset *s = ik->set;
    struct entry *moved;

    s->n--;
    if (ik->pos == s->n)
        return;
    moved = s->v[s->n];
    s->v[ik->pos] = moved;
    for (size_t j = 0; j < moved->ix[i].n; j++)
        if (moved->ix[i].k[j].set == s) {
            moved->ix[i].k[j].pos = ik->pos;
            break;
        }
}

/* Frees the set of ik if nothing is filed under it any more. */
static void set_release_if_empty(struct k8s_informer *inf, size_t i, struct ikey *ik)
{
    struct keyset *s = ik->set;

    if (!s || s->n > 0)
        return;
    core_map_del(inf->indexes[i].sets, ik->val);
    core_free(s->v);
    core_free(s);
    ik->set = NULL;
}

/* Finds or creates the set for every new index value and makes room for one more entry, so
 * the commit cannot fail. On failure the sets it created are gone again. */
static int sets_prepare(struct k8s_informer *inf, struct ikeys *nix)
{
    for (size_t i = 0; i < inf->nindexes; i++) {
        for (size_t j = 0; j < nix[i].n; j++) {
            struct ikey *ik = &nix[i].k[j];
            struct keyset *s = core_map_get(inf->indexes[i].sets, ik->val, NULL);
            if (!s) {
                s = core_calloc(1, sizeof *s);
                if (!s)
                    return CORE_E_NOMEM;
                if (core_map_set(inf->indexes[i].sets, ik->val, s, NULL) != 0) {
                    core_free(s);
                    return CORE_E_NOMEM;
                }
            }
            ik->set = s;
            if (s->n == s->cap) {
                size_t ncap = s->cap ? s->cap * 2 : 4;
                struct entry **nv = core_realloc(s->v, ncap * sizeof *nv);
                if (!nv)
                    return CORE_E_NOMEM;
                s->v = nv;
                s->cap = ncap;
            }
        }
    }
    return 0;
}

static void sets_rollback(struct k8s_informer *inf, struct ikeys *nix)
{
    if (!nix)
        return;
    for (size_t i = 0; i < inf->nindexes; i++)
        for (size_t j = 0; j < nix[i].n; j++)
            set_release_if_empty(inf, i, &nix[i].k[j]);
}

/* Computes the index values of a value for every index, without duplicates. *out is NULL when
 * there are no indexes. CORE_E_PARSE when an index function fails. */
static int index_values(struct k8s_informer *inf, const void *value, const char *key,
                        struct ikeys **out, struct core_err *err)
{
    struct ikeys *ix = NULL;
    char *keys[INF_MAX_INDEX_KEYS];
    int rc = 0;

    *out = NULL;
    if (inf->nindexes == 0)
        return 0;
    ix = core_calloc(inf->nindexes, sizeof *ix);
    if (!ix)
        return core_err_set(err, CORE_E_NOMEM, "%s %s: out of memory", inf->what, key);
    for (size_t i = 0; i < inf->nindexes && rc == 0; i++) {
        int n;
        memset(keys, 0, sizeof keys);
        n = inf->indexes[i].fn(value, keys, INF_MAX_INDEX_KEYS);
        if (n == CORE_E_NOMEM) {
            rc = core_err_set(err, CORE_E_NOMEM, "%s %s: index %s: out of memory", inf->what,
                              key, inf->indexes[i].name);
            break;
        }
        if (n < 0 || n > INF_MAX_INDEX_KEYS) {
            rc = core_err_set(err, CORE_E_PARSE, "%s %s: index %s failed (%d)", inf->what, key,
                              inf->indexes[i].name, n);
            break;
        }
        if (n > 0) {
            ix[i].k = core_calloc((size_t)n, sizeof *ix[i].k);
            if (!ix[i].k)
                rc = core_err_set(err, CORE_E_NOMEM, "%s %s: out of memory", inf->what, key);
        }
        /* Take every key (the informer owns them now), dropping NULLs and duplicates. */
        for (int j = 0; j < n; j++) {
            int dup = !keys[j];
            for (size_t k = 0; k < ix[i].n && !dup; k++)
                dup = strcmp(ix[i].k[k].val, keys[j]) == 0;
            if (rc || dup) {
                core_free(keys[j]);
                continue;
            }
            ix[i].k[ix[i].n++].val = keys[j];
        }
    }
    if (rc) {
        ix_free(inf, ix);
        return rc;
    }
    *out = ix;
    return 0;
}

/* ---- store changes ----------------------------------------------------------------------------- */

static void entry_free(struct k8s_informer *inf, struct entry *e)
{
    if (!e)
        return;
    value_free(inf, e->value);
    ix_free(inf, e->ix);
    core_free(e->rv);
    core_free(e->key);
    core_free(e);
}

/* Takes e out of every index set; frees sets that become empty. */
static void entry_unindex(struct k8s_informer *inf, struct entry *e)
{
    if (!e->ix)
        return;
    for (size_t i = 0; i < inf->nindexes; i++)
        for (size_t j = 0; j < e->ix[i].n; j++)
            set_remove(i, &e->ix[i].k[j]);
    for (size_t i = 0; i < inf->nindexes; i++)
        for (size_t j = 0; j < e->ix[i].n; j++)
            set_release_if_empty(inf, i, &e->ix[i].k[j]);
}

/* Removes an entry from the store and the indexes, tells the handlers, frees it. Cannot fail. */
static void entry_delete(struct k8s_informer *inf, struct entry *e)
{
    core_map_del(inf->store, e->key);
    entry_unindex(inf, e);
    notify(inf, e->key, e->value, NULL);
    entry_free(inf, e);
}

/* A decode or index failure: report it, and drop any stored version. */
static void decode_failed(struct k8s_informer *inf, const char *key, struct core_err *derr)
{
    struct entry *e = key ? core_map_get(inf->store, key, NULL) : NULL;

    inf->stats.decode_errors++;
    if (e)
        entry_delete(inf, e);
    report(inf, key, derr);
}

/* Adds or replaces the object obj (borrowed). from_list: part of a (re)list, where an object
 * whose resourceVersion equals the stored one is unchanged and left alone. Returns 0 (also for
 * objects reported as undecodable) or CORE_E_NOMEM, in which case nothing changed. */
static int store_upsert(struct k8s_informer *inf, const json_t *obj, int from_list,
                        struct core_err *err)
{
    char key[INF_KEY_MAX];
    struct core_err derr;
    struct entry *e, *ne = NULL;
    struct ikeys *nix = NULL, *oix;
    const char *orv = obj_rv(obj);
    char *nrv = NULL;
    void *value = NULL, *old;
    int rc;

    core_err_clear(&derr);
    if (!json_is_object(obj)) {
        core_err_set(&derr, CORE_E_PARSE, "%s: an item is not a JSON object", inf->what);
        decode_failed(inf, NULL, &derr);
        return 0;
    }
    if (object_key(inf, obj, key, sizeof key, &derr) != 0) {
        decode_failed(inf, NULL, &derr);
        return 0;
    }
    e = core_map_get(inf->store, key, NULL);
    if (from_list && e) {
        e->gen = inf->gen;
        if (e->rv && orv && strcmp(e->rv, orv) == 0)
            return 0;
    }
    if (inf->decode) {
        rc = inf->decode(inf->decode_ud, obj, &value, &derr);
        if (rc == CORE_E_NOMEM) {
            /* Not the object's fault: the change is not applied and the caller resyncs. */
            return core_err_set(err, rc, "%s %s: out of memory decoding", inf->what, key);
        }
        if (rc) {
            if (derr.code == 0)
                core_err_set(&derr, rc < 0 ? rc : CORE_E_PARSE, "decode failed");
            core_err_prefix(&derr, "%s %s", inf->what, key);
            decode_failed(inf, key, &derr);
            return 0;
        }
    } else {
        value = json_incref((json_t *)obj);
    }
    rc = index_values(inf, value, key, &nix, &derr);
    if (rc == CORE_E_PARSE) {
        value_free(inf, value);
        decode_failed(inf, key, &derr);
        return 0;
    }
    if (rc) {
        if (err)
            *err = derr;
        goto fail;
    }
    if (orv) {
        nrv = core_strdup(orv);
        if (!nrv)
            goto nomem;
    }
    if (!e) {
        ne = core_calloc(1, sizeof *ne);
        if (!ne || !(ne->key = core_strdup(key)))
            goto nomem;
    }
    if (sets_prepare(inf, nix) != 0)
        goto nomem;
    if (ne && core_map_set(inf->store, key, ne, NULL) != 0)
        goto nomem;

    /* The commit: nothing below can fail. */
    if (ne) {
        ne->value = value;
        ne->rv = nrv;
        ne->gen = inf->gen;
        ne->ix = nix;
        for (size_t i = 0; i < inf->nindexes; i++)
            for (size_t j = 0; j < nix[i].n; j++) {
                struct keyset *s = nix[i].k[j].set;
                nix[i].k[j].pos = s->n;
                s->v[s->n++] = ne;
            }
        notify(inf, ne->key, NULL, ne->value);
        return 0;
    }
    oix = e->ix;
    if (oix)
        for (size_t i = 0; i < inf->nindexes; i++)
            for (size_t j = 0; j < oix[i].n; j++)
                set_remove(i, &oix[i].k[j]);
    e->ix = nix;
    for (size_t i = 0; i < inf->nindexes; i++)
        for (size_t j = 0; j < nix[i].n; j++) {
            struct keyset *s = nix[i].k[j].set;
            nix[i].k[j].pos = s->n;
            s->v[s->n++] = e;
        }
    if (oix)
        for (size_t i = 0; i < inf->nindexes; i++)
            for (size_t j = 0; j < oix[i].n; j++)
                set_release_if_empty(inf, i, &oix[i].k[j]);
    ix_free(inf, oix);
    old = e->value;
    e->value = value;
    core_free(e->rv);
    e->rv = nrv;
    e->gen = inf->gen;
    notify(inf, e->key, old, e->value);
    value_free(inf, old);
    return 0;
nomem:
    rc = core_err_set(err, CORE_E_NOMEM, "%s %s: out of memory applying a change", inf->what,
                      key);
fail:
    sets_rollback(inf, nix);
    ix_free(inf, nix);
    value_free(inf, value);
    core_free(nrv);
    if (ne) {
        core_free(ne->key);
        core_free(ne);
    }
    return rc;
}

static int set_rv(struct k8s_informer *inf, const char *rv, struct core_err *err)
{
    char *n;

    if (!rv || !*rv || (inf->rv && strcmp(inf->rv, rv) == 0))
        return 0;
    n = core_strdup(rv);
    if (!n)
        return core_err_set(err, CORE_E_NOMEM, "%s: out of memory keeping the resourceVersion",
                            inf->what);
    core_free(inf->rv);
    inf->rv = n;
    return 0;
}

/* Loads a List answer: every item added or updated, then everything not in it deleted. */
static int apply_list(struct k8s_informer *inf, const json_t *list, struct core_err *err)
{
    const char *rv = obj_rv(list);
    const json_t *items = json_object_get(list, "items");
    const char *key;
    char *nrv;
    void *val;
    size_t it = 0;
    int rc;

    if (!rv || !*rv)
        return core_err_set(err, CORE_E_PARSE, "%s: the list has no metadata.resourceVersion",
                            inf->what);
    if (items && !json_is_array(items) && !json_is_null(items))
        return core_err_set(err, CORE_E_PARSE, "%s: the list's items is not an array",
                            inf->what);
    nrv = core_strdup(rv);
    if (!nrv)
        return core_err_set(err, CORE_E_NOMEM, "%s: out of memory", inf->what);
    inf->gen++;
    for (size_t i = 0; i < json_array_size(items); i++) {
        rc = store_upsert(inf, json_array_get(items, i), 1, err);
        if (rc || !inf->started) {
            core_free(nrv);
            return rc;
        }
    }
    while (inf->started && core_map_next(inf->store, &it, &key, &val)) {
        struct entry *e = val;
        if (e->gen != inf->gen)
            entry_delete(inf, e);
    }
    core_free(inf->rv);
    inf->rv = nrv;
    return 0;
}

/* Applies one watch event. Undecodable objects are reported, not fatal; CORE_E_NOMEM means the
 * store may have missed this change. */
static int apply_event(struct k8s_informer *inf, enum k8s_event_type type, const json_t *obj,
                       struct core_err *err)
{
    char key[INF_KEY_MAX];
    struct core_err kerr;
    struct entry *e;
    int rc = 0;

    switch (type) {
    case K8S_ADDED:
    case K8S_MODIFIED:
        inf->stats.events++;
        rc = store_upsert(inf, obj, 0, err);
        break;
    case K8S_DELETED:
        inf->stats.events++;
        core_err_clear(&kerr);
        if (object_key(inf, obj, key, sizeof key, &kerr) != 0) {
            decode_failed(inf, NULL, &kerr);
            break;
        }
        e = core_map_get(inf->store, key, NULL);
        if (e)
            entry_delete(inf, e);
        break;
    case K8S_BOOKMARK:
    case K8S_ERROR:
        break;
    }
    if (rc == 0)
        rc = set_rv(inf, obj_rv(obj), err);
    return rc;
}

/* ---- the cycle --------------------------------------------------------------------------------- */

/* Called at the end of every callback from the loop: completes a free asked for inside it. */
static void unbusy(struct k8s_informer *inf)
{
    inf->busy--;
    if (inf->busy == 0 && inf->free_pending)
        release(inf);
}

static core_ns backoff_delay(const struct k8s_informer *inf)
{
    core_ns d = inf->backoff_base;

    for (unsigned i = 1; i < inf->failures && d < inf->backoff_cap; i++)
        d = d > inf->backoff_cap / 2 ? inf->backoff_cap : d * 2;
    return d < inf->backoff_cap ? d : inf->backoff_cap;
}

static void on_backoff(void *ud)
{
    struct k8s_informer *inf = ud;
    struct core_err err;
    int rc;

    inf->timer = NULL;
    inf->busy++;
    core_err_clear(&err);
    rc = inf->next_is_list ? begin_list(inf, &err) : begin_watch(inf, &err);
    if (rc)
        fail_cycle(inf, rc, &err, inf->next_is_list);
    unbusy(inf);
}

/* Tries again after the backoff: a list when relist is set or there is no resourceVersion to
 * watch from, else a watch. */
static void retry_later(struct k8s_informer *inf, int relist)
{
    struct core_err e;

    if (!inf->started)
        return;
    if (inf->failures < 64)
        inf->failures++;
    inf->next_is_list = relist || !inf->rv;
    inf->state = INF_BACKOFF;
    inf->timer = core_loop_timer_add(inf->loop, backoff_delay(inf), on_backoff, inf);
    if (!inf->timer) {
        /* Nothing would ever wake the informer again: say so and stop. */
        core_err_clear(&e);
        core_err_set(&e, CORE_E_NOMEM, "%s: cannot schedule a retry; the informer stopped",
                     inf->what);
        report(inf, NULL, &e);
        k8s_informer_stop(inf);
    }
}

/* A failed step: report it (key NULL), then retry after the backoff. CORE_E_CANCELLED means
 * the client is shutting down (k8s_client_free completes everything with it): retrying would
 * touch a client about to be freed, so the informer stops instead. */
static void fail_cycle(struct k8s_informer *inf, int rc, const struct core_err *err, int relist)
{
    struct core_err e;

    if (!inf->started)
        return;
    if (err && err->code) {
        e = *err;
    } else {
        core_err_clear(&e);
        core_err_set(&e, rc, "%s: %s", inf->what, core_strerror(rc));
    }
    report(inf, NULL, &e);
    if (rc == CORE_E_CANCELLED)
        k8s_informer_stop(inf);
    else
        retry_later(inf, relist);
}

static void on_list(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct list_ticket *t = ud;
    struct k8s_informer *inf = t->inf;
    struct core_err e;

    core_free(t);
    if (!inf)
        return; /* stopped or freed meanwhile */
    inf->ticket = NULL;
    inf->busy++;
    core_err_clear(&e);
    if (rc) {
        fail_cycle(inf, rc, err, 1);
    } else {
        rc = apply_list(inf, obj, &e);
        if (rc) {
            /* A partly applied list is still consistent with the handlers; the next list
             * diffs against it. */
            fail_cycle(inf, rc, &e, 1);
        } else if (inf->started) {
            inf->synced = 1;
            rc = begin_watch(inf, &e);
            if (rc)
                fail_cycle(inf, rc, &e, 0);
        }
    }
    unbusy(inf);
}

static int begin_list(struct k8s_informer *inf, struct core_err *err)
{
    struct k8s_list_opts lo;
    struct list_ticket *t = core_calloc(1, sizeof *t);
    int rc;

    if (!t)
        return core_err_set(err, CORE_E_NOMEM, "%s: out of memory", inf->what);
    memset(&lo, 0, sizeof lo);
    lo.label_selector = inf->label;
    lo.field_selector = inf->field;
    lo.limit = inf->page_limit;
    t->inf = inf;
    rc = k8s_list(inf->c, inf->res, inf->ns, &lo, on_list, t, err);
    if (rc) {
        core_free(t);
        return rc;
    }
    inf->ticket = t;
    inf->state = INF_LISTING;
    inf->stats.lists++;
    return 0;
}

static void on_watch_event(void *ud, enum k8s_event_type type, json_t *obj)
{
    struct k8s_informer *inf = ud;
    struct core_err e;
    int rc;

    if (!inf->started)
        return;
    inf->busy++;
    inf->watch_progress = 1;
    inf->failures = 0;
    core_err_clear(&e);
    rc = apply_event(inf, type, obj, &e);
    if (rc && inf->started) {
        /* A change may be lost: only a fresh list can bring the store back in step. */
        k8s_watch_stop(inf->watch);
        inf->watch = NULL;
        fail_cycle(inf, rc, &e, 1);
    }
    unbusy(inf);
}

static void on_watch_done(void *ud, int rc, const struct core_err *err)
{
    struct k8s_informer *inf = ud;
    struct core_err e;
    int progress = inf->watch_progress;

    inf->watch = NULL; /* it frees itself when this returns */
    if (!inf->started)
        return;
    inf->busy++;
    core_err_clear(&e);
    if (rc == 0) {
        if (progress || core_loop_now(inf->loop) - inf->watch_started >= INF_SHORT_WATCH) {
            inf->failures = 0;
            rc = begin_watch(inf, &e);
            if (rc)
                fail_cycle(inf, rc, &e, 0);
        } else {
            core_err_set(&e, CORE_E_TRANSPORT, "%s: the watch ended at once without events",
                         inf->what);
            fail_cycle(inf, e.code, &e, 0);
        }
    } else if (rc == CORE_E_STATE && err && err->http_status == 410) {
        /* Our resourceVersion left the server's history: what happened since is unknown. */
        inf->stats.relists++;
        if (progress) {
            rc = begin_list(inf, &e);
            if (rc)
                fail_cycle(inf, rc, &e, 1);
        } else {
            retry_later(inf, 1);
        }
    } else {
        fail_cycle(inf, rc, err, 0);
    }
    unbusy(inf);
}

static int begin_watch(struct k8s_informer *inf, struct core_err *err)
{
    struct k8s_watch_opts wo;
    int rc;

    memset(&wo, 0, sizeof wo);
    wo.resource_version = inf->rv;
    wo.label_selector = inf->label;
    wo.field_selector = inf->field;
    wo.timeout_seconds = inf->watch_timeout;
    wo.max_event = inf->max_event;
    rc = k8s_watch_start(inf->c, inf->res, inf->ns, &wo, on_watch_event, on_watch_done, inf,
                         &inf->watch, err);
    if (rc)
        return rc;
    inf->state = INF_WATCHING;
    inf->watch_progress = 0;
    inf->watch_started = core_loop_now(inf->loop);
    inf->stats.watches++;
    return 0;
}

/* ---- public interface -------------------------------------------------------------------------- */

static int dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    *out = core_strdup(s);
    return *out ? 0 : CORE_E_NOMEM;
}

int k8s_informer_new(struct k8s_client *c, const struct k8s_resource *res,
                     const struct k8s_informer_opts *opts, struct k8s_informer **out,
                     struct core_err *err)
{
    static const struct k8s_informer_opts defaults;
    struct k8s_informer *inf = NULL;
    int rc = 0;

    if (!c || !res || !out)
        return core_err_set(err, CORE_E_INVAL, "informer: client, resource and out are required");
    if (!opts)
        opts = &defaults;
    inf = core_calloc(1, sizeof *inf);
    if (!inf)
        return core_err_set(err, CORE_E_NOMEM, "informer %s: out of memory", res->plural);
    inf->c = c;
    inf->loop = k8s_client_loop(c);
    inf->res = res;
    inf->page_limit = opts->page_limit ? opts->page_limit : INF_DEFAULT_PAGE;
    inf->watch_timeout = opts->watch_timeout ? opts->watch_timeout : INF_DEFAULT_TIMEOUT;
    inf->max_event = opts->max_event ? opts->max_event : K8S_WATCH_DEFAULT_MAX_EVENT;
    inf->backoff_base = opts->backoff_base > 0 ? opts->backoff_base : INF_DEFAULT_BACKOFF_BASE;
    inf->backoff_cap = opts->backoff_cap > 0 ? opts->backoff_cap : INF_DEFAULT_BACKOFF_CAP;
    if (inf->backoff_cap < inf->backoff_base)
        inf->backoff_cap = inf->backoff_base;
    inf->decode = opts->decode;
    inf->free_value = opts->free_value;
    inf->decode_ud = opts->decode_ud;
    inf->on_error = opts->on_error;
    inf->error_ud = opts->error_ud;
    snprintf(inf->what, sizeof inf->what, "informer %s%s%s", res->plural,
             res->group && *res->group ? "." : "", res->group ? res->group : "");
    if (res->namespaced)
        rc = dup_opt(opts->ns, &inf->ns);
    if (rc == 0)
        rc = dup_opt(opts->label_selector, &inf->label);
    if (rc == 0)
        rc = dup_opt(opts->field_selector, &inf->field);
    inf->store = core_map_new();
    if (rc || !inf->store) {
        release(inf);
        return core_err_set(err, CORE_E_NOMEM, "informer %s: out of memory", res->plural);
    }
    *out = inf;
    return 0;
}

static void release(struct k8s_informer *inf)
{
    const char *key;
    void *val;
    size_t it = 0;

    if (inf->store) {
        while (core_map_next(inf->store, &it, &key, &val))
            entry_free(inf, val);
        core_map_free(inf->store);
    }
    for (size_t i = 0; i < inf->nindexes; i++) {
        it = 0;
        while (core_map_next(inf->indexes[i].sets, &it, &key, &val)) {
            struct keyset *s = val;
            core_free(s->v);
            core_free(s);
        }
        core_map_free(inf->indexes[i].sets);
        core_free(inf->indexes[i].name);
    }
    core_free(inf->indexes);
    core_free(inf->handlers);
    core_free(inf->ns);
    core_free(inf->label);
    core_free(inf->field);
    core_free(inf->rv);
    core_free(inf);
}

void k8s_informer_free(struct k8s_informer *inf)
{
    if (!inf)
        return;
    k8s_informer_stop(inf);
    if (inf->busy) {
        inf->free_pending = 1;
        return;
    }
    release(inf);
}

int k8s_informer_add_handler(struct k8s_informer *inf, k8s_handler_fn fn, void *ud)
{
    struct handler *nh;

    if (!inf || !fn)
        return CORE_E_INVAL;
    if (inf->ever_started)
        return CORE_E_STATE;
    nh = core_realloc(inf->handlers, (inf->nhandlers + 1) * sizeof *nh);
    if (!nh)
        return CORE_E_NOMEM;
    inf->handlers = nh;
    nh[inf->nhandlers].fn = fn;
    nh[inf->nhandlers].ud = ud;
    inf->nhandlers++;
    return 0;
}

int k8s_informer_add_index(struct k8s_informer *inf, const char *name, k8s_index_fn fn)
{
    struct index *ni;
    struct core_map *sets;
    char *n;

    if (!inf || !name || !*name || !fn)
        return CORE_E_INVAL;
    /* Entries record their index values per index: the set of indexes is fixed at start. */
    if (inf->ever_started)
        return CORE_E_STATE;
    for (size_t i = 0; i < inf->nindexes; i++)
        if (strcmp(inf->indexes[i].name, name) == 0)
            return CORE_E_INVAL;
    ni = core_realloc(inf->indexes, (inf->nindexes + 1) * sizeof *ni);
    if (!ni)
        return CORE_E_NOMEM;
    inf->indexes = ni;
    n = core_strdup(name);
    sets = core_map_new();
    if (!n || !sets) {
        core_free(n);
        core_map_free(sets);
        return CORE_E_NOMEM;
    }
    ni[inf->nindexes].name = n;
    ni[inf->nindexes].fn = fn;
    ni[inf->nindexes].sets = sets;
    inf->nindexes++;
    return 0;
}

int k8s_informer_start(struct k8s_informer *inf, struct core_err *err)
{
    int rc;

    if (!inf)
        return core_err_set(err, CORE_E_INVAL, "informer: NULL");
    if (inf->started || inf->free_pending)
        return core_err_set(err, CORE_E_STATE, "%s: already started", inf->what);
    inf->started = 1;
    inf->failures = 0;
    rc = begin_list(inf, err);
    if (rc) {
        inf->started = 0;
        return rc;
    }
    inf->ever_started = 1;
    return 0;
}

void k8s_informer_stop(struct k8s_informer *inf)
{
    if (!inf)
        return;
    inf->started = 0;
    inf->state = INF_IDLE;
    if (inf->watch) {
        k8s_watch_stop(inf->watch);
        inf->watch = NULL;
    }
    if (inf->timer) {
        core_loop_timer_cancel(inf->loop, inf->timer);
        inf->timer = NULL;
    }
    if (inf->ticket) {
        inf->ticket->inf = NULL;
        inf->ticket = NULL;
    }
}

int k8s_informer_synced(const struct k8s_informer *inf)
{
    return inf && inf->synced;
}

const void *k8s_informer_get(const struct k8s_informer *inf, const char *key)
{
    const struct entry *e = inf && key ? core_map_get(inf->store, key, NULL) : NULL;
    return e ? e->value : NULL;
}

size_t k8s_informer_len(const struct k8s_informer *inf)
{
    return inf ? core_map_len(inf->store) : 0;
}

int k8s_informer_next(const struct k8s_informer *inf, size_t *iter, const char **key,
                      const void **value)
{
    const char *k;
    void *v;

    if (!inf || !iter || !core_map_next(inf->store, iter, &k, &v))
        return 0;
    if (key)
        *key = k;
    if (value)
        *value = ((const struct entry *)v)->value;
    return 1;
}

int k8s_informer_index_next(const struct k8s_informer *inf, const char *index, const char *value,
                            size_t *iter, const char **key, const void **stored)
{
    const struct keyset *s = NULL;
    const struct entry *e;

    if (!inf || !index || !value || !iter)
        return 0;
    for (size_t i = 0; i < inf->nindexes; i++)
        if (strcmp(inf->indexes[i].name, index) == 0) {
            s = core_map_get(inf->indexes[i].sets, value, NULL);
            break;
        }
    if (!s || *iter >= s->n)
        return 0;
    e = s->v[(*iter)++];
    if (key)
        *key = e->key;
    if (stored)
        *stored = e->value;
    return 1;
}

void k8s_informer_get_stats(const struct k8s_informer *inf, struct k8s_informer_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (inf)
        *out = inf->stats;
}
