/*
 * sim/cluster_internal.h — what the files of the simulated cluster share: the definition of
 * struct sim_cluster, the kubelet table, and the hooks between the kubelets (cluster.c,
 * cluster_kubelet.c) and the scheduler, volume provisioner, pod GC and workload drivers
 * (cluster_sched.c, cluster_workload.c). Nothing outside sim/ uses it.
 *
 * Files and what each owns:
 *   cluster.c          sim_cluster_new/free/stats, the aws observer (chained to the previous
 *                      one), dispatch of instance changes to the kubelets.
 *   cluster_kubelet.c  one kubelet per instance: join/warm-up timers, Node registration,
 *                      Ready, node_on_stop, Node deletion.
 *   cluster_sched.c    scheduler, volume provisioner, pod GC (private state behind c->sched).
 *   cluster_workload.c workload drivers (private state behind c->workloads).
 *
 * Invariants:
 *  - Single-threaded, on the loop of the aws and kube it borrows.
 *  - Every timer a kubelet holds is cancelled when its instance changes state again and when
 *    the cluster is freed; a kubelet is freed only with the cluster or when its instance
 *    terminates, after its timers are cancelled.
 *  - Nodes are written only through the in-process kube API (sim_kube_*), so watches and
 *    resourceVersions behave as for any client.
 *  - The kubelets call sim_cluster_sched_kick after every Node change (created, Ready,
 *    NotReady, deleted); the scheduler batches, so the kick is cheap.
 */
#ifndef STOKER_SIM_CLUSTER_INTERNAL_H
#define STOKER_SIM_CLUSTER_INTERNAL_H

#include "sim/internal.h"
#include "sim/sim.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Where a kubelet is in its instance's life. */
enum sim_kubelet_phase {
    SIM_KUBELET_IDLE = 0,   /* instance not running, or running without a join configuration */
    SIM_KUBELET_JOINING,    /* running with a join configuration; registration timer armed */
    SIM_KUBELET_REGISTERED, /* Node created, not Ready yet; ready timer armed */
    SIM_KUBELET_READY,      /* Node Ready */
    SIM_KUBELET_WARMING,    /* warm-up user data running; poweroff timer armed */
    SIM_KUBELET_NOTREADY,   /* instance stopped, Node kept NotReady (SIM_NODE_NOTREADY) */
};

/* One per instance the observer has seen (until it terminates). */
struct sim_kubelet {
    struct sim_cluster *c;          /* back pointer for timer callbacks */
    char instance_id[SIM_ID_MAX];
    char node_name[64];             /* the private DNS name; "" before the first registration */
    char zone[32];
    int phase;                      /* enum sim_kubelet_phase */
    int node_exists;                /* our Node is in the API (Ready or not) */
    struct core_timer *timer;       /* the one pending step (join, ready, warm-up); or NULL */
    json_t *node_obj;               /* JOINING: the Node to create when the timer fires */
};

struct sim_cluster {
    struct core_loop *loop;         /* borrowed */
    struct sim_aws *aws;            /* borrowed */
    struct sim_kube *kube;          /* borrowed */
    struct sim_cluster_opts opts;
    struct sim_cluster_stats stats; /* every file increments its own counters */
    struct sim_rng rng;             /* kubelet delays (seeded from opts.seed) */
    struct sim_rng rng_sched;       /* for cluster_sched.c / cluster_workload.c */

    sim_aws_observer_fn prev_fn;    /* the observer installed before us; chained */
    void *prev_ud;

    struct core_map *kubelets;      /* instance id -> struct sim_kubelet * (owned) */

    void *sched;                    /* cluster_sched.c's private state */
    void *workloads;                /* cluster_workload.c's private state */
};

/* ------------------------------------------------------------------------------------------ */
/* Kubelets (cluster_kubelet.c)                                                                */
/* ------------------------------------------------------------------------------------------ */

/* An instance changed state: arm, cancel or act (register, delete the Node...). */
void sim_cluster_kubelet_observe(struct sim_cluster *c, const struct sim_instance_view *v);
/* Cancels every kubelet's timer and frees the table. Nodes stay in the API. */
void sim_cluster_kubelets_cleanup(struct sim_cluster *c);
/* The kubelet whose Node is node_name, or NULL. */
struct sim_kubelet *sim_cluster_kubelet_by_node(struct sim_cluster *c, const char *node_name);

/* ------------------------------------------------------------------------------------------ */
/* Scheduler, volume provisioner, pod GC (cluster_sched.c)                                     */
/* ------------------------------------------------------------------------------------------ */

/* Called last by sim_cluster_new (also with opts.no_scheduler set: it may then do nothing).
 * On failure sim_cluster_new calls sim_cluster_sched_cleanup and fails. */
int sim_cluster_sched_init(struct sim_cluster *c, struct core_err *err) CORE_NODISCARD;
/* Cancels its timers and watches, frees c->sched. Safe after a failed or skipped init. */
void sim_cluster_sched_cleanup(struct sim_cluster *c);
/* Something changed (a Node appeared, became Ready, went away): schedule a batch. */
void sim_cluster_sched_kick(struct sim_cluster *c);

/* ------------------------------------------------------------------------------------------ */
/* Workloads (cluster_workload.c)                                                              */
/* ------------------------------------------------------------------------------------------ */

/* Cancels workload timers and frees c->workloads (NULL if none was ever added). Called by
 * sim_cluster_free before sim_cluster_sched_cleanup. */
void sim_cluster_workloads_cleanup(struct sim_cluster *c);

#endif /* STOKER_SIM_CLUSTER_INTERNAL_H */
