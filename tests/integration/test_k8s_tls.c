/*
 * tests/integration/test_k8s_tls.c — the Kubernetes client end to end over real TLS: a
 * kubeconfig (CA as certificate-authority-data, bearer token) loaded from a file, the curl
 * transport, and a loopback HTTPS server (libmicrohttpd) that checks the token, answers a GET,
 * and streams a watch. A kubeconfig naming the wrong CA is refused at the TLS handshake.
 */
#include "tests/unit/harness.h"
#include "tests/unit/testtls.h"

#include "k8s/k8s.h"

#include <microhttpd.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S CORE_NS_PER_S

static const char watch_body[] =
    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"w1\","
    "\"namespace\":\"default\",\"resourceVersion\":\"11\"}}}\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"w1\","
    "\"namespace\":\"default\",\"resourceVersion\":\"12\"}}}\n";

struct stream_state {
    size_t off;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream_state *st = cls;
    size_t left = sizeof watch_body - 1 - st->off;
    size_t n = left < 50 ? left : 50; /* small pieces: events split across reads */
    (void)pos;
    if (left == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n > max)
        n = max;
    memcpy(buf, watch_body + st->off, n);
    st->off += n;
    return (ssize_t)n;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                             MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **con_cls)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *watch = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "watch");
    (void)cls;
    (void)version;
    (void)data;
    (void)size;
    if (!*con_cls) {
        *con_cls = (void *)1;
        return MHD_YES;
    }
    if (!auth || strcmp(auth, "Bearer tok-123") != 0)
        return reply(c, 401, "{\"kind\":\"Status\",\"code\":401,\"reason\":\"Unauthorized\","
                             "\"message\":\"Unauthorized\"}");
    if (strcmp(method, "GET") == 0 && strcmp(url, "/api/v1/namespaces/default/pods/p1") == 0)
        return reply(c, 200, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p1\",\"namespace\":"
                             "\"default\"}}");
    if (strcmp(url, "/api/v1/namespaces/default/pods") == 0 && watch) {
        struct stream_state *st = calloc(1, sizeof *st);
        struct MHD_Response *r;
        enum MHD_Result ret;
        if (!st)
            return MHD_NO;
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 256, stream_read, st, free);
        if (!r) {
            free(st);
            return MHD_NO;
        }
        ret = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return ret;
    }
    return reply(c, 404, "{\"kind\":\"Status\",\"code\":404,\"reason\":\"NotFound\"}");
}

/* Writes a kubeconfig naming the server, the CA (as base64 data) and the token. */
static int write_kubeconfig(const char *path, unsigned port, const char *ca_pem)
{
    size_t n = strlen(ca_pem);
    unsigned char *b64 = malloc(4 * ((n + 2) / 3) + 1);
    FILE *f;
    if (!b64)
        return -1;
    EVP_EncodeBlock(b64, (const unsigned char *)ca_pem, (int)n);
    f = fopen(path, "w");
    if (!f) {
        free(b64);
        return -1;
    }
    fprintf(f,
            "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
            "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:%u\n"
            "    certificate-authority-data: %s\n"
            "users:\n- name: u\n  user:\n    token: tok-123\n"
            "contexts:\n- name: test\n  context:\n    cluster: c\n    user: u\n"
            "    namespace: default\n",
            port, b64);
    free(b64);
    return fclose(f);
}

struct got {
    int done, rc, events, end;
    char name[64];
    char last_rv[16];
    struct core_err err;
};

static void on_get(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct got *g = ud;
    g->done = 1;
    g->rc = rc;
    if (err)
        g->err = *err;
    if (obj) {
        const char *n =
            json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
        core_strlcpy(g->name, n ? n : "", sizeof g->name);
    }
}

static void on_event(void *ud, enum k8s_event_type type, json_t *obj)
{
    struct got *g = ud;
    const char *rv = json_string_value(
        json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
    g->events++;
    CU_ASSERT(type == (g->events == 1 ? K8S_ADDED : K8S_MODIFIED));
    core_strlcpy(g->last_rv, rv ? rv : "", sizeof g->last_rv);
}

static void on_watch_done(void *ud, int rc, const struct core_err *err)
{
    struct got *g = ud;
    g->end = 1;
    g->rc = rc;
    if (err)
        g->err = *err;
}

struct stack {
    struct core_clock *clock;
    struct core_loop *loop;
    struct core_http_transport *t;
    struct k8s_config cfg;
    struct k8s_auth *auth;
    struct k8s_client *c;
};

static int stack_up(struct stack *s, const char *kubeconfig, struct core_err *err)
{
    memset(s, 0, sizeof *s);
    s->clock = core_clock_real_new();
    if (!s->clock || core_loop_new(s->clock, NULL, &s->loop, err) ||
        core_http_curl_new(s->loop, NULL, &s->t, err) ||
        k8s_config_load_kubeconfig(NULL, kubeconfig, NULL, &s->cfg, err) ||
        k8s_auth_new(s->loop, &s->cfg, NULL, &s->auth, err) ||
        k8s_client_new(s->loop, s->t, &s->cfg, s->auth, NULL, &s->c, err))
        return -1;
    return 0;
}

static void stack_down(struct stack *s)
{
    k8s_client_free(s->c);
    k8s_auth_free(s->auth);
    k8s_config_cleanup(&s->cfg);
    core_http_transport_free(s->t);
    core_loop_free(s->loop);
    core_clock_free(s->clock);
}

static void test_k8s_over_tls(void)
{
    struct tests_tls_id server_id, other_id;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    char dir[] = "/tmp/stoker-k8s-tls-XXXXXX", good[300], bad[300];
    struct stack s;
    struct got g;
    struct k8s_watch *w = NULL;
    struct k8s_watch_opts wo;
    struct core_err err;
    unsigned port;

    CU_ASSERT_FATAL(MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES);
    CU_ASSERT_EQUAL_FATAL(tests_tls_make("k8s", "IP:127.0.0.1,DNS:localhost", &server_id), 0);
    CU_ASSERT_EQUAL_FATAL(tests_tls_make("other", "IP:127.0.0.1", &other_id), 0);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, 0, NULL, NULL, handler,
                         NULL, MHD_OPTION_HTTPS_MEM_KEY, server_id.key_pem,
                         MHD_OPTION_HTTPS_MEM_CERT, server_id.cert_pem, MHD_OPTION_END);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    port = info ? info->port : 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(good, sizeof good, "%s/good.yaml", dir);
    snprintf(bad, sizeof bad, "%s/bad.yaml", dir);
    CU_ASSERT_EQUAL_FATAL(write_kubeconfig(good, port, server_id.cert_pem), 0);
    CU_ASSERT_EQUAL_FATAL(write_kubeconfig(bad, port, other_id.cert_pem), 0);

    /* The right CA and token: a GET, then a watch streamed in small pieces. */
    CU_ASSERT_EQUAL_FATAL(stack_up(&s, good, &err), 0);
    memset(&g, 0, sizeof g);
    CU_ASSERT_EQUAL_FATAL(k8s_get(s.c, &k8s_res_pods, "default", "p1", on_get, &g, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(s.loop, &g.done, core_loop_now(s.loop) + 10 * S, &err), 0);
    CU_ASSERT_EQUAL(g.rc, 0);
    CU_ASSERT_STRING_EQUAL(g.name, "p1");
    memset(&g, 0, sizeof g);
    memset(&wo, 0, sizeof wo);
    wo.resource_version = "10";
    CU_ASSERT_EQUAL_FATAL(k8s_watch_start(s.c, &k8s_res_pods, "default", &wo, on_event,
                                          on_watch_done, &g, &w, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(s.loop, &g.end, core_loop_now(s.loop) + 10 * S, &err), 0);
    CU_ASSERT_EQUAL(g.rc, 0);
    CU_ASSERT_EQUAL(g.events, 2);
    CU_ASSERT_STRING_EQUAL(g.last_rv, "12");
    stack_down(&s);

    /* A kubeconfig naming another CA: refused at the handshake, nothing sent. */
    CU_ASSERT_EQUAL_FATAL(stack_up(&s, bad, &err), 0);
    memset(&g, 0, sizeof g);
    CU_ASSERT_EQUAL_FATAL(k8s_get(s.c, &k8s_res_pods, "default", "p1", on_get, &g, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(s.loop, &g.done, core_loop_now(s.loop) + 10 * S, &err), 0);
    CU_ASSERT_EQUAL(g.rc, CORE_E_TLS);
    stack_down(&s);

    MHD_stop_daemon(d);
    unlink(good);
    unlink(bad);
    rmdir(dir);
    tests_tls_free(&server_id);
    tests_tls_free(&other_id);
}

TESTS_SUITE(k8s_tls, "k8s_tls", NULL, NULL, TESTS_CASE(test_k8s_over_tls))
