/*
 * aws/ssm.c — SSM over JSON 1.1: GetParameter, GetParameters (batched by 10, batches in
 * parallel, merged in the caller's order) and GetParametersByPath (paginated, bounded).
 *
 * Invariants: every answer is checked field by field (a parameter without Name or Value is a
 * parse error naming the action and index); the caller's callback runs exactly once per call,
 * after every batch or page of it has completed; all state is freed in that completion.
 */
#include "aws/aws.h"

#include <string.h>

#define SSM_DEFAULT_MAX_PAGES 100u

void aws_ssm_parameters_cleanup(struct aws_ssm_parameters *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        core_free(p->v[i].name);
        core_free(p->v[i].type);
        core_free(p->v[i].value);
        core_free(p->v[i].data_type);
        core_free(p->v[i].arn);
    }
    core_free(p->v);
    for (size_t i = 0; i < p->ninvalid; i++)
        core_free(p->invalid[i]);
    core_free(p->invalid);
    memset(p, 0, sizeof *p);
}

static char *dup_or_empty(const char *s)
{
    return core_strdup(s ? s : "");
}

/* Appends one decoded parameter object to out. */
static int param_decode(json_t *o, const char *action, size_t idx, struct aws_ssm_parameters *out,
                        struct core_err *err)
{
    struct aws_ssm_parameter p;
    json_t *name = json_object_get(o, "Name"), *value = json_object_get(o, "Value");
    json_t *ver = json_object_get(o, "Version"), *mod = json_object_get(o, "LastModifiedDate");
    struct aws_ssm_parameter *nv;

    if (!json_is_object(o) || !json_is_string(name) || !json_is_string(value))
        return core_err_set(err, CORE_E_PARSE, "ssm %s: parameter %zu lacks a string Name or "
                            "Value", action, idx);
    if (ver && !json_is_integer(ver))
        return core_err_set(err, CORE_E_PARSE, "ssm %s: parameter %s: Version is not an integer",
                            action, json_string_value(name));
    if (mod && !json_is_number(mod))
        return core_err_set(err, CORE_E_PARSE, "ssm %s: parameter %s: LastModifiedDate is not a "
                            "number", action, json_string_value(name));
    memset(&p, 0, sizeof p);
    p.version = ver ? json_integer_value(ver) : 0;
    p.last_modified = mod ? (core_ns)(json_number_value(mod) * (double)CORE_NS_PER_S) : 0;
    p.name = core_strdup(json_string_value(name));
    p.value = core_strdup(json_string_value(value));
    p.type = dup_or_empty(json_string_value(json_object_get(o, "Type")));
    p.data_type = dup_or_empty(json_string_value(json_object_get(o, "DataType")));
    p.arn = dup_or_empty(json_string_value(json_object_get(o, "ARN")));
    nv = core_realloc(out->v, (out->n + 1) * sizeof *nv);
    if (!p.name || !p.value || !p.type || !p.data_type || !p.arn || !nv) {
        if (nv)
            out->v = nv;
        core_free(p.name);
        core_free(p.value);
        core_free(p.type);
        core_free(p.data_type);
        core_free(p.arn);
        return core_err_set(err, CORE_E_NOMEM, "ssm %s: out of memory", action);
    }
    out->v = nv;
    out->v[out->n++] = p;
    return 0;
}

static int params_decode(json_t *arr, const char *action, struct aws_ssm_parameters *out,
                         struct core_err *err)
{
    size_t i;
    json_t *o;
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return core_err_set(err, CORE_E_PARSE, "ssm %s: Parameters is not an array", action);
    json_array_foreach(arr, i, o) {
        int rc = param_decode(o, action, i, out, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int invalid_add(struct aws_ssm_parameters *out, const char *name)
{
    char **ni = core_realloc(out->invalid, (out->ninvalid + 1) * sizeof *ni);
    if (!ni)
        return CORE_E_NOMEM;
    out->invalid = ni;
    out->invalid[out->ninvalid] = core_strdup(name);
    if (!out->invalid[out->ninvalid])
        return CORE_E_NOMEM;
    out->ninvalid++;
    return 0;
}

/* ---- GetParameter -------------------------------------------------------------------------- */

struct ssm_one {
    aws_ssm_fn cb;
    void *ud;
    char *name;
};

static void on_get_parameter(void *ud, int rc, json_t *result, const struct core_err *err)
{
    struct ssm_one *s = ud;
    struct aws_ssm_parameters res;
    struct core_err e;

    memset(&res, 0, sizeof res);
    core_err_clear(&e);
    if (rc == CORE_E_NOTFOUND) {
        /* The service's message does not always carry the name; ours does. */
        core_err_set(&e, CORE_E_NOTFOUND, "ssm GetParameter: parameter '%s' not found", s->name);
        core_err_set_service(&e, err ? err->http_status : 0, "ParameterNotFound",
                             err ? err->request_id : NULL);
        s->cb(s->ud, rc, NULL, &e);
    } else if (rc) {
        s->cb(s->ud, rc, NULL, err);
    } else {
        json_t *p = json_object_get(result, "Parameter");
        rc = p ? param_decode(p, "GetParameter", 0, &res, &e)
               : core_err_set(&e, CORE_E_PARSE, "ssm GetParameter: the answer has no Parameter");
        if (rc)
            s->cb(s->ud, rc, NULL, &e);
        else
            s->cb(s->ud, 0, &res, NULL);
    }
    aws_ssm_parameters_cleanup(&res);
    core_free(s->name);
    core_free(s);
}

int aws_ssm_get_parameter(struct aws_client *c, const char *name, aws_ssm_fn cb, void *ud,
                          struct core_err *err)
{
    struct ssm_one *s = core_calloc(1, sizeof *s);
    json_t *body = NULL;
    int rc;

    if (!s || !(s->name = core_strdup(name)) || !(body = json_pack("{s:s}", "Name", name))) {
        if (s)
            core_free(s->name);
        core_free(s);
        return core_err_set(err, CORE_E_NOMEM, "ssm GetParameter: out of memory");
    }
    s->cb = cb;
    s->ud = ud;
    rc = aws_json_call(c, AWS_SVC_SSM, "AmazonSSM.GetParameter", body, 0, on_get_parameter, s,
                       err);
    json_decref(body);
    if (rc) {
        core_free(s->name);
        core_free(s);
    }
    return rc;
}

/* ---- GetParameters ------------------------------------------------------------------------- */

struct ssm_many {
    aws_ssm_fn cb;
    void *ud;
    char **names;
    size_t n;
    size_t pending;
    int rc;
    struct core_err err;
    struct aws_ssm_parameters got; /* in arrival order */
};

static void many_free(struct ssm_many *m)
{
    for (size_t i = 0; i < m->n; i++)
        core_free(m->names[i]);
    core_free(m->names);
    aws_ssm_parameters_cleanup(&m->got);
    core_free(m);
}

static void many_finish(struct ssm_many *m)
{
    struct aws_ssm_parameters res;
    memset(&res, 0, sizeof res);
    if (m->rc) {
        m->cb(m->ud, m->rc, NULL, &m->err);
        many_free(m);
        return;
    }
    /* Reorder to the caller's order: move each parameter out of `got` into `res`. */
    res.v = core_calloc(m->got.n ? m->got.n : 1, sizeof *res.v);
    if (!res.v) {
        core_err_set(&m->err, CORE_E_NOMEM, "ssm GetParameters: out of memory");
        m->cb(m->ud, CORE_E_NOMEM, NULL, &m->err);
        many_free(m);
        return;
    }
    for (size_t i = 0; i < m->n; i++)
        for (size_t j = 0; j < m->got.n; j++)
            if (m->got.v[j].name && strcmp(m->got.v[j].name, m->names[i]) == 0) {
                res.v[res.n++] = m->got.v[j];
                memset(&m->got.v[j], 0, sizeof m->got.v[j]);
                break;
            }
    /* Answers that match no requested string (a name asked for with a ":version" or
     * ":label" selector comes back bare) follow in arrival order: never dropped. */
    for (size_t j = 0; j < m->got.n; j++)
        if (m->got.v[j].name) {
            res.v[res.n++] = m->got.v[j];
            memset(&m->got.v[j], 0, sizeof m->got.v[j]);
        }
    res.invalid = m->got.invalid;
    res.ninvalid = m->got.ninvalid;
    m->got.invalid = NULL;
    m->got.ninvalid = 0;
    m->cb(m->ud, 0, &res, NULL);
    aws_ssm_parameters_cleanup(&res);
    many_free(m);
}

static void on_get_parameters(void *ud, int rc, json_t *result, const struct core_err *err)
{
    struct ssm_many *m = ud;
    struct core_err e;

    if (rc && !m->rc) {
        m->rc = rc;
        if (err)
            m->err = *err;
    } else if (!rc && !m->rc) {
        json_t *inv = json_object_get(result, "InvalidParameters");
        size_t i;
        json_t *v;
        rc = params_decode(json_object_get(result, "Parameters"), "GetParameters", &m->got, &e);
        if (!rc && inv && !json_is_array(inv))
            rc = core_err_set(&e, CORE_E_PARSE, "ssm GetParameters: InvalidParameters is not an "
                              "array");
        if (!rc && inv)
            json_array_foreach(inv, i, v) {
                if (!json_is_string(v) || invalid_add(&m->got, json_string_value(v)) != 0) {
                    rc = core_err_set(&e, json_is_string(v) ? CORE_E_NOMEM : CORE_E_PARSE,
                                      "ssm GetParameters: bad InvalidParameters entry %zu", i);
                    break;
                }
            }
        if (rc) {
            m->rc = rc;
            m->err = e;
        }
    }
    if (--m->pending == 0)
        many_finish(m);
}

int aws_ssm_get_parameters(struct aws_client *c, const char *const *names, size_t n,
                           aws_ssm_fn cb, void *ud, struct core_err *err)
{
    struct ssm_many *m;
    size_t nbatches = (n + AWS_SSM_BATCH_MAX - 1) / AWS_SSM_BATCH_MAX;
    int rc = 0;

    if (n == 0)
        return core_err_set(err, CORE_E_INVAL, "ssm GetParameters: no names given");
    m = core_calloc(1, sizeof *m);
    if (!m)
        return core_err_set(err, CORE_E_NOMEM, "ssm GetParameters: out of memory");
    m->cb = cb;
    m->ud = ud;
    m->names = core_calloc(n, sizeof *m->names);
    if (!m->names) {
        core_free(m);
        return core_err_set(err, CORE_E_NOMEM, "ssm GetParameters: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        m->names[i] = core_strdup(names[i]);
        m->n = i + 1;
        if (!m->names[i]) {
            many_free(m);
            return core_err_set(err, CORE_E_NOMEM, "ssm GetParameters: out of memory");
        }
    }
    /* Count every batch as pending first, so an early completion cannot finish the call. */
    m->pending = nbatches + 1;
    for (size_t b = 0; b < nbatches; b++) {
        json_t *arr = json_array(), *body;
        for (size_t i = b * AWS_SSM_BATCH_MAX; arr && i < n && i < (b + 1) * AWS_SSM_BATCH_MAX; i++)
            if (json_array_append_new(arr, json_string(names[i])) != 0) {
                json_decref(arr);
                arr = NULL;
            }
        body = arr ? json_pack("{s:o}", "Names", arr) : NULL;
        if (!body) {
            rc = core_err_set(err, CORE_E_NOMEM, "ssm GetParameters: out of memory");
        } else {
            rc = aws_json_call(c, AWS_SVC_SSM, "AmazonSSM.GetParameters", body, 0,
                               on_get_parameters, m, err);
            json_decref(body);
        }
        if (rc) {
            /* Batches already sent complete later; they release the state. */
            m->pending -= nbatches - b;
            if (!m->rc) {
                m->rc = rc;
                if (err)
                    m->err = *err;
            }
            break;
        }
    }
    if (--m->pending == 0) {
        /* Only when the first batch could not be sent: nothing is in flight, so the failure
         * is reported here and the callback never runs. */
        many_free(m);
        return rc;
    }
    /* Batches in flight deliver the outcome, a later batch's failure included, through the
     * callback. */
    return 0;
}

/* ---- GetParametersByPath ------------------------------------------------------------------- */

struct ssm_path {
    struct aws_client *c;
    aws_ssm_fn cb;
    void *ud;
    char *path;
    int recursive;
    unsigned pages, max_pages;
    struct aws_ssm_parameters got;
};

static void path_finish(struct ssm_path *p, int rc, const struct core_err *err)
{
    p->cb(p->ud, rc, rc ? NULL : &p->got, err);
    aws_ssm_parameters_cleanup(&p->got);
    core_free(p->path);
    core_free(p);
}

static int path_request(struct ssm_path *p, const char *next, struct core_err *err);

static void on_by_path(void *ud, int rc, json_t *result, const struct core_err *err)
{
    struct ssm_path *p = ud;
    struct core_err e;
    json_t *next;

    if (rc) {
        path_finish(p, rc, err);
        return;
    }
    rc = params_decode(json_object_get(result, "Parameters"), "GetParametersByPath", &p->got, &e);
    if (rc) {
        path_finish(p, rc, &e);
        return;
    }
    next = json_object_get(result, "NextToken");
    if (!json_is_string(next) || !*json_string_value(next)) {
        path_finish(p, 0, NULL);
        return;
    }
    if (p->pages >= p->max_pages) {
        core_err_set(&e, CORE_E_TOOBIG, "ssm GetParametersByPath %s: more than %u pages",
                     p->path, p->max_pages);
        path_finish(p, CORE_E_TOOBIG, &e);
        return;
    }
    if (path_request(p, json_string_value(next), &e) != 0)
        path_finish(p, e.code, &e);
}

static int path_request(struct ssm_path *p, const char *next, struct core_err *err)
{
    json_t *body = json_pack("{s:s, s:b, s:i}", "Path", p->path, "Recursive", p->recursive,
                             "MaxResults", 10);
    int rc;
    if (body && next && json_object_set_new(body, "NextToken", json_string(next)) != 0) {
        json_decref(body);
        body = NULL;
    }
    if (!body)
        return core_err_set(err, CORE_E_NOMEM, "ssm GetParametersByPath: out of memory");
    p->pages++;
    rc = aws_json_call(p->c, AWS_SVC_SSM, "AmazonSSM.GetParametersByPath", body, 0, on_by_path,
                       p, err);
    json_decref(body);
    return rc;
}

int aws_ssm_get_parameters_by_path(struct aws_client *c, const char *path, int recursive,
                                   unsigned max_pages, aws_ssm_fn cb, void *ud,
                                   struct core_err *err)
{
    struct ssm_path *p;
    int rc;

    if (!path || path[0] != '/')
        return core_err_set(err, CORE_E_INVAL, "ssm GetParametersByPath: path must start "
                            "with '/'");
    p = core_calloc(1, sizeof *p);
    if (!p || !(p->path = core_strdup(path))) {
        core_free(p);
        return core_err_set(err, CORE_E_NOMEM, "ssm GetParametersByPath: out of memory");
    }
    p->c = c;
    p->cb = cb;
    p->ud = ud;
    p->recursive = recursive;
    p->max_pages = max_pages ? max_pages : SSM_DEFAULT_MAX_PAGES;
    rc = path_request(p, NULL, err);
    if (rc) {
        core_free(p->path);
        core_free(p);
    }
    return rc;
}
