/*
 * controller/internal.h — what the controller's files share: the controller struct, the
 * informers and their indexes, the tracked-request pattern that makes controller_free safe
 * with requests in flight, and each reconciler's entry points.
 *
 * Invariants:
 *  - Informers store typed values (struct k8s_pod *, struct k8s_node *, ...), decoded with the
 *    k8s_*_decode functions; keys are "ns/name" for namespaced objects and "name" otherwise.
 *    Iteration order of an informer is unspecified: anything that decides sorts first.
 *  - Every asynchronous call a reconciler makes carries a struct controller_op tracked on the
 *    controller (controller_op_track). controller_free detaches them (op->c = NULL); a callback
 *    that finds op->c == NULL frees its context and returns without touching anything else.
 *  - A reconciler writes (Kubernetes or EC2) only when controller_may_act() is true.
 *  - Reconcilers never block; each key is processed by one handler at a time (core_wq).
 */
#ifndef STOKER_CONTROLLER_INTERNAL_H
#define STOKER_CONTROLLER_INTERNAL_H

#include "controller/controller.h"

#include "amiresolve/amiresolve.h"
#include "aws/aws.h"
#include "k8s/k8s.h"
#include "launcher/launcher.h"
#include "userdata/userdata.h"

/* ------------------------------------------------------------------------------------------ */
/* Tracked requests                                                                            */
/* ------------------------------------------------------------------------------------------ */

struct controller_op {
    struct controller *c;            /* NULL once the controller is gone */
    struct controller_op *prev, *next;
};
/* Links op (embedded in the caller's context, zeroed) to c. */
void controller_op_track(struct controller *c, struct controller_op *op);
/* Unlinks op; returns the controller, or NULL when it is gone (then only free the context). */
struct controller *controller_op_finish(struct controller_op *op);

/* ------------------------------------------------------------------------------------------ */
/* Informer indexes                                                                            */
/* ------------------------------------------------------------------------------------------ */

#define CONTROLLER_IDX_NODE "node"         /* pods by spec.nodeName */
#define CONTROLLER_IDX_PROVIDER "provider" /* nodes and nodeclaims by providerID */
#define CONTROLLER_IDX_POOL "nodepool"     /* nodeclaims and nodes by karpenter.sh/nodepool */
#define CONTROLLER_IDX_CLASS "nodeclass"   /* nodepools and nodeclaims by nodeClassRef.name */

/* ------------------------------------------------------------------------------------------ */
/* The controller                                                                              */
/* ------------------------------------------------------------------------------------------ */

struct controller_nodeclass;
struct controller_nodepool;
struct controller_provision;
struct controller_nodeclaim;
struct controller_launch;
struct controller_gc;
struct controller_warmpool;

struct controller {
    struct core_loop *loop;
    struct k8s_client *k8s;
    struct aws_client *aws;
    struct core_log *log;            /* may be NULL */
    struct controller_opts opts;     /* strings point into `strings` */
    char *strings;
    char *k8s_version;               /* "1.31" once known */
    struct core_timer *version_timer; /* retries /version until it answers */
    core_ns version_backoff;
    char identity[256];

    /* Informers (typed values). */
    struct k8s_informer *pods, *nodes, *nodeclaims, *nodepools, *nodeclasses, *daemonsets,
        *pvcs, *pvs, *storage_classes;
    struct k8s_informer *warmpools;  /* stoker.dev WarmPools (struct k8s_warmpool) */

    struct controller_leader *leader; /* the elector and the context its callbacks use */
    int leading;
    int crashed;
    unsigned fleet_launches;         /* successful CreateFleet calls (crash_after_launches) */
    unsigned warm_claims;            /* successful warm claim CreateTags (crash_after_warm_claims) */
    struct k8s_recorder *recorder;

    struct launcher_catalog *base_catalog;
    struct launcher_refresher *refresher;
    struct amiresolve *ami;

    struct controller_op ops;        /* list head of tracked requests */

    struct controller_stats stats;
    /* Reaction-time samples (pod first seen pending → first launch call serving it). */
    core_ns *reaction;
    size_t nreaction, capreaction;
    size_t reaction_next;            /* ring position once full */
    /* Launch latency histogram buckets (seconds), by path: 0 cold, 1 warm. */
    unsigned long launch_hist[2][12];
    double launch_sum[2];
    unsigned long launch_count[2];

    /* Reconcilers. */
    struct controller_nodeclass *nodeclass;
    struct controller_nodepool *nodepool;
    struct controller_provision *provision;
    struct controller_nodeclaim *nodeclaim;
    struct controller_launch *launch;
    struct controller_gc *gc;
    struct controller_warmpool *warmpool;
};

/* Leading, started, not crashed. */
int controller_may_act(const struct controller *c);
/* One structured log line (level, component, the object's key, message, then name/value pairs
 * ending with NULL). No-op without a logger. */
void controller_log(const struct controller *c, enum core_log_level level, const char *component,
                    const char *key, const char *msg, ...);
/* The loop's monotonic and wall time. */
core_ns controller_now(const struct controller *c);
core_ns controller_wall(const struct controller *c);
/* Current catalog and offerings (the refresher's). */
const struct launcher_catalog *controller_catalog(const struct controller *c);
struct launcher_offerings *controller_offerings(struct controller *c);
/* Counts an EC2 call (for stats and metrics). */
void controller_count_ec2(struct controller *c);
/* Records a reaction-time sample. */
void controller_reaction(struct controller *c, core_ns d);
/* Upper bounds (seconds) of the launch latency histogram's first 11 buckets; the 12th is +Inf. */
extern const double controller_launch_buckets[11];
/* Records a launch latency (seconds) on path 0 cold / 1 warm. */
void controller_launch_latency(struct controller *c, int warm, double seconds);
/* An Event on an object (see k8s_event); no-op when not leading. */
void controller_event(struct controller *c, const struct k8s_object_ref *obj, const char *type,
                      const char *reason, const char *message);

/* ------------------------------------------------------------------------------------------ */
/* Reconcilers: each file owns its state                                                       */
/* ------------------------------------------------------------------------------------------ */

/* _init runs in controller_new after the informers exist and before they start (add handlers
 * and indexes there); _resync runs when this replica becomes leader (enqueue everything);
 * _cleanup runs in controller_free (cancel timers, free the work queue and state; tracked
 * requests are already detached). */

/* controller/nodeclass.c: EC2NodeClass → status (subnets, securityGroups, amis,
 * instanceProfile, conditions SubnetsReady, SecurityGroupsReady, AMIsReady,
 * InstanceProfileReady, ValidationSucceeded, Ready), re-resolved every nodeclass_interval. */
int controller_nodeclass_init(struct controller *c, struct core_err *err) CORE_NODISCARD;
void controller_nodeclass_resync(struct controller *c);
void controller_nodeclass_cleanup(struct controller *c);
/* Whether the EC2NodeClass named `name` is Ready (from its status in the informer). */
int controller_nodeclass_ready(const struct controller *c, const char *name);
/* For the EC2NodeClass informer's error hook: the object `key` did not decode (err names the
 * field). Its status gets ValidationSucceeded and Ready False (ReservedTag or InvalidSpec),
 * written once per distinct error. (Added by the nodeclass reconciler.) */
void controller_nodeclass_invalid(struct controller *c, const char *key,
                                  const struct core_err *err);

/* controller/nodepool.c: NodePool status.resources (sum of its NodeClaims' capacity) and
 * conditions (NodeClassReady, Ready). */
int controller_nodepool_init(struct controller *c, struct core_err *err) CORE_NODISCARD;
void controller_nodepool_resync(struct controller *c);
void controller_nodepool_cleanup(struct controller *c);
/* What the pool holds now: cpu, memory, nodes (1000 milli each), pods, ...; owned by the
 * caller (k8s_res_cleanup). Computed from the NodeClaims informer. */
int controller_nodepool_usage(const struct controller *c, const char *pool,
                              struct k8s_res_list *out) CORE_NODISCARD;

/* controller/provision.c: pending pods → batches → launcher_schedule → NodeClaims created;
 * Events on pods (Nominated, FailedScheduling). */
int controller_provision_init(struct controller *c, struct core_err *err) CORE_NODISCARD;
void controller_provision_resync(struct controller *c);
void controller_provision_cleanup(struct controller *c);
/* Something that may help pending pods changed outside the informers (the instance catalog
 * was refreshed): plan again if any pod waits. */
void controller_provision_kick(struct controller *c);
/* When the pod (key "ns/name") was first seen pending, or 0 — once: the first launch call that
 * serves a pod takes its reaction time; a pod planned again later (its node filled up by others)
 * must not count its first wait twice. */
core_ns controller_provision_first_seen(struct controller *c, const char *pod_key);
/* The pods nominated to a NodeClaim this replica created (borrowed keys), for reaction time
 * and Events; NULL/0 when none. */
const char *const *controller_provision_nominated(const struct controller *c,
                                                  const char *nodeclaim, size_t *n);

/* controller/nodeclaim.c: the NodeClaim lifecycle (launch → Launched; Node pairing →
 * Registered; Ready and startup taints gone → Initialized, Ready; liveness; deletion: cordon,
 * drain, terminate, finalizer). */
int controller_nodeclaim_init(struct controller *c, struct core_err *err) CORE_NODISCARD;
void controller_nodeclaim_resync(struct controller *c);
void controller_nodeclaim_cleanup(struct controller *c);

/* controller/launch.c: turning one NodeClaim into one instance. Cold: launch template named by
 * a hash of its content (created on demand, cached, deleted when unused for a while),
 * CreateFleet instant across the NodeClaim's types × the chosen zone's subnet (≤ 60
 * overrides), lowest-price (on-demand) or price-capacity-optimized (spot), ClientToken from the
 * NodeClaim's UID, tags. Warm: the instance named by the NodeClaim's stoker.dev/warm-instance
 * annotation gets the NodeClaim's user data (ModifyInstanceAttribute), then StartInstances.
 * Capacity errors mark offerings unavailable. */
struct controller_launch_result {
    char instance_id[32];
    char instance_type[64];
    char zone[64];
    char subnet_id[64];
    char image_id[64];
    char capacity_type[16];          /* "on-demand" | "spot" */
    int warm;
};
/* rc 0: launched. CORE_E_SERVICE with err->service_code a capacity error: no offering could
 * serve it (the NodeClaim should be deleted and its pods rescheduled). Other codes: retry. */
typedef void (*controller_launch_fn)(struct controller *c, void *ud, int rc,
                                     const struct controller_launch_result *res,
                                     const struct core_err *err);
int controller_launch_init(struct controller *c, struct core_err *err) CORE_NODISCARD;
void controller_launch_cleanup(struct controller *c);
/* Starts the launch of nc (borrowed for the call). cb runs exactly once, later, from the loop
 * (never from inside this call), unless the controller is freed first. */
int controller_launch_start(struct controller *c, const struct k8s_nodeclaim *nc,
                            controller_launch_fn cb, void *ud,
                            struct core_err *err) CORE_NODISCARD;
/* Finds the instance a NodeClaim launched earlier (by the tag karpenter.sh/nodeclaim), for a
 * restarted controller: res->instance_id[0] == '\0' when none. Same callback rules. */
int controller_launch_find(struct controller *c, const char *nodeclaim, controller_launch_fn cb,
                           void *ud, struct core_err *err) CORE_NODISCARD;
/* TerminateInstances for one instance; cb with rc 0 also when it was already gone. */
typedef void (*controller_done_fn)(struct controller *c, void *ud, int rc,
                                   const struct core_err *err);
int controller_terminate(struct controller *c, const char *instance_id, controller_done_fn cb,
                         void *ud, struct core_err *err) CORE_NODISCARD;
/* Launch templates not used by any NodeClaim for a while are deleted (called by GC). */
void controller_launch_gc(struct controller *c);

/* controller/gc.c: orphan instances (this cluster's tags, no NodeClaim, older than
 * orphan_grace) terminated and their Nodes deleted; NodeClaims whose instance is gone deleted;
 * every gc_interval while leading. */
int controller_gc_init(struct controller *c, struct core_err *err) CORE_NODISCARD;
void controller_gc_resync(struct controller *c);
void controller_gc_cleanup(struct controller *c);

/* controller/warmpool.c: WarmPools. One shared snapshot of every warm-pool instance of the
 * cluster (one DescribeInstances by tag, every warmpool_interval and soon after each action),
 * then per pool: validation, instance types, zones, spec hash, prewarm_plan, its actions
 * (warm-up launches, terminations, hibernations) and the status. */
int controller_warmpool_init(struct controller *c, struct core_err *err) CORE_NODISCARD;
void controller_warmpool_resync(struct controller *c);
void controller_warmpool_cleanup(struct controller *c);
/* A WarmPool that does not decode: status Ready=False / InvalidSpec with the decoder's message
 * (naming the field), logged once; its instances are not treated as orphans meanwhile. */
void controller_warmpool_invalid(struct controller *c, const char *key,
                                 const struct core_err *err);
/* The warm instances the scheduler may pair now: every pool's free list (warm, current,
 * unclaimed in EC2 and not named by any NodeClaim's warm annotation, not being terminated,
 * its offering not marked unavailable), with the pool's NodePool, on-demand, and the image.
 * *out is ONE allocation holding the array and all its strings: core_free(*out) releases
 * everything, so the caller's batch owns it outright and no later snapshot can pull the
 * strings from under it. *out NULL when *n is 0. */
int controller_warmpool_free(struct controller *c, struct launcher_warm **out,
                             size_t *n) CORE_NODISCARD;
/* The scheduler paired the free warm instance `id` with NodeClaim `nodeclaim`, whose create is
 * about to be sent (provision.c, before k8s_create). Until the NodeClaim shows up in the
 * informer (then its stoker.dev/warm-instance annotation keeps the instance out of the free
 * list), CONTROLLER_WARM_RESERVE_TTL passes, or controller_warmpool_unreserve (the create
 * failed), controller_warmpool_free leaves the instance out and its pool treats it as claimed;
 * the pool also terminates nothing until a snapshot taken after this pairing answers. 0, or
 * CORE_E_NOMEM (then do not create the NodeClaim with that warm instance). */
#define CONTROLLER_WARM_RESERVE_TTL ((core_ns)120 * CORE_NS_PER_S)
int controller_warmpool_reserve(struct controller *c, const char *id,
                                const char *nodeclaim) CORE_NODISCARD;
/* Ends the reservation of id for nodeclaim (no-op when another NodeClaim holds it). */
void controller_warmpool_unreserve(struct controller *c, const char *id, const char *nodeclaim);
/* One pool's figures for the metrics (as of its last reconcile). */
struct controller_warmpool_info {
    const char *name;               /* borrowed until the next loop turn */
    int64_t warming, warm, claimed, failed, stale;
    int64_t min, max;
    double idle_usd_per_hour;
    unsigned long launches, terminations, hibernations;
};
/* Iterates the pools known to this replica: *iter = 0 to start; 0 at the end. */
int controller_warmpool_next(const struct controller *c, size_t *iter,
                             struct controller_warmpool_info *out);

/* controller/launch.c, for the warm pool: one warm-up instance, CreateFleet instant on-demand
 * lowest-price, capacity 1, in `zone` across the given types × that zone's first subnet of the
 * EC2NodeClass status, from a launch template (named by its content like the cold path's)
 * whose user data is the USERDATA_WARM rendering of the pool's prewarm settings. Tags: the
 * class's, the cluster's, Name=<pool>-warm, karpenter.sh/nodepool, karpenter.k8s.aws/
 * ec2nodeclass, stoker.dev/warm-pool, stoker.dev/warm-pool-hash, stoker.dev/warm-since (now);
 * never karpenter.sh/nodeclaim. hibernate: HibernationOptions Configured and an encrypted root
 * volume of at least the largest type's RAM + 20 GiB; the warm-up then stays running (the
 * pool hibernates it). cb (controller_launch_fn, res->warm 0) runs once from the loop unless
 * the controller is freed first. Counts stats.warm_launches. */
struct controller_warmup_req {
    const char *pool;                /* WarmPool name */
    const char *nodepool;
    const char *nodeclass;
    const char *zone;
    const char *spec_hash;
    const char *const *types;        /* cheapest first; at most AWS_EC2_FLEET_OVERRIDES_MAX used */
    size_t ntypes;
    int hibernate;
    const char *const *images;       /* prewarm images */
    size_t nimages;
    int hydrate_root_volume;
    int64_t timeout_s;               /* 0 = userdata's default */
};
int controller_launch_warmup(struct controller *c, const struct controller_warmup_req *req,
                             controller_launch_fn cb, void *ud,
                             struct core_err *err) CORE_NODISCARD;

/* controller/metrics.c: the Prometheus text (controller_metrics) and the HTTP endpoint
 * (controller_http_*). */
/* Upper bounds (seconds) of launch_hist's first 11 buckets; launch_hist[p][i] counts samples in
 * (bound[i-1], bound[i]] (not cumulative), index 11 those above the last bound (+Inf). */
extern const double controller_launch_buckets[11];
/* Appends a label value escaped for the Prometheus text format (\\, \", \n). */
int controller_metrics_label_escape(struct core_buf *out, const char *value) CORE_NODISCARD;

#endif /* STOKER_CONTROLLER_INTERNAL_H */
