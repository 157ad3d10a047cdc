/*
 * tests/unit/test_sim_transport.c — the in-process transport's contract, with a small handler
 * of its own (no emulated account): never answers inside submit, honours the handler's delay
 * in virtual time, passes the target and headers as they would cross the wire (Host added from
 * the URL), cancels without completion (also from callbacks), streams the whole body in one
 * piece with on_status first, and enforces max_response with CORE_E_TOOBIG. Suite sim_server:
 * the loopback server through the curl transport (raw target, delay by suspension, 413, free
 * with a suspended connection, loopback-only binding).
 */
#include "tests/unit/harness.h"

#include "core/core.h"
#include "sim/sim.h"

#include <string.h>
#include <strings.h>

struct th {
    int calls;           /* handler invocations */
    char method[16];
    char target[256];
    char host[128];
    int nhost;           /* Host headers seen */
    char body[256];
    core_ns delay;       /* what the handler asks for */
    const char *answer;  /* body to answer */
    long status;
};

static void handler(void *ud, const struct sim_http_req *req, struct core_http_response *resp,
                    core_ns *delay)
{
    struct th *h = ud;
    h->calls++;
    core_strlcpy(h->method, req->method, sizeof h->method);
    core_strlcpy(h->target, req->target, sizeof h->target);
    h->nhost = 0;
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, "Host") == 0) {
            h->nhost++;
            core_strlcpy(h->host, req->headers[i].value, sizeof h->host);
        }
    memcpy(h->body, req->body, req->body_len < sizeof h->body - 1 ? req->body_len
                                                                  : sizeof h->body - 1);
    h->body[req->body_len < sizeof h->body - 1 ? req->body_len : sizeof h->body - 1] = '\0';
    resp->status = h->status ? h->status : 200;
    CU_ASSERT_EQUAL(core_http_response_add_header(resp, "X-Test", "yes"), 0);
    if (h->answer)
        CU_ASSERT_EQUAL(core_buf_append_str(&resp->body, h->answer), 0);
    *delay = h->delay;
}

struct done {
    int n;
    int result;
    long status;
    core_ns at;
    char body[256];
    char xtest[16];
    struct core_loop *loop;
    /* streaming */
    int nstatus, ndata;
    long seen_status;
    size_t data_len;
    int abort_data;
    struct core_http_transport *destroy_in_data; /* destroy the transport from on_data */
    struct core_http_transport *cancel_t;        /* cancel cancel_id from on_done */
    uint64_t cancel_id;
};

static void on_done(void *ud, struct core_http_response *resp)
{
    struct done *d = ud;
    const char *x = core_http_response_header(resp, "X-Test");
    d->n++;
    d->result = resp->result;
    d->status = resp->status;
    d->at = core_loop_now(d->loop);
    core_strlcpy(d->body, core_buf_cstr(&resp->body), sizeof d->body);
    core_strlcpy(d->xtest, x ? x : "", sizeof d->xtest);
    if (d->cancel_t)
        core_http_cancel(d->cancel_t, d->cancel_id);
}

static int on_status(void *ud, long status)
{
    struct done *d = ud;
    d->nstatus++;
    d->seen_status = status;
    return 0;
}

static int on_data(void *ud, const char *data, size_t len)
{
    struct done *d = ud;
    (void)data;
    d->ndata++;
    d->data_len += len;
    if (d->destroy_in_data) {
        core_http_transport_free(d->destroy_in_data);
        d->destroy_in_data = NULL;
    }
    return d->abort_data;
}

struct fx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct core_http_transport *t;
    struct th h;
};

static void fx_setup(struct fx *f)
{
    memset(f, 0, sizeof *f);
    f->clock = core_clock_virtual_new(0, INT64_C(1790000000) * CORE_NS_PER_S);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(f->clock, NULL, &f->loop, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(sim_transport_new(f->loop, handler, &f->h, &f->t, NULL), 0);
}

static void fx_teardown(struct fx *f)
{
    core_http_transport_free(f->t);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

static void req_init(struct core_http_request *r, const char *url, struct done *d)
{
    memset(r, 0, sizeof *r);
    r->method = "POST";
    r->url = url;
    r->on_done = on_done;
    r->ud = d;
}

static void test_never_synchronous(void)
{
    struct fx f;
    struct done d;
    struct core_http_request r;
    static const char *const hdrs[] = {"Content-Type: text/plain",
                                       "X-Amz-Date:  20260101T000000Z  "};
    uint64_t id = 0;

    fx_setup(&f);
    memset(&d, 0, sizeof d);
    d.loop = f.loop;
    f.h.answer = "hello";
    f.h.status = 404;
    req_init(&r, "http://sim.invalid:8080/path/x?Action=Describe&b=%2F#frag", &d);
    r.headers = hdrs;
    r.nheaders = 2;
    r.body = "a=1";
    r.body_len = 3;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &r, &id, NULL), 0);
    CU_ASSERT(id != 0);
    CU_ASSERT_EQUAL(f.h.calls, 0);
    CU_ASSERT_EQUAL(d.n, 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(f.h.calls, 1);
    CU_ASSERT_EQUAL(d.n, 1);
    CU_ASSERT_EQUAL(d.result, 0);   /* an HTTP error status is not a transport failure */
    CU_ASSERT_EQUAL(d.status, 404);
    CU_ASSERT_STRING_EQUAL(d.body, "hello");
    CU_ASSERT_STRING_EQUAL(d.xtest, "yes");
    CU_ASSERT_STRING_EQUAL(f.h.method, "POST");
    CU_ASSERT_STRING_EQUAL(f.h.target, "/path/x?Action=Describe&b=%2F");
    CU_ASSERT_STRING_EQUAL(f.h.host, "sim.invalid:8080");
    CU_ASSERT_EQUAL(f.h.nhost, 1);
    CU_ASSERT_STRING_EQUAL(f.h.body, "a=1");

    /* A Host header given by the caller is kept, not doubled; a bare URL targets "/". */
    {
        static const char *const h2[] = {"Host: other.example"};
        req_init(&r, "https://sim.invalid", &d);
        r.headers = h2;
        r.nheaders = 1;
        CU_ASSERT_EQUAL(core_http_submit(f.t, &r, &id, NULL), 0);
        CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
        CU_ASSERT_STRING_EQUAL(f.h.host, "other.example");
        CU_ASSERT_EQUAL(f.h.nhost, 1);
        CU_ASSERT_STRING_EQUAL(f.h.target, "/");
    }
    /* Not a URL, or a header that is not "Name: value": refused at submit. */
    {
        struct core_err err;
        static const char *const bad[] = {"no colon here"};
        req_init(&r, "sim.invalid/x", &d);
        CU_ASSERT_EQUAL(core_http_submit(f.t, &r, &id, &err), CORE_E_INVAL);
        req_init(&r, "http://sim.invalid/", &d);
        r.headers = bad;
        r.nheaders = 1;
        CU_ASSERT_EQUAL(core_http_submit(f.t, &r, &id, &err), CORE_E_INVAL);
        CU_ASSERT_EQUAL(d.n, 2);
    }
    fx_teardown(&f);
}

static void test_delay_virtual_time(void)
{
    struct fx f;
    struct done d;
    struct core_http_request r;
    uint64_t id;
    core_ns t0;

    fx_setup(&f);
    memset(&d, 0, sizeof d);
    d.loop = f.loop;
    f.h.delay = 5 * CORE_NS_PER_S;
    t0 = core_loop_now(f.loop);
    req_init(&r, "http://sim.invalid/", &d);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(d.n, 1);
    CU_ASSERT_EQUAL(d.at - t0, 5 * CORE_NS_PER_S);
    fx_teardown(&f);
}

static struct core_http_transport *cancel_t;
static uint64_t cancel_id;
static void cancel_timer(void *ud)
{
    (void)ud;
    core_http_cancel(cancel_t, cancel_id);
}

static void test_cancel(void)
{
    struct fx f;
    struct done d1, d2, d3;
    struct core_http_request r1, r2, r3;
    uint64_t id1, id2, id3;

    fx_setup(&f);
    memset(&d1, 0, sizeof d1);
    memset(&d2, 0, sizeof d2);
    memset(&d3, 0, sizeof d3);
    d1.loop = d2.loop = d3.loop = f.loop;
    req_init(&r1, "http://sim.invalid/1", &d1);
    req_init(&r2, "http://sim.invalid/2", &d2);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &r1, &id1, NULL), 0);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &r2, &id2, NULL), 0);
    /* Before the handler ran: neither the handler nor on_done sees it. */
    core_http_cancel(f.t, id1);
    core_http_cancel(f.t, 9999); /* unknown ids are ignored */
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(f.h.calls, 1);
    CU_ASSERT_STRING_EQUAL(f.h.target, "/2");
    CU_ASSERT_EQUAL(d1.n, 0);
    CU_ASSERT_EQUAL(d2.n, 1);

    /* After the handler ran, during its delay. */
    f.h.delay = 10 * CORE_NS_PER_S;
    req_init(&r1, "http://sim.invalid/3", &d1);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &r1, &id1, NULL), 0);
    cancel_t = f.t;
    cancel_id = id1;
    CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(f.loop, 2 * CORE_NS_PER_S, cancel_timer, NULL));
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(f.h.calls, 2);
    CU_ASSERT_EQUAL(d1.n, 0);

    /* From inside another call's on_done. */
    f.h.delay = 0;
    req_init(&r2, "http://sim.invalid/4", &d2);
    req_init(&r3, "http://sim.invalid/5", &d3);
    d2.n = 0;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &r2, &id2, NULL), 0);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &r3, &id3, NULL), 0);
    f.h.delay = 0;
    d2.cancel_t = f.t;
    d2.cancel_id = id3;
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(d2.n, 1);
    CU_ASSERT_EQUAL(d3.n, 0);

    /* Destroy with calls in flight: no completion, nothing leaks, the loop is released. */
    req_init(&r1, "http://sim.invalid/6", &d1);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &r1, &id1, NULL), 0);
    core_http_transport_free(f.t);
    f.t = NULL;
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(d1.n, 0);
    fx_teardown(&f);
}

static void test_streaming(void)
{
    struct fx f;
    struct done d;
    struct core_http_request r;
    uint64_t id;

    fx_setup(&f);
    memset(&d, 0, sizeof d);
    d.loop = f.loop;
    f.h.answer = "<xml>0123456789</xml>";
    f.h.status = 200;
    req_init(&r, "http://sim.invalid/", &d);
    r.on_data = on_data;
    r.on_status = on_status;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(d.nstatus, 1);
    CU_ASSERT_EQUAL(d.seen_status, 200);
    CU_ASSERT_EQUAL(d.ndata, 1);
    CU_ASSERT_EQUAL(d.data_len, strlen(f.h.answer));
    CU_ASSERT_EQUAL(d.n, 1);
    CU_ASSERT_EQUAL(d.result, 0);
    CU_ASSERT_STRING_EQUAL(d.body, ""); /* streamed: nothing accumulated */

    /* The data callback aborts: the completion says cancelled. */
    memset(&d, 0, sizeof d);
    d.loop = f.loop;
    d.abort_data = 1;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(d.ndata, 1);
    CU_ASSERT_EQUAL(d.n, 1);
    CU_ASSERT_EQUAL(d.result, CORE_E_CANCELLED);

    /* An empty body: no on_status, no on_data, one completion. */
    memset(&d, 0, sizeof d);
    d.loop = f.loop;
    f.h.answer = NULL;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(d.nstatus + d.ndata, 0);
    CU_ASSERT_EQUAL(d.n, 1);

    /* The transport destroyed from inside on_data: no completion, no leak. */
    memset(&d, 0, sizeof d);
    d.loop = f.loop;
    f.h.answer = "data";
    d.destroy_in_data = f.t;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(d.ndata, 1);
    CU_ASSERT_EQUAL(d.n, 0);
    f.t = NULL;
    fx_teardown(&f);
}

static void test_max_response(void)
{
    struct fx f;
    struct done d;
    struct core_http_request r;
    uint64_t id;

    fx_setup(&f);
    memset(&d, 0, sizeof d);
    d.loop = f.loop;
    f.h.answer = "0123456789abcdef";
    req_init(&r, "http://sim.invalid/", &d);
    r.max_response = 10;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(d.n, 1);
    CU_ASSERT_EQUAL(d.result, CORE_E_TOOBIG);
    CU_ASSERT_STRING_EQUAL(d.body, "");

    /* Streaming: nothing is delivered at all. */
    memset(&d, 0, sizeof d);
    d.loop = f.loop;
    r.on_data = on_data;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(d.ndata, 0);
    CU_ASSERT_EQUAL(d.result, CORE_E_TOOBIG);

    /* Exactly at the limit is fine. */
    memset(&d, 0, sizeof d);
    d.loop = f.loop;
    r.on_data = NULL;
    r.max_response = 16;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(d.result, 0);
    CU_ASSERT_STRING_EQUAL(d.body, "0123456789abcdef");
    fx_teardown(&f);
}

/* A graceful shutdown waits for an emulated answer in flight (the call holds the loop). */
static void test_hold(void)
{
    struct fx f;
    struct done d;
    struct core_http_request r;
    uint64_t id;

    fx_setup(&f);
    memset(&d, 0, sizeof d);
    d.loop = f.loop;
    f.h.delay = 3 * CORE_NS_PER_S;
    req_init(&r, "http://sim.invalid/", &d);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &r, &id, NULL), 0);
    core_loop_stop(f.loop);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(d.n, 1);
    CU_ASSERT_EQUAL(d.result, 0);
    fx_teardown(&f);
}

/* ---- the loopback server, through the real curl transport on a real-clock loop ------------- */

static void test_server(void)
{
    struct core_clock *clock = core_clock_real_new();
    struct core_loop *loop = NULL;
    struct core_http_transport *curl = NULL;
    struct sim_server *srv = NULL;
    struct sim_server_opts so = {"127.0.0.1", 0, 64};
    struct th h;
    struct done d;
    struct core_http_request r;
    struct core_err err;
    char url[128];
    static const char *const hdrs[] = {"X-Amz-Target: AmazonSSM.GetParameter"};
    uint64_t id;
    core_ns t0;

    memset(&h, 0, sizeof h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(clock, NULL, &loop, NULL), 0);
    /* Only loopback addresses. */
    so.host = "0.0.0.0";
    CU_ASSERT_EQUAL(sim_server_new(loop, &so, handler, &h, &srv, &err), CORE_E_INVAL);
    so.host = "192.168.1.1";
    CU_ASSERT_EQUAL(sim_server_new(loop, &so, handler, &h, &srv, &err), CORE_E_INVAL);
    so.host = "127.0.0.1";
    CU_ASSERT_EQUAL_FATAL(sim_server_new(loop, &so, handler, &h, &srv, &err), 0);
    CU_ASSERT(sim_server_port(srv) > 0);
    CU_ASSERT_EQUAL_FATAL(core_http_curl_new(loop, NULL, &curl, &err), 0);

    /* The raw target (query as sent), headers, body; a delay suspends the connection. */
    memset(&d, 0, sizeof d);
    d.loop = loop;
    h.answer = "{\"ok\":true}";
    h.status = 201;
    h.delay = 200 * CORE_NS_PER_MS;
    snprintf(url, sizeof url, "http://127.0.0.1:%u/a/b?x=%%2F&y=1", (unsigned)sim_server_port(srv));
    req_init(&r, url, &d);
    r.headers = hdrs;
    r.nheaders = 1;
    r.body = "{}";
    r.body_len = 2;
    t0 = core_loop_now(loop);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(curl, &r, &id, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(loop, &d.n, t0 + 10 * CORE_NS_PER_S, &err), 0);
    CU_ASSERT_EQUAL(d.result, 0);
    CU_ASSERT_EQUAL(d.status, 201);
    CU_ASSERT_STRING_EQUAL(d.body, "{\"ok\":true}");
    CU_ASSERT_STRING_EQUAL(d.xtest, "yes");
    CU_ASSERT(d.at - t0 >= 200 * CORE_NS_PER_MS);
    CU_ASSERT_STRING_EQUAL(h.target, "/a/b?x=%2F&y=1");
    CU_ASSERT_STRING_EQUAL(h.body, "{}");
    CU_ASSERT_EQUAL(h.nhost, 1);

    /* A body over max_body (64 bytes here) is refused with 413 before the handler. */
    {
        static char big[200];
        int calls = h.calls;
        memset(big, 'x', sizeof big);
        memset(&d, 0, sizeof d);
        d.loop = loop;
        h.delay = 0;
        req_init(&r, url, &d);
        r.body = big;
        r.body_len = sizeof big;
        CU_ASSERT_EQUAL_FATAL(core_http_submit(curl, &r, &id, &err), 0);
        CU_ASSERT_EQUAL(core_loop_run_until(loop, &d.n, core_loop_now(loop) + 10 * CORE_NS_PER_S,
                                            &err), 0);
        CU_ASSERT_EQUAL(d.status, 413);
        CU_ASSERT_EQUAL(h.calls, calls);
    }
    /* Freed with a suspended connection in flight: nothing leaks, nothing panics. */
    memset(&d, 0, sizeof d);
    d.loop = loop;
    h.delay = 30 * CORE_NS_PER_S;
    req_init(&r, url, &d);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(curl, &r, &id, &err), 0);
    {
        int calls = h.calls;
        core_ns end = core_loop_now(loop) + 5 * CORE_NS_PER_S;
        while (h.calls == calls && core_loop_now(loop) < end)
            if (core_loop_run_once(loop, 10 * CORE_NS_PER_MS, &err) < 0)
                break;
        CU_ASSERT_EQUAL(h.calls, calls + 1);
    }
    sim_server_free(srv);
    core_http_cancel(curl, id);
    core_http_transport_free(curl);
    core_loop_free(loop);
    core_clock_free(clock);
}

TESTS_SUITE(sim_server, "sim_server", NULL, NULL, TESTS_CASE(test_server))

TESTS_SUITE(sim_transport, "sim_transport", NULL, NULL, TESTS_CASE(test_never_synchronous),
            TESTS_CASE(test_delay_virtual_time), TESTS_CASE(test_cancel),
            TESTS_CASE(test_streaming), TESTS_CASE(test_max_response), TESTS_CASE(test_hold))
