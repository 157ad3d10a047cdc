/*
 * launcher/labels.c — the well-known node labels an instance type defines: their keys, the
 * normalisation of legacy and alias keys, and rendering a type's label values.
 *
 * Invariants:
 *  - The key table is indexed by enum launcher_label and holds Karpenter's spellings, the
 *    per-type Karpenter keys last; launcher_label_index runs in the scheduler's hot loop, so it
 *    skips normalisation for Karpenter's prefix and compares a first byte before strcmp.
 *  - launcher_label_normalize returns either its argument or a static string; it never
 *    allocates.
 *  - Rendered values follow the enum's comments: decimal numbers, memory in MiB, local NVMe in
 *    GiB, bandwidths in Mbps; a label the type does not define stays NULL (offset 0 in the
 *    arena encoding), except the hypervisor, whose "" on bare metal is a real value.
 *  - No I/O, no logging.
 */
#include "launcher/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Indexed by enum launcher_label. Every index from LAUNCHER_L_CATEGORY on is under
 * Karpenter's prefix and none before it is: launcher_label_index relies on that split. */
#define LABEL(e, k) [e] = {k}
static const struct {
    const char *key;
} label_tab[LAUNCHER_L_COUNT] = {
    LABEL(LAUNCHER_L_INSTANCE_TYPE, "node.kubernetes.io/instance-type"),
    LABEL(LAUNCHER_L_ARCH, "kubernetes.io/arch"),
    LABEL(LAUNCHER_L_OS, "kubernetes.io/os"),
    LABEL(LAUNCHER_L_CATEGORY, "karpenter.k8s.aws/instance-category"),
    LABEL(LAUNCHER_L_FAMILY, "karpenter.k8s.aws/instance-family"),
    LABEL(LAUNCHER_L_GENERATION, "karpenter.k8s.aws/instance-generation"),
    LABEL(LAUNCHER_L_SIZE, "karpenter.k8s.aws/instance-size"),
    LABEL(LAUNCHER_L_CPU, "karpenter.k8s.aws/instance-cpu"),
    LABEL(LAUNCHER_L_CPU_MANUFACTURER, "karpenter.k8s.aws/instance-cpu-manufacturer"),
    LABEL(LAUNCHER_L_MEMORY, "karpenter.k8s.aws/instance-memory"),
    LABEL(LAUNCHER_L_HYPERVISOR, "karpenter.k8s.aws/instance-hypervisor"),
    LABEL(LAUNCHER_L_GPU_COUNT, "karpenter.k8s.aws/instance-gpu-count"),
    LABEL(LAUNCHER_L_GPU_NAME, "karpenter.k8s.aws/instance-gpu-name"),
    LABEL(LAUNCHER_L_GPU_MANUFACTURER, "karpenter.k8s.aws/instance-gpu-manufacturer"),
    LABEL(LAUNCHER_L_GPU_MEMORY, "karpenter.k8s.aws/instance-gpu-memory"),
    LABEL(LAUNCHER_L_ACCEL_COUNT, "karpenter.k8s.aws/instance-accelerator-count"),
    LABEL(LAUNCHER_L_ACCEL_NAME, "karpenter.k8s.aws/instance-accelerator-name"),
    LABEL(LAUNCHER_L_LOCAL_NVME, "karpenter.k8s.aws/instance-local-nvme"),
    LABEL(LAUNCHER_L_NETWORK_BW, "karpenter.k8s.aws/instance-network-bandwidth"),
    LABEL(LAUNCHER_L_EBS_BW, "karpenter.k8s.aws/instance-ebs-bandwidth"),
};
#undef LABEL

/* Alias -> canonical key. */
static const struct {
    const char *alias;
    const char *canon;
} aliases[] = {
    {"failure-domain.beta.kubernetes.io/zone", LAUNCHER_KEY_ZONE},
    {"topology.ebs.csi.aws.com/zone", LAUNCHER_KEY_ZONE},
    {"failure-domain.beta.kubernetes.io/region", LAUNCHER_KEY_REGION},
    {"beta.kubernetes.io/arch", "kubernetes.io/arch"},
    {"beta.kubernetes.io/os", "kubernetes.io/os"},
    {"beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type"},
};

const char *launcher_label_key(enum launcher_label l)
{
    if ((int)l < 0 || l >= LAUNCHER_L_COUNT)
        return NULL;
    return label_tab[l].key;
}

const char *launcher_label_normalize(const char *key)
{
    if (!key)
        return NULL;
    /* Dispatch on the first byte so that an already canonical key (the common case: keys in
     * requirement sets are normalised on the way in) costs at most one failed comparison. */
    switch (key[0]) {
    case 'f':
    case 't':
    case 'b':
        break;
    default:
        return key;
    }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (aliases[i].alias[0] == key[0] && strcmp(key, aliases[i].alias) == 0)
            return aliases[i].canon;
    return key;
}

#define KARPENTER_PREFIX "karpenter.k8s.aws/instance-"
#define KARPENTER_PREFIX_LEN (sizeof KARPENTER_PREFIX - 1)

int launcher_label_index(const char *key)
{
    if (!key)
        return -1;
    /* No alias starts with Karpenter's prefix, so those keys skip normalisation, and the byte
     * after the prefix rules out all but one to three candidates without measuring the key:
     * this runs for every requirement entry of every type the scheduler considers. */
    if (strncmp(key, KARPENTER_PREFIX, KARPENTER_PREFIX_LEN) == 0) {
        const char *rest = key + KARPENTER_PREFIX_LEN;
        for (int i = LAUNCHER_L_CATEGORY; i < LAUNCHER_L_COUNT; i++) {
            const char *k = label_tab[i].key + KARPENTER_PREFIX_LEN;
            if (k[0] == rest[0] && strcmp(k, rest) == 0)
                return i;
        }
        return -1;
    }
    key = launcher_label_normalize(key);
    for (int i = 0; i < LAUNCHER_L_CATEGORY; i++)
        if (label_tab[i].key[0] == key[0] && strcmp(label_tab[i].key, key) == 0)
            return i;
    return -1;
}

/* ---- rendering ------------------------------------------------------------------------------ */

/* Appends s and its NUL to the arena and records offset+1 in t->labels[l]. */
static int put(struct launcher_itype *t, enum launcher_label l, const char *s,
               struct core_buf *arena, struct core_err *err)
{
    size_t off = arena->len;
    int rc = core_buf_append(arena, s, strlen(s) + 1);
    if (rc != 0)
        return core_err_set(err, rc, "instance type %s: rendering label %s: %s", t->name,
                            label_tab[l].key, core_strerror(rc));
    t->labels[l] = (const char *)(uintptr_t)(off + 1);
    return 0;
}

static int put_num(struct launcher_itype *t, enum launcher_label l, int64_t v,
                   struct core_buf *arena, struct core_err *err)
{
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, v);
    return put(t, l, num, arena, err);
}

/* A string label the type may leave empty: "" means unknown, so no label. */
static int put_str(struct launcher_itype *t, enum launcher_label l, const char *s,
                   struct core_buf *arena, struct core_err *err)
{
    if (!s || !*s)
        return 0;
    return put(t, l, s, arena, err);
}

int launcher_itype_labels_render(struct launcher_itype *t, struct core_buf *arena,
                                 struct core_err *err)
{
    size_t mark;
    int rc = 0;

    if (!t || !arena || !t->name)
        return core_err_set(err, CORE_E_INVAL, "instance type labels: NULL argument");
    mark = arena->len;
    for (int i = 0; i < LAUNCHER_L_COUNT; i++)
        t->labels[i] = NULL;

    if ((rc = put_str(t, LAUNCHER_L_INSTANCE_TYPE, t->name, arena, err)) != 0 ||
        (rc = put_str(t, LAUNCHER_L_ARCH, t->arch, arena, err)) != 0 ||
        (rc = put_str(t, LAUNCHER_L_OS, t->os, arena, err)) != 0 ||
        (rc = put_str(t, LAUNCHER_L_CATEGORY, t->category, arena, err)) != 0 ||
        (rc = put_str(t, LAUNCHER_L_FAMILY, t->family, arena, err)) != 0 ||
        (t->generation > 0 &&
         (rc = put_num(t, LAUNCHER_L_GENERATION, t->generation, arena, err)) != 0) ||
        (rc = put_str(t, LAUNCHER_L_SIZE, t->size, arena, err)) != 0 ||
        (t->vcpu > 0 && (rc = put_num(t, LAUNCHER_L_CPU, t->vcpu, arena, err)) != 0) ||
        (rc = put_str(t, LAUNCHER_L_CPU_MANUFACTURER, t->cpu_manufacturer, arena, err)) != 0 ||
        (t->memory_mib > 0 &&
         (rc = put_num(t, LAUNCHER_L_MEMORY, t->memory_mib, arena, err)) != 0))
        goto done;
    /* Bare metal has no hypervisor and Karpenter labels it "" rather than leaving it off, so
     * "" is a value here (a NodePool may ask for hypervisor In [""] to get metal). */
    if ((rc = put(t, LAUNCHER_L_HYPERVISOR, t->hypervisor ? t->hypervisor : "", arena,
                  err)) != 0)
        goto done;
    if (t->gpu_count > 0) {
        if ((rc = put_num(t, LAUNCHER_L_GPU_COUNT, t->gpu_count, arena, err)) != 0 ||
            (rc = put_str(t, LAUNCHER_L_GPU_NAME, t->gpu_name, arena, err)) != 0 ||
            (rc = put_str(t, LAUNCHER_L_GPU_MANUFACTURER, t->gpu_manufacturer, arena, err)) !=
                0 ||
            (t->gpu_memory_mib > 0 &&
             (rc = put_num(t, LAUNCHER_L_GPU_MEMORY, t->gpu_memory_mib, arena, err)) != 0))
            goto done;
    }
    if (t->accelerator_count > 0) {
        if ((rc = put_num(t, LAUNCHER_L_ACCEL_COUNT, t->accelerator_count, arena, err)) != 0 ||
            (rc = put_str(t, LAUNCHER_L_ACCEL_NAME, t->accelerator_name, arena, err)) != 0)
            goto done;
    }
    if ((t->local_nvme_gib > 0 &&
         (rc = put_num(t, LAUNCHER_L_LOCAL_NVME, t->local_nvme_gib, arena, err)) != 0) ||
        (t->network_bandwidth_mbps > 0 &&
         (rc = put_num(t, LAUNCHER_L_NETWORK_BW, t->network_bandwidth_mbps, arena, err)) != 0) ||
        (t->ebs_bandwidth_mbps > 0 &&
         (rc = put_num(t, LAUNCHER_L_EBS_BW, t->ebs_bandwidth_mbps, arena, err)) != 0))
        goto done;
done:
    if (rc != 0) {
        /* Leave neither half-rendered offsets nor this type's bytes behind. */
        for (int i = 0; i < LAUNCHER_L_COUNT; i++)
            t->labels[i] = NULL;
        arena->len = mark;
        if (arena->data)
            arena->data[mark] = '\0';
    }
    return rc;
}

void launcher_itype_labels_fix(struct launcher_itype *t, const char *arena_base)
{
    if (!t)
        return;
    for (int i = 0; i < LAUNCHER_L_COUNT; i++) {
        uintptr_t off = (uintptr_t)t->labels[i];
        t->labels[i] = off && arena_base ? arena_base + (off - 1) : NULL;
    }
}
