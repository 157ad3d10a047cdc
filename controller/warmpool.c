/*
 * controller/warmpool.c — the WarmPool reconciler: keeps each pool's pre-warmed instances at
 * the size prewarm decides, and tells the scheduler which of them are free.
 *
 * One shared snapshot of every warm-pool instance of the cluster (ONE DescribeInstances by the
 * tag key stoker.dev/warm-pool and this cluster's ownership tag), taken every warmpool_interval
 * while some pool is changing (warming, launching, below its floor, failed or stale
 * instances), six times as long while all are settled, and two seconds after any action of
 * ours answers. After each snapshot, and on WarmPool / NodePool / EC2NodeClass changes, every
 * pool is reconciled against that snapshot (no describe per pool): validation (prewarm_validate
 * against its NodePool and the catalog; an AL2023, Ready EC2NodeClass), instance types
 * (prewarm_types), zones (class subnets ∩ spec.zones ∩ the controller's zones), the spec hash,
 * prewarm_plan, its actions (warm-up launch via controller_launch_warmup, terminate via
 * controller_terminate, hibernate via StopInstances Hibernate=true), then the status.
 *
 * Invariants:
 *  - Nothing is written (EC2 or the API) unless controller_may_act(); a follower keeps no
 *    snapshot and plans nothing.
 *  - A launch issued here counts in its pool (as a warming instance in zone) from the moment
 *    it is issued until the snapshot shows the instance (or WP_SEEN_WAIT passes), so a
 *    reconcile that runs before the next snapshot does not launch again. Likewise an instance
 *    being terminated is left out of the plan, and one being hibernated counts as stopping,
 *    until the snapshot shows the change, so none is acted on twice.
 *  - Each decision is logged once: when a pool's plan summary changes, and per action.
 *  - The status is merge-patched only when the document differs from the one last written
 *    (the Ready condition keeps its lastTransitionTime while status and reason stay).
 *  - launch.c calls never answer after controller_free: their contexts live on a list owned
 *    here and are freed by _cleanup. EC2 and Kubernetes calls made here use the tracked-op
 *    pattern.
 *  - Instances of a WarmPool that no longer exists (unclaimed, older than orphan_grace, made
 *    by a warm-up launch: they carry stoker.dev/warm-pool-hash) and
 *    claimed instances whose NodeClaim has been missing for orphan_grace are terminated, but
 *    only while the WarmPool and NodeClaim informers are synced.
 *  - controller_warmpool_free hands out one allocation holding its strings (see internal.h):
 *    the scheduler's batch owns it, whatever snapshot comes next.
 *  - An instance is paired at most once: one named by a NodeClaim's warm annotation, or
 *    reserved by provision.c for a NodeClaim being created (controller_warmpool_reserve, until
 *    the informer shows that NodeClaim or CONTROLLER_WARM_RESERVE_TTL passes), is never in the
 *    free list and counts as CLAIMED in its pool's plan whatever the snapshot says.
 *  - Nothing is terminated or hibernated from a snapshot sent before the last pairing of that
 *    pool (describe sequence numbers, not times: two events of one virtual instant stay
 *    ordered); such actions wait for the next snapshot, asked for at once.
 *  - The spec hash takes stable inputs only (spec_hash); current offerings shape the launch
 *    overrides and the zones a refill may use, never what is current. A capacity error in a
 *    zone takes that zone out (offerings marked by launch.c, plus a short per-zone hold);
 *    only other failures back the whole pool off.
 *  - A new leadership term starts from nothing of the previous one: no snapshot, no status
 *    last written, no launches / terminations / backoffs in flight (controller_warmpool_resync).
 *  - Pools are keyed by name and uid: a WarmPool deleted and created again starts afresh.
 */
#include "controller/internal.h"
#include "prewarm/prewarm.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "warmpool"
#define S_ ((core_ns)CORE_NS_PER_S)
#define WP_INTERVAL_DEFAULT (10 * S_)
#define WP_IDLE_FACTOR 6
#define WP_DEBOUNCE (2 * S_)
#define WP_SEEN_WAIT (180 * S_)   /* how long an answered action waits for the snapshot */
#define WP_BACKOFF_MIN (30 * S_)  /* a pool whose warm-up launch failed */
#define WP_BACKOFF_MAX (600 * S_)
#define WP_DEFAULT_GRACE (300 * S_)
#define WP_MAX_TYPES 20u
#define WP_CLAIM_CHANGING (300 * S_) /* a claimed, not running instance keeps polling busy */
#define WP_ID_MAX 32u
#define WP_NAME_MAX 254u
#define WP_API_VERSION K8S_GROUP "/" K8S_GROUP_VERSION

/* ------------------------------------------------------------------------------------------ */
/* State                                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* One instance of the snapshot (owned copies). */
struct wp_inst {
    char *id, *type, *zone, *image, *state, *pool, *nodeclaim, *hash;
    int hibernated;
    core_ns created, launch_time;
};

struct wp_snap {
    struct wp_inst *v;
    size_t n;
    struct core_map *ids; /* id -> struct wp_inst * */
    unsigned long seq;    /* the describe's issue number (W->describe_seq when it was sent) */
};

/* A warm instance the scheduler paired with a NodeClaim whose create is in flight or not yet
 * seen by the informer (controller_warmpool_reserve). */
struct wp_resv {
    char nodeclaim[WP_NAME_MAX];
    core_ns at;           /* monotonic */
};

/* A warm-up launch issued here that the snapshot does not show yet. */
struct wp_launch {
    unsigned long seq;
    char zone[64];
    char id[WP_ID_MAX];   /* "" while in flight */
    char placeholder[WP_ID_MAX];
    core_ns since;        /* monotonic: issued, then answered */
    core_ns wall;         /* issued (the synthetic instance's age) */
};

/* An instance being terminated or hibernated here, until the snapshot shows the change. */
struct wp_busy {
    char id[WP_ID_MAX];
    enum prewarm_action_kind kind;
    int done;
    core_ns since;
};

struct wp_pool {
    char name[WP_NAME_MAX];
    char uid[128];        /* the WarmPool's; another uid under the same name = a new pool */
    char nodepool[WP_NAME_MAX];
    unsigned long paired_seq; /* W->describe_seq at the last pairing of one of its instances:
                                 only a snapshot issued after it may terminate / hibernate */
    struct wp_launch *launches;
    size_t nlaunches, caplaunches;
    struct wp_busy *busy;
    size_t nbusy, capbusy;
    char **free_ids;
    size_t nfree;
    int64_t count[PREWARM_PHASES];
    int64_t min, max;
    double idle;
    int changing;
    unsigned long launches_total, terminations_total, hibernations_total;
    core_ns backoff_until, backoff; /* warm-up launches failing for other than capacity */
    struct wp_hold {
        char zone[64];
        core_ns until;                /* monotonic */
    } holds[8];                       /* zones whose warm-up launch lacked capacity just now */
    char summary[PREWARM_REASON_MAX];
    char invalid[64 + PREWARM_REASON_MAX]; /* the problem last logged / sent as an Event */
    char *last_status;                     /* the status document last written */
    int cond_known, cond_true;
    char cond_reason[64];
    core_ns cond_ltt;
};

enum wp_call_kind { CALL_LAUNCH = 1, CALL_TERMINATE };

/* A launch.c call in flight. */
struct wp_call {
    struct wp_call *prev, *next;
    enum wp_call_kind kind;
    char pool[WP_NAME_MAX];
    char id[WP_ID_MAX];
    unsigned long seq;
    int orphan;           /* a termination of the orphan sweep (no pool bookkeeping) */
};

struct controller_warmpool {
    struct core_wq *wq;
    struct core_map *pools;    /* name -> struct wp_pool * */
    struct wp_snap *snap;      /* NULL until a describe answered while leading */
    struct core_timer *timer;
    core_ns timer_due;
    int describing, again;
    struct wp_call *calls;
    struct core_map *orphans;  /* id -> core_ns * (monotonic: first seen claimed, no NodeClaim) */
    struct core_map *undecoded; /* name -> char * (the decoder's message): WarmPools in the API
                                   that do not decode; their instances are not orphans */
    struct core_map *reserved;  /* id -> struct wp_resv * (controller_warmpool_reserve) */
    struct core_map *claim_seen; /* id -> core_ns * (monotonic: first seen claimed and not
                                    running; for `changing`) */
    unsigned long seq;
    unsigned long describe_seq; /* describes issued (the in-flight one's number) */
    unsigned long epoch;        /* leadership terms: a describe of an earlier term is dropped */
};

static void snap_schedule(struct controller *c, core_ns delay);
static void invalid_write(struct controller *c, const char *key, const char *m);
static int claims_map(struct controller *c, struct core_map *out);

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */
/* ------------------------------------------------------------------------------------------ */

static core_ns busy_interval(const struct controller *c)
{
    return c->opts.warmpool_interval > 0 ? c->opts.warmpool_interval : WP_INTERVAL_DEFAULT;
}

static core_ns orphan_grace(const struct controller *c)
{
    return c->opts.orphan_grace > 0 ? c->opts.orphan_grace : WP_DEFAULT_GRACE;
}

static void enqueue(struct controller *c, const char *name)
{
    if (core_wq_add(c->warmpool->wq, name) != 0)
        controller_log(c, CORE_LOG_WARN, COMP, name, "enqueue failed", (const char *)NULL);
}

static void enqueue_all(struct controller *c)
{
    size_t it = 0;
    const char *key;
    const void *v;
    while (c->warmpools && k8s_informer_next(c->warmpools, &it, &key, &v))
        enqueue(c, key);
}

static const char *tag_value(const struct aws_ec2_instance *in, const char *key)
{
    for (size_t i = 0; i < in->tags.n; i++)
        if (in->tags.v[i].key && strcmp(in->tags.v[i].key, key) == 0)
            return in->tags.v[i].value ? in->tags.v[i].value : "";
    return NULL;
}

static int gone_state(const char *st)
{
    return !st || strcmp(st, "shutting-down") == 0 || strcmp(st, "terminated") == 0;
}


/* ------------------------------------------------------------------------------------------ */
/* Snapshot                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static void inst_cleanup(struct wp_inst *w)
{
    core_free(w->id);
    core_free(w->type);
    core_free(w->zone);
    core_free(w->image);
    core_free(w->state);
    core_free(w->pool);
    core_free(w->nodeclaim);
    core_free(w->hash);
}

static void snap_free(struct wp_snap *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        inst_cleanup(&s->v[i]);
    core_free(s->v);
    core_map_free(s->ids);
    core_free(s);
}

static int dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = core_strdup(src);
    return *dst ? 0 : CORE_E_NOMEM;
}

static int snap_build(const struct aws_ec2_instances *res, struct wp_snap **out)
{
    struct wp_snap *s = core_calloc(1, sizeof(*s));
    int rc = 0;
    if (!s || !(s->ids = core_map_new()) ||
        (res->n && !(s->v = core_calloc(res->n, sizeof(*s->v))))) {
        snap_free(s);
        return CORE_E_NOMEM;
    }
    for (size_t i = 0; !rc && i < res->n; i++) {
        const struct aws_ec2_instance *in = &res->v[i];
        const char *pool = tag_value(in, CONTROLLER_TAG_WARM_POOL);
        const char *since = tag_value(in, CONTROLLER_TAG_WARM_SINCE);
        struct wp_inst *w = &s->v[s->n];
        core_ns created = 0;
        if (!in->instance_id || !pool || !*pool || core_map_get(s->ids, in->instance_id, NULL))
            continue;
        memset(w, 0, sizeof(*w));
        s->n++;
        if ((rc = dup_opt(&w->id, in->instance_id)) != 0 ||
            (rc = dup_opt(&w->type, in->instance_type ? in->instance_type : "")) != 0 ||
            (rc = dup_opt(&w->zone, in->availability_zone ? in->availability_zone : "")) != 0 ||
            (rc = dup_opt(&w->image, in->image_id)) != 0 ||
            (rc = dup_opt(&w->state, in->state_name ? in->state_name : "unknown")) != 0 ||
            (rc = dup_opt(&w->pool, pool)) != 0 ||
            (rc = dup_opt(&w->nodeclaim, tag_value(in, CONTROLLER_TAG_NODECLAIM))) != 0 ||
            (rc = dup_opt(&w->hash, tag_value(in, CONTROLLER_TAG_WARM_POOL_HASH))) != 0)
            break;
        if (since && core_time_parse_rfc3339(since, &created) != 0)
            created = 0;
        w->created = created;
        w->launch_time = in->launch_time;
        w->hibernated = in->state_reason_code && strstr(in->state_reason_code, "Hibernate");
    }
    for (size_t i = 0; !rc && i < s->n; i++)
        rc = core_map_set(s->ids, s->v[i].id, &s->v[i], NULL);
    if (rc) {
        snap_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static const struct wp_inst *snap_find(const struct controller_warmpool *W, const char *id)
{
    return W->snap && id ? core_map_get(W->snap->ids, id, NULL) : NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Pools                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static void free_ids_clear(struct wp_pool *p)
{
    for (size_t i = 0; i < p->nfree; i++)
        core_free(p->free_ids[i]);
    core_free(p->free_ids);
    p->free_ids = NULL;
    p->nfree = 0;
}

static void pool_free(struct wp_pool *p)
{
    if (!p)
        return;
    free_ids_clear(p);
    core_free(p->launches);
    core_free(p->busy);
    core_free(p->last_status);
    core_free(p);
}

static struct wp_pool *pool_find(struct controller *c, const char *name)
{
    return c->warmpool ? core_map_get(c->warmpool->pools, name, NULL) : NULL;
}

static void pool_drop(struct controller *c, const char *name);

static struct wp_pool *pool_get(struct controller *c, const char *name,
                                const struct k8s_warmpool *wp)
{
    struct wp_pool *p = pool_find(c, name);
    const char *uid = wp->meta.uid ? wp->meta.uid : "";
    const struct k8s_condition *k;
    if (p && (!p->uid[0] || !*uid || strcmp(p->uid, uid) == 0)) {
        if (!p->uid[0])
            core_strlcpy(p->uid, uid, sizeof(p->uid));
        return p;
    }
    if (p) /* deleted and created again under the same name: nothing of the old one holds */
        pool_drop(c, name);
    if (strlen(name) >= WP_NAME_MAX || !(p = core_calloc(1, sizeof(*p))))
        return NULL;
    core_strlcpy(p->name, name, sizeof(p->name));
    core_strlcpy(p->uid, uid, sizeof(p->uid));
    /* The condition as the API has it: a restart keeps its lastTransitionTime. */
    k = k8s_condition_find(wp->conditions, wp->nconditions, "Ready");
    if (k && k->reason && k->has_last_transition_time) {
        p->cond_known = 1;
        p->cond_true = k->status == K8S_COND_TRUE;
        core_strlcpy(p->cond_reason, k->reason, sizeof(p->cond_reason));
        p->cond_ltt = k->last_transition_time;
    }
    if (core_map_set(c->warmpool->pools, p->name, p, NULL) != 0) {
        pool_free(p);
        return NULL;
    }
    return p;
}

static void pool_drop(struct controller *c, const char *name)
{
    pool_free(core_map_del(c->warmpool->pools, name));
}

static int launch_add(struct wp_pool *p, struct wp_launch **out)
{
    if (p->nlaunches == p->caplaunches) {
        size_t n = p->caplaunches ? p->caplaunches * 2 : 8;
        struct wp_launch *v = core_realloc(p->launches, n * sizeof(*v));
        if (!v)
            return CORE_E_NOMEM;
        p->launches = v;
        p->caplaunches = n;
    }
    *out = &p->launches[p->nlaunches++];
    memset(*out, 0, sizeof(**out));
    return 0;
}

static void launch_del(struct wp_pool *p, size_t i)
{
    p->launches[i] = p->launches[--p->nlaunches];
}

static int busy_add(struct wp_pool *p, const char *id, enum prewarm_action_kind kind,
                    core_ns now)
{
    if (p->nbusy == p->capbusy) {
        size_t n = p->capbusy ? p->capbusy * 2 : 8;
        struct wp_busy *v = core_realloc(p->busy, n * sizeof(*v));
        if (!v)
            return CORE_E_NOMEM;
        p->busy = v;
        p->capbusy = n;
    }
    memset(&p->busy[p->nbusy], 0, sizeof(p->busy[0]));
    core_strlcpy(p->busy[p->nbusy].id, id, sizeof(p->busy[0].id));
    p->busy[p->nbusy].kind = kind;
    p->busy[p->nbusy].since = now;
    p->nbusy++;
    return 0;
}

static struct wp_busy *busy_find(struct wp_pool *p, const char *id)
{
    for (size_t i = 0; i < p->nbusy; i++)
        if (strcmp(p->busy[i].id, id) == 0)
            return &p->busy[i];
    return NULL;
}

static void busy_del_id(struct wp_pool *p, const char *id)
{
    for (size_t i = 0; i < p->nbusy; i++)
        if (strcmp(p->busy[i].id, id) == 0) {
            p->busy[i] = p->busy[--p->nbusy];
            return;
        }
}

/* Drops what the snapshot now shows (or what waited too long for it). */
static void pool_settle(struct controller *c, struct wp_pool *p)
{
    struct controller_warmpool *W = c->warmpool;
    core_ns now = controller_now(c);
    for (size_t i = 0; i < p->nlaunches;) {
        struct wp_launch *l = &p->launches[i];
        if (l->id[0] && (snap_find(W, l->id) || now - l->since > WP_SEEN_WAIT))
            launch_del(p, i);
        else
            i++;
    }
    for (size_t i = 0; i < p->nbusy;) {
        struct wp_busy *b = &p->busy[i];
        const struct wp_inst *in = snap_find(W, b->id);
        int seen = b->done && (b->kind == PREWARM_TERMINATE ? !in || gone_state(in->state)
                                                            : in && in->state &&
                                                                  strcmp(in->state, "stopped") == 0);
        if (seen || now - b->since > WP_SEEN_WAIT)
            p->busy[i] = p->busy[--p->nbusy];
        else
            i++;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* launch.c calls                                                                              */
/* ------------------------------------------------------------------------------------------ */

static struct wp_call *call_new(struct controller *c, enum wp_call_kind kind, const char *pool)
{
    struct controller_warmpool *W = c->warmpool;
    struct wp_call *k = core_calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    k->kind = kind;
    core_strlcpy(k->pool, pool ? pool : "", sizeof(k->pool));
    k->next = W->calls;
    if (k->next)
        k->next->prev = k;
    W->calls = k;
    return k;
}

static void call_free(struct controller *c, struct wp_call *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else if (c && c->warmpool && c->warmpool->calls == k)
        c->warmpool->calls = k->next;
    if (k->next)
        k->next->prev = k->prev;
    core_free(k);
}

/* A warm-up launch failed for other than capacity (or was refused at once): the whole pool
 * waits, doubling from WP_BACKOFF_MIN to WP_BACKOFF_MAX. */
static void backoff_bump(struct wp_pool *p, core_ns now)
{
    p->backoff = p->backoff ? p->backoff * 2 : WP_BACKOFF_MIN;
    if (p->backoff > WP_BACKOFF_MAX)
        p->backoff = WP_BACKOFF_MAX;
    p->backoff_until = now + p->backoff;
}

/* A warm-up launch in zone found no capacity: that zone only is left out for WP_BACKOFF_MIN
 * (launch.c has marked the offerings, which the zone filter also sees; this covers an answer
 * that named no zone), the pool's other zones refill meanwhile. */
static void zone_hold(struct wp_pool *p, const char *zone, core_ns now)
{
    size_t slot = 0;
    for (size_t i = 0; i < sizeof(p->holds) / sizeof(p->holds[0]); i++) {
        if (strcmp(p->holds[i].zone, zone) == 0) {
            slot = i;
            break;
        }
        if (p->holds[i].until < p->holds[slot].until)
            slot = i; /* the oldest hold is overwritten when all are taken */
    }
    core_strlcpy(p->holds[slot].zone, zone, sizeof(p->holds[slot].zone));
    p->holds[slot].until = now + WP_BACKOFF_MIN;
}

static int zone_held(const struct wp_pool *p, const char *zone, core_ns now)
{
    for (size_t i = 0; i < sizeof(p->holds) / sizeof(p->holds[0]); i++)
        if (p->holds[i].until > now && strcmp(p->holds[i].zone, zone) == 0)
            return 1;
    return 0;
}

static void launched(struct controller *c, void *ud, int rc,
                     const struct controller_launch_result *res, const struct core_err *err)
{
    struct wp_call *k = ud;
    struct wp_pool *p;
    core_ns now;
    if (!c->warmpool) {
        call_free(c, k);
        return;
    }
    now = controller_now(c);
    p = pool_find(c, k->pool);
    for (size_t i = 0; p && i < p->nlaunches; i++) {
        struct wp_launch *l = &p->launches[i];
        if (l->seq != k->seq)
            continue;
        if (rc == 0 && res && res->instance_id[0]) {
            core_strlcpy(l->id, res->instance_id, sizeof(l->id));
            l->since = now;
            p->launches_total++;
            p->backoff = 0;
        } else if (rc == CORE_E_SERVICE && err && aws_error_is_capacity(err->service_code)) {
            zone_hold(p, l->zone, now);
            controller_log(c, CORE_LOG_WARN, COMP, k->pool,
                           "warm-up launch found no capacity: zone left out for now", "zone",
                           l->zone, "error", err->message, (const char *)NULL);
            launch_del(p, i);
        } else {
            launch_del(p, i);
            backoff_bump(p, now);
            controller_log(c, CORE_LOG_WARN, COMP, k->pool, "warm-up launch failed: backing off",
                           "error", err ? err->message : core_strerror(rc), (const char *)NULL);
        }
        break;
    }
    if (p)
        enqueue(c, p->name);
    call_free(c, k);
    snap_schedule(c, WP_DEBOUNCE);
}

static void terminated(struct controller *c, void *ud, int rc, const struct core_err *err)
{
    struct wp_call *k = ud;
    struct wp_pool *p;
    if (!c->warmpool) {
        call_free(c, k);
        return;
    }
    p = k->orphan ? NULL : pool_find(c, k->pool);
    /* warm_terminations counts the pools' own decisions (scale-in, rotation, failed
     * warm-ups); the orphan sweep's count with the other orphans (orphans_terminated). */
    if (rc == 0 && k->orphan)
        c->stats.orphans_terminated++;
    else if (rc == 0)
        c->stats.warm_terminations++;
    if (p) {
        struct wp_busy *b = busy_find(p, k->id);
        if (rc == 0) {
            p->terminations_total++;
            if (b) {
                b->done = 1;
                b->since = controller_now(c);
            }
        } else {
            busy_del_id(p, k->id);
            controller_log(c, CORE_LOG_WARN, COMP, k->pool, "terminate failed", "instance",
                           k->id, "error", err ? err->message : core_strerror(rc),
                           (const char *)NULL);
        }
        enqueue(c, p->name);
    }
    call_free(c, k);
    snap_schedule(c, WP_DEBOUNCE);
}

static int terminate(struct controller *c, const char *pool, const char *id, int orphan)
{
    struct wp_call *k = call_new(c, CALL_TERMINATE, pool);
    struct core_err err;
    if (!k)
        return CORE_E_NOMEM;
    core_strlcpy(k->id, id, sizeof(k->id));
    k->orphan = orphan;
    core_err_clear(&err);
    if (controller_terminate(c, id, terminated, k, &err) != 0) {
        controller_log(c, CORE_LOG_WARN, COMP, pool, "terminate failed", "instance", id,
                       "error", err.message, (const char *)NULL);
        call_free(c, k);
        return CORE_E_STATE;
    }
    return 0;
}

/* ---- hibernation (StopInstances Hibernate=true) ---- */

struct wp_stop {
    struct controller_op op; /* first */
    char pool[WP_NAME_MAX];
    char id[WP_ID_MAX];
};

static void stopped(void *ud, int rc, const struct aws_ec2_state_changes *res,
                    const struct core_err *err)
{
    struct wp_stop *x = ud;
    struct controller *c = controller_op_finish(&x->op);
    struct wp_pool *p;
    (void)res;
    if (!c || !c->warmpool) {
        core_free(x);
        return;
    }
    p = pool_find(c, x->pool);
    if (p) {
        struct wp_busy *b = busy_find(p, x->id);
        if (rc == 0) {
            p->hibernations_total++;
            if (b) {
                b->done = 1;
                b->since = controller_now(c);
            }
        } else {
            busy_del_id(p, x->id);
        }
        enqueue(c, p->name);
    }
    controller_log(c, rc ? CORE_LOG_WARN : CORE_LOG_INFO, COMP, x->pool,
                   rc ? "hibernate failed" : "hibernating", "instance", x->id, "error",
                   rc && err ? err->message : "", (const char *)NULL);
    core_free(x);
    snap_schedule(c, WP_DEBOUNCE);
}

static int hibernate(struct controller *c, const char *pool, const char *id)
{
    struct wp_stop *x = core_calloc(1, sizeof(*x));
    struct aws_ec2_stop_instances_req req;
    const char *ids[1];
    struct core_err err;
    if (!x)
        return CORE_E_NOMEM;
    core_strlcpy(x->pool, pool, sizeof(x->pool));
    core_strlcpy(x->id, id, sizeof(x->id));
    ids[0] = x->id;
    memset(&req, 0, sizeof(req));
    req.instance_ids = ids;
    req.ninstance_ids = 1;
    req.hibernate = 1;
    controller_op_track(c, &x->op);
    controller_count_ec2(c);
    core_err_clear(&err);
    if (aws_ec2_stop_instances(c->aws, &req, stopped, x, &err) != 0) {
        (void)controller_op_finish(&x->op);
        core_free(x);
        return CORE_E_STATE;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Status                                                                                      */
/* ------------------------------------------------------------------------------------------ */

struct wp_patch {
    struct controller_op op; /* first */
    char pool[WP_NAME_MAX];
};

static void patched(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct wp_patch *x = ud;
    struct controller *c = controller_op_finish(&x->op);
    (void)obj;
    if (c && rc) {
        struct wp_pool *p = pool_find(c, x->pool);
        controller_log(c, CORE_LOG_WARN, COMP, x->pool, "status write failed", "error",
                       err ? err->message : core_strerror(rc), (const char *)NULL);
        if (p) {
            /* Written again on the next reconcile. */
            core_free(p->last_status);
            p->last_status = NULL;
        }
    }
    core_free(x);
}

/* Decides the Ready condition (keeping its transition time while status and reason stay). */
static json_t *ready_condition(struct controller *c, struct wp_pool *p,
                               const struct k8s_warmpool *wp, int ok, const char *reason,
                               const char *message)
{
    char ltt[64];
    if (!p->cond_known || p->cond_true != ok || strcmp(p->cond_reason, reason) != 0) {
        p->cond_known = 1;
        p->cond_true = ok;
        core_strlcpy(p->cond_reason, reason, sizeof(p->cond_reason));
        p->cond_ltt = controller_wall(c);
    }
    core_time_rfc3339(p->cond_ltt, ltt, sizeof(ltt));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "type", "Ready", "status",
                     ok ? "True" : "False", "reason", reason, "message", message ? message : "",
                     "lastTransitionTime", ltt, "observedGeneration",
                     (json_int_t)wp->meta.generation);
}

/* Merge-patches status (taken) unless it equals the document last written. */
static void status_write(struct controller *c, struct wp_pool *p, json_t *status)
{
    json_t *doc = status ? json_pack("{s:o}", "status", status) : NULL;
    struct wp_patch *x = NULL;
    struct core_err err;
    char *text;

    if (!doc)
        return;
    text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text || (p->last_status && strcmp(p->last_status, text) == 0) ||
        !controller_may_act(c) || !(x = core_calloc(1, sizeof(*x)))) {
        free(text); /* jansson's allocator */
        json_decref(doc);
        return;
    }
    core_free(p->last_status);
    p->last_status = core_strdup(text);
    free(text);
    core_strlcpy(x->pool, p->name, sizeof(x->pool));
    controller_op_track(c, &x->op);
    core_err_clear(&err);
    if (k8s_patch(c->k8s, &k8s_res_warmpools, NULL, p->name, "status", K8S_PATCH_MERGE, doc,
                  patched, x, &err) != 0) {
        (void)controller_op_finish(&x->op);
        core_free(x);
        core_free(p->last_status);
        p->last_status = NULL;
    }
    json_decref(doc);
}

/* The pool cannot be planned: Ready False with reason/message, a Warning Event once per
 * distinct problem (event = 0 for transient states such as a class not Ready yet), nothing
 * launched. Counts are kept from the last plan. */
static void pool_invalid(struct controller *c, struct wp_pool *p, const struct k8s_warmpool *wp,
                         const char *reason, const char *message, int event)
{
    char seen[sizeof(p->invalid)];
    json_t *st;
    snprintf(seen, sizeof(seen), "%s: %s", reason, message);
    if (strcmp(seen, p->invalid) != 0) {
        core_strlcpy(p->invalid, seen, sizeof(p->invalid));
        controller_log(c, CORE_LOG_WARN, COMP, p->name, "warm pool not usable", "reason", reason,
                       "message", message, (const char *)NULL);
        if (event) {
            struct k8s_object_ref ref;
            memset(&ref, 0, sizeof(ref));
            ref.api_version = WP_API_VERSION;
            ref.kind = "WarmPool";
            ref.name = wp->meta.name;
            ref.uid = wp->meta.uid;
            controller_event(c, &ref, "Warning", reason, message);
        }
    }
    free_ids_clear(p);
    p->changing = 0;
    st = json_pack("{s:[o]}", "conditions", ready_condition(c, p, wp, 0, reason, message));
    status_write(c, p, st);
}

/* ------------------------------------------------------------------------------------------ */
/* Reconcile one pool                                                                          */
/* ------------------------------------------------------------------------------------------ */

/* hex SHA-256 (first 16 hex) of what a new warm instance of the pool is made from — stable
 * inputs only: the EC2NodeClass's and the NodePool's uid and generation, the pool's state,
 * prewarm images / hydrateRootVolume / timeout, spec.instanceTypes as written and podShape.
 * Never the type list filtered by current offerings: one capacity error would change it, turn
 * the whole pool STALE mid-burst and rotate it, then flip back. A NodePool that stops
 * admitting an instance's type makes that instance stale another way (reconcile). */
static int spec_hash(const struct k8s_warmpool *wp, const struct k8s_ec2nodeclass *cls,
                     const struct k8s_nodepool *np, char out[17])
{
    json_t *o = json_object(), *imgs, *tys, *shape;
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    char *text = NULL;
    int rc = CORE_E_NOMEM;
    if (!o || json_object_set_new(o, "images", json_array()) ||
        json_object_set_new(o, "instanceTypes", json_array()) ||
        json_object_set_new(o, "podShape", json_object()))
        goto done;
    imgs = json_object_get(o, "images");
    tys = json_object_get(o, "instanceTypes");
    shape = json_object_get(o, "podShape");
    for (size_t i = 0; i < wp->prewarm_images.n; i++)
        if (json_array_append_new(imgs, json_string(wp->prewarm_images.v[i])))
            goto done;
    for (size_t i = 0; i < wp->instance_types.n; i++)
        if (json_array_append_new(tys, json_string(wp->instance_types.v[i])))
            goto done;
    for (size_t i = 0; i < wp->pod_shape.n; i++)
        if (wp->pod_shape.v[i].name &&
            json_object_set_new(shape, wp->pod_shape.v[i].name,
                                json_integer((json_int_t)wp->pod_shape.v[i].milli)))
            goto done;
    if (json_object_set_new(o, "classUid", json_string(cls->meta.uid ? cls->meta.uid : "")) ||
        json_object_set_new(o, "classGeneration", json_integer(cls->meta.generation)) ||
        json_object_set_new(o, "nodePoolUid", json_string(np->meta.uid ? np->meta.uid : "")) ||
        json_object_set_new(o, "nodePoolGeneration", json_integer(np->meta.generation)) ||
        json_object_set_new(o, "state", json_integer((json_int_t)wp->state)) ||
        json_object_set_new(o, "hydrateRootVolume", json_boolean(wp->hydrate_root_volume)) ||
        json_object_set_new(o, "timeout", json_integer(wp->prewarm_timeout)))
        goto done;
    if (!(text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)))
        goto done;
    if (EVP_Digest(text, strlen(text), d, &dlen, EVP_sha256(), NULL) != 1 || dlen < 8) {
        rc = CORE_E_UNSUPPORTED;
        goto done;
    }
    for (size_t i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    rc = 0;
done:
    free(text);
    json_decref(o);
    return rc;
}

static int str_in(const char *s, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] && strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

static int64_t pool_nodes(const struct controller *c, const char *nodepool)
{
    size_t it = 0;
    const char *k;
    const void *v;
    int64_t n = 0;
    while (c->nodes && nodepool &&
           k8s_informer_index_next(c->nodes, CONTROLLER_IDX_POOL, nodepool, &it, &k, &v))
        n++;
    return n;
}

static int64_t root_gib(const struct k8s_ec2nodeclass *cls)
{
    for (size_t i = 0; i < cls->nblock_devices; i++)
        if (cls->block_devices[i].root_volume || cls->nblock_devices == 1)
            return (cls->block_devices[i].ebs.volume_size + ((int64_t)1 << 30) - 1) >> 30;
    return 20;
}

struct wp_ctx {
    const struct launcher_itype **types;
    size_t ntypes;
    const char *zones[LAUNCHER_MAX_ZONES];
    size_t nzones;
    const char **images;
    size_t nimages;
    struct prewarm_instance *in;
    size_t nin;
    struct prewarm_plan *plan;
};

static void ctx_cleanup(struct wp_ctx *x)
{
    core_free(x->types);
    core_free(x->images);
    core_free(x->in);
    prewarm_plan_free(x->plan);
}

static void do_actions(struct controller *c, struct wp_pool *p, const struct k8s_warmpool *wp,
                       const struct k8s_nodepool *np, const char *hash, struct wp_ctx *x)
{
    struct controller_warmpool *W = c->warmpool;
    core_ns now = controller_now(c);
    const char *tnames[WP_MAX_TYPES];
    size_t nt = x->ntypes < WP_MAX_TYPES ? x->ntypes : WP_MAX_TYPES;
    int backoff_logged = 0, held = 0;
    /* An instance paired after this snapshot was sent may show as free in it: nothing is
     * terminated or hibernated on it until a snapshot sent after the pairing answers. */
    int fresh = W->snap && W->snap->seq > p->paired_seq;

    for (size_t i = 0; i < nt; i++)
        tnames[i] = x->types[i]->name;
    for (size_t i = 0; i < x->plan->nactions; i++) {
        const struct prewarm_action *a = &x->plan->actions[i];
        if (a->kind == PREWARM_TERMINATE || a->kind == PREWARM_HIBERNATE) {
            if (!a->id || strncmp(a->id, "i-", 2) != 0 || busy_find(p, a->id))
                continue;
            if (!fresh) {
                held = 1;
                continue;
            }
            if (busy_add(p, a->id, a->kind, now) != 0)
                continue;
            controller_log(c, CORE_LOG_INFO, COMP, p->name,
                           a->kind == PREWARM_TERMINATE ? "terminate" : "hibernate", "instance",
                           a->id, "reason", a->reason, (const char *)NULL);
            if ((a->kind == PREWARM_TERMINATE ? terminate(c, p->name, a->id, 0)
                                              : hibernate(c, p->name, a->id)) != 0)
                busy_del_id(p, a->id);
            continue;
        }
        if (a->kind != PREWARM_LAUNCH || !a->zone)
            continue;
        if (now < p->backoff_until) {
            if (!backoff_logged)
                controller_log(c, CORE_LOG_DEBUG, COMP, p->name, "launch held back",
                               (const char *)NULL);
            backoff_logged = 1;
            continue;
        }
        struct controller_warmup_req req;
        struct wp_launch *l;
        struct wp_call *k;
        struct core_err err;
        if (launch_add(p, &l) != 0)
            continue;
        if (!(k = call_new(c, CALL_LAUNCH, p->name))) {
            p->nlaunches--;
            continue;
        }
        l->seq = k->seq = ++W->seq;
        core_strlcpy(l->zone, a->zone, sizeof(l->zone));
        snprintf(l->placeholder, sizeof(l->placeholder), "launching-%lu", l->seq);
        l->since = now;
        l->wall = controller_wall(c);
        memset(&req, 0, sizeof(req));
        req.pool = p->name;
        req.nodepool = np->meta.name;
        req.nodeclass = np->node_class_ref.name;
        req.zone = a->zone;
        req.spec_hash = hash;
        req.types = tnames;
        req.ntypes = nt;
        req.hibernate = wp->state == K8S_WARM_HIBERNATED;
        req.images = (const char *const *)wp->prewarm_images.v;
        req.nimages = wp->prewarm_images.n;
        req.hydrate_root_volume = wp->hydrate_root_volume;
        req.timeout_s = wp->prewarm_timeout / CORE_NS_PER_S;
        controller_log(c, CORE_LOG_INFO, COMP, p->name, "launch warm-up", "zone", a->zone,
                       "reason", a->reason, (const char *)NULL);
        core_err_clear(&err);
        if (controller_launch_warmup(c, &req, launched, k, &err) != 0) {
            controller_log(c, CORE_LOG_WARN, COMP, p->name, "warm-up launch refused: backing off",
                           "error", err.message, (const char *)NULL);
            call_free(c, k);
            p->nlaunches--;
            backoff_bump(p, now); /* like an answered failure, not again on every event */
        }
    }
    if (held) {
        controller_log(c, CORE_LOG_DEBUG, COMP, p->name,
                       "terminations held: the snapshot predates the last pairing",
                       (const char *)NULL);
        snap_schedule(c, 0);
    }
}

static json_t *strings_json(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i] ? v[i] : "")) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* Whether one of the pool's types is offered on-demand in zone and not marked unavailable
 * now (no zone information in the offerings: assumed so). */
static int zone_offered(struct controller *c, const char *zone,
                        const struct launcher_itype *const *types, size_t ntypes)
{
    struct launcher_offerings *offs = controller_offerings(c);
    core_ns now = controller_now(c);
    if (!offs || launcher_offerings_zone_count(offs) == 0)
        return 1;
    for (size_t i = 0; i < ntypes; i++)
        if (launcher_offerings_lookup(offs, LAUNCHER_ON_DEMAND, types[i]->name, zone, now,
                                      NULL))
            return 1;
    return 0;
}

/* The Ready=False/NoZones message: where the zones come from, and why none is left. */
static void no_zones_message(const struct k8s_ec2nodeclass *cls, const struct k8s_warmpool *wp,
                             size_t nallowed, char *out, size_t n)
{
    char sub[160] = "", spec[160] = "";
    size_t ls = 0, lz = 0;
    for (size_t i = 0; i < cls->nsubnets && ls < sizeof(sub); i++) {
        const char *z = cls->subnets[i].zone;
        int dup = 0;
        for (size_t j = 0; z && j < i; j++)
            dup |= cls->subnets[j].zone && strcmp(cls->subnets[j].zone, z) == 0;
        if (!z || dup)
            continue;
        int w = snprintf(sub + ls, sizeof(sub) - ls, "%s%s", ls ? ", " : "", z);
        ls = w < 0 ? sizeof(sub) : ls + (size_t)w;
    }
    for (size_t i = 0; i < wp->zones.n && lz < sizeof(spec); i++) {
        int w = snprintf(spec + lz, sizeof(spec) - lz, "%s%s", lz ? ", " : "", wp->zones.v[i]);
        lz = w < 0 ? sizeof(spec) : lz + (size_t)w;
    }
    int w;
    /* A long list is cut short: the message stays bounded (PREWARM_REASON_MAX). */
    if (nallowed == 0)
        w = snprintf(out, n,
                     "spec.zones: no zone to launch in: EC2NodeClass %s has subnets in [%s], "
                     "spec.zones is [%s]",
                     cls->meta.name, sub, spec[0] ? spec : "any");
    else
        w = snprintf(out, n,
                     "no zone to launch in: none of the pool's instance types has capacity now "
                     "in the zones of EC2NodeClass %s subnets [%s] allowed by spec.zones [%s]",
                     cls->meta.name, sub, spec[0] ? spec : "any");
    if (w < 0 && n > 0)
        out[0] = '\0';
}

/* Plans and acts for one pool; returns when to look again (0 = on the next event). */
static core_ns reconcile(struct controller *c, struct wp_pool *p, const struct k8s_warmpool *wp)
{
    struct controller_warmpool *W = c->warmpool;
    const struct k8s_nodepool *np = wp->nodepool ? k8s_informer_get(c->nodepools, wp->nodepool)
                                                 : NULL;
    const struct k8s_ec2nodeclass *cls;
    const struct launcher_catalog *cat = controller_catalog(c);
    struct prewarm_context pc;
    struct prewarm_plan_input pi;
    struct wp_ctx x;
    char reason[64] = "", msg[PREWARM_REASON_MAX] = "", hash[17];
    struct core_err err;
    core_ns wall = controller_wall(c), now = controller_now(c), next = 0;
    size_t nallowed = 0;
    struct core_map *claims = NULL;
    int rc;

    memset(&x, 0, sizeof(x));
    core_strlcpy(p->nodepool, wp->nodepool ? wp->nodepool : "", sizeof(p->nodepool));
    pool_settle(c, p);
    if (prewarm_validate(wp, np, cat, reason, msg) != 0) {
        pool_invalid(c, p, wp, reason[0] ? reason : "Invalid", msg, 1);
        return 0;
    }
    cls = np && np->node_class_ref.name ? k8s_informer_get(c->nodeclasses, np->node_class_ref.name)
                                        : NULL;
    if (!np) {
        pool_invalid(c, p, wp, "NodePoolNotFound", "spec.nodePoolRef.name: NodePool not found",
                     1);
        return 0;
    }
    if (!cls) {
        snprintf(msg, sizeof(msg), "spec.nodePoolRef.name: NodePool %s: EC2NodeClass %s not found",
                 np->meta.name, np->node_class_ref.name ? np->node_class_ref.name : "");
        pool_invalid(c, p, wp, "NodeClassNotFound", msg, 1);
        return 0;
    }
    if (cls->ami_family != K8S_AMI_AL2023) {
        const char *fam = k8s_ami_family_name(cls->ami_family);
        snprintf(msg, sizeof(msg),
                 "spec.nodePoolRef.name: NodePool %s uses EC2NodeClass %s with amiFamily %s; "
                 "warm-up user data is AL2023 only",
                 np->meta.name, cls->meta.name, fam ? fam : "unknown");
        pool_invalid(c, p, wp, "UnsupportedAMIFamily", msg, 1);
        return 0;
    }
    if (!controller_nodeclass_ready(c, cls->meta.name)) {
        snprintf(msg, sizeof(msg), "EC2NodeClass %s is not Ready", cls->meta.name);
        pool_invalid(c, p, wp, "NodeClassNotReady", msg, 0);
        return 0;
    }
    core_err_clear(&err);
    rc = prewarm_types(wp, np, controller_offerings(c), controller_now(c), NULL, WP_MAX_TYPES,
                       &x.types, &x.ntypes, &err);
    if (rc || x.ntypes == 0) {
        pool_invalid(c, p, wp, "NoInstanceTypes",
                     err.message[0] ? err.message : "no instance type qualifies", 1);
        ctx_cleanup(&x);
        return 0;
    }
    /* Zones: the class's subnets (status order), ∩ spec.zones, ∩ the controller's. */
    for (size_t i = 0; i < cls->nsubnets && x.nzones < LAUNCHER_MAX_ZONES; i++) {
        const char *z = cls->subnets[i].zone;
        if (!z || !cls->subnets[i].id || str_in(z, x.zones, x.nzones))
            continue;
        if (wp->zones.n && !str_in(z, (const char *const *)wp->zones.v, wp->zones.n))
            continue;
        if (c->opts.nzones && !str_in(z, c->opts.zones, c->opts.nzones))
            continue;
        nallowed++;
        /* Only where one of the pool's types can be had now: a capacity error in one zone
         * must not hold the refill of the others back. */
        if (zone_held(p, z, now) || !zone_offered(c, z, x.types, x.ntypes))
            continue;
        x.zones[x.nzones++] = z;
    }
    if (spec_hash(wp, cls, np, hash) != 0) {
        ctx_cleanup(&x);
        return 5 * S_;
    }
    if (cls->namis && !(x.images = core_calloc(cls->namis, sizeof(*x.images)))) {
        ctx_cleanup(&x);
        return 5 * S_;
    }
    for (size_t i = 0; i < cls->namis; i++)
        if (cls->amis[i].id)
            x.images[x.nimages++] = cls->amis[i].id;

    /* The pool's instances: the snapshot's, minus those being acted on, plus launches the
     * snapshot does not show yet. */
    size_t cap = p->nlaunches;
    for (size_t i = 0; i < W->snap->n; i++)
        cap += strcmp(W->snap->v[i].pool, p->name) == 0;
    if (cap && !(x.in = core_calloc(cap, sizeof(*x.in)))) {
        ctx_cleanup(&x);
        return 5 * S_;
    }
    int64_t root = root_gib(cls);
    /* Instances named by a NodeClaim's warm annotation or reserved for one being created are
     * claimed whatever the (possibly older) snapshot says: never scaled in nor rotated. */
    if (!(claims = core_map_new()) || claims_map(c, claims) != 0) {
        core_map_free(claims);
        ctx_cleanup(&x);
        return 5 * S_;
    }
    for (size_t i = 0; i < W->snap->n; i++) {
        const struct wp_inst *s = &W->snap->v[i];
        struct prewarm_instance *in;
        const struct launcher_itype *t;
        const struct wp_busy *b;
        if (strcmp(s->pool, p->name) != 0)
            continue;
        /* Being terminated: gone already for the plan. Being hibernated: still the pool's,
         * on its way to stopped (never acted on twice: do_actions skips busy ids). */
        if ((b = busy_find(p, s->id)) != NULL && b->kind == PREWARM_TERMINATE)
            continue;
        in = &x.in[x.nin++];
        t = cat && s->type ? launcher_catalog_find(cat, s->type) : NULL;
        in->id = s->id;
        in->instance_type = s->type;
        in->zone = s->zone;
        in->image_id = s->image;
        in->state = b && strcmp(s->state, "stopped") != 0 ? "stopping" : s->state;
        in->hibernated = s->hibernated;
        in->nodeclaim = s->nodeclaim && *s->nodeclaim ? s->nodeclaim
                                                      : core_map_get(claims, s->id, NULL);
        in->spec_hash = s->hash;
        /* A type the NodePool no longer admits (requirements changed, the NodePool's
         * generation is in the hash too, but a type the pool derived itself may still be
         * listed): the empty hash never matches, so the instance classifies STALE and is
         * rotated out. A requirement that does not parse judges nothing. */
        if (t && (!in->nodeclaim || !*in->nodeclaim)) {
            struct core_err ae;
            core_err_clear(&ae);
            if (launcher_requirements_admit(np->requirements, np->nrequirements, t,
                                            s->zone && *s->zone ? s->zone : NULL,
                                            LAUNCHER_ON_DEMAND, NULL, 0, &ae) == 0)
                in->spec_hash = "";
        }
        in->created = s->created;
        in->launch_time = s->launch_time;
        in->od_price_usd_hr = t ? t->od_price_usd_hr : 0;
        in->root_volume_gib = root;
    }
    for (size_t i = 0; i < p->nlaunches; i++) {
        const struct wp_launch *l = &p->launches[i];
        struct prewarm_instance *in = &x.in[x.nin++];
        in->id = l->id[0] ? l->id : l->placeholder;
        in->instance_type = x.types[0]->name;
        in->zone = l->zone;
        in->state = "pending";
        in->spec_hash = hash;
        in->created = l->wall;
        in->launch_time = l->wall;
        in->od_price_usd_hr = x.types[0]->od_price_usd_hr;
        in->root_volume_gib = root;
    }

    memset(&pc, 0, sizeof(pc));
    pc.wp = wp;
    pc.now = wall;
    pc.spec_hash = hash;
    pc.current_images = x.nimages ? x.images : NULL;
    pc.ncurrent_images = x.nimages;
    memset(&pi, 0, sizeof(pi));
    pi.ctx = &pc;
    pi.instances = x.in;
    pi.ninstances = x.nin;
    pi.pool_nodes = pool_nodes(c, np->meta.name);
    pi.zones = x.zones;
    pi.nzones = x.nzones;
    core_err_clear(&err);
    if ((rc = prewarm_plan(&pi, &x.plan, &err)) != 0) {
        pool_invalid(c, p, wp, "PlanFailed", err.message, 1);
        core_map_free(claims);
        ctx_cleanup(&x);
        return 0;
    }
    if (!x.plan->no_zones)
        p->invalid[0] = '\0';

    if (strcmp(p->summary, x.plan->summary) != 0) {
        core_strlcpy(p->summary, x.plan->summary, sizeof(p->summary));
        controller_log(c, CORE_LOG_INFO, COMP, p->name, "decision", "summary", x.plan->summary,
                       "bounds", x.plan->bounds.reason, (const char *)NULL);
    }
    do_actions(c, p, wp, np, hash, &x);

    /* The free list (ids copied: the plan borrows from the snapshot). */
    free_ids_clear(p);
    if (x.plan->nfree && (p->free_ids = core_calloc(x.plan->nfree, sizeof(char *)))) {
        for (size_t i = 0; i < x.plan->nfree; i++)
            if (x.plan->free[i]->id && strncmp(x.plan->free[i]->id, "i-", 2) == 0 &&
                (p->free_ids[p->nfree] = core_strdup(x.plan->free[i]->id)))
                p->nfree++;
    }
    memcpy(p->count, x.plan->count, sizeof(p->count));
    p->min = x.plan->bounds.min;
    p->max = x.plan->bounds.max;
    p->idle = x.plan->idle_usd_per_hour;
    {
        /* A claimed instance not running yet is being started: poll at the busy pace, but
         * only for WP_CLAIM_CHANGING after it was first seen so (a claimed instance left
         * stopped would keep the pool polling forever). */
        int64_t claimed_not_running = 0;
        for (size_t i = 0; i < x.nin; i++) {
            core_ns *first;
            if (!x.in[i].nodeclaim || !*x.in[i].nodeclaim || !x.in[i].state ||
                strcmp(x.in[i].state, "running") == 0 || strncmp(x.in[i].id, "i-", 2) != 0)
                continue;
            if (!(first = core_map_get(W->claim_seen, x.in[i].id, NULL))) {
                if ((first = core_malloc(sizeof(*first))) != NULL) {
                    *first = now;
                    if (core_map_set(W->claim_seen, x.in[i].id, first, NULL) != 0) {
                        core_free(first);
                        first = NULL;
                    }
                }
            }
            if (!first || now - *first < WP_CLAIM_CHANGING)
                claimed_not_running++;
        }
        p->changing = p->nlaunches > 0 || p->nbusy > 0 || claimed_not_running > 0 ||
                      x.plan->count[PREWARM_WARMING] > 0 || x.plan->count[PREWARM_FAILED] > 0 ||
                      x.plan->count[PREWARM_STALE] > 0 ||
                      x.plan->count[PREWARM_WARM] + x.plan->count[PREWARM_WARMING] <
                          x.plan->bounds.min;
    }

    /* Status. */
    {
        const char *tn[WP_MAX_TYPES];
        char cost[32], nz[PREWARM_REASON_MAX] = "";
        if (x.plan->no_zones)
            no_zones_message(cls, wp, nallowed, nz, sizeof(nz));
        size_t nt = x.ntypes < WP_MAX_TYPES ? x.ntypes : WP_MAX_TYPES;
        for (size_t i = 0; i < nt; i++)
            tn[i] = x.types[i]->name;
        snprintf(cost, sizeof(cost), "%.4f", x.plan->idle_usd_per_hour);
        json_t *st = json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:s, s:s, s:[o]}", "warming",
            (json_int_t)x.plan->count[PREWARM_WARMING], "warm",
            (json_int_t)x.plan->count[PREWARM_WARM], "claimed",
            (json_int_t)x.plan->count[PREWARM_CLAIMED], "failed",
            (json_int_t)x.plan->count[PREWARM_FAILED], "stale",
            (json_int_t)x.plan->count[PREWARM_STALE], "min", (json_int_t)x.plan->bounds.min,
            "max", (json_int_t)x.plan->bounds.max, "activeSchedule",
            x.plan->bounds.schedule[0] ? json_string(x.plan->bounds.schedule) : json_null(),
            "instanceTypes", strings_json(tn, nt), "images",
            strings_json(x.images, x.nimages), "lastDecision", x.plan->summary,
            "idleCostPerHour", cost, "conditions",
            x.plan->no_zones ? ready_condition(c, p, wp, 0, "NoZones", nz)
                             : ready_condition(c, p, wp, 1, "Ready", x.plan->bounds.reason));
        status_write(c, p, st);
        if (x.plan->no_zones && strcmp(p->invalid, nz) != 0) {
            core_strlcpy(p->invalid, nz, sizeof(p->invalid));
            controller_log(c, CORE_LOG_WARN, COMP, p->name, "no zone to launch in", "message",
                           nz, (const char *)NULL);
        }
    }
    if (x.plan->bounds.next_change > wall)
        next = x.plan->bounds.next_change - wall + CORE_NS_PER_MS;
    if (p->changing)
        snap_schedule(c, busy_interval(c));
    /* A reservation of one of its instances ends by itself: look again then. */
    {
        size_t it = 0;
        const char *rk;
        void *rv;
        while (core_map_next(W->reserved, &it, &rk, &rv)) {
            const struct wp_resv *r = rv;
            const struct wp_inst *s = snap_find(W, rk);
            core_ns left = r->at + CONTROLLER_WARM_RESERVE_TTL - now + S_;
            if (s && strcmp(s->pool, p->name) == 0 && left > 0 && (next == 0 || left < next))
                next = left;
        }
    }
    /* A zone left out for capacity comes back when its hold or offering mark expires. */
    if (x.plan->no_zones && nallowed > 0 && (next == 0 || next > WP_BACKOFF_MIN))
        next = WP_BACKOFF_MIN;
    core_map_free(claims);
    ctx_cleanup(&x);
    return next;
}

static void handle(void *ud, struct core_wq *wq, const char *key)
{
    struct controller *c = ud;
    struct controller_warmpool *W = c->warmpool;
    const struct k8s_warmpool *wp;
    struct wp_pool *p;
    core_ns next;

    if (!controller_may_act(c) || !W->snap) {
        core_wq_done(wq, key, CORE_WQ_OK); /* the next snapshot brings every pool back */
        return;
    }
    wp = k8s_informer_get(c->warmpools, key);
    if (wp)
        core_free(core_map_del(W->undecoded, key)); /* it decodes again */
    if (!wp || wp->meta.has_deletion_timestamp) {
        pool_drop(c, key);
        core_wq_done(wq, key, CORE_WQ_OK);
        return;
    }
    if (!(p = pool_get(c, key, wp))) {
        core_wq_done(wq, key, CORE_WQ_RETRY);
        return;
    }
    next = reconcile(c, p, wp);
    core_wq_done(wq, key, CORE_WQ_OK);
    if (next > 0 && core_wq_add_after(wq, key, next) != 0)
        controller_log(c, CORE_LOG_WARN, COMP, key, "requeue failed", (const char *)NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Orphans                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static int terminating(struct controller *c, const char *id)
{
    for (struct wp_call *k = c->warmpool->calls; k; k = k->next)
        if (k->kind == CALL_TERMINATE && strcmp(k->id, id) == 0)
            return 1;
    return 0;
}

/* Unclaimed instances of pools that are gone, and claimed ones whose NodeClaim is gone. */
static void sweep_orphans(struct controller *c)
{
    struct controller_warmpool *W = c->warmpool;
    core_ns wall = controller_wall(c), now = controller_now(c), grace = orphan_grace(c);
    size_t it = 0;
    const char *key;
    void *v;

    if (!k8s_informer_synced(c->warmpools) || !k8s_informer_synced(c->nodeclaims))
        return;
    /* Forget what no longer qualifies. */
    while (core_map_next(W->orphans, &it, &key, &v)) {
        const struct wp_inst *s = snap_find(W, key);
        if (!s || gone_state(s->state) || !s->nodeclaim || !*s->nodeclaim ||
            k8s_informer_get(c->nodeclaims, s->nodeclaim)) {
            core_free(core_map_del(W->orphans, key)); /* the current key: allowed */
        }
    }
    for (size_t i = 0; i < W->snap->n; i++) {
        const struct wp_inst *s = &W->snap->v[i];
        core_ns born = s->created > s->launch_time ? s->created : s->launch_time;
        if (gone_state(s->state) || terminating(c, s->id))
            continue;
        if (s->nodeclaim && *s->nodeclaim) {
            core_ns *first;
            if (k8s_informer_get(c->nodeclaims, s->nodeclaim))
                continue;
            if (!(first = core_map_get(W->orphans, s->id, NULL))) {
                if ((first = core_malloc(sizeof(*first))) != NULL) {
                    *first = now;
                    if (core_map_set(W->orphans, s->id, first, NULL) != 0)
                        core_free(first);
                }
                continue;
            }
            if (now - *first <= grace)
                continue;
            controller_log(c, CORE_LOG_INFO, COMP, s->pool,
                           "terminate: claimed by a NodeClaim that does not exist", "instance",
                           s->id, "nodeclaim", s->nodeclaim, (const char *)NULL);
            (void)terminate(c, s->pool, s->id, 1);
            continue;
        }
        /* Only what a warm-up launch made (it always carries the hash tag): an instance
         * someone else tagged with a pool name is not ours to judge. */
        if (!s->hash || k8s_informer_get(c->warmpools, s->pool) ||
            core_map_get(c->warmpool->undecoded, s->pool, NULL) || born <= 0 ||
            wall - born <= grace)
            continue;
        controller_log(c, CORE_LOG_INFO, COMP, s->pool, "terminate: its WarmPool is gone",
                       "instance", s->id, (const char *)NULL);
        (void)terminate(c, s->pool, s->id, 1);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The snapshot's schedule                                                                     */
/* ------------------------------------------------------------------------------------------ */

struct wp_describe {
    struct controller_op op; /* first */
    unsigned long seq, epoch;
};

static int any_changing(const struct controller *c)
{
    size_t it = 0;
    const char *k;
    void *v;
    while (core_map_next(c->warmpool->pools, &it, &k, &v))
        if (((struct wp_pool *)v)->changing)
            return 1;
    return 0;
}

/* Forgets first-seen times of instances the snapshot no longer shows claimed and stopped. */
static void claim_seen_prune(struct controller *c)
{
    struct controller_warmpool *W = c->warmpool;
    size_t it = 0;
    const char *k;
    void *v;
    while (core_map_next(W->claim_seen, &it, &k, &v)) {
        const struct wp_inst *s = snap_find(W, k);
        if (!s || gone_state(s->state) || (s->state && strcmp(s->state, "running") == 0))
            core_free(core_map_del(W->claim_seen, k)); /* the current key: allowed */
    }
}

static void described(void *ud, int rc, const struct aws_ec2_instances *res,
                      const struct core_err *err)
{
    struct wp_describe *x = ud;
    struct controller *c = controller_op_finish(&x->op);
    struct controller_warmpool *W;
    struct wp_snap *s = NULL;
    core_ns delay;
    unsigned long seq = x->seq, epoch = x->epoch;
    core_free(x);
    if (!c || !c->warmpool)
        return;
    W = c->warmpool;
    if (epoch != W->epoch)
        return; /* sent in an earlier leadership term: _resync has sent a new one */
    W->describing = 0;
    if (rc == 0 && (rc = snap_build(res, &s)) == 0) {
        snap_free(W->snap);
        s->seq = seq;
        W->snap = s;
        claim_seen_prune(c);
        if (controller_may_act(c)) {
            sweep_orphans(c);
            enqueue_all(c);
        }
    } else {
        controller_log(c, CORE_LOG_WARN, COMP, NULL, "describing warm-pool instances failed",
                       "error", err ? err->message : core_strerror(rc), (const char *)NULL);
    }
    delay = any_changing(c) || rc ? busy_interval(c) : busy_interval(c) * WP_IDLE_FACTOR;
    if (W->again && delay > WP_DEBOUNCE)
        delay = WP_DEBOUNCE;
    W->again = 0;
    snap_schedule(c, delay);
}

static void snap_tick(void *ud)
{
    struct controller *c = ud;
    struct controller_warmpool *W = c->warmpool;
    static const char *const states[] = {"pending", "running", "stopping", "stopped",
                                         "shutting-down"};
    static const char *const owned[] = {"owned"};
    const char *keys[1];
    char cluster_tag[300];
    struct aws_ec2_filter f[3];
    struct aws_ec2_describe_instances_req req;
    struct wp_describe *x;
    struct core_err err;

    W->timer = NULL;
    if (!controller_may_act(c))
        return; /* _resync starts again when this replica leads */
    if (!k8s_informer_synced(c->warmpools) || !(x = core_calloc(1, sizeof(*x)))) {
        snap_schedule(c, S_);
        return;
    }
    snprintf(cluster_tag, sizeof(cluster_tag), "tag:%s%s", CONTROLLER_TAG_CLUSTER_PREFIX,
             c->opts.cluster_name);
    keys[0] = CONTROLLER_TAG_WARM_POOL;
    f[0].name = "tag-key";
    f[0].values = keys;
    f[0].nvalues = 1;
    f[1].name = cluster_tag;
    f[1].values = owned;
    f[1].nvalues = 1;
    f[2].name = "instance-state-name";
    f[2].values = states;
    f[2].nvalues = sizeof(states) / sizeof(states[0]);
    memset(&req, 0, sizeof(req));
    req.filters = f;
    req.nfilters = 3;
    x->seq = ++W->describe_seq;
    x->epoch = W->epoch;
    controller_op_track(c, &x->op);
    controller_count_ec2(c);
    core_err_clear(&err);
    if (aws_ec2_describe_instances(c->aws, &req, described, x, &err) != 0) {
        (void)controller_op_finish(&x->op);
        core_free(x);
        controller_log(c, CORE_LOG_WARN, COMP, NULL, "describing warm-pool instances failed",
                       "error", err.message, (const char *)NULL);
        snap_schedule(c, busy_interval(c));
        return;
    }
    W->describing = 1;
}

/* The next snapshot no later than delay from now (a describe in flight: right after it, at
 * the debounce). */
static void snap_schedule(struct controller *c, core_ns delay)
{
    struct controller_warmpool *W = c->warmpool;
    core_ns due;
    if (!W)
        return;
    if (W->describing) {
        if (delay <= WP_DEBOUNCE)
            W->again = 1;
        return;
    }
    if (delay < 0)
        delay = 0;
    due = controller_now(c) + delay;
    if (W->timer && W->timer_due <= due)
        return;
    if (W->timer)
        core_loop_timer_cancel(c->loop, W->timer);
    W->timer = core_loop_timer_add(c->loop, delay, snap_tick, c);
    W->timer_due = due;
}

/* ------------------------------------------------------------------------------------------ */
/* Informers and life cycle                                                                    */
/* ------------------------------------------------------------------------------------------ */

static void on_pool(void *ud, const char *key, const void *old, const void *value)
{
    struct controller *c = ud;
    (void)old;
    (void)value;
    if (c->warmpool && controller_may_act(c))
        enqueue(c, key);
}

/* A NodePool or EC2NodeClass changed: every pool may be affected (cheap: no describe). */
static void on_dependency(void *ud, const char *key, const void *old, const void *value)
{
    struct controller *c = ud;
    (void)key;
    (void)old;
    (void)value;
    if (c->warmpool && controller_may_act(c) && c->warmpool->snap)
        enqueue_all(c);
}

int controller_warmpool_init(struct controller *c, struct core_err *err)
{
    struct controller_warmpool *W = core_calloc(1, sizeof(*W));
    int rc;
    if (!W || !(W->pools = core_map_new()) || !(W->orphans = core_map_new()) ||
        !(W->undecoded = core_map_new()) || !(W->reserved = core_map_new()) ||
        !(W->claim_seen = core_map_new())) {
        if (W) {
            core_map_free(W->pools);
            core_map_free(W->orphans);
            core_map_free(W->undecoded);
            core_map_free(W->reserved);
            core_map_free(W->claim_seen);
            core_free(W);
        }
        return core_err_set(err, CORE_E_NOMEM, "warmpool: out of memory");
    }
    c->warmpool = W;
    if ((rc = core_wq_new(c->loop, NULL, handle, c, &W->wq, err)) != 0)
        return rc;
    if ((rc = k8s_informer_add_handler(c->warmpools, on_pool, c)) != 0 ||
        (rc = k8s_informer_add_handler(c->nodepools, on_dependency, c)) != 0 ||
        (rc = k8s_informer_add_handler(c->nodeclasses, on_dependency, c)) != 0)
        return core_err_set(err, rc, "warmpool: informer handlers: %s", core_strerror(rc));
    return 0;
}

/* Becoming leader (again): nothing of an earlier term is trusted. Its snapshot may be long
 * out of date (another replica acted meanwhile), its status documents may no longer be what
 * the API holds, its launches and terminations in flight are the other term's. The first
 * snapshot of this term enqueues every pool (handle() waits for it). Reservations stay: they
 * name NodeClaims being created, and expire on their own. */
void controller_warmpool_resync(struct controller *c)
{
    struct controller_warmpool *W = c->warmpool;
    size_t it = 0;
    const char *k;
    void *v;
    if (!W)
        return;
    W->epoch++;
    snap_free(W->snap);
    W->snap = NULL;
    W->describing = 0; /* an earlier term's describe is dropped when it answers */
    W->again = 0;
    while (core_map_next(W->pools, &it, &k, &v)) {
        struct wp_pool *p = v;
        core_free(p->last_status);
        p->last_status = NULL;
        p->nlaunches = 0;
        p->nbusy = 0;
        p->backoff = p->backoff_until = 0;
        memset(p->holds, 0, sizeof(p->holds));
        p->summary[0] = '\0';
        p->invalid[0] = '\0';
        free_ids_clear(p);
    }
    snap_schedule(c, 0);
    it = 0;
    while (core_map_next(W->undecoded, &it, &k, &v))
        invalid_write(c, k, v);
}

void controller_warmpool_cleanup(struct controller *c)
{
    struct controller_warmpool *W = c ? c->warmpool : NULL;
    size_t it = 0;
    const char *k;
    void *v;
    if (!W)
        return;
    if (W->timer)
        core_loop_timer_cancel(c->loop, W->timer);
    core_wq_free(W->wq);
    while (W->calls)
        call_free(c, W->calls);
    while (core_map_next(W->pools, &it, &k, &v))
        pool_free(v);
    core_map_free(W->pools);
    it = 0;
    while (core_map_next(W->orphans, &it, &k, &v))
        core_free(v);
    core_map_free(W->orphans);
    it = 0;
    while (core_map_next(W->undecoded, &it, &k, &v))
        core_free(v);
    core_map_free(W->undecoded);
    it = 0;
    while (core_map_next(W->reserved, &it, &k, &v))
        core_free(v);
    core_map_free(W->reserved);
    it = 0;
    while (core_map_next(W->claim_seen, &it, &k, &v))
        core_free(v);
    core_map_free(W->claim_seen);
    snap_free(W->snap);
    core_free(W);
    c->warmpool = NULL;
}

/* Writes Ready False / InvalidSpec with the decoder's message m to the pool's status. */
static void invalid_write(struct controller *c, const char *key, const char *m)
{
    struct wp_patch *x;
    struct core_err e;
    char ltt[64];
    json_t *doc;

    if (!controller_may_act(c))
        return; /* controller_warmpool_resync writes it on becoming leader */
    core_time_rfc3339(controller_wall(c), ltt, sizeof(ltt));
    doc = json_pack("{s:{s:[{s:s, s:s, s:s, s:s, s:s}]}}", "status", "conditions", "type",
                    "Ready", "status", "False", "reason", "InvalidSpec", "message", m,
                    "lastTransitionTime", ltt);
    if (!doc || !(x = core_calloc(1, sizeof(*x)))) {
        json_decref(doc);
        return;
    }
    core_strlcpy(x->pool, key, sizeof(x->pool));
    controller_op_track(c, &x->op);
    core_err_clear(&e);
    if (k8s_patch(c->k8s, &k8s_res_warmpools, NULL, key, "status", K8S_PATCH_MERGE, doc,
                  patched, x, &e) != 0) {
        (void)controller_op_finish(&x->op);
        core_free(x);
        controller_log(c, CORE_LOG_WARN, COMP, key, "status write failed", "error", e.message,
                       (const char *)NULL);
    }
    json_decref(doc);
}

/* A WarmPool the API stores but that does not decode (a cron expression that does not parse,
 * overlapping schedules, both size and target, ...): the schema cannot say so, so its status
 * does — Ready False, reason InvalidSpec, the decoder's message (which names the field). Its
 * instances are kept (not orphans) until it decodes again or is deleted. */
void controller_warmpool_invalid(struct controller *c, const char *key,
                                 const struct core_err *err)
{
    struct controller_warmpool *W = c ? c->warmpool : NULL;
    const char *known;
    struct wp_pool *p;
    char *m;

    if (!W || !key || !err || strlen(key) >= WP_NAME_MAX)
        return;
    known = core_map_get(W->undecoded, key, NULL);
    if (known && strcmp(known, err->message) == 0)
        return; /* already said: our own status write comes back through here */
    if (!(m = core_strdup(err->message)))
        return;
    core_free(core_map_del(W->undecoded, key));
    if (core_map_set(W->undecoded, key, m, NULL) != 0) {
        core_free(m);
        return;
    }
    controller_log(c, CORE_LOG_WARN, COMP, key, "warm pool not usable", "reason", "InvalidSpec",
                   "message", m, (const char *)NULL);
    if ((p = pool_find(c, key)) != NULL) {
        core_free(p->last_status); /* a valid status must be written again once it decodes */
        p->last_status = NULL;
        p->cond_known = 0;
    }
    invalid_write(c, key, m);
}

/* ------------------------------------------------------------------------------------------ */
/* For the scheduler and the metrics                                                           */
/* ------------------------------------------------------------------------------------------ */

/* Ends reservations whose NodeClaim the informer shows (its annotation, or its going cold,
 * speaks from now on) or that are older than CONTROLLER_WARM_RESERVE_TTL. */
static void resv_prune(struct controller *c)
{
    struct controller_warmpool *W = c->warmpool;
    core_ns now = controller_now(c);
    size_t it = 0;
    const char *k;
    void *v;
    while (core_map_next(W->reserved, &it, &k, &v)) {
        const struct wp_resv *r = v;
        if (now - r->at > CONTROLLER_WARM_RESERVE_TTL ||
            (c->nodeclaims && k8s_informer_get(c->nodeclaims, r->nodeclaim)))
            core_free(core_map_del(W->reserved, k)); /* the current key: allowed */
    }
}

/* Instance id -> the NodeClaim claiming it (borrowed until the loop turns): every NodeClaim's
 * warm annotation, then the reservations of NodeClaims the informer does not show yet. */
static int claims_map(struct controller *c, struct core_map *out)
{
    size_t it = 0;
    const char *k;
    const void *v;
    void *rv;
    while (c->nodeclaims && k8s_informer_next(c->nodeclaims, &it, &k, &v)) {
        const struct k8s_nodeclaim *nc = v;
        const char *id = k8s_labels_get(&nc->meta.annotations, CONTROLLER_ANNOTATION_WARM);
        if (id && *id && nc->meta.name &&
            core_map_set(out, id, (void *)nc->meta.name, NULL) != 0)
            return CORE_E_NOMEM;
    }
    resv_prune(c);
    it = 0;
    while (core_map_next(c->warmpool->reserved, &it, &k, &rv)) {
        struct wp_resv *r = rv;
        if (!core_map_get(out, k, NULL) && core_map_set(out, k, r->nodeclaim, NULL) != 0)
            return CORE_E_NOMEM;
    }
    return 0;
}

int controller_warmpool_reserve(struct controller *c, const char *id, const char *nodeclaim)
{
    struct controller_warmpool *W = c ? c->warmpool : NULL;
    const struct wp_inst *s;
    struct wp_resv *r;
    struct wp_pool *p;
    if (!W || !id || !nodeclaim)
        return 0;
    if (strlen(nodeclaim) >= WP_NAME_MAX)
        return CORE_E_INVAL;
    if (!(r = core_map_get(W->reserved, id, NULL))) {
        if (!(r = core_calloc(1, sizeof(*r))))
            return CORE_E_NOMEM;
        if (core_map_set(W->reserved, id, r, NULL) != 0) {
            core_free(r);
            return CORE_E_NOMEM;
        }
    }
    core_strlcpy(r->nodeclaim, nodeclaim, sizeof(r->nodeclaim));
    r->at = controller_now(c);
    /* Its pool plans again at once (one warm fewer: refill) and terminates nothing until a
     * snapshot sent after this moment answers. */
    s = snap_find(W, id);
    if (s && (p = pool_find(c, s->pool)) != NULL) {
        p->paired_seq = W->describe_seq;
        if (controller_may_act(c))
            enqueue(c, p->name);
    }
    return 0;
}

void controller_warmpool_unreserve(struct controller *c, const char *id, const char *nodeclaim)
{
    struct controller_warmpool *W = c ? c->warmpool : NULL;
    const struct wp_resv *r;
    const struct wp_inst *s;
    if (!W || !id || !(r = core_map_get(W->reserved, id, NULL)) ||
        (nodeclaim && strcmp(r->nodeclaim, nodeclaim) != 0))
        return;
    core_free(core_map_del(W->reserved, id));
    if ((s = snap_find(W, id)) != NULL && pool_find(c, s->pool) && controller_may_act(c))
        enqueue(c, s->pool);
}

static int free_usable(struct controller *c, struct wp_pool *p, const struct wp_inst *s,
                       struct core_map *taken)
{
    struct launcher_offerings *offs = controller_offerings(c);
    if (!s || !s->state || strcmp(s->state, "stopped") != 0 ||
        (s->nodeclaim && *s->nodeclaim) || strcmp(s->pool, p->name) != 0 ||
        core_map_get(taken, s->id, NULL) || busy_find(p, s->id))
        return 0;
    /* A start just failed for lack of capacity there: not worth pairing until it clears. */
    if (offs && launcher_offerings_zone_count(offs) > 0 &&
        !launcher_offerings_lookup(offs, LAUNCHER_ON_DEMAND, s->type, s->zone,
                                   controller_now(c), NULL))
        return 0;
    return 1;
}

int controller_warmpool_free(struct controller *c, struct launcher_warm **out, size_t *n)
{
    struct controller_warmpool *W = c ? c->warmpool : NULL;
    struct core_map *taken;
    struct launcher_warm *v;
    size_t count = 0, bytes = 0, it = 0;
    const char *k;
    void *pv;
    char *text;
    int rc;

    *out = NULL;
    *n = 0;
    if (!W || !W->snap || !controller_may_act(c))
        return 0;
    if (!(taken = core_map_new()))
        return CORE_E_NOMEM;
    if ((rc = claims_map(c, taken)) != 0) {
        core_map_free(taken);
        return rc;
    }
    /* Two passes: size, then fill one block (array first, strings after it). */
    while (core_map_next(W->pools, &it, &k, &pv)) {
        struct wp_pool *p = pv;
        for (size_t i = 0; i < p->nfree; i++) {
            const struct wp_inst *s = snap_find(W, p->free_ids[i]);
            if (!free_usable(c, p, s, taken))
                continue;
            count++;
            bytes += strlen(s->id) + strlen(p->nodepool) + strlen(s->type) + strlen(s->zone) +
                     (s->image ? strlen(s->image) : 0) + 5;
        }
    }
    if (count == 0) {
        core_map_free(taken);
        return 0;
    }
    if (!(v = core_calloc(1, count * sizeof(*v) + bytes))) {
        core_map_free(taken);
        return CORE_E_NOMEM;
    }
    text = (char *)(v + count);
    count = 0;
    it = 0;
#define WP_PUT(dst, src)                                                                       \
    do {                                                                                       \
        size_t l_ = strlen(src) + 1;                                                           \
        memcpy(text, (src), l_);                                                               \
        (dst) = text;                                                                          \
        text += l_;                                                                            \
    } while (0)
    while (core_map_next(W->pools, &it, &k, &pv)) {
        struct wp_pool *p = pv;
        for (size_t i = 0; i < p->nfree; i++) {
            const struct wp_inst *s = snap_find(W, p->free_ids[i]);
            struct launcher_warm *w;
            if (!free_usable(c, p, s, taken))
                continue;
            w = &v[count++];
            WP_PUT(w->id, s->id);
            WP_PUT(w->nodepool, p->nodepool);
            WP_PUT(w->instance_type, s->type);
            WP_PUT(w->zone, s->zone);
            if (s->image)
                WP_PUT(w->image_id, s->image);
            w->capacity_type = LAUNCHER_ON_DEMAND;
        }
    }
#undef WP_PUT
    core_map_free(taken);
    *out = v;
    *n = count;
    return 0;
}

int controller_warmpool_next(const struct controller *c, size_t *iter,
                             struct controller_warmpool_info *out)
{
    const char *k;
    void *v;
    const struct wp_pool *p;
    if (!c || !c->warmpool || !core_map_next(c->warmpool->pools, iter, &k, &v))
        return 0;
    p = v;
    memset(out, 0, sizeof(*out));
    out->name = p->name;
    out->warming = p->count[PREWARM_WARMING];
    out->warm = p->count[PREWARM_WARM];
    out->claimed = p->count[PREWARM_CLAIMED];
    out->failed = p->count[PREWARM_FAILED];
    out->stale = p->count[PREWARM_STALE];
    out->min = p->min;
    out->max = p->max;
    out->idle_usd_per_hour = p->idle;
    out->launches = p->launches_total;
    out->terminations = p->terminations_total;
    out->hibernations = p->hibernations_total;
    return 1;
}
