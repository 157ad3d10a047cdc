/*
 * k8s/yaml.c — YAML manifests (EC2NodeClass, NodePool, ... files a user writes) into jansson
 * values, so the typed decoders that read API objects read files too.
 *
 * libyaml's event API drives an explicit stack (never recursion), so the nesting depth, the
 * input size and the number of nodes are bounded no matter what the input is:
 *  - input at most K8S_YAML_MAX_INPUT bytes, nesting at most K8S_YAML_MAX_DEPTH collections
 *    (counting what an alias expands to), at most K8S_YAML_MAX_NODES nodes per stream counting
 *    every alias expansion in full (the "billion laughs" document stops at the cap, not at the
 *    memory limit);
 *  - plain scalars resolve by the YAML 1.2 core schema; quoted and block scalars are always
 *    strings; the explicit tags !!str !!int !!bool !!float !!null (and !!map, !!seq, and the
 *    non-specific "!") are honoured, any other tag is refused rather than guessed at;
 *  - an alias is a deep copy of the anchored node, so no two places of a document share a
 *    jansson value (a caller that edits one never edits the other); an alias can only name an
 *    anchor whose node is complete, so no cycle can be built;
 *  - mapping keys are scalars, stored as their text; a key twice in a mapping is an error;
 *  - every error is CORE_E_PARSE (CORE_E_TOOBIG for a limit) with "line L column C", 1-based;
 *  - the documents handed back are complete; on error nothing is.
 */
#include "k8s/k8s.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define TAG_PREFIX "tag:yaml.org,2002:"

/* An anchored node, kept for the aliases that name it. */
struct yanchor {
    json_t *value;  /* own reference */
    size_t nodes;   /* nodes in it, itself included */
    int height;     /* collection levels: 0 for a scalar */
    char *key_text; /* scalars: the text as written, for use as a mapping key */
    size_t key_len;
};

/* A collection being built. */
struct yframe {
    json_t *value;
    int is_map;
    char *key;        /* the pending key of a mapping (owned), NULL when none */
    size_t key_len;
    unsigned long key_line, key_col;
    char *anchor;     /* owned, NULL when none */
    size_t nodes_at_start;
    int max_child_height;
};

struct ybuild {
    struct yframe frames[K8S_YAML_MAX_DEPTH];
    size_t nframes;
    struct core_map *anchors; /* name -> struct yanchor * */
    size_t nodes;             /* in the stream so far, alias expansions in full */
    json_t *root;             /* the current document's root, once complete */
    struct core_err *err;
};

static int at(struct core_err *err, int code, const yaml_mark_t *m, const char *fmt, ...)
    CORE_PRINTF(4, 5);

static int at(struct core_err *err, int code, const yaml_mark_t *m, const char *fmt, ...)
{
    char msg[CORE_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return core_err_set(err, code, "line %lu column %lu: %s", (unsigned long)m->line + 1,
                        (unsigned long)m->column + 1, msg);
}

static void anchor_free(struct yanchor *a)
{
    if (!a)
        return;
    json_decref(a->value);
    core_free(a->key_text);
    core_free(a);
}

static void anchors_clear(struct ybuild *b)
{
    size_t iter = 0;
    const char *k;
    void *v;

    if (!b->anchors)
        return;
    while (core_map_next(b->anchors, &iter, &k, &v))
        anchor_free(v);
    core_map_free(b->anchors);
    b->anchors = NULL;
}

static void frames_clear(struct ybuild *b)
{
    while (b->nframes > 0) {
        struct yframe *f = &b->frames[--b->nframes];
        json_decref(f->value);
        core_free(f->key);
        core_free(f->anchor);
    }
}

/* ---- scalar resolution (YAML 1.2 core schema) --------------------------------------------- */

static int is_null_text(const char *s, size_t n)
{
    return n == 0 || (n == 1 && s[0] == '~') ||
           (n == 4 && (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 ||
                       memcmp(s, "NULL", 4) == 0));
}

/* 1 true, 0 false, -1 not a bool. */
static int bool_text(const char *s, size_t n)
{
    if (n == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "True", 4) == 0 ||
                   memcmp(s, "TRUE", 4) == 0))
        return 1;
    if (n == 5 && (memcmp(s, "false", 5) == 0 || memcmp(s, "False", 5) == 0 ||
                   memcmp(s, "FALSE", 5) == 0))
        return 0;
    return -1;
}

static int digit_val(char c, int base)
{
    int d;
    if (c >= '0' && c <= '9')
        d = c - '0';
    else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
    else
        return -1;
    return d < base ? d : -1;
}

/* 1 when s is an integer of the core schema ([-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+); *ovf is
 * set when it is one but does not fit in int64. */
static int int_text(const char *s, size_t n, json_int_t *out, int *ovf)
{
    int base = 10, neg = 0;
    size_t i = 0;
    uint64_t v = 0, lim;

    *ovf = 0;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        base = s[1] == 'x' ? 16 : 8;
        i = 2;
    } else if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i >= n)
        return 0;
    lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        int d = digit_val(s[i], base);
        if (d < 0)
            return 0;
        if (v > (lim - (uint64_t)d) / (uint64_t)base)
            *ovf = 1;
        else
            v = v * (uint64_t)base + (uint64_t)d;
    }
    if (!*ovf)
        *out = neg ? (v == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(json_int_t)v) : (json_int_t)v;
    return 1;
}

/* 1 when s is a float of the core schema; the special values give *special 1 (.inf, either
 * sign) or 2 (.nan), which JSON cannot carry. */
static int float_text(const char *s, size_t n, double *out, int *special)
{
    char tmp[128];
    size_t i = 0, digits = 0;
    const char *p;
    char *end;

    *special = 0;
    if (n > 0 && (s[0] == '-' || s[0] == '+'))
        i = 1;
    p = s + i;
    if (n - i == 4 && (memcmp(p, ".inf", 4) == 0 || memcmp(p, ".Inf", 4) == 0 ||
                       memcmp(p, ".INF", 4) == 0)) {
        *special = 1;
        return 1;
    }
    if (i == 0 && n == 4 && (memcmp(s, ".nan", 4) == 0 || memcmp(s, ".NaN", 4) == 0 ||
                             memcmp(s, ".NAN", 4) == 0)) {
        *special = 2;
        return 1;
    }
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (digits == 0)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp_digits = 0;
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, exp_digits++;
        if (exp_digits == 0)
            return 0;
    }
    if (i != n || n >= sizeof tmp)
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *out = strtod(tmp, &end);
    if (!isfinite(*out))
        *special = 1;
    return 1;
}

/* Resolves one scalar into a new jansson value (*out). tag is libyaml's (expanded) tag or
 * NULL; plain says whether the scalar was written without quotes or block indicators. */
static int resolve_scalar(const char *s, size_t n, const char *tag, int plain,
                          const yaml_mark_t *m, json_t **out, struct core_err *err)
{
    json_int_t iv = 0;
    double dv = 0;
    int ovf = 0, special = 0, bv;
    const char *t = NULL;
    json_t *v = NULL;

    if (tag && strcmp(tag, "!") != 0) {
        if (strncmp(tag, TAG_PREFIX, sizeof TAG_PREFIX - 1) != 0)
            return at(err, CORE_E_PARSE, m, "unsupported tag '%.64s'", tag);
        t = tag + sizeof TAG_PREFIX - 1;
    }
    if ((tag && !t) || (!t && !plain) || (t && (strcmp(t, "str") == 0 ||
                                                strcmp(t, "binary") == 0 ||
                                                strcmp(t, "timestamp") == 0))) {
        v = json_stringn(s, n);
        if (!v)
            return at(err, CORE_E_PARSE, m, "string is not valid UTF-8");
    } else if (t && strcmp(t, "null") == 0) {
        if (!is_null_text(s, n))
            return at(err, CORE_E_PARSE, m, "!!null value must be null, ~ or empty");
        v = json_null();
    } else if (t && strcmp(t, "bool") == 0) {
        if ((bv = bool_text(s, n)) < 0)
            return at(err, CORE_E_PARSE, m, "!!bool value must be true or false");
        v = json_boolean(bv);
    } else if (t && strcmp(t, "int") == 0) {
        if (!int_text(s, n, &iv, &ovf))
            return at(err, CORE_E_PARSE, m, "!!int value is not an integer");
        if (ovf)
            return at(err, CORE_E_PARSE, m, "integer out of the 64-bit range");
        v = json_integer(iv);
    } else if (t && strcmp(t, "float") == 0) {
        if (int_text(s, n, &iv, &ovf) && !ovf && (n < 2 || s[1] != 'x') &&
            (n < 2 || s[1] != 'o')) {
            v = json_real((double)iv);
        } else if (float_text(s, n, &dv, &special)) {
            if (special)
                return at(err, CORE_E_PARSE, m,
                          "'%.*s' is a YAML float that JSON cannot represent",
                          (int)(n > 32 ? 32 : n), s);
            v = json_real(dv);
        } else {
            return at(err, CORE_E_PARSE, m, "!!float value is not a number");
        }
    } else if (t) {
        return at(err, CORE_E_PARSE, m, "tag '!!%.64s' is not valid on a scalar", t);
    } else if (is_null_text(s, n)) {
        v = json_null();
    } else if ((bv = bool_text(s, n)) >= 0) {
        v = json_boolean(bv);
    } else if (int_text(s, n, &iv, &ovf)) {
        if (!ovf) {
            v = json_integer(iv);
        } else if (s[0] == '0' && n > 1 && (s[1] == 'x' || s[1] == 'o')) {
            return at(err, CORE_E_PARSE, m, "integer out of the 64-bit range");
        } else {
            /* A decimal past int64 is still a number: keep its magnitude as a real. */
            if (!float_text(s, n, &dv, &special) || special)
                return at(err, CORE_E_PARSE, m, "integer out of range");
            v = json_real(dv);
        }
    } else if (float_text(s, n, &dv, &special)) {
        if (special)
            return at(err, CORE_E_PARSE, m, "'%.*s' is a YAML float that JSON cannot represent",
                      (int)(n > 32 ? 32 : n), s);
        v = json_real(dv);
    } else {
        v = json_stringn(s, n);
        if (!v)
            return at(err, CORE_E_PARSE, m, "string is not valid UTF-8");
    }
    if (!v)
        return core_err_set(err, CORE_E_NOMEM, "out of memory");
    *out = v;
    return 0;
}

/* ---- building ------------------------------------------------------------------------------ */

static int count_nodes(struct ybuild *b, size_t add, const yaml_mark_t *m)
{
    if (add > K8S_YAML_MAX_NODES || b->nodes > K8S_YAML_MAX_NODES - add)
        return at(b->err, CORE_E_TOOBIG, m,
                  "more than %u nodes (aliases count in full): refusing to expand further",
                  (unsigned)K8S_YAML_MAX_NODES);
    b->nodes += add;
    return 0;
}

/* Records an anchor for a completed node; a later anchor of the same name replaces it. */
static int anchor_set(struct ybuild *b, const char *name, json_t *value, size_t nodes,
                      int height, const char *key_text, size_t key_len)
{
    struct yanchor *a = core_calloc(1, sizeof *a);
    void *old = NULL;

    if (!a)
        return core_err_set(b->err, CORE_E_NOMEM, "out of memory");
    a->value = json_incref(value);
    a->nodes = nodes;
    a->height = height;
    if (key_text) {
        a->key_text = core_strndup(key_text, key_len);
        a->key_len = key_len;
        if (!a->key_text) {
            anchor_free(a);
            return core_err_set(b->err, CORE_E_NOMEM, "out of memory");
        }
    }
    if (core_map_set(b->anchors, name, a, &old) != 0) {
        anchor_free(a);
        return core_err_set(b->err, CORE_E_NOMEM, "out of memory");
    }
    anchor_free(old);
    return 0;
}

/* Whether the frame on top is a mapping waiting for a key. */
static int wants_key(const struct ybuild *b)
{
    const struct yframe *f;
    if (b->nframes == 0)
        return 0;
    f = &b->frames[b->nframes - 1];
    return f->is_map && !f->key;
}

/* Places a completed value (reference taken over) into its parent, or as the root. For a
 * mapping waiting for a key, key_text is what becomes the key (NULL: not a scalar). */
static int place(struct ybuild *b, json_t *v, int height, const char *key_text, size_t key_len,
                 const yaml_mark_t *m)
{
    struct yframe *f;

    if (b->nframes == 0) {
        b->root = v;
        return 0;
    }
    f = &b->frames[b->nframes - 1];
    if (height > f->max_child_height)
        f->max_child_height = height;
    if (!f->is_map) {
        if (json_array_append_new(f->value, v) != 0)
            return core_err_set(b->err, CORE_E_NOMEM, "out of memory");
        return 0;
    }
    if (!f->key) {
        json_decref(v);
        if (!key_text)
            return at(b->err, CORE_E_PARSE, m, "mapping keys must be scalars");
        if (json_object_getn(f->value, key_text, key_len))
            return at(b->err, CORE_E_PARSE, m, "duplicate key '%.*s'",
                      (int)(key_len > 100 ? 100 : key_len), key_text);
        f->key = core_strndup(key_text, key_len);
        if (!f->key)
            return core_err_set(b->err, CORE_E_NOMEM, "out of memory");
        f->key_len = key_len;
        f->key_line = (unsigned long)m->line;
        f->key_col = (unsigned long)m->column;
        return 0;
    }
    if (json_object_setn_new(f->value, f->key, f->key_len, v) != 0)
        return at(b->err, CORE_E_PARSE, m, "mapping key is not valid UTF-8");
    core_free(f->key);
    f->key = NULL;
    return 0;
}

static int on_scalar(struct ybuild *b, const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    const char *anchor = (const char *)ev->data.scalar.anchor;
    int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    json_t *v = NULL;
    int rc;

    if ((rc = count_nodes(b, 1, &ev->start_mark)) != 0)
        return rc;
    if (wants_key(b)) {
        /* Keys are strings in JSON: the text as written, whatever it would resolve to. */
        if (tag && strcmp(tag, "!") != 0 && strcmp(tag, TAG_PREFIX "str") != 0)
            return at(b->err, CORE_E_PARSE, &ev->start_mark,
                      "mapping keys are strings; tag '%.64s' is not allowed on one", tag);
        if (anchor) {
            /* An anchored key may be used as a value later: it stands for what the scalar
             * resolves to there, or its text when that would not resolve (".inf"). */
            struct core_err kerr;
            rc = resolve_scalar(s, n, tag, plain, &ev->start_mark, &v, &kerr);
            if (rc == CORE_E_NOMEM)
                return core_err_set(b->err, CORE_E_NOMEM, "out of memory");
            if (rc != 0 && !(v = json_stringn(s, n)))
                return at(b->err, CORE_E_PARSE, &ev->start_mark, "key is not valid UTF-8");
            rc = anchor_set(b, anchor, v, 1, 0, s, n);
            json_decref(v);
            if (rc)
                return rc;
        }
        if (!(v = json_null()))
            return core_err_set(b->err, CORE_E_NOMEM, "out of memory");
        return place(b, v, 0, s, n, &ev->start_mark);
    }
    if ((rc = resolve_scalar(s, n, tag, plain, &ev->start_mark, &v, b->err)) != 0)
        return rc;
    if (anchor && (rc = anchor_set(b, anchor, v, 1, 0, s, n)) != 0) {
        json_decref(v);
        return rc;
    }
    return place(b, v, 0, s, n, &ev->start_mark);
}

static int on_alias(struct ybuild *b, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    struct yanchor *a = core_map_get(b->anchors, name, NULL);
    json_t *v;
    int rc;

    if (!a)
        return at(b->err, CORE_E_PARSE, &ev->start_mark, "alias '*%.64s' names no anchor "
                  "defined before it", name);
    if ((rc = count_nodes(b, a->nodes, &ev->start_mark)) != 0)
        return rc;
    if (wants_key(b)) {
        if (a->height > 0)
            return at(b->err, CORE_E_PARSE, &ev->start_mark, "mapping keys must be scalars");
        if (!(v = json_null()))
            return core_err_set(b->err, CORE_E_NOMEM, "out of memory");
        return place(b, v, 0, a->key_text, a->key_len, &ev->start_mark);
    }
    if (b->nframes + (size_t)a->height > K8S_YAML_MAX_DEPTH)
        return at(b->err, CORE_E_TOOBIG, &ev->start_mark,
                  "alias '*%.64s' nests deeper than %u levels", name,
                  (unsigned)K8S_YAML_MAX_DEPTH);
    v = json_deep_copy(a->value);
    if (!v)
        return core_err_set(b->err, CORE_E_NOMEM, "out of memory");
    return place(b, v, a->height, NULL, 0, &ev->start_mark);
}

static int on_start(struct ybuild *b, const yaml_event_t *ev, int is_map)
{
    const char *tag = (const char *)(is_map ? ev->data.mapping_start.tag
                                            : ev->data.sequence_start.tag);
    const char *anchor = (const char *)(is_map ? ev->data.mapping_start.anchor
                                               : ev->data.sequence_start.anchor);
    struct yframe *f;
    size_t start = b->nodes;
    int rc;

    if (wants_key(b))
        return at(b->err, CORE_E_PARSE, &ev->start_mark, "mapping keys must be scalars");
    if (tag && strcmp(tag, "!") != 0 &&
        strcmp(tag, is_map ? TAG_PREFIX "map" : TAG_PREFIX "seq") != 0)
        return at(b->err, CORE_E_PARSE, &ev->start_mark, "tag '%.64s' is not valid on a %s",
                  tag, is_map ? "mapping" : "sequence");
    if (b->nframes >= K8S_YAML_MAX_DEPTH)
        return at(b->err, CORE_E_TOOBIG, &ev->start_mark, "nested deeper than %u levels",
                  (unsigned)K8S_YAML_MAX_DEPTH);
    if ((rc = count_nodes(b, 1, &ev->start_mark)) != 0)
        return rc;
    f = &b->frames[b->nframes];
    memset(f, 0, sizeof *f);
    f->is_map = is_map;
    f->nodes_at_start = start;
    f->value = is_map ? json_object() : json_array();
    if (!f->value)
        return core_err_set(b->err, CORE_E_NOMEM, "out of memory");
    if (anchor && !(f->anchor = core_strdup(anchor))) {
        json_decref(f->value);
        return core_err_set(b->err, CORE_E_NOMEM, "out of memory");
    }
    b->nframes++;
    return 0;
}

static int on_end(struct ybuild *b, const yaml_event_t *ev)
{
    struct yframe f = b->frames[--b->nframes];
    int height = f.max_child_height + 1, rc = 0;

    /* A key without a value cannot happen with libyaml (it sends an empty scalar), but the
     * stack must not leak one if it did. */
    core_free(f.key);
    if (f.anchor)
        rc = anchor_set(b, f.anchor, f.value, b->nodes - f.nodes_at_start, height, NULL, 0);
    core_free(f.anchor);
    if (rc) {
        json_decref(f.value);
        return rc;
    }
    return place(b, f.value, height, NULL, 0, &ev->start_mark);
}

int k8s_yaml_parse(const char *text, size_t len, json_t ***docs, size_t *ndocs,
                   struct core_err *err)
{
    yaml_parser_t p;
    yaml_event_t ev;
    struct ybuild b;
    json_t **out = NULL;
    size_t n = 0, cap = 0;
    int rc = 0, done = 0, parser_ok = 0;

    memset(&b, 0, sizeof b);
    b.err = err;
    if (!text || !docs || !ndocs)
        return core_err_set(err, CORE_E_INVAL, "k8s_yaml_parse: NULL argument");
    if (len > K8S_YAML_MAX_INPUT)
        return core_err_set(err, CORE_E_TOOBIG, "YAML input of %zu bytes is over the limit of "
                            "%u bytes", len, (unsigned)K8S_YAML_MAX_INPUT);
    if (!yaml_parser_initialize(&p))
        return core_err_set(err, CORE_E_NOMEM, "out of memory");
    parser_ok = 1;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!(b.anchors = core_map_new())) {
        rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
        goto out;
    }
    while (!done && rc == 0) {
        if (!yaml_parser_parse(&p, &ev)) {
            if (p.error == YAML_MEMORY_ERROR)
                rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
            else
                rc = core_err_set(err, CORE_E_PARSE, "line %lu column %lu: %s%s%s",
                                  (unsigned long)p.problem_mark.line + 1,
                                  (unsigned long)p.problem_mark.column + 1,
                                  p.problem ? p.problem : "malformed YAML",
                                  p.context ? " " : "", p.context ? p.context : "");
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            b.root = NULL;
            break;
        case YAML_DOCUMENT_END_EVENT:
            /* Anchors do not cross documents. */
            anchors_clear(&b);
            if (!(b.anchors = core_map_new())) {
                rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
                break;
            }
            if (!b.root || json_is_null(b.root)) {
                json_decref(b.root);
                b.root = NULL;
                break;
            }
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 4;
                json_t **nv = core_realloc(out, ncap * sizeof *nv);
                if (!nv) {
                    rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
                    break;
                }
                out = nv;
                cap = ncap;
            }
            out[n++] = b.root;
            b.root = NULL;
            break;
        case YAML_SCALAR_EVENT:
            rc = on_scalar(&b, &ev);
            break;
        case YAML_ALIAS_EVENT:
            rc = on_alias(&b, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            rc = on_start(&b, &ev, 0);
            break;
        case YAML_MAPPING_START_EVENT:
            rc = on_start(&b, &ev, 1);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            rc = b.nframes ? on_end(&b, &ev)
                           : at(err, CORE_E_PARSE, &ev.start_mark, "unbalanced collection end");
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
out:
    frames_clear(&b);
    json_decref(b.root);
    anchors_clear(&b);
    if (parser_ok)
        yaml_parser_delete(&p);
    if (rc) {
        k8s_yaml_docs_free(out, n);
        return rc;
    }
    *docs = out;
    *ndocs = n;
    return 0;
}

void k8s_yaml_docs_free(json_t **docs, size_t n)
{
    if (!docs)
        return;
    for (size_t i = 0; i < n; i++)
        json_decref(docs[i]);
    core_free(docs);
}

int k8s_yaml_load_file(const char *path, json_t ***docs, size_t *ndocs, struct core_err *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc;

    rc = core_read_file("YAML file", path, K8S_YAML_MAX_INPUT, &text, &len, err);
    if (rc == 0) {
        rc = k8s_yaml_parse(text, len, docs, ndocs, err);
        core_free(text);
    }
    if (rc)
        core_err_prefix(err, "%s", path);
    return rc;
}
