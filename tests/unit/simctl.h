/*
 * tests/unit/simctl.h — a fixture for the controller's tests: a simulated world (sim_world:
 * virtual clock, emulated EC2/SSM, API server and cluster, stoker's clients wired in-process)
 * and a controller on it, with helpers to create objects and to run virtual time until
 * something holds.
 *
 * Invariants: tests_simctl_open fills everything or fails the running test fatally;
 * tests_simctl_close frees the controller before the world and accepts a partly opened
 * fixture. Logs go to a capture logger the tests can read (tests_simctl_log).
 */
#ifndef STOKER_TESTS_SIMCTL_H
#define STOKER_TESTS_SIMCTL_H

#include "controller/controller.h"
#include "core/core.h"
#include "sim/sim.h"

#include <jansson.h>

/* A Ready-able EC2NodeClass "default" (AL2023, the emulator's discovery tags, instance profile
 * "sim-node") and a NodePool "default" using it (on-demand, amd64 and arm64, no limits). */
extern const char tests_simctl_nodeclass_yaml[];
extern const char tests_simctl_nodepool_yaml[];

struct tests_simctl {
    struct sim_world *w;
    struct core_log *log;
    struct controller_opts opts;   /* filled with defaults by open; edit before start */
    struct controller *ctl;
};

/* wopts may be NULL (seed 1, no faults). The controller is not created yet. */
void tests_simctl_open(struct tests_simctl *s, const struct sim_world_opts *wopts);
/* controller_new + controller_start with s->opts. 0 or the error (printed). */
int tests_simctl_start(struct tests_simctl *s);
/* Frees the controller only (a crash or restart); the world goes on. */
void tests_simctl_stop(struct tests_simctl *s);
void tests_simctl_close(struct tests_simctl *s);

/* Creates the objects of a YAML stream; fails the test on error. */
void tests_simctl_apply(struct tests_simctl *s, const char *yaml);
/* Runs the loop until pred(s, ud) is true, checking after every loop turn, for at most
 * `timeout` of virtual time. Returns 1 when it held, 0 on timeout. */
int tests_simctl_until(struct tests_simctl *s, int (*pred)(struct tests_simctl *s, void *ud),
                       void *ud, core_ns timeout);
/* Runs `d` of virtual time. */
void tests_simctl_run(struct tests_simctl *s, core_ns d);
/* Counts the objects of a resource ("pods", "nodeclaims.stoker.dev", ...) in ns (NULL = all)
 * matching a label selector (may be NULL). */
size_t tests_simctl_count(struct tests_simctl *s, const char *resource, const char *ns,
                          const char *selector);
/* The object, a new reference (json_decref), or NULL. */
json_t *tests_simctl_get(struct tests_simctl *s, const char *resource, const char *ns,
                         const char *name);
/* Every object of a resource: a new JSON array reference. */
json_t *tests_simctl_list(struct tests_simctl *s, const char *resource, const char *ns);
/* The captured log. */
const char *tests_simctl_log(const struct tests_simctl *s);
/* Whether the condition `type` of obj's status is "True". */
int tests_simctl_condition(const json_t *obj, const char *type);

/* Adds a fault item (sim_faults_parse syntax, e.g. "ice=m5.large@us-east-1a") to the running
 * emulated account: it applies to requests answered from now on. 0, or the parse error. */
int tests_simctl_fault(struct tests_simctl *s, const char *item);
/* An emulated instance as the account holds it (no DescribeInstances, no consistency delay):
 * its state name ("stopped", ...), the value of tag `key` (NULL when absent) and how many
 * times it went pending -> running. 0, or CORE_E_NOTFOUND. Strings are borrowed until the
 * loop turns. */
struct tests_simctl_instance {
    const char *id, *state, *type, *zone;
    unsigned boots;
};
int tests_simctl_instance(struct tests_simctl *s, const char *id,
                          struct tests_simctl_instance *out);
const char *tests_simctl_instance_tag(struct tests_simctl *s, const char *id, const char *key);
/* The ids of live (not shutting-down or terminated) emulated instances carrying tag key
 * (= value when value is not NULL), in launch order, up to max; returns how many there are. */
size_t tests_simctl_instances(struct tests_simctl *s, const char *key, const char *value,
                              const char **ids, size_t max);

#endif
