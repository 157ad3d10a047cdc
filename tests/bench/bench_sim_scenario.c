/*
 * tests/bench/bench_sim_scenario.c — whole `stoker sim --scenario` runs as benchmarks: the
 * emulated world (EC2, kube API, kubelets, scheduler, workloads), the real controller, and the
 * tracker, on the virtual clock, for the scenario's whole duration. "flash-sale" is the
 * everyday size (1,530 pods); "scale-20k" is issue #6's size (20,000 pods, ~4,000 nodes). The
 * simulated scheduler does not reach that size in reasonable time yet (it tries every pending
 * pod on every node each batch), so scale-20k runs only when STOKER_BENCH_SCALE is set.
 *
 * What is timed: the run of the loop from the controller's start to the scenario's end (world
 * setup and teardown are not). The metrics are what a reader compares between runs: pods,
 * nodes, pod wait, EC2 calls per node, controller reaction; peak RSS is the harness's.
 *
 * Invariants: the controller is built with the options `stoker sim --scenario` gives it
 * (cli/cmd_sim_run.c), silent (no logger); teardown is controller, tracker, world, as the CLI
 * does (the controller borrows the world's loop and clients, the tracker watches the world).
 */
#include "tests/bench/bench.h"

#include "controller/controller.h"
#include "core/core.h"
#include "sim/sim.h"

#include <stdlib.h>

#include <stdio.h>
#include <string.h>

#define SAMPLE_INTERVAL (5 * CORE_NS_PER_S)

static int run_scenario(struct bench_ctx *ctx, const char *name)
{
    const struct sim_scenario *sc = sim_scenario_find(name);
    struct sim_world_opts wo;
    struct sim_world *w = NULL;
    struct sim_tracker *tr = NULL;
    struct controller *ctl = NULL;
    struct controller_opts copts;
    struct controller_stats st;
    struct sim_summary sum;
    struct core_err err = {0};
    core_ns end;
    int rc = 1;

    if (!sc) {
        fprintf(stderr, "bench_sim_scenario: no scenario %s\n", name);
        return 1;
    }
    if (sim_scenario_world_opts(sc, 1, &wo, &err) != 0 || sim_world_new(&wo, &w, &err) != 0 ||
        sim_scenario_setup(sc, w, &err) != 0 ||
        sim_tracker_new(w, SAMPLE_INTERVAL, &tr, &err) != 0) {
        fprintf(stderr, "bench_sim_scenario: %s: %s\n", name, err.message);
        goto done;
    }
    memset(&copts, 0, sizeof copts);
    copts.cluster_name = SIM_AWS_CLUSTER;
    copts.cluster_endpoint = "https://sim.invalid";
    copts.cluster_ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==";
    copts.region = sim_aws_region(w->aws);
    copts.identity = "stoker-sim";

    bench_start(ctx);
    if (controller_new(w->loop, w->k8sc, w->awsc, NULL, &copts, &ctl, &err) != 0 ||
        controller_start(ctl, &err) != 0) {
        fprintf(stderr, "bench_sim_scenario: %s: controller: %s\n", name, err.message);
        goto done;
    }
    end = core_loop_now(w->loop) + sc->duration;
    while (core_loop_now(w->loop) < end)
        if (core_loop_run_once(w->loop, end - core_loop_now(w->loop), &err) < 0) {
            fprintf(stderr, "bench_sim_scenario: %s: %s\n", name, err.message);
            goto done;
        }
    sim_tracker_summary(tr, &sum);
    bench_stop(ctx, (double)sum.pods_created);

    controller_get_stats(ctl, &st);
    bench_metric(ctx, "pods", (double)sum.pods_created);
    bench_metric(ctx, "pods_bound", (double)sum.pods_bound);
    bench_metric(ctx, "nodes", (double)sum.instances_max);
    bench_metric(ctx, "pod_wait_p50_s", sum.wait_p50_s);
    bench_metric(ctx, "pod_wait_p99_s", sum.wait_p99_s);
    bench_metric(ctx, "ec2_calls_per_node",
                 sum.launches_cold + sum.launches_warm
                     ? (double)st.ec2_calls / (double)(sum.launches_cold + sum.launches_warm)
                     : 0.0);
    bench_metric(ctx, "reaction_p50_s", (double)st.reaction_p50 / 1e9);
    bench_metric(ctx, "reaction_p99_s", (double)st.reaction_p99 / 1e9);
    rc = sum.pods_created > 0 ? 0 : 1;
done:
    controller_free(ctl);
    sim_tracker_free(tr);
    sim_world_free(w);
    return rc;
}

BENCH(bench_scenario_flash, "sim/scenario/flash-sale", "pods", 1)
{
    return run_scenario(ctx, "flash-sale");
}

BENCH(bench_scenario_scale, "sim/scenario/scale-20k", "pods", 1)
{
    if (!getenv("STOKER_BENCH_SCALE")) {
        bench_metric(ctx, "skipped", 1); /* opt-in: see the file comment */
        bench_start(ctx);
        bench_stop(ctx, 0);
        return 0;
    }
    return run_scenario(ctx, "scale-20k");
}
