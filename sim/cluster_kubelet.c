/*
 * sim/cluster_kubelet.c — one simulated kubelet per emulated instance: reads the instance's
 * user data as the node would (userdata_decode + userdata_inspect), registers a Node after the
 * boot model's join delay, marks it Ready after the ready delay, runs the warm-up script (a
 * delay, then the instance powers itself off), and removes or fences the Node when the
 * instance stops or terminates (opts.node_on_stop).
 *
 * Per-kubelet state machine (phase):
 *   IDLE --running, joins--> JOINING --join_cold|join_warm--> REGISTERED --ready--> READY
 *   IDLE --running, warm-up--> WARMING --warmup--> (poweroff) -> stopping -> IDLE
 *   any --stopping/stopped--> IDLE (Node deleted) or NOTREADY (Node kept, SIM_NODE_NOTREADY)
 *   any --shutting-down/terminated--> Node deleted; the kubelet is freed at terminated
 *
 * Invariants:
 *  - A kubelet holds at most one timer; every observed state change cancels it first, so a
 *    step armed for one boot never fires in another (an instance stopped before it registers
 *    never registers).
 *  - The Node object is built when the instance reaches running (from what it knew then) and
 *    created when the join timer fires; node_exists says whether our Node is in the API.
 *  - Node writes go through the in-process kube API only; a Node someone else deleted
 *    (NotFound) is simply forgotten.
 *  - After every Node change the scheduler is kicked.
 */
#include "sim/cluster_internal.h"

#include "launcher/launcher.h"
#include "userdata/userdata.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define UNREACHABLE_TAINT "node.kubernetes.io/unreachable"


static void now_rfc3339(const struct sim_cluster *c, char *out, size_t outsz)
{
    core_time_rfc3339(core_clock_wall(core_loop_clock(c->loop)), out, outsz);
}

static void kubelet_cancel(struct sim_kubelet *k)
{
    if (k->timer) {
        core_loop_timer_cancel(k->c->loop, k->timer);
        k->timer = NULL;
    }
    json_decref(k->node_obj);
    k->node_obj = NULL;
}

static void kubelet_free(struct sim_kubelet *k)
{
    if (!k)
        return;
    kubelet_cancel(k);
    core_free(k);
}

/* The condition list a kubelet posts: Ready as given, the pressures False. */
static json_t *conditions(const struct sim_cluster *c, const char *ready, const char *reason,
                          const char *message)
{
    static const struct {
        const char *type, *reason, *message;
    } pressures[] = {
        {"MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
        {"DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
        {"PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
    };
    char ts[40];
    json_t *a = json_array();
    now_rfc3339(c, ts, sizeof ts);
    if (!a)
        return NULL;
    for (size_t i = 0; i < sizeof pressures / sizeof pressures[0]; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type",
                                           pressures[i].type, "status", "False", "reason",
                                           pressures[i].reason, "message", pressures[i].message,
                                           "lastHeartbeatTime", ts, "lastTransitionTime", ts));
    json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "Ready",
                                       "status", ready, "reason", reason, "message", message,
                                       "lastHeartbeatTime", ts, "lastTransitionTime", ts));
    if (json_array_size(a) != 4) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static int set_str(json_t *o, const char *key, const char *value)
{
    return json_object_set_new(o, key, json_string(value)) == 0 ? 0 : CORE_E_NOMEM;
}

static int set_i64(json_t *o, const char *key, int64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%" PRId64, v);
    return set_str(o, key, b);
}

/* A quantity: the number with a unit suffix ("Ki", "m"). */
static int set_qty(json_t *o, const char *key, int64_t v, const char *suffix)
{
    char b[48];
    snprintf(b, sizeof b, "%" PRId64 "%s", v, suffix);
    return set_str(o, key, b);
}

static int is_windows(enum k8s_ami_family f)
{
    return f == K8S_AMI_WINDOWS2019 || f == K8S_AMI_WINDOWS2022 || f == K8S_AMI_WINDOWS2025;
}

static const char *os_image(enum k8s_ami_family f)
{
    switch (f) {
    case K8S_AMI_AL2:
        return "Amazon Linux 2";
    case K8S_AMI_BOTTLEROCKET:
        return "Bottlerocket OS";
    case K8S_AMI_WINDOWS2019:
        return "Windows Server 2019 Datacenter";
    case K8S_AMI_WINDOWS2022:
        return "Windows Server 2022 Datacenter";
    case K8S_AMI_WINDOWS2025:
        return "Windows Server 2025 Datacenter";
    default:
        return "Amazon Linux 2023";
    }
}

/* The family the instance runs: what the user data says, else what the image is. */
static enum k8s_ami_family family_of(const struct userdata_facts *f, const struct sim_image *img)
{
    if (f->family)
        return f->family;
    if (!img)
        return K8S_AMI_AL2023;
    switch (img->family) {
    case SIM_AMI_AL2:
        return K8S_AMI_AL2;
    case SIM_AMI_BOTTLEROCKET:
        return K8S_AMI_BOTTLEROCKET;
    case SIM_AMI_WINDOWS2019:
        return K8S_AMI_WINDOWS2019;
    case SIM_AMI_WINDOWS2022:
        return K8S_AMI_WINDOWS2022;
    case SIM_AMI_WINDOWS2025:
        return K8S_AMI_WINDOWS2025;
    default:
        return K8S_AMI_AL2023;
    }
}

/* metadata.labels: the per-type well-known labels and the capacity type first (the user data,
 * i.e. the NodeClaim, may restate them), then the user data's, then what the kubelet and the
 * cloud controller always own. */
static int build_labels(const struct sim_cluster *c, const struct sim_instance_view *v,
                        const struct launcher_itype *t, const struct userdata_facts *f,
                        int windows, json_t *l)
{
    int rc = 0;
    rc = rc ? rc : set_str(l, "karpenter.sh/capacity-type", v->spot ? "spot" : "on-demand");
    rc = rc ? rc : set_str(l, "karpenter.k8s.aws/instance-category", t->category);
    rc = rc ? rc : set_str(l, "karpenter.k8s.aws/instance-family", t->family);
    rc = rc ? rc : set_i64(l, "karpenter.k8s.aws/instance-generation", t->generation);
    rc = rc ? rc : set_str(l, "karpenter.k8s.aws/instance-size", t->size);
    rc = rc ? rc : set_i64(l, "karpenter.k8s.aws/instance-cpu", t->vcpu);
    rc = rc ? rc : set_i64(l, "karpenter.k8s.aws/instance-memory", t->memory_mib);
    if (!rc && t->cpu_manufacturer[0])
        rc = set_str(l, "karpenter.k8s.aws/instance-cpu-manufacturer", t->cpu_manufacturer);
    if (!rc && t->hypervisor[0])
        rc = set_str(l, "karpenter.k8s.aws/instance-hypervisor", t->hypervisor);
    if (!rc && t->network_bandwidth_mbps > 0)
        rc = set_i64(l, "karpenter.k8s.aws/instance-network-bandwidth",
                     t->network_bandwidth_mbps);
    if (!rc && t->ebs_bandwidth_mbps > 0)
        rc = set_i64(l, "karpenter.k8s.aws/instance-ebs-bandwidth", t->ebs_bandwidth_mbps);
    if (!rc && t->local_nvme_gib > 0)
        rc = set_i64(l, "karpenter.k8s.aws/instance-local-nvme", t->local_nvme_gib);
    if (!rc && t->gpu_count > 0) {
        rc = set_i64(l, "karpenter.k8s.aws/instance-gpu-count", t->gpu_count);
        if (!rc && t->gpu_name[0])
            rc = set_str(l, "karpenter.k8s.aws/instance-gpu-name", t->gpu_name);
        if (!rc && t->gpu_manufacturer[0])
            rc = set_str(l, "karpenter.k8s.aws/instance-gpu-manufacturer", t->gpu_manufacturer);
        if (!rc && t->gpu_memory_mib > 0)
            rc = set_i64(l, "karpenter.k8s.aws/instance-gpu-memory", t->gpu_memory_mib);
    }
    if (!rc && t->accelerator_count > 0) {
        rc = set_i64(l, "karpenter.k8s.aws/instance-accelerator-count", t->accelerator_count);
        if (!rc && t->accelerator_name[0])
            rc = set_str(l, "karpenter.k8s.aws/instance-accelerator-name", t->accelerator_name);
    }
    for (size_t i = 0; !rc && i < f->labels.n; i++)
        rc = set_str(l, f->labels.v[i].key, f->labels.v[i].value ? f->labels.v[i].value : "");
    rc = rc ? rc : set_str(l, "node.kubernetes.io/instance-type", t->name);
    rc = rc ? rc : set_str(l, "beta.kubernetes.io/instance-type", t->name);
    rc = rc ? rc : set_str(l, "kubernetes.io/arch", t->arch);
    rc = rc ? rc : set_str(l, "beta.kubernetes.io/arch", t->arch);
    rc = rc ? rc : set_str(l, "kubernetes.io/os", windows ? "windows" : "linux");
    rc = rc ? rc : set_str(l, "beta.kubernetes.io/os", windows ? "windows" : "linux");
    rc = rc ? rc : set_str(l, "kubernetes.io/hostname", v->private_dns);
    rc = rc ? rc : set_str(l, "topology.kubernetes.io/zone", v->zone);
    rc = rc ? rc : set_str(l, "topology.kubernetes.io/region", sim_aws_region(c->aws));
    /* The EBS CSI node plugin labels the node with its own topology key. */
    if (!rc && !windows)
        rc = set_str(l, "topology.ebs.csi.aws.com/zone", v->zone);
    return rc;
}

/* capacity and allocatable. */
static int build_resources(const struct launcher_itype *t, const struct userdata_facts *f,
                           json_t *cap, json_t *alloc)
{
    struct launcher_alloc_opts ao;
    struct launcher_alloc a;
    int rc;

    memset(&ao, 0, sizeof ao);
    ao.max_pods = f->max_pods > 0 ? f->max_pods : 0;
    rc = launcher_allocatable(t, &ao, &a);
    if (rc)
        return rc;
    rc = set_i64(cap, "cpu", t->vcpu);
    rc = rc ? rc : set_qty(cap, "memory", t->memory_mib * 1024, "Ki");
    rc = rc ? rc : set_i64(cap, "pods", a.pods);
    rc = rc ? rc : set_qty(cap, "ephemeral-storage", LAUNCHER_DEFAULT_ROOT_VOLUME_BYTES / 1024,
                           "Ki");
    rc = rc ? rc : set_qty(alloc, "cpu", a.cpu_milli, "m");
    rc = rc ? rc : set_qty(alloc, "memory", a.memory_bytes / 1024, "Ki");
    rc = rc ? rc : set_i64(alloc, "pods", a.pods);
    rc = rc ? rc : set_i64(alloc, "ephemeral-storage", a.ephemeral_bytes);
    if (!rc && t->gpu_count > 0 && strcmp(t->gpu_manufacturer, "nvidia") == 0) {
        rc = set_i64(cap, "nvidia.com/gpu", t->gpu_count);
        rc = rc ? rc : set_i64(alloc, "nvidia.com/gpu", t->gpu_count);
    }
    if (!rc && t->accelerator_count > 0) {
        rc = set_i64(cap, "aws.amazon.com/neuron", t->accelerator_count);
        rc = rc ? rc : set_i64(alloc, "aws.amazon.com/neuron", t->accelerator_count);
    }
    return rc ? CORE_E_NOMEM : 0;
}

/* The Node this instance registers, NotReady. *out owned by the caller. */
static int build_node(struct sim_cluster *c, const struct sim_instance_view *v,
                      const struct userdata_facts *f, json_t **out, struct core_err *err)
{
    const struct sim_itype *it = sim_itype_find(c->aws, v->instance_type);
    const struct sim_image *img = sim_image_find(c->aws, v->image_id);
    enum k8s_ami_family fam = family_of(f, img);
    int windows = is_windows(fam);
    json_t *node = NULL, *labels, *taints, *cap, *alloc, *conds, *info, *addrs;
    char provider[160], kver[32];
    int rc = 0;

    if (!it)
        return core_err_set(err, CORE_E_NOTFOUND, "instance type %s is not in the catalog",
                            v->instance_type);
    snprintf(provider, sizeof provider, "aws:///%s/%s", v->zone, v->id);
    snprintf(kver, sizeof kver, "v%s.0-eks", img && img->k8s[0] ? img->k8s : "1.31");
    labels = json_object();
    taints = json_array();
    cap = json_object();
    alloc = json_object();
    conds = conditions(c, "False", "KubeletNotReady",
                       "container runtime network not ready: NetworkReady=false "
                       "reason:NetworkPluginNotReady message:Network plugin returns error: "
                       "cni plugin not initialized");
    info = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "architecture", it->t->arch,
                     "operatingSystem", windows ? "windows" : "linux", "osImage", os_image(fam),
                     "kernelVersion", windows ? "10.0.20348.2849" : "6.1.112-124.190.amzn2023",
                     "containerRuntimeVersion", "containerd://1.7.22", "kubeletVersion", kver,
                     "kubeProxyVersion", kver, "machineID", v->id, "systemUUID", v->id);
    addrs = json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]", "type", "InternalIP", "address",
                      v->private_ip ? v->private_ip : "", "type", "InternalDNS", "address",
                      v->private_dns, "type", "Hostname", "address", v->private_dns);
    if (!labels || !taints || !cap || !alloc || !conds || !info || !addrs) {
        rc = CORE_E_NOMEM;
        goto done;
    }
    rc = build_labels(c, v, it->t, f, windows, labels);
    rc = rc ? rc : build_resources(it->t, f, cap, alloc);
    for (size_t i = 0; !rc && i < f->ntaints; i++) {
        json_t *tj = json_pack("{s:s, s:s}", "key", f->taints[i].key, "effect",
                               k8s_effect_name(f->taints[i].effect));
        if (!tj) {
            rc = CORE_E_NOMEM;
            break;
        }
        if (f->taints[i].value && f->taints[i].value[0])
            json_object_set_new(tj, "value", json_string(f->taints[i].value));
        if (json_array_append_new(taints, tj) != 0)
            rc = CORE_E_NOMEM;
    }
    if (rc)
        goto done;
    node = json_pack("{s:s, s:s, s:{s:s, s:O}, s:{s:s}, s:{s:O, s:O, s:O, s:O, s:O, s:s, "
                     "s:{s:{s:i}}}}",
                     "apiVersion", "v1", "kind", "Node", "metadata", "name", v->private_dns,
                     "labels", labels, "spec", "providerID", provider, "status", "capacity", cap,
                     "allocatable", alloc, "conditions", conds, "addresses", addrs, "nodeInfo",
                     info, "phase", "Running", "daemonEndpoints", "kubeletEndpoint", "Port",
                     10250);
    if (!node) {
        rc = CORE_E_NOMEM;
        goto done;
    }
    if (json_array_size(taints) > 0 &&
        json_object_set(json_object_get(node, "spec"), "taints", taints) != 0)
        rc = CORE_E_NOMEM;
done:
    json_decref(labels);
    json_decref(taints);
    json_decref(cap);
    json_decref(alloc);
    json_decref(conds);
    json_decref(info);
    json_decref(addrs);
    if (rc) {
        json_decref(node);
        return core_err_set(err, rc, "building the Node of %s failed", v->id);
    }
    *out = node;
    return 0;
}

/* Reads the user data as the booting node would. *joins / *warm_up are 0 when there is none
 * or it cannot be read. facts is filled (and owned by the caller) on success. */
static int read_user_data(const struct sim_instance_view *v, struct userdata_facts *f)
{
    struct core_buf raw;
    struct core_err err;
    int rc;

    memset(f, 0, sizeof *f);
    if (!v->user_data || v->user_data_len == 0)
        return CORE_E_NOTFOUND;
    core_buf_init(&raw, USERDATA_RAW_MAX);
    rc = userdata_decode(v->user_data, v->user_data_len, 0, &raw, &err);
    if (rc == 0)
        rc = userdata_inspect(core_buf_cstr(&raw), raw.len, f, &err);
    core_buf_cleanup(&raw);
    return rc;
}

static void on_timer(void *ud);

static void arm(struct sim_kubelet *k, enum sim_boot_step step)
{
    struct sim_cluster *c = k->c;
    core_ns d = sim_boot_draw(sim_aws_boot_model(c->aws), step, &c->rng);
    k->timer = core_loop_timer_add(c->loop, d, on_timer, k);
    /* Without a timer (out of memory) the step never happens: the instance behaves as a node
     * that failed to come up, which the controller's liveness checks already handle. */
}

static void fence_node(struct sim_kubelet *k);

static void delete_node(struct sim_kubelet *k)
{
    struct sim_cluster *c = k->c;
    struct core_err err;
    if (!k->node_exists)
        return;
    if (sim_kube_delete(c->kube, "nodes", NULL, k->node_name, &err) == 0) {
        c->stats.nodes_removed++;
        /* A finalizer may keep the Node (terminating): the machine is gone all the same, so
         * it must stop looking Ready. */
        if (sim_kube_get(c->kube, "nodes", NULL, k->node_name, NULL, &err) == 0)
            fence_node(k);
    }
    k->node_exists = 0;
    sim_cluster_sched_kick(c);
}

/* Kubelet stopped posting status: the node lifecycle controller marks the Node Unknown and
 * taints it unreachable. */
static void fence_node(struct sim_kubelet *k)
{
    struct sim_cluster *c = k->c;
    struct core_err err;
    json_t *node = NULL, *taints, *patch = NULL, *st = NULL;
    int rc;

    if (!k->node_exists)
        return;
    rc = sim_kube_get(c->kube, "nodes", NULL, k->node_name, &node, &err);
    if (rc) {
        if (rc == CORE_E_NOTFOUND)
            k->node_exists = 0;
        goto done;
    }
    taints = json_array();
    if (!taints)
        goto done;
    {
        json_t *old = json_object_get(json_object_get(node, "spec"), "taints");
        size_t i;
        json_t *t;
        json_array_foreach(old, i, t) {
            const char *key = json_string_value(json_object_get(t, "key"));
            if (!key || strcmp(key, UNREACHABLE_TAINT) != 0)
                json_array_append(taints, t);
        }
    }
    json_array_append_new(taints, json_pack("{s:s, s:s}", "key", UNREACHABLE_TAINT, "effect",
                                            "NoSchedule"));
    json_array_append_new(taints, json_pack("{s:s, s:s}", "key", UNREACHABLE_TAINT, "effect",
                                            "NoExecute"));
    patch = json_pack("{s:{s:o}}", "spec", "taints", taints);
    st = json_pack("{s:{s:o}}", "status", "conditions",
                   conditions(c, "Unknown", "NodeStatusUnknown",
                              "Kubelet stopped posting node status."));
    if (patch && sim_kube_patch(c->kube, "nodes", NULL, k->node_name, patch, 0, NULL, &err) ==
                     CORE_E_NOTFOUND)
        k->node_exists = 0;
    if (st && k->node_exists &&
        sim_kube_patch(c->kube, "nodes", NULL, k->node_name, st, 1, NULL, &err) ==
            CORE_E_NOTFOUND)
        k->node_exists = 0;
    sim_cluster_sched_kick(c);
done:
    json_decref(node);
    json_decref(patch);
    json_decref(st);
}

/* JOINING -> REGISTERED: create the Node (or, for a kept NotReady Node of this same instance,
 * take it over as the real kubelet does when it registers again). */
static void do_register(struct sim_kubelet *k)
{
    struct sim_cluster *c = k->c;
    struct core_err err;
    json_t *obj = k->node_obj;
    int rc;

    k->node_obj = NULL;
    if (!obj) {
        k->phase = SIM_KUBELET_IDLE;
        return;
    }
    rc = sim_kube_create(c->kube, "nodes", NULL, obj, NULL, &err);
    if (rc == CORE_E_CONFLICT) {
        json_t *old = NULL, *st;
        const char *pid = NULL;
        if (sim_kube_get(c->kube, "nodes", NULL, k->node_name, &old, &err) == 0)
            pid = json_string_value(
                json_object_get(json_object_get(old, "spec"), "providerID"));
        /* Another instance's Node with this name (the address was reused while the old Node
         * waits on a finalizer), or this instance's own Node on its way out: this kubelet
         * cannot register, as a real one could not. */
        if (!pid || json_object_get(json_object_get(old, "metadata"), "deletionTimestamp") ||
            strcmp(pid, json_string_value(json_object_get(
                                    json_object_get(obj, "spec"), "providerID"))) != 0) {
            json_decref(old);
            json_decref(obj);
            k->phase = SIM_KUBELET_IDLE;
            return;
        }
        json_decref(old);
        st = json_pack("{s:O}", "status", json_object_get(obj, "status"));
        rc = st ? sim_kube_patch(c->kube, "nodes", NULL, k->node_name, st, 1, NULL, &err)
                : CORE_E_NOMEM;
        json_decref(st);
    } else if (rc == 0) {
        c->stats.nodes_registered++;
    }
    json_decref(obj);
    if (rc) {
        k->phase = SIM_KUBELET_IDLE;
        return;
    }
    k->node_exists = 1;
    k->phase = SIM_KUBELET_REGISTERED;
    arm(k, SIM_BOOT_READY);
    sim_cluster_sched_kick(c);
}

/* REGISTERED -> READY: conditions Ready=True; the unreachable taint of an earlier stop goes
 * (the node lifecycle controller's part). */
static void do_ready(struct sim_kubelet *k)
{
    struct sim_cluster *c = k->c;
    struct core_err err;
    json_t *node = NULL, *st = NULL;
    int rc;

    st = json_pack("{s:{s:o}}", "status", "conditions",
                   conditions(c, "True", "KubeletReady", "kubelet is posting ready status"));
    if (!st)
        return;
    rc = sim_kube_patch(c->kube, "nodes", NULL, k->node_name, st, 1, &node, &err);
    json_decref(st);
    if (rc) {
        if (rc == CORE_E_NOTFOUND) {
            k->node_exists = 0;
            k->phase = SIM_KUBELET_IDLE;
        }
        return;
    }
    k->phase = SIM_KUBELET_READY;
    c->stats.nodes_ready++;
    {
        json_t *old = json_object_get(json_object_get(node, "spec"), "taints");
        json_t *keep = json_array(), *t;
        size_t i, dropped = 0;
        json_array_foreach(old, i, t) {
            const char *key = json_string_value(json_object_get(t, "key"));
            if (key && strcmp(key, UNREACHABLE_TAINT) == 0)
                dropped++;
            else if (keep)
                json_array_append(keep, t);
        }
        if (keep && dropped) {
            json_t *p = json_pack("{s:{s:O}}", "spec", "taints", keep);
            /* A failure leaves the stale taint: the Node is still Ready and a later stop
             * rewrites the list anyway. */
            if (p && sim_kube_patch(c->kube, "nodes", NULL, k->node_name, p, 0, NULL, &err) ==
                         CORE_E_NOTFOUND)
                k->node_exists = 0;
            json_decref(p);
        }
        json_decref(keep);
    }
    json_decref(node);
    sim_cluster_sched_kick(c);
}

static void do_poweroff(struct sim_kubelet *k)
{
    struct sim_cluster *c = k->c;
    struct core_err err;
    k->phase = SIM_KUBELET_IDLE;
    /* The observer hears of the stop from inside this call (and finds no timer to cancel). */
    if (sim_aws_instance_poweroff(c->aws, k->instance_id, &err) == 0)
        c->stats.warmups_completed++;
}

static void on_timer(void *ud)
{
    struct sim_kubelet *k = ud;
    k->timer = NULL; /* fired: the loop has dropped it */
    switch (k->phase) {
    case SIM_KUBELET_JOINING:
        do_register(k);
        break;
    case SIM_KUBELET_REGISTERED:
        do_ready(k);
        break;
    case SIM_KUBELET_WARMING:
        do_poweroff(k);
        break;
    default:
        break;
    }
}

static void on_running(struct sim_kubelet *k, const struct sim_instance_view *v)
{
    struct sim_cluster *c = k->c;
    struct userdata_facts f;
    struct core_err err;

    if (read_user_data(v, &f) != 0) {
        userdata_facts_cleanup(&f);
        k->phase = k->node_exists ? SIM_KUBELET_NOTREADY : SIM_KUBELET_IDLE;
        return;
    }
    if (f.joins) {
        json_t *node = NULL;
        if (build_node(c, v, &f, &node, &err) == 0) {
            core_strlcpy(k->node_name, v->private_dns, sizeof k->node_name);
            k->node_obj = node;
            k->phase = SIM_KUBELET_JOINING;
            /* The image cache and the kubelet's state survive a stop: a later boot (or a
             * resume from hibernation) joins faster than the first. */
            arm(k, v->boots <= 1 && !v->resumed ? SIM_BOOT_JOIN_COLD : SIM_BOOT_JOIN_WARM);
        }
    } else if (f.warm_up && f.warm_up_stays_running) {
        /* A Hibernated pool's warm-up: it runs, never joins, and waits for the controller to
         * hibernate it (StopInstances) — nothing for the kubelet to time. */
        k->phase = k->node_exists ? SIM_KUBELET_NOTREADY : SIM_KUBELET_IDLE;
    } else if (f.warm_up) {
        k->phase = SIM_KUBELET_WARMING;
        arm(k, SIM_BOOT_WARMUP);
    } else {
        k->phase = k->node_exists ? SIM_KUBELET_NOTREADY : SIM_KUBELET_IDLE;
    }
    userdata_facts_cleanup(&f);
}

void sim_cluster_kubelet_observe(struct sim_cluster *c, const struct sim_instance_view *v)
{
    struct sim_kubelet *k;
    const char *st = v->state;

    k = core_map_get(c->kubelets, v->id, NULL);
    if (!k) {
        if (strcmp(st, "terminated") == 0)
            return;
        k = core_calloc(1, sizeof *k);
        if (!k)
            return; /* this instance will never register: out of memory */
        k->c = c;
        core_strlcpy(k->instance_id, v->id, sizeof k->instance_id);
        core_strlcpy(k->zone, v->zone, sizeof k->zone);
        if (core_map_set(c->kubelets, k->instance_id, k, NULL) != 0) {
            core_free(k);
            return;
        }
    }
    kubelet_cancel(k);

    if (strcmp(st, "running") == 0) {
        on_running(k, v);
    } else if (strcmp(st, "stopping") == 0 || strcmp(st, "stopped") == 0) {
        if (c->opts.node_on_stop == SIM_NODE_NOTREADY && k->node_exists) {
            if (k->phase != SIM_KUBELET_NOTREADY)
                fence_node(k);
            k->phase = k->node_exists ? SIM_KUBELET_NOTREADY : SIM_KUBELET_IDLE;
        } else {
            delete_node(k);
            k->phase = SIM_KUBELET_IDLE;
        }
    } else if (strcmp(st, "shutting-down") == 0 || strcmp(st, "terminated") == 0) {
        delete_node(k);
        k->phase = SIM_KUBELET_IDLE;
        if (strcmp(st, "terminated") == 0) {
            core_map_del(c->kubelets, k->instance_id);
            kubelet_free(k);
        }
    }
    /* pending: the timer is cancelled; nothing else until running. */
}

void sim_cluster_kubelets_cleanup(struct sim_cluster *c)
{
    size_t it = 0;
    const char *key;
    void *val;

    if (!c || !c->kubelets)
        return;
    while (core_map_next(c->kubelets, &it, &key, &val))
        kubelet_free(val);
    core_map_free(c->kubelets);
    c->kubelets = NULL;
}

struct sim_kubelet *sim_cluster_kubelet_by_node(struct sim_cluster *c, const char *node_name)
{
    size_t it = 0;
    const char *key;
    void *val;

    if (!c || !c->kubelets || !node_name)
        return NULL;
    while (core_map_next(c->kubelets, &it, &key, &val)) {
        struct sim_kubelet *k = val;
        if (k->node_name[0] && strcmp(k->node_name, node_name) == 0)
            return k;
    }
    return NULL;
}
