/*
 * tests/unit/test_launcher_sched.c — the scheduler (launcher_schedule) against the real
 * catalog and default offerings in us-east-1a/b/c: packing, node selection, NodePool
 * requirements and weights, capacity types, taints, resources, DaemonSet overhead, topology
 * spread, pod (anti-)affinity, existing capacity, volume topology, limits, minValues, capacity
 * errors, warm instances, determinism and the growth rule.
 *
 * Inputs are decoded from small JSON documents built with snprintf (single quotes in the
 * templates become double quotes before parsing; no document here needs a literal one). Every
 * plan goes through check_plan, which holds the invariants every plan must keep: each pod in
 * exactly one of claims, placements and unschedulable; claim_of agreeing with claims[].pods;
 * every listed type cheapest first, within max_types, and holding its claim's pods after the
 * DaemonSet overhead the test declares; a claim's requests at least its pods' sum.
 *
 * Tests marked "Regression" guard a defect these tests found in launcher/sched.c; the comment
 * says what used to go wrong.
 */
#include "tests/unit/harness.h"

#include "core/core.h"
#include "k8s/k8s.h"
#include "launcher/launcher.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define ZONE_KEY "topology.kubernetes.io/zone"
#define CT_KEY "karpenter.sh/capacity-type"
#define GIB ((int64_t)1 << 30)
#define MAXPODS 256
#define MAXOBJ 8
#define DOC_MAX 8192

static struct launcher_catalog *g_cat;
static struct launcher_offerings *g_off;      /* on-demand only */
static struct launcher_offerings *g_off_spot; /* spot at 30% off too */
static const char *const g_zones[] = {"us-east-1a", "us-east-1b", "us-east-1c"};

static int suite_init(void)
{
    struct core_err err;
    core_err_clear(&err);
    if (launcher_catalog_load(&g_cat, &err) != 0)
        return -1;
    if (launcher_offerings_default(g_cat, "us-east-1", g_zones, 3, 0, &g_off, &err) != 0)
        return -1;
    if (launcher_offerings_default(g_cat, "us-east-1", g_zones, 3, 0.3, &g_off_spot, &err) != 0)
        return -1;
    return 0;
}

static int suite_cleanup(void)
{
    launcher_offerings_free(g_off);
    launcher_offerings_free(g_off_spot);
    launcher_catalog_free(g_cat);
    g_off = g_off_spot = NULL;
    g_cat = NULL;
    return 0;
}

/* ---- fixture --------------------------------------------------------------------------------- */

struct fx {
    struct k8s_pod pods[MAXPODS];
    const struct k8s_pod *podp[MAXPODS];
    size_t npods;
    struct k8s_pod bpods[MAXOBJ];
    struct launcher_sched_bound bound[MAXOBJ];
    size_t nbound;
    struct k8s_nodepool np[MAXOBJ];
    struct k8s_ec2nodeclass nc[MAXOBJ];
    struct launcher_sched_pool pools[MAXOBJ];
    size_t npools;
    struct k8s_daemonset ds[MAXOBJ];
    const struct k8s_daemonset *dsp[MAXOBJ];
    size_t nds;
    struct k8s_pvc pvc[MAXOBJ];
    const struct k8s_pvc *pvcp[MAXOBJ];
    size_t npvc;
    struct k8s_pv pv[MAXOBJ];
    const struct k8s_pv *pvp[MAXOBJ];
    size_t npv;
    struct k8s_storage_class sc[MAXOBJ];
    const struct k8s_storage_class *scp[MAXOBJ];
    size_t nsc;
    struct k8s_labels nlabels[MAXOBJ];
    struct k8s_res_list navail[MAXOBJ];
    struct k8s_taint ntaint[MAXOBJ];
    struct launcher_sched_node nodes[MAXOBJ];
    size_t nnodes;
    struct launcher_warm warm[MAXOBJ];
    size_t nwarm;
    const struct launcher_offerings *off;
    size_t max_types;
    /* What the test expects DaemonSets to take from every type (for check_plan). */
    int64_t ds_cpu, ds_mem;
    struct launcher_plan *plan;
};

static struct fx *fx_new(void)
{
    struct fx *f = core_calloc(1, sizeof(*f));
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    f->off = g_off;
    return f;
}

static void fx_free(struct fx *f)
{
    if (!f)
        return;
    launcher_plan_free(f->plan);
    for (size_t i = 0; i < f->npods; i++)
        k8s_pod_cleanup(&f->pods[i]);
    for (size_t i = 0; i < f->nbound; i++)
        k8s_pod_cleanup(&f->bpods[i]);
    for (size_t i = 0; i < f->npools; i++) {
        k8s_nodepool_cleanup(&f->np[i]);
        k8s_ec2nodeclass_cleanup(&f->nc[i]);
    }
    for (size_t i = 0; i < f->nds; i++)
        k8s_daemonset_cleanup(&f->ds[i]);
    for (size_t i = 0; i < f->npvc; i++)
        k8s_pvc_cleanup(&f->pvc[i]);
    for (size_t i = 0; i < f->npv; i++)
        k8s_pv_cleanup(&f->pv[i]);
    for (size_t i = 0; i < f->nsc; i++)
        k8s_storage_class_cleanup(&f->sc[i]);
    for (size_t i = 0; i < f->nnodes; i++) {
        k8s_labels_cleanup(&f->nlabels[i]);
        k8s_res_cleanup(&f->navail[i]);
    }
    core_free(f);
}

/* Parses a template with single quotes standing for double quotes. */
static json_t *load(const char *doc)
{
    char buf[DOC_MAX];
    size_t n = strlen(doc);
    CU_ASSERT_FATAL(n < sizeof(buf));
    for (size_t i = 0; i <= n; i++)
        buf[i] = doc[i] == '\'' ? '"' : doc[i];
    json_error_t jerr;
    json_t *j = json_loads(buf, 0, &jerr);
    if (!j)
        fprintf(stderr, "bad test JSON: %s: %s\n", jerr.text, buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    return j;
}

#define DECODE(fn, doc, dst)                                                                   \
    do {                                                                                       \
        json_t *j_ = load(doc);                                                                \
        struct core_err e_;                                                                    \
        core_err_clear(&e_);                                                                   \
        int rc_ = fn(j_, dst, &e_);                                                            \
        if (rc_ != 0)                                                                          \
            fprintf(stderr, "%s: %s\n", #fn, e_.message);                                      \
        json_decref(j_);                                                                       \
        CU_ASSERT_EQUAL_FATAL(rc_, 0);                                                         \
    } while (0)

#define N(x) ((x) ? (x) : "")

/* A pod in namespace default. labels: JSON object members ("'app':'web'"); requests: the
 * container's requests members; extra: more spec members, starting with ','. */
static size_t add_pod(struct fx *f, const char *name, const char *labels, const char *requests,
                      const char *extra)
{
    char doc[DOC_MAX];
    CU_ASSERT_FATAL(f->npods < MAXPODS);
    int n = snprintf(doc, sizeof(doc),
                     "{'metadata':{'name':'%s','namespace':'default','labels':{%s}},"
                     "'spec':{'containers':[{'name':'c','resources':{'requests':{%s}}}]%s}}",
                     name, N(labels), N(requests), N(extra));
    CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(doc));
    DECODE(k8s_pod_decode, doc, &f->pods[f->npods]);
    f->podp[f->npods] = &f->pods[f->npods];
    return f->npods++;
}

static void add_pods(struct fx *f, size_t count, const char *prefix, const char *labels,
                     const char *requests, const char *extra)
{
    char name[64];
    for (size_t i = 0; i < count; i++) {
        snprintf(name, sizeof(name), "%s-%zu", prefix, i);
        (void)add_pod(f, name, labels, requests, extra);
    }
}

/* A NodePool. tlabels: template label members; tspec: more template spec members (','
 * first); spec: more spec members (',' first); ncspec: NULL for no EC2NodeClass, else more
 * EC2NodeClass spec members (may be ""). */
static size_t add_pool(struct fx *f, const char *name, const char *tlabels, const char *tspec,
                       const char *spec, const char *ncspec)
{
    char doc[DOC_MAX];
    CU_ASSERT_FATAL(f->npools < MAXOBJ);
    size_t i = f->npools;
    int n = snprintf(doc, sizeof(doc),
                     "{'apiVersion':'stoker.dev/v1alpha1','kind':'NodePool',"
                     "'metadata':{'name':'%s'},"
                     "'spec':{'template':{'metadata':{'labels':{%s}},'spec':{'nodeClassRef':"
                     "{'group':'stoker.dev','kind':'EC2NodeClass','name':'default'}%s}}%s}}",
                     name, N(tlabels), N(tspec), N(spec));
    CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(doc));
    DECODE(k8s_nodepool_decode, doc, &f->np[i]);
    f->pools[i].pool = &f->np[i];
    if (ncspec) {
        n = snprintf(doc, sizeof(doc),
                     "{'apiVersion':'stoker.dev/v1alpha1','kind':'EC2NodeClass',"
                     "'metadata':{'name':'default'},'spec':{'amiSelectorTerms':"
                     "[{'alias':'al2023@v20240807'}],'subnetSelectorTerms':[{'id':'subnet-1'}],"
                     "'securityGroupSelectorTerms':[{'id':'sg-1'}],'role':'r'%s}}",
                     ncspec);
        CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(doc));
        DECODE(k8s_ec2nodeclass_decode, doc, &f->nc[i]);
        f->pools[i].nodeclass = &f->nc[i];
    }
    f->npools++;
    return i;
}

static size_t add_default_pool(struct fx *f)
{
    return add_pool(f, "default", NULL, NULL, NULL, NULL);
}

/* A DaemonSet whose pods request `requests`; extra: more template spec members. */
static void add_ds(struct fx *f, const char *name, const char *requests, const char *extra)
{
    char doc[DOC_MAX];
    CU_ASSERT_FATAL(f->nds < MAXOBJ);
    int n = snprintf(doc, sizeof(doc),
                     "{'kind':'DaemonSet','metadata':{'name':'%s','namespace':'kube-system'},"
                     "'spec':{'selector':{'matchLabels':{'ds':'%s'}},'template':{'metadata':"
                     "{'labels':{'ds':'%s'}},'spec':{'containers':[{'name':'c','resources':"
                     "{'requests':{%s}}}]%s}}}}",
                     name, name, name, requests, N(extra));
    CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(doc));
    DECODE(k8s_daemonset_decode, doc, &f->ds[f->nds]);
    f->dsp[f->nds] = &f->ds[f->nds];
    f->nds++;
}

/* An existing Node of pool "default" with the labels a launched node carries. */
static size_t add_node(struct fx *f, const char *name, const char *zone, const char *itype,
                       int64_t cpu_milli, int64_t mem_bytes, int unschedulable,
                       const char *taint_key)
{
    CU_ASSERT_FATAL(f->nnodes < MAXOBJ);
    size_t i = f->nnodes++;
    struct k8s_labels *l = &f->nlabels[i];
    CU_ASSERT_EQUAL_FATAL(k8s_labels_set(l, "kubernetes.io/hostname", name), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_labels_set(l, ZONE_KEY, zone), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_labels_set(l, "topology.kubernetes.io/region", "us-east-1"), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_labels_set(l, "node.kubernetes.io/instance-type", itype), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_labels_set(l, "kubernetes.io/arch", "amd64"), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_labels_set(l, "kubernetes.io/os", "linux"), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_labels_set(l, CT_KEY, "on-demand"), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_labels_set(l, "karpenter.sh/nodepool", "default"), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_res_set(&f->navail[i], "cpu", cpu_milli), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_res_set(&f->navail[i], "memory", mem_bytes * 1000), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_res_set(&f->navail[i], "pods", 50000), 0);
    struct launcher_sched_node *n = &f->nodes[i];
    n->name = name;
    n->nodepool = "default";
    n->labels = l;
    n->available = &f->navail[i];
    n->unschedulable = unschedulable;
    if (taint_key) {
        f->ntaint[i] = (struct k8s_taint){(char *)taint_key, NULL, K8S_EFFECT_NO_SCHEDULE};
        n->taints = &f->ntaint[i];
        n->ntaints = 1;
    }
    return i;
}

/* A pod already running on node `node`. */
static void add_bound(struct fx *f, const char *name, const char *node, const char *labels,
                      const char *extra)
{
    char doc[DOC_MAX];
    CU_ASSERT_FATAL(f->nbound < MAXOBJ);
    int n = snprintf(doc, sizeof(doc),
                     "{'metadata':{'name':'%s','namespace':'default','labels':{%s}},"
                     "'spec':{'nodeName':'%s','containers':[{'name':'c'}]%s}}",
                     name, N(labels), node, N(extra));
    CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(doc));
    DECODE(k8s_pod_decode, doc, &f->bpods[f->nbound]);
    f->bound[f->nbound] = (struct launcher_sched_bound){&f->bpods[f->nbound], node};
    f->nbound++;
}

static void add_pvc(struct fx *f, const char *doc)
{
    CU_ASSERT_FATAL(f->npvc < MAXOBJ);
    DECODE(k8s_pvc_decode, doc, &f->pvc[f->npvc]);
    f->pvcp[f->npvc] = &f->pvc[f->npvc];
    f->npvc++;
}

static void add_pv(struct fx *f, const char *doc)
{
    CU_ASSERT_FATAL(f->npv < MAXOBJ);
    DECODE(k8s_pv_decode, doc, &f->pv[f->npv]);
    f->pvp[f->npv] = &f->pv[f->npv];
    f->npv++;
}

static void add_sc(struct fx *f, const char *doc)
{
    CU_ASSERT_FATAL(f->nsc < MAXOBJ);
    DECODE(k8s_storage_class_decode, doc, &f->sc[f->nsc]);
    f->scp[f->nsc] = &f->sc[f->nsc];
    f->nsc++;
}

static void add_warm(struct fx *f, const char *id, const char *pool, const char *type,
                     const char *zone)
{
    CU_ASSERT_FATAL(f->nwarm < MAXOBJ);
    f->warm[f->nwarm++] =
        (struct launcher_warm){id, pool, type, zone, LAUNCHER_ON_DEMAND, NULL};
}

static void fill_input(const struct fx *f, struct launcher_sched_input *in, core_ns now)
{
    memset(in, 0, sizeof(*in));
    in->offerings = f->off;
    in->now = now;
    in->pods = f->podp;
    in->npods = f->npods;
    in->pools = f->pools;
    in->npools = f->npools;
    in->daemonsets = f->dsp;
    in->ndaemonsets = f->nds;
    in->nodes = f->nodes;
    in->nnodes = f->nnodes;
    in->bound = f->bound;
    in->nbound = f->nbound;
    in->warm = f->warm;
    in->nwarm = f->nwarm;
    in->pvcs = f->pvcp;
    in->npvcs = f->npvc;
    in->pvs = f->pvp;
    in->npvs = f->npv;
    in->storage_classes = f->scp;
    in->nstorage_classes = f->nsc;
    in->max_types = f->max_types;
}

/* ---- checks ---------------------------------------------------------------------------------- */

static struct launcher_plan *schedule_at(struct fx *f, core_ns now)
{
    struct launcher_sched_input in;
    fill_input(f, &in, now);
    struct launcher_plan *p = NULL;
    struct core_err err;
    core_err_clear(&err);
    int rc = launcher_schedule(&in, &p, &err);
    if (rc != 0)
        fprintf(stderr, "launcher_schedule: %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    return p;
}

static int64_t pod_req(const struct k8s_pod *p, const char *name)
{
    return k8s_res_get(&p->spec.requests, name);
}

/* The invariants every plan keeps (see the file comment). check_max: also ntypes <= the
 * effective max_types. */
static void check_plan(const struct fx *f, const struct launcher_plan *p, int check_max)
{
    unsigned seen[MAXPODS] = {0};
    size_t maxt = f->max_types ? f->max_types : LAUNCHER_SCHED_MAX_TYPES_DEFAULT;
    for (size_t ci = 0; ci < p->nclaims; ci++) {
        const struct launcher_claim *c = &p->claims[ci];
        CU_ASSERT(c->npods >= 1);
        CU_ASSERT(c->ntypes >= 1);
        CU_ASSERT_FATAL(c->pool < f->npools);
        if (check_max)
            CU_ASSERT(c->ntypes <= maxt);
        int64_t cpu = 0, mem = 0, eph = 0;
        for (size_t k = 0; k < c->npods; k++) {
            CU_ASSERT_FATAL(c->pods[k] < f->npods);
            seen[c->pods[k]]++;
            CU_ASSERT_EQUAL(p->claim_of[c->pods[k]], (long)ci);
            const struct k8s_pod *pod = f->podp[c->pods[k]];
            cpu += pod_req(pod, "cpu");
            mem += pod_req(pod, "memory") / 1000;
            eph += pod_req(pod, "ephemeral-storage") / 1000;
        }
        /* Requests: the pods plus the DaemonSet overhead the test declared. */
        CU_ASSERT(k8s_res_get(&c->requests, "cpu") >= cpu + f->ds_cpu);
        CU_ASSERT(k8s_res_get(&c->requests, "memory") / 1000 >= mem + f->ds_mem);
        const struct k8s_ec2nodeclass *nc = f->pools[c->pool].nodeclass;
        struct launcher_alloc_opts ao = {0};
        for (size_t b = 0; nc && b < nc->nblock_devices; b++)
            if (nc->block_devices[b].root_volume)
                ao.root_volume_bytes = nc->block_devices[b].ebs.volume_size;
        if (nc && nc->kubelet.has_max_pods)
            ao.max_pods = (int32_t)nc->kubelet.max_pods;
        if (nc && nc->kubelet.has_pods_per_core)
            ao.pods_per_core = (int32_t)nc->kubelet.pods_per_core;
        for (size_t t = 0; t < c->ntypes; t++) {
            if (t > 0)
                CU_ASSERT(c->prices[t - 1] <= c->prices[t]);
            CU_ASSERT(c->prices[t] > 0);
            struct launcher_alloc a;
            CU_ASSERT_EQUAL_FATAL(launcher_allocatable(c->types[t], &ao, &a), 0);
            int ok = a.cpu_milli - f->ds_cpu >= cpu && a.memory_bytes - f->ds_mem >= mem &&
                     (int64_t)a.pods - (f->nds ? 1 : 0) >= (int64_t)c->npods &&
                     a.ephemeral_bytes >= eph;
            if (!ok)
                fprintf(stderr, "claim %zu: %s does not hold its %zu pods (cpu %lld mem %lld)\n",
                        ci, c->types[t]->name, c->npods, (long long)cpu, (long long)mem);
            CU_ASSERT(ok);
        }
    }
    for (size_t i = 0; i < p->nplacements; i++) {
        CU_ASSERT_FATAL(p->placements[i].pod < f->npods);
        CU_ASSERT(p->placements[i].node < f->nnodes);
        seen[p->placements[i].pod]++;
        CU_ASSERT_EQUAL(p->claim_of[p->placements[i].pod], -1);
    }
    for (size_t i = 0; i < p->nunschedulable; i++) {
        CU_ASSERT_FATAL(p->unschedulable[i].pod < f->npods);
        seen[p->unschedulable[i].pod]++;
        CU_ASSERT_EQUAL(p->claim_of[p->unschedulable[i].pod], -1);
        CU_ASSERT_PTR_NOT_NULL(p->unschedulable[i].reason);
        CU_ASSERT(p->unschedulable[i].reason && p->unschedulable[i].reason[0]);
        CU_ASSERT(strlen(p->unschedulable[i].reason) < LAUNCHER_SCHED_REASON_MAX);
    }
    for (size_t i = 0; i < f->npods; i++) {
        if (seen[i] != 1)
            fprintf(stderr, "pod %zu accounted %u times\n", i, seen[i]);
        CU_ASSERT_EQUAL(seen[i], 1);
    }
}

/* Schedules and checks the invariants; the plan stays in f->plan. */
static const struct launcher_plan *run(struct fx *f)
{
    launcher_plan_free(f->plan);
    f->plan = schedule_at(f, 0);
    check_plan(f, f->plan, 1);
    return f->plan;
}

/* Prints a plan (for failures). */
static void dump_plan(const char *what, const struct launcher_plan *p)
{
    fprintf(stderr, "%s: %zu claims, %zu placements, %zu unschedulable\n", what, p->nclaims,
            p->nplacements, p->nunschedulable);
    for (size_t ci = 0; ci < p->nclaims && ci < 5; ci++) {
        const struct launcher_claim *c = &p->claims[ci];
        fprintf(stderr, "  claim %zu: %zu pods, %zu types, first %s $%.4f, last %s, cpu %lldm\n",
                ci, c->npods, c->ntypes, c->types[0]->name, c->prices[0],
                c->types[c->ntypes - 1]->name, (long long)k8s_res_get(&c->requests, "cpu"));
    }
    for (size_t i = 0; i < p->nunschedulable && i < 3; i++)
        fprintf(stderr, "  pod %zu: %s\n", p->unschedulable[i].pod, p->unschedulable[i].reason);
}

static const char *reason_of(const struct launcher_plan *p, size_t pod)
{
    for (size_t i = 0; i < p->nunschedulable; i++)
        if (p->unschedulable[i].pod == pod)
            return p->unschedulable[i].reason;
    return NULL;
}

static int reason_has(const struct launcher_plan *p, size_t pod, const char *needle)
{
    const char *r = reason_of(p, pod);
    if (!r || !strstr(r, needle)) {
        fprintf(stderr, "pod %zu: reason \"%s\" lacks \"%s\"\n", pod, r ? r : "(placed)",
                needle);
        return 0;
    }
    return 1;
}

static const struct k8s_requirement *claim_req(const struct launcher_claim *c, const char *key)
{
    for (size_t i = 0; i < c->nrequirements; i++)
        if (c->requirements[i].key && strcmp(c->requirements[i].key, key) == 0)
            return &c->requirements[i];
    return NULL;
}

/* The single zone a claim's requirements pin, or NULL. */
static const char *claim_zone(const struct launcher_claim *c)
{
    const struct k8s_requirement *r = claim_req(c, ZONE_KEY);
    if (!r || r->op != K8S_OP_IN || r->values.n != 1)
        return NULL;
    return r->values.v[0];
}

static int zone_index(const char *z)
{
    for (int i = 0; z && i < 3; i++)
        if (strcmp(z, g_zones[i]) == 0)
            return i;
    return -1;
}

/* Pods per zone of the claims they landed on (pods whose claim pins no zone count nowhere). */
static void zone_counts(const struct launcher_plan *p, int counts[3])
{
    counts[0] = counts[1] = counts[2] = 0;
    for (size_t ci = 0; ci < p->nclaims; ci++) {
        int z = zone_index(claim_zone(&p->claims[ci]));
        if (z >= 0)
            counts[z] += (int)p->claims[ci].npods;
    }
}

static size_t placed_count(const struct launcher_plan *p)
{
    size_t n = p->nplacements;
    for (size_t ci = 0; ci < p->nclaims; ci++)
        n += p->claims[ci].npods;
    return n;
}

/* The well-known labels of a type as a label map (for checking with k8s matchers, which do
 * not share code with the scheduler's requirement algebra). */
static void type_labels(const struct launcher_itype *t, struct k8s_labels *out)
{
    for (int l = 0; l < LAUNCHER_L_COUNT; l++)
        if (t->labels[l])
            CU_ASSERT_EQUAL(k8s_labels_set(out, launcher_label_key((enum launcher_label)l),
                                           t->labels[l]), 0);
}

static int any_type(const struct launcher_plan *p, int (*pred)(const struct launcher_itype *))
{
    for (size_t ci = 0; ci < p->nclaims; ci++)
        for (size_t t = 0; t < p->claims[ci].ntypes; t++)
            if (pred(p->claims[ci].types[t]))
                return 1;
    return 0;
}

static int is_2vcpu(const struct launcher_itype *t)
{
    return t->vcpu == 2;
}

/* ---- JSON pieces ----------------------------------------------------------------------------- */

#define AFF(terms) \
    ",'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':" \
    "{'nodeSelectorTerms':[" terms "]}}}"
#define EXPR(key, op, vals) "{'key':'" key "','operator':'" op "','values':" vals "}"
#define EXPR0(key, op) "{'key':'" key "','operator':'" op "'}"
#define TERMX(exprs) "{'matchExpressions':[" exprs "]}"
#define KCPU "karpenter.k8s.aws/instance-cpu"
#define KCAT "karpenter.k8s.aws/instance-category"
#define KGPU "karpenter.k8s.aws/instance-gpu-count"

#define POOLREQ(exprs) ",'requirements':[" exprs "]"

/* ---- packing --------------------------------------------------------------------------------- */

static void test_plain_packing(void)
{
    struct fx *f = fx_new();
    add_default_pool(f);
    add_pods(f, 10, "web", "'app':'web'", "'cpu':'500m','memory':'512Mi'", NULL);
    add_pods(f, 3, "big", "'app':'big'", "'cpu':'3','memory':'6Gi'", NULL);
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT_EQUAL(p->nplacements, 0);
    CU_ASSERT(p->nclaims >= 1);
    CU_ASSERT_EQUAL(placed_count(p), 13);
    for (size_t ci = 0; ci < p->nclaims; ci++) {
        const struct launcher_claim *c = &p->claims[ci];
        /* The instance-type requirement lists exactly the types, in any order. */
        const struct k8s_requirement *it = claim_req(c, "node.kubernetes.io/instance-type");
        CU_ASSERT_PTR_NOT_NULL_FATAL(it);
        CU_ASSERT_EQUAL(it->op, K8S_OP_IN);
        CU_ASSERT_EQUAL(it->values.n, c->ntypes);
        for (size_t t = 0; t < c->ntypes; t++)
            CU_ASSERT(k8s_strings_contains(&it->values, c->types[t]->name));
        /* Prices are what the offerings say (on-demand only here). */
        for (size_t t = 0; t < c->ntypes; t++)
            CU_ASSERT_DOUBLE_EQUAL(c->prices[t], c->types[t]->od_price_usd_hr, 1e-9);
        CU_ASSERT_EQUAL(k8s_res_get(&c->requests, "pods"), (int64_t)c->npods * 1000);
    }
    /* 13 pods, 8 CPU in all: a handful of nodes, not one per pod. */
    CU_ASSERT(p->nclaims <= 4);
    fx_free(f);
}

static void test_max_types(void)
{
    static const size_t caps[] = {1, 5, 17};
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        struct fx *f = fx_new();
        add_default_pool(f);
        f->max_types = caps[i];
        add_pods(f, 4, "p", NULL, "'cpu':'1','memory':'1Gi'", NULL);
        const struct launcher_plan *p = run(f);
        CU_ASSERT(p->nclaims >= 1);
        for (size_t ci = 0; ci < p->nclaims; ci++)
            CU_ASSERT_EQUAL(p->claims[ci].ntypes, caps[i]); /* many types qualify */
        fx_free(f);
    }
    /* Default cap: 60. */
    struct fx *f = fx_new();
    add_default_pool(f);
    (void)add_pod(f, "p", NULL, "'cpu':'100m'", NULL);
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    CU_ASSERT_EQUAL(p->claims[0].ntypes, LAUNCHER_SCHED_MAX_TYPES_DEFAULT);
    fx_free(f);
}

/* Cost per pod of the best single type for identical pods of cpu/mem (bytes). */
static double best_per_pod(int64_t cpu_milli, int64_t mem,
                           int (*pred)(const struct launcher_itype *))
{
    double best = 1e30;
    for (size_t i = 0; i < launcher_catalog_count(g_cat); i++) {
        const struct launcher_itype *t = launcher_catalog_at(g_cat, i);
        struct launcher_alloc a;
        if (t->od_price_usd_hr <= 0 || !pred(t) || launcher_allocatable(t, NULL, &a) != 0)
            continue;
        int64_t k = a.cpu_milli / cpu_milli;
        if (a.memory_bytes / mem < k)
            k = a.memory_bytes / mem;
        if (a.pods < k)
            k = a.pods;
        if (k > 0 && t->od_price_usd_hr / (double)k < best)
            best = t->od_price_usd_hr / (double)k;
    }
    return best;
}

/* 200 identical pods: the first claim costs no more than 1.3x the best $/pod, and the plan
 * is a handful of nodes, not one per pod. */
static void growth_case(const char *what, const char *tspec, double best)
{
    struct fx *f = fx_new();
    add_pool(f, "default", NULL, tspec, NULL, NULL);
    add_pods(f, 200, "w", "'app':'w'", "'cpu':'1','memory':'1Gi'", NULL);
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT_FATAL(p->nclaims >= 1);
    const struct launcher_claim *c = &p->claims[0];
    double per = c->prices[0] / (double)c->npods;
    if (per > 1.3 * best)
        fprintf(stderr, "%s: first claim: %s at %.5f/pod vs best %.5f/pod\n", what,
                c->types[0]->name, per, best);
    CU_ASSERT(per <= 1.3 * best);
    CU_ASSERT(p->nclaims < 50);
    if (p->nclaims >= 50)
        dump_plan(what, p);
    fx_free(f);
}

static int is_m(const struct launcher_itype *t)
{
    return strcmp(t->category, "m") == 0;
}

static int not_burstable(const struct launcher_itype *t)
{
    return strcmp(t->category, "t") != 0;
}

/* With every category allowed, burstable types have the best price per full vCPU (t4g.small:
 * $0.0168 for 2 vCPUs), but a pod's CPU request on them is worth only their baseline once the
 * credits run out; the scheduler ranks them by their baseline when choosing what a NodeClaim
 * grows into (docs/scheduling.md), so the plan is a handful of large nodes, priced against the
 * best non-burstable $/pod, instead of 200 one-pod t4g.smalls. */
static void test_growth_slack(void)
{
    growth_case("growth, category m", POOLREQ(EXPR(KCAT, "In", "['m']")),
                best_per_pod(1000, GIB, is_m));
    growth_case("growth, any category", NULL, best_per_pod(1000, GIB, not_burstable));
}

/* ---- node selection -------------------------------------------------------------------------- */

struct sel_case {
    const char *name;
    const char *extra; /* pod spec members */
    int one_category;  /* every claim's types share a category */
};

static const struct sel_case sel_cases[] = {
    {"cpu In 4", AFF(TERMX(EXPR(KCPU, "In", "['4']"))), 0},
    {"category NotIn m c r t", AFF(TERMX(EXPR(KCAT, "NotIn", "['m','c','r','t']"))), 0},
    {"gpu-count Exists", AFF(TERMX(EXPR0(KGPU, "Exists"))), 0},
    {"gpu-count DoesNotExist", AFF(TERMX(EXPR0(KGPU, "DoesNotExist"))), 0},
    {"cpu Gt 15", AFF(TERMX(EXPR(KCPU, "Gt", "['15']"))), 0},
    {"cpu Lt 3", AFF(TERMX(EXPR(KCPU, "Lt", "['3']"))), 0},
    {"cpu Gt 3 Lt 9", AFF(TERMX(EXPR(KCPU, "Gt", "['3']") "," EXPR(KCPU, "Lt", "['9']"))), 0},
    {"nodeSelector arm64", ",'nodeSelector':{'kubernetes.io/arch':'arm64'}", 0},
    {"nodeSelector beta arch arm64", ",'nodeSelector':{'beta.kubernetes.io/arch':'arm64'}", 0},
    {"two terms", AFF(TERMX(EXPR(KCAT, "In", "['c']") "," EXPR(KCPU, "In", "['8']")) ","
                      TERMX(EXPR(KCAT, "In", "['r']") "," EXPR(KCPU, "In", "['8']"))), 1},
};

static void test_node_selection(void)
{
    for (size_t i = 0; i < sizeof(sel_cases) / sizeof(sel_cases[0]); i++) {
        const struct sel_case *sc = &sel_cases[i];
        struct fx *f = fx_new();
        add_default_pool(f);
        add_pods(f, 3, "p", NULL, "'cpu':'100m','memory':'128Mi'", sc->extra);
        const struct launcher_plan *p = run(f);
        if (p->nunschedulable)
            fprintf(stderr, "%s: %s\n", sc->name, p->unschedulable[0].reason);
        CU_ASSERT_EQUAL(p->nunschedulable, 0);
        CU_ASSERT(p->nclaims >= 1);
        const struct k8s_pod *pod = f->podp[0];
        for (size_t ci = 0; ci < p->nclaims; ci++) {
            const struct launcher_claim *c = &p->claims[ci];
            for (size_t t = 0; t < c->ntypes; t++) {
                struct k8s_labels l = {0};
                type_labels(c->types[t], &l);
                /* beta.kubernetes.io/arch is the same as kubernetes.io/arch. */
                CU_ASSERT_EQUAL(k8s_labels_set(&l, "beta.kubernetes.io/arch",
                                               c->types[t]->arch), 0);
                int ok = 1;
                if (pod->spec.affinity.node_required.nterms)
                    ok = k8s_node_selector_matches(&pod->spec.affinity.node_required, &l, NULL);
                for (size_t k = 0; k < pod->spec.node_selector.n; k++) {
                    const char *v = k8s_labels_get(&l, pod->spec.node_selector.v[k].key);
                    ok = ok && v && strcmp(v, pod->spec.node_selector.v[k].value) == 0;
                }
                if (!ok)
                    fprintf(stderr, "%s: type %s does not meet the pod's selection\n", sc->name,
                            c->types[t]->name);
                CU_ASSERT(ok);
                if (sc->one_category)
                    CU_ASSERT_STRING_EQUAL(c->types[t]->category, c->types[0]->category);
                k8s_labels_cleanup(&l);
            }
        }
        fx_free(f);
    }
}

static void test_custom_label(void)
{
    /* The pool does not define team: no node it launches would carry it. */
    struct fx *f = fx_new();
    add_default_pool(f);
    size_t a = add_pod(f, "a", NULL, "'cpu':'100m'", ",'nodeSelector':{'team':'ml'}");
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 1);
    CU_ASSERT(reason_has(p, a, "team"));
    fx_free(f);

    /* The template labels define it: schedulable, and the claim carries it. */
    f = fx_new();
    add_pool(f, "default", "'team':'ml'", NULL, NULL, NULL);
    a = add_pod(f, "a", NULL, "'cpu':'100m'", ",'nodeSelector':{'team':'ml'}");
    p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    const struct k8s_requirement *r = claim_req(&p->claims[0], "team");
    CU_ASSERT_PTR_NOT_NULL(r);
    CU_ASSERT(r && r->op == K8S_OP_IN && r->values.n == 1 &&
              strcmp(r->values.v[0], "ml") == 0);
    fx_free(f);

    /* A different value than the template's: unschedulable. */
    f = fx_new();
    add_pool(f, "default", "'team':'ml'", NULL, NULL, NULL);
    a = add_pod(f, "a", NULL, "'cpu':'100m'", ",'nodeSelector':{'team':'web'}");
    p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 1);
    CU_ASSERT(reason_has(p, a, "team"));
    fx_free(f);
}

/* ---- NodePools ------------------------------------------------------------------------------- */

static void test_pool_requirements(void)
{
    struct fx *f = fx_new();
    add_pool(f, "default", NULL, POOLREQ(EXPR(KCAT, "In", "['c']")), NULL, NULL);
    size_t a = add_pod(f, "a", NULL, "'cpu':'100m'", AFF(TERMX(EXPR(KCAT, "In", "['m']"))));
    size_t b = add_pod(f, "b", NULL, "'cpu':'100m'", NULL);
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 1);
    CU_ASSERT(reason_has(p, a, "In [m]"));
    CU_ASSERT(reason_has(p, a, "In [c]"));
    CU_ASSERT(reason_has(p, a, KCAT));
    /* The unconstrained pod gets category c only. */
    CU_ASSERT(p->claim_of[b] >= 0);
    for (size_t ci = 0; ci < p->nclaims; ci++)
        for (size_t t = 0; t < p->claims[ci].ntypes; t++)
            CU_ASSERT_STRING_EQUAL(p->claims[ci].types[t]->category, "c");
    fx_free(f);
}

static void test_pool_weight(void)
{
    /* By name "a-light" comes first; by weight "z-heavy" does. */
    struct fx *f = fx_new();
    add_pool(f, "a-light", NULL, POOLREQ(EXPR(KCAT, "In", "['c']")), ",'weight':10", NULL);
    size_t heavy =
        add_pool(f, "z-heavy", NULL, POOLREQ(EXPR(KCAT, "In", "['m']")), ",'weight':50", NULL);
    add_pods(f, 2, "p", NULL, "'cpu':'1'", NULL);
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT(p->nclaims >= 1);
    for (size_t ci = 0; ci < p->nclaims; ci++) {
        CU_ASSERT_EQUAL(p->claims[ci].pool, heavy);
        CU_ASSERT_STRING_EQUAL(p->claims[ci].types[0]->category, "m");
        const struct k8s_requirement *r = claim_req(&p->claims[ci], "karpenter.sh/nodepool");
        CU_ASSERT(r && r->op == K8S_OP_IN && r->values.n == 1 &&
                  strcmp(r->values.v[0], "z-heavy") == 0);
    }
    fx_free(f);

    /* The heavier pool cannot take the pod: the lighter one does. */
    f = fx_new();
    size_t light =
        add_pool(f, "a-light", NULL, POOLREQ(EXPR(KCAT, "In", "['c']")), ",'weight':10", NULL);
    add_pool(f, "z-heavy", NULL, POOLREQ(EXPR(KCAT, "In", "['m']")), ",'weight':50", NULL);
    (void)add_pod(f, "p", NULL, "'cpu':'1'", AFF(TERMX(EXPR(KCAT, "In", "['c']"))));
    p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    CU_ASSERT_EQUAL(p->claims[0].pool, light);
    fx_free(f);
}

static void test_capacity_type(void)
{
    /* Spot is offered, the pool says nothing: on-demand only, at on-demand prices. */
    struct fx *f = fx_new();
    f->off = g_off_spot;
    add_default_pool(f);
    (void)add_pod(f, "p", NULL, "'cpu':'1'", NULL);
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    const struct launcher_claim *c = &p->claims[0];
    const struct k8s_requirement *r = claim_req(c, CT_KEY);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->op, K8S_OP_IN);
    CU_ASSERT_EQUAL(r->values.n, 1);
    CU_ASSERT(k8s_strings_contains(&r->values, "on-demand"));
    CU_ASSERT_DOUBLE_EQUAL(c->prices[0], c->types[0]->od_price_usd_hr, 1e-9);
    fx_free(f);

    /* The pool allows spot: the claim does, and prices are spot prices. */
    f = fx_new();
    f->off = g_off_spot;
    add_pool(f, "default", NULL, POOLREQ(EXPR(CT_KEY, "In", "['spot','on-demand']")), NULL,
             NULL);
    (void)add_pod(f, "p", NULL, "'cpu':'1'", NULL);
    p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    c = &p->claims[0];
    r = claim_req(c, CT_KEY);
    CU_ASSERT(!r || (r->op == K8S_OP_IN && k8s_strings_contains(&r->values, "spot")));
    CU_ASSERT(c->prices[0] < c->types[0]->od_price_usd_hr * 0.71);
    fx_free(f);

    /* A pod that requires spot from a pool that says nothing: unschedulable. */
    f = fx_new();
    f->off = g_off_spot;
    add_default_pool(f);
    size_t a = add_pod(f, "p", NULL, "'cpu':'1'",
                       ",'nodeSelector':{'karpenter.sh/capacity-type':'spot'}");
    p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 1);
    CU_ASSERT(reason_has(p, a, CT_KEY));
    fx_free(f);
}

/* ---- taints ---------------------------------------------------------------------------------- */

#define TAINT(effect) ",'taints':[{'key':'dedicated','value':'db','effect':'" effect "'}]"
#define TOLERATE \
    ",'tolerations':[{'key':'dedicated','operator':'Equal','value':'db','effect':'NoSchedule'}]"

static void test_taints(void)
{
    struct fx *f = fx_new();
    add_pool(f, "default", NULL, TAINT("NoSchedule"), NULL, NULL);
    size_t a = add_pod(f, "a", NULL, "'cpu':'100m'", NULL);
    size_t b = add_pod(f, "b", NULL, "'cpu':'100m'", TOLERATE);
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 1);
    CU_ASSERT(reason_has(p, a, "dedicated"));
    CU_ASSERT(p->claim_of[b] >= 0);
    /* The untolerating pod must not share the tolerating pod's claim. */
    CU_ASSERT_EQUAL(p->claim_of[a], -1);
    fx_free(f);

    /* Startup taints are not the pod's business. */
    f = fx_new();
    add_pool(f, "default", NULL,
             ",'startupTaints':[{'key':'node.example.com/init','effect':'NoSchedule'}]", NULL,
             NULL);
    a = add_pod(f, "a", NULL, "'cpu':'100m'", NULL);
    p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT(p->claim_of[a] >= 0);
    CU_ASSERT_EQUAL(p->relaxed[a], 0);
    fx_free(f);

    /* PreferNoSchedule: placed after relaxation. */
    f = fx_new();
    add_pool(f, "default", NULL, TAINT("PreferNoSchedule"), NULL, NULL);
    a = add_pod(f, "a", NULL, "'cpu':'100m'", NULL);
    p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT(p->claim_of[a] >= 0);
    CU_ASSERT(p->relaxed[a] > 0);
    fx_free(f);

    /* PreferNoSchedule with an untainted pool as well: the untainted one, without relaxing. */
    f = fx_new();
    add_pool(f, "a-tainted", NULL, TAINT("PreferNoSchedule"), ",'weight':50", NULL);
    size_t clean = add_pool(f, "b-clean", NULL, NULL, NULL, NULL);
    a = add_pod(f, "a", NULL, "'cpu':'100m'", NULL);
    p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    CU_ASSERT_EQUAL(p->claims[0].pool, clean);
    CU_ASSERT_EQUAL(p->relaxed[a], 0);
    fx_free(f);
}

/* ---- resources ------------------------------------------------------------------------------- */

struct res_case {
    const char *name;
    const char *requests;
    const char *extra;
    const char *ncspec; /* NULL: no EC2NodeClass */
    int ok;
    const char *reason; /* substring when not ok */
    int min_vcpu;       /* when ok: every type has at least this many */
};

static const struct res_case res_cases[] = {
    {"init container too big", "'cpu':'100m'",
     ",'initContainers':[{'name':'i','resources':{'requests':{'cpu':'1000'}}}]", NULL, 0, "cpu", 0},
    {"init container fits bigger types", "'cpu':'100m'",
     ",'initContainers':[{'name':'i','resources':{'requests':{'cpu':'3'}}}]", NULL, 1, NULL, 4},
    {"overhead too big", "'cpu':'100m'", ",'overhead':{'cpu':'1000'}", NULL, 0, "cpu", 0},
    {"overhead counted", "'cpu':'1'", ",'overhead':{'cpu':'2'}", NULL, 1, NULL, 4},
    {"unknown extended resource", "'cpu':'100m','example.com/widget':'1'", NULL, NULL, 0,
     "example.com/widget", 0},
    {"ephemeral over the default root volume", "'cpu':'100m','ephemeral-storage':'18Gi'", NULL,
     NULL, 0, "ephemeral-storage", 0},
    {"ephemeral within the default root volume", "'cpu':'100m','ephemeral-storage':'16Gi'", NULL,
     NULL, 1, NULL, 0},
    {"ephemeral with a 200Gi root volume", "'cpu':'100m','ephemeral-storage':'18Gi'", NULL,
     ",'blockDeviceMappings':[{'deviceName':'/dev/xvda','rootVolume':true,"
     "'ebs':{'volumeSize':'200Gi','volumeType':'gp3'}}]",
     1, NULL, 0},
    {"memory beyond every type", "'cpu':'100m','memory':'100Ti'", NULL, NULL, 0, "memory", 0},
};

static void test_resources(void)
{
    for (size_t i = 0; i < sizeof(res_cases) / sizeof(res_cases[0]); i++) {
        const struct res_case *rc = &res_cases[i];
        struct fx *f = fx_new();
        add_pool(f, "default", NULL, NULL, NULL, rc->ncspec);
        size_t a = add_pod(f, "a", NULL, rc->requests, rc->extra);
        const struct launcher_plan *p = run(f);
        if (rc->ok) {
            if (p->nunschedulable)
                fprintf(stderr, "%s: %s\n", rc->name, p->unschedulable[0].reason);
            CU_ASSERT_EQUAL(p->nunschedulable, 0);
            CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
            for (size_t t = 0; t < p->claims[0].ntypes; t++)
                CU_ASSERT(p->claims[0].types[t]->vcpu >= rc->min_vcpu);
        } else {
            if (p->nunschedulable != 1)
                fprintf(stderr, "%s: expected unschedulable\n", rc->name);
            CU_ASSERT_EQUAL(p->nunschedulable, 1);
            CU_ASSERT(reason_has(p, a, rc->reason));
        }
        fx_free(f);
    }
}

static void test_gpu(void)
{
    struct fx *f = fx_new();
    add_default_pool(f);
    add_pods(f, 3, "g", NULL, "'cpu':'1','nvidia.com/gpu':'2'", NULL);
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT(p->nclaims >= 1);
    for (size_t ci = 0; ci < p->nclaims; ci++) {
        const struct launcher_claim *c = &p->claims[ci];
        CU_ASSERT_EQUAL(k8s_res_get(&c->requests, "nvidia.com/gpu"), (int64_t)c->npods * 2000);
        for (size_t t = 0; t < c->ntypes; t++) {
            CU_ASSERT_STRING_EQUAL(c->types[t]->gpu_manufacturer, "nvidia");
            CU_ASSERT(c->types[t]->gpu_count >= 2 * (int)c->npods);
        }
    }
    fx_free(f);
}

/* ---- DaemonSets ------------------------------------------------------------------------------ */

static void test_daemonset_overhead(void)
{
    /* Without a DaemonSet a 1.5-CPU pod fits 2-vCPU types (1930m allocatable). */
    struct fx *f = fx_new();
    add_default_pool(f);
    (void)add_pod(f, "a", NULL, "'cpu':'1500m','memory':'256Mi'", NULL);
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    CU_ASSERT(any_type(p, is_2vcpu));
    CU_ASSERT_EQUAL(k8s_res_get(&p->claims[0].requests, "cpu"), 1500);
    fx_free(f);

    /* A DaemonSet of 1 CPU: no 2-vCPU type holds both. */
    f = fx_new();
    add_default_pool(f);
    add_ds(f, "agent", "'cpu':'1','memory':'100Mi'", NULL);
    f->ds_cpu = 1000;
    f->ds_mem = 100 << 20;
    (void)add_pod(f, "a", NULL, "'cpu':'1500m','memory':'256Mi'", NULL);
    p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    CU_ASSERT(!any_type(p, is_2vcpu));
    CU_ASSERT_EQUAL(k8s_res_get(&p->claims[0].requests, "cpu"), 2500);
    fx_free(f);

    /* The DaemonSet does not tolerate the pool's taint: it adds nothing. */
    f = fx_new();
    add_pool(f, "default", NULL, TAINT("NoSchedule"), NULL, NULL);
    add_ds(f, "agent", "'cpu':'1'", NULL);
    (void)add_pod(f, "a", NULL, "'cpu':'1500m','memory':'256Mi'", TOLERATE);
    p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    CU_ASSERT(any_type(p, is_2vcpu));
    CU_ASSERT_EQUAL(k8s_res_get(&p->claims[0].requests, "cpu"), 1500);
    fx_free(f);

    /* A DaemonSet that selects arm64 only: amd64 types keep their room. */
    f = fx_new();
    add_default_pool(f);
    add_ds(f, "agent", "'cpu':'1'", ",'nodeSelector':{'kubernetes.io/arch':'arm64'}");
    (void)add_pod(f, "a", NULL, "'cpu':'1500m','memory':'256Mi'",
                  ",'nodeSelector':{'kubernetes.io/arch':'amd64'}");
    p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    CU_ASSERT(any_type(p, is_2vcpu));
    fx_free(f);
}

/* ---- topology spread ------------------------------------------------------------------------- */

#define SPREAD(key, skew, when, extra) \
    ",'topologySpreadConstraints':[{'maxSkew':" #skew ",'topologyKey':'" key "'," \
    "'whenUnsatisfiable':'" when "','labelSelector':{'matchLabels':{'app':'web'}}" extra "}]"

static void test_spread_zone(void)
{
    struct fx *f = fx_new();
    add_default_pool(f);
    add_pods(f, 6, "web", "'app':'web'", "'cpu':'500m'",
             SPREAD(ZONE_KEY, 1, "DoNotSchedule", ""));
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    int zc[3];
    zone_counts(p, zc);
    CU_ASSERT_EQUAL(zc[0], 2);
    CU_ASSERT_EQUAL(zc[1], 2);
    CU_ASSERT_EQUAL(zc[2], 2);
    fx_free(f);

    /* maxSkew 2 over 7 pods: no zone more than 2 above another. */
    f = fx_new();
    add_default_pool(f);
    add_pods(f, 7, "web", "'app':'web'", "'cpu':'500m'",
             SPREAD(ZONE_KEY, 2, "DoNotSchedule", ""));
    p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    zone_counts(p, zc);
    CU_ASSERT_EQUAL(zc[0] + zc[1] + zc[2], 7);
    for (int x = 0; x < 3; x++)
        for (int y = 0; y < 3; y++)
            CU_ASSERT(zc[x] - zc[y] <= 2);
    fx_free(f);
}

static void test_spread_hostname(void)
{
    struct fx *f = fx_new();
    add_default_pool(f);
    add_pods(f, 5, "web", "'app':'web'", "'cpu':'100m'",
             SPREAD("kubernetes.io/hostname", 1, "DoNotSchedule", ""));
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT_EQUAL(p->nclaims, 5);
    for (size_t ci = 0; ci < p->nclaims; ci++)
        CU_ASSERT_EQUAL(p->claims[ci].npods, 1);
    fx_free(f);
}

static void test_spread_anyway(void)
{
    /* Pinned to one zone, spread over all three (node affinity ignored for domains): the
     * spread cannot hold for a second pod. DoNotSchedule refuses it... */
    const char *pin = ",'nodeSelector':{'topology.kubernetes.io/zone':'us-east-1a'}";
    char extra[1024];
    snprintf(extra, sizeof(extra), "%s%s", pin,
             SPREAD(ZONE_KEY, 1, "DoNotSchedule", ",'nodeAffinityPolicy':'Ignore'"));
    struct fx *f = fx_new();
    add_default_pool(f);
    add_pods(f, 3, "web", "'app':'web'", "'cpu':'100m'", extra);
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(placed_count(p), 1);
    CU_ASSERT_EQUAL(p->nunschedulable, 2);
    for (size_t i = 0; i < p->nunschedulable; i++)
        CU_ASSERT(strstr(p->unschedulable[i].reason, "spread") != NULL);
    fx_free(f);

    /* ... ScheduleAnyway places them all, with a relaxation. */
    snprintf(extra, sizeof(extra), "%s%s", pin,
             SPREAD(ZONE_KEY, 1, "ScheduleAnyway", ",'nodeAffinityPolicy':'Ignore'"));
    f = fx_new();
    add_default_pool(f);
    add_pods(f, 3, "web", "'app':'web'", "'cpu':'100m'", extra);
    p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    unsigned relaxed = 0;
    for (size_t i = 0; i < f->npods; i++)
        relaxed += p->relaxed[i] > 0;
    CU_ASSERT(relaxed >= 2);
    for (size_t ci = 0; ci < p->nclaims; ci++) {
        const struct k8s_requirement *r = claim_req(&p->claims[ci], ZONE_KEY);
        CU_ASSERT(r && r->values.n == 1 && strcmp(r->values.v[0], "us-east-1a") == 0);
    }
    fx_free(f);
}

static void test_spread_min_domains(void)
{
    /* The pool has two zones; minDomains 3 makes the global minimum 0, so each zone takes
     * at most maxSkew (1) pod. */
    const char *zones_ab = POOLREQ(EXPR(ZONE_KEY, "In", "['us-east-1a','us-east-1b']"));
    struct fx *f = fx_new();
    add_pool(f, "default", NULL, zones_ab, NULL, NULL);
    add_pods(f, 4, "web", "'app':'web'", "'cpu':'100m'",
             SPREAD(ZONE_KEY, 1, "DoNotSchedule", ",'minDomains':3"));
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(placed_count(p), 2);
    CU_ASSERT_EQUAL(p->nunschedulable, 2);
    int zc[3];
    zone_counts(p, zc);
    CU_ASSERT_EQUAL(zc[0], 1);
    CU_ASSERT_EQUAL(zc[1], 1);
    CU_ASSERT_EQUAL(zc[2], 0);
    fx_free(f);

    /* Without minDomains: 2 and 2. */
    f = fx_new();
    add_pool(f, "default", NULL, zones_ab, NULL, NULL);
    add_pods(f, 4, "web", "'app':'web'", "'cpu':'100m'",
             SPREAD(ZONE_KEY, 1, "DoNotSchedule", ""));
    p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    zone_counts(p, zc);
    CU_ASSERT_EQUAL(zc[0], 2);
    CU_ASSERT_EQUAL(zc[1], 2);
    fx_free(f);
}

/* ---- pod (anti-)affinity --------------------------------------------------------------------- */

#define PODTERM(app, key) \
    "{'labelSelector':{'matchLabels':{'app':'" app "'}},'topologyKey':'" key "'}"
#define PODAFF(kind, terms) \
    "'" kind "':{'requiredDuringSchedulingIgnoredDuringExecution':[" terms "]}"
#define ANTI_HOST(app) \
    ",'affinity':{" PODAFF("podAntiAffinity", PODTERM(app, "kubernetes.io/hostname")) "}"

static void test_pod_affinity(void)
{
    /* Self-affinity on zone plus anti-affinity on hostname: separate nodes, one zone. */
    struct fx *f = fx_new();
    add_default_pool(f);
    add_pods(f, 3, "db", "'app':'db'", "'cpu':'100m'",
             ",'affinity':{" PODAFF("podAffinity", PODTERM("db", ZONE_KEY)) ","
             PODAFF("podAntiAffinity", PODTERM("db", "kubernetes.io/hostname")) "}");
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 3);
    const char *z0 = claim_zone(&p->claims[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(z0);
    for (size_t ci = 1; ci < p->nclaims; ci++) {
        const char *z = claim_zone(&p->claims[ci]);
        CU_ASSERT(z && strcmp(z, z0) == 0);
    }
    fx_free(f);

    /* Affinity to pods that exist nowhere (and not to itself): unschedulable. */
    f = fx_new();
    add_default_pool(f);
    size_t a = add_pod(f, "a", "'app':'x'", "'cpu':'100m'",
                       ",'affinity':{" PODAFF("podAffinity", PODTERM("cache", ZONE_KEY)) "}");
    p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 1);
    CU_ASSERT(reason_has(p, a, "affinity"));
    fx_free(f);
}

static void test_pod_anti_affinity(void)
{
    struct fx *f = fx_new();
    add_default_pool(f);
    add_pods(f, 4, "db", "'app':'db'", "'cpu':'100m'",
             ANTI_HOST("db"));
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT_EQUAL(p->nclaims, 4);
    for (size_t ci = 0; ci < p->nclaims; ci++)
        CU_ASSERT_EQUAL(p->claims[ci].npods, 1);
    fx_free(f);

    /* On zone: three zones hold three pods; the fourth has nowhere to go. */
    f = fx_new();
    add_default_pool(f);
    add_pods(f, 4, "db", "'app':'db'", "'cpu':'100m'",
             ",'affinity':{" PODAFF("podAntiAffinity", PODTERM("db", ZONE_KEY)) "}");
    p = run(f);
    CU_ASSERT_EQUAL(placed_count(p), 3);
    CU_ASSERT_EQUAL(p->nunschedulable, 1);
    int zc[3];
    zone_counts(p, zc);
    CU_ASSERT_EQUAL(zc[0], 1);
    CU_ASSERT_EQUAL(zc[1], 1);
    CU_ASSERT_EQUAL(zc[2], 1);
    fx_free(f);
}

static void test_symmetric_anti_affinity(void)
{
    /* Sanity: the node takes an app=x pod when nothing objects. */
    struct fx *f = fx_new();
    add_default_pool(f);
    add_node(f, "n1", "us-east-1a", "m5.xlarge", 3000, 8 * GIB, 0, NULL);
    add_bound(f, "guard", "n1", "'app':'guard'", NULL);
    size_t a = add_pod(f, "a", "'app':'x'", "'cpu':'500m'", NULL);
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nplacements, 1);
    CU_ASSERT_EQUAL(p->placements[0].pod, a);
    CU_ASSERT_EQUAL(p->nclaims, 0);
    fx_free(f);

    /* The bound pod's anti-affinity against app=x keeps the pending pod off n1. */
    f = fx_new();
    add_default_pool(f);
    add_node(f, "n1", "us-east-1a", "m5.xlarge", 3000, 8 * GIB, 0, NULL);
    add_bound(f, "guard", "n1", "'app':'guard'",
              ANTI_HOST("x"));
    a = add_pod(f, "a", "'app':'x'", "'cpu':'500m'", NULL);
    size_t b = add_pod(f, "b", "'app':'y'", "'cpu':'500m'", NULL);
    p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT(p->claim_of[a] >= 0);
    /* app=y is not affected: it goes on n1. */
    CU_ASSERT_EQUAL(p->claim_of[b], -1);
    CU_ASSERT_EQUAL_FATAL(p->nplacements, 1);
    CU_ASSERT_EQUAL(p->placements[0].pod, b);
    fx_free(f);

    /* On zone: the pending pod avoids the bound pod's whole zone. */
    f = fx_new();
    add_default_pool(f);
    add_node(f, "n1", "us-east-1a", "m5.xlarge", 3000, 8 * GIB, 0, NULL);
    add_bound(f, "guard", "n1", "'app':'guard'",
              ",'affinity':{" PODAFF("podAntiAffinity", PODTERM("x", ZONE_KEY)) "}");
    a = add_pod(f, "a", "'app':'x'", "'cpu':'500m'", NULL);
    p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    const struct k8s_requirement *r = claim_req(&p->claims[0], ZONE_KEY);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT(!(r->op == K8S_OP_IN && k8s_strings_contains(&r->values, "us-east-1a")));
    CU_ASSERT(!(r->op == K8S_OP_NOT_IN && !k8s_strings_contains(&r->values, "us-east-1a")));
    fx_free(f);
}

/* ---- existing capacity ----------------------------------------------------------------------- */

static void test_existing_nodes(void)
{
    /* Room: placed there. */
    struct fx *f = fx_new();
    add_default_pool(f);
    add_node(f, "n0", "us-east-1a", "m5.large", 100, GIB, 0, NULL); /* too small */
    add_node(f, "n1", "us-east-1a", "m5.xlarge", 3000, 8 * GIB, 0, NULL);
    size_t a = add_pod(f, "a", NULL, "'cpu':'1','memory':'1Gi'", NULL);
    size_t b = add_pod(f, "b", NULL, "'cpu':'1','memory':'1Gi'", NULL);
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nclaims, 0);
    CU_ASSERT_EQUAL_FATAL(p->nplacements, 2);
    for (size_t i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(p->placements[i].node, 1);
        CU_ASSERT(p->placements[i].pod == a || p->placements[i].pod == b);
    }
    fx_free(f);

    /* Room for two of three 1-CPU pods: the third gets a claim. */
    f = fx_new();
    add_default_pool(f);
    add_node(f, "n1", "us-east-1a", "m5.xlarge", 2500, 8 * GIB, 0, NULL);
    add_pods(f, 3, "p", NULL, "'cpu':'1','memory':'1Gi'", NULL);
    p = run(f);
    CU_ASSERT_EQUAL(p->nplacements, 2);
    CU_ASSERT_EQUAL(p->nclaims, 1);
    fx_free(f);

    /* Cordoned: not used. */
    f = fx_new();
    add_default_pool(f);
    add_node(f, "n1", "us-east-1a", "m5.xlarge", 3000, 8 * GIB, 1, NULL);
    a = add_pod(f, "a", NULL, "'cpu':'1','memory':'1Gi'", NULL);
    p = run(f);
    CU_ASSERT_EQUAL(p->nplacements, 0);
    CU_ASSERT_EQUAL(p->nclaims, 1);
    fx_free(f);

    /* Tainted: used only by a pod that tolerates it. */
    f = fx_new();
    add_default_pool(f);
    add_node(f, "n1", "us-east-1a", "m5.xlarge", 3000, 8 * GIB, 0, "dedicated");
    a = add_pod(f, "a", NULL, "'cpu':'1','memory':'1Gi'", NULL);
    b = add_pod(f, "b", NULL, "'cpu':'1','memory':'1Gi'",
                ",'tolerations':[{'key':'dedicated','operator':'Exists'}]");
    p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nplacements, 1);
    CU_ASSERT_EQUAL(p->placements[0].pod, b);
    CU_ASSERT(p->claim_of[a] >= 0);
    fx_free(f);

    /* Its labels do not meet the pod's selector: not used. */
    f = fx_new();
    add_default_pool(f);
    add_node(f, "n1", "us-east-1a", "m5.xlarge", 3000, 8 * GIB, 0, NULL);
    a = add_pod(f, "a", NULL, "'cpu':'1','memory':'1Gi'",
                ",'nodeSelector':{'topology.kubernetes.io/zone':'us-east-1b'}");
    p = run(f);
    CU_ASSERT_EQUAL(p->nplacements, 0);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    CU_ASSERT(claim_zone(&p->claims[0]) && strcmp(claim_zone(&p->claims[0]), "us-east-1b") == 0);
    fx_free(f);
}

static void test_bound_topology_counts(void)
{
    /* Two app=web pods already run in us-east-1a on a full node: new ones go to b and c. */
    struct fx *f = fx_new();
    add_default_pool(f);
    add_node(f, "n1", "us-east-1a", "m5.xlarge", 0, 0, 0, NULL);
    add_bound(f, "old-0", "n1", "'app':'web'", NULL);
    add_bound(f, "old-1", "n1", "'app':'web'", NULL);
    add_pods(f, 4, "web", "'app':'web'", "'cpu':'500m'",
             SPREAD(ZONE_KEY, 1, "DoNotSchedule", ""));
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT_EQUAL(p->nplacements, 0);
    int zc[3];
    zone_counts(p, zc);
    CU_ASSERT_EQUAL(zc[0], 0);
    CU_ASSERT_EQUAL(zc[1], 2);
    CU_ASSERT_EQUAL(zc[2], 2);
    fx_free(f);

    /* A bound pod on a node the input does not know is ignored: 2/1/1 after 4 pods... */
    f = fx_new();
    add_default_pool(f);
    add_bound(f, "old-0", "ghost", "'app':'web'", NULL);
    add_bound(f, "old-1", "ghost", "'app':'web'", NULL);
    add_pods(f, 3, "web", "'app':'web'", "'cpu':'500m'",
             SPREAD(ZONE_KEY, 1, "DoNotSchedule", ""));
    p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    zone_counts(p, zc);
    CU_ASSERT_EQUAL(zc[0], 1);
    CU_ASSERT_EQUAL(zc[1], 1);
    CU_ASSERT_EQUAL(zc[2], 1);
    fx_free(f);
}

/* ---- volumes --------------------------------------------------------------------------------- */

#define PODVOL ",'volumes':[{'name':'v','persistentVolumeClaim':{'claimName':'data'}}]"

static void test_volume_topology(void)
{
    /* Bound PVC whose PV lives in us-east-1b (EBS CSI key). */
    struct fx *f = fx_new();
    add_default_pool(f);
    add_pvc(f, "{'metadata':{'name':'data','namespace':'default','uid':'u1'},"
               "'spec':{'storageClassName':'gp3','volumeName':'pv-b'},'status':{'phase':'Bound'}}");
    add_pv(f, "{'metadata':{'name':'pv-b'},'spec':{'storageClassName':'gp3','claimRef':"
              "{'namespace':'default','name':'data','uid':'u1'},'nodeAffinity':{'required':"
              "{'nodeSelectorTerms':[{'matchExpressions':[{'key':'topology.ebs.csi.aws.com/zone',"
              "'operator':'In','values':['us-east-1b']}]}]}}}}");
    size_t a = add_pod(f, "a", NULL, "'cpu':'100m'", PODVOL);
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    CU_ASSERT(p->claim_of[a] == 0);
    const char *z = claim_zone(&p->claims[0]);
    CU_ASSERT(z && strcmp(z, "us-east-1b") == 0);
    fx_free(f);

    /* Unbound, WaitForFirstConsumer with allowedTopologies a and c. */
    f = fx_new();
    add_default_pool(f);
    add_sc(f, "{'metadata':{'name':'wffc'},'provisioner':'ebs.csi.aws.com',"
              "'volumeBindingMode':'WaitForFirstConsumer','allowedTopologies':"
              "[{'matchLabelExpressions':[{'key':'topology.ebs.csi.aws.com/zone',"
              "'values':['us-east-1a','us-east-1c']}]}]}");
    add_pvc(f, "{'metadata':{'name':'data','namespace':'default'},"
               "'spec':{'storageClassName':'wffc'}}");
    a = add_pod(f, "a", NULL, "'cpu':'100m'", PODVOL);
    p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    const struct k8s_requirement *r = claim_req(&p->claims[0], ZONE_KEY);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->op, K8S_OP_IN);
    CU_ASSERT_EQUAL(r->values.n, 2);
    CU_ASSERT(k8s_strings_contains(&r->values, "us-east-1a"));
    CU_ASSERT(k8s_strings_contains(&r->values, "us-east-1c"));
    fx_free(f);

    /* Unbound with an Immediate class: unschedulable, saying so. */
    f = fx_new();
    add_default_pool(f);
    add_sc(f, "{'metadata':{'name':'imm'},'provisioner':'ebs.csi.aws.com',"
              "'volumeBindingMode':'Immediate'}");
    add_pvc(f, "{'metadata':{'name':'data','namespace':'default'},"
               "'spec':{'storageClassName':'imm'}}");
    a = add_pod(f, "a", NULL, "'cpu':'100m'", PODVOL);
    p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 1);
    CU_ASSERT(reason_has(p, a, "Immediately"));
    fx_free(f);

    /* PV in us-east-1b but the pool only has us-east-1a: unschedulable. */
    f = fx_new();
    add_pool(f, "default", NULL, POOLREQ(EXPR(ZONE_KEY, "In", "['us-east-1a']")), NULL, NULL);
    add_pvc(f, "{'metadata':{'name':'data','namespace':'default','uid':'u1'},"
               "'spec':{'storageClassName':'gp3','volumeName':'pv-b'},'status':{'phase':'Bound'}}");
    add_pv(f, "{'metadata':{'name':'pv-b'},'spec':{'storageClassName':'gp3','claimRef':"
              "{'namespace':'default','name':'data','uid':'u1'},'nodeAffinity':{'required':"
              "{'nodeSelectorTerms':[{'matchExpressions':[{'key':'topology.kubernetes.io/zone',"
              "'operator':'In','values':['us-east-1b']}]}]}}}}");
    a = add_pod(f, "a", NULL, "'cpu':'100m'", PODVOL);
    p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 1);
    CU_ASSERT(reason_has(p, a, ZONE_KEY));
    fx_free(f);
}

/* ---- limits and minValues -------------------------------------------------------------------- */

static void test_limits(void)
{
    struct fx *f = fx_new();
    add_pool(f, "default", NULL, NULL, ",'limits':{'cpu':'10'}", NULL);
    add_pods(f, 20, "p", NULL, "'cpu':'1','memory':'512Mi'", NULL);
    const struct launcher_plan *p = run(f);
    CU_ASSERT(p->nclaims >= 1);
    CU_ASSERT(p->nunschedulable >= 1);
    int64_t vcpu = 0;
    for (size_t ci = 0; ci < p->nclaims; ci++) {
        int32_t m = 0;
        for (size_t t = 0; t < p->claims[ci].ntypes; t++)
            if (p->claims[ci].types[t]->vcpu > m)
                m = p->claims[ci].types[t]->vcpu;
        vcpu += m;
    }
    if (vcpu > 10)
        fprintf(stderr, "limits: claims may launch %lld vCPU\n", (long long)vcpu);
    CU_ASSERT(vcpu <= 10);
    for (size_t i = 0; i < p->nunschedulable; i++)
        CU_ASSERT(strstr(p->unschedulable[i].reason, "limit") != NULL);
    /* The limit is used up: a 1-CPU pod needs a 2-vCPU type, so less than 2 vCPU may be left. */
    CU_ASSERT(vcpu >= 9);
    CU_ASSERT(placed_count(p) >= 5);
    fx_free(f);

    /* Usage counts: 8 of 10 CPUs used already leaves room for one 2-vCPU node at most. */
    f = fx_new();
    add_pool(f, "default", NULL, NULL, ",'limits':{'cpu':'10'}", NULL);
    struct k8s_res_list used = {0};
    CU_ASSERT_EQUAL_FATAL(k8s_res_set(&used, "cpu", 8000), 0);
    f->pools[0].used = &used;
    add_pods(f, 4, "p", NULL, "'cpu':'1','memory':'512Mi'", NULL);
    p = run(f);
    CU_ASSERT_EQUAL(p->nclaims, 1);
    for (size_t ci = 0; ci < p->nclaims; ci++)
        for (size_t t = 0; t < p->claims[ci].ntypes; t++)
            CU_ASSERT(p->claims[ci].types[t]->vcpu <= 2);
    fx_free(f);
    k8s_res_cleanup(&used);

    /* Nodes limit 2 with one pod per node: two claims. */
    f = fx_new();
    add_pool(f, "default", NULL, NULL, ",'limits':{'nodes':'2'}", NULL);
    add_pods(f, 5, "db", "'app':'db'", "'cpu':'100m'",
             ANTI_HOST("db"));
    p = run(f);
    CU_ASSERT_EQUAL(p->nclaims, 2);
    CU_ASSERT_EQUAL(p->nunschedulable, 3);
    for (size_t i = 0; i < p->nunschedulable; i++)
        CU_ASSERT(strstr(p->unschedulable[i].reason, "limit") != NULL);
    fx_free(f);
}

static size_t distinct_families(const struct launcher_claim *c)
{
    size_t n = 0;
    for (size_t t = 0; t < c->ntypes; t++) {
        size_t k = 0;
        while (k < t && strcmp(c->types[k]->family, c->types[t]->family) != 0)
            k++;
        n += k == t;
    }
    return n;
}

static void test_min_values(void)
{
    static const size_t caps[] = {0, 2};
    for (size_t i = 0; i < 2; i++) {
        struct fx *f = fx_new();
        f->max_types = caps[i];
        add_pool(f, "default", NULL,
                 ",'requirements':[{'key':'karpenter.k8s.aws/instance-family','operator':"
                 "'Exists','minValues':3}]",
                 NULL, NULL);
        add_pods(f, 10, "p", NULL, "'cpu':'1','memory':'1Gi'", NULL);
        launcher_plan_free(f->plan);
        f->plan = schedule_at(f, 0);
        check_plan(f, f->plan, 0); /* minValues may take the list past max_types */
        const struct launcher_plan *p = f->plan;
        CU_ASSERT_EQUAL(p->nunschedulable, 0);
        CU_ASSERT(p->nclaims >= 1);
        for (size_t ci = 0; ci < p->nclaims; ci++) {
            size_t fam = distinct_families(&p->claims[ci]);
            if (fam < 3)
                fprintf(stderr, "minValues (max_types %zu): claim %zu has %zu families\n", caps[i],
                        ci, fam);
            CU_ASSERT(fam >= 3);
        }
        fx_free(f);
    }
}

/* ---- capacity errors ------------------------------------------------------------------------- */

static void test_ice(void)
{
    struct launcher_offerings *off = NULL;
    CU_ASSERT_EQUAL_FATAL(launcher_offerings_default(g_cat, "us-east-1", g_zones, 3, 0, &off,
                                                     NULL), 0);
    struct fx *f = fx_new();
    f->off = off;
    add_default_pool(f);
    (void)add_pod(f, "a", NULL, "'cpu':'1','memory':'1Gi'", NULL);
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    const struct launcher_itype *cheapest = p->claims[0].types[0];
    core_ns now = 1000 * CORE_NS_PER_S;
    for (size_t z = 0; z < 3; z++)
        CU_ASSERT_EQUAL(launcher_offerings_mark_unavailable(off, LAUNCHER_ON_DEMAND,
                                                            cheapest->name, g_zones[z], now, 0),
                        0);
    launcher_plan_free(f->plan);
    f->plan = schedule_at(f, now);
    check_plan(f, f->plan, 1);
    p = f->plan;
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    for (size_t t = 0; t < p->claims[0].ntypes; t++)
        CU_ASSERT_PTR_NOT_EQUAL(p->claims[0].types[t], cheapest);
    /* After the TTL it is back, first. */
    launcher_plan_free(f->plan);
    f->plan = schedule_at(f, now + LAUNCHER_ICE_TTL_DEFAULT + 1);
    p = f->plan;
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    CU_ASSERT_PTR_EQUAL(p->claims[0].types[0], cheapest);

    /* Unavailable in two zones only: still listed, and the claim keeps to the third zone or
     * leaves the zone open (never pins it to a zone without capacity). */
    for (size_t z = 0; z < 2; z++)
        CU_ASSERT_EQUAL(launcher_offerings_mark_unavailable(off, LAUNCHER_ON_DEMAND,
                                                            cheapest->name, g_zones[z], now, 0),
                        0);
    launcher_plan_free(f->plan);
    f->plan = schedule_at(f, now);
    p = f->plan;
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    const char *z = claim_zone(&p->claims[0]);
    CU_ASSERT(!z || strcmp(z, "us-east-1c") == 0 || p->claims[0].types[0] != cheapest);
    fx_free(f);
    launcher_offerings_free(off);
}

/* ---- warm instances -------------------------------------------------------------------------- */

static void test_warm(void)
{
    /* A pod that fits takes the warm instance. */
    struct fx *f = fx_new();
    add_default_pool(f);
    add_warm(f, "i-0123456789abcdef0", "default", "m5.xlarge", "us-east-1a");
    (void)add_pod(f, "a", NULL, "'cpu':'1','memory':'1Gi'", NULL);
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    CU_ASSERT_PTR_NOT_NULL(p->claims[0].warm_id);
    CU_ASSERT(p->claims[0].warm_id && strcmp(p->claims[0].warm_id, "i-0123456789abcdef0") == 0);
    CU_ASSERT_EQUAL(p->claims[0].ntypes, 1);
    CU_ASSERT_STRING_EQUAL(p->claims[0].types[0]->name, "m5.xlarge");
    const char *z = claim_zone(&p->claims[0]);
    CU_ASSERT(z && strcmp(z, "us-east-1a") == 0);
    fx_free(f);

    /* Two pods needing two nodes, one warm instance: paired once. */
    f = fx_new();
    add_default_pool(f);
    add_warm(f, "i-1", "default", "m5.xlarge", "us-east-1a");
    add_pods(f, 2, "p", NULL, "'cpu':'3','memory':'4Gi'", NULL);
    p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 2);
    size_t warm = 0;
    for (size_t ci = 0; ci < p->nclaims; ci++)
        warm += p->claims[ci].warm_id != NULL;
    CU_ASSERT_EQUAL(warm, 1);
    fx_free(f);

    /* A warm instance of another pool is not used. */
    f = fx_new();
    add_default_pool(f);
    add_warm(f, "i-1", "other", "m5.xlarge", "us-east-1a");
    (void)add_pod(f, "a", NULL, "'cpu':'1','memory':'1Gi'", NULL);
    p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    CU_ASSERT_PTR_NULL(p->claims[0].warm_id);
    fx_free(f);

    /* Too big for the warm type: a cold claim. */
    f = fx_new();
    add_default_pool(f);
    add_warm(f, "i-1", "default", "m5.xlarge", "us-east-1a");
    (void)add_pod(f, "a", NULL, "'cpu':'8','memory':'1Gi'", NULL);
    p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    CU_ASSERT_PTR_NULL(p->claims[0].warm_id);
    for (size_t t = 0; t < p->claims[0].ntypes; t++)
        CU_ASSERT(p->claims[0].types[t]->vcpu > 8);
    fx_free(f);

    /* The pod requires another zone than the warm instance's: cold. */
    f = fx_new();
    add_default_pool(f);
    add_warm(f, "i-1", "default", "m5.xlarge", "us-east-1a");
    (void)add_pod(f, "a", NULL, "'cpu':'1'",
                  ",'nodeSelector':{'topology.kubernetes.io/zone':'us-east-1b'}");
    p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    CU_ASSERT_PTR_NULL(p->claims[0].warm_id);
    fx_free(f);

    /* A warm instance of a type the catalog does not know: CORE_E_INVAL. */
    f = fx_new();
    add_default_pool(f);
    add_warm(f, "i-1", "default", "m99.huge", "us-east-1a");
    (void)add_pod(f, "a", NULL, "'cpu':'1'", NULL);
    struct launcher_sched_input in;
    fill_input(f, &in, 0);
    struct launcher_plan *bad = NULL;
    CU_ASSERT_EQUAL(launcher_schedule(&in, &bad, NULL), CORE_E_INVAL);
    CU_ASSERT_PTR_NULL(bad);
    fx_free(f);
}


/* ---- preferences and capacity that exists in other shapes ------------------------------------ */

#define PREF(weight, exprs) \
    ",'affinity':{'nodeAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':" \
    "[{'weight':" #weight ",'preference':{'matchExpressions':[" exprs "]}}]}}"

static void test_preferred_node_affinity(void)
{
    /* Satisfiable: honoured, nothing relaxed. */
    struct fx *f = fx_new();
    add_default_pool(f);
    size_t a = add_pod(f, "a", NULL, "'cpu':'100m'",
                       PREF(10, EXPR(ZONE_KEY, "In", "['us-east-1b']")));
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    CU_ASSERT(claim_zone(&p->claims[0]) && strcmp(claim_zone(&p->claims[0]), "us-east-1b") == 0);
    CU_ASSERT_EQUAL(p->relaxed[a], 0);
    fx_free(f);

    /* Unsatisfiable (no type has 3 vCPUs): dropped, the pod placed anyway. */
    f = fx_new();
    add_default_pool(f);
    a = add_pod(f, "a", NULL, "'cpu':'100m'", PREF(10, EXPR(KCPU, "In", "['3']")));
    p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT(p->claim_of[a] >= 0);
    CU_ASSERT(p->relaxed[a] >= 1);
    fx_free(f);
}

static void test_existing_by_name(void)
{
    /* kubernetes.io/hostname In [n1]: only the existing node can serve it. */
    struct fx *f = fx_new();
    add_default_pool(f);
    add_node(f, "n0", "us-east-1a", "m5.xlarge", 3000, 8 * GIB, 0, NULL);
    add_node(f, "n1", "us-east-1b", "m5.xlarge", 3000, 8 * GIB, 0, NULL);
    size_t a = add_pod(f, "a", NULL, "'cpu':'1'",
                       AFF(TERMX(EXPR("kubernetes.io/hostname", "In", "['n1']"))));
    size_t b = add_pod(f, "b", NULL, "'cpu':'1'",
                       AFF(TERMX(EXPR("kubernetes.io/hostname", "In", "['n9']"))));
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nplacements, 1);
    CU_ASSERT_EQUAL(p->placements[0].pod, a);
    CU_ASSERT_EQUAL(p->placements[0].node, 1);
    CU_ASSERT(reason_has(p, b, "existing node"));
    fx_free(f);

    /* Regression: a required term with matchFields metadata.name In [n1] names an existing
     * node; it used to be dropped with the terms a new node cannot meet, leaving the pod
     * unschedulable although n1 has room. */
    f = fx_new();
    add_default_pool(f);
    add_node(f, "n1", "us-east-1b", "m5.xlarge", 3000, 8 * GIB, 0, NULL);
    a = add_pod(f, "a", NULL, "'cpu':'1'",
                ",'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"
                "{'nodeSelectorTerms':[{'matchFields':[{'key':'metadata.name','operator':'In',"
                "'values':['n1']}]}]}}}");
    p = run(f);
    if (p->nplacements != 1)
        dump_plan("matchFields", p);
    CU_ASSERT_EQUAL(p->nplacements, 1);
    CU_ASSERT_EQUAL(p->nclaims, 0);
    fx_free(f);
}

static void test_unlaunched_claim(void)
{
    /* An in-flight NodeClaim (requirements, no labels yet) with room takes the pod when its
     * requirements allow the pod's, not otherwise. */
    struct fx *f = fx_new();
    add_default_pool(f);
    struct k8s_nodeclaim nc;
    DECODE(k8s_nodeclaim_decode,
           "{'apiVersion':'stoker.dev/v1alpha1','kind':'NodeClaim','metadata':{'name':'default-x',"
           "'labels':{'karpenter.sh/nodepool':'default'}},'spec':{'nodeClassRef':{'group':"
           "'stoker.dev','kind':'EC2NodeClass','name':'default'},'requirements':["
           "{'key':'topology.kubernetes.io/zone','operator':'In','values':['us-east-1c']},"
           "{'key':'node.kubernetes.io/instance-type','operator':'In','values':['m5.xlarge']}]}}",
           &nc);
    struct k8s_res_list avail = {0};
    CU_ASSERT_EQUAL_FATAL(k8s_res_set(&avail, "cpu", 3000), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_res_set(&avail, "memory", 8 * GIB * 1000), 0);
    CU_ASSERT_EQUAL_FATAL(k8s_res_set(&avail, "pods", 50000), 0);
    f->nodes[0] = (struct launcher_sched_node){.name = "default-x", .nodepool = "default",
                                               .requirements = nc.requirements,
                                               .nrequirements = nc.nrequirements,
                                               .available = &avail};
    f->nnodes = 1;
    size_t a = add_pod(f, "a", NULL, "'cpu':'1'", NULL);
    size_t b = add_pod(f, "b", NULL, "'cpu':'1'",
                       ",'nodeSelector':{'topology.kubernetes.io/zone':'us-east-1a'}");
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nplacements, 1);
    CU_ASSERT_EQUAL(p->placements[0].pod, a);
    CU_ASSERT(p->claim_of[b] >= 0);
    fx_free(f);
    k8s_res_cleanup(&avail);
    k8s_nodeclaim_cleanup(&nc);
}

static void test_spread_capacity_type(void)
{
    /* Spread over capacity type: with spot and on-demand allowed, 4 pods split 2/2. */
    struct fx *f = fx_new();
    f->off = g_off_spot;
    add_pool(f, "default", NULL, POOLREQ(EXPR(CT_KEY, "In", "['spot','on-demand']")), NULL,
             NULL);
    add_pods(f, 4, "web", "'app':'web'", "'cpu':'500m'",
             SPREAD(CT_KEY, 1, "DoNotSchedule", ""));
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    int spot = 0, od = 0;
    for (size_t ci = 0; ci < p->nclaims; ci++) {
        const struct k8s_requirement *r = claim_req(&p->claims[ci], CT_KEY);
        CU_ASSERT_FATAL(r && r->op == K8S_OP_IN && r->values.n == 1);
        if (strcmp(r->values.v[0], "spot") == 0)
            spot += (int)p->claims[ci].npods;
        else
            od += (int)p->claims[ci].npods;
    }
    CU_ASSERT_EQUAL(spot, 2);
    CU_ASSERT_EQUAL(od, 2);
    fx_free(f);
}


static void test_affinity_to_bound(void)
{
    /* Required zone affinity to app=cache, which runs in us-east-1b on a full node. */
    struct fx *f = fx_new();
    add_default_pool(f);
    add_node(f, "n1", "us-east-1b", "m5.xlarge", 0, 0, 0, NULL);
    add_bound(f, "cache-0", "n1", "'app':'cache'", NULL);
    add_pods(f, 2, "web", "'app':'web'", "'cpu':'100m'",
             ",'affinity':{" PODAFF("podAffinity", PODTERM("cache", ZONE_KEY)) "}");
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT(p->nclaims >= 1);
    for (size_t ci = 0; ci < p->nclaims; ci++) {
        const char *z = claim_zone(&p->claims[ci]);
        CU_ASSERT(z && strcmp(z, "us-east-1b") == 0);
    }
    fx_free(f);

    /* Anti-affinity terms look at the pod's own namespace only: an app=db pod in namespace
     * other on n1 does not keep a default/app=db pod off n1. */
    f = fx_new();
    add_default_pool(f);
    add_node(f, "n1", "us-east-1a", "m5.xlarge", 3000, 8 * GIB, 0, NULL);
    add_bound(f, "db-0", "n1", "'app':'db'", NULL);
    f->bpods[0].meta.ns[0] = 'o'; /* "default" -> "oefault": another namespace */
    size_t a = add_pod(f, "db-1", "'app':'db'", "'cpu':'100m'",
                       ",'affinity':{" PODAFF("podAntiAffinity",
                                              PODTERM("db", "kubernetes.io/hostname")) "}");
    p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nplacements, 1);
    CU_ASSERT_EQUAL(p->placements[0].pod, a);
    fx_free(f);

    /* Same namespace: kept off n1. */
    f = fx_new();
    add_default_pool(f);
    add_node(f, "n1", "us-east-1a", "m5.xlarge", 3000, 8 * GIB, 0, NULL);
    add_bound(f, "db-0", "n1", "'app':'db'", NULL);
    a = add_pod(f, "db-1", "'app':'db'", "'cpu':'100m'",
                ANTI_HOST("db"));
    p = run(f);
    CU_ASSERT_EQUAL(p->nplacements, 0);
    CU_ASSERT(p->claim_of[a] >= 0);
    fx_free(f);
}

static void test_spread_hostname_skew2(void)
{
    struct fx *f = fx_new();
    add_default_pool(f);
    add_pods(f, 5, "web", "'app':'web'", "'cpu':'100m'",
             SPREAD("kubernetes.io/hostname", 2, "DoNotSchedule", ""));
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT_EQUAL(p->nclaims, 3);
    for (size_t ci = 0; ci < p->nclaims; ci++)
        CU_ASSERT(p->claims[ci].npods <= 2);
    fx_free(f);
}

/* Regression: a DaemonSet that selects a custom label the pool does not define never runs on
 * the pool's nodes (they never carry the label); it used to be counted as overhead anyway,
 * wasting 1 CPU per node here and dropping every 2-vCPU type. */
static void test_daemonset_custom_label(void)
{
    struct fx *f = fx_new();
    add_default_pool(f);
    add_ds(f, "special", "'cpu':'1'", ",'nodeSelector':{'example.com/special':'true'}");
    (void)add_pod(f, "a", NULL, "'cpu':'1500m','memory':'256Mi'", NULL);
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    CU_ASSERT(any_type(p, is_2vcpu));
    CU_ASSERT_EQUAL(k8s_res_get(&p->claims[0].requests, "cpu"), 1500);
    fx_free(f);

    /* The pool's template defines the label: the DaemonSet runs, 1 CPU counted. */
    f = fx_new();
    add_pool(f, "default", "'example.com/special':'true'", NULL, NULL, NULL);
    add_ds(f, "special", "'cpu':'1'", ",'nodeSelector':{'example.com/special':'true'}");
    f->ds_cpu = 1000;
    (void)add_pod(f, "a", NULL, "'cpu':'1500m','memory':'256Mi'", NULL);
    p = run(f);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    CU_ASSERT(!any_type(p, is_2vcpu));
    fx_free(f);
}

/* Regression: when the pod's own requirements leave fewer values than the pool's minValues, no
 * NodeClaim may be opened (it used to be, listing fewer families than minValues). Expected:
 * unschedulable, or every claim with >= 3 families. */
static void test_min_values_unmeetable(void)
{
    struct fx *f = fx_new();
    add_pool(f, "default", NULL,
             ",'requirements':[{'key':'karpenter.k8s.aws/instance-family','operator':"
             "'Exists','minValues':3}]",
             NULL, NULL);
    size_t a = add_pod(f, "a", NULL, "'cpu':'1'",
                       AFF(TERMX(EXPR("karpenter.k8s.aws/instance-family", "In",
                                      "['m5','c5']"))));
    launcher_plan_free(f->plan);
    f->plan = schedule_at(f, 0);
    check_plan(f, f->plan, 0);
    const struct launcher_plan *p = f->plan;
    for (size_t ci = 0; ci < p->nclaims; ci++) {
        size_t fam = distinct_families(&p->claims[ci]);
        if (fam < 3)
            fprintf(stderr, "minValues unmeetable: claim %zu lists %zu families\n", ci, fam);
        CU_ASSERT(fam >= 3);
    }
    CU_ASSERT(p->claim_of[a] < 0);
    fx_free(f);
}


static void test_pending_symmetric_anti(void)
{
    /* A pending pod with anti-affinity against app=x and pending app=x pods never share a
     * node, whichever is placed first (the larger goes first). */
    static const char *const sizes[2][2] = {{"'cpu':'2'", "'cpu':'100m'"},
                                            {"'cpu':'100m'", "'cpu':'2'"}};
    for (int k = 0; k < 2; k++) {
        struct fx *f = fx_new();
        add_default_pool(f);
        size_t g = add_pod(f, "guard", "'app':'guard'", sizes[k][0],
                           ",'affinity':{" PODAFF("podAntiAffinity",
                                                  PODTERM("x", "kubernetes.io/hostname")) "}");
        add_pods(f, 2, "x", "'app':'x'", sizes[k][1], NULL);
        const struct launcher_plan *p = run(f);
        CU_ASSERT_EQUAL(p->nunschedulable, 0);
        CU_ASSERT(p->claim_of[g] >= 0);
        CU_ASSERT(p->claim_of[g] != p->claim_of[1]);
        CU_ASSERT(p->claim_of[g] != p->claim_of[2]);
        fx_free(f);
    }
}

/* Regression: three 1-CPU pods that must share a node (required self-affinity on hostname)
 * fit together on any 4-vCPU type; the first pod's claim used to grow only within 2-vCPU
 * types, close after one pod, and leave the other two unschedulable. A co-located class now
 * grows only into types that hold all of it. */
static void test_hostname_self_affinity(void)
{
    struct fx *f = fx_new();
    add_default_pool(f);
    add_pods(f, 3, "x", "'app':'x'", "'cpu':'1'",
             ",'affinity':{" PODAFF("podAffinity", PODTERM("x", "kubernetes.io/hostname")) "}");
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT_EQUAL(p->nclaims, 1);
    if (p->nunschedulable)
        dump_plan("hostname self-affinity", p);
    fx_free(f);
}

static void test_spread_with_existing_node(void)
{
    /* n1 (us-east-1a) has room for all; the spread lets it take one pod, the others go to
     * new nodes in b and c. */
    struct fx *f = fx_new();
    add_default_pool(f);
    add_node(f, "n1", "us-east-1a", "m5.xlarge", 3000, 8 * GIB, 0, NULL);
    add_pods(f, 3, "web", "'app':'web'", "'cpu':'500m'",
             SPREAD(ZONE_KEY, 1, "DoNotSchedule", ""));
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT_EQUAL(p->nplacements, 1);
    int zc[3];
    zone_counts(p, zc);
    CU_ASSERT_EQUAL(zc[0], 0);
    CU_ASSERT_EQUAL(zc[1], 1);
    CU_ASSERT_EQUAL(zc[2], 1);
    fx_free(f);
}

static void test_claims_keep_constraints(void)
{
    /* Pods with disjoint zone or arch requirements never share a claim. */
    struct fx *f = fx_new();
    add_default_pool(f);
    size_t a = add_pod(f, "a", NULL, "'cpu':'2'",
                       ",'nodeSelector':{'topology.kubernetes.io/zone':'us-east-1a'}");
    size_t b = add_pod(f, "b", NULL, "'cpu':'1'",
                       ",'nodeSelector':{'topology.kubernetes.io/zone':'us-east-1b'}");
    size_t c = add_pod(f, "c", NULL, "'cpu':'500m'",
                       ",'nodeSelector':{'kubernetes.io/arch':'arm64'}");
    size_t d = add_pod(f, "d", NULL, "'cpu':'400m'",
                       ",'nodeSelector':{'kubernetes.io/arch':'amd64'}");
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT(p->claim_of[a] != p->claim_of[b]);
    CU_ASSERT(p->claim_of[c] != p->claim_of[d]);
    CU_ASSERT_FATAL(p->claim_of[a] >= 0 && p->claim_of[b] >= 0);
    const char *za = claim_zone(&p->claims[p->claim_of[a]]);
    const char *zb = claim_zone(&p->claims[p->claim_of[b]]);
    CU_ASSERT(za && strcmp(za, "us-east-1a") == 0);
    CU_ASSERT(zb && strcmp(zb, "us-east-1b") == 0);
    CU_ASSERT_FATAL(p->claim_of[c] >= 0 && p->claim_of[d] >= 0);
    const struct launcher_claim *cc = &p->claims[p->claim_of[c]];
    const struct launcher_claim *cd = &p->claims[p->claim_of[d]];
    for (size_t t = 0; t < cc->ntypes; t++)
        CU_ASSERT_STRING_EQUAL(cc->types[t]->arch, "arm64");
    for (size_t t = 0; t < cd->ntypes; t++)
        CU_ASSERT_STRING_EQUAL(cd->types[t]->arch, "amd64");
    fx_free(f);
}


static void test_nodeclass(void)
{
    /* status.amis admits amd64 without GPUs only: arm64 and GPU pods have no type. (The
     * ncspec argument closes spec to append status.) */
    const char *amis = "},'status':{'amis':[{'id':'ami-1','name':'std','requirements':["
                       "{'key':'kubernetes.io/arch','operator':'In','values':['amd64']},"
                       "{'key':'karpenter.k8s.aws/instance-gpu-count','operator':'DoesNotExist'}"
                       "]}]";
    struct fx *f = fx_new();
    add_pool(f, "default", NULL, NULL, NULL, amis);
    size_t a = add_pod(f, "a", NULL, "'cpu':'100m'",
                       ",'nodeSelector':{'kubernetes.io/arch':'arm64'}");
    /* Labels keep g and c in different classes (see test_class_mixed_requests). */
    size_t g = add_pod(f, "g", "'app':'g'", "'cpu':'100m','nvidia.com/gpu':'1'", NULL);
    size_t c = add_pod(f, "c", "'app':'c'", "'cpu':'100m'", NULL);
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 2);
    if (p->nunschedulable != 2)
        dump_plan("amis", p);
    CU_ASSERT_PTR_NOT_NULL(reason_of(p, a));
    CU_ASSERT_PTR_NOT_NULL(reason_of(p, g));
    CU_ASSERT_FATAL(p->claim_of[c] >= 0);
    const struct launcher_claim *cl = &p->claims[p->claim_of[c]];
    for (size_t t = 0; t < cl->ntypes; t++) {
        CU_ASSERT_STRING_EQUAL(cl->types[t]->arch, "amd64");
        CU_ASSERT_EQUAL(cl->types[t]->gpu_count, 0);
    }
    fx_free(f);

    /* kubelet maxPods 3: no claim holds more than 3 pods. */
    f = fx_new();
    add_pool(f, "default", NULL, NULL, NULL, ",'kubelet':{'maxPods':3}");
    add_pods(f, 7, "p", NULL, "'cpu':'10m','memory':'16Mi'", NULL);
    p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT(p->nclaims >= 3);
    for (size_t ci = 0; ci < p->nclaims; ci++)
        CU_ASSERT(p->claims[ci].npods <= 3);
    fx_free(f);
}

static void test_zone_not_in(void)
{
    struct fx *f = fx_new();
    add_default_pool(f);
    add_pods(f, 2, "p", NULL, "'cpu':'100m'",
             AFF(TERMX(EXPR(ZONE_KEY, "NotIn", "['us-east-1a','us-east-1b']"))));
    const struct launcher_plan *p = run(f);
    CU_ASSERT_EQUAL(p->nunschedulable, 0);
    CU_ASSERT_EQUAL_FATAL(p->nclaims, 1);
    const struct k8s_requirement *r = claim_req(&p->claims[0], ZONE_KEY);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    /* Either In [c] or NotIn [a b]: never a or b. */
    CU_ASSERT((r->op == K8S_OP_IN && r->values.n == 1 &&
               strcmp(r->values.v[0], "us-east-1c") == 0) ||
              (r->op == K8S_OP_NOT_IN && k8s_strings_contains(&r->values, "us-east-1a") &&
               k8s_strings_contains(&r->values, "us-east-1b")));
    fx_free(f);
}

static void test_limit_memory(void)
{
    /* 20Gi of memory: claims' largest types add up to at most that. */
    struct fx *f = fx_new();
    add_pool(f, "default", NULL, NULL, ",'limits':{'memory':'20Gi'}", NULL);
    add_pods(f, 10, "p", NULL, "'cpu':'100m','memory':'3Gi'", NULL);
    const struct launcher_plan *p = run(f);
    int64_t mib = 0;
    for (size_t ci = 0; ci < p->nclaims; ci++) {
        int64_t m = 0;
        for (size_t t = 0; t < p->claims[ci].ntypes; t++)
            if (p->claims[ci].types[t]->memory_mib > m)
                m = p->claims[ci].types[t]->memory_mib;
        mib += m;
    }
    CU_ASSERT(p->nclaims >= 1);
    CU_ASSERT(mib <= 20 * 1024);
    CU_ASSERT(p->nunschedulable >= 1);
    for (size_t i = 0; i < p->nunschedulable; i++)
        CU_ASSERT(strstr(p->unschedulable[i].reason, "limit") != NULL);
    fx_free(f);
}


/* Regression: pods whose constraints are identical share a class whatever they request; types
 * used to be ranked by the class's whole demand, so one GPU pod in the class (itself
 * unschedulable here: the pool has no GPU types) left the plain pod with no ranked type and an
 * empty reason. Ranking now counts only what the pod at hand requests. */
static void test_class_mixed_requests(void)
{
    struct fx *f = fx_new();
    add_pool(f, "default", NULL, POOLREQ(EXPR(KCAT, "In", "['m']")), NULL, NULL);
    size_t g = add_pod(f, "g", NULL, "'cpu':'100m','nvidia.com/gpu':'1'", NULL);
    size_t c = add_pod(f, "c", NULL, "'cpu':'100m'", NULL);
    const struct launcher_plan *p = run(f);
    CU_ASSERT(reason_has(p, g, "nvidia.com/gpu"));
    CU_ASSERT(p->claim_of[c] >= 0);
    if (p->claim_of[c] < 0)
        dump_plan("mixed requests", p);
    fx_free(f);
}

/* ---- determinism ----------------------------------------------------------------------------- */

static void plans_equal(const struct launcher_plan *a, const struct launcher_plan *b,
                        size_t npods)
{
    CU_ASSERT_EQUAL_FATAL(a->nclaims, b->nclaims);
    CU_ASSERT_EQUAL_FATAL(a->nplacements, b->nplacements);
    CU_ASSERT_EQUAL_FATAL(a->nunschedulable, b->nunschedulable);
    for (size_t i = 0; i < a->nclaims; i++) {
        const struct launcher_claim *x = &a->claims[i], *y = &b->claims[i];
        CU_ASSERT_EQUAL(x->pool, y->pool);
        CU_ASSERT_EQUAL_FATAL(x->ntypes, y->ntypes);
        for (size_t t = 0; t < x->ntypes; t++) {
            CU_ASSERT_PTR_EQUAL(x->types[t], y->types[t]);
            CU_ASSERT_DOUBLE_EQUAL(x->prices[t], y->prices[t], 0);
        }
        CU_ASSERT_EQUAL_FATAL(x->npods, y->npods);
        CU_ASSERT(memcmp(x->pods, y->pods, x->npods * sizeof(*x->pods)) == 0);
        CU_ASSERT((x->warm_id == NULL) == (y->warm_id == NULL));
        CU_ASSERT_EQUAL_FATAL(x->nrequirements, y->nrequirements);
        for (size_t r = 0; r < x->nrequirements; r++) {
            CU_ASSERT_STRING_EQUAL(x->requirements[r].key, y->requirements[r].key);
            CU_ASSERT_EQUAL(x->requirements[r].op, y->requirements[r].op);
            CU_ASSERT_EQUAL_FATAL(x->requirements[r].values.n, y->requirements[r].values.n);
            for (size_t v = 0; v < x->requirements[r].values.n; v++)
                CU_ASSERT_STRING_EQUAL(x->requirements[r].values.v[v],
                                       y->requirements[r].values.v[v]);
        }
        CU_ASSERT_EQUAL(x->requests.n, y->requests.n);
        for (size_t r = 0; r < x->requests.n && r < y->requests.n; r++) {
            CU_ASSERT_STRING_EQUAL(x->requests.v[r].name, y->requests.v[r].name);
            CU_ASSERT_EQUAL(x->requests.v[r].milli, y->requests.v[r].milli);
        }
    }
    for (size_t i = 0; i < a->nplacements; i++) {
        CU_ASSERT_EQUAL(a->placements[i].pod, b->placements[i].pod);
        CU_ASSERT_EQUAL(a->placements[i].node, b->placements[i].node);
    }
    for (size_t i = 0; i < a->nunschedulable; i++) {
        CU_ASSERT_EQUAL(a->unschedulable[i].pod, b->unschedulable[i].pod);
        CU_ASSERT_STRING_EQUAL(a->unschedulable[i].reason, b->unschedulable[i].reason);
    }
    for (size_t i = 0; i < npods; i++) {
        CU_ASSERT_EQUAL(a->claim_of[i], b->claim_of[i]);
        CU_ASSERT_EQUAL(a->relaxed[i], b->relaxed[i]);
    }
}

static void test_determinism(void)
{
    struct fx *f = fx_new();
    f->off = g_off_spot;
    add_pool(f, "general", NULL, POOLREQ(EXPR(CT_KEY, "In", "['spot','on-demand']")),
             ",'weight':20", NULL);
    add_pool(f, "tainted", NULL, TAINT("NoSchedule"), NULL, NULL);
    add_ds(f, "agent", "'cpu':'100m','memory':'100Mi'", NULL);
    add_node(f, "n1", "us-east-1b", "m5.xlarge", 2000, 4 * GIB, 0, NULL);
    add_warm(f, "i-1", "general", "c5.xlarge", "us-east-1c");
    add_pods(f, 9, "web", "'app':'web'", "'cpu':'700m','memory':'1Gi'",
             SPREAD(ZONE_KEY, 1, "DoNotSchedule", ""));
    add_pods(f, 4, "db", "'app':'db'", "'cpu':'2','memory':'8Gi'",
             ANTI_HOST("db"));
    add_pods(f, 3, "t", NULL, "'cpu':'1'", TOLERATE);
    (void)add_pod(f, "bad", NULL, "'cpu':'1'", ",'nodeSelector':{'nope':'x'}");
    f->ds_cpu = 100;
    f->ds_mem = 100 << 20;
    struct launcher_plan *a = schedule_at(f, 0);
    struct launcher_plan *b = schedule_at(f, 0);
    check_plan(f, a, 1);
    plans_equal(a, b, f->npods);
    CU_ASSERT_EQUAL(a->nunschedulable, 1);
    launcher_plan_free(a);
    launcher_plan_free(b);
    fx_free(f);
}

/* ---- arguments ------------------------------------------------------------------------------- */

static void test_arguments(void)
{
    struct launcher_plan *p = NULL;
    struct launcher_sched_input in;
    memset(&in, 0, sizeof(in));
    CU_ASSERT_EQUAL(launcher_schedule(NULL, &p, NULL), CORE_E_INVAL);
    CU_ASSERT_EQUAL(launcher_schedule(&in, &p, NULL), CORE_E_INVAL); /* no offerings */
    in.offerings = g_off;
    struct launcher_sched_pool nopool = {0};
    in.pools = &nopool;
    in.npools = 1;
    CU_ASSERT_EQUAL(launcher_schedule(&in, &p, NULL), CORE_E_INVAL);
    CU_ASSERT_PTR_NULL(p);
    /* Nothing to do: an empty plan. */
    in.npools = 0;
    in.pools = NULL;
    CU_ASSERT_EQUAL_FATAL(launcher_schedule(&in, &p, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->nclaims + p->nplacements + p->nunschedulable, 0);
    launcher_plan_free(p);
    launcher_plan_free(NULL);

    /* No pools: every pod unschedulable, with a reason. */
    struct fx *f = fx_new();
    size_t a = add_pod(f, "a", NULL, "'cpu':'1'", NULL);
    const struct launcher_plan *q = run(f);
    CU_ASSERT_EQUAL(q->nunschedulable, 1);
    CU_ASSERT_PTR_NOT_NULL(reason_of(q, a));
    fx_free(f);
}

TESTS_SUITE(launcher_sched, "launcher_sched", suite_init, suite_cleanup,
            TESTS_CASE(test_plain_packing), TESTS_CASE(test_max_types),
            TESTS_CASE(test_growth_slack), TESTS_CASE(test_node_selection),
            TESTS_CASE(test_custom_label), TESTS_CASE(test_pool_requirements),
            TESTS_CASE(test_pool_weight), TESTS_CASE(test_capacity_type),
            TESTS_CASE(test_taints), TESTS_CASE(test_resources), TESTS_CASE(test_gpu),
            TESTS_CASE(test_daemonset_overhead), TESTS_CASE(test_spread_zone),
            TESTS_CASE(test_spread_hostname), TESTS_CASE(test_spread_anyway),
            TESTS_CASE(test_spread_min_domains), TESTS_CASE(test_pod_affinity),
            TESTS_CASE(test_pod_anti_affinity), TESTS_CASE(test_symmetric_anti_affinity),
            TESTS_CASE(test_existing_nodes), TESTS_CASE(test_bound_topology_counts),
            TESTS_CASE(test_volume_topology), TESTS_CASE(test_limits),
            TESTS_CASE(test_min_values), TESTS_CASE(test_ice), TESTS_CASE(test_warm),
            TESTS_CASE(test_preferred_node_affinity), TESTS_CASE(test_existing_by_name),
            TESTS_CASE(test_unlaunched_claim), TESTS_CASE(test_spread_capacity_type),
            TESTS_CASE(test_affinity_to_bound), TESTS_CASE(test_spread_hostname_skew2),
            TESTS_CASE(test_daemonset_custom_label), TESTS_CASE(test_min_values_unmeetable),
            TESTS_CASE(test_pending_symmetric_anti), TESTS_CASE(test_hostname_self_affinity),
            TESTS_CASE(test_spread_with_existing_node), TESTS_CASE(test_claims_keep_constraints),
            TESTS_CASE(test_nodeclass), TESTS_CASE(test_zone_not_in),
            TESTS_CASE(test_limit_memory), TESTS_CASE(test_determinism),
            TESTS_CASE(test_arguments), TESTS_CASE(test_class_mixed_requests))
