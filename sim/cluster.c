/*
 * sim/cluster.c — the simulated cluster's shell: construction, the aws observer and freeing.
 * The kubelets live in cluster_kubelet.c, the scheduler, volume provisioner and pod GC in
 * cluster_sched.c, the workload drivers in cluster_workload.c.
 *
 * Invariants:
 *  - The cluster is the aws observer from sim_cluster_new to sim_cluster_free; the observer it
 *    replaced is called after the kubelets for every change, and put back on free (only if
 *    nobody replaced ours in the meantime, so a later observer is never clobbered).
 *  - Freeing order: workloads, scheduler, kubelets (each cancels its own timers), then the
 *    observer is restored; nothing the cluster arms survives sim_cluster_free.
 */
#include "sim/cluster_internal.h"

#include <string.h>

static void on_instance(void *ud, const struct sim_instance_view *v)
{
    struct sim_cluster *c = ud;
    sim_cluster_kubelet_observe(c, v);
    if (c->prev_fn)
        c->prev_fn(c->prev_ud, v);
}

int sim_cluster_new(struct core_loop *loop, struct sim_aws *aws, struct sim_kube *kube,
                    const struct sim_cluster_opts *opts, struct sim_cluster **out,
                    struct core_err *err)
{
    struct sim_cluster *c = NULL;
    int rc = 0;

    if (!loop || !aws || !kube || !out)
        return core_err_set(err, CORE_E_INVAL, "sim_cluster_new: loop, aws, kube and out are "
                                               "required");
    c = core_calloc(1, sizeof *c);
    if (!c)
        return core_err_set(err, CORE_E_NOMEM, "out of memory for the simulated cluster");
    c->loop = loop;
    c->aws = aws;
    c->kube = kube;
    if (opts)
        c->opts = *opts;
    if (c->opts.schedule_delay <= 0)
        c->opts.schedule_delay = 100 * CORE_NS_PER_MS;
    if (c->opts.node_on_stop != SIM_NODE_NOTREADY)
        c->opts.node_on_stop = SIM_NODE_DELETE;
    /* Separate streams, so that adding pods never changes which delays kubelets draw. */
    sim_rng_seed(&c->rng, c->opts.seed ^ 0x6b7562656c657473ull);
    sim_rng_seed(&c->rng_sched, c->opts.seed ^ 0x7363686564756c65ull);
    c->kubelets = core_map_new();
    if (!c->kubelets) {
        rc = core_err_set(err, CORE_E_NOMEM, "out of memory for the simulated cluster");
        goto fail;
    }
    rc = sim_cluster_sched_init(c, err);
    if (rc) {
        sim_cluster_sched_cleanup(c);
        goto fail;
    }
    sim_aws_observer_get(aws, &c->prev_fn, &c->prev_ud);
    sim_aws_set_observer(aws, on_instance, c);
    *out = c;
    return 0;
fail:
    core_map_free(c->kubelets);
    core_free(c);
    return rc;
}

void sim_cluster_free(struct sim_cluster *c)
{
    sim_aws_observer_fn fn;
    void *ud;

    if (!c)
        return;
    sim_aws_observer_get(c->aws, &fn, &ud);
    if (fn == on_instance && ud == c)
        sim_aws_set_observer(c->aws, c->prev_fn, c->prev_ud);
    sim_cluster_workloads_cleanup(c);
    sim_cluster_sched_cleanup(c);
    sim_cluster_kubelets_cleanup(c);
    core_free(c);
}

void sim_cluster_stats(const struct sim_cluster *c, struct sim_cluster_stats *out)
{
    if (!out)
        return;
    if (!c) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = c->stats;
}
