/*
 * amiresolve/resolver.c — the asynchronous resolver: an EC2NodeClass's amiSelectorTerms (or one
 * alias) to the best AMI per requirement set, through SSM GetParameters and EC2 DescribeImages
 * on an aws_client, with a cache on the client's loop clock and call counters.
 *
 * How a resolution runs (a "job"): every term starts at once — an alias or ssmParameter term
 * with GetParameters, then DescribeImages by the ids found; id, name, owner and tags terms with
 * one DescribeImages (state=available, deprecated images included). Each answer is folded into
 * the job's result (best image per requirement set); when the last call returns, the result is
 * sorted, cached and delivered to every waiter (identical requests made meanwhile join the job
 * instead of calling AWS again).
 *
 * Invariants:
 *  - Callbacks never run inside amiresolve_resolve / amiresolve_resolve_alias: cached answers
 *    come from a zero-delay loop timer, others from the aws_client's callbacks.
 *  - A job outlives the resolver when the resolver is freed with calls in flight: its waiters
 *    are told CORE_E_CANCELLED from inside amiresolve_free, job->r becomes NULL, and the job
 *    frees itself when its last aws call comes back (from the loop or from aws_client_free).
 *    Nothing reachable from such a job points at the freed resolver.
 *  - A job is unlinked from the resolver before its waiters are called, so a waiter may free
 *    the resolver or start another resolution from its callback.
 *  - A cached answer whose image, not deprecated when resolved, has since passed its
 *    deprecation time is dropped on lookup (early_evictions) and resolved again.
 */
#include "amiresolve/internal.h"

#include <stdio.h>
#include <string.h>

#define TERMS_MAX 30u
#define TAGS_MAX 50u
#define KEY_MAX 65536u
#define NOTFOUND_MSG_MAX 400u

struct amiresolve_job;

enum term_kind { TERM_ALIAS = 1, TERM_ID, TERM_FILTER, TERM_SSM };

/* One selector term of a job, with everything its calls need after the caller's structures
 * are gone. */
struct term {
    struct amiresolve_job *job;
    size_t index;
    enum term_kind kind;
    struct amiresolve_alias alias;
    struct amiresolve_param params[AMIRESOLVE_PARAM_MAX];
    size_t nparams;
    char *param_ids[AMIRESOLVE_PARAM_MAX]; /* the id each alias parameter names, or NULL */
    char *id;    /* id term; ssmParameter term: the id the parameter holds */
    char *name;
    char *owner;
    char **tag_keys, **tag_values;
    size_t ntags;
    char *ssm;
    char *source;
};

struct waiter {
    amiresolve_fn cb;
    void *ud;
};

struct amiresolve_job {
    struct amiresolve *r; /* NULL once the resolver is gone */
    struct amiresolve_job *prev, *next;
    char *key;
    int is_alias;
    unsigned pending; /* aws calls outstanding */
    int rc;
    struct core_err err;
    struct amiresolve_result res;
    struct term *terms;
    size_t nterms;
    struct waiter *w;
    size_t nw;
};

/* A cached answer on its way to the caller (zero-delay timer). */
struct delivery {
    struct amiresolve *r;
    struct delivery *prev, *next;
    struct core_timer *timer;
    amiresolve_fn cb;
    void *ud;
    struct amiresolve_result res;
};

struct entry {
    struct amiresolve_result res;
    core_ns expires; /* loop monotonic time */
    unsigned long seq;
};

struct amiresolve {
    struct aws_client *client;
    struct core_loop *loop;
    struct amiresolve_opts opts;
    struct core_map *cache;    /* key -> struct entry */
    struct core_map *inflight; /* key -> struct amiresolve_job */
    struct amiresolve_job *jobs;
    struct delivery *deliveries;
    unsigned long seq;
    int closing;
    struct amiresolve_stats stats;
};

/* ---- small helpers ----------------------------------------------------------------------- */

static core_ns wall_now(const struct amiresolve *r)
{
    return core_clock_wall(core_loop_clock(r->loop));
}

static void term_cleanup(struct term *t)
{
    for (size_t i = 0; i < t->nparams; i++)
        core_free(t->param_ids[i]);
    core_free(t->id);
    core_free(t->name);
    core_free(t->owner);
    for (size_t i = 0; i < t->ntags; i++) {
        core_free(t->tag_keys[i]);
        core_free(t->tag_values[i]);
    }
    core_free(t->tag_keys);
    core_free(t->tag_values);
    core_free(t->ssm);
    core_free(t->source);
}

static void job_free(struct amiresolve_job *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->nterms; i++)
        term_cleanup(&j->terms[i]);
    core_free(j->terms);
    core_free(j->w);
    core_free(j->key);
    amiresolve_result_cleanup(&j->res);
    core_free(j);
}

static int dup_or_null(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    *out = core_strdup(s);
    return *out ? 0 : CORE_E_NOMEM;
}

static int nonempty(const char *s)
{
    return s && s[0];
}

/* "ami-" followed by 8 or 17 lowercase hex digits. */
static int ami_id_ok(const char *s)
{
    size_t n = 0;
    if (strncmp(s, "ami-", 4) != 0)
        return 0;
    while ((s[4 + n] >= '0' && s[4 + n] <= '9') || (s[4 + n] >= 'a' && s[4 + n] <= 'f'))
        n++;
    return s[4 + n] == '\0' && (n == 8 || n == 17);
}

/* ---- planning: terms -> job ------------------------------------------------------------------ */

static int job_new(size_t nterms, struct amiresolve_job **out)
{
    struct amiresolve_job *j = core_calloc(1, sizeof *j);
    if (!j)
        return CORE_E_NOMEM;
    j->terms = core_calloc(nterms ? nterms : 1, sizeof *j->terms);
    if (!j->terms) {
        core_free(j);
        return CORE_E_NOMEM;
    }
    for (size_t i = 0; i < nterms; i++) {
        j->terms[i].job = j;
        j->terms[i].index = i;
    }
    *out = j;
    return 0;
}

static int plan_alias(struct term *t, const struct amiresolve_alias *a, const char *k8s,
                      const char *field, struct core_err *err)
{
    int rc;
    t->kind = TERM_ALIAS;
    t->alias = *a;
    rc = amiresolve_alias_params(a, k8s, t->params, AMIRESOLVE_PARAM_MAX, &t->nparams, err);
    if (rc) {
        if (field)
            core_err_prefix(err, "%s", field);
        return rc;
    }
    return 0;
}

static int plan_term(struct term *t, const struct k8s_ami_term *src, size_t i, size_t nterms,
                     const char *k8s, struct core_err *err)
{
    char field[64];
    struct core_buf b;
    int others = nonempty(src->id) + nonempty(src->name) + nonempty(src->owner) +
                 nonempty(src->ssm_parameter) + (src->tags.n > 0);
    int rc;

    if (nonempty(src->alias)) {
        struct amiresolve_alias a;
        snprintf(field, sizeof field, "spec.amiSelectorTerms[%zu].alias", i);
        if (others)
            return core_err_set(err, CORE_E_INVAL, "%s: an alias must be alone in its term "
                                "(no id, name, owner, tags or ssmParameter)", field);
        if (nterms > 1)
            return core_err_set(err, CORE_E_INVAL, "%s: an alias must be the only term of "
                                "amiSelectorTerms (found %zu terms)", field, nterms);
        if ((rc = amiresolve_alias_parse(src->alias, field, &a, err)) != 0)
            return rc;
        return plan_alias(t, &a, k8s, field, err);
    }
    if (!others)
        return core_err_set(err, CORE_E_INVAL, "spec.amiSelectorTerms[%zu]: empty term; give "
                            "one of alias, id, name, tags or ssmParameter", i);
    if (nonempty(src->id)) {
        if (others > 1)
            return core_err_set(err, CORE_E_INVAL, "spec.amiSelectorTerms[%zu].id: an id "
                                "cannot be combined with name, owner, tags or ssmParameter", i);
        if (!ami_id_ok(src->id))
            return core_err_set(err, CORE_E_INVAL, "spec.amiSelectorTerms[%zu].id: \"%.80s\" "
                                "is not an AMI id (ami- and 8 or 17 hex digits)", i, src->id);
        t->kind = TERM_ID;
        if (dup_or_null(src->id, &t->id) || !(t->source = core_strdup("id")))
            return core_err_set(err, CORE_E_NOMEM, "amiresolve: out of memory");
        return 0;
    }
    if (nonempty(src->ssm_parameter)) {
        if (others > 1)
            return core_err_set(err, CORE_E_INVAL, "spec.amiSelectorTerms[%zu].ssmParameter: "
                                "cannot be combined with id, name, owner or tags", i);
        t->kind = TERM_SSM;
        if (dup_or_null(src->ssm_parameter, &t->ssm))
            return core_err_set(err, CORE_E_NOMEM, "amiresolve: out of memory");
        core_buf_init(&b, 4096);
        if (core_buf_appendf(&b, "ssm:%s", src->ssm_parameter) != 0 ||
            core_buf_steal(&b, &t->source, NULL) != 0) {
            core_buf_cleanup(&b);
            return core_err_set(err, CORE_E_TOOBIG, "spec.amiSelectorTerms[%zu].ssmParameter: "
                                "too long", i);
        }
        return 0;
    }
    if (!nonempty(src->name) && src->tags.n == 0)
        return core_err_set(err, CORE_E_INVAL, "spec.amiSelectorTerms[%zu].owner: an owner "
                            "needs a name or tags to go with it", i);
    if (src->tags.n > TAGS_MAX)
        return core_err_set(err, CORE_E_INVAL, "spec.amiSelectorTerms[%zu].tags: more than %u "
                            "tags", i, TAGS_MAX);
    t->kind = TERM_FILTER;
    if (dup_or_null(nonempty(src->name) ? src->name : NULL, &t->name) ||
        dup_or_null(nonempty(src->owner) ? src->owner : NULL, &t->owner))
        return core_err_set(err, CORE_E_NOMEM, "amiresolve: out of memory");
    if (src->tags.n) {
        t->tag_keys = core_calloc(src->tags.n, sizeof *t->tag_keys);
        t->tag_values = core_calloc(src->tags.n, sizeof *t->tag_values);
        if (!t->tag_keys || !t->tag_values)
            return core_err_set(err, CORE_E_NOMEM, "amiresolve: out of memory");
        for (size_t k = 0; k < src->tags.n; k++) {
            const struct k8s_kv *kv = &src->tags.v[k];
            if (!nonempty(kv->key))
                return core_err_set(err, CORE_E_INVAL, "spec.amiSelectorTerms[%zu].tags: an "
                                    "empty key", i);
            t->ntags = k + 1;
            if (dup_or_null(kv->key, &t->tag_keys[k]) ||
                dup_or_null(kv->value ? kv->value : "", &t->tag_values[k]))
                return core_err_set(err, CORE_E_NOMEM, "amiresolve: out of memory");
        }
    }
    core_buf_init(&b, 8192);
    rc = 0;
    if (t->name)
        rc = core_buf_appendf(&b, "name=%s,owner=%s", t->name, t->owner ? t->owner
                                                                         : "self|amazon");
    if (!rc && t->ntags) {
        rc = core_buf_append_str(&b, t->name ? ",tags:" : "tags:");
        for (size_t k = 0; k < t->ntags && !rc; k++)
            rc = core_buf_appendf(&b, "%s%s=%s", k ? "," : "", t->tag_keys[k],
                                  t->tag_values[k]);
        if (!rc && !t->name && t->owner)
            rc = core_buf_appendf(&b, ",owner=%s", t->owner);
    }
    if (rc || core_buf_steal(&b, &t->source, NULL) != 0) {
        core_buf_cleanup(&b);
        return core_err_set(err, CORE_E_TOOBIG, "spec.amiSelectorTerms[%zu]: too long", i);
    }
    return 0;
}

/* One length-prefixed field of the canonical key. */
static int key_field(struct core_buf *b, char tag, const char *s)
{
    if (!s)
        return 0;
    return core_buf_appendf(b, "%c%zu:%s", tag, strlen(s), s);
}

/* The canonical text of a planned job: equal requests give equal keys. */
static int job_key(struct amiresolve_job *j, const char *k8s, enum k8s_ami_family family)
{
    struct core_buf b;
    int rc;

    core_buf_init(&b, KEY_MAX);
    rc = core_buf_appendf(&b, "k8s=%s;", k8s);
    if (!rc && !j->is_alias)
        rc = core_buf_appendf(&b, "family=%d;", (int)family);
    for (size_t i = 0; i < j->nterms && !rc; i++) {
        const struct term *t = &j->terms[i];
        rc = core_buf_appendf(&b, "[%d", (int)t->kind);
        if (!rc && t->kind == TERM_ALIAS)
            rc = core_buf_appendf(&b, "a%s@%s", amiresolve_family_name(t->alias.family),
                                  t->alias.version);
        if (!rc)
            rc = key_field(&b, 'i', t->id);
        if (!rc)
            rc = key_field(&b, 'n', t->name);
        if (!rc)
            rc = key_field(&b, 'o', t->owner);
        if (!rc)
            rc = key_field(&b, 's', t->ssm);
        for (size_t k = 0; k < t->ntags && !rc; k++) {
            rc = key_field(&b, 'k', t->tag_keys[k]);
            if (!rc)
                rc = key_field(&b, 'v', t->tag_values[k]);
        }
        if (!rc)
            rc = core_buf_append_char(&b, ']');
    }
    if (!rc)
        rc = core_buf_steal(&b, &j->key, NULL);
    core_buf_cleanup(&b);
    return rc;
}

/* A short description of the terms for "nothing matched". */
static void describe_terms(const struct amiresolve_job *j, char *out, size_t outsz)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < j->nterms && len + 1 < outsz; i++) {
        const struct term *t = &j->terms[i];
        int n;
        if (t->kind == TERM_ALIAS)
            n = snprintf(out + len, outsz - len, "%s[%zu] alias %s@%s (Kubernetes %s)",
                         i ? "; " : "", i, amiresolve_family_name(t->alias.family),
                         t->alias.version, j->res.k8s);
        else if (t->kind == TERM_ID)
            n = snprintf(out + len, outsz - len, "%s[%zu] id %s", i ? "; " : "", i, t->id);
        else if (t->kind == TERM_SSM)
            n = snprintf(out + len, outsz - len, "%s[%zu] ssmParameter %s", i ? "; " : "", i,
                         t->ssm);
        else
            n = snprintf(out + len, outsz - len, "%s[%zu] %s", i ? "; " : "", i, t->source);
        if (n < 0)
            break;
        len += (size_t)n;
        if (len >= outsz)
            len = outsz - 1;
    }
}

/* ---- finishing ------------------------------------------------------------------------------ */

static void job_unlink(struct amiresolve *r, struct amiresolve_job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else if (r->jobs == j)
        r->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->prev = j->next = NULL;
    if (j->key && core_map_get(r->inflight, j->key, NULL) == j)
        core_map_del(r->inflight, j->key);
}

static void entry_free(struct entry *e)
{
    if (!e)
        return;
    amiresolve_result_cleanup(&e->res);
    core_free(e);
}

/* Stores a copy of res under key; the cache is an optimisation, so failures are ignored. */
static void cache_put(struct amiresolve *r, const char *key, const struct amiresolve_result *res,
                      int is_alias)
{
    struct entry *e, *old = NULL;

    if (!key || r->opts.max_entries == 0)
        return;
    entry_free(core_map_del(r->cache, key));
    while (core_map_len(r->cache) >= r->opts.max_entries) {
        size_t it = 0;
        const char *k, *oldest_key = NULL;
        void *v;
        unsigned long oldest = 0;
        while (core_map_next(r->cache, &it, &k, &v)) {
            struct entry *x = v;
            if (!oldest_key || x->seq < oldest) {
                oldest = x->seq;
                oldest_key = k;
            }
        }
        if (!oldest_key)
            break;
        entry_free(core_map_del(r->cache, oldest_key));
    }
    e = core_calloc(1, sizeof *e);
    if (!e)
        return;
    if (amiresolve_result_copy(&e->res, res) != 0) {
        core_free(e);
        return;
    }
    e->expires = core_loop_now(r->loop) + (is_alias ? r->opts.alias_ttl : r->opts.selector_ttl);
    e->seq = ++r->seq;
    if (core_map_set(r->cache, key, e, (void **)&old) != 0)
        entry_free(e);
    entry_free(old);
}

static void job_finish(struct amiresolve_job *j)
{
    struct amiresolve *r = j->r;

    if (j->pending > 0)
        return;
    if (!r) {
        job_free(j);
        return;
    }
    job_unlink(r, j);
    if (!j->rc && j->res.n == 0) {
        char terms[NOTFOUND_MSG_MAX];
        describe_terms(j, terms, sizeof terms);
        j->rc = core_err_set(&j->err, CORE_E_NOTFOUND,
                             "no AMI matched spec.amiSelectorTerms: %s", terms);
    }
    if (!j->rc) {
        amiresolve_result_sort(&j->res);
        cache_put(r, j->key, &j->res, j->is_alias);
    }
    /* From here on r may be freed by a callback: only j is touched. */
    for (size_t i = 0; i < j->nw; i++)
        j->w[i].cb(j->w[i].ud, j->rc, j->rc ? NULL : &j->res, j->rc ? &j->err : NULL);
    job_free(j);
}

static void job_fail(struct amiresolve_job *j, int rc, const struct core_err *err,
                     const char *fmt_field, size_t index)
{
    if (j->rc)
        return;
    j->rc = rc;
    if (err)
        j->err = *err;
    else
        core_err_set(&j->err, rc, "%s", core_strerror(rc));
    j->err.code = rc;
    if (fmt_field && fmt_field[0])
        core_err_prefix(&j->err, "spec.amiSelectorTerms[%zu]: %s", index, fmt_field);
    else if (fmt_field)
        core_err_prefix(&j->err, "spec.amiSelectorTerms[%zu]", index);
}

/* ---- calls ------------------------------------------------------------------------------------ */

static void on_images(void *ud, int rc, const struct aws_ec2_images *res,
                      const struct core_err *err);

static int issue_describe(struct term *t, const char *const *ids, size_t nids,
                          struct core_err *err)
{
    static const char *const available[] = {"available"};
    static const char *const default_owners[] = {"self", "amazon"};
    struct amiresolve_job *j = t->job;
    struct aws_ec2_describe_images_req req;
    struct aws_ec2_filter *filters;
    const char *const *owner_list = NULL;
    const char *one_owner[1];
    const char **values;
    char **tag_names;
    size_t nf = 0;
    int rc;

    filters = core_calloc(2 + t->ntags, sizeof *filters);
    values = core_calloc(1 + t->ntags, sizeof *values);
    tag_names = core_calloc(t->ntags ? t->ntags : 1, sizeof *tag_names);
    if (!filters || !values || !tag_names) {
        rc = core_err_set(err, CORE_E_NOMEM, "amiresolve: out of memory");
        goto out;
    }
    memset(&req, 0, sizeof req);
    filters[nf++] = (struct aws_ec2_filter){"state", available, 1};
    if (t->kind == TERM_FILTER) {
        if (t->name) {
            values[0] = t->name;
            filters[nf++] = (struct aws_ec2_filter){"name", &values[0], 1};
        }
        for (size_t k = 0; k < t->ntags; k++) {
            if (strcmp(t->tag_values[k], "*") == 0) {
                values[1 + k] = t->tag_keys[k];
                filters[nf++] = (struct aws_ec2_filter){"tag-key", &values[1 + k], 1};
            } else {
                size_t len = strlen(t->tag_keys[k]) + 5;
                tag_names[k] = core_malloc(len);
                if (!tag_names[k]) {
                    rc = core_err_set(err, CORE_E_NOMEM, "amiresolve: out of memory");
                    goto out;
                }
                snprintf(tag_names[k], len, "tag:%s", t->tag_keys[k]);
                values[1 + k] = t->tag_values[k];
                filters[nf++] = (struct aws_ec2_filter){tag_names[k], &values[1 + k], 1};
            }
        }
        if (t->owner) {
            one_owner[0] = t->owner;
            owner_list = one_owner;
            req.nowners = 1;
        } else if (t->name) {
            owner_list = default_owners;
            req.nowners = 2;
        }
    }
    req.owners = owner_list;
    req.image_ids = ids;
    req.nimage_ids = nids;
    req.filters = filters;
    req.nfilters = nf;
    req.include_deprecated = AWS_EC2_TRUE;
    rc = aws_ec2_describe_images(j->r->client, &req, on_images, t, err);
    if (!rc) {
        j->pending++;
        j->r->stats.ec2_calls++;
    }
out:
    for (size_t k = 0; tag_names && k < t->ntags; k++)
        core_free(tag_names[k]);
    core_free(tag_names);
    core_free(values);
    core_free(filters);
    return rc;
}

static void on_images(void *ud, int rc, const struct aws_ec2_images *res,
                      const struct core_err *err)
{
    struct term *t = ud;
    struct amiresolve_job *j = t->job;
    struct core_err e;
    core_ns wall;

    j->pending--;
    if (!j->r || j->rc)
        goto done;
    if (rc) {
        /* An id nobody has (an id term, or a parameter naming a vanished image) matches
         * nothing; it is not an error of the whole resolution. */
        if (rc == CORE_E_NOTFOUND && (t->kind == TERM_ID || t->kind == TERM_SSM))
            goto done;
        job_fail(j, rc, err, "DescribeImages", t->index);
        goto done;
    }
    wall = wall_now(j->r);
    for (size_t i = 0; res && i < res->n; i++) {
        const struct aws_ec2_image *img = &res->v[i];
        if (!img->image_id || (img->state && strcmp(img->state, "available") != 0))
            continue;
        if (t->kind == TERM_ALIAS) {
            for (size_t p = 0; p < t->nparams; p++) {
                struct amiresolve_ami a;
                char src[300];
                if (!t->param_ids[p] || strcmp(t->param_ids[p], img->image_id) != 0)
                    continue;
                snprintf(src, sizeof src, "ssm:%s", t->params[p].name);
                rc = amiresolve_ami_from_image(img, t->params[p].variant, src, wall, &a, &e);
                if (rc == CORE_E_UNSUPPORTED)
                    continue;
                if (!rc)
                    rc = amiresolve_result_fold(&j->res, &a);
                if (rc) {
                    job_fail(j, rc, NULL, NULL, t->index);
                    goto done;
                }
            }
        } else {
            struct amiresolve_ami a;
            rc = amiresolve_ami_from_image(img, NULL, t->source, wall, &a, &e);
            if (rc == CORE_E_UNSUPPORTED)
                continue;
            if (!rc)
                rc = amiresolve_result_fold(&j->res, &a);
            if (rc) {
                job_fail(j, rc, NULL, NULL, t->index);
                goto done;
            }
        }
    }
done:
    job_finish(j);
}

static void on_ssm(void *ud, int rc, const struct aws_ssm_parameters *res,
                   const struct core_err *err)
{
    struct term *t = ud;
    struct amiresolve_job *j = t->job;
    const char *ids[AMIRESOLVE_PARAM_MAX];
    size_t nids = 0;
    struct core_err e;

    j->pending--;
    if (!j->r || j->rc)
        goto done;
    if (rc) {
        job_fail(j, rc, err, "SSM GetParameters", t->index);
        goto done;
    }
    if (t->kind == TERM_ALIAS) {
        for (size_t p = 0; p < t->nparams; p++) {
            for (size_t i = 0; res && i < res->n; i++) {
                const struct aws_ssm_parameter *sp = &res->v[i];
                if (!sp->name || !sp->value || strcmp(sp->name, t->params[p].name) != 0)
                    continue;
                if (!ami_id_ok(sp->value))
                    break;
                if (dup_or_null(sp->value, &t->param_ids[p]) != 0) {
                    core_err_set(&e, CORE_E_NOMEM, "amiresolve: out of memory");
                    job_fail(j, CORE_E_NOMEM, &e, NULL, t->index);
                    goto done;
                }
                break;
            }
            if (t->param_ids[p]) {
                int seen = 0;
                for (size_t k = 0; k < nids; k++)
                    seen |= strcmp(ids[k], t->param_ids[p]) == 0;
                if (!seen)
                    ids[nids++] = t->param_ids[p];
            }
        }
    } else {
        for (size_t i = 0; res && i < res->n && !t->id; i++) {
            const struct aws_ssm_parameter *sp = &res->v[i];
            if (!sp->name || !sp->value || strcmp(sp->name, t->ssm) != 0)
                continue;
            if (!ami_id_ok(sp->value)) {
                core_err_set(&e, CORE_E_INVAL, "spec.amiSelectorTerms[%zu].ssmParameter: %.200s "
                             "holds \"%.40s\", not an AMI id", t->index, t->ssm, sp->value);
                job_fail(j, CORE_E_INVAL, &e, NULL, t->index);
                goto done;
            }
            if (dup_or_null(sp->value, &t->id) != 0) {
                core_err_set(&e, CORE_E_NOMEM, "amiresolve: out of memory");
                job_fail(j, CORE_E_NOMEM, &e, NULL, t->index);
                goto done;
            }
        }
        if (t->id)
            ids[nids++] = t->id;
    }
    if (nids && (rc = issue_describe(t, ids, nids, &e)) != 0)
        job_fail(j, rc, &e, "DescribeImages", t->index);
done:
    job_finish(j);
}

static int issue_ssm(struct term *t, struct core_err *err)
{
    struct amiresolve_job *j = t->job;
    const char *names[AMIRESOLVE_PARAM_MAX];
    size_t n = 0;
    int rc;

    if (t->kind == TERM_ALIAS) {
        for (size_t p = 0; p < t->nparams; p++)
            names[n++] = t->params[p].name;
    } else {
        names[n++] = t->ssm;
    }
    rc = aws_ssm_get_parameters(j->r->client, names, n, on_ssm, t, err);
    if (!rc) {
        j->pending++;
        j->r->stats.ssm_calls += (n + AWS_SSM_BATCH_MAX - 1) / AWS_SSM_BATCH_MAX;
    }
    return rc;
}

/* Starts every term. 0 when at least one call is in flight (a later term that could not start
 * fails the job through its callback); otherwise the first error, nothing in flight. */
static int job_start(struct amiresolve_job *j, struct core_err *err)
{
    struct core_err e;
    for (size_t i = 0; i < j->nterms; i++) {
        struct term *t = &j->terms[i];
        int rc;
        core_err_clear(&e);
        if (t->kind == TERM_ALIAS || t->kind == TERM_SSM) {
            rc = issue_ssm(t, &e);
        } else if (t->kind == TERM_ID) {
            const char *ids[1] = {t->id};
            rc = issue_describe(t, ids, 1, &e);
        } else {
            rc = issue_describe(t, NULL, 0, &e);
        }
        if (rc) {
            if (j->pending == 0) {
                if (err)
                    *err = e;
                core_err_prefix(err, "spec.amiSelectorTerms[%zu]", i);
                return rc;
            }
            job_fail(j, rc, &e, "", i);
            return 0;
        }
    }
    return 0;
}

/* ---- cache hits --------------------------------------------------------------------------- */

static void delivery_unlink(struct amiresolve *r, struct delivery *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else if (r->deliveries == d)
        r->deliveries = d->next;
    if (d->next)
        d->next->prev = d->prev;
    d->prev = d->next = NULL;
}

static void on_delivery(void *ud)
{
    struct delivery *d = ud;
    delivery_unlink(d->r, d);
    d->cb(d->ud, 0, &d->res, NULL);
    amiresolve_result_cleanup(&d->res);
    core_free(d);
}

/* 1 when key was answered from the cache (delivery scheduled), 0 on a miss, <0 on error. */
static int cache_lookup(struct amiresolve *r, const char *key, amiresolve_fn cb, void *ud,
                        struct core_err *err)
{
    struct entry *e = core_map_get(r->cache, key, NULL);
    struct delivery *d;
    core_ns wall;

    if (!e)
        return 0;
    if (core_loop_now(r->loop) >= e->expires) {
        entry_free(core_map_del(r->cache, key));
        return 0;
    }
    wall = wall_now(r);
    for (size_t i = 0; i < e->res.n; i++) {
        const struct amiresolve_ami *a = &e->res.v[i];
        if (!a->deprecated && a->deprecation_time && a->deprecation_time <= wall) {
            entry_free(core_map_del(r->cache, key));
            r->stats.early_evictions++;
            return 0;
        }
    }
    d = core_calloc(1, sizeof *d);
    if (!d)
        return core_err_set(err, CORE_E_NOMEM, "amiresolve: out of memory");
    if (amiresolve_result_copy(&d->res, &e->res) != 0) {
        core_free(d);
        return core_err_set(err, CORE_E_NOMEM, "amiresolve: out of memory");
    }
    d->r = r;
    d->cb = cb;
    d->ud = ud;
    d->timer = core_loop_timer_add(r->loop, 0, on_delivery, d);
    if (!d->timer) {
        amiresolve_result_cleanup(&d->res);
        core_free(d);
        return core_err_set(err, CORE_E_NOMEM, "amiresolve: out of memory");
    }
    d->next = r->deliveries;
    if (r->deliveries)
        r->deliveries->prev = d;
    r->deliveries = d;
    r->stats.cache_hits++;
    return 1;
}

static int waiter_add(struct amiresolve_job *j, amiresolve_fn cb, void *ud)
{
    struct waiter *nw = core_realloc(j->w, (j->nw + 1) * sizeof *nw);
    if (!nw)
        return CORE_E_NOMEM;
    j->w = nw;
    j->w[j->nw].cb = cb;
    j->w[j->nw].ud = ud;
    j->nw++;
    return 0;
}

/* Takes j over: answers from the cache, joins an identical job in flight, or starts j. */
static int submit(struct amiresolve *r, struct amiresolve_job *j, const char *k8s,
                  enum k8s_ami_family family, amiresolve_fn cb, void *ud, struct core_err *err)
{
    struct amiresolve_job *same;
    int rc;

    core_strlcpy(j->res.k8s, k8s, sizeof j->res.k8s);
    j->res.family = family;
    j->r = r;
    if ((rc = job_key(j, k8s, family)) != 0) {
        job_free(j);
        return core_err_set(err, rc, "amiresolve: the selector terms are too large to key");
    }
    rc = cache_lookup(r, j->key, cb, ud, err);
    if (rc != 0) {
        job_free(j);
        return rc < 0 ? rc : 0;
    }
    same = core_map_get(r->inflight, j->key, NULL);
    if (same) {
        job_free(j);
        if (waiter_add(same, cb, ud) != 0)
            return core_err_set(err, CORE_E_NOMEM, "amiresolve: out of memory");
        r->stats.cache_misses++;
        return 0;
    }
    if (waiter_add(j, cb, ud) != 0 || core_map_set(r->inflight, j->key, j, NULL) != 0) {
        job_free(j);
        return core_err_set(err, CORE_E_NOMEM, "amiresolve: out of memory");
    }
    j->next = r->jobs;
    if (r->jobs)
        r->jobs->prev = j;
    r->jobs = j;
    r->stats.cache_misses++;
    if ((rc = job_start(j, err)) != 0) {
        job_unlink(r, j);
        job_free(j);
        return rc;
    }
    return 0;
}

/* ---- public --------------------------------------------------------------------------------- */

int amiresolve_new(struct aws_client *client, const struct amiresolve_opts *opts,
                   struct amiresolve **out, struct core_err *err)
{
    struct amiresolve *r;

    if (!client || !out)
        return core_err_set(err, CORE_E_INVAL, "amiresolve_new: client and out are required");
    r = core_calloc(1, sizeof *r);
    if (!r)
        return core_err_set(err, CORE_E_NOMEM, "amiresolve: out of memory");
    r->client = client;
    r->loop = aws_client_loop(client);
    if (opts)
        r->opts = *opts;
    if (r->opts.alias_ttl <= 0)
        r->opts.alias_ttl = 6 * 3600 * CORE_NS_PER_S;
    if (r->opts.selector_ttl <= 0)
        r->opts.selector_ttl = 5 * 60 * CORE_NS_PER_S;
    if (r->opts.max_entries == 0)
        r->opts.max_entries = 1000;
    r->cache = core_map_new();
    r->inflight = core_map_new();
    if (!r->loop || !r->cache || !r->inflight) {
        core_map_free(r->cache);
        core_map_free(r->inflight);
        core_free(r);
        return core_err_set(err, CORE_E_NOMEM, "amiresolve: out of memory");
    }
    *out = r;
    return 0;
}

void amiresolve_free(struct amiresolve *r)
{
    struct core_err e;
    size_t it = 0;
    const char *k;
    void *v;

    if (!r)
        return;
    r->closing = 1;
    core_err_set(&e, CORE_E_CANCELLED, "amiresolve: resolver freed");
    while (r->deliveries) {
        struct delivery *d = r->deliveries;
        delivery_unlink(r, d);
        core_loop_timer_cancel(r->loop, d->timer);
        d->cb(d->ud, CORE_E_CANCELLED, NULL, &e);
        amiresolve_result_cleanup(&d->res);
        core_free(d);
    }
    while (r->jobs) {
        struct amiresolve_job *j = r->jobs;
        job_unlink(r, j);
        j->r = NULL;
        for (size_t i = 0; i < j->nw; i++)
            j->w[i].cb(j->w[i].ud, CORE_E_CANCELLED, NULL, &e);
        j->nw = 0;
        /* Its aws calls still hold the job; the last one frees it. */
        if (j->pending == 0)
            job_free(j);
    }
    while (core_map_next(r->cache, &it, &k, &v))
        entry_free(v);
    core_map_free(r->cache);
    core_map_free(r->inflight);
    core_free(r);
}

static int k8s_ok(const char *k8s, struct core_err *err)
{
    size_t n = 0;
    if (k8s && strncmp(k8s, "1.", 2) == 0) {
        while (k8s[2 + n] >= '0' && k8s[2 + n] <= '9')
            n++;
        if (n >= 1 && n <= 3 && k8s[2 + n] == '\0')
            return 0;
    }
    return core_err_set(err, CORE_E_INVAL, "kubernetes version: \"%.32s\" is not a minor "
                        "version such as 1.31", k8s ? k8s : "");
}

int amiresolve_resolve(struct amiresolve *r, const struct k8s_ec2nodeclass *nc, const char *k8s,
                       amiresolve_fn cb, void *ud, struct core_err *err)
{
    struct amiresolve_job *j = NULL;
    enum k8s_ami_family family;
    int rc;

    if (!r || !nc || !cb)
        return core_err_set(err, CORE_E_INVAL, "amiresolve_resolve: resolver, EC2NodeClass "
                            "and callback are required");
    if (r->closing)
        return core_err_set(err, CORE_E_STATE, "amiresolve: the resolver is being freed");
    if ((rc = k8s_ok(k8s, err)) != 0)
        return rc;
    if (nc->nami_terms == 0 || !nc->ami_terms)
        return core_err_set(err, CORE_E_INVAL, "spec.amiSelectorTerms: at least one term is "
                            "required");
    if (nc->nami_terms > TERMS_MAX)
        return core_err_set(err, CORE_E_INVAL, "spec.amiSelectorTerms: %zu terms, at most %u",
                            nc->nami_terms, TERMS_MAX);
    if (job_new(nc->nami_terms, &j) != 0)
        return core_err_set(err, CORE_E_NOMEM, "amiresolve: out of memory");
    j->nterms = nc->nami_terms;
    for (size_t i = 0; i < nc->nami_terms; i++) {
        if ((rc = plan_term(&j->terms[i], &nc->ami_terms[i], i, nc->nami_terms, k8s, err)) != 0) {
            job_free(j);
            return rc;
        }
    }
    j->is_alias = j->terms[0].kind == TERM_ALIAS;
    family = j->is_alias ? j->terms[0].alias.family : nc->ami_family;
    return submit(r, j, k8s, family, cb, ud, err);
}

int amiresolve_resolve_alias(struct amiresolve *r, const struct amiresolve_alias *a,
                             const char *k8s, amiresolve_fn cb, void *ud, struct core_err *err)
{
    struct amiresolve_job *j = NULL;
    int rc;

    if (!r || !a || !cb)
        return core_err_set(err, CORE_E_INVAL, "amiresolve_resolve_alias: resolver, alias and "
                            "callback are required");
    if (r->closing)
        return core_err_set(err, CORE_E_STATE, "amiresolve: the resolver is being freed");
    if ((rc = k8s_ok(k8s, err)) != 0)
        return rc;
    if (job_new(1, &j) != 0)
        return core_err_set(err, CORE_E_NOMEM, "amiresolve: out of memory");
    j->nterms = 1;
    if ((rc = plan_alias(&j->terms[0], a, k8s, NULL, err)) != 0) {
        job_free(j);
        return rc;
    }
    j->is_alias = 1;
    return submit(r, j, k8s, a->family, cb, ud, err);
}

void amiresolve_stats(const struct amiresolve *r, struct amiresolve_stats *out)
{
    if (!out)
        return;
    if (!r) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = r->stats;
}
