/*
 * tests/unit/test_k8s_informer.c — the informer on the scripted transport and a virtual clock:
 * the initial paginated list and sync; watch events applied to the store and to indexes (over
 * JSON values and over decoded values, several keys per value); re-watching from a bookmark
 * after a normal end; a 410 relist with its diff; backoff timing after list and watch failures
 * and its reset; decode failures; stop and free from inside handlers; client shutdown; and an
 * allocation-failure sweep over a whole list + watch cycle.
 */
#include "tests/unit/harness.h"

#include "k8s/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MS CORE_NS_PER_MS
#define S CORE_NS_PER_S

/* ---- objects ------------------------------------------------------------------------------------ */

#define POD_NS(ns, n, rv, node)                                                                  \
    "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"" n "\",\"namespace\":\"" \
    ns "\",\"resourceVersion\":\"" rv "\",\"labels\":{\"app\":\"web\",\"tier\":\"" node "\"}},"  \
    "\"spec\":{\"nodeName\":\"" node "\"}}"
#define POD(n, rv, node) POD_NS("default", n, rv, node)
#define POD_NONODE(n, rv)                                                                        \
    "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"" n "\",\"namespace\":"   \
    "\"default\",\"resourceVersion\":\"" rv "\"},\"spec\":{}}"
#define LIST(rv, cont, items)                                                                    \
    "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"" rv       \
    "\"" cont "},\"items\":[" items "]}"
#define EV(type, obj) "{\"type\":\"" type "\",\"object\":" obj "}\n"
#define BOOKMARK(rv) \
    EV("BOOKMARK", "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"" rv "\"}}")
#define GONE \
    EV("ERROR", "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":" \
                "\"too old resource version: 10 (30)\",\"reason\":\"Expired\",\"code\":410}")
#define ERR500 "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"InternalError\",\"code\":500}"

#define LIST_ALL "https://k8s.test/api/v1/pods?limit=*"
#define WATCH_ALL "https://k8s.test/api/v1/pods?watch=1*"

/* ---- the fixture -------------------------------------------------------------------------------- */

#define MAXREQ 64
#define MAXERR 16
#define MIRROR 32

struct ifx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct core_http_script *script;
    struct k8s_client *c;
    struct k8s_informer *inf;

    /* handler log: "ADD key rv;" "MOD key rv>rv;" "DEL key rv;" (JSON values) */
    char log[4096];
    int nchanges;
    int stop_after;  /* stop the informer in the handler after this many changes */
    int free_after;  /* free it there */

    /* a mirror built from notifications alone (no allocation: used under alloc failures) */
    struct {
        char key[64];
        const void *val;
    } mirror[MIRROR];
    int nmirror;
    int mirror_bad;

    int nerr, nerr_nokey;
    char err_key[MAXERR][64];
    struct core_err errs[MAXERR];
    core_ns err_at[MAXERR];

    size_t nreq;
    core_ns req_at[MAXREQ];
};

static void ifx_init_opts(struct ifx *f, const struct k8s_client_opts *co)
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
                                         NULL, co, &f->c, &err), 0);
}

static void ifx_init(struct ifx *f)
{
    ifx_init_opts(f, NULL);
}

static void ifx_cleanup(struct ifx *f)
{
    k8s_informer_free(f->inf);
    k8s_client_free(f->c);
    core_http_script_free(f->script);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

static void expect(struct ifx *f, const char *url, long status, const char *body, size_t chunk,
                   core_ns delay)
{
    struct core_http_script_step st;
    memset(&st, 0, sizeof st);
    st.method = "GET";
    st.url = url;
    st.status = status;
    st.body = body;
    st.chunk = chunk;
    st.chunk_delay = chunk ? 10 * MS : 0;
    st.delay = delay;
    CU_ASSERT_EQUAL_FATAL(core_http_script_expect(f->script, &st), 0);
}

/* A watch that stays open (silent) for an hour: where a test wants the informer to rest. */
static void expect_quiet_watch(struct ifx *f)
{
    expect(f, WATCH_ALL, 200, "", 0, 3600 * S);
}

static const char *url(struct ifx *f, size_t i)
{
    const struct core_http_script_request *r = core_http_script_request(f->script, i);
    return r ? r->url : "(none)";
}

static const char *jrv(const void *v)
{
    const char *rv = json_string_value(
        json_object_get(json_object_get((const json_t *)v, "metadata"), "resourceVersion"));
    return rv ? rv : "-";
}

static void logf_(struct ifx *f, const char *fmt, ...) CORE_PRINTF(2, 3);
static void logf_(struct ifx *f, const char *fmt, ...)
{
    size_t n = strlen(f->log);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->log + n, sizeof f->log - n, fmt, ap);
    va_end(ap);
}

static void mirror_apply(struct ifx *f, const char *key, const void *old, const void *value)
{
    int i;
    for (i = 0; i < f->nmirror; i++)
        if (strcmp(f->mirror[i].key, key) == 0)
            break;
    if (!old) {
        /* An add for a key the mirror already has, or no room: the notifications are wrong. */
        if (i < f->nmirror || f->nmirror == MIRROR) {
            f->mirror_bad = 1;
            return;
        }
        core_strlcpy(f->mirror[f->nmirror].key, key, sizeof f->mirror[0].key);
        f->mirror[f->nmirror++].val = value;
        return;
    }
    if (i == f->nmirror || f->mirror[i].val != old) {
        f->mirror_bad = 1;
        return;
    }
    if (value)
        f->mirror[i].val = value;
    else
        f->mirror[i] = f->mirror[--f->nmirror];
}

/* The mirror and the store agree, key by key and pointer by pointer. */
static int mirror_matches(struct ifx *f)
{
    if (f->mirror_bad || (size_t)f->nmirror != k8s_informer_len(f->inf))
        return 0;
    for (int i = 0; i < f->nmirror; i++)
        if (k8s_informer_get(f->inf, f->mirror[i].key) != f->mirror[i].val)
            return 0;
    return 1;
}

static void on_change(void *ud, const char *key, const void *old, const void *value)
{
    struct ifx *f = ud;
    f->nchanges++;
    mirror_apply(f, key, old, value);
    if (!old)
        logf_(f, "ADD %s %s%s;", key, jrv(value), "");
    else if (!value)
        logf_(f, "DEL %s %s%s;", key, jrv(old), "");
    else
        logf_(f, "MOD %s %s>%s;", key, jrv(old), jrv(value));
    if (f->stop_after && f->nchanges == f->stop_after)
        k8s_informer_stop(f->inf);
    if (f->free_after && f->nchanges == f->free_after) {
        k8s_informer_free(f->inf);
        f->inf = NULL;
    }
}

/* The same for decoded values (struct pval): no JSON to look at. */
static void on_change_quiet(void *ud, const char *key, const void *old, const void *value)
{
    struct ifx *f = ud;
    f->nchanges++;
    mirror_apply(f, key, old, value);
    logf_(f, "%s %s%s;", !old ? "ADD" : !value ? "DEL" : "MOD", key, "");
}

static void on_error(void *ud, const char *key, const struct core_err *err)
{
    struct ifx *f = ud;
    if (!key)
        f->nerr_nokey++;
    if (f->nerr < MAXERR) {
        core_strlcpy(f->err_key[f->nerr], key ? key : "(null)", sizeof f->err_key[0]);
        f->errs[f->nerr] = *err;
        f->err_at[f->nerr] = core_loop_now(f->loop);
    }
    f->nerr++;
}

static void note_requests(struct ifx *f)
{
    size_t n = core_http_script_nrequests(f->script);
    while (f->nreq < n && f->nreq < MAXREQ)
        f->req_at[f->nreq++] = core_loop_now(f->loop);
}

/* Runs the loop turn by turn until cond(f) holds or virtual time passes `until`, noting when
 * each request went out. */
static void pump(struct ifx *f, int (*cond)(struct ifx *f), core_ns until)
{
    struct core_err err;
    while (!(cond && cond(f)) && core_loop_now(f->loop) <= until) {
        int rc = core_loop_run_once(f->loop, -1, &err);
        note_requests(f);
        if (rc <= 0)
            break;
    }
}

static size_t want_requests;
static int have_requests(struct ifx *f)
{
    return core_http_script_nrequests(f->script) >= want_requests;
}

static void pump_requests(struct ifx *f, size_t n)
{
    want_requests = n;
    pump(f, have_requests, core_loop_now(f->loop) + 3600 * S);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f->script), n);
}

static void make(struct ifx *f, const struct k8s_informer_opts *o, k8s_handler_fn h)
{
    struct k8s_informer_opts d;
    struct core_err err;
    if (!o) {
        memset(&d, 0, sizeof d);
        o = &d;
    }
    CU_ASSERT_EQUAL_FATAL(k8s_informer_new(f->c, &k8s_res_pods, o, &f->inf, &err), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_informer_add_handler(f->inf, h ? h : on_change, f), 0);
}

static void opts_init(struct ifx *f, struct k8s_informer_opts *o)
{
    memset(o, 0, sizeof *o);
    o->on_error = on_error;
    o->error_ud = f;
}

static void start(struct ifx *f)
{
    struct core_err err;
    CU_ASSERT_EQUAL_FATAL(k8s_informer_start(f->inf, &err), 0);
}

/* ---- index functions ------------------------------------------------------------------------- */

static int index_node_json(const void *value, char **keys, size_t max)
{
    const char *n = json_string_value(
        json_object_get(json_object_get((const json_t *)value, "spec"), "nodeName"));
    if (!n || max < 1)
        return 0;
    keys[0] = core_strdup(n);
    return keys[0] ? 1 : CORE_E_NOMEM;
}

/* Every label as "k=v", plus the first one again: the informer must file it once. */
static int index_labels_json(const void *value, char **keys, size_t max)
{
    const json_t *labels =
        json_object_get(json_object_get((const json_t *)value, "metadata"), "labels");
    const char *k;
    const json_t *v;
    size_t n = 0;
    char buf[256];

    json_object_foreach((json_t *)labels, k, v) {
        if (n + 1 >= max)
            break;
        snprintf(buf, sizeof buf, "%s=%s", k, json_string_value(v));
        if (!(keys[n] = core_strdup(buf)))
            goto fail;
        n++;
    }
    if (n > 0) {
        if (!(keys[n] = core_strdup(keys[0])))
            goto fail;
        n++;
    }
    return (int)n;
fail:
    while (n > 0)
        core_free(keys[--n]);
    return CORE_E_NOMEM;
}

/* The keys under one index value, sorted, joined by ','. */
static const char *index_keys(struct ifx *f, const char *index, const char *value)
{
    static char out[512];
    const char *names[32];
    size_t it = 0, n = 0, len = 0;
    const char *key;
    const void *stored;

    while (n < 32 && k8s_informer_index_next(f->inf, index, value, &it, &key, &stored)) {
        CU_ASSERT_PTR_EQUAL(stored, k8s_informer_get(f->inf, key));
        names[n++] = key;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%s", i ? "," : "", names[i]);
    return out;
}

/* ---- the initial list ------------------------------------------------------------------------ */

static void test_initial_list_two_pages(void)
{
    struct ifx f;
    struct k8s_informer_opts o;
    struct k8s_informer_stats st;
    const void *v;

    ifx_init(&f);
    opts_init(&f, &o);
    o.page_limit = 2;
    o.label_selector = "app=web";
    o.field_selector = "status.phase=Running";
    make(&f, &o, NULL);
    expect(&f, LIST_ALL, 200,
           LIST("100", ",\"continue\":\"c1\"", POD("p1", "1", "n1") "," POD("p2", "2", "n1")), 0,
           0);
    expect(&f, LIST_ALL, 200, LIST("101", "", POD_NS("kube-system", "p3", "3", "n2")), 0, 0);
    expect_quiet_watch(&f);
    start(&f);
    CU_ASSERT_FALSE(k8s_informer_synced(f.inf));
    pump_requests(&f, 3);
    CU_ASSERT_TRUE(k8s_informer_synced(f.inf));
    CU_ASSERT_STRING_EQUAL(url(&f, 0), "https://k8s.test/api/v1/pods?limit=2"
                                       "&labelSelector=app%3Dweb"
                                       "&fieldSelector=status.phase%3DRunning");
    CU_ASSERT_PTR_NOT_NULL(strstr(url(&f, 1), "continue=c1"));
    /* The watch starts from the list's resourceVersion, with the same selectors. */
    CU_ASSERT_STRING_EQUAL(url(&f, 2), "https://k8s.test/api/v1/pods?watch=1"
                                       "&allowWatchBookmarks=true&resourceVersion=101"
                                       "&timeoutSeconds=300&labelSelector=app%3Dweb"
                                       "&fieldSelector=status.phase%3DRunning");
    CU_ASSERT_STRING_EQUAL(f.log, "ADD default/p1 1;ADD default/p2 2;ADD kube-system/p3 3;");
    CU_ASSERT_EQUAL(k8s_informer_len(f.inf), 3);
    v = k8s_informer_get(f.inf, "kube-system/p3");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_STRING_EQUAL(jrv(v), "3");
    CU_ASSERT_PTR_NULL(k8s_informer_get(f.inf, "default/p3"));
    CU_ASSERT_TRUE(mirror_matches(&f));
    {
        size_t it = 0, n = 0;
        const char *key;
        while (k8s_informer_next(f.inf, &it, &key, &v)) {
            CU_ASSERT_PTR_EQUAL(v, k8s_informer_get(f.inf, key));
            n++;
        }
        CU_ASSERT_EQUAL(n, 3);
    }
    k8s_informer_get_stats(f.inf, &st);
    CU_ASSERT_EQUAL(st.lists, 1);
    CU_ASSERT_EQUAL(st.watches, 1);
    CU_ASSERT_EQUAL(st.relists, 0);
    CU_ASSERT_EQUAL(st.events, 0);
    CU_ASSERT_EQUAL(st.decode_errors, 0);
    CU_ASSERT_EQUAL(f.nerr, 0);
    CU_ASSERT_EQUAL(core_http_script_unexpected(f.script), 0);
    ifx_cleanup(&f);
}

/* ---- watch events, store and indexes ------------------------------------------------------------ */

static void test_watch_updates_store_and_indexes(void)
{
    static const char events[] =
        EV("MODIFIED", POD("p2", "12", "n2")) EV("ADDED", POD("p4", "13", "n3"))
        EV("DELETED", POD("p1", "14", "n1")) EV("ADDED", POD("p5", "15", "n1"))
        EV("MODIFIED", POD("p3", "16", "n2")) EV("DELETED", POD("gone", "17", "n9"));
    struct ifx f;
    struct k8s_informer_opts o;
    struct k8s_informer_stats st;

    ifx_init(&f);
    opts_init(&f, &o);
    make(&f, &o, NULL);
    CU_ASSERT_EQUAL(k8s_informer_add_index(f.inf, "node", index_node_json), 0);
    CU_ASSERT_EQUAL(k8s_informer_add_index(f.inf, "labels", index_labels_json), 0);
    CU_ASSERT_EQUAL(k8s_informer_add_index(f.inf, "node", index_node_json), CORE_E_INVAL);
    expect(&f, LIST_ALL, 200,
           LIST("10", "", POD("p1", "1", "n1") "," POD("p2", "2", "n1") "," POD("p3", "3", "n2")),
           0, 0);
    expect(&f, WATCH_ALL, 200, events, 7, 0);
    expect_quiet_watch(&f);
    start(&f);
    pump_requests(&f, 2);
    CU_ASSERT_STRING_EQUAL(index_keys(&f, "node", "n1"), "default/p1,default/p2");
    CU_ASSERT_STRING_EQUAL(index_keys(&f, "node", "n2"), "default/p3");
    CU_ASSERT_STRING_EQUAL(index_keys(&f, "labels", "app=web"), "default/p1,default/p2,default/p3");
    CU_ASSERT_STRING_EQUAL(index_keys(&f, "labels", "tier=n1"), "default/p1,default/p2");
    f.log[0] = '\0';
    pump_requests(&f, 3);
    CU_ASSERT_STRING_EQUAL(f.log, "MOD default/p2 2>12;ADD default/p4 13;DEL default/p1 1;"
                                  "ADD default/p5 15;MOD default/p3 3>16;");
    CU_ASSERT_EQUAL(k8s_informer_len(f.inf), 4);
    CU_ASSERT_PTR_NULL(k8s_informer_get(f.inf, "default/p1"));
    CU_ASSERT_STRING_EQUAL(jrv(k8s_informer_get(f.inf, "default/p2")), "12");
    CU_ASSERT_STRING_EQUAL(index_keys(&f, "node", "n1"), "default/p5");
    CU_ASSERT_STRING_EQUAL(index_keys(&f, "node", "n2"), "default/p2,default/p3");
    CU_ASSERT_STRING_EQUAL(index_keys(&f, "node", "n3"), "default/p4");
    CU_ASSERT_STRING_EQUAL(index_keys(&f, "node", "n9"), "");
    CU_ASSERT_STRING_EQUAL(index_keys(&f, "labels", "app=web"),
                           "default/p2,default/p3,default/p4,default/p5");
    CU_ASSERT_STRING_EQUAL(index_keys(&f, "labels", "tier=n1"), "default/p5");
    CU_ASSERT_STRING_EQUAL(index_keys(&f, "labels", "tier=n2"), "default/p2,default/p3");
    CU_ASSERT_STRING_EQUAL(index_keys(&f, "nosuchindex", "n1"), "");
    CU_ASSERT_TRUE(mirror_matches(&f));
    /* The next watch resumes after the last event. */
    CU_ASSERT_PTR_NOT_NULL(strstr(url(&f, 2), "&resourceVersion=17&"));
    k8s_informer_get_stats(f.inf, &st);
    CU_ASSERT_EQUAL(st.events, 6);
    CU_ASSERT_EQUAL(st.watches, 2);
    CU_ASSERT_EQUAL(f.nerr, 0);
    /* Indexes and handlers are fixed once started. */
    CU_ASSERT_EQUAL(k8s_informer_add_index(f.inf, "late", index_node_json), CORE_E_STATE);
    CU_ASSERT_EQUAL(k8s_informer_add_handler(f.inf, on_change, &f), CORE_E_STATE);
    ifx_cleanup(&f);
}

/* ---- re-watch after a normal end ---------------------------------------------------------------- */

static void test_rewatch_from_bookmark(void)
{
    struct ifx f;
    struct k8s_informer_opts o;
    struct k8s_informer_stats st;

    ifx_init(&f);
    opts_init(&f, &o);
    o.watch_timeout = 60;
    make(&f, &o, NULL);
    expect(&f, LIST_ALL, 200, LIST("100", "", POD("p1", "50", "n1")), 0, 0);
    expect(&f, WATCH_ALL, 200, EV("MODIFIED", POD("p1", "105", "n1")) BOOKMARK("200"), 7, 0);
    expect(&f, WATCH_ALL, 200, BOOKMARK("300") EV("ADDED", POD("p2", "301", "n1")), 7, 60 * S);
    expect_quiet_watch(&f);
    start(&f);
    pump_requests(&f, 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(url(&f, 1), "&resourceVersion=100&timeoutSeconds=60"));
    /* The bookmark's resourceVersion, not the last object's. */
    CU_ASSERT_PTR_NOT_NULL(strstr(url(&f, 2), "&resourceVersion=200&"));
    /* And the last event's when it came after a bookmark. */
    CU_ASSERT_PTR_NOT_NULL(strstr(url(&f, 3), "&resourceVersion=301&"));
    /* Each re-watch goes out as soon as the previous watch ended (its last byte). */
    CU_ASSERT_EQUAL(f.req_at[2], f.req_at[1] + (core_ns)(sizeof(EV("MODIFIED", POD("p1", "105", "n1")) BOOKMARK("200")) - 2) / 7 * 10 * MS);
    CU_ASSERT_STRING_EQUAL(f.log, "ADD default/p1 50;MOD default/p1 50>105;ADD default/p2 301;");
    k8s_informer_get_stats(f.inf, &st);
    CU_ASSERT_EQUAL(st.lists, 1);
    CU_ASSERT_EQUAL(st.watches, 3);
    CU_ASSERT_EQUAL(st.events, 2);
    CU_ASSERT_EQUAL(f.nerr, 0);
    ifx_cleanup(&f);
}

/* A watch that ends "normally" at once, without anything, is not a reason to hammer the
 * server: the informer backs off. */
static void test_empty_watches_back_off(void)
{
    struct ifx f;
    struct k8s_informer_opts o;

    ifx_init(&f);
    opts_init(&f, &o);
    o.backoff_base = 2 * S;
    make(&f, &o, NULL);
    expect(&f, LIST_ALL, 200, LIST("100", "", POD("p1", "50", "n1")), 0, 0);
    expect(&f, WATCH_ALL, 200, "", 0, 0);
    expect(&f, WATCH_ALL, 200, "", 0, 0);
    expect_quiet_watch(&f);
    start(&f);
    pump_requests(&f, 4);
    CU_ASSERT_EQUAL(f.req_at[2] - f.req_at[1], 2 * S);
    CU_ASSERT_EQUAL(f.req_at[3] - f.req_at[2], 4 * S);
    CU_ASSERT_PTR_NOT_NULL(strstr(url(&f, 3), "&resourceVersion=100&"));
    ifx_cleanup(&f);
}

/* ---- 410: relist and diff ----------------------------------------------------------------------- */

static void test_relist_after_410(void)
{
    struct ifx f;
    struct k8s_informer_opts o;
    struct k8s_informer_stats st;
    const void *a_before;

    ifx_init(&f);
    opts_init(&f, &o);
    make(&f, &o, NULL);
    CU_ASSERT_EQUAL(k8s_informer_add_index(f.inf, "node", index_node_json), 0);
    expect(&f, LIST_ALL, 200,
           LIST("10", "", POD("a", "1", "n1") "," POD("b", "1", "n1") "," POD("c", "1", "n1")), 0,
           0);
    expect(&f, WATCH_ALL, 200, BOOKMARK("20") GONE, 7, 0);
    expect(&f, LIST_ALL, 200,
           LIST("30", "", POD("a", "1", "n1") "," POD("b", "2", "n2") "," POD("d", "1", "n2")), 0,
           0);
    expect_quiet_watch(&f);
    start(&f);
    pump_requests(&f, 2);
    a_before = k8s_informer_get(f.inf, "default/a");
    f.log[0] = '\0';
    pump_requests(&f, 4);
    /* Exactly: b changed, d new, c gone; a untouched (same resourceVersion, same value). */
    CU_ASSERT_STRING_EQUAL(f.log, "MOD default/b 1>2;ADD default/d 1;DEL default/c 1;");
    CU_ASSERT_PTR_EQUAL(k8s_informer_get(f.inf, "default/a"), a_before);
    CU_ASSERT_EQUAL(k8s_informer_len(f.inf), 3);
    CU_ASSERT_STRING_EQUAL(index_keys(&f, "node", "n1"), "default/a");
    CU_ASSERT_STRING_EQUAL(index_keys(&f, "node", "n2"), "default/b,default/d");
    CU_ASSERT_TRUE(mirror_matches(&f));
    /* The relist went out at once (the watch had made progress), and the new watch starts
     * from the new list. */
    CU_ASSERT_STRING_EQUAL(url(&f, 2), "https://k8s.test/api/v1/pods?limit=500");
    CU_ASSERT_EQUAL(f.req_at[2], f.req_at[1] + (core_ns)(sizeof(BOOKMARK("20") GONE) - 2) / 7 * 10 * MS);
    CU_ASSERT_PTR_NOT_NULL(strstr(url(&f, 3), "&resourceVersion=30&"));
    k8s_informer_get_stats(f.inf, &st);
    CU_ASSERT_EQUAL(st.lists, 2);
    CU_ASSERT_EQUAL(st.relists, 1);
    CU_ASSERT_EQUAL(st.watches, 2);
    /* A 410 is not an error to report. */
    CU_ASSERT_EQUAL(f.nerr, 0);
    ifx_cleanup(&f);
}

/* A 410 straight away (the watch delivered nothing) waits for the backoff before relisting, so a
 * server that keeps answering 410 does not get a list storm. */
static void test_410_without_progress_backs_off(void)
{
    struct ifx f;
    struct k8s_informer_opts o;

    ifx_init(&f);
    opts_init(&f, &o);
    o.backoff_base = 3 * S;
    make(&f, &o, NULL);
    expect(&f, LIST_ALL, 200, LIST("10", "", POD("a", "1", "n1")), 0, 0);
    expect(&f, WATCH_ALL, 410,
           "{\"kind\":\"Status\",\"reason\":\"Expired\",\"code\":410,\"message\":\"old\"}", 0, 0);
    expect(&f, LIST_ALL, 200, LIST("30", "", POD("a", "1", "n1")), 0, 0);
    expect_quiet_watch(&f);
    start(&f);
    pump_requests(&f, 4);
    CU_ASSERT_EQUAL(f.req_at[2] - f.req_at[1], 3 * S);
    CU_ASSERT_STRING_EQUAL(f.log, "ADD default/a 1;");
    CU_ASSERT_PTR_NOT_NULL(strstr(url(&f, 3), "&resourceVersion=30&"));
    ifx_cleanup(&f);
}

/* ---- errors and backoff ------------------------------------------------------------------------- */

static void test_list_500_backoff(void)
{
    struct ifx f;
    struct k8s_client_opts co;
    struct k8s_informer_opts o;
    static const char dropped[] = EV("ADDED", POD("p2", "77", "n1")) "{\"type\":\"MOD";

    /* One client-level retry per list, so each informer-level failure is two 500s. */
    memset(&co, 0, sizeof co);
    co.max_retries = 1;
    ifx_init_opts(&f, &co);
    opts_init(&f, &o);
    o.backoff_base = 1 * S;
    o.backoff_cap = 3 * S;
    make(&f, &o, NULL);
    for (int i = 0; i < 6; i++)
        expect(&f, LIST_ALL, 500, ERR500, 0, 0);
    expect(&f, LIST_ALL, 200, LIST("10", "", POD("p1", "5", "n1")), 0, 0);
    expect(&f, WATCH_ALL, 200, dropped, 0, 0);
    expect_quiet_watch(&f);
    start(&f);
    pump_requests(&f, 9);
    CU_ASSERT_EQUAL_FATAL(f.nerr, 4);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_STRING_EQUAL(f.err_key[i], "(null)");
        CU_ASSERT_EQUAL(f.errs[i].code, CORE_E_HTTP);
        CU_ASSERT_EQUAL(f.errs[i].http_status, 500);
        /* Each failure is reported when the client gave up (after its own retry). */
        CU_ASSERT_EQUAL(f.err_at[i], f.req_at[2 * i + 1]);
    }
    /* Informer-level backoff: 1 s, 2 s, then the 3 s cap instead of 4 s. */
    CU_ASSERT_EQUAL(f.req_at[2] - f.err_at[0], 1 * S);
    CU_ASSERT_EQUAL(f.req_at[4] - f.err_at[1], 2 * S);
    CU_ASSERT_EQUAL(f.req_at[6] - f.err_at[2], 3 * S);
    /* The list succeeded; the watch at once. */
    CU_ASSERT_EQUAL(f.req_at[7], f.req_at[6]);
    CU_ASSERT_TRUE(k8s_informer_synced(f.inf));
    /* The watch delivered an event, then broke inside the next: reported, and since the watch
     * had made progress the backoff starts again from the base. */
    CU_ASSERT_EQUAL(f.errs[3].code, CORE_E_TRANSPORT);
    CU_ASSERT_EQUAL(f.req_at[8] - f.err_at[3], 1 * S);
    CU_ASSERT_PTR_NOT_NULL(strstr(url(&f, 8), "&resourceVersion=77&"));
    CU_ASSERT_STRING_EQUAL(f.log, "ADD default/p1 5;ADD default/p2 77;");
    ifx_cleanup(&f);
}

/* ---- decode hook ---------------------------------------------------------------------------------- */

struct pval {
    char name[64];
    char node[64];
};

static int decoded_live;

static int decode_pod(void *ud, const json_t *obj, void **out, struct core_err *err)
{
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    const char *node = json_string_value(json_object_get(json_object_get(obj, "spec"), "nodeName"));
    struct pval *p;

    (void)ud;
    if (!node)
        return core_err_set(err, CORE_E_PARSE, "spec.nodeName: missing");
    p = core_calloc(1, sizeof *p);
    if (!p)
        return core_err_set(err, CORE_E_NOMEM, "out of memory");
    core_strlcpy(p->name, name ? name : "", sizeof p->name);
    core_strlcpy(p->node, node, sizeof p->node);
    decoded_live++;
    *out = p;
    return 0;
}

static void free_pod(void *v)
{
    decoded_live--;
    core_free(v);
}

static int index_node_decoded(const void *value, char **keys, size_t max)
{
    const struct pval *p = value;
    if (max < 1)
        return 0;
    keys[0] = core_strdup(p->node);
    return keys[0] ? 1 : CORE_E_NOMEM;
}

static void test_decode_errors(void)
{
    static const char events[] =
        EV("MODIFIED", POD_NONODE("good1", "20")) EV("ADDED", POD("good3", "21", "n2"))
        EV("MODIFIED", POD("bad1", "22", "n1"))
        EV("ADDED", "{\"kind\":\"Pod\",\"metadata\":{\"namespace\":\"default\"}}")
        EV("ADDED", POD("good4", "23", "n2"));
    struct ifx f;
    struct k8s_informer_opts o;
    struct k8s_informer_stats st;
    const struct pval *p;

    decoded_live = 0;
    ifx_init(&f);
    opts_init(&f, &o);
    o.decode = decode_pod;
    o.free_value = free_pod;
    make(&f, &o, on_change_quiet);
    CU_ASSERT_EQUAL(k8s_informer_add_index(f.inf, "node", index_node_decoded), 0);
    expect(&f, LIST_ALL, 200,
           LIST("10", "", POD("good1", "1", "n1") "," POD_NONODE("bad1", "1") ","
                POD("good2", "1", "n1")), 0, 0);
    expect(&f, WATCH_ALL, 200, events, 7, 0);
    expect_quiet_watch(&f);
    start(&f);
    pump_requests(&f, 2);
    CU_ASSERT_TRUE(k8s_informer_synced(f.inf));
    CU_ASSERT_EQUAL(k8s_informer_len(f.inf), 2);
    CU_ASSERT_PTR_NULL(k8s_informer_get(f.inf, "default/bad1"));
    CU_ASSERT_EQUAL_FATAL(f.nerr, 1);
    CU_ASSERT_STRING_EQUAL(f.err_key[0], "default/bad1");
    CU_ASSERT_EQUAL(f.errs[0].code, CORE_E_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(f.errs[0].message, "default/bad1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(f.errs[0].message, "spec.nodeName"));
    p = k8s_informer_get(f.inf, "default/good1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p->node, "n1");
    CU_ASSERT_STRING_EQUAL(index_keys(&f, "node", "n1"), "default/good1,default/good2");

    f.log[0] = '\0';
    pump_requests(&f, 3);
    /* good1 stopped decoding: out of the store (a delete), reported. bad1 decodes now: an add.
     * An object without a name: reported with no key. The informer went on to good4. */
    CU_ASSERT_STRING_EQUAL(f.log, "DEL default/good1;ADD default/good3;ADD default/bad1;"
                                  "ADD default/good4;");
    CU_ASSERT_EQUAL_FATAL(f.nerr, 3);
    CU_ASSERT_STRING_EQUAL(f.err_key[1], "default/good1");
    CU_ASSERT_STRING_EQUAL(f.err_key[2], "(null)");
    CU_ASSERT_EQUAL(f.errs[2].code, CORE_E_PARSE);
    CU_ASSERT_PTR_NULL(k8s_informer_get(f.inf, "default/good1"));
    CU_ASSERT_STRING_EQUAL(index_keys(&f, "node", "n1"), "default/bad1,default/good2");
    CU_ASSERT_STRING_EQUAL(index_keys(&f, "node", "n2"), "default/good3,default/good4");
    CU_ASSERT_EQUAL(k8s_informer_len(f.inf), 4);
    CU_ASSERT_TRUE(mirror_matches(&f));
    k8s_informer_get_stats(f.inf, &st);
    CU_ASSERT_EQUAL(st.decode_errors, 3);
    CU_ASSERT_EQUAL(st.events, 5);
    /* Stored values are exactly the live decoded ones; free releases them all. */
    CU_ASSERT_EQUAL(decoded_live, 4);
    ifx_cleanup(&f);
    CU_ASSERT_EQUAL(decoded_live, 0);
}

/* ---- stop and free ------------------------------------------------------------------------------ */

static int second_calls;
static void second_handler(void *ud, const char *key, const void *old, const void *value)
{
    (void)ud;
    (void)key;
    (void)old;
    (void)value;
    second_calls++;
}

static void test_stop_in_handler(void)
{
    static const char events[] = EV("ADDED", POD("p3", "3", "n1")) EV("ADDED", POD("p4", "4", "n1"))
        EV("ADDED", POD("p5", "5", "n1"));
    struct ifx f;
    struct core_err err;
    struct k8s_informer_opts o;

    /* During the list's diff; a second handler misses the change whose first handler
     * stopped the informer. */
    ifx_init(&f);
    opts_init(&f, &o);
    make(&f, &o, NULL);
    second_calls = 0;
    CU_ASSERT_EQUAL(k8s_informer_add_handler(f.inf, second_handler, NULL), 0);
    f.stop_after = 2;
    expect(&f, LIST_ALL, 200,
           LIST("10", "", POD("p1", "1", "n1") "," POD("p2", "2", "n1") "," POD("p3", "3", "n1")),
           0, 0);
    expect_quiet_watch(&f);
    start(&f);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(f.nchanges, 2);
    CU_ASSERT_EQUAL(second_calls, 1);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 1);
    CU_ASSERT_EQUAL(f.nerr, 0);
    ifx_cleanup(&f);

    /* During the watch, with more events in the same piece. */
    ifx_init(&f);
    opts_init(&f, &o);
    make(&f, &o, NULL);
    f.stop_after = 3;
    expect(&f, LIST_ALL, 200, LIST("10", "", POD("p1", "1", "n1")), 0, 0);
    expect(&f, WATCH_ALL, 200, events, 4096, 0);
    expect_quiet_watch(&f);
    start(&f);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(f.nchanges, 3);
    CU_ASSERT_STRING_EQUAL(f.log, "ADD default/p1 1;ADD default/p3 3;ADD default/p4 4;");
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 2);
    ifx_cleanup(&f);

    /* The same informer started again after a stop. */
    ifx_init(&f);
    opts_init(&f, &o);
    make(&f, &o, NULL);
    f.stop_after = 1;
    expect(&f, LIST_ALL, 200, LIST("10", "", POD("p1", "1", "n1") "," POD("p2", "2", "n1")), 0, 0);
    expect(&f, LIST_ALL, 200, LIST("20", "", POD("p2", "2", "n1") "," POD("p3", "3", "n1")), 0, 0);
    expect_quiet_watch(&f);
    start(&f);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_STRING_EQUAL(f.log, "ADD default/p1 1;");
    f.stop_after = 0;
    f.log[0] = '\0';
    start(&f);
    pump_requests(&f, 3);
    /* p2 was never stored (stopped before it): added now; p1 gone; p3 new. */
    CU_ASSERT_STRING_EQUAL(f.log, "ADD default/p2 2;ADD default/p3 3;DEL default/p1 1;");
    CU_ASSERT_TRUE(mirror_matches(&f));
    ifx_cleanup(&f);
}

static void test_free_in_handler(void)
{
    static const char events[] = EV("ADDED", POD("p3", "3", "n1")) EV("ADDED", POD("p4", "4", "n1"));
    struct ifx f;
    struct core_err err;
    struct k8s_informer_opts o;

    ifx_init(&f);
    opts_init(&f, &o);
    make(&f, &o, NULL);
    CU_ASSERT_EQUAL(k8s_informer_add_index(f.inf, "node", index_node_json), 0);
    f.free_after = 2;
    expect(&f, LIST_ALL, 200, LIST("10", "", POD("p1", "1", "n1")), 0, 0);
    expect(&f, WATCH_ALL, 200, events, 4096, 0);
    expect_quiet_watch(&f);
    start(&f);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(f.nchanges, 2);
    CU_ASSERT_PTR_NULL(f.inf);
    ifx_cleanup(&f);

    /* In the middle of the list. */
    ifx_init(&f);
    opts_init(&f, &o);
    make(&f, &o, NULL);
    f.free_after = 1;
    expect(&f, LIST_ALL, 200, LIST("10", "", POD("p1", "1", "n1") "," POD("p2", "2", "n1")), 0, 0);
    start(&f);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(f.nchanges, 1);
    ifx_cleanup(&f);
}

static void test_stop_while_listing_and_client_free(void)
{
    struct ifx f;
    struct core_err err;
    struct k8s_informer_opts o;

    /* Stopped with the list in flight: its answer is dropped, nothing is called. */
    ifx_init(&f);
    opts_init(&f, &o);
    make(&f, &o, NULL);
    expect(&f, LIST_ALL, 200, LIST("10", "", POD("p1", "1", "n1")), 0, 5 * S);
    start(&f);
    CU_ASSERT_EQUAL(k8s_informer_start(f.inf, &err), CORE_E_STATE);
    k8s_informer_stop(f.inf);
    k8s_informer_free(f.inf);
    f.inf = NULL;
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(f.nchanges, 0);
    CU_ASSERT_EQUAL(f.nerr, 0);
    ifx_cleanup(&f);

    /* The client shuts down under a running informer: one report, no retry. */
    ifx_init(&f);
    opts_init(&f, &o);
    make(&f, &o, NULL);
    expect(&f, LIST_ALL, 200, LIST("10", "", POD("p1", "1", "n1")), 0, 0);
    expect_quiet_watch(&f);
    start(&f);
    pump_requests(&f, 2);
    k8s_client_free(f.c);
    f.c = NULL;
    CU_ASSERT_EQUAL(f.nerr, 1);
    CU_ASSERT_EQUAL(f.errs[0].code, CORE_E_CANCELLED);
    CU_ASSERT_EQUAL(core_loop_timer_count(f.loop), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(f.nerr, 1);
    ifx_cleanup(&f);

    /* NULL everywhere. */
    k8s_informer_free(NULL);
    k8s_informer_stop(NULL);
    CU_ASSERT_EQUAL(k8s_informer_len(NULL), 0);
    CU_ASSERT_FALSE(k8s_informer_synced(NULL));
    CU_ASSERT_PTR_NULL(k8s_informer_get(NULL, "x"));
}

/* ---- allocation failures -------------------------------------------------------------------------- */

static int synced_and_watched(struct ifx *f)
{
    return f->inf && k8s_informer_synced(f->inf) && k8s_informer_len(f->inf) == 3 &&
           k8s_informer_get(f->inf, "default/p3") != NULL &&
           k8s_informer_get(f->inf, "default/p1") == NULL;
}

static void test_alloc_failures(void)
{
    static const char events[] = EV("MODIFIED", POD("p2", "12", "n2")) BOOKMARK("15")
        EV("ADDED", POD("p3", "16", "n2")) EV("DELETED", POD("p1", "17", "n1"))
        EV("ADDED", POD("p4", "18", "n3"));
    for (unsigned long n = 1;; n++) {
        struct ifx f;
        struct k8s_informer_opts o;
        struct core_err err;
        unsigned long failed;
        int rc;

        ifx_init(&f);
        opts_init(&f, &o);
        o.backoff_base = 100 * MS;
        o.backoff_cap = 1 * S;
        expect(&f, LIST_ALL, 200,
               LIST("10", "", POD("p1", "1", "n1") "," POD("p2", "2", "n1")), 0, 0);
        expect(&f, WATCH_ALL, 200, events, 7, 0);
        expect_quiet_watch(&f);
        core_alloc_fail_after(n);
        rc = k8s_informer_new(f.c, &k8s_res_pods, &o, &f.inf, &err);
        if (rc == 0)
            rc = k8s_informer_add_handler(f.inf, on_change, &f);
        if (rc == 0)
            rc = k8s_informer_add_index(f.inf, "node", index_node_json);
        if (rc == 0)
            rc = k8s_informer_start(f.inf, &err);
        if (rc == 0)
            pump(&f, synced_and_watched, 120 * S);
        failed = core_alloc_failures(); /* read before the reset below clears it */
        core_alloc_fail_after(0);
        if (failed == 0) {
            /* Nothing failed: the whole cycle must have worked. */
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_TRUE(synced_and_watched(&f));
            CU_ASSERT_STRING_EQUAL(index_keys(&f, "node", "n2"), "default/p2,default/p3");
            CU_ASSERT_TRUE(mirror_matches(&f));
            CU_ASSERT_EQUAL(f.nerr, 0);
            ifx_cleanup(&f);
            break;
        }
        /* A clean refusal, or a store that still agrees with every notification made. */
        CU_ASSERT(rc != 0 || mirror_matches(&f));
        if (rc == 0 && f.inf && f.nerr > 0)
            CU_ASSERT_EQUAL(f.errs[0].code, CORE_E_NOMEM);
        ifx_cleanup(&f);
        CU_ASSERT_FATAL(n < 5000);
    }
}

TESTS_SUITE(k8s_informer, "k8s_informer", NULL, NULL, TESTS_CASE(test_initial_list_two_pages),
            TESTS_CASE(test_watch_updates_store_and_indexes),
            TESTS_CASE(test_rewatch_from_bookmark), TESTS_CASE(test_empty_watches_back_off),
            TESTS_CASE(test_relist_after_410), TESTS_CASE(test_410_without_progress_backs_off),
            TESTS_CASE(test_list_500_backoff), TESTS_CASE(test_decode_errors),
            TESTS_CASE(test_stop_in_handler), TESTS_CASE(test_free_in_handler),
            TESTS_CASE(test_stop_while_listing_and_client_free),
            TESTS_CASE(test_alloc_failures))
