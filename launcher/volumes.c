/*
 * launcher/volumes.c — volume topology: where a new node must be for a pending pod's
 * PersistentVolumeClaims to be usable there (the contract is in launcher/internal.h, "Volume
 * topology").
 *
 * A bound claim pins the pod to its PV's required node affinity; an unbound claim whose class
 * binds WaitForFirstConsumer pins it to the class's allowedTopologies, because the provisioner
 * will create the volume where the pod lands and only there. Each volume yields a list of
 * alternatives (one launcher_reqs per node-selector term); the pod's constraint is the cross
 * product of those lists, each pair intersected, with empty intersections dropped.
 *
 * Invariants:
 *  - Every list of alternatives, per volume and combined, holds at most LAUNCHER_VOLUME_MAX_ALTS
 *    entries, each satisfiable (launcher_reqs_conflict == NULL); excess ones are dropped in
 *    order, so the result is deterministic for a given input order.
 *  - A node-selector term that a node stoker launches cannot satisfy is dropped rather than
 *    reported: a term with matchFields (metadata.name names an existing node, never a new one),
 *    an empty term (Kubernetes: it selects nothing), or one whose expressions contradict each
 *    other. Only when every term of a volume drops is the pod unschedulable.
 *  - The PVC annotation volume.kubernetes.io/selected-node is ignored: it is advice the
 *    volume scheduler left from an earlier attempt to place the pod on an existing node; a new
 *    node never has that name, and the binder rewrites it once the pod lands.
 *  - The first per-volume reason (in spec.claims order) wins over a cross-volume conflict, since
 *    a missing or unusable claim is the more direct thing to fix.
 *  - Pure: no I/O, no clock, no logging; *out written only on success.
 *
 * Cost: each claim is found by a linear scan of in->pvcs (and its PV of in->pvs, its class of
 * in->storage_classes). That is O(npvcs) per claim; the scheduler calls this only for pods that
 * name claims, and clusters stoker targets keep these lists small. Should that stop holding, the
 * scheduler can index the inputs once per run and pass the index here; nothing global is built.
 */
#include "launcher/internal.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_CLASS_ANN "storageclass.kubernetes.io/is-default-class"
#define DEFAULT_CLASS_ANN_BETA "storageclass.beta.kubernetes.io/is-default-class"

/* A list of alternatives with room for LAUNCHER_VOLUME_MAX_ALTS. */
struct alts {
    struct launcher_reqs *v;
    size_t n;
};

static int alts_init(struct alts *a)
{
    a->n = 0;
    a->v = core_calloc(LAUNCHER_VOLUME_MAX_ALTS, sizeof(*a->v));
    return a->v ? 0 : CORE_E_NOMEM;
}

static void alts_cleanup(struct alts *a)
{
    if (!a->v)
        return;
    for (size_t i = 0; i < a->n; i++)
        launcher_reqs_cleanup(&a->v[i]);
    core_free(a->v);
    a->v = NULL;
    a->n = 0;
}

static const char *ns_or_default(const char *ns)
{
    return ns && ns[0] ? ns : "default";
}

static int str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Turns one node-selector term into requirements. *ok is 0 when no new node can satisfy it
 * (then r is left empty). Only out-of-memory and unexpected errors are returned. */
static int term_reqs(const struct k8s_node_selector_term *t, struct launcher_reqs *r, int *ok,
                     struct core_err *err)
{
    int rc = 0;
    *ok = 0;
    if (t->nfields > 0 || t->nexprs == 0)
        return 0;
    for (size_t i = 0; i < t->nexprs; i++) {
        rc = launcher_reqs_add(r, &t->exprs[i], err);
        if (rc == CORE_E_INVAL) {
            /* A Gt/Lt bound that is not an integer: Kubernetes matches no node with it. */
            core_err_clear(err);
            rc = 0;
            goto out;
        }
        if (rc != 0)
            goto out;
    }
    *ok = launcher_reqs_conflict(r) == NULL;
out:
    if (!*ok)
        launcher_reqs_cleanup(r);
    return rc;
}

/* The satisfiable terms of s, in order, up to the cap. */
static int selector_alts(const struct k8s_node_selector *s, struct alts *out,
                         struct core_err *err)
{
    for (size_t i = 0; i < s->nterms && out->n < LAUNCHER_VOLUME_MAX_ALTS; i++) {
        struct launcher_reqs r = {0};
        int ok = 0;
        int rc = term_reqs(&s->terms[i], &r, &ok, err);
        if (rc != 0)
            return rc;
        if (ok)
            out->v[out->n++] = r;
    }
    return 0;
}

static const struct k8s_pvc *find_pvc(const struct launcher_sched_input *in, const char *ns,
                                      const char *name)
{
    for (size_t i = 0; i < in->npvcs; i++) {
        const struct k8s_pvc *p = in->pvcs[i];
        if (p && str_eq(p->meta.name, name) && strcmp(ns_or_default(p->meta.ns), ns) == 0)
            return p;
    }
    return NULL;
}

static const struct k8s_pv *find_pv(const struct launcher_sched_input *in, const char *name)
{
    for (size_t i = 0; i < in->npvs; i++)
        if (in->pvs[i] && str_eq(in->pvs[i]->meta.name, name))
            return in->pvs[i];
    return NULL;
}

static const struct k8s_storage_class *find_class(const struct launcher_sched_input *in,
                                                  const char *name)
{
    for (size_t i = 0; i < in->nstorage_classes; i++)
        if (in->storage_classes[i] && str_eq(in->storage_classes[i]->meta.name, name))
            return in->storage_classes[i];
    return NULL;
}

static int is_default_class(const struct k8s_storage_class *s)
{
    return str_eq(k8s_labels_get(&s->meta.annotations, DEFAULT_CLASS_ANN), "true") ||
           str_eq(k8s_labels_get(&s->meta.annotations, DEFAULT_CLASS_ANN_BETA), "true");
}

/* The default class, as the PVC admission plugin picks it: newest first, then by name. */
static const struct k8s_storage_class *default_class(const struct launcher_sched_input *in)
{
    const struct k8s_storage_class *best = NULL;
    for (size_t i = 0; i < in->nstorage_classes; i++) {
        const struct k8s_storage_class *s = in->storage_classes[i];
        if (!s || !s->meta.name || !is_default_class(s))
            continue;
        if (!best || s->meta.creation_timestamp > best->meta.creation_timestamp ||
            (s->meta.creation_timestamp == best->meta.creation_timestamp &&
             strcmp(s->meta.name, best->meta.name) < 0))
            best = s;
    }
    return best;
}

/* Whether a PV's claimRef, when it has one, names this PVC. */
static int claim_ref_matches(const struct k8s_pv *pv, const struct k8s_pvc *pvc)
{
    const struct k8s_claim_ref *c = &pv->claim_ref;
    if (!c->name && !c->ns && !c->uid)
        return 1;
    if (!str_eq(c->name, pvc->meta.name))
        return 0;
    if (strcmp(ns_or_default(c->ns), ns_or_default(pvc->meta.ns)) != 0)
        return 0;
    if (c->uid && c->uid[0] && pvc->meta.uid && pvc->meta.uid[0] &&
        strcmp(c->uid, pvc->meta.uid) != 0)
        return 0;
    return 1;
}

/* One claim's alternatives into *out (left empty for "no constraint"); a reason into reason[]
 * when the claim makes the pod unschedulable. */
static int claim_alts(const char *ns, const char *claim, const struct launcher_sched_input *in,
                      struct alts *out, char *reason, size_t reasonsz, struct core_err *err)
{
    const struct k8s_pvc *pvc = find_pvc(in, ns, claim);
    if (!pvc) {
        snprintf(reason, reasonsz, "persistentvolumeclaim \"%s/%s\" not found", ns, claim);
        return 0;
    }
    if (pvc->meta.has_deletion_timestamp) {
        snprintf(reason, reasonsz, "persistentvolumeclaim \"%s/%s\" is being deleted", ns,
                 claim);
        return 0;
    }

    if (pvc->volume_name && pvc->volume_name[0]) {
        const struct k8s_pv *pv = find_pv(in, pvc->volume_name);
        if (!pv) {
            snprintf(reason, reasonsz,
                     "persistentvolume \"%s\" of persistentvolumeclaim \"%s/%s\" not found",
                     pvc->volume_name, ns, claim);
            return 0;
        }
        if (!claim_ref_matches(pv, pvc)) {
            snprintf(reason, reasonsz,
                     "persistentvolumeclaim \"%s/%s\" is bound to \"%s\" claimed by another "
                     "claim",
                     ns, claim, pvc->volume_name);
            return 0;
        }
        if (pv->node_affinity.nterms == 0)
            return 0;
        int rc = selector_alts(&pv->node_affinity, out, err);
        if (rc != 0)
            return rc;
        if (out->n == 0)
            snprintf(reason, reasonsz,
                     "persistentvolume \"%s\" of persistentvolumeclaim \"%s/%s\" has no node "
                     "affinity term a new node can satisfy",
                     pvc->volume_name, ns, claim);
        return 0;
    }

    /* Unbound: the class decides whether the volume will follow the pod. */
    const struct k8s_storage_class *sc;
    if (!pvc->storage_class) {
        sc = default_class(in);
        if (!sc) {
            snprintf(reason, reasonsz,
                     "persistentvolumeclaim \"%s/%s\" is unbound, names no storage class and "
                     "there is no default storage class",
                     ns, claim);
            return 0;
        }
    } else if (!pvc->storage_class[0]) {
        /* Only a pre-created PV can satisfy it, and the binder would have bound it already. */
        snprintf(reason, reasonsz,
                 "persistentvolumeclaim \"%s/%s\" is unbound and has no storage class", ns,
                 claim);
        return 0;
    } else {
        sc = find_class(in, pvc->storage_class);
        if (!sc) {
            snprintf(reason, reasonsz,
                     "storage class \"%s\" of persistentvolumeclaim \"%s/%s\" not found",
                     pvc->storage_class, ns, claim);
            return 0;
        }
    }
    if (sc->binding_mode != K8S_BIND_WAIT_FOR_FIRST_CONSUMER) {
        /* Immediate binding provisions without regard to the pod; until that happens there is
         * nothing to schedule against, and a new node would not make it happen. */
        snprintf(reason, reasonsz,
                 "persistentvolumeclaim \"%s/%s\" is unbound and its storage class \"%s\" binds "
                 "Immediately",
                 ns, claim, sc->meta.name ? sc->meta.name : "");
        return 0;
    }
    if (sc->allowed_topologies.nterms == 0)
        return 0;
    int rc = selector_alts(&sc->allowed_topologies, out, err);
    if (rc != 0)
        return rc;
    if (out->n == 0)
        snprintf(reason, reasonsz,
                 "storage class \"%s\" of persistentvolumeclaim \"%s/%s\" has no allowed "
                 "topology a new node can satisfy",
                 sc->meta.name ? sc->meta.name : "", ns, claim);
    return 0;
}

/* "<a's entry> vs <b's entry>" for the key where a ∩ b came out empty. */
static int describe_conflict(const struct launcher_reqs *a, const struct launcher_reqs *b,
                             const char *key, char *reason, size_t reasonsz,
                             struct core_err *err)
{
    struct core_buf buf;
    core_buf_init(&buf, reasonsz);
    int rc = core_buf_append_str(&buf, "the volumes' topologies do not intersect: ");
    const struct launcher_req *qa = launcher_reqs_get(a, key);
    const struct launcher_req *qb = launcher_reqs_get(b, key);
    if (rc == 0 && qa)
        rc = launcher_req_describe(qa, &buf);
    if (rc == 0 && qa && qb)
        rc = core_buf_append_str(&buf, " vs ");
    if (rc == 0 && qb)
        rc = launcher_req_describe(qb, &buf);
    if (rc == CORE_E_TOOBIG)
        rc = 0; /* a long value list: what fitted says enough */
    if (rc != 0) {
        core_err_set(err, rc, "volume topology: describing a conflict: %s", core_strerror(rc));
        goto out;
    }
    core_strlcpy(reason, core_buf_cstr(&buf), reasonsz);
out:
    core_buf_cleanup(&buf);
    return rc;
}

/* acc := acc × b, pairwise intersected, empty intersections dropped, capped. When everything
 * drops, acc ends empty and reason[] says why. */
static int combine(struct alts *acc, const struct alts *b, char *reason, size_t reasonsz,
                   struct core_err *err)
{
    struct alts next = {0};
    const struct launcher_reqs *bad_a = NULL, *bad_b = NULL;
    char *bad_key = NULL;
    int rc = alts_init(&next);
    if (rc != 0)
        goto nomem;
    for (size_t i = 0; i < acc->n && next.n < LAUNCHER_VOLUME_MAX_ALTS; i++) {
        for (size_t j = 0; j < b->n && next.n < LAUNCHER_VOLUME_MAX_ALTS; j++) {
            struct launcher_reqs r = {0};
            rc = launcher_reqs_copy(&r, &acc->v[i], err);
            if (rc == 0)
                rc = launcher_reqs_intersect(&r, &b->v[j], err);
            if (rc != 0) {
                launcher_reqs_cleanup(&r);
                goto out;
            }
            const struct launcher_req *q = launcher_reqs_conflict(&r);
            if (!q) {
                next.v[next.n++] = r;
                continue;
            }
            if (!bad_key) {
                bad_a = &acc->v[i];
                bad_b = &b->v[j];
                bad_key = core_strdup(q->key);
            }
            launcher_reqs_cleanup(&r);
            if (!bad_key) {
                rc = CORE_E_NOMEM;
                goto nomem;
            }
        }
    }
    if (next.n == 0 && bad_key) {
        rc = describe_conflict(bad_a, bad_b, bad_key, reason, reasonsz, err);
        if (rc != 0)
            goto out;
    }
    alts_cleanup(acc);
    *acc = next;
    next.v = NULL;
    next.n = 0;
    goto out;
nomem:
    core_err_set(err, rc, "volume topology: out of memory");
out:
    core_free(bad_key);
    alts_cleanup(&next);
    return rc;
}

int launcher_volume_topology(const struct k8s_pod *pod, const struct launcher_sched_input *in,
                             struct launcher_volume_topo *out, struct core_err *err)
{
    struct launcher_volume_topo res;
    struct alts acc = {0}, one = {0};
    int constrained = 0; /* acc holds a constraint (else nothing constrains the pod yet) */
    int conflicted = 0;  /* the volumes so far do not intersect; res.reason says so */
    char vol_reason[LAUNCHER_SCHED_REASON_MAX] = "";
    int rc;

    memset(&res, 0, sizeof(res));
    if (!pod || !in || !out ||
        (in->npvcs && !in->pvcs) || (in->npvs && !in->pvs) ||
        (in->nstorage_classes && !in->storage_classes))
        return core_err_set(err, CORE_E_INVAL, "volume topology: invalid arguments");

    const char *ns = ns_or_default(pod->meta.ns);
    const struct k8s_strings *claims = &pod->spec.claims;
    for (size_t i = 0; i < claims->n && !vol_reason[0]; i++) {
        const char *claim = claims->v[i];
        int seen = !claim;
        for (size_t j = 0; j < i && !seen; j++)
            seen = str_eq(claims->v[j], claim);
        if (seen)
            continue;

        rc = alts_init(&one);
        if (rc != 0) {
            core_err_set(err, rc, "volume topology: out of memory");
            goto out;
        }
        rc = claim_alts(ns, claim, in, &one, vol_reason, sizeof(vol_reason), err);
        if (rc != 0)
            goto out;
        /* Once the volumes conflict, later ones are still looked at for their own reasons. */
        if (!vol_reason[0] && one.n > 0 && !conflicted) {
            if (!constrained) {
                alts_cleanup(&acc);
                acc = one;
                one.v = NULL;
                one.n = 0;
                constrained = 1;
            } else {
                rc = combine(&acc, &one, res.reason, sizeof(res.reason), err);
                if (rc != 0)
                    goto out;
                conflicted = acc.n == 0;
            }
        }
        alts_cleanup(&one);
    }

    if (vol_reason[0]) {
        core_strlcpy(res.reason, vol_reason, sizeof(res.reason));
    } else if (!conflicted && acc.n > 0) {
        res.alts = acc.v;
        res.nalts = acc.n;
        acc.v = NULL;
        acc.n = 0;
    }
    *out = res;
    rc = 0;
out:
    alts_cleanup(&one);
    alts_cleanup(&acc);
    return rc;
}

void launcher_volume_topo_cleanup(struct launcher_volume_topo *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->nalts; i++)
        launcher_reqs_cleanup(&v->alts[i]);
    core_free(v->alts);
    v->alts = NULL;
    v->nalts = 0;
    v->reason[0] = '\0';
}
