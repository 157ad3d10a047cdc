/*
 * launcher/internal.h — declarations shared by the launcher's own files and its tests, not by
 * other modules: the requirement-set algebra the scheduler reasons with, fast access to
 * offerings by type index, and volume topology.
 *
 * Invariants:
 *  - A launcher_reqs is sorted by key, keys unique and normalised (launcher_label_normalize);
 *    every value list is sorted (strcmp) and unique. Every function keeps that.
 *  - Nothing here does I/O, reads a clock or logs.
 */
#ifndef STOKER_LAUNCHER_INTERNAL_H
#define STOKER_LAUNCHER_INTERNAL_H

#include "launcher/launcher.h"

/* ------------------------------------------------------------------------------------------ */
/* Requirement sets                                                                            */
/* ------------------------------------------------------------------------------------------ */

/* What one key may be. The allowed values are `values` (complement == 0) or every value but
 * `values` (complement == 1), further limited, for values that are integers, by gt/lt (a
 * non-integer value fails a bound). absent_ok says a node without the label satisfies it.
 *   In [v...]     complement 0, values v, absent_ok 0
 *   NotIn [v...]  complement 1, values v, absent_ok 1
 *   Exists        complement 1, no values, absent_ok 0
 *   DoesNotExist  complement 0, no values, absent_ok 1
 *   Gt n / Lt n   complement 1, no values, has_gt/has_lt, absent_ok 0
 * A key with no entry allows everything, absent included. */
struct launcher_req {
    char *key;
    int complement;
    struct k8s_strings values;
    int absent_ok;
    int has_gt, has_lt;
    int64_t gt, lt;
    int64_t min_values; /* the largest minValues seen for the key; 0 = none */
    int label;          /* launcher_label_index(key), kept so hot paths need not look it up */
};

struct launcher_reqs {
    struct launcher_req *v;
    size_t n;
};

/* The entry for key (normalised here), or NULL. Borrowed. */
const struct launcher_req *launcher_reqs_get(const struct launcher_reqs *r, const char *key);
/* Whether value (NULL = the label is absent) satisfies q. */
int launcher_req_allows(const struct launcher_req *q, const char *value);
/* Whether no value and no absence satisfies q. */
int launcher_req_empty(const struct launcher_req *q);
/* Whether r admits a node with these concrete labels (keys normalised while comparing). */
int launcher_reqs_match_labels(const struct launcher_reqs *r, const struct k8s_labels *labels);

/* Intersects a Kubernetes requirement into r (its key normalised; Gt/Lt values must be
 * integers, else CORE_E_INVAL naming the key). The result may be empty: that is not an error
 * here (see launcher_reqs_conflict). */
int launcher_reqs_add(struct launcher_reqs *r, const struct k8s_requirement *q,
                      struct core_err *err) CORE_NODISCARD;
/* Intersects key In [value]. */
int launcher_reqs_add_in(struct launcher_reqs *r, const char *key, const char *value,
                         struct core_err *err) CORE_NODISCARD;
/* Intersects key In values[0..n). */
int launcher_reqs_add_in_list(struct launcher_reqs *r, const char *key,
                              const char *const *values, size_t n,
                              struct core_err *err) CORE_NODISCARD;
/* dst ∩= src. */
int launcher_reqs_intersect(struct launcher_reqs *dst, const struct launcher_reqs *src,
                            struct core_err *err) CORE_NODISCARD;
/* The first (by key) entry of r that nothing satisfies, or NULL when r is satisfiable. */
const struct launcher_req *launcher_reqs_conflict(const struct launcher_reqs *r);
/* Whether a ∩ b is satisfiable, without building it; on 0, *key (may be NULL) is the first
 * conflicting key (borrowed from a or b). */
int launcher_reqs_compatible(const struct launcher_reqs *a, const struct launcher_reqs *b,
                             const char **key);
int launcher_reqs_copy(struct launcher_reqs *dst, const struct launcher_reqs *src,
                       struct core_err *err) CORE_NODISCARD;
void launcher_reqs_cleanup(struct launcher_reqs *r);

/* Renders r as Kubernetes requirements (owned by the caller: free each with
 * launcher_k8s_reqs_free). In for finite sets, NotIn for complements with values, Exists,
 * DoesNotExist, and a Gt/Lt pair for bounds (a complement with values and a bound gives two
 * entries); minValues copied onto the key's first entry. */
int launcher_reqs_to_k8s(const struct launcher_reqs *r, struct k8s_requirement **out,
                         size_t *nout, struct core_err *err) CORE_NODISCARD;
void launcher_k8s_reqs_free(struct k8s_requirement *v, size_t n);
/* Human text for one entry, for reasons: "topology.kubernetes.io/zone In [us-east-1a
 * us-east-1b]", "kubernetes.io/arch NotIn [arm64]", "karpenter.k8s.aws/instance-cpu Gt 3 Lt 65",
 * "foo DoesNotExist". Appends to out. */
int launcher_req_describe(const struct launcher_req *q, struct core_buf *out) CORE_NODISCARD;

/* Whether type t (its labels[]) satisfies every per-type entry of r (keys with a
 * launcher_label_index >= 0); other keys are not looked at. */
int launcher_reqs_admit_type(const struct launcher_reqs *r, const struct launcher_itype *t);

/* ------------------------------------------------------------------------------------------ */
/* Offerings by index                                                                          */
/* ------------------------------------------------------------------------------------------ */

/* One offering of a type. */
struct launcher_offer {
    uint8_t zone;              /* index into launcher_offerings_zone */
    uint8_t ct;                /* enum launcher_ct */
    double price;
    core_ns unavailable_until; /* 0 = available */
};
/* The offerings of the catalog's type index ti (borrowed; *n set; NULL when none), ordered by
 * zone index then capacity type. */
const struct launcher_offer *launcher_offerings_of(const struct launcher_offerings *o, size_t ti,
                                                   size_t *n);
/* The index of a zone name, or -1. */
int launcher_offerings_zone_index(const struct launcher_offerings *o, const char *zone);

/* ------------------------------------------------------------------------------------------ */
/* Volume topology                                                                             */
/* ------------------------------------------------------------------------------------------ */

/* The node constraints a pod's volumes impose, as alternatives: the pod may go where any one
 * of alts[0..nalts) holds (each already intersected across the pod's volumes). nalts == 0 with
 * reason[0] == '\0' means no volume constraint. When the volumes make the pod unschedulable,
 * reason says why (nalts is 0):
 *   "persistentvolumeclaim \"ns/x\" not found"
 *   "persistentvolumeclaim \"ns/x\" is being deleted"
 *   "persistentvolumeclaim \"ns/x\" is unbound and its storage class \"gp2\" binds Immediately"
 *   "storage class \"fast\" of persistentvolumeclaim \"ns/x\" not found"
 *   "persistentvolume \"pv-1\" of persistentvolumeclaim \"ns/x\" not found"
 *   "persistentvolumeclaim \"ns/x\" is bound to \"pv-1\" claimed by another claim"
 *   "the volumes' topologies do not intersect: ..."
 * A bound PVC constrains to its PV's required node affinity (each term an alternative); an
 * unbound one whose class binds WaitForFirstConsumer to the class's allowedTopologies (or
 * nothing). topology.ebs.csi.aws.com/zone is the zone key (launcher_label_normalize). A PVC with
 * no storageClassName uses the class annotated storageclass.kubernetes.io/is-default-class
 * "true" (the newest by creation time, then name, if several); no default → unschedulable.
 * Alternatives are capped at LAUNCHER_VOLUME_MAX_ALTS (the rest are dropped, in order). */
#define LAUNCHER_VOLUME_MAX_ALTS 16
struct launcher_volume_topo {
    struct launcher_reqs *alts;
    size_t nalts;
    char reason[LAUNCHER_SCHED_REASON_MAX];
};
int launcher_volume_topology(const struct k8s_pod *pod, const struct launcher_sched_input *in,
                             struct launcher_volume_topo *out,
                             struct core_err *err) CORE_NODISCARD;
void launcher_volume_topo_cleanup(struct launcher_volume_topo *v);

/* ------------------------------------------------------------------------------------------ */
/* Catalog internals                                                                           */
/* ------------------------------------------------------------------------------------------ */

/* Fills t->labels[] from t's fields; the strings are appended to arena (NUL-separated) and the
 * pointers fixed up by the caller after the arena stops moving: labels[] receive offsets+1
 * cast through uintptr_t (0 = NULL). launcher_itype_labels_fix converts them to pointers. */
int launcher_itype_labels_render(struct launcher_itype *t, struct core_buf *arena,
                                 struct core_err *err) CORE_NODISCARD;
void launcher_itype_labels_fix(struct launcher_itype *t, const char *arena_base);

#endif /* STOKER_LAUNCHER_INTERNAL_H */
