/*
 * tests/integration/test_cli_ami_userdata.c — the built `stoker ami resolve` and `stoker
 * userdata render` binaries as child processes: ami resolve against `stoker sim serve` (also a
 * child, on a free loopback port, its env file giving the endpoint, region and keys), userdata
 * render offline over the example manifests in tests/data/manifests.
 *
 * The children get a minimal environment: PATH, HOME and KUBECONFIG inside a fresh temporary
 * directory (so no kubeconfig of the machine is ever read) plus the env file's variables.
 * Output is checked for content (rows, ids, labels, messages), not only exit codes. Every wait
 * is bounded; the server must exit 0 on SIGTERM.
 */
#include "tests/integration/simproc.h"
#include "tests/unit/harness.h"

#include "core/core.h"

#include <stdio.h>
#include <string.h>

#define RUN_TIMEOUT_S 60
/* Base64 of a PEM-looking text (not a real certificate: nothing parses it here). */
#define FAKE_CA "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJmYWtlCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"
#define ENDPOINT "https://ABC.gr7.us-east-1.eks.amazonaws.com"

static struct tests_sim sim;

/* The result of one run of the stoker binary. */

static int suite_init(void)
{
    char kcfg[128];

    if (tests_sim_start(&sim, "cli-ami", NULL) != 0) {
        (void)tests_sim_stop(&sim);
        return -1;
    }
    /* A kubeconfig that does not exist, so none of the machine's is ever read. */
    snprintf(kcfg, sizeof kcfg, "%s/no-kubeconfig", sim.dir);
    if (tests_sim_setenv(&sim, "KUBECONFIG", kcfg) != 0) {
        (void)tests_sim_stop(&sim);
        return -1;
    }
    return 0;
}

static int suite_cleanup(void)
{
    return tests_sim_stop(&sim) == 0 ? 0 : -1;
}

/* Runs `stoker ARGS...` (NULL-terminated) with the suite's environment. */
static void run(struct tests_stoker_run *r, const char *const *args)
{
    tests_stoker_run(r, args, sim.envp, sim.dir, RUN_TIMEOUT_S);
}

static void run_cleanup(struct tests_stoker_run *r)
{
    tests_stoker_run_cleanup(r);
}

/* Table rows (lines after the header) of `ami resolve` output. */
static size_t rows(const char *out)
{
    size_t n = 0;
    const char *l = out;

    if (strncmp(out, "AMI ID", 6) != 0)
        return 0;
    while ((l = strchr(l, '\n')) != NULL) {
        l++;
        if (*l) {
            CU_ASSERT(strncmp(l, "ami-", 4) == 0);
            n++;
        }
    }
    return n;
}

/* Whether some row (line) holds both words. */
static int row_has(const char *out, const char *a, const char *b)
{
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        size_t len = strcspn(l, "\n");
        char line[512];
        if (len >= sizeof line)
            continue;
        memcpy(line, l, len);
        line[len] = '\0';
        if (strstr(line, a) && strstr(line, b))
            return 1;
    }
    return 0;
}

static void report(const struct tests_stoker_run *r, int want)
{
    if (r->status != want)
        fprintf(stderr, "\n  exit %d (want %d)\n  stdout: %s\n  stderr: %s\n", r->status, want,
                r->out, r->err);
}

static void test_ami_family(void)
{
    const char *a[] = {"ami", "resolve", "--family", "al2023", "--k8s-version", "1.31", NULL};
    struct tests_stoker_run r;

    run(&r, a);
    report(&r, 0);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_EQUAL(rows(r.out), 5);
    CU_ASSERT(strstr(r.out, "CREATED") && strstr(r.out, "DEPRECATED") && strstr(r.out, "SOURCE"));
    CU_ASSERT(row_has(r.out, "amd64", "standard"));
    CU_ASSERT(row_has(r.out, "amd64", "nvidia"));
    CU_ASSERT(row_has(r.out, "amd64", "neuron"));
    CU_ASSERT(row_has(r.out, "arm64", "standard"));
    CU_ASSERT(row_has(r.out, "arm64", "nvidia"));
    CU_ASSERT(!row_has(r.out, "arm64", "neuron"));
    CU_ASSERT(row_has(r.out, "amazon-eks-node-al2023-x86_64-standard-1.31-",
                      "ssm:/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard"));
    run_cleanup(&r);
}

static void test_ami_filter(void)
{
    const char *a[] = {"ami", "resolve", "--family", "al2023", "--k8s-version", "1.31",
                       "--arch", "arm64", "--variant", "nvidia", NULL};
    const char *none[] = {"ami", "resolve", "--family", "al2023", "--k8s-version", "1.31",
                          "--arch", "arm64", "--variant", "neuron", NULL};
    struct tests_stoker_run r;

    run(&r, a);
    report(&r, 0);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_EQUAL(rows(r.out), 1);
    CU_ASSERT(row_has(r.out, "arm64", "amazon-eks-node-al2023-arm64-nvidia-1.31-"));
    CU_ASSERT(!row_has(r.out, "amd64", "ami-"));
    run_cleanup(&r);
    /* Nothing left after filtering is a failure that says so. */
    run(&r, none);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT(strstr(r.err, "none of the 5 resolved images") != NULL);
    run_cleanup(&r);
}

static void test_ami_unsupported(void)
{
    const char *a[] = {"ami", "resolve", "--family", "al2", "--k8s-version", "1.33", NULL};
    struct tests_stoker_run r;

    run(&r, a);
    report(&r, 1);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT(strstr(r.err, "al2023") != NULL);
    CU_ASSERT(strstr(r.err, "AliasUnsupported") != NULL);
    CU_ASSERT(r.out[0] == '\0');
    run_cleanup(&r);
}

static void test_ami_file(void)
{
    const char *a[] = {"ami", "resolve", "-f", NULL, "--k8s-version", "1.31", NULL};
    char path[512];
    struct tests_stoker_run r;

    core_strlcpy(path, tests_data_path("manifests/nodeclass-al2023.yaml"), sizeof path);
    a[3] = path;
    run(&r, a);
    report(&r, 0);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_EQUAL(rows(r.out), 5);
    CU_ASSERT(row_has(r.out, "arm64", "standard"));
    run_cleanup(&r);
}

static void test_ami_no_version_no_server(void)
{
    const char *a[] = {"ami", "resolve", "--family", "al2023", NULL};
    struct tests_stoker_run r;

    run(&r, a);
    report(&r, 1);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT(strstr(r.err, "--k8s-version is required when no API server is reachable: ") !=
              NULL);
    CU_ASSERT(strstr(r.err, "no-kubeconfig") != NULL); /* the reason names the file */
    run_cleanup(&r);
}

static void test_ami_usage(void)
{
    const char *bad_arch[] = {"ami", "resolve", "--family", "al2023", "--k8s-version", "1.31",
                              "--arch", "x86", NULL};
    const char *neither[] = {"ami", "resolve", "--k8s-version", "1.31", NULL};
    const char *bad_k8s[] = {"ami", "resolve", "--family", "al2023", "--k8s-version", "v1", NULL};
    struct tests_stoker_run r;

    run(&r, bad_arch);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(strstr(r.err, "--arch") != NULL);
    run_cleanup(&r);
    run(&r, neither);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(strstr(r.err, "--family") != NULL);
    run_cleanup(&r);
    run(&r, bad_k8s);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(strstr(r.err, "--k8s-version") != NULL);
    run_cleanup(&r);
}

static void test_userdata_render(void)
{
    const char *a[] = {"userdata", "render", "-f", NULL, "--nodepool", NULL, "--cluster-name",
                       "demo", "--endpoint", ENDPOINT, "--ca", FAKE_CA, "--decode", NULL};
    char nc[512], np[512];
    struct tests_stoker_run r;

    core_strlcpy(nc, tests_data_path("manifests/nodeclass-al2023.yaml"), sizeof nc);
    core_strlcpy(np, tests_data_path("manifests/nodepool-general.yaml"), sizeof np);
    a[3] = nc;
    a[5] = np;
    run(&r, a);
    report(&r, 0);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT(strstr(r.out, "kind: NodeConfig") != NULL);
    CU_ASSERT(strstr(r.out, ENDPOINT) != NULL);
    CU_ASSERT(strstr(r.out, FAKE_CA) != NULL);
    /* The NodePool's labels and taints, and the NodeClaim's well-known labels. */
    CU_ASSERT(strstr(r.out, "team=web") != NULL);
    CU_ASSERT(strstr(r.out, "example.com/tier=frontend") != NULL);
    CU_ASSERT(strstr(r.out, "karpenter.sh/nodepool=general") != NULL);
    CU_ASSERT(strstr(r.out, "node.kubernetes.io/instance-type=m5.large") != NULL);
    CU_ASSERT(strstr(r.out, "kubernetes.io/arch=amd64") != NULL);
    CU_ASSERT(strstr(r.out, "karpenter.sh/capacity-type=on-demand") != NULL);
    CU_ASSERT(strstr(r.out, "dedicated") != NULL);
    CU_ASSERT(strstr(r.out, "example.com/agent-not-ready") != NULL);
    /* m5.large: 29 pods by its ENIs, capped by the EC2NodeClass's podsPerCore 10 x 2 vCPUs. */
    CU_ASSERT(strstr(r.out, "maxPods: 20") != NULL);
    CU_ASSERT(strstr(r.err, "# sizes: raw=") != NULL && strstr(r.err, "limit=16384") != NULL);
    run_cleanup(&r);

    /* Without --decode: one line of base64 of a gzip stream ("H4sI"). */
    a[12] = NULL;
    run(&r, a);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT(strncmp(r.out, "H4sI", 4) == 0);
    CU_ASSERT(strspn(r.out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") ==
              strlen(r.out) - 1);
    run_cleanup(&r);
}

static void test_userdata_errors(void)
{
    const char *no_ca[] = {"userdata", "render", "-f", NULL, "--cluster-name", "demo",
                           "--endpoint", ENDPOINT, NULL};
    const char *bad[] = {"userdata", "render", "-f", NULL, "--cluster-name", "demo",
                         "--endpoint", ENDPOINT, "--ca", FAKE_CA, NULL};
    const char *usage[] = {"userdata", "render", "-f", NULL, "--phase", "boot", NULL};
    char nc[512], badp[512], badf[512];
    struct tests_stoker_run r;

    core_strlcpy(nc, tests_data_path("manifests/nodeclass-al2023.yaml"), sizeof nc);
    core_strlcpy(badp, tests_data_path("manifests/nodeclass-bad-yaml.yaml"), sizeof badp);
    core_strlcpy(badf, tests_data_path("manifests/nodeclass-bad-field.yaml"), sizeof badf);
    no_ca[3] = nc;
    run(&r, no_ca);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT(strstr(r.err, "--ca") != NULL);
    CU_ASSERT(r.out[0] == '\0');
    run_cleanup(&r);

    bad[3] = badp;
    run(&r, bad);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT(strstr(r.err, "nodeclass-bad-yaml.yaml: line 9 column ") != NULL);
    run_cleanup(&r);

    bad[3] = badf;
    run(&r, bad);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT(strstr(r.err, "nodeclass-bad-field.yaml") != NULL);
    CU_ASSERT(strstr(r.err, "spec.kubelet.maxPods") != NULL);
    run_cleanup(&r);

    /* A CA that is not base64: the module's field mapped back to the flag. */
    bad[3] = nc;
    bad[9] = "not base64!";
    run(&r, bad);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT(strstr(r.err, "--ca: cluster.caBundle") != NULL);
    run_cleanup(&r);

    usage[3] = nc;
    run(&r, usage);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(strstr(r.err, "--phase") != NULL);
    run_cleanup(&r);
}

TESTS_SUITE(cli_ami_userdata, "cli_ami_userdata", suite_init, suite_cleanup,
            TESTS_CASE(test_ami_family), TESTS_CASE(test_ami_filter),
            TESTS_CASE(test_ami_unsupported), TESTS_CASE(test_ami_file),
            TESTS_CASE(test_ami_no_version_no_server), TESTS_CASE(test_ami_usage),
            TESTS_CASE(test_userdata_render), TESTS_CASE(test_userdata_errors))
