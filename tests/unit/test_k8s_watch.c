/*
 * tests/unit/test_k8s_watch.c — the watch line splitter and the raw watch on the scripted
 * transport and a virtual clock: lines split at every possible point, CRLF, empty lines, the
 * size limit and the poisoned state after it; the watch URL and query; events in order through
 * odd-sized pieces; ERROR events (410 and others) and a 410 answer; a stream dropped inside an
 * event; an oversized event; malformed lines; stop from inside a callback; client shutdown.
 */
#include "tests/unit/harness.h"

#include "k8s/internal.h"

#include <string.h>

#define S CORE_NS_PER_S

/* ---- the splitter ------------------------------------------------------------------------------ */

struct lines {
    struct core_buf all; /* every line, each followed by '|' */
    int n;
    int stop_at;         /* return 7 from the stop_at-th line (1-based); 0 = never */
};

static void lines_init(struct lines *l)
{
    memset(l, 0, sizeof *l);
    core_buf_init(&l->all, 1 << 20);
}

static int on_line(void *ud, const char *line, size_t len)
{
    struct lines *l = ud;
    l->n++;
    CU_ASSERT_FATAL(core_buf_append(&l->all, line, len) == 0);
    CU_ASSERT_FATAL(core_buf_append_char(&l->all, '|') == 0);
    return l->n == l->stop_at ? 7 : 0;
}

static const char three[] = "{\"a\":1}\n{\"bb\":22}\r\n\n{\"ccc\":333}\n";
static const char three_lines[] = "{\"a\":1}|{\"bb\":22}|{\"ccc\":333}|";

static void test_splitter_every_split(void)
{
    size_t n = strlen(three);

    /* Two cuts anywhere, including inside the CRLF and next to the empty line. */
    for (size_t i = 0; i <= n; i++) {
        for (size_t j = i; j <= n; j++) {
            struct k8s_splitter sp;
            struct lines l;
            lines_init(&l);
            k8s_splitter_init(&sp, 64);
            CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, three, i, on_line, &l), 0);
            CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, three + i, j - i, on_line, &l), 0);
            CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, three + j, n - j, on_line, &l), 0);
            CU_ASSERT_STRING_EQUAL(core_buf_cstr(&l.all), three_lines);
            CU_ASSERT_EQUAL(l.n, 3);
            CU_ASSERT_EQUAL(sp.line.len, 0);
            k8s_splitter_cleanup(&sp);
            core_buf_cleanup(&l.all);
        }
    }
}

static void test_splitter_byte_by_byte(void)
{
    struct k8s_splitter sp;
    struct lines l;

    lines_init(&l);
    k8s_splitter_init(&sp, 64);
    for (size_t i = 0; three[i]; i++)
        CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, three + i, 1, on_line, &l), 0);
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&l.all), three_lines);
    /* An unterminated tail stays held, not delivered. */
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, "{\"d\"", 4, on_line, &l), 0);
    CU_ASSERT_EQUAL(l.n, 3);
    CU_ASSERT_EQUAL(sp.line.len, 4);
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, ":4}\n", 4, on_line, &l), 0);
    CU_ASSERT_EQUAL(l.n, 4);
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&l.all), "{\"a\":1}|{\"bb\":22}|{\"ccc\":333}|{\"d\":4}|");
    k8s_splitter_cleanup(&sp);
    core_buf_cleanup(&l.all);
}

static void test_splitter_many_per_read_and_empty_lines(void)
{
    static const char in[] = "\n\r\n\nx\ny\r\n\r\n\nz\n\n";
    struct k8s_splitter sp;
    struct lines l;

    lines_init(&l);
    k8s_splitter_init(&sp, 64);
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, in, strlen(in), on_line, &l), 0);
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&l.all), "x|y|z|");
    /* A CR inside a line is data; only the one before '\n' is dropped. */
    core_buf_reset(&l.all);
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, "a\rb\r\r\n", 6, on_line, &l), 0);
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&l.all), "a\rb\r|");
    k8s_splitter_cleanup(&sp);
    core_buf_cleanup(&l.all);
}

static void test_splitter_stop_from_fn(void)
{
    struct k8s_splitter sp;
    struct lines l;

    lines_init(&l);
    l.stop_at = 2;
    k8s_splitter_init(&sp, 64);
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, three, strlen(three), on_line, &l), 7);
    CU_ASSERT_EQUAL(l.n, 2);
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&l.all), "{\"a\":1}|{\"bb\":22}|");
    k8s_splitter_cleanup(&sp);
    core_buf_cleanup(&l.all);
}

static void test_splitter_limit(void)
{
    struct k8s_splitter sp;
    struct lines l;

    lines_init(&l);
    k8s_splitter_init(&sp, 8);
    /* Exactly 8 bytes fits, also with a CRLF ending and also when held across reads. */
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, "12345678\n", 9, on_line, &l), 0);
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, "abcdefgh\r", 9, on_line, &l), 0);
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, "\n", 1, on_line, &l), 0);
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, "ABCD", 4, on_line, &l), 0);
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, "EFGH\r\n", 6, on_line, &l), 0);
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&l.all), "12345678|abcdefgh|ABCDEFGH|");

    /* 9 bytes in one read with its newline. */
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, "123456789\nok\n", 13, on_line, &l), CORE_E_TOOBIG);
    CU_ASSERT_EQUAL(l.n, 3);
    /* Poisoned: refuses everything, even a good line, and calls nothing. */
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, "ok\n", 3, on_line, &l), CORE_E_TOOBIG);
    CU_ASSERT_EQUAL(l.n, 3);
    k8s_splitter_cleanup(&sp);

    /* Detected before the newline ever comes, holding no more than the limit. */
    k8s_splitter_init(&sp, 8);
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, "12345", 5, on_line, &l), 0);
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, "6789", 4, on_line, &l), CORE_E_TOOBIG);
    CU_ASSERT(sp.line.len <= 9);
    k8s_splitter_cleanup(&sp);

    /* A CR at position 9 that is not followed by '\n' does not buy a ninth data byte. */
    k8s_splitter_init(&sp, 8);
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, "12345678\r", 9, on_line, &l), 0);
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, "x", 1, on_line, &l), CORE_E_TOOBIG);
    k8s_splitter_cleanup(&sp);

    /* Starting again after cleanup + init works. */
    k8s_splitter_init(&sp, 8);
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, "again\n", 6, on_line, &l), 0);
    CU_ASSERT_EQUAL(l.n, 4);
    k8s_splitter_cleanup(&sp);
    /* A cleaned-up (or zeroed) splitter refuses instead of crashing. */
    CU_ASSERT_EQUAL(k8s_splitter_feed(&sp, "x\n", 2, on_line, &l), CORE_E_TOOBIG);
    k8s_splitter_cleanup(NULL);
    core_buf_cleanup(&l.all);
}

/* ---- parsing one event --------------------------------------------------------------------- */

static int parse(const char *line, enum k8s_event_type *t, json_t **o, struct core_err *err)
{
    return k8s_watch_parse_event(line, strlen(line), "watch pods", t, o, err);
}

static void test_parse_event(void)
{
    enum k8s_event_type t = K8S_ERROR;
    json_t *o = NULL;
    struct core_err err;

    CU_ASSERT_EQUAL(parse("{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"p\"}}}",
                          &t, &o, &err), 0);
    CU_ASSERT_EQUAL(t, K8S_MODIFIED);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(o, "metadata"),
                                                             "name")), "p");
    json_decref(o);
    o = NULL;
    CU_ASSERT_EQUAL(parse("{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":"
                          "\"9\"}}}", &t, &o, &err), 0);
    CU_ASSERT_EQUAL(t, K8S_BOOKMARK);
    json_decref(o);
    o = NULL;

    /* Each rejection is a parse error naming the watch, and leaves the outputs alone. */
    t = K8S_ADDED;
    CU_ASSERT_EQUAL(parse("{\"type\":\"ADDED\",\"object\":", &t, &o, &err), CORE_E_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "watch pods: event is not JSON"));
    CU_ASSERT_EQUAL(parse("[1,2]", &t, &o, &err), CORE_E_PARSE);
    CU_ASSERT_EQUAL(parse("{\"object\":{}}", &t, &o, &err), CORE_E_PARSE);
    CU_ASSERT_EQUAL(parse("{\"type\":\"RENAMED\",\"object\":{}}", &t, &o, &err), CORE_E_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "RENAMED"));
    CU_ASSERT_EQUAL(parse("{\"type\":\"ADDED\",\"object\":\"p\"}", &t, &o, &err), CORE_E_PARSE);
    CU_ASSERT_EQUAL(parse("{\"type\":\"ADDED\"}", &t, &o, &err), CORE_E_PARSE);
    CU_ASSERT_EQUAL(parse("{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{}}}", &t, &o, &err),
                    CORE_E_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "resourceVersion"));
    CU_ASSERT_EQUAL(t, K8S_ADDED);
    CU_ASSERT_PTR_NULL(o);
}

/* ---- the watch --------------------------------------------------------------------------------- */

struct wfx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct core_http_script *script;
    struct k8s_client *c;
};

static void wfx_init(struct wfx *f)
{
    struct k8s_config cfg;
    struct core_err err;

    memset(f, 0, sizeof *f);
    memset(&cfg, 0, sizeof cfg);
    cfg.server = "https://k8s.test";
    cfg.auth = K8S_AUTH_NONE;
    f->clock = core_clock_virtual_new(0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(f->clock, NULL, &f->loop, &err), 0);
    CU_ASSERT_EQUAL_FATAL(core_http_script_new(f->loop, &f->script, &err), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_client_new(f->loop, core_http_script_transport(f->script), &cfg,
                                         NULL, NULL, &f->c, &err), 0);
}

static void wfx_cleanup(struct wfx *f)
{
    k8s_client_free(f->c);
    core_http_script_free(f->script);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

static void expect_stream(struct wfx *f, const char *url, long status, const char *body,
                          size_t chunk)
{
    struct core_http_script_step st;
    memset(&st, 0, sizeof st);
    st.method = "GET";
    st.url = url;
    st.status = status;
    st.body = body;
    st.chunk = chunk;
    st.chunk_delay = 10 * CORE_NS_PER_MS;
    CU_ASSERT_EQUAL_FATAL(core_http_script_expect(f->script, &st), 0);
}

#define MAXEV 16

struct wrec {
    struct core_loop *loop;
    struct k8s_watch *w;
    int nev;
    enum k8s_event_type type[MAXEV];
    char name[MAXEV][32];
    char rv[MAXEV][32];
    int stop_after; /* stop the watch from on_event after this many events */
    int done, ndone, rc;
    struct core_err err;
    int err_null;
};

static void on_event(void *ud, enum k8s_event_type type, json_t *obj)
{
    struct wrec *r = ud;
    const json_t *meta = json_object_get(obj, "metadata");
    const char *n = json_string_value(json_object_get(meta, "name"));
    const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));

    CU_ASSERT_FATAL(r->nev < MAXEV);
    r->type[r->nev] = type;
    core_strlcpy(r->name[r->nev], n ? n : "", sizeof r->name[0]);
    core_strlcpy(r->rv[r->nev], rv ? rv : "", sizeof r->rv[0]);
    r->nev++;
    if (r->stop_after && r->nev == r->stop_after)
        k8s_watch_stop(r->w);
}

static void on_wdone(void *ud, int rc, const struct core_err *err)
{
    struct wrec *r = ud;
    r->done = 1;
    r->ndone++;
    r->rc = rc;
    r->err_null = err == NULL;
    if (err)
        r->err = *err;
}

static void wrun(struct wfx *f, struct wrec *r)
{
    struct core_err err;
    CU_ASSERT_EQUAL(core_loop_run_until(f->loop, &r->done, core_loop_now(f->loop) + 3600 * S,
                                        &err), 0);
}

static void start(struct wfx *f, struct wrec *r, const struct k8s_watch_opts *o)
{
    struct core_err err;
    memset(r, 0, sizeof *r);
    r->loop = f->loop;
    CU_ASSERT_EQUAL_FATAL(k8s_watch_start(f->c, &k8s_res_pods, "default", o, on_event, on_wdone,
                                          r, &r->w, &err), 0);
}

#define POD(n, rv) \
    "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"" n "\",\"namespace\":" \
    "\"default\",\"resourceVersion\":\"" rv "\",\"labels\":{\"app\":\"web\"}},\"spec\":"      \
    "{\"nodeName\":\"node-1\",\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}"
#define EV(type, obj) "{\"type\":\"" type "\",\"object\":" obj "}\n"
#define BOOKMARK(rv) \
    EV("BOOKMARK", "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"" rv "\"}}")
#define STATUS(code, reason) \
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\"," \
    "\"message\":\"too old resource version: 100 (200)\",\"reason\":\"" reason "\",\"code\":" code "}"

#define WATCH_URL "https://k8s.test/api/v1/namespaces/default/pods?watch=1*"

static const char events4[] =
    EV("ADDED", POD("p1", "101")) EV("MODIFIED", POD("p1", "102")) BOOKMARK("150")
    EV("DELETED", POD("p1", "160"));

static void test_watch_url(void)
{
    struct wfx f;
    struct wrec r;
    struct k8s_watch_opts o;
    struct core_err err;
    struct k8s_watch *w = NULL;

    wfx_init(&f);
    memset(&o, 0, sizeof o);
    o.resource_version = "12345";
    o.label_selector = "app=web,tier in (a,b)";
    o.field_selector = "spec.nodeName=node-1";
    o.timeout_seconds = 60;
    expect_stream(&f, NULL, 200, "", 0);
    start(&f, &r, &o);
    wrun(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_STRING_EQUAL(core_http_script_request(f.script, 0)->url,
                           "https://k8s.test/api/v1/namespaces/default/pods?watch=1"
                           "&allowWatchBookmarks=true&resourceVersion=12345&timeoutSeconds=60"
                           "&labelSelector=app%3Dweb%2Ctier%20in%20%28a%2Cb%29"
                           "&fieldSelector=spec.nodeName%3Dnode-1");
    CU_ASSERT_STRING_EQUAL(core_http_script_request(f.script, 0)->method, "GET");

    /* Defaults: bookmarks asked for, 300 s, no resourceVersion (most recent). Opting out of
     * bookmarks drops the parameter. A cluster-scoped custom resource. */
    expect_stream(&f, NULL, 200, "", 0);
    start(&f, &r, NULL);
    wrun(&f, &r);
    CU_ASSERT_STRING_EQUAL(core_http_script_request(f.script, 1)->url,
                           "https://k8s.test/api/v1/namespaces/default/pods?watch=1"
                           "&allowWatchBookmarks=true&timeoutSeconds=300");
    memset(&o, 0, sizeof o);
    o.no_bookmarks = 1;
    o.resource_version = "7";
    expect_stream(&f, NULL, 200, "", 0);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(k8s_watch_start(f.c, &k8s_res_nodeclaims, "ignored", &o, on_event,
                                          on_wdone, &r, &w, &err), 0);
    wrun(&f, &r);
    CU_ASSERT_STRING_EQUAL(core_http_script_request(f.script, 2)->url,
                           "https://k8s.test/apis/stoker.dev/v1alpha1/nodeclaims?watch=1"
                           "&resourceVersion=7&timeoutSeconds=300");
    /* Bad arguments are refused up front, without a request. */
    CU_ASSERT_EQUAL(k8s_watch_start(f.c, &k8s_res_pods, NULL, NULL, NULL, on_wdone, &r, &w,
                                    &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 3);
    CU_ASSERT_EQUAL(core_http_script_unexpected(f.script), 0);
    wfx_cleanup(&f);
}

static void test_watch_events_in_order(void)
{
    static const size_t chunks[] = {1, 7, 13, 4096};
    for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        struct wfx f;
        struct wrec r;
        wfx_init(&f);
        expect_stream(&f, WATCH_URL, 200, events4, chunks[k]);
        start(&f, &r, NULL);
        wrun(&f, &r);
        CU_ASSERT_EQUAL(r.ndone, 1);
        CU_ASSERT_EQUAL(r.rc, 0);
        CU_ASSERT(r.err_null);
        CU_ASSERT_EQUAL_FATAL(r.nev, 4);
        CU_ASSERT_EQUAL(r.type[0], K8S_ADDED);
        CU_ASSERT_EQUAL(r.type[1], K8S_MODIFIED);
        CU_ASSERT_EQUAL(r.type[2], K8S_BOOKMARK);
        CU_ASSERT_EQUAL(r.type[3], K8S_DELETED);
        CU_ASSERT_STRING_EQUAL(r.name[0], "p1");
        CU_ASSERT_STRING_EQUAL(r.rv[0], "101");
        CU_ASSERT_STRING_EQUAL(r.rv[1], "102");
        CU_ASSERT_STRING_EQUAL(r.rv[2], "150");
        CU_ASSERT_STRING_EQUAL(r.name[2], "");
        CU_ASSERT_STRING_EQUAL(r.rv[3], "160");
        /* Byte by byte the answer takes one chunk_delay per byte: nothing was lost to time. */
        if (chunks[k] == 1)
            CU_ASSERT_EQUAL(core_loop_now(f.loop),
                            (core_ns)(sizeof events4 - 2) * 10 * CORE_NS_PER_MS);
        wfx_cleanup(&f);
    }
}

static void test_watch_error_410(void)
{
    static const char body[] = EV("ADDED", POD("p1", "101"))
        EV("ERROR", STATUS("410", "Expired")) EV("ADDED", POD("p2", "102"));
    struct wfx f;
    struct wrec r;

    wfx_init(&f);
    expect_stream(&f, WATCH_URL, 200, body, 7);
    start(&f, &r, NULL);
    wrun(&f, &r);
    CU_ASSERT_EQUAL(r.ndone, 1);
    CU_ASSERT_EQUAL(r.rc, CORE_E_STATE);
    CU_ASSERT_EQUAL(r.err.code, CORE_E_STATE);
    CU_ASSERT_EQUAL(r.err.http_status, 410);
    CU_ASSERT_STRING_EQUAL(r.err.service_code, "Expired");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "watch pods"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "too old resource version"));
    /* The event before the ERROR was delivered, the one after it never is. */
    CU_ASSERT_EQUAL(r.nev, 1);
    CU_ASSERT_STRING_EQUAL(r.name[0], "p1");

    /* reason Gone, and a 410 answer to the watch request itself. */
    expect_stream(&f, WATCH_URL, 200, EV("ERROR", STATUS("410", "Gone")), 5);
    start(&f, &r, NULL);
    wrun(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_STATE);
    CU_ASSERT_EQUAL(r.err.http_status, 410);
    CU_ASSERT_STRING_EQUAL(r.err.service_code, "Gone");
    expect_stream(&f, WATCH_URL, 410, STATUS("410", "Expired"), 0);
    start(&f, &r, NULL);
    wrun(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_STATE);
    CU_ASSERT_EQUAL(r.err.http_status, 410);
    CU_ASSERT_STRING_EQUAL(r.err.service_code, "Expired");
    CU_ASSERT_EQUAL(r.nev, 0);
    wfx_cleanup(&f);
}

static void test_watch_error_other(void)
{
    struct wfx f;
    struct wrec r;

    wfx_init(&f);
    expect_stream(&f, WATCH_URL, 200, EV("ERROR", STATUS("500", "InternalError")), 7);
    start(&f, &r, NULL);
    wrun(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_HTTP);
    CU_ASSERT_EQUAL(r.err.http_status, 500);
    CU_ASSERT_STRING_EQUAL(r.err.service_code, "InternalError");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "watch pods"));
    /* A 403 answer (RBAC) to the watch request: the client's Status mapping. */
    expect_stream(&f, WATCH_URL, 403,
                  "{\"kind\":\"Status\",\"reason\":\"Forbidden\",\"code\":403,\"message\":\"no\"}",
                  0);
    start(&f, &r, NULL);
    wrun(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_AUTH);
    CU_ASSERT_EQUAL(r.err.http_status, 403);
    wfx_cleanup(&f);
}

static void test_watch_dropped_mid_event(void)
{
    static const char body[] = EV("ADDED", POD("p1", "101")) "{\"type\":\"MODIFIED\",\"obj";
    struct wfx f;
    struct wrec r;

    wfx_init(&f);
    expect_stream(&f, WATCH_URL, 200, body, 7);
    start(&f, &r, NULL);
    wrun(&f, &r);
    CU_ASSERT_EQUAL(r.ndone, 1);
    CU_ASSERT_EQUAL(r.rc, CORE_E_TRANSPORT);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "inside an event"));
    CU_ASSERT_EQUAL(r.nev, 1);

    /* A connection failure reported by the transport is passed on. */
    {
        struct core_http_script_step st;
        memset(&st, 0, sizeof st);
        st.result = CORE_E_TRANSPORT;
        CU_ASSERT_EQUAL_FATAL(core_http_script_expect(f.script, &st), 0);
    }
    start(&f, &r, NULL);
    wrun(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_TRANSPORT);
    wfx_cleanup(&f);
}

static void test_watch_oversized_event(void)
{
    static const char body[] = EV("ADDED", POD("p1", "101")) EV("ADDED", POD("p2-has-a-much-longer-name-than-the-limit-allows-for-in-this-test", "102"));
    struct wfx f;
    struct wrec r;
    struct k8s_watch_opts o;

    wfx_init(&f);
    memset(&o, 0, sizeof o);
    o.max_event = strlen(EV("ADDED", POD("p1", "101"))) - 1; /* the first line just fits */
    expect_stream(&f, WATCH_URL, 200, body, 7);
    start(&f, &r, &o);
    wrun(&f, &r);
    CU_ASSERT_EQUAL(r.ndone, 1);
    CU_ASSERT_EQUAL(r.rc, CORE_E_TOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "watch pods"));
    CU_ASSERT_EQUAL(r.nev, 1);
    wfx_cleanup(&f);
}

static void test_watch_malformed(void)
{
    static const char *const bodies[] = {
        EV("ADDED", POD("p1", "101")) "{\"type\":\"ADDED\",\"object\":{]}\n",
        EV("ADDED", POD("p1", "101")) EV("UPSERTED", POD("p2", "102")),
        EV("ADDED", POD("p1", "101")) "not json at all\n",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct wfx f;
        struct wrec r;
        wfx_init(&f);
        expect_stream(&f, WATCH_URL, 200, bodies[i], 7);
        start(&f, &r, NULL);
        wrun(&f, &r);
        CU_ASSERT_EQUAL(r.ndone, 1);
        CU_ASSERT_EQUAL(r.rc, CORE_E_PARSE);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "watch pods"));
        CU_ASSERT_EQUAL(r.nev, 1);
        wfx_cleanup(&f);
    }
}

static void test_watch_stop(void)
{
    struct wfx f;
    struct wrec r;
    struct core_err err;

    /* From inside on_event, in the middle of a piece holding more events: nothing after. */
    wfx_init(&f);
    expect_stream(&f, WATCH_URL, 200, events4, 4096);
    start(&f, &r, NULL);
    r.stop_after = 2;
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(r.nev, 2);
    CU_ASSERT_EQUAL(r.ndone, 0);

    /* Before any byte came. */
    expect_stream(&f, WATCH_URL, 200, events4, 7);
    start(&f, &r, NULL);
    k8s_watch_stop(r.w);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(r.nev, 0);
    CU_ASSERT_EQUAL(r.ndone, 0);

    /* Halfway through, between pieces. */
    expect_stream(&f, WATCH_URL, 200, events4, 7);
    start(&f, &r, NULL);
    while (r.nev < 1)
        CU_ASSERT_FATAL(core_loop_run_once(f.loop, -1, &err) > 0);
    k8s_watch_stop(r.w);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(r.nev, 1);
    CU_ASSERT_EQUAL(r.ndone, 0);
    k8s_watch_stop(NULL);
    wfx_cleanup(&f);
}

static void test_watch_client_free(void)
{
    struct wfx f;
    struct wrec r;
    struct core_err err;

    wfx_init(&f);
    expect_stream(&f, WATCH_URL, 200, events4, 7);
    start(&f, &r, NULL);
    while (r.nev < 1)
        CU_ASSERT_FATAL(core_loop_run_once(f.loop, -1, &err) > 0);
    k8s_client_free(f.c);
    f.c = NULL;
    CU_ASSERT_EQUAL(r.ndone, 1);
    CU_ASSERT_EQUAL(r.rc, CORE_E_CANCELLED);
    CU_ASSERT_EQUAL(r.nev, 1);
    wfx_cleanup(&f);
}

TESTS_SUITE(k8s_watch, "k8s_watch", NULL, NULL, TESTS_CASE(test_splitter_every_split),
            TESTS_CASE(test_splitter_byte_by_byte),
            TESTS_CASE(test_splitter_many_per_read_and_empty_lines),
            TESTS_CASE(test_splitter_stop_from_fn), TESTS_CASE(test_splitter_limit),
            TESTS_CASE(test_parse_event), TESTS_CASE(test_watch_url),
            TESTS_CASE(test_watch_events_in_order), TESTS_CASE(test_watch_error_410),
            TESTS_CASE(test_watch_error_other), TESTS_CASE(test_watch_dropped_mid_event),
            TESTS_CASE(test_watch_oversized_event), TESTS_CASE(test_watch_malformed),
            TESTS_CASE(test_watch_stop), TESTS_CASE(test_watch_client_free))
