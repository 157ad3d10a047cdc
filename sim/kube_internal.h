/*
 * sim/kube_internal.h — what the emulated Kubernetes API's files share: the resource registry,
 * the object store, the watch history, and the hooks between them.
 *
 * Files and what each owns:
 *   kube_store.c   struct sim_kube, the registry of served resources (built-ins), objects,
 *                  resourceVersion, uids, defaults, create/update/patch/delete semantics
 *                  (finalizers, deletionTimestamp, generation, owner-reference GC), the watch
 *                  history and in-process watches, the public sim_kube_* in-process API.
 *   kube_patch.c   JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge patch
 *                  for the built-in kinds, server-side apply (simplified: see the file).
 *   kube_select.c  label and field selectors.
 *   kube_api.c     HTTP: routing, discovery, verbs, metav1.Status errors, faults.
 *   kube_watch.c   HTTP watches over struct sim_stream: replay, bookmarks, timeouts, drops.
 *   kube_crd.c     CustomResourceDefinitions: loading, serving, OpenAPI v3 schema validation.
 *   kube_table.c   meta.k8s.io Table answers (what `kubectl get` prints): columns for the
 *                  built-in kinds and CRD additionalPrinterColumns (a JSONPath subset).
 *
 * Invariants:
 *  - Every stored object is a JSON object with apiVersion, kind, metadata.name, uid,
 *    resourceVersion (decimal string of the write's counter), creationTimestamp; stored
 *    objects are never mutated in place after a write: a write replaces the json_t, so a
 *    snapshot held by the history or a watcher stays valid (reference counted).
 *  - Writes are synchronous; every notification (history append, stream writes, in-process
 *    watch callbacks) is queued and delivered from the loop, never inside the write.
 *  - The history is ordered by resourceVersion; sim_kube_history_since answers CORE_E_STATE
 *    ("too old") when the requested version precedes the oldest kept event.
 */
#ifndef STOKER_SIM_KUBE_INTERNAL_H
#define STOKER_SIM_KUBE_INTERNAL_H

#include "sim/internal.h"
#include "sim/sim.h"

#include <jansson.h>

struct sim_ksel;
struct sim_kwatch;

/* One served resource. */
struct sim_kres {
    char group[128];      /* "" for core */
    char version[32];     /* "v1" */
    char plural[64];      /* "pods" */
    char singular[64];    /* "pod" */
    char kind[64];        /* "Pod" */
    char list_kind[80];   /* "PodList" */
    char key[200];        /* "pods", "nodeclaims.stoker.dev": the in-process resource name */
    const char *short_names[4]; /* static, NULL-terminated early */
    char *crd_short_names; /* owned "sn1,sn2" for CRDs, NULL for built-ins */
    int namespaced;
    int has_status;       /* status subresource: main writes ignore status, /status only it */
    int is_crd;
    json_t *schema;       /* CRD openAPIV3Schema (owned), NULL for built-ins */
    json_t *printer_columns; /* CRD additionalPrinterColumns (owned), NULL if none */
    struct core_map *objects; /* "ns/name" (or "/name") -> json_t* (owned reference) */
    size_t count;
};

/* One change, for the history and watchers. */
enum sim_kev_type { SIM_KEV_ADDED = 1, SIM_KEV_MODIFIED, SIM_KEV_DELETED };
struct sim_kevent {
    uint64_t rv;
    enum sim_kev_type type;
    struct sim_kres *res;
    json_t *obj;          /* the object after the change (for DELETED: its last state) */
    json_t *prev;         /* the object before the change; NULL for ADDED. Selector watches
                             decide ADDED/MODIFIED/DELETED from matched-before vs matches-now */
    core_ns at;           /* mono */
};
const char *sim_kev_name(enum sim_kev_type t); /* "ADDED", ... */

/* Listener on every change (HTTP watches, in-process watches). Called from the loop, in
 * resourceVersion order. */
typedef void (*sim_kube_listener_fn)(void *ud, const struct sim_kevent *ev);
struct sim_klistener;

struct sim_kube {
    struct core_loop *loop;  /* borrowed */
    struct sim_kube_opts opts;
    char git_version[32];
    struct sim_rng rng;      /* faults */
    uint64_t rv;             /* last resourceVersion handed out */
    uint64_t uid_counter;

    struct sim_kres **res;   /* registry, in registration order */
    size_t nres, res_cap;

    struct sim_kevent *hist; /* ring buffer of the newest events */
    size_t hist_cap, hist_head, hist_len;
    uint64_t hist_floor;     /* the oldest resourceVersion a watch may resume from */

    struct sim_kevent *pending; /* queued for delivery to listeners on the next loop turn */
    size_t npending, pending_cap;
    struct core_timer *deliver_timer;

    struct sim_klistener *listeners;
    struct sim_kube_watch *watches;  /* in-process watches (sim_kube_watch) */
    struct sim_kwatch *http_watches; /* kube_watch.c's open HTTP watches */
    struct core_timer *gc_timer;     /* owner-reference garbage collection */
};

/* ---- registry (kube_store.c) ---- */

/* Adds a resource; the struct is copied; objects map created here. CORE_E_CONFLICT when the
 * key exists. */
int sim_kube_register(struct sim_kube *k, const struct sim_kres *tmpl, struct sim_kres **out,
                      struct core_err *err) CORE_NODISCARD;
/* By in-process key ("pods", "nodeclaims.stoker.dev"). */
struct sim_kres *sim_kube_res_by_key(struct sim_kube *k, const char *key);
/* By HTTP coordinates: group ("" core), version, plural. */
struct sim_kres *sim_kube_res_find(struct sim_kube *k, const char *group, const char *version,
                                   const char *plural);
/* "ns/name" for namespaced resources, "/name" otherwise. */
void sim_kube_obj_key(const struct sim_kres *r, const char *ns, const char *name, char *out,
                      size_t outsz);

/* ---- store verbs shared by the HTTP layer and the in-process API (kube_store.c) ---- */

/* Every verb: res and names are validated (DNS-1123 names; a namespaced resource needs ns and
 * the namespace must exist for create); *out gets a new reference to the stored object on
 * success (may be NULL). Errors set err->code (CORE_E_NOTFOUND, CORE_E_CONFLICT, CORE_E_INVAL,
 * CORE_E_STATE for a write on a terminating namespace), err->http_status (404, 409, 422, ...)
 * and err->service_code to the metav1.Status reason (NotFound, AlreadyExists, Conflict,
 * Invalid, BadRequest, MethodNotAllowed, Forbidden). */
int sim_kube_store_get(struct sim_kube *k, struct sim_kres *r, const char *ns, const char *name,
                       json_t **out, struct core_err *err) CORE_NODISCARD;
/* obj borrowed. generateName honoured when name is absent. status is dropped on create when
 * the resource has a status subresource (as the API does), except for in-process creates that
 * pass keep_status = 1 (the simulated cluster seeding objects). dry_run validates only. */
int sim_kube_store_create(struct sim_kube *k, struct sim_kres *r, const char *ns,
                          const json_t *obj, int keep_status, int dry_run, json_t **out,
                          struct core_err *err) CORE_NODISCARD;
/* Full replacement. subresource: NULL (main: status kept from the stored object when the
 * resource has a status subresource), "status" (only status replaced). */
int sim_kube_store_update(struct sim_kube *k, struct sim_kres *r, const char *ns,
                          const char *name, const json_t *obj, const char *subresource,
                          int dry_run, json_t **out, struct core_err *err) CORE_NODISCARD;
/* Patch types by Content-Type. */
enum sim_kpatch {
    SIM_KPATCH_MERGE = 1,     /* application/merge-patch+json */
    SIM_KPATCH_JSON,          /* application/json-patch+json */
    SIM_KPATCH_STRATEGIC,     /* application/strategic-merge-patch+json */
    SIM_KPATCH_APPLY,         /* application/apply-patch+yaml (body may be YAML or JSON) */
};
/* patch is the raw body. field_manager and force matter for APPLY only. APPLY creates the
 * object when it does not exist. */
int sim_kube_store_patch(struct sim_kube *k, struct sim_kres *r, const char *ns,
                         const char *name, enum sim_kpatch type, const char *patch,
                         size_t patch_len, const char *subresource, const char *field_manager,
                         int force, int dry_run, json_t **out,
                         struct core_err *err) CORE_NODISCARD;
/* precondition_uid / precondition_rv may be NULL. propagation: NULL/"Background", "Foreground"
 * (treated as Background), "Orphan" (dependents' owner references removed). *out: the object
 * as deleted, or as kept with deletionTimestamp when finalizers remain. */
int sim_kube_store_delete(struct sim_kube *k, struct sim_kres *r, const char *ns,
                          const char *name, const char *precondition_uid,
                          const char *precondition_rv, const char *propagation, int dry_run,
                          json_t **out, struct core_err *err) CORE_NODISCARD;
/* Matching objects in key order (namespace, then name), a new array. continue_from: resume
 * after this object key (exclusive), NULL from the start; limit 0 = all; *next_key (heap
 * string, or NULL at the end) is the last key returned when more remain. */
int sim_kube_store_list(struct sim_kube *k, struct sim_kres *r, const char *ns,
                        const struct sim_ksel *labels, const struct sim_ksel *fields,
                        const char *continue_from, size_t limit, json_t **items,
                        char **next_key, struct core_err *err) CORE_NODISCARD;

/* ---- history and listeners (kube_store.c) ---- */

/* Events with rv > since, for res (NULL = all), in order: calls fn for each. CORE_E_STATE when
 * since < hist_floor (the caller answers 410 Gone). */
int sim_kube_history_since(struct sim_kube *k, struct sim_kres *res, uint64_t since,
                           sim_kube_listener_fn fn, void *ud) CORE_NODISCARD;
int sim_kube_listen(struct sim_kube *k, sim_kube_listener_fn fn, void *ud,
                    struct sim_klistener **out) CORE_NODISCARD;
/* Safe from inside a listener callback. Accepts NULL. */
void sim_kube_unlisten(struct sim_kube *k, struct sim_klistener *l);

/* ---- selectors (kube_select.c) ---- */

#define SIM_KSEL_MAX 32u
enum sim_ksel_op { SIM_KSEL_EQ = 1, SIM_KSEL_NE, SIM_KSEL_IN, SIM_KSEL_NOTIN, SIM_KSEL_EXISTS,
                   SIM_KSEL_NOT_EXISTS, SIM_KSEL_GT, SIM_KSEL_LT };
struct sim_ksel_req {
    char *key;
    enum sim_ksel_op op;
    char **values;
    size_t nvalues;
};
struct sim_ksel {
    struct sim_ksel_req req[SIM_KSEL_MAX];
    size_t n;
};
/* Label selector syntax ("a=b,c!=d,e in (f,g),!h,i"); CORE_E_INVAL naming the problem. NULL or
 * "" gives an empty selector (matches everything). */
int sim_ksel_parse_labels(const char *text, struct sim_ksel *out,
                          struct core_err *err) CORE_NODISCARD;
/* Field selector syntax ("a.b=c,d!=e"); only =, ==, != . */
int sim_ksel_parse_fields(const char *text, struct sim_ksel *out,
                          struct core_err *err) CORE_NODISCARD;
void sim_ksel_cleanup(struct sim_ksel *s);
/* Labels of obj (metadata.labels) against a label selector; NULL sel matches. */
int sim_ksel_match_labels(const struct sim_ksel *sel, const json_t *obj);
/* Fields of obj (dotted paths into the object; values compared as strings, numbers and
 * booleans in their JSON text) against a field selector; NULL sel matches. */
int sim_ksel_match_fields(const struct sim_ksel *sel, const json_t *obj);

/* ---- patches (kube_patch.c) ---- */

/* Each returns a new object (target untouched) or an error naming the problem: CORE_E_INVAL
 * for a malformed patch (400) and for one that cannot apply, a failed JSON-patch "test"
 * included (422 Invalid, as the API server answers). */
int sim_kube_merge_patch(const json_t *target, const json_t *patch, json_t **out,
                         struct core_err *err) CORE_NODISCARD;
int sim_kube_json_patch(const json_t *target, const json_t *ops, json_t **out,
                        struct core_err *err) CORE_NODISCARD;
/* Strategic merge: merge patch, except lists with a merge key for the kind (containers,
 * initContainers, volumes, env, ports by name; conditions by type; tolerations, taints by key
 * + effect; finalizers and ownerReferences as sets) are merged by key, and "$patch": "delete"
 * / "$retainKeys" / "$deleteFromPrimitiveList/..." directives are applied. */
int sim_kube_strategic_patch(const json_t *target, const json_t *patch, const char *kind,
                             json_t **out, struct core_err *err) CORE_NODISCARD;

/* ---- kube_store.c extras ---- */

/* The pods/binding subresource: sets spec.nodeName when it is empty (CORE_E_CONFLICT, 409,
 * otherwise) and the condition PodScheduled=True. */
int sim_kube_store_bind(struct sim_kube *k, const char *ns, const char *pod, const char *node,
                        struct core_err *err) CORE_NODISCARD;
/* The pods/eviction subresource: refused with CORE_E_THROTTLED, 429 TooManyRequests when a
 * PodDisruptionBudget selecting the pod allows no disruption (computed from its spec and the
 * ready pods it selects); the pod is deleted otherwise. */
int sim_kube_store_evict(struct sim_kube *k, const char *ns, const char *pod,
                         struct core_err *err) CORE_NODISCARD;

/* ---- kube_patch.c extras ---- */

/* Parses a server-side apply body (YAML or JSON): exactly one object, a new reference. */
int sim_kube_apply_parse(const char *body, size_t len, json_t **out,
                         struct core_err *err) CORE_NODISCARD;

/* ---- CRDs (kube_crd.c) ---- */

/* Validates obj against r->schema (types, required, enum, pattern, minimum/maximum,
 * minLength/maxLength, minItems/maxItems, x-kubernetes-preserve-unknown-fields; unknown fields
 * are pruned as the API does, so *pruned is a new object) — CORE_E_INVAL with every violation
 * named by field path ("spec.amiSelectorTerms[0].alias: Invalid value: ..."). For built-ins
 * (no schema) *pruned is a copy. Applies schema defaults. */
int sim_kube_crd_validate(const struct sim_kres *r, const json_t *obj, json_t **pruned,
                          struct core_err *err) CORE_NODISCARD;

/* ---- Tables (kube_table.c) ---- */

/* What rows carry in "object" (the includeObject query parameter). */
enum sim_ktable_include {
    SIM_KTABLE_INC_METADATA = 0, /* PartialObjectMetadata (the default, and kubectl's) */
    SIM_KTABLE_INC_NONE,         /* null */
    SIM_KTABLE_INC_OBJECT,       /* the whole object */
};
struct sim_ktable_req {
    int wanted;                  /* 1: answer with a Table */
    char api_version[24];        /* "meta.k8s.io/v1" or "meta.k8s.io/v1beta1" */
    enum sim_ktable_include include;
};
/* From the Accept header (NULL = none: no Table) and includeObject (NULL = Metadata). The
 * first media range we can serve decides: a Table (application/json;as=Table;g=meta.k8s.io;
 * v=v1 or v1beta1) or plain JSON (application/json, * / *); others are skipped. *out always
 * written; CORE_E_INVAL (http_status 400, BadRequest) for an unknown includeObject. */
int sim_ktable_negotiate(const char *accept, const char *include_object,
                         struct sim_ktable_req *out, struct core_err *err) CORE_NODISCARD;
/* Evaluates the JSONPath subset printer columns use: ".a.b" (backslash escapes a dot or any
 * other character), ['key'], [N] (negative from the end), [*], and filters
 * [?(@.a.b == "v")] (==, !=, or bare existence; string, number, true/false/null literals);
 * an optional leading "$" and surrounding "{...}". *out is the first match, borrowed from
 * obj, or NULL when nothing matches. CORE_E_INVAL for a path outside the subset (whatever
 * the data). */
int sim_ktable_jsonpath(const json_t *obj, const char *path, const json_t **out,
                        struct core_err *err) CORE_NODISCARD;
/* A Table of items (a JSON array of objects of r): the columns of r (CRD: Name then each
 * printer column; built-ins: what the API server prints for them, NAME and AGE otherwise),
 * one row per item, metadata.resourceVersion = rv and continue = cont (either may be NULL).
 * now_wall (wall ns) turns timestamps into ages. *out is a new object. */
int sim_ktable_build(const struct sim_kres *r, const json_t *items,
                     const struct sim_ktable_req *tr, const char *rv, const char *cont,
                     core_ns now_wall, json_t **out, struct core_err *err) CORE_NODISCARD;
/* The Table one watch event carries: one row for obj, its resourceVersion as the table's. */
int sim_ktable_event(const struct sim_kres *r, const json_t *obj, const struct sim_ktable_req *tr,
                     core_ns now_wall, json_t **out, struct core_err *err) CORE_NODISCARD;
/* An age as the API server prints it ("45s", "3m20s", "5h", "2d3h", "1y4d"). */
void sim_ktable_age(core_ns d, char *out, size_t outsz);

/* ---- HTTP watches (kube_watch.c) ---- */

struct sim_kwatch;
/* Starts an HTTP watch answer on req->stream for r (ns may be NULL), from resourceVersion
 * since ("" / "0" = now, after sending the current objects as ADDED when send_initial),
 * with selectors (ownership taken: cleaned up by the watch), bookmarks when asked, ending
 * after timeout (0 = opts.watch_timeout_max). table (copied; NULL or not wanted = plain
 * objects): ADDED/MODIFIED/DELETED events carry a one-row Table instead of the object.
 * Fills resp's status/headers (200, application/json) or a 410 Status document. */
int sim_kube_watch_start(struct sim_kube *k, struct sim_kres *r, const char *ns,
                         struct sim_ksel *labels, struct sim_ksel *fields, const char *since,
                         int bookmarks, int send_initial, core_ns timeout,
                         const struct sim_ktable_req *table,
                         const struct sim_http_req *req, struct core_http_response *resp,
                         struct core_err *err) CORE_NODISCARD;
/* Ends every HTTP watch (sim_kube_free). */
void sim_kube_watches_cleanup(struct sim_kube *k);

/* ---- Status documents (kube_api.c) ---- */

/* Writes a metav1.Status failure answer: {"kind":"Status","apiVersion":"v1","metadata":{},
 * "status":"Failure","message":...,"reason":...,"code":...} with Content-Type
 * application/json; err's http_status/service_code/message are used. */
void sim_kube_status_error(struct core_http_response *resp, const struct core_err *err);

#endif /* STOKER_SIM_KUBE_INTERNAL_H */
