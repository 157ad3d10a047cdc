/*
 * tests/unit/test_k8s_auth.c — bearer tokens (k8s/auth.c): fixed tokens, rotating token files,
 * exec credential plugins and EKS tokens, their caching, sharing, cancellation and errors.
 *
 * Clocks: token files and EKS tokens run on a virtual clock, so "a minute later" and "ten
 * minutes later" are exact. Exec plugins are real child processes: most of their tests use the
 * real clock; the expiry test uses a virtual clock and pumps the loop with max_wait 0 (which
 * never moves virtual time) while advancing time by hand a millisecond per turn, so the plugin's
 * 30 s timeout cannot fire while the child is still starting; the timeout test lets the virtual
 * loop jump straight to it.
 *
 * Plugins are small /bin/sh scripts written into a mkdtemp directory; each appends a line to a
 * counter file, so a test can tell a cached answer from a new run. Every exec test ends by
 * checking that no child is left unreaped.
 */
#include "tests/unit/harness.h"

#include "k8s/k8s.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S CORE_NS_PER_S
#define MIN (60 * CORE_NS_PER_S)
#define T0 (INT64_C(1795352400) * CORE_NS_PER_S) /* 2026-11-22T13:00:00Z */
#define T0_PLUS_10MIN "2026-11-22T13:10:00Z"
#define V1 "client.authentication.k8s.io/v1"
#define V1BETA1 "client.authentication.k8s.io/v1beta1"
#define AWS_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYsecretKEY"

/* ---- fixture ------------------------------------------------------------------------------- */

struct fx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct k8s_auth *auth;
    char dir[64];
    char files[16][256];
    size_t nfiles;
};

/* What a callback saw. */
struct got {
    int called;
    int rc;
    int had_token;
    size_t token_len;
    char token[4096];
    char msg[CORE_ERR_MSG_MAX];
    int code;
    struct k8s_auth *free_me; /* the callback frees this auth (free from inside a callback) */
};

static void on_token(void *ud, int rc, const char *token, const struct core_err *err)
{
    struct got *g = ud;
    g->called++;
    g->rc = rc;
    g->had_token = token != NULL;
    g->token_len = token ? strlen(token) : 0;
    snprintf(g->token, sizeof g->token, "%s", token ? token : "");
    snprintf(g->msg, sizeof g->msg, "%s", err ? err->message : "");
    g->code = err ? err->code : 0;
    if (g->free_me) {
        k8s_auth_free(g->free_me);
        g->free_me = NULL;
    }
}

static void fx_init(struct fx *f, int virtual_clock)
{
    struct core_err err;
    memset(f, 0, sizeof *f);
    f->clock = virtual_clock ? core_clock_virtual_new(0, T0) : core_clock_real_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(f->clock, NULL, &f->loop, &err), 0);
    snprintf(f->dir, sizeof f->dir, "/tmp/stoker-kauth-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(f->dir));
}

static void fx_cleanup(struct fx *f)
{
    k8s_auth_free(f->auth);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
    for (size_t i = f->nfiles; i-- > 0;)
        unlink(f->files[i]);
    rmdir(f->dir);
}

/* dir/name, remembered for cleanup. */
static const char *fx_path(struct fx *f, const char *name)
{
    char buf[256];
    for (size_t i = 0; i < f->nfiles; i++) {
        const char *slash = strrchr(f->files[i], '/');
        if (slash && strcmp(slash + 1, name) == 0)
            return f->files[i];
    }
    CU_ASSERT_FATAL(f->nfiles < 16);
    snprintf(buf, sizeof buf, "%s/%s", f->dir, name);
    memcpy(f->files[f->nfiles], buf, sizeof buf);
    return f->files[f->nfiles++];
}

static const char *fx_write(struct fx *f, const char *name, const char *content, mode_t mode)
{
    const char *path = fx_path(f, name);
    FILE *fp = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs(content, fp);
    fclose(fp);
    chmod(path, mode);
    return path;
}

/* A plugin script: a shebang, a line counting runs into dir/count, then body. */
static const char *fx_script(struct fx *f, const char *name, const char *body)
{
    char text[8192];
    snprintf(text, sizeof text, "#!/bin/sh\necho run >> '%s'\nn=$(wc -l < '%s' | tr -d ' ')\n%s",
             fx_path(f, "count"), fx_path(f, "count"), body);
    return fx_write(f, name, text, 0700);
}

static int fx_runs(struct fx *f)
{
    FILE *fp = fopen(fx_path(f, "count"), "r");
    int n = 0, c;
    if (!fp)
        return 0;
    while ((c = fgetc(fp)) != EOF)
        n += c == '\n';
    fclose(fp);
    return n;
}

static void fx_new(struct fx *f, const struct k8s_config *cfg, struct aws_creds_provider *creds)
{
    struct core_err err;
    int rc = k8s_auth_new(f->loop, cfg, creds, &f->auth, &err);
    if (rc)
        fprintf(stderr, "\nk8s_auth_new: %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

/* Asks and checks the answer does not come from inside the call. */
static void fx_ask(struct fx *f, struct got *g)
{
    struct core_err err;
    int before = g->called;
    CU_ASSERT_EQUAL_FATAL(k8s_auth_token(f->auth, on_token, g, &err), 0);
    CU_ASSERT_EQUAL(g->called, before);
}

/* Runs the loop until g has been answered once more: up to 10 s on the real clock, an hour
 * on a virtual one (where the loop jumps from timer to timer). */
static void fx_wait(struct fx *f, struct got *g)
{
    struct core_err err;
    int want = g->called + 1, flag = 0;
    core_ns deadline =
        core_loop_now(f->loop) + (core_clock_is_virtual(f->clock) ? 60 * MIN : 10 * S);
    while (!flag) {
        int rc = core_loop_run_once(f->loop, deadline - core_loop_now(f->loop), &err);
        flag = g->called >= want;
        if (rc <= 0 || core_loop_now(f->loop) >= deadline)
            break;
    }
    CU_ASSERT_TRUE_FATAL(g->called >= want);
}

static double real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Virtual clock with a real child: turns of max_wait 0 (virtual time stays), then 1 ms of
 * virtual time by hand, until g is answered or 10 real seconds pass. */
static void fx_pump(struct fx *f, struct got *g)
{
    struct core_err err;
    int want = g->called + 1;
    double end = real_now() + 10.0;
    while (g->called < want && real_now() < end) {
        CU_ASSERT_TRUE_FATAL(core_loop_run_once(f->loop, 0, &err) >= 0);
        if (g->called >= want)
            break;
        CU_ASSERT_EQUAL_FATAL(core_clock_advance(f->clock, CORE_NS_PER_MS), 0);
        usleep(200);
    }
    CU_ASSERT_TRUE_FATAL(g->called >= want);
}

static void assert_no_zombie(void)
{
    pid_t p;
    errno = 0;
    p = waitpid(-1, NULL, WNOHANG);
    CU_ASSERT_TRUE(p == 0 || (p == -1 && errno == ECHILD));
}

static void assert_has(const char *msg, const char *part)
{
    if (!strstr(msg, part)) {
        fprintf(stderr, "\nexpected \"%s\" in: %s\n", part, msg);
        CU_FAIL("message lacks an expected part");
    }
}

static void assert_lacks(const char *msg, const char *part)
{
    if (strstr(msg, part)) {
        fprintf(stderr, "\nunexpected \"%s\" in: %s\n", part, msg);
        CU_FAIL("message holds what it must not");
    }
}

/* ---- none, fixed token, new() checks, cancel, free from a callback ------------------------- */

static void test_none_and_fixed(void)
{
    struct fx f;
    struct k8s_config cfg;
    struct got g1, g2;
    struct core_err err;
    struct k8s_auth *a = NULL;

    fx_init(&f, 1);
    memset(&cfg, 0, sizeof cfg);
    memset(&g1, 0, sizeof g1);
    fx_new(&f, &cfg, NULL);
    fx_ask(&f, &g1);
    fx_wait(&f, &g1);
    CU_ASSERT_EQUAL(g1.rc, 0);
    CU_ASSERT_FALSE(g1.had_token); /* NONE: no token */
    k8s_auth_free(f.auth);

    cfg.auth = K8S_AUTH_TOKEN;
    cfg.token = "fixedTOKENvalue";
    fx_new(&f, &cfg, NULL);
    memset(&g1, 0, sizeof g1);
    memset(&g2, 0, sizeof g2);
    fx_ask(&f, &g1);
    fx_ask(&f, &g2);
    k8s_auth_cancel(f.auth, on_token, &g1); /* withdrawn: never called */
    fx_wait(&f, &g2);
    CU_ASSERT_EQUAL(g2.rc, 0);
    CU_ASSERT_STRING_EQUAL(g2.token, "fixedTOKENvalue");
    CU_ASSERT_EQUAL(g1.called, 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(g1.called, 0);

    /* A callback that frees the object: the next waiter is not called, nothing is touched. */
    memset(&g1, 0, sizeof g1);
    memset(&g2, 0, sizeof g2);
    g1.free_me = f.auth;
    fx_ask(&f, &g1);
    fx_ask(&f, &g2);
    f.auth = NULL;
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(g1.called, 1);
    CU_ASSERT_EQUAL(g2.called, 0);

    /* new() refuses incomplete configs. */
    cfg.token = NULL;
    CU_ASSERT_EQUAL(k8s_auth_new(f.loop, &cfg, NULL, &a, &err), CORE_E_INVAL);
    cfg.auth = K8S_AUTH_EKS;
    cfg.eks_cluster = "demo";
    cfg.eks_region = "us-west-2";
    CU_ASSERT_EQUAL(k8s_auth_new(f.loop, &cfg, NULL, &a, &err), CORE_E_INVAL); /* no creds */
    cfg.auth = K8S_AUTH_EXEC;
    CU_ASSERT_EQUAL(k8s_auth_new(f.loop, &cfg, NULL, &a, &err), CORE_E_INVAL); /* no command */
    cfg.auth = (enum k8s_auth_kind)42;
    CU_ASSERT_EQUAL(k8s_auth_new(f.loop, &cfg, NULL, &a, &err), CORE_E_INVAL);
    CU_ASSERT_PTR_NULL(a);
    k8s_auth_free(NULL);
    k8s_auth_cancel(NULL, on_token, NULL);
    k8s_auth_invalidate(NULL);
    fx_cleanup(&f);
}

/* ---- token files --------------------------------------------------------------------------- */

static void test_token_file_rotation(void)
{
    struct fx f;
    struct k8s_config cfg;
    struct got g;
    struct stat st;
    struct timespec times[2];
    const char *path;

    fx_init(&f, 1);
    memset(&g, 0, sizeof g);
    path = fx_write(&f, "token", "tokenAAAA\n", 0600);
    memset(&cfg, 0, sizeof cfg);
    cfg.auth = K8S_AUTH_TOKEN_FILE;
    cfg.token_file = (char *)path;
    fx_new(&f, &cfg, NULL);

    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_EQUAL(g.rc, 0);
    CU_ASSERT_STRING_EQUAL(g.token, "tokenAAAA"); /* trailing newline stripped */

    /* Same size, same inode, modification time put back: stat sees no change, so the cached
     * token is answered (proof that the file is not re-read on every ask). */
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    {
        int fd = open(path, O_WRONLY);
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_EQUAL(write(fd, "tokenBBBB\n", 10), 10);
        close(fd);
    }
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
    CU_ASSERT_EQUAL_FATAL(utimensat(AT_FDCWD, path, times, 0), 0);
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, 30 * S), 0);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_STRING_EQUAL(g.token, "tokenAAAA");

    /* At least once a minute it is read anyway. */
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, 31 * S), 0);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_STRING_EQUAL(g.token, "tokenBBBB");

    /* A change stat can see (size here) is picked up at the next ask, without waiting. */
    fx_write(&f, "token", "  tokenCCCC-longer \t\r\n", 0600);
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, 1 * S), 0);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_STRING_EQUAL(g.token, "  tokenCCCC-longer"); /* only trailing space goes */

    /* invalidate() forgets the cache even when stat sees nothing new. */
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    {
        int fd = open(path, O_WRONLY);
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_EQUAL(write(fd, "  tokenDDDD-longer", 18), 18);
        close(fd);
    }
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
    CU_ASSERT_EQUAL_FATAL(utimensat(AT_FDCWD, path, times, 0), 0);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_STRING_EQUAL(g.token, "  tokenCCCC-longer");
    k8s_auth_invalidate(f.auth);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_STRING_EQUAL(g.token, "  tokenDDDD-longer");
    fx_cleanup(&f);
}

static void test_token_file_errors(void)
{
    struct fx f;
    struct k8s_config cfg;
    struct got g;
    char big[16 * 1024 + 2];
    const char *path;

    fx_init(&f, 1);
    memset(&g, 0, sizeof g);
    path = fx_write(&f, "token", "secretTOKENfirst\n", 0600);
    memset(&cfg, 0, sizeof cfg);
    cfg.auth = K8S_AUTH_TOKEN_FILE;
    cfg.token_file = (char *)path;
    fx_new(&f, &cfg, NULL);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_STRING_EQUAL(g.token, "secretTOKENfirst");

    /* Empty (whitespace only): an error naming the file, and the old token is not used. */
    fx_write(&f, "token", " \n\n", 0600);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_EQUAL(g.rc, CORE_E_AUTH);
    CU_ASSERT_EQUAL(g.code, CORE_E_AUTH);
    CU_ASSERT_FALSE(g.had_token);
    assert_has(g.msg, path);
    assert_has(g.msg, "empty");
    assert_lacks(g.msg, "secretTOKEN");

    /* Over 16 KiB: an error naming the file, never its content. */
    memset(big, 'Q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "secretTOKENbig", 14);
    fx_write(&f, "token", big, 0600);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_EQUAL(g.rc, CORE_E_TOOBIG);
    assert_has(g.msg, path);
    assert_lacks(g.msg, "secretTOKEN");
    assert_lacks(g.msg, "QQQQ");

    /* Exactly 16 KiB is fine. */
    big[sizeof big - 2] = '\0';
    fx_write(&f, "token", big, 0600);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_EQUAL(g.rc, 0);
    CU_ASSERT_EQUAL(g.token_len, 16 * 1024);

    /* Two lines: not one token (a newline would split the Authorization header). */
    fx_write(&f, "token", "secretTOKENone\nsecretTOKENtwo\n", 0600);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_EQUAL(g.rc, CORE_E_PARSE);
    assert_lacks(g.msg, "secretTOKEN");

    /* Gone. */
    unlink(path);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_EQUAL(g.rc, CORE_E_NOTFOUND);
    assert_has(g.msg, path);
    fx_cleanup(&f);
}

/* ---- EKS ----------------------------------------------------------------------------------- */

static void test_eks_tokens(void)
{
    struct fx f;
    struct k8s_config cfg;
    struct aws_credentials keys = {"AKIDEXAMPLE", AWS_SECRET, NULL, 0};
    struct aws_creds_provider *creds = NULL;
    struct got g;
    struct core_err err;
    char first[4096];

    fx_init(&f, 1);
    memset(&g, 0, sizeof g);
    CU_ASSERT_EQUAL_FATAL(aws_creds_static_new(f.loop, &keys, &creds, &err), 0);
    memset(&cfg, 0, sizeof cfg);
    cfg.auth = K8S_AUTH_EKS;
    cfg.eks_cluster = "demo";
    cfg.eks_region = "us-west-2";
    fx_new(&f, &cfg, creds);

    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_EQUAL_FATAL(g.rc, 0);
    CU_ASSERT_TRUE(strncmp(g.token, "k8s-aws-v1.", 11) == 0);
    CU_ASSERT_TRUE(strlen(g.token) > 100);
    snprintf(first, sizeof first, "%s", g.token);

    /* Nine minutes later: the same token (a new one would carry another X-Amz-Date). */
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, 9 * MIN), 0);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_STRING_EQUAL(g.token, first);

    /* Past ten minutes: a fresh one. */
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, 1 * MIN + 1 * S), 0);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_EQUAL(g.rc, 0);
    CU_ASSERT_TRUE(strncmp(g.token, "k8s-aws-v1.", 11) == 0);
    CU_ASSERT_STRING_NOT_EQUAL(g.token, first);
    snprintf(first, sizeof first, "%s", g.token);

    /* invalidate (a 401): a new token at the next ask. */
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, 2 * S), 0);
    k8s_auth_invalidate(f.auth);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_STRING_NOT_EQUAL(g.token, first);
    k8s_auth_free(f.auth);
    f.auth = NULL;

    /* A region the signer refuses: the error names the cluster, never the secret. */
    cfg.eks_region = "not a region";
    fx_new(&f, &cfg, creds);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_EQUAL(g.rc, CORE_E_INVAL);
    assert_has(g.msg, "demo");
    assert_lacks(g.msg, AWS_SECRET);

    /* Freed while the credentials are being fetched: no callback afterwards. */
    memset(&g, 0, sizeof g);
    cfg.eks_region = "us-west-2";
    k8s_auth_free(f.auth);
    fx_new(&f, &cfg, creds);
    fx_ask(&f, &g);
    CU_ASSERT_EQUAL_FATAL(core_loop_run_once(f.loop, 0, &err) >= 0, 1); /* kick: creds asked */
    k8s_auth_free(f.auth);
    f.auth = NULL;
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(g.called, 0);
    aws_creds_provider_free(creds);
    fx_cleanup(&f);
}

/* ---- exec plugins -------------------------------------------------------------------------- */

static void exec_cfg(struct k8s_config *cfg, const char *command, const char *api)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->auth = K8S_AUTH_EXEC;
    cfg->exec_command = (char *)command;
    cfg->exec_api_version = (char *)api;
}

static void test_exec_tokens_shared_and_cached(void)
{
    struct fx f;
    struct k8s_config cfg;
    struct got g1, g2, g3;
    char body[2048];
    char *info, *var, *args;
    size_t len = 0;
    json_t *j;
    json_error_t je;
    const char *script;
    int devnull;

    fx_init(&f, 0);
    memset(&g1, 0, sizeof g1);
    memset(&g2, 0, sizeof g2);
    memset(&g3, 0, sizeof g3);
    snprintf(body, sizeof body,
             "printf '%%s' \"$KUBERNETES_EXEC_INFO\" > '%s/info'\n"
             "tr '\\000' '\\n' < /proc/$$/environ | grep -e '^STOKER_KAUTH_VAR=' "
             "-e '^KUBERNETES_EXEC_INFO=bogus' > '%s/var'\n"
             "printf '%%s|' \"$@\" > '%s/args'\n"
             "if [ -e /proc/$$/fd/77 ]; then echo leaked >> '%s/args'; fi\n"
             "printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\","
             "\"status\":{\"token\":\"execTOKEN-%%s\"}}\\n' \"$n\"\n",
             f.dir, f.dir, f.dir, f.dir, V1);
    script = fx_script(&f, "plugin.sh", body);
    fx_path(&f, "info");
    fx_path(&f, "var");
    fx_path(&f, "args");
    exec_cfg(&cfg, "plugin.sh", V1);
    cfg.exec_command = (char *)script;
    cfg.exec_args[0] = "--audience";
    cfg.exec_args[1] = "with space";
    cfg.exec_nargs = 2;
    cfg.exec_env[0] = "STOKER_KAUTH_VAR=from-config";
    cfg.exec_nenv = 1;
    /* The config's variable and our KUBERNETES_EXEC_INFO replace the process's own. */
    setenv("STOKER_KAUTH_VAR", "from-parent", 1);
    setenv("KUBERNETES_EXEC_INFO", "bogus", 1);
    /* A descriptor of ours without close-on-exec must not reach the plugin either. */
    devnull = open("/dev/null", O_RDONLY);
    CU_ASSERT_FATAL(devnull >= 0 && dup2(devnull, 77) == 77);
    fx_new(&f, &cfg, NULL);

    /* Two asks before the loop runs: one run answers both. */
    fx_ask(&f, &g1);
    fx_ask(&f, &g2);
    fx_wait(&f, &g1);
    if (g2.called == 0)
        fx_wait(&f, &g2);
    unsetenv("STOKER_KAUTH_VAR");
    unsetenv("KUBERNETES_EXEC_INFO");
    close(77);
    close(devnull);
    if (g1.rc)
        fprintf(stderr, "\nexec: %s\n", g1.msg);
    CU_ASSERT_EQUAL(g1.rc, 0);
    CU_ASSERT_STRING_EQUAL(g1.token, "execTOKEN-1");
    CU_ASSERT_STRING_EQUAL(g2.token, "execTOKEN-1");
    CU_ASSERT_EQUAL(fx_runs(&f), 1);

    info = tests_read_file(fx_path(&f, "info"), &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(info);
    j = json_loads(info, 0, &je);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "apiVersion")), V1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "kind")), "ExecCredential");
    CU_ASSERT_TRUE(json_is_false(json_object_get(json_object_get(j, "spec"), "interactive")));
    json_decref(j);
    core_free(info);
    /* Exactly one definition each, as execve passed it (/proc/PID/environ, before the shell
     * tidies it): a program using getenv() would see the first of two. */
    var = tests_read_file(fx_path(&f, "var"), &len);
    CU_ASSERT_TRUE(var && strcmp(var, "STOKER_KAUTH_VAR=from-config\n") == 0);
    core_free(var);
    args = tests_read_file(fx_path(&f, "args"), &len);
    CU_ASSERT_TRUE(args && strcmp(args, "--audience|with space|") == 0);
    core_free(args);

    /* No expirationTimestamp: cached (until invalidated or 15 minutes). */
    fx_ask(&f, &g3);
    fx_wait(&f, &g3);
    CU_ASSERT_STRING_EQUAL(g3.token, "execTOKEN-1");
    CU_ASSERT_EQUAL(fx_runs(&f), 1);

    k8s_auth_invalidate(f.auth);
    fx_ask(&f, &g3);
    fx_wait(&f, &g3);
    CU_ASSERT_STRING_EQUAL(g3.token, "execTOKEN-2");
    CU_ASSERT_EQUAL(fx_runs(&f), 2);
    fx_cleanup(&f);
    assert_no_zombie();
}

/* An ask that arrives while the plugin runs joins that run instead of starting another. */
static void test_exec_ask_while_running(void)
{
    struct fx f;
    struct k8s_config cfg;
    struct got g1, g2;
    struct core_err err;
    char body[1024];
    const char *script, *go;
    double end;

    fx_init(&f, 0);
    memset(&g1, 0, sizeof g1);
    memset(&g2, 0, sizeof g2);
    go = fx_path(&f, "go");
    snprintf(body, sizeof body,
             "while [ ! -f '%s' ]; do sleep 0.01; done\n"
             "printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\","
             "\"status\":{\"token\":\"execTOKEN-%%s\"}}' \"$n\"\n",
             go, V1);
    script = fx_script(&f, "gated.sh", body);
    exec_cfg(&cfg, script, V1);
    fx_new(&f, &cfg, NULL);
    fx_ask(&f, &g1);
    end = real_now() + 5.0;
    while (fx_runs(&f) == 0 && real_now() < end)
        CU_ASSERT_TRUE_FATAL(core_loop_run_once(f.loop, 10 * CORE_NS_PER_MS, &err) >= 0);
    CU_ASSERT_EQUAL_FATAL(fx_runs(&f), 1);
    fx_ask(&f, &g2);
    CU_ASSERT_TRUE_FATAL(core_loop_run_once(f.loop, 10 * CORE_NS_PER_MS, &err) >= 0);
    fx_write(&f, "go", "", 0600);
    fx_wait(&f, &g1);
    if (!g2.called)
        fx_wait(&f, &g2);
    CU_ASSERT_STRING_EQUAL(g1.token, "execTOKEN-1");
    CU_ASSERT_STRING_EQUAL(g2.token, "execTOKEN-1");
    CU_ASSERT_EQUAL(fx_runs(&f), 1);
    fx_cleanup(&f);
    assert_no_zombie();
}

static void test_exec_expiry(void)
{
    struct fx f;
    struct k8s_config cfg;
    struct got g;
    char body[1024];
    const char *script;

    fx_init(&f, 1);
    memset(&g, 0, sizeof g);
    snprintf(body, sizeof body,
             "printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\","
             "\"status\":{\"token\":\"execTOKEN-%%s\",\"expirationTimestamp\":\"%s\"}}' \"$n\"\n",
             V1BETA1, T0_PLUS_10MIN);
    script = fx_script(&f, "expiring.sh", body);
    exec_cfg(&cfg, script, V1BETA1);
    fx_new(&f, &cfg, NULL);

    fx_ask(&f, &g);
    fx_pump(&f, &g);
    if (g.rc)
        fprintf(stderr, "\nexec: %s\n", g.msg);
    CU_ASSERT_STRING_EQUAL(g.token, "execTOKEN-1");
    fx_ask(&f, &g);
    fx_pump(&f, &g);
    CU_ASSERT_STRING_EQUAL(g.token, "execTOKEN-1");
    CU_ASSERT_EQUAL(fx_runs(&f), 1);

    /* 9 minutes in: still more than 30 s before expiry, still cached. */
    CU_ASSERT_EQUAL(core_clock_set_mono(f.clock, 9 * MIN), 0);
    fx_ask(&f, &g);
    fx_pump(&f, &g);
    CU_ASSERT_STRING_EQUAL(g.token, "execTOKEN-1");
    CU_ASSERT_EQUAL(fx_runs(&f), 1);

    /* Inside the 30 s margin: run again. The answer (same expiry) is used but not cached. */
    CU_ASSERT_EQUAL(core_clock_set_mono(f.clock, 9 * MIN + 31 * S), 0);
    fx_ask(&f, &g);
    fx_pump(&f, &g);
    CU_ASSERT_STRING_EQUAL(g.token, "execTOKEN-2");
    CU_ASSERT_EQUAL(fx_runs(&f), 2);
    fx_ask(&f, &g);
    fx_pump(&f, &g);
    CU_ASSERT_STRING_EQUAL(g.token, "execTOKEN-3");
    CU_ASSERT_EQUAL(fx_runs(&f), 3);
    fx_cleanup(&f);
    assert_no_zombie();
}

/* Runs the script once and returns what the callback saw. */
static void exec_once(const char *name, const char *body, const char *api, struct got *g,
                      char *cmd_out, size_t cmd_out_sz)
{
    struct fx f;
    struct k8s_config cfg;
    const char *script;

    fx_init(&f, 0);
    memset(g, 0, sizeof *g);
    script = fx_script(&f, name, body);
    snprintf(cmd_out, cmd_out_sz, "%s", script);
    exec_cfg(&cfg, script, api);
    fx_new(&f, &cfg, NULL);
    fx_ask(&f, g);
    fx_wait(&f, g);
    fx_cleanup(&f);
    assert_no_zombie();
}

static void test_exec_failures(void)
{
    struct got g;
    char cmd[256], body[512];

    /* Exit status 1 with a message on stderr. */
    exec_once("fails.sh", "echo 'boom: cannot reach the identity provider' >&2\nexit 1\n", V1, &g,
              cmd, sizeof cmd);
    CU_ASSERT_EQUAL(g.rc, CORE_E_AUTH);
    assert_has(g.msg, cmd);
    assert_has(g.msg, "status 1");
    assert_has(g.msg, "boom: cannot reach the identity provider");

    /* Garbage on stdout (that happens to hold a secret): the message names the command and
     * says it is not JSON, without quoting it. */
    exec_once("garbage.sh", "echo 'token=execSECRETgarbage not json'\n", V1, &g, cmd, sizeof cmd);
    CU_ASSERT_EQUAL(g.rc, CORE_E_PARSE);
    assert_has(g.msg, cmd);
    assert_has(g.msg, "not JSON");
    assert_lacks(g.msg, "execSECRET");

    /* apiVersion other than the one asked for. */
    snprintf(body, sizeof body,
             "echo '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":{\"token\":"
             "\"execSECRETv\"}}'\n",
             V1BETA1);
    exec_once("version.sh", body, V1, &g, cmd, sizeof cmd);
    CU_ASSERT_EQUAL(g.rc, CORE_E_PARSE);
    assert_has(g.msg, "apiVersion");
    assert_has(g.msg, V1);          /* the version asked for */
    assert_lacks(g.msg, V1BETA1);   /* nothing the plugin printed is quoted */
    assert_lacks(g.msg, "execSECRET");

    /* Client certificates from plugins are refused. */
    snprintf(body, sizeof body,
             "echo '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":{"
             "\"clientCertificateData\":\"x\",\"clientKeyData\":\"execSECRETkey\"}}'\n",
             V1);
    exec_once("certs.sh", body, V1, &g, cmd, sizeof cmd);
    CU_ASSERT_EQUAL(g.rc, CORE_E_UNSUPPORTED);
    assert_has(g.msg, "clientCertificateData");
    assert_lacks(g.msg, "execSECRET");

    /* No token; a bad expirationTimestamp. */
    snprintf(body, sizeof body,
             "echo '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":{}}'\n", V1);
    exec_once("notoken.sh", body, V1, &g, cmd, sizeof cmd);
    CU_ASSERT_EQUAL(g.rc, CORE_E_AUTH);
    assert_has(g.msg, "status.token");
    snprintf(body, sizeof body,
             "echo '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":{\"token\":"
             "\"execSECRETexp\",\"expirationTimestamp\":\"tomorrow\"}}'\n",
             V1);
    exec_once("badexp.sh", body, V1, &g, cmd, sizeof cmd);
    CU_ASSERT_EQUAL(g.rc, CORE_E_PARSE);
    assert_has(g.msg, "expirationTimestamp");
    assert_lacks(g.msg, "execSECRET");

    /* A plugin that floods stderr (far past a pipe's buffer) and then answers: stderr is
     * drained, so it never blocks, and the answer counts. */
    snprintf(body, sizeof body,
             "i=0; while [ $i -lt 3000 ]; do echo 'chatty diagnostic line number padding padding "
             "padding padding' >&2; i=$((i+1)); done\n"
             "echo '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":{\"token\":"
             "\"execTOKEN-chatty\"}}'\n",
             V1);
    exec_once("chatty.sh", body, V1, &g, cmd, sizeof cmd);
    CU_ASSERT_EQUAL(g.rc, 0);
    CU_ASSERT_STRING_EQUAL(g.token, "execTOKEN-chatty");
}

static void test_exec_not_found(void)
{
    struct fx f;
    struct k8s_config cfg;
    struct got g;

    fx_init(&f, 0);
    memset(&g, 0, sizeof g);
    exec_cfg(&cfg, "/nonexistent/stoker-plugin", V1);
    fx_new(&f, &cfg, NULL);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_EQUAL(g.rc, CORE_E_NOTFOUND);
    assert_has(g.msg, "/nonexistent/stoker-plugin");
    k8s_auth_free(f.auth);

    /* A bare name is looked up in PATH. */
    exec_cfg(&cfg, "stoker-no-such-plugin-4711", V1);
    fx_new(&f, &cfg, NULL);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_EQUAL(g.rc, CORE_E_NOTFOUND);
    assert_has(g.msg, "stoker-no-such-plugin-4711");
    fx_cleanup(&f);
    assert_no_zombie();
}

/* A plugin that sleeps: the 30 s timeout (virtual: the loop jumps to it) kills it and its
 * process group, and reaps it. */
static void test_exec_timeout(void)
{
    struct fx f;
    struct k8s_config cfg;
    struct got g;
    const char *script;
    double t0 = real_now();

    fx_init(&f, 1);
    memset(&g, 0, sizeof g);
    script = fx_script(&f, "slow.sh", "echo 'waiting for the browser' >&2\nsleep 20\necho late\n");
    exec_cfg(&cfg, script, V1);
    fx_new(&f, &cfg, NULL);
    fx_ask(&f, &g);
    fx_wait(&f, &g);
    CU_ASSERT_EQUAL(g.rc, CORE_E_TIMEOUT);
    assert_has(g.msg, script);
    assert_has(g.msg, "30 s");
    CU_ASSERT_TRUE(real_now() - t0 < 5.0);
    fx_cleanup(&f);
    assert_no_zombie();
}

/* k8s_auth_free while the plugin runs: no callback, the child and its group killed and reaped. */
static void test_exec_free_while_running(void)
{
    struct fx f;
    struct k8s_config cfg;
    struct got g;
    struct core_err err;
    char body[512], state[64];
    const char *script;
    double end;
    char *pidtext;
    size_t len = 0;
    long sleeper = 0;
    int64_t v = 0;

    fx_init(&f, 0);
    memset(&g, 0, sizeof g);
    snprintf(body, sizeof body,
             "sleep 20 &\necho $! > '%s/sleeper.tmp'\nmv '%s/sleeper.tmp' '%s/sleeper'\nwait\n",
             f.dir, f.dir, f.dir);
    fx_path(&f, "sleeper.tmp");
    fx_path(&f, "sleeper");
    script = fx_script(&f, "hang.sh", body);
    exec_cfg(&cfg, script, V1);
    fx_new(&f, &cfg, NULL);
    fx_ask(&f, &g);
    end = real_now() + 5.0;
    while (access(fx_path(&f, "sleeper"), F_OK) != 0 && real_now() < end)
        CU_ASSERT_TRUE_FATAL(core_loop_run_once(f.loop, 10 * CORE_NS_PER_MS, &err) >= 0);
    pidtext = tests_read_file(fx_path(&f, "sleeper"), &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pidtext);
    while (len > 0 && pidtext[len - 1] == '\n')
        pidtext[--len] = '\0';
    CU_ASSERT_EQUAL(core_parse_i64(pidtext, 1, INT32_MAX, &v), 0);
    sleeper = (long)v;
    core_free(pidtext);

    k8s_auth_free(f.auth);
    f.auth = NULL;
    CU_ASSERT_EQUAL(g.called, 0);
    assert_no_zombie();
    /* The plugin's own child got SIGKILL with the group: gone, or a zombie of init's. */
    end = real_now() + 2.0;
    for (;;) {
        char path[64], *stat_text;
        size_t sl = 0;
        snprintf(path, sizeof path, "/proc/%ld/stat", sleeper);
        stat_text = tests_read_file(path, &sl);
        state[0] = '\0';
        if (stat_text) {
            const char *rp = strrchr(stat_text, ')');
            if (rp && rp[1] == ' ')
                snprintf(state, sizeof state, "%c", rp[2]);
            core_free(stat_text);
        }
        if (!stat_text || state[0] == 'Z' || state[0] == 'X' || real_now() > end)
            break;
        usleep(1000);
    }
    CU_ASSERT_TRUE(state[0] == '\0' || state[0] == 'Z' || state[0] == 'X');
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(g.called, 0);
    fx_cleanup(&f);
}

/* Allocation failures at every step of new + ask + answer (token file: the read buffer, the
 * cache, the copy handed to the callback, the kick timer): CORE_E_NOMEM or success, from the
 * call or through the callback, and nothing leaks. */
static void test_alloc_failures(void)
{
    struct fx f;
    struct k8s_config cfg;
    unsigned long n;
    int ok = 0;

    fx_init(&f, 1);
    memset(&cfg, 0, sizeof cfg);
    cfg.auth = K8S_AUTH_TOKEN_FILE;
    cfg.token_file = (char *)fx_write(&f, "token", "allocTOKEN\n", 0600);
    for (n = 1; n < 1000 && !ok; n++) {
        struct k8s_auth *a = NULL;
        struct core_err err;
        struct got g;
        int rc;

        memset(&g, 0, sizeof g);
        core_alloc_fail_after(n);
        rc = k8s_auth_new(f.loop, &cfg, NULL, &a, &err);
        if (rc == 0) {
            rc = k8s_auth_token(a, on_token, &g, &err);
            if (rc == 0) {
                while (!g.called && core_loop_run_once(f.loop, -1, &err) > 0)
                    ;
                CU_ASSERT_EQUAL(g.called, 1);
                rc = g.rc;
                if (rc == 0) {
                    CU_ASSERT_STRING_EQUAL(g.token, "allocTOKEN");
                    ok = core_alloc_failures() == 0;
                }
            }
        }
        core_alloc_fail_after(0);
        CU_ASSERT_TRUE(rc == 0 || rc == CORE_E_NOMEM);
        k8s_auth_free(a);
    }
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_TRUE(n > 3);
    fx_cleanup(&f);
}

TESTS_SUITE(k8s_auth, "k8s_auth", NULL, NULL,
            TESTS_CASE(test_none_and_fixed),
            TESTS_CASE(test_token_file_rotation),
            TESTS_CASE(test_token_file_errors),
            TESTS_CASE(test_eks_tokens),
            TESTS_CASE(test_exec_tokens_shared_and_cached),
            TESTS_CASE(test_exec_ask_while_running),
            TESTS_CASE(test_exec_expiry),
            TESTS_CASE(test_exec_failures),
            TESTS_CASE(test_exec_not_found),
            TESTS_CASE(test_exec_timeout),
            TESTS_CASE(test_exec_free_while_running),
            TESTS_CASE(test_alloc_failures))
