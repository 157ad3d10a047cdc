/*
 * sim/ec2_mutate.c — the emulated EC2 actions that change the account: RunInstances,
 * CreateFleet (Type=instant), Start/Stop/TerminateInstances, Modify/DescribeInstanceAttribute
 * (userData, instanceType), CreateTags/DeleteTags, Create/DeleteLaunchTemplate, and client
 * tokens (idempotency).
 *
 * Invariants:
 *  - Request input is untrusted: every list is bounded (ids, overrides, tags, template data),
 *    every number is range-checked, user data is decoded into a bounded buffer, and nothing
 *    here trusts that a parameter exists or is well formed.
 *  - Validate, then mutate: a handler checks everything it can before it changes anything, so
 *    a failing request leaves the account as it was (the exceptions are out-of-memory midway
 *    and CreateFleet, whose partial fulfilment is itself a success).
 *  - Errors use the codes, HTTP statuses and (close to) the messages AWS uses.
 *  - ClientToken (RunInstances, CreateFleet, CreateLaunchTemplate): the first successful answer
 *    is stored with a fingerprint of the request's other parameters; the same token and
 *    parameters get those bytes again (no second launch), other parameters get
 *    IdempotentParameterMismatch. A failed request stores nothing, so its retry runs again.
 *  - Launch templates are owned here (created, deleted, freed); a->lt_by_id / a->lt_by_name
 *    index exactly the templates in a->lts.
 */
#include "sim/internal.h"

#include <ctype.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#define RUN_MAX_COUNT 1000        /* instances per RunInstances / CreateFleet call */
#define IDS_MAX 1000u             /* InstanceId.N, ResourceId.N */
#define SGS_MAX 16u               /* security groups per launch */
#define TAGS_MAX 50u              /* tags per resource (AWS's limit) */
#define TAG_SPECS_MAX 10u
#define FLEET_CONFIGS_MAX 50u
#define FLEET_CANDIDATES_MAX 300u /* (template, override) pairs; well above the client's 60 */
#define LT_PARAMS_MAX 1000u       /* LaunchTemplateData.* parameters */
#define USER_DATA_MAX 16384u      /* decoded bytes */
#define USER_DATA_B64_MAX (64u * 1024u) /* encoded text we are willing to look at */
#define NAME_MAX_LEN 256

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */
/* ------------------------------------------------------------------------------------------ */

/* An error not yet sent: per-candidate fleet errors become <errorSet> items, the others are
 * handed to sim_ec2_fail. */
struct fail {
    long status;
    char code[64];
    char msg[512];
};

static int ferr(struct fail *f, long status, const char *code, const char *fmt, ...)
    CORE_PRINTF(4, 5);
static int ferr(struct fail *f, long status, const char *code, const char *fmt, ...)
{
    va_list ap;
    f->status = status;
    core_strlcpy(f->code, code, sizeof f->code);
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
    return CORE_E_SERVICE;
}

static int fsend(struct sim_ec2_ctx *c, const struct fail *f)
{
    return sim_ec2_fail(c, f->status, f->code, "%s", f->msg);
}

static int nomem(struct sim_ec2_ctx *c)
{
    return sim_ec2_fail(c, 500, "InternalError",
                        "An internal error has occurred (the emulator ran out of memory)");
}

static const char *qget(const struct aws_query *q, const char *name)
{
    return q ? aws_query_get(q, name) : NULL;
}

static const char *qgetf(const struct aws_query *q, const char *fmt, ...) CORE_PRINTF(2, 3);
static const char *qgetf(const struct aws_query *q, const char *fmt, ...)
{
    char name[NAME_MAX_LEN];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof name)
        return NULL;
    return qget(q, name);
}

/* When name is prefix "." N, optionally followed by "." rest, returns N (1..9,999,999) and
 * sets *rest ("" when nothing follows); 0 otherwise. */
static int64_t name_index(const char *name, const char *prefix, const char **rest)
{
    size_t pl = strlen(prefix);
    const char *p;
    int64_t n = 0;
    int digits = 0;
    if (strncmp(name, prefix, pl) != 0 || name[pl] != '.')
        return 0;
    for (p = name + pl + 1; *p >= '0' && *p <= '9'; p++) {
        if (++digits > 7)
            return 0;
        n = n * 10 + (*p - '0');
    }
    if (!digits || n < 1 || (*p && *p != '.'))
        return 0;
    if (rest)
        *rest = *p ? p + 1 : "";
    return n;
}

struct idxval {
    int64_t n;
    const char *v;
};

static int cmp_idxval(const void *x, const void *y)
{
    const struct idxval *a = x, *b = y;
    return a->n < b->n ? -1 : a->n > b->n;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

/* A list of borrowed strings. */
struct strs {
    const char **v;
    size_t n;
};

static void strs_cleanup(struct strs *s)
{
    core_free(s->v);
    s->v = NULL;
    s->n = 0;
}

/* The values of prefix.N (nothing after N) in index order, one pass over the query. More than
 * max entries is InvalidParameterValue. */
static int q_list(const struct aws_query *q, const char *prefix, size_t max, struct strs *out,
                  struct fail *f)
{
    struct idxval *iv;
    size_t n = 0;
    out->v = NULL;
    out->n = 0;
    if (!q || !q->n)
        return 0;
    iv = core_calloc(q->n, sizeof *iv);
    if (!iv)
        return ferr(f, 500, "InternalError", "out of memory");
    for (size_t i = 0; i < q->n; i++) {
        const char *rest;
        int64_t k = name_index(q->names[i], prefix, &rest);
        if (k && !*rest) {
            iv[n].n = k;
            iv[n].v = q->values[i];
            n++;
        }
    }
    if (n > max) {
        core_free(iv);
        return ferr(f, 400, "InvalidParameterValue", "Too many %s values: at most %zu", prefix,
                    max);
    }
    if (n) {
        out->v = core_calloc(n, sizeof *out->v);
        if (!out->v) {
            core_free(iv);
            return ferr(f, 500, "InternalError", "out of memory");
        }
        qsort(iv, n, sizeof *iv, cmp_idxval);
        for (size_t i = 0; i < n; i++)
            if (!i || iv[i].n != iv[i - 1].n)
                out->v[out->n++] = iv[i].v;
    }
    core_free(iv);
    return 0;
}

/* The distinct N of prefix.N.* (structured lists), sorted. */
static int q_indices(const struct aws_query *q, const char *prefix, size_t max, int64_t **out,
                     size_t *nout, struct fail *f)
{
    int64_t *v;
    size_t n = 0, u = 0;
    *out = NULL;
    *nout = 0;
    if (!q || !q->n)
        return 0;
    v = core_calloc(q->n, sizeof *v);
    if (!v)
        return ferr(f, 500, "InternalError", "out of memory");
    for (size_t i = 0; i < q->n; i++) {
        const char *rest;
        int64_t k = name_index(q->names[i], prefix, &rest);
        if (k && *rest)
            v[n++] = k;
    }
    qsort(v, n, sizeof *v, cmp_i64);
    for (size_t i = 0; i < n; i++)
        if (!u || v[i] != v[u - 1])
            v[u++] = v[i];
    if (u > max) {
        core_free(v);
        return ferr(f, 400, "InvalidParameterValue", "Too many %s entries: at most %zu", prefix,
                    max);
    }
    if (!u) {
        core_free(v);
        return 0;
    }
    *out = v;
    *nout = u;
    return 0;
}

static int parse_bool(const char *v, const char *name, int *out, struct fail *f)
{
    if (strcasecmp(v, "true") == 0)
        *out = 1;
    else if (strcasecmp(v, "false") == 0)
        *out = 0;
    else
        return ferr(f, 400, "InvalidParameterValue",
                    "Value (%.64s) for parameter %s is invalid. Expected: 'true' or 'false'.", v,
                    name);
    return 0;
}

static int parse_price(const char *v, const char *name, double *out, struct fail *f)
{
    char *end = NULL;
    double p = strtod(v, &end);
    if (end == v || *end || !isfinite(p) || p <= 0)
        return ferr(f, 400, "InvalidParameterValue",
                    "Value (%.64s) for parameter %s is invalid. Expected a positive price.", v,
                    name);
    *out = p;
    return 0;
}

static int parse_count(const char *v, const char *name, int64_t lo, int64_t hi, int64_t *out,
                       struct fail *f)
{
    if (!v)
        return ferr(f, 400, "MissingParameter", "The request must contain the parameter %s",
                    name);
    if (core_parse_i64(v, lo, hi, out) != 0)
        return ferr(f, 400, "InvalidParameterValue",
                    "Value (%.64s) for parameter %s is invalid. Expected an integer in "
                    "%" PRId64 "..%" PRId64 ".",
                    v, name, lo, hi);
    return 0;
}

/* "i-" + 8 or 17 lowercase hex digits. */
static int instance_id_ok(const char *id)
{
    size_t n;
    if (strncmp(id, "i-", 2) != 0)
        return 0;
    n = strlen(id + 2);
    if (n != 8 && n != 17)
        return 0;
    for (size_t k = 2; id[k]; k++)
        if (!isxdigit((unsigned char)id[k]) || isupper((unsigned char)id[k]))
            return 0;
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* User data (base64 through OpenSSL)                                                          */
/* ------------------------------------------------------------------------------------------ */

/* Decodes base64 user data into a heap buffer (NULL for empty). Whitespace is ignored (MIME
 * line breaks); anything else outside the alphabet, or padding before the end, is
 * InvalidUserData.Malformed; more than USER_DATA_MAX decoded bytes is InvalidParameterValue. */
static int user_data_decode(const char *b64, unsigned char **out, size_t *len, struct fail *f)
{
    size_t n = 0, pad = 0, tl;
    char *t;
    unsigned char *buf;
    int r;

    *out = NULL;
    *len = 0;
    if (!b64)
        return 0;
    tl = strlen(b64);
    if (tl > USER_DATA_B64_MAX)
        return ferr(f, 400, "InvalidParameterValue", "User data is limited to %u bytes",
                    USER_DATA_MAX);
    t = core_malloc(tl + 1);
    if (!t)
        return ferr(f, 500, "InternalError", "out of memory");
    for (size_t k = 0; k < tl; k++) {
        unsigned char ch = (unsigned char)b64[k];
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
            continue;
        if (ch == '=') {
            pad++;
        } else if (pad || !(isalnum(ch) || ch == '+' || ch == '/')) {
            core_free(t);
            return ferr(f, 400, "InvalidUserData.Malformed", "Invalid BASE64 encoding of user "
                                                             "data.");
        }
        t[n++] = (char)ch;
    }
    t[n] = '\0';
    if (n == 0) {
        core_free(t);
        return 0;
    }
    if (n % 4 || pad > 2) {
        core_free(t);
        return ferr(f, 400, "InvalidUserData.Malformed", "Invalid BASE64 encoding of user data.");
    }
    buf = core_malloc(n / 4 * 3 + 1);
    if (!buf) {
        core_free(t);
        return ferr(f, 500, "InternalError", "out of memory");
    }
    /* EVP_DecodeBlock counts the padding as zero bytes: subtract it. */
    r = EVP_DecodeBlock(buf, (const unsigned char *)t, (int)n);
    core_free(t);
    if (r < 0 || (size_t)r < pad) {
        core_free(buf);
        return ferr(f, 400, "InvalidUserData.Malformed", "Invalid BASE64 encoding of user data.");
    }
    r -= (int)pad;
    if ((size_t)r > USER_DATA_MAX) {
        core_free(buf);
        return ferr(f, 400, "InvalidParameterValue", "User data is limited to %u bytes",
                    USER_DATA_MAX);
    }
    if (r == 0) {
        core_free(buf);
        return 0;
    }
    *out = buf;
    *len = (size_t)r;
    return 0;
}

static char *user_data_encode(const unsigned char *p, size_t n)
{
    char *out = core_malloc(4 * ((n + 2) / 3) + 1);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, p, (int)n); /* n <= USER_DATA_MAX: fits an int */
    return out;
}

/* ------------------------------------------------------------------------------------------ */
/* Tags                                                                                        */
/* ------------------------------------------------------------------------------------------ */

static int tag_check(const char *key, const char *value, struct fail *f)
{
    if (!key || !*key)
        return ferr(f, 400, "InvalidParameterValue", "Tag key cannot be empty");
    if (strlen(key) > 128)
        return ferr(f, 400, "InvalidParameterValue",
                    "Tag key exceeds the maximum length of 128 characters");
    if (strncasecmp(key, "aws:", 4) == 0)
        return ferr(f, 400, "InvalidParameterValue",
                    "Tag keys starting with 'aws:' are reserved for internal use");
    if (value && strlen(value) > 256)
        return ferr(f, 400, "InvalidParameterValue",
                    "Tag value exceeds the maximum length of 256 characters");
    return 0;
}

/* prefix.M.Key / .Value into *into (when not NULL), checked. */
static int tags_parse(const struct aws_query *q, const char *prefix, struct aws_ec2_tags *into,
                      struct fail *f)
{
    int64_t *idx = NULL;
    size_t n = 0;
    int rc = q_indices(q, prefix, TAGS_MAX, &idx, &n, f);
    for (size_t k = 0; !rc && k < n; k++) {
        const char *key = qgetf(q, "%s.%" PRId64 ".Key", prefix, idx[k]);
        const char *val = qgetf(q, "%s.%" PRId64 ".Value", prefix, idx[k]);
        rc = tag_check(key, val, f);
        if (!rc && into && sim_tags_set(into, key, val ? val : "") != 0)
            rc = ferr(f, 500, "InternalError", "out of memory");
    }
    core_free(idx);
    return rc;
}

/* TagSpecification.N: every ResourceType must be in allowed; the tags of the specs of `type`
 * are added to *into (a later spec wins for the same key). */
static int tag_specs_parse(const struct aws_query *q, const char *const *allowed,
                           const char *type, struct aws_ec2_tags *into, struct fail *f)
{
    int64_t *idx = NULL;
    size_t n = 0;
    int rc = q_indices(q, "TagSpecification", TAG_SPECS_MAX, &idx, &n, f);
    for (size_t k = 0; !rc && k < n; k++) {
        char prefix[64];
        const char *rt = qgetf(q, "TagSpecification.%" PRId64 ".ResourceType", idx[k]);
        int ok = 0;
        if (!rt) {
            rc = ferr(f, 400, "MissingParameter",
                      "The request must contain the parameter "
                      "TagSpecification.%" PRId64 ".ResourceType",
                      idx[k]);
            break;
        }
        for (size_t j = 0; allowed[j]; j++)
            ok |= strcmp(rt, allowed[j]) == 0;
        if (!ok) {
            rc = ferr(f, 400, "InvalidParameterValue",
                      "'%.64s' is not a valid taggable resource type for this operation.", rt);
            break;
        }
        snprintf(prefix, sizeof prefix, "TagSpecification.%" PRId64 ".Tag", idx[k]);
        rc = tags_parse(q, prefix, strcmp(rt, type) == 0 ? into : NULL, f);
    }
    core_free(idx);
    return rc;
}

/* Removes key from t, keeping the order of the others. */
static void tags_remove(struct aws_ec2_tags *t, size_t k)
{
    core_free(t->v[k].key);
    core_free(t->v[k].value);
    memmove(&t->v[k], &t->v[k + 1], (t->n - k - 1) * sizeof t->v[0]);
    t->n--;
}

/* ------------------------------------------------------------------------------------------ */
/* Client tokens                                                                               */
/* ------------------------------------------------------------------------------------------ */

struct pair {
    const char *name, *value;
};

static int cmp_pair(const void *x, const void *y)
{
    const struct pair *a = x, *b = y;
    int r = strcmp(a->name, b->name);
    return r ? r : strcmp(a->value, b->value);
}

/* sim_hash over the sorted name=value pairs except ClientToken: the order a client happens to
 * send parameters in does not matter. Name and value are hashed separately with distinct
 * salts so "a=bc" and "ab=c" differ. */
static int fingerprint(const struct aws_query *q, uint64_t *out)
{
    struct pair *v = core_calloc(q->n ? q->n : 1, sizeof *v);
    uint64_t h = 0x5354304b45524650ull;
    size_t n = 0;
    if (!v)
        return CORE_E_NOMEM;
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->names[i], "ClientToken") != 0) {
            v[n].name = q->names[i];
            v[n].value = q->values[i];
            n++;
        }
    qsort(v, n, sizeof *v, cmp_pair);
    for (size_t i = 0; i < n; i++) {
        h = sim_hash(v[i].name, h * 31u + 1u);
        h = sim_hash(v[i].value, h * 31u + 2u);
    }
    core_free(v);
    *out = h;
    return 0;
}

static int token_key(const char *action, const char *token, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s\n%s", action, token);
    return n > 0 && (size_t)n < outsz;
}

/* Looks the request's ClientToken up. *replayed = 1 when the stored answer was written to
 * c->body (the handler then returns 0 at once). */
static int token_check(struct sim_ec2_ctx *c, int *replayed)
{
    const char *tok = qget(c->q, "ClientToken");
    char key[160];
    struct sim_token *t;
    uint64_t fp;
    size_t len;

    *replayed = 0;
    if (!tok)
        return 0;
    len = strlen(tok);
    if (len == 0 || len > AWS_EC2_CLIENT_TOKEN_MAX)
        return sim_ec2_fail(c, 400, "InvalidParameterValue",
                            "Value for parameter clientToken is invalid. The client token must "
                            "be 1..%u characters.",
                            AWS_EC2_CLIENT_TOKEN_MAX);
    for (size_t i = 0; i < len; i++)
        if (tok[i] < 0x20 || tok[i] > 0x7e)
            return sim_ec2_fail(c, 400, "InvalidParameterValue",
                                "Value for parameter clientToken is invalid. The client token "
                                "must be printable ASCII.");
    if (!c->a->tokens || !token_key(c->action, tok, key, sizeof key))
        return 0;
    t = core_map_get(c->a->tokens, key, NULL);
    if (!t)
        return 0;
    if (fingerprint(c->q, &fp) != 0)
        return nomem(c);
    if (fp != t->fingerprint)
        return sim_ec2_fail(c, 400, "IdempotentParameterMismatch",
                            "Arguments on this idempotent request are inconsistent with "
                            "arguments used in previous request(s).");
    /* The dispatcher sends c->body as it is: put the first answer's bytes there verbatim. */
    core_buf_reset(c->body);
    if (core_buf_append(c->body, t->body, t->body_len) != 0)
        return nomem(c);
    *replayed = 1;
    return 0;
}

static void token_free(struct sim_token *t)
{
    if (!t)
        return;
    core_free(t->action);
    core_free(t->body);
    core_free(t);
}

/* After a complete success document: remembers it under the request's ClientToken. Running
 * out of memory here only loses idempotency for this token, so it is not an error. */
static void token_store(struct sim_ec2_ctx *c)
{
    const char *tok = qget(c->q, "ClientToken");
    struct sim_aws *a = c->a;
    struct sim_token *t;
    char key[160];
    void *old = NULL;

    if (!tok || c->x.err || !token_key(c->action, tok, key, sizeof key))
        return;
    if (!a->tokens && !(a->tokens = core_map_new()))
        return;
    t = core_calloc(1, sizeof *t);
    if (!t)
        return;
    t->action = core_strdup(c->action);
    t->body = core_malloc(c->body->len + 1);
    if (!t->action || !t->body || fingerprint(c->q, &t->fingerprint) != 0) {
        token_free(t);
        return;
    }
    memcpy(t->body, c->body->data ? c->body->data : "", c->body->len);
    t->body[c->body->len] = '\0';
    t->body_len = c->body->len;
    /* Bounded: a client making endless distinct tokens must not grow the account forever. */
    if (core_map_len(a->tokens) >= SIM_TOKENS_MAX && !core_map_get(a->tokens, key, NULL)) {
        size_t it = 0;
        const char *k, *oldest_key = NULL;
        void *v;
        uint64_t oldest = UINT64_MAX;
        while (core_map_next(a->tokens, &it, &k, &v))
            if (((struct sim_token *)v)->seq < oldest) {
                oldest = ((struct sim_token *)v)->seq;
                oldest_key = k;
            }
        if (oldest_key) {
            char victim[160];
            core_strlcpy(victim, oldest_key, sizeof victim); /* the map owns oldest_key */
            token_free(core_map_del(a->tokens, victim));
        }
    }
    t->seq = ++a->token_seq;
    if (core_map_set(a->tokens, key, t, &old) != 0) {
        token_free(t);
        return;
    }
    token_free(old);
}

void sim_tokens_cleanup(struct sim_aws *a)
{
    size_t it = 0;
    const char *k;
    void *v;
    if (!a || !a->tokens)
        return;
    while (core_map_next(a->tokens, &it, &k, &v))
        token_free(v);
    core_map_free(a->tokens);
    a->tokens = NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Launch templates                                                                            */
/* ------------------------------------------------------------------------------------------ */

static void lt_free(struct sim_lt *lt)
{
    if (!lt)
        return;
    core_free(lt->name);
    for (size_t k = 0; k < lt->nversions; k++) {
        core_free(lt->versions[k].description);
        aws_query_cleanup(&lt->versions[k].data);
    }
    core_free(lt->versions);
    sim_tags_cleanup(&lt->tags);
    core_free(lt);
}

void sim_lts_cleanup(struct sim_aws *a)
{
    if (!a)
        return;
    for (size_t k = 0; k < a->nlts; k++)
        lt_free(a->lts[k]);
    core_free(a->lts);
    a->lts = NULL;
    a->nlts = a->lts_cap = 0;
    core_map_free(a->lt_by_id);
    core_map_free(a->lt_by_name);
    a->lt_by_id = a->lt_by_name = NULL;
}

static struct sim_lt *lt_by_id(struct sim_aws *a, const char *id)
{
    return a->lt_by_id ? core_map_get(a->lt_by_id, id, NULL) : NULL;
}

static struct sim_lt *lt_by_name(struct sim_aws *a, const char *name)
{
    return a->lt_by_name ? core_map_get(a->lt_by_name, name, NULL) : NULL;
}

/* Finds a template by id or name and one of its versions ("$Default" when version is NULL,
 * "$Latest", or a number). */
static int lt_resolve(struct sim_aws *a, const char *id, const char *name, const char *version,
                      struct sim_lt **lt_out, const struct sim_lt_version **v_out, struct fail *f)
{
    struct sim_lt *lt;
    int64_t want;
    if (id && name)
        return ferr(f, 400, "InvalidParameterCombination",
                    "Specify either the launch template ID or the launch template name, not both");
    if (!id && !name)
        return ferr(f, 400, "MissingParameter",
                    "The request must contain the parameter LaunchTemplateId or "
                    "LaunchTemplateName");
    if (id) {
        if (strncmp(id, "lt-", 3) != 0 || strlen(id) >= SIM_ID_MAX)
            return ferr(f, 400, "InvalidLaunchTemplateId.Malformed",
                        "The specified ID for the launch template (%.64s) is malformed", id);
        lt = lt_by_id(a, id);
        if (!lt)
            return ferr(f, 400, "InvalidLaunchTemplateId.NotFound",
                        "The specified launch template, with template ID %.64s, does not exist.",
                        id);
    } else {
        lt = lt_by_name(a, name);
        if (!lt)
            return ferr(f, 400, "InvalidLaunchTemplateName.NotFoundException",
                        "The specified launch template, with template name %.128s, does not "
                        "exist.",
                        name);
    }
    if (!version || !*version || strcmp(version, "$Default") == 0)
        want = lt->default_version;
    else if (strcmp(version, "$Latest") == 0)
        want = lt->latest_version;
    else if (core_parse_i64(version, 1, INT64_MAX, &want) != 0)
        return ferr(f, 400, "InvalidLaunchTemplateId.VersionNotFound",
                    "Could not find launch template version %.32s for %s", version, lt->id);
    for (size_t k = 0; k < lt->nversions; k++)
        if (lt->versions[k].number == want) {
            *lt_out = lt;
            *v_out = &lt->versions[k];
            return 0;
        }
    return ferr(f, 400, "InvalidLaunchTemplateId.VersionNotFound",
                "Could not find launch template version %" PRId64 " for %s", want, lt->id);
}

/* <launchTemplate> of Create/DeleteLaunchTemplate. */
static void xml_lt(struct sim_xml *x, const struct sim_aws *a, const struct sim_lt *lt)
{
    sim_xml_open(x, "launchTemplate");
    sim_xml_launch_template(x, lt);
    sim_xml_textf(x, "createdBy", "arn:aws:iam::%s:root", a->account_id);
    sim_xml_close(x);
}

static int lt_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n < 3 || n > 128)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (!isalnum((unsigned char)name[k]) && !strchr("().-/_", name[k]))
            return 0;
    return 1;
}

static int lt_index(struct sim_aws *a, struct sim_lt *lt)
{
    if (!a->lt_by_id && !(a->lt_by_id = core_map_new()))
        return CORE_E_NOMEM;
    if (!a->lt_by_name && !(a->lt_by_name = core_map_new()))
        return CORE_E_NOMEM;
    if (a->nlts == a->lts_cap) {
        size_t cap = a->lts_cap ? a->lts_cap * 2 : 16;
        struct sim_lt **v = core_realloc(a->lts, cap * sizeof *v);
        if (!v)
            return CORE_E_NOMEM;
        a->lts = v;
        a->lts_cap = cap;
    }
    if (core_map_set(a->lt_by_id, lt->id, lt, NULL) != 0)
        return CORE_E_NOMEM;
    if (core_map_set(a->lt_by_name, lt->name, lt, NULL) != 0) {
        core_map_del(a->lt_by_id, lt->id);
        return CORE_E_NOMEM;
    }
    a->lts[a->nlts++] = lt;
    return 0;
}

int sim_ec2_create_launch_template(struct sim_ec2_ctx *c)
{
    static const char *const lt_types[] = {"launch-template", NULL};
    static const char pre[] = "LaunchTemplateData.";
    struct sim_aws *a = c->a;
    const char *name = qget(c->q, "LaunchTemplateName");
    const char *desc = qget(c->q, "VersionDescription");
    struct sim_lt *lt = NULL;
    struct sim_lt_version *v;
    struct fail f;
    unsigned char *ud = NULL;
    size_t udlen, ndata = 0;
    int replayed, rc;

    rc = token_check(c, &replayed);
    if (rc || replayed)
        return rc;
    if (!name)
        return sim_ec2_fail(c, 400, "MissingParameter",
                            "The request must contain the parameter LaunchTemplateName");
    if (!lt_name_ok(name))
        return sim_ec2_fail(c, 400, "InvalidLaunchTemplateName.MalformedException",
                            "A launch template name must be between 3 and 128 characters, and "
                            "may contain letters, numbers, and the following characters: - ( ) "
                            ". / _.");
    if (lt_by_name(a, name))
        return sim_ec2_fail(c, 400, "InvalidLaunchTemplateName.AlreadyExistsException",
                            "Launch template name already in use.");
    if (a->nlts >= SIM_LT_MAX)
        return sim_ec2_fail(c, 400, "LaunchTemplateLimitExceeded",
                            "You have reached the limit of %u launch templates.", SIM_LT_MAX);
    if (desc && strlen(desc) > 255)
        return sim_ec2_fail(c, 400, "InvalidParameterValue",
                            "VersionDescription must be at most 255 characters");
    for (size_t k = 0; k < c->q->n; k++)
        ndata += strncmp(c->q->names[k], pre, sizeof pre - 1) == 0;
    if (!ndata)
        return sim_ec2_fail(c, 400, "MissingParameter",
                            "The request must contain the parameter LaunchTemplateData");
    if (ndata > LT_PARAMS_MAX)
        return sim_ec2_fail(c, 400, "InvalidParameterValue",
                            "LaunchTemplateData has %zu parameters, at most %u", ndata,
                            LT_PARAMS_MAX);
    /* Fail now rather than at every launch from this template. */
    if (user_data_decode(qget(c->q, "LaunchTemplateData.UserData"), &ud, &udlen, &f) != 0)
        return fsend(c, &f);
    core_free(ud);

    lt = core_calloc(1, sizeof *lt);
    if (!lt || !(lt->name = core_strdup(name)) ||
        !(lt->versions = core_calloc(1, sizeof *lt->versions)))
        goto oom;
    if (tag_specs_parse(c->q, lt_types, "launch-template", &lt->tags, &f) != 0) {
        lt_free(lt);
        return fsend(c, &f);
    }
    sim_new_id(a, "lt-", lt->id, sizeof lt->id);
    lt->created = sim_wall(a);
    lt->default_version = lt->latest_version = 1;
    lt->nversions = 1;
    v = &lt->versions[0];
    v->number = 1;
    v->created = lt->created;
    aws_query_init(&v->data);
    if (desc && !(v->description = core_strdup(desc)))
        goto oom;
    for (size_t k = 0; k < c->q->n; k++)
        if (strncmp(c->q->names[k], pre, sizeof pre - 1) == 0 &&
            aws_query_add(&v->data, c->q->names[k] + sizeof pre - 1, c->q->values[k]) != 0)
            goto oom;
    if (lt_index(a, lt) != 0)
        goto oom;
    sim_ec2_begin(c);
    xml_lt(&c->x, a, lt);
    sim_ec2_end(c);
    token_store(c);
    return 0;
oom:
    lt_free(lt);
    return nomem(c);
}

int sim_ec2_delete_launch_template(struct sim_ec2_ctx *c)
{
    struct sim_aws *a = c->a;
    const char *id = qget(c->q, "LaunchTemplateId"), *name = qget(c->q, "LaunchTemplateName");
    const struct sim_lt_version *v;
    struct sim_lt *lt;
    struct fail f;

    if (lt_resolve(a, id, name, NULL, &lt, &v, &f) != 0)
        return fsend(c, &f);
    (void)v;
    for (size_t k = 0; k < a->nlts; k++)
        if (a->lts[k] == lt) {
            memmove(&a->lts[k], &a->lts[k + 1], (a->nlts - k - 1) * sizeof a->lts[0]);
            a->nlts--;
            break;
        }
    core_map_del(a->lt_by_id, lt->id);
    core_map_del(a->lt_by_name, lt->name);
    sim_ec2_begin(c);
    xml_lt(&c->x, a, lt);
    sim_ec2_end(c);
    lt_free(lt);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Resolving a launch: request parameters over launch template data                            */
/* ------------------------------------------------------------------------------------------ */

/* Where launch parameters come from: the request wins over the template's data (names
 * without the LaunchTemplateData. prefix in both). Either may be NULL. */
struct params {
    const struct aws_query *req;
    const struct aws_query *lt;
};

static const char *pget(const struct params *p, const char *name)
{
    const char *v = qget(p->req, name);
    return v ? v : qget(p->lt, name);
}

/* Fleet overrides; all NULL for RunInstances. */
struct overrides {
    const char *type, *subnet, *zone, *image, *max_price, *priority;
    int lifecycle_spot; /* -1: from the parameters (RunInstances); 0/1: the fleet's */
};

/* What one launch needs, resolved; owns what the spec borrows. */
struct launch {
    struct sim_launch_spec spec;
    unsigned char *user_data;
    char profile_arn[256];
    struct strs sgs;
    struct aws_ec2_tags tags;
    int zone;
    int has_max_price;
    double max_price;
};

static void launch_cleanup(struct launch *l)
{
    core_free(l->user_data);
    strs_cleanup(&l->sgs);
    sim_tags_cleanup(&l->tags);
    memset(l, 0, sizeof *l);
}

/* The zone's subnet with the most free addresses, or NULL. */
static struct sim_subnet *zone_subnet(struct sim_aws *a, int zone)
{
    struct sim_subnet *best = NULL;
    for (size_t k = 0; k < a->nsubnets; k++)
        if (a->subnets[k].zone == zone && (!best || a->subnets[k].available > best->available))
            best = &a->subnets[k];
    return best;
}

static int subnet_resolve(struct sim_aws *a, const char *id, const char *zone_name,
                          struct sim_subnet **out, struct fail *f)
{
    struct sim_subnet *s = NULL;
    int zone = -1;
    if (zone_name) {
        zone = sim_zone_index(a, zone_name);
        if (zone < 0)
            return ferr(f, 400, "InvalidParameterValue", "Invalid availability zone: [%.64s]",
                        zone_name);
    }
    if (id) {
        s = sim_subnet_find(a, id);
        if (!s)
            return ferr(f, 400, "InvalidSubnetID.NotFound", "The subnet ID '%.64s' does not exist",
                        id);
        if (zone >= 0 && s->zone != zone)
            return ferr(f, 400, "InvalidParameterValue",
                        "The subnet %s is in %s, not in the requested availability zone %s",
                        s->id, a->zones[s->zone].name, a->zones[zone].name);
    } else if (zone >= 0) {
        s = zone_subnet(a, zone);
        if (!s)
            return ferr(f, 400, "InvalidParameterValue", "There is no subnet in %s",
                        a->zones[zone].name);
    } else {
        /* No subnet asked for: the first subnet of the first zone (the emulator's default). */
        for (size_t k = 0; k < a->nsubnets && !s; k++)
            if (a->subnets[k].zone == 0)
                s = &a->subnets[k];
        if (!s && a->nsubnets)
            s = &a->subnets[0];
        if (!s)
            return ferr(f, 400, "MissingParameter", "No subnet specified and none exists");
    }
    *out = s;
    return 0;
}

/* Checks and resolves everything that does not depend on capacity. */
static int launch_resolve(struct sim_aws *a, const struct params *p, const struct overrides *o,
                          struct launch *l, struct fail *f)
{
    static const char *const run_tag_types[] = {"instance", "volume", "network-interface",
                                                "spot-instances-request", NULL};
    const char *tname = o->type ? o->type : pget(p, "InstanceType");
    const char *image = o->image ? o->image : pget(p, "ImageId");
    const char *subnet = o->subnet, *zone = o->zone, *v;
    const char *parn = NULL, *pname = NULL;
    const struct sim_itype *t;
    const struct sim_image *img;
    int hib = 0, rc;

    memset(l, 0, sizeof *l);
    if (!image)
        return ferr(f, 400, "MissingParameter", "The request must contain the parameter ImageId");
    if (strncmp(image, "ami-", 4) != 0 || strlen(image) >= SIM_ID_MAX)
        return ferr(f, 400, "InvalidAMIID.Malformed", "Invalid id: \"%.64s\" (expecting "
                                                      "\"ami-...\")",
                    image);
    if (!(img = sim_image_find(a, image)))
        return ferr(f, 400, "InvalidAMIID.NotFound", "The image id '[%.64s]' does not exist",
                    image);
    if (!tname)
        return ferr(f, 400, "MissingParameter",
                    "The request must contain the parameter InstanceType");
    if (!(t = sim_itype_find(a, tname)))
        return ferr(f, 400, "InvalidParameterValue", "Invalid value '%.64s' for InstanceType.",
                    tname);
    if (strcmp(t->t->ec2_arch, img->arch) != 0)
        return ferr(f, 400, "InvalidParameterValue",
                    "The architecture '%s' of the specified instance type does not match the "
                    "architecture '%s' of the specified AMI. Specify an instance type and an AMI "
                    "that have matching architectures, and try again.",
                    t->t->ec2_arch, img->arch);
    if (!subnet && !zone) {
        subnet = qget(p->req, "SubnetId");
        if (!subnet)
            subnet = pget(p, "NetworkInterface.1.SubnetId");
        zone = pget(p, "Placement.AvailabilityZone");
    }
    rc = subnet_resolve(a, subnet, zone, &l->spec.subnet, f);
    if (rc)
        return rc;
    l->zone = l->spec.subnet->zone;

    /* Security groups: the request's list replaces the template's. */
    rc = q_list(p->req, "SecurityGroupId", SGS_MAX, &l->sgs, f);
    if (!rc && !l->sgs.n)
        rc = q_list(p->lt, "SecurityGroupId", SGS_MAX, &l->sgs, f);
    if (!rc && !l->sgs.n)
        rc = q_list(p->lt, "NetworkInterface.1.SecurityGroupId", SGS_MAX, &l->sgs, f);
    for (size_t k = 0; !rc && k < l->sgs.n; k++)
        if (!sim_sg_find(a, l->sgs.v[k]))
            rc = ferr(f, 400, "InvalidGroup.NotFound", "The security group '%.64s' does not exist",
                      l->sgs.v[k]);
    if (rc)
        return rc;

    rc = user_data_decode(pget(p, "UserData"), &l->user_data, &l->spec.user_data_len, f);
    if (rc)
        return rc;

    /* The instance profile is one parameter: the request's Arn/Name pair replaces the
     * template's. */
    parn = qget(p->req, "IamInstanceProfile.Arn");
    pname = qget(p->req, "IamInstanceProfile.Name");
    if (!parn && !pname) {
        parn = qget(p->lt, "IamInstanceProfile.Arn");
        pname = qget(p->lt, "IamInstanceProfile.Name");
    }
    if (parn && pname)
        return ferr(f, 400, "InvalidParameterCombination",
                    "The parameter 'iamInstanceProfile' may not specify both an ARN and a name");
    if (parn) {
        if (strncmp(parn, "arn:", 4) != 0 || strlen(parn) >= sizeof l->profile_arn)
            return ferr(f, 400, "InvalidParameterValue",
                        "Value (%.64s) for parameter iamInstanceProfile.arn is invalid.", parn);
        core_strlcpy(l->profile_arn, parn, sizeof l->profile_arn);
    } else if (pname) {
        if (!*pname || strlen(pname) > 128)
            return ferr(f, 400, "InvalidParameterValue",
                        "Value (%.64s) for parameter iamInstanceProfile.name is invalid.", pname);
        snprintf(l->profile_arn, sizeof l->profile_arn, "arn:aws:iam::%s:instance-profile/%s",
                 a->account_id, pname);
    }

    if ((v = pget(p, "HibernationOptions.Configured")) &&
        (rc = parse_bool(v, "HibernationOptions.Configured", &hib, f)) != 0)
        return rc;

    if (o->lifecycle_spot >= 0) {
        l->spec.spot = o->lifecycle_spot;
        if (o->max_price) {
            rc = parse_price(o->max_price, "MaxPrice", &l->max_price, f);
            if (rc)
                return rc;
            l->has_max_price = 1;
        }
    } else if ((v = pget(p, "InstanceMarketOptions.MarketType"))) {
        if (strcmp(v, "spot") != 0)
            return ferr(f, 400, "InvalidParameterValue",
                        "Value (%.64s) for parameter InstanceMarketOptions.MarketType is invalid. "
                        "The emulator supports 'spot'.",
                        v);
        l->spec.spot = 1;
        if ((v = pget(p, "InstanceMarketOptions.SpotOptions.MaxPrice"))) {
            rc = parse_price(v, "InstanceMarketOptions.SpotOptions.MaxPrice", &l->max_price, f);
            if (rc)
                return rc;
            l->has_max_price = 1;
        }
    }
    if (hib && l->spec.spot)
        return ferr(f, 400, "InvalidParameterCombination",
                    "HibernationOptions cannot be combined with a Spot market option");
    if (hib && !t->hibernation)
        return ferr(f, 400, "UnsupportedHibernationConfiguration",
                    "The instance type %s does not support hibernation. For more information, "
                    "see Hibernation prerequisites in the Amazon EC2 User Guide.",
                    t->t->name);

    /* Tags: the template's instance tags, then the request's (the request wins per key). */
    rc = tag_specs_parse(p->lt, run_tag_types, "instance", &l->tags, f);
    if (!rc && p->req)
        rc = tag_specs_parse(p->req, run_tag_types, "instance", &l->tags, f);
    if (rc)
        return rc;
    if (l->tags.n > TAGS_MAX)
        return ferr(f, 400, "TagLimitExceeded", "The maximum number of tags per resource is %u",
                    TAGS_MAX);

    l->spec.type = t;
    l->spec.image = img;
    l->spec.user_data = l->user_data;
    l->spec.profile_arn = l->profile_arn[0] ? l->profile_arn : NULL;
    l->spec.key_name = pget(p, "KeyName");
    if (l->spec.key_name && strlen(l->spec.key_name) > 255)
        return ferr(f, 400, "InvalidKeyPair.Format", "Key pair names are at most 255 characters");
    l->spec.sg_ids = l->sgs.v;
    l->spec.nsg = l->sgs.n;
    l->spec.hibernation_configured = hib;
    l->spec.tags = &l->tags;
    return 0;
}

/* Zones other than `zone` that could serve the type now, for AWS-like advice in messages. */
static void other_zones(const struct sim_aws *a, const struct sim_itype *t, int zone, char *out,
                        size_t outsz)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t z = 0; z < a->nzones; z++) {
        if ((int)z == zone || !(t->zones & (1u << z)) ||
            sim_ice_match(a, t->t->name, a->zones[z].name))
            continue;
        int n = snprintf(out + len, outsz - len, "%s%s", len ? ", " : "", a->zones[z].name);
        if (n < 0 || (size_t)n >= outsz - len)
            break;
        len += (size_t)n;
    }
}

/* Whether `count` instances of l can start now: offered in the zone, capacity (ICE rules),
 * the Spot price under the maximum, free addresses. */
static int capacity_check(struct sim_aws *a, const struct launch *l, int64_t count, struct fail *f)
{
    const struct sim_itype *t = l->spec.type;
    const char *zname = a->zones[l->zone].name;
    char alt[160];

    if (!(t->zones & (1u << l->zone))) {
        other_zones(a, t, l->zone, alt, sizeof alt);
        return ferr(f, 400, "Unsupported",
                    "Your requested instance type (%s) is not supported in your requested "
                    "Availability Zone (%s). Please retry your request by not specifying an "
                    "Availability Zone or choosing %s.",
                    t->t->name, zname, alt[0] ? alt : "another Availability Zone");
    }
    if (sim_ice_match(a, t->t->name, zname)) {
        a->stats.ice++;
        other_zones(a, t, l->zone, alt, sizeof alt);
        return ferr(f, 500, "InsufficientInstanceCapacity",
                    "We currently do not have sufficient %s capacity in the Availability Zone "
                    "you requested (%s). Our system will be working on provisioning additional "
                    "capacity. You can currently get %s capacity by not specifying an "
                    "Availability Zone in your request or choosing %s.",
                    t->t->name, zname, t->t->name, alt[0] ? alt : "another Availability Zone");
    }
    if (l->spec.spot) {
        double price = t->spot_price[l->zone];
        double max = l->has_max_price ? l->max_price : t->od_price;
        if (max < price)
            return ferr(f, 400, "SpotMaxPriceTooLow",
                        "Your Spot request price of %g is lower than the minimum required Spot "
                        "request fulfillment price of %g.",
                        max, price);
    }
    if (l->spec.subnet->available < count)
        return ferr(f, 400, "InsufficientFreeAddressesInSubnet",
                    "There are not enough free addresses in subnet '%s' to satisfy the requested "
                    "number of instances.",
                    l->spec.subnet->id);
    return 0;
}

static int launch_bucket_take(struct sim_ec2_ctx *c, int64_t n)
{
    struct sim_aws *a = c->a;
    if (!a->opts.faults.throttle || sim_bucket_take(&a->launch_bucket, (double)n, sim_now(a)))
        return 1;
    return 0;
}

static int throttled(struct sim_ec2_ctx *c)
{
    c->a->stats.throttled++;
    return sim_ec2_fail(c, 503, "RequestLimitExceeded", "Request limit exceeded.");
}

/* ------------------------------------------------------------------------------------------ */
/* RunInstances                                                                                */
/* ------------------------------------------------------------------------------------------ */

int sim_ec2_run_instances(struct sim_ec2_ctx *c)
{
    struct sim_aws *a = c->a;
    struct overrides o = {NULL, NULL, NULL, NULL, NULL, NULL, -1};
    struct sim_instance **out = NULL;
    const struct sim_lt_version *ver = NULL;
    struct sim_lt *lt = NULL;
    struct params p = {c->q, NULL};
    struct launch l;
    struct fail f;
    char rid[SIM_ID_MAX];
    int64_t min, max, n, launched = 0;
    int replayed, rc;
    const char *ltid, *ltname;

    memset(&l, 0, sizeof l);
    rc = token_check(c, &replayed);
    if (rc || replayed)
        return rc;
    if (parse_count(qget(c->q, "MinCount"), "MinCount", 1, RUN_MAX_COUNT, &min, &f) != 0 ||
        parse_count(qget(c->q, "MaxCount"), "MaxCount", 1, INT64_MAX, &max, &f) != 0)
        return fsend(c, &f);
    if (max < min)
        return sim_ec2_fail(c, 400, "InvalidParameterValue",
                            "MaxCount (%" PRId64 ") must be greater than or equal to MinCount "
                            "(%" PRId64 ")",
                            max, min);
    if (max > RUN_MAX_COUNT)
        max = RUN_MAX_COUNT; /* like AWS, launch as many as allowed up to MaxCount */

    ltid = qget(c->q, "LaunchTemplate.LaunchTemplateId");
    ltname = qget(c->q, "LaunchTemplate.LaunchTemplateName");
    if (ltid || ltname) {
        if (lt_resolve(a, ltid, ltname, qget(c->q, "LaunchTemplate.Version"), &lt, &ver, &f))
            return fsend(c, &f);
        p.lt = &ver->data;
    } else if (qget(c->q, "LaunchTemplate.Version")) {
        return sim_ec2_fail(c, 400, "MissingParameter",
                            "The request must contain the parameter "
                            "LaunchTemplate.LaunchTemplateId or LaunchTemplate.LaunchTemplateName");
    }
    if (launch_resolve(a, &p, &o, &l, &f) != 0) {
        launch_cleanup(&l);
        return fsend(c, &f);
    }
    rc = capacity_check(a, &l, min, &f);
    if (rc) {
        launch_cleanup(&l);
        return fsend(c, &f);
    }
    n = l.spec.subnet->available < max ? l.spec.subnet->available : max;
    /* The instance bucket: all of MaxCount if it can, else MinCount, else throttled. */
    if (!launch_bucket_take(c, n)) {
        if (n == min || !launch_bucket_take(c, min)) {
            launch_cleanup(&l);
            return throttled(c);
        }
        n = min;
    }
    out = core_calloc((size_t)n, sizeof *out);
    if (!out) {
        launch_cleanup(&l);
        return nomem(c);
    }
    sim_new_id(a, "r-", rid, sizeof rid);
    l.spec.reservation_id = rid;
    l.spec.client_token = qget(c->q, "ClientToken");
    l.spec.launch_template_id = lt ? lt->id : NULL;
    for (launched = 0; launched < n; launched++) {
        if (sim_instance_launch(a, &l.spec, &out[launched], NULL) != 0)
            break;
        a->stats.launched++;
    }
    if (launched == 0) {
        core_free(out);
        launch_cleanup(&l);
        return nomem(c);
    }
    sim_ec2_begin(c);
    sim_xml_text(&c->x, "reservationId", rid);
    sim_xml_text(&c->x, "ownerId", a->account_id);
    sim_xml_open(&c->x, "groupSet");
    for (size_t k = 0; k < l.sgs.n; k++) {
        const struct sim_sg *sg = sim_sg_find(a, l.sgs.v[k]);
        sim_xml_open(&c->x, "item");
        sim_xml_text(&c->x, "groupId", l.sgs.v[k]);
        if (sg)
            sim_xml_text(&c->x, "groupName", sg->name);
        sim_xml_close(&c->x);
    }
    sim_xml_close(&c->x);
    sim_xml_open(&c->x, "instancesSet");
    for (int64_t k = 0; k < launched; k++)
        sim_xml_instance(&c->x, a, out[k]);
    sim_xml_close(&c->x);
    sim_ec2_end(c);
    token_store(c);
    core_free(out);
    launch_cleanup(&l);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* CreateFleet (instant)                                                                       */
/* ------------------------------------------------------------------------------------------ */

/*
 * The allocation model. Every (launch template config, override) pair is a candidate (a config
 * without overrides is one candidate). Candidates are ranked once, then capacity is filled one
 * instance at a time from the best candidate that still works; a candidate that fails (not
 * offered, ICE, Spot price above MaxPrice, no free address) gets one <errorSet> item and is
 * skipped from then on.
 *   lowest-price              price (on-demand price, or the zone's Spot price)
 *   prioritized (on-demand)   Priority (lower first; none = last), then price
 *   capacity-optimized        the zone's capacity depth (sim_itype.depth), deepest first
 *   price-capacity-optimized  the candidates whose depth is at least half the best depth among
 *                             all candidates, cheapest first; then the others, cheapest first
 * Ties keep request order. Mixed on-demand/Spot targets are not modelled: every instance gets
 * DefaultTargetCapacityType.
 */
struct cand {
    size_t cfg;                  /* LaunchTemplateConfigs.N index, 1-based */
    size_t order;                /* request order */
    struct sim_lt *lt;
    const char *version_text;    /* as sent, NULL when not sent */
    int64_t version;
    struct overrides o;
    int has_priority;
    double priority;
    struct launch l;
    int resolved;
    int failed;
    struct fail f;
    double price, depth, k1, k2;
    size_t first, count;         /* its instances in the launched array */
};

static int cmp_cand(const void *x, const void *y)
{
    const struct cand *a = *(struct cand *const *)x, *b = *(struct cand *const *)y;
    if (a->k1 != b->k1)
        return a->k1 < b->k1 ? -1 : 1;
    if (a->k2 != b->k2)
        return a->k2 < b->k2 ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

static void xml_lt_and_overrides(struct sim_xml *x, const struct cand *k)
{
    sim_xml_open(x, "launchTemplateAndOverrides");
    sim_xml_open(x, "launchTemplateSpecification");
    sim_xml_text(x, "launchTemplateId", k->lt->id);
    if (k->version_text)
        sim_xml_text(x, "version", k->version_text);
    else
        sim_xml_i64(x, "version", k->version);
    sim_xml_close(x);
    sim_xml_open(x, "overrides");
    /* The resolved type even when it came from the template: clients key their capacity
     * bookkeeping on it. */
    if (k->o.type)
        sim_xml_text(x, "instanceType", k->o.type);
    else if (k->resolved)
        sim_xml_text(x, "instanceType", k->l.spec.type->t->name);
    sim_xml_text(x, "maxPrice", k->o.max_price);
    sim_xml_text(x, "subnetId", k->o.subnet);
    sim_xml_text(x, "availabilityZone", k->o.zone);
    sim_xml_text(x, "imageId", k->o.image);
    if (k->has_priority)
        sim_xml_textf(x, "priority", "%g", k->priority);
    sim_xml_close(x);
    sim_xml_close(x);
}

struct fleet {
    struct cand *c;
    size_t n;
    struct cand **ranked;
    struct cand **errors; /* in the order they happened */
    size_t nerrors;
    struct sim_instance **launched;
    size_t nlaunched;
    struct aws_ec2_tags req_tags;
};

static void fleet_cleanup(struct fleet *fl)
{
    for (size_t k = 0; k < fl->n; k++)
        launch_cleanup(&fl->c[k].l);
    core_free(fl->c);
    core_free(fl->ranked);
    core_free(fl->errors);
    core_free(fl->launched);
    sim_tags_cleanup(&fl->req_tags);
}

/* Reads LaunchTemplateConfigs into candidates (templates resolved; a template that does not
 * resolve fails the request, as AWS does). */
static int fleet_candidates(struct sim_ec2_ctx *c, struct fleet *fl, int spot, struct fail *f)
{
    struct sim_aws *a = c->a;
    int64_t *cfgs = NULL, *ovs = NULL;
    size_t ncfg = 0, nov = 0, total = 0;
    int rc = q_indices(c->q, "LaunchTemplateConfigs", FLEET_CONFIGS_MAX, &cfgs, &ncfg, f);

    if (!rc && !ncfg)
        rc = ferr(f, 400, "MissingParameter",
                  "The request must contain the parameter LaunchTemplateConfigs");
    /* Count first so the array is allocated once and candidates never move. */
    for (size_t i = 0; !rc && i < ncfg; i++) {
        char pre[96];
        snprintf(pre, sizeof pre, "LaunchTemplateConfigs.%" PRId64 ".Overrides", cfgs[i]);
        rc = q_indices(c->q, pre, FLEET_CANDIDATES_MAX, &ovs, &nov, f);
        core_free(ovs);
        ovs = NULL;
        total += nov ? nov : 1;
    }
    if (!rc && total > FLEET_CANDIDATES_MAX)
        rc = ferr(f, 400, "InvalidParameterValue",
                  "The fleet has %zu launch template overrides; at most %u", total,
                  FLEET_CANDIDATES_MAX);
    if (!rc && !(fl->c = core_calloc(total, sizeof *fl->c)))
        rc = ferr(f, 500, "InternalError", "out of memory");
    for (size_t i = 0; !rc && i < ncfg; i++) {
        char pre[96];
        const char *spec_pre = "LaunchTemplateSpecification";
        const struct sim_lt_version *ver;
        struct sim_lt *lt;
        const char *vt = qgetf(c->q, "LaunchTemplateConfigs.%" PRId64 ".%s.Version", cfgs[i],
                               spec_pre);
        rc = lt_resolve(
            a, qgetf(c->q, "LaunchTemplateConfigs.%" PRId64 ".%s.LaunchTemplateId", cfgs[i], spec_pre),
            qgetf(c->q, "LaunchTemplateConfigs.%" PRId64 ".%s.LaunchTemplateName", cfgs[i],
                  spec_pre),
            vt, &lt, &ver, f);
        if (rc)
            break;
        snprintf(pre, sizeof pre, "LaunchTemplateConfigs.%" PRId64 ".Overrides", cfgs[i]);
        rc = q_indices(c->q, pre, FLEET_CANDIDATES_MAX, &ovs, &nov, f);
        for (size_t m = 0; !rc && m < (nov ? nov : 1); m++) {
            struct cand *k = &fl->c[fl->n];
            k->cfg = (size_t)cfgs[i];
            k->order = fl->n;
            k->lt = lt;
            k->version_text = vt;
            k->version = ver->number;
            k->o.lifecycle_spot = spot;
            if (nov) {
                int64_t mi = ovs[m];
                k->o.type = qgetf(c->q, "%s.%" PRId64 ".InstanceType", pre, mi);
                k->o.subnet = qgetf(c->q, "%s.%" PRId64 ".SubnetId", pre, mi);
                k->o.zone = qgetf(c->q, "%s.%" PRId64 ".AvailabilityZone", pre, mi);
                k->o.image = qgetf(c->q, "%s.%" PRId64 ".ImageId", pre, mi);
                k->o.max_price = qgetf(c->q, "%s.%" PRId64 ".MaxPrice", pre, mi);
                k->o.priority = qgetf(c->q, "%s.%" PRId64 ".Priority", pre, mi);
                if (k->o.priority) {
                    char *end = NULL;
                    k->priority = strtod(k->o.priority, &end);
                    if (end == k->o.priority || *end || !isfinite(k->priority) ||
                        k->priority < 0) {
                        rc = ferr(f, 400, "InvalidParameterValue",
                                  "Value (%.32s) for parameter Priority is invalid.",
                                  k->o.priority);
                        break;
                    }
                    k->has_priority = 1;
                }
            }
            fl->n++;
            {
                struct params p = {NULL, &ver->data};
                if (launch_resolve(a, &p, &k->o, &k->l, &k->f) == 0)
                    k->resolved = 1;
            }
        }
        core_free(ovs);
        ovs = NULL;
    }
    core_free(cfgs);
    core_free(ovs);
    return rc;
}

static void fleet_rank(struct fleet *fl, const char *strategy, int spot)
{
    double best_depth = 0;
    for (size_t i = 0; i < fl->n; i++) {
        struct cand *k = &fl->c[i];
        if (!k->resolved)
            continue;
        k->price = spot ? k->l.spec.type->spot_price[k->l.zone] : k->l.spec.type->od_price;
        k->depth = k->l.spec.type->depth[k->l.zone];
        if (k->depth > best_depth)
            best_depth = k->depth;
    }
    for (size_t i = 0; i < fl->n; i++) {
        struct cand *k = &fl->c[i];
        if (strcmp(strategy, "prioritized") == 0) {
            k->k1 = k->has_priority ? k->priority : DBL_MAX;
            k->k2 = k->price;
        } else if (strcmp(strategy, "capacity-optimized") == 0) {
            k->k1 = -k->depth;
            k->k2 = k->price;
        } else if (strcmp(strategy, "price-capacity-optimized") == 0) {
            k->k1 = k->depth >= best_depth / 2 ? 0 : 1;
            k->k2 = k->price;
        } else { /* lowest-price */
            k->k1 = k->price;
            k->k2 = 0;
        }
        fl->ranked[i] = k;
    }
    qsort(fl->ranked, fl->n, sizeof *fl->ranked, cmp_cand);
}

int sim_ec2_create_fleet(struct sim_ec2_ctx *c)
{
    static const char *const fleet_tag_types[] = {"instance", "volume", "fleet",
                                                  "network-interface", NULL};
    struct sim_aws *a = c->a;
    struct fleet fl;
    struct fail f;
    const char *type = qget(c->q, "Type"), *cap_type, *strategy;
    char fleet_id[SIM_ID_MAX], rid[SIM_ID_MAX];
    int64_t total;
    size_t cur = 0;
    int spot, replayed, rc;

    memset(&fl, 0, sizeof fl);
    rc = token_check(c, &replayed);
    if (rc || replayed)
        return rc;
    if (!type || strcmp(type, "instant") != 0)
        return sim_ec2_fail(c, 400, "InvalidParameterValue",
                            "Value (%.32s) for parameter Type is invalid. The emulator supports "
                            "only instant fleets.",
                            type ? type : "maintain");
    cap_type = qget(c->q, "TargetCapacitySpecification.DefaultTargetCapacityType");
    if (!cap_type)
        return sim_ec2_fail(c, 400, "MissingParameter",
                            "The request must contain the parameter "
                            "TargetCapacitySpecification.DefaultTargetCapacityType");
    if (strcmp(cap_type, "spot") != 0 && strcmp(cap_type, "on-demand") != 0)
        return sim_ec2_fail(c, 400, "InvalidParameterValue",
                            "Value (%.32s) for parameter DefaultTargetCapacityType is invalid.",
                            cap_type);
    spot = strcmp(cap_type, "spot") == 0;
    if (parse_count(qget(c->q, "TargetCapacitySpecification.TotalTargetCapacity"),
                    "TargetCapacitySpecification.TotalTargetCapacity", 1, RUN_MAX_COUNT, &total,
                    &f) != 0)
        return fsend(c, &f);
    if (spot) {
        strategy = qget(c->q, "SpotOptions.AllocationStrategy");
        if (!strategy)
            strategy = "price-capacity-optimized";
        if (strcmp(strategy, "price-capacity-optimized") != 0 &&
            strcmp(strategy, "lowest-price") != 0 && strcmp(strategy, "capacity-optimized") != 0)
            return sim_ec2_fail(c, 400, "InvalidParameterValue",
                                "Value (%.64s) for parameter SpotOptions.AllocationStrategy is "
                                "invalid.",
                                strategy);
    } else {
        strategy = qget(c->q, "OnDemandOptions.AllocationStrategy");
        if (!strategy)
            strategy = "lowest-price";
        if (strcmp(strategy, "lowest-price") != 0 && strcmp(strategy, "prioritized") != 0)
            return sim_ec2_fail(c, 400, "InvalidParameterValue",
                                "Value (%.64s) for parameter OnDemandOptions.AllocationStrategy "
                                "is invalid.",
                                strategy);
    }
    if (tag_specs_parse(c->q, fleet_tag_types, "instance", &fl.req_tags, &f) != 0 ||
        fleet_candidates(c, &fl, spot, &f) != 0) {
        fleet_cleanup(&fl);
        return fsend(c, &f);
    }
    fl.ranked = core_calloc(fl.n ? fl.n : 1, sizeof *fl.ranked);
    fl.errors = core_calloc(fl.n ? fl.n : 1, sizeof *fl.errors);
    fl.launched = core_calloc((size_t)total, sizeof *fl.launched);
    if (!fl.ranked || !fl.errors || !fl.launched) {
        fleet_cleanup(&fl);
        return nomem(c);
    }
    /* The request's instance tags go on top of each template's. */
    for (size_t i = 0; i < fl.n; i++) {
        struct cand *k = &fl.c[i];
        for (size_t t = 0; k->resolved && t < fl.req_tags.n; t++)
            if (sim_tags_set(&k->l.tags, fl.req_tags.v[t].key, fl.req_tags.v[t].value) != 0) {
                fleet_cleanup(&fl);
                return nomem(c);
            }
        if (k->resolved && k->l.tags.n > TAGS_MAX) {
            fleet_cleanup(&fl);
            return sim_ec2_fail(c, 400, "TagLimitExceeded",
                                "The maximum number of tags per resource is %u", TAGS_MAX);
        }
        if (!k->resolved)
            fl.errors[fl.nerrors++] = k;
    }
    /* The whole target is taken from the instance bucket up front, as the request asks for
     * it; capacity that then fails is not given back (AWS counts requested capacity too). */
    if (!launch_bucket_take(c, total)) {
        fleet_cleanup(&fl);
        return throttled(c);
    }
    fleet_rank(&fl, strategy, spot);
    sim_new_id(a, "fleet-", fleet_id, sizeof fleet_id);
    sim_new_id(a, "r-", rid, sizeof rid);

    while ((int64_t)fl.nlaunched < total && cur < fl.n) {
        struct cand *k = fl.ranked[cur];
        struct sim_instance *inst;
        if (!k->resolved || k->failed) {
            cur++;
            continue;
        }
        if (capacity_check(a, &k->l, 1, &k->f) != 0) {
            k->failed = 1;
            fl.errors[fl.nerrors++] = k;
            cur++;
            continue;
        }
        k->l.spec.reservation_id = rid;
        k->l.spec.fleet_id = fleet_id;
        k->l.spec.launch_template_id = k->lt->id;
        k->l.spec.client_token = qget(c->q, "ClientToken");
        if (sim_instance_launch(a, &k->l.spec, &inst, NULL) != 0)
            break; /* out of memory: answer with what was launched */
        a->stats.launched++;
        if (!k->count)
            k->first = fl.nlaunched;
        k->count++;
        fl.launched[fl.nlaunched++] = inst;
    }

    sim_ec2_begin(c);
    sim_xml_text(&c->x, "fleetId", fleet_id);
    sim_xml_open(&c->x, "errorSet");
    for (size_t e = 0; e < fl.nerrors; e++) {
        const struct cand *k = fl.errors[e];
        sim_xml_open(&c->x, "item");
        xml_lt_and_overrides(&c->x, k);
        sim_xml_text(&c->x, "lifecycle", spot ? "spot" : "on-demand");
        sim_xml_text(&c->x, "errorCode", k->f.code);
        sim_xml_text(&c->x, "errorMessage", k->f.msg);
        sim_xml_close(&c->x);
    }
    sim_xml_close(&c->x);
    sim_xml_open(&c->x, "fleetInstanceSet");
    for (size_t r = 0; r < fl.n; r++) {
        const struct cand *k = fl.ranked[r];
        if (!k->count)
            continue;
        sim_xml_open(&c->x, "item");
        xml_lt_and_overrides(&c->x, k);
        sim_xml_text(&c->x, "lifecycle", spot ? "spot" : "on-demand");
        sim_xml_open(&c->x, "instanceIds");
        for (size_t j = 0; j < k->count; j++)
            sim_xml_text(&c->x, "item", fl.launched[k->first + j]->id);
        sim_xml_close(&c->x);
        sim_xml_text(&c->x, "instanceType", k->l.spec.type->t->name);
        sim_xml_text(&c->x, "platform", "Linux/UNIX");
        sim_xml_close(&c->x);
    }
    sim_xml_close(&c->x);
    sim_ec2_end(c);
    token_store(c);
    fleet_cleanup(&fl);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Start / Stop / Terminate                                                                    */
/* ------------------------------------------------------------------------------------------ */

struct targets {
    struct sim_instance **v;
    size_t n;
};

/* InstanceId.N: each well formed and known; duplicates dropped (first occurrence kept). The
 * consistency fault does not apply here: a just-launched id can be stopped or terminated at
 * once (describes are where clients meet eventual consistency). */
static int targets_collect(struct sim_ec2_ctx *c, struct targets *t)
{
    struct strs ids;
    struct fail f;
    struct core_map *seen = NULL;
    char missing[400];
    size_t nmissing = 0, mlen = 0;
    int rc;

    memset(t, 0, sizeof *t);
    if (q_list(c->q, "InstanceId", IDS_MAX, &ids, &f) != 0)
        return fsend(c, &f);
    if (!ids.n) {
        strs_cleanup(&ids);
        return sim_ec2_fail(c, 400, "MissingParameter",
                            "The request must contain the parameter InstanceId");
    }
    for (size_t k = 0; k < ids.n; k++)
        if (!instance_id_ok(ids.v[k])) {
            rc = sim_ec2_fail(c, 400, "InvalidInstanceID.Malformed", "Invalid id: \"%.64s\"",
                              ids.v[k]);
            strs_cleanup(&ids);
            return rc;
        }
    t->v = core_calloc(ids.n, sizeof *t->v);
    seen = core_map_new();
    if (!t->v || !seen)
        goto oom;
    missing[0] = '\0';
    for (size_t k = 0; k < ids.n; k++) {
        struct sim_instance *i = sim_instance_find(c->a, ids.v[k]);
        if (!i) {
            int n = snprintf(missing + mlen, sizeof missing - mlen, "%s%s", nmissing ? ", " : "",
                             ids.v[k]);
            if (n > 0 && (size_t)n < sizeof missing - mlen)
                mlen += (size_t)n;
            nmissing++;
            continue;
        }
        if (core_map_get(seen, i->id, NULL))
            continue;
        if (core_map_set(seen, i->id, i, NULL) != 0)
            goto oom;
        t->v[t->n++] = i;
    }
    core_map_free(seen);
    strs_cleanup(&ids);
    if (nmissing) {
        core_free(t->v);
        t->v = NULL;
        return sim_ec2_fail(c, 400, "InvalidInstanceID.NotFound",
                            nmissing == 1 ? "The instance ID '%s' does not exist"
                                          : "The instance IDs '%s' do not exist",
                            missing);
    }
    return 0;
oom:
    core_map_free(seen);
    strs_cleanup(&ids);
    core_free(t->v);
    t->v = NULL;
    return nomem(c);
}

/* Answers <instancesSet> of state changes. */
static void answer_changes(struct sim_ec2_ctx *c, const struct targets *t, const int *prev)
{
    sim_ec2_begin(c);
    sim_xml_open(&c->x, "instancesSet");
    for (size_t k = 0; k < t->n; k++)
        sim_xml_state_change(&c->x, t->v[k]->id, prev[k], t->v[k]->state);
    sim_xml_close(&c->x);
    sim_ec2_end(c);
}

int sim_ec2_start_instances(struct sim_ec2_ctx *c)
{
    struct sim_aws *a = c->a;
    struct targets t;
    int *prev;
    int rc = targets_collect(c, &t);
    if (rc)
        return rc;
    for (size_t k = 0; k < t.n; k++) {
        const struct sim_instance *i = t.v[k];
        const char *zname = a->zones[i->subnet->zone].name;
        if (i->state != SIM_STOPPED && i->state != SIM_PENDING && i->state != SIM_RUNNING) {
            rc = sim_ec2_fail(c, 400, "IncorrectInstanceState",
                              "The instance '%s' is not in a state from which it can be started.",
                              i->id);
            break;
        }
        /* A stopped instance holds no capacity: its start can meet an ICE. */
        if (i->state == SIM_STOPPED && sim_ice_match(a, i->type->t->name, zname)) {
            a->stats.ice++;
            rc = sim_ec2_fail(c, 500, "InsufficientInstanceCapacity",
                              "Insufficient capacity. We currently do not have sufficient %s "
                              "capacity in the Availability Zone you requested (%s).",
                              i->type->t->name, zname);
            break;
        }
    }
    if (rc || !(prev = core_calloc(t.n, sizeof *prev))) {
        core_free(t.v);
        return rc ? rc : nomem(c);
    }
    for (size_t k = 0; k < t.n; k++) {
        struct sim_instance *i = t.v[k];
        prev[k] = i->state;
        /* Starting a pending or running instance changes nothing (AWS answers it as a
         * success with both states equal). */
        if (i->state == SIM_STOPPED)
            sim_instance_transition(a, i, SIM_PENDING, SIM_RUNNING,
                                    i->hibernated ? SIM_BOOT_RESUME : SIM_BOOT_START);
    }
    answer_changes(c, &t, prev);
    core_free(prev);
    core_free(t.v);
    return 0;
}

int sim_ec2_stop_instances(struct sim_ec2_ctx *c)
{
    struct sim_aws *a = c->a;
    struct targets t;
    struct fail f;
    const char *v;
    int hibernate = 0, force = 0, *prev, rc;

    if ((v = qget(c->q, "Hibernate")) && parse_bool(v, "Hibernate", &hibernate, &f) != 0)
        return fsend(c, &f);
    if ((v = qget(c->q, "Force")) && parse_bool(v, "Force", &force, &f) != 0)
        return fsend(c, &f);
    (void)force; /* accepted; a forced stop takes the same time here */
    rc = targets_collect(c, &t);
    if (rc)
        return rc;
    for (size_t k = 0; k < t.n && !rc; k++) {
        const struct sim_instance *i = t.v[k];
        if (i->spot)
            rc = sim_ec2_fail(c, 400, "UnsupportedOperation",
                              "You can't stop the Spot Instance '%s' because it is associated "
                              "with a one-time Spot Instance request. You can only stop Spot "
                              "Instances associated with persistent Spot Instance requests.",
                              i->id);
        else if (i->state == SIM_PENDING || i->state == SIM_SHUTTING_DOWN ||
                 i->state == SIM_TERMINATED)
            rc = sim_ec2_fail(c, 400, "IncorrectInstanceState",
                              "This instance '%s' is not in a state from which it can be stopped.",
                              i->id);
        else if (hibernate && !i->hibernation_configured)
            rc = sim_ec2_fail(c, 400, "UnsupportedOperation",
                              "Hibernation is not enabled for the instance '%s'. Enable "
                              "hibernation at launch to hibernate it.",
                              i->id);
    }
    if (rc || !(prev = core_calloc(t.n, sizeof *prev))) {
        core_free(t.v);
        return rc ? rc : nomem(c);
    }
    for (size_t k = 0; k < t.n; k++) {
        struct sim_instance *i = t.v[k];
        prev[k] = i->state;
        /* Stopping a stopping or stopped instance changes nothing. */
        if (i->state == SIM_RUNNING) {
            i->hibernating = hibernate;
            sim_instance_transition(a, i, SIM_STOPPING, SIM_STOPPED,
                                    hibernate ? SIM_BOOT_HIBERNATE : SIM_BOOT_STOP);
        }
    }
    answer_changes(c, &t, prev);
    core_free(prev);
    core_free(t.v);
    return 0;
}

int sim_ec2_terminate_instances(struct sim_ec2_ctx *c)
{
    struct targets t;
    int *prev;
    int rc = targets_collect(c, &t);
    if (rc)
        return rc;
    if (!(prev = core_calloc(t.n, sizeof *prev))) {
        core_free(t.v);
        return nomem(c);
    }
    for (size_t k = 0; k < t.n; k++) {
        struct sim_instance *i = t.v[k];
        prev[k] = i->state;
        /* Already shutting down or terminated: answered with both states equal. */
        if (i->state != SIM_SHUTTING_DOWN && i->state != SIM_TERMINATED)
            sim_instance_transition(c->a, i, SIM_SHUTTING_DOWN, SIM_TERMINATED,
                                    SIM_BOOT_TERMINATE);
    }
    answer_changes(c, &t, prev);
    core_free(prev);
    core_free(t.v);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Instance attributes                                                                         */
/* ------------------------------------------------------------------------------------------ */

static int one_instance(struct sim_ec2_ctx *c, int visible_only, struct sim_instance **out)
{
    const char *id = qget(c->q, "InstanceId");
    struct sim_instance *i;
    if (!id)
        return sim_ec2_fail(c, 400, "MissingParameter",
                            "The request must contain the parameter InstanceId");
    if (!instance_id_ok(id))
        return sim_ec2_fail(c, 400, "InvalidInstanceID.Malformed", "Invalid id: \"%.64s\"", id);
    i = sim_instance_find(c->a, id);
    if (!i || (visible_only && !sim_instance_visible(c->a, i)))
        return sim_ec2_fail(c, 400, "InvalidInstanceID.NotFound",
                            "The instance ID '%s' does not exist", id);
    *out = i;
    return 0;
}

int sim_ec2_modify_instance_attribute(struct sim_ec2_ctx *c)
{
    struct sim_aws *a = c->a;
    const char *ud = qget(c->q, "UserData.Value"), *it = qget(c->q, "InstanceType.Value");
    const char *attr = qget(c->q, "Attribute"), *val = qget(c->q, "Value");
    struct sim_instance *i;
    struct fail f;
    int rc, given;

    /* The older form: Attribute=userData|instanceType with Value. */
    if (attr) {
        if (!val)
            return sim_ec2_fail(c, 400, "MissingParameter",
                                "The request must contain the parameter Value");
        if (strcmp(attr, "userData") == 0 && !ud)
            ud = val;
        else if (strcmp(attr, "instanceType") == 0 && !it)
            it = val;
        else
            return sim_ec2_fail(c, 400, "InvalidParameterValue",
                                "Value (%.64s) for parameter attribute is invalid. The emulator "
                                "supports userData and instanceType.",
                                attr);
    }
    given = (ud != NULL) + (it != NULL);
    if (!given)
        return sim_ec2_fail(c, 400, "InvalidParameterCombination", "No attributes specified.");
    if (given > 1)
        return sim_ec2_fail(c, 400, "InvalidParameterCombination",
                            "Fields for multiple attribute types specified: userData, "
                            "instanceType");
    rc = one_instance(c, 0, &i);
    if (rc)
        return rc;
    if (i->state != SIM_STOPPED)
        return sim_ec2_fail(c, 400, "IncorrectInstanceState",
                            "The instance '%s' is not in the 'stopped' state.", i->id);
    if (ud) {
        unsigned char *data;
        size_t len;
        if (user_data_decode(ud, &data, &len, &f) != 0)
            return fsend(c, &f);
        core_free(i->user_data);
        i->user_data = data;
        i->user_data_len = len;
    } else {
        const struct sim_itype *t = sim_itype_find(a, it);
        const char *zname = a->zones[i->subnet->zone].name;
        if (!t)
            return sim_ec2_fail(c, 400, "InvalidInstanceAttributeValue",
                                "The instanceType '%.64s' is invalid.", it);
        if (strcmp(t->t->ec2_arch, i->image->arch) != 0)
            return sim_ec2_fail(c, 400, "InvalidInstanceAttributeValue",
                                "The instance type '%s' does not support the architecture '%s' "
                                "of the instance's AMI.",
                                t->t->name, i->image->arch);
        if (!(t->zones & (1u << i->subnet->zone)))
            return sim_ec2_fail(c, 400, "Unsupported",
                                "The requested instance type (%s) is not supported in the "
                                "Availability Zone of the instance (%s).",
                                t->t->name, zname);
        if (i->hibernation_configured && !t->hibernation)
            return sim_ec2_fail(c, 400, "UnsupportedHibernationConfiguration",
                                "The instance type %s does not support hibernation, which is "
                                "enabled for the instance '%s'.",
                                t->t->name, i->id);
        i->type = t;
    }
    sim_ec2_begin(c);
    sim_xml_bool(&c->x, "return", 1);
    sim_ec2_end(c);
    return 0;
}

int sim_ec2_describe_instance_attribute(struct sim_ec2_ctx *c)
{
    const char *attr = qget(c->q, "Attribute");
    struct sim_instance *i;
    int rc;

    if (!attr)
        return sim_ec2_fail(c, 400, "MissingParameter",
                            "The request must contain the parameter Attribute");
    if (strcmp(attr, "userData") != 0 && strcmp(attr, "instanceType") != 0 &&
        strcmp(attr, "disableApiTermination") != 0 &&
        strcmp(attr, "instanceInitiatedShutdownBehavior") != 0)
        return sim_ec2_fail(c, 400, "InvalidParameterValue",
                            "Value (%.64s) for parameter attribute is invalid. The emulator "
                            "supports userData, instanceType, disableApiTermination and "
                            "instanceInitiatedShutdownBehavior.",
                            attr);
    rc = one_instance(c, 1, &i);
    if (rc)
        return rc;
    if (strcmp(attr, "userData") == 0) {
        char *b64 = NULL;
        if (i->user_data_len && !(b64 = user_data_encode(i->user_data, i->user_data_len)))
            return nomem(c);
        sim_ec2_begin(c);
        sim_xml_text(&c->x, "instanceId", i->id);
        sim_xml_open(&c->x, "userData");
        sim_xml_text(&c->x, "value", b64);
        sim_xml_close(&c->x);
        sim_ec2_end(c);
        core_free(b64);
        return 0;
    }
    sim_ec2_begin(c);
    sim_xml_text(&c->x, "instanceId", i->id);
    sim_xml_open(&c->x, attr);
    if (strcmp(attr, "instanceType") == 0)
        sim_xml_text(&c->x, "value", i->type->t->name);
    else if (strcmp(attr, "disableApiTermination") == 0)
        sim_xml_bool(&c->x, "value", 0);
    else
        sim_xml_text(&c->x, "value", "stop");
    sim_xml_close(&c->x);
    sim_ec2_end(c);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* CreateTags / DeleteTags                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* The tag set of a resource by id, or NULL after sim_ec2_fail. */
static struct aws_ec2_tags *resource_tags(struct sim_ec2_ctx *c, const char *id)
{
    struct sim_aws *a = c->a;
    if (strncmp(id, "i-", 2) == 0) {
        struct sim_instance *i = sim_instance_find(a, id);
        if (i)
            return &i->tags;
        sim_ec2_fail(c, 400, "InvalidInstanceID.NotFound", "The instance ID '%.64s' does not "
                                                           "exist",
                     id);
    } else if (strncmp(id, "ami-", 4) == 0) {
        /* Through the index for a mutable pointer: images are owned by the account. */
        struct sim_image *img = a->image_by_id ? core_map_get(a->image_by_id, id, NULL) : NULL;
        if (img)
            return &img->tags;
        sim_ec2_fail(c, 400, "InvalidAMIID.NotFound", "The image id '[%.64s]' does not exist", id);
    } else if (strncmp(id, "subnet-", 7) == 0) {
        struct sim_subnet *s = sim_subnet_find(a, id);
        if (s)
            return &s->tags;
        sim_ec2_fail(c, 400, "InvalidSubnetID.NotFound", "The subnet ID '%.64s' does not exist",
                     id);
    } else if (strncmp(id, "sg-", 3) == 0) {
        for (size_t k = 0; k < a->nsgs; k++)
            if (strcmp(a->sgs[k].id, id) == 0)
                return &a->sgs[k].tags;
        sim_ec2_fail(c, 400, "InvalidGroup.NotFound", "The security group '%.64s' does not exist",
                     id);
    } else if (strncmp(id, "lt-", 3) == 0) {
        struct sim_lt *lt = lt_by_id(a, id);
        if (lt)
            return &lt->tags;
        sim_ec2_fail(c, 400, "InvalidLaunchTemplateId.NotFound",
                     "The specified launch template, with template ID %.64s, does not exist.", id);
    } else {
        sim_ec2_fail(c, 400, "InvalidID", "The ID '%.64s' is not valid", id);
    }
    return NULL;
}

static int resources_collect(struct sim_ec2_ctx *c, struct aws_ec2_tags ***out, size_t *nout)
{
    struct strs ids;
    struct fail f;
    struct aws_ec2_tags **v;
    *out = NULL;
    *nout = 0;
    if (q_list(c->q, "ResourceId", IDS_MAX, &ids, &f) != 0)
        return fsend(c, &f);
    if (!ids.n) {
        strs_cleanup(&ids);
        return sim_ec2_fail(c, 400, "MissingParameter",
                            "The request must contain the parameter ResourceId");
    }
    v = core_calloc(ids.n, sizeof *v);
    if (!v) {
        strs_cleanup(&ids);
        return nomem(c);
    }
    for (size_t k = 0; k < ids.n; k++)
        if (!(v[k] = resource_tags(c, ids.v[k]))) {
            core_free(v);
            strs_cleanup(&ids);
            return CORE_E_SERVICE;
        }
    *out = v;
    *nout = ids.n;
    strs_cleanup(&ids);
    return 0;
}

int sim_ec2_create_tags(struct sim_ec2_ctx *c)
{
    struct aws_ec2_tags **res = NULL, req;
    struct fail f;
    size_t nres;
    int rc;

    memset(&req, 0, sizeof req);
    if (tags_parse(c->q, "Tag", &req, &f) != 0) {
        sim_tags_cleanup(&req);
        return fsend(c, &f);
    }
    if (!req.n)
        return sim_ec2_fail(c, 400, "MissingParameter", "The request must contain the parameter "
                                                        "Tag");
    rc = resources_collect(c, &res, &nres);
    if (rc) {
        sim_tags_cleanup(&req);
        return rc;
    }
    for (size_t k = 0; k < nres && !rc; k++) {
        size_t added = 0;
        for (size_t t = 0; t < req.n; t++)
            added += sim_tags_get(res[k], req.v[t].key) == NULL;
        if (res[k]->n + added > TAGS_MAX)
            rc = sim_ec2_fail(c, 400, "TagLimitExceeded",
                              "The maximum number of tags per resource is %u", TAGS_MAX);
    }
    for (size_t k = 0; k < nres && !rc; k++)
        for (size_t t = 0; t < req.n && !rc; t++)
            if (sim_tags_set(res[k], req.v[t].key, req.v[t].value) != 0)
                rc = nomem(c);
    core_free(res);
    sim_tags_cleanup(&req);
    if (rc)
        return rc;
    sim_ec2_begin(c);
    sim_xml_bool(&c->x, "return", 1);
    sim_ec2_end(c);
    return 0;
}

/* Tag.N.Key with an optional Tag.N.Value: without a value the key goes whatever its value;
 * with one (even "") only when it matches. No Tag at all removes every tag. */
int sim_ec2_delete_tags(struct sim_ec2_ctx *c)
{
    struct aws_ec2_tags **res = NULL;
    int64_t *idx = NULL;
    size_t nres, nidx;
    struct fail f;
    int rc;

    if (q_indices(c->q, "Tag", TAGS_MAX, &idx, &nidx, &f) != 0)
        return fsend(c, &f);
    for (size_t t = 0; t < nidx; t++) {
        const char *key = qgetf(c->q, "Tag.%" PRId64 ".Key", idx[t]);
        if (!key || !*key || strncasecmp(key, "aws:", 4) == 0) {
            core_free(idx);
            return sim_ec2_fail(c, 400, "InvalidParameterValue",
                                key && *key ? "Tag keys starting with 'aws:' are reserved for "
                                              "internal use"
                                            : "Tag key cannot be empty");
        }
    }
    rc = resources_collect(c, &res, &nres);
    if (rc) {
        core_free(idx);
        return rc;
    }
    for (size_t k = 0; k < nres; k++) {
        struct aws_ec2_tags *tags = res[k];
        if (!nidx) {
            while (tags->n)
                tags_remove(tags, tags->n - 1);
            continue;
        }
        for (size_t t = 0; t < nidx; t++) {
            const char *key = qgetf(c->q, "Tag.%" PRId64 ".Key", idx[t]);
            const char *val = qgetf(c->q, "Tag.%" PRId64 ".Value", idx[t]);
            for (size_t j = 0; j < tags->n; j++)
                if (strcmp(tags->v[j].key, key) == 0) {
                    if (!val || strcmp(tags->v[j].value ? tags->v[j].value : "", val) == 0)
                        tags_remove(tags, j);
                    break;
                }
        }
    }
    core_free(res);
    core_free(idx);
    sim_ec2_begin(c);
    sim_xml_bool(&c->x, "return", 1);
    sim_ec2_end(c);
    return 0;
}
