/*
 * tests/unit/simaws.h — a test fixture shared by suites that run stoker's own AWS client
 * against the emulated account in-process: a virtual clock and loop, the account (throttling
 * off, a fixed seed), the in-process transport, every endpoint pointed at it, and a client with
 * the account's static keys.
 *
 * Invariants: tests_simaws_open fills everything or fails the running test fatally;
 * tests_simaws_close frees what was made, in the reverse order, and accepts a partly opened
 * fixture.
 */
#ifndef STOKER_TESTS_SIMAWS_H
#define STOKER_TESTS_SIMAWS_H

#include "aws/aws.h"
#include "core/core.h"
#include "sim/sim.h"

#define TESTS_SIMAWS_WALL_START (INT64_C(1790000000) * CORE_NS_PER_S)

struct tests_simaws {
    struct core_clock *clock;
    struct core_loop *loop;
    struct sim_aws *a;
    struct core_http_transport *t;
    struct aws_creds_provider *creds;
    struct aws_config cfg;
    struct aws_client *c;
};

void tests_simaws_open(struct tests_simaws *s);
/* Another client on the same account with the given secret (a wrong one for auth tests). */
int tests_simaws_client(struct tests_simaws *s, const char *secret,
                        struct aws_creds_provider **creds, struct aws_client **c);
void tests_simaws_close(struct tests_simaws *s);
/* Runs the loop until *flag is set (at most 300 s of virtual time). */
void tests_simaws_run(struct tests_simaws *s, const int *flag);

#endif
