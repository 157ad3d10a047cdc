/*
 * core/http_curl.c — the production HTTP transport: one curl easy handle per request, driven
 * by the event loop's curl multi handle (which also keeps the connection cache, so requests to
 * the same server reuse connections and, over HTTP/2, multiplex on one).
 *
 * Invariants:
 *  - TLS peer and host verification are always on. A request's own CA (PEM blob or file), else
 *    the transport's CA file, replaces the system trust store; it never adds to it, so a
 *    kubeconfig's certificate-authority-data trusts exactly that authority. No code path turns
 *    verification off.
 *  - A response body never exceeds the request's max_response: curl refuses a too-large
 *    Content-Length up front, and the write callback counts every byte (chunked bodies, and
 *    streamed bodies, where the limit bounds the total delivered). Going over ends the exchange
 *    with CORE_E_TOOBIG; a truncated body is never reported as a success, and any failure
 *    completes with an empty body.
 *  - Response headers hold only the last response's header block: a new status line (after a
 *    1xx, or a proxy's CONNECT answer) clears what came before. Header count and bytes are
 *    bounded.
 *  - on_done runs exactly once per request that was not cancelled, from the loop, outside any
 *    curl callback; cancel and destroy never call it.
 *  - curl forbids removing a handle from inside its own callbacks, and on_data (user code) runs
 *    inside the write callback. A cancel or destroy issued from there is deferred: the request is
 *    marked, its callbacks refuse further work (the progress callback aborts an idle one), and a
 *    zero-delay "reaper" timer removes it from the loop on the next turn. Nothing curl can read
 *    after submit returns is borrowed from the caller (the body is copied with
 *    CURLOPT_COPYPOSTFIELDS, TLS blobs with CURL_BLOB_COPY), so a deferred cancel is safe even
 *    when the caller frees its request right away.
 *  - Error messages carry the method and the URL without its query or fragment, which may hold a
 *    pre-signed signature.
 *  - Nothing here logs.
 */
#include "core/core.h"

#include <curl/curl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#if LIBCURL_VERSION_NUM < 0x075500
#error "stoker needs libcurl >= 7.85 (CURLOPT_PROTOCOLS_STR, CURLOPT_*_BLOB)"
#endif

#define HC_DEFAULT_CONNECT_TIMEOUT (10 * CORE_NS_PER_S)
#define HC_DEFAULT_TIMEOUT (60 * CORE_NS_PER_S)
/* Real API servers send a few dozen headers; these only stop a hostile one from making us
 * allocate without bound. */
#define HC_MAX_HEADERS 512u
#define HC_MAX_HEADER_BYTES (256u * 1024u)
#define HC_METHOD_MAX 32u
#define HC_REASON_MAX 160

struct hc_transport;

struct hc_req {
    struct hc_req *prev, *next;
    struct hc_transport *t;
    uint64_t id;
    CURL *easy;
    struct curl_slist *hdrs;
    char *method;
    char *url_safe; /* URL up to '?' or '#' */
    core_http_data_fn on_data;
    int (*on_status)(void *ud, long status);
    core_http_done_fn on_done;
    void *ud;
    size_t max_response;
    size_t received;     /* body bytes seen, streamed or buffered; <= max_response */
    size_t header_bytes; /* of the current header block */
    int abort_code;      /* why one of our callbacks stopped the transfer; 0 = it did not */
    int cancelled;       /* cancel was deferred: never complete, free quietly */
    int in_loop;         /* the easy handle is in the loop's multi */
    char reason[HC_REASON_MAX];
    struct core_http_response resp;
    char errbuf[CURL_ERROR_SIZE];
};

struct hc_transport {
    struct core_http_transport base; /* first: the seam casts between the two */
    struct core_loop *loop;
    char *ca_file;
    char *user_agent;
    int disable_http2;
    uint64_t last_id;
    struct hc_req *reqs;        /* in flight, most recent first */
    unsigned cb_depth;          /* > 0 while user code runs inside a curl callback */
    int doomed;                 /* destroy was deferred */
    struct core_timer *reaper;  /* pending deferred-cancel sweep, or NULL */
};

/* ---- request lifetime ---------------------------------------------------------------------- */

/* Frees what the request owns. The easy handle must already be out of the loop. */
static void req_free(struct hc_req *r)
{
    if (!r)
        return;
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->hdrs);
    core_free(r->method);
    core_free(r->url_safe);
    core_http_response_cleanup(&r->resp);
    core_free(r);
}

static void req_unlink(struct hc_transport *t, struct hc_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else if (t->reqs == r)
        t->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

/* Removes and frees a request; only outside curl callbacks. */
static void req_drop(struct hc_transport *t, struct hc_req *r)
{
    if (r->in_loop) {
        core_loop_remove_easy(t->loop, r->easy);
        r->in_loop = 0;
    }
    req_unlink(t, r);
    req_free(r);
}

static void transport_release(struct hc_transport *t)
{
    if (t->reaper)
        core_loop_timer_cancel(t->loop, t->reaper);
    core_free(t->ca_file);
    core_free(t->user_agent);
    core_free(t);
}

static void reaper_fire(void *ud)
{
    struct hc_transport *t = ud;
    struct hc_req *r = t->reqs;

    t->reaper = NULL;
    while (r) {
        struct hc_req *next = r->next;
        if (r->cancelled)
            req_drop(t, r);
        r = next;
    }
    if (t->doomed && !t->reqs)
        transport_release(t);
}

/* If the timer cannot be allocated, the callbacks' refusal still ends the transfer (the
 * progress callback runs at least about once a second) and its completion frees it. */
static void schedule_reaper(struct hc_transport *t)
{
    if (!t->reaper)
        t->reaper = core_loop_timer_add(t->loop, 0, reaper_fire, t);
}

/* ---- curl callbacks ------------------------------------------------------------------------ */

static void req_abort(struct hc_req *r, int code, const char *fmt, ...) CORE_PRINTF(3, 4);
static void req_abort(struct hc_req *r, int code, const char *fmt, ...)
{
    va_list ap;

    if (r->abort_code)
        return; /* the first reason is the real one */
    r->abort_code = code;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct hc_req *r = ud;
    size_t n = size * nmemb;
    int rc;

    if (r->cancelled)
        return CURL_WRITEFUNC_ERROR;
    if (n > r->max_response - r->received) {
        req_abort(r, CORE_E_TOOBIG, "response body exceeds the limit of %zu bytes",
                  r->max_response);
        return CURL_WRITEFUNC_ERROR;
    }
    if (r->on_data) {
        struct hc_transport *t = r->t;
        int stop = 0;
        t->cb_depth++;
        if (r->received == 0 && r->on_status) {
            long status = 0;
            curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
            stop = r->on_status(r->ud, status);
        }
        r->received += n;
        if (!stop && !r->cancelled)
            stop = r->on_data(r->ud, ptr, n);
        t->cb_depth--;
        if (r->cancelled)
            return CURL_WRITEFUNC_ERROR;
        if (stop) {
            req_abort(r, CORE_E_CANCELLED, "aborted by the data callback");
            return CURL_WRITEFUNC_ERROR;
        }
        return n;
    }
    r->received += n;
    rc = core_buf_append(&r->resp.body, ptr, n);
    if (rc != 0) {
        if (rc == CORE_E_TOOBIG)
            req_abort(r, rc, "response body exceeds the limit of %zu bytes", r->max_response);
        else
            req_abort(r, rc, "out of memory buffering the response body");
        return CURL_WRITEFUNC_ERROR;
    }
    return n;
}

/* Drops the headers of an earlier header block, keeping the body buffer. */
static void headers_reset(struct hc_req *r)
{
    struct core_buf body = r->resp.body;
    core_buf_init(&r->resp.body, body.limit);
    core_http_response_cleanup(&r->resp);
    r->resp.body = body;
    r->header_bytes = 0;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    struct hc_req *r = ud;
    size_t n = size * nitems;
    char *name = NULL, *value = NULL;
    int rc;

    if (r->cancelled)
        return 0;
    if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0)
        headers_reset(r);
    if (n > HC_MAX_HEADER_BYTES - r->header_bytes) {
        req_abort(r, CORE_E_TOOBIG, "response headers exceed %u bytes", HC_MAX_HEADER_BYTES);
        return 0;
    }
    r->header_bytes += n;
    rc = core_http_parse_header_line(buf, n, &name, &value);
    if (rc == 1) {
        if (r->resp.nheaders >= HC_MAX_HEADERS)
            rc = CORE_E_TOOBIG;
        else
            rc = core_http_response_add_header(&r->resp, name, value);
        core_free(name);
        core_free(value);
        if (rc == CORE_E_TOOBIG) {
            req_abort(r, rc, "response has more than %u headers", HC_MAX_HEADERS);
            return 0;
        }
        if (rc != 0) {
            req_abort(r, CORE_E_NOMEM, "out of memory storing response headers");
            return 0;
        }
    } else if (rc == CORE_E_NOMEM) {
        req_abort(r, rc, "out of memory parsing response headers");
        return 0;
    }
    /* A line curl accepted but we cannot parse is skipped: failing the whole exchange over a
     * header nobody asked for would only make us more fragile than curl. */
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    const struct hc_req *r = ud;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return r->cancelled ? 1 : 0;
}

/* ---- completion ---------------------------------------------------------------------------- */

static int map_curl(CURLcode c)
{
    switch (c) {
    case CURLE_OK:
        return 0;
    case CURLE_OPERATION_TIMEDOUT:
        return CORE_E_TIMEOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        return CORE_E_TLS;
    case CURLE_FILESIZE_EXCEEDED:
        return CORE_E_TOOBIG;
    case CURLE_OUT_OF_MEMORY:
        return CORE_E_NOMEM;
    case CURLE_ABORTED_BY_CALLBACK: /* == CORE_LOOP_EASY_CANCELLED: shutdown grace expired */
        return CORE_E_CANCELLED;
    default:
        return CORE_E_TRANSPORT;
    }
}

static void req_finish(struct hc_req *r, int curl_result)
{
    CURLcode cc = (CURLcode)curl_result;
    const char *ctext = r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc);
    long status = 0;
    int result;

    if (curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        status = 0;
    r->resp.status = status;
    result = r->abort_code ? r->abort_code : map_curl(cc);
    if (!r->abort_code) {
        if (cc == CURLE_FILESIZE_EXCEEDED)
            req_abort(r, result, "response body exceeds the limit of %zu bytes",
                      r->max_response);
        else if (curl_result == CORE_LOOP_EASY_CANCELLED)
            req_abort(r, result, "cancelled by the event loop's shutdown");
    }
    r->resp.result = result;
    if (result == 0)
        return;
    core_buf_cleanup(&r->resp.body);
    if (r->reason[0])
        core_err_set(&r->resp.err, result, "%s %s: %s (curl: %s)", r->method, r->url_safe,
                     r->reason, ctext);
    else
        core_err_set(&r->resp.err, result, "%s %s: %s", r->method, r->url_safe, ctext);
    r->resp.err.http_status = status;
}

static void on_complete(void *ud, int curl_result)
{
    struct hc_req *r = ud;
    struct hc_transport *t = r->t;

    r->in_loop = 0;
    req_unlink(t, r);
    if (r->cancelled) {
        req_free(r);
        if (t->doomed && !t->reqs)
            transport_release(t);
        return;
    }
    req_finish(r, curl_result);
    /* t is not touched after on_done: the callee may destroy the transport. */
    r->on_done(r->ud, &r->resp);
    req_free(r);
}

/* ---- submit -------------------------------------------------------------------------------- */

static long ns_to_ms_ceil(core_ns ns)
{
    core_ns ms;
    if (ns <= 0)
        return 0;
    ms = (ns + CORE_NS_PER_MS - 1) / CORE_NS_PER_MS;
    return ms > LONG_MAX ? LONG_MAX : (long)ms;
}

static int method_ok(const char *m)
{
    size_t n = strlen(m);
    if (n == 0 || n > HC_METHOD_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(m[i] >= 'A' && m[i] <= 'Z') && m[i] != '-' && m[i] != '_')
            return 0;
    return 1;
}

static int setopt_failed(CURLcode c, const char *opt, const struct hc_req *r,
                         struct core_err *err)
{
    int code = c == CURLE_OUT_OF_MEMORY ? CORE_E_NOMEM
               : (c == CURLE_UNKNOWN_OPTION || c == CURLE_NOT_BUILT_IN) ? CORE_E_UNSUPPORTED
                                                                        : CORE_E_INVAL;
    return core_err_set(err, code, "http %s %s: %s: %s", r->method, r->url_safe, opt,
                        curl_easy_strerror(c));
}

#define HC_SET(opt, val)                                                                     \
    do {                                                                                     \
        CURLcode c_ = curl_easy_setopt(e, opt, val);                                         \
        if (c_ != CURLE_OK) {                                                                \
            rc = setopt_failed(c_, #opt, r, err);                                            \
            goto done;                                                                       \
        }                                                                                    \
    } while (0)

static int has_header(const struct core_http_request *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *h = req->headers[i];
        if (h && strncasecmp(h, name, n) == 0 && h[n] == ':')
            return 1;
    }
    return 0;
}

static int set_headers(struct hc_req *r, const struct core_http_request *req,
                       struct core_err *err)
{
    struct curl_slist *l = NULL, *nl;
    int rc = 0;

    for (size_t i = 0; i < req->nheaders; i++) {
        const char *h = req->headers[i];
        if (!h || strpbrk(h, "\r\n") || !strchr(h, ':')) {
            rc = core_err_set(err, CORE_E_INVAL,
                              "http %s %s: header %zu is not a single \"Name: value\" line",
                              r->method, r->url_safe, i);
            goto done;
        }
        nl = curl_slist_append(l, h);
        if (!nl)
            goto nomem;
        l = nl;
    }
    /* curl would otherwise send "Expect: 100-continue" for large bodies and wait up to a
     * second for a server that may never answer it. */
    if (!has_header(req, "Expect")) {
        nl = curl_slist_append(l, "Expect:");
        if (!nl)
            goto nomem;
        l = nl;
    }
    r->hdrs = l;
    l = NULL;
    goto done;
nomem:
    rc = core_err_set(err, CORE_E_NOMEM, "http %s %s: out of memory for headers", r->method,
                      r->url_safe);
done:
    curl_slist_free_all(l);
    return rc;
}

static int configure(struct hc_transport *t, struct hc_req *r,
                     const struct core_http_request *req, struct core_err *err)
{
    CURL *e = r->easy;
    const struct core_http_tls *tls = req->tls;
    core_ns cto = req->connect_timeout > 0 ? req->connect_timeout : HC_DEFAULT_CONNECT_TIMEOUT;
    core_ns tto = req->timeout > 0 ? req->timeout : HC_DEFAULT_TIMEOUT;
    int is_head = strcmp(req->method, "HEAD") == 0;
    int rc = 0;

    rc = set_headers(r, req, err);
    if (rc)
        goto done;
    HC_SET(CURLOPT_URL, req->url);
    HC_SET(CURLOPT_PROTOCOLS_STR, "http,https");
    HC_SET(CURLOPT_NOSIGNAL, 1L);
    HC_SET(CURLOPT_FOLLOWLOCATION, 0L);
    HC_SET(CURLOPT_ERRORBUFFER, r->errbuf);
    HC_SET(CURLOPT_USERAGENT, t->user_agent);
    HC_SET(CURLOPT_HTTPHEADER, r->hdrs);
    HC_SET(CURLOPT_TCP_KEEPALIVE, 1L);

    HC_SET(CURLOPT_SSL_VERIFYPEER, 1L);
    HC_SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (tls && tls->ca_pem && tls->ca_pem_len > 0) {
        struct curl_blob b = {(void *)(uintptr_t)tls->ca_pem, tls->ca_pem_len, CURL_BLOB_COPY};
        HC_SET(CURLOPT_CAINFO_BLOB, &b);
        HC_SET(CURLOPT_CAPATH, (char *)NULL);
    } else if (tls && tls->ca_file) {
        HC_SET(CURLOPT_CAINFO, tls->ca_file);
        HC_SET(CURLOPT_CAPATH, (char *)NULL);
    } else if (t->ca_file) {
        HC_SET(CURLOPT_CAINFO, t->ca_file);
        HC_SET(CURLOPT_CAPATH, (char *)NULL);
    }
    if (tls && tls->cert_pem && tls->cert_pem_len > 0) {
        struct curl_blob b = {(void *)(uintptr_t)tls->cert_pem, tls->cert_pem_len,
                              CURL_BLOB_COPY};
        HC_SET(CURLOPT_SSLCERT_BLOB, &b);
        HC_SET(CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (tls && tls->key_pem && tls->key_pem_len > 0) {
        struct curl_blob b = {(void *)(uintptr_t)tls->key_pem, tls->key_pem_len, CURL_BLOB_COPY};
        HC_SET(CURLOPT_SSLKEY_BLOB, &b);
        HC_SET(CURLOPT_SSLKEYTYPE, "PEM");
    }

    if (t->disable_http2) {
        HC_SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    } else {
        HC_SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        /* Wait for a connection that can multiplex rather than open a parallel one. */
        HC_SET(CURLOPT_PIPEWAIT, 1L);
    }

    HC_SET(CURLOPT_CONNECTTIMEOUT_MS, ns_to_ms_ceil(cto));
    HC_SET(CURLOPT_TIMEOUT_MS, req->on_data ? 0L : ns_to_ms_ceil(tto));
    if (req->low_speed_time > 0 && req->low_speed_bytes > 0) {
        long secs = (long)((req->low_speed_time + CORE_NS_PER_S - 1) / CORE_NS_PER_S);
        HC_SET(CURLOPT_LOW_SPEED_LIMIT, req->low_speed_bytes);
        HC_SET(CURLOPT_LOW_SPEED_TIME, secs);
    }
    /* A HEAD answer announces a length it does not send. */
    if (!is_head)
        HC_SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_response);

    HC_SET(CURLOPT_WRITEFUNCTION, on_write);
    HC_SET(CURLOPT_WRITEDATA, (void *)r);
    HC_SET(CURLOPT_HEADERFUNCTION, on_header);
    HC_SET(CURLOPT_HEADERDATA, (void *)r);
    HC_SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    HC_SET(CURLOPT_XFERINFODATA, (void *)r);
    HC_SET(CURLOPT_NOPROGRESS, 0L);

    if (is_head) {
        HC_SET(CURLOPT_NOBODY, 1L);
    } else if (req->body || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0 ||
               strcmp(req->method, "PATCH") == 0) {
        HC_SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        HC_SET(CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
        if (strcmp(req->method, "POST") != 0)
            HC_SET(CURLOPT_CUSTOMREQUEST, req->method);
    } else if (strcmp(req->method, "GET") == 0) {
        HC_SET(CURLOPT_HTTPGET, 1L);
    } else {
        HC_SET(CURLOPT_CUSTOMREQUEST, req->method);
    }
done:
    return rc;
}

static int hc_submit(struct core_http_transport *base, const struct core_http_request *req,
                     uint64_t *id, struct core_err *err)
{
    struct hc_transport *t = (struct hc_transport *)base;
    struct hc_req *r = NULL;
    int ulen = (int)strcspn(req->url, "?#");
    int rc = 0;

    if (t->doomed) {
        rc = core_err_set(err, CORE_E_STATE, "http %s %.*s: transport is being destroyed",
                          req->method, ulen, req->url);
        goto fail;
    }
    if (!method_ok(req->method)) {
        rc = core_err_set(err, CORE_E_INVAL, "http: invalid method for %.*s", ulen, req->url);
        goto fail;
    }
    r = core_calloc(1, sizeof *r);
    if (!r)
        goto nomem;
    r->t = t;
    r->on_data = req->on_data;
    r->on_status = req->on_status;
    r->on_done = req->on_done;
    r->ud = req->ud;
    r->max_response = req->max_response ? req->max_response : CORE_HTTP_DEFAULT_MAX_RESPONSE;
    core_buf_init(&r->resp.body, r->max_response);
    r->method = core_strdup(req->method);
    r->url_safe = core_strndup(req->url, (size_t)ulen);
    if (!r->method || !r->url_safe)
        goto nomem;
    r->easy = curl_easy_init();
    if (!r->easy)
        goto nomem;
    rc = configure(t, r, req, err);
    if (rc)
        goto fail;
    rc = core_loop_add_easy(t->loop, r->easy, on_complete, r, err);
    if (rc) {
        core_err_prefix(err, "http %s %s", r->method, r->url_safe);
        goto fail;
    }
    r->in_loop = 1;
    r->id = ++t->last_id;
    r->next = t->reqs;
    if (t->reqs)
        t->reqs->prev = r;
    t->reqs = r;
    *id = r->id;
    return 0;
nomem:
    rc = core_err_set(err, CORE_E_NOMEM, "http %s %.*s: out of memory", req->method, ulen,
                      req->url);
fail:
    req_free(r);
    return rc;
}

static void hc_cancel(struct core_http_transport *base, uint64_t id)
{
    struct hc_transport *t = (struct hc_transport *)base;
    struct hc_req *r;

    for (r = t->reqs; r; r = r->next)
        if (r->id == id && !r->cancelled)
            break;
    if (!r)
        return;
    /* Inside curl's callbacks (of this transport, or of another on the same loop) a handle
     * cannot be removed: mark it and let the reaper drop it on the next turn. */
    if (t->cb_depth > 0 || core_loop_in_curl(t->loop)) {
        r->cancelled = 1;
        schedule_reaper(t);
        return;
    }
    req_drop(t, r);
}

static void hc_destroy(struct core_http_transport *base)
{
    struct hc_transport *t = (struct hc_transport *)base;

    if (t->doomed)
        return;
    if (t->cb_depth > 0 || core_loop_in_curl(t->loop)) {
        t->doomed = 1;
        for (struct hc_req *r = t->reqs; r; r = r->next)
            r->cancelled = 1;
        schedule_reaper(t);
        return;
    }
    while (t->reqs)
        req_drop(t, t->reqs);
    transport_release(t);
}

static const struct core_http_transport_ops hc_ops = {
    .submit = hc_submit,
    .cancel = hc_cancel,
    .destroy = hc_destroy,
};

int core_http_curl_new(struct core_loop *loop, const struct core_http_curl_opts *opts,
                       struct core_http_transport **out, struct core_err *err)
{
    struct hc_transport *t = NULL;
    const char *ua = opts && opts->user_agent ? opts->user_agent : "stoker/" STOKER_VERSION;
    int rc = 0;

    if (!loop || !out)
        return core_err_set(err, CORE_E_INVAL, "http: curl transport needs a loop");
    if (strpbrk(ua, "\r\n"))
        return core_err_set(err, CORE_E_INVAL, "http: user agent must be a single line");
    t = core_calloc(1, sizeof *t);
    if (!t)
        goto nomem;
    t->base.ops = &hc_ops;
    t->loop = loop;
    t->disable_http2 = opts ? opts->disable_http2 : 0;
    t->user_agent = core_strdup(ua);
    if (!t->user_agent)
        goto nomem;
    if (opts && opts->ca_file) {
        t->ca_file = core_strdup(opts->ca_file);
        if (!t->ca_file)
            goto nomem;
    }
    *out = &t->base;
    return 0;
nomem:
    rc = core_err_set(err, CORE_E_NOMEM, "http: out of memory creating the curl transport");
    if (t)
        transport_release(t);
    return rc;
}
