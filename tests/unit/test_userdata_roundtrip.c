/*
 * tests/unit/test_userdata_roundtrip.c — suite "userdata_roundtrip": the rendered, gzipped
 * user data read back by independent parsers (Python's gzip, email, PyYAML, tomllib and shlex
 * in tests/data/userdata/roundtrip.py), field by field against the inputs. It catches what a
 * self-consistent writer/reader pair cannot: output only stoker itself understands.
 * Needs python3 with PyYAML (python3-yaml, in the Makefile's DEPS_TEST).
 */
#include "tests/unit/harness.h"

#include "core/core.h"
#include "userdata/userdata.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEST_CA "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJmYWtlCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"
#define ENDPOINT "https://ABCDEF.gr7.us-west-2.eks.amazonaws.com"
#define USER_MIME                                                                             \
    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BOUND\"\r\n\r\n"          \
    "--BOUND\r\nContent-Type: text/cloud-config\r\nContent-Transfer-Encoding: base64\r\n\r\n" \
    "I2Nsb3VkLWNvbmZpZwpydW5jbWQ6IFtsc10K\r\n--BOUND--\r\n"
#define LABELS "karpenter.sh/capacity-type=spot,team=a"

#define ASSERT_JSTR(j, want)                                                                  \
    do {                                                                                      \
        const char *s_ = json_string_value(j);                                                \
        CU_ASSERT(s_ != NULL && strcmp(s_, (want)) == 0);                                     \
        if (!s_ || strcmp(s_, (want)) != 0)                                                   \
            fprintf(stderr, "\n%s:%d: got '%s', want '%s'\n", __FILE__, __LINE__,             \
                    s_ ? s_ : "(null)", (want));                                              \
    } while (0)

struct fx {
    struct k8s_labels labels;
    struct k8s_taint taints[1];
    struct k8s_taint startup[1];
    struct userdata_input in;
};

static void fx_init(struct fx *f, enum k8s_ami_family fam)
{
    memset(f, 0, sizeof *f);
    CU_ASSERT_FATAL(k8s_labels_set(&f->labels, "team", "a") == 0);
    CU_ASSERT_FATAL(k8s_labels_set(&f->labels, "karpenter.sh/capacity-type", "spot") == 0);
    f->taints[0] = (struct k8s_taint){"dedicated", "gpu", K8S_EFFECT_NO_SCHEDULE};
    f->startup[0] = (struct k8s_taint){"init", NULL, K8S_EFFECT_NO_EXECUTE};
    f->in.family = fam;
    f->in.cluster.name = "rt-cluster";
    f->in.cluster.endpoint = ENDPOINT;
    f->in.cluster.ca_bundle = TEST_CA;
    f->in.node.max_pods = 29;
    f->in.node.labels = &f->labels;
    f->in.node.taints = f->taints;
    f->in.node.ntaints = 1;
    f->in.node.startup_taints = f->startup;
    f->in.node.nstartup_taints = 1;
}

/* Renders, writes the gzip bytes to a temp file, runs roundtrip.py on it; NULL on failure. */
static json_t *roundtrip(const struct userdata_input *in)
{
    struct userdata_output o;
    struct core_err err;
    char path[] = "/tmp/stoker-userdata-rt-XXXXXX", cmd[1024];
    struct core_buf out;
    json_t *j = NULL;
    FILE *p;
    int fd;

    if (userdata_build(in, &o, &err) != 0) {
        fprintf(stderr, "\nrender: %s\n", err.message);
        return NULL;
    }
    fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(write(fd, o.gz, o.gz_len) == (ssize_t)o.gz_len);
    close(fd);
    userdata_output_cleanup(&o);
    snprintf(cmd, sizeof cmd, "python3 '%s' '%s'", tests_data_path("userdata/roundtrip.py"), path);
    p = popen(cmd, "r");
    CU_ASSERT_FATAL(p != NULL);
    core_buf_init(&out, 1u << 22);
    for (;;) {
        char chunk[4096];
        size_t n = fread(chunk, 1, sizeof chunk, p);
        if (n == 0)
            break;
        CU_ASSERT_FATAL(core_buf_append(&out, chunk, n) == 0);
    }
    int st = pclose(p);
    unlink(path);
    CU_ASSERT_EQUAL(st, 0);
    if (st == 0)
        j = json_loads(core_buf_cstr(&out), 0, NULL);
    core_buf_cleanup(&out);
    CU_ASSERT_PTR_NOT_NULL(j);
    return j;
}

static json_t *last_part(json_t *j)
{
    json_t *parts = json_object_get(j, "parts");
    size_t n = json_array_size(parts);
    return n ? json_array_get(parts, n - 1) : NULL;
}

static void test_al2023(void)
{
    struct fx f;
    fx_init(&f, K8S_AMI_AL2023);
    f.in.node.user_data = USER_MIME;
    f.in.node.instance_store_raid0 = 1;
    json_t *j = roundtrip(&f.in);
    if (j) {
        ASSERT_JSTR(json_object_get(j, "content_type"), "multipart/mixed");
        CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "parts")), 2);
        json_t *u = json_array_get(json_object_get(j, "parts"), 0);
        ASSERT_JSTR(json_object_get(u, "content_type"), "text/cloud-config");
        ASSERT_JSTR(json_object_get(u, "body"), "#cloud-config\nruncmd: [ls]\n");
        json_t *nc = json_object_get(last_part(j), "nodeconfig");
        ASSERT_JSTR(json_object_get(nc, "apiVersion"), "node.eks.aws/v1alpha1");
        ASSERT_JSTR(json_object_get(nc, "kind"), "NodeConfig");
        json_t *spec = json_object_get(nc, "spec");
        json_t *cl = json_object_get(spec, "cluster");
        ASSERT_JSTR(json_object_get(cl, "name"), "rt-cluster");
        ASSERT_JSTR(json_object_get(cl, "apiServerEndpoint"), ENDPOINT);
        ASSERT_JSTR(json_object_get(cl, "certificateAuthority"), TEST_CA);
        ASSERT_JSTR(json_object_get(cl, "cidr"), "10.100.0.0/16");
        json_t *cfg = json_object_get(json_object_get(spec, "kubelet"), "config");
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(cfg, "maxPods")), 29);
        ASSERT_JSTR(json_array_get(json_object_get(cfg, "clusterDNS"), 0), "10.100.0.10");
        json_t *tw = json_object_get(cfg, "registerWithTaints");
        CU_ASSERT_EQUAL(json_array_size(tw), 3);
        ASSERT_JSTR(json_object_get(json_array_get(tw, 0), "key"), "dedicated");
        ASSERT_JSTR(json_object_get(json_array_get(tw, 0), "value"), "gpu");
        ASSERT_JSTR(json_object_get(json_array_get(tw, 0), "effect"), "NoSchedule");
        ASSERT_JSTR(json_object_get(json_array_get(tw, 1), "key"), "init");
        CU_ASSERT_PTR_NULL(json_object_get(json_array_get(tw, 1), "value"));
        ASSERT_JSTR(json_object_get(json_array_get(tw, 2), "key"), USERDATA_STARTUP_TAINT_KEY);
        ASSERT_JSTR(json_object_get(json_array_get(tw, 2), "effect"), "NoExecute");
        ASSERT_JSTR(json_array_get(json_object_get(json_object_get(spec, "kubelet"), "flags"), 0),
                    "--node-labels=" LABELS);
        ASSERT_JSTR(json_object_get(json_object_get(json_object_get(spec, "instance"),
                                                    "localStorage"),
                                    "strategy"),
                    "RAID0");
    }
    json_decref(j);
    k8s_labels_cleanup(&f.labels);
}

static void test_al2(void)
{
    struct fx f;
    fx_init(&f, K8S_AMI_AL2);
    f.in.node.user_data = "#!/bin/bash\necho 'it''s' \"$HOME\"\n";
    f.in.cluster.cluster_dns = "172.20.0.10";
    json_t *j = roundtrip(&f.in);
    if (j) {
        json_t *parts = json_object_get(j, "parts");
        CU_ASSERT_EQUAL(json_array_size(parts), 2);
        ASSERT_JSTR(json_object_get(json_array_get(parts, 0), "body"), f.in.node.user_data);
        json_t *b = json_object_get(last_part(j), "bootstrap");
        json_t *a = json_object_get(b, "args");
        ASSERT_JSTR(json_object_get(b, "cluster"), "rt-cluster");
        ASSERT_JSTR(json_object_get(a, "--apiserver-endpoint"), ENDPOINT);
        ASSERT_JSTR(json_object_get(a, "--b64-cluster-ca"), TEST_CA);
        ASSERT_JSTR(json_object_get(a, "--dns-cluster-ip"), "172.20.0.10");
        ASSERT_JSTR(json_object_get(a, "--use-max-pods"), "false");
        json_t *k = json_object_get(b, "kubelet");
        CU_ASSERT_EQUAL(json_array_size(k), 3);
        ASSERT_JSTR(json_array_get(k, 0), "--node-labels=" LABELS);
        ASSERT_JSTR(json_array_get(k, 1),
                    "--register-with-taints=dedicated=gpu:NoSchedule,init:NoExecute,"
                    USERDATA_STARTUP_TAINT_KEY ":NoExecute");
        ASSERT_JSTR(json_array_get(k, 2), "--max-pods=29");
    }
    json_decref(j);
    k8s_labels_cleanup(&f.labels);
}

static void test_bottlerocket(void)
{
    struct fx f;
    fx_init(&f, K8S_AMI_BOTTLEROCKET);
    f.in.node.user_data = "[settings.kubernetes.node-labels]\nteam = \"user\"\nuser = \"x\"\n";
    json_t *j = roundtrip(&f.in);
    if (j) {
        ASSERT_JSTR(json_object_get(j, "format"), "toml");
        json_t *k = json_object_get(json_object_get(json_object_get(j, "toml"), "settings"),
                                    "kubernetes");
        ASSERT_JSTR(json_object_get(k, "cluster-name"), "rt-cluster");
        ASSERT_JSTR(json_object_get(k, "api-server"), ENDPOINT);
        ASSERT_JSTR(json_object_get(k, "cluster-certificate"), TEST_CA);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(k, "max-pods")), 29);
        json_t *l = json_object_get(k, "node-labels");
        ASSERT_JSTR(json_object_get(l, "team"), "a"); /* the controller wins per key */
        ASSERT_JSTR(json_object_get(l, "user"), "x");
        ASSERT_JSTR(json_object_get(l, "karpenter.sh/capacity-type"), "spot");
        CU_ASSERT_PTR_NOT_NULL(json_object_get(json_object_get(k, "node-taints"), "dedicated"));
        CU_ASSERT_PTR_NOT_NULL(
            json_object_get(json_object_get(k, "node-taints"), USERDATA_STARTUP_TAINT_KEY));
    }
    json_decref(j);
    k8s_labels_cleanup(&f.labels);
}

TESTS_SUITE(userdata_roundtrip, "userdata_roundtrip", NULL, NULL, TESTS_CASE(test_al2023),
            TESTS_CASE(test_al2), TESTS_CASE(test_bottlerocket))
