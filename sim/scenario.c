/*
 * sim/scenario.c — the built-in scenarios of `stoker sim --scenario`: for each, the objects a
 * cluster starts with (YAML), the workloads that create pods over virtual time and the faults
 * of its world, all as static data; plus turning a scenario into world options and setting it
 * up on a world.
 *
 * Invariants: the catalog is constant data (no state, nothing allocated until setup); every
 * scenario's YAML applies to a fresh world (a unit test applies each one); the EC2NodeClass
 * selectors use the discovery tag the emulated account puts on its subnets and security groups
 * (stoker.dev/discovery=<cluster>, cluster "sim"); the faults are sim_faults_parse items, so a
 * scenario cannot carry a fault the emulator would refuse. sim_cluster_add_workload copies the
 * pod template, so the JSON parsed here lives only for the call.
 */
#include "sim/sim.h"

#include <string.h>

#define MIN(x) ((core_ns)(x) * 60 * CORE_NS_PER_S)
#define SEC(x) ((core_ns)(x) * CORE_NS_PER_S)
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------------------------ */
/* Shared objects                                                                              */
/* ------------------------------------------------------------------------------------------ */

#define NODECLASS_DEFAULT                                                                      \
    "apiVersion: stoker.dev/v1alpha1\n"                                                        \
    "kind: EC2NodeClass\n"                                                                     \
    "metadata:\n"                                                                              \
    "  name: default\n"                                                                        \
    "spec:\n"                                                                                  \
    "  amiSelectorTerms:\n"                                                                    \
    "  - alias: al2023@latest\n"                                                               \
    "  subnetSelectorTerms:\n"                                                                 \
    "  - tags:\n"                                                                              \
    "      stoker.dev/discovery: sim\n"                                                        \
    "  securityGroupSelectorTerms:\n"                                                          \
    "  - tags:\n"                                                                              \
    "      stoker.dev/discovery: sim\n"                                                        \
    "  instanceProfile: sim-node\n"

#define NODEPOOL_DEFAULT                                                                       \
    "apiVersion: stoker.dev/v1alpha1\n"                                                        \
    "kind: NodePool\n"                                                                         \
    "metadata:\n"                                                                              \
    "  name: default\n"                                                                        \
    "spec:\n"                                                                                  \
    "  template:\n"                                                                            \
    "    spec:\n"                                                                              \
    "      nodeClassRef:\n"                                                                    \
    "        group: stoker.dev\n"                                                              \
    "        kind: EC2NodeClass\n"                                                             \
    "        name: default\n"                                                                  \
    "      requirements:\n"                                                                    \
    "      - key: kubernetes.io/arch\n"                                                        \
    "        operator: In\n"                                                                   \
    "        values: [amd64, arm64]\n"                                                         \
    "      - key: karpenter.sh/capacity-type\n"                                                \
    "        operator: In\n"                                                                   \
    "        values: [on-demand]\n"

#define POD_WEB                                                                                \
    "{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"web\","  \
    "\"image\":\"public.ecr.aws/nginx/nginx:1.27\",\"resources\":{\"requests\":"              \
    "{\"cpu\":\"500m\",\"memory\":\"1Gi\"}}}]}}"

/* ------------------------------------------------------------------------------------------ */
/* steady                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static const struct sim_workload_step steady_web_steps[] = {
    {0, 20}, {MIN(5), 40}, {MIN(15), 30}};
static const struct sim_scenario_workload steady_workloads[] = {
    {"web", "default", POD_WEB, 0, NULL, steady_web_steps, COUNT(steady_web_steps)},
};

/* ------------------------------------------------------------------------------------------ */
/* flash-sale                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* A WarmPool for the default NodePool goes here once warm pools exist (#10): the point of the
 * scenario is to compare the burst's pod wait with the pool off, sized by policy, and advised. */
static const char flash_objects[] = NODECLASS_DEFAULT "---\n" NODEPOOL_DEFAULT;

static const struct sim_workload_step flash_base_steps[] = {{0, 30}};
static const struct sim_workload_step flash_burst_steps[] = {
    {0, 0}, {MIN(10), 600}, {MIN(10) + SEC(20), 1200}, {MIN(10) + SEC(40), 1500}, {MIN(25), 100}};
static const struct sim_scenario_workload flash_workloads[] = {
    {"baseline", "default",
     "{\"metadata\":{\"labels\":{\"app\":\"baseline\"}},\"spec\":{\"containers\":[{\"name\":"
     "\"app\",\"image\":\"public.ecr.aws/nginx/nginx:1.27\",\"resources\":{\"requests\":"
     "{\"cpu\":\"250m\",\"memory\":\"512Mi\"}}}]}}",
     0, NULL, flash_base_steps, COUNT(flash_base_steps)},
    {"checkout", "default",
     "{\"metadata\":{\"labels\":{\"app\":\"checkout\"}},\"spec\":{\"containers\":[{\"name\":"
     "\"app\",\"image\":\"public.ecr.aws/nginx/nginx:1.27\",\"resources\":{\"requests\":"
     "{\"cpu\":\"1\",\"memory\":\"2Gi\"}}}]}}",
     0, NULL, flash_burst_steps, COUNT(flash_burst_steps)},
};

/* ------------------------------------------------------------------------------------------ */
/* pvc-zones                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* One pre-bound claim/volume pair of the "pinned" StatefulSet-like workload: the claim is
 * named as the workload names its claims (data-<name>-<n>), so the workload finds it and
 * never creates its own; the volume pins us-east-1b. */
#define PINNED(n)                                                                              \
    "---\n"                                                                                    \
    "apiVersion: v1\n"                                                                         \
    "kind: PersistentVolume\n"                                                                 \
    "metadata:\n"                                                                              \
    "  name: pv-pinned-" #n "\n"                                                               \
    "spec:\n"                                                                                  \
    "  capacity:\n"                                                                            \
    "    storage: 10Gi\n"                                                                      \
    "  accessModes: [ReadWriteOnce]\n"                                                         \
    "  persistentVolumeReclaimPolicy: Retain\n"                                                \
    "  storageClassName: gp3\n"                                                                \
    "  claimRef:\n"                                                                            \
    "    apiVersion: v1\n"                                                                     \
    "    kind: PersistentVolumeClaim\n"                                                        \
    "    namespace: default\n"                                                                 \
    "    name: data-pinned-" #n "\n"                                                           \
    "  csi:\n"                                                                                 \
    "    driver: ebs.csi.aws.com\n"                                                            \
    "    volumeHandle: vol-0b0000000000000" #n "0\n"                                           \
    "  nodeAffinity:\n"                                                                        \
    "    required:\n"                                                                          \
    "      nodeSelectorTerms:\n"                                                               \
    "      - matchExpressions:\n"                                                              \
    "        - key: topology.ebs.csi.aws.com/zone\n"                                           \
    "          operator: In\n"                                                                 \
    "          values: [us-east-1b]\n"                                                         \
    "      - matchExpressions:\n"                                                              \
    "        - key: topology.kubernetes.io/zone\n"                                             \
    "          operator: In\n"                                                                 \
    "          values: [us-east-1b]\n"                                                         \
    "---\n"                                                                                    \
    "apiVersion: v1\n"                                                                         \
    "kind: PersistentVolumeClaim\n"                                                            \
    "metadata:\n"                                                                              \
    "  name: data-pinned-" #n "\n"                                                             \
    "  namespace: default\n"                                                                   \
    "spec:\n"                                                                                  \
    "  accessModes: [ReadWriteOnce]\n"                                                         \
    "  storageClassName: gp3\n"                                                                \
    "  volumeName: pv-pinned-" #n "\n"                                                         \
    "  resources:\n"                                                                           \
    "    requests:\n"                                                                          \
    "      storage: 10Gi\n"

static const char pvc_objects[] =
    NODECLASS_DEFAULT "---\n" NODEPOOL_DEFAULT
    "---\n"
    "apiVersion: storage.k8s.io/v1\n"
    "kind: StorageClass\n"
    "metadata:\n"
    "  name: gp3\n"
    "provisioner: ebs.csi.aws.com\n"
    "volumeBindingMode: WaitForFirstConsumer\n"
    "reclaimPolicy: Delete\n"
    "parameters:\n"
    "  type: gp3\n"
    PINNED(0) PINNED(1) PINNED(2) PINNED(3) PINNED(4) PINNED(5);

static const struct sim_workload_step pvc_db_steps[] = {{0, 12}, {MIN(12), 0}, {MIN(14), 12}};
static const struct sim_workload_step pvc_pinned_steps[] = {{0, 6}};
static const struct sim_scenario_workload pvc_workloads[] = {
    {"db", "default",
     "{\"metadata\":{\"labels\":{\"app\":\"db\"}},\"spec\":{\"containers\":[{\"name\":\"db\","
     "\"image\":\"public.ecr.aws/docker/library/postgres:16\",\"resources\":{\"requests\":"
     "{\"cpu\":\"1\",\"memory\":\"2Gi\"}}}]}}",
     1, "gp3", pvc_db_steps, COUNT(pvc_db_steps)},
    {"pinned", "default",
     "{\"metadata\":{\"labels\":{\"app\":\"pinned\"}},\"spec\":{\"containers\":[{\"name\":"
     "\"app\",\"image\":\"public.ecr.aws/docker/library/redis:7\",\"resources\":{\"requests\":"
     "{\"cpu\":\"500m\",\"memory\":\"1Gi\"}}}]}}",
     1, "gp3", pvc_pinned_steps, COUNT(pvc_pinned_steps)},
};

/* ------------------------------------------------------------------------------------------ */
/* gpu-mix                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static const char gpu_objects[] =
    NODECLASS_DEFAULT "---\n" NODEPOOL_DEFAULT
    "---\n"
    "apiVersion: stoker.dev/v1alpha1\n"
    "kind: NodePool\n"
    "metadata:\n"
    "  name: gpu\n"
    "spec:\n"
    "  template:\n"
    "    spec:\n"
    "      nodeClassRef:\n"
    "        group: stoker.dev\n"
    "        kind: EC2NodeClass\n"
    "        name: default\n"
    "      taints:\n"
    "      - key: nvidia.com/gpu\n"
    "        value: \"true\"\n"
    "        effect: NoSchedule\n"
    "      requirements:\n"
    "      - key: karpenter.k8s.aws/instance-category\n"
    "        operator: In\n"
    "        values: [g, p]\n"
    "      - key: karpenter.sh/capacity-type\n"
    "        operator: In\n"
    "        values: [on-demand]\n";

static const struct sim_workload_step gpu_train_steps[] = {{0, 8}};
static const struct sim_workload_step gpu_arm_steps[] = {{0, 20}};
static const struct sim_workload_step gpu_web_steps[] = {{0, 20}};
static const struct sim_scenario_workload gpu_workloads[] = {
    {"train", "default",
     "{\"metadata\":{\"labels\":{\"app\":\"train\"}},\"spec\":{\"tolerations\":[{\"key\":"
     "\"nvidia.com/gpu\",\"operator\":\"Equal\",\"value\":\"true\",\"effect\":\"NoSchedule\"}],"
     "\"containers\":[{\"name\":\"cuda\",\"image\":\"nvidia/cuda:12.4.1-base-ubuntu22.04\","
     "\"resources\":{\"requests\":{\"cpu\":\"2\",\"memory\":\"8Gi\",\"nvidia.com/gpu\":\"1\"},"
     "\"limits\":{\"nvidia.com/gpu\":\"1\"}}}]}}",
     0, NULL, gpu_train_steps, COUNT(gpu_train_steps)},
    {"arm", "default",
     "{\"metadata\":{\"labels\":{\"app\":\"arm\"}},\"spec\":{\"nodeSelector\":"
     "{\"kubernetes.io/arch\":\"arm64\"},\"containers\":[{\"name\":\"app\",\"image\":"
     "\"public.ecr.aws/docker/library/busybox:1.36\",\"resources\":{\"requests\":"
     "{\"cpu\":\"1\",\"memory\":\"2Gi\"}}}]}}",
     0, NULL, gpu_arm_steps, COUNT(gpu_arm_steps)},
    {"web", "default", POD_WEB, 0, NULL, gpu_web_steps, COUNT(gpu_web_steps)},
};

/* ------------------------------------------------------------------------------------------ */
/* chaos                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static const char steady_objects[] = NODECLASS_DEFAULT "---\n" NODEPOOL_DEFAULT;

static const struct sim_workload_step chaos_web_steps[] = {{0, 0}, {MIN(1), 300}};
static const struct sim_scenario_workload chaos_workloads[] = {
    {"web", "default", POD_WEB, 0, NULL, chaos_web_steps, COUNT(chaos_web_steps)},
};
/* ICE rules are per exact type: the cheap general-purpose and compute types a 500m/1Gi
 * workload packs onto, all in one zone, so launches must fall back to other types or zones. */
static const char *const chaos_faults[] = {
    "ice=c6i.large@us-east-1a",  "ice=c6i.xlarge@us-east-1a", "ice=c6a.large@us-east-1a",
    "ice=c6a.xlarge@us-east-1a", "ice=c7a.large@us-east-1a",  "ice=m6a.large@us-east-1a",
    "ice=m7a.large@us-east-1a",  "ice=t3.large@us-east-1a",   "error-rate=0.02",
    "throttle=on",
};

/* ------------------------------------------------------------------------------------------ */
/* scale-20k                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* The simulated scheduler has no topology spread, so the ~4,000 nodes come from sizes: a
 * NodePool of 4-vCPU types only (about 3.9 CPU allocatable) and pods of 700m / 1Gi, five to a
 * node (a sixth would need 4.2 CPU). */
static const char scale_objects[] =
    NODECLASS_DEFAULT "---\n"
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
    "        values: [on-demand]\n"
    "      - key: karpenter.k8s.aws/instance-cpu\n"
    "        operator: In\n"
    "        values: [\"4\"]\n";

static const struct sim_workload_step scale_steps[] = {
    {0, 0}, {MIN(1), 5000}, {MIN(1) + SEC(30), 20000}};
static const struct sim_scenario_workload scale_workloads[] = {
    {"web", "default",
     "{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"web\","
     "\"image\":\"public.ecr.aws/nginx/nginx:1.27\",\"resources\":{\"requests\":"
     "{\"cpu\":\"700m\",\"memory\":\"1Gi\"}}}]}}",
     0, NULL, scale_steps, COUNT(scale_steps)},
};

/* ------------------------------------------------------------------------------------------ */
/* The catalog                                                                                 */
/* ------------------------------------------------------------------------------------------ */

static const struct sim_scenario scenarios[] = {
    {
        .name = "steady",
        .description = "one NodePool; a web workload of 500m/1Gi pods going 20 -> 40 -> 30",
        .duration = MIN(30),
        .objects_yaml = steady_objects,
        .workloads = steady_workloads,
        .nworkloads = COUNT(steady_workloads),
    },
    {
        .name = "flash-sale",
        .description = "30 baseline pods, then at 10 min a burst of 1,500 pods of 1 CPU / 2Gi "
                       "within a minute (several hundred nodes), back to 100 at 25 min",
        .duration = MIN(35),
        .objects_yaml = flash_objects,
        .workloads = flash_workloads,
        .nworkloads = COUNT(flash_workloads),
    },
    {
        .name = "pvc-zones",
        .description = "stateful pods with EBS volumes: 12 provisioned on first use (scaled to 0 "
                       "at 12 min and back at 14 min), 6 pre-bound to volumes in us-east-1b",
        .duration = MIN(25),
        .objects_yaml = pvc_objects,
        .workloads = pvc_workloads,
        .nworkloads = COUNT(pvc_workloads),
    },
    {
        .name = "gpu-mix",
        .description = "a tainted GPU NodePool (g, p) beside the default one: 8 GPU training "
                       "pods, 20 arm64-only pods, 20 plain pods",
        .duration = MIN(20),
        .objects_yaml = gpu_objects,
        .workloads = gpu_workloads,
        .nworkloads = COUNT(gpu_workloads),
    },
    {
        .name = "chaos",
        .description = "a scale-out to 300 pods under capacity errors in us-east-1a, random EC2 "
                       "errors, throttling, dropped watches and a controller restart at 4 min",
        .duration = MIN(20),
        .objects_yaml = steady_objects,
        .workloads = chaos_workloads,
        .nworkloads = COUNT(chaos_workloads),
        .faults = chaos_faults,
        .nfaults = COUNT(chaos_faults),
        .kube_faults = {.watch_drop_rate = 0.01, .error_rate = 0.01},
        .restart_controller_at = MIN(4),
    },
    {
        .name = "scale-20k",
        .description = "for benchmarks: 20,000 pods of 700m / 1Gi arriving at 1 min (5,000, then "
                       "20,000 at 1:30) on a NodePool of 4-vCPU types, five pods a node (the "
                       "simulated scheduler has no topology spread): about 4,000 nodes",
        .duration = MIN(15),
        .objects_yaml = scale_objects,
        .workloads = scale_workloads,
        .nworkloads = COUNT(scale_workloads),
    },
};

size_t sim_scenario_count(void)
{
    return COUNT(scenarios);
}

const struct sim_scenario *sim_scenario_at(size_t i)
{
    return i < COUNT(scenarios) ? &scenarios[i] : NULL;
}

const struct sim_scenario *sim_scenario_find(const char *name)
{
    for (size_t i = 0; name && i < COUNT(scenarios); i++)
        if (strcmp(scenarios[i].name, name) == 0)
            return &scenarios[i];
    return NULL;
}

int sim_scenario_world_opts(const struct sim_scenario *sc, uint64_t seed,
                            struct sim_world_opts *out, struct core_err *err)
{
    struct sim_world_opts o;

    if (!sc || !out)
        return core_err_set(err, CORE_E_INVAL, "sim_scenario_world_opts: no scenario");
    memset(&o, 0, sizeof o);
    o.seed = seed;
    /* Zeroed faults: throttling stays off unless the scenario turns it on. */
    for (size_t i = 0; i < sc->nfaults; i++) {
        int rc = sim_faults_parse(&o.faults, sc->faults[i], err);
        if (rc) {
            core_err_prefix(err, "scenario %s: fault %zu", sc->name, i + 1);
            return rc;
        }
    }
    o.kube_faults = sc->kube_faults;
    *out = o;
    return 0;
}

int sim_scenario_setup(const struct sim_scenario *sc, struct sim_world *w, struct core_err *err)
{
    int rc = 0;

    if (!sc || !w)
        return core_err_set(err, CORE_E_INVAL, "sim_scenario_setup: no scenario or world");
    if (sc->objects_yaml && sc->objects_yaml[0]) {
        rc = sim_world_apply(w, sc->objects_yaml, strlen(sc->objects_yaml), sc->name, err);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < sc->nworkloads && !rc; i++) {
        const struct sim_scenario_workload *sw = &sc->workloads[i];
        struct sim_workload_spec spec;
        json_error_t je;
        json_t *tmpl = json_loads(sw->pod_template, 0, &je);
        if (!tmpl) {
            rc = core_err_set(err, CORE_E_INVAL, "scenario %s: workload %s: pod template: %s",
                              sc->name, sw->name, je.text);
            break;
        }
        memset(&spec, 0, sizeof spec);
        spec.name = sw->name;
        spec.ns = sw->ns;
        spec.pod_template = tmpl;
        spec.stateful = sw->stateful;
        spec.storage_class = sw->storage_class;
        spec.steps = sw->steps;
        spec.nsteps = sw->nsteps;
        /* The cluster keeps its own copy of the template (and of the steps). */
        rc = sim_cluster_add_workload(w->cluster, &spec, err);
        json_decref(tmpl);
        if (rc)
            core_err_prefix(err, "scenario %s: workload %s", sc->name, sw->name);
    }
    return rc;
}
