/*
 * tests/unit/test_sim_aws.c — the emulated AWS account's frame: what the account holds, the
 * SigV4 check on every request, the injected faults, the token buckets, the boot model and the
 * env file. Requests are signed exactly as stoker's client signs them (aws_sigv4_sign_headers)
 * and handed to sim_aws_handle as bytes.
 */
#include "sim/internal.h"
#include "tests/unit/harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WALL0 ((core_ns)1795000000 * 1000000000LL) /* 2026-11-18 */

struct fx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct sim_aws *a;
};

static int fx_open(struct fx *f, const struct sim_aws_opts *opts)
{
    memset(f, 0, sizeof *f);
    f->clock = core_clock_virtual_new(0, WALL0);
    if (!f->clock || core_loop_new(f->clock, NULL, &f->loop, NULL) != 0)
        return -1;
    return sim_aws_new(f->loop, opts, &f->a, NULL);
}

static void fx_close(struct fx *f)
{
    sim_aws_free(f->a);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

/* Signs body for service with the given keys at the given wall time and hands it over. */
/* How a request is signed and what is then sent, for the tests that forge one. */
struct forge {
    const char *sent_body;  /* NULL: the body that was signed */
    int unsigned_payload;   /* sign over UNSIGNED-PAYLOAD and say so in x-amz-content-sha256 */
};

/* Signs body for service with the given keys at the given wall time (as stoker's client signs)
 * and hands the request to the emulator, altered as forge says (may be NULL). */
static void send_signed(struct fx *f, const char *service, const char *x_amz_target,
                        const char *body, const char *akid, const char *secret, core_ns wall,
                        const struct forge *forge, struct core_http_response *resp,
                        core_ns *delay)
{
    struct aws_sigv4_header sh[3];
    size_t nsh = 0;
    struct aws_sigv4_request sreq = {0};
    struct aws_sigv4_params params = {0};
    struct aws_credentials creds = {0};
    struct aws_sigv4_auth_headers auth = {0};
    struct sim_header hdrs[8];
    size_t nh = 0;
    struct sim_http_req req = {0};
    const char *sent = forge && forge->sent_body ? forge->sent_body : body;
    int rc;

    sh[nsh++] = (struct aws_sigv4_header){"Host", "ec2.us-east-1.amazonaws.com"};
    sh[nsh++] = (struct aws_sigv4_header){
        "Content-Type", x_amz_target ? "application/x-amz-json-1.1"
                                     : "application/x-www-form-urlencoded; charset=utf-8"};
    if (x_amz_target)
        sh[nsh++] = (struct aws_sigv4_header){"X-Amz-Target", x_amz_target};
    sreq.method = "POST";
    sreq.target = "/";
    sreq.headers = sh;
    sreq.nheaders = nsh;
    sreq.body = body;
    sreq.body_len = strlen(body);
    params.region = "us-east-1";
    params.service = service;
    params.wall = wall;
    params.normalize_path = 1;
    params.unsigned_payload = forge && forge->unsigned_payload;
    creds.access_key_id = (char *)(uintptr_t)akid;
    creds.secret_access_key = (char *)(uintptr_t)secret;
    rc = aws_sigv4_sign_headers(&sreq, &creds, &params, &auth, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    for (size_t i = 0; i < nsh; i++)
        hdrs[nh++] = (struct sim_header){sh[i].name, sh[i].value};
    for (size_t i = 0; i < auth.count; i++)
        hdrs[nh++] = (struct sim_header){auth.h[i].name, auth.h[i].value};
    if (forge && forge->unsigned_payload)
        hdrs[nh++] = (struct sim_header){"x-amz-content-sha256", AWS_SIGV4_UNSIGNED_PAYLOAD};
    req.method = "POST";
    req.target = "/";
    req.headers = hdrs;
    req.nheaders = nh;
    req.body = sent;
    req.body_len = strlen(sent);
    memset(resp, 0, sizeof *resp);
    core_buf_init(&resp->body, 64u << 20);
    sim_aws_handle(f->a, &req, resp, delay);
    aws_sigv4_auth_headers_cleanup(&auth);
}

static void call_signed(struct fx *f, const char *service, const char *x_amz_target,
                        const char *body, const char *akid, const char *secret, core_ns wall,
                        struct core_http_response *resp, core_ns *delay)
{
    send_signed(f, service, x_amz_target, body, akid, secret, wall, NULL, resp, delay);
}

static void call_ec2(struct fx *f, const char *body, struct core_http_response *resp)
{
    core_ns delay;
    call_signed(f, "ec2", NULL, body, SIM_AWS_ACCESS_KEY_ID, SIM_AWS_SECRET_ACCESS_KEY,
                core_clock_wall(f->clock), resp, &delay);
}

/* The <Code> of an EC2 error document, "" when there is none. */
static void error_code(const struct core_http_response *resp, char *out, size_t outsz)
{
    struct aws_xml_parser *p = aws_xml_parser_new(NULL);
    const struct aws_xml_node *root = NULL;
    const struct aws_xml_node *code;
    out[0] = '\0';
    if (p && aws_xml_parser_feed(p, resp->body.data, resp->body.len, NULL) == 0 &&
        aws_xml_parser_finish(p, &root, NULL) == 0 &&
        (code = aws_xml_path(root, "Errors/Error/Code")))
        core_strlcpy(out, code->text, outsz);
    aws_xml_parser_free(p);
}

static void test_account_layout(void)
{
    struct fx f;
    size_t al2023 = 0, al2_133 = 0, win2025_old = 0, win2025_135 = 0, deprecated = 0, custom = 0;
    const struct sim_itype *m5;

    CU_ASSERT_EQUAL_FATAL(fx_open(&f, NULL), 0);
    /* Three zones with a /19 each, and a small /24 in the first. */
    CU_ASSERT_EQUAL(f.a->nzones, 3);
    CU_ASSERT_STRING_EQUAL(f.a->zones[2].name, "us-east-1c");
    CU_ASSERT_STRING_EQUAL(f.a->zones[0].id, "use1-az1");
    CU_ASSERT_EQUAL(f.a->nsubnets, 4);
    CU_ASSERT_EQUAL(f.a->subnets[0].available, 8192 - 5);
    CU_ASSERT_EQUAL(f.a->subnets[3].available, 256 - 5);
    CU_ASSERT_STRING_EQUAL(sim_tags_get(&f.a->subnets[1].tags, "stoker.dev/discovery"), "sim");
    for (size_t i = 0; i < f.a->nimages; i++) {
        const struct sim_image *im = f.a->images[i];
        int64_t minor = 0;
        CU_ASSERT_EQUAL(core_parse_i64(im->k8s + 2, 0, 99, &minor), 0);
        al2023 += im->family == SIM_AMI_AL2023;
        al2_133 += im->family == SIM_AMI_AL2 && minor >= 33;
        win2025_old += im->family == SIM_AMI_WINDOWS2025 && minor < 35;
        win2025_135 += im->family == SIM_AMI_WINDOWS2025 && minor == 35;
        deprecated += im->deprecated_at != 0 && im->deprecated_at < core_clock_wall(f.clock);
        custom += im->family == SIM_AMI_CUSTOM && sim_tags_get(&im->tags, "team") != NULL;
        CU_ASSERT_PTR_EQUAL(sim_image_find(f.a, im->id), im);
    }
    /* 6 versions x 3 releases x (3 x86_64 + 2 arm64 variants). */
    CU_ASSERT_EQUAL(al2023, 6 * 3 * 5);
    CU_ASSERT_EQUAL(al2_133, 0);
    CU_ASSERT_EQUAL(win2025_old, 0);
    CU_ASSERT_EQUAL(win2025_135, 3);
    CU_ASSERT(deprecated > 0);
    CU_ASSERT_EQUAL(custom, 2);
    /* The real catalog, with prices and hibernation where the rule allows it. */
    m5 = sim_itype_find(f.a, "m5.large");
    CU_ASSERT_PTR_NOT_NULL_FATAL(m5);
    CU_ASSERT_EQUAL(m5->t->vcpu, 2);
    CU_ASSERT(m5->od_price > 0.09 && m5->od_price < 0.1);
    CU_ASSERT(m5->hibernation);
    CU_ASSERT(m5->spot_price[0] < m5->od_price && m5->spot_price[0] > 0.25 * m5->od_price);
    CU_ASSERT(m5->zones != 0);
    CU_ASSERT_FALSE(sim_itype_find(f.a, "p4d.24xlarge") &&
                    sim_itype_find(f.a, "p4d.24xlarge")->hibernation);
    CU_ASSERT_EQUAL(f.a->nitypes, 1363);
    fx_close(&f);
}

static void test_offerings_vary_by_zone(void)
{
    struct fx f;
    size_t missing = 0;
    CU_ASSERT_EQUAL_FATAL(fx_open(&f, NULL), 0);
    for (size_t i = 0; i < f.a->nitypes; i++) {
        CU_ASSERT(f.a->itypes[i].zones != 0);
        missing += f.a->itypes[i].zones != 7u;
    }
    /* Not every type is everywhere, but most are. */
    CU_ASSERT(missing > 50);
    CU_ASSERT(missing < f.a->nitypes / 2);
    fx_close(&f);
}

static void test_signature_accepted_and_rejected(void)
{
    struct fx f;
    struct core_http_response resp;
    core_ns delay;
    char code[64];
    const char *body = "Action=DescribeSubnets&Version=2016-11-15";
    struct sim_aws_stats st;

    CU_ASSERT_EQUAL_FATAL(fx_open(&f, NULL), 0);
    call_ec2(&f, body, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(core_buf_cstr(&resp.body), "<DescribeSubnetsResponse"));
    core_http_response_cleanup(&resp);

    /* Wrong secret: the signature cannot match. */
    call_signed(&f, "ec2", NULL, body, SIM_AWS_ACCESS_KEY_ID, "not-the-secret",
                core_clock_wall(f.clock), &resp, &delay);
    CU_ASSERT_EQUAL(resp.status, 401);
    error_code(&resp, code, sizeof code);
    CU_ASSERT_STRING_EQUAL(code, "AuthFailure");
    core_http_response_cleanup(&resp);

    /* Unknown key. */
    call_signed(&f, "ec2", NULL, body, "AKIAOTHER", SIM_AWS_SECRET_ACCESS_KEY,
                core_clock_wall(f.clock), &resp, &delay);
    CU_ASSERT_EQUAL(resp.status, 401);
    core_http_response_cleanup(&resp);

    /* Signed 20 minutes ago. */
    call_signed(&f, "ec2", NULL, body, SIM_AWS_ACCESS_KEY_ID, SIM_AWS_SECRET_ACCESS_KEY,
                core_clock_wall(f.clock) - (core_ns)1200 * 1000000000LL, &resp, &delay);
    CU_ASSERT_EQUAL(resp.status, 400);
    error_code(&resp, code, sizeof code);
    CU_ASSERT_STRING_EQUAL(code, "RequestExpired");
    core_http_response_cleanup(&resp);

    /* SSM: a bad signature is a JSON error. */
    call_signed(&f, "ssm", "AmazonSSM.GetParameter", "{\"Name\":\"/x\"}", SIM_AWS_ACCESS_KEY_ID,
                "wrong", core_clock_wall(f.clock), &resp, &delay);
    CU_ASSERT_EQUAL(resp.status, 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(core_buf_cstr(&resp.body), "InvalidSignatureException"));
    core_http_response_cleanup(&resp);
    sim_aws_stats(f.a, &st);
    CU_ASSERT_EQUAL(st.auth_failures, 4);
    CU_ASSERT_EQUAL(st.requests, 5);
    fx_close(&f);
}

static void test_body_tampering_detected(void)
{
    struct fx f;
    struct core_http_response resp;
    core_ns delay;
    const char *signed_body = "Action=DescribeSubnets&Version=2016-11-15";
    struct forge other = {"Action=DescribeImages&Version=2016-11-15", 0};

    CU_ASSERT_EQUAL_FATAL(fx_open(&f, NULL), 0);
    send_signed(&f, "ec2", NULL, signed_body, SIM_AWS_ACCESS_KEY_ID, SIM_AWS_SECRET_ACCESS_KEY,
                core_clock_wall(f.clock), &other, &resp, &delay);
    CU_ASSERT_EQUAL(resp.status, 401);
    core_http_response_cleanup(&resp);
    /* The same signature with the body that was signed passes. */
    send_signed(&f, "ec2", NULL, signed_body, SIM_AWS_ACCESS_KEY_ID, SIM_AWS_SECRET_ACCESS_KEY,
                core_clock_wall(f.clock), NULL, &resp, &delay);
    CU_ASSERT_EQUAL(resp.status, 200);
    core_http_response_cleanup(&resp);
    fx_close(&f);
}

static void test_unknown_and_missing_action(void)
{
    struct fx f;
    struct core_http_response resp;
    char code[64];

    CU_ASSERT_EQUAL_FATAL(fx_open(&f, NULL), 0);
    call_ec2(&f, "Action=LaunchRocket&Version=2016-11-15", &resp);
    CU_ASSERT_EQUAL(resp.status, 400);
    error_code(&resp, code, sizeof code);
    CU_ASSERT_STRING_EQUAL(code, "InvalidAction");
    core_http_response_cleanup(&resp);
    call_ec2(&f, "Version=2016-11-15", &resp);
    error_code(&resp, code, sizeof code);
    CU_ASSERT_STRING_EQUAL(code, "MissingAction");
    core_http_response_cleanup(&resp);
    fx_close(&f);
}

static void test_throttling_bucket(void)
{
    struct fx f;
    struct core_http_response resp;
    int ok = 0, throttled = 0;
    char code[64];

    CU_ASSERT_EQUAL_FATAL(fx_open(&f, NULL), 0);
    /* Describe* holds 100 tokens: the 101st call in the same instant is refused. */
    for (int i = 0; i < 101; i++) {
        call_ec2(&f, "Action=DescribeSecurityGroups&Version=2016-11-15", &resp);
        if (resp.status == 200)
            ok++;
        else if (resp.status == 503) {
            error_code(&resp, code, sizeof code);
            throttled += strcmp(code, "RequestLimitExceeded") == 0;
        }
        core_http_response_cleanup(&resp);
    }
    CU_ASSERT_EQUAL(ok, 100);
    CU_ASSERT_EQUAL(throttled, 1);
    /* Another action has its own bucket. */
    call_ec2(&f, "Action=DescribeSubnets&Version=2016-11-15", &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    core_http_response_cleanup(&resp);
    /* A second later 20 tokens are back. */
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, 1000000000LL), 0);
    ok = 0;
    for (int i = 0; i < 25; i++) {
        call_ec2(&f, "Action=DescribeSecurityGroups&Version=2016-11-15", &resp);
        ok += resp.status == 200;
        core_http_response_cleanup(&resp);
    }
    CU_ASSERT_EQUAL(ok, 20);
    fx_close(&f);
}

static void test_injected_errors_and_latency(void)
{
    struct fx f;
    struct sim_aws_opts o;
    struct core_http_response resp;
    core_ns delay;
    int fivexx = 0;
    struct sim_aws_stats st;

    sim_aws_opts_default(&o);
    o.faults.throttle = 0;
    CU_ASSERT_EQUAL(sim_faults_parse(&o.faults, "error-rate=0.5", NULL), 0);
    CU_ASSERT_EQUAL(sim_faults_parse(&o.faults, "latency=100ms", NULL), 0);
    CU_ASSERT_EQUAL_FATAL(fx_open(&f, &o), 0);
    for (int i = 0; i < 200; i++) {
        call_signed(&f, "ec2", NULL, "Action=DescribeSubnets&Version=2016-11-15",
                    SIM_AWS_ACCESS_KEY_ID, SIM_AWS_SECRET_ACCESS_KEY, core_clock_wall(f.clock),
                    &resp, &delay);
        fivexx += resp.status >= 500;
        CU_ASSERT(resp.status == 200 || resp.status == 500 || resp.status == 503);
        CU_ASSERT(delay >= 50000000LL && delay <= 150000000LL);
        core_http_response_cleanup(&resp);
    }
    CU_ASSERT(fivexx > 60 && fivexx < 140);
    sim_aws_stats(f.a, &st);
    CU_ASSERT_EQUAL(st.injected_errors, (unsigned long)fivexx);
    fx_close(&f);
}

static void test_faults_parse(void)
{
    struct sim_faults fl;
    struct core_err err;
    memset(&fl, 0, sizeof fl);
    CU_ASSERT_EQUAL(sim_faults_parse(&fl, "ice=m5.large@us-east-1a", NULL), 0);
    CU_ASSERT_EQUAL(sim_faults_parse(&fl, "ice=*@us-east-1b", NULL), 0);
    CU_ASSERT_EQUAL(fl.nice, 2);
    CU_ASSERT_STRING_EQUAL(fl.ice[0].instance_type, "m5.large");
    CU_ASSERT_STRING_EQUAL(fl.ice[1].zone, "us-east-1b");
    CU_ASSERT_EQUAL(sim_faults_parse(&fl, "consistency=5s", NULL), 0);
    CU_ASSERT_EQUAL(fl.consistency_delay, 5000000000LL);
    CU_ASSERT_EQUAL(sim_faults_parse(&fl, "throttle=off", NULL), 0);
    CU_ASSERT_EQUAL(fl.throttle, 0);
    core_err_clear(&err);
    CU_ASSERT_EQUAL(sim_faults_parse(&fl, "error-rate=2", &err), CORE_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "error-rate"));
    CU_ASSERT_EQUAL(sim_faults_parse(&fl, "latency=fast", NULL), CORE_E_INVAL);
    CU_ASSERT_EQUAL(sim_faults_parse(&fl, "ice=m5.large", NULL), CORE_E_INVAL);
    CU_ASSERT_EQUAL(sim_faults_parse(&fl, "meteor=1", NULL), CORE_E_INVAL);
    CU_ASSERT_EQUAL(fl.nice, 2);
}

static void test_ice_match(void)
{
    struct fx f;
    struct sim_aws_opts o;
    sim_aws_opts_default(&o);
    CU_ASSERT_EQUAL(sim_faults_parse(&o.faults, "ice=c5.large@*", NULL), 0);
    CU_ASSERT_EQUAL_FATAL(fx_open(&f, &o), 0);
    CU_ASSERT(sim_ice_match(f.a, "c5.large", "us-east-1b"));
    CU_ASSERT_FALSE(sim_ice_match(f.a, "c5.xlarge", "us-east-1b"));
    fx_close(&f);
}

static void test_boot_model(void)
{
    struct sim_boot_model m;
    struct sim_rng r1, r2;
    double sum = 0;
    core_ns lo = INT64_MAX, hi = 0;
    const struct sim_boot_param *p;

    sim_boot_model_default(&m);
    p = sim_boot_model_find(&m, "launch");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_DOUBLE_EQUAL(p->median_s, 14.0, 1e-9);
    /* The composite medians match the published figures. */
    CU_ASSERT_DOUBLE_EQUAL(m.step[SIM_BOOT_LAUNCH].median_s + m.step[SIM_BOOT_JOIN_COLD].median_s +
                               m.step[SIM_BOOT_READY].median_s,
                           36.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(m.step[SIM_BOOT_START].median_s + m.step[SIM_BOOT_JOIN_WARM].median_s +
                               m.step[SIM_BOOT_READY].median_s,
                           13.0, 1e-9);
    sim_rng_seed(&r1, 42);
    sim_rng_seed(&r2, 42);
    for (int i = 0; i < 2000; i++) {
        core_ns d = sim_boot_draw(&m, SIM_BOOT_LAUNCH, &r1);
        CU_ASSERT_EQUAL(d, sim_boot_draw(&m, SIM_BOOT_LAUNCH, &r2));
        sum += d < 14000000000LL ? 1 : 0;
        if (d < lo)
            lo = d;
        if (d > hi)
            hi = d;
    }
    /* About half the draws fall under the median; all inside the clamp. */
    CU_ASSERT(sum > 900 && sum < 1100);
    CU_ASSERT(lo >= 8000000000LL);
    CU_ASSERT(hi <= 60000000000LL);
    CU_ASSERT_EQUAL(sim_boot_model_set(&m, "launch=2s/0", NULL), 0);
    CU_ASSERT_EQUAL(sim_boot_draw(&m, SIM_BOOT_LAUNCH, &r1), 2000000000LL);
    CU_ASSERT_EQUAL(sim_boot_model_set(&m, "start=250ms", NULL), 0);
    CU_ASSERT_DOUBLE_EQUAL(m.step[SIM_BOOT_START].median_s, 0.25, 1e-9);
    CU_ASSERT_EQUAL(sim_boot_model_set(&m, "warp=1s", NULL), CORE_E_INVAL);
    CU_ASSERT_EQUAL(sim_boot_model_set(&m, "stop=-1s", NULL), CORE_E_INVAL);
    CU_ASSERT_EQUAL(sim_boot_model_set(&m, "stop=1s/9", NULL), CORE_E_INVAL);
    CU_ASSERT_EQUAL(sim_boot_model_set(&m, "launch=1e12s", NULL), CORE_E_INVAL);
}

static void test_env_file(void)
{
    struct fx f;
    char dir[] = "/tmp/stoker-sim-env-XXXXXX";
    char path[256];
    char *text;
    size_t len;
    struct stat st;

    CU_ASSERT_EQUAL_FATAL(fx_open(&f, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/sim.env", dir);
    CU_ASSERT_EQUAL(sim_aws_write_env(f.a, "http://127.0.0.1:4567", path, NULL), 0);
    text = tests_read_file(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "AWS_ENDPOINT_URL=http://127.0.0.1:4567\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "AWS_REGION=us-east-1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "AWS_ACCESS_KEY_ID=" SIM_AWS_ACCESS_KEY_ID "\n"));
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    core_free(text);
    unlink(path);
    rmdir(dir);
    CU_ASSERT_NOT_EQUAL(sim_aws_write_env(f.a, "http://x", "/nonexistent-dir/x.env", NULL), 0);
    fx_close(&f);
}

static void test_bad_region_refused(void)
{
    struct fx f;
    struct sim_aws_opts o;
    sim_aws_opts_default(&o);
    o.region = "US EAST";
    CU_ASSERT_EQUAL(fx_open(&f, &o), CORE_E_INVAL);
    CU_ASSERT_PTR_NULL(f.a);
    fx_close(&f);
}

/* An unsigned request straight to the handler (accounts built with skip_signature_check). */
static int call_plain(struct sim_aws *a, const char *body, char *out, size_t outsz)
{
    struct sim_header h = {"Content-Type", "application/x-www-form-urlencoded"};
    struct sim_http_req req = {0};
    struct core_http_response resp;
    core_ns delay;
    int status;
    req.method = "POST";
    req.target = "/";
    req.headers = &h;
    req.nheaders = 1;
    req.body = body;
    req.body_len = strlen(body);
    memset(&resp, 0, sizeof resp);
    core_buf_init(&resp.body, 64u << 20);
    sim_aws_handle(a, &req, &resp, &delay);
    status = (int)resp.status;
    if (out)
        core_strlcpy(out, core_buf_cstr(&resp.body), outsz);
    core_http_response_cleanup(&resp);
    return status;
}

struct reentry {
    struct sim_aws *a;
    int terminated_seen;
    int nested_status;
};

static void reentrant_observer(void *ud, const struct sim_instance_view *v)
{
    struct reentry *r = ud;
    if (strcmp(v->state, "terminated") != 0)
        return;
    r->terminated_seen++;
    /* A controller reacting to the change with a request, from inside the callback. */
    r->nested_status = call_plain(r->a, "Action=DescribeInstances&Version=2016-11-15", NULL, 0);
}

static void test_observer_may_call_back(void)
{
    struct fx f;
    struct sim_aws_opts o;
    struct reentry r = {0};
    char body[8192], id[32] = "", form[128];
    const char *p;

    sim_aws_opts_default(&o);
    o.skip_signature_check = 1;
    o.faults.throttle = 0;
    CU_ASSERT_EQUAL_FATAL(fx_open(&f, &o), 0);
    r.a = f.a;
    sim_aws_set_observer(f.a, reentrant_observer, &r);
    CU_ASSERT_EQUAL(call_plain(f.a,
                               "Action=RunInstances&Version=2016-11-15&ImageId=" 
                               "ami-00000000000000000&InstanceType=m5.large&MinCount=1&MaxCount=1",
                               body, sizeof body),
                    400); /* no such image: find a real one first */
    {
        const struct sim_image *im = NULL;
        for (size_t i = 0; i < f.a->nimages && !im; i++)
            if (strcmp(f.a->images[i]->arch, "x86_64") == 0 &&
                f.a->images[i]->family == SIM_AMI_AL2023)
                im = f.a->images[i];
        CU_ASSERT_PTR_NOT_NULL_FATAL(im);
        snprintf(form, sizeof form,
                 "Action=RunInstances&Version=2016-11-15&ImageId=%s&InstanceType=c5.large&"
                 "MinCount=1&MaxCount=1",
                 im->id);
    }
    /* The first subnet's zone may lack c5.large: try each subnet. */
    for (size_t s = 0; s < f.a->nsubnets && !id[0]; s++) {
        char full[256];
        snprintf(full, sizeof full, "%s&SubnetId=%s", form, f.a->subnets[s].id);
        if (call_plain(f.a, full, body, sizeof body) == 200 && (p = strstr(body, "<instanceId>")))
            core_strlcpy(id, p + 12, 20);
    }
    CU_ASSERT_EQUAL_FATAL(strlen(id), 19);
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, (core_ns)60 * CORE_NS_PER_S), 0);
    snprintf(form, sizeof form, "Action=TerminateInstances&Version=2016-11-15&InstanceId.1=%s", id);
    CU_ASSERT_EQUAL(call_plain(f.a, form, NULL, 0), 200);
    /* Far past shutting-down and past the terminated TTL: the next request applies both in
     * one pass while the observer calls back in. */
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, (core_ns)3 * 3600 * CORE_NS_PER_S), 0);
    CU_ASSERT_EQUAL(call_plain(f.a, "Action=DescribeInstances&Version=2016-11-15", body,
                               sizeof body),
                    200);
    CU_ASSERT_EQUAL(r.terminated_seen, 1);
    CU_ASSERT_EQUAL(r.nested_status, 200);
    CU_ASSERT_PTR_NULL(strstr(body, id)); /* aged out */
    CU_ASSERT_EQUAL(sim_aws_instance_count(f.a), 0);
    fx_close(&f);
}

/* A signature made over UNSIGNED-PAYLOAD does not let another body through. */
static void test_unsigned_payload_not_honoured(void)
{
    struct fx f;
    struct core_http_response resp;
    core_ns delay;
    struct forge forge = {"Action=DescribeSubnets&Version=2016-11-15", 1};

    CU_ASSERT_EQUAL_FATAL(fx_open(&f, NULL), 0);
    send_signed(&f, "ec2", NULL, "anything", SIM_AWS_ACCESS_KEY_ID, SIM_AWS_SECRET_ACCESS_KEY,
                core_clock_wall(f.clock), &forge, &resp, &delay);
    CU_ASSERT_EQUAL(resp.status, 401);
    core_http_response_cleanup(&resp);
    fx_close(&f);
}

static void test_request_size_bounds(void)
{
    struct fx f;
    struct sim_aws_opts o;
    struct core_buf b;
    char out[2048];

    sim_aws_opts_default(&o);
    o.skip_signature_check = 1;
    o.faults.throttle = 0;
    CU_ASSERT_EQUAL_FATAL(fx_open(&f, &o), 0);
    core_buf_init(&b, 8u << 20);
    CU_ASSERT_EQUAL_FATAL(core_buf_append_str(&b, "Action=DescribeSubnets&Version=2016-11-15"), 0);
    for (int i = 0; i < 6000; i++)
        CU_ASSERT_EQUAL_FATAL(core_buf_appendf(&b, "&P%d=x", i), 0);
    CU_ASSERT_EQUAL(call_plain(f.a, core_buf_cstr(&b), out, sizeof out), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "at most 5000"));
    core_buf_reset(&b);
    CU_ASSERT_EQUAL_FATAL(core_buf_append_str(&b, "Action=DescribeSubnets&Version=2016-11-15&X="),
                          0);
    for (int i = 0; i < (1 << 20); i++)
        CU_ASSERT_EQUAL_FATAL(core_buf_append_char(&b, 'a'), 0);
    CU_ASSERT_EQUAL(call_plain(f.a, core_buf_cstr(&b), out, sizeof out), 400);
    core_buf_cleanup(&b);
    fx_close(&f);
}

static void test_env_file_replaces_stale_tmp(void)
{
    struct fx f;
    char dir[] = "/tmp/stoker-sim-env2-XXXXXX";
    char path[256], tmp[300], target[300];
    struct stat st;

    CU_ASSERT_EQUAL_FATAL(fx_open(&f, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/sim.env", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(target, sizeof target, "%s/elsewhere", dir);
    /* A stale PATH.tmp that is a symlink elsewhere must not receive the secret. */
    CU_ASSERT_EQUAL(symlink(target, tmp), 0);
    CU_ASSERT_EQUAL(sim_aws_write_env(f.a, "http://127.0.0.1:1", path, NULL), 0);
    CU_ASSERT_NOT_EQUAL(stat(target, &st), 0);
    CU_ASSERT_EQUAL(lstat(path, &st), 0);
    CU_ASSERT(S_ISREG(st.st_mode));
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    unlink(path);
    rmdir(dir);
    fx_close(&f);
}

TESTS_SUITE(sim_aws, "sim_aws", NULL, NULL, TESTS_CASE(test_account_layout),
            TESTS_CASE(test_offerings_vary_by_zone),
            TESTS_CASE(test_signature_accepted_and_rejected),
            TESTS_CASE(test_body_tampering_detected), TESTS_CASE(test_unknown_and_missing_action),
            TESTS_CASE(test_throttling_bucket), TESTS_CASE(test_injected_errors_and_latency),
            TESTS_CASE(test_faults_parse), TESTS_CASE(test_ice_match),
            TESTS_CASE(test_boot_model), TESTS_CASE(test_env_file),
            TESTS_CASE(test_bad_region_refused), TESTS_CASE(test_observer_may_call_back),
            TESTS_CASE(test_unsigned_payload_not_honoured),
            TESTS_CASE(test_request_size_bounds), TESTS_CASE(test_env_file_replaces_stale_tmp))
