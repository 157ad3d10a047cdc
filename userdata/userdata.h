/*
 * userdata/userdata.h — the public interface of stoker's userdata module: what an instance is
 * told at boot, per AMI family, for the two phases of its life (warm-up, join).
 *
 * Renderers:
 *  - AL2023: a MIME multipart document for nodeadm; the user's parts first, in order, then the
 *    controller's NodeConfig (application/node.eks.aws) last so its values win.
 *  - AL2: a MIME multipart document; the user's parts first, then a shell part calling
 *    /etc/eks/bootstrap.sh with the cluster facts and --kubelet-extra-args.
 *  - Bottlerocket: TOML; the user's settings kept, the controller's keys under
 *    settings.kubernetes overwritten, node-labels merged (controller wins per key), node-taints
 *    replaced.
 *  - Windows (2019/2022/2025): a <powershell> block calling Start-EKSBootstrap.ps1, the user's
 *    PowerShell first.
 *  - Custom: the user's data unchanged.
 * Warm-up phase (AL2023 only): no join configuration at all — a script that pulls the listed
 * images, reads the whole root volume so its blocks are hydrated, and powers the instance off.
 * nodeadm never finds a NodeConfig, so the instance never registers a Node; on the next start
 * nodeadm reads the join user data written while it was stopped. The user's own scripts run on
 * the join boot's cloud-init only if cloud-init treats them as per-boot: they are part of the
 * join document, not of the warm-up one. AL2 (bootstrap.sh from a once-per-instance cloud-init
 * script) and Windows (EC2Launch runs user data on the first boot) would never join after a
 * warm-up, so the warm phase is CORE_E_UNSUPPORTED for them, as for Bottlerocket and Custom.
 *
 * Invariants kept by everything declared here:
 *  - Every external symbol starts with userdata_ / USERDATA_.
 *  - Pure: no I/O, no clock, no logging. The same input gives byte-identical output (labels
 *    sorted by key, fixed MIME boundary unless the content contains it, gzip with mtime 0), so
 *    golden files can pin it.
 *  - Bad input (unknown family, a user MIME document without a boundary, TOML that does not
 *    parse, a CA bundle that is not base64, bad kubelet values, ...) is CORE_E_INVAL with a
 *    message naming the field ("spec.userData: ...", "spec.kubelet.clusterDNS[1]: ...",
 *    "cluster.caBundle: ..."); nothing partial is ever returned.
 *  - Out-parameters are written only on success; _cleanup accepts NULL and a zeroed struct.
 */
#ifndef STOKER_USERDATA_H
#define STOKER_USERDATA_H

#include "core/core.h"
#include "k8s/k8s.h"

#include <stddef.h>
#include <stdint.h>

#define USERDATA_EC2_MAX 16384u          /* bytes EC2 accepts, before base64 */
/* The largest max pods rendered: above the biggest ENI limit in the catalog (c8a.48xlarge:
 * 1,514 on its default network card), with room for newer types. */
#define USERDATA_MAX_PODS 4096
#define USERDATA_INPUT_MAX (1u << 20)    /* the user's spec.userData, bytes */
#define USERDATA_RAW_MAX (4u << 20)      /* a rendered document before compression */
#define USERDATA_STARTUP_TAINT_KEY "stoker.dev/unregistered" /* NoExecute, removed at register */
#define USERDATA_MIME_BOUNDARY "//"      /* as Karpenter uses; changed only if content has it */

enum userdata_phase {
    USERDATA_JOIN = 0, /* the normal rendering: the instance joins the cluster */
    USERDATA_WARM,     /* warm-up: pull images, hydrate the root volume, power off; no join */
};

/* Cluster facts. All strings borrowed. */
struct userdata_cluster {
    const char *name;         /* required */
    const char *endpoint;     /* required, https://... */
    const char *ca_bundle;    /* required, base64 of the PEM bundle (as EKS gives it) */
    const char *service_cidr; /* AL2023 cluster.cidr; NULL = 10.100.0.0/16 */
    const char *cluster_dns;  /* kube-dns ClusterIP; NULL = the .10 of service_cidr; the
                                 EC2NodeClass kubelet.clusterDNS overrides both */
};

/* The node being launched. Everything borrowed; arrays may be NULL when their count is 0. */
struct userdata_node {
    const struct k8s_kubelet *kubelet;  /* EC2NodeClass spec.kubelet; NULL = defaults */
    int32_t max_pods;                   /* > 0: from launcher_max_pods (ENI formula or
                                           override, podsPerCore cap) */
    const struct k8s_labels *labels;    /* NodeClaim labels */
    const struct k8s_taint *taints;
    size_t ntaints;
    const struct k8s_taint *startup_taints; /* the NodeClaim's; the controller's own startup
                                               taint (USERDATA_STARTUP_TAINT_KEY:NoExecute) is
                                               always added */
    size_t nstartup_taints;
    int instance_store_raid0;           /* instanceStorePolicy: RAID0 */
    const char *user_data;              /* EC2NodeClass spec.userData; NULL = none */
};

/* Warm-up phase. */
struct userdata_warm {
    const char *const *images; /* container images to pull ("public.ecr.aws/x/y:tag") */
    size_t nimages;
    int hydrate_root_volume;
    int64_t timeout_s;         /* the whole warm-up; 0 = 900; then powers off anyway */
    int stay_running;          /* do not power off at the end (Hibernated pools: the
                                  controller hibernates the instance with StopInstances, which
                                  a poweroff from inside cannot do) */
};

struct userdata_input {
    enum k8s_ami_family family;
    enum userdata_phase phase;
    struct userdata_cluster cluster;
    struct userdata_node node;
    struct userdata_warm warm;
};

/* What EC2 gets, and what it came from. All owned. */
struct userdata_output {
    char *raw;          /* the rendered document (NUL-terminated) */
    size_t raw_len;
    unsigned char *gz;  /* gzip of raw: the bytes sent as user data (EC2 base64s them) */
    size_t gz_len;      /* <= USERDATA_EC2_MAX */
    char *b64;          /* base64 of gz (launch templates, `userdata render`) */
    size_t b64_len;
};
void userdata_output_cleanup(struct userdata_output *o);

/* Renders in->family for in->phase and appends the document to raw. CORE_E_INVAL naming the
 * field for bad input; CORE_E_UNSUPPORTED for a combination stoker does not render (the warm
 * phase for anything but AL2023, RAID0 on Bottlerocket or Windows), naming it. */
int userdata_render(const struct userdata_input *in, struct core_buf *raw,
                    struct core_err *err) CORE_NODISCARD;

/* gzip (whole document, mtime 0, level 9) + base64. Over USERDATA_EC2_MAX compressed is
 * CORE_E_TOOBIG with the message "UserDataTooLarge: N bytes compressed (M raw), EC2 accepts
 * 16384". */
int userdata_encode(const char *raw, size_t raw_len, struct userdata_output *out,
                    struct core_err *err) CORE_NODISCARD;

/* userdata_render + userdata_encode. */
int userdata_build(const struct userdata_input *in, struct userdata_output *out,
                   struct core_err *err) CORE_NODISCARD;

/* The EC2NodeClass condition ValidationSucceeded for a userdata_build outcome (rc, err): 0 →
 * True / UserDataValid with the sizes when out is given; CORE_E_TOOBIG → False /
 * UserDataTooLarge ("N bytes compressed (M raw), EC2 accepts 16384"); CORE_E_UNSUPPORTED →
 * False / UserDataUnsupported; any other error → False / UserDataInvalid with err's message
 * (which names the field). The controller launches nothing while it is False. *cond's strings
 * are owned (userdata_condition_cleanup); written only on success (CORE_E_NOMEM otherwise). */
int userdata_condition(int rc, const struct core_err *err, const struct userdata_output *out,
                       struct k8s_condition *cond) CORE_NODISCARD;
void userdata_condition_cleanup(struct k8s_condition *cond);

/* Undoes the encoding: base64 text (is_base64) or raw bytes, gunzipped when they start with
 * the gzip magic, appended to raw (bounded by USERDATA_RAW_MAX). */
int userdata_decode(const void *data, size_t len, int is_base64, struct core_buf *raw,
                    struct core_err *err) CORE_NODISCARD;

/* What a booting node would read from its user data: the simulated kubelet's view, and the
 * tests'. Recognises every rendering above (after userdata_decode), gzip or not. */
struct userdata_facts {
    enum k8s_ami_family family;  /* as detected: AL2023 (NodeConfig), AL2 (bootstrap.sh),
                                    Bottlerocket (TOML settings), Windows; 0 = unknown */
    int joins;                   /* a join configuration is present */
    int warm_up;                 /* the warm-up script is present */
    int warm_up_stays_running;   /* ... and does not power the instance off */
    char *cluster_name;
    char *endpoint;
    char *ca_bundle;
    char *cluster_dns;
    int32_t max_pods;            /* 0 = not stated */
    struct k8s_labels labels;
    struct k8s_taint *taints;    /* registerWithTaints / node-taints / --register-with-taints */
    size_t ntaints;
    struct k8s_strings images;   /* warm-up images */
};
void userdata_facts_cleanup(struct userdata_facts *f);
/* Parses a decoded document. An instance whose user data has no join configuration gets
 * joins = 0 (not an error); a malformed document is CORE_E_PARSE. */
int userdata_inspect(const char *raw, size_t len, struct userdata_facts *out,
                     struct core_err *err) CORE_NODISCARD;

#endif /* STOKER_USERDATA_H */
