/*
 * tests/unit/test_sim_describe.c — suite "sim_describe": the emulated EC2 Describe* actions
 * (sim/ec2_describe.c) driven exactly as stoker's client drives them.
 *
 * Every request is built with aws_ec2_*_encode (the client's own encoders), handed to
 * sim_aws_handle as a form body, and every answer is parsed with aws_xml_parser and decoded
 * with aws_ec2_*_decode, so the emulator and the client are held to the same wire shapes.
 *
 * What is proven here:
 *  - subnets, security groups, zones, images, instance types, offerings and spot prices carry
 *    the account's real content and honour ids, filters (wildcards, tags) and their errors;
 *  - deprecated images are hidden unless IncludeDeprecated=true or named by ImageId;
 *  - pagination: pages concatenate to the full set without duplicates, also while instances
 *    are launched between pages; tokens are checked (forged, foreign, tampered are refused);
 *  - instances: everything the client decodes is rendered, a tag value with <&>"' round-trips,
 *    the consistency fault hides a new instance (NotFound when named) until its delay passed;
 *  - errors: unknown filter, bad MaxResults, MaxResults with InstanceId, malformed and unknown
 *    ids answer 400 with EC2's codes; hostile forms (odd filter indices, forged or oversized
 *    tokens, too many ids) are refused cleanly.
 */
#include "tests/unit/harness.h"

#include "aws/aws.h"
#include "core/core.h"
#include "sim/internal.h"
#include "sim/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S CORE_NS_PER_S
#define WALL_2026_03_02_10 (INT64_C(1772445600) * S) /* 2026-03-02T10:00:00Z */

/* ============================================================================================ */
/* Fixture                                                                                       */
/* ============================================================================================ */

struct fx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct sim_aws *a;
};

static void fx_init_with(struct fx *f, core_ns consistency_delay)
{
    struct sim_aws_opts o;
    struct core_err err;
    memset(f, 0, sizeof *f);
    core_err_clear(&err);
    f->clock = core_clock_virtual_new(0, WALL_2026_03_02_10);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(f->clock, NULL, &f->loop, &err), 0);
    sim_aws_opts_default(&o);
    o.skip_signature_check = 1;
    o.faults.throttle = 0;
    o.faults.consistency_delay = consistency_delay;
    if (sim_aws_new(f->loop, &o, &f->a, &err) != 0)
        fprintf(stderr, "\n  sim_aws_new: %s\n", err.message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->a);
}

static void fx_init(struct fx *f)
{
    fx_init_with(f, 0);
}

static void fx_free(struct fx *f)
{
    sim_aws_free(f->a);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

/* One exchange: q is encoded as the client would send it. The answer's parsed root is returned
 * (parser in *pp, freed by the caller); *status gets the HTTP status. */
static const struct aws_xml_node *call(struct fx *f, struct aws_query *q, long *status,
                                       struct aws_xml_parser **pp)
{
    static const struct sim_header hdrs[] = {
        {"Host", "ec2.us-east-1.amazonaws.com"},
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
    };
    struct core_buf body;
    struct core_http_response resp;
    struct sim_http_req req;
    const struct aws_xml_node *root = NULL;
    struct core_err err;
    core_ns delay = 0;

    core_err_clear(&err);
    core_buf_init(&body, 1u << 20);
    CU_ASSERT_EQUAL_FATAL(aws_query_encode(q, &body), 0);
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.target = "/";
    req.headers = hdrs;
    req.nheaders = sizeof hdrs / sizeof hdrs[0];
    req.body = core_buf_cstr(&body);
    req.body_len = body.len;
    memset(&resp, 0, sizeof resp);
    core_buf_init(&resp.body, 64u << 20);
    sim_aws_handle(f->a, &req, &resp, &delay);
    *status = resp.status;
    *pp = aws_xml_parser_new(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*pp);
    if (aws_xml_parser_feed(*pp, resp.body.data ? resp.body.data : "", resp.body.len, &err) !=
            0 ||
        aws_xml_parser_finish(*pp, &root, &err) != 0) {
        fprintf(stderr, "\n  unparsable answer (%ld): %s\n  %.400s\n", resp.status, err.message,
                core_buf_cstr(&resp.body));
        root = NULL;
    }
    core_http_response_cleanup(&resp);
    core_buf_cleanup(&body);
    aws_query_cleanup(q);
    return root;
}

/* Expects an EC2 error answer with this status and code; message must contain `needle` when
 * not NULL. */
static void expect_error(struct fx *f, struct aws_query *q, long want_status, const char *code,
                         const char *needle)
{
    struct aws_xml_parser *p = NULL;
    long status = 0;
    const struct aws_xml_node *root = call(f, q, &status, &p);
    const char *got, *msg;
    CU_ASSERT_EQUAL(status, want_status);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    got = aws_xml_path(root, "Errors/Error/Code") ? aws_xml_path(root, "Errors/Error/Code")->text
                                                  : "";
    msg = aws_xml_path(root, "Errors/Error/Message")
              ? aws_xml_path(root, "Errors/Error/Message")->text
              : "";
    if (strcmp(got, code) != 0 || (needle && !strstr(msg, needle)))
        fprintf(stderr, "\n  got %ld %s: %s (want %s ... %s)\n", status, got, msg, code,
                needle ? needle : "");
    CU_ASSERT_STRING_EQUAL(got, code);
    if (needle)
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, needle));
    aws_xml_parser_free(p);
}

/* Runs one successful Describe* page: encode, call, decode (appending into out). */
#define DESCRIBE(f, kind, req, tok, out, next)                                                 \
    do {                                                                                       \
        struct aws_query q_;                                                                   \
        struct aws_xml_parser *p_ = NULL;                                                      \
        struct core_err e_;                                                                    \
        long st_ = 0;                                                                          \
        const struct aws_xml_node *r_;                                                         \
        aws_query_init(&q_);                                                                   \
        core_err_clear(&e_);                                                                   \
        CU_ASSERT_EQUAL_FATAL(aws_ec2_##kind##_encode((req), (tok), &q_, &e_), 0);             \
        r_ = call((f), &q_, &st_, &p_);                                                        \
        CU_ASSERT_EQUAL(st_, 200);                                                             \
        CU_ASSERT_PTR_NOT_NULL_FATAL(r_);                                                      \
        if (aws_ec2_##kind##_decode(r_, (out), (next), &e_) != 0) {                            \
            fprintf(stderr, "\n  decode: %s\n", e_.message);                                   \
            CU_FAIL("decode failed");                                                          \
        }                                                                                      \
        aws_xml_parser_free(p_);                                                               \
    } while (0)

#define ENCODE_ERROR(f, kind, req, tok, status, code, needle)                                  \
    do {                                                                                       \
        struct aws_query q_;                                                                   \
        struct core_err e_;                                                                    \
        aws_query_init(&q_);                                                                   \
        core_err_clear(&e_);                                                                   \
        CU_ASSERT_EQUAL_FATAL(aws_ec2_##kind##_encode((req), (tok), &q_, &e_), 0);             \
        expect_error((f), &q_, (status), (code), (needle));                                    \
    } while (0)

static const char *tag_of(const struct aws_ec2_tags *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].key, key) == 0)
            return t->v[i].value;
    return NULL;
}

/* ============================================================================================ */
/* Pure helpers                                                                                  */
/* ============================================================================================ */

static void test_wildcards(void)
{
    CU_ASSERT_TRUE(sim_wildcard_match("*", ""));
    CU_ASSERT_TRUE(sim_wildcard_match("", ""));
    CU_ASSERT_FALSE(sim_wildcard_match("", "a"));
    CU_ASSERT_TRUE(sim_wildcard_match("amazon-eks-node-al2023-*-1.31-*",
                                      "amazon-eks-node-al2023-x86_64-standard-1.31-v20260101"));
    CU_ASSERT_FALSE(sim_wildcard_match("amazon-eks-node-al2023-*-1.31-*",
                                       "amazon-eks-node-al2023-x86_64-standard-1.32-v20260101"));
    CU_ASSERT_TRUE(sim_wildcard_match("m5.?large", "m5.xlarge"));
    CU_ASSERT_FALSE(sim_wildcard_match("m5.?large", "m5.large"));
    CU_ASSERT_TRUE(sim_wildcard_match("a\\*b", "a*b"));
    CU_ASSERT_FALSE(sim_wildcard_match("a\\*b", "axb"));
    CU_ASSERT_TRUE(sim_wildcard_match("a\\?", "a?"));
    CU_ASSERT_FALSE(sim_wildcard_match("a\\?", "ab"));
    CU_ASSERT_TRUE(sim_wildcard_match("**a**b**", "xxaxxbxx"));
    CU_ASSERT_TRUE(sim_wildcard_match("?", "\xC3\xA9"));   /* one character, two bytes */
    CU_ASSERT_FALSE(sim_wildcard_match("??", "\xC3\xA9"));
    CU_ASSERT_TRUE(sim_wildcard_match("Ab*", "Abc"));
    CU_ASSERT_FALSE(sim_wildcard_match("ab*", "Abc")); /* case-sensitive, as EC2 */
    CU_ASSERT_FALSE(sim_wildcard_match(NULL, "x"));
    {
        /* A hostile pattern stays fast (no exponential backtracking). */
        char pat[4001], val[4001];
        for (int i = 0; i < 4000; i++) {
            pat[i] = i % 2 ? 'a' : '*';
            val[i] = 'a';
        }
        pat[4000] = '\0';
        val[3999] = 'b';
        val[4000] = '\0';
        CU_ASSERT_FALSE(sim_wildcard_match(pat, val));
    }
}

static void test_filter_tags(void)
{
    struct aws_ec2_tag tv[2] = {{"team", "platform"}, {"env", "prod-1"}};
    struct aws_ec2_tags tags = {tv, 2};
    struct sim_filter f;
    memset(&f, 0, sizeof f);
    f.name = "tag:env";
    f.values[0] = "prod-*";
    f.nvalues = 1;
    CU_ASSERT_EQUAL(sim_filter_tags(&f, &tags), 1);
    f.values[0] = "dev";
    CU_ASSERT_EQUAL(sim_filter_tags(&f, &tags), 0);
    f.name = "tag:missing";
    f.values[0] = "*";
    CU_ASSERT_EQUAL(sim_filter_tags(&f, &tags), 0);
    f.name = "tag-key";
    f.values[0] = "te?m";
    CU_ASSERT_EQUAL(sim_filter_tags(&f, &tags), 1);
    f.name = "tag-value";
    f.values[0] = "nope";
    f.values[1] = "platform";
    f.nvalues = 2;
    CU_ASSERT_EQUAL(sim_filter_tags(&f, &tags), 1);
    CU_ASSERT_EQUAL(sim_filter_tags(&f, NULL), 0);
    f.name = "instance-type";
    CU_ASSERT_EQUAL(sim_filter_tags(&f, &tags), -1);
}

/* ============================================================================================ */
/* Network: subnets, security groups, zones                                                      */
/* ============================================================================================ */

static void test_subnets(void)
{
    struct fx f;
    struct aws_ec2_describe_subnets_req req;
    struct aws_ec2_subnets out = {0};
    char *next = NULL;
    const char *zones[8];
    size_t nzones = 0;

    fx_init(&f);
    memset(&req, 0, sizeof req);
    DESCRIBE(&f, describe_subnets, &req, NULL, &out, &next);
    CU_ASSERT_PTR_NULL(next);
    CU_ASSERT_EQUAL(out.n, f.a->nsubnets);
    CU_ASSERT_TRUE(out.n >= 3);
    for (size_t i = 0; i < out.n; i++) {
        size_t z = 0;
        CU_ASSERT_STRING_EQUAL(out.v[i].subnet_id, f.a->subnets[i].id);
        CU_ASSERT_STRING_EQUAL(out.v[i].vpc_id, f.a->vpc_id);
        CU_ASSERT_TRUE(out.v[i].available_ips > 0);
        CU_ASSERT_EQUAL(out.v[i].available_ips, f.a->subnets[i].available);
        CU_ASSERT_PTR_NOT_NULL(out.v[i].cidr_block);
        CU_ASSERT_PTR_NOT_NULL(out.v[i].availability_zone_id);
        CU_ASSERT_STRING_EQUAL(tag_of(&out.v[i].tags, "stoker.dev/discovery"), "sim");
        while (z < nzones && strcmp(zones[z], out.v[i].availability_zone) != 0)
            z++;
        if (z == nzones && nzones < 8)
            zones[nzones++] = out.v[i].availability_zone;
    }
    CU_ASSERT_EQUAL(nzones, 3);

    /* One zone by filter; tag filters with wildcards. */
    {
        const char *zv[] = {f.a->zones[1].name};
        const char *tv[] = {"sim-*"};
        struct aws_ec2_filter flt[] = {{"availability-zone", zv, 1}, {"tag:Name", tv, 1}};
        struct aws_ec2_subnets one = {0};
        req.filters = flt;
        req.nfilters = 2;
        DESCRIBE(&f, describe_subnets, &req, NULL, &one, &next);
        CU_ASSERT_EQUAL(one.n, 1);
        if (one.n)
            CU_ASSERT_STRING_EQUAL(one.v[0].availability_zone, f.a->zones[1].name);
        aws_ec2_subnets_cleanup(&one);
    }
    /* By id, and an unknown id. */
    {
        const char *ids[] = {f.a->subnets[2].id};
        const char *bad[] = {f.a->subnets[0].id, "subnet-0000000000000dead"};
        struct aws_ec2_subnets one = {0};
        memset(&req, 0, sizeof req);
        req.subnet_ids = ids;
        req.nsubnet_ids = 1;
        DESCRIBE(&f, describe_subnets, &req, NULL, &one, &next);
        CU_ASSERT_EQUAL_FATAL(one.n, 1);
        CU_ASSERT_STRING_EQUAL(one.v[0].subnet_id, ids[0]);
        aws_ec2_subnets_cleanup(&one);
        req.subnet_ids = bad;
        req.nsubnet_ids = 2;
        ENCODE_ERROR(&f, describe_subnets, &req, NULL, 400, "InvalidSubnetID.NotFound",
                     "subnet-0000000000000dead");
    }
    aws_ec2_subnets_cleanup(&out);
    fx_free(&f);
}

static void test_security_groups(void)
{
    struct fx f;
    struct aws_ec2_describe_security_groups_req req;
    struct aws_ec2_security_groups out = {0};
    char *next = NULL;
    const char *kv[] = {"stoker.dev/discovery"};
    struct aws_ec2_filter flt[] = {{"tag-key", kv, 1}};

    fx_init(&f);
    memset(&req, 0, sizeof req);
    DESCRIBE(&f, describe_security_groups, &req, NULL, &out, &next);
    CU_ASSERT_EQUAL(out.n, f.a->nsgs);
    for (size_t i = 0; i < out.n; i++) {
        CU_ASSERT_STRING_EQUAL(out.v[i].group_id, f.a->sgs[i].id);
        CU_ASSERT_STRING_EQUAL(out.v[i].group_name, f.a->sgs[i].name);
        CU_ASSERT_STRING_EQUAL(out.v[i].vpc_id, f.a->vpc_id);
    }
    aws_ec2_security_groups_cleanup(&out);

    req.filters = flt;
    req.nfilters = 1;
    DESCRIBE(&f, describe_security_groups, &req, NULL, &out, &next);
    CU_ASSERT_TRUE(out.n >= 1 && out.n < f.a->nsgs);
    for (size_t i = 0; i < out.n; i++)
        CU_ASSERT_PTR_NOT_NULL(tag_of(&out.v[i].tags, "stoker.dev/discovery"));
    aws_ec2_security_groups_cleanup(&out);

    {
        const char *names[] = {"stoker-node"};
        const char *ids[] = {"sg-00000000000000bad"};
        memset(&req, 0, sizeof req);
        req.group_names = names;
        req.ngroup_names = 1;
        DESCRIBE(&f, describe_security_groups, &req, NULL, &out, &next);
        CU_ASSERT_EQUAL(out.n, 1);
        aws_ec2_security_groups_cleanup(&out);
        memset(&req, 0, sizeof req);
        req.group_ids = ids;
        req.ngroup_ids = 1;
        ENCODE_ERROR(&f, describe_security_groups, &req, NULL, 400, "InvalidGroup.NotFound",
                     ids[0]);
    }
    fx_free(&f);
}

static void test_availability_zones(void)
{
    struct fx f;
    struct aws_query q;
    struct aws_xml_parser *p = NULL;
    const struct aws_xml_node *root, *set, *it;
    long status = 0;
    size_t n = 0;

    fx_init(&f);
    aws_query_init(&q);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "DescribeAvailabilityZones"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Version", AWS_EC2_API_VERSION), 0);
    root = call(&f, &q, &status, &p);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    set = aws_xml_child(root, "availabilityZoneInfo");
    for (it = aws_xml_next(set, NULL, "item"); it; it = aws_xml_next(set, it, "item")) {
        CU_ASSERT_STRING_EQUAL(aws_xml_child_text(it, "zoneName"), f.a->zones[n].name);
        CU_ASSERT_STRING_EQUAL(aws_xml_child_text(it, "zoneId"), f.a->zones[n].id);
        CU_ASSERT_STRING_EQUAL(aws_xml_child_text(it, "zoneState"), "available");
        CU_ASSERT_STRING_EQUAL(aws_xml_child_text(it, "regionName"), "us-east-1");
        n++;
    }
    CU_ASSERT_EQUAL(n, f.a->nzones);
    aws_xml_parser_free(p);

    aws_query_init(&q);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "DescribeAvailabilityZones"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Version", AWS_EC2_API_VERSION), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "ZoneName.1", "us-east-9z"), 0);
    expect_error(&f, &q, 400, "InvalidParameterValue", "us-east-9z");
    fx_free(&f);
}

/* ============================================================================================ */
/* Images                                                                                        */
/* ============================================================================================ */

static int deprecated_now(const struct fx *f, const struct sim_image *im)
{
    return im->deprecated_at && im->deprecated_at <= sim_wall(f->a);
}

static void test_images_by_name_wildcard(void)
{
    struct fx f;
    struct aws_ec2_describe_images_req req;
    struct aws_ec2_images out = {0};
    char *next = NULL;
    const char *pat = "amazon-eks-node-al2023-*-standard-1.31-*";
    const char *nv[] = {pat};
    const char *owners[] = {"amazon"};
    struct aws_ec2_filter flt[] = {{"name", nv, 1}};
    size_t want = 0;

    fx_init(&f);
    for (size_t i = 0; i < f.a->nimages; i++)
        if (sim_wildcard_match(pat, f.a->images[i]->name) && !deprecated_now(&f, f.a->images[i]))
            want++;
    CU_ASSERT_TRUE(want >= 2);
    memset(&req, 0, sizeof req);
    req.owners = owners;
    req.nowners = 1;
    req.filters = flt;
    req.nfilters = 1;
    DESCRIBE(&f, describe_images, &req, NULL, &out, &next);
    CU_ASSERT_EQUAL(out.n, want);
    for (size_t i = 0; i < out.n; i++) {
        CU_ASSERT_TRUE(sim_wildcard_match(pat, out.v[i].name));
        CU_ASSERT_STRING_EQUAL(out.v[i].owner_alias, "amazon");
        CU_ASSERT_STRING_EQUAL(out.v[i].state, "available");
        CU_ASSERT_STRING_EQUAL(out.v[i].platform_details, "Linux/UNIX");
        CU_ASSERT_STRING_EQUAL(out.v[i].root_device_name, "/dev/xvda");
        CU_ASSERT_TRUE(out.v[i].creation_date > 0);
        CU_ASSERT_TRUE(strcmp(out.v[i].architecture, "x86_64") == 0 ||
                       strcmp(out.v[i].architecture, "arm64") == 0);
    }
    aws_ec2_images_cleanup(&out);

    /* Owner self: only the account's own images, with their tags. */
    {
        const char *self[] = {"self"};
        memset(&req, 0, sizeof req);
        req.owners = self;
        req.nowners = 1;
        DESCRIBE(&f, describe_images, &req, NULL, &out, &next);
        CU_ASSERT_TRUE(out.n >= 1);
        for (size_t i = 0; i < out.n; i++) {
            CU_ASSERT_STRING_EQUAL(out.v[i].owner_id, SIM_AWS_ACCOUNT_ID);
            CU_ASSERT_PTR_NULL(out.v[i].owner_alias);
            CU_ASSERT_STRING_EQUAL(tag_of(&out.v[i].tags, "team"), "platform");
        }
        aws_ec2_images_cleanup(&out);
    }
    fx_free(&f);
}

static void test_images_deprecated(void)
{
    struct fx f;
    struct aws_ec2_describe_images_req req;
    struct aws_ec2_images out = {0};
    char *next = NULL;
    const struct sim_image *dep = NULL;
    size_t ndep = 0;

    fx_init(&f);
    for (size_t i = 0; i < f.a->nimages; i++)
        if (deprecated_now(&f, f.a->images[i])) {
            ndep++;
            dep = dep ? dep : f.a->images[i];
        }
    CU_ASSERT_TRUE_FATAL(ndep > 0);

    memset(&req, 0, sizeof req);
    DESCRIBE(&f, describe_images, &req, NULL, &out, &next);
    CU_ASSERT_EQUAL(out.n, f.a->nimages - ndep);
    for (size_t i = 0; i < out.n; i++)
        CU_ASSERT_TRUE(out.v[i].deprecation_time == 0 ||
                       out.v[i].deprecation_time > sim_wall(f.a));
    aws_ec2_images_cleanup(&out);

    req.include_deprecated = AWS_EC2_TRUE;
    DESCRIBE(&f, describe_images, &req, NULL, &out, &next);
    CU_ASSERT_EQUAL(out.n, f.a->nimages);
    aws_ec2_images_cleanup(&out);

    /* Named by id: shown even without IncludeDeprecated. */
    {
        const char *ids[] = {dep->id};
        memset(&req, 0, sizeof req);
        req.image_ids = ids;
        req.nimage_ids = 1;
        DESCRIBE(&f, describe_images, &req, NULL, &out, &next);
        CU_ASSERT_EQUAL_FATAL(out.n, 1);
        CU_ASSERT_STRING_EQUAL(out.v[0].image_id, dep->id);
        CU_ASSERT_EQUAL(out.v[0].deprecation_time, dep->deprecated_at / CORE_NS_PER_MS *
                                                       CORE_NS_PER_MS);
        aws_ec2_images_cleanup(&out);
    }
    fx_free(&f);
}

static void test_images_errors(void)
{
    struct fx f;
    struct aws_ec2_describe_images_req req;
    const char *malformed[] = {"ami-xyz"};
    const char *unknown[] = {"ami-0123456789abcdef0"};
    const char *bogus[] = {"bogus"};
    struct aws_ec2_filter flt[] = {{"no-such-filter", bogus, 1}};

    fx_init(&f);
    memset(&req, 0, sizeof req);
    req.image_ids = malformed;
    req.nimage_ids = 1;
    ENCODE_ERROR(&f, describe_images, &req, NULL, 400, "InvalidAMIID.Malformed", "ami-xyz");
    req.image_ids = unknown;
    ENCODE_ERROR(&f, describe_images, &req, NULL, 400, "InvalidAMIID.NotFound", unknown[0]);
    memset(&req, 0, sizeof req);
    req.filters = flt;
    req.nfilters = 1;
    ENCODE_ERROR(&f, describe_images, &req, NULL, 400, "InvalidParameterValue",
                 "no-such-filter");
    fx_free(&f);
}

/* ============================================================================================ */
/* Instance types, offerings, spot prices                                                        */
/* ============================================================================================ */

static size_t offered_types(const struct fx *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->a->nitypes; i++)
        n += f->a->itypes[i].zones != 0;
    return n;
}

static unsigned popcount(unsigned v)
{
    unsigned n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

static void test_instance_types_content(void)
{
    struct fx f;
    struct aws_ec2_describe_instance_types_req req;
    struct aws_ec2_instance_types out = {0};
    char *next = NULL;
    const char *names[] = {"m5.large", "p4d.24xlarge", "inf2.xlarge", "m5.metal"};

    fx_init(&f);
    memset(&req, 0, sizeof req);
    req.instance_types = names;
    req.ninstance_types = 4;
    DESCRIBE(&f, describe_instance_types, &req, NULL, &out, &next);
    CU_ASSERT_PTR_NULL(next);
    CU_ASSERT_EQUAL_FATAL(out.n, 4);
    for (size_t i = 0; i < out.n; i++) {
        const struct aws_ec2_instance_type *t = &out.v[i];
        if (strcmp(t->instance_type, "m5.large") == 0) {
            CU_ASSERT_EQUAL(t->vcpus, 2);
            CU_ASSERT_EQUAL(t->memory_mib, 8192);
            CU_ASSERT_EQUAL_FATAL(t->architectures.n, 1);
            CU_ASSERT_STRING_EQUAL(t->architectures.v[0], "x86_64");
            CU_ASSERT_EQUAL(t->usage_classes.n, 2);
            CU_ASSERT_TRUE(t->current_generation);
            CU_ASSERT_EQUAL(t->max_network_interfaces, 3);
            CU_ASSERT_EQUAL(t->ipv4_per_interface, 10);
            CU_ASSERT_STRING_EQUAL(t->hypervisor, "nitro");
            CU_ASSERT_FALSE(t->bare_metal);
            CU_ASSERT_FALSE(t->instance_storage_supported);
            CU_ASSERT_EQUAL(t->hibernation_supported,
                            sim_itype_find(f.a, "m5.large")->hibernation);
            CU_ASSERT_EQUAL(t->ngpus, 0);
        } else if (strcmp(t->instance_type, "p4d.24xlarge") == 0) {
            CU_ASSERT_EQUAL_FATAL(t->ngpus, 1);
            CU_ASSERT_EQUAL(t->gpus[0].count, 8);
            CU_ASSERT_STRING_EQUAL(t->gpus[0].manufacturer, "NVIDIA");
            CU_ASSERT_STRING_EQUAL(t->gpus[0].name, "A100");
            CU_ASSERT_TRUE(t->instance_storage_supported);
            CU_ASSERT_EQUAL(t->instance_storage_gb, 8000);
        } else if (strcmp(t->instance_type, "inf2.xlarge") == 0) {
            CU_ASSERT_EQUAL_FATAL(t->nneuron, 1);
            CU_ASSERT_EQUAL(t->neuron[0].count, 1);
        } else if (strcmp(t->instance_type, "m5.metal") == 0) {
            CU_ASSERT_TRUE(t->bare_metal);
            CU_ASSERT_PTR_NULL(t->hypervisor);
            CU_ASSERT_EQUAL(t->usage_classes.n, 1); /* on-demand only */
        } else {
            CU_FAIL("unexpected instance type");
        }
    }
    aws_ec2_instance_types_cleanup(&out);

    {
        const char *bad[] = {"m5.large", "m5.gigantic"};
        req.instance_types = bad;
        req.ninstance_types = 2;
        ENCODE_ERROR(&f, describe_instance_types, &req, NULL, 400, "InvalidInstanceType",
                     "m5.gigantic");
    }
    fx_free(&f);
}

static void test_instance_types_filters(void)
{
    struct fx f;
    struct aws_ec2_describe_instance_types_req req;
    struct aws_ec2_instance_types out = {0};
    char *next = NULL;
    const char *arch[] = {"arm64"};
    const char *vcpus[] = {"2"};
    const char *fam[] = {"m*g.*"};
    struct aws_ec2_filter flt[] = {{"processor-info.supported-architecture", arch, 1},
                                   {"vcpu-info.default-vcpus", vcpus, 1},
                                   {"instance-type", fam, 1}};
    unsigned pages = 0;

    fx_init(&f);
    memset(&req, 0, sizeof req);
    req.filters = flt;
    req.nfilters = 3;
    req.max_results = 5;
    do {
        char *tok = next;
        next = NULL;
        DESCRIBE(&f, describe_instance_types, &req, tok, &out, &next);
        core_free(tok);
        pages++;
    } while (next && pages < 100);
    CU_ASSERT_TRUE(out.n >= 2);
    for (size_t i = 0; i < out.n; i++) {
        CU_ASSERT_EQUAL(out.v[i].vcpus, 2);
        CU_ASSERT_STRING_EQUAL(out.v[i].architectures.v[0], "arm64");
        CU_ASSERT_TRUE(sim_wildcard_match("m*g.*", out.v[i].instance_type));
    }
    aws_ec2_instance_types_cleanup(&out);
    fx_free(&f);
}

/* Pages of 100 (the most EC2 allows) add up to every offered type once, in catalog order. */
static void test_instance_types_pagination(void)
{
    struct fx f;
    struct aws_ec2_describe_instance_types_req req;
    struct aws_ec2_instance_types out = {0};
    char *next = NULL;
    unsigned pages = 0;
    struct core_map *seen;
    size_t dups = 0;

    fx_init(&f);
    memset(&req, 0, sizeof req);
    req.max_results = 100;
    do {
        char *tok = next;
        size_t before = out.n;
        next = NULL;
        DESCRIBE(&f, describe_instance_types, &req, tok, &out, &next);
        CU_ASSERT_TRUE(out.n - before <= 100);
        core_free(tok);
        pages++;
    } while (next && pages < 1000);
    CU_ASSERT_EQUAL(out.n, offered_types(&f));
    CU_ASSERT_TRUE(pages > 1);
    seen = core_map_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(seen);
    for (size_t i = 0; i < out.n; i++) {
        if (core_map_get(seen, out.v[i].instance_type, NULL))
            dups++;
        CU_ASSERT_EQUAL(core_map_set(seen, out.v[i].instance_type, &out.v[i], NULL), 0);
        if (i)
            CU_ASSERT_TRUE(strcmp(out.v[i - 1].instance_type, out.v[i].instance_type) != 0);
    }
    CU_ASSERT_EQUAL(dups, 0);
    core_map_free(seen);
    aws_ec2_instance_types_cleanup(&out);
    fx_free(&f);
}

static void test_offerings(void)
{
    struct fx f;
    struct aws_ec2_describe_instance_type_offerings_req req;
    struct aws_ec2_offerings out = {0};
    char *next = NULL;
    const char *tv[] = {"m5.large"};
    struct aws_ec2_filter flt[] = {{"instance-type", tv, 1}};
    const struct sim_itype *it;

    fx_init(&f);
    it = sim_itype_find(f.a, "m5.large");
    CU_ASSERT_PTR_NOT_NULL_FATAL(it);
    memset(&req, 0, sizeof req);
    req.location_type = "availability-zone";
    req.filters = flt;
    req.nfilters = 1;
    DESCRIBE(&f, describe_instance_type_offerings, &req, NULL, &out, &next);
    CU_ASSERT_EQUAL(out.n, popcount(it->zones));
    for (size_t i = 0; i < out.n; i++) {
        int z = sim_zone_index(f.a, out.v[i].location);
        CU_ASSERT_TRUE(z >= 0 && (it->zones & (1u << z)));
        CU_ASSERT_STRING_EQUAL(out.v[i].location_type, "availability-zone");
    }
    aws_ec2_offerings_cleanup(&out);

    req.location_type = "availability-zone-id";
    DESCRIBE(&f, describe_instance_type_offerings, &req, NULL, &out, &next);
    CU_ASSERT_EQUAL(out.n, popcount(it->zones));
    for (size_t i = 0; i < out.n; i++)
        CU_ASSERT_TRUE(strncmp(out.v[i].location, "use1-az", 7) == 0);
    aws_ec2_offerings_cleanup(&out);

    req.location_type = NULL;
    DESCRIBE(&f, describe_instance_type_offerings, &req, NULL, &out, &next);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    CU_ASSERT_STRING_EQUAL(out.v[0].location, "us-east-1");
    CU_ASSERT_STRING_EQUAL(out.v[0].location_type, "region");
    aws_ec2_offerings_cleanup(&out);

    /* Every zone offering of every type, over default-size pages. */
    {
        size_t want = 0;
        unsigned pages = 0;
        for (size_t i = 0; i < f.a->nitypes; i++)
            want += popcount(f.a->itypes[i].zones);
        memset(&req, 0, sizeof req);
        req.location_type = "availability-zone";
        do {
            char *tok = next;
            next = NULL;
            DESCRIBE(&f, describe_instance_type_offerings, &req, tok, &out, &next);
            core_free(tok);
            pages++;
        } while (next && pages < 100);
        CU_ASSERT_EQUAL(out.n, want);
        CU_ASSERT_TRUE(pages > 1);
        aws_ec2_offerings_cleanup(&out);
    }
    fx_free(&f);
}

static void test_spot_prices(void)
{
    struct fx f;
    struct aws_ec2_describe_spot_price_history_req req;
    struct aws_ec2_spot_prices out = {0};
    char *next = NULL;
    const char *types[] = {"m5.large"};
    const char *linux_[] = {"Linux/UNIX"};
    const char *windows[] = {"Windows"};
    const struct sim_itype *it;

    fx_init(&f);
    it = sim_itype_find(f.a, "m5.large");
    CU_ASSERT_PTR_NOT_NULL_FATAL(it);
    memset(&req, 0, sizeof req);
    req.instance_types = types;
    req.ninstance_types = 1;
    req.product_descriptions = linux_;
    req.nproduct_descriptions = 1;
    req.start_time = sim_wall(f.a);
    DESCRIBE(&f, describe_spot_price_history, &req, NULL, &out, &next);
    CU_ASSERT_EQUAL(out.n, popcount(it->zones));
    for (size_t i = 0; i < out.n; i++) {
        int z = sim_zone_index(f.a, out.v[i].availability_zone);
        CU_ASSERT_STRING_EQUAL(out.v[i].instance_type, "m5.large");
        CU_ASSERT_STRING_EQUAL(out.v[i].product_description, "Linux/UNIX");
        CU_ASSERT_EQUAL(out.v[i].timestamp, sim_wall(f.a));
        CU_ASSERT_TRUE_FATAL(z >= 0);
        CU_ASSERT_DOUBLE_EQUAL(out.v[i].spot_price, it->spot_price[z], 1e-6);
        CU_ASSERT_TRUE(out.v[i].spot_price > 0 && out.v[i].spot_price < it->od_price);
    }
    aws_ec2_spot_prices_cleanup(&out);

    req.product_descriptions = windows;
    DESCRIBE(&f, describe_spot_price_history, &req, NULL, &out, &next);
    CU_ASSERT_EQUAL(out.n, 0);
    aws_ec2_spot_prices_cleanup(&out);

    /* Bare metal is on-demand only here. */
    {
        const char *metal[] = {"m5.metal"};
        memset(&req, 0, sizeof req);
        req.instance_types = metal;
        req.ninstance_types = 1;
        DESCRIBE(&f, describe_spot_price_history, &req, NULL, &out, &next);
        CU_ASSERT_EQUAL(out.n, 0);
        aws_ec2_spot_prices_cleanup(&out);
    }
    fx_free(&f);
}

/* ============================================================================================ */
/* Pagination errors                                                                             */
/* ============================================================================================ */

static void test_pagination_errors(void)
{
    struct fx f;
    struct aws_ec2_describe_instance_types_req req;
    struct aws_ec2_instance_types out = {0};
    char *next = NULL, forged[256];

    fx_init(&f);
    memset(&req, 0, sizeof req);
    req.max_results = 5;
    DESCRIBE(&f, describe_instance_types, &req, NULL, &out, &next);
    CU_ASSERT_EQUAL(out.n, 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(next);
    aws_ec2_instance_types_cleanup(&out);

    /* Tampered: change the last hex digit of the checksum. */
    core_strlcpy(forged, next, sizeof forged);
    forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == '0' ? '1' : '0';
    ENCODE_ERROR(&f, describe_instance_types, &req, forged, 400, "InvalidParameterValue",
                 "NextToken");
    ENCODE_ERROR(&f, describe_instance_types, &req, "garbage", 400, "InvalidParameterValue",
                 "NextToken");
    /* Another action's token (or the same token with other filters) is refused too. */
    {
        struct aws_ec2_describe_instance_type_offerings_req oreq;
        memset(&oreq, 0, sizeof oreq);
        ENCODE_ERROR(&f, describe_instance_type_offerings, &oreq, next, 400,
                     "InvalidParameterValue", "NextToken");
    }
    {
        const char *arch[] = {"arm64"};
        struct aws_ec2_filter flt[] = {{"processor-info.supported-architecture", arch, 1}};
        req.filters = flt;
        req.nfilters = 1;
        ENCODE_ERROR(&f, describe_instance_types, &req, next, 400, "InvalidParameterValue",
                     "NextToken");
        req.filters = NULL;
        req.nfilters = 0;
    }
    /* The genuine token still works, and MaxResults may change between pages. */
    req.max_results = 7;
    DESCRIBE(&f, describe_instance_types, &req, next, &out, NULL);
    CU_ASSERT_EQUAL(out.n, 7);
    aws_ec2_instance_types_cleanup(&out);
    core_free(next);

    /* MaxResults outside 5..100 (the encoder refuses it, so the form is built by hand). */
    {
        struct aws_query q;
        aws_query_init(&q);
        CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "DescribeInstanceTypes"), 0);
        CU_ASSERT_EQUAL(aws_query_add(&q, "Version", AWS_EC2_API_VERSION), 0);
        CU_ASSERT_EQUAL(aws_query_add(&q, "MaxResults", "101"), 0);
        expect_error(&f, &q, 400, "InvalidParameterValue", "maxResults");
        aws_query_init(&q);
        CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "DescribeInstanceTypes"), 0);
        CU_ASSERT_EQUAL(aws_query_add(&q, "Version", AWS_EC2_API_VERSION), 0);
        CU_ASSERT_EQUAL(aws_query_add(&q, "MaxResults", "ten"), 0);
        expect_error(&f, &q, 400, "InvalidParameterValue", "MaxResults");
        aws_query_init(&q);
        CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "DescribeInstanceTypes"), 0);
        CU_ASSERT_EQUAL(aws_query_add(&q, "Version", AWS_EC2_API_VERSION), 0);
        CU_ASSERT_EQUAL(aws_query_add(&q, "Filter.1.Name", "instance-type"), 0);
        expect_error(&f, &q, 400, "InvalidParameterValue", "instance-type");
        aws_query_init(&q);
        CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "DescribeInstanceTypes"), 0);
        CU_ASSERT_EQUAL(aws_query_add(&q, "Version", AWS_EC2_API_VERSION), 0);
        CU_ASSERT_EQUAL(aws_query_add(&q, "Filter.51.Name", "instance-type"), 0);
        CU_ASSERT_EQUAL(aws_query_add(&q, "Filter.51.Value.1", "m5.large"), 0);
        expect_error(&f, &q, 400, "InvalidParameterValue", "filters");
    }
    fx_free(&f);
}

/* ============================================================================================ */
/* Instances                                                                                     */
/* ============================================================================================ */

static const struct sim_image *image_named(const struct fx *f, const char *prefix)
{
    for (size_t i = 0; i < f->a->nimages; i++)
        if (strncmp(f->a->images[i]->name, prefix, strlen(prefix)) == 0 &&
            f->a->images[i]->latest)
            return f->a->images[i];
    return NULL;
}

/* Launches n instances in one reservation through the lifecycle module. */
static void launch(struct fx *f, size_t n, const char *type, int spot, const char *tag_value,
                   struct sim_instance **out)
{
    struct sim_launch_spec s;
    struct aws_ec2_tag tv[2] = {{"Name", "sim-node"}, {"note", (char *)tag_value}};
    struct aws_ec2_tags tags = {tv, tag_value ? 2 : 1};
    const char *sgs[] = {f->a->sgs[1].id};
    char rid[SIM_ID_MAX];
    struct core_err err;

    memset(&s, 0, sizeof s);
    sim_new_id(f->a, "r-", rid, sizeof rid);
    s.type = sim_itype_find(f->a, type);
    s.image = image_named(f, "amazon-eks-node-al2023-x86_64-standard-1.31");
    s.subnet = &f->a->subnets[0];
    s.sg_ids = sgs;
    s.nsg = 1;
    s.spot = spot;
    s.profile_arn = "arn:aws:iam::123456789012:instance-profile/stoker-node";
    s.client_token = "tok-1";
    s.reservation_id = rid;
    s.tags = &tags;
    CU_ASSERT_PTR_NOT_NULL_FATAL(s.type);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s.image);
    for (size_t i = 0; i < n; i++) {
        struct sim_instance *inst = NULL;
        core_err_clear(&err);
        CU_ASSERT_EQUAL_FATAL(sim_instance_launch(f->a, &s, &inst, &err), 0);
        if (out)
            out[i] = inst;
    }
}

static void test_instances_render(void)
{
    struct fx f;
    struct aws_ec2_describe_instances_req req;
    struct aws_ec2_instances out = {0};
    char *next = NULL;
    struct sim_instance *i[2];
    static const char nasty[] = "<&>\"' \xC3\xA9";

    fx_init(&f);
    launch(&f, 1, "m5.large", 0, nasty, &i[0]);
    launch(&f, 1, "m7g.large", 1, NULL, &i[1]);
    memset(&req, 0, sizeof req);
    DESCRIBE(&f, describe_instances, &req, NULL, &out, &next);
    CU_ASSERT_PTR_NULL(next);
    CU_ASSERT_EQUAL_FATAL(out.n, 2);
    {
        const struct aws_ec2_instance *v = &out.v[0];
        CU_ASSERT_STRING_EQUAL(v->instance_id, i[0]->id);
        CU_ASSERT_STRING_EQUAL(v->instance_type, "m5.large");
        CU_ASSERT_STRING_EQUAL(v->image_id, i[0]->image->id);
        CU_ASSERT_STRING_EQUAL(v->state_name, "pending");
        CU_ASSERT_EQUAL(v->state_code, 0);
        CU_ASSERT_STRING_EQUAL(v->subnet_id, f.a->subnets[0].id);
        CU_ASSERT_STRING_EQUAL(v->vpc_id, f.a->vpc_id);
        CU_ASSERT_STRING_EQUAL(v->availability_zone, f.a->zones[f.a->subnets[0].zone].name);
        CU_ASSERT_STRING_EQUAL(v->private_ip, i[0]->private_ip);
        CU_ASSERT_STRING_EQUAL(v->private_dns_name, i[0]->private_dns);
        CU_ASSERT_EQUAL(v->launch_time, i[0]->launch_wall / CORE_NS_PER_MS * CORE_NS_PER_MS);
        CU_ASSERT_STRING_EQUAL(v->architecture, "x86_64");
        CU_ASSERT_PTR_NULL(v->lifecycle);
        CU_ASSERT_STRING_EQUAL(v->iam_instance_profile_arn,
                               "arn:aws:iam::123456789012:instance-profile/stoker-node");
        CU_ASSERT_STRING_EQUAL(v->client_token, "tok-1");
        CU_ASSERT_STRING_EQUAL(tag_of(&v->tags, "note"), nasty);
        CU_ASSERT_STRING_EQUAL(tag_of(&v->tags, "Name"), "sim-node");
    }
    CU_ASSERT_STRING_EQUAL(out.v[1].lifecycle, "spot");
    CU_ASSERT_PTR_NOT_NULL(out.v[1].spot_instance_request_id);
    aws_ec2_instances_cleanup(&out);

    /* After the boot delay the same instance is running. */
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, 600 * S), 0);
    {
        const char *ids[] = {i[0]->id};
        req.instance_ids = ids;
        req.ninstance_ids = 1;
        DESCRIBE(&f, describe_instances, &req, NULL, &out, &next);
        CU_ASSERT_EQUAL_FATAL(out.n, 1);
        CU_ASSERT_STRING_EQUAL(out.v[0].state_name, "running");
        CU_ASSERT_EQUAL(out.v[0].state_code, 16);
        aws_ec2_instances_cleanup(&out);
    }
    fx_free(&f);
}

static void test_instances_filters(void)
{
    struct fx f;
    struct aws_ec2_describe_instances_req req;
    struct aws_ec2_instances out = {0};
    char *next = NULL;
    struct sim_instance *spot[3];
    const char *lc[] = {"spot"};
    const char *nm[] = {"sim-*"};
    const char *st[] = {"pending", "running"};
    struct aws_ec2_filter flt[] = {
        {"instance-lifecycle", lc, 1}, {"tag:Name", nm, 1}, {"instance-state-name", st, 2}};

    fx_init(&f);
    launch(&f, 2, "m5.large", 0, NULL, NULL);
    launch(&f, 3, "c5.large", 1, NULL, spot);
    memset(&req, 0, sizeof req);
    req.filters = flt;
    req.nfilters = 3;
    DESCRIBE(&f, describe_instances, &req, NULL, &out, &next);
    CU_ASSERT_EQUAL_FATAL(out.n, 3);
    for (size_t k = 0; k < 3; k++)
        CU_ASSERT_STRING_EQUAL(out.v[k].instance_id, spot[k]->id);
    aws_ec2_instances_cleanup(&out);

    {
        const char *tv[] = {"c5.*"};
        const char *zv[] = {"us-east-1z"};
        struct aws_ec2_filter f2[] = {{"instance-type", tv, 1}, {"availability-zone", zv, 1}};
        req.filters = f2;
        req.nfilters = 2;
        DESCRIBE(&f, describe_instances, &req, NULL, &out, &next);
        CU_ASSERT_EQUAL(out.n, 0);
        aws_ec2_instances_cleanup(&out);
    }
    fx_free(&f);
}

static void test_instances_pagination_with_launches(void)
{
    struct fx f;
    struct aws_ec2_describe_instances_req req;
    struct aws_ec2_instances out = {0};
    char *next = NULL;
    struct sim_instance *first[12], *late[2];
    unsigned pages = 0;

    fx_init(&f);
    launch(&f, 12, "m5.large", 0, NULL, first);
    memset(&req, 0, sizeof req);
    req.max_results = 5;
    do {
        char *tok = next;
        size_t before = out.n;
        next = NULL;
        DESCRIBE(&f, describe_instances, &req, tok, &out, &next);
        CU_ASSERT_TRUE(out.n - before <= 5);
        core_free(tok);
        if (++pages == 1)
            launch(&f, 2, "c5.large", 0, NULL, late); /* lands after every position given out */
    } while (next && pages < 20);
    CU_ASSERT_EQUAL(pages, 3);
    CU_ASSERT_EQUAL_FATAL(out.n, 14);
    for (size_t k = 0; k < 12; k++)
        CU_ASSERT_STRING_EQUAL(out.v[k].instance_id, first[k]->id);
    CU_ASSERT_STRING_EQUAL(out.v[12].instance_id, late[0]->id);
    CU_ASSERT_STRING_EQUAL(out.v[13].instance_id, late[1]->id);
    aws_ec2_instances_cleanup(&out);
    fx_free(&f);
}

static void test_instances_consistency_fault(void)
{
    struct fx f;
    struct aws_ec2_describe_instances_req req;
    struct aws_ec2_instances out = {0};
    char *next = NULL;
    struct sim_instance *i;
    const char *ids[1];

    fx_init_with(&f, 5 * S);
    launch(&f, 1, "m5.large", 0, NULL, &i);
    memset(&req, 0, sizeof req);
    DESCRIBE(&f, describe_instances, &req, NULL, &out, &next);
    CU_ASSERT_EQUAL(out.n, 0);
    aws_ec2_instances_cleanup(&out);
    ids[0] = i->id;
    req.instance_ids = ids;
    req.ninstance_ids = 1;
    ENCODE_ERROR(&f, describe_instances, &req, NULL, 400, "InvalidInstanceID.NotFound", i->id);

    CU_ASSERT_EQUAL(core_clock_advance(f.clock, 6 * S), 0);
    DESCRIBE(&f, describe_instances, &req, NULL, &out, &next);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    CU_ASSERT_STRING_EQUAL(out.v[0].instance_id, i->id);
    aws_ec2_instances_cleanup(&out);
    fx_free(&f);
}

static void test_instances_errors(void)
{
    struct fx f;
    struct aws_query q;
    struct aws_ec2_describe_instances_req req;
    const char *malformed[] = {"i-nothex"};
    const char *unknown[] = {"i-0123456789abcdef0", "i-0123456789abcdef1"};
    const char *v[] = {"x"};
    struct aws_ec2_filter flt[] = {{"instance-colour", v, 1}};

    fx_init(&f);
    memset(&req, 0, sizeof req);
    req.instance_ids = malformed;
    req.ninstance_ids = 1;
    ENCODE_ERROR(&f, describe_instances, &req, NULL, 400, "InvalidInstanceID.Malformed",
                 "i-nothex");
    req.instance_ids = unknown;
    req.ninstance_ids = 2;
    ENCODE_ERROR(&f, describe_instances, &req, NULL, 400, "InvalidInstanceID.NotFound",
                 "i-0123456789abcdef1");
    memset(&req, 0, sizeof req);
    req.filters = flt;
    req.nfilters = 1;
    ENCODE_ERROR(&f, describe_instances, &req, NULL, 400, "InvalidParameterValue",
                 "instance-colour");

    /* The client refuses MaxResults with ids; another client may send them together. */
    aws_query_init(&q);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "DescribeInstances"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Version", AWS_EC2_API_VERSION), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "InstanceId.1", "i-0123456789abcdef0"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "MaxResults", "10"), 0);
    expect_error(&f, &q, 400, "InvalidParameterCombination", "maxResults");
    aws_query_init(&q);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "DescribeInstances"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Version", AWS_EC2_API_VERSION), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "MaxResults", "4"), 0);
    expect_error(&f, &q, 400, "InvalidParameterValue", "maxResults");
    fx_free(&f);
}

/* ============================================================================================ */
/* Launch templates                                                                              */
/* ============================================================================================ */

static void create_lt(struct fx *f, const char *name, const char *team)
{
    struct aws_ec2_create_launch_template_req req;
    struct aws_ec2_tag tv[] = {{"team", (char *)team}};
    struct aws_ec2_tag_spec ts[] = {{"launch-template", tv, 1}};
    struct aws_ec2_launch_templates out = {0};
    struct aws_query q;
    struct aws_xml_parser *p = NULL;
    const struct aws_xml_node *root;
    struct core_err err;
    long status = 0;

    memset(&req, 0, sizeof req);
    req.name = name;
    req.data.image_id = f->a->images[0]->id;
    req.data.instance_type = "m5.large";
    req.tag_specs = ts;
    req.ntag_specs = 1;
    aws_query_init(&q);
    core_err_clear(&err);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_create_launch_template_encode(&req, &q, &err), 0);
    root = call(f, &q, &status, &p);
    CU_ASSERT_EQUAL_FATAL(status, 200);
    CU_ASSERT_EQUAL(aws_ec2_create_launch_template_decode(root, &out, &err), 0);
    aws_ec2_launch_templates_cleanup(&out);
    aws_xml_parser_free(p);
}

static void test_launch_templates(void)
{
    struct fx f;
    struct aws_ec2_describe_launch_templates_req req;
    struct aws_ec2_launch_templates out = {0};
    char *next = NULL;
    char name[64];
    unsigned pages = 0;

    fx_init(&f);
    for (int k = 0; k < 7; k++) {
        snprintf(name, sizeof name, "stoker/sim/pool-%d", k);
        create_lt(&f, name, k % 2 ? "odd" : "even");
    }
    memset(&req, 0, sizeof req);
    req.max_results = 3;
    do {
        char *tok = next;
        next = NULL;
        DESCRIBE(&f, describe_launch_templates, &req, tok, &out, &next);
        core_free(tok);
        pages++;
    } while (next && pages < 20);
    CU_ASSERT_EQUAL(pages, 3);
    CU_ASSERT_EQUAL_FATAL(out.n, 7);
    for (int k = 0; k < 7; k++) {
        snprintf(name, sizeof name, "stoker/sim/pool-%d", k);
        CU_ASSERT_STRING_EQUAL(out.v[k].launch_template_name, name);
        CU_ASSERT_EQUAL(out.v[k].default_version, 1);
        CU_ASSERT_EQUAL(out.v[k].latest_version, 1);
        CU_ASSERT_TRUE(out.v[k].create_time > 0);
        CU_ASSERT_STRING_EQUAL(tag_of(&out.v[k].tags, "team"), k % 2 ? "odd" : "even");
    }
    aws_ec2_launch_templates_cleanup(&out);

    {
        const char *ev[] = {"even"};
        const char *nv[] = {"stoker/sim/pool-[0-9]", "stoker/sim/pool-?"};
        struct aws_ec2_filter flt[] = {{"tag:team", ev, 1}, {"launch-template-name", nv, 2}};
        memset(&req, 0, sizeof req);
        req.filters = flt;
        req.nfilters = 2;
        DESCRIBE(&f, describe_launch_templates, &req, NULL, &out, &next);
        CU_ASSERT_EQUAL(out.n, 4);
        aws_ec2_launch_templates_cleanup(&out);
    }
    {
        const char *names[] = {"stoker/sim/none"};
        const char *ids[] = {"lt-0123456789abcdef0"};
        memset(&req, 0, sizeof req);
        req.names = names;
        req.nnames = 1;
        ENCODE_ERROR(&f, describe_launch_templates, &req, NULL, 400,
                     "InvalidLaunchTemplateName.NotFoundException", NULL);
        memset(&req, 0, sizeof req);
        req.ids = ids;
        req.nids = 1;
        ENCODE_ERROR(&f, describe_launch_templates, &req, NULL, 400,
                     "InvalidLaunchTemplateId.NotFound", ids[0]);
    }
    fx_free(&f);
}

/* Hostile forms: every one answers 400 InvalidParameterValue (or a plain empty success), never
 * a crash or a 500. */
static void test_hostile_parameters(void)
{
    static const char *const cases[][2] = {
        {"Filter.0.Name", "instance-type"},
        {"Filter.1.Colour", "red"},
        {"Filter.1.Value.201", "x"},
        {"Filter.9999999999.Name", "x"},
        {"Filter.01.Name", "x"},
        {"MaxResults", "-1"},
        {"MaxResults", "99999999999999999999"},
        {"MaxResults", ""},
        {"NextToken", "dit.0.."},
        {"NextToken", "dit.-1.x.0"},
        {"NextToken", "dit.fffffffffffffffffffff.x.00000000"},
        {"NextToken", "dit.1.a.b.c.d"},
        {"NextToken",
         "dit.1.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.0"},
    };
    struct fx f;
    fx_init(&f);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct aws_query q;
        aws_query_init(&q);
        CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "DescribeInstanceTypes"), 0);
        CU_ASSERT_EQUAL(aws_query_add(&q, "Version", AWS_EC2_API_VERSION), 0);
        CU_ASSERT_EQUAL(aws_query_add(&q, cases[k][0], cases[k][1]), 0);
        if (strcmp(cases[k][0], "Filter.1.Value.201") == 0)
            CU_ASSERT_EQUAL(aws_query_add(&q, "Filter.1.Name", "instance-type"), 0);
        expect_error(&f, &q, 400, "InvalidParameterValue", NULL);
    }
    {
        /* Ids beyond the per-request bound. */
        struct aws_query q;
        aws_query_init(&q);
        CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "DescribeInstances"), 0);
        CU_ASSERT_EQUAL(aws_query_add(&q, "Version", AWS_EC2_API_VERSION), 0);
        for (unsigned k = 1; k <= 1001; k++)
            CU_ASSERT_EQUAL(aws_query_addf(&q, "i-0123456789abcdef0", "InstanceId.%u", k), 0);
        expect_error(&f, &q, 400, "InvalidParameterValue", "InstanceId");
    }
    fx_free(&f);
}

TESTS_SUITE(sim_describe, "sim_describe", NULL, NULL, TESTS_CASE(test_wildcards),
            TESTS_CASE(test_filter_tags), TESTS_CASE(test_subnets),
            TESTS_CASE(test_security_groups), TESTS_CASE(test_availability_zones),
            TESTS_CASE(test_images_by_name_wildcard), TESTS_CASE(test_images_deprecated),
            TESTS_CASE(test_images_errors), TESTS_CASE(test_instance_types_content),
            TESTS_CASE(test_instance_types_filters), TESTS_CASE(test_instance_types_pagination),
            TESTS_CASE(test_offerings), TESTS_CASE(test_spot_prices),
            TESTS_CASE(test_pagination_errors), TESTS_CASE(test_instances_render),
            TESTS_CASE(test_instances_filters),
            TESTS_CASE(test_instances_pagination_with_launches),
            TESTS_CASE(test_instances_consistency_fault), TESTS_CASE(test_instances_errors),
            TESTS_CASE(test_launch_templates), TESTS_CASE(test_hostile_parameters))
