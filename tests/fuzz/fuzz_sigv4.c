/*
 * tests/fuzz/fuzz_sigv4.c — libFuzzer target for SigV4 canonicalisation: arbitrary bytes as
 * the raw request target (path + query) and as header names and values, through the canonical
 * request in both modes and the two signed products.
 *
 * Input layout: byte 0 holds flags (normalize, S3 path, sign_body, omit token, unsigned
 * payload, small output buffer, method, token); the rest is split on NUL bytes: piece 0 is
 * the target, piece 1 the Host value, later pieces are "name:value" headers when they hold a
 * ':' past their first byte and otherwise values of X-Fuzz. The last piece doubles as body.
 *
 * Invariants checked (abort on violation, so the fuzzer reports them): nothing crashes or
 * overflows (ASan/UBSan); a failing call leaves its output buffer exactly as it was; errors
 * are CORE_E_INVAL / CORE_E_TOOBIG only (no allocation failure is injected); a canonical path
 * that was encoded by the signer holds only unreserved bytes, '/' and %XX escapes; the
 * canonical request has exactly the expected number of sections.
 */
#include "aws/aws.h"
#include "core/core.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_PIECES 24

/* Writable arrays because struct aws_credentials owns char *; the signer never writes them. */
static char akid[] = "AKIDEXAMPLE";
static char secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
static char token[] = "FwoGZXIvYXdzEXAMPLE+/=";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_is_path_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~' || c == '/' || c == '%';
}

static void fuzz_check_canonical(const struct core_buf *b, int path_encoded)
{
    const char *p = core_buf_cstr(b), *path, *e;
    size_t lines = 0;

    /* method, path, query, headers (>= 1 line + blank), signed list, payload hash */
    for (const char *q = p; *q; q++)
        if (*q == '\n')
            lines++;
    if (lines < 6)
        abort();
    path = strchr(p, '\n') + 1;
    e = strchr(path, '\n');
    if (path[0] != '/')
        abort();
    if (!path_encoded) {
        for (const char *q = path; q < e; q++) {
            if (!fuzz_is_path_byte((unsigned char)*q))
                abort();
            if (*q == '%' && (e - q < 3 || !strchr("0123456789ABCDEF", q[1]) ||
                              !strchr("0123456789ABCDEF", q[2]) || !q[1] || !q[2]))
                abort();
        }
    }
}

static void fuzz_expect_rc(int rc)
{
    if (rc != 0 && rc != CORE_E_INVAL && rc != CORE_E_TOOBIG)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy;
    const char *pieces[FUZZ_MAX_PIECES];
    size_t plen[FUZZ_MAX_PIECES], np = 0, start;
    struct aws_sigv4_header headers[FUZZ_MAX_PIECES];
    size_t nh = 0;
    struct aws_sigv4_request req;
    struct aws_sigv4_params p;
    struct aws_credentials creds;
    struct aws_sigv4_auth_headers h;
    struct core_buf out;
    struct core_err err;
    unsigned flags;
    int rc;

    if (size < 1)
        return 0;
    flags = data[0];
    copy = core_malloc(size); /* bytes 1..size-1 plus a terminating NUL */
    if (!copy)
        return 0;
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    start = 0;
    for (size_t i = 0; i <= size - 1 && np < FUZZ_MAX_PIECES; i++) {
        if (copy[i] == '\0') {
            pieces[np] = copy + start;
            plen[np] = i - start;
            np++;
            start = i + 1;
        }
    }

    headers[nh++] = (struct aws_sigv4_header){"Host", np > 1 ? pieces[1] : "example.com"};
    for (size_t i = 2; i < np; i++) {
        char *colon = memchr(pieces[i], ':', plen[i]);
        if (colon && colon != pieces[i]) {
            *colon = '\0';
            headers[nh++] = (struct aws_sigv4_header){pieces[i], colon + 1};
        } else {
            headers[nh++] = (struct aws_sigv4_header){"X-Fuzz", pieces[i]};
        }
    }
    req = (struct aws_sigv4_request){.method = (flags & 0x40) ? "POST" : "GET",
                                     .target = pieces[0], .headers = headers, .nheaders = nh,
                                     .body = pieces[np - 1], .body_len = plen[np - 1]};
    p = (struct aws_sigv4_params){.region = "us-east-1", .service = "service",
                                  .wall = (core_ns)1440938160 * CORE_NS_PER_S,
                                  .normalize_path = flags & 1, .path_is_encoded = (flags >> 1) & 1,
                                  .sign_body = (flags >> 2) & 1,
                                  .omit_session_token = (flags >> 3) & 1,
                                  .unsigned_payload = (flags >> 4) & 1,
                                  .expires = 3600 * CORE_NS_PER_S};
    memset(&creds, 0, sizeof creds);
    creds.access_key_id = akid;
    creds.secret_access_key = secret;
    creds.session_token = (flags & 0x80) ? token : NULL;

    for (int mode = 0; mode < 2; mode++) {
        core_buf_init(&out, (flags & 0x20) ? 200 : AWS_SIGV4_TEXT_MAX);
        if (core_buf_append_str(&out, "pre") != 0)
            abort();
        rc = aws_sigv4_canonical_request(&req, &creds, &p, (enum aws_sigv4_mode)mode, &out,
                                         &err);
        fuzz_expect_rc(rc);
        if (rc != 0 && strcmp(core_buf_cstr(&out), "pre") != 0)
            abort();
        if (rc == 0) {
            struct core_buf view = out;
            view.data += 3;
            view.len -= 3;
            fuzz_check_canonical(&view, p.path_is_encoded);
        }
        core_buf_cleanup(&out);
    }

    memset(&h, 0, sizeof h);
    rc = aws_sigv4_sign_headers(&req, &creds, &p, &h, &err);
    fuzz_expect_rc(rc);
    if (rc != 0 && h.count != 0)
        abort();
    aws_sigv4_auth_headers_cleanup(&h);

    core_buf_init(&out, (flags & 0x20) ? 200 : AWS_SIGV4_TEXT_MAX);
    rc = aws_sigv4_presign(&req, &creds, &p, &out, &err);
    fuzz_expect_rc(rc);
    if (rc != 0 && out.len != 0)
        abort();
    core_buf_cleanup(&out);

    core_free(copy);
    return 0;
}
