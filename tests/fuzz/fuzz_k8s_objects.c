/*
 * tests/fuzz/fuzz_k8s_objects.c — libFuzzer target for every typed object decoder in k8s.h.
 *
 * Input: a JSON document (at most 256 KiB). When the first byte is not '{' or white space, its
 * low 7 bits choose an allocation to fail (1 = the first) in every decode and the JSON starts
 * after it, so out-of-memory paths are fuzzed too; the seed corpus is plain JSON.
 * Every decoder runs on the object as given, then again with "kind" removed, so each decoder
 * sees every shape. After a success the decoded value is checked (sorted label maps and
 * resource lists, non-negative quantities, the pod count in pod requests) and cleaned; after a
 * failure the error must carry the same code and a message naming the kind.
 */
#include "k8s/k8s.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

union any_obj {
    struct k8s_pod pod;
    struct k8s_daemonset ds;
    struct k8s_node node;
    struct k8s_pvc pvc;
    struct k8s_pv pv;
    struct k8s_storage_class sc;
    struct k8s_service svc;
    struct k8s_lease lease;
    struct k8s_nodepool np;
    struct k8s_nodeclaim nc;
    struct k8s_ec2nodeclass ec2nc;
    struct k8s_warmpool wp;
};

static void check_labels(const struct k8s_labels *l)
{
    for (size_t i = 1; i < l->n; i++)
        if (strcmp(l->v[i - 1].key, l->v[i].key) >= 0)
            __builtin_trap();
}

static void check_res(const struct k8s_res_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].milli < 0 || (i > 0 && strcmp(l->v[i - 1].name, l->v[i].name) >= 0))
            __builtin_trap();
}

static void check_pod_spec(const struct k8s_pod_spec *s)
{
    check_labels(&s->node_selector);
    check_res(&s->requests);
    check_res(&s->overhead);
    if (k8s_res_get(&s->requests, K8S_RES_PODS) != 1000 || !s->scheduler_name ||
        s->claims.n > s->nvolumes)
        __builtin_trap();
}

#define KIND(fn, member, name, extra)                                                              \
    static void run_##fn(const json_t *j, unsigned long fail_at)                                   \
    {                                                                                              \
        union any_obj o;                                                                           \
        struct core_err err;                                                                       \
        int rc;                                                                                    \
        memset(&o, 0, sizeof o);                                                                   \
        core_err_clear(&err);                                                                      \
        core_alloc_fail_after(fail_at);                                                            \
        rc = k8s_##fn##_decode(j, &o.member, &err);                                                \
        core_alloc_fail_after(0);                                                                  \
        if (rc != 0) {                                                                             \
            if (err.code != rc || strncmp(err.message, name, strlen(name)) != 0)                   \
                __builtin_trap();                                                                  \
            return;                                                                                \
        }                                                                                          \
        check_labels(&o.member.meta.labels);                                                       \
        check_labels(&o.member.meta.annotations);                                                  \
        extra;                                                                                     \
        k8s_##fn##_cleanup(&o.member);                                                             \
        k8s_##fn##_cleanup(&o.member);                                                             \
    }

KIND(pod, pod, "Pod", check_pod_spec(&o.pod.spec))
KIND(daemonset, ds, "DaemonSet", check_pod_spec(&o.ds.spec))
KIND(node, node, "Node", (check_res(&o.node.capacity), check_res(&o.node.allocatable)))
KIND(pvc, pvc, "PersistentVolumeClaim", (void)0)
KIND(pv, pv, "PersistentVolume", (void)0)
KIND(storage_class, sc, "StorageClass",
     if (o.sc.binding_mode == 0) __builtin_trap())
KIND(service, svc, "Service", check_labels(&o.svc.selector))
KIND(lease, lease, "Lease", (void)0)
KIND(nodepool, np, "NodePool",
     if (o.np.expire_after <= 0 || o.np.consolidation_policy == 0) __builtin_trap())
KIND(nodeclaim, nc, "NodeClaim", check_res(&o.nc.requests))
KIND(ec2nodeclass, ec2nc, "EC2NodeClass",
     if (o.ec2nc.nblock_devices == 0 || o.ec2nc.ami_family == 0 ||
         !o.ec2nc.role == !o.ec2nc.instance_profile) __builtin_trap())
KIND(warmpool, wp, "WarmPool",
     if (o.wp.has_size == o.wp.has_target || o.wp.state == 0 ||
         (o.wp.has_size && o.wp.size.min > o.wp.size.max)) __builtin_trap())

static void (*const runs[])(const json_t *, unsigned long) = {
    run_pod,     run_daemonset, run_node,     run_pvc,       run_pv,           run_storage_class,
    run_service, run_lease,     run_nodepool, run_nodeclaim, run_ec2nodeclass, run_warmpool,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned long fail_at = 0;
    json_t *j;

    if (size == 0 || size > 256 * 1024)
        return 0;
    if (data[0] != '{' && data[0] != ' ' && data[0] != '\n' && data[0] != '\t') {
        fail_at = data[0] & 0x7f;
        data++;
        size--;
    }
    j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!j)
        return 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
            runs[i](j, fail_at);
        if (json_object_del(j, "kind") != 0)
            break;
    }
    json_decref(j);
    return 0;
}
