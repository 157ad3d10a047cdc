/*
 * k8s/watch.c — the raw watch: a streamed GET with watch=1 whose body is one JSON event per line,
 * cut into lines by a bounded splitter and handed out as (type, object) pairs.
 *
 * The wire protocol (Kubernetes API concepts, "efficient detection of changes"): each line is
 * {"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": {...}}. A BOOKMARK carries only
 * metadata.resourceVersion (a point the client may resume from); an ERROR carries a Status,
 * and a Status with code 410 (reason "Expired" or "Gone") means the resourceVersion asked for
 * is no longer in the server's history: the caller must list again. The server ends the stream
 * normally after timeoutSeconds.
 *
 * Invariants:
 *  - The splitter never holds more than max_line + 1 bytes (the +1 is a CR of a CRLF ending),
 *    so a hostile or broken server cannot make us grow without bound. After it reports an error
 *    of its own (CORE_E_TOOBIG, CORE_E_NOMEM) it is poisoned: every later feed fails with
 *    CORE_E_TOOBIG without calling fn, until the caller cleans it up and initialises it again.
 *    It refuses rather than resynchronising because the bytes after an oversized line's cut are
 *    the middle of that line, not the start of an event. (max_line == 0 is the poisoned mark;
 *    init maps 0 to the default.)
 *  - A watch ends exactly once: on_done runs once, or k8s_watch_stop is called first (then
 *    never). The watch frees itself after on_done returns; the handle is dead from then on, and
 *    k8s_watch_stop inside on_done is a harmless no-op. k8s_watch_stop inside on_event is safe:
 *    the free is deferred until the stream's data callback unwinds.
 *  - No event is lost silently: a stream that ends inside a line (a dropped connection in the
 *    middle of an event) is CORE_E_TRANSPORT, not a normal end.
 *  - rc on_done: 0 normal end; CORE_E_STATE with http_status 410 and service_code
 *    "Expired"/"Gone" for a too-old resourceVersion (ERROR event or 410 answer); the decoded
 *    Status for other ERROR events; CORE_E_PARSE naming the resource for a malformed line or
 *    unknown type; CORE_E_TOOBIG for an event over max_event; CORE_E_TRANSPORT for a truncated
 *    stream; otherwise the stream's own error.
 */
#include "k8s/internal.h"

#include <curl/curl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define WATCH_DEFAULT_TIMEOUT 300u
/* Bookmarks come about once a minute and the server's timeoutSeconds ends the stream: a
 * stream that stays silent 30 s past that is dead, whatever TCP thinks. */
#define WATCH_IDLE_MARGIN (30 * CORE_NS_PER_S)
#define WATCH_PATH_MAX 4096
#define WATCH_QUERY_MAX (64 * 1024)

/* ---- splitter -------------------------------------------------------------------------------- */

void k8s_splitter_init(struct k8s_splitter *s, size_t max_line)
{
    if (max_line == 0)
        max_line = K8S_WATCH_DEFAULT_MAX_EVENT;
    s->max_line = max_line;
    core_buf_init(&s->line, max_line < SIZE_MAX ? max_line + 1 : SIZE_MAX);
}

void k8s_splitter_cleanup(struct k8s_splitter *s)
{
    if (!s)
        return;
    core_buf_cleanup(&s->line);
    s->max_line = 0;
}

static int splitter_poison(struct k8s_splitter *s, int rc)
{
    core_buf_cleanup(&s->line);
    s->max_line = 0;
    return rc;
}

/* Whether held + piece (raw, before dropping a final CR) can still be a line of at most
 * max_line bytes: it may exceed max_line by one byte only if that byte is the CR of a CRLF. */
static int splitter_fits(const struct k8s_splitter *s, const char *piece, size_t n)
{
    size_t held = s->line.len;
    char last;

    if (n > SIZE_MAX - held)
        return 0;
    if (held + n <= s->max_line)
        return 1;
    if (s->max_line == SIZE_MAX || held + n != s->max_line + 1)
        return 0;
    last = n > 0 ? piece[n - 1] : s->line.data[held - 1];
    return last == '\r';
}

int k8s_splitter_feed(struct k8s_splitter *s, const char *data, size_t len,
                      int (*fn)(void *ud, const char *line, size_t len), void *ud)
{
    const char *p = data, *end = data + len;

    if (s->max_line == 0)
        return CORE_E_TOOBIG;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        const char *line;
        int rc;

        if (!splitter_fits(s, p, n))
            return splitter_poison(s, CORE_E_TOOBIG);
        if (!nl) {
            /* A partial line: keep it until the rest arrives. */
            rc = core_buf_append(&s->line, p, n);
            return rc ? splitter_poison(s, rc) : 0;
        }
        if (s->line.len == 0) {
            /* The whole line is in this piece: hand it out without copying. */
            line = p;
        } else {
            rc = core_buf_append(&s->line, p, n);
            if (rc)
                return splitter_poison(s, rc);
            line = s->line.data;
            n = s->line.len;
        }
        p = nl + 1;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        rc = n > 0 ? fn(ud, line, n) : 0;
        core_buf_reset(&s->line);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- one event line ---------------------------------------------------------------------------- */

static const struct {
    const char *name;
    enum k8s_event_type type;
} event_types[] = {
    {"ADDED", K8S_ADDED},       {"MODIFIED", K8S_MODIFIED}, {"DELETED", K8S_DELETED},
    {"BOOKMARK", K8S_BOOKMARK}, {"ERROR", K8S_ERROR},
};

int k8s_watch_parse_event(const char *line, size_t len, const char *what,
                          enum k8s_event_type *type, json_t **obj, struct core_err *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(line, len, 0, &jerr);
    const char *tname, *rv;
    json_t *o;
    size_t i;
    int rc = 0;

    if (!what)
        what = "watch";
    if (!root)
        return core_err_set(err, CORE_E_PARSE, "%s: event is not JSON: %s (column %d)", what,
                            jerr.text, jerr.column);
    if (!json_is_object(root)) {
        rc = core_err_set(err, CORE_E_PARSE, "%s: event is not a JSON object", what);
        goto out;
    }
    tname = json_string_value(json_object_get(root, "type"));
    if (!tname) {
        rc = core_err_set(err, CORE_E_PARSE, "%s: event has no string \"type\"", what);
        goto out;
    }
    for (i = 0; i < sizeof event_types / sizeof event_types[0]; i++)
        if (strcmp(tname, event_types[i].name) == 0)
            break;
    if (i == sizeof event_types / sizeof event_types[0]) {
        rc = core_err_set(err, CORE_E_PARSE, "%s: unknown event type \"%.40s\"", what, tname);
        goto out;
    }
    o = json_object_get(root, "object");
    if (!json_is_object(o)) {
        rc = core_err_set(err, CORE_E_PARSE, "%s: %s event: \"object\" is not a JSON object",
                          what, event_types[i].name);
        goto out;
    }
    if (event_types[i].type == K8S_BOOKMARK) {
        /* A bookmark exists only to carry a resourceVersion; one without is useless and would
         * leave a resuming client nowhere to resume from. */
        rv = json_string_value(json_object_get(json_object_get(o, "metadata"),
                                               "resourceVersion"));
        if (!rv || !*rv) {
            rc = core_err_set(err, CORE_E_PARSE,
                              "%s: BOOKMARK event: object.metadata.resourceVersion is missing",
                              what);
            goto out;
        }
    }
    *type = event_types[i].type;
    *obj = json_incref(o);
out:
    json_decref(root);
    return rc;
}

/* An ERROR event's Status as the watch's end. */
static int watch_status_error(const char *what, const json_t *st, struct core_err *err)
{
    const json_t *code = json_object_get(st, "code");
    const char *reason = json_string_value(json_object_get(st, "reason"));
    const char *msg = json_string_value(json_object_get(st, "message"));
    long http = 0;
    int rc;

    if (json_is_integer(code) && json_integer_value(code) > 0 &&
        json_integer_value(code) < 1000)
        http = (long)json_integer_value(code);
    if (http == 410 ||
        (http == 0 && reason && (strcmp(reason, "Expired") == 0 || strcmp(reason, "Gone") == 0))) {
        core_err_set(err, CORE_E_STATE, "%s: resourceVersion too old: %s", what,
                     msg ? msg : "410 Gone");
        core_err_set_service(err, 410, reason && *reason ? reason : "Gone", NULL);
        return CORE_E_STATE;
    }
    core_err_clear(err);
    rc = k8s_status_decode(st, http, err);
    if (rc >= 0) {
        /* A Status that decodes to no error is still the end of the watch. */
        rc = CORE_E_HTTP;
        if (err && err->code == 0)
            err->code = rc;
    }
    if (err && err->message[0] == '\0')
        core_err_set(err, rc, "ERROR event (code %ld)", http);
    core_err_prefix(err, "%s", what);
    return rc;
}

/* ---- the watch --------------------------------------------------------------------------------- */

struct k8s_watch {
    struct k8s_stream *stream; /* NULL once finished or cancelled */
    struct k8s_splitter sp;
    k8s_watch_event_fn on_event;
    k8s_watch_done_fn on_done;
    void *ud;
    size_t max_event;
    char what[96]; /* "watch pods" — names the resource in every message */
    int fail_rc;   /* why the data callback aborted the stream; reported instead of CANCELLED */
    struct core_err fail_err;
    int in_data;   /* inside the stream's data callback: stop defers the free */
    int in_done;   /* inside on_done: stop is a no-op, the free follows */
    int stopped;
};

static void watch_free(struct k8s_watch *w)
{
    if (!w)
        return;
    k8s_splitter_cleanup(&w->sp);
    core_free(w);
}

static int watch_line(void *ud, const char *line, size_t len)
{
    struct k8s_watch *w = ud;
    enum k8s_event_type type;
    json_t *obj = NULL;
    int rc;

    rc = k8s_watch_parse_event(line, len, w->what, &type, &obj, &w->fail_err);
    if (rc) {
        w->fail_rc = rc;
        return rc;
    }
    if (type == K8S_ERROR) {
        w->fail_rc = watch_status_error(w->what, obj, &w->fail_err);
        json_decref(obj);
        return w->fail_rc;
    }
    w->on_event(w->ud, type, obj);
    json_decref(obj);
    return w->stopped ? 1 : 0;
}

static int watch_data(void *ud, const char *data, size_t len)
{
    struct k8s_watch *w = ud;
    int rc;

    w->in_data = 1;
    rc = k8s_splitter_feed(&w->sp, data, len, watch_line, w);
    w->in_data = 0;
    if (w->stopped) {
        /* Stopped from on_event: the stream is already cancelled. */
        watch_free(w);
        return 1;
    }
    if (rc && w->fail_rc == 0) {
        /* The splitter's own failure. */
        if (rc == CORE_E_TOOBIG)
            w->fail_rc = core_err_set(&w->fail_err, CORE_E_TOOBIG,
                                      "%s: an event exceeds the limit of %zu bytes", w->what,
                                      w->max_event);
        else
            w->fail_rc = core_err_set(&w->fail_err, rc, "%s: out of memory holding an event",
                                      w->what);
    }
    /* Non-zero aborts the stream; its on_done then reports fail_rc in place of CANCELLED. */
    return rc ? 1 : 0;
}

static void watch_done(void *ud, int rc, const struct core_err *serr)
{
    struct k8s_watch *w = ud;
    struct core_err e;

    w->stream = NULL;
    core_err_clear(&e);
    if (w->fail_rc) {
        rc = w->fail_rc;
        e = w->fail_err;
    } else if (rc == 0) {
        if (w->sp.line.len > 0)
            rc = core_err_set(&e, CORE_E_TRANSPORT,
                              "%s: the stream ended inside an event (%zu bytes unterminated)",
                              w->what, w->sp.line.len);
    } else {
        if (serr)
            e = *serr;
        else
            core_err_set(&e, rc, "%s: %s", w->what, core_strerror(rc));
        if (e.http_status == 410) {
            /* A 410 answer to the watch request itself: the same as an ERROR event. */
            rc = CORE_E_STATE;
            e.code = rc;
            if (e.service_code[0] == '\0')
                core_strlcpy(e.service_code, "Gone", sizeof e.service_code);
        }
        if (e.code == 0)
            e.code = rc;
    }
    w->in_done = 1;
    w->on_done(w->ud, rc, rc ? &e : NULL);
    watch_free(w);
}

static int query_add(struct core_buf *q, const char *name, const char *value)
{
    char *esc;
    int rc;

    if (!value || !*value)
        return 0;
    if (strlen(value) > INT_MAX)
        return CORE_E_TOOBIG;
    esc = curl_easy_escape(NULL, value, 0);
    if (!esc)
        return CORE_E_NOMEM;
    rc = core_buf_appendf(q, "&%s=%s", name, esc);
    curl_free(esc);
    return rc;
}

int k8s_watch_start(struct k8s_client *c, const struct k8s_resource *res, const char *ns,
                    const struct k8s_watch_opts *opts, k8s_watch_event_fn on_event,
                    k8s_watch_done_fn on_done, void *ud, struct k8s_watch **out,
                    struct core_err *err)
{
    static const struct k8s_watch_opts defaults;
    struct core_buf path, query;
    struct k8s_watch *w = NULL;
    unsigned timeout;
    int rc;

    core_buf_init(&path, WATCH_PATH_MAX);
    core_buf_init(&query, WATCH_QUERY_MAX);
    if (!c || !res || !on_event || !on_done || !out) {
        rc = core_err_set(err, CORE_E_INVAL, "watch: client, resource, callbacks and out are "
                                             "required");
        goto out;
    }
    if (!opts)
        opts = &defaults;
    timeout = opts->timeout_seconds ? opts->timeout_seconds : WATCH_DEFAULT_TIMEOUT;
    rc = k8s_resource_path(res, ns, NULL, NULL, &path, err);
    if (rc)
        goto out;
    rc = core_buf_append_str(&query, "watch=1");
    if (rc == 0 && !opts->no_bookmarks)
        rc = core_buf_append_str(&query, "&allowWatchBookmarks=true");
    if (rc == 0)
        rc = query_add(&query, "resourceVersion", opts->resource_version);
    if (rc == 0)
        rc = core_buf_appendf(&query, "&timeoutSeconds=%u", timeout);
    if (rc == 0)
        rc = query_add(&query, "labelSelector", opts->label_selector);
    if (rc == 0)
        rc = query_add(&query, "fieldSelector", opts->field_selector);
    if (rc) {
        rc = core_err_set(err, rc, "watch %s: building the query: %s", res->plural,
                          core_strerror(rc));
        goto out;
    }
    w = core_calloc(1, sizeof *w);
    if (!w) {
        rc = core_err_set(err, CORE_E_NOMEM, "watch %s: out of memory", res->plural);
        goto out;
    }
    w->on_event = on_event;
    w->on_done = on_done;
    w->ud = ud;
    snprintf(w->what, sizeof w->what, "watch %s%s%s", res->plural,
             res->group && *res->group ? "." : "", res->group ? res->group : "");
    w->max_event = opts->max_event ? opts->max_event : K8S_WATCH_DEFAULT_MAX_EVENT;
    k8s_splitter_init(&w->sp, w->max_event);
    rc = k8s_client_stream(c, core_buf_cstr(&path), core_buf_cstr(&query),
                           (core_ns)timeout * CORE_NS_PER_S + WATCH_IDLE_MARGIN, watch_data,
                           watch_done, w, &w->stream, err);
    if (rc)
        goto out;
    *out = w;
    w = NULL;
out:
    watch_free(w);
    core_buf_cleanup(&path);
    core_buf_cleanup(&query);
    return rc;
}

void k8s_watch_stop(struct k8s_watch *w)
{
    if (!w || w->stopped)
        return;
    w->stopped = 1;
    if (w->in_done)
        return; /* freed when on_done returns */
    k8s_stream_cancel(w->stream);
    w->stream = NULL;
    if (w->in_data)
        return; /* freed when the data callback unwinds */
    watch_free(w);
}
