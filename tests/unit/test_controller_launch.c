/*
 * tests/unit/test_controller_launch.c — controller/launch.c against the emulators (simctl
 * fixture: a controller on a simulated world): cold launches through launch templates and
 * CreateFleet (types, zones, tags, user data a node would read), ClientToken idempotency,
 * capacity errors (one type, all types), template reuse, spot, finding an instance by NodeClaim,
 * termination, the warm path, and refusals delivered from the loop.
 *
 * NodeClaims are decoded locally and never created in the API, so the controller's own
 * lifecycle reconciler does not launch them too; orphan GC is pushed beyond the tests' time.
 */
#include "tests/unit/harness.h"

#include "aws/aws.h"
#include "controller/internal.h"
#include "k8s/k8s.h"
#include "launcher/launcher.h"
#include "sim/internal.h"
#include "sim/sim.h"
#include "tests/unit/simctl.h"
#include "userdata/userdata.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define SEC CORE_NS_PER_S
#define HOUR ((core_ns)3600 * SEC)

/* ---- fixture ------------------------------------------------------------------------------- */

static int class_ready(struct tests_simctl *s, void *ud)
{
    struct launcher_offerings *o;
    (void)ud;
    if (!s->ctl || !controller_nodeclass_ready(s->ctl, "default"))
        return 0;
    o = controller_offerings(s->ctl);
    return o && launcher_offerings_zone_count(o) > 0;
}

/* A started controller with the default EC2NodeClass Ready and offerings loaded. */
static void fx_open(struct tests_simctl *s, const char *const *ice, size_t nice)
{
    struct sim_world_opts w;
    memset(&w, 0, sizeof w);
    w.seed = 7;
    for (size_t i = 0; i < nice; i++) {
        struct core_err err = {0};
        CU_ASSERT_EQUAL_FATAL(sim_faults_parse(&w.faults, ice[i], &err), 0);
    }
    tests_simctl_open(s, &w);
    s->opts.orphan_grace = 24 * HOUR;
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(s), 0);
    tests_simctl_apply(s, tests_simctl_nodeclass_yaml);
    CU_ASSERT_FATAL(tests_simctl_until(s, class_ready, NULL, 120 * SEC));
}

/* ---- NodeClaims ---------------------------------------------------------------------------- */

/* types: a JSON array text; ct: a JSON array text of capacity types. */
static void nc_make(struct k8s_nodeclaim *nc, const char *name, const char *uid,
                    const char *types, const char *ct, const char *warm)
{
    char text[4096];
    json_error_t jerr;
    json_t *o;
    struct core_err err = {0};
    char ann[256] = "";

    if (warm)
        snprintf(ann, sizeof ann, "\"annotations\":{\"%s\":\"%s\"},", CONTROLLER_ANNOTATION_WARM,
                 warm);
    snprintf(text, sizeof text,
             "{\"apiVersion\":\"stoker.dev/v1alpha1\",\"kind\":\"NodeClaim\","
             "\"metadata\":{\"name\":\"%s\",\"uid\":\"%s\",%s"
             "\"labels\":{\"karpenter.sh/nodepool\":\"default\",\"team\":\"blue\"}},"
             "\"spec\":{\"nodeClassRef\":{\"group\":\"stoker.dev\",\"kind\":\"EC2NodeClass\","
             "\"name\":\"default\"},"
             "\"requirements\":["
             "{\"key\":\"node.kubernetes.io/instance-type\",\"operator\":\"In\",\"values\":%s},"
             "{\"key\":\"karpenter.sh/capacity-type\",\"operator\":\"In\",\"values\":%s},"
             "{\"key\":\"kubernetes.io/arch\",\"operator\":\"In\",\"values\":[\"amd64\"]},"
             "{\"key\":\"topology.kubernetes.io/zone\",\"operator\":\"In\","
             "\"values\":[\"us-east-1a\",\"us-east-1b\"]}],"
             "\"taints\":[{\"key\":\"dedicated\",\"value\":\"ml\",\"effect\":\"NoSchedule\"}],"
             "\"resources\":{\"requests\":{\"cpu\":\"1\"}}}}",
             name, uid, ann, types, ct);
    o = json_loads(text, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    memset(nc, 0, sizeof *nc);
    if (k8s_nodeclaim_decode(o, nc, &err) != 0)
        fprintf(stderr, "\n  decode: %s\n", err.message);
    json_decref(o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nc->meta.name);
}

#define TYPES3 "[\"c5.large\",\"m5.large\",\"r5.large\"]"
#define OD "[\"on-demand\"]"

/* ---- launching ----------------------------------------------------------------------------- */

struct got {
    int done, calls, rc;
    struct core_err err;
    struct controller_launch_result res;
};

static void on_launch(struct controller *c, void *ud, int rc,
                      const struct controller_launch_result *res, const struct core_err *err)
{
    struct got *g = ud;
    (void)c;
    g->done = 1;
    g->calls++;
    g->rc = rc;
    if (res)
        g->res = *res;
    if (err)
        g->err = *err;
}

static int got_done(struct tests_simctl *s, void *ud)
{
    (void)s;
    return ((struct got *)ud)->done;
}

static void launch(struct tests_simctl *s, const struct k8s_nodeclaim *nc, struct got *g)
{
    struct core_err err = {0};
    memset(g, 0, sizeof *g);
    CU_ASSERT_EQUAL_FATAL(controller_launch_start(s->ctl, nc, on_launch, g, &err), 0);
    CU_ASSERT_EQUAL(g->done, 0); /* never from inside the call */
    CU_ASSERT_FATAL(tests_simctl_until(s, got_done, g, 120 * SEC));
    CU_ASSERT_EQUAL(g->calls, 1);
}

static int in_list(const char *v, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(v, list[i]) == 0)
            return 1;
    return 0;
}

static const char *const types3[] = {"c5.large", "m5.large", "r5.large", NULL};
static const char *const zones2[] = {"us-east-1a", "us-east-1b", NULL};

static size_t lt_count(struct tests_simctl *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->w->aws->nlts; i++)
        if (strncmp(s->w->aws->lts[i]->name, "stoker-", 7) == 0)
            n++;
    return n;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_cold_launch(void)
{
    struct tests_simctl s;
    struct k8s_nodeclaim nc;
    struct got g;
    struct sim_instance *in;
    struct core_buf raw;
    struct userdata_facts facts;
    struct core_err err = {0};
    int tainted = 0;

    fx_open(&s, NULL, 0);
    nc_make(&nc, "nc-a", "0b7f5a4e-0000-4000-8000-000000000001", TYPES3, OD, NULL);
    launch(&s, &nc, &g);
    if (g.rc)
        fprintf(stderr, "\n  launch: %s\n", g.err.message);
    CU_ASSERT_EQUAL_FATAL(g.rc, 0);
    CU_ASSERT(strncmp(g.res.instance_id, "i-", 2) == 0);
    CU_ASSERT(in_list(g.res.instance_type, types3));
    CU_ASSERT(in_list(g.res.zone, zones2));
    CU_ASSERT(strncmp(g.res.subnet_id, "subnet-", 7) == 0);
    CU_ASSERT(strncmp(g.res.image_id, "ami-", 4) == 0);
    CU_ASSERT_STRING_EQUAL(g.res.capacity_type, "on-demand");
    CU_ASSERT_EQUAL(g.res.warm, 0);
    CU_ASSERT_EQUAL(s.ctl->stats.launches_cold, 1);
    CU_ASSERT_EQUAL(s.ctl->fleet_launches, 1);

    in = sim_instance_find(s.w->aws, g.res.instance_id);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    CU_ASSERT_STRING_EQUAL(in->type->t->name, g.res.instance_type);
    CU_ASSERT_FALSE(in->spot);
    CU_ASSERT_STRING_EQUAL(sim_tags_get(&in->tags, CONTROLLER_TAG_NODECLAIM), "nc-a");
    CU_ASSERT_STRING_EQUAL(sim_tags_get(&in->tags, CONTROLLER_TAG_NAME), "nc-a");
    CU_ASSERT_STRING_EQUAL(sim_tags_get(&in->tags, CONTROLLER_TAG_NODEPOOL), "default");
    CU_ASSERT_STRING_EQUAL(sim_tags_get(&in->tags, CONTROLLER_TAG_NODECLASS), "default");
    CU_ASSERT_STRING_EQUAL(sim_tags_get(&in->tags, CONTROLLER_TAG_MANAGED_BY), SIM_AWS_CLUSTER);
    CU_ASSERT_STRING_EQUAL(sim_tags_get(&in->tags, CONTROLLER_TAG_EKS_CLUSTER), SIM_AWS_CLUSTER);
    CU_ASSERT_STRING_EQUAL(sim_tags_get(&in->tags, "kubernetes.io/cluster/" SIM_AWS_CLUSTER),
                           "owned");
    CU_ASSERT_PTR_NOT_NULL(in->launch_template_id);

    /* The user data is gzip, and a booting node reads a join with the NodeClaim's labels and
     * taints. */
    CU_ASSERT_PTR_NOT_NULL_FATAL(in->user_data);
    CU_ASSERT(in->user_data_len > 2 && in->user_data[0] == 0x1f && in->user_data[1] == 0x8b);
    core_buf_init(&raw, USERDATA_RAW_MAX);
    CU_ASSERT_EQUAL_FATAL(userdata_decode(in->user_data, in->user_data_len, 0, &raw, &err), 0);
    memset(&facts, 0, sizeof facts);
    CU_ASSERT_EQUAL_FATAL(userdata_inspect(core_buf_cstr(&raw), raw.len, &facts, &err), 0);
    CU_ASSERT(facts.joins);
    CU_ASSERT_STRING_EQUAL(facts.cluster_name, SIM_AWS_CLUSTER);
    CU_ASSERT_PTR_NOT_NULL(k8s_labels_get(&facts.labels, "team"));
    if (k8s_labels_get(&facts.labels, "team"))
        CU_ASSERT_STRING_EQUAL(k8s_labels_get(&facts.labels, "team"), "blue");
    CU_ASSERT_PTR_NOT_NULL(k8s_labels_get(&facts.labels, "karpenter.sh/capacity-type"));
    CU_ASSERT_PTR_NOT_NULL(k8s_labels_get(&facts.labels, "kubernetes.io/arch"));
    CU_ASSERT_PTR_NULL(k8s_labels_get(&facts.labels, "topology.kubernetes.io/zone"));
    for (size_t i = 0; i < facts.ntaints; i++)
        if (strcmp(facts.taints[i].key, "dedicated") == 0 && facts.taints[i].value &&
            strcmp(facts.taints[i].value, "ml") == 0)
            tainted = 1;
    CU_ASSERT(tainted);
    CU_ASSERT(facts.max_pods > 0);
    userdata_facts_cleanup(&facts);
    core_buf_cleanup(&raw);
    CU_ASSERT_EQUAL(lt_count(&s), 1);

    /* Found again by its tag, as a restarted controller would. */
    {
        struct got f;
        memset(&f, 0, sizeof f);
        CU_ASSERT_EQUAL_FATAL(controller_launch_find(s.ctl, "nc-a", on_launch, &f, &err), 0);
        CU_ASSERT_EQUAL(f.done, 0);
        CU_ASSERT_FATAL(tests_simctl_until(&s, got_done, &f, 60 * SEC));
        CU_ASSERT_EQUAL(f.rc, 0);
        CU_ASSERT_STRING_EQUAL(f.res.instance_id, g.res.instance_id);
        CU_ASSERT_STRING_EQUAL(f.res.instance_type, g.res.instance_type);
        memset(&f, 0, sizeof f);
        CU_ASSERT_EQUAL_FATAL(controller_launch_find(s.ctl, "nc-none", on_launch, &f, &err), 0);
        CU_ASSERT_FATAL(tests_simctl_until(&s, got_done, &f, 60 * SEC));
        CU_ASSERT_EQUAL(f.rc, 0);
        CU_ASSERT_STRING_EQUAL(f.res.instance_id, "");
    }
    k8s_nodeclaim_cleanup(&nc);
    tests_simctl_close(&s);
}

struct done {
    int done, calls, rc;
    struct core_err err;
};

static void on_done(struct controller *c, void *ud, int rc, const struct core_err *err)
{
    struct done *d = ud;
    (void)c;
    d->done = 1;
    d->calls++;
    d->rc = rc;
    if (err)
        d->err = *err;
}

static int done_done(struct tests_simctl *s, void *ud)
{
    (void)s;
    return ((struct done *)ud)->done;
}

static void terminate(struct tests_simctl *s, const char *id, struct done *d)
{
    struct core_err err = {0};
    memset(d, 0, sizeof *d);
    CU_ASSERT_EQUAL_FATAL(controller_terminate(s->ctl, id, on_done, d, &err), 0);
    CU_ASSERT_EQUAL(d->done, 0);
    CU_ASSERT_FATAL(tests_simctl_until(s, done_done, d, 60 * SEC));
    CU_ASSERT_EQUAL(d->calls, 1);
}

static void test_terminate(void)
{
    struct tests_simctl s;
    struct k8s_nodeclaim nc;
    struct got g, f;
    struct done d;
    struct sim_instance *in;
    struct core_err err = {0};

    fx_open(&s, NULL, 0);
    nc_make(&nc, "nc-t", "0b7f5a4e-0000-4000-8000-000000000002", TYPES3, OD, NULL);
    launch(&s, &nc, &g);
    CU_ASSERT_EQUAL_FATAL(g.rc, 0);
    terminate(&s, g.res.instance_id, &d);
    CU_ASSERT_EQUAL(d.rc, 0);
    in = sim_instance_find(s.w->aws, g.res.instance_id);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    CU_ASSERT(in->state == SIM_SHUTTING_DOWN || in->state == SIM_TERMINATED);
    /* An unknown instance counts as already gone. */
    terminate(&s, "i-0123456789abcdef0", &d);
    CU_ASSERT_EQUAL(d.rc, 0);
    /* A terminated instance is no longer found for its NodeClaim. */
    tests_simctl_run(&s, 60 * SEC);
    memset(&f, 0, sizeof f);
    CU_ASSERT_EQUAL_FATAL(controller_launch_find(s.ctl, "nc-t", on_launch, &f, &err), 0);
    CU_ASSERT_FATAL(tests_simctl_until(&s, got_done, &f, 60 * SEC));
    CU_ASSERT_EQUAL(f.rc, 0);
    CU_ASSERT_STRING_EQUAL(f.res.instance_id, "");
    k8s_nodeclaim_cleanup(&nc);
    tests_simctl_close(&s);
}

static void test_same_uid_once(void)
{
    struct tests_simctl s;
    struct k8s_nodeclaim nc;
    struct got a, b;
    struct sim_aws_stats st;

    fx_open(&s, NULL, 0);
    nc_make(&nc, "nc-idem", "0b7f5a4e-0000-4000-8000-000000000003", TYPES3, OD, NULL);
    launch(&s, &nc, &a);
    CU_ASSERT_EQUAL_FATAL(a.rc, 0);
    launch(&s, &nc, &b);
    CU_ASSERT_EQUAL_FATAL(b.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.res.instance_id, b.res.instance_id);
    sim_aws_stats(s.w->aws, &st);
    CU_ASSERT_EQUAL(st.launched, 1);
    k8s_nodeclaim_cleanup(&nc);
    tests_simctl_close(&s);
}

static void test_ice_one_type(void)
{
    static const char *const ice[] = {"ice=c5.large@*"};
    struct tests_simctl s;
    struct k8s_nodeclaim nc;
    struct got g;
    size_t marked = 0;

    fx_open(&s, ice, 1);
    nc_make(&nc, "nc-ice", "0b7f5a4e-0000-4000-8000-000000000004", TYPES3, OD, NULL);
    launch(&s, &nc, &g);
    CU_ASSERT_EQUAL_FATAL(g.rc, 0);
    CU_ASSERT_STRING_NOT_EQUAL(g.res.instance_type, "c5.large");
    CU_ASSERT(in_list(g.res.instance_type, types3));
    /* The refused offering is remembered as unavailable. */
    for (size_t i = 0; zones2[i]; i++)
        if (!launcher_offerings_lookup(controller_offerings(s.ctl), LAUNCHER_ON_DEMAND,
                                       "c5.large", zones2[i], controller_now(s.ctl), NULL))
            marked++;
    CU_ASSERT(marked >= 1);
    CU_ASSERT(launcher_offerings_lookup(controller_offerings(s.ctl), LAUNCHER_ON_DEMAND,
                                        g.res.instance_type, g.res.zone, controller_now(s.ctl),
                                        NULL));
    k8s_nodeclaim_cleanup(&nc);
    tests_simctl_close(&s);
}

static void test_ice_all(void)
{
    static const char *const ice[] = {"ice=*@*"};
    struct tests_simctl s;
    struct k8s_nodeclaim nc;
    struct got g;

    fx_open(&s, ice, 1);
    nc_make(&nc, "nc-ice-all", "0b7f5a4e-0000-4000-8000-000000000005", TYPES3, OD, NULL);
    launch(&s, &nc, &g);
    CU_ASSERT_EQUAL(g.rc, CORE_E_SERVICE);
    CU_ASSERT_STRING_EQUAL(g.err.service_code, "InsufficientInstanceCapacity");
    CU_ASSERT_EQUAL(s.ctl->stats.launch_failures, 1);
    CU_ASSERT_EQUAL(s.ctl->stats.launches_cold, 0);
    /* Every offering is now marked: the next attempt fails without a fleet call. */
    {
        unsigned long calls = s.ctl->stats.ec2_calls;
        launch(&s, &nc, &g);
        CU_ASSERT_EQUAL(g.rc, CORE_E_SERVICE);
        CU_ASSERT_STRING_EQUAL(g.err.service_code, "InsufficientInstanceCapacity");
        CU_ASSERT(s.ctl->stats.ec2_calls - calls <= 1); /* GC may run meanwhile */
    }
    k8s_nodeclaim_cleanup(&nc);
    tests_simctl_close(&s);
}

static void test_template_reused(void)
{
    struct tests_simctl s;
    struct k8s_nodeclaim a, b;
    struct got ga, gb;

    fx_open(&s, NULL, 0);
    nc_make(&a, "nc-r1", "0b7f5a4e-0000-4000-8000-000000000006", "[\"m5.large\"]", OD, NULL);
    nc_make(&b, "nc-r2", "0b7f5a4e-0000-4000-8000-000000000007", "[\"m5.large\"]", OD, NULL);
    launch(&s, &a, &ga);
    CU_ASSERT_EQUAL_FATAL(ga.rc, 0);
    launch(&s, &b, &gb);
    CU_ASSERT_EQUAL_FATAL(gb.rc, 0);
    CU_ASSERT_STRING_NOT_EQUAL(ga.res.instance_id, gb.res.instance_id);
    CU_ASSERT_EQUAL(lt_count(&s), 1);
    {
        struct sim_instance *x = sim_instance_find(s.w->aws, ga.res.instance_id);
        struct sim_instance *y = sim_instance_find(s.w->aws, gb.res.instance_id);
        CU_ASSERT_PTR_NOT_NULL_FATAL(x);
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        CU_ASSERT_STRING_EQUAL(x->launch_template_id, y->launch_template_id);
        CU_ASSERT_STRING_EQUAL(sim_tags_get(&y->tags, CONTROLLER_TAG_NODECLAIM), "nc-r2");
    }
    /* A different max pods (another type) renders other user data: another template. */
    k8s_nodeclaim_cleanup(&b);
    nc_make(&b, "nc-r3", "0b7f5a4e-0000-4000-8000-000000000008", "[\"m5.4xlarge\"]", OD, NULL);
    launch(&s, &b, &gb);
    CU_ASSERT_EQUAL_FATAL(gb.rc, 0);
    CU_ASSERT_EQUAL(lt_count(&s), 2);
    k8s_nodeclaim_cleanup(&a);
    k8s_nodeclaim_cleanup(&b);
    tests_simctl_close(&s);
}

static void test_spot(void)
{
    struct tests_simctl s;
    struct k8s_nodeclaim nc;
    struct got g;
    struct sim_instance *in;

    fx_open(&s, NULL, 0);
    nc_make(&nc, "nc-spot", "0b7f5a4e-0000-4000-8000-000000000009", TYPES3, "[\"spot\"]", NULL);
    launch(&s, &nc, &g);
    if (g.rc)
        fprintf(stderr, "\n  spot: %s\n", g.err.message);
    CU_ASSERT_EQUAL_FATAL(g.rc, 0);
    CU_ASSERT_STRING_EQUAL(g.res.capacity_type, "spot");
    in = sim_instance_find(s.w->aws, g.res.instance_id);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    CU_ASSERT(in->spot);
    k8s_nodeclaim_cleanup(&nc);
    tests_simctl_close(&s);
}

static void test_refusals_later(void)
{
    struct tests_simctl s;
    struct k8s_nodeclaim nc;
    struct got g;
    struct core_err err = {0};

    fx_open(&s, NULL, 0);
    nc_make(&nc, "nc-x", "0b7f5a4e-0000-4000-8000-00000000000a", TYPES3, OD, NULL);
    /* The class it names does not exist. */
    core_free(nc.node_class_ref.name);
    nc.node_class_ref.name = core_strdup("missing");
    launch(&s, &nc, &g);
    CU_ASSERT_EQUAL(g.rc, CORE_E_STATE);
    CU_ASSERT_PTR_NOT_NULL(strstr(g.err.message, "missing"));
    /* A type the catalog does not know leaves no offering. */
    k8s_nodeclaim_cleanup(&nc);
    nc_make(&nc, "nc-y", "0b7f5a4e-0000-4000-8000-00000000000b", "[\"zz9.huge\"]", OD, NULL);
    launch(&s, &nc, &g);
    CU_ASSERT_EQUAL(g.rc, CORE_E_SERVICE);
    /* Freed with a launch pending: the callback never runs, nothing leaks. */
    memset(&g, 0, sizeof g);
    CU_ASSERT_EQUAL(controller_launch_start(s.ctl, &nc, on_launch, &g, &err), 0);
    tests_simctl_stop(&s);
    CU_ASSERT_EQUAL(g.calls, 0);
    k8s_nodeclaim_cleanup(&nc);
    tests_simctl_close(&s);
}

/* ---- warm path ----------------------------------------------------------------------------- */

struct inst {
    int done, rc;
    char id[32];
};

static void on_run(void *ud, int rc, const struct aws_ec2_instances *res,
                   const struct core_err *err)
{
    struct inst *x = ud;
    (void)err;
    x->done = 1;
    x->rc = rc;
    if (!rc && res->n > 0)
        core_strlcpy(x->id, res->v[0].instance_id, sizeof x->id);
}

static void on_changes(void *ud, int rc, const struct aws_ec2_state_changes *res,
                       const struct core_err *err)
{
    struct inst *x = ud;
    (void)res;
    (void)err;
    x->done = 1;
    x->rc = rc;
}

static int inst_done(struct tests_simctl *s, void *ud)
{
    (void)s;
    return ((struct inst *)ud)->done;
}

struct wait_state {
    const char *id;
    int state;
};

static int in_state(struct tests_simctl *s, void *ud)
{
    struct wait_state *w = ud;
    struct sim_instance *in = sim_instance_find(s->w->aws, w->id);
    return in && in->state == w->state;
}

/* A stopped instance of the class's image, as a warm pool would leave it. */
static void make_stopped(struct tests_simctl *s, char *id, size_t idsz)
{
    const struct k8s_ec2nodeclass *cls = k8s_informer_get(s->ctl->nodeclasses, "default");
    struct aws_ec2_run_instances_req run;
    struct aws_ec2_stop_instances_req stop;
    struct core_err err = {0};
    struct inst x;
    struct wait_state w;
    const char *ids[1];
    const char *image = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(cls);
    for (size_t i = 0; i < cls->namis && !image; i++)
        for (size_t j = 0; j < cls->amis[i].nrequirements; j++)
            if (strcmp(cls->amis[i].requirements[j].key, "kubernetes.io/arch") == 0 &&
                cls->amis[i].requirements[j].values.n &&
                strcmp(cls->amis[i].requirements[j].values.v[0], "amd64") == 0 &&
                cls->amis[i].nrequirements >= 1)
                image = cls->amis[i].id;
    CU_ASSERT_PTR_NOT_NULL_FATAL(image);
    memset(&run, 0, sizeof run);
    run.image_id = image;
    run.instance_type = "m5.large";
    run.min_count = run.max_count = 1;
    run.subnet_id = cls->subnets[0].id;
    memset(&x, 0, sizeof x);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_run_instances(s->w->awsc, &run, on_run, &x, &err), 0);
    CU_ASSERT_FATAL(tests_simctl_until(s, inst_done, &x, 60 * SEC));
    CU_ASSERT_EQUAL_FATAL(x.rc, 0);
    core_strlcpy(id, x.id, idsz);
    w.id = id;
    w.state = SIM_RUNNING;
    CU_ASSERT_FATAL(tests_simctl_until(s, in_state, &w, 120 * SEC));
    ids[0] = id;
    memset(&stop, 0, sizeof stop);
    stop.instance_ids = ids;
    stop.ninstance_ids = 1;
    memset(&x, 0, sizeof x);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_stop_instances(s->w->awsc, &stop, on_changes, &x, &err), 0);
    CU_ASSERT_FATAL(tests_simctl_until(s, inst_done, &x, 60 * SEC));
    CU_ASSERT_EQUAL_FATAL(x.rc, 0);
    w.state = SIM_STOPPED;
    CU_ASSERT_FATAL(tests_simctl_until(s, in_state, &w, 300 * SEC));
}

static void test_warm(void)
{
    struct tests_simctl s;
    struct k8s_nodeclaim nc;
    struct got g;
    char id[32];
    struct sim_instance *in;
    struct core_buf raw;
    struct userdata_facts facts;
    struct core_err err = {0};

    fx_open(&s, NULL, 0);
    make_stopped(&s, id, sizeof id);
    nc_make(&nc, "nc-warm", "0b7f5a4e-0000-4000-8000-00000000000c", TYPES3, OD, id);
    launch(&s, &nc, &g);
    if (g.rc)
        fprintf(stderr, "\n  warm: %s\n", g.err.message);
    CU_ASSERT_EQUAL_FATAL(g.rc, 0);
    CU_ASSERT_EQUAL(g.res.warm, 1);
    CU_ASSERT_STRING_EQUAL(g.res.instance_id, id);
    CU_ASSERT_STRING_EQUAL(g.res.instance_type, "m5.large");
    CU_ASSERT_STRING_EQUAL(g.res.capacity_type, "on-demand");
    CU_ASSERT_EQUAL(s.ctl->stats.launches_warm, 1);
    CU_ASSERT_EQUAL(s.ctl->stats.launches_cold, 0);
    in = sim_instance_find(s.w->aws, id);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    CU_ASSERT(in->state == SIM_PENDING || in->state == SIM_RUNNING);
    CU_ASSERT_STRING_EQUAL(sim_tags_get(&in->tags, CONTROLLER_TAG_NODECLAIM), "nc-warm");
    CU_ASSERT_PTR_NOT_NULL_FATAL(in->user_data);
    core_buf_init(&raw, USERDATA_RAW_MAX);
    CU_ASSERT_EQUAL_FATAL(userdata_decode(in->user_data, in->user_data_len, 0, &raw, &err), 0);
    memset(&facts, 0, sizeof facts);
    CU_ASSERT_EQUAL_FATAL(userdata_inspect(core_buf_cstr(&raw), raw.len, &facts, &err), 0);
    CU_ASSERT(facts.joins);
    if (k8s_labels_get(&facts.labels, "team"))
        CU_ASSERT_STRING_EQUAL(k8s_labels_get(&facts.labels, "team"), "blue");
    CU_ASSERT_PTR_NOT_NULL(k8s_labels_get(&facts.labels, "team"));
    userdata_facts_cleanup(&facts);
    core_buf_cleanup(&raw);

    /* The same NodeClaim again (its answer lost): the started instance is already its. */
    launch(&s, &nc, &g);
    CU_ASSERT_EQUAL(g.rc, 0);
    CU_ASSERT_STRING_EQUAL(g.res.instance_id, id);

    /* Another NodeClaim naming that (now running) instance is refused. */
    k8s_nodeclaim_cleanup(&nc);
    nc_make(&nc, "nc-warm2", "0b7f5a4e-0000-4000-8000-00000000000d", TYPES3, OD, id);
    launch(&s, &nc, &g);
    CU_ASSERT_EQUAL(g.rc, CORE_E_STATE);
    /* A warm instance that does not exist is refused. */
    k8s_nodeclaim_cleanup(&nc);
    nc_make(&nc, "nc-warm3", "0b7f5a4e-0000-4000-8000-00000000000e", TYPES3, OD,
            "i-0fffffffffffffff0");
    launch(&s, &nc, &g);
    CU_ASSERT_EQUAL(g.rc, CORE_E_STATE);
    k8s_nodeclaim_cleanup(&nc);
    tests_simctl_close(&s);
}

static void test_crash_after_launch(void)
{
    struct tests_simctl s;
    struct k8s_nodeclaim nc;
    struct got g;
    struct sim_world_opts w;

    memset(&w, 0, sizeof w);
    w.seed = 7;
    tests_simctl_open(&s, &w);
    s.opts.orphan_grace = 24 * HOUR;
    s.opts.crash_after_launches = 1;
    CU_ASSERT_EQUAL_FATAL(tests_simctl_start(&s), 0);
    tests_simctl_apply(&s, tests_simctl_nodeclass_yaml);
    CU_ASSERT_FATAL(tests_simctl_until(&s, class_ready, NULL, 120 * SEC));
    nc_make(&nc, "nc-crash", "0b7f5a4e-0000-4000-8000-00000000000f", TYPES3, OD, NULL);
    launch(&s, &nc, &g);
    CU_ASSERT_EQUAL(g.rc, 0);
    CU_ASSERT(controller_crashed(s.ctl));
    CU_ASSERT_FALSE(controller_may_act(s.ctl));
    k8s_nodeclaim_cleanup(&nc);
    tests_simctl_close(&s);
}

/* Offerings changed since the first launch: the replayed token carries other parameters, and
 * the instance that token made is found by its tag instead of a second launch. */
static void test_token_mismatch_finds(void)
{
    struct tests_simctl s;
    struct k8s_nodeclaim nc;
    struct got a, b;
    struct sim_aws_stats st;
    unsigned long calls;

    fx_open(&s, NULL, 0);
    nc_make(&nc, "nc-mm", "0b7f5a4e-0000-4000-8000-000000000010", TYPES3, OD, NULL);
    launch(&s, &nc, &a);
    CU_ASSERT_EQUAL_FATAL(a.rc, 0);
    CU_ASSERT_EQUAL(launcher_offerings_mark_unavailable(controller_offerings(s.ctl),
                                                        LAUNCHER_ON_DEMAND, a.res.instance_type,
                                                        a.res.zone, controller_now(s.ctl), 0),
                    0);
    calls = s.ctl->stats.ec2_calls;
    launch(&s, &nc, &b);
    CU_ASSERT_EQUAL_FATAL(b.rc, 0);
    /* CreateFleet refused as a mismatch, then DescribeInstances by tag. */
    CU_ASSERT(s.ctl->stats.ec2_calls - calls >= 2);
    CU_ASSERT_STRING_EQUAL(a.res.instance_id, b.res.instance_id);
    sim_aws_stats(s.w->aws, &st);
    CU_ASSERT_EQUAL(st.launched, 1);
    k8s_nodeclaim_cleanup(&nc);
    tests_simctl_close(&s);
}

/* Templates unused for an hour are deleted; recently used ones stay. */
static void test_template_gc(void)
{
    struct tests_simctl s;
    struct k8s_nodeclaim nc;
    struct got g;

    fx_open(&s, NULL, 0);
    nc_make(&nc, "nc-gc", "0b7f5a4e-0000-4000-8000-000000000011", "[\"m5.large\"]", OD, NULL);
    launch(&s, &nc, &g);
    CU_ASSERT_EQUAL_FATAL(g.rc, 0);
    CU_ASSERT_EQUAL(lt_count(&s), 1);
    tests_simctl_run(&s, 30 * 60 * SEC);
    controller_launch_gc(s.ctl);
    tests_simctl_run(&s, 10 * SEC);
    CU_ASSERT_EQUAL(lt_count(&s), 1);
    tests_simctl_run(&s, 35 * 60 * SEC);
    controller_launch_gc(s.ctl);
    tests_simctl_run(&s, 10 * SEC);
    CU_ASSERT_EQUAL(lt_count(&s), 0);
    /* A launch after that creates it again. */
    k8s_nodeclaim_cleanup(&nc);
    nc_make(&nc, "nc-gc2", "0b7f5a4e-0000-4000-8000-000000000012", "[\"m5.large\"]", OD, NULL);
    launch(&s, &nc, &g);
    if (g.rc)
        fprintf(stderr, "\n  relaunch: %s\n", g.err.message);
    CU_ASSERT_EQUAL(g.rc, 0);
    CU_ASSERT_EQUAL(lt_count(&s), 1);
    k8s_nodeclaim_cleanup(&nc);
    tests_simctl_close(&s);
}

TESTS_SUITE(controller_launch, "controller_launch", NULL, NULL,
            TESTS_CASE(test_cold_launch), TESTS_CASE(test_terminate),
            TESTS_CASE(test_same_uid_once), TESTS_CASE(test_ice_one_type),
            TESTS_CASE(test_ice_all), TESTS_CASE(test_template_reused), TESTS_CASE(test_spot),
            TESTS_CASE(test_refusals_later), TESTS_CASE(test_warm),
            TESTS_CASE(test_crash_after_launch), TESTS_CASE(test_token_mismatch_finds),
            TESTS_CASE(test_template_gc))
