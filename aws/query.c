/*
 * aws/query.c — the Query protocol's form: ordered name=value pairs, encoded for a request
 * body and parsed back (the emulators read what the client writes).
 *
 * Invariants: pairs keep their insertion order (AWS does not care, but tests compare exact
 * bodies); encoding keeps only RFC 3986 unreserved characters and is done by libcurl's escape;
 * decoding treats '+' as a space, as form bodies do, then unescapes with libcurl.
 */
#include "aws/aws.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#define QUERY_NAME_MAX 256

void aws_query_init(struct aws_query *q)
{
    memset(q, 0, sizeof *q);
}

void aws_query_cleanup(struct aws_query *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++) {
        core_free(q->names[i]);
        core_free(q->values[i]);
    }
    core_free(q->names);
    core_free(q->values);
    memset(q, 0, sizeof *q);
}

/* Takes ownership of name and value (frees them on failure too). */
static int query_push(struct aws_query *q, char *name, char *value)
{
    if (!name || !value)
        goto nomem;
    if (q->n == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 16;
        char **nn = core_realloc(q->names, ncap * sizeof *nn);
        char **nv;
        if (!nn)
            goto nomem;
        q->names = nn;
        nv = core_realloc(q->values, ncap * sizeof *nv);
        if (!nv)
            goto nomem;
        q->values = nv;
        q->cap = ncap;
    }
    q->names[q->n] = name;
    q->values[q->n] = value;
    q->n++;
    return 0;
nomem:
    core_free(name);
    core_free(value);
    return CORE_E_NOMEM;
}

int aws_query_add(struct aws_query *q, const char *name, const char *value)
{
    return query_push(q, core_strdup(name), core_strdup(value ? value : ""));
}

int aws_query_addf(struct aws_query *q, const char *value, const char *name_fmt, ...)
{
    char name[QUERY_NAME_MAX];
    va_list ap;
    int n;
    va_start(ap, name_fmt);
    n = vsnprintf(name, sizeof name, name_fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof name)
        return CORE_E_TOOBIG;
    return aws_query_add(q, name, value);
}

const char *aws_query_get(const struct aws_query *q, const char *name)
{
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->names[i], name) == 0)
            return q->values[i];
    return NULL;
}

static int query_escape(struct core_buf *out, const char *s)
{
    char *e = curl_easy_escape(NULL, s, (int)strlen(s));
    int rc;
    if (!e)
        return CORE_E_NOMEM;
    rc = core_buf_append_str(out, e);
    curl_free(e);
    return rc;
}

int aws_query_encode(const struct aws_query *q, struct core_buf *out)
{
    size_t start = out->len;
    int rc = 0;
    for (size_t i = 0; i < q->n && !rc; i++) {
        if (i)
            rc = core_buf_append_char(out, '&');
        if (!rc)
            rc = query_escape(out, q->names[i]);
        if (!rc)
            rc = core_buf_append_char(out, '=');
        if (!rc)
            rc = query_escape(out, q->values[i]);
    }
    if (rc) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return rc;
}

/* Decodes one form component into a heap string; NULL on allocation failure. */
static char *query_unescape(const char *s, size_t len)
{
    char *tmp = core_strndup(s, len), *dec, *out;
    int outlen = 0;
    if (!tmp)
        return NULL;
    for (char *p = tmp; *p; p++)
        if (*p == '+')
            *p = ' ';
    dec = curl_easy_unescape(NULL, tmp, (int)strlen(tmp), &outlen);
    core_free(tmp);
    if (!dec)
        return NULL;
    out = core_strndup(dec, (size_t)outlen);
    curl_free(dec);
    return out;
}

int aws_query_parse(struct aws_query *q, const char *body, size_t len, struct core_err *err)
{
    struct aws_query tmp;
    const char *p = body, *end = body + len;
    int rc = 0;

    aws_query_init(&tmp);
    if (len > (size_t)1 << 30)
        return core_err_set(err, CORE_E_TOOBIG, "form body larger than 1 GiB");
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (stop > p) {
            const char *nend = eq ? eq : stop;
            char *name = query_unescape(p, (size_t)(nend - p));
            char *value = eq ? query_unescape(eq + 1, (size_t)(stop - eq - 1)) : core_strdup("");
            if (name && strlen(name) >= QUERY_NAME_MAX) {
                core_free(name);
                core_free(value);
                rc = core_err_set(err, CORE_E_TOOBIG, "form parameter name longer than %d bytes",
                                  QUERY_NAME_MAX - 1);
                goto done;
            }
            rc = query_push(&tmp, name, value);
            if (rc) {
                core_err_set(err, rc, "form: out of memory");
                goto done;
            }
        }
        p = amp ? amp + 1 : end;
    }
    aws_query_cleanup(q);
    *q = tmp;
    aws_query_init(&tmp);
done:
    aws_query_cleanup(&tmp);
    return rc;
}
