/*
 * tests/unit/test_aws_client.c — the AWS client pipeline on the scripted transport and a
 * virtual clock: region and endpoint resolution, signing on the wire, error decoding for the
 * Query and JSON protocols, retries (throttling, 5xx, proxies, timeouts, eventual consistency),
 * the retry quota, per-action rate limits, cancellation on free, allocation failures; and the
 * SSM and STS calls built on it.
 */
#include "tests/unit/harness.h"

#include "aws/aws.h"

#include <string.h>

#define MS CORE_NS_PER_MS
#define T0 (INT64_C(1795352400) * CORE_NS_PER_S) /* 2026-11-22T13:00:00Z */

/* ---- a fake environment ------------------------------------------------------------------- */

struct env_table {
    const char *kv[32]; /* name, value, name, value, ..., NULL */
};

static const char *env_lookup(void *ud, const char *name)
{
    const struct env_table *t = ud;
    for (size_t i = 0; t->kv[i]; i += 2)
        if (strcmp(t->kv[i], name) == 0)
            return t->kv[i + 1];
    return NULL;
}

static int resolve(struct aws_config *cfg, const char *flag, struct core_err *err, ...)
{
    struct env_table t;
    struct aws_env env = {env_lookup, &t};
    va_list ap;
    size_t i = 0;
    const char *s;
    memset(&t, 0, sizeof t);
    va_start(ap, err);
    while ((s = va_arg(ap, const char *)) != NULL && i < 30)
        t.kv[i++] = s;
    va_end(ap);
    return aws_config_resolve(cfg, &env, flag, err);
}

static void test_config_region_and_endpoints(void)
{
    struct aws_config cfg;
    struct core_err err;

    CU_ASSERT_EQUAL(resolve(&cfg, NULL, &err, "AWS_DEFAULT_REGION", "eu-west-1", NULL), 0);
    CU_ASSERT_STRING_EQUAL(cfg.region, "eu-west-1");
    CU_ASSERT_STRING_EQUAL(cfg.endpoint[AWS_SVC_EC2], "https://ec2.eu-west-1.amazonaws.com");
    CU_ASSERT_STRING_EQUAL(cfg.endpoint[AWS_SVC_SSM], "https://ssm.eu-west-1.amazonaws.com");
    CU_ASSERT_STRING_EQUAL(cfg.endpoint[AWS_SVC_STS], "https://sts.eu-west-1.amazonaws.com");
    CU_ASSERT_STRING_EQUAL(cfg.imds_endpoint, "http://169.254.169.254");
    CU_ASSERT_FALSE(cfg.imds_disabled);
    /* AWS_REGION beats AWS_DEFAULT_REGION; the flag beats both. */
    CU_ASSERT_EQUAL(resolve(&cfg, NULL, &err, "AWS_DEFAULT_REGION", "eu-west-1", "AWS_REGION",
                            "us-west-2", NULL), 0);
    CU_ASSERT_STRING_EQUAL(cfg.region, "us-west-2");
    CU_ASSERT_EQUAL(resolve(&cfg, "ap-south-1", &err, "AWS_REGION", "us-west-2", NULL), 0);
    CU_ASSERT_STRING_EQUAL(cfg.region, "ap-south-1");
    CU_ASSERT_EQUAL(resolve(&cfg, "cn-north-1", &err, NULL), 0);
    CU_ASSERT_STRING_EQUAL(cfg.endpoint[AWS_SVC_EC2], "https://ec2.cn-north-1.amazonaws.com.cn");
    /* Endpoint overrides: per service over the general one; trailing '/' dropped. */
    CU_ASSERT_EQUAL(resolve(&cfg, NULL, &err, "AWS_REGION", "us-east-1", "AWS_ENDPOINT_URL",
                            "http://127.0.0.1:4566/", "AWS_ENDPOINT_URL_EC2",
                            "http://localhost:9000", "AWS_EC2_METADATA_DISABLED", "true", NULL), 0);
    CU_ASSERT_STRING_EQUAL(cfg.endpoint[AWS_SVC_EC2], "http://localhost:9000");
    CU_ASSERT_STRING_EQUAL(cfg.endpoint[AWS_SVC_SSM], "http://127.0.0.1:4566");
    CU_ASSERT_STRING_EQUAL(cfg.endpoint[AWS_SVC_STS], "http://127.0.0.1:4566");
    CU_ASSERT(cfg.imds_disabled);
}

static void test_config_errors(void)
{
    struct aws_config cfg;
    struct core_err err;
    memset(&cfg, 0x5a, sizeof cfg);
    CU_ASSERT_EQUAL(resolve(&cfg, NULL, &err, NULL), CORE_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "AWS_REGION"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "AWS_DEFAULT_REGION"));
    CU_ASSERT_EQUAL(((unsigned char *)&cfg)[0], 0x5a); /* untouched on failure */
    CU_ASSERT_EQUAL(resolve(&cfg, NULL, &err, "AWS_REGION", "us-east-1/evil", NULL), CORE_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "AWS_REGION"));
    CU_ASSERT_EQUAL(resolve(&cfg, NULL, &err, "AWS_REGION", "us-east-1", "AWS_ENDPOINT_URL_SSM",
                            "ftp://x", NULL), CORE_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "AWS_ENDPOINT_URL_SSM"));
    CU_ASSERT_EQUAL(resolve(&cfg, NULL, &err, "AWS_REGION", "us-east-1", "AWS_ENDPOINT_URL",
                            "not a url", NULL), CORE_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "AWS_ENDPOINT_URL"));
    CU_ASSERT_EQUAL(resolve(&cfg, NULL, &err, "AWS_REGION", "us-east-1", "AWS_ENDPOINT_URL",
                            "http://h/?x=1", NULL), CORE_E_INVAL);
}

/* ---- the fixture ---------------------------------------------------------------------------- */

struct fx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct core_http_script *script;
    struct aws_config cfg;
    struct aws_creds_provider *creds;
    struct aws_client *client;
};

struct result {
    int done;
    int rc;
    core_ns at;
    struct core_err err;
    char root[64];
    char text[256]; /* a chosen value from the answer */
    struct core_loop *loop;
};

static void fx_init_opts(struct fx *f, const struct aws_client_opts *opts)
{
    struct aws_credentials creds = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                    NULL, 0};
    struct core_err err;
    struct aws_client_opts o;

    memset(f, 0, sizeof *f);
    f->clock = core_clock_virtual_new(0, T0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(f->clock, NULL, &f->loop, &err), 0);
    CU_ASSERT_EQUAL_FATAL(core_http_script_new(f->loop, &f->script, &err), 0);
    CU_ASSERT_EQUAL_FATAL(resolve(&f->cfg, NULL, &err, "AWS_REGION", "us-east-1",
                                  "AWS_ENDPOINT_URL", "http://aws.test", NULL), 0);
    CU_ASSERT_EQUAL_FATAL(aws_creds_static_new(f->loop, &creds, &f->creds, &err), 0);
    if (opts) {
        o = *opts;
    } else {
        memset(&o, 0, sizeof o);
    }
    if (!o.seed)
        o.seed = 42;
    CU_ASSERT_EQUAL_FATAL(aws_client_new(f->loop, core_http_script_transport(f->script),
                                         f->creds, &f->cfg, &o, &f->client, &err), 0);
}

static void fx_init(struct fx *f)
{
    fx_init_opts(f, NULL);
}

static void fx_cleanup(struct fx *f)
{
    aws_client_free(f->client);
    aws_creds_provider_free(f->creds);
    core_http_script_free(f->script);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

static void run(struct fx *f, struct result *r)
{
    struct core_err err;
    CU_ASSERT_EQUAL(core_loop_run_until(f->loop, &r->done, core_loop_now(f->loop) +
                                        3600 * CORE_NS_PER_S, &err), 0);
}

static void expect(struct fx *f, long status, const char *body, const char *hdr, core_ns delay)
{
    struct core_http_script_step st;
    const char *hdrs[1] = {hdr};
    memset(&st, 0, sizeof st);
    st.method = "POST";
    st.url = "http://aws.test*";
    st.status = status;
    st.body = body;
    st.headers = hdr ? hdrs : NULL;
    st.nheaders = hdr ? 1 : 0;
    st.delay = delay;
    st.chunk = 7; /* the XML parser is fed in small pieces */
    CU_ASSERT_EQUAL_FATAL(core_http_script_expect(f->script, &st), 0);
}

static void expect_error(struct fx *f, int result)
{
    struct core_http_script_step st;
    memset(&st, 0, sizeof st);
    st.result = result;
    CU_ASSERT_EQUAL_FATAL(core_http_script_expect(f->script, &st), 0);
}

static void on_query(void *ud, int rc, const struct aws_xml_node *root, const struct core_err *err)
{
    struct result *r = ud;
    r->done = 1;
    r->rc = rc;
    r->at = r->loop ? core_loop_now(r->loop) : 0;
    if (err)
        r->err = *err;
    if (root) {
        const char *v = aws_xml_path(root, "subnetSet/item/subnetId")
                            ? aws_xml_path(root, "subnetSet/item/subnetId")->text
                            : aws_xml_child_text(root, "requestId");
        core_strlcpy(r->root, root->name, sizeof r->root);
        core_strlcpy(r->text, v ? v : "", sizeof r->text);
    }
}

static int describe_subnets(struct fx *f, struct result *r, unsigned flags)
{
    struct aws_query q;
    struct core_err err;
    int rc;
    memset(r, 0, sizeof *r);
    r->loop = f->loop;
    aws_query_init(&q);
    if (aws_query_add(&q, "Action", "DescribeSubnets") || aws_query_add(&q, "Version", "2016-11-15") ||
        aws_query_add(&q, "SubnetId.1", "subnet-0a")) {
        aws_query_cleanup(&q);
        return CORE_E_NOMEM;
    }
    rc = aws_query_call(f->client, AWS_SVC_EC2, &q, flags, on_query, r, &err);
    aws_query_cleanup(&q);
    if (rc)
        r->err = err;
    return rc;
}

static const char subnets_ok[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<DescribeSubnetsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n"
    "  <requestId>req-ok</requestId>\n"
    "  <subnetSet><item><subnetId>subnet-0a</subnetId></item></subnetSet>\n"
    "</DescribeSubnetsResponse>\n";

static const char throttled[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
    "<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors>"
    "<RequestID>req-503</RequestID></Response>";

static const char bad_param[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
    "<Code>InvalidParameterValue</Code><Message>Value (x) for parameter subnetId is invalid."
    "</Message></Error></Errors><RequestID>req-400</RequestID></Response>";

static const char not_found[] =
    "<Response><Errors><Error><Code>InvalidSubnetID.NotFound</Code><Message>The subnet ID "
    "'subnet-0a' does not exist</Message></Error></Errors><RequestID>r</RequestID></Response>";

static const char proxy_page[] =
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    "</center></body></html>";

/* ---- signing and decoding ------------------------------------------------------------------ */

static void test_query_signed_on_the_wire(void)
{
    struct fx f;
    struct result r;
    const struct core_http_script_request *rq;
    const char *auth;

    fx_init(&f);
    expect(&f, 200, subnets_ok, "x-amzn-requestid: req-ok", 0);
    CU_ASSERT_EQUAL_FATAL(describe_subnets(&f, &r, 0), 0);
    CU_ASSERT_EQUAL(r.done, 0); /* never synchronous */
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_STRING_EQUAL(r.root, "DescribeSubnetsResponse");
    CU_ASSERT_STRING_EQUAL(r.text, "subnet-0a");
    CU_ASSERT_EQUAL_FATAL(core_http_script_nrequests(f.script), 1);
    rq = core_http_script_request(f.script, 0);
    CU_ASSERT_STRING_EQUAL(rq->method, "POST");
    CU_ASSERT_STRING_EQUAL(rq->url, "http://aws.test");
    CU_ASSERT_STRING_EQUAL(rq->body, "Action=DescribeSubnets&Version=2016-11-15&SubnetId.1=subnet-0a");
    CU_ASSERT_STRING_EQUAL(core_http_script_request_header(rq, "content-type"),
                           "application/x-www-form-urlencoded; charset=utf-8");
    CU_ASSERT_STRING_EQUAL(core_http_script_request_header(rq, "x-amz-date"), "20261122T130000Z");
    auth = core_http_script_request_header(rq, "authorization");
    CU_ASSERT_PTR_NOT_NULL_FATAL(auth);
    CU_ASSERT_EQUAL(strncmp(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/ec2/"
                                  "aws4_request, SignedHeaders=content-type;host;x-amz-date, "
                                  "Signature=", 124), 0);
    /* The signature is the signer's for exactly these bytes. */
    {
        struct aws_credentials creds = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                        NULL, 0};
        struct aws_sigv4_header h[2] = {{"Host", "aws.test"},
                                        {"Content-Type",
                                         "application/x-www-form-urlencoded; charset=utf-8"}};
        struct aws_sigv4_request sr = {"POST", "/", h, 2, rq->body, rq->body_len};
        struct aws_sigv4_params sp;
        struct aws_sigv4_auth_headers out;
        memset(&sp, 0, sizeof sp);
        sp.region = "us-east-1";
        sp.service = "ec2";
        sp.wall = T0;
        sp.normalize_path = 1;
        CU_ASSERT_EQUAL_FATAL(aws_sigv4_sign_headers(&sr, &creds, &sp, &out, NULL), 0);
        CU_ASSERT_STRING_EQUAL(out.h[out.count - 1].value, auth);
        aws_sigv4_auth_headers_cleanup(&out);
    }
    fx_cleanup(&f);
}

static void test_service_error_not_retried(void)
{
    struct fx f;
    struct result r;
    fx_init(&f);
    expect(&f, 400, bad_param, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(describe_subnets(&f, &r, 0), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_SERVICE);
    CU_ASSERT_EQUAL(r.err.code, CORE_E_SERVICE);
    CU_ASSERT_EQUAL(r.err.http_status, 400);
    CU_ASSERT_STRING_EQUAL(r.err.service_code, "InvalidParameterValue");
    CU_ASSERT_STRING_EQUAL(r.err.request_id, "req-400");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "ec2 DescribeSubnets"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "subnetId is invalid"));
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 1);
    fx_cleanup(&f);
}

/* EC2 sends InsufficientInstanceCapacity with HTTP 500; retrying the same offering is useless,
 * so the answer surfaces at once for the launcher to move on. */
static void test_capacity_error_500_not_retried(void)
{
    struct fx f;
    struct result r;
    fx_init(&f);
    expect(&f, 500,
           "<Response><Errors><Error><Code>InsufficientInstanceCapacity</Code><Message>none left"
           "</Message></Error></Errors><RequestID>req-ice</RequestID></Response>",
           NULL, 0);
    CU_ASSERT_EQUAL_FATAL(describe_subnets(&f, &r, 0), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_SERVICE);
    CU_ASSERT_EQUAL(r.err.http_status, 500);
    CU_ASSERT_STRING_EQUAL(r.err.service_code, "InsufficientInstanceCapacity");
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 1);
    fx_cleanup(&f);
}

static void test_throttling_retried_with_backoff(void)
{
    struct fx f;
    struct result r;
    size_t iter = 0;
    struct aws_action_stats st;
    int found = 0;

    fx_init(&f);
    expect(&f, 503, throttled, NULL, 0);
    expect(&f, 503, throttled, NULL, 0);
    expect(&f, 200, subnets_ok, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(describe_subnets(&f, &r, 0), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 3);
    CU_ASSERT_EQUAL(core_http_script_pending(f.script), 0);
    /* Full jitter under a 500 ms then 1 s ceiling. */
    CU_ASSERT(r.at <= 1500 * MS);
    while (aws_client_stats_next(f.client, &iter, &st))
        if (strcmp(st.action, "DescribeSubnets") == 0) {
            found = 1;
            CU_ASSERT_STRING_EQUAL(st.service, "ec2");
            CU_ASSERT_EQUAL(st.calls, 1);
            CU_ASSERT_EQUAL(st.attempts, 3);
            CU_ASSERT_EQUAL(st.throttled, 2);
            CU_ASSERT_EQUAL(st.errors, 0);
        }
    CU_ASSERT(found);
    fx_cleanup(&f);
}

static void test_attempts_exhausted(void)
{
    struct fx f;
    struct result r;
    struct aws_client_opts o;
    memset(&o, 0, sizeof o);
    o.max_attempts = 3;
    fx_init_opts(&f, &o);
    for (int i = 0; i < 3; i++)
        expect(&f, 503, throttled, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(describe_subnets(&f, &r, 0), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_THROTTLED);
    CU_ASSERT_STRING_EQUAL(r.err.service_code, "RequestLimitExceeded");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "attempt 3"));
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 3);
    fx_cleanup(&f);
}

static void test_retry_quota_stops_storms(void)
{
    struct fx f;
    struct result r1, r2;
    struct aws_client_opts o;
    memset(&o, 0, sizeof o);
    o.retry_quota = 10; /* two retries' worth */
    o.max_attempts = 10;
    fx_init_opts(&f, &o);
    for (int i = 0; i < 3; i++)
        expect(&f, 500, "<Response><Errors><Error><Code>InternalError</Code><Message>m</Message>"
                        "</Error></Errors></Response>", NULL, 0);
    CU_ASSERT_EQUAL_FATAL(describe_subnets(&f, &r1, 0), 0);
    run(&f, &r1);
    CU_ASSERT_EQUAL(r1.rc, CORE_E_SERVICE);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 3);
    CU_ASSERT_EQUAL(aws_client_quota_refusals(f.client), 1);
    /* With the quota spent, the next failure surfaces at once; a success refunds a little. */
    expect(&f, 503, throttled, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(describe_subnets(&f, &r2, 0), 0);
    run(&f, &r2);
    CU_ASSERT_EQUAL(r2.rc, CORE_E_THROTTLED);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 4);
    fx_cleanup(&f);
}

static void test_proxy_pages(void)
{
    struct fx f;
    struct result r;
    struct aws_client_opts o;
    memset(&o, 0, sizeof o);
    o.max_attempts = 2;
    fx_init_opts(&f, &o);
    /* A 502 from a proxy is retried, then reported as such. */
    expect(&f, 502, proxy_page, "Content-Type: text/html", 0);
    expect(&f, 502, proxy_page, "Content-Type: text/html", 0);
    CU_ASSERT_EQUAL_FATAL(describe_subnets(&f, &r, 0), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_HTTP);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "HTTP 502"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "text/html"));
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 2);
    /* A 200 that is not XML is a parse error naming the action, not a crash or empty result. */
    expect(&f, 200, "{\"not\": \"xml\"}", NULL, 0);
    CU_ASSERT_EQUAL_FATAL(describe_subnets(&f, &r, 0), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "ec2 DescribeSubnets"));
    /* Truncated XML likewise. */
    expect(&f, 200, "<DescribeSubnetsResponse><requestId>x</req", NULL, 0);
    CU_ASSERT_EQUAL_FATAL(describe_subnets(&f, &r, 0), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_PARSE);
    fx_cleanup(&f);
}

static void test_not_found_eventual_consistency(void)
{
    struct fx f;
    struct result r;
    fx_init(&f);
    /* Without the flag NotFound is believed at once. */
    expect(&f, 400, not_found, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(describe_subnets(&f, &r, 0), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_NOTFOUND);
    CU_ASSERT_STRING_EQUAL(r.err.service_code, "InvalidSubnetID.NotFound");
    /* With it, retried until the resource shows up. */
    expect(&f, 400, not_found, NULL, 0);
    expect(&f, 400, not_found, NULL, 0);
    expect(&f, 200, subnets_ok, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(describe_subnets(&f, &r, AWS_CALL_RETRY_NOT_FOUND), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 4);
    fx_cleanup(&f);
}

static void test_timeouts_and_transport_errors_retried(void)
{
    struct fx f;
    struct result r;
    struct aws_client_opts o;
    memset(&o, 0, sizeof o);
    o.timeout = 2 * CORE_NS_PER_S;
    fx_init_opts(&f, &o);
    expect(&f, 200, subnets_ok, NULL, 10 * CORE_NS_PER_S); /* answers too late */
    expect_error(&f, CORE_E_TRANSPORT);                     /* connection refused */
    expect(&f, 200, subnets_ok, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(describe_subnets(&f, &r, 0), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 3);
    CU_ASSERT(r.at >= 2 * CORE_NS_PER_S);
    CU_ASSERT(r.at < 4 * CORE_NS_PER_S);
    fx_cleanup(&f);
}

static void test_oversized_answer(void)
{
    struct fx f;
    struct result r;
    struct aws_client_opts o;
    memset(&o, 0, sizeof o);
    o.max_response = 64;
    fx_init_opts(&f, &o);
    expect(&f, 200, subnets_ok, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(describe_subnets(&f, &r, 0), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_TOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "DescribeSubnets"));
    fx_cleanup(&f);
}

static void test_rate_limit_per_action(void)
{
    struct fx f;
    struct result r[3], other;
    struct aws_rate rates[] = {{"DescribeSubnets", 2.0, 1}, {"*", 1000.0, 1000}};
    struct aws_client_opts o;
    struct core_err err;
    memset(&o, 0, sizeof o);
    o.rates = rates;
    o.nrates = 2;
    fx_init_opts(&f, &o);
    for (int i = 0; i < 3; i++)
        expect(&f, 200, subnets_ok, NULL, 0);
    expect(&f, 200, "<DescribeImagesResponse><requestId>img</requestId></DescribeImagesResponse>",
           NULL, 0);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL_FATAL(describe_subnets(&f, &r[i], 0), 0);
    {
        /* Another action is not held back by DescribeSubnets' bucket. */
        struct aws_query q;
        memset(&other, 0, sizeof other);
        other.loop = f.loop;
        aws_query_init(&q);
        CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "DescribeImages"), 0);
        CU_ASSERT_EQUAL(aws_query_add(&q, "Version", "2016-11-15"), 0);
        CU_ASSERT_EQUAL(aws_query_call(f.client, AWS_SVC_EC2, &q, 0, on_query, &other, &err), 0);
        aws_query_cleanup(&q);
    }
    run(&f, &r[2]);
    CU_ASSERT(other.done);
    CU_ASSERT_EQUAL(r[0].at, 0);
    CU_ASSERT_EQUAL(r[1].at, 500 * MS);
    CU_ASSERT_EQUAL(r[2].at, 1000 * MS);
    fx_cleanup(&f);
}

static void test_free_cancels_in_flight(void)
{
    struct fx f;
    struct result r;
    fx_init(&f);
    expect(&f, 200, subnets_ok, NULL, 5 * CORE_NS_PER_S);
    CU_ASSERT_EQUAL_FATAL(describe_subnets(&f, &r, 0), 0);
    CU_ASSERT(core_loop_run_once(f.loop, 10 * MS, NULL) >= 0);
    aws_client_free(f.client);
    f.client = NULL;
    CU_ASSERT_EQUAL(r.done, 1);
    CU_ASSERT_EQUAL(r.rc, CORE_E_CANCELLED);
    /* Nothing is left to fire into freed memory. */
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    fx_cleanup(&f);
}


struct free_in_cb {
    struct fx *f;
    struct result first, second;
};

static void on_query_then_free(void *ud, int rc, const struct aws_xml_node *root,
                               const struct core_err *err)
{
    struct free_in_cb *x = ud;
    on_query(&x->first, rc, root, err);
    /* The answer is still readable here; then the client goes, taking the other call. */
    CU_ASSERT_STRING_EQUAL(root->name, "DescribeSubnetsResponse");
    aws_client_free(x->f->client);
    x->f->client = NULL;
}

static void test_free_inside_callback(void)
{
    struct fx f;
    struct free_in_cb x;
    struct aws_query q;
    struct core_err err;
    fx_init(&f);
    memset(&x, 0, sizeof x);
    x.f = &f;
    x.first.loop = x.second.loop = f.loop;
    expect(&f, 200, subnets_ok, NULL, 0);
    expect(&f, 200, subnets_ok, NULL, 5 * CORE_NS_PER_S);
    aws_query_init(&q);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "DescribeSubnets"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Version", "2016-11-15"), 0);
    CU_ASSERT_EQUAL_FATAL(aws_query_call(f.client, AWS_SVC_EC2, &q, 0, on_query_then_free, &x,
                                         &err), 0);
    CU_ASSERT_EQUAL_FATAL(aws_query_call(f.client, AWS_SVC_EC2, &q, 0, on_query, &x.second,
                                         &err), 0);
    aws_query_cleanup(&q);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(x.first.done, 1);
    CU_ASSERT_EQUAL(x.first.rc, 0);
    CU_ASSERT_EQUAL(x.second.done, 1);
    CU_ASSERT_EQUAL(x.second.rc, CORE_E_CANCELLED);
    CU_ASSERT_PTR_NULL(f.client);
    fx_cleanup(&f);
}

static void test_alloc_failures(void)
{
    for (unsigned long n = 1;; n++) {
        struct fx f;
        struct result r;
        int rc;
        fx_init(&f);
        expect(&f, 503, throttled, NULL, 0);
        expect(&f, 200, subnets_ok, NULL, 0);
        core_alloc_fail_after(n);
        rc = describe_subnets(&f, &r, 0);
        if (rc == 0)
            CU_ASSERT(core_loop_run(f.loop, NULL) >= 0);
        core_alloc_fail_after(0);
        if (core_alloc_failures() == 0 && rc == 0 && r.done && r.rc == 0) {
            CU_ASSERT_STRING_EQUAL(r.text, "subnet-0a");
            fx_cleanup(&f);
            break;
        }
        /* Either a refusal up front or one callback with an error. */
        CU_ASSERT(rc != 0 || (r.done && r.rc != 0));
        fx_cleanup(&f);
        CU_ASSERT_FATAL(n < 2000);
    }
}

/* ---- JSON protocol and SSM ----------------------------------------------------------------- */

struct ssm_result {
    int done;
    int rc;
    struct core_err err;
    size_t n, ninvalid;
    char first_name[128], first_value[128], last_name[128];
    int64_t version;
    core_ns modified;
};

static void on_ssm(void *ud, int rc, const struct aws_ssm_parameters *res,
                   const struct core_err *err)
{
    struct ssm_result *r = ud;
    r->done = 1;
    r->rc = rc;
    if (err)
        r->err = *err;
    if (res) {
        r->n = res->n;
        r->ninvalid = res->ninvalid;
        if (res->n) {
            core_strlcpy(r->first_name, res->v[0].name, sizeof r->first_name);
            core_strlcpy(r->first_value, res->v[0].value, sizeof r->first_value);
            core_strlcpy(r->last_name, res->v[res->n - 1].name, sizeof r->last_name);
            r->version = res->v[0].version;
            r->modified = res->v[0].last_modified;
        }
    }
}

static void run_ssm(struct fx *f, struct ssm_result *r)
{
    struct core_err err;
    CU_ASSERT_EQUAL(core_loop_run_until(f->loop, &r->done, core_loop_now(f->loop) +
                                        3600 * CORE_NS_PER_S, &err), 0);
}

#define AMI_PARAM "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/recommended/image_id"

static void test_ssm_get_parameter(void)
{
    struct fx f;
    struct ssm_result r;
    struct core_err err;
    const struct core_http_script_request *rq;

    fx_init(&f);
    expect(&f, 200, "{\"Parameter\":{\"Name\":\"" AMI_PARAM "\",\"Type\":\"String\",\"Value\":"
                    "\"ami-0123456789abcdef0\",\"Version\":7,\"LastModifiedDate\":1795352400.5,"
                    "\"ARN\":\"arn:aws:ssm:us-east-1::parameter" AMI_PARAM "\","
                    "\"DataType\":\"aws:ec2:image\"}}", NULL, 0);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_ssm_get_parameter(f.client, AMI_PARAM, on_ssm, &r, &err), 0);
    run_ssm(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.n, 1);
    CU_ASSERT_STRING_EQUAL(r.first_value, "ami-0123456789abcdef0");
    CU_ASSERT_EQUAL(r.version, 7);
    CU_ASSERT_EQUAL(r.modified, T0 + 500 * MS);
    rq = core_http_script_request(f.script, 0);
    CU_ASSERT_STRING_EQUAL(core_http_script_request_header(rq, "x-amz-target"),
                           "AmazonSSM.GetParameter");
    CU_ASSERT_STRING_EQUAL(core_http_script_request_header(rq, "content-type"),
                           "application/x-amz-json-1.1");
    CU_ASSERT_STRING_EQUAL(rq->body, "{\"Name\":\"" AMI_PARAM "\"}");
    CU_ASSERT_PTR_NOT_NULL(strstr(core_http_script_request_header(rq, "authorization"),
                                  "/us-east-1/ssm/aws4_request"));
    /* Not found: from __type, and from the X-Amzn-ErrorType header. */
    expect(&f, 400, "{\"__type\":\"com.amazonaws.ssm#ParameterNotFound\",\"message\":\"\"}", NULL, 0);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_ssm_get_parameter(f.client, "/nope", on_ssm, &r, &err), 0);
    run_ssm(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_NOTFOUND);
    CU_ASSERT_STRING_EQUAL(r.err.service_code, "ParameterNotFound");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "'/nope'"));
    expect(&f, 400, "", "X-Amzn-ErrorType: ParameterNotFound:http://internal.amazon.com/", 0);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_ssm_get_parameter(f.client, "/nope2", on_ssm, &r, &err), 0);
    run_ssm(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_NOTFOUND);
    /* Throttling in JSON is retried too. */
    expect(&f, 400, "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}", NULL, 0);
    expect(&f, 200, "{\"Parameter\":{\"Name\":\"/a\",\"Value\":\"v\"}}", NULL, 0);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_ssm_get_parameter(f.client, "/a", on_ssm, &r, &err), 0);
    run_ssm(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    /* A parameter without a Value is a parse error naming the action. */
    expect(&f, 200, "{\"Parameter\":{\"Name\":\"/a\"}}", NULL, 0);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_ssm_get_parameter(f.client, "/a", on_ssm, &r, &err), 0);
    run_ssm(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "GetParameter"));
    fx_cleanup(&f);
}

static void test_ssm_get_parameters_batched(void)
{
    struct fx f;
    struct ssm_result r;
    struct core_err err;
    char names[23][32];
    const char *np[23];
    struct core_buf b[3];

    fx_init(&f);
    for (int i = 0; i < 23; i++) {
        snprintf(names[i], sizeof names[i], "/p/%02d", i);
        np[i] = names[i];
    }
    /* Three batches: 10, 10, 3. Answers list the batch's parameters in reverse, and /p/05 and
     * /p/21 are unknown. */
    for (int bt = 0; bt < 3; bt++) {
        int lo = bt * 10, hi = bt == 2 ? 23 : lo + 10;
        core_buf_init(&b[bt], 8192);
        CU_ASSERT_EQUAL(core_buf_append_str(&b[bt], "{\"Parameters\":["), 0);
        for (int i = hi - 1, first = 1; i >= lo; i--) {
            if (i == 5 || i == 21)
                continue;
            CU_ASSERT_EQUAL(core_buf_appendf(&b[bt], "%s{\"Name\":\"/p/%02d\",\"Value\":\"v%d\"}",
                                             first ? "" : ",", i, i), 0);
            first = 0;
        }
        CU_ASSERT_EQUAL(core_buf_appendf(&b[bt], "],\"InvalidParameters\":[%s]}",
                                         bt == 0 ? "\"/p/05\"" : bt == 2 ? "\"/p/21\"" : ""), 0);
        expect(&f, 200, b[bt].data, NULL, (core_ns)(3 - bt) * 100 * MS);
    }
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_ssm_get_parameters(f.client, np, 23, on_ssm, &r, &err), 0);
    run_ssm(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.n, 21);
    CU_ASSERT_EQUAL(r.ninvalid, 2);
    CU_ASSERT_STRING_EQUAL(r.first_name, "/p/00"); /* the caller's order, not the answers' */
    CU_ASSERT_STRING_EQUAL(r.last_name, "/p/22");
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(core_http_script_request(f.script, 0)->body, "\"/p/09\"]"));
    CU_ASSERT_PTR_NULL(strstr(core_http_script_request(f.script, 0)->body, "/p/10"));
    CU_ASSERT_PTR_NOT_NULL(strstr(core_http_script_request(f.script, 2)->body,
                                  "[\"/p/20\",\"/p/21\",\"/p/22\"]"));
    CU_ASSERT_EQUAL(r.done, 1);
    for (int i = 0; i < 3; i++)
        core_buf_cleanup(&b[i]);
    fx_cleanup(&f);
}

static void test_ssm_by_path_paginated(void)
{
    struct fx f;
    struct ssm_result r;
    struct core_err err;
    fx_init(&f);
    expect(&f, 200, "{\"Parameters\":[{\"Name\":\"/x/a\",\"Value\":\"1\"}],\"NextToken\":\"t2\"}",
           NULL, 0);
    expect(&f, 200, "{\"Parameters\":[{\"Name\":\"/x/b\",\"Value\":\"2\"}]}", NULL, 0);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_ssm_get_parameters_by_path(f.client, "/x", 1, 0, on_ssm, &r, &err), 0);
    run_ssm(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.n, 2);
    CU_ASSERT_STRING_EQUAL(r.last_name, "/x/b");
    CU_ASSERT_PTR_NOT_NULL(strstr(core_http_script_request(f.script, 1)->body, "\"NextToken\":\"t2\""));
    /* The page bound. */
    expect(&f, 200, "{\"Parameters\":[],\"NextToken\":\"again\"}", NULL, 0);
    expect(&f, 200, "{\"Parameters\":[],\"NextToken\":\"again\"}", NULL, 0);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_ssm_get_parameters_by_path(f.client, "/x", 0, 2, on_ssm, &r, &err), 0);
    run_ssm(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_TOOBIG);
    CU_ASSERT_EQUAL(aws_ssm_get_parameters_by_path(f.client, "relative", 0, 0, on_ssm, &r, &err),
                    CORE_E_INVAL);
    fx_cleanup(&f);
}

/* ---- STS ------------------------------------------------------------------------------------ */

struct sts_result {
    int done, rc;
    struct core_err err;
    char akid[64], token[64], account[32], arn[128];
    core_ns expiration;
};

static void on_sts_creds(void *ud, int rc, const struct aws_credentials *creds,
                         const struct core_err *err)
{
    struct sts_result *r = ud;
    r->done = 1;
    r->rc = rc;
    if (err)
        r->err = *err;
    if (creds) {
        core_strlcpy(r->akid, creds->access_key_id, sizeof r->akid);
        core_strlcpy(r->token, creds->session_token, sizeof r->token);
        r->expiration = creds->expiration;
    }
}

static void on_sts_id(void *ud, int rc, const struct aws_sts_identity *id,
                      const struct core_err *err)
{
    struct sts_result *r = ud;
    r->done = 1;
    r->rc = rc;
    if (err)
        r->err = *err;
    if (id) {
        core_strlcpy(r->account, id->account, sizeof r->account);
        core_strlcpy(r->arn, id->arn, sizeof r->arn);
    }
}

static void test_sts(void)
{
    struct fx f;
    struct sts_result r;
    struct core_err err;
    const struct core_http_script_request *rq;

    fx_init(&f);
    expect(&f, 200,
           "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
           "<AssumeRoleWithWebIdentityResult><Credentials><SessionToken>FQoGZXIvYXdzE</SessionToken>"
           "<SecretAccessKey>secretXYZ</SecretAccessKey><Expiration>2026-11-22T14:00:00Z"
           "</Expiration><AccessKeyId>ASIAEXAMPLE</AccessKeyId></Credentials>"
           "</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r1</RequestId>"
           "</ResponseMetadata></AssumeRoleWithWebIdentityResponse>", NULL, 0);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_sts_assume_role_with_web_identity(
                              f.client, "arn:aws:iam::111122223333:role/stoker", "stoker-1",
                              "eyJhbGciOiJSUzI1NiJ9.tok", 0, on_sts_creds, &r, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &r.done, 3600 * CORE_NS_PER_S, &err), 0);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_STRING_EQUAL(r.akid, "ASIAEXAMPLE");
    CU_ASSERT_STRING_EQUAL(r.token, "FQoGZXIvYXdzE");
    CU_ASSERT_EQUAL(r.expiration, T0 + 3600 * CORE_NS_PER_S);
    rq = core_http_script_request(f.script, 0);
    CU_ASSERT_PTR_NULL(core_http_script_request_header(rq, "authorization")); /* unsigned */
    CU_ASSERT_STRING_EQUAL(rq->body, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
                                     "&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fstoker"
                                     "&RoleSessionName=stoker-1"
                                     "&WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.tok");
    /* STS's own error shape. */
    expect(&f, 400, "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
                    "<Message>Token expired</Message></Error><RequestId>r2</RequestId>"
                    "</ErrorResponse>", NULL, 0);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_sts_assume_role_with_web_identity(
                              f.client, "arn:aws:iam::1:role/x", "s", "secret-token-value", 0,
                              on_sts_creds, &r, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &r.done, 7200 * CORE_NS_PER_S, &err), 0);
    CU_ASSERT_EQUAL(r.rc, CORE_E_AUTH);
    CU_ASSERT_STRING_EQUAL(r.err.request_id, "r2");
    CU_ASSERT_PTR_NULL(strstr(r.err.message, "secret-token-value"));
    /* GetCallerIdentity is signed. */
    expect(&f, 200, "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>"
                    "arn:aws:sts::111122223333:assumed-role/stoker/s</Arn><UserId>AROA:s</UserId>"
                    "<Account>111122223333</Account></GetCallerIdentityResult>"
                    "</GetCallerIdentityResponse>", NULL, 0);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(aws_sts_get_caller_identity(f.client, on_sts_id, &r, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &r.done, 9000 * CORE_NS_PER_S, &err), 0);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_STRING_EQUAL(r.account, "111122223333");
    rq = core_http_script_request(f.script, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(core_http_script_request_header(rq, "authorization"),
                                  "/us-east-1/sts/aws4_request"));
    fx_cleanup(&f);
}

static void test_error_classes(void)
{
    CU_ASSERT(aws_error_is_throttling("RequestLimitExceeded"));
    CU_ASSERT(aws_error_is_throttling("ThrottlingException"));
    CU_ASSERT_FALSE(aws_error_is_throttling("InvalidParameterValue"));
    CU_ASSERT(aws_error_is_capacity("InsufficientInstanceCapacity"));
    CU_ASSERT(aws_error_is_capacity("InsufficientFreeAddressesInSubnet"));
    CU_ASSERT_FALSE(aws_error_is_capacity("RequestLimitExceeded"));
}

TESTS_SUITE(aws_client, "aws_client", NULL, NULL, TESTS_CASE(test_config_region_and_endpoints),
            TESTS_CASE(test_config_errors), TESTS_CASE(test_query_signed_on_the_wire),
            TESTS_CASE(test_service_error_not_retried),
            TESTS_CASE(test_capacity_error_500_not_retried),
            TESTS_CASE(test_throttling_retried_with_backoff), TESTS_CASE(test_attempts_exhausted),
            TESTS_CASE(test_retry_quota_stops_storms), TESTS_CASE(test_proxy_pages),
            TESTS_CASE(test_not_found_eventual_consistency),
            TESTS_CASE(test_timeouts_and_transport_errors_retried),
            TESTS_CASE(test_oversized_answer), TESTS_CASE(test_rate_limit_per_action),
            TESTS_CASE(test_free_cancels_in_flight), TESTS_CASE(test_free_inside_callback), TESTS_CASE(test_alloc_failures),
            TESTS_CASE(test_ssm_get_parameter), TESTS_CASE(test_ssm_get_parameters_batched),
            TESTS_CASE(test_ssm_by_path_paginated), TESTS_CASE(test_sts),
            TESTS_CASE(test_error_classes))
