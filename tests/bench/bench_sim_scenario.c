/*
 * tests/bench/bench_sim_scenario.c — whole `stoker sim --scenario` runs as benchmarks: the
 * emulated world (EC2, kube API, kubelets, scheduler, workloads), the real controller, and the
 * tracker, on the virtual clock, for the scenario's whole duration. "flash-sale" is the
 * everyday size (1,530 pods); "scale-20k" is issue #6's size (20,000 pods, ~4,000 nodes). It
 * takes a minute or two of CPU (the simulated scheduler passes over classes of equivalent pods
 * that fit nowhere, but the controller and the emulated API still see every Node and NodeClaim),
 * so it runs only when STOKER_BENCH_SCALE is set, and prints its wall time and summary to
 * stderr as it ends.
 *
 * What is timed: the run of the loop from the controller's start to the scenario's end (world
 * setup and teardown are not). The metrics are what a reader compares between runs: pods,
 * nodes, pod wait, EC2 calls per node, controller reaction, the timed section's wall seconds;
 * peak RSS is the harness's.
 *
 * "flash-sale/warm-pools" is section 4 of the benchmark brief (../shared/reference/benchmarks.md):
 * flash-sale three times with one seed (STOKER_BENCH_SEED, default 7) — no warm pool, the
 * scenario's policy pool, and a pool sized by prewarm_advise — printing one table row per mode
 * (pod wait and pod → node Ready p50/p90/p99, launches by path, EC2 calls per Ready node, the
 * pool's idle cost per hour at its peak, wall seconds), the ratio p99 wait advise / none
 * (target at most 0.35), and the controller's own share of the wait: the CPU time it spent
 * deciding (controller_stats.decide_ns_*, real time while pods wait in virtual time) against
 * the median wait.
 *
 * Invariants: the controller is built with the options `stoker sim --scenario` gives it
 * (cli/cmd_sim_run.c), silent (no logger); teardown is controller, tracker, world, as the CLI
 * does (the controller borrows the world's loop and clients, the tracker watches the world).
 */
#include "tests/bench/bench.h"

#include "aws/aws.h"
#include "controller/controller.h"
#include "core/core.h"
#include "sim/sim.h"

#include <stdlib.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

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
    struct timespec t0, t1;
    double wall;
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
    clock_gettime(CLOCK_MONOTONIC, &t0);
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
    clock_gettime(CLOCK_MONOTONIC, &t1);
    wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

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
    bench_metric(ctx, "wall_s", wall);
    if (strcmp(name, "scale-20k") == 0)
        fprintf(stderr,
                "bench_sim_scenario: %s: %.1f s wall for %.0f s virtual; pods %lu, bound %lu, "
                "pending at end %lu; nodes at most %lu\n",
                name, wall, (double)sc->duration / 1e9, (unsigned long)sum.pods_created,
                (unsigned long)sum.pods_bound, (unsigned long)sum.pods_pending_end,
                (unsigned long)sum.instances_max);
    rc = sum.pods_created > 0 ? 0 : 1;
done:
    controller_free(ctl);
    sim_tracker_free(tr);
    sim_world_free(w);
    return rc;
}

/* ---- section 4: flash-sale three ways --------------------------------------------------- */

struct mode_run {
    struct sim_summary sum;
    struct controller_stats st;
    struct sim_scenario_warm warm;
    unsigned long ec2_calls;        /* every EC2 call of the client: the controller's all */
    double wall_s;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_mode(const struct sim_scenario *sc, enum sim_warm_mode mode, uint64_t seed,
                    struct mode_run *out)
{
    struct sim_world_opts wo;
    struct sim_world *w = NULL;
    struct sim_tracker *tr = NULL;
    struct controller *ctl = NULL;
    struct controller_opts copts;
    struct core_err err = {0};
    struct aws_action_stats as;
    size_t it = 0;
    core_ns end;
    double t0 = mono_s();
    int rc = 1;

    memset(out, 0, sizeof *out);
    if (sim_scenario_world_opts(sc, seed, &wo, &err) != 0 || sim_world_new(&wo, &w, &err) != 0 ||
        sim_scenario_setup_warm(sc, w, mode, &out->warm, &err) != 0 ||
        sim_tracker_new(w, SAMPLE_INTERVAL, &tr, &err) != 0) {
        fprintf(stderr, "bench_sim_scenario: %s/%s: %s\n", sc->name, sim_warm_mode_name(mode),
                err.message);
        goto done;
    }
    if (sc->burst)
        sim_tracker_set_burst(tr, sc->burst->at);
    memset(&copts, 0, sizeof copts);
    copts.cluster_name = SIM_AWS_CLUSTER;
    copts.cluster_endpoint = "https://sim.invalid";
    copts.cluster_ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==";
    copts.region = sim_aws_region(w->aws);
    copts.identity = "stoker-sim";
    if (controller_new(w->loop, w->k8sc, w->awsc, NULL, &copts, &ctl, &err) != 0 ||
        controller_start(ctl, &err) != 0) {
        fprintf(stderr, "bench_sim_scenario: controller: %s\n", err.message);
        goto done;
    }
    end = core_loop_now(w->loop) + sc->duration;
    while (core_loop_now(w->loop) < end) {
        int more = core_loop_run_once(w->loop, end - core_loop_now(w->loop), &err);
        if (more < 0) {
            fprintf(stderr, "bench_sim_scenario: %s\n", err.message);
            goto done;
        }
        if (more == 0)
            break;
    }
    sim_tracker_summary(tr, &out->sum);
    controller_get_stats(ctl, &out->st);
    while (aws_client_stats_next(w->awsc, &it, &as))
        if (strcmp(as.service, "ec2") == 0)
            out->ec2_calls += as.calls;
    rc = out->sum.pods_created > 0 ? 0 : 1;
done:
    controller_free(ctl);
    sim_tracker_free(tr);
    sim_world_free(w);
    out->wall_s = mono_s() - t0;
    return rc;
}

static void print_row(const char *mode, const struct mode_run *r)
{
    char calls[32] = "-";
    if (r->sum.nodes_ready_total)
        snprintf(calls, sizeof calls, "%.2f",
                 (double)r->ec2_calls / (double)r->sum.nodes_ready_total);
    printf("  %-7s %6.1f %6.1f %6.1f   %6.1f %6.1f %6.1f   %6.1f   %5lu %5lu   %8s   %8.4f  "
           "%6.2f\n",
           mode, r->sum.burst_wait_p50_s, r->sum.burst_wait_p90_s, r->sum.burst_wait_p99_s,
           r->sum.burst_ready_p50_s, r->sum.burst_ready_p90_s, r->sum.burst_ready_p99_s,
           r->sum.wait_p99_s, r->sum.launches_cold, r->sum.launches_warm, calls,
           r->sum.warm_pool_peak_usd_per_hour, r->wall_s);
}

BENCH(bench_flash_warm_pools, "sim/flash-sale/warm-pools", "runs", 1)
{
    static const enum sim_warm_mode modes[3] = {SIM_WARM_NONE, SIM_WARM_POLICY, SIM_WARM_ADVISE};
    const struct sim_scenario *sc = sim_scenario_find("flash-sale");
    struct mode_run r[3];
    struct sim_boot_model bm;
    uint64_t seed = 7;
    const char *env = getenv("STOKER_BENCH_SEED");
    int64_t v = 0;

    if (!sc)
        return 1;
    if (env && core_parse_i64(env, 0, INT64_MAX, &v) == 0)
        seed = (uint64_t)v;
    bench_start(ctx);
    for (int i = 0; i < 3; i++)
        if (run_mode(sc, modes[i], seed, &r[i]) != 0)
            return 1;
    bench_stop(ctx, 3);

    sim_boot_model_default(&bm); /* the scenario's world uses the default model */
    const struct sim_boot_param *p = bm.step;
    printf("\nflash-sale, seed %llu; boot model default: cold %.0f s (launch %.0f + join %.0f + "
           "ready %.0f), warm %.0f s (start %.0f + join %.0f + ready %.0f), warm-up %.0f s "
           "(medians)\n",
           (unsigned long long)seed,
           p[SIM_BOOT_LAUNCH].median_s + p[SIM_BOOT_JOIN_COLD].median_s +
               p[SIM_BOOT_READY].median_s,
           p[SIM_BOOT_LAUNCH].median_s, p[SIM_BOOT_JOIN_COLD].median_s, p[SIM_BOOT_READY].median_s,
           p[SIM_BOOT_START].median_s + p[SIM_BOOT_JOIN_WARM].median_s + p[SIM_BOOT_READY].median_s,
           p[SIM_BOOT_START].median_s, p[SIM_BOOT_JOIN_WARM].median_s, p[SIM_BOOT_READY].median_s,
           p[SIM_BOOT_WARMUP].median_s);
    printf("  burst pods (created from %.0f min on): pod pending -> bound (wait) and -> node Ready "
           "(ready), seconds; \"all p99\" = wait p99 over every pod (the baseline's first cold "
           "start included)\n",
           (double)sc->burst->at / 60e9);
    printf("  %-7s %-20s   %-20s   %-6s   %-11s   %8s   %8s  %6s\n", "mode",
           "wait p50/p90/p99", "ready p50/p90/p99", "all p99", " cold  warm", "EC2/node",
           "pool $/h", "wall s");
    for (int i = 0; i < 3; i++)
        print_row(sim_warm_mode_name(modes[i]), &r[i]);
    double ratio = r[0].sum.burst_wait_p99_s > 0
                       ? r[2].sum.burst_wait_p99_s / r[0].sum.burst_wait_p99_s
                       : 0;
    double ratio_all = r[0].sum.wait_p99_s > 0 ? r[2].sum.wait_p99_s / r[0].sum.wait_p99_s : 0;
    printf("  p99 wait advise / none = %.3f over the burst's pods (target <= 0.35); %.3f over "
           "every pod\n",
           ratio, ratio_all);
    if (r[2].warm.has_advice) {
        const struct sim_scenario_advice *a = &r[2].warm.advice;
        printf("  advice: hold %lld x %s (%lld pods/node, %lld nodes, %lld cold in time), "
               "$%.4f/h idle; timing cold %.1f s, warm %.1f s\n",
               (long long)a->warm, a->instance_type, (long long)a->pods_per_node,
               (long long)a->nodes, (long long)a->cold, a->idle_usd_per_hour, a->cold_ready_s,
               a->warm_ready_s);
    }
    printf("  checks: warm registered unclaimed %lu / %lu / %lu, double starts %lu / %lu / %lu "
           "(none / policy / advise)\n",
           r[0].sum.warm_registered_unclaimed, r[1].sum.warm_registered_unclaimed,
           r[2].sum.warm_registered_unclaimed, r[0].sum.double_starts, r[1].sum.double_starts,
           r[2].sum.double_starts);
    /* The controller's own share: the CPU it spent deciding, against the median wait. A pod
     * waits for the batch that schedules it, so the largest batch is the most it can add to
     * one pod's wait; the total over the run is a bound no pod can exceed. */
    for (int i = 0; i < 3; i++) {
        double tot = (double)r[i].st.decide_ns_total / 1e9;
        double mx = (double)r[i].st.decide_ns_max / 1e9;
        double p50 = r[i].sum.burst_wait_p50_s;
        printf("  controller (%s): deciding %.1f ms CPU in %lu batches (largest %.1f ms); "
               "largest batch / burst p50 wait = %.3f%%, all of it / that = %.3f%% "
               "(target < 1%%)\n",
               sim_warm_mode_name(modes[i]), tot * 1e3, r[i].st.batches, mx * 1e3,
               p50 > 0 ? 100.0 * mx / p50 : 0, p50 > 0 ? 100.0 * tot / p50 : 0);
    }
    bench_metric(ctx, "p99_wait_ratio_advise_none", ratio);
    /* bench_metric keeps the name pointer: static names only. */
    bench_metric(ctx, "burst_wait_p99_s_none", r[0].sum.burst_wait_p99_s);
    bench_metric(ctx, "burst_wait_p99_s_policy", r[1].sum.burst_wait_p99_s);
    bench_metric(ctx, "burst_wait_p99_s_advise", r[2].sum.burst_wait_p99_s);
    bench_metric(ctx, "p99_wait_ratio_all_pods", ratio_all);
    bench_metric(ctx, "launches_warm_advise", (double)r[2].sum.launches_warm);
    bench_metric(ctx, "controller_share_p50_advise",
                 r[2].sum.burst_wait_p50_s > 0
                     ? (double)r[2].st.decide_ns_total / 1e9 / r[2].sum.burst_wait_p50_s
                     : 0);
    bench_metric(ctx, "checks_violations",
                 (double)(r[0].sum.warm_registered_unclaimed + r[1].sum.warm_registered_unclaimed +
                          r[2].sum.warm_registered_unclaimed + r[0].sum.double_starts +
                          r[1].sum.double_starts + r[2].sum.double_starts));
    return 0;
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
