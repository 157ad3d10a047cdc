/*
 * sim/kube_table.c — meta.k8s.io Table answers of the emulated Kubernetes API: what
 * `kubectl get` prints. kubectl asks for a Table in its Accept header and prints the
 * columns the server chooses, so without this every kind would show only NAME and AGE.
 *
 * Columns follow the API server: for a custom resource, Name and then each
 * additionalPrinterColumn of its definition, evaluated with the JSONPath subset printer
 * columns allow; for nodes, pods and namespaces the columns of the server's own printers
 * (the wide ones at priority 1); for every other kind Name and Age. Like the API server, the
 * server renders ages: date cells of a CRD column and the Age of built-ins are durations
 * since the timestamp ("5m"), computed from the caller's wall time, so kubectl shows them
 * as they are. A value that is missing (or of the wrong type for an integer, number, boolean
 * or date column) is null, which kubectl prints as <none>.
 *
 * Invariants:
 *  - Nothing here keeps state or touches the store: every function maps its arguments to a
 *    new JSON document, so a Table can be built from a snapshot at any time.
 *  - Input from outside is bounded: a JSONPath is at most KT_PATH_MAX bytes and
 *    KT_DEPTH_MAX steps deep, a key at most KT_KEY_MAX bytes, an Accept header is read up
 *    to KT_ACCEPT_MAX bytes.
 *  - A malformed JSONPath fails the same way whatever the data (the whole path is parsed
 *    even after a step finds nothing), so a bad column is a bad column on every object.
 */
#include "sim/kube_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KT_PATH_MAX 1024u
#define KT_DEPTH_MAX 64
#define KT_KEY_MAX 256u
#define KT_ACCEPT_MAX 2048u
#define KT_ROLES_MAX 16u

/* ---- content negotiation ------------------------------------------------------------------- */

static void trim(const char **b, const char **e)
{
    while (*b < *e && (**b == ' ' || **b == '\t'))
        (*b)++;
    while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

/* Does [b, e) equal s, ignoring case (and surrounding quotes when unquote)? */
static int span_eq(const char *b, const char *e, const char *s, int unquote)
{
    size_t n;

    if (unquote && e - b >= 2 && *b == '"' && e[-1] == '"') {
        b++;
        e--;
    }
    n = (size_t)(e - b);
    return strlen(s) == n && strncasecmp(b, s, n) == 0;
}

/* One media range [b, e): 1 a Table we serve (version into tr), 0 plain JSON, -1 skip. */
static int media_range(const char *b, const char *e, struct sim_ktable_req *tr)
{
    const char *semi = memchr(b, ';', (size_t)(e - b));
    const char *te = semi ? semi : e, *tb = b, *p;
    int as_table = 0, as_other = 0, group_ok = 0, v1 = 0, v1beta1 = 0;

    trim(&tb, &te);
    if (!span_eq(tb, te, "application/json", 0) && !span_eq(tb, te, "*/*", 0) &&
        !span_eq(tb, te, "application/*", 0))
        return -1;
    for (p = semi; p && p < e;) {
        const char *pb = p + 1, *pe = memchr(pb, ';', (size_t)(e - pb)), *eq, *kb, *ke, *vb, *ve;
        if (!pe)
            pe = e;
        p = pe < e ? pe : NULL;
        eq = memchr(pb, '=', (size_t)(pe - pb));
        if (!eq)
            continue;
        kb = pb;
        ke = eq;
        vb = eq + 1;
        ve = pe;
        trim(&kb, &ke);
        trim(&vb, &ve);
        if (span_eq(kb, ke, "as", 0)) {
            if (span_eq(vb, ve, "Table", 1))
                as_table = 1;
            else
                as_other = 1;
        } else if (span_eq(kb, ke, "g", 0)) {
            group_ok = span_eq(vb, ve, "meta.k8s.io", 1);
        } else if (span_eq(kb, ke, "v", 0)) {
            v1 = span_eq(vb, ve, "v1", 1);
            v1beta1 = span_eq(vb, ve, "v1beta1", 1);
        }
    }
    if (as_other || (as_table && (!group_ok || (!v1 && !v1beta1))))
        return -1; /* PartialObjectMetadataList and the like: not served here */
    if (!as_table)
        return 0;
    core_strlcpy(tr->api_version, v1 ? "meta.k8s.io/v1" : "meta.k8s.io/v1beta1",
                 sizeof tr->api_version);
    return 1;
}

int sim_ktable_negotiate(const char *accept, const char *include_object,
                         struct sim_ktable_req *out, struct core_err *err)
{
    const char *p, *end;

    memset(out, 0, sizeof *out);
    core_strlcpy(out->api_version, "meta.k8s.io/v1", sizeof out->api_version);
    if (!include_object || !*include_object || strcmp(include_object, "Metadata") == 0) {
        out->include = SIM_KTABLE_INC_METADATA;
    } else if (strcmp(include_object, "Object") == 0) {
        out->include = SIM_KTABLE_INC_OBJECT;
    } else if (strcmp(include_object, "None") == 0) {
        out->include = SIM_KTABLE_INC_NONE;
    } else {
        int rc = core_err_set(err, CORE_E_INVAL, "includeObject: Unsupported value: \"%.40s\": "
                              "supported values: \"None\", \"Metadata\", \"Object\"",
                              include_object);
        if (err) {
            err->http_status = 400;
            core_strlcpy(err->service_code, "BadRequest", sizeof err->service_code);
        }
        return rc;
    }
    if (!accept)
        return 0;
    end = accept + strnlen(accept, KT_ACCEPT_MAX);
    for (p = accept; p < end;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        int m = media_range(p, e, out);
        if (m >= 0) {
            out->wanted = m;
            if (!m)
                core_strlcpy(out->api_version, "meta.k8s.io/v1", sizeof out->api_version);
            return 0;
        }
        p = comma ? comma + 1 : end;
    }
    core_strlcpy(out->api_version, "meta.k8s.io/v1", sizeof out->api_version);
    return 0;
}

/* ---- the JSONPath subset ------------------------------------------------------------------- */

static int jp_bad(struct core_err *err, const char *path, const char *why)
{
    return core_err_set(err, CORE_E_INVAL, "JSONPath \"%.200s\": %s", path, why);
}

struct jp {
    const char *path; /* the whole path, for messages */
    struct core_err *err;
};

static int jp_eval(const struct jp *j, const json_t *node, const char *p, int depth,
                   const json_t **out);

/* A dotted name at p (backslash escapes the next character) into key; *endp after it. */
static int jp_name(const struct jp *j, const char *p, char *key, const char **endp)
{
    size_t n = 0;

    while (*p && *p != '.' && *p != '[') {
        if (*p == '\\') {
            if (!p[1])
                return jp_bad(j->err, j->path, "a backslash at the end");
            p++;
        }
        if (n + 1 >= KT_KEY_MAX)
            return jp_bad(j->err, j->path, "a key is too long");
        key[n++] = *p++;
    }
    key[n] = '\0';
    if (n == 0)
        return jp_bad(j->err, j->path, "an empty key");
    *endp = p;
    return 0;
}

/* A quoted string at p ('...' or "...", backslash escapes) into buf; *endp after the quote. */
static int jp_quoted(const struct jp *j, const char *p, char *buf, size_t bufsz,
                     const char **endp)
{
    char q = *p++;
    size_t n = 0;

    while (*p && *p != q) {
        if (*p == '\\' && p[1])
            p++;
        if (n + 1 >= bufsz)
            return jp_bad(j->err, j->path, "a string is too long");
        buf[n++] = *p++;
    }
    if (*p != q)
        return jp_bad(j->err, j->path, "an unterminated string");
    buf[n] = '\0';
    *endp = p + 1;
    return 0;
}

/* Tries each child of node (array items, object values) with the rest at p; first match. */
static int jp_each(const struct jp *j, const json_t *node, const char *p, int depth,
                   const json_t **out)
{
    const json_t *found = NULL;
    int rc;

    if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node) && !found; i++)
            if ((rc = jp_eval(j, json_array_get(node, i), p, depth + 1, &found)) != 0)
                return rc;
    } else if (json_is_object(node)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)node, k, v) {
            if ((rc = jp_eval(j, v, p, depth + 1, &found)) != 0)
                return rc;
            if (found)
                break;
        }
    }
    if (!found && (rc = jp_eval(j, NULL, p, depth + 1, &found)) != 0)
        return rc; /* the rest is checked even when there was nothing to try it on */
    *out = found;
    return 0;
}

enum jp_op { JP_EXISTS, JP_EQ, JP_NE };

/* Does a filter's left side (v, may be NULL) satisfy op against the literal? */
static int jp_compare(const json_t *v, enum jp_op op, const json_t *lit)
{
    int eq;

    if (op == JP_EXISTS)
        return v != NULL;
    if (!v)
        return 0;
    if (json_is_number(v) && json_is_number(lit))
        eq = json_number_value(v) == json_number_value(lit);
    else
        eq = json_equal((json_t *)v, (json_t *)lit);
    return op == JP_EQ ? eq : !eq;
}

/* A filter "?(@<rel> [op literal])]" at p (just after '['); applies it to node's items. */
static int jp_filter(const struct jp *j, const json_t *node, const char *p, int depth,
                     const json_t **out)
{
    char rel[KT_PATH_MAX], lit_text[KT_KEY_MAX];
    size_t n = 0;
    enum jp_op op = JP_EXISTS;
    json_t *lit = NULL;
    const json_t *found = NULL;
    const char *rest;
    int rc = 0, quote = 0;

    p += 2; /* "?(" */
    while (*p == ' ')
        p++;
    if (*p != '@')
        return jp_bad(j->err, j->path, "a filter must start with @");
    p++;
    /* The relative path runs to the operator or the closing parenthesis. */
    while (*p && (quote || (*p != '=' && *p != '!' && *p != ')' && *p != ' ' && *p != '<' &&
                            *p != '>'))) {
        if (*p == '\\' && p[1]) {
            if (n + 2 >= sizeof rel)
                return jp_bad(j->err, j->path, "a filter is too long");
            rel[n++] = *p++;
        } else if (*p == '\'' || *p == '"') {
            quote = quote == *p ? 0 : quote ? quote : *p;
        }
        if (n + 1 >= sizeof rel)
            return jp_bad(j->err, j->path, "a filter is too long");
        rel[n++] = *p++;
    }
    rel[n] = '\0';
    while (*p == ' ')
        p++;
    if (p[0] == '=' && p[1] == '=') {
        op = JP_EQ;
        p += 2;
    } else if (p[0] == '!' && p[1] == '=') {
        op = JP_NE;
        p += 2;
    } else if (*p != ')') {
        return jp_bad(j->err, j->path, "a filter supports only == and !=");
    }
    while (*p == ' ')
        p++;
    if (op != JP_EXISTS) {
        if (*p == '"' || *p == '\'') {
            if ((rc = jp_quoted(j, p, lit_text, sizeof lit_text, &p)) != 0)
                return rc;
            lit = json_string(lit_text);
        } else {
            size_t ln = strcspn(p, " )");
            if (ln == 0 || ln >= sizeof lit_text)
                return jp_bad(j->err, j->path, "a filter needs a value");
            memcpy(lit_text, p, ln);
            lit_text[ln] = '\0';
            p += ln;
            lit = json_loads(lit_text, JSON_DECODE_ANY, NULL);
            if (lit && !json_is_number(lit) && !json_is_boolean(lit) && !json_is_null(lit)) {
                json_decref(lit);
                lit = NULL;
            }
            if (!lit)
                return jp_bad(j->err, j->path, "a filter value must be a string, a number, "
                                               "true, false or null");
        }
        if (!lit)
            return core_err_set(j->err, CORE_E_NOMEM, "out of memory");
        while (*p == ' ')
            p++;
    }
    if (p[0] != ')' || p[1] != ']') {
        json_decref(lit);
        return jp_bad(j->err, j->path, "a filter must end with )]");
    }
    rest = p + 2;
    /* The relative path is checked (and the rest) even when there are no items. */
    {
        const json_t *v = NULL;
        if ((rc = jp_eval(j, NULL, rel, depth + 1, &v)) != 0 ||
            (rc = jp_eval(j, NULL, rest, depth + 1, &v)) != 0)
            goto out;
    }
    for (size_t i = 0; json_is_array(node) && i < json_array_size(node) && !found; i++) {
        const json_t *item = json_array_get(node, i), *v = NULL;
        if ((rc = jp_eval(j, item, rel, depth + 1, &v)) != 0)
            goto out;
        if (jp_compare(v, op, lit) && (rc = jp_eval(j, item, rest, depth + 1, &found)) != 0)
            goto out;
    }
    *out = found;
out:
    json_decref(lit);
    return rc;
}

/* node NULL: nothing matched so far, the rest of the path is only checked. */
static int jp_eval(const struct jp *j, const json_t *node, const char *p, int depth,
                   const json_t **out)
{
    char key[KT_KEY_MAX];
    const char *next = NULL;
    int rc;

    if (depth > KT_DEPTH_MAX)
        return jp_bad(j->err, j->path, "too many steps");
    if (!*p) {
        *out = node;
        return 0;
    }
    if (*p == '.') {
        if (p[1] == '.')
            return jp_bad(j->err, j->path, "recursive descent (..) is not supported");
        if (p[1] == '*')
            return jp_each(j, node, p + 2, depth, out);
        if ((rc = jp_name(j, p + 1, key, &next)) != 0)
            return rc;
        return jp_eval(j, json_is_object(node) ? json_object_get(node, key) : NULL, next,
                       depth + 1, out);
    }
    if (*p != '[')
        return jp_bad(j->err, j->path, "expected . or [");
    if (p[1] == '?' && p[2] == '(')
        return jp_filter(j, node, p + 1, depth, out);
    if (p[1] == '*' && p[2] == ']')
        return jp_each(j, node, p + 3, depth, out);
    if (p[1] == '\'' || p[1] == '"') {
        if ((rc = jp_quoted(j, p + 1, key, sizeof key, &next)) != 0)
            return rc;
        if (*next != ']')
            return jp_bad(j->err, j->path, "expected ] after a quoted key");
        return jp_eval(j, json_is_object(node) ? json_object_get(node, key) : NULL, next + 1,
                       depth + 1, out);
    }
    {
        size_t n = strcspn(p + 1, "]");
        int64_t idx;
        const json_t *child = NULL;
        if (p[1 + n] != ']' || n == 0 || n >= 24)
            return jp_bad(j->err, j->path, "expected an index, *, a quoted key or a filter "
                                           "in []");
        memcpy(key, p + 1, n);
        key[n] = '\0';
        if (core_parse_i64(key, INT32_MIN, INT32_MAX, &idx) != 0)
            return jp_bad(j->err, j->path, "an index must be an integer (slices are not "
                                           "supported)");
        if (json_is_array(node)) {
            int64_t size = (int64_t)json_array_size(node);
            if (idx < 0)
                idx += size;
            if (idx >= 0 && idx < size)
                child = json_array_get(node, (size_t)idx);
        }
        return jp_eval(j, child, p + 2 + n, depth + 1, out);
    }
}

int sim_ktable_jsonpath(const json_t *obj, const char *path, const json_t **out,
                        struct core_err *err)
{
    char buf[KT_PATH_MAX + 2];
    struct jp j = {path ? path : "", err};
    const char *b, *e;
    const json_t *found = NULL;
    size_t n;
    int rc;

    if (!path || strnlen(path, KT_PATH_MAX + 1) > KT_PATH_MAX)
        return jp_bad(err, path ? "(too long)" : "", "missing or too long");
    b = path;
    e = path + strlen(path);
    trim(&b, &e);
    if (e - b >= 2 && *b == '{' && e[-1] == '}') {
        b++;
        e--;
        trim(&b, &e);
    }
    if (b < e && *b == '$')
        b++;
    n = (size_t)(e - b);
    if (n == 0)
        return jp_bad(err, path, "an empty path");
    /* A bare first key ("metadata.name") reads as ".metadata.name", as kubectl takes it. */
    if (*b != '.' && *b != '[') {
        buf[0] = '.';
        memcpy(buf + 1, b, n);
        buf[n + 1] = '\0';
    } else {
        memcpy(buf, b, n);
        buf[n] = '\0';
    }
    rc = jp_eval(&j, obj, buf, 0, &found);
    if (rc == 0)
        *out = found;
    return rc;
}

/* ---- ages ---------------------------------------------------------------------------------- */

void sim_ktable_age(core_ns d, char *out, size_t outsz)
{
    int64_t s = d / CORE_NS_PER_S, m = s / 60, h = s / 3600, days = h / 24;

    /* The API server's rules: finer units while they matter, coarser as time goes on; a
     * timestamp up to a second in the future is clock skew ("0s"), more is <invalid>. */
    if (d < -CORE_NS_PER_S)
        snprintf(out, outsz, "<invalid>");
    else if (s < 0)
        snprintf(out, outsz, "0s");
    else if (s < 120)
        snprintf(out, outsz, "%llds", (long long)s);
    else if (m < 10)
        snprintf(out, outsz, s % 60 ? "%lldm%llds" : "%lldm", (long long)m,
                 (long long)(s % 60));
    else if (m < 180)
        snprintf(out, outsz, "%lldm", (long long)m);
    else if (h < 8)
        snprintf(out, outsz, m % 60 ? "%lldh%lldm" : "%lldh", (long long)h, (long long)(m % 60));
    else if (h < 48)
        snprintf(out, outsz, "%lldh", (long long)h);
    else if (h < 24 * 8)
        snprintf(out, outsz, h % 24 ? "%lldd%lldh" : "%lldd", (long long)days,
                 (long long)(h % 24));
    else if (days < 365 * 2)
        snprintf(out, outsz, "%lldd", (long long)days);
    else if (days < 365 * 8)
        snprintf(out, outsz, days % 365 ? "%lldy%lldd" : "%lldy", (long long)(days / 365),
                 (long long)(days % 365));
    else
        snprintf(out, outsz, "%lldy", (long long)(days / 365));
}

/* The age of an RFC 3339 timestamp as a JSON string, or null when it is not one. */
static json_t *age_cell(const json_t *ts, core_ns now)
{
    core_ns t;
    char buf[32];

    if (!json_is_string(ts) || core_time_parse_rfc3339(json_string_value(ts), &t) != 0)
        return json_null();
    sim_ktable_age(now - t, buf, sizeof buf);
    return json_string(buf);
}

/* ---- columns ------------------------------------------------------------------------------- */

static const json_t *meta(const json_t *obj)
{
    return json_object_get(obj, "metadata");
}

static const char *str_at(const json_t *o, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(o, a), b));
}

/* A string cell, "<none>" (as the server's printers write it) when s is NULL or empty. */
static json_t *str_or_none(const char *s)
{
    return json_string(s && *s ? s : "<none>");
}

static json_t *coldef(const char *name, const char *type, const char *format,
                      const char *description, json_int_t priority)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I}", "name", name, "type", type, "format",
                     format ? format : "", "description", description ? description : "",
                     "priority", priority);
}

static const char NAME_DESC[] = "Name must be unique within a namespace; it identifies the "
                                "object and cannot be updated.";
static const char AGE_DESC[] = "Time since the object was created (metadata.creationTimestamp).";

/* Cells are built by one function per kind, in the order of its definitions. */
typedef int (*row_fn)(const json_t *obj, core_ns now, json_t *cells);

struct builtin {
    const char *key;
    const char *const (*defs)[4]; /* name, type, description, priority ("0"/"1") */
    size_t ndefs;
    row_fn row;
};

static int push(json_t *cells, json_t *v)
{
    return json_array_append_new(cells, v) == 0 ? 0 : CORE_E_NOMEM;
}

/* Name, then Age. */
static int row_default(const json_t *obj, core_ns now, json_t *cells)
{
    if (push(cells, str_or_none(str_at(obj, "metadata", "name"))) != 0)
        return CORE_E_NOMEM;
    return push(cells, age_cell(json_object_get(meta(obj), "creationTimestamp"), now));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* node-role.kubernetes.io/<role> labels and kubernetes.io/role, sorted, comma-separated. */
static void node_roles(const json_t *obj, char *out, size_t outsz)
{
    static const char PREFIX[] = "node-role.kubernetes.io/";
    const char *roles[KT_ROLES_MAX];
    size_t n = 0, len = 0;
    const char *k;
    json_t *v;

    out[0] = '\0';
    json_object_foreach(json_object_get(meta(obj), "labels"), k, v) {
        const char *role = NULL;
        if (strncmp(k, PREFIX, sizeof PREFIX - 1) == 0 && k[sizeof PREFIX - 1])
            role = k + sizeof PREFIX - 1;
        else if (strcmp(k, "kubernetes.io/role") == 0 && json_string_value(v) &&
                 *json_string_value(v))
            role = json_string_value(v);
        if (role && n < KT_ROLES_MAX)
            roles[n++] = role;
    }
    qsort(roles, n, sizeof roles[0], cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(roles[i], roles[i - 1]) == 0)
            continue;
        len += (size_t)snprintf(out + len, len < outsz ? outsz - len : 0, "%s%s",
                                len ? "," : "", roles[i]);
        if (len >= outsz) {
            out[outsz - 1] = '\0';
            break;
        }
    }
}

/* A node's address of a type ("InternalIP"), or NULL. */
static const char *node_address(const json_t *obj, const char *type)
{
    size_t i;
    json_t *a;

    json_array_foreach(json_object_get(json_object_get(obj, "status"), "addresses"), i, a) {
        const char *t = json_string_value(json_object_get(a, "type"));
        if (t && strcmp(t, type) == 0)
            return json_string_value(json_object_get(a, "address"));
    }
    return NULL;
}

static const char *condition_status(const json_t *obj, const char *type)
{
    size_t i;
    json_t *c;

    json_array_foreach(json_object_get(json_object_get(obj, "status"), "conditions"), i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && strcmp(t, type) == 0)
            return json_string_value(json_object_get(c, "status"));
    }
    return NULL;
}

static const char *const NODE_DEFS[][4] = {
    {"Name", "string", NAME_DESC, "0"},
    {"Status", "string", "The status of the node (Ready, NotReady, Unknown; "
                         "SchedulingDisabled when cordoned).", "0"},
    {"Roles", "string", "The roles of the node (node-role.kubernetes.io/ labels).", "0"},
    {"Age", "string", AGE_DESC, "0"},
    {"Version", "string", "Kubelet version reported by the node.", "0"},
    {"Internal-IP", "string", "The node's InternalIP address.", "1"},
    {"External-IP", "string", "The node's ExternalIP address.", "1"},
    {"OS-Image", "string", "OS image reported by the node.", "1"},
    {"Kernel-Version", "string", "Kernel version reported by the node.", "1"},
    {"Container-Runtime", "string", "Container runtime and version reported by the node.", "1"},
};

/* A nodeInfo field, or what the server's node printer shows when it is empty. */
static const char *info_or(const json_t *info, const char *field, const char *dflt)
{
    const char *v = json_string_value(json_object_get(info, field));
    return v && *v ? v : dflt;
}

static int row_node(const json_t *obj, core_ns now, json_t *cells)
{
    const json_t *info = json_object_get(json_object_get(obj, "status"), "nodeInfo");
    const char *ready = condition_status(obj, "Ready");
    char status[64], roles[256];

    snprintf(status, sizeof status, "%s%s",
             !ready ? "Unknown" : strcmp(ready, "True") == 0 ? "Ready" : "NotReady",
             json_is_true(json_object_get(json_object_get(obj, "spec"), "unschedulable"))
                 ? ",SchedulingDisabled" : "");
    node_roles(obj, roles, sizeof roles);
    if (row_default(obj, now, cells) != 0)
        return CORE_E_NOMEM;
    /* row_default wrote Name and Age: put Status and Roles between them. */
    if (json_array_insert_new(cells, 1, json_string(status)) != 0 ||
        json_array_insert_new(cells, 2, str_or_none(roles)) != 0 ||
        push(cells, json_string(info_or(info, "kubeletVersion", ""))) ||
        push(cells, str_or_none(node_address(obj, "InternalIP"))) ||
        push(cells, str_or_none(node_address(obj, "ExternalIP"))) ||
        push(cells, json_string(info_or(info, "osImage", "<unknown>"))) ||
        push(cells, json_string(info_or(info, "kernelVersion", "<unknown>"))) ||
        push(cells, json_string(info_or(info, "containerRuntimeVersion", "<unknown>"))))
        return CORE_E_NOMEM;
    return 0;
}

static const char *const POD_DEFS[][4] = {
    {"Name", "string", NAME_DESC, "0"},
    {"Ready", "string", "Ready containers of all containers.", "0"},
    {"Status", "string", "The aggregate status of the containers in this pod.", "0"},
    {"Restarts", "string", "Restarts of the containers in this pod.", "0"},
    {"Age", "string", AGE_DESC, "0"},
    {"IP", "string", "IP address allocated to the pod.", "1"},
    {"Node", "string", "Name of the node the pod is bound to.", "1"},
    {"Nominated Node", "string", "Node the scheduler nominated for preemption.", "1"},
    {"Readiness Gates", "string", "Readiness gates met of all readiness gates.", "1"},
};

/* What the server prints as a pod's status: the phase, the pod's reason, a waiting or
 * terminated container's reason, Terminating while it is being deleted. */
static void pod_status(const json_t *obj, char *out, size_t outsz)
{
    const json_t *st = json_object_get(obj, "status");
    const char *phase = json_string_value(json_object_get(st, "phase"));
    const char *reason = json_string_value(json_object_get(st, "reason"));
    size_t i;
    json_t *cs;

    snprintf(out, outsz, "%s", reason && *reason ? reason : phase && *phase ? phase : "Pending");
    json_array_foreach(json_object_get(st, "containerStatuses"), i, cs) {
        const json_t *state = json_object_get(cs, "state");
        const json_t *w = json_object_get(state, "waiting"), *t = json_object_get(state,
                                                                                  "terminated");
        const char *r;
        if (w && (r = json_string_value(json_object_get(w, "reason"))) && *r) {
            snprintf(out, outsz, "%s", r);
        } else if (t) {
            r = json_string_value(json_object_get(t, "reason"));
            if (r && *r)
                snprintf(out, outsz, "%s", r);
            else
                snprintf(out, outsz, "ExitCode:%lld",
                         (long long)json_integer_value(json_object_get(t, "exitCode")));
        }
    }
    if (json_string_value(json_object_get(meta(obj), "deletionTimestamp")))
        snprintf(out, outsz, "%s", reason && strcmp(reason, "NodeLost") == 0 ? "Unknown"
                                                                             : "Terminating");
}

static int row_pod(const json_t *obj, core_ns now, json_t *cells)
{
    const json_t *st = json_object_get(obj, "status"), *spec = json_object_get(obj, "spec");
    size_t total = json_array_size(json_object_get(spec, "containers")), ready = 0, i;
    size_t gates = json_array_size(json_object_get(spec, "readinessGates")), gates_met = 0;
    json_int_t restarts = 0;
    char rd[48], status[128], rs[32], gt[48];
    json_t *cs, *g;

    json_array_foreach(json_object_get(st, "containerStatuses"), i, cs) {
        if (json_is_true(json_object_get(cs, "ready")))
            ready++;
        restarts += json_integer_value(json_object_get(cs, "restartCount"));
    }
    json_array_foreach(json_object_get(spec, "readinessGates"), i, g) {
        const char *c = json_string_value(json_object_get(g, "conditionType"));
        const char *s = c ? condition_status(obj, c) : NULL;
        if (s && strcmp(s, "True") == 0)
            gates_met++;
    }
    snprintf(rd, sizeof rd, "%zu/%zu", ready, total);
    snprintf(rs, sizeof rs, "%lld", (long long)restarts);
    snprintf(gt, sizeof gt, "%zu/%zu", gates_met, gates);
    pod_status(obj, status, sizeof status);
    if (row_default(obj, now, cells) != 0 ||
        json_array_insert_new(cells, 1, json_string(rd)) != 0 ||
        json_array_insert_new(cells, 2, json_string(status)) != 0 ||
        json_array_insert_new(cells, 3, json_string(rs)) != 0 ||
        push(cells, str_or_none(json_string_value(json_object_get(st, "podIP")))) ||
        push(cells, str_or_none(json_string_value(json_object_get(spec, "nodeName")))) ||
        push(cells, str_or_none(json_string_value(json_object_get(st, "nominatedNodeName")))) ||
        push(cells, str_or_none(gates ? gt : NULL)))
        return CORE_E_NOMEM;
    return 0;
}

static const char *const NS_DEFS[][4] = {
    {"Name", "string", NAME_DESC, "0"},
    {"Status", "string", "The phase of the namespace (Active, Terminating).", "0"},
    {"Age", "string", AGE_DESC, "0"},
};

static int row_namespace(const json_t *obj, core_ns now, json_t *cells)
{
    const char *phase = str_at(obj, "status", "phase");
    if (row_default(obj, now, cells) != 0 ||
        json_array_insert_new(cells, 1, json_string(phase && *phase ? phase : "Active")) != 0)
        return CORE_E_NOMEM;
    return 0;
}

static const char *const DEFAULT_DEFS[][4] = {
    {"Name", "string", NAME_DESC, "0"},
    {"Age", "string", AGE_DESC, "0"},
};

static const struct builtin BUILTINS[] = {
    {"nodes", NODE_DEFS, sizeof NODE_DEFS / sizeof NODE_DEFS[0], row_node},
    {"pods", POD_DEFS, sizeof POD_DEFS / sizeof POD_DEFS[0], row_pod},
    {"namespaces", NS_DEFS, sizeof NS_DEFS / sizeof NS_DEFS[0], row_namespace},
};
static const struct builtin DEFAULT_BUILTIN = {
    "", DEFAULT_DEFS, sizeof DEFAULT_DEFS / sizeof DEFAULT_DEFS[0], row_default};

static const struct builtin *builtin_of(const struct sim_kres *r)
{
    if (!r->is_crd)
        for (size_t i = 0; i < sizeof BUILTINS / sizeof BUILTINS[0]; i++)
            if (strcmp(r->key, BUILTINS[i].key) == 0)
                return &BUILTINS[i];
    return &DEFAULT_BUILTIN;
}

/* A CRD printer column's cell for value v (NULL = nothing matched), the server's way. */
static json_t *crd_cell(const char *type, const json_t *v, core_ns now)
{
    if (!v || json_is_null(v))
        return json_null();
    if (strcmp(type, "integer") == 0) {
        if (json_is_integer(v))
            return json_integer(json_integer_value(v));
        if (json_is_real(v) && json_real_value(v) == (double)(json_int_t)json_real_value(v))
            return json_integer((json_int_t)json_real_value(v));
        return json_null();
    }
    if (strcmp(type, "number") == 0)
        return json_is_number(v) ? json_deep_copy(v) : json_null();
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(v) ? json_deep_copy(v) : json_null();
    if (strcmp(type, "date") == 0)
        return age_cell(v, now);
    /* string (and any type we do not know): the value's text */
    if (json_is_string(v))
        return json_string(json_string_value(v));
    if (json_is_integer(v)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        return json_string(buf);
    }
    if (json_is_boolean(v))
        return json_string(json_is_true(v) ? "true" : "false");
    {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        json_t *s = text ? json_string(text) : NULL;
        free(text); /* jansson's allocator */
        return s;
    }
}

static int crd_defs(const struct sim_kres *r, json_t *defs)
{
    size_t i;
    json_t *c;

    if (push(defs, coldef("Name", "string", "name", NAME_DESC, 0)) != 0)
        return CORE_E_NOMEM;
    json_array_foreach(r->printer_columns, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *type = json_string_value(json_object_get(c, "type"));
        if (push(defs, coldef(name ? name : "", type ? type : "string",
                              json_string_value(json_object_get(c, "format")),
                              json_string_value(json_object_get(c, "description")),
                              json_integer_value(json_object_get(c, "priority")))) != 0)
            return CORE_E_NOMEM;
    }
    return 0;
}

static int crd_row(const struct sim_kres *r, const json_t *obj, core_ns now, json_t *cells)
{
    size_t i;
    json_t *c;

    if (push(cells, str_or_none(str_at(obj, "metadata", "name"))) != 0)
        return CORE_E_NOMEM;
    json_array_foreach(r->printer_columns, i, c) {
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *path = json_string_value(json_object_get(c, "jsonPath"));
        const json_t *v = NULL;
        /* A column the path subset cannot evaluate shows <none>, as a missing value would:
         * one odd column must not hide the rest of the table. */
        if (path && sim_ktable_jsonpath(obj, path, &v, NULL) != 0)
            v = NULL;
        if (push(cells, crd_cell(type ? type : "string", v, now)) != 0)
            return CORE_E_NOMEM;
    }
    return 0;
}

/* ---- tables -------------------------------------------------------------------------------- */

/* What a row carries as "object". */
static json_t *row_object(const json_t *obj, const struct sim_ktable_req *tr)
{
    switch (tr->include) {
    case SIM_KTABLE_INC_OBJECT:
        return json_incref((json_t *)obj);
    case SIM_KTABLE_INC_NONE:
        return json_null();
    case SIM_KTABLE_INC_METADATA:
    default:
        return json_pack("{s:s, s:s, s:o}", "kind", "PartialObjectMetadata", "apiVersion",
                         tr->api_version, "metadata",
                         meta(obj) ? json_incref((json_t *)meta(obj)) : json_object());
    }
}

int sim_ktable_build(const struct sim_kres *r, const json_t *items,
                     const struct sim_ktable_req *tr, const char *rv, const char *cont,
                     core_ns now_wall, json_t **out, struct core_err *err)
{
    const struct builtin *b = r->is_crd && r->printer_columns ? NULL : builtin_of(r);
    json_t *defs = json_array(), *rows = json_array(), *md = json_object(), *doc = NULL;
    size_t i;
    json_t *obj;
    int rc = 0;

    if (!defs || !rows || !md) {
        rc = CORE_E_NOMEM;
        goto out;
    }
    if (b) {
        for (size_t d = 0; d < b->ndefs && !rc; d++)
            rc = push(defs, coldef(b->defs[d][0], b->defs[d][1], d == 0 ? "name" : "",
                                   b->defs[d][2], b->defs[d][3][0] == '1' ? 1 : 0));
    } else {
        rc = crd_defs(r, defs);
    }
    json_array_foreach(items, i, obj) {
        json_t *cells, *row, *ro;
        if (rc)
            break;
        cells = json_array();
        if (!cells) {
            rc = CORE_E_NOMEM;
            break;
        }
        rc = b ? b->row(obj, now_wall, cells) : crd_row(r, obj, now_wall, cells);
        ro = rc ? NULL : row_object(obj, tr);
        row = ro ? json_pack("{s:o, s:o}", "cells", cells, "object", ro) : NULL;
        if (!ro)
            json_decref(cells);
        if (!row || json_array_append_new(rows, row) != 0)
            rc = CORE_E_NOMEM;
    }
    if (!rc && rv && json_object_set_new(md, "resourceVersion", json_string(rv)) != 0)
        rc = CORE_E_NOMEM;
    if (!rc && cont && *cont && json_object_set_new(md, "continue", json_string(cont)) != 0)
        rc = CORE_E_NOMEM;
    if (!rc && !(doc = json_pack("{s:s, s:s, s:O, s:O, s:O}", "kind", "Table", "apiVersion",
                                 tr->api_version, "metadata", md, "columnDefinitions", defs,
                                 "rows", rows)))
        rc = CORE_E_NOMEM;
out:
    json_decref(defs);
    json_decref(rows);
    json_decref(md);
    if (rc)
        return core_err_set(err, rc, "table: out of memory");
    *out = doc;
    return 0;
}

int sim_ktable_event(const struct sim_kres *r, const json_t *obj, const struct sim_ktable_req *tr,
                     core_ns now_wall, json_t **out, struct core_err *err)
{
    json_t *items = json_pack("[O]", (json_t *)obj);
    int rc;

    if (!items)
        return core_err_set(err, CORE_E_NOMEM, "table: out of memory");
    rc = sim_ktable_build(r, items, tr, str_at(obj, "metadata", "resourceVersion"), NULL,
                          now_wall, out, err);
    json_decref(items);
    return rc;
}
