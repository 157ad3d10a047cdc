/*
 * tests/unit/test_http_script.c — the scripted HTTP transport and the transport-independent
 * seam (header-line parser, response header lookup).
 *
 * Everything runs on a virtual clock, so delays are asserted exactly and the suite takes no
 * real time. Each test builds its own clock, loop and script (struct fx) and tears them down,
 * so ASan/LSan sees every allocation released.
 */
#include "tests/unit/harness.h"

#include "core/core.h"

#include <string.h>

#define MS CORE_NS_PER_MS

struct fx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct core_http_script *s;
    struct core_http_transport *t;
};

/* What one completion (and its streamed pieces) looked like. */
struct rec {
    struct core_loop *loop;
    int done;
    int ndone;
    int result;
    long status;
    core_ns at;
    char body[256];
    size_t body_len;
    char ctype[64];
    char dup[64];
    char msg[CORE_ERR_MSG_MAX];
    /* streaming */
    int npieces;
    char pieces[8][32];
    core_ns piece_at[8];
    char streamed[256];
    size_t streamed_len;
    int stop_after; /* on_data returns non-zero after this many pieces (0 = never) */
    struct core_http_transport *cancel_t; /* on_data cancels cancel_id on cancel_t */
    uint64_t cancel_id;
    struct core_http_script *free_s; /* on_data frees this script */
};

static int fx_setup(struct fx *f)
{
    struct core_err err;
    memset(f, 0, sizeof *f);
    f->clock = core_clock_virtual_new(0, 0);
    if (!f->clock)
        return -1;
    if (core_loop_new(f->clock, NULL, &f->loop, &err) != 0)
        return -1;
    if (core_http_script_new(f->loop, &f->s, &err) != 0)
        return -1;
    f->t = core_http_script_transport(f->s);
    return 0;
}

static void fx_teardown(struct fx *f)
{
    core_http_script_free(f->s);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

static void on_done_rec(void *ud, struct core_http_response *resp)
{
    struct rec *r = ud;
    const char *h;

    r->done = 1;
    r->ndone++;
    r->result = resp->result;
    r->status = resp->status;
    r->at = core_loop_now(r->loop);
    r->body_len = resp->body.len;
    if (resp->body.len < sizeof r->body && resp->body.len > 0)
        memcpy(r->body, resp->body.data, resp->body.len);
    h = core_http_response_header(resp, "content-type");
    core_strlcpy(r->ctype, h ? h : "", sizeof r->ctype);
    h = core_http_response_header(resp, "X-DUP");
    core_strlcpy(r->dup, h ? h : "", sizeof r->dup);
    core_strlcpy(r->msg, resp->err.message, sizeof r->msg);
}

static int on_data_rec(void *ud, const char *data, size_t len)
{
    struct rec *r = ud;
    if (r->npieces < 8 && len < sizeof r->pieces[0]) {
        memcpy(r->pieces[r->npieces], data, len);
        r->pieces[r->npieces][len] = '\0';
        r->piece_at[r->npieces] = core_loop_now(r->loop);
    }
    r->npieces++;
    if (r->streamed_len + len < sizeof r->streamed) {
        memcpy(r->streamed + r->streamed_len, data, len);
        r->streamed_len += len;
    }
    if (r->cancel_t)
        core_http_cancel(r->cancel_t, r->cancel_id);
    if (r->free_s) {
        core_http_script_free(r->free_s);
        r->free_s = NULL;
    }
    return r->stop_after && r->npieces >= r->stop_after;
}

static void rec_init(struct rec *r, const struct fx *f)
{
    memset(r, 0, sizeof *r);
    r->loop = f->loop;
}

static struct core_http_request req_make(const char *method, const char *url, struct rec *r)
{
    struct core_http_request q;
    memset(&q, 0, sizeof q);
    q.method = method;
    q.url = url;
    q.on_done = on_done_rec;
    q.ud = r;
    return q;
}

static int run_until(struct fx *f, const int *flag)
{
    struct core_err err;
    return core_loop_run_until(f->loop, flag, core_loop_now(f->loop) + 3600 * CORE_NS_PER_S,
                               &err);
}

static int run_all(struct fx *f)
{
    struct core_err err;
    return core_loop_run(f->loop, &err);
}

/* ---- the seam ------------------------------------------------------------------------------ */

static int parse(const char *line, char **n, char **v)
{
    return core_http_parse_header_line(line, strlen(line), n, v);
}

static void test_parse_header_line(void)
{
    char *n = NULL, *v = NULL;

    CU_ASSERT_EQUAL(parse("Content-Type: text/plain\r\n", &n, &v), 1);
    CU_ASSERT_STRING_EQUAL(n, "Content-Type");
    CU_ASSERT_STRING_EQUAL(v, "text/plain");
    core_free(n);
    core_free(v);

    /* Surrounding whitespace is trimmed, inner whitespace kept; an empty value is a value. */
    CU_ASSERT_EQUAL(parse("X-A:  \t a  b \t\r\n", &n, &v), 1);
    CU_ASSERT_STRING_EQUAL(n, "X-A");
    CU_ASSERT_STRING_EQUAL(v, "a  b");
    core_free(n);
    core_free(v);
    CU_ASSERT_EQUAL(parse("X-Empty:\r\n", &n, &v), 1);
    CU_ASSERT_STRING_EQUAL(v, "");
    core_free(n);
    core_free(v);
    /* Only the first colon separates. */
    CU_ASSERT_EQUAL(parse("Location: http://h:80/x\n", &n, &v), 1);
    CU_ASSERT_STRING_EQUAL(v, "http://h:80/x");
    core_free(n);
    core_free(v);

    n = v = NULL;
    CU_ASSERT_EQUAL(parse("HTTP/1.1 200 OK\r\n", &n, &v), 0);
    CU_ASSERT_EQUAL(parse("HTTP/2 200\r\n", &n, &v), 0);
    CU_ASSERT_EQUAL(parse("\r\n", &n, &v), 0);
    CU_ASSERT_EQUAL(parse("", &n, &v), 0);
    CU_ASSERT_EQUAL(parse(" continued value\r\n", &n, &v), 0);
    CU_ASSERT_EQUAL(parse("\tcontinued\r\n", &n, &v), 0);
    CU_ASSERT_PTR_NULL(n); /* outputs untouched unless a header was returned */
    CU_ASSERT_PTR_NULL(v);

    CU_ASSERT_EQUAL(parse("no colon here\r\n", &n, &v), CORE_E_PARSE);
    CU_ASSERT_EQUAL(parse(": novalue\r\n", &n, &v), CORE_E_PARSE);
    CU_ASSERT_EQUAL(parse("Bad Name: x\r\n", &n, &v), CORE_E_PARSE);
    CU_ASSERT_EQUAL(parse("Name : x\r\n", &n, &v), CORE_E_PARSE);
    CU_ASSERT_EQUAL(parse("X: a\rb\r\n", &n, &v), CORE_E_PARSE);
    /* Only `len` bytes are read: an embedded NUL is data, and it is refused in a value. */
    CU_ASSERT_EQUAL(core_http_parse_header_line("X: a\0b\r\n", 8, &n, &v), CORE_E_PARSE);
    CU_ASSERT_EQUAL(core_http_parse_header_line("X-Long: abcdef", 9, &n, &v), 1);
    CU_ASSERT_STRING_EQUAL(n, "X-Long");
    CU_ASSERT_STRING_EQUAL(v, "a");
    core_free(n);
    core_free(v);
    CU_ASSERT_EQUAL(core_http_parse_header_line("X: y", 4, NULL, &v), CORE_E_INVAL);
    CU_ASSERT_EQUAL(core_http_parse_header_line(NULL, 0, &n, &v), 0);

    /* Out of memory is an error, never a half-filled result. */
    n = v = NULL;
    for (unsigned long k = 1; k <= 2; k++) {
        core_alloc_fail_after(k);
        CU_ASSERT_EQUAL(parse("A: b\r\n", &n, &v), CORE_E_NOMEM);
        CU_ASSERT_PTR_NULL(n);
        CU_ASSERT_PTR_NULL(v);
    }
    core_alloc_fail_after(0);
}

static void test_response_headers(void)
{
    struct core_http_response resp;

    memset(&resp, 0, sizeof resp);
    CU_ASSERT_PTR_NULL(core_http_response_header(&resp, "x"));
    /* Enough headers to cross several growth steps of the implied capacity. */
    for (int i = 0; i < 40; i++) {
        char name[16], value[16];
        snprintf(name, sizeof name, "H%d", i);
        snprintf(value, sizeof value, "v%d", i);
        CU_ASSERT_EQUAL_FATAL(core_http_response_add_header(&resp, name, value), 0);
    }
    CU_ASSERT_EQUAL(core_http_response_add_header(&resp, "Set-Thing", "first"), 0);
    CU_ASSERT_EQUAL(core_http_response_add_header(&resp, "set-thing", "last"), 0);
    CU_ASSERT_EQUAL(resp.nheaders, 42);
    CU_ASSERT_STRING_EQUAL(core_http_response_header(&resp, "h0"), "v0");
    CU_ASSERT_STRING_EQUAL(core_http_response_header(&resp, "H39"), "v39");
    CU_ASSERT_STRING_EQUAL(core_http_response_header(&resp, "SET-THING"), "last");
    CU_ASSERT_PTR_NULL(core_http_response_header(&resp, "H40"));
    CU_ASSERT_PTR_NULL(core_http_response_header(&resp, "H"));
    core_alloc_fail_after(1);
    CU_ASSERT_EQUAL(core_http_response_add_header(&resp, "X", "y"), CORE_E_NOMEM);
    core_alloc_fail_after(0);
    CU_ASSERT_EQUAL(resp.nheaders, 42);
    core_http_response_cleanup(&resp);
    CU_ASSERT_EQUAL(resp.nheaders, 0);
    CU_ASSERT_PTR_NULL(resp.headers);
    core_http_response_cleanup(&resp); /* a zeroed response is fine */
    core_http_response_cleanup(NULL);
    core_http_transport_free(NULL);
}

static void test_submit_validates(void)
{
    struct fx f;
    struct rec r;
    struct core_http_request q;
    struct core_err err;
    uint64_t id = 77;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f), 0);
    rec_init(&r, &f);
    q = req_make("GET", "http://h/x", &r);
    q.on_done = NULL;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, &err), CORE_E_INVAL);
    q = req_make(NULL, "http://h/x", &r);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, &err), CORE_E_INVAL);
    q = req_make("GET", "", &r);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(core_http_submit(NULL, &q, &id, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(id, 77); /* out-param untouched on failure */
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 0);
    fx_teardown(&f);
}

/* ---- matching ------------------------------------------------------------------------------ */

static void test_in_order(void)
{
    struct fx f;
    struct rec ra, rb, rc2;
    struct core_http_request qa, qb, qc;
    struct core_http_script_step s1, s2;
    uint64_t ia = 0, ib = 0, ic = 0;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f), 0);
    rec_init(&ra, &f);
    rec_init(&rb, &f);
    rec_init(&rc2, &f);
    memset(&s1, 0, sizeof s1);
    s1.method = "GET";
    s1.url = "http://api/a";
    s1.status = 200;
    s1.body = "A";
    memset(&s2, 0, sizeof s2);
    s2.method = "POST";
    s2.url = "http://api/b";
    s2.status = 201;
    s2.body = "B";
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &s1), 0);
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &s2), 0);
    CU_ASSERT_EQUAL(core_http_script_pending(f.s), 2);

    /* Out of order: the second step's request first is unexpected and consumes nothing. */
    qb = req_make("POST", "http://api/b", &rb);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &qb, &ib, NULL), 0);
    CU_ASSERT_EQUAL(core_http_script_unexpected(f.s), 1);
    CU_ASSERT_EQUAL(core_http_script_pending(f.s), 2);
    qa = req_make("GET", "http://api/a", &ra);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &qa, &ia, NULL), 0);
    qc = req_make("POST", "http://api/b", &rc2);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &qc, &ic, NULL), 0);
    CU_ASSERT_EQUAL(core_http_script_pending(f.s), 0);
    CU_ASSERT(ia != ib && ib != ic && ia != ic);
    /* Never synchronous. */
    CU_ASSERT_EQUAL(ra.ndone + rb.ndone + rc2.ndone, 0);

    CU_ASSERT_EQUAL(run_all(&f), 0);
    CU_ASSERT_EQUAL(ra.ndone, 1);
    CU_ASSERT_EQUAL(ra.result, 0);
    CU_ASSERT_EQUAL(ra.status, 200);
    CU_ASSERT_EQUAL(ra.body_len, 1);
    CU_ASSERT_STRING_EQUAL(ra.body, "A");
    CU_ASSERT_EQUAL(rb.ndone, 1);
    CU_ASSERT_EQUAL(rb.result, CORE_E_TRANSPORT);
    CU_ASSERT_EQUAL(rb.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(rb.msg, "unexpected"));
    CU_ASSERT_PTR_NOT_NULL(strstr(rb.msg, "POST http://api/b"));
    CU_ASSERT_EQUAL(rc2.ndone, 1);
    CU_ASSERT_EQUAL(rc2.result, 0);
    CU_ASSERT_EQUAL(rc2.status, 201);
    CU_ASSERT_STRING_EQUAL(rc2.body, "B");
    CU_ASSERT_EQUAL(core_http_script_unexpected(f.s), 1);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 3);
    fx_teardown(&f);
}

static void test_prefix_and_any(void)
{
    struct fx f;
    struct rec r1, r2, r3, r4;
    struct core_http_request q;
    struct core_http_script_step st;
    uint64_t id;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f), 0);
    rec_init(&r1, &f);
    rec_init(&r2, &f);
    rec_init(&r3, &f);
    rec_init(&r4, &f);
    memset(&st, 0, sizeof st);
    st.method = "GET";
    st.url = "http://api/v1/pods*";
    st.status = 200;
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);
    memset(&st, 0, sizeof st); /* method and URL NULL: anything */
    st.status = 204;
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);

    q = req_make("GET", "http://api/v1/pod", &r1); /* shorter than the prefix */
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), 0);
    q = req_make("GET", "http://api/v1/pods?watch=1&resourceVersion=5", &r2);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), 0);
    q = req_make("POST", "http://api/v1/pods/x", &r3); /* prefix matches, method does not */
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_http_script_pending(f.s), 2);
    q = req_make("GET", "http://api/v1/pods/x/status", &r3);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), 0);
    q = req_make("DELETE", "https://elsewhere/z", &r4);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_http_script_pending(f.s), 0);
    CU_ASSERT_EQUAL(core_http_script_unexpected(f.s), 2);
    CU_ASSERT_EQUAL(run_all(&f), 0);
    CU_ASSERT_EQUAL(r1.result, CORE_E_TRANSPORT);
    CU_ASSERT_EQUAL(r2.result, 0);
    CU_ASSERT_EQUAL(r2.status, 200);
    CU_ASSERT_EQUAL(r3.ndone, 2); /* the unexpected POST, then the matching GET */
    CU_ASSERT_EQUAL(r3.result, 0);
    CU_ASSERT_EQUAL(r4.status, 204);
    /* The query string never reaches an error message. */
    CU_ASSERT_PTR_NULL(strstr(r1.msg, "?"));
    fx_teardown(&f);
}

static void test_unexpected_counting(void)
{
    struct fx f;
    struct rec r;
    struct core_http_request q;
    uint64_t id;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f), 0);
    rec_init(&r, &f);
    q = req_make("GET", "http://api/secret?X-Amz-Signature=deadbeef", &r);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_http_script_unexpected(f.s), 2);
    CU_ASSERT_EQUAL(r.ndone, 0);
    CU_ASSERT_EQUAL(run_all(&f), 0);
    CU_ASSERT_EQUAL(r.ndone, 2);
    CU_ASSERT_EQUAL(r.result, CORE_E_TRANSPORT);
    CU_ASSERT_EQUAL(r.at, 0); /* answered on the next turn, without moving time */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.msg, "GET http://api/secret"));
    CU_ASSERT_PTR_NULL(strstr(r.msg, "deadbeef"));
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 2);
    fx_teardown(&f);
}

/* ---- recording and headers ----------------------------------------------------------------- */

static void test_recorded_request(void)
{
    struct fx f;
    struct rec r;
    struct core_http_request q;
    struct core_http_script_step st;
    const struct core_http_script_request *got;
    const char *hdrs[] = {"Content-Type: application/json", "X-Amz-Target:  Foo.Bar",
                          "x-amz-target: Foo.Last"};
    const char *resp_hdrs[] = {"Content-Type: text/xml", "X-Dup: 1", "x-dup: 2"};
    char body[] = {'{', '}', '\0', 'z'};
    uint64_t id;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f), 0);
    rec_init(&r, &f);
    memset(&st, 0, sizeof st);
    st.status = 200;
    st.headers = resp_hdrs;
    st.nheaders = 3;
    st.body = "<ok/>";
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);
    q = req_make("POST", "https://ec2.example/?Action=X", &r);
    q.headers = hdrs;
    q.nheaders = 3;
    q.body = body;
    q.body_len = sizeof body;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), 0);
    body[0] = 'X'; /* the record is a copy */

    got = core_http_script_request(f.s, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_PTR_NULL(core_http_script_request(f.s, 1));
    CU_ASSERT_STRING_EQUAL(got->method, "POST");
    CU_ASSERT_STRING_EQUAL(got->url, "https://ec2.example/?Action=X");
    CU_ASSERT_EQUAL(got->nheaders, 3);
    CU_ASSERT_STRING_EQUAL(got->headers[1], "X-Amz-Target:  Foo.Bar");
    CU_ASSERT_EQUAL(got->body_len, 4);
    CU_ASSERT_EQUAL(memcmp(got->body, "{}\0z", 4), 0);
    CU_ASSERT_STRING_EQUAL(core_http_script_request_header(got, "CONTENT-TYPE"),
                           "application/json");
    CU_ASSERT_STRING_EQUAL(core_http_script_request_header(got, "X-Amz-Target"), "Foo.Last");
    CU_ASSERT_PTR_NULL(core_http_script_request_header(got, "Content"));
    CU_ASSERT_PTR_NULL(core_http_script_request_header(got, "Authorization"));

    CU_ASSERT_EQUAL(run_all(&f), 0);
    CU_ASSERT_EQUAL(r.result, 0);
    CU_ASSERT_STRING_EQUAL(r.ctype, "text/xml");
    CU_ASSERT_STRING_EQUAL(r.dup, "2");
    CU_ASSERT_STRING_EQUAL(r.body, "<ok/>");
    fx_teardown(&f);
}

/* ---- time ---------------------------------------------------------------------------------- */

static void test_delays_on_virtual_clock(void)
{
    struct fx f;
    struct rec r1, r2;
    struct core_http_request q1, q2;
    struct core_http_script_step st;
    uint64_t id;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f), 0);
    rec_init(&r1, &f);
    rec_init(&r2, &f);
    memset(&st, 0, sizeof st);
    st.status = 200;
    st.delay = 250 * MS;
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);
    st.delay = 100 * MS;
    st.status = 202;
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);
    q1 = req_make("GET", "http://a/1", &r1);
    q2 = req_make("GET", "http://a/2", &r2);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q1, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q2, &id, NULL), 0);
    CU_ASSERT_EQUAL(run_until(&f, &r2.done), 0);
    CU_ASSERT_EQUAL(r2.at, 100 * MS);
    CU_ASSERT_EQUAL(r2.status, 202);
    CU_ASSERT_EQUAL(r1.ndone, 0);
    CU_ASSERT_EQUAL(run_until(&f, &r1.done), 0);
    CU_ASSERT_EQUAL(r1.at, 250 * MS);
    CU_ASSERT_EQUAL(r1.status, 200);
    fx_teardown(&f);
}

static void test_streaming_pieces(void)
{
    struct fx f;
    struct rec r;
    struct core_http_request q;
    struct core_http_script_step st;
    uint64_t id;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f), 0);
    rec_init(&r, &f);
    memset(&st, 0, sizeof st);
    st.status = 200;
    st.body = "abcdefghij";
    st.delay = 50 * MS;
    st.chunk = 4;
    st.chunk_delay = 10 * MS;
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);
    q = req_make("GET", "http://api/watch", &r);
    q.on_data = on_data_rec;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL(run_all(&f), 0);
    CU_ASSERT_EQUAL_FATAL(r.npieces, 3);
    CU_ASSERT_STRING_EQUAL(r.pieces[0], "abcd");
    CU_ASSERT_STRING_EQUAL(r.pieces[1], "efgh");
    CU_ASSERT_STRING_EQUAL(r.pieces[2], "ij");
    CU_ASSERT_EQUAL(r.piece_at[0], 50 * MS);
    CU_ASSERT_EQUAL(r.piece_at[1], 60 * MS);
    CU_ASSERT_EQUAL(r.piece_at[2], 70 * MS);
    CU_ASSERT_EQUAL(r.ndone, 1);
    CU_ASSERT_EQUAL(r.at, 70 * MS);
    CU_ASSERT_EQUAL(r.result, 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(r.body_len, 0); /* streamed bodies are not accumulated */
    fx_teardown(&f);
}

static void test_streaming_abort(void)
{
    struct fx f;
    struct rec r;
    struct core_http_request q;
    struct core_http_script_step st;
    uint64_t id;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f), 0);
    rec_init(&r, &f);
    memset(&st, 0, sizeof st);
    st.status = 200;
    st.body = "abcdefghij";
    st.chunk = 2;
    st.chunk_delay = 5 * MS;
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);
    q = req_make("GET", "http://api/watch", &r);
    q.on_data = on_data_rec;
    r.stop_after = 2;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL(run_all(&f), 0);
    CU_ASSERT_EQUAL(r.npieces, 2);
    CU_ASSERT_EQUAL(r.ndone, 1);
    CU_ASSERT_EQUAL(r.result, CORE_E_CANCELLED);
    CU_ASSERT_EQUAL(r.at, 5 * MS);
    CU_ASSERT_EQUAL(core_loop_timer_count(f.loop), 0);
    fx_teardown(&f);
}

/* ---- failures and limits ------------------------------------------------------------------- */

static void test_transport_error_step(void)
{
    struct fx f;
    struct rec r, r2;
    struct core_http_request q;
    struct core_http_script_step st;
    uint64_t id;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f), 0);
    rec_init(&r, &f);
    rec_init(&r2, &f);
    memset(&st, 0, sizeof st);
    st.result = CORE_E_TIMEOUT;
    st.status = 200; /* ignored: a failed exchange has no answer */
    st.body = "ignored";
    st.delay = 30 * MS;
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);
    memset(&st, 0, sizeof st);
    st.result = CORE_E_TLS;
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);
    st.result = 5; /* a transport error is negative */
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), CORE_E_INVAL);
    q = req_make("GET", "http://a/x", &r);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), 0);
    q = req_make("GET", "http://a/y", &r2);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL(run_all(&f), 0);
    CU_ASSERT_EQUAL(r.result, CORE_E_TIMEOUT);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_EQUAL(r.body_len, 0);
    CU_ASSERT_EQUAL(r.at, 30 * MS);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.msg, "GET http://a/x"));
    CU_ASSERT_EQUAL(r2.result, CORE_E_TLS);
    CU_ASSERT_EQUAL(core_http_script_unexpected(f.s), 0);
    fx_teardown(&f);
}

static void test_max_response(void)
{
    struct fx f;
    struct rec r_over, r_exact, r_stream;
    struct core_http_request q;
    struct core_http_script_step st;
    char big[101];
    uint64_t id;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f), 0);
    rec_init(&r_over, &f);
    rec_init(&r_exact, &f);
    rec_init(&r_stream, &f);
    memset(big, 'x', 100);
    big[100] = '\0';
    memset(&st, 0, sizeof st);
    st.status = 200;
    st.body = big;
    st.chunk = 10;
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);

    q = req_make("GET", "http://a/over", &r_over);
    q.max_response = 99;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), 0);
    q = req_make("GET", "http://a/exact", &r_exact);
    q.max_response = 100;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), 0);
    q = req_make("GET", "http://a/stream", &r_stream);
    q.max_response = 99;
    q.on_data = on_data_rec;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL(run_all(&f), 0);

    CU_ASSERT_EQUAL(r_over.result, CORE_E_TOOBIG);
    CU_ASSERT_EQUAL(r_over.body_len, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r_over.msg, "99"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r_over.msg, "http://a/over"));
    CU_ASSERT_EQUAL(r_exact.result, 0);
    CU_ASSERT_EQUAL(r_exact.body_len, 100);
    CU_ASSERT_EQUAL(r_stream.result, CORE_E_TOOBIG);
    CU_ASSERT_EQUAL(r_stream.npieces, 0);
    fx_teardown(&f);
}

/* ---- cancel and teardown ------------------------------------------------------------------- */

static void test_cancel(void)
{
    struct fx f;
    struct rec r1, r2, r3;
    struct core_http_request q1, q2, q3;
    struct core_http_script_step st;
    uint64_t id1, id2, id3;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f), 0);
    rec_init(&r1, &f);
    rec_init(&r2, &f);
    rec_init(&r3, &f);
    memset(&st, 0, sizeof st);
    st.status = 200;
    st.delay = 10 * MS;
    st.body = "0123456789";
    st.chunk = 3;
    st.chunk_delay = 10 * MS;
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);
    q1 = req_make("GET", "http://a/1", &r1);
    q2 = req_make("GET", "http://a/2", &r2);
    q3 = req_make("GET", "http://a/3", &r3);
    q3.on_data = on_data_rec;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q1, &id1, NULL), 0);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q2, &id2, NULL), 0);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q3, &id3, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_timer_count(f.loop), 3);
    core_http_cancel(f.t, id1);
    core_http_cancel(f.t, id1);      /* twice: ignored */
    core_http_cancel(f.t, 0xdead);   /* unknown: ignored */
    CU_ASSERT_EQUAL(core_loop_timer_count(f.loop), 2); /* its timer is gone */
    /* The streaming request cancels itself from inside its first piece. */
    r3.cancel_t = f.t;
    r3.cancel_id = id3;
    CU_ASSERT_EQUAL(run_all(&f), 0);
    CU_ASSERT_EQUAL(r1.ndone, 0);
    CU_ASSERT_EQUAL(r2.ndone, 1);
    CU_ASSERT_EQUAL(r2.result, 0);
    CU_ASSERT_EQUAL(r3.npieces, 1);
    CU_ASSERT_EQUAL(r3.ndone, 0);
    CU_ASSERT_EQUAL(core_loop_timer_count(f.loop), 0);
    core_http_cancel(f.t, id2); /* finished: ignored */
    fx_teardown(&f);
}

static void test_free_with_requests_in_flight(void)
{
    struct fx f;
    struct rec r1, r2;
    struct core_http_request q1, q2;
    struct core_http_script_step st;
    uint64_t id;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f), 0);
    rec_init(&r1, &f);
    rec_init(&r2, &f);
    memset(&st, 0, sizeof st);
    st.status = 200;
    st.delay = 10 * MS;
    st.body = "0123456789";
    st.chunk = 3;
    st.chunk_delay = 10 * MS;
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0); /* left unused */
    q1 = req_make("GET", "http://a/1", &r1);
    q2 = req_make("GET", "http://a/2", &r2);
    q2.on_data = on_data_rec;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q1, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q2, &id, NULL), 0);

    /* Destroying the transport view cancels in-flight requests but keeps the script. */
    core_http_transport_free(f.t);
    CU_ASSERT_EQUAL(core_loop_timer_count(f.loop), 0);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 2);

    /* Freeing the script from inside on_data is safe and ends everything quietly. */
    q1 = req_make("GET", "http://a/3", &r1);
    q1.on_data = on_data_rec;
    r1.free_s = f.s;
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q1, &id, NULL), 0);
    st.delay = 100 * MS; /* still pending when the script goes */
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);
    q2 = req_make("GET", "http://a/4", &r2);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q2, &id, NULL), 0);
    CU_ASSERT_EQUAL(run_all(&f), 0);
    CU_ASSERT_EQUAL(r1.npieces, 1);
    CU_ASSERT_EQUAL(r1.ndone, 0);
    CU_ASSERT_EQUAL(r2.ndone, 0);
    CU_ASSERT_EQUAL(core_loop_timer_count(f.loop), 0);
    f.s = NULL; /* already freed */
    fx_teardown(&f);
}

/* A pending answer holds the loop: a graceful shutdown waits for it like a real transfer. */
static void test_shutdown_waits_for_answers(void)
{
    struct fx f;
    struct rec r;
    struct core_http_request q;
    struct core_http_script_step st;
    uint64_t id;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f), 0);
    rec_init(&r, &f);
    memset(&st, 0, sizeof st);
    st.status = 200;
    st.delay = 50 * MS;
    CU_ASSERT_EQUAL(core_http_script_expect(f.s, &st), 0);
    q = req_make("GET", "http://a/late", &r);
    CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), 0);
    core_loop_stop(f.loop);
    CU_ASSERT_EQUAL(run_all(&f), 0);
    CU_ASSERT_EQUAL(r.ndone, 1);
    CU_ASSERT_EQUAL(r.result, 0);
    CU_ASSERT_EQUAL(r.at, 50 * MS);
    fx_teardown(&f);
}

/* Every allocation in submit, expect and delivery can fail; each failure is clean. */
static void test_alloc_failures(void)
{
    unsigned long n;
    int clean_run = 0;

    for (n = 1; n < 200 && !clean_run; n++) {
        struct fx f;
        struct rec r;
        struct core_http_request q;
        struct core_http_script_step st;
        const char *hdrs[] = {"A: b", "C: d"};
        uint64_t id;
        int rc;

        CU_ASSERT_EQUAL_FATAL(fx_setup(&f), 0);
        rec_init(&r, &f);
        memset(&st, 0, sizeof st);
        st.status = 200;
        st.headers = hdrs;
        st.nheaders = 2;
        st.body = "payload";
        q = req_make("POST", "http://a/x", &r);
        q.headers = hdrs;
        q.nheaders = 2;
        q.body = "in";
        q.body_len = 2;

        core_alloc_fail_after(n);
        rc = core_http_script_expect(f.s, &st);
        if (rc == 0) {
            rc = core_http_submit(f.t, &q, &id, NULL);
            if (rc == 0) {
                CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 1);
                CU_ASSERT_EQUAL(run_all(&f), 0);
                CU_ASSERT_EQUAL(r.ndone, 1);
                CU_ASSERT(r.result == 0 || r.result == CORE_E_NOMEM);
                if (r.result == 0) {
                    CU_ASSERT_STRING_EQUAL(r.body, "payload");
                    CU_ASSERT_EQUAL(r.status, 200);
                }
            } else {
                /* A failed submit leaves no trace. */
                CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
                CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 0);
                CU_ASSERT_EQUAL(core_http_script_pending(f.s), 1);
                CU_ASSERT_EQUAL(core_http_script_unexpected(f.s), 0);
                CU_ASSERT_EQUAL(core_loop_timer_count(f.loop), 0);
            }
        } else {
            CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
            CU_ASSERT_EQUAL(core_http_script_pending(f.s), 0);
        }
        clean_run = core_alloc_failures() == 0;
        core_alloc_fail_after(0);
        if (clean_run) {
            CU_ASSERT_EQUAL(r.result, 0);
        }
        fx_teardown(&f);
    }
    CU_ASSERT(clean_run);
    CU_ASSERT(n > 5); /* there were failure points to exercise */
}

TESTS_SUITE(core_http_script, "core_http_script", NULL, NULL,
            TESTS_CASE(test_parse_header_line), TESTS_CASE(test_response_headers),
            TESTS_CASE(test_submit_validates), TESTS_CASE(test_in_order),
            TESTS_CASE(test_prefix_and_any), TESTS_CASE(test_unexpected_counting),
            TESTS_CASE(test_recorded_request), TESTS_CASE(test_delays_on_virtual_clock),
            TESTS_CASE(test_streaming_pieces), TESTS_CASE(test_streaming_abort),
            TESTS_CASE(test_transport_error_step), TESTS_CASE(test_max_response),
            TESTS_CASE(test_cancel), TESTS_CASE(test_free_with_requests_in_flight),
            TESTS_CASE(test_shutdown_waits_for_answers), TESTS_CASE(test_alloc_failures))
