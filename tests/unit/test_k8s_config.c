/*
 * tests/unit/test_k8s_config.c — kubeconfig loading and the in-cluster config (k8s/config.c).
 *
 * Fixtures live in tests/data/kubeconfig (full.yaml uses every supported field; ca.crt,
 * client.crt and client.key are throwaway test material); everything a test needs to vary is
 * written into its own mkdtemp directory, removed at the end. The environment is always a
 * table, so nothing of the machine's KUBECONFIG or HOME leaks in. Every error message is
 * checked for the file, the entry and the field it must name, and against the secrets the
 * fixtures hold.
 */
#include "tests/unit/harness.h"

#include "k8s/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIX_TOKEN "fixtureBEARERtoken-7f3a9c"
#define TMP_TOKEN "tmpBEARERsecret-41d2"
#define TMP_PASSWORD "hunter2PASSWORDsecret"

/* ---- helpers ------------------------------------------------------------------------------- */

struct envtab {
    const char *names[8];
    const char *values[8];
    size_t n;
};

static const char *env_lookup(void *ud, const char *name)
{
    const struct envtab *t = ud;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->names[i], name) == 0)
            return t->values[i];
    return NULL;
}

static void env_set(struct envtab *t, const char *name, const char *value)
{
    CU_ASSERT_FATAL(t->n < 8);
    t->names[t->n] = name;
    t->values[t->n++] = value;
}

/* A temporary directory; files written into it are removed by tmp_cleanup. */
struct tmp {
    char dir[64];
    char paths[16][256];
    size_t n;
};

static void tmp_init(struct tmp *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/stoker-kcfg-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(t->dir));
}

/* Writes content to dir/name (creating one level of subdirectory when name has a '/');
 * returns the path (valid until tmp_cleanup). */
static const char *tmp_write(struct tmp *t, const char *name, const char *content)
{
    char buf[256];
    char *path;
    FILE *f;
    const char *slash = strchr(name, '/');

    CU_ASSERT_FATAL(t->n + 2 < 16);
    if (slash) {
        snprintf(buf, sizeof buf, "%s/%.*s", t->dir, (int)(slash - name), name);
        path = t->paths[t->n++];
        memcpy(path, buf, sizeof buf);
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            CU_FAIL_FATAL("mkdir");
    }
    snprintf(buf, sizeof buf, "%s/%s", t->dir, name);
    path = t->paths[t->n++];
    memcpy(path, buf, sizeof buf);
    f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(content, f);
    fclose(f);
    return path;
}

/* A file of exactly size bytes (sparse: fast even for megabytes). */
static const char *tmp_sized(struct tmp *t, const char *name, off_t size)
{
    char buf[256];
    char *path = t->paths[t->n++];
    int fd;
    snprintf(buf, sizeof buf, "%s/%s", t->dir, name);
    memcpy(path, buf, sizeof buf);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(ftruncate(fd, size) == 0);
    close(fd);
    return path;
}

static void tmp_cleanup(struct tmp *t)
{
    /* Files were added before their directories' contents; remove in reverse, then the dir. */
    for (size_t i = t->n; i-- > 0;) {
        if (unlink(t->paths[i]) != 0)
            rmdir(t->paths[i]);
    }
    rmdir(t->dir);
}

static char *read_whole(const char *path, size_t *len)
{
    char *s = tests_read_file(path, len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

static void assert_no_secret(const char *msg)
{
    static const char *const secrets[] = {FIX_TOKEN, TMP_TOKEN, TMP_PASSWORD, "PRIVATE KEY",
                                          "BEGIN CERTIFICATE", "MIIB", "MIGHAgEA"};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        if (strstr(msg, secrets[i])) {
            fprintf(stderr, "\nsecret %s in message: %s\n", secrets[i], msg);
            CU_FAIL("an error message holds a secret");
        }
    }
}

static void assert_has(const char *msg, const char *part)
{
    if (!strstr(msg, part)) {
        fprintf(stderr, "\nexpected \"%s\" in: %s\n", part, msg);
        CU_FAIL("message lacks an expected part");
    }
}

static int load(const char *paths, const char *context, struct k8s_config *cfg,
                struct core_err *err)
{
    struct envtab t = {{0}, {0}, 0};
    struct aws_env env = {env_lookup, &t};
    core_err_clear(err);
    return k8s_config_load_kubeconfig(&env, paths, context, cfg, err);
}

/* Loads and expects failure with code; checks every part is named and no secret is shown. */
static void expect_error(const char *paths, const char *context, int code, const char *const *parts)
{
    struct k8s_config cfg;
    struct core_err err;
    int rc;

    memset(&cfg, 0x5a, sizeof cfg); /* out-params are written only on success */
    rc = load(paths, context, &cfg, &err);
    if (rc != code)
        fprintf(stderr, "\nexpected %s, got %s: %s\n", core_strerror(code), core_strerror(rc),
                err.message);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_EQUAL(err.code, code);
    CU_ASSERT_EQUAL(((unsigned char *)&cfg)[0], 0x5a);
    if (getenv("KCFG_VERBOSE"))
        fprintf(stderr, "\n  [%s] %s", core_strerror(rc), err.message);
    for (size_t i = 0; parts && parts[i]; i++)
        assert_has(err.message, parts[i]);
    assert_no_secret(err.message);
    if (rc == 0)
        k8s_config_cleanup(&cfg);
}

static const char *fixture(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s", tests_data_path(name));
    return path;
}

static int begins(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends(const char *s, const char *suffix)
{
    size_t a = s ? strlen(s) : 0, b = strlen(suffix);
    return s && a >= b && strcmp(s + a - b, suffix) == 0;
}

/* ---- the full fixture ---------------------------------------------------------------------- */

static void test_current_context_data_fields(void)
{
    struct k8s_config cfg;
    struct core_err err;
    size_t ca_len = 0, crt_len = 0, key_len = 0;
    char *ca = read_whole(fixture("kubeconfig/ca.crt"), &ca_len);
    char *crt = read_whole(fixture("kubeconfig/client.crt"), &crt_len);
    char *key = read_whole(fixture("kubeconfig/client.key"), &key_len);

    CU_ASSERT_EQUAL_FATAL(load(fixture("kubeconfig/full.yaml"), NULL, &cfg, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.context, "prod");
    CU_ASSERT_STRING_EQUAL(cfg.server, "https://prod.example.com:6443"); /* '/' dropped */
    CU_ASSERT_STRING_EQUAL(cfg.namespace_, "kube-system");
    /* certificate-authority-data decodes to the PEM text of ca.crt, byte for byte. */
    CU_ASSERT_PTR_NULL(cfg.ca_file);
    CU_ASSERT_TRUE(begins(cfg.ca_pem, "-----BEGIN CERTIFICATE-----"));
    CU_ASSERT_EQUAL(cfg.ca_pem_len, ca_len);
    CU_ASSERT_TRUE(cfg.ca_pem && memcmp(cfg.ca_pem, ca, ca_len) == 0);
    CU_ASSERT_EQUAL(cfg.client_cert_len, crt_len);
    CU_ASSERT_TRUE(cfg.client_cert_pem && memcmp(cfg.client_cert_pem, crt, crt_len) == 0);
    CU_ASSERT_EQUAL(cfg.client_key_len, key_len);
    CU_ASSERT_TRUE(cfg.client_key_pem && memcmp(cfg.client_key_pem, key, key_len) == 0);
    CU_ASSERT_EQUAL(cfg.auth, K8S_AUTH_NONE);
    CU_ASSERT_PTR_NULL(cfg.token);
    k8s_config_cleanup(&cfg);
    k8s_config_cleanup(&cfg); /* a zeroed struct is fine */
    k8s_config_cleanup(NULL);
    core_free(ca);
    core_free(crt);
    core_free(key);
}

static void test_context_selection_files(void)
{
    struct k8s_config cfg;
    struct core_err err;
    size_t crt_len = 0, key_len = 0;
    char *crt = read_whole(fixture("kubeconfig/client.crt"), &crt_len);
    char *key = read_whole(fixture("kubeconfig/client.key"), &key_len);

    CU_ASSERT_EQUAL_FATAL(load(fixture("kubeconfig/full.yaml"), "dev", &cfg, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.context, "dev");
    CU_ASSERT_STRING_EQUAL(cfg.server, "https://dev.example.com");
    CU_ASSERT_STRING_EQUAL(cfg.namespace_, "default");
    /* certificate-authority: a path, made absolute against the fixture's directory. */
    CU_ASSERT_PTR_NULL(cfg.ca_pem);
    CU_ASSERT_TRUE(begins(cfg.ca_file, "/"));
    CU_ASSERT_TRUE(ends(cfg.ca_file, "/kubeconfig/ca.crt"));
    CU_ASSERT_EQUAL(access(cfg.ca_file, R_OK), 0);
    /* client-certificate / client-key files are read in. */
    CU_ASSERT_EQUAL(cfg.client_cert_len, crt_len);
    CU_ASSERT_TRUE(cfg.client_cert_pem && memcmp(cfg.client_cert_pem, crt, crt_len) == 0);
    CU_ASSERT_EQUAL(cfg.client_key_len, key_len);
    CU_ASSERT_TRUE(cfg.client_key_pem && memcmp(cfg.client_key_pem, key, key_len) == 0);
    CU_ASSERT_EQUAL(cfg.auth, K8S_AUTH_NONE);
    k8s_config_cleanup(&cfg);

    CU_ASSERT_EQUAL_FATAL(load(fixture("kubeconfig/full.yaml"), "anonymous", &cfg, &err), 0);
    CU_ASSERT_EQUAL(cfg.auth, K8S_AUTH_NONE);
    CU_ASSERT_PTR_NULL(cfg.client_cert_pem);
    CU_ASSERT_PTR_NULL(cfg.client_key_pem);
    k8s_config_cleanup(&cfg);
    core_free(crt);
    core_free(key);
}

static void test_token_and_token_file(void)
{
    struct k8s_config cfg;
    struct core_err err;

    CU_ASSERT_EQUAL_FATAL(load(fixture("kubeconfig/full.yaml"), "bearer", &cfg, &err), 0);
    CU_ASSERT_EQUAL(cfg.auth, K8S_AUTH_TOKEN);
    CU_ASSERT_STRING_EQUAL(cfg.token, FIX_TOKEN);
    CU_ASSERT_STRING_EQUAL(cfg.namespace_, "team-a");
    CU_ASSERT_PTR_NULL(cfg.client_cert_pem);
    k8s_config_cleanup(&cfg);

    /* tokenFile is not read at load time (it rotates): only resolved. */
    CU_ASSERT_EQUAL_FATAL(load(fixture("kubeconfig/full.yaml"), "sa", &cfg, &err), 0);
    CU_ASSERT_EQUAL(cfg.auth, K8S_AUTH_TOKEN_FILE);
    CU_ASSERT_PTR_NULL(cfg.token);
    CU_ASSERT_TRUE(begins(cfg.token_file, "/"));
    CU_ASSERT_TRUE(ends(cfg.token_file, "/kubeconfig/secrets/token"));
    k8s_config_cleanup(&cfg);
}

static void test_exec_fields(void)
{
    static const char *const want[] = {"--region", "us-west-2", "eks", "get-token",
                                       "--cluster-name", "demo", "--output", "json"};
    struct k8s_config cfg;
    struct core_err err;

    CU_ASSERT_EQUAL_FATAL(load(fixture("kubeconfig/full.yaml"), "eks", &cfg, &err), 0);
    CU_ASSERT_EQUAL(cfg.auth, K8S_AUTH_EXEC); /* offered as is, not rewritten */
    CU_ASSERT_STRING_EQUAL(cfg.exec_command, "aws"); /* no '/': left for PATH */
    CU_ASSERT_STRING_EQUAL(cfg.exec_api_version, "client.authentication.k8s.io/v1beta1");
    CU_ASSERT_EQUAL_FATAL(cfg.exec_nargs, 8);
    for (size_t i = 0; i < 8; i++)
        CU_ASSERT_STRING_EQUAL(cfg.exec_args[i], want[i]);
    CU_ASSERT_EQUAL_FATAL(cfg.exec_nenv, 1);
    CU_ASSERT_STRING_EQUAL(cfg.exec_env[0], "AWS_STS_REGIONAL_ENDPOINTS=regional");
    /* The EKS detection fills the offer. */
    CU_ASSERT_STRING_EQUAL(cfg.eks_cluster, "demo");
    CU_ASSERT_STRING_EQUAL(cfg.eks_region, "us-west-2");
    k8s_config_cleanup(&cfg);

    CU_ASSERT_EQUAL_FATAL(load(fixture("kubeconfig/full.yaml"), "plugin", &cfg, &err), 0);
    CU_ASSERT_EQUAL(cfg.auth, K8S_AUTH_EXEC);
    /* A command with '/' is relative to the kubeconfig's directory. */
    CU_ASSERT_TRUE(begins(cfg.exec_command, "/"));
    CU_ASSERT_TRUE(ends(cfg.exec_command, "/kubeconfig/bin/get-token"));
    CU_ASSERT_STRING_EQUAL(cfg.exec_api_version, "client.authentication.k8s.io/v1");
    CU_ASSERT_EQUAL(cfg.exec_nargs, 2);
    CU_ASSERT_EQUAL(cfg.exec_nenv, 0);
    CU_ASSERT_PTR_NULL(cfg.eks_cluster); /* not aws eks get-token */
    k8s_config_cleanup(&cfg);
}

/* The EKS offer only for `aws eks get-token --cluster-name X` with nothing that changes the
 * identity. */
static void test_eks_detection(void)
{
    static const struct {
        const char *exec;
        const char *cluster, *region;
    } cases[] = {
        {"command: /usr/local/bin/aws\n      args: [eks, get-token, --cluster-name=c1]\n", "c1",
         NULL},
        {"command: aws\n      args: [eks, get-token, --cluster-name, c2, --region, eu-west-1]\n",
         "c2", "eu-west-1"},
        {"command: aws\n      args: [eks, get-token, --cluster-name, c3, --role-arn, arn:x]\n",
         NULL, NULL},
        {"command: aws\n      args: [eks, get-token]\n", NULL, NULL},
        {"command: aws\n      args: [eks, get-token, --cluster-name-x, c7]\n", NULL, NULL},
        {"command: aws\n      args: [eks, get-token, --cluster-name, c8]\n"
         "      env: [{name: AWS_DEFAULT_REGION, value: ap-south-1}]\n",
         "c8", "ap-south-1"},
        {"command: aws\n      args: [--region, eu-north-1, eks, get-token, --cluster-name, c9]\n"
         "      env: [{name: AWS_REGION, value: ap-south-1}]\n",
         "c9", "eu-north-1"},
        {"command: aws\n      args: [eks, describe-cluster, --cluster-name, c4]\n", NULL, NULL},
        {"command: aws-iam-authenticator\n      args: [token, -i, c5]\n", NULL, NULL},
        {"command: aws\n      args: [eks, get-token, --cluster-name, c6]\n"
         "      env: [{name: AWS_PROFILE, value: other}]\n",
         NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tmp t;
        struct k8s_config cfg;
        struct core_err err;
        char doc[1024];
        const char *path;

        tmp_init(&t);
        snprintf(doc, sizeof doc,
                 "current-context: c\n"
                 "clusters: [{name: k, cluster: {server: 'https://k.example.com'}}]\n"
                 "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                 "users:\n- name: u\n  user:\n    exec:\n"
                 "      apiVersion: client.authentication.k8s.io/v1beta1\n      %s",
                 cases[i].exec);
        path = tmp_write(&t, "config", doc);
        CU_ASSERT_EQUAL(load(path, NULL, &cfg, &err), 0);
        if (err.code)
            fprintf(stderr, "\ncase %zu: %s\n", i, err.message);
        CU_ASSERT_EQUAL(cfg.auth, K8S_AUTH_EXEC);
        if (cases[i].cluster) {
            CU_ASSERT_TRUE(cfg.eks_cluster && strcmp(cfg.eks_cluster, cases[i].cluster) == 0);
        } else {
            CU_ASSERT_PTR_NULL(cfg.eks_cluster);
        }
        if (cases[i].region) {
            CU_ASSERT_TRUE(cfg.eks_region && strcmp(cfg.eks_region, cases[i].region) == 0);
        } else {
            CU_ASSERT_PTR_NULL(cfg.eks_region);
        }
        k8s_config_cleanup(&cfg);
        tmp_cleanup(&t);
    }
}

/* ---- merging and relative paths ------------------------------------------------------------ */

static void test_merge_two_files(void)
{
    struct tmp ta, tb;
    struct k8s_config cfg;
    struct core_err err;
    char *ca;
    size_t ca_len = 0;
    char list[1024], ca_dest[300];
    const char *a, *b;

    tmp_init(&ta);
    tmp_init(&tb);
    ca = read_whole(fixture("kubeconfig/ca.crt"), &ca_len);
    snprintf(ca_dest, sizeof ca_dest, "pki/ca.pem");
    tmp_write(&tb, ca_dest, ca);
    a = tmp_write(&ta, "a.yaml",
                  "current-context: ctx-a\n"
                  "clusters:\n"
                  "- name: shared\n  cluster: {server: 'https://shared-from-a.example.com'}\n"
                  "contexts:\n"
                  "- name: ctx-a\n  context: {cluster: shared, namespace: ns-a}\n"
                  "- name: ctx-shared\n  context: {cluster: only-b, namespace: ns-shared-a}\n");
    b = tmp_write(&tb, "b.yaml",
                  "current-context: ctx-b\n"
                  "clusters:\n"
                  "- name: shared\n  cluster: {server: 'https://shared-from-b.example.com'}\n"
                  "- name: only-b\n  cluster:\n    server: https://only-b.example.com\n"
                  "    certificate-authority: pki/ca.pem\n"
                  "users:\n- name: ub\n  user: {token: " TMP_TOKEN "}\n"
                  "contexts:\n"
                  "- name: ctx-b\n  context: {cluster: shared, user: ub}\n"
                  "- name: ctx-shared\n  context: {cluster: shared, namespace: ns-shared-b}\n");

    /* a first: a's current-context, a's definition of "shared". */
    snprintf(list, sizeof list, "%s:%s", a, b);
    CU_ASSERT_EQUAL_FATAL(load(list, NULL, &cfg, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.context, "ctx-a");
    CU_ASSERT_STRING_EQUAL(cfg.server, "https://shared-from-a.example.com");
    CU_ASSERT_STRING_EQUAL(cfg.namespace_, "ns-a");
    k8s_config_cleanup(&cfg);

    /* A context from a naming a cluster only b defines: b's relative path is b's dir. */
    CU_ASSERT_EQUAL_FATAL(load(list, "ctx-shared", &cfg, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.namespace_, "ns-shared-a"); /* a's ctx-shared wins */
    CU_ASSERT_STRING_EQUAL(cfg.server, "https://only-b.example.com");
    CU_ASSERT_TRUE(begins(cfg.ca_file, tb.dir));
    CU_ASSERT_TRUE(ends(cfg.ca_file, "/pki/ca.pem"));
    k8s_config_cleanup(&cfg);

    /* A context of b using a user of b, with a's cluster definition of the same name. */
    CU_ASSERT_EQUAL_FATAL(load(list, "ctx-b", &cfg, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.server, "https://shared-from-a.example.com");
    CU_ASSERT_EQUAL(cfg.auth, K8S_AUTH_TOKEN);
    CU_ASSERT_STRING_EQUAL(cfg.token, TMP_TOKEN);
    k8s_config_cleanup(&cfg);

    /* b first: b's current-context and b's "shared"; empty entries and a missing file are
     * skipped as kubectl skips them. */
    snprintf(list, sizeof list, "::%s/missing.yaml:%s:%s", ta.dir, b, a);
    CU_ASSERT_EQUAL_FATAL(load(list, NULL, &cfg, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.context, "ctx-b");
    CU_ASSERT_STRING_EQUAL(cfg.server, "https://shared-from-b.example.com");
    k8s_config_cleanup(&cfg);
    CU_ASSERT_EQUAL_FATAL(load(list, "ctx-shared", &cfg, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.namespace_, "ns-shared-b");
    k8s_config_cleanup(&cfg);

    core_free(ca);
    tmp_cleanup(&ta);
    tmp_cleanup(&tb);
}

/* KUBECONFIG from the environment, then $HOME/.kube/config. */
static void test_env_and_home(void)
{
    struct tmp t;
    struct k8s_config cfg;
    struct core_err err;
    struct envtab tab = {{0}, {0}, 0};
    struct aws_env env = {env_lookup, &tab};
    const char *p1;
    static const char doc[] = "current-context: c\n"
                              "clusters: [{name: k, cluster: {server: 'https://%s.example.com'}}]\n"
                              "contexts: [{name: c, context: {cluster: k}}]\n";
    char text[512];

    tmp_init(&t);
    snprintf(text, sizeof text, doc, "from-env");
    p1 = tmp_write(&t, "env.yaml", text);
    snprintf(text, sizeof text, doc, "from-home");
    tmp_write(&t, ".kube/config", text);

    env_set(&tab, "HOME", t.dir);
    CU_ASSERT_EQUAL_FATAL(k8s_config_load_kubeconfig(&env, NULL, NULL, &cfg, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.server, "https://from-home.example.com");
    k8s_config_cleanup(&cfg);

    env_set(&tab, "KUBECONFIG", p1);
    CU_ASSERT_EQUAL_FATAL(k8s_config_load_kubeconfig(&env, NULL, NULL, &cfg, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.server, "https://from-env.example.com");
    k8s_config_cleanup(&cfg);

    /* Neither: a clear error. */
    tab.n = 0;
    CU_ASSERT_EQUAL(k8s_config_load_kubeconfig(&env, NULL, NULL, &cfg, &err), CORE_E_NOTFOUND);
    assert_has(err.message, "KUBECONFIG");
    tmp_cleanup(&t);
}

/* ---- errors -------------------------------------------------------------------------------- */

/* Writes a kubeconfig with one cluster "c1", one user "u1" and a context "x" joining them,
 * with extra lines inside the cluster and the user bodies, and expects an error. */
static void expect_entry_error(const char *cluster_extra, const char *user_extra, int code,
                               const char *entry, const char *field)
{
    struct tmp t;
    char doc[2048];
    const char *path;
    const char *parts[5];

    tmp_init(&t);
    tmp_write(&t, "ca.crt", "not a certificate\n");
    snprintf(doc, sizeof doc,
             "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
             "clusters:\n- name: c1\n  cluster:\n    server: https://c1.example.com\n%s"
             "users:\n- name: u1\n  user:\n%s"
             "contexts:\n- name: x\n  context: {cluster: c1, user: u1}\n",
             cluster_extra, user_extra);
    path = tmp_write(&t, "config", doc);
    parts[0] = path;
    parts[1] = entry;
    parts[2] = field;
    parts[3] = NULL;
    expect_error(path, NULL, code, parts);
    tmp_cleanup(&t);
}

static void test_unsupported_fields(void)
{
    const char *exec_base = "    exec:\n      command: plugin\n"
                            "      apiVersion: client.authentication.k8s.io/v1\n";
    char user[512];

    expect_entry_error("    insecure-skip-tls-verify: true\n", "", CORE_E_UNSUPPORTED,
                       "cluster \"c1\"", "insecure-skip-tls-verify");
    expect_entry_error("    tls-server-name: other.example.com\n", "", CORE_E_UNSUPPORTED,
                       "cluster \"c1\"", "tls-server-name");
    expect_entry_error("    proxy-url: http://proxy:3128\n", "", CORE_E_UNSUPPORTED,
                       "cluster \"c1\"", "proxy-url");
    expect_entry_error("", "    username: admin\n    password: " TMP_PASSWORD "\n",
                       CORE_E_UNSUPPORTED, "user \"u1\"", "username/password");
    expect_entry_error("", "    password: " TMP_PASSWORD "\n", CORE_E_UNSUPPORTED,
                       "user \"u1\"", "username/password");
    expect_entry_error("", "    auth-provider:\n      name: oidc\n      config: {id-token: x}\n",
                       CORE_E_UNSUPPORTED, "user \"u1\"", "auth-provider");
    expect_entry_error("", "    as: system:admin\n", CORE_E_UNSUPPORTED, "user \"u1\"", "as");
    expect_entry_error("", "    as-groups: [system:masters]\n", CORE_E_UNSUPPORTED,
                       "user \"u1\"", "as-groups");
    snprintf(user, sizeof user, "%s      provideClusterInfo: true\n", exec_base);
    expect_entry_error("", user, CORE_E_UNSUPPORTED, "user \"u1\"", "exec.provideClusterInfo");
    expect_entry_error("", "    exec:\n      command: plugin\n"
                           "      apiVersion: client.authentication.k8s.io/v1alpha1\n",
                       CORE_E_UNSUPPORTED, "user \"u1\"", "exec.apiVersion");
}

static void test_invalid_fields(void)
{
    char user[512];

    expect_entry_error("    certificate-authority: ca.crt\n    certificate-authority-data: eA==\n",
                       "", CORE_E_INVAL, "cluster \"c1\"", "certificate-authority-data");
    /* A CA file that is not PEM; data that is not base64; base64 that is not PEM. */
    expect_entry_error("    certificate-authority: ca.crt\n", "", CORE_E_PARSE, "cluster \"c1\"",
                       "certificate-authority");
    expect_entry_error("    certificate-authority-data: '@@@ not base64 @@@'\n", "", CORE_E_PARSE,
                       "cluster \"c1\"", "certificate-authority-data");
    expect_entry_error("    certificate-authority-data: aGVsbG8gd29ybGQK\n", "", CORE_E_PARSE,
                       "cluster \"c1\"", "certificate-authority-data");
    expect_entry_error("    certificate-authority: missing.crt\n", "", CORE_E_NOTFOUND,
                       "cluster \"c1\"", "missing.crt");
    expect_entry_error("    insecure-skip-tls-verify: maybe\n", "", CORE_E_PARSE,
                       "cluster \"c1\"", "insecure-skip-tls-verify");
    expect_entry_error("    server: https://twice.example.com\n", "", CORE_E_PARSE,
                       "cluster \"c1\"", "server");
    expect_entry_error("", "    token: " TMP_TOKEN "\n    tokenFile: /tmp/t\n", CORE_E_INVAL,
                       "user \"u1\"", "tokenFile");
    snprintf(user, sizeof user, "    token: %s\n    exec: {command: p, apiVersion: %s}\n",
             TMP_TOKEN, "client.authentication.k8s.io/v1");
    expect_entry_error("", user, CORE_E_INVAL, "user \"u1\"", "exec");
    expect_entry_error("", "    client-certificate: ../nothing.crt\n", CORE_E_INVAL,
                       "user \"u1\"", "client-key");
    expect_entry_error("", "    exec: {apiVersion: client.authentication.k8s.io/v1}\n",
                       CORE_E_INVAL, "user \"u1\"", "exec.command");
    expect_entry_error("", "    exec: {command: p}\n", CORE_E_INVAL, "user \"u1\"",
                       "exec.apiVersion");
    expect_entry_error("", "    exec: {command: p, apiVersion: client.authentication.k8s.io/v1, "
                           "args: {a: b}}\n",
                       CORE_E_PARSE, "user \"u1\"", "exec.args");
    expect_entry_error("", "    exec: {command: p, apiVersion: client.authentication.k8s.io/v1, "
                           "env: [{value: x}]}\n",
                       CORE_E_INVAL, "user \"u1\"", "exec.env[0].name");
    expect_entry_error("", "    exec: [command]\n", CORE_E_PARSE, "user \"u1\"", "exec");
    expect_entry_error("", "    client-certificate-data: eA==\n    client-key-data: eA==\n",
                       CORE_E_PARSE, "user \"u1\"", "client-certificate-data");
    /* A token with a newline would end the Authorization header early. */
    expect_entry_error("", "    token: \"abc\\r\\nX-Evil: 1\"\n", CORE_E_INVAL, "user \"u1\"",
                       "token");
    /* The scheme must be http(s), with a host, and nothing blank in the URL. */
    {
        static const char *const bad[] = {"ftp://c.example.com", "https://", "https:///",
                                          "http:///api", "https://a b", "c.example.com:443"};
        static const char *const parts[] = {"cluster \"c\"", "server", NULL};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            struct tmp t;
            const char *path;
            char doc[512];
            tmp_init(&t);
            snprintf(doc, sizeof doc,
                     "current-context: x\n"
                     "clusters: [{name: c, cluster: {server: '%s'}}]\n"
                     "contexts: [{name: x, context: {cluster: c}}]\n",
                     bad[i]);
            path = tmp_write(&t, "config", doc);
            expect_error(path, NULL, CORE_E_INVAL, parts);
            tmp_cleanup(&t);
        }
    }
}

static void test_too_many_args(void)
{
    char user[2048];
    size_t n;

    n = (size_t)snprintf(user, sizeof user, "    exec:\n      command: p\n"
                                            "      apiVersion: client.authentication.k8s.io/v1\n"
                                            "      args:\n");
    for (int i = 0; i <= K8S_EXEC_MAX_ARGS; i++)
        n += (size_t)snprintf(user + n, sizeof user - n, "      - a%d\n", i);
    expect_entry_error("", user, CORE_E_TOOBIG, "user \"u1\"", "exec.args");
}

static void test_missing_references(void)
{
    struct tmp t;
    const char *path;
    static const char *const no_ctx[] = {"context \"nope\"", "not found", NULL};
    static const char *const no_cluster[] = {"context \"x\"", "cluster", "\"ghost\"", NULL};
    static const char *const no_user[] = {"context \"y\"", "user", "\"phantom\"", NULL};
    static const char *const no_current[] = {"current-context", NULL};
    static const char *const no_cluster_field[] = {"context \"z\"", "cluster", NULL};
    static const char *const dup[] = {"clusters", "\"c\"", "defined twice", NULL};
    char parts_file[300];
    const char *no_file[3];

    tmp_init(&t);
    path = tmp_write(&t, "config",
                     "clusters: [{name: c, cluster: {server: 'https://c.example.com'}}]\n"
                     "contexts:\n"
                     "- {name: x, context: {cluster: ghost}}\n"
                     "- {name: y, context: {cluster: c, user: phantom}}\n"
                     "- {name: z, context: {user: phantom}}\n");
    expect_error(path, "nope", CORE_E_NOTFOUND, no_ctx);
    expect_error(path, "x", CORE_E_NOTFOUND, no_cluster);
    expect_error(path, "y", CORE_E_NOTFOUND, no_user);
    expect_error(path, "z", CORE_E_INVAL, no_cluster_field);
    expect_error(path, NULL, CORE_E_INVAL, no_current);

    path = tmp_write(&t, "dup",
                     "clusters:\n- {name: c, cluster: {server: 'https://1.example.com'}}\n"
                     "- {name: c, cluster: {server: 'https://2.example.com'}}\n"
                     "contexts: [{name: x, context: {cluster: c}}]\n");
    expect_error(path, "x", CORE_E_PARSE, dup);

    snprintf(parts_file, sizeof parts_file, "%s/none.yaml", t.dir);
    no_file[0] = parts_file;
    no_file[1] = "no such file";
    no_file[2] = NULL;
    expect_error(parts_file, NULL, CORE_E_NOTFOUND, no_file);
    tmp_cleanup(&t);
}

static void test_malformed_and_wrong_types(void)
{
    char path[4096];
    const char *parts[5];
    struct tmp t;
    const char *p;

    snprintf(path, sizeof path, "%s", fixture("kubeconfig/malformed.yaml"));
    parts[0] = path;
    parts[1] = "malformed YAML";
    parts[2] = "line 7"; /* where the unterminated quoted scalar starts */
    parts[3] = NULL;
    expect_error(path, NULL, CORE_E_PARSE, parts);

    snprintf(path, sizeof path, "%s", fixture("kubeconfig/wrong_type.yaml"));
    parts[0] = path;
    parts[1] = "line 11";
    parts[2] = "clusters[1].cluster";
    parts[3] = "expected a mapping, found a list";
    parts[4] = NULL;
    /* The broken entry is not the one used: the shape of every entry is still checked. */
    expect_error(path, NULL, CORE_E_PARSE, parts);

    tmp_init(&t);
    p = tmp_write(&t, "top-list", "- a\n- b\n");
    parts[0] = p;
    parts[1] = "line 1";
    parts[2] = "expected a mapping at the top";
    parts[3] = NULL;
    expect_error(p, NULL, CORE_E_PARSE, parts);
    p = tmp_write(&t, "users-map", "current-context: x\nusers:\n  u1: {token: a}\n");
    parts[0] = p;
    parts[1] = "line 3";
    parts[2] = "users: expected a list";
    expect_error(p, NULL, CORE_E_PARSE, parts);
    p = tmp_write(&t, "server-list",
                  "current-context: x\n"
                  "clusters:\n- name: c\n  cluster:\n    server:\n    - https://a\n"
                  "contexts: [{name: x, context: {cluster: c}}]\n");
    parts[0] = p;
    parts[1] = "cluster \"c\"";
    parts[2] = "line 6";
    parts[3] = "server: expected a string";
    parts[4] = NULL;
    expect_error(p, NULL, CORE_E_PARSE, parts);
    p = tmp_write(&t, "nul", "current-context: \"a\\0b\"\n");
    parts[0] = p;
    parts[1] = "NUL";
    parts[2] = NULL;
    expect_error(p, NULL, CORE_E_PARSE, parts);
    tmp_cleanup(&t);
}

static void test_size_limits(void)
{
    struct tmp t;
    const char *big, *p;
    const char *parts[4];

    tmp_init(&t);
    big = tmp_sized(&t, "huge.yaml", (off_t)4 * 1024 * 1024 + 1);
    parts[0] = big;
    parts[1] = "limit";
    parts[2] = NULL;
    expect_error(big, NULL, CORE_E_TOOBIG, parts);

    tmp_sized(&t, "big.crt", (off_t)1024 * 1024 + 1);
    p = tmp_write(&t, "config",
                  "current-context: x\n"
                  "clusters: [{name: c, cluster: {server: 'https://c', "
                  "certificate-authority: big.crt}}]\n"
                  "contexts: [{name: x, context: {cluster: c}}]\n");
    parts[0] = p;
    parts[1] = "certificate-authority";
    parts[2] = "big.crt";
    parts[3] = NULL;
    expect_error(p, NULL, CORE_E_TOOBIG, parts);

    /* Only regular files are read: a directory (or a FIFO) is refused, never waited on. */
    p = tmp_write(&t, "config2",
                  "current-context: x\n"
                  "clusters: [{name: c, cluster: {server: 'https://c', "
                  "certificate-authority: /tmp}}]\n"
                  "contexts: [{name: x, context: {cluster: c}}]\n");
    parts[0] = p;
    parts[1] = "regular file";
    parts[2] = NULL;
    expect_error(p, NULL, CORE_E_INVAL, parts);
    tmp_cleanup(&t);
}

/* An empty kubeconfig file is valid YAML but names no context. */
static void test_empty_file_and_null_values(void)
{
    struct tmp t;
    const char *p;
    struct k8s_config cfg;
    struct core_err err;
    static const char *const parts[] = {"current-context", NULL};

    tmp_init(&t);
    p = tmp_write(&t, "empty", "");
    expect_error(p, NULL, CORE_E_INVAL, parts);
    /* Plain nulls are absent values; a quoted "false" is not a boolean. */
    p = tmp_write(&t, "nulls",
                  "current-context: x\nusers: ~\npreferences: null\n"
                  "clusters: [{name: c, cluster: {server: 'https://c.example.com', proxy-url: ~, "
                  "tls-server-name: ''}}]\n"
                  "contexts: [{name: x, context: {cluster: c, namespace: null}}]\n");
    CU_ASSERT_EQUAL_FATAL(load(p, NULL, &cfg, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.namespace_, "default");
    k8s_config_cleanup(&cfg);
    tmp_cleanup(&t);
}

/* The in-memory entry point used by the fuzz target behaves like a one-file load. */
static void test_parse_from_memory(void)
{
    static const char doc[] = "current-context: x\n"
                              "clusters: [{name: c, cluster: {server: 'https://m.example.com/'}}]\n"
                              "users: [{name: u, user: {tokenFile: tok}}]\n"
                              "contexts: [{name: x, context: {cluster: c, user: u}}]\n";
    struct k8s_config cfg;
    struct core_err err;

    CU_ASSERT_EQUAL_FATAL(k8s_config_parse_kubeconfig(doc, sizeof doc - 1, "mem.yaml", "/base",
                                                      NULL, &cfg, &err),
                          0);
    CU_ASSERT_STRING_EQUAL(cfg.server, "https://m.example.com");
    CU_ASSERT_STRING_EQUAL(cfg.token_file, "/base/tok");
    k8s_config_cleanup(&cfg);
    CU_ASSERT_EQUAL(k8s_config_parse_kubeconfig(doc, sizeof doc - 1, "mem.yaml", "/base", "other",
                                                &cfg, &err),
                    CORE_E_NOTFOUND);
    assert_has(err.message, "mem.yaml");
}

/* ---- in-cluster ---------------------------------------------------------------------------- */

static void test_in_cluster(void)
{
    struct tmp t;
    struct k8s_config cfg;
    struct core_err err;
    struct envtab tab = {{0}, {0}, 0};
    struct aws_env env = {env_lookup, &tab};
    char want[300];

    tmp_init(&t);
    tmp_write(&t, "token", "eyJhbGciOi.sa-token.sig\n");
    tmp_write(&t, "ca.crt", "-----BEGIN CERTIFICATE-----\n");
    tmp_write(&t, "namespace", "team-x\n");

    /* Not in a pod. */
    CU_ASSERT_EQUAL(k8s_config_in_cluster(&env, t.dir, &cfg, &err), CORE_E_NOTFOUND);
    assert_has(err.message, "KUBERNETES_SERVICE_HOST");

    env_set(&tab, "KUBERNETES_SERVICE_HOST", "10.100.0.1");
    env_set(&tab, "KUBERNETES_SERVICE_PORT", "443");
    CU_ASSERT_EQUAL_FATAL(k8s_config_in_cluster(&env, t.dir, &cfg, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.server, "https://10.100.0.1:443");
    CU_ASSERT_EQUAL(cfg.auth, K8S_AUTH_TOKEN_FILE);
    snprintf(want, sizeof want, "%s/token", t.dir);
    CU_ASSERT_STRING_EQUAL(cfg.token_file, want);
    snprintf(want, sizeof want, "%s/ca.crt", t.dir);
    CU_ASSERT_STRING_EQUAL(cfg.ca_file, want);
    CU_ASSERT_PTR_NULL(cfg.token); /* read by k8s_auth, as it rotates */
    CU_ASSERT_STRING_EQUAL(cfg.namespace_, "team-x");
    k8s_config_cleanup(&cfg);

    /* IPv6 gets brackets; no namespace file means "default". */
    tab.values[0] = "fd00:10:100::1";
    unlink(t.paths[2]);
    CU_ASSERT_EQUAL_FATAL(k8s_config_in_cluster(&env, t.dir, &cfg, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.server, "https://[fd00:10:100::1]:443");
    CU_ASSERT_STRING_EQUAL(cfg.namespace_, "default");
    k8s_config_cleanup(&cfg);

    /* A bad port, a host that would smuggle a path, a missing token file. */
    tab.values[1] = "https";
    CU_ASSERT_EQUAL(k8s_config_in_cluster(&env, t.dir, &cfg, &err), CORE_E_INVAL);
    assert_has(err.message, "KUBERNETES_SERVICE_PORT");
    tab.values[1] = "6443";
    tab.values[0] = "evil.example.com/x?";
    CU_ASSERT_EQUAL(k8s_config_in_cluster(&env, t.dir, &cfg, &err), CORE_E_INVAL);
    assert_has(err.message, "KUBERNETES_SERVICE_HOST");
    tab.values[0] = "kubernetes.default.svc";
    unlink(t.paths[0]);
    CU_ASSERT_EQUAL(k8s_config_in_cluster(&env, t.dir, &cfg, &err), CORE_E_NOTFOUND);
    snprintf(want, sizeof want, "%s/token", t.dir);
    assert_has(err.message, want);
    tmp_cleanup(&t);
}

/* ---- allocation failures ------------------------------------------------------------------- */

static void alloc_loop(const char *context)
{
    unsigned long n;
    int ok = 0;

    for (n = 1; n < 10000 && !ok; n++) {
        struct k8s_config cfg;
        struct core_err err;
        int rc;
        core_alloc_fail_after(n);
        rc = load(fixture("kubeconfig/full.yaml"), context, &cfg, &err);
        core_alloc_fail_after(0);
        if (rc == 0) {
            ok = 1;
            CU_ASSERT_PTR_NOT_NULL(cfg.server);
            k8s_config_cleanup(&cfg);
        } else {
            if (rc != CORE_E_NOMEM)
                fprintf(stderr, "\ncontext %s, failure %lu: %s\n", context, n, err.message);
            CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
            CU_ASSERT_EQUAL(err.code, CORE_E_NOMEM);
        }
    }
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_TRUE(n > 3); /* allocations did fail on the way */
}

static void test_alloc_failures(void)
{
    static const char *const contexts[] = {"prod", "dev", "bearer", "sa", "eks", "plugin"};
    for (size_t i = 0; i < sizeof contexts / sizeof contexts[0]; i++)
        alloc_loop(contexts[i]);
}

TESTS_SUITE(k8s_config, "k8s_config", NULL, NULL,
            TESTS_CASE(test_current_context_data_fields),
            TESTS_CASE(test_context_selection_files),
            TESTS_CASE(test_token_and_token_file),
            TESTS_CASE(test_exec_fields),
            TESTS_CASE(test_eks_detection),
            TESTS_CASE(test_merge_two_files),
            TESTS_CASE(test_env_and_home),
            TESTS_CASE(test_unsupported_fields),
            TESTS_CASE(test_invalid_fields),
            TESTS_CASE(test_too_many_args),
            TESTS_CASE(test_missing_references),
            TESTS_CASE(test_malformed_and_wrong_types),
            TESTS_CASE(test_size_limits),
            TESTS_CASE(test_empty_file_and_null_values),
            TESTS_CASE(test_parse_from_memory),
            TESTS_CASE(test_in_cluster),
            TESTS_CASE(test_alloc_failures))
