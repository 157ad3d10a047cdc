/*
 * tests/unit/test_sim_tracker.c — suite "sim_tracker": the tracker's warm-pool checks
 * (sim/tracker.c) on a simulated world driven directly, without a controller: instances are
 * launched, stopped and started through stoker's own EC2 client on the world, with user data
 * rendered by userdata_build and the tags a controller would (or must not) write, so each
 * counter is known in advance:
 *  - a warm-pool instance that joins without a NodeClaim tag registers "unclaimed";
 *  - an instance booted twice for one NodeClaim, and a second instance that runs for a
 *    NodeClaim another instance ran for, are double starts;
 *  - warm-up instances are counted by phase (warming, then warm once powered off) and the
 *    warm peak follows.
 */
#include "sim/internal.h"
#include "tests/unit/harness.h"

#include "aws/aws.h"
#include "userdata/userdata.h"

#include <stdio.h>
#include <string.h>

#define S(x) ((core_ns)(x) * CORE_NS_PER_S)
#define TEST_CA "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJmYWtlCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"
#define ENDPOINT "https://ABCDEF.gr7.us-east-1.eks.amazonaws.com"

static void on_mark(void *ud)
{
    *(int *)ud = 1;
}

/* Runs the world's loop until `d` from now has passed. */
static void run_for(struct sim_world *w, core_ns d)
{
    int done = 0;
    struct core_timer *t = core_loop_timer_add(w->loop, d, on_mark, &done);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    for (long turns = 0; !done && turns < 1000000; turns++)
        if (core_loop_run_once(w->loop, -1, NULL) < 0)
            break;
    CU_ASSERT_FATAL(done);
}

/* A world whose boot steps all take their median exactly (sigma 0). */
static struct sim_world *world(void)
{
    static const char *const rows[] = {"launch=10s/0", "start=5s/0", "stop=10s/0",
                                       "join_cold=20s/0", "join_warm=5s/0", "ready=2s/0",
                                       "warmup=60s/0"};
    struct sim_world_opts o;
    struct sim_world *w = NULL;
    struct core_err err = {0};

    memset(&o, 0, sizeof o);
    o.seed = 3;
    o.no_scheduler = 1;
    sim_boot_model_default(&o.boot);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CU_ASSERT_EQUAL_FATAL(sim_boot_model_set(&o.boot, rows[i], NULL), 0);
    if (sim_world_new(&o, &w, &err) != 0)
        fprintf(stderr, "\n  sim_world_new: %s\n", err.message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    return w;
}

static const char *al2023_image(struct sim_world *w)
{
    for (size_t i = 0; i < w->aws->nimages; i++)
        if (w->aws->images[i]->family == SIM_AMI_AL2023 &&
            strcmp(w->aws->images[i]->arch, "x86_64") == 0 &&
            strcmp(w->aws->images[i]->variant, "standard") == 0)
            return w->aws->images[i]->id;
    return NULL;
}

static void user_data(enum userdata_phase phase, struct userdata_output *out)
{
    static const char *const images[] = {"public.ecr.aws/nginx/nginx:1.27"};
    struct userdata_input in;
    struct core_err err = {0};

    memset(&in, 0, sizeof in);
    memset(out, 0, sizeof *out);
    in.family = K8S_AMI_AL2023;
    in.phase = phase;
    in.cluster.name = SIM_AWS_CLUSTER;
    in.cluster.endpoint = ENDPOINT;
    in.cluster.ca_bundle = TEST_CA;
    in.node.max_pods = 29;
    in.warm.images = images;
    in.warm.nimages = 1;
    in.warm.hydrate_root_volume = 1;
    if (userdata_build(&in, out, &err) != 0)
        fprintf(stderr, "\n  userdata_build: %s\n", err.message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out->gz);
}

struct launched {
    int done, rc;
    char id[32];
};

static void on_run(void *ud, int rc, const struct aws_ec2_instances *res,
                   const struct core_err *err)
{
    struct launched *l = ud;
    (void)err;
    l->done = 1;
    l->rc = rc;
    if (!rc && res && res->n == 1)
        core_strlcpy(l->id, res->v[0].instance_id, sizeof l->id);
}

/* Launches one m5.large with the phase's user data and tags warm-pool=pool (when pool) and
 * nodeclaim=claim (when claim); the instance's id into id. */
static void launch(struct sim_world *w, enum userdata_phase phase, const char *pool,
                   const char *claim, char id[32])
{
    struct aws_ec2_tag tags[2];
    struct aws_ec2_tag_spec spec = {"instance", tags, 0};
    struct aws_ec2_run_instances_req r;
    struct userdata_output ud;
    struct launched l = {0};
    struct core_err err = {0};

    if (pool)
        tags[spec.ntags++] = (struct aws_ec2_tag){(char *)"stoker.dev/warm-pool", (char *)pool};
    if (claim)
        tags[spec.ntags++] =
            (struct aws_ec2_tag){(char *)"karpenter.sh/nodeclaim", (char *)claim};
    user_data(phase, &ud);
    memset(&r, 0, sizeof r);
    r.image_id = al2023_image(w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.image_id);
    r.instance_type = "m5.large";
    r.min_count = r.max_count = 1;
    r.user_data = ud.gz;
    r.user_data_len = ud.gz_len;
    r.tag_specs = spec.ntags ? &spec : NULL;
    r.ntag_specs = spec.ntags ? 1 : 0;
    CU_ASSERT_EQUAL_FATAL(aws_ec2_run_instances(w->awsc, &r, on_run, &l, &err), 0);
    for (int turns = 0; !l.done && turns < 100000; turns++)
        if (core_loop_run_once(w->loop, -1, NULL) < 0)
            break;
    userdata_output_cleanup(&ud);
    CU_ASSERT_EQUAL_FATAL(l.rc, 0);
    CU_ASSERT_FATAL(l.id[0] != '\0');
    core_strlcpy(id, l.id, 32);
}

struct changed {
    int done, rc;
};

static void on_change(void *ud, int rc, const struct aws_ec2_state_changes *res,
                      const struct core_err *err)
{
    struct changed *c = ud;
    (void)res;
    (void)err;
    c->done = 1;
    c->rc = rc;
}

static void start_stop(struct sim_world *w, const char *id, int start)
{
    const char *ids[1] = {id};
    struct changed c = {0};
    struct core_err err = {0};
    int rc;

    if (start) {
        struct aws_ec2_start_instances_req r = {ids, 1};
        rc = aws_ec2_start_instances(w->awsc, &r, on_change, &c, &err);
    } else {
        struct aws_ec2_stop_instances_req r = {ids, 1, 0, 0};
        rc = aws_ec2_stop_instances(w->awsc, &r, on_change, &c, &err);
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    for (int turns = 0; !c.done && turns < 100000; turns++)
        if (core_loop_run_once(w->loop, -1, NULL) < 0)
            break;
    CU_ASSERT_EQUAL(c.rc, 0);
}

static void on_done(void *ud, int rc, const struct core_err *err)
{
    struct changed *c = ud;
    (void)err;
    c->done = 1;
    c->rc = rc;
}

static void wait_done(struct sim_world *w, struct changed *c)
{
    for (int turns = 0; !c->done && turns < 100000; turns++)
        if (core_loop_run_once(w->loop, -1, NULL) < 0)
            break;
    CU_ASSERT_EQUAL(c->rc, 0);
}

/* What the controller's claim writes to a stopped warm instance: join user data, the tag. */
static void claim(struct sim_world *w, const char *id, const char *nodeclaim)
{
    struct userdata_output ud;
    struct changed c1 = {0}, c2 = {0};
    struct core_err err = {0};
    const char *ids[1] = {id};
    struct aws_ec2_tag tag = {(char *)"karpenter.sh/nodeclaim", (char *)nodeclaim};

    user_data(USERDATA_JOIN, &ud);
    struct aws_ec2_modify_instance_attribute_req m = {id, ud.gz, ud.gz_len};
    CU_ASSERT_EQUAL_FATAL(aws_ec2_modify_instance_attribute(w->awsc, &m, on_done, &c1, &err), 0);
    wait_done(w, &c1);
    userdata_output_cleanup(&ud);
    struct aws_ec2_create_tags_req t = {ids, 1, &tag, 1};
    CU_ASSERT_EQUAL_FATAL(aws_ec2_create_tags(w->awsc, &t, on_done, &c2, &err), 0);
    wait_done(w, &c2);
}

/* A warm-pool instance whose user data joins but that no NodeClaim claimed registers a Node:
 * the check counts it. One claimed (tagged) the same way, and a plain cold launch, do not. */
static void test_unclaimed_registration(void)
{
    struct sim_world *w = world();
    struct sim_tracker *t = NULL;
    struct sim_summary s;
    char a[32], b[32], c[32];

    CU_ASSERT_EQUAL_FATAL(sim_tracker_new(w, S(5), &t, NULL), 0);
    launch(w, USERDATA_JOIN, "checkout", NULL, a);
    launch(w, USERDATA_JOIN, "checkout", "default-abcde", b);
    launch(w, USERDATA_JOIN, NULL, "default-fghij", c);
    run_for(w, S(60)); /* 10 s launch + 20 s join + 2 s ready */
    sim_tracker_summary(t, &s);
    CU_ASSERT_EQUAL(s.nodes_ready_total, 3);
    CU_ASSERT_EQUAL(s.warm_registered_unclaimed, 1);
    CU_ASSERT_EQUAL(s.double_starts, 0);
    CU_ASSERT_EQUAL(s.launches_cold, 3);
    sim_tracker_free(t);
    sim_world_free(w);
}

/* Started again for the NodeClaim it already booted for: one double start. A second instance
 * that runs for a NodeClaim the first ran for: another. A different NodeClaim: none. */
static void test_double_starts(void)
{
    struct sim_world *w = world();
    struct sim_tracker *t = NULL;
    struct sim_summary s;
    char a[32], b[32], c[32];

    CU_ASSERT_EQUAL_FATAL(sim_tracker_new(w, S(5), &t, NULL), 0);
    launch(w, USERDATA_JOIN, "checkout", "default-aaaaa", a);
    run_for(w, S(40));
    sim_tracker_summary(t, &s);
    CU_ASSERT_EQUAL(s.double_starts, 0);
    start_stop(w, a, 0);
    run_for(w, S(20));
    sim_tracker_summary(t, &s);
    CU_ASSERT_EQUAL(s.double_starts, 0); /* stopping is not starting */
    start_stop(w, a, 1);
    run_for(w, S(20));
    sim_tracker_summary(t, &s);
    CU_ASSERT_EQUAL(s.double_starts, 1);
    CU_ASSERT_EQUAL(s.launches_cold, 1);
    CU_ASSERT_EQUAL(s.launches_warm, 1);

    launch(w, USERDATA_JOIN, NULL, "default-aaaaa", b); /* a cold one for the same claim */
    run_for(w, S(20));
    sim_tracker_summary(t, &s);
    CU_ASSERT_EQUAL(s.double_starts, 2);
    launch(w, USERDATA_JOIN, NULL, "default-bbbbb", c);
    run_for(w, S(20));
    sim_tracker_summary(t, &s);
    CU_ASSERT_EQUAL(s.double_starts, 2);
    CU_ASSERT_EQUAL(s.warm_registered_unclaimed, 0);
    sim_tracker_free(t);
    sim_world_free(w);
}

/* Warm-up instances: warming while their script runs, warm once powered off, claimed when
 * tagged and started; the peak is the most warm at once; they never count as launches. */
static void test_warm_phases(void)
{
    struct sim_world *w = world();
    struct sim_tracker *t = NULL;
    struct sim_summary s;
    struct sim_sample now;
    char a[32], b[32];

    CU_ASSERT_EQUAL_FATAL(sim_tracker_new(w, S(5), &t, NULL), 0);
    launch(w, USERDATA_WARM, "checkout", NULL, a);
    launch(w, USERDATA_WARM, "checkout", NULL, b);
    run_for(w, S(30));
    sim_tracker_now(t, &now);
    CU_ASSERT_EQUAL(now.warm_warming, 2);
    CU_ASSERT_EQUAL(now.warm_stopped, 0);
    run_for(w, S(120)); /* 10 s launch + 60 s warm-up + 10 s stop */
    sim_tracker_now(t, &now);
    CU_ASSERT_EQUAL(now.warm_warming, 0);
    CU_ASSERT_EQUAL(now.warm_stopped, 2);
    CU_ASSERT_EQUAL(now.instances_stopped, 2);
    CU_ASSERT_EQUAL(now.launches_cold + now.launches_warm, 0);

    /* Claim one the way the controller does: join user data and the tag while stopped, then
     * start. */
    claim(w, a, "default-ccccc");
    start_stop(w, a, 1);
    run_for(w, S(30));
    sim_tracker_now(t, &now);
    CU_ASSERT_EQUAL(now.warm_stopped, 1);
    CU_ASSERT_EQUAL(now.warm_claimed, 1);
    CU_ASSERT_EQUAL(now.launches_warm, 1);
    sim_tracker_summary(t, &s);
    CU_ASSERT_EQUAL(s.warm_peak, 2);
    CU_ASSERT(s.warm_pool_peak_usd_per_hour > 0.0);
    CU_ASSERT_EQUAL(s.warm_registered_unclaimed, 0);
    CU_ASSERT_EQUAL(s.double_starts, 0);
    CU_ASSERT_EQUAL(s.nodes_ready_total, 1);
    sim_tracker_free(t);
    sim_world_free(w);
}

TESTS_SUITE(sim_tracker, "sim_tracker", NULL, NULL, TESTS_CASE(test_unclaimed_registration),
            TESTS_CASE(test_double_starts), TESTS_CASE(test_warm_phases))
