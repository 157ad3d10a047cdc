/*
 * launcher/launcher.h — the public interface of stoker's launcher module: what stoker can
 * launch and how much of it a node offers to pods.
 *
 * The launcher owns the instance catalog and (in later work) offerings (type × zone × capacity
 * type, price, ICE cache), scheduling/bin-packing, subnet and zone choice, launch templates,
 * CreateFleet and the NodeClaim lifecycle. This header is the module's only public one.
 *
 * Sections: the instance catalog; max pods and allocatable resources.
 *
 * Invariants kept by everything declared here:
 *  - Every external symbol starts with launcher_ (types, functions) or LAUNCHER_ (macros).
 *  - Functions that can fail return 0 or a negative CORE_E_* code with detail in a caller-owned
 *    struct core_err (may be NULL); out-parameters are written only on success.
 *  - The catalog and the allocatable computations are pure: the catalog data is compiled into
 *    the binary (launcher/data/instance-types.csv, see launcher/data/ORIGIN.md), so nothing here
 *    reads files, the clock or the network, and nothing here logs.
 *  - A loaded catalog is immutable; every string an entry points to is owned by the catalog
 *    and lives until launcher_catalog_free. Strings are never NULL ("" when the cell was empty).
 *  - Every _free accepts NULL.
 */
#ifndef STOKER_LAUNCHER_H
#define STOKER_LAUNCHER_H

#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------------------------ */
/* Instance catalog                                                                            */
/* ------------------------------------------------------------------------------------------ */

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
};

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

#endif /* STOKER_LAUNCHER_H */
