/*
 * tests/integration/test_sim_serve_cluster.c — suite "sim_serve_cluster": `stoker sim serve`
 * as a child process with its simulated cluster, end to end over the wire. An instance is run
 * with `stoker aws call ec2 RunInstances` carrying AL2023 join user data rendered here by
 * userdata_build (exactly what the controller would send), and a real kubectl
 * (/usr/bin/kubectl) must then see its Node appear and turn Ready, named after the instance's
 * private DNS name with the instance in its providerID.
 *
 * The boot model is shortened (launch 200 ms, join 300 ms, ready 100 ms) so the whole path
 * takes well under a second of real time; every wait is bounded (the Node within 20 s) and the
 * server must exit 0 on SIGTERM.
 */
#include "tests/unit/harness.h"

#include "core/core.h"
#include "userdata/userdata.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
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

#define KUBECTL "/usr/bin/kubectl"
#define CLI_TIMEOUT_S 60
#define NODE_DEADLINE_S 20
#define MAX_ENV 24
#define TEST_CA "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJmYWtlCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"
#define AMI_PARAM "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/" \
                  "recommended/image_id"

extern char **environ;

struct child {
    pid_t pid;
    int out_fd;
    char dir[64];
    char env_path[128];
    char kcfg_path[128];
    char log_path[128];
    char *env_text;
    char env_store[MAX_ENV][512];
    char *envp[MAX_ENV + 1];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts argv with stdout on a pipe (*out_fd) and stderr appended to err_path. */
static int spawn(char *const argv[], char *const envp[], const char *err_path, int *out_fd,
                 pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    int p[2], rc;

    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    rc = posix_spawn(pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return -1;
    }
    *out_fd = p[0];
    return 0;
}

/* Waits for pid until the deadline; kills it past the deadline. The exit status, or -1. */
static int wait_exit(pid_t pid, double deadline)
{
    int st;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (w < 0 && errno != EINTR)
            return -1;
        if (now_s() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        usleep(20000);
    }
}

/* Everything fd gives until EOF; -1 past the deadline. */
static int read_all(int fd, struct core_buf *b, double deadline)
{
    char chunk[8192];
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        double left = deadline - now_s();
        ssize_t n;
        if (left <= 0)
            return -1;
        if (poll(&p, 1, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            return -1;
        if (!p.revents)
            continue;
        n = read(fd, chunk, sizeof chunk);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        if (core_buf_append(b, chunk, (size_t)n) != 0)
            return -1;
    }
}

static int read_line(int fd, char *out, size_t outsz, double deadline)
{
    size_t n = 0;
    while (n + 1 < outsz) {
        struct pollfd p = {fd, POLLIN, 0};
        double left = deadline - now_s();
        char c;
        ssize_t r;
        if (left <= 0)
            return -1;
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            continue;
        r = read(fd, &c, 1);
        if (r <= 0)
            return -1;
        if (c == '\n')
            break;
        out[n++] = c;
    }
    out[n] = '\0';
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* The env file's lines plus PATH and HOME: the environment of every client. */
static int build_env(struct child *s)
{
    const char *l = s->env_text;
    size_t n = 0;

    snprintf(s->env_store[n++], sizeof s->env_store[0], "PATH=/usr/bin:/bin");
    snprintf(s->env_store[n++], sizeof s->env_store[0], "HOME=%s", s->dir);
    while (*l) {
        size_t len = strcspn(l, "\n");
        if (len > 0 && l[0] != '#') {
            if (n >= MAX_ENV || len >= sizeof s->env_store[0])
                return -1;
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
    return strstr(s->env_text, "AWS_ENDPOINT_URL=") ? 0 : -1;
}

static int sim_start(struct child *s)
{
    char line[512], crds[4096];
    char *argv[] = {(char *)tests_stoker_bin(), "sim", "serve", "--listen", "127.0.0.1:0",
                    "--env-file", NULL, "--kubeconfig", NULL, "--crds", crds,
                    "--boot", "launch=200ms/0", "--boot", "join_cold=300ms/0",
                    "--boot", "ready=100ms/0", NULL};

    memset(s, 0, sizeof *s);
    s->pid = -1;
    s->out_fd = -1;
    core_strlcpy(crds, tests_data_path("../../deploy/crds"), sizeof crds);
    core_strlcpy(s->dir, "/tmp/stoker-sim-cluster-XXXXXX", sizeof s->dir);
    if (!mkdtemp(s->dir))
        return -1;
    snprintf(s->env_path, sizeof s->env_path, "%s/sim.env", s->dir);
    snprintf(s->kcfg_path, sizeof s->kcfg_path, "%s/kubeconfig", s->dir);
    snprintf(s->log_path, sizeof s->log_path, "%s/serve.log", s->dir);
    argv[6] = s->env_path;
    argv[8] = s->kcfg_path;
    if (spawn(argv, environ, s->log_path, &s->out_fd, &s->pid) != 0)
        return -1;
    if (read_line(s->out_fd, line, sizeof line, now_s() + 20) != 0) {
        fprintf(stderr, "\n  stoker sim serve printed no listening line\n");
        return -1;
    }
    if (!strstr(line, "listening on http://127.0.0.1:")) {
        fprintf(stderr, "\n  unexpected first line: %s\n", line);
        return -1;
    }
    s->env_text = tests_read_file(s->env_path, NULL);
    return s->env_text ? build_env(s) : -1;
}

static int sim_stop(struct child *s)
{
    int rc = -1;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        rc = wait_exit(s->pid, now_s() + 20);
        s->pid = -1;
    }
    if (s->out_fd >= 0)
        close(s->out_fd);
    s->out_fd = -1;
    if (rc != 0) {
        char *log = tests_read_file(s->log_path, NULL);
        fprintf(stderr, "\n  stoker sim serve log:\n%s\n", log ? log : "(none)");
        core_free(log);
    }
    core_free(s->env_text);
    s->env_text = NULL;
    if (s->dir[0])
        nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    s->dir[0] = '\0';
    return rc;
}

/* Runs argv (argv[0] an absolute path) with the clients' environment; stdout into *out. The
 * exit status, or -1. */
static int run(struct child *s, char *const *argv, struct core_buf *out)
{
    char errpath[128];
    double deadline = now_s() + CLI_TIMEOUT_S;
    int fd, rc;
    pid_t pid;

    snprintf(errpath, sizeof errpath, "%s/client.err", s->dir);
    unlink(errpath);
    if (spawn(argv, s->envp, errpath, &fd, &pid) != 0)
        return -1;
    if (read_all(fd, out, deadline) != 0)
        kill(pid, SIGKILL);
    close(fd);
    rc = wait_exit(pid, deadline + 5);
    if (rc != 0) {
        char *e = tests_read_file(errpath, NULL);
        fprintf(stderr, "\n  %s %s: exit %d: %s\n", argv[0], argv[1] ? argv[1] : "", rc,
                e ? e : "");
        core_free(e);
    }
    return rc;
}

/* The value after "key: " on a line of `stoker aws call`'s printout, into out. */
static int field(const char *text, const char *key, char *out, size_t outsz)
{
    char pat[64];
    const char *p;
    size_t n;
    snprintf(pat, sizeof pat, "%s: ", key);
    p = strstr(text, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    n = strcspn(p, "\r\n");
    if (n == 0 || n >= outsz)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static const char *ready_status(const json_t *node)
{
    json_t *conds = json_object_get(json_object_get(node, "status"), "conditions"), *c;
    size_t i;
    json_array_foreach(conds, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && strcmp(t, "Ready") == 0)
            return json_string_value(json_object_get(c, "status"));
    }
    return NULL;
}

static void test_node_registers_and_turns_ready(void)
{
    struct child s;
    struct core_buf out;
    struct userdata_input in;
    struct userdata_output ud;
    struct core_err err;
    char ami[64], id[32], dns[96], ud_param[USERDATA_EC2_MAX * 2];
    char param_name[] = "Name=" AMI_PARAM;
    json_t *doc = NULL, *node = NULL;
    int ready = 0;
    double deadline;

    if (access(KUBECTL, X_OK) != 0) {
        fprintf(stderr, "\n  %s is missing: run `make deps-test` (Debian package "
                        "kubernetes-client)\n", KUBECTL);
        CU_FAIL("kubectl is not installed");
        return;
    }
    memset(&in, 0, sizeof in);
    in.family = K8S_AMI_AL2023;
    in.phase = USERDATA_JOIN;
    in.cluster.name = "sim";
    in.cluster.endpoint = "https://SIM.gr7.us-east-1.eks.amazonaws.com";
    in.cluster.ca_bundle = TEST_CA;
    in.node.max_pods = 29;
    CU_ASSERT_EQUAL_FATAL(userdata_build(&in, &ud, &err), 0);
    snprintf(ud_param, sizeof ud_param, "UserData=%s", ud.b64);
    userdata_output_cleanup(&ud);

    if (sim_start(&s) != 0) {
        CU_FAIL("stoker sim serve did not start");
        (void)sim_stop(&s);
        return;
    }
    core_buf_init(&out, 4u << 20);

    /* The AL2023 image, as the controller finds it. */
    {
        char *argv[] = {(char *)tests_stoker_bin(), "aws", "call", "ssm", "GetParameter",
                        param_name, NULL};
        const char *v;
        CU_ASSERT_EQUAL(run(&s, argv, &out), 0);
        doc = json_loads(core_buf_cstr(&out), 0, NULL);
        v = json_string_value(json_object_get(json_object_get(doc, "Parameter"), "Value"));
        CU_ASSERT_PTR_NOT_NULL(v);
        core_strlcpy(ami, v ? v : "", sizeof ami);
        json_decref(doc);
        doc = NULL;
    }

    /* One instance with join user data. */
    core_buf_reset(&out);
    {
        char image[96];
        char *argv[] = {(char *)tests_stoker_bin(), "aws", "call", "ec2", "RunInstances",
                        image, "InstanceType=m5.large", "MinCount=1", "MaxCount=1", ud_param,
                        NULL};
        snprintf(image, sizeof image, "ImageId=%s", ami);
        CU_ASSERT_EQUAL(run(&s, argv, &out), 0);
        CU_ASSERT_EQUAL(field(core_buf_cstr(&out), "instanceId", id, sizeof id), 0);
        CU_ASSERT_EQUAL(field(core_buf_cstr(&out), "privateDnsName", dns, sizeof dns), 0);
        if (strncmp(id, "i-", 2) != 0)
            fprintf(stderr, "\n  RunInstances printed:\n%s\n", core_buf_cstr(&out));
    }

    /* kubectl sees the Node, then Ready. */
    deadline = now_s() + NODE_DEADLINE_S;
    while (!ready && now_s() < deadline) {
        char *argv[] = {KUBECTL, "--kubeconfig", s.kcfg_path, "--request-timeout=10s", "get",
                        "nodes", "-o", "json", NULL};
        json_t *items;
        core_buf_reset(&out);
        if (run(&s, argv, &out) != 0)
            break;
        json_decref(doc);
        doc = json_loads(core_buf_cstr(&out), 0, NULL);
        items = json_object_get(doc, "items");
        if (json_array_size(items) == 1) {
            const char *st = ready_status(json_array_get(items, 0));
            if (st && strcmp(st, "True") == 0) {
                ready = 1;
                node = json_incref(json_array_get(items, 0));
            }
        }
        if (!ready)
            usleep(100000);
    }
    json_decref(doc);
    CU_ASSERT(ready);
    if (node) {
        const char *name = json_string_value(
            json_object_get(json_object_get(node, "metadata"), "name"));
        const char *pid = json_string_value(
            json_object_get(json_object_get(node, "spec"), "providerID"));
        const char *itype = json_string_value(json_object_get(
            json_object_get(json_object_get(node, "metadata"), "labels"),
            "node.kubernetes.io/instance-type"));
        CU_ASSERT(name && strcmp(name, dns) == 0);
        CU_ASSERT(pid && strncmp(pid, "aws:///us-east-1", 16) == 0 && strstr(pid, id));
        CU_ASSERT(itype && strcmp(itype, "m5.large") == 0);
        json_decref(node);
    }
    core_buf_cleanup(&out);
    CU_ASSERT_EQUAL(sim_stop(&s), 0);
}

/* A bad --node-on-stop is a usage error naming the flag, before anything is served. */
static void test_bad_node_on_stop(void)
{
    char dir[] = "/tmp/stoker-sim-cluster-XXXXXX", errpath[96];
    char *argv[] = {(char *)tests_stoker_bin(), "sim", "serve", "--listen", "127.0.0.1:0",
                    "--node-on-stop", "sometimes", NULL};
    struct core_buf out;
    char *e;
    int fd, rc;
    pid_t pid;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(errpath, sizeof errpath, "%s/err", dir);
    CU_ASSERT_EQUAL_FATAL(spawn(argv, environ, errpath, &fd, &pid), 0);
    core_buf_init(&out, 1u << 20);
    (void)read_all(fd, &out, now_s() + CLI_TIMEOUT_S);
    close(fd);
    rc = wait_exit(pid, now_s() + 20);
    CU_ASSERT_EQUAL(rc, 2);
    e = tests_read_file(errpath, NULL);
    CU_ASSERT(e && strstr(e, "--node-on-stop: expected delete or notready"));
    core_free(e);
    core_buf_cleanup(&out);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TESTS_SUITE(sim_serve_cluster, "sim_serve_cluster", NULL, NULL,
            TESTS_CASE(test_node_registers_and_turns_ready), TESTS_CASE(test_bad_node_on_stop));
