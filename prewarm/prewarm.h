/*
 * prewarm/prewarm.h — the public interface of stoker's warm-pool logic: what a WarmPool wants
 * (its size now, from size/target and its schedules), what each of its instances is (warming,
 * warm, claimed, failed, stale), what to do about them (launch, terminate, hibernate), what the
 * pool costs while idle, and how big a pool an expected burst needs (advise).
 *
 * The controller (controller/warmpool.c) does the I/O: it gathers the facts (the WarmPool, its
 * instances from DescribeInstances, the AMIs amiresolve answers now, the node count of the
 * NodePool), asks prewarm_plan what to do, does it, and writes the status. prewarm creates no
 * NodeClaims and pairs nothing: the scheduler (launcher_schedule) pairs NodeClaims with the
 * instances prewarm_plan lists as free.
 *
 * Invariants kept by everything declared here:
 *  - Every external symbol starts with prewarm_ / PREWARM_.
 *  - Pure: no network, no clock (times are passed in, wall-clock nanoseconds since the epoch),
 *    no logging. The only file read is the time-zone database (prewarm_tz_offset), bounded.
 *    The same input gives the same output: ties are broken by instance id.
 *  - Out-parameters are written only on success; _free accepts NULL.
 *  - Reasons are short human text naming the rule that decided ("schedule black-friday raises
 *    the floor to 40", "AMI ami-0abc is older than ami-0def", "warm-up timed out after 15m").
 */
#ifndef STOKER_PREWARM_H
#define STOKER_PREWARM_H

#include "core/core.h"
#include "k8s/k8s.h"
#include "launcher/launcher.h"

#include <stddef.h>
#include <stdint.h>

#define PREWARM_REASON_MAX 256
#define PREWARM_WARMUP_TIMEOUT_DEFAULT ((core_ns)900 * CORE_NS_PER_S) /* as userdata's 900 s */
/* How far ahead prewarm_bounds looks for the next schedule start. */
#define PREWARM_LOOKAHEAD ((core_ns)8 * 24 * 3600 * CORE_NS_PER_S)
/* Cost of a stopped instance: its EBS root volume (gp3, us-east-1). */
#define PREWARM_EBS_USD_PER_GB_MONTH 0.08
#define PREWARM_HOURS_PER_MONTH 730.0

/* ------------------------------------------------------------------------------------------ */
/* Time zones                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* The UTC offset (seconds east of UTC) in effect in IANA zone `zone` at wall time `t`, read
 * from the system's compiled zone database (TZif files under /usr/share/zoneinfo, Debian's
 * tzdata). "", "UTC", "Etc/UTC" and "Z" need no file. CORE_E_INVAL for a zone name that is
 * not a plain relative path of letters, digits, '_', '-', '+', '/'; CORE_E_NOTFOUND when the
 * database has no such zone; CORE_E_PARSE for a file that is not TZif; *offset_s unchanged
 * then. Files are read whole, at most 1 MiB. */
int prewarm_tz_offset(const char *zone, core_ns t, int32_t *offset_s,
                      struct core_err *err) CORE_NODISCARD;

/* ------------------------------------------------------------------------------------------ */
/* Size: base and schedules                                                                    */
/* ------------------------------------------------------------------------------------------ */

/*
 * The bounds in force at `now`:
 *  - base: spec.size {min, max}; or spec.target, a share of the NodePool's current nodes
 *    (pool_nodes), rounded up, as both min and max.
 *  - a schedule is active from each start (an RFC 3339 instant, or every time its cron
 *    expression fires, in the expression's time zone) for its duration; while active it raises
 *    the floor: min = max(min, schedule min), max = max(max, schedule max). Several active
 *    schedules: the largest of each. When a window ends the floor falls back (instances above
 *    max are then scaled in by prewarm_plan). A cron window is found from fires up to
 *    min(duration, 400 days) before now: one that began earlier is not seen.
 * next_change is the earliest wall time after now at which the bounds may change (a schedule
 * starts or ends), within PREWARM_LOOKAHEAD; 0 when none.
 * Errors: CORE_E_INVAL (NULL, a pool with neither size nor target), CORE_E_NOTFOUND/PARSE from
 * the zone database naming the schedule ("spec.schedules[1].start: time zone Foo/Bar: ...").
 */
struct prewarm_bounds {
    int64_t min, max;
    int64_t base_min, base_max;     /* before schedules */
    char schedule[64];              /* the active schedule that set min ("" = none) */
    core_ns schedule_end;           /* wall: when that window ends; 0 = none */
    core_ns next_change;
    char reason[PREWARM_REASON_MAX];/* "size 2..5", "target 10% of 37 nodes = 4",
                                       "schedule black-friday raises the floor to 40 until
                                       2026-11-27T23:00:00Z" */
};
int prewarm_bounds(const struct k8s_warmpool *wp, core_ns now, int64_t pool_nodes,
                   struct prewarm_bounds *out, struct core_err *err) CORE_NODISCARD;

/* ------------------------------------------------------------------------------------------ */
/* Instances                                                                                   */
/* ------------------------------------------------------------------------------------------ */

enum prewarm_phase {
    PREWARM_WARMING = 0, /* launched, running its warm-up (or stopping after it) */
    PREWARM_WARM,        /* stopped / hibernated, current, free to claim */
    PREWARM_CLAIMED,     /* tagged with a NodeClaim: being started or joined */
    PREWARM_FAILED,      /* warm-up timed out, or the instance is in a state it cannot leave */
    PREWARM_STALE,       /* warm but not current: old AMI, past maxAge, changed spec */
    PREWARM_GONE,        /* shutting-down / terminated: ignored */
    PREWARM_PHASES
};
const char *prewarm_phase_name(enum prewarm_phase p); /* "warming", "warm", ... */

/* What EC2 says about one instance of the pool (all borrowed). */
struct prewarm_instance {
    const char *id;              /* "i-..." */
    const char *instance_type;
    const char *zone;
    const char *image_id;        /* may be NULL */
    const char *state;           /* EC2 state name: pending, running, stopping, stopped,
                                    shutting-down, terminated */
    int hibernated;              /* stopped by hibernation (state reason) */
    const char *nodeclaim;       /* tag karpenter.sh/nodeclaim; NULL or "" = unclaimed */
    const char *spec_hash;       /* tag stoker.dev/warm-pool-hash; NULL = unknown (stale) */
    core_ns created;             /* wall: tag stoker.dev/warm-since (launch of the warm-up);
                                    0 = unknown (then launch_time); so is a value before 2006
                                    or more than a day after ctx->now */
    core_ns launch_time;         /* wall: EC2 LaunchTime (the last start) */
    double od_price_usd_hr;      /* for the running cost; 0 unknown */
    int64_t root_volume_gib;     /* for the stopped cost; 0 = 20 */
};

/* What "current" means now. */
struct prewarm_context {
    const struct k8s_warmpool *wp;
    core_ns now;                        /* wall */
    const char *spec_hash;              /* what a new warm instance would be made from now */
    const char *const *current_images;  /* AMI ids amiresolve answers now for the pool's
                                           EC2NodeClass; NULL = unknown (no AMI staleness) */
    size_t ncurrent_images;
};

/* The phase of one instance, and why (static or written into why[PREWARM_REASON_MAX]).
 *  - shutting-down / terminated → GONE.
 *  - a non-empty nodeclaim tag → CLAIMED, whatever the state.
 *  - pending / running / stopping, unclaimed: WARMING, or FAILED once older than the warm-up
 *    timeout (spec.prewarm.timeout, default PREWARM_WARMUP_TIMEOUT_DEFAULT) plus 5 minutes
 *    of grace for the power-off (saturating: a huge timeout never fails it). A Hibernated pool's instance that has run for the timeout is
 *    WARMING still, and prewarm_plan hibernates it.
 *  - stopped, unclaimed: STALE when its spec hash differs from ctx->spec_hash, when
 *    current_images is given and does not contain its image, or when older than spec.maxAge
 *    (from created); else WARM.
 *  - anything else (an unknown state) → FAILED. */
enum prewarm_phase prewarm_classify(const struct prewarm_context *ctx,
                                    const struct prewarm_instance *in, char *why);

/* ------------------------------------------------------------------------------------------ */
/* The plan                                                                                    */
/* ------------------------------------------------------------------------------------------ */

struct prewarm_plan_input {
    const struct prewarm_context *ctx;
    const struct prewarm_instance *instances;
    size_t ninstances;
    int64_t pool_nodes;                 /* the NodePool's current nodes (for target) */
    const char *const *zones;           /* where new instances may go (EC2NodeClass subnets ∩
                                           spec.zones); new instances are spread evenly */
    size_t nzones;
    int64_t max_surge;                  /* replacements in flight at once; 0 = max(1, 25% of
                                           bounds.min) */
};

enum prewarm_action_kind {
    PREWARM_LAUNCH = 1,     /* launch one warm-up instance in zone */
    PREWARM_TERMINATE,      /* id */
    PREWARM_HIBERNATE,      /* id: StopInstances Hibernate=true (Hibernated pools) */
};
struct prewarm_action {
    enum prewarm_action_kind kind;
    const char *id;                     /* borrowed from input; NULL for LAUNCH */
    const char *zone;                   /* borrowed from input zones; LAUNCH only */
    char reason[PREWARM_REASON_MAX];
};

struct prewarm_plan {
    struct prewarm_bounds bounds;
    int64_t count[PREWARM_PHASES];      /* instances by phase */
    struct prewarm_action *actions;     /* owned; terminations first, then hibernations, then
                                           launches */
    size_t nactions;
    const struct prewarm_instance **free; /* borrowed: WARM instances, oldest first — what the
                                             scheduler may pair with NodeClaims */
    size_t nfree;
    int no_zones;                       /* a launch was needed but no zone was given: no LAUNCH
                                           action, the rest of the plan stands */
    double idle_usd_per_hour;           /* what the unclaimed instances cost per hour as they
                                           wait: EBS for stopped/hibernated ones, the instance
                                           price plus EBS for running ones */
    char summary[PREWARM_REASON_MAX];   /* "3 warm, 1 warming of 2..5: launch 1 (refill)" */
};

/*
 * Decides, for one pool. Policy:
 *  - FAILED instances are terminated ("warm-up timed out after 15m").
 *  - Refill: while warm + warming (STALE not counted) is below bounds.min, launch, but never
 *    above bounds.max counting every live unclaimed instance, plus max_surge while STALE ones
 *    are being replaced.
 *  - Rotation: STALE instances are terminated oldest first only while warm + stale stays at
 *    least bounds.min (their replacements have become warm), so the ready count never drops
 *    below min when it can be avoided; with min 0 they go at once.
 *  - Scale in: warm instances beyond bounds.max are terminated, oldest first (STALE before WARM).
 *    WARMING ones are left to finish.
 *  - Hibernated pools: WARMING instances running for the warm-up timeout are hibernated.
 *  - Claimed instances are not the pool's to manage: counted, never acted on.
 *  - No zone (nzones 0) while a launch is needed: no launch, no_zones set and the summary says
 *    so; terminations and hibernations are planned as usual.
 * Errors: CORE_E_INVAL (NULL in or out, no ctx or ctx->wp, instances NULL with ninstances > 0,
 * zones NULL with nzones > 0), CORE_E_NOMEM, and prewarm_bounds' errors.
 */
int prewarm_plan(const struct prewarm_plan_input *in, struct prewarm_plan **out,
                 struct core_err *err) CORE_NODISCARD;
void prewarm_plan_free(struct prewarm_plan *p);

/* ------------------------------------------------------------------------------------------ */
/* Validation and instance types                                                               */
/* ------------------------------------------------------------------------------------------ */

/*
 * What the schema cannot check, against the NodePool it names (np NULL: unknown NodePool).
 * Fills reason (a CamelCase condition reason) and msg (naming the field) and returns
 * CORE_E_INVAL on the first problem:
 *   NodePoolNotFound     "spec.nodePoolRef.name: NodePool x not found"
 *   InstanceTypeNotFound "spec.instanceTypes[2]: m9.huge is not in the catalog"
 *   InstanceTypeNotAllowed "spec.instanceTypes[0]: NodePool x does not allow m5.large
 *                          (kubernetes.io/arch In [arm64])"
 *   ZoneNotAllowed       "spec.zones[1]: ..."
 *   HibernationNotSupported "spec.state: Hibernated, but m5.large does not support
 *                           hibernation" (types whose hibernation support is known)
 *   StateNotSupported    "spec.state: Running: ..." (see docs/warm-pools.md)
 *   NoInstanceTypes      "spec.podShape: no instance type the NodePool allows holds it"
 *   InvalidPrewarmTimeout "spec.prewarm.timeout: 2d is over 24h" (longer is no warm-up)
 *   ScheduleInvalid      "spec.schedules[1].start: time zone Foo/Bar: not in the zone
 *                        database" (the zone of a cron start, loaded from the database)
 *   ScheduleOverlap      "spec.schedules[3]: overlaps ..." (absolute starts; done by decode too;
 *                        ends saturate)
 * 0 when valid. reason and msg are written in both cases (empty when valid).
 */
int prewarm_validate(const struct k8s_warmpool *wp, const struct k8s_nodepool *np,
                     const struct launcher_catalog *cat, char reason[64],
                     char msg[PREWARM_REASON_MAX]);

/*
 * The instance types a pool warms, cheapest first (at most max): spec.instanceTypes when given
 * (in that order, minus those not in the catalog); else the cheapest types the NodePool's
 * requirements allow (and spec.zones, if offered there) whose allocatable holds spec.podShape
 * (no podShape: 1 CPU, 2 GiB) plus the DaemonSet overhead given (may be NULL), on-demand.
 * *out is an owned array of borrowed catalog entries. CORE_E_NOTFOUND when none qualifies.
 */
int prewarm_types(const struct k8s_warmpool *wp, const struct k8s_nodepool *np,
                  const struct launcher_offerings *off, core_ns now,
                  const struct k8s_res_list *daemon_overhead, size_t max,
                  const struct launcher_itype ***out, size_t *nout,
                  struct core_err *err) CORE_NODISCARD;

/* ------------------------------------------------------------------------------------------ */
/* Advise                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* The two paths' pod-pending → node-Ready times, from the boot model (the CLI fills them from
 * sim_boot_model_default, so the advice and the simulator agree), and EC2's launch rate. */
struct prewarm_timing {
    double cold_ready_s;        /* launch + join_cold + ready (+ decision) */
    double warm_ready_s;        /* start + join_warm + ready (+ decision) */
    double launch_burst;        /* instances EC2 launches at once (token bucket size) */
    double launch_rate_per_s;   /* and refills per second */
};

struct prewarm_advise_input {
    int64_t pods;
    int64_t cpu_milli;          /* per pod */
    int64_t memory_bytes;       /* per pod */
    core_ns deadline;           /* pods running within this of the burst; 0 = as fast as the
                                   warm path allows */
    const struct launcher_itype *const *types; /* candidates (prewarm_types or the catalog) */
    size_t ntypes;
    struct prewarm_timing timing;
    int64_t root_volume_gib;    /* 0 = 20 */
};

struct prewarm_advice_row {
    const struct launcher_itype *type;  /* borrowed */
    int64_t pods_per_node;
    int64_t nodes;                      /* to hold all the pods */
    int64_t warm;                       /* to hold warm */
    int64_t cold;                       /* launched cold within the deadline */
    double idle_usd_per_hour;           /* the warm instances, stopped */
    double burst_usd_per_hour;          /* all nodes running */
    double seconds_saved_per_pod;       /* cold_ready - warm_ready for pods served warm */
};
struct prewarm_advice {
    struct prewarm_advice_row *rows;    /* owned: cheapest burst first, at most 10 */
    size_t nrows;
    size_t best;                        /* the row to hold (least idle cost that meets the
                                           deadline; ties: fewest instances) */
    int meets_deadline;                 /* the best row's pods are all running in time */
    char summary[PREWARM_REASON_MAX];
};
/*
 * How many warm instances of which type let `pods` such pods run within `deadline`: per type,
 * pods per node from the catalog's allocatable (and its pod limit); nodes = ceil(pods / that);
 * the cold path contributes the instances EC2 can launch (burst + rate × the time left) when
 * the deadline is at least cold_ready_s, else none; the rest must be warm, unless even the
 * warm path is slower than the deadline (meets_deadline 0, warm = nodes).
 * CORE_E_INVAL naming the field (pods, cpu, memory, deadline < 0, no types), CORE_E_NOTFOUND
 * when no candidate holds one pod.
 */
int prewarm_advise(const struct prewarm_advise_input *in, struct prewarm_advice **out,
                   struct core_err *err) CORE_NODISCARD;
void prewarm_advice_free(struct prewarm_advice *a);

#endif /* STOKER_PREWARM_H */
