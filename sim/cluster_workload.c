/*
 * sim/cluster_workload.c — workload drivers of the simulated cluster: Deployment-like and
 * StatefulSet-like generators that keep a number of pods, following a timetable of replica
 * counts, through the in-process kube API.
 *
 * How it works: each workload labels its pods stoker.dev/sim-workload=<name>; one in-process
 * watch on pods dispatches every change of such a pod to its workload, which re-syncs on the
 * next loop turn (one sync however many events). A sync lists the workload's pods afresh and
 * creates or deletes the difference, so it converges whatever happened in between (pod GC,
 * evictions, kubectl delete). Steps run from one timer that is re-armed for the next step.
 *
 * Naming and order:
 *  - Deployment-like: <name>-<5 chars> (the ReplicaSet alphabet, from the cluster's scheduling
 *    rng, so a seed gives the same names); every pod carries a sequence annotation; scaling
 *    down deletes pods not yet bound first (as a ReplicaSet prefers), then the newest.
 *  - StatefulSet-like: ordinals <name>-0 .. <name>-(replicas-1); scaling down deletes the
 *    ordinals at and above the new count; a terminal pod is deleted and recreated; each
 *    ordinal's claim <claim>-<name>-<n> is created before its pod, never deleted (the
 *    StatefulSet default retention), and found again by the replacement.
 *
 * Invariants: every timer is cancelled in sim_cluster_workloads_cleanup; the template is a
 * private copy; writes are best effort (a failed create is retried at the next sync, which the
 * next change of a pod of the workload triggers).
 */
#include "sim/cluster_internal.h"

#include "k8s/k8s.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WL_LABEL "stoker.dev/sim-workload"
#define WL_SEQ "stoker.dev/sim-seq"
#define WL_NAME_MAX 52u
#define WL_STEPS_MAX 10000u
#define WL_REPLICAS_MAX 100000
#define NAME_TRIES 8

struct workloads;

struct wl {
    struct workloads *ws;
    char name[WL_NAME_MAX + 1];
    char ns[64];
    json_t *labels;      /* template labels + the workload label */
    json_t *annotations; /* template annotations (may be empty) */
    json_t *spec;        /* template spec, nodeName removed, claim volume added */
    int stateful;
    char *storage_class; /* NULL = the default class */
    char volume_size[32];
    char claim[64];
    struct sim_workload_step *steps; /* sorted by at */
    size_t nsteps, next_step;
    core_ns start;
    int replicas;
    int64_t seq;
    struct core_timer *step_timer, *sync_timer;
};

struct workloads {
    struct sim_cluster *c;
    struct wl **v;
    size_t n, cap;
    struct sim_kube_watch *watch;
};

/* ------------------------------------------------------------------------------------------ */
/* Pods and claims                                                                             */
/* ------------------------------------------------------------------------------------------ */

static const char *meta_s(const json_t *o, const char *f)
{
    return json_string_value(json_object_get(json_object_get(o, "metadata"), f));
}

static int pod_terminal(const json_t *pod)
{
    const char *ph = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
    return ph && (strcmp(ph, "Succeeded") == 0 || strcmp(ph, "Failed") == 0);
}

static int pod_deleting(const json_t *pod)
{
    return json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") != NULL;
}

static int pod_bound(const json_t *pod)
{
    const char *n = json_string_value(json_object_get(json_object_get(pod, "spec"),
                                                      "nodeName"));
    return n && n[0];
}

static int64_t pod_seq(const json_t *pod)
{
    const char *s = json_string_value(
        json_object_get(json_object_get(json_object_get(pod, "metadata"), "annotations"),
                        WL_SEQ));
    int64_t v = 0;
    if (!s || core_parse_i64(s, 0, INT64_MAX, &v) != 0)
        return 0;
    return v;
}

/* The ordinal of a stateful pod name "<wl>-<n>", or -1. */
static int64_t pod_ordinal(const struct wl *w, const char *name)
{
    size_t n = strlen(w->name);
    int64_t v;
    if (!name || strncmp(name, w->name, n) != 0 || name[n] != '-' ||
        core_parse_i64(name + n + 1, 0, WL_REPLICAS_MAX, &v) != 0)
        return -1;
    return v;
}

static int ensure_claim(struct wl *w, const char *claim_name)
{
    struct sim_cluster *c = w->ws->c;
    json_t *pvc, *spec;
    int rc;

    if (sim_kube_get(c->kube, "persistentvolumeclaims", w->ns, claim_name, NULL, NULL) == 0)
        return 0;
    pvc = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:[s], s:{s:{s:s}}, s:s}, "
                    "s:{s:s}}",
                    "apiVersion", "v1", "kind", "PersistentVolumeClaim", "metadata", "name",
                    claim_name, "namespace", w->ns, "labels", WL_LABEL, w->name, "spec",
                    "accessModes", "ReadWriteOnce", "resources", "requests", "storage",
                    w->volume_size, "volumeMode", "Filesystem", "status", "phase", "Pending");
    if (!pvc)
        return CORE_E_NOMEM;
    spec = json_object_get(pvc, "spec");
    if (w->storage_class &&
        json_object_set_new(spec, "storageClassName", json_string(w->storage_class)) != 0) {
        json_decref(pvc);
        return CORE_E_NOMEM;
    }
    rc = sim_kube_create(c->kube, "persistentvolumeclaims", w->ns, pvc, NULL, NULL);
    json_decref(pvc);
    return rc == CORE_E_CONFLICT ? 0 : rc;
}

/* A pod object from the template. ordinal < 0: Deployment-like. */
static json_t *pod_build(struct wl *w, const char *name, int64_t ordinal)
{
    json_t *pod = NULL, *labels = NULL, *ann = NULL, *spec = NULL;
    char seq[32], ord[32];

    labels = json_deep_copy(w->labels);
    ann = json_deep_copy(w->annotations);
    spec = json_deep_copy(w->spec);
    if (!labels || !ann || !spec)
        goto fail;
    snprintf(seq, sizeof seq, "%lld", (long long)++w->seq);
    if (json_object_set_new(ann, WL_SEQ, json_string(seq)) != 0)
        goto fail;
    if (ordinal >= 0) {
        snprintf(ord, sizeof ord, "%lld", (long long)ordinal);
        if (json_object_set_new(labels, "statefulset.kubernetes.io/pod-name",
                                json_string(name)) != 0 ||
            json_object_set_new(labels, "apps.kubernetes.io/pod-index", json_string(ord)) != 0 ||
            json_object_set_new(spec, "hostname", json_string(name)) != 0)
            goto fail;
        /* The template's volume carries the bare claim name; each ordinal mounts its own. */
        {
            json_t *vols = json_object_get(spec, "volumes"), *v;
            size_t i;
            char cn[200];
            snprintf(cn, sizeof cn, "%s-%s", w->claim, name);
            json_array_foreach(vols, i, v) {
                const char *vn = json_string_value(json_object_get(v, "name"));
                if (vn && strcmp(vn, w->claim) == 0 &&
                    json_object_set_new(v, "persistentVolumeClaim",
                                        json_pack("{s:s}", "claimName", cn)) != 0)
                    goto fail;
            }
        }
    }
    pod = json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:o}, s:o, s:{s:s}}", "apiVersion", "v1",
                    "kind", "Pod", "metadata", "name", name, "namespace", w->ns, "labels",
                    labels, "annotations", ann, "spec", spec, "status", "phase", "Pending");
    return pod; /* json_pack stole labels, ann and spec, also on failure */
fail:
    json_decref(labels);
    json_decref(ann);
    json_decref(spec);
    return NULL;
}

static int create_pod(struct wl *w, const char *name, int64_t ordinal)
{
    json_t *pod = pod_build(w, name, ordinal);
    int rc;
    if (!pod)
        return CORE_E_NOMEM;
    rc = sim_kube_create(w->ws->c->kube, "pods", w->ns, pod, NULL, NULL);
    json_decref(pod);
    return rc;
}

static void random_name(struct wl *w, char *out, size_t outsz)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    char sfx[6];
    for (size_t i = 0; i < 5; i++)
        sfx[i] = alphabet[sim_rng_next(&w->ws->c->rng_sched) % (sizeof alphabet - 1)];
    sfx[5] = '\0';
    snprintf(out, outsz, "%s-%s", w->name, sfx);
}

/* ------------------------------------------------------------------------------------------ */
/* Sync                                                                                        */
/* ------------------------------------------------------------------------------------------ */

struct victim {
    const json_t *pod;
    int bound;
    int64_t seq;
};

/* Unbound pods first, then newest first. */
static int cmp_victim(const void *a, const void *b)
{
    const struct victim *x = a, *y = b;
    if (x->bound != y->bound)
        return x->bound ? 1 : -1;
    if (x->seq != y->seq)
        return x->seq > y->seq ? -1 : 1;
    return strcmp(meta_s(x->pod, "name"), meta_s(y->pod, "name"));
}

static void sync_deployment(struct wl *w, json_t *pods)
{
    struct sim_kube *k = w->ws->c->kube;
    size_t n = json_array_size(pods), active = 0;
    struct victim *vic = core_calloc(n ? n : 1, sizeof *vic);

    if (!vic)
        return;
    for (size_t i = 0; i < n; i++) {
        const json_t *p = json_array_get(pods, i);
        if (pod_deleting(p))
            continue;
        if (pod_terminal(p)) {
            /* Replaced below; deleted here so finished pods do not pile up (a ReplicaSet's
             * own pods are collected the same way by the terminated-pod GC). */
            if (sim_kube_delete(k, "pods", w->ns, meta_s(p, "name"), NULL) != 0)
                continue; /* retried at the next sync */
            continue;
        }
        vic[active].pod = p;
        vic[active].bound = pod_bound(p);
        vic[active].seq = pod_seq(p);
        active++;
    }
    if ((int64_t)active > w->replicas) {
        qsort(vic, active, sizeof *vic, cmp_victim);
        for (size_t i = 0; i < active - (size_t)w->replicas; i++)
            if (sim_kube_delete(k, "pods", w->ns, meta_s(vic[i].pod, "name"), NULL) != 0)
                continue; /* gone already, or retried at the next sync */
    }
    for (int64_t missing = w->replicas - (int64_t)active; missing > 0; missing--) {
        char name[128];
        int rc = CORE_E_CONFLICT;
        for (int t = 0; t < NAME_TRIES && rc == CORE_E_CONFLICT; t++) {
            random_name(w, name, sizeof name);
            rc = create_pod(w, name, -1);
        }
        if (rc)
            break;
    }
    core_free(vic);
}

static void sync_stateful(struct wl *w, json_t *pods)
{
    struct sim_kube *k = w->ws->c->kube;
    size_t n = json_array_size(pods);
    unsigned char *have = core_calloc((size_t)w->replicas + 1, 1);

    if (!have)
        return;
    for (size_t i = 0; i < n; i++) {
        const json_t *p = json_array_get(pods, i);
        const char *name = meta_s(p, "name");
        int64_t ord = pod_ordinal(w, name);
        if (ord < 0)
            continue;
        /* Present, or being replaced: its DELETED event brings another sync. */
        if (ord < w->replicas)
            have[ord] = 1;
        if (!pod_deleting(p) && (ord >= w->replicas || pod_terminal(p)) &&
            sim_kube_delete(k, "pods", w->ns, name, NULL) != 0)
            continue; /* retried at the next sync */
    }
    for (int64_t o = 0; o < w->replicas; o++) {
        char name[128], claim[200];
        if (have[o])
            continue;
        snprintf(name, sizeof name, "%s-%lld", w->name, (long long)o);
        snprintf(claim, sizeof claim, "%s-%s", w->claim, name);
        if (ensure_claim(w, claim) != 0 || create_pod(w, name, o) != 0)
            break;
    }
    core_free(have);
}

static void wl_sync(struct wl *w)
{
    char sel[160];
    json_t *pods = NULL;

    if (w->replicas < 0)
        return; /* before the first step */
    snprintf(sel, sizeof sel, WL_LABEL "=%s", w->name);
    if (sim_kube_list(w->ws->c->kube, "pods", w->ns, sel, NULL, &pods, NULL) != 0)
        return;
    if (w->stateful)
        sync_stateful(w, pods);
    else
        sync_deployment(w, pods);
    json_decref(pods);
}

static void on_sync(void *ud)
{
    struct wl *w = ud;
    w->sync_timer = NULL;
    wl_sync(w);
}

static void want_sync(struct wl *w)
{
    if (!w->sync_timer)
        w->sync_timer = core_loop_timer_add(w->ws->c->loop, 0, on_sync, w);
}

static void arm_step(struct wl *w);

static void on_step(void *ud)
{
    struct wl *w = ud;
    core_ns now = core_loop_now(w->ws->c->loop);
    w->step_timer = NULL;
    while (w->next_step < w->nsteps && w->start + w->steps[w->next_step].at <= now)
        w->replicas = w->steps[w->next_step++].replicas;
    arm_step(w);
    wl_sync(w);
}

static void arm_step(struct wl *w)
{
    core_ns now = core_loop_now(w->ws->c->loop), at;
    if (w->next_step >= w->nsteps)
        return;
    at = w->start + w->steps[w->next_step].at;
    w->step_timer = core_loop_timer_add(w->ws->c->loop, at > now ? at - now : 0, on_step, w);
}

static void on_pod(void *ud, const char *type, const json_t *obj)
{
    struct workloads *ws = ud;
    const char *name = json_string_value(
        json_object_get(json_object_get(json_object_get(obj, "metadata"), "labels"), WL_LABEL));
    const char *ns = meta_s(obj, "namespace");
    if (!name || !ns)
        return;
    /* A sync counts pods, and looks at whether each is terminal or being deleted: other
     * changes (binding, Running, conditions) cannot change what it does, and at scale a sync
     * per such event would list the whole workload again and again. */
    if (strcmp(type, "MODIFIED") == 0 && !pod_deleting(obj) && !pod_terminal(obj))
        return;
    for (size_t i = 0; i < ws->n; i++)
        if (strcmp(ws->v[i]->name, name) == 0 && strcmp(ws->v[i]->ns, ns) == 0) {
            want_sync(ws->v[i]);
            return;
        }
}

/* ------------------------------------------------------------------------------------------ */
/* Adding and freeing                                                                          */
/* ------------------------------------------------------------------------------------------ */

static void wl_free(struct sim_cluster *c, struct wl *w)
{
    if (!w)
        return;
    if (w->step_timer)
        core_loop_timer_cancel(c->loop, w->step_timer);
    if (w->sync_timer)
        core_loop_timer_cancel(c->loop, w->sync_timer);
    json_decref(w->labels);
    json_decref(w->annotations);
    json_decref(w->spec);
    core_free(w->storage_class);
    core_free(w->steps);
    core_free(w);
}

void sim_cluster_workloads_cleanup(struct sim_cluster *c)
{
    struct workloads *ws = c ? c->workloads : NULL;
    if (!ws)
        return;
    sim_kube_unwatch(ws->watch);
    for (size_t i = 0; i < ws->n; i++)
        wl_free(c, ws->v[i]);
    core_free(ws->v);
    core_free(ws);
    c->workloads = NULL;
}

static int dns_label_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

static int check_spec(const struct sim_workload_spec *spec, struct core_err *err)
{
    const json_t *t;
    int64_t milli;

    if (!spec || !dns_label_ok(spec->name, WL_NAME_MAX))
        return core_err_set(err, CORE_E_INVAL, "workload: name must be a DNS label of at most "
                                               "%u characters", WL_NAME_MAX);
    if (spec->ns && !dns_label_ok(spec->ns, 63))
        return core_err_set(err, CORE_E_INVAL, "workload %s: namespace '%.63s' is not a DNS "
                                               "label", spec->name, spec->ns);
    t = spec->pod_template;
    if (!json_is_object(t) || !json_is_object(json_object_get(t, "spec")))
        return core_err_set(err, CORE_E_INVAL, "workload %s: pod_template needs a spec object",
                            spec->name);
    if (spec->nsteps > WL_STEPS_MAX || (spec->nsteps && !spec->steps))
        return core_err_set(err, CORE_E_INVAL, "workload %s: at most %u steps", spec->name,
                            WL_STEPS_MAX);
    for (size_t i = 0; i < spec->nsteps; i++)
        if (spec->steps[i].at < 0 || spec->steps[i].replicas < 0 ||
            spec->steps[i].replicas > WL_REPLICAS_MAX)
            return core_err_set(err, CORE_E_INVAL, "workload %s: steps[%zu]: at must be >= 0 "
                                                   "and replicas in 0..%d", spec->name, i,
                                WL_REPLICAS_MAX);
    if (spec->stateful) {
        if (spec->volume_size && (k8s_quantity_parse_milli(spec->volume_size, &milli) != 0 ||
                                  milli <= 0 || strlen(spec->volume_size) >= 32))
            return core_err_set(err, CORE_E_INVAL, "workload %s: volume_size '%.40s' is not a "
                                                   "positive quantity", spec->name,
                                spec->volume_size);
        /* The claim is "<claim>-<name>-<ordinal>": at most 63 + 1 + 52 + 1 + 19 characters,
         * well inside a 253-character name. */
        if (spec->claim_name && !dns_label_ok(spec->claim_name, 63))
            return core_err_set(err, CORE_E_INVAL, "workload %s: claim_name must be a DNS "
                                                   "label of at most 63 characters", spec->name);
        if (spec->storage_class && !spec->storage_class[0])
            return core_err_set(err, CORE_E_INVAL, "workload %s: storage_class is empty",
                                spec->name);
    }
    return 0;
}

/* Copies the template into w: labels (plus the workload label), annotations, spec (without
 * nodeName; with the claim volume for stateful workloads). */
static int copy_template(struct wl *w, const json_t *t)
{
    const json_t *meta = json_object_get(t, "metadata");
    const json_t *l = json_object_get(meta, "labels"), *a = json_object_get(meta, "annotations");

    w->labels = json_is_object(l) ? json_deep_copy(l) : json_object();
    w->annotations = json_is_object(a) ? json_deep_copy(a) : json_object();
    w->spec = json_deep_copy(json_object_get(t, "spec"));
    if (!w->labels || !w->annotations || !w->spec ||
        json_object_set_new(w->labels, WL_LABEL, json_string(w->name)) != 0)
        return CORE_E_NOMEM;
    (void)json_object_del(w->spec, "nodeName");
    if (w->stateful) {
        json_t *vols = json_object_get(w->spec, "volumes"), *v;
        size_t i;
        if (!json_is_array(vols)) {
            vols = json_array();
            if (!vols || json_object_set_new(w->spec, "volumes", vols) != 0)
                return CORE_E_NOMEM;
        }
        json_array_foreach(vols, i, v) {
            const char *vn = json_string_value(json_object_get(v, "name"));
            if (vn && strcmp(vn, w->claim) == 0)
                return 0; /* the template mounts it already; pod_build points it per ordinal */
        }
        v = json_pack("{s:s, s:{s:s}}", "name", w->claim, "persistentVolumeClaim", "claimName",
                      w->claim);
        if (!v || json_array_append_new(vols, v) != 0)
            return CORE_E_NOMEM;
    }
    return 0;
}

int sim_cluster_add_workload(struct sim_cluster *c, const struct sim_workload_spec *spec,
                             struct core_err *err)
{
    struct workloads *ws;
    struct wl *w = NULL;
    const char *ns;
    int rc;

    if (!c)
        return core_err_set(err, CORE_E_INVAL, "sim_cluster_add_workload: no cluster");
    if ((rc = check_spec(spec, err)) != 0)
        return rc;
    ns = spec->ns ? spec->ns : "default";
    ws = c->workloads;
    if (!ws) {
        ws = core_calloc(1, sizeof *ws);
        if (!ws)
            return core_err_set(err, CORE_E_NOMEM, "out of memory for workloads");
        ws->c = c;
        if ((rc = sim_kube_watch(c->kube, "pods", on_pod, ws, &ws->watch, err)) != 0) {
            core_free(ws);
            return rc;
        }
        c->workloads = ws;
    }
    for (size_t i = 0; i < ws->n; i++)
        if (strcmp(ws->v[i]->name, spec->name) == 0 && strcmp(ws->v[i]->ns, ns) == 0)
            return core_err_set(err, CORE_E_CONFLICT, "workload %s/%s exists", ns, spec->name);
    if (ws->n == ws->cap) {
        size_t cap = ws->cap ? ws->cap * 2 : 8;
        struct wl **nv = core_realloc(ws->v, cap * sizeof *nv);
        if (!nv)
            return core_err_set(err, CORE_E_NOMEM, "out of memory for workloads");
        ws->v = nv;
        ws->cap = cap;
    }
    w = core_calloc(1, sizeof *w);
    if (!w)
        return core_err_set(err, CORE_E_NOMEM, "out of memory for a workload");
    w->ws = ws;
    w->replicas = -1;
    w->stateful = spec->stateful;
    core_strlcpy(w->name, spec->name, sizeof w->name);
    core_strlcpy(w->ns, ns, sizeof w->ns);
    core_strlcpy(w->volume_size, spec->volume_size ? spec->volume_size : "10Gi",
                 sizeof w->volume_size);
    core_strlcpy(w->claim, spec->claim_name ? spec->claim_name : "data", sizeof w->claim);
    rc = CORE_E_NOMEM;
    if (spec->stateful && spec->storage_class &&
        !(w->storage_class = core_strdup(spec->storage_class)))
        goto fail;
    if (spec->nsteps) {
        w->steps = core_calloc(spec->nsteps, sizeof *w->steps);
        if (!w->steps)
            goto fail;
        /* Insertion sort keeps steps with the same time in the caller's order. */
        for (size_t i = 0; i < spec->nsteps; i++) {
            size_t j = i;
            while (j > 0 && w->steps[j - 1].at > spec->steps[i].at) {
                w->steps[j] = w->steps[j - 1];
                j--;
            }
            w->steps[j] = spec->steps[i];
        }
        w->nsteps = spec->nsteps;
    }
    if (copy_template(w, spec->pod_template) != 0)
        goto fail;
    w->start = core_loop_now(c->loop);
    if (w->nsteps) {
        arm_step(w);
        if (!w->step_timer)
            goto fail;
    }
    ws->v[ws->n++] = w;
    return 0;
fail:
    wl_free(c, w);
    return core_err_set(err, rc, "out of memory for workload %s", spec->name);
}
