/*
 * sim/tracker.c — watches a simulated world and keeps what the report of `stoker sim` needs:
 * per pod when it was created and bound (and when the node it landed on became Ready), per
 * instance boot when it was launched or started and when its Node became Ready, running time
 * for the cost, and a sample of the counts every interval of virtual time.
 *
 * Sources, and why:
 *  - Pods and Nodes: in-process watches on the API (sim_kube_watch), timed with the loop's
 *    clock when the event arrives (the watch delivers on the next turn, at the same virtual
 *    time). Pods and Nodes that exist when the tracker starts are listed once.
 *  - Instances: the account's observer. The simulated cluster is already the observer; the
 *    tracker installs itself in front and forwards every call to the observer it found (the
 *    chaining sim_cluster itself does), so the kubelets keep working. That gives the exact time
 *    of the launch or start call (the observer hears "pending" inside the EC2 request) and the
 *    path without depending on the controller's NodeClaims: a first boot whose user data joins
 *    is a cold launch; a later boot whose user data joins is a warm start; a boot whose user
 *    data does not join (the warm-up script) fills the pool and is not a launch. Its Node is
 *    matched through spec.providerID (aws:///<zone>/<instance-id>).
 *  - Warm-pool checks: the instance's tags, read from the account (sim_instance_find) at each
 *    state change and when its Node appears. A Node for an instance tagged stoker.dev/warm-pool
 *    without a non-empty karpenter.sh/nodeclaim tag registered unclaimed; a boot with the
 *    NodeClaim tag of the instance's previous boot, or a second instance running for one
 *    NodeClaim, is a double start. Warm-pool instances are counted by phase (warming, warm,
 *    claimed) from the same reads; a CreateTags alone changes no count until the next state
 *    change (a claim's tag is followed by its start at once).
 *
 * Invariants: the tracker must be freed before its world (it restores the observer it
 * replaced, and only if it is still the installed one); records only grow while it runs
 * (pods are kept after deletion for the statistics; Node records go with their Node);
 * counters match the records: pending + bound = live pods, nodes_ready = Ready Node records,
 * launching = instance boots counted as launches whose Node is not Ready yet.
 */
#include "sim/tracker_internal.h"

#include "sim/internal.h"
#include "launcher/launcher.h"
#include "userdata/userdata.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EBS_ROOT_GIB 20.0         /* the kubelet's assumption for the root volume too */
#define EBS_USD_GB_MONTH 0.08     /* gp3 */
#define HOURS_PER_MONTH 730.0
#define UD_RAW_MAX (256u * 1024u)
/* The controller's tags (controller/controller.h; sim/ does not depend on controller/). */
#define TAG_WARM_POOL "stoker.dev/warm-pool"
#define TAG_NODECLAIM "karpenter.sh/nodeclaim"

/* A warm-pool instance's phase, from its state and tags at its last state change. */
enum warm_phase { PH_NONE = 0, PH_WARMING, PH_WARM, PH_CLAIMED };

struct pod_rec {
    core_ns created;
    core_ns bound;                /* -1 while pending */
    core_ns node_ready;           /* -1 unknown */
    int live;
};

struct node_rec {
    char instance_id[32];
    int ready;
    core_ns ready_at;
};

struct launch_rec {
    core_ns at;
    core_ns ready;                /* -1 while not Ready */
    int warm;
};

struct inst_rec {
    char id[32];
    double price;                 /* on-demand $/h, 0 unknown */
    int running;
    core_ns running_since;
    core_ns running_total;
    int stopped;
    int live;                     /* pending or running */
    long launch;                  /* index of the current boot's launch record, -1 none */
    enum warm_phase phase;
    char claim[64];               /* the NodeClaim tag of its latest boot ("" none) */
};

struct sim_tracker {
    struct sim_world *w;
    struct launcher_catalog *cat;
    core_ns start, interval;
    core_ns burst_at;             /* since start; -1 = no burst */
    struct core_timer *timer;
    struct sim_kube_watch *pod_watch, *node_watch;
    sim_aws_observer_fn prev_fn;
    void *prev_ud;

    struct core_map *pods;        /* uid -> pod_rec (owned by pod_v) */
    struct pod_rec **pod_v;
    size_t npods, cap_pods;
    struct core_map *nodes;       /* name -> node_rec (owned here) */
    struct core_map *insts;       /* id -> inst_rec (owned by inst_v) */
    struct inst_rec **inst_v;
    size_t ninsts, cap_insts;
    struct launch_rec *launches;
    size_t nlaunches, cap_launches;
    struct sim_sample *samples;
    size_t nsamples, cap_samples;

    struct core_map *claims;      /* NodeClaim -> id of the instance that ran for it (owned) */

    unsigned pending, bound, nodes_ready, launching, stopped, live_insts;
    unsigned long cold, warm, insts_max;
    unsigned phases[4];           /* warm-pool instances by enum warm_phase */
    unsigned long warm_peak, unclaimed_registered, double_starts;
};

/* Grows *v (elements of size sz) to hold one more; 0 or CORE_E_NOMEM. */
static int grow(void **v, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    void *nv = core_realloc(*v, ncap * sz);
    if (!nv)
        return CORE_E_NOMEM;
    *v = nv;
    *cap = ncap;
    return 0;
}

static const char *meta_s(const json_t *o, const char *f)
{
    return json_string_value(json_object_get(json_object_get(o, "metadata"), f));
}

static const char *pod_node(const json_t *pod)
{
    const char *n = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
    return n && n[0] ? n : NULL;
}

static int node_is_ready(const json_t *node)
{
    const json_t *conds = json_object_get(json_object_get(node, "status"), "conditions");
    size_t i;
    const json_t *c;
    json_array_foreach(conds, i, c) {
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *st = json_string_value(json_object_get(c, "status"));
        if (type && st && strcmp(type, "Ready") == 0)
            return strcmp(st, "True") == 0;
    }
    return 0;
}

/* "aws:///us-east-1a/i-0123" -> "i-0123" */
static void instance_of(const json_t *node, char *out, size_t outsz)
{
    const char *pid =
        json_string_value(json_object_get(json_object_get(node, "spec"), "providerID"));
    const char *slash = pid ? strrchr(pid, '/') : NULL;
    core_strlcpy(out, slash ? slash + 1 : "", outsz);
}

/* ------------------------------------------------------------------------------------------ */
/* Pods                                                                                        */
/* ------------------------------------------------------------------------------------------ */

static core_ns node_ready_time(const struct sim_tracker *t, const char *node, core_ns dflt)
{
    const struct node_rec *n = core_map_get(t->nodes, node, NULL);
    return n && n->ready ? n->ready_at : dflt;
}

static void pod_seen(struct sim_tracker *t, const char *type, const json_t *pod)
{
    const char *uid = meta_s(pod, "uid");
    const char *node = pod_node(pod);
    core_ns now = core_loop_now(t->w->loop);
    struct pod_rec *p;

    if (!uid)
        return;
    p = core_map_get(t->pods, uid, NULL);
    if (strcmp(type, "DELETED") == 0) {
        if (p && p->live) {
            p->live = 0;
            if (p->bound >= 0)
                t->bound--;
            else
                t->pending--;
        }
        return;
    }
    if (!p) {
        if (grow((void **)&t->pod_v, &t->cap_pods, t->npods, sizeof *t->pod_v))
            return;
        p = core_calloc(1, sizeof *p);
        if (!p)
            return;
        if (core_map_set(t->pods, uid, p, NULL) != 0) {
            core_free(p);
            return;
        }
        t->pod_v[t->npods++] = p;
        p->created = now;
        p->bound = -1;
        p->node_ready = -1;
        p->live = 1;
        t->pending++;
    }
    if (p->live && p->bound < 0 && node) {
        p->bound = now;
        /* The scheduler binds only to Ready nodes; if the Node's event has not arrived yet,
         * the node was Ready by the binding at the latest. */
        p->node_ready = node_ready_time(t, node, now);
        t->pending--;
        t->bound++;
    }
}

static void on_pod(void *ud, const char *type, const json_t *obj)
{
    pod_seen(ud, type, obj);
}

/* ------------------------------------------------------------------------------------------ */
/* Nodes                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static void mark_launch_ready(struct sim_tracker *t, const char *instance_id, core_ns now)
{
    struct inst_rec *i = core_map_get(t->insts, instance_id, NULL);
    if (!i || i->launch < 0)
        return;
    struct launch_rec *l = &t->launches[i->launch];
    if (l->ready < 0) {
        l->ready = now;
        if (t->launching)
            t->launching--;
    }
}

/* The NodeClaim tag of an instance, NULL when absent or empty. */
static const char *claim_tag(const struct sim_instance *si)
{
    const char *nc = si ? sim_tags_get(&si->tags, TAG_NODECLAIM) : NULL;
    return nc && nc[0] ? nc : NULL;
}

/* A Node registered for an instance: a warm-pool instance must have been claimed first (its
 * warm-up user data never joins; only the join user data written at the claim does). The
 * tags are read as they are now, on the turn the Node appeared: a claim writes its tag while
 * the instance is stopped, before it starts, so a registering instance's tags are settled. */
static void check_registration(struct sim_tracker *t, const char *instance_id)
{
    const struct sim_instance *si = instance_id[0] ? sim_instance_find(t->w->aws, instance_id)
                                                   : NULL;
    if (si && sim_tags_get(&si->tags, TAG_WARM_POOL) && !claim_tag(si))
        t->unclaimed_registered++;
}

static void node_seen(struct sim_tracker *t, const char *type, const json_t *node)
{
    const char *name = meta_s(node, "name");
    core_ns now = core_loop_now(t->w->loop);
    struct node_rec *n;

    if (!name)
        return;
    n = core_map_get(t->nodes, name, NULL);
    if (strcmp(type, "DELETED") == 0) {
        if (n) {
            if (n->ready)
                t->nodes_ready--;
            core_free(core_map_del(t->nodes, name));
        }
        return;
    }
    if (!n) {
        n = core_calloc(1, sizeof *n);
        if (!n)
            return;
        if (core_map_set(t->nodes, name, n, NULL) != 0) {
            core_free(n);
            return;
        }
        instance_of(node, n->instance_id, sizeof n->instance_id);
        check_registration(t, n->instance_id);
    }
    instance_of(node, n->instance_id, sizeof n->instance_id);
    int ready = node_is_ready(node);
    if (ready && !n->ready) {
        n->ready = 1;
        n->ready_at = now;
        t->nodes_ready++;
        mark_launch_ready(t, n->instance_id, now);
    } else if (!ready && n->ready) {
        n->ready = 0;
        t->nodes_ready--;
    }
}

static void on_node(void *ud, const char *type, const json_t *obj)
{
    node_seen(ud, type, obj);
}

/* ------------------------------------------------------------------------------------------ */
/* Instances (the observer)                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Whether the boot's user data joins the cluster, read as the node would. */
static int user_data_joins(const struct sim_instance_view *v)
{
    struct core_buf raw;
    struct userdata_facts f;
    int joins = 0;

    if (!v->user_data || v->user_data_len == 0)
        return 0;
    memset(&f, 0, sizeof f);
    core_buf_init(&raw, UD_RAW_MAX);
    if (userdata_decode(v->user_data, v->user_data_len, 0, &raw, NULL) == 0 &&
        userdata_inspect(core_buf_cstr(&raw), raw.len, &f, NULL) == 0) {
        joins = f.joins;
        userdata_facts_cleanup(&f);
    }
    core_buf_cleanup(&raw);
    return joins;
}

static struct inst_rec *inst_get(struct sim_tracker *t, const struct sim_instance_view *v)
{
    struct inst_rec *i = core_map_get(t->insts, v->id, NULL);
    if (i)
        return i;
    if (grow((void **)&t->inst_v, &t->cap_insts, t->ninsts, sizeof *t->inst_v))
        return NULL;
    i = core_calloc(1, sizeof *i);
    if (!i)
        return NULL;
    if (core_map_set(t->insts, v->id, i, NULL) != 0) {
        core_free(i);
        return NULL;
    }
    t->inst_v[t->ninsts++] = i;
    core_strlcpy(i->id, v->id, sizeof i->id);
    i->launch = -1;
    const struct launcher_itype *it =
        t->cat && v->instance_type ? launcher_catalog_find(t->cat, v->instance_type) : NULL;
    i->price = it ? it->od_price_usd_hr : 0;
    return i;
}

static void end_boot(struct sim_tracker *t, struct inst_rec *i, core_ns now)
{
    if (i->running) {
        i->running_total += now - i->running_since;
        i->running = 0;
    }
    if (i->live) {
        i->live = 0;
        t->live_insts--;
    }
    if (i->launch >= 0 && t->launches[i->launch].ready < 0 && t->launching)
        t->launching--;
    i->launch = -1;
}

static void set_phase(struct sim_tracker *t, struct inst_rec *i, enum warm_phase ph)
{
    if (i->phase == ph)
        return;
    if (i->phase != PH_NONE && t->phases[i->phase])
        t->phases[i->phase]--;
    i->phase = ph;
    if (ph != PH_NONE)
        t->phases[ph]++;
    if (t->phases[PH_WARM] > t->warm_peak)
        t->warm_peak = t->phases[PH_WARM];
}

/* The warm-pool phase and the double-start checks, from the instance's tags now. */
static void warm_checks(struct sim_tracker *t, struct inst_rec *i,
                        const struct sim_instance_view *v)
{
    const struct sim_instance *si = sim_instance_find(t->w->aws, v->id);
    const char *nc = claim_tag(si);
    enum warm_phase ph = PH_NONE;

    if (si && sim_tags_get(&si->tags, TAG_WARM_POOL) && strcmp(v->state, "shutting-down") != 0 &&
        strcmp(v->state, "terminated") != 0)
        ph = nc ? PH_CLAIMED : strcmp(v->state, "stopped") == 0 ? PH_WARM : PH_WARMING;
    set_phase(t, i, ph);
    if (!nc)
        return;
    if (strcmp(v->state, "pending") == 0) {
        /* A boot for the NodeClaim this instance already booted for: started twice. */
        if (i->claim[0] && strcmp(i->claim, nc) == 0)
            t->double_starts++;
        core_strlcpy(i->claim, nc, sizeof i->claim);
    } else if (strcmp(v->state, "running") == 0) {
        /* One instance per NodeClaim: another that ran for it (warm and cold, or two of
         * either) is a double start. */
        const char *first = core_map_get(t->claims, nc, NULL);
        if (first && strcmp(first, v->id) != 0) {
            t->double_starts++;
        } else if (!first) {
            char *id = core_strdup(v->id);
            if (id && core_map_set(t->claims, nc, id, NULL) != 0)
                core_free(id);
        }
    }
}

static void instance_seen(struct sim_tracker *t, const struct sim_instance_view *v)
{
    core_ns now = core_loop_now(t->w->loop);
    struct inst_rec *i;

    if (!v->id || !v->state)
        return;
    i = inst_get(t, v);
    if (!i)
        return;
    warm_checks(t, i, v);
    if (strcmp(v->state, "pending") == 0) {
        if (i->stopped) {
            i->stopped = 0;
            t->stopped--;
        }
        if (!i->live) {
            i->live = 1;
            t->live_insts++;
            if (t->live_insts > t->insts_max)
                t->insts_max = t->live_insts;
        }
        if (user_data_joins(v) &&
            grow((void **)&t->launches, &t->cap_launches, t->nlaunches, sizeof *t->launches) ==
                0) {
            struct launch_rec *l = &t->launches[t->nlaunches];
            l->at = now;
            l->ready = -1;
            l->warm = v->boots > 0;
            i->launch = (long)t->nlaunches++;
            t->launching++;
            if (l->warm)
                t->warm++;
            else
                t->cold++;
        }
    } else if (strcmp(v->state, "running") == 0) {
        if (!i->running) {
            i->running = 1;
            i->running_since = now;
        }
    } else {
        end_boot(t, i, now);
        if (strcmp(v->state, "stopped") == 0 && !i->stopped) {
            i->stopped = 1;
            t->stopped++;
        }
    }
}

static void on_instance(void *ud, const struct sim_instance_view *v)
{
    struct sim_tracker *t = ud;
    if (t->prev_fn)
        t->prev_fn(t->prev_ud, v);
    instance_seen(t, v);
}

/* ------------------------------------------------------------------------------------------ */
/* Samples                                                                                     */
/* ------------------------------------------------------------------------------------------ */

void sim_tracker_now(struct sim_tracker *t, struct sim_sample *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!t)
        return;
    out->t = core_loop_now(t->w->loop) - t->start;
    out->pods_pending = t->pending;
    out->pods_bound = t->bound;
    out->nodes_launching = t->launching;
    out->nodes_ready = t->nodes_ready;
    out->instances_stopped = t->stopped;
    out->launches_cold = t->cold;
    out->launches_warm = t->warm;
    out->warm_warming = t->phases[PH_WARMING];
    out->warm_stopped = t->phases[PH_WARM];
    out->warm_claimed = t->phases[PH_CLAIMED];
}

static void on_sample(void *ud)
{
    struct sim_tracker *t = ud;
    t->timer = NULL;
    if (grow((void **)&t->samples, &t->cap_samples, t->nsamples, sizeof *t->samples) == 0)
        sim_tracker_now(t, &t->samples[t->nsamples++]);
    t->timer = core_loop_timer_add(t->w->loop, t->interval, on_sample, t);
}

/* ------------------------------------------------------------------------------------------ */
/* Life cycle                                                                                  */
/* ------------------------------------------------------------------------------------------ */

void sim_tracker_free(struct sim_tracker *t)
{
    sim_aws_observer_fn fn;
    void *ud;
    size_t it = 0;
    const char *key;
    void *val;

    if (!t)
        return;
    sim_aws_observer_get(t->w->aws, &fn, &ud);
    if (fn == on_instance && ud == t)
        sim_aws_set_observer(t->w->aws, t->prev_fn, t->prev_ud);
    if (t->timer)
        core_loop_timer_cancel(t->w->loop, t->timer);
    sim_kube_unwatch(t->pod_watch);
    sim_kube_unwatch(t->node_watch);
    for (size_t i = 0; i < t->npods; i++)
        core_free(t->pod_v[i]);
    core_free(t->pod_v);
    core_map_free(t->pods);
    if (t->nodes)
        while (core_map_next(t->nodes, &it, &key, &val))
            core_free(val);
    core_map_free(t->nodes);
    for (size_t i = 0; i < t->ninsts; i++)
        core_free(t->inst_v[i]);
    core_free(t->inst_v);
    core_map_free(t->insts);
    it = 0;
    if (t->claims)
        while (core_map_next(t->claims, &it, &key, &val))
            core_free(val);
    core_map_free(t->claims);
    core_free(t->launches);
    core_free(t->samples);
    launcher_catalog_free(t->cat);
    core_free(t);
}

/* Feeds the objects that exist already, as if they had just been added. */
static int list_existing(struct sim_tracker *t, const char *resource,
                         void (*fn)(struct sim_tracker *, const char *, const json_t *),
                         struct core_err *err)
{
    json_t *items = NULL;
    size_t i;
    json_t *o;
    int rc = sim_kube_list(t->w->kube, resource, NULL, NULL, NULL, &items, err);
    if (rc)
        return rc;
    json_array_foreach(items, i, o) fn(t, "ADDED", o);
    json_decref(items);
    return 0;
}

int sim_tracker_new(struct sim_world *w, core_ns interval, struct sim_tracker **out,
                    struct core_err *err)
{
    struct sim_tracker *t;
    int rc;

    if (!w || !out)
        return core_err_set(err, CORE_E_INVAL, "sim_tracker_new: no world");
    if (interval <= 0)
        interval = 10 * CORE_NS_PER_S;
    t = core_calloc(1, sizeof *t);
    if (!t)
        return core_err_set(err, CORE_E_NOMEM, "out of memory for the tracker");
    t->w = w;
    t->interval = interval;
    t->start = core_loop_now(w->loop);
    t->burst_at = -1;
    t->pods = core_map_new();
    t->nodes = core_map_new();
    t->insts = core_map_new();
    t->claims = core_map_new();
    if (!t->pods || !t->nodes || !t->insts || !t->claims) {
        rc = core_err_set(err, CORE_E_NOMEM, "out of memory for the tracker");
        goto fail;
    }
    rc = launcher_catalog_load(&t->cat, err);
    if (!rc)
        rc = sim_kube_watch(w->kube, "nodes", on_node, t, &t->node_watch, err);
    if (!rc)
        rc = sim_kube_watch(w->kube, "pods", on_pod, t, &t->pod_watch, err);
    /* Nodes first: a pod already bound then finds its node's Ready time. */
    if (!rc)
        rc = list_existing(t, "nodes", node_seen, err);
    if (!rc)
        rc = list_existing(t, "pods", pod_seen, err);
    if (rc)
        goto fail;
    t->timer = core_loop_timer_add(w->loop, interval, on_sample, t);
    if (!t->timer) {
        rc = core_err_set(err, CORE_E_NOMEM, "out of memory for the tracker's timer");
        goto fail;
    }
    sim_aws_observer_get(w->aws, &t->prev_fn, &t->prev_ud);
    sim_aws_set_observer(w->aws, on_instance, t);
    *out = t;
    return 0;
fail:
    sim_tracker_free(t);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Statistics                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double sim_tracker_percentile(const double *sorted, size_t n, double p)
{
    if (!sorted || n == 0)
        return 0;
    double r = ceil(p * (double)n);
    size_t k = r < 1 ? 0 : (size_t)r - 1;
    return sorted[k < n ? k : n - 1];
}

const struct sim_sample *sim_tracker_samples(const struct sim_tracker *t, size_t *n)
{
    *n = t ? t->nsamples : 0;
    return t ? t->samples : NULL;
}

const struct sim_boot_model *sim_tracker_boot_model(const struct sim_tracker *t)
{
    return sim_aws_boot_model(t->w->aws);
}

void sim_tracker_set_burst(struct sim_tracker *t, core_ns at)
{
    if (t)
        t->burst_at = at < 0 ? -1 : at;
}

/* which: 0 = wait (bound - created), 1 = node Ready (clamped at 0); burst: only pods created
 * at or after the burst. */
static int pod_values_of(const struct sim_tracker *t, int which, int burst, double **out,
                         size_t *n)
{
    double *v = NULL;
    size_t k = 0;
    if (t->npods) {
        v = core_calloc(t->npods, sizeof *v);
        if (!v)
            return CORE_E_NOMEM;
    }
    for (size_t i = 0; i < t->npods; i++) {
        const struct pod_rec *p = t->pod_v[i];
        if (p->bound < 0 || (burst && p->created - t->start < t->burst_at))
            continue;
        core_ns d = which == 0 ? p->bound - p->created : p->node_ready - p->created;
        v[k++] = d > 0 ? (double)d / CORE_NS_PER_S : 0.0;
    }
    if (k)
        qsort(v, k, sizeof *v, cmp_double);
    else {
        core_free(v);
        v = NULL;
    }
    *out = v;
    *n = k;
    return 0;
}

static int pod_values(const struct sim_tracker *t, int which, double **out, size_t *n)
{
    return pod_values_of(t, which, 0, out, n);
}

int sim_tracker_waits(const struct sim_tracker *t, double **out, size_t *n)
{
    return pod_values(t, 0, out, n);
}

/* The median of launch -> Node Ready over the launches of one path whose Node became Ready;
 * *n how many those are (0: no median). 0 or CORE_E_NOMEM. */
static int launch_p50(const struct sim_tracker *t, int warm, double *p50, size_t *n)
{
    double *v = core_calloc(t->nlaunches ? t->nlaunches : 1, sizeof *v);
    size_t k = 0;

    if (!v)
        return CORE_E_NOMEM;
    for (size_t i = 0; i < t->nlaunches; i++)
        if (t->launches[i].warm == warm && t->launches[i].ready >= 0)
            v[k++] = (double)(t->launches[i].ready - t->launches[i].at) / CORE_NS_PER_S;
    qsort(v, k, sizeof *v, cmp_double);
    *p50 = sim_tracker_percentile(v, k, 0.5);
    *n = k;
    core_free(v);
    return 0;
}

int sim_tracker_stats(const struct sim_tracker *t, struct sim_tracker_stats *out)
{
    struct sim_tracker_stats st;
    struct sim_summary *s = &st.s;
    double *v = NULL;
    size_t n = 0;
    int rc;

    if (!t || !out)
        return CORE_E_INVAL;
    memset(&st, 0, sizeof st);
    s->pods_created = t->npods;
    for (size_t i = 0; i < t->npods; i++)
        s->pods_bound += t->pod_v[i]->bound >= 0;
    s->pods_pending_end = t->pending;
    if ((rc = pod_values(t, 0, &v, &n)) != 0)
        return rc;
    s->wait_p50_s = sim_tracker_percentile(v, n, 0.50);
    s->wait_p90_s = sim_tracker_percentile(v, n, 0.90);
    s->wait_p99_s = sim_tracker_percentile(v, n, 0.99);
    st.nwaits = n;
    core_free(v);
    if ((rc = pod_values(t, 1, &v, &n)) != 0)
        return rc;
    s->ready_p50_s = sim_tracker_percentile(v, n, 0.50);
    s->ready_p90_s = sim_tracker_percentile(v, n, 0.90);
    s->ready_p99_s = sim_tracker_percentile(v, n, 0.99);
    core_free(v);
    if (t->burst_at >= 0) {
        for (size_t i = 0; i < t->npods; i++)
            s->burst_pods += t->pod_v[i]->created - t->start >= t->burst_at;
        if ((rc = pod_values_of(t, 0, 1, &v, &n)) != 0)
            return rc;
        s->burst_bound = n;
        s->burst_wait_p50_s = sim_tracker_percentile(v, n, 0.50);
        s->burst_wait_p90_s = sim_tracker_percentile(v, n, 0.90);
        s->burst_wait_p99_s = sim_tracker_percentile(v, n, 0.99);
        core_free(v);
        if ((rc = pod_values_of(t, 1, 1, &v, &n)) != 0)
            return rc;
        s->burst_ready_p50_s = sim_tracker_percentile(v, n, 0.50);
        s->burst_ready_p90_s = sim_tracker_percentile(v, n, 0.90);
        s->burst_ready_p99_s = sim_tracker_percentile(v, n, 0.99);
        core_free(v);
    }
    s->launches_cold = t->cold;
    s->launches_warm = t->warm;
    if ((rc = launch_p50(t, 0, &s->node_ready_cold_p50_s, &st.ncold_ready)) != 0 ||
        (rc = launch_p50(t, 1, &s->node_ready_warm_p50_s, &st.nwarm_ready)) != 0)
        return rc;
    core_ns now = core_loop_now(t->w->loop);
    for (size_t i = 0; i < t->ninsts; i++) {
        const struct inst_rec *r = t->inst_v[i];
        core_ns run = r->running_total + (r->running ? now - r->running_since : 0);
        s->cost_usd += (double)run / CORE_NS_PER_S / 3600.0 * r->price;
    }
    s->warm_pool_cost_usd_per_hour =
        t->stopped * EBS_ROOT_GIB * EBS_USD_GB_MONTH / HOURS_PER_MONTH;
    s->instances_max = t->insts_max;
    s->warm_registered_unclaimed = t->unclaimed_registered;
    s->double_starts = t->double_starts;
    s->warm_peak = t->warm_peak;
    s->warm_pool_peak_usd_per_hour =
        (double)t->warm_peak * EBS_ROOT_GIB * EBS_USD_GB_MONTH / HOURS_PER_MONTH;
    s->nodes_ready_total = (unsigned long)(st.ncold_ready + st.nwarm_ready);
    *out = st;
    return 0;
}

/* The public summary has no way to report an error: out of memory leaves it all zero (the
 * report, which must not show made-up figures, uses sim_tracker_stats). */
void sim_tracker_summary(const struct sim_tracker *t, struct sim_summary *out)
{
    struct sim_tracker_stats st;

    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (t && sim_tracker_stats(t, &st) == 0)
        *out = st.s;
}
