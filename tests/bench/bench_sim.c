/*
 * tests/bench/bench_sim.c — the emulator's DescribeInstances with 5,000 instances, the cost a
 * controller's every resync pays against `stoker sim`: (a) one InstanceId, (b) one unfiltered
 * page of MaxResults=1000, (c) a tag filter (one launch batch: 1,000 matches, one page).
 *
 * The account is filled through sim_aws_handle itself (RunInstances, MaxCount=1000, five
 * batches each tagged batch=bN, throttling off). Requests are signed once with
 * aws_sigv4_sign_headers, as a real client signs, and replayed: the virtual clock stands still,
 * so each stays valid, and the emulator verifies the signature on every call. Only
 * sim_aws_handle is timed.
 */
#include "tests/bench/bench.h"

#include "aws/aws.h"
#include "core/core.h"
#include "sim/internal.h"
#include "sim/sim.h"

#include <stdio.h>
#include <string.h>

#define N_INSTANCES 5000
#define BATCH 1000
#define HOST "ec2.us-east-1.amazonaws.com"

struct bsim {
    struct core_clock *clock;
    struct core_loop *loop;
    struct sim_aws *a;
    struct aws_credentials creds;
};

/* A signed EC2 request: headers and body owned here. */
struct bsigned {
    char *body;
    struct aws_sigv4_auth_headers auth;
    struct sim_header h[2 + AWS_SIGV4_AUTH_HEADERS_MAX];
    struct sim_http_req req;
};

static int bsign(struct bsim *b, const char *body, struct bsigned *s)
{
    struct aws_sigv4_header sh[2] = {{"Host", HOST},
                                     {"Content-Type",
                                      "application/x-www-form-urlencoded; charset=utf-8"}};
    struct aws_sigv4_request sr = {"POST", "/", sh, 2, body, strlen(body)};
    struct aws_sigv4_params sp;

    memset(s, 0, sizeof *s);
    memset(&sp, 0, sizeof sp);
    sp.region = SIM_AWS_REGION;
    sp.service = "ec2";
    sp.wall = core_clock_wall(b->clock);
    sp.normalize_path = 1;
    s->body = core_strdup(body);
    if (!s->body || aws_sigv4_sign_headers(&sr, &b->creds, &sp, &s->auth, NULL) != 0)
        return -1;
    s->h[0].name = sh[0].name;
    s->h[0].value = sh[0].value;
    s->h[1].name = sh[1].name;
    s->h[1].value = sh[1].value;
    for (size_t i = 0; i < s->auth.count; i++) {
        s->h[2 + i].name = s->auth.h[i].name;
        s->h[2 + i].value = s->auth.h[i].value;
    }
    s->req.method = "POST";
    s->req.target = "/";
    s->req.headers = s->h;
    s->req.nheaders = 2 + s->auth.count;
    s->req.body = s->body;
    s->req.body_len = strlen(s->body);
    return 0;
}

static void bsigned_cleanup(struct bsigned *s)
{
    aws_sigv4_auth_headers_cleanup(&s->auth);
    core_free(s->body);
}

/* One call; returns the HTTP status and, when out_len is not NULL, the body's length. */
static long bcall(struct bsim *b, const struct bsigned *s, size_t *out_len)
{
    struct core_http_response resp;
    core_ns delay = 0;
    long status;

    memset(&resp, 0, sizeof resp);
    core_buf_init(&resp.body, 256u * 1024u * 1024u);
    sim_aws_handle(b->a, &s->req, &resp, &delay);
    status = resp.status;
    if (out_len)
        *out_len = resp.body.len;
    if (status != 200)
        fprintf(stderr, "bench_sim: HTTP %ld: %.300s\n", status, core_buf_cstr(&resp.body));
    core_http_response_cleanup(&resp);
    return status;
}

static void bsim_free(struct bsim *b)
{
    sim_aws_free(b->a);
    core_loop_free(b->loop);
    core_clock_free(b->clock);
}

/* The account with N_INSTANCES running instances of m5.large in one subnet that offers it. */
static int bsim_new(struct bsim *b)
{
    struct sim_aws_opts o;
    const struct sim_itype *t;
    const struct sim_image *img = NULL;
    const struct sim_subnet *sn = NULL;
    char body[1024];

    memset(b, 0, sizeof *b);
    b->creds.access_key_id = (char *)SIM_AWS_ACCESS_KEY_ID;
    b->creds.secret_access_key = (char *)SIM_AWS_SECRET_ACCESS_KEY;
    b->clock = core_clock_virtual_new(0, INT64_C(1790000000) * CORE_NS_PER_S);
    if (!b->clock || core_loop_new(b->clock, NULL, &b->loop, NULL) != 0)
        return -1;
    sim_aws_opts_default(&o);
    o.faults.throttle = 0;
    o.seed = 1;
    if (sim_aws_new(b->loop, &o, &b->a, NULL) != 0)
        return -1;
    t = sim_itype_find(b->a, "m5.large");
    for (size_t i = 0; t && i < b->a->nsubnets && !sn; i++)
        if ((t->zones >> b->a->subnets[i].zone) & 1u && b->a->subnets[i].available > N_INSTANCES)
            sn = &b->a->subnets[i];
    for (size_t i = 0; i < b->a->nimages && !img; i++)
        if (b->a->images[i]->family == SIM_AMI_AL2023 && b->a->images[i]->latest &&
            strcmp(b->a->images[i]->arch, "x86_64") == 0)
            img = b->a->images[i];
    if (!t || !sn || !img) {
        fprintf(stderr, "bench_sim: no m5.large subnet or AL2023 image in the account\n");
        return -1;
    }
    for (int k = 0; k < N_INSTANCES / BATCH; k++) {
        struct bsigned s;
        long st;
        snprintf(body, sizeof body,
                 "Action=RunInstances&Version=2016-11-15&ImageId=%s&InstanceType=m5.large"
                 "&MinCount=%d&MaxCount=%d&SubnetId=%s"
                 "&TagSpecification.1.ResourceType=instance"
                 "&TagSpecification.1.Tag.1.Key=batch&TagSpecification.1.Tag.1.Value=b%d",
                 img->id, BATCH, BATCH, sn->id, k);
        if (bsign(b, body, &s) != 0)
            return -1;
        st = bcall(b, &s, NULL);
        bsigned_cleanup(&s);
        if (st != 200)
            return -1;
    }
    /* Past the launch delay: describes show running instances. */
    if (core_clock_advance(b->clock, 10 * 60 * CORE_NS_PER_S) != 0)
        return -1;
    return sim_aws_instance_count(b->a) == N_INSTANCES ? 0 : -1;
}

/* Times n calls of one signed request (query, plus the middle instance's id when by_id);
 * reports requests/s and the answer's size. */
static int bench_describe(struct bench_ctx *ctx, const char *query, int by_id, int n)
{
    struct bsim b;
    struct bsigned s;
    char body[512];
    size_t len = 0;
    int rc = 1;

    memset(&s, 0, sizeof s);
    if (bsim_new(&b) != 0)
        goto done;
    snprintf(body, sizeof body, "Action=DescribeInstances&Version=2016-11-15%s%s%s", query,
             by_id ? "&InstanceId.1=" : "", by_id ? b.a->instances[N_INSTANCES / 2]->id : "");
    if (bsign(&b, body, &s) != 0)
        goto done;
    if (bcall(&b, &s, &len) != 200) /* warm-up, and the size of one answer */
        goto done;
    bench_start(ctx);
    for (int i = 0; i < n; i++)
        if (bcall(&b, &s, NULL) != 200)
            goto done;
    bench_stop(ctx, n);
    bench_metric(ctx, "answer_bytes", (double)len);
    rc = 0;
done:
    bsigned_cleanup(&s);
    bsim_free(&b);
    return rc;
}

BENCH(bench_sim_by_id, "sim/describe_instances_5k_by_instance_id", "requests", 5)
{
    return bench_describe(ctx, "", 1, 5000);
}

BENCH(bench_sim_page, "sim/describe_instances_5k_page_of_1000", "requests", 5)
{
    return bench_describe(ctx, "&MaxResults=1000", 0, 40);
}

BENCH(bench_sim_tag, "sim/describe_instances_5k_tag_filter", "requests", 5)
{
    return bench_describe(ctx, "&Filter.1.Name=tag%3Abatch&Filter.1.Value.1=b3&MaxResults=1000",
                          0, 40);
}
