/*
 * tests/unit/test_k8s_client.c — Kubernetes requests on the scripted transport and a virtual
 * clock: paths, each request kind's method/query/headers/body, Status errors, retries (429 with
 * Retry-After, 5xx only for GET, never for a PDB-refused eviction), paginated lists, the QPS
 * limiter, streams, cancellation on free, allocation failures.
 */
#include "tests/unit/harness.h"

#include "k8s/internal.h"

#include <string.h>

#define MS CORE_NS_PER_MS
#define S CORE_NS_PER_S

struct kfx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct core_http_script *script;
    struct k8s_client *c;
};

struct kres {
    int done, calls, rc;
    core_ns at;
    struct core_err err;
    char name[128];
    size_t nitems;
    struct core_loop *loop;
};

static void kfx_init_opts(struct kfx *f, const struct k8s_client_opts *o)
{
    struct k8s_config cfg;
    struct core_err err;
    memset(f, 0, sizeof *f);
    memset(&cfg, 0, sizeof cfg);
    cfg.server = "https://k8s.test/";
    f->clock = core_clock_virtual_new(0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(f->clock, NULL, &f->loop, &err), 0);
    CU_ASSERT_EQUAL_FATAL(core_http_script_new(f->loop, &f->script, &err), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_client_new(f->loop, core_http_script_transport(f->script), &cfg,
                                         NULL, o, &f->c, &err), 0);
}

static void kfx_init(struct kfx *f)
{
    kfx_init_opts(f, NULL);
}

static void kfx_cleanup(struct kfx *f)
{
    k8s_client_free(f->c);
    core_http_script_free(f->script);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

static void expect(struct kfx *f, const char *method, const char *url, long status,
                   const char *body, const char *hdr)
{
    struct core_http_script_step st;
    const char *h[1] = {hdr};
    memset(&st, 0, sizeof st);
    st.method = method;
    st.url = url;
    st.status = status;
    st.body = body;
    st.headers = hdr ? h : NULL;
    st.nheaders = hdr ? 1 : 0;
    st.chunk = 5;
    CU_ASSERT_EQUAL_FATAL(core_http_script_expect(f->script, &st), 0);
}

static void on_done(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct kres *r = ud;
    r->done = 1;
    r->calls++;
    r->rc = rc;
    r->at = r->loop ? core_loop_now(r->loop) : 0;
    if (err)
        r->err = *err;
    if (obj) {
        const char *n = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
        json_t *items = json_object_get(obj, "items");
        core_strlcpy(r->name, n ? n : "", sizeof r->name);
        r->nitems = json_array_size(items);
    }
}

static void run(struct kfx *f, struct kres *r)
{
    struct core_err err;
    CU_ASSERT_EQUAL(core_loop_run_until(f->loop, &r->done, core_loop_now(f->loop) + 3600 * S,
                                        &err), 0);
}

static const struct core_http_script_request *req(struct kfx *f, size_t i)
{
    return core_http_script_request(f->script, i);
}

static const char pod_p1[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p1\",\"namespace\":\"default\"}}";
static const char not_found[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":"
    "\"pods \\\"p1\\\" not found\",\"reason\":\"NotFound\",\"details\":{\"name\":\"p1\","
    "\"kind\":\"pods\"},\"code\":404}";

static void test_paths(void)
{
    struct core_buf b;
    struct core_err err;
    core_buf_init(&b, 1024);
    CU_ASSERT_EQUAL(k8s_resource_path(&k8s_res_pods, "default", "p1", "eviction", &b, &err), 0);
    CU_ASSERT_STRING_EQUAL(b.data, "/api/v1/namespaces/default/pods/p1/eviction");
    core_buf_reset(&b);
    CU_ASSERT_EQUAL(k8s_resource_path(&k8s_res_pods, NULL, NULL, NULL, &b, &err), 0);
    CU_ASSERT_STRING_EQUAL(b.data, "/api/v1/pods");
    core_buf_reset(&b);
    CU_ASSERT_EQUAL(k8s_resource_path(&k8s_res_nodeclaims, "ignored", "c-1", "status", &b, &err), 0);
    CU_ASSERT_STRING_EQUAL(b.data, "/apis/stoker.dev/v1alpha1/nodeclaims/c-1/status");
    core_buf_reset(&b);
    CU_ASSERT_EQUAL(k8s_resource_path(&k8s_res_leases, "kube-system", "stoker", NULL, &b, &err), 0);
    CU_ASSERT_STRING_EQUAL(b.data, "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/stoker");
    core_buf_reset(&b);
    const char *bad[] = {"../etc", "a/b", "Upper", "", "a?b", "-a", "a..b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(k8s_resource_path(&k8s_res_pods, "default", bad[i], NULL, &b, &err),
                        CORE_E_INVAL);
        CU_ASSERT_EQUAL(b.len, 0);
    }
    CU_ASSERT_EQUAL(k8s_resource_path(&k8s_res_pods, "default", "p", "a/b", &b, &err), CORE_E_INVAL);
    core_buf_cleanup(&b);
}

static void test_status_decode(void)
{
    struct core_err err;
    json_t *st = json_loads(not_found, 0, NULL);
    CU_ASSERT_EQUAL(k8s_status_decode(st, 500, &err), CORE_E_NOTFOUND); /* code wins */
    CU_ASSERT_EQUAL(err.http_status, 404);
    CU_ASSERT_STRING_EQUAL(err.service_code, "NotFound");
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "pods \"p1\" not found"));
    json_decref(st);
    CU_ASSERT_EQUAL(k8s_status_decode(NULL, 409, &err), CORE_E_CONFLICT);
    CU_ASSERT_EQUAL(k8s_status_decode(NULL, 410, &err), CORE_E_STATE);
    CU_ASSERT_EQUAL(k8s_status_decode(NULL, 403, &err), CORE_E_AUTH);
    CU_ASSERT_EQUAL(k8s_status_decode(NULL, 422, &err), CORE_E_INVAL);
}

static void test_https_required(void)
{
    struct k8s_config cfg;
    struct k8s_client *c = NULL;
    struct core_err err;
    memset(&cfg, 0, sizeof cfg);
    cfg.server = "http://k8s.test";
    CU_ASSERT_EQUAL(k8s_client_new(NULL, NULL, &cfg, NULL, NULL, &c, &err), CORE_E_INVAL);
    CU_ASSERT_PTR_NULL(c);
    cfg.server = "http://127.0.0.1.evil.example";
    CU_ASSERT_EQUAL(k8s_client_new(NULL, NULL, &cfg, NULL, NULL, &c, &err), CORE_E_INVAL);
    {
        struct core_clock *clock = core_clock_virtual_new(0, 0);
        struct core_loop *loop = NULL;
        CU_ASSERT_EQUAL_FATAL(core_loop_new(clock, NULL, &loop, &err), 0);
        cfg.server = "http://127.0.0.1:6443";
        CU_ASSERT_EQUAL(k8s_client_new(loop, NULL, &cfg, NULL, NULL, &c, &err), 0);
        k8s_client_free(c);
        core_loop_free(loop);
        core_clock_free(clock);
    }
}

static void test_get_and_not_found(void)
{
    struct kfx f;
    struct kres r;
    struct core_err err;
    kfx_init(&f);
    expect(&f, "GET", "https://k8s.test/api/v1/namespaces/default/pods/p1", 200, pod_p1, NULL);
    expect(&f, "GET", "https://k8s.test/api/v1/namespaces/default/pods/p1", 404, not_found, NULL);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(k8s_get(f.c, &k8s_res_pods, "default", "p1", on_done, &r, &err), 0);
    CU_ASSERT_EQUAL(r.done, 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_STRING_EQUAL(r.name, "p1");
    CU_ASSERT_STRING_EQUAL(core_http_script_request_header(req(&f, 0), "accept"), "application/json");
    CU_ASSERT_PTR_NOT_NULL(strstr(core_http_script_request_header(req(&f, 0), "user-agent"), "stoker/"));
    CU_ASSERT_PTR_NULL(core_http_script_request_header(req(&f, 0), "authorization"));
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(k8s_get(f.c, &k8s_res_pods, "default", "p1", on_done, &r, &err), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_NOTFOUND);
    CU_ASSERT_EQUAL(r.err.http_status, 404);
    CU_ASSERT_STRING_EQUAL(r.err.service_code, "NotFound");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "GET /api/v1/namespaces/default/pods/p1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "pods \"p1\" not found"));
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 2); /* 404 is not retried */
    kfx_cleanup(&f);
}

static void test_writes(void)
{
    struct kfx f;
    struct kres r;
    struct core_err err;
    json_t *obj = json_loads("{\"metadata\":{\"name\":\"c-1\"},\"spec\":{}}", 0, NULL);
    json_t *patch = json_loads("{\"metadata\":{\"labels\":{\"a\":\"b\"}}}", 0, NULL);
    struct k8s_delete_opts dopt = {"uid-1", "42", K8S_PROPAGATE_BACKGROUND, 0};

    kfx_init(&f);
    expect(&f, "POST", "https://k8s.test/apis/stoker.dev/v1alpha1/nodeclaims?fieldManager=stoker",
           409, "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\",\"code\":409,\"message\":\"exists\"}",
           NULL);
    expect(&f, "PATCH", "https://k8s.test/api/v1/nodes/n1?fieldManager=stoker", 200,
           "{\"metadata\":{\"name\":\"n1\"}}", NULL);
    expect(&f, "PATCH",
           "https://k8s.test/apis/stoker.dev/v1alpha1/nodeclaims/c-1/status?fieldManager=stoker&force=true",
           200, "{\"metadata\":{\"name\":\"c-1\"}}", NULL);
    expect(&f, "DELETE", "https://k8s.test/api/v1/namespaces/default/pods/p1", 200, "{}", NULL);
    expect(&f, "PUT", "https://k8s.test/apis/stoker.dev/v1alpha1/nodeclaims/c-1?fieldManager=stoker",
           200, "{\"metadata\":{\"name\":\"c-1\"}}", NULL);

    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(k8s_create(f.c, &k8s_res_nodeclaims, NULL, obj, on_done, &r, &err), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_CONFLICT);
    CU_ASSERT_STRING_EQUAL(r.err.service_code, "AlreadyExists");
    CU_ASSERT_STRING_EQUAL(req(&f, 0)->body, "{\"metadata\":{\"name\":\"c-1\"},\"spec\":{}}");
    CU_ASSERT_STRING_EQUAL(core_http_script_request_header(req(&f, 0), "content-type"),
                           "application/json");

    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(k8s_patch(f.c, &k8s_res_nodes, NULL, "n1", NULL, K8S_PATCH_MERGE,
                                    patch, on_done, &r, &err), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_STRING_EQUAL(core_http_script_request_header(req(&f, 1), "content-type"),
                           "application/merge-patch+json");

    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(k8s_patch(f.c, &k8s_res_nodeclaims, NULL, "c-1", "status",
                                    K8S_PATCH_APPLY, obj, on_done, &r, &err), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_STRING_EQUAL(core_http_script_request_header(req(&f, 2), "content-type"),
                           "application/apply-patch+yaml");
    /* Strategic merge is refused for custom resources, before anything is sent. */
    CU_ASSERT_EQUAL(k8s_patch(f.c, &k8s_res_nodeclaims, NULL, "c-1", NULL, K8S_PATCH_STRATEGIC,
                              patch, on_done, &r, &err), CORE_E_INVAL);

    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(k8s_delete(f.c, &k8s_res_pods, "default", "p1", &dopt, on_done, &r,
                                     &err), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_STRING_EQUAL(req(&f, 3)->body,
                           "{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\",\"preconditions\":"
                           "{\"uid\":\"uid-1\",\"resourceVersion\":\"42\"},\"propagationPolicy\":"
                           "\"Background\",\"gracePeriodSeconds\":0}");

    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(k8s_update(f.c, &k8s_res_nodeclaims, NULL, "c-1", NULL, obj, on_done,
                                     &r, &err), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(core_http_script_pending(f.script), 0);
    json_decref(obj);
    json_decref(patch);
    kfx_cleanup(&f);
}

static void test_retries(void)
{
    struct kfx f;
    struct kres r;
    struct core_err err;
    static const char tmr[] = "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\",\"code\":429}";
    kfx_init(&f);
    /* 429 honours Retry-After. */
    expect(&f, "GET", NULL, 429, tmr, "Retry-After: 3");
    expect(&f, "GET", NULL, 200, pod_p1, NULL);
    memset(&r, 0, sizeof r);
    r.loop = f.loop;
    CU_ASSERT_EQUAL_FATAL(k8s_get(f.c, &k8s_res_pods, "default", "p1", on_done, &r, &err), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT(r.at >= 3 * S && r.at < 4 * S);
    /* 5xx: a GET is retried, a POST is not. */
    expect(&f, "GET", NULL, 503, "", NULL);
    expect(&f, "GET", NULL, 200, pod_p1, NULL);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(k8s_get(f.c, &k8s_res_pods, "default", "p1", on_done, &r, &err), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    expect(&f, "POST", NULL, 500, "{\"kind\":\"Status\",\"code\":500,\"message\":\"etcd\"}", NULL);
    memset(&r, 0, sizeof r);
    {
        json_t *empty = json_object();
        CU_ASSERT_EQUAL_FATAL(k8s_create(f.c, &k8s_res_pods, "default", empty, on_done, &r, &err),
                              0);
        json_decref(empty);
    }
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_HTTP);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 5);
    /* An eviction refused by a PodDisruptionBudget comes back at once. */
    expect(&f, "POST", "https://k8s.test/api/v1/namespaces/default/pods/p1/eviction", 429,
           "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\",\"code\":429,\"message\":"
           "\"Cannot evict pod as it would violate the pod's disruption budget.\"}",
           "Retry-After: 10");
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(k8s_evict(f.c, "default", "p1", on_done, &r, &err), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_THROTTLED);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.message, "disruption budget"));
    CU_ASSERT_PTR_NOT_NULL(strstr(req(&f, 5)->body, "\"kind\":\"Eviction\""));
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.script), 6);
    kfx_cleanup(&f);
}

static void test_list_pages(void)
{
    struct kfx f;
    struct kres r;
    struct core_err err;
    struct k8s_list_opts lo = {"app=web", "spec.nodeName=", 2, 0, "5"};
    kfx_init(&f);
    expect(&f, "GET",
           "https://k8s.test/api/v1/pods?limit=2&labelSelector=app%3Dweb&fieldSelector=spec.nodeName%3D&resourceVersion=5",
           200, "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"10\",\"continue\":\"c1\"},"
                "\"items\":[{\"metadata\":{\"name\":\"a\"}},{\"metadata\":{\"name\":\"b\"}}]}", NULL);
    expect(&f, "GET",
           "https://k8s.test/api/v1/pods?limit=2&labelSelector=app%3Dweb&fieldSelector=spec.nodeName%3D&continue=c1",
           200, "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"11\"},"
                "\"items\":[{\"metadata\":{\"name\":\"c\"}}]}", NULL);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(k8s_list(f.c, &k8s_res_pods, NULL, &lo, on_done, &r, &err), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.nitems, 3);
    CU_ASSERT_EQUAL(core_http_script_unexpected(f.script), 0);
    /* The page bound. */
    lo.max_pages = 1;
    expect(&f, "GET", NULL, 200, "{\"metadata\":{\"continue\":\"c1\"},\"items\":[]}", NULL);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(k8s_list(f.c, &k8s_res_pods, NULL, &lo, on_done, &r, &err), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_TOOBIG);
    /* A malformed list. */
    expect(&f, "GET", NULL, 200, "{\"items\":{}}", NULL);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(k8s_list(f.c, &k8s_res_pods, "default", NULL, on_done, &r, &err), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, CORE_E_PARSE);
    kfx_cleanup(&f);
}


static void test_body_with_nul_and_long_retry_after(void)
{
    struct kfx f;
    struct kres r;
    struct core_err err;
    static const char body[] = {'{', '"', 'a', '"', ':', '"', 'x', '\0', 'y', '"', '}'};
    kfx_init(&f);
    expect(&f, "POST", NULL, 429, "{\"kind\":\"Status\",\"code\":429}", "Retry-After: 120");
    expect(&f, "POST", NULL, 200, "{}", NULL);
    memset(&r, 0, sizeof r);
    r.loop = f.loop;
    CU_ASSERT_EQUAL_FATAL(k8s_request(f.c, "POST", "/api/v1/namespaces/default/configmaps", NULL,
                                      NULL, body, sizeof body, on_done, &r, &err), 0);
    run(&f, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.at, 60 * S); /* 120 s asked, capped at 60 s, never shortened to 1 s */
    CU_ASSERT_EQUAL(req(&f, 0)->body_len, sizeof body);
    CU_ASSERT_EQUAL(memcmp(req(&f, 1)->body, body, sizeof body), 0);
    kfx_cleanup(&f);
}

static void test_qps_limiter(void)
{
    struct kfx f;
    struct kres r[4];
    struct core_err err;
    struct k8s_client_opts o;
    memset(&o, 0, sizeof o);
    o.qps = 10;
    o.burst = 2;
    kfx_init_opts(&f, &o);
    for (int i = 0; i < 4; i++) {
        expect(&f, "GET", NULL, 200, pod_p1, NULL);
        memset(&r[i], 0, sizeof r[i]);
        r[i].loop = f.loop;
        CU_ASSERT_EQUAL_FATAL(k8s_get(f.c, &k8s_res_pods, "default", "p1", on_done, &r[i], &err), 0);
    }
    run(&f, &r[3]);
    CU_ASSERT_EQUAL(r[0].at, 0);
    CU_ASSERT_EQUAL(r[1].at, 0);
    CU_ASSERT_EQUAL(r[2].at, 100 * MS);
    CU_ASSERT_EQUAL(r[3].at, 200 * MS);
    kfx_cleanup(&f);
}

struct sres {
    int done, rc;
    struct core_err err;
    char got[256];
    size_t n;
    int pieces;
};

static int on_sdata(void *ud, const char *data, size_t len)
{
    struct sres *s = ud;
    if (len < sizeof s->got - s->n) {
        memcpy(s->got + s->n, data, len);
        s->n += len;
    }
    s->pieces++;
    return 0;
}

static void on_sdone(void *ud, int rc, const struct core_err *err)
{
    struct sres *s = ud;
    s->done = 1;
    s->rc = rc;
    if (err)
        s->err = *err;
}

static void test_stream(void)
{
    struct kfx f;
    struct sres s;
    struct k8s_stream *st = NULL;
    struct core_err err;
    kfx_init(&f);
    expect(&f, "GET", "https://k8s.test/api/v1/pods?watch=1", 200,
           "{\"type\":\"ADDED\",\"object\":{}}\n{\"type\":\"BOOKMARK\",\"object\":{}}\n", NULL);
    expect(&f, "GET", NULL, 410,
           "{\"kind\":\"Status\",\"reason\":\"Expired\",\"code\":410,\"message\":\"too old "
           "resource version: 1 (5)\"}", NULL);
    memset(&s, 0, sizeof s);
    CU_ASSERT_EQUAL_FATAL(k8s_client_stream(f.c, "/api/v1/pods", "watch=1", 60 * S, on_sdata,
                                            on_sdone, &s, &st, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &s.done, 3600 * S, &err), 0);
    CU_ASSERT_EQUAL(s.rc, 0);
    CU_ASSERT(s.pieces > 1);
    CU_ASSERT_STRING_EQUAL(s.got, "{\"type\":\"ADDED\",\"object\":{}}\n{\"type\":\"BOOKMARK\",\"object\":{}}\n");
    /* An error answer never reaches the data callback: it is a Status. */
    memset(&s, 0, sizeof s);
    CU_ASSERT_EQUAL_FATAL(k8s_client_stream(f.c, "/api/v1/pods", "watch=1&resourceVersion=1",
                                            60 * S, on_sdata, on_sdone, &s, &st, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &s.done, 7200 * S, &err), 0);
    CU_ASSERT_EQUAL(s.rc, CORE_E_STATE);
    CU_ASSERT_EQUAL(s.err.http_status, 410);
    CU_ASSERT_STRING_EQUAL(s.err.service_code, "Expired");
    CU_ASSERT_EQUAL(s.pieces, 0);
    /* Cancel: no callback. */
    expect(&f, "GET", NULL, 200, "{}\n", NULL);
    memset(&s, 0, sizeof s);
    CU_ASSERT_EQUAL_FATAL(k8s_client_stream(f.c, "/api/v1/pods", "watch=1", 0, on_sdata, on_sdone,
                                            &s, &st, &err), 0);
    k8s_stream_cancel(st);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(s.done, 0);
    kfx_cleanup(&f);
}

static void test_free_completes_in_flight(void)
{
    struct kfx f;
    struct kres r;
    struct sres s;
    struct k8s_stream *st = NULL;
    struct core_err err;
    kfx_init(&f);
    memset(&r, 0, sizeof r);
    memset(&s, 0, sizeof s);
    CU_ASSERT_EQUAL_FATAL(k8s_get(f.c, &k8s_res_pods, "default", "p1", on_done, &r, &err), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_client_stream(f.c, "/api/v1/pods", "watch=1", 0, on_sdata, on_sdone,
                                            &s, &st, &err), 0);
    k8s_client_free(f.c);
    f.c = NULL;
    CU_ASSERT_EQUAL(r.calls, 1);
    CU_ASSERT_EQUAL(r.rc, CORE_E_CANCELLED);
    CU_ASSERT_EQUAL(s.done, 1);
    CU_ASSERT_EQUAL(s.rc, CORE_E_CANCELLED);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    kfx_cleanup(&f);
}

static void test_alloc_failures(void)
{
    for (unsigned long n = 1;; n++) {
        struct kfx f;
        struct kres r;
        struct core_err err;
        int rc;
        kfx_init(&f);
        expect(&f, "GET", NULL, 503, "", NULL);
        expect(&f, "GET", NULL, 200, pod_p1, NULL);
        memset(&r, 0, sizeof r);
        core_alloc_fail_after(n);
        rc = k8s_get(f.c, &k8s_res_pods, "default", "p1", on_done, &r, &err);
        if (rc == 0)
            CU_ASSERT(core_loop_run(f.loop, &err) >= 0);
        core_alloc_fail_after(0);
        if (core_alloc_failures() == 0 && rc == 0 && r.rc == 0) {
            CU_ASSERT_STRING_EQUAL(r.name, "p1");
            kfx_cleanup(&f);
            break;
        }
        CU_ASSERT(rc != 0 || r.calls == 1);
        kfx_cleanup(&f);
        CU_ASSERT_FATAL(n < 2000);
    }
}

TESTS_SUITE(k8s_client, "k8s_client", NULL, NULL, TESTS_CASE(test_paths),
            TESTS_CASE(test_status_decode), TESTS_CASE(test_https_required),
            TESTS_CASE(test_get_and_not_found), TESTS_CASE(test_writes), TESTS_CASE(test_retries),
            TESTS_CASE(test_list_pages), TESTS_CASE(test_body_with_nul_and_long_retry_after), TESTS_CASE(test_qps_limiter), TESTS_CASE(test_stream),
            TESTS_CASE(test_free_completes_in_flight), TESTS_CASE(test_alloc_failures))
