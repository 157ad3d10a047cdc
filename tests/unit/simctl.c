/*
 * tests/unit/simctl.c — the controller test fixture (see simctl.h).
 *
 * Invariants: everything created by open is freed by close in reverse order; predicates run
 * between loop turns, never inside a callback.
 */
#include "tests/unit/simctl.h"
#include "tests/unit/harness.h"

#include "sim/internal.h"

#include <stdio.h>
#include <string.h>

const char tests_simctl_nodeclass_yaml[] =
    "apiVersion: stoker.dev/v1alpha1\n"
    "kind: EC2NodeClass\n"
    "metadata:\n"
    "  name: default\n"
    "spec:\n"
    "  amiSelectorTerms:\n"
    "  - alias: al2023@latest\n"
    "  subnetSelectorTerms:\n"
    "  - tags:\n"
    "      stoker.dev/discovery: sim\n"
    "  securityGroupSelectorTerms:\n"
    "  - tags:\n"
    "      stoker.dev/discovery: sim\n"
    "  instanceProfile: sim-node\n";

const char tests_simctl_nodepool_yaml[] =
    "apiVersion: stoker.dev/v1alpha1\n"
    "kind: NodePool\n"
    "metadata:\n"
    "  name: default\n"
    "spec:\n"
    "  template:\n"
    "    spec:\n"
    "      nodeClassRef:\n"
    "        group: stoker.dev\n"
    "        kind: EC2NodeClass\n"
    "        name: default\n"
    "      requirements:\n"
    "      - key: kubernetes.io/arch\n"
    "        operator: In\n"
    "        values: [amd64, arm64]\n"
    "      - key: karpenter.sh/capacity-type\n"
    "        operator: In\n"
    "        values: [on-demand]\n";

void tests_simctl_open(struct tests_simctl *s, const struct sim_world_opts *wopts)
{
    struct sim_world_opts def;
    struct core_err err = {0};
    memset(s, 0, sizeof(*s));
    if (!wopts) {
        memset(&def, 0, sizeof(def));
        def.seed = 1;
        wopts = &def;
    }
    if (sim_world_new(wopts, &s->w, &err) != 0)
        fprintf(stderr, "\n  sim_world_new: %s\n", err.message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->w);
    s->log = core_log_new_capture(CORE_LOG_LOGFMT, CORE_LOG_DEBUG, s->w->clock);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->log);
    s->opts.cluster_name = SIM_AWS_CLUSTER;
    s->opts.cluster_endpoint = "https://sim.invalid";
    s->opts.cluster_ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==";
    s->opts.region = SIM_AWS_REGION;
    s->opts.k8s_version = "1.31";
}

int tests_simctl_start(struct tests_simctl *s)
{
    struct core_err err = {0};
    int rc = controller_new(s->w->loop, s->w->k8sc, s->w->awsc, s->log, &s->opts, &s->ctl, &err);
    if (!rc) {
        rc = controller_start(s->ctl, &err);
        if (rc) {
            controller_free(s->ctl);
            s->ctl = NULL;
        }
    }
    if (rc)
        fprintf(stderr, "\n  controller: %s\n", err.message);
    return rc;
}

void tests_simctl_stop(struct tests_simctl *s)
{
    controller_free(s->ctl);
    s->ctl = NULL;
}

void tests_simctl_close(struct tests_simctl *s)
{
    tests_simctl_stop(s);
    sim_world_free(s->w);
    core_log_free(s->log);
    memset(s, 0, sizeof(*s));
}

void tests_simctl_apply(struct tests_simctl *s, const char *yaml)
{
    struct core_err err = {0};
    int rc = sim_world_apply(s->w, yaml, strlen(yaml), "test", &err);
    if (rc)
        fprintf(stderr, "\n  apply: %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

int tests_simctl_until(struct tests_simctl *s, int (*pred)(struct tests_simctl *s, void *ud),
                       void *ud, core_ns timeout)
{
    core_ns deadline = core_loop_now(s->w->loop) + timeout;
    struct core_err err = {0};
    while (!pred(s, ud)) {
        if (core_loop_now(s->w->loop) >= deadline)
            return 0;
        if (core_loop_run_once(s->w->loop, deadline - core_loop_now(s->w->loop), &err) < 0)
            return 0;
    }
    return 1;
}

static int never(struct tests_simctl *s, void *ud)
{
    (void)s;
    (void)ud;
    return 0;
}

void tests_simctl_run(struct tests_simctl *s, core_ns d)
{
    (void)tests_simctl_until(s, never, NULL, d);
}

json_t *tests_simctl_list(struct tests_simctl *s, const char *resource, const char *ns)
{
    json_t *items = NULL;
    if (sim_kube_list(s->w->kube, resource, ns, NULL, NULL, &items, NULL) != 0)
        return json_array();
    return items;
}

size_t tests_simctl_count(struct tests_simctl *s, const char *resource, const char *ns,
                          const char *selector)
{
    json_t *items = NULL;
    if (sim_kube_list(s->w->kube, resource, ns, selector, NULL, &items, NULL) != 0)
        return 0;
    size_t n = json_array_size(items);
    json_decref(items);
    return n;
}

json_t *tests_simctl_get(struct tests_simctl *s, const char *resource, const char *ns,
                         const char *name)
{
    json_t *o = NULL;
    if (sim_kube_get(s->w->kube, resource, ns, name, &o, NULL) != 0)
        return NULL;
    return o;
}

const char *tests_simctl_log(const struct tests_simctl *s)
{
    return core_log_captured(s->log);
}

int tests_simctl_condition(const json_t *obj, const char *type)
{
    json_t *conds = json_object_get(json_object_get(obj, "status"), "conditions");
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *st = json_string_value(json_object_get(c, "status"));
        if (t && st && strcmp(t, type) == 0)
            return strcmp(st, "True") == 0;
    }
    return 0;
}

int tests_simctl_fault(struct tests_simctl *s, const char *item)
{
    struct core_err err = {0};
    int rc = sim_faults_parse(&s->w->aws->opts.faults, item, &err);
    if (rc)
        fprintf(stderr, "\n  fault: %s\n", err.message);
    return rc;
}

static const struct sim_instance *find_instance(struct tests_simctl *s, const char *id)
{
    return id ? sim_instance_find(s->w->aws, id) : NULL;
}

int tests_simctl_instance(struct tests_simctl *s, const char *id,
                          struct tests_simctl_instance *out)
{
    const struct sim_instance *in = find_instance(s, id);
    if (!in)
        return CORE_E_NOTFOUND;
    memset(out, 0, sizeof(*out));
    out->id = in->id;
    out->state = sim_istate_name(in->state);
    out->type = in->type && in->type->t ? in->type->t->name : NULL;
    out->zone = in->subnet ? s->w->aws->zones[in->subnet->zone].name : NULL;
    out->boots = in->boots;
    return 0;
}

const char *tests_simctl_instance_tag(struct tests_simctl *s, const char *id, const char *key)
{
    const struct sim_instance *in = find_instance(s, id);
    for (size_t i = 0; in && i < in->tags.n; i++)
        if (strcmp(in->tags.v[i].key, key) == 0)
            return in->tags.v[i].value ? in->tags.v[i].value : "";
    return NULL;
}

size_t tests_simctl_instances(struct tests_simctl *s, const char *key, const char *value,
                              const char **ids, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < s->w->aws->ninstances; i++) {
        const struct sim_instance *in = s->w->aws->instances[i];
        const char *v;
        if (in->state == SIM_SHUTTING_DOWN || in->state == SIM_TERMINATED)
            continue;
        v = tests_simctl_instance_tag(s, in->id, key);
        if (!v || (value && strcmp(v, value) != 0))
            continue;
        if (n < max)
            ids[n] = in->id;
        n++;
    }
    return n;
}
