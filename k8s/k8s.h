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
 * an exponent e/E<int>) into thousandths of a unit, rounding up as Kubernetes' MilliValue does
 * (a negative value's magnitude is rounded up: "-1.5" is -2 whole units):
 * "100m" → 100, "1" → 1000, "1.5Gi" → 1610612736000, "1e3" → 1000000. Values whose milli form
 * does not fit in int64 are CORE_E_TOOBIG; anything off the grammar is CORE_E_PARSE. */
int k8s_quantity_parse_milli(const char *s, int64_t *milli) CORE_NODISCARD;
/* The same, in whole units rounded up (Value): "100m" → 1, "1.5Gi" → 1610612736. */
int k8s_quantity_parse(const char *s, int64_t *value) CORE_NODISCARD;
/* Formats milli-units canonically, decimal SI only, the largest suffix that keeps an integer
 * ("1500m", "2", "2k", "1M"; a binary "1Gi" is never produced); truncates to outsz. */
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
/* YAML manifests                                                                              */
/* ------------------------------------------------------------------------------------------ */

/* Limits of k8s_yaml_parse: input bytes, collection nesting (alias expansions included), and
 * nodes per stream with every alias expansion counted in full (the "billion laughs" bound). */
#define K8S_YAML_MAX_INPUT (16u * 1024u * 1024u)
#define K8S_YAML_MAX_DEPTH 128u
#define K8S_YAML_MAX_NODES 1000000u

/* Parses a YAML stream (text[0..len), borrowed, need not be NUL-terminated) into one jansson
 * value per document, in order; empty and null documents are skipped, so *ndocs may be 0
 * (*docs NULL then). Plain scalars resolve by the YAML 1.2 core schema (null ~ and empty:
 * null; true/True/TRUE, false/False/FALSE: bool; decimal, 0x and 0o integers; floats), quoted
 * and block scalars are strings, and the tags !!str !!int !!bool !!float !!null !!map !!seq
 * are honoured (other tags are refused). .inf and .nan are refused: JSON has no such numbers.
 * Anchors and aliases resolve (an alias is a copy); mapping keys must be scalars and become
 * their text; a duplicate key is an error. Errors: CORE_E_PARSE (CORE_E_TOOBIG for a limit)
 * with "line L column C: ..." (1-based). Free the documents with k8s_yaml_docs_free. */
int k8s_yaml_parse(const char *text, size_t len, json_t ***docs, size_t *ndocs,
                   struct core_err *err) CORE_NODISCARD;
void k8s_yaml_docs_free(json_t **docs, size_t n);
/* Reads the file at path (at most K8S_YAML_MAX_INPUT bytes) and parses it; every error
 * message starts with the path: "nc.yaml: line 3 column 7: ...". */
int k8s_yaml_load_file(const char *path, json_t ***docs, size_t *ndocs,
                       struct core_err *err) CORE_NODISCARD;

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
 * CORE_E_NOTFOUND (404), CORE_E_CONFLICT (409), CORE_E_STATE (410: an expired
 * resourceVersion or continue token), CORE_E_AUTH (401/403), CORE_E_THROTTLED (429 after
 * retries), CORE_E_INVAL (400/422), CORE_E_HTTP (other), or a transport code; err has
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
/* Feeds bytes; calls fn for each complete line (without the '\n' or a CR before it; empty lines
 * skipped). fn returns 0 to go on. Returns the first non-zero fn result, or CORE_E_TOOBIG, after
 * which the splitter refuses all input until cleanup + init. max_line 0 = the default. */
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
/* Stops a watch without calling on_done. Safe from on_event; the handle is dead once on_done
 * has run (the watch frees itself after it returns). */
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
/* Writes up to max index values for a stored value into keys (each a heap string from
 * core_malloc that the informer frees); returns how many, or a negative code (CORE_E_NOMEM makes
 * the informer back off and relist rather than lose the change). */
typedef int (*k8s_index_fn)(const void *value, char **keys, size_t max);
/* Change notification: old is NULL for an add, value NULL for a delete. Both borrowed. */
typedef void (*k8s_handler_fn)(void *ud, const char *key, const void *old, const void *value);
/* key is NULL for a list or watch failure (a 410 is not reported: it is routine). */
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

/* The client must outlive the informer. Handlers and indexes are added before the first start.
 * With a decode hook and free_value NULL, stored values are never freed. */
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

/* ------------------------------------------------------------------------------------------ */
/* Typed objects                                                                               */
/* ------------------------------------------------------------------------------------------ */

/* Decoders from jansson objects into C structs for the kinds stoker reads. Common rules:
 *  - int k8s_<kind>_decode(const json_t *obj, struct k8s_<kind> *out, struct core_err *err)
 *    fills *out only on success; everything reachable from *out is owned by it (core_malloc)
 *    and released by k8s_<kind>_cleanup, which accepts NULL and a zeroed or cleaned struct.
 *  - Errors name the kind, the object ("ns/name", or "name"; from metadata) and the JSON
 *    path: "NodePool gpu: spec.template.spec.requirements[0].operator: expected In, NotIn,
 *    Exists, DoesNotExist, Gt or Lt, got 'Equals'". Codes: CORE_E_PARSE for a wrong JSON type
 *    or a value off its grammar (quantity, duration, time, cron), CORE_E_TOOBIG for a number
 *    too large, CORE_E_INVAL for a validation failure, CORE_E_NOMEM.
 *  - JSON null is the same as an absent field. A present "kind" must be the decoder's kind.
 *  - Core kinds ignore fields they do not model (the API server owns them); stoker's CRD specs
 *    (NodePool, EC2NodeClass, NodeClaim, WarmPool) reject unknown fields, since fields not
 *    supported yet must never be silently ignored. Their statuses are lenient (we write them).
 *  - Quantities are held in milli-units; resource quantities must not be negative.
 *  - Optional scalars whose absence matters come with a has_<field> flag; enums use 0 for
 *    "absent" only where the comment says so, otherwise the decoder fills the default. */

/* Go durations ("720h", "1h30m", "1.5s", "500ms", "-2m"; units ns us µs μs ms s m h) into
 * nanoseconds, exactly (fractions truncated toward zero, like Go). With K8S_DUR_ALLOW_NEVER the
 * word "Never" gives K8S_NEVER. CORE_E_PARSE off the grammar, CORE_E_TOOBIG past int64. */
#define K8S_NEVER INT64_MAX
#define K8S_DUR_ALLOW_NEVER 1u
int k8s_duration_parse(const char *s, unsigned flags, core_ns *out) CORE_NODISCARD;

/* A 5-field cron expression (minute 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC,
 * day of week 0-7 or SUN-SAT with 7 = Sunday), each field "*", a value, a range a-b, a list
 * with ',', and steps "/n" on "*" or a range (a bare value with a step means value-max); or one
 * of @yearly @annually @monthly @weekly @daily @midnight @hourly. An optional leading
 * "CRON_TZ=<zone> " or "TZ=<zone> " names the IANA time zone (checked for shape only: this
 * module reads no zone database). Value type, no heap. */
#define K8S_CRON_TZ_MAX 64
struct k8s_cron {
    uint64_t minutes;   /* bit i = minute i */
    uint32_t hours;     /* bit i = hour i */
    uint32_t mdays;     /* bit i = day i (1..31) */
    uint16_t months;    /* bit i = month i (1..12) */
    uint8_t wdays;      /* bit i = weekday i (0 = Sunday .. 6) */
    uint8_t mday_star;  /* the day field began with "*": cron's day-of-month/-week rule */
    uint8_t wday_star;
    char tz[K8S_CRON_TZ_MAX]; /* "" = the controller's zone (UTC) */
};
int k8s_cron_parse(const char *s, struct k8s_cron *out, struct core_err *err) CORE_NODISCARD;
/* Whether a broken-down local time matches (month 1-12, wday 0-6). Cron's rule: when both day
 * fields are restricted, either may match. */
int k8s_cron_matches(const struct k8s_cron *c, int minute, int hour, int mday, int month,
                     int wday);

/* ---- shared pieces ------------------------------------------------------------------------ */

/* A string map (labels, annotations, node selectors, tags): sorted by key, keys unique. */
struct k8s_kv {
    char *key;
    char *value;
};
struct k8s_labels {
    struct k8s_kv *v;
    size_t n;
};
/* The value for key, or NULL. Borrowed. */
const char *k8s_labels_get(const struct k8s_labels *l, const char *key);
/* Sets key to value (both copied), keeping the order. */
int k8s_labels_set(struct k8s_labels *l, const char *key, const char *value) CORE_NODISCARD;
void k8s_labels_cleanup(struct k8s_labels *l);

struct k8s_strings {
    char **v;
    size_t n;
};
int k8s_strings_contains(const struct k8s_strings *s, const char *value);
void k8s_strings_cleanup(struct k8s_strings *s);

/* A resource list ("cpu" -> 1500 milli): sorted by name, names unique. */
#define K8S_RES_PODS "pods"
struct k8s_res_qty {
    char *name;
    int64_t milli;
};
struct k8s_res_list {
    struct k8s_res_qty *v;
    size_t n;
};
/* The amount in milli-units; 0 when absent. */
int64_t k8s_res_get(const struct k8s_res_list *l, const char *name);
/* Sets name to milli (name copied). */
int k8s_res_set(struct k8s_res_list *l, const char *name, int64_t milli) CORE_NODISCARD;
/* l[name] += add[name] for every name of add; CORE_E_TOOBIG on overflow (l unchanged then). */
int k8s_res_add(struct k8s_res_list *l, const struct k8s_res_list *add) CORE_NODISCARD;
/* l[name] = max(l[name], other[name]) for every name of other. */
int k8s_res_max(struct k8s_res_list *l, const struct k8s_res_list *other) CORE_NODISCARD;
void k8s_res_cleanup(struct k8s_res_list *l);

struct k8s_owner_ref {
    char *api_version, *kind, *name, *uid;
    int controller;
};

struct k8s_meta {
    char *name;
    char *ns;               /* NULL for cluster-scoped objects */
    char *uid;
    char *resource_version;
    int64_t generation;
    struct k8s_labels labels;
    struct k8s_labels annotations;
    struct k8s_owner_ref *owners;
    size_t nowners;
    struct k8s_strings finalizers;
    core_ns creation_timestamp; /* wall ns */
    int has_creation_timestamp;
    core_ns deletion_timestamp;
    int has_deletion_timestamp; /* the object is being deleted */
};

/* A requirement {key, operator, values}: label selectors use In NotIn Exists DoesNotExist;
 * node selectors, NodePool and NodeClaim requirements also Gt and Lt (one integer value). */
enum k8s_op { K8S_OP_IN = 1, K8S_OP_NOT_IN, K8S_OP_EXISTS, K8S_OP_DOES_NOT_EXIST, K8S_OP_GT,
              K8S_OP_LT };
struct k8s_requirement {
    char *key;
    enum k8s_op op;
    struct k8s_strings values;
    int64_t min_values; /* NodePool/NodeClaim only; 0 = unset */
};
/* The operator's API spelling ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"); "" for a
 * value outside the enum. */
const char *k8s_op_name(enum k8s_op op);
/* Whether labels satisfy r (NotIn and DoesNotExist hold for an absent label; Gt/Lt need a
 * label that is an integer). */
int k8s_requirement_matches(const struct k8s_requirement *r, const struct k8s_labels *labels);

/* metav1.LabelSelector. An absent selector (present == 0) matches nothing; a present, empty
 * one matches everything. */
struct k8s_label_selector {
    int present;
    struct k8s_labels match_labels;
    struct k8s_requirement *exprs;
    size_t nexprs;
};
int k8s_label_selector_matches(const struct k8s_label_selector *sel,
                               const struct k8s_labels *labels);

/* A NodeSelector: terms ORed; inside a term every expression (on labels) and field (only
 * metadata.name) must hold; an empty term matches nothing. StorageClass allowedTopologies use
 * the same shape (each matchLabelExpressions entry becomes an In expression). */
struct k8s_node_selector_term {
    struct k8s_requirement *exprs;
    size_t nexprs;
    struct k8s_requirement *fields;
    size_t nfields;
};
struct k8s_node_selector {
    struct k8s_node_selector_term *terms;
    size_t nterms; /* 0 = no constraint */
};
int k8s_node_selector_matches(const struct k8s_node_selector *s, const struct k8s_labels *labels,
                              const char *node_name);

/* K8S_EFFECT_ALL appears only in tolerations (an empty effect tolerates every effect). */
enum k8s_effect { K8S_EFFECT_ALL = 0, K8S_EFFECT_NO_SCHEDULE, K8S_EFFECT_PREFER_NO_SCHEDULE,
                  K8S_EFFECT_NO_EXECUTE };
struct k8s_taint {
    char *key;
    char *value; /* NULL when absent */
    enum k8s_effect effect;
};
enum k8s_toleration_op { K8S_TOL_EQUAL = 1, K8S_TOL_EXISTS };
struct k8s_toleration {
    char *key;   /* NULL with Exists = every key */
    enum k8s_toleration_op op; /* default Equal */
    char *value;
    enum k8s_effect effect;
    int64_t seconds;
    int has_seconds;
};
/* The effect's API spelling ("NoSchedule", "PreferNoSchedule", "NoExecute"); "" for
 * K8S_EFFECT_ALL (tolerations only). */
const char *k8s_effect_name(enum k8s_effect e);
/* Whether the tolerations tolerate taint. */
int k8s_tolerates(const struct k8s_toleration *tols, size_t n, const struct k8s_taint *taint);

enum k8s_cond_status { K8S_COND_TRUE = 1, K8S_COND_FALSE, K8S_COND_UNKNOWN };
struct k8s_condition {
    char *type;
    enum k8s_cond_status status;
    char *reason;
    char *message;
    core_ns last_transition_time;
    int has_last_transition_time;
    int64_t observed_generation;
};
/* The condition of that type, or NULL. Borrowed. */
const struct k8s_condition *k8s_condition_find(const struct k8s_condition *v, size_t n,
                                               const char *type);

/* ---- pods ----------------------------------------------------------------------------------- */

struct k8s_node_preference {
    int64_t weight; /* 1..100 */
    struct k8s_node_selector_term preference;
};
struct k8s_pod_affinity_term {
    struct k8s_label_selector selector;
    char *topology_key;
    struct k8s_strings namespaces;
    struct k8s_label_selector ns_selector;
};
struct k8s_weighted_pod_term {
    int64_t weight; /* 1..100 */
    struct k8s_pod_affinity_term term;
};
struct k8s_pod_affinity {
    struct k8s_pod_affinity_term *required;
    size_t nrequired;
    struct k8s_weighted_pod_term *preferred;
    size_t npreferred;
};
struct k8s_affinity {
    struct k8s_node_selector node_required; /* requiredDuringSchedulingIgnoredDuringExecution */
    struct k8s_node_preference *node_preferred;
    size_t nnode_preferred;
    struct k8s_pod_affinity pod_affinity;
    struct k8s_pod_affinity pod_anti_affinity;
};

enum k8s_unsatisfiable { K8S_DO_NOT_SCHEDULE = 1, K8S_SCHEDULE_ANYWAY };
enum k8s_spread_policy { K8S_POLICY_HONOR = 1, K8S_POLICY_IGNORE };
struct k8s_spread {
    int64_t max_skew; /* >= 1 */
    char *topology_key;
    enum k8s_unsatisfiable when_unsatisfiable;
    struct k8s_label_selector selector;
    int64_t min_domains;                     /* 0 = unset (1) */
    enum k8s_spread_policy node_affinity_policy; /* default Honor */
    enum k8s_spread_policy node_taints_policy;   /* default Ignore */
    struct k8s_strings match_label_keys;
};

/* The scheduling-relevant part of a PodSpec (Pods and DaemonSet templates).
 * requests is the pod's effective request, computed as the scheduler does (1.29+ rule, KEP 753):
 * per resource name, a container's request is its requests[name], or limits[name] when the
 * request is absent (API defaulting); then
 *   effective = max(sum(containers) + sum(sidecars), max over init containers of InitUse(i))
 *               + overhead
 * where sidecars are init containers with restartPolicy Always, and InitUse(i) is the sum of the
 * sidecars declared before i plus i's own request (for a sidecar: the sidecars up to and
 * including it). "pods" is always 1 (1000 milli), so it packs against a node's pods capacity.
 * Ephemeral containers are not counted (they have no resources). */
struct k8s_pod_spec {
    char *node_name;
    char *scheduler_name;    /* default "default-scheduler" */
    char *priority_class_name;
    int64_t priority;
    int has_priority;
    struct k8s_labels node_selector;
    struct k8s_toleration *tolerations;
    size_t ntolerations;
    struct k8s_affinity affinity;
    struct k8s_spread *spread;
    size_t nspread;
    /* PVCs the pod uses: persistentVolumeClaim.claimName, and for a Pod also the claim of each
     * generic ephemeral volume ("<pod name>-<volume name>"). */
    struct k8s_strings claims;
    size_t nvolumes;         /* all volumes, of any type */
    struct k8s_res_list overhead;
    struct k8s_res_list requests; /* effective; see above */
};

enum k8s_pod_phase { K8S_POD_PENDING = 1, K8S_POD_RUNNING, K8S_POD_SUCCEEDED, K8S_POD_FAILED,
                     K8S_POD_UNKNOWN }; /* 0 = not reported yet */
struct k8s_pod {
    struct k8s_meta meta;
    struct k8s_pod_spec spec;
    enum k8s_pod_phase phase;
    struct k8s_condition *conditions;
    size_t nconditions;
    char *nominated_node_name;
};
int k8s_pod_decode(const json_t *obj, struct k8s_pod *out, struct core_err *err) CORE_NODISCARD;
void k8s_pod_cleanup(struct k8s_pod *p);
/* PodScheduled is False with reason Unschedulable: the scheduler gave up on this pod. */
int k8s_pod_unschedulable(const struct k8s_pod *p);

struct k8s_daemonset {
    struct k8s_meta meta;
    struct k8s_labels template_labels;
    struct k8s_pod_spec spec; /* spec.template.spec */
};
int k8s_daemonset_decode(const json_t *obj, struct k8s_daemonset *out,
                         struct core_err *err) CORE_NODISCARD;
void k8s_daemonset_cleanup(struct k8s_daemonset *d);

/* ---- nodes, storage, services, leases ------------------------------------------------------ */

struct k8s_node {
    struct k8s_meta meta;
    char *provider_id;
    int unschedulable;
    struct k8s_taint *taints;
    size_t ntaints;
    struct k8s_res_list capacity;
    struct k8s_res_list allocatable;
    struct k8s_condition *conditions;
    size_t nconditions;
};
int k8s_node_decode(const json_t *obj, struct k8s_node *out, struct core_err *err) CORE_NODISCARD;
void k8s_node_cleanup(struct k8s_node *n);
/* The Ready condition is True. */
int k8s_node_ready(const struct k8s_node *n);

enum k8s_pvc_phase { K8S_PVC_PENDING = 1, K8S_PVC_BOUND, K8S_PVC_LOST }; /* 0 = not reported */
struct k8s_pvc {
    struct k8s_meta meta;
    char *storage_class;     /* NULL = absent (the default class applies); "" = no class */
    char *volume_name;
    enum k8s_pvc_phase phase;
    char *selected_node;     /* annotation volume.kubernetes.io/selected-node */
};
int k8s_pvc_decode(const json_t *obj, struct k8s_pvc *out, struct core_err *err) CORE_NODISCARD;
void k8s_pvc_cleanup(struct k8s_pvc *p);

struct k8s_claim_ref {
    char *ns, *name, *uid;
};
struct k8s_pv {
    struct k8s_meta meta;
    struct k8s_node_selector node_affinity; /* spec.nodeAffinity.required */
    char *csi_driver;
    char *storage_class;
    struct k8s_claim_ref claim_ref; /* all NULL when unbound */
};
int k8s_pv_decode(const json_t *obj, struct k8s_pv *out, struct core_err *err) CORE_NODISCARD;
void k8s_pv_cleanup(struct k8s_pv *p);

enum k8s_binding_mode { K8S_BIND_IMMEDIATE = 1, K8S_BIND_WAIT_FOR_FIRST_CONSUMER };
struct k8s_storage_class {
    struct k8s_meta meta;
    char *provisioner;
    enum k8s_binding_mode binding_mode; /* default Immediate */
    struct k8s_node_selector allowed_topologies;
};
int k8s_storage_class_decode(const json_t *obj, struct k8s_storage_class *out,
                             struct core_err *err) CORE_NODISCARD;
void k8s_storage_class_cleanup(struct k8s_storage_class *s);

enum k8s_service_type { K8S_SVC_CLUSTER_IP = 1, K8S_SVC_NODE_PORT, K8S_SVC_LOAD_BALANCER,
                        K8S_SVC_EXTERNAL_NAME };
struct k8s_service {
    struct k8s_meta meta;
    struct k8s_labels selector;
    enum k8s_service_type type; /* default ClusterIP */
};
int k8s_service_decode(const json_t *obj, struct k8s_service *out,
                       struct core_err *err) CORE_NODISCARD;
void k8s_service_cleanup(struct k8s_service *s);

struct k8s_lease {
    struct k8s_meta meta;
    char *holder_identity;   /* NULL or "" = free */
    int64_t lease_duration_seconds;
    int has_lease_duration;
    core_ns acquire_time;    /* RFC 3339 micro-time, wall ns */
    int has_acquire_time;
    core_ns renew_time;
    int has_renew_time;
    int64_t lease_transitions;
};
int k8s_lease_decode(const json_t *obj, struct k8s_lease *out, struct core_err *err) CORE_NODISCARD;
void k8s_lease_cleanup(struct k8s_lease *l);

/* ---- stoker.dev/v1alpha1 (Karpenter v1 field names) --------------------------------------- */

/* Reserved tag keys, rejected in EC2NodeClass spec.tags because the controller writes them:
 * prefixes "kubernetes.io/cluster/", "karpenter.sh/", "karpenter.k8s.aws/", "stoker.dev/", "aws:"
 * (AWS refuses it), and the key "eks:eks-cluster-name". Label keys rejected in NodePool
 * requirements and template labels: "karpenter.sh/nodepool", "kubernetes.io/hostname". */
int k8s_tag_key_reserved(const char *key);

struct k8s_nodeclass_ref {
    char *group; /* "stoker.dev" (or "karpenter.k8s.aws", accepted for copied manifests) */
    char *kind;  /* "EC2NodeClass" */
    char *name;
};

enum k8s_consolidation { K8S_WHEN_EMPTY = 1, K8S_WHEN_EMPTY_OR_UNDERUTILIZED };
#define K8S_REASON_UNDERUTILIZED 1u
#define K8S_REASON_EMPTY 2u
#define K8S_REASON_DRIFTED 4u
struct k8s_budget {
    char *nodes;        /* as written: "10%" or "5" */
    int64_t nodes_count;   /* the number, or the percentage when nodes_percent */
    int nodes_percent;
    char *schedule;     /* cron text or NULL; then duration is set too */
    struct k8s_cron cron;
    core_ns duration;
    unsigned reasons;   /* K8S_REASON_* bits; 0 = all */
};

struct k8s_nodepool {
    struct k8s_meta meta;
    struct k8s_labels template_labels;
    struct k8s_labels template_annotations;
    struct k8s_nodeclass_ref node_class_ref;
    struct k8s_requirement *requirements;
    size_t nrequirements;
    struct k8s_taint *taints;
    size_t ntaints;
    struct k8s_taint *startup_taints;
    size_t nstartup_taints;
    core_ns expire_after;            /* default 720h; K8S_NEVER */
    core_ns termination_grace_period;
    int has_termination_grace_period;
    enum k8s_consolidation consolidation_policy; /* default WhenEmptyOrUnderutilized */
    core_ns consolidate_after;       /* default 0; K8S_NEVER */
    struct k8s_budget *budgets;      /* default one budget of 10% */
    size_t nbudgets;
    struct k8s_res_list limits;
    int64_t weight;                  /* 1..100; 0 = unset */
    /* status */
    struct k8s_res_list resources;
    struct k8s_condition *conditions;
    size_t nconditions;
};
int k8s_nodepool_decode(const json_t *obj, struct k8s_nodepool *out,
                        struct core_err *err) CORE_NODISCARD;
void k8s_nodepool_cleanup(struct k8s_nodepool *p);

struct k8s_nodeclaim {
    struct k8s_meta meta;
    struct k8s_requirement *requirements;
    size_t nrequirements;
    struct k8s_res_list requests;    /* spec.resources.requests */
    struct k8s_taint *taints;
    size_t ntaints;
    struct k8s_taint *startup_taints;
    size_t nstartup_taints;
    struct k8s_nodeclass_ref node_class_ref;
    core_ns expire_after;            /* default 720h; K8S_NEVER */
    core_ns termination_grace_period;
    int has_termination_grace_period;
    /* status */
    char *provider_id;               /* aws:///<zone>/<instance-id> */
    char *node_name;
    char *image_id;
    struct k8s_res_list capacity;
    struct k8s_res_list allocatable;
    struct k8s_condition *conditions;
    size_t nconditions;
};
int k8s_nodeclaim_decode(const json_t *obj, struct k8s_nodeclaim *out,
                         struct core_err *err) CORE_NODISCARD;
void k8s_nodeclaim_cleanup(struct k8s_nodeclaim *c);

enum k8s_ami_family { K8S_AMI_AL2 = 1, K8S_AMI_AL2023, K8S_AMI_BOTTLEROCKET, K8S_AMI_CUSTOM,
                      K8S_AMI_WINDOWS2019, K8S_AMI_WINDOWS2022, K8S_AMI_WINDOWS2025 };
/* The API's spelling ("AL2023", "Bottlerocket", ...), or NULL for a value outside the enum. */
const char *k8s_ami_family_name(enum k8s_ami_family f);
struct k8s_ami_term {
    char *alias;         /* "family@version"; alone in its term and the only term */
    char *id;
    char *name;
    char *owner;
    struct k8s_labels tags;
    char *ssm_parameter;
};
/* Subnet ({tags} or {id}) and security-group ({tags}, {id} or {name}) selector terms. */
struct k8s_selector_term {
    struct k8s_labels tags; /* "*" = any value */
    char *id;
    char *name;
};
struct k8s_kubelet {
    struct k8s_strings cluster_dns;
    int64_t max_pods;
    int has_max_pods;
    int64_t pods_per_core;
    int has_pods_per_core;
    struct k8s_res_list system_reserved; /* cpu, memory, ephemeral-storage, pid */
    struct k8s_res_list kube_reserved;
    struct k8s_labels eviction_hard;     /* signal -> "100Mi" or "10%" (checked) */
    struct k8s_labels eviction_soft;
    struct k8s_labels eviction_soft_grace_period; /* signal -> Go duration (checked) */
    int64_t eviction_max_pod_grace_period;
    int has_eviction_max_pod_grace_period;
    int64_t image_gc_high;               /* percent */
    int has_image_gc_high;
    int64_t image_gc_low;
    int has_image_gc_low;
    int cpu_cfs_quota;
    int has_cpu_cfs_quota;
};
enum k8s_volume_type { K8S_EBS_STANDARD = 1, K8S_EBS_IO1, K8S_EBS_IO2, K8S_EBS_GP2, K8S_EBS_SC1,
                       K8S_EBS_ST1, K8S_EBS_GP3 }; /* 0 = unset (EC2's default) */
struct k8s_ebs {
    int64_t volume_size;                 /* bytes; 0 = unset */
    enum k8s_volume_type volume_type;
    int64_t iops;
    int has_iops;
    int64_t throughput;                  /* MiB/s */
    int has_throughput;
    int encrypted;
    int has_encrypted;
    char *kms_key_id;
    int delete_on_termination;
    int has_delete_on_termination;
    char *snapshot_id;
    int64_t volume_initialization_rate;  /* MiB/s */
    int has_volume_initialization_rate;
};
struct k8s_block_device {
    char *device_name;
    int root_volume;
    struct k8s_ebs ebs;
};
enum k8s_toggle { K8S_ENABLED = 1, K8S_DISABLED };
enum k8s_http_tokens { K8S_TOKENS_REQUIRED = 1, K8S_TOKENS_OPTIONAL };
struct k8s_metadata_options {       /* defaults: enabled, disabled, 1, required */
    enum k8s_toggle http_endpoint;
    enum k8s_toggle http_protocol_ipv6;
    int64_t http_put_response_hop_limit; /* 1..64 */
    enum k8s_http_tokens http_tokens;
};
struct k8s_subnet_status {
    char *id, *zone, *zone_id;
};
struct k8s_sg_status {
    char *id, *name;
};
struct k8s_ami_status {
    char *id, *name;
    int deprecated;
    struct k8s_requirement *requirements;
    size_t nrequirements;
};
struct k8s_ec2nodeclass {
    struct k8s_meta meta;
    struct k8s_ami_term *ami_terms;      /* 1..30 */
    size_t nami_terms;
    enum k8s_ami_family ami_family;      /* given, or inferred from the alias */
    struct k8s_selector_term *subnet_terms;
    size_t nsubnet_terms;
    struct k8s_selector_term *sg_terms;
    size_t nsg_terms;
    char *role;                          /* exactly one of role and instance_profile */
    char *instance_profile;
    char *user_data;
    struct k8s_labels tags;
    struct k8s_kubelet kubelet;
    struct k8s_block_device *block_devices; /* <= 50; default: one root volume, 20Gi gp3
                                             * encrypted on /dev/xvda */
    size_t nblock_devices;
    int instance_store_raid0;            /* instanceStorePolicy RAID0 */
    struct k8s_metadata_options metadata_options;
    int detailed_monitoring;
    int associate_public_ip;
    int has_associate_public_ip;
    char *context;
    /* status */
    struct k8s_subnet_status *subnets;
    size_t nsubnets;
    struct k8s_sg_status *security_groups;
    size_t nsecurity_groups;
    struct k8s_ami_status *amis;
    size_t namis;
    char *status_instance_profile;
    struct k8s_condition *conditions;
    size_t nconditions;
};
int k8s_ec2nodeclass_decode(const json_t *obj, struct k8s_ec2nodeclass *out,
                            struct core_err *err) CORE_NODISCARD;
void k8s_ec2nodeclass_cleanup(struct k8s_ec2nodeclass *c);

/* WarmPool (issue 10). Choices made here:
 *  - exactly one of size {min, max} (max defaults to min; min <= max) and target, a share of
 *    the NodePool's current nodes written as an integer percentage string "0%".."100%";
 *  - schedules[].start is an RFC 3339 time with an offset ("Z" or ±hh:mm) or a cron expression
 *    (k8s_cron_parse); duration is a positive Go duration; size {min, max} as above; names are
 *    unique; two schedules with absolute starts whose windows overlap are rejected (overlap of
 *    cron schedules is not checked here);
 *  - podShape (optional) is the resource list of the pod the default instance types must fit. */
enum k8s_warm_state { K8S_WARM_STOPPED = 1, K8S_WARM_HIBERNATED, K8S_WARM_RUNNING };
struct k8s_warm_size {
    int64_t min, max;
};
struct k8s_warm_schedule {
    char *name;
    char *start;        /* as written */
    int start_is_cron;
    core_ns start_time; /* wall ns, absolute starts */
    struct k8s_cron cron;
    core_ns duration;
    struct k8s_warm_size size;
};
struct k8s_warmpool {
    struct k8s_meta meta;
    char *nodepool;                      /* spec.nodePoolRef.name */
    struct k8s_strings instance_types;
    struct k8s_strings zones;
    struct k8s_res_list pod_shape;
    struct k8s_warm_size size;
    int has_size;
    int64_t target_percent;
    int has_target;
    enum k8s_warm_state state;           /* default Stopped */
    struct k8s_strings prewarm_images;
    int hydrate_root_volume;
    core_ns prewarm_timeout;             /* 0 = unset */
    core_ns max_age;                     /* 0 = unset */
    struct k8s_warm_schedule *schedules;
    size_t nschedules;
    /* status */
    int64_t warming, warm, claimed, failed, stale;
    int64_t status_min, status_max;      /* the bounds in force (schedules applied) */
    char *active_schedule;               /* the schedule raising the floor now, or NULL */
    struct k8s_strings status_instance_types; /* what new warm instances are launched as */
    struct k8s_strings status_images;    /* the AMIs a warm instance must run to be current */
    char *last_decision;                 /* the controller's last sizing decision, as logged */
    char *idle_cost_per_hour;            /* decimal string, USD */
    struct k8s_condition *conditions;
    size_t nconditions;
};
int k8s_warmpool_decode(const json_t *obj, struct k8s_warmpool *out,
                        struct core_err *err) CORE_NODISCARD;
void k8s_warmpool_cleanup(struct k8s_warmpool *w);

#endif /* STOKER_K8S_H */
