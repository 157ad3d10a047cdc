/*
 * cli/cli.h — the stoker command line: global flags, subcommand dispatch, exit codes.
 *
 * Invariants: the CLI holds no logic a library module should own; it parses flags, builds the
 * process configuration, calls into modules, prints, and maps results to exit codes:
 * 0 success, 1 the command failed, 2 usage error (unknown command or flag, bad value).
 */
#ifndef STOKER_CLI_H
#define STOKER_CLI_H

#include <stdio.h>

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

#endif
