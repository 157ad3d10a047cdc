/*
 * tests/integration/test_cli_plan.c — the built `stoker plan` binary as a child process over the
 * manifests in tests/data/plan: golden table and JSON output for a Deployment; constraint checks
 * (GPU, arm64, volume zone, claim templates, ephemeral volumes, spot) read back from the JSON
 * against the compiled-in catalog; exit codes (0 served, 3 unschedulable, 2 input or usage
 * error) and the messages that name file, document and kind or field.
 *
 * Golden files are compared byte for byte; rewrite them after an intended change with
 *     STOKER_UPDATE_GOLDEN=1 ./build/default/stoker-tests cli_plan
 * The children get only PATH; every run is bounded by RUN_TIMEOUT_S.
 */
#include "tests/integration/simproc.h"
#include "tests/unit/harness.h"

#include "core/core.h"
#include "launcher/launcher.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUN_TIMEOUT_S 60

static char tmpdir[64];
static struct launcher_catalog *catalog;


static int suite_init(void)
{
    struct core_err err;

    core_strlcpy(tmpdir, "/tmp/stoker-plan-XXXXXX", sizeof tmpdir);
    if (!mkdtemp(tmpdir))
        return -1;
    return launcher_catalog_load(&catalog, &err) == 0 ? 0 : -1;
}

static int suite_cleanup(void)
{
    launcher_catalog_free(catalog);
    catalog = NULL;
    tests_rmtree(tmpdir);
    return 0;
}

/* Runs `stoker ARGS...` (NULL-terminated); "@name" arguments become tests/data/plan/name. */
static void run(struct tests_stoker_run *r, const char *const *args)
{
    static char paths[16][512];
    const char *argv[40];
    char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    size_t n = 0, np = 0;

    for (size_t i = 0; args[i] && n < 38; i++) {
        if (args[i][0] == '@' && np < 16) {
            char rel[256];
            snprintf(rel, sizeof rel, "plan/%s", args[i] + 1);
            core_strlcpy(paths[np], tests_data_path(rel), sizeof paths[np]);
            argv[n++] = paths[np++];
        } else {
            argv[n++] = args[i];
        }
    }
    argv[n] = NULL;
    tests_stoker_run(r, argv, envp, tmpdir, RUN_TIMEOUT_S);
}

static void run_cleanup(struct tests_stoker_run *r)
{
    tests_stoker_run_cleanup(r);
}

static void report(const struct tests_stoker_run *r, int want)
{
    if (r->status != want)
        fprintf(stderr, "\n  exit %d (want %d)\n  stdout: %s\n  stderr: %s\n", r->status, want,
                r->out, r->err);
}

static void check_golden(const char *name, const char *got)
{
    char rel[128];
    const char *path;
    size_t len = 0, glen = strlen(got);
    char *want;

    snprintf(rel, sizeof rel, "plan/%s", name);
    path = tests_data_path(rel);
    if (getenv("STOKER_UPDATE_GOLDEN")) {
        FILE *fp = fopen(path, "wb");
        CU_ASSERT_FATAL(fp != NULL);
        CU_ASSERT(fwrite(got, 1, glen, fp) == glen);
        CU_ASSERT(fclose(fp) == 0);
        return;
    }
    want = tests_read_file(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    CU_ASSERT(len == glen && memcmp(want, got, len) == 0);
    if (len != glen || memcmp(want, got, len) != 0)
        fprintf(stderr, "\ngolden mismatch: %s (STOKER_UPDATE_GOLDEN=1 rewrites)\n--\n%s--\n",
                name, got);
    free(want);
}

/* Writes text to <tmpdir>/name; returns path (the caller's buffer). */
static const char *write_tmp(const char *name, const char *text, char *path, size_t pathsz)
{
    FILE *fp;
    size_t len = strlen(text);

    snprintf(path, pathsz, "%s/%s", tmpdir, name);
    fp = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    CU_ASSERT(fwrite(text, 1, len, fp) == len);
    CU_ASSERT(fclose(fp) == 0);
    return path;
}

/* n copies of s, NUL-terminated (core_free). */
static char *repeat(const char *s, size_t n)
{
    struct core_buf b;
    char *out = NULL;

    int rc = 0;

    core_buf_init(&b, 64u * 1024u * 1024u);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = core_buf_append_str(&b, s);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL_FATAL(core_buf_steal(&b, &out, NULL), 0);
    core_buf_cleanup(&b);
    return out;
}

/* The parsed JSON plan of a run (json_decref), or NULL after a failed assertion. */
static json_t *parse_plan(const struct tests_stoker_run *r)
{
    json_error_t je;
    json_t *j = json_loads(r->out, 0, &je);

    CU_ASSERT_PTR_NOT_NULL(j);
    if (!j)
        fprintf(stderr, "\n  not JSON: %s\n%s\n", je.text, r->out);
    return j;
}

/* The NodeClaim (borrowed) whose pods include pod, or NULL. */
static json_t *claim_of(json_t *plan, const char *pod)
{
    size_t i, k;
    json_t *c, *p;

    json_array_foreach(json_object_get(plan, "nodeClaims"), i, c) {
        json_array_foreach(json_object_get(c, "pods"), k, p) {
            if (strcmp(json_string_value(p), pod) == 0)
                return c;
        }
    }
    return NULL;
}

/* The values of the claim's requirement on key (borrowed), or NULL. */
static json_t *req_values(json_t *claim, const char *key)
{
    size_t i;
    json_t *r;

    json_array_foreach(json_object_get(claim, "requirements"), i, r) {
        if (strcmp(json_string_value(json_object_get(r, "key")), key) == 0)
            return json_object_get(r, "values");
    }
    return NULL;
}

static void test_deployment_golden(void)
{
    const char *table[] = {"plan", "-f", "@deployment.yaml", "-f", "@nodepool.yaml", NULL};
    const char *js[] = {"plan", "-f", "@deployment.yaml", "-f", "@nodepool.yaml", "-o", "json",
                        NULL};
    struct tests_stoker_run r, again;
    json_t *j;

    run(&r, table);
    report(&r, 0);
    CU_ASSERT_EQUAL(r.status, 0);
    check_golden("web.table.golden", r.out);
    /* Same input, same bytes. */
    run(&again, table);
    CU_ASSERT_STRING_EQUAL(again.out, r.out);
    run_cleanup(&again);
    run_cleanup(&r);

    run(&r, js);
    report(&r, 0);
    CU_ASSERT_EQUAL(r.status, 0);
    check_golden("web.json.golden", r.out);
    j = parse_plan(&r);
    if (j) {
        size_t i, total = 0;
        json_t *c;
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(j, "summary"), "pods")),
                        10);
        json_array_foreach(json_object_get(j, "nodeClaims"), i, c) {
            json_t *types = json_object_get(c, "instanceTypes");
            total += json_array_size(json_object_get(c, "pods"));
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c, "nodePool")), "general");
            CU_ASSERT(json_array_size(types) > 0);
            /* Cheapest first. */
            for (size_t t = 1; t < json_array_size(types); t++)
                CU_ASSERT(json_real_value(json_object_get(json_array_get(types, t - 1),
                                                          "priceUSDPerHour")) <=
                          json_real_value(json_object_get(json_array_get(types, t),
                                                          "priceUSDPerHour")));
        }
        CU_ASSERT_EQUAL(total, 10);
        CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "unschedulable")), 0);
        json_decref(j);
    }
    run_cleanup(&r);
}

static void test_gpu_arm(void)
{
    const char *a[] = {"plan", "-f", "@gpu-arm.yaml", "-o", "json", NULL};
    struct tests_stoker_run r;
    json_t *j, *gpu, *arm, *t;
    size_t i;

    run(&r, a);
    report(&r, 0);
    CU_ASSERT_EQUAL(r.status, 0);
    /* No EC2NodeClass in the file: said so, defaults used. */
    CU_ASSERT(strstr(r.err, "EC2NodeClass mixed is not in the files") != NULL);
    j = parse_plan(&r);
    if (!j) {
        run_cleanup(&r);
        return;
    }
    gpu = claim_of(j, "ml/trainer");
    arm = claim_of(j, "default/graviton");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gpu);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arm);
    CU_ASSERT(json_array_size(json_object_get(gpu, "instanceTypes")) > 0);
    CU_ASSERT(json_array_size(json_object_get(arm, "instanceTypes")) > 0);
    json_array_foreach(json_object_get(gpu, "instanceTypes"), i, t) {
        const struct launcher_itype *it =
            launcher_catalog_find(catalog, json_string_value(json_object_get(t, "name")));
        CU_ASSERT_PTR_NOT_NULL_FATAL(it);
        CU_ASSERT(it->gpu_count > 0);
        CU_ASSERT_STRING_EQUAL(it->gpu_manufacturer, "nvidia");
    }
    json_array_foreach(json_object_get(arm, "instanceTypes"), i, t) {
        const struct launcher_itype *it =
            launcher_catalog_find(catalog, json_string_value(json_object_get(t, "name")));
        CU_ASSERT_PTR_NOT_NULL_FATAL(it);
        CU_ASSERT_STRING_EQUAL(it->arch, "arm64");
    }
    json_decref(j);
    run_cleanup(&r);
}

static void test_volume_zone(void)
{
    const char *a[] = {"plan", "-f", "@volume.yaml", "-f", "@nodepool.yaml", "-o", "json", NULL};
    struct tests_stoker_run r;
    json_t *j, *c, *z;

    run(&r, a);
    report(&r, 0);
    CU_ASSERT_EQUAL(r.status, 0);
    j = parse_plan(&r);
    if (j) {
        c = claim_of(j, "default/db");
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        z = req_values(c, "topology.kubernetes.io/zone");
        CU_ASSERT_PTR_NOT_NULL_FATAL(z);
        CU_ASSERT_EQUAL(json_array_size(z), 1);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(z, 0)), "us-east-1b");
        json_decref(j);
    }
    run_cleanup(&r);
    /* A zone the volume is not in leaves the pod nowhere to go. */
    {
        const char *b[] = {"plan", "-f", "@volume.yaml", "-f", "@nodepool.yaml", "--zones",
                           "us-east-1a,us-east-1c", NULL};
        run(&r, b);
        report(&r, 3);
        CU_ASSERT_EQUAL(r.status, 3);
        CU_ASSERT(strstr(r.out, "  default/db: ") != NULL);
        run_cleanup(&r);
    }
}

static void test_workloads(void)
{
    const char *a[] = {"plan", "-f", "@workloads.yaml", "-f", "@nodepool.yaml", "-o", "json",
                       NULL};
    static const char *const pods[] = {"data/kv-0", "default/cache-0", "data/kv-1",
                                       "default/report-0", "default/report-1",
                                       "default/scratch"};
    struct tests_stoker_run r;
    json_t *j;

    run(&r, a);
    report(&r, 0);
    CU_ASSERT_EQUAL(r.status, 0);
    j = parse_plan(&r);
    if (!j) {
        run_cleanup(&r);
        return;
    }
    /* Job: parallelism 3 capped by completions 2; ReplicaSet: 1; the DaemonSet plans no pod. */
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(j, "summary"), "pods")), 6);
    for (size_t i = 0; i < sizeof pods / sizeof pods[0]; i++)
        CU_ASSERT_PTR_NOT_NULL(claim_of(j, pods[i]));
    CU_ASSERT_PTR_NULL(claim_of(j, "default/report-2"));
    /* The claim templates' class allows only us-east-1c (StatefulSet and ephemeral). */
    for (size_t i = 0; i < 3; i++) {
        json_t *c = claim_of(j, i == 0 ? "data/kv-0" : i == 1 ? "data/kv-1" : "default/scratch"),
               *z;
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        z = req_values(c, "topology.kubernetes.io/zone");
        CU_ASSERT_PTR_NOT_NULL_FATAL(z);
        CU_ASSERT_EQUAL(json_array_size(z), 1);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(z, 0)), "us-east-1c");
    }
    /* DaemonSet overhead: every claim requests one pod more than it takes. */
    {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(j, "nodeClaims"), i, c) {
            char want[32];
            snprintf(want, sizeof want, "%zu", json_array_size(json_object_get(c, "pods")) + 1);
            CU_ASSERT_STRING_EQUAL(
                json_string_value(json_object_get(json_object_get(c, "requests"), "pods")), want);
        }
    }
    json_decref(j);
    run_cleanup(&r);
}

static void test_unschedulable(void)
{
    const char *table[] = {"plan", "-f", "@unschedulable.yaml", "-f", "@nodepool.yaml", NULL};
    const char *js[] = {"plan", "-f", "@unschedulable.yaml", "-f", "@nodepool.yaml", "-o",
                        "json", NULL};
    struct tests_stoker_run r;
    json_t *j, *u;

    run(&r, table);
    report(&r, 3);
    CU_ASSERT_EQUAL(r.status, 3);
    CU_ASSERT(strstr(r.out, "1 unschedulable\nunschedulable:\n  default/huge: ") != NULL);
    CU_ASSERT(strstr(r.out, "default/small") != NULL);
    CU_ASSERT(strstr(r.out, "default/running") == NULL);
    CU_ASSERT(strstr(r.err, "document 3: pod default/running is bound to node "
                            "ip-10-0-1-23.ec2.internal; ignored") != NULL);
    run_cleanup(&r);

    run(&r, js);
    CU_ASSERT_EQUAL(r.status, 3);
    j = parse_plan(&r);
    if (j) {
        u = json_object_get(j, "unschedulable");
        CU_ASSERT_EQUAL(json_array_size(u), 1);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(u, 0), "pod")),
                               "default/huge");
        CU_ASSERT(strstr(json_string_value(json_object_get(json_array_get(u, 0), "reason")),
                         "cpu") != NULL);
        CU_ASSERT_EQUAL(
            json_integer_value(json_object_get(json_object_get(j, "summary"), "ignoredPods")), 1);
        CU_ASSERT_PTR_NOT_NULL(claim_of(j, "default/small"));
        json_decref(j);
    }
    run_cleanup(&r);
}

static void test_input_errors(void)
{
    const char *kind[] = {"plan", "-f", "@nodepool.yaml", "-f", "@unknown-kind.yaml", NULL};
    const char *yaml[] = {"plan", "-f", "@bad-yaml.yaml", NULL};
    const char *field[] = {"plan", "-f", "@bad-field.yaml", NULL};
    const char *missing[] = {"plan", "-f", "/nonexistent/pods.yaml", NULL};
    struct tests_stoker_run r;

    run(&r, kind);
    report(&r, 2);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(strstr(r.err, "unknown-kind.yaml: document 2: kind ConfigMap is not supported") !=
              NULL);
    CU_ASSERT(r.out[0] == '\0');
    run_cleanup(&r);

    run(&r, yaml);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(strstr(r.err, "bad-yaml.yaml: line 7 column ") != NULL);
    CU_ASSERT(r.out[0] == '\0');
    run_cleanup(&r);

    run(&r, field);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(strstr(r.err, "bad-field.yaml: document 1: Deployment default/api") != NULL);
    CU_ASSERT(strstr(r.err, "spec.containers[0].resources.requests[cpu]") != NULL);
    run_cleanup(&r);

    run(&r, missing);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(strstr(r.err, "/nonexistent/pods.yaml") != NULL);
    run_cleanup(&r);
}

static void test_catalog(void)
{
    const char *a[] = {"plan", "-f", "@deployment.yaml", "-f", "@nodepool.yaml", "--catalog",
                       "@catalog-3.csv", "-o", "json", NULL};
    const char *bad[] = {"plan", "-f", "@deployment.yaml", "--catalog", "@nodepool.yaml",
                         NULL};
    struct tests_stoker_run r;
    json_t *j, *c, *t;
    size_t i, k, ntypes = 0;

    run(&r, a);
    report(&r, 0);
    CU_ASSERT_EQUAL(r.status, 0);
    j = parse_plan(&r);
    if (j) {
        CU_ASSERT(json_array_size(json_object_get(j, "nodeClaims")) > 0);
        json_array_foreach(json_object_get(j, "nodeClaims"), i, c) {
            json_array_foreach(json_object_get(c, "instanceTypes"), k, t) {
                const char *n = json_string_value(json_object_get(t, "name"));
                ntypes++;
                CU_ASSERT(strcmp(n, "c5.large") == 0 || strcmp(n, "m5.large") == 0 ||
                          strcmp(n, "m5.xlarge") == 0);
            }
        }
        CU_ASSERT(ntypes > 0);
        json_decref(j);
    }
    run_cleanup(&r);

    run(&r, bad);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(strstr(r.err, "--catalog") != NULL && strstr(r.err, "line 1") != NULL);
    run_cleanup(&r);

    /* --max-types caps each list. */
    a[5] = "--max-types";
    a[6] = "2";
    run(&r, a);
    CU_ASSERT_EQUAL(r.status, 0);
    j = parse_plan(&r);
    if (j) {
        json_array_foreach(json_object_get(j, "nodeClaims"), i, c) {
            size_t n = json_array_size(json_object_get(c, "instanceTypes"));
            CU_ASSERT(n >= 1 && n <= 2);
        }
        json_decref(j);
    }
    run_cleanup(&r);
}

static void test_usage(void)
{
    const char *none[] = {"plan", NULL};
    const char *out[] = {"plan", "-f", "@deployment.yaml", "-o", "yaml", NULL};
    const char *zones[] = {"plan", "-f", "@deployment.yaml", "--zones", "a,,b", NULL};
    const char *spot[] = {"plan", "-f", "@deployment.yaml", "--spot-discount", "1.5", NULL};
    /* strtod would take these; a discount is a plain decimal. */
    static const char *const not_plain[] = {"0x0.8", "5e-1", " 0.5", "+0.5", "inf", "nan",
                                            "0.5 ", ".", ""};
    static const char *const plain[] = {"0", "0.25", ".5", "0."};
    char region[80], zlist[100];
    const char *help[] = {"plan", "--help", NULL};
    struct tests_stoker_run r;

    run(&r, none);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(strstr(r.err, "-f FILE is required") != NULL);
    CU_ASSERT(strstr(r.err, "usage: stoker plan") != NULL);
    run_cleanup(&r);
    run(&r, out);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(strstr(r.err, "-o: expected table or json") != NULL);
    run_cleanup(&r);
    run(&r, zones);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(strstr(r.err, "--zones") != NULL);
    run_cleanup(&r);
    run(&r, spot);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(strstr(r.err, "--spot-discount") != NULL);
    run_cleanup(&r);
    for (size_t i = 0; i < sizeof not_plain / sizeof not_plain[0]; i++) {
        spot[4] = not_plain[i];
        run(&r, spot);
        if (r.status != 2)
            fprintf(stderr, "\n  --spot-discount '%s' accepted\n", not_plain[i]);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT(strstr(r.err, "--spot-discount") != NULL);
        run_cleanup(&r);
    }
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        spot[4] = plain[i];
        run(&r, spot);
        report(&r, 3);
        CU_ASSERT_EQUAL(r.status, 3); /* no NodePool in the file: every pod unschedulable */
        run_cleanup(&r);
    }
    /* Names longer than the offerings keep (63 bytes) are refused by the flag that gave them,
     * before any file is read. */
    memset(region, 'r', 64);
    region[64] = '\0';
    {
        const char *a[] = {"plan", "-f", "/nonexistent/x.yaml", "--region", region, NULL};
        run(&r, a);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT(strstr(r.err, "stoker plan: --region: ") == r.err);
        CU_ASSERT(strstr(r.err, "63") != NULL);
        CU_ASSERT(strstr(r.err, "stoker plan: stoker plan") == NULL);
        run_cleanup(&r);
        region[63] = '\0'; /* 63 is fine */
        a[2] = "@deployment.yaml";
        run(&r, a);
        report(&r, 3);
        CU_ASSERT_EQUAL(r.status, 3);
        run_cleanup(&r);
    }
    snprintf(zlist, sizeof zlist, "us-east-1a,%.64s",
             "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
    {
        const char *a[] = {"plan", "-f", "/nonexistent/x.yaml", "--zones", zlist, NULL};
        run(&r, a);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT(strstr(r.err, "stoker plan: --zones: ") == r.err);
        CU_ASSERT(strstr(r.err, "63") != NULL);
        run_cleanup(&r);
    }
    run(&r, help);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT(strstr(r.out, "usage: stoker plan") != NULL);
    run_cleanup(&r);
}

/* Every kind needs metadata.name (the decoders take it as optional): a missing or empty one
 * is an input error naming file, document and field, not a crash. */
static void test_missing_name(void)
{
    static const char *const docs[][2] = {
        {"Pod", "apiVersion: v1\nkind: Pod\nmetadata:\n  generateName: web-\nspec:\n"
                "  containers:\n    - name: a\n      image: x\n"},
        {"Pod", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"\"\nspec:\n"
                "  containers:\n    - name: a\n      image: x\n"},
        {"NodePool", "apiVersion: karpenter.sh/v1\nkind: NodePool\nspec:\n  template:\n"
                     "    spec:\n      nodeClassRef:\n        group: karpenter.k8s.aws\n"
                     "        kind: EC2NodeClass\n        name: default\n"},
        {"EC2NodeClass", "apiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\nmetadata: {}\n"
                         "spec:\n  role: r\n"},
        {"PersistentVolumeClaim", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {}\n"
                                  "spec:\n  accessModes: [ReadWriteOnce]\n"},
        {"Deployment", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  generateName: d-\n"
                       "spec:\n  template:\n    spec:\n      containers:\n"
                       "        - name: a\n          image: x\n"},
        {"DaemonSet", "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {}\nspec:\n"
                      "  template:\n    spec:\n      containers:\n"
                      "        - name: a\n          image: x\n"},
        {"Namespace", "apiVersion: v1\nkind: Namespace\nmetadata:\n  labels: {a: b}\n"},
    };
    char path[128], want[160];
    struct tests_stoker_run r;

    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        const char *a[] = {"plan", "-f", "@nodepool.yaml", "-f",
                           write_tmp("noname.yaml", docs[i][1], path, sizeof path), NULL};
        run(&r, a);
        report(&r, 2);
        CU_ASSERT_EQUAL(r.status, 2);
        snprintf(want, sizeof want, "noname.yaml: document 1: %s: metadata.name: ", docs[i][0]);
        CU_ASSERT(strstr(r.err, want) != NULL);
        CU_ASSERT(r.out[0] == '\0');
        run_cleanup(&r);
    }
}

/* A PVC given in the files wins over the one a claim template would make, whatever the file
 * order: the given claim is bound to a volume in us-east-1a, the template's class allows only
 * us-east-1c. */
static void test_vct_given_claim(void)
{
    const char *a[] = {"plan", "-f", "@vct-sts.yaml", "-f", "@vct-pvc.yaml", "-f",
                       "@nodepool.yaml", "-o", "json", NULL};
    struct tests_stoker_run r;
    json_t *j, *c, *z;

    for (int order = 0; order < 2; order++) {
        a[2] = order ? "@vct-pvc.yaml" : "@vct-sts.yaml";
        a[4] = order ? "@vct-sts.yaml" : "@vct-pvc.yaml";
        run(&r, a);
        report(&r, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        j = parse_plan(&r);
        if (j) {
            c = claim_of(j, "data/kv-0");
            CU_ASSERT_PTR_NOT_NULL_FATAL(c);
            z = req_values(c, "topology.kubernetes.io/zone");
            CU_ASSERT_PTR_NOT_NULL_FATAL(z);
            CU_ASSERT_EQUAL(json_array_size(z), 1);
            CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(z, 0)), "us-east-1a");
            json_decref(j);
        }
        run_cleanup(&r);
    }
}

/* Names longer than the old fixed buffers (600 bytes for ns/name, 300 for a NodeClaim), of
 * two-byte characters, so a cut would also split a character: printed whole, in both forms. */
static void test_long_names(void)
{
    char *pod = repeat("\xc3\xa9", 300), *pool = repeat("\xc3\xbc", 150);
    char path[128], id[700], cname[400];
    struct core_buf y;
    struct tests_stoker_run r;
    json_t *j, *c;

    core_buf_init(&y, 1u << 20);
    CU_ASSERT_EQUAL_FATAL(
        core_buf_appendf(&y,
                         "apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata:\n  name: %s\n"
                         "spec:\n  template:\n    spec:\n      nodeClassRef:\n"
                         "        group: karpenter.k8s.aws\n        kind: EC2NodeClass\n"
                         "        name: default\n---\napiVersion: v1\nkind: Pod\nmetadata:\n"
                         "  name: %s\nspec:\n  containers:\n    - name: a\n      image: x\n"
                         "      resources:\n        requests:\n          cpu: 100m\n",
                         pool, pod),
        0);
    write_tmp("long.yaml", core_buf_cstr(&y), path, sizeof path);
    snprintf(id, sizeof id, "default/%s", pod);
    snprintf(cname, sizeof cname, "%s-1", pool);
    {
        const char *a[] = {"plan", "-f", path, "-o", "json", NULL};
        run(&r, a);
        report(&r, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        j = parse_plan(&r);
        if (j) {
            c = claim_of(j, id);
            CU_ASSERT_PTR_NOT_NULL(c);
            if (c) {
                CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c, "name")), cname);
                CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c, "nodePool")), pool);
            }
            json_decref(j);
        }
        run_cleanup(&r);
    }
    {
        const char *a[] = {"plan", "-f", path, NULL};
        char want[800];
        run(&r, a);
        CU_ASSERT_EQUAL(r.status, 0);
        snprintf(want, sizeof want, "nodeclaim %s  pool=", cname);
        CU_ASSERT(strstr(r.out, want) != NULL);
        snprintf(want, sizeof want, "  pods: %s\n", id);
        CU_ASSERT(strstr(r.out, want) != NULL);
        run_cleanup(&r);
    }
    core_buf_cleanup(&y);
    core_free(pod);
    core_free(pool);
}

/* A workload whose template names a node is bound already: not planned, counted ignored. */
static void test_bound_workload(void)
{
    const char *a[] = {"plan", "-f", "@bound-workload.yaml", "-f", "@nodepool.yaml", "-o", "json",
                       NULL};
    struct tests_stoker_run r;
    json_t *j, *sum;

    run(&r, a);
    report(&r, 0);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT(strstr(r.err, "bound-workload.yaml: document 1: Deployment default/pinned: pod "
                            "template is bound to node ip-10-0-1-23.ec2.internal; its 3 pods "
                            "ignored") != NULL);
    j = parse_plan(&r);
    if (j) {
        sum = json_object_get(j, "summary");
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(sum, "pods")), 1);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(sum, "ignoredPods")), 3);
        CU_ASSERT_PTR_NOT_NULL(claim_of(j, "default/free"));
        CU_ASSERT_PTR_NULL(claim_of(j, "default/pinned-0"));
        json_decref(j);
    }
    run_cleanup(&r);
}

/* Replicas x template size over the budget (128 MiB) is refused before any replica is built:
 * 2,000 replicas of a 100 KiB template would be 200 MB of templates to decode. */
static void test_template_budget(void)
{
    char *big = repeat("x", 100u * 1024u);
    char path[128];
    struct core_buf y;
    struct tests_stoker_run r;
    const char *a[] = {"plan", "-f", NULL, "-f", "@nodepool.yaml", NULL};

    core_buf_init(&y, 1u << 20);
    CU_ASSERT_EQUAL_FATAL(
        core_buf_appendf(&y,
                         "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: big\n"
                         "spec:\n  replicas: %d\n  template:\n    spec:\n      containers:\n"
                         "        - name: a\n          image: x\n          env:\n"
                         "            - name: BLOB\n              value: %s\n",
                         2000, big),
        0);
    a[2] = write_tmp("big.yaml", core_buf_cstr(&y), path, sizeof path);
    run(&r, a);
    report(&r, 2);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(strstr(r.err, "big.yaml: document 1: Deployment default/big: 2000 replicas") !=
              NULL);
    CU_ASSERT(r.out[0] == '\0');
    run_cleanup(&r);
    /* 20 replicas of it are fine. */
    core_buf_reset(&y);
    CU_ASSERT_EQUAL_FATAL(
        core_buf_appendf(&y,
                         "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: big\n"
                         "spec:\n  replicas: 20\n  template:\n    spec:\n      containers:\n"
                         "        - name: a\n          image: x\n          env:\n"
                         "            - name: BLOB\n              value: %s\n",
                         big),
        0);
    a[2] = write_tmp("big.yaml", core_buf_cstr(&y), path, sizeof path);
    run(&r, a);
    report(&r, 0);
    CU_ASSERT_EQUAL(r.status, 0);
    run_cleanup(&r);
    core_buf_cleanup(&y);
    core_free(big);
}

static void test_spot(void)
{
    const char *a[] = {"plan", "-f", "@deployment.yaml", "-f", "@spot-pool.yaml",
                       "--spot-discount", "0.5", "-o", "json", NULL};
    const char *none[] = {"plan", "-f", "@deployment.yaml", "-f", "@spot-pool.yaml", NULL};
    struct tests_stoker_run r;
    json_t *j, *c, *t;
    size_t i, k;

    run(&r, a);
    report(&r, 0);
    CU_ASSERT_EQUAL(r.status, 0);
    j = parse_plan(&r);
    if (j) {
        CU_ASSERT(json_array_size(json_object_get(j, "nodeClaims")) > 0);
        json_array_foreach(json_object_get(j, "nodeClaims"), i, c) {
            json_t *ct = req_values(c, "karpenter.sh/capacity-type");
            CU_ASSERT_PTR_NOT_NULL_FATAL(ct);
            CU_ASSERT_EQUAL(json_array_size(ct), 1);
            CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(ct, 0)), "spot");
            /* Spot at half the on-demand price of the catalog. */
            json_array_foreach(json_object_get(c, "instanceTypes"), k, t) {
                const struct launcher_itype *it =
                    launcher_catalog_find(catalog, json_string_value(json_object_get(t, "name")));
                double p = json_real_value(json_object_get(t, "priceUSDPerHour"));
                CU_ASSERT_PTR_NOT_NULL_FATAL(it);
                CU_ASSERT(p > it->od_price_usd_hr * 0.5 - 1e-6 &&
                          p < it->od_price_usd_hr * 0.5 + 1e-6);
            }
        }
        json_decref(j);
    }
    run_cleanup(&r);
    /* Without spot offerings a spot-only pool serves nothing. */
    run(&r, none);
    report(&r, 3);
    CU_ASSERT_EQUAL(r.status, 3);
    CU_ASSERT(strstr(r.out, "10 unschedulable") != NULL);
    run_cleanup(&r);
}

TESTS_SUITE(cli_plan, "cli_plan", suite_init, suite_cleanup, TESTS_CASE(test_deployment_golden),
            TESTS_CASE(test_gpu_arm), TESTS_CASE(test_volume_zone), TESTS_CASE(test_workloads),
            TESTS_CASE(test_unschedulable), TESTS_CASE(test_input_errors),
            TESTS_CASE(test_catalog), TESTS_CASE(test_usage), TESTS_CASE(test_spot),
            TESTS_CASE(test_missing_name), TESTS_CASE(test_vct_given_claim),
            TESTS_CASE(test_long_names), TESTS_CASE(test_bound_workload),
            TESTS_CASE(test_template_budget))
