/*
 * tests/unit/test_userdata.c — the userdata module (suite "userdata"): golden renderings per
 * family and kind of user input, the validation errors, the 16 KiB limit, determinism of the
 * gzip bytes, and inspect(render(x)) giving the inputs back.
 *
 * Golden files live in tests/data/userdata/ and are compared byte for byte. After an intended
 * change of a rendering, rewrite them with
 *     STOKER_UPDATE_GOLDEN=1 ./build/default/stoker-tests userdata
 * and review the diff: that diff is the change the instances will see.
 */
#include "tests/unit/harness.h"

#include "core/core.h"
#include "userdata/internal.h"
#include "userdata/userdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* base64 of "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n" */
#define TEST_CA "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJmYWtlCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"

#define USER_SCRIPT "#!/bin/bash\necho hello from the user\n"
#define USER_NODECONFIG                                                                       \
    "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n"   \
    "      shutdownGracePeriod: 30s\n"
#define USER_MIME                                                                             \
    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BOUND\r\n\r\n"              \
    "--BOUND\r\nContent-Type: text/x-shellscript\r\n\r\n#!/bin/sh\r\necho one\r\n"            \
    "--BOUND\r\nContent-Type: text/cloud-config\r\nContent-Transfer-Encoding: base64\r\n\r\n" \
    "I2Nsb3VkLWNvbmZpZwpydW5jbWQ6IFtsc10K\r\n--BOUND--\r\n"
#define USER_PS "<powershell>\nWrite-Output 'user step'\n</powershell>"

struct fx {
    struct k8s_labels labels;
    struct k8s_taint taints[2];
    struct k8s_taint startup[1];
    struct k8s_kubelet kubelet;
    const char *images[2];
    struct userdata_input in;
};

static void fx_init(struct fx *f, enum k8s_ami_family fam)
{
    memset(f, 0, sizeof *f);
    CU_ASSERT_FATAL(k8s_labels_set(&f->labels, "team", "a") == 0);
    CU_ASSERT_FATAL(k8s_labels_set(&f->labels, "karpenter.sh/nodepool", "default") == 0);
    CU_ASSERT_FATAL(k8s_labels_set(&f->labels, "karpenter.sh/capacity-type", "spot") == 0);
    f->taints[0] = (struct k8s_taint){"dedicated", "gpu", K8S_EFFECT_NO_SCHEDULE};
    f->taints[1] = (struct k8s_taint){"example.com/flag", NULL, K8S_EFFECT_PREFER_NO_SCHEDULE};
    f->startup[0] = (struct k8s_taint){"cilium.io/agent-not-ready", "true",
                                       K8S_EFFECT_NO_EXECUTE};
    f->images[0] = "public.ecr.aws/eks-distro/kubernetes/pause:3.9";
    f->images[1] = "registry.k8s.io/coredns/coredns@sha256:0123abcd";
    f->in.family = fam;
    f->in.phase = USERDATA_JOIN;
    f->in.cluster.name = "test-cluster";
    f->in.cluster.endpoint = "https://ABCDEF.gr7.us-west-2.eks.amazonaws.com";
    f->in.cluster.ca_bundle = TEST_CA;
    f->in.cluster.service_cidr = "10.100.0.0/16";
    f->in.node.max_pods = 58;
    f->in.node.labels = &f->labels;
    f->in.node.taints = f->taints;
    f->in.node.ntaints = 2;
    f->in.node.startup_taints = f->startup;
    f->in.node.nstartup_taints = 1;
    f->in.warm.images = f->images;
    f->in.warm.nimages = 2;
    f->in.warm.hydrate_root_volume = 1;
}

static void fx_cleanup(struct fx *f)
{
    k8s_labels_cleanup(&f->labels);
    k8s_labels_cleanup(&f->kubelet.eviction_hard);
    k8s_labels_cleanup(&f->kubelet.eviction_soft);
    k8s_labels_cleanup(&f->kubelet.eviction_soft_grace_period);
    k8s_res_cleanup(&f->kubelet.system_reserved);
    k8s_res_cleanup(&f->kubelet.kube_reserved);
    k8s_strings_cleanup(&f->kubelet.cluster_dns);
}

/* A kubelet block exercising every field. */
static void fx_kubelet(struct fx *f)
{
    struct k8s_kubelet *k = &f->kubelet;
    CU_ASSERT_FATAL(k8s_res_set(&k->system_reserved, "cpu", 100) == 0);
    CU_ASSERT_FATAL(k8s_res_set(&k->system_reserved, "memory", 100LL * 1024 * 1024 * 1000) == 0);
    CU_ASSERT_FATAL(k8s_res_set(&k->kube_reserved, "ephemeral-storage", (1LL << 30) * 1000) == 0);
    CU_ASSERT_FATAL(k8s_labels_set(&k->eviction_hard, "memory.available", "100Mi") == 0);
    CU_ASSERT_FATAL(k8s_labels_set(&k->eviction_hard, "nodefs.available", "10%") == 0);
    CU_ASSERT_FATAL(k8s_labels_set(&k->eviction_soft, "memory.available", "500Mi") == 0);
    CU_ASSERT_FATAL(k8s_labels_set(&k->eviction_soft_grace_period, "memory.available", "1m30s") ==
                    0);
    k->eviction_max_pod_grace_period = 60;
    k->has_eviction_max_pod_grace_period = 1;
    k->image_gc_high = 85;
    k->has_image_gc_high = 1;
    k->image_gc_low = 80;
    k->has_image_gc_low = 1;
    k->cpu_cfs_quota = 1;
    k->has_cpu_cfs_quota = 1;
    f->in.node.kubelet = k;
}

static int render(const struct userdata_input *in, struct core_buf *b, struct core_err *err)
{
    core_buf_init(b, USERDATA_RAW_MAX);
    memset(err, 0, sizeof *err);
    return userdata_render(in, b, err);
}

static void check_golden(const char *name, const struct core_buf *b)
{
    char rel[128];
    const char *path;
    snprintf(rel, sizeof rel, "userdata/%s", name);
    path = tests_data_path(rel);
    if (getenv("STOKER_UPDATE_GOLDEN")) {
        FILE *fp = fopen(path, "wb");
        CU_ASSERT_FATAL(fp != NULL);
        CU_ASSERT(fwrite(b->data, 1, b->len, fp) == b->len);
        CU_ASSERT(fclose(fp) == 0);
        return;
    }
    size_t len = 0;
    char *want = tests_read_file(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    CU_ASSERT(len == b->len && memcmp(want, b->data, len) == 0);
    if (len != b->len || memcmp(want, b->data, len) != 0)
        fprintf(stderr, "\ngolden mismatch: %s (rerun with STOKER_UPDATE_GOLDEN=1 to see)\n",
                name);
    free(want);
}

static void golden_case(enum k8s_ami_family fam, enum userdata_phase phase, const char *user,
                        int kubelet, const char *name)
{
    struct fx f;
    struct core_buf b;
    struct core_err err;
    fx_init(&f, fam);
    if (kubelet)
        fx_kubelet(&f);
    f.in.phase = phase;
    f.in.node.user_data = user;
    int rc = render(&f.in, &b, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n%s: %s\n", name, err.message);
    else
        check_golden(name, &b);
    core_buf_cleanup(&b);
    fx_cleanup(&f);
}

static void test_golden_al2023(void)
{
    golden_case(K8S_AMI_AL2023, USERDATA_JOIN, NULL, 0, "al2023_none.txt");
    golden_case(K8S_AMI_AL2023, USERDATA_JOIN, USER_MIME, 0, "al2023_mime.txt");
    golden_case(K8S_AMI_AL2023, USERDATA_JOIN, USER_NODECONFIG, 0, "al2023_nodeconfig.txt");
    golden_case(K8S_AMI_AL2023, USERDATA_JOIN, USER_SCRIPT, 1, "al2023_script_kubelet.txt");
    golden_case(K8S_AMI_AL2023, USERDATA_WARM, USER_SCRIPT, 0, "al2023_warm.txt");
}

static void test_golden_al2(void)
{
    golden_case(K8S_AMI_AL2, USERDATA_JOIN, NULL, 0, "al2_none.txt");
    golden_case(K8S_AMI_AL2, USERDATA_JOIN, USER_MIME, 0, "al2_mime.txt");
    golden_case(K8S_AMI_AL2, USERDATA_JOIN, USER_SCRIPT, 1, "al2_script_kubelet.txt");
}

static void test_golden_windows(void)
{
    golden_case(K8S_AMI_WINDOWS2022, USERDATA_JOIN, NULL, 0, "windows_none.txt");
    golden_case(K8S_AMI_WINDOWS2022, USERDATA_JOIN, USER_PS, 0, "windows_powershell.txt");
    golden_case(K8S_AMI_WINDOWS2019, USERDATA_JOIN, "Write-Output 'plain'\n", 1,
                "windows_plain_kubelet.txt");
}

static void test_custom(void)
{
    struct fx f;
    struct core_buf b;
    struct core_err err;
    fx_init(&f, K8S_AMI_CUSTOM);
    f.in.node.user_data = "anything at all\n";
    CU_ASSERT_EQUAL(render(&f.in, &b, &err), 0);
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&b), "anything at all\n");
    core_buf_cleanup(&b);
    f.in.node.user_data = NULL;
    CU_ASSERT_EQUAL(render(&f.in, &b, &err), 0);
    CU_ASSERT_EQUAL(b.len, 0);
    core_buf_cleanup(&b);
    f.in.phase = USERDATA_WARM;
    CU_ASSERT_EQUAL(render(&f.in, &b, &err), CORE_E_UNSUPPORTED);
    CU_ASSERT_EQUAL(b.len, 0);
    core_buf_cleanup(&b);
    f.in.family = K8S_AMI_BOTTLEROCKET;
    CU_ASSERT_EQUAL(render(&f.in, &b, &err), CORE_E_UNSUPPORTED);
    core_buf_cleanup(&b);
    f.in.phase = USERDATA_JOIN;
    f.in.node.instance_store_raid0 = 1;
    CU_ASSERT_EQUAL(render(&f.in, &b, &err), CORE_E_UNSUPPORTED);
    CU_ASSERT(strstr(err.message, "RAID0") != NULL);
    core_buf_cleanup(&b);
    fx_cleanup(&f);
}

/* One bad input: CORE_E_INVAL (or code), a message containing what, nothing appended. */
static void expect_bad(struct fx *f, int code, const char *what)
{
    struct core_buf b;
    struct core_err err;
    int rc = render(&f->in, &b, &err);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT(strstr(err.message, what) != NULL);
    if (rc != code || !strstr(err.message, what))
        fprintf(stderr, "\nexpected %d '%s', got %d '%s'\n", code, what, rc, err.message);
    core_buf_cleanup(&b);
}

static void test_errors(void)
{
    struct fx f;
    struct k8s_taint bad_taint = {"bad key", NULL, K8S_EFFECT_NO_SCHEDULE};
    struct k8s_labels bad_labels = {0};
    const char *bad_image[1] = {"evil'; rm -rf /"};

#define RESET(fam) do { fx_cleanup(&f); fx_init(&f, fam); } while (0)
    fx_init(&f, K8S_AMI_AL2023);
    f.in.family = (enum k8s_ami_family)99;
    expect_bad(&f, CORE_E_INVAL, "family");
    RESET(K8S_AMI_AL2023);
    f.in.cluster.name = NULL;
    expect_bad(&f, CORE_E_INVAL, "cluster.name");
    RESET(K8S_AMI_AL2023);
    f.in.cluster.endpoint = NULL;
    expect_bad(&f, CORE_E_INVAL, "cluster.endpoint");
    RESET(K8S_AMI_AL2023);
    f.in.cluster.endpoint = "http://plain.example.com";
    expect_bad(&f, CORE_E_INVAL, "cluster.endpoint");
    RESET(K8S_AMI_AL2023);
    f.in.cluster.ca_bundle = NULL;
    expect_bad(&f, CORE_E_INVAL, "cluster.caBundle");
    RESET(K8S_AMI_AL2023);
    f.in.cluster.ca_bundle = "not base64!";
    expect_bad(&f, CORE_E_INVAL, "cluster.caBundle");
    RESET(K8S_AMI_AL2023);
    f.in.cluster.ca_bundle = "aGVsbG8gd29ybGQ="; /* base64 but not PEM */
    expect_bad(&f, CORE_E_INVAL, "cluster.caBundle");
    RESET(K8S_AMI_AL2023);
    f.in.cluster.service_cidr = "10.100.0.0/33";
    expect_bad(&f, CORE_E_INVAL, "cluster.serviceCIDR");
    RESET(K8S_AMI_AL2023);
    f.in.cluster.cluster_dns = "10.100.0.x";
    expect_bad(&f, CORE_E_INVAL, "cluster.clusterDNS");
    RESET(K8S_AMI_AL2023);
    f.in.node.max_pods = 0;
    expect_bad(&f, CORE_E_INVAL, "node.maxPods");
    RESET(K8S_AMI_AL2023);
    f.in.node.max_pods = USERDATA_MAX_PODS + 1;
    expect_bad(&f, CORE_E_INVAL, "node.maxPods");
    RESET(K8S_AMI_AL2023);
    f.in.node.taints = &bad_taint;
    f.in.node.ntaints = 1;
    expect_bad(&f, CORE_E_INVAL, "node.taints[0].key");
    RESET(K8S_AMI_AL2023);
    CU_ASSERT_FATAL(k8s_labels_set(&bad_labels, "a", "x\"y") == 0);
    f.in.node.labels = &bad_labels;
    expect_bad(&f, CORE_E_INVAL, "node.labels[a]");
    k8s_labels_cleanup(&bad_labels);

    /* kubelet */
    RESET(K8S_AMI_AL2023);
    fx_kubelet(&f);
    CU_ASSERT_FATAL(k8s_strings_contains(&f.kubelet.cluster_dns, "x") == 0);
    f.kubelet.cluster_dns.v = core_calloc(2, sizeof(char *));
    f.kubelet.cluster_dns.v[0] = core_strdup("10.100.0.10");
    f.kubelet.cluster_dns.v[1] = core_strdup("fd00::zz");
    f.kubelet.cluster_dns.n = 2;
    expect_bad(&f, CORE_E_INVAL, "spec.kubelet.clusterDNS[1]");
    RESET(K8S_AMI_AL2023);
    fx_kubelet(&f);
    f.kubelet.max_pods = USERDATA_MAX_PODS + 1;
    f.kubelet.has_max_pods = 1;
    expect_bad(&f, CORE_E_INVAL, "spec.kubelet.maxPods");
    RESET(K8S_AMI_AL2023);
    fx_kubelet(&f);
    CU_ASSERT_FATAL(k8s_labels_set(&f.kubelet.eviction_hard, "memory.free", "1Gi") == 0);
    expect_bad(&f, CORE_E_INVAL, "evictionHard[memory.free]");
    RESET(K8S_AMI_AL2023);
    fx_kubelet(&f);
    CU_ASSERT_FATAL(k8s_labels_set(&f.kubelet.eviction_hard, "memory.available", "lots") == 0);
    expect_bad(&f, CORE_E_INVAL, "evictionHard[memory.available]");
    RESET(K8S_AMI_AL2023);
    fx_kubelet(&f);
    CU_ASSERT_FATAL(k8s_labels_set(&f.kubelet.eviction_soft_grace_period, "memory.available",
                                   "soon") == 0);
    expect_bad(&f, CORE_E_INVAL, "evictionSoftGracePeriod[memory.available]");
    RESET(K8S_AMI_AL2023);
    fx_kubelet(&f);
    f.kubelet.image_gc_low = 90;
    expect_bad(&f, CORE_E_INVAL, "imageGCLowThresholdPercent");
    RESET(K8S_AMI_AL2023);
    fx_kubelet(&f);
    f.kubelet.image_gc_high = 101;
    expect_bad(&f, CORE_E_INVAL, "imageGCHighThresholdPercent");
    RESET(K8S_AMI_AL2023);
    fx_kubelet(&f);
    CU_ASSERT_FATAL(k8s_res_set(&f.kubelet.kube_reserved, "nvidia.com/gpu", 1000) == 0);
    expect_bad(&f, CORE_E_INVAL, "kubeReserved[nvidia.com/gpu]");

    /* user data */
    RESET(K8S_AMI_AL2023);
    f.in.node.user_data = "just some text";
    expect_bad(&f, CORE_E_INVAL, "spec.userData: expected a MIME multipart document");
    f.in.node.user_data = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\n\n"
                          "--x\nContent-Type: application/node.eks.aws\n\nkind: [\n--x--\n";
    expect_bad(&f, CORE_E_INVAL, "part 1: not a NodeConfig");
    f.in.node.user_data = "MIME-Version: 1.0\nContent-Type: multipart/mixed\n\n--x\n\nbody\n--x--\n";
    expect_bad(&f, CORE_E_INVAL, "without a boundary");
    f.in.node.user_data = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\n\n"
                          "--x\n\nbody\n";
    expect_bad(&f, CORE_E_INVAL, "spec.userData");
    RESET(K8S_AMI_AL2);
    f.in.node.user_data = USER_NODECONFIG;
    expect_bad(&f, CORE_E_INVAL, "AL2023 only");

    /* warm */
    RESET(K8S_AMI_AL2023);
    f.in.phase = USERDATA_WARM;
    f.in.warm.images = bad_image;
    f.in.warm.nimages = 1;
    expect_bad(&f, CORE_E_INVAL, "warm.images[0]");
    /* Only AL2023 reads its user data again on the join boot. */
    RESET(K8S_AMI_WINDOWS2022);
    f.in.phase = USERDATA_WARM;
    expect_bad(&f, CORE_E_UNSUPPORTED, "only al2023");
    RESET(K8S_AMI_AL2);
    f.in.phase = USERDATA_WARM;
    expect_bad(&f, CORE_E_UNSUPPORTED, "only al2023");
    RESET(K8S_AMI_BOTTLEROCKET);
    f.in.phase = USERDATA_WARM;
    expect_bad(&f, CORE_E_UNSUPPORTED, "only al2023");
    fx_cleanup(&f);
#undef RESET
}

/* A PRNG-filled script: incompressible, so its gzip is about as large as itself. */
static void test_too_big(void)
{
    struct fx f;
    struct userdata_output out;
    struct core_err err;
    size_t n = 40000;
    char *s = core_malloc(n + 1);
    uint64_t x = 88172645463325252ull;
    CU_ASSERT_FATAL(s != NULL);
    memcpy(s, "#!/bin/sh\n# ", 12);
    for (size_t i = 12; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s[i] = (char)('!' + (x % 90));
        if (s[i] == '-')
            s[i] = '+';
    }
    s[n] = '\0';
    fx_init(&f, K8S_AMI_AL2023);
    f.in.node.user_data = s;
    memset(&out, 0, sizeof out);
    memset(&err, 0, sizeof err);
    CU_ASSERT_EQUAL(userdata_build(&f.in, &out, &err), CORE_E_TOOBIG);
    CU_ASSERT(strstr(err.message, "UserDataTooLarge") != NULL);
    CU_ASSERT(strstr(err.message, "raw") != NULL && strstr(err.message, "16384") != NULL);
    CU_ASSERT_PTR_NULL(out.gz);
    /* The EC2NodeClass condition carries the reason and both sizes. */
    {
        struct k8s_condition cond;
        int rc = userdata_condition(CORE_E_TOOBIG, &err, NULL, &cond);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        CU_ASSERT_STRING_EQUAL(cond.type, "ValidationSucceeded");
        CU_ASSERT_EQUAL(cond.status, K8S_COND_FALSE);
        CU_ASSERT_STRING_EQUAL(cond.reason, "UserDataTooLarge");
        CU_ASSERT(strstr(cond.message, "compressed") != NULL && strstr(cond.message, "raw"));
        userdata_condition_cleanup(&cond);
    }
    /* A script that fits gives True with its sizes. */
    s[8000] = '\0';
    memset(&err, 0, sizeof err);
    CU_ASSERT_EQUAL_FATAL(userdata_build(&f.in, &out, &err), 0);
    {
        struct k8s_condition cond;
        CU_ASSERT_EQUAL_FATAL(userdata_condition(0, NULL, &out, &cond), 0);
        CU_ASSERT_EQUAL(cond.status, K8S_COND_TRUE);
        CU_ASSERT_STRING_EQUAL(cond.reason, "UserDataValid");
        CU_ASSERT(strstr(cond.message, "of 16384") != NULL);
        userdata_condition_cleanup(&cond);
        CU_ASSERT_EQUAL_FATAL(userdata_condition(CORE_E_INVAL, NULL, NULL, &cond), 0);
        CU_ASSERT_STRING_EQUAL(cond.reason, "UserDataInvalid");
        userdata_condition_cleanup(&cond);
    }
    userdata_output_cleanup(&out);
    core_free(s);
    fx_cleanup(&f);
}

static void test_deterministic(void)
{
    struct fx f;
    struct userdata_output a, b;
    struct core_err err;
    struct core_buf raw;
    fx_init(&f, K8S_AMI_AL2023);
    fx_kubelet(&f);
    f.in.node.user_data = USER_MIME;
    CU_ASSERT_FATAL(userdata_build(&f.in, &a, &err) == 0);
    CU_ASSERT_FATAL(userdata_build(&f.in, &b, &err) == 0);
    CU_ASSERT(a.gz_len == b.gz_len && memcmp(a.gz, b.gz, a.gz_len) == 0);
    CU_ASSERT(a.b64_len == b.b64_len && strcmp(a.b64, b.b64) == 0);
    CU_ASSERT(a.gz[0] == 0x1f && a.gz[1] == 0x8b);
    CU_ASSERT(a.gz[4] == 0 && a.gz[5] == 0 && a.gz[6] == 0 && a.gz[7] == 0); /* mtime 0 */
    CU_ASSERT(a.gz_len <= USERDATA_EC2_MAX);
    /* decode(b64) == raw */
    core_buf_init(&raw, USERDATA_RAW_MAX);
    CU_ASSERT_FATAL(userdata_decode(a.b64, a.b64_len, 1, &raw, &err) == 0);
    CU_ASSERT(raw.len == a.raw_len && memcmp(raw.data, a.raw, raw.len) == 0);
    core_buf_reset(&raw);
    CU_ASSERT_FATAL(userdata_decode(a.gz, a.gz_len, 0, &raw, &err) == 0);
    CU_ASSERT(raw.len == a.raw_len && memcmp(raw.data, a.raw, raw.len) == 0);
    core_buf_reset(&raw);
    CU_ASSERT_EQUAL(userdata_decode(a.gz, a.gz_len - 6, 0, &raw, &err), CORE_E_PARSE);
    CU_ASSERT_EQUAL(raw.len, 0);
    core_buf_cleanup(&raw);
    userdata_output_cleanup(&a);
    userdata_output_cleanup(&b);
    userdata_output_cleanup(NULL);
    fx_cleanup(&f);
}

static int has_taint(const struct userdata_facts *x, const char *k, const char *v,
                     enum k8s_effect e)
{
    for (size_t i = 0; i < x->ntaints; i++)
        if (strcmp(x->taints[i].key, k) == 0 && x->taints[i].effect == e &&
            ((!v && (!x->taints[i].value || !*x->taints[i].value)) ||
             (v && x->taints[i].value && strcmp(x->taints[i].value, v) == 0)))
            return 1;
    return 0;
}

static void roundtrip_family(enum k8s_ami_family fam, const char *user, int gz)
{
    struct fx f;
    struct userdata_output o;
    struct userdata_facts x;
    struct core_err err;
    fx_init(&f, fam);
    f.in.node.user_data = user;
    CU_ASSERT_FATAL(userdata_build(&f.in, &o, &err) == 0);
    memset(&x, 0, sizeof x);
    int rc = gz ? userdata_inspect((const char *)o.gz, o.gz_len, &x, &err)
                : userdata_inspect(o.raw, o.raw_len, &x, &err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT(x.joins == 1);
    CU_ASSERT(x.warm_up == 0);
    if (fam == K8S_AMI_AL2023 || fam == K8S_AMI_AL2)
        CU_ASSERT_EQUAL(x.family, fam);
    CU_ASSERT(x.cluster_name && strcmp(x.cluster_name, "test-cluster") == 0);
    CU_ASSERT(x.endpoint && strcmp(x.endpoint, f.in.cluster.endpoint) == 0);
    CU_ASSERT(x.ca_bundle && strcmp(x.ca_bundle, TEST_CA) == 0);
    CU_ASSERT(x.cluster_dns && strcmp(x.cluster_dns, "10.100.0.10") == 0);
    CU_ASSERT_EQUAL(x.max_pods, 58);
    CU_ASSERT_EQUAL(x.labels.n, 3);
    const char *v = k8s_labels_get(&x.labels, "karpenter.sh/capacity-type");
    CU_ASSERT(v && strcmp(v, "spot") == 0);
    v = k8s_labels_get(&x.labels, "team");
    CU_ASSERT(v && strcmp(v, "a") == 0);
    CU_ASSERT_EQUAL(x.ntaints, 4);
    CU_ASSERT(has_taint(&x, "dedicated", "gpu", K8S_EFFECT_NO_SCHEDULE));
    CU_ASSERT(has_taint(&x, "example.com/flag", NULL, K8S_EFFECT_PREFER_NO_SCHEDULE));
    CU_ASSERT(has_taint(&x, "cilium.io/agent-not-ready", "true", K8S_EFFECT_NO_EXECUTE));
    CU_ASSERT(has_taint(&x, USERDATA_STARTUP_TAINT_KEY, NULL, K8S_EFFECT_NO_EXECUTE));
    userdata_facts_cleanup(&x);
    userdata_facts_cleanup(&x);
    userdata_output_cleanup(&o);
    fx_cleanup(&f);
}

static void test_inspect_roundtrip(void)
{
    roundtrip_family(K8S_AMI_AL2023, NULL, 1);
    roundtrip_family(K8S_AMI_AL2023, USER_MIME, 0);
    roundtrip_family(K8S_AMI_AL2, USER_SCRIPT, 1);
    roundtrip_family(K8S_AMI_WINDOWS2022, USER_PS, 0);
}

static void test_warm_phase(void)
{
    enum k8s_ami_family fams[1] = {K8S_AMI_AL2023};
    for (size_t i = 0; i < 1; i++) {
        struct fx f;
        struct core_buf b;
        struct core_err err;
        struct userdata_facts x;
        fx_init(&f, fams[i]);
        f.in.phase = USERDATA_WARM;
        f.in.node.user_data = USER_MIME;
        CU_ASSERT_FATAL(render(&f.in, &b, &err) == 0);
        CU_ASSERT(strstr(b.data, "NodeConfig") == NULL);
        CU_ASSERT(strstr(b.data, "bootstrap") == NULL);
        CU_ASSERT(strstr(b.data, "Bootstrap") == NULL);
        CU_ASSERT(strstr(b.data, "echo one") == NULL); /* user parts are for the join boot */
        CU_ASSERT(strstr(b.data, "900") != NULL);      /* default watchdog */
        CU_ASSERT(strstr(b.data, "dd if=") != NULL || strstr(b.data, "PhysicalDrive") != NULL);
        CU_ASSERT_FATAL(userdata_inspect(b.data, b.len, &x, &err) == 0);
        CU_ASSERT_EQUAL(x.joins, 0);
        CU_ASSERT_EQUAL(x.warm_up, 1);
        CU_ASSERT_EQUAL(x.warm_up_stays_running, 0);
        CU_ASSERT(strstr(b.data, "systemctl poweroff\n") != NULL);
        CU_ASSERT_EQUAL_FATAL(x.images.n, 2);
        CU_ASSERT_STRING_EQUAL(x.images.v[0], f.images[0]);
        CU_ASSERT_STRING_EQUAL(x.images.v[1], f.images[1]);
        userdata_facts_cleanup(&x);
        core_buf_cleanup(&b);
        f.in.warm.timeout_s = 120;
        f.in.warm.hydrate_root_volume = 0;
        CU_ASSERT_FATAL(render(&f.in, &b, &err) == 0);
        CU_ASSERT(strstr(b.data, "120") != NULL && strstr(b.data, "900") == NULL);
        CU_ASSERT(strstr(b.data, "dd if=") == NULL && strstr(b.data, "PhysicalDrive") == NULL);
        core_buf_cleanup(&b);
        /* Hibernated pools: the script never powers off; the controller hibernates. */
        f.in.warm.stay_running = 1;
        CU_ASSERT_FATAL(render(&f.in, &b, &err) == 0);
        CU_ASSERT(strstr(b.data, "poweroff") == NULL);
        /* ... and waits out the hibernation for the join configuration, then runs nodeadm. */
        CU_ASSERT(strstr(b.data, "imds user-data") != NULL);
        CU_ASSERT(strstr(b.data, "nodeadm init --config-source imds://user-data") != NULL);
        CU_ASSERT_FATAL(userdata_inspect(b.data, b.len, &x, &err) == 0);
        CU_ASSERT_EQUAL(x.warm_up, 1);
        CU_ASSERT_EQUAL(x.warm_up_stays_running, 1);
        CU_ASSERT_EQUAL(x.joins, 0);
        userdata_facts_cleanup(&x);
        core_buf_cleanup(&b);
        fx_cleanup(&f);
    }
}

static void test_boundary_clash(void)
{
    struct fx f;
    struct core_buf b;
    struct core_err err;
    struct userdata_mime m;
    fx_init(&f, K8S_AMI_AL2023);
    f.in.node.user_data = "#!/bin/sh\necho '--//'\necho '--//1'\n";
    CU_ASSERT_FATAL(render(&f.in, &b, &err) == 0);
    CU_ASSERT(strstr(b.data, "boundary=\"//10\"") != NULL);
    CU_ASSERT_FATAL(userdata_mime_parse(b.data, b.len, &m, &err) == 0);
    CU_ASSERT_EQUAL(m.nparts, 2);
    CU_ASSERT(m.parts[0].body_len == strlen(f.in.node.user_data) &&
              memcmp(m.parts[0].body, f.in.node.user_data, m.parts[0].body_len) == 0);
    userdata_mime_cleanup(&m);
    core_buf_cleanup(&b);
    /* Every "--//N" candidate taken: one pass still finds a boundary at once. */
    {
        struct core_buf u;
        core_buf_init(&u, 1u << 20);
        CU_ASSERT_FATAL(core_buf_append_str(&u, "#!/bin/sh\n") == 0);
        for (int i = 0; i < 20000; i++)
            CU_ASSERT_FATAL(core_buf_appendf(&u, "# --//%d\n", i) == 0);
        f.in.node.user_data = core_buf_cstr(&u);
        CU_ASSERT_FATAL(render(&f.in, &b, &err) == 0);
        CU_ASSERT(strstr(b.data, "boundary=\"//100000\"") != NULL);
        core_buf_cleanup(&b);
        core_buf_cleanup(&u);
    }
    fx_cleanup(&f);
}

static void test_mime_parse(void)
{
    struct userdata_mime m;
    struct core_err err;
    CU_ASSERT_FATAL(userdata_mime_parse(USER_MIME, strlen(USER_MIME), &m, &err) == 0);
    CU_ASSERT_STRING_EQUAL(m.boundary, "BOUND");
    CU_ASSERT_EQUAL_FATAL(m.nparts, 2);
    CU_ASSERT_STRING_EQUAL(m.parts[0].content_type, "text/x-shellscript");
    CU_ASSERT(m.parts[0].body_len == 19 && memcmp(m.parts[0].body, "#!/bin/sh\r\necho one", 19) == 0);
    CU_ASSERT_STRING_EQUAL(m.parts[1].content_type, "text/cloud-config");
    CU_ASSERT_STRING_EQUAL(m.parts[1].encoding, "base64");
    CU_ASSERT(m.parts[1].body_len == 27 &&
              memcmp(m.parts[1].body, "#cloud-config\nruncmd: [ls]\n", 27) == 0);
    userdata_mime_cleanup(&m);
    userdata_mime_cleanup(&m);
    const char *q = "Content-Type: Multipart/Mixed; charset=x; boundary=\"a b\"\n\n"
                    "--a b\nContent-Type: text/plain\n\nx\n--a b--\n";
    CU_ASSERT_FATAL(userdata_mime_parse(q, strlen(q), &m, &err) == 0);
    CU_ASSERT_STRING_EQUAL(m.boundary, "a b");
    CU_ASSERT_EQUAL(m.nparts, 1);
    userdata_mime_cleanup(&m);
    const char *nob = "Content-Type: multipart/mixed\n\n--x\n\nx\n--x--\n";
    CU_ASSERT_EQUAL(userdata_mime_parse(nob, strlen(nob), &m, &err), CORE_E_PARSE);
    const char *bad64 = "Content-Type: multipart/mixed; boundary=x\n\n--x\n"
                        "Content-Transfer-Encoding: base64\n\n@@@@\n--x--\n";
    CU_ASSERT_EQUAL(userdata_mime_parse(bad64, strlen(bad64), &m, &err), CORE_E_PARSE);
}

static void test_inspect_plain(void)
{
    struct userdata_facts x;
    struct core_err err;
    const char *t = "#!/bin/bash\necho hi\n";
    CU_ASSERT_FATAL(userdata_inspect(t, strlen(t), &x, &err) == 0);
    CU_ASSERT_EQUAL(x.joins, 0);
    CU_ASSERT_EQUAL(x.warm_up, 0);
    userdata_facts_cleanup(&x);
    t = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\nunterminated";
    CU_ASSERT_EQUAL(userdata_inspect(t, strlen(t), &x, &err), CORE_E_PARSE);
    t = "#!/bin/bash\n/etc/eks/bootstrap.sh 'c' --kubelet-extra-args '--max-pods=12\n";
    CU_ASSERT_FATAL(userdata_inspect(t, strlen(t), &x, &err) == 0);
    CU_ASSERT_EQUAL(x.joins, 0); /* bash could not run that line either */
    userdata_facts_cleanup(&x);
    t = "#!/bin/bash\n/etc/eks/bootstrap.sh 'c' --kubelet-extra-args '--register-with-taints=a'\n";
    CU_ASSERT_EQUAL(userdata_inspect(t, strlen(t), &x, &err), CORE_E_PARSE);
}

/* Every allocation failing in turn: a clean error, no leak (ASan). */
static void test_alloc_failures(void)
{
    struct fx f;
    struct userdata_output o;
    struct userdata_facts x;
    struct core_err err;
    fx_init(&f, K8S_AMI_AL2023);
    fx_kubelet(&f);
    f.in.node.user_data = USER_MIME;
    for (unsigned long n = 1; n < 400; n++) {
        core_alloc_fail_after(n);
        int rc = userdata_build(&f.in, &o, &err);
        core_alloc_fail_after(0);
        if (rc == 0) {
            CU_ASSERT_EQUAL(userdata_inspect((const char *)o.gz, o.gz_len, &x, &err), 0);
            userdata_facts_cleanup(&x);
            for (unsigned long k = 1; k < 200; k++) {
                core_alloc_fail_after(k);
                int r2 = userdata_inspect((const char *)o.gz, o.gz_len, &x, &err);
                core_alloc_fail_after(0);
                if (r2 == 0) {
                    userdata_facts_cleanup(&x);
                    break;
                }
                CU_ASSERT(r2 == CORE_E_NOMEM || r2 == CORE_E_PARSE);
            }
            userdata_output_cleanup(&o);
            break;
        }
        CU_ASSERT(rc == CORE_E_NOMEM);
    }
    fx_cleanup(&f);
}

TESTS_SUITE(userdata, "userdata", NULL, NULL, TESTS_CASE(test_golden_al2023),
            TESTS_CASE(test_golden_al2), TESTS_CASE(test_golden_windows), TESTS_CASE(test_custom),
            TESTS_CASE(test_errors), TESTS_CASE(test_too_big), TESTS_CASE(test_deterministic),
            TESTS_CASE(test_inspect_roundtrip), TESTS_CASE(test_warm_phase),
            TESTS_CASE(test_boundary_clash), TESTS_CASE(test_mime_parse),
            TESTS_CASE(test_inspect_plain), TESTS_CASE(test_alloc_failures))
