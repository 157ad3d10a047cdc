/*
 * launcher/allocatable.c — max pods and the resources a node offers to pods after the kubelet's
 * reservations, by the AL2023 rules Karpenter documents (reference/eks-nodes.md, "Max pods and
 * overhead").
 *
 * Invariants:
 *  - Integer arithmetic only, with the rounding that reproduces the catalog's alloc_* columns
 *    (the launcher_catalog tests check every row): the VM overhead is rounded UP to whole MiB,
 *    each CPU band's reservation is truncated to whole millicores.
 *  - Results never go negative: a node whose reservations exceed its capacity offers 0.
 *  - Pure: no I/O, no clock, no logging.
 */
#include "launcher/launcher.h"

#include <string.h>

#define MIB INT64_C(1048576)
#define GIB (INT64_C(1024) * MIB)

int32_t launcher_eni_max_pods(const struct launcher_itype *t)
{
    if (!t || t->enis <= 0 || t->ipv4_per_eni <= 0)
        return LAUNCHER_DEFAULT_MAX_PODS;
    /* One address of each ENI is its own primary IP; the +2 are host-network pods (aws-node,
     * kube-proxy) that need no address. 64-bit so absurd inputs cannot overflow. */
    int64_t pods = (int64_t)t->enis * (t->ipv4_per_eni - 1) + 2;
    return pods > INT32_MAX ? INT32_MAX : (int32_t)pods;
}

int32_t launcher_max_pods(const struct launcher_itype *t, int32_t pods_per_core,
                          int32_t override)
{
    int64_t pods;
    if (override > 0)
        pods = override;
    else if (t && t->alloc_pods > 0)
        pods = t->alloc_pods; /* default network card only; see launcher.h */
    else
        pods = launcher_eni_max_pods(t);
    if (pods_per_core > 0 && t) {
        int64_t cap = (int64_t)pods_per_core * t->vcpu;
        if (cap < pods)
            pods = cap;
    }
    return pods > INT32_MAX ? INT32_MAX : (int32_t)pods;
}

/* kube-reserved CPU in millicores for a node of vcpu cores: per band, the band's share of the
 * node's millicores times the band's percentage, truncated (as Karpenter's int64 conversion). */
static int64_t kube_reserved_cpu_milli(int64_t cpu_milli)
{
    static const struct {
        int64_t start, end;      /* millicores */
        int64_t per_100k;        /* percentage × 1000, so 0.25% stays integral */
    } bands[] = {
        {0, 1000, 6000},
        {1000, 2000, 1000},
        {2000, 4000, 500},
        {4000, INT64_MAX, 250},
    };
    int64_t reserved = 0;
    for (size_t i = 0; i < sizeof bands / sizeof bands[0]; i++) {
        if (cpu_milli <= bands[i].start)
            break;
        int64_t in_band = (cpu_milli < bands[i].end ? cpu_milli : bands[i].end) - bands[i].start;
        reserved += in_band * bands[i].per_100k / 100000;
    }
    return reserved;
}

int launcher_allocatable(const struct launcher_itype *t, const struct launcher_alloc_opts *opts,
                         struct launcher_alloc *out)
{
    struct launcher_alloc_opts o = {0, 0, 0};
    struct launcher_alloc a;

    if (!t || !out)
        return CORE_E_INVAL;
    if (opts)
        o = *opts;
    if (o.pods_per_core < 0 || o.max_pods < 0 || o.root_volume_bytes < 0 || t->vcpu < 0 ||
        t->memory_mib < 0 || t->memory_mib > (INT64_C(1) << 40))
        return CORE_E_INVAL;
    if (o.root_volume_bytes == 0)
        o.root_volume_bytes = LAUNCHER_DEFAULT_ROOT_VOLUME_BYTES;

    a.pods = launcher_max_pods(t, o.pods_per_core, o.max_pods);

    int64_t cpu = (int64_t)t->vcpu * 1000;
    a.cpu_milli = cpu - kube_reserved_cpu_milli(cpu);

    /* All in MiB until the end; ceil(7.5% × m) = ceil(75m / 1000). */
    int64_t m = t->memory_mib;
    int64_t mem_mib = m - (m * 75 + 999) / 1000     /* VM overhead */
                      - (11 * (int64_t)a.pods + 255) /* kube-reserved */
                      - 100;                         /* eviction threshold */
    if (t->arch && strcmp(t->arch, "arm64") == 0)
        mem_mib -= LAUNCHER_ARM64_EXTRA_RESERVED_MIB;
    a.memory_bytes = mem_mib > 0 ? mem_mib * MIB : 0;

    /* kube-reserved ephemeral-storage 1 GiB, eviction at nodefs.available < 10%, rounded up so
     * we never promise a byte the kubelet would evict for. */
    int64_t root = o.root_volume_bytes;
    int64_t eph = root - GIB - (root / 10 + (root % 10 != 0));
    a.ephemeral_bytes = eph > 0 ? eph : 0;

    *out = a;
    return 0;
}
