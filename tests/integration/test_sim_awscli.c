/*
 * tests/integration/test_sim_awscli.c — `stoker sim serve` as a child process, driven by the
 * real AWS CLI (Debian's /usr/bin/aws, awscli 2.x, installed by `make deps-test`): botocore's
 * own SigV4, wire formats and response parsing against the emulator over loopback HTTP.
 *
 * One instance goes through its whole life (run, running, stop, stopped, start, running,
 * terminate, terminated) with the boot model shortened to one second per step, and the SSM
 * alias for the AL2023 image is read back. Every CLI answer is parsed as JSON and checked for
 * content, not just for exit status. Every wait is bounded by a deadline; the server must exit
 * 0 on SIGTERM.
 *
 * /usr/bin/aws is used explicitly (a pyenv shim may come first on PATH); its absence fails the
 * test with the command that installs it.
 */
#include "tests/unit/harness.h"

#include "core/core.h"

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

#define AWS_CLI "/usr/bin/aws"
#define CLI_TIMEOUT_S 60
#define STATE_DEADLINE_S 45
#define IMG_PREFIX "amazon-eks-node-al2023-x86_64-standard-1.31-"
/* CU_ASSERT_STRING_EQUAL with a possibly NULL actual value (a broken answer must fail the
 * assertion, not crash the run). */
#define ASSERT_STR(actual, expected)                                                          \
    do {                                                                                      \
        const char *as_ = (actual);                                                           \
        CU_ASSERT(as_ != NULL && strcmp(as_, (expected)) == 0);                               \
    } while (0)
#define PATH_PREFIX "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/"

extern char **environ;

struct sim_proc {
    pid_t pid;
    int out_fd; /* the server's stdout (kept open so it never sees SIGPIPE) */
    char dir[64];
    char env_path[128];
    char kube_path[128];
    char log_path[128];
    unsigned port;
    char key_id[128], secret[128], region[64];
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

/* Waits for pid until the deadline (absolute, now_s()); kills it past the deadline. Returns
 * the exit status, or -1 (killed, signalled). */
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

/* Reads fd until EOF, the limit, or the deadline. */
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

/* Reads one line (without '\n') from fd before the deadline. */
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

/* The value of KEY=VALUE in the env file text, into out. */
static int env_value(const char *text, const char *key, char *out, size_t outsz)
{
    size_t klen = strlen(key);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, key, klen) == 0 && l[klen] == '=') {
            const char *v = l + klen + 1;
            size_t n = strcspn(v, "\n");
            if (n >= outsz)
                return -1;
            memcpy(out, v, n);
            out[n] = '\0';
            return 0;
        }
    }
    return -1;
}

static int sim_start(struct sim_proc *s)
{
    char line[512], *text;
    const char *p;
    char *argv[] = {(char *)tests_stoker_bin(), "sim", "serve", "--listen", "127.0.0.1:0",
                    "--env-file", s->env_path, "--kubeconfig", NULL, "--seed", "7",
                    "--boot", "launch=1s/0", "--boot", "start=1s/0", "--boot", "stop=1s/0",
                    "--boot", "terminate=1s/0", NULL};

    memset(s, 0, sizeof *s);
    s->pid = -1;
    s->out_fd = -1;
    core_strlcpy(s->dir, "/tmp/stoker-sim-awscli-XXXXXX", sizeof s->dir);
    if (!mkdtemp(s->dir))
        return -1;
    snprintf(s->env_path, sizeof s->env_path, "%s/sim.env", s->dir);
    snprintf(s->log_path, sizeof s->log_path, "%s/serve.log", s->dir);
    argv[6] = s->env_path;
    snprintf(s->kube_path, sizeof s->kube_path, "%s/sim.kubeconfig", s->dir);
    argv[8] = s->kube_path;
    if (spawn(argv, environ, s->log_path, &s->out_fd, &s->pid) != 0)
        return -1;
    if (read_line(s->out_fd, line, sizeof line, now_s() + 20) != 0) {
        fprintf(stderr, "\n  stoker sim serve printed no listening line\n");
        return -1;
    }
    p = strstr(line, "listening on http://127.0.0.1:");
    if (!p || strstr(line, "env-file=") == NULL) {
        fprintf(stderr, "\n  unexpected first line: %s\n", line);
        return -1;
    }
    s->port = (unsigned)strtoul(p + strlen("listening on http://127.0.0.1:"), NULL, 10);
    text = tests_read_file(s->env_path, NULL);
    if (!text)
        return -1;
    if (env_value(text, "AWS_ACCESS_KEY_ID", s->key_id, sizeof s->key_id) != 0 ||
        env_value(text, "AWS_SECRET_ACCESS_KEY", s->secret, sizeof s->secret) != 0 ||
        env_value(text, "AWS_DEFAULT_REGION", s->region, sizeof s->region) != 0) {
        core_free(text);
        return -1;
    }
    core_free(text);
    return s->port > 0 ? 0 : -1;
}

/* SIGTERM, then the exit status (or -1); removes the temporary directory. */
static int sim_stop(struct sim_proc *s)
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
    if (s->dir[0])
        nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

/* Runs `aws SERVICE ARGS... --endpoint-url ... --output json` and parses stdout as JSON.
 * Returns the exit status; *out is the document (NULL when not JSON). */
static int aws(const struct sim_proc *s, json_t **out, const char *const *args)
{
    char endpoint[64], home[96], key[160], secret[160], region[96], errpath[128];
    char *envp[] = {"PATH=/usr/bin:/bin", home, key, secret, region, "AWS_PAGER=",
                    "AWS_EC2_METADATA_DISABLED=true", NULL};
    char *argv[40];
    size_t n = 0;
    struct core_buf b;
    int fd, rc;
    pid_t pid;
    double deadline = now_s() + CLI_TIMEOUT_S;

    *out = NULL;
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%u", s->port);
    snprintf(home, sizeof home, "HOME=%s", s->dir);
    snprintf(key, sizeof key, "AWS_ACCESS_KEY_ID=%s", s->key_id);
    snprintf(secret, sizeof secret, "AWS_SECRET_ACCESS_KEY=%s", s->secret);
    snprintf(region, sizeof region, "AWS_DEFAULT_REGION=%s", s->region);
    snprintf(errpath, sizeof errpath, "%s/aws.err", s->dir);
    argv[n++] = AWS_CLI;
    for (size_t i = 0; args[i] && n < 34; i++)
        argv[n++] = (char *)args[i];
    argv[n++] = "--endpoint-url";
    argv[n++] = endpoint;
    argv[n++] = "--output";
    argv[n++] = "json";
    argv[n] = NULL;
    unlink(errpath);
    if (spawn(argv, envp, errpath, &fd, &pid) != 0)
        return -1;
    core_buf_init(&b, 16u * 1024u * 1024u);
    if (read_all(fd, &b, deadline) != 0)
        kill(pid, SIGKILL);
    close(fd);
    rc = wait_exit(pid, deadline + 5);
    if (b.len > 0)
        *out = json_loadb(b.data, b.len, 0, NULL);
    if (rc != 0) {
        char *e = tests_read_file(errpath, NULL);
        fprintf(stderr, "\n  aws %s %s: exit %d: %s\n", args[0], args[1], rc, e ? e : "");
        core_free(e);
    }
    core_buf_cleanup(&b);
    return rc;
}

/* "Reservations.0.Instances.0.State.Name": objects by key, arrays by index. NULL when the
 * path leads nowhere or to something other than a string. */
static const char *jstr(json_t *doc, const char *path)
{
    json_t *cur = doc;
    while (cur && *path) {
        char tok[64];
        size_t n = strcspn(path, ".");
        if (n >= sizeof tok)
            return NULL;
        memcpy(tok, path, n);
        tok[n] = '\0';
        path += n + (path[n] == '.');
        if (json_is_array(cur)) {
            int64_t i;
            cur = core_parse_i64(tok, 0, 1000000, &i) == 0 ? json_array_get(cur, (size_t)i)
                                                           : NULL;
        } else {
            cur = json_object_get(cur, tok);
        }
    }
    return json_string_value(cur);
}

/* Polls describe-instances until the instance is in `want`; 0 when it got there in time. */
static int wait_state(const struct sim_proc *s, const char *id, const char *want)
{
    double deadline = now_s() + STATE_DEADLINE_S;
    const char *args[] = {"ec2", "describe-instances", "--instance-ids", id, NULL};
    char last[32] = "";

    while (now_s() < deadline) {
        json_t *doc = NULL;
        const char *st;
        int rc = aws(s, &doc, args);
        st = rc == 0 ? jstr(doc, "Reservations.0.Instances.0.State.Name") : NULL;
        core_strlcpy(last, st ? st : "?", sizeof last);
        if (rc == 0)
            ASSERT_STR(jstr(doc, "Reservations.0.Instances.0.InstanceId"), id);
        json_decref(doc);
        if (strcmp(last, want) == 0)
            return 0;
        usleep(300000);
    }
    fprintf(stderr, "\n  %s never reached %s (last %s)\n", id, want, last);
    return -1;
}

static void test_awscli_against_sim(void)
{
    struct sim_proc s;
    json_t *doc = NULL;
    struct stat sb;
    char image[64] = "", id[64] = "", zone[32] = "", subnet[64] = "";
    json_t *subnets = NULL;
    const char *v;

    if (stat(AWS_CLI, &sb) != 0) {
        CU_FAIL("/usr/bin/aws is missing: install Debian's awscli with `make deps-test` "
                "(`make test` runs it)");
        return;
    }
    if (sim_start(&s) != 0) {
        CU_FAIL("stoker sim serve did not start");
        sim_stop(&s);
        return;
    }

    {
        const char *a[] = {"ec2", "describe-subnets", NULL};
        CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
        CU_ASSERT(json_array_size(json_object_get(doc, "Subnets")) >= 3);
        v = jstr(doc, "Subnets.0.SubnetId");
        CU_ASSERT(v && strncmp(v, "subnet-", 7) == 0);
        subnets = json_incref(json_object_get(doc, "Subnets"));
        json_decref(doc);
    }
    {
        /* Not every zone offers every type: launch into a subnet of a zone that has it. */
        const char *a[] = {"ec2", "describe-instance-type-offerings", "--location-type",
                           "availability-zone", "--filters", "Name=instance-type,Values=t3.medium",
                           NULL};
        json_t *it;
        size_t i;
        CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
        v = jstr(doc, "InstanceTypeOfferings.0.Location");
        core_strlcpy(zone, v ? v : "", sizeof zone);
        CU_ASSERT(zone[0] != '\0');
        json_array_foreach(subnets, i, it) {
            const char *z = jstr(it, "AvailabilityZone"), *sid = jstr(it, "SubnetId");
            if (!subnet[0] && z && sid && strcmp(zone, z) == 0)
                core_strlcpy(subnet, sid, sizeof subnet);
        }
        CU_ASSERT(subnet[0] != '\0');
        json_decref(doc);
        json_decref(subnets);
    }
    {
        const char *a[] = {"ec2", "describe-images", "--owners", "amazon", "--filters",
                           "Name=name,Values=" IMG_PREFIX "*",
                           NULL};
        json_t *imgs;
        size_t i;
        json_t *it;
        const char *newest = "";
        CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
        imgs = json_object_get(doc, "Images");
        CU_ASSERT(json_array_size(imgs) >= 1);
        json_array_foreach(imgs, i, it) {
            const char *name = json_string_value(json_object_get(it, "Name"));
            const char *cd = json_string_value(json_object_get(it, "CreationDate"));
            CU_ASSERT(name && strncmp(name, IMG_PREFIX, sizeof IMG_PREFIX - 1) == 0);
            ASSERT_STR(json_string_value(json_object_get(it, "Architecture")),
                                   "x86_64");
            if (cd && strcmp(cd, newest) > 0) {
                newest = cd;
                core_strlcpy(image, json_string_value(json_object_get(it, "ImageId")),
                             sizeof image);
            }
        }
        CU_ASSERT(strncmp(image, "ami-", 4) == 0);
        json_decref(doc);
    }
    {
        const char *a[] = {"ec2", "describe-instance-types", "--instance-types", "m5.large",
                           NULL};
        json_t *t;
        CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
        t = json_array_get(json_object_get(doc, "InstanceTypes"), 0);
        ASSERT_STR(json_string_value(json_object_get(t, "InstanceType")), "m5.large");
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(t, "VCpuInfo"),
                                                           "DefaultVCpus")), 2);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(t, "MemoryInfo"),
                                                           "SizeInMiB")), 8192);
        json_decref(doc);
    }
    {
        const char *a[] = {"ec2", "run-instances", "--image-id", image, "--instance-type",
                           "t3.medium", "--count", "1", "--subnet-id", subnet, NULL};
        CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
        v = jstr(doc, "Instances.0.InstanceId");
        core_strlcpy(id, v ? v : "", sizeof id);
        CU_ASSERT(strncmp(id, "i-", 2) == 0);
        v = jstr(doc, "Instances.0.State.Name");
        CU_ASSERT(v && strcmp(v, "pending") == 0);
        v = jstr(doc, "Instances.0.ImageId");
        CU_ASSERT(v && strcmp(v, image) == 0);
        v = jstr(doc, "Instances.0.InstanceType");
        CU_ASSERT(v && strcmp(v, "t3.medium") == 0);
        v = jstr(doc, "Instances.0.Placement.AvailabilityZone");
        CU_ASSERT(v && strcmp(v, zone) == 0);
        json_decref(doc);
    }
    if (id[0] == 'i') {
        CU_ASSERT_EQUAL(wait_state(&s, id, "running"), 0);
        {
            const char *a[] = {"ec2", "stop-instances", "--instance-ids", id, NULL};
            CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
            ASSERT_STR(jstr(doc, "StoppingInstances.0.InstanceId"), id);
            v = jstr(doc, "StoppingInstances.0.CurrentState.Name");
            CU_ASSERT(v && strcmp(v, "stopping") == 0);
            v = jstr(doc, "StoppingInstances.0.PreviousState.Name");
            CU_ASSERT(v && strcmp(v, "running") == 0);
            json_decref(doc);
        }
        CU_ASSERT_EQUAL(wait_state(&s, id, "stopped"), 0);
        {
            const char *a[] = {"ec2", "start-instances", "--instance-ids", id, NULL};
            CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
            ASSERT_STR(jstr(doc, "StartingInstances.0.InstanceId"), id);
            v = jstr(doc, "StartingInstances.0.CurrentState.Name");
            CU_ASSERT(v && strcmp(v, "pending") == 0);
            json_decref(doc);
        }
        CU_ASSERT_EQUAL(wait_state(&s, id, "running"), 0);
        {
            const char *a[] = {"ec2", "terminate-instances", "--instance-ids", id, NULL};
            CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
            ASSERT_STR(jstr(doc, "TerminatingInstances.0.InstanceId"), id);
            v = jstr(doc, "TerminatingInstances.0.CurrentState.Name");
            CU_ASSERT(v && strcmp(v, "shutting-down") == 0);
            json_decref(doc);
        }
        CU_ASSERT_EQUAL(wait_state(&s, id, "terminated"), 0);
    }
    {
        const char *a[] = {"ssm", "get-parameter", "--name",
                           "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/"
                           "standard/recommended/image_id", NULL};
        CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
        v = jstr(doc, "Parameter.Value");
        CU_ASSERT(v && strcmp(v, image) == 0); /* the newest image is the recommended one */
        v = jstr(doc, "Parameter.DataType");
        CU_ASSERT(v && strcmp(v, "aws:ec2:image") == 0);
        v = jstr(doc, "Parameter.ARN");
        CU_ASSERT(v && strncmp(v, "arn:aws:ssm:", 12) == 0);
        json_decref(doc);
    }
    {
        /* The CLI follows NextToken itself: 10 per page on the wire, one list here. */
        const char *a[] = {"ssm", "get-parameters-by-path", "--path",
                           PATH_PREFIX, "--recursive", NULL};
        json_t *ps, *it;
        size_t i;
        int found = 0;
        CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
        ps = json_object_get(doc, "Parameters");
        CU_ASSERT(json_array_size(ps) > 10);
        json_array_foreach(ps, i, it) {
            const char *name = json_string_value(json_object_get(it, "Name"));
            CU_ASSERT(name && strncmp(name, PATH_PREFIX, sizeof PATH_PREFIX - 1) == 0);
            if (name && strcmp(name, "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/"
                                     "x86_64/standard/recommended/image_id") == 0)
                found = 1;
        }
        CU_ASSERT(found);
        json_decref(doc);
    }
    CU_ASSERT_EQUAL(sim_stop(&s), 0);
}

TESTS_SUITE(sim_awscli, "sim_awscli", NULL, NULL, TESTS_CASE(test_awscli_against_sim))
