/*
 * sim/kube_api.c — the HTTP face of the emulated Kubernetes API: request targets, discovery,
 * the verbs on every served resource, metav1.Status errors and injected faults.
 *
 * What a client sees is what a real API server answers on the same paths:
 *   /version /healthz /readyz /livez, /api, /api/v1, /apis, /apis/{g}, /apis/{g}/{v};
 *   /api/v1/[namespaces/{ns}/]{plural}[/{name}[/{sub}]] and the same under /apis/{g}/{v};
 *   get, list (label and field selectors, limit and continue), watch (kube_watch.c), create,
 *   update, patch (merge, JSON, strategic, apply), delete and deletecollection, the status
 *   subresource, pods/binding and pods/eviction. /openapi/v2 and /v3 are not served (404), so
 *   kubectl needs --validate=false for apply/create. The emulator does not authenticate: any
 *   Authorization header (or none) is accepted; it is meant for loopback only (the server binds
 *   nothing else). Table requests (Accept ...;as=Table;g=meta.k8s.io, what kubectl get sends)
 *   on get, list and watch are answered with a meta.k8s.io Table (kube_table.c).
 *
 * Invariants:
 *  - The handler never fails: every problem becomes a Status answer with the code and reason
 *    a real API server uses (400 BadRequest, 404 NotFound, 405 MethodNotAllowed, 409
 *    AlreadyExists/Conflict, 410 Expired, 413 RequestEntityTooLarge, 415 UnsupportedMediaType,
 *    422 Invalid, 429 TooManyRequests with Retry-After, 500 InternalError).
 *  - Everything taken from the request is bounded: the target (SIM_KAPI_TARGET_MAX), the path
 *    segments, the query parameters, the body (3 MiB, like etcd's request limit).
 *  - Continue tokens are opaque (base64url of {"rv":N,"start":"ns/name"}); a token whose
 *    version has left the history window is 410 Expired, as after an etcd compaction.
 *  - Faults draw from k->rng in request order, so a seed reproduces a run.
 */
#include "sim/kube_internal.h"

#include "k8s/k8s.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define KA_TARGET_MAX (64u * 1024u)
#define KA_SEGS_MAX 12u
#define KA_QUERY_MAX 32u
#define KA_BODY_MAX (3u * 1024u * 1024u)
#define KA_TOKEN_MAX 2048u
#define KA_MIN_WATCH_S 300
#define KA_MAX_WATCH_S 600

struct ka_query {
    char *names[KA_QUERY_MAX];
    char *values[KA_QUERY_MAX];
    size_t n;
};

struct ka_req {
    struct sim_kube *k;
    const struct sim_http_req *req;
    struct core_http_response *resp;
    char *pathbuf;   /* decoded, split in place */
    char *querybuf;
    const char *segs[KA_SEGS_MAX];
    size_t nsegs;
    struct ka_query q;
};

/* ---- answers ------------------------------------------------------------------------------- */

static int dump_cb(const char *buf, size_t size, void *data)
{
    return core_buf_append(data, buf, size) == 0 ? 0 : -1;
}

static const char *default_reason(long status)
{
    switch (status) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 409: return "Conflict";
    case 410: return "Expired";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return "InternalError";
    }
}

static long code_status(int code)
{
    switch (code) {
    case CORE_E_NOTFOUND: return 404;
    case CORE_E_CONFLICT: return 409;
    case CORE_E_INVAL: return 422;
    case CORE_E_PARSE: return 400;
    case CORE_E_TOOBIG: return 413;
    case CORE_E_THROTTLED: return 429;
    case CORE_E_STATE: return 409;
    default: return 500;
    }
}

static void set_json_body(struct core_http_response *resp, long status, const json_t *doc)
{
    core_buf_reset(&resp->body);
    if (json_dump_callback(doc, dump_cb, &resp->body, JSON_COMPACT) != 0) {
        core_buf_reset(&resp->body);
        status = 500;
        if (core_buf_append_str(&resp->body,
                                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                                "\"status\":\"Failure\",\"message\":\"out of memory\","
                                "\"reason\":\"InternalError\",\"code\":500}") != 0)
            core_buf_reset(&resp->body);
    }
    resp->status = status;
    if (core_http_response_add_header(resp, "Content-Type", "application/json") != 0)
        resp->status = 500; /* the body stands; without memory a header is lost, not the answer */
}

/* The field-level causes of an Invalid Status, from the message every validator here writes:
 * `Kind[.group] "name" is invalid: FIELD: Reason...` or `...: [FIELD: Reason..., FIELD: ...]`,
 * each Reason one of the API's field-error words. kubectl prints "The request is invalid"
 * unless the Status carries these details. Returns a new object or NULL. */
static const char *const cause_words[][2] = {
    {"Unsupported value", "FieldValueNotSupported"}, {"Invalid value", "FieldValueInvalid"},
    {"Required value", "FieldValueRequired"},         {"Too long", "FieldValueTooLong"},
    {"Too many", "FieldValueTooMany"},                {"Forbidden", "FieldValueForbidden"},
    {"Duplicate value", "FieldValueDuplicate"},       {"Not found", "FieldValueNotFound"},
};

/* The field-error word starting at p, or NULL. */
static const char *cause_reason(const char *p)
{
    for (size_t i = 0; i < sizeof cause_words / sizeof cause_words[0]; i++)
        if (strncmp(p, cause_words[i][0], strlen(cause_words[i][0])) == 0)
            return cause_words[i][1];
    return NULL;
}

/* Where the cause starting at p ends: at ", FIELD: Word" (the next cause) or at end. */
static const char *cause_end(const char *p, const char *end)
{
    for (const char *q = p; q + 2 < end; q++) {
        const char *f, *colon;
        if (q[0] != ',' || q[1] != ' ')
            continue;
        f = q + 2;
        colon = f + strcspn(f, ": \"");
        if (colon < end && colon > f && colon[0] == ':' && colon[1] == ' ' &&
            cause_reason(colon + 2))
            return q;
    }
    return end;
}

static json_t *invalid_details(const char *msg)
{
    const char *mark = strstr(msg, " is invalid: ");
    const char *q1, *q2, *dot, *p, *end;
    json_t *d, *causes;
    char kind[128], group[160], name[256];

    if (!mark)
        return NULL;
    q1 = memchr(msg, '"', (size_t)(mark - msg));
    q2 = q1 ? memchr(q1 + 1, '"', (size_t)(mark - q1 - 1)) : NULL;
    if (!q1 || !q2 || q1 == msg)
        return NULL;
    dot = memchr(msg, '.', (size_t)(q1 - msg));
    snprintf(kind, sizeof kind, "%.*s", (int)((dot ? dot : q1 - 1) - msg), msg);
    snprintf(group, sizeof group, "%.*s", dot ? (int)(q1 - 1 - dot - 1) : 0, dot ? dot + 1 : "");
    snprintf(name, sizeof name, "%.*s", (int)(q2 - q1 - 1), q1 + 1);
    d = json_pack("{s:s, s:s, s:[]}", "name", name, "kind", kind, "causes");
    if (!d)
        return NULL;
    if (group[0])
        json_object_set_new(d, "group", json_string(group));
    causes = json_object_get(d, "causes");
    p = mark + strlen(" is invalid: ");
    end = p + strlen(p);
    if (*p == '[' && end > p && end[-1] == ']') {
        p++;
        end--;
    }
    while (p < end) {
        const char *e = cause_end(p, end), *colon = strstr(p, ": ");
        if (colon && colon < e && cause_reason(colon + 2)) {
            json_t *c = json_pack("{s:s, s:s%, s:s%}", "reason", cause_reason(colon + 2),
                                  "message", colon + 2, (size_t)(e - colon - 2), "field", p,
                                  (size_t)(colon - p));
            if (c)
                json_array_append_new(causes, c);
        }
        p = e + (e < end ? 2 : 0);
    }
    return d;
}

void sim_kube_status_error(struct core_http_response *resp, const struct core_err *err)
{
    long status = err && err->http_status >= 400 && err->http_status < 600 ? err->http_status
                  : code_status(err ? err->code : CORE_E_HTTP);
    const char *reason = err && err->service_code[0] ? err->service_code
                         : default_reason(status);
    const char *msg = err && err->message[0] ? err->message : reason;
    json_t *doc = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status",
                            "apiVersion", "v1", "metadata", "status", "Failure", "message", msg,
                            "reason", reason, "code", (int)status);

    if (!doc) {
        resp->status = 500;
        return;
    }
    if (status == 422 && strcmp(reason, "Invalid") == 0) {
        json_t *d = invalid_details(msg);
        if (d)
            json_object_set_new(doc, "details", d);
    }
    set_json_body(resp, status, doc);
    json_decref(doc);
}

static void fail(struct core_http_response *resp, long status, const char *reason,
                 const char *fmt, ...) CORE_PRINTF(4, 5);
static void fail(struct core_http_response *resp, long status, const char *reason,
                 const char *fmt, ...)
{
    struct core_err e;
    va_list ap;

    core_err_clear(&e);
    va_start(ap, fmt);
    core_err_setv(&e, CORE_E_HTTP, fmt, ap);
    va_end(ap);
    e.http_status = status;
    core_strlcpy(e.service_code, reason ? reason : default_reason(status),
                 sizeof e.service_code);
    sim_kube_status_error(resp, &e);
}

/* An error from the store: its http_status and reason, or ones derived from its code. */
static void fail_err(struct core_http_response *resp, const struct core_err *err)
{
    sim_kube_status_error(resp, err);
}

static void answer_obj(struct core_http_response *resp, long status, const json_t *obj)
{
    set_json_body(resp, status, obj);
}

static void answer_text(struct core_http_response *resp, const char *text)
{
    resp->status = 200;
    core_buf_reset(&resp->body);
    if (core_buf_append_str(&resp->body, text) != 0 ||
        core_http_response_add_header(resp, "Content-Type", "text/plain; charset=utf-8") != 0)
        resp->status = 500;
}

/* ---- parsing the target -------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s in place ('+' is a space in query values); -1 for a bad escape or a NUL. */
static int pct_decode(char *s, int plus)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '%') {
            int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            *o++ = (char)(hi * 16 + lo);
            p += 2;
        } else if (plus && *p == '+') {
            *o++ = ' ';
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return 0;
}

static int parse_target(struct ka_req *a)
{
    const char *t = a->req->target ? a->req->target : "/";
    size_t plen = strcspn(t, "?#");
    char *p;

    if (strlen(t) > KA_TARGET_MAX)
        return -1;
    a->pathbuf = core_strndup(t, plen);
    if (!a->pathbuf)
        return CORE_E_NOMEM;
    if (t[plen] == '?') {
        size_t qlen = strcspn(t + plen + 1, "#");
        a->querybuf = core_strndup(t + plen + 1, qlen);
        if (!a->querybuf)
            return CORE_E_NOMEM;
    }
    /* Segments: empty ones (a trailing slash, "//") are skipped, as the API server's mux does. */
    p = a->pathbuf;
    while (*p) {
        char *seg, *end;
        while (*p == '/')
            p++;
        if (!*p)
            break;
        seg = p;
        end = strchr(p, '/');
        if (end) {
            *end = '\0';
            p = end + 1;
        } else {
            p += strlen(p);
        }
        if (a->nsegs == KA_SEGS_MAX || pct_decode(seg, 0) != 0)
            return -1;
        a->segs[a->nsegs++] = seg;
    }
    if (a->querybuf) {
        p = a->querybuf;
        while (*p) {
            char *item = p, *amp = strchr(p, '&'), *eq;
            if (amp) {
                *amp = '\0';
                p = amp + 1;
            } else {
                p += strlen(p);
            }
            if (!*item)
                continue;
            if (a->q.n == KA_QUERY_MAX)
                return -1;
            eq = strchr(item, '=');
            if (eq)
                *eq = '\0';
            if (pct_decode(item, 1) != 0 || (eq && pct_decode(eq + 1, 1) != 0))
                return -1;
            a->q.names[a->q.n] = item;
            a->q.values[a->q.n] = eq ? eq + 1 : item + strlen(item);
            a->q.n++;
        }
    }
    return 0;
}

static const char *qget(const struct ka_req *a, const char *name)
{
    for (size_t i = 0; i < a->q.n; i++)
        if (strcmp(a->q.names[i], name) == 0)
            return a->q.values[i];
    return NULL;
}

static int qbool(const struct ka_req *a, const char *name)
{
    const char *v = qget(a, name);
    return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static const char *header(const struct sim_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (req->headers[i].name && strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

/* The media type of a Content-Type without parameters, lower case, into out. */
static void media_type(const char *ct, char *out, size_t outsz)
{
    size_t n = 0;
    if (ct)
        while (*ct == ' ')
            ct++;
    for (; ct && *ct && *ct != ';' && *ct != ' ' && n + 1 < outsz; ct++)
        out[n++] = (char)((*ct >= 'A' && *ct <= 'Z') ? *ct + 32 : *ct);
    out[n] = '\0';
}

/* ---- discovery ----------------------------------------------------------------------------- */

static void gv_of(const struct sim_kres *r, char *out, size_t outsz)
{
    if (r->group[0])
        snprintf(out, outsz, "%s/%s", r->group, r->version);
    else
        snprintf(out, outsz, "%s", r->version);
}

static void get_version(struct ka_req *a)
{
    const char *gv = a->k->git_version[0] ? a->k->git_version : "v1.31.4";
    char major[8] = "1", minor[8] = "31";
    const char *p = gv[0] == 'v' ? gv + 1 : gv;
    size_t n = strcspn(p, ".");
    json_t *doc;

    if (n > 0 && n < sizeof major) {
        memcpy(major, p, n);
        major[n] = '\0';
        if (p[n] == '.') {
            const char *m = p + n + 1;
            size_t mn = strcspn(m, ".-+");
            if (mn > 0 && mn < sizeof minor) {
                memcpy(minor, m, mn);
                minor[mn] = '\0';
            }
        }
    }
    doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major", major, "minor",
                    minor, "gitVersion", gv, "gitCommit",
                    "0000000000000000000000000000000000000000", "gitTreeState", "clean",
                    "buildDate", "2026-01-01T00:00:00Z", "goVersion", "go1.22.9", "compiler",
                    "gc", "platform", "linux/amd64");
    if (!doc) {
        fail(a->resp, 500, NULL, "out of memory");
        return;
    }
    answer_obj(a->resp, 200, doc);
    json_decref(doc);
}

static void get_api(struct ka_req *a)
{
    const char *host = header(a->req, "Host");
    json_t *doc = json_pack("{s:s, s:[s], s:[{s:s, s:s}]}", "kind", "APIVersions", "versions",
                            "v1", "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0",
                            "serverAddress", host && *host ? host : "127.0.0.1");
    if (!doc) {
        fail(a->resp, 500, NULL, "out of memory");
        return;
    }
    answer_obj(a->resp, 200, doc);
    json_decref(doc);
}

/* The APIGroup of group g (versions in registration order), or NULL when not served. */
static json_t *api_group(struct sim_kube *k, const char *g)
{
    json_t *grp = NULL, *versions = json_array();
    int err = !versions;

    for (size_t i = 0; i < k->nres && !err; i++) {
        struct sim_kres *r = k->res[i];
        char gv[200];
        size_t j;
        json_t *v;
        int seen = 0;
        if (strcmp(r->group, g) != 0)
            continue;
        json_array_foreach(versions, j, v)
            if (strcmp(json_string_value(json_object_get(v, "version")), r->version) == 0)
                seen = 1;
        if (seen)
            continue;
        gv_of(r, gv, sizeof gv);
        err = json_array_append_new(versions, json_pack("{s:s, s:s}", "groupVersion", gv,
                                                        "version", r->version)) != 0;
    }
    if (!err && json_array_size(versions) > 0)
        grp = json_pack("{s:s, s:s, s:s, s:O, s:O}", "kind", "APIGroup", "apiVersion", "v1",
                        "name", g, "versions", versions, "preferredVersion",
                        json_array_get(versions, 0));
    json_decref(versions);
    return grp;
}

static void get_apis(struct ka_req *a)
{
    struct sim_kube *k = a->k;
    json_t *groups = json_array(), *doc = NULL;
    int err = !groups;

    for (size_t i = 0; i < k->nres && !err; i++) {
        struct sim_kres *r = k->res[i];
        int seen = 0;
        json_t *g;
        if (!r->group[0])
            continue;
        for (size_t j = 0; j < i; j++)
            if (strcmp(k->res[j]->group, r->group) == 0)
                seen = 1;
        if (seen)
            continue;
        g = api_group(k, r->group);
        if (g) {
            json_object_del(g, "kind");
            json_object_del(g, "apiVersion");
        }
        err = !g || json_array_append_new(groups, g) != 0;
    }
    if (!err)
        doc = json_pack("{s:s, s:s, s:O}", "kind", "APIGroupList", "apiVersion", "v1", "groups",
                        groups);
    json_decref(groups);
    if (!doc) {
        fail(a->resp, 500, NULL, "out of memory");
        return;
    }
    answer_obj(a->resp, 200, doc);
    json_decref(doc);
}

static json_t *verbs_json(const char *const *v)
{
    json_t *arr = json_array();
    for (; arr && *v; v++)
        if (json_array_append_new(arr, json_string(*v)) != 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

static int add_resource_entry(json_t *list, const char *name, const char *singular,
                              int namespaced, const char *kind, const char *const *verbs,
                              json_t *short_names, const char *group, const char *version)
{
    json_t *e = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name, "singularName", singular,
                          "namespaced", namespaced, "kind", kind, "verbs", verbs_json(verbs));
    if (!e)
        return -1;
    if (short_names && json_array_size(short_names) > 0 &&
        json_object_set(e, "shortNames", short_names) != 0) {
        json_decref(e);
        return -1;
    }
    if (group && (json_object_set_new(e, "group", json_string(group)) != 0 ||
                  json_object_set_new(e, "version", json_string(version)) != 0)) {
        json_decref(e);
        return -1;
    }
    return json_array_append_new(list, e) == 0 ? 0 : -1;
}

static json_t *short_names_of(const struct sim_kres *r)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < 4 && r->short_names[i]; i++)
        if (json_array_append_new(arr, json_string(r->short_names[i])) != 0)
            goto nomem;
    if (r->crd_short_names) {
        const char *p = r->crd_short_names;
        while (*p) {
            size_t n = strcspn(p, ",");
            if (n > 0 && json_array_append_new(arr, json_stringn(p, n)) != 0)
                goto nomem;
            p += n;
            if (*p == ',')
                p++;
        }
    }
    return arr;
nomem:
    json_decref(arr);
    return NULL;
}

static void get_resource_list(struct ka_req *a, const char *group, const char *version)
{
    static const char *const all_verbs[] = {"create", "delete", "deletecollection", "get",
                                            "list", "patch", "update", "watch", NULL};
    static const char *const ns_verbs[] = {"create", "delete", "get", "list", "patch",
                                           "update", "watch", NULL};
    static const char *const status_verbs[] = {"get", "patch", "update", NULL};
    static const char *const create_only[] = {"create", NULL};
    struct sim_kube *k = a->k;
    json_t *list = json_array(), *doc = NULL;
    char gv[200];
    int err = !list, any = 0;

    if (group[0])
        snprintf(gv, sizeof gv, "%s/%s", group, version);
    else
        snprintf(gv, sizeof gv, "%s", version);
    for (size_t i = 0; i < k->nres && !err; i++) {
        struct sim_kres *r = k->res[i];
        json_t *sn;
        char sub[96];
        if (strcmp(r->group, group) != 0 || strcmp(r->version, version) != 0)
            continue;
        any = 1;
        sn = short_names_of(r);
        err = !sn || add_resource_entry(list, r->plural, r->singular, r->namespaced, r->kind,
                                        strcmp(r->key, "namespaces") == 0 ? ns_verbs
                                                                          : all_verbs,
                                        sn, NULL, NULL) != 0;
        json_decref(sn);
        if (!err && r->has_status) {
            snprintf(sub, sizeof sub, "%s/status", r->plural);
            err = add_resource_entry(list, sub, "", r->namespaced, r->kind, status_verbs, NULL,
                                     NULL, NULL) != 0;
        }
        if (!err && strcmp(r->key, "pods") == 0) {
            err = add_resource_entry(list, "pods/binding", "", 1, "Binding", create_only, NULL,
                                     NULL, NULL) != 0 ||
                  add_resource_entry(list, "pods/eviction", "", 1, "Eviction", create_only,
                                     NULL, "policy", "v1") != 0;
        }
    }
    if (!any && !err) {
        json_decref(list);
        fail(a->resp, 404, "NotFound", "the server could not find the requested resource");
        return;
    }
    if (!err)
        doc = json_pack("{s:s, s:s, s:s, s:O}", "kind", "APIResourceList", "apiVersion", "v1",
                        "groupVersion", gv, "resources", list);
    json_decref(list);
    if (!doc) {
        fail(a->resp, 500, NULL, "out of memory");
        return;
    }
    answer_obj(a->resp, 200, doc);
    json_decref(doc);
}

/* ---- continue tokens ----------------------------------------------------------------------- */

static char *token_encode(uint64_t rv, const char *start)
{
    json_t *t = json_pack("{s:s, s:I, s:s}", "v", "meta.k8s.io/v1", "rv", (json_int_t)rv,
                          "start", start);
    char *text = t ? json_dumps(t, JSON_COMPACT) : NULL;
    char *out = NULL;
    size_t n;

    json_decref(t);
    if (!text)
        return NULL;
    n = strlen(text);
    out = core_malloc(4 * ((n + 2) / 3) + 1);
    if (out) {
        int len = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)text, (int)n);
        /* base64url without padding, as the API server writes it */
        while (len > 0 && out[len - 1] == '=')
            len--;
        out[len] = '\0';
        for (int i = 0; i < len; i++)
            out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    free(text);
    return out;
}

/* 0 and *start (heap) / *rv, or -1 for a token that is not one of ours. */
static int token_decode(const char *tok, uint64_t *rv, char **start)
{
    char b64[KA_TOKEN_MAX + 4];
    unsigned char raw[KA_TOKEN_MAX];
    size_t n = strlen(tok), i;
    int len;
    json_t *t;
    json_int_t v;
    const char *s;

    if (n == 0 || n > KA_TOKEN_MAX)
        return -1;
    for (i = 0; i < n; i++) {
        char c = tok[i];
        b64[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    while (i % 4)
        b64[i++] = '=';
    b64[i] = '\0';
    len = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)i);
    if (len < 0)
        return -1;
    while (len > 0 && raw[len - 1] == '\0')
        len--; /* EVP_DecodeBlock counts the padding as zero bytes */
    t = json_loadb((const char *)raw, (size_t)len, 0, NULL);
    s = json_string_value(json_object_get(t, "start"));
    v = json_integer_value(json_object_get(t, "rv"));
    if (!s || !json_is_integer(json_object_get(t, "rv")) || v < 0 ||
        !(*start = core_strdup(s))) {
        json_decref(t);
        return -1;
    }
    *rv = (uint64_t)v;
    json_decref(t);
    return 0;
}

/* ---- verbs --------------------------------------------------------------------------------- */

struct ka_target {
    struct sim_kres *r;
    const char *ns;   /* NULL: all namespaces / cluster-scoped */
    const char *name; /* NULL: the collection */
    const char *sub;  /* NULL, "status", "binding", "eviction", ... */
};

static int sel_new(struct sim_ksel **out)
{
    *out = core_calloc(1, sizeof **out);
    return *out ? 0 : CORE_E_NOMEM;
}

static void sel_free(struct sim_ksel *s)
{
    if (s) {
        sim_ksel_cleanup(s);
        core_free(s);
    }
}

/* Parses the selectors of the query into heap selectors; answers 400 and returns -1 on error. */
static int parse_selectors(struct ka_req *a, struct sim_ksel **labels, struct sim_ksel **fields)
{
    struct core_err err;

    *labels = *fields = NULL;
    core_err_clear(&err);
    if (sel_new(labels) != 0 || sel_new(fields) != 0) {
        sel_free(*labels);
        *labels = NULL;
        fail(a->resp, 500, NULL, "out of memory");
        return -1;
    }
    if (sim_ksel_parse_labels(qget(a, "labelSelector"), *labels, &err) != 0 ||
        sim_ksel_parse_fields(qget(a, "fieldSelector"), *fields, &err) != 0) {
        sel_free(*labels);
        sel_free(*fields);
        *labels = *fields = NULL;
        fail(a->resp, 400, "BadRequest", "unable to parse requirement: %s", err.message);
        return -1;
    }
    return 0;
}

/* The Table the request asks for, if any (Accept, includeObject); answers 400 and returns
 * -1 for a bad includeObject. */
static int table_wanted(struct ka_req *a, struct sim_ktable_req *tr)
{
    struct core_err err;

    core_err_clear(&err);
    if (sim_ktable_negotiate(header(a->req, "Accept"), qget(a, "includeObject"), tr,
                             &err) != 0) {
        fail_err(a->resp, &err);
        return -1;
    }
    return 0;
}

static core_ns wall_now(const struct sim_kube *k)
{
    return core_clock_wall(core_loop_clock(k->loop));
}

static void do_watch(struct ka_req *a, const struct ka_target *t, core_ns *delay)
{
    struct sim_kube *k = a->k;
    struct sim_ksel *labels, *fields;
    const char *ts = qget(a, "timeoutSeconds");
    int64_t secs = 0;
    core_ns timeout;
    struct core_err err;
    const char *rv = qget(a, "resourceVersion");
    struct sim_ktable_req tr;

    (void)delay;
    if (table_wanted(a, &tr) != 0)
        return;
    if (k->opts.faults.gone_rate > 0 && sim_rng_unit(&k->rng) < k->opts.faults.gone_rate) {
        fail(a->resp, 410, "Expired", "too old resource version: %s", rv ? rv : "");
        return;
    }
    if (ts && *ts && core_parse_i64(ts, 0, INT64_MAX / CORE_NS_PER_S, &secs) != 0) {
        fail(a->resp, 400, "BadRequest", "invalid timeoutSeconds \"%.40s\"", ts);
        return;
    }
    if (secs > 0) {
        timeout = (core_ns)secs * CORE_NS_PER_S;
    } else {
        /* The API server's default: a random time between its minimum and twice it. */
        timeout = (core_ns)(KA_MIN_WATCH_S + (int64_t)(sim_rng_unit(&k->rng) *
                                                       (KA_MAX_WATCH_S - KA_MIN_WATCH_S))) *
                  CORE_NS_PER_S;
    }
    if (timeout > k->opts.watch_timeout_max)
        timeout = k->opts.watch_timeout_max;
    if (parse_selectors(a, &labels, &fields) != 0)
        return;
    core_err_clear(&err);
    /* An unset or "0" version starts with the current objects as ADDED (as the API server
     * does); sendInitialEvents asks for the same explicitly. */
    if (sim_kube_watch_start(k, t->r, t->ns, labels, fields, rv ? rv : "",
                             qbool(a, "allowWatchBookmarks"),
                             !rv || !*rv || strcmp(rv, "0") == 0 ||
                                 qbool(a, "sendInitialEvents"),
                             timeout, &tr, a->req, a->resp, &err) != 0)
        fail_err(a->resp, &err);
}

static void do_list(struct ka_req *a, const struct ka_target *t)
{
    struct sim_kube *k = a->k;
    struct sim_ksel *labels, *fields;
    const char *lim = qget(a, "limit"), *cont = qget(a, "continue");
    int64_t limit = 0;
    uint64_t list_rv = k->rv;
    char *start = NULL, *next = NULL, *tok = NULL, gv[200], rvs[24];
    json_t *items = NULL, *doc = NULL;
    struct core_err err;
    struct sim_ktable_req tr;

    if (table_wanted(a, &tr) != 0)
        return;
    if (lim && *lim && core_parse_i64(lim, 0, INT64_MAX, &limit) != 0) {
        fail(a->resp, 400, "BadRequest", "invalid limit \"%.40s\"", lim);
        return;
    }
    if (cont && *cont) {
        if (token_decode(cont, &list_rv, &start) != 0) {
            fail(a->resp, 400, "BadRequest", "continue key is not valid: illegal base64 data");
            return;
        }
        if (list_rv < k->hist_floor) {
            core_free(start);
            fail(a->resp, 410, "Expired", "The provided continue parameter is too old to "
                 "display a consistent list result. You can start a new list without the "
                 "continue parameter.");
            return;
        }
    }
    if (parse_selectors(a, &labels, &fields) != 0) {
        core_free(start);
        return;
    }
    core_err_clear(&err);
    if (sim_kube_store_list(k, t->r, t->ns, labels, fields, start, (size_t)limit, &items, &next,
                            &err) != 0) {
        fail_err(a->resp, &err);
        goto out;
    }
    if (next && !(tok = token_encode(list_rv, next))) {
        fail(a->resp, 500, NULL, "out of memory");
        goto out;
    }
    gv_of(t->r, gv, sizeof gv);
    snprintf(rvs, sizeof rvs, "%llu", (unsigned long long)list_rv);
    if (tr.wanted) {
        core_err_clear(&err);
        if (sim_ktable_build(t->r, items, &tr, rvs, tok, wall_now(k), &doc, &err) != 0) {
            fail_err(a->resp, &err);
            goto out;
        }
        answer_obj(a->resp, 200, doc);
        goto out;
    }
    doc = json_pack("{s:s, s:s, s:{s:s}, s:O}", "kind", t->r->list_kind, "apiVersion", gv,
                    "metadata", "resourceVersion", rvs, "items", items);
    if (doc && tok &&
        json_object_set_new(json_object_get(doc, "metadata"), "continue", json_string(tok)) != 0) {
        json_decref(doc);
        doc = NULL;
    }
    if (!doc) {
        fail(a->resp, 500, NULL, "out of memory");
        goto out;
    }
    answer_obj(a->resp, 200, doc);
out:
    json_decref(doc);
    json_decref(items);
    core_free(tok);
    core_free(next);
    core_free(start);
    sel_free(labels);
    sel_free(fields);
}

/* The request body as a JSON object (JSON, or YAML for application/yaml); answers 400/415 and
 * returns NULL otherwise. */
static json_t *body_object(struct ka_req *a)
{
    char ct[96];
    json_t *doc = NULL;
    json_error_t jerr;

    media_type(header(a->req, "Content-Type"), ct, sizeof ct);
    if (strcmp(ct, "application/yaml") == 0) {
        json_t **docs = NULL;
        size_t n = 0;
        struct core_err err;
        if (k8s_yaml_parse(a->req->body, a->req->body_len, &docs, &n, &err) != 0) {
            fail(a->resp, 400, "BadRequest", "the body is not valid YAML: %s", err.message);
            return NULL;
        }
        if (n == 1)
            doc = json_incref(docs[0]);
        k8s_yaml_docs_free(docs, n);
    } else if (ct[0] && strcmp(ct, "application/json") != 0 && strcmp(ct, "*/*") != 0) {
        fail(a->resp, 415, "UnsupportedMediaType", "the body of the request was in an unknown "
             "format - accepted media types include: application/json, application/yaml");
        return NULL;
    } else {
        doc = json_loadb(a->req->body, a->req->body_len, 0, &jerr);
        if (!doc) {
            fail(a->resp, 400, "BadRequest", "the body is not valid JSON: %s (line %d, "
                 "column %d)", jerr.text, jerr.line, jerr.column);
            return NULL;
        }
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        fail(a->resp, 400, "BadRequest", "the body must be one JSON object");
        return NULL;
    }
    return doc;
}

static int dry_run(const struct ka_req *a)
{
    const char *v = qget(a, "dryRun");
    return v && strcmp(v, "All") == 0;
}

/* The namespace in the object must agree with the URL's (set from the URL when absent). */
static int check_ns(struct ka_req *a, const struct ka_target *t, json_t *obj)
{
    json_t *meta = json_object_get(obj, "metadata");
    const char *ons = json_string_value(json_object_get(meta, "namespace"));

    if (!t->r->namespaced || !t->ns)
        return 0;
    if (ons && *ons && strcmp(ons, t->ns) != 0) {
        fail(a->resp, 400, "BadRequest", "the namespace of the provided object does not match "
             "the namespace sent on the request");
        return -1;
    }
    return 0;
}

static void do_create(struct ka_req *a, const struct ka_target *t)
{
    struct core_err err;
    json_t *obj = body_object(a), *out = NULL;

    if (!obj)
        return;
    if (check_ns(a, t, obj) == 0) {
        core_err_clear(&err);
        if (sim_kube_store_create(a->k, t->r, t->ns, obj, 0, dry_run(a), &out, &err) != 0)
            fail_err(a->resp, &err);
        else
            answer_obj(a->resp, 201, out);
    }
    json_decref(out);
    json_decref(obj);
}

static void answer_success(struct ka_req *a, long code)
{
    json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
                           "metadata", "status", "Success", "code", (int)code);
    if (!st) {
        fail(a->resp, 500, NULL, "out of memory");
        return;
    }
    answer_obj(a->resp, code, st);
    json_decref(st);
}

static void do_binding(struct ka_req *a, const struct ka_target *t)
{
    struct core_err err;
    json_t *obj = body_object(a);
    const char *node;

    if (!obj)
        return;
    node = json_string_value(json_object_get(json_object_get(obj, "target"), "name"));
    core_err_clear(&err);
    if (sim_kube_store_bind(a->k, t->ns, t->name, node, &err) != 0)
        fail_err(a->resp, &err);
    else
        answer_success(a, 201);
    json_decref(obj);
}

static void do_eviction(struct ka_req *a, const struct ka_target *t)
{
    struct core_err err;
    json_t *obj = body_object(a);

    if (!obj)
        return;
    core_err_clear(&err);
    if (sim_kube_store_evict(a->k, t->ns, t->name, &err) != 0) {
        if (err.http_status == 429 || err.code == CORE_E_THROTTLED) {
            /* A budget saying "not now": the real server adds a Retry-After too. */
            fail_err(a->resp, &err);
            if (core_http_response_add_header(a->resp, "Retry-After", "10") != 0)
                a->resp->status = 503; /* still "try later" */
        } else {
            fail_err(a->resp, &err);
        }
    } else {
        answer_success(a, 201);
    }
    json_decref(obj);
}

static void do_update(struct ka_req *a, const struct ka_target *t)
{
    struct core_err err;
    json_t *obj = body_object(a), *out = NULL;
    const char *name;

    if (!obj)
        return;
    name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    if (name && strcmp(name, t->name) != 0) {
        fail(a->resp, 400, "BadRequest", "the name of the object (%.253s) does not match the "
             "name on the URL (%.253s)", name, t->name);
    } else if (check_ns(a, t, obj) == 0) {
        if (!name && json_object_set_new(json_object_get(obj, "metadata"), "name",
                                         json_string(t->name)) != 0) {
            fail(a->resp, 400, "BadRequest", "the object has no metadata");
        } else {
            core_err_clear(&err);
            if (sim_kube_store_update(a->k, t->r, t->ns, t->name, obj, t->sub, dry_run(a), &out,
                                      &err) != 0)
                fail_err(a->resp, &err);
            else
                answer_obj(a->resp, 200, out);
        }
    }
    json_decref(out);
    json_decref(obj);
}

static void do_patch(struct ka_req *a, const struct ka_target *t)
{
    static const struct {
        const char *ct;
        enum sim_kpatch type;
    } types[] = {
        {"application/merge-patch+json", SIM_KPATCH_MERGE},
        {"application/json-patch+json", SIM_KPATCH_JSON},
        {"application/strategic-merge-patch+json", SIM_KPATCH_STRATEGIC},
        {"application/apply-patch+yaml", SIM_KPATCH_APPLY},
        {"application/apply-patch+cbor", 0},
    };
    char ct[96];
    enum sim_kpatch type = 0;
    struct core_err err;
    json_t *out = NULL, *existing = NULL;
    int created = 0;

    media_type(header(a->req, "Content-Type"), ct, sizeof ct);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(ct, types[i].ct) == 0)
            type = types[i].type;
    if (!type || (type == SIM_KPATCH_STRATEGIC && t->r->is_crd)) {
        fail(a->resp, 415, "UnsupportedMediaType", "the body of the request was in an unknown "
             "format - accepted media types include: application/json-patch+json, "
             "application/merge-patch+json, application/apply-patch+yaml%s",
             t->r->is_crd ? "" : ", application/strategic-merge-patch+json");
        return;
    }
    if (type == SIM_KPATCH_APPLY && !t->sub) {
        core_err_clear(&err);
        created = sim_kube_store_get(a->k, t->r, t->ns, t->name, &existing, &err) ==
                  CORE_E_NOTFOUND;
        json_decref(existing);
    }
    core_err_clear(&err);
    if (sim_kube_store_patch(a->k, t->r, t->ns, t->name, type, a->req->body, a->req->body_len,
                             t->sub, qget(a, "fieldManager"), qbool(a, "force"), dry_run(a),
                             &out, &err) != 0)
        fail_err(a->resp, &err);
    else
        answer_obj(a->resp, created ? 201 : 200, out);
    json_decref(out);
}

/* DeleteOptions from the body (optional) and the query. */
struct ka_delopts {
    json_t *body;
    const char *uid, *rv, *propagation;
    int dry_run;
};

static int delete_options(struct ka_req *a, struct ka_delopts *o)
{
    json_t *pre, *dr;
    size_t i;
    json_t *v;

    memset(o, 0, sizeof *o);
    o->dry_run = dry_run(a);
    o->propagation = qget(a, "propagationPolicy");
    if (a->req->body_len > 0) {
        o->body = body_object(a);
        if (!o->body)
            return -1;
        pre = json_object_get(o->body, "preconditions");
        o->uid = json_string_value(json_object_get(pre, "uid"));
        o->rv = json_string_value(json_object_get(pre, "resourceVersion"));
        if (json_string_value(json_object_get(o->body, "propagationPolicy")))
            o->propagation = json_string_value(json_object_get(o->body, "propagationPolicy"));
        dr = json_object_get(o->body, "dryRun");
        json_array_foreach(dr, i, v)
            if (json_string_value(v) && strcmp(json_string_value(v), "All") == 0)
                o->dry_run = 1;
    }
    if (o->propagation && strcmp(o->propagation, "Background") != 0 &&
        strcmp(o->propagation, "Foreground") != 0 && strcmp(o->propagation, "Orphan") != 0) {
        fail(a->resp, 422, "Invalid", "propagationPolicy: Unsupported value: \"%.40s\": "
             "supported values: \"Foreground\", \"Background\", \"Orphan\"", o->propagation);
        json_decref(o->body);
        return -1;
    }
    return 0;
}

static void do_delete(struct ka_req *a, const struct ka_target *t)
{
    struct ka_delopts o;
    struct core_err err;
    json_t *out = NULL;

    if (delete_options(a, &o) != 0)
        return;
    core_err_clear(&err);
    if (sim_kube_store_delete(a->k, t->r, t->ns, t->name, o.uid, o.rv, o.propagation,
                              o.dry_run, &out, &err) != 0)
        fail_err(a->resp, &err);
    else if (out)
        answer_obj(a->resp, 200, out);
    else
        answer_success(a, 200);
    json_decref(out);
    json_decref(o.body);
}

static void do_delete_collection(struct ka_req *a, const struct ka_target *t)
{
    struct ka_delopts o;
    struct sim_ksel *labels = NULL, *fields = NULL;
    struct core_err err;
    json_t *items = NULL, *deleted = NULL, *obj, *doc = NULL;
    char *next = NULL, gv[200], rvs[24];
    size_t i;

    if (delete_options(a, &o) != 0)
        return;
    if (parse_selectors(a, &labels, &fields) != 0)
        goto out;
    core_err_clear(&err);
    if (sim_kube_store_list(a->k, t->r, t->ns, labels, fields, NULL, 0, &items, &next,
                            &err) != 0) {
        fail_err(a->resp, &err);
        goto out;
    }
    deleted = json_array();
    if (!deleted) {
        fail(a->resp, 500, NULL, "out of memory");
        goto out;
    }
    json_array_foreach(items, i, obj) {
        const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                             "name"));
        const char *ns = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                           "namespace"));
        json_t *out = NULL;
        core_err_clear(&err);
        if (!name)
            continue;
        if (sim_kube_store_delete(a->k, t->r, t->r->namespaced ? ns : NULL, name, NULL, NULL,
                                  o.propagation, o.dry_run, &out, &err) != 0) {
            if (err.code == CORE_E_NOTFOUND)
                continue; /* gone meanwhile (garbage collection) */
            fail_err(a->resp, &err);
            goto out;
        }
        if (out && json_array_append_new(deleted, out) != 0) {
            fail(a->resp, 500, NULL, "out of memory");
            goto out;
        }
    }
    gv_of(t->r, gv, sizeof gv);
    snprintf(rvs, sizeof rvs, "%llu", (unsigned long long)a->k->rv);
    doc = json_pack("{s:s, s:s, s:{s:s}, s:O}", "kind", t->r->list_kind, "apiVersion", gv,
                    "metadata", "resourceVersion", rvs, "items", deleted);
    if (!doc)
        fail(a->resp, 500, NULL, "out of memory");
    else
        answer_obj(a->resp, 200, doc);
out:
    json_decref(doc);
    json_decref(deleted);
    json_decref(items);
    core_free(next);
    sel_free(labels);
    sel_free(fields);
    json_decref(o.body);
}

static void method_not_allowed(struct ka_req *a)
{
    fail(a->resp, 405, "MethodNotAllowed", "the server does not allow this method on the "
         "requested resource");
}

static void serve_resource(struct ka_req *a, const struct ka_target *t, core_ns *delay)
{
    const char *m = a->req->method;

    if (!t->name) {
        if (strcmp(m, "GET") == 0) {
            if (qbool(a, "watch"))
                do_watch(a, t, delay);
            else
                do_list(a, t);
        } else if (strcmp(m, "POST") == 0) {
            do_create(a, t);
        } else if (strcmp(m, "DELETE") == 0 && strcmp(t->r->key, "namespaces") != 0) {
            do_delete_collection(a, t);
        } else {
            method_not_allowed(a);
        }
        return;
    }
    if (t->sub && strcmp(t->sub, "status") != 0) {
        int pods = strcmp(t->r->key, "pods") == 0;
        if (pods && strcmp(t->sub, "binding") == 0 && strcmp(m, "POST") == 0)
            do_binding(a, t);
        else if (pods && strcmp(t->sub, "eviction") == 0 && strcmp(m, "POST") == 0)
            do_eviction(a, t);
        else if (pods && (strcmp(t->sub, "binding") == 0 || strcmp(t->sub, "eviction") == 0))
            method_not_allowed(a);
        else
            fail(a->resp, 404, "NotFound", "the server could not find the requested resource");
        return;
    }
    if (t->sub && !t->r->has_status) {
        fail(a->resp, 404, "NotFound", "the server could not find the requested resource");
        return;
    }
    if (strcmp(m, "GET") == 0) {
        struct core_err err;
        struct sim_ktable_req tr;
        json_t *out = NULL, *table = NULL;
        if (table_wanted(a, &tr) != 0)
            return;
        core_err_clear(&err);
        if (sim_kube_store_get(a->k, t->r, t->ns, t->name, &out, &err) != 0)
            fail_err(a->resp, &err);
        else if (!tr.wanted || t->sub)
            answer_obj(a->resp, 200, out);
        else if (sim_ktable_event(t->r, out, &tr, wall_now(a->k), &table, &err) != 0)
            fail_err(a->resp, &err);
        else
            answer_obj(a->resp, 200, table);
        json_decref(table);
        json_decref(out);
    } else if (strcmp(m, "PUT") == 0) {
        do_update(a, t);
    } else if (strcmp(m, "PATCH") == 0) {
        do_patch(a, t);
    } else if (strcmp(m, "DELETE") == 0 && !t->sub) {
        do_delete(a, t);
    } else {
        method_not_allowed(a);
    }
}

/* ---- routing ------------------------------------------------------------------------------- */

static void not_found(struct ka_req *a)
{
    fail(a->resp, 404, "NotFound", "the server could not find the requested resource");
}

/* segs[from..] after the group/version: [namespaces/{ns}/]{plural}[/{name}[/{sub}]]. */
static void route_resources(struct ka_req *a, const char *group, const char *version,
                            size_t from, core_ns *delay)
{
    const char *const *s = a->segs + from;
    size_t n = a->nsegs - from;
    struct ka_target t;

    memset(&t, 0, sizeof t);
    if (n == 0) {
        if (strcmp(a->req->method, "GET") != 0) {
            method_not_allowed(a);
            return;
        }
        get_resource_list(a, group, version);
        return;
    }
    if (!group[0] && strcmp(s[0], "namespaces") == 0 &&
        (n <= 2 || (n == 3 && (strcmp(s[2], "status") == 0 || strcmp(s[2], "finalize") == 0)))) {
        /* The namespaces themselves. */
        t.r = sim_kube_res_find(a->k, group, version, "namespaces");
        t.name = n >= 2 ? s[1] : NULL;
        t.sub = n == 3 ? s[2] : NULL;
        if (t.sub && strcmp(t.sub, "finalize") == 0)
            t.sub = "status"; /* close enough: both write only what the subresource owns */
    } else if (strcmp(s[0], "namespaces") == 0 && n >= 3) {
        t.ns = s[1];
        t.r = sim_kube_res_find(a->k, group, version, s[2]);
        t.name = n >= 4 ? s[3] : NULL;
        t.sub = n >= 5 ? s[4] : NULL;
        if (n > 5 || (t.r && !t.r->namespaced)) {
            not_found(a);
            return;
        }
    } else {
        t.r = sim_kube_res_find(a->k, group, version, s[0]);
        t.name = n >= 2 ? s[1] : NULL;
        t.sub = n >= 3 ? s[2] : NULL;
        if (n > 3 || (t.r && t.r->namespaced && t.name)) {
            not_found(a);
            return;
        }
    }
    if (!t.r) {
        not_found(a);
        return;
    }
    serve_resource(a, &t, delay);
}

static int health_path(const struct ka_req *a)
{
    return a->nsegs >= 1 && (strcmp(a->segs[0], "healthz") == 0 ||
                             strcmp(a->segs[0], "readyz") == 0 ||
                             strcmp(a->segs[0], "livez") == 0);
}

/* Injected faults; 1 when the request was answered by one. */
static int faults(struct ka_req *a, core_ns *delay)
{
    struct sim_kube *k = a->k;
    const struct sim_kube_faults *f = &k->opts.faults;

    if (f->latency > 0)
        *delay = (core_ns)((double)f->latency * (0.5 + sim_rng_unit(&k->rng)));
    if (f->error_rate > 0 && sim_rng_unit(&k->rng) < f->error_rate) {
        fail(a->resp, 500, "InternalError", "Internal error occurred: injected fault");
        return 1;
    }
    if (f->throttle_rate > 0 && sim_rng_unit(&k->rng) < f->throttle_rate) {
        char ra[24];
        core_ns after = f->retry_after > 0 ? f->retry_after : CORE_NS_PER_S;
        snprintf(ra, sizeof ra, "%lld",
                 (long long)((after + CORE_NS_PER_S - 1) / CORE_NS_PER_S));
        fail(a->resp, 429, "TooManyRequests", "Too many requests, please try again later.");
        if (core_http_response_add_header(a->resp, "Retry-After", ra) != 0)
            a->resp->status = 503; /* no memory for the header: still a retryable answer */
        return 1;
    }
    return 0;
}

void sim_kube_handle(void *ud, const struct sim_http_req *req, struct core_http_response *resp,
                     core_ns *delay)
{
    struct ka_req a;
    int rc;

    memset(&a, 0, sizeof a);
    a.k = ud;
    a.req = req;
    a.resp = resp;
    rc = parse_target(&a);
    if (rc == CORE_E_NOMEM) {
        fail(resp, 500, NULL, "out of memory");
        goto out;
    }
    if (rc) {
        fail(resp, 400, "BadRequest", "malformed request target");
        goto out;
    }
    if (req->body_len > KA_BODY_MAX) {
        fail(resp, 413, "RequestEntityTooLarge", "the request body is %zu bytes; the limit "
             "is %u", req->body_len, KA_BODY_MAX);
        goto out;
    }
    if (health_path(&a)) {
        answer_text(resp, "ok");
        goto out;
    }
    if (faults(&a, delay))
        goto out;
    if (a.nsegs == 1 && strcmp(a.segs[0], "version") == 0) {
        get_version(&a);
    } else if (a.nsegs >= 1 && strcmp(a.segs[0], "openapi") == 0) {
        not_found(&a);
    } else if (a.nsegs >= 1 && strcmp(a.segs[0], "api") == 0) {
        if (a.nsegs == 1)
            get_api(&a);
        else if (strcmp(a.segs[1], "v1") == 0)
            route_resources(&a, "", "v1", 2, delay);
        else
            not_found(&a);
    } else if (a.nsegs >= 1 && strcmp(a.segs[0], "apis") == 0) {
        if (a.nsegs == 1) {
            get_apis(&a);
        } else if (a.nsegs == 2) {
            json_t *g = api_group(a.k, a.segs[1]);
            if (!g) {
                not_found(&a);
            } else {
                answer_obj(resp, 200, g);
                json_decref(g);
            }
        } else {
            route_resources(&a, a.segs[1], a.segs[2], 3, delay);
        }
    } else {
        not_found(&a);
    }
out:
    core_free(a.pathbuf);
    core_free(a.querybuf);
}
