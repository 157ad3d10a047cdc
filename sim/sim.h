/*
 * sim/sim.h — the public interface of stoker's sim module: emulated AWS (EC2 Query, SSM JSON
 * 1.1) speaking the real wire formats, the boot-time model behind its instances, the faults it
 * can inject, an in-process transport (for `stoker sim`, virtual time) and a loopback HTTP
 * server (for `stoker sim serve`, real time).
 *
 * Invariants kept by everything declared here:
 *  - Every external symbol starts with sim_ (types, functions) or SIM_ (macros).
 *  - The emulator sees only bytes: a request is a method, a target, headers and a body exactly
 *    as they would cross the wire, and an answer is a status, headers and a body. The same
 *    client code therefore runs against it as against AWS; nothing in stoker's controller path
 *    links to the emulator except through struct core_http_transport.
 *  - All time comes from the loop's clock; all randomness from PRNGs seeded by the options, so a
 *    run is reproducible for a given seed and the same sequence of requests.
 *  - Single-threaded: every function runs on the loop's thread. The HTTP server drives
 *    libmicrohttpd from the loop (no server threads).
 *  - Functions that can fail return 0 or a negative CORE_E_* code with detail in a caller-owned
 *    struct core_err (may be NULL); out-parameters are written only on success; _free accepts
 *    NULL. Nothing here logs.
 */
#ifndef STOKER_SIM_H
#define STOKER_SIM_H

#include "core/core.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------------------------ */
/* Boot-time model                                                                             */
/* ------------------------------------------------------------------------------------------ */

/* Every delay an emulated instance or node goes through. Each is drawn from a lognormal
 * distribution with the median and shape of its row, clamped to [min, max]; the rows form one
 * table (sim_boot_model_default) that reports print, so every figure says which model made it. */
enum sim_boot_step {
    SIM_BOOT_LAUNCH = 0, /* RunInstances / CreateFleet: pending -> running */
    SIM_BOOT_START,      /* StartInstances of a stopped instance: pending -> running */
    SIM_BOOT_RESUME,     /* StartInstances of a hibernated instance: pending -> running */
    SIM_BOOT_STOP,       /* StopInstances: stopping -> stopped */
    SIM_BOOT_HIBERNATE,  /* StopInstances Hibernate=true: stopping -> stopped (RAM saved) */
    SIM_BOOT_TERMINATE,  /* TerminateInstances: shutting-down -> terminated */
    SIM_BOOT_JOIN_COLD,  /* first boot with a join configuration: running -> Node registered */
    SIM_BOOT_JOIN_WARM,  /* warmed instance started with join user data: running -> registered */
    SIM_BOOT_READY,      /* Node registered -> Ready */
    SIM_BOOT_WARMUP,     /* warm-up user data: image pulls and root volume hydration -> power off */
    SIM_BOOT_COUNT
};

struct sim_boot_param {
    const char *name;   /* "launch", "start", ... (static) */
    double median_s;    /* seconds */
    double sigma;       /* lognormal shape; 0 = always the median */
    double min_s, max_s;
    const char *source; /* where the median comes from (static text) */
};
struct sim_boot_model {
    struct sim_boot_param step[SIM_BOOT_COUNT];
};

/* The default table (medians from published measurements; see docs/simulator.md). */
void sim_boot_model_default(struct sim_boot_model *m);
/* Applies one override "name=median" or "name=median/sigma", e.g. "launch=20s",
 * "start=5s/0.3". CORE_E_INVAL naming the step or the value otherwise; *m unchanged then. */
int sim_boot_model_set(struct sim_boot_model *m, const char *spec,
                       struct core_err *err) CORE_NODISCARD;
/* The step's row by name, or NULL. */
const struct sim_boot_param *sim_boot_model_find(const struct sim_boot_model *m,
                                                 const char *name);

/* ------------------------------------------------------------------------------------------ */
/* Faults                                                                                      */
/* ------------------------------------------------------------------------------------------ */

#define SIM_ICE_MAX 64u

/* Insufficient capacity for one (instance type, zone) pair; "*" matches any. */
struct sim_ice_rule {
    char instance_type[64];
    char zone[32];
};

struct sim_faults {
    struct sim_ice_rule ice[SIM_ICE_MAX];
    size_t nice;
    int throttle;              /* EC2-like token buckets per action and the launch bucket;
                                  on by default */
    double error_rate;         /* probability of a random 500 InternalError / 503 Unavailable */
    core_ns latency;           /* median added to every answer (uniform 0.5x..1.5x) */
    core_ns consistency_delay; /* a new instance is missing from describes for this long */
};

/* Applies one fault item to *f:
 *   ice=TYPE@ZONE (either may be '*'), throttle=on|off, error-rate=0.01, latency=50ms,
 *   consistency=5s.
 * CORE_E_INVAL naming the item and what was expected otherwise; *f unchanged then. */
int sim_faults_parse(struct sim_faults *f, const char *item, struct core_err *err) CORE_NODISCARD;

/* ------------------------------------------------------------------------------------------ */
/* HTTP-level seam                                                                             */
/* ------------------------------------------------------------------------------------------ */

struct sim_header {
    const char *name;
    const char *value;
};

/* An answer that goes on after the handler returns (a watch). Owned by the front end. */
struct sim_stream;

/* A request as received. Everything is borrowed for the call. target is the request-target in
 * origin form ("/", "/path?query"), percent-encoded as sent. stream is non-NULL when the front
 * end can stream the answer (both front ends can). */
struct sim_http_req {
    const char *method;
    const char *target;
    const struct sim_header *headers;
    size_t nheaders;
    const char *body;
    size_t body_len;
    struct sim_stream *stream;
};

/* Streaming answers (watches). Inside the handler, sim_stream_begin turns the answer into a
 * stream: the status and headers the handler put into resp go out first (its body, if any,
 * becomes the first piece), then every sim_stream_write, in order, from the loop, until
 * sim_stream_end. on_close runs once if the stream ends from the other side first (the client
 * went away or cancelled, the front end is being freed); after on_close, and after
 * sim_stream_end, the handle must not be used. on_close never runs inside sim_stream_write or
 * sim_stream_end. A handler that does not call sim_stream_begin answers normally. */
typedef void (*sim_stream_close_fn)(void *ud);
int sim_stream_begin(struct sim_stream *s, sim_stream_close_fn on_close, void *ud)
    CORE_NODISCARD;
/* Queues a piece (copied). CORE_E_TOOBIG when more than SIM_STREAM_QUEUE_MAX bytes wait
 * undelivered (a stalled client): the caller then ends the stream. */
#define SIM_STREAM_QUEUE_MAX (16u << 20)
int sim_stream_write(struct sim_stream *s, const char *data, size_t len) CORE_NODISCARD;
/* Ends the answer after what is queued. */
void sim_stream_end(struct sim_stream *s);

/* A handler fills resp (zeroed by the caller, body initialised with a limit; status, headers
 * through core_http_response_add_header, body) and may ask for the answer to be delayed by
 * *delay (latency faults). It never fails: problems become HTTP answers. */
typedef void (*sim_handler_fn)(void *ud, const struct sim_http_req *req,
                               struct core_http_response *resp, core_ns *delay);

/* An in-process transport that hands each request to fn on the loop and answers from the loop
 * after the handler's delay (never from inside submit). Streaming requests get the whole body
 * as one piece. URLs may use any scheme and host; only the target is passed on, with a Host
 * header added from the URL when the request has none. loop, fn and ud are borrowed. */
int sim_transport_new(struct core_loop *loop, sim_handler_fn fn, void *ud,
                      struct core_http_transport **out, struct core_err *err) CORE_NODISCARD;

/* A loopback HTTP/1.1 server (libmicrohttpd, driven from the loop; no threads). */
struct sim_server;
struct sim_server_opts {
    const char *host;    /* must be a loopback address; default "127.0.0.1" */
    uint16_t port;       /* 0 = any free port */
    size_t max_body;     /* request bodies; default 16 MiB (413 beyond) */
};
int sim_server_new(struct core_loop *loop, const struct sim_server_opts *opts, sim_handler_fn fn,
                   void *ud, struct sim_server **out, struct core_err *err) CORE_NODISCARD;
uint16_t sim_server_port(const struct sim_server *s);
/* Stops listening, drops open connections, frees. Accepts NULL. */
void sim_server_free(struct sim_server *s);

/* ------------------------------------------------------------------------------------------ */
/* Emulated AWS account: EC2 and SSM                                                           */
/* ------------------------------------------------------------------------------------------ */

#define SIM_AWS_ACCESS_KEY_ID "AKIASTOKERSIM0000001"
#define SIM_AWS_SECRET_ACCESS_KEY "stoker-sim-secret-access-key-not-a-secret"
#define SIM_AWS_ACCOUNT_ID "123456789012"
#define SIM_AWS_REGION "us-east-1"
#define SIM_AWS_CLUSTER "sim"

struct sim_aws;

struct sim_aws_opts {
    const char *region;            /* default SIM_AWS_REGION */
    const char *account_id;        /* default SIM_AWS_ACCOUNT_ID */
    const char *cluster_name;      /* discovery tags on subnets and security groups; "sim" */
    const char *access_key_id;     /* the one accepted key pair; defaults SIM_AWS_* */
    const char *secret_access_key;
    uint64_t seed;                 /* PRNG seed (0 is a valid seed) */
    struct sim_faults faults;
    struct sim_boot_model boot;
    core_ns terminated_ttl;        /* how long terminated instances stay visible; default 1 h */
    int skip_signature_check;      /* benchmarks of the handlers alone; never in serve */
};

/* Defaults: region, account, cluster, keys, throttling on, no other fault, the default boot
 * model, terminated instances visible for an hour. */
void sim_aws_opts_default(struct sim_aws_opts *o);

/* Builds the account: a VPC with a subnet in each of three zones, security groups, the
 * EKS-optimised images and their SSM parameters, the instance types of the compiled-in catalog
 * with per-zone offerings and prices. Strings in opts are copied. loop is borrowed: its clock
 * drives instance transitions (timers on the loop). */
int sim_aws_new(struct core_loop *loop, const struct sim_aws_opts *opts, struct sim_aws **out,
                struct core_err *err) CORE_NODISCARD;
/* Cancels its timers and frees everything. Accepts NULL. */
void sim_aws_free(struct sim_aws *a);

/* Answers one EC2 or SSM request (a sim_handler_fn; ud is the struct sim_aws). The service is
 * taken from the SigV4 credential scope (ec2, ssm), or from X-Amz-Target for JSON requests. */
void sim_aws_handle(void *ud, const struct sim_http_req *req, struct core_http_response *resp,
                    core_ns *delay);

const char *sim_aws_region(const struct sim_aws *a);
const struct sim_boot_model *sim_aws_boot_model(const struct sim_aws *a);
/* Instances known (terminated ones included until they age out). */
size_t sim_aws_instance_count(const struct sim_aws *a);

/* What an observer is told about an instance. Borrowed for the callback. */
struct sim_instance_view {
    const char *id;
    const char *instance_type;
    const char *zone;
    const char *subnet_id;
    const char *image_id;
    const char *private_ip;
    const char *private_dns;
    const char *state;           /* EC2 state name after the change */
    const unsigned char *user_data; /* raw bytes, NULL when none */
    size_t user_data_len;
    unsigned boots;              /* times it went pending -> running, this one included */
    int resumed;                 /* this start resumed from hibernation */
    int spot;
};
/* Called after every state change (from the loop). One observer; NULL removes it. */
typedef void (*sim_aws_observer_fn)(void *ud, const struct sim_instance_view *v);
void sim_aws_set_observer(struct sim_aws *a, sim_aws_observer_fn fn, void *ud);

/* Counters, for the report and tests. */
struct sim_aws_stats {
    unsigned long requests;       /* answered, errors included */
    unsigned long auth_failures;  /* bad or missing signatures */
    unsigned long throttled;      /* RequestLimitExceeded / ThrottlingException sent */
    unsigned long injected_errors;/* random 5xx */
    unsigned long ice;            /* capacity errors from ICE rules */
    unsigned long launched;       /* instances created */
};
void sim_aws_stats(const struct sim_aws *a, struct sim_aws_stats *out);

/* Writes an env file (KEY=VALUE lines, readable by `set -a; . FILE` and docker --env-file):
 * AWS_ENDPOINT_URL, AWS_REGION, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_EC2_METADATA_DISABLED. endpoint is "http://127.0.0.1:PORT". The file is written whole
 * (temporary file + rename), mode 0600. */
int sim_aws_write_env(const struct sim_aws *a, const char *endpoint, const char *path,
                      struct core_err *err) CORE_NODISCARD;


/* ------------------------------------------------------------------------------------------ */
/* Emulated Kubernetes API                                                                     */
/* ------------------------------------------------------------------------------------------ */

/*
 * The API server the controller, kubectl and the simulated cluster talk to. Objects are JSON
 * (jansson) kept in memory; every write bumps one resourceVersion counter; watches replay from
 * a resourceVersion still in the history window and answer 410 Gone (reason Expired) for an
 * older one; bookmarks are sent periodically when asked for. Served resources: the built-in
 * kinds the controller uses (core/v1 pods with binding and eviction, nodes, namespaces,
 * services, events, persistentvolumeclaims, persistentvolumes; storage.k8s.io/v1
 * storageclasses; apps/v1 daemonsets; coordination.k8s.io/v1 leases; events.k8s.io/v1 events;
 * policy/v1 poddisruptionbudgets) and every CustomResourceDefinition loaded (stoker's come
 * from deploy/crds/), with their status subresource.
 */
struct sim_kube;

struct sim_kube_faults {
    double watch_drop_rate; /* probability per second that an open watch is closed */
    double gone_rate;       /* probability that a watch request is answered 410 Gone */
    double error_rate;      /* probability of a 500 InternalError on any request */
    double throttle_rate;   /* probability of a 429 with Retry-After */
    core_ns retry_after;    /* the Retry-After of a 429; default 1 s */
    core_ns latency;        /* median added to every answer (uniform 0.5x..1.5x) */
};

struct sim_kube_opts {
    uint64_t seed;
    const char *git_version;      /* /version: default "v1.31.4" */
    size_t history_max;           /* watch events kept; default 100,000 */
    core_ns history_window;       /* and for at most this long; default 5 min */
    core_ns bookmark_interval;    /* default 60 s */
    core_ns watch_timeout_max;    /* cap on timeoutSeconds; default 30 min */
    struct sim_kube_faults faults;
};
void sim_kube_opts_default(struct sim_kube_opts *o);

/* Creates the API with the built-in resources and the namespaces default, kube-system,
 * kube-public and kube-node-lease. loop is borrowed. */
int sim_kube_new(struct core_loop *loop, const struct sim_kube_opts *opts, struct sim_kube **out,
                 struct core_err *err) CORE_NODISCARD;
/* Ends open watches (their streams end), frees everything. Accepts NULL. */
void sim_kube_free(struct sim_kube *k);

/* Serves every CustomResourceDefinition (apiextensions.k8s.io/v1) in a YAML stream (other
 * kinds are skipped); a CRD object is also stored, so `kubectl get crds` lists it. what names
 * the source in messages. CORE_E_INVAL naming the document and field for a bad CRD. */
int sim_kube_load_crds(struct sim_kube *k, const char *yaml, size_t len, const char *what,
                       struct core_err *err) CORE_NODISCARD;
/* Serves stoker's own CRDs (the deploy/crds YAML files, built into the binary), so the emulator
 * needs no files at run time. */
int sim_kube_load_builtin_crds(struct sim_kube *k, struct core_err *err) CORE_NODISCARD;

/* Answers one HTTP request (a sim_handler_fn; ud is the struct sim_kube): discovery (/api,
 * /apis, /version, /healthz, /readyz, /livez), and get, list, watch, create, update, patch
 * (merge, JSON, strategic-merge for built-in kinds, server-side apply), delete and
 * deletecollection on every served resource and its status subresource. */
void sim_kube_handle(void *ud, const struct sim_http_req *req, struct core_http_response *resp,
                     core_ns *delay);

/* In-process access for the simulated cluster and the scenarios, with the API's semantics
 * (defaults, resourceVersion, finalizers, owner references, watch events) but no HTTP.
 * resource is "pods", "nodes", "nodeclaims.stoker.dev", ... (plural, dot group for non-core).
 * ns is NULL for cluster-scoped resources. Objects passed in are borrowed (copied); objects
 * returned through *out are new references the caller releases with json_decref (out may be
 * NULL). Errors: CORE_E_NOTFOUND, CORE_E_CONFLICT (AlreadyExists, resourceVersion mismatch),
 * CORE_E_INVAL (Invalid, naming the field), with the Status reason in err->service_code. */
int sim_kube_get(struct sim_kube *k, const char *resource, const char *ns, const char *name,
                 json_t **out, struct core_err *err) CORE_NODISCARD;
int sim_kube_create(struct sim_kube *k, const char *resource, const char *ns, const json_t *obj,
                    json_t **out, struct core_err *err) CORE_NODISCARD;
/* Replaces the object (status = 1: only its status, through the status subresource). A
 * metadata.resourceVersion in obj must match the stored one. */
int sim_kube_update(struct sim_kube *k, const char *resource, const char *ns, const json_t *obj,
                    int status, json_t **out, struct core_err *err) CORE_NODISCARD;
/* JSON merge patch (RFC 7386). */
int sim_kube_patch(struct sim_kube *k, const char *resource, const char *ns, const char *name,
                   const json_t *merge_patch, int status, json_t **out,
                   struct core_err *err) CORE_NODISCARD;
/* Deletes (with finalizers present: sets deletionTimestamp and keeps the object until they
 * are removed); dependents are deleted in the background through their owner references. */
int sim_kube_delete(struct sim_kube *k, const char *resource, const char *ns, const char *name,
                    struct core_err *err) CORE_NODISCARD;
/* Every object (ns NULL = all namespaces) matching the selectors (label selector syntax as
 * the API takes it; field selector: metadata.name, metadata.namespace, spec.nodeName,
 * status.phase, or any dotted path with = / == / !=). *items is a new JSON array. */
int sim_kube_list(struct sim_kube *k, const char *resource, const char *ns,
                  const char *label_selector, const char *field_selector, json_t **items,
                  struct core_err *err) CORE_NODISCARD;

/* In-process watch: fn runs from the loop (never inside the write that caused it) for every
 * later change of the resource: type "ADDED", "MODIFIED" or "DELETED"; obj borrowed. */
struct sim_kube_watch;
typedef void (*sim_kube_watch_fn)(void *ud, const char *type, const json_t *obj);
int sim_kube_watch(struct sim_kube *k, const char *resource, sim_kube_watch_fn fn, void *ud,
                   struct sim_kube_watch **out, struct core_err *err) CORE_NODISCARD;
/* Stops a watch; safe from inside its own callback. Accepts NULL. */
void sim_kube_unwatch(struct sim_kube_watch *w);

/* The current resourceVersion (the last write's). */
uint64_t sim_kube_resource_version(const struct sim_kube *k);

/* Writes a kubeconfig for `server` ("http://127.0.0.1:PORT"): cluster "stoker-sim", user with
 * a static token, context "stoker-sim" as current. Written whole, mode 0600. */
int sim_kube_write_kubeconfig(const char *server, const char *path,
                              struct core_err *err) CORE_NODISCARD;


/* ------------------------------------------------------------------------------------------ */
/* Simulated cluster: kubelets, scheduler, volume provisioner, workloads                       */
/* ------------------------------------------------------------------------------------------ */

/*
 * What happens inside the emulated cluster without stoker: a kubelet per emulated instance,
 * a scheduler, a WaitForFirstConsumer volume provisioner, pod garbage collection, and workload
 * drivers that create and delete pods over time. Everything works on the in-process APIs of
 * struct sim_aws (the observer) and struct sim_kube, on the loop's clock.
 *
 * Kubelet: when an instance reaches running and its user data (userdata_inspect, after
 * decoding) has a join configuration, it registers a Node after the boot model's join delay
 * (join_cold on the first boot, join_warm on later boots: the image cache is warm): name = the
 * private DNS name, providerID aws:///<zone>/<id>, labels from the user data plus the
 * well-known ones (instance type, arch, os, zone, region, hostname, capacity type), taints from
 * the user data, capacity and allocatable from the catalog (launcher_allocatable with the
 * user data's max pods), Ready after the ready delay. Warm-up user data: the instance powers
 * itself off after the warmup delay (sim_aws_instance_poweroff) and never registers. When the
 * instance stops or terminates its Node is deleted (node_on_stop = SIM_NODE_NOTREADY keeps a
 * stopped instance's Node, NotReady with the unreachable taint, as a real cluster would until
 * the instance terminates). An instance whose user data has no join configuration never
 * registers.
 *
 * Scheduler: binds pending pods (spec.nodeName empty, schedulerName default) to Ready,
 * schedulable nodes: requests (containers, init containers, overhead) against allocatable
 * minus bound pods, nodeSelector, required node affinity, taints/tolerations, bound PVs' node
 * affinity and WaitForFirstConsumer classes' allowed topologies; the fewest-requested fit wins
 * (ties by name). A pod that fits nowhere gets PodScheduled=False, reason Unschedulable, with a
 * message like kube-scheduler's ("0/3 nodes are available: 2 Insufficient cpu, 1 node(s) had
 * untolerated taint {...}."). Batches run on a short timer after pods or nodes change.
 *
 * Volume provisioner: a pod bound with an unbound PVC of a WaitForFirstConsumer class gets its
 * EBS-like PV created in the node's zone (nodeAffinity on topology.ebs.csi.aws.com/zone and
 * topology.kubernetes.io/zone) and the PVC bound, before the pod is bound; afterwards the PV
 * pins that zone. Immediate classes are provisioned at once in the zone with most nodes.
 *
 * Pod GC: pods bound to a Node that no longer exists are deleted; workloads replace them.
 */
enum sim_node_on_stop { SIM_NODE_DELETE = 0, SIM_NODE_NOTREADY };

struct sim_cluster;
struct sim_cluster_opts {
    uint64_t seed;
    enum sim_node_on_stop node_on_stop;
    core_ns schedule_delay; /* batch delay after a change; default 100 ms */
    int no_scheduler;       /* tests of the kubelet alone */
};
/* aws and kube are borrowed and must outlive the cluster; the cluster installs itself as the
 * aws observer (one observer: it forwards to a previously installed one). */
int sim_cluster_new(struct core_loop *loop, struct sim_aws *aws, struct sim_kube *kube,
                    const struct sim_cluster_opts *opts, struct sim_cluster **out,
                    struct core_err *err) CORE_NODISCARD;
/* Cancels its timers and watches. Nodes and pods stay in the API. Accepts NULL. */
void sim_cluster_free(struct sim_cluster *c);

struct sim_cluster_stats {
    unsigned long nodes_registered;
    unsigned long nodes_ready;
    unsigned long nodes_removed;
    unsigned long warmups_completed;  /* warm-up user data ran and powered off */
    unsigned long pods_bound;
    unsigned long pods_unschedulable; /* times a pod was marked Unschedulable */
    unsigned long pods_collected;     /* pod GC */
    unsigned long volumes_provisioned;
};
void sim_cluster_stats(const struct sim_cluster *c, struct sim_cluster_stats *out);

/* A Deployment- or StatefulSet-like generator: keeps `replicas` pods (template copied; names
 * <name>-<n>) following steps (replicas from `at` on, relative to when the workload was added;
 * the first step may be at 0); scaling down deletes the newest pods first. Stateful workloads
 * give each replica a PVC <claim>-<name>-<n> of storage_class / size that outlives the pod and
 * is reused by the replacement. Pods deleted by others (GC, eviction) are recreated. */
struct sim_workload_step {
    core_ns at;
    int replicas;
};
struct sim_workload_spec {
    const char *name;
    const char *ns;                 /* default "default" */
    const json_t *pod_template;     /* a Pod object's metadata (labels) and spec; borrowed */
    int stateful;
    const char *storage_class;      /* stateful only */
    const char *volume_size;        /* stateful only; default "10Gi" */
    const char *claim_name;         /* stateful only; default "data" (mounted by the pod) */
    const struct sim_workload_step *steps;
    size_t nsteps;
};
int sim_cluster_add_workload(struct sim_cluster *c, const struct sim_workload_spec *spec,
                             struct core_err *err) CORE_NODISCARD;

/* An instance's own shutdown (the warm-up script's poweroff): running -> stopping -> stopped
 * with reason Client.InstanceInitiatedShutdown. CORE_E_NOTFOUND / CORE_E_STATE otherwise. */
int sim_aws_instance_poweroff(struct sim_aws *a, const char *instance_id,
                              struct core_err *err) CORE_NODISCARD;

/* ------------------------------------------------------------------------------------------ */
/* A whole simulated world                                                                     */
/* ------------------------------------------------------------------------------------------ */

/*
 * The emulated account, API server and cluster on one virtual-clock loop, with stoker's own
 * AWS and Kubernetes clients wired to them through the in-process transport: what `stoker sim
 * --scenario` and the controller's tests run against. Everything is owned by the world and
 * freed by sim_world_free in reverse order.
 */
struct aws_client;
struct aws_config;
struct aws_creds_provider;
struct k8s_client;
struct sim_world_opts {
    uint64_t seed;
    core_ns wall_start;            /* the virtual wall clock's start; 0 = 2026-11-01T00:00:00Z */
    struct sim_faults faults;      /* zero = no fault, throttling off */
    struct sim_kube_faults kube_faults;
    struct sim_boot_model boot;    /* all-zero = the default model */
    enum sim_node_on_stop node_on_stop;
    int no_scheduler;
};
struct sim_world {
    struct core_clock *clock;
    struct core_loop *loop;
    struct sim_aws *aws;
    struct sim_kube *kube;
    struct sim_cluster *cluster;
    struct core_http_transport *aws_t, *kube_t;
    struct aws_creds_provider *creds;
    struct aws_config *aws_cfg;    /* the client's configuration (it keeps a pointer) */
    struct aws_client *awsc;       /* stoker's EC2/SSM client on the account */
    struct k8s_client *k8sc;       /* stoker's Kubernetes client on the API */
};
int sim_world_new(const struct sim_world_opts *opts, struct sim_world **out,
                  struct core_err *err) CORE_NODISCARD;
void sim_world_free(struct sim_world *w);
/* Creates every object of a YAML (or JSON) stream in the API, in order: the kind decides the
 * resource (Pod, Namespace, Service, PersistentVolumeClaim, PersistentVolume, StorageClass,
 * DaemonSet, PodDisruptionBudget, NodePool, EC2NodeClass, NodeClaim, WarmPool); namespaced
 * kinds default to "default". what names the source in messages. */
int sim_world_apply(struct sim_world *w, const char *yaml, size_t len, const char *what,
                    struct core_err *err) CORE_NODISCARD;
/* The API resource name ("pods", "nodepools.stoker.dev") of a kind, and whether it is
 * namespaced; NULL for a kind the world does not know. */
const char *sim_world_resource(const char *kind, int *namespaced);

/* ------------------------------------------------------------------------------------------ */
/* Scenarios, tracking and the report                                                          */
/* ------------------------------------------------------------------------------------------ */

/*
 * A scenario is a world (faults), the objects a cluster starts with (EC2NodeClasses,
 * NodePools, StorageClasses, DaemonSets, WarmPools) and workloads that create pods over
 * virtual time. The built-in ones: steady, flash-sale, pvc-zones, gpu-mix, chaos. The
 * controller is not part of sim/: the runner (`stoker sim --scenario`, the tests) starts one
 * on the world.
 */
struct sim_scenario_workload {
    const char *name;
    const char *ns;
    const char *pod_template;        /* JSON: a Pod's {metadata:{labels}, spec} */
    int stateful;
    const char *storage_class;
    const struct sim_workload_step *steps;
    size_t nsteps;
};
/* The burst a scenario expects: what `--warm-pool advise` sizes a pool for. */
struct sim_scenario_burst {
    int64_t pods;
    const char *cpu, *memory;        /* per pod, Kubernetes quantities */
    core_ns deadline;                /* pods running within this of the burst */
    core_ns at;                      /* since setup */
};
struct sim_scenario {
    const char *name;
    const char *description;
    core_ns duration;                /* how long the run lasts in virtual time */
    const char *objects_yaml;        /* created before the controller starts */
    const struct sim_scenario_workload *workloads;
    size_t nworkloads;
    const char *const *faults;       /* sim_faults_parse items */
    size_t nfaults;
    struct sim_kube_faults kube_faults;
    core_ns restart_controller_at;   /* the runner kills and restarts the controller then; 0 =
                                        never */
    /* The WarmPool of `--warm-pool policy` (NULL: none). Its text may hold placeholders
     * ${START} and ${START+DURATION} (a Go duration, e.g. ${START+5m}): setup replaces them
     * with the world's wall clock at setup (plus the duration) as RFC 3339 UTC, so absolute
     * schedule starts land at a fixed virtual time into the run. */
    const char *warm_pool_yaml;
    const struct sim_scenario_burst *burst; /* for `--warm-pool advise`; NULL: none */
};
size_t sim_scenario_count(void);
const struct sim_scenario *sim_scenario_at(size_t i);
const struct sim_scenario *sim_scenario_find(const char *name);
/* World options for a scenario and seed (faults parsed into opts->faults). */
int sim_scenario_world_opts(const struct sim_scenario *sc, uint64_t seed,
                            struct sim_world_opts *out, struct core_err *err) CORE_NODISCARD;
/* Creates the scenario's objects (with its policy WarmPool, if it has one) and adds its
 * workloads to the world's cluster: sim_scenario_setup_warm with SIM_WARM_DEFAULT. */
int sim_scenario_setup(const struct sim_scenario *sc, struct sim_world *w,
                       struct core_err *err) CORE_NODISCARD;

/* How a scenario's warm pool is made (`stoker sim --warm-pool`). */
enum sim_warm_mode {
    SIM_WARM_DEFAULT = 0, /* policy when the scenario has a policy pool, else none */
    SIM_WARM_NONE,        /* no WarmPool */
    SIM_WARM_POLICY,      /* the scenario's own WarmPool (warm_pool_yaml) */
    SIM_WARM_ADVISE       /* a WarmPool sized by prewarm_advise for the scenario's burst */
};
/* "none", "policy", "advise" (and "default"); parse: 0 or CORE_E_INVAL for anything else. */
const char *sim_warm_mode_name(enum sim_warm_mode m);
int sim_warm_mode_parse(const char *s, enum sim_warm_mode *out) CORE_NODISCARD;

/* What advise mode asked and used. The candidate types are the catalog's amd64 c, m and r
 * types of generation 6 or later without GPUs or accelerators, not bare metal, with an
 * on-demand price; the timing is the world's boot model (medians): cold = launch + join_cold
 * + ready + 1 s (the controller's idle batch window), warm = start + join_warm + ready + 2 s;
 * EC2 launches 1,000 at once and 2 per second after. */
struct sim_scenario_advice {
    char instance_type[64];          /* the best row's type */
    int64_t pods_per_node, nodes, warm, cold;
    double idle_usd_per_hour;        /* the warm instances, stopped */
    double cold_ready_s, warm_ready_s;
    int meets_deadline;
    size_t ncandidates;              /* types offered to prewarm_advise */
    char summary[256];               /* prewarm_advise's */
};
/* What setup did about the warm pool. */
struct sim_scenario_warm {
    enum sim_warm_mode mode;         /* resolved: NONE, POLICY or ADVISE */
    int has_advice;                  /* ADVISE: advice is filled */
    struct sim_scenario_advice advice;
};
/* sim_scenario_setup with a warm-pool mode. POLICY on a scenario without warm_pool_yaml and
 * ADVISE on one without a burst are CORE_E_INVAL naming the mode and the scenario. ADVISE calls
 * prewarm_advise and creates a WarmPool "<pool>" for the NodePool of the policy pool (or
 * "default"), instanceTypes [best row's type], size min = max = its warm count, no schedule.
 * out (may be NULL) is written on success. */
int sim_scenario_setup_warm(const struct sim_scenario *sc, struct sim_world *w,
                            enum sim_warm_mode mode, struct sim_scenario_warm *out,
                            struct core_err *err) CORE_NODISCARD;

/* Watches a world and keeps what the report needs: per pod, when it was created (pending)
 * and when it was bound; per instance, when it was launched or started and when its Node
 * became Ready, and by which path (cold launch, warm start); a sample of the counts every
 * `interval` of virtual time. */
struct sim_sample {
    core_ns t;                       /* since the tracker started */
    unsigned pods_pending, pods_bound;
    unsigned nodes_launching;        /* instances pending/running whose Node is not Ready */
    unsigned nodes_ready;
    unsigned instances_stopped;      /* every stopped instance (the warm pool's, mostly) */
    unsigned long launches_cold, launches_warm;
    /* Warm-pool instances (tag stoker.dev/warm-pool) by phase, as the tags stood at their last
     * state change: warming = live and unclaimed (running the warm-up); warm = stopped and
     * unclaimed; claimed = not terminated, tagged karpenter.sh/nodeclaim. */
    unsigned warm_warming, warm_stopped, warm_claimed;
};
struct sim_tracker;
int sim_tracker_new(struct sim_world *w, core_ns interval, struct sim_tracker **out,
                    struct core_err *err) CORE_NODISCARD;
void sim_tracker_free(struct sim_tracker *t);
/* The latest sample (taken now). */
void sim_tracker_now(struct sim_tracker *t, struct sim_sample *out);
/* Pods created `at` or later after the tracker started are the burst's: the summary gives
 * their waits separately (a scenario's burst, sim_scenario_burst.at, with the tracker started
 * right after setup). Not called: no burst figures. */
void sim_tracker_set_burst(struct sim_tracker *t, core_ns at);

/* What the report shows besides the tracker's data. */
struct sim_report_info {
    const char *scenario;
    uint64_t seed;
    double wall_seconds;             /* real time the run took */
    unsigned long ec2_calls;
    double reaction_p50_s, reaction_p99_s; /* pending pod → first launch call (controller) */
    const char *notes;               /* free text, may be NULL */
    const char *warm_pool;           /* the warm-pool mode ("none", "policy", "advise"); NULL:
                                        not shown */
    const char *advice;              /* advise mode: the advice used, one line; may be NULL */
    /* The controller's own CPU time deciding (real, while pods wait in virtual time): over
     * the run and for its largest batch; batches 0 = not shown. */
    double decide_total_s, decide_max_s;
    unsigned long batches;
};
/* Summary statistics computed from the tracker. */
struct sim_summary {
    unsigned long pods_created, pods_bound, pods_pending_end;
    double wait_p50_s, wait_p90_s, wait_p99_s;       /* pod pending → bound */
    double ready_p50_s, ready_p90_s, ready_p99_s;    /* pod pending → its node Ready */
    unsigned long launches_cold, launches_warm;
    double node_ready_cold_p50_s, node_ready_warm_p50_s; /* launch/start call → Node Ready */
    double cost_usd;                 /* instance-hours × on-demand price, running time only */
    double warm_pool_cost_usd_per_hour; /* EBS of stopped instances at $0.08/GB-month */
    unsigned long instances_max;
    /* Warm-pool checks (both must stay 0):
     *  - warm_registered_unclaimed: Nodes that registered for an instance tagged
     *    stoker.dev/warm-pool without a non-empty karpenter.sh/nodeclaim tag;
     *  - double_starts: boots of an instance with the same NodeClaim tag as an earlier boot of
     *    it, plus instances that ran tagged with a NodeClaim another instance already ran for
     *    (a warm start and a cold launch for one NodeClaim, or two of either). */
    unsigned long warm_registered_unclaimed, double_starts;
    unsigned long warm_peak;         /* most warm-pool instances stopped and unclaimed at once */
    double warm_pool_peak_usd_per_hour; /* their EBS at that moment */
    unsigned long nodes_ready_total; /* launches (both paths) whose Node became Ready */
    /* The same percentiles over the burst's pods only (sim_tracker_set_burst): what a flash
     * sale is about, without the baseline's first cold start. burst_bound 0: no figures. */
    unsigned long burst_pods, burst_bound;
    double burst_wait_p50_s, burst_wait_p90_s, burst_wait_p99_s;
    double burst_ready_p50_s, burst_ready_p90_s, burst_ready_p99_s;
};
void sim_tracker_summary(const struct sim_tracker *t, struct sim_summary *out);
/* The summary as an aligned text table (appended). */
int sim_report_text(const struct sim_tracker *t, const struct sim_report_info *info,
                    struct core_buf *out) CORE_NODISCARD;
/* A self-contained HTML page (no scripts, no external fonts or files): the summary table, the
 * boot model's parameters, and inline SVG charts — pods pending over time, launches by path
 * over time, the distribution of pod wait. Well-formed XHTML-compatible markup. */
int sim_report_html(const struct sim_tracker *t, const struct sim_report_info *info,
                    struct core_buf *out) CORE_NODISCARD;

#endif /* STOKER_SIM_H */
