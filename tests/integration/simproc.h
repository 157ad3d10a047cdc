/*
 * tests/integration/simproc.h — child processes for the integration tests: spawning a program
 * with its stdout on a pipe and its stderr in a file, reading that pipe against a deadline,
 * waiting for an exit against a deadline, and running `stoker sim serve` on a free loopback
 * port inside a fresh temporary directory.
 *
 * Invariants: every wait is bounded by an absolute deadline on tests_now()'s clock, and a child
 * still running past its deadline is killed (SIGKILL) and reaped, so no test hangs and no
 * zombie outlives the call that made it. A started server writes its env file and kubeconfig
 * only inside its own temporary directory, which tests_sim_stop() removes whatever happened.
 * A struct tests_sim is never copied or moved while started: its envp points into itself.
 */
#ifndef STOKER_TESTS_SIMPROC_H
#define STOKER_TESTS_SIMPROC_H

#include "core/core.h"

#include <stddef.h>
#include <sys/types.h>

/* How many entries the clients' environment holds, and how long one may be. */
#define TESTS_SIM_MAX_ENV 24
#define TESTS_SIM_ENV_LEN 512

/* A running `stoker sim serve` and what its first line and env file told. */
struct tests_sim {
    pid_t pid;           /* -1 when not running */
    int out_fd;          /* the server's stdout, kept open so it never sees SIGPIPE */
    char dir[64];        /* the temporary directory; "" once removed */
    char env_path[128];  /* --env-file, inside dir */
    char kube_path[128]; /* --kubeconfig, inside dir */
    char log_path[128];  /* the server's stderr, inside dir */
    unsigned port;
    char endpoint[64];   /* http://127.0.0.1:PORT */
    /* The clients' environment: PATH=/usr/bin:/bin, HOME=dir, then the env file's NAME=value
     * lines, then whatever tests_sim_setenv() added; NULL-terminated, entries in env_store. */
    char *envp[TESTS_SIM_MAX_ENV + 1];
    char env_store[TESTS_SIM_MAX_ENV][TESTS_SIM_ENV_LEN];
};

/* Seconds on the monotonic clock: what every deadline here is measured against. */
double tests_now(void);

/* Starts argv (argv[0] an absolute path) with envp, stdin on /dev/null, stdout on a pipe
 * (*out_fd, the caller closes it) and stderr written to err_path (truncated). 0 or CORE_E_*. */
int tests_spawn(char *const argv[], char *const envp[], const char *err_path, int *out_fd,
                pid_t *pid);

/* Waits for pid until the deadline; past it, kills and reaps it. The exit status, or -1 when
 * it was killed, died of a signal or could not be waited for. */
int tests_wait_exit(pid_t pid, double deadline);

/* Appends what fd gives to b until EOF or, when until is set, until b contains it. 0 then;
 * CORE_E_TIMEOUT past the deadline, CORE_E_TRANSPORT on a read error (or EOF before until),
 * CORE_E_TOOBIG past b's limit. */
int tests_read_until(int fd, struct core_buf *b, double deadline, const char *until);

/* Reads one line (without its '\n', cut at outsz - 1 bytes) from fd before the deadline.
 * 0, or CORE_E_TIMEOUT / CORE_E_TRANSPORT (EOF or error before a line). */
int tests_read_line(int fd, char *out, size_t outsz, double deadline);

/* Runs argv with envp: stderr into err_path, stdout appended to out (the caller's buffer, its
 * limit bounding what is kept; past it the child is killed). The child gets timeout_s to
 * finish its output and 5 s more to exit. *status is its exit status or -1. 0, or CORE_E_*
 * when it could not be started (then *status is untouched). */
int tests_run(char *const argv[], char *const envp[], const char *err_path, double timeout_s,
              struct core_buf *out, int *status);

/* What one run of the stoker binary printed and returned. */
struct tests_stoker_run {
    int status;
    char *out; /* stdout, NUL-terminated (core_free) */
    char *err; /* stderr, NUL-terminated (core_free) */
};
/* Runs `stoker ARGS...` (args NULL-terminated, at most 38) with envp, stderr through
 * DIR/stderr, for at most timeout_s; out and err are never NULL afterwards (empty when the
 * binary could not start, which also fails the running test). */
void tests_stoker_run(struct tests_stoker_run *r, const char *const *args, char *const envp[],
                      const char *dir, double timeout_s);
void tests_stoker_run_cleanup(struct tests_stoker_run *r);

/* Removes dir and everything below it (links themselves, never what they point to). */
void tests_rmtree(const char *dir);

/* Starts `stoker sim serve --listen 127.0.0.1:0 --env-file DIR/sim.env --kubeconfig
 * DIR/kubeconfig EXTRA...` (extra_args NULL-terminated, may be NULL) in a new directory
 * /tmp/stoker-NAME-XXXXXX, reads its listening line and its env file, and builds envp. On
 * failure says why on stderr; call tests_sim_stop() either way. 0 or CORE_E_*. */
/* The kubectl the tests drive: $STOKER_KUBECTL when set (e.g. Debian's 1.20 unpacked
 * elsewhere), else /usr/bin/kubectl. */
const char *tests_kubectl(void);

int tests_sim_start(struct tests_sim *s, const char *name, const char *const *extra_args);

/* SIGTERM, then the server's exit status (or -1, after printing its log); removes the
 * directory. Safe to call again. */
int tests_sim_stop(struct tests_sim *s);

/* The value of NAME in the clients' environment (borrowed from s), or NULL. */
const char *tests_sim_env(const struct tests_sim *s, const char *name);

/* Sets NAME=value in the clients' environment, replacing an entry of that name. 0 or
 * CORE_E_TOOBIG. */
int tests_sim_setenv(struct tests_sim *s, const char *name, const char *value);

#endif
