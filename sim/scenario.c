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
 *
 * Warm pools: a scenario may carry a policy WarmPool (YAML with ${START[+DURATION]}
 * placeholders, replaced at setup by the world's wall clock so absolute schedule starts fall at
 * a fixed virtual time into the run; any other ${...} is refused) and a burst description.
 * Setup makes at most one WarmPool, chosen by the mode: none, the policy pool, or one sized by
 * prewarm_advise with the world's own boot model (so the advice and the simulated instances
 * agree), always before the controller starts.
 */
#include "sim/sim.h"

#include "k8s/k8s.h"
#include "launcher/launcher.h"
#include "prewarm/prewarm.h"

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

/* The point of the scenario is to compare the burst's pod wait with the warm pool off, sized
 * by policy (this WarmPool: nodes that hold 15 checkout pods each — the podShape is a node's
 * worth of them, so the default types are the cheapest that take 15 — a floor of 3 all day,
 * raised to 40 for a "sale" window that opens 5 minutes into the run, ahead of the burst at 10
 * minutes: 600 pods' worth, the burst's first step), and sized by prewarm_advise for the
 * burst below. */
static const char flash_objects[] = NODECLASS_DEFAULT "---\n" NODEPOOL_DEFAULT;

static const char flash_warm_pool[] =
    "apiVersion: stoker.dev/v1alpha1\n"
    "kind: WarmPool\n"
    "metadata:\n"
    "  name: checkout\n"
    "spec:\n"
    "  nodePoolRef:\n"
    "    name: default\n"
    "  podShape:\n"
    "    cpu: \"15\"\n"
    "    memory: 30Gi\n"
    "  size:\n"
    "    min: 3\n"
    "    max: 6\n"
    "  prewarm:\n"
    "    images: [public.ecr.aws/nginx/nginx:1.27]\n"
    "    hydrateRootVolume: true\n"
    "  schedules:\n"
    "  - name: sale\n"
    "    start: \"${START+5m}\"\n"
    "    duration: 40m\n"
    "    size:\n"
    "      min: 40\n"
    "      max: 50\n";

/* The checkout workload's burst, as advise is told about it. */
static const struct sim_scenario_burst flash_burst = {1500, "1", "2Gi", SEC(20), MIN(10)};

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
        .warm_pool_yaml = flash_warm_pool,
        .burst = &flash_burst,
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

/* ------------------------------------------------------------------------------------------ */
/* Warm pools                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static const char *const warm_mode_names[] = {"default", "none", "policy", "advise"};

const char *sim_warm_mode_name(enum sim_warm_mode m)
{
    return (size_t)m < COUNT(warm_mode_names) ? warm_mode_names[m] : "?";
}

int sim_warm_mode_parse(const char *s, enum sim_warm_mode *out)
{
    for (size_t i = 0; s && i < COUNT(warm_mode_names); i++)
        if (strcmp(s, warm_mode_names[i]) == 0) {
            *out = (enum sim_warm_mode)i;
            return 0;
        }
    return CORE_E_INVAL;
}

/* yaml with every ${START} / ${START+DURATION} replaced by RFC 3339 of wall (+ DURATION),
 * appended to out. Any other ${...} is an error, so a typo cannot reach the API as text. */
static int expand_start(const char *yaml, core_ns wall, const char *what, struct core_buf *out,
                        struct core_err *err)
{
    const char *p = yaml;
    int rc = 0;

    while (!rc && *p) {
        const char *d = strstr(p, "${");
        if (!d) {
            rc = core_buf_append_str(out, p);
            break;
        }
        if ((rc = core_buf_append(out, p, (size_t)(d - p))) != 0)
            break;
        const char *close = strchr(d, '}');
        char inner[64];
        size_t n = close ? (size_t)(close - d - 2) : 0;
        if (!close || n >= sizeof inner)
            return core_err_set(err, CORE_E_INVAL, "%s: unterminated placeholder", what);
        memcpy(inner, d + 2, n);
        inner[n] = '\0';
        core_ns off = 0;
        if (strncmp(inner, "START", 5) != 0 || (inner[5] != '\0' && inner[5] != '+') ||
            (inner[5] == '+' && k8s_duration_parse(inner + 6, 0, &off) != 0) || off < 0)
            return core_err_set(err, CORE_E_INVAL,
                                "%s: placeholder ${%s}: expected ${START} or ${START+DURATION}",
                                what, inner);
        char stamp[40];
        core_time_rfc3339(wall + off, stamp, sizeof stamp);
        rc = core_buf_append_str(out, stamp);
        p = close + 1;
    }
    return rc ? core_err_set(err, rc, "%s: out of memory expanding placeholders", what) : 0;
}

/* The candidates of advise mode (see sim.h): owned array of borrowed catalog entries. */
static int advise_candidates(const struct launcher_catalog *cat,
                             const struct launcher_itype ***out, size_t *n)
{
    size_t total = launcher_catalog_count(cat), k = 0;
    const struct launcher_itype **v = core_calloc(total ? total : 1, sizeof *v);

    if (!v)
        return CORE_E_NOMEM;
    for (size_t i = 0; i < total; i++) {
        const struct launcher_itype *t = launcher_catalog_at(cat, i);
        if (!t || strcmp(t->arch, "amd64") != 0 || t->generation < 6 || t->bare_metal ||
            t->gpu_count > 0 || t->accelerator_count > 0 || t->od_price_usd_hr <= 0 ||
            !t->category || strlen(t->category) != 1 || !strchr("cmr", t->category[0]))
            continue;
        v[k++] = t;
    }
    *out = v;
    *n = k;
    return 0;
}

/* The NodePool a scenario's pool is for: the policy pool's nodePoolRef, else "default". */
static void pool_nodepool(const struct sim_scenario *sc, char *out, size_t outsz)
{
    const char *p = sc->warm_pool_yaml ? strstr(sc->warm_pool_yaml, "nodePoolRef:") : NULL;
    const char *name = p ? strstr(p, "name:") : NULL;
    size_t n = 0;

    core_strlcpy(out, "default", outsz);
    if (!name)
        return;
    name += 5;
    while (*name == ' ')
        name++;
    while (name[n] && name[n] != '\n' && name[n] != ' ')
        n++;
    if (n > 0 && n < outsz) {
        memcpy(out, name, n);
        out[n] = '\0';
    }
}

/* Advise mode: prewarm_advise for the burst, then the WarmPool it says to hold. */
static int setup_advised(const struct sim_scenario *sc, struct sim_world *w,
                         struct sim_scenario_advice *adv, struct core_err *err)
{
    const struct sim_scenario_burst *b = sc->burst;
    const struct sim_boot_model *m = sim_aws_boot_model(w->aws);
    struct launcher_catalog *cat = NULL;
    const struct launcher_itype **types = NULL;
    struct prewarm_advice *advice = NULL;
    struct prewarm_advise_input in;
    struct sim_scenario_advice a;
    struct core_buf y;
    char nodepool[254];
    size_t ntypes = 0;
    int rc;

    memset(&in, 0, sizeof in);
    memset(&a, 0, sizeof a);
    core_buf_init(&y, 16384);
    if ((rc = launcher_catalog_load(&cat, err)) != 0)
        goto done;
    if ((rc = advise_candidates(cat, &types, &ntypes)) != 0) {
        core_err_set(err, rc, "scenario %s: out of memory for advise", sc->name);
        goto done;
    }
    in.pods = b->pods;
    if (k8s_quantity_parse_milli(b->cpu, &in.cpu_milli) != 0 ||
        k8s_quantity_parse(b->memory, &in.memory_bytes) != 0) {
        rc = core_err_set(err, CORE_E_INVAL, "scenario %s: burst: bad cpu or memory", sc->name);
        goto done;
    }
    in.deadline = b->deadline;
    in.types = types;
    in.ntypes = ntypes;
    in.timing.cold_ready_s = m->step[SIM_BOOT_LAUNCH].median_s +
                             m->step[SIM_BOOT_JOIN_COLD].median_s +
                             m->step[SIM_BOOT_READY].median_s + 1.0;
    in.timing.warm_ready_s = m->step[SIM_BOOT_START].median_s +
                             m->step[SIM_BOOT_JOIN_WARM].median_s +
                             m->step[SIM_BOOT_READY].median_s + 2.0;
    in.timing.launch_burst = 1000;
    in.timing.launch_rate_per_s = 2;
    if ((rc = prewarm_advise(&in, &advice, err)) != 0) {
        core_err_prefix(err, "scenario %s: advise", sc->name);
        goto done;
    }
    if (advice->nrows == 0 || advice->best >= advice->nrows) {
        rc = core_err_set(err, CORE_E_NOTFOUND, "scenario %s: advise gave no row", sc->name);
        goto done;
    }
    const struct prewarm_advice_row *best = &advice->rows[advice->best];
    core_strlcpy(a.instance_type, best->type->name, sizeof a.instance_type);
    a.pods_per_node = best->pods_per_node;
    a.nodes = best->nodes;
    a.warm = best->warm;
    a.cold = best->cold;
    a.idle_usd_per_hour = best->idle_usd_per_hour;
    a.cold_ready_s = in.timing.cold_ready_s;
    a.warm_ready_s = in.timing.warm_ready_s;
    a.meets_deadline = advice->meets_deadline;
    a.ncandidates = ntypes;
    core_strlcpy(a.summary, advice->summary, sizeof a.summary);
    pool_nodepool(sc, nodepool, sizeof nodepool);
    rc = core_buf_appendf(&y,
                          "apiVersion: stoker.dev/v1alpha1\n"
                          "kind: WarmPool\n"
                          "metadata:\n"
                          "  name: %s-advised\n"
                          "spec:\n"
                          "  nodePoolRef:\n"
                          "    name: %s\n"
                          "  instanceTypes: [%s]\n"
                          "  size:\n"
                          "    min: %lld\n"
                          "    max: %lld\n"
                          "  prewarm:\n"
                          "    images: [public.ecr.aws/nginx/nginx:1.27]\n"
                          "    hydrateRootVolume: true\n",
                          sc->name, nodepool, a.instance_type, (long long)a.warm,
                          (long long)a.warm);
    if (rc) {
        core_err_set(err, rc, "scenario %s: out of memory for the advised pool", sc->name);
        goto done;
    }
    if ((rc = sim_world_apply(w, core_buf_cstr(&y), y.len, "advised WarmPool", err)) != 0)
        goto done;
    *adv = a;
done:
    prewarm_advice_free(advice);
    core_free(types);
    launcher_catalog_free(cat);
    core_buf_cleanup(&y);
    return rc;
}

int sim_scenario_setup(const struct sim_scenario *sc, struct sim_world *w, struct core_err *err)
{
    return sim_scenario_setup_warm(sc, w, SIM_WARM_DEFAULT, NULL, err);
}

int sim_scenario_setup_warm(const struct sim_scenario *sc, struct sim_world *w,
                            enum sim_warm_mode mode, struct sim_scenario_warm *out,
                            struct core_err *err)
{
    struct sim_scenario_warm res;
    int rc = 0;

    if (!sc || !w)
        return core_err_set(err, CORE_E_INVAL, "sim_scenario_setup: no scenario or world");
    if (mode == SIM_WARM_DEFAULT)
        mode = sc->warm_pool_yaml ? SIM_WARM_POLICY : SIM_WARM_NONE;
    if (mode == SIM_WARM_POLICY && !sc->warm_pool_yaml)
        return core_err_set(err, CORE_E_INVAL,
                            "warm pool mode policy: scenario %s defines no WarmPool", sc->name);
    if (mode == SIM_WARM_ADVISE && !sc->burst)
        return core_err_set(err, CORE_E_INVAL,
                            "warm pool mode advise: scenario %s describes no burst", sc->name);
    if (mode != SIM_WARM_NONE && mode != SIM_WARM_POLICY && mode != SIM_WARM_ADVISE)
        return core_err_set(err, CORE_E_INVAL, "warm pool mode %d is not known", (int)mode);
    memset(&res, 0, sizeof res);
    res.mode = mode;
    if (sc->objects_yaml && sc->objects_yaml[0]) {
        rc = sim_world_apply(w, sc->objects_yaml, strlen(sc->objects_yaml), sc->name, err);
        if (rc)
            return rc;
    }
    if (mode == SIM_WARM_POLICY) {
        struct core_buf y;
        core_buf_init(&y, 65536);
        rc = expand_start(sc->warm_pool_yaml, core_clock_wall(w->clock), sc->name, &y, err);
        if (!rc)
            rc = sim_world_apply(w, core_buf_cstr(&y), y.len, "policy WarmPool", err);
        core_buf_cleanup(&y);
        if (rc)
            return rc;
    } else if (mode == SIM_WARM_ADVISE) {
        if ((rc = setup_advised(sc, w, &res.advice, err)) != 0)
            return rc;
        res.has_advice = 1;
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
    if (!rc && out)
        *out = res;
    return rc;
}
