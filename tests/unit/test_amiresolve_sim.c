/*
 * tests/unit/test_amiresolve_sim.c — the amiresolve resolver against the emulated account
 * (SSM and EC2 through stoker's own aws_client and the in-process transport, virtual clock):
 * every alias family x architecture x variant the emulator publishes (ids equal to the SSM
 * parameters, names of the right pattern), unsupported combinations refused without a call,
 * pinned releases, selector terms by name/owner, tags, ssmParameter and id, the choice rule
 * across deprecated and current releases, the cache (TTLs, early eviction when a cached image
 * becomes deprecated, identical requests sharing one resolution), instance types to AMIs, the
 * status for success and each failure, and freeing the resolver with calls in flight before
 * and after the client.
 */
#include "tests/unit/harness.h"

#include "amiresolve/amiresolve.h"
#include "aws/aws.h"
#include "core/core.h"
#include "launcher/launcher.h"
#include "sim/internal.h"
#include "sim/sim.h"
#include "tests/unit/simaws.h"

#include <jansson.h>
#include <string.h>

#define WALL_START TESTS_SIMAWS_WALL_START
#define MINUTE (INT64_C(60) * CORE_NS_PER_S)
#define HOUR (60 * MINUTE)

struct fx {
    struct tests_simaws s; /* clock, loop, account, transport, client */
    struct amiresolve *r;
};

static void fx_setup(struct fx *f)
{
    struct core_err err;
    tests_simaws_open(&f->s);
    f->r = NULL;
    CU_ASSERT_EQUAL_FATAL(amiresolve_new(f->s.c, NULL, &f->r, &err), 0);
}

static void fx_teardown(struct fx *f)
{
    amiresolve_free(f->r);
    tests_simaws_close(&f->s);
}

static void fx_run(struct fx *f, const int *flag)
{
    tests_simaws_run(&f->s, flag);
}

/* ---- collecting answers ------------------------------------------------------------------- */

struct res {
    int done, rc, calls;
    struct core_err err;
    struct amiresolve_result r;
};

static void on_res(void *ud, int rc, const struct amiresolve_result *res,
                   const struct core_err *err)
{
    struct res *x = ud;
    x->done = 1;
    x->calls++;
    x->rc = rc;
    if (err)
        x->err = *err;
    if (res) {
        amiresolve_result_cleanup(&x->r);
        CU_ASSERT_EQUAL(amiresolve_result_copy(&x->r, res), 0);
    }
}

static void res_cleanup(struct res *x)
{
    amiresolve_result_cleanup(&x->r);
    memset(x, 0, sizeof *x);
}

static void nc_init(struct k8s_ec2nodeclass *nc, struct k8s_ami_term *terms, size_t n)
{
    memset(nc, 0, sizeof *nc);
    nc->ami_terms = terms;
    nc->nami_terms = n;
    nc->ami_family = K8S_AMI_AL2023;
}

/* Resolves and runs the loop until the answer; the start's rc is returned. */
static int resolve_terms(struct fx *f, struct k8s_ami_term *terms, size_t n, const char *k8s,
                         struct res *x)
{
    struct k8s_ec2nodeclass nc;
    int rc;
    memset(x, 0, sizeof *x);
    nc_init(&nc, terms, n);
    rc = amiresolve_resolve(f->r, &nc, k8s, on_res, x, &x->err);
    if (rc)
        return rc;
    CU_ASSERT_EQUAL(x->done, 0); /* never inside the call */
    fx_run(f, &x->done);
    CU_ASSERT_EQUAL(x->calls, 1);
    return 0;
}

static int resolve_alias_text(struct fx *f, const char *alias, const char *k8s, struct res *x)
{
    struct k8s_ami_term t;
    memset(&t, 0, sizeof t);
    t.alias = (char *)alias;
    return resolve_terms(f, &t, 1, k8s, x);
}

static const char *param_value(const struct fx *f, const char *name)
{
    const struct sim_ssm_param *p = core_map_get(f->s.a->param_by_name, name, NULL);
    return p ? p->value : NULL;
}

static struct sim_image *image_by_name(const struct fx *f, const char *name)
{
    for (size_t i = 0; i < f->s.a->nimages; i++)
        if (f->s.a->images[i]->name && strcmp(f->s.a->images[i]->name, name) == 0)
            return f->s.a->images[i];
    return NULL;
}

static struct sim_image *image_by_id(const struct fx *f, const char *id)
{
    for (size_t i = 0; i < f->s.a->nimages; i++)
        if (strcmp(f->s.a->images[i]->id, id) == 0)
            return f->s.a->images[i];
    return NULL;
}

static int has_prefix(const char *s, const char *p)
{
    return s && strncmp(s, p, strlen(p)) == 0;
}

/* The name pattern an image of this family / arch / variant / Kubernetes version has. */
static int name_matches(enum k8s_ami_family fam, const char *arch, const char *variant,
                        const char *k8s, const char *name)
{
    char want[256];
    const char *ea = strcmp(arch, "arm64") == 0 ? "arm64" : "x86_64";
    switch (fam) {
    case K8S_AMI_AL2023:
        snprintf(want, sizeof want, "amazon-eks-node-al2023-%s-%s-%s-v", ea, variant, k8s);
        break;
    case K8S_AMI_AL2:
        snprintf(want, sizeof want, "amazon-eks-%snode-%s-v",
                 strcmp(arch, "arm64") == 0        ? "arm64-"
                 : strcmp(variant, "standard") != 0 ? "gpu-"
                                                    : "",
                 k8s);
        break;
    case K8S_AMI_BOTTLEROCKET:
        snprintf(want, sizeof want, "bottlerocket-aws-k8s-%s%s-%s-v", k8s,
                 strcmp(variant, "nvidia") == 0 ? "-nvidia" : "", ea);
        break;
    case K8S_AMI_WINDOWS2019:
    case K8S_AMI_WINDOWS2022:
    case K8S_AMI_WINDOWS2025:
        snprintf(want, sizeof want, "Windows_Server-%s-English-Core-EKS_Optimized-%s-",
                 fam == K8S_AMI_WINDOWS2019   ? "2019"
                 : fam == K8S_AMI_WINDOWS2022 ? "2022"
                                              : "2025",
                 k8s);
        break;
    default:
        return 0;
    }
    return has_prefix(name, want);
}

/* ---- tests ----------------------------------------------------------------------------------- */

/* Every family x arch x variant the emulator offers: the id is the SSM parameter's value, the
 * image's name has the family's pattern, and it is the newest release. */
static void test_alias_every_family(void)
{
    static const struct {
        const char *alias, *k8s;
        size_t n;
    } cases[] = {
        {"al2023@latest", "1.31", 5},      {"al2023@latest", "1.33", 5},
        {"al2023@latest", "1.35", 5},      {"al2@latest", "1.31", 4},
        {"al2@latest", "1.32", 4},         {"bottlerocket@latest", "1.31", 4},
        {"bottlerocket@latest", "1.35", 4}, {"windows2019@latest", "1.31", 1},
        {"windows2022@latest", "1.31", 1}, {"windows2022@latest", "1.35", 1},
        {"windows2025@latest", "1.35", 1},
    };
    struct fx f;

    fx_setup(&f);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        struct amiresolve_alias al;
        struct amiresolve_param p[AMIRESOLVE_PARAM_MAX];
        size_t np = 0;
        struct res x;
        struct core_err err;

        CU_ASSERT_EQUAL_FATAL(amiresolve_alias_parse(cases[c].alias, NULL, &al, &err), 0);
        CU_ASSERT_EQUAL_FATAL(amiresolve_alias_params(&al, cases[c].k8s, p,
                                                      AMIRESOLVE_PARAM_MAX, &np, &err), 0);
        CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, cases[c].alias, cases[c].k8s, &x), 0);
        if (x.rc)
            fprintf(stderr, "\n  %s %s: %s\n", cases[c].alias, cases[c].k8s, x.err.message);
        CU_ASSERT_EQUAL(x.rc, 0);
        CU_ASSERT_EQUAL(x.r.n, cases[c].n);
        CU_ASSERT_EQUAL(x.r.family, al.family);
        CU_ASSERT_STRING_EQUAL(x.r.k8s, cases[c].k8s);
        for (size_t i = 0; i < np; i++) {
            const struct amiresolve_ami *a = NULL;
            const char *want = param_value(&f, p[i].name);
            const struct sim_image *im;
            for (size_t k = 0; k < x.r.n; k++)
                if (strcmp(x.r.v[k].arch, p[i].arch) == 0 &&
                    strcmp(x.r.v[k].variant, p[i].variant) == 0)
                    a = &x.r.v[k];
            CU_ASSERT_PTR_NOT_NULL_FATAL(want);
            CU_ASSERT_PTR_NOT_NULL_FATAL(a);
            CU_ASSERT_STRING_EQUAL(a->id, want);
            CU_ASSERT(name_matches(al.family, a->arch, a->variant, cases[c].k8s, a->name));
            if (!name_matches(al.family, a->arch, a->variant, cases[c].k8s, a->name))
                fprintf(stderr, "\n  name %s (%s %s)\n", a->name, a->arch, a->variant);
            CU_ASSERT_EQUAL(a->deprecated, 0);
            CU_ASSERT(has_prefix(a->source, "ssm:/aws/service/"));
            im = image_by_id(&f, a->id);
            CU_ASSERT(im != NULL && im->latest);
        }
        res_cleanup(&x);
    }
    fx_teardown(&f);
}

static void test_unsupported_without_calls(void)
{
    struct fx f;
    struct res x;
    struct amiresolve_stats st;
    struct sim_aws_stats ss;
    struct amiresolve_alias al;
    struct core_err err;

    fx_setup(&f);
    CU_ASSERT_EQUAL(resolve_alias_text(&f, "al2@latest", "1.33", &x), CORE_E_UNSUPPORTED);
    CU_ASSERT(strstr(x.err.message, "spec.amiSelectorTerms[0].alias") != NULL);
    CU_ASSERT(strstr(x.err.message, "al2023") != NULL);
    CU_ASSERT_EQUAL(resolve_alias_text(&f, "windows2025@latest", "1.34", &x),
                    CORE_E_UNSUPPORTED);
    CU_ASSERT_EQUAL(resolve_alias_text(&f, "windows2022@v20240101", "1.31", &x),
                    CORE_E_UNSUPPORTED);
    CU_ASSERT_EQUAL(amiresolve_alias_parse("al2@latest", NULL, &al, &err), 0);
    CU_ASSERT_EQUAL(amiresolve_resolve_alias(f.r, &al, "1.34", on_res, &x, &err),
                    CORE_E_UNSUPPORTED);
    CU_ASSERT_EQUAL(resolve_alias_text(&f, "al2023@latest", "one.31", &x), CORE_E_INVAL);
    amiresolve_stats(f.r, &st);
    CU_ASSERT_EQUAL(st.ssm_calls, 0);
    CU_ASSERT_EQUAL(st.ec2_calls, 0);
    sim_aws_stats(f.s.a, &ss);
    CU_ASSERT_EQUAL(ss.requests, 0);
    CU_ASSERT_EQUAL(x.calls, 0);
    fx_teardown(&f);
}

/* Images of a name pattern, oldest first (at most 8). */
static size_t images_named(const struct fx *f, const char *prefix, struct sim_image **out)
{
    size_t n = 0;
    for (size_t i = 0; i < f->s.a->nimages && n < 8; i++)
        if (has_prefix(f->s.a->images[i]->name, prefix))
            out[n++] = f->s.a->images[i];
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && out[j - 1]->created > out[j]->created; j--) {
            struct sim_image *t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

struct img_res {
    int done, rc;
    char names[8][256];
    char ids[8][32];
    core_ns created[8];
    size_t n;
};

static void on_images(void *ud, int rc, const struct aws_ec2_images *res,
                      const struct core_err *err)
{
    struct img_res *r = ud;
    (void)err;
    r->done = 1;
    r->rc = rc;
    for (size_t i = 0; res && i < res->n && r->n < 8; i++, r->n++) {
        core_strlcpy(r->names[r->n], res->v[i].name ? res->v[i].name : "", sizeof r->names[0]);
        core_strlcpy(r->ids[r->n], res->v[i].image_id, sizeof r->ids[0]);
        r->created[r->n] = res->v[i].creation_date;
    }
}

/* The middle release (neither newest nor deprecated) of a name pattern, from DescribeImages. */
static void middle_release(struct fx *f, const char *pattern, char *name, size_t namesz,
                           char *id, size_t idsz)
{
    static const char *const owners[] = {"amazon"};
    const char *values[1] = {pattern};
    struct aws_ec2_filter flt = {"name", values, 1};
    struct aws_ec2_describe_images_req req;
    struct img_res r;
    struct core_err err;
    size_t best = 0;

    memset(&req, 0, sizeof req);
    memset(&r, 0, sizeof r);
    req.owners = owners;
    req.nowners = 1;
    req.filters = &flt;
    req.nfilters = 1;
    req.include_deprecated = AWS_EC2_TRUE;
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_images(f->s.c, &req, on_images, &r, &err), 0);
    fx_run(f, &r.done);
    CU_ASSERT_EQUAL_FATAL(r.rc, 0);
    CU_ASSERT_EQUAL_FATAL(r.n, 3);
    /* The one that is neither the oldest nor the newest. */
    for (size_t i = 0; i < r.n; i++) {
        int older = 0;
        for (size_t k = 0; k < r.n; k++)
            older += r.created[k] < r.created[i];
        if (older == 1)
            best = i;
    }
    core_strlcpy(name, r.names[best], namesz);
    core_strlcpy(id, r.ids[best], idsz);
}

static void test_pinned(void)
{
    struct fx f;
    struct res x;
    char name[256], id[32], alias[128];
    const char *rel, *end;
    const struct amiresolve_ami *a = NULL;

    fx_setup(&f);
    /* AL2023: the release is the name's last dash-separated part. */
    middle_release(&f, "amazon-eks-node-al2023-x86_64-standard-1.31-*", name, sizeof name, id,
                   sizeof id);
    rel = strrchr(name, '-');
    CU_ASSERT_PTR_NOT_NULL_FATAL(rel);
    snprintf(alias, sizeof alias, "al2023@%s", rel + 1);
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, alias, "1.31", &x), 0);
    CU_ASSERT_EQUAL_FATAL(x.rc, 0);
    CU_ASSERT_EQUAL(x.r.n, 5);
    for (size_t i = 0; i < x.r.n; i++) {
        if (strcmp(x.r.v[i].arch, "amd64") == 0 && strcmp(x.r.v[i].variant, "standard") == 0)
            a = &x.r.v[i];
        CU_ASSERT(strstr(x.r.v[i].name, rel) != NULL); /* every line at that release */
        CU_ASSERT(!image_by_id(&f, x.r.v[i].id)->latest);
    }
    CU_ASSERT(a != NULL && strcmp(a->id, id) == 0);
    res_cleanup(&x);

    /* AL2 pinned, on the same date. */
    snprintf(alias, sizeof alias, "al2@%s", rel + 1);
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, alias, "1.31", &x), 0);
    CU_ASSERT_EQUAL(x.rc, 0);
    CU_ASSERT_EQUAL(x.r.n, 4);
    for (size_t i = 0; i < x.r.n; i++)
        CU_ASSERT(strstr(x.r.v[i].name, rel) != NULL);
    res_cleanup(&x);

    /* Bottlerocket: "...-x86_64-v1.41.0-<hash>", with and without the v. */
    middle_release(&f, "bottlerocket-aws-k8s-1.31-x86_64-*", name, sizeof name, id, sizeof id);
    rel = strstr(name, "-v");
    CU_ASSERT_PTR_NOT_NULL_FATAL(rel);
    end = strchr(rel + 2, '-');
    CU_ASSERT_PTR_NOT_NULL_FATAL(end);
    snprintf(alias, sizeof alias, "bottlerocket@%.*s", (int)(end - rel - 1), rel + 1);
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, alias, "1.31", &x), 0);
    CU_ASSERT_EQUAL(x.rc, 0);
    CU_ASSERT_EQUAL(x.r.n, 4);
    a = NULL;
    for (size_t i = 0; i < x.r.n; i++)
        if (strcmp(x.r.v[i].arch, "amd64") == 0 && strcmp(x.r.v[i].variant, "standard") == 0)
            a = &x.r.v[i];
    CU_ASSERT(a != NULL && strcmp(a->id, id) == 0);
    res_cleanup(&x);
    snprintf(alias, sizeof alias, "bottlerocket@%.*s", (int)(end - rel - 2), rel + 2);
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, alias, "1.31", &x), 0);
    CU_ASSERT_EQUAL(x.rc, 0);
    CU_ASSERT_EQUAL(x.r.n, 4);
    res_cleanup(&x);

    /* A release that does not exist: nothing found, naming the alias. */
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, "al2023@v20000101", "1.31", &x), 0);
    CU_ASSERT_EQUAL(x.rc, CORE_E_NOTFOUND);
    CU_ASSERT(strstr(x.err.message, "al2023@v20000101") != NULL);
    res_cleanup(&x);
    fx_teardown(&f);
}

static void check_golden(const struct fx *f, const struct res *x)
{
    CU_ASSERT_EQUAL(x->rc, 0);
    CU_ASSERT_EQUAL_FATAL(x->r.n, 2);
    for (size_t i = 0; i < x->r.n; i++) {
        const struct amiresolve_ami *a = &x->r.v[i];
        char want[64];
        snprintf(want, sizeof want, "stoker-golden-al2023-%s-1.31-v1",
                 strcmp(a->arch, "arm64") == 0 ? "arm64" : "x86_64");
        CU_ASSERT_STRING_EQUAL(a->name, want);
        CU_ASSERT_STRING_EQUAL(a->id, image_by_name(f, want)->id);
        CU_ASSERT_EQUAL(a->nrequirements, 1); /* arch only */
        CU_ASSERT_STRING_EQUAL(a->variant, "");
    }
    CU_ASSERT(strcmp(x->r.v[0].arch, x->r.v[1].arch) != 0);
}

static void test_selector_terms(void)
{
    struct fx f;
    struct res x;
    struct k8s_ami_term t[2];
    struct core_err err;
    const char *ssm = "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/arm64/standard/"
                      "recommended/image_id";

    fx_setup(&f);
    /* name + owner self */
    memset(t, 0, sizeof t);
    t[0].name = (char *)"stoker-golden-al2023-*";
    t[0].owner = (char *)"self";
    CU_ASSERT_EQUAL_FATAL(resolve_terms(&f, t, 1, "1.31", &x), 0);
    check_golden(&f, &x);
    CU_ASSERT(has_prefix(x.r.v[0].source, "name=stoker-golden-al2023-*,owner=self"));
    res_cleanup(&x);
    /* Default owners (self and amazon) find them too; owner=amazon does not. */
    t[0].owner = NULL;
    CU_ASSERT_EQUAL_FATAL(resolve_terms(&f, t, 1, "1.31", &x), 0);
    check_golden(&f, &x);
    res_cleanup(&x);
    t[0].owner = (char *)"amazon";
    CU_ASSERT_EQUAL_FATAL(resolve_terms(&f, t, 1, "1.31", &x), 0);
    CU_ASSERT_EQUAL(x.rc, CORE_E_NOTFOUND);
    CU_ASSERT(strstr(x.err.message, "stoker-golden-al2023-*") != NULL);
    res_cleanup(&x);

    /* tags team=platform; tags stoker.dev/golden=* (any value). */
    memset(t, 0, sizeof t);
    CU_ASSERT_EQUAL_FATAL(k8s_labels_set(&t[0].tags, "team", "platform"), 0);
    CU_ASSERT_EQUAL_FATAL(resolve_terms(&f, t, 1, "1.31", &x), 0);
    check_golden(&f, &x);
    res_cleanup(&x);
    k8s_labels_cleanup(&t[0].tags);
    CU_ASSERT_EQUAL_FATAL(k8s_labels_set(&t[0].tags, "stoker.dev/golden", "*"), 0);
    CU_ASSERT_EQUAL_FATAL(resolve_terms(&f, t, 1, "1.31", &x), 0);
    check_golden(&f, &x);
    res_cleanup(&x);
    k8s_labels_cleanup(&t[0].tags);
    CU_ASSERT_EQUAL_FATAL(k8s_labels_set(&t[0].tags, "team", "nobody"), 0);
    CU_ASSERT_EQUAL_FATAL(resolve_terms(&f, t, 1, "1.31", &x), 0);
    CU_ASSERT_EQUAL(x.rc, CORE_E_NOTFOUND);
    res_cleanup(&x);
    k8s_labels_cleanup(&t[0].tags);

    /* ssmParameter */
    memset(t, 0, sizeof t);
    t[0].ssm_parameter = (char *)ssm;
    CU_ASSERT_EQUAL_FATAL(resolve_terms(&f, t, 1, "1.31", &x), 0);
    CU_ASSERT_EQUAL(x.rc, 0);
    CU_ASSERT_EQUAL_FATAL(x.r.n, 1);
    CU_ASSERT_STRING_EQUAL(x.r.v[0].id, param_value(&f, ssm));
    CU_ASSERT_STRING_EQUAL(x.r.v[0].arch, "arm64");
    res_cleanup(&x);
    t[0].ssm_parameter = (char *)"/my/team/nope";
    CU_ASSERT_EQUAL_FATAL(resolve_terms(&f, t, 1, "1.31", &x), 0);
    CU_ASSERT_EQUAL(x.rc, CORE_E_NOTFOUND);
    res_cleanup(&x);

    /* id; an unknown id matches nothing; two terms ORed. */
    memset(t, 0, sizeof t);
    t[0].id = image_by_name(&f, "stoker-golden-al2023-x86_64-1.31-v1")->id;
    CU_ASSERT_EQUAL_FATAL(resolve_terms(&f, t, 1, "1.31", &x), 0);
    CU_ASSERT_EQUAL(x.rc, 0);
    CU_ASSERT_EQUAL_FATAL(x.r.n, 1);
    CU_ASSERT_STRING_EQUAL(x.r.v[0].id, t[0].id);
    res_cleanup(&x);
    t[1].id = (char *)"ami-0123456789abcdef0";
    t[0].id = (char *)"ami-0123456789abcdef1";
    CU_ASSERT_EQUAL_FATAL(resolve_terms(&f, t, 2, "1.31", &x), 0);
    CU_ASSERT_EQUAL(x.rc, CORE_E_NOTFOUND);
    CU_ASSERT(strstr(x.err.message, "ami-0123456789abcdef0") != NULL);
    res_cleanup(&x);
    t[0].id = image_by_name(&f, "stoker-golden-al2023-x86_64-1.31-v1")->id;
    t[1].id = NULL;
    t[1].ssm_parameter = (char *)ssm;
    CU_ASSERT_EQUAL_FATAL(resolve_terms(&f, t, 2, "1.31", &x), 0);
    CU_ASSERT_EQUAL(x.rc, 0);
    CU_ASSERT_EQUAL(x.r.n, 2); /* amd64 from the id, arm64 from the parameter */
    res_cleanup(&x);

    /* Term validation: named fields, no calls. */
    memset(t, 0, sizeof t);
    t[0].alias = (char *)"al2023@latest";
    t[1].id = (char *)"ami-0123456789abcdef0";
    CU_ASSERT_EQUAL(resolve_terms(&f, t, 2, "1.31", &x), CORE_E_INVAL);
    CU_ASSERT(strstr(x.err.message, "spec.amiSelectorTerms[0].alias") != NULL);
    t[0].alias = NULL;
    t[0].name = (char *)"x";
    t[1].name = (char *)"y";
    CU_ASSERT_EQUAL(resolve_terms(&f, t, 2, "1.31", &x), CORE_E_INVAL);
    CU_ASSERT(strstr(x.err.message, "spec.amiSelectorTerms[1].id") != NULL);
    t[1].id = NULL;
    t[1].name = NULL;
    CU_ASSERT_EQUAL(resolve_terms(&f, t, 2, "1.31", &x), CORE_E_INVAL);
    CU_ASSERT(strstr(x.err.message, "spec.amiSelectorTerms[1]") != NULL);
    t[0].name = NULL;
    t[0].alias = (char *)"al2023@latest";
    t[0].owner = (char *)"self";
    CU_ASSERT_EQUAL(resolve_terms(&f, t, 1, "1.31", &x), CORE_E_INVAL);
    CU_ASSERT(strstr(x.err.message, "spec.amiSelectorTerms[0].alias") != NULL);
    t[0].alias = (char *)"ubuntu@latest";
    t[0].owner = NULL;
    CU_ASSERT_EQUAL(resolve_terms(&f, t, 1, "1.31", &x), CORE_E_INVAL);
    CU_ASSERT(strstr(x.err.message, "al2023") != NULL);
    CU_ASSERT_EQUAL(resolve_terms(&f, t, 0, "1.31", &x), CORE_E_INVAL);
    (void)err;
    fx_teardown(&f);
}

/* name wildcard across three releases: the newest that is not deprecated wins. */
static void test_choice_rule(void)
{
    struct fx f;
    struct res x;
    struct k8s_ami_term t;
    struct sim_image *imgs[8];
    size_t n;

    fx_setup(&f);
    n = images_named(&f, "amazon-eks-node-al2023-x86_64-standard-1.31-", imgs);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT(imgs[0]->deprecated_at != 0 && imgs[0]->deprecated_at <= sim_wall(f.s.a));
    memset(&t, 0, sizeof t);
    t.name = (char *)"amazon-eks-node-al2023-x86_64-standard-1.31-*";
    CU_ASSERT_EQUAL_FATAL(resolve_terms(&f, &t, 1, "1.31", &x), 0);
    CU_ASSERT_EQUAL(x.rc, 0);
    CU_ASSERT_EQUAL_FATAL(x.r.n, 1);
    CU_ASSERT_STRING_EQUAL(x.r.v[0].id, imgs[2]->id);
    res_cleanup(&x);

    /* Deprecate the newest: the middle one wins over a newer deprecated image. */
    imgs[2]->deprecated_at = sim_wall(f.s.a) - MINUTE;
    core_clock_advance(f.s.clock, 6 * MINUTE); /* past the selector TTL */
    CU_ASSERT_EQUAL_FATAL(resolve_terms(&f, &t, 1, "1.31", &x), 0);
    CU_ASSERT_EQUAL_FATAL(x.r.n, 1);
    CU_ASSERT_STRING_EQUAL(x.r.v[0].id, imgs[1]->id);
    CU_ASSERT_EQUAL(x.r.v[0].deprecated, 0);
    res_cleanup(&x);

    /* All deprecated: the newest of them. */
    imgs[1]->deprecated_at = sim_wall(f.s.a) - MINUTE;
    core_clock_advance(f.s.clock, 6 * MINUTE);
    CU_ASSERT_EQUAL_FATAL(resolve_terms(&f, &t, 1, "1.31", &x), 0);
    CU_ASSERT_EQUAL_FATAL(x.r.n, 1);
    CU_ASSERT_STRING_EQUAL(x.r.v[0].id, imgs[2]->id);
    CU_ASSERT_EQUAL(x.r.v[0].deprecated, 1);
    res_cleanup(&x);
    fx_teardown(&f);
}

static void test_cache(void)
{
    struct fx f;
    struct res x, y;
    struct amiresolve_stats st;
    struct k8s_ami_term t;
    struct amiresolve_alias al;
    struct core_err err;

    fx_setup(&f);
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, "al2023@latest", "1.31", &x), 0);
    CU_ASSERT_EQUAL(x.rc, 0);
    amiresolve_stats(f.r, &st);
    CU_ASSERT_EQUAL(st.ssm_calls, 1); /* 5 names: one batch */
    CU_ASSERT_EQUAL(st.ec2_calls, 1);
    CU_ASSERT_EQUAL(st.cache_misses, 1);
    CU_ASSERT_EQUAL(st.cache_hits, 0);

    /* Within the TTL: zero new calls, same answer, from the loop. */
    core_clock_advance(f.s.clock, 5 * HOUR);
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, "al2023@latest", "1.31", &y), 0);
    CU_ASSERT_EQUAL(y.rc, 0);
    CU_ASSERT_EQUAL_FATAL(y.r.n, x.r.n);
    for (size_t i = 0; i < x.r.n; i++)
        CU_ASSERT_STRING_EQUAL(y.r.v[i].id, x.r.v[i].id);
    res_cleanup(&y);
    /* resolve_alias shares the entry with an EC2NodeClass of the same alias. */
    CU_ASSERT_EQUAL(amiresolve_alias_parse("al2023@latest", NULL, &al, &err), 0);
    CU_ASSERT_EQUAL_FATAL(amiresolve_resolve_alias(f.r, &al, "1.31", on_res, &y, &err), 0);
    CU_ASSERT_EQUAL(y.done, 0);
    fx_run(&f, &y.done);
    CU_ASSERT_EQUAL(y.r.n, 5);
    res_cleanup(&y);
    amiresolve_stats(f.r, &st);
    CU_ASSERT_EQUAL(st.ssm_calls, 1);
    CU_ASSERT_EQUAL(st.ec2_calls, 1);
    CU_ASSERT_EQUAL(st.cache_hits, 2);

    /* Another Kubernetes version is another entry. */
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, "al2023@latest", "1.32", &y), 0);
    res_cleanup(&y);
    amiresolve_stats(f.r, &st);
    CU_ASSERT_EQUAL(st.ssm_calls, 2);

    /* After the alias TTL (6 h): calls again. */
    core_clock_advance(f.s.clock, 1 * HOUR + MINUTE);
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, "al2023@latest", "1.31", &y), 0);
    CU_ASSERT_EQUAL(y.rc, 0);
    res_cleanup(&y);
    amiresolve_stats(f.r, &st);
    CU_ASSERT_EQUAL(st.ssm_calls, 3);
    CU_ASSERT_EQUAL(st.ec2_calls, 3);
    res_cleanup(&x);

    /* Selector terms live 5 minutes. */
    memset(&t, 0, sizeof t);
    t.name = (char *)"stoker-golden-al2023-*";
    CU_ASSERT_EQUAL_FATAL(resolve_terms(&f, &t, 1, "1.31", &x), 0);
    res_cleanup(&x);
    core_clock_advance(f.s.clock, 4 * MINUTE);
    CU_ASSERT_EQUAL_FATAL(resolve_terms(&f, &t, 1, "1.31", &x), 0);
    CU_ASSERT_EQUAL(x.r.n, 2);
    res_cleanup(&x);
    amiresolve_stats(f.r, &st);
    CU_ASSERT_EQUAL(st.ec2_calls, 4);
    core_clock_advance(f.s.clock, 2 * MINUTE);
    CU_ASSERT_EQUAL_FATAL(resolve_terms(&f, &t, 1, "1.31", &x), 0);
    res_cleanup(&x);
    amiresolve_stats(f.r, &st);
    CU_ASSERT_EQUAL(st.ec2_calls, 5);
    CU_ASSERT_EQUAL(st.early_evictions, 0);

    /* Options: a one-entry cache drops the oldest; a short alias TTL. */
    {
        struct amiresolve_opts o;
        memset(&o, 0, sizeof o);
        o.max_entries = 1;
        o.alias_ttl = 10 * MINUTE;
        amiresolve_free(f.r);
        f.r = NULL;
        CU_ASSERT_EQUAL_FATAL(amiresolve_new(f.s.c, &o, &f.r, &err), 0);
        CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, "al2023@latest", "1.31", &x), 0);
        res_cleanup(&x);
        CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, "al2023@latest", "1.31", &x), 0);
        res_cleanup(&x);
        amiresolve_stats(f.r, &st);
        CU_ASSERT_EQUAL(st.ssm_calls, 1);
        CU_ASSERT_EQUAL(st.cache_hits, 1);
        CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, "bottlerocket@latest", "1.31", &x), 0);
        res_cleanup(&x);
        CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, "al2023@latest", "1.31", &x), 0);
        res_cleanup(&x);
        amiresolve_stats(f.r, &st);
        CU_ASSERT_EQUAL(st.ssm_calls, 3); /* al2023 was dropped for bottlerocket */
        core_clock_advance(f.s.clock, 11 * MINUTE);
        CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, "al2023@latest", "1.31", &x), 0);
        res_cleanup(&x);
        amiresolve_stats(f.r, &st);
        CU_ASSERT_EQUAL(st.ssm_calls, 4);
    }
    fx_teardown(&f);
}

/* A cached pinned release whose images become deprecated is dropped before its TTL. */
static void test_early_eviction(void)
{
    struct fx f;
    struct res x;
    struct amiresolve_stats st;
    struct sim_image *imgs[8];
    char alias[64];
    size_t n;
    core_ns soon;

    fx_setup(&f);
    n = images_named(&f, "amazon-eks-node-al2023-x86_64-standard-1.31-", imgs);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_EQUAL(imgs[1]->deprecated_at, 0);
    soon = sim_wall(f.s.a) + HOUR;
    imgs[1]->deprecated_at = soon;
    snprintf(alias, sizeof alias, "al2023@%s", imgs[1]->release);
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, alias, "1.31", &x), 0);
    CU_ASSERT_EQUAL_FATAL(x.rc, 0);
    for (size_t i = 0; i < x.r.n; i++)
        if (strcmp(x.r.v[i].id, imgs[1]->id) == 0) {
            CU_ASSERT_EQUAL(x.r.v[i].deprecated, 0);
            CU_ASSERT_EQUAL(x.r.v[i].deprecation_time / CORE_NS_PER_S, soon / CORE_NS_PER_S);
        }
    res_cleanup(&x);
    /* Still within the hour: cached. */
    core_clock_advance(f.s.clock, 30 * MINUTE);
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, alias, "1.31", &x), 0);
    res_cleanup(&x);
    amiresolve_stats(f.r, &st);
    CU_ASSERT_EQUAL(st.ssm_calls, 1);
    CU_ASSERT_EQUAL(st.early_evictions, 0);
    /* Two hours on, well within the 6 h TTL, the image is deprecated: resolved again. */
    core_clock_advance(f.s.clock, 90 * MINUTE);
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, alias, "1.31", &x), 0);
    CU_ASSERT_EQUAL(x.rc, 0);
    amiresolve_stats(f.r, &st);
    CU_ASSERT_EQUAL(st.early_evictions, 1);
    CU_ASSERT_EQUAL(st.ssm_calls, 2);
    for (size_t i = 0; i < x.r.n; i++)
        if (strcmp(x.r.v[i].id, imgs[1]->id) == 0)
            CU_ASSERT_EQUAL(x.r.v[i].deprecated, 1);
    res_cleanup(&x);
    /* Deprecated when resolved: the new entry stays. */
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, alias, "1.31", &x), 0);
    res_cleanup(&x);
    amiresolve_stats(f.r, &st);
    CU_ASSERT_EQUAL(st.early_evictions, 1);
    CU_ASSERT_EQUAL(st.ssm_calls, 2);
    fx_teardown(&f);
}

static void test_shared_inflight(void)
{
    struct fx f;
    struct res x, y;
    struct k8s_ec2nodeclass nc;
    struct k8s_ami_term t;
    struct amiresolve_stats st;
    struct core_err err;

    fx_setup(&f);
    memset(&t, 0, sizeof t);
    t.alias = (char *)"bottlerocket@latest";
    nc_init(&nc, &t, 1);
    memset(&x, 0, sizeof x);
    memset(&y, 0, sizeof y);
    CU_ASSERT_EQUAL_FATAL(amiresolve_resolve(f.r, &nc, "1.31", on_res, &x, &err), 0);
    CU_ASSERT_EQUAL_FATAL(amiresolve_resolve(f.r, &nc, "1.31", on_res, &y, &err), 0);
    fx_run(&f, &x.done);
    fx_run(&f, &y.done);
    CU_ASSERT_EQUAL(x.rc, 0);
    CU_ASSERT_EQUAL(y.rc, 0);
    CU_ASSERT_EQUAL(x.r.n, 4);
    CU_ASSERT_EQUAL(y.r.n, 4);
    amiresolve_stats(f.r, &st);
    CU_ASSERT_EQUAL(st.ssm_calls, 1);
    CU_ASSERT_EQUAL(st.ec2_calls, 1);
    res_cleanup(&x);
    res_cleanup(&y);
    fx_teardown(&f);
}

static void test_for_type(void)
{
    static const struct {
        const char *type, *arch, *variant;
    } cases[] = {
        {"m5.large", "amd64", "standard"},
        {"m6g.large", "arm64", "standard"},
        {"g5.xlarge", "amd64", "nvidia"},
        {"inf2.xlarge", "amd64", "neuron"},
        {"g5g.xlarge", "arm64", "nvidia"},
    };
    struct fx f;
    struct res x;

    fx_setup(&f);
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, "al2023@latest", "1.31", &x), 0);
    CU_ASSERT_EQUAL_FATAL(x.rc, 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct launcher_itype *it = launcher_catalog_find(f.s.a->catalog, cases[i].type);
        const struct amiresolve_ami *a;
        CU_ASSERT_PTR_NOT_NULL_FATAL(it);
        a = amiresolve_for_type(&x.r, it);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_STRING_EQUAL(a->arch, cases[i].arch);
        CU_ASSERT_STRING_EQUAL(a->variant, cases[i].variant);
    }
    res_cleanup(&x);
    /* Windows has only amd64 standard: no AMI for arm64 or GPU types. */
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, "windows2022@latest", "1.31", &x), 0);
    CU_ASSERT_PTR_NOT_NULL(amiresolve_for_type(&x.r, launcher_catalog_find(f.s.a->catalog,
                                                                           "m5.large")));
    CU_ASSERT_PTR_NULL(amiresolve_for_type(&x.r, launcher_catalog_find(f.s.a->catalog,
                                                                       "m6g.large")));
    CU_ASSERT_PTR_NULL(amiresolve_for_type(&x.r, launcher_catalog_find(f.s.a->catalog,
                                                                       "g5.xlarge")));
    res_cleanup(&x);
    fx_teardown(&f);
}

static void status_of(const struct res *x, int rc, const char *reason, const char *needle)
{
    struct k8s_condition c;
    json_t *amis = NULL;
    CU_ASSERT_EQUAL_FATAL(amiresolve_status(rc ? NULL : &x->r, rc, &x->err, &amis, &c), 0);
    CU_ASSERT_STRING_EQUAL(c.type, "AMIsReady");
    CU_ASSERT_EQUAL(c.status, rc ? K8S_COND_FALSE : K8S_COND_TRUE);
    CU_ASSERT_STRING_EQUAL(c.reason, reason);
    CU_ASSERT(strstr(c.message, needle) != NULL);
    if (!strstr(c.message, needle))
        fprintf(stderr, "\n  message: %s\n", c.message);
    CU_ASSERT_EQUAL(json_array_size(amis), rc ? 0 : x->r.n);
    json_decref(amis);
    amiresolve_condition_cleanup(&c);
}

static void test_status(void)
{
    struct fx f;
    struct res x;
    struct k8s_ami_term t[2];
    struct aws_creds_provider *bad_creds = NULL;
    struct aws_client *bad = NULL;
    struct amiresolve *br = NULL;
    struct k8s_ec2nodeclass nc;
    json_t *amis = NULL;
    struct k8s_condition c;
    struct core_err err;

    fx_setup(&f);
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, "al2023@latest", "1.31", &x), 0);
    status_of(&x, 0, "AMIsResolved", "5 AMIs resolved");
    CU_ASSERT_EQUAL_FATAL(amiresolve_status(&x.r, 0, NULL, &amis, &c), 0);
    for (size_t i = 0; i < json_array_size(amis); i++) {
        json_t *o = json_array_get(amis, i);
        CU_ASSERT(json_is_string(json_object_get(o, "id")));
        CU_ASSERT(json_is_string(json_object_get(o, "name")));
        CU_ASSERT(json_is_boolean(json_object_get(o, "deprecated")));
        CU_ASSERT(json_array_size(json_object_get(o, "requirements")) >= 2);
    }
    json_decref(amis);
    amiresolve_condition_cleanup(&c);
    res_cleanup(&x);

    CU_ASSERT_EQUAL(resolve_alias_text(&f, "al2@latest", "1.34", &x), CORE_E_UNSUPPORTED);
    status_of(&x, CORE_E_UNSUPPORTED, "AliasUnsupported", "al2023");
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, "al2023@v19990101", "1.31", &x), 0);
    status_of(&x, x.rc, "AMINotFound", "al2023@v19990101");
    res_cleanup(&x);
    memset(t, 0, sizeof t);
    t[0].id = (char *)"ami-0123456789abcdef0";
    t[0].name = (char *)"x";
    CU_ASSERT_EQUAL(resolve_terms(&f, t, 1, "1.31", &x), CORE_E_INVAL);
    status_of(&x, CORE_E_INVAL, "InvalidAMISelector", "spec.amiSelectorTerms[0].id");

    /* AWS refuses the signature: AWSError with the service's code. */
    CU_ASSERT_EQUAL_FATAL(tests_simaws_client(&f.s, "not-the-secret", &bad_creds, &bad), 0);
    CU_ASSERT_EQUAL_FATAL(amiresolve_new(bad, NULL, &br, &err), 0);
    memset(t, 0, sizeof t);
    t[0].alias = (char *)"al2023@latest";
    nc_init(&nc, t, 1);
    memset(&x, 0, sizeof x);
    CU_ASSERT_EQUAL_FATAL(amiresolve_resolve(br, &nc, "1.31", on_res, &x, &err), 0);
    fx_run(&f, &x.done);
    CU_ASSERT(x.rc != 0);
    CU_ASSERT(x.err.service_code[0] != '\0');
    CU_ASSERT(strstr(x.err.message, "spec.amiSelectorTerms[0]") != NULL);
    status_of(&x, x.rc, "AWSError", x.err.service_code);
    res_cleanup(&x);
    amiresolve_free(br);
    aws_client_free(bad);
    aws_creds_provider_free(bad_creds);
    fx_teardown(&f);
}

/* Freed with calls in flight, before the client: callbacks get CORE_E_CANCELLED inside the
 * free, and the client's later answers touch nothing freed. */
static void test_free_before_client(void)
{
    struct fx f;
    struct res x, y, z;
    struct k8s_ec2nodeclass nc;
    struct k8s_ami_term t;
    struct core_err err;
    int never = 0;

    fx_setup(&f);
    /* Something cached, to have a cached answer pending as well. */
    CU_ASSERT_EQUAL_FATAL(resolve_alias_text(&f, "al2@latest", "1.31", &z), 0);
    res_cleanup(&z);
    memset(&t, 0, sizeof t);
    t.alias = (char *)"al2023@latest";
    nc_init(&nc, &t, 1);
    memset(&x, 0, sizeof x);
    memset(&y, 0, sizeof y);
    memset(&z, 0, sizeof z);
    CU_ASSERT_EQUAL_FATAL(amiresolve_resolve(f.r, &nc, "1.31", on_res, &x, &err), 0);
    CU_ASSERT_EQUAL_FATAL(amiresolve_resolve(f.r, &nc, "1.31", on_res, &y, &err), 0);
    t.alias = (char *)"al2@latest";
    CU_ASSERT_EQUAL_FATAL(amiresolve_resolve(f.r, &nc, "1.31", on_res, &z, &err), 0);
    CU_ASSERT_EQUAL(x.done + y.done + z.done, 0);
    amiresolve_free(f.r);
    f.r = NULL;
    CU_ASSERT_EQUAL(x.rc, CORE_E_CANCELLED);
    CU_ASSERT_EQUAL(y.rc, CORE_E_CANCELLED);
    CU_ASSERT_EQUAL(z.rc, CORE_E_CANCELLED);
    CU_ASSERT_EQUAL(x.calls + y.calls + z.calls, 3);
    /* Let the emulator answer the orphaned calls. */
    CU_ASSERT_EQUAL(core_loop_run_until(f.s.loop, &never, core_loop_now(f.s.loop) + MINUTE, &err),
                    CORE_E_TIMEOUT);
    CU_ASSERT_EQUAL(x.calls + y.calls + z.calls, 3);

    /* Again, but the client goes first while the calls are still in flight. */
    CU_ASSERT_EQUAL_FATAL(amiresolve_new(f.s.c, NULL, &f.r, &err), 0);
    memset(&x, 0, sizeof x);
    t.alias = (char *)"bottlerocket@latest";
    CU_ASSERT_EQUAL_FATAL(amiresolve_resolve(f.r, &nc, "1.31", on_res, &x, &err), 0);
    amiresolve_free(f.r);
    f.r = NULL;
    CU_ASSERT_EQUAL(x.rc, CORE_E_CANCELLED);
    aws_client_free(f.s.c); /* completes the orphaned calls from inside */
    f.s.c = NULL;
    CU_ASSERT_EQUAL(x.calls, 1);
    fx_teardown(&f);
}

/* The client freed first: the resolver's callbacks run with CORE_E_CANCELLED from inside
 * aws_client_free; the resolver is freed afterwards. */
static void test_free_after_client(void)
{
    struct fx f;
    struct res x;
    struct k8s_ec2nodeclass nc;
    struct k8s_ami_term t[2];
    struct core_err err;

    fx_setup(&f);
    memset(t, 0, sizeof t);
    t[0].name = (char *)"stoker-golden-*";
    t[1].ssm_parameter = (char *)"/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/"
                                 "x86_64/standard/recommended/image_id";
    nc_init(&nc, t, 2);
    memset(&x, 0, sizeof x);
    CU_ASSERT_EQUAL_FATAL(amiresolve_resolve(f.r, &nc, "1.31", on_res, &x, &err), 0);
    aws_client_free(f.s.c);
    f.s.c = NULL;
    CU_ASSERT_EQUAL(x.calls, 1);
    CU_ASSERT_EQUAL(x.rc, CORE_E_CANCELLED);
    amiresolve_free(f.r);
    f.r = NULL;
    CU_ASSERT_EQUAL(x.calls, 1);
    fx_teardown(&f);
}

TESTS_SUITE(amiresolve_sim, "amiresolve_sim", NULL, NULL, TESTS_CASE(test_alias_every_family),
            TESTS_CASE(test_unsupported_without_calls), TESTS_CASE(test_pinned),
            TESTS_CASE(test_selector_terms), TESTS_CASE(test_choice_rule),
            TESTS_CASE(test_cache), TESTS_CASE(test_early_eviction),
            TESTS_CASE(test_shared_inflight), TESTS_CASE(test_for_type),
            TESTS_CASE(test_status), TESTS_CASE(test_free_before_client),
            TESTS_CASE(test_free_after_client))
