/*
 * cli/cli.h — the stoker command line: global flags, subcommand dispatch, exit codes.
 *
 * Invariants: the CLI holds no logic a library module should own; it parses flags, builds the
 * process configuration, calls into modules, prints, and maps results to exit codes:
 * 0 success, 1 the command failed, 2 usage error (unknown command or flag, bad value).
 */
#ifndef STOKER_CLI_H
#define STOKER_CLI_H

#include "core/core.h"

#include <jansson.h>
#include <stdio.h>

struct prewarm_advise_input;
struct prewarm_timing;
struct sim_boot_model;

enum cli_exit { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* The process's configuration: the only global state stoker has, built once from flags and
 * environment and passed down (borrowed) to what needs it. */
struct cli_config {
    const char *log_level;  /* debug, info, warn, error */
    const char *log_format; /* logfmt, json */
};

/* Runs the stoker command line. out/errout receive normal output and diagnostics. */
int cli_main(int argc, char **argv, FILE *out, FILE *errout);

/* Flag parsing shared by the subcommands: the value of "--flag VALUE" or "--flag=VALUE" at
 * argv[*i] (advancing *i past a separate value), or NULL when argv[*i] is not this flag;
 * *missing is set to 1 when it is the flag but no value follows. */
const char *cli_flag_value(int argc, char **argv, int *i, const char *flag, int *missing);

/* Subcommands: argv[0] is the command's name; cfg is borrowed. Each returns an enum cli_exit. */
int cli_cmd_aws(const struct cli_config *cfg, int argc, char **argv, FILE *out, FILE *errout);
int cli_cmd_sim(const struct cli_config *cfg, int argc, char **argv, FILE *out, FILE *errout);
int cli_cmd_ami(const struct cli_config *cfg, int argc, char **argv, FILE *out, FILE *errout);
int cli_cmd_userdata(const struct cli_config *cfg, int argc, char **argv, FILE *out, FILE *errout);
int cli_cmd_controller(const struct cli_config *cfg, int argc, char **argv, FILE *out,
                       FILE *errout);
/* `stoker sim --scenario ...` (argv as cli_cmd_sim got it). */
int cli_sim_scenario(int argc, char **argv, FILE *out, FILE *errout);
int cli_cmd_plan(const struct cli_config *cfg, int argc, char **argv, FILE *out, FILE *errout);
/* `stoker prewarm status|scale|schedule|cancel|advise` (cli/cmd_prewarm.c). */
int cli_cmd_prewarm(const struct cli_config *cfg, int argc, char **argv, FILE *out,
                    FILE *errout);

/* What `stoker prewarm advise -o json` prints, as a function (the simulator's runner sizes a
 * pool with it). in is prewarm_advise's input (borrowed) with two defaults the command uses:
 * types NULL or ntypes 0 = the compiled-in catalog's current-generation (6+) amd64 c/m/r types
 * without GPUs, accelerators or metal; timing all zero = cli_prewarm_timing over
 * sim_boot_model_default (then the answer lists the model's rows under "bootModel", else that
 * key is null). *out (owned by the caller) holds "input", "bootModel", "timing", "rows",
 * "recommendation" {instanceType, warm, cold, podsPerNode, nodes, idleUSDPerHour,
 * meetsDeadline, summary} and "warmPoolSpec" {nodePoolRef, instanceTypes, podShape, size};
 * see docs/cli.md. Errors: prewarm_advise's (CORE_E_INVAL naming the field, CORE_E_NOTFOUND
 * when no candidate holds one pod), CORE_E_NOMEM. */
int cli_prewarm_advise_json(const struct prewarm_advise_input *in, json_t **out,
                            struct core_err *err) CORE_NODISCARD;
/* The timing advise assumes, from a boot model's medians: cold = launch + join_cold + ready +
 * 1 s (the controller's batch window); warm = start (resume when hibernated) + join_warm +
 * ready + 1 s + 1 s (the describe/modify/tag calls of a claim); launches 1000 at once, then 2
 * per second (the emulated EC2's launch bucket). */
void cli_prewarm_timing(const struct sim_boot_model *m, int hibernated,
                        struct prewarm_timing *out);

#endif
