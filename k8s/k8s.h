/*
 * k8s/k8s.h — the public interface of stoker's k8s module: how stoker talks to the Kubernetes
 * API server.
 *
 * Sections: quantities; resources; connection config and authentication (kubeconfig,
 * in-cluster, exec plugins, EKS tokens); the client (requests, Status errors, QPS limits);
 * watches and informers; leader election and events; typed objects.
 *
 * Invariants kept by everything declared here:
 *  - Every external symbol starts with k8s_ (types, functions) or K8S_ (macros).
 *  - Functions that can fail return 0 or a negative CORE_E_* code with detail in a caller-owned
 *    struct core_err (may be NULL); out-parameters are written only on success.
 *  - Everything that talks to the server is asynchronous through the core transport seam and
 *    runs on the core loop; callbacks run from the loop, never inside the call that started
 *    them.
 *  - Nothing here logs, and no token, key or certificate is ever put into an error message.
 *  - Every _free/_cleanup accepts NULL and a zeroed struct.
 *  - Objects from the server are jansson values; a decoder that turns one into a typed struct
 *    names the object and the JSON path of the first field that is wrong.
 */
#ifndef STOKER_K8S_H
#define STOKER_K8S_H

#include "aws/aws.h"
#include "core/core.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------------------------ */
/* Quantities                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Parses a resource quantity by the Kubernetes grammar (sign, digits with an optional
 * fraction, then a binary suffix Ki Mi Gi Ti Pi Ei, a decimal suffix n u m "" k M G T P E, or
 * an exponent e/E<int>) into thousandths of a unit, rounding up as Kubernetes' MilliValue does:
 * "100m" → 100, "1" → 1000, "1.5Gi" → 1610612736000, "1e3" → 1000000. Values whose milli form
 * does not fit in int64 are CORE_E_TOOBIG; anything off the grammar is CORE_E_PARSE. */
int k8s_quantity_parse_milli(const char *s, int64_t *milli) CORE_NODISCARD;
/* The same, in whole units rounded up (Value): "100m" → 1, "1.5Gi" → 1610612736. */
int k8s_quantity_parse(const char *s, int64_t *value) CORE_NODISCARD;
/* Formats milli-units canonically ("1500m", "2", "1Gi" is not produced: decimal only). */
void k8s_quantity_format_milli(int64_t milli, char *out, size_t outsz);

/* ------------------------------------------------------------------------------------------ */
/* Resources                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* An API resource: where its objects live. Constant tables; never freed. */
struct k8s_resource {
    const char *group;    /* "" for the core group */
    const char *version;  /* "v1", "v1alpha1" */
    const char *plural;   /* "pods" */
    const char *kind;     /* "Pod" */
    int namespaced;
};

extern const struct k8s_resource k8s_res_pods;
extern const struct k8s_resource k8s_res_nodes;
extern const struct k8s_resource k8s_res_namespaces;
extern const struct k8s_resource k8s_res_services;
extern const struct k8s_resource k8s_res_pvcs;
extern const struct k8s_resource k8s_res_pvs;
extern const struct k8s_resource k8s_res_storageclasses;
extern const struct k8s_resource k8s_res_daemonsets;
extern const struct k8s_resource k8s_res_leases;
extern const struct k8s_resource k8s_res_events;
extern const struct k8s_resource k8s_res_pdbs;
extern const struct k8s_resource k8s_res_nodepools;
extern const struct k8s_resource k8s_res_ec2nodeclasses;
extern const struct k8s_resource k8s_res_nodeclaims;
extern const struct k8s_resource k8s_res_warmpools;

#define K8S_GROUP "stoker.dev"
#define K8S_GROUP_VERSION "v1alpha1"

/* Appends the request path of a collection or an object:
 * "/api/v1/namespaces/ns/pods[/name[/sub]]", "/apis/stoker.dev/v1alpha1/nodeclaims[/name]".
 * ns is ignored for cluster-scoped resources and may be NULL (all namespaces) for namespaced
 * ones when name is NULL; name and subresource may be NULL. Names are validated (DNS-1123
 * subdomain characters) so a path can never be smuggled in. */
int k8s_resource_path(const struct k8s_resource *res, const char *ns, const char *name,
                      const char *subresource, struct core_buf *out,
                      struct core_err *err) CORE_NODISCARD;

/* ------------------------------------------------------------------------------------------ */
/* Connection config and authentication                                                        */
/* ------------------------------------------------------------------------------------------ */

enum k8s_auth_kind {
    K8S_AUTH_NONE = 0,   /* client certificate only, or anonymous */
    K8S_AUTH_TOKEN,      /* a fixed bearer token */
    K8S_AUTH_TOKEN_FILE, /* a token file, re-read when it changes (service-account tokens rotate) */
    K8S_AUTH_EXEC,       /* a client-go exec credential plugin */
    K8S_AUTH_EKS,        /* an EKS token from stoker's own AWS identity */
};

#define K8S_EXEC_MAX_ARGS 32
#define K8S_EXEC_MAX_ENV 32

/* Where the API server is and how to authenticate. Every string is owned (heap, core_malloc)
 * and released by k8s_config_cleanup. PEM blobs hold the decoded certificate text. */
struct k8s_config {
    char *server;         /* "https://host:port", no trailing '/' */
    char *ca_pem;         /* cluster CA; NULL = ca_file or the system store */
    size_t ca_pem_len;
    char *ca_file;
    char *client_cert_pem; /* client certificate authentication; both or neither */
    size_t client_cert_len;
    char *client_key_pem;  /* secret */
    size_t client_key_len;
    char *namespace_;      /* default namespace of the context ("default" if unset) */
    char *context;         /* the context used, for messages */
    enum k8s_auth_kind auth;
    char *token;           /* K8S_AUTH_TOKEN; secret */
    char *token_file;      /* K8S_AUTH_TOKEN_FILE */
    /* K8S_AUTH_EXEC */
    char *exec_command;
    char *exec_args[K8S_EXEC_MAX_ARGS];
    size_t exec_nargs;
    char *exec_env[K8S_EXEC_MAX_ENV]; /* "NAME=value" added to the plugin's environment */
    size_t exec_nenv;
    char *exec_api_version; /* client.authentication.k8s.io/v1 or v1beta1 */
    /* K8S_AUTH_EKS */
    char *eks_cluster;
    char *eks_region;
};

void k8s_config_cleanup(struct k8s_config *cfg);

/* Loads a kubeconfig (libyaml). paths is a ':'-separated list as in KUBECONFIG (NULL =
 * $KUBECONFIG, else $HOME/.kube/config); several files merge the way kubectl merges them (the
 * first file to define a name wins; current-context from the first file that sets it).
 * context NULL = current-context. Relative file paths in a file are relative to that file.
 * Errors name the file, the context/cluster/user and the field. env may be NULL (process
 * environment). */
int k8s_config_load_kubeconfig(const struct aws_env *env, const char *paths, const char *context,
                               struct k8s_config *out, struct core_err *err) CORE_NODISCARD;
/* In-cluster: KUBERNETES_SERVICE_HOST/PORT, the service-account token file (as
 * K8S_AUTH_TOKEN_FILE), CA and namespace under root (NULL =
 * /var/run/secrets/kubernetes.io/serviceaccount). */
int k8s_config_in_cluster(const struct aws_env *env, const char *root, struct k8s_config *out,
                          struct core_err *err) CORE_NODISCARD;

/* Produces bearer tokens for a config, asynchronously and cached. Opaque. */
struct k8s_auth;

/* cfg is copied as needed. creds (borrowed, may be NULL) is needed for K8S_AUTH_EKS. */
int k8s_auth_new(struct core_loop *loop, const struct k8s_config *cfg,
                 struct aws_creds_provider *creds, struct k8s_auth **out,
                 struct core_err *err) CORE_NODISCARD;
void k8s_auth_free(struct k8s_auth *a);
/* token is NULL for K8S_AUTH_NONE; borrowed for the callback. The callback runs from the loop.
 * Tokens are cached: a token file is re-read when its modification time or size changes (and
 * at least once a minute); exec credentials until their expirationTimestamp (minus a margin);
 * EKS tokens for 10 minutes. */
typedef void (*k8s_token_fn)(void *ud, int rc, const char *token, const struct core_err *err);
int k8s_auth_token(struct k8s_auth *a, k8s_token_fn cb, void *ud,
                   struct core_err *err) CORE_NODISCARD;
/* Withdraws pending k8s_auth_token calls made with (cb, ud). */
void k8s_auth_cancel(struct k8s_auth *a, k8s_token_fn cb, void *ud);
/* Forgets the cached token (the server answered 401): the next ask fetches a new one. */
void k8s_auth_invalidate(struct k8s_auth *a);

/* ------------------------------------------------------------------------------------------ */
/* Client                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* Sends requests to one API server: authentication, a QPS/burst limiter, Status decoding, and
 * retries of 429 (honouring Retry-After) and 5xx for safe requests. Opaque. */
struct k8s_client;

struct k8s_client_opts {
    double qps;            /* default 50 */
    unsigned burst;        /* default 100 */
    core_ns timeout;       /* per request (not watches); default 30 s */
    size_t max_response;   /* bytes; default 64 MiB (lists of many pods) */
    unsigned max_retries;  /* for 429 and 5xx; default 5 */
    const char *user_agent;    /* default "stoker/<version>" */
    const char *field_manager; /* default "stoker" */
};

/* loop, t and auth are borrowed and must outlive the client; cfg is copied. */
int k8s_client_new(struct core_loop *loop, struct core_http_transport *t,
                   const struct k8s_config *cfg, struct k8s_auth *auth,
                   const struct k8s_client_opts *opts, struct k8s_client **out,
                   struct core_err *err) CORE_NODISCARD;
/* Completes requests in flight with CORE_E_CANCELLED (callbacks run inside this call), stops
 * watches (their done callbacks run with CORE_E_CANCELLED), then frees. */
void k8s_client_free(struct k8s_client *c);
struct core_loop *k8s_client_loop(const struct k8s_client *c);
const char *k8s_client_field_manager(const struct k8s_client *c);

/* Result of a request. obj is the decoded JSON answer (borrowed for the callback; take a
 * reference with json_incref to keep it), NULL for an empty body. On failure rc is
 * CORE_E_NOTFOUND (404), CORE_E_CONFLICT (409), CORE_E_AUTH (401/403), CORE_E_THROTTLED (429
 * after retries), CORE_E_INVAL (400/422), CORE_E_HTTP (other), or a transport code; err has
 * http_status, the Status reason in service_code ("NotFound", "AlreadyExists", "Conflict",
 * "Invalid", "Expired", "Gone", ...) and its message. */
typedef void (*k8s_done_fn)(void *ud, int rc, json_t *obj, const struct core_err *err);

enum k8s_patch_type {
    K8S_PATCH_MERGE = 0, /* application/merge-patch+json */
    K8S_PATCH_JSON,      /* application/json-patch+json */
    K8S_PATCH_APPLY,     /* application/apply-patch+yaml (server-side apply, force) */
    K8S_PATCH_STRATEGIC, /* application/strategic-merge-patch+json (core kinds only) */
};

struct k8s_list_opts {
    const char *label_selector;
    const char *field_selector;
    unsigned limit;          /* page size; 0 = 500 */
    unsigned max_pages;      /* 0 = unbounded */
    const char *resource_version;
};

/* A generic request. path is an absolute API path ("/api/v1/..."), query may be NULL (already
 * encoded, without '?'); body (borrowed) may be NULL; content_type NULL = application/json. */
int k8s_request(struct k8s_client *c, const char *method, const char *path, const char *query,
                const char *content_type, const char *body, size_t body_len, k8s_done_fn cb,
                void *ud, struct core_err *err) CORE_NODISCARD;

int k8s_get(struct k8s_client *c, const struct k8s_resource *res, const char *ns,
            const char *name, k8s_done_fn cb, void *ud, struct core_err *err) CORE_NODISCARD;
/* Follows `continue` page after page; the answer is one List object whose items are every
 * page's items and whose metadata.resourceVersion is the last page's. opts may be NULL. */
int k8s_list(struct k8s_client *c, const struct k8s_resource *res, const char *ns,
             const struct k8s_list_opts *opts, k8s_done_fn cb, void *ud,
             struct core_err *err) CORE_NODISCARD;
int k8s_create(struct k8s_client *c, const struct k8s_resource *res, const char *ns,
               const json_t *obj, k8s_done_fn cb, void *ud, struct core_err *err) CORE_NODISCARD;
/* Replaces an object (PUT), optimistic on metadata.resourceVersion. subresource may be
 * "status". */
int k8s_update(struct k8s_client *c, const struct k8s_resource *res, const char *ns,
               const char *name, const char *subresource, const json_t *obj, k8s_done_fn cb,
               void *ud, struct core_err *err) CORE_NODISCARD;
/* patch is a JSON value (for K8S_PATCH_APPLY a full object; it is sent as JSON, which is YAML).
 * subresource may be "status". Apply uses the client's field manager with force=true. */
int k8s_patch(struct k8s_client *c, const struct k8s_resource *res, const char *ns,
              const char *name, const char *subresource, enum k8s_patch_type type,
              const json_t *patch, k8s_done_fn cb, void *ud, struct core_err *err) CORE_NODISCARD;

enum k8s_propagation { K8S_PROPAGATE_DEFAULT = 0, K8S_PROPAGATE_BACKGROUND,
                       K8S_PROPAGATE_FOREGROUND, K8S_PROPAGATE_ORPHAN };
struct k8s_delete_opts {
    const char *precondition_uid;              /* NULL = none */
    const char *precondition_resource_version; /* NULL = none */
    enum k8s_propagation propagation;
    int64_t grace_period_seconds;              /* -1 = server default */
};
int k8s_delete(struct k8s_client *c, const struct k8s_resource *res, const char *ns,
               const char *name, const struct k8s_delete_opts *opts, k8s_done_fn cb, void *ud,
               struct core_err *err) CORE_NODISCARD;
/* POST an Eviction (policy/v1) for a pod; a PDB that forbids it is CORE_E_THROTTLED (429)
 * with reason "TooManyRequests", returned without retrying so the caller can decide. */
int k8s_evict(struct k8s_client *c, const char *ns, const char *name, k8s_done_fn cb, void *ud,
              struct core_err *err) CORE_NODISCARD;
/* Fills err from a Kubernetes Status object (reason, code, message). For implementations and
 * the emulator's tests. */
int k8s_status_decode(const json_t *status, long http_status, struct core_err *err);

/* ------------------------------------------------------------------------------------------ */
/* Watches and informers                                                                       */
/* ------------------------------------------------------------------------------------------ */

#define K8S_WATCH_DEFAULT_MAX_EVENT (16u * 1024u * 1024u)

/* Splits a watch stream (one JSON object per line) into events, whatever the read boundaries.
 * A line longer than max_line is an error (CORE_E_TOOBIG), never unbounded growth. Caller-owned:
 * init/cleanup. */
struct k8s_splitter {
    struct core_buf line;
    size_t max_line;
};
void k8s_splitter_init(struct k8s_splitter *s, size_t max_line);
void k8s_splitter_cleanup(struct k8s_splitter *s);
/* Feeds bytes; calls fn for each complete line (without the '\n'; empty lines skipped). fn
 * returns 0 to go on. Returns the first non-zero fn result, or CORE_E_TOOBIG. */
int k8s_splitter_feed(struct k8s_splitter *s, const char *data, size_t len,
                      int (*fn)(void *ud, const char *line, size_t len), void *ud);

enum k8s_event_type { K8S_ADDED = 0, K8S_MODIFIED, K8S_DELETED, K8S_BOOKMARK, K8S_ERROR };

/* A raw watch: events as they come. obj is borrowed for the callback. done runs once when the
 * stream ends: rc 0 for a normal end (server timeout), CORE_E_STATE with err->http_status 410
 * for "resourceVersion too old" (an ERROR event or a 410 answer), or another error. */
typedef void (*k8s_watch_event_fn)(void *ud, enum k8s_event_type type, json_t *obj);
typedef void (*k8s_watch_done_fn)(void *ud, int rc, const struct core_err *err);

struct k8s_watch_opts {
    const char *resource_version;
    const char *label_selector;
    const char *field_selector;
    unsigned timeout_seconds;  /* server-side timeoutSeconds; default 300 */
    size_t max_event;          /* default K8S_WATCH_DEFAULT_MAX_EVENT */
    int no_bookmarks;          /* bookmarks are asked for unless set */
};

struct k8s_watch;
int k8s_watch_start(struct k8s_client *c, const struct k8s_resource *res, const char *ns,
                    const struct k8s_watch_opts *opts, k8s_watch_event_fn on_event,
                    k8s_watch_done_fn on_done, void *ud, struct k8s_watch **out,
                    struct core_err *err) CORE_NODISCARD;
/* Stops a watch without calling on_done. */
void k8s_watch_stop(struct k8s_watch *w);

/* An informer keeps a store of one resource in step with the server: list, then watch from the
 * list's resourceVersion (with bookmarks), re-watch when a watch ends normally, relist on 410,
 * back off on errors. The store holds decoded values (the decode hook) keyed "ns/name" (or
 * "name" for cluster-scoped objects), with secondary indexes. Opaque. */
struct k8s_informer;

/* Turns an object into the stored value (owned by the store afterwards). A decode error keeps
 * the object out of the store and is reported through on_error; the informer goes on. */
typedef int (*k8s_decode_fn)(void *ud, const json_t *obj, void **out, struct core_err *err);
typedef void (*k8s_value_free_fn)(void *value);
/* Writes up to max index values for a stored value into keys (each a heap string the informer
 * frees); returns how many, or negative on error. */
typedef int (*k8s_index_fn)(const void *value, char **keys, size_t max);
/* Change notification: old is NULL for an add, value NULL for a delete. Both borrowed. */
typedef void (*k8s_handler_fn)(void *ud, const char *key, const void *old, const void *value);
typedef void (*k8s_informer_error_fn)(void *ud, const char *key, const struct core_err *err);

struct k8s_informer_opts {
    const char *ns;              /* namespaced resources: NULL = all namespaces */
    const char *label_selector;
    const char *field_selector;
    unsigned page_limit;         /* default 500 */
    unsigned watch_timeout;      /* seconds; default 300 */
    size_t max_event;            /* default K8S_WATCH_DEFAULT_MAX_EVENT */
    core_ns backoff_base;        /* after errors; default 500 ms */
    core_ns backoff_cap;         /* default 30 s */
    k8s_decode_fn decode;        /* NULL: the store keeps the JSON object (json_t *) */
    k8s_value_free_fn free_value; /* NULL with decode NULL: json_decref */
    void *decode_ud;
    k8s_informer_error_fn on_error;
    void *error_ud;
};

int k8s_informer_new(struct k8s_client *c, const struct k8s_resource *res,
                     const struct k8s_informer_opts *opts, struct k8s_informer **out,
                     struct core_err *err) CORE_NODISCARD;
void k8s_informer_free(struct k8s_informer *inf);
int k8s_informer_add_handler(struct k8s_informer *inf, k8s_handler_fn fn,
                             void *ud) CORE_NODISCARD;
int k8s_informer_add_index(struct k8s_informer *inf, const char *name,
                           k8s_index_fn fn) CORE_NODISCARD;
int k8s_informer_start(struct k8s_informer *inf, struct core_err *err) CORE_NODISCARD;
void k8s_informer_stop(struct k8s_informer *inf);
/* True once the first list has been loaded into the store. */
int k8s_informer_synced(const struct k8s_informer *inf);
/* The stored value for a key, or NULL. Borrowed until the next change of that key. */
const void *k8s_informer_get(const struct k8s_informer *inf, const char *key);
size_t k8s_informer_len(const struct k8s_informer *inf);
/* Iterates the store: *iter = 0 to start; 0 at the end. */
int k8s_informer_next(const struct k8s_informer *inf, size_t *iter, const char **key,
                      const void **value);
/* Iterates the keys stored under one index value: *iter = 0 to start; 0 at the end. */
int k8s_informer_index_next(const struct k8s_informer *inf, const char *index, const char *value,
                            size_t *iter, const char **key, const void **stored);
/* Counters: lists, watches started, relists after 410, events applied, decode errors. */
struct k8s_informer_stats {
    unsigned long lists, watches, relists, events, decode_errors;
};
void k8s_informer_get_stats(const struct k8s_informer *inf, struct k8s_informer_stats *out);

/* ------------------------------------------------------------------------------------------ */
/* Leader election and events                                                                  */
/* ------------------------------------------------------------------------------------------ */

struct k8s_leader_opts {
    core_ns lease_duration; /* default 15 s */
    core_ns renew_deadline; /* default 10 s */
    core_ns retry_period;   /* default 2 s */
};
typedef void (*k8s_leader_fn)(void *ud);

/* Lease-based leader election (coordination.k8s.io/v1) on namespace/name with this identity.
 * on_start runs when this process becomes leader; on_stop when it stops being one (lost the
 * lease, failed to renew within renew_deadline, or released it), after which it tries again
 * unless stopped. Opaque. */
struct k8s_leader;
int k8s_leader_new(struct k8s_client *c, const char *ns, const char *name, const char *identity,
                   const struct k8s_leader_opts *opts, k8s_leader_fn on_start,
                   k8s_leader_fn on_stop, void *ud, struct k8s_leader **out,
                   struct core_err *err) CORE_NODISCARD;
int k8s_leader_start(struct k8s_leader *l, struct core_err *err) CORE_NODISCARD;
/* Releases the lease if held (graceful shutdown: holderIdentity cleared, so a successor takes
 * over at once), then stops. done (may be NULL) runs when the release has completed. */
void k8s_leader_release(struct k8s_leader *l, k8s_leader_fn done, void *ud);
int k8s_leader_is_leader(const struct k8s_leader *l);
/* Frees the elector. Its requests answer into it: free it only after release's done has run or
 * after the client has been freed (which completes them). Accepts NULL. */
void k8s_leader_free(struct k8s_leader *l);

/* The object an event is about. Strings borrowed for the call. */
struct k8s_object_ref {
    const char *api_version;
    const char *kind;
    const char *ns; /* NULL for cluster-scoped */
    const char *name;
    const char *uid;
};

/* Records events (events.k8s.io/v1) for a component. An event with the same object, type,
 * reason and message as a recent one updates that one's series count instead of creating
 * another, and each (object, reason) pair is limited to a small rate, so a hot loop cannot
 * flood the API. Opaque. */
struct k8s_recorder;
int k8s_recorder_new(struct k8s_client *c, const char *component, const char *instance,
                     struct k8s_recorder **out, struct core_err *err) CORE_NODISCARD;
void k8s_recorder_free(struct k8s_recorder *r);
/* type is "Normal" or "Warning"; reason CamelCase; message free text (cut at 1 KiB). Errors are
 * counted, not returned: events are best effort. */
void k8s_event(struct k8s_recorder *r, const struct k8s_object_ref *obj, const char *type,
               const char *reason, const char *message);
/* Events created, updated (deduplicated), dropped by the rate limit, failed. */
struct k8s_recorder_stats {
    unsigned long created, updated, dropped, failed;
};
void k8s_recorder_get_stats(const struct k8s_recorder *r, struct k8s_recorder_stats *out);

#endif /* STOKER_K8S_H */
