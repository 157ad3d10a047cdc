/*
 * sim/aws.c — the emulated AWS account: how it is built, and how a request reaches an action.
 *
 * Construction lays out one VPC with a subnet per zone (plus a small one, so "most free IPs"
 * is a real choice), security groups with discovery tags, the EKS-optimised images of every
 * family, architecture and variant across several Kubernetes versions and releases (some
 * deprecated), and the instance types of the compiled-in catalog with per-zone offerings,
 * on-demand prices from the catalog and spot prices derived from a hash of (type, zone).
 *
 * A request goes: clock catch-up (instance transitions due by now) -> service from the SigV4
 * credential scope or X-Amz-Target -> signature check (AuthFailure / InvalidSignatureException
 * on mismatch) -> injected faults (random 5xx, latency) -> per-action token bucket
 * (RequestLimitExceeded) -> the action. Handlers write a complete success document or report
 * an error through sim_ec2_fail; a partial document is never sent.
 *
 * Invariants: everything is deterministic for a seed and a clock: images and their ids depend
 * only on names and the start time, offerings and prices only on names; the PRNG streams are
 * separate (see internal.h). Nothing here logs.
 */
#include "sim/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define SIM_BODY_MAX (64u * 1024u * 1024u)
#define SIM_FORM_MAX (1024u * 1024u)  /* bytes of an EC2 form */
#define SIM_FORM_PARAMS_MAX 5000u     /* parameters in an EC2 form (60 overrides need ~500) */
#define SIM_SKEW_MAX ((core_ns)15 * 60 * 1000000000LL) /* SigV4 allows 15 minutes either way */
#define SIM_DAY ((core_ns)86400 * 1000000000LL)
#define SIM_AMI_OWNER "999999999999" /* the emulated image owner (alias "amazon") */

/* ------------------------------------------------------------------------------------------ */
/* Options and faults                                                                          */
/* ------------------------------------------------------------------------------------------ */

void sim_aws_opts_default(struct sim_aws_opts *o)
{
    memset(o, 0, sizeof *o);
    o->region = SIM_AWS_REGION;
    o->account_id = SIM_AWS_ACCOUNT_ID;
    o->cluster_name = SIM_AWS_CLUSTER;
    o->access_key_id = SIM_AWS_ACCESS_KEY_ID;
    o->secret_access_key = SIM_AWS_SECRET_ACCESS_KEY;
    o->faults.throttle = 1;
    sim_boot_model_default(&o->boot);
    o->terminated_ttl = (core_ns)3600 * 1000000000LL;
}

/* "50ms", "5s", "2m" -> ns. */
static int parse_duration_ns(const char *s, core_ns *out)
{
    char *end = NULL;
    double v = strtod(s, &end), scale;
    if (end == s || !isfinite(v) || v < 0)
        return -1;
    if (strcmp(end, "ms") == 0)
        scale = 1e6;
    else if (strcmp(end, "s") == 0)
        scale = 1e9;
    else if (strcmp(end, "m") == 0)
        scale = 60e9;
    else
        return -1;
    if (v * scale > 3.6e12) /* an hour is plenty for any injected delay */
        return -1;
    *out = (core_ns)(v * scale);
    return 0;
}

int sim_faults_parse(struct sim_faults *f, const char *item, struct core_err *err)
{
    const char *eq = item ? strchr(item, '=') : NULL;
    const char *v;
    size_t klen;

    if (!f || !eq)
        goto usage;
    klen = (size_t)(eq - item);
    v = eq + 1;
    if (klen == 3 && strncmp(item, "ice", 3) == 0) {
        const char *at = strchr(v, '@');
        struct sim_ice_rule r;
        size_t tlen;
        if (!at || at == v || !at[1] || f->nice >= SIM_ICE_MAX) {
            core_err_set(err, CORE_E_INVAL,
                         "fault '%s': expected ice=TYPE@ZONE ('*' for any; at most %u rules)",
                         item, SIM_ICE_MAX);
            return CORE_E_INVAL;
        }
        tlen = (size_t)(at - v);
        if (tlen >= sizeof r.instance_type || strlen(at + 1) >= sizeof r.zone) {
            core_err_set(err, CORE_E_INVAL, "fault '%s': instance type or zone too long", item);
            return CORE_E_INVAL;
        }
        memcpy(r.instance_type, v, tlen);
        r.instance_type[tlen] = '\0';
        core_strlcpy(r.zone, at + 1, sizeof r.zone);
        f->ice[f->nice++] = r;
        return 0;
    }
    if (klen == 8 && strncmp(item, "throttle", 8) == 0) {
        if (strcmp(v, "on") == 0)
            f->throttle = 1;
        else if (strcmp(v, "off") == 0)
            f->throttle = 0;
        else {
            core_err_set(err, CORE_E_INVAL, "fault '%s': expected throttle=on or throttle=off",
                         item);
            return CORE_E_INVAL;
        }
        return 0;
    }
    if (klen == 10 && strncmp(item, "error-rate", 10) == 0) {
        char *end = NULL;
        double r = strtod(v, &end);
        if (end == v || *end || !isfinite(r) || r < 0 || r > 1) {
            core_err_set(err, CORE_E_INVAL,
                         "fault '%s': expected error-rate=P with P in [0, 1], e.g. 0.01", item);
            return CORE_E_INVAL;
        }
        f->error_rate = r;
        return 0;
    }
    if ((klen == 7 && strncmp(item, "latency", 7) == 0) ||
        (klen == 11 && strncmp(item, "consistency", 11) == 0)) {
        core_ns d;
        if (parse_duration_ns(v, &d) != 0) {
            core_err_set(err, CORE_E_INVAL,
                         "fault '%s': expected a duration up to 60m with a unit (50ms, 5s, 2m)",
                         item);
            return CORE_E_INVAL;
        }
        if (klen == 7)
            f->latency = d;
        else
            f->consistency_delay = d;
        return 0;
    }
usage:
    core_err_set(err, CORE_E_INVAL,
                 "fault '%s': expected one of ice=TYPE@ZONE, throttle=on|off, error-rate=P, "
                 "latency=DURATION, consistency=DURATION",
                 item ? item : "(null)");
    return CORE_E_INVAL;
}

int sim_ice_match(const struct sim_aws *a, const char *instance_type, const char *zone)
{
    for (size_t i = 0; i < a->opts.faults.nice; i++) {
        const struct sim_ice_rule *r = &a->opts.faults.ice[i];
        if ((strcmp(r->instance_type, "*") == 0 || strcmp(r->instance_type, instance_type) == 0) &&
            (strcmp(r->zone, "*") == 0 || strcmp(r->zone, zone) == 0))
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Small shared helpers                                                                        */
/* ------------------------------------------------------------------------------------------ */

core_ns sim_now(const struct sim_aws *a)
{
    return core_clock_mono(a->clock);
}

core_ns sim_wall(const struct sim_aws *a)
{
    return core_clock_wall(a->clock);
}

void sim_new_id(struct sim_aws *a, const char *prefix, char *out, size_t outsz)
{
    uint64_t v = sim_rng_next(&a->rng_id);
    /* 17 hex digits, as EC2's long ids have: 68 bits, the top 4 from a second draw. */
    unsigned top = (unsigned)(sim_rng_next(&a->rng_id) & 0xf);
    snprintf(out, outsz, "%s%x%016llx", prefix, top, (unsigned long long)v);
}

/* An id that depends only on a name: images keep their ids across runs and seeds. */
static void stable_id(const char *prefix, const char *name, char *out, size_t outsz)
{
    uint64_t v = sim_hash(name, 0x1d);
    unsigned top = (unsigned)(sim_hash(name, 0x2e) & 0xf);
    snprintf(out, outsz, "%s%x%016llx", prefix, top, (unsigned long long)v);
}

const char *sim_tags_get(const struct aws_ec2_tags *t, const char *key)
{
    for (size_t i = 0; t && i < t->n; i++)
        if (strcmp(t->v[i].key, key) == 0)
            return t->v[i].value;
    return NULL;
}

int sim_tags_set(struct aws_ec2_tags *t, const char *key, const char *value)
{
    char *v;
    struct aws_ec2_tag *nv;

    if (!value)
        value = "";
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->v[i].key, key) == 0) {
            if (!(v = core_strdup(value)))
                return CORE_E_NOMEM;
            core_free(t->v[i].value);
            t->v[i].value = v;
            return 0;
        }
    }
    if (!(nv = core_realloc(t->v, (t->n + 1) * sizeof *nv)))
        return CORE_E_NOMEM;
    t->v = nv;
    nv[t->n].key = core_strdup(key);
    nv[t->n].value = core_strdup(value);
    if (!nv[t->n].key || !nv[t->n].value) {
        core_free(nv[t->n].key);
        core_free(nv[t->n].value);
        return CORE_E_NOMEM;
    }
    t->n++;
    return 0;
}

void sim_tags_cleanup(struct aws_ec2_tags *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        core_free(t->v[i].key);
        core_free(t->v[i].value);
    }
    core_free(t->v);
    t->v = NULL;
    t->n = 0;
}

int sim_bucket_take(struct sim_bucket *b, double n, core_ns now)
{
    if (now > b->at) {
        b->level += b->refill * (double)(now - b->at) / 1e9;
        if (b->level > b->capacity)
            b->level = b->capacity;
        b->at = now;
    }
    if (b->level + 1e-9 < n)
        return 0;
    b->level -= n;
    return 1;
}

int sim_zone_index(const struct sim_aws *a, const char *name)
{
    for (size_t i = 0; name && i < a->nzones; i++)
        if (strcmp(a->zones[i].name, name) == 0)
            return (int)i;
    return -1;
}

const struct sim_itype *sim_itype_find(const struct sim_aws *a, const char *name)
{
    return name ? core_map_get(a->itype_by_name, name, NULL) : NULL;
}

const struct sim_image *sim_image_find(const struct sim_aws *a, const char *id)
{
    return id ? core_map_get(a->image_by_id, id, NULL) : NULL;
}

struct sim_subnet *sim_subnet_find(struct sim_aws *a, const char *id)
{
    for (size_t i = 0; id && i < a->nsubnets; i++)
        if (strcmp(a->subnets[i].id, id) == 0)
            return &a->subnets[i];
    return NULL;
}

const struct sim_sg *sim_sg_find(const struct sim_aws *a, const char *id)
{
    for (size_t i = 0; id && i < a->nsgs; i++)
        if (strcmp(a->sgs[i].id, id) == 0)
            return &a->sgs[i];
    return NULL;
}

struct sim_instance *sim_instance_find(struct sim_aws *a, const char *id)
{
    return id ? core_map_get(a->instance_by_id, id, NULL) : NULL;
}

struct sim_lt *sim_lt_find(struct sim_aws *a, const char *id, const char *name)
{
    if (id && *id)
        return core_map_get(a->lt_by_id, id, NULL);
    if (name && *name)
        return core_map_get(a->lt_by_name, name, NULL);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Account construction                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* "us-east-1" -> "use1": the prefix of zone ids. */
static void region_short(const char *region, char *out, size_t outsz)
{
    char buf[16];
    size_t n = 0;
    const char *p = region;
    int first = 1;

    while (*p && n + 2 < sizeof buf) {
        const char *dash = strchr(p, '-');
        size_t len = dash ? (size_t)(dash - p) : strlen(p);
        if (len > 0 && p[0] >= '0' && p[0] <= '9') {
            for (size_t i = 0; i < len && n + 1 < sizeof buf; i++)
                buf[n++] = p[i];
        } else if (first && len >= 2) {
            buf[n++] = p[0];
            buf[n++] = p[1];
        } else if (len >= 1) {
            buf[n++] = p[0];
        }
        first = 0;
        if (!dash)
            break;
        p = dash + 1;
    }
    buf[n] = '\0';
    core_strlcpy(out, buf, outsz);
}

static int add_subnet(struct sim_aws *a, int zone, uint32_t base, unsigned prefix,
                      const char *role, struct core_err *err)
{
    struct sim_subnet *s = &a->subnets[a->nsubnets];
    char name[192];
    int rc;

    memset(s, 0, sizeof *s);
    sim_new_id(a, "subnet-", s->id, sizeof s->id);
    s->zone = zone;
    s->base = base;
    s->size = UINT32_C(1) << (32 - prefix);
    snprintf(s->cidr, sizeof s->cidr, "%u.%u.%u.%u/%u", (base >> 24) & 255, (base >> 16) & 255,
             (base >> 8) & 255, base & 255, prefix);
    if (!(s->used = core_calloc(s->size, 1)))
        return core_err_set(err, CORE_E_NOMEM, "emulated EC2: out of memory (subnet)");
    /* AWS reserves the first four addresses and the last one of every subnet. */
    for (uint32_t i = 0; i < 4; i++)
        s->used[i] = 1;
    s->used[s->size - 1] = 1;
    s->available = (int64_t)s->size - 5;
    s->next = 4;
    a->nsubnets++; /* owned from here on: freed by sim_aws_free even if tagging fails */
    snprintf(name, sizeof name, "%s-%s-%s", a->cluster, role, a->zones[zone].name);
    rc = sim_tags_set(&s->tags, "Name", name);
    if (!rc)
        rc = sim_tags_set(&s->tags, "stoker.dev/discovery", a->cluster);
    if (!rc)
        rc = sim_tags_set(&s->tags, "kubernetes.io/role/internal-elb", "1");
    if (rc)
        return core_err_set(err, CORE_E_NOMEM, "emulated EC2: out of memory (subnet tags)");
    return 0;
}

static int add_sg(struct sim_aws *a, const char *name, const char *desc, int discovery,
                  struct core_err *err)
{
    struct sim_sg *g = &a->sgs[a->nsgs++];
    int rc = 0;
    char key[192];

    memset(g, 0, sizeof *g);
    sim_new_id(a, "sg-", g->id, sizeof g->id);
    core_strlcpy(g->name, name, sizeof g->name);
    core_strlcpy(g->description, desc, sizeof g->description);
    if (discovery == 1) {
        rc = sim_tags_set(&g->tags, "stoker.dev/discovery", a->cluster);
        snprintf(key, sizeof key, "kubernetes.io/cluster/%s", a->cluster);
        if (!rc)
            rc = sim_tags_set(&g->tags, key, "owned");
    } else if (discovery == 2) {
        rc = sim_tags_set(&g->tags, "aws:eks:cluster-name", a->cluster);
    }
    if (!rc)
        rc = sim_tags_set(&g->tags, "Name", name);
    if (rc)
        return core_err_set(err, CORE_E_NOMEM, "emulated EC2: out of memory (security group)");
    return 0;
}

static int build_network(struct sim_aws *a, struct core_err *err)
{
    char rs[16];
    int rc;

    region_short(a->region, rs, sizeof rs);
    a->nzones = 3;
    for (size_t i = 0; i < a->nzones; i++) {
        snprintf(a->zones[i].name, sizeof a->zones[i].name, "%.30s%c", a->region,
                 (char)('a' + i));
        snprintf(a->zones[i].id, sizeof a->zones[i].id, "%.8s-az%u", rs, (unsigned)(i + 1) % 10u);
    }
    sim_new_id(a, "vpc-", a->vpc_id, sizeof a->vpc_id);
    core_strlcpy(a->vpc_cidr, "10.0.0.0/16", sizeof a->vpc_cidr);
    if (!(a->subnets = core_calloc(a->nzones + 1, sizeof *a->subnets)))
        return core_err_set(err, CORE_E_NOMEM, "emulated EC2: out of memory (subnets)");
    /* A /19 per zone (8,187 usable addresses) and a /24 in the first zone (251). */
    for (size_t i = 0; i < a->nzones; i++)
        if ((rc = add_subnet(a, (int)i, (UINT32_C(10) << 24) | ((uint32_t)(i * 32) << 8), 19,
                             "private", err)))
            return rc;
    if ((rc = add_subnet(a, 0, (UINT32_C(10) << 24) | (UINT32_C(96) << 8), 24, "small", err)))
        return rc;
    if (!(a->sgs = core_calloc(3, sizeof *a->sgs)))
        return core_err_set(err, CORE_E_NOMEM, "emulated EC2: out of memory (security groups)");
    if ((rc = add_sg(a, "default", "default VPC security group", 0, err)) ||
        (rc = add_sg(a, "stoker-node", "stoker-managed nodes", 1, err)) ||
        (rc = add_sg(a, "eks-cluster-sg", "EKS created security group", 2, err)))
        return rc;
    return 0;
}

/* ---- images ---- */

static const char *const k8s_versions[] = {"1.30", "1.31", "1.32", "1.33", "1.34", "1.35"};
#define NRELEASES 3
/* Days before the account's start at which each release came out; the oldest is deprecated. */
static const int release_age_days[NRELEASES] = {95, 50, 12};

static int minor_of(const char *v)
{
    int64_t m = 0;
    const char *dot = strchr(v, '.');
    if (!dot || core_parse_i64(dot + 1, 0, 1000, &m) != 0)
        return 0;
    return (int)m;
}

static int push_image(struct sim_aws *a, struct sim_image *im, size_t *cap)
{
    if (a->nimages == *cap) {
        size_t ncap = *cap ? *cap * 2 : 256;
        struct sim_image **nv = core_realloc(a->images, ncap * sizeof *nv);
        if (!nv)
            return CORE_E_NOMEM;
        a->images = nv;
        *cap = ncap;
    }
    a->images[a->nimages++] = im;
    return 0;
}

static void image_free(struct sim_image *im)
{
    if (!im)
        return;
    core_free(im->name);
    core_free(im->description);
    sim_tags_cleanup(&im->tags);
    core_free(im);
}

static int add_image(struct sim_aws *a, size_t *cap, enum sim_ami_family fam, const char *k8s,
                     const char *arch, const char *variant, int rel, core_ns created,
                     int deprecated, const char *name, const char *desc, const char *release)
{
    struct sim_image *im = core_calloc(1, sizeof *im);
    if (!im)
        return CORE_E_NOMEM;
    im->name = core_strdup(name);
    im->description = core_strdup(desc);
    if (!im->name || !im->description) {
        image_free(im);
        return CORE_E_NOMEM;
    }
    stable_id("ami-", name, im->id, sizeof im->id);
    im->arch = arch;
    im->created = created;
    im->deprecated_at = deprecated ? created + 60 * SIM_DAY : 0;
    im->state = "available";
    im->family = fam;
    im->owner_alias = fam == SIM_AMI_CUSTOM ? NULL : "amazon";
    core_strlcpy(im->owner_id, fam == SIM_AMI_CUSTOM ? a->account_id : SIM_AMI_OWNER,
                 sizeof im->owner_id);
    im->platform_details = fam >= SIM_AMI_WINDOWS2019 && fam <= SIM_AMI_WINDOWS2025
                               ? "Windows"
                               : "Linux/UNIX";
    im->root_device = fam >= SIM_AMI_WINDOWS2019 && fam <= SIM_AMI_WINDOWS2025 ? "/dev/sda1"
                                                                               : "/dev/xvda";
    core_strlcpy(im->k8s, k8s, sizeof im->k8s);
    im->variant = variant;
    core_strlcpy(im->release, release, sizeof im->release);
    im->latest = rel == NRELEASES - 1;
    if (push_image(a, im, cap) != 0) {
        image_free(im);
        return CORE_E_NOMEM;
    }
    return 0;
}

static int cmp_image_id(const void *x, const void *y)
{
    const struct sim_image *const *p = x, *const *q = y;
    return strcmp((*p)->id, (*q)->id);
}

static int build_images(struct sim_aws *a, struct core_err *err)
{
    size_t cap = 0;
    core_ns day0 = sim_wall(a) / SIM_DAY * SIM_DAY; /* midnight UTC of the start */
    static const char *const al2023_x86[] = {"standard", "nvidia", "neuron"};
    static const char *const al2023_arm[] = {"standard", "nvidia"};
    int rc = 0;

    for (size_t v = 0; v < sizeof k8s_versions / sizeof *k8s_versions && !rc; v++) {
        const char *k = k8s_versions[v];
        int minor = minor_of(k);
        for (int r = 0; r < NRELEASES && !rc; r++) {
            core_ns created = day0 - (core_ns)release_age_days[r] * SIM_DAY;
            time_t secs = (time_t)(created / 1000000000LL);
            struct tm tm;
            char ymd[16], dotted[16], rel[40], name[256], desc[256], br[16];
            int deprecated = r == 0;

            gmtime_r(&secs, &tm);
            strftime(ymd, sizeof ymd, "%Y%m%d", &tm);
            strftime(dotted, sizeof dotted, "%Y.%m.%d", &tm);
            snprintf(rel, sizeof rel, "v%s", ymd);
            /* Bottlerocket numbers its releases; one minor per emulated release. */
            snprintf(br, sizeof br, "1.%d.0", 40 + r);

            for (int arm = 0; arm < 2 && !rc; arm++) {
                const char *arch = arm ? "arm64" : "x86_64";
                const char *const *vars = arm ? al2023_arm : al2023_x86;
                size_t nvars = arm ? 2 : 3;
                for (size_t i = 0; i < nvars && !rc; i++) {
                    snprintf(name, sizeof name, "amazon-eks-node-al2023-%s-%s-%s-%s", arch,
                             vars[i], k, rel);
                    snprintf(desc, sizeof desc,
                             "EKS-optimized Kubernetes node based on Amazon Linux 2023 "
                             "(k8s: %s, variant: %s)",
                             k, vars[i]);
                    rc = add_image(a, &cap, SIM_AMI_AL2023, k, arch, vars[i], r, created,
                                   deprecated, name, desc, rel);
                }
                /* Bottlerocket: standard and nvidia on both architectures. */
                for (int gpu = 0; gpu < 2 && !rc; gpu++) {
                    snprintf(name, sizeof name, "bottlerocket-aws-k8s-%s%s-%s-v%s-%08llx", k,
                             gpu ? "-nvidia" : "", arch, br,
                             (unsigned long long)(sim_hash(k, (uint64_t)r) & 0xffffffffu));
                    snprintf(desc, sizeof desc, "Bottlerocket OS aws-k8s-%s%s %s", k,
                             gpu ? "-nvidia" : "", br);
                    rc = add_image(a, &cap, SIM_AMI_BOTTLEROCKET, k, arch,
                                   gpu ? "nvidia" : "standard", r, created, deprecated, name, desc,
                                   br);
                }
                /* AL2 is not offered from Kubernetes 1.33. */
                if (minor <= 32 && !rc) {
                    snprintf(name, sizeof name, "amazon-eks-%snode-%s-%s", arm ? "arm64-" : "",
                             k, rel);
                    snprintf(desc, sizeof desc,
                             "EKS Kubernetes Worker AMI with AmazonLinux2 image (k8s: %s)", k);
                    rc = add_image(a, &cap, SIM_AMI_AL2, k, arch, "standard", r, created,
                                   deprecated, name, desc, rel);
                    if (!arm && !rc) {
                        snprintf(name, sizeof name, "amazon-eks-gpu-node-%s-%s", k, rel);
                        rc = add_image(a, &cap, SIM_AMI_AL2, k, arch, "nvidia", r, created,
                                       deprecated, name, desc, rel);
                    }
                }
            }
            /* Windows Server, x86_64 only; 2025 from Kubernetes 1.35. */
            for (int y = 0; y < 3 && !rc; y++) {
                static const int years[] = {2019, 2022, 2025};
                static const enum sim_ami_family fams[] = {SIM_AMI_WINDOWS2019,
                                                           SIM_AMI_WINDOWS2022,
                                                           SIM_AMI_WINDOWS2025};
                if (years[y] == 2025 && minor < 35)
                    continue;
                snprintf(name, sizeof name, "Windows_Server-%d-English-Core-EKS_Optimized-%s-%s",
                         years[y], k, dotted);
                snprintf(desc, sizeof desc,
                         "Microsoft Windows Server %d Core optimized for EKS and Kubernetes %s",
                         years[y], k);
                rc = add_image(a, &cap, fams[y], k, "x86_64", "standard", r, created,
                               deprecated, name, desc, dotted);
            }
        }
    }
    /* The account's own golden images, tagged, for selector terms by name, owner and tags. */
    for (int arm = 0; arm < 2 && !rc; arm++) {
        char name[128];
        core_ns created = day0 - 5 * SIM_DAY;
        snprintf(name, sizeof name, "stoker-golden-al2023-%s-1.31-v1", arm ? "arm64" : "x86_64");
        rc = add_image(a, &cap, SIM_AMI_CUSTOM, "1.31", arm ? "arm64" : "x86_64", "standard",
                       NRELEASES - 1, created, 0, name, "golden image built from AL2023 1.31",
                       "v1");
        if (!rc) {
            struct sim_image *im = a->images[a->nimages - 1];
            rc = sim_tags_set(&im->tags, "team", "platform");
            if (!rc)
                rc = sim_tags_set(&im->tags, "stoker.dev/golden", "true");
        }
    }
    if (rc)
        return core_err_set(err, CORE_E_NOMEM, "emulated EC2: out of memory (images)");
    qsort(a->images, a->nimages, sizeof *a->images, cmp_image_id);
    for (size_t i = 0; i < a->nimages; i++) {
        if (i > 0 && strcmp(a->images[i - 1]->id, a->images[i]->id) == 0)
            return core_err_set(err, CORE_E_STATE, "emulated EC2: image id collision (%s)",
                                a->images[i]->id);
        if (core_map_set(a->image_by_id, a->images[i]->id, a->images[i], NULL) != 0)
            return core_err_set(err, CORE_E_NOMEM, "emulated EC2: out of memory (image index)");
    }
    return 0;
}

/* ---- instance types, offerings, prices ---- */

/* The emulator's hibernation rule (AWS's list is per family; the catalog does not carry it):
 * general purpose, compute and memory families (c, m, r, t) of generations 3 to 7, not bare
 * metal, no GPU or accelerator, and at most 150 GiB of memory. */
static int hibernation_rule(const struct launcher_itype *t)
{
    if (t->bare_metal || t->gpu_count > 0 || t->accelerator_count > 0)
        return 0;
    if (t->memory_mib > 150 * 1024)
        return 0;
    if (t->generation < 3 || t->generation > 7)
        return 0;
    return strcmp(t->category, "c") == 0 || strcmp(t->category, "m") == 0 ||
           strcmp(t->category, "r") == 0 || strcmp(t->category, "t") == 0;
}

static int build_itypes(struct sim_aws *a, struct core_err *err)
{
    int rc = launcher_catalog_load(&a->catalog, err);
    if (rc)
        return rc;
    a->nitypes = launcher_catalog_count(a->catalog);
    if (!(a->itypes = core_calloc(a->nitypes ? a->nitypes : 1, sizeof *a->itypes)))
        return core_err_set(err, CORE_E_NOMEM, "emulated EC2: out of memory (instance types)");
    for (size_t i = 0; i < a->nitypes; i++) {
        struct sim_itype *it = &a->itypes[i];
        const struct launcher_itype *t = launcher_catalog_at(a->catalog, i);
        int scarce = t->gpu_count > 0 || t->accelerator_count > 0 || t->bare_metal;
        unsigned threshold = scarce ? 110 : 30; /* out of 256: chance a zone lacks the type */
        uint64_t h = sim_hash(t->name, 0x0ff);

        it->t = t;
        it->hibernation = hibernation_rule(t);
        it->od_price = t->od_price_usd_hr > 0 ? t->od_price_usd_hr
                                              : 0.05 * (double)(t->vcpu > 0 ? t->vcpu : 1);
        for (size_t z = 0; z < a->nzones; z++) {
            uint64_t hz = sim_hash(t->name, 0x100 + z);
            if (((h >> (8 * z)) & 0xff) >= threshold)
                it->zones |= 1u << z;
            /* Spot: 30% to 70% of on-demand, fixed per (type, zone). */
            it->spot_price[z] = it->od_price * (0.30 + 0.40 * (double)(hz & 0xffff) / 65535.0);
            it->spot_price[z] = floor(it->spot_price[z] * 1e6 + 0.5) / 1e6;
            /* Spare capacity: larger and scarcer types have shallower pools. */
            it->depth[z] = 0.15 + 0.85 * (double)((hz >> 16) & 0xffff) / 65535.0;
            if (scarce)
                it->depth[z] *= 0.5;
        }
        /* Every type is offered somewhere: the zone its name hashes to. */
        if (!it->zones)
            it->zones = 1u << (h % a->nzones);
        if (core_map_set(a->itype_by_name, t->name, it, NULL) != 0)
            return core_err_set(err, CORE_E_NOMEM, "emulated EC2: out of memory (type index)");
    }
    return 0;
}

static char *dup_or(const char *s, const char *def)
{
    return core_strdup(s && *s ? s : def);
}

int sim_aws_new(struct core_loop *loop, const struct sim_aws_opts *opts, struct sim_aws **out,
                struct core_err *err)
{
    struct sim_aws *a;
    struct sim_aws_opts def;
    int rc;

    if (!loop || !out)
        return core_err_set(err, CORE_E_INVAL, "sim_aws_new: loop and out are required");
    if (!opts) {
        sim_aws_opts_default(&def);
        opts = &def;
    }
    if (!(a = core_calloc(1, sizeof *a)))
        return core_err_set(err, CORE_E_NOMEM, "emulated AWS: out of memory");
    a->loop = loop;
    a->clock = core_loop_clock(loop);
    a->opts = *opts;
    core_strlcpy(a->region, opts->region && *opts->region ? opts->region : SIM_AWS_REGION,
                 sizeof a->region);
    core_strlcpy(a->account_id,
                 opts->account_id && *opts->account_id ? opts->account_id : SIM_AWS_ACCOUNT_ID,
                 sizeof a->account_id);
    core_strlcpy(a->cluster,
                 opts->cluster_name && *opts->cluster_name ? opts->cluster_name : SIM_AWS_CLUSTER,
                 sizeof a->cluster);
    if (strlen(a->region) > 30 || strspn(a->region, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
                                      strlen(a->region)) {
        core_free(a);
        return core_err_set(err, CORE_E_INVAL,
                            "emulated AWS: region '%.64s': expected at most 30 lowercase "
                            "letters, digits and '-', e.g. us-east-1",
                            opts->region);
    }
    a->access_key_id = dup_or(opts->access_key_id, SIM_AWS_ACCESS_KEY_ID);
    a->secret_access_key = dup_or(opts->secret_access_key, SIM_AWS_SECRET_ACCESS_KEY);
    /* The copies are what the account uses; the caller's strings may go away. */
    a->opts.region = a->region;
    a->opts.account_id = a->account_id;
    a->opts.cluster_name = a->cluster;
    a->opts.access_key_id = a->access_key_id;
    a->opts.secret_access_key = a->secret_access_key;
    if (a->opts.terminated_ttl <= 0)
        a->opts.terminated_ttl = (core_ns)3600 * 1000000000LL;
    sim_rng_seed(&a->rng_boot, opts->seed ^ UINT64_C(0xB007));
    sim_rng_seed(&a->rng_fault, opts->seed ^ UINT64_C(0xFA17));
    sim_rng_seed(&a->rng_id, opts->seed ^ UINT64_C(0x1D1D));
    a->image_by_id = core_map_new();
    a->itype_by_name = core_map_new();
    a->instance_by_id = core_map_new();
    a->lt_by_id = core_map_new();
    a->lt_by_name = core_map_new();
    a->tokens = core_map_new();
    a->param_by_name = core_map_new();
    a->buckets = core_map_new();
    if (!a->access_key_id || !a->secret_access_key || !a->image_by_id || !a->itype_by_name ||
        !a->instance_by_id || !a->lt_by_id || !a->lt_by_name || !a->tokens ||
        !a->param_by_name || !a->buckets) {
        rc = core_err_set(err, CORE_E_NOMEM, "emulated AWS: out of memory");
        goto fail;
    }
    a->launch_bucket.capacity = 1000;
    a->launch_bucket.refill = 2;
    a->launch_bucket.level = 1000;
    a->launch_bucket.at = sim_now(a);
    if ((rc = build_network(a, err)) || (rc = build_images(a, err)) ||
        (rc = build_itypes(a, err)) || (rc = sim_ssm_build(a, err)))
        goto fail;
    *out = a;
    return 0;
fail:
    sim_aws_free(a);
    return rc;
}

void sim_aws_free(struct sim_aws *a)
{
    size_t iter = 0;
    const char *key;
    void *val;

    if (!a)
        return;
    sim_instances_cleanup(a);
    sim_lts_cleanup(a);
    sim_tokens_cleanup(a);
    sim_ssm_cleanup(a);
    for (size_t i = 0; i < a->nimages; i++)
        image_free(a->images[i]);
    core_free(a->images);
    for (size_t i = 0; i < a->nsubnets; i++) {
        core_free(a->subnets[i].used);
        sim_tags_cleanup(&a->subnets[i].tags);
    }
    core_free(a->subnets);
    for (size_t i = 0; i < a->nsgs; i++)
        sim_tags_cleanup(&a->sgs[i].tags);
    core_free(a->sgs);
    core_free(a->itypes);
    launcher_catalog_free(a->catalog);
    if (a->buckets)
        while (core_map_next(a->buckets, &iter, &key, &val))
            core_free(val);
    core_map_free(a->buckets);
    core_map_free(a->image_by_id);
    core_map_free(a->itype_by_name);
    core_map_free(a->instance_by_id);
    core_map_free(a->lt_by_id);
    core_map_free(a->lt_by_name);
    core_map_free(a->tokens);
    core_map_free(a->param_by_name);
    core_free(a->access_key_id);
    if (a->secret_access_key) {
        OPENSSL_cleanse(a->secret_access_key, strlen(a->secret_access_key));
        core_free(a->secret_access_key);
    }
    core_free(a);
}

const char *sim_aws_region(const struct sim_aws *a)
{
    return a->region;
}

const struct sim_boot_model *sim_aws_boot_model(const struct sim_aws *a)
{
    return &a->opts.boot;
}

size_t sim_aws_instance_count(const struct sim_aws *a)
{
    return a->ninstances;
}

void sim_aws_set_observer(struct sim_aws *a, sim_aws_observer_fn fn, void *ud)
{
    a->observer = fn;
    a->observer_ud = fn ? ud : NULL;
}

void sim_aws_observer_get(const struct sim_aws *a, sim_aws_observer_fn *fn, void **ud)
{
    *fn = a->observer;
    *ud = a->observer_ud;
}

void sim_aws_stats(const struct sim_aws *a, struct sim_aws_stats *out)
{
    *out = a->stats;
}

int sim_aws_write_env(const struct sim_aws *a, const char *endpoint, const char *path,
                      struct core_err *err)
{
    char tmp[4096];
    struct core_buf b;
    int fd = -1, rc = 0;
    size_t off = 0;

    if (!a || !endpoint || !path || !*path)
        return core_err_set(err, CORE_E_INVAL, "env file: endpoint and path are required");
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return core_err_set(err, CORE_E_INVAL, "env file %s: path too long", path);
    core_buf_init(&b, 64 * 1024);
    if (core_buf_appendf(&b,
                         "AWS_ENDPOINT_URL=%s\nAWS_REGION=%s\nAWS_DEFAULT_REGION=%s\n"
                         "AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n"
                         "AWS_EC2_METADATA_DISABLED=true\n",
                         endpoint, a->region, a->region, a->access_key_id,
                         a->secret_access_key) != 0) {
        rc = core_err_set(err, CORE_E_NOMEM, "env file %s: out of memory", path);
        goto out;
    }
    /* A fresh file: an old PATH.tmp (other mode, a symlink) must not decide where the
     * secret goes or who can read it. */
    if (unlink(tmp) != 0 && errno != ENOENT) {
        rc = core_err_set(err, -errno, "env file %s: cannot remove stale %s: %s", path, tmp,
                          strerror(errno));
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = core_err_set(err, -errno, "env file %s: cannot create %s: %s", path, tmp,
                          strerror(errno));
        goto out;
    }
    while (off < b.len) {
        ssize_t w = write(fd, b.data + off, b.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = core_err_set(err, -errno, "env file %s: write failed: %s", path,
                              strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = core_err_set(err, -errno, "env file %s: close failed: %s", path, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        rc = core_err_set(err, -errno, "env file %s: rename failed: %s", path, strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    if (rc)
        unlink(tmp);
    core_buf_cleanup(&b);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* EC2 answers                                                                                 */
/* ------------------------------------------------------------------------------------------ */

int sim_ec2_fail(struct sim_ec2_ctx *c, long status, const char *code, const char *fmt, ...)
{
    va_list ap;
    c->status = status;
    core_strlcpy(c->code, code, sizeof c->code);
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof c->message, fmt, ap);
    va_end(ap);
    return CORE_E_SERVICE;
}

void sim_ec2_begin(struct sim_ec2_ctx *c)
{
    snprintf(c->root, sizeof c->root, "%.80sResponse", c->action);
    sim_xml_decl(&c->x);
    sim_xml_open_ns(&c->x, c->root, SIM_EC2_XMLNS);
    sim_xml_text(&c->x, "requestId", c->request_id);
}

void sim_ec2_end(struct sim_ec2_ctx *c)
{
    sim_xml_close(&c->x);
}

static void ec2_error_body(struct core_http_response *resp, long status, const char *code,
                           const char *message, const char *request_id)
{
    struct sim_xml x;
    core_buf_reset(&resp->body);
    sim_xml_init(&x, &resp->body);
    sim_xml_decl(&x);
    sim_xml_open(&x, "Response");
    sim_xml_open(&x, "Errors");
    sim_xml_open(&x, "Error");
    sim_xml_text(&x, "Code", code);
    sim_xml_text(&x, "Message", message);
    sim_xml_close(&x);
    sim_xml_close(&x);
    sim_xml_text(&x, "RequestID", request_id);
    sim_xml_close(&x);
    if (sim_xml_finish(&x) != 0)
        core_buf_reset(&resp->body);
    resp->status = status;
    if (core_http_response_add_header(resp, "Content-Type", "text/xml;charset=UTF-8") != 0)
        resp->status = 500;
}

/* ------------------------------------------------------------------------------------------ */
/* Throttling: EC2-like request buckets per action                                            */
/* ------------------------------------------------------------------------------------------ */

struct bucket_class {
    const char *action; /* exact action, or NULL for the class default */
    double capacity, refill;
};
/* The shape of EC2's published request token buckets: non-mutating (Describe*) actions 100
 * tokens refilling at 20/s, mutating actions 200 refilling at 5/s, a few heavier ones less. The
 * launch resource bucket (1,000 instances refilling at 2/s) is separate (a->launch_bucket). */
static const struct bucket_class bucket_table[] = {
    {"CreateTags", 100, 10},
    {"DeleteTags", 100, 10},
    {"CreateLaunchTemplate", 100, 2},
    {"DeleteLaunchTemplate", 100, 2},
    {"ModifyInstanceAttribute", 100, 5},
};

static struct sim_bucket *bucket_for(struct sim_aws *a, const char *service, const char *action)
{
    char key[160];
    struct sim_bucket *b;
    double cap = 100, refill = 20;

    snprintf(key, sizeof key, "%s.%s", service, action);
    if ((b = core_map_get(a->buckets, key, NULL)))
        return b;
    if (strcmp(service, "ec2") == 0 && strncmp(action, "Describe", 8) != 0) {
        cap = 200;
        refill = 5;
    }
    if (strcmp(service, "ssm") == 0) {
        cap = 40; /* GetParameter's default throughput is 40 TPS */
        refill = 40;
    }
    for (size_t i = 0; i < sizeof bucket_table / sizeof *bucket_table; i++)
        if (strcmp(bucket_table[i].action, action) == 0) {
            cap = bucket_table[i].capacity;
            refill = bucket_table[i].refill;
        }
    if (!(b = core_calloc(1, sizeof *b)))
        return NULL;
    b->capacity = cap;
    b->refill = refill;
    b->level = cap;
    b->at = sim_now(a);
    if (core_map_set(a->buckets, key, b, NULL) != 0) {
        core_free(b);
        return NULL;
    }
    return b;
}

/* ------------------------------------------------------------------------------------------ */
/* SigV4 check                                                                                 */
/* ------------------------------------------------------------------------------------------ */

#define AUTH_SIGNED_MAX 64u

struct auth_parts {
    char akid[128];
    char date[16];
    char region[64];
    char service[32];
    char signed_headers[1024];
    char signature[80];
};

/* Copies the value of "Name=" up to ',' or the end, trimmed. */
static int auth_field(const char *auth, const char *name, char *out, size_t outsz)
{
    const char *p = strstr(auth, name);
    size_t len;
    if (!p)
        return -1;
    p += strlen(name);
    len = strcspn(p, ",");
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= outsz)
        return -1;
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

static int auth_parse(const char *auth, struct auth_parts *ap)
{
    char cred[512];
    char *parts[5];
    size_t n = 0;
    char *p;

    memset(ap, 0, sizeof *ap);
    if (strncmp(auth, AWS_SIGV4_ALGORITHM " ", sizeof AWS_SIGV4_ALGORITHM) != 0)
        return -1;
    if (auth_field(auth, "Credential=", cred, sizeof cred) ||
        auth_field(auth, "SignedHeaders=", ap->signed_headers, sizeof ap->signed_headers) ||
        auth_field(auth, "Signature=", ap->signature, sizeof ap->signature))
        return -1;
    for (p = cred; n < 5; n++) {
        char *slash = strchr(p, '/');
        parts[n] = p;
        if (!slash) {
            n++;
            break;
        }
        *slash = '\0';
        p = slash + 1;
    }
    if (n != 5 || strcmp(parts[4], "aws4_request") != 0)
        return -1;
    if (core_strlcpy(ap->akid, parts[0], sizeof ap->akid) >= sizeof ap->akid ||
        core_strlcpy(ap->date, parts[1], sizeof ap->date) >= sizeof ap->date ||
        core_strlcpy(ap->region, parts[2], sizeof ap->region) >= sizeof ap->region ||
        core_strlcpy(ap->service, parts[3], sizeof ap->service) >= sizeof ap->service)
        return -1;
    return 0;
}

static const char *req_header(const struct sim_http_req *req, const char *name)
{
    const char *v = NULL;
    for (size_t i = 0; i < req->nheaders; i++)
        if (req->headers[i].name && strcasecmp(req->headers[i].name, name) == 0)
            v = req->headers[i].value;
    return v;
}

/* "20261122T152604Z" -> wall ns. */
static int parse_amz_date(const char *s, core_ns *out)
{
    char iso[32];
    if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return -1;
    snprintf(iso, sizeof iso, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", s, s + 4, s + 6, s + 9, s + 11,
             s + 13);
    return core_time_parse_rfc3339(iso, out) == 0 ? 0 : -1;
}

enum auth_result {
    AUTH_OK = 0,
    AUTH_MISSING,     /* no Authorization header */
    AUTH_MALFORMED,   /* not a SigV4 header we can read */
    AUTH_UNKNOWN_KEY, /* access key id not this account's */
    AUTH_SCOPE,       /* wrong region or service in the scope */
    AUTH_EXPIRED,     /* X-Amz-Date too far from now */
    AUTH_MISMATCH,    /* signature does not match */
};

static int signed_list_has(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ";");
        if (len == n && strncasecmp(p, name, n) == 0)
            return 1;
        p += len;
        if (*p == ';')
            p++;
    }
    return 0;
}

static enum auth_result check_sigv4(struct sim_aws *a, const struct sim_http_req *req,
                                    const char *service, const struct auth_parts *ap)
{
    struct aws_sigv4_header hdrs[AUTH_SIGNED_MAX];
    size_t nh = 0;
    struct aws_sigv4_request sreq;
    struct aws_sigv4_params params;
    struct aws_credentials creds;
    struct core_buf canon, sts, sig;
    const char *date = req_header(req, "x-amz-date");
    const char *token = req_header(req, "x-amz-security-token");
    core_ns when;
    enum auth_result res = AUTH_MISMATCH;

    if (strcmp(ap->akid, a->access_key_id) != 0)
        return AUTH_UNKNOWN_KEY;
    if (strcmp(ap->region, a->region) != 0 || strcmp(ap->service, service) != 0)
        return AUTH_SCOPE;
    if (parse_amz_date(date, &when) != 0 || strncmp(date, ap->date, 8) != 0)
        return AUTH_MALFORMED;
    if (when - sim_wall(a) > SIM_SKEW_MAX || sim_wall(a) - when > SIM_SKEW_MAX)
        return AUTH_EXPIRED;
    /* The signed headers as received, minus those the signer adds back itself. */
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *n = req->headers[i].name;
        if (!n || !signed_list_has(ap->signed_headers, n))
            continue;
        if (strcasecmp(n, "x-amz-date") == 0 || strcasecmp(n, "x-amz-security-token") == 0 ||
            strcasecmp(n, "x-amz-content-sha256") == 0 || strcasecmp(n, "authorization") == 0)
            continue;
        if (nh == AUTH_SIGNED_MAX)
            return AUTH_MALFORMED;
        hdrs[nh].name = n;
        hdrs[nh].value = req->headers[i].value ? req->headers[i].value : "";
        nh++;
    }
    memset(&sreq, 0, sizeof sreq);
    sreq.method = req->method;
    sreq.target = req->target && *req->target ? req->target : "/";
    sreq.headers = hdrs;
    sreq.nheaders = nh;
    sreq.body = req->body;
    sreq.body_len = req->body_len;
    memset(&params, 0, sizeof params);
    params.region = a->region;
    params.service = service;
    params.wall = when;
    params.normalize_path = 1;
    params.sign_body = signed_list_has(ap->signed_headers, "x-amz-content-sha256");
    /* EC2 and SSM always sign the body: an UNSIGNED-PAYLOAD claim is not honoured, so a
     * signature can never cover a different body than the one received. */
    params.unsigned_payload = 0;
    params.omit_session_token =
        token && !signed_list_has(ap->signed_headers, "x-amz-security-token");
    memset(&creds, 0, sizeof creds);
    creds.access_key_id = a->access_key_id;
    creds.secret_access_key = a->secret_access_key;
    creds.session_token = (char *)(uintptr_t)token; /* borrowed; never freed here */
    core_buf_init(&canon, AWS_SIGV4_TEXT_MAX);
    core_buf_init(&sts, AWS_SIGV4_TEXT_MAX);
    core_buf_init(&sig, 128);
    if (aws_sigv4_canonical_request(&sreq, &creds, &params, AWS_SIGV4_HEADERS, &canon, NULL) ||
        aws_sigv4_string_to_sign(canon.data, canon.len, &params, &sts, NULL) ||
        aws_sigv4_signature(sts.data, sts.len, &creds, &params, &sig, NULL)) {
        res = AUTH_MALFORMED;
        goto out;
    }
    if (sig.len == strlen(ap->signature) &&
        CRYPTO_memcmp(sig.data, ap->signature, sig.len) == 0)
        res = AUTH_OK;
out:
    core_buf_cleanup(&canon);
    core_buf_cleanup(&sts);
    core_buf_cleanup(&sig);
    return res;
}

/* ------------------------------------------------------------------------------------------ */
/* Dispatch                                                                                    */
/* ------------------------------------------------------------------------------------------ */

struct ec2_action {
    const char *name;
    sim_ec2_action_fn fn;
};

static const struct ec2_action ec2_actions[] = {
    {"CreateFleet", sim_ec2_create_fleet},
    {"CreateLaunchTemplate", sim_ec2_create_launch_template},
    {"CreateTags", sim_ec2_create_tags},
    {"DeleteLaunchTemplate", sim_ec2_delete_launch_template},
    {"DeleteTags", sim_ec2_delete_tags},
    {"DescribeAvailabilityZones", sim_ec2_describe_availability_zones},
    {"DescribeImages", sim_ec2_describe_images},
    {"DescribeInstanceAttribute", sim_ec2_describe_instance_attribute},
    {"DescribeInstanceTypeOfferings", sim_ec2_describe_instance_type_offerings},
    {"DescribeInstanceTypes", sim_ec2_describe_instance_types},
    {"DescribeInstances", sim_ec2_describe_instances},
    {"DescribeLaunchTemplates", sim_ec2_describe_launch_templates},
    {"DescribeSecurityGroups", sim_ec2_describe_security_groups},
    {"DescribeSpotPriceHistory", sim_ec2_describe_spot_price_history},
    {"DescribeSubnets", sim_ec2_describe_subnets},
    {"ModifyInstanceAttribute", sim_ec2_modify_instance_attribute},
    {"RunInstances", sim_ec2_run_instances},
    {"StartInstances", sim_ec2_start_instances},
    {"StopInstances", sim_ec2_stop_instances},
    {"TerminateInstances", sim_ec2_terminate_instances},
};

static sim_ec2_action_fn ec2_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof ec2_actions / sizeof *ec2_actions; i++)
        if (strcmp(ec2_actions[i].name, name) == 0)
            return ec2_actions[i].fn;
    return NULL;
}

static void new_request_id(struct sim_aws *a, char *out, size_t outsz)
{
    uint64_t h = sim_hash("request", ++a->next_request);
    uint64_t l = sim_hash("request-low", a->next_request);
    snprintf(out, outsz, "%08x-%04x-4%03x-8%03x-%012llx", (unsigned)(h >> 32),
             (unsigned)((h >> 16) & 0xffff), (unsigned)(h & 0xfff), (unsigned)((l >> 48) & 0xfff),
             (unsigned long long)(l & 0xffffffffffffULL));
}

static void ec2_handle(struct sim_aws *a, const struct sim_http_req *req, const char *request_id,
                       struct core_http_response *resp)
{
    struct aws_query q;
    struct sim_ec2_ctx c;
    sim_ec2_action_fn fn;
    const char *form = req->body;
    size_t form_len = req->body_len;
    const char *qmark = req->target ? strchr(req->target, '?') : NULL;
    int rc;

    aws_query_init(&q);
    memset(&c, 0, sizeof c);
    c.a = a;
    c.q = &q;
    core_strlcpy(c.request_id, request_id, sizeof c.request_id);
    c.body = &resp->body;
    /* EC2 takes the parameters from a GET's query string as well as from a POSTed form. */
    if (strcmp(req->method, "GET") == 0 && qmark) {
        form = qmark + 1;
        form_len = strlen(form);
    } else if (strcmp(req->method, "POST") != 0) {
        ec2_error_body(resp, 400, "InvalidHttpRequest",
                       "The HTTP method must be POST (or GET with a query string).", request_id);
        goto out;
    }
    if (form_len > SIM_FORM_MAX) {
        ec2_error_body(resp, 400, "InvalidParameterValue",
                       "The request is too large (at most 1 MiB of parameters).", request_id);
        goto out;
    }
    if (aws_query_parse(&q, form ? form : "", form_len, NULL) != 0) {
        ec2_error_body(resp, 400, "InvalidParameterValue",
                       "The request body is not a valid form (application/x-www-form-urlencoded).",
                       request_id);
        goto out;
    }
    /* Handlers look parameters up by name (linear): bound their number so no request costs
     * more than a few milliseconds. */
    if (q.n > SIM_FORM_PARAMS_MAX) {
        char msg[128];
        snprintf(msg, sizeof msg, "The request has %zu parameters; at most %u are accepted.",
                 q.n, SIM_FORM_PARAMS_MAX);
        ec2_error_body(resp, 400, "InvalidParameterValue", msg, request_id);
        goto out;
    }
    c.action = aws_query_get(&q, "Action");
    if (!c.action || !*c.action) {
        ec2_error_body(resp, 400, "MissingAction", "The request must contain the parameter Action.",
                       request_id);
        goto out;
    }
    if (!(fn = ec2_lookup(c.action))) {
        char msg[256];
        snprintf(msg, sizeof msg, "The action %.80s is not valid for this web service.",
                 c.action);
        ec2_error_body(resp, 400, "InvalidAction", msg, request_id);
        goto out;
    }
    if (a->opts.faults.throttle) {
        struct sim_bucket *b = bucket_for(a, "ec2", c.action);
        if (!b) {
            ec2_error_body(resp, 500, "InternalError", "An internal error has occurred.",
                           request_id);
            goto out;
        }
        if (!sim_bucket_take(b, 1, sim_now(a))) {
            a->stats.throttled++;
            ec2_error_body(resp, 503, "RequestLimitExceeded", "Request limit exceeded.",
                           request_id);
            goto out;
        }
    }
    core_buf_reset(&resp->body);
    sim_xml_init(&c.x, &resp->body);
    rc = fn(&c);
    if (rc == 0 && (rc = sim_xml_finish(&c.x)) != 0)
        sim_ec2_fail(&c, 500, "InternalError", "An internal error has occurred (answer: %s).",
                     core_strerror(rc));
    if (rc != 0) {
        if (!c.code[0])
            sim_ec2_fail(&c, 500, "InternalError", "An internal error has occurred.");
        ec2_error_body(resp, c.status, c.code, c.message, request_id);
        goto out;
    }
    resp->status = 200;
    if (core_http_response_add_header(resp, "Content-Type", "text/xml;charset=UTF-8") != 0)
        ec2_error_body(resp, 500, "InternalError", "An internal error has occurred.", request_id);
out:
    aws_query_cleanup(&q);
}

static void ssm_handle(struct sim_aws *a, const struct sim_http_req *req, const char *request_id,
                       struct core_http_response *resp)
{
    const char *target = req_header(req, "x-amz-target");
    const char *op;

    if (!target || strncmp(target, "AmazonSSM.", 10) != 0) {
        sim_json_error(resp, 400, "UnknownOperationException",
                       "X-Amz-Target must name an AmazonSSM operation", request_id);
        return;
    }
    op = target + 10;
    if (a->opts.faults.throttle) {
        /* Buckets only for operations that exist: a bogus name must not add state. */
        int known = strcmp(op, "GetParameter") == 0 || strcmp(op, "GetParameters") == 0 ||
                    strcmp(op, "GetParametersByPath") == 0;
        struct sim_bucket *b = bucket_for(a, "ssm", known ? op : "unknown");
        if (b && !sim_bucket_take(b, 1, sim_now(a))) {
            a->stats.throttled++;
            sim_json_error(resp, 400, "ThrottlingException", "Rate exceeded", request_id);
            return;
        }
    }
    sim_ssm_handle(a, op, req->body ? req->body : "", req->body_len, request_id, resp);
}

void sim_aws_handle(void *ud, const struct sim_http_req *req, struct core_http_response *resp,
                    core_ns *delay)
{
    struct sim_aws *a = ud;
    const char *auth, *target;
    const char *service = NULL;
    char request_id[40];
    struct auth_parts ap;
    enum auth_result ar = AUTH_MISSING;
    int json;

    a->stats.requests++;
    *delay = 0;
    new_request_id(a, request_id, sizeof request_id);
    if (resp->body.limit == 0)
        core_buf_init(&resp->body, SIM_BODY_MAX);
    sim_instances_advance(a);
    if (a->opts.faults.latency > 0)
        *delay = (core_ns)((double)a->opts.faults.latency * (0.5 + sim_rng_unit(&a->rng_fault)));

    auth = req_header(req, "authorization");
    target = req_header(req, "x-amz-target");
    json = target != NULL;
    if (auth && auth_parse(auth, &ap) == 0) {
        service = ap.service;
        json = strcmp(service, "ssm") == 0 || (json && strcmp(service, "ec2") != 0);
    } else if (auth) {
        ar = AUTH_MALFORMED;
    }
    if (!service)
        service = json ? "ssm" : "ec2";
    if (strcmp(service, "ec2") != 0 && strcmp(service, "ssm") != 0) {
        a->stats.auth_failures++;
        if (json)
            sim_json_error(resp, 400, "InvalidSignatureException",
                           "Credential should be scoped to a valid service (ec2 or ssm)",
                           request_id);
        else
            ec2_error_body(resp, 401, "AuthFailure",
                           "Credential should be scoped to a valid service (ec2 or ssm).",
                           request_id);
        return;
    }
    if (!a->opts.skip_signature_check) {
        if (auth && ar != AUTH_MALFORMED)
            ar = check_sigv4(a, req, service, &ap);
        if (ar != AUTH_OK) {
            static const char *const why[] = {
                [AUTH_MISSING] = "Request is missing Authentication Token",
                [AUTH_MALFORMED] = "Authorization header or X-Amz-Date is malformed",
                [AUTH_UNKNOWN_KEY] = "The security token included in the request is invalid",
                [AUTH_SCOPE] = "Credential should be scoped to a valid region and service",
                [AUTH_EXPIRED] = "Signature expired: X-Amz-Date is more than 15 minutes away "
                                 "from the server's time",
                [AUTH_MISMATCH] = "The request signature we calculated does not match the "
                                  "signature you provided",
            };
            a->stats.auth_failures++;
            if (json) {
                const char *type = ar == AUTH_MISSING       ? "MissingAuthenticationTokenException"
                                   : ar == AUTH_UNKNOWN_KEY ? "UnrecognizedClientException"
                                                            : "InvalidSignatureException";
                sim_json_error(resp, ar == AUTH_MISSING ? 403 : 400, type, why[ar], request_id);
            } else if (ar == AUTH_EXPIRED) {
                ec2_error_body(resp, 400, "RequestExpired", why[ar], request_id);
            } else {
                ec2_error_body(resp, 401, "AuthFailure", why[ar], request_id);
            }
            return;
        }
    }
    if (a->opts.faults.error_rate > 0 &&
        sim_rng_unit(&a->rng_fault) < a->opts.faults.error_rate) {
        int unavailable = (sim_rng_next(&a->rng_fault) & 1) != 0;
        a->stats.injected_errors++;
        if (json)
            sim_json_error(resp, 500, "InternalServerError", "injected fault", request_id);
        else
            ec2_error_body(resp, unavailable ? 503 : 500,
                           unavailable ? "Unavailable" : "InternalError",
                           unavailable ? "The server is overloaded and cannot handle the request."
                                       : "An internal error has occurred.",
                           request_id);
        return;
    }
    if (json)
        ssm_handle(a, req, request_id, resp);
    else
        ec2_handle(a, req, request_id, resp);
}
