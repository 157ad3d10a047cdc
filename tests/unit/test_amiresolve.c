/*
 * tests/unit/test_amiresolve.c — the pure layer of amiresolve: alias parsing and its errors,
 * the SSM parameter names per family / architecture / variant / pinned release (and the
 * combinations that do not exist), the requirements of each AMI, the choice rule, folding into
 * one image per requirement set and the order, the AMI an instance type gets, result copies
 * (with allocation failures walked), and the EC2NodeClass status for success and each failure.
 */
#include "tests/unit/harness.h"

#include "amiresolve/amiresolve.h"
#include "amiresolve/internal.h"
#include "core/core.h"

#include <jansson.h>
#include <string.h>

#define ASSERT_STR(actual, expected)                                                          \
    do {                                                                                      \
        const char *as_ = (actual);                                                           \
        CU_ASSERT(as_ != NULL && strcmp(as_, (expected)) == 0);                               \
    } while (0)

#define DAY (INT64_C(86400) * CORE_NS_PER_S)
#define NOW (INT64_C(1790000000) * CORE_NS_PER_S)

/* ---- alias parsing ---------------------------------------------------------------------------- */

static void test_alias_parse_ok(void)
{
    struct amiresolve_alias a;
    struct core_err err;

    CU_ASSERT_EQUAL(amiresolve_alias_parse("al2023@latest", NULL, &a, &err), 0);
    CU_ASSERT_EQUAL(a.family, K8S_AMI_AL2023);
    CU_ASSERT_STRING_EQUAL(a.version, "latest");
    CU_ASSERT_EQUAL(amiresolve_alias_parse("al2023@v20240807", NULL, &a, &err), 0);
    CU_ASSERT_STRING_EQUAL(a.version, "v20240807");
    CU_ASSERT_EQUAL(amiresolve_alias_parse("al2@v20240807", NULL, &a, &err), 0);
    CU_ASSERT_EQUAL(a.family, K8S_AMI_AL2);
    CU_ASSERT_EQUAL(amiresolve_alias_parse("bottlerocket@1.20.3", NULL, &a, &err), 0);
    CU_ASSERT_EQUAL(a.family, K8S_AMI_BOTTLEROCKET);
    CU_ASSERT_STRING_EQUAL(a.version, "1.20.3");
    CU_ASSERT_EQUAL(amiresolve_alias_parse("bottlerocket@v1.20.3", NULL, &a, &err), 0);
    CU_ASSERT_STRING_EQUAL(a.version, "1.20.3");
    CU_ASSERT_EQUAL(amiresolve_alias_parse("windows2022@latest", NULL, &a, &err), 0);
    CU_ASSERT_EQUAL(a.family, K8S_AMI_WINDOWS2022);
    CU_ASSERT_EQUAL(amiresolve_alias_parse("windows2019@latest", NULL, &a, &err), 0);
    CU_ASSERT_EQUAL(a.family, K8S_AMI_WINDOWS2019);
    CU_ASSERT_EQUAL(amiresolve_alias_parse("windows2025@latest", NULL, &a, &err), 0);
    CU_ASSERT_EQUAL(a.family, K8S_AMI_WINDOWS2025);
}

static void test_alias_parse_errors(void)
{
    static const char *const bad[] = {
        "al2023",          "AL2023@latest",   "custom@latest", "al2023@",      "@latest",
        "al2023@v2024080", "al2023@20240807", "al2023@Latest", "al2023@latest2", "bottlerocket@1.2",
        "bottlerocket@1.2.x", "bottlerocket@v", "al2@v20240807x", "al2023@@latest", "",
    };
    const char *field = "spec.amiSelectorTerms[0].alias";
    struct amiresolve_alias a, keep;
    struct core_err err;
    char longtext[300];

    memset(&keep, 0x5a, sizeof keep);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        a = keep;
        int rc = amiresolve_alias_parse(bad[i], field, &a, &err);
        CU_ASSERT_EQUAL(rc, CORE_E_INVAL);
        if (rc != CORE_E_INVAL)
            fprintf(stderr, "\n  accepted %s\n", bad[i]);
        CU_ASSERT(strstr(err.message, field) != NULL);
        CU_ASSERT_EQUAL(memcmp(&a, &keep, sizeof a), 0); /* untouched on failure */
    }
    /* Unknown families and a missing '@' list the valid ones. */
    CU_ASSERT_EQUAL(amiresolve_alias_parse("ubuntu@latest", field, &a, &err), CORE_E_INVAL);
    CU_ASSERT(strstr(err.message, "al2, al2023, bottlerocket, windows2019, windows2022, "
                                  "windows2025") != NULL);
    CU_ASSERT(strstr(err.message, "ubuntu") != NULL);
    CU_ASSERT_EQUAL(amiresolve_alias_parse("al2023", field, &a, &err), CORE_E_INVAL);
    CU_ASSERT(strstr(err.message, "bottlerocket") != NULL);
    /* Windows pinned: unsupported, not invalid, with what to use. */
    CU_ASSERT_EQUAL(amiresolve_alias_parse("windows2022@v20240807", field, &a, &err),
                    CORE_E_UNSUPPORTED);
    CU_ASSERT(strstr(err.message, "windows2022@v20240807: Windows AMIs can only be resolved "
                                  "@latest") != NULL);
    CU_ASSERT(strstr(err.message, "windows2022@latest") != NULL);
    /* NULL field still gives a message; NULL text is invalid. */
    CU_ASSERT_EQUAL(amiresolve_alias_parse(NULL, NULL, &a, &err), CORE_E_INVAL);
    memset(longtext, 'a', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    CU_ASSERT_EQUAL(amiresolve_alias_parse(longtext, NULL, &a, NULL), CORE_E_INVAL);
}

static void test_family_names(void)
{
    CU_ASSERT_STRING_EQUAL(amiresolve_family_name(K8S_AMI_AL2), "al2");
    CU_ASSERT_STRING_EQUAL(amiresolve_family_name(K8S_AMI_AL2023), "al2023");
    CU_ASSERT_STRING_EQUAL(amiresolve_family_name(K8S_AMI_BOTTLEROCKET), "bottlerocket");
    CU_ASSERT_STRING_EQUAL(amiresolve_family_name(K8S_AMI_WINDOWS2019), "windows2019");
    CU_ASSERT_STRING_EQUAL(amiresolve_family_name(K8S_AMI_WINDOWS2022), "windows2022");
    CU_ASSERT_STRING_EQUAL(amiresolve_family_name(K8S_AMI_WINDOWS2025), "windows2025");
    CU_ASSERT_STRING_EQUAL(amiresolve_family_name(K8S_AMI_CUSTOM), "custom");
}

/* ---- parameter names --------------------------------------------------------------------------- */

static void params_of(const char *alias, const char *k8s, struct amiresolve_param *p, size_t *n,
                      int want_rc, struct core_err *err)
{
    struct amiresolve_alias a;
    CU_ASSERT_EQUAL_FATAL(amiresolve_alias_parse(alias, NULL, &a, err), 0);
    *n = 0;
    CU_ASSERT_EQUAL(amiresolve_alias_params(&a, k8s, p, AMIRESOLVE_PARAM_MAX, n, err), want_rc);
}

static void test_params_al2023(void)
{
    struct amiresolve_param p[AMIRESOLVE_PARAM_MAX];
    struct core_err err;
    size_t n;
    static const char *const want[][3] = {
        {"amd64", "standard", "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/"
                              "standard/recommended/image_id"},
        {"amd64", "nvidia", "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/"
                            "nvidia/recommended/image_id"},
        {"amd64", "neuron", "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/"
                            "neuron/recommended/image_id"},
        {"arm64", "standard", "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/arm64/"
                              "standard/recommended/image_id"},
        {"arm64", "nvidia", "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/arm64/"
                            "nvidia/recommended/image_id"},
    };

    params_of("al2023@latest", "1.31", p, &n, 0, &err);
    CU_ASSERT_EQUAL_FATAL(n, 5);
    for (size_t i = 0; i < 5; i++) {
        CU_ASSERT_STRING_EQUAL(p[i].arch, want[i][0]);
        CU_ASSERT_STRING_EQUAL(p[i].variant, want[i][1]);
        CU_ASSERT_STRING_EQUAL(p[i].name, want[i][2]);
    }
    params_of("al2023@v20240807", "1.35", p, &n, 0, &err);
    CU_ASSERT_EQUAL_FATAL(n, 5);
    CU_ASSERT_STRING_EQUAL(p[0].name, "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/"
                                      "x86_64/standard/amazon-eks-node-al2023-x86_64-standard-"
                                      "1.35-v20240807/image_id");
    CU_ASSERT_STRING_EQUAL(p[4].name, "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/"
                                      "arm64/nvidia/amazon-eks-node-al2023-arm64-nvidia-1.35-"
                                      "v20240807/image_id");
}

static void test_params_al2(void)
{
    struct amiresolve_param p[AMIRESOLVE_PARAM_MAX];
    struct core_err err;
    size_t n;

    params_of("al2@latest", "1.32", p, &n, 0, &err);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT_STRING_EQUAL(p[0].name,
                           "/aws/service/eks/optimized-ami/1.32/amazon-linux-2/recommended/"
                           "image_id");
    CU_ASSERT_STRING_EQUAL(p[0].variant, "standard");
    CU_ASSERT_STRING_EQUAL(p[1].name,
                           "/aws/service/eks/optimized-ami/1.32/amazon-linux-2-gpu/recommended/"
                           "image_id");
    CU_ASSERT_STRING_EQUAL(p[1].variant, "nvidia");
    CU_ASSERT_STRING_EQUAL(p[2].name, p[1].name); /* the accelerated image twice */
    CU_ASSERT_STRING_EQUAL(p[2].variant, "neuron");
    CU_ASSERT_STRING_EQUAL(p[2].arch, "amd64");
    CU_ASSERT_STRING_EQUAL(p[3].arch, "arm64");
    CU_ASSERT_STRING_EQUAL(p[3].name,
                           "/aws/service/eks/optimized-ami/1.32/amazon-linux-2-arm64/"
                           "recommended/image_id");
    params_of("al2@v20240807", "1.30", p, &n, 0, &err);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT_STRING_EQUAL(p[0].name, "/aws/service/eks/optimized-ami/1.30/amazon-linux-2/"
                                      "amazon-eks-node-1.30-v20240807/image_id");
    CU_ASSERT_STRING_EQUAL(p[1].name, "/aws/service/eks/optimized-ami/1.30/amazon-linux-2-gpu/"
                                      "amazon-eks-gpu-node-1.30-v20240807/image_id");
    CU_ASSERT_STRING_EQUAL(p[3].name, "/aws/service/eks/optimized-ami/1.30/"
                                      "amazon-linux-2-arm64/amazon-eks-arm64-node-1.30-"
                                      "v20240807/image_id");
    /* Not offered from 1.33: unsupported, with what to use. */
    params_of("al2@latest", "1.33", p, &n, CORE_E_UNSUPPORTED, &err);
    CU_ASSERT(strstr(err.message, "al2023") != NULL);
    CU_ASSERT_EQUAL(n, 0);
    params_of("al2@latest", "1.35", p, &n, CORE_E_UNSUPPORTED, &err);
}

static void test_params_bottlerocket_windows(void)
{
    struct amiresolve_param p[AMIRESOLVE_PARAM_MAX];
    struct amiresolve_alias a;
    struct core_err err;
    size_t n;

    params_of("bottlerocket@latest", "1.31", p, &n, 0, &err);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT_STRING_EQUAL(p[0].name, "/aws/service/bottlerocket/aws-k8s-1.31/x86_64/latest/"
                                      "image_id");
    CU_ASSERT_STRING_EQUAL(p[1].name, "/aws/service/bottlerocket/aws-k8s-1.31-nvidia/x86_64/"
                                      "latest/image_id");
    CU_ASSERT_STRING_EQUAL(p[1].variant, "nvidia");
    CU_ASSERT_STRING_EQUAL(p[2].name, "/aws/service/bottlerocket/aws-k8s-1.31/arm64/latest/"
                                      "image_id");
    CU_ASSERT_STRING_EQUAL(p[3].arch, "arm64");
    params_of("bottlerocket@v1.20.3", "1.31", p, &n, 0, &err);
    CU_ASSERT_STRING_EQUAL(p[3].name, "/aws/service/bottlerocket/aws-k8s-1.31-nvidia/arm64/"
                                      "1.20.3/image_id");

    params_of("windows2022@latest", "1.31", p, &n, 0, &err);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(p[0].name, "/aws/service/ami-windows-latest/Windows_Server-2022-"
                                      "English-Core-EKS_Optimized-1.31/image_id");
    CU_ASSERT_STRING_EQUAL(p[0].arch, "amd64");
    CU_ASSERT_STRING_EQUAL(p[0].variant, "standard");
    params_of("windows2019@latest", "1.30", p, &n, 0, &err);
    CU_ASSERT_STRING_EQUAL(p[0].name, "/aws/service/ami-windows-latest/Windows_Server-2019-"
                                      "English-Core-EKS_Optimized-1.30/image_id");
    params_of("windows2025@latest", "1.34", p, &n, CORE_E_UNSUPPORTED, &err);
    CU_ASSERT(strstr(err.message, "1.35") != NULL);
    params_of("windows2025@latest", "1.35", p, &n, 0, &err);
    CU_ASSERT_EQUAL(n, 1);
    /* A pinned Windows alias built by hand is refused here too. */
    a.family = K8S_AMI_WINDOWS2022;
    core_strlcpy(a.version, "v20240807", sizeof a.version);
    CU_ASSERT_EQUAL(amiresolve_alias_params(&a, "1.31", p, AMIRESOLVE_PARAM_MAX, &n, &err),
                    CORE_E_UNSUPPORTED);
    /* Bad Kubernetes versions, a custom family, too little room. */
    CU_ASSERT_EQUAL(amiresolve_alias_parse("al2023@latest", NULL, &a, &err), 0);
    CU_ASSERT_EQUAL(amiresolve_alias_params(&a, "131", p, AMIRESOLVE_PARAM_MAX, &n, &err),
                    CORE_E_INVAL);
    CU_ASSERT_EQUAL(amiresolve_alias_params(&a, "1.", p, AMIRESOLVE_PARAM_MAX, &n, &err),
                    CORE_E_INVAL);
    CU_ASSERT_EQUAL(amiresolve_alias_params(&a, "1.31x", p, AMIRESOLVE_PARAM_MAX, &n, &err),
                    CORE_E_INVAL);
    CU_ASSERT_EQUAL(amiresolve_alias_params(&a, NULL, p, AMIRESOLVE_PARAM_MAX, &n, &err),
                    CORE_E_INVAL);
    n = 99;
    CU_ASSERT_EQUAL(amiresolve_alias_params(&a, "1.31", p, 3, &n, &err), CORE_E_TOOBIG);
    CU_ASSERT_EQUAL(n, 99);
    a.family = K8S_AMI_CUSTOM;
    CU_ASSERT_EQUAL(amiresolve_alias_params(&a, "1.31", p, AMIRESOLVE_PARAM_MAX, &n, &err),
                    CORE_E_INVAL);
}

/* ---- AMIs, the choice rule, folding ------------------------------------------------------------ */

static struct aws_ec2_image image(const char *id, const char *name, const char *arch,
                                  core_ns created, core_ns deprecation)
{
    struct aws_ec2_image im;
    memset(&im, 0, sizeof im);
    im.image_id = (char *)id;
    im.name = (char *)name;
    im.architecture = (char *)arch;
    im.creation_date = created;
    im.deprecation_time = deprecation;
    im.state = (char *)"available";
    return im;
}

static void make_ami(struct amiresolve_ami *a, const char *id, const char *name,
                     const char *arch, const char *variant, core_ns created, core_ns deprecation)
{
    struct aws_ec2_image im = image(id, name, arch, created, deprecation);
    struct core_err err;
    CU_ASSERT_EQUAL_FATAL(amiresolve_ami_from_image(&im, variant, "test", NOW, a, &err), 0);
}

static const struct k8s_requirement *req_find(const struct amiresolve_ami *a, const char *key)
{
    for (size_t i = 0; i < a->nrequirements; i++)
        if (strcmp(a->requirements[i].key, key) == 0)
            return &a->requirements[i];
    return NULL;
}

static void test_ami_requirements(void)
{
    struct amiresolve_ami a;
    const struct k8s_requirement *q;
    struct aws_ec2_image im = image("ami-0123456789abcdef0", "x", "i386", NOW, 0);
    struct core_err err;

    make_ami(&a, "ami-00000001", "std", "x86_64", "standard", NOW - DAY, 0);
    CU_ASSERT_STRING_EQUAL(a.arch, "amd64");
    CU_ASSERT_EQUAL(a.nrequirements, 3);
    q = req_find(&a, AMIRESOLVE_KEY_ARCH);
    CU_ASSERT_FATAL(q != NULL);
    CU_ASSERT_EQUAL(q->op, K8S_OP_IN);
    CU_ASSERT_EQUAL_FATAL(q->values.n, 1);
    CU_ASSERT_STRING_EQUAL(q->values.v[0], "amd64");
    CU_ASSERT_EQUAL(req_find(&a, AMIRESOLVE_KEY_GPU)->op, K8S_OP_DOES_NOT_EXIST);
    CU_ASSERT_EQUAL(req_find(&a, AMIRESOLVE_KEY_ACCEL)->op, K8S_OP_DOES_NOT_EXIST);
    CU_ASSERT_EQUAL(a.deprecated, 0);
    amiresolve_ami_cleanup(&a);

    make_ami(&a, "ami-00000002", "gpu", "arm64", "nvidia", NOW - DAY, NOW - 1);
    CU_ASSERT_STRING_EQUAL(a.arch, "arm64");
    CU_ASSERT_EQUAL(a.nrequirements, 2);
    CU_ASSERT_EQUAL(req_find(&a, AMIRESOLVE_KEY_GPU)->op, K8S_OP_EXISTS);
    CU_ASSERT_PTR_NULL(req_find(&a, AMIRESOLVE_KEY_ACCEL));
    CU_ASSERT_EQUAL(a.deprecated, 1); /* deprecation time passed */
    amiresolve_ami_cleanup(&a);

    make_ami(&a, "ami-00000003", "neuron", "x86_64", "neuron", NOW - DAY, NOW + DAY);
    CU_ASSERT_EQUAL(a.nrequirements, 2);
    CU_ASSERT_EQUAL(req_find(&a, AMIRESOLVE_KEY_ACCEL)->op, K8S_OP_EXISTS);
    CU_ASSERT_EQUAL(a.deprecated, 0); /* not yet */
    amiresolve_ami_cleanup(&a);

    make_ami(&a, "ami-00000004", "sel", "arm64", NULL, NOW - DAY, 0);
    CU_ASSERT_EQUAL(a.nrequirements, 1); /* selector terms: arch only */
    CU_ASSERT_STRING_EQUAL(a.variant, "");
    amiresolve_ami_cleanup(&a);

    CU_ASSERT_EQUAL(amiresolve_ami_from_image(&im, NULL, "x", NOW, &a, &err),
                    CORE_E_UNSUPPORTED);
    amiresolve_ami_cleanup(NULL);
}

static void test_better(void)
{
    struct amiresolve_ami old, mid, newest, newest_dep, twin;

    make_ami(&old, "ami-00000001", "b-old", "x86_64", "standard", NOW - 90 * DAY, 0);
    make_ami(&mid, "ami-00000002", "b-mid", "x86_64", "standard", NOW - 50 * DAY, 0);
    make_ami(&newest_dep, "ami-00000003", "b-new", "x86_64", "standard", NOW - 10 * DAY,
             NOW - DAY);
    make_ami(&newest, "ami-00000004", "a-new", "x86_64", "standard", NOW - 10 * DAY, 0);
    make_ami(&twin, "ami-00000005", "z-new", "x86_64", "standard", NOW - 10 * DAY, 0);
    CU_ASSERT(amiresolve_better(&mid, &old) < 0);            /* newer wins */
    CU_ASSERT(amiresolve_better(&old, &mid) > 0);
    CU_ASSERT(amiresolve_better(&mid, &newest_dep) < 0);     /* not deprecated beats newer */
    CU_ASSERT(amiresolve_better(&twin, &newest) < 0);        /* larger name wins a tie */
    CU_ASSERT(amiresolve_better(&newest, &twin) > 0);
    CU_ASSERT_EQUAL(amiresolve_better(&newest, &newest), 0);
    amiresolve_ami_cleanup(&old);
    amiresolve_ami_cleanup(&mid);
    amiresolve_ami_cleanup(&newest_dep);
    amiresolve_ami_cleanup(&newest);
    amiresolve_ami_cleanup(&twin);
}

/* An alias-like result: amd64 standard (two releases), amd64 nvidia, amd64 neuron, arm64
 * standard; folded and sorted. */
static void build_result(struct amiresolve_result *r)
{
    struct amiresolve_ami a;
    memset(r, 0, sizeof *r);
    core_strlcpy(r->k8s, "1.31", sizeof r->k8s);
    r->family = K8S_AMI_AL2023;
    make_ami(&a, "ami-0000000a", "std-old", "x86_64", "standard", NOW - 50 * DAY, 0);
    CU_ASSERT_EQUAL(amiresolve_result_fold(r, &a), 0);
    make_ami(&a, "ami-0000000b", "gpu", "x86_64", "nvidia", NOW - 12 * DAY, 0);
    CU_ASSERT_EQUAL(amiresolve_result_fold(r, &a), 0);
    make_ami(&a, "ami-0000000c", "std-new", "x86_64", "standard", NOW - 12 * DAY, 0);
    CU_ASSERT_EQUAL(amiresolve_result_fold(r, &a), 0);
    make_ami(&a, "ami-0000000d", "std-dep", "x86_64", "standard", NOW - 5 * DAY, NOW - DAY);
    CU_ASSERT_EQUAL(amiresolve_result_fold(r, &a), 0);
    make_ami(&a, "ami-0000000e", "neuron", "x86_64", "neuron", NOW - 12 * DAY, 0);
    CU_ASSERT_EQUAL(amiresolve_result_fold(r, &a), 0);
    make_ami(&a, "ami-0000000f", "arm", "arm64", "standard", NOW - 20 * DAY, 0);
    CU_ASSERT_EQUAL(amiresolve_result_fold(r, &a), 0);
    CU_ASSERT(a.id == NULL); /* taken over */
    amiresolve_result_sort(r);
}

static const struct amiresolve_ami *find_group(const struct amiresolve_result *r,
                                               const char *arch, const char *variant)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].arch, arch) == 0 && strcmp(r->v[i].variant, variant) == 0)
            return &r->v[i];
    return NULL;
}

static void test_fold_and_order(void)
{
    struct amiresolve_result r;

    build_result(&r);
    CU_ASSERT_EQUAL_FATAL(r.n, 4); /* one per requirement set */
    CU_ASSERT_STRING_EQUAL(find_group(&r, "amd64", "standard")->id, "ami-0000000c");
    /* Newest first; equal dates by the larger name. */
    CU_ASSERT_STRING_EQUAL(r.v[0].name, "std-new");
    CU_ASSERT_STRING_EQUAL(r.v[1].name, "neuron");
    CU_ASSERT_STRING_EQUAL(r.v[2].name, "gpu");
    CU_ASSERT_STRING_EQUAL(r.v[3].name, "arm");
    for (size_t i = 1; i < r.n; i++)
        CU_ASSERT(amiresolve_better(&r.v[i - 1], &r.v[i]) <= 0);
    amiresolve_result_cleanup(&r);
    CU_ASSERT_EQUAL(r.n, 0);
    amiresolve_result_cleanup(NULL);
}

static void test_for_type(void)
{
    struct amiresolve_result r;
    struct launcher_itype m5, m6g, g5, inf2, arm_gpu;
    const struct amiresolve_ami *a;

    build_result(&r);
    memset(&m5, 0, sizeof m5);
    m5.name = "m5.large";
    m5.arch = "amd64";
    m6g = m5;
    m6g.name = "m6g.large";
    m6g.arch = "arm64";
    g5 = m5;
    g5.name = "g5.xlarge";
    g5.gpu_count = 1;
    inf2 = m5;
    inf2.name = "inf2.xlarge";
    inf2.accelerator_count = 1;
    arm_gpu = m6g;
    arm_gpu.gpu_count = 2;

    a = amiresolve_for_type(&r, &m5);
    CU_ASSERT(a != NULL && strcmp(a->id, "ami-0000000c") == 0);
    a = amiresolve_for_type(&r, &m6g);
    CU_ASSERT(a != NULL && strcmp(a->id, "ami-0000000f") == 0);
    a = amiresolve_for_type(&r, &g5);
    CU_ASSERT(a != NULL && strcmp(a->id, "ami-0000000b") == 0);
    a = amiresolve_for_type(&r, &inf2);
    CU_ASSERT(a != NULL && strcmp(a->id, "ami-0000000e") == 0);
    /* No arm64 nvidia image in this result. */
    CU_ASSERT_PTR_NULL(amiresolve_for_type(&r, &arm_gpu));
    CU_ASSERT_PTR_NULL(amiresolve_for_type(NULL, &m5));
    amiresolve_result_cleanup(&r);
}

static void test_copy_alloc_failures(void)
{
    struct amiresolve_result r, c;
    unsigned long n;
    int rc = -1;

    build_result(&r);
    for (n = 1; n < 500; n++) {
        memset(&c, 0x5a, sizeof c);
        core_alloc_fail_after(n);
        rc = amiresolve_result_copy(&c, &r);
        core_alloc_fail_after(0);
        if (rc == 0)
            break;
        CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
        CU_ASSERT_EQUAL(c.n, (size_t)0x5a5a5a5a5a5a5a5aULL); /* untouched */
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT(n > 5);
    CU_ASSERT_EQUAL(c.n, r.n);
    CU_ASSERT_STRING_EQUAL(c.k8s, "1.31");
    for (size_t i = 0; i < r.n; i++) {
        CU_ASSERT_STRING_EQUAL(c.v[i].id, r.v[i].id);
        CU_ASSERT(c.v[i].id != r.v[i].id);
        CU_ASSERT_EQUAL(c.v[i].nrequirements, r.v[i].nrequirements);
    }
    amiresolve_result_cleanup(&c);
    amiresolve_result_cleanup(&r);
}

/* ---- status ------------------------------------------------------------------------------------ */

static void test_status_success(void)
{
    struct amiresolve_result r;
    struct k8s_condition c;
    json_t *amis = NULL, *first, *reqs;
    char *text;

    build_result(&r);
    CU_ASSERT_EQUAL_FATAL(amiresolve_status(&r, 0, NULL, &amis, &c), 0);
    CU_ASSERT_EQUAL_FATAL(json_array_size(amis), 4);
    first = json_array_get(amis, 0);
    ASSERT_STR(json_string_value(json_object_get(first, "id")), "ami-0000000c");
    ASSERT_STR(json_string_value(json_object_get(first, "name")), "std-new");
    CU_ASSERT(json_is_false(json_object_get(first, "deprecated")));
    reqs = json_object_get(first, "requirements");
    CU_ASSERT_EQUAL_FATAL(json_array_size(reqs), 3);
    text = json_dumps(reqs, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CU_ASSERT_STRING_EQUAL(text,
                           "[{\"key\":\"kubernetes.io/arch\",\"operator\":\"In\",\"values\":"
                           "[\"amd64\"]},{\"key\":\"karpenter.k8s.aws/instance-gpu-count\","
                           "\"operator\":\"DoesNotExist\"},{\"key\":\"karpenter.k8s.aws/"
                           "instance-accelerator-count\",\"operator\":\"DoesNotExist\"}]");
    free(text);
    CU_ASSERT_STRING_EQUAL(c.type, "AMIsReady");
    CU_ASSERT_EQUAL(c.status, K8S_COND_TRUE);
    CU_ASSERT_STRING_EQUAL(c.reason, "AMIsResolved");
    CU_ASSERT_STRING_EQUAL(c.message, "4 AMIs resolved");
    json_decref(amis);
    amiresolve_condition_cleanup(&c);
    CU_ASSERT_PTR_NULL(c.type);
    amiresolve_condition_cleanup(NULL);
    amiresolve_result_cleanup(&r);
}

static void check_failure(int rc, const struct core_err *err, const char *reason,
                          const char *needle)
{
    struct k8s_condition c;
    json_t *amis = NULL;

    CU_ASSERT_EQUAL_FATAL(amiresolve_status(NULL, rc, err, &amis, &c), 0);
    CU_ASSERT(json_is_array(amis) && json_array_size(amis) == 0);
    CU_ASSERT_STRING_EQUAL(c.type, "AMIsReady");
    CU_ASSERT_EQUAL(c.status, K8S_COND_FALSE);
    CU_ASSERT_STRING_EQUAL(c.reason, reason);
    CU_ASSERT(strstr(c.message, needle) != NULL);
    if (!strstr(c.message, needle))
        fprintf(stderr, "\n  message: %s\n", c.message);
    json_decref(amis);
    amiresolve_condition_cleanup(&c);
}

static void test_status_failures(void)
{
    struct core_err err;
    struct amiresolve_result empty;
    struct k8s_condition c;
    json_t *amis = NULL;

    core_err_set(&err, CORE_E_NOTFOUND, "no AMI matched spec.amiSelectorTerms: [0] name x");
    check_failure(CORE_E_NOTFOUND, &err, "AMINotFound", "[0] name x");
    core_err_set(&err, CORE_E_UNSUPPORTED, "al2@latest: ...; use al2023@latest");
    check_failure(CORE_E_UNSUPPORTED, &err, "AliasUnsupported", "use al2023@latest");
    core_err_set(&err, CORE_E_INVAL, "spec.amiSelectorTerms[1].id: bad");
    check_failure(CORE_E_INVAL, &err, "InvalidAMISelector", "spec.amiSelectorTerms[1].id");
    core_err_set(&err, CORE_E_AUTH, "You are not authorized to perform this operation.");
    core_err_set_service(&err, 403, "UnauthorizedOperation", "req-1");
    check_failure(CORE_E_AUTH, &err, "AWSError", "UnauthorizedOperation: You are not "
                                                 "authorized");
    check_failure(CORE_E_TIMEOUT, NULL, "AWSError", "resolving AMIs");
    /* Success with nothing in it is not ready either. */
    memset(&empty, 0, sizeof empty);
    CU_ASSERT_EQUAL(amiresolve_status(&empty, 0, NULL, &amis, &c), 0);
    CU_ASSERT_STRING_EQUAL(c.reason, "AMINotFound");
    json_decref(amis);
    amiresolve_condition_cleanup(&c);
    /* Bad arguments: nothing written. */
    amis = NULL;
    CU_ASSERT_EQUAL(amiresolve_status(NULL, 0, NULL, &amis, &c), CORE_E_INVAL);
    CU_ASSERT_PTR_NULL(amis);
}

static void test_status_alloc_failures(void)
{
    struct amiresolve_result r;
    struct k8s_condition c;
    json_t *amis;
    unsigned long n;
    int rc = -1;

    build_result(&r);
    for (n = 1; n < 500; n++) {
        amis = NULL;
        core_alloc_fail_after(n);
        rc = amiresolve_status(&r, 0, NULL, &amis, &c);
        core_alloc_fail_after(0);
        if (rc == 0)
            break;
        CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
        CU_ASSERT_PTR_NULL(amis);
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    json_decref(amis);
    amiresolve_condition_cleanup(&c);
    amiresolve_result_cleanup(&r);
}

TESTS_SUITE(amiresolve, "amiresolve", NULL, NULL, TESTS_CASE(test_alias_parse_ok),
            TESTS_CASE(test_alias_parse_errors), TESTS_CASE(test_family_names),
            TESTS_CASE(test_params_al2023), TESTS_CASE(test_params_al2),
            TESTS_CASE(test_params_bottlerocket_windows), TESTS_CASE(test_ami_requirements),
            TESTS_CASE(test_better), TESTS_CASE(test_fold_and_order), TESTS_CASE(test_for_type),
            TESTS_CASE(test_copy_alloc_failures), TESTS_CASE(test_status_success),
            TESTS_CASE(test_status_failures), TESTS_CASE(test_status_alloc_failures))
