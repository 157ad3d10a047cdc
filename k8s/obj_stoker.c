/*
 * k8s/obj_stoker.c — typed decoders and validation for stoker's own kinds (stoker.dev/v1alpha1):
 * NodePool, EC2NodeClass, NodeClaim (Karpenter v1 field names) and WarmPool (issue 10), plus
 * the cron parser their schedules use.
 *
 * Invariants:
 *  - Every spec is strict: a field the tables do not name is an error naming its path, because
 *    a field that is not supported yet must never be silently ignored. Statuses are lenient.
 *  - Defaults are applied here, once, so consumers never guess: expireAfter 720h, consolidation
 *    WhenEmptyOrUnderutilized after 0s with one 10% budget, metadataOptions {enabled, disabled,
 *    1, required}, a 20Gi gp3 encrypted root volume on /dev/xvda when no mapping is given,
 *    WarmPool state Stopped.
 *  - Validation needs nothing but the object: references to other objects (the WarmPool's
 *    NodePool, instance types the NodePool forbids, hibernation support) are checked by the
 *    controllers that can see them.
 */
#include "k8s/obj_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------------------------ */
/* Cron                                                                                        */
/* ------------------------------------------------------------------------------------------ */

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL",
                                          "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const wday_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

struct cron_spec {
    const char *what;
    int lo, hi;
    const char *const *names; /* names[i] is value i + base */
    int base;
};

static const struct cron_spec cron_fields[5] = {
    {"minute", 0, 59, NULL, 0},
    {"hour", 0, 23, NULL, 0},
    {"day-of-month", 1, 31, NULL, 0},
    {"month", 1, 12, month_names, 1},
    {"day-of-week", 0, 7, wday_names, 0},
};

/* A number (at most 3 digits) or a three-letter name. */
static int cron_value(const char **p, const struct cron_spec *f, int *out)
{
    const char *s = *p;
    int v = 0, n = 0;

    for (; *s >= '0' && *s <= '9' && n < 3; s++, n++)
        v = v * 10 + (*s - '0');
    if (n > 0) {
        if (*s >= '0' && *s <= '9')
            return -1;
        *p = s;
        *out = v;
        return 0;
    }
    for (int i = 0; f->names && f->names[i]; i++)
        if (strncasecmp(s, f->names[i], 3) == 0) {
            *p = s + 3;
            *out = i + f->base;
            return 0;
        }
    return -1;
}

/* One field: items "*", "v", "a-b", each with an optional "/step", separated by ','. */
static int cron_field(const char *s, size_t len, const struct cron_spec *f, uint64_t *bits,
                      uint8_t *star, struct core_err *err)
{
    char buf[128];
    const char *p = buf;

    if (len >= sizeof buf)
        return core_err_set(err, CORE_E_PARSE, "cron %s field is too long", f->what);
    memcpy(buf, s, len);
    buf[len] = '\0';
    *bits = 0;
    *star = buf[0] == '*';
    for (;;) {
        int a, b, step = 1, any = 0;
        if (*p == '*') {
            a = f->lo;
            b = f->hi;
            any = 1;
            p++;
        } else if (cron_value(&p, f, &a) != 0) {
            goto bad;
        } else if (*p == '-') {
            p++;
            if (cron_value(&p, f, &b) != 0)
                goto bad;
        } else {
            b = a;
        }
        if (*p == '/') {
            p++;
            if (*p < '0' || *p > '9')
                goto bad;
            for (step = 0; *p >= '0' && *p <= '9'; p++)
                if ((step = step * 10 + (*p - '0')) > 1000)
                    goto bad;
            if (step == 0)
                return core_err_set(err, CORE_E_PARSE, "cron %s field '%s': step must be positive",
                                    f->what, buf);
            if (!any && b == a)
                b = f->hi; /* "5/15": from 5 to the end, every 15 */
        }
        if (a < f->lo || b > f->hi || a > b)
            return core_err_set(err, CORE_E_PARSE, "cron %s field '%s': %d-%d is outside %d-%d",
                                f->what, buf, a, b, f->lo, f->hi);
        for (int v = a; v <= b; v += step)
            *bits |= UINT64_C(1) << v;
        if (*p == '\0')
            return 0;
        if (*p++ != ',')
            goto bad;
    }
bad:
    return core_err_set(err, CORE_E_PARSE, "cron %s field '%s' does not parse", f->what, buf);
}

/* IANA zone names: letters, digits, '_', '+', '-', '/' (not leading), no "..". */
static int valid_tz(const char *s, size_t n)
{
    if (n == 0 || n >= K8S_CRON_TZ_MAX || s[0] == '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '+' || ch == '-' || ch == '/' || (ch == '.' && s[i + 1] != '.')))
            return 0;
    }
    return 1;
}

int k8s_cron_parse(const char *s, struct k8s_cron *out, struct core_err *err)
{
    static const struct {
        const char *name, *expansion;
    } macros[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    };
    struct k8s_cron c;
    const char *p = s;
    uint64_t bits[5];
    uint8_t stars[5];
    int rc;

    memset(&c, 0, sizeof c);
    if (!s)
        return core_err_set(err, CORE_E_PARSE, "empty cron expression");
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncmp(p, "CRON_TZ=", 8) == 0 || strncmp(p, "TZ=", 3) == 0) {
        const char *z = strchr(p, '=') + 1, *e = z;
        while (*e && *e != ' ' && *e != '\t')
            e++;
        if (!valid_tz(z, (size_t)(e - z)))
            return core_err_set(err, CORE_E_PARSE, "cron time zone '%.*s' is not a zone name",
                                (int)(e - z), z);
        memcpy(c.tz, z, (size_t)(e - z));
        p = e;
        while (*p == ' ' || *p == '\t')
            p++;
    }
    if (*p == '@') {
        size_t i;
        for (i = 0; i < sizeof macros / sizeof macros[0]; i++)
            if (strcmp(p, macros[i].name) == 0)
                break;
        if (i == sizeof macros / sizeof macros[0])
            return core_err_set(err, CORE_E_PARSE, "unknown cron macro '%s'", p);
        p = macros[i].expansion;
    }
    for (size_t i = 0; i < 5; i++) {
        const char *e = p;
        while (*e && *e != ' ' && *e != '\t')
            e++;
        if (e == p)
            return core_err_set(err, CORE_E_PARSE,
                                "a cron expression has 5 fields (minute hour day-of-month month "
                                "day-of-week), got %zu", i);
        if ((rc = cron_field(p, (size_t)(e - p), &cron_fields[i], &bits[i], &stars[i], err)) != 0)
            return rc;
        p = e;
        while (*p == ' ' || *p == '\t')
            p++;
    }
    if (*p)
        return core_err_set(err, CORE_E_PARSE,
                            "a cron expression has 5 fields, got more: '%s'", p);
    c.minutes = bits[0];
    c.hours = (uint32_t)bits[1];
    c.mdays = (uint32_t)bits[2];
    c.months = (uint16_t)bits[3];
    c.wdays = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday, like 0 */
    c.mday_star = stars[2];
    c.wday_star = stars[4];
    *out = c;
    return 0;
}

int k8s_cron_matches(const struct k8s_cron *c, int minute, int hour, int mday, int month,
                     int wday)
{
    int dom, dow;
    if (minute < 0 || minute > 59 || hour < 0 || hour > 23 || mday < 1 || mday > 31 ||
        month < 1 || month > 12 || wday < 0 || wday > 6)
        return 0;
    if (!(c->minutes >> minute & 1) || !(c->hours >> hour & 1) || !(c->months >> month & 1))
        return 0;
    dom = c->mdays >> mday & 1;
    dow = c->wdays >> wday & 1;
    /* cron(8): when both day fields are restricted, a day matching either runs the job. */
    if (c->mday_star || c->wday_star)
        return dom && dow;
    return dom || dow;
}

/* ------------------------------------------------------------------------------------------ */
/* Shared CRD pieces                                                                           */
/* ------------------------------------------------------------------------------------------ */

int k8s_tag_key_reserved(const char *key)
{
    static const char *const prefixes[] = {"kubernetes.io/cluster/", "karpenter.sh/",
                                           "karpenter.k8s.aws/", "stoker.dev/"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(key, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return strncasecmp(key, "aws:", 4) == 0 || strcmp(key, "eks:eks-cluster-name") == 0;
}

static int label_restricted(const char *key)
{
    return strcmp(key, "karpenter.sh/nodepool") == 0 || strcmp(key, "kubernetes.io/hostname") == 0;
}

static int nodeclass_ref_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    const struct k8s_nodeclass_ref *r = dst;
    (void)obj;
    if (strcmp(r->group, K8S_GROUP) != 0 && strcmp(r->group, "karpenter.k8s.aws") != 0)
        return obj_fail_at(c, "group", CORE_E_INVAL, "expected %s, got '%s'", K8S_GROUP,
                           r->group);
    if (strcmp(r->kind, "EC2NodeClass") != 0)
        return obj_fail_at(c, "kind", CORE_E_INVAL, "expected EC2NodeClass, got '%s'", r->kind);
    return 0;
}

static const struct obj_field ncref_desc_f[] = {
    F_STR("group", struct k8s_nodeclass_ref, group, FL_REQ | FL_NONEMPTY),
    F_STR("kind", struct k8s_nodeclass_ref, kind, FL_REQ | FL_NONEMPTY),
    F_STR("name", struct k8s_nodeclass_ref, name, FL_REQ | FL_NONEMPTY),
};
static OBJ_DESC(ncref_desc, struct k8s_nodeclass_ref, OBJ_INHERIT, nodeclass_ref_check, NULL);

/* Requirement keys must be label keys; a NodePool may not claim the controller's labels. */
static int check_requirements(struct obj_ctx *c, const char *path,
                              const struct k8s_requirement *r, size_t n, int pool)
{
    char rel[96];
    for (size_t i = 0; i < n; i++) {
        snprintf(rel, sizeof rel, "%s[%zu].key", path, i);
        if (!obj_valid_label_key(r[i].key))
            return obj_fail_at(c, rel, CORE_E_INVAL, "'%s' is not a valid label key", r[i].key);
        if (pool && label_restricted(r[i].key))
            return obj_fail_at(c, rel, CORE_E_INVAL, "label '%s' is restricted (the controller "
                                                     "sets it)", r[i].key);
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* NodePool                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static int budget_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    struct k8s_budget *b = dst;
    struct core_err e;
    const char *p;
    int64_t v = 0;

    if (!b->nodes && !(b->nodes = core_strdup("10%")))
        return obj_fail(c, CORE_E_NOMEM, "out of memory");
    for (p = b->nodes; *p >= '0' && *p <= '9' && v <= INT32_MAX; p++)
        v = v * 10 + (*p - '0');
    b->nodes_percent = *p == '%';
    if (p == b->nodes || v > INT32_MAX || (b->nodes_percent ? p[1] != '\0' || v > 100 : *p))
        return obj_fail_at(c, "nodes", CORE_E_INVAL,
                           "expected a node count (\"5\") or a percentage (\"10%%\"), got '%s'",
                           b->nodes);
    b->nodes_count = v;
    if (!b->schedule != !obj_has(obj, "duration"))
        return obj_fail_at(c, b->schedule ? "duration" : "schedule", CORE_E_INVAL,
                           "schedule and duration must be set together");
    if (b->schedule) {
        core_err_clear(&e);
        if (k8s_cron_parse(b->schedule, &b->cron, &e) != 0)
            return obj_fail_at(c, "schedule", CORE_E_PARSE, "%s", e.message);
        if (b->duration <= 0)
            return obj_fail_at(c, "duration", CORE_E_INVAL, "must be positive");
    }
    return 0;
}

static const char *const reason_names[] = {"Underutilized", "Empty", "Drifted", NULL};
static const struct obj_field budget_desc_f[] = {
    F_STR("nodes", struct k8s_budget, nodes, 0),
    F_STR("schedule", struct k8s_budget, schedule, FL_NONEMPTY),
    F_DUR("duration", struct k8s_budget, duration, 0, 0),
    F_ENUMSET("reasons", struct k8s_budget, reasons, reason_names),
};
static OBJ_DESC(budget_desc, struct k8s_budget, OBJ_INHERIT, budget_check, NULL);

static int np_tspec_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    struct k8s_nodepool *p = dst;
    if (!obj_has(obj, "expireAfter"))
        p->expire_after = 720 * 3600 * CORE_NS_PER_S;
    return check_requirements(c, "requirements", p->requirements, p->nrequirements, 1);
}

static const struct obj_field np_tmeta_desc_f[] = {
    F_LABELS("labels", struct k8s_nodepool, template_labels, 0),
    F_LABELS("annotations", struct k8s_nodepool, template_annotations, 0),
};
static OBJ_DESC(np_tmeta_desc, struct k8s_nodepool, OBJ_INHERIT, NULL, NULL);
static const struct obj_field np_tspec_desc_f[] = {
    F_OBJ("nodeClassRef", struct k8s_nodepool, node_class_ref, FL_REQ, ncref_desc, 0),
    F_ARR("requirements", struct k8s_nodepool, requirements, nrequirements, 0, 100,
          obj_pool_req_desc),
    F_ARR("taints", struct k8s_nodepool, taints, ntaints, 0, 0, obj_taint_desc),
    F_ARR("startupTaints", struct k8s_nodepool, startup_taints, nstartup_taints, 0, 0,
          obj_taint_desc),
    F_DUR("expireAfter", struct k8s_nodepool, expire_after, FL_NEVER, 0),
    F_DUR("terminationGracePeriod", struct k8s_nodepool, termination_grace_period, 0,
          HAS(struct k8s_nodepool, has_termination_grace_period)),
};
static OBJ_DESC(np_tspec_desc, struct k8s_nodepool, OBJ_INHERIT, np_tspec_check, NULL);
static const struct obj_field np_template_desc_f[] = {
    F_NEST("metadata", 0, np_tmeta_desc),
    F_NEST("spec", FL_REQ, np_tspec_desc),
};
static OBJ_DESC(np_template_desc, struct k8s_nodepool, OBJ_INHERIT, NULL, NULL);

static const char *const consolidation_names[] = {"WhenEmpty", "WhenEmptyOrUnderutilized", NULL};
static const struct obj_field np_disruption_desc_f[] = {
    F_ENUM("consolidationPolicy", struct k8s_nodepool, consolidation_policy, 0,
           consolidation_names),
    F_DUR("consolidateAfter", struct k8s_nodepool, consolidate_after, FL_NEVER, 0),
    F_ARR("budgets", struct k8s_nodepool, budgets, nbudgets, 0, 50, budget_desc),
};
static OBJ_DESC(np_disruption_desc, struct k8s_nodepool, OBJ_INHERIT, NULL, NULL);

static int np_spec_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    struct k8s_nodepool *p = dst;
    const json_t *dis = json_object_get(obj, "disruption");
    char rel[320];

    for (size_t i = 0; i < p->template_labels.n; i++) {
        const struct k8s_kv *kv = &p->template_labels.v[i];
        snprintf(rel, sizeof rel, "template.metadata.labels[%s]", kv->key);
        if (!obj_valid_label_key(kv->key))
            return obj_fail_at(c, rel, CORE_E_INVAL, "not a valid label key");
        if (label_restricted(kv->key))
            return obj_fail_at(c, rel, CORE_E_INVAL, "label is restricted (the controller sets "
                                                     "it)");
        if (!obj_valid_label_value(kv->value))
            return obj_fail_at(c, rel, CORE_E_INVAL, "'%s' is not a valid label value", kv->value);
    }
    if (p->consolidation_policy == 0)
        p->consolidation_policy = K8S_WHEN_EMPTY_OR_UNDERUTILIZED;
    if (!json_is_object(dis) || !obj_has(dis, "budgets")) {
        if (!(p->budgets = core_calloc(1, sizeof *p->budgets)) ||
            !(p->budgets[0].nodes = core_strdup("10%"))) {
            core_free(p->budgets);
            p->budgets = NULL;
            return obj_fail(c, CORE_E_NOMEM, "out of memory");
        }
        p->nbudgets = 1;
        p->budgets[0].nodes_count = 10;
        p->budgets[0].nodes_percent = 1;
    }
    return 0;
}

static const struct obj_field np_spec_desc_f[] = {
    F_NEST("template", FL_REQ, np_template_desc),
    F_NEST("disruption", 0, np_disruption_desc),
    F_RES("limits", struct k8s_nodepool, limits),
    F_INT("weight", struct k8s_nodepool, weight, 0, 0, 1, 100),
};
static OBJ_DESC(np_spec_desc, struct k8s_nodepool, OBJ_STRICT, np_spec_check, NULL);
static const struct obj_field np_status_desc_f[] = {
    F_RES("resources", struct k8s_nodepool, resources),
    F_ARR("conditions", struct k8s_nodepool, conditions, nconditions, 0, 0, obj_condition_desc),
};
static OBJ_DESC(np_status_desc, struct k8s_nodepool, OBJ_LENIENT, NULL, NULL);
static const struct obj_field np_desc_f[] = {
    F_OBJ("metadata", struct k8s_nodepool, meta, 0, obj_meta_desc, 0),
    F_NEST("spec", FL_REQ, np_spec_desc),
    F_NEST("status", 0, np_status_desc),
};
static OBJ_DESC(np_desc, struct k8s_nodepool, OBJ_LENIENT, NULL, NULL);
OBJ_KIND(nodepool, k8s_nodepool, "NodePool", 0, np_desc)

/* ------------------------------------------------------------------------------------------ */
/* NodeClaim                                                                                   */
/* ------------------------------------------------------------------------------------------ */

static int nc_spec_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    struct k8s_nodeclaim *n = dst;
    if (!obj_has(obj, "expireAfter"))
        n->expire_after = 720 * 3600 * CORE_NS_PER_S;
    return check_requirements(c, "requirements", n->requirements, n->nrequirements, 0);
}

static const struct obj_field nc_res_desc_f[] = {
    F_RES("requests", struct k8s_nodeclaim, requests),
};
static OBJ_DESC(nc_res_desc, struct k8s_nodeclaim, OBJ_INHERIT, NULL, NULL);
static const struct obj_field nc_spec_desc_f[] = {
    F_ARR("requirements", struct k8s_nodeclaim, requirements, nrequirements, FL_REQ, 100,
          obj_pool_req_desc),
    F_NEST("resources", 0, nc_res_desc),
    F_ARR("taints", struct k8s_nodeclaim, taints, ntaints, 0, 0, obj_taint_desc),
    F_ARR("startupTaints", struct k8s_nodeclaim, startup_taints, nstartup_taints, 0, 0,
          obj_taint_desc),
    F_OBJ("nodeClassRef", struct k8s_nodeclaim, node_class_ref, FL_REQ, ncref_desc, 0),
    F_DUR("expireAfter", struct k8s_nodeclaim, expire_after, FL_NEVER, 0),
    F_DUR("terminationGracePeriod", struct k8s_nodeclaim, termination_grace_period, 0,
          HAS(struct k8s_nodeclaim, has_termination_grace_period)),
};
static OBJ_DESC(nc_spec_desc, struct k8s_nodeclaim, OBJ_STRICT, nc_spec_check, NULL);
static const struct obj_field nc_status_desc_f[] = {
    F_STR("providerID", struct k8s_nodeclaim, provider_id, 0),
    F_STR("nodeName", struct k8s_nodeclaim, node_name, 0),
    F_STR("imageID", struct k8s_nodeclaim, image_id, 0),
    F_RES("capacity", struct k8s_nodeclaim, capacity),
    F_RES("allocatable", struct k8s_nodeclaim, allocatable),
    F_ARR("conditions", struct k8s_nodeclaim, conditions, nconditions, 0, 0, obj_condition_desc),
};
static OBJ_DESC(nc_status_desc, struct k8s_nodeclaim, OBJ_LENIENT, NULL, NULL);
static const struct obj_field nc_desc_f[] = {
    F_OBJ("metadata", struct k8s_nodeclaim, meta, 0, obj_meta_desc, 0),
    F_NEST("spec", FL_REQ, nc_spec_desc),
    F_NEST("status", 0, nc_status_desc),
};
static OBJ_DESC(nc_desc, struct k8s_nodeclaim, OBJ_LENIENT, NULL, NULL);
OBJ_KIND(nodeclaim, k8s_nodeclaim, "NodeClaim", 0, nc_desc)

/* ------------------------------------------------------------------------------------------ */
/* EC2NodeClass                                                                                */
/* ------------------------------------------------------------------------------------------ */

/* "<prefix><[0-9a-z]+>", the shape of EC2 resource ids. */
static int valid_ec2_id(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n) != 0 || !s[n])
        return 0;
    for (s += n; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z')))
            return 0;
    return 1;
}

static int check_tags(struct obj_ctx *c, const struct k8s_labels *tags)
{
    char rel[160];
    for (size_t i = 0; i < tags->n; i++) {
        snprintf(rel, sizeof rel, "tags[%s]", tags->v[i].key);
        if (!*tags->v[i].key || !*tags->v[i].value)
            return obj_fail_at(c, rel, CORE_E_INVAL, "tag keys and values must not be empty");
    }
    return 0;
}

static const struct {
    const char *alias;
    enum k8s_ami_family family;
    int pinned_ok;
} alias_families[] = {
    {"al2", K8S_AMI_AL2, 1},
    {"al2023", K8S_AMI_AL2023, 1},
    {"bottlerocket", K8S_AMI_BOTTLEROCKET, 1},
    {"windows2019", K8S_AMI_WINDOWS2019, 0},
    {"windows2022", K8S_AMI_WINDOWS2022, 0},
    {"windows2025", K8S_AMI_WINDOWS2025, 0},
};

/* The family of an alias "family@version", or 0 when it is not one. */
static enum k8s_ami_family alias_family(const char *alias)
{
    const char *at = strchr(alias, '@'), *v;
    if (!at || !at[1])
        return 0;
    for (v = at + 1; *v; v++)
        if (!((*v >= '0' && *v <= '9') || (*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
              *v == '.' || *v == '-' || *v == '_'))
            return 0;
    for (size_t i = 0; i < sizeof alias_families / sizeof alias_families[0]; i++)
        if (strlen(alias_families[i].alias) == (size_t)(at - alias) &&
            strncmp(alias, alias_families[i].alias, (size_t)(at - alias)) == 0)
            return alias_families[i].pinned_ok || strcmp(at + 1, "latest") == 0
                       ? alias_families[i].family
                       : 0;
    return 0;
}

static int ami_term_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    const struct k8s_ami_term *t = dst;
    int nset = !!t->alias + !!t->id + !!t->name + !!t->owner + (t->tags.n > 0) + !!t->ssm_parameter;
    (void)obj;
    if (!t->alias && !t->id && !t->name && !t->tags.n && !t->ssm_parameter)
        return obj_fail(c, CORE_E_INVAL,
                        "expected at least one of alias, id, name, tags or ssmParameter");
    if (t->alias && nset > 1)
        return obj_fail(c, CORE_E_INVAL, "alias cannot be combined with other fields");
    if (t->id && nset > 1)
        return obj_fail(c, CORE_E_INVAL, "id cannot be combined with other fields");
    if (t->ssm_parameter && nset > 1)
        return obj_fail(c, CORE_E_INVAL, "ssmParameter cannot be combined with other fields");
    if (t->alias && !alias_family(t->alias))
        return obj_fail_at(c, "alias", CORE_E_INVAL,
                           "expected family@version with family al2, al2023, bottlerocket, "
                           "windows2019, windows2022 or windows2025 (windows only @latest), got "
                           "'%s'", t->alias);
    if (t->id && !valid_ec2_id(t->id, "ami-"))
        return obj_fail_at(c, "id", CORE_E_INVAL, "expected ami-<id>, got '%s'", t->id);
    return check_tags(c, &t->tags);
}

static const struct obj_field ami_term_desc_f[] = {
    F_STR("alias", struct k8s_ami_term, alias, FL_NONEMPTY),
    F_STR("id", struct k8s_ami_term, id, FL_NONEMPTY),
    F_STR("name", struct k8s_ami_term, name, FL_NONEMPTY),
    F_STR("owner", struct k8s_ami_term, owner, FL_NONEMPTY),
    F_LABELS("tags", struct k8s_ami_term, tags, 0),
    F_STR("ssmParameter", struct k8s_ami_term, ssm_parameter, FL_NONEMPTY),
};
static OBJ_DESC(ami_term_desc, struct k8s_ami_term, OBJ_INHERIT, ami_term_check, NULL);

static int selector_term_check(struct obj_ctx *c, const struct k8s_selector_term *t,
                               const char *prefix, const char *fields)
{
    if (!t->id && !t->name && !t->tags.n)
        return obj_fail(c, CORE_E_INVAL, "expected at least one of %s", fields);
    if (t->id && (t->name || t->tags.n))
        return obj_fail(c, CORE_E_INVAL, "id cannot be combined with other fields");
    if (t->id && !valid_ec2_id(t->id, prefix))
        return obj_fail_at(c, "id", CORE_E_INVAL, "expected %s<id>, got '%s'", prefix, t->id);
    return check_tags(c, &t->tags);
}

static int subnet_term_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    (void)obj;
    return selector_term_check(c, dst, "subnet-", "id or tags");
}

static int sg_term_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    (void)obj;
    return selector_term_check(c, dst, "sg-", "id, name or tags");
}

static const struct obj_field subnet_term_desc_f[] = {
    F_LABELS("tags", struct k8s_selector_term, tags, 0),
    F_STR("id", struct k8s_selector_term, id, FL_NONEMPTY),
};
static OBJ_DESC(subnet_term_desc, struct k8s_selector_term, OBJ_INHERIT, subnet_term_check, NULL);
static const struct obj_field sg_term_desc_f[] = {
    F_LABELS("tags", struct k8s_selector_term, tags, 0),
    F_STR("id", struct k8s_selector_term, id, FL_NONEMPTY),
    F_STR("name", struct k8s_selector_term, name, FL_NONEMPTY),
};
static OBJ_DESC(sg_term_desc, struct k8s_selector_term, OBJ_INHERIT, sg_term_check, NULL);

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

/* An eviction threshold: a quantity, or a percentage in (0, 100]. */
static int valid_threshold(const char *v)
{
    size_t n = strlen(v);
    int64_t milli;
    char num[64];
    if (n > 1 && n < sizeof num && v[n - 1] == '%') {
        memcpy(num, v, n - 1);
        num[n - 1] = '\0';
        return k8s_quantity_parse_milli(num, &milli) == 0 && milli > 0 && milli <= 100000;
    }
    return k8s_quantity_parse_milli(v, &milli) == 0 && milli >= 0;
}

static int kubelet_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    static const char *const signals[] = {"memory.available",   "nodefs.available",
                                          "nodefs.inodesFree",  "imagefs.available",
                                          "imagefs.inodesFree", "pid.available", NULL};
    static const char *const reserved[] = {"cpu", "memory", "ephemeral-storage", "pid", NULL};
    const struct k8s_kubelet *k = dst;
    const struct {
        const char *name;
        const struct k8s_labels *map;
    } maps[3] = {{"evictionHard", &k->eviction_hard},
                 {"evictionSoft", &k->eviction_soft},
                 {"evictionSoftGracePeriod", &k->eviction_soft_grace_period}};
    const struct k8s_res_list *res[2] = {&k->system_reserved, &k->kube_reserved};
    char rel[128];
    core_ns d;

    (void)obj;
    for (size_t m = 0; m < 3; m++) {
        for (size_t i = 0; i < maps[m].map->n; i++) {
            const struct k8s_kv *kv = &maps[m].map->v[i];
            snprintf(rel, sizeof rel, "%s[%s]", maps[m].name, kv->key);
            if (!in_list(kv->key, signals))
                return obj_fail_at(c, rel, CORE_E_INVAL, "unknown eviction signal");
            if (m < 2 && !valid_threshold(kv->value))
                return obj_fail_at(c, rel, CORE_E_INVAL,
                                   "expected a quantity or a percentage, got '%s'", kv->value);
            if (m == 2 && (k8s_duration_parse(kv->value, 0, &d) != 0 || d < 0))
                return obj_fail_at(c, rel, CORE_E_INVAL, "expected a duration, got '%s'",
                                   kv->value);
            /* A soft threshold means nothing without its grace period, and the reverse. */
            if (m > 0 && !k8s_labels_get(maps[m == 1 ? 2 : 1].map, kv->key))
                return obj_fail_at(c, rel, CORE_E_INVAL, "has no matching %s entry",
                                   maps[m == 1 ? 2 : 1].name);
        }
    }
    for (size_t r = 0; r < 2; r++)
        for (size_t i = 0; i < res[r]->n; i++)
            if (!in_list(res[r]->v[i].name, reserved)) {
                snprintf(rel, sizeof rel, "%s[%s]", r ? "kubeReserved" : "systemReserved",
                         res[r]->v[i].name);
                return obj_fail_at(c, rel, CORE_E_INVAL,
                                   "expected cpu, memory, ephemeral-storage or pid");
            }
    if (k->has_image_gc_high && k->has_image_gc_low && k->image_gc_low >= k->image_gc_high)
        return obj_fail_at(c, "imageGCLowThresholdPercent", CORE_E_INVAL,
                           "must be less than imageGCHighThresholdPercent");
    return 0;
}

static const struct obj_field kubelet_desc_f[] = {
    F_STRS("clusterDNS", struct k8s_kubelet, cluster_dns, 0, 0),
    F_INT("maxPods", struct k8s_kubelet, max_pods, 0, HAS(struct k8s_kubelet, has_max_pods), 0,
          INT32_MAX),
    F_INT("podsPerCore", struct k8s_kubelet, pods_per_core, 0,
          HAS(struct k8s_kubelet, has_pods_per_core), 0, INT32_MAX),
    F_RES("systemReserved", struct k8s_kubelet, system_reserved),
    F_RES("kubeReserved", struct k8s_kubelet, kube_reserved),
    F_LABELS("evictionHard", struct k8s_kubelet, eviction_hard, 0),
    F_LABELS("evictionSoft", struct k8s_kubelet, eviction_soft, 0),
    F_LABELS("evictionSoftGracePeriod", struct k8s_kubelet, eviction_soft_grace_period, 0),
    F_INT("evictionMaxPodGracePeriod", struct k8s_kubelet, eviction_max_pod_grace_period, 0,
          HAS(struct k8s_kubelet, has_eviction_max_pod_grace_period), 0, INT32_MAX),
    F_INT("imageGCHighThresholdPercent", struct k8s_kubelet, image_gc_high, 0,
          HAS(struct k8s_kubelet, has_image_gc_high), 0, 100),
    F_INT("imageGCLowThresholdPercent", struct k8s_kubelet, image_gc_low, 0,
          HAS(struct k8s_kubelet, has_image_gc_low), 0, 100),
    F_BOOL("cpuCFSQuota", struct k8s_kubelet, cpu_cfs_quota,
           HAS(struct k8s_kubelet, has_cpu_cfs_quota)),
};
static OBJ_DESC(kubelet_desc, struct k8s_kubelet, OBJ_INHERIT, kubelet_check, NULL);

#define GIB INT64_C(1073741824)
static const char *const volume_type_names[] = {"standard", "io1", "io2", "gp2", "sc1", "st1",
                                                "gp3", NULL};
static const struct obj_field ebs_desc_f[] = {
    F_QTY("volumeSize", struct k8s_ebs, volume_size, FL_VALUE, GIB, 64 * 1024 * GIB),
    F_ENUM("volumeType", struct k8s_ebs, volume_type, 0, volume_type_names),
    F_INT("iops", struct k8s_ebs, iops, 0, HAS(struct k8s_ebs, has_iops), 100, 256000),
    F_INT("throughput", struct k8s_ebs, throughput, 0, HAS(struct k8s_ebs, has_throughput), 125,
          2000),
    F_BOOL("encrypted", struct k8s_ebs, encrypted, HAS(struct k8s_ebs, has_encrypted)),
    F_STR("kmsKeyID", struct k8s_ebs, kms_key_id, FL_NONEMPTY),
    F_BOOL("deleteOnTermination", struct k8s_ebs, delete_on_termination,
           HAS(struct k8s_ebs, has_delete_on_termination)),
    F_STR("snapshotID", struct k8s_ebs, snapshot_id, FL_NONEMPTY),
    F_INT("volumeInitializationRate", struct k8s_ebs, volume_initialization_rate, 0,
          HAS(struct k8s_ebs, has_volume_initialization_rate), 100, 300),
};
static OBJ_DESC(ebs_desc, struct k8s_ebs, OBJ_INHERIT, NULL, NULL);
static const struct obj_field bdm_desc_f[] = {
    F_STR("deviceName", struct k8s_block_device, device_name, FL_REQ | FL_NONEMPTY),
    F_BOOL("rootVolume", struct k8s_block_device, root_volume, 0),
    F_OBJ("ebs", struct k8s_block_device, ebs, 0, ebs_desc, 0),
};
static OBJ_DESC(bdm_desc, struct k8s_block_device, OBJ_INHERIT, NULL, NULL);

static const char *const toggle_names[] = {"enabled", "disabled", NULL};
static const char *const tokens_names[] = {"required", "optional", NULL};
static const struct obj_field mdo_desc_f[] = {
    F_ENUM("httpEndpoint", struct k8s_metadata_options, http_endpoint, 0, toggle_names),
    F_ENUM("httpProtocolIPv6", struct k8s_metadata_options, http_protocol_ipv6, 0, toggle_names),
    F_INT("httpPutResponseHopLimit", struct k8s_metadata_options, http_put_response_hop_limit, 0,
          0, 1, 64),
    F_ENUM("httpTokens", struct k8s_metadata_options, http_tokens, 0, tokens_names),
};
static OBJ_DESC(mdo_desc, struct k8s_metadata_options, OBJ_INHERIT, NULL, NULL);

static int ec2nc_spec_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    struct k8s_ec2nodeclass *n = dst;
    struct k8s_metadata_options *mo = &n->metadata_options;
    enum k8s_ami_family fam = 0;
    char rel[96];
    size_t nroot = 0;

    (void)obj;
    for (size_t i = 0; i < n->nami_terms; i++) {
        if (!n->ami_terms[i].alias)
            continue;
        snprintf(rel, sizeof rel, "amiSelectorTerms[%zu]", i);
        if (n->nami_terms > 1)
            return obj_fail_at(c, rel, CORE_E_INVAL, "alias cannot be combined with other terms");
        fam = alias_family(n->ami_terms[i].alias);
    }
    if (fam && n->ami_family && n->ami_family != fam)
        return obj_fail_at(c, "amiFamily", CORE_E_INVAL,
                           "does not match the family of the alias '%s'", n->ami_terms[0].alias);
    if (!fam && !n->ami_family)
        return obj_fail_at(c, "amiFamily", CORE_E_INVAL,
                           "is required when amiSelectorTerms has no alias");
    if (fam)
        n->ami_family = fam;
    if (!n->role == !n->instance_profile)
        return obj_fail(c, CORE_E_INVAL, "exactly one of role and instanceProfile is required");
    for (size_t i = 0; i < n->tags.n; i++) {
        const struct k8s_kv *kv = &n->tags.v[i];
        snprintf(rel, sizeof rel, "tags[%.80s]", kv->key);
        if (k8s_tag_key_reserved(kv->key))
            return obj_fail_at(c, rel, CORE_E_INVAL, "tag key is reserved for the controller");
        if (!*kv->key || strlen(kv->key) > 128 || strlen(kv->value) > 256)
            return obj_fail_at(c, rel, CORE_E_INVAL,
                               "tag keys have 1-128 characters and values at most 256");
    }
    for (size_t i = 0; i < n->nblock_devices; i++) {
        if (n->block_devices[i].root_volume && ++nroot > 1) {
            snprintf(rel, sizeof rel, "blockDeviceMappings[%zu].rootVolume", i);
            return obj_fail_at(c, rel, CORE_E_INVAL,
                               "only one block device mapping can be the root volume");
        }
    }
    if (n->nblock_devices == 0) {
        struct k8s_block_device *b = core_calloc(1, sizeof *b);
        if (!b || !(b->device_name = core_strdup("/dev/xvda"))) {
            core_free(b);
            return obj_fail(c, CORE_E_NOMEM, "out of memory");
        }
        b->root_volume = 1;
        b->ebs.volume_size = 20 * GIB;
        b->ebs.volume_type = K8S_EBS_GP3;
        b->ebs.encrypted = b->ebs.has_encrypted = 1;
        n->block_devices = b;
        n->nblock_devices = 1;
    }
    if (!mo->http_endpoint)
        mo->http_endpoint = K8S_ENABLED;
    if (!mo->http_protocol_ipv6)
        mo->http_protocol_ipv6 = K8S_DISABLED;
    if (!mo->http_put_response_hop_limit)
        mo->http_put_response_hop_limit = 1;
    if (!mo->http_tokens)
        mo->http_tokens = K8S_TOKENS_REQUIRED;
    return 0;
}

static const char *const ami_family_names[] = {"AL2",        "AL2023",      "Bottlerocket",
                                                "Custom",     "Windows2019", "Windows2022",
                                                "Windows2025", NULL};
const char *k8s_ami_family_name(enum k8s_ami_family f)
{
    size_t n = sizeof(ami_family_names) / sizeof(ami_family_names[0]) - 1;
    return f >= 1 && (size_t)f <= n ? ami_family_names[f - 1] : NULL;
}

static const char *const store_policy_names[] = {"RAID0", NULL};
static const struct obj_field ec2nc_spec_desc_f[] = {
    F_ARR("amiSelectorTerms", struct k8s_ec2nodeclass, ami_terms, nami_terms,
          FL_REQ | FL_NONEMPTY, 30, ami_term_desc),
    F_ENUM("amiFamily", struct k8s_ec2nodeclass, ami_family, 0, ami_family_names),
    F_ARR("subnetSelectorTerms", struct k8s_ec2nodeclass, subnet_terms, nsubnet_terms,
          FL_REQ | FL_NONEMPTY, 30, subnet_term_desc),
    F_ARR("securityGroupSelectorTerms", struct k8s_ec2nodeclass, sg_terms, nsg_terms,
          FL_REQ | FL_NONEMPTY, 30, sg_term_desc),
    F_STR("role", struct k8s_ec2nodeclass, role, FL_NONEMPTY),
    F_STR("instanceProfile", struct k8s_ec2nodeclass, instance_profile, FL_NONEMPTY),
    F_STR("userData", struct k8s_ec2nodeclass, user_data, 0),
    F_LABELS("tags", struct k8s_ec2nodeclass, tags, 0),
    F_OBJ("kubelet", struct k8s_ec2nodeclass, kubelet, 0, kubelet_desc, 0),
    F_ARR("blockDeviceMappings", struct k8s_ec2nodeclass, block_devices, nblock_devices, 0, 50,
          bdm_desc),
    F_ENUM("instanceStorePolicy", struct k8s_ec2nodeclass, instance_store_raid0, 0,
           store_policy_names),
    F_OBJ("metadataOptions", struct k8s_ec2nodeclass, metadata_options, 0, mdo_desc, 0),
    F_BOOL("detailedMonitoring", struct k8s_ec2nodeclass, detailed_monitoring, 0),
    F_BOOL("associatePublicIPAddress", struct k8s_ec2nodeclass, associate_public_ip,
           HAS(struct k8s_ec2nodeclass, has_associate_public_ip)),
    F_STR("context", struct k8s_ec2nodeclass, context, FL_NONEMPTY),
};
static OBJ_DESC(ec2nc_spec_desc, struct k8s_ec2nodeclass, OBJ_STRICT, ec2nc_spec_check, NULL);

static const struct obj_field subnet_status_desc_f[] = {
    F_STR("id", struct k8s_subnet_status, id, 0),
    F_STR("zone", struct k8s_subnet_status, zone, 0),
    F_STR("zoneID", struct k8s_subnet_status, zone_id, 0),
};
static OBJ_DESC(subnet_status_desc, struct k8s_subnet_status, OBJ_INHERIT, NULL, NULL);
static const struct obj_field sg_status_desc_f[] = {
    F_STR("id", struct k8s_sg_status, id, 0),
    F_STR("name", struct k8s_sg_status, name, 0),
};
static OBJ_DESC(sg_status_desc, struct k8s_sg_status, OBJ_INHERIT, NULL, NULL);
static const struct obj_field ami_status_desc_f[] = {
    F_STR("id", struct k8s_ami_status, id, 0),
    F_STR("name", struct k8s_ami_status, name, 0),
    F_BOOL("deprecated", struct k8s_ami_status, deprecated, 0),
    F_ARR("requirements", struct k8s_ami_status, requirements, nrequirements, 0, 0,
          obj_node_req_desc),
};
static OBJ_DESC(ami_status_desc, struct k8s_ami_status, OBJ_INHERIT, NULL, NULL);
static const struct obj_field ec2nc_status_desc_f[] = {
    F_ARR("subnets", struct k8s_ec2nodeclass, subnets, nsubnets, 0, 0, subnet_status_desc),
    F_ARR("securityGroups", struct k8s_ec2nodeclass, security_groups, nsecurity_groups, 0, 0,
          sg_status_desc),
    F_ARR("amis", struct k8s_ec2nodeclass, amis, namis, 0, 0, ami_status_desc),
    F_STR("instanceProfile", struct k8s_ec2nodeclass, status_instance_profile, 0),
    F_ARR("conditions", struct k8s_ec2nodeclass, conditions, nconditions, 0, 0,
          obj_condition_desc),
};
static OBJ_DESC(ec2nc_status_desc, struct k8s_ec2nodeclass, OBJ_LENIENT, NULL, NULL);
static const struct obj_field ec2nc_desc_f[] = {
    F_OBJ("metadata", struct k8s_ec2nodeclass, meta, 0, obj_meta_desc, 0),
    F_NEST("spec", FL_REQ, ec2nc_spec_desc),
    F_NEST("status", 0, ec2nc_status_desc),
};
static OBJ_DESC(ec2nc_desc, struct k8s_ec2nodeclass, OBJ_LENIENT, NULL, NULL);
OBJ_KIND(ec2nodeclass, k8s_ec2nodeclass, "EC2NodeClass", 0, ec2nc_desc)

/* ------------------------------------------------------------------------------------------ */
/* WarmPool                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static int size_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    struct k8s_warm_size *s = dst;
    if (!obj_has(obj, "max"))
        s->max = s->min;
    if (s->min > s->max)
        return obj_fail(c, CORE_E_INVAL,
                        "min (%" PRId64 ") must not be greater than max (%" PRId64 ")", s->min,
                        s->max);
    return 0;
}

static const struct obj_field size_desc_f[] = {
    F_INT("min", struct k8s_warm_size, min, FL_REQ, 0, 0, 100000),
    F_INT("max", struct k8s_warm_size, max, 0, 0, 0, 100000),
};
static OBJ_DESC(size_desc, struct k8s_warm_size, OBJ_INHERIT, size_check, NULL);

/* "2026-...": the author meant a time, so say what is wrong with it rather than with cron. */
static int looks_like_time(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return s[4] == '-';
}

static int schedule_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    struct k8s_warm_schedule *s = dst;
    struct core_err e;

    (void)obj;
    core_err_clear(&e);
    if (core_time_parse_rfc3339(s->start, &s->start_time) == 0) {
        s->start_is_cron = 0;
    } else if (looks_like_time(s->start)) {
        return obj_fail_at(c, "start", CORE_E_PARSE,
                           "expected an RFC 3339 time with an offset (2026-11-27T08:00:00Z, "
                           "...+01:00), got '%s'", s->start);
    } else if (k8s_cron_parse(s->start, &s->cron, &e) != 0) {
        return obj_fail_at(c, "start", CORE_E_PARSE,
                           "expected an RFC 3339 time or a cron expression: %s", e.message);
    } else {
        s->start_is_cron = 1;
    }
    if (s->duration <= 0)
        return obj_fail_at(c, "duration", CORE_E_INVAL, "must be positive");
    return 0;
}

static const struct obj_field schedule_desc_f[] = {
    F_STR("name", struct k8s_warm_schedule, name, FL_REQ | FL_NONEMPTY),
    F_STR("start", struct k8s_warm_schedule, start, FL_REQ | FL_NONEMPTY),
    F_DUR("duration", struct k8s_warm_schedule, duration, FL_REQ, 0),
    F_OBJ("size", struct k8s_warm_schedule, size, FL_REQ, size_desc, 0),
};
static OBJ_DESC(schedule_desc, struct k8s_warm_schedule, OBJ_INHERIT, schedule_check, NULL);

static core_ns window_end(const struct k8s_warm_schedule *s)
{
    return s->start_time > INT64_MAX - s->duration ? INT64_MAX : s->start_time + s->duration;
}

static int wp_spec_check(struct obj_ctx *c, const json_t *obj, void *dst)
{
    struct k8s_warmpool *w = dst;
    const json_t *target = json_object_get(obj, "target");
    char rel[64];

    if (target && !json_is_null(target)) {
        const char *s = json_is_string(target) ? json_string_value(target) : "";
        int64_t v = 0;
        size_t i;
        for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 3; i++)
            v = v * 10 + (s[i] - '0');
        if (i == 0 || s[i] != '%' || s[i + 1] || v > 100)
            return obj_fail_at(c, "target", CORE_E_INVAL,
                               "expected a percentage of the NodePool's nodes, \"0%%\" to "
                               "\"100%%\"");
        w->target_percent = v;
        w->has_target = 1;
    }
    if (w->has_size == w->has_target)
        return obj_fail(c, CORE_E_INVAL, "exactly one of size and target is required");
    if (w->state == 0)
        w->state = K8S_WARM_STOPPED;
    for (size_t j = 0; j < w->nschedules; j++) {
        const struct k8s_warm_schedule *b = &w->schedules[j];
        for (size_t i = 0; i < j; i++) {
            const struct k8s_warm_schedule *a = &w->schedules[i];
            if (strcmp(a->name, b->name) == 0) {
                snprintf(rel, sizeof rel, "schedules[%zu].name", j);
                return obj_fail_at(c, rel, CORE_E_INVAL, "duplicate schedule name '%s'", b->name);
            }
            /* Two absolute windows [start, start+duration) that share an instant conflict;
             * overlaps involving cron schedules are left to the controller. */
            if (!a->start_is_cron && !b->start_is_cron && a->start_time < window_end(b) &&
                b->start_time < window_end(a)) {
                snprintf(rel, sizeof rel, "schedules[%zu].start", j);
                return obj_fail_at(c, rel, CORE_E_INVAL, "window overlaps schedule '%s'",
                                   a->name);
            }
        }
    }
    return 0;
}

static const struct obj_field wp_ref_desc_f[] = {
    F_STR("name", struct k8s_warmpool, nodepool, FL_REQ | FL_NONEMPTY),
};
static OBJ_DESC(wp_ref_desc, struct k8s_warmpool, OBJ_INHERIT, NULL, NULL);
static const struct obj_field wp_prewarm_desc_f[] = {
    F_STRS("images", struct k8s_warmpool, prewarm_images, 0, 100),
    F_BOOL("hydrateRootVolume", struct k8s_warmpool, hydrate_root_volume, 0),
    F_DUR("timeout", struct k8s_warmpool, prewarm_timeout, 0, 0),
};
static OBJ_DESC(wp_prewarm_desc, struct k8s_warmpool, OBJ_INHERIT, NULL, NULL);
static const char *const warm_state_names[] = {"Stopped", "Hibernated", "Running", NULL};
static const struct obj_field wp_spec_desc_f[] = {
    F_NEST("nodePoolRef", FL_REQ, wp_ref_desc),
    F_STRS("instanceTypes", struct k8s_warmpool, instance_types, 0, 0),
    F_STRS("zones", struct k8s_warmpool, zones, 0, 0),
    F_RES("podShape", struct k8s_warmpool, pod_shape),
    F_OBJ("size", struct k8s_warmpool, size, 0, size_desc, HAS(struct k8s_warmpool, has_size)),
    F_HOOK("target"),
    F_ENUM("state", struct k8s_warmpool, state, 0, warm_state_names),
    F_NEST("prewarm", 0, wp_prewarm_desc),
    F_DUR("maxAge", struct k8s_warmpool, max_age, 0, 0),
    F_ARR("schedules", struct k8s_warmpool, schedules, nschedules, 0, 50, schedule_desc),
};
static OBJ_DESC(wp_spec_desc, struct k8s_warmpool, OBJ_STRICT, wp_spec_check, NULL);
static const struct obj_field wp_status_desc_f[] = {
    F_INT("warming", struct k8s_warmpool, warming, 0, 0, 0, INT32_MAX),
    F_INT("warm", struct k8s_warmpool, warm, 0, 0, 0, INT32_MAX),
    F_INT("claimed", struct k8s_warmpool, claimed, 0, 0, 0, INT32_MAX),
    F_INT("failed", struct k8s_warmpool, failed, 0, 0, 0, INT32_MAX),
    F_INT("stale", struct k8s_warmpool, stale, 0, 0, 0, INT32_MAX),
    F_INT("min", struct k8s_warmpool, status_min, 0, 0, 0, INT32_MAX),
    F_INT("max", struct k8s_warmpool, status_max, 0, 0, 0, INT32_MAX),
    F_STR("activeSchedule", struct k8s_warmpool, active_schedule, 0),
    F_STRS("instanceTypes", struct k8s_warmpool, status_instance_types, 0, 0),
    F_STRS("images", struct k8s_warmpool, status_images, 0, 0),
    F_STR("lastDecision", struct k8s_warmpool, last_decision, 0),
    F_STR("idleCostPerHour", struct k8s_warmpool, idle_cost_per_hour, 0),
    F_ARR("conditions", struct k8s_warmpool, conditions, nconditions, 0, 0, obj_condition_desc),
};
static OBJ_DESC(wp_status_desc, struct k8s_warmpool, OBJ_LENIENT, NULL, NULL);
static const struct obj_field wp_desc_f[] = {
    F_OBJ("metadata", struct k8s_warmpool, meta, 0, obj_meta_desc, 0),
    F_NEST("spec", FL_REQ, wp_spec_desc),
    F_NEST("status", 0, wp_status_desc),
};
static OBJ_DESC(wp_desc, struct k8s_warmpool, OBJ_LENIENT, NULL, NULL);
OBJ_KIND(warmpool, k8s_warmpool, "WarmPool", 0, wp_desc)
