/*
 * tests/unit/test_sim_stream.c — streaming answers (struct sim_stream) through both front
 * ends: the in-process transport in virtual time and the loopback server through curl. Each
 * checks that the handler's body and later writes arrive in order from the loop, that
 * sim_stream_end completes the exchange, that a client going away (cancel) runs on_close once
 * and from the loop, that freeing the front end with a stream open runs on_close, and the
 * queue limit for a stalled client.
 */
#include "tests/unit/harness.h"

#include "core/core.h"
#include "sim/sim.h"

#include <string.h>

/* ---- a handler that streams -------------------------------------------------------------- */

struct sh {
    struct core_loop *loop;
    struct sim_stream *st; /* the open stream, NULL once ended or closed */
    int closes;            /* on_close calls */
    int in_write;          /* a write or end is running: on_close must not happen then */
    int close_in_write;    /* on_close ran inside a write or end */
    int begin_again_rc;    /* sim_stream_begin a second time */
    int big_rc[3];         /* queue-limit writes inside the handler */
    int big;               /* do the queue-limit writes */
    int pieces;            /* timer-driven pieces still to write */
    int next_piece;
    int end_after;         /* end the stream after the pieces */
    core_ns every;
    struct core_timer *timer;
};

static void sh_close(void *ud)
{
    struct sh *h = ud;
    h->closes++;
    if (h->in_write)
        h->close_in_write = 1;
    h->st = NULL;
    if (h->timer)
        core_loop_timer_cancel(h->loop, h->timer);
    h->timer = NULL;
}

static void sh_tick(void *ud)
{
    struct sh *h = ud;
    char piece[32];

    h->timer = NULL;
    if (!h->st)
        return;
    if (h->pieces > 0) {
        snprintf(piece, sizeof piece, "p%d\n", ++h->next_piece);
        h->in_write = 1;
        CU_ASSERT_EQUAL(sim_stream_write(h->st, piece, strlen(piece)), 0);
        h->in_write = 0;
        h->pieces--;
    }
    if (h->pieces == 0 && h->end_after) {
        h->in_write = 1;
        sim_stream_end(h->st);
        h->in_write = 0;
        h->st = NULL;
        return;
    }
    h->timer = core_loop_timer_add(h->loop, h->every, sh_tick, h);
}

static void sh_handler(void *ud, const struct sim_http_req *req, struct core_http_response *resp,
                       core_ns *delay)
{
    struct sh *h = ud;

    (void)delay;
    CU_ASSERT_PTR_NOT_NULL_FATAL(req->stream);
    resp->status = 200;
    CU_ASSERT_EQUAL(core_http_response_add_header(resp, "X-Test", "stream"), 0);
    if (strcmp(req->target, "/plain") == 0) {
        CU_ASSERT_EQUAL(core_buf_append_str(&resp->body, "plain"), 0);
        return;
    }
    CU_ASSERT_EQUAL_FATAL(sim_stream_begin(req->stream, sh_close, h), 0);
    h->begin_again_rc = sim_stream_begin(req->stream, sh_close, h);
    h->st = req->stream;
    /* Written before the body: the body still goes first. */
    CU_ASSERT_EQUAL(sim_stream_write(req->stream, "w0\n", 3), 0);
    CU_ASSERT_EQUAL(core_buf_append_str(&resp->body, "first\n"), 0);
    if (h->big) {
        static char chunk[8u << 20];
        memset(chunk, 'x', sizeof chunk);
        h->big_rc[0] = sim_stream_write(req->stream, chunk, sizeof chunk);
        h->big_rc[1] = sim_stream_write(req->stream, chunk, sizeof chunk - 3);
        h->big_rc[2] = sim_stream_write(req->stream, "yz", 2); /* 16 MiB + 2 - 1 > limit */
    }
    h->timer = core_loop_timer_add(h->loop, h->every, sh_tick, h);
}

/* ---- a client -------------------------------------------------------------------------------- */

struct sc {
    int nstatus;
    long status;
    int status_after_data; /* on_status came after a piece: wrong */
    struct core_buf got;
    int ndata;
    int done;
    int result;
    char xtest[16];
    char body[64];
    size_t total;
};

static int sc_status(void *ud, long status)
{
    struct sc *c = ud;
    c->nstatus++;
    c->status = status;
    if (c->ndata)
        c->status_after_data = 1;
    return 0;
}

static int sc_data(void *ud, const char *data, size_t len)
{
    struct sc *c = ud;
    c->ndata++;
    c->total += len;
    if (c->got.len + len < 4096)
        CU_ASSERT_EQUAL(core_buf_append(&c->got, data, len), 0);
    return 0;
}

static void sc_done(void *ud, struct core_http_response *resp)
{
    struct sc *c = ud;
    const char *x = core_http_response_header(resp, "X-Test");
    c->done++;
    c->result = resp->result;
    if (!c->status)
        c->status = resp->status;
    core_strlcpy(c->xtest, x ? x : "", sizeof c->xtest);
    core_strlcpy(c->body, core_buf_cstr(&resp->body), sizeof c->body);
}

static void sc_init(struct sc *c)
{
    memset(c, 0, sizeof *c);
    core_buf_init(&c->got, 8192);
}

static void req_init(struct core_http_request *r, const char *url, struct sc *c, int streaming)
{
    memset(r, 0, sizeof *r);
    r->method = "GET";
    r->url = url;
    r->on_done = sc_done;
    r->ud = c;
    r->max_response = 64u << 20;
    if (streaming) {
        r->on_data = sc_data;
        r->on_status = sc_status;
    }
}

/* ---- in-process transport ---------------------------------------------------------------- */

struct tfx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct core_http_transport *t;
    struct sh h;
};

static void tfx_setup(struct tfx *f)
{
    memset(f, 0, sizeof *f);
    f->clock = core_clock_virtual_new(0, INT64_C(1790000000) * CORE_NS_PER_S);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(f->clock, NULL, &f->loop, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(sim_transport_new(f->loop, sh_handler, &f->h, &f->t, NULL), 0);
    f->h.loop = f->loop;
    f->h.every = CORE_NS_PER_S;
}

static void tfx_teardown(struct tfx *f)
{
    core_http_transport_free(f->t);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

static void test_transport_order_and_end(void)
{
    struct tfx f;
    struct sc c;
    struct core_http_request r;
    uint64_t id;
    core_ns t0;

    tfx_setup(&f);
    sc_init(&c);
    f.h.pieces = 3;
    f.h.end_after = 1;
    req_init(&r, "http://sim.invalid/watch", &c, 1);
    t0 = core_loop_now(f.loop);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(f.h.begin_again_rc, CORE_E_STATE);
    CU_ASSERT_EQUAL(c.nstatus, 1);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_FALSE(c.status_after_data);
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&c.got), "first\nw0\np1\np2\np3\n");
    CU_ASSERT(c.ndata >= 4); /* delivered as written, not all at the end */
    CU_ASSERT_EQUAL(c.done, 1);
    CU_ASSERT_EQUAL(c.result, 0);
    CU_ASSERT_STRING_EQUAL(c.xtest, "stream");
    CU_ASSERT_EQUAL(f.h.closes, 0); /* ended by the handler: no on_close */
    CU_ASSERT(core_loop_now(f.loop) - t0 >= 3 * CORE_NS_PER_S);
    core_buf_cleanup(&c.got);

    /* A caller without on_data gets the whole stream as an ordinary body. */
    sc_init(&c);
    f.h.pieces = 2;
    f.h.next_piece = 0;
    req_init(&r, "http://sim.invalid/watch", &c, 0);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(c.done, 1);
    CU_ASSERT_STRING_EQUAL(c.body, "first\nw0\np1\np2\n");

    /* A handler that does not stream answers as before. */
    sc_init(&c);
    req_init(&r, "http://sim.invalid/plain", &c, 0);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_STRING_EQUAL(c.body, "plain");
    CU_ASSERT_EQUAL(f.h.closes, 0);
    tfx_teardown(&f);
}

static void test_transport_cancel(void)
{
    struct tfx f;
    struct sc c;
    struct core_http_request r;
    uint64_t id;

    tfx_setup(&f);
    sc_init(&c);
    f.h.pieces = 1000; /* never ends by itself */
    req_init(&r, "http://sim.invalid/watch", &c, 1);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &c.ndata, core_loop_now(f.loop) +
                                        10 * CORE_NS_PER_S, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(f.h.st);
    core_http_cancel(f.t, id);
    CU_ASSERT_EQUAL(f.h.closes, 0); /* never inside cancel */
    /* A write between the cancel and on_close is accepted and dropped. */
    CU_ASSERT_EQUAL(sim_stream_write(f.h.st, "late\n", 5), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(f.h.closes, 1);
    CU_ASSERT_FALSE(f.h.close_in_write);
    CU_ASSERT_EQUAL(c.done, 0);
    CU_ASSERT_PTR_NULL(strstr(core_buf_cstr(&c.got), "late"));
    core_buf_cleanup(&c.got);

    /* The transport freed with a stream open: on_close once, no completion. */
    sc_init(&c);
    f.h.pieces = 1000;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &c.ndata, core_loop_now(f.loop) +
                                        10 * CORE_NS_PER_S, NULL), 0);
    core_http_transport_free(f.t);
    f.t = NULL;
    CU_ASSERT_EQUAL(f.h.closes, 2);
    CU_ASSERT_EQUAL(c.done, 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(f.h.closes, 2);
    core_buf_cleanup(&c.got);
    tfx_teardown(&f);
}

static int abort_data(void *ud, const char *data, size_t len)
{
    struct sc *c = ud;
    (void)data;
    (void)len;
    c->ndata++;
    return 1;
}

static void test_transport_abort_and_limit(void)
{
    struct tfx f;
    struct sc c;
    struct core_http_request r;
    uint64_t id;

    tfx_setup(&f);
    /* The client's data callback aborts: on_close, completion CANCELLED. */
    sc_init(&c);
    f.h.pieces = 1000;
    req_init(&r, "http://sim.invalid/watch", &c, 1);
    r.on_data = abort_data;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(c.ndata, 1);
    CU_ASSERT_EQUAL(c.done, 1);
    CU_ASSERT_EQUAL(c.result, CORE_E_CANCELLED);
    CU_ASSERT_EQUAL(f.h.closes, 1);

    /* Queue limit: 16 MiB undelivered is the most; one more write is CORE_E_TOOBIG. */
    core_buf_cleanup(&c.got);
    sc_init(&c);
    f.h.big = 1;
    f.h.pieces = 1;
    f.h.end_after = 1;
    f.h.next_piece = 0;
    req_init(&r, "http://sim.invalid/watch", &c, 1);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(f.h.big_rc[0], 0);
    CU_ASSERT_EQUAL(f.h.big_rc[1], 0);
    CU_ASSERT_EQUAL(f.h.big_rc[2], CORE_E_TOOBIG);
    CU_ASSERT_EQUAL(c.done, 1);
    CU_ASSERT_EQUAL(c.result, 0);
    CU_ASSERT_EQUAL(c.total, 6 + 3 + (8u << 20) + (8u << 20) - 3 + 3);

    /* The caller's limit: completes with CORE_E_TOOBIG and the handler hears on_close. */
    core_buf_cleanup(&c.got);
    sc_init(&c);
    f.h.big = 0;
    f.h.pieces = 1000;
    f.h.end_after = 0;
    req_init(&r, "http://sim.invalid/watch", &c, 1);
    r.max_response = 12;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, NULL), 0);
    CU_ASSERT_EQUAL(c.done, 1);
    CU_ASSERT_EQUAL(c.result, CORE_E_TOOBIG);
    CU_ASSERT_EQUAL(f.h.closes, 2);
    core_buf_cleanup(&c.got);
    tfx_teardown(&f);
}

/* ---- loopback server through curl -------------------------------------------------------- */

struct sfx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct core_http_transport *curl;
    struct sim_server *srv;
    struct sh h;
    char url[128];
};

static void sfx_setup(struct sfx *f)
{
    struct sim_server_opts so = {"127.0.0.1", 0, 0};
    memset(f, 0, sizeof *f);
    f->clock = core_clock_real_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(f->clock, NULL, &f->loop, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(sim_server_new(f->loop, &so, sh_handler, &f->h, &f->srv, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(core_http_curl_new(f->loop, NULL, &f->curl, NULL), 0);
    f->h.loop = f->loop;
    f->h.every = 30 * CORE_NS_PER_MS;
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u/watch",
             (unsigned)sim_server_port(f->srv));
}

static void sfx_teardown(struct sfx *f)
{
    sim_server_free(f->srv);
    core_http_transport_free(f->curl);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

static void test_server_order_and_end(void)
{
    struct sfx f;
    struct sc c;
    struct core_http_request r;
    uint64_t id;
    core_ns t0;

    sfx_setup(&f);
    sc_init(&c);
    f.h.pieces = 4;
    f.h.end_after = 1;
    req_init(&r, f.url, &c, 1);
    t0 = core_loop_now(f.loop);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.curl, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &c.done, t0 + 10 * CORE_NS_PER_S, NULL), 0);
    CU_ASSERT_EQUAL(c.result, 0);
    CU_ASSERT_EQUAL(c.status, 200);
    CU_ASSERT_STRING_EQUAL(c.xtest, "stream");
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&c.got), "first\nw0\np1\np2\np3\np4\n");
    /* The pieces came as they were written (suspension and resumption), not at the end. */
    CU_ASSERT(c.ndata >= 3);
    CU_ASSERT(core_loop_now(f.loop) - t0 >= 4 * f.h.every);
    CU_ASSERT_EQUAL(f.h.closes, 0);
    core_buf_cleanup(&c.got);
    sfx_teardown(&f);
}

static void test_server_cancel_and_free(void)
{
    struct sfx f;
    struct sc c;
    struct core_http_request r;
    uint64_t id;

    sfx_setup(&f);
    /* The client goes away while the stream idles (suspended): on_close once. */
    sc_init(&c);
    f.h.pieces = 1;
    f.h.every = 20 * CORE_NS_PER_MS;
    req_init(&r, f.url, &c, 1);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.curl, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &f.h.next_piece, core_loop_now(f.loop) +
                                        10 * CORE_NS_PER_S, NULL), 0);
    /* Let the piece reach the client, then leave with the stream open and idle. */
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &c.ndata, core_loop_now(f.loop) +
                                        10 * CORE_NS_PER_S, NULL), 0);
    f.h.every = 3600 * CORE_NS_PER_S;
    {
        core_ns end = core_loop_now(f.loop) + 200 * CORE_NS_PER_MS;
        while (core_loop_now(f.loop) < end)
            if (core_loop_run_once(f.loop, 10 * CORE_NS_PER_MS, NULL) < 0)
                break;
    }
    core_http_cancel(f.curl, id);
    CU_ASSERT_EQUAL(f.h.closes, 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &f.h.closes, core_loop_now(f.loop) +
                                        5 * CORE_NS_PER_S, NULL), 0);
    CU_ASSERT_EQUAL(f.h.closes, 1);
    CU_ASSERT_FALSE(f.h.close_in_write);
    CU_ASSERT_EQUAL(c.done, 0);
    core_buf_cleanup(&c.got);

    /* The server freed with a stream open: on_close once. */
    sc_init(&c);
    f.h.pieces = 1000;
    f.h.every = 20 * CORE_NS_PER_MS;
    f.h.next_piece = 0;
    req_init(&r, f.url, &c, 1);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.curl, &r, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &c.ndata, core_loop_now(f.loop) +
                                        10 * CORE_NS_PER_S, NULL), 0);
    sim_server_free(f.srv);
    f.srv = NULL;
    CU_ASSERT_EQUAL(f.h.closes, 2);
    /* The client sees the connection end (an error: the chunked body never finished). */
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &c.done, core_loop_now(f.loop) +
                                        10 * CORE_NS_PER_S, NULL), 0);
    CU_ASSERT_EQUAL(c.done, 1);
    CU_ASSERT(c.result != 0);
    CU_ASSERT_EQUAL(f.h.closes, 2);
    core_buf_cleanup(&c.got);
    sfx_teardown(&f);
}

TESTS_SUITE(sim_stream, "sim_stream", NULL, NULL, TESTS_CASE(test_transport_order_and_end),
            TESTS_CASE(test_transport_cancel), TESTS_CASE(test_transport_abort_and_limit),
            TESTS_CASE(test_server_order_and_end), TESTS_CASE(test_server_cancel_and_free))
