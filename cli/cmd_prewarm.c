/*
 * cli/cmd_prewarm.c — `stoker prewarm`: the pre-event commands for warm pools. status (a table
 * of the WarmPools' status), scale (spec.size), schedule and cancel (spec.schedules), against a
 * real cluster or `stoker sim serve` through a kubeconfig; and advise (how many warm instances
 * of which type a burst needs), which runs offline unless --pool names a WarmPool to read.
 *
 * Invariants:
 *  - Every flag value is checked before any request is sent; a bad one names the flag and what
 *    was expected (exit 2). Failures of the command (an unknown pool or schedule, an overlap,
 *    a refused write) name the object (exit 1).
 *  - Writes are merge patches of spec. Those that depend on what was read (schedules, scale
 *    keeping max) carry metadata.resourceVersion, so a concurrent change is a 409, after
 *    which the pool is re-read, the checks run again and the write is retried once.
 *  - Requests are synchronous from the caller's view: each runs the loop until its answer or
 *    a deadline (PW_WAIT_S; STOKER_PREWARM_WAIT_S, 1..3600, overrides it, so tests reach the
 *    timeout quickly), so the command never hangs on an unreachable server. The answer lands
 *    in the waiting frame: when the deadline passes first, the client is freed at once (its
 *    requests complete, cancelled, while that frame still lives) and no request follows.
 *  - advise's arithmetic is prewarm_advise's; this file only picks the candidates, fills the
 *    timing from the simulator's boot model (so advice and simulation agree) and prints.
 */
#include "cli/cli.h"

#include "aws/aws.h"
#include "core/core.h"
#include "k8s/k8s.h"
#include "launcher/launcher.h"
#include "prewarm/prewarm.h"
#include "sim/sim.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PW_SIZE_MAX 100000        /* the CRD's bound on size.min / size.max */
#define PW_PODS_MAX 1000000
#define PW_NAME_MAX 63            /* the CRD's bound on a schedule name */
#define PW_OBJ_NAME_MAX 253
#define PW_WAIT_S 60              /* one request, including the client's own retries */
#define PW_WAIT_MAX_S 3600
#define PW_REQ_TIMEOUT_S 20
#define PW_MAX_TYPES 100          /* candidates taken from prewarm_types */
#define PW_MAX_TYPE_FLAGS 64      /* names in --types */
/* Memory per pod above this is a typo, and keeps milli-bytes inside int64. */
#define PW_MEMORY_MAX ((int64_t)1 << 50)
/* Timing terms besides the boot model (see cli_prewarm_timing). */
#define PW_DECISION_S 1.0         /* the controller's batch window before it acts */
#define PW_WARM_CALLS_S 1.0       /* DescribeInstances, ModifyInstanceAttribute, CreateTags */
/* The emulated EC2's instance launch bucket (docs/simulator.md, "Token buckets"). */
#define PW_LAUNCH_BURST 1000.0
#define PW_LAUNCH_RATE 2.0
#define PW_DEFAULT_REGION "us-east-1"
#define PW_MIN_GENERATION 6

/* ------------------------------------------------------------------------------------------ */
/* Flags                                                                                       */
/* ------------------------------------------------------------------------------------------ */

enum pw_flag {
    F_KUBECONFIG = 0, F_CONTEXT, F_MIN, F_MAX, F_AT, F_FOR, F_NAME, F_PODS, F_CPU, F_MEMORY,
    F_DEADLINE, F_POOL, F_TYPES, F_OUTPUT, F_COUNT
};
static const char *const flag_names[F_COUNT] = {
    "--kubeconfig", "--context", "--min", "--max", "--at", "--for", "--name", "--pods", "--cpu",
    "--memory", "--deadline", "--pool", "--types", "--output",
};
#define FB(f) (1u << (f))
#define F_CLUSTER (FB(F_KUBECONFIG) | FB(F_CONTEXT))

struct pw_args {
    const char *val[F_COUNT];
    const char *pool; /* the positional POOL */
};

struct pw_sub {
    const char *name;
    unsigned flags;        /* FB() of the flags it takes */
    int positional;        /* 0 none, 1 optional POOL, 2 required POOL */
    const char *usage;     /* the usage line(s) */
    const char *help;      /* what it does and its flags */
    int (*run)(const struct pw_args *a, FILE *out, FILE *errout);
};

static const char cluster_help[] =
    "  --kubeconfig PATH    kubeconfig (KUBECONFIG, ~/.kube/config; in-cluster configuration\n"
    "                       when KUBERNETES_SERVICE_HOST is set)\n"
    "  --context C          kubeconfig context (default: the current one)\n";

static int run_status(const struct pw_args *a, FILE *out, FILE *errout);
static int run_scale(const struct pw_args *a, FILE *out, FILE *errout);
static int run_schedule(const struct pw_args *a, FILE *out, FILE *errout);
static int run_cancel(const struct pw_args *a, FILE *out, FILE *errout);
static int run_advise(const struct pw_args *a, FILE *out, FILE *errout);

static const struct pw_sub subs[] = {
    {"status", F_CLUSTER, 1, "stoker prewarm status [POOL] [--kubeconfig PATH] "
     "[--context C]",
     "Prints one row per WarmPool (or only POOL): its NodePool and state, its instances by\n"
     "phase (warming, warm, claimed, failed, stale), the bounds in force (min, max, the\n"
     "active schedule), AMI freshness, what the pool costs per hour while idle, and its Ready\n"
     "condition. Pools that are not Ready get a line with the condition's message; with\n"
     "POOL, the controller's last sizing decision too.\n"
     "\n",
     run_status},
    {"scale", F_CLUSTER | FB(F_MIN) | FB(F_MAX), 2,
     "stoker prewarm scale POOL --min N [--max M] [--kubeconfig PATH] [--context C]",
     "Sets spec.size of WarmPool POOL. Without --max the current size.max is kept when it is\n"
     "at least N, else max becomes N. A pool sized by spec.target is switched to spec.size.\n"
     "\n"
     "  --min N              warm instances to hold, 0..100000\n"
     "  --max M              at most this many, N..100000\n",
     run_scale},
    {"schedule", F_CLUSTER | FB(F_AT) | FB(F_FOR) | FB(F_MIN) | FB(F_MAX) | FB(F_NAME), 2,
     "stoker prewarm schedule POOL --at TIME --for DURATION --min N [--max M] [--name NAME]\n"
     "                        [--kubeconfig PATH] [--context C]",
     "Adds a schedule to WarmPool POOL: from TIME for DURATION the pool holds at least N warm\n"
     "instances (and up to M). Refused when the name is taken or the window overlaps another\n"
     "schedule with an absolute start.\n"
     "\n"
     "  --at TIME            an RFC 3339 time with an offset (2026-11-27T08:00:00Z,\n"
     "                       2026-11-27T09:00:00+01:00), \"now\", or \"+DURATION\" from now (+30m)\n"
     "  --for DURATION       how long the window lasts, a Go duration (2h, 90m)\n"
     "  --min N              the floor during the window, 0..100000\n"
     "  --max M              the ceiling during the window, N..100000 (default N)\n"
     "  --name NAME          the schedule's name, 1 to 63 letters, digits, '-', '_' or '.'\n"
     "                       (default manual-<start in UTC, yyyymmddThhmm>)\n",
     run_schedule},
    {"cancel", F_CLUSTER | FB(F_NAME), 2,
     "stoker prewarm cancel POOL --name NAME [--kubeconfig PATH] [--context C]",
     "Removes schedule NAME from WarmPool POOL.\n"
     "\n"
     "  --name NAME          the schedule to remove\n",
     run_cancel},
    {"advise", F_CLUSTER | FB(F_PODS) | FB(F_CPU) | FB(F_MEMORY) | FB(F_DEADLINE) | FB(F_POOL) |
                   FB(F_TYPES) | FB(F_OUTPUT), 0,
     "stoker prewarm advise --pods N --cpu Q --memory Q [--deadline D] [--pool POOL]\n"
     "                      [--types t1,t2] [-o table|json] [--kubeconfig PATH] [--context C]",
     "How many warm instances of which type to hold so that N pods of this shape run within\n"
     "the deadline, what they cost per hour while idle, and the time they save per pod; with\n"
     "a WarmPool spec to apply. Timing comes from the simulator's default boot model: cold =\n"
     "launch + join_cold + ready + 1 s (batch window), warm = start + join_warm + ready + 1 s\n"
     "+ 1 s (describe/modify/tag calls); cold launches are capped by EC2's launch bucket as\n"
     "the emulator models it (1000 at once, then 2 per second). Candidates: the compiled-in\n"
     "catalog's current-generation (6+) amd64 c, m and r types without GPUs or accelerators\n"
     "(not metal); with --pool, the types WarmPool POOL would warm for this pod (its\n"
     "instanceTypes, or what its NodePool allows), read from the cluster. Without --pool no\n"
     "cluster is needed.\n"
     "\n"
     "  --pods N             pods in the burst, 1..1000000\n"
     "  --cpu Q              CPU per pod, a Kubernetes quantity (1, 500m)\n"
     "  --memory Q           memory per pod, a Kubernetes quantity (2Gi, 512Mi)\n"
     "  --deadline D         pods running within D of the burst, a Go duration (20s, 5m);\n"
     "                       default 0: as fast as the warm path allows\n"
     "  --pool POOL          take the candidates from WarmPool POOL and its NodePool\n"
     "  --types t1,t2        only these instance types\n"
     "  -o, --output F       table (default) or json\n",
     run_advise},
};
#define NSUBS (sizeof subs / sizeof subs[0])

static void prewarm_usage(FILE *f)
{
    fprintf(f, "usage: stoker prewarm <status|scale|schedule|cancel|advise> [flags]\n"
               "\n"
               "Pre-event commands for warm pools (stoker.dev/v1alpha1 WarmPool):\n"
               "  status    the pools' state, bounds, AMI freshness and idle cost\n"
               "  scale     set a pool's size\n"
               "  schedule  raise a pool's floor for a window (an event)\n"
               "  cancel    remove a schedule\n"
               "  advise    how big a pool a burst of pods needs, and what it costs\n"
               "\n"
               "Each has --help. Exit codes: 0 success, 1 the command failed (unknown pool or\n"
               "schedule, a refused write), 2 usage error (a bad flag or value).\n");
}

static void sub_usage(const struct pw_sub *s, FILE *f)
{
    fprintf(f, "usage: %s\n\n%s", s->usage, s->help);
    if (s->flags & F_CLUSTER)
        fputs(cluster_help, f);
    fputs("  -h, --help           show this help\n"
          "\nExit codes: 0 success, 1 failure, 2 usage error.\n", f);
}

/* 0, -1 for --help (printed), or CLI_EXIT_USAGE (said why). */
static int parse_args(const struct pw_sub *s, int argc, char **argv, struct pw_args *a,
                      FILE *out, FILE *errout)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int missing = 0, matched = 0;

        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            sub_usage(s, out);
            return -1;
        }
        for (int f = 0; f < F_COUNT && !matched; f++) {
            if (!(s->flags & FB(f)))
                continue;
            v = cli_flag_value(argc, argv, &i, flag_names[f], &missing);
            if (!v && !missing && f == F_OUTPUT)
                v = cli_flag_value(argc, argv, &i, "-o", &missing);
            if (v || missing) {
                matched = 1;
                if (missing) {
                    fprintf(errout, "stoker prewarm %s: %s: expected a value\n", s->name,
                            argv[i]);
                    return CLI_EXIT_USAGE;
                }
                if (a->val[f]) {
                    fprintf(errout, "stoker prewarm %s: %s given twice\n", s->name,
                            flag_names[f]);
                    return CLI_EXIT_USAGE;
                }
                a->val[f] = v;
            }
        }
        if (matched)
            continue;
        if (argv[i][0] == '-' || s->positional == 0 || a->pool) {
            fprintf(errout, "stoker prewarm %s: unknown argument '%s'\n\n", s->name, argv[i]);
            sub_usage(s, errout);
            return CLI_EXIT_USAGE;
        }
        a->pool = argv[i];
    }
    if (s->positional == 2 && !a->pool) {
        fprintf(errout, "stoker prewarm %s: POOL is required\n\nusage: %s\n", s->name,
                s->usage);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* A Kubernetes object name: 1..253 of [a-z0-9.-], starting and ending alphanumeric. */
static int valid_object_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > PW_OBJ_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !((c == '-' || c == '.') && i > 0 && i + 1 < n))
            return 0;
    }
    return 1;
}

static int check_pool_arg(const char *sub, const char *what, const char *pool, FILE *errout)
{
    if (pool && !valid_object_name(pool)) {
        fprintf(errout, "stoker prewarm %s: %s: expected a WarmPool name (lower-case letters, "
                        "digits, '-' and '.', at most 253), got '%s'\n", sub, what, pool);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static int parse_size(const char *sub, const char *flag, const char *v, int64_t *out,
                      FILE *errout)
{
    if (core_parse_i64(v, 0, PW_SIZE_MAX, out) != 0) {
        fprintf(errout, "stoker prewarm %s: %s: expected an integer in 0..%d, got '%s'\n", sub,
                flag, PW_SIZE_MAX, v);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* --min and --max (optional; *max = -1 when absent), N <= M. */
static int parse_min_max(const char *sub, const struct pw_args *a, int64_t *min, int64_t *max,
                         FILE *errout)
{
    if (!a->val[F_MIN]) {
        fprintf(errout, "stoker prewarm %s: --min: required\n", sub);
        return CLI_EXIT_USAGE;
    }
    if (parse_size(sub, "--min", a->val[F_MIN], min, errout) != 0)
        return CLI_EXIT_USAGE;
    *max = -1;
    if (a->val[F_MAX] && parse_size(sub, "--max", a->val[F_MAX], max, errout) != 0)
        return CLI_EXIT_USAGE;
    if (*max >= 0 && *max < *min) {
        fprintf(errout, "stoker prewarm %s: --max: %" PRId64 " is less than --min %" PRId64
                        "\n", sub, *max, *min);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The cluster                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* One connection to the API server, torn down by kube_close whatever kube_open reached. */
struct pw_kube {
    struct k8s_config kc;
    struct aws_config acfg;
    struct core_clock *clock;
    struct core_loop *loop;
    struct core_http_transport *t;
    struct aws_creds_provider *creds;
    struct k8s_auth *auth;
    struct k8s_client *client;  /* NULL once abandoned after a timeout */
    core_ns wait;               /* the deadline of one request */
};

struct pw_wait {
    int done;
    int rc;
    json_t *obj; /* owned */
    struct core_err err;
};

static void kube_close(struct pw_kube *k)
{
    k8s_client_free(k->client);
    k8s_auth_free(k->auth);
    aws_creds_provider_free(k->creds);
    core_http_transport_free(k->t);
    core_loop_free(k->loop);
    core_clock_free(k->clock);
    k8s_config_cleanup(&k->kc);
    memset(k, 0, sizeof *k);
}

/* 0, or an exit code after saying why on errout. */
static int kube_open(struct pw_kube *k, const char *sub, const struct pw_args *a, FILE *errout)
{
    struct core_loop_opts lo = {1, 0};
    struct k8s_client_opts o;
    struct core_err err;
    int in_cluster = !a->val[F_KUBECONFIG] && aws_env_get(NULL, "KUBERNETES_SERVICE_HOST");

    memset(k, 0, sizeof *k);
    memset(&o, 0, sizeof o);
    core_err_clear(&err);
    if (a->val[F_KUBECONFIG] && !*a->val[F_KUBECONFIG]) {
        fprintf(errout, "stoker prewarm %s: --kubeconfig: expected a path\n", sub);
        return CLI_EXIT_USAGE;
    }
    if (in_cluster ? k8s_config_in_cluster(NULL, NULL, &k->kc, &err)
                   : k8s_config_load_kubeconfig(NULL, a->val[F_KUBECONFIG], a->val[F_CONTEXT],
                                                &k->kc, &err)) {
        fprintf(errout, "stoker prewarm %s: %s: %s\n", sub,
                in_cluster ? "in-cluster configuration" : "--kubeconfig", err.message);
        kube_close(k);
        return CLI_EXIT_USAGE;
    }
    {
        const char *v = aws_env_get(NULL, "STOKER_PREWARM_WAIT_S");
        int64_t secs = PW_WAIT_S;
        if (v && core_parse_i64(v, 1, PW_WAIT_MAX_S, &secs) != 0) {
            fprintf(errout, "stoker prewarm %s: STOKER_PREWARM_WAIT_S: expected seconds, "
                    "1..%d\n", sub, PW_WAIT_MAX_S);
            kube_close(k);
            return CLI_EXIT_USAGE;
        }
        k->wait = (core_ns)secs * CORE_NS_PER_S;
    }
    o.timeout = (core_ns)PW_REQ_TIMEOUT_S * CORE_NS_PER_S;
    o.max_retries = 2;
    k->clock = core_clock_real_new();
    if (!k->clock || core_loop_new(k->clock, &lo, &k->loop, &err) != 0 ||
        core_http_curl_new(k->loop, NULL, &k->t, &err) != 0)
        goto fail;
    /* Only an EKS-token user needs AWS credentials (exec plugins bring their own). */
    if (k->kc.auth == K8S_AUTH_EKS &&
        (aws_config_resolve(&k->acfg, NULL, k->kc.eks_region, &err) != 0 ||
         aws_creds_chain_new(k->loop, k->t, NULL, &k->acfg, NULL, &k->creds, &err) != 0))
        goto fail;
    if (k8s_auth_new(k->loop, &k->kc, k->creds, &k->auth, &err) != 0 ||
        k8s_client_new(k->loop, k->t, &k->kc, k->auth, &o, &k->client, &err) != 0)
        goto fail;
    return 0;
fail:
    fprintf(errout, "stoker prewarm %s: %s\n", sub, err.message[0] ? err.message
                                                                     : "out of memory");
    kube_close(k);
    return CLI_EXIT_FAIL;
}

static void on_answer(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct pw_wait *w = ud;

    w->done = 1;
    w->rc = rc;
    if (rc == 0) {
        w->obj = obj ? json_incref(obj) : NULL;
    } else if (err && err->code) {
        w->err = *err;
    } else {
        core_err_set(&w->err, rc, "%s", core_strerror(rc));
    }
}

/* Waits for a request started with on_answer(w). 0 with w->obj (may be NULL), or the error.
 * When no answer came, the request is still in flight and would answer into w after this frame
 * is gone: freeing the client completes it now (cancelled), while w lives. */
static int kube_wait(struct pw_kube *k, struct pw_wait *w, struct core_err *err)
{
    struct core_err lerr;

    core_err_clear(&lerr);
    if (core_loop_run_until(k->loop, &w->done, core_loop_now(k->loop) + k->wait, &lerr) != 0 ||
        !w->done) {
        int rc = core_err_set(err, CORE_E_TIMEOUT, "%s: %s",
                              k->kc.server ? k->kc.server : "API server",
                              core_loop_stopping(k->loop) ? "interrupted"
                                                          : "no answer in time");
        k8s_client_free(k->client);
        k->client = NULL;
        json_decref(w->obj);
        w->obj = NULL;
        return rc;
    }
    if (w->rc != 0) {
        *err = w->err;
        return w->rc;
    }
    return 0;
}

static int abandoned(struct core_err *err)
{
    return core_err_set(err, CORE_E_CANCELLED,
                        "the API server connection was given up after an earlier timeout");
}

/* GETs one object (resource res, cluster-scoped) into *obj (owned). */
static int kube_get(struct pw_kube *k, const struct k8s_resource *res, const char *name,
                    json_t **obj, struct core_err *err)
{
    struct pw_wait w;
    int rc;

    memset(&w, 0, sizeof w);
    if (!k->client)
        return abandoned(err);
    if ((rc = k8s_get(k->client, res, NULL, name, on_answer, &w, err)) != 0)
        return rc;
    if ((rc = kube_wait(k, &w, err)) != 0)
        return rc;
    if (!json_is_object(w.obj)) {
        json_decref(w.obj);
        return core_err_set(err, CORE_E_PARSE, "GET %s %s: the answer is not an object",
                            res->kind, name);
    }
    *obj = w.obj;
    return 0;
}

static int kube_patch(struct pw_kube *k, const char *name, const json_t *patch,
                      json_t **obj, struct core_err *err)
{
    struct pw_wait w;
    int rc;

    memset(&w, 0, sizeof w);
    if (!k->client)
        return abandoned(err);
    if ((rc = k8s_patch(k->client, &k8s_res_warmpools, NULL, name, NULL, K8S_PATCH_MERGE, patch,
                        on_answer, &w, err)) != 0)
        return rc;
    if ((rc = kube_wait(k, &w, err)) != 0)
        return rc;
    if (obj)
        *obj = w.obj;
    else
        json_decref(w.obj);
    return 0;
}

/* Reads and decodes WarmPool name. *raw (owned) is the object as read. Prints the failure and
 * returns an exit code, or 0. */
static int read_pool(struct pw_kube *k, const char *sub, const char *name, json_t **raw,
                     struct k8s_warmpool *wp, FILE *errout)
{
    struct core_err err;
    json_t *obj = NULL;
    int rc;

    core_err_clear(&err);
    if ((rc = kube_get(k, &k8s_res_warmpools, name, &obj, &err)) != 0) {
        if (rc == CORE_E_NOTFOUND)
            fprintf(errout, "stoker prewarm %s: warmpool %s not found\n", sub, name);
        else
            fprintf(errout, "stoker prewarm %s: warmpool %s: %s\n", sub, name, err.message);
        return CLI_EXIT_FAIL;
    }
    memset(wp, 0, sizeof *wp);
    if (k8s_warmpool_decode(obj, wp, &err) != 0) {
        fprintf(errout, "stoker prewarm %s: %s\n", sub, err.message);
        json_decref(obj);
        return CLI_EXIT_FAIL;
    }
    *raw = obj;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* status                                                                                      */
/* ------------------------------------------------------------------------------------------ */

enum { C_NAME, C_NODEPOOL, C_STATE, C_WARMING, C_WARM, C_CLAIMED, C_FAILED, C_STALE, C_MIN,
       C_MAX, C_SCHEDULE, C_AMI, C_COST, C_READY, NCOLS };
static const char *const col_names[NCOLS] = {
    "NAME", "NODEPOOL", "STATE", "WARMING", "WARM", "CLAIMED", "FAILED", "STALE", "MIN", "MAX",
    "SCHEDULE", "AMI", "COST/H", "READY",
};
#define CELL_MAX 96
#define NOTE_MAX 512

struct status_row {
    char cell[NCOLS][CELL_MAX];
    char note[NOTE_MAX];     /* Ready's message when not True */
    char decision[NOTE_MAX]; /* lastDecision */
};

static const char *state_name(enum k8s_warm_state s)
{
    switch (s) {
    case K8S_WARM_HIBERNATED:
        return "Hibernated";
    case K8S_WARM_RUNNING:
        return "Running";
    default:
        return "Stopped";
    }
}

static void fill_row(const struct k8s_warmpool *w, struct status_row *r)
{
    const struct k8s_condition *c = k8s_condition_find(w->conditions, w->nconditions, "Ready");
    int64_t counts[5] = {w->warming, w->warm, w->claimed, w->failed, w->stale};

    memset(r, 0, sizeof *r);
    snprintf(r->cell[C_NAME], CELL_MAX, "%s", w->meta.name ? w->meta.name : "");
    snprintf(r->cell[C_NODEPOOL], CELL_MAX, "%s", w->nodepool ? w->nodepool : "-");
    snprintf(r->cell[C_STATE], CELL_MAX, "%s", state_name(w->state));
    for (int i = 0; i < 5; i++)
        snprintf(r->cell[C_WARMING + i], CELL_MAX, "%" PRId64, counts[i]);
    snprintf(r->cell[C_MIN], CELL_MAX, "%" PRId64, w->status_min);
    snprintf(r->cell[C_MAX], CELL_MAX, "%" PRId64, w->status_max);
    snprintf(r->cell[C_SCHEDULE], CELL_MAX, "%s",
             w->active_schedule && *w->active_schedule ? w->active_schedule : "-");
    /* Freshness needs the images the controller compared against; without them, unknown. */
    if (w->stale > 0)
        snprintf(r->cell[C_AMI], CELL_MAX, "%" PRId64 " stale", w->stale);
    else
        snprintf(r->cell[C_AMI], CELL_MAX, "%s", w->status_images.n > 0 ? "fresh" : "-");
    if (w->idle_cost_per_hour && *w->idle_cost_per_hour)
        snprintf(r->cell[C_COST], CELL_MAX, "$%s", w->idle_cost_per_hour);
    else
        snprintf(r->cell[C_COST], CELL_MAX, "-");
    if (!c) {
        snprintf(r->cell[C_READY], CELL_MAX, "-");
    } else {
        const char *st = c->status == K8S_COND_TRUE    ? "True"
                         : c->status == K8S_COND_FALSE ? "False"
                                                       : "Unknown";
        if (c->reason && *c->reason)
            snprintf(r->cell[C_READY], CELL_MAX, "%s (%s)", st, c->reason);
        else
            snprintf(r->cell[C_READY], CELL_MAX, "%s", st);
        if (c->status != K8S_COND_TRUE && c->message && *c->message)
            snprintf(r->note, NOTE_MAX, "%s", c->message);
    }
    if (w->last_decision && *w->last_decision)
        snprintf(r->decision, NOTE_MAX, "%s", w->last_decision);
}

static int row_cmp(const void *a, const void *b)
{
    return strcmp(((const struct status_row *)a)->cell[C_NAME],
                  ((const struct status_row *)b)->cell[C_NAME]);
}

static void print_status(const struct status_row *rows, size_t n, int one, FILE *out)
{
    size_t w[NCOLS];

    for (int c = 0; c < NCOLS; c++) {
        w[c] = strlen(col_names[c]);
        for (size_t i = 0; i < n; i++)
            if (strlen(rows[i].cell[c]) > w[c])
                w[c] = strlen(rows[i].cell[c]);
    }
    for (int c = 0; c < NCOLS; c++)
        fprintf(out, "%-*s%s", (int)(c + 1 < NCOLS ? w[c] : 0), col_names[c],
                c + 1 < NCOLS ? "  " : "\n");
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < NCOLS; c++)
            fprintf(out, "%-*s%s", (int)(c + 1 < NCOLS ? w[c] : 0), rows[i].cell[c],
                    c + 1 < NCOLS ? "  " : "\n");
    for (size_t i = 0; i < n; i++) {
        if (rows[i].note[0])
            fprintf(out, "%s: not ready: %s\n", rows[i].cell[C_NAME], rows[i].note);
        if (one && rows[i].decision[0])
            fprintf(out, "%s: last decision: %s\n", rows[i].cell[C_NAME], rows[i].decision);
    }
}

static int run_status(const struct pw_args *a, FILE *out, FILE *errout)
{
    struct pw_kube k;
    struct status_row *rows = NULL;
    struct core_err err;
    size_t n = 0;
    int rc, bad = 0;

    if ((rc = check_pool_arg("status", "POOL", a->pool, errout)) != 0)
        return rc;
    if ((rc = kube_open(&k, "status", a, errout)) != 0)
        return rc;
    core_err_clear(&err);
    rc = CLI_EXIT_FAIL;
    if (a->pool) {
        struct k8s_warmpool wp;
        json_t *raw = NULL;
        if ((rc = read_pool(&k, "status", a->pool, &raw, &wp, errout)) != 0)
            goto done;
        rc = CLI_EXIT_FAIL;
        if (!(rows = core_calloc(1, sizeof *rows))) {
            k8s_warmpool_cleanup(&wp);
            json_decref(raw);
            goto nomem;
        }
        fill_row(&wp, &rows[0]);
        n = 1;
        k8s_warmpool_cleanup(&wp);
        json_decref(raw);
    } else {
        struct pw_wait w;
        const json_t *items, *item;
        size_t i;

        memset(&w, 0, sizeof w);
        if (k8s_list(k.client, &k8s_res_warmpools, NULL, NULL, on_answer, &w, &err) != 0 ||
            kube_wait(&k, &w, &err) != 0) {
            fprintf(errout, "stoker prewarm status: listing WarmPools: %s\n", err.message);
            goto done;
        }
        items = json_object_get(w.obj, "items");
        if (json_array_size(items) > 0 &&
            !(rows = core_calloc(json_array_size(items), sizeof *rows))) {
            json_decref(w.obj);
            goto nomem;
        }
        json_array_foreach(items, i, item) {
            struct k8s_warmpool wp;
            memset(&wp, 0, sizeof wp);
            if (k8s_warmpool_decode(item, &wp, &err) != 0) {
                /* One bad pool does not hide the others; the exit code tells. */
                fprintf(errout, "stoker prewarm status: %s\n", err.message);
                bad = 1;
                continue;
            }
            fill_row(&wp, &rows[n++]);
            k8s_warmpool_cleanup(&wp);
        }
        json_decref(w.obj);
        if (n == 0 && !bad) {
            fprintf(out, "no WarmPools\n");
            rc = CLI_EXIT_OK;
            goto done;
        }
        qsort(rows, n, sizeof *rows, row_cmp);
    }
    print_status(rows, n, a->pool != NULL, out);
    rc = bad ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    goto done;
nomem:
    fprintf(errout, "stoker prewarm status: out of memory\n");
    rc = CLI_EXIT_FAIL;
done:
    core_free(rows);
    kube_close(&k);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* scale, schedule, cancel: read, check, write with resourceVersion, retry once on 409          */
/* ------------------------------------------------------------------------------------------ */

/* What one write command wants: build turns the pool as read into a spec patch (owned, in
 * *patch) or refuses with an exit code, having said why. */
struct pw_write {
    const char *sub;
    const char *pool;
    int (*build)(void *ud, const json_t *raw, const struct k8s_warmpool *wp, json_t **patch,
                 FILE *errout);
    void *ud;
};

static int write_pool(const struct pw_write *wr, const struct pw_args *a, json_t **result,
                      FILE *errout)
{
    struct pw_kube k;
    struct core_err err;
    int rc;

    if ((rc = kube_open(&k, wr->sub, a, errout)) != 0)
        return rc;
    for (int attempt = 0;; attempt++) {
        struct k8s_warmpool wp;
        json_t *raw = NULL, *patch = NULL, *meta;
        const char *rv;

        if ((rc = read_pool(&k, wr->sub, wr->pool, &raw, &wp, errout)) != 0)
            break;
        rc = wr->build(wr->ud, raw, &wp, &patch, errout);
        rv = json_string_value(json_object_get(json_object_get(raw, "metadata"),
                                               "resourceVersion"));
        if (rc == 0 && rv) {
            meta = json_pack("{s:s}", "resourceVersion", rv);
            if (!meta || json_object_set_new(patch, "metadata", meta) != 0) {
                fprintf(errout, "stoker prewarm %s: out of memory\n", wr->sub);
                rc = CLI_EXIT_FAIL;
            }
        }
        k8s_warmpool_cleanup(&wp);
        json_decref(raw);
        if (rc != 0) {
            json_decref(patch);
            break;
        }
        core_err_clear(&err);
        rc = kube_patch(&k, wr->pool, patch, result, &err);
        json_decref(patch);
        if (rc == CORE_E_CONFLICT && attempt == 0)
            continue; /* changed since we read it: read again, check again */
        if (rc == CORE_E_NOTFOUND) {
            fprintf(errout, "stoker prewarm %s: warmpool %s not found\n", wr->sub, wr->pool);
            rc = CLI_EXIT_FAIL;
        } else if (rc != 0) {
            fprintf(errout, "stoker prewarm %s: warmpool %s: %s%s\n", wr->sub, wr->pool,
                    err.message,
                    rc == CORE_E_CONFLICT ? " (changed again while retrying; run it again)"
                                          : "");
            rc = CLI_EXIT_FAIL;
        }
        break;
    }
    kube_close(&k);
    return rc;
}

struct scale_req {
    int64_t min, max; /* max -1: keep or raise */
    int64_t new_max;
    int64_t old_min, old_max;
    int had_target;
};

static int build_scale(void *ud, const json_t *raw, const struct k8s_warmpool *wp,
                       json_t **patch, FILE *errout)
{
    struct scale_req *s = ud;
    json_t *spec;

    (void)raw;
    s->had_target = wp->has_target;
    s->old_min = wp->has_size ? wp->size.min : -1;
    s->old_max = wp->has_size ? wp->size.max : -1;
    if (s->max >= 0)
        s->new_max = s->max;
    else
        s->new_max = wp->has_size && wp->size.max >= s->min ? wp->size.max : s->min;
    spec = json_pack("{s:{s:I, s:I}}", "size", "min", (json_int_t)s->min, "max",
                     (json_int_t)s->new_max);
    /* Merge patch: null removes target, so exactly one of size and target remains. */
    if (spec && wp->has_target && json_object_set_new(spec, "target", json_null()) != 0) {
        json_decref(spec);
        spec = NULL;
    }
    if (!spec || !(*patch = json_pack("{s:o}", "spec", spec))) {
        fprintf(errout, "stoker prewarm scale: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    return 0;
}

static int run_scale(const struct pw_args *a, FILE *out, FILE *errout)
{
    struct scale_req s;
    struct pw_write wr = {"scale", a->pool, build_scale, &s};
    int rc;

    memset(&s, 0, sizeof s);
    if ((rc = check_pool_arg("scale", "POOL", a->pool, errout)) != 0 ||
        (rc = parse_min_max("scale", a, &s.min, &s.max, errout)) != 0)
        return rc;
    if ((rc = write_pool(&wr, a, NULL, errout)) != 0)
        return rc;
    fprintf(out, "warmpool %s: size min=%" PRId64 " max=%" PRId64, a->pool, s.min, s.new_max);
    if (s.had_target)
        fprintf(out, " (was sized by target)");
    else if (s.old_min >= 0)
        fprintf(out, " (was min=%" PRId64 " max=%" PRId64 ")", s.old_min, s.old_max);
    fputc('\n', out);
    return CLI_EXIT_OK;
}

struct sched_req {
    char name[PW_NAME_MAX + 1];
    char start[40];       /* RFC 3339 UTC */
    core_ns start_time;
    core_ns duration;
    char duration_text[64];
    int64_t min, max;
};

static core_ns window_end(core_ns start, core_ns duration)
{
    return start > INT64_MAX - duration ? INT64_MAX : start + duration;
}

static int build_schedule(void *ud, const json_t *raw, const struct k8s_warmpool *wp,
                          json_t **patch, FILE *errout)
{
    const struct sched_req *s = ud;
    const json_t *old = json_object_get(json_object_get(raw, "spec"), "schedules");
    core_ns end = window_end(s->start_time, s->duration);
    json_t *list, *item;

    for (size_t i = 0; i < wp->nschedules; i++) {
        const struct k8s_warm_schedule *o = &wp->schedules[i];
        if (strcmp(o->name, s->name) == 0) {
            fprintf(errout, "stoker prewarm schedule: warmpool %s already has a schedule "
                            "named %s\n", wp->meta.name, s->name);
            return CLI_EXIT_FAIL;
        }
        if (!o->start_is_cron && o->start_time < end &&
            s->start_time < window_end(o->start_time, o->duration)) {
            char os[40], oe[40];
            core_time_rfc3339(o->start_time, os, sizeof os);
            core_time_rfc3339(window_end(o->start_time, o->duration), oe, sizeof oe);
            fprintf(errout, "stoker prewarm schedule: the window overlaps schedule %s of "
                            "warmpool %s (%s to %s)\n", o->name, wp->meta.name, os, oe);
            return CLI_EXIT_FAIL;
        }
    }
    list = json_is_array(old) ? json_deep_copy(old) : json_array();
    item = json_pack("{s:s, s:s, s:s, s:{s:I, s:I}}", "name", s->name, "start", s->start,
                     "duration", s->duration_text, "size", "min", (json_int_t)s->min, "max",
                     (json_int_t)s->max);
    /* append_new and "o" take their references even when they fail. */
    if (!list || !item) {
        json_decref(item);
        json_decref(list);
        goto nomem;
    }
    if (json_array_append_new(list, item) != 0) {
        json_decref(list);
        goto nomem;
    }
    if (!(*patch = json_pack("{s:{s:o}}", "spec", "schedules", list)))
        goto nomem;
    return 0;
nomem:
    fprintf(errout, "stoker prewarm schedule: out of memory\n");
    return CLI_EXIT_FAIL;
}

/* A schedule name: 1..63 of letters, digits, '-', '_', '.'. */
static int valid_schedule_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > PW_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

/* A duration as the CRD's pattern takes it: ([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+ (no sign,
 * no µs), so what is written is what the API server accepts. */
static int crd_duration(const char *s)
{
    static const char *const units[] = {"ns", "us", "ms", "s", "m", "h"};

    if (!*s)
        return 0;
    while (*s) {
        size_t d = strspn(s, "0123456789"), u;
        if (d == 0)
            return 0;
        s += d;
        if (*s == '.') {
            if ((d = strspn(s + 1, "0123456789")) == 0)
                return 0;
            s += 1 + d;
        }
        for (u = 0; u < sizeof units / sizeof units[0]; u++) {
            size_t n = strlen(units[u]);
            if (strncmp(s, units[u], n) == 0) {
                s += n;
                break;
            }
        }
        if (u == sizeof units / sizeof units[0])
            return 0;
    }
    return 1;
}

/* --at: RFC 3339 with an offset, "now" or "+DURATION"; whole seconds (what is written). */
static int parse_at(const char *v, core_ns now, core_ns *out, FILE *errout)
{
    core_ns t, d;

    if (strcmp(v, "now") == 0) {
        t = now;
    } else if (v[0] == '+') {
        if (k8s_duration_parse(v + 1, 0, &d) != 0 || d < 0 || d > INT64_MAX - now)
            goto bad;
        t = now + d;
    } else if (core_time_parse_rfc3339(v, &t) != 0 || !strpbrk(v + 10, "Zz+-")) {
        goto bad;
    }
    *out = t - t % CORE_NS_PER_S;
    return 0;
bad:
    fprintf(errout, "stoker prewarm schedule: --at: expected an RFC 3339 time with an offset "
                    "(2026-11-27T08:00:00Z), \"now\" or \"+DURATION\" (+30m), got '%s'\n", v);
    return CLI_EXIT_USAGE;
}

static int run_schedule(const struct pw_args *a, FILE *out, FILE *errout)
{
    struct sched_req s;
    struct pw_write wr = {"schedule", a->pool, build_schedule, &s};
    struct core_clock *clock;
    core_ns now;
    char end[40];
    int rc;

    memset(&s, 0, sizeof s);
    if ((rc = check_pool_arg("schedule", "POOL", a->pool, errout)) != 0 ||
        (rc = parse_min_max("schedule", a, &s.min, &s.max, errout)) != 0)
        return rc;
    if (s.max < 0)
        s.max = s.min;
    if (!a->val[F_AT] || !a->val[F_FOR]) {
        fprintf(errout, "stoker prewarm schedule: %s: required\n",
                !a->val[F_AT] ? "--at" : "--for");
        return CLI_EXIT_USAGE;
    }
    if (!crd_duration(a->val[F_FOR]) || strlen(a->val[F_FOR]) >= sizeof s.duration_text ||
        k8s_duration_parse(a->val[F_FOR], 0, &s.duration) != 0 || s.duration <= 0) {
        fprintf(errout, "stoker prewarm schedule: --for: expected a positive Go duration "
                        "(2h, 90m), got '%s'\n", a->val[F_FOR]);
        return CLI_EXIT_USAGE;
    }
    core_strlcpy(s.duration_text, a->val[F_FOR], sizeof s.duration_text);
    if (a->val[F_NAME] && !valid_schedule_name(a->val[F_NAME])) {
        fprintf(errout, "stoker prewarm schedule: --name: expected 1 to %d letters, digits, "
                        "'-', '_' or '.', got '%s'\n", PW_NAME_MAX, a->val[F_NAME]);
        return CLI_EXIT_USAGE;
    }
    if (!(clock = core_clock_real_new())) {
        fprintf(errout, "stoker prewarm schedule: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    now = core_clock_wall(clock);
    core_clock_free(clock);
    if ((rc = parse_at(a->val[F_AT], now, &s.start_time, errout)) != 0)
        return rc;
    if (window_end(s.start_time, s.duration) <= now) {
        fprintf(errout, "stoker prewarm schedule: --at/--for: the window ended already\n");
        return CLI_EXIT_USAGE;
    }
    core_time_rfc3339(s.start_time, s.start, sizeof s.start);
    if (a->val[F_NAME]) {
        core_strlcpy(s.name, a->val[F_NAME], sizeof s.name);
    } else {
        time_t secs = (time_t)(s.start_time / CORE_NS_PER_S);
        struct tm tm;
        if (!gmtime_r(&secs, &tm) || strftime(s.name, sizeof s.name, "manual-%Y%m%dT%H%M",
                                              &tm) == 0) {
            fprintf(errout, "stoker prewarm schedule: --at: a time that cannot be named\n");
            return CLI_EXIT_USAGE;
        }
    }
    if ((rc = write_pool(&wr, a, NULL, errout)) != 0)
        return rc;
    core_time_rfc3339(window_end(s.start_time, s.duration), end, sizeof end);
    fprintf(out, "warmpool %s: schedule %s added: min=%" PRId64 " max=%" PRId64
                 " from %s to %s\n", a->pool, s.name, s.min, s.max, s.start, end);
    return CLI_EXIT_OK;
}

static int build_cancel(void *ud, const json_t *raw, const struct k8s_warmpool *wp,
                        json_t **patch, FILE *errout)
{
    const char *name = ud;
    const json_t *old = json_object_get(json_object_get(raw, "spec"), "schedules");
    const json_t *item;
    json_t *list;
    size_t i;
    int found = 0;

    if (!(list = json_array()))
        goto nomem;
    json_array_foreach(old, i, item) {
        const char *n = json_string_value(json_object_get(item, "name"));
        if (n && strcmp(n, name) == 0) {
            found = 1;
            continue;
        }
        if (json_array_append(list, (json_t *)(uintptr_t)item) != 0) {
            json_decref(list);
            goto nomem;
        }
    }
    if (!found) {
        json_decref(list);
        fprintf(errout, "stoker prewarm cancel: warmpool %s has no schedule named %s\n",
                wp->meta.name, name);
        return CLI_EXIT_FAIL;
    }
    /* An emptied list is removed (null), as if never written. */
    if (json_array_size(list) == 0) {
        json_decref(list);
        list = json_null();
    }
    if (!(*patch = json_pack("{s:{s:o}}", "spec", "schedules", list)))
        goto nomem;
    return 0;
nomem:
    fprintf(errout, "stoker prewarm cancel: out of memory\n");
    return CLI_EXIT_FAIL;
}

static int run_cancel(const struct pw_args *a, FILE *out, FILE *errout)
{
    struct pw_write wr = {"cancel", a->pool, build_cancel, (void *)(uintptr_t)a->val[F_NAME]};
    int rc;

    if ((rc = check_pool_arg("cancel", "POOL", a->pool, errout)) != 0)
        return rc;
    if (!a->val[F_NAME] || !*a->val[F_NAME]) {
        fprintf(errout, "stoker prewarm cancel: --name: required: the schedule to remove\n");
        return CLI_EXIT_USAGE;
    }
    if ((rc = write_pool(&wr, a, NULL, errout)) != 0)
        return rc;
    fprintf(out, "warmpool %s: schedule %s removed\n", a->pool, a->val[F_NAME]);
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* advise                                                                                      */
/* ------------------------------------------------------------------------------------------ */

void cli_prewarm_timing(const struct sim_boot_model *m, int hibernated,
                        struct prewarm_timing *out)
{
    const struct sim_boot_param *p = m->step;

    out->cold_ready_s = p[SIM_BOOT_LAUNCH].median_s + p[SIM_BOOT_JOIN_COLD].median_s +
                        p[SIM_BOOT_READY].median_s + PW_DECISION_S;
    out->warm_ready_s = p[hibernated ? SIM_BOOT_RESUME : SIM_BOOT_START].median_s +
                        p[SIM_BOOT_JOIN_WARM].median_s + p[SIM_BOOT_READY].median_s +
                        PW_DECISION_S + PW_WARM_CALLS_S;
    out->launch_burst = PW_LAUNCH_BURST;
    out->launch_rate_per_s = PW_LAUNCH_RATE;
}

/* The default candidates: current-generation amd64 c/m/r types with a price, no GPU, no
 * accelerator, not metal (owned array of borrowed entries). */
static int default_types(const struct launcher_catalog *cat, const struct launcher_itype ***out,
                         size_t *nout, struct core_err *err)
{
    size_t n = launcher_catalog_count(cat), k = 0;
    const struct launcher_itype **v;

    if (!(v = core_calloc(n ? n : 1, sizeof *v)))
        return core_err_set(err, CORE_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct launcher_itype *t = launcher_catalog_at(cat, i);
        if (t->generation >= PW_MIN_GENERATION && strcmp(t->arch, "amd64") == 0 &&
            t->category && strlen(t->category) == 1 && strchr("cmr", t->category[0]) &&
            t->gpu_count == 0 && t->accelerator_count == 0 && !t->bare_metal &&
            t->od_price_usd_hr > 0)
            v[k++] = t;
    }
    *out = v;
    *nout = k;
    return 0;
}

/* A memory quantity the way people write it: the largest binary suffix that keeps an
 * integer, else bytes. */
static void format_bytes(int64_t b, char *out, size_t outsz)
{
    static const char *const sfx[] = {"Ti", "Gi", "Mi", "Ki"};
    static const int shift[] = {40, 30, 20, 10};

    for (size_t i = 0; i < 4; i++) {
        int64_t unit = (int64_t)1 << shift[i];
        if (b > 0 && b % unit == 0) {
            snprintf(out, outsz, "%" PRId64 "%s", b / unit, sfx[i]);
            return;
        }
    }
    snprintf(out, outsz, "%" PRId64, b);
}

static json_t *advise_to_json(const struct prewarm_advise_input *in,
                              const struct prewarm_advice *adv, const struct sim_boot_model *m,
                              const char *pool, const char *nodepool, struct core_err *err)
{
    const struct prewarm_advice_row *best = adv->nrows ? &adv->rows[adv->best] : NULL;
    json_t *root, *rows, *model, *spec = NULL;
    char cpu[32], mem[32];
    int ok;

    k8s_quantity_format_milli(in->cpu_milli, cpu, sizeof cpu);
    format_bytes(in->memory_bytes, mem, sizeof mem);
    root = json_pack("{s:{s:I, s:s, s:s, s:f}, s:n, s:{s:f, s:f, s:f, s:f, s:s}, s:[]}",
                     "input", "pods", (json_int_t)in->pods, "cpu", cpu, "memory", mem,
                     "deadlineSeconds", (double)in->deadline / (double)CORE_NS_PER_S,
                     "bootModel", "timing", "coldReadySeconds", in->timing.cold_ready_s,
                     "warmReadySeconds", in->timing.warm_ready_s, "launchBurst",
                     in->timing.launch_burst, "launchRatePerSecond",
                     in->timing.launch_rate_per_s, "launchLimit",
                     "the emulated EC2's instance launch bucket (stoker sim)", "rows");
    if (!root)
        goto nomem;
    if (m) {
        if (!(model = json_array()) || json_object_set_new(root, "bootModel", model) != 0)
            goto nomem;
        for (int i = 0; i < SIM_BOOT_COUNT; i++) {
            json_t *s = json_pack("{s:s, s:f, s:s}", "step", m->step[i].name, "medianSeconds",
                                  m->step[i].median_s, "source",
                                  m->step[i].source ? m->step[i].source : "");
            if (!s || json_array_append_new(model, s) != 0)
                goto nomem;
        }
    }
    rows = json_object_get(root, "rows");
    for (size_t i = 0; i < adv->nrows; i++) {
        const struct prewarm_advice_row *r = &adv->rows[i];
        json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:f, s:f, s:f}", "instanceType",
                              r->type->name, "podsPerNode", (json_int_t)r->pods_per_node,
                              "nodes", (json_int_t)r->nodes, "warm", (json_int_t)r->warm,
                              "cold", (json_int_t)r->cold, "idleUSDPerHour",
                              r->idle_usd_per_hour, "burstUSDPerHour", r->burst_usd_per_hour,
                              "secondsSavedPerPod", r->seconds_saved_per_pod);
        if (!j || json_array_append_new(rows, j) != 0)
            goto nomem;
    }
    if (best) {
        json_t *rec = json_pack("{s:s, s:I, s:I, s:I, s:I, s:f, s:b, s:s}", "instanceType",
                                best->type->name, "warm", (json_int_t)best->warm, "cold",
                                (json_int_t)best->cold, "podsPerNode",
                                (json_int_t)best->pods_per_node, "nodes",
                                (json_int_t)best->nodes, "idleUSDPerHour",
                                best->idle_usd_per_hour, "meetsDeadline", adv->meets_deadline,
                                "summary", adv->summary);
        if (!rec || json_object_set_new(root, "recommendation", rec) != 0)
            goto nomem;
        spec = json_pack("{s:{s:s}, s:[s], s:{s:s, s:s}, s:{s:I, s:I}}", "nodePoolRef", "name",
                         nodepool ? nodepool : "default", "instanceTypes", best->type->name,
                         "podShape", "cpu", cpu, "memory", mem, "size", "min",
                         (json_int_t)best->warm, "max", (json_int_t)best->warm);
        ok = spec && json_object_set_new(root, "warmPoolSpec", spec) == 0;
        if (!ok)
            goto nomem;
    }
    if (pool && json_object_set_new(root, "pool", json_string(pool)) != 0)
        goto nomem;
    return root;
nomem:
    json_decref(root);
    core_err_set(err, CORE_E_NOMEM, "out of memory building the advice");
    return NULL;
}

/* Runs prewarm_advise and builds the JSON. m (may be NULL) is the model the timing came from. */
static int advise_json_with(const struct prewarm_advise_input *in,
                            const struct sim_boot_model *m, const char *pool,
                            const char *nodepool, json_t **out, struct prewarm_advice **keep,
                            struct core_err *err)
{
    struct prewarm_advice *adv = NULL;
    json_t *j;
    int rc;

    if ((rc = prewarm_advise(in, &adv, err)) != 0)
        return rc;
    if (!(j = advise_to_json(in, adv, m, pool, nodepool, err))) {
        prewarm_advice_free(adv);
        return CORE_E_NOMEM;
    }
    *out = j;
    if (keep)
        *keep = adv;
    else
        prewarm_advice_free(adv);
    return 0;
}

int cli_prewarm_advise_json(const struct prewarm_advise_input *in, json_t **out,
                            struct core_err *err)
{
    struct prewarm_advise_input local;
    struct launcher_catalog *cat = NULL;
    const struct launcher_itype **types = NULL;
    struct sim_boot_model model;
    const struct sim_boot_model *m = NULL;
    size_t ntypes = 0;
    int rc;

    if (!in || !out)
        return core_err_set(err, CORE_E_INVAL, "cli_prewarm_advise_json: NULL argument");
    local = *in;
    if (local.timing.cold_ready_s <= 0 && local.timing.warm_ready_s <= 0) {
        sim_boot_model_default(&model);
        cli_prewarm_timing(&model, 0, &local.timing);
        m = &model;
    }
    if (!local.types || local.ntypes == 0) {
        if ((rc = launcher_catalog_load(&cat, err)) != 0)
            return rc;
        if ((rc = default_types(cat, &types, &ntypes, err)) != 0)
            goto done;
        local.types = types;
        local.ntypes = ntypes;
    }
    rc = advise_json_with(&local, m, NULL, NULL, out, NULL, err);
done:
    core_free(types);
    launcher_catalog_free(cat);
    return rc;
}

static void print_advice(const struct prewarm_advise_input *in, const struct prewarm_advice *adv,
                         const struct sim_boot_model *m, int hibernated, const char *pool,
                         const char *nodepool, FILE *out)
{
    const struct prewarm_advice_row *best = adv->nrows ? &adv->rows[adv->best] : NULL;
    char cpu[32], mem[32];

    k8s_quantity_format_milli(in->cpu_milli, cpu, sizeof cpu);
    format_bytes(in->memory_bytes, mem, sizeof mem);
    fprintf(out, "burst: %" PRId64 " pods of cpu %s, memory %s", in->pods, cpu, mem);
    if (in->deadline > 0)
        fprintf(out, ", running within %.0f s\n", (double)in->deadline / (double)CORE_NS_PER_S);
    else
        fprintf(out, ", as fast as the warm path allows\n");
    fprintf(out, "\nboot model (stoker sim's default; medians):\n");
    for (int i = 0; i < SIM_BOOT_COUNT; i++)
        fprintf(out, "  %-10s %6.1f s  %s\n", m->step[i].name, m->step[i].median_s,
                m->step[i].source ? m->step[i].source : "");
    fprintf(out, "cold: launch + join_cold + ready + 1 s batch window = %.1f s to Ready\n",
            in->timing.cold_ready_s);
    fprintf(out, "warm: %s + join_warm + ready + 1 s batch window + 1 s EC2 calls = %.1f s to "
                 "Ready\n", hibernated ? "resume" : "start", in->timing.warm_ready_s);
    fprintf(out, "cold launches limited to %.0f at once, then %.0f per second (the emulated "
                 "EC2's launch bucket)\n\n", in->timing.launch_burst,
            in->timing.launch_rate_per_s);
    fprintf(out, "%-18s %9s %7s %7s %7s %10s %11s %12s\n", "TYPE", "PODS/NODE", "NODES", "WARM",
            "COLD", "IDLE $/H", "BURST $/H", "SAVED S/POD");
    for (size_t i = 0; i < adv->nrows; i++) {
        const struct prewarm_advice_row *r = &adv->rows[i];
        fprintf(out, "%-18s %9" PRId64 " %7" PRId64 " %7" PRId64 " %7" PRId64 " %10.4f %11.4f "
                     "%12.1f%s\n", r->type->name, r->pods_per_node, r->nodes, r->warm, r->cold,
                r->idle_usd_per_hour, r->burst_usd_per_hour, r->seconds_saved_per_pod,
                i == adv->best ? "  <- best" : "");
    }
    if (!best)
        return;
    fprintf(out, "\nrecommendation: hold %" PRId64 " warm %s (%" PRId64 " pods per node, %"
                 PRId64 " cold launches), $%.4f/hour idle; meets deadline: %s\n",
            best->warm, best->type->name, best->pods_per_node, best->cold,
            best->idle_usd_per_hour, adv->meets_deadline ? "yes" : "no");
    if (adv->summary[0])
        fprintf(out, "%s\n", adv->summary);
    if (best->warm == 0)
        fprintf(out, "cold launches meet the deadline: no warm instances are needed\n");
    fprintf(out, "\nWarmPool spec:\n"
                 "apiVersion: stoker.dev/v1alpha1\n"
                 "kind: WarmPool\n"
                 "metadata:\n"
                 "  name: %s\n"
                 "spec:\n"
                 "  nodePoolRef:\n"
                 "    name: %s\n"
                 "  instanceTypes: [%s]\n"
                 "  podShape:\n"
                 "    cpu: \"%s\"\n"
                 "    memory: \"%s\"\n"
                 "  size:\n"
                 "    min: %" PRId64 "\n"
                 "    max: %" PRId64 "\n",
            pool ? pool : "burst", nodepool ? nodepool : "default", best->type->name, cpu, mem,
            best->warm, best->warm);
}

/* Splits --types into names checked against the catalog; restricts *types (when non-NULL
 * already: keeps those named) or builds it from the catalog. */
static int apply_types_flag(const char *v, const struct launcher_catalog *cat,
                            const struct launcher_itype ***types, size_t *ntypes, FILE *errout)
{
    char buf[4096];
    const struct launcher_itype *named[PW_MAX_TYPE_FLAGS];
    size_t n = 0, k = 0;
    char *p = buf;

    if (core_strlcpy(buf, v, sizeof buf) >= sizeof buf) {
        fprintf(errout, "stoker prewarm advise: --types: too long\n");
        return CLI_EXIT_USAGE;
    }
    for (;;) {
        char *comma = strchr(p, ',');
        const struct launcher_itype *t;
        if (comma)
            *comma = '\0';
        if (!*p || n == PW_MAX_TYPE_FLAGS) {
            fprintf(errout, "stoker prewarm advise: --types: expected 1 to %d comma-separated "
                            "instance types, got '%s'\n", PW_MAX_TYPE_FLAGS, v);
            return CLI_EXIT_USAGE;
        }
        if (!(t = launcher_catalog_find(cat, p))) {
            fprintf(errout, "stoker prewarm advise: --types: %s is not in the instance "
                            "catalog\n", p);
            return CLI_EXIT_USAGE;
        }
        named[n++] = t;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (*types) {
        for (size_t i = 0; i < *ntypes; i++)
            for (size_t j = 0; j < n; j++)
                if ((*types)[i] == named[j]) {
                    (*types)[k++] = (*types)[i];
                    break;
                }
        *ntypes = k;
        return 0;
    }
    if (!(*types = core_calloc(n, sizeof **types))) {
        fprintf(errout, "stoker prewarm advise: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    memcpy(*types, named, n * sizeof named[0]);
    *ntypes = n;
    return 0;
}

/* With --pool: the types WarmPool pool would warm for the stated pod, from the cluster. */
static int pool_types(const struct pw_args *a, const struct prewarm_advise_input *in,
                      const struct launcher_catalog *cat, const struct launcher_itype ***types,
                      size_t *ntypes, int *hibernated, char *nodepool, size_t npsz,
                      FILE *errout)
{
    static const char *const default_zones[] = {"us-east-1a", "us-east-1b", "us-east-1c"};
    struct pw_kube k;
    struct k8s_warmpool wp;
    struct k8s_nodepool np;
    struct launcher_offerings *off = NULL;
    struct core_err err;
    json_t *raw = NULL, *npobj = NULL;
    int rc;

    memset(&wp, 0, sizeof wp);
    memset(&np, 0, sizeof np);
    core_err_clear(&err);
    if ((rc = kube_open(&k, "advise", a, errout)) != 0)
        return rc;
    if ((rc = read_pool(&k, "advise", a->val[F_POOL], &raw, &wp, errout)) != 0)
        goto done;
    rc = CLI_EXIT_FAIL;
    *hibernated = wp.state == K8S_WARM_HIBERNATED;
    core_strlcpy(nodepool, wp.nodepool ? wp.nodepool : "", npsz);
    if (kube_get(&k, &k8s_res_nodepools, wp.nodepool, &npobj, &err) != 0) {
        if (err.code == CORE_E_NOTFOUND)
            fprintf(errout, "stoker prewarm advise: warmpool %s: NodePool %s not found\n",
                    a->val[F_POOL], wp.nodepool);
        else
            fprintf(errout, "stoker prewarm advise: NodePool %s: %s\n", wp.nodepool,
                    err.message);
        goto done;
    }
    if (k8s_nodepool_decode(npobj, &np, &err) != 0) {
        fprintf(errout, "stoker prewarm advise: %s\n", err.message);
        goto done;
    }
    /* The pool's own pod shape gives way to the pod the advice is for. */
    k8s_res_cleanup(&wp.pod_shape);
    if (k8s_res_set(&wp.pod_shape, "cpu", in->cpu_milli) != 0 ||
        k8s_res_set(&wp.pod_shape, "memory", in->memory_bytes * 1000) != 0) {
        fprintf(errout, "stoker prewarm advise: out of memory\n");
        goto done;
    }
    if (wp.zones.n > LAUNCHER_MAX_ZONES) {
        fprintf(errout, "stoker prewarm advise: warmpool %s: more than %d zones\n",
                a->val[F_POOL], LAUNCHER_MAX_ZONES);
        goto done;
    }
    /* Offerings as `stoker plan` makes them: the catalog's on-demand prices in the pool's
     * zones (or three of the region's), since only EC2 knows the real ones. */
    if (launcher_offerings_default(cat, PW_DEFAULT_REGION,
                                   wp.zones.n ? (const char *const *)wp.zones.v : default_zones,
                                   wp.zones.n ? wp.zones.n : 3, 0.0, &off, &err) != 0) {
        fprintf(errout, "stoker prewarm advise: offerings: %s\n", err.message);
        goto done;
    }
    if (prewarm_types(&wp, &np, off, core_clock_wall(k.clock), NULL, PW_MAX_TYPES, types,
                      ntypes, &err) != 0) {
        fprintf(errout, "stoker prewarm advise: warmpool %s: %s\n", a->val[F_POOL],
                err.message);
        goto done;
    }
    rc = 0;
done:
    launcher_offerings_free(off);
    k8s_nodepool_cleanup(&np);
    k8s_warmpool_cleanup(&wp);
    json_decref(npobj);
    json_decref(raw);
    kube_close(&k);
    return rc;
}

static int run_advise(const struct pw_args *a, FILE *out, FILE *errout)
{
    struct prewarm_advise_input in;
    struct prewarm_advice *adv = NULL;
    struct launcher_catalog *cat = NULL;
    const struct launcher_itype **types = NULL;
    struct sim_boot_model model;
    struct core_err err;
    json_t *j = NULL;
    char nodepool[PW_OBJ_NAME_MAX + 1] = "";
    size_t ntypes = 0;
    int json = 0, hibernated = 0, rc;
    int64_t v;

    memset(&in, 0, sizeof in);
    core_err_clear(&err);
    if (!a->val[F_PODS] || !a->val[F_CPU] || !a->val[F_MEMORY]) {
        fprintf(errout, "stoker prewarm advise: %s: required\n",
                !a->val[F_PODS] ? "--pods" : !a->val[F_CPU] ? "--cpu" : "--memory");
        return CLI_EXIT_USAGE;
    }
    if (core_parse_i64(a->val[F_PODS], 1, PW_PODS_MAX, &in.pods) != 0) {
        fprintf(errout, "stoker prewarm advise: --pods: expected an integer in 1..%d, got "
                        "'%s'\n", PW_PODS_MAX, a->val[F_PODS]);
        return CLI_EXIT_USAGE;
    }
    if (k8s_quantity_parse_milli(a->val[F_CPU], &in.cpu_milli) != 0 || in.cpu_milli <= 0) {
        fprintf(errout, "stoker prewarm advise: --cpu: expected a positive quantity (1, 500m), "
                        "got '%s'\n", a->val[F_CPU]);
        return CLI_EXIT_USAGE;
    }
    if (k8s_quantity_parse(a->val[F_MEMORY], &v) != 0 || v <= 0 || v > PW_MEMORY_MAX) {
        fprintf(errout, "stoker prewarm advise: --memory: expected a positive quantity of at "
                        "most 1Pi (2Gi, 512Mi), got '%s'\n", a->val[F_MEMORY]);
        return CLI_EXIT_USAGE;
    }
    in.memory_bytes = v;
    if (a->val[F_DEADLINE] && (k8s_duration_parse(a->val[F_DEADLINE], 0, &in.deadline) != 0 ||
                               in.deadline < 0)) {
        fprintf(errout, "stoker prewarm advise: --deadline: expected a Go duration (20s, 5m), "
                        "got '%s'\n", a->val[F_DEADLINE]);
        return CLI_EXIT_USAGE;
    }
    if (a->val[F_OUTPUT]) {
        if (strcmp(a->val[F_OUTPUT], "json") == 0) {
            json = 1;
        } else if (strcmp(a->val[F_OUTPUT], "table") != 0) {
            fprintf(errout, "stoker prewarm advise: --output: expected table or json, got "
                            "'%s'\n", a->val[F_OUTPUT]);
            return CLI_EXIT_USAGE;
        }
    }
    if ((rc = check_pool_arg("advise", "--pool", a->val[F_POOL], errout)) != 0)
        return rc;
    if (launcher_catalog_load(&cat, &err) != 0) {
        fprintf(errout, "stoker prewarm advise: instance catalog: %s\n", err.message);
        return CLI_EXIT_FAIL;
    }
    /* --types is checked before the cluster is asked anything. */
    if (a->val[F_TYPES]) {
        const struct launcher_itype **named = NULL;
        size_t nnamed = 0;
        rc = apply_types_flag(a->val[F_TYPES], cat, &named, &nnamed, errout);
        core_free(named);
        if (rc != 0)
            goto done;
    }
    if (a->val[F_POOL]) {
        if ((rc = pool_types(a, &in, cat, &types, &ntypes, &hibernated, nodepool,
                             sizeof nodepool, errout)) != 0)
            goto done;
    } else if (!a->val[F_TYPES] && default_types(cat, &types, &ntypes, &err) != 0) {
        fprintf(errout, "stoker prewarm advise: %s\n", err.message);
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    if (a->val[F_TYPES] &&
        (rc = apply_types_flag(a->val[F_TYPES], cat, &types, &ntypes, errout)) != 0)
        goto done;
    if (ntypes == 0) {
        fprintf(errout, "stoker prewarm advise: --types: none of %s is a candidate for warmpool "
                        "%s\n", a->val[F_TYPES], a->val[F_POOL] ? a->val[F_POOL] : "");
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    in.types = types;
    in.ntypes = ntypes;
    sim_boot_model_default(&model);
    cli_prewarm_timing(&model, hibernated, &in.timing);
    rc = advise_json_with(&in, &model, a->val[F_POOL], nodepool[0] ? nodepool : NULL, &j, &adv,
                          &err);
    if (rc != 0) {
        fprintf(errout, "stoker prewarm advise: %s\n", err.message);
        rc = rc == CORE_E_NOTFOUND ? CLI_EXIT_FAIL
             : rc == CORE_E_INVAL  ? CLI_EXIT_USAGE
                                   : CLI_EXIT_FAIL;
        goto done;
    }
    if (json) {
        if (json_dumpf(j, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                   JSON_REAL_PRECISION(10)) != 0) {
            fprintf(errout, "stoker prewarm advise: writing the advice failed\n");
            rc = CLI_EXIT_FAIL;
            goto done;
        }
        fputc('\n', out);
    } else {
        print_advice(&in, adv, &model, hibernated, a->val[F_POOL], nodepool[0] ? nodepool : NULL,
                     out);
    }
    fflush(out);
    rc = ferror(out) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    if (rc)
        fprintf(errout, "stoker prewarm advise: writing the advice failed\n");
done:
    json_decref(j);
    prewarm_advice_free(adv);
    core_free(types);
    launcher_catalog_free(cat);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Dispatch                                                                                    */
/* ------------------------------------------------------------------------------------------ */

int cli_cmd_prewarm(const struct cli_config *cfg, int argc, char **argv, FILE *out,
                    FILE *errout)
{
    struct pw_args a;
    int rc;

    (void)cfg;
    if (argc < 2) {
        fprintf(errout, "stoker prewarm: no subcommand given\n\n");
        prewarm_usage(errout);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        prewarm_usage(out);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < NSUBS; i++) {
        if (strcmp(argv[1], subs[i].name) != 0)
            continue;
        rc = parse_args(&subs[i], argc - 1, argv + 1, &a, out, errout);
        if (rc < 0)
            return CLI_EXIT_OK;
        if (rc > 0)
            return rc;
        return subs[i].run(&a, out, errout);
    }
    fprintf(errout, "stoker prewarm: unknown subcommand '%s'\n\n", argv[1]);
    prewarm_usage(errout);
    return CLI_EXIT_USAGE;
}
