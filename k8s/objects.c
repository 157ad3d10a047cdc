/*
 * k8s/objects.c — the table-driven object decoder (see obj_internal.h), the pieces every kind
 * shares (metadata, conditions, taints, tolerations, requirements, selectors), and the helpers
 * that work on them (sorted label maps, resource lists, selector and toleration matching).
 *
 * Invariants:
 *  - Label maps and resource lists are sorted by key with unique keys, whether decoded or built
 *    with k8s_labels_set / k8s_res_set, so lookups are binary searches.
 *  - k8s_res_add / k8s_res_max work on a copy and swap it in, so a failure (overflow or memory)
 *    leaves the list as it was.
 *  - Nothing here logs or reads the clock.
 */
#include "k8s/obj_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Context, paths, errors                                                                      */
/* ------------------------------------------------------------------------------------------ */

static size_t path_add(struct obj_ctx *c, const char *fmt, ...) CORE_PRINTF(2, 3);
static size_t path_add(struct obj_ctx *c, const char *fmt, ...)
{
    size_t mark = c->plen;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(c->path + c->plen, sizeof c->path - c->plen, fmt, ap);
    va_end(ap);
    if (n > 0)
        c->plen += (size_t)n < sizeof c->path - c->plen ? (size_t)n : sizeof c->path - 1 - c->plen;
    return mark;
}

size_t obj_push_key(struct obj_ctx *c, const char *key)
{
    return path_add(c, c->plen ? ".%s" : "%s", key);
}

size_t obj_push_index(struct obj_ctx *c, size_t i)
{
    return path_add(c, "[%zu]", i);
}

size_t obj_push_mapkey(struct obj_ctx *c, const char *key)
{
    return path_add(c, "[%s]", key);
}

void obj_pop(struct obj_ctx *c, size_t mark)
{
    c->plen = mark;
    c->path[mark] = '\0';
}

int obj_fail(struct obj_ctx *c, int code, const char *fmt, ...)
{
    char msg[CORE_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return core_err_set(c->err, code, "%s%s%s%s%s: %s", c->kind, c->obj[0] ? " " : "", c->obj,
                        c->plen ? ": " : "", c->path, msg);
}

int obj_fail_at(struct obj_ctx *c, const char *rel, int code, const char *fmt, ...)
{
    char msg[CORE_ERR_MSG_MAX];
    size_t mark = path_add(c, c->plen && rel[0] != '[' ? ".%s" : "%s", rel);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    code = obj_fail(c, code, "%s", msg);
    obj_pop(c, mark);
    return code;
}

int obj_has(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return v && !json_is_null(v);
}

static int nomem(struct obj_ctx *c)
{
    return obj_fail(c, CORE_E_NOMEM, "out of memory");
}

/* The generic decoder stores enums through an int. */
_Static_assert(sizeof(enum k8s_op) == sizeof(int) && sizeof(enum k8s_effect) == sizeof(int) &&
                   sizeof(enum k8s_cond_status) == sizeof(int) &&
                   sizeof(enum k8s_toleration_op) == sizeof(int) &&
                   sizeof(enum k8s_pod_phase) == sizeof(int) &&
                   sizeof(enum k8s_ami_family) == sizeof(int),
               "enums must be int-sized");

static void *at(void *base, size_t off)
{
    return (char *)base + off;
}

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */
/* ------------------------------------------------------------------------------------------ */

int obj_streq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

int obj_parse_int(const char *s, int64_t *out)
{
    const char *p = s;
    int neg = 0;
    uint64_t v = 0, limit;

    if (!s)
        return CORE_E_PARSE;
    if (*p == '-')
        neg = *p++ == '-';
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (!*p)
        return CORE_E_PARSE;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > (limit - (uint64_t)(*p - '0')) / 10)
            return CORE_E_PARSE;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (!neg)
        *out = (int64_t)v;
    else
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    return 0;
}

static int is_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* The name part of a qualified name, and label values: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?
 * of at most 63 characters. */
static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return 0;
    return 1;
}

/* A DNS-1123 subdomain: lowercase labels of [a-z0-9-] joined by '.', at most 253 characters. */
static int valid_subdomain(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0, start = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (i == start || s[start] == '-' || s[i - 1] == '-')
                return 0;
            start = i + 1;
        } else if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
                     s[i] == '-')) {
            return 0;
        }
    }
    return 1;
}

int obj_valid_label_key(const char *key)
{
    const char *slash = strchr(key, '/');
    if (!slash)
        return valid_name(key, strlen(key));
    return valid_subdomain(key, (size_t)(slash - key)) && valid_name(slash + 1, strlen(slash + 1));
}

int obj_valid_label_value(const char *value)
{
    return *value == '\0' || valid_name(value, strlen(value));
}

/* ------------------------------------------------------------------------------------------ */
/* Label maps, string lists, resource lists, conditions                                        */
/* ------------------------------------------------------------------------------------------ */

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const struct k8s_kv *)a)->key, ((const struct k8s_kv *)b)->key);
}

/* Index of key, or of where it would go (*found = 0). */
static size_t kv_find(const struct k8s_kv *v, size_t n, const char *key, int *found)
{
    size_t lo = 0, hi = n;
    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(v[mid].key, key);
        if (cmp == 0) {
            *found = 1;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const char *k8s_labels_get(const struct k8s_labels *l, const char *key)
{
    int found;
    size_t i;
    if (!l || !key || l->n == 0)
        return NULL;
    i = kv_find(l->v, l->n, key, &found);
    return found ? l->v[i].value : NULL;
}

int k8s_labels_set(struct k8s_labels *l, const char *key, const char *value)
{
    int found;
    size_t i = kv_find(l->v, l->n, key, &found);
    char *v = core_strdup(value), *k = NULL;
    struct k8s_kv *nv;

    if (!v)
        return CORE_E_NOMEM;
    if (found) {
        core_free(l->v[i].value);
        l->v[i].value = v;
        return 0;
    }
    k = core_strdup(key);
    nv = k ? core_realloc(l->v, (l->n + 1) * sizeof *l->v) : NULL;
    if (!nv) {
        core_free(k);
        core_free(v);
        return CORE_E_NOMEM;
    }
    memmove(nv + i + 1, nv + i, (l->n - i) * sizeof *nv);
    nv[i].key = k;
    nv[i].value = v;
    l->v = nv;
    l->n++;
    return 0;
}

void k8s_labels_cleanup(struct k8s_labels *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        core_free(l->v[i].key);
        core_free(l->v[i].value);
    }
    core_free(l->v);
    l->v = NULL;
    l->n = 0;
}

int k8s_strings_contains(const struct k8s_strings *s, const char *value)
{
    for (size_t i = 0; s && value && i < s->n; i++)
        if (strcmp(s->v[i], value) == 0)
            return 1;
    return 0;
}

void k8s_strings_cleanup(struct k8s_strings *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        core_free(s->v[i]);
    core_free(s->v);
    s->v = NULL;
    s->n = 0;
}

static int rq_cmp(const void *a, const void *b)
{
    return strcmp(((const struct k8s_res_qty *)a)->name, ((const struct k8s_res_qty *)b)->name);
}

static size_t rq_find(const struct k8s_res_list *l, const char *name, int *found)
{
    size_t lo = 0, hi = l->n;
    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(l->v[mid].name, name);
        if (cmp == 0) {
            *found = 1;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int64_t k8s_res_get(const struct k8s_res_list *l, const char *name)
{
    int found;
    size_t i;
    if (!l || !name || l->n == 0)
        return 0;
    i = rq_find(l, name, &found);
    return found ? l->v[i].milli : 0;
}

int k8s_res_set(struct k8s_res_list *l, const char *name, int64_t milli)
{
    int found;
    size_t i = rq_find(l, name, &found);
    struct k8s_res_qty *nv;
    char *n;

    if (found) {
        l->v[i].milli = milli;
        return 0;
    }
    n = core_strdup(name);
    nv = n ? core_realloc(l->v, (l->n + 1) * sizeof *l->v) : NULL;
    if (!nv) {
        core_free(n);
        return CORE_E_NOMEM;
    }
    memmove(nv + i + 1, nv + i, (l->n - i) * sizeof *nv);
    nv[i].name = n;
    nv[i].milli = milli;
    l->v = nv;
    l->n++;
    return 0;
}

void k8s_res_cleanup(struct k8s_res_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        core_free(l->v[i].name);
    core_free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* l = l (+ or max) other, transactionally. */
static int res_merge(struct k8s_res_list *l, const struct k8s_res_list *other, int is_max)
{
    struct k8s_res_list tmp = {NULL, 0};
    int rc = 0;

    for (size_t i = 0; i < l->n && rc == 0; i++)
        rc = k8s_res_set(&tmp, l->v[i].name, l->v[i].milli);
    for (size_t i = 0; other && i < other->n && rc == 0; i++) {
        int64_t cur = k8s_res_get(&tmp, other->v[i].name), v = other->v[i].milli, sum;
        if (is_max)
            sum = cur > v ? cur : v;
        else if (__builtin_add_overflow(cur, v, &sum))
            rc = CORE_E_TOOBIG;
        if (rc == 0)
            rc = k8s_res_set(&tmp, other->v[i].name, sum);
    }
    if (rc != 0) {
        k8s_res_cleanup(&tmp);
        return rc;
    }
    k8s_res_cleanup(l);
    *l = tmp;
    return 0;
}

int k8s_res_add(struct k8s_res_list *l, const struct k8s_res_list *add)
{
    return res_merge(l, add, 0);
}

int k8s_res_max(struct k8s_res_list *l, const struct k8s_res_list *other)
{
    return res_merge(l, other, 1);
}

const struct k8s_condition *k8s_condition_find(const struct k8s_condition *v, size_t n,
                                               const char *type)
{
    for (size_t i = 0; v && type && i < n; i++)
        if (v[i].type && strcmp(v[i].type, type) == 0)
            return &v[i];
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Field decoding                                                                              */
/* ------------------------------------------------------------------------------------------ */

/* A JSON string without embedded NUL (which would cut the C string short). */
static int json_str(struct obj_ctx *c, const json_t *v, const char **out)
{
    if (!json_is_string(v))
        return obj_fail(c, CORE_E_PARSE, "expected a string");
    if (strlen(json_string_value(v)) != json_string_length(v))
        return obj_fail(c, CORE_E_PARSE, "string contains a NUL character");
    *out = json_string_value(v);
    return 0;
}

static int dup_str(struct obj_ctx *c, const json_t *v, char **out)
{
    const char *s;
    int rc = json_str(c, v, &s);
    if (rc != 0)
        return rc;
    *out = core_strdup(s);
    return *out ? 0 : nomem(c);
}

static int enum_fail(struct obj_ctx *c, const char *const *names, const char *got)
{
    char list[256];
    size_t n = 0, len = 0;

    while (names[n])
        n++;
    list[0] = '\0';
    for (size_t i = 0; i < n && len < sizeof list; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
        int w = snprintf(list + len, sizeof list - len, "%s%s", sep, names[i]);
        if (w > 0)
            len += (size_t)w;
    }
    return obj_fail(c, CORE_E_INVAL, "expected %s, got '%s'", list, got);
}

static int enum_index(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

static int json_quantity(struct obj_ctx *c, const json_t *v, int whole, int64_t *out)
{
    char buf[64];
    const char *s = buf;
    int rc;

    if (json_is_string(v)) {
        if ((rc = json_str(c, v, &s)) != 0)
            return rc;
    } else if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        /* 15 significant digits give back the decimal that was written (0.1, not 0.1000..01). */
        snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
    } else {
        return obj_fail(c, CORE_E_PARSE, "expected a quantity (a string or a number)");
    }
    rc = whole ? k8s_quantity_parse(s, out) : k8s_quantity_parse_milli(s, out);
    if (rc == CORE_E_TOOBIG)
        return obj_fail(c, rc, "quantity '%s' is too large", s);
    if (rc != 0)
        return obj_fail(c, rc, "invalid quantity '%s'", s);
    return 0;
}

static int decode_labels(struct obj_ctx *c, const json_t *v, const struct obj_field *f,
                         struct k8s_labels *out)
{
    const char *key;
    json_t *val;
    size_t n;
    int rc = 0;

    if (!json_is_object(v))
        return obj_fail(c, CORE_E_PARSE, "expected an object of strings");
    n = json_object_size(v);
    if ((f->flags & FL_NONEMPTY) && n == 0)
        return obj_fail(c, CORE_E_INVAL, "must have at least one entry");
    if (n == 0)
        return 0;
    if (!(out->v = core_calloc(n, sizeof *out->v)))
        return nomem(c);
    /* jansson's iterator takes a non-const object; iterating does not modify it. */
    json_object_foreach ((json_t *)v, key, val) {
        struct k8s_kv *kv = &out->v[out->n++];
        size_t mark = obj_push_mapkey(c, key);
        if (!(kv->key = core_strdup(key)))
            rc = nomem(c);
        else
            rc = dup_str(c, val, &kv->value);
        obj_pop(c, mark);
        if (rc != 0)
            return rc;
    }
    qsort(out->v, out->n, sizeof *out->v, kv_cmp);
    return 0;
}

static int decode_strings(struct obj_ctx *c, const json_t *v, const struct obj_field *f,
                          struct k8s_strings *out)
{
    size_t n;

    if (!json_is_array(v))
        return obj_fail(c, CORE_E_PARSE, "expected an array of strings");
    n = json_array_size(v);
    if ((f->flags & FL_NONEMPTY) && n == 0)
        return obj_fail(c, CORE_E_INVAL, "must have at least one entry");
    if (f->max && n > (uint64_t)f->max)
        return obj_fail(c, CORE_E_INVAL, "must have at most %" PRId64 " entries, got %zu", f->max,
                        n);
    if (n == 0)
        return 0;
    if (!(out->v = core_calloc(n, sizeof *out->v)))
        return nomem(c);
    for (size_t i = 0; i < n; i++) {
        size_t mark = obj_push_index(c, i);
        int rc = dup_str(c, json_array_get(v, i), &out->v[out->n]);
        obj_pop(c, mark);
        if (rc != 0)
            return rc;
        out->n++;
    }
    return 0;
}

static int decode_res(struct obj_ctx *c, const json_t *v, struct k8s_res_list *out)
{
    const char *key;
    json_t *val;
    size_t n;

    if (!json_is_object(v))
        return obj_fail(c, CORE_E_PARSE, "expected an object of quantities");
    n = json_object_size(v);
    if (n == 0)
        return 0;
    if (!(out->v = core_calloc(n, sizeof *out->v)))
        return nomem(c);
    json_object_foreach ((json_t *)v, key, val) {
        struct k8s_res_qty *q = &out->v[out->n];
        size_t mark = obj_push_mapkey(c, key);
        int rc = 0;
        if (!*key)
            rc = obj_fail(c, CORE_E_INVAL, "empty resource name");
        else if ((rc = json_quantity(c, val, 0, &q->milli)) == 0 && q->milli < 0)
            rc = obj_fail(c, CORE_E_INVAL, "must not be negative");
        else if (rc == 0 && !(q->name = core_strdup(key)))
            rc = nomem(c);
        obj_pop(c, mark);
        if (rc != 0)
            return rc;
        out->n++;
    }
    qsort(out->v, out->n, sizeof *out->v, rq_cmp);
    return 0;
}

static int decode_array(struct obj_ctx *c, const json_t *v, const struct obj_field *f, void *dst)
{
    const struct obj_desc *d = f->ref;
    size_t n;
    char *p;

    if (!json_is_array(v))
        return obj_fail(c, CORE_E_PARSE, "expected an array");
    n = json_array_size(v);
    if ((f->flags & FL_NONEMPTY) && n == 0)
        return obj_fail(c, CORE_E_INVAL, "must have at least one entry");
    if (f->max && n > (uint64_t)f->max)
        return obj_fail(c, CORE_E_INVAL, "must have at most %" PRId64 " entries, got %zu", f->max,
                        n);
    if (n == 0)
        return 0;
    if (!(p = core_calloc(n, d->size)))
        return nomem(c);
    /* Pointer and count first: a failure below leaves a partial array that cleanup frees. */
    memcpy(at(dst, f->off), &p, sizeof p);
    memcpy(at(dst, f->aux), &n, sizeof n);
    for (size_t i = 0; i < n; i++) {
        size_t mark = obj_push_index(c, i);
        int rc = obj_decode(c, json_array_get(v, i), d, p + i * d->size);
        obj_pop(c, mark);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int decode_value(struct obj_ctx *c, const json_t *v, const struct obj_field *f, void *dst)
{
    void *m = at(dst, f->off);
    const char *s;
    int64_t i64;
    int rc, idx = 0;

    switch (f->type) {
    case FT_STR:
        if ((rc = json_str(c, v, &s)) != 0)
            return rc;
        if ((f->flags & FL_NONEMPTY) && !*s)
            return obj_fail(c, CORE_E_INVAL, "must not be empty");
        return (*(char **)m = core_strdup(s)) ? 0 : nomem(c);
    case FT_BOOL:
        if (!json_is_boolean(v))
            return obj_fail(c, CORE_E_PARSE, "expected a boolean");
        *(int *)m = json_is_true(v);
        return 0;
    case FT_INT:
        if (!json_is_integer(v))
            return obj_fail(c, CORE_E_PARSE, "expected an integer");
        i64 = json_integer_value(v);
        if (i64 < f->min || i64 > f->max)
            return obj_fail(c, CORE_E_INVAL,
                            "must be between %" PRId64 " and %" PRId64 ", got %" PRId64, f->min,
                            f->max, i64);
        *(int64_t *)m = i64;
        return 0;
    case FT_QTY:
        if ((rc = json_quantity(c, v, (f->flags & FL_VALUE) != 0, &i64)) != 0)
            return rc;
        if (i64 < f->min || i64 > f->max) {
            char lo[32], hi[32], got[32];
            if (f->flags & FL_VALUE)
                return obj_fail(c, CORE_E_INVAL,
                                "must be between %" PRId64 " and %" PRId64 ", got %" PRId64,
                                f->min, f->max, i64);
            k8s_quantity_format_milli(f->min, lo, sizeof lo);
            k8s_quantity_format_milli(f->max, hi, sizeof hi);
            k8s_quantity_format_milli(i64, got, sizeof got);
            return obj_fail(c, CORE_E_INVAL, "must be between %s and %s, got %s", lo, hi, got);
        }
        *(int64_t *)m = i64;
        return 0;
    case FT_DUR:
        if ((rc = json_str(c, v, &s)) != 0)
            return rc;
        rc = k8s_duration_parse(s, (f->flags & FL_NEVER) ? K8S_DUR_ALLOW_NEVER : 0, &i64);
        if (rc != 0)
            return obj_fail(c, rc, "invalid duration '%s' (expected a Go duration like 90s, 30m "
                                   "or 1h30m%s)", s, (f->flags & FL_NEVER) ? ", or Never" : "");
        if (i64 < 0)
            return obj_fail(c, CORE_E_INVAL, "must not be negative");
        *(core_ns *)m = i64;
        return 0;
    case FT_TIME:
        if ((rc = json_str(c, v, &s)) != 0)
            return rc;
        if (core_time_parse_rfc3339(s, &i64) != 0)
            return obj_fail(c, CORE_E_PARSE, "expected an RFC 3339 time, got '%s'", s);
        *(core_ns *)m = i64;
        return 0;
    case FT_LABELS:
        return decode_labels(c, v, f, m);
    case FT_STRS:
        return decode_strings(c, v, f, m);
    case FT_RES:
        return decode_res(c, v, m);
    case FT_ENUM:
        if ((rc = json_str(c, v, &s)) != 0)
            return rc;
        if ((f->flags & FL_EMPTY0) && !*s) {
            *(int *)m = 0;
            return 0;
        }
        if ((idx = enum_index(f->ref, s)) < 0)
            return enum_fail(c, f->ref, s);
        *(int *)m = idx + 1;
        return 0;
    case FT_ENUMSET:
        if (!json_is_array(v))
            return obj_fail(c, CORE_E_PARSE, "expected an array of strings");
        for (size_t i = 0; i < json_array_size(v); i++) {
            size_t mark = obj_push_index(c, i);
            if ((rc = json_str(c, json_array_get(v, i), &s)) == 0 &&
                (idx = enum_index(f->ref, s)) < 0)
                rc = enum_fail(c, f->ref, s);
            obj_pop(c, mark);
            if (rc != 0)
                return rc;
            *(unsigned *)m |= 1u << idx;
        }
        return 0;
    case FT_OBJ:
        return obj_decode(c, v, f->ref, m);
    case FT_ARR:
        return decode_array(c, v, f, dst);
    case FT_HOOK:
        return 0;
    default:
        return obj_fail(c, CORE_E_INVAL, "internal: unknown field type");
    }
}

static int decode_field(struct obj_ctx *c, const json_t *obj, const struct obj_field *f, void *dst)
{
    const json_t *v = json_object_get(obj, f->name);
    size_t mark = obj_push_key(c, f->name);
    int rc = 0;

    if (!v || json_is_null(v)) {
        if (f->flags & FL_REQ)
            rc = obj_fail(c, CORE_E_INVAL, "is required");
    } else {
        if (f->has)
            *(int *)at(dst, f->has - 1) = 1;
        rc = decode_value(c, v, f, dst);
    }
    obj_pop(c, mark);
    return rc;
}

static int known_field(const struct obj_desc *d, const char *key)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->f[i].name, key) == 0)
            return 1;
    return 0;
}

int obj_decode(struct obj_ctx *c, const json_t *obj, const struct obj_desc *d, void *dst)
{
    int saved = c->strict, rc = 0;
    const char *key;
    json_t *v;

    if (!json_is_object(obj))
        return obj_fail(c, CORE_E_PARSE, "expected an object");
    if (d->strict != OBJ_INHERIT)
        c->strict = d->strict == OBJ_STRICT;
    if (c->strict) {
        json_object_foreach ((json_t *)obj, key, v) {
            if (!known_field(d, key)) {
                obj_push_key(c, key);
                rc = obj_fail(c, CORE_E_INVAL, "unknown field (not supported by stoker)");
                goto out;
            }
        }
    }
    for (size_t i = 0; i < d->n && rc == 0; i++)
        rc = decode_field(c, obj, &d->f[i], dst);
    if (rc == 0 && d->check)
        rc = d->check(c, obj, dst);
out:
    c->strict = saved;
    return rc;
}

void obj_cleanup(const struct obj_desc *d, void *dst)
{
    for (size_t i = 0; i < d->n; i++) {
        const struct obj_field *f = &d->f[i];
        void *m = at(dst, f->off);
        switch (f->type) {
        case FT_STR:
            core_free(*(char **)m);
            *(char **)m = NULL;
            break;
        case FT_LABELS:
            k8s_labels_cleanup(m);
            break;
        case FT_STRS:
            k8s_strings_cleanup(m);
            break;
        case FT_RES:
            k8s_res_cleanup(m);
            break;
        case FT_OBJ:
            obj_cleanup(f->ref, m);
            break;
        case FT_ARR: {
            const struct obj_desc *e = f->ref;
            char *p;
            size_t n;
            memcpy(&p, m, sizeof p);
            memcpy(&n, at(dst, f->aux), sizeof n);
            for (size_t j = 0; p && j < n; j++)
                obj_cleanup(e, p + j * e->size);
            core_free(p);
            p = NULL;
            n = 0;
            memcpy(m, &p, sizeof p);
            memcpy(at(dst, f->aux), &n, sizeof n);
            break;
        }
        default:
            break;
        }
    }
    if (d->cleanup)
        d->cleanup(dst);
}

int obj_decode_root(const char *kind, int is_pod, const json_t *obj, const struct obj_desc *d,
                    void *dst, struct core_err *err)
{
    struct obj_ctx c;
    const json_t *k;
    const char *name, *ns;
    int rc;

    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.is_pod = is_pod;
    c.err = err;
    if (!json_is_object(obj))
        return obj_fail(&c, CORE_E_PARSE, "expected an object");
    /* Name the object before anything is decoded, so even metadata errors say which one. */
    name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    ns = json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
    if (name)
        snprintf(c.obj, sizeof c.obj, "%s%s%s", ns ? ns : "", ns ? "/" : "", name);
    k = json_object_get(obj, "kind");
    if (k && !json_is_null(k) && (!json_is_string(k) || strcmp(json_string_value(k), kind) != 0)) {
        obj_push_key(&c, "kind");
        return obj_fail(&c, CORE_E_INVAL, "expected '%s', got '%s'", kind,
                        json_is_string(k) ? json_string_value(k) : "(not a string)");
    }
    rc = obj_decode(&c, obj, d, dst);
    if (rc != 0)
        obj_cleanup(d, dst);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Shared descriptions                                                                         */
/* ------------------------------------------------------------------------------------------ */

static const struct obj_field owner_desc_f[] = {
    F_STR("apiVersion", struct k8s_owner_ref, api_version, 0),
    F_STR("kind", struct k8s_owner_ref, kind, 0),
    F_STR("name", struct k8s_owner_ref, name, 0),
    F_STR("uid", struct k8s_owner_ref, uid, 0),
    F_BOOL("controller", struct k8s_owner_ref, controller, 0),
};
static OBJ_DESC(owner_desc, struct k8s_owner_ref, OBJ_INHERIT, NULL, NULL);

/* The pod-spec decoder names generic ephemeral volumes' claims after the object. */
static int meta_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    const struct k8s_meta *m = dst;
    (void)obj;
    c->name = m->name;
    return 0;
}

static const struct obj_field obj_meta_desc_f[] = {
    F_STR("name", struct k8s_meta, name, 0),
    F_STR("namespace", struct k8s_meta, ns, 0),
    F_STR("uid", struct k8s_meta, uid, 0),
    F_STR("resourceVersion", struct k8s_meta, resource_version, 0),
    F_INT("generation", struct k8s_meta, generation, 0, 0, 0, INT64_MAX),
    F_LABELS("labels", struct k8s_meta, labels, 0),
    F_LABELS("annotations", struct k8s_meta, annotations, 0),
    F_ARR("ownerReferences", struct k8s_meta, owners, nowners, 0, 0, owner_desc),
    F_STRS("finalizers", struct k8s_meta, finalizers, 0, 0),
    F_TIME("creationTimestamp", struct k8s_meta, creation_timestamp,
           HAS(struct k8s_meta, has_creation_timestamp)),
    F_TIME("deletionTimestamp", struct k8s_meta, deletion_timestamp,
           HAS(struct k8s_meta, has_deletion_timestamp)),
};
OBJ_DESC(obj_meta_desc, struct k8s_meta, OBJ_LENIENT, meta_check, NULL);

static const char *const cond_status_names[] = {"True", "False", "Unknown", NULL};
static const struct obj_field obj_condition_desc_f[] = {
    F_STR("type", struct k8s_condition, type, FL_REQ | FL_NONEMPTY),
    F_ENUM("status", struct k8s_condition, status, FL_REQ, cond_status_names),
    F_STR("reason", struct k8s_condition, reason, 0),
    F_STR("message", struct k8s_condition, message, 0),
    F_TIME("lastTransitionTime", struct k8s_condition, last_transition_time,
           HAS(struct k8s_condition, has_last_transition_time)),
    F_INT("observedGeneration", struct k8s_condition, observed_generation, 0, 0, 0, INT64_MAX),
};
OBJ_DESC(obj_condition_desc, struct k8s_condition, OBJ_INHERIT, NULL, NULL);

static const char *const effect_names[] = {"NoSchedule", "PreferNoSchedule", "NoExecute", NULL};

const char *k8s_effect_name(enum k8s_effect e)
{
    return e >= K8S_EFFECT_NO_SCHEDULE && e <= K8S_EFFECT_NO_EXECUTE
               ? effect_names[e - K8S_EFFECT_NO_SCHEDULE]
               : "";
}
static const struct obj_field obj_taint_desc_f[] = {
    F_STR("key", struct k8s_taint, key, FL_REQ | FL_NONEMPTY),
    F_STR("value", struct k8s_taint, value, 0),
    F_ENUM("effect", struct k8s_taint, effect, FL_REQ, effect_names),
};
OBJ_DESC(obj_taint_desc, struct k8s_taint, OBJ_INHERIT, NULL, NULL);

static int toleration_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    struct k8s_toleration *t = dst;
    (void)obj;
    if (t->op == 0)
        t->op = K8S_TOL_EQUAL;
    if (obj_streq(t->key, "") && t->op != K8S_TOL_EXISTS)
        return obj_fail(c, CORE_E_INVAL, "operator must be Exists when key is empty");
    if (t->op == K8S_TOL_EXISTS && !obj_streq(t->value, ""))
        return obj_fail(c, CORE_E_INVAL, "value must be empty when operator is Exists");
    return 0;
}

static const char *const tol_op_names[] = {"Equal", "Exists", NULL};
static const struct obj_field obj_toleration_desc_f[] = {
    F_STR("key", struct k8s_toleration, key, 0),
    F_ENUM("operator", struct k8s_toleration, op, 0, tol_op_names),
    F_STR("value", struct k8s_toleration, value, 0),
    F_ENUM("effect", struct k8s_toleration, effect, FL_EMPTY0, effect_names),
    F_INT("tolerationSeconds", struct k8s_toleration, seconds, 0,
          HAS(struct k8s_toleration, has_seconds), INT64_MIN, INT64_MAX),
};
OBJ_DESC(obj_toleration_desc, struct k8s_toleration, OBJ_INHERIT, toleration_check, NULL);

static const char *const op_names[] = {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", NULL};

const char *k8s_op_name(enum k8s_op op)
{
    return op >= K8S_OP_IN && op <= K8S_OP_LT ? op_names[op - K8S_OP_IN] : "";
}
static const char *const label_op_names[] = {"In", "NotIn", "Exists", "DoesNotExist", NULL};

static int req_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    const struct k8s_requirement *r = dst;
    int64_t dummy;
    size_t mark;
    int rc = 0;

    (void)obj;
    mark = obj_push_key(c, "values");
    switch (r->op) {
    case K8S_OP_IN:
    case K8S_OP_NOT_IN:
        if (r->values.n == 0)
            rc = obj_fail(c, CORE_E_INVAL, "operator %s needs at least one value",
                          op_names[r->op - 1]);
        break;
    case K8S_OP_EXISTS:
    case K8S_OP_DOES_NOT_EXIST:
        if (r->values.n != 0)
            rc = obj_fail(c, CORE_E_INVAL, "operator %s takes no values", op_names[r->op - 1]);
        break;
    case K8S_OP_GT:
    case K8S_OP_LT:
        if (r->values.n != 1 || obj_parse_int(r->values.v[0], &dummy) != 0)
            rc = obj_fail(c, CORE_E_INVAL, "operator %s needs exactly one integer value",
                          op_names[r->op - 1]);
        break;
    }
    obj_pop(c, mark);
    if (rc == 0 && r->min_values && r->op == K8S_OP_IN && r->values.n < (uint64_t)r->min_values) {
        mark = obj_push_key(c, "minValues");
        rc = obj_fail(c, CORE_E_INVAL, "%" PRId64 " is more than the %zu values given",
                      r->min_values, r->values.n);
        obj_pop(c, mark);
    }
    return rc;
}

static const struct obj_field obj_label_req_desc_f[] = {
    F_STR("key", struct k8s_requirement, key, FL_REQ | FL_NONEMPTY),
    F_ENUM("operator", struct k8s_requirement, op, FL_REQ, label_op_names),
    F_STRS("values", struct k8s_requirement, values, 0, 0),
};
OBJ_DESC(obj_label_req_desc, struct k8s_requirement, OBJ_INHERIT, req_check, NULL);

static const struct obj_field obj_node_req_desc_f[] = {
    F_STR("key", struct k8s_requirement, key, FL_REQ | FL_NONEMPTY),
    F_ENUM("operator", struct k8s_requirement, op, FL_REQ, op_names),
    F_STRS("values", struct k8s_requirement, values, 0, 0),
};
OBJ_DESC(obj_node_req_desc, struct k8s_requirement, OBJ_INHERIT, req_check, NULL);

static const struct obj_field obj_pool_req_desc_f[] = {
    F_STR("key", struct k8s_requirement, key, FL_REQ | FL_NONEMPTY),
    F_ENUM("operator", struct k8s_requirement, op, FL_REQ, op_names),
    F_STRS("values", struct k8s_requirement, values, 0, 0),
    F_INT("minValues", struct k8s_requirement, min_values, 0, 0, 1, 50),
};
OBJ_DESC(obj_pool_req_desc, struct k8s_requirement, OBJ_INHERIT, req_check, NULL);

static const struct obj_field obj_label_selector_desc_f[] = {
    F_LABELS("matchLabels", struct k8s_label_selector, match_labels, 0),
    F_ARR("matchExpressions", struct k8s_label_selector, exprs, nexprs, 0, 0, obj_label_req_desc),
};
OBJ_DESC(obj_label_selector_desc, struct k8s_label_selector, OBJ_INHERIT, NULL, NULL);

/* matchFields supports only metadata.name (the API server's rule). */
static int node_term_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    const struct k8s_node_selector_term *t = dst;
    (void)obj;
    for (size_t i = 0; i < t->nfields; i++) {
        if (strcmp(t->fields[i].key, "metadata.name") != 0) {
            size_t mark = obj_push_key(c, "matchFields");
            obj_push_index(c, i);
            obj_push_key(c, "key");
            int rc = obj_fail(c, CORE_E_INVAL, "only metadata.name is supported, got '%s'",
                              t->fields[i].key);
            obj_pop(c, mark);
            return rc;
        }
    }
    return 0;
}

static const struct obj_field obj_node_term_desc_f[] = {
    F_ARR("matchExpressions", struct k8s_node_selector_term, exprs, nexprs, 0, 0,
          obj_node_req_desc),
    F_ARR("matchFields", struct k8s_node_selector_term, fields, nfields, 0, 0, obj_node_req_desc),
};
OBJ_DESC(obj_node_term_desc, struct k8s_node_selector_term, OBJ_INHERIT, node_term_check, NULL);

static const struct obj_field obj_node_selector_desc_f[] = {
    F_ARR("nodeSelectorTerms", struct k8s_node_selector, terms, nterms, FL_REQ, 0,
          obj_node_term_desc),
};
OBJ_DESC(obj_node_selector_desc, struct k8s_node_selector, OBJ_INHERIT, NULL, NULL);

/* ------------------------------------------------------------------------------------------ */
/* Matching                                                                                    */
/* ------------------------------------------------------------------------------------------ */

int k8s_requirement_matches(const struct k8s_requirement *r, const struct k8s_labels *labels)
{
    const char *v = k8s_labels_get(labels, r->key);
    int64_t have, want;

    switch (r->op) {
    case K8S_OP_IN:
        return v && k8s_strings_contains(&r->values, v);
    case K8S_OP_NOT_IN:
        return !v || !k8s_strings_contains(&r->values, v);
    case K8S_OP_EXISTS:
        return v != NULL;
    case K8S_OP_DOES_NOT_EXIST:
        return v == NULL;
    case K8S_OP_GT:
    case K8S_OP_LT:
        if (!v || r->values.n != 1 || obj_parse_int(v, &have) != 0 ||
            obj_parse_int(r->values.v[0], &want) != 0)
            return 0;
        return r->op == K8S_OP_GT ? have > want : have < want;
    }
    return 0;
}

int k8s_label_selector_matches(const struct k8s_label_selector *sel,
                               const struct k8s_labels *labels)
{
    if (!sel || !sel->present)
        return 0;
    for (size_t i = 0; i < sel->match_labels.n; i++) {
        const char *v = k8s_labels_get(labels, sel->match_labels.v[i].key);
        if (!v || strcmp(v, sel->match_labels.v[i].value) != 0)
            return 0;
    }
    for (size_t i = 0; i < sel->nexprs; i++)
        if (!k8s_requirement_matches(&sel->exprs[i], labels))
            return 0;
    return 1;
}

int k8s_node_selector_matches(const struct k8s_node_selector *s, const struct k8s_labels *labels,
                              const char *node_name)
{
    /* matchFields see the node as a one-label map {metadata.name: name}; the strings are only
     * read. */
    struct k8s_kv kv = {(char *)"metadata.name", (char *)node_name};
    struct k8s_labels fields = {&kv, node_name ? 1u : 0u};

    for (size_t t = 0; s && t < s->nterms; t++) {
        const struct k8s_node_selector_term *term = &s->terms[t];
        int ok = term->nexprs + term->nfields > 0;
        for (size_t i = 0; ok && i < term->nexprs; i++)
            ok = k8s_requirement_matches(&term->exprs[i], labels);
        for (size_t i = 0; ok && i < term->nfields; i++)
            ok = k8s_requirement_matches(&term->fields[i], &fields);
        if (ok)
            return 1;
    }
    return 0;
}

int k8s_tolerates(const struct k8s_toleration *tols, size_t n, const struct k8s_taint *taint)
{
    for (size_t i = 0; tols && i < n; i++) {
        const struct k8s_toleration *t = &tols[i];
        if (t->effect != K8S_EFFECT_ALL && t->effect != taint->effect)
            continue;
        if (obj_streq(t->key, "")) {
            if (t->op == K8S_TOL_EXISTS)
                return 1;
            continue;
        }
        if (!obj_streq(t->key, taint->key))
            continue;
        if (t->op == K8S_TOL_EXISTS || obj_streq(t->value, taint->value))
            return 1;
    }
    return 0;
}
