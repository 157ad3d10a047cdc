/*
 * launcher/reqs.c — the requirement-set algebra the scheduler reasons with: a set of
 * per-key constraints (struct launcher_reqs, see launcher/internal.h) built from Kubernetes
 * requirements, intersected, tested against node labels and instance types, and rendered back.
 *
 * Invariants:
 *  - A launcher_reqs is sorted by key (strcmp), keys unique and normalised; every value list
 *    is sorted and unique. Only caller-given keys are normalised (add*, get); entries of a
 *    launcher_reqs are trusted to be normalised already.
 *  - Normal form of an entry, kept by every function that builds one: a finite set
 *    (complement == 0) carries no bounds (they were applied to its values when it was made);
 *    a complement with bounds lists only values the bounds would otherwise allow. Two entries
 *    that allow the same things therefore compare equal field by field.
 *  - "Integer" for Gt/Lt means a canonical decimal (optional '-', no '+', no leading zero, no
 *    "-0"): that is how nodes spell numbers, and it makes the number of values a bounded
 *    complement allows exactly countable (launcher_req_empty), since each integer has one
 *    spelling. The Gt/Lt operands themselves may be any int64 decimal.
 *  - Failing functions leave their in/out set unchanged: intersections are built beside the
 *    old entries and swapped in only when complete.
 *  - launcher_req_allows, launcher_req_empty, launcher_reqs_compatible,
 *    launcher_reqs_match_labels and launcher_reqs_admit_type never allocate: they run in the
 *    scheduler's inner loops.
 *  - No I/O, no clock, no logging.
 */
#include "launcher/internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Values shown per entry by launcher_req_describe before eliding the rest. */
#define DESCRIBE_MAX_VALUES 16

/* ---- values --------------------------------------------------------------------------------- */

/* Parses a decimal int64 the way strconv.ParseInt(s, 10, 64) does: optional sign, digits,
 * nothing else. For the operands of Gt and Lt. */
static int parse_int(const char *s, int64_t *out)
{
    uint64_t v = 0, limit;
    int neg = 0;

    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (!*s)
        return 0;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *s; s++) {
        unsigned d;
        if (*s < '0' || *s > '9')
            return 0;
        d = (unsigned)(*s - '0');
        if (v > (limit - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return 1;
}

/* A value as an integer for the bounds: canonical decimals only (see the top comment). */
static int canonical_int(const char *s, int64_t *out)
{
    const char *d = s[0] == '-' ? s + 1 : s;
    if (d[0] < '0' || d[0] > '9')
        return 0;
    if (d[0] == '0' && (d[1] != '\0' || d != s))
        return 0; /* leading zero, or "-0" */
    return parse_int(s, out);
}

static int has_bounds(const struct launcher_req *q)
{
    return q->has_gt || q->has_lt;
}

static int in_range(int64_t v, int has_gt, int64_t gt, int has_lt, int64_t lt)
{
    return (!has_gt || v > gt) && (!has_lt || v < lt);
}

static int value_in_bounds(const struct launcher_req *q, const char *value)
{
    int64_t v;
    if (!has_bounds(q))
        return 1;
    return canonical_int(value, &v) && in_range(v, q->has_gt, q->gt, q->has_lt, q->lt);
}

static int strs_has(const struct k8s_strings *s, const char *v)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->v[mid], v);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* How many integers lie strictly between the bounds (at least one bound is set). Exact in
 * uint64: the widest case, Lt INT64_MAX alone, counts 2^64 - 1 integers. */
static uint64_t range_count(int has_gt, int64_t gt, int has_lt, int64_t lt)
{
    if (has_gt && has_lt)
        return lt > gt ? (uint64_t)lt - (uint64_t)gt - 1 : 0;
    if (has_gt)
        return (uint64_t)INT64_MAX - (uint64_t)gt;
    return (uint64_t)lt - (uint64_t)INT64_MIN;
}

int launcher_req_allows(const struct launcher_req *q, const char *value)
{
    if (!q)
        return 1;
    if (!value)
        return q->absent_ok;
    if (strs_has(&q->values, value) == q->complement)
        return 0;
    return value_in_bounds(q, value);
}

int launcher_req_empty(const struct launcher_req *q)
{
    uint64_t excluded = 0;
    int64_t v;

    if (!q || q->absent_ok)
        return 0;
    if (!q->complement) {
        for (size_t i = 0; i < q->values.n; i++)
            if (value_in_bounds(q, q->values.v[i]))
                return 0;
        return 1;
    }
    if (!has_bounds(q))
        return 0; /* infinitely many strings remain */
    /* Values are unique strings and canonical integers have one spelling each, so counting
     * the listed in-range integers counts distinct excluded integers. */
    for (size_t i = 0; i < q->values.n; i++)
        if (canonical_int(q->values.v[i], &v) && in_range(v, q->has_gt, q->gt, q->has_lt, q->lt))
            excluded++;
    return range_count(q->has_gt, q->gt, q->has_lt, q->lt) <= excluded;
}

/* ---- entries -------------------------------------------------------------------------------- */

static void req_cleanup(struct launcher_req *q)
{
    core_free(q->key);
    k8s_strings_cleanup(&q->values);
    memset(q, 0, sizeof *q);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sets q->values to copies of vals[0..n), sorted and unique. */
static int values_from(struct launcher_req *q, const char *const *vals, size_t n)
{
    char **v = NULL;
    size_t k = 0;
    if (n == 0)
        return 0;
    v = core_calloc(n, sizeof *v);
    if (!v)
        return CORE_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        v[i] = core_strdup(vals[i] ? vals[i] : "");
        if (!v[i]) {
            for (size_t j = 0; j < i; j++)
                core_free(v[j]);
            core_free(v);
            return CORE_E_NOMEM;
        }
    }
    qsort(v, n, sizeof *v, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && strcmp(v[k - 1], v[i]) == 0)
            core_free(v[i]);
        else
            v[k++] = v[i];
    }
    q->values.v = v;
    q->values.n = k;
    return 0;
}

static int req_copy(struct launcher_req *dst, const struct launcher_req *src)
{
    struct launcher_req q = *src;
    q.key = core_strdup(src->key);
    q.values.v = NULL;
    q.values.n = 0;
    if (!q.key)
        return CORE_E_NOMEM;
    if (src->values.n > 0) {
        q.values.v = core_calloc(src->values.n, sizeof *q.values.v);
        if (!q.values.v) {
            req_cleanup(&q);
            return CORE_E_NOMEM;
        }
        for (size_t i = 0; i < src->values.n; i++) {
            if (!(q.values.v[i] = core_strdup(src->values.v[i]))) {
                req_cleanup(&q);
                return CORE_E_NOMEM;
            }
            q.values.n++;
        }
    }
    *dst = q;
    return 0;
}

/* Appends a copy of s to a value array being built (sized by the caller). */
static int push_copy(struct k8s_strings *s, const char *v)
{
    char *c = core_strdup(v);
    if (!c)
        return CORE_E_NOMEM;
    s->v[s->n++] = c;
    return 0;
}

/* *out = a ∩ b for entries of the same key, in normal form. */
static int req_meet(const struct launcher_req *a, const struct launcher_req *b,
                    struct launcher_req *out)
{
    struct launcher_req q;
    int rc = 0;

    memset(&q, 0, sizeof q);
    if (!(q.key = core_strdup(a->key)))
        return CORE_E_NOMEM;
    q.label = a->label;
    q.absent_ok = a->absent_ok && b->absent_ok;
    q.min_values = a->min_values > b->min_values ? a->min_values : b->min_values;

    if (!a->complement || !b->complement) {
        /* Finite: the finite side's values that both sides allow. The bounds are spent. */
        const struct launcher_req *fin = !a->complement ? a : b;
        const struct launcher_req *other = fin == a ? b : a;
        q.complement = 0;
        if (fin->values.n > 0 && !(q.values.v = core_calloc(fin->values.n, sizeof(char *)))) {
            rc = CORE_E_NOMEM;
            goto done;
        }
        for (size_t i = 0; i < fin->values.n; i++) {
            const char *v = fin->values.v[i];
            if (value_in_bounds(fin, v) && launcher_req_allows(other, v) &&
                (rc = push_copy(&q.values, v)) != 0)
                goto done;
        }
        goto done;
    }

    /* Both complements: the union of the exclusions under the tighter bounds. */
    q.complement = 1;
    q.has_gt = a->has_gt || b->has_gt;
    q.gt = a->has_gt && b->has_gt ? (a->gt > b->gt ? a->gt : b->gt) : a->has_gt ? a->gt : b->gt;
    q.has_lt = a->has_lt || b->has_lt;
    q.lt = a->has_lt && b->has_lt ? (a->lt < b->lt ? a->lt : b->lt) : a->has_lt ? a->lt : b->lt;
    if (!q.has_gt)
        q.gt = 0;
    if (!q.has_lt)
        q.lt = 0;
    if (a->values.n + b->values.n > 0 &&
        !(q.values.v = core_calloc(a->values.n + b->values.n, sizeof(char *)))) {
        rc = CORE_E_NOMEM;
        goto done;
    }
    for (size_t i = 0, j = 0; i < a->values.n || j < b->values.n;) {
        const char *v;
        if (j == b->values.n) {
            v = a->values.v[i++];
        } else if (i == a->values.n) {
            v = b->values.v[j++];
        } else {
            int c = strcmp(a->values.v[i], b->values.v[j]);
            v = c <= 0 ? a->values.v[i] : b->values.v[j];
            i += c <= 0;
            j += c >= 0;
        }
        /* A value the bounds exclude anyway need not be listed (normal form). */
        if (value_in_bounds(&q, v) && (rc = push_copy(&q.values, v)) != 0)
            goto done;
    }
done:
    if (rc != 0) {
        req_cleanup(&q);
        return rc;
    }
    if (q.values.n == 0) {
        core_free(q.values.v);
        q.values.v = NULL;
    }
    *out = q;
    return 0;
}

/* Whether a ∩ b (same key) allows anything, without building it. */
static int meet_nonempty(const struct launcher_req *a, const struct launcher_req *b)
{
    if (a->absent_ok && b->absent_ok)
        return 1;
    if (!a->complement || !b->complement) {
        const struct launcher_req *fin = !a->complement ? a : b;
        const struct launcher_req *other = fin == a ? b : a;
        for (size_t i = 0; i < fin->values.n; i++)
            if (value_in_bounds(fin, fin->values.v[i]) &&
                launcher_req_allows(other, fin->values.v[i]))
                return 1;
        return 0;
    }
    int has_gt = a->has_gt || b->has_gt, has_lt = a->has_lt || b->has_lt;
    if (!has_gt && !has_lt)
        return 1;
    int64_t gt = a->has_gt && b->has_gt ? (a->gt > b->gt ? a->gt : b->gt)
                 : a->has_gt           ? a->gt
                                       : b->gt;
    int64_t lt = a->has_lt && b->has_lt ? (a->lt < b->lt ? a->lt : b->lt)
                 : a->has_lt           ? a->lt
                                       : b->lt;
    uint64_t excluded = 0;
    for (size_t i = 0, j = 0; i < a->values.n || j < b->values.n;) {
        const char *v;
        int64_t n;
        if (j == b->values.n) {
            v = a->values.v[i++];
        } else if (i == a->values.n) {
            v = b->values.v[j++];
        } else {
            int c = strcmp(a->values.v[i], b->values.v[j]);
            v = c <= 0 ? a->values.v[i] : b->values.v[j];
            i += c <= 0;
            j += c >= 0;
        }
        if (canonical_int(v, &n) && in_range(n, has_gt, gt, has_lt, lt))
            excluded++;
    }
    return range_count(has_gt, gt, has_lt, lt) > excluded;
}

/* ---- sets ----------------------------------------------------------------------------------- */

/* The position of key in r (or where it would go); *found says which. */
static size_t find_key(const struct launcher_reqs *r, const char *key, int *found)
{
    size_t lo = 0, hi = r ? r->n : 0;
    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->v[mid].key, key);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const struct launcher_req *launcher_reqs_get(const struct launcher_reqs *r, const char *key)
{
    int found;
    size_t i;
    if (!r || !key)
        return NULL;
    i = find_key(r, launcher_label_normalize(key), &found);
    return found ? &r->v[i] : NULL;
}

void launcher_reqs_cleanup(struct launcher_reqs *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        req_cleanup(&r->v[i]);
    core_free(r->v);
    r->v = NULL;
    r->n = 0;
}

int launcher_reqs_copy(struct launcher_reqs *dst, const struct launcher_reqs *src,
                       struct core_err *err)
{
    struct launcher_reqs r = {NULL, 0};
    int rc = 0;

    if (!dst || !src)
        return core_err_set(err, CORE_E_INVAL, "requirements copy: NULL argument");
    if (src->n > 0 && !(r.v = core_calloc(src->n, sizeof *r.v))) {
        rc = core_err_set(err, CORE_E_NOMEM, "requirements copy: out of memory");
        goto done;
    }
    for (size_t i = 0; i < src->n; i++) {
        if (req_copy(&r.v[i], &src->v[i]) != 0) {
            rc = core_err_set(err, CORE_E_NOMEM, "requirements copy: out of memory");
            goto done;
        }
        r.n++;
    }
    *dst = r;
    r.v = NULL;
    r.n = 0;
done:
    launcher_reqs_cleanup(&r);
    return rc;
}

int launcher_reqs_intersect(struct launcher_reqs *dst, const struct launcher_reqs *src,
                            struct core_err *err)
{
    struct launcher_req *v = NULL;
    unsigned char *fresh = NULL; /* which v[k] were allocated here (else moved from dst) */
    size_t k = 0, i = 0, j = 0, cap;
    int rc = 0;

    if (!dst || !src)
        return core_err_set(err, CORE_E_INVAL, "requirements intersection: NULL argument");
    if (src->n == 0)
        return 0;
    cap = dst->n + src->n;
    v = core_calloc(cap, sizeof *v);
    fresh = core_calloc(cap, 1);
    if (!v || !fresh) {
        rc = core_err_set(err, CORE_E_NOMEM, "requirements intersection: out of memory");
        goto done;
    }
    while (i < dst->n || j < src->n) {
        int c = i == dst->n ? 1 : j == src->n ? -1 : strcmp(dst->v[i].key, src->v[j].key);
        if (c < 0) {
            v[k++] = dst->v[i++];
            continue;
        }
        rc = c > 0 ? req_copy(&v[k], &src->v[j]) : req_meet(&dst->v[i], &src->v[j], &v[k]);
        if (rc != 0) {
            rc = core_err_set(err, rc, "requirements intersection: out of memory");
            goto done;
        }
        fresh[k++] = 1;
        i += c == 0;
        j++;
    }
    /* Complete: release the entries that were replaced, then adopt the new array. */
    for (size_t a = 0, b = 0; a < dst->n; a++) {
        while (b < src->n && strcmp(src->v[b].key, dst->v[a].key) < 0)
            b++;
        if (b < src->n && strcmp(src->v[b].key, dst->v[a].key) == 0)
            req_cleanup(&dst->v[a]);
    }
    core_free(dst->v);
    dst->v = v;
    dst->n = k;
    v = NULL;
done:
    if (v) {
        for (size_t a = 0; a < k; a++)
            if (fresh[a])
                req_cleanup(&v[a]);
        core_free(v);
    }
    core_free(fresh);
    return rc;
}


/* Intersects the single entry q (taken over: cleaned up here either way). */
static int add_entry(struct launcher_reqs *r, struct launcher_req *q, struct core_err *err)
{
    struct launcher_reqs one = {q, 1};
    int rc = launcher_reqs_intersect(r, &one, err);
    req_cleanup(q);
    return rc;
}

int launcher_reqs_add(struct launcher_reqs *r, const struct k8s_requirement *k,
                      struct core_err *err)
{
    struct launcher_req q;
    int64_t n = 0;

    memset(&q, 0, sizeof q);
    if (!r || !k || !k->key || (k->values.n > 0 && !k->values.v))
        return core_err_set(err, CORE_E_INVAL, "requirement: NULL argument");
    switch (k->op) {
    case K8S_OP_IN:
    case K8S_OP_DOES_NOT_EXIST:
        q.complement = 0;
        q.absent_ok = k->op == K8S_OP_DOES_NOT_EXIST;
        break;
    case K8S_OP_NOT_IN:
    case K8S_OP_EXISTS:
        q.complement = 1;
        q.absent_ok = k->op == K8S_OP_NOT_IN;
        break;
    case K8S_OP_GT:
    case K8S_OP_LT:
        if (k->values.n != 1 || !k->values.v[0] || !parse_int(k->values.v[0], &n))
            return core_err_set(err, CORE_E_INVAL,
                                "requirement %.253s %s: needs exactly one integer value",
                                k->key, k8s_op_name(k->op));
        q.complement = 1;
        if (k->op == K8S_OP_GT) {
            q.has_gt = 1;
            q.gt = n;
        } else {
            q.has_lt = 1;
            q.lt = n;
        }
        break;
    default:
        return core_err_set(err, CORE_E_INVAL, "requirement %.253s: unknown operator %d",
                            k->key, (int)k->op);
    }
    q.min_values = k->min_values > 0 ? k->min_values : 0;
    if (!(q.key = core_strdup(launcher_label_normalize(k->key))) ||
        ((k->op == K8S_OP_IN || k->op == K8S_OP_NOT_IN) &&
         values_from(&q, (const char *const *)k->values.v, k->values.n) != 0)) {
        req_cleanup(&q);
        return core_err_set(err, CORE_E_NOMEM, "requirement %.253s: out of memory", k->key);
    }
    q.label = launcher_label_index(q.key);
    return add_entry(r, &q, err);
}

int launcher_reqs_add_in_list(struct launcher_reqs *r, const char *key,
                              const char *const *values, size_t n, struct core_err *err)
{
    struct launcher_req q;

    memset(&q, 0, sizeof q);
    if (!r || !key || (!values && n > 0))
        return core_err_set(err, CORE_E_INVAL, "requirement In: NULL argument");
    if (!(q.key = core_strdup(launcher_label_normalize(key))) || values_from(&q, values, n) != 0) {
        req_cleanup(&q);
        return core_err_set(err, CORE_E_NOMEM, "requirement %.253s: out of memory", key);
    }
    q.label = launcher_label_index(q.key);
    return add_entry(r, &q, err);
}

int launcher_reqs_add_in(struct launcher_reqs *r, const char *key, const char *value,
                         struct core_err *err)
{
    if (!value)
        return core_err_set(err, CORE_E_INVAL, "requirement In: NULL value");
    return launcher_reqs_add_in_list(r, key, &value, 1, err);
}

const struct launcher_req *launcher_reqs_conflict(const struct launcher_reqs *r)
{
    for (size_t i = 0; r && i < r->n; i++)
        if (launcher_req_empty(&r->v[i]))
            return &r->v[i];
    return NULL;
}

int launcher_reqs_compatible(const struct launcher_reqs *a, const struct launcher_reqs *b,
                             const char **key)
{
    size_t na = a ? a->n : 0, nb = b ? b->n : 0, i = 0, j = 0;
    while (i < na || j < nb) {
        const struct launcher_req *x;
        int c = i == na ? 1 : j == nb ? -1 : strcmp(a->v[i].key, b->v[j].key), ok;
        if (c < 0) {
            x = &a->v[i++];
            ok = !launcher_req_empty(x);
        } else if (c > 0) {
            x = &b->v[j++];
            ok = !launcher_req_empty(x);
        } else {
            x = &a->v[i++];
            ok = meet_nonempty(x, &b->v[j++]);
        }
        if (!ok) {
            if (key)
                *key = x->key;
            return 0;
        }
    }
    return 1;
}

int launcher_reqs_match_labels(const struct launcher_reqs *r, const struct k8s_labels *labels)
{
    size_t nl = labels ? labels->n : 0;
    int found;

    if (!r || r->n == 0)
        return 1;
    /* Every label that some entry constrains must be allowed ... */
    for (size_t i = 0; i < nl; i++) {
        size_t e = find_key(r, launcher_label_normalize(labels->v[i].key), &found);
        if (found && !launcher_req_allows(&r->v[e], labels->v[i].value))
            return 0;
    }
    /* ... and every entry that rejects absence needs its label under some spelling. */
    for (size_t e = 0; e < r->n; e++) {
        const char *k = r->v[e].key;
        int present = 0;
        if (r->v[e].absent_ok)
            continue;
        if (k8s_labels_get(labels, k))
            continue;
        for (size_t i = 0; i < nl && !present; i++)
            present = strcmp(launcher_label_normalize(labels->v[i].key), k) == 0;
        if (!present)
            return 0;
    }
    return 1;
}

int launcher_reqs_admit_type(const struct launcher_reqs *r, const struct launcher_itype *t)
{
    if (!t)
        return 0;
    for (size_t i = 0; r && i < r->n; i++) {
        int idx = r->v[i].label;
        if (idx >= 0 && !launcher_req_allows(&r->v[i], t->labels[idx]))
            return 0;
    }
    return 1;
}

/* ---- rendering ------------------------------------------------------------------------------ */

void launcher_k8s_reqs_free(struct k8s_requirement *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        core_free(v[i].key);
        k8s_strings_cleanup(&v[i].values);
    }
    core_free(v);
}

/* Fills o as key op values (copied; values may be NULL for none). */
static int k8s_req_make(struct k8s_requirement *o, const char *key, enum k8s_op op,
                        const struct k8s_strings *values, const int64_t *num)
{
    char buf[32];
    memset(o, 0, sizeof *o);
    o->op = op;
    if (!(o->key = core_strdup(key)))
        return CORE_E_NOMEM;
    if (num) {
        snprintf(buf, sizeof buf, "%" PRId64, *num);
        if (!(o->values.v = core_calloc(1, sizeof(char *))) || !(o->values.v[0] = core_strdup(buf)))
            return CORE_E_NOMEM;
        o->values.n = 1;
        return 0;
    }
    if (values && values->n > 0) {
        if (!(o->values.v = core_calloc(values->n, sizeof(char *))))
            return CORE_E_NOMEM;
        for (size_t i = 0; i < values->n; i++) {
            if (!(o->values.v[i] = core_strdup(values->v[i])))
                return CORE_E_NOMEM;
            o->values.n++;
        }
    }
    return 0;
}

int launcher_reqs_to_k8s(const struct launcher_reqs *r, struct k8s_requirement **out,
                         size_t *nout, struct core_err *err)
{
    struct k8s_requirement *v = NULL;
    size_t n = 0;
    int rc = 0;

    if (!r || !out || !nout)
        return core_err_set(err, CORE_E_INVAL, "requirements to Kubernetes: NULL argument");
    /* At most three per entry: NotIn, Gt, Lt (or NotIn, Exists). */
    if (r->n > 0 && !(v = core_calloc(r->n * 3, sizeof *v))) {
        rc = CORE_E_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < r->n; i++) {
        const struct launcher_req *q = &r->v[i];
        size_t first = n;
        if (!q->complement) {
            /* In [] is the unsatisfiable finite set; it round-trips as itself. */
            enum k8s_op op = q->values.n == 0 && q->absent_ok ? K8S_OP_DOES_NOT_EXIST : K8S_OP_IN;
            if ((rc = k8s_req_make(&v[n++], q->key, op, &q->values, NULL)) != 0)
                goto done;
        } else {
            int bounded = has_bounds(q);
            /* NotIn carries absence; so does NotIn [] for "anything", kept for minValues. */
            if (q->values.n > 0 || (!bounded && q->absent_ok))
                if ((rc = k8s_req_make(&v[n++], q->key, K8S_OP_NOT_IN, &q->values, NULL)) != 0)
                    goto done;
            if (q->has_gt && (rc = k8s_req_make(&v[n++], q->key, K8S_OP_GT, NULL, &q->gt)) != 0)
                goto done;
            if (q->has_lt && (rc = k8s_req_make(&v[n++], q->key, K8S_OP_LT, NULL, &q->lt)) != 0)
                goto done;
            if (!bounded && !q->absent_ok &&
                (rc = k8s_req_make(&v[n++], q->key, K8S_OP_EXISTS, NULL, NULL)) != 0)
                goto done;
        }
        v[first].min_values = q->min_values;
    }
    *out = v;
    *nout = n;
    v = NULL;
done:
    launcher_k8s_reqs_free(v, n);
    if (rc != 0)
        rc = core_err_set(err, rc, "requirements to Kubernetes: out of memory");
    return rc;
}

static int describe_values(const struct k8s_strings *s, struct core_buf *out)
{
    int rc = core_buf_append_str(out, " [");
    for (size_t i = 0; rc == 0 && i < s->n && i < DESCRIBE_MAX_VALUES; i++)
        rc = core_buf_appendf(out, "%s%s", i ? " " : "", *s->v[i] ? s->v[i] : "\"\"");
    if (rc == 0 && s->n > DESCRIBE_MAX_VALUES)
        rc = core_buf_appendf(out, " ... %zu more", s->n - DESCRIBE_MAX_VALUES);
    if (rc == 0)
        rc = core_buf_append_char(out, ']');
    return rc;
}

int launcher_req_describe(const struct launcher_req *q, struct core_buf *out)
{
    int rc;
    if (!q || !out)
        return CORE_E_INVAL;
    if ((rc = core_buf_append_str(out, q->key)) != 0)
        return rc;
    if (!q->complement) {
        if (q->values.n == 0 && q->absent_ok)
            return core_buf_append_str(out, " DoesNotExist");
        if ((rc = core_buf_append_str(out, " In")) != 0)
            return rc;
        return describe_values(&q->values, out);
    }
    if (q->values.n > 0 || (!has_bounds(q) && q->absent_ok)) {
        if ((rc = core_buf_append_str(out, " NotIn")) != 0 ||
            (rc = describe_values(&q->values, out)) != 0)
            return rc;
    }
    if (q->has_gt && (rc = core_buf_appendf(out, " Gt %" PRId64, q->gt)) != 0)
        return rc;
    if (q->has_lt && (rc = core_buf_appendf(out, " Lt %" PRId64, q->lt)) != 0)
        return rc;
    if (!has_bounds(q) && !q->absent_ok)
        rc = core_buf_append_str(out, " Exists");
    return rc;
}
