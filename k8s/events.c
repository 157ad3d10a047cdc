/*
 * k8s/events.c — Kubernetes Events (events.k8s.io/v1), deduplicated and rate limited.
 *
 * An event is identified by (object kind/namespace/name/uid, type, reason, note). The first
 * occurrence creates an Event; later ones while it is remembered raise its series count with
 * a merge patch. Each (object, reason) pair draws from a token bucket (burst 25, one token per
 * 5 minutes, like client-go's spam filter), so a controller stuck in a loop produces a handful
 * of writes, not thousands.
 *
 * Invariants: at most EV_CACHE entries are remembered (the oldest is forgotten first); an entry
 * has at most one write in flight (occurrences meanwhile are folded into the next patch);
 * failures are counted, never returned: events are best effort.
 */
#include "k8s/k8s.h"

#include <stdio.h>
#include <string.h>

#define EV_CACHE 4096u
#define EV_BURST 25.0
#define EV_REFILL_S 300.0
#define EV_NOTE_MAX 1024u

struct ev_entry {
    char *key;          /* dedup key */
    char *spam_key;     /* object + reason */
    char *name;         /* the Event's name once created */
    char *ns;
    unsigned count;     /* occurrences so far */
    unsigned sent;      /* occurrences the API knows of */
    int busy;
    int creating;       /* the write in flight is the create */
    core_ns last;       /* mono time of the last occurrence */
    struct k8s_recorder *r;
    struct ev_entry *older, *newer; /* recency list */
};

struct ev_bucket {
    double tokens;
    core_ns last;
};

struct k8s_recorder {
    struct k8s_client *c;
    char *controller;
    char *instance;
    struct core_map *entries; /* key → ev_entry */
    struct core_map *buckets; /* spam key → ev_bucket */
    size_t prune_at;          /* prune buckets when there are this many (0: 2 × EV_CACHE) */
    struct ev_entry *oldest, *newest;
    unsigned long seq;
    struct k8s_recorder_stats st;
};

int k8s_recorder_new(struct k8s_client *c, const char *component, const char *instance,
                     struct k8s_recorder **out, struct core_err *err)
{
    struct k8s_recorder *r = core_calloc(1, sizeof *r);
    char ctl[160];
    if (!r)
        return core_err_set(err, CORE_E_NOMEM, "events: out of memory");
    snprintf(ctl, sizeof ctl, "stoker.dev/%s", component ? component : "controller");
    r->c = c;
    r->controller = core_strdup(ctl);
    r->instance = core_strdup(instance ? instance : "stoker");
    r->entries = core_map_new();
    r->buckets = core_map_new();
    if (!r->controller || !r->instance || !r->entries || !r->buckets) {
        k8s_recorder_free(r);
        return core_err_set(err, CORE_E_NOMEM, "events: out of memory");
    }
    *out = r;
    return 0;
}

static void entry_unlink(struct k8s_recorder *r, struct ev_entry *e)
{
    if (e->older)
        e->older->newer = e->newer;
    else
        r->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        r->newest = e->older;
    e->older = e->newer = NULL;
}

static void entry_free(struct ev_entry *e)
{
    core_free(e->key);
    core_free(e->spam_key);
    core_free(e->name);
    core_free(e->ns);
    core_free(e);
}

void k8s_recorder_free(struct k8s_recorder *r)
{
    size_t iter = 0;
    void *v;
    if (!r)
        return;
    if (r->entries) {
        while (core_map_next(r->entries, &iter, NULL, &v)) {
            struct ev_entry *e = v;
            if (e->busy)
                e->r = NULL; /* its answer frees it */
            else
                entry_free(e);
        }
        core_map_free(r->entries);
    }
    iter = 0;
    if (r->buckets) {
        while (core_map_next(r->buckets, &iter, NULL, &v))
            core_free(v);
        core_map_free(r->buckets);
    }
    core_free(r->controller);
    core_free(r->instance);
    core_free(r);
}

void k8s_recorder_get_stats(const struct k8s_recorder *r, struct k8s_recorder_stats *out)
{
    *out = r->st;
}

static core_ns rec_now(const struct k8s_recorder *r)
{
    return core_loop_now(k8s_client_loop(r->c));
}


/* Forgets buckets that have refilled completely: they hold nothing a new one would not. Keeps
 * the map bounded however many objects come and go. */
static void spam_prune(struct k8s_recorder *r, core_ns now)
{
    size_t iter = 0;
    const char *key;
    void *v;
    while (core_map_next(r->buckets, &iter, &key, &v)) {
        struct ev_bucket *b = v;
        double t = b->tokens + (double)(now - b->last) / (double)CORE_NS_PER_S / EV_REFILL_S;
        if (t >= EV_BURST) {
            core_free(core_map_del(r->buckets, key));
        }
    }
    /* Buckets refill over minutes: when few could go, walking them all again for the next new
     * key would make a burst of distinct objects quadratic. Prune again only after EV_CACHE
     * more, so the walk is amortised over them. */
    r->prune_at = core_map_len(r->buckets) + EV_CACHE;
    if (r->prune_at < 2 * EV_CACHE)
        r->prune_at = 2 * EV_CACHE;
}

/* Takes a token for (object, reason); 0 when none is left. */
static int spam_allow(struct k8s_recorder *r, const char *key)
{
    struct ev_bucket *b = core_map_get(r->buckets, key, NULL);
    core_ns now = rec_now(r);
    if (!b && core_map_len(r->buckets) >= (r->prune_at ? r->prune_at : 2 * EV_CACHE))
        spam_prune(r, now);
    if (!b) {
        b = core_calloc(1, sizeof *b);
        if (!b || core_map_set(r->buckets, key, b, NULL) != 0) {
            core_free(b);
            return 1; /* no memory to account: let it through rather than lose it */
        }
        b->tokens = EV_BURST;
        b->last = now;
    }
    b->tokens += (double)(now - b->last) / (double)CORE_NS_PER_S / EV_REFILL_S;
    if (b->tokens > EV_BURST)
        b->tokens = EV_BURST;
    b->last = now;
    if (b->tokens < 1.0)
        return 0;
    b->tokens -= 1.0;
    return 1;
}

static void entry_send(struct ev_entry *e);

static void on_written(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct ev_entry *e = ud;
    struct k8s_recorder *r = e->r;
    int creating = e->creating;
    (void)obj;
    (void)err;
    e->busy = 0;
    e->creating = 0;
    if (!r) {
        entry_free(e);
        return;
    }
    if (rc) {
        r->st.failed++;
        /* An Event that was never created, or has vanished, is created again (under a new
         * name) on the next occurrence; a failed patch of a live one is just retried later. */
        if (creating || rc == CORE_E_NOTFOUND) {
            core_free(e->name);
            e->name = NULL;
            e->sent = 0;
        }
        return;
    }
    if (creating)
        r->st.created++;
    else
        r->st.updated++;
    if (e->count > e->sent)
        entry_send(e); /* occurrences that came while the write was in flight */
}

static void entry_send(struct ev_entry *e)
{
    struct k8s_recorder *r = e->r;
    char now[40];
    struct core_err err;
    json_t *patch;
    int rc;

    core_time_rfc3339_micro(core_clock_wall(core_loop_clock(k8s_client_loop(r->c))), now,
                            sizeof now);
    patch = json_pack("{s:{s:i, s:s}}", "series", "count", (int)e->count, "lastObservedTime", now);
    if (!patch) {
        r->st.failed++;
        return;
    }
    e->busy = 1;
    e->sent = e->count;
    rc = k8s_patch(r->c, &k8s_res_events, e->ns, e->name, NULL, K8S_PATCH_MERGE, patch,
                   on_written, e, &err);
    json_decref(patch);
    if (rc) {
        e->busy = 0;
        r->st.failed++;
    }
}

static void entry_forget_oldest(struct k8s_recorder *r)
{
    struct ev_entry *e = r->oldest;
    if (!e)
        return;
    entry_unlink(r, e);
    core_map_del(r->entries, e->key);
    if (e->busy)
        e->r = NULL;
    else
        entry_free(e);
}

/* Cuts s to fit dst without splitting a UTF-8 sequence. */
static void copy_utf8(char *dst, size_t dstsz, const char *s)
{
    size_t n = core_strlcpy(dst, s, dstsz);
    if (n < dstsz)
        return;
    n = strlen(dst);
    /* Drop continuation bytes at the end, then the lead byte they belonged to. */
    while (n > 0 && ((unsigned char)dst[n - 1] & 0xC0) == 0x80)
        n--;
    if (n > 0 && ((unsigned char)dst[n - 1] & 0xC0) == 0xC0)
        n--;
    dst[n] = '\0';
}

/* Creates the Event for an entry under a fresh name. The entry is known to the recorder. */
static void entry_create(struct k8s_recorder *r, struct ev_entry *e,
                         const struct k8s_object_ref *obj, const char *type, const char *reason,
                         const char *note)
{
    char now[CORE_TIME_MICRO_LEN], name[300];
    core_ns wall = core_clock_wall(core_loop_clock(k8s_client_loop(r->c)));
    struct core_err err;
    json_t *ev, *reg;
    int rc = 0;

    snprintf(name, sizeof name, "%.200s.%lx%lx", obj->name,
             (unsigned long)(wall / CORE_NS_PER_MS), ++r->seq);
    core_free(e->name);
    e->name = core_strdup(name);
    if (!e->name) {
        r->st.failed++;
        return;
    }
    core_time_rfc3339_micro(wall, now, sizeof now);
    ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}}",
                   "apiVersion", "events.k8s.io/v1", "kind", "Event", "metadata", "name", name,
                   "namespace", e->ns, "eventTime", now, "reportingController", r->controller,
                   "reportingInstance", r->instance, "action", reason, "reason", reason,
                   "note", note, "type", type, "regarding", "kind", obj->kind, "name", obj->name,
                   "apiVersion", obj->api_version ? obj->api_version : "v1");
    if (!ev) /* invalid UTF-8 somewhere: keep the event, say what happened to the text */
        ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}}",
                       "apiVersion", "events.k8s.io/v1", "kind", "Event", "metadata", "name",
                       name, "namespace", e->ns, "eventTime", now, "reportingController",
                       r->controller, "reportingInstance", r->instance, "action", "Unknown",
                       "reason", "Unknown", "note", "[event text was not valid UTF-8]", "type",
                       type, "regarding", "kind", obj->kind, "name", obj->name, "apiVersion",
                       obj->api_version ? obj->api_version : "v1");
    reg = json_object_get(ev, "regarding");
    if (ev && obj->ns && *obj->ns)
        rc = json_object_set_new(reg, "namespace", json_string(obj->ns));
    if (ev && !rc && obj->uid)
        rc = json_object_set_new(reg, "uid", json_string(obj->uid));
    if (!ev || rc) {
        r->st.failed++;
        json_decref(ev);
        return;
    }
    e->busy = 1;
    e->creating = 1;
    e->sent = e->count;
    if (k8s_create(r->c, &k8s_res_events, e->ns, ev, on_written, e, &err) != 0) {
        e->busy = 0;
        e->creating = 0;
        e->sent = 0;
        r->st.failed++;
    }
    json_decref(ev);
}

static void entry_touch(struct k8s_recorder *r, struct ev_entry *e)
{
    entry_unlink(r, e);
    e->older = r->newest;
    if (r->newest)
        r->newest->newer = e;
    else
        r->oldest = e;
    r->newest = e;
}

void k8s_event(struct k8s_recorder *r, const struct k8s_object_ref *obj, const char *type,
               const char *reason, const char *message)
{
    char note[EV_NOTE_MAX + 1];
    struct core_buf key, spam;
    struct ev_entry *e;
    const char *ns;
    int rc;

    if (!obj || !obj->kind || !obj->name || !type || !reason)
        return;
    ns = obj->ns && *obj->ns ? obj->ns : "default"; /* cluster-scoped objects: "default" */
    copy_utf8(note, sizeof note, message ? message : "");
    core_buf_init(&key, 8192);
    core_buf_init(&spam, 1024);
    rc = core_buf_appendf(&key, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", obj->kind, ns,
                          obj->name, obj->uid ? obj->uid : "", type, reason, note);
    if (!rc)
        rc = core_buf_appendf(&spam, "%s/%s/%s/%s", obj->kind, ns, obj->name, reason);
    if (rc) {
        r->st.failed++;
        goto done;
    }
    if (!spam_allow(r, spam.data)) {
        r->st.dropped++;
        goto done;
    }
    e = core_map_get(r->entries, key.data, NULL);
    if (e) {
        e->count++;
        e->last = rec_now(r);
        entry_touch(r, e);
        if (!e->busy && !e->name)
            entry_create(r, e, obj, type, reason, note);
        else if (!e->busy)
            entry_send(e);
        goto done;
    }
    if (core_map_len(r->entries) >= EV_CACHE)
        entry_forget_oldest(r);
    e = core_calloc(1, sizeof *e);
    if (!e) {
        r->st.failed++;
        goto done;
    }
    e->r = r;
    e->count = 1;
    e->last = rec_now(r);
    e->key = core_strdup(key.data);
    e->spam_key = core_strdup(spam.data);
    e->ns = core_strdup(ns);
    if (!e->key || !e->spam_key || !e->ns || core_map_set(r->entries, e->key, e, NULL) != 0) {
        entry_free(e);
        r->st.failed++;
        goto done;
    }
    e->older = r->newest;
    if (r->newest)
        r->newest->newer = e;
    else
        r->oldest = e;
    r->newest = e;
    entry_create(r, e, obj, type, reason, note);
done:
    core_buf_cleanup(&key);
    core_buf_cleanup(&spam);
}
