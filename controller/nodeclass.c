/*
 * controller/nodeclass.c — the EC2NodeClass reconciler: turns each class's selectors into its
 * status (subnets, security groups, AMIs, instance profile) and conditions (SubnetsReady,
 * SecurityGroupsReady, AMIsReady, InstanceProfileReady, ValidationSucceeded, Ready).
 *
 * One pass over a key: DescribeSubnets per subnet term, DescribeSecurityGroups per group term
 * and the AMI resolution run side by side; when all have answered, the status is rendered and
 * compared with the one the informer holds, and written (one merge patch on the status
 * subresource) only when it differs, so a write never causes another. The key is then checked
 * again after nodeclass_interval (default 5 minutes).
 *
 * Invariants:
 *  - Each key is independent: a class whose selectors match nothing only gets False
 *    conditions; nothing it does delays or fails another key.
 *  - A transient AWS failure (throttling, 5xx, transport) writes nothing and retries the key
 *    with backoff: the last good status stays. Anything the user can fix becomes a condition.
 *  - lastTransitionTime changes only when a condition's status changes; observedGeneration is
 *    the generation the status was computed from.
 *  - Every call carries its own tracked op; a pass's state is freed by whichever callback
 *    answers last, and touches the controller only when that callback finds it alive.
 *  - Known gap: stoker has no IAM client, so spec.role cannot be turned into an instance
 *    profile. Such a class gets InstanceProfileReady False / RoleNotSupported asking for
 *    spec.instanceProfile, and is therefore never Ready.
 *  - A class whose spec does not decode (the decoder repeats the CRD's CEL rules, e.g. a
 *    reserved tag key) never reaches the informer's store; controller_nodeclass_invalid (wired
 *    to the informer's error hook) records the error and this file writes ValidationSucceeded
 *    and Ready False for it, once per distinct error, so the write does not loop.
 */
#include "controller/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMPONENT "nodeclass"
#define NC_INTERVAL_DEFAULT ((core_ns)5 * 60 * 1000000000LL)
#define NC_MSG_MAX 1024u
#define NC_REASON_MAX 64u
#define NC_PROBE_MAX_PODS 110
#define NC_TERM_VALUES_MAX 20u /* tags per selector term (the CRD's maxProperties) */

struct nc_invalid {
    char *message;
    int written;
};

struct controller_nodeclass {
    struct core_wq *wq;
    struct core_map *invalid; /* key -> struct nc_invalid * */
};

/* ------------------------------------------------------------------------------------------ */
/* Conditions                                                                                  */
/* ------------------------------------------------------------------------------------------ */

enum { C_SUBNETS, C_SGS, C_AMIS, C_PROFILE, C_VALID, C_READY, C_COUNT };
static const char *const cond_types[C_COUNT] = {"SubnetsReady",         "SecurityGroupsReady",
                                                "AMIsReady",            "InstanceProfileReady",
                                                "ValidationSucceeded", "Ready"};

struct nc_cond {
    int ok;
    char reason[NC_REASON_MAX];
    char message[NC_MSG_MAX];
};

static void cond_set(struct nc_cond *c, int ok, const char *reason, const char *message)
{
    c->ok = ok;
    core_strlcpy(c->reason, reason ? reason : "", sizeof c->reason);
    core_strlcpy(c->message, message ? message : "", sizeof c->message);
}

static void cond_from(struct nc_cond *c, const struct k8s_condition *k)
{
    cond_set(c, k->status == K8S_COND_TRUE, k->reason, k->message);
}

static const char *status_name(enum k8s_cond_status s)
{
    return s == K8S_COND_TRUE ? "True" : s == K8S_COND_FALSE ? "False" : "Unknown";
}

/* ------------------------------------------------------------------------------------------ */
/* One pass over a key                                                                         */
/* ------------------------------------------------------------------------------------------ */

struct nc_subnet {
    char *id, *zone, *zone_id;
    int64_t avail;
};
struct nc_sg {
    char *id, *name;
};

struct nc_run {
    char *key;
    unsigned pending;
    int gone;              /* a callback found the controller gone */
    int transient;         /* a transient failure: retry, write nothing */
    struct core_err terr;
    struct nc_subnet *subnets;
    size_t nsubnets, capsubnets;
    struct nc_sg *sgs;
    size_t nsgs, capsgs;
    int subnet_failed, sg_failed; /* a permanent AWS error (message below) */
    char subnet_msg[NC_MSG_MAX], sg_msg[NC_MSG_MAX];
    int ami_done;
    json_t *amis;
    struct nc_cond ami_cond;
    int nomem;
};

enum nc_kind { K_SUBNETS, K_SGS, K_AMIS, K_PATCH };

struct nc_call {
    struct controller_op op; /* first */
    struct nc_run *run;      /* NULL for K_PATCH */
    char *key;               /* K_PATCH */
    char *invalid_msg;       /* K_PATCH of an undecodable class */
};

static void run_free(struct nc_run *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nsubnets; i++) {
        core_free(r->subnets[i].id);
        core_free(r->subnets[i].zone);
        core_free(r->subnets[i].zone_id);
    }
    core_free(r->subnets);
    for (size_t i = 0; i < r->nsgs; i++) {
        core_free(r->sgs[i].id);
        core_free(r->sgs[i].name);
    }
    core_free(r->sgs);
    json_decref(r->amis);
    core_free(r->key);
    core_free(r);
}

static int is_transient(int rc, const struct core_err *e)
{
    switch (rc) {
    case CORE_E_SERVICE:
        return e && (e->http_status >= 500 || aws_error_is_throttling(e->service_code));
    case CORE_E_INVAL:
    case CORE_E_NOTFOUND:
    case CORE_E_UNSUPPORTED:
        return 0;
    default:
        return 1;
    }
}

/* An id or name that does not exist means the term matches nothing, as a filter would. */
static int is_not_found(const struct core_err *e)
{
    const char *code = e ? e->service_code : "";
    size_t n = strlen(code);
    return (n > 9 && strcmp(code + n - 9, ".NotFound") == 0) ||
           (n > 10 && strcmp(code + n - 10, ".Malformed") == 0);
}

static void run_note_transient(struct nc_run *r, int rc, const struct core_err *err)
{
    if (!r->transient) {
        r->transient = 1;
        if (err)
            r->terr = *err;
        else
            core_err_set(&r->terr, rc, "%s", core_strerror(rc));
    }
}

static void nc_finish(struct controller *c, struct nc_run *r);

/* Called by every callback of a pass (and once by the handler itself). */
static void run_release(struct controller *c, struct nc_run *r)
{
    if (!c)
        r->gone = 1;
    if (--r->pending > 0)
        return;
    if (r->gone || !c) {
        run_free(r);
        return;
    }
    nc_finish(c, r);
}

/* Room for one more element in a growing array (doubling from 8); 0 or CORE_E_NOMEM. */
static int room_for_one(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *nv = core_realloc(*v, ncap * elem);
    if (!nv)
        return CORE_E_NOMEM;
    *v = nv;
    *cap = ncap;
    return 0;
}

/* A selector term's Describe call failed: transient errors retry the whole pass; "not found"
 * means the term matched nothing; anything else is remembered once for the condition. */
static void term_failed(struct nc_run *r, int rc, const struct core_err *err, int *failed,
                        char *msg, size_t msgsz, const char *action)
{
    if (is_transient(rc, err)) {
        run_note_transient(r, rc, err);
    } else if (!is_not_found(err) && !*failed) {
        *failed = 1;
        snprintf(msg, msgsz, "%s: %s: %s", action,
                 err && err->service_code[0] ? err->service_code : core_strerror(rc),
                 err ? err->message : "");
    }
}

static void subnets_done(void *ud, int rc, const struct aws_ec2_subnets *res,
                         const struct core_err *err)
{
    struct nc_call *call = ud;
    struct nc_run *r = call->run;
    struct controller *c = controller_op_finish(&call->op);
    core_free(call);
    if (c && rc == 0 && res) {
        for (size_t i = 0; i < res->n && !r->nomem; i++) {
            const struct aws_ec2_subnet *s = &res->v[i];
            int dup = 0;
            for (size_t k = 0; k < r->nsubnets && !dup; k++)
                dup = strcmp(r->subnets[k].id, s->subnet_id) == 0;
            if (dup)
                continue;
            if (room_for_one((void **)&r->subnets, &r->capsubnets, r->nsubnets,
                             sizeof *r->subnets) != 0) {
                r->nomem = 1;
                break;
            }
            struct nc_subnet *d = &r->subnets[r->nsubnets];
            d->id = core_strdup(s->subnet_id);
            d->zone = core_strdup(s->availability_zone ? s->availability_zone : "");
            d->zone_id = core_strdup(s->availability_zone_id ? s->availability_zone_id : "");
            d->avail = s->available_ips;
            r->nsubnets++;
            if (!d->id || !d->zone || !d->zone_id)
                r->nomem = 1;
        }
    } else if (c && rc != 0) {
        term_failed(r, rc, err, &r->subnet_failed, r->subnet_msg, sizeof r->subnet_msg,
                    "DescribeSubnets");
    }
    run_release(c, r);
}

static void sgs_done(void *ud, int rc, const struct aws_ec2_security_groups *res,
                     const struct core_err *err)
{
    struct nc_call *call = ud;
    struct nc_run *r = call->run;
    struct controller *c = controller_op_finish(&call->op);
    core_free(call);
    if (c && rc == 0 && res) {
        for (size_t i = 0; i < res->n && !r->nomem; i++) {
            const struct aws_ec2_security_group *g = &res->v[i];
            int dup = 0;
            for (size_t k = 0; k < r->nsgs && !dup; k++)
                dup = strcmp(r->sgs[k].id, g->group_id) == 0;
            if (dup)
                continue;
            if (room_for_one((void **)&r->sgs, &r->capsgs, r->nsgs, sizeof *r->sgs) != 0) {
                r->nomem = 1;
                break;
            }
            struct nc_sg *d = &r->sgs[r->nsgs];
            d->id = core_strdup(g->group_id);
            d->name = core_strdup(g->group_name ? g->group_name : "");
            r->nsgs++;
            if (!d->id || !d->name)
                r->nomem = 1;
        }
    } else if (c && rc != 0) {
        term_failed(r, rc, err, &r->sg_failed, r->sg_msg, sizeof r->sg_msg,
                    "DescribeSecurityGroups");
    }
    run_release(c, r);
}

/* Records the AMI outcome as amiresolve renders it (amis[] and AMIsReady). */
static void ami_record(struct nc_run *r, int rc, const struct amiresolve_result *res,
                       const struct core_err *err)
{
    struct k8s_condition k;
    json_t *amis = NULL;
    if (rc != 0 && is_transient(rc, err)) {
        run_note_transient(r, rc, err);
        return;
    }
    memset(&k, 0, sizeof k);
    if (amiresolve_status(res, rc, err, &amis, &k) != 0) {
        r->nomem = 1;
        return;
    }
    json_decref(r->amis);
    r->amis = amis;
    cond_from(&r->ami_cond, &k);
    amiresolve_condition_cleanup(&k);
    r->ami_done = 1;
}

static void amis_done(void *ud, int rc, const struct amiresolve_result *res,
                      const struct core_err *err)
{
    struct nc_call *call = ud;
    struct nc_run *r = call->run;
    struct controller *c = controller_op_finish(&call->op);
    core_free(call);
    if (c)
        ami_record(r, rc, res, err);
    run_release(c, r);
}

/* Fills the filters of one selector term: tag:<k>=<v>, or tag-key=<k> for the value "*". */
static size_t term_filters(const struct k8s_selector_term *t, struct aws_ec2_filter *f,
                           const char **vals, char names[][160], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < t->tags.n && n < max; i++) {
        const struct k8s_kv *kv = &t->tags.v[i];
        if (strcmp(kv->value, "*") == 0) {
            f[n].name = "tag-key";
            vals[n] = kv->key;
        } else {
            snprintf(names[n], 160, "tag:%s", kv->key);
            f[n].name = names[n];
            vals[n] = kv->value;
        }
        f[n].values = &vals[n];
        f[n].nvalues = 1;
        n++;
    }
    return n;
}

static void issue_subnet_term(struct controller *c, struct nc_run *r,
                              const struct k8s_selector_term *t)
{
    struct aws_ec2_filter f[NC_TERM_VALUES_MAX];
    const char *vals[NC_TERM_VALUES_MAX];
    char names[NC_TERM_VALUES_MAX][160];
    struct aws_ec2_describe_subnets_req req;
    struct core_err err;
    struct nc_call *call;

    memset(&req, 0, sizeof req);
    core_err_clear(&err);
    req.nfilters = term_filters(t, f, vals, names, NC_TERM_VALUES_MAX);
    req.filters = req.nfilters ? f : NULL;
    if (t->id) {
        req.subnet_ids = (const char *const *)&t->id;
        req.nsubnet_ids = 1;
    }
    if (!req.nfilters && !req.nsubnet_ids)
        return; /* an empty term matches nothing (the CRD forbids it anyway) */
    if (!(call = core_calloc(1, sizeof *call))) {
        r->nomem = 1;
        return;
    }
    call->run = r;
    controller_op_track(c, &call->op);
    controller_count_ec2(c);
    r->pending++;
    int rc = aws_ec2_describe_subnets(c->aws, &req, subnets_done, call, &err);
    if (rc) {
        controller_op_finish(&call->op);
        core_free(call);
        r->pending--;
        run_note_transient(r, rc, &err);
    }
}

static void issue_sg_term(struct controller *c, struct nc_run *r,
                          const struct k8s_selector_term *t)
{
    struct aws_ec2_filter f[NC_TERM_VALUES_MAX + 1];
    const char *vals[NC_TERM_VALUES_MAX + 1];
    char names[NC_TERM_VALUES_MAX][160];
    struct aws_ec2_describe_security_groups_req req;
    struct core_err err;
    struct nc_call *call;

    memset(&req, 0, sizeof req);
    core_err_clear(&err);
    req.nfilters = term_filters(t, f, vals, names, NC_TERM_VALUES_MAX);
    if (t->name) {
        /* The filter works in every VPC; GroupName only in the default one. */
        f[req.nfilters].name = "group-name";
        vals[req.nfilters] = t->name;
        f[req.nfilters].values = &vals[req.nfilters];
        f[req.nfilters].nvalues = 1;
        req.nfilters++;
    }
    req.filters = req.nfilters ? f : NULL;
    if (t->id) {
        req.group_ids = (const char *const *)&t->id;
        req.ngroup_ids = 1;
    }
    if (!req.nfilters && !req.ngroup_ids)
        return;
    if (!(call = core_calloc(1, sizeof *call))) {
        r->nomem = 1;
        return;
    }
    call->run = r;
    controller_op_track(c, &call->op);
    controller_count_ec2(c);
    r->pending++;
    int rc = aws_ec2_describe_security_groups(c->aws, &req, sgs_done, call, &err);
    if (rc) {
        controller_op_finish(&call->op);
        core_free(call);
        r->pending--;
        run_note_transient(r, rc, &err);
    }
}

static void issue_amis(struct controller *c, struct nc_run *r, const struct k8s_ec2nodeclass *nc)
{
    struct core_err err;
    struct nc_call *call = core_calloc(1, sizeof *call);
    core_err_clear(&err);
    if (!call) {
        r->nomem = 1;
        return;
    }
    call->run = r;
    controller_op_track(c, &call->op);
    r->pending++;
    int rc = amiresolve_resolve(c->ami, nc, c->k8s_version, amis_done, call, &err);
    if (rc) {
        /* Refused before any call (a bad term, an alias that does not exist): a condition. */
        controller_op_finish(&call->op);
        core_free(call);
        r->pending--;
        ami_record(r, rc, NULL, &err);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Status                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static int cmp_subnet(const void *a, const void *b)
{
    const struct nc_subnet *x = a, *y = b;
    if (x->avail != y->avail)
        return x->avail > y->avail ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int cmp_sg(const void *a, const void *b)
{
    const struct nc_sg *x = a, *y = b;
    return strcmp(x->id, y->id);
}

/* "[0] tags a=b,c=*; [1] id subnet-1" into out, cut to fit. */
static void describe_terms(const struct k8s_selector_term *t, size_t n, char *out, size_t outsz)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && len + 1 < outsz; i++) {
        int w = snprintf(out + len, outsz - len, "%s[%zu]", i ? "; " : "", i);
        if (w < 0)
            return;
        len += (size_t)w;
        if (len >= outsz)
            break;
        if (t[i].id && len < outsz) {
            w = snprintf(out + len, outsz - len, " id %s", t[i].id);
            len += w > 0 ? (size_t)w : 0;
        }
        if (t[i].name && len < outsz) {
            w = snprintf(out + len, outsz - len, " name %s", t[i].name);
            len += w > 0 ? (size_t)w : 0;
        }
        for (size_t k = 0; k < t[i].tags.n && len < outsz; k++) {
            w = snprintf(out + len, outsz - len, "%s%s=%s", k ? "," : " tags ", t[i].tags.v[k].key,
                         t[i].tags.v[k].value);
            len += w > 0 ? (size_t)w : 0;
        }
    }
    if (len >= outsz)
        out[outsz - 1] = '\0';
}

/* ValidationSucceeded: reserved tag keys, then a probe render of the join user data. */
static int validate(const struct controller *c, const struct k8s_ec2nodeclass *nc,
                    struct nc_cond *out)
{
    char msg[NC_MSG_MAX];
    for (size_t i = 0; i < nc->tags.n; i++) {
        if (k8s_tag_key_reserved(nc->tags.v[i].key)) {
            snprintf(msg, sizeof msg, "spec.tags: the key '%s' is reserved for the controller",
                     nc->tags.v[i].key);
            cond_set(out, 0, "ReservedTag", msg);
            return 0;
        }
    }
    struct userdata_input in;
    struct userdata_output uo;
    struct k8s_condition k;
    struct core_err err;
    memset(&in, 0, sizeof in);
    memset(&uo, 0, sizeof uo);
    memset(&k, 0, sizeof k);
    core_err_clear(&err);
    in.family = nc->ami_family;
    in.phase = USERDATA_JOIN;
    in.cluster.name = c->opts.cluster_name;
    in.cluster.endpoint = c->opts.cluster_endpoint;
    in.cluster.ca_bundle = c->opts.cluster_ca;
    in.cluster.service_cidr = c->opts.service_cidr;
    in.cluster.cluster_dns = c->opts.cluster_dns;
    in.node.kubelet = &nc->kubelet;
    in.node.max_pods = NC_PROBE_MAX_PODS;
    in.node.instance_store_raid0 = nc->instance_store_raid0;
    in.node.user_data = nc->user_data;
    int rc = userdata_build(&in, &uo, &err);
    int crc = userdata_condition(rc, &err, rc ? NULL : &uo, &k);
    userdata_output_cleanup(&uo);
    if (crc)
        return crc;
    cond_from(out, &k);
    userdata_condition_cleanup(&k);
    return 0;
}

static json_t *cond_json(const char *type, enum k8s_cond_status st, const char *reason,
                         const char *message, int has_ltt, core_ns ltt, int has_gen, int64_t gen)
{
    char ts[40];
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = json_object_set_new(o, "type", json_string(type)) ||
              json_object_set_new(o, "status", json_string(status_name(st))) ||
              json_object_set_new(o, "reason", json_string(reason ? reason : "")) ||
              json_object_set_new(o, "message", json_string(message ? message : ""));
    if (!bad && has_ltt) {
        core_time_rfc3339(ltt, ts, sizeof ts);
        bad = json_object_set_new(o, "lastTransitionTime", json_string(ts));
    }
    if (!bad && has_gen)
        bad = json_object_set_new(o, "observedGeneration", json_integer(gen));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *reqs_json(const struct k8s_requirement *v, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = json_object();
        int bad = !o || json_array_append_new(arr, o) ||
                  json_object_set_new(o, "key", json_string(v[i].key ? v[i].key : "")) ||
                  json_object_set_new(o, "operator",
                                      json_string(k8s_op_name(v[i].op)));
        if (!bad && v[i].values.n) {
            json_t *vals = json_array();
            bad = !vals || json_object_set_new(o, "values", vals);
            for (size_t k = 0; !bad && k < v[i].values.n; k++)
                bad = json_array_append_new(vals, json_string(v[i].values.v[k]));
        }
        if (bad) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* The status the informer holds, rendered the way this file writes it, for the comparison. */
static json_t *current_status(const struct k8s_ec2nodeclass *nc)
{
    json_t *st = json_object(), *subnets = json_array(), *sgs = json_array(),
           *amis = json_array(), *conds = json_array();
    int bad = !st || !subnets || !sgs || !amis || !conds;
    for (size_t i = 0; !bad && i < nc->nsubnets; i++) {
        const struct k8s_subnet_status *s = &nc->subnets[i];
        json_t *o = json_pack("{s:s, s:s, s:s}", "id", s->id ? s->id : "", "zone",
                              s->zone ? s->zone : "", "zoneID", s->zone_id ? s->zone_id : "");
        bad = !o || json_array_append_new(subnets, o);
    }
    for (size_t i = 0; !bad && i < nc->nsecurity_groups; i++) {
        const struct k8s_sg_status *s = &nc->security_groups[i];
        json_t *o = json_pack("{s:s, s:s}", "id", s->id ? s->id : "", "name",
                              s->name ? s->name : "");
        bad = !o || json_array_append_new(sgs, o);
    }
    for (size_t i = 0; !bad && i < nc->namis; i++) {
        const struct k8s_ami_status *a = &nc->amis[i];
        json_t *reqs = reqs_json(a->requirements, a->nrequirements);
        json_t *o = reqs ? json_pack("{s:s, s:s, s:b, s:o}", "id", a->id ? a->id : "", "name",
                                     a->name ? a->name : "", "deprecated", a->deprecated,
                                     "requirements", reqs)
                         : NULL;
        bad = !o || json_array_append_new(amis, o);
    }
    for (size_t i = 0; !bad && i < C_COUNT; i++) {
        const struct k8s_condition *k =
            k8s_condition_find(nc->conditions, nc->nconditions, cond_types[i]);
        if (!k)
            continue;
        json_t *o = cond_json(k->type, k->status, k->reason, k->message,
                              k->has_last_transition_time, k->last_transition_time, 1,
                              k->observed_generation);
        bad = !o || json_array_append_new(conds, o);
    }
    if (!bad && nc->status_instance_profile)
        bad = json_object_set_new(st, "instanceProfile",
                                  json_string(nc->status_instance_profile));
    if (!bad) {
        bad = json_object_set_new(st, "subnets", subnets) ||
              json_object_set_new(st, "securityGroups", sgs) ||
              json_object_set_new(st, "amis", amis) ||
              json_object_set_new(st, "conditions", conds);
        subnets = sgs = amis = conds = NULL;
    }
    if (bad) {
        json_decref(subnets);
        json_decref(sgs);
        json_decref(amis);
        json_decref(conds);
        json_decref(st);
        return NULL;
    }
    return st;
}

/* Renders the new status; lastTransitionTime is kept from the current condition of the same
 * type and status. */
static json_t *desired_status(const struct controller *c, const struct k8s_ec2nodeclass *nc,
                              struct nc_run *r, const struct nc_cond *conds)
{
    json_t *st = json_object(), *subnets = json_array(), *sgs = json_array(), *cj = json_array();
    int bad = !st || !subnets || !sgs || !cj;
    core_ns now = controller_wall(c);

    if (r->nsubnets > 1)
        qsort(r->subnets, r->nsubnets, sizeof *r->subnets, cmp_subnet);
    if (r->nsgs > 1)
        qsort(r->sgs, r->nsgs, sizeof *r->sgs, cmp_sg);
    for (size_t i = 0; !bad && i < r->nsubnets; i++) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "id", r->subnets[i].id, "zone",
                              r->subnets[i].zone, "zoneID", r->subnets[i].zone_id);
        bad = !o || json_array_append_new(subnets, o);
    }
    for (size_t i = 0; !bad && i < r->nsgs; i++) {
        json_t *o = json_pack("{s:s, s:s}", "id", r->sgs[i].id, "name", r->sgs[i].name);
        bad = !o || json_array_append_new(sgs, o);
    }
    for (size_t i = 0; !bad && i < C_COUNT; i++) {
        enum k8s_cond_status s = conds[i].ok ? K8S_COND_TRUE : K8S_COND_FALSE;
        const struct k8s_condition *old =
            k8s_condition_find(nc->conditions, nc->nconditions, cond_types[i]);
        core_ns ltt = old && old->status == s && old->has_last_transition_time
                          ? old->last_transition_time
                          : now;
        json_t *o = cond_json(cond_types[i], s, conds[i].reason, conds[i].message, 1, ltt, 1,
                              nc->meta.generation);
        bad = !o || json_array_append_new(cj, o);
    }
    if (!bad && nc->instance_profile)
        bad = json_object_set_new(st, "instanceProfile", json_string(nc->instance_profile));
    if (!bad) {
        bad = json_object_set_new(st, "subnets", subnets) ||
              json_object_set_new(st, "securityGroups", sgs) ||
              json_object_set(st, "amis", r->amis) ||
              json_object_set_new(st, "conditions", cj);
        subnets = sgs = cj = NULL;
    }
    if (bad) {
        json_decref(subnets);
        json_decref(sgs);
        json_decref(cj);
        json_decref(st);
        return NULL;
    }
    return st;
}

static void patch_done(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct nc_call *call = ud;
    struct controller *c = controller_op_finish(&call->op);
    (void)obj;
    if (c) {
        struct controller_nodeclass *n = c->nodeclass;
        if (call->invalid_msg) {
            struct nc_invalid *inv = core_map_get(n->invalid, call->key, NULL);
            if (rc == CORE_E_NOTFOUND) {
                inv = core_map_del(n->invalid, call->key);
                if (inv) {
                    core_free(inv->message);
                    core_free(inv);
                }
            } else if (rc == 0 && inv && inv->message &&
                       strcmp(inv->message, call->invalid_msg) == 0) {
                inv->written = 1;
            }
        }
        if (rc == 0 || rc == CORE_E_NOTFOUND) {
            core_wq_done(n->wq, call->key, CORE_WQ_OK);
        } else {
            controller_log(c, CORE_LOG_WARN, COMPONENT, call->key, "status write failed",
                           "error", err ? err->message : core_strerror(rc), (const char *)NULL);
            core_wq_done(n->wq, call->key, CORE_WQ_RETRY);
        }
    }
    core_free(call->key);
    core_free(call->invalid_msg);
    core_free(call);
}

/* Starts the status patch; the key is done when it answers. */
static void write_status(struct controller *c, const char *key, json_t *status,
                         const char *invalid_msg)
{
    struct controller_nodeclass *n = c->nodeclass;
    struct core_err err;
    json_t *patch = json_pack("{s:O}", "status", status);
    struct nc_call *call = core_calloc(1, sizeof *call);
    core_err_clear(&err);
    if (!patch || !call || !(call->key = core_strdup(key)) ||
        (invalid_msg && !(call->invalid_msg = core_strdup(invalid_msg)))) {
        json_decref(patch);
        if (call) {
            core_free(call->key);
            core_free(call);
        }
        core_wq_done(n->wq, key, CORE_WQ_RETRY);
        return;
    }
    controller_op_track(c, &call->op);
    int rc = k8s_patch(c->k8s, &k8s_res_ec2nodeclasses, NULL, key, "status", K8S_PATCH_MERGE,
                       patch, patch_done, call, &err);
    json_decref(patch);
    if (rc) {
        controller_op_finish(&call->op);
        core_free(call->key);
        core_free(call->invalid_msg);
        core_free(call);
        controller_log(c, CORE_LOG_WARN, COMPONENT, key, "status write failed", "error",
                       err.message, (const char *)NULL);
        core_wq_done(n->wq, key, CORE_WQ_RETRY);
    }
}

static core_ns nc_interval(const struct controller *c)
{
    return c->opts.nodeclass_interval > 0 ? c->opts.nodeclass_interval : NC_INTERVAL_DEFAULT;
}

/* All answers are in: decide and write. */
static void nc_finish(struct controller *c, struct nc_run *r)
{
    struct controller_nodeclass *n = c->nodeclass;
    const struct k8s_ec2nodeclass *nc = k8s_informer_get(c->nodeclasses, r->key);
    struct nc_cond conds[C_COUNT];
    char terms[NC_MSG_MAX / 2], msg[NC_MSG_MAX];
    json_t *want = NULL, *have = NULL;
    const char *key = r->key;

    if (!nc) { /* deleted (or became undecodable) meanwhile */
        core_wq_done(n->wq, key, CORE_WQ_OK);
        run_free(r);
        return;
    }
    if (r->transient || r->nomem || !r->ami_done) {
        controller_log(c, CORE_LOG_WARN, COMPONENT, key, "resolution failed; retrying", "error",
                       r->transient ? r->terr.message : "out of memory", (const char *)NULL);
        core_wq_done(n->wq, key, CORE_WQ_RETRY);
        run_free(r);
        return;
    }
    memset(conds, 0, sizeof conds);
    if (r->subnet_failed) {
        cond_set(&conds[C_SUBNETS], 0, "AWSError", r->subnet_msg);
    } else if (r->nsubnets == 0) {
        describe_terms(nc->subnet_terms, nc->nsubnet_terms, terms, sizeof terms);
        snprintf(msg, sizeof msg, "no subnet matches spec.subnetSelectorTerms: %s", terms);
        cond_set(&conds[C_SUBNETS], 0, "SubnetsNotFound", msg);
    } else {
        snprintf(msg, sizeof msg, "%zu subnets", r->nsubnets);
        cond_set(&conds[C_SUBNETS], 1, "SubnetsReady", msg);
    }
    if (r->sg_failed) {
        cond_set(&conds[C_SGS], 0, "AWSError", r->sg_msg);
    } else if (r->nsgs == 0) {
        describe_terms(nc->sg_terms, nc->nsg_terms, terms, sizeof terms);
        snprintf(msg, sizeof msg, "no security group matches spec.securityGroupSelectorTerms: %s",
                 terms);
        cond_set(&conds[C_SGS], 0, "SecurityGroupsNotFound", msg);
    } else {
        snprintf(msg, sizeof msg, "%zu security groups", r->nsgs);
        cond_set(&conds[C_SGS], 1, "SecurityGroupsReady", msg);
    }
    conds[C_AMIS] = r->ami_cond;
    if (nc->instance_profile) {
        cond_set(&conds[C_PROFILE], 1, "InstanceProfileReady", nc->instance_profile);
    } else {
        cond_set(&conds[C_PROFILE], 0, "RoleNotSupported",
                 "stoker cannot create an instance profile from spec.role (it has no IAM "
                 "client); set spec.instanceProfile to an existing instance profile instead");
    }
    if (validate(c, nc, &conds[C_VALID]) != 0) {
        core_wq_done(n->wq, key, CORE_WQ_RETRY);
        run_free(r);
        return;
    }
    cond_set(&conds[C_READY], 1, "Ready", "");
    for (size_t i = 0; i < C_READY; i++) {
        if (!conds[i].ok) {
            snprintf(msg, sizeof msg, "%s: %s", cond_types[i], conds[i].message);
            cond_set(&conds[C_READY], 0, conds[i].reason, msg);
            break;
        }
    }
    want = desired_status(c, nc, r, conds);
    have = want ? current_status(nc) : NULL;
    if (!want || !have) {
        json_decref(want);
        core_wq_done(n->wq, key, CORE_WQ_RETRY);
        run_free(r);
        return;
    }
    int same = json_equal(want, have);
    json_decref(have);
    if (same) {
        core_wq_done(n->wq, key, CORE_WQ_OK);
    } else {
        const struct k8s_condition *old =
            k8s_condition_find(nc->conditions, nc->nconditions, "Ready");
        int was = old && old->status == K8S_COND_TRUE;
        if (!old || was != conds[C_READY].ok)
            controller_log(c, conds[C_READY].ok ? CORE_LOG_INFO : CORE_LOG_WARN, COMPONENT, key,
                           conds[C_READY].ok ? "ready" : "not ready", "reason",
                           conds[C_READY].reason, "message", conds[C_READY].message,
                           (const char *)NULL);
        if (!nc->instance_profile &&
            json_object_set_new(want, "instanceProfile", json_null()) != 0) {
            json_decref(want);
            core_wq_done(n->wq, key, CORE_WQ_RETRY);
            run_free(r);
            return;
        }
        write_status(c, key, want, NULL);
    }
    json_decref(want);
    if (core_wq_add_after(n->wq, key, nc_interval(c)) != 0)
        controller_log(c, CORE_LOG_WARN, COMPONENT, key, "cannot schedule re-resolution",
                       (const char *)NULL);
    run_free(r);
}

/* ------------------------------------------------------------------------------------------ */
/* Undecodable classes                                                                         */
/* ------------------------------------------------------------------------------------------ */

static void invalid_write(struct controller *c, const char *key, struct nc_invalid *inv)
{
    const char *reason =
        strstr(inv->message, "tags[") && strstr(inv->message, "reserved") ? "ReservedTag"
                                                                          : "InvalidSpec";
    core_ns now = controller_wall(c);
    json_t *conds = json_array(), *st = json_object();
    json_t *v = cond_json("ValidationSucceeded", K8S_COND_FALSE, reason, inv->message, 1, now, 0,
                          0);
    json_t *rd = cond_json("Ready", K8S_COND_FALSE, reason, inv->message, 1, now, 0, 0);
    int bad = !conds || !st || !v || !rd;
    if (!bad) {
        bad = json_array_append_new(conds, v) || json_array_append_new(conds, rd);
        v = rd = NULL;
    }
    if (!bad) {
        bad = json_object_set_new(st, "conditions", conds);
        conds = NULL;
    }
    json_decref(v);
    json_decref(rd);
    json_decref(conds);
    if (bad) {
        json_decref(st);
        core_wq_done(c->nodeclass->wq, key, CORE_WQ_RETRY);
        return;
    }
    controller_log(c, CORE_LOG_WARN, COMPONENT, key, "invalid spec", "reason", reason, "message",
                   inv->message, (const char *)NULL);
    write_status(c, key, st, inv->message);
    json_decref(st);
}

void controller_nodeclass_invalid(struct controller *c, const char *key,
                                  const struct core_err *err)
{
    struct controller_nodeclass *n = c ? c->nodeclass : NULL;
    if (!n || !key || !err)
        return;
    struct nc_invalid *inv = core_map_get(n->invalid, key, NULL);
    if (inv && inv->message && strcmp(inv->message, err->message) == 0)
        return; /* already known: our own write of its status comes back here */
    char *m = core_strdup(err->message);
    if (!m)
        return;
    if (!inv) {
        if (!(inv = core_calloc(1, sizeof *inv)) || core_map_set(n->invalid, key, inv, NULL)) {
            core_free(inv);
            core_free(m);
            return;
        }
    }
    core_free(inv->message);
    inv->message = m;
    inv->written = 0;
    if (core_wq_add(n->wq, key) != 0)
        controller_log(c, CORE_LOG_WARN, COMPONENT, key, "cannot enqueue", (const char *)NULL);
}

static void invalid_drop(struct controller_nodeclass *n, const char *key)
{
    struct nc_invalid *inv = core_map_del(n->invalid, key);
    if (inv) {
        core_free(inv->message);
        core_free(inv);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Work queue and informer                                                                     */
/* ------------------------------------------------------------------------------------------ */

static void nc_handle(void *ud, struct core_wq *wq, const char *key)
{
    struct controller *c = ud;
    const struct k8s_ec2nodeclass *nc = k8s_informer_get(c->nodeclasses, key);

    if (!controller_may_act(c)) {
        core_wq_done(wq, key, CORE_WQ_OK);
        return;
    }
    if (!nc) {
        struct nc_invalid *inv = core_map_get(c->nodeclass->invalid, key, NULL);
        if (inv && !inv->written)
            invalid_write(c, key, inv);
        else
            core_wq_done(wq, key, CORE_WQ_OK);
        return;
    }
    if (!c->k8s_version) { /* controller.c resyncs once it knows the version */
        core_wq_done(wq, key, CORE_WQ_OK);
        return;
    }
    struct nc_run *r = core_calloc(1, sizeof *r);
    if (!r || !(r->key = core_strdup(key))) {
        core_free(r);
        core_wq_done(wq, key, CORE_WQ_RETRY);
        return;
    }
    r->pending = 1; /* the handler's own reference, released below */
    for (size_t i = 0; i < nc->nsubnet_terms; i++)
        issue_subnet_term(c, r, &nc->subnet_terms[i]);
    for (size_t i = 0; i < nc->nsg_terms; i++)
        issue_sg_term(c, r, &nc->sg_terms[i]);
    issue_amis(c, r, nc);
    run_release(c, r);
}

static void nc_changed(void *ud, const char *key, const void *old, const void *value)
{
    struct controller *c = ud;
    const struct k8s_ec2nodeclass *o = old, *v = value;
    if (!v) {
        invalid_drop(c->nodeclass, key);
        return;
    }
    invalid_drop(c->nodeclass, key);
    /* Our own status writes do not move the generation: no pass for them. */
    if (o && o->meta.generation == v->meta.generation && o->meta.generation != 0)
        return;
    if (core_wq_add(c->nodeclass->wq, key) != 0)
        controller_log(c, CORE_LOG_WARN, COMPONENT, key, "cannot enqueue", (const char *)NULL);
}

int controller_nodeclass_init(struct controller *c, struct core_err *err)
{
    struct controller_nodeclass *n = core_calloc(1, sizeof *n);
    struct core_wq_opts wo;
    int rc;
    if (!n)
        return core_err_set(err, CORE_E_NOMEM, "nodeclass: out of memory");
    memset(&wo, 0, sizeof wo);
    wo.backoff_base = 1000000000LL;      /* 1 s: AWS errors do not clear in milliseconds */
    wo.backoff_cap = 5LL * 60 * 1000000000LL;
    wo.max_inflight = 4;
    c->nodeclass = n;
    if (!(n->invalid = core_map_new()))
        return core_err_set(err, CORE_E_NOMEM, "nodeclass: out of memory");
    if ((rc = core_wq_new(c->loop, &wo, nc_handle, c, &n->wq, err)))
        return rc;
    if ((rc = k8s_informer_add_handler(c->nodeclasses, nc_changed, c)))
        return core_err_set(err, rc, "nodeclass: informer handler: %s", core_strerror(rc));
    return 0;
}

void controller_nodeclass_resync(struct controller *c)
{
    size_t it = 0;
    const char *key;
    const void *v;
    if (!c->nodeclass)
        return;
    while (k8s_informer_next(c->nodeclasses, &it, &key, &v))
        if (core_wq_add(c->nodeclass->wq, key) != 0)
            controller_log(c, CORE_LOG_WARN, COMPONENT, key, "cannot enqueue",
                           (const char *)NULL);
    it = 0;
    void *val;
    while (core_map_next(c->nodeclass->invalid, &it, &key, &val)) {
        struct nc_invalid *inv = val;
        inv->written = 0; /* a new leader does not know what the last one wrote */
        if (core_wq_add(c->nodeclass->wq, key) != 0)
            controller_log(c, CORE_LOG_WARN, COMPONENT, key, "cannot enqueue",
                           (const char *)NULL);
    }
}

void controller_nodeclass_cleanup(struct controller *c)
{
    struct controller_nodeclass *n = c ? c->nodeclass : NULL;
    if (!n)
        return;
    core_wq_free(n->wq);
    if (n->invalid) {
        size_t it = 0;
        const char *key;
        void *val;
        while (core_map_next(n->invalid, &it, &key, &val)) {
            struct nc_invalid *inv = val;
            core_free(inv->message);
            core_free(inv);
        }
        core_map_free(n->invalid);
    }
    core_free(n);
    c->nodeclass = NULL;
}

int controller_nodeclass_ready(const struct controller *c, const char *name)
{
    const struct k8s_ec2nodeclass *nc;
    const struct k8s_condition *k;
    if (!c || !c->nodeclasses || !name)
        return 0;
    nc = k8s_informer_get(c->nodeclasses, name);
    if (!nc)
        return 0;
    k = k8s_condition_find(nc->conditions, nc->nconditions, "Ready");
    /* A Ready computed from an older spec says nothing about this one. */
    return k && k->status == K8S_COND_TRUE &&
           (k->observed_generation == 0 || k->observed_generation == nc->meta.generation);
}
