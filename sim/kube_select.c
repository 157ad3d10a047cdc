/*
 * sim/kube_select.c — label and field selectors of the emulated Kubernetes API, parsed from the
 * query-string syntax the API takes and matched against stored objects.
 *
 * Label grammar (as the API server's parser takes it): requirements separated by ',', each one
 * of  key | !key | key=value | key==value | key!=value | key in (v1,v2) | key notin (v1,v2) |
 * key>int | key<int, with blanks allowed around tokens. Keys are an optional DNS-1123 subdomain
 * prefix (at most 253 bytes) and '/', then a name of at most 63 bytes ([A-Za-z0-9] at both ends,
 * '-', '_', '.' inside); values follow the name rule and may be empty.
 * Field grammar: path=value, path==value, path!=value; values may escape '\', ',' and '='
 * with a backslash. A field missing from the object compares as "".
 *
 * Invariants: a parsed selector owns every string it points to (freed by sim_ksel_cleanup);
 * at most SIM_KSEL_MAX requirements; *out is written only on success, so a failed parse leaves
 * nothing to clean up.
 */
#include "sim/kube_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEL_TEXT_MAX 8192u  /* a selector longer than this is refused outright */
#define SEL_VALUES_MAX 256u /* values of one in/notin requirement */

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* A label name or value: empty (values only), at most 63, alnum at both ends. */
static int label_word_ok(const char *s, size_t n, int allow_empty)
{
    if (n == 0)
        return allow_empty;
    if (n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return 0;
    return 1;
}

static int dns_subdomain_ok(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int an = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!an && c != '-' && c != '.')
            return 0;
        if ((i == 0 || i == n - 1) && !an)
            return 0;
    }
    return 1;
}

static int label_key_ok(const char *s, size_t n, struct core_err *err)
{
    const char *slash = memchr(s, '/', n);
    if (slash) {
        size_t pn = (size_t)(slash - s);
        if (!dns_subdomain_ok(s, pn))
            return core_err_set(err, CORE_E_INVAL,
                                "invalid label key \"%.*s\": prefix part must be a DNS-1123 "
                                "subdomain of at most 253 characters", (int)(n > 300 ? 300 : n),
                                s);
        s = slash + 1;
        n -= pn + 1;
    }
    if (!label_word_ok(s, n, 0))
        return core_err_set(err, CORE_E_INVAL,
                            "invalid label key \"%.*s\": name part must consist of at most 63 "
                            "alphanumeric characters, '-', '_' or '.', and must start and end "
                            "with an alphanumeric character", (int)(n > 300 ? 300 : n), s);
    return 0;
}

void sim_ksel_cleanup(struct sim_ksel *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        core_free(s->req[i].key);
        for (size_t j = 0; j < s->req[i].nvalues; j++)
            core_free(s->req[i].values[j]);
        core_free(s->req[i].values);
    }
    memset(s, 0, sizeof *s);
}

static int req_add_value(struct sim_ksel_req *q, const char *v, size_t n)
{
    char **nv;
    char *copy;

    if (q->nvalues >= SEL_VALUES_MAX)
        return CORE_E_TOOBIG;
    copy = core_strndup(v, n);
    if (!copy)
        return CORE_E_NOMEM;
    nv = core_realloc(q->values, (q->nvalues + 1) * sizeof *nv);
    if (!nv) {
        core_free(copy);
        return CORE_E_NOMEM;
    }
    q->values = nv;
    q->values[q->nvalues++] = copy;
    return 0;
}

static void skip_blanks(const char **p)
{
    while (is_blank(**p))
        (*p)++;
}

/* The next key: everything up to a blank, an operator character, ',' or '(' / ')'. */
static size_t key_len(const char *p)
{
    size_t n = 0;
    while (p[n] && !is_blank(p[n]) && !strchr("=!,()<>", p[n]))
        n++;
    return n;
}

/* A word (operator name) of letters only. */
static int word_is(const char *p, size_t n, const char *w)
{
    return strlen(w) == n && strncmp(p, w, n) == 0 && !is_alnum(p[n]) && p[n] != '-' &&
           p[n] != '_' && p[n] != '.';
}

static int parse_label_req(const char **pp, struct sim_ksel_req *q, struct core_err *err)
{
    const char *p = *pp, *k;
    size_t kn, vn;
    int rc;

    skip_blanks(&p);
    if (*p == '!') {
        p++;
        skip_blanks(&p);
        q->op = SIM_KSEL_NOT_EXISTS;
    }
    k = p;
    kn = key_len(p);
    if (kn == 0)
        return core_err_set(err, CORE_E_INVAL,
                            "unable to parse requirement: expected a label key at \"%.40s\"", p);
    if ((rc = label_key_ok(k, kn, err)) != 0)
        return rc;
    q->key = core_strndup(k, kn);
    if (!q->key)
        return core_err_set(err, CORE_E_NOMEM, "out of memory");
    p += kn;
    skip_blanks(&p);
    if (q->op == SIM_KSEL_NOT_EXISTS) {
        if (*p && *p != ',')
            return core_err_set(err, CORE_E_INVAL,
                                "unable to parse requirement: \"!%.*s\" takes no operator "
                                "(found \"%.20s\")", (int)kn, k, p);
        *pp = p;
        return 0;
    }
    if (*p == '\0' || *p == ',') {
        q->op = SIM_KSEL_EXISTS;
        *pp = p;
        return 0;
    }
    if (p[0] == '=' && p[1] == '=') {
        q->op = SIM_KSEL_EQ;
        p += 2;
    } else if (p[0] == '=') {
        q->op = SIM_KSEL_EQ;
        p += 1;
    } else if (p[0] == '!' && p[1] == '=') {
        q->op = SIM_KSEL_NE;
        p += 2;
    } else if (p[0] == '>') {
        q->op = SIM_KSEL_GT;
        p += 1;
    } else if (p[0] == '<') {
        q->op = SIM_KSEL_LT;
        p += 1;
    } else if (word_is(p, 2, "in")) {
        q->op = SIM_KSEL_IN;
        p += 2;
    } else if (word_is(p, 5, "notin")) {
        q->op = SIM_KSEL_NOTIN;
        p += 5;
    } else {
        return core_err_set(err, CORE_E_INVAL,
                            "unable to parse requirement: found \"%.20s\" after key \"%.*s\", "
                            "expected one of =, ==, !=, in, notin, >, <", p, (int)(kn > 63 ? 63 : kn), k);
    }
    skip_blanks(&p);
    if (q->op == SIM_KSEL_IN || q->op == SIM_KSEL_NOTIN) {
        if (*p != '(')
            return core_err_set(err, CORE_E_INVAL,
                                "unable to parse requirement: expected '(' after %s for key "
                                "\"%.63s\"", q->op == SIM_KSEL_IN ? "in" : "notin", q->key);
        p++;
        skip_blanks(&p);
        if (*p == ')')
            return core_err_set(err, CORE_E_INVAL,
                                "key \"%.63s\": for 'in' and 'notin', the set of values can't "
                                "be empty", q->key);
        for (;;) {
            const char *v;
            skip_blanks(&p);
            v = p;
            vn = key_len(p);
            if (!label_word_ok(v, vn, 1))
                return core_err_set(err, CORE_E_INVAL,
                                    "invalid label value \"%.*s\" for key \"%.63s\": at most 63 "
                                    "alphanumeric characters, '-', '_' or '.'",
                                    (int)(vn > 80 ? 80 : vn), v, q->key);
            if ((rc = req_add_value(q, v, vn)) != 0)
                return core_err_set(err, rc, "too many values for key \"%.63s\" (at most %u)",
                                    q->key, SEL_VALUES_MAX);
            p += vn;
            skip_blanks(&p);
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p == ')') {
                p++;
                break;
            }
            return core_err_set(err, CORE_E_INVAL,
                                "unable to parse requirement: expected ',' or ')' in the values "
                                "of key \"%.63s\"", q->key);
        }
    } else {
        const char *v = p;
        vn = key_len(p);
        if (q->op == SIM_KSEL_GT || q->op == SIM_KSEL_LT) {
            char num[32];
            int64_t iv;
            if (vn == 0 || vn >= sizeof num)
                return core_err_set(err, CORE_E_INVAL,
                                    "key \"%.63s\": > and < need an integer value", q->key);
            memcpy(num, v, vn);
            num[vn] = '\0';
            if (core_parse_i64(num, INT64_MIN, INT64_MAX, &iv) != 0)
                return core_err_set(err, CORE_E_INVAL,
                                    "key \"%.63s\": > and < need an integer value, not \"%s\"",
                                    q->key, num);
        } else if (!label_word_ok(v, vn, 1)) {
            return core_err_set(err, CORE_E_INVAL,
                                "invalid label value \"%.*s\" for key \"%.63s\": at most 63 "
                                "alphanumeric characters, '-', '_' or '.', starting and ending "
                                "with an alphanumeric character", (int)(vn > 80 ? 80 : vn), v,
                                q->key);
        }
        if ((rc = req_add_value(q, v, vn)) != 0)
            return core_err_set(err, rc, "out of memory");
        p += vn;
    }
    skip_blanks(&p);
    if (*p && *p != ',')
        return core_err_set(err, CORE_E_INVAL,
                            "unable to parse requirement: unexpected \"%.20s\" after the "
                            "requirement on key \"%.63s\"", p, q->key);
    *pp = p;
    return 0;
}

static int empty_text(const char *text)
{
    if (!text)
        return 1;
    while (is_blank(*text))
        text++;
    return *text == '\0';
}

int sim_ksel_parse_labels(const char *text, struct sim_ksel *out, struct core_err *err)
{
    struct sim_ksel s;
    const char *p = text;
    int rc = 0;

    memset(&s, 0, sizeof s);
    if (empty_text(text))
        goto done;
    if (strlen(text) > SEL_TEXT_MAX) {
        rc = core_err_set(err, CORE_E_INVAL, "label selector longer than %u bytes", SEL_TEXT_MAX);
        goto done;
    }
    for (;;) {
        if (s.n >= SIM_KSEL_MAX) {
            rc = core_err_set(err, CORE_E_INVAL, "label selector has more than %u requirements",
                              SIM_KSEL_MAX);
            goto done;
        }
        s.n++;
        if ((rc = parse_label_req(&p, &s.req[s.n - 1], err)) != 0)
            goto done;
        if (*p == '\0')
            break;
        p++; /* ',' */
    }
done:
    if (rc) {
        sim_ksel_cleanup(&s);
        return rc;
    }
    *out = s;
    return 0;
}

int sim_ksel_parse_fields(const char *text, struct sim_ksel *out, struct core_err *err)
{
    struct sim_ksel s;
    const char *p = text;
    struct core_buf val;
    int rc = 0;

    memset(&s, 0, sizeof s);
    core_buf_init(&val, SEL_TEXT_MAX);
    if (empty_text(text))
        goto done;
    if (strlen(text) > SEL_TEXT_MAX) {
        rc = core_err_set(err, CORE_E_INVAL, "field selector longer than %u bytes", SEL_TEXT_MAX);
        goto done;
    }
    for (;;) {
        struct sim_ksel_req *q;
        const char *k;
        size_t kn;
        char *v;

        if (s.n >= SIM_KSEL_MAX) {
            rc = core_err_set(err, CORE_E_INVAL, "field selector has more than %u requirements",
                              SIM_KSEL_MAX);
            goto done;
        }
        q = &s.req[s.n++];
        skip_blanks(&p);
        k = p;
        kn = key_len(p);
        if (kn == 0 || kn > 253) {
            rc = core_err_set(err, CORE_E_INVAL, "invalid field selector \"%.60s\": expected a "
                              "field path of 1 to 253 characters", k);
            goto done;
        }
        for (size_t i = 0; i < kn; i++)
            if (!is_alnum(k[i]) && k[i] != '.' && k[i] != '-' && k[i] != '_') {
                rc = core_err_set(err, CORE_E_INVAL, "invalid field path \"%.*s\"",
                                  (int)(kn > 80 ? 80 : kn), k);
                goto done;
            }
        if (k[0] == '.' || k[kn - 1] == '.') {
            rc = core_err_set(err, CORE_E_INVAL, "invalid field path \"%.*s\"",
                              (int)(kn > 80 ? 80 : kn), k);
            goto done;
        }
        q->key = core_strndup(k, kn);
        if (!q->key) {
            rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
            goto done;
        }
        p += kn;
        skip_blanks(&p);
        if (p[0] == '=' && p[1] == '=') {
            q->op = SIM_KSEL_EQ;
            p += 2;
        } else if (p[0] == '=') {
            q->op = SIM_KSEL_EQ;
            p += 1;
        } else if (p[0] == '!' && p[1] == '=') {
            q->op = SIM_KSEL_NE;
            p += 2;
        } else {
            rc = core_err_set(err, CORE_E_INVAL,
                              "invalid field selector \"%.60s\": field selectors take only =, "
                              "== and !=", q->key);
            goto done;
        }
        core_buf_reset(&val);
        while (*p && *p != ',') {
            char c = *p;
            if (c == '\\') {
                if (p[1] != '\\' && p[1] != ',' && p[1] != '=') {
                    rc = core_err_set(err, CORE_E_INVAL,
                                      "invalid field selector value for \"%.60s\": '\\' may "
                                      "only escape '\\', ',' or '='", q->key);
                    goto done;
                }
                c = p[1];
                p++;
            } else if (c == '=' || (c == '!' && p[1] == '=')) {
                {
                    rc = core_err_set(err, CORE_E_INVAL,
                                      "invalid field selector value for \"%.60s\": unescaped "
                                      "operator in the value", q->key);
                    goto done;
                }
            }
            if ((rc = core_buf_append_char(&val, c)) != 0) {
                rc = core_err_set(err, rc, "field selector value too long");
                goto done;
            }
            p++;
        }
        /* Trailing blanks are not part of the value. */
        while (val.len && is_blank(val.data[val.len - 1]))
            val.data[--val.len] = '\0';
        v = (char *)core_buf_cstr(&val);
        while (is_blank(*v))
            v++;
        if ((rc = req_add_value(q, v, strlen(v))) != 0) {
            rc = core_err_set(err, rc, "out of memory");
            goto done;
        }
        if (*p == '\0')
            break;
        p++;
    }
done:
    core_buf_cleanup(&val);
    if (rc) {
        sim_ksel_cleanup(&s);
        return rc;
    }
    *out = s;
    return 0;
}

static int label_req_match(const struct sim_ksel_req *q, const json_t *labels)
{
    json_t *v = json_is_object(labels) ? json_object_get(labels, q->key) : NULL;
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    int64_t have, want;

    switch (q->op) {
    case SIM_KSEL_EXISTS:
        return s != NULL;
    case SIM_KSEL_NOT_EXISTS:
        return s == NULL;
    case SIM_KSEL_EQ:
        return s && strcmp(s, q->values[0]) == 0;
    case SIM_KSEL_NE:
        return !s || strcmp(s, q->values[0]) != 0;
    case SIM_KSEL_IN:
    case SIM_KSEL_NOTIN: {
        int in = 0;
        if (s)
            for (size_t i = 0; i < q->nvalues && !in; i++)
                in = strcmp(s, q->values[i]) == 0;
        return q->op == SIM_KSEL_IN ? in : !in;
    }
    case SIM_KSEL_GT:
    case SIM_KSEL_LT:
        if (!s || core_parse_i64(s, INT64_MIN, INT64_MAX, &have) != 0 ||
            core_parse_i64(q->values[0], INT64_MIN, INT64_MAX, &want) != 0)
            return 0;
        return q->op == SIM_KSEL_GT ? have > want : have < want;
    }
    return 0;
}

int sim_ksel_match_labels(const struct sim_ksel *sel, const json_t *obj)
{
    json_t *labels;

    if (!sel || sel->n == 0)
        return 1;
    labels = json_object_get(json_object_get(obj, "metadata"), "labels");
    for (size_t i = 0; i < sel->n; i++)
        if (!label_req_match(&sel->req[i], labels))
            return 0;
    return 1;
}

/* The field at a dotted path as text ("" when missing or not a scalar). */
static void field_text(const json_t *obj, const char *path, char *out, size_t outsz)
{
    char seg[256];
    const json_t *cur = obj;
    const char *p = path;

    out[0] = '\0';
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof seg || !json_is_object(cur))
            return;
        memcpy(seg, p, n);
        seg[n] = '\0';
        cur = json_object_get(cur, seg);
        if (!cur)
            return;
        p += n;
        if (*p == '.')
            p++;
    }
    if (json_is_string(cur))
        core_strlcpy(out, json_string_value(cur), outsz);
    else if (json_is_true(cur))
        core_strlcpy(out, "true", outsz);
    else if (json_is_false(cur))
        core_strlcpy(out, "false", outsz);
    else if (json_is_integer(cur))
        snprintf(out, outsz, "%lld", (long long)json_integer_value(cur));
    else if (json_is_real(cur))
        snprintf(out, outsz, "%.17g", json_real_value(cur));
}

int sim_ksel_match_fields(const struct sim_ksel *sel, const json_t *obj)
{
    char buf[1024];

    if (!sel || sel->n == 0)
        return 1;
    for (size_t i = 0; i < sel->n; i++) {
        const struct sim_ksel_req *q = &sel->req[i];
        int eq;
        field_text(obj, q->key, buf, sizeof buf);
        eq = q->nvalues > 0 && strcmp(buf, q->values[0]) == 0;
        if ((q->op == SIM_KSEL_EQ && !eq) || (q->op == SIM_KSEL_NE && eq))
            return 0;
        if (q->op != SIM_KSEL_EQ && q->op != SIM_KSEL_NE && !label_req_match(q, NULL))
            return 0;
    }
    return 1;
}
