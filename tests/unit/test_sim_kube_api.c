/*
 * tests/unit/test_sim_kube_api.c — the emulated Kubernetes API over HTTP, driven by stoker's
 * own k8s client (the in-process transport, virtual time): discovery, get and list with
 * selectors and paging, create / update / patch / delete with their Status errors, the status
 * subresource, watches from a resourceVersion with bookmarks, 410 for a version that left the
 * history, and a real-HTTP watch through the loopback server and curl.
 */
#include "tests/unit/harness.h"

#include "core/core.h"
#include "k8s/k8s.h"
#include "sim/sim.h"

#include <string.h>

#define S CORE_NS_PER_S

struct res {
    int done;
    int rc;
    long http;
    char reason[64];
    json_t *obj;
};

static void on_done(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct res *r = ud;
    r->done = 1;
    r->rc = rc;
    r->http = err ? err->http_status : 0;
    core_strlcpy(r->reason, err ? err->service_code : "", sizeof r->reason);
    json_decref(r->obj);
    r->obj = obj ? json_incref(obj) : NULL;
}

struct fx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct sim_kube *k;
    struct core_http_transport *t;
    struct k8s_client *c;
};

static void fx_init(struct fx *f, const struct sim_kube_opts *o)
{
    struct k8s_config cfg;
    struct sim_kube_opts def;
    struct core_err err;

    memset(f, 0, sizeof *f);
    memset(&cfg, 0, sizeof cfg);
    if (!o) {
        sim_kube_opts_default(&def);
        o = &def;
    }
    cfg.server = "http://127.0.0.1";
    f->clock = core_clock_virtual_new(0, INT64_C(1795352400) * S);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(f->clock, NULL, &f->loop, &err), 0);
    CU_ASSERT_EQUAL_FATAL(sim_kube_new(f->loop, o, &f->k, &err), 0);
    CU_ASSERT_EQUAL_FATAL(sim_transport_new(f->loop, sim_kube_handle, f->k, &f->t, &err), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_client_new(f->loop, f->t, &cfg, NULL, NULL, &f->c, &err), 0);
}

static void fx_cleanup(struct fx *f)
{
    k8s_client_free(f->c);
    sim_kube_free(f->k);
    core_http_transport_free(f->t);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

static void wait_res(struct fx *f, struct res *r)
{
    CU_ASSERT_EQUAL(core_loop_run_until(f->loop, &r->done, core_loop_now(f->loop) + 600 * S,
                                        NULL), 0);
    CU_ASSERT_EQUAL(r->done, 1);
}

static void res_reset(struct res *r)
{
    json_decref(r->obj);
    memset(r, 0, sizeof *r);
}

static json_t *pod(const char *name, const char *app)
{
    return json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1",
                     "kind", "Pod", "metadata", "name", name, "labels", "app", app, "spec",
                     "containers", "name", "c", "image", "busybox");
}

static void create_pod(struct fx *f, const char *name, const char *app, struct res *r)
{
    json_t *p = pod(name, app);
    res_reset(r);
    CU_ASSERT_EQUAL_FATAL(k8s_create(f->c, &k8s_res_pods, "default", p, on_done, r, NULL), 0);
    json_decref(p);
    wait_res(f, r);
}

static const char *str_at(const json_t *o, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(o, a), b));
}

static void test_discovery(void)
{
    struct fx f;
    struct res r;

    fx_init(&f, NULL);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL(k8s_request(f.c, "GET", "/version", NULL, NULL, NULL, 0, on_done, &r,
                                NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r.obj, "major")), "1");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r.obj, "minor")), "31");
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_request(f.c, "GET", "/api/v1", NULL, NULL, NULL, 0, on_done, &r,
                                NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    {
        json_t *list = json_object_get(r.obj, "resources"), *e;
        size_t i;
        int pods = 0, status = 0, binding = 0;
        json_array_foreach(list, i, e) {
            const char *n = json_string_value(json_object_get(e, "name"));
            pods += strcmp(n, "pods") == 0;
            status += strcmp(n, "pods/status") == 0;
            binding += strcmp(n, "pods/binding") == 0;
        }
        CU_ASSERT_EQUAL(pods + status + binding, 3);
    }
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_request(f.c, "GET", "/apis", NULL, NULL, NULL, 0, on_done, &r, NULL),
                    0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT(json_array_size(json_object_get(r.obj, "groups")) >= 4);
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_request(f.c, "GET", "/openapi/v2", NULL, NULL, NULL, 0, on_done, &r,
                                NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_NOTFOUND);
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_request(f.c, "GET", "/api/v1/frobs", NULL, NULL, NULL, 0, on_done, &r,
                                NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.http, 404);
    res_reset(&r);
    fx_cleanup(&f);
}

static void test_crud(void)
{
    struct fx f;
    struct res r;
    char rv[32];
    json_t *p, *patch;

    fx_init(&f, NULL);
    memset(&r, 0, sizeof r);
    create_pod(&f, "web-1", "web", &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_PTR_NOT_NULL(str_at(r.obj, "metadata", "uid"));
    core_strlcpy(rv, str_at(r.obj, "metadata", "resourceVersion"), sizeof rv);
    create_pod(&f, "web-1", "web", &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_CONFLICT);
    CU_ASSERT_EQUAL(r.http, 409);
    CU_ASSERT_STRING_EQUAL(r.reason, "AlreadyExists");
    create_pod(&f, "Bad_Name", "web", &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_INVAL);
    CU_ASSERT_EQUAL(r.http, 422);
    CU_ASSERT_STRING_EQUAL(r.reason, "Invalid");

    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_get(f.c, &k8s_res_pods, "default", "nope", on_done, &r, NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_NOTFOUND);
    CU_ASSERT_STRING_EQUAL(r.reason, "NotFound");

    /* Merge patch, then an update with a stale resourceVersion: 409 Conflict. */
    res_reset(&r);
    patch = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "tier", "front");
    CU_ASSERT_EQUAL(k8s_patch(f.c, &k8s_res_pods, "default", "web-1", NULL, K8S_PATCH_MERGE,
                              patch, on_done, &r, NULL), 0);
    json_decref(patch);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
                               json_object_get(json_object_get(r.obj, "metadata"), "labels"),
                               "tier")), "front");
    p = pod("web-1", "web");
    json_object_set_new(json_object_get(p, "metadata"), "resourceVersion", json_string(rv));
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_update(f.c, &k8s_res_pods, "default", "web-1", NULL, p, on_done, &r,
                               NULL), 0);
    json_decref(p);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_CONFLICT);
    CU_ASSERT_STRING_EQUAL(r.reason, "Conflict");

    /* Status subresource: a JSON patch of status.phase through /status. */
    res_reset(&r);
    patch = json_pack("[{s:s, s:s, s:{s:s}}]", "op", "add", "path", "/status", "value",
                      "phase", "Running");
    CU_ASSERT_EQUAL(k8s_patch(f.c, &k8s_res_pods, "default", "web-1", "status", K8S_PATCH_JSON,
                              patch, on_done, &r, NULL), 0);
    json_decref(patch);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_STRING_EQUAL(str_at(r.obj, "status", "phase"), "Running");

    /* An unknown patch type: 415. */
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_request(f.c, "PATCH", "/api/v1/namespaces/default/pods/web-1", NULL,
                                "text/plain", "x", 1, on_done, &r, NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.http, 415);
    CU_ASSERT_STRING_EQUAL(r.reason, "UnsupportedMediaType");
    /* Malformed JSON: 400. */
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_request(f.c, "POST", "/api/v1/namespaces/default/pods", NULL, NULL,
                                "{", 1, on_done, &r, NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.http, 400);

    /* Delete: answered with the object; then it is gone. */
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_delete(f.c, &k8s_res_pods, "default", "web-1", NULL, on_done, &r, NULL),
                    0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_STRING_EQUAL(str_at(r.obj, "metadata", "name"), "web-1");
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_get(f.c, &k8s_res_pods, "default", "web-1", on_done, &r, NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_NOTFOUND);
    res_reset(&r);
    fx_cleanup(&f);
}

static void test_list_paging(void)
{
    struct fx f;
    struct res r;
    struct k8s_list_opts lo;
    char name[32], q[4096];
    const char *cont;

    fx_init(&f, NULL);
    memset(&r, 0, sizeof r);
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "p-%d", i);
        create_pod(&f, name, i % 2 ? "odd" : "even", &r);
        CU_ASSERT_EQUAL(r.rc, 0);
    }
    /* One page by hand: a continue token, then the rest with it. */
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_request(f.c, "GET", "/api/v1/namespaces/default/pods", "limit=2", NULL,
                                NULL, 0, on_done, &r, NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(r.obj, "items")), 2);
    cont = str_at(r.obj, "metadata", "continue");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cont);
    snprintf(q, sizeof q, "limit=10&continue=%s", cont);
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_request(f.c, "GET", "/api/v1/namespaces/default/pods", q, NULL, NULL, 0,
                                on_done, &r, NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(r.obj, "items")), 3);
    CU_ASSERT_PTR_NULL(str_at(r.obj, "metadata", "continue"));
    /* A token that is not ours: 400. */
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_request(f.c, "GET", "/api/v1/pods", "continue=%21%21", NULL, NULL, 0,
                                on_done, &r, NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.http, 400);

    /* The client follows continue over pages of 2, with a selector (percent-encoded). */
    memset(&lo, 0, sizeof lo);
    lo.limit = 1;
    lo.label_selector = "app in (even)";
    res_reset(&r);
    CU_ASSERT_EQUAL(k8s_list(f.c, &k8s_res_pods, NULL, &lo, on_done, &r, NULL), 0);
    wait_res(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(r.obj, "items")), 3);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r.obj, "kind")), "PodList");
    res_reset(&r);
    fx_cleanup(&f);
}

/* An Invalid Status carries details.causes per field, which kubectl prints (without them it
 * says only "The request is invalid"). */
static void test_invalid_status_details(void)
{
    struct fx f;
    struct sim_header h = {"Content-Type", "application/json"};
    struct sim_http_req req;
    struct core_http_response resp;
    core_ns delay;
    const char *body = "{\"apiVersion\":\"stoker.dev/v1alpha1\",\"kind\":\"NodePool\","
                       "\"metadata\":{\"name\":\"broken\"},\"spec\":{\"weight\":1000,"
                       "\"template\":{\"spec\":{\"nodeClassRef\":{\"group\":\"stoker.dev\","
                       "\"kind\":\"EC2NodeClass\",\"name\":\"x\"},\"requirements\":[{"
                       "\"key\":\"a\",\"operator\":\"Equals\"}]}}}}";
    json_t *doc, *d, *causes;
    json_error_t je;

    fx_init(&f, NULL);
    CU_ASSERT_EQUAL_FATAL(sim_kube_load_builtin_crds(f.k, NULL), 0);
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.target = "/apis/stoker.dev/v1alpha1/nodepools";
    req.headers = &h;
    req.nheaders = 1;
    req.body = body;
    req.body_len = strlen(body);
    memset(&resp, 0, sizeof resp);
    core_buf_init(&resp.body, 1u << 20);
    sim_kube_handle(f.k, &req, &resp, &delay);
    CU_ASSERT_EQUAL(resp.status, 422);
    doc = json_loadb(resp.body.data, resp.body.len, 0, &je);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    d = json_object_get(doc, "details");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "kind")), "NodePool");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "group")), "stoker.dev");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "name")), "broken");
    causes = json_object_get(d, "causes");
    CU_ASSERT_EQUAL_FATAL(json_array_size(causes), 2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(causes, 0), "field")),
                           "spec.weight");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_array_get(causes, 1), "field")),
        "spec.template.spec.requirements[0].operator");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_array_get(causes, 1), "reason")),
        "FieldValueNotSupported");
    CU_ASSERT(strncmp(json_string_value(json_object_get(json_array_get(causes, 1), "message")),
                      "Unsupported value: \"Equals\": supported values: \"In\", ", 45) == 0);
    json_decref(doc);
    core_http_response_cleanup(&resp);
    fx_cleanup(&f);
}

/* ---- watches ------------------------------------------------------------------------------- */

struct wres {
    int added, modified, deleted, bookmarks;
    char last_name[64];
    int done;
    int rc;
    long http;
};

static void w_event(void *ud, enum k8s_event_type type, json_t *obj)
{
    struct wres *w = ud;
    const char *n = str_at(obj, "metadata", "name");
    switch (type) {
    case K8S_ADDED: w->added++; break;
    case K8S_MODIFIED: w->modified++; break;
    case K8S_DELETED: w->deleted++; break;
    case K8S_BOOKMARK: w->bookmarks++; break;
    default: break;
    }
    if (n)
        core_strlcpy(w->last_name, n, sizeof w->last_name);
}

static void w_done(void *ud, int rc, const struct core_err *err)
{
    struct wres *w = ud;
    w->done = 1;
    w->rc = rc;
    w->http = err ? err->http_status : 0;
}

static void create_timer(void *ud)
{
    struct fx *f = ud;
    json_t *p = pod("late", "web");
    CU_ASSERT_EQUAL(sim_kube_create(f->k, "pods", "default", p, NULL, NULL), 0);
    json_decref(p);
}

static void test_watch(void)
{
    struct fx f;
    struct sim_kube_opts o;
    struct res r;
    struct wres w;
    struct k8s_watch *kw = NULL;
    struct k8s_watch_opts wo;
    char rv[32];
    core_ns t0;

    sim_kube_opts_default(&o);
    o.bookmark_interval = 10 * S;
    fx_init(&f, &o);
    memset(&r, 0, sizeof r);
    create_pod(&f, "early", "web", &r);
    create_pod(&f, "other", "db", &r);
    core_strlcpy(rv, str_at(r.obj, "metadata", "resourceVersion"), sizeof rv);

    /* From the version of "other": only later changes, filtered by the selector. */
    memset(&w, 0, sizeof w);
    memset(&wo, 0, sizeof wo);
    wo.resource_version = rv;
    wo.label_selector = "app=web";
    wo.timeout_seconds = 35;
    CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(f.loop, 5 * S, create_timer, &f));
    t0 = core_loop_now(f.loop);
    CU_ASSERT_EQUAL_FATAL(k8s_watch_start(f.c, &k8s_res_pods, "default", &wo, w_event, w_done,
                                          &w, &kw, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &w.done, t0 + 600 * S, NULL), 0);
    CU_ASSERT_EQUAL(w.rc, 0); /* ended by timeoutSeconds */
    CU_ASSERT_EQUAL(w.added, 1);
    CU_ASSERT_STRING_EQUAL(w.last_name, "late");
    CU_ASSERT_EQUAL(w.bookmarks, 3); /* at 10, 20 and 30 s */
    CU_ASSERT(core_loop_now(f.loop) - t0 >= 35 * S);

    /* Without a version: the current objects first, as ADDED. */
    memset(&w, 0, sizeof w);
    wo.resource_version = NULL;
    wo.timeout_seconds = 1;
    CU_ASSERT_EQUAL_FATAL(k8s_watch_start(f.c, &k8s_res_pods, "default", &wo, w_event, w_done,
                                          &w, &kw, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &w.done, core_loop_now(f.loop) + 600 * S,
                                        NULL), 0);
    CU_ASSERT_EQUAL(w.added, 2); /* early and late */
    res_reset(&r);
    fx_cleanup(&f);
}

/* Resuming a selector watch from an older version: an object that left the selection since
 * is DELETED, one that changed but still matches MODIFIED (not ADDED). */
static void test_watch_selector_resume(void)
{
    struct fx f;
    struct res r;
    struct wres w;
    struct k8s_watch *kw = NULL;
    struct k8s_watch_opts wo;
    char rv[32];
    json_t *p;

    fx_init(&f, NULL);
    memset(&r, 0, sizeof r);
    create_pod(&f, "leaves", "web", &r);
    res_reset(&r);
    create_pod(&f, "stays", "web", &r);
    core_strlcpy(rv, str_at(r.obj, "metadata", "resourceVersion"), sizeof rv);
    p = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "app", "db");
    CU_ASSERT_EQUAL(sim_kube_patch(f.k, "pods", "default", "leaves", p, 0, NULL, NULL), 0);
    json_decref(p);
    p = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", "x", "y");
    CU_ASSERT_EQUAL(sim_kube_patch(f.k, "pods", "default", "stays", p, 0, NULL, NULL), 0);
    json_decref(p);
    memset(&w, 0, sizeof w);
    memset(&wo, 0, sizeof wo);
    wo.resource_version = rv;
    wo.label_selector = "app=web";
    wo.timeout_seconds = 1;
    CU_ASSERT_EQUAL_FATAL(k8s_watch_start(f.c, &k8s_res_pods, "default", &wo, w_event, w_done,
                                          &w, &kw, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &w.done, core_loop_now(f.loop) + 600 * S,
                                        NULL), 0);
    CU_ASSERT_EQUAL(w.deleted, 1);
    CU_ASSERT_EQUAL(w.modified, 1);
    CU_ASSERT_EQUAL(w.added, 0);
    res_reset(&r);
    fx_cleanup(&f);
}

static void set_flag(void *ud)
{
    *(int *)ud = 1;
}

static void test_watch_gone(void)
{
    struct fx f;
    struct sim_kube_opts o;
    struct res r;
    struct wres w;
    struct k8s_watch *kw = NULL;
    struct k8s_watch_opts wo;
    char rv[32];
    int tick = 0;

    sim_kube_opts_default(&o);
    o.history_window = 2 * S;
    fx_init(&f, &o);
    memset(&r, 0, sizeof r);
    create_pod(&f, "a", "web", &r);
    core_strlcpy(rv, str_at(r.obj, "metadata", "resourceVersion"), sizeof rv);
    create_pod(&f, "b", "web", &r);
    /* Let the history window pass, then write again so the old events are pruned. */
    CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(f.loop, 10 * S, set_flag, &tick));
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &tick, core_loop_now(f.loop) + 20 * S, NULL),
                    0);
    create_pod(&f, "c", "web", &r);
    memset(&w, 0, sizeof w);
    memset(&wo, 0, sizeof wo);
    wo.resource_version = rv;
    CU_ASSERT_EQUAL_FATAL(k8s_watch_start(f.c, &k8s_res_pods, NULL, &wo, w_event, w_done, &w,
                                          &kw, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &w.done, core_loop_now(f.loop) + 60 * S, NULL),
                    0);
    CU_ASSERT_EQUAL(w.rc, CORE_E_STATE);
    CU_ASSERT_EQUAL(w.http, 410);
    CU_ASSERT_EQUAL(w.added, 0);
    res_reset(&r);
    fx_cleanup(&f);
}

/* ---- real HTTP: the loopback server and curl --------------------------------------------- */

static void test_real_http_watch(void)
{
    struct core_clock *clock = core_clock_real_new();
    struct core_loop *loop = NULL;
    struct core_http_transport *curl = NULL;
    struct sim_server *srv = NULL;
    struct sim_server_opts so = {"127.0.0.1", 0, 0};
    struct sim_kube *k = NULL;
    struct sim_kube_opts o;
    struct k8s_client *c = NULL;
    struct k8s_config cfg;
    struct k8s_watch *kw = NULL;
    struct k8s_watch_opts wo;
    struct wres w;
    struct res r;
    char server[64];
    json_t *p;

    CU_ASSERT_PTR_NOT_NULL_FATAL(clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(clock, NULL, &loop, NULL), 0);
    sim_kube_opts_default(&o);
    CU_ASSERT_EQUAL_FATAL(sim_kube_new(loop, &o, &k, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(sim_server_new(loop, &so, sim_kube_handle, k, &srv, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(core_http_curl_new(loop, NULL, &curl, NULL), 0);
    snprintf(server, sizeof server, "http://127.0.0.1:%u", (unsigned)sim_server_port(srv));
    memset(&cfg, 0, sizeof cfg);
    cfg.server = server;
    CU_ASSERT_EQUAL_FATAL(k8s_client_new(loop, curl, &cfg, NULL, NULL, &c, NULL), 0);

    memset(&w, 0, sizeof w);
    memset(&wo, 0, sizeof wo);
    memset(&r, 0, sizeof r);
    wo.resource_version = "0";
    wo.timeout_seconds = 60;
    CU_ASSERT_EQUAL_FATAL(k8s_watch_start(c, &k8s_res_pods, "default", &wo, w_event, w_done, &w,
                                          &kw, NULL), 0);
    /* Let the watch open, then create: the event arrives while the stream stays open. */
    {
        core_ns end = core_loop_now(loop) + 300 * CORE_NS_PER_MS;
        while (core_loop_now(loop) < end)
            if (core_loop_run_once(loop, 10 * CORE_NS_PER_MS, NULL) < 0)
                break;
    }
    p = pod("live", "web");
    CU_ASSERT_EQUAL(k8s_create(c, &k8s_res_pods, "default", p, on_done, &r, NULL), 0);
    json_decref(p);
    CU_ASSERT_EQUAL(core_loop_run_until(loop, &w.added, core_loop_now(loop) + 10 * S, NULL), 0);
    CU_ASSERT_EQUAL(w.added, 1);
    CU_ASSERT_STRING_EQUAL(w.last_name, "live");
    CU_ASSERT_EQUAL(w.done, 0);
    CU_ASSERT_EQUAL(r.rc, 0);
    k8s_watch_stop(kw);
    res_reset(&r);
    k8s_client_free(c);
    sim_server_free(srv);
    sim_kube_free(k);
    core_http_transport_free(curl);
    core_loop_free(loop);
    core_clock_free(clock);
}

TESTS_SUITE(sim_kube_api, "sim_kube_api", NULL, NULL, TESTS_CASE(test_discovery),
            TESTS_CASE(test_crud), TESTS_CASE(test_invalid_status_details), TESTS_CASE(test_list_paging), TESTS_CASE(test_watch), TESTS_CASE(test_watch_selector_resume),
            TESTS_CASE(test_watch_gone), TESTS_CASE(test_real_http_watch))
