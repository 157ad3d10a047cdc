/*
 * core/http_script.c — the scripted HTTP transport for unit tests: a FIFO of expected steps,
 * each answering one request, with every request recorded for assertions.
 *
 * Invariants:
 *  - Only the head of the FIFO is ever matched: a request either consumes the next unused step
 *    or is "unexpected" (counted, answered with CORE_E_TRANSPORT) and leaves the step in place.
 *  - Answers are never delivered synchronously from submit: every completion, and every piece
 *    of a streamed body, comes from a loop timer (the step's delay, then chunk_delay between
 *    pieces), so client code sees the same re-entrancy as with curl and virtual-clock tests can
 *    assert exact times.
 *  - The limits behave as with curl: a body over max_response completes with CORE_E_TOOBIG and
 *    no body (streamed or not); a failed exchange never carries a body.
 *  - submit either fully succeeds (request recorded, step consumed or unexpected counted, timer
 *    armed, loop held) or changes nothing.
 *  - Each in-flight request holds the loop (core_loop_hold) until it completes or is cancelled,
 *    so a graceful shutdown waits for scripted answers as it waits for real transfers.
 *  - on_done runs once per request unless cancelled; cancel and free never call it. on_data may
 *    cancel requests or free the script: the request being delivered and the script itself are
 *    then released once on_data returns.
 *  - The loop must outlive the script.
 */
#include "core/core.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct sc_step {
    struct sc_step *next;
    char *method; /* NULL = any */
    char *url;    /* NULL = any; trailing '*' = prefix */
    long status;
    struct core_http_header *headers;
    size_t nheaders;
    char *body;
    size_t body_len;
    int result;
    core_ns delay;
    size_t chunk;
    core_ns chunk_delay;
};

struct sc_call {
    struct sc_call *prev, *next;
    struct core_http_script *s;
    uint64_t id;
    struct sc_step *step; /* owned once consumed; NULL for an unexpected request */
    char *method;
    char *url_safe; /* URL up to '?' or '#', for messages */
    core_http_data_fn on_data;
    int (*on_status)(void *ud, long status);
    core_http_done_fn on_done;
    void *ud;
    size_t max_response;
    size_t offset; /* streamed bytes delivered so far */
    struct core_timer *timer;
    int cancelled; /* cancelled while its own on_data ran */
};

struct core_http_script {
    struct core_http_transport base; /* first: the seam casts between the two */
    struct core_loop *loop;
    struct sc_step *head, *tail;
    size_t npending;
    size_t unexpected;
    struct core_http_script_request *reqs;
    size_t nreqs, capreqs;
    struct sc_call *calls;
    uint64_t last_id;
    struct sc_call *delivering; /* the call whose on_data is running, or NULL */
    int dying;                  /* core_http_script_free was called from on_data */
};

/* ---- small helpers ------------------------------------------------------------------------- */

static void step_free(struct sc_step *st)
{
    if (!st)
        return;
    core_free(st->method);
    core_free(st->url);
    for (size_t i = 0; i < st->nheaders; i++) {
        core_free(st->headers[i].name);
        core_free(st->headers[i].value);
    }
    core_free(st->headers);
    core_free(st->body);
    core_free(st);
}

static void record_cleanup(struct core_http_script_request *r)
{
    core_free(r->method);
    core_free(r->url);
    for (size_t i = 0; i < r->nheaders; i++)
        core_free(r->headers[i]);
    core_free(r->headers);
    core_free(r->body);
    memset(r, 0, sizeof *r);
}

static void call_unlink(struct core_http_script *s, struct sc_call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (s->calls == c)
        s->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void call_free(struct sc_call *c)
{
    if (!c)
        return;
    step_free(c->step);
    core_free(c->method);
    core_free(c->url_safe);
    core_free(c);
}

/* Removes a call that has not completed: no on_done. Not for the call inside on_data. */
static void call_drop(struct core_http_script *s, struct sc_call *c)
{
    if (c->timer)
        core_loop_timer_cancel(s->loop, c->timer);
    c->timer = NULL;
    call_unlink(s, c);
    core_loop_release(s->loop);
    call_free(c);
}

static void script_release(struct core_http_script *s)
{
    struct sc_step *st = s->head;

    while (s->calls)
        call_drop(s, s->calls);
    while (st) {
        struct sc_step *next = st->next;
        step_free(st);
        st = next;
    }
    for (size_t i = 0; i < s->nreqs; i++)
        record_cleanup(&s->reqs[i]);
    core_free(s->reqs);
    core_free(s);
}

/* ---- delivery ------------------------------------------------------------------------------ */

static void call_fire(void *ud);

/* Ends a call: builds the response, hands it to on_done, frees the call. `s` is not touched
 * after on_done, which may free the script. */
static void call_complete(struct sc_call *c, int result, const char *fmt, ...)
    CORE_PRINTF(3, 4);
static void call_complete(struct sc_call *c, int result, const char *fmt, ...)
{
    struct core_http_script *s = c->s;
    struct core_http_response resp;
    const struct sc_step *st = c->step;
    char reason[256] = "";
    va_list ap;

    memset(&resp, 0, sizeof resp);
    core_buf_init(&resp.body, c->max_response);
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(reason, sizeof reason, fmt, ap);
        va_end(ap);
    }
    /* As with curl: a transport failure has no answer; anything later does have one. */
    if (st && !(result != 0 && result == st->result)) {
        resp.status = st->status;
        for (size_t i = 0; i < st->nheaders && result != CORE_E_NOMEM; i++)
            if (core_http_response_add_header(&resp, st->headers[i].name,
                                              st->headers[i].value) != 0) {
                result = CORE_E_NOMEM;
                core_strlcpy(reason, "out of memory building the scripted response",
                             sizeof reason);
            }
        if (result == 0 && !c->on_data && st->body_len > 0 &&
            core_buf_append(&resp.body, st->body, st->body_len) != 0) {
            result = CORE_E_NOMEM;
            core_strlcpy(reason, "out of memory building the scripted response", sizeof reason);
        }
    }
    resp.result = result;
    if (result != 0) {
        core_buf_cleanup(&resp.body);
        core_err_set(&resp.err, result, "%s %s: %s", c->method, c->url_safe, reason);
        resp.err.http_status = resp.status;
    }
    call_unlink(s, c);
    core_loop_release(s->loop);
    c->on_done(c->ud, &resp);
    core_http_response_cleanup(&resp);
    call_free(c);
}

/* Delivers the next streamed piece; returns 1 if the call is finished with (completed, freed
 * or rescheduled), 0 if the body is fully delivered and the call should complete. */
static int call_stream(struct sc_call *c)
{
    struct core_http_script *s = c->s;
    const struct sc_step *st = c->step;
    size_t left = st->body_len - c->offset;
    size_t piece = st->chunk && st->chunk < left ? st->chunk : left;
    int stop;

    if (left == 0)
        return 0;
    s->delivering = c;
    stop = c->offset == 0 && c->on_status ? c->on_status(c->ud, st->status) : 0;
    if (!stop && !c->cancelled && !s->dying)
        stop = c->on_data(c->ud, st->body + c->offset, piece);
    s->delivering = NULL;
    if (s->dying) {
        script_release(s);
        return 1;
    }
    if (c->cancelled) {
        call_drop(s, c);
        return 1;
    }
    if (stop) {
        call_complete(c, CORE_E_CANCELLED, "aborted by the data callback");
        return 1;
    }
    c->offset += piece;
    if (c->offset == st->body_len)
        return 0;
    c->timer = core_loop_timer_add(s->loop, st->chunk_delay, call_fire, c);
    if (!c->timer)
        call_complete(c, CORE_E_NOMEM, "out of memory scheduling the next piece");
    return 1;
}

static void call_fire(void *ud)
{
    struct sc_call *c = ud;
    const struct sc_step *st = c->step;

    c->timer = NULL;
    if (!st) {
        call_complete(c, CORE_E_TRANSPORT, "unexpected request: no scripted step matches");
        return;
    }
    if (st->result != 0) {
        call_complete(c, st->result, "scripted transport failure");
        return;
    }
    if (st->body_len > c->max_response) {
        call_complete(c, CORE_E_TOOBIG, "response body exceeds the limit of %zu bytes",
                      c->max_response);
        return;
    }
    if (c->on_data && call_stream(c))
        return;
    call_complete(c, 0, NULL);
}

/* ---- the transport ------------------------------------------------------------------------- */

static int step_matches(const struct sc_step *st, const struct core_http_request *req)
{
    if (st->method && strcmp(st->method, req->method) != 0)
        return 0;
    if (st->url) {
        size_t n = strlen(st->url);
        if (n > 0 && st->url[n - 1] == '*')
            return strncmp(st->url, req->url, n - 1) == 0;
        return strcmp(st->url, req->url) == 0;
    }
    return 1;
}

static int record_copy(struct core_http_script_request *rec, const struct core_http_request *req)
{
    int rc = CORE_E_NOMEM;

    memset(rec, 0, sizeof *rec);
    rec->method = core_strdup(req->method);
    rec->url = core_strdup(req->url);
    if (!rec->method || !rec->url)
        goto fail;
    if (req->nheaders > 0) {
        rec->headers = core_calloc(req->nheaders, sizeof *rec->headers);
        if (!rec->headers)
            goto fail;
        for (size_t i = 0; i < req->nheaders; i++) {
            rec->headers[i] = core_strdup(req->headers[i] ? req->headers[i] : "");
            if (!rec->headers[i])
                goto fail;
            rec->nheaders = i + 1;
        }
    }
    if (req->body) {
        rec->body = core_malloc(req->body_len + 1);
        if (!rec->body)
            goto fail;
        memcpy(rec->body, req->body, req->body_len);
        rec->body[req->body_len] = '\0';
        rec->body_len = req->body_len;
    }
    return 0;
fail:
    record_cleanup(rec);
    return rc;
}

static int sc_submit(struct core_http_transport *base, const struct core_http_request *req,
                     uint64_t *id, struct core_err *err)
{
    struct core_http_script *s = (struct core_http_script *)base;
    struct core_http_script_request rec;
    struct sc_call *c = NULL;
    struct sc_step *st = s->head;
    int ulen = (int)strcspn(req->url, "?#");
    int matched, rc = 0;

    memset(&rec, 0, sizeof rec);
    if (s->dying)
        return core_err_set(err, CORE_E_STATE, "script %s %.*s: script is being freed",
                            req->method, ulen, req->url);
    if (record_copy(&rec, req) != 0)
        goto nomem;
    if (s->nreqs == s->capreqs) {
        size_t ncap = s->capreqs ? s->capreqs * 2 : 16;
        struct core_http_script_request *nr = core_realloc(s->reqs, ncap * sizeof *nr);
        if (!nr)
            goto nomem;
        s->reqs = nr;
        s->capreqs = ncap;
    }
    c = core_calloc(1, sizeof *c);
    if (!c)
        goto nomem;
    c->s = s;
    c->on_data = req->on_data;
    c->on_status = req->on_status;
    c->on_done = req->on_done;
    c->ud = req->ud;
    c->max_response = req->max_response ? req->max_response : CORE_HTTP_DEFAULT_MAX_RESPONSE;
    c->method = core_strdup(req->method);
    c->url_safe = core_strndup(req->url, (size_t)ulen);
    if (!c->method || !c->url_safe)
        goto nomem;
    matched = st && step_matches(st, req);
    c->timer = core_loop_timer_add(s->loop, matched ? st->delay : 0, call_fire, c);
    if (!c->timer)
        goto nomem;

    /* Nothing below can fail. */
    if (matched) {
        s->head = st->next;
        if (!s->head)
            s->tail = NULL;
        st->next = NULL;
        s->npending--;
        c->step = st;
    } else {
        s->unexpected++;
    }
    s->reqs[s->nreqs++] = rec;
    c->id = ++s->last_id;
    c->next = s->calls;
    if (s->calls)
        s->calls->prev = c;
    s->calls = c;
    core_loop_hold(s->loop);
    *id = c->id;
    return 0;
nomem:
    rc = core_err_set(err, CORE_E_NOMEM, "script %s %.*s: out of memory", req->method, ulen,
                      req->url);
    record_cleanup(&rec);
    call_free(c);
    return rc;
}

static void sc_cancel(struct core_http_transport *base, uint64_t id)
{
    struct core_http_script *s = (struct core_http_script *)base;

    for (struct sc_call *c = s->calls; c; c = c->next) {
        if (c->id != id || c->cancelled)
            continue;
        if (c == s->delivering)
            c->cancelled = 1; /* released when its on_data returns */
        else
            call_drop(s, c);
        return;
    }
}

/* The transport view does not own the script: "destroying" it cancels what is in flight. */
static void sc_destroy(struct core_http_transport *base)
{
    struct core_http_script *s = (struct core_http_script *)base;
    struct sc_call *c = s->calls;

    while (c) {
        struct sc_call *next = c->next;
        if (c == s->delivering)
            c->cancelled = 1;
        else
            call_drop(s, c);
        c = next;
    }
}

static const struct core_http_transport_ops sc_ops = {
    .submit = sc_submit,
    .cancel = sc_cancel,
    .destroy = sc_destroy,
};

/* ---- public API ---------------------------------------------------------------------------- */

int core_http_script_new(struct core_loop *loop, struct core_http_script **out,
                         struct core_err *err)
{
    struct core_http_script *s;

    if (!loop || !out)
        return core_err_set(err, CORE_E_INVAL, "script: needs a loop");
    s = core_calloc(1, sizeof *s);
    if (!s)
        return core_err_set(err, CORE_E_NOMEM, "script: out of memory");
    s->base.ops = &sc_ops;
    s->loop = loop;
    *out = s;
    return 0;
}

struct core_http_transport *core_http_script_transport(struct core_http_script *s)
{
    return s ? &s->base : NULL;
}

void core_http_script_free(struct core_http_script *s)
{
    if (!s || s->dying)
        return;
    if (s->delivering) {
        s->dying = 1; /* call_stream releases everything once on_data returns */
        return;
    }
    script_release(s);
}

int core_http_script_expect(struct core_http_script *s, const struct core_http_script_step *step)
{
    struct sc_step *st = NULL;
    size_t blen;
    int rc = CORE_E_NOMEM;

    if (!s || !step || step->delay < 0 || step->chunk_delay < 0 || step->result > 0 ||
        (step->nheaders > 0 && !step->headers))
        return CORE_E_INVAL;
    blen = step->body && step->body_len == 0 ? strlen(step->body) : step->body_len;
    if (blen > 0 && !step->body)
        return CORE_E_INVAL;
    st = core_calloc(1, sizeof *st);
    if (!st)
        goto fail;
    st->status = step->status;
    st->result = step->result;
    st->delay = step->delay;
    st->chunk = step->chunk;
    st->chunk_delay = step->chunk_delay;
    if ((step->method && !(st->method = core_strdup(step->method))) ||
        (step->url && !(st->url = core_strdup(step->url))))
        goto fail;
    if (step->nheaders > 0) {
        st->headers = core_calloc(step->nheaders, sizeof *st->headers);
        if (!st->headers)
            goto fail;
        for (size_t i = 0; i < step->nheaders; i++) {
            const char *h = step->headers[i];
            char *name = NULL, *value = NULL;
            int prc = h ? core_http_parse_header_line(h, strlen(h), &name, &value)
                        : CORE_E_INVAL;
            if (prc != 1) {
                rc = prc == CORE_E_NOMEM ? CORE_E_NOMEM : CORE_E_INVAL;
                goto fail;
            }
            st->headers[i].name = name;
            st->headers[i].value = value;
            st->nheaders = i + 1;
        }
    }
    if (step->body) {
        st->body = core_malloc(blen + 1);
        if (!st->body)
            goto fail;
        memcpy(st->body, step->body, blen);
        st->body[blen] = '\0';
        st->body_len = blen;
    }
    if (s->tail)
        s->tail->next = st;
    else
        s->head = st;
    s->tail = st;
    s->npending++;
    return 0;
fail:
    step_free(st);
    return rc;
}

size_t core_http_script_pending(const struct core_http_script *s)
{
    return s ? s->npending : 0;
}

size_t core_http_script_unexpected(const struct core_http_script *s)
{
    return s ? s->unexpected : 0;
}

size_t core_http_script_nrequests(const struct core_http_script *s)
{
    return s ? s->nreqs : 0;
}

const struct core_http_script_request *core_http_script_request(const struct core_http_script *s,
                                                                size_t i)
{
    if (!s || i >= s->nreqs)
        return NULL;
    return &s->reqs[i];
}

const char *core_http_script_request_header(const struct core_http_script_request *r,
                                            const char *name)
{
    size_t n;

    if (!r || !name)
        return NULL;
    n = strlen(name);
    /* Last one wins, as for response headers. */
    for (size_t i = r->nheaders; i > 0; i--) {
        const char *h = r->headers[i - 1];
        if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
            const char *v = h + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
    }
    return NULL;
}
