/*
 * amiresolve/amiresolve.h — the public interface of stoker's amiresolve module: which AMI an
 * EC2NodeClass means, for each architecture and variant, and which of them an instance type
 * gets.
 *
 * Two layers:
 *  - Pure (no I/O, no clock): alias parsing, the public SSM parameter names of an alias
 *    (../shared/reference/eks-nodes.md), the requirements of each AMI, the choice rule, the
 *    mapping from an instance type to its AMI, and the EC2NodeClass status (amis[] and the
 *    AMIsReady condition) from a result or an error.
 *  - The resolver: asynchronous over an aws_client (SSM GetParameters batched 10 names per
 *    call; EC2 DescribeImages with state=available and deprecated images included), with a
 *    cache on the client's loop clock (alias answers for hours, dropped early when a cached
 *    image becomes deprecated; selector answers for minutes) and call counters for metrics.
 *
 * Invariants kept by everything declared here:
 *  - Every external symbol starts with amiresolve_ / AMIRESOLVE_.
 *  - Bad input is CORE_E_INVAL naming the field ("spec.amiSelectorTerms[0].alias: ...");
 *    a family/version combination that does not exist (AL2 on Kubernetes 1.33+, windows2025
 *    before 1.35, a pinned Windows version) is CORE_E_UNSUPPORTED with a message saying what
 *    to use instead; it is reported, never attempted.
 *  - Out-parameters are written only on success; _cleanup/_free accept NULL.
 *  - Nothing here logs.
 */
#ifndef STOKER_AMIRESOLVE_H
#define STOKER_AMIRESOLVE_H

#include "aws/aws.h"
#include "core/core.h"
#include "k8s/k8s.h"
#include "launcher/launcher.h"

#include <jansson.h>
#include <stddef.h>

/* Requirement keys an AMI carries (Karpenter's well-known labels). */
#define AMIRESOLVE_KEY_ARCH "kubernetes.io/arch"
#define AMIRESOLVE_KEY_GPU "karpenter.k8s.aws/instance-gpu-count"
#define AMIRESOLVE_KEY_ACCEL "karpenter.k8s.aws/instance-accelerator-count"

/* ---- pure layer ---------------------------------------------------------------------------- */

/* "al2023@latest", "al2023@v20240807", "bottlerocket@1.20.3" (or "@v1.20.3"), "al2@latest",
 * "windows2022@latest". The version is "latest" or the pinned release as written without a
 * leading 'v' for Bottlerocket. */
struct amiresolve_alias {
    enum k8s_ami_family family;
    char version[64];
};
/* field names the alias in messages ("spec.amiSelectorTerms[0].alias"); may be NULL. */
int amiresolve_alias_parse(const char *text, const char *field, struct amiresolve_alias *out,
                           struct core_err *err) CORE_NODISCARD;
/* "al2", "al2023", "bottlerocket", "windows2019", ... and "custom". */
const char *amiresolve_family_name(enum k8s_ami_family f);

/* One SSM parameter an alias reads: the image for one architecture and variant. */
#define AMIRESOLVE_PARAM_MAX 8u
struct amiresolve_param {
    char name[256];
    const char *arch;    /* Kubernetes' name: "amd64" | "arm64" (static) */
    const char *variant; /* "standard" | "nvidia" | "neuron" (static) */
};
/* Every parameter of the alias for Kubernetes minor k8s ("1.31"), in a fixed order (amd64
 * before arm64, standard, nvidia, neuron). AL2's accelerated image serves both nvidia and
 * neuron and is listed once per variant. */
int amiresolve_alias_params(const struct amiresolve_alias *a, const char *k8s,
                            struct amiresolve_param *out, size_t max, size_t *n,
                            struct core_err *err) CORE_NODISCARD;

/* One resolved AMI. Strings owned. */
struct amiresolve_ami {
    char *id;
    char *name;
    char arch[8];            /* "amd64" | "arm64" */
    char variant[16];        /* "standard" | "nvidia" | "neuron"; "" for selector terms */
    core_ns created;         /* wall */
    core_ns deprecation_time; /* wall; 0 = none */
    int deprecated;          /* deprecation_time has passed (at resolution) */
    char *source;            /* "ssm:/aws/service/...", "id", "name=...,owner=...", "tags:..." */
    struct k8s_requirement *requirements; /* arch In; and for aliases the GPU/accelerator
                                             Exists / DoesNotExist of the variant */
    size_t nrequirements;
};
/* Ordered newest first among equals (see amiresolve_better). */
struct amiresolve_result {
    struct amiresolve_ami *v;
    size_t n;
    char k8s[16];
    enum k8s_ami_family family; /* the alias's, or the EC2NodeClass's amiFamily */
};
void amiresolve_result_cleanup(struct amiresolve_result *r);
int amiresolve_result_copy(struct amiresolve_result *dst, const struct amiresolve_result *src)
    CORE_NODISCARD;

/* The choice rule between two images with the same requirements: not deprecated beats
 * deprecated, then the newer creation date, then the lexically larger name. <0 when x is
 * better, >0 when y is, 0 when equal. */
int amiresolve_better(const struct amiresolve_ami *x, const struct amiresolve_ami *y);

/* The AMI an instance type gets: the first in r (newest first) whose requirements the type's
 * labels meet (kubernetes.io/arch; the GPU and accelerator counts when non-zero). NULL when
 * none fits. */
const struct amiresolve_ami *amiresolve_for_type(const struct amiresolve_result *r,
                                                 const struct launcher_itype *t);

/* EC2NodeClass status: *amis (a new JSON array of {id, name, deprecated, requirements[]} in
 * the API's shape) and the AMIsReady condition (type, status, reason, message: owned strings;
 * free with amiresolve_condition_cleanup). rc/err are the resolution's outcome: 0 gives
 * True/AMIsResolved; otherwise False with a reason a user can act on — AMINotFound (nothing
 * matched; the message names the term), AliasUnsupported (the combination does not exist;
 * what to use instead), InvalidAMISelector (a bad term), AWSError (the service code and
 * message). On failure of this function itself nothing is written. */
int amiresolve_status(const struct amiresolve_result *r, int rc, const struct core_err *err,
                      json_t **amis, struct k8s_condition *cond) CORE_NODISCARD;
/* Frees the strings of a condition filled by amiresolve_status and zeroes it. Accepts NULL. */
void amiresolve_condition_cleanup(struct k8s_condition *cond);

/* ---- resolver ------------------------------------------------------------------------------ */

struct amiresolve;

struct amiresolve_opts {
    core_ns alias_ttl;    /* default 6 h */
    core_ns selector_ttl; /* default 5 min */
    size_t max_entries;   /* cache entries; default 1,000 (oldest dropped first) */
};

/* client is borrowed and must outlive the resolver; its loop's clock drives the cache. */
int amiresolve_new(struct aws_client *client, const struct amiresolve_opts *opts,
                   struct amiresolve **out, struct core_err *err) CORE_NODISCARD;
/* Cancels calls in flight (their callbacks run with CORE_E_CANCELLED, from inside this call)
 * and frees. Accepts NULL. */
void amiresolve_free(struct amiresolve *r);

/* res is borrowed for the callback (copy with amiresolve_result_copy to keep it). */
typedef void (*amiresolve_fn)(void *ud, int rc, const struct amiresolve_result *res,
                              const struct core_err *err);

/* Resolves the EC2NodeClass's amiSelectorTerms (borrowed for the call only) for Kubernetes
 * minor k8s ("1.31"). Terms are ORed; the result holds, per distinct requirement set, the best
 * image (choice rule), ordered newest first. Answers from the cache come back on the next loop
 * turn, never inside this call. A term that matches nothing is not an error unless nothing at
 * all matches (CORE_E_NOTFOUND naming the terms). */
int amiresolve_resolve(struct amiresolve *r, const struct k8s_ec2nodeclass *nc, const char *k8s,
                       amiresolve_fn cb, void *ud, struct core_err *err) CORE_NODISCARD;

/* One alias for every architecture and variant (the `stoker ami resolve --family` path). */
int amiresolve_resolve_alias(struct amiresolve *r, const struct amiresolve_alias *a,
                             const char *k8s, amiresolve_fn cb, void *ud,
                             struct core_err *err) CORE_NODISCARD;

struct amiresolve_stats {
    unsigned long ssm_calls;   /* GetParameters requests */
    unsigned long ec2_calls;   /* DescribeImages requests (pages counted once per call) */
    unsigned long cache_hits;
    unsigned long cache_misses;
    unsigned long early_evictions; /* cached answers dropped because one of their images
                                      became deprecated */
};
void amiresolve_stats(const struct amiresolve *r, struct amiresolve_stats *out);

#endif /* STOKER_AMIRESOLVE_H */
