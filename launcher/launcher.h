/*
 * launcher/launcher.h — the public interface of stoker's launcher module: what stoker can
 * launch and how much of it a node offers to pods.
 *
 * The launcher owns the instance catalog and offerings (type × zone × capacity type, price,
 * capacity-error cache), scheduling/bin-packing, subnet and zone choice, launch templates,
 * CreateFleet and the NodeClaim lifecycle. This header is the module's only public one.
 *
 * Sections: the instance catalog and its well-known labels; max pods and allocatable
 * resources; offerings; the catalog refresher (the only part here that does I/O); batching of
 * pending pods; the scheduler.
 *
 * Invariants kept by everything declared here:
 *  - Every external symbol starts with launcher_ (types, functions) or LAUNCHER_ (macros).
 *  - Functions that can fail return 0 or a negative CORE_E_* code with detail in a caller-owned
 *    struct core_err (may be NULL); out-parameters are written only on success.
 *  - The catalog, the allocatable computations, offerings, the batcher and the scheduler are
 *    pure: the catalog data is compiled into the binary (launcher/data/instance-types.csv, see
 *    launcher/data/ORIGIN.md); time comes in as arguments; nothing reads files, the clock or
 *    the network, and nothing logs. Only the refresher does I/O, through the AWS client.
 *  - A loaded catalog is immutable; every string an entry points to is owned by the catalog
 *    and lives until launcher_catalog_free. Strings are never NULL ("" when the cell was empty).
 *  - Every _free accepts NULL.
 */
#ifndef STOKER_LAUNCHER_H
#define STOKER_LAUNCHER_H

#include "core/core.h"
#include "k8s/k8s.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------------------------ */
/* Instance catalog                                                                            */
/* ------------------------------------------------------------------------------------------ */

/* The well-known node labels an instance type defines (Karpenter's names, which users'
 * manifests are full of). Values are rendered as nodes carry them: numbers in decimal, memory
 * and GPU memory in MiB, local NVMe in GiB, bandwidths in Mbps. */
enum launcher_label {
    LAUNCHER_L_INSTANCE_TYPE,    /* node.kubernetes.io/instance-type */
    LAUNCHER_L_ARCH,             /* kubernetes.io/arch */
    LAUNCHER_L_OS,               /* kubernetes.io/os */
    LAUNCHER_L_CATEGORY,         /* karpenter.k8s.aws/instance-category */
    LAUNCHER_L_FAMILY,           /* karpenter.k8s.aws/instance-family */
    LAUNCHER_L_GENERATION,       /* karpenter.k8s.aws/instance-generation */
    LAUNCHER_L_SIZE,             /* karpenter.k8s.aws/instance-size */
    LAUNCHER_L_CPU,              /* karpenter.k8s.aws/instance-cpu */
    LAUNCHER_L_CPU_MANUFACTURER, /* karpenter.k8s.aws/instance-cpu-manufacturer */
    LAUNCHER_L_MEMORY,           /* karpenter.k8s.aws/instance-memory (MiB) */
    LAUNCHER_L_HYPERVISOR,       /* karpenter.k8s.aws/instance-hypervisor ("" for metal) */
    LAUNCHER_L_GPU_COUNT,        /* karpenter.k8s.aws/instance-gpu-count (GPU types only) */
    LAUNCHER_L_GPU_NAME,         /* karpenter.k8s.aws/instance-gpu-name */
    LAUNCHER_L_GPU_MANUFACTURER, /* karpenter.k8s.aws/instance-gpu-manufacturer */
    LAUNCHER_L_GPU_MEMORY,       /* karpenter.k8s.aws/instance-gpu-memory (MiB, per GPU) */
    LAUNCHER_L_ACCEL_COUNT,      /* karpenter.k8s.aws/instance-accelerator-count */
    LAUNCHER_L_ACCEL_NAME,       /* karpenter.k8s.aws/instance-accelerator-name */
    LAUNCHER_L_LOCAL_NVME,       /* karpenter.k8s.aws/instance-local-nvme (GiB, when any) */
    LAUNCHER_L_NETWORK_BW,       /* karpenter.k8s.aws/instance-network-bandwidth */
    LAUNCHER_L_EBS_BW,           /* karpenter.k8s.aws/instance-ebs-bandwidth */
    LAUNCHER_L_COUNT
};

/* Label keys the scheduler gives meaning to besides the per-type ones. Legacy and alias keys
 * (failure-domain.beta.kubernetes.io/zone, topology.ebs.csi.aws.com/zone, beta.kubernetes.io/
 * arch|os|instance-type) are normalised to these by launcher_label_normalize. */
#define LAUNCHER_KEY_ZONE "topology.kubernetes.io/zone"
#define LAUNCHER_KEY_REGION "topology.kubernetes.io/region"
#define LAUNCHER_KEY_CAPACITY_TYPE "karpenter.sh/capacity-type"
#define LAUNCHER_KEY_NODEPOOL "karpenter.sh/nodepool"
#define LAUNCHER_KEY_HOSTNAME "kubernetes.io/hostname"
#define LAUNCHER_CT_ON_DEMAND "on-demand"
#define LAUNCHER_CT_SPOT "spot"

/* One EC2 instance type. Numeric cells that were empty in the catalog are 0 (absent). */
struct launcher_itype {
    const char *name;             /* "m5.large" */
    const char *family;           /* "m5" */
    const char *category;         /* "m" */
    int generation;               /* 5 */
    const char *size;             /* "large", "metal-48xl" */
    const char *arch;             /* Kubernetes' name: "amd64" or "arm64" */
    const char *ec2_arch;         /* EC2's name for the same: "x86_64" or "arm64" */
    const char *os;               /* "linux" */
    int32_t vcpu;
    int64_t memory_mib;
    const char *cpu_manufacturer; /* "intel", "amd", "aws" */
    const char *hypervisor;       /* "nitro", "xen", "" (bare metal) */
    int64_t network_bandwidth_mbps;
    int64_t ebs_bandwidth_mbps;
    int64_t local_nvme_gib;
    int32_t gpu_count;
    const char *gpu_name;         /* "a100", "" when none */
    const char *gpu_manufacturer; /* "nvidia", "" when none */
    int64_t gpu_memory_mib;       /* per GPU (p4d.24xlarge: 40960 for each A100), 0 when none */
    int32_t accelerator_count;    /* Inferentia/Trainium devices */
    const char *accelerator_name; /* "inferentia", "" when none */
    int32_t enis;                 /* VPC limits, 0 when unknown */
    int32_t ipv4_per_eni;
    int32_t branch_enis;
    bool bare_metal;
    /* Allocatable after overhead as the catalog states it (AL2023, default settings). */
    int64_t alloc_cpu_milli;
    int64_t alloc_memory_bytes;
    int32_t alloc_pods;
    int64_t alloc_ephemeral_bytes;
    double od_price_usd_hr;       /* us-east-1 on-demand Linux; 0 when unknown */
    size_t index;                 /* position in its catalog (launcher_catalog_at) */
    bool spot_supported;          /* the compiled-in data assumes true */
    int8_t hibernation;           /* 1 supported, 0 not, -1 unknown (the compiled-in data does
                                     not say; DescribeInstanceTypes does) */
    /* Well-known label values (owned by the catalog); NULL where the type defines no such
     * label (GPU labels on a type without GPUs, local NVMe on one without). */
    const char *labels[LAUNCHER_L_COUNT];
};

/* The key of label l ("node.kubernetes.io/instance-type"). */
const char *launcher_label_key(enum launcher_label l);
/* The label index of a key (after normalisation), or -1 when it is not a per-type label. */
int launcher_label_index(const char *key);
/* The canonical spelling of a label key: the alias keys listed above map to the standard
 * ones; any other key is returned unchanged. Never NULL for a non-NULL key. */
const char *launcher_label_normalize(const char *key);

/* The parsed catalog. Opaque; immutable once loaded. */
struct launcher_catalog;

/* Parses the catalog compiled into the binary into *out (owned by the caller, freed with
 * launcher_catalog_free). Errors are those of launcher_catalog_parse; with the shipped data
 * only CORE_E_NOMEM can happen. */
int launcher_catalog_load(struct launcher_catalog **out, struct core_err *err) CORE_NODISCARD;

/* Parses catalog CSV text (csv[0..len), borrowed; copied, so it need not outlive the call and
 * need not be NUL-terminated) into *out. Exposed for tests and tools that feed other data.
 * Strict: the header row must be exactly the expected 29 columns in order; every row must have
 * 29 cells; quoting is not supported (the data has none), so a '"' is an error; a CRLF line end
 * is accepted; a blank line is an error; an instance type may appear once. Empty cells mean
 * 0 / "" except instance_type, arch, vcpu and memory_mib, which are required. Errors:
 * CORE_E_PARSE naming the line (1-based, the header is line 1), the column (1-based) and its
 * name; CORE_E_TOOBIG over LAUNCHER_CATALOG_MAX_BYTES or LAUNCHER_CATALOG_MAX_ROWS;
 * CORE_E_INVAL for NULL arguments; CORE_E_NOMEM. */
int launcher_catalog_parse(const char *csv, size_t len, struct launcher_catalog **out,
                           struct core_err *err) CORE_NODISCARD;

#define LAUNCHER_CATALOG_MAX_BYTES ((size_t)16 << 20)
#define LAUNCHER_CATALOG_MAX_ROWS ((size_t)100000)

void launcher_catalog_free(struct launcher_catalog *c);
/* Number of instance types. */
size_t launcher_catalog_count(const struct launcher_catalog *c);
/* The i-th type in catalog (file) order, or NULL when i is out of range. Borrowed. */
const struct launcher_itype *launcher_catalog_at(const struct launcher_catalog *c, size_t i);
/* The type called name, or NULL. Borrowed. */
const struct launcher_itype *launcher_catalog_find(const struct launcher_catalog *c,
                                                   const char *name);

/* Builds a catalog from DescribeInstanceTypes results (borrowed; `struct aws_ec2_instance_type`
 * from aws/aws.h, passed as its array and count so this header need not include aws.h).
 * Each type's allocatable is computed by launcher_allocatable; its on-demand price, network
 * and ENI figures the API does not give come from `base` (the compiled-in catalog, borrowed,
 * may be NULL) when base knows the type, else they are 0 (unknown: such a type is offered only
 * when a price is set in the offerings). Types that are not current generation are kept.
 * Types whose architecture is neither x86_64 nor arm64, or that lack vCPUs or memory, are
 * skipped. CORE_E_INVAL for NULL out; CORE_E_NOMEM. */
struct aws_ec2_instance_type;
int launcher_catalog_from_ec2(const struct aws_ec2_instance_type *v, size_t n,
                              const struct launcher_catalog *base,
                              struct launcher_catalog **out, struct core_err *err) CORE_NODISCARD;

/* ------------------------------------------------------------------------------------------ */
/* Max pods and allocatable resources                                                          */
/* ------------------------------------------------------------------------------------------ */

/* Max pods when nothing is known about a type's network (the kubelet's default). */
#define LAUNCHER_DEFAULT_MAX_PODS 110
/* The root volume the ephemeral-storage computation assumes when none is given (AL2023). */
#define LAUNCHER_DEFAULT_ROOT_VOLUME_BYTES ((int64_t)20 << 30)
/* Fitted, not documented: every arm64 row of the catalog states exactly 59 MiB less
 * allocatable memory than the documented formulas give, and every amd64 row matches them
 * exactly. reference/eks-nodes.md does not explain it; it is applied so that our numbers agree
 * with the catalog (a node must never be promised memory it will not report). */
#define LAUNCHER_ARM64_EXTRA_RESERVED_MIB 59

/* ENI-limited max pods by the documented formula over the catalog's columns:
 * enis × (ipv4_per_eni − 1) + 2, or LAUNCHER_DEFAULT_MAX_PODS when either is unknown. It counts
 * every ENI of the instance; for types with several network cards the VPC CNI uses only the
 * default card's, which the catalog's alloc_pods reflects and this formula cannot. */
int32_t launcher_eni_max_pods(const struct launcher_itype *t);

/* Max pods a node of type t runs: the base is the catalog's alloc_pods (the ENI limit of the
 * default network card) when known, else launcher_eni_max_pods(t); override > 0 replaces the
 * base; pods_per_core > 0 then caps it at pods_per_core × vcpu. 0 means "not set" for both. */
int32_t launcher_max_pods(const struct launcher_itype *t, int32_t pods_per_core,
                          int32_t override);

/* Node settings that change allocatable. A zeroed struct (or NULL) means the defaults. */
struct launcher_alloc_opts {
    int32_t pods_per_core;     /* kubelet podsPerCore; 0 = not set */
    int32_t max_pods;          /* kubelet maxPods; 0 = not set */
    int64_t root_volume_bytes; /* 0 = LAUNCHER_DEFAULT_ROOT_VOLUME_BYTES */
};

struct launcher_alloc {
    int64_t cpu_milli;
    int64_t memory_bytes;
    int32_t pods;
    int64_t ephemeral_bytes;
};

/* Allocatable resources of a node of type t (borrowed), AL2023 rules:
 *  cpu    = vcpu − kube-reserved CPU: 6% of the first core, 1% of the second, 0.5% of cores
 *           3–4, 0.25% of the rest, each band truncated to whole millicores;
 *  memory = memory_mib − VM overhead ceil(7.5% × memory_mib) MiB − kube-reserved
 *           (11 × maxPods + 255) MiB − eviction threshold 100 MiB − (arm64 only)
 *           LAUNCHER_ARM64_EXTRA_RESERVED_MIB, floored at 0;
 *  pods   = launcher_max_pods(t, opts->pods_per_core, opts->max_pods);
 *  ephemeral = root volume − kube-reserved 1 GiB − eviction threshold ceil(10% of the root
 *           volume), floored at 0 (17 GiB with the default 20 GiB volume, as for every row).
 * CORE_E_INVAL when t or out is NULL or an option is negative. */
int launcher_allocatable(const struct launcher_itype *t, const struct launcher_alloc_opts *opts,
                         struct launcher_alloc *out) CORE_NODISCARD;

/* ------------------------------------------------------------------------------------------ */
/* Offerings                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* An offering is an instance type in a zone with a capacity type (on-demand or spot), a price
 * and an availability. Offerings belong to one catalog (borrowed: it must outlive them). A
 * capacity error (InsufficientInstanceCapacity & co.) marks one offering unavailable until a
 * deadline; availability is always asked "at time now", so nothing here reads a clock. */
struct launcher_offerings;

#define LAUNCHER_MAX_ZONES 32
#define LAUNCHER_ICE_TTL_DEFAULT ((core_ns)3 * 60 * 1000000000LL)

enum launcher_ct { LAUNCHER_ON_DEMAND = 0, LAUNCHER_SPOT = 1, LAUNCHER_CT_COUNT };

/* An empty set of offerings for catalog cat (borrowed) in region (copied). */
int launcher_offerings_new(const struct launcher_catalog *cat, const char *region,
                           struct launcher_offerings **out, struct core_err *err) CORE_NODISCARD;
void launcher_offerings_free(struct launcher_offerings *o);

/* Every type of the catalog with a known on-demand price, offered on-demand at that price in
 * each of zones[0..nzones) (copied, at most LAUNCHER_MAX_ZONES, unique). With spot_discount in
 * (0, 1) spot is offered too at od × (1 − spot_discount) for types that support spot; 0 = no
 * spot. For `stoker plan`, benchmarks and tests, where no DescribeInstanceTypeOfferings exists. */
int launcher_offerings_default(const struct launcher_catalog *cat, const char *region,
                               const char *const *zones, size_t nzones, double spot_discount,
                               struct launcher_offerings **out,
                               struct core_err *err) CORE_NODISCARD;

/* Sets (adds or replaces) an offering. price must be > 0. Zones are registered in first-seen
 * order; the LAUNCHER_MAX_ZONES+1-th distinct zone is CORE_E_TOOBIG. CORE_E_NOTFOUND for a
 * type not in the catalog. */
int launcher_offerings_set(struct launcher_offerings *o, const char *type, const char *zone,
                           enum launcher_ct ct, double price_usd_hr,
                           struct core_err *err) CORE_NODISCARD;

/* Records a capacity error: the offering (ct, type, zone) is unavailable until now + ttl
 * (ttl <= 0 means LAUNCHER_ICE_TTL_DEFAULT). Unknown type or zone: ignored (returns 0). */
int launcher_offerings_mark_unavailable(struct launcher_offerings *o, enum launcher_ct ct,
                                        const char *type, const char *zone, core_ns now,
                                        core_ns ttl);
/* Whether (ct, type, zone) is offered and not marked unavailable at time now; *price (may be
 * NULL) is its price then. 1 yes, 0 no. */
int launcher_offerings_lookup(const struct launcher_offerings *o, enum launcher_ct ct,
                              const char *type, const char *zone, core_ns now, double *price);
const struct launcher_catalog *launcher_offerings_catalog(const struct launcher_offerings *o);
const char *launcher_offerings_region(const struct launcher_offerings *o);
size_t launcher_offerings_zone_count(const struct launcher_offerings *o);
/* The i-th zone name (registration order), or NULL. */
const char *launcher_offerings_zone(const struct launcher_offerings *o, size_t i);
/* The capacity type's label value ("on-demand", "spot") and back (-1 when unknown). */
const char *launcher_ct_name(enum launcher_ct ct);
int launcher_ct_parse(const char *s);

/* Whether requirements as written (a NodePool's, a NodeClaim's) admit instance type t, and
 * when zone is non-NULL that zone, with capacity type ct: 1 yes; 0 no, with why (may be NULL)
 * set to the first refusing requirement ("kubernetes.io/arch In [arm64]"); CORE_E_INVAL naming
 * the key for a requirement that does not parse (Gt/Lt on a non-integer). */
int launcher_requirements_admit(const struct k8s_requirement *reqs, size_t n,
                                const struct launcher_itype *t, const char *zone,
                                enum launcher_ct ct, char *why, size_t whysz,
                                struct core_err *err) CORE_NODISCARD;

/* ------------------------------------------------------------------------------------------ */
/* Catalog refresher (I/O)                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Keeps a catalog and its offerings current from EC2: DescribeInstanceTypes (all pages),
 * DescribeInstanceTypeOfferings (LocationType availability-zone) and DescribeSpotPriceHistory
 * (Linux/UNIX, the latest price per type and zone), on the loop, every `interval`. Until the
 * first refresh succeeds the compiled-in catalog with no offerings is current. A failed
 * refresh keeps the previous data and is retried after `retry`. Capacity-error marks carry over
 * to the new offerings. The callback runs after each attempt (err NULL on success). */
struct launcher_refresher;
struct aws_client;
struct core_loop;
struct launcher_refresh_opts {
    core_ns interval;          /* 0 = 12 hours */
    core_ns retry;             /* 0 = 1 minute */
    const char *const *zones;  /* restrict offerings to these zones; NULL = every zone seen */
    size_t nzones;
};
typedef void (*launcher_refresh_fn)(void *ud, const struct core_err *err);
/* loop and aws are borrowed; base (the compiled-in catalog) is borrowed and must outlive the
 * refresher. region is copied. */
int launcher_refresher_new(struct core_loop *loop, struct aws_client *aws, const char *region,
                           const struct launcher_catalog *base,
                           const struct launcher_refresh_opts *opts, launcher_refresh_fn cb,
                           void *ud, struct launcher_refresher **out,
                           struct core_err *err) CORE_NODISCARD;
/* Starts a refresh now (one at a time: CORE_E_STATE while one runs). */
int launcher_refresher_refresh(struct launcher_refresher *r, struct core_err *err) CORE_NODISCARD;
/* The current catalog and offerings (borrowed; valid until the next refresh completes, which
 * happens only from the loop, so a caller holding them inside one callback is safe). */
const struct launcher_catalog *launcher_refresher_catalog(const struct launcher_refresher *r);
struct launcher_offerings *launcher_refresher_offerings(struct launcher_refresher *r);
void launcher_refresher_free(struct launcher_refresher *r);

/* ------------------------------------------------------------------------------------------ */
/* Batching of pending pods                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* A batch opens with its first pending pod and closes `idle` after the last pod arrived or
 * `max` after it opened, whichever comes first (Karpenter: 1 s and 10 s). Value type; time is
 * passed in. */
struct launcher_batcher {
    core_ns idle, max;
    core_ns first, last;  /* valid when count > 0 */
    size_t count;
};
#define LAUNCHER_BATCH_IDLE_DEFAULT ((core_ns)1000000000LL)
#define LAUNCHER_BATCH_MAX_DEFAULT ((core_ns)10 * 1000000000LL)
/* idle or max <= 0 take the defaults; idle is capped at max. */
void launcher_batcher_init(struct launcher_batcher *b, core_ns idle, core_ns max);
/* A pending pod arrived at now. */
void launcher_batcher_add(struct launcher_batcher *b, core_ns now);
/* When the open batch closes (0 when no batch is open). */
core_ns launcher_batcher_deadline(const struct launcher_batcher *b);
/* Whether the open batch is due at now. */
int launcher_batcher_due(const struct launcher_batcher *b, core_ns now);
/* Closes the batch: the next add opens a new one. */
void launcher_batcher_reset(struct launcher_batcher *b);

/* ------------------------------------------------------------------------------------------ */
/* Scheduler                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* Pure: pending pods in, NodeClaims (and placements on existing capacity) out. Everything the
 * input points to is borrowed for the duration of the call; the plan owns its strings. Same
 * input, same output (no hash order, no clock, no randomness). */

/* A NodePool as the scheduler sees it. */
struct launcher_sched_pool {
    const struct k8s_nodepool *pool;
    /* Its EC2NodeClass, or NULL for defaults (kubelet defaults, 20 GiB root volume, every
     * type usable). When given: kubelet maxPods/podsPerCore, systemReserved/kubeReserved and
     * the root volume size shape allocatable, and when status.amis is non-empty a type is
     * usable only if some AMI's requirements admit it (architecture, GPU, ...). The caller
     * leaves out pools whose NodeClass is not Ready. */
    const struct k8s_ec2nodeclass *nodeclass;
    /* What the pool already holds (its nodes and in-flight NodeClaims): "cpu", "memory",
     * "nodes" (1000 milli per node), ... ; counted against spec.limits. May be NULL. */
    const struct k8s_res_list *used;
};

/* Capacity that exists already: a Node, or an in-flight NodeClaim whose Node has not joined.
 * Pods go here first when they fit. */
struct launcher_sched_node {
    const char *name;           /* the hostname domain: node name, or NodeClaim name */
    const char *nodepool;       /* NULL when the capacity belongs to no NodePool */
    /* Concrete labels (a Node, a launched NodeClaim) ... */
    const struct k8s_labels *labels;
    /* ... or, when labels is NULL, the requirements of an unlaunched NodeClaim. */
    const struct k8s_requirement *requirements;
    size_t nrequirements;
    const struct k8s_taint *taints;
    size_t ntaints;
    /* Allocatable minus what its pods (and pods already nominated to it) request. */
    const struct k8s_res_list *available;
    int unschedulable;          /* cordoned or being deleted: takes no pods */
};

/* A pod already placed (running, or nominated), for topology spread and pod (anti-)affinity
 * counts. node names a launcher_sched_node; pods on unknown nodes are ignored. */
struct launcher_sched_bound {
    const struct k8s_pod *pod;
    const char *node;
};

/* A stopped, pre-initialised instance of a WarmPool that a NodeClaim may take. */
struct launcher_warm {
    const char *id;             /* "i-..." */
    const char *nodepool;
    const char *instance_type;
    const char *zone;
    enum launcher_ct capacity_type;
    const char *image_id;       /* may be NULL */
};

/* A namespace's labels, for namespaceSelector in pod (anti-)affinity terms. */
struct launcher_sched_namespace {
    const char *name;
    const struct k8s_labels *labels;
};

struct launcher_sched_input {
    const struct launcher_offerings *offerings; /* and through it the catalog */
    core_ns now;                                /* for offering availability */
    const struct k8s_pod *const *pods;          /* pending pods to place */
    size_t npods;
    const struct launcher_sched_pool *pools;
    size_t npools;
    const struct k8s_daemonset *const *daemonsets; /* their pods run on every matching node */
    size_t ndaemonsets;
    const struct launcher_sched_node *nodes;
    size_t nnodes;
    const struct launcher_sched_bound *bound;
    size_t nbound;
    const struct launcher_warm *warm;           /* free warm instances */
    size_t nwarm;
    const struct launcher_sched_namespace *namespaces; /* NULL: every namespaceSelector term
                                                          matches only the pod's namespace */
    size_t nnamespaces;
    /* Volume facts: a pod's PVCs are looked up here by namespace and name. */
    const struct k8s_pvc *const *pvcs;
    size_t npvcs;
    const struct k8s_pv *const *pvs;
    size_t npvs;
    const struct k8s_storage_class *const *storage_classes;
    size_t nstorage_classes;
    /* Options: 0 = default. */
    size_t max_types;           /* instance types listed per NodeClaim; default 60 */
    double growth_slack;        /* see launcher_schedule; default 0.10 */
};

#define LAUNCHER_SCHED_MAX_TYPES_DEFAULT 60
#define LAUNCHER_SCHED_MAX_TYPES_LIMIT 600
#define LAUNCHER_SCHED_REASON_MAX 512

/* A NodeClaim to create. */
struct launcher_claim {
    size_t pool;                          /* index into input pools */
    struct k8s_requirement *requirements; /* owned: pool ∩ pods' requirements, with the zone
                                           * alternatives, and instance-type In types[] */
    size_t nrequirements;
    struct k8s_res_list requests;         /* owned: pods' requests + DaemonSet overhead */
    const struct launcher_itype **types;  /* borrowed from the catalog: cheapest first */
    double *prices;                       /* owned: per types[i], its cheapest offering */
    size_t ntypes;
    const char *warm_id;                  /* borrowed from input warm[]: paired instance */
    size_t *pods;                         /* owned: indexes into input pods */
    size_t npods;
};

/* Pods placed on existing capacity. */
struct launcher_placement {
    size_t pod;                           /* index into input pods */
    size_t node;                          /* index into input nodes */
};

struct launcher_unschedulable {
    size_t pod;
    char *reason;                         /* owned, at most LAUNCHER_SCHED_REASON_MAX bytes */
};

struct launcher_plan {
    struct launcher_claim *claims;
    size_t nclaims;
    struct launcher_placement *placements;
    size_t nplacements;
    struct launcher_unschedulable *unschedulable;
    size_t nunschedulable;
    /* The pod → claim map: claim_of[i] is the claim index of pod i, or -1. */
    long *claim_of;
    /* Relaxations applied: relaxed[i] counts the preferences dropped for pod i. */
    unsigned *relaxed;
};

/* Plans capacity for in->pods. Semantics (docs/scheduling.md has the long form):
 *  - Pods are taken largest first (CPU, then memory, then input order). Each tries existing
 *    capacity (input nodes, in order), then NodeClaims opened earlier in this plan, then a new
 *    NodeClaim from the pools in weight order (then name); a new NodeClaim takes a compatible
 *    free warm instance of that pool when one holds the pod, else lists instance types.
 *  - Constraints: pool requirements and template labels ∩ nodeSelector ∩ one term of required
 *    node affinity ∩ the pod's volume topology; taints vs tolerations (startup taints ignored);
 *    requests incl. init containers and overhead, plus DaemonSet overhead per type; topology
 *    spread and pod (anti-)affinity on zone, hostname and capacity type; pool limits and
 *    minValues. Preferred terms count as required until a pod fits nowhere; then they are
 *    dropped one at a time in this order: preferred pod affinity, preferred pod anti-affinity,
 *    preferred node affinity (lightest weight first), ScheduleAnyway spreads, then
 *    PreferNoSchedule taints are tolerated.
 *  - Growth: a new NodeClaim may grow only within the types whose cost per unit of the
 *    remaining demand of its first pod's kind is within growth_slack of the best; its final
 *    list is every compatible type that holds what it got, cheapest first, capped at
 *    max_types (minValues respected).
 * Errors: CORE_E_INVAL (NULL or inconsistent input: a pool without a NodePool, a warm
 * instance of an unknown type), CORE_E_NOMEM. Pods that cannot be served are not errors:
 * they are listed with a reason. */
int launcher_schedule(const struct launcher_sched_input *in, struct launcher_plan **out,
                      struct core_err *err) CORE_NODISCARD;
void launcher_plan_free(struct launcher_plan *p);

#endif /* STOKER_LAUNCHER_H */
