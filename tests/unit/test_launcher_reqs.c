/*
 * tests/unit/test_launcher_reqs.c — the requirement-set algebra (launcher/reqs.c), the
 * well-known instance-type labels (launcher/labels.c) and catalogs built from
 * DescribeInstanceTypes results (launcher_catalog_from_ec2).
 *
 * The intersection table covers every operator pair with its expected rendering and
 * satisfiability; a pseudo-random sweep then checks, against brute force over a universe of
 * values that witnesses every non-empty set the generator can build, that intersection is
 * pointwise AND, that launcher_req_empty is exact, that launcher_reqs_compatible agrees with
 * intersecting, and that to_k8s round-trips.
 */
#include "tests/unit/harness.h"

#include "aws/aws.h"
#include "launcher/internal.h"

#include <stdio.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------------------------------- */

#define MAXV 24

/* Adds key op "v1 v2 ..." (space-separated; "" for none) to r; returns the add's result. */
static int addq_rc(struct launcher_reqs *r, const char *key, enum k8s_op op, const char *vals,
                   int64_t min_values, struct core_err *err)
{
    char buf[512];
    char *v[MAXV];
    size_t n = 0;
    core_strlcpy(buf, vals, sizeof buf);
    for (char *p = buf; *p && n < MAXV;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        v[n++] = p;
        while (*p && *p != ' ')
            p++;
        if (*p)
            *p++ = '\0';
    }
    struct k8s_requirement q = {(char *)key, op, {v, n}, min_values};
    return launcher_reqs_add(r, &q, err);
}

static void addq(struct launcher_reqs *r, const char *key, enum k8s_op op, const char *vals)
{
    struct core_err err;
    core_err_clear(&err);
    int rc = addq_rc(r, key, op, vals, 0, &err);
    if (rc != 0)
        fprintf(stderr, "add %s: %s\n", key, err.message);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

/* The description of r's entry for key into a static buffer ("(none)" when absent). */
static const char *desc(const struct launcher_reqs *r, const char *key)
{
    static char out[1024];
    struct core_buf b;
    const struct launcher_req *q = launcher_reqs_get(r, key);
    if (!q)
        return "(none)";
    core_buf_init(&b, 4096);
    CU_ASSERT_EQUAL(launcher_req_describe(q, &b), 0);
    core_strlcpy(out, core_buf_cstr(&b), sizeof out);
    core_buf_cleanup(&b);
    return out;
}

static int req_equal(const struct launcher_req *a, const struct launcher_req *b)
{
    if (strcmp(a->key, b->key) != 0 || a->complement != b->complement ||
        a->absent_ok != b->absent_ok || a->has_gt != b->has_gt || a->has_lt != b->has_lt ||
        (a->has_gt && a->gt != b->gt) || (a->has_lt && a->lt != b->lt) ||
        a->min_values != b->min_values || a->values.n != b->values.n)
        return 0;
    for (size_t i = 0; i < a->values.n; i++)
        if (strcmp(a->values.v[i], b->values.v[i]) != 0)
            return 0;
    return 1;
}

static int reqs_equal(const struct launcher_reqs *a, const struct launcher_reqs *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!req_equal(&a->v[i], &b->v[i]))
            return 0;
    return 1;
}

/* Sorted, unique keys and values: the invariant every function keeps. */
static void check_invariants(const struct launcher_reqs *r)
{
    for (size_t i = 0; i < r->n; i++) {
        CU_ASSERT(i == 0 || strcmp(r->v[i - 1].key, r->v[i].key) < 0);
        CU_ASSERT_STRING_EQUAL(launcher_label_normalize(r->v[i].key), r->v[i].key);
        for (size_t j = 1; j < r->v[i].values.n; j++)
            CU_ASSERT(strcmp(r->v[i].values.v[j - 1], r->v[i].values.v[j]) < 0);
    }
}

/* ---- the operator table --------------------------------------------------------------------- */

struct opreq {
    enum k8s_op op;
    const char *vals;
};

static const struct {
    struct opreq q[3]; /* op 0 ends the list */
    const char *want;  /* launcher_req_describe of the result */
    int empty;
} table[] = {
    {{{K8S_OP_IN, "a b c"}, {K8S_OP_IN, "b c d"}}, "k In [b c]", 0},
    {{{K8S_OP_IN, "a b"}, {K8S_OP_IN, "c"}}, "k In []", 1},
    {{{K8S_OP_IN, "a b c"}, {K8S_OP_NOT_IN, "b"}}, "k In [a c]", 0},
    {{{K8S_OP_NOT_IN, "a"}, {K8S_OP_IN, "a b"}}, "k In [b]", 0},
    {{{K8S_OP_IN, "a"}, {K8S_OP_NOT_IN, "a"}}, "k In []", 1},
    {{{K8S_OP_NOT_IN, "b"}, {K8S_OP_NOT_IN, "a b"}}, "k NotIn [a b]", 0},
    {{{K8S_OP_EXISTS, ""}, {K8S_OP_DOES_NOT_EXIST, ""}}, "k In []", 1},
    {{{K8S_OP_DOES_NOT_EXIST, ""}, {K8S_OP_NOT_IN, "a"}}, "k DoesNotExist", 0},
    {{{K8S_OP_DOES_NOT_EXIST, ""}, {K8S_OP_DOES_NOT_EXIST, ""}}, "k DoesNotExist", 0},
    {{{K8S_OP_DOES_NOT_EXIST, ""}, {K8S_OP_IN, "a"}}, "k In []", 1},
    {{{K8S_OP_EXISTS, ""}, {K8S_OP_NOT_IN, "a"}}, "k NotIn [a] Exists", 0},
    {{{K8S_OP_EXISTS, ""}, {K8S_OP_EXISTS, ""}}, "k Exists", 0},
    {{{K8S_OP_EXISTS, ""}, {K8S_OP_IN, "a"}}, "k In [a]", 0},
    {{{K8S_OP_NOT_IN, ""}}, "k NotIn []", 0},
    {{{K8S_OP_IN, ""}}, "k In []", 1},
    {{{K8S_OP_GT, "1"}, {K8S_OP_LT, "10"}}, "k Gt 1 Lt 10", 0},
    {{{K8S_OP_GT, "5"}, {K8S_OP_LT, "6"}}, "k Gt 5 Lt 6", 1},
    {{{K8S_OP_GT, "5"}, {K8S_OP_LT, "7"}}, "k Gt 5 Lt 7", 0},
    {{{K8S_OP_GT, "7"}, {K8S_OP_LT, "3"}}, "k Gt 7 Lt 3", 1},
    {{{K8S_OP_GT, "3"}, {K8S_OP_GT, "5"}, {K8S_OP_LT, "65"}}, "k Gt 5 Lt 65", 0},
    {{{K8S_OP_LT, "100"}, {K8S_OP_LT, "65"}, {K8S_OP_GT, "-3"}}, "k Gt -3 Lt 65", 0},
    /* Gt drops the values that are not integers above it; "007" is not canonical. */
    {{{K8S_OP_IN, "1 7 x 10 007"}, {K8S_OP_GT, "5"}}, "k In [10 7]", 0},
    {{{K8S_OP_IN, "x y"}, {K8S_OP_GT, "0"}}, "k In []", 1},
    {{{K8S_OP_GT, "1"}, {K8S_OP_DOES_NOT_EXIST, ""}}, "k In []", 1},
    {{{K8S_OP_NOT_IN, "6"}, {K8S_OP_GT, "5"}, {K8S_OP_LT, "7"}}, "k NotIn [6] Gt 5 Lt 7", 1},
    {{{K8S_OP_NOT_IN, "6 x 9"}, {K8S_OP_GT, "5"}, {K8S_OP_LT, "8"}}, "k NotIn [6] Gt 5 Lt 8",
     0},
    {{{K8S_OP_NOT_IN, "6 7"}, {K8S_OP_GT, "5"}, {K8S_OP_LT, "8"}}, "k NotIn [6 7] Gt 5 Lt 8",
     1},
    {{{K8S_OP_EXISTS, ""}, {K8S_OP_GT, "5"}}, "k Gt 5", 0},
    /* The ends of int64: counting must not overflow. */
    {{{K8S_OP_GT, "9223372036854775806"}}, "k Gt 9223372036854775806", 0},
    {{{K8S_OP_GT, "9223372036854775807"}}, "k Gt 9223372036854775807", 1},
    {{{K8S_OP_LT, "-9223372036854775808"}}, "k Lt -9223372036854775808", 1},
    {{{K8S_OP_LT, "-9223372036854775807"}}, "k Lt -9223372036854775807", 0},
    {{{K8S_OP_GT, "-9223372036854775808"}, {K8S_OP_LT, "9223372036854775807"}},
     "k Gt -9223372036854775808 Lt 9223372036854775807", 0},
    {{{K8S_OP_NOT_IN, "9223372036854775807"}, {K8S_OP_GT, "9223372036854775806"}},
     "k NotIn [9223372036854775807] Gt 9223372036854775806", 1},
    {{{K8S_OP_NOT_IN, "-9223372036854775808"}, {K8S_OP_LT, "-9223372036854775807"}},
     "k NotIn [-9223372036854775808] Lt -9223372036854775807", 1},
};

static void test_operator_table(void)
{
    for (size_t t = 0; t < sizeof table / sizeof table[0]; t++) {
        struct launcher_reqs r = {NULL, 0}, a = {NULL, 0}, b = {NULL, 0};
        for (int i = 0; i < 3 && table[t].q[i].op; i++) {
            addq(&r, "k", table[t].q[i].op, table[t].q[i].vals);
            /* a holds the first requirement, b the rest, for launcher_reqs_compatible. */
            addq(i == 0 ? &a : &b, "k", table[t].q[i].op, table[t].q[i].vals);
        }
        check_invariants(&r);
        const char *got = desc(&r, "k");
        if (strcmp(got, table[t].want) != 0)
            fprintf(stderr, "case %zu: got \"%s\", want \"%s\"\n", t, got, table[t].want);
        CU_ASSERT_STRING_EQUAL(got, table[t].want);
        CU_ASSERT_EQUAL(launcher_req_empty(launcher_reqs_get(&r, "k")), table[t].empty);
        CU_ASSERT_EQUAL(launcher_reqs_conflict(&r) != NULL, table[t].empty);
        const char *key = NULL;
        CU_ASSERT_EQUAL(launcher_reqs_compatible(&a, &b, &key), !table[t].empty);
        CU_ASSERT_EQUAL(launcher_reqs_compatible(&b, &a, NULL), !table[t].empty);
        if (table[t].empty)
            CU_ASSERT(key && strcmp(key, "k") == 0);
        launcher_reqs_cleanup(&r);
        launcher_reqs_cleanup(&a);
        launcher_reqs_cleanup(&b);
    }
}

static void test_allows_semantics(void)
{
    struct launcher_reqs r = {NULL, 0};
    addq(&r, "cpu", K8S_OP_GT, "3");
    addq(&r, "cpu", K8S_OP_LT, "65");
    addq(&r, "zone", K8S_OP_NOT_IN, "us-east-1c");
    addq(&r, "gone", K8S_OP_DOES_NOT_EXIST, "");
    const struct launcher_req *cpu = launcher_reqs_get(&r, "cpu");
    const struct launcher_req *zone = launcher_reqs_get(&r, "zone");
    const struct launcher_req *gone = launcher_reqs_get(&r, "gone");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cpu);
    CU_ASSERT_PTR_NOT_NULL_FATAL(zone);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gone);
    CU_ASSERT_TRUE(launcher_req_allows(cpu, "4"));
    CU_ASSERT_TRUE(launcher_req_allows(cpu, "64"));
    CU_ASSERT_FALSE(launcher_req_allows(cpu, "3"));
    CU_ASSERT_FALSE(launcher_req_allows(cpu, "65"));
    CU_ASSERT_FALSE(launcher_req_allows(cpu, "abc"));
    CU_ASSERT_FALSE(launcher_req_allows(cpu, "+8"));
    CU_ASSERT_FALSE(launcher_req_allows(cpu, "08"));
    CU_ASSERT_FALSE(launcher_req_allows(cpu, NULL));
    CU_ASSERT_TRUE(launcher_req_allows(zone, "us-east-1a"));
    CU_ASSERT_FALSE(launcher_req_allows(zone, "us-east-1c"));
    CU_ASSERT_TRUE(launcher_req_allows(zone, NULL));
    CU_ASSERT_TRUE(launcher_req_allows(gone, NULL));
    CU_ASSERT_FALSE(launcher_req_allows(gone, ""));
    CU_ASSERT_TRUE(launcher_req_allows(NULL, "x")); /* no entry: anything */
    CU_ASSERT_PTR_NULL(launcher_reqs_get(&r, "other"));
    launcher_reqs_cleanup(&r);
}

static void test_min_values_and_errors(void)
{
    struct launcher_reqs r = {NULL, 0};
    struct core_err err;
    core_err_clear(&err);
    CU_ASSERT_EQUAL(addq_rc(&r, "node.kubernetes.io/instance-type", K8S_OP_IN, "a b c", 2, &err),
                    0);
    CU_ASSERT_EQUAL(addq_rc(&r, "beta.kubernetes.io/instance-type", K8S_OP_IN, "a b c d", 3,
                            &err), 0);
    CU_ASSERT_EQUAL(addq_rc(&r, "node.kubernetes.io/instance-type", K8S_OP_NOT_IN, "z", 1, &err),
                    0);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_EQUAL(r.v[0].min_values, 3);
    CU_ASSERT_STRING_EQUAL(desc(&r, "node.kubernetes.io/instance-type"),
                           "node.kubernetes.io/instance-type In [a b c]");

    /* Gt/Lt take exactly one integer; the set is left as it was. */
    struct {
        enum k8s_op op;
        const char *vals;
        const char *name;
    } bad[] = {{K8S_OP_GT, "abc", "Gt"}, {K8S_OP_GT, "1 2", "Gt"}, {K8S_OP_LT, "", "Lt"},
               {K8S_OP_LT, "1.5", "Lt"}, {K8S_OP_GT, "99999999999999999999", "Gt"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        core_err_clear(&err);
        CU_ASSERT_EQUAL(addq_rc(&r, "karpenter.k8s.aws/instance-cpu", bad[i].op, bad[i].vals, 0,
                                &err), CORE_E_INVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "karpenter.k8s.aws/instance-cpu"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, bad[i].name));
        CU_ASSERT_EQUAL(r.n, 1);
    }
    core_err_clear(&err);
    CU_ASSERT_EQUAL(addq_rc(&r, "k", (enum k8s_op)42, "", 0, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(launcher_reqs_add(NULL, NULL, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(launcher_reqs_add_in(&r, "k", NULL, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(r.n, 1);
    launcher_reqs_cleanup(&r);
}

static void test_normalised_keys(void)
{
    struct launcher_reqs r = {NULL, 0};
    struct core_err err;
    const char *zones[] = {"us-east-1b", "us-east-1a", "us-east-1b"};
    core_err_clear(&err);
    CU_ASSERT_EQUAL(launcher_reqs_add_in(&r, "topology.ebs.csi.aws.com/zone", "us-east-1a", &err),
                    0);
    CU_ASSERT_EQUAL(launcher_reqs_add_in_list(&r, "failure-domain.beta.kubernetes.io/zone", zones,
                                              3, &err), 0);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_STRING_EQUAL(r.v[0].key, LAUNCHER_KEY_ZONE);
    CU_ASSERT_STRING_EQUAL(desc(&r, "topology.ebs.csi.aws.com/zone"),
                           "topology.kubernetes.io/zone In [us-east-1a]");
    CU_ASSERT_PTR_EQUAL(launcher_reqs_get(&r, LAUNCHER_KEY_ZONE), &r.v[0]);

    /* The list form sorts and removes duplicates. */
    struct launcher_reqs s = {NULL, 0};
    CU_ASSERT_EQUAL(launcher_reqs_add_in_list(&s, LAUNCHER_KEY_ZONE, zones, 3, &err), 0);
    CU_ASSERT_STRING_EQUAL(desc(&s, LAUNCHER_KEY_ZONE),
                           "topology.kubernetes.io/zone In [us-east-1a us-east-1b]");
    check_invariants(&s);
    launcher_reqs_cleanup(&s);
    launcher_reqs_cleanup(&r);
}

static void test_describe(void)
{
    struct launcher_reqs r = {NULL, 0};
    addq(&r, "kubernetes.io/arch", K8S_OP_NOT_IN, "arm64");
    addq(&r, "karpenter.k8s.aws/instance-cpu", K8S_OP_GT, "3");
    addq(&r, "karpenter.k8s.aws/instance-cpu", K8S_OP_LT, "65");
    addq(&r, "foo", K8S_OP_DOES_NOT_EXIST, "");
    addq(&r, "karpenter.k8s.aws/instance-hypervisor", K8S_OP_IN, "nitro");
    addq(&r, "karpenter.k8s.aws/instance-hypervisor", K8S_OP_NOT_IN, "nitro");
    CU_ASSERT_STRING_EQUAL(desc(&r, "kubernetes.io/arch"), "kubernetes.io/arch NotIn [arm64]");
    CU_ASSERT_STRING_EQUAL(desc(&r, "karpenter.k8s.aws/instance-cpu"),
                           "karpenter.k8s.aws/instance-cpu Gt 3 Lt 65");
    CU_ASSERT_STRING_EQUAL(desc(&r, "foo"), "foo DoesNotExist");
    CU_ASSERT_STRING_EQUAL(desc(&r, "karpenter.k8s.aws/instance-hypervisor"),
                           "karpenter.k8s.aws/instance-hypervisor In []");
    launcher_reqs_cleanup(&r);

    /* "" is shown quoted; long lists are elided after 16 values. */
    char *one[] = {(char *)""};
    struct k8s_requirement q = {(char *)"h", K8S_OP_IN, {one, 1}, 0};
    struct core_err err;
    core_err_clear(&err);
    CU_ASSERT_EQUAL(launcher_reqs_add(&r, &q, &err), 0);
    CU_ASSERT_STRING_EQUAL(desc(&r, "h"), "h In [\"\"]");
    launcher_reqs_cleanup(&r);
    addq(&r, "n", K8S_OP_IN, "a b c d e f g h i j k l m n o p q r s t");
    CU_ASSERT_STRING_EQUAL(desc(&r, "n"), "n In [a b c d e f g h i j k l m n o p ... 4 more]");
    launcher_reqs_cleanup(&r);
}

/* ---- the sweep ------------------------------------------------------------------------------ */

static uint64_t rng_state;
static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng_state >> 33) % n;
}

static const char *const keys[] = {"k1", "k2"};
static const char *const pool_vals[] = {"1", "2", "5", "6", "7", "a", "b"};
/* Every value a generated set can distinguish, plus fresh ones: any non-empty set the
 * generator builds allows at least one of these (or absence). */
static const char *const universe[] = {"-1", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
                                       "10", "a", "b", "zz", "05", NULL};
#define NUNIVERSE (sizeof universe / sizeof universe[0])

static void random_reqs(struct launcher_reqs *r)
{
    unsigned n = 1 + rnd(3);
    for (unsigned i = 0; i < n; i++) {
        char vals[64] = "";
        enum k8s_op op = (enum k8s_op)(1 + rnd(6));
        if (op == K8S_OP_GT || op == K8S_OP_LT) {
            snprintf(vals, sizeof vals, "%u", rnd(9));
        } else if (op == K8S_OP_IN || op == K8S_OP_NOT_IN) {
            unsigned nv = rnd(4);
            for (unsigned j = 0; j < nv; j++) {
                size_t l = strlen(vals);
                snprintf(vals + l, sizeof vals - l, "%s%s", j ? " " : "",
                         pool_vals[rnd(sizeof pool_vals / sizeof pool_vals[0])]);
            }
        }
        addq(r, keys[rnd(2)], op, vals);
    }
}

static void test_sweep(void)
{
    struct core_err err;
    core_err_clear(&err);
    rng_state = 12345;
    for (int iter = 0; iter < 3000; iter++) {
        struct launcher_reqs a = {NULL, 0}, b = {NULL, 0}, m = {NULL, 0}, back = {NULL, 0};
        random_reqs(&a);
        random_reqs(&b);
        CU_ASSERT_EQUAL_FATAL(launcher_reqs_copy(&m, &a, &err), 0);
        CU_ASSERT_TRUE(reqs_equal(&m, &a));
        CU_ASSERT_EQUAL_FATAL(launcher_reqs_intersect(&m, &b, &err), 0);
        check_invariants(&m);

        for (size_t k = 0; k < 2; k++) {
            const struct launcher_req *qa = launcher_reqs_get(&a, keys[k]);
            const struct launcher_req *qb = launcher_reqs_get(&b, keys[k]);
            const struct launcher_req *qm = launcher_reqs_get(&m, keys[k]);
            CU_ASSERT_EQUAL(qm == NULL, qa == NULL && qb == NULL);
            int any = 0;
            for (size_t u = 0; u < NUNIVERSE; u++) {
                int want = launcher_req_allows(qa, universe[u]) &&
                           launcher_req_allows(qb, universe[u]);
                if (launcher_req_allows(qm, universe[u]) != want) {
                    fprintf(stderr, "sweep %d key %s value %s: meet %s\n", iter, keys[k],
                            universe[u] ? universe[u] : "(absent)", desc(&m, keys[k]));
                    CU_FAIL("intersection is not pointwise AND");
                }
                any |= want;
            }
            if (qm && launcher_req_empty(qm) != !any) {
                fprintf(stderr, "sweep %d: %s empty=%d\n", iter, desc(&m, keys[k]),
                        launcher_req_empty(qm));
                CU_FAIL("launcher_req_empty disagrees with brute force");
            }
        }
        const char *key = NULL;
        const struct launcher_req *conflict = launcher_reqs_conflict(&m);
        int compat = launcher_reqs_compatible(&a, &b, &key);
        CU_ASSERT_EQUAL(compat, conflict == NULL);
        CU_ASSERT_EQUAL(launcher_reqs_compatible(&b, &a, NULL), compat);
        if (!compat && conflict)
            CU_ASSERT_STRING_EQUAL(key, conflict->key);

        /* to_k8s, then adding every requirement back, gives the same set. */
        struct k8s_requirement *kv = NULL;
        size_t nk = 0;
        CU_ASSERT_EQUAL_FATAL(launcher_reqs_to_k8s(&m, &kv, &nk, &err), 0);
        for (size_t i = 0; i < nk; i++)
            CU_ASSERT_EQUAL(launcher_reqs_add(&back, &kv[i], &err), 0);
        if (!reqs_equal(&back, &m))
            CU_FAIL("to_k8s does not round-trip");
        launcher_k8s_reqs_free(kv, nk);

        launcher_reqs_cleanup(&a);
        launcher_reqs_cleanup(&b);
        launcher_reqs_cleanup(&m);
        launcher_reqs_cleanup(&back);
    }
}

static void test_to_k8s_shapes(void)
{
    struct launcher_reqs r = {NULL, 0};
    struct core_err err;
    struct k8s_requirement *kv = NULL;
    size_t n = 0;
    core_err_clear(&err);
    CU_ASSERT_EQUAL(addq_rc(&r, "c", K8S_OP_NOT_IN, "7", 2, &err), 0);
    addq(&r, "c", K8S_OP_GT, "3");
    addq(&r, "c", K8S_OP_LT, "65");
    addq(&r, "e", K8S_OP_EXISTS, "");
    CU_ASSERT_EQUAL_FATAL(launcher_reqs_to_k8s(&r, &kv, &n, &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT_STRING_EQUAL(kv[0].key, "c");
    CU_ASSERT_EQUAL(kv[0].op, K8S_OP_NOT_IN);
    CU_ASSERT_EQUAL(kv[0].min_values, 2);
    CU_ASSERT_STRING_EQUAL(kv[0].values.v[0], "7");
    CU_ASSERT_EQUAL(kv[1].op, K8S_OP_GT);
    CU_ASSERT_STRING_EQUAL(kv[1].values.v[0], "3");
    CU_ASSERT_EQUAL(kv[1].min_values, 0);
    CU_ASSERT_EQUAL(kv[2].op, K8S_OP_LT);
    CU_ASSERT_STRING_EQUAL(kv[2].values.v[0], "65");
    CU_ASSERT_EQUAL(kv[3].op, K8S_OP_EXISTS);
    CU_ASSERT_EQUAL(kv[3].values.n, 0);
    launcher_k8s_reqs_free(kv, n);
    launcher_reqs_cleanup(&r);
}

/* Every allocation of an intersection may fail, leaving the destination as it was. */
static void test_intersect_alloc_failures(void)
{
    struct launcher_reqs a = {NULL, 0}, b = {NULL, 0}, before = {NULL, 0};
    struct core_err err;
    int succeeded = 0;
    core_err_clear(&err);
    addq(&a, "k1", K8S_OP_IN, "a b c");
    addq(&a, "k3", K8S_OP_NOT_IN, "x");
    addq(&b, "k1", K8S_OP_IN, "b c");
    addq(&b, "k2", K8S_OP_EXISTS, "");
    addq(&b, "k3", K8S_OP_NOT_IN, "y");
    CU_ASSERT_EQUAL_FATAL(launcher_reqs_copy(&before, &a, &err), 0);
    for (unsigned long n = 1; n < 200 && !succeeded; n++) {
        core_alloc_fail_after(n);
        int rc = launcher_reqs_intersect(&a, &b, &err);
        core_alloc_fail_after(0);
        if (rc == 0) {
            succeeded = 1;
            CU_ASSERT_EQUAL(a.n, 3);
            CU_ASSERT_STRING_EQUAL(desc(&a, "k3"), "k3 NotIn [x y]");
        } else {
            CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
            CU_ASSERT_TRUE(reqs_equal(&a, &before));
        }
    }
    CU_ASSERT_TRUE(succeeded);
    launcher_reqs_cleanup(&a);
    launcher_reqs_cleanup(&b);
    launcher_reqs_cleanup(&before);
}

/* ---- labels --------------------------------------------------------------------------------- */

static void test_match_labels(void)
{
    struct launcher_reqs r = {NULL, 0};
    struct k8s_labels l = {NULL, 0};
    addq(&r, LAUNCHER_KEY_ZONE, K8S_OP_IN, "us-east-1a");
    addq(&r, "kubernetes.io/arch", K8S_OP_NOT_IN, "arm64");
    addq(&r, "karpenter.k8s.aws/instance-gpu-count", K8S_OP_DOES_NOT_EXIST, "");
    addq(&r, "foo", K8S_OP_EXISTS, "");

    CU_ASSERT_EQUAL(k8s_labels_set(&l, "failure-domain.beta.kubernetes.io/zone", "us-east-1a"), 0);
    CU_ASSERT_EQUAL(k8s_labels_set(&l, "foo", "x"), 0);
    CU_ASSERT_TRUE(launcher_reqs_match_labels(&r, &l)); /* the alias spells the zone */
    CU_ASSERT_EQUAL(k8s_labels_set(&l, "beta.kubernetes.io/arch", "arm64"), 0);
    CU_ASSERT_FALSE(launcher_reqs_match_labels(&r, &l));
    CU_ASSERT_EQUAL(k8s_labels_set(&l, "beta.kubernetes.io/arch", "amd64"), 0);
    CU_ASSERT_TRUE(launcher_reqs_match_labels(&r, &l));
    CU_ASSERT_EQUAL(k8s_labels_set(&l, "karpenter.k8s.aws/instance-gpu-count", "1"), 0);
    CU_ASSERT_FALSE(launcher_reqs_match_labels(&r, &l));
    k8s_labels_cleanup(&l);

    CU_ASSERT_EQUAL(k8s_labels_set(&l, LAUNCHER_KEY_ZONE, "us-east-1a"), 0);
    CU_ASSERT_FALSE(launcher_reqs_match_labels(&r, &l)); /* foo is missing */
    CU_ASSERT_EQUAL(k8s_labels_set(&l, "foo", ""), 0);
    CU_ASSERT_TRUE(launcher_reqs_match_labels(&r, &l));
    CU_ASSERT_EQUAL(k8s_labels_set(&l, LAUNCHER_KEY_ZONE, "us-east-1b"), 0);
    CU_ASSERT_FALSE(launcher_reqs_match_labels(&r, &l));
    CU_ASSERT_FALSE(launcher_reqs_match_labels(&r, NULL));
    CU_ASSERT_TRUE(launcher_reqs_match_labels(NULL, &l));
    k8s_labels_cleanup(&l);
    launcher_reqs_cleanup(&r);
}

static void test_label_keys(void)
{
    for (int i = 0; i < LAUNCHER_L_COUNT; i++) {
        const char *k = launcher_label_key((enum launcher_label)i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(k);
        CU_ASSERT_EQUAL(launcher_label_index(k), i);
    }
    CU_ASSERT_PTR_NULL(launcher_label_key(LAUNCHER_L_COUNT));
    CU_ASSERT_STRING_EQUAL(launcher_label_key(LAUNCHER_L_GPU_MEMORY),
                           "karpenter.k8s.aws/instance-gpu-memory");
    CU_ASSERT_EQUAL(launcher_label_index("beta.kubernetes.io/instance-type"),
                    LAUNCHER_L_INSTANCE_TYPE);
    CU_ASSERT_EQUAL(launcher_label_index("beta.kubernetes.io/arch"), LAUNCHER_L_ARCH);
    CU_ASSERT_EQUAL(launcher_label_index("beta.kubernetes.io/os"), LAUNCHER_L_OS);
    CU_ASSERT_EQUAL(launcher_label_index(LAUNCHER_KEY_ZONE), -1);
    CU_ASSERT_EQUAL(launcher_label_index("karpenter.k8s.aws/instance-foo"), -1);
    CU_ASSERT_EQUAL(launcher_label_index("karpenter.k8s.aws/instance-"), -1);
    CU_ASSERT_EQUAL(launcher_label_index("karpenter.k8s.aws/instance-cpux"), -1);
    CU_ASSERT_EQUAL(launcher_label_index(""), -1);
    CU_ASSERT_EQUAL(launcher_label_index(NULL), -1);

    CU_ASSERT_STRING_EQUAL(launcher_label_normalize("topology.ebs.csi.aws.com/zone"),
                           LAUNCHER_KEY_ZONE);
    CU_ASSERT_STRING_EQUAL(launcher_label_normalize("failure-domain.beta.kubernetes.io/zone"),
                           LAUNCHER_KEY_ZONE);
    CU_ASSERT_STRING_EQUAL(launcher_label_normalize("failure-domain.beta.kubernetes.io/region"),
                           LAUNCHER_KEY_REGION);
    CU_ASSERT_STRING_EQUAL(launcher_label_normalize("beta.kubernetes.io/arch"),
                           "kubernetes.io/arch");
    CU_ASSERT_STRING_EQUAL(launcher_label_normalize("beta.kubernetes.io/os"), "kubernetes.io/os");
    CU_ASSERT_STRING_EQUAL(launcher_label_normalize("beta.kubernetes.io/instance-type"),
                           "node.kubernetes.io/instance-type");
    const char *other = "topology.kubernetes.io/zone";
    CU_ASSERT_PTR_EQUAL(launcher_label_normalize(other), other);
    CU_ASSERT_PTR_NULL(launcher_label_normalize(NULL));
}

static struct launcher_catalog *load(void)
{
    struct launcher_catalog *c = NULL;
    struct core_err err;
    core_err_clear(&err);
    CU_ASSERT_EQUAL_FATAL(launcher_catalog_load(&c, &err), 0);
    return c;
}

#define LBL(t, l) ((t)->labels[LAUNCHER_L_##l])

static void test_type_labels(void)
{
    struct launcher_catalog *c = load();
    const struct launcher_itype *t;

    for (size_t i = 0; i < launcher_catalog_count(c); i++) {
        t = launcher_catalog_at(c, i);
        CU_ASSERT_EQUAL(t->index, i);
        CU_ASSERT_TRUE(t->spot_supported);
        CU_ASSERT_PTR_NOT_NULL_FATAL(LBL(t, INSTANCE_TYPE));
        CU_ASSERT_STRING_EQUAL(LBL(t, INSTANCE_TYPE), t->name);
        CU_ASSERT_STRING_EQUAL(LBL(t, ARCH), t->arch);
        CU_ASSERT_PTR_NOT_NULL(LBL(t, HYPERVISOR));
        CU_ASSERT_EQUAL(LBL(t, GPU_COUNT) != NULL, t->gpu_count > 0);
        CU_ASSERT_EQUAL(LBL(t, ACCEL_COUNT) != NULL, t->accelerator_count > 0);
        CU_ASSERT_EQUAL(LBL(t, LOCAL_NVME) != NULL, t->local_nvme_gib > 0);
    }

    t = launcher_catalog_find(c, "p4d.24xlarge");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(LBL(t, GPU_COUNT), "8");
    CU_ASSERT_STRING_EQUAL(LBL(t, GPU_NAME), "a100");
    CU_ASSERT_STRING_EQUAL(LBL(t, GPU_MANUFACTURER), "nvidia");
    CU_ASSERT_STRING_EQUAL(LBL(t, GPU_MEMORY), "40960");
    CU_ASSERT_STRING_EQUAL(LBL(t, MEMORY), "1179648");
    CU_ASSERT_STRING_EQUAL(LBL(t, CPU), "96");
    CU_ASSERT_STRING_EQUAL(LBL(t, CATEGORY), "p");
    CU_ASSERT_STRING_EQUAL(LBL(t, FAMILY), "p4d");
    CU_ASSERT_STRING_EQUAL(LBL(t, GENERATION), "4");
    CU_ASSERT_STRING_EQUAL(LBL(t, SIZE), "24xlarge");
    CU_ASSERT_STRING_EQUAL(LBL(t, LOCAL_NVME), "8000");
    CU_ASSERT_STRING_EQUAL(LBL(t, NETWORK_BW), "400000");
    CU_ASSERT_STRING_EQUAL(LBL(t, EBS_BW), "19000");
    CU_ASSERT_STRING_EQUAL(LBL(t, HYPERVISOR), "nitro");
    CU_ASSERT_STRING_EQUAL(LBL(t, CPU_MANUFACTURER), "intel");
    CU_ASSERT_STRING_EQUAL(LBL(t, OS), "linux");
    CU_ASSERT_PTR_NULL(LBL(t, ACCEL_COUNT));

    t = launcher_catalog_find(c, "m5.large");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NULL(LBL(t, GPU_COUNT));
    CU_ASSERT_PTR_NULL(LBL(t, GPU_NAME));
    CU_ASSERT_PTR_NULL(LBL(t, GPU_MANUFACTURER));
    CU_ASSERT_PTR_NULL(LBL(t, GPU_MEMORY));
    CU_ASSERT_PTR_NULL(LBL(t, LOCAL_NVME));
    CU_ASSERT_STRING_EQUAL(LBL(t, MEMORY), "8192");
    CU_ASSERT_STRING_EQUAL(LBL(t, ARCH), "amd64");

    t = launcher_catalog_find(c, "inf2.xlarge");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(LBL(t, ACCEL_COUNT), "1");
    CU_ASSERT_STRING_EQUAL(LBL(t, ACCEL_NAME), "inferentia2");
    CU_ASSERT_PTR_NULL(LBL(t, GPU_COUNT));

    t = launcher_catalog_find(c, "m5.metal");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(LBL(t, HYPERVISOR), ""); /* a value, not absent */
    launcher_catalog_free(c);
}

static int admit(const struct launcher_catalog *c, const char *type, const char *key,
                 enum k8s_op op, const char *vals)
{
    struct launcher_reqs r = {NULL, 0};
    if (strcmp(vals, "\"\"") == 0) { /* In [""]: addq cannot spell an empty value */
        char *one[] = {(char *)""};
        struct k8s_requirement q = {(char *)key, op, {one, 1}, 0};
        CU_ASSERT_EQUAL_FATAL(launcher_reqs_add(&r, &q, NULL), 0);
    } else {
        addq(&r, key, op, vals);
    }
    const struct launcher_itype *t = launcher_catalog_find(c, type);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    int ok = launcher_reqs_admit_type(&r, t);
    launcher_reqs_cleanup(&r);
    return ok;
}

static void test_admit_type(void)
{
    struct launcher_catalog *c = load();
    const char *cat = "karpenter.k8s.aws/instance-category", *cpu = "karpenter.k8s.aws/instance-cpu";
    const char *gpus = "karpenter.k8s.aws/instance-gpu-count";

    CU_ASSERT_FALSE(admit(c, "m5.large", cat, K8S_OP_IN, "c"));
    CU_ASSERT_TRUE(admit(c, "c7g.large", cat, K8S_OP_IN, "c"));
    CU_ASSERT_TRUE(admit(c, "m5.large", cpu, K8S_OP_GT, "1"));
    CU_ASSERT_FALSE(admit(c, "m5.large", cpu, K8S_OP_GT, "2"));
    CU_ASSERT_FALSE(admit(c, "m5.large", gpus, K8S_OP_EXISTS, ""));
    CU_ASSERT_TRUE(admit(c, "m5.large", gpus, K8S_OP_DOES_NOT_EXIST, ""));
    CU_ASSERT_TRUE(admit(c, "p4d.24xlarge", gpus, K8S_OP_GT, "4"));
    CU_ASSERT_TRUE(admit(c, "m5.metal", "karpenter.k8s.aws/instance-hypervisor", K8S_OP_IN,
                         "\"\""));
    CU_ASSERT_FALSE(admit(c, "m5.large", "karpenter.k8s.aws/instance-hypervisor", K8S_OP_IN,
                          "\"\""));
    CU_ASSERT_TRUE(admit(c, "m5.large", "karpenter.k8s.aws/instance-hypervisor", K8S_OP_IN,
                         "nitro"));
    CU_ASSERT_FALSE(admit(c, "m5.large", "beta.kubernetes.io/arch", K8S_OP_IN, "arm64"));
    CU_ASSERT_TRUE(admit(c, "c7g.large", "beta.kubernetes.io/arch", K8S_OP_IN, "arm64"));
    /* Keys that are not per-type are not the type's business. */
    CU_ASSERT_TRUE(admit(c, "m5.large", LAUNCHER_KEY_ZONE, K8S_OP_IN, "nowhere"));
    CU_ASSERT_TRUE(admit(c, "m5.large", "foo", K8S_OP_EXISTS, ""));
    CU_ASSERT_FALSE(launcher_reqs_admit_type(NULL, NULL));

    /* Across the catalog, the admitted set equals a direct filter over the fields. */
    struct launcher_reqs r = {NULL, 0};
    addq(&r, cat, K8S_OP_IN, "c m r");
    addq(&r, "karpenter.k8s.aws/instance-generation", K8S_OP_GT, "5");
    addq(&r, cpu, K8S_OP_LT, "17");
    addq(&r, "kubernetes.io/arch", K8S_OP_IN, "arm64");
    size_t got = 0, want = 0;
    for (size_t i = 0; i < launcher_catalog_count(c); i++) {
        const struct launcher_itype *t = launcher_catalog_at(c, i);
        got += (size_t)launcher_reqs_admit_type(&r, t);
        want += (strcmp(t->category, "c") == 0 || strcmp(t->category, "m") == 0 ||
                 strcmp(t->category, "r") == 0) &&
                t->generation > 5 && t->vcpu < 17 && strcmp(t->arch, "arm64") == 0;
    }
    CU_ASSERT(want > 20);
    CU_ASSERT_EQUAL(got, want);
    launcher_reqs_cleanup(&r);
    launcher_catalog_free(c);
}

/* ---- catalog from DescribeInstanceTypes ----------------------------------------------------- */

struct ec2_fixture {
    struct aws_ec2_instance_type v[10];
    size_t n;
};

static char *dup(const char *s)
{
    char *d = core_strdup(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    return d;
}

static void set_strings(struct aws_ec2_strings *s, const char *a, const char *b)
{
    s->v = core_calloc(2, sizeof(char *));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->v);
    s->v[0] = dup(a);
    s->n = 1;
    if (b) {
        s->v[1] = dup(b);
        s->n = 2;
    }
}

static struct aws_ec2_instance_type *fx_add(struct ec2_fixture *f, const char *name,
                                            const char *arch, int64_t vcpus, int64_t mem)
{
    struct aws_ec2_instance_type *e = &f->v[f->n++];
    memset(e, 0, sizeof *e);
    e->instance_type = dup(name);
    e->current_generation = 1;
    set_strings(&e->architectures, arch, NULL);
    set_strings(&e->usage_classes, "on-demand", "spot");
    e->vcpus = vcpus;
    e->memory_mib = mem;
    e->hypervisor = dup("nitro");
    return e;
}

static void fx_free(struct ec2_fixture *f)
{
    struct aws_ec2_instance_types all = {NULL, 0};
    all.v = core_calloc(f->n ? f->n : 1, sizeof *all.v);
    CU_ASSERT_PTR_NOT_NULL_FATAL(all.v);
    memcpy(all.v, f->v, f->n * sizeof *all.v);
    all.n = f->n;
    aws_ec2_instance_types_cleanup(&all);
    f->n = 0;
}

static void fx_build(struct ec2_fixture *f)
{
    struct aws_ec2_instance_type *e;
    f->n = 0;
    e = fx_add(f, "m5.large", "x86_64", 2, 8192);
    e->max_network_interfaces = 3;
    e->ipv4_per_interface = 10;
    e->ebs_max_bandwidth_mbps = 4750;
    e = fx_add(f, "p4d.24xlarge", "x86_64", 96, 1179648);
    e->gpus = core_calloc(1, sizeof *e->gpus);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e->gpus);
    e->ngpus = 1;
    e->gpus[0].name = dup("A100");
    e->gpus[0].manufacturer = dup("NVIDIA");
    e->gpus[0].count = 8;
    e->gpus[0].memory_mib = 40960;
    e->instance_storage_supported = 1;
    e->instance_storage_gb = 8000;
    e->max_network_interfaces = 60;
    e->ipv4_per_interface = 50;
    core_free(e->usage_classes.v[1]);
    e->usage_classes.n = 1; /* on-demand only */
    e = fx_add(f, "inf2.xlarge", "x86_64", 4, 16384);
    e->neuron = core_calloc(1, sizeof *e->neuron);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e->neuron);
    e->nneuron = 1;
    e->neuron[0].name = dup("Inferentia2");
    e->neuron[0].count = 1;
    e = fx_add(f, "c7g.large", "arm64", 2, 4096);
    e->max_network_interfaces = 3;
    e->ipv4_per_interface = 10;
    e = fx_add(f, "x1.weird", "i386", 2, 4096);           /* skipped: architecture */
    e = fx_add(f, "mac1.metal", "x86_64_mac", 12, 32768); /* skipped: architecture */
    e = fx_add(f, "z9.novcpu", "x86_64", 0, 4096);        /* skipped: no vCPUs */
    e = fx_add(f, "m5.large", "arm64", 64, 4096);         /* a repeat: the first wins */
    e = fx_add(f, "u-6tb1.metal", "i386", 448, 6291456);
    core_free(e->architectures.v[0]);
    core_free(e->architectures.v);
    set_strings(&e->architectures, "i386", "x86_64");
    e->bare_metal = 1;
    core_free(e->hypervisor);
    e->hypervisor = NULL;
}

static void test_from_ec2(void)
{
    struct ec2_fixture f;
    struct launcher_catalog *c = NULL, *base = load(), *cb = NULL;
    struct core_err err;
    const struct launcher_itype *t;
    core_err_clear(&err);

    fx_build(&f);
    CU_ASSERT_EQUAL_FATAL(launcher_catalog_from_ec2(f.v, f.n, NULL, &c, &err), 0);
    CU_ASSERT_EQUAL_FATAL(launcher_catalog_from_ec2(f.v, f.n, base, &cb, &err), 0);
    fx_free(&f); /* the catalogs own their strings */

    CU_ASSERT_EQUAL(launcher_catalog_count(c), 5);
    CU_ASSERT_PTR_NULL(launcher_catalog_find(c, "x1.weird"));
    CU_ASSERT_PTR_NULL(launcher_catalog_find(c, "mac1.metal"));
    CU_ASSERT_PTR_NULL(launcher_catalog_find(c, "z9.novcpu"));
    for (size_t i = 0; i < launcher_catalog_count(c); i++)
        CU_ASSERT_EQUAL(launcher_catalog_at(c, i)->index, i);

    t = launcher_catalog_find(c, "m5.large");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t->family, "m5");
    CU_ASSERT_STRING_EQUAL(t->category, "m");
    CU_ASSERT_EQUAL(t->generation, 5);
    CU_ASSERT_STRING_EQUAL(t->size, "large");
    CU_ASSERT_STRING_EQUAL(t->arch, "amd64");
    CU_ASSERT_STRING_EQUAL(t->ec2_arch, "x86_64");
    CU_ASSERT_EQUAL(t->vcpu, 2); /* not the repeat's 64 */
    CU_ASSERT_EQUAL(t->enis, 3);
    CU_ASSERT_EQUAL(t->ipv4_per_eni, 10);
    CU_ASSERT_EQUAL(t->ebs_bandwidth_mbps, 4750);
    CU_ASSERT_TRUE(t->spot_supported);
    CU_ASSERT_EQUAL(t->od_price_usd_hr, 0);
    CU_ASSERT_STRING_EQUAL(t->cpu_manufacturer, "");
    CU_ASSERT_PTR_NULL(LBL(t, CPU_MANUFACTURER)); /* unknown, so no label */
    /* Allocatable by the formulas equals the compiled-in row for this type. */
    const struct launcher_itype *bt = launcher_catalog_find(base, "m5.large");
    CU_ASSERT_EQUAL(t->alloc_cpu_milli, bt->alloc_cpu_milli);
    CU_ASSERT_EQUAL(t->alloc_memory_bytes, bt->alloc_memory_bytes);
    CU_ASSERT_EQUAL(t->alloc_pods, 29);
    CU_ASSERT_EQUAL(t->alloc_ephemeral_bytes, bt->alloc_ephemeral_bytes);
    CU_ASSERT_STRING_EQUAL(LBL(t, INSTANCE_TYPE), "m5.large");

    t = launcher_catalog_find(c, "p4d.24xlarge");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_FALSE(t->spot_supported);
    CU_ASSERT_EQUAL(t->gpu_count, 8);
    CU_ASSERT_STRING_EQUAL(LBL(t, GPU_NAME), "a100");
    CU_ASSERT_STRING_EQUAL(LBL(t, GPU_MANUFACTURER), "nvidia");
    CU_ASSERT_STRING_EQUAL(LBL(t, GPU_MEMORY), "40960");
    CU_ASSERT_STRING_EQUAL(LBL(t, LOCAL_NVME), "8000");
    CU_ASSERT_STRING_EQUAL(LBL(t, CATEGORY), "p");
    CU_ASSERT_STRING_EQUAL(LBL(t, FAMILY), "p4d");

    t = launcher_catalog_find(c, "inf2.xlarge");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t->category, "inf");
    CU_ASSERT_EQUAL(t->generation, 2);
    CU_ASSERT_STRING_EQUAL(LBL(t, ACCEL_COUNT), "1");
    CU_ASSERT_STRING_EQUAL(LBL(t, ACCEL_NAME), "inferentia2");

    t = launcher_catalog_find(c, "c7g.large");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t->arch, "arm64");
    bt = launcher_catalog_find(base, "c7g.large");
    CU_ASSERT_EQUAL(t->alloc_memory_bytes, bt->alloc_memory_bytes); /* arm64 reservation */

    t = launcher_catalog_find(c, "u-6tb1.metal");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t->arch, "amd64"); /* x86_64 beside i386 */
    CU_ASSERT_STRING_EQUAL(t->family, "u-6tb1");
    CU_ASSERT_STRING_EQUAL(t->category, "u");
    CU_ASSERT_EQUAL(t->generation, 6);
    CU_ASSERT_STRING_EQUAL(t->size, "metal");
    CU_ASSERT_TRUE(t->bare_metal);
    CU_ASSERT_STRING_EQUAL(LBL(t, HYPERVISOR), "");

    /* With a base: price, CPU maker, network and allocatable come from the compiled-in row. */
    t = launcher_catalog_find(cb, "m5.large");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_DOUBLE_EQUAL(t->od_price_usd_hr, 0.096, 1e-9);
    CU_ASSERT_STRING_EQUAL(LBL(t, CPU_MANUFACTURER), "intel");
    CU_ASSERT_STRING_EQUAL(LBL(t, NETWORK_BW), "750");
    CU_ASSERT_EQUAL(t->branch_enis, 9);
    t = launcher_catalog_find(cb, "p4d.24xlarge");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(t->alloc_pods, 737); /* the default card's ENIs, not 60 × 49 + 2 */
    CU_ASSERT_EQUAL(launcher_catalog_find(c, "p4d.24xlarge")->alloc_pods, 60 * 49 + 2);
    t = launcher_catalog_find(cb, "u-6tb1.metal");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t); /* unknown to base: kept, unpriced */
    CU_ASSERT_EQUAL(t->od_price_usd_hr, 0);

    launcher_catalog_free(c);
    launcher_catalog_free(cb);
    launcher_catalog_free(base);
}

static void test_from_ec2_garbage(void)
{
    struct ec2_fixture f;
    struct launcher_catalog *c = NULL;
    struct core_err err;
    core_err_clear(&err);

    f.n = 0;
    fx_add(&f, "x1.weird", "i386", 2, 4096);
    fx_add(&f, "y1.nomem", "x86_64", 2, 0);
    fx_add(&f, "y2.neg", "x86_64", -1, 4096);
    struct aws_ec2_instance_type *e = fx_add(&f, "", "x86_64", 2, 4096);
    (void)e;
    CU_ASSERT_EQUAL_FATAL(launcher_catalog_from_ec2(f.v, f.n, NULL, &c, &err), 0);
    CU_ASSERT_EQUAL(launcher_catalog_count(c), 0);
    launcher_catalog_free(c);
    fx_free(&f);

    c = NULL;
    CU_ASSERT_EQUAL(launcher_catalog_from_ec2(NULL, 0, NULL, &c, &err), 0);
    CU_ASSERT_EQUAL(launcher_catalog_count(c), 0);
    launcher_catalog_free(c);
    CU_ASSERT_EQUAL(launcher_catalog_from_ec2(NULL, 0, NULL, NULL, &err), CORE_E_INVAL);

    /* Allocation failures: clean CORE_E_NOMEM, no out-param, until one run succeeds. */
    fx_build(&f);
    int succeeded = 0;
    for (unsigned long n = 1; n < 1000 && !succeeded; n++) {
        c = NULL;
        core_alloc_fail_after(n);
        int rc = launcher_catalog_from_ec2(f.v, f.n, NULL, &c, &err);
        core_alloc_fail_after(0);
        if (rc == 0) {
            succeeded = 1;
            CU_ASSERT_EQUAL(launcher_catalog_count(c), 5);
        } else {
            CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
            CU_ASSERT_PTR_NULL(c);
        }
        launcher_catalog_free(c);
    }
    CU_ASSERT_TRUE(succeeded);
    fx_free(&f);
}

TESTS_SUITE(launcher_reqs, "launcher_reqs", NULL, NULL, TESTS_CASE(test_operator_table),
            TESTS_CASE(test_allows_semantics), TESTS_CASE(test_min_values_and_errors),
            TESTS_CASE(test_normalised_keys), TESTS_CASE(test_describe),
            TESTS_CASE(test_sweep), TESTS_CASE(test_to_k8s_shapes),
            TESTS_CASE(test_intersect_alloc_failures), TESTS_CASE(test_match_labels))

TESTS_SUITE(launcher_labels, "launcher_labels", NULL, NULL, TESTS_CASE(test_label_keys),
            TESTS_CASE(test_type_labels), TESTS_CASE(test_admit_type),
            TESTS_CASE(test_from_ec2), TESTS_CASE(test_from_ec2_garbage))
