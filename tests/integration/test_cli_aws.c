/*
 * tests/integration/test_cli_aws.c — the built `stoker aws call` binary against a loopback
 * HTTP server standing in for EC2 and SSM: the real curl transport, the real credentials chain
 * (environment keys), SigV4 on the wire, decoding, printing, and exit codes.
 *
 * The server (libmicrohttpd, its own thread) answers by the request's Action / X-Amz-Target and
 * records whether the request was signed with the expected key id, so the test can tell a
 * signed call from an unsigned one.
 */
#include "tests/unit/harness.h"

#include "core/core.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct fake_aws {
    struct MHD_Daemon *d;
    unsigned short port;
    int signed_ok;  /* last request carried a SigV4 header with our key id */
    char body[4096];
    size_t body_len;
};

struct fake_req {
    char body[4096];
    size_t len;
};

static const char subnets_xml[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<DescribeSubnetsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
    "<requestId>req-1</requestId><subnetSet><item><subnetId>subnet-0a</subnetId>"
    "<availabilityZone>us-east-1a</availabilityZone></item></subnetSet>"
    "</DescribeSubnetsResponse>";

static const char error_xml[] =
    "<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>bad filter</Message>"
    "</Error></Errors><RequestID>req-2</RequestID></Response>";

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *body,
                              const char *ctype)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                             MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", ctype);
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **con_cls)
{
    struct fake_aws *s = cls;
    struct fake_req *rq = *con_cls;
    const char *auth, *target;

    (void)url;
    (void)method;
    (void)version;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*size) {
        size_t n = *size < sizeof rq->body - 1 - rq->len ? *size : sizeof rq->body - 1 - rq->len;
        memcpy(rq->body + rq->len, data, n);
        rq->len += n;
        *size = 0;
        return MHD_YES;
    }
    auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    target = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Target");
    s->signed_ok = auth && strstr(auth, "Credential=AKIDTEST/") != NULL;
    memcpy(s->body, rq->body, rq->len + 1);
    s->body_len = rq->len;
    if (target && strcmp(target, "AmazonSSM.GetParameter") == 0)
        return answer(c, 200, "{\"Parameter\":{\"Name\":\"/p\",\"Type\":\"String\",\"Value\":"
                              "\"ami-0abc\",\"Version\":3}}", "application/x-amz-json-1.1");
    if (strstr(rq->body, "Action=DescribeSubnets"))
        return answer(c, 200, subnets_xml, "text/xml");
    return answer(c, 400, error_xml, "text/xml");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static int fake_start(struct fake_aws *s)
{
    const union MHD_DaemonInfo *info;
    memset(s, 0, sizeof s[0]);
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            handler, s, MHD_OPTION_NOTIFY_COMPLETED, completed, s,
                            MHD_OPTION_SOCK_ADDR, NULL, MHD_OPTION_END);
    if (!s->d)
        return -1;
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    return s->port ? 0 : -1;
}

/* Runs the binary with the fake endpoint and test keys; captures stdout and stderr. */
static int run_stoker(const struct fake_aws *s, const char *args, char *out, size_t outsz,
                      char *errout, size_t errsz)
{
    char cmd[2048], errpath[] = "/tmp/stoker-cli-aws-XXXXXX";
    FILE *p;
    size_t n;
    int st, fd = mkstemp(errpath);
    char *e;

    if (fd < 0)
        return -1;
    close(fd);
    snprintf(cmd, sizeof cmd,
             "env -i PATH=/usr/bin:/bin HOME=/nonexistent AWS_REGION=us-east-1 "
             "AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=secretTEST "
             "AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL=http://127.0.0.1:%u "
             "%s %s 2>%s",
             (unsigned)s->port, tests_stoker_bin(), args, errpath);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    n = fread(out, 1, outsz - 1, p);
    out[n] = '\0';
    st = pclose(p);
    e = tests_read_file(errpath, NULL);
    core_strlcpy(errout, e ? e : "", errsz);
    core_free(e);
    unlink(errpath);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_aws_call_ec2(void)
{
    struct fake_aws s;
    char out[8192], err[8192];
    CU_ASSERT_EQUAL_FATAL(fake_start(&s), 0);
    CU_ASSERT_EQUAL(run_stoker(&s, "aws call ec2 DescribeSubnets Filter.1.Name=vpc-id "
                                   "Filter.1.Value.1=vpc-1", out, sizeof out, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "DescribeSubnetsResponse:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "subnetId: subnet-0a"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "availabilityZone: us-east-1a"));
    CU_ASSERT(s.signed_ok);
    CU_ASSERT_STRING_EQUAL(s.body, "Action=DescribeSubnets&Version=2016-11-15"
                                   "&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1");
    /* The log says where the credentials came from, and never what they are. */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "source=environment"));
    CU_ASSERT_PTR_NULL(strstr(err, "secretTEST"));
    /* A service error: exit 1 with the code and message on stderr. */
    CU_ASSERT_EQUAL(run_stoker(&s, "aws call ec2 DescribeNothing", out, sizeof out, err,
                               sizeof err), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "InvalidParameterValue"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad filter"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "req-2"));
    MHD_stop_daemon(s.d);
}

static void test_aws_call_ssm(void)
{
    struct fake_aws s;
    char out[8192], err[8192];
    CU_ASSERT_EQUAL_FATAL(fake_start(&s), 0);
    CU_ASSERT_EQUAL(run_stoker(&s, "aws call ssm GetParameter Name=/p", out, sizeof out, err,
                               sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"Value\": \"ami-0abc\""));
    CU_ASSERT_STRING_EQUAL(s.body, "{\"Name\":\"/p\"}");
    CU_ASSERT(s.signed_ok);
    MHD_stop_daemon(s.d);
}

static void test_aws_call_usage(void)
{
    struct fake_aws s;
    char out[4096], err[4096];
    CU_ASSERT_EQUAL_FATAL(fake_start(&s), 0);
    CU_ASSERT_EQUAL(run_stoker(&s, "aws call s3 ListBuckets", out, sizeof out, err, sizeof err), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown service 's3'"));
    CU_ASSERT_EQUAL(run_stoker(&s, "aws call ec2", out, sizeof out, err, sizeof err), 2);
    CU_ASSERT_EQUAL(run_stoker(&s, "aws call --help", out, sizeof out, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "usage: stoker aws call"));
    MHD_stop_daemon(s.d);
}

TESTS_SUITE(cli_aws, "cli_aws", NULL, NULL, TESTS_CASE(test_aws_call_ec2),
            TESTS_CASE(test_aws_call_ssm), TESTS_CASE(test_aws_call_usage))
