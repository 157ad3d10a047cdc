/*
 * tests/unit/test_sim_ssm.c — the emulated account's SSM parameters and its SigV4 check,
 * exercised through stoker's own AWS client (static credentials, SigV4, retries, decoding)
 * over the in-process transport on a virtual-clock loop, signature checking on:
 * GetParameter of the AL2023 recommended alias against DescribeImages, GetParameters with more
 * names than one batch (unknown names in InvalidParameters), GetParametersByPath paging, the
 * JSON 1.1 errors, one EC2 round trip, and a wrong secret refused with AuthFailure.
 */
#include "tests/unit/harness.h"

#include "aws/aws.h"
#include "core/core.h"
#include "sim/internal.h"
#include "sim/sim.h"
#include "tests/unit/simaws.h"

#include <jansson.h>
#include <string.h>

#define WALL_START TESTS_SIMAWS_WALL_START
/* CU_ASSERT_STRING_EQUAL with a possibly NULL actual value (a broken answer must fail the
 * assertion, not crash the run). */
#define ASSERT_STR(actual, expected)                                                          \
    do {                                                                                      \
        const char *as_ = (actual);                                                           \
        CU_ASSERT(as_ != NULL && strcmp(as_, (expected)) == 0);                               \
    } while (0)
#define AL2023_REC "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/" \
                   "recommended"

struct fx {
    struct tests_simaws s; /* clock, loop, account, transport, client */
};

static void fx_setup(struct fx *f)
{
    tests_simaws_open(&f->s);
}

static void fx_teardown(struct fx *f)
{
    tests_simaws_close(&f->s);
}

static void fx_run(struct fx *f, const int *flag)
{
    tests_simaws_run(&f->s, flag);
}

/* ---- collecting answers -------------------------------------------------------------------- */

struct ssm_res {
    int done, rc;
    struct core_err err;
    struct aws_ssm_parameters p; /* moved out of the callback's */
};

static void on_ssm(void *ud, int rc, const struct aws_ssm_parameters *res,
                   const struct core_err *err)
{
    struct ssm_res *r = ud;
    r->done = 1;
    r->rc = rc;
    if (err)
        r->err = *err;
    if (res) {
        /* The answer is borrowed: move its arrays out (the callee's cleanup then frees none). */
        struct aws_ssm_parameters *m = (struct aws_ssm_parameters *)res;
        r->p = *m;
        memset(m, 0, sizeof *m);
    }
}

struct json_res {
    int done, rc;
    struct core_err err;
    json_t *doc;
};

static void on_json(void *ud, int rc, json_t *result, const struct core_err *err)
{
    struct json_res *r = ud;
    r->done = 1;
    r->rc = rc;
    if (err)
        r->err = *err;
    if (result)
        r->doc = json_incref(result);
}

static const struct aws_ssm_parameter *find_param(const struct aws_ssm_parameters *p,
                                                  const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].name, name) == 0)
            return &p->v[i];
    return NULL;
}

struct img_res {
    int done, rc;
    struct core_err err;
    char newest_id[64], newest_name[256];
    core_ns newest_created;
    size_t n;
};

static void on_images(void *ud, int rc, const struct aws_ec2_images *res,
                      const struct core_err *err)
{
    struct img_res *r = ud;
    r->done = 1;
    r->rc = rc;
    if (err)
        r->err = *err;
    if (!res)
        return;
    r->n = res->n;
    for (size_t i = 0; i < res->n; i++)
        if (res->v[i].creation_date > r->newest_created) {
            r->newest_created = res->v[i].creation_date;
            core_strlcpy(r->newest_id, res->v[i].image_id, sizeof r->newest_id);
            core_strlcpy(r->newest_name, res->v[i].name ? res->v[i].name : "",
                         sizeof r->newest_name);
        }
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_get_parameter_matches_images(void)
{
    struct fx f;
    struct ssm_res r;
    struct img_res im;
    struct core_err err;
    static const char *const name_values[] = {"amazon-eks-node-al2023-x86_64-standard-1.31-*"};
    static const char *const owners[] = {"amazon"};
    struct aws_ec2_filter flt = {"name", name_values, 1};
    struct aws_ec2_describe_images_req ireq;
    const struct aws_ssm_parameter *p;
    json_t *doc;

    fx_setup(&f);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_ssm_get_parameter(f.s.c, AL2023_REC "/image_id", on_ssm, &r, &err),
                          0);
    fx_run(&f, &r.done);
    CU_ASSERT_EQUAL_FATAL(r.rc, 0);
    CU_ASSERT_EQUAL_FATAL(r.p.n, 1);
    p = &r.p.v[0];
    CU_ASSERT_STRING_EQUAL(p->name, AL2023_REC "/image_id");
    CU_ASSERT_STRING_EQUAL(p->type, "String");
    CU_ASSERT_STRING_EQUAL(p->data_type, "aws:ec2:image");
    CU_ASSERT_EQUAL(p->version, 1);
    CU_ASSERT_STRING_EQUAL(p->arn, "arn:aws:ssm:us-east-1::parameter" AL2023_REC "/image_id");
    CU_ASSERT_EQUAL(strncmp(p->value, "ami-", 4), 0);

    /* The same image as the newest of DescribeImages by name. */
    memset(&im, 0, sizeof im);
    memset(&ireq, 0, sizeof ireq);
    ireq.owners = owners;
    ireq.nowners = 1;
    ireq.filters = &flt;
    ireq.nfilters = 1;
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_images(f.s.c, &ireq, on_images, &im, &err), 0);
    fx_run(&f, &im.done);
    if (im.rc)
        fprintf(stderr, "\n  DescribeImages: %s\n", im.err.message);
    CU_ASSERT_EQUAL_FATAL(im.rc, 0);
    CU_ASSERT(im.n >= 2);
    CU_ASSERT_STRING_EQUAL(p->value, im.newest_id);
    /* LastModifiedDate is the image's creation time. */
    CU_ASSERT_EQUAL(p->last_modified / CORE_NS_PER_MS, im.newest_created / CORE_NS_PER_MS);
    aws_ssm_parameters_cleanup(&r.p);

    /* recommended/image_name names it, and `recommended` holds the JSON document. */
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_ssm_get_parameter(f.s.c, AL2023_REC "/image_name", on_ssm, &r, &err),
                          0);
    fx_run(&f, &r.done);
    CU_ASSERT_EQUAL_FATAL(r.rc, 0);
    CU_ASSERT_STRING_EQUAL(r.p.v[0].value, im.newest_name);
    CU_ASSERT_STRING_EQUAL(r.p.v[0].data_type, "text");
    aws_ssm_parameters_cleanup(&r.p);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_ssm_get_parameter(f.s.c, AL2023_REC, on_ssm, &r, &err), 0);
    fx_run(&f, &r.done);
    CU_ASSERT_EQUAL_FATAL(r.rc, 0);
    doc = json_loads(r.p.v[0].value, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL(doc);
    ASSERT_STR(json_string_value(json_object_get(doc, "image_id")), im.newest_id);
    ASSERT_STR(json_string_value(json_object_get(doc, "image_name")),
                           im.newest_name);
    CU_ASSERT(json_is_string(json_object_get(doc, "release_version")));
    json_decref(doc);
    aws_ssm_parameters_cleanup(&r.p);
    fx_teardown(&f);
}

static void test_get_parameters_batched(void)
{
    static const char *const names[] = {
        AL2023_REC "/image_id",
        "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/nvidia/recommended/"
        "image_id",
        "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/neuron/recommended/"
        "image_id",
        "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/arm64/standard/recommended/"
        "image_id",
        "/aws/service/eks/optimized-ami/1.31/amazon-linux-2/recommended/image_id",
        "/aws/service/eks/optimized-ami/1.31/amazon-linux-2-arm64/recommended/image_id",
        "/aws/service/eks/optimized-ami/1.31/amazon-linux-2-gpu/recommended/image_id",
        "/aws/service/nope/1",
        "/aws/service/bottlerocket/aws-k8s-1.31/x86_64/latest/image_id",
        "/aws/service/bottlerocket/aws-k8s-1.31-nvidia/arm64/latest/image_id",
        "/aws/service/ami-windows-latest/Windows_Server-2022-English-Core-EKS_Optimized-1.31/"
        "image_id",
        "/aws/service/eks/optimized-ami/1.33/amazon-linux-2/recommended/image_id", /* no AL2 */
    };
    struct fx f;
    struct ssm_res r;
    struct core_err err;

    fx_setup(&f);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_ssm_get_parameters(f.s.c, names, 12, on_ssm, &r, &err), 0);
    fx_run(&f, &r.done);
    CU_ASSERT_EQUAL_FATAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.p.n, 10);
    CU_ASSERT_EQUAL(r.p.ninvalid, 2);
    for (size_t i = 0; i < r.p.n; i++) {
        CU_ASSERT_EQUAL(strncmp(r.p.v[i].value, "ami-", 4), 0);
        CU_ASSERT_STRING_EQUAL(r.p.v[i].data_type, "aws:ec2:image");
    }
    /* The answer follows the caller's order. */
    if (r.p.n == 10) {
        CU_ASSERT_STRING_EQUAL(r.p.v[0].name, names[0]);
        CU_ASSERT_STRING_EQUAL(r.p.v[9].name, names[10]);
    }
    if (r.p.ninvalid == 2) {
        CU_ASSERT_STRING_EQUAL(r.p.invalid[0], "/aws/service/nope/1");
        CU_ASSERT_STRING_EQUAL(r.p.invalid[1], names[11]);
    }
    /* Two batches: 10 names, then 2. */
    CU_ASSERT(find_param(&r.p, names[10]) != NULL);
    aws_ssm_parameters_cleanup(&r.p);
    fx_teardown(&f);
}

static void test_get_parameters_by_path(void)
{
    const char *root = "/aws/service/eks/optimized-ami/1.31";
    struct fx f;
    struct ssm_res r;
    struct core_err err;
    size_t expect = 0;

    fx_setup(&f);
    for (size_t i = 0; i < f.s.a->nparams; i++)
        if (strncmp(f.s.a->params[i].name, "/aws/service/eks/optimized-ami/1.31/", 36) == 0)
            expect++;
    CU_ASSERT(expect > 20); /* several pages of 10 */
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_ssm_get_parameters_by_path(f.s.c, root, 1, 0, on_ssm, &r, &err), 0);
    fx_run(&f, &r.done);
    CU_ASSERT_EQUAL_FATAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.p.n, expect);
    for (size_t i = 0; i < r.p.n; i++) {
        CU_ASSERT_EQUAL(strncmp(r.p.v[i].name, "/aws/service/eks/optimized-ami/1.31/", 36), 0);
        if (i > 0) /* sorted and unique across pages */
            CU_ASSERT(strcmp(r.p.v[i - 1].name, r.p.v[i].name) < 0);
    }
    CU_ASSERT_PTR_NOT_NULL(find_param(&r.p, AL2023_REC "/image_id"));
    CU_ASSERT_PTR_NOT_NULL(find_param(&r.p, "/aws/service/eks/optimized-ami/1.31/"
                                            "amazon-linux-2/recommended/image_id"));
    aws_ssm_parameters_cleanup(&r.p);

    /* Not recursive: only direct children. */
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_ssm_get_parameters_by_path(f.s.c, root, 0, 0, on_ssm, &r, &err), 0);
    fx_run(&f, &r.done);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.p.n, 0);
    aws_ssm_parameters_cleanup(&r.p);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_ssm_get_parameters_by_path(f.s.c, AL2023_REC "/", 0, 0, on_ssm, &r,
                                                         &err), 0);
    fx_run(&f, &r.done);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.p.n, 3); /* image_id, image_name, release_version */
    aws_ssm_parameters_cleanup(&r.p);
    fx_teardown(&f);
}

/* One raw JSON call; returns its result with the service code in r->err. */
static void json_call(struct fx *f, const char *target, const char *body, struct json_res *r)
{
    json_t *b = json_loads(body, 0, NULL);
    struct core_err err;
    memset(r, 0, sizeof *r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL_FATAL(aws_json_call(f->s.c, AWS_SVC_SSM, target, b, 0, on_json, r, &err), 0);
    json_decref(b);
    fx_run(f, &r->done);
}

static void test_errors(void)
{
    struct fx f;
    struct ssm_res r;
    struct json_res j;
    struct core_err err;
    json_t *params;
    const char *tok;

    fx_setup(&f);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_ssm_get_parameter(f.s.c, "/aws/service/eks/optimized-ami/9.99/x",
                                                on_ssm, &r, &err), 0);
    fx_run(&f, &r.done);
    CU_ASSERT_EQUAL(r.rc, CORE_E_NOTFOUND);
    CU_ASSERT_STRING_EQUAL(r.err.service_code, "ParameterNotFound");
    CU_ASSERT_EQUAL(r.err.http_status, 400);

    /* More than 10 names in one call. */
    json_call(&f, "AmazonSSM.GetParameters",
              "{\"Names\":[\"/a\",\"/b\",\"/c\",\"/d\",\"/e\",\"/f\",\"/g\",\"/h\",\"/i\",\"/j\","
              "\"/k\"]}", &j);
    CU_ASSERT_EQUAL(j.rc, CORE_E_SERVICE);
    CU_ASSERT_STRING_EQUAL(j.err.service_code, "ValidationException");
    json_call(&f, "AmazonSSM.GetParameters", "{\"Names\":[]}", &j);
    CU_ASSERT_STRING_EQUAL(j.err.service_code, "ValidationException");
    /* Paths start with '/'; MaxResults is 1..10; tokens are checked. */
    json_call(&f, "AmazonSSM.GetParametersByPath", "{\"Path\":\"aws/service\"}", &j);
    CU_ASSERT_STRING_EQUAL(j.err.service_code, "ValidationException");
    json_call(&f, "AmazonSSM.GetParametersByPath",
              "{\"Path\":\"/aws\",\"Recursive\":true,\"MaxResults\":11}", &j);
    CU_ASSERT_STRING_EQUAL(j.err.service_code, "ValidationException");
    json_call(&f, "AmazonSSM.GetParametersByPath",
              "{\"Path\":\"/aws\",\"Recursive\":true,\"NextToken\":\"bogus\"}", &j);
    CU_ASSERT_STRING_EQUAL(j.err.service_code, "InvalidNextToken");
    /* A token from one path does not page another. */
    json_call(&f, "AmazonSSM.GetParametersByPath",
              "{\"Path\":\"/aws/service/bottlerocket\",\"Recursive\":true,\"MaxResults\":2}", &j);
    CU_ASSERT_EQUAL_FATAL(j.rc, 0);
    params = json_object_get(j.doc, "Parameters");
    CU_ASSERT_EQUAL(json_array_size(params), 2);
    tok = json_string_value(json_object_get(j.doc, "NextToken"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
    {
        char body[512];
        snprintf(body, sizeof body, "{\"Path\":\"/aws/service/eks\",\"Recursive\":true,"
                                    "\"NextToken\":\"%s\"}", tok);
        json_decref(j.doc);
        json_call(&f, "AmazonSSM.GetParametersByPath", body, &j);
        CU_ASSERT_STRING_EQUAL(j.err.service_code, "InvalidNextToken");
    }
    /* Unknown operation; a body that is not JSON. */
    json_call(&f, "AmazonSSM.DeleteParameter", "{\"Name\":\"/x\"}", &j);
    CU_ASSERT_STRING_EQUAL(j.err.service_code, "UnknownOperationException");
    json_call(&f, "AmazonSSM.GetParameter", "[1]", &j);
    CU_ASSERT_STRING_EQUAL(j.err.service_code, "SerializationException");
    /* LastModifiedDate is a number with a fraction, as AWS writes it. */
    json_call(&f, "AmazonSSM.GetParameter", "{\"Name\":\"" AL2023_REC "/image_id\"}", &j);
    CU_ASSERT_EQUAL_FATAL(j.rc, 0);
    CU_ASSERT(json_is_real(json_object_get(json_object_get(j.doc, "Parameter"),
                                           "LastModifiedDate")));
    json_decref(j.doc);
    fx_teardown(&f);
}

struct subnets_res {
    int done, rc;
    struct core_err err;
    size_t n;
};

static void on_subnets(void *ud, int rc, const struct aws_ec2_subnets *res,
                       const struct core_err *err)
{
    struct subnets_res *r = ud;
    r->done = 1;
    r->rc = rc;
    if (err)
        r->err = *err;
    r->n = res ? res->n : 0;
}

static void test_ec2_signature(void)
{
    struct fx f;
    struct subnets_res s;
    struct aws_ec2_describe_subnets_req req;
    struct aws_creds_provider *bad_creds = NULL;
    struct aws_client *bad = NULL;
    struct sim_aws_stats st;
    struct core_err err;

    fx_setup(&f);
    memset(&req, 0, sizeof req);
    memset(&s, 0, sizeof s);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_subnets(f.s.c, &req, on_subnets, &s, &err), 0);
    fx_run(&f, &s.done);
    if (s.rc)
        fprintf(stderr, "\n  DescribeSubnets: %s\n", s.err.message);
    CU_ASSERT_EQUAL(s.rc, 0);
    CU_ASSERT(s.n >= 3); /* a subnet per zone at least */
    sim_aws_stats(f.s.a, &st);
    CU_ASSERT_EQUAL(st.auth_failures, 0);

    /* The right key id with the wrong secret: the signature does not match. */
    CU_ASSERT_EQUAL_FATAL(tests_simaws_client(&f.s, "not-the-secret", &bad_creds, &bad), 0);
    memset(&s, 0, sizeof s);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_subnets(bad, &req, on_subnets, &s, &err), 0);
    fx_run(&f, &s.done);
    CU_ASSERT_EQUAL(s.rc, CORE_E_AUTH);
    CU_ASSERT_STRING_EQUAL(s.err.service_code, "AuthFailure");
    sim_aws_stats(f.s.a, &st);
    CU_ASSERT(st.auth_failures >= 1);
    aws_client_free(bad);
    aws_creds_provider_free(bad_creds);
    fx_teardown(&f);
}

/* Every alias family of eks-nodes.md is present, for latest and pinned releases alike. */
static void test_alias_paths(void)
{
    struct fx f;
    size_t pinned_al2023 = 0, pinned_br = 0;
    int saw_win2025 = 0, saw_al2_133 = 0;

    fx_setup(&f);
    CU_ASSERT_PTR_NOT_NULL(core_map_get(f.s.a->param_by_name,
                                        "/aws/service/bottlerocket/aws-k8s-1.35/arm64/latest/"
                                        "image_version", NULL));
    CU_ASSERT_PTR_NOT_NULL(core_map_get(f.s.a->param_by_name,
                                        "/aws/service/eks/optimized-ami/1.32/amazon-linux-2-gpu/"
                                        "recommended/release_version", NULL));
    for (size_t i = 0; i < f.s.a->nparams; i++) {
        const char *n = f.s.a->params[i].name;
        if (strstr(n, "/amazon-linux-2023/") && strstr(n, "/amazon-eks-node-al2023-") &&
            strstr(n, "/image_id"))
            pinned_al2023++;
        if (strncmp(n, "/aws/service/bottlerocket/", 26) == 0 && !strstr(n, "/latest/") &&
            strstr(n, "/image_id"))
            pinned_br++;
        if (strstr(n, "Windows_Server-2025"))
            saw_win2025 = 1;
        if (strncmp(n, "/aws/service/eks/optimized-ami/1.33/amazon-linux-2/", 51) == 0)
            saw_al2_133 = 1;
        if (i > 0)
            CU_ASSERT(strcmp(f.s.a->params[i - 1].name, n) < 0);
    }
    /* 6 versions x 5 arch/variant lines x 3 releases; bottlerocket 6 x 4 x 3. */
    CU_ASSERT_EQUAL(pinned_al2023, 90);
    CU_ASSERT_EQUAL(pinned_br, 72);
    CU_ASSERT(saw_win2025);
    CU_ASSERT(!saw_al2_133);
    fx_teardown(&f);
}

TESTS_SUITE(sim_ssm, "sim_ssm", NULL, NULL, TESTS_CASE(test_get_parameter_matches_images),
            TESTS_CASE(test_get_parameters_batched), TESTS_CASE(test_get_parameters_by_path),
            TESTS_CASE(test_errors), TESTS_CASE(test_ec2_signature), TESTS_CASE(test_alias_paths))
