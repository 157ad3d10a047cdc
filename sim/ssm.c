/*
 * sim/ssm.c — the emulated account's public SSM parameters (the EKS-optimised AMI aliases of
 * eks-nodes.md) and the SSM JSON 1.1 operations that read them: GetParameter, GetParameters,
 * GetParametersByPath.
 *
 * Invariants:
 *  - a->params is sorted by name (strcmp) with unique names, and a->param_by_name indexes every
 *    entry; both are built once by sim_ssm_build from a->images and never change afterwards,
 *    so an index into a->params is a stable page position (NextToken carries one).
 *  - Names under one prefix form one contiguous run of the sorted array, so a path query is a
 *    binary search plus a forward scan.
 *  - Only images with latest = 1 feed the recommended / latest aliases; every image feeds its
 *    pinned alias.
 *  - Every request field is checked for type and length before use; answers are either a
 *    complete success document or a JSON 1.1 error ({"__type", "message"} and
 *    X-Amzn-ErrorType), never a partial body. Messages quote request input only truncated.
 */
#include "sim/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSM_NAME_MAX 2048u    /* AWS: parameter names and paths up to 2048 characters */
#define SSM_NAMES_MAX 10u     /* GetParameters */
#define SSM_PAGE_MAX 10       /* GetParametersByPath MaxResults */
#define SSM_BODY_MAX (1u << 20) /* request documents; AWS's own limit is far below */
#define SSM_QUOTE_MAX 200     /* bytes of request input quoted in a message */

/* ---- building ------------------------------------------------------------------------------ */

struct ssm_list {
    struct sim_ssm_param *v;
    size_t n, cap;
};

static void param_free(struct sim_ssm_param *p)
{
    core_free(p->name);
    core_free(p->value);
    memset(p, 0, sizeof *p);
}

static int list_add(struct ssm_list *l, const char *name, const char *value, int is_image,
                    core_ns modified)
{
    struct sim_ssm_param p;

    if (strlen(name) > SSM_NAME_MAX)
        return CORE_E_TOOBIG;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        struct sim_ssm_param *nv = core_realloc(l->v, ncap * sizeof *nv);
        if (!nv)
            return CORE_E_NOMEM;
        l->v = nv;
        l->cap = ncap;
    }
    memset(&p, 0, sizeof p);
    p.name = core_strdup(name);
    p.value = core_strdup(value);
    if (!p.name || !p.value) {
        param_free(&p);
        return CORE_E_NOMEM;
    }
    p.type = "String";
    p.data_type = is_image ? "aws:ec2:image" : "text";
    p.version = 1;
    p.modified = modified;
    l->v[l->n++] = p;
    return 0;
}

/* The release without a leading 'v' ("v20261020" -> "20261020"). */
static const char *release_bare(const struct sim_image *im)
{
    return im->release[0] == 'v' ? im->release + 1 : im->release;
}

/* The EKS release_version of AL2 / AL2023 parameters: "<k8s>.0-<date>" (AWS writes the full
 * Kubernetes patch version; the emulated images only know the minor). */
static void release_version(const struct sim_image *im, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s.0-%s", im->k8s, release_bare(im));
}

/* dir/image_id, dir/image_name, dir/release_version and dir itself holding the JSON document
 * AWS keeps there. */
static int add_eks_dir(struct ssm_list *l, const char *dir, const struct sim_image *im)
{
    char name[SSM_NAME_MAX + 64], rel[64];
    json_t *doc;
    char *text;
    int rc;

    release_version(im, rel, sizeof rel);
    doc = json_pack("{s:s, s:s, s:s}", "image_id", im->id, "image_name",
                    im->name ? im->name : "", "release_version", rel);
    text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text)
        return CORE_E_NOMEM;
    rc = list_add(l, dir, text, 0, im->created);
    free(text);
    if (rc)
        return rc;
    snprintf(name, sizeof name, "%s/image_id", dir);
    if ((rc = list_add(l, name, im->id, 1, im->created)) != 0)
        return rc;
    snprintf(name, sizeof name, "%s/image_name", dir);
    if ((rc = list_add(l, name, im->name ? im->name : "", 0, im->created)) != 0)
        return rc;
    snprintf(name, sizeof name, "%s/release_version", dir);
    return list_add(l, name, rel, 0, im->created);
}

static int add_al2023(struct ssm_list *l, const struct sim_image *im)
{
    char base[256], dir[512];
    int rc;

    snprintf(base, sizeof base, "/aws/service/eks/optimized-ami/%s/amazon-linux-2023/%s/%s",
             im->k8s, im->arch, im->variant);
    if (im->latest) {
        snprintf(dir, sizeof dir, "%s/recommended", base);
        if ((rc = add_eks_dir(l, dir, im)) != 0)
            return rc;
    }
    snprintf(dir, sizeof dir, "%s/amazon-eks-node-al2023-%s-%s-%s-%s", base, im->arch,
             im->variant, im->k8s, im->release);
    return add_eks_dir(l, dir, im);
}

static int add_al2(struct ssm_list *l, const struct sim_image *im)
{
    const char *family, *pinned;
    char dir[512];
    int rc, arm = strcmp(im->arch, "arm64") == 0;

    /* AL2 publishes three image lines: x86_64, arm64 and the x86_64 accelerated one. */
    if (strcmp(im->variant, "standard") == 0) {
        family = arm ? "amazon-linux-2-arm64" : "amazon-linux-2";
        pinned = arm ? "amazon-eks-arm64-node" : "amazon-eks-node";
    } else if (!arm) {
        family = "amazon-linux-2-gpu";
        pinned = "amazon-eks-gpu-node";
    } else {
        return 0;
    }
    if (im->latest) {
        snprintf(dir, sizeof dir, "/aws/service/eks/optimized-ami/%s/%s/recommended", im->k8s,
                 family);
        if ((rc = add_eks_dir(l, dir, im)) != 0)
            return rc;
    }
    snprintf(dir, sizeof dir, "/aws/service/eks/optimized-ami/%s/%s/%s-%s-%s", im->k8s, family,
             pinned, im->k8s, im->release);
    return add_eks_dir(l, dir, im);
}

static int add_bottlerocket(struct ssm_list *l, const struct sim_image *im)
{
    const char *suffix;
    char base[256], name[512];
    int rc;

    if (strcmp(im->variant, "standard") == 0)
        suffix = "";
    else if (strcmp(im->variant, "nvidia") == 0)
        suffix = "-nvidia";
    else
        return 0;
    snprintf(base, sizeof base, "/aws/service/bottlerocket/aws-k8s-%s%s/%s", im->k8s, suffix,
             im->arch);
    if (im->latest) {
        snprintf(name, sizeof name, "%s/latest/image_id", base);
        if ((rc = list_add(l, name, im->id, 1, im->created)) != 0)
            return rc;
        snprintf(name, sizeof name, "%s/latest/image_version", base);
        if ((rc = list_add(l, name, release_bare(im), 0, im->created)) != 0)
            return rc;
    }
    snprintf(name, sizeof name, "%s/%s/image_id", base, release_bare(im));
    if ((rc = list_add(l, name, im->id, 1, im->created)) != 0)
        return rc;
    snprintf(name, sizeof name, "%s/%s/image_version", base, release_bare(im));
    return list_add(l, name, release_bare(im), 0, im->created);
}

static int add_windows(struct ssm_list *l, const struct sim_image *im, const char *year)
{
    char name[512];

    /* Windows publishes only the newest image per Kubernetes version. */
    if (!im->latest)
        return 0;
    snprintf(name, sizeof name,
             "/aws/service/ami-windows-latest/Windows_Server-%s-English-Core-EKS_Optimized-%s"
             "/image_id", year, im->k8s);
    return list_add(l, name, im->id, 1, im->created);
}

static int add_image(struct ssm_list *l, const struct sim_image *im)
{
    if (!im->arch || !im->variant || !im->k8s[0])
        return 0;
    switch (im->family) {
    case SIM_AMI_AL2023:
        return add_al2023(l, im);
    case SIM_AMI_AL2:
        return add_al2(l, im);
    case SIM_AMI_BOTTLEROCKET:
        return add_bottlerocket(l, im);
    case SIM_AMI_WINDOWS2019:
        return add_windows(l, im, "2019");
    case SIM_AMI_WINDOWS2022:
        return add_windows(l, im, "2022");
    case SIM_AMI_WINDOWS2025:
        return add_windows(l, im, "2025");
    case SIM_AMI_CUSTOM:
    default:
        return 0;
    }
}

/* By name; among equal names the newest first, then by value, so the survivor of a duplicate
 * is chosen the same way on every run. */
static int param_cmp(const void *pa, const void *pb)
{
    const struct sim_ssm_param *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);
    if (c)
        return c;
    if (a->modified != b->modified)
        return a->modified > b->modified ? -1 : 1;
    return strcmp(a->value, b->value);
}

int sim_ssm_build(struct sim_aws *a, struct core_err *err)
{
    struct ssm_list l;
    struct core_map *m = NULL;
    size_t w = 0;
    int rc = 0;

    memset(&l, 0, sizeof l);
    for (size_t i = 0; i < a->nimages && !rc; i++)
        rc = add_image(&l, a->images[i]);
    if (rc)
        goto fail;
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, param_cmp);
    /* Drop duplicates (two images both marked latest for one alias): the first one stays. */
    for (size_t r = 0; r < l.n; r++) {
        if (w > 0 && strcmp(l.v[w - 1].name, l.v[r].name) == 0) {
            param_free(&l.v[r]);
            continue;
        }
        l.v[w++] = l.v[r];
    }
    l.n = w;
    m = core_map_new();
    if (!m) {
        rc = CORE_E_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < l.n; i++)
        if ((rc = core_map_set(m, l.v[i].name, &l.v[i], NULL)) != 0)
            goto fail;
    sim_ssm_cleanup(a);
    a->params = l.v;
    a->nparams = l.n;
    a->param_by_name = m;
    return 0;
fail:
    core_map_free(m);
    for (size_t i = 0; i < l.n; i++)
        param_free(&l.v[i]);
    core_free(l.v);
    return core_err_set(err, rc, "sim ssm: building the public parameters: %s",
                        core_strerror(rc));
}

void sim_ssm_cleanup(struct sim_aws *a)
{
    if (!a)
        return;
    core_map_free(a->param_by_name);
    a->param_by_name = NULL;
    for (size_t i = 0; i < a->nparams; i++)
        param_free(&a->params[i]);
    core_free(a->params);
    a->params = NULL;
    a->nparams = 0;
}

/* ---- answers ------------------------------------------------------------------------------- */

void sim_json_error(struct core_http_response *resp, long status, const char *type,
                    const char *message, const char *request_id)
{
    json_t *doc = json_pack("{s:s, s:s}", "__type", type ? type : "InternalFailure", "message",
                            message ? message : "");
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

    json_decref(doc);
    core_buf_reset(&resp->body);
    resp->status = status;
    /* Headers carry the code too, so a client that cannot parse the body still learns it.
     * A failed header append leaves a shorter but still meaningful answer. */
    if (core_http_response_add_header(resp, "Content-Type", "application/x-amz-json-1.1") != 0 ||
        core_http_response_add_header(resp, "x-amzn-RequestId", request_id ? request_id : "") !=
            0 ||
        core_http_response_add_header(resp, "X-Amzn-ErrorType", type ? type : "InternalFailure") !=
            0)
        resp->status = 500;
    if (!text || core_buf_append_str(&resp->body, text) != 0)
        core_buf_reset(&resp->body);
    free(text);
}

/* An error with a formatted message. */
static void ssm_fail(struct core_http_response *resp, const char *request_id, const char *type,
                     const char *fmt, ...) CORE_PRINTF(4, 5);
static void ssm_fail(struct core_http_response *resp, const char *request_id, const char *type,
                     const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sim_json_error(resp, 400, type, msg, request_id);
}

/* Serialises doc as the 200 answer; a document that cannot be written (memory, the body's
 * limit) becomes a 500 instead of a truncated answer. */
static void ssm_answer(struct core_http_response *resp, const char *request_id, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

    core_buf_reset(&resp->body);
    if (!text || core_buf_append_str(&resp->body, text) != 0) {
        free(text);
        sim_json_error(resp, 500, "InternalServerError", "the answer could not be written",
                       request_id);
        return;
    }
    free(text);
    resp->status = 200;
    if (core_http_response_add_header(resp, "Content-Type", "application/x-amz-json-1.1") != 0 ||
        core_http_response_add_header(resp, "x-amzn-RequestId", request_id ? request_id : "") !=
            0)
        sim_json_error(resp, 500, "InternalServerError", "the answer could not be written",
                       request_id);
}

static json_t *param_json(const struct sim_aws *a, const struct sim_ssm_param *p)
{
    char arn[SSM_NAME_MAX + 128];
    /* Seconds with a fraction, as AWS writes timestamps in JSON 1.1 (milliseconds kept). */
    double when = (double)(p->modified / CORE_NS_PER_MS) / 1000.0;

    /* Public parameters live in no account: the ARN's account field is empty. */
    snprintf(arn, sizeof arn, "arn:aws:ssm:%s::parameter%s", a->region, p->name);
    return json_pack("{s:s, s:s, s:s, s:I, s:f, s:s, s:s}", "Name", p->name, "Type", p->type,
                     "Value", p->value, "Version", (json_int_t)p->version, "LastModifiedDate",
                     when, "ARN", arn, "DataType", p->data_type);
}

/* A name as a bounded printable quote for messages. */
static void quote(const char *s, char *out, size_t outsz)
{
    size_t n = 0;
    for (; *s && n + 4 < outsz && n < SSM_QUOTE_MAX; s++)
        out[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    if (*s && n + 4 < outsz) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* Looks a name up; a ":1" version selector is accepted (every parameter is at version 1). */
static const struct sim_ssm_param *param_lookup(const struct sim_aws *a, const char *name)
{
    const char *colon = strrchr(name, ':');
    const char *slash = strrchr(name, '/');
    char bare[SSM_NAME_MAX + 1];
    size_t n;

    if (!a->param_by_name)
        return NULL;
    if (!colon || (slash && colon < slash))
        return core_map_get(a->param_by_name, name, NULL);
    if (strcmp(colon + 1, "1") != 0)
        return NULL;
    n = (size_t)(colon - name);
    if (n > SSM_NAME_MAX)
        return NULL;
    memcpy(bare, name, n);
    bare[n] = '\0';
    return core_map_get(a->param_by_name, bare, NULL);
}

/* A parameter name as the request gave it: a string of 1..2048 bytes. Returns 0 or writes the
 * ValidationException and returns -1. */
static int check_name(json_t *v, const char *field, struct core_http_response *resp,
                      const char *request_id, const char **out)
{
    size_t n;

    if (!json_is_string(v)) {
        ssm_fail(resp, request_id, "ValidationException",
                 "1 validation error detected: Value at '%s' failed to satisfy constraint: "
                 "Member must not be null and must be a string", field);
        return -1;
    }
    n = json_string_length(v);
    if (n < 1 || n > SSM_NAME_MAX || strlen(json_string_value(v)) != n) {
        ssm_fail(resp, request_id, "ValidationException",
                 "1 validation error detected: Value at '%s' failed to satisfy constraint: "
                 "Member must have length between 1 and %u", field, SSM_NAME_MAX);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static void op_get_parameter(struct sim_aws *a, json_t *req, const char *rid,
                             struct core_http_response *resp)
{
    const struct sim_ssm_param *p;
    const char *name;
    json_t *wd = json_object_get(req, "WithDecryption"), *doc, *pj;
    char q[SSM_QUOTE_MAX + 8];

    if (check_name(json_object_get(req, "Name"), "name", resp, rid, &name) != 0)
        return;
    if (wd && !json_is_boolean(wd)) {
        ssm_fail(resp, rid, "SerializationException", "WithDecryption must be a boolean");
        return;
    }
    p = param_lookup(a, name);
    if (!p) {
        quote(name, q, sizeof q);
        ssm_fail(resp, rid, "ParameterNotFound", "Parameter %s not found.", q);
        return;
    }
    pj = param_json(a, p);
    doc = pj ? json_pack("{s:o}", "Parameter", pj) : NULL;
    ssm_answer(resp, rid, doc);
    json_decref(doc);
}

static void op_get_parameters(struct sim_aws *a, json_t *req, const char *rid,
                              struct core_http_response *resp)
{
    json_t *names = json_object_get(req, "Names"), *wd = json_object_get(req, "WithDecryption");
    json_t *found = NULL, *invalid = NULL, *doc = NULL, *v;
    size_t i;

    if (!json_is_array(names) || json_array_size(names) < 1 ||
        json_array_size(names) > SSM_NAMES_MAX) {
        ssm_fail(resp, rid, "ValidationException",
                 "1 validation error detected: Value at 'names' failed to satisfy constraint: "
                 "Member must have length less than or equal to %u and greater than or equal "
                 "to 1", SSM_NAMES_MAX);
        return;
    }
    if (wd && !json_is_boolean(wd)) {
        ssm_fail(resp, rid, "SerializationException", "WithDecryption must be a boolean");
        return;
    }
    json_array_foreach(names, i, v) {
        const char *name;
        if (check_name(v, "names", resp, rid, &name) != 0)
            return;
    }
    found = json_array();
    invalid = json_array();
    if (!found || !invalid)
        goto done;
    json_array_foreach(names, i, v) {
        const char *name = json_string_value(v);
        const struct sim_ssm_param *p = param_lookup(a, name);
        int dup = 0;
        size_t j;
        json_t *w;
        /* A name asked for twice is answered once, as AWS does. */
        for (j = 0; j < i && !dup; j++)
            dup = strcmp(json_string_value(json_array_get(names, j)), name) == 0;
        if (dup)
            continue;
        if (p) {
            if (json_array_append_new(found, param_json(a, p)) != 0)
                goto done;
        } else {
            w = json_string(name);
            if (json_array_append_new(invalid, w) != 0)
                goto done;
        }
    }
    doc = json_pack("{s:O, s:O}", "Parameters", found, "InvalidParameters", invalid);
done:
    ssm_answer(resp, rid, doc);
    json_decref(doc);
    json_decref(found);
    json_decref(invalid);
}

/* NextToken: the index of the next match, bound to the query it belongs to. */
static uint64_t path_key(const char *path, int recursive)
{
    return sim_hash(path, recursive ? 0x5253u : 0x4e52u);
}

static void token_make(char *out, size_t outsz, const char *path, int recursive, size_t idx)
{
    snprintf(out, outsz, "%016llx.%zx", (unsigned long long)path_key(path, recursive), idx);
}

static int token_parse(const char *tok, const char *path, int recursive, size_t nparams,
                       size_t *idx)
{
    char want[24];
    const char *dot = strchr(tok, '.');
    size_t v = 0;

    snprintf(want, sizeof want, "%016llx", (unsigned long long)path_key(path, recursive));
    if (!dot || (size_t)(dot - tok) != 16 || strncmp(tok, want, 16) != 0 || !dot[1] ||
        strlen(dot + 1) > 12)
        return -1;
    for (const char *s = dot + 1; *s; s++) {
        int d = (*s >= '0' && *s <= '9') ? *s - '0' : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + (size_t)d;
    }
    if (v > nparams)
        return -1;
    *idx = v;
    return 0;
}

/* Does name lie under prefix (which ends with '/') and, unless recursive, directly so? */
static int path_match(const char *name, const char *prefix, size_t plen, int recursive)
{
    if (strncmp(name, prefix, plen) != 0 || !name[plen])
        return 0;
    return recursive || strchr(name + plen, '/') == NULL;
}

static void op_get_parameters_by_path(struct sim_aws *a, json_t *req, const char *rid,
                                      struct core_http_response *resp)
{
    json_t *jrec = json_object_get(req, "Recursive"), *jmax = json_object_get(req, "MaxResults");
    json_t *jtok = json_object_get(req, "NextToken"), *jwd = json_object_get(req, "WithDecryption");
    json_t *list = NULL, *doc = NULL;
    const char *path;
    char prefix[SSM_NAME_MAX + 2], tok[64];
    size_t plen, lo = 0, hi = a->nparams, i;
    int recursive = 0, max = SSM_PAGE_MAX, count = 0;

    if (check_name(json_object_get(req, "Path"), "path", resp, rid, &path) != 0)
        return;
    if (path[0] != '/') {
        ssm_fail(resp, rid, "ValidationException",
                 "The parameter doesn't meet the parameter name requirements. The parameter "
                 "name must begin with a forward slash \"/\".");
        return;
    }
    if ((jrec && !json_is_boolean(jrec)) || (jwd && !json_is_boolean(jwd)) ||
        (jmax && !json_is_integer(jmax)) || (jtok && !json_is_string(jtok))) {
        ssm_fail(resp, rid, "SerializationException",
                 "Recursive and WithDecryption must be booleans, MaxResults an integer and "
                 "NextToken a string");
        return;
    }
    recursive = jrec ? json_is_true(jrec) : 0;
    if (jmax) {
        json_int_t m = json_integer_value(jmax);
        if (m < 1 || m > SSM_PAGE_MAX) {
            ssm_fail(resp, rid, "ValidationException",
                     "1 validation error detected: Value '%lld' at 'maxResults' failed to "
                     "satisfy constraint: Member must have value less than or equal to %d and "
                     "greater than or equal to 1", (long long)m, SSM_PAGE_MAX);
            return;
        }
        max = (int)m;
    }
    /* "/a/b" and "/a/b/" name the same path; "/" is the root. */
    plen = strlen(path);
    memcpy(prefix, path, plen + 1);
    if (prefix[plen - 1] != '/') {
        prefix[plen++] = '/';
        prefix[plen] = '\0';
    }
    /* Lower bound of the prefix in the sorted array. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(a->params[mid].name, prefix) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (jtok) {
        size_t at;
        if (token_parse(json_string_value(jtok), prefix, recursive, a->nparams, &at) != 0 ||
            at < lo) {
            ssm_fail(resp, rid, "InvalidNextToken", "The nextToken is not valid.");
            return;
        }
        lo = at;
    }
    list = json_array();
    if (!list)
        goto done;
    tok[0] = '\0';
    for (i = lo; i < a->nparams; i++) {
        const struct sim_ssm_param *p = &a->params[i];
        if (strncmp(p->name, prefix, plen) != 0)
            break; /* past the contiguous run of the prefix */
        if (!path_match(p->name, prefix, plen, recursive))
            continue;
        if (count == max) {
            token_make(tok, sizeof tok, prefix, recursive, i);
            break;
        }
        if (json_array_append_new(list, param_json(a, p)) != 0)
            goto done;
        count++;
    }
    doc = json_pack("{s:O}", "Parameters", list);
    if (doc && tok[0] && json_object_set_new(doc, "NextToken", json_string(tok)) != 0) {
        json_decref(doc);
        doc = NULL;
    }
done:
    ssm_answer(resp, rid, doc);
    json_decref(doc);
    json_decref(list);
}

void sim_ssm_handle(struct sim_aws *a, const char *op, const char *body, size_t body_len,
                    const char *request_id, struct core_http_response *resp)
{
    json_error_t jerr;
    json_t *req;

    if (!op || (strcmp(op, "GetParameter") != 0 && strcmp(op, "GetParameters") != 0 &&
                strcmp(op, "GetParametersByPath") != 0)) {
        char q[SSM_QUOTE_MAX + 8];
        quote(op ? op : "", q, sizeof q);
        ssm_fail(resp, request_id, "UnknownOperationException",
                 "The operation %s is not supported by this endpoint", q);
        return;
    }
    if (body_len > SSM_BODY_MAX) {
        ssm_fail(resp, request_id, "SerializationException", "the request document is larger "
                 "than %u bytes", SSM_BODY_MAX);
        return;
    }
    req = json_loadb(body ? body : "", body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(req)) {
        json_decref(req);
        ssm_fail(resp, request_id, "SerializationException",
                 "the request body is not a JSON object");
        return;
    }
    if (strcmp(op, "GetParameter") == 0)
        op_get_parameter(a, req, request_id, resp);
    else if (strcmp(op, "GetParameters") == 0)
        op_get_parameters(a, req, request_id, resp);
    else
        op_get_parameters_by_path(a, req, request_id, resp);
    json_decref(req);
}
