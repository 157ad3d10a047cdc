/*
 * tests/integration/simproc.c — child processes for the integration tests and the `stoker sim
 * serve` they talk to (see simproc.h).
 *
 * Invariants: a deadline is absolute on the monotonic clock, so retries and partial reads
 * never stretch it; a child past its deadline is killed and reaped before returning. The
 * server's directory is created with mkdtemp (mode 0700), and everything the server and the
 * clients write (env file, kubeconfig, logs, stderr files) goes inside it.
 */
#include "tests/integration/simproc.h"

#include "tests/unit/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LISTEN_PREFIX "listening on http://127.0.0.1:"
#define START_DEADLINE_S 20
#define STOP_DEADLINE_S 20
#define EXIT_GRACE_S 5
#define MAX_ARGS 40

extern char **environ;

double tests_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int tests_spawn(char *const argv[], char *const envp[], const char *err_path, int *out_fd,
                pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    int p[2], rc;

    if (pipe2(p, O_CLOEXEC) != 0)
        return CORE_E_TRANSPORT;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    rc = posix_spawn(pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return CORE_E_NOTFOUND;
    }
    *out_fd = p[0];
    return 0;
}

int tests_wait_exit(pid_t pid, double deadline)
{
    int st;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (w < 0 && errno != EINTR)
            return -1;
        if (tests_now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        usleep(10000);
    }
}

/* Waits until fd is readable or the deadline passes: 1 readable (or hung up), 0 not yet,
 * CORE_E_TIMEOUT / CORE_E_TRANSPORT. */
static int wait_readable(int fd, double deadline)
{
    struct pollfd p = {fd, POLLIN, 0};
    double left = deadline - tests_now();
    if (left <= 0)
        return CORE_E_TIMEOUT;
    if (poll(&p, 1, (int)(left * 1000) + 1) < 0)
        return errno == EINTR ? 0 : CORE_E_TRANSPORT;
    return p.revents != 0;
}

int tests_read_until(int fd, struct core_buf *b, double deadline, const char *until)
{
    char chunk[8192];
    for (;;) {
        ssize_t n;
        int rc;
        if (until && strstr(core_buf_cstr(b), until))
            return 0;
        rc = wait_readable(fd, deadline);
        if (rc < 0)
            return rc;
        if (rc == 0)
            continue;
        n = read(fd, chunk, sizeof chunk);
        if (n == 0)
            return until ? CORE_E_TRANSPORT : 0;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return CORE_E_TRANSPORT;
        }
        rc = core_buf_append(b, chunk, (size_t)n);
        if (rc != 0)
            return rc;
    }
}

int tests_read_line(int fd, char *out, size_t outsz, double deadline)
{
    size_t n = 0;
    while (n + 1 < outsz) {
        char c;
        ssize_t r;
        int rc = wait_readable(fd, deadline);
        if (rc < 0)
            return rc;
        if (rc == 0)
            continue;
        r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return CORE_E_TRANSPORT;
        if (c == '\n')
            break;
        out[n++] = c;
    }
    out[n] = '\0';
    return 0;
}

int tests_run(char *const argv[], char *const envp[], const char *err_path, double timeout_s,
              struct core_buf *out, int *status)
{
    double deadline = tests_now() + timeout_s;
    int fd, rc;
    pid_t pid;

    rc = tests_spawn(argv, envp, err_path, &fd, &pid);
    if (rc != 0)
        return rc;
    if (tests_read_until(fd, out, deadline, NULL) != 0)
        kill(pid, SIGKILL);
    close(fd);
    *status = tests_wait_exit(pid, deadline + EXIT_GRACE_S);
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tests_rmtree(const char *dir)
{
    if (dir && dir[0])
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Index of NAME's entry in s->envp, or -1. */
static int env_index(const struct tests_sim *s, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; s->envp[i]; i++)
        if (strncmp(s->envp[i], name, len) == 0 && s->envp[i][len] == '=')
            return i;
    return -1;
}

const char *tests_sim_env(const struct tests_sim *s, const char *name)
{
    int i = env_index(s, name);
    return i < 0 ? NULL : s->envp[i] + strlen(name) + 1;
}

int tests_sim_setenv(struct tests_sim *s, const char *name, const char *value)
{
    int i = env_index(s, name), n = 0;
    char entry[TESTS_SIM_ENV_LEN];

    if ((size_t)snprintf(entry, sizeof entry, "%s=%s", name, value) >= sizeof entry)
        return CORE_E_TOOBIG;
    if (i < 0) {
        while (s->envp[n])
            n++;
        if (n >= TESTS_SIM_MAX_ENV)
            return CORE_E_TOOBIG;
        i = n;
        s->envp[i + 1] = NULL;
    }
    memcpy(s->env_store[i], entry, sizeof entry);
    s->envp[i] = s->env_store[i];
    return 0;
}

/* PATH, HOME, then the NAME=value lines of the env file text. */
static int build_env(struct tests_sim *s, const char *text)
{
    const char *l = text;
    size_t n = 0;

    snprintf(s->env_store[n++], sizeof s->env_store[0], "PATH=/usr/bin:/bin");
    snprintf(s->env_store[n++], sizeof s->env_store[0], "HOME=%s", s->dir);
    while (*l) {
        size_t len = strcspn(l, "\n");
        if (len > 0 && l[0] != '#' && memchr(l, '=', len)) {
            if (n >= TESTS_SIM_MAX_ENV || len >= sizeof s->env_store[0])
                return CORE_E_TOOBIG;
            memcpy(s->env_store[n], l, len);
            s->env_store[n][len] = '\0';
            n++;
        }
        l += len;
        if (*l == '\n')
            l++;
    }
    for (size_t i = 0; i < n; i++)
        s->envp[i] = s->env_store[i];
    s->envp[n] = NULL;
    return 0;
}

/* The port in the server's first line, which must also name both files it wrote. */
static int parse_listening(struct tests_sim *s, const char *line)
{
    const char *p = strstr(line, LISTEN_PREFIX);
    char digits[8];
    size_t n;
    int64_t port;

    if (!p || !strstr(line, "env-file=") || !strstr(line, "kubeconfig="))
        return CORE_E_PARSE;
    p += strlen(LISTEN_PREFIX);
    n = strspn(p, "0123456789");
    if (n == 0 || n >= sizeof digits)
        return CORE_E_PARSE;
    memcpy(digits, p, n);
    digits[n] = '\0';
    if (core_parse_i64(digits, 1, 65535, &port) != 0)
        return CORE_E_PARSE;
    s->port = (unsigned)port;
    snprintf(s->endpoint, sizeof s->endpoint, "http://127.0.0.1:%u", s->port);
    return 0;
}

int tests_sim_start(struct tests_sim *s, const char *name, const char *const *extra_args)
{
    char line[512], *text = NULL;
    char *argv[MAX_ARGS + 1];
    size_t n = 0;
    int rc;

    memset(s, 0, sizeof *s);
    s->pid = -1;
    s->out_fd = -1;
    snprintf(s->dir, sizeof s->dir, "/tmp/stoker-%s-XXXXXX", name);
    if (!mkdtemp(s->dir)) {
        s->dir[0] = '\0';
        fprintf(stderr, "\n  mkdtemp: %s\n", strerror(errno));
        return CORE_E_STATE;
    }
    snprintf(s->env_path, sizeof s->env_path, "%s/sim.env", s->dir);
    snprintf(s->kube_path, sizeof s->kube_path, "%s/kubeconfig", s->dir);
    snprintf(s->log_path, sizeof s->log_path, "%s/serve.log", s->dir);
    argv[n++] = (char *)tests_stoker_bin();
    argv[n++] = "sim";
    argv[n++] = "serve";
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--env-file";
    argv[n++] = s->env_path;
    argv[n++] = "--kubeconfig";
    argv[n++] = s->kube_path;
    for (size_t i = 0; extra_args && extra_args[i]; i++) {
        if (n >= MAX_ARGS)
            return CORE_E_TOOBIG;
        argv[n++] = (char *)extra_args[i];
    }
    argv[n] = NULL;
    rc = tests_spawn(argv, environ, s->log_path, &s->out_fd, &s->pid);
    if (rc != 0) {
        fprintf(stderr, "\n  cannot start %s\n", argv[0]);
        return rc;
    }
    rc = tests_read_line(s->out_fd, line, sizeof line, tests_now() + START_DEADLINE_S);
    if (rc != 0) {
        fprintf(stderr, "\n  stoker sim serve printed no listening line\n");
        return rc;
    }
    rc = parse_listening(s, line);
    if (rc != 0) {
        fprintf(stderr, "\n  unexpected first line: %s\n", line);
        return rc;
    }
    text = tests_read_file(s->env_path, NULL);
    if (!text) {
        fprintf(stderr, "\n  cannot read %s\n", s->env_path);
        return CORE_E_NOTFOUND;
    }
    rc = build_env(s, text);
    if (rc == 0 && !tests_sim_env(s, "AWS_ENDPOINT_URL")) {
        fprintf(stderr, "\n  %s has no AWS_ENDPOINT_URL\n", s->env_path);
        rc = CORE_E_PARSE;
    }
    core_free(text);
    return rc;
}

int tests_sim_stop(struct tests_sim *s)
{
    int rc = -1;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        rc = tests_wait_exit(s->pid, tests_now() + STOP_DEADLINE_S);
        s->pid = -1;
    }
    if (s->out_fd >= 0)
        close(s->out_fd);
    s->out_fd = -1;
    if (rc != 0 && s->dir[0]) {
        char *log = tests_read_file(s->log_path, NULL);
        fprintf(stderr, "\n  stoker sim serve log:\n%s\n", log ? log : "(none)");
        core_free(log);
    }
    tests_rmtree(s->dir);
    s->dir[0] = '\0';
    return rc;
}

const char *tests_kubectl(void)
{
    const char *k = getenv("STOKER_KUBECTL");
    return k && *k ? k : "/usr/bin/kubectl";
}

void tests_stoker_run(struct tests_stoker_run *r, const char *const *args, char *const envp[],
                      const char *dir, double timeout_s)
{
    char *argv[40], errpath[1024];
    size_t n = 0;
    struct core_buf b;

    memset(r, 0, sizeof *r);
    r->status = -1;
    snprintf(errpath, sizeof errpath, "%s/stderr", dir);
    argv[n++] = (char *)tests_stoker_bin();
    for (size_t i = 0; args[i] && n < 39; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    core_buf_init(&b, 16u * 1024u * 1024u);
    if (tests_run(argv, envp, errpath, timeout_s, &b, &r->status) != 0)
        CU_FAIL("could not start the stoker binary");
    if (core_buf_steal(&b, &r->out, NULL) != 0)
        r->out = NULL;
    core_buf_cleanup(&b);
    r->err = tests_read_file(errpath, NULL);
    if (!r->out)
        r->out = core_strdup("");
    if (!r->err)
        r->err = core_strdup("");
}

void tests_stoker_run_cleanup(struct tests_stoker_run *r)
{
    core_free(r->out);
    core_free(r->err);
    r->out = r->err = NULL;
}
