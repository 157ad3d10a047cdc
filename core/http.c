/*
 * core/http.c — the transport-independent half of the HTTP seam: dispatch through the ops
 * table, response header storage and lookup, and the parser for raw response header lines.
 *
 * Invariants:
 *  - core_http_submit refuses a request that no transport could send safely (missing method,
 *    URL or completion) before any transport sees it, so implementations can rely on those.
 *  - A response's headers array holds exactly nheaders entries, each with a heap name and value;
 *    its capacity is implied by nheaders (4, then powers of two), so the public struct needs no
 *    capacity field.
 *  - core_http_parse_header_line reads exactly `len` bytes, never past them and never relying on
 *    a terminating NUL: it is fed raw bytes from the network and from a fuzzer. It returns a
 *    header only when the name is a valid RFC 9110 token and the value holds no NUL, CR or LF,
 *    so what it hands out is always safe to print and to compare as a C string.
 */
#include "core/core.h"

#include <string.h>
#include <strings.h>

/* A header line longer than this is not something a sane server sends; curl's own per-header
 * ceiling is 100 KiB, so this bound only matters for other callers (tests, fuzzers). */
#define HTTP_HEADER_LINE_MAX (128u * 1024u)

int core_http_submit(struct core_http_transport *t, const struct core_http_request *req,
                     uint64_t *id, struct core_err *err)
{
    uint64_t got = 0;
    int rc;

    if (!t || !t->ops || !t->ops->submit)
        return core_err_set(err, CORE_E_INVAL, "http: submit without a transport");
    if (!req || !req->method || !req->method[0] || !req->url || !req->url[0])
        return core_err_set(err, CORE_E_INVAL, "http: request needs a method and a URL");
    if (!req->on_done)
        return core_err_set(err, CORE_E_INVAL, "http: request %s %s has no completion callback",
                            req->method, req->url);
    if (req->body_len > 0 && !req->body)
        return core_err_set(err, CORE_E_INVAL, "http: request body length without a body");
    if (req->nheaders > 0 && !req->headers)
        return core_err_set(err, CORE_E_INVAL, "http: header count without headers");
    rc = t->ops->submit(t, req, &got, err);
    if (rc == 0 && id)
        *id = got;
    return rc;
}

void core_http_cancel(struct core_http_transport *t, uint64_t id)
{
    if (t && t->ops && t->ops->cancel)
        t->ops->cancel(t, id);
}

void core_http_transport_free(struct core_http_transport *t)
{
    if (t && t->ops && t->ops->destroy)
        t->ops->destroy(t);
}

const char *core_http_response_header(const struct core_http_response *resp, const char *name)
{
    if (!resp || !name)
        return NULL;
    /* Walk backwards so the last header of a repeated name wins, as the contract says. */
    for (size_t i = resp->nheaders; i > 0; i--) {
        const struct core_http_header *h = &resp->headers[i - 1];
        if (h->name && strcasecmp(h->name, name) == 0)
            return h->value ? h->value : "";
    }
    return NULL;
}

static void headers_free(struct core_http_response *resp)
{
    for (size_t i = 0; i < resp->nheaders; i++) {
        core_free(resp->headers[i].name);
        core_free(resp->headers[i].value);
    }
    core_free(resp->headers);
    resp->headers = NULL;
    resp->nheaders = 0;
}

void core_http_response_cleanup(struct core_http_response *resp)
{
    if (!resp)
        return;
    headers_free(resp);
    core_buf_cleanup(&resp->body);
    memset(resp, 0, sizeof *resp);
}

int core_http_response_add_header(struct core_http_response *resp, const char *name,
                                  const char *value)
{
    size_t n;
    char *nm = NULL, *val = NULL;
    int rc = 0;

    if (!resp || !name || !value)
        return CORE_E_INVAL;
    n = resp->nheaders;
    /* Grow when the implied capacity is full: 0 -> 4, then at every power of two >= 4. */
    if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
        size_t ncap = n == 0 ? 4 : n * 2;
        struct core_http_header *nh;
        if (ncap > SIZE_MAX / sizeof *nh)
            return CORE_E_TOOBIG;
        nh = core_realloc(resp->headers, ncap * sizeof *nh);
        if (!nh)
            return CORE_E_NOMEM;
        resp->headers = nh;
    }
    nm = core_strdup(name);
    val = core_strdup(value);
    if (!nm || !val) {
        rc = CORE_E_NOMEM;
        goto fail;
    }
    resp->headers[n].name = nm;
    resp->headers[n].value = val;
    resp->nheaders = n + 1;
    return 0;
fail:
    core_free(nm);
    core_free(val);
    return rc;
}

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int core_http_parse_header_line(const char *line, size_t len, char **name, char **value)
{
    size_t colon, vstart, vend;
    char *nm = NULL, *val = NULL;
    int rc = 0;

    if (!name || !value || (!line && len > 0))
        return CORE_E_INVAL;
    if (len > HTTP_HEADER_LINE_MAX)
        return CORE_E_TOOBIG;
    /* The terminator is not part of the line; strip any mix of trailing CR and LF. */
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len == 0)
        return 0; /* the blank line that ends a header block */
    if (line[0] == ' ' || line[0] == '\t')
        return 0; /* obs-fold continuation: deprecated, and curl hands it over separately */
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0)
        return 0; /* status line */

    for (colon = 0; colon < len && line[colon] != ':'; colon++) {
        if (!is_tchar((unsigned char)line[colon]))
            return CORE_E_PARSE; /* includes whitespace before the colon, which RFC 9112 bans */
    }
    if (colon == 0 || colon == len)
        return CORE_E_PARSE;

    vstart = colon + 1;
    vend = len;
    while (vstart < vend && (line[vstart] == ' ' || line[vstart] == '\t'))
        vstart++;
    while (vend > vstart && (line[vend - 1] == ' ' || line[vend - 1] == '\t'))
        vend--;
    for (size_t i = vstart; i < vend; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c == '\0' || c == '\r' || c == '\n')
            return CORE_E_PARSE;
    }

    nm = core_malloc(colon + 1);
    val = core_malloc(vend - vstart + 1);
    if (!nm || !val) {
        rc = CORE_E_NOMEM;
        goto fail;
    }
    memcpy(nm, line, colon);
    nm[colon] = '\0';
    memcpy(val, line + vstart, vend - vstart);
    val[vend - vstart] = '\0';
    *name = nm;
    *value = val;
    return 1;
fail:
    core_free(nm);
    core_free(val);
    return rc;
}
