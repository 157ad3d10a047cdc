/*
 * tests/unit/simaws.c — the shared fixture of tests/unit/simaws.h: stoker's AWS client against
 * the emulated account on a virtual clock.
 */
#include "tests/unit/simaws.h"
#include "tests/unit/harness.h"

#include <stdio.h>
#include <string.h>

int tests_simaws_client(struct tests_simaws *s, const char *secret,
                        struct aws_creds_provider **creds, struct aws_client **c)
{
    struct aws_credentials cr = {(char *)SIM_AWS_ACCESS_KEY_ID, (char *)(uintptr_t)secret, NULL,
                                 0};
    struct aws_client_opts opts;
    struct core_err err;

    memset(&opts, 0, sizeof opts);
    opts.seed = 3;
    opts.max_attempts = 2;
    if (aws_creds_static_new(s->loop, &cr, creds, &err) != 0 ||
        aws_client_new(s->loop, s->t, *creds, &s->cfg, &opts, c, &err) != 0) {
        fprintf(stderr, "\n  client: %s\n", err.message);
        return -1;
    }
    return 0;
}

void tests_simaws_open(struct tests_simaws *s)
{
    struct sim_aws_opts o;
    struct core_err err;

    memset(s, 0, sizeof *s);
    s->clock = core_clock_virtual_new(0, TESTS_SIMAWS_WALL_START);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(s->clock, NULL, &s->loop, NULL), 0);
    sim_aws_opts_default(&o);
    o.seed = 42;
    o.faults.throttle = 0;
    if (sim_aws_new(s->loop, &o, &s->a, &err) != 0)
        fprintf(stderr, "\n  sim_aws_new: %s\n", err.message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->a);
    CU_ASSERT_EQUAL_FATAL(sim_transport_new(s->loop, sim_aws_handle, s->a, &s->t, NULL), 0);
    core_strlcpy(s->cfg.region, SIM_AWS_REGION, sizeof s->cfg.region);
    for (int i = 0; i < AWS_SVC_COUNT; i++)
        core_strlcpy(s->cfg.endpoint[i], "http://sim.invalid", sizeof s->cfg.endpoint[i]);
    s->cfg.imds_disabled = 1;
    CU_ASSERT_EQUAL_FATAL(tests_simaws_client(s, SIM_AWS_SECRET_ACCESS_KEY, &s->creds, &s->c), 0);
}

void tests_simaws_close(struct tests_simaws *s)
{
    aws_client_free(s->c);
    aws_creds_provider_free(s->creds);
    core_http_transport_free(s->t);
    sim_aws_free(s->a);
    core_loop_free(s->loop);
    core_clock_free(s->clock);
    memset(s, 0, sizeof *s);
}

void tests_simaws_run(struct tests_simaws *s, const int *flag)
{
    struct core_err err;
    CU_ASSERT_EQUAL(core_loop_run_until(s->loop, flag,
                                        core_loop_now(s->loop) + 300 * CORE_NS_PER_S, &err),
                    0);
}
