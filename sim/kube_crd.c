/*
 * sim/kube_crd.c — CustomResourceDefinitions in the emulated Kubernetes API: loading CRDs from
 * YAML (each becomes a served resource and a stored apiextensions.k8s.io/v1 object), and the
 * structural OpenAPI v3 checks the API server makes on every write of a custom resource.
 *
 * What validation does, in the API server's order: nulls on non-nullable fields are dropped,
 * absent properties with a default get a deep copy of it (then validated like anything else,
 * so nested defaults apply too), unknown fields are pruned (except apiVersion, kind and
 * metadata at the root, and subtrees marked x-kubernetes-preserve-unknown-fields), then type,
 * required, enum, pattern, minimum/maximum (exclusive too), minLength/maxLength,
 * minItems/maxItems and minProperties/maxProperties are checked. Messages copy the API
 * server's wording ("spec.weight: Invalid value: 0: spec.weight in body should be greater than
 * or equal to 1"), at most SIM_CRD_MAX_VIOLATIONS per write.
 *
 * Simplifications, on purpose:
 *  - x-kubernetes-validations (CEL) rules are not evaluated: they state cross-field checks that
 *    stoker's controller repeats on every object it reads (k8s/obj_stoker.c), reporting a
 *    violation as a condition, so the emulator accepting such an object shows what the
 *    controller does with it.
 *  - pattern is compiled as a POSIX extended regular expression (regcomp REG_EXTENDED). OpenAPI
 *    patterns are ECMA-262; stoker's own CRDs use only the common subset (a unit test compiles
 *    every pattern they contain). A pattern that does not compile is not enforced.
 *  - format, uniqueItems, x-kubernetes-list-type and metadata constraints are not checked;
 *    anyOf/allOf/oneOf/not are ignored (structural schemas use them only beside types).
 *
 * Invariants: the object passed in is never modified (validation works on a deep copy that
 * becomes *pruned only on success); a CRD stream is checked whole before anything is
 * registered, so a bad document registers nothing; every registered resource owns its schema
 * and printer columns (deep copies).
 */
#include "sim/kube_internal.h"

#include "k8s/k8s.h"

#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#define SIM_CRD_MAX_VIOLATIONS 20u
#define CRD_GROUP "apiextensions.k8s.io"
#define CRD_KEY "customresourcedefinitions." CRD_GROUP
#define PATTERN_CACHE 32u

/* ------------------------------------------------------------------------------------------ */
/* Validation                                                                                  */
/* ------------------------------------------------------------------------------------------ */

struct pat {
    const char *src; /* borrowed from the schema */
    regex_t re;
    int ok;
};

struct vctx {
    char path[512];
    size_t plen;
    size_t nviol;
    int nomem;
    struct core_buf msgs; /* "v1, v2, ..." */
    struct pat pats[PATTERN_CACHE];
    size_t npats;
};

/* Path steps, the API server's way: "spec.template", "[2]", "[key]" for map entries. A path
 * longer than the buffer is cut (the message still names where it starts). */
static size_t path_advance(struct vctx *c, int n)
{
    size_t mark = c->plen;
    if (n > 0)
        c->plen = c->plen + (size_t)n < sizeof c->path ? c->plen + (size_t)n : sizeof c->path - 1;
    return mark;
}

static size_t push_key(struct vctx *c, const char *key)
{
    return path_advance(c, snprintf(c->path + c->plen, sizeof c->path - c->plen,
                                    c->plen ? ".%s" : "%s", key));
}

static size_t push_mapkey(struct vctx *c, const char *key)
{
    return path_advance(c, snprintf(c->path + c->plen, sizeof c->path - c->plen, "[%s]", key));
}

static size_t push_index(struct vctx *c, size_t i)
{
    return path_advance(c, snprintf(c->path + c->plen, sizeof c->path - c->plen, "[%zu]", i));
}

static void path_pop(struct vctx *c, size_t mark)
{
    c->plen = mark;
    c->path[mark] = '\0';
}

/* One violation, "PATH: TEXT" ("PATH" may contain "%p" for a second copy of the path, as the
 * API server repeats it: "x: Invalid value: 1: x in body should be ..."). */
static void violation(struct vctx *c, const char *fmt, ...) CORE_PRINTF(2, 3);
static void violation(struct vctx *c, const char *fmt, ...)
{
    char text[1024];
    va_list ap;

    c->nviol++;
    if (c->nviol > SIM_CRD_MAX_VIOLATIONS)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (core_buf_appendf(&c->msgs, "%s%s: %s", c->nviol > 1 ? ", " : "",
                         c->plen ? c->path : "<root>", text) != 0)
        c->nomem = 1;
}

/* The API server's rendering of a value in "Invalid value: ..." (strings quoted, at most 80
 * bytes of them). */
static void fmt_value(const json_t *v, char *out, size_t outsz)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        snprintf(out, outsz, "\"%.80s%s\"", json_string_value(v),
                 json_string_length(v) > 80 ? "..." : "");
        break;
    case JSON_INTEGER:
        snprintf(out, outsz, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        snprintf(out, outsz, "%g", json_real_value(v));
        break;
    case JSON_TRUE:
        snprintf(out, outsz, "true");
        break;
    case JSON_FALSE:
        snprintf(out, outsz, "false");
        break;
    case JSON_NULL:
        snprintf(out, outsz, "null");
        break;
    case JSON_OBJECT:
        snprintf(out, outsz, "\"object\"");
        break;
    case JSON_ARRAY:
        snprintf(out, outsz, "\"array\"");
        break;
    }
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

static int type_matches(const char *type, const json_t *v)
{
    if (strcmp(type, "object") == 0)
        return json_is_object(v);
    if (strcmp(type, "array") == 0)
        return json_is_array(v);
    if (strcmp(type, "string") == 0)
        return json_is_string(v);
    if (strcmp(type, "integer") == 0)
        return json_is_integer(v);
    if (strcmp(type, "number") == 0)
        return json_is_number(v);
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(v);
    return 1; /* an unknown type was refused when the CRD was loaded */
}

static int flag(const json_t *s, const char *name)
{
    return json_is_true(json_object_get(s, name));
}

/* Characters, as the API server counts minLength/maxLength (runes, not bytes). */
static size_t utf8_len(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}

static const struct pat *pattern_get(struct vctx *c, const char *src)
{
    struct pat *p;
    for (size_t i = 0; i < c->npats; i++)
        if (c->pats[i].src == src || strcmp(c->pats[i].src, src) == 0)
            return &c->pats[i];
    if (c->npats == PATTERN_CACHE)
        return NULL; /* a schema with this many patterns: the rest compile per use */
    p = &c->pats[c->npats++];
    p->src = src;
    p->ok = regcomp(&p->re, src, REG_EXTENDED | REG_NOSUB) == 0;
    return p;
}

/* -1 no match, 0 match, 1 not enforceable (does not compile). */
static int pattern_match(struct vctx *c, const char *src, const char *s)
{
    const struct pat *p = pattern_get(c, src);
    regex_t re;
    int rc;

    if (p)
        return p->ok ? (regexec(&p->re, s, 0, NULL, 0) == 0 ? 0 : -1) : 1;
    if (regcomp(&re, src, REG_EXTENDED | REG_NOSUB) != 0)
        return 1;
    rc = regexec(&re, s, 0, NULL, 0) == 0 ? 0 : -1;
    regfree(&re);
    return rc;
}

static double num(const json_t *v)
{
    return json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v);
}

static void fmt_num(const json_t *v, char *out, size_t outsz)
{
    if (json_is_integer(v))
        snprintf(out, outsz, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        snprintf(out, outsz, "%g", json_real_value(v));
}

static void check_enum(struct vctx *c, const json_t *v, const json_t *en)
{
    struct core_buf b;
    char val[128];
    size_t i;
    const json_t *e;

    json_array_foreach(en, i, e)
        if (json_equal(e, v))
            return;
    core_buf_init(&b, 4096);
    json_array_foreach(en, i, e) {
        char one[128];
        fmt_value(e, one, sizeof one);
        if (core_buf_appendf(&b, "%s%s", i ? ", " : "", one) != 0)
            break;
    }
    fmt_value(v, val, sizeof val);
    violation(c, "Unsupported value: %s: supported values: %s", val, core_buf_cstr(&b));
    core_buf_cleanup(&b);
}

static void check_string(struct vctx *c, const json_t *v, const json_t *s)
{
    const char *str = json_string_value(v);
    size_t len = utf8_len(str, json_string_length(v));
    const json_t *lim;
    char val[128];

    fmt_value(v, val, sizeof val);
    if (json_is_integer(lim = json_object_get(s, "maxLength")) &&
        (json_int_t)len > json_integer_value(lim))
        violation(c, "Too long: may not be more than %" JSON_INTEGER_FORMAT " bytes",
                  json_integer_value(lim));
    if (json_is_integer(lim = json_object_get(s, "minLength")) &&
        (json_int_t)len < json_integer_value(lim))
        violation(c, "Invalid value: %s: %s in body should be at least %" JSON_INTEGER_FORMAT
                     " chars long", val, c->path, json_integer_value(lim));
    if (json_is_string(lim = json_object_get(s, "pattern")) &&
        pattern_match(c, json_string_value(lim), str) < 0)
        violation(c, "Invalid value: %s: %s in body should match '%s'", val, c->path,
                  json_string_value(lim));
}

static void check_number(struct vctx *c, const json_t *v, const json_t *s)
{
    const json_t *lim;
    char val[64], bound[64];
    double x = num(v);

    fmt_value(v, val, sizeof val);
    if (json_is_number(lim = json_object_get(s, "minimum"))) {
        int excl = flag(s, "exclusiveMinimum");
        fmt_num(lim, bound, sizeof bound);
        if (excl ? x <= num(lim) : x < num(lim))
            violation(c, "Invalid value: %s: %s in body should be greater than %s%s", val,
                      c->path, excl ? "" : "or equal to ", bound);
    }
    if (json_is_number(lim = json_object_get(s, "maximum"))) {
        int excl = flag(s, "exclusiveMaximum");
        fmt_num(lim, bound, sizeof bound);
        if (excl ? x >= num(lim) : x > num(lim))
            violation(c, "Invalid value: %s: %s in body should be less than %s%s", val, c->path,
                      excl ? "" : "or equal to ", bound);
    }
    if (json_is_number(lim = json_object_get(s, "multipleOf")) && num(lim) > 0 &&
        fmod(x, num(lim)) != 0) {
        fmt_num(lim, bound, sizeof bound);
        violation(c, "Invalid value: %s: %s in body should be a multiple of %s", val, c->path,
                  bound);
    }
}

static void walk(struct vctx *c, json_t *v, const json_t *s, int root);

static void walk_object(struct vctx *c, json_t *v, const json_t *s, int root)
{
    const json_t *props = json_object_get(s, "properties");
    const json_t *addl = json_object_get(s, "additionalProperties");
    const json_t *req = json_object_get(s, "required"), *lim, *ps;
    int keep_unknown = flag(s, "x-kubernetes-preserve-unknown-fields") || json_is_true(addl);
    const char *key;
    json_t *child;
    void *tmp;
    size_t i, mark;

    /* Nulls on fields that may not hold null are dropped (then defaulted), as the API does. */
    json_object_foreach_safe(v, tmp, key, child) {
        if (root && (!strcmp(key, "apiVersion") || !strcmp(key, "kind") ||
                     !strcmp(key, "metadata")))
            continue;
        ps = props ? json_object_get(props, key) : NULL;
        if (!ps && json_is_object(addl))
            ps = addl;
        if (!ps) {
            if (!keep_unknown)
                json_object_del(v, key); /* pruned */
            continue;
        }
        if (json_is_null(child) && !flag(ps, "nullable"))
            json_object_del(v, key);
    }
    json_object_foreach((json_t *)props, key, ps) {
        const json_t *def = json_object_get(ps, "default");
        json_t *copy;
        if (!def || json_object_get(v, key))
            continue;
        if (!(copy = json_deep_copy(def)) || json_object_set_new(v, key, copy) != 0) {
            c->nomem = 1;
            return;
        }
    }
    if (json_is_integer(lim = json_object_get(s, "maxProperties")) &&
        (json_int_t)json_object_size(v) > json_integer_value(lim))
        violation(c, "Too many: %zu: must have at most %" JSON_INTEGER_FORMAT " items",
                  json_object_size(v), json_integer_value(lim));
    if (json_is_integer(lim = json_object_get(s, "minProperties")) &&
        (json_int_t)json_object_size(v) < json_integer_value(lim))
        violation(c, "Invalid value: %zu: %s in body should have at least %" JSON_INTEGER_FORMAT
                     " properties", json_object_size(v), c->path, json_integer_value(lim));
    json_array_foreach(req, i, lim) {
        if (!json_is_string(lim) || json_object_get(v, json_string_value(lim)))
            continue;
        mark = push_key(c, json_string_value(lim));
        violation(c, "Required value");
        path_pop(c, mark);
    }
    json_object_foreach(v, key, child) {
        if (root && (!strcmp(key, "apiVersion") || !strcmp(key, "kind") ||
                     !strcmp(key, "metadata")))
            continue; /* metadata is the API's own; a CRD schema cannot reshape it */
        ps = props ? json_object_get(props, key) : NULL;
        if (!ps && json_is_object(addl)) {
            mark = push_mapkey(c, key);
            walk(c, child, addl, 0);
        } else if (ps) {
            mark = push_key(c, key);
            walk(c, child, ps, 0);
        } else {
            continue; /* preserved unknown field */
        }
        path_pop(c, mark);
        if (c->nomem)
            return;
    }
}

static void walk(struct vctx *c, json_t *v, const json_t *s, int root)
{
    const char *type = json_string_value(json_object_get(s, "type"));
    const json_t *lim;
    char val[128];

    if (!json_is_object(s) || c->nomem)
        return;
    if (json_is_null(v)) {
        if (!flag(s, "nullable"))
            violation(c, "Invalid value: \"null\": %s in body must be of type %s: \"null\"",
                      c->path, type ? type : "object");
        return;
    }
    if (flag(s, "x-kubernetes-int-or-string")) {
        if (!json_is_integer(v) && !json_is_string(v)) {
            violation(c, "Invalid value: \"%s\": %s in body must be of type integer,string: "
                         "\"%s\"", type_name(v), c->path, type_name(v));
            return;
        }
    } else if (type && !type_matches(type, v)) {
        violation(c, "Invalid value: \"%s\": %s in body must be of type %s: \"%s\"",
                  type_name(v), c->path, type, type_name(v));
        return;
    }
    if (json_is_array(lim = json_object_get(s, "enum")))
        check_enum(c, v, lim);
    if (json_is_string(v))
        check_string(c, v, s);
    else if (json_is_number(v))
        check_number(c, v, s);
    else if (json_is_array(v)) {
        const json_t *items = json_object_get(s, "items");
        size_t n = json_array_size(v);
        fmt_value(v, val, sizeof val);
        if (json_is_integer(lim = json_object_get(s, "maxItems")) &&
            (json_int_t)n > json_integer_value(lim))
            violation(c, "Too many: %zu: must have at most %" JSON_INTEGER_FORMAT " items", n,
                      json_integer_value(lim));
        if (json_is_integer(lim = json_object_get(s, "minItems")) &&
            (json_int_t)n < json_integer_value(lim))
            violation(c, "Invalid value: %zu: %s in body should have at least %"
                         JSON_INTEGER_FORMAT " items", n, c->path, json_integer_value(lim));
        for (size_t i = 0; i < n && json_is_object(items); i++) {
            size_t mark = push_index(c, i);
            walk(c, json_array_get(v, i), items, 0);
            path_pop(c, mark);
        }
    } else if (json_is_object(v)) {
        walk_object(c, v, s, root);
    }
}

int sim_kube_crd_validate(const struct sim_kres *r, const json_t *obj, json_t **pruned,
                          struct core_err *err)
{
    struct vctx *c = NULL;
    json_t *work = NULL;
    int rc = 0;

    if (!r || !obj || !pruned)
        return core_err_set(err, CORE_E_INVAL, "validate: resource and object are required");
    if (r->schema && !json_is_object(obj))
        return core_err_set(err, CORE_E_INVAL, "%s.%s: the object must be a JSON object",
                            r->kind, r->group);
    if (!(work = json_deep_copy(obj))) {
        rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
        goto out;
    }
    if (!r->schema)
        goto out;
    if (!(c = core_calloc(1, sizeof *c))) {
        rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
        goto out;
    }
    core_buf_init(&c->msgs, 64 * 1024);
    walk(c, work, r->schema, 1);
    if (c->nomem) {
        rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
    } else if (c->nviol) {
        const char *name = json_string_value(
            json_object_get(json_object_get(obj, "metadata"), "name"));
        int many = c->nviol > 1;
        rc = core_err_set(err, CORE_E_INVAL, "%s%s%s \"%s\" is invalid: %s%s%s%s", r->kind,
                          r->group[0] ? "." : "", r->group, name ? name : "", many ? "[" : "",
                          core_buf_cstr(&c->msgs),
                          c->nviol > SIM_CRD_MAX_VIOLATIONS ? ", ..." : "", many ? "]" : "");
        if (err) {
            err->http_status = 422;
            core_strlcpy(err->service_code, "Invalid", sizeof err->service_code);
        }
    }
out:
    if (c) {
        for (size_t i = 0; i < c->npats; i++)
            if (c->pats[i].ok)
                regfree(&c->pats[i].re);
        core_buf_cleanup(&c->msgs);
        core_free(c);
    }
    if (rc != 0) {
        json_decref(work);
        return rc;
    }
    *pruned = work;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Loading                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static const char *const schema_types[] = {"object", "array",   "string",
                                           "integer", "number", "boolean", NULL};

/* Structural-schema check: every node says its type (or is int-or-string / preserves unknown
 * fields), types are known, and nested schemas are objects. path is where s is. */
static int schema_check(const json_t *s, char *path, size_t plen, size_t pathsz, unsigned depth,
                        struct core_err *err)
{
    const json_t *t, *sub;
    const char *key;
    int rc;

    if (depth > 64)
        return core_err_set(err, CORE_E_INVAL, "%s: schema nested too deeply", path);
    if (!json_is_object(s))
        return core_err_set(err, CORE_E_INVAL, "%s: expected a schema object", path);
    t = json_object_get(s, "type");
    if (t) {
        size_t i;
        if (!json_is_string(t))
            return core_err_set(err, CORE_E_INVAL, "%s.type: expected a string", path);
        for (i = 0; schema_types[i]; i++)
            if (strcmp(schema_types[i], json_string_value(t)) == 0)
                break;
        if (!schema_types[i])
            return core_err_set(err, CORE_E_INVAL, "%s.type: unsupported type '%s'", path,
                                json_string_value(t));
    } else if (!flag(s, "x-kubernetes-int-or-string") &&
               !flag(s, "x-kubernetes-preserve-unknown-fields")) {
        return core_err_set(err, CORE_E_INVAL, "%s.type: Required value: must not be empty for "
                                               "specified object fields", path);
    }
    if ((t = json_object_get(s, "pattern")) && !json_is_string(t))
        return core_err_set(err, CORE_E_INVAL, "%s.pattern: expected a string", path);
    if ((t = json_object_get(s, "enum")) && !json_is_array(t))
        return core_err_set(err, CORE_E_INVAL, "%s.enum: expected an array", path);
    if ((t = json_object_get(s, "required")) && !json_is_array(t))
        return core_err_set(err, CORE_E_INVAL, "%s.required: expected an array", path);
    if ((t = json_object_get(s, "properties"))) {
        if (!json_is_object(t))
            return core_err_set(err, CORE_E_INVAL, "%s.properties: expected an object", path);
        json_object_foreach((json_t *)t, key, sub) {
            int n = snprintf(path + plen, pathsz - plen, ".properties.%s", key);
            size_t nl = n > 0 && (size_t)n < pathsz - plen ? plen + (size_t)n : plen;
            rc = schema_check(sub, path, nl, pathsz, depth + 1, err);
            path[plen] = '\0';
            if (rc != 0)
                return rc;
        }
    }
    if ((t = json_object_get(s, "items"))) {
        int n = snprintf(path + plen, pathsz - plen, ".items");
        rc = schema_check(t, path, n > 0 && (size_t)n < pathsz - plen ? plen + (size_t)n : plen,
                          pathsz, depth + 1, err);
        path[plen] = '\0';
        if (rc != 0)
            return rc;
    }
    if ((t = json_object_get(s, "additionalProperties")) && json_is_object(t)) {
        int n = snprintf(path + plen, pathsz - plen, ".additionalProperties");
        rc = schema_check(t, path, n > 0 && (size_t)n < pathsz - plen ? plen + (size_t)n : plen,
                          pathsz, depth + 1, err);
        path[plen] = '\0';
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* A CRD document parsed into what registration needs; owns schema, columns, short names. */
struct crd_entry {
    struct sim_kres tmpl;
    json_t *stored; /* the CRD object to store (with a status), owned */
};

static void crd_entry_cleanup(struct crd_entry *e)
{
    json_decref(e->tmpl.schema);
    json_decref(e->tmpl.printer_columns);
    core_free(e->tmpl.crd_short_names);
    json_decref(e->stored);
    memset(e, 0, sizeof *e);
}

static int copy_name(char *dst, size_t dstsz, const json_t *v, const char *field,
                     const char *ctx, struct core_err *err)
{
    const char *s = json_string_value(v);
    if (!s || !*s)
        return core_err_set(err, CORE_E_INVAL, "%s: %s: Required value", ctx, field);
    if (core_strlcpy(dst, s, dstsz) >= dstsz)
        return core_err_set(err, CORE_E_INVAL, "%s: %s: too long (at most %zu bytes)", ctx, field,
                            dstsz - 1);
    return 0;
}

/* A DNS-1123 label, as plural and singular names must be. */
static int dns_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return 0;
    return 1;
}

static int parse_crd(const json_t *doc, const char *ctx, struct crd_entry *e,
                     struct core_err *err)
{
    const json_t *spec = json_object_get(doc, "spec"), *names, *versions, *v, *ver = NULL;
    const char *scope, *name;
    char want[256], path[1024];
    size_t i;
    int rc;
    json_t *status, *conds;

    memset(e, 0, sizeof *e);
    name = json_string_value(json_object_get(json_object_get(doc, "metadata"), "name"));
    if (!name || !*name)
        return core_err_set(err, CORE_E_INVAL, "%s: metadata.name: Required value", ctx);
    if (!json_is_object(spec))
        return core_err_set(err, CORE_E_INVAL, "%s: spec: Required value", ctx);
    names = json_object_get(spec, "names");
    if (!json_is_object(names))
        return core_err_set(err, CORE_E_INVAL, "%s: spec.names: Required value", ctx);
    if ((rc = copy_name(e->tmpl.group, sizeof e->tmpl.group, json_object_get(spec, "group"),
                        "spec.group", ctx, err)) != 0 ||
        (rc = copy_name(e->tmpl.plural, sizeof e->tmpl.plural, json_object_get(names, "plural"),
                        "spec.names.plural", ctx, err)) != 0 ||
        (rc = copy_name(e->tmpl.kind, sizeof e->tmpl.kind, json_object_get(names, "kind"),
                        "spec.names.kind", ctx, err)) != 0)
        return rc;
    if (!dns_label(e->tmpl.plural))
        return core_err_set(err, CORE_E_INVAL, "%s: spec.names.plural: Invalid value: \"%s\": "
                                               "a lowercase DNS label is required", ctx,
                            e->tmpl.plural);
    snprintf(want, sizeof want, "%s.%s", e->tmpl.plural, e->tmpl.group);
    if (strcmp(name, want) != 0)
        return core_err_set(err, CORE_E_INVAL, "%s: metadata.name: Invalid value: \"%s\": must "
                                               "be spec.names.plural+\".\"+spec.group (\"%s\")",
                            ctx, name, want);
    if (json_object_get(names, "singular")) {
        if ((rc = copy_name(e->tmpl.singular, sizeof e->tmpl.singular,
                            json_object_get(names, "singular"), "spec.names.singular", ctx,
                            err)) != 0)
            return rc;
    } else {
        for (i = 0; e->tmpl.kind[i] && i + 1 < sizeof e->tmpl.singular; i++)
            e->tmpl.singular[i] = (char)(e->tmpl.kind[i] >= 'A' && e->tmpl.kind[i] <= 'Z'
                                             ? e->tmpl.kind[i] - 'A' + 'a'
                                             : e->tmpl.kind[i]);
    }
    if (json_object_get(names, "listKind")) {
        if ((rc = copy_name(e->tmpl.list_kind, sizeof e->tmpl.list_kind,
                            json_object_get(names, "listKind"), "spec.names.listKind", ctx,
                            err)) != 0)
            return rc;
    } else {
        snprintf(e->tmpl.list_kind, sizeof e->tmpl.list_kind, "%sList", e->tmpl.kind);
    }
    if (core_strlcpy(e->tmpl.key, want, sizeof e->tmpl.key) >= sizeof e->tmpl.key)
        return core_err_set(err, CORE_E_INVAL, "%s: metadata.name: too long", ctx);
    scope = json_string_value(json_object_get(spec, "scope"));
    if (!scope || (strcmp(scope, "Cluster") != 0 && strcmp(scope, "Namespaced") != 0))
        return core_err_set(err, CORE_E_INVAL, "%s: spec.scope: Unsupported value: %s%s%s: "
                                               "supported values: \"Cluster\", \"Namespaced\"",
                            ctx, scope ? "\"" : "", scope ? scope : "null", scope ? "\"" : "");
    e->tmpl.namespaced = strcmp(scope, "Namespaced") == 0;
    e->tmpl.is_crd = 1;

    v = json_object_get(names, "shortNames");
    if (v && json_array_size(v) > 0) {
        struct core_buf b;
        const json_t *sn;
        core_buf_init(&b, 1024);
        json_array_foreach(v, i, sn) {
            if (!json_is_string(sn) || !dns_label(json_string_value(sn))) {
                core_buf_cleanup(&b);
                return core_err_set(err, CORE_E_INVAL, "%s: spec.names.shortNames[%zu]: a "
                                                       "lowercase DNS label is required", ctx, i);
            }
            if ((rc = core_buf_appendf(&b, "%s%s", i ? "," : "", json_string_value(sn))) != 0) {
                core_buf_cleanup(&b);
                return rc == CORE_E_TOOBIG
                           ? core_err_set(err, CORE_E_INVAL,
                                          "%s: spec.names.shortNames: too many", ctx)
                           : core_err_set(err, CORE_E_NOMEM, "out of memory");
            }
        }
        e->tmpl.crd_short_names = core_strdup(core_buf_cstr(&b));
        core_buf_cleanup(&b);
        if (!e->tmpl.crd_short_names)
            return core_err_set(err, CORE_E_NOMEM, "out of memory");
    }

    versions = json_object_get(spec, "versions");
    if (!json_is_array(versions) || json_array_size(versions) == 0) {
        rc = core_err_set(err, CORE_E_INVAL, "%s: spec.versions: Required value", ctx);
        goto fail;
    }
    json_array_foreach(versions, i, v) {
        if (!json_is_true(json_object_get(v, "storage")))
            continue;
        if (ver) {
            rc = core_err_set(err, CORE_E_INVAL, "%s: spec.versions: Invalid value: must have "
                                                 "exactly one version marked as storage", ctx);
            goto fail;
        }
        ver = v;
        snprintf(path, sizeof path, "spec.versions[%zu]", i);
    }
    if (!ver) {
        rc = core_err_set(err, CORE_E_INVAL, "%s: spec.versions: Invalid value: must have "
                                             "exactly one version marked as storage", ctx);
        goto fail;
    }
    if (!json_is_true(json_object_get(ver, "served"))) {
        rc = core_err_set(err, CORE_E_INVAL, "%s: %s.served: the emulator serves the storage "
                                             "version only, and it is not served", ctx, path);
        goto fail;
    }
    if ((rc = copy_name(e->tmpl.version, sizeof e->tmpl.version, json_object_get(ver, "name"),
                        "spec.versions[].name", ctx, err)) != 0)
        goto fail;
    v = json_object_get(json_object_get(ver, "schema"), "openAPIV3Schema");
    if (!v) {
        rc = core_err_set(err, CORE_E_INVAL, "%s: %s.schema.openAPIV3Schema: Required value",
                          ctx, path);
        goto fail;
    }
    {
        size_t plen;
        core_strlcpy(path + strlen(path), ".schema.openAPIV3Schema",
                     sizeof path - strlen(path));
        plen = strlen(path);
        if ((rc = schema_check(v, path, plen, sizeof path, 0, err)) != 0) {
            core_err_prefix(err, "%s", ctx);
            goto fail;
        }
        path[plen] = '\0';
    }
    if (!json_is_object(v) || strcmp(json_string_value(json_object_get(v, "type")) ?
                                         json_string_value(json_object_get(v, "type")) : "",
                                     "object") != 0) {
        rc = core_err_set(err, CORE_E_INVAL, "%s: %s.type: must be object", ctx, path);
        goto fail;
    }
    if (!(e->tmpl.schema = json_deep_copy(v))) {
        rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
        goto fail;
    }
    e->tmpl.has_status = json_object_get(json_object_get(ver, "subresources"), "status") != NULL;
    v = json_object_get(ver, "additionalPrinterColumns");
    if (v && !json_is_array(v)) {
        rc = core_err_set(err, CORE_E_INVAL, "%s: additionalPrinterColumns: expected an array",
                          ctx);
        goto fail;
    }
    if (v && json_array_size(v) > 0 && !(e->tmpl.printer_columns = json_deep_copy(v))) {
        rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
        goto fail;
    }

    /* The stored CRD carries the status an API server gives an accepted definition.
     * json_object_set_new and json_array_append_new take the reference even when they fail. */
    if (!(e->stored = json_deep_copy(doc)) || !(status = json_object()) ||
        json_object_set_new(e->stored, "status", status) != 0 ||
        json_object_set_new(status, "acceptedNames", json_deep_copy(names)) != 0 ||
        !(conds = json_array()) || json_object_set_new(status, "conditions", conds) != 0 ||
        json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s}", "type", "NamesAccepted",
                                               "status", "True", "reason", "NoConflicts",
                                               "message", "no conflicts found")) != 0 ||
        json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s}", "type", "Established",
                                               "status", "True", "reason", "InitialNamesAccepted",
                                               "message", "the initial names have been "
                                                          "accepted")) != 0 ||
        json_object_set_new(status, "storedVersions", json_pack("[s]", e->tmpl.version)) != 0) {
        rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
        goto fail;
    }
    return 0;
fail:
    crd_entry_cleanup(e);
    return rc;
}

static int crd_resource(struct sim_kube *k, struct sim_kres **out, struct core_err *err)
{
    static const struct sim_kres tmpl = {
        .group = CRD_GROUP,
        .version = "v1",
        .plural = "customresourcedefinitions",
        .singular = "customresourcedefinition",
        .kind = "CustomResourceDefinition",
        .list_kind = "CustomResourceDefinitionList",
        .key = CRD_KEY,
        .short_names = {"crd", "crds", NULL, NULL},
        .has_status = 1,
    };
    struct sim_kres *r = sim_kube_res_by_key(k, CRD_KEY);

    if (r) {
        *out = r;
        return 0;
    }
    return sim_kube_register(k, &tmpl, out, err);
}

int sim_kube_load_crds(struct sim_kube *k, const char *yaml, size_t len, const char *what,
                       struct core_err *err)
{
    struct crd_entry *ents = NULL;
    struct sim_kres *crdres = NULL;
    json_t **docs = NULL;
    size_t ndocs = 0, nents = 0, i;
    struct core_err e;
    char ctx[256];
    int rc;

    if (!what)
        what = "CRDs";
    if (!k || (!yaml && len))
        return core_err_set(err, CORE_E_INVAL, "%s: nothing to load", what);
    core_err_clear(&e);
    if ((rc = k8s_yaml_parse(yaml ? yaml : "", len, &docs, &ndocs, &e)) != 0)
        return core_err_set(err, rc, "%s: %s", what, e.message);
    if (ndocs && !(ents = core_calloc(ndocs, sizeof *ents))) {
        rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
        goto out;
    }
    /* Everything is checked before anything is registered. */
    for (i = 0; i < ndocs; i++) {
        const json_t *d = docs[i];
        const char *name;
        if (!json_is_object(d) ||
            !json_is_string(json_object_get(d, "kind")) ||
            strcmp(json_string_value(json_object_get(d, "kind")), "CustomResourceDefinition") !=
                0)
            continue;
        if (!json_is_string(json_object_get(d, "apiVersion")) ||
            strcmp(json_string_value(json_object_get(d, "apiVersion")), CRD_GROUP "/v1") != 0) {
            rc = core_err_set(err, CORE_E_INVAL, "%s: document %zu: apiVersion: only %s/v1 "
                                                 "CustomResourceDefinitions are served", what,
                              i + 1, CRD_GROUP);
            goto out;
        }
        name = json_string_value(json_object_get(json_object_get(d, "metadata"), "name"));
        snprintf(ctx, sizeof ctx, "%s: document %zu (CustomResourceDefinition %s)", what, i + 1,
                 name ? name : "?");
        if ((rc = parse_crd(d, ctx, &ents[nents], err)) != 0)
            goto out;
        nents++;
        if (sim_kube_res_by_key(k, ents[nents - 1].tmpl.key)) {
            rc = core_err_set(err, CORE_E_CONFLICT, "%s: %s is already served", ctx,
                              ents[nents - 1].tmpl.key);
            goto out;
        }
        for (size_t j = 0; j + 1 < nents; j++)
            if (strcmp(ents[j].tmpl.key, ents[nents - 1].tmpl.key) == 0) {
                rc = core_err_set(err, CORE_E_CONFLICT, "%s: defined twice in the stream", ctx);
                goto out;
            }
    }
    if (nents && (rc = crd_resource(k, &crdres, err)) != 0)
        goto out;
    for (i = 0; i < nents; i++) {
        struct crd_entry *en = &ents[i];
        json_t *stored = NULL;
        const char *name = json_string_value(
            json_object_get(json_object_get(en->stored, "metadata"), "name"));
        /* The definition first: if it cannot be stored, nothing is served under its name. */
        if ((rc = sim_kube_store_create(k, crdres, NULL, en->stored, 1, 0, &stored, err)) != 0) {
            core_err_prefix(err, "%s: CustomResourceDefinition %s", what, name);
            goto out;
        }
        json_decref(stored);
        if ((rc = sim_kube_register(k, &en->tmpl, NULL, err)) != 0) {
            struct core_err e2;
            core_err_clear(&e2);
            if (sim_kube_store_delete(k, crdres, NULL, name, NULL, NULL, NULL, 0, NULL, &e2) !=
                0) {
                /* Nothing more to undo: the stored definition stays as a record. */
            }
            core_err_prefix(err, "%s: CustomResourceDefinition %s", what, name);
            goto out;
        }
        /* The registered copy owns these now. */
        en->tmpl.schema = NULL;
        en->tmpl.printer_columns = NULL;
        en->tmpl.crd_short_names = NULL;
    }
    rc = 0;
out:
    for (i = 0; i < nents; i++)
        crd_entry_cleanup(&ents[i]);
    core_free(ents);
    k8s_yaml_docs_free(docs, ndocs);
    return rc;
}

/* The deploy/crds YAML files joined into one YAML stream at build time (the Makefile's crds_yaml). */
extern const unsigned char sim_crds_yaml[];
extern const size_t sim_crds_yaml_len;

int sim_kube_load_builtin_crds(struct sim_kube *k, struct core_err *err)
{
    return sim_kube_load_crds(k, (const char *)sim_crds_yaml, sim_crds_yaml_len,
                              "built-in CRDs (deploy/crds)", err);
}
