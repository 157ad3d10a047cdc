/*
 * aws/sigv4.c — AWS Signature Version 4: canonical request, string to sign, signature, the
 * signed products (headers, pre-signed query), and the EKS token built on a pre-signed STS URL.
 *
 * Invariants:
 *  - All hashing, HMAC and base64 is OpenSSL's; this file only arranges bytes around it.
 *  - Every piece of outside text (target, header names and values) is measured against a
 *    fixed limit before it is used, and all text is built in bounded core_bufs, so hostile
 *    input yields CORE_E_INVAL / CORE_E_TOOBIG, never an overflow.
 *  - Public functions build their result in a private buffer and append it to the caller's
 *    buffer in one step, so a failure leaves the caller's buffer as it was.
 *  - The secret key and every key derived from it live in memory this file wipes
 *    (OPENSSL_cleanse) before freeing or returning; error messages never quote a secret,
 *    token or signature.
 *  - Character classes are ASCII tables here, never <ctype.h>, so the locale cannot change a
 *    signature.
 */
#include "aws/aws.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SV_SHA256_LEN 32
#define SV_HEX_LEN 64
#define SV_SCOPE_PART_MAX 64    /* region, service */
#define SV_AKID_MAX 128         /* access key ids are 16..128 characters */
#define SV_SECRET_MAX 1024      /* generous; real secrets are 40 characters */
#define SV_TOKEN_MAX 16384      /* session tokens are a few KiB at most */
#define SV_METHOD_MAX 32
#define SV_HEADER_NAME_MAX 256
#define SV_SCOPE_MAX (8 + 1 + SV_SCOPE_PART_MAX + 1 + SV_SCOPE_PART_MAX + 1 + 12)
#define SV_EKS_HOST_MAX 255

/* Parameters the signer adds to a pre-signed request; the request must not carry them. */
static const char *const sv_presign_names[] = {
    "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",     "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature",
};

/* Headers that proxies and HTTP stacks add, drop or rewrite on the way: signing them would
 * make a valid request fail verification, so they are left out of the signature. */
static const char *const sv_unsigned_headers[] = {
    "user-agent", "x-amzn-trace-id", "expect", "connection", "upgrade", "transfer-encoding",
};

#define SV_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------------------------ */
/* Character classes and small text helpers                                                    */
/* ------------------------------------------------------------------------------------------ */

static int sv_is_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 3986 unreserved: the only bytes SigV4 leaves unencoded. */
static int sv_is_unreserved(unsigned char c)
{
    return sv_is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 7230 tchar: what a method or header name may be made of. */
static int sv_is_tchar(unsigned char c)
{
    return sv_is_alnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Whitespace for header values; CR and LF included so obs-fold lines collapse too. */
static int sv_is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static unsigned char sv_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static int sv_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* ASCII case-insensitive comparison of two counted names. */
static int sv_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = sv_lower((unsigned char)a[i]), y = sv_lower((unsigned char)b[i]);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return alen == blen ? 0 : (alen < blen ? -1 : 1);
}

static int sv_name_is(const char *name, size_t len, const char *lower)
{
    return sv_name_cmp(name, len, lower, strlen(lower)) == 0;
}

static void sv_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

/* Appends s[0..n) percent-encoded: unreserved bytes (and '/' when keep_slash) as they are,
 * everything else as %XX with uppercase hex, which is what SigV4 requires. */
static int sv_append_encoded(struct core_buf *b, const char *s, size_t n, int keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    int rc;

    if (n > SIZE_MAX / 3)
        return CORE_E_TOOBIG;
    rc = core_buf_reserve(b, 3 * n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (sv_is_unreserved(c) || (keep_slash && c == '/')) {
            b->data[b->len++] = (char)c;
        } else {
            b->data[b->len++] = '%';
            b->data[b->len++] = digits[c >> 4];
            b->data[b->len++] = digits[c & 0x0f];
        }
    }
    b->data[b->len] = '\0';
    return 0;
}

/* Appends s[0..n) percent-decoded. A '%' not followed by two hex digits is kept literally:
 * servers do the same, and refusing would make the signer a validator of other people's
 * URLs. The decoded text may contain any byte, NUL included; it is only ever re-encoded. */
static int sv_append_decoded(struct core_buf *b, const char *s, size_t n)
{
    int rc = core_buf_reserve(b, n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%' && n - i >= 3) {
            int hi = sv_hexval((unsigned char)s[i + 1]), lo = sv_hexval((unsigned char)s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                c = (unsigned char)(hi * 16 + lo);
                i += 2;
            }
        }
        b->data[b->len++] = (char)c;
    }
    b->data[b->len] = '\0';
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Crypto (OpenSSL)                                                                            */
/* ------------------------------------------------------------------------------------------ */

static int sv_sha256_hex(const void *data, size_t n, char out[SV_HEX_LEN + 1],
                         struct core_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (!EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != SV_SHA256_LEN)
        return core_err_set(err, CORE_E_NOMEM, "sigv4: SHA-256 failed in OpenSSL");
    sv_hex(md, SV_SHA256_LEN, out);
    return 0;
}

static int sv_hmac(const void *key, size_t keylen, const void *data, size_t n,
                   unsigned char out[SV_SHA256_LEN])
{
    unsigned int outlen = 0;

    if (keylen > INT32_MAX)
        return CORE_E_INVAL;
    if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data, n, out, &outlen) ||
        outlen != SV_SHA256_LEN)
        return CORE_E_NOMEM;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Validation of parameters and credentials                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Region and service go into the credential scope, a '/'-separated part of a header and of a
 * URL, and the region into a host name: only a conservative charset is accepted. */
static int sv_check_scope_part(const char *s, const char *what, struct core_err *err)
{
    size_t n;

    if (!s || !*s)
        return core_err_set(err, CORE_E_INVAL, "sigv4: %s is empty", what);
    n = strnlen(s, SV_SCOPE_PART_MAX + 1);
    if (n > SV_SCOPE_PART_MAX)
        return core_err_set(err, CORE_E_INVAL, "sigv4: %s is longer than %d bytes", what,
                            SV_SCOPE_PART_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!sv_is_alnum(c) && c != '-' && c != '_' && c != '.')
            return core_err_set(err, CORE_E_INVAL,
                                "sigv4: %s has a character other than letters, digits, "
                                "'-', '_' and '.' at offset %zu",
                                what, i);
    }
    return 0;
}

static int sv_check_params(const struct aws_sigv4_params *p, struct core_err *err)
{
    int rc;

    if (!p)
        return core_err_set(err, CORE_E_INVAL, "sigv4: no signing parameters");
    rc = sv_check_scope_part(p->region, "region", err);
    if (rc)
        return rc;
    return sv_check_scope_part(p->service, "service", err);
}

static int sv_expires_seconds(const struct aws_sigv4_params *p, int64_t *out,
                              struct core_err *err)
{
    if (p->expires < CORE_NS_PER_S || p->expires % CORE_NS_PER_S != 0 ||
        p->expires / CORE_NS_PER_S > AWS_SIGV4_EXPIRES_MAX_S)
        return core_err_set(err, CORE_E_INVAL,
                            "sigv4: expires must be whole seconds between 1 and %d",
                            AWS_SIGV4_EXPIRES_MAX_S);
    *out = p->expires / CORE_NS_PER_S;
    return 0;
}

/* need_secret: the caller is about to derive a key. The contents of the secret and token
 * are never quoted; only what is wrong with them. */
static int sv_check_creds(const struct aws_credentials *c, int need_secret,
                          struct core_err *err)
{
    size_t n;

    if (!c || !c->access_key_id || !*c->access_key_id)
        return core_err_set(err, CORE_E_AUTH, "sigv4: credentials have no access key id");
    n = strnlen(c->access_key_id, SV_AKID_MAX + 1);
    if (n > SV_AKID_MAX)
        return core_err_set(err, CORE_E_AUTH, "sigv4: access key id is longer than %d bytes",
                            SV_AKID_MAX);
    for (size_t i = 0; i < n; i++)
        if (!sv_is_alnum((unsigned char)c->access_key_id[i]))
            return core_err_set(err, CORE_E_AUTH,
                                "sigv4: access key id has a character other than letters "
                                "and digits");
    if (need_secret) {
        if (!c->secret_access_key || !*c->secret_access_key)
            return core_err_set(err, CORE_E_AUTH, "sigv4: credentials have no secret key");
        if (strnlen(c->secret_access_key, SV_SECRET_MAX + 1) > SV_SECRET_MAX)
            return core_err_set(err, CORE_E_AUTH, "sigv4: secret key is longer than %d bytes",
                                SV_SECRET_MAX);
    }
    if (c->session_token) {
        /* The token goes verbatim into a header: no blanks or control bytes. */
        n = strnlen(c->session_token, SV_TOKEN_MAX + 1);
        if (n == 0 || n > SV_TOKEN_MAX)
            return core_err_set(err, CORE_E_AUTH,
                                "sigv4: session token is empty or longer than %d bytes",
                                SV_TOKEN_MAX);
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)c->session_token[i];
            if (ch <= 0x20 || ch >= 0x7f)
                return core_err_set(err, CORE_E_AUTH,
                                    "sigv4: session token has a byte that is not visible "
                                    "ASCII at offset %zu",
                                    i);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Dates and scope                                                                             */
/* ------------------------------------------------------------------------------------------ */

/* "YYYYMMDDTHHMMSSZ" for wall; the first 8 bytes are the scope date. */
static int sv_amz_date(core_ns wall, char out[AWS_SIGV4_DATE_LEN + 1], struct core_err *err)
{
    time_t t;
    struct tm tm;

    if (wall < 0)
        return core_err_set(err, CORE_E_INVAL, "sigv4: signing time is before 1970");
    t = (time_t)(wall / CORE_NS_PER_S);
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999)
        return core_err_set(err, CORE_E_INVAL, "sigv4: signing time is after year 9999");
    if (strftime(out, AWS_SIGV4_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) != AWS_SIGV4_DATE_LEN)
        return core_err_set(err, CORE_E_INVAL, "sigv4: signing time does not format");
    return 0;
}

/* date8/region/service/aws4_request into scope (SV_SCOPE_MAX + 1 bytes); params checked. */
static void sv_scope(const char *amz_date, const struct aws_sigv4_params *p, char *scope)
{
    size_t n = 0, l;

    memcpy(scope, amz_date, 8);
    n = 8;
    scope[n++] = '/';
    l = strlen(p->region);
    memcpy(scope + n, p->region, l);
    n += l;
    scope[n++] = '/';
    l = strlen(p->service);
    memcpy(scope + n, p->service, l);
    n += l;
    memcpy(scope + n, "/aws4_request", sizeof "/aws4_request");
}

/* ------------------------------------------------------------------------------------------ */
/* Canonical path                                                                              */
/* ------------------------------------------------------------------------------------------ */

/* Removes empty and "." segments and resolves ".." (never above the root); keeps a trailing
 * slash when the original path had one. This matches the suite and the AWS SDKs. */
static int sv_normalize_path(const char *path, size_t n, struct core_buf *out)
{
    size_t i = 0;
    int rc;

    while (i < n) {
        size_t s, len;
        while (i < n && path[i] == '/')
            i++;
        s = i;
        while (i < n && path[i] != '/')
            i++;
        len = i - s;
        if (len == 0 || (len == 1 && path[s] == '.'))
            continue;
        if (len == 2 && path[s] == '.' && path[s + 1] == '.') {
            while (out->len > 0 && out->data[out->len - 1] != '/')
                out->len--;
            if (out->len > 0)
                out->len--; /* the '/' before the dropped segment */
            if (out->data)
                out->data[out->len] = '\0';
            continue;
        }
        rc = core_buf_append_char(out, '/');
        if (!rc)
            rc = core_buf_append(out, path + s, len);
        if (rc)
            return rc;
    }
    if (out->len == 0 || (n > 0 && path[n - 1] == '/'))
        return core_buf_append_char(out, '/');
    return 0;
}

static int sv_canonical_path(const char *path, size_t n, const struct aws_sigv4_params *p,
                             struct core_buf *out, struct core_err *err)
{
    struct core_buf norm;
    int rc = 0;

    core_buf_init(&norm, AWS_SIGV4_TEXT_MAX);
    if (n > 0 && path[0] != '/') {
        rc = core_err_set(err, CORE_E_INVAL, "sigv4: request target does not start with '/'");
        goto done;
    }
    if (n == 0) {
        rc = core_buf_append_char(out, '/');
    } else {
        if (p->normalize_path) {
            rc = sv_normalize_path(path, n, &norm);
            path = core_buf_cstr(&norm);
            n = norm.len;
        }
        if (!rc && p->path_is_encoded)
            rc = core_buf_append(out, path, n);
        else if (!rc)
            rc = sv_append_encoded(out, path, n, 1);
    }
    if (rc)
        core_err_set(err, rc, "sigv4: canonical path: %s", core_strerror(rc));
done:
    core_buf_cleanup(&norm);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Canonical headers                                                                           */
/* ------------------------------------------------------------------------------------------ */

struct sv_hdr {
    const char *name;
    size_t name_len;
    const char *value;
    size_t order; /* position of appearance: equal names keep it after sorting */
};

static int sv_hdr_cmp(const void *a, const void *b)
{
    const struct sv_hdr *x = a, *y = b;
    int c = sv_name_cmp(x->name, x->name_len, y->name, y->name_len);
    if (c)
        return c;
    return x->order < y->order ? -1 : (x->order > y->order ? 1 : 0);
}

/* Appends value trimmed, with each run of whitespace turned into one space. */
static int sv_append_header_value(struct core_buf *b, const char *v)
{
    size_t n = strlen(v);
    int pending = 0, wrote = 0, rc = core_buf_reserve(b, n);

    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (sv_is_ws(c)) {
            pending = 1;
            continue;
        }
        if (pending && wrote)
            b->data[b->len++] = ' ';
        pending = 0;
        wrote = 1;
        b->data[b->len++] = (char)c;
    }
    b->data[b->len] = '\0';
    return 0;
}

struct sv_added_header {
    const char *name; /* lowercase */
    const char *value;
};

/* Builds the canonical header block (each "name:value\n") into hdrs and the signed header
 * list ("a;b;c") into signed_list, from the request's headers plus `added`. */
static int sv_canonical_headers(const struct aws_sigv4_request *req, enum aws_sigv4_mode mode,
                                const struct aws_sigv4_params *p,
                                const struct sv_added_header *added, size_t nadded,
                                struct core_buf *hdrs, struct core_buf *signed_list,
                                struct core_err *err)
{
    struct sv_hdr *h = NULL;
    size_t n = 0;
    int have_host = 0, rc = 0;

    h = core_calloc(req->nheaders + nadded + 1, sizeof *h);
    if (!h) {
        rc = core_err_set(err, CORE_E_NOMEM, "sigv4: out of memory for headers");
        goto done;
    }
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *name = req->headers[i].name, *value = req->headers[i].value;
        size_t nl, vl, skip = 0;

        if (!name || !value) {
            rc = core_err_set(err, CORE_E_INVAL, "sigv4: request header %zu has no name or value",
                              i);
            goto done;
        }
        nl = strnlen(name, SV_HEADER_NAME_MAX + 1);
        if (nl == 0 || nl > SV_HEADER_NAME_MAX) {
            rc = core_err_set(err, CORE_E_INVAL,
                              "sigv4: request header %zu has an empty or over-long name", i);
            goto done;
        }
        for (size_t j = 0; j < nl; j++) {
            if (!sv_is_tchar((unsigned char)name[j])) {
                rc = core_err_set(err, CORE_E_INVAL,
                                  "sigv4: request header %zu has a name that is not an HTTP "
                                  "token",
                                  i);
                goto done;
            }
        }
        vl = strnlen(value, AWS_SIGV4_HEADER_VALUE_MAX + 1);
        if (vl > AWS_SIGV4_HEADER_VALUE_MAX) {
            rc = core_err_set(err, CORE_E_TOOBIG,
                              "sigv4: request header %.*s has a value over %u bytes", (int)nl,
                              name, AWS_SIGV4_HEADER_VALUE_MAX);
            goto done;
        }
        /* Headers the signer sets itself: a second copy would be signed but not be the one
         * the service checks. */
        if (sv_name_is(name, nl, "authorization") || sv_name_is(name, nl, "x-amz-date") ||
            sv_name_is(name, nl, "x-amz-security-token") ||
            (mode == AWS_SIGV4_HEADERS && p->sign_body &&
             sv_name_is(name, nl, "x-amz-content-sha256"))) {
            rc = core_err_set(err, CORE_E_INVAL,
                              "sigv4: request already has a %.*s header, which the signer "
                              "adds itself",
                              (int)nl, name);
            goto done;
        }
        for (size_t j = 0; j < SV_COUNT(sv_unsigned_headers); j++)
            if (sv_name_is(name, nl, sv_unsigned_headers[j]))
                skip = 1;
        if (skip)
            continue;
        if (sv_name_is(name, nl, "host"))
            have_host = 1;
        h[n].name = name;
        h[n].name_len = nl;
        h[n].value = value;
        h[n].order = n;
        n++;
    }
    if (!have_host) {
        rc = core_err_set(err, CORE_E_INVAL, "sigv4: request has no Host header");
        goto done;
    }
    for (size_t i = 0; i < nadded; i++) {
        h[n].name = added[i].name;
        h[n].name_len = strlen(added[i].name);
        h[n].value = added[i].value;
        h[n].order = n;
        n++;
    }
    qsort(h, n, sizeof *h, sv_hdr_cmp);
    for (size_t i = 0; i < n; i++) {
        int same = i > 0 && sv_name_cmp(h[i].name, h[i].name_len, h[i - 1].name,
                                        h[i - 1].name_len) == 0;
        if (same) {
            rc = core_buf_append_char(hdrs, ',');
        } else {
            if (i > 0)
                rc = core_buf_append_char(hdrs, '\n');
            if (!rc && signed_list->len > 0)
                rc = core_buf_append_char(signed_list, ';');
            for (size_t j = 0; !rc && j < h[i].name_len; j++) {
                char c = (char)sv_lower((unsigned char)h[i].name[j]);
                rc = core_buf_append_char(hdrs, c);
                if (!rc)
                    rc = core_buf_append_char(signed_list, c);
            }
            if (!rc)
                rc = core_buf_append_char(hdrs, ':');
        }
        if (!rc)
            rc = sv_append_header_value(hdrs, h[i].value);
        if (rc) {
            core_err_set(err, rc, "sigv4: canonical headers: %s", core_strerror(rc));
            goto done;
        }
    }
    rc = core_buf_append_char(hdrs, '\n');
    if (rc)
        core_err_set(err, rc, "sigv4: canonical headers: %s", core_strerror(rc));
done:
    core_free(h);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Canonical query string                                                                      */
/* ------------------------------------------------------------------------------------------ */

struct sv_kv {
    const char *name; /* encoded, NUL-terminated inside the store buffer */
    const char *value;
};

static int sv_kv_cmp(const void *a, const void *b)
{
    const struct sv_kv *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* Appends one name or value to the store, encoded and NUL-terminated; raw input (from the
 * request) is decoded first so that encoded and unencoded spellings sign the same. */
static int sv_store_piece(struct core_buf *store, struct core_buf *tmp, const char *s, size_t n,
                          int decode_first, size_t *off)
{
    int rc;

    *off = store->len;
    if (decode_first) {
        core_buf_reset(tmp);
        rc = sv_append_decoded(tmp, s, n);
        if (rc)
            return rc;
        rc = sv_append_encoded(store, tmp->data ? tmp->data : "", tmp->len, 0);
    } else {
        rc = sv_append_encoded(store, s, n, 0);
    }
    if (rc)
        return rc;
    return core_buf_append(store, "", 1); /* the terminator is part of the store */
}

static int sv_canonical_query(const char *query, size_t qlen, enum aws_sigv4_mode mode,
                              const struct sv_added_header *added, size_t nadded,
                              struct core_buf *out, struct core_err *err)
{
    struct core_buf store, tmp;
    size_t *offs = NULL, npieces = 1, n = 0;
    struct sv_kv *kv = NULL;
    int rc = 0;

    core_buf_init(&store, AWS_SIGV4_TEXT_MAX);
    core_buf_init(&tmp, AWS_SIGV4_TEXT_MAX);
    for (size_t i = 0; i < qlen; i++)
        if (query[i] == '&')
            npieces++;
    if (npieces > AWS_SIGV4_QUERY_PARAMS_MAX) {
        rc = core_err_set(err, CORE_E_TOOBIG, "sigv4: query has more than %u parameters",
                          AWS_SIGV4_QUERY_PARAMS_MAX);
        goto done;
    }
    offs = core_calloc(2 * (npieces + nadded), sizeof *offs);
    kv = core_calloc(npieces + nadded, sizeof *kv);
    if (!offs || !kv) {
        rc = core_err_set(err, CORE_E_NOMEM, "sigv4: out of memory for the query");
        goto done;
    }
    for (size_t i = 0; i < qlen;) {
        size_t s = i, e, eq;
        while (i < qlen && query[i] != '&')
            i++;
        e = i;
        i++; /* past '&' */
        if (e == s)
            continue;
        eq = s;
        while (eq < e && query[eq] != '=')
            eq++;
        rc = sv_store_piece(&store, &tmp, query + s, eq - s, 1, &offs[2 * n]);
        if (!rc)
            rc = sv_store_piece(&store, &tmp, query + (eq < e ? eq + 1 : e),
                                eq < e ? e - eq - 1 : 0, 1, &offs[2 * n + 1]);
        if (rc)
            goto fail_rc;
        if (mode == AWS_SIGV4_QUERY) {
            for (size_t j = 0; j < SV_COUNT(sv_presign_names); j++) {
                if (strcmp(store.data + offs[2 * n], sv_presign_names[j]) == 0) {
                    rc = core_err_set(err, CORE_E_INVAL,
                                      "sigv4: request query already has %s, which pre-signing "
                                      "adds",
                                      sv_presign_names[j]);
                    goto done;
                }
            }
        }
        n++;
    }
    for (size_t i = 0; i < nadded; i++) {
        rc = sv_store_piece(&store, &tmp, added[i].name, strlen(added[i].name), 0, &offs[2 * n]);
        if (!rc)
            rc = sv_store_piece(&store, &tmp, added[i].value, strlen(added[i].value), 0,
                                &offs[2 * n + 1]);
        if (rc)
            goto fail_rc;
        n++;
    }
    /* The store no longer moves: offsets can become pointers. */
    for (size_t i = 0; i < n; i++) {
        kv[i].name = store.data + offs[2 * i];
        kv[i].value = store.data + offs[2 * i + 1];
    }
    qsort(kv, n, sizeof *kv, sv_kv_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            rc = core_buf_append_char(out, '&');
        if (!rc)
            rc = core_buf_append_str(out, kv[i].name);
        if (!rc)
            rc = core_buf_append_char(out, '=');
        if (!rc)
            rc = core_buf_append_str(out, kv[i].value);
        if (rc)
            goto fail_rc;
    }
    goto done;
fail_rc:
    core_err_set(err, rc, "sigv4: canonical query: %s", core_strerror(rc));
done:
    core_free(offs);
    core_free(kv);
    core_buf_cleanup(&store);
    core_buf_cleanup(&tmp);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Canonical request                                                                           */
/* ------------------------------------------------------------------------------------------ */

/* What one canonicalisation produces besides the text: the pieces the later stages and the
 * signed products reuse. */
struct sv_ctx {
    char amz_date[AWS_SIGV4_DATE_LEN + 1];
    char scope[SV_SCOPE_MAX + 1];
    char payload[SV_HEX_LEN + 1];
    struct core_buf canonical;
    struct core_buf signed_list;
};

static void sv_ctx_init(struct sv_ctx *c)
{
    memset(c, 0, sizeof *c);
    core_buf_init(&c->canonical, AWS_SIGV4_TEXT_MAX);
    core_buf_init(&c->signed_list, AWS_SIGV4_TEXT_MAX);
}

static void sv_ctx_cleanup(struct sv_ctx *c)
{
    core_buf_cleanup(&c->canonical);
    core_buf_cleanup(&c->signed_list);
}

static int sv_check_request(const struct aws_sigv4_request *req, struct core_err *err)
{
    size_t n;

    if (!req || !req->method || !req->target)
        return core_err_set(err, CORE_E_INVAL, "sigv4: request has no method or target");
    n = strnlen(req->method, SV_METHOD_MAX + 1);
    if (n == 0 || n > SV_METHOD_MAX)
        return core_err_set(err, CORE_E_INVAL, "sigv4: request method is empty or too long");
    for (size_t i = 0; i < n; i++)
        if (!sv_is_tchar((unsigned char)req->method[i]))
            return core_err_set(err, CORE_E_INVAL,
                                "sigv4: request method is not an HTTP token");
    if (strnlen(req->target, AWS_SIGV4_TARGET_MAX + 1) > AWS_SIGV4_TARGET_MAX)
        return core_err_set(err, CORE_E_TOOBIG, "sigv4: request target is over %u bytes",
                            AWS_SIGV4_TARGET_MAX);
    if (req->nheaders > AWS_SIGV4_HEADERS_MAX)
        return core_err_set(err, CORE_E_TOOBIG, "sigv4: request has more than %u headers",
                            AWS_SIGV4_HEADERS_MAX);
    if (req->nheaders > 0 && !req->headers)
        return core_err_set(err, CORE_E_INVAL, "sigv4: request headers are missing");
    if (req->body_len > 0 && !req->body)
        return core_err_set(err, CORE_E_INVAL, "sigv4: request body is missing");
    return 0;
}

static int sv_canonicalize(const struct aws_sigv4_request *req,
                           const struct aws_credentials *creds,
                           const struct aws_sigv4_params *p, enum aws_sigv4_mode mode,
                           struct sv_ctx *ctx, struct core_err *err)
{
    struct core_buf hdrs, cred;
    struct sv_added_header added[6];
    size_t nadded = 0;
    const char *q;
    size_t plen;
    int64_t expires = 0;
    char expires_s[24];
    int rc;

    core_buf_init(&hdrs, AWS_SIGV4_TEXT_MAX);
    core_buf_init(&cred, SV_AKID_MAX + 1 + SV_SCOPE_MAX);
    rc = sv_check_request(req, err);
    if (!rc)
        rc = sv_check_params(p, err);
    if (!rc)
        rc = sv_check_creds(creds, 0, err);
    if (!rc && mode == AWS_SIGV4_QUERY)
        rc = sv_expires_seconds(p, &expires, err);
    if (!rc && mode != AWS_SIGV4_HEADERS && mode != AWS_SIGV4_QUERY)
        rc = core_err_set(err, CORE_E_INVAL, "sigv4: unknown signing mode %d", (int)mode);
    if (!rc)
        rc = sv_amz_date(p->wall, ctx->amz_date, err);
    if (rc)
        goto done;
    sv_scope(ctx->amz_date, p, ctx->scope);
    if (p->unsigned_payload) {
        core_strlcpy(ctx->payload, AWS_SIGV4_UNSIGNED_PAYLOAD, sizeof ctx->payload);
    } else {
        rc = sv_sha256_hex(req->body_len ? req->body : "", req->body_len, ctx->payload, err);
        if (rc)
            goto done;
    }

    /* Headers first: in query mode the signed list is itself a query parameter. */
    if (mode == AWS_SIGV4_HEADERS) {
        added[nadded++] = (struct sv_added_header){"x-amz-date", ctx->amz_date};
        if (creds->session_token && !p->omit_session_token)
            added[nadded++] =
                (struct sv_added_header){"x-amz-security-token", creds->session_token};
        if (p->sign_body)
            added[nadded++] = (struct sv_added_header){"x-amz-content-sha256", ctx->payload};
    }
    rc = sv_canonical_headers(req, mode, p, added, nadded, &hdrs, &ctx->signed_list, err);
    if (rc)
        goto done;

    nadded = 0;
    if (mode == AWS_SIGV4_QUERY) {
        rc = core_buf_appendf(&cred, "%s/%s", creds->access_key_id, ctx->scope);
        if (rc) {
            core_err_set(err, rc, "sigv4: credential: %s", core_strerror(rc));
            goto done;
        }
        snprintf(expires_s, sizeof expires_s, "%lld", (long long)expires);
        added[nadded++] = (struct sv_added_header){"X-Amz-Algorithm", AWS_SIGV4_ALGORITHM};
        added[nadded++] = (struct sv_added_header){"X-Amz-Credential", core_buf_cstr(&cred)};
        added[nadded++] = (struct sv_added_header){"X-Amz-Date", ctx->amz_date};
        added[nadded++] = (struct sv_added_header){"X-Amz-Expires", expires_s};
        added[nadded++] =
            (struct sv_added_header){"X-Amz-SignedHeaders", core_buf_cstr(&ctx->signed_list)};
        if (creds->session_token && !p->omit_session_token)
            added[nadded++] =
                (struct sv_added_header){"X-Amz-Security-Token", creds->session_token};
    }

    q = strchr(req->target, '?');
    plen = q ? (size_t)(q - req->target) : strlen(req->target);
    rc = core_buf_append_str(&ctx->canonical, req->method);
    if (!rc)
        rc = core_buf_append_char(&ctx->canonical, '\n');
    if (rc)
        goto fail_rc;
    rc = sv_canonical_path(req->target, plen, p, &ctx->canonical, err);
    if (rc)
        goto done;
    rc = core_buf_append_char(&ctx->canonical, '\n');
    if (rc)
        goto fail_rc;
    rc = sv_canonical_query(q ? q + 1 : "", q ? strlen(q + 1) : 0, mode, added, nadded,
                            &ctx->canonical, err);
    if (rc)
        goto done;
    rc = core_buf_append_char(&ctx->canonical, '\n');
    if (!rc)
        rc = core_buf_append(&ctx->canonical, hdrs.data, hdrs.len);
    if (!rc)
        rc = core_buf_append_char(&ctx->canonical, '\n');
    if (!rc)
        rc = core_buf_append(&ctx->canonical, ctx->signed_list.data, ctx->signed_list.len);
    if (!rc)
        rc = core_buf_append_char(&ctx->canonical, '\n');
    if (!rc)
        rc = core_buf_append_str(&ctx->canonical, ctx->payload);
    if (!rc)
        goto done;
fail_rc:
    core_err_set(err, rc, "sigv4: canonical request: %s", core_strerror(rc));
done:
    core_buf_cleanup(&hdrs);
    core_buf_cleanup(&cred);
    return rc;
}

/* Appends src to out in one step, naming the stage when out's limit is the problem. */
static int sv_deliver(struct core_buf *out, const struct core_buf *src, const char *what,
                      struct core_err *err)
{
    int rc;

    if (!out)
        return core_err_set(err, CORE_E_INVAL, "sigv4: no output buffer for the %s", what);
    rc = core_buf_append(out, src->data ? src->data : "", src->len);
    if (rc)
        return core_err_set(err, rc, "sigv4: %s does not fit the output buffer: %s", what,
                            core_strerror(rc));
    return 0;
}

int aws_sigv4_canonical_request(const struct aws_sigv4_request *req,
                                const struct aws_credentials *creds,
                                const struct aws_sigv4_params *params, enum aws_sigv4_mode mode,
                                struct core_buf *out, struct core_err *err)
{
    struct sv_ctx ctx;
    int rc;

    sv_ctx_init(&ctx);
    rc = sv_canonicalize(req, creds, params, mode, &ctx, err);
    if (rc)
        goto done;
    rc = sv_deliver(out, &ctx.canonical, "canonical request", err);
done:
    sv_ctx_cleanup(&ctx);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* String to sign and signature                                                                */
/* ------------------------------------------------------------------------------------------ */

int aws_sigv4_string_to_sign(const char *canonical_request, size_t len,
                             const struct aws_sigv4_params *params, struct core_buf *out,
                             struct core_err *err)
{
    char amz_date[AWS_SIGV4_DATE_LEN + 1], scope[SV_SCOPE_MAX + 1], hash[SV_HEX_LEN + 1];
    struct core_buf sts;
    int rc;

    core_buf_init(&sts, AWS_SIGV4_TEXT_MAX);
    if (!canonical_request && len > 0) {
        rc = core_err_set(err, CORE_E_INVAL, "sigv4: no canonical request");
        goto done;
    }
    rc = sv_check_params(params, err);
    if (!rc)
        rc = sv_amz_date(params->wall, amz_date, err);
    if (!rc)
        rc = sv_sha256_hex(len ? canonical_request : "", len, hash, err);
    if (rc)
        goto done;
    sv_scope(amz_date, params, scope);
    rc = core_buf_appendf(&sts, "%s\n%s\n%s\n%s", AWS_SIGV4_ALGORITHM, amz_date, scope, hash);
    if (rc) {
        core_err_set(err, rc, "sigv4: string to sign: %s", core_strerror(rc));
        goto done;
    }
    rc = sv_deliver(out, &sts, "string to sign", err);
done:
    core_buf_cleanup(&sts);
    return rc;
}

int aws_sigv4_signature(const char *string_to_sign, size_t len,
                        const struct aws_credentials *creds,
                        const struct aws_sigv4_params *params, struct core_buf *out,
                        struct core_err *err)
{
    char amz_date[AWS_SIGV4_DATE_LEN + 1], hex[SV_HEX_LEN + 1];
    unsigned char k1[SV_SHA256_LEN], k2[SV_SHA256_LEN], sig[SV_SHA256_LEN];
    unsigned char *secret = NULL;
    size_t slen = 0;
    struct core_buf res;
    int rc;

    core_buf_init(&res, SV_HEX_LEN);
    if (!string_to_sign && len > 0) {
        rc = core_err_set(err, CORE_E_INVAL, "sigv4: no string to sign");
        goto done;
    }
    rc = sv_check_params(params, err);
    if (!rc)
        rc = sv_check_creds(creds, 1, err);
    if (!rc)
        rc = sv_amz_date(params->wall, amz_date, err);
    if (rc)
        goto done;
    slen = 4 + strlen(creds->secret_access_key);
    secret = core_malloc(slen);
    if (!secret) {
        rc = core_err_set(err, CORE_E_NOMEM, "sigv4: out of memory for the signing key");
        goto done;
    }
    memcpy(secret, "AWS4", 4);
    memcpy(secret + 4, creds->secret_access_key, slen - 4);
    /* kDate, kRegion, kService, kSigning, then the signature itself. */
    rc = sv_hmac(secret, slen, amz_date, 8, k1);
    if (!rc)
        rc = sv_hmac(k1, sizeof k1, params->region, strlen(params->region), k2);
    if (!rc)
        rc = sv_hmac(k2, sizeof k2, params->service, strlen(params->service), k1);
    if (!rc)
        rc = sv_hmac(k1, sizeof k1, "aws4_request", 12, k2);
    if (!rc)
        rc = sv_hmac(k2, sizeof k2, len ? string_to_sign : "", len, sig);
    if (rc) {
        core_err_set(err, rc, "sigv4: HMAC-SHA256 failed in OpenSSL");
        goto done;
    }
    sv_hex(sig, sizeof sig, hex);
    rc = core_buf_append(&res, hex, SV_HEX_LEN);
    if (rc) {
        core_err_set(err, rc, "sigv4: signature: %s", core_strerror(rc));
        goto done;
    }
    rc = sv_deliver(out, &res, "signature", err);
done:
    OPENSSL_cleanse(k1, sizeof k1);
    OPENSSL_cleanse(k2, sizeof k2);
    OPENSSL_cleanse(sig, sizeof sig);
    OPENSSL_cleanse(hex, sizeof hex);
    if (secret) {
        OPENSSL_cleanse(secret, slen);
        core_free(secret);
    }
    core_buf_cleanup(&res);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Signed products                                                                             */
/* ------------------------------------------------------------------------------------------ */

/* Canonicalises, then computes the signature through the public stage functions, so the
 * products are exactly what the stage tests check. */
static int sv_sign(const struct aws_sigv4_request *req, const struct aws_credentials *creds,
                   const struct aws_sigv4_params *p, enum aws_sigv4_mode mode,
                   struct sv_ctx *ctx, char sig[SV_HEX_LEN + 1], struct core_err *err)
{
    struct core_buf sts, s;
    int rc;

    core_buf_init(&sts, AWS_SIGV4_TEXT_MAX);
    core_buf_init(&s, SV_HEX_LEN);
    rc = sv_check_creds(creds, 1, err);
    if (!rc)
        rc = sv_canonicalize(req, creds, p, mode, ctx, err);
    if (!rc)
        rc = aws_sigv4_string_to_sign(ctx->canonical.data, ctx->canonical.len, p, &sts, err);
    if (!rc)
        rc = aws_sigv4_signature(sts.data, sts.len, creds, p, &s, err);
    if (!rc)
        core_strlcpy(sig, core_buf_cstr(&s), SV_HEX_LEN + 1);
    core_buf_cleanup(&sts);
    core_buf_cleanup(&s);
    return rc;
}

void aws_sigv4_auth_headers_cleanup(struct aws_sigv4_auth_headers *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < AWS_SIGV4_AUTH_HEADERS_MAX; i++)
        core_free(h->h[i].value);
    memset(h, 0, sizeof *h);
}

static int sv_add_auth_header(struct aws_sigv4_auth_headers *h, const char *name,
                              const char *value)
{
    char *v = core_strdup(value);
    if (!v)
        return CORE_E_NOMEM;
    h->h[h->count].name = name;
    h->h[h->count].value = v;
    h->count++;
    return 0;
}

int aws_sigv4_sign_headers(const struct aws_sigv4_request *req,
                           const struct aws_credentials *creds,
                           const struct aws_sigv4_params *params,
                           struct aws_sigv4_auth_headers *out, struct core_err *err)
{
    struct sv_ctx ctx;
    struct aws_sigv4_auth_headers res;
    struct core_buf auth;
    char sig[SV_HEX_LEN + 1] = "";
    int rc;

    memset(&res, 0, sizeof res);
    sv_ctx_init(&ctx);
    core_buf_init(&auth, AWS_SIGV4_TEXT_MAX);
    if (!out) {
        rc = core_err_set(err, CORE_E_INVAL, "sigv4: no output for the signed headers");
        goto done;
    }
    rc = sv_sign(req, creds, params, AWS_SIGV4_HEADERS, &ctx, sig, err);
    if (rc)
        goto done;
    rc = core_buf_appendf(&auth, "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                          AWS_SIGV4_ALGORITHM, creds->access_key_id, ctx.scope,
                          core_buf_cstr(&ctx.signed_list), sig);
    /* The token travels even when it is not signed (omit_session_token). */
    if (!rc && creds->session_token)
        rc = sv_add_auth_header(&res, "X-Amz-Security-Token", creds->session_token);
    if (!rc)
        rc = sv_add_auth_header(&res, "X-Amz-Date", ctx.amz_date);
    if (!rc && params->sign_body)
        rc = sv_add_auth_header(&res, "x-amz-content-sha256", ctx.payload);
    if (!rc)
        rc = sv_add_auth_header(&res, "Authorization", core_buf_cstr(&auth));
    if (rc) {
        core_err_set(err, rc, "sigv4: signed headers: %s", core_strerror(rc));
        goto done;
    }
    *out = res;
    memset(&res, 0, sizeof res);
done:
    aws_sigv4_auth_headers_cleanup(&res);
    sv_ctx_cleanup(&ctx);
    core_buf_cleanup(&auth);
    return rc;
}

int aws_sigv4_presign(const struct aws_sigv4_request *req, const struct aws_credentials *creds,
                      const struct aws_sigv4_params *params, struct core_buf *out,
                      struct core_err *err)
{
    struct sv_ctx ctx;
    struct core_buf q;
    char sig[SV_HEX_LEN + 1] = "";
    int rc;

    sv_ctx_init(&ctx);
    core_buf_init(&q, AWS_SIGV4_TEXT_MAX);
    rc = sv_sign(req, creds, params, AWS_SIGV4_QUERY, &ctx, sig, err);
    if (rc)
        goto done;
    /* Same order as the suite's signed requests and aws-c-auth. */
    rc = core_buf_append_str(&q, "X-Amz-Algorithm=" AWS_SIGV4_ALGORITHM "&X-Amz-Credential=");
    if (!rc)
        rc = sv_append_encoded(&q, creds->access_key_id, strlen(creds->access_key_id), 0);
    if (!rc)
        rc = core_buf_append_str(&q, "%2F");
    if (!rc)
        rc = sv_append_encoded(&q, ctx.scope, strlen(ctx.scope), 0);
    if (!rc)
        rc = core_buf_appendf(&q, "&X-Amz-Date=%s&X-Amz-SignedHeaders=", ctx.amz_date);
    if (!rc)
        rc = sv_append_encoded(&q, ctx.signed_list.data ? ctx.signed_list.data : "",
                               ctx.signed_list.len, 0);
    if (!rc)
        rc = core_buf_appendf(&q, "&X-Amz-Expires=%lld",
                              (long long)(params->expires / CORE_NS_PER_S));
    if (!rc && creds->session_token) {
        rc = core_buf_append_str(&q, "&X-Amz-Security-Token=");
        if (!rc)
            rc = sv_append_encoded(&q, creds->session_token, strlen(creds->session_token), 0);
    }
    if (!rc)
        rc = core_buf_appendf(&q, "&X-Amz-Signature=%s", sig);
    if (rc) {
        core_err_set(err, rc, "sigv4: pre-signed query: %s", core_strerror(rc));
        goto done;
    }
    rc = sv_deliver(out, &q, "pre-signed query", err);
done:
    sv_ctx_cleanup(&ctx);
    core_buf_cleanup(&q);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* EKS token                                                                                   */
/* ------------------------------------------------------------------------------------------ */

#define SV_EKS_TARGET "/?Action=GetCallerIdentity&Version=2011-06-15"

/* Splits sts_endpoint into scheme and host[:port] (default port dropped) for the URL and the
 * Host header; NULL means the regional endpoint. */
static int sv_eks_endpoint(const char *endpoint, const char *region, const char **scheme,
                           struct core_buf *host, struct core_err *err)
{
    const char *h;
    size_t n, colon = 0;
    int64_t port = 0;
    int rc;

    *scheme = "https";
    if (!endpoint) {
        rc = core_buf_appendf(host, "sts.%s.amazonaws.com", region);
        if (rc)
            return core_err_set(err, rc, "eks token: STS host: %s", core_strerror(rc));
        return 0;
    }
    h = endpoint;
    if (strncmp(h, "https://", 8) == 0) {
        h += 8;
    } else if (strncmp(h, "http://", 7) == 0) {
        *scheme = "http";
        h += 7;
    } else if (strstr(h, "://")) {
        return core_err_set(err, CORE_E_INVAL,
                            "eks token: STS endpoint scheme is neither https nor http");
    }
    n = strnlen(h, SV_EKS_HOST_MAX + 2);
    if (n > 0 && h[n - 1] == '/')
        n--;
    if (n == 0 || n > SV_EKS_HOST_MAX)
        return core_err_set(err, CORE_E_INVAL,
                            "eks token: STS endpoint host is empty or over %d bytes",
                            SV_EKS_HOST_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == ':' && colon == 0 && i > 0) {
            colon = i;
            continue;
        }
        if (colon ? !(c >= '0' && c <= '9') : !(sv_is_alnum(c) || c == '-' || c == '.'))
            return core_err_set(err, CORE_E_INVAL,
                                "eks token: STS endpoint must be [scheme://]host[:port] with "
                                "no path; bad character at offset %zu",
                                (size_t)(h - endpoint) + i);
    }
    if (colon) {
        char portbuf[8];
        if (n - colon - 1 == 0 || n - colon - 1 >= sizeof portbuf)
            return core_err_set(err, CORE_E_INVAL, "eks token: STS endpoint port is invalid");
        memcpy(portbuf, h + colon + 1, n - colon - 1);
        portbuf[n - colon - 1] = '\0';
        if (core_parse_i64(portbuf, 1, 65535, &port) != 0)
            return core_err_set(err, CORE_E_INVAL, "eks token: STS endpoint port is invalid");
        if ((port == 443 && strcmp(*scheme, "https") == 0) ||
            (port == 80 && strcmp(*scheme, "http") == 0))
            n = colon;
    }
    rc = core_buf_append(host, h, n);
    if (rc)
        return core_err_set(err, rc, "eks token: STS host: %s", core_strerror(rc));
    return 0;
}

static int sv_check_cluster_name(const char *name, struct core_err *err)
{
    size_t n;

    if (!name || !*name)
        return core_err_set(err, CORE_E_INVAL, "eks token: cluster name is empty");
    n = strnlen(name, AWS_EKS_CLUSTER_NAME_MAX + 1);
    if (n > AWS_EKS_CLUSTER_NAME_MAX)
        return core_err_set(err, CORE_E_INVAL, "eks token: cluster name is over %u bytes",
                            AWS_EKS_CLUSTER_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!sv_is_alnum(c) && c != '-' && c != '_')
            return core_err_set(err, CORE_E_INVAL,
                                "eks token: cluster name has a character other than letters, "
                                "digits, '-' and '_' at offset %zu",
                                i);
    }
    return 0;
}

int aws_eks_token(const struct aws_credentials *creds, const char *region,
                  const char *cluster_name, core_ns wall_now, const char *sts_endpoint,
                  struct core_buf *out, struct core_err *err)
{
    struct core_buf host, url, tok;
    struct aws_sigv4_header headers[2];
    struct aws_sigv4_request req;
    struct aws_sigv4_params p;
    const char *scheme = "https";
    unsigned char *b64 = NULL;
    size_t b64cap = 0;
    int n, rc;

    core_buf_init(&host, SV_EKS_HOST_MAX);
    core_buf_init(&url, AWS_SIGV4_TEXT_MAX);
    core_buf_init(&tok, AWS_SIGV4_TEXT_MAX * 2);
    rc = sv_check_scope_part(region, "region", err);
    if (!rc)
        rc = sv_check_cluster_name(cluster_name, err);
    if (!rc)
        rc = sv_eks_endpoint(sts_endpoint, region, &scheme, &host, err);
    if (rc)
        goto done;

    headers[0] = (struct aws_sigv4_header){"Host", core_buf_cstr(&host)};
    headers[1] = (struct aws_sigv4_header){"x-k8s-aws-id", cluster_name};
    req = (struct aws_sigv4_request){.method = "GET", .target = SV_EKS_TARGET,
                                     .headers = headers, .nheaders = 2};
    p = (struct aws_sigv4_params){.region = region, .service = "sts", .wall = wall_now,
                                  .normalize_path = 1,
                                  .expires = AWS_EKS_TOKEN_EXPIRES_S * CORE_NS_PER_S};
    rc = core_buf_appendf(&url, "%s://%s" SV_EKS_TARGET "&", scheme, core_buf_cstr(&host));
    if (rc) {
        core_err_set(err, rc, "eks token: URL: %s", core_strerror(rc));
        goto done;
    }
    rc = aws_sigv4_presign(&req, creds, &p, &url, err);
    if (rc) {
        core_err_prefix(err, "eks token");
        goto done;
    }
    /* url.len < AWS_SIGV4_TEXT_MAX, so the encoded size fits an int. */
    b64cap = 4 * ((url.len + 2) / 3) + 1;
    b64 = core_malloc(b64cap);
    if (!b64) {
        rc = core_err_set(err, CORE_E_NOMEM, "eks token: out of memory for base64");
        goto done;
    }
    n = EVP_EncodeBlock(b64, (const unsigned char *)url.data, (int)url.len);
    if (n < 0 || (size_t)n >= b64cap) {
        rc = core_err_set(err, CORE_E_NOMEM, "eks token: base64 encoding failed in OpenSSL");
        goto done;
    }
    /* base64 -> base64url without padding (RFC 4648 section 5). */
    while (n > 0 && b64[n - 1] == '=')
        n--;
    for (int i = 0; i < n; i++) {
        if (b64[i] == '+')
            b64[i] = '-';
        else if (b64[i] == '/')
            b64[i] = '_';
    }
    rc = core_buf_append_str(&tok, AWS_EKS_TOKEN_PREFIX);
    if (!rc)
        rc = core_buf_append(&tok, b64, (size_t)n);
    if (rc) {
        core_err_set(err, rc, "eks token: %s", core_strerror(rc));
        goto done;
    }
    rc = sv_deliver(out, &tok, "EKS token", err);
done:
    if (b64) {
        OPENSSL_cleanse(b64, b64cap);
        core_free(b64);
    }
    if (url.data)
        OPENSSL_cleanse(url.data, url.len);
    if (tok.data)
        OPENSSL_cleanse(tok.data, tok.len);
    core_buf_cleanup(&host);
    core_buf_cleanup(&url);
    core_buf_cleanup(&tok);
    return rc;
}
