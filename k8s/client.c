/*
 * k8s/client.c — requests to the Kubernetes API server: authentication, a QPS/burst limiter,
 * JSON answers, Status errors, retries, paginated lists, and the streaming GET watches use.
 *
 * One struct k8s_stream carries every request in flight (the name comes from its long-lived
 * kind): QUEUED (waiting for a limiter token) → TOKEN (waiting for a bearer token) → SENT →
 * the callback, or a retry timer and round again.
 *
 * Invariants:
 *  - Callbacks run from the loop, never inside the call that started the request, and exactly
 *    once (or not at all after k8s_stream_cancel); k8s_client_free completes what is in flight
 *    with CORE_E_CANCELLED, detaching each request from the client before its callback runs.
 *  - Retries: 429 after Retry-After (at most 60 s); 5xx and connection failures only for GET;
 *    a 401 once, after dropping the cached token. Everything else surfaces at once.
 *  - A stream's body reaches its data callback only for a 2xx answer; an error answer's body
 *    is collected (bounded) and decoded as a Status.
 *  - No token, key or body is copied into an error message.
 */
#include "k8s/internal.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KC_DEFAULT_QPS 50.0
#define KC_DEFAULT_BURST 100u
#define KC_DEFAULT_TIMEOUT (30 * CORE_NS_PER_S)
#define KC_DEFAULT_MAX_RESPONSE (64u * 1024u * 1024u)
#define KC_DEFAULT_RETRIES 5u
#define KC_DEFAULT_PAGE 500u
#define KC_RETRY_BASE (200 * CORE_NS_PER_MS)
#define KC_RETRY_CAP (30 * CORE_NS_PER_S)
#define KC_RETRY_AFTER_MAX 60
#define KC_ERRBODY_MAX (64u * 1024u)
#define KC_MAX_HEADERS 8

enum kreq_kind { KREQ_PLAIN, KREQ_LIST, KREQ_STREAM };

struct k8s_stream {
    struct k8s_client *c;
    struct k8s_stream *prev, *next;
    enum kreq_kind kind;
    char method[8];
    char *path;
    char *query;
    char *ctype;
    char *body;
    size_t body_len;
    int no_retry_429;

    k8s_done_fn cb;
    void *ud;
    k8s_stream_data_fn sdata;
    k8s_stream_done_fn sdone;
    core_ns idle;

    /* lists */
    json_t *items;
    char *list_query; /* selectors and limit, without continue */
    unsigned pages, max_pages;

    /* state */
    unsigned attempts;
    int reauthed;
    struct core_timer *timer;
    int waiting_token;
    int http_active;
    uint64_t http_id;
    long status; /* streams: the status seen before the body */
    struct core_buf errbody;

    /* per attempt */
    char *url;
    char *hdr_store[KC_MAX_HEADERS];
    const char *hdrs[KC_MAX_HEADERS];
    size_t nhdrs;
    struct core_http_request req;
};

struct k8s_client {
    struct core_loop *loop;
    struct core_http_transport *t;
    struct k8s_auth *auth;
    struct k8s_client_opts opts;
    char *server;
    char *ca_pem, *ca_file, *cert_pem, *key_pem;
    struct core_http_tls tls;
    char field_manager[64];
    char user_agent[128];
    double tokens;
    core_ns bucket_last;
    struct k8s_stream *reqs;
    int freeing;
};

static void kreq_step(struct k8s_stream *r);
static void on_token(void *ud, int rc, const char *token, const struct core_err *err);

/* ---- Status -------------------------------------------------------------------------------- */

static int status_rc(long http)
{
    switch (http) {
    case 400: case 422: return CORE_E_INVAL;
    case 401: case 403: return CORE_E_AUTH;
    case 404: return CORE_E_NOTFOUND;
    case 409: return CORE_E_CONFLICT;
    case 410: return CORE_E_STATE;
    case 429: return CORE_E_THROTTLED;
    default: return CORE_E_HTTP;
    }
}

int k8s_status_decode(const json_t *status, long http_status, struct core_err *err)
{
    const char *reason = NULL, *message = NULL;
    json_t *code;
    long http = http_status;
    int rc;

    if (json_is_object(status)) {
        reason = json_string_value(json_object_get(status, "reason"));
        message = json_string_value(json_object_get(status, "message"));
        code = json_object_get(status, "code");
        if (json_is_integer(code) && json_integer_value(code) >= 100 &&
            json_integer_value(code) < 600)
            http = (long)json_integer_value(code);
    }
    rc = status_rc(http);
    core_err_set(err, rc, "%s (HTTP %ld)", message && *message ? message : "no message", http);
    core_err_set_service(err, http, reason && *reason ? reason : "", NULL);
    return rc;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

/* https anywhere; plain http only to loopback (the simulator on this machine), where there is
 * no network for a token to cross. */
static int server_ok(const char *url)
{
    CURLU *u;
    char *scheme = NULL, *host = NULL;
    int ok = 0;
    if (strncmp(url, "https://", 8) == 0)
        return 1;
    if (strncmp(url, "http://", 7) != 0 || !(u = curl_url()))
        return 0;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
    {
        struct in_addr a;
        ok = strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
             (inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127);
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

/* Copies exactly n bytes (a body or a PEM blob may hold a NUL) and terminates the copy. */
static char *dup_n(const char *s, size_t n)
{
    char *d;
    if (!s || !(d = core_malloc(n + 1)))
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

int k8s_client_new(struct core_loop *loop, struct core_http_transport *t,
                   const struct k8s_config *cfg, struct k8s_auth *auth,
                   const struct k8s_client_opts *opts, struct k8s_client **out,
                   struct core_err *err)
{
    struct k8s_client *c;
    size_t n;

    if (!cfg || !cfg->server || !server_ok(cfg->server))
        return core_err_set(err, CORE_E_INVAL, "kubernetes client: the server must be an "
                            "https:// URL (plain http:// only to a loopback address)");
    c = core_calloc(1, sizeof *c);
    if (!c)
        return core_err_set(err, CORE_E_NOMEM, "kubernetes client: out of memory");
    c->loop = loop;
    c->t = t;
    c->auth = auth;
    if (opts)
        c->opts = *opts;
    if (c->opts.qps <= 0)
        c->opts.qps = KC_DEFAULT_QPS;
    if (!c->opts.burst)
        c->opts.burst = KC_DEFAULT_BURST;
    if (c->opts.timeout <= 0)
        c->opts.timeout = KC_DEFAULT_TIMEOUT;
    if (!c->opts.max_response)
        c->opts.max_response = KC_DEFAULT_MAX_RESPONSE;
    if (!c->opts.max_retries)
        c->opts.max_retries = KC_DEFAULT_RETRIES;
    core_strlcpy(c->field_manager, c->opts.field_manager ? c->opts.field_manager : "stoker",
                 sizeof c->field_manager);
    core_strlcpy(c->user_agent,
                 c->opts.user_agent ? c->opts.user_agent : "stoker/" STOKER_VERSION,
                 sizeof c->user_agent);
    c->opts.field_manager = NULL;
    c->opts.user_agent = NULL;
    n = strlen(cfg->server);
    while (n > 0 && cfg->server[n - 1] == '/')
        n--;
    c->server = core_strndup(cfg->server, n);
    c->ca_pem = dup_n(cfg->ca_pem, cfg->ca_pem_len);
    c->ca_file = cfg->ca_file ? core_strdup(cfg->ca_file) : NULL;
    c->cert_pem = dup_n(cfg->client_cert_pem, cfg->client_cert_len);
    c->key_pem = dup_n(cfg->client_key_pem, cfg->client_key_len);
    if (!c->server || (cfg->ca_pem && !c->ca_pem) || (cfg->ca_file && !c->ca_file) ||
        (cfg->client_cert_pem && !c->cert_pem) || (cfg->client_key_pem && !c->key_pem)) {
        k8s_client_free(c);
        return core_err_set(err, CORE_E_NOMEM, "kubernetes client: out of memory");
    }
    c->tls.ca_pem = c->ca_pem;
    c->tls.ca_pem_len = c->ca_pem ? cfg->ca_pem_len : 0;
    c->tls.ca_file = c->ca_file;
    c->tls.cert_pem = c->cert_pem;
    c->tls.cert_pem_len = c->cert_pem ? cfg->client_cert_len : 0;
    c->tls.key_pem = c->key_pem;
    c->tls.key_pem_len = c->key_pem ? cfg->client_key_len : 0;
    c->tokens = (double)c->opts.burst;
    c->bucket_last = core_loop_now(loop);
    *out = c;
    return 0;
}

/* Tokens and keys are wiped before their memory goes back. */
static void wipe(char *s)
{
    if (s)
        OPENSSL_cleanse(s, strlen(s));
}

static void kreq_reset_attempt(struct k8s_stream *r)
{
    for (size_t i = 0; i < r->nhdrs; i++) {
        /* The Authorization header holds the token. */
        wipe(r->hdr_store[i]);
        core_free(r->hdr_store[i]);
    }
    r->nhdrs = 0;
    core_free(r->url);
    r->url = NULL;
    r->status = 0;
    core_buf_cleanup(&r->errbody);
    core_buf_init(&r->errbody, KC_ERRBODY_MAX);
}

/* Cuts every tie between the request and its client (list, timer, HTTP, token wait). */
static void kreq_detach(struct k8s_stream *r)
{
    struct k8s_client *c = r->c;
    if (!c)
        return;
    if (r->prev)
        r->prev->next = r->next;
    else
        c->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    if (r->timer)
        core_loop_timer_cancel(c->loop, r->timer);
    r->timer = NULL;
    if (r->http_active)
        core_http_cancel(c->t, r->http_id);
    r->http_active = 0;
    if (r->waiting_token && c->auth)
        k8s_auth_cancel(c->auth, on_token, r);
    r->waiting_token = 0;
    r->c = NULL;
}

static void kreq_free(struct k8s_stream *r)
{
    kreq_detach(r);
    kreq_reset_attempt(r);
    core_buf_cleanup(&r->errbody);
    core_free(r->path);
    core_free(r->query);
    core_free(r->ctype);
    core_free(r->body);
    core_free(r->list_query);
    json_decref(r->items);
    core_free(r);
}

/* Ends a request: detach, call back, free. json is borrowed by the callback. */
static void kreq_finish(struct k8s_stream *r, int rc, json_t *json, const struct core_err *err)
{
    kreq_detach(r);
    if (r->kind == KREQ_STREAM)
        r->sdone(r->ud, rc, err);
    else
        r->cb(r->ud, rc, rc ? NULL : json, err);
    kreq_free(r);
}

static void kreq_fail(struct k8s_stream *r, int code, const char *fmt, ...) CORE_PRINTF(3, 4);
static void kreq_fail(struct k8s_stream *r, int code, const char *fmt, ...)
{
    struct core_err err;
    va_list ap;
    core_err_clear(&err);
    va_start(ap, fmt);
    core_err_setv(&err, code, fmt, ap);
    va_end(ap);
    kreq_finish(r, code, NULL, &err);
}

void k8s_client_free(struct k8s_client *c)
{
    if (!c)
        return;
    c->freeing = 1;
    while (c->reqs) {
        struct k8s_stream *r = c->reqs;
        kreq_fail(r, CORE_E_CANCELLED, "%s %s: cancelled: the client is shutting down",
                  r->method, r->path);
    }
    core_free(c->server);
    core_free(c->ca_pem);
    core_free(c->ca_file);
    core_free(c->cert_pem);
    if (c->key_pem) {
        wipe(c->key_pem);
        core_free(c->key_pem);
    }
    core_free(c);
}

struct core_loop *k8s_client_loop(const struct k8s_client *c)
{
    return c->loop;
}

const char *k8s_client_field_manager(const struct k8s_client *c)
{
    return c->field_manager;
}

/* ---- retries ------------------------------------------------------------------------------- */

static void on_retry(void *ud)
{
    struct k8s_stream *r = ud;
    r->timer = NULL;
    kreq_step(r);
}

static int kreq_retry(struct k8s_stream *r, core_ns delay)
{
    if (r->attempts > r->c->opts.max_retries)
        return 0;
    kreq_reset_attempt(r);
    r->timer = core_loop_timer_add(r->c->loop, delay, on_retry, r);
    return r->timer != NULL;
}

static core_ns backoff(const struct k8s_stream *r)
{
    unsigned shift = r->attempts > 8 ? 8 : r->attempts;
    core_ns d = KC_RETRY_BASE << shift;
    return d > KC_RETRY_CAP ? KC_RETRY_CAP : d;
}

static core_ns retry_after(const struct core_http_response *resp)
{
    const char *v = core_http_response_header(resp, "retry-after");
    int64_t secs = 1;
    if (v && core_parse_i64(v, 0, INT64_MAX / CORE_NS_PER_S, &secs) != 0)
        secs = 1; /* an HTTP date or junk: a short, fixed wait */
    if (secs > KC_RETRY_AFTER_MAX)
        secs = KC_RETRY_AFTER_MAX; /* a long wait is honoured up to the cap, never shortened */
    return secs * CORE_NS_PER_S;
}

/* ---- answers ------------------------------------------------------------------------------- */

static int list_next_page(struct k8s_stream *r, const char *cont);

static void finish_ok(struct k8s_stream *r, const struct core_http_response *resp)
{
    json_error_t jerr;
    json_t *doc = NULL;

    if (r->kind == KREQ_STREAM) {
        kreq_finish(r, 0, NULL, NULL);
        return;
    }
    if (resp->body.len > 0) {
        doc = json_loadb(resp->body.data, resp->body.len, 0, &jerr);
        if (!doc) {
            kreq_fail(r, CORE_E_PARSE, "%s %s: the answer (HTTP %ld, %zu bytes) is not JSON "
                      "(line %d, column %d)", r->method, r->path, resp->status, resp->body.len,
                      jerr.line, jerr.column);
            return;
        }
    }
    if (r->kind == KREQ_LIST) {
        json_t *items = json_object_get(doc, "items");
        const char *cont =
            json_string_value(json_object_get(json_object_get(doc, "metadata"), "continue"));
        if (!json_is_object(doc) || (items && !json_is_array(items))) {
            json_decref(doc);
            kreq_fail(r, CORE_E_PARSE, "%s %s: a list answer needs an object with an items "
                      "array", r->method, r->path);
            return;
        }
        if (items && json_array_extend(r->items, items) != 0) {
            json_decref(doc);
            kreq_fail(r, CORE_E_NOMEM, "%s %s: out of memory", r->method, r->path);
            return;
        }
        r->pages++;
        if (cont && *cont) {
            int rc;
            if (r->max_pages && r->pages >= r->max_pages) {
                json_decref(doc);
                kreq_fail(r, CORE_E_TOOBIG, "%s %s: more than %u pages", r->method, r->path,
                          r->max_pages);
                return;
            }
            rc = list_next_page(r, cont);
            json_decref(doc);
            if (rc)
                kreq_fail(r, rc, "%s %s: out of memory", r->method, r->path);
            return;
        }
        if (json_object_set(doc, "items", r->items) != 0) {
            json_decref(doc);
            kreq_fail(r, CORE_E_NOMEM, "%s %s: out of memory", r->method, r->path);
            return;
        }
    }
    kreq_finish(r, 0, doc, NULL);
    json_decref(doc);
}

static void finish_error(struct k8s_stream *r, const struct core_http_response *resp)
{
    const struct core_buf *b = r->kind == KREQ_STREAM ? &r->errbody : &resp->body;
    json_error_t jerr;
    json_t *status = b->len ? json_loadb(b->data, b->len, 0, &jerr) : NULL;
    struct core_err err;
    long http = resp->status;
    int rc;

    core_err_clear(&err);
    rc = k8s_status_decode(json_is_object(status) ? status : NULL, http, &err);
    json_decref(status);
    if (http == 401 && !r->reauthed && r->c->auth) {
        r->reauthed = 1;
        k8s_auth_invalidate(r->c->auth);
        if (kreq_retry(r, 0))
            return;
    }
    if (http == 429 && !r->no_retry_429 && kreq_retry(r, retry_after(resp)))
        return;
    if (http >= 500 && strcmp(r->method, "GET") == 0 && r->kind != KREQ_STREAM &&
        kreq_retry(r, backoff(r)))
        return;
    core_err_prefix(&err, "%s %s: %s", r->method, r->path,
                    err.service_code[0] ? err.service_code : "error");
    kreq_finish(r, rc, NULL, &err);
}

static void on_http_done(void *ud, struct core_http_response *resp)
{
    struct k8s_stream *r = ud;
    int rc = resp->result;

    r->http_active = 0;
    if (rc) {
        if ((rc == CORE_E_TIMEOUT || rc == CORE_E_TRANSPORT) && r->kind != KREQ_STREAM &&
            strcmp(r->method, "GET") == 0 && kreq_retry(r, backoff(r)))
            return;
        kreq_fail(r, rc, "%s %s: %s", r->method, r->path,
                  resp->err.message[0] ? resp->err.message : core_strerror(rc));
        return;
    }
    if (resp->status >= 200 && resp->status < 300)
        finish_ok(r, resp);
    else
        finish_error(r, resp);
}

static int on_stream_status(void *ud, long status)
{
    struct k8s_stream *r = ud;
    r->status = status;
    return 0;
}

static int on_stream_data(void *ud, const char *data, size_t len)
{
    struct k8s_stream *r = ud;
    if (r->status >= 200 && r->status < 300)
        return r->sdata(r->ud, data, len);
    /* An error document: keep its start for the Status; the rest is not needed. */
    if (r->errbody.len < KC_ERRBODY_MAX) {
        size_t room = KC_ERRBODY_MAX - r->errbody.len;
        if (core_buf_append(&r->errbody, data, len < room ? len : room) != 0)
            return 1;
    }
    return 0;
}

/* ---- sending ------------------------------------------------------------------------------- */

/* Adds "name: prefix value". */
static int add_header(struct k8s_stream *r, const char *name, const char *prefix,
                      const char *value)
{
    struct core_buf b;
    char *h = NULL;
    int rc;
    if (r->nhdrs == KC_MAX_HEADERS)
        return CORE_E_TOOBIG;
    core_buf_init(&b, 64 * 1024);
    rc = core_buf_appendf(&b, "%s: %s%s", name, prefix, value);
    if (!rc)
        rc = core_buf_steal(&b, &h, NULL);
    core_buf_cleanup(&b);
    if (rc)
        return rc;
    r->hdr_store[r->nhdrs] = h;
    r->hdrs[r->nhdrs] = h;
    r->nhdrs++;
    return 0;
}

static void kreq_send(struct k8s_stream *r, const char *token)
{
    struct k8s_client *c = r->c;
    struct core_buf url;
    struct core_err err;
    int rc;

    kreq_reset_attempt(r);
    r->attempts++;
    core_buf_init(&url, 64 * 1024);
    rc = core_buf_appendf(&url, "%s%s%s%s", c->server, r->path, r->query ? "?" : "",
                          r->query ? r->query : "");
    if (!rc)
        rc = core_buf_steal(&url, &r->url, NULL);
    core_buf_cleanup(&url);
    if (!rc)
        rc = add_header(r, "Accept", "", "application/json");
    if (!rc)
        rc = add_header(r, "User-Agent", "", c->user_agent);
    if (!rc && r->body)
        rc = add_header(r, "Content-Type", "", r->ctype ? r->ctype : "application/json");
    if (!rc && token)
        rc = add_header(r, "Authorization", "Bearer ", token);
    if (rc) {
        kreq_fail(r, rc, "%s %s: %s while building the request", r->method, r->path,
                  core_strerror(rc));
        return;
    }
    memset(&r->req, 0, sizeof r->req);
    r->req.method = r->method;
    r->req.url = r->url;
    r->req.headers = r->hdrs;
    r->req.nheaders = r->nhdrs;
    r->req.body = r->body;
    r->req.body_len = r->body_len;
    r->req.tls = &c->tls;
    r->req.on_done = on_http_done;
    r->req.ud = r;
    if (r->kind == KREQ_STREAM) {
        r->req.on_data = on_stream_data;
        r->req.on_status = on_stream_status;
        r->req.max_response = SIZE_MAX / 2; /* a watch runs for minutes; events are bounded */
        r->req.low_speed_bytes = 1;
        r->req.low_speed_time = r->idle;
    } else {
        r->req.max_response = c->opts.max_response;
        r->req.timeout = c->opts.timeout;
    }
    core_err_clear(&err);
    rc = core_http_submit(c->t, &r->req, &r->http_id, &err);
    if (rc) {
        kreq_fail(r, rc, "%s %s: %s", r->method, r->path, err.message);
        return;
    }
    r->http_active = 1;
}

static void on_token(void *ud, int rc, const char *token, const struct core_err *err)
{
    struct k8s_stream *r = ud;
    r->waiting_token = 0;
    if (rc) {
        kreq_fail(r, rc, "%s %s: no credentials: %s", r->method, r->path,
                  err ? err->message : core_strerror(rc));
        return;
    }
    kreq_send(r, token);
}

/* The QPS/burst limiter: every attempt takes a token; without one it waits for the refill. */
static core_ns bucket_take(struct k8s_client *c)
{
    core_ns now = core_loop_now(c->loop);
    c->tokens += (double)(now - c->bucket_last) / (double)CORE_NS_PER_S * c->opts.qps;
    if (c->tokens > (double)c->opts.burst)
        c->tokens = (double)c->opts.burst;
    c->bucket_last = now;
    c->tokens -= 1.0;
    return c->tokens >= 0 ? 0 : (core_ns)(-c->tokens / c->opts.qps * (double)CORE_NS_PER_S);
}

static void on_bucket(void *ud)
{
    struct k8s_stream *r = ud;
    struct core_err err;
    r->timer = NULL;
    if (!r->c->auth) {
        kreq_send(r, NULL);
        return;
    }
    r->waiting_token = 1;
    if (k8s_auth_token(r->c->auth, on_token, r, &err) != 0) {
        r->waiting_token = 0;
        kreq_fail(r, err.code ? err.code : CORE_E_AUTH, "%s %s: no credentials: %s", r->method,
                  r->path, err.message);
    }
}

static void kreq_step(struct k8s_stream *r)
{
    core_ns wait = bucket_take(r->c);
    r->timer = core_loop_timer_add(r->c->loop, wait, on_bucket, r);
    if (!r->timer)
        kreq_fail(r, CORE_E_NOMEM, "%s %s: out of memory", r->method, r->path);
}

static void on_start(void *ud)
{
    struct k8s_stream *r = ud;
    r->timer = NULL;
    kreq_step(r);
}

/* Creates a request and queues its first step on the loop. Takes copies of everything. */
static int kreq_start(struct k8s_client *c, enum kreq_kind kind, const char *method,
                      const char *path, const char *query, const char *ctype, const char *body,
                      size_t body_len, struct k8s_stream **out, struct core_err *err)
{
    struct k8s_stream *r;

    if (c->freeing)
        return core_err_set(err, CORE_E_CANCELLED, "%s %s: the client is shutting down", method,
                            path);
    if (strlen(method) >= sizeof r->method || path[0] != '/')
        return core_err_set(err, CORE_E_INVAL, "kubernetes request: bad method or path");
    r = core_calloc(1, sizeof *r);
    if (!r)
        return core_err_set(err, CORE_E_NOMEM, "%s %s: out of memory", method, path);
    r->c = c;
    r->kind = kind;
    core_strlcpy(r->method, method, sizeof r->method);
    core_buf_init(&r->errbody, KC_ERRBODY_MAX);
    r->path = core_strdup(path);
    r->query = query ? core_strdup(query) : NULL;
    r->ctype = ctype ? core_strdup(ctype) : NULL;
    r->body = body ? dup_n(body, body_len) : NULL;
    r->body_len = body ? body_len : 0;
    if (!r->path || (query && !r->query) || (ctype && !r->ctype) || (body && !r->body)) {
        kreq_free(r);
        return core_err_set(err, CORE_E_NOMEM, "%s %s: out of memory", method, path);
    }
    r->timer = core_loop_timer_add(c->loop, 0, on_start, r);
    if (!r->timer) {
        kreq_free(r);
        return core_err_set(err, CORE_E_NOMEM, "%s %s: out of memory", method, path);
    }
    r->next = c->reqs;
    if (c->reqs)
        c->reqs->prev = r;
    c->reqs = r;
    *out = r;
    return 0;
}

/* ---- the public requests ------------------------------------------------------------------- */

int k8s_request(struct k8s_client *c, const char *method, const char *path, const char *query,
                const char *content_type, const char *body, size_t body_len, k8s_done_fn cb,
                void *ud, struct core_err *err)
{
    struct k8s_stream *r = NULL;
    int rc = kreq_start(c, KREQ_PLAIN, method, path, query, content_type, body, body_len, &r,
                        err);
    if (rc)
        return rc;
    r->cb = cb;
    r->ud = ud;
    return 0;
}

/* Appends "&name=escaped(value)" (or without '&' when the buffer is empty). */
static int query_add(struct core_buf *q, const char *name, const char *value)
{
    char *e;
    int rc;
    if (!value)
        return 0;
    e = curl_easy_escape(NULL, value, (int)strlen(value));
    if (!e)
        return CORE_E_NOMEM;
    rc = core_buf_appendf(q, "%s%s=%s", q->len ? "&" : "", name, e);
    curl_free(e);
    return rc;
}

static int path_of(const struct k8s_resource *res, const char *ns, const char *name,
                   const char *sub, struct core_buf *p, struct core_err *err)
{
    core_buf_init(p, 4096);
    return k8s_resource_path(res, ns, name, sub, p, err);
}

static int write_request(struct k8s_client *c, const char *method, const struct k8s_resource *res,
                         const char *ns, const char *name, const char *sub, const char *query,
                         const char *ctype, const json_t *obj, k8s_done_fn cb, void *ud,
                         struct core_err *err)
{
    struct core_buf p;
    char *text = NULL;
    int rc = path_of(res, ns, name, sub, &p, err);
    if (!rc && obj) {
        text = json_dumps(obj, JSON_COMPACT);
        if (!text)
            rc = core_err_set(err, CORE_E_NOMEM, "%s %s: cannot serialise the body", method,
                              res->kind);
    }
    if (!rc)
        rc = k8s_request(c, method, p.data, query, ctype, text, text ? strlen(text) : 0, cb, ud,
                         err);
    free(text);
    core_buf_cleanup(&p);
    return rc;
}

int k8s_get(struct k8s_client *c, const struct k8s_resource *res, const char *ns,
            const char *name, k8s_done_fn cb, void *ud, struct core_err *err)
{
    return write_request(c, "GET", res, ns, name, NULL, NULL, NULL, NULL, cb, ud, err);
}

static int field_manager_query(struct k8s_client *c, int force, struct core_buf *q)
{
    int rc;
    core_buf_init(q, 1024);
    rc = query_add(q, "fieldManager", c->field_manager);
    if (!rc && force)
        rc = query_add(q, "force", "true");
    return rc;
}

int k8s_create(struct k8s_client *c, const struct k8s_resource *res, const char *ns,
               const json_t *obj, k8s_done_fn cb, void *ud, struct core_err *err)
{
    struct core_buf q;
    int rc = field_manager_query(c, 0, &q);
    if (!rc)
        rc = write_request(c, "POST", res, ns, NULL, NULL, q.data, NULL, obj, cb, ud, err);
    else
        core_err_set(err, rc, "POST %s: out of memory", res->kind);
    core_buf_cleanup(&q);
    return rc;
}

int k8s_update(struct k8s_client *c, const struct k8s_resource *res, const char *ns,
               const char *name, const char *subresource, const json_t *obj, k8s_done_fn cb,
               void *ud, struct core_err *err)
{
    struct core_buf q;
    int rc = field_manager_query(c, 0, &q);
    if (!rc)
        rc = write_request(c, "PUT", res, ns, name, subresource, q.data, NULL, obj, cb, ud, err);
    else
        core_err_set(err, rc, "PUT %s: out of memory", res->kind);
    core_buf_cleanup(&q);
    return rc;
}

int k8s_patch(struct k8s_client *c, const struct k8s_resource *res, const char *ns,
              const char *name, const char *subresource, enum k8s_patch_type type,
              const json_t *patch, k8s_done_fn cb, void *ud, struct core_err *err)
{
    static const char *const ctypes[] = {
        "application/merge-patch+json", "application/json-patch+json",
        "application/apply-patch+yaml", "application/strategic-merge-patch+json"};
    struct core_buf q;
    int rc;

    if ((unsigned)type > K8S_PATCH_STRATEGIC || !name || !patch)
        return core_err_set(err, CORE_E_INVAL, "PATCH %s: a name, a patch and a known patch "
                            "type are required", res->kind);
    if (type == K8S_PATCH_STRATEGIC && res->group[0] && strcmp(res->group, "apps") != 0 &&
        strcmp(res->group, "policy") != 0 && strcmp(res->group, "coordination.k8s.io") != 0 &&
        strcmp(res->group, "storage.k8s.io") != 0 && strcmp(res->group, "events.k8s.io") != 0)
        return core_err_set(err, CORE_E_INVAL, "PATCH %s: strategic merge patch is not "
                            "supported for custom resources", res->kind);
    rc = field_manager_query(c, type == K8S_PATCH_APPLY, &q);
    if (!rc)
        rc = write_request(c, "PATCH", res, ns, name, subresource, q.data, ctypes[type], patch,
                           cb, ud, err);
    else
        core_err_set(err, rc, "PATCH %s: out of memory", res->kind);
    core_buf_cleanup(&q);
    return rc;
}

int k8s_delete(struct k8s_client *c, const struct k8s_resource *res, const char *ns,
               const char *name, const struct k8s_delete_opts *opts, k8s_done_fn cb, void *ud,
               struct core_err *err)
{
    static const char *const prop[] = {NULL, "Background", "Foreground", "Orphan"};
    json_t *body = json_pack("{s:s, s:s}", "apiVersion", "v1", "kind", "DeleteOptions");
    int rc = 0;

    if (!body)
        return core_err_set(err, CORE_E_NOMEM, "DELETE %s: out of memory", res->kind);
    if (opts) {
        json_t *pre = json_object();
        if (!pre)
            rc = CORE_E_NOMEM;
        if (!rc && opts->precondition_uid)
            rc = json_object_set_new(pre, "uid", json_string(opts->precondition_uid)) ? CORE_E_NOMEM : 0;
        if (!rc && opts->precondition_resource_version)
            rc = json_object_set_new(pre, "resourceVersion",
                                     json_string(opts->precondition_resource_version))
                     ? CORE_E_NOMEM : 0;
        if (!rc && json_object_size(pre) > 0)
            rc = json_object_set(body, "preconditions", pre) ? CORE_E_NOMEM : 0;
        json_decref(pre);
        if (!rc && (unsigned)opts->propagation <= K8S_PROPAGATE_ORPHAN && prop[opts->propagation])
            rc = json_object_set_new(body, "propagationPolicy",
                                     json_string(prop[opts->propagation])) ? CORE_E_NOMEM : 0;
        if (!rc && opts->grace_period_seconds >= 0)
            rc = json_object_set_new(body, "gracePeriodSeconds",
                                     json_integer(opts->grace_period_seconds)) ? CORE_E_NOMEM : 0;
    }
    if (rc)
        rc = core_err_set(err, rc, "DELETE %s: out of memory", res->kind);
    else
        rc = write_request(c, "DELETE", res, ns, name, NULL, NULL, NULL, body, cb, ud, err);
    json_decref(body);
    return rc;
}

int k8s_evict(struct k8s_client *c, const char *ns, const char *name, k8s_done_fn cb, void *ud,
              struct core_err *err)
{
    json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "policy/v1", "kind",
                             "Eviction", "metadata", "name", name ? name : "", "namespace",
                             ns ? ns : "");
    struct core_buf p;
    char *text = NULL;
    struct k8s_stream *r = NULL;
    int rc;

    if (!body)
        return core_err_set(err, CORE_E_NOMEM, "evict: out of memory");
    rc = path_of(&k8s_res_pods, ns, name, "eviction", &p, err);
    if (!rc && !(text = json_dumps(body, JSON_COMPACT)))
        rc = core_err_set(err, CORE_E_NOMEM, "evict: out of memory");
    if (!rc)
        rc = kreq_start(c, KREQ_PLAIN, "POST", p.data, NULL, NULL, text, strlen(text), &r, err);
    if (!rc) {
        /* A 429 here is a PodDisruptionBudget saying "not now": the caller decides. */
        r->no_retry_429 = 1;
        r->cb = cb;
        r->ud = ud;
    }
    free(text);
    json_decref(body);
    core_buf_cleanup(&p);
    return rc;
}

static int list_next_page(struct k8s_stream *r, const char *cont)
{
    struct core_buf q;
    int rc;
    core_buf_init(&q, 64 * 1024);
    rc = core_buf_append_str(&q, r->list_query);
    if (!rc && cont)
        rc = query_add(&q, "continue", cont);
    if (!rc) {
        core_free(r->query);
        r->query = NULL;
        rc = core_buf_steal(&q, &r->query, NULL);
    }
    core_buf_cleanup(&q);
    if (rc)
        return rc;
    /* Each page is a fresh request as far as retries go. */
    r->attempts = 0;
    r->reauthed = 0;
    kreq_reset_attempt(r);
    kreq_step(r);
    return 0;
}

int k8s_list(struct k8s_client *c, const struct k8s_resource *res, const char *ns,
             const struct k8s_list_opts *opts, k8s_done_fn cb, void *ud, struct core_err *err)
{
    struct core_buf p, q;
    struct k8s_stream *r = NULL;
    char limit[24];
    int rc;

    snprintf(limit, sizeof limit, "%u", opts && opts->limit ? opts->limit : KC_DEFAULT_PAGE);
    core_buf_init(&q, 64 * 1024);
    rc = path_of(res, ns, NULL, NULL, &p, err);
    if (!rc) {
        rc = query_add(&q, "limit", limit);
        if (!rc && opts)
            rc = query_add(&q, "labelSelector", opts->label_selector);
        if (!rc && opts)
            rc = query_add(&q, "fieldSelector", opts->field_selector);
        if (rc)
            core_err_set(err, rc, "list %s: query too long or out of memory", res->kind);
    }
    if (!rc) {
        /* resourceVersion goes on the first page only: the server refuses it together with a
         * continue token, which already pins the list's version. */
        struct core_buf first;
        core_buf_init(&first, 64 * 1024);
        rc = core_buf_append_str(&first, core_buf_cstr(&q));
        if (!rc && opts)
            rc = query_add(&first, "resourceVersion", opts->resource_version);
        if (rc)
            core_err_set(err, rc, "list %s: query too long or out of memory", res->kind);
        else
            rc = kreq_start(c, KREQ_LIST, "GET", p.data, first.data, NULL, NULL, 0, &r, err);
        core_buf_cleanup(&first);
    }
    if (!rc) {
        r->cb = cb;
        r->ud = ud;
        r->max_pages = opts ? opts->max_pages : 0;
        r->items = json_array();
        r->list_query = core_strdup(q.data);
        if (!r->items || !r->list_query) {
            kreq_free(r);
            rc = core_err_set(err, CORE_E_NOMEM, "list %s: out of memory", res->kind);
        }
    }
    core_buf_cleanup(&p);
    core_buf_cleanup(&q);
    return rc;
}

int k8s_client_stream(struct k8s_client *c, const char *path, const char *query,
                      core_ns idle_timeout, k8s_stream_data_fn on_data,
                      k8s_stream_done_fn on_done, void *ud, struct k8s_stream **out,
                      struct core_err *err)
{
    struct k8s_stream *r = NULL;
    int rc = kreq_start(c, KREQ_STREAM, "GET", path, query, NULL, NULL, 0, &r, err);
    if (rc)
        return rc;
    r->sdata = on_data;
    r->sdone = on_done;
    r->ud = ud;
    r->idle = idle_timeout;
    *out = r;
    return 0;
}

void k8s_stream_cancel(struct k8s_stream *s)
{
    if (s)
        kreq_free(s);
}
