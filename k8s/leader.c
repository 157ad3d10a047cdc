/*
 * k8s/leader.c — Lease-based leader election (coordination.k8s.io/v1).
 *
 * Every retry_period the elector reads the Lease and acts:
 *  - absent → create it with us as holder;
 *  - ours → renew it (PUT with the read resourceVersion, so a concurrent writer wins cleanly);
 *  - someone else's, and unchanged for lease_duration as measured by OUR clock since we first
 *    saw that version of the record → take it over (acquireTime now, leaseTransitions + 1);
 *  - someone else's and fresh, or released (empty holder) → take it at once if released, else
 *    wait.
 * Expiry is judged by local observation, never by comparing the record's renewTime with our
 * wall clock, so clock skew between replicas cannot make two leaders.
 *
 * Invariants:
 *  - on_start runs once per term, on_stop once when it ends (lost, released, or not renewed
 *    within renew_deadline).
 *  - A renewal counts from the moment its request was SENT, and a deadline timer ends the term
 *    at last renewal + renew_deadline even while a request hangs, so the term always ends before
 *    another replica can take over (renew_deadline < lease_duration).
 *  - One request is in flight at a time. A release asked for meanwhile waits for its answer,
 *    then reads the Lease and clears it if it is ours; `done` always runs from the loop.
 *  - When the client completes a request with CORE_E_CANCELLED (it is being freed) the elector
 *    halts: term ended, no timer armed, the client never used again.
 */
#include "k8s/k8s.h"

#include <stdio.h>
#include <string.h>

#define LE_DEFAULT_LEASE (15 * CORE_NS_PER_S)
#define LE_DEFAULT_RENEW (10 * CORE_NS_PER_S)
#define LE_DEFAULT_RETRY (2 * CORE_NS_PER_S)

struct k8s_leader {
    struct k8s_client *c;
    struct core_loop *loop;
    char *ns, *name, *identity;
    struct k8s_leader_opts opts;
    k8s_leader_fn on_start, on_stop;
    void *ud;
    int started, stopped, halted, leading, busy;
    core_ns attempt_start;  /* mono time the write in flight was sent */
    core_ns last_renew;     /* mono time the last successful write was sent */
    char observed_rv[64];   /* the record version last seen */
    core_ns observed_at;    /* mono time it was first seen */
    struct core_timer *timer;    /* next read, or the release's done */
    struct core_timer *deadline; /* ends the term at last_renew + renew_deadline */
    int release_pending;         /* release asked while a request was in flight */
    k8s_leader_fn release_done;
    void *release_ud;
};

static void le_tick(void *ud);
static void le_release_read(struct k8s_leader *l);

static core_ns le_now(const struct k8s_leader *l)
{
    return core_loop_now(l->loop);
}

static void le_cancel_deadline(struct k8s_leader *l)
{
    if (l->deadline) {
        core_loop_timer_cancel(l->loop, l->deadline);
        l->deadline = NULL;
    }
}

static void le_lost(struct k8s_leader *l)
{
    le_cancel_deadline(l);
    if (l->leading) {
        l->leading = 0;
        l->on_stop(l->ud);
    }
}

static void le_schedule(struct k8s_leader *l, core_ns delay)
{
    if (l->stopped || l->timer)
        return;
    l->timer = core_loop_timer_add(l->loop, delay, le_tick, l);
    /* Without a timer the elector cannot go on; a leader must then end its term. */
    if (!l->timer)
        le_lost(l);
}

static void on_deadline(void *ud)
{
    struct k8s_leader *l = ud;
    l->deadline = NULL;
    le_lost(l);
}

static void le_failed(struct k8s_leader *l)
{
    if (l->leading && le_now(l) - l->last_renew >= l->opts.renew_deadline)
        le_lost(l);
    le_schedule(l, l->opts.retry_period);
}

/* A write sent at attempt_start succeeded: the term runs until attempt_start + renew_deadline
 * unless renewed again. */
static void le_won(struct k8s_leader *l)
{
    core_ns left = l->attempt_start + l->opts.renew_deadline - le_now(l);
    if (left <= 0) {
        le_failed(l); /* the answer came too late to count */
        return;
    }
    l->last_renew = l->attempt_start;
    le_cancel_deadline(l);
    l->deadline = core_loop_timer_add(l->loop, left, on_deadline, l);
    if (!l->deadline) {
        le_lost(l);
        le_schedule(l, l->opts.retry_period);
        return;
    }
    if (!l->leading) {
        l->leading = 1;
        l->on_start(l->ud);
    }
    le_schedule(l, l->opts.retry_period);
}

/* The client is going away: end everything without touching it again. */
static void le_halt(struct k8s_leader *l)
{
    k8s_leader_fn done = l->release_done;
    void *dud = l->release_ud;
    l->halted = 1;
    l->stopped = 1;
    if (l->timer) {
        core_loop_timer_cancel(l->loop, l->timer);
        l->timer = NULL;
    }
    le_lost(l);
    if (l->release_pending) {
        l->release_pending = 0;
        l->release_done = NULL;
        if (done)
            done(dud); /* may free l: nothing after this */
    }
}

static json_t *le_record(struct k8s_leader *l, const char *rv, const char *acquire, int transitions,
                         const char *holder, int64_t duration_s)
{
    char now[CORE_TIME_MICRO_LEN];
    json_t *o;
    core_time_rfc3339_micro(core_clock_wall(core_loop_clock(l->loop)), now, sizeof now);
    o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:I, s:s, s:s, s:i}}", "apiVersion",
                  "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", l->name,
                  "namespace", l->ns, "spec", "holderIdentity", holder, "leaseDurationSeconds",
                  (json_int_t)duration_s, "acquireTime", acquire ? acquire : now, "renewTime",
                  now, "leaseTransitions", transitions);
    if (o && rv &&
        json_object_set_new(json_object_get(o, "metadata"), "resourceVersion", json_string(rv))) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

/* Common start of every answer: 1 when the answer must not be acted on. */
static int le_answer_done(struct k8s_leader *l, int rc)
{
    l->busy = 0;
    if (rc == CORE_E_CANCELLED) {
        le_halt(l);
        return 1;
    }
    if (l->release_pending) {
        l->release_pending = 0;
        le_release_read(l);
        return 1;
    }
    return l->stopped;
}

static void on_write(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct k8s_leader *l = ud;
    (void)obj;
    (void)err;
    if (le_answer_done(l, rc))
        return;
    if (rc == 0)
        le_won(l);
    else
        le_failed(l);
}

static void le_write(struct k8s_leader *l, int create, json_t *rec)
{
    struct core_err err;
    int rc;
    if (!rec) {
        le_failed(l);
        return;
    }
    l->busy = 1;
    l->attempt_start = le_now(l); /* the renewal counts from when the write is sent */
    rc = create ? k8s_create(l->c, &k8s_res_leases, l->ns, rec, on_write, l, &err)
                : k8s_update(l->c, &k8s_res_leases, l->ns, l->name, NULL, rec, on_write, l, &err);
    json_decref(rec);
    if (rc) {
        l->busy = 0;
        le_failed(l);
    }
}

static void on_read(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct k8s_leader *l = ud;
    const json_t *spec, *meta;
    const char *holder, *rv, *acquire;
    int transitions;
    int64_t duration_s = (l->opts.lease_duration + CORE_NS_PER_S - 1) / CORE_NS_PER_S;
    core_ns now;

    (void)err;
    if (le_answer_done(l, rc))
        return;
    now = le_now(l);
    if (rc == CORE_E_NOTFOUND) {
        le_write(l, 1, le_record(l, NULL, NULL, 0, l->identity, duration_s));
        return;
    }
    if (rc) {
        le_failed(l);
        return;
    }
    meta = json_object_get(obj, "metadata");
    spec = json_object_get(obj, "spec");
    rv = json_string_value(json_object_get(meta, "resourceVersion"));
    holder = json_string_value(json_object_get(spec, "holderIdentity"));
    acquire = json_string_value(json_object_get(spec, "acquireTime"));
    transitions = (int)json_integer_value(json_object_get(spec, "leaseTransitions"));
    if (!rv) {
        le_failed(l);
        return;
    }
    if (strcmp(rv, l->observed_rv) != 0) {
        core_strlcpy(l->observed_rv, rv, sizeof l->observed_rv);
        l->observed_at = now;
    }
    if (holder && strcmp(holder, l->identity) == 0) {
        le_write(l, 0, le_record(l, rv, acquire, transitions, l->identity, duration_s));
        return;
    }
    /* Someone else's. A record that has not changed for its duration, by our clock, is dead. */
    {
        json_int_t their = json_integer_value(json_object_get(spec, "leaseDurationSeconds"));
        core_ns their_d = their > 0 ? (core_ns)their * CORE_NS_PER_S : l->opts.lease_duration;
        int released = !holder || !*holder;
        le_lost(l);
        if (released || now - l->observed_at >= their_d) {
            le_write(l, 0, le_record(l, rv, NULL, transitions + 1, l->identity, duration_s));
            return;
        }
    }
    le_schedule(l, l->opts.retry_period);
}

static void le_tick(void *ud)
{
    struct k8s_leader *l = ud;
    struct core_err err;
    l->timer = NULL;
    if (l->stopped || l->busy)
        return;
    l->busy = 1;
    if (k8s_get(l->c, &k8s_res_leases, l->ns, l->name, on_read, l, &err) != 0) {
        l->busy = 0;
        le_failed(l);
    }
}

int k8s_leader_new(struct k8s_client *c, const char *ns, const char *name, const char *identity,
                   const struct k8s_leader_opts *opts, k8s_leader_fn on_start,
                   k8s_leader_fn on_stop, void *ud, struct k8s_leader **out, struct core_err *err)
{
    struct k8s_leader *l;
    if (!ns || !name || !identity || !*identity || !on_start || !on_stop)
        return core_err_set(err, CORE_E_INVAL, "leader election: namespace, name, identity and "
                            "both callbacks are required");
    l = core_calloc(1, sizeof *l);
    if (!l)
        return core_err_set(err, CORE_E_NOMEM, "leader election: out of memory");
    l->c = c;
    l->loop = k8s_client_loop(c);
    l->ns = core_strdup(ns);
    l->name = core_strdup(name);
    l->identity = core_strdup(identity);
    if (opts)
        l->opts = *opts;
    if (l->opts.lease_duration <= 0)
        l->opts.lease_duration = LE_DEFAULT_LEASE;
    if (l->opts.renew_deadline <= 0)
        l->opts.renew_deadline = LE_DEFAULT_RENEW;
    if (l->opts.retry_period <= 0)
        l->opts.retry_period = LE_DEFAULT_RETRY;
    l->on_start = on_start;
    l->on_stop = on_stop;
    l->ud = ud;
    if (!l->ns || !l->name || !l->identity) {
        k8s_leader_free(l);
        return core_err_set(err, CORE_E_NOMEM, "leader election: out of memory");
    }
    if (l->opts.renew_deadline >= l->opts.lease_duration ||
        l->opts.retry_period >= l->opts.renew_deadline) {
        k8s_leader_free(l);
        return core_err_set(err, CORE_E_INVAL, "leader election: need retry period < renew "
                            "deadline < lease duration");
    }
    *out = l;
    return 0;
}

int k8s_leader_start(struct k8s_leader *l, struct core_err *err)
{
    if (l->started)
        return core_err_set(err, CORE_E_STATE, "leader election: already started");
    l->started = 1;
    l->timer = core_loop_timer_add(l->loop, 0, le_tick, l);
    if (!l->timer)
        return core_err_set(err, CORE_E_NOMEM, "leader election: out of memory");
    return 0;
}

int k8s_leader_is_leader(const struct k8s_leader *l)
{
    return l->leading;
}

/* Delivers the release's done from the loop. done may free l. */
static void on_done_timer(void *ud)
{
    struct k8s_leader *l = ud;
    k8s_leader_fn done = l->release_done;
    void *dud = l->release_ud;
    l->timer = NULL;
    l->release_done = NULL;
    if (done)
        done(dud);
}

static void le_release_finish(struct k8s_leader *l)
{
    if (l->timer) {
        core_loop_timer_cancel(l->loop, l->timer);
        l->timer = NULL;
    }
    l->timer = core_loop_timer_add(l->loop, 0, on_done_timer, l);
    if (!l->timer)
        on_done_timer(l); /* no memory for a timer: say it now rather than never */
}

static void on_released(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct k8s_leader *l = ud;
    (void)obj;
    (void)err;
    l->busy = 0;
    if (rc == CORE_E_CANCELLED) {
        le_halt(l);
        return;
    }
    le_release_finish(l);
}

static void on_release_read(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct k8s_leader *l = ud;
    const json_t *spec;
    const char *rv, *holder;
    struct core_err e;
    json_t *rec;
    (void)err;
    l->busy = 0;
    if (rc == CORE_E_CANCELLED) {
        le_halt(l);
        return;
    }
    spec = json_object_get(obj, "spec");
    rv = rc ? NULL : json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                        "resourceVersion"));
    holder = rc ? NULL : json_string_value(json_object_get(spec, "holderIdentity"));
    /* Only our own record is cleared, and only if it is still ours. */
    if (!rv || !holder || strcmp(holder, l->identity) != 0 ||
        !(rec = le_record(l, rv, NULL,
                          (int)json_integer_value(json_object_get(spec, "leaseTransitions")), "",
                          1))) {
        le_release_finish(l);
        return;
    }
    l->busy = 1;
    if (k8s_update(l->c, &k8s_res_leases, l->ns, l->name, NULL, rec, on_released, l, &e) != 0) {
        l->busy = 0;
        le_release_finish(l);
    }
    json_decref(rec);
}

static void le_release_read(struct k8s_leader *l)
{
    struct core_err err;
    l->busy = 1;
    if (k8s_get(l->c, &k8s_res_leases, l->ns, l->name, on_release_read, l, &err) != 0) {
        l->busy = 0;
        le_release_finish(l);
    }
}

void k8s_leader_release(struct k8s_leader *l, k8s_leader_fn done, void *ud)
{
    int was_leading = l->leading;

    l->release_done = done;
    l->release_ud = ud;
    if (l->timer) {
        core_loop_timer_cancel(l->loop, l->timer);
        l->timer = NULL;
    }
    if (l->halted) {
        le_release_finish(l);
        return;
    }
    l->stopped = 1;
    le_lost(l);
    if (l->busy) {
        /* The answer in flight may be a successful renewal or take-over: read and clear
         * after it. */
        l->release_pending = 1;
        return;
    }
    if (!was_leading) {
        le_release_finish(l);
        return;
    }
    le_release_read(l);
}

void k8s_leader_free(struct k8s_leader *l)
{
    if (!l)
        return;
    if (l->timer)
        core_loop_timer_cancel(l->loop, l->timer);
    le_cancel_deadline(l);
    core_free(l->ns);
    core_free(l->name);
    core_free(l->identity);
    core_free(l);
}
