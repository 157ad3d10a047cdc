/*
 * core/buf.c — the bounded growable buffer, bounded string helpers and integer parsing.
 *
 * Invariants: len <= limit; once memory is allocated, data[len] == '\0'; a failed append leaves
 * the buffer exactly as it was.
 */
#include "core/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void core_buf_init(struct core_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

void core_buf_cleanup(struct core_buf *b)
{
    if (!b)
        return;
    core_free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void core_buf_reset(struct core_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int core_buf_reserve(struct core_buf *b, size_t extra)
{
    size_t need, ncap;
    char *n;

    if (extra > b->limit || b->len > b->limit - extra)
        return CORE_E_TOOBIG;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->limit + 1)
        ncap = b->limit + 1 > need ? b->limit + 1 : need;
    n = core_realloc(b->data, ncap);
    if (!n)
        return CORE_E_NOMEM;
    if (!b->data)
        n[0] = '\0';
    b->data = n;
    b->cap = ncap;
    return 0;
}

int core_buf_append(struct core_buf *b, const void *p, size_t n)
{
    int rc = core_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int core_buf_append_str(struct core_buf *b, const char *s)
{
    return core_buf_append(b, s, strlen(s));
}

int core_buf_append_char(struct core_buf *b, char c)
{
    return core_buf_append(b, &c, 1);
}

int core_buf_appendf(struct core_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    int n, rc;

    va_start(ap, fmt);
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return CORE_E_INVAL;
    }
    rc = core_buf_reserve(b, (size_t)n);
    if (rc) {
        va_end(ap2);
        return rc;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
    return 0;
}

int core_buf_steal(struct core_buf *b, char **out, size_t *len_out)
{
    char *s = b->data;
    size_t len = b->len;

    if (!s) {
        s = core_malloc(1);
        if (!s)
            return CORE_E_NOMEM;
        s[0] = '\0';
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    *out = s;
    if (len_out)
        *len_out = len;
    return 0;
}

const char *core_buf_cstr(const struct core_buf *b)
{
    return b->data ? b->data : "";
}

size_t core_strlcpy(char *dst, const char *src, size_t dstsz)
{
    size_t len = strlen(src);
    if (dstsz) {
        size_t n = len < dstsz - 1 ? len : dstsz - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

int core_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end = NULL;
    long long v;

    if (!s || !*s)
        return CORE_E_PARSE;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno == ERANGE || end == s || *end != '\0')
        return CORE_E_PARSE;
    if (v < min || v > max)
        return CORE_E_INVAL;
    *out = (int64_t)v;
    return 0;
}
