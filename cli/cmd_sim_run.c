/*
 * cli/cmd_sim_run.c — `stoker sim --scenario NAME`: a simulated world (emulated EC2, SSM,
 * Kubernetes API and cluster) and the real controller in one process on a virtual clock, a
 * live progress line, a summary table and an HTML report. `--warm-pool none|policy|advise`
 * picks the scenario's WarmPool (sim_scenario_setup_warm), made before the controller starts.
 *
 * Invariants: the run is deterministic for a scenario and seed (virtual time; the wall clock
 * is read only for the progress display and the reported wall time); flags are validated
 * before anything is built (a bad one names itself, exit 2); the report is written whole or
 * not at all; the controller is the same code `stoker controller` runs, talking to the
 * emulators through the in-process transport.
 */
#include "cli/cli.h"

#include "aws/aws.h"
#include "controller/controller.h"
#include "core/core.h"
#include "sim/sim.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RUN_DEFAULT_REPORT "stoker-sim-report.html"
#define RUN_SAMPLE_INTERVAL (5 * CORE_NS_PER_S)
#define RUN_REPORT_MAX ((size_t)64 << 20)

static void run_usage(FILE *f)
{
    fprintf(f, "usage: stoker sim --scenario NAME [--seed N] [--warm-pool none|policy|advise]\n"
               "                  [--report FILE.html] [--log FILE] [--progress auto|on|off]\n"
               "\n"
               "Runs a scenario: the emulated AWS account and Kubernetes cluster and the real\n"
               "stoker controller in one process, on a virtual clock (an hour of scale-out\n"
               "takes seconds), deterministically for a seed. Prints a progress line, then a\n"
               "summary, and writes an HTML report with charts.\n"
               "\n"
               "scenarios:\n");
    for (size_t i = 0; i < sim_scenario_count(); i++) {
        const struct sim_scenario *sc = sim_scenario_at(i);
        fprintf(f, "  %-11s %s\n", sc->name, sc->description);
    }
    fprintf(f, "\nflags:\n"
               "  --seed N          the run's seed (default 1)\n"
               "  --warm-pool MODE  for scenarios with a warm pool or a burst (flash-sale):\n"
               "                    none (no WarmPool), policy (the scenario's own WarmPool;\n"
               "                    the default when it has one), advise (a WarmPool sized by\n"
               "                    `prewarm advise` for the scenario's burst, with the boot\n"
               "                    model's timings; the summary shows the advice used)\n"
               "  --report FILE     where to write the HTML report (default " RUN_DEFAULT_REPORT
               ")\n"
               "  --log FILE        write the controller's structured log there\n"
               "  --progress MODE   the live line: auto (when stdout is a terminal), on, off\n");
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct run {
    const struct sim_scenario *sc;
    struct sim_world *w;
    struct sim_tracker *tr;
    struct core_log *log;
    FILE *logf;
    struct controller_opts copts;
    struct controller *ctl;
    struct controller_stats prev; /* stats of controllers that were restarted */
    int restarts;
};

/* Reaction percentiles across restarts: those of the controller that took the most samples
 * (each controller's samples are its own; merging percentiles is not possible). */
static void keep_reaction(struct controller_stats *acc, const struct controller_stats *s)
{
    if (s->reaction_samples > acc->reaction_samples) {
        acc->reaction_samples = s->reaction_samples;
        acc->reaction_p50 = s->reaction_p50;
        acc->reaction_p99 = s->reaction_p99;
    }
}

static void add_stats(struct controller_stats *acc, const struct controller_stats *s)
{
    acc->batches += s->batches;
    acc->pods_scheduled += s->pods_scheduled;
    acc->nodeclaims_created += s->nodeclaims_created;
    acc->launches_cold += s->launches_cold;
    acc->launches_warm += s->launches_warm;
    acc->launch_failures += s->launch_failures;
    acc->ec2_calls += s->ec2_calls;
    acc->decide_ns_total += s->decide_ns_total;
    if (s->decide_ns_max > acc->decide_ns_max)
        acc->decide_ns_max = s->decide_ns_max;
    acc->orphans_terminated += s->orphans_terminated;
}

static int start_controller(struct run *r, FILE *errout)
{
    struct core_err err = {0};
    int rc = controller_new(r->w->loop, r->w->k8sc, r->w->awsc, r->log, &r->copts, &r->ctl, &err);
    if (!rc && (rc = controller_start(r->ctl, &err)) != 0) {
        controller_free(r->ctl);
        r->ctl = NULL;
    }
    if (rc)
        fprintf(errout, "stoker sim: controller: %s\n", err.message);
    return rc;
}

static void progress(FILE *out, struct run *r, core_ns t)
{
    struct sim_sample smp;
    sim_tracker_now(r->tr, &smp);
    long s = (long)(t / CORE_NS_PER_S);
    fprintf(out,
            "\r[%s %02ld:%02ld] pods pending %5u bound %5u | nodes launching %4u ready %4u | "
            "launches cold %4lu warm %4lu | pool warming %3u warm %3u ",
            r->sc->name, s / 60, s % 60, smp.pods_pending, smp.pods_bound, smp.nodes_launching,
            smp.nodes_ready, smp.launches_cold, smp.launches_warm, smp.warm_warming,
            smp.warm_stopped);
    fflush(out);
}

static int write_report(const char *path, const struct core_buf *b, FILE *errout)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return -1; /* checked before the run */
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(errout, "stoker sim: cannot write %s\n", tmp);
        return -1;
    }
    size_t n = fwrite(core_buf_cstr(b), 1, b->len, f);
    int bad = n != b->len;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        fprintf(errout, "stoker sim: cannot write %s\n", path);
        (void)remove(tmp);
        return -1;
    }
    return 0;
}

/* The advice advise mode used, one line. */
static void advice_line(const struct sim_scenario_advice *a, char *out, size_t outsz)
{
    snprintf(out, outsz,
             "hold %lld x %s warm (%lld pods/node, %lld nodes, %lld cold in time%s), "
             "$%.4f/h idle; timing cold %.1f s, warm %.1f s; %zu candidate types",
             (long long)a->warm, a->instance_type, (long long)a->pods_per_node,
             (long long)a->nodes, (long long)a->cold,
             a->meets_deadline ? "" : "; misses the deadline", a->idle_usd_per_hour,
             a->cold_ready_s, a->warm_ready_s, a->ncandidates);
}

int cli_sim_scenario(int argc, char **argv, FILE *out, FILE *errout)
{
    const char *name = NULL, *report = RUN_DEFAULT_REPORT, *logpath = NULL, *prog = "auto";
    const char *warm_flag = NULL;
    enum sim_warm_mode warm_mode = SIM_WARM_DEFAULT;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            run_usage(out);
            return CLI_EXIT_OK;
        }
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            run_usage(out);
            return CLI_EXIT_OK;
        } else if ((v = cli_flag_value(argc, argv, &i, "--scenario", &missing)) != NULL) {
            name = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--report", &missing)) != NULL) {
            report = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--warm-pool", &missing)) != NULL) {
            if (sim_warm_mode_parse(v, &warm_mode) != 0 || warm_mode == SIM_WARM_DEFAULT) {
                fprintf(errout,
                        "stoker sim: --warm-pool: expected none, policy or advise, got '%s'\n", v);
                return CLI_EXIT_USAGE;
            }
            warm_flag = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--log", &missing)) != NULL) {
            logpath = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--progress", &missing)) != NULL) {
            if (strcmp(v, "auto") && strcmp(v, "on") && strcmp(v, "off")) {
                fprintf(errout, "stoker sim: --progress: expected auto, on or off, got '%s'\n", v);
                return CLI_EXIT_USAGE;
            }
            prog = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--seed", &missing)) != NULL) {
            int64_t n = 0;
            if (core_parse_i64(v, 0, INT64_MAX, &n) != 0) {
                fprintf(errout, "stoker sim: --seed: expected a non-negative integer, got '%s'\n",
                        v);
                return CLI_EXIT_USAGE;
            }
            seed = (uint64_t)n;
        } else {
            if (!missing)
                fprintf(errout, "stoker sim: unknown flag '%s'\n\n", argv[i]);
            else
                fprintf(errout, "stoker sim: %s needs a value\n\n", argv[i]);
            run_usage(errout);
            return CLI_EXIT_USAGE;
        }
        if (missing) {
            fprintf(errout, "stoker sim: %s needs a value\n", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    const struct sim_scenario *sc = name ? sim_scenario_find(name) : NULL;
    if (!sc) {
        fprintf(errout, "stoker sim: --scenario: %s%s%s; expected one of:",
                name ? "unknown scenario '" : "a scenario is required", name ? name : "",
                name ? "'" : "");
        for (size_t i = 0; i < sim_scenario_count(); i++)
            fprintf(errout, " %s", sim_scenario_at(i)->name);
        fprintf(errout, "\n");
        return CLI_EXIT_USAGE;
    }
    if (warm_flag && !sc->warm_pool_yaml && !sc->burst) {
        fprintf(errout, "stoker sim: --warm-pool: scenario %s has no warm pool and no burst to "
                        "size one for (flash-sale has both)\n", sc->name);
        return CLI_EXIT_USAGE;
    }
    if (warm_mode == SIM_WARM_POLICY && !sc->warm_pool_yaml) {
        fprintf(errout, "stoker sim: --warm-pool policy: scenario %s defines no WarmPool\n",
                sc->name);
        return CLI_EXIT_USAGE;
    }
    if (warm_mode == SIM_WARM_ADVISE && !sc->burst) {
        fprintf(errout, "stoker sim: --warm-pool advise: scenario %s describes no burst\n",
                sc->name);
        return CLI_EXIT_USAGE;
    }
    int show = strcmp(prog, "on") == 0 || (strcmp(prog, "auto") == 0 && isatty(fileno(out)));
    /* Where the results go is checked before the run, not after it. */
    char tmp_report[4096];
    if (!*report || (size_t)snprintf(tmp_report, sizeof(tmp_report), "%s.tmp", report) >=
                        sizeof(tmp_report)) {
        fprintf(errout, "stoker sim: --report: expected a file path (at most %zu bytes)\n",
                sizeof(tmp_report) - 5);
        return CLI_EXIT_USAGE;
    }
    FILE *probe = fopen(tmp_report, "w");
    if (!probe) {
        fprintf(errout, "stoker sim: --report: cannot write %s\n", report);
        return CLI_EXIT_USAGE;
    }
    fclose(probe);
    (void)remove(tmp_report);

    struct run r;
    memset(&r, 0, sizeof(r));
    r.sc = sc;
    if (logpath) {
        r.logf = fopen(logpath, "w");
        if (!r.logf) {
            fprintf(errout, "stoker sim: --log: cannot open %s\n", logpath);
            return CLI_EXIT_USAGE;
        }
    }
    struct core_err err = {0};
    struct sim_world_opts wo;
    struct sim_scenario_warm warm;
    int exit_code = CLI_EXIT_FAIL;
    double t0 = wall_now();
    memset(&warm, 0, sizeof warm);
    if (sim_scenario_world_opts(sc, seed, &wo, &err) != 0 || sim_world_new(&wo, &r.w, &err) != 0 ||
        sim_scenario_setup_warm(sc, r.w, warm_mode, &warm, &err) != 0 ||
        sim_tracker_new(r.w, RUN_SAMPLE_INTERVAL, &r.tr, &err) != 0) {
        fprintf(errout, "stoker sim: %s\n", err.message);
        goto out;
    }
    if (sc->burst)
        sim_tracker_set_burst(r.tr, sc->burst->at);
    if (r.logf && !(r.log = core_log_new(r.logf, CORE_LOG_LOGFMT, CORE_LOG_INFO, r.w->clock))) {
        fprintf(errout, "stoker sim: --log: out of memory\n");
        goto out;
    }
    r.copts.cluster_name = SIM_AWS_CLUSTER;
    r.copts.cluster_endpoint = "https://sim.invalid";
    r.copts.cluster_ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==";
    r.copts.region = sim_aws_region(r.w->aws);
    r.copts.identity = "stoker-sim";
    if (start_controller(&r, errout) != 0)
        goto out;

    core_ns start = core_loop_now(r.w->loop);
    core_ns end = start + sc->duration;
    core_ns restart_at = sc->restart_controller_at ? start + sc->restart_controller_at : 0;
    double last_print = 0;
    while (core_loop_now(r.w->loop) < end) {
        core_ns now = core_loop_now(r.w->loop);
        if (restart_at && now >= restart_at) {
            restart_at = 0;
            struct controller_stats st;
            controller_get_stats(r.ctl, &st);
            add_stats(&r.prev, &st);
            keep_reaction(&r.prev, &st);
            controller_free(r.ctl); /* as if killed: nothing is released or finished */
            r.ctl = NULL;
            r.restarts++;
            if (start_controller(&r, errout) != 0)
                goto out;
        }
        int more = core_loop_run_once(r.w->loop, end - now, &err);
        if (more < 0) {
            fprintf(errout, "stoker sim: %s\n", err.message);
            goto out;
        }
        if (more == 0)
            break; /* nothing left to happen: the world is at rest */
        if (show && wall_now() - last_print > 0.2) {
            last_print = wall_now();
            progress(out, &r, core_loop_now(r.w->loop) - start);
        }
    }
    if (show) {
        progress(out, &r, core_loop_now(r.w->loop) - start);
        fprintf(out, "\n");
    }

    struct controller_stats st;
    controller_get_stats(r.ctl, &st);
    add_stats(&st, &r.prev);
    keep_reaction(&st, &r.prev);
    /* EC2 calls by action (sorted by name: the client's iteration order is not), so a reader
     * can tell the launch path's calls from the periodic ones. */
    char notes[2048];
    size_t used = (size_t)snprintf(notes, sizeof(notes), "controller restarts: %d; EC2 calls:",
                                   r.restarts);
    struct aws_action_stats as[64];
    size_t nas = 0, it = 0;
    while (nas < 64 && aws_client_stats_next(r.w->awsc, &it, &as[nas]))
        if (strcmp(as[nas].service, "ec2") == 0)
            nas++;
    for (size_t i = 1; i < nas; i++)
        for (size_t j = i; j > 0 && strcmp(as[j - 1].action, as[j].action) > 0; j--) {
            struct aws_action_stats t = as[j];
            as[j] = as[j - 1];
            as[j - 1] = t;
        }
    unsigned long ec2_total = 0;
    for (size_t i = 0; i < nas; i++) {
        ec2_total += as[i].calls;
        if (used < sizeof(notes))
            used += (size_t)snprintf(notes + used, sizeof(notes) - used, " %s %lu", as[i].action,
                                     as[i].calls);
    }
    char advice[512] = "";
    if (warm.has_advice)
        advice_line(&warm.advice, advice, sizeof advice);
    struct sim_report_info info = {
        .warm_pool = sim_warm_mode_name(warm.mode),
        .advice = warm.has_advice ? advice : NULL,
        .scenario = sc->name,
        .seed = seed,
        .wall_seconds = wall_now() - t0,
        .ec2_calls = ec2_total, /* every call: the controller's, the refresher's, AMIs' */
        .reaction_p50_s = (double)st.reaction_p50 / 1e9,
        .reaction_p99_s = (double)st.reaction_p99 / 1e9,
        .decide_total_s = (double)st.decide_ns_total / 1e9,
        .decide_max_s = (double)st.decide_ns_max / 1e9,
        .batches = st.batches,
        .notes = notes,
    };
    struct core_buf b;
    core_buf_init(&b, RUN_REPORT_MAX);
    if (sim_report_text(r.tr, &info, &b) != 0) {
        fprintf(errout, "stoker sim: the summary did not render\n");
        core_buf_cleanup(&b);
        goto out;
    }
    fputs(core_buf_cstr(&b), out);
    core_buf_reset(&b);
    if (sim_report_html(r.tr, &info, &b) != 0) {
        fprintf(errout, "stoker sim: the HTML report did not render\n");
        core_buf_cleanup(&b);
        goto out;
    }
    if (write_report(report, &b, errout) != 0) {
        core_buf_cleanup(&b);
        goto out;
    }
    core_buf_cleanup(&b);
    fprintf(out, "report: %s\n", report);
    exit_code = CLI_EXIT_OK;
out:
    controller_free(r.ctl);
    sim_tracker_free(r.tr);
    sim_world_free(r.w);
    core_log_free(r.log);
    if (r.logf)
        fclose(r.logf);
    return exit_code;
}
