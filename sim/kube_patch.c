/*
 * sim/kube_patch.c — the patch formats of the emulated Kubernetes API: JSON merge patch
 * (RFC 7386), JSON patch (RFC 6902 with RFC 6901 pointers), strategic merge patch for the
 * built-in kinds, and the parsing of a server-side apply body.
 *
 * Server-side apply is simplified: the applied configuration is merged over the live object as
 * a strategic merge patch (and creates the object when it is absent). managedFields are not
 * tracked, so a field an earlier apply set and a later apply omits is kept rather than removed,
 * and conflicts between field managers are never raised (force is accepted and ignored).
 *
 * Strategic merge patch follows the field names, not a full schema: lists called containers,
 * initContainers, ephemeralContainers, volumes, env, imagePullSecrets (by name), volumeMounts
 * (mountPath), volumeDevices (devicePath), ports (containerPort, or port for service ports),
 * conditions and addresses (type), tolerations and taints (key + effect), ownerReferences (uid),
 * hostAliases (ip), topologySpreadConstraints (topologyKey + whenUnsatisfiable) merge by key;
 * finalizers merge as a set; every other list is replaced. Directives: "$patch" (replace /
 * delete / merge) in maps and list elements, "$retainKeys", "$deleteFromPrimitiveList/<f>",
 * "$setElementOrder/<f>" (accepted, order not enforced).
 *
 * Invariants: the target is never modified (every function works on a deep copy); recursion
 * is bounded by PATCH_DEPTH (deeper input is refused, never a stack overflow); a malformed
 * patch is CORE_E_INVAL with http_status 400 / BadRequest, a well-formed patch that cannot be
 * applied (a missing path, a failed "test") is CORE_E_INVAL with 422 / Invalid, as the API
 * server answers.
 */
#include "sim/kube_internal.h"

#include "k8s/k8s.h"

#include <stdio.h>
#include <string.h>

#define PATCH_DEPTH 128u
#define PTR_MAX 4096u

static int bad_request(struct core_err *err, const char *fmt, ...) CORE_PRINTF(2, 3);
static int unprocessable(struct core_err *err, const char *fmt, ...) CORE_PRINTF(2, 3);

static int bad_request(struct core_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)core_err_setv(err, CORE_E_INVAL, fmt, ap);
    va_end(ap);
    core_err_set_service(err, 400, "BadRequest", NULL);
    return CORE_E_INVAL;
}

static int unprocessable(struct core_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)core_err_setv(err, CORE_E_INVAL, fmt, ap);
    va_end(ap);
    core_err_set_service(err, 422, "Invalid", NULL);
    return CORE_E_INVAL;
}

static int nomem(struct core_err *err)
{
    return core_err_set(err, CORE_E_NOMEM, "out of memory applying a patch");
}

static int too_deep(struct core_err *err)
{
    return bad_request(err, "patch nested deeper than %u levels", PATCH_DEPTH);
}

/* Value depth of a JSON document, stopping early past the limit. */
static unsigned json_depth(const json_t *v, unsigned limit)
{
    unsigned best = 0, d;
    size_t i;
    const char *k;
    json_t *c;

    if (limit == 0)
        return 1;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, c) {
            d = json_depth(c, limit - 1);
            if (d > best)
                best = d;
            if (best >= limit)
                break;
        }
        return best + 1;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, c) {
            d = json_depth(c, limit - 1);
            if (d > best)
                best = d;
            if (best >= limit)
                break;
        }
        return best + 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* RFC 7386                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Merges patch (an object) into obj (an object owned by the caller, changed in place). */
static int merge_inplace(json_t *obj, const json_t *patch, unsigned depth, struct core_err *err)
{
    const char *k;
    json_t *v;

    if (depth > PATCH_DEPTH)
        return too_deep(err);
    json_object_foreach((json_t *)patch, k, v) {
        if (json_is_null(v)) {
            (void)json_object_del(obj, k);
        } else if (json_is_object(v)) {
            json_t *child = json_object_get(obj, k);
            int rc;
            if (!json_is_object(child)) {
                child = json_object();
                if (!child || json_object_set_new(obj, k, child) != 0)
                    return nomem(err);
            }
            if ((rc = merge_inplace(child, v, depth + 1, err)) != 0)
                return rc;
        } else {
            json_t *c = json_deep_copy(v);
            if (!c || json_object_set_new(obj, k, c) != 0)
                return nomem(err);
        }
    }
    return 0;
}

int sim_kube_merge_patch(const json_t *target, const json_t *patch, json_t **out,
                         struct core_err *err)
{
    json_t *res;
    int rc;

    if (!patch)
        return bad_request(err, "empty merge patch");
    if (json_depth(patch, PATCH_DEPTH + 1) > PATCH_DEPTH)
        return too_deep(err);
    if (!json_is_object(patch)) {
        res = json_deep_copy(patch);
        if (!res)
            return nomem(err);
        *out = res;
        return 0;
    }
    res = json_is_object(target) ? json_deep_copy(target) : json_object();
    if (!res)
        return nomem(err);
    if ((rc = merge_inplace(res, patch, 1, err)) != 0) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* RFC 6902 / RFC 6901                                                                          */
/* ------------------------------------------------------------------------------------------ */

/* Numbers compare by value (RFC 6902 section 4.6), everything else structurally. */
static int json_same(const json_t *a, const json_t *b, unsigned depth)
{
    const char *k;
    json_t *v;
    size_t i;

    if (depth > PATCH_DEPTH)
        return 0;
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        json_object_foreach((json_t *)a, k, v) {
            json_t *o = json_object_get(b, k);
            if (!o || !json_same(v, o, depth + 1))
                return 0;
        }
        return 1;
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        json_array_foreach(a, i, v) {
            if (!json_same(v, json_array_get(b, i), depth + 1))
                return 0;
        }
        return 1;
    }
    return json_equal(a, b);
}

/* Copies the next reference token of ptr (after its '/') unescaped into tok; advances *pp.
 * Returns 0, or -1 for a bad escape. */
static int ptr_token(const char **pp, char *tok, size_t toksz)
{
    const char *p = *pp + 1; /* skip '/' */
    size_t n = 0;

    while (*p && *p != '/') {
        char c = *p;
        if (c == '~') {
            if (p[1] == '0')
                c = '~';
            else if (p[1] == '1')
                c = '/';
            else
                return -1;
            p++;
        }
        if (n + 1 >= toksz)
            return -1;
        tok[n++] = c;
        p++;
    }
    tok[n] = '\0';
    *pp = p;
    return 0;
}

/* An array index token: digits without leading zeros. -1 when not one. */
static long long ptr_index(const char *tok)
{
    long long v = 0;
    if (!tok[0] || (tok[0] == '0' && tok[1]))
        return -1;
    for (const char *p = tok; *p; p++) {
        if (*p < '0' || *p > '9' || v > 100000000LL)
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

/* Resolves ptr's parent container in root: *parent (borrowed) and the last token. ptr "" has
 * no parent (*parent = NULL). */
static int ptr_parent(json_t *root, const char *ptr, json_t **parent, char *last, size_t lastsz,
                      const char *what, struct core_err *err)
{
    char tok[PTR_MAX];
    const char *p = ptr;
    json_t *cur = root;

    if (strlen(ptr) >= PTR_MAX)
        return bad_request(err, "%s \"%.60s...\": pointer longer than %u bytes", what, ptr,
                           PTR_MAX);
    if (ptr[0] == '\0') {
        *parent = NULL;
        last[0] = '\0';
        return 0;
    }
    if (ptr[0] != '/')
        return bad_request(err, "%s \"%.200s\": a JSON pointer must start with '/'", what, ptr);
    for (;;) {
        if (ptr_token(&p, tok, sizeof tok) != 0)
            return bad_request(err, "%s \"%.200s\": bad '~' escape (only ~0 and ~1)", what, ptr);
        if (*p == '\0') {
            core_strlcpy(last, tok, lastsz);
            *parent = cur;
            return 0;
        }
        if (json_is_object(cur)) {
            cur = json_object_get(cur, tok);
        } else if (json_is_array(cur)) {
            long long i = ptr_index(tok);
            cur = (i < 0 || (size_t)i >= json_array_size(cur)) ? NULL
                                                                : json_array_get(cur, (size_t)i);
        } else {
            cur = NULL;
        }
        if (!cur)
            return unprocessable(err, "%s \"%.200s\": path not found", what, ptr);
    }
}

/* The value at ptr (borrowed) or an error. */
static int ptr_get(json_t *root, const char *ptr, json_t **out, const char *what,
                   struct core_err *err)
{
    char last[PTR_MAX];
    json_t *parent, *v = NULL;
    int rc = ptr_parent(root, ptr, &parent, last, sizeof last, what, err);

    if (rc)
        return rc;
    if (!parent)
        v = root;
    else if (json_is_object(parent))
        v = json_object_get(parent, last);
    else if (json_is_array(parent)) {
        long long i = ptr_index(last);
        if (i >= 0 && (size_t)i < json_array_size(parent))
            v = json_array_get(parent, (size_t)i);
    }
    if (!v)
        return unprocessable(err, "%s \"%.200s\": path not found", what, ptr);
    *out = v;
    return 0;
}

/* Adds value (reference stolen) at ptr. replace: the target must exist and is replaced. */
static int ptr_put(json_t **root, const char *ptr, json_t *value, int replace, const char *what,
                   struct core_err *err)
{
    char last[PTR_MAX];
    json_t *parent;
    int rc = ptr_parent(*root, ptr, &parent, last, sizeof last, what, err);

    if (rc)
        goto fail;
    if (!parent) {
        json_decref(*root);
        *root = value;
        return 0;
    }
    if (json_is_object(parent)) {
        if (replace && !json_object_get(parent, last)) {
            rc = unprocessable(err, "%s \"%.200s\": path not found", what, ptr);
            goto fail;
        }
        if (json_object_set_new(parent, last, value) != 0)
            return nomem(err);
        return 0;
    }
    if (json_is_array(parent)) {
        size_t n = json_array_size(parent);
        long long i = strcmp(last, "-") == 0 && !replace ? (long long)n : ptr_index(last);
        if (i < 0 || (size_t)i > n || (replace && (size_t)i == n)) {
            rc = unprocessable(err, "%s \"%.200s\": array index out of range or invalid", what,
                               ptr);
            goto fail;
        }
        if (replace)
            rc = json_array_set_new(parent, (size_t)i, value);
        else
            rc = json_array_insert_new(parent, (size_t)i, value);
        return rc ? nomem(err) : 0;
    }
    rc = unprocessable(err, "%s \"%.200s\": parent is not an object or array", what, ptr);
fail:
    json_decref(value);
    return rc;
}

/* Removes the value at ptr; *removed gets it (new reference) when not NULL. */
static int ptr_remove(json_t *root, const char *ptr, json_t **removed, const char *what,
                      struct core_err *err)
{
    char last[PTR_MAX];
    json_t *parent, *v = NULL;
    int rc = ptr_parent(root, ptr, &parent, last, sizeof last, what, err);

    if (rc)
        return rc;
    if (!parent)
        return unprocessable(err, "%s: the whole document cannot be removed", what);
    if (json_is_object(parent)) {
        v = json_object_get(parent, last);
        if (v) {
            json_incref(v);
            (void)json_object_del(parent, last);
        }
    } else if (json_is_array(parent)) {
        long long i = ptr_index(last);
        if (i >= 0 && (size_t)i < json_array_size(parent)) {
            v = json_incref(json_array_get(parent, (size_t)i));
            (void)json_array_remove(parent, (size_t)i);
        }
    }
    if (!v)
        return unprocessable(err, "%s \"%.200s\": path not found", what, ptr);
    if (removed)
        *removed = v;
    else
        json_decref(v);
    return 0;
}

/* Nodes in v, counting no further than limit (so a huge value costs at most limit steps). */
static size_t json_nodes(const json_t *v, size_t limit)
{
    size_t n = 1, i;
    const char *k;
    json_t *c;
    if (json_is_array(v)) {
        json_array_foreach(v, i, c) {
            if (n >= limit)
                break;
            n += json_nodes(c, limit - n);
        }
    } else if (json_is_object(v)) {
        json_object_foreach((json_t *)(uintptr_t)v, k, c) {
            if (n >= limit)
                break;
            n += json_nodes(c, limit - n);
        }
    }
    return n;
}

/* copy can double a document per operation: what all copies of one patch may duplicate, in
 * JSON nodes (the API server bounds the same thing by bytes). */
#define JSON_PATCH_COPY_BUDGET 200000u
#define JSON_PATCH_OPS_MAX 10000u

static int json_patch_op(json_t **doc, const json_t *op, size_t idx, size_t *budget,
                         struct core_err *err)
{
    const char *name = json_string_value(json_object_get(op, "op"));
    const char *path = json_string_value(json_object_get(op, "path"));
    const char *from = json_string_value(json_object_get(op, "from"));
    json_t *value = json_object_get(op, "value");
    char what[64];
    json_t *v;
    int rc;

    if (!json_is_object(op))
        return bad_request(err, "json patch operation %zu is not an object", idx);
    if (!name)
        return bad_request(err, "json patch operation %zu has no \"op\"", idx);
    if (!path)
        return bad_request(err, "json patch operation %zu (%.20s) has no \"path\"", idx, name);
    snprintf(what, sizeof what, "%.20s operation %zu path", name, idx);
    if (strcmp(name, "add") == 0 || strcmp(name, "replace") == 0) {
        if (!value)
            return bad_request(err, "json patch operation %zu (%s) has no \"value\"", idx, name);
        v = json_deep_copy(value);
        if (!v)
            return nomem(err);
        return ptr_put(doc, path, v, name[0] == 'r', what, err);
    }
    if (strcmp(name, "remove") == 0)
        return ptr_remove(*doc, path, NULL, what, err);
    if (strcmp(name, "test") == 0) {
        if (!value)
            return bad_request(err, "json patch operation %zu (test) has no \"value\"", idx);
        if ((rc = ptr_get(*doc, path, &v, what, err)) != 0)
            return rc;
        if (!json_same(v, value, 0))
            return unprocessable(err, "json patch operation %zu: test failed: the value at "
                                 "\"%.200s\" differs", idx, path);
        return 0;
    }
    if (strcmp(name, "move") == 0 || strcmp(name, "copy") == 0) {
        size_t fl;
        if (!from)
            return bad_request(err, "json patch operation %zu (%s) has no \"from\"", idx, name);
        fl = strlen(from);
        if (name[0] == 'm' && strncmp(path, from, fl) == 0 && path[fl] == '/')
            return unprocessable(err, "json patch operation %zu: cannot move \"%.100s\" into "
                                 "its own child \"%.100s\"", idx, from, path);
        if (name[0] == 'm') {
            if (strcmp(path, from) == 0)
                return ptr_get(*doc, from, &v, what, err);
            if ((rc = ptr_remove(*doc, from, &v, what, err)) != 0)
                return rc;
        } else {
            json_t *src;
            size_t cost;
            if ((rc = ptr_get(*doc, from, &src, what, err)) != 0)
                return rc;
            cost = json_nodes(src, *budget + 1);
            if (cost > *budget)
                return unprocessable(err, "json patch operation %zu: copies would exceed %u "
                                     "nodes in total", idx, JSON_PATCH_COPY_BUDGET);
            *budget -= cost;
            v = json_deep_copy(src);
            if (!v)
                return nomem(err);
        }
        return ptr_put(doc, path, v, 0, what, err);
    }
    return bad_request(err, "json patch operation %zu: unknown op \"%.40s\"", idx, name);
}

int sim_kube_json_patch(const json_t *target, const json_t *ops, json_t **out,
                        struct core_err *err)
{
    json_t *doc;
    size_t i, budget = JSON_PATCH_COPY_BUDGET;
    json_t *op;
    int rc = 0;

    if (!json_is_array(ops))
        return bad_request(err, "a json patch must be an array of operations");
    if (json_depth(ops, PATCH_DEPTH + 1) > PATCH_DEPTH)
        return too_deep(err);
    if (json_array_size(ops) > JSON_PATCH_OPS_MAX)
        return unprocessable(err, "a json patch may hold at most %u operations",
                             JSON_PATCH_OPS_MAX);
    doc = target ? json_deep_copy(target) : json_null();
    if (!doc)
        return nomem(err);
    json_array_foreach(ops, i, op) {
        if ((rc = json_patch_op(&doc, op, i, &budget, err)) != 0)
            break;
    }
    if (rc) {
        json_decref(doc);
        return rc;
    }
    *out = doc;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Strategic merge patch                                                                        */
/* ------------------------------------------------------------------------------------------ */

enum list_kind { LIST_REPLACE = 0, LIST_KEYED, LIST_SET };

struct list_rule {
    const char *field;
    enum list_kind kind;
    const char *key1, *key2; /* key2 NULL: single key, which patch elements must carry */
};

static const struct list_rule LIST_RULES[] = {
    {"containers", LIST_KEYED, "name", NULL},
    {"initContainers", LIST_KEYED, "name", NULL},
    {"ephemeralContainers", LIST_KEYED, "name", NULL},
    {"volumes", LIST_KEYED, "name", NULL},
    {"env", LIST_KEYED, "name", NULL},
    {"imagePullSecrets", LIST_KEYED, "name", NULL},
    {"volumeMounts", LIST_KEYED, "mountPath", NULL},
    {"volumeDevices", LIST_KEYED, "devicePath", NULL},
    {"ports", LIST_KEYED, "containerPort", NULL}, /* "port" for service ports: see below */
    {"conditions", LIST_KEYED, "type", NULL},
    {"addresses", LIST_KEYED, "type", NULL},
    {"tolerations", LIST_KEYED, "key", "effect"},
    {"taints", LIST_KEYED, "key", "effect"},
    {"ownerReferences", LIST_KEYED, "uid", NULL},
    {"hostAliases", LIST_KEYED, "ip", NULL},
    {"topologySpreadConstraints", LIST_KEYED, "topologyKey", "whenUnsatisfiable"},
    {"finalizers", LIST_SET, NULL, NULL},
};

static const struct list_rule *list_rule_for(const char *field)
{
    for (size_t i = 0; i < sizeof LIST_RULES / sizeof LIST_RULES[0]; i++)
        if (strcmp(LIST_RULES[i].field, field) == 0)
            return &LIST_RULES[i];
    return NULL;
}

static int is_directive(const char *k)
{
    return k[0] == '$';
}

static int strat_inplace(json_t *obj, const json_t *patch, unsigned depth, struct core_err *err);

/* A patch value as a fresh value: directives and nulls stripped from maps. */
static int strat_fresh(const json_t *pv, unsigned depth, json_t **out, struct core_err *err)
{
    json_t *v;
    int rc;

    if (depth > PATCH_DEPTH)
        return too_deep(err);
    if (json_is_object(pv)) {
        v = json_object();
        if (!v)
            return nomem(err);
        if ((rc = strat_inplace(v, pv, depth + 1, err)) != 0) {
            json_decref(v);
            return rc;
        }
    } else if (json_is_array(pv)) {
        size_t i;
        json_t *e;
        v = json_array();
        if (!v)
            return nomem(err);
        json_array_foreach(pv, i, e) {
            json_t *c;
            if (json_is_object(e) && json_object_get(e, "$patch"))
                continue;
            if ((rc = strat_fresh(e, depth + 1, &c, err)) != 0) {
                json_decref(v);
                return rc;
            }
            if (json_array_append_new(v, c) != 0) {
                json_decref(v);
                return nomem(err);
            }
        }
    } else {
        v = json_deep_copy(pv);
        if (!v)
            return nomem(err);
    }
    *out = v;
    return 0;
}

static int elem_matches(const json_t *t, const json_t *p, const char *k1, const char *k2)
{
    const json_t *a = json_object_get(t, k1), *b = json_object_get(p, k1);
    if (!json_is_object(t))
        return 0;
    if ((a || b) && !(a && b && json_same(a, b, 0)))
        return 0;
    if (k2) {
        a = json_object_get(t, k2);
        b = json_object_get(p, k2);
        if ((a || b) && !(a && b && json_same(a, b, 0)))
            return 0;
    }
    return 1;
}

static int merge_list(json_t *obj, const char *field, const json_t *plist,
                      const struct list_rule *rule, unsigned depth, struct core_err *err)
{
    json_t *tlist = json_object_get(obj, field), *e, *fresh;
    size_t i;
    int rc;

    if (depth > PATCH_DEPTH)
        return too_deep(err);
    /* A {"$patch": "replace"} element replaces the whole list with the other elements. */
    json_array_foreach(plist, i, e) {
        const char *d = json_string_value(json_object_get(e, "$patch"));
        if (d && strcmp(d, "replace") == 0) {
            if ((rc = strat_fresh(plist, depth + 1, &fresh, err)) != 0)
                return rc;
            return json_object_set_new(obj, field, fresh) ? nomem(err) : 0;
        }
    }
    if (!json_is_array(tlist)) {
        tlist = json_array();
        if (!tlist || json_object_set_new(obj, field, tlist) != 0)
            return nomem(err);
    }
    if (rule->kind == LIST_SET) {
        json_array_foreach(plist, i, e) {
            size_t j;
            json_t *t;
            int have = 0;
            if (json_is_object(e) || json_is_array(e))
                return bad_request(err, "%s: a set of primitives cannot hold maps or lists",
                                   field);
            json_array_foreach(tlist, j, t) {
                if (json_same(t, e, 0)) {
                    have = 1;
                    break;
                }
            }
            if (!have && json_array_append_new(tlist, json_deep_copy(e)) != 0)
                return nomem(err);
        }
        return 0;
    }
    json_array_foreach(plist, i, e) {
        const char *k1 = rule->key1, *d;
        size_t j;
        json_t *t;
        int found = 0;

        if (!json_is_object(e))
            return bad_request(err, "%s: expected a map in the list, found %s", field,
                               json_is_array(e) ? "a list" : "a primitive");
        if (strcmp(field, "ports") == 0 && !json_object_get(e, "containerPort") &&
            json_object_get(e, "port"))
            k1 = "port";
        if (!rule->key2 && !json_object_get(e, k1))
            return bad_request(err, "%s: map does not contain the declared merge key \"%s\"",
                               field, k1);
        d = json_string_value(json_object_get(e, "$patch"));
        if (d && strcmp(d, "delete") == 0) {
            for (j = json_array_size(tlist); j-- > 0;)
                if (elem_matches(json_array_get(tlist, j), e, k1, rule->key2))
                    (void)json_array_remove(tlist, j);
            continue;
        }
        if (d && strcmp(d, "merge") != 0)
            return bad_request(err, "%s: unknown $patch directive \"%.40s\"", field, d);
        json_array_foreach(tlist, j, t) {
            if (elem_matches(t, e, k1, rule->key2)) {
                if ((rc = strat_inplace(t, e, depth + 1, err)) != 0)
                    return rc;
                found = 1;
                break;
            }
        }
        if (!found) {
            if ((rc = strat_fresh(e, depth + 1, &fresh, err)) != 0)
                return rc;
            if (json_array_append_new(tlist, fresh) != 0)
                return nomem(err);
        }
    }
    return 0;
}

static int strat_inplace(json_t *obj, const json_t *patch, unsigned depth, struct core_err *err)
{
    const char *k, *d = json_string_value(json_object_get(patch, "$patch"));
    json_t *v, *retain = json_object_get(patch, "$retainKeys");
    int rc;

    if (depth > PATCH_DEPTH)
        return too_deep(err);
    if (d && strcmp(d, "replace") == 0) {
        json_object_clear(obj);
    } else if (d && strcmp(d, "merge") != 0) {
        return bad_request(err, "unknown or misplaced $patch directive \"%.40s\"", d);
    }
    if (retain && !json_is_array(retain))
        return bad_request(err, "$retainKeys must be a list of field names");
    json_object_foreach((json_t *)patch, k, v) {
        static const char DEL[] = "$deleteFromPrimitiveList/";
        if (strncmp(k, DEL, sizeof DEL - 1) == 0) {
            json_t *t = json_object_get(obj, k + sizeof DEL - 1), *e;
            size_t i;
            if (!json_is_array(v))
                return bad_request(err, "%s: expected a list of values", k);
            if (!json_is_array(t))
                continue;
            json_array_foreach(v, i, e) {
                for (size_t j = json_array_size(t); j-- > 0;)
                    if (json_same(json_array_get(t, j), e, 0))
                        (void)json_array_remove(t, j);
            }
        }
    }
    json_object_foreach((json_t *)patch, k, v) {
        if (is_directive(k)) {
            if (strcmp(k, "$patch") && strcmp(k, "$retainKeys") &&
                strncmp(k, "$deleteFromPrimitiveList/", 25) && strncmp(k, "$setElementOrder/", 17))
                return bad_request(err, "unknown patch directive \"%.60s\"", k);
            continue;
        }
        if (json_is_null(v)) {
            (void)json_object_del(obj, k);
        } else if (json_is_object(v)) {
            json_t *child = json_object_get(obj, k);
            const char *cd = json_string_value(json_object_get(v, "$patch"));
            if (cd && strcmp(cd, "delete") == 0) {
                (void)json_object_del(obj, k);
                continue;
            }
            if (!json_is_object(child)) {
                child = json_object();
                if (!child || json_object_set_new(obj, k, child) != 0)
                    return nomem(err);
            }
            if ((rc = strat_inplace(child, v, depth + 1, err)) != 0)
                return rc;
        } else if (json_is_array(v)) {
            const struct list_rule *rule = list_rule_for(k);
            json_t *fresh;
            if (rule && rule->kind != LIST_REPLACE) {
                if ((rc = merge_list(obj, k, v, rule, depth + 1, err)) != 0)
                    return rc;
                continue;
            }
            if ((rc = strat_fresh(v, depth + 1, &fresh, err)) != 0)
                return rc;
            if (json_object_set_new(obj, k, fresh) != 0)
                return nomem(err);
        } else {
            json_t *c = json_deep_copy(v);
            if (!c || json_object_set_new(obj, k, c) != 0)
                return nomem(err);
        }
    }
    if (retain) {
        void *tmp;
        json_object_foreach_safe(obj, tmp, k, v) {
            size_t i;
            json_t *e;
            int keep = 0;
            json_array_foreach(retain, i, e) {
                if (json_is_string(e) && strcmp(json_string_value(e), k) == 0) {
                    keep = 1;
                    break;
                }
            }
            if (!keep)
                (void)json_object_del(obj, k);
        }
    }
    return 0;
}

int sim_kube_strategic_patch(const json_t *target, const json_t *patch, const char *kind,
                             json_t **out, struct core_err *err)
{
    json_t *res;
    int rc;

    (void)kind; /* the rules go by field name; every built-in kind shares them */
    if (!json_is_object(patch))
        return bad_request(err, "a strategic merge patch must be a JSON object");
    if (json_depth(patch, PATCH_DEPTH + 1) > PATCH_DEPTH)
        return too_deep(err);
    res = json_is_object(target) ? json_deep_copy(target) : json_object();
    if (!res)
        return nomem(err);
    if ((rc = strat_inplace(res, patch, 1, err)) != 0) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Server-side apply body                                                                       */
/* ------------------------------------------------------------------------------------------ */

int sim_kube_apply_parse(const char *body, size_t len, json_t **out, struct core_err *err)
{
    json_t **docs = NULL;
    size_t n = 0;
    int rc;

    if (len == 0)
        return bad_request(err, "empty apply configuration");
    rc = k8s_yaml_parse(body, len, &docs, &n, err);
    if (rc) {
        core_err_prefix(err, "apply configuration");
        core_err_set_service(err, 400, "BadRequest", NULL);
        return CORE_E_INVAL;
    }
    if (n != 1 || !json_is_object(docs[0])) {
        k8s_yaml_docs_free(docs, n);
        return bad_request(err, "apply configuration must be exactly one object");
    }
    if (json_depth(docs[0], PATCH_DEPTH + 1) > PATCH_DEPTH) {
        k8s_yaml_docs_free(docs, n);
        return too_deep(err);
    }
    *out = json_incref(docs[0]);
    k8s_yaml_docs_free(docs, n);
    return 0;
}
