/*
 * launcher/sched.c — the scheduler: pending pods in, NodeClaims and placements out.
 *
 * The shape of the computation (docs/scheduling.md has the reasoning):
 *  1. Pools are prepared once: their requirements (spec + template labels + nodepool name +
 *     region + the on-demand default), the types they may launch, and per type what a pod can
 *     use (allocatable minus DaemonSet overhead) and what the type counts against limits.
 *  2. Pods are grouped into classes: pods whose constraints are identical (namespace, labels,
 *     node selection, tolerations, topology terms, volume topology) share every derived
 *     structure, so a Deployment of 5,000 replicas is analysed once.
 *  3. Pods are taken largest first; each tries existing capacity, then the NodeClaims opened so
 *     far (first fit), then a new NodeClaim (warm instance first). Preferences are relaxed one
 *     at a time only when a pod fits nowhere.
 *  4. Each NodeClaim's final type list is every compatible type that holds what it got,
 *     cheapest first.
 *
 * Invariants:
 *  - Pure and deterministic: no clock, no I/O, no logging; every iteration is over arrays in a
 *    fixed order (maps are used for lookups only, never iterated for decisions).
 *  - A NodeClaim's growth list only shrinks; its requirements only narrow. A pool's committed
 *    capacity (the largest type of each of its NodeClaims) never exceeds its limits.
 *  - A warm instance is paired with at most one NodeClaim.
 *  - Everything allocated here is owned by the struct sched and freed in sched_cleanup, except
 *    what moves into the plan.
 */
#include "launcher/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NDIM_MAX 12
#define D_CPU 0
#define D_MEM 1
#define D_PODS 2
#define D_EPH 3
#define D_EXT 4
#define NEXT_MAX (NDIM_MAX - D_EXT)
#define MIB ((int64_t)1 << 20)

struct vec {
    int64_t r[NDIM_MAX];
};

/* ------------------------------------------------------------------------------------------ */
/* State                                                                                       */
/* ------------------------------------------------------------------------------------------ */

enum tkey { TK_ZONE, TK_HOST, TK_CT };
enum tkind { TC_SPREAD, TC_AFFINITY, TC_ANTI, TC_ANTI_SYM };

/* A counting unit: pods in scope whose labels a selector matches, counted per domain. */
struct group {
    char *sig;
    enum tkey key;
    const struct k8s_label_selector *selector; /* borrowed from the pod that defined it */
    struct k8s_labels extra;                   /* matchLabelKeys: key = value required too */
    char **ns;                                 /* scope; all_ns = every namespace */
    size_t nns;
    int all_ns;
    int64_t matches[LAUNCHER_MAX_ZONES];       /* per zone or capacity type */
    int64_t owners[LAUNCHER_MAX_ZONES];        /* pods owning a required anti term on it */
    int64_t total_matches;
    int64_t total_owners;
    int anti_owned;                  /* some pod owns a required anti-affinity term on it */
};

struct tcon {
    size_t group;
    enum tkind kind;
    int64_t max_skew;
    int64_t min_domains;
    int honor_affinity;
    int honor_taints;
    int self_match;
};

enum relax_kind { RX_POD_AFFINITY, RX_POD_ANTI, RX_NODE_PREF, RX_SPREAD_ANYWAY, RX_PREFER_TAINT };
struct relax {
    enum relax_kind kind;
    size_t index;
    int64_t weight;
};

/* One alternative of a pod's node requirements, interned: equal sets share an id. */
struct alt {
    struct launcher_reqs r;
    int id;
    uint32_t zmask;
    uint8_t ctmask;
    int type_keys;                   /* has entries on per-type labels */
    const struct k8s_node_selector_term *fields; /* metadata.name terms: existing nodes only */
};

struct level {
    int built;
    int bad;                         /* nothing can satisfy it (reason says why) */
    char *reason;
    struct alt *alts;
    size_t nalts;
    unsigned char *pool_alt;         /* [pool * nalts + a]: alternative a usable in the pool */
    char **pool_reason;              /* per pool: why not usable (NULL when usable) */
    int tol_prefer;
    struct tcon *cons;
    size_t ncons;
    int64_t host_cap;                /* pods of the class per node at most; 0 = none */
    size_t cursor;                   /* nodes before it can never take the class's pods */
};

struct klass {
    char *sig;
    size_t rep;                      /* input index of the first pod */
    struct launcher_volume_topo vol;
    int vol_done;
    struct relax *rx;
    size_t nrx;
    struct level *levels;            /* nrx + 1 */
    size_t *mgroups;                 /* groups the class's pods match */
    size_t nmgroups;
    size_t *ogroups;                 /* groups whose required anti term the pods own */
    size_t nogroups;
    size_t *sgroups;                 /* groups of others' anti terms the pods match */
    size_t nsgroups;
    struct vec remaining;
    size_t nremaining;
    struct vec total;                /* what the class asks for in this batch */
    size_t ntotal;
};

struct spod {
    size_t in;                       /* input index */
    double key;                      /* sort key: the dominant share (see order_pods) */
    int mem_dominant;
    size_t klass;
    struct vec req;
    char *bad;                       /* a reason found while preparing (owned) */
};

/* Per (pool, type): usable, and what pods can use. */
struct ptype {
    int usable;
    struct vec avail;                /* allocatable − DaemonSet overhead */
    struct vec ds;                   /* the DaemonSet overhead */
};

struct spool {
    const struct launcher_sched_pool *src;
    size_t in;
    const char *name;
    char *bad;                       /* why the pool serves nothing, or NULL */
    struct launcher_reqs reqs;
    int rid;
    uint32_t zmask;
    uint8_t ctmask;
    struct ptype *types;             /* catalog order */
    int has_limit[NDIM_MAX + 1];     /* last = nodes */
    int64_t limit[NDIM_MAX + 1];     /* remaining after `used` */
    int64_t committed[NDIM_MAX + 1];
};

struct gcount {
    size_t group;
    int64_t matches, owners;
};

struct snode {
    int claim;
    int rid;                         /* interned id of its requirements (claims and unlaunched
                                      * NodeClaims; -1 for labelled nodes) */
    const struct cache_entry *topen; /* claims: the types of the (pool, alternative) it opened
                                      * with, the superset of its final list */
    size_t src;                      /* input node index, or -1 for claims */
    int pool;                        /* -1: none */
    const struct k8s_labels *labels;
    const struct k8s_taint *taints;
    size_t ntaints;
    struct vec used;
    struct vec avail;                /* existing capacity */
    struct vec room;                 /* an upper bound on what one more pod may request */
    int zone;                        /* determined zone, or -1 */
    int ct;                          /* determined capacity type, or -1 */
    uint32_t zmask;
    uint8_t ctmask;
    int32_t *g;                      /* claims: growth types (catalog indexes) */
    size_t ng;
    struct vec maxcap;               /* claims: the largest capacity among g, counted in limits */
    int64_t maxcap_nodes;
    struct gcount *gc;
    size_t ngc, capgc;
    size_t *pods;
    size_t npods, cappods;
    long warm;
    int closed;
    int has_min_values;
};

struct priced {
    int32_t ti;
    double price;
    const char *name;
};

struct cache_entry {                 /* a list of types, with a value each when ranked */
    int32_t *t;
    double *v;
    size_t n;
};

struct sched {
    const struct launcher_sched_input *in;
    const struct launcher_catalog *cat;
    const struct launcher_offerings *off;
    size_t ntypes, nzones;
    size_t max_types;
    double slack;
    /* dims */
    size_t ndim;
    const char *ext[NEXT_MAX];
    /* per type: offered zones per capacity type, and capacity for limits */
    uint32_t (*tz)[LAUNCHER_CT_COUNT];
    struct vec *cap;
    struct spool *pools;
    size_t npools;
    size_t *pool_order;
    struct klass *classes;
    size_t nclasses, capclasses;
    struct core_map *class_by_sig;
    struct group *groups;
    size_t ngroups, capgroups;
    struct core_map *group_by_sig;
    struct spod *pods;
    size_t npods;
    struct snode *nodes;
    size_t nnodes, capnodes;
    size_t nexisting;
    struct core_map *node_by_name;
    struct core_map *tcache;
    struct cache_entry **tcache_all;
    size_t ntcache, captcache;
    struct core_map *intern;         /* rendered requirement set -> id + 1 */
    int nintern;
    signed char *compat;             /* [rid * capintern + aid]: -1 unknown, 0, 1 */
    int32_t *meet;                   /* [a * capintern + b]: id of a ∩ b, -1 unknown */
    struct launcher_reqs *ireqs;     /* by id */
    int capintern;
    int zone_id[LAUNCHER_MAX_ZONES]; /* id of {zone In [z]} */
    int ct_id[LAUNCHER_CT_COUNT];    /* id of {capacity-type In [ct]} */
    unsigned char *warm_used;
    int32_t *warm_type;
    int *warm_zone;
    int64_t min_req[NDIM_MAX];       /* the smallest request per dim over pending pods */
    size_t first_open;               /* nodes before it are all closed */
    struct core_buf scratch;
    int32_t *tmp;                    /* ntypes scratch indexes */
    double *tmpd;                    /* ntypes scratch values */
};

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */
/* ------------------------------------------------------------------------------------------ */

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 8;
    while (n < need)
        n *= 2;
    void *p = core_realloc(*v, n * elem);
    if (!p)
        return CORE_E_NOMEM;
    memset((char *)p + *cap * elem, 0, (n - *cap) * elem);
    *v = p;
    *cap = n;
    return 0;
}

/* For results a caller may drop: appends to reason texts fail only past their bound, and a
 * truncated reason is still a reason. */
static void ignore(int rc)
{
    (void)rc;
}

static int popcount32(uint32_t x)
{
    return __builtin_popcount(x);
}

static int lowest_bit(uint32_t x)
{
    return x ? __builtin_ctz(x) : -1;
}

static int vec_fits(const struct vec *used, const struct vec *req, const struct vec *avail,
                    size_t ndim)
{
    for (size_t d = 0; d < ndim; d++)
        if (req->r[d] > 0 && used->r[d] + req->r[d] > avail->r[d])
            return 0;
    return 1;
}

static void vec_add(struct vec *a, const struct vec *b, size_t ndim)
{
    for (size_t d = 0; d < ndim; d++)
        a->r[d] += b->r[d];
}

static const char *dim_name(const struct sched *s, size_t d)
{
    static const char *const base[] = {"cpu", "memory", "pods", "ephemeral-storage"};
    return d < D_EXT ? base[d] : s->ext[d - D_EXT];
}

static int dim_index(const struct sched *s, const char *name)
{
    for (size_t d = 0; d < s->ndim; d++)
        if (strcmp(dim_name(s, d), name) == 0)
            return (int)d;
    return -1;
}

/* milli-units of resource d into the unit the vector keeps (millicores for cpu, bytes or
 * counts for the rest), rounding up so a request is never under-counted. */
static int64_t from_milli(size_t d, int64_t milli)
{
    if (d == D_CPU)
        return milli;
    if (milli <= 0)
        return 0;
    return milli / 1000 + (milli % 1000 != 0);
}

static int64_t to_milli(size_t d, int64_t v)
{
    if (d == D_CPU)
        return v;
    return v > INT64_MAX / 1000 ? INT64_MAX : v * 1000;
}

/* Extended resources an instance type offers, by resource name. */
static int64_t ext_capacity(const struct launcher_itype *t, const char *name)
{
    if (strcmp(name, "nvidia.com/gpu") == 0)
        return strcmp(t->gpu_manufacturer, "nvidia") == 0 ? t->gpu_count : 0;
    if (strcmp(name, "amd.com/gpu") == 0)
        return strcmp(t->gpu_manufacturer, "amd") == 0 ? t->gpu_count : 0;
    if (strcmp(name, "aws.amazon.com/neuron") == 0)
        return (strcmp(t->accelerator_name, "inferentia") == 0 ||
                strcmp(t->accelerator_name, "inferentia2") == 0 ||
                strcmp(t->accelerator_name, "trainium") == 0 ||
                strcmp(t->accelerator_name, "trainium2") == 0)
                   ? t->accelerator_count
                   : 0;
    if (strcmp(name, "habana.ai/gaudi") == 0)
        return strcmp(t->accelerator_name, "gaudi") == 0 ? t->accelerator_count : 0;
    if (strcmp(name, "vpc.amazonaws.com/pod-eni") == 0)
        return t->branch_enis;
    return 0;
}

static int res_to_vec(struct sched *s, const struct k8s_res_list *l, struct vec *out,
                      const char **unknown)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; l && i < l->n; i++) {
        int d = dim_index(s, l->v[i].name);
        if (d < 0) {
            if (unknown && l->v[i].milli > 0) {
                *unknown = l->v[i].name;
                return -1;
            }
            continue;
        }
        out->r[d] = from_milli((size_t)d, l->v[i].milli);
    }
    return 0;
}

static int vec_to_res(const struct sched *s, const struct vec *v, struct k8s_res_list *out)
{
    for (size_t d = 0; d < s->ndim; d++) {
        if (v->r[d] == 0)
            continue;
        int rc = k8s_res_set(out, dim_name(s, d), to_milli(d, v->r[d]));
        if (rc)
            return rc;
    }
    return 0;
}

static double type_price(const struct sched *s, size_t ti, uint32_t zmask, uint8_t ctmask)
{
    size_t n = 0;
    const struct launcher_offer *o = launcher_offerings_of(s->off, ti, &n);
    double best = HUGE_VAL;
    for (size_t i = 0; i < n; i++) {
        if (!(zmask & (1u << o[i].zone)) || !(ctmask & (1u << o[i].ct)))
            continue;
        if (o[i].unavailable_until && o[i].unavailable_until > s->in->now)
            continue;
        if (o[i].price < best)
            best = o[i].price;
    }
    return best;
}

static int type_offered(const struct sched *s, size_t ti, uint32_t zmask, uint8_t ctmask)
{
    for (int ct = 0; ct < LAUNCHER_CT_COUNT; ct++)
        if ((ctmask & (1u << ct)) && (s->tz[ti][ct] & zmask))
            return 1;
    return 0;
}

/* The zones (as a mask over the offerings' zones) and capacity types a requirement set
 * admits. */
static uint32_t reqs_zmask(const struct sched *s, const struct launcher_reqs *r)
{
    const struct launcher_req *q = launcher_reqs_get(r, LAUNCHER_KEY_ZONE);
    uint32_t m = 0;
    for (size_t z = 0; z < s->nzones; z++)
        if (!q || launcher_req_allows(q, launcher_offerings_zone(s->off, z)))
            m |= 1u << z;
    return m;
}

static uint8_t reqs_ctmask(const struct launcher_reqs *r)
{
    const struct launcher_req *q = launcher_reqs_get(r, LAUNCHER_KEY_CAPACITY_TYPE);
    uint8_t m = 0;
    for (int ct = 0; ct < LAUNCHER_CT_COUNT; ct++)
        if (!q || launcher_req_allows(q, launcher_ct_name((enum launcher_ct)ct)))
            m |= (uint8_t)(1u << ct);
    return m;
}

static int untolerated(const struct k8s_toleration *tols, size_t ntols,
                       const struct k8s_taint *taints, size_t ntaints, int tol_prefer,
                       const struct k8s_taint **which)
{
    for (size_t i = 0; i < ntaints; i++) {
        if (taints[i].effect == K8S_EFFECT_PREFER_NO_SCHEDULE && tol_prefer)
            continue;
        if (!k8s_tolerates(tols, ntols, &taints[i])) {
            if (which)
                *which = &taints[i];
            return 1;
        }
    }
    return 0;
}

static int describe_taint(struct core_buf *b, const struct k8s_taint *t)
{
    return core_buf_appendf(b, "%s%s%s:%s", t->key, t->value ? "=" : "", t->value ? t->value : "",
                            k8s_effect_name(t->effect));
}

/* ------------------------------------------------------------------------------------------ */
/* Interned requirement sets and the compatibility table                                       */
/* ------------------------------------------------------------------------------------------ */

static int render_reqs(struct core_buf *b, const struct launcher_reqs *r)
{
    core_buf_reset(b);
    for (size_t i = 0; i < r->n; i++) {
        int rc = launcher_req_describe(&r->v[i], b);
        if (!rc && r->v[i].min_values)
            rc = core_buf_appendf(b, " min %lld", (long long)r->v[i].min_values);
        if (!rc)
            rc = core_buf_append_char(b, '\x1f');
        if (rc)
            return rc;
    }
    return core_buf_append_char(b, '\x1e');
}

/* Grows the interned tables (ids are dense; tables are square in capintern). */
static int intern_grow(struct sched *s)
{
    int ncap = s->capintern ? s->capintern * 2 : 64;
    size_t n2 = (size_t)ncap * (size_t)ncap;
    signed char *t = core_malloc(n2);
    int32_t *m = core_malloc(n2 * sizeof(*m));
    struct launcher_reqs *ir = core_realloc(s->ireqs, (size_t)ncap * sizeof(*ir));
    if (ir)
        s->ireqs = ir;
    if (!t || !m || !ir) {
        core_free(t);
        core_free(m);
        return CORE_E_NOMEM;
    }
    memset(t, -1, n2);
    for (size_t i = 0; i < n2; i++)
        m[i] = -1;
    for (int i = 0; i < s->capintern; i++) {
        memcpy(t + (size_t)i * (size_t)ncap, s->compat + (size_t)i * (size_t)s->capintern,
               (size_t)s->capintern);
        memcpy(m + (size_t)i * (size_t)ncap, s->meet + (size_t)i * (size_t)s->capintern,
               (size_t)s->capintern * sizeof(*m));
    }
    core_free(s->compat);
    core_free(s->meet);
    s->compat = t;
    s->meet = m;
    s->capintern = ncap;
    return 0;
}

/* The id of a requirement set (equal sets, equal ids); the set is copied when new. */
static int intern_reqs(struct sched *s, const struct launcher_reqs *r, int *id)
{
    int rc = render_reqs(&s->scratch, r);
    if (rc)
        return rc;
    int found = 0;
    void *v = core_map_get(s->intern, core_buf_cstr(&s->scratch), &found);
    if (found) {
        *id = (int)((intptr_t)v - 1);
        return 0;
    }
    if (s->nintern == s->capintern && (rc = intern_grow(s)) != 0)
        return rc;
    rc = core_map_set(s->intern, core_buf_cstr(&s->scratch), (void *)(intptr_t)(s->nintern + 1),
                      NULL);
    if (rc)
        return rc;
    memset(&s->ireqs[s->nintern], 0, sizeof(s->ireqs[0]));
    rc = launcher_reqs_copy(&s->ireqs[s->nintern], r, NULL);
    if (rc) {
        (void)core_map_del(s->intern, core_buf_cstr(&s->scratch));
        return rc;
    }
    *id = s->nintern++;
    return 0;
}

/* The id of ireqs[a] ∩ ireqs[b]. */
static int meet(struct sched *s, int a, int b, int *out)
{
    int32_t *m = &s->meet[(size_t)a * (size_t)s->capintern + (size_t)b];
    if (*m >= 0) {
        *out = *m;
        return 0;
    }
    struct launcher_reqs r = {0};
    int rc = launcher_reqs_copy(&r, &s->ireqs[a], NULL);
    if (!rc)
        rc = launcher_reqs_intersect(&r, &s->ireqs[b], NULL);
    int id = 0;
    if (!rc)
        rc = intern_reqs(s, &r, &id);
    launcher_reqs_cleanup(&r);
    if (rc)
        return rc;
    /* intern_reqs may have grown the table: index again. */
    s->meet[(size_t)a * (size_t)s->capintern + (size_t)b] = id;
    *out = id;
    return 0;
}

/* The id of a one-entry set key In [value]. */
static int intern_in(struct sched *s, const char *key, const char *value, int *id)
{
    struct launcher_reqs r = {0};
    int rc = launcher_reqs_add_in(&r, key, value, NULL);
    if (!rc)
        rc = intern_reqs(s, &r, id);
    launcher_reqs_cleanup(&r);
    return rc;
}

/* Whether a node's requirements (interned as rid) and an alternative are compatible. */
static int compat(struct sched *s, int rid, const struct alt *a)
{
    signed char *c = &s->compat[(size_t)rid * (size_t)s->capintern + (size_t)a->id];
    if (*c < 0)
        *c = (signed char)launcher_reqs_compatible(&s->ireqs[rid], &a->r, NULL);
    return *c;
}

/* ------------------------------------------------------------------------------------------ */
/* Preparation: dimensions, types, pools                                                       */
/* ------------------------------------------------------------------------------------------ */

static int is_base_dim(const char *name)
{
    return strcmp(name, "cpu") == 0 || strcmp(name, "memory") == 0 || strcmp(name, "pods") == 0 ||
           strcmp(name, "ephemeral-storage") == 0;
}

static void note_ext(struct sched *s, const struct k8s_res_list *l)
{
    for (size_t i = 0; l && i < l->n; i++) {
        const char *name = l->v[i].name;
        if (is_base_dim(name) || l->v[i].milli <= 0 || dim_index(s, name) >= 0)
            continue;
        if (s->ndim < NDIM_MAX)
            s->ext[s->ndim++ - D_EXT] = name;
    }
}

static int prepare_types(struct sched *s)
{
    s->tz = core_calloc(s->ntypes ? s->ntypes : 1, sizeof(*s->tz));
    s->cap = core_calloc(s->ntypes ? s->ntypes : 1, sizeof(*s->cap));
    s->tmp = core_calloc(s->ntypes ? s->ntypes : 1, sizeof(*s->tmp));
    s->tmpd = core_calloc(s->ntypes ? s->ntypes : 1, sizeof(*s->tmpd));
    if (!s->tz || !s->cap || !s->tmp || !s->tmpd)
        return CORE_E_NOMEM;
    for (size_t ti = 0; ti < s->ntypes; ti++) {
        const struct launcher_itype *t = launcher_catalog_at(s->cat, ti);
        size_t n = 0;
        const struct launcher_offer *o = launcher_offerings_of(s->off, ti, &n);
        for (size_t i = 0; i < n; i++) {
            if (o[i].unavailable_until && o[i].unavailable_until > s->in->now)
                continue;
            if (o[i].ct < LAUNCHER_CT_COUNT && o[i].zone < 32)
                s->tz[ti][o[i].ct] |= 1u << o[i].zone;
        }
        struct vec *c = &s->cap[ti];
        c->r[D_CPU] = (int64_t)t->vcpu * 1000;
        c->r[D_MEM] = t->memory_mib * MIB;
        c->r[D_PODS] = t->alloc_pods ? t->alloc_pods : launcher_eni_max_pods(t);
        c->r[D_EPH] = LAUNCHER_DEFAULT_ROOT_VOLUME_BYTES;
        for (size_t d = D_EXT; d < s->ndim; d++)
            c->r[d] = ext_capacity(t, s->ext[d - D_EXT]);
    }
    return 0;
}

/* Node requirements of a pod spec's nodeSelector and one term of required node affinity
 * (term NULL: none), intersected into r. */
static int spec_reqs(const struct k8s_pod_spec *sp, const struct k8s_node_selector_term *term,
                     struct launcher_reqs *r, struct core_err *err)
{
    for (size_t i = 0; i < sp->node_selector.n; i++) {
        int rc = launcher_reqs_add_in(r, sp->node_selector.v[i].key, sp->node_selector.v[i].value,
                                      err);
        if (rc)
            return rc;
    }
    for (size_t i = 0; term && i < term->nexprs; i++) {
        int rc = launcher_reqs_add(r, &term->exprs[i], err);
        if (rc)
            return rc;
    }
    return 0;
}

/* The AMI requirement sets of a NodeClass's status, for type admission. */
static int ami_admits(const struct k8s_ec2nodeclass *nc, const struct launcher_itype *t,
                      struct core_err *err, int *out)
{
    *out = 1;
    if (!nc || nc->namis == 0)
        return 0;
    *out = 0;
    for (size_t i = 0; i < nc->namis && !*out; i++) {
        struct launcher_reqs r = {0};
        int rc = 0;
        for (size_t j = 0; j < nc->amis[i].nrequirements && !rc; j++)
            rc = launcher_reqs_add(&r, &nc->amis[i].requirements[j], err);
        if (!rc && !launcher_reqs_conflict(&r) && launcher_reqs_admit_type(&r, t))
            *out = 1;
        launcher_reqs_cleanup(&r);
        if (rc)
            return rc;
    }
    return 0;
}

static int64_t root_volume_bytes(const struct k8s_ec2nodeclass *nc)
{
    for (size_t i = 0; nc && i < nc->nblock_devices; i++)
        if (nc->block_devices[i].root_volume && nc->block_devices[i].ebs.volume_size > 0)
            return nc->block_devices[i].ebs.volume_size;
    return 0;
}

static int is_known_key(const char *key);

/* DaemonSet d may run on a node of pool p and type t: it tolerates the pool's taints, and one
 * of its node selections is compatible, asking only for labels such a node carries. */
static int ds_runs(const struct k8s_daemonset *d, const struct spool *p,
                   const struct launcher_itype *t, struct core_err *err, int *out)
{
    const struct k8s_nodepool *np = p->src->pool;
    *out = 0;
    if (untolerated(d->spec.tolerations, d->spec.ntolerations, np->taints, np->ntaints, 1, NULL))
        return 0;
    size_t nterms = d->spec.affinity.node_required.nterms;
    for (size_t k = 0; k < (nterms ? nterms : 1) && !*out; k++) {
        struct launcher_reqs r = {0};
        int rc = spec_reqs(&d->spec, nterms ? &d->spec.affinity.node_required.terms[k] : NULL, &r,
                           err);
        int defined = 1;
        for (size_t i = 0; !rc && i < r.n && defined; i++)
            defined = is_known_key(r.v[i].key) || launcher_reqs_get(&p->reqs, r.v[i].key) ||
                      r.v[i].absent_ok;
        if (!rc && defined && !launcher_reqs_conflict(&r) &&
            launcher_reqs_compatible(&r, &p->reqs, NULL) && launcher_reqs_admit_type(&r, t))
            *out = 1;
        launcher_reqs_cleanup(&r);
        if (rc)
            return rc;
    }
    return 0;
}

static int prepare_pool(struct sched *s, struct spool *p, struct core_err *err)
{
    const struct k8s_nodepool *np = p->src->pool;
    const struct k8s_ec2nodeclass *nc = p->src->nodeclass;
    int rc = 0;
    p->name = np->meta.name ? np->meta.name : "";
    for (size_t i = 0; i < np->nrequirements && !rc; i++)
        rc = launcher_reqs_add(&p->reqs, &np->requirements[i], err);
    for (size_t i = 0; i < np->template_labels.n && !rc; i++)
        rc = launcher_reqs_add_in(&p->reqs, np->template_labels.v[i].key,
                                  np->template_labels.v[i].value, err);
    if (!rc)
        rc = launcher_reqs_add_in(&p->reqs, LAUNCHER_KEY_NODEPOOL, p->name, err);
    const char *region = launcher_offerings_region(s->off);
    if (!rc && region && *region)
        rc = launcher_reqs_add_in(&p->reqs, LAUNCHER_KEY_REGION, region, err);
    /* Like Karpenter: a pool that says nothing about capacity type launches on-demand. */
    if (!rc && !launcher_reqs_get(&p->reqs, LAUNCHER_KEY_CAPACITY_TYPE))
        rc = launcher_reqs_add_in(&p->reqs, LAUNCHER_KEY_CAPACITY_TYPE, LAUNCHER_CT_ON_DEMAND, err);
    if (rc == CORE_E_NOMEM)
        return rc;
    if (rc) {
        /* A NodePool the API let through but that makes no sense here serves nothing; the
         * other pools go on. */
        char buf[LAUNCHER_SCHED_REASON_MAX];
        snprintf(buf, sizeof(buf), "invalid NodePool: %.400s", err ? err->message : "bad requirement");
        core_err_clear(err);
        launcher_reqs_cleanup(&p->reqs);
        p->bad = core_strdup(buf);
        p->types = core_calloc(s->ntypes ? s->ntypes : 1, sizeof(*p->types));
        return p->bad && p->types ? 0 : CORE_E_NOMEM;
    }
    p->zmask = reqs_zmask(s, &p->reqs);
    p->ctmask = reqs_ctmask(&p->reqs);
    p->types = core_calloc(s->ntypes ? s->ntypes : 1, sizeof(*p->types));
    if (!p->types)
        return CORE_E_NOMEM;
    int conflict = launcher_reqs_conflict(&p->reqs) != NULL;

    struct launcher_alloc_opts ao = {0};
    if (nc) {
        if (nc->kubelet.has_max_pods)
            ao.max_pods = (int32_t)nc->kubelet.max_pods;
        if (nc->kubelet.has_pods_per_core)
            ao.pods_per_core = (int32_t)nc->kubelet.pods_per_core;
        ao.root_volume_bytes = root_volume_bytes(nc);
    }
    for (size_t ti = 0; ti < s->ntypes && !conflict; ti++) {
        const struct launcher_itype *t = launcher_catalog_at(s->cat, ti);
        struct ptype *pt = &p->types[ti];
        if (!launcher_reqs_admit_type(&p->reqs, t) || !type_offered(s, ti, p->zmask, p->ctmask))
            continue;
        int ok = 0;
        rc = ami_admits(nc, t, err, &ok);
        if (rc)
            return rc;
        if (!ok)
            continue;
        struct launcher_alloc a;
        if (launcher_allocatable(t, &ao, &a) != 0)
            continue;
        pt->avail.r[D_CPU] = a.cpu_milli;
        pt->avail.r[D_MEM] = a.memory_bytes;
        pt->avail.r[D_PODS] = a.pods;
        pt->avail.r[D_EPH] = a.ephemeral_bytes;
        for (size_t d = D_EXT; d < s->ndim; d++)
            pt->avail.r[d] = s->cap[ti].r[d];
        if (nc) {
            struct vec sr;
            (void)res_to_vec(s, &nc->kubelet.system_reserved, &sr, NULL);
            for (size_t d = 0; d < s->ndim; d++)
                pt->avail.r[d] -= sr.r[d];
        }
        for (size_t k = 0; k < s->in->ndaemonsets; k++) {
            const struct k8s_daemonset *d = s->in->daemonsets[k];
            int runs = 0;
            rc = ds_runs(d, p, t, err, &runs);
            if (rc)
                return rc;
            if (!runs)
                continue;
            struct vec dv;
            (void)res_to_vec(s, &d->spec.requests, &dv, NULL);
            vec_add(&pt->ds, &dv, s->ndim);
        }
        int positive = 1;
        for (size_t d = 0; d < s->ndim; d++) {
            pt->avail.r[d] -= pt->ds.r[d];
            if (d < D_EXT && pt->avail.r[d] <= 0)
                positive = 0;
        }
        pt->usable = positive;
    }
    /* Limits: what is left after what the pool already holds. */
    for (size_t i = 0; i < np->limits.n; i++) {
        const char *name = np->limits.v[i].name;
        int d = strcmp(name, "nodes") == 0 ? (int)NDIM_MAX : dim_index(s, name);
        if (d < 0)
            continue;
        int64_t lim = d == NDIM_MAX ? from_milli(D_PODS, np->limits.v[i].milli)
                                    : from_milli((size_t)d, np->limits.v[i].milli);
        int64_t used = 0;
        if (p->src->used) {
            int64_t um = k8s_res_get(p->src->used, name);
            used = d == NDIM_MAX ? from_milli(D_PODS, um) : from_milli((size_t)d, um);
        }
        p->has_limit[d] = 1;
        p->limit[d] = lim - used;
    }
    return 0;
}

/* Whether a type's capacity fits what is left of the pool's limits, given `extra` already
 * committed beyond p->committed (negative to discount a claim's own share). */
static int within_limits(const struct sched *s, const struct spool *p, size_t ti,
                         const struct vec *discount, int64_t discount_nodes)
{
    for (size_t d = 0; d < s->ndim; d++)
        if (p->has_limit[d] &&
            p->committed[d] - (discount ? discount->r[d] : 0) + s->cap[ti].r[d] > p->limit[d])
            return 0;
    if (p->has_limit[NDIM_MAX] &&
        p->committed[NDIM_MAX] - discount_nodes + 1 > p->limit[NDIM_MAX])
        return 0;
    return 1;
}

static int cmp_pool_order(const void *a, const void *b, void *ud)
{
    const struct spool *pools = ud;
    const struct spool *x = &pools[*(const size_t *)a], *y = &pools[*(const size_t *)b];
    int64_t wx = x->src->pool->weight, wy = y->src->pool->weight;
    if (wx != wy)
        return wx > wy ? -1 : 1;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->in < y->in ? -1 : x->in > y->in;
}

/* ------------------------------------------------------------------------------------------ */
/* Signatures                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static int sig_kv(struct core_buf *b, const struct k8s_labels *l)
{
    int rc = 0;
    for (size_t i = 0; l && i < l->n && !rc; i++)
        rc = core_buf_appendf(b, "%s=%s,", l->v[i].key, l->v[i].value);
    if (!rc)
        rc = core_buf_append_char(b, ';');
    return rc;
}

static int sig_strings(struct core_buf *b, const struct k8s_strings *v)
{
    int rc = 0;
    for (size_t i = 0; i < v->n && !rc; i++)
        rc = core_buf_appendf(b, "%s,", v->v[i]);
    if (!rc)
        rc = core_buf_append_char(b, ';');
    return rc;
}

static int sig_req(struct core_buf *b, const struct k8s_requirement *q)
{
    int rc = core_buf_appendf(b, "%s %d %lld[", q->key ? q->key : "", (int)q->op,
                              (long long)q->min_values);
    if (!rc)
        rc = sig_strings(b, &q->values);
    if (!rc)
        rc = core_buf_append_char(b, ']');
    return rc;
}

static int sig_term(struct core_buf *b, const struct k8s_node_selector_term *t)
{
    int rc = core_buf_append_char(b, '{');
    for (size_t i = 0; i < t->nexprs && !rc; i++)
        rc = sig_req(b, &t->exprs[i]);
    if (!rc)
        rc = core_buf_append_char(b, '|');
    for (size_t i = 0; i < t->nfields && !rc; i++)
        rc = sig_req(b, &t->fields[i]);
    if (!rc)
        rc = core_buf_append_char(b, '}');
    return rc;
}

static int sig_selector(struct core_buf *b, const struct k8s_label_selector *sel)
{
    int rc = core_buf_appendf(b, "<%d:", sel->present);
    if (!rc)
        rc = sig_kv(b, &sel->match_labels);
    for (size_t i = 0; i < sel->nexprs && !rc; i++)
        rc = sig_req(b, &sel->exprs[i]);
    if (!rc)
        rc = core_buf_append_char(b, '>');
    return rc;
}

static int sig_pod_term(struct core_buf *b, const struct k8s_pod_affinity_term *t)
{
    int rc = core_buf_appendf(b, "(%s ", t->topology_key ? t->topology_key : "");
    if (!rc)
        rc = sig_selector(b, &t->selector);
    if (!rc)
        rc = sig_strings(b, &t->namespaces);
    if (!rc)
        rc = sig_selector(b, &t->ns_selector);
    if (!rc)
        rc = core_buf_append_char(b, ')');
    return rc;
}

static int sig_pod_affinity(struct core_buf *b, const struct k8s_pod_affinity *a)
{
    int rc = core_buf_append_char(b, '[');
    for (size_t i = 0; i < a->nrequired && !rc; i++)
        rc = sig_pod_term(b, &a->required[i]);
    for (size_t i = 0; i < a->npreferred && !rc; i++) {
        rc = core_buf_appendf(b, "w%lld", (long long)a->preferred[i].weight);
        if (!rc)
            rc = sig_pod_term(b, &a->preferred[i].term);
    }
    if (!rc)
        rc = core_buf_append_char(b, ']');
    return rc;
}

/* Everything about a pod that its placement depends on, except its requests. */
static int pod_signature(struct core_buf *b, const struct k8s_pod *pod,
                         const struct launcher_volume_topo *vol)
{
    const struct k8s_pod_spec *sp = &pod->spec;
    core_buf_reset(b);
    int rc = core_buf_appendf(b, "ns=%s;", pod->meta.ns ? pod->meta.ns : "");
    if (!rc)
        rc = sig_kv(b, &pod->meta.labels);
    if (!rc)
        rc = sig_kv(b, &sp->node_selector);
    for (size_t i = 0; i < sp->affinity.node_required.nterms && !rc; i++)
        rc = sig_term(b, &sp->affinity.node_required.terms[i]);
    for (size_t i = 0; i < sp->affinity.nnode_preferred && !rc; i++) {
        rc = core_buf_appendf(b, "w%lld", (long long)sp->affinity.node_preferred[i].weight);
        if (!rc)
            rc = sig_term(b, &sp->affinity.node_preferred[i].preference);
    }
    if (!rc)
        rc = sig_pod_affinity(b, &sp->affinity.pod_affinity);
    if (!rc)
        rc = sig_pod_affinity(b, &sp->affinity.pod_anti_affinity);
    for (size_t i = 0; i < sp->ntolerations && !rc; i++) {
        const struct k8s_toleration *t = &sp->tolerations[i];
        rc = core_buf_appendf(b, "t%s/%d/%s/%d;", t->key ? t->key : "", (int)t->op,
                              t->value ? t->value : "", (int)t->effect);
    }
    for (size_t i = 0; i < sp->nspread && !rc; i++) {
        const struct k8s_spread *x = &sp->spread[i];
        rc = core_buf_appendf(b, "s%lld/%s/%d/%lld/%d/%d", (long long)x->max_skew,
                              x->topology_key ? x->topology_key : "", (int)x->when_unsatisfiable,
                              (long long)x->min_domains, (int)x->node_affinity_policy,
                              (int)x->node_taints_policy);
        if (!rc)
            rc = sig_selector(b, &x->selector);
        if (!rc)
            rc = sig_strings(b, &x->match_label_keys);
    }
    if (!rc)
        rc = core_buf_appendf(b, "v%zu:", vol->nalts);
    struct core_buf tmp;
    core_buf_init(&tmp, (size_t)1 << 20);
    for (size_t i = 0; i < vol->nalts && !rc; i++) {
        rc = render_reqs(&tmp, &vol->alts[i]);
        if (!rc)
            rc = core_buf_append_str(b, core_buf_cstr(&tmp));
    }
    core_buf_cleanup(&tmp);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Topology groups                                                                             */
/* ------------------------------------------------------------------------------------------ */

static int tkey_of(const char *key, enum tkey *out)
{
    const char *k = launcher_label_normalize(key ? key : "");
    if (strcmp(k, LAUNCHER_KEY_ZONE) == 0)
        *out = TK_ZONE;
    else if (strcmp(k, LAUNCHER_KEY_HOSTNAME) == 0)
        *out = TK_HOST;
    else if (strcmp(k, LAUNCHER_KEY_CAPACITY_TYPE) == 0)
        *out = TK_CT;
    else
        return 0;
    return 1;
}

static int selector_is_empty(const struct k8s_label_selector *sel)
{
    return sel->present && sel->match_labels.n == 0 && sel->nexprs == 0;
}

/* The namespaces a pod affinity term of `pod` looks at: *all or a list (owned by caller). */
static int term_scope(const struct sched *s, const struct k8s_pod *pod,
                      const struct k8s_pod_affinity_term *t, char ***ns, size_t *nns, int *all)
{
    *all = 0;
    *ns = NULL;
    *nns = 0;
    if (t->ns_selector.present && selector_is_empty(&t->ns_selector)) {
        *all = 1;
        return 0;
    }
    size_t cap = t->namespaces.n + 1 + (t->ns_selector.present ? s->in->nnamespaces : 0);
    char **v = core_calloc(cap, sizeof(*v));
    if (!v)
        return CORE_E_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < t->namespaces.n; i++)
        v[n++] = t->namespaces.v[i];
    if (t->ns_selector.present) {
        if (s->in->namespaces) {
            for (size_t i = 0; i < s->in->nnamespaces; i++)
                if (k8s_label_selector_matches(&t->ns_selector, s->in->namespaces[i].labels))
                    v[n++] = (char *)s->in->namespaces[i].name;
        } else if (pod->meta.ns) {
            v[n++] = pod->meta.ns;
        }
    }
    if (t->namespaces.n == 0 && !t->ns_selector.present && pod->meta.ns)
        v[n++] = pod->meta.ns;
    *ns = v;
    *nns = n;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The group for (key, scope, selector, extra); created when new. ns is borrowed strings in a
 * caller-owned array; the group copies what it keeps. */
static int group_get(struct sched *s, enum tkey key, char **ns, size_t nns, int all,
                     const struct k8s_label_selector *sel, const struct k8s_labels *extra,
                     size_t *gid)
{
    struct core_buf b;
    core_buf_init(&b, (size_t)1 << 20);
    qsort(ns, nns, sizeof(*ns), cmp_str);
    int rc = core_buf_appendf(&b, "%d|%d|", (int)key, all);
    for (size_t i = 0; i < nns && !rc; i++)
        rc = core_buf_appendf(&b, "%s,", ns[i]);
    if (!rc)
        rc = sig_selector(&b, sel);
    if (!rc)
        rc = sig_kv(&b, extra);
    if (rc)
        goto out;
    int found = 0;
    void *v = core_map_get(s->group_by_sig, core_buf_cstr(&b), &found);
    if (found) {
        *gid = (size_t)(intptr_t)v;
        goto out;
    }
    rc = grow((void **)&s->groups, &s->capgroups, s->ngroups + 1, sizeof(*s->groups));
    if (rc)
        goto out;
    struct group *g = &s->groups[s->ngroups];
    memset(g, 0, sizeof(*g));
    g->key = key;
    g->selector = sel;
    g->all_ns = all;
    g->sig = core_strdup(core_buf_cstr(&b));
    g->ns = core_calloc(nns ? nns : 1, sizeof(*g->ns));
    if (!g->sig || !g->ns) {
        core_free(g->sig);
        core_free(g->ns);
        rc = CORE_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < nns; i++) {
        if (i && strcmp(ns[i], ns[i - 1]) == 0)
            continue;
        g->ns[g->nns++] = ns[i]; /* borrowed from input pods/namespaces: they outlive s */
    }
    for (size_t i = 0; extra && i < extra->n && !rc; i++)
        rc = k8s_labels_set(&g->extra, extra->v[i].key, extra->v[i].value);
    s->ngroups++;
    if (!rc)
        rc = core_map_set(s->group_by_sig, g->sig, (void *)(intptr_t)(s->ngroups - 1), NULL);
    if (!rc)
        *gid = s->ngroups - 1;
out:
    core_buf_cleanup(&b);
    return rc;
}

static int group_matches(const struct group *g, const char *ns, const struct k8s_labels *labels)
{
    if (!g->all_ns) {
        int in = 0;
        for (size_t i = 0; i < g->nns && !in; i++)
            in = ns && strcmp(g->ns[i], ns) == 0;
        if (!in)
            return 0;
    }
    if (!k8s_label_selector_matches(g->selector, labels))
        return 0;
    for (size_t i = 0; i < g->extra.n; i++) {
        const char *v = k8s_labels_get(labels, g->extra.v[i].key);
        if (!v || strcmp(v, g->extra.v[i].value) != 0)
            return 0;
    }
    return 1;
}

static int term_con(struct sched *s, const struct k8s_pod *pod,
                    const struct k8s_pod_affinity_term *t, enum tkind kind, struct tcon *out,
                    int *supported)
{
    enum tkey key;
    *supported = tkey_of(t->topology_key, &key);
    if (!*supported)
        return 0;
    char **ns = NULL;
    size_t nns = 0;
    int all = 0;
    int rc = term_scope(s, pod, t, &ns, &nns, &all);
    if (rc)
        return rc;
    size_t gid = 0;
    rc = group_get(s, key, ns, nns, all, &t->selector, NULL, &gid);
    core_free(ns);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    out->group = gid;
    out->kind = kind;
    out->self_match = group_matches(&s->groups[gid], pod->meta.ns, &pod->meta.labels);
    return 0;
}

static int spread_con(struct sched *s, const struct k8s_pod *pod, const struct k8s_spread *x,
                      struct tcon *out, int *supported)
{
    enum tkey key;
    *supported = tkey_of(x->topology_key, &key);
    if (!*supported)
        return 0;
    struct k8s_labels extra = {0};
    int rc = 0;
    for (size_t i = 0; i < x->match_label_keys.n && !rc; i++) {
        const char *v = k8s_labels_get(&pod->meta.labels, x->match_label_keys.v[i]);
        if (v)
            rc = k8s_labels_set(&extra, x->match_label_keys.v[i], v);
    }
    char *ns = pod->meta.ns ? pod->meta.ns : (char *)"";
    size_t gid = 0;
    if (!rc)
        rc = group_get(s, key, &ns, 1, 0, &x->selector, &extra, &gid);
    k8s_labels_cleanup(&extra);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    out->group = gid;
    out->kind = TC_SPREAD;
    out->max_skew = x->max_skew > 0 ? x->max_skew : 1;
    out->min_domains = x->min_domains;
    out->honor_affinity = x->node_affinity_policy != K8S_POLICY_IGNORE;
    out->honor_taints = x->node_taints_policy == K8S_POLICY_HONOR;
    out->self_match = group_matches(&s->groups[gid], pod->meta.ns, &pod->meta.labels);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Classes and their constraint levels                                                         */
/* ------------------------------------------------------------------------------------------ */

static int cmp_relax(const void *a, const void *b)
{
    const struct relax *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->weight != y->weight)
        return x->weight < y->weight ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int class_relax_list(struct klass *c, const struct k8s_pod *pod)
{
    const struct k8s_pod_spec *sp = &pod->spec;
    size_t n = sp->affinity.pod_affinity.npreferred + sp->affinity.pod_anti_affinity.npreferred +
               sp->affinity.nnode_preferred + sp->nspread + 1;
    c->rx = core_calloc(n, sizeof(*c->rx));
    if (!c->rx)
        return CORE_E_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < sp->affinity.pod_affinity.npreferred; i++)
        c->rx[k++] = (struct relax){RX_POD_AFFINITY, i, sp->affinity.pod_affinity.preferred[i].weight};
    for (size_t i = 0; i < sp->affinity.pod_anti_affinity.npreferred; i++)
        c->rx[k++] =
            (struct relax){RX_POD_ANTI, i, sp->affinity.pod_anti_affinity.preferred[i].weight};
    for (size_t i = 0; i < sp->affinity.nnode_preferred; i++)
        c->rx[k++] = (struct relax){RX_NODE_PREF, i, sp->affinity.node_preferred[i].weight};
    for (size_t i = 0; i < sp->nspread; i++)
        if (sp->spread[i].when_unsatisfiable == K8S_SCHEDULE_ANYWAY)
            c->rx[k++] = (struct relax){RX_SPREAD_ANYWAY, i, 0};
    c->rx[k++] = (struct relax){RX_PREFER_TAINT, 0, 0};
    qsort(c->rx, k, sizeof(*c->rx), cmp_relax);
    c->nrx = k;
    c->levels = core_calloc(k + 1, sizeof(*c->levels));
    return c->levels ? 0 : CORE_E_NOMEM;
}

static int dropped(const struct klass *c, size_t level, enum relax_kind kind, size_t index)
{
    for (size_t i = 0; i < level && i < c->nrx; i++)
        if (c->rx[i].kind == kind && c->rx[i].index == index)
            return 1;
    return 0;
}

static int level_fail(struct level *lv, const char *what, const char *a, const char *b)
{
    char buf[LAUNCHER_SCHED_REASON_MAX];
    snprintf(buf, sizeof(buf), "%s%s%s", what, a ? a : "", b ? b : "");
    lv->bad = 1;
    core_free(lv->reason);
    lv->reason = core_strdup(buf);
    return lv->reason ? 0 : CORE_E_NOMEM;
}

static int is_known_key(const char *key)
{
    return launcher_label_index(key) >= 0 || strcmp(key, LAUNCHER_KEY_ZONE) == 0 ||
           strcmp(key, LAUNCHER_KEY_REGION) == 0 || strcmp(key, LAUNCHER_KEY_CAPACITY_TYPE) == 0 ||
           strcmp(key, LAUNCHER_KEY_NODEPOOL) == 0 || strcmp(key, LAUNCHER_KEY_HOSTNAME) == 0;
}

/* Whether alternative a may be served by a new NodeClaim of pool p; on 0, why in b. */
static int alt_fits_pool(const struct spool *p, const struct alt *a, struct core_buf *b)
{
    if (a->fields) {
        ignore(core_buf_append_str(b, "required node affinity selects nodes by metadata.name, "
                                      "which only an existing node can have"));
        return 0;
    }
    for (size_t i = 0; i < a->r.n; i++) {
        const struct launcher_req *q = &a->r.v[i];
        if (strcmp(q->key, LAUNCHER_KEY_HOSTNAME) == 0 && !q->absent_ok) {
            ignore(core_buf_appendf(b, "%s can only be met by an existing node", q->key));
            return 0;
        }
        if (!is_known_key(q->key) && !launcher_reqs_get(&p->reqs, q->key) && !q->absent_ok) {
            ignore(core_buf_appendf(b, "label %s is not defined by the NodePool", q->key));
            return 0;
        }
    }
    const char *key = NULL;
    if (!launcher_reqs_compatible(&p->reqs, &a->r, &key)) {
        const struct launcher_req *pq = launcher_reqs_get(&p->reqs, key);
        const struct launcher_req *aq = launcher_reqs_get(&a->r, key);
        ignore(core_buf_append_str(b, "the pod requires "));
        if (aq)
            ignore(launcher_req_describe(aq, b));
        ignore(core_buf_append_str(b, " but the NodePool has "));
        if (pq)
            ignore(launcher_req_describe(pq, b));
        return 0;
    }
    return 1;
}

static int build_alts(struct sched *s, struct klass *c, size_t L, struct level *lv,
                      const struct k8s_pod *pod, struct core_err *err)
{
    const struct k8s_pod_spec *sp = &pod->spec;
    struct launcher_reqs base = {0};
    struct launcher_reqs *cand = NULL;
    const struct k8s_node_selector_term **cfields = NULL;
    size_t ncand = 0;
    int rc = spec_reqs(sp, NULL, &base, err);
    for (size_t i = 0; i < sp->affinity.nnode_preferred && !rc; i++) {
        if (dropped(c, L, RX_NODE_PREF, i))
            continue;
        const struct k8s_node_selector_term *t = &sp->affinity.node_preferred[i].preference;
        for (size_t j = 0; j < t->nexprs && !rc; j++)
            rc = launcher_reqs_add(&base, &t->exprs[j], err);
    }
    size_t nterms = sp->affinity.node_required.nterms;
    size_t nvol = c->vol.nalts;
    size_t cap = (nterms ? nterms : 1) * (nvol ? nvol : 1);
    if (!rc) {
        cand = core_calloc(cap, sizeof(*cand));
        cfields = core_calloc(cap, sizeof(*cfields));
        if (!cand || !cfields)
            rc = CORE_E_NOMEM;
    }
    for (size_t i = 0; i < (nterms ? nterms : 1) && !rc; i++) {
        const struct k8s_node_selector_term *t =
            nterms ? &sp->affinity.node_required.terms[i] : NULL;
        if (t && t->nfields == 0 && t->nexprs == 0)
            continue; /* an empty term matches nothing */
        for (size_t v = 0; v < (nvol ? nvol : 1) && !rc; v++) {
            struct launcher_reqs *r = &cand[ncand];
            rc = launcher_reqs_copy(r, &base, err);
            for (size_t j = 0; t && j < t->nexprs && !rc; j++)
                rc = launcher_reqs_add(r, &t->exprs[j], err);
            if (!rc && nvol)
                rc = launcher_reqs_intersect(r, &c->vol.alts[v], err);
            cfields[ncand] = t && t->nfields ? t : NULL;
            ncand++;
        }
    }
    if (rc)
        goto out;
    lv->alts = core_calloc(ncand ? ncand : 1, sizeof(*lv->alts));
    if (!lv->alts) {
        rc = CORE_E_NOMEM;
        goto out;
    }
    const struct launcher_req *first_conflict = NULL;
    for (size_t i = 0; i < ncand; i++) {
        const struct launcher_req *q = launcher_reqs_conflict(&cand[i]);
        if (q) {
            if (!first_conflict) {
                core_buf_reset(&s->scratch);
                ignore(launcher_req_describe(q, &s->scratch));
                first_conflict = q;
            }
            continue;
        }
        struct alt *a = &lv->alts[lv->nalts++];
        a->r = cand[i];
        a->fields = cfields[i];
        memset(&cand[i], 0, sizeof(cand[i]));
        a->zmask = reqs_zmask(s, &a->r);
        a->ctmask = reqs_ctmask(&a->r);
        for (size_t j = 0; j < a->r.n && !a->type_keys; j++)
            a->type_keys = launcher_label_index(a->r.v[j].key) >= 0;
        rc = intern_reqs(s, &a->r, &a->id);
        if (rc)
            goto out;
    }
    if (lv->nalts == 0) {
        if (first_conflict)
            rc = level_fail(lv, "the pod's node requirements cannot all hold: ",
                            core_buf_cstr(&s->scratch), NULL);
        else
            rc = level_fail(lv, "required node affinity has no term a new node can meet", NULL,
                            NULL);
    }
out:
    for (size_t i = 0; i < ncand; i++)
        launcher_reqs_cleanup(&cand[i]);
    core_free(cand);
    core_free(cfields);
    launcher_reqs_cleanup(&base);
    return rc;
}

static int add_con(struct level *lv, size_t *cap, const struct tcon *t)
{
    if (lv->ncons == *cap) {
        size_t n = *cap ? *cap * 2 : 4;
        struct tcon *v = core_realloc(lv->cons, n * sizeof(*v));
        if (!v)
            return CORE_E_NOMEM;
        lv->cons = v;
        *cap = n;
    }
    lv->cons[lv->ncons++] = *t;
    return 0;
}

static int build_cons(struct sched *s, struct klass *c, size_t L, struct level *lv,
                      const struct k8s_pod *pod)
{
    const struct k8s_pod_spec *sp = &pod->spec;
    size_t cap = 0;
    int rc = 0, ok = 0;
    struct tcon t;
    for (size_t i = 0; i < sp->nspread && !rc && !lv->bad; i++) {
        const struct k8s_spread *x = &sp->spread[i];
        if (x->when_unsatisfiable == K8S_SCHEDULE_ANYWAY && dropped(c, L, RX_SPREAD_ANYWAY, i))
            continue;
        rc = spread_con(s, pod, x, &t, &ok);
        if (!rc && ok)
            rc = add_con(lv, &cap, &t);
        else if (!rc && x->when_unsatisfiable == K8S_DO_NOT_SCHEDULE)
            rc = level_fail(lv, "topology spread is supported on zone, hostname and capacity "
                                "type, not on ",
                            x->topology_key ? x->topology_key : "", NULL);
    }
    const struct k8s_pod_affinity *pa[2] = {&sp->affinity.pod_affinity,
                                            &sp->affinity.pod_anti_affinity};
    for (int k = 0; k < 2 && !rc && !lv->bad; k++) {
        enum tkind kind = k ? TC_ANTI : TC_AFFINITY;
        for (size_t i = 0; i < pa[k]->nrequired && !rc && !lv->bad; i++) {
            rc = term_con(s, pod, &pa[k]->required[i], kind, &t, &ok);
            if (!rc && ok)
                rc = add_con(lv, &cap, &t);
            else if (!rc)
                rc = level_fail(lv, k ? "pod anti-affinity is supported on zone, hostname and "
                                        "capacity type, not on "
                                      : "pod affinity is supported on zone, hostname and "
                                        "capacity type, not on ",
                                pa[k]->required[i].topology_key, NULL);
        }
        for (size_t i = 0; i < pa[k]->npreferred && !rc; i++) {
            if (dropped(c, L, k ? RX_POD_ANTI : RX_POD_AFFINITY, i))
                continue;
            rc = term_con(s, pod, &pa[k]->preferred[i].term, kind, &t, &ok);
            if (!rc && ok)
                rc = add_con(lv, &cap, &t);
        }
    }
    lv->host_cap = 0;
    for (size_t i = 0; i < lv->ncons; i++) {
        const struct tcon *x = &lv->cons[i];
        if (s->groups[x->group].key != TK_HOST || !x->self_match)
            continue;
        int64_t capn = x->kind == TC_SPREAD ? x->max_skew : x->kind == TC_ANTI ? 1 : 0;
        if (capn && (!lv->host_cap || capn < lv->host_cap))
            lv->host_cap = capn;
    }
    return rc;
}

static int build_level(struct sched *s, struct klass *c, size_t L, struct core_err *err)
{
    struct level *lv = &c->levels[L];
    if (lv->built)
        return 0;
    lv->built = 1;
    const struct k8s_pod *pod = s->in->pods[c->rep];
    lv->tol_prefer = dropped(c, L, RX_PREFER_TAINT, 0);
    int rc = build_alts(s, c, L, lv, pod, err);
    if (!rc && !lv->bad)
        rc = build_cons(s, c, L, lv, pod);
    if (rc || lv->bad)
        return rc;
    lv->pool_alt = core_calloc(s->npools * lv->nalts + 1, 1);
    lv->pool_reason = core_calloc(s->npools + 1, sizeof(*lv->pool_reason));
    if (!lv->pool_alt || !lv->pool_reason)
        return CORE_E_NOMEM;
    struct core_buf b;
    core_buf_init(&b, LAUNCHER_SCHED_REASON_MAX - 1);
    for (size_t p = 0; p < s->npools && !rc; p++) {
        const struct spool *sp = &s->pools[p];
        const struct k8s_nodepool *np = sp->src->pool;
        const struct k8s_taint *tt = NULL;
        core_buf_reset(&b);
        if (sp->bad) {
            ignore(core_buf_append_str(&b, sp->bad));
        } else if (untolerated(pod->spec.tolerations, pod->spec.ntolerations, np->taints, np->ntaints,
                        lv->tol_prefer, &tt)) {
            ignore(core_buf_append_str(&b, "the pod does not tolerate taint "));
            ignore(describe_taint(&b, tt));
        } else {
            int any = 0;
            for (size_t a = 0; a < lv->nalts; a++) {
                size_t mark = b.len;
                int fits = alt_fits_pool(sp, &lv->alts[a], &b);
                if (fits) {
                    lv->pool_alt[p * lv->nalts + a] = 1;
                    any = 1;
                } else if ((any || a > 0) && b.data) {
                    b.len = mark; /* keep only the first alternative's reason */
                    b.data[b.len] = '\0';
                }
            }
            if (any)
                continue;
        }
        lv->pool_reason[p] = core_strdup(core_buf_cstr(&b));
        if (!lv->pool_reason[p])
            rc = CORE_E_NOMEM;
    }
    core_buf_cleanup(&b);
    return rc;
}

static void level_cleanup(struct level *lv, size_t npools)
{
    for (size_t i = 0; i < lv->nalts; i++)
        launcher_reqs_cleanup(&lv->alts[i].r);
    core_free(lv->alts);
    core_free(lv->cons);
    core_free(lv->pool_alt);
    for (size_t p = 0; lv->pool_reason && p < npools; p++)
        core_free(lv->pool_reason[p]);
    core_free(lv->pool_reason);
    core_free(lv->reason);
}

/* ------------------------------------------------------------------------------------------ */
/* Nodes: existing capacity and the NodeClaims of this plan                                    */
/* ------------------------------------------------------------------------------------------ */

static struct gcount *gc_find(struct snode *n, size_t g, int create)
{
    for (size_t i = 0; i < n->ngc; i++)
        if (n->gc[i].group == g)
            return &n->gc[i];
    if (!create || grow((void **)&n->gc, &n->capgc, n->ngc + 1, sizeof(*n->gc)))
        return NULL;
    n->gc[n->ngc] = (struct gcount){g, 0, 0};
    return &n->gc[n->ngc++];
}

static int64_t gc_get(const struct snode *n, size_t g, int owners)
{
    for (size_t i = 0; n && i < n->ngc; i++)
        if (n->gc[i].group == g)
            return owners ? n->gc[i].owners : n->gc[i].matches;
    return 0;
}

static int domain_of(const struct group *g, const struct snode *n)
{
    return g->key == TK_ZONE ? n->zone : g->key == TK_CT ? n->ct : -1;
}

/* Counts a pod matching groups m[] and owning anti groups o[] onto node n. */
static int record(struct sched *s, struct snode *n, const size_t *m, size_t nm, const size_t *o,
                  size_t no)
{
    for (int pass = 0; pass < 2; pass++) {
        const size_t *v = pass ? o : m;
        size_t nv = pass ? no : nm;
        for (size_t i = 0; i < nv; i++) {
            struct group *g = &s->groups[v[i]];
            struct gcount *c = gc_find(n, v[i], 1);
            if (!c)
                return CORE_E_NOMEM;
            int dom = domain_of(g, n);
            if (pass) {
                c->owners++;
                g->total_owners++;
                if (dom >= 0)
                    g->owners[dom]++;
            } else {
                c->matches++;
                g->total_matches++;
                if (dom >= 0)
                    g->matches[dom]++;
            }
        }
    }
    return 0;
}

/* n's zone (or capacity type) just became known: its earlier counts now belong there. */
static void flush_domain(struct sched *s, struct snode *n, enum tkey key)
{
    for (size_t i = 0; i < n->ngc; i++) {
        struct group *g = &s->groups[n->gc[i].group];
        if (g->key != key)
            continue;
        int dom = domain_of(g, n);
        if (dom < 0)
            continue;
        g->matches[dom] += n->gc[i].matches;
        g->owners[dom] += n->gc[i].owners;
    }
}

static int new_node(struct sched *s, struct snode **out)
{
    int rc = grow((void **)&s->nodes, &s->capnodes, s->nnodes + 1, sizeof(*s->nodes));
    if (rc)
        return rc;
    struct snode *n = &s->nodes[s->nnodes++];
    memset(n, 0, sizeof(*n));
    n->zone = n->ct = -1;
    n->pool = -1;
    n->rid = -1;
    n->warm = -1;
    *out = n;
    return 0;
}

static int pool_by_name(const struct sched *s, const char *name)
{
    for (size_t p = 0; name && p < s->npools; p++)
        if (strcmp(s->pools[p].name, name) == 0)
            return (int)p;
    return -1;
}

static int prepare_existing(struct sched *s, struct core_err *err)
{
    for (size_t i = 0; i < s->in->nnodes; i++) {
        const struct launcher_sched_node *in = &s->in->nodes[i];
        struct snode *n = NULL;
        int rc = new_node(s, &n);
        if (rc)
            return rc;
        n->src = i;
        n->pool = pool_by_name(s, in->nodepool);
        n->labels = in->labels;
        n->taints = in->taints;
        n->ntaints = in->ntaints;
        n->closed = in->unschedulable;
        (void)res_to_vec(s, in->available, &n->avail, NULL);
        n->room = n->avail;
        n->zmask = (s->nzones >= 32 ? 0xffffffffu : ((1u << s->nzones) - 1));
        n->ctmask = (1u << LAUNCHER_CT_COUNT) - 1;
        if (in->labels) {
            const char *z = k8s_labels_get(in->labels, LAUNCHER_KEY_ZONE);
            if (!z)
                z = k8s_labels_get(in->labels, "topology.ebs.csi.aws.com/zone");
            n->zone = z ? launcher_offerings_zone_index(s->off, z) : -1;
            const char *ct = k8s_labels_get(in->labels, LAUNCHER_KEY_CAPACITY_TYPE);
            n->ct = ct ? launcher_ct_parse(ct) : -1;
        } else {
            struct launcher_reqs r = {0};
            for (size_t k = 0; k < in->nrequirements && !rc; k++)
                rc = launcher_reqs_add(&r, &in->requirements[k], err);
            if (!rc)
                rc = intern_reqs(s, &r, &n->rid);
            launcher_reqs_cleanup(&r);
            if (rc)
                return rc;
            n->zmask = reqs_zmask(s, &s->ireqs[n->rid]);
            n->ctmask = reqs_ctmask(&s->ireqs[n->rid]);
            if (popcount32(n->zmask) == 1)
                n->zone = lowest_bit(n->zmask);
            if (popcount32(n->ctmask) == 1)
                n->ct = lowest_bit(n->ctmask);
        }
        if (n->zone >= 0)
            n->zmask = 1u << n->zone;
        if (n->ct >= 0)
            n->ctmask = (uint8_t)(1u << n->ct);
        if (in->name && (rc = core_map_set(s->node_by_name, in->name, (void *)(intptr_t)i,
                                           NULL)) != 0)
            return rc;
    }
    s->nexisting = s->nnodes;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Topology checks                                                                             */
/* ------------------------------------------------------------------------------------------ */

/* Zone domains a spread may use: zones of pools the class can use (honouring its node
 * requirements and taints as the policies say) and of existing nodes. */
static uint32_t spread_domains(const struct sched *s, const struct level *lv, const struct tcon *t)
{
    uint32_t m = 0;
    for (size_t p = 0; p < s->npools; p++) {
        if (t->honor_taints && lv->pool_reason[p])
            continue;
        if (!t->honor_affinity) {
            m |= s->pools[p].zmask;
            continue;
        }
        for (size_t a = 0; a < lv->nalts; a++)
            if (lv->pool_alt[p * lv->nalts + a])
                m |= s->pools[p].zmask & lv->alts[a].zmask;
    }
    for (size_t i = 0; i < s->nexisting; i++)
        if (s->nodes[i].zone >= 0)
            m |= 1u << s->nodes[i].zone;
    return m;
}

struct verdict {
    uint32_t zmask;
    uint8_t ctmask;
    int narrow_zone;     /* a zonal constraint the pod owns: the node must get one zone */
    int narrow_ct;
    int spread_group;    /* the first zonal spread's group, -1: none (picks the zone) */
    const char *why;
};

static int check_one(const struct sched *s, const struct level *lv, const struct tcon *t,
                     const struct snode *n, struct verdict *v)
{
    const struct group *g = &s->groups[t->group];
    if (g->key == TK_HOST) {
        int64_t matches = gc_get(n, t->group, 0), owners = gc_get(n, t->group, 1);
        switch (t->kind) {
        case TC_SPREAD:
            if (matches + (t->self_match ? 1 : 0) > t->max_skew)
                return v->why = "hostname topology spread", 0;
            return 1;
        case TC_AFFINITY:
            if (g->total_matches == 0)
                return t->self_match ? 1 : (v->why = "no pod matches its hostname affinity", 0);
            return matches > 0 ? 1 : (v->why = "hostname pod affinity", 0);
        case TC_ANTI:
            return matches == 0 ? 1 : (v->why = "hostname pod anti-affinity", 0);
        case TC_ANTI_SYM:
            return owners == 0 ? 1 : (v->why = "another pod's hostname anti-affinity", 0);
        }
        return 1;
    }
    size_t ndom = g->key == TK_ZONE ? s->nzones : LAUNCHER_CT_COUNT;
    uint32_t all = g->key == TK_ZONE ? v->zmask : v->ctmask;
    uint32_t allowed = 0;
    switch (t->kind) {
    case TC_SPREAD: {
        uint32_t dom = g->key == TK_ZONE ? spread_domains(s, lv, t)
                                         : (uint32_t)((1u << LAUNCHER_CT_COUNT) - 1);
        int64_t min = INT64_MAX;
        for (size_t d = 0; d < ndom; d++)
            if ((dom & (1u << d)) && g->matches[d] < min)
                min = g->matches[d];
        if (min == INT64_MAX || popcount32(dom) < t->min_domains)
            min = 0;
        for (size_t d = 0; d < ndom; d++)
            if ((dom & (1u << d)) && g->matches[d] + (t->self_match ? 1 : 0) - min <= t->max_skew)
                allowed |= 1u << d;
        if (g->key == TK_ZONE && v->spread_group < 0)
            v->spread_group = (int)t->group;
        v->why = "topology spread";
        break;
    }
    case TC_AFFINITY: {
        int64_t total = 0;
        for (size_t d = 0; d < ndom; d++)
            total += g->matches[d];
        if (total == 0) {
            if (!t->self_match)
                return v->why = "no pod matches its pod affinity yet", 0;
            allowed = all;
        } else {
            for (size_t d = 0; d < ndom; d++)
                if (g->matches[d] > 0)
                    allowed |= 1u << d;
        }
        v->why = "pod affinity";
        break;
    }
    case TC_ANTI:
        for (size_t d = 0; d < ndom; d++)
            if (g->matches[d] == 0)
                allowed |= 1u << d;
        v->why = "pod anti-affinity";
        break;
    case TC_ANTI_SYM:
        for (size_t d = 0; d < ndom; d++)
            if (g->owners[d] == 0)
                allowed |= 1u << d;
        v->why = "another pod's anti-affinity";
        break;
    }
    if (g->key == TK_ZONE) {
        v->zmask &= allowed;
        v->narrow_zone = 1;
        return v->zmask != 0;
    }
    v->ctmask &= (uint8_t)allowed;
    v->narrow_ct = 1;
    return v->ctmask != 0;
}

/* Applies every topology constraint of the class at this level to node n (NULL = a new
 * node), narrowing v->zmask / v->ctmask. 0 when they cannot hold. */
static int topo_check(const struct sched *s, const struct klass *c, const struct level *lv,
                      const struct snode *n, struct verdict *v)
{
    v->narrow_zone = v->narrow_ct = 0;
    v->spread_group = -1;
    for (size_t i = 0; i < lv->ncons; i++)
        if (!check_one(s, lv, &lv->cons[i], n, v))
            return 0;
    for (size_t i = 0; i < c->nsgroups; i++) {
        struct tcon t = {.group = c->sgroups[i], .kind = TC_ANTI_SYM};
        if (!check_one(s, lv, &t, n, v))
            return 0;
    }
    if (v->narrow_zone && popcount32(v->zmask) > 1) {
        int best = -1;
        for (size_t z = 0; z < s->nzones; z++) {
            if (!(v->zmask & (1u << z)))
                continue;
            if (best < 0 || (v->spread_group >= 0 &&
                             s->groups[v->spread_group].matches[z] <
                                 s->groups[v->spread_group].matches[best]))
                best = (int)z;
        }
        v->zmask = 1u << best;
    }
    if (v->narrow_ct && popcount32(v->ctmask) > 1)
        v->ctmask = (uint8_t)(1u << lowest_bit(v->ctmask));
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Placing a pod                                                                               */
/* ------------------------------------------------------------------------------------------ */

struct fit {
    size_t alt;
    uint32_t zmask;
    uint8_t ctmask;
};

static int type_fits(const struct sched *s, const struct spool *p, size_t ti,
                     const struct vec *used, const struct vec *req)
{
    return vec_fits(used, req, &p->types[ti].avail, s->ndim);
}

/* Whether a node of type ti in pool p holds `used` altogether. */
static int holds(const struct sched *s, const struct spool *p, size_t ti, const struct vec *used)
{
    for (size_t d = 0; d < s->ndim; d++)
        if (used->r[d] > p->types[ti].avail.r[d])
            return 0;
    return 1;
}

/* Whether the min-values requirements of a claim still hold if it had `used` and the given
 * requirement id, zones and capacity types. */
static int minvalues_ok(struct sched *s, size_t pool, const struct cache_entry *T, int rid,
                        uint32_t zm, uint8_t ctm, const struct vec *used)
{
    const struct launcher_reqs *r = &s->ireqs[rid];
    const struct spool *p = &s->pools[pool];
    for (size_t i = 0; i < r->n; i++) {
        if (!r->v[i].min_values)
            continue;
        int li = launcher_label_index(r->v[i].key);
        if (li < 0)
            continue;
        size_t distinct = 0;
        const char **seen = (const char **)s->tmpd; /* ntypes pointers fit in ntypes doubles */
        for (size_t k = 0; k < T->n; k++) {
            size_t ti = (size_t)T->t[k];
            const struct launcher_itype *t = launcher_catalog_at(s->cat, ti);
            if (!launcher_reqs_admit_type(r, t) || !type_offered(s, ti, zm, ctm) ||
                !holds(s, p, ti, used))
                continue;
            const char *val = t->labels[li] ? t->labels[li] : "";
            size_t j = 0;
            while (j < distinct && strcmp(seen[j], val) != 0)
                j++;
            if (j == distinct)
                seen[distinct++] = val;
            if ((int64_t)distinct >= r->v[i].min_values)
                break;
        }
        if ((int64_t)distinct < r->v[i].min_values)
            return 0;
    }
    return 1;
}

/* Whether a node named `name` meets a term's metadata.name field requirements. */
static int fields_match(const struct k8s_node_selector_term *t, const char *name)
{
    struct k8s_kv kv = {(char *)"metadata.name", (char *)(name ? name : "")};
    struct k8s_labels l = {&kv, 1};
    for (size_t i = 0; i < t->nfields; i++) {
        if (!t->fields[i].key || strcmp(t->fields[i].key, "metadata.name") != 0)
            return 0;
        if (!k8s_requirement_matches(&t->fields[i], &l))
            return 0;
    }
    return 1;
}

/* Whether node n can never again take a pod of this class at this level: counts and usage
 * only grow, so a closed node, an unusable pool, or a saturated hostname constraint stays so. */
static int never_for(const struct sched *s, const struct level *lv, const struct klass *c,
                     const struct snode *n)
{
    if (n->closed || (n->claim && lv->pool_reason[n->pool]))
        return 1;
    for (size_t i = 0; i < lv->ncons; i++) {
        const struct tcon *t = &lv->cons[i];
        if (s->groups[t->group].key != TK_HOST)
            continue;
        if ((t->kind == TC_ANTI && gc_get(n, t->group, 0) > 0) ||
            (t->kind == TC_SPREAD && gc_get(n, t->group, 0) + t->self_match > t->max_skew))
            return 1;
    }
    for (size_t i = 0; i < c->nsgroups; i++)
        if (s->groups[c->sgroups[i]].key == TK_HOST && gc_get(n, c->sgroups[i], 1) > 0)
            return 1;
    return 0;
}

static int try_node(struct sched *s, const struct spod *pd, const struct klass *c,
                    const struct level *lv, struct snode *n, struct fit *f)
{
    if (n->closed)
        return 0;
    for (size_t d = 0; d < s->ndim; d++)
        if (pd->req.r[d] > n->room.r[d])
            return 0;
    const struct k8s_pod *pod = s->in->pods[pd->in];
    if (n->claim) {
        if (lv->pool_reason[n->pool])
            return 0;
    } else if (untolerated(pod->spec.tolerations, pod->spec.ntolerations, n->taints, n->ntaints,
                           lv->tol_prefer, NULL)) {
        return 0;
    }
    for (size_t a = 0; a < lv->nalts; a++) {
        const struct alt *al = &lv->alts[a];
        if (al->fields && (n->claim || !fields_match(al->fields, s->in->nodes[n->src].name)))
            continue;
        if (n->claim) {
            if (!lv->pool_alt[(size_t)n->pool * lv->nalts + a] || !compat(s, n->rid, al))
                continue;
        } else if (n->labels) {
            if (!launcher_reqs_match_labels(&al->r, n->labels))
                continue;
        } else if (!compat(s, n->rid, al)) {
            continue;
        }
        struct verdict v = {.zmask = n->zmask, .ctmask = n->ctmask};
        if (n->claim || !n->labels) {
            v.zmask &= al->zmask;
            v.ctmask &= al->ctmask;
        }
        if (!v.zmask || !v.ctmask || !topo_check(s, c, lv, n, &v))
            continue;
        if (!n->claim) {
            if ((v.narrow_zone && n->zone < 0 && n->labels) ||
                !vec_fits(&n->used, &pd->req, &n->avail, s->ndim))
                continue;
            *f = (struct fit){a, v.zmask, v.ctmask};
            return 1;
        }
        const struct spool *p = &s->pools[n->pool];
        int narrowed = v.zmask != n->zmask || v.ctmask != n->ctmask;
        int any = 0;
        for (size_t k = 0; k < n->ng && !any; k++) {
            size_t ti = (size_t)n->g[k];
            if (al->type_keys && !launcher_reqs_admit_type(&al->r, launcher_catalog_at(s->cat, ti)))
                continue;
            if (narrowed && n->warm < 0 && !type_offered(s, ti, v.zmask, v.ctmask))
                continue;
            any = type_fits(s, p, ti, &n->used, &pd->req);
        }
        if (!any)
            continue;
        if (n->has_min_values) {
            struct vec u = n->used;
            vec_add(&u, &pd->req, s->ndim);
            int rid = 0;
            if (meet(s, n->rid, al->id, &rid) ||
                !minvalues_ok(s, (size_t)n->pool, n->topen, rid, v.zmask, v.ctmask, &u))
                continue;
        }
        *f = (struct fit){a, v.zmask, v.ctmask};
        return 1;
    }
    return 0;
}

static void claim_room(struct sched *s, struct snode *n)
{
    const struct spool *p = &s->pools[n->pool];
    struct vec room = {{0}}, maxcap = {{0}};
    for (size_t k = 0; k < n->ng; k++) {
        size_t ti = (size_t)n->g[k];
        for (size_t d = 0; d < s->ndim; d++) {
            int64_t r = p->types[ti].avail.r[d] - n->used.r[d];
            if (r > room.r[d])
                room.r[d] = r;
            if (s->cap[ti].r[d] > maxcap.r[d])
                maxcap.r[d] = s->cap[ti].r[d];
        }
    }
    n->room = room;
    struct spool *wp = &s->pools[n->pool];
    for (size_t d = 0; d < s->ndim; d++) {
        wp->committed[d] += maxcap.r[d] - n->maxcap.r[d];
    }
    n->maxcap = maxcap;
}

static int commit(struct sched *s, struct spod *pd, struct klass *c, const struct level *lv,
                  struct snode *n, const struct fit *f)
{
    int rc = 0;
    vec_add(&n->used, &pd->req, s->ndim);
    int zone_was = n->zone, ct_was = n->ct;
    if (n->claim || !n->labels) {
        const struct alt *al = &lv->alts[f->alt];
        int rid = n->rid;
        if (n->claim && (rc = meet(s, rid, al->id, &rid)) != 0)
            return rc;
        if (n->claim && f->zmask != n->zmask && popcount32(f->zmask) == 1 &&
            (rc = meet(s, rid, s->zone_id[lowest_bit(f->zmask)], &rid)) != 0)
            return rc;
        if (n->claim && f->ctmask != n->ctmask && popcount32(f->ctmask) == 1 &&
            (rc = meet(s, rid, s->ct_id[lowest_bit(f->ctmask)], &rid)) != 0)
            return rc;
        if (n->claim) {
            n->rid = rid;
            n->zmask = f->zmask;
            n->ctmask = f->ctmask;
            if (popcount32(n->zmask) == 1)
                n->zone = lowest_bit(n->zmask);
            if (popcount32(n->ctmask) == 1)
                n->ct = lowest_bit(n->ctmask);
        }
    }
    if (n->claim) {
        const struct spool *p = &s->pools[n->pool];
        const struct launcher_reqs *r = &s->ireqs[n->rid];
        int tk = 0;
        for (size_t i = 0; i < r->n && !tk; i++)
            tk = launcher_label_index(r->v[i].key) >= 0;
        size_t k = 0;
        for (size_t i = 0; i < n->ng; i++) {
            size_t ti = (size_t)n->g[i];
            if (tk && !launcher_reqs_admit_type(r, launcher_catalog_at(s->cat, ti)))
                continue;
            if (n->warm < 0 && !type_offered(s, ti, n->zmask, n->ctmask))
                continue;
            if (!holds(s, p, ti, &n->used))
                continue;
            n->g[k++] = n->g[i];
        }
        n->ng = k;
        claim_room(s, n);
        n->has_min_values = 0;
        for (size_t i = 0; i < r->n; i++)
            n->has_min_values |= r->v[i].min_values > 0;
    } else {
        for (size_t d = 0; d < s->ndim; d++)
            n->room.r[d] = n->avail.r[d] - n->used.r[d];
    }
    if (zone_was < 0 && n->zone >= 0)
        flush_domain(s, n, TK_ZONE);
    if (ct_was < 0 && n->ct >= 0)
        flush_domain(s, n, TK_CT);
    rc = record(s, n, c->mgroups, c->nmgroups, c->ogroups, c->nogroups);
    if (rc)
        return rc;
    rc = grow((void **)&n->pods, &n->cappods, n->npods + 1, sizeof(*n->pods));
    if (rc)
        return rc;
    n->pods[n->npods++] = (size_t)(pd - s->pods);
    for (size_t d = 0; d < s->ndim; d++)
        c->remaining.r[d] -= pd->req.r[d];
    c->nremaining--;
    for (size_t d = 0; d < s->ndim; d++)
        if (n->room.r[d] < s->min_req[d] || n->room.r[D_PODS] < 1)
            n->closed = 1;
    return 0;
}

/* A new cache entry with room for every type, registered under key. */
static int cache_new(struct sched *s, const char *key, int ranked, struct cache_entry **out)
{
    int rc = grow((void **)&s->tcache_all, &s->captcache, s->ntcache + 1, sizeof(*s->tcache_all));
    if (rc)
        return rc;
    struct cache_entry *e = core_calloc(1, sizeof(*e));
    if (!e)
        return CORE_E_NOMEM;
    s->tcache_all[s->ntcache++] = e;
    e->t = core_calloc(s->ntypes ? s->ntypes : 1, sizeof(*e->t));
    if (ranked)
        e->v = core_calloc(s->ntypes ? s->ntypes : 1, sizeof(*e->v));
    if (!e->t || (ranked && !e->v))
        return CORE_E_NOMEM;
    rc = core_map_set(s->tcache, key, e, NULL);
    if (!rc)
        *out = e;
    return rc;
}

/* The types of pool p that alternative a admits and that are offered where both allow
 * (cached per pool and alternative id). */
static int types_for(struct sched *s, size_t p, const struct alt *a, const struct cache_entry **out)
{
    char key[48];
    snprintf(key, sizeof(key), "T/%zu/%d", p, a->id);
    struct cache_entry *e = core_map_get(s->tcache, key, NULL);
    if (e) {
        *out = e;
        return 0;
    }
    int rc = cache_new(s, key, 0, &e);
    if (rc)
        return rc;
    const struct spool *sp = &s->pools[p];
    uint32_t zm = sp->zmask & a->zmask;
    uint8_t ctm = sp->ctmask & a->ctmask;
    for (size_t ti = 0; ti < s->ntypes; ti++) {
        if (!sp->types[ti].usable || !type_offered(s, ti, zm, ctm))
            continue;
        if (a->type_keys && !launcher_reqs_admit_type(&a->r, launcher_catalog_at(s->cat, ti)))
            continue;
        e->t[e->n++] = (int32_t)ti;
    }
    *out = e;
    return 0;
}

static int cmp_ranked(const void *a, const void *b, void *ud)
{
    const struct sched *s = ud;
    const struct priced *x = a, *y = b;
    if (x->price != y->price)
        return x->price < y->price ? -1 : 1;
    return strcmp(launcher_catalog_at(s->cat, (size_t)x->ti)->name,
                  launcher_catalog_at(s->cat, (size_t)y->ti)->name);
}

/* Sorts e's (type, value) pairs by value, then type name. */
static int rank_entry(struct sched *s, struct cache_entry *e)
{
    struct priced *tmp = core_calloc(e->n + 1, sizeof(*tmp));
    if (!tmp)
        return CORE_E_NOMEM;
    for (size_t i = 0; i < e->n; i++)
        tmp[i] = (struct priced){e->t[i], e->v[i], NULL};
    qsort_r(tmp, e->n, sizeof(*tmp), cmp_ranked, s);
    for (size_t i = 0; i < e->n; i++) {
        e->t[i] = tmp[i].ti;
        e->v[i] = tmp[i].price;
    }
    core_free(tmp);
    return 0;
}

/* The types of T offered in (zm, ctm), ranked by cost per unit of the class's demand (see
 * open_claim); cached per class, level, pool, alternative, zones and capacity types. */
/* The share of its vCPUs a burstable type sustains (its baseline), by size; 1 for every other
 * type. From EC2's published baselines for t3/t3a/t4g (t2 is close enough). Used only to rank
 * what a NodeClaim may grow into: a pod's CPU request on a burstable node is only as good as
 * the baseline once the credits are spent. */
static double cpu_baseline(const struct launcher_itype *t)
{
    if (strcmp(t->category, "t") != 0)
        return 1.0;
    static const struct {
        const char *size;
        double share;
    } tab[] = {{"nano", 0.05},  {"micro", 0.10}, {"small", 0.20},  {"medium", 0.20},
               {"large", 0.30}, {"xlarge", 0.40}, {"2xlarge", 0.40}};
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
        if (strcmp(t->size, tab[i].size) == 0)
            return tab[i].share;
    return 0.40;
}

/* Whether the class's pods must share one node (required hostname pod affinity that they
 * match themselves). */
static int colocated(const struct sched *s, const struct level *lv)
{
    for (size_t i = 0; i < lv->ncons; i++)
        if (lv->cons[i].kind == TC_AFFINITY && lv->cons[i].self_match &&
            s->groups[lv->cons[i].group].key == TK_HOST)
            return 1;
    return 0;
}

static int ranked_for(struct sched *s, const struct klass *c, const struct level *lv, size_t p,
                      const struct alt *a, const struct cache_entry *T, uint32_t zm, uint8_t ctm,
                      unsigned dims, const struct cache_entry **out)
{
    char key[112];
    snprintf(key, sizeof(key), "G/%zu/%zu/%zu/%d/%x/%x/%x", (size_t)(c - s->classes),
             (size_t)(lv - c->levels), p, a->id, zm, (unsigned)ctm, dims);
    struct cache_entry *e = core_map_get(s->tcache, key, NULL);
    if (e) {
        *out = e;
        return 0;
    }
    int rc = cache_new(s, key, 1, &e);
    if (rc)
        return rc;
    const struct spool *sp = &s->pools[p];
    /* The demand: everything the class asks for in this batch, or for a class limited to a few
     * pods per node, what one node may hold of it. */
    struct vec D = c->total;
    if (lv->host_cap > 0 && c->ntotal > 0) {
        int64_t k = lv->host_cap < (int64_t)c->ntotal ? lv->host_cap : (int64_t)c->ntotal;
        for (size_t d = 0; d < s->ndim; d++)
            D.r[d] = (c->total.r[d] + (int64_t)c->ntotal - 1) / (int64_t)c->ntotal * k;
    }
    /* Only the resources the pod at hand asks for: a class mixes pods that differ only in
     * their requests, and a GPU in a sibling's request must not rule out every other type. */
    for (size_t d = 0; d < s->ndim; d++)
        if (!(dims & (1u << d)))
            D.r[d] = 0;
    int together = colocated(s, lv);
    double best_frac = 0;
    for (size_t k = 0; k < T->n; k++) {
        size_t ti = (size_t)T->t[k];
        if (!type_offered(s, ti, zm, ctm))
            continue;
        double frac = 1.0;
        for (size_t d = 0; d < s->ndim; d++)
            if (D.r[d] > 0) {
                double have = (double)sp->types[ti].avail.r[d];
                if (d == D_CPU)
                    have *= cpu_baseline(launcher_catalog_at(s->cat, ti));
                double f = have / (double)D.r[d];
                if (f < frac)
                    frac = f;
            }
        if (frac <= 0)
            continue;
        if (frac > best_frac)
            best_frac = frac;
        e->t[e->n] = (int32_t)ti;
        e->v[e->n] = type_price(s, ti, zm, ctm) / frac;
        /* Pods that must share a node: only the types that hold them all (or, when none does,
         * the largest) may be grown into; the value keeps the frac for the filter below. */
        if (together)
            s->tmpd[e->n] = frac;
        e->n++;
    }
    if (together) {
        size_t kept = 0;
        double need = best_frac >= 1.0 ? 1.0 : best_frac;
        for (size_t k = 0; k < e->n; k++)
            if (s->tmpd[k] >= need) {
                e->t[kept] = e->t[k];
                e->v[kept++] = e->v[k];
            }
        e->n = kept;
    }
    if ((rc = rank_entry(s, e)) != 0)
        return rc;
    *out = e;
    return 0;
}

/* Every type pool p may launch for requirement set rid in (zm, ctm), cheapest first (cached). */
static int priced_for(struct sched *s, size_t p, int rid, uint32_t zm, uint8_t ctm,
                      const struct cache_entry **out)
{
    char key[64];
    snprintf(key, sizeof(key), "F/%zu/%d/%x/%x", p, rid, zm, (unsigned)ctm);
    struct cache_entry *e = core_map_get(s->tcache, key, NULL);
    if (e) {
        *out = e;
        return 0;
    }
    int rc = cache_new(s, key, 1, &e);
    if (rc)
        return rc;
    const struct spool *sp = &s->pools[p];
    const struct launcher_reqs *r = &s->ireqs[rid];
    for (size_t ti = 0; ti < s->ntypes; ti++) {
        if (!sp->types[ti].usable || !type_offered(s, ti, zm, ctm) ||
            !launcher_reqs_admit_type(r, launcher_catalog_at(s->cat, ti)))
            continue;
        e->t[e->n] = (int32_t)ti;
        e->v[e->n++] = type_price(s, ti, zm, ctm);
    }
    if ((rc = rank_entry(s, e)) != 0)
        return rc;
    *out = e;
    return 0;
}

static int fmt_qty(struct core_buf *b, size_t d, int64_t v)
{
    if (d == D_CPU)
        return core_buf_appendf(b, "%lldm", (long long)v);
    if (d == D_MEM || d == D_EPH)
        return core_buf_appendf(b, "%lldMi", (long long)((v + MIB - 1) / MIB));
    return core_buf_appendf(b, "%lld", (long long)v);
}

/* Why no type of T holds the pod: the resources no single type has room for. */
static void why_no_type(const struct sched *s, const struct spool *p, const struct cache_entry *T,
                        const struct spod *pd, uint32_t zm, uint8_t ctm, int limited,
                        struct core_buf *b)
{
    if (limited) {
        ignore(core_buf_append_str(b, "its limits leave no room"));
        return;
    }
    struct vec best = {{0}};
    size_t offered = 0;
    for (size_t k = 0; k < T->n; k++) {
        size_t ti = (size_t)T->t[k];
        if (!type_offered(s, ti, zm, ctm))
            continue;
        offered++;
        for (size_t d = 0; d < s->ndim; d++)
            if (p->types[ti].avail.r[d] > best.r[d])
                best.r[d] = p->types[ti].avail.r[d];
    }
    if (!offered) {
        ignore(core_buf_append_str(b, "no instance type meets the requirements where it is "
                                     "offered"));
        return;
    }
    int named = 0;
    for (size_t d = 0; d < s->ndim; d++)
        named |= pd->req.r[d] > best.r[d];
    if (!named) { /* each resource fits some type, but no type holds them all */
        ignore(core_buf_append_str(b, "no single instance type holds all of the pod's requests"));
        return;
    }
    ignore(core_buf_append_str(b, "no instance type has room for"));
    for (size_t d = 0; d < s->ndim; d++) {
        if (pd->req.r[d] <= best.r[d])
            continue;
        ignore(core_buf_appendf(b, " %s ", dim_name(s, d)));
        ignore(fmt_qty(b, d, pd->req.r[d]));
        ignore(core_buf_append_str(b, " (largest "));
        ignore(fmt_qty(b, d, best.r[d]));
        ignore(core_buf_append_char(b, ')'));
    }
}

static int cmp_cap_desc(const void *a, const void *b, void *ud)
{
    const struct vec *cap = ud;
    const struct vec *x = &cap[*(const int32_t *)a], *y = &cap[*(const int32_t *)b];
    if (x->r[D_CPU] != y->r[D_CPU])
        return x->r[D_CPU] > y->r[D_CPU] ? -1 : 1;
    if (x->r[D_MEM] != y->r[D_MEM])
        return x->r[D_MEM] > y->r[D_MEM] ? -1 : 1;
    return *(const int32_t *)a < *(const int32_t *)b ? -1 : 1;
}

/* A free warm instance of pool p for the pod, or -1. */
static long pick_warm(struct sched *s, size_t p, const struct alt *a, const struct spod *pd,
                      uint32_t zm, uint8_t ctm)
{
    const struct spool *sp = &s->pools[p];
    long best = -1;
    double best_price = HUGE_VAL;
    for (size_t w = 0; w < s->in->nwarm; w++) {
        if (s->warm_used[w] || s->warm_type[w] < 0 || s->warm_zone[w] < 0)
            continue;
        const struct launcher_warm *wi = &s->in->warm[w];
        if (!wi->nodepool || strcmp(wi->nodepool, sp->name) != 0)
            continue;
        size_t ti = (size_t)s->warm_type[w];
        const struct launcher_itype *t = launcher_catalog_at(s->cat, ti);
        if (!sp->types[ti].usable || !(zm & (1u << s->warm_zone[w])) ||
            !(ctm & (1u << wi->capacity_type)))
            continue;
        if (!launcher_reqs_admit_type(&sp->reqs, t) ||
            (a->type_keys && !launcher_reqs_admit_type(&a->r, t)))
            continue;
        if (!type_fits(s, sp, ti, &(struct vec){{0}}, &pd->req) ||
            !within_limits(s, sp, ti, NULL, 0))
            continue;
        double price = t->od_price_usd_hr > 0 ? t->od_price_usd_hr : HUGE_VAL / 2;
        if (best < 0 || price < best_price ||
            (price == best_price && strcmp(wi->id, s->in->warm[best].id) < 0)) {
            best = (long)w;
            best_price = price;
        }
    }
    return best;
}

/* Opens a NodeClaim for the pod in the first pool that can take it. 1 opened, 0 not (why in
 * b), negative on error. */
static int open_claim(struct sched *s, struct spod *pd, struct klass *c, const struct level *lv,
                      struct core_buf *b)
{
    for (size_t oi = 0; oi < s->npools; oi++) {
        size_t p = s->pool_order[oi];
        struct spool *sp = &s->pools[p];
        size_t mark = b->len;
        if (b->len)
            ignore(core_buf_append_str(b, "; "));
        ignore(core_buf_appendf(b, "nodepool %s: ", sp->name));
        if (lv->pool_reason[p]) {
            ignore(core_buf_append_str(b, lv->pool_reason[p]));
            continue;
        }
        size_t mark_pool = b->len;
        for (size_t a = 0; a < lv->nalts; a++) {
            if (!lv->pool_alt[p * lv->nalts + a])
                continue;
            const struct alt *al = &lv->alts[a];
            b->len = mark_pool;
            b->data[b->len] = '\0';
            const struct cache_entry *T = NULL;
            int rc = types_for(s, p, al, &T);
            if (rc)
                return rc;
            struct verdict v = {.zmask = sp->zmask & al->zmask, .ctmask = sp->ctmask & al->ctmask};
            if (!v.zmask || !v.ctmask) {
                ignore(core_buf_append_str(b, "no zone or capacity type both allow"));
                continue;
            }
            if (!topo_check(s, c, lv, NULL, &v)) {
                ignore(core_buf_appendf(b, "%s cannot be met", v.why ? v.why : "topology"));
                continue;
            }
            int rid = 0;
            if ((rc = meet(s, sp->rid, al->id, &rid)) != 0)
                return rc;
            long w = s->in->nwarm ? pick_warm(s, p, al, pd, v.zmask, v.ctmask) : -1;
            size_t ng = 0;
            int limited = 0;
            if (w < 0) {
                /* Cold: the ranked types that hold the pod, within the slack of the best. */
                const struct cache_entry *R = NULL;
                unsigned dims = 0;
                for (size_t d = 0; d < s->ndim; d++)
                    if (pd->req.r[d] > 0)
                        dims |= 1u << d;
                if ((rc = ranked_for(s, c, lv, p, al, T, v.zmask, v.ctmask, dims, &R)) != 0)
                    return rc;
                double best = -1;
                for (size_t k = 0; k < R->n; k++) {
                    size_t ti = (size_t)R->t[k];
                    if (best >= 0 && R->v[k] > best * (1.0 + s->slack))
                        break;
                    if (!type_fits(s, sp, ti, &(struct vec){{0}}, &pd->req))
                        continue;
                    if (!within_limits(s, sp, ti, NULL, 0)) {
                        limited = 1;
                        continue;
                    }
                    if (best < 0)
                        best = R->v[k];
                    s->tmp[ng++] = (int32_t)ti;
                }
                if (ng == 0) {
                    why_no_type(s, sp, T, pd, v.zmask, v.ctmask, limited, b);
                    continue;
                }
                const struct launcher_reqs *rr = &s->ireqs[rid];
                int mv = 0;
                for (size_t k = 0; k < rr->n && !mv; k++)
                    mv = rr->v[k].min_values > 0;
                if (mv && !minvalues_ok(s, p, T, rid, v.zmask, v.ctmask, &pd->req)) {
                    ignore(core_buf_append_str(b, "too few instance types hold the pod to meet "
                                                  "the requirements' minValues"));
                    continue;
                }
            }
            /* Open it. */
            struct snode *n = NULL;
            if ((rc = new_node(s, &n)) != 0)
                return rc;
            n->claim = 1;
            n->src = (size_t)-1;
            n->pool = (int)p;
            n->rid = rid;
            n->zmask = sp->zmask;
            n->ctmask = sp->ctmask;
            n->topen = T;
            n->warm = w;
            struct fit f = {a, v.zmask, v.ctmask};
            if (w >= 0) {
                s->warm_used[w] = 1;
                n->g = core_malloc(sizeof(*n->g));
                if (!n->g)
                    return CORE_E_NOMEM;
                n->g[0] = s->warm_type[w];
                n->ng = 1;
                f.zmask = 1u << s->warm_zone[w];
                f.ctmask = (uint8_t)(1u << s->in->warm[w].capacity_type);
            } else {
                qsort_r(s->tmp, ng, sizeof(*s->tmp), cmp_cap_desc, s->cap);
                n->g = core_malloc(ng * sizeof(*n->g));
                if (!n->g)
                    return CORE_E_NOMEM;
                memcpy(n->g, s->tmp, ng * sizeof(*n->g));
                n->ng = ng;
            }
            s->pools[p].committed[NDIM_MAX]++;
            n->maxcap_nodes = 1;
            b->len = mark;
            b->data[b->len] = '\0';
            rc = commit(s, pd, c, lv, n, &f);
            return rc ? rc : 1;
        }
    }
    if (s->npools == 0)
        ignore(core_buf_append_str(b, "no NodePool"));
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Preparing pods and classes                                                                  */
/* ------------------------------------------------------------------------------------------ */

static int class_for(struct sched *s, size_t i, struct launcher_volume_topo *vol, size_t *out,
                     struct core_err *err)
{
    const struct k8s_pod *pod = s->in->pods[i];
    int rc = pod_signature(&s->scratch, pod, vol);
    if (rc)
        return rc;
    int found = 0;
    void *v = core_map_get(s->class_by_sig, core_buf_cstr(&s->scratch), &found);
    if (found) {
        *out = (size_t)(intptr_t)v;
        return 0;
    }
    rc = grow((void **)&s->classes, &s->capclasses, s->nclasses + 1, sizeof(*s->classes));
    if (rc)
        return rc;
    struct klass *c = &s->classes[s->nclasses];
    memset(c, 0, sizeof(*c));
    c->rep = i;
    c->vol = *vol;
    memset(vol, 0, sizeof(*vol));
    c->sig = core_strdup(core_buf_cstr(&s->scratch));
    if (!c->sig)
        return CORE_E_NOMEM;
    s->nclasses++;
    rc = core_map_set(s->class_by_sig, c->sig, (void *)(intptr_t)(s->nclasses - 1), NULL);
    if (!rc)
        rc = class_relax_list(c, pod);
    if (!rc)
        rc = build_level(s, c, 0, err);
    /* Groups of the required anti-affinity terms the class's pods own. */
    const struct k8s_pod_affinity *anti = &pod->spec.affinity.pod_anti_affinity;
    if (!rc && anti->nrequired) {
        c->ogroups = core_calloc(anti->nrequired, sizeof(*c->ogroups));
        if (!c->ogroups)
            rc = CORE_E_NOMEM;
    }
    for (size_t k = 0; !rc && k < anti->nrequired; k++) {
        struct tcon t;
        int ok = 0;
        rc = term_con(s, pod, &anti->required[k], TC_ANTI, &t, &ok);
        if (!rc && ok) {
            c->ogroups[c->nogroups++] = t.group;
            s->groups[t.group].anti_owned = 1;
        }
    }
    if (!rc)
        *out = s->nclasses - 1;
    return rc;
}

static int prepare_pods(struct sched *s, struct core_err *err)
{
    s->pods = core_calloc(s->in->npods ? s->in->npods : 1, sizeof(*s->pods));
    if (!s->pods)
        return CORE_E_NOMEM;
    s->npods = s->in->npods;
    for (size_t i = 0; i < s->in->npods; i++) {
        struct spod *pd = &s->pods[i];
        const struct k8s_pod *pod = s->in->pods[i];
        pd->in = i;
        pd->klass = (size_t)-1;
        const char *unknown = NULL;
        if (res_to_vec(s, &pod->spec.requests, &pd->req, &unknown) != 0) {
            char buf[LAUNCHER_SCHED_REASON_MAX];
            snprintf(buf, sizeof(buf),
                     "requests extended resource %s beyond the %d distinct ones one batch tracks",
                     unknown, NEXT_MAX);
            if (!(pd->bad = core_strdup(buf)))
                return CORE_E_NOMEM;
            continue;
        }
        if (pd->req.r[D_PODS] < 1)
            pd->req.r[D_PODS] = 1;
        struct launcher_volume_topo vol = {0};
        if (pod->spec.claims.n) {
            int rc = launcher_volume_topology(pod, s->in, &vol, err);
            if (rc)
                return rc;
            if (vol.reason[0]) {
                pd->bad = core_strdup(vol.reason);
                launcher_volume_topo_cleanup(&vol);
                if (!pd->bad)
                    return CORE_E_NOMEM;
                continue;
            }
        }
        size_t k = 0;
        int rc = class_for(s, i, &vol, &k, err);
        launcher_volume_topo_cleanup(&vol);
        if (rc)
            return rc;
        pd->klass = k;
        vec_add(&s->classes[k].remaining, &pd->req, s->ndim);
        vec_add(&s->classes[k].total, &pd->req, s->ndim);
        s->classes[k].ntotal++;
        s->classes[k].nremaining++;
    }
    return 0;
}

/* After every group exists: which groups each class's pods match, which others' anti terms
 * bind them, and what the pods already placed contribute. */
static int prepare_groups(struct sched *s, struct core_err *err)
{
    int rc = 0;
    /* Required anti-affinity terms of placed pods bind pending pods too. */
    size_t **bound_o = core_calloc(s->in->nbound + 1, sizeof(*bound_o));
    size_t *bound_no = core_calloc(s->in->nbound + 1, sizeof(*bound_no));
    if (!bound_o || !bound_no) {
        rc = CORE_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < s->in->nbound && !rc; i++) {
        const struct k8s_pod *pod = s->in->bound[i].pod;
        const struct k8s_pod_affinity *anti = &pod->spec.affinity.pod_anti_affinity;
        if (!anti->nrequired)
            continue;
        bound_o[i] = core_calloc(anti->nrequired, sizeof(**bound_o));
        if (!bound_o[i]) {
            rc = CORE_E_NOMEM;
            break;
        }
        for (size_t k = 0; k < anti->nrequired && !rc; k++) {
            struct tcon t;
            int ok = 0;
            rc = term_con(s, pod, &anti->required[k], TC_ANTI, &t, &ok);
            if (!rc && ok) {
                bound_o[i][bound_no[i]++] = t.group;
                s->groups[t.group].anti_owned = 1;
            }
        }
    }
    for (size_t ci = 0; ci < s->nclasses && !rc; ci++) {
        struct klass *c = &s->classes[ci];
        const struct k8s_pod *pod = s->in->pods[c->rep];
        c->mgroups = core_calloc(s->ngroups + 1, sizeof(*c->mgroups));
        c->sgroups = core_calloc(s->ngroups + 1, sizeof(*c->sgroups));
        if (!c->mgroups || !c->sgroups) {
            rc = CORE_E_NOMEM;
            break;
        }
        for (size_t g = 0; g < s->ngroups; g++) {
            if (!group_matches(&s->groups[g], pod->meta.ns, &pod->meta.labels))
                continue;
            c->mgroups[c->nmgroups++] = g;
            if (s->groups[g].anti_owned)
                c->sgroups[c->nsgroups++] = g;
        }
    }
    size_t *m = core_calloc(s->ngroups + 1, sizeof(*m));
    if (!m && !rc)
        rc = CORE_E_NOMEM;
    for (size_t i = 0; i < s->in->nbound && !rc; i++) {
        const struct launcher_sched_bound *bp = &s->in->bound[i];
        int found = 0;
        void *v = bp->node ? core_map_get(s->node_by_name, bp->node, &found) : NULL;
        if (!found)
            continue;
        struct snode *n = &s->nodes[(size_t)(intptr_t)v];
        size_t nm = 0;
        for (size_t g = 0; g < s->ngroups; g++)
            if (group_matches(&s->groups[g], bp->pod->meta.ns, &bp->pod->meta.labels))
                m[nm++] = g;
        rc = record(s, n, m, nm, bound_o[i], bound_no[i]);
    }
    core_free(m);
    (void)err;
out:
    for (size_t i = 0; bound_o && i < s->in->nbound; i++)
        core_free(bound_o[i]);
    core_free(bound_o);
    core_free(bound_no);
    return rc;
}

static int cmp_pods(const void *a, const void *b, void *ud)
{
    const struct spod *x = a, *y = b;
    (void)ud;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    if (x->req.r[D_CPU] != y->req.r[D_CPU])
        return x->req.r[D_CPU] > y->req.r[D_CPU] ? -1 : 1;
    if (x->req.r[D_MEM] != y->req.r[D_MEM])
        return x->req.r[D_MEM] > y->req.r[D_MEM] ? -1 : 1;
    return x->in < y->in ? -1 : x->in > y->in;
}

/* The order pods are placed in. Largest first, as in every first-fit-decreasing packer, but
 * "largest" is the dominant share (CPU or memory relative to the batch's mean, whichever is
 * larger), and CPU-dominant and memory-dominant pods are interleaved so that every prefix of
 * the order asks for CPU and memory in the batch's overall proportion. First fit fills a
 * NodeClaim with a run of consecutive pods, so each NodeClaim then gets the batch's shape,
 * which is the shape its types were chosen for; sorting by CPU alone fills the first nodes
 * with CPU-heavy pods and leaves their memory idle (and the last ones the other way round). */
static int order_pods(struct sched *s)
{
    double total[2] = {0, 0};
    size_t counted = 0;
    for (size_t i = 0; i < s->npods; i++) {
        if (s->pods[i].klass == (size_t)-1)
            continue;
        total[0] += (double)s->pods[i].req.r[D_CPU];
        total[1] += (double)s->pods[i].req.r[D_MEM];
        counted++;
    }
    double mean[2];
    for (int k = 0; k < 2; k++)
        mean[k] = counted && total[k] > 0 ? total[k] / (double)counted : 1.0;
    for (size_t i = 0; i < s->npods; i++) {
        double c = (double)s->pods[i].req.r[D_CPU] / mean[0];
        double m = (double)s->pods[i].req.r[D_MEM] / mean[1];
        s->pods[i].key = c > m ? c : m;
        s->pods[i].mem_dominant = m > c;
    }
    qsort_r(s->pods, s->npods, sizeof(*s->pods), cmp_pods, NULL);
    struct spod *out = core_calloc(s->npods + 1, sizeof(*out));
    if (!out)
        return CORE_E_NOMEM;
    size_t ic = 0, im = 0, n = 0;
    double acc[2] = {0, 0};
    for (;;) {
        while (ic < s->npods && s->pods[ic].mem_dominant)
            ic++;
        while (im < s->npods && !s->pods[im].mem_dominant)
            im++;
        if (ic >= s->npods && im >= s->npods)
            break;
        int take_mem;
        if (ic >= s->npods)
            take_mem = 1;
        else if (im >= s->npods)
            take_mem = 0;
        else /* behind on memory relative to CPU: a memory-dominant pod next */
            take_mem = acc[1] * total[0] < acc[0] * total[1];
        struct spod *pd = &s->pods[take_mem ? im++ : ic++];
        acc[0] += (double)pd->req.r[D_CPU];
        acc[1] += (double)pd->req.r[D_MEM];
        out[n++] = *pd;
    }
    core_free(s->pods);
    s->pods = out;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The plan                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static int cmp_priced(const void *a, const void *b)
{
    const struct priced *x = a, *y = b;
    if (x->price != y->price)
        return x->price < y->price ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void heap_down(struct priced *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && cmp_priced(&h[l], &h[m]) > 0)
            m = l;
        if (r < n && cmp_priced(&h[r], &h[m]) > 0)
            m = r;
        if (m == i)
            return;
        struct priced t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* The cheapest k entries of v[0..n) first, sorted (the rest unordered): a max-heap of the k
 * best so far, O(n log k), because n is the whole catalog and k a few dozen. */
static void select_cheapest(struct priced *v, size_t n, size_t k)
{
    if (n <= k) {
        qsort(v, n, sizeof(*v), cmp_priced);
        return;
    }
    if (k == 0)
        return;
    for (size_t i = k / 2; i-- > 0;)
        heap_down(v, k, i);
    for (size_t i = k; i < n; i++) {
        if (cmp_priced(&v[i], &v[0]) >= 0)
            continue;
        struct priced t = v[0];
        v[0] = v[i];
        v[i] = t;
        heap_down(v, k, 0);
    }
    qsort(v, k, sizeof(*v), cmp_priced);
}

/* Reorders v (sorted by price) so that its first `k` entries satisfy every minValues entry of
 * r when the whole list can: for each such key the cheapest type of each value comes first,
 * up to minValues of them. Returns how many entries the list needs (>= k). */
static size_t ensure_min_values(const struct launcher_reqs *r, struct priced *v, size_t n,
                                size_t k, const struct launcher_catalog *cat)
{
    size_t picked = 0;
    for (size_t i = 0; i < r->n; i++) {
        int li = launcher_label_index(r->v[i].key);
        if (!r->v[i].min_values || li < 0)
            continue;
        int64_t have = 0;
        for (size_t j = 0; j < n && have < r->v[i].min_values; j++) {
            const char *val = launcher_catalog_at(cat, (size_t)v[j].ti)->labels[li];
            val = val ? val : "";
            int seen = 0;
            for (size_t q = 0; q < picked && !seen; q++) {
                const char *pv = launcher_catalog_at(cat, (size_t)v[q].ti)->labels[li];
                seen = strcmp(pv ? pv : "", val) == 0;
            }
            if (seen)
                continue;
            if (j >= picked) { /* move v[j] to position `picked`, keeping the order */
                struct priced t = v[j];
                memmove(&v[picked + 1], &v[picked], (j - picked) * sizeof(*v));
                v[picked] = t;
            }
            picked++;
            have++;
        }
    }
    size_t need = picked > k ? picked : k;
    qsort(v, need < n ? need : n, sizeof(*v), cmp_priced);
    return need < n ? need : n;
}

static int finish_claim(struct sched *s, struct snode *n, struct launcher_claim *out,
                        struct priced *buf)
{
    const struct spool *p = &s->pools[n->pool];
    const struct launcher_reqs *r = &s->ireqs[n->rid];
    size_t m = 0;
    if (n->warm >= 0) {
        const struct launcher_itype *t = launcher_catalog_at(s->cat, (size_t)n->g[0]);
        double price = type_price(s, (size_t)n->g[0], n->zmask, n->ctmask);
        buf[m++] = (struct priced){n->g[0], isfinite(price) ? price : t->od_price_usd_hr, t->name};
    } else {
        const struct cache_entry *P = NULL;
        int rc = priced_for(s, (size_t)n->pool, n->rid, n->zmask, n->ctmask, &P);
        if (rc)
            return rc;
        for (size_t k = 0; k < P->n; k++) {
            size_t ti = (size_t)P->t[k];
            if (!holds(s, p, ti, &n->used) || !within_limits(s, p, ti, &n->maxcap, 1))
                continue;
            buf[m++] = (struct priced){(int32_t)ti, P->v[k], launcher_catalog_at(s->cat, ti)->name};
            if (!n->has_min_values && m == s->max_types)
                break;
        }
        /* The growth list always qualifies; keep it even if limits moved since. */
        if (m == 0)
            for (size_t k = 0; k < n->ng; k++) {
                const struct launcher_itype *t = launcher_catalog_at(s->cat, (size_t)n->g[k]);
                buf[m++] = (struct priced){n->g[k],
                                           type_price(s, (size_t)n->g[k], n->zmask, n->ctmask),
                                           t->name};
            }
    }
    size_t k = m < s->max_types ? m : s->max_types;
    select_cheapest(buf, m, k);
    if (n->has_min_values) {
        qsort(buf, m, sizeof(*buf), cmp_priced);
        k = ensure_min_values(r, buf, m, k, s->cat);
    }
    out->pool = p->in;
    out->types = core_calloc(k ? k : 1, sizeof(*out->types));
    out->prices = core_calloc(k ? k : 1, sizeof(*out->prices));
    const char **names = core_calloc(k ? k : 1, sizeof(*names));
    int rc = (!out->types || !out->prices || !names) ? CORE_E_NOMEM : 0;
    for (size_t i = 0; i < k && !rc; i++) {
        out->types[i] = launcher_catalog_at(s->cat, (size_t)buf[i].ti);
        out->prices[i] = buf[i].price;
        names[i] = buf[i].name;
    }
    out->ntypes = k;
    struct launcher_reqs fr = {0};
    if (!rc)
        rc = launcher_reqs_copy(&fr, r, NULL);
    if (!rc)
        rc = launcher_reqs_add_in_list(&fr, launcher_label_key(LAUNCHER_L_INSTANCE_TYPE), names,
                                       k, NULL);
    if (!rc)
        rc = launcher_reqs_to_k8s(&fr, &out->requirements, &out->nrequirements, NULL);
    launcher_reqs_cleanup(&fr);
    core_free(names);
    struct vec req = n->used;
    if (!rc && k)
        vec_add(&req, &p->types[out->types[0]->index].ds, s->ndim);
    if (!rc)
        rc = vec_to_res(s, &req, &out->requests);
    if (!rc && n->warm >= 0)
        out->warm_id = s->in->warm[n->warm].id;
    if (!rc) {
        out->pods = core_calloc(n->npods ? n->npods : 1, sizeof(*out->pods));
        if (!out->pods)
            rc = CORE_E_NOMEM;
        for (size_t i = 0; !rc && i < n->npods; i++)
            out->pods[i] = s->pods[n->pods[i]].in;
        out->npods = n->npods;
    }
    return rc;
}

void launcher_plan_free(struct launcher_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nclaims; i++) {
        struct launcher_claim *c = &p->claims[i];
        launcher_k8s_reqs_free(c->requirements, c->nrequirements);
        k8s_res_cleanup(&c->requests);
        core_free(c->types);
        core_free(c->prices);
        core_free(c->pods);
    }
    core_free(p->claims);
    core_free(p->placements);
    for (size_t i = 0; i < p->nunschedulable; i++)
        core_free(p->unschedulable[i].reason);
    core_free(p->unschedulable);
    core_free(p->claim_of);
    core_free(p->relaxed);
    core_free(p);
}

static int unschedulable(struct launcher_plan *plan, size_t pod, const char *reason)
{
    struct launcher_unschedulable *u = &plan->unschedulable[plan->nunschedulable];
    size_t len = strlen(reason);
    if (len >= LAUNCHER_SCHED_REASON_MAX)
        len = LAUNCHER_SCHED_REASON_MAX - 1;
    u->reason = core_malloc(len + 1);
    if (!u->reason)
        return CORE_E_NOMEM;
    memcpy(u->reason, reason, len);
    u->reason[len] = '\0';
    u->pod = pod;
    plan->nunschedulable++;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Entry point                                                                                 */
/* ------------------------------------------------------------------------------------------ */

static void sched_cleanup(struct sched *s)
{
    for (size_t i = 0; i < s->npools; i++) {
        launcher_reqs_cleanup(&s->pools[i].reqs);
        core_free(s->pools[i].types);
        core_free(s->pools[i].bad);
    }
    core_free(s->pools);
    core_free(s->pool_order);
    for (size_t i = 0; i < s->nclasses; i++) {
        struct klass *c = &s->classes[i];
        for (size_t L = 0; c->levels && L <= c->nrx; L++)
            level_cleanup(&c->levels[L], s->npools);
        core_free(c->levels);
        core_free(c->rx);
        core_free(c->sig);
        core_free(c->mgroups);
        core_free(c->ogroups);
        core_free(c->sgroups);
        launcher_volume_topo_cleanup(&c->vol);
    }
    core_free(s->classes);
    core_map_free(s->class_by_sig);
    for (size_t i = 0; i < s->ngroups; i++) {
        core_free(s->groups[i].sig);
        core_free(s->groups[i].ns);
        k8s_labels_cleanup(&s->groups[i].extra);
    }
    core_free(s->groups);
    core_map_free(s->group_by_sig);
    for (size_t i = 0; i < s->npods; i++)
        core_free(s->pods[i].bad);
    core_free(s->pods);
    for (size_t i = 0; i < s->nnodes; i++) {
        core_free(s->nodes[i].g);
        core_free(s->nodes[i].gc);
        core_free(s->nodes[i].pods);
    }
    core_free(s->nodes);
    core_map_free(s->node_by_name);
    for (size_t i = 0; i < s->ntcache; i++) {
        core_free(s->tcache_all[i]->v);
        core_free(s->tcache_all[i]->t);
        core_free(s->tcache_all[i]);
    }
    core_free(s->tcache_all);
    core_map_free(s->tcache);
    for (int i = 0; i < s->nintern; i++)
        launcher_reqs_cleanup(&s->ireqs[i]);
    core_free(s->ireqs);
    core_free(s->compat);
    core_free(s->meet);
    core_map_free(s->intern);
    core_free(s->warm_used);
    core_free(s->warm_type);
    core_free(s->warm_zone);
    core_free(s->tz);
    core_free(s->cap);
    core_free(s->tmp);
    core_free(s->tmpd);
    core_buf_cleanup(&s->scratch);
}

static int setup(struct sched *s, struct core_err *err)
{
    const struct launcher_sched_input *in = s->in;
    s->off = in->offerings;
    s->cat = launcher_offerings_catalog(in->offerings);
    s->ntypes = launcher_catalog_count(s->cat);
    s->nzones = launcher_offerings_zone_count(in->offerings);
    s->max_types = in->max_types ? in->max_types : LAUNCHER_SCHED_MAX_TYPES_DEFAULT;
    if (s->max_types > LAUNCHER_SCHED_MAX_TYPES_LIMIT)
        s->max_types = LAUNCHER_SCHED_MAX_TYPES_LIMIT;
    s->slack = in->growth_slack > 0 ? in->growth_slack : 0.10;
    core_buf_init(&s->scratch, (size_t)4 << 20);
    s->class_by_sig = core_map_new();
    s->group_by_sig = core_map_new();
    s->node_by_name = core_map_new();
    s->tcache = core_map_new();
    s->intern = core_map_new();
    if (!s->class_by_sig || !s->group_by_sig || !s->node_by_name || !s->tcache || !s->intern)
        return CORE_E_NOMEM;
    int rc = intern_grow(s);
    if (rc)
        return rc;
    s->ndim = D_EXT;
    for (size_t i = 0; i < in->npods; i++)
        note_ext(s, &in->pods[i]->spec.requests);
    for (size_t i = 0; i < in->ndaemonsets; i++)
        note_ext(s, &in->daemonsets[i]->spec.requests);
    if ((rc = prepare_types(s)) != 0)
        return rc;
    for (size_t z = 0; z < s->nzones && !rc; z++)
        rc = intern_in(s, LAUNCHER_KEY_ZONE, launcher_offerings_zone(s->off, z), &s->zone_id[z]);
    for (int ct = 0; ct < LAUNCHER_CT_COUNT && !rc; ct++)
        rc = intern_in(s, LAUNCHER_KEY_CAPACITY_TYPE, launcher_ct_name((enum launcher_ct)ct),
                       &s->ct_id[ct]);
    if (rc)
        return rc;
    s->pools = core_calloc(in->npools + 1, sizeof(*s->pools));
    s->pool_order = core_calloc(in->npools + 1, sizeof(*s->pool_order));
    if (!s->pools || !s->pool_order)
        return CORE_E_NOMEM;
    for (size_t i = 0; i < in->npools; i++) {
        struct spool *p = &s->pools[s->npools++];
        p->src = &in->pools[i];
        p->in = i;
        if ((rc = prepare_pool(s, p, err)) != 0)
            return rc;
        if ((rc = intern_reqs(s, &p->reqs, &p->rid)) != 0)
            return rc;
        s->pool_order[i] = i;
    }
    qsort_r(s->pool_order, s->npools, sizeof(*s->pool_order), cmp_pool_order, s->pools);
    s->warm_used = core_calloc(in->nwarm + 1, 1);
    s->warm_type = core_calloc(in->nwarm + 1, sizeof(*s->warm_type));
    s->warm_zone = core_calloc(in->nwarm + 1, sizeof(*s->warm_zone));
    if (!s->warm_used || !s->warm_type || !s->warm_zone)
        return CORE_E_NOMEM;
    for (size_t w = 0; w < in->nwarm; w++) {
        const struct launcher_warm *wi = &in->warm[w];
        const struct launcher_itype *t =
            wi->instance_type ? launcher_catalog_find(s->cat, wi->instance_type) : NULL;
        if (!t || !wi->id || (unsigned)wi->capacity_type >= LAUNCHER_CT_COUNT)
            return core_err_set(err, CORE_E_INVAL,
                                "warm instance %s: instance type %s is not in the catalog",
                                wi->id ? wi->id : "(no id)",
                                wi->instance_type ? wi->instance_type : "(none)");
        s->warm_type[w] = (int32_t)t->index;
        s->warm_zone[w] = wi->zone ? launcher_offerings_zone_index(s->off, wi->zone) : -1;
    }
    if ((rc = prepare_existing(s, err)) != 0)
        return rc;
    if ((rc = prepare_pods(s, err)) != 0)
        return rc;
    if ((rc = prepare_groups(s, err)) != 0)
        return rc;
    for (size_t d = 0; d < s->ndim; d++)
        s->min_req[d] = INT64_MAX;
    for (size_t i = 0; i < s->npods; i++)
        for (size_t d = 0; d < s->ndim && s->pods[i].klass != (size_t)-1; d++)
            if (s->pods[i].req.r[d] < s->min_req[d])
                s->min_req[d] = s->pods[i].req.r[d];
    for (size_t d = 0; d < s->ndim; d++)
        if (s->min_req[d] == INT64_MAX)
            s->min_req[d] = 0;
    return order_pods(s);
    return 0;
}

/* Places one pod; reason receives why when it cannot be placed (returns 0 then). */
static int place(struct sched *s, struct spod *pd, struct core_buf *reason, unsigned *relaxed)
{
    struct klass *c = &s->classes[pd->klass];
    struct core_buf b;
    core_buf_init(&b, LAUNCHER_SCHED_REASON_MAX - 1);
    int rc = 0, placed = 0;
    for (size_t L = 0; L <= c->nrx && !placed && !rc; L++) {
        rc = build_level(s, c, L, NULL);
        if (rc)
            break;
        struct level *lv = &c->levels[L];
        if (lv->bad) {
            if (L == 0)
                ignore(core_buf_append_str(reason, lv->reason));
            continue;
        }
        struct fit f;
        size_t start = lv->cursor > s->first_open ? lv->cursor : s->first_open;
        int prefix = 1;
        for (size_t i = start; i < s->nnodes; i++) {
            struct snode *n = &s->nodes[i];
            if (prefix) {
                if (never_for(s, lv, c, n)) {
                    lv->cursor = i + 1;
                    continue;
                }
                prefix = 0;
            }
            if (try_node(s, pd, c, lv, n, &f)) {
                rc = commit(s, pd, c, lv, n, &f);
                placed = 1;
                *relaxed = (unsigned)L;
                break;
            }
        }
        while (s->first_open < s->nnodes && s->nodes[s->first_open].closed)
            s->first_open++;
        if (placed || rc)
            break;
        core_buf_reset(&b);
        rc = open_claim(s, pd, c, lv, &b);
        if (rc > 0) {
            placed = 1;
            rc = 0;
        } else if (L == 0 && !rc) {
            ignore(core_buf_append_str(reason, core_buf_cstr(&b)));
        }
        if (placed)
            *relaxed = (unsigned)L;
    }
    core_buf_cleanup(&b);
    return rc ? rc : placed;
}

int launcher_schedule(const struct launcher_sched_input *in, struct launcher_plan **out,
                      struct core_err *err)
{
    if (!in || !out || !in->offerings || (in->npods && !in->pods) || (in->npools && !in->pools) ||
        (in->nnodes && !in->nodes) || (in->nwarm && !in->warm) || (in->nbound && !in->bound) ||
        (in->ndaemonsets && !in->daemonsets))
        return core_err_set(err, CORE_E_INVAL, "launcher_schedule: missing input");
    for (size_t i = 0; i < in->npools; i++)
        if (!in->pools[i].pool)
            return core_err_set(err, CORE_E_INVAL, "launcher_schedule: pool %zu has no NodePool",
                                i);
    struct sched s;
    memset(&s, 0, sizeof(s));
    s.in = in;
    struct launcher_plan *plan = core_calloc(1, sizeof(*plan));
    struct core_buf reason;
    core_buf_init(&reason, LAUNCHER_SCHED_REASON_MAX - 1);
    int rc = plan ? setup(&s, err) : CORE_E_NOMEM;
    if (!rc) {
        plan->claim_of = core_malloc((in->npods + 1) * sizeof(*plan->claim_of));
        plan->relaxed = core_calloc(in->npods + 1, sizeof(*plan->relaxed));
        plan->unschedulable = core_calloc(in->npods + 1, sizeof(*plan->unschedulable));
        plan->placements = core_calloc(in->npods + 1, sizeof(*plan->placements));
        if (!plan->claim_of || !plan->relaxed || !plan->unschedulable || !plan->placements)
            rc = CORE_E_NOMEM;
    }
    for (size_t i = 0; !rc && i < in->npods; i++)
        plan->claim_of[i] = -1;
    for (size_t i = 0; i < s.npods && !rc; i++) {
        struct spod *pd = &s.pods[i];
        if (pd->bad) {
            rc = unschedulable(plan, pd->in, pd->bad);
            continue;
        }
        core_buf_reset(&reason);
        unsigned relaxed = 0;
        rc = place(&s, pd, &reason, &relaxed);
        if (rc < 0)
            break;
        if (rc == 0)
            rc = unschedulable(plan, pd->in, reason.len ? core_buf_cstr(&reason) : "no capacity can take the pod");
        else
            rc = 0, plan->relaxed[pd->in] = relaxed;
    }
    /* Claims in creation order; placements on existing capacity. */
    size_t nclaims = 0;
    for (size_t i = s.nexisting; i < s.nnodes; i++)
        nclaims += s.nodes[i].claim;
    if (!rc) {
        plan->claims = core_calloc(nclaims + 1, sizeof(*plan->claims));
        if (!plan->claims)
            rc = CORE_E_NOMEM;
    }
    struct priced *buf = rc ? NULL : core_calloc(s.ntypes + 1, sizeof(*buf));
    if (!rc && !buf)
        rc = CORE_E_NOMEM;
    for (size_t i = 0; i < s.nnodes && !rc; i++) {
        struct snode *n = &s.nodes[i];
        if (!n->claim) {
            for (size_t k = 0; k < n->npods; k++) {
                size_t pin = s.pods[n->pods[k]].in;
                plan->placements[plan->nplacements++] = (struct launcher_placement){pin, n->src};
            }
            continue;
        }
        struct launcher_claim *c = &plan->claims[plan->nclaims++];
        rc = finish_claim(&s, n, c, buf);
        for (size_t k = 0; !rc && k < c->npods; k++)
            plan->claim_of[c->pods[k]] = (long)(plan->nclaims - 1);
    }
    core_free(buf);
    core_buf_cleanup(&reason);
    sched_cleanup(&s);
    if (rc) {
        launcher_plan_free(plan);
        if (err && !err->code)
            core_err_set(err, rc, "launcher_schedule: %s", core_strerror(rc));
        return rc;
    }
    *out = plan;
    return 0;
}
