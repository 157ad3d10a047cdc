/*
 * controller/launch.c — turning one NodeClaim into one instance.
 *
 * Cold path: the NodeClaim's EC2NodeClass (Ready, with subnets, security groups, AMIs and an
 * instance profile in its status) and requirements give the candidates: the listed instance
 * types (cheapest first, at most 60) × the allowed zones × the first subnet of each zone in the
 * class status, minus offerings marked unavailable. Each type gets the AMI whose requirements
 * admit it; overrides are grouped by (image, max pods), because both live in the launch
 * template (the image directly, max pods through the user data). Each group's template is
 * named by a hash of its content, created on demand and remembered; then one CreateFleet
 * (instant, capacity 1) with the NodeClaim's UID as ClientToken, so a retry or a restarted
 * controller replays the first answer instead of launching twice.
 * Warm path: the stopped instance named by the NodeClaim's warm annotation gets the
 * NodeClaim's user data, its tags (the claim: karpenter.sh/nodeclaim), and is started. A start
 * refused for capacity marks the offering unavailable, releases the claim (the tag set to "":
 * there is no DeleteTags client, and an empty value means unclaimed) and fails CORE_E_STATE
 * so the NodeClaim drops the annotation and goes cold at once. A restarted controller that
 * finds the NodeClaim's warm instance claimed but stopped (killed between tag and start)
 * treats it as not launched: the warm path resumes and starts it once.
 * Warm-up (controller_launch_warmup, for the warm pool): the cold machinery with a template
 * whose user data is the warm-up rendering, one zone, on-demand, no NodeClaim tag.
 *
 * Invariants:
 *  - The callback of controller_launch_start / _find / controller_terminate runs exactly once,
 *    from the loop: every job starts from a zero-delay timer (so even an immediate refusal is
 *    delivered later), and the timers of jobs that have not run are cancelled by
 *    controller_launch_cleanup. After the kick, a job lives on tracked AWS calls: a callback
 *    that finds the controller gone only frees the job.
 *  - Jobs copy what they need from the informers at start: the stored objects may change
 *    between the job's callbacks.
 *  - Launch template names are a pure function of their content and the cluster name, so two
 *    NodeClaims with equal content share one template and a restarted controller finds it.
 *  - Nothing is written to EC2 unless controller_may_act(c).
 */
#include "controller/internal.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMPONENT "launch"
#define MAX_OVERRIDES AWS_EC2_FLEET_OVERRIDES_MAX
#define TAGS_MAX 50u
#define LT_UNUSED_TTL ((core_ns)3600 * CORE_NS_PER_S)
#define STR_MAX 64u

/* ------------------------------------------------------------------------------------------ */
/* State and jobs                                                                              */
/* ------------------------------------------------------------------------------------------ */

/* What this process knows about one launch template name. */
struct lt_entry {
    core_ns last_used; /* monotonic; 0 = known to exist, never used by a launch here */
};

struct job;
typedef void (*job_run_fn)(struct controller *c, struct job *j);
typedef void (*job_free_fn)(struct job *j);

/* The common head of every asynchronous context here. op must stay first. */
struct job {
    struct controller_op op;
    struct controller *c;          /* valid while the kick timer is pending */
    struct job *prev, *next;       /* the pending (not yet kicked) list */
    struct core_timer *kick;
    job_run_fn run;
    job_free_fn destroy;
};

struct controller_launch {
    struct core_map *templates;    /* name -> struct lt_entry * */
    struct job *pending;           /* jobs whose kick timer has not fired */
    int gc_running;
    unsigned long warmup_seq;      /* makes each warm-up's ClientToken unique */
    struct core_map *warm_jobs;    /* instance id -> char * (NodeClaim name): warm jobs in
                                      flight, so one instance is never claimed by two */
};

static void job_unlink(struct controller_launch *L, struct job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else if (L->pending == j)
        L->pending = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->prev = j->next = NULL;
}

static void job_kicked(void *ud)
{
    struct job *j = ud;
    struct controller *c = j->c;
    j->kick = NULL;
    job_unlink(c->launch, j);
    j->run(c, j);
}

/* Queues j to run on the next loop turn. On failure j is untouched (the caller frees it). */
static int job_kick(struct controller *c, struct job *j, struct core_err *err)
{
    struct controller_launch *L = c->launch;
    j->c = c;
    j->kick = core_loop_timer_add(c->loop, 0, job_kicked, j);
    if (!j->kick)
        return core_err_set(err, CORE_E_NOMEM, "launch: out of memory");
    j->prev = NULL;
    j->next = L->pending;
    if (L->pending)
        L->pending->prev = j;
    L->pending = j;
    return 0;
}

int controller_launch_init(struct controller *c, struct core_err *err)
{
    struct controller_launch *L = core_calloc(1, sizeof *L);
    if (!L || !(L->templates = core_map_new()) || !(L->warm_jobs = core_map_new())) {
        if (L)
            core_map_free(L->templates);
        core_free(L);
        return core_err_set(err, CORE_E_NOMEM, "launch: out of memory");
    }
    c->launch = L;
    return 0;
}

void controller_launch_cleanup(struct controller *c)
{
    struct controller_launch *L = c ? c->launch : NULL;
    size_t it = 0;
    const char *k;
    void *v;

    if (!L)
        return;
    while (L->pending) {
        struct job *j = L->pending;
        job_unlink(L, j);
        core_loop_timer_cancel(c->loop, j->kick);
        j->destroy(j);
    }
    while (core_map_next(L->templates, &it, &k, &v))
        core_free(v);
    core_map_free(L->templates);
    it = 0;
    while (core_map_next(L->warm_jobs, &it, &k, &v))
        core_free(v);
    core_map_free(L->warm_jobs);
    core_free(L);
    c->launch = NULL;
}

/* Remembers that template `name` exists; used = 1 also stamps it as used now. */
static void lt_remember(struct controller *c, const char *name, int used)
{
    struct controller_launch *L = c->launch;
    struct lt_entry *e = core_map_get(L->templates, name, NULL);
    if (!e) {
        if (!(e = core_calloc(1, sizeof *e)))
            return; /* only a cache: the next launch asks EC2 again */
        if (core_map_set(L->templates, name, e, NULL) != 0) {
            core_free(e);
            return;
        }
    }
    if (used)
        e->last_used = controller_now(c);
}

static void lt_forget(struct controller *c, const char *name)
{
    core_free(core_map_del(c->launch->templates, name));
}

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */
/* ------------------------------------------------------------------------------------------ */

/* Owned tags, bounded by TAGS_MAX; a key set twice keeps the last value. */
struct tagset {
    struct aws_ec2_tag v[TAGS_MAX];
    size_t n;
};

static void tagset_cleanup(struct tagset *t)
{
    for (size_t i = 0; i < t->n; i++) {
        core_free(t->v[i].key);
        core_free(t->v[i].value);
    }
    t->n = 0;
}

static int tagset_put(struct tagset *t, const char *key, const char *value)
{
    char *v;
    if (!key || !*key || strncmp(key, "aws:", 4) == 0)
        return 0; /* EC2 refuses these; the class validation names them */
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->v[i].key, key) == 0) {
            if (!(v = core_strdup(value ? value : "")))
                return CORE_E_NOMEM;
            core_free(t->v[i].value);
            t->v[i].value = v;
            return 0;
        }
    }
    if (t->n == TAGS_MAX)
        return CORE_E_TOOBIG;
    t->v[t->n].key = core_strdup(key);
    t->v[t->n].value = core_strdup(value ? value : "");
    if (!t->v[t->n].key || !t->v[t->n].value) {
        core_free(t->v[t->n].key);
        core_free(t->v[t->n].value);
        return CORE_E_NOMEM;
    }
    t->n++;
    return 0;
}

/* The cluster's ownership tags (on templates and instances). */
static int tagset_cluster(struct tagset *t, const struct controller *c)
{
    char key[256];
    int rc;
    snprintf(key, sizeof key, "%s%s", CONTROLLER_TAG_CLUSTER_PREFIX, c->opts.cluster_name);
    if ((rc = tagset_put(t, key, "owned")) != 0 ||
        (rc = tagset_put(t, CONTROLLER_TAG_EKS_CLUSTER, c->opts.cluster_name)) != 0 ||
        (rc = tagset_put(t, CONTROLLER_TAG_MANAGED_BY, c->opts.cluster_name)) != 0)
        return rc;
    return 0;
}

static const struct k8s_ec2nodeclass *nodeclass_get(const struct controller *c, const char *name)
{
    if (!c->nodeclasses || !name)
        return NULL;
    return k8s_informer_get(c->nodeclasses, name);
}

/* Whether the requirements on `key` (after normalisation) admit value. Absent = any. */
static int reqs_admit(const struct k8s_requirement *r, size_t n, const char *key,
                      const char *value)
{
    struct k8s_labels l = {NULL, 0};
    struct k8s_kv kv;
    kv.key = (char *)key;
    kv.value = (char *)value;
    l.v = &kv;
    l.n = 1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(launcher_label_normalize(r[i].key), key) != 0)
            continue;
        if (!k8s_requirement_matches(&r[i], &l))
            return 0;
    }
    return 1;
}

/* Whether a single-valued requirement on key should become a node label: the per-type labels,
 * the topology and Karpenter keys, and users' own keys (outside kubernetes.io / k8s.io, which
 * the kubelet may not set on itself beyond its allowed list). */
static int label_worthy(const char *key)
{
    const char *slash = strchr(key, '/');
    if (strcmp(key, LAUNCHER_KEY_HOSTNAME) == 0)
        return 0;
    if (launcher_label_index(key) >= 0 || strcmp(key, LAUNCHER_KEY_ZONE) == 0 ||
        strcmp(key, LAUNCHER_KEY_REGION) == 0 || strcmp(key, LAUNCHER_KEY_CAPACITY_TYPE) == 0 ||
        strcmp(key, LAUNCHER_KEY_NODEPOOL) == 0)
        return 1;
    if (slash) {
        size_t dl = (size_t)(slash - key);
        static const char *const restricted[] = {"kubernetes.io", "k8s.io"};
        for (size_t i = 0; i < 2; i++) {
            size_t rl = strlen(restricted[i]);
            if (dl >= rl && memcmp(key + dl - rl, restricted[i], rl) == 0 &&
                (dl == rl || key[dl - rl - 1] == '.'))
                return 0;
        }
    }
    return 1;
}

static const char *volume_type_name(enum k8s_volume_type t)
{
    switch (t) {
    case K8S_EBS_STANDARD: return "standard";
    case K8S_EBS_IO1: return "io1";
    case K8S_EBS_IO2: return "io2";
    case K8S_EBS_GP2: return "gp2";
    case K8S_EBS_SC1: return "sc1";
    case K8S_EBS_ST1: return "st1";
    case K8S_EBS_GP3: return "gp3";
    }
    return NULL;
}

static void fill_result_str(char *dst, size_t dsz, const char *src)
{
    core_strlcpy(dst, src ? src : "", dsz);
}

/* ------------------------------------------------------------------------------------------ */
/* User data                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* The node labels: the NodeClaim's own plus its single-valued requirements on worthy keys. */
static int node_labels(const struct k8s_nodeclaim *nc, struct k8s_labels *out,
                       struct core_err *err)
{
    struct k8s_labels l = {NULL, 0};
    int rc = 0;
    for (size_t i = 0; !rc && i < nc->meta.labels.n; i++)
        rc = k8s_labels_set(&l, nc->meta.labels.v[i].key, nc->meta.labels.v[i].value);
    for (size_t i = 0; !rc && i < nc->nrequirements; i++) {
        const struct k8s_requirement *r = &nc->requirements[i];
        const char *key = launcher_label_normalize(r->key);
        if (r->op != K8S_OP_IN || r->values.n != 1 || !label_worthy(key) ||
            k8s_labels_get(&l, key))
            continue;
        rc = k8s_labels_set(&l, key, r->values.v[0]);
    }
    if (rc) {
        k8s_labels_cleanup(&l);
        return core_err_set(err, rc, "launch: node labels: %s", core_strerror(rc));
    }
    *out = l;
    return 0;
}

static int render_user_data(const struct controller *c, const struct k8s_ec2nodeclass *cls,
                            const struct k8s_nodeclaim *nc, const struct k8s_labels *labels,
                            int32_t max_pods, struct userdata_output *out, struct core_err *err)
{
    struct userdata_input in;
    memset(&in, 0, sizeof in);
    in.family = cls->ami_family;
    in.phase = USERDATA_JOIN;
    in.cluster.name = c->opts.cluster_name;
    in.cluster.endpoint = c->opts.cluster_endpoint;
    in.cluster.ca_bundle = c->opts.cluster_ca;
    in.cluster.service_cidr = c->opts.service_cidr;
    in.cluster.cluster_dns = c->opts.cluster_dns;
    in.node.kubelet = &cls->kubelet;
    in.node.max_pods = max_pods;
    in.node.labels = labels;
    in.node.taints = nc->taints;
    in.node.ntaints = nc->ntaints;
    in.node.startup_taints = nc->startup_taints;
    in.node.nstartup_taints = nc->nstartup_taints;
    in.node.instance_store_raid0 = cls->instance_store_raid0;
    in.node.user_data = cls->user_data;
    return userdata_build(&in, out, err);
}

static int32_t class_max_pods(const struct k8s_ec2nodeclass *cls, const struct launcher_itype *t)
{
    int32_t ppc = 0, mp = 0;
    if (cls->kubelet.has_pods_per_core && cls->kubelet.pods_per_core > 0 &&
        cls->kubelet.pods_per_core <= INT32_MAX)
        ppc = (int32_t)cls->kubelet.pods_per_core;
    if (cls->kubelet.has_max_pods && cls->kubelet.max_pods > 0 &&
        cls->kubelet.max_pods <= INT32_MAX)
        mp = (int32_t)cls->kubelet.max_pods;
    return launcher_max_pods(t, ppc, mp);
}

/* The AMI of the class status for type t: the first (newest) whose requirements admit it,
 * preferring images that are not deprecated. */
static const char *ami_for_type(const struct k8s_ec2nodeclass *cls,
                                const struct launcher_itype *t)
{
    struct amiresolve_ami view[64];
    struct amiresolve_result r;
    const char *best = NULL;
    size_t n = cls->namis < 64 ? cls->namis : 64;

    for (int pass = 0; pass < 2 && !best; pass++) {
        memset(&r, 0, sizeof r);
        r.v = view;
        for (size_t i = 0; i < n; i++) {
            if (pass == 0 && cls->amis[i].deprecated)
                continue;
            memset(&view[r.n], 0, sizeof view[r.n]);
            view[r.n].id = cls->amis[i].id;
            view[r.n].requirements = cls->amis[i].requirements;
            view[r.n].nrequirements = cls->amis[i].nrequirements;
            r.n++;
        }
        const struct amiresolve_ami *a = amiresolve_for_type(&r, t);
        if (a && a->id)
            best = a->id;
    }
    return best;
}

/* ------------------------------------------------------------------------------------------ */
/* Cold launch: preparation                                                                    */
/* ------------------------------------------------------------------------------------------ */

struct override {
    const struct launcher_itype *t; /* borrowed from the catalog (immutable, lives long) */
    char type[STR_MAX];
    char zone[STR_MAX];
    char subnet[STR_MAX];
    size_t group;
};

/* One launch template: overrides sharing image and max pods. */
struct group {
    char image[STR_MAX];
    int32_t max_pods;
    char name[32]; /* "stoker-" + 16 hex */
    struct userdata_output ud;
    struct aws_ec2_fleet_override *fo; /* this group's fleet overrides (borrow ov strings) */
    size_t nfo;
};

struct cold {
    struct job j;
    controller_launch_fn cb;
    void *ud;
    char nodeclaim[256];
    char client_token[AWS_EC2_CLIENT_TOKEN_MAX + 1];
    int prep_rc;                     /* a refusal decided at start, delivered from the kick */
    struct core_err prep_err;
    enum launcher_ct ct;
    struct override *ov;
    size_t nov;
    struct group *g;
    size_t ng;
    size_t gi;                       /* next group whose template to ensure */
    /* Template content shared by the groups. */
    char *profile;
    char **sgs;
    size_t nsgs;
    struct aws_ec2_block_device bd[50];
    char *bd_names[50];
    size_t nbd;
    char http_tokens[16];
    int64_t hop_limit;
    struct tagset lt_tags;           /* on the template and (via its data) instance/volume */
    struct tagset fleet_tags;        /* CreateFleet instance + volume */
    /* Warm-up launches (controller_launch_warmup) reuse this job: no NodeClaim, counted as
     * warm-ups, never as cold launches nor by the crash_after_launches fault. */
    int warmup;
    int hibernate;                   /* HibernationOptions Configured in the template */
};

static void cold_free(struct job *j)
{
    struct cold *x = (struct cold *)j;
    for (size_t i = 0; i < x->ng; i++) {
        userdata_output_cleanup(&x->g[i].ud);
        core_free(x->g[i].fo);
    }
    core_free(x->g);
    core_free(x->ov);
    core_free(x->profile);
    for (size_t i = 0; i < x->nsgs; i++)
        core_free(x->sgs[i]);
    core_free(x->sgs);
    for (size_t i = 0; i < x->nbd; i++)
        core_free(x->bd_names[i]);
    tagset_cleanup(&x->lt_tags);
    tagset_cleanup(&x->fleet_tags);
    core_free(x);
}

/* SHA-256 over the canonical JSON of the template's content and the cluster name. */
static int group_name(struct cold *x, struct group *g, const struct controller *c, int monitoring,
                      const struct k8s_ec2nodeclass *cls, struct core_err *err)
{
    json_t *o = json_object(), *arr, *bds, *tags, *md;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    char *text = NULL;
    int rc = CORE_E_NOMEM;

    if (!o)
        return core_err_set(err, CORE_E_NOMEM, "launch: out of memory");
    if (json_object_set_new(o, "cluster", json_string(c->opts.cluster_name)) ||
        json_object_set_new(o, "image", json_string(g->image)) ||
        json_object_set_new(o, "instanceProfile", json_string(x->profile)) ||
        json_object_set_new(o, "userData", json_stringn(g->ud.b64, g->ud.b64_len)) ||
        json_object_set_new(o, "detailedMonitoring", json_boolean(monitoring)) ||
        (x->hibernate && json_object_set_new(o, "hibernation", json_true())) ||
        json_object_set_new(o, "associatePublicIP",
                            cls->has_associate_public_ip ? json_boolean(cls->associate_public_ip)
                                                         : json_null()))
        goto done;
    if (!(arr = json_array()) || json_object_set_new(o, "securityGroups", arr))
        goto done;
    for (size_t i = 0; i < x->nsgs; i++)
        if (json_array_append_new(arr, json_string(x->sgs[i])))
            goto done;
    if (!(bds = json_array()) || json_object_set_new(o, "blockDevices", bds))
        goto done;
    for (size_t i = 0; i < x->nbd; i++) {
        const struct aws_ec2_block_device *b = &x->bd[i];
        json_t *e = json_pack("{s:s, s:I, s:s?, s:i, s:i, s:I, s:I}", "device", b->device_name,
                              "size", (json_int_t)b->volume_size, "type", b->volume_type,
                              "encrypted", (int)b->encrypted, "deleteOnTermination",
                              (int)b->delete_on_termination, "iops", (json_int_t)b->iops,
                              "throughput", (json_int_t)b->throughput);
        if (!e || json_array_append_new(bds, e))
            goto done;
    }
    md = json_pack("{s:s, s:I, s:i, s:i}", "httpTokens", x->http_tokens, "hopLimit",
                   (json_int_t)x->hop_limit, "httpEndpoint",
                   (int)cls->metadata_options.http_endpoint, "ipv6",
                   (int)cls->metadata_options.http_protocol_ipv6);
    if (!md || json_object_set_new(o, "metadata", md))
        goto done;
    if (!(tags = json_object()) || json_object_set_new(o, "tags", tags))
        goto done;
    for (size_t i = 0; i < x->lt_tags.n; i++)
        if (json_object_set_new(tags, x->lt_tags.v[i].key, json_string(x->lt_tags.v[i].value)))
            goto done;
    if (!(text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)))
        goto done;
    if (EVP_Digest(text, strlen(text), digest, &dlen, EVP_sha256(), NULL) != 1 || dlen < 8) {
        rc = core_err_set(err, CORE_E_UNSUPPORTED, "launch: SHA-256 failed");
        goto done;
    }
    memcpy(g->name, "stoker-", 7);
    for (size_t i = 0; i < 8; i++)
        snprintf(g->name + 7 + 2 * i, 3, "%02x", digest[i]);
    rc = 0;
done:
    if (rc == CORE_E_NOMEM)
        core_err_set(err, CORE_E_NOMEM, "launch: out of memory");
    free(text); /* jansson's allocator */
    json_decref(o);
    return rc;
}

/* Copies the class's template content into x. */
static int cold_content(struct cold *x, const struct controller *c,
                        const struct k8s_ec2nodeclass *cls, const char *name_tag,
                        const char *nodeclaim, const char *pool, struct core_err *err)
{
    int rc;

    if (!(x->profile = core_strdup(cls->status_instance_profile)))
        goto nomem;
    if (!(x->sgs = core_calloc(cls->nsecurity_groups, sizeof *x->sgs)))
        goto nomem;
    for (size_t i = 0; i < cls->nsecurity_groups; i++) {
        if (!(x->sgs[i] = core_strdup(cls->security_groups[i].id ? cls->security_groups[i].id
                                                                  : "")))
            goto nomem;
        x->nsgs++;
    }
    for (size_t i = 0; i < cls->nblock_devices && i < 50; i++) {
        const struct k8s_block_device *b = &cls->block_devices[i];
        struct aws_ec2_block_device *d = &x->bd[x->nbd];
        if (!b->device_name)
            continue;
        if (!(x->bd_names[x->nbd] = core_strdup(b->device_name)))
            goto nomem;
        memset(d, 0, sizeof *d);
        d->device_name = x->bd_names[x->nbd];
        x->nbd++;
        d->volume_size = (b->ebs.volume_size + ((int64_t)1 << 30) - 1) >> 30;
        d->volume_type = volume_type_name(b->ebs.volume_type);
        if (b->ebs.has_encrypted)
            d->encrypted = b->ebs.encrypted ? AWS_EC2_TRUE : AWS_EC2_FALSE;
        d->delete_on_termination = b->ebs.has_delete_on_termination
                                       ? (b->ebs.delete_on_termination ? AWS_EC2_TRUE
                                                                       : AWS_EC2_FALSE)
                                       : AWS_EC2_TRUE;
        if (b->ebs.has_iops)
            d->iops = b->ebs.iops;
        if (b->ebs.has_throughput)
            d->throughput = b->ebs.throughput;
    }
    core_strlcpy(x->http_tokens,
                 cls->metadata_options.http_tokens == K8S_TOKENS_OPTIONAL ? "optional"
                                                                           : "required",
                 sizeof x->http_tokens);
    x->hop_limit = cls->metadata_options.http_put_response_hop_limit > 0
                       ? cls->metadata_options.http_put_response_hop_limit
                       : 1;
    /* The class's tags first: stoker's own win a collision. */
    for (size_t i = 0; i < cls->tags.n; i++)
        if ((rc = tagset_put(&x->lt_tags, cls->tags.v[i].key, cls->tags.v[i].value)) != 0 ||
            (rc = tagset_put(&x->fleet_tags, cls->tags.v[i].key, cls->tags.v[i].value)) != 0)
            goto fail;
    if ((rc = tagset_cluster(&x->lt_tags, c)) != 0 ||
        (rc = tagset_put(&x->lt_tags, CONTROLLER_TAG_NODECLASS, cls->meta.name)) != 0 ||
        (rc = tagset_cluster(&x->fleet_tags, c)) != 0 ||
        (rc = tagset_put(&x->fleet_tags, CONTROLLER_TAG_NAME, name_tag)) != 0 ||
        (rc = tagset_put(&x->fleet_tags, CONTROLLER_TAG_NODECLASS, cls->meta.name)) != 0 ||
        (nodeclaim &&
         (rc = tagset_put(&x->fleet_tags, CONTROLLER_TAG_NODECLAIM, nodeclaim)) != 0) ||
        (pool && (rc = tagset_put(&x->fleet_tags, CONTROLLER_TAG_NODEPOOL, pool)) != 0))
        goto fail;
    return 0;
fail:
    if (rc == CORE_E_TOOBIG)
        return core_err_set(err, CORE_E_TOOBIG, "launch: more than %u tags", TAGS_MAX);
nomem:
    return core_err_set(err, CORE_E_NOMEM, "launch: out of memory");
}

/* Candidates, capacity type, groups, user data and template names. */
static int cold_prepare(struct cold *x, struct controller *c, const struct k8s_nodeclaim *nc,
                        struct core_err *err)
{
    const struct k8s_ec2nodeclass *cls = nodeclass_get(c, nc->node_class_ref.name);
    const struct launcher_catalog *cat = controller_catalog(c);
    struct launcher_offerings *offs = controller_offerings(c);
    const struct k8s_requirement *types_req = NULL;
    const char *zones[LAUNCHER_MAX_ZONES], *subnets[LAUNCHER_MAX_ZONES];
    size_t nzones = 0;
    struct k8s_labels labels = {NULL, 0};
    core_ns now = controller_now(c);
    int check_offers = offs && launcher_offerings_zone_count(offs) > 0;
    int spot_ok, od_ok, use_spot = 0;
    int rc;

    if (!controller_may_act(c))
        return core_err_set(err, CORE_E_STATE, "launch: not acting (not leading)");
    if (!nc->meta.uid || !*nc->meta.uid || strlen(nc->meta.uid) > AWS_EC2_CLIENT_TOKEN_MAX)
        return core_err_set(err, CORE_E_INVAL, "launch: NodeClaim %s has no usable metadata.uid",
                           nc->meta.name);
    if (!cls)
        return core_err_set(err, CORE_E_STATE, "launch: EC2NodeClass %s not found",
                           nc->node_class_ref.name);
    if (!controller_nodeclass_ready(c, nc->node_class_ref.name) || cls->nsubnets == 0 ||
        cls->nsecurity_groups == 0 || cls->namis == 0 || !cls->status_instance_profile ||
        !*cls->status_instance_profile)
        return core_err_set(err, CORE_E_STATE, "launch: EC2NodeClass %s is not ready",
                           nc->node_class_ref.name);
    if (!cat)
        return core_err_set(err, CORE_E_STATE, "launch: no instance catalog yet");

    /* Zones allowed, each with its first listed subnet (the status lists most free IPs
     * first). */
    for (size_t i = 0; i < cls->nsubnets && nzones < LAUNCHER_MAX_ZONES; i++) {
        const struct k8s_subnet_status *s = &cls->subnets[i];
        int seen = 0;
        if (!s->id || !s->zone)
            continue;
        for (size_t z = 0; z < nzones && !seen; z++)
            seen = strcmp(zones[z], s->zone) == 0;
        if (seen || !reqs_admit(nc->requirements, nc->nrequirements, LAUNCHER_KEY_ZONE, s->zone))
            continue;
        zones[nzones] = s->zone;
        subnets[nzones] = s->id;
        nzones++;
    }
    if (nzones == 0)
        return core_err_set(err, CORE_E_STATE,
                      "launch: no subnet of EC2NodeClass %s is in a zone the NodeClaim allows",
                           cls->meta.name);
    for (size_t i = 0; i < nc->nrequirements; i++)
        if (strcmp(launcher_label_normalize(nc->requirements[i].key),
                   launcher_label_key(LAUNCHER_L_INSTANCE_TYPE)) == 0 &&
            nc->requirements[i].op == K8S_OP_IN)
            types_req = &nc->requirements[i];
    if (!types_req || types_req->values.n == 0)
        return core_err_set(err, CORE_E_INVAL, "launch: NodeClaim %s lists no instance types",
                           nc->meta.name);

    spot_ok = reqs_admit(nc->requirements, nc->nrequirements, LAUNCHER_KEY_CAPACITY_TYPE,
                         LAUNCHER_CT_SPOT);
    od_ok = reqs_admit(nc->requirements, nc->nrequirements, LAUNCHER_KEY_CAPACITY_TYPE,
                       LAUNCHER_CT_ON_DEMAND);
    if (!spot_ok && !od_ok)
        return core_err_set(err, CORE_E_INVAL, "launch: NodeClaim %s allows no capacity type",
                           nc->meta.name);
    if (spot_ok && !check_offers)
        use_spot = 1;
    for (size_t i = 0; spot_ok && check_offers && !use_spot && i < types_req->values.n &&
                       i < MAX_OVERRIDES; i++)
        for (size_t z = 0; z < nzones && !use_spot; z++)
            use_spot = launcher_offerings_lookup(offs, LAUNCHER_SPOT, types_req->values.v[i],
                                                 zones[z], now, NULL);
    if (!use_spot && !od_ok) {
        core_err_set(err, CORE_E_SERVICE, "launch: no spot offering of NodeClaim %s is available",
                     nc->meta.name);
        core_err_set_service(err, 0, "InsufficientInstanceCapacity", NULL);
        return CORE_E_SERVICE;
    }
    x->ct = use_spot ? LAUNCHER_SPOT : LAUNCHER_ON_DEMAND;

    if (!(x->ov = core_calloc(MAX_OVERRIDES, sizeof *x->ov)) ||
        !(x->g = core_calloc(MAX_OVERRIDES, sizeof *x->g)))
        return core_err_set(err, CORE_E_NOMEM, "launch: out of memory");
    for (size_t i = 0; i < types_req->values.n && i < MAX_OVERRIDES && x->nov < MAX_OVERRIDES;
         i++) {
        const struct launcher_itype *t = launcher_catalog_find(cat, types_req->values.v[i]);
        const char *image;
        int32_t mp;
        size_t gi;
        if (!t || !(image = ami_for_type(cls, t)))
            continue;
        mp = class_max_pods(cls, t);
        for (gi = 0; gi < x->ng; gi++)
            if (strcmp(x->g[gi].image, image) == 0 && x->g[gi].max_pods == mp)
                break;
        for (size_t z = 0; z < nzones && x->nov < MAX_OVERRIDES; z++) {
            struct override *o;
            if (check_offers && !launcher_offerings_lookup(offs, x->ct, t->name, zones[z], now,
                                                           NULL))
                continue;
            if (gi == x->ng) {
                core_strlcpy(x->g[gi].image, image, sizeof x->g[gi].image);
                x->g[gi].max_pods = mp;
                x->ng++;
            }
            o = &x->ov[x->nov++];
            o->t = t;
            core_strlcpy(o->type, t->name, sizeof o->type);
            core_strlcpy(o->zone, zones[z], sizeof o->zone);
            core_strlcpy(o->subnet, subnets[z], sizeof o->subnet);
            o->group = gi;
        }
    }
    if (x->nov == 0) {
        core_err_set(err, CORE_E_SERVICE,
                     "launch: no available offering for NodeClaim %s (%s, %zu types, %zu zones)",
                     nc->meta.name, launcher_ct_name(x->ct), types_req->values.n, nzones);
        core_err_set_service(err, 0, "InsufficientInstanceCapacity", NULL);
        return CORE_E_SERVICE;
    }

    if ((rc = cold_content(x, c, cls, nc->meta.name, nc->meta.name,
                           k8s_labels_get(&nc->meta.labels, CONTROLLER_TAG_NODEPOOL), err)) != 0)
        return rc;
    if ((rc = node_labels(nc, &labels, err)) != 0)
        return rc;
    for (size_t gi = 0; gi < x->ng && !rc; gi++) {
        rc = render_user_data(c, cls, nc, &labels, x->g[gi].max_pods, &x->g[gi].ud, err);
        if (!rc)
            rc = group_name(x, &x->g[gi], c, cls->detailed_monitoring, cls, err);
    }
    k8s_labels_cleanup(&labels);
    if (rc)
        return rc;
    /* Fleet overrides per group (strings borrowed from x->ov, which never moves). */
    for (size_t gi = 0; gi < x->ng; gi++) {
        if (!(x->g[gi].fo = core_calloc(x->nov, sizeof *x->g[gi].fo)))
            return core_err_set(err, CORE_E_NOMEM, "launch: out of memory");
    }
    for (size_t i = 0; i < x->nov; i++) {
        struct group *g = &x->g[x->ov[i].group];
        struct aws_ec2_fleet_override *f = &g->fo[g->nfo++];
        f->instance_type = x->ov[i].type;
        f->subnet_id = x->ov[i].subnet;
        f->availability_zone = x->ov[i].zone;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Cold launch: templates and fleet                                                            */
/* ------------------------------------------------------------------------------------------ */

static void cold_templates(struct controller *c, struct cold *x);
static void cold_find_after_mismatch(struct controller *c, struct cold *x);

static void cold_finish(struct controller *c, struct cold *x, int rc,
                        const struct controller_launch_result *res, const struct core_err *err)
{
    if (rc == 0 && x->warmup) {
        c->stats.warm_launches++;
        controller_log(c, CORE_LOG_INFO, COMPONENT, x->nodeclaim, "warm-up launched",
                       "instance", res->instance_id, "type", res->instance_type, "zone",
                       res->zone, "image", res->image_id, NULL);
    } else if (x->warmup) {
        controller_log(c, CORE_LOG_WARN, COMPONENT, x->nodeclaim, "warm-up launch failed",
                       "error", err ? err->message : core_strerror(rc), "code",
                       err && err->service_code[0] ? err->service_code : core_strerror(rc),
                       NULL);
    } else if (rc == 0) {
        c->stats.launches_cold++;
        controller_log(c, CORE_LOG_INFO, COMPONENT, x->nodeclaim, "launched", "instance",
                       res->instance_id, "type", res->instance_type, "zone", res->zone,
                       "capacity_type", res->capacity_type, "image", res->image_id, NULL);
    } else {
        c->stats.launch_failures++;
        controller_log(c, CORE_LOG_WARN, COMPONENT, x->nodeclaim, "launch failed", "error",
                       err ? err->message : core_strerror(rc), "code",
                       err && err->service_code[0] ? err->service_code : core_strerror(rc),
                       NULL);
    }
    x->cb(c, x->ud, rc, rc == 0 ? res : NULL, err);
    cold_free(&x->j);
}

static void cold_fail(struct controller *c, struct cold *x, int rc, const struct core_err *err)
{
    struct core_err e;
    if (!err) {
        core_err_clear(&e);
        core_err_set(&e, rc, "launch: %s", core_strerror(rc));
        err = &e;
    }
    cold_finish(c, x, rc, NULL, err);
}

static const struct override *cold_match(const struct cold *x, const char *type,
                                         const char *subnet, const char *zone)
{
    for (size_t i = 0; i < x->nov; i++) {
        const struct override *o = &x->ov[i];
        if (type && strcmp(o->type, type) != 0)
            continue;
        if (subnet && strcmp(o->subnet, subnet) != 0)
            continue;
        if (zone && strcmp(o->zone, zone) != 0)
            continue;
        return o;
    }
    return NULL;
}

static void on_fleet(void *ud, int rc, const struct aws_ec2_fleet *res,
                     const struct core_err *err)
{
    struct cold *x = ud;
    struct controller *c = controller_op_finish(&x->j.op);
    struct launcher_offerings *offs;
    const struct aws_ec2_fleet_error *cap = NULL, *other = NULL;
    struct controller_launch_result out;
    struct core_err e;

    if (!c) {
        cold_free(&x->j);
        return;
    }
    if (rc) {
        if (err && strstr(err->service_code, "LaunchTemplate") &&
            strstr(err->service_code, "NotFound")) {
            /* Someone deleted a template we remembered: forget them all, retry later. */
            for (size_t i = 0; i < x->ng; i++)
                lt_forget(c, x->g[i].name);
        } else if (!x->warmup && err &&
                   strcmp(err->service_code, "IdempotentParameterMismatch") == 0) {
            /* This NodeClaim's token was used with other parameters (offerings changed since
             * a launch this process does not remember): what that launch made is ours. */
            cold_find_after_mismatch(c, x);
            return;
        }
        cold_fail(c, x, rc, err);
        return;
    }
    offs = controller_offerings(c);
    for (size_t i = 0; i < res->nerrors; i++) {
        const struct aws_ec2_fleet_error *fe = &res->errors[i];
        if (aws_ec2_fleet_error_is_capacity(fe)) {
            const char *zone = fe->overrides.availability_zone;
            if (!zone && fe->overrides.subnet_id) {
                const struct override *o =
                    cold_match(x, fe->overrides.instance_type, fe->overrides.subnet_id, NULL);
                zone = o ? o->zone : NULL;
            }
            if (offs && fe->overrides.instance_type && zone)
                (void)launcher_offerings_mark_unavailable(
                    offs, x->ct, fe->overrides.instance_type, zone, controller_now(c), 0);
            if (!cap)
                cap = fe;
        } else if (!other) {
            other = fe;
        }
    }
    for (size_t i = 0; i < res->ninstances; i++) {
        const struct aws_ec2_fleet_instance *fi = &res->instances[i];
        const char *type = fi->overrides.instance_type ? fi->overrides.instance_type
                                                       : fi->instance_type;
        const struct override *o;
        if (fi->instance_ids.n == 0)
            continue;
        o = cold_match(x, type, fi->overrides.subnet_id, fi->overrides.availability_zone);
        memset(&out, 0, sizeof out);
        fill_result_str(out.instance_id, sizeof out.instance_id, fi->instance_ids.v[0]);
        fill_result_str(out.instance_type, sizeof out.instance_type, type);
        fill_result_str(out.zone, sizeof out.zone,
                        fi->overrides.availability_zone ? fi->overrides.availability_zone
                                                        : (o ? o->zone : NULL));
        fill_result_str(out.subnet_id, sizeof out.subnet_id,
                        fi->overrides.subnet_id ? fi->overrides.subnet_id
                                                : (o ? o->subnet : NULL));
        fill_result_str(out.image_id, sizeof out.image_id,
                        fi->overrides.image_id ? fi->overrides.image_id
                                               : (o ? x->g[o->group].image : NULL));
        fill_result_str(out.capacity_type, sizeof out.capacity_type,
                        fi->lifecycle ? fi->lifecycle : launcher_ct_name(x->ct));
        out.warm = 0;
        if (!x->warmup) {
            c->fleet_launches++;
            /* The crash fault fires between the launch and anything the lifecycle would
             * write. */
            if (c->opts.crash_after_launches &&
                c->fleet_launches == c->opts.crash_after_launches)
                c->crashed = 1;
        }
        cold_finish(c, x, 0, &out, NULL);
        return;
    }
    core_err_clear(&e);
    if (cap) {
        core_err_set(&e, CORE_E_SERVICE, "launch: no capacity for NodeClaim %s: %s",
                     x->nodeclaim, cap->message ? cap->message : cap->code);
        core_err_set_service(&e, 0, cap->code, NULL);
    } else if (other) {
        core_err_set(&e, CORE_E_SERVICE, "launch: CreateFleet for NodeClaim %s: %s: %s",
                     x->nodeclaim, other->code, other->message ? other->message : "");
        core_err_set_service(&e, 0, other->code, NULL);
    } else {
        core_err_set(&e, CORE_E_SERVICE, "launch: CreateFleet for NodeClaim %s gave nothing",
                     x->nodeclaim);
        core_err_set_service(&e, 0, "InsufficientInstanceCapacity", NULL);
    }
    cold_fail(c, x, CORE_E_SERVICE, &e);
}

static void cold_fleet(struct controller *c, struct cold *x)
{
    struct aws_ec2_fleet_template_config cfg[MAX_OVERRIDES];
    struct aws_ec2_tag_spec specs[2];
    struct aws_ec2_create_fleet_req req;
    struct core_err err;
    size_t n = 0;
    int rc;

    if (!controller_may_act(c)) {
        core_err_clear(&err);
        core_err_set(&err, CORE_E_STATE, "launch: not acting");
        cold_fail(c, x, CORE_E_STATE, &err);
        return;
    }
    memset(&req, 0, sizeof req);
    for (size_t i = 0; i < x->ng; i++) {
        if (x->g[i].nfo == 0)
            continue;
        memset(&cfg[n], 0, sizeof cfg[n]);
        cfg[n].launch_template_name = x->g[i].name;
        cfg[n].overrides = x->g[i].fo;
        cfg[n].noverrides = x->g[i].nfo;
        n++;
    }
    specs[0].resource_type = "instance";
    specs[1].resource_type = "volume";
    for (size_t i = 0; i < 2; i++) {
        specs[i].tags = x->fleet_tags.v;
        specs[i].ntags = x->fleet_tags.n;
    }
    req.configs = cfg;
    req.nconfigs = n;
    req.total_target_capacity = 1;
    req.default_target_capacity_type = launcher_ct_name(x->ct);
    if (x->ct == LAUNCHER_SPOT)
        req.spot_allocation_strategy = "price-capacity-optimized";
    else
        req.on_demand_allocation_strategy = "lowest-price";
    req.tag_specs = specs;
    req.ntag_specs = 2;
    req.client_token = x->client_token;
    for (size_t i = 0; i < x->ng; i++)
        lt_remember(c, x->g[i].name, 1);
    controller_op_track(c, &x->j.op);
    controller_count_ec2(c);
    core_err_clear(&err);
    if ((rc = aws_ec2_create_fleet(c->aws, &req, on_fleet, x, &err)) != 0) {
        (void)controller_op_finish(&x->j.op);
        cold_fail(c, x, rc, &err);
    }
}

static void on_lt_created(void *ud, int rc, const struct aws_ec2_launch_templates *res,
                          const struct core_err *err)
{
    struct cold *x = ud;
    struct controller *c = controller_op_finish(&x->j.op);
    (void)res;
    if (!c) {
        cold_free(&x->j);
        return;
    }
    if (rc && !(err && strstr(err->service_code, "AlreadyExists"))) {
        cold_fail(c, x, rc, err);
        return;
    }
    lt_remember(c, x->g[x->gi].name, 0);
    x->gi++;
    cold_templates(c, x);
}

static void lt_create(struct controller *c, struct cold *x)
{
    struct group *g = &x->g[x->gi];
    struct aws_ec2_create_launch_template_req req;
    struct aws_ec2_tag_spec data_specs[2], lt_spec;
    const char *sgs[64];
    char token[AWS_EC2_CLIENT_TOKEN_MAX + 1];
    struct core_err err;
    int rc;

    if (!controller_may_act(c)) {
        core_err_clear(&err);
        core_err_set(&err, CORE_E_STATE, "launch: not acting");
        cold_fail(c, x, CORE_E_STATE, &err);
        return;
    }
    memset(&req, 0, sizeof req);
    for (size_t i = 0; i < x->nsgs && i < 64; i++)
        sgs[i] = x->sgs[i];
    data_specs[0].resource_type = "instance";
    data_specs[1].resource_type = "volume";
    for (size_t i = 0; i < 2; i++) {
        data_specs[i].tags = x->lt_tags.v;
        data_specs[i].ntags = x->lt_tags.n;
    }
    lt_spec.resource_type = "launch-template";
    lt_spec.tags = x->lt_tags.v;
    lt_spec.ntags = x->lt_tags.n;
    /* Not the bare name: EC2 answers a token it has seen with the first result, also after
     * that template was deleted by GC. Name + time still makes the client's own retries of
     * this one request idempotent. */
    snprintf(token, sizeof token, "%s-%" PRId64, g->name, controller_now(c) / CORE_NS_PER_S);
    req.name = g->name;
    req.client_token = token;
    req.version_description = "stoker";
    req.data.image_id = g->image;
    req.data.user_data = g->ud.gz;
    req.data.user_data_len = g->ud.gz_len;
    req.data.security_group_ids = sgs;
    req.data.nsecurity_group_ids = x->nsgs < 64 ? x->nsgs : 64;
    if (strncmp(x->profile, "arn:", 4) == 0)
        req.data.iam_instance_profile_arn = x->profile;
    else
        req.data.iam_instance_profile_name = x->profile;
    req.data.block_devices = x->bd;
    req.data.nblock_devices = x->nbd;
    req.data.metadata.http_tokens = x->http_tokens;
    req.data.metadata.http_put_response_hop_limit = x->hop_limit;
    if (x->hibernate)
        req.data.hibernation_configured = AWS_EC2_TRUE;
    req.data.tag_specs = data_specs;
    req.data.ntag_specs = 2;
    req.tag_specs = &lt_spec;
    req.ntag_specs = 1;
    controller_op_track(c, &x->j.op);
    controller_count_ec2(c);
    core_err_clear(&err);
    if ((rc = aws_ec2_create_launch_template(c->aws, &req, on_lt_created, x, &err)) != 0) {
        (void)controller_op_finish(&x->j.op);
        cold_fail(c, x, rc, &err);
    }
}

/* Makes sure every group's template exists (one at a time), then launches. A template this
 * process has not seen is created straight away: "already exists" is as good as created (a
 * restarted controller, another replica), and asking first would cost a call on every miss. */
static void cold_templates(struct controller *c, struct cold *x)
{
    struct controller_launch *L = c->launch;
    while (x->gi < x->ng && core_map_get(L->templates, x->g[x->gi].name, NULL))
        x->gi++;
    if (x->gi == x->ng) {
        cold_fleet(c, x);
        return;
    }
    lt_create(c, x);
}

static void cold_run(struct controller *c, struct job *j)
{
    struct cold *x = (struct cold *)j;
    if (x->prep_rc) {
        cold_fail(c, x, x->prep_rc, &x->prep_err);
        return;
    }
    cold_templates(c, x);
}

/* ------------------------------------------------------------------------------------------ */
/* Finding an instance by NodeClaim                                                            */
/* ------------------------------------------------------------------------------------------ */

static void result_from_instance(struct controller_launch_result *out,
                                 const struct aws_ec2_instance *in)
{
    memset(out, 0, sizeof *out);
    fill_result_str(out->instance_id, sizeof out->instance_id, in->instance_id);
    fill_result_str(out->instance_type, sizeof out->instance_type, in->instance_type);
    fill_result_str(out->zone, sizeof out->zone, in->availability_zone);
    fill_result_str(out->subnet_id, sizeof out->subnet_id, in->subnet_id);
    fill_result_str(out->image_id, sizeof out->image_id, in->image_id);
    fill_result_str(out->capacity_type, sizeof out->capacity_type,
                    in->lifecycle && strcmp(in->lifecycle, "spot") == 0 ? LAUNCHER_CT_SPOT
                                                                        : LAUNCHER_CT_ON_DEMAND);
}

/* The newest live instance among res, or NULL. */
static const struct aws_ec2_instance *newest(const struct aws_ec2_instances *res)
{
    const struct aws_ec2_instance *best = NULL;
    for (size_t i = 0; res && i < res->n; i++) {
        const struct aws_ec2_instance *in = &res->v[i];
        if (in->state_name && (strcmp(in->state_name, "terminated") == 0 ||
                               strcmp(in->state_name, "shutting-down") == 0))
            continue;
        if (!best || in->launch_time > best->launch_time ||
            (in->launch_time == best->launch_time &&
             strcmp(in->instance_id, best->instance_id) > 0))
            best = in;
    }
    return best;
}

/* DescribeInstances by this cluster's NodeClaim tag; cb(ud, rc, res, err) from the loop. */
static int describe_by_nodeclaim(struct controller *c, const char *nodeclaim,
                                 aws_ec2_instances_fn cb, void *ud, struct core_err *err)
{
    static const char *const states[] = {"pending", "running", "stopping", "stopped"};
    static const char *const owned[] = {"owned"};
    char cluster_tag[300], nc_tag[64];
    const char *ncv[1];
    struct aws_ec2_filter f[3];
    struct aws_ec2_describe_instances_req req;

    snprintf(nc_tag, sizeof nc_tag, "tag:%s", CONTROLLER_TAG_NODECLAIM);
    snprintf(cluster_tag, sizeof cluster_tag, "tag:%s%s", CONTROLLER_TAG_CLUSTER_PREFIX,
             c->opts.cluster_name);
    ncv[0] = nodeclaim;
    f[0].name = nc_tag;
    f[0].values = ncv;
    f[0].nvalues = 1;
    f[1].name = cluster_tag;
    f[1].values = owned;
    f[1].nvalues = 1;
    f[2].name = "instance-state-name";
    f[2].values = states;
    f[2].nvalues = 4;
    memset(&req, 0, sizeof req);
    req.filters = f;
    req.nfilters = 3;
    controller_count_ec2(c);
    return aws_ec2_describe_instances(c->aws, &req, cb, ud, err);
}

static void on_mismatch_found(void *ud, int rc, const struct aws_ec2_instances *res,
                              const struct core_err *err)
{
    struct cold *x = ud;
    struct controller *c = controller_op_finish(&x->j.op);
    const struct aws_ec2_instance *in;
    struct controller_launch_result out;
    struct core_err e;

    if (!c) {
        cold_free(&x->j);
        return;
    }
    if (rc) {
        cold_fail(c, x, rc, err);
        return;
    }
    if (!(in = newest(res))) {
        core_err_clear(&e);
        core_err_set(&e, CORE_E_SERVICE,
                     "launch: NodeClaim %s: ClientToken used with other parameters and no "
                     "instance carries its tag",
                     x->nodeclaim);
        core_err_set_service(&e, 0, "IdempotentParameterMismatch", NULL);
        cold_fail(c, x, CORE_E_SERVICE, &e);
        return;
    }
    result_from_instance(&out, in);
    cold_finish(c, x, 0, &out, NULL);
}

static void cold_find_after_mismatch(struct controller *c, struct cold *x)
{
    struct core_err err;
    int rc;
    controller_op_track(c, &x->j.op);
    core_err_clear(&err);
    if ((rc = describe_by_nodeclaim(c, x->nodeclaim, on_mismatch_found, x, &err)) != 0) {
        (void)controller_op_finish(&x->j.op);
        cold_fail(c, x, rc, &err);
    }
}

struct find {
    struct job j;
    controller_launch_fn cb;
    void *ud;
    char nodeclaim[256];
};

static void find_free(struct job *j)
{
    core_free(j);
}

/* An instance launched (well) before the NodeClaim of that name was created belongs to an
 * earlier NodeClaim that had the same name (a name reused after a restart): not ours. */
#define FIND_CLOCK_SLACK ((core_ns)60 * CORE_NS_PER_S)

/* newest(), minus instances launched more than FIND_CLOCK_SLACK before the NodeClaim's
 * creationTimestamp (when the informer knows it and EC2 gave a launch time). */
static const struct aws_ec2_instance *newest_for(const struct controller *c,
                                                 const struct aws_ec2_instances *res,
                                                 const char *nodeclaim)
{
    const struct k8s_nodeclaim *nc = k8s_informer_get(c->nodeclaims, nodeclaim);
    const struct aws_ec2_instance *best = NULL;
    const char *warm;
    core_ns not_before;
    if (!nc || !nc->meta.has_creation_timestamp)
        return newest(res);
    warm = k8s_labels_get(&nc->meta.annotations, CONTROLLER_ANNOTATION_WARM);
    not_before = nc->meta.creation_timestamp - FIND_CLOCK_SLACK;
    for (size_t i = 0; res && i < res->n; i++) {
        const struct aws_ec2_instance *in = &res->v[i];
        /* Too old to be ours, unless it is the NodeClaim's warm instance (older by design). */
        if (in->launch_time > 0 && in->launch_time < not_before &&
            !(warm && in->instance_id && strcmp(warm, in->instance_id) == 0))
            continue;
        if (in->state_name && (strcmp(in->state_name, "terminated") == 0 ||
                               strcmp(in->state_name, "shutting-down") == 0))
            continue;
        if (!best || in->launch_time > best->launch_time ||
            (in->launch_time == best->launch_time &&
             strcmp(in->instance_id, best->instance_id) > 0))
            best = in;
    }
    return best;
}

/* The NodeClaim's own warm instance, claimed (tagged) but still stopped: a predecessor died
 * between CreateTags and StartInstances. That is not a launched instance; the warm path
 * resumes the claim and starts it (once). */
static int warm_unstarted(const struct controller *c, const struct aws_ec2_instance *in,
                          const char *nodeclaim)
{
    const struct k8s_nodeclaim *nc = k8s_informer_get(c->nodeclaims, nodeclaim);
    const char *warm = nc ? k8s_labels_get(&nc->meta.annotations, CONTROLLER_ANNOTATION_WARM)
                          : NULL;
    return warm && in->instance_id && strcmp(warm, in->instance_id) == 0 && in->state_name &&
           strcmp(in->state_name, "stopped") == 0;
}

static void on_found(void *ud, int rc, const struct aws_ec2_instances *res,
                     const struct core_err *err)
{
    struct find *x = ud;
    struct controller *c = controller_op_finish(&x->j.op);
    struct controller_launch_result out;
    const struct aws_ec2_instance *in;

    if (!c) {
        find_free(&x->j);
        return;
    }
    memset(&out, 0, sizeof out);
    if (rc) {
        x->cb(c, x->ud, rc, NULL, err);
    } else {
        if ((in = newest_for(c, res, x->nodeclaim)) != NULL &&
            !warm_unstarted(c, in, x->nodeclaim))
            result_from_instance(&out, in);
        x->cb(c, x->ud, 0, &out, NULL);
    }
    find_free(&x->j);
}

static void find_run(struct controller *c, struct job *j)
{
    struct find *x = (struct find *)j;
    struct core_err err;
    int rc;
    controller_op_track(c, &x->j.op);
    core_err_clear(&err);
    if ((rc = describe_by_nodeclaim(c, x->nodeclaim, on_found, x, &err)) != 0) {
        (void)controller_op_finish(&x->j.op);
        x->cb(c, x->ud, rc, NULL, &err);
        find_free(&x->j);
    }
}

int controller_launch_find(struct controller *c, const char *nodeclaim, controller_launch_fn cb,
                           void *ud, struct core_err *err)
{
    struct find *x;
    int rc;
    if (!c || !c->launch || !nodeclaim || !*nodeclaim || !cb)
        return core_err_set(err, CORE_E_INVAL, "launch: find: bad arguments");
    if (strlen(nodeclaim) >= sizeof x->nodeclaim)
        return core_err_set(err, CORE_E_INVAL, "launch: find: NodeClaim name too long");
    if (!(x = core_calloc(1, sizeof *x)))
        return core_err_set(err, CORE_E_NOMEM, "launch: out of memory");
    x->j.run = find_run;
    x->j.destroy = find_free;
    x->cb = cb;
    x->ud = ud;
    core_strlcpy(x->nodeclaim, nodeclaim, sizeof x->nodeclaim);
    if ((rc = job_kick(c, &x->j, err)) != 0)
        core_free(x);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Warm path                                                                                   */
/* ------------------------------------------------------------------------------------------ */

struct warm {
    struct job j;
    controller_launch_fn cb;
    void *ud;
    char nodeclaim[256];
    char instance_id[32];
    int owner;                     /* holds instance_id in L->warm_jobs */
    int prep_rc;
    struct core_err prep_err;
    /* Copies of the NodeClaim and class facts the user data needs. */
    char class_name[256];
    struct k8s_labels labels;
    struct k8s_taint *taints, *startup;
    size_t ntaints, nstartup;
    struct tagset tags;
    struct controller_launch_result res;
    struct userdata_output ud_out;
};

static void taints_free(struct k8s_taint *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        core_free(t[i].key);
        core_free(t[i].value);
    }
    core_free(t);
}

static int taints_copy(const struct k8s_taint *src, size_t n, struct k8s_taint **out)
{
    struct k8s_taint *t;
    if (n == 0) {
        *out = NULL;
        return 0;
    }
    if (!(t = core_calloc(n, sizeof *t)))
        return CORE_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        t[i].effect = src[i].effect;
        if (!(t[i].key = core_strdup(src[i].key ? src[i].key : "")) ||
            (src[i].value && !(t[i].value = core_strdup(src[i].value)))) {
            taints_free(t, i + 1);
            return CORE_E_NOMEM;
        }
    }
    *out = t;
    return 0;
}

static void warm_free(struct job *j)
{
    struct warm *x = (struct warm *)j;
    k8s_labels_cleanup(&x->labels);
    taints_free(x->taints, x->ntaints);
    taints_free(x->startup, x->nstartup);
    tagset_cleanup(&x->tags);
    userdata_output_cleanup(&x->ud_out);
    core_free(x);
}

static void warm_finish(struct controller *c, struct warm *x, int rc, const struct core_err *err)
{
    if (x->owner && c->launch) {
        core_free(core_map_del(c->launch->warm_jobs, x->instance_id));
        x->owner = 0;
    }
    if (rc == 0) {
        c->stats.launches_warm++;
        controller_log(c, CORE_LOG_INFO, COMPONENT, x->nodeclaim, "started warm instance",
                       "instance", x->res.instance_id, "type", x->res.instance_type, "zone",
                       x->res.zone, NULL);
        x->cb(c, x->ud, 0, &x->res, NULL);
    } else {
        c->stats.launch_failures++;
        controller_log(c, CORE_LOG_WARN, COMPONENT, x->nodeclaim, "warm start failed",
                       "instance", x->instance_id, "error",
                       err ? err->message : core_strerror(rc), NULL);
        x->cb(c, x->ud, rc, NULL, err);
    }
    warm_free(&x->j);
}

static void warm_fail(struct controller *c, struct warm *x, int rc, const char *msg)
{
    struct core_err e;
    core_err_clear(&e);
    core_err_set(&e, rc, "launch: warm instance %s: %s", x->instance_id, msg);
    warm_finish(c, x, rc, &e);
}

static void on_warm_released(void *ud, int rc, const struct core_err *err)
{
    struct warm *x = ud;
    struct controller *c = controller_op_finish(&x->j.op);
    if (!c) {
        warm_free(&x->j);
        return;
    }
    if (rc)
        controller_log(c, CORE_LOG_WARN, COMPONENT, x->nodeclaim,
                       "could not release the warm instance's claim tag", "instance",
                       x->instance_id, "error", err ? err->message : core_strerror(rc), NULL);
    /* CORE_E_STATE: nodeclaim.c drops the warm annotation and launches cold at once. */
    warm_fail(c, x, CORE_E_STATE, "no capacity to start");
}

/* StartInstances said the offering has no capacity (a stopped instance holds none): mark the
 * offering unavailable so the scheduler stops pairing its warm instances, and release the
 * claim. There is no DeleteTags client: karpenter.sh/nodeclaim="" means unclaimed
 * (prewarm_classify and the warm pool's free list treat an empty value as no tag), so the
 * instance goes back to the pool. */
static void warm_release(struct controller *c, struct warm *x, const struct core_err *cause)
{
    struct launcher_offerings *offs = controller_offerings(c);
    struct aws_ec2_create_tags_req req;
    struct aws_ec2_tag tag;
    const char *ids[1];
    struct core_err e;
    int rc;

    if (offs && x->res.instance_type[0] && x->res.zone[0])
        (void)launcher_offerings_mark_unavailable(offs, LAUNCHER_ON_DEMAND,
                                                  x->res.instance_type, x->res.zone,
                                                  controller_now(c), 0);
    controller_log(c, CORE_LOG_WARN, COMPONENT, x->nodeclaim,
                   "no capacity to start the warm instance: releasing it", "instance",
                   x->instance_id, "type", x->res.instance_type, "zone", x->res.zone, "error",
                   cause ? cause->message : "", NULL);
    if (!controller_may_act(c)) {
        warm_fail(c, x, CORE_E_STATE, "no capacity to start");
        return;
    }
    tag.key = (char *)CONTROLLER_TAG_NODECLAIM;
    tag.value = (char *)"";
    ids[0] = x->instance_id;
    req.resource_ids = ids;
    req.nresource_ids = 1;
    req.tags = &tag;
    req.ntags = 1;
    controller_op_track(c, &x->j.op);
    controller_count_ec2(c);
    core_err_clear(&e);
    if ((rc = aws_ec2_create_tags(c->aws, &req, on_warm_released, x, &e)) != 0) {
        (void)controller_op_finish(&x->j.op);
        warm_fail(c, x, CORE_E_STATE, "no capacity to start");
    }
}

static void on_warm_started(void *ud, int rc, const struct aws_ec2_state_changes *res,
                            const struct core_err *err)
{
    struct warm *x = ud;
    struct controller *c = controller_op_finish(&x->j.op);
    (void)res;
    if (!c) {
        warm_free(&x->j);
        return;
    }
    if (rc == CORE_E_SERVICE && err && aws_error_is_capacity(err->service_code)) {
        warm_release(c, x, err);
        return;
    }
    warm_finish(c, x, rc, err);
}

static void warm_start(struct controller *c, struct warm *x)
{
    struct aws_ec2_start_instances_req req;
    const char *ids[1];
    struct core_err err;
    int rc;
    if (!controller_may_act(c)) {
        warm_fail(c, x, CORE_E_CANCELLED, "not acting");
        return;
    }
    ids[0] = x->instance_id;
    req.instance_ids = ids;
    req.ninstance_ids = 1;
    controller_op_track(c, &x->j.op);
    controller_count_ec2(c);
    core_err_clear(&err);
    if ((rc = aws_ec2_start_instances(c->aws, &req, on_warm_started, x, &err)) != 0) {
        (void)controller_op_finish(&x->j.op);
        warm_finish(c, x, rc, &err);
    }
}

static void on_warm_tagged(void *ud, int rc, const struct core_err *err)
{
    struct warm *x = ud;
    struct controller *c = controller_op_finish(&x->j.op);
    if (!c) {
        warm_free(&x->j);
        return;
    }
    if (rc) {
        warm_finish(c, x, rc, err);
        return;
    }
    c->warm_claims++;
    /* The crash fault fires between the claim (tag) and the start. */
    if (c->opts.crash_after_warm_claims && c->warm_claims == c->opts.crash_after_warm_claims)
        c->crashed = 1;
    warm_start(c, x);
}

static void on_warm_modified(void *ud, int rc, const struct core_err *err)
{
    struct warm *x = ud;
    struct controller *c = controller_op_finish(&x->j.op);
    struct aws_ec2_create_tags_req req;
    const char *ids[1];
    struct core_err e;

    if (!c) {
        warm_free(&x->j);
        return;
    }
    if (rc) {
        warm_finish(c, x, rc, err);
        return;
    }
    if (!controller_may_act(c)) {
        warm_fail(c, x, CORE_E_CANCELLED, "not acting");
        return;
    }
    ids[0] = x->instance_id;
    req.resource_ids = ids;
    req.nresource_ids = 1;
    req.tags = x->tags.v;
    req.ntags = x->tags.n;
    controller_op_track(c, &x->j.op);
    controller_count_ec2(c);
    core_err_clear(&e);
    if ((rc = aws_ec2_create_tags(c->aws, &req, on_warm_tagged, x, &e)) != 0) {
        (void)controller_op_finish(&x->j.op);
        warm_finish(c, x, rc, &e);
    }
}

static void on_warm_described(void *ud, int rc, const struct aws_ec2_instances *res,
                              const struct core_err *err)
{
    struct warm *x = ud;
    struct controller *c = controller_op_finish(&x->j.op);
    const struct aws_ec2_instance *in = NULL;
    const struct k8s_ec2nodeclass *cls;
    const struct launcher_itype *t;
    const struct launcher_catalog *cat;
    struct aws_ec2_modify_instance_attribute_req req;
    struct k8s_nodeclaim nc;
    struct core_err e;
    const char *tagged;

    if (!c) {
        warm_free(&x->j);
        return;
    }
    if (rc) {
        if (err && strcmp(err->service_code, "InvalidInstanceID.NotFound") == 0)
            warm_fail(c, x, CORE_E_STATE, "gone");
        else
            warm_finish(c, x, rc, err);
        return;
    }
    for (size_t i = 0; i < res->n && !in; i++)
        if (res->v[i].instance_id && strcmp(res->v[i].instance_id, x->instance_id) == 0)
            in = &res->v[i];
    if (!in || !in->state_name) {
        warm_fail(c, x, CORE_E_STATE, "gone");
        return;
    }
    result_from_instance(&x->res, in);
    x->res.warm = 1;
    tagged = NULL;
    for (size_t i = 0; i < in->tags.n; i++)
        if (strcmp(in->tags.v[i].key, CONTROLLER_TAG_NODECLAIM) == 0)
            tagged = in->tags.v[i].value;
    if ((strcmp(in->state_name, "pending") == 0 || strcmp(in->state_name, "running") == 0) &&
        tagged && strcmp(tagged, x->nodeclaim) == 0) {
        /* Started for this NodeClaim by an earlier attempt whose answer was lost. */
        warm_finish(c, x, 0, NULL);
        return;
    }
    if (strcmp(in->state_name, "stopped") != 0) {
        core_err_clear(&e);
        core_err_set(&e, CORE_E_STATE, "launch: warm instance %s is %s, not stopped",
                     x->instance_id, in->state_name);
        warm_finish(c, x, CORE_E_STATE, &e);
        return;
    }
    if (tagged && *tagged && strcmp(tagged, x->nodeclaim) != 0) {
        warm_fail(c, x, CORE_E_STATE, "claimed by another NodeClaim");
        return;
    }
    cls = nodeclass_get(c, x->class_name);
    cat = controller_catalog(c);
    t = cat && in->instance_type ? launcher_catalog_find(cat, in->instance_type) : NULL;
    if (!cls || !t) {
        warm_fail(c, x, CORE_E_STATE, !cls ? "EC2NodeClass not found" : "unknown instance type");
        return;
    }
    memset(&nc, 0, sizeof nc);
    nc.taints = x->taints;
    nc.ntaints = x->ntaints;
    nc.startup_taints = x->startup;
    nc.nstartup_taints = x->nstartup;
    core_err_clear(&e);
    if ((rc = render_user_data(c, cls, &nc, &x->labels, class_max_pods(cls, t), &x->ud_out,
                               &e)) != 0) {
        warm_finish(c, x, rc, &e);
        return;
    }
    if (!controller_may_act(c)) {
        warm_fail(c, x, CORE_E_CANCELLED, "not acting");
        return;
    }
    memset(&req, 0, sizeof req);
    req.instance_id = x->instance_id;
    req.user_data = x->ud_out.gz;
    req.user_data_len = x->ud_out.gz_len;
    controller_op_track(c, &x->j.op);
    controller_count_ec2(c);
    core_err_clear(&e);
    if ((rc = aws_ec2_modify_instance_attribute(c->aws, &req, on_warm_modified, x, &e)) != 0) {
        (void)controller_op_finish(&x->j.op);
        warm_finish(c, x, rc, &e);
    }
}

static void warm_run(struct controller *c, struct job *j)
{
    struct warm *x = (struct warm *)j;
    struct aws_ec2_describe_instances_req req;
    const char *ids[1];
    struct core_err err;
    int rc;

    if (x->prep_rc) {
        warm_finish(c, x, x->prep_rc, &x->prep_err);
        return;
    }
    ids[0] = x->instance_id;
    memset(&req, 0, sizeof req);
    req.instance_ids = ids;
    req.ninstance_ids = 1;
    controller_op_track(c, &x->j.op);
    controller_count_ec2(c);
    core_err_clear(&err);
    if ((rc = aws_ec2_describe_instances(c->aws, &req, on_warm_described, x, &err)) != 0) {
        (void)controller_op_finish(&x->j.op);
        warm_finish(c, x, rc, &err);
    }
}

static int warm_new(struct controller *c, const struct k8s_nodeclaim *nc, const char *id,
                    controller_launch_fn cb, void *ud, struct core_err *err)
{
    struct warm *x = core_calloc(1, sizeof *x);
    const struct k8s_ec2nodeclass *cls;
    const char *pool = k8s_labels_get(&nc->meta.labels, CONTROLLER_TAG_NODEPOOL);
    int rc;

    if (!x)
        return core_err_set(err, CORE_E_NOMEM, "launch: out of memory");
    x->j.run = warm_run;
    x->j.destroy = warm_free;
    x->cb = cb;
    x->ud = ud;
    core_strlcpy(x->nodeclaim, nc->meta.name, sizeof x->nodeclaim);
    core_strlcpy(x->instance_id, id, sizeof x->instance_id);
    core_strlcpy(x->class_name, nc->node_class_ref.name ? nc->node_class_ref.name : "",
                 sizeof x->class_name);
    cls = nodeclass_get(c, x->class_name);
    core_err_clear(&x->prep_err);
    const char *holder = core_map_get(c->launch->warm_jobs, id, NULL);
    if (!controller_may_act(c)) {
        x->prep_rc = core_err_set(&x->prep_err, CORE_E_CANCELLED, "launch: not acting");
    } else if (holder && strcmp(holder, x->nodeclaim) != 0) {
        /* Another NodeClaim's warm job holds this instance now: neither describes it as
         * untagged and both start it. Nothing is asked of EC2 for this one. */
        x->prep_rc = core_err_set(&x->prep_err, CORE_E_STATE,
                                  "launch: warm instance %s: claimed by another NodeClaim (%s)",
                                  id, holder);
    } else if (strlen(id) >= sizeof x->instance_id || strncmp(id, "i-", 2) != 0) {
        x->prep_rc =
            core_err_set(&x->prep_err, CORE_E_STATE, "launch: bad warm instance id %s", id);
    } else if (!cls || !controller_nodeclass_ready(c, x->class_name)) {
        x->prep_rc = core_err_set(&x->prep_err, CORE_E_STATE,
                                  "launch: EC2NodeClass %s is not ready", x->class_name);
    } else {
        char key[300];
        rc = node_labels(nc, &x->labels, err);
        if (!rc && (taints_copy(nc->taints, nc->ntaints, &x->taints) != 0 ||
                    (x->ntaints = nc->ntaints,
                     taints_copy(nc->startup_taints, nc->nstartup_taints, &x->startup) != 0)))
            rc = core_err_set(err, CORE_E_NOMEM, "launch: out of memory");
        if (!rc)
            x->nstartup = nc->nstartup_taints;
        snprintf(key, sizeof key, "%s%s", CONTROLLER_TAG_CLUSTER_PREFIX, c->opts.cluster_name);
        if (!rc && (tagset_cluster(&x->tags, c) != 0 ||
                    tagset_put(&x->tags, CONTROLLER_TAG_NAME, nc->meta.name) != 0 ||
                    tagset_put(&x->tags, CONTROLLER_TAG_NODECLAIM, nc->meta.name) != 0 ||
                    tagset_put(&x->tags, CONTROLLER_TAG_NODECLASS, x->class_name) != 0 ||
                    (pool && tagset_put(&x->tags, CONTROLLER_TAG_NODEPOOL, pool) != 0)))
            rc = core_err_set(err, CORE_E_NOMEM, "launch: out of memory");
        if (rc) {
            warm_free(&x->j);
            return rc;
        }
    }
    if ((rc = job_kick(c, &x->j, err)) != 0) {
        warm_free(&x->j);
        return rc;
    }
    if (!x->prep_rc && !holder) {
        char *name = core_strdup(x->nodeclaim);
        if (!name || core_map_set(c->launch->warm_jobs, x->instance_id, name, NULL) != 0) {
            /* Kicked already: the job fails from the loop instead of running unguarded. */
            core_free(name);
            x->prep_rc = core_err_set(&x->prep_err, CORE_E_NOMEM, "launch: out of memory");
        } else {
            x->owner = 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Warm-up launches (the warm pool)                                                            */
/* ------------------------------------------------------------------------------------------ */

/* Hibernation needs an encrypted root volume that holds the RAM: at least RAM + 20 GiB (the
 * image and what the warm-up pulled). The root is the class's root_volume device, else
 * /dev/xvda (AL2023's), added when the class lists no such device. */
static int warmup_root_for_hibernation(struct cold *x, const struct k8s_ec2nodeclass *cls,
                                       int64_t ram_gib)
{
    const char *root = "/dev/xvda";
    struct aws_ec2_block_device *d = NULL;
    int64_t need = ram_gib + 20;

    for (size_t i = 0; i < cls->nblock_devices; i++)
        if (cls->block_devices[i].root_volume && cls->block_devices[i].device_name)
            root = cls->block_devices[i].device_name;
    for (size_t i = 0; i < x->nbd && !d; i++)
        if (strcmp(x->bd[i].device_name, root) == 0)
            d = &x->bd[i];
    if (!d) {
        if (x->nbd == 50)
            return CORE_E_TOOBIG;
        if (!(x->bd_names[x->nbd] = core_strdup(root)))
            return CORE_E_NOMEM;
        d = &x->bd[x->nbd];
        memset(d, 0, sizeof *d);
        d->device_name = x->bd_names[x->nbd];
        d->volume_type = "gp3";
        d->delete_on_termination = AWS_EC2_TRUE;
        x->nbd++;
    }
    if (d->volume_size < need)
        d->volume_size = need;
    d->encrypted = AWS_EC2_TRUE;
    return 0;
}

static int render_warm_user_data(const struct controller *c, const struct k8s_ec2nodeclass *cls,
                                 const struct controller_warmup_req *r,
                                 struct userdata_output *out, struct core_err *err)
{
    struct userdata_input in;
    memset(&in, 0, sizeof in);
    in.family = cls->ami_family;
    in.phase = USERDATA_WARM;
    in.cluster.name = c->opts.cluster_name;
    in.cluster.endpoint = c->opts.cluster_endpoint;
    in.cluster.ca_bundle = c->opts.cluster_ca;
    in.cluster.service_cidr = c->opts.service_cidr;
    in.cluster.cluster_dns = c->opts.cluster_dns;
    in.node.kubelet = &cls->kubelet;
    in.warm.images = r->images;
    in.warm.nimages = r->nimages;
    in.warm.hydrate_root_volume = r->hydrate_root_volume;
    in.warm.timeout_s = r->timeout_s;
    in.warm.stay_running = r->hibernate;
    return userdata_build(&in, out, err);
}

static int warmup_prepare(struct cold *x, struct controller *c,
                          const struct controller_warmup_req *r, struct core_err *err)
{
    const struct k8s_ec2nodeclass *cls = nodeclass_get(c, r->nodeclass);
    const struct launcher_catalog *cat = controller_catalog(c);
    struct launcher_offerings *offs = controller_offerings(c);
    core_ns now = controller_now(c);
    int check_offers = offs && launcher_offerings_zone_count(offs) > 0;
    const char *subnet = NULL;
    int64_t ram_gib = 0;
    char since[64], name_tag[300];
    int rc;

    if (!controller_may_act(c))
        return core_err_set(err, CORE_E_STATE, "launch: not acting (not leading)");
    if (!cls)
        return core_err_set(err, CORE_E_STATE, "launch: EC2NodeClass %s not found",
                            r->nodeclass);
    if (!controller_nodeclass_ready(c, r->nodeclass) || cls->nsubnets == 0 ||
        cls->nsecurity_groups == 0 || cls->namis == 0 || !cls->status_instance_profile ||
        !*cls->status_instance_profile)
        return core_err_set(err, CORE_E_STATE, "launch: EC2NodeClass %s is not ready",
                            r->nodeclass);
    if (!cat)
        return core_err_set(err, CORE_E_STATE, "launch: no instance catalog yet");
    for (size_t i = 0; i < cls->nsubnets && !subnet; i++)
        if (cls->subnets[i].id && cls->subnets[i].zone &&
            strcmp(cls->subnets[i].zone, r->zone) == 0)
            subnet = cls->subnets[i].id;
    if (!subnet)
        return core_err_set(err, CORE_E_STATE, "launch: EC2NodeClass %s has no subnet in %s",
                            r->nodeclass, r->zone);
    x->ct = LAUNCHER_ON_DEMAND;
    x->hibernate = r->hibernate;
    if (!(x->ov = core_calloc(MAX_OVERRIDES, sizeof *x->ov)) ||
        !(x->g = core_calloc(MAX_OVERRIDES, sizeof *x->g)))
        return core_err_set(err, CORE_E_NOMEM, "launch: out of memory");
    for (size_t i = 0; i < r->ntypes && x->nov < MAX_OVERRIDES; i++) {
        const struct launcher_itype *t = r->types[i] ? launcher_catalog_find(cat, r->types[i])
                                                     : NULL;
        const char *image;
        struct override *o;
        size_t gi;
        if (!t || !(image = ami_for_type(cls, t)))
            continue;
        if (check_offers &&
            !launcher_offerings_lookup(offs, LAUNCHER_ON_DEMAND, t->name, r->zone, now, NULL))
            continue;
        for (gi = 0; gi < x->ng; gi++)
            if (strcmp(x->g[gi].image, image) == 0)
                break;
        if (gi == x->ng) {
            core_strlcpy(x->g[gi].image, image, sizeof x->g[gi].image);
            x->ng++;
        }
        o = &x->ov[x->nov++];
        o->t = t;
        core_strlcpy(o->type, t->name, sizeof o->type);
        core_strlcpy(o->zone, r->zone, sizeof o->zone);
        core_strlcpy(o->subnet, subnet, sizeof o->subnet);
        o->group = gi;
        if ((t->memory_mib + 1023) / 1024 > ram_gib)
            ram_gib = (t->memory_mib + 1023) / 1024;
    }
    if (x->nov == 0) {
        core_err_set(err, CORE_E_SERVICE,
                     "launch: no available on-demand offering for warm pool %s in %s",
                     r->pool, r->zone);
        core_err_set_service(err, 0, "InsufficientInstanceCapacity", NULL);
        return CORE_E_SERVICE;
    }
    snprintf(name_tag, sizeof name_tag, "%s-warm", r->pool);
    if ((rc = cold_content(x, c, cls, name_tag, NULL, r->nodepool, err)) != 0)
        return rc;
    core_time_rfc3339(controller_wall(c), since, sizeof since);
    if ((rc = tagset_put(&x->fleet_tags, CONTROLLER_TAG_WARM_POOL, r->pool)) != 0 ||
        (rc = tagset_put(&x->fleet_tags, CONTROLLER_TAG_WARM_POOL_HASH, r->spec_hash)) != 0 ||
        (rc = tagset_put(&x->fleet_tags, CONTROLLER_TAG_WARM_SINCE, since)) != 0)
        return core_err_set(err, rc, "launch: warm-up tags: %s", core_strerror(rc));
    if (r->hibernate && (rc = warmup_root_for_hibernation(x, cls, ram_gib)) != 0)
        return core_err_set(err, rc, "launch: hibernation root volume: %s", core_strerror(rc));
    for (size_t gi = 0; gi < x->ng; gi++) {
        if ((rc = render_warm_user_data(c, cls, r, &x->g[gi].ud, err)) != 0 ||
            (rc = group_name(x, &x->g[gi], c, cls->detailed_monitoring, cls, err)) != 0)
            return rc;
        if (!(x->g[gi].fo = core_calloc(x->nov, sizeof *x->g[gi].fo)))
            return core_err_set(err, CORE_E_NOMEM, "launch: out of memory");
    }
    for (size_t i = 0; i < x->nov; i++) {
        struct group *g = &x->g[x->ov[i].group];
        struct aws_ec2_fleet_override *f = &g->fo[g->nfo++];
        f->instance_type = x->ov[i].type;
        f->subnet_id = x->ov[i].subnet;
        f->availability_zone = x->ov[i].zone;
    }
    /* Unique per warm-up: a retry of this one request replays; the next warm-up launches. */
    snprintf(x->client_token, sizeof x->client_token, "w-%.24s-%" PRId64 "-%lu", r->pool,
             controller_wall(c) / CORE_NS_PER_MS, ++c->launch->warmup_seq);
    return 0;
}

int controller_launch_warmup(struct controller *c, const struct controller_warmup_req *req,
                             controller_launch_fn cb, void *ud, struct core_err *err)
{
    struct cold *x;
    int rc;

    if (!c || !c->launch || !req || !req->pool || !*req->pool || !req->nodeclass ||
        !req->zone || !req->spec_hash || !req->types || req->ntypes == 0 || !cb)
        return core_err_set(err, CORE_E_INVAL, "launch: warm-up: bad arguments");
    if (!(x = core_calloc(1, sizeof *x)))
        return core_err_set(err, CORE_E_NOMEM, "launch: out of memory");
    x->j.run = cold_run;
    x->j.destroy = cold_free;
    x->cb = cb;
    x->ud = ud;
    x->warmup = 1;
    core_strlcpy(x->nodeclaim, req->pool, sizeof x->nodeclaim);
    core_err_clear(&x->prep_err);
    x->prep_rc = warmup_prepare(x, c, req, &x->prep_err);
    if (x->prep_rc == CORE_E_NOMEM) {
        if (err)
            *err = x->prep_err;
        cold_free(&x->j);
        return CORE_E_NOMEM;
    }
    if ((rc = job_kick(c, &x->j, err)) != 0) {
        cold_free(&x->j);
        return rc;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Entry points                                                                                */
/* ------------------------------------------------------------------------------------------ */

int controller_launch_start(struct controller *c, const struct k8s_nodeclaim *nc,
                            controller_launch_fn cb, void *ud, struct core_err *err)
{
    struct cold *x;
    const char *warm_id;
    int rc;

    if (!c || !c->launch || !nc || !nc->meta.name || !cb)
        return core_err_set(err, CORE_E_INVAL, "launch: bad arguments");
    warm_id = k8s_labels_get(&nc->meta.annotations, CONTROLLER_ANNOTATION_WARM);
    if (warm_id && *warm_id)
        return warm_new(c, nc, warm_id, cb, ud, err);
    if (!(x = core_calloc(1, sizeof *x)))
        return core_err_set(err, CORE_E_NOMEM, "launch: out of memory");
    x->j.run = cold_run;
    x->j.destroy = cold_free;
    x->cb = cb;
    x->ud = ud;
    core_strlcpy(x->nodeclaim, nc->meta.name, sizeof x->nodeclaim);
    if (nc->meta.uid)
        core_strlcpy(x->client_token, nc->meta.uid, sizeof x->client_token);
    core_err_clear(&x->prep_err);
    x->prep_rc = cold_prepare(x, c, nc, &x->prep_err);
    if (x->prep_rc == CORE_E_NOMEM) {
        if (err)
            *err = x->prep_err;
        cold_free(&x->j);
        return CORE_E_NOMEM;
    }
    if ((rc = job_kick(c, &x->j, err)) != 0) {
        cold_free(&x->j);
        return rc;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Terminate                                                                                   */
/* ------------------------------------------------------------------------------------------ */

struct term {
    struct job j;
    controller_done_fn cb;
    void *ud;
    char instance_id[32];
};

static void term_free(struct job *j)
{
    core_free(j);
}

static void on_terminated(void *ud, int rc, const struct aws_ec2_state_changes *res,
                          const struct core_err *err)
{
    struct term *x = ud;
    struct controller *c = controller_op_finish(&x->j.op);
    (void)res;
    if (!c) {
        term_free(&x->j);
        return;
    }
    if (rc && err && strcmp(err->service_code, "InvalidInstanceID.NotFound") == 0)
        rc = 0;
    controller_log(c, rc ? CORE_LOG_WARN : CORE_LOG_INFO, COMPONENT, x->instance_id,
                   rc ? "terminate failed" : "terminated", "error",
                   rc && err ? err->message : "", NULL);
    x->cb(c, x->ud, rc, rc ? err : NULL);
    term_free(&x->j);
}

static void term_run(struct controller *c, struct job *j)
{
    struct term *x = (struct term *)j;
    struct aws_ec2_terminate_instances_req req;
    const char *ids[1];
    struct core_err err;
    int rc;

    core_err_clear(&err);
    if (!controller_may_act(c)) {
        core_err_set(&err, CORE_E_STATE, "launch: not acting");
        x->cb(c, x->ud, CORE_E_STATE, &err);
        term_free(&x->j);
        return;
    }
    ids[0] = x->instance_id;
    req.instance_ids = ids;
    req.ninstance_ids = 1;
    controller_op_track(c, &x->j.op);
    controller_count_ec2(c);
    if ((rc = aws_ec2_terminate_instances(c->aws, &req, on_terminated, x, &err)) != 0) {
        (void)controller_op_finish(&x->j.op);
        x->cb(c, x->ud, rc, &err);
        term_free(&x->j);
    }
}

int controller_terminate(struct controller *c, const char *instance_id, controller_done_fn cb,
                         void *ud, struct core_err *err)
{
    struct term *x;
    int rc;
    if (!c || !c->launch || !instance_id || !*instance_id || !cb)
        return core_err_set(err, CORE_E_INVAL, "launch: terminate: bad arguments");
    if (strlen(instance_id) >= sizeof x->instance_id)
        return core_err_set(err, CORE_E_INVAL, "launch: terminate: instance id too long");
    if (!(x = core_calloc(1, sizeof *x)))
        return core_err_set(err, CORE_E_NOMEM, "launch: out of memory");
    x->j.run = term_run;
    x->j.destroy = term_free;
    x->cb = cb;
    x->ud = ud;
    core_strlcpy(x->instance_id, instance_id, sizeof x->instance_id);
    if ((rc = job_kick(c, &x->j, err)) != 0)
        core_free(x);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Launch template garbage collection                                                          */
/* ------------------------------------------------------------------------------------------ */

struct ltgc {
    struct controller_op op; /* first */
    char **names;            /* to delete */
    size_t n, i;
};

static void ltgc_free(struct ltgc *g)
{
    for (size_t i = 0; i < g->n; i++)
        core_free(g->names[i]);
    core_free(g->names);
    core_free(g);
}

static void ltgc_next(struct controller *c, struct ltgc *g);

static void on_lt_deleted(void *ud, int rc, const struct aws_ec2_launch_templates *res,
                          const struct core_err *err)
{
    struct ltgc *g = ud;
    struct controller *c = controller_op_finish(&g->op);
    (void)res;
    if (!c) {
        ltgc_free(g);
        return;
    }
    controller_log(c, rc ? CORE_LOG_WARN : CORE_LOG_INFO, COMPONENT, g->names[g->i],
                   rc ? "launch template delete failed" : "launch template deleted", "error",
                   rc && err ? err->message : "", NULL);
    if (rc == 0 || (err && strstr(err->service_code, "NotFound")))
        lt_forget(c, g->names[g->i]);
    g->i++;
    ltgc_next(c, g);
}

static void ltgc_next(struct controller *c, struct ltgc *g)
{
    struct aws_ec2_delete_launch_template_req req;
    struct core_err err;
    struct lt_entry *e;
    core_ns now = controller_now(c);

    for (; g->i < g->n; g->i++) {
        /* A launch may have picked it up since the list was made. */
        e = core_map_get(c->launch->templates, g->names[g->i], NULL);
        if (e && e->last_used && now - e->last_used < LT_UNUSED_TTL)
            continue;
        if (!controller_may_act(c))
            break;
        memset(&req, 0, sizeof req);
        req.name = g->names[g->i];
        controller_op_track(c, &g->op);
        controller_count_ec2(c);
        core_err_clear(&err);
        if (aws_ec2_delete_launch_template(c->aws, &req, on_lt_deleted, g, &err) == 0)
            return;
        (void)controller_op_finish(&g->op);
    }
    c->launch->gc_running = 0;
    ltgc_free(g);
}

static void on_lt_listed(void *ud, int rc, const struct aws_ec2_launch_templates *res,
                         const struct core_err *err)
{
    struct ltgc *g = ud;
    struct controller *c = controller_op_finish(&g->op);
    core_ns now, wall;
    (void)err;

    if (!c) {
        ltgc_free(g);
        return;
    }
    if (rc || !(g->names = core_calloc(res->n ? res->n : 1, sizeof *g->names))) {
        c->launch->gc_running = 0;
        ltgc_free(g);
        return;
    }
    now = controller_now(c);
    wall = controller_wall(c);
    for (size_t i = 0; i < res->n; i++) {
        const struct aws_ec2_launch_template *t = &res->v[i];
        struct lt_entry *e;
        if (!t->launch_template_name || strncmp(t->launch_template_name, "stoker-", 7) != 0)
            continue;
        e = core_map_get(c->launch->templates, t->launch_template_name, NULL);
        if (e && e->last_used) {
            if (now - e->last_used < LT_UNUSED_TTL)
                continue;
        } else if (!t->create_time || wall - t->create_time < LT_UNUSED_TTL) {
            continue;
        }
        if (!(g->names[g->n] = core_strdup(t->launch_template_name)))
            break;
        g->n++;
    }
    ltgc_next(c, g);
}

void controller_launch_gc(struct controller *c)
{
    struct aws_ec2_describe_launch_templates_req req;
    struct aws_ec2_filter f;
    const char *vals[1];
    char name[256];
    struct core_err err;
    struct ltgc *g;

    if (!c || !c->launch || c->launch->gc_running || !controller_may_act(c))
        return;
    if (!(g = core_calloc(1, sizeof *g)))
        return;
    snprintf(name, sizeof name, "tag:%s", CONTROLLER_TAG_MANAGED_BY);
    vals[0] = c->opts.cluster_name;
    f.name = name;
    f.values = vals;
    f.nvalues = 1;
    memset(&req, 0, sizeof req);
    req.filters = &f;
    req.nfilters = 1;
    controller_op_track(c, &g->op);
    controller_count_ec2(c);
    core_err_clear(&err);
    if (aws_ec2_describe_launch_templates(c->aws, &req, on_lt_listed, g, &err) != 0) {
        (void)controller_op_finish(&g->op);
        ltgc_free(g);
        return;
    }
    c->launch->gc_running = 1;
}
