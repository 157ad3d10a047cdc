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
 *  - Streams (sim_stream_*, defined here for both front ends): a handler that begins a stream
 *    gets its status and headers delivered after its delay, then every queued byte, in order,
 *    from a zero-delay loop timer that each write or end arms (on_status once before the first
 *    byte; a caller without on_data gets the bytes accumulated as an ordinary body); on_done
 *    after sim_stream_end once the queue is empty. A cancel (or an abort from on_data, or the
 *    limit) makes the stream "gone": writes are dropped and on_close runs from the loop, never
 *    inside cancel, write or end. Destroying the transport runs on_close of open streams.
 */
#include "sim/internal.h"

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
    int held;                  /* holds the loop */
    struct sim_stream st;      /* req->stream for the handler */
    int streaming;             /* the handler began a stream */
    int ready;                 /* streaming and the handler's delay is over */
    int status_sent;           /* on_status ran */
    int closing;               /* cancelled with the stream open: on_close owed from the loop */
    size_t delivered;          /* stream bytes handed out */
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
    sim_stream_cleanup(&c->st);
    core_free(c);
}

static void call_release_hold(struct st_call *c)
{
    if (c->held)
        core_loop_release(c->t->loop);
    c->held = 0;
}

/* Removes a call that has not completed: no on_done. Not for the call inside a callback. */
static void call_drop(struct sim_transport *t, struct st_call *c)
{
    if (c->timer)
        core_loop_timer_cancel(t->loop, c->timer);
    c->timer = NULL;
    call_unlink(t, c);
    call_release_hold(c);
    call_free(c);
}

/* An open stream's other side is gone: tell the handler (we are on the loop), then drop. */
static void call_close_drop(struct sim_transport *t, struct st_call *c)
{
    sim_stream_close(&c->st);
    call_drop(t, c);
}

static void close_fire(void *ud)
{
    struct st_call *c = ud;
    c->timer = NULL;
    call_close_drop(c->t, c);
}

/* Cancel of a call whose stream is open: no on_done, no more delivery, and on_close from the
 * next loop turn rather than inside cancel. */
static void call_cancel_stream(struct sim_transport *t, struct st_call *c)
{
    if (c->timer)
        core_loop_timer_cancel(t->loop, c->timer);
    c->st.gone = 1;
    c->closing = 1;
    call_release_hold(c);
    c->timer = core_loop_timer_add(t->loop, 0, close_fire, c);
    if (!c->timer)
        call_close_drop(t, c); /* out of memory: late is worse than inside cancel */
}

static int stream_open(const struct st_call *c)
{
    return c->streaming && !c->st.ended && !c->st.closed;
}

static void transport_release(struct sim_transport *t)
{
    while (t->calls) {
        if (stream_open(t->calls))
            call_close_drop(t, t->calls);
        else
            call_drop(t, t->calls);
    }
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
    call_release_hold(c);
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
    hr.stream = &c->st;
    memset(&c->resp, 0, sizeof c->resp);
    core_buf_init(&c->resp.body, ST_BODY_LIMIT);
    /* The handler may reach back (an observer cancelling this call or destroying the
     * transport): treat it like a delivery callback so nothing is freed under it. */
    t->delivering = c;
    c->st.in_handler = 1;
    t->fn(t->ud, &hr, &c->resp, &delay);
    c->st.in_handler = 0;
    t->delivering = NULL;
    c->streaming = c->st.begun;
    if (t->dying) {
        transport_release(t);
        return;
    }
    if (c->cancelled) {
        if (stream_open(c))
            call_cancel_stream(t, c);
        else
            call_drop(t, c);
        return;
    }
    if (c->streaming) {
        /* The handler's body is the first piece, ahead of what it wrote during the call. */
        if (c->resp.body.len && sim_stream_prepend(&c->st, c->resp.body.data,
                                                   c->resp.body.len) != 0) {
            call_close_drop(t, c);
            return;
        }
        core_buf_cleanup(&c->resp.body);
        core_buf_init(&c->resp.body, c->max_response);
    }
    c->answered = 1;
    if (delay < 0)
        delay = 0;
    c->timer = core_loop_timer_add(t->loop, delay, call_fire, c);
    if (!c->timer) {
        /* The handler may hold the stream: tell it first, so it never writes to a freed one. */
        if (stream_open(c))
            sim_stream_close(&c->st);
        call_complete(c, CORE_E_NOMEM, "out of memory scheduling the answer");
    }
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

/* Hands every queued stream byte to the caller; completes after sim_stream_end. From a loop
 * timer only. */
static void stream_deliver(struct st_call *c)
{
    struct sim_transport *t = c->t;
    struct core_buf piece;
    size_t n = sim_stream_pending(&c->st);
    int stop = 0;

    if (n > 0) {
        if (n > c->max_response - c->delivered) {
            sim_stream_close(&c->st);
            call_complete(c, CORE_E_TOOBIG, "response body exceeds the limit of %zu bytes",
                          c->max_response);
            return;
        }
        sim_stream_take(&c->st, &piece);
        c->delivered += n;
        if (!c->on_data) {
            stop = core_buf_append(&c->resp.body, piece.data, piece.len) != 0;
            core_buf_cleanup(&piece);
            if (stop) {
                sim_stream_close(&c->st);
                call_complete(c, CORE_E_NOMEM, "out of memory collecting the stream");
                return;
            }
        } else {
            t->delivering = c;
            if (!c->status_sent) {
                c->status_sent = 1;
                if (c->on_status)
                    stop = c->on_status(c->ud, c->resp.status);
            }
            if (!stop && !c->cancelled && !t->dying)
                stop = c->on_data(c->ud, piece.data, piece.len);
            t->delivering = NULL;
            core_buf_cleanup(&piece);
            if (t->dying) {
                transport_release(t);
                return;
            }
            if (c->cancelled) {
                if (stream_open(c))
                    call_close_drop(t, c);
                else
                    call_drop(t, c);
                return;
            }
            if (stop) {
                sim_stream_close(&c->st);
                call_complete(c, CORE_E_CANCELLED, "aborted by the data callback");
                return;
            }
        }
    }
    if (c->st.ended && sim_stream_pending(&c->st) == 0)
        call_complete(c, 0, NULL);
}

static void stream_kick(struct sim_stream *s)
{
    struct st_call *c = s->fe;

    if (!c->ready || c->timer || c->closing)
        return;
    /* On allocation failure the bytes wait for the next write or end to arm the timer. */
    c->timer = core_loop_timer_add(c->t->loop, 0, call_fire, c);
}

static const struct sim_stream_ops st_stream_ops = {
    .kick = stream_kick,
};

static void call_fire(void *ud)
{
    struct st_call *c = ud;

    c->timer = NULL;
    if (!c->answered) {
        call_handle(c);
        return;
    }
    if (c->streaming) {
        c->ready = 1;
        stream_deliver(c);
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
    sim_stream_init(&c->st, &st_stream_ops, c);
    c->next = t->calls;
    if (t->calls)
        t->calls->prev = c;
    t->calls = c;
    core_loop_hold(t->loop);
    c->held = 1;
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
        if (c->id != id || c->cancelled || c->closing)
            continue;
        if (c == t->delivering)
            c->cancelled = 1; /* released when its callback returns */
        else if (stream_open(c))
            call_cancel_stream(t, c);
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

/* ---- streams: the handler's side, shared by both front ends -------------------------------- */

void sim_stream_init(struct sim_stream *s, const struct sim_stream_ops *ops, void *fe)
{
    memset(s, 0, sizeof *s);
    s->ops = ops;
    s->fe = fe;
    /* The limit is enforced on undelivered bytes in sim_stream_write; the buffer may also
     * hold up to as much already consumed before it is compacted. */
    core_buf_init(&s->q, 2 * (size_t)SIM_STREAM_QUEUE_MAX);
}

void sim_stream_cleanup(struct sim_stream *s)
{
    core_buf_cleanup(&s->q);
    s->q_off = 0;
}

size_t sim_stream_pending(const struct sim_stream *s)
{
    return s->q.len - s->q_off;
}

/* Drops consumed bytes from the front once they are at least half the buffer, so compaction
 * costs O(1) amortised per byte. */
static void stream_compact(struct sim_stream *s)
{
    if (s->q_off == 0)
        return;
    if (s->q_off == s->q.len) {
        core_buf_reset(&s->q);
        s->q_off = 0;
        return;
    }
    if (s->q_off < s->q.len / 2)
        return;
    memmove(s->q.data, s->q.data + s->q_off, s->q.len - s->q_off);
    s->q.len -= s->q_off;
    s->q.data[s->q.len] = '\0';
    s->q_off = 0;
}

int sim_stream_prepend(struct sim_stream *s, const char *data, size_t len)
{
    struct core_buf nb;
    size_t pending = sim_stream_pending(s);
    int rc;

    if (len == 0)
        return 0;
    core_buf_init(&nb, s->q.limit);
    rc = core_buf_append(&nb, data, len);
    if (!rc && pending)
        rc = core_buf_append(&nb, s->q.data + s->q_off, pending);
    if (rc) {
        core_buf_cleanup(&nb);
        return rc;
    }
    core_buf_cleanup(&s->q);
    s->q = nb;
    s->q_off = 0;
    return 0;
}

void sim_stream_take(struct sim_stream *s, struct core_buf *piece)
{
    size_t limit = s->q.limit;

    *piece = s->q;
    if (s->q_off) {
        memmove(piece->data, piece->data + s->q_off, piece->len - s->q_off);
        piece->len -= s->q_off;
        piece->data[piece->len] = '\0';
    }
    core_buf_init(&s->q, limit);
    s->q_off = 0;
}

size_t sim_stream_read(struct sim_stream *s, char *buf, size_t max)
{
    size_t n = sim_stream_pending(s);

    if (n > max)
        n = max;
    if (n) {
        memcpy(buf, s->q.data + s->q_off, n);
        s->q_off += n;
        stream_compact(s);
    }
    return n;
}

void sim_stream_close(struct sim_stream *s)
{
    int notify = s->begun && !s->ended && !s->closed;

    s->gone = 1;
    s->closed = 1;
    if (notify && s->on_close)
        s->on_close(s->ud);
}

int sim_stream_begin(struct sim_stream *s, sim_stream_close_fn on_close, void *ud)
{
    if (!s || !s->in_handler || s->begun)
        return CORE_E_STATE;
    s->begun = 1;
    s->on_close = on_close;
    s->ud = ud;
    return 0;
}

int sim_stream_write(struct sim_stream *s, const char *data, size_t len)
{
    int rc;

    if (!s || !s->begun || s->ended)
        return CORE_E_STATE;
    if (s->gone || len == 0)
        return 0; /* on_close is on its way */
    if (len > SIM_STREAM_QUEUE_MAX || sim_stream_pending(s) > SIM_STREAM_QUEUE_MAX - len)
        return CORE_E_TOOBIG;
    stream_compact(s);
    rc = core_buf_append(&s->q, data, len);
    if (rc)
        return rc;
    if (!s->in_handler)
        s->ops->kick(s);
    return 0;
}

void sim_stream_end(struct sim_stream *s)
{
    if (!s || !s->begun || s->ended)
        return;
    s->ended = 1;
    if (!s->in_handler && !s->gone)
        s->ops->kick(s);
}
