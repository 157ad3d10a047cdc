/*
 * sim/world.c — one simulated world: a virtual-clock loop, the emulated account, API server
 * and cluster, and stoker's AWS and Kubernetes clients wired to them in-process. The
 * scenarios of `stoker sim` and the controller's tests start from here.
 *
 * Invariants: sim_world_new builds everything or nothing; sim_world_free frees in reverse
 * order of construction (clients before transports before emulators before the loop) and
 * accepts a partly built world. Nothing here reads a file or the network.
 */
#include "sim/sim.h"

#include "aws/aws.h"
#include "k8s/k8s.h"

#include <string.h>

#define WALL_START_DEFAULT (INT64_C(1793491200) * CORE_NS_PER_S) /* 2026-11-01T00:00:00Z */

static const struct {
    const char *kind;
    const char *resource;
    int namespaced;
} kinds[] = {
    {"Pod", "pods", 1},
    {"Namespace", "namespaces", 0},
    {"Service", "services", 1},
    {"PersistentVolumeClaim", "persistentvolumeclaims", 1},
    {"PersistentVolume", "persistentvolumes", 0},
    {"StorageClass", "storageclasses.storage.k8s.io", 0},
    {"DaemonSet", "daemonsets.apps", 1},
    {"PodDisruptionBudget", "poddisruptionbudgets.policy", 1},
    {"NodePool", "nodepools.stoker.dev", 0},
    {"EC2NodeClass", "ec2nodeclasses.stoker.dev", 0},
    {"NodeClaim", "nodeclaims.stoker.dev", 0},
    {"WarmPool", "warmpools.stoker.dev", 0},
};

const char *sim_world_resource(const char *kind, int *namespaced)
{
    for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kinds[i].kind, kind) == 0) {
            if (namespaced)
                *namespaced = kinds[i].namespaced;
            return kinds[i].resource;
        }
    return NULL;
}

void sim_world_free(struct sim_world *w)
{
    if (!w)
        return;
    k8s_client_free(w->k8sc);
    aws_client_free(w->awsc);
    core_free(w->aws_cfg);
    aws_creds_provider_free(w->creds);
    core_http_transport_free(w->kube_t);
    core_http_transport_free(w->aws_t);
    sim_cluster_free(w->cluster);
    sim_kube_free(w->kube);
    sim_aws_free(w->aws);
    core_loop_free(w->loop);
    core_clock_free(w->clock);
    core_free(w);
}

int sim_world_new(const struct sim_world_opts *opts, struct sim_world **out,
                  struct core_err *err)
{
    struct sim_world_opts def;
    if (!opts) {
        memset(&def, 0, sizeof(def));
        opts = &def;
    }
    if (!out)
        return core_err_set(err, CORE_E_INVAL, "sim_world_new: no out");
    struct sim_world *w = core_calloc(1, sizeof(*w));
    if (!w)
        return CORE_E_NOMEM;
    int rc = 0;
    w->clock = core_clock_virtual_new(0, opts->wall_start ? opts->wall_start : WALL_START_DEFAULT);
    if (!w->clock)
        rc = CORE_E_NOMEM;
    if (!rc)
        rc = core_loop_new(w->clock, NULL, &w->loop, err);
    if (!rc) {
        struct sim_aws_opts ao;
        sim_aws_opts_default(&ao);
        ao.seed = opts->seed;
        ao.faults = opts->faults;
        int any_boot = 0;
        for (size_t i = 0; i < sizeof(opts->boot) && !any_boot; i++)
            any_boot = ((const unsigned char *)&opts->boot)[i] != 0;
        if (any_boot)
            ao.boot = opts->boot;
        rc = sim_aws_new(w->loop, &ao, &w->aws, err);
    }
    if (!rc) {
        struct sim_kube_opts ko;
        sim_kube_opts_default(&ko);
        ko.seed = opts->seed;
        ko.faults = opts->kube_faults;
        rc = sim_kube_new(w->loop, &ko, &w->kube, err);
    }
    if (!rc)
        rc = sim_kube_load_builtin_crds(w->kube, err);
    if (!rc) {
        struct sim_cluster_opts co = {0};
        co.seed = opts->seed;
        co.node_on_stop = opts->node_on_stop;
        co.no_scheduler = opts->no_scheduler;
        rc = sim_cluster_new(w->loop, w->aws, w->kube, &co, &w->cluster, err);
    }
    if (!rc)
        rc = sim_transport_new(w->loop, sim_aws_handle, w->aws, &w->aws_t, err);
    if (!rc)
        rc = sim_transport_new(w->loop, sim_kube_handle, w->kube, &w->kube_t, err);
    if (!rc) {
        struct aws_credentials cr;
        memset(&cr, 0, sizeof(cr));
        cr.access_key_id = (char *)SIM_AWS_ACCESS_KEY_ID;
        cr.secret_access_key = (char *)SIM_AWS_SECRET_ACCESS_KEY;
        rc = aws_creds_static_new(w->loop, &cr, &w->creds, err);
    }
    if (!rc && !(w->aws_cfg = core_calloc(1, sizeof(*w->aws_cfg))))
        rc = CORE_E_NOMEM;
    if (!rc) {
        /* The client keeps a pointer to its configuration: the world owns it. */
        struct aws_config *cfg = w->aws_cfg;
        core_strlcpy(cfg->region, sim_aws_region(w->aws), sizeof(cfg->region));
        for (int i = 0; i < AWS_SVC_COUNT; i++)
            core_strlcpy(cfg->endpoint[i], "http://sim.invalid", sizeof(cfg->endpoint[i]));
        cfg->imds_disabled = 1;
        struct aws_client_opts o;
        memset(&o, 0, sizeof(o));
        o.seed = opts->seed;
        rc = aws_client_new(w->loop, w->aws_t, w->creds, cfg, &o, &w->awsc, err);
    }
    if (!rc) {
        struct k8s_config cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.server = (char *)"http://127.0.0.1"; /* plain HTTP is allowed on loopback only */
        struct k8s_client_opts o;
        memset(&o, 0, sizeof(o));
        o.qps = 1000;
        o.burst = 2000;
        rc = k8s_client_new(w->loop, w->kube_t, &cfg, NULL, &o, &w->k8sc, err);
    }
    if (rc) {
        sim_world_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

int sim_world_apply(struct sim_world *w, const char *yaml, size_t len, const char *what,
                    struct core_err *err)
{
    json_t **docs = NULL;
    size_t ndocs = 0;
    int rc = k8s_yaml_parse(yaml, len, &docs, &ndocs, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < ndocs && !rc; i++) {
        if (!json_is_object(docs[i]))
            continue; /* an empty document */
        const char *kind = json_string_value(json_object_get(docs[i], "kind"));
        int namespaced = 0;
        const char *res = sim_world_resource(kind, &namespaced);
        if (!res) {
            rc = core_err_set(err, CORE_E_INVAL, "%s: document %zu: kind %s is not supported",
                              what ? what : "input", i + 1, kind ? kind : "(none)");
            break;
        }
        const char *ns = NULL;
        if (namespaced) {
            ns = json_string_value(json_object_get(json_object_get(docs[i], "metadata"),
                                                   "namespace"));
            if (!ns)
                ns = "default";
        }
        rc = sim_kube_create(w->kube, res, ns, docs[i], NULL, err);
        if (rc && err) {
            char msg[sizeof(err->message)];
            core_strlcpy(msg, err->message, sizeof(msg));
            core_err_set(err, rc, "%s: document %zu (%s): %.400s", what ? what : "input", i + 1,
                         kind, msg);
        }
    }
    k8s_yaml_docs_free(docs, ndocs);
    return rc;
}
