/*
 * tests/fuzz/fuzz_sim_aws.c — libFuzzer target for the emulated AWS: arbitrary requests reach
 * the form parser, the filters, pagination tokens, every EC2 action and the SSM JSON
 * operations, exactly as bytes from a client would (signature checking off so mutations get
 * past the front door).
 *
 * Input: 'E' + a form body (EC2), or 'S' + an operation name + '\n' + a JSON body (SSM). The
 * account lives across inputs so state-dependent paths (stop after run, a template used by a
 * fleet) are reached; it is rebuilt every 2,000 inputs so memory stays bounded. Virtual time
 * moves 7 s per input, so instances go through their transitions.
 */
#include "sim/internal.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct core_clock *clock_;
static struct core_loop *loop_;
static struct sim_aws *acct;
static unsigned runs;

static void setup(void)
{
    struct sim_aws_opts o;
    if (acct && runs % 2000 != 0)
        return;
    sim_aws_free(acct);
    acct = NULL;
    if (!clock_)
        clock_ = core_clock_virtual_new(0, (core_ns)1795000000 * 1000000000LL);
    if (!loop_ && core_loop_new(clock_, NULL, &loop_, NULL) != 0)
        __builtin_trap();
    sim_aws_opts_default(&o);
    o.skip_signature_check = 1;
    o.faults.throttle = 0;
    o.terminated_ttl = (core_ns)60 * 1000000000LL;
    if (sim_aws_new(loop_, &o, &acct, NULL) != 0)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sim_http_req req;
    struct sim_header hdrs[2];
    struct core_http_response resp;
    char target[128];
    core_ns delay = 0;
    const char *body;
    size_t body_len;

    if (size < 1 || size > 65536)
        return 0;
    setup();
    runs++;
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.target = "/";
    req.headers = hdrs;
    if (data[0] == 'S') {
        const uint8_t *nl = memchr(data + 1, '\n', size - 1);
        size_t oplen = nl ? (size_t)(nl - data - 1) : size - 1;
        if (oplen > 100)
            return 0;
        snprintf(target, sizeof target, "AmazonSSM.%.*s", (int)oplen, (const char *)data + 1);
        hdrs[0] = (struct sim_header){"X-Amz-Target", target};
        hdrs[1] = (struct sim_header){"Content-Type", "application/x-amz-json-1.1"};
        req.nheaders = 2;
        body = nl ? (const char *)nl + 1 : "";
        body_len = nl ? size - (size_t)(nl + 1 - data) : 0;
    } else {
        hdrs[0] = (struct sim_header){"Content-Type", "application/x-www-form-urlencoded"};
        req.nheaders = 1;
        body = (const char *)data + 1;
        body_len = size - 1;
    }
    req.body = body;
    req.body_len = body_len;
    memset(&resp, 0, sizeof resp);
    core_buf_init(&resp.body, 64u << 20);
    sim_aws_handle(acct, &req, &resp, &delay);
    if (resp.status < 200 || resp.status > 599)
        __builtin_trap();
    core_http_response_cleanup(&resp);
    if (core_clock_advance(clock_, (core_ns)7 * 1000000000LL) != 0)
        __builtin_trap();
    return 0;
}
