/*
 * controller/controller.h — the public interface of stoker's controller: the process that
 * watches the cluster, schedules pending pods onto NodeClaims, launches and pairs instances,
 * and cleans up. `stoker controller` runs one against a real cluster; `stoker sim` runs one
 * against the emulators, in one process, on a virtual clock.
 *
 * The controller is a set of level-triggered reconcilers, each over its own work queue of
 * object keys, all on one event loop: EC2NodeClass (subnets, security groups, AMIs, instance
 * profile, validation → status), NodePool (status resources), provisioning (pending pods →
 * launcher_schedule → NodeClaims created in the API), NodeClaim lifecycle (launch, register,
 * initialise, liveness, deletion), and garbage collection (orphan instances, NodeClaims whose
 * instance is gone). Decisions come from the pure modules (launcher, amiresolve, userdata);
 * everything here is I/O and bookkeeping.
 *
 * Invariants kept by everything declared here:
 *  - Every external symbol starts with controller_ (functions, types) or CONTROLLER_ (macros).
 *  - Functions that can fail return 0 or a negative CORE_E_* code with detail in a
 *    caller-owned struct core_err; out-parameters are written only on success.
 *  - The loop, the Kubernetes client, the AWS client and the logger are borrowed and must
 *    outlive the controller. controller_free may be called at any time, also with requests in
 *    flight: their callbacks find the controller gone and only free their own memory.
 *  - Only the leader (Lease coordination.k8s.io/v1) writes to the cluster or to EC2; a
 *    follower keeps its informers warm and takes over when the lease is free.
 *  - The controller logs (structured, once per decision, never a secret); nothing else here
 *    prints.
 */
#ifndef STOKER_CONTROLLER_H
#define STOKER_CONTROLLER_H

#include "core/core.h"

#include <stddef.h>
#include <stdint.h>

struct k8s_client;
struct aws_client;

/* The finalizer stoker puts on its NodeClaims and on their Nodes. */
#define CONTROLLER_FINALIZER "stoker.dev/termination"
/* Labels and annotations stoker writes. */
#define CONTROLLER_LABEL_REGISTERED "stoker.dev/registered"
#define CONTROLLER_LABEL_INITIALIZED "stoker.dev/initialized"
#define CONTROLLER_ANNOTATION_WARM "stoker.dev/warm-instance"
#define CONTROLLER_ANNOTATION_NODECLASS_HASH "stoker.dev/ec2nodeclass-hash"
/* Tags on every instance and launch template stoker creates. */
#define CONTROLLER_TAG_CLUSTER_PREFIX "kubernetes.io/cluster/" /* + name = "owned" */
#define CONTROLLER_TAG_EKS_CLUSTER "eks:eks-cluster-name"
#define CONTROLLER_TAG_NODEPOOL "karpenter.sh/nodepool"
#define CONTROLLER_TAG_NODECLASS "karpenter.k8s.aws/ec2nodeclass"
#define CONTROLLER_TAG_NODECLAIM "karpenter.sh/nodeclaim"
#define CONTROLLER_TAG_MANAGED_BY "stoker.dev/managed-by"     /* = cluster name */
#define CONTROLLER_TAG_WARM_POOL "stoker.dev/warm-pool"       /* on warm-pool instances */
#define CONTROLLER_TAG_WARM_POOL_HASH "stoker.dev/warm-pool-hash" /* what it was made from */
#define CONTROLLER_TAG_WARM_SINCE "stoker.dev/warm-since" /* RFC 3339 UTC of the warm-up */
#define CONTROLLER_TAG_NAME "Name"

struct controller_opts {
    const char *cluster_name;      /* required */
    const char *cluster_endpoint;  /* required: the API server URL nodes join (user data) */
    const char *cluster_ca;        /* required: base64 of the CA bundle (as EKS gives it) */
    const char *service_cidr;      /* NULL = 10.100.0.0/16 */
    const char *cluster_dns;       /* NULL = the .10 of service_cidr */
    const char *k8s_version;       /* "1.31"; NULL = asked from the API server's /version */
    const char *region;            /* required */
    const char *const *zones;      /* restrict offerings to these zones; NULL = all */
    size_t nzones;
    /* Leader election: off means this replica acts at once (single replica, simulations). */
    int leader_election;
    const char *identity;          /* default "<hostname>-<pid>" */
    const char *lease_namespace;   /* default "kube-system" */
    const char *lease_name;        /* default "stoker-controller" */
    /* Timings; 0 = default. */
    core_ns batch_idle;            /* 1 s */
    core_ns batch_max;             /* 10 s */
    core_ns launch_timeout;        /* 5 min: not Launched by then → deleted */
    core_ns register_timeout;      /* 15 min: not Registered by then → deleted */
    core_ns orphan_grace;          /* 5 min: a tagged instance without NodeClaim this old dies */
    core_ns gc_interval;           /* 1 min */
    core_ns nodeclass_interval;    /* 5 min: EC2NodeClass re-resolution */
    core_ns catalog_interval;      /* 12 h: instance types, offerings, spot prices */
    core_ns warmpool_interval;     /* 10 s: warm-pool instances described while a pool is
                                      changing (warming, launching, below its floor); six
                                      times as long (default 60 s) while all are settled */
    /* Fault injection for tests: the controller stops (as if killed) right after its n-th
     * successful CreateFleet; 0 = never. controller_crashed() then says so. */
    unsigned crash_after_launches;
    /* Likewise right after its n-th successful CreateTags claiming a warm instance for a
     * NodeClaim, before StartInstances; 0 = never. */
    unsigned crash_after_warm_claims;
};

struct controller;

/* Builds a controller (nothing runs yet). opts' strings are copied. log may be NULL (silent). */
int controller_new(struct core_loop *loop, struct k8s_client *k8s, struct aws_client *aws,
                   struct core_log *log, const struct controller_opts *opts,
                   struct controller **out, struct core_err *err) CORE_NODISCARD;
/* Starts informers, leader election and the reconcilers. */
int controller_start(struct controller *c, struct core_err *err) CORE_NODISCARD;
/* Stops everything and frees. Objects in the cluster and instances stay. Accepts NULL. */
void controller_free(struct controller *c);

/* Health: the loop is turning and nothing is wedged. Ready: informers synced, and either
 * leading or following a known leader. */
int controller_healthy(const struct controller *c);
int controller_ready(const struct controller *c);
int controller_leading(const struct controller *c);
/* The crash_after_launches or crash_after_warm_claims fault fired. */
int controller_crashed(const struct controller *c);

/* Counters, for tests, `stoker sim` reports and metrics. */
struct controller_stats {
    unsigned long batches;            /* scheduling runs */
    unsigned long pods_scheduled;     /* pods given a NodeClaim */
    unsigned long pods_unschedulable; /* pod × batch with no capacity */
    unsigned long nodeclaims_created;
    unsigned long nodeclaims_deleted;
    unsigned long launches_cold;      /* CreateFleet that gave an instance */
    unsigned long launches_warm;      /* StartInstances of a warm instance */
    unsigned long launch_failures;    /* capacity errors and others */
    unsigned long registered;
    unsigned long initialized;
    unsigned long liveness_deleted;   /* not launched / not registered in time */
    unsigned long orphans_terminated;
    unsigned long warm_launches;      /* warm-up launches (CreateFleet for a WarmPool) */
    unsigned long warm_terminations;  /* warm-pool instances terminated by the pool */
    unsigned long ec2_calls;          /* every EC2 call made */
    /* Real (not virtual) CPU time spent deciding: building the scheduler's input, scheduling
     * and issuing a batch's writes. In a simulation pods wait in virtual time while this is
     * what the controller itself adds to it. */
    core_ns decide_ns_total, decide_ns_max;
    unsigned long reaction_samples;   /* pod first seen pending → first launch call */
    core_ns reaction_p50, reaction_p99;
};
void controller_get_stats(const struct controller *c, struct controller_stats *out);

/* The Prometheus text exposition (version 0.0.4) of the controller's metrics, appended. */
int controller_metrics(const struct controller *c, struct core_buf *out) CORE_NODISCARD;

/* /metrics, /healthz and /readyz over HTTP (libmicrohttpd, driven by the loop). listen is
 * "host:port" ("127.0.0.1:0" picks a free port). */
struct controller_http;
int controller_http_new(struct core_loop *loop, struct controller *c, const char *listen,
                        struct controller_http **out, struct core_err *err) CORE_NODISCARD;
/* The port actually bound. */
int controller_http_port(const struct controller_http *h);
void controller_http_free(struct controller_http *h);

#endif /* STOKER_CONTROLLER_H */
