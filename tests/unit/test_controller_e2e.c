/*
 * tests/unit/test_controller_e2e.c — the controller end to end on the emulators, virtual time:
 * the scenarios steady, pvc-zones and gpu-mix run to their end and every promise is checked
 * against the API and the emulated account; a controller killed in the middle of a scale-out
 * and started again creates no duplicate instance and loses none.
 *
 * Invariants: each test builds its own world from a built-in scenario and a fixed seed, so a
 * failure is reproducible with `stoker sim --scenario NAME --seed N`.
 */
#include "tests/unit/harness.h"
#include "tests/unit/simctl.h"

#include "aws/aws.h"
#include "launcher/launcher.h"

#include <stdio.h>
#include <string.h>

#define S CORE_NS_PER_S
#define MIN (60 * S)

/* ---- helpers ------------------------------------------------------------------------------- */

static const char *label(const json_t *obj, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(obj, "metadata"), "labels"), key));
}

static const char *str_at(const json_t *obj, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(obj, a), b));
}

/* Nodes by name → object (borrowed from the list). */
static const json_t *find_node(const json_t *nodes, const char *name)
{
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        const char *nm = str_at(n, "metadata", "name");
        if (nm && name && strcmp(nm, name) == 0)
            return n;
    }
    return NULL;
}

static void open_scenario(struct tests_simctl *s, const char *name, uint64_t seed)
{
    const struct sim_scenario *sc = sim_scenario_find(name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    struct sim_world_opts wo;
    struct core_err err = {0};
    CU_ASSERT_EQUAL_FATAL(sim_scenario_world_opts(sc, seed, &wo, &err), 0);
    tests_simctl_open(s, &wo);
    if (sim_scenario_setup(sc, s->w, &err) != 0)
        fprintf(stderr, "\n  setup: %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(err.code, 0);
}

/* Pods that exist and have no node. */
static size_t pending_pods(struct tests_simctl *s)
{
    json_t *pods = tests_simctl_list(s, "pods", NULL);
    size_t n = 0, i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        if (!str_at(p, "spec", "nodeName") &&
            !json_object_get(json_object_get(p, "metadata"), "deletionTimestamp")) {
            n++;
            /* Say which and why: the scheduler's condition message. */
            json_t *conds = json_object_get(json_object_get(p, "status"), "conditions");
            fprintf(stderr, "\n  pending: %s/%s %s", str_at(p, "metadata", "namespace"),
                    str_at(p, "metadata", "name"),
                    json_string_value(json_object_get(json_array_get(conds, 0), "message")));
        }
    }
    json_decref(pods);
    return n;
}

/* Instances of the account that are not terminated (nor shutting down), through stoker's
 * own DescribeInstances. */
struct describe {
    int done, rc;
    size_t live;
};

static void described(void *ud, int rc, const struct aws_ec2_instances *res,
                      const struct core_err *err)
{
    struct describe *d = ud;
    (void)err;
    d->rc = rc;
    for (size_t i = 0; !rc && res && i < res->n; i++) {
        const char *st = res->v[i].state_name;
        if (st && strcmp(st, "terminated") != 0 && strcmp(st, "shutting-down") != 0)
            d->live++;
    }
    d->done = 1;
}

static size_t live_instances(struct tests_simctl *s)
{
    struct describe d;
    memset(&d, 0, sizeof(d));
    struct aws_ec2_describe_instances_req req;
    memset(&req, 0, sizeof(req));
    struct core_err err = {0};
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instances(s->w->awsc, &req, described, &d, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(s->w->loop, &d.done, core_loop_now(s->w->loop) + 60 * S,
                                        &err),
                    0);
    CU_ASSERT_EQUAL(d.rc, 0);
    return d.live;
}

static void report(const char *what, struct tests_simctl *s)
{
    struct controller_stats st;
    controller_get_stats(s->ctl, &st);
    unsigned long launches = st.launches_cold + st.launches_warm;
    fprintf(stderr,
            "\n  [%s] nodeclaims %lu launches cold %lu warm %lu, EC2 calls %lu (%.1f per node), "
            "reaction p50 %.2fs p99 %.2fs (%lu samples)",
            what, st.nodeclaims_created, st.launches_cold, st.launches_warm, st.ec2_calls,
            launches ? (double)st.ec2_calls / (double)launches : 0.0,
            (double)st.reaction_p50 / 1e9, (double)st.reaction_p99 / 1e9, st.reaction_samples);
}

/* Every NodeClaim that exists is paired with exactly one live instance, and every live
 * instance tagged for the cluster belongs to a NodeClaim. */
static void check_pairing(struct tests_simctl *s)
{
    json_t *claims = tests_simctl_list(s, "nodeclaims.stoker.dev", NULL);
    size_t nclaims = json_array_size(claims);
    size_t launched = 0, i;
    json_t *c;
    json_array_foreach(claims, i, c)
    {
        if (str_at(c, "status", "providerID"))
            launched++;
    }
    json_decref(claims);
    size_t live = live_instances(s);
    CU_ASSERT_EQUAL(live, launched);
    CU_ASSERT(launched <= nclaims);
}

/* ---- steady ------------------------------------------------------------------------------- */

static void test_steady(void)
{
    struct tests_simctl s;
    open_scenario(&s, "steady", 7);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    const struct sim_scenario *sc = sim_scenario_find("steady");
    tests_simctl_run(&s, sc->duration);
    CU_ASSERT_EQUAL(pending_pods(&s), 0);
    CU_ASSERT(tests_simctl_count(&s, "pods", NULL, NULL) >= 30);
    CU_ASSERT(tests_simctl_count(&s, "nodes", NULL, NULL) >= 1);
    /* Every Node belongs to a Registered NodeClaim. */
    json_t *nodes = tests_simctl_list(&s, "nodes", NULL);
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        CU_ASSERT_PTR_NOT_NULL(label(n, "karpenter.sh/nodepool"));
        CU_ASSERT_PTR_NOT_NULL(label(n, "stoker.dev/registered"));
    }
    json_decref(nodes);
    check_pairing(&s);
    report("steady", &s);
    struct controller_stats st;
    controller_get_stats(s.ctl, &st);
    CU_ASSERT(st.launches_cold > 0);
    CU_ASSERT(st.reaction_samples > 0);
    tests_simctl_close(&s);
}

/* ---- pvc-zones ---------------------------------------------------------------------------- */

static const char *pv_zone(const json_t *pv)
{
    json_t *terms = json_object_get(
        json_object_get(json_object_get(json_object_get(pv, "spec"), "nodeAffinity"), "required"),
        "nodeSelectorTerms");
    size_t i, j;
    json_t *t, *e;
    json_array_foreach(terms, i, t)
    {
        json_array_foreach(json_object_get(t, "matchExpressions"), j, e)
        {
            const char *k = json_string_value(json_object_get(e, "key"));
            if (k && (strcmp(k, "topology.kubernetes.io/zone") == 0 ||
                      strcmp(k, "topology.ebs.csi.aws.com/zone") == 0))
                return json_string_value(json_array_get(json_object_get(e, "values"), 0));
        }
    }
    return NULL;
}

static void test_pvc_zones(void)
{
    struct tests_simctl s;
    open_scenario(&s, "pvc-zones", 11);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    const struct sim_scenario *sc = sim_scenario_find("pvc-zones");
    tests_simctl_run(&s, sc->duration);
    CU_ASSERT_EQUAL(pending_pods(&s), 0);
    json_t *pods = tests_simctl_list(&s, "pods", NULL);
    json_t *nodes = tests_simctl_list(&s, "nodes", NULL);
    size_t checked = 0, i, j;
    json_t *p, *v;
    json_array_foreach(pods, i, p)
    {
        const char *node = str_at(p, "spec", "nodeName");
        const char *ns = str_at(p, "metadata", "namespace");
        json_array_foreach(json_object_get(json_object_get(p, "spec"), "volumes"), j, v)
        {
            const char *claim = str_at(v, "persistentVolumeClaim", "claimName");
            if (!claim || !node)
                continue;
            json_t *pvc = tests_simctl_get(&s, "persistentvolumeclaims", ns, claim);
            const char *pvname = pvc ? str_at(pvc, "spec", "volumeName") : NULL;
            json_t *pv = pvname ? tests_simctl_get(&s, "persistentvolumes", NULL, pvname) : NULL;
            const char *zone = pv ? pv_zone(pv) : NULL;
            const json_t *nd = find_node(nodes, node);
            const char *nzone = nd ? label(nd, "topology.kubernetes.io/zone") : NULL;
            CU_ASSERT_PTR_NOT_NULL(zone);
            CU_ASSERT_PTR_NOT_NULL(nzone);
            if (zone && nzone) {
                CU_ASSERT_STRING_EQUAL(zone, nzone);
                checked++;
            }
            json_decref(pv);
            json_decref(pvc);
        }
    }
    CU_ASSERT(checked >= 12);
    json_decref(nodes);
    json_decref(pods);
    check_pairing(&s);
    report("pvc-zones", &s);
    tests_simctl_close(&s);
}

/* ---- gpu-mix ------------------------------------------------------------------------------ */

static void test_gpu_mix(void)
{
    struct tests_simctl s;
    open_scenario(&s, "gpu-mix", 13);
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    const struct sim_scenario *sc = sim_scenario_find("gpu-mix");
    tests_simctl_run(&s, sc->duration);
    CU_ASSERT_EQUAL(pending_pods(&s), 0);
    struct launcher_catalog *cat = NULL;
    CU_ASSERT_EQUAL_FATAL(launcher_catalog_load(&cat, NULL), 0);
    json_t *pods = tests_simctl_list(&s, "pods", NULL);
    json_t *nodes = tests_simctl_list(&s, "nodes", NULL);
    size_t gpu = 0, arm = 0, i, j;
    json_t *p, *ct;
    json_array_foreach(pods, i, p)
    {
        const json_t *nd = find_node(nodes, str_at(p, "spec", "nodeName"));
        const char *type = nd ? label(nd, "node.kubernetes.io/instance-type") : NULL;
        const struct launcher_itype *t = type ? launcher_catalog_find(cat, type) : NULL;
        CU_ASSERT_PTR_NOT_NULL(t);
        if (!t)
            continue;
        int wants_gpu = 0;
        json_array_foreach(json_object_get(json_object_get(p, "spec"), "containers"), j, ct)
        {
            if (json_object_get(json_object_get(json_object_get(ct, "resources"), "requests"),
                                "nvidia.com/gpu"))
                wants_gpu = 1;
        }
        if (wants_gpu) {
            CU_ASSERT(t->gpu_count > 0 && strcmp(t->gpu_manufacturer, "nvidia") == 0);
            gpu++;
        }
        const char *arch =
            str_at(json_object_get(p, "spec"), "nodeSelector", "kubernetes.io/arch");
        if (arch && strcmp(arch, "arm64") == 0) {
            CU_ASSERT_STRING_EQUAL(t->arch, "arm64");
            arm++;
        }
    }
    CU_ASSERT(gpu >= 8);
    CU_ASSERT(arm >= 20);
    json_decref(nodes);
    json_decref(pods);
    launcher_catalog_free(cat);
    check_pairing(&s);
    report("gpu-mix", &s);
    tests_simctl_close(&s);
}

/* ---- a controller killed mid scale-out ---------------------------------------------------- */

static int some_launched(struct tests_simctl *s, void *ud)
{
    (void)ud;
    return controller_crashed(s->ctl);
}

static void test_restart_mid_scale_out(void)
{
    struct tests_simctl s;
    open_scenario(&s, "steady", 21);
    /* The first controller dies right after its 3rd launch, before it records it. */
    s.opts.crash_after_launches = 3;
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    CU_ASSERT_FATAL(tests_simctl_until(&s, some_launched, NULL, 10 * MIN));
    tests_simctl_run(&s, 2 * S); /* requests in flight land while nobody listens */
    tests_simctl_stop(&s);
    s.opts.crash_after_launches = 0;
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    const struct sim_scenario *sc = sim_scenario_find("steady");
    tests_simctl_run(&s, sc->duration);
    CU_ASSERT_EQUAL(pending_pods(&s), 0);
    /* No duplicate: one live instance per launched NodeClaim; none lost: every live instance
     * is some NodeClaim's. */
    check_pairing(&s);
    report("restart", &s);
    tests_simctl_close(&s);
}

/* ---- two replicas ------------------------------------------------------------------------- */

static int one_leads(struct tests_simctl *s, void *ud)
{
    struct controller *other = ud;
    return controller_leading(s->ctl) || controller_leading(other);
}

static void test_two_replicas(void)
{
    struct tests_simctl s;
    open_scenario(&s, "steady", 31);
    s.opts.leader_election = 1;
    s.opts.identity = "replica-a";
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    struct controller_opts o2 = s.opts;
    o2.identity = "replica-b";
    struct controller *b = NULL;
    struct core_err err = {0};
    CU_ASSERT_EQUAL_FATAL(controller_new(s.w->loop, s.w->k8sc, s.w->awsc, NULL, &o2, &b, &err), 0);
    CU_ASSERT_EQUAL_FATAL(controller_start(b, &err), 0);
    CU_ASSERT_FATAL(tests_simctl_until(&s, one_leads, b, 60 * S));
    /* Never both. */
    for (int i = 0; i < 300; i++) {
        tests_simctl_run(&s, S);
        CU_ASSERT_FALSE(controller_leading(s.ctl) && controller_leading(b));
    }
    int a_led = controller_leading(s.ctl);
    /* The leader dies without releasing its lease; the other takes over and finishes. */
    if (a_led) {
        tests_simctl_stop(&s);
        s.ctl = b;
        b = NULL;
    } else {
        controller_free(b);
        b = NULL;
    }
    CU_ASSERT_FATAL(tests_simctl_until(&s, one_leads, NULL == b ? s.ctl : b, 120 * S));
    const struct sim_scenario *sc = sim_scenario_find("steady");
    tests_simctl_run(&s, sc->duration);
    CU_ASSERT(controller_leading(s.ctl));
    CU_ASSERT_EQUAL(pending_pods(&s), 0);
    check_pairing(&s);
    report("two replicas", &s);
    controller_free(b);
    tests_simctl_close(&s);
}

TESTS_SUITE(controller_e2e, "controller_e2e", NULL, NULL, TESTS_CASE(test_steady),
            TESTS_CASE(test_pvc_zones), TESTS_CASE(test_gpu_mix),
            TESTS_CASE(test_restart_mid_scale_out), TESTS_CASE(test_two_replicas))
