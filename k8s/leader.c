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
 * Invariants: on_start runs once per term, on_stop once when the term ends (lost, renewal not
 * achieved within renew_deadline of the last success, or released); a term ends as soon as
 * renewal has failed for renew_deadline, before another replica can take over (renew_deadline
 * < lease_duration); one request is in flight at a time.
 */
#include "k8s/k8s.h"

#include <stdio.h>
#include <string.h>

#define LE_DEFAULT_LEASE (15 * CORE_NS_PER_S)
#define LE_DEFAULT_RENEW (10 * CORE_NS_PER_S)
#define LE_DEFAULT_RETRY (2 * CORE_NS_PER_S)

struct k8s_leader {
    struct k8s_client *c;
    char *ns, *name, *identity;
    struct k8s_leader_opts opts;
    k8s_leader_fn on_start, on_stop;
    void *ud;
    int started, stopped, leading, busy;
    core_ns last_renew;     /* mono time of our last successful write as leader */
    char observed_rv[64];   /* the record version last seen */
    core_ns observed_at;    /* mono time it was first seen */
    struct core_timer *timer;
    k8s_leader_fn release_done;
    void *release_ud;
};

static void le_tick(void *ud);

static core_ns le_now(const struct k8s_leader *l)
{
    return core_loop_now(k8s_client_loop(l->c));
}


static void le_schedule(struct k8s_leader *l, core_ns delay)
{
    if (l->stopped || l->timer)
        return;
    l->timer = core_loop_timer_add(k8s_client_loop(l->c), delay, le_tick, l);
    /* Without a timer the elector cannot go on; as leader that must end the term. */
    if (!l->timer && l->leading) {
        l->leading = 0;
        l->on_stop(l->ud);
    }
}

static void le_lost(struct k8s_leader *l)
{
    if (l->leading) {
        l->leading = 0;
        l->on_stop(l->ud);
    }
}

/* After a failed attempt: a leader whose last renewal is older than renew_deadline stops. */
static void le_failed(struct k8s_leader *l)
{
    if (l->leading && le_now(l) - l->last_renew >= l->opts.renew_deadline)
        le_lost(l);
    le_schedule(l, l->opts.retry_period);
}

static void le_won(struct k8s_leader *l)
{
    l->last_renew = le_now(l);
    if (!l->leading) {
        l->leading = 1;
        l->on_start(l->ud);
    }
}

static json_t *le_record(struct k8s_leader *l, const char *rv, const char *acquire, int transitions,
                         const char *holder, int64_t duration_s)
{
    char now[40];
    json_t *o;
    core_time_rfc3339_micro(core_clock_wall(core_loop_clock(k8s_client_loop(l->c))), now,
                            sizeof now);
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

static void on_write(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct k8s_leader *l = ud;
    (void)obj;
    (void)err;
    l->busy = 0;
    if (l->stopped)
        return;
    if (rc == 0) {
        le_won(l);
        le_schedule(l, l->opts.retry_period);
    } else {
        le_failed(l);
    }
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
    core_ns now = le_now(l);

    (void)err;
    l->busy = 0;
    if (l->stopped)
        return;
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
    l->timer = core_loop_timer_add(k8s_client_loop(l->c), 0, le_tick, l);
    if (!l->timer)
        return core_err_set(err, CORE_E_NOMEM, "leader election: out of memory");
    return 0;
}

int k8s_leader_is_leader(const struct k8s_leader *l)
{
    return l->leading;
}

static void on_released(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct k8s_leader *l = ud;
    (void)rc;
    (void)obj;
    (void)err;
    l->busy = 0;
    if (l->release_done)
        l->release_done(l->release_ud);
}

static void on_release_read(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct k8s_leader *l = ud;
    const char *rv, *holder;
    struct core_err e;
    json_t *rec;
    (void)err;
    l->busy = 0;
    rv = rc ? NULL : json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                        "resourceVersion"));
    holder = rc ? NULL : json_string_value(json_object_get(json_object_get(obj, "spec"),
                                                            "holderIdentity"));
    /* Only our own record is cleared, and only if it is still ours. */
    if (!rv || !holder || strcmp(holder, l->identity) != 0 ||
        !(rec = le_record(l, rv, NULL, (int)json_integer_value(json_object_get(
                                           json_object_get(obj, "spec"), "leaseTransitions")),
                          "", 1))) {
        if (l->release_done)
            l->release_done(l->release_ud);
        return;
    }
    l->busy = 1;
    if (k8s_update(l->c, &k8s_res_leases, l->ns, l->name, NULL, rec, on_released, l, &e) != 0) {
        l->busy = 0;
        if (l->release_done)
            l->release_done(l->release_ud);
    }
    json_decref(rec);
}

void k8s_leader_release(struct k8s_leader *l, k8s_leader_fn done, void *ud)
{
    struct core_err err;
    int was_leading = l->leading;

    l->stopped = 1;
    l->release_done = done;
    l->release_ud = ud;
    if (l->timer) {
        core_loop_timer_cancel(k8s_client_loop(l->c), l->timer);
        l->timer = NULL;
    }
    le_lost(l);
    if (!was_leading || l->busy ||
        k8s_get(l->c, &k8s_res_leases, l->ns, l->name, on_release_read, l, &err) != 0) {
        if (done)
            done(ud);
        return;
    }
    l->busy = 1;
}

void k8s_leader_free(struct k8s_leader *l)
{
    if (!l)
        return;
    if (l->timer)
        core_loop_timer_cancel(k8s_client_loop(l->c), l->timer);
    core_free(l->ns);
    core_free(l->name);
    core_free(l->identity);
    core_free(l);
}
