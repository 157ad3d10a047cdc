/*
 * tests/integration/test_sim_client.c — stoker's own AWS client against the emulator over
 * real HTTP: the loopback server (libmicrohttpd, driven from the loop) and the curl transport
 * share one real-clock loop. The same round trips as the AWS CLI acceptance test: describe
 * subnets, images, instance types and offerings, read the AL2023 SSM parameter, run an
 * instance, wait for running, stop it, replace its user data while stopped, start it, terminate
 * it. The boot model is shortened so the instance moves in fractions of a second.
 */
#include "tests/unit/harness.h"

#include "aws/aws.h"
#include "core/core.h"
#include "sim/sim.h"

#include <stdio.h>
#include <string.h>

#define SEC CORE_NS_PER_S

struct fx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct sim_aws *a;
    struct sim_server *srv;
    struct core_http_transport *t;
    struct aws_creds_provider *creds;
    struct aws_config cfg;
    struct aws_client *c;
};

/* One answer of any kind: flags, code, and the few facts the test reads. */
struct res {
    int done, rc;
    int expect_error; /* do not print the failure */
    struct core_err err;
    size_t n;
    char id[64];
    char state[32];
    char zone[32];
    char subnet[64];
    char private_ip[32];
};

static void res_reset(struct res *r)
{
    memset(r, 0, sizeof *r);
}

static void finish(struct res *r, int rc, const struct core_err *err)
{
    r->done = 1;
    r->rc = rc;
    if (err)
        r->err = *err;
}

static void on_subnets(void *ud, int rc, const struct aws_ec2_subnets *s,
                       const struct core_err *err)
{
    struct res *r = ud;
    if (s) {
        r->n = s->n;
        for (size_t i = 0; i < s->n; i++)
            if (s->v[i].available_ips > 1000 && !r->subnet[0]) {
                core_strlcpy(r->subnet, s->v[i].subnet_id, sizeof r->subnet);
                core_strlcpy(r->zone, s->v[i].availability_zone, sizeof r->zone);
            }
    }
    finish(r, rc, err);
}

static void on_images(void *ud, int rc, const struct aws_ec2_images *im,
                      const struct core_err *err)
{
    struct res *r = ud;
    if (im) {
        r->n = im->n;
        if (im->n)
            core_strlcpy(r->id, im->v[0].image_id, sizeof r->id);
    }
    finish(r, rc, err);
}

static void on_types(void *ud, int rc, const struct aws_ec2_instance_types *t,
                     const struct core_err *err)
{
    struct res *r = ud;
    if (t && t->n == 1) {
        r->n = (size_t)t->v[0].vcpus;
        core_strlcpy(r->id, t->v[0].instance_type, sizeof r->id);
    }
    finish(r, rc, err);
}

static void on_offerings(void *ud, int rc, const struct aws_ec2_offerings *o,
                         const struct core_err *err)
{
    struct res *r = ud;
    if (o) {
        r->n = o->n;
        if (o->n)
            core_strlcpy(r->zone, o->v[0].location, sizeof r->zone);
    }
    finish(r, rc, err);
}

static void on_ssm(void *ud, int rc, const struct aws_ssm_parameters *p,
                   const struct core_err *err)
{
    struct res *r = ud;
    if (p && p->n == 1)
        core_strlcpy(r->id, p->v[0].value, sizeof r->id);
    finish(r, rc, err);
}

static void on_instances(void *ud, int rc, const struct aws_ec2_instances *in,
                         const struct core_err *err)
{
    struct res *r = ud;
    if (in) {
        r->n = in->n;
        if (in->n) {
            core_strlcpy(r->id, in->v[0].instance_id, sizeof r->id);
            core_strlcpy(r->state, in->v[0].state_name ? in->v[0].state_name : "",
                         sizeof r->state);
            core_strlcpy(r->private_ip, in->v[0].private_ip ? in->v[0].private_ip : "",
                         sizeof r->private_ip);
        }
    }
    finish(r, rc, err);
}

static void on_changes(void *ud, int rc, const struct aws_ec2_state_changes *sc,
                       const struct core_err *err)
{
    struct res *r = ud;
    if (sc && sc->n == 1)
        core_strlcpy(r->state, sc->v[0].current_name, sizeof r->state);
    finish(r, rc, err);
}

static void on_done(void *ud, int rc, const struct core_err *err)
{
    finish(ud, rc, err);
}

static void wait_for(struct fx *f, struct res *r)
{
    struct core_err err;
    int rc = core_loop_run_until(f->loop, &r->done, core_loop_now(f->loop) + 20 * SEC, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (r->rc && !r->expect_error)
        fprintf(stderr, "\n  call failed: %s\n", r->err.message);
}

static int fx_setup(struct fx *f)
{
    struct sim_aws_opts o;
    struct sim_server_opts so;
    struct aws_credentials cr = {(char *)SIM_AWS_ACCESS_KEY_ID,
                                 (char *)SIM_AWS_SECRET_ACCESS_KEY, NULL, 0};
    struct core_err err;
    char url[64];
    static const char *const quick[] = {"launch=200ms/0", "start=200ms/0", "stop=200ms/0",
                                        "terminate=200ms/0"};

    memset(f, 0, sizeof *f);
    f->clock = core_clock_real_new();
    if (!f->clock || core_loop_new(f->clock, NULL, &f->loop, &err) != 0)
        return -1;
    sim_aws_opts_default(&o);
    for (size_t i = 0; i < sizeof quick / sizeof *quick; i++)
        if (sim_boot_model_set(&o.boot, quick[i], &err) != 0)
            return -1;
    memset(&so, 0, sizeof so);
    if (sim_aws_new(f->loop, &o, &f->a, &err) != 0 ||
        sim_server_new(f->loop, &so, sim_aws_handle, f->a, &f->srv, &err) != 0 ||
        core_http_curl_new(f->loop, NULL, &f->t, &err) != 0 ||
        aws_creds_static_new(f->loop, &cr, &f->creds, &err) != 0) {
        fprintf(stderr, "\n  setup: %s\n", err.message);
        return -1;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)sim_server_port(f->srv));
    core_strlcpy(f->cfg.region, SIM_AWS_REGION, sizeof f->cfg.region);
    for (int i = 0; i < AWS_SVC_COUNT; i++)
        core_strlcpy(f->cfg.endpoint[i], url, sizeof f->cfg.endpoint[i]);
    f->cfg.imds_disabled = 1;
    if (aws_client_new(f->loop, f->t, f->creds, &f->cfg, NULL, &f->c, &err) != 0) {
        fprintf(stderr, "\n  client: %s\n", err.message);
        return -1;
    }
    return 0;
}

static void fx_teardown(struct fx *f)
{
    aws_client_free(f->c);
    aws_creds_provider_free(f->creds);
    core_http_transport_free(f->t);
    sim_server_free(f->srv);
    sim_aws_free(f->a);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

/* Describes the instance until it reaches `want` (or 10 s pass). */
static void wait_state(struct fx *f, const char *id, const char *want, struct res *r)
{
    core_ns deadline = core_loop_now(f->loop) + 10 * SEC;
    const char *ids[1] = {id};
    struct aws_ec2_describe_instances_req req;

    memset(&req, 0, sizeof req);
    req.instance_ids = ids;
    req.ninstance_ids = 1;
    req.retry_not_found = 1;
    do {
        res_reset(r);
        CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instances(f->c, &req, on_instances, r, NULL), 0);
        wait_for(f, r);
        if (strcmp(r->state, want) == 0)
            return;
        {
            int never = 0;
            struct core_err err;
            /* Poll every 100 ms, on the loop (the server is served by the same loop). */
            if (core_loop_run_until(f->loop, &never, core_loop_now(f->loop) + SEC / 10, &err) !=
                CORE_E_TIMEOUT)
                break;
        }
    } while (core_loop_now(f->loop) < deadline);
    CU_ASSERT_STRING_EQUAL(r->state, want);
}

static void test_client_round_trips(void)
{
    struct fx f;
    struct res r, net;
    char image[64], type_zone[32], id[64], ip[32];
    const char *name_vals[] = {"amazon-eks-node-al2023-x86_64-standard-1.31-*"};
    const char *owners[] = {"amazon"};
    struct aws_ec2_filter name_f = {"name", name_vals, 1};
    const char *types[] = {"m5.large"};
    const char *type_vals[] = {"m5.large"};
    struct aws_ec2_filter type_f = {"instance-type", type_vals, 1};
    struct aws_ec2_tag tag = {(char *)"stoker.dev/nodepool", (char *)"general"};
    struct aws_ec2_tag_spec ts = {"instance", &tag, 1};
    const char *ud = "#!/bin/sh\necho warm\n";
    const char *ud2 = "#!/bin/sh\necho join\n";

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f), 0);

    /* Subnets in at least three zones. */
    {
        struct aws_ec2_describe_subnets_req req = {0};
        res_reset(&net);
        CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_subnets(f.c, &req, on_subnets, &net, NULL), 0);
        wait_for(&f, &net);
        CU_ASSERT_EQUAL(net.rc, 0);
        CU_ASSERT(net.n >= 3);
    }
    /* The AL2023 1.31 images, and the SSM parameter pointing at the newest. */
    {
        struct aws_ec2_describe_images_req req = {0};
        req.owners = owners;
        req.nowners = 1;
        req.filters = &name_f;
        req.nfilters = 1;
        res_reset(&r);
        CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_images(f.c, &req, on_images, &r, NULL), 0);
        wait_for(&f, &r);
        CU_ASSERT_EQUAL(r.rc, 0);
        CU_ASSERT(r.n >= 2); /* releases not deprecated */
        res_reset(&r);
        CU_ASSERT_EQUAL_FATAL(
            aws_ssm_get_parameter(f.c,
                                  "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/"
                                  "standard/recommended/image_id",
                                  on_ssm, &r, NULL),
            0);
        wait_for(&f, &r);
        CU_ASSERT_EQUAL(r.rc, 0);
        CU_ASSERT_EQUAL(strncmp(r.id, "ami-", 4), 0);
        core_strlcpy(image, r.id, sizeof image);
    }
    /* m5.large as the catalog has it, and a zone that offers it. */
    {
        struct aws_ec2_describe_instance_types_req req = {0};
        struct aws_ec2_describe_instance_type_offerings_req oreq = {0};
        req.instance_types = types;
        req.ninstance_types = 1;
        res_reset(&r);
        CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instance_types(f.c, &req, on_types, &r, NULL), 0);
        wait_for(&f, &r);
        CU_ASSERT_STRING_EQUAL(r.id, "m5.large");
        CU_ASSERT_EQUAL(r.n, 2);
        oreq.location_type = "availability-zone";
        oreq.filters = &type_f;
        oreq.nfilters = 1;
        res_reset(&r);
        CU_ASSERT_EQUAL_FATAL(
            aws_ec2_describe_instance_type_offerings(f.c, &oreq, on_offerings, &r, NULL), 0);
        wait_for(&f, &r);
        CU_ASSERT(r.n >= 1);
        core_strlcpy(type_zone, r.zone, sizeof type_zone);
    }
    /* A subnet in that zone. */
    {
        const char *zone_vals[] = {type_zone};
        struct aws_ec2_filter zf = {"availability-zone", zone_vals, 1};
        struct aws_ec2_describe_subnets_req req = {0};
        req.filters = &zf;
        req.nfilters = 1;
        res_reset(&net);
        CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_subnets(f.c, &req, on_subnets, &net, NULL), 0);
        wait_for(&f, &net);
        CU_ASSERT_STRING_EQUAL(net.zone, type_zone);
    }
    /* Run, and watch it come up. */
    {
        struct aws_ec2_run_instances_req req = {0};
        req.image_id = image;
        req.instance_type = "m5.large";
        req.min_count = 1;
        req.max_count = 1;
        req.subnet_id = net.subnet;
        req.user_data = ud;
        req.user_data_len = strlen(ud);
        req.tag_specs = &ts;
        req.ntag_specs = 1;
        req.client_token = "round-trip-1";
        res_reset(&r);
        CU_ASSERT_EQUAL_FATAL(aws_ec2_run_instances(f.c, &req, on_instances, &r, NULL), 0);
        wait_for(&f, &r);
        CU_ASSERT_EQUAL_FATAL(r.rc, 0);
        CU_ASSERT_STRING_EQUAL(r.state, "pending");
        core_strlcpy(id, r.id, sizeof id);
        core_strlcpy(ip, r.private_ip, sizeof ip);
        CU_ASSERT(ip[0] != '\0');
    }
    wait_state(&f, id, "running", &r);
    /* User data cannot change while running. */
    {
        struct aws_ec2_modify_instance_attribute_req req = {id, ud2, strlen(ud2)};
        res_reset(&r);
        r.expect_error = 1;
        CU_ASSERT_EQUAL_FATAL(aws_ec2_modify_instance_attribute(f.c, &req, on_done, &r, NULL),
                              0);
        wait_for(&f, &r);
        CU_ASSERT_EQUAL(r.rc, CORE_E_SERVICE);
        CU_ASSERT_STRING_EQUAL(r.err.service_code, "IncorrectInstanceState");
    }
    /* Stop; the private IP stays; the user data can change now; start again. */
    {
        const char *ids[1] = {id};
        struct aws_ec2_stop_instances_req sreq = {ids, 1, 0, 0};
        struct aws_ec2_start_instances_req streq = {ids, 1};
        struct aws_ec2_modify_instance_attribute_req mreq = {id, ud2, strlen(ud2)};
        res_reset(&r);
        CU_ASSERT_EQUAL_FATAL(aws_ec2_stop_instances(f.c, &sreq, on_changes, &r, NULL), 0);
        wait_for(&f, &r);
        CU_ASSERT_STRING_EQUAL(r.state, "stopping");
        wait_state(&f, id, "stopped", &r);
        CU_ASSERT_STRING_EQUAL(r.private_ip, ip);
        res_reset(&r);
        CU_ASSERT_EQUAL_FATAL(aws_ec2_modify_instance_attribute(f.c, &mreq, on_done, &r, NULL),
                              0);
        wait_for(&f, &r);
        CU_ASSERT_EQUAL(r.rc, 0);
        res_reset(&r);
        CU_ASSERT_EQUAL_FATAL(aws_ec2_start_instances(f.c, &streq, on_changes, &r, NULL), 0);
        wait_for(&f, &r);
        CU_ASSERT_STRING_EQUAL(r.state, "pending");
        wait_state(&f, id, "running", &r);
        CU_ASSERT_STRING_EQUAL(r.private_ip, ip);
    }
    /* Terminate. */
    {
        const char *ids[1] = {id};
        struct aws_ec2_terminate_instances_req treq = {ids, 1};
        res_reset(&r);
        CU_ASSERT_EQUAL_FATAL(aws_ec2_terminate_instances(f.c, &treq, on_changes, &r, NULL), 0);
        wait_for(&f, &r);
        CU_ASSERT_STRING_EQUAL(r.state, "shutting-down");
        wait_state(&f, id, "terminated", &r);
    }
    fx_teardown(&f);
}

TESTS_SUITE(sim_client, "sim_client", NULL, NULL, TESTS_CASE(test_client_round_trips))
