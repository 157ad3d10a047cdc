/*
 * sim/transport.c — an in-process struct core_http_transport: each request is handed to a
 * sim_handler_fn on the loop and its answer delivered from the loop after the handler's delay,
 * so client code runs against the emulator exactly as against curl, in virtual time.
 *
 * Invariants:
 *  - Nothing is answered inside submit: the handler runs from a timer on the next loop turn and
 *    the answer comes from a second timer after the handler's delay (0 = the turn after).
 *  - submit either fully succeeds (call recorded, timer armed, loop held) or changes nothing.
 *  - Each call in flight holds the loop (core_loop_hold) until it completes or is cancelled, so
 *    a graceful shutdown waits for emulated answers as for real transfers.
 *  - on_done runs exactly once per call unless the call was cancelled; cancel and destroy never
 *    call it. on_status / on_data may cancel calls or destroy the transport: the call being
 *    delivered and the transport are then released once the callback returns. on_done may do
 *    the same: the call is unlinked before on_done runs and nothing is touched after it.
 *  - Limits behave as with curl: a body over max_response completes with CORE_E_TOOBIG and no
 *    body (streamed or not). Any HTTP status is result 0.
 *  - The request (and what it points to) is borrowed until completion or cancel, as the seam
 *    promises; the header strings are split into owned copies at submit.
 */
#include "sim/sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ST_URL_MAX 65536u
#define ST_HEADERS_MAX 256u
/* The handler writes into a body this large at most; max_response is applied afterwards so
 * an oversized answer is reported as CORE_E_TOOBIG rather than mangled by the handler. */
#define ST_BODY_LIMIT (256u * 1024u * 1024u)

struct st_call {
    struct st_call *prev, *next;
    struct sim_transport *t;
    uint64_t id;
    const struct core_http_request *req; /* borrowed until completion */
    char *method;
    char *target;   /* origin form: "/", "/path?query" */
    char *url_safe; /* scheme://host/path without query, for messages */
    struct sim_header *headers; /* owned name/value strings */
    size_t nheaders;
    core_http_data_fn on_data;
    int (*on_status)(void *ud, long status);
    core_http_done_fn on_done;
    void *ud;
    size_t max_response;
    struct core_timer *timer;
    int answered;              /* the handler ran; resp holds its answer */
    struct core_http_response resp;
    int cancelled;             /* cancelled while its own callback ran */
};

struct sim_transport {
    struct core_http_transport base; /* first: the seam casts between the two */
    struct core_loop *loop;
    sim_handler_fn fn;
    void *ud;
    struct st_call *calls;
    uint64_t last_id;
    struct st_call *delivering; /* the call whose on_status / on_data is running */
    int dying;                  /* destroyed from inside on_status / on_data */
};

/* ---- calls --------------------------------------------------------------------------------- */

static void call_unlink(struct sim_transport *t, struct st_call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (t->calls == c)
        t->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void call_free(struct st_call *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nheaders; i++) {
        core_free((char *)c->headers[i].name);
        core_free((char *)c->headers[i].value);
    }
    core_free(c->headers);
    core_free(c->method);
    core_free(c->target);
    core_free(c->url_safe);
    core_http_response_cleanup(&c->resp);
    core_free(c);
}

/* Removes a call that has not completed: no on_done. Not for the call inside a callback. */
static void call_drop(struct sim_transport *t, struct st_call *c)
{
    if (c->timer)
        core_loop_timer_cancel(t->loop, c->timer);
    c->timer = NULL;
    call_unlink(t, c);
    core_loop_release(t->loop);
    call_free(c);
}

static void transport_release(struct sim_transport *t)
{
    while (t->calls)
        call_drop(t, t->calls);
    core_free(t);
}

/* Ends a call with result (0 = the handler's answer as it stands). The transport is not
 * touched after on_done, which may destroy it. */
static void call_complete(struct st_call *c, int result, const char *fmt, ...) CORE_PRINTF(3, 4);
static void call_complete(struct st_call *c, int result, const char *fmt, ...)
{
    struct sim_transport *t = c->t;
    char reason[256] = "";
    va_list ap;

    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(reason, sizeof reason, fmt, ap);
        va_end(ap);
    }
    c->resp.result = result;
    if (result != 0 || c->on_data) {
        /* A failed exchange carries no body; a streamed one delivered it already. */
        core_buf_cleanup(&c->resp.body);
        core_buf_init(&c->resp.body, c->max_response);
    }
    if (result != 0) {
        core_err_set(&c->resp.err, result, "%s %s: %s", c->method, c->url_safe, reason);
        c->resp.err.http_status = c->resp.status;
    }
    call_unlink(t, c);
    core_loop_release(t->loop);
    c->on_done(c->ud, &c->resp);
    call_free(c);
}

static void call_fire(void *ud);

/* Runs the handler: the request as it would cross the wire, the answer into c->resp. */
static void call_handle(struct st_call *c)
{
    struct sim_transport *t = c->t;
    struct sim_http_req hr;
    core_ns delay = 0;

    memset(&hr, 0, sizeof hr);
    hr.method = c->method;
    hr.target = c->target;
    hr.headers = c->headers;
    hr.nheaders = c->nheaders;
    hr.body = c->req->body ? c->req->body : "";
    hr.body_len = c->req->body ? c->req->body_len : 0;
    memset(&c->resp, 0, sizeof c->resp);
    core_buf_init(&c->resp.body, ST_BODY_LIMIT);
    /* The handler may reach back (an observer cancelling this call or destroying the
     * transport): treat it like a delivery callback so nothing is freed under it. */
    t->delivering = c;
    t->fn(t->ud, &hr, &c->resp, &delay);
    t->delivering = NULL;
    if (t->dying) {
        transport_release(t);
        return;
    }
    if (c->cancelled) {
        call_drop(t, c);
        return;
    }
    c->answered = 1;
    if (delay < 0)
        delay = 0;
    c->timer = core_loop_timer_add(t->loop, delay, call_fire, c);
    if (!c->timer)
        call_complete(c, CORE_E_NOMEM, "out of memory scheduling the answer");
}

/* Streams the body in one piece; returns 1 when the call is finished with (completed or
 * freed), 0 when it should complete normally. */
static int call_stream(struct st_call *c)
{
    struct sim_transport *t = c->t;
    int stop = 0;

    if (c->resp.body.len == 0)
        return 0;
    t->delivering = c;
    if (c->on_status)
        stop = c->on_status(c->ud, c->resp.status);
    if (!stop && !c->cancelled && !t->dying)
        stop = c->on_data(c->ud, c->resp.body.data, c->resp.body.len);
    t->delivering = NULL;
    if (t->dying) {
        transport_release(t);
        return 1;
    }
    if (c->cancelled) {
        call_drop(t, c);
        return 1;
    }
    if (stop) {
        call_complete(c, CORE_E_CANCELLED, "aborted by the data callback");
        return 1;
    }
    return 0;
}

static void call_fire(void *ud)
{
    struct st_call *c = ud;

    c->timer = NULL;
    if (!c->answered) {
        call_handle(c);
        return;
    }
    if (c->resp.body.len > c->max_response) {
        call_complete(c, CORE_E_TOOBIG, "response body exceeds the limit of %zu bytes",
                      c->max_response);
        return;
    }
    if (c->on_data && call_stream(c))
        return;
    call_complete(c, 0, NULL);
}

/* ---- parsing the request ------------------------------------------------------------------- */

/* Splits "scheme://authority/target" into the Host value and the origin-form target. */
static int split_url(const char *url, char **host, char **target, char **safe)
{
    const char *p = strstr(url, "://"), *auth, *end, *at, *frag;
    size_t tlen;

    *host = *target = *safe = NULL;
    if (!p || p == url)
        return CORE_E_INVAL;
    auth = p + 3;
    end = auth + strcspn(auth, "/?#");
    if (end == auth)
        return CORE_E_INVAL;
    /* userinfo never goes into Host */
    at = memchr(auth, '@', (size_t)(end - auth));
    if (at)
        auth = at + 1;
    frag = strchr(end, '#');
    tlen = frag ? (size_t)(frag - end) : strlen(end);
    *host = core_strndup(auth, (size_t)(end - auth));
    if (tlen == 0 || end[0] == '?') {
        /* "http://h" and "http://h?x" have the target "/" and "/?x". */
        size_t n = tlen + 2;
        *target = core_malloc(n);
        if (*target)
            snprintf(*target, n, "/%.*s", (int)tlen, end);
    } else {
        *target = core_strndup(end, tlen);
    }
    *safe = core_strndup(url, strcspn(url, "?#"));
    if (!*host || !*target || !*safe) {
        core_free(*host);
        core_free(*target);
        core_free(*safe);
        *host = *target = *safe = NULL;
        return CORE_E_NOMEM;
    }
    return 0;
}

/* "Name: value" -> owned name and trimmed value. */
static int split_header(const char *h, struct sim_header *out)
{
    const char *colon = h ? strchr(h, ':') : NULL, *v, *e;

    if (!colon || colon == h)
        return CORE_E_INVAL;
    v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    e = v + strlen(v);
    while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        e--;
    out->name = core_strndup(h, (size_t)(colon - h));
    out->value = core_strndup(v, (size_t)(e - v));
    if (!out->name || !out->value) {
        core_free((char *)out->name);
        core_free((char *)out->value);
        out->name = out->value = NULL;
        return CORE_E_NOMEM;
    }
    return 0;
}

/* ---- the transport ------------------------------------------------------------------------- */

static int st_submit(struct core_http_transport *base, const struct core_http_request *req,
                     uint64_t *id, struct core_err *err)
{
    struct sim_transport *t = (struct sim_transport *)base;
    struct st_call *c = NULL;
    char *host = NULL;
    int has_host = 0, rc;
    size_t n;

    if (!req || !req->method || !req->url || !req->on_done || (req->nheaders && !req->headers))
        return core_err_set(err, CORE_E_INVAL, "sim transport: incomplete request");
    if (strlen(req->url) > ST_URL_MAX || req->nheaders > ST_HEADERS_MAX)
        return core_err_set(err, CORE_E_TOOBIG, "sim transport: the URL or header list is "
                            "over its limit");
    if (t->dying)
        return core_err_set(err, CORE_E_STATE, "sim transport: being destroyed");
    c = core_calloc(1, sizeof *c);
    if (!c)
        goto nomem;
    rc = split_url(req->url, &host, &c->target, &c->url_safe);
    if (rc == CORE_E_INVAL) {
        call_free(c);
        return core_err_set(err, CORE_E_INVAL, "sim transport: '%.*s' is not scheme://host/...",
                            (int)strcspn(req->url, "?#"), req->url);
    }
    if (rc)
        goto nomem;
    c->method = core_strdup(req->method);
    c->headers = core_calloc(req->nheaders + 1, sizeof *c->headers);
    if (!c->method || !c->headers)
        goto nomem;
    for (size_t i = 0; i < req->nheaders; i++) {
        rc = split_header(req->headers[i], &c->headers[c->nheaders]);
        if (rc == CORE_E_INVAL) {
            call_free(c);
            core_free(host);
            return core_err_set(err, CORE_E_INVAL, "sim transport: header %zu is not "
                                "'Name: value'", i);
        }
        if (rc)
            goto nomem;
        if (strcasecmp(c->headers[c->nheaders].name, "Host") == 0)
            has_host = 1;
        c->nheaders++;
    }
    if (!has_host) {
        n = c->nheaders;
        c->headers[n].name = core_strdup("Host");
        c->headers[n].value = host;
        host = NULL;
        if (!c->headers[n].name) {
            core_free((char *)c->headers[n].value);
            c->headers[n].value = NULL;
            goto nomem;
        }
        c->nheaders++;
    }
    c->timer = core_loop_timer_add(t->loop, 0, call_fire, c);
    if (!c->timer)
        goto nomem;

    /* Nothing below can fail. */
    core_free(host);
    c->t = t;
    c->req = req;
    c->on_data = req->on_data;
    c->on_status = req->on_status;
    c->on_done = req->on_done;
    c->ud = req->ud;
    c->max_response = req->max_response ? req->max_response : CORE_HTTP_DEFAULT_MAX_RESPONSE;
    c->id = ++t->last_id;
    c->next = t->calls;
    if (t->calls)
        t->calls->prev = c;
    t->calls = c;
    core_loop_hold(t->loop);
    *id = c->id;
    return 0;
nomem:
    core_free(host);
    call_free(c);
    return core_err_set(err, CORE_E_NOMEM, "sim transport: out of memory");
}

static void st_cancel(struct core_http_transport *base, uint64_t id)
{
    struct sim_transport *t = (struct sim_transport *)base;

    for (struct st_call *c = t->calls; c; c = c->next) {
        if (c->id != id || c->cancelled)
            continue;
        if (c == t->delivering)
            c->cancelled = 1; /* released when its callback returns */
        else
            call_drop(t, c);
        return;
    }
}

static void st_destroy(struct core_http_transport *base)
{
    struct sim_transport *t = (struct sim_transport *)base;

    if (t->dying)
        return;
    if (t->delivering) {
        t->dying = 1; /* call_stream releases everything once the callback returns */
        return;
    }
    transport_release(t);
}

static const struct core_http_transport_ops st_ops = {
    .submit = st_submit,
    .cancel = st_cancel,
    .destroy = st_destroy,
};

int sim_transport_new(struct core_loop *loop, sim_handler_fn fn, void *ud,
                      struct core_http_transport **out, struct core_err *err)
{
    struct sim_transport *t;

    if (!loop || !fn || !out)
        return core_err_set(err, CORE_E_INVAL, "sim transport: needs a loop and a handler");
    t = core_calloc(1, sizeof *t);
    if (!t)
        return core_err_set(err, CORE_E_NOMEM, "sim transport: out of memory");
    t->base.ops = &st_ops;
    t->loop = loop;
    t->fn = fn;
    t->ud = ud;
    *out = &t->base;
    return 0;
}
