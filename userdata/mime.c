/*
 * userdata/mime.c — the small MIME multipart writer and parser user data needs (cloud-init /
 * nodeadm documents): a header block, a multipart/mixed body split on its boundary, parts with
 * their own headers, base64 transfer encoding.
 *
 * Invariants:
 *  - Bounded: at most USERDATA_MIME_MAX_PARTS parts and USERDATA_MIME_MAX_HEADERS headers per
 *    block; anything over is CORE_E_PARSE, never a truncated success.
 *  - Both CRLF and LF line ends are accepted; the line end before a delimiter belongs to the
 *    delimiter (RFC 2046), so writer and parser round-trip bodies exactly.
 *  - Parsed headers and plain bodies are slices of the caller's text (which must outlive the
 *    result); only base64 bodies are copied (decoded) into owned memory.
 *  - The writer picks a boundary whose delimiter ("--" + boundary) appears in no part, so the
 *    document always splits back into the parts it was written from.
 */
#include "userdata/internal.h"

#include <openssl/evp.h>
#include <string.h>

/* ---- small helpers ------------------------------------------------------------------------- */

static int ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

static void lower_copy(char *dst, size_t dstsz, const char *src, size_t n)
{
    size_t i = 0;
    if (dstsz == 0)
        return;
    for (; i < n && i + 1 < dstsz; i++) {
        char c = src[i];
        dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    dst[i] = '\0';
}

/* The end of the line starting at p (index of '\n' or len) and where the next line starts. */
static size_t line_end(const char *t, size_t len, size_t p, size_t *next)
{
    size_t e = p;
    while (e < len && t[e] != '\n')
        e++;
    *next = e < len ? e + 1 : len;
    if (e > p && t[e - 1] == '\r')
        e--;
    return e;
}

static const void *find_mem(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
    const char *h = hay;
    if (nlen == 0 || hlen < nlen)
        return NULL;
    for (size_t i = 0; i + nlen <= hlen; i++)
        if (h[i] == *(const char *)needle && memcmp(h + i, needle, nlen) == 0)
            return h + i;
    return NULL;
}

const char *userdata_mime_header_get(const struct userdata_mime_header *h, size_t n,
                                     const char *name, size_t *len)
{
    for (size_t i = 0; i < n; i++)
        if (ieq(h[i].name, h[i].name_len, name)) {
            *len = h[i].value_len;
            return h[i].value;
        }
    return NULL;
}

/* Parses a header block from *pos up to and including its blank line. A block that reaches
 * the end of the text without a blank line is accepted only when allow_eof. */
static int parse_headers(const char *t, size_t len, size_t *pos, struct userdata_mime_header *h,
                         size_t *nh, int allow_eof, struct core_err *err)
{
    size_t p = *pos, n = 0;
    for (;;) {
        size_t next, e;
        if (p >= len) {
            if (!allow_eof)
                return core_err_set(err, CORE_E_PARSE, "MIME: header block has no end");
            break;
        }
        e = line_end(t, len, p, &next);
        if (e == p) { /* the blank line */
            p = next;
            break;
        }
        if (t[p] == ' ' || t[p] == '\t') {
            if (n == 0)
                return core_err_set(err, CORE_E_PARSE, "MIME: continuation line before a header");
            h[n - 1].value_len = e - (size_t)(h[n - 1].value - t);
            p = next;
            continue;
        }
        const char *colon = memchr(t + p, ':', e - p);
        if (!colon || colon == t + p)
            return core_err_set(err, CORE_E_PARSE, "MIME: malformed header line");
        if (n == USERDATA_MIME_MAX_HEADERS)
            return core_err_set(err, CORE_E_PARSE, "MIME: more than %d headers",
                                USERDATA_MIME_MAX_HEADERS);
        for (const char *c = t + p; c < colon; c++)
            if (*c == ' ' || *c == '\t' || (unsigned char)*c < 33 || (unsigned char)*c > 126)
                return core_err_set(err, CORE_E_PARSE, "MIME: malformed header name");
        h[n].name = t + p;
        h[n].name_len = (size_t)(colon - (t + p));
        const char *v = colon + 1;
        while (v < t + e && (*v == ' ' || *v == '\t'))
            v++;
        h[n].value = v;
        h[n].value_len = (size_t)(t + e - v);
        n++;
        p = next;
    }
    /* Trim trailing whitespace of every value (folded values may end in spaces). */
    for (size_t i = 0; i < n; i++)
        while (h[i].value_len > 0 &&
               (h[i].value[h[i].value_len - 1] == ' ' || h[i].value[h[i].value_len - 1] == '\t' ||
                h[i].value[h[i].value_len - 1] == '\r' || h[i].value[h[i].value_len - 1] == '\n'))
            h[i].value_len--;
    *pos = p;
    *nh = n;
    return 0;
}

/* The media type (lower case) and, when asked, the boundary parameter of a Content-Type. */
static int parse_content_type(const char *v, size_t n, char *type, size_t typesz, char *boundary,
                              size_t bsz, struct core_err *err)
{
    size_t i = 0, s;
    while (i < n && v[i] != ';' && v[i] != ' ' && v[i] != '\t' && v[i] != '\r' && v[i] != '\n')
        i++;
    if (i >= typesz)
        return core_err_set(err, CORE_E_PARSE, "MIME: Content-Type too long");
    lower_copy(type, typesz, v, i);
    if (boundary && bsz)
        boundary[0] = '\0';
    while (i < n) {
        while (i < n && (v[i] == ';' || v[i] == ' ' || v[i] == '\t' || v[i] == '\r' ||
                         v[i] == '\n'))
            i++;
        s = i;
        while (i < n && v[i] != '=' && v[i] != ';')
            i++;
        if (i >= n || v[i] != '=') /* a bare token: not a parameter, skip it */
            continue;
        size_t name_end = i;
        while (name_end > s && (v[name_end - 1] == ' ' || v[name_end - 1] == '\t'))
            name_end--;
        int is_boundary = ieq(v + s, name_end - s, "boundary");
        i++;
        while (i < n && (v[i] == ' ' || v[i] == '\t'))
            i++;
        const char *val;
        size_t vlen;
        if (i < n && v[i] == '"') {
            i++;
            val = v + i;
            while (i < n && v[i] != '"')
                i++;
            if (i >= n)
                return core_err_set(err, CORE_E_PARSE, "MIME: unterminated quoted parameter");
            vlen = (size_t)(v + i - val);
            i++;
        } else {
            val = v + i;
            while (i < n && v[i] != ';' && v[i] != ' ' && v[i] != '\t' && v[i] != '\r' &&
                   v[i] != '\n')
                i++;
            vlen = (size_t)(v + i - val);
        }
        if (is_boundary && boundary) {
            if (vlen == 0 || vlen > 70 || vlen >= bsz)
                return core_err_set(err, CORE_E_PARSE, "MIME: boundary must be 1-70 characters");
            memcpy(boundary, val, vlen);
            boundary[vlen] = '\0';
        }
    }
    return 0;
}

/* Decodes base64 text, skipping whitespace, into an owned buffer. */
static int b64_decode_ws(const char *s, size_t n, char **out, size_t *outlen,
                         struct core_err *err)
{
    char *clean = core_malloc(n + 1), *dec = NULL;
    size_t m = 0;
    int rc = 0;
    if (!clean)
        return core_err_set(err, CORE_E_NOMEM, "MIME: out of memory");
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            clean[m++] = s[i];
    if (m % 4 != 0 || m > (size_t)INT32_MAX) {
        rc = core_err_set(err, CORE_E_PARSE, "MIME: bad base64 body");
        goto out;
    }
    dec = core_malloc(m / 4 * 3 + 1);
    if (!dec) {
        rc = core_err_set(err, CORE_E_NOMEM, "MIME: out of memory");
        goto out;
    }
    int d = m ? EVP_DecodeBlock((unsigned char *)dec, (const unsigned char *)clean, (int)m) : 0;
    if (d < 0) {
        rc = core_err_set(err, CORE_E_PARSE, "MIME: bad base64 body");
        goto out;
    }
    size_t dl = (size_t)d;
    if (m >= 1 && clean[m - 1] == '=')
        dl--;
    if (m >= 2 && clean[m - 2] == '=')
        dl--;
    dec[dl] = '\0';
    *out = dec;
    *outlen = dl;
    dec = NULL;
out:
    core_free(dec);
    core_free(clean);
    return rc;
}

int userdata_mime_detect(const char *text, size_t len)
{
    struct userdata_mime_header h[USERDATA_MIME_MAX_HEADERS];
    size_t nh = 0, pos = 0, vl;
    if (len == 0)
        return 0;
    if (parse_headers(text, len, &pos, h, &nh, 1, NULL) != 0 || nh == 0)
        return 0;
    return userdata_mime_header_get(h, nh, "Content-Type", &vl) != NULL ||
           userdata_mime_header_get(h, nh, "MIME-Version", &vl) != NULL;
}

/* Whether the line [p, e) is the delimiter "--boundary" (closing: "--boundary--"), with only
 * whitespace after it. Returns 1 for a delimiter, 2 for the closing one, 0 otherwise. */
static int is_delim(const char *t, size_t p, size_t e, const char *b, size_t blen)
{
    if (e - p < blen + 2 || t[p] != '-' || t[p + 1] != '-' || memcmp(t + p + 2, b, blen) != 0)
        return 0;
    size_t q = p + 2 + blen;
    int closing = 0;
    if (e - q >= 2 && t[q] == '-' && t[q + 1] == '-') {
        closing = 1;
        q += 2;
    }
    for (; q < e; q++)
        if (t[q] != ' ' && t[q] != '\t')
            return 0;
    return closing ? 2 : 1;
}

static int parse_part(const char *t, size_t start, size_t end, struct userdata_mime_part *part,
                      struct core_err *err)
{
    size_t pos = start, vl;
    const char *v;
    int rc;
    memset(part, 0, sizeof *part);
    rc = parse_headers(t, end, &pos, part->headers, &part->nheaders, 1, err);
    if (rc)
        return rc;
    v = userdata_mime_header_get(part->headers, part->nheaders, "Content-Type", &vl);
    if (v) {
        rc = parse_content_type(v, vl, part->content_type, sizeof part->content_type, NULL, 0,
                                err);
        if (rc)
            return rc;
    }
    v = userdata_mime_header_get(part->headers, part->nheaders, "Content-Transfer-Encoding", &vl);
    if (v) {
        if (vl >= sizeof part->encoding)
            return core_err_set(err, CORE_E_PARSE, "MIME: bad Content-Transfer-Encoding");
        lower_copy(part->encoding, sizeof part->encoding, v, vl);
    }
    part->raw_body = t + pos;
    part->raw_body_len = end - pos;
    if (strcmp(part->encoding, "base64") == 0) {
        rc = b64_decode_ws(t + pos, end - pos, &part->owned, &part->body_len, err);
        if (rc)
            return rc;
        part->body = part->owned;
    } else {
        part->body = t + pos;
        part->body_len = end - pos;
    }
    return 0;
}

int userdata_mime_parse(const char *text, size_t len, struct userdata_mime *out,
                        struct core_err *err)
{
    struct userdata_mime *m = core_calloc(1, sizeof *m);
    size_t pos = 0, vl, blen, part_start = 0, cap = 0;
    int rc, in_part = 0, closed = 0;
    const char *v;

    if (!m)
        return core_err_set(err, CORE_E_NOMEM, "MIME: out of memory");
    rc = parse_headers(text, len, &pos, m->headers, &m->nheaders, 0, err);
    if (rc)
        goto out;
    v = userdata_mime_header_get(m->headers, m->nheaders, "Content-Type", &vl);
    if (!v) {
        rc = core_err_set(err, CORE_E_PARSE, "MIME: no Content-Type header");
        goto out;
    }
    rc = parse_content_type(v, vl, m->content_type, sizeof m->content_type, m->boundary,
                            sizeof m->boundary, err);
    if (rc)
        goto out;
    if (strncmp(m->content_type, "multipart/", 10) != 0) {
        rc = core_err_set(err, CORE_E_PARSE, "MIME: Content-Type is not multipart");
        goto out;
    }
    if (m->boundary[0] == '\0') {
        rc = core_err_set(err, CORE_E_PARSE, "MIME: multipart document without a boundary");
        goto out;
    }
    blen = strlen(m->boundary);
    while (pos < len && !closed) {
        size_t next, e = line_end(text, len, pos, &next);
        int d = is_delim(text, pos, e, m->boundary, blen);
        if (d) {
            if (in_part) {
                /* The line end before the delimiter belongs to the delimiter. */
                size_t body_end = pos;
                if (body_end > part_start && text[body_end - 1] == '\n')
                    body_end--;
                if (body_end > part_start && text[body_end - 1] == '\r')
                    body_end--;
                if (body_end < part_start)
                    body_end = part_start;
                if (m->nparts == USERDATA_MIME_MAX_PARTS) {
                    rc = core_err_set(err, CORE_E_PARSE, "MIME: more than %d parts",
                                      USERDATA_MIME_MAX_PARTS);
                    goto out;
                }
                if (m->nparts == cap) {
                    size_t ncap = cap ? cap * 2 : 4;
                    struct userdata_mime_part *np =
                        core_realloc(m->parts, ncap * sizeof *np);
                    if (!np) {
                        rc = core_err_set(err, CORE_E_NOMEM, "MIME: out of memory");
                        goto out;
                    }
                    m->parts = np;
                    cap = ncap;
                }
                rc = parse_part(text, part_start, body_end, &m->parts[m->nparts], err);
                if (rc) {
                    core_free(m->parts[m->nparts].owned);
                    core_err_prefix(err, "part %zu", m->nparts + 1);
                    goto out;
                }
                m->nparts++;
            }
            if (d == 2)
                closed = 1;
            in_part = 1;
            part_start = next;
        }
        pos = next;
    }
    if (!closed) {
        rc = core_err_set(err, CORE_E_PARSE, "MIME: no closing delimiter --%s--", m->boundary);
        goto out;
    }
    *out = *m;
    core_free(m);
    m = NULL;
out:
    if (m)
        userdata_mime_cleanup(m);
    core_free(m);
    return rc;
}

void userdata_mime_cleanup(struct userdata_mime *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nparts; i++)
        core_free(m->parts[i].owned);
    core_free(m->parts);
    memset(m, 0, sizeof *m);
}

int userdata_mime_write(const struct userdata_mime_out_part *parts, size_t n,
                        struct core_buf *out, struct core_err *err)
{
    char boundary[32];
    size_t start = out->len;
    int rc = 0;

    /* One pass picks a boundary that cannot clash: "//" when "--//" appears nowhere, else
     * "//1" followed by more zeros than the longest run of digits after any "--//" in the
     * content. (Trying "//1", "//2", ... in turn let a hostile document cost a minute.) */
    {
        size_t longest = 0;
        int seen = 0;
        static const char pre[] = "--" USERDATA_MIME_BOUNDARY;
        const size_t plen = sizeof pre - 1;
        for (size_t i = 0; i < n; i++) {
            const char *bufs[2] = {parts[i].body, parts[i].headers};
            size_t lens[2] = {parts[i].body_len, parts[i].headers_len};
            for (int b = 0; b < 2; b++) {
                const char *p = bufs[b], *end = bufs[b] ? bufs[b] + lens[b] : NULL;
                while (p && (p = find_mem(p, (size_t)(end - p), pre, plen)) != NULL) {
                    size_t run = 0;
                    p += plen;
                    while (p + run < end && p[run] >= '0' && p[run] <= '9')
                        run++;
                    seen = 1;
                    if (run > longest)
                        longest = run;
                    p += run;
                }
            }
        }
        if (!seen) {
            snprintf(boundary, sizeof boundary, "%s", USERDATA_MIME_BOUNDARY);
        } else if (longest + 1 + strlen(USERDATA_MIME_BOUNDARY) >= sizeof boundary) {
            return core_err_set(err, CORE_E_INVAL,
                                "MIME: the content has \"--%s\" followed by %zu digits; no "
                                "boundary can be chosen",
                                USERDATA_MIME_BOUNDARY, longest);
        } else {
            size_t off = (size_t)snprintf(boundary, sizeof boundary, "%s1",
                                          USERDATA_MIME_BOUNDARY);
            for (size_t z = 0; z < longest; z++)
                boundary[off++] = '0';
            boundary[off] = '\0';
        }
    }
    rc = core_buf_appendf(out, "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"%s\"\n\n",
                          boundary);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = core_buf_appendf(out, "--%s\n", boundary);
        if (!rc && parts[i].headers_len > 0) {
            rc = core_buf_append(out, parts[i].headers, parts[i].headers_len);
            if (!rc)
                rc = core_buf_append_char(out, '\n');
        }
        if (!rc)
            rc = core_buf_append_char(out, '\n');
        if (!rc)
            rc = core_buf_append(out, parts[i].body, parts[i].body_len);
        if (!rc)
            rc = core_buf_append_char(out, '\n');
    }
    if (!rc)
        rc = core_buf_appendf(out, "--%s--\n", boundary);
    if (rc) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
        return core_err_set(err, rc, "MIME: %s", rc == CORE_E_TOOBIG ? "document too large"
                                                                   : "out of memory");
    }
    return 0;
}
