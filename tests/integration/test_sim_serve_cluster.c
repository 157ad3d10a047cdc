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
#include "tests/integration/simproc.h"
#include "tests/unit/harness.h"

#include "core/core.h"
#include "userdata/userdata.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KUBECTL ((char *)(uintptr_t)tests_kubectl())
#define CLI_TIMEOUT_S 60
#define NODE_DEADLINE_S 20
#define TEST_CA "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJmYWtlCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"
#define AMI_PARAM "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/" \
                  "recommended/image_id"

extern char **environ;

/* Runs argv (argv[0] an absolute path) with the clients' environment; stdout into *out. The
 * exit status, or -1. */
static int run(struct tests_sim *s, char *const *argv, struct core_buf *out)
{
    char errpath[128];
    int rc = -1;

    snprintf(errpath, sizeof errpath, "%s/client.err", s->dir);
    if (tests_run(argv, s->envp, errpath, CLI_TIMEOUT_S, out, &rc) != 0)
        return -1;
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
    struct tests_sim s;
    struct core_buf out;
    struct userdata_input in;
    struct userdata_output ud;
    struct core_err err;
    char ami[64], id[32], dns[96], ud_param[USERDATA_EC2_MAX * 2], crds[4096];
    /* The boot model shortened so the whole path takes well under a second. */
    const char *const serve_args[] = {"--crds", crds, "--boot", "launch=200ms/0", "--boot",
                                      "join_cold=300ms/0", "--boot", "ready=100ms/0", NULL};
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

    core_strlcpy(crds, tests_data_path("../../deploy/crds"), sizeof crds);
    if (tests_sim_start(&s, "sim-cluster", serve_args) != 0) {
        CU_FAIL("stoker sim serve did not start");
        (void)tests_sim_stop(&s);
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
    deadline = tests_now() + NODE_DEADLINE_S;
    while (!ready && tests_now() < deadline) {
        char *argv[] = {KUBECTL, "--kubeconfig", s.kube_path, "--request-timeout=10s", "get",
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
    CU_ASSERT_EQUAL(tests_sim_stop(&s), 0);
}

/* A bad --node-on-stop is a usage error naming the flag, before anything is served. */
static void test_bad_node_on_stop(void)
{
    char dir[] = "/tmp/stoker-sim-cluster-XXXXXX", errpath[96];
    char *argv[] = {(char *)tests_stoker_bin(), "sim", "serve", "--listen", "127.0.0.1:0",
                    "--node-on-stop", "sometimes", NULL};
    struct core_buf out;
    char *e;
    int rc = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(errpath, sizeof errpath, "%s/err", dir);
    core_buf_init(&out, 1u << 20);
    CU_ASSERT_EQUAL(tests_run(argv, environ, errpath, CLI_TIMEOUT_S, &out, &rc), 0);
    CU_ASSERT_EQUAL(rc, 2);
    e = tests_read_file(errpath, NULL);
    CU_ASSERT(e && strstr(e, "--node-on-stop: expected delete or notready"));
    core_free(e);
    core_buf_cleanup(&out);
    tests_rmtree(dir);
}

TESTS_SUITE(sim_serve_cluster, "sim_serve_cluster", NULL, NULL,
            TESTS_CASE(test_node_registers_and_turns_ready), TESTS_CASE(test_bad_node_on_stop));
