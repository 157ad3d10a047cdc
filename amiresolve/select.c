/*
 * amiresolve/select.c — the pure selection layer: the requirements each AMI carries, the
 * choice rule between images with equal requirements, folding images into one result per
 * distinct requirement set, the AMI an instance type gets, and the EC2NodeClass status
 * (amis[] and the AMIsReady condition) from an outcome.
 *
 * Invariants:
 *  - No I/O and no clock: "deprecated" is decided by the caller's wall time.
 *  - A result holds at most one AMI per requirement set (arch + variant); its order is total
 *    (amiresolve_result_sort), so the same images always give the same result.
 *  - Every function writes its out-parameters only on success and frees what it built on
 *    failure.
 */
#include "amiresolve/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- requirements ------------------------------------------------------------------------ */

static void req_cleanup(struct k8s_requirement *r)
{
    core_free(r->key);
    k8s_strings_cleanup(&r->values);
    memset(r, 0, sizeof *r);
}

static void reqs_free(struct k8s_requirement *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        req_cleanup(&v[i]);
    core_free(v);
}

/* Sets *r to {key, op, [value]} (value may be NULL: no values). */
static int req_set(struct k8s_requirement *r, const char *key, enum k8s_op op, const char *value)
{
    memset(r, 0, sizeof *r);
    r->key = core_strdup(key);
    r->op = op;
    if (!r->key)
        return CORE_E_NOMEM;
    if (value) {
        r->values.v = core_calloc(1, sizeof *r->values.v);
        if (!r->values.v || !(r->values.v[0] = core_strdup(value))) {
            req_cleanup(r);
            return CORE_E_NOMEM;
        }
        r->values.n = 1;
    }
    return 0;
}

static int req_copy(struct k8s_requirement *dst, const struct k8s_requirement *src)
{
    memset(dst, 0, sizeof *dst);
    dst->key = core_strdup(src->key);
    dst->op = src->op;
    dst->min_values = src->min_values;
    if (!dst->key)
        return CORE_E_NOMEM;
    if (src->values.n) {
        dst->values.v = core_calloc(src->values.n, sizeof *dst->values.v);
        if (!dst->values.v) {
            req_cleanup(dst);
            return CORE_E_NOMEM;
        }
        for (size_t i = 0; i < src->values.n; i++) {
            dst->values.v[i] = core_strdup(src->values.v[i]);
            dst->values.n = i + 1;
            if (!dst->values.v[i]) {
                req_cleanup(dst);
                return CORE_E_NOMEM;
            }
        }
    }
    return 0;
}

/* arch In [arch]; standard: no GPU and no accelerator; nvidia: GPU count exists; neuron:
 * accelerator count exists; "" (selector terms): nothing more. */
static int build_requirements(const char *arch, const char *variant,
                              struct k8s_requirement **out, size_t *nout)
{
    struct k8s_requirement *v = core_calloc(3, sizeof *v);
    size_t n = 0;
    int rc;

    if (!v)
        return CORE_E_NOMEM;
    rc = req_set(&v[n++], AMIRESOLVE_KEY_ARCH, K8S_OP_IN, arch);
    if (!rc && strcmp(variant, "standard") == 0) {
        rc = req_set(&v[n++], AMIRESOLVE_KEY_GPU, K8S_OP_DOES_NOT_EXIST, NULL);
        if (!rc)
            rc = req_set(&v[n++], AMIRESOLVE_KEY_ACCEL, K8S_OP_DOES_NOT_EXIST, NULL);
    } else if (!rc && strcmp(variant, "nvidia") == 0) {
        rc = req_set(&v[n++], AMIRESOLVE_KEY_GPU, K8S_OP_EXISTS, NULL);
    } else if (!rc && strcmp(variant, "neuron") == 0) {
        rc = req_set(&v[n++], AMIRESOLVE_KEY_ACCEL, K8S_OP_EXISTS, NULL);
    }
    if (rc) {
        reqs_free(v, n);
        return rc;
    }
    *out = v;
    *nout = n;
    return 0;
}

/* ---- one AMI ------------------------------------------------------------------------------ */

void amiresolve_ami_cleanup(struct amiresolve_ami *a)
{
    if (!a)
        return;
    core_free(a->id);
    core_free(a->name);
    core_free(a->source);
    reqs_free(a->requirements, a->nrequirements);
    memset(a, 0, sizeof *a);
}

int amiresolve_ami_from_image(const struct aws_ec2_image *img, const char *variant,
                              const char *source, core_ns wall_now, struct amiresolve_ami *out,
                              struct core_err *err)
{
    struct amiresolve_ami a;
    const char *arch;
    int rc;

    if (!img || !img->image_id || !out)
        return core_err_set(err, CORE_E_PARSE, "DescribeImages: an image without an id");
    if (img->architecture && strcmp(img->architecture, "x86_64") == 0)
        arch = "amd64";
    else if (img->architecture && strcmp(img->architecture, "arm64") == 0)
        arch = "arm64";
    else
        return core_err_set(err, CORE_E_UNSUPPORTED, "image %s: architecture %s is not one "
                            "Kubernetes nodes run (x86_64, arm64)", img->image_id,
                            img->architecture ? img->architecture : "(none)");
    memset(&a, 0, sizeof a);
    core_strlcpy(a.arch, arch, sizeof a.arch);
    core_strlcpy(a.variant, variant ? variant : "", sizeof a.variant);
    a.created = img->creation_date;
    a.deprecation_time = img->deprecation_time;
    a.deprecated = img->deprecation_time != 0 && img->deprecation_time <= wall_now;
    a.id = core_strdup(img->image_id);
    a.name = core_strdup(img->name ? img->name : "");
    a.source = core_strdup(source ? source : "");
    rc = a.id && a.name && a.source ? 0 : CORE_E_NOMEM;
    if (!rc)
        rc = build_requirements(a.arch, a.variant, &a.requirements, &a.nrequirements);
    if (rc) {
        amiresolve_ami_cleanup(&a);
        return core_err_set(err, rc, "amiresolve: out of memory");
    }
    *out = a;
    return 0;
}

int amiresolve_ami_copy(struct amiresolve_ami *dst, const struct amiresolve_ami *src)
{
    struct amiresolve_ami a;

    memset(&a, 0, sizeof a);
    memcpy(a.arch, src->arch, sizeof a.arch);
    memcpy(a.variant, src->variant, sizeof a.variant);
    a.created = src->created;
    a.deprecation_time = src->deprecation_time;
    a.deprecated = src->deprecated;
    a.id = src->id ? core_strdup(src->id) : NULL;
    a.name = src->name ? core_strdup(src->name) : NULL;
    a.source = src->source ? core_strdup(src->source) : NULL;
    if ((src->id && !a.id) || (src->name && !a.name) || (src->source && !a.source))
        goto fail;
    if (src->nrequirements) {
        a.requirements = core_calloc(src->nrequirements, sizeof *a.requirements);
        if (!a.requirements)
            goto fail;
        for (size_t i = 0; i < src->nrequirements; i++) {
            if (req_copy(&a.requirements[i], &src->requirements[i]) != 0)
                goto fail;
            a.nrequirements = i + 1;
        }
    }
    *dst = a;
    return 0;
fail:
    amiresolve_ami_cleanup(&a);
    return CORE_E_NOMEM;
}

/* ---- choice rule, folding, order ------------------------------------------------------------ */

int amiresolve_better(const struct amiresolve_ami *x, const struct amiresolve_ami *y)
{
    int c;
    if (x->deprecated != y->deprecated)
        return x->deprecated ? 1 : -1;
    if (x->created != y->created)
        return x->created > y->created ? -1 : 1;
    c = strcmp(x->name ? x->name : "", y->name ? y->name : "");
    return c > 0 ? -1 : c < 0 ? 1 : 0;
}

int amiresolve_result_fold(struct amiresolve_result *r, struct amiresolve_ami *a)
{
    struct amiresolve_ami *nv;

    for (size_t i = 0; i < r->n; i++) {
        struct amiresolve_ami *cur = &r->v[i];
        if (strcmp(cur->arch, a->arch) != 0 || strcmp(cur->variant, a->variant) != 0)
            continue;
        /* Equal images (the same id found by two terms) keep the first. */
        if (amiresolve_better(a, cur) < 0) {
            amiresolve_ami_cleanup(cur);
            *cur = *a;
            memset(a, 0, sizeof *a);
        } else {
            amiresolve_ami_cleanup(a);
        }
        return 0;
    }
    nv = core_realloc(r->v, (r->n + 1) * sizeof *nv);
    if (!nv) {
        amiresolve_ami_cleanup(a);
        return CORE_E_NOMEM;
    }
    r->v = nv;
    r->v[r->n++] = *a;
    memset(a, 0, sizeof *a);
    return 0;
}

static int cmp_ami(const void *p, const void *q)
{
    const struct amiresolve_ami *x = p, *y = q;
    int c = amiresolve_better(x, y);
    if (c)
        return c;
    if ((c = strcmp(x->arch, y->arch)) != 0)
        return c;
    if ((c = strcmp(x->variant, y->variant)) != 0)
        return c;
    return strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

void amiresolve_result_sort(struct amiresolve_result *r)
{
    if (r && r->n > 1)
        qsort(r->v, r->n, sizeof *r->v, cmp_ami);
}

void amiresolve_result_cleanup(struct amiresolve_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        amiresolve_ami_cleanup(&r->v[i]);
    core_free(r->v);
    memset(r, 0, sizeof *r);
}

int amiresolve_result_copy(struct amiresolve_result *dst, const struct amiresolve_result *src)
{
    struct amiresolve_result r;

    if (!dst || !src)
        return CORE_E_INVAL;
    memset(&r, 0, sizeof r);
    memcpy(r.k8s, src->k8s, sizeof r.k8s);
    r.family = src->family;
    if (src->n) {
        r.v = core_calloc(src->n, sizeof *r.v);
        if (!r.v)
            return CORE_E_NOMEM;
        for (size_t i = 0; i < src->n; i++) {
            if (amiresolve_ami_copy(&r.v[i], &src->v[i]) != 0) {
                amiresolve_result_cleanup(&r);
                return CORE_E_NOMEM;
            }
            r.n = i + 1;
        }
    }
    *dst = r;
    return 0;
}

/* ---- instance types ------------------------------------------------------------------------ */

const struct amiresolve_ami *amiresolve_for_type(const struct amiresolve_result *r,
                                                 const struct launcher_itype *t)
{
    struct k8s_labels labels = {NULL, 0};
    const struct amiresolve_ami *found = NULL;
    char num[32];

    if (!r || !t || !t->arch)
        return NULL;
    if (k8s_labels_set(&labels, AMIRESOLVE_KEY_ARCH, t->arch) != 0)
        goto done;
    if (t->gpu_count > 0) {
        snprintf(num, sizeof num, "%" PRId32, t->gpu_count);
        if (k8s_labels_set(&labels, AMIRESOLVE_KEY_GPU, num) != 0)
            goto done;
    }
    if (t->accelerator_count > 0) {
        snprintf(num, sizeof num, "%" PRId32, t->accelerator_count);
        if (k8s_labels_set(&labels, AMIRESOLVE_KEY_ACCEL, num) != 0)
            goto done;
    }
    for (size_t i = 0; i < r->n && !found; i++) {
        int ok = 1;
        for (size_t j = 0; j < r->v[i].nrequirements && ok; j++)
            ok = k8s_requirement_matches(&r->v[i].requirements[j], &labels);
        if (ok)
            found = &r->v[i];
    }
done:
    k8s_labels_cleanup(&labels);
    return found;
}

/* ---- status -------------------------------------------------------------------------------- */


static json_t *ami_json(const struct amiresolve_ami *a)
{
    json_t *o = json_object(), *reqs = json_array();

    if (!o || !reqs)
        goto fail;
    if (json_object_set_new(o, "id", json_string(a->id ? a->id : "")) != 0 ||
        json_object_set_new(o, "name", json_string(a->name ? a->name : "")) != 0 ||
        json_object_set_new(o, "deprecated", json_boolean(a->deprecated)) != 0)
        goto fail;
    for (size_t i = 0; i < a->nrequirements; i++) {
        const struct k8s_requirement *q = &a->requirements[i];
        json_t *rj = json_object();
        if (!rj || json_array_append_new(reqs, rj) != 0 ||
            json_object_set_new(rj, "key", json_string(q->key ? q->key : "")) != 0 ||
            json_object_set_new(rj, "operator", json_string(k8s_op_name(q->op))) != 0)
            goto fail;
        if (q->values.n) {
            json_t *vals = json_array();
            if (!vals || json_object_set_new(rj, "values", vals) != 0)
                goto fail;
            for (size_t k = 0; k < q->values.n; k++)
                if (json_array_append_new(vals, json_string(q->values.v[k])) != 0)
                    goto fail;
        }
    }
    if (json_object_set_new(o, "requirements", reqs) != 0) {
        reqs = NULL;
        goto fail;
    }
    return o;
fail:
    json_decref(reqs);
    json_decref(o);
    return NULL;
}

void amiresolve_condition_cleanup(struct k8s_condition *cond)
{
    if (!cond)
        return;
    core_free(cond->type);
    core_free(cond->reason);
    core_free(cond->message);
    memset(cond, 0, sizeof *cond);
}

int amiresolve_status(const struct amiresolve_result *r, int rc, const struct core_err *err,
                      json_t **amis, struct k8s_condition *cond)
{
    struct k8s_condition c;
    json_t *arr;
    char msg[CORE_ERR_MSG_MAX + CORE_ERR_CODE_MAX + 64];
    const char *reason;
    const char *detail = err && err->message[0] ? err->message : core_strerror(rc);

    if (!amis || !cond || (rc == 0 && !r))
        return CORE_E_INVAL;
    memset(&c, 0, sizeof c);
    arr = json_array();
    if (!arr)
        return CORE_E_NOMEM;
    if (rc == 0 && r->n > 0) {
        for (size_t i = 0; i < r->n; i++) {
            json_t *o = ami_json(&r->v[i]);
            if (!o || json_array_append_new(arr, o) != 0) {
                json_decref(arr);
                return CORE_E_NOMEM;
            }
        }
        c.status = K8S_COND_TRUE;
        reason = "AMIsResolved";
        snprintf(msg, sizeof msg, "%zu AMIs resolved", r->n);
    } else {
        c.status = K8S_COND_FALSE;
        if (rc == 0 || rc == CORE_E_NOTFOUND) {
            reason = "AMINotFound";
            snprintf(msg, sizeof msg, "%s",
                     rc == 0 ? "no AMI matched spec.amiSelectorTerms" : detail);
        } else if (rc == CORE_E_UNSUPPORTED) {
            reason = "AliasUnsupported";
            snprintf(msg, sizeof msg, "%s", detail);
        } else if (rc == CORE_E_INVAL) {
            reason = "InvalidAMISelector";
            snprintf(msg, sizeof msg, "%s", detail);
        } else {
            reason = "AWSError";
            if (err && err->service_code[0])
                snprintf(msg, sizeof msg, "resolving AMIs: %s: %s", err->service_code, detail);
            else
                snprintf(msg, sizeof msg, "resolving AMIs: %s: %s", core_strerror(rc), detail);
        }
    }
    c.type = core_strdup("AMIsReady");
    c.reason = core_strdup(reason);
    c.message = core_strdup(msg);
    if (!c.type || !c.reason || !c.message) {
        amiresolve_condition_cleanup(&c);
        json_decref(arr);
        return CORE_E_NOMEM;
    }
    *amis = arr;
    *cond = c;
    return 0;
}
