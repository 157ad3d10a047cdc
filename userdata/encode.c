/*
 * userdata/encode.c — turns a rendered document into what EC2 is sent (gzip, then base64) and
 * back.
 *
 * Invariants:
 *  - Deterministic: gzip at level 9 with a gz_header whose mtime is 0 and no name, so the same
 *    document gives the same bytes (golden files pin them).
 *  - The 16 KiB EC2 limit is checked on the compressed bytes; over it is CORE_E_TOOBIG with
 *    "UserDataTooLarge" and both sizes, never a truncated document.
 *  - Decompression is bounded by USERDATA_RAW_MAX and the caller's buffer limit (a gzip bomb
 *    fails with CORE_E_TOOBIG); out-parameters are written only on success.
 */
#include "userdata/internal.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

void userdata_output_cleanup(struct userdata_output *o)
{
    if (!o)
        return;
    core_free(o->raw);
    core_free(o->gz);
    core_free(o->b64);
    memset(o, 0, sizeof *o);
}

static int gzip_doc(const char *raw, size_t raw_len, unsigned char **out, size_t *out_len,
                    struct core_err *err)
{
    z_stream z;
    gz_header h;
    unsigned char *buf;
    size_t cap;
    int zr, rc = 0;

    if (raw_len > USERDATA_RAW_MAX)
        return core_err_set(err, CORE_E_TOOBIG, "userdata: document of %zu bytes, at most %u",
                            raw_len, USERDATA_RAW_MAX);
    memset(&z, 0, sizeof z);
    memset(&h, 0, sizeof h);
    h.time = 0;
    h.os = 3; /* Unix, fixed so the bytes do not depend on the build host */
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        return core_err_set(err, CORE_E_NOMEM, "userdata: gzip: out of memory");
    if (deflateSetHeader(&z, &h) != Z_OK) {
        deflateEnd(&z);
        return core_err_set(err, CORE_E_NOMEM, "userdata: gzip: header");
    }
    cap = deflateBound(&z, (uLong)raw_len) + 32;
    buf = core_malloc(cap);
    if (!buf) {
        deflateEnd(&z);
        return core_err_set(err, CORE_E_NOMEM, "userdata: gzip: out of memory");
    }
    z.next_in = (Bytef *)(uintptr_t)raw;
    z.avail_in = (uInt)raw_len;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    zr = deflate(&z, Z_FINISH);
    if (zr != Z_STREAM_END) {
        rc = core_err_set(err, CORE_E_NOMEM, "userdata: gzip failed (%d)", zr);
        core_free(buf);
    } else {
        *out = buf;
        *out_len = cap - z.avail_out;
    }
    deflateEnd(&z);
    return rc;
}

int userdata_encode(const char *raw, size_t raw_len, struct userdata_output *out,
                    struct core_err *err)
{
    struct userdata_output o;
    int rc;

    memset(&o, 0, sizeof o);
    rc = gzip_doc(raw, raw_len, &o.gz, &o.gz_len, err);
    if (rc)
        return rc;
    if (o.gz_len > USERDATA_EC2_MAX) {
        rc = core_err_set(err, CORE_E_TOOBIG,
                          "UserDataTooLarge: %zu bytes compressed (%zu raw), EC2 accepts %u",
                          o.gz_len, raw_len, USERDATA_EC2_MAX);
        goto fail;
    }
    o.raw = core_malloc(raw_len + 1);
    o.b64 = core_malloc(4 * ((o.gz_len + 2) / 3) + 1);
    if (!o.raw || !o.b64) {
        rc = core_err_set(err, CORE_E_NOMEM, "userdata: out of memory");
        goto fail;
    }
    memcpy(o.raw, raw, raw_len);
    o.raw[raw_len] = '\0';
    o.raw_len = raw_len;
    o.b64_len = (size_t)EVP_EncodeBlock((unsigned char *)o.b64, o.gz, (int)o.gz_len);
    *out = o;
    return 0;
fail:
    userdata_output_cleanup(&o);
    return rc;
}

int userdata_build(const struct userdata_input *in, struct userdata_output *out,
                   struct core_err *err)
{
    struct core_buf raw;
    int rc;
    core_buf_init(&raw, USERDATA_RAW_MAX);
    rc = userdata_render(in, &raw, err);
    if (!rc)
        rc = userdata_encode(core_buf_cstr(&raw), raw.len, out, err);
    core_buf_cleanup(&raw);
    return rc;
}

static int b64_to_bytes(const char *s, size_t n, unsigned char **out, size_t *outlen,
                        struct core_err *err)
{
    char *clean;
    unsigned char *dec;
    size_t m = 0;
    int d;

    if (n > 4 * (size_t)USERDATA_RAW_MAX)
        return core_err_set(err, CORE_E_TOOBIG, "userdata: base64 text too large");
    clean = core_malloc(n + 1);
    if (!clean)
        return core_err_set(err, CORE_E_NOMEM, "userdata: out of memory");
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            clean[m++] = s[i];
    if (m % 4 != 0) {
        core_free(clean);
        return core_err_set(err, CORE_E_PARSE, "userdata: not base64");
    }
    dec = core_malloc(m / 4 * 3 + 1);
    if (!dec) {
        core_free(clean);
        return core_err_set(err, CORE_E_NOMEM, "userdata: out of memory");
    }
    d = m ? EVP_DecodeBlock(dec, (const unsigned char *)clean, (int)m) : 0;
    if (d < 0) {
        core_free(clean);
        core_free(dec);
        return core_err_set(err, CORE_E_PARSE, "userdata: not base64");
    }
    if (m >= 1 && clean[m - 1] == '=')
        d--;
    if (m >= 2 && clean[m - 2] == '=')
        d--;
    core_free(clean);
    *out = dec;
    *outlen = (size_t)d;
    return 0;
}

static int gunzip_into(const unsigned char *p, size_t n, struct core_buf *raw,
                       struct core_err *err)
{
    z_stream z;
    unsigned char chunk[16384];
    size_t start = raw->len, total = 0;
    int zr, rc = 0;

    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return core_err_set(err, CORE_E_NOMEM, "userdata: gunzip: out of memory");
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    do {
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        zr = inflate(&z, Z_NO_FLUSH);
        if (zr != Z_OK && zr != Z_STREAM_END) {
            rc = core_err_set(err, zr == Z_MEM_ERROR ? CORE_E_NOMEM : CORE_E_PARSE,
                              "userdata: gunzip: %s", z.msg ? z.msg : "corrupt data");
            break;
        }
        size_t got = sizeof chunk - z.avail_out;
        total += got;
        if (total > USERDATA_RAW_MAX) {
            rc = core_err_set(err, CORE_E_TOOBIG, "userdata: gunzip: more than %u bytes",
                              USERDATA_RAW_MAX);
            break;
        }
        rc = core_buf_append(raw, chunk, got);
        if (rc) {
            rc = core_err_set(err, rc, "userdata: gunzip: %s", core_strerror(rc));
            break;
        }
        if (zr == Z_OK && z.avail_in == 0 && got == 0) {
            rc = core_err_set(err, CORE_E_PARSE, "userdata: gunzip: truncated data");
            break;
        }
    } while (zr != Z_STREAM_END);
    inflateEnd(&z);
    if (rc) {
        raw->len = start;
        if (raw->data)
            raw->data[start] = '\0';
    }
    return rc;
}

int userdata_decode(const void *data, size_t len, int is_base64, struct core_buf *raw,
                    struct core_err *err)
{
    unsigned char *bytes = NULL;
    const unsigned char *p = data;
    size_t n = len;
    int rc;

    if (is_base64) {
        rc = b64_to_bytes(data, len, &bytes, &n, err);
        if (rc)
            return rc;
        p = bytes;
    }
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
        rc = gunzip_into(p, n, raw, err);
    } else if (n > USERDATA_RAW_MAX) {
        rc = core_err_set(err, CORE_E_TOOBIG, "userdata: more than %u bytes", USERDATA_RAW_MAX);
    } else {
        rc = core_buf_append(raw, p, n);
        if (rc)
            rc = core_err_set(err, rc, "userdata: %s", core_strerror(rc));
    }
    core_free(bytes);
    return rc;
}

/* ---- the ValidationSucceeded condition ---------------------------------------------------- */

void userdata_condition_cleanup(struct k8s_condition *cond)
{
    if (!cond)
        return;
    core_free(cond->type);
    core_free(cond->reason);
    core_free(cond->message);
    memset(cond, 0, sizeof *cond);
}

int userdata_condition(int rc, const struct core_err *err, const struct userdata_output *out,
                       struct k8s_condition *cond)
{
    struct k8s_condition c;
    char msg[sizeof err->message + 64];
    const char *reason;

    memset(&c, 0, sizeof c);
    if (rc == 0) {
        reason = "UserDataValid";
        if (out)
            snprintf(msg, sizeof msg, "user data is %zu bytes compressed (%zu raw) of %u",
                     out->gz_len, out->raw_len, USERDATA_EC2_MAX);
        else
            snprintf(msg, sizeof msg, "user data renders");
    } else {
        reason = rc == CORE_E_TOOBIG         ? "UserDataTooLarge"
                 : rc == CORE_E_UNSUPPORTED  ? "UserDataUnsupported"
                                             : "UserDataInvalid";
        snprintf(msg, sizeof msg, "%s",
                 err && err->message[0] ? err->message : core_strerror(rc));
    }
    c.type = core_strdup("ValidationSucceeded");
    c.status = rc == 0 ? K8S_COND_TRUE : K8S_COND_FALSE;
    c.reason = core_strdup(reason);
    c.message = core_strdup(msg);
    if (!c.type || !c.reason || !c.message) {
        userdata_condition_cleanup(&c);
        return CORE_E_NOMEM;
    }
    *cond = c;
    return 0;
}
