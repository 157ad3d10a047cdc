/*
 * tests/fuzz/fuzz_sim_kube.c — libFuzzer target for the emulated Kubernetes API's HTTP layer:
 * arbitrary requests reach the router, the query parser (selectors, limit/continue,
 * resourceVersion), JSON/YAML bodies, every verb and patch type, CRD schema validation and
 * the Table (JSONPath) renderer, as bytes from a client would.
 *
 * Input: line 1 "METHOD TARGET", line 2 a Content-Type (may be empty), line 3 an Accept (may
 * be empty), the rest the body. The API (with stoker's CRDs) lives across inputs so writes
 * meet existing objects; it is rebuilt every 2,000 inputs so memory stays bounded. Requests
 * come without a stream (a front end that cannot stream), so watches answer an error.
 */
#include "sim/kube_internal.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct core_clock *clock_;
static struct core_loop *loop_;
static struct sim_kube *kube;
static unsigned runs;

static void setup(void)
{
    struct sim_kube_opts o;
    if (kube && runs % 2000 != 0)
        return;
    sim_kube_free(kube);
    kube = NULL;
    if (!clock_)
        clock_ = core_clock_virtual_new(0, (core_ns)1795000000 * 1000000000LL);
    if (!loop_ && core_loop_new(clock_, NULL, &loop_, NULL) != 0)
        __builtin_trap();
    sim_kube_opts_default(&o);
    if (sim_kube_new(loop_, &o, &kube, NULL) != 0 || sim_kube_load_builtin_crds(kube, NULL) != 0)
        __builtin_trap();
}

/* Copies the next line (without its '\n') into out; returns the rest. */
static const uint8_t *line(const uint8_t *p, const uint8_t *end, char *out, size_t outsz)
{
    const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return nl ? nl + 1 : end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char first[2048], ctype[128], accept[256], method[16];
    const uint8_t *p = data, *end = data + size;
    const char *sp;
    struct sim_header hdrs[2];
    size_t nh = 0;
    struct sim_http_req req;
    struct core_http_response resp;
    core_ns delay = 0;

    if (size > 65536)
        return 0;
    setup();
    runs++;
    p = line(p, end, first, sizeof first);
    p = line(p, end, ctype, sizeof ctype);
    p = line(p, end, accept, sizeof accept);
    sp = strchr(first, ' ');
    if (!sp || sp == first || (size_t)(sp - first) >= sizeof method)
        return 0;
    memcpy(method, first, (size_t)(sp - first));
    method[sp - first] = '\0';
    if (ctype[0])
        hdrs[nh++] = (struct sim_header){"Content-Type", ctype};
    if (accept[0])
        hdrs[nh++] = (struct sim_header){"Accept", accept};
    memset(&req, 0, sizeof req);
    req.method = method;
    req.target = sp + 1;
    req.headers = hdrs;
    req.nheaders = nh;
    req.body = (const char *)p;
    req.body_len = (size_t)(end - p);
    memset(&resp, 0, sizeof resp);
    core_buf_init(&resp.body, 64u << 20);
    sim_kube_handle(kube, &req, &resp, &delay);
    if (resp.status < 100 || resp.status > 599)
        __builtin_trap();
    core_http_response_cleanup(&resp);
    /* Deliver queued events and run garbage collection. */
    for (int i = 0; i < 4 && core_loop_timer_count(loop_) > 0; i++)
        if (core_loop_run_once(loop_, 0, NULL) < 0)
            __builtin_trap();
    return 0;
}
