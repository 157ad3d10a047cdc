/*
 * core/log.c — structured, one-line log records (logfmt or JSON) with redaction.
 *
 * Invariants:
 *  - One call writes one whole line with one fwrite, so records from one process never
 *    interleave mid-line.
 *  - A value is written only after the redaction rules cleared it: sensitive field names and
 *    values that look like credentials are replaced by "[redacted]", whatever the caller meant.
 *    The message itself is checked with the value rules too.
 *  - JSON records are built with jansson, never by hand.
 *  - Fields come in (name, value) pairs ended by NULL; at most LOG_MAX_FIELDS are written, so a
 *    caller that forgets the terminator is cut off rather than reading the whole stack.
 */
#include "core/core.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define LOG_MAX_FIELDS 32
#define LOG_CAPTURE_LIMIT (16u * 1024u * 1024u)
#define LOG_REDACTED "[redacted]"

struct core_log {
    FILE *stream; /* NULL = capture */
    struct core_buf capture;
    enum core_log_format fmt;
    enum core_log_level min;
    const struct core_clock *clock;
    unsigned long capture_dropped;
};

static struct core_log *log_alloc(FILE *stream, enum core_log_format fmt,
                                  enum core_log_level min_level, const struct core_clock *clock)
{
    struct core_log *l = core_calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->stream = stream;
    l->fmt = fmt;
    l->min = min_level;
    l->clock = clock;
    core_buf_init(&l->capture, LOG_CAPTURE_LIMIT);
    return l;
}

struct core_log *core_log_new(void *stream, enum core_log_format fmt,
                              enum core_log_level min_level, const struct core_clock *clock)
{
    return log_alloc(stream ? stream : stderr, fmt, min_level, clock);
}

struct core_log *core_log_new_capture(enum core_log_format fmt, enum core_log_level min_level,
                                      const struct core_clock *clock)
{
    return log_alloc(NULL, fmt, min_level, clock);
}

void core_log_free(struct core_log *l)
{
    if (!l)
        return;
    core_buf_cleanup(&l->capture);
    core_free(l);
}

const char *core_log_captured(const struct core_log *l)
{
    return core_buf_cstr(&l->capture);
}

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int core_log_level_parse(const char *s, enum core_log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum core_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = CORE_LOG_WARN;
        return 0;
    }
    return CORE_E_INVAL;
}

int core_log_format_parse(const char *s, enum core_log_format *out)
{
    if (strcasecmp(s, "logfmt") == 0 || strcasecmp(s, "text") == 0) {
        *out = CORE_LOG_LOGFMT;
        return 0;
    }
    if (strcasecmp(s, "json") == 0) {
        *out = CORE_LOG_JSON;
        return 0;
    }
    return CORE_E_INVAL;
}

/* ---- redaction ----------------------------------------------------------------------------- */

int core_log_field_is_sensitive(const char *name)
{
    static const char *const words[] = {"token",   "secret",     "password", "passwd",
                                        "authorization", "signature", "credential",
                                        "session", "cookie",     "private",  "userdata",
                                        "user_data", "user-data"};
    if (!name)
        return 0;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasestr(name, words[i]))
            return 1;
    return 0;
}

int core_log_value_is_sensitive(const char *v)
{
    static const char *const marks[] = {
        "k8s-aws-v1.",           /* EKS bearer token */
        "AWS4-HMAC-SHA256 ",     /* SigV4 Authorization header */
        "X-Amz-Signature=",      /* pre-signed URL */
        "X-Amz-Security-Token=", /* pre-signed URL with session token */
        "PRIVATE KEY-----",      /* PEM key */
        "aws_secret_access_key", /* a shared credentials file */
    };
    if (!v)
        return 0;
    /* Anywhere in the value: an error message may quote a header. */
    if (strcasestr(v, "Bearer ") || strcasestr(v, "Basic ") || strcasestr(v, "Authorization:"))
        return 1;
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (strcasestr(v, marks[i]))
            return 1;
    return 0;
}

static const char *safe_value(const char *name, const char *value)
{
    if (!value)
        return "";
    if (core_log_field_is_sensitive(name) || core_log_value_is_sensitive(value))
        return LOG_REDACTED;
    return value;
}

/* ---- formatting ---------------------------------------------------------------------------- */

static int logfmt_needs_quotes(const char *v)
{
    if (!*v)
        return 1;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p <= ' ' || *p == '=' || *p == '"' || *p == '\\' || *p == 0x7f)
            return 1;
    return 0;
}

static int logfmt_value(struct core_buf *b, const char *v)
{
    int rc = 0;
    if (!logfmt_needs_quotes(v))
        return core_buf_append_str(b, v);
    rc = core_buf_append_char(b, '"');
    for (const unsigned char *p = (const unsigned char *)v; !rc && *p; p++) {
        switch (*p) {
        case '"': rc = core_buf_append_str(b, "\\\""); break;
        case '\\': rc = core_buf_append_str(b, "\\\\"); break;
        case '\n': rc = core_buf_append_str(b, "\\n"); break;
        case '\r': rc = core_buf_append_str(b, "\\r"); break;
        case '\t': rc = core_buf_append_str(b, "\\t"); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                rc = core_buf_appendf(b, "\\x%02x", *p);
            else
                rc = core_buf_append_char(b, (char)*p);
        }
    }
    return rc ? rc : core_buf_append_char(b, '"');
}

static int logfmt_pair(struct core_buf *b, const char *name, const char *v)
{
    int rc = core_buf_append_char(b, ' ');
    if (!rc)
        rc = core_buf_append_str(b, name);
    if (!rc)
        rc = core_buf_append_char(b, '=');
    return rc ? rc : logfmt_value(b, v);
}

static void stamp(const struct core_log *l, char *out, size_t outsz)
{
    core_ns wall = l->clock ? core_clock_wall(l->clock) : 0;
    char base[32];
    core_time_rfc3339(wall, base, sizeof base);
    /* Insert milliseconds before the 'Z'. */
    if (strlen(base) == 20)
        snprintf(out, outsz, "%.19s.%03dZ", base, (int)((wall / CORE_NS_PER_MS) % 1000));
    else
        core_strlcpy(out, base, outsz);
}

static int format_logfmt(struct core_log *l, struct core_buf *b, enum core_log_level level,
                         const char *component, const char *key, const char *msg, va_list kv)
{
    char ts[40];
    int rc;

    stamp(l, ts, sizeof ts);
    rc = core_buf_append_str(b, "ts=");
    if (!rc)
        rc = core_buf_append_str(b, ts);
    if (!rc)
        rc = logfmt_pair(b, "level", level_names[level]);
    if (!rc && component)
        rc = logfmt_pair(b, "component", component);
    if (!rc && key)
        rc = logfmt_pair(b, "key", safe_value("key", key));
    if (!rc && msg)
        rc = logfmt_pair(b, "msg", safe_value("msg", msg));
    for (int i = 0; !rc && i < LOG_MAX_FIELDS; i++) {
        const char *name = va_arg(kv, const char *);
        const char *val;
        if (!name)
            break;
        val = va_arg(kv, const char *);
        rc = logfmt_pair(b, name, safe_value(name, val));
    }
    return rc ? rc : core_buf_append_char(b, '\n');
}

/* json_string refuses invalid UTF-8: keep the record and say so rather than drop it. */
static json_t *json_utf8(const char *s)
{
    json_t *j = json_string(s);
    return j ? j : json_string("[invalid utf-8]");
}

static int format_json(struct core_log *l, struct core_buf *b, enum core_log_level level,
                       const char *component, const char *key, const char *msg, va_list kv)
{
    char ts[40];
    json_t *o = json_object();
    char *text = NULL;
    int rc = CORE_E_NOMEM;

    if (!o)
        return CORE_E_NOMEM;
    stamp(l, ts, sizeof ts);
    if (json_object_set_new(o, "ts", json_string(ts)) ||
        json_object_set_new(o, "level", json_string(level_names[level])))
        goto done;
    if (component && json_object_set_new(o, "component", json_utf8(component)))
        goto done;
    if (key && json_object_set_new(o, "key", json_utf8(safe_value("key", key))))
        goto done;
    if (msg && json_object_set_new(o, "msg", json_utf8(safe_value("msg", msg))))
        goto done;
    for (int i = 0; i < LOG_MAX_FIELDS; i++) {
        const char *name = va_arg(kv, const char *);
        const char *val;
        if (!name)
            break;
        val = va_arg(kv, const char *);
        json_t *js = json_utf8(safe_value(name, val));
        if (!js || json_object_set_new(o, name, js))
            goto done;
    }
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        goto done;
    rc = core_buf_append_str(b, text);
    if (!rc)
        rc = core_buf_append_char(b, '\n');
done:
    free(text);
    json_decref(o);
    return rc;
}

void core_log_writev(struct core_log *l, enum core_log_level level, const char *component,
                     const char *key, const char *msg, va_list kv)
{
    struct core_buf line;
    int rc;

    if (!l || level < l->min || level > CORE_LOG_ERROR)
        return;
    core_buf_init(&line, 64 * 1024);
    if (l->fmt == CORE_LOG_JSON)
        rc = format_json(l, &line, level, component, key, msg, kv);
    else
        rc = format_logfmt(l, &line, level, component, key, msg, kv);
    if (rc == CORE_E_TOOBIG) {
        /* A record over 64 KiB is cut and marked rather than lost. */
        core_buf_reset(&line);
        rc = core_buf_appendf(&line, "level=%s component=%s msg=\"record too long, dropped\"\n",
                              level_names[level], component ? component : "");
    }
    if (rc == 0) {
        if (l->stream) {
            fwrite(line.data, 1, line.len, l->stream);
            fflush(l->stream);
        } else {
            /* A full capture buffer drops records: it only serves tests. */
            if (core_buf_append(&l->capture, line.data, line.len) != 0)
                l->capture_dropped++;
        }
    }
    core_buf_cleanup(&line);
}

void core_log_write(struct core_log *l, enum core_log_level level, const char *component,
                    const char *key, const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    core_log_writev(l, level, component, key, msg, ap);
    va_end(ap);
}
