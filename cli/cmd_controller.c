/*
 * cli/cmd_controller.c — `stoker controller`: runs the controller against a real cluster (or
 * `stoker sim serve`) until SIGTERM or SIGINT, with /metrics, /healthz and /readyz on
 * --metrics-addr.
 *
 * Every setting comes from its flag, else its environment variable, else its default; the
 * cluster endpoint and CA default to the kubeconfig's (in-cluster, the endpoint must be given:
 * the service address is not one a booting node can reach).
 *
 * Invariants: every flag and variable is validated before anything is built, and a bad one
 * names itself and what was expected (exit 2); the structured "listening" line with the bound
 * address is written (to stderr, the log) only once the endpoint is serving; the first signal
 * stops the controller from the loop's shutdown hook, so in-flight requests (the lease
 * release among them) get the loop's grace period; the command exits 0 after a signal.
 */
#include "cli/cli.h"

#include "aws/aws.h"
#include "controller/controller.h"
#include "core/core.h"
#include "k8s/k8s.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <string.h>

#define CTL_DEFAULT_METRICS "127.0.0.1:8080"
#define CTL_MAX_ZONES 32u
#define CTL_CA_MAX (1u << 20)

struct ctl_flags {
    const char *cluster_name, *cluster_endpoint, *cluster_ca, *region, *kubeconfig, *context;
    const char *metrics_addr, *identity, *zones, *service_cidr;
    const char *log_format, *log_level;
    core_ns batch_idle, batch_max;
    int leader_elect;
};

/* What the shutdown hook tears down while the loop still runs. */
struct ctl_run {
    struct controller *c;
    struct controller_http *http;
    struct core_log *log;
};

static void ctl_usage(FILE *f)
{
    fprintf(f,
            "usage: stoker controller [--cluster-name N] [--cluster-endpoint URL]\n"
            "                         [--cluster-ca B64] [--region R]\n"
            "                         [--kubeconfig PATH] [--context C]\n"
            "                         [--batch-idle 1s] [--batch-max 10s]\n"
            "                         [--metrics-addr HOST:PORT] [--leader-elect=true|false]\n"
            "                         [--identity ID] [--zones a,b] [--service-cidr CIDR]\n"
            "                         [--log-format logfmt|json] [--log-level LEVEL]\n"
            "\n"
            "Runs stoker's controller until SIGTERM or SIGINT: schedules pending pods onto\n"
            "NodeClaims, launches (or starts warm) instances, pairs them with their Nodes, and\n"
            "collects garbage. Serves /metrics, /healthz and /readyz on --metrics-addr.\n"
            "\n"
            "flags (each also from the environment variable shown):\n"
            "  --cluster-name N       the EKS cluster's name (STOKER_CLUSTER_NAME; required)\n"
            "  --cluster-endpoint URL API server URL nodes join (STOKER_CLUSTER_ENDPOINT;\n"
            "                         default: the kubeconfig's server)\n"
            "  --cluster-ca B64       base64 of the cluster CA bundle (STOKER_CLUSTER_CA;\n"
            "                         default: the kubeconfig's certificate authority)\n"
            "  --region R             AWS region (AWS_REGION, AWS_DEFAULT_REGION)\n"
            "  --kubeconfig PATH      kubeconfig (KUBECONFIG, ~/.kube/config; in-cluster\n"
            "                         configuration when KUBERNETES_SERVICE_HOST is set)\n"
            "  --context C            kubeconfig context (STOKER_CONTEXT; default current)\n"
            "  --batch-idle D         pending-pod batch idle time (STOKER_BATCH_IDLE; 1s)\n"
            "  --batch-max D          longest batch (STOKER_BATCH_MAX; 10s)\n"
            "  --metrics-addr A       metrics and health address (STOKER_METRICS_ADDR;\n"
            "                         default " CTL_DEFAULT_METRICS "; port 0 = any free port)\n"
            "  --leader-elect=BOOL    Lease-based leader election (STOKER_LEADER_ELECT;\n"
            "                         default true)\n"
            "  --identity ID          leader-election identity (STOKER_IDENTITY; default\n"
            "                         HOSTNAME-PID)\n"
            "  --zones a,b            only these availability zones (STOKER_ZONES)\n"
            "  --service-cidr CIDR    the cluster's service CIDR (STOKER_SERVICE_CIDR; default\n"
            "                         10.100.0.0/16)\n"
            "  --log-format F         logfmt or json (STOKER_LOG_FORMAT; default the global)\n"
            "  --log-level L          debug, info, warn, error (STOKER_LOG_LEVEL)\n"
            "  -h, --help             show this help\n"
            "\n"
            "Durations are Go durations (500ms, 1s, 2m). AWS endpoints and credentials follow\n"
            "the SDK conventions (AWS_ENDPOINT_URL, ...); see docs/cli.md.\n"
            "Exit codes: 0 stopped by a signal, 1 failure, 2 usage error.\n");
}

static int parse_bool(const char *v, int *out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        *out = 1;
        return 0;
    }
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        *out = 0;
        return 0;
    }
    return CORE_E_INVAL;
}

static int parse_duration(const char *what, const char *v, core_ns *out, FILE *errout)
{
    core_ns d;
    if (k8s_duration_parse(v, 0, &d) != 0 || d <= 0) {
        fprintf(errout, "stoker controller: %s: expected a positive duration such as 1s or "
                        "500ms, got '%s'\n", what, v);
        return -1;
    }
    *out = d;
    return 0;
}

/* Fills the unset flags from the environment and checks every value. 0, or an exit code. */
static int settle(struct ctl_flags *fl, const char *const *from_flag, FILE *errout)
{
    static const struct {
        size_t off;
        const char *env;
    } envs[] = {
        {offsetof(struct ctl_flags, cluster_name), "STOKER_CLUSTER_NAME"},
        {offsetof(struct ctl_flags, cluster_endpoint), "STOKER_CLUSTER_ENDPOINT"},
        {offsetof(struct ctl_flags, cluster_ca), "STOKER_CLUSTER_CA"},
        {offsetof(struct ctl_flags, context), "STOKER_CONTEXT"},
        {offsetof(struct ctl_flags, metrics_addr), "STOKER_METRICS_ADDR"},
        {offsetof(struct ctl_flags, identity), "STOKER_IDENTITY"},
        {offsetof(struct ctl_flags, zones), "STOKER_ZONES"},
        {offsetof(struct ctl_flags, service_cidr), "STOKER_SERVICE_CIDR"},
        {offsetof(struct ctl_flags, log_format), "STOKER_LOG_FORMAT"},
        {offsetof(struct ctl_flags, log_level), "STOKER_LOG_LEVEL"},
    };
    const char *v;
    enum core_log_level lvl;
    enum core_log_format fmt;

    for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
        const char **slot = (const char **)((char *)fl + envs[i].off);
        if (!*slot)
            *slot = aws_env_get(NULL, envs[i].env);
    }
    if (!from_flag[0] && (v = aws_env_get(NULL, "STOKER_BATCH_IDLE")) &&
        parse_duration("STOKER_BATCH_IDLE", v, &fl->batch_idle, errout) != 0)
        return CLI_EXIT_USAGE;
    if (!from_flag[1] && (v = aws_env_get(NULL, "STOKER_BATCH_MAX")) &&
        parse_duration("STOKER_BATCH_MAX", v, &fl->batch_max, errout) != 0)
        return CLI_EXIT_USAGE;
    if (!from_flag[2] && (v = aws_env_get(NULL, "STOKER_LEADER_ELECT")) &&
        parse_bool(v, &fl->leader_elect) != 0) {
        fprintf(errout, "stoker controller: STOKER_LEADER_ELECT: expected true or false, got "
                        "'%s'\n", v);
        return CLI_EXIT_USAGE;
    }
    if (!fl->cluster_name || !*fl->cluster_name || strlen(fl->cluster_name) > 100) {
        fprintf(errout, "stoker controller: --cluster-name: required (or STOKER_CLUSTER_NAME): "
                        "the EKS cluster's name, 1 to 100 characters\n");
        return CLI_EXIT_USAGE;
    }
    if (fl->log_format && core_log_format_parse(fl->log_format, &fmt) != 0) {
        fprintf(errout, "stoker controller: --log-format: expected logfmt or json, got '%s'\n",
                fl->log_format);
        return CLI_EXIT_USAGE;
    }
    if (fl->log_level && core_log_level_parse(fl->log_level, &lvl) != 0) {
        fprintf(errout, "stoker controller: --log-level: expected debug, info, warn or error, "
                        "got '%s'\n", fl->log_level);
        return CLI_EXIT_USAGE;
    }
    if (fl->cluster_endpoint && strncmp(fl->cluster_endpoint, "https://", 8) != 0 &&
        strncmp(fl->cluster_endpoint, "http://", 7) != 0) {
        fprintf(errout, "stoker controller: --cluster-endpoint: expected an https:// URL, got "
                        "'%s'\n", fl->cluster_endpoint);
        return CLI_EXIT_USAGE;
    }
    if (!fl->metrics_addr)
        fl->metrics_addr = CTL_DEFAULT_METRICS;
    if (!strchr(fl->metrics_addr, ':')) {
        fprintf(errout, "stoker controller: --metrics-addr: expected HOST:PORT, got '%s'\n",
                fl->metrics_addr);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static int parse_flags(int argc, char **argv, const struct cli_config *cfg, struct ctl_flags *fl,
                       FILE *out, FILE *errout)
{
    const char *from_flag[3] = {NULL, NULL, NULL}; /* batch-idle, batch-max, leader-elect */

    memset(fl, 0, sizeof *fl);
    fl->leader_elect = 1;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int missing = 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            ctl_usage(out);
            return -1;
        } else if (strcmp(argv[i], "--leader-elect") == 0) {
            fl->leader_elect = 1;
            from_flag[2] = argv[i];
        } else if (strncmp(argv[i], "--leader-elect=", 15) == 0) {
            if (parse_bool(argv[i] + 15, &fl->leader_elect) != 0) {
                fprintf(errout, "stoker controller: --leader-elect: expected true or false, "
                                "got '%s'\n", argv[i] + 15);
                return CLI_EXIT_USAGE;
            }
            from_flag[2] = argv[i];
        } else if ((v = cli_flag_value(argc, argv, &i, "--cluster-name", &missing)) != NULL) {
            fl->cluster_name = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--cluster-endpoint", &missing)) !=
                   NULL) {
            fl->cluster_endpoint = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--cluster-ca", &missing)) != NULL) {
            fl->cluster_ca = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--region", &missing)) != NULL) {
            fl->region = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--kubeconfig", &missing)) != NULL) {
            if (!*v) {
                fprintf(errout, "stoker controller: --kubeconfig: expected a path\n");
                return CLI_EXIT_USAGE;
            }
            fl->kubeconfig = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--context", &missing)) != NULL) {
            fl->context = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--batch-idle", &missing)) != NULL) {
            if (parse_duration("--batch-idle", v, &fl->batch_idle, errout) != 0)
                return CLI_EXIT_USAGE;
            from_flag[0] = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--batch-max", &missing)) != NULL) {
            if (parse_duration("--batch-max", v, &fl->batch_max, errout) != 0)
                return CLI_EXIT_USAGE;
            from_flag[1] = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--metrics-addr", &missing)) != NULL) {
            fl->metrics_addr = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--identity", &missing)) != NULL) {
            fl->identity = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--zones", &missing)) != NULL) {
            fl->zones = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--service-cidr", &missing)) != NULL) {
            fl->service_cidr = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--log-format", &missing)) != NULL) {
            fl->log_format = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--log-level", &missing)) != NULL) {
            fl->log_level = v;
        } else if (missing) {
            fprintf(errout, "stoker controller: %s: expected a value\n\n", argv[i]);
            ctl_usage(errout);
            return CLI_EXIT_USAGE;
        } else {
            fprintf(errout, "stoker controller: unknown argument '%s'\n\n", argv[i]);
            ctl_usage(errout);
            return CLI_EXIT_USAGE;
        }
    }
    {
        int rc = settle(fl, from_flag, errout);
        if (rc)
            return rc;
    }
    if (!fl->log_format)
        fl->log_format = cfg && cfg->log_format ? cfg->log_format : "logfmt";
    if (!fl->log_level)
        fl->log_level = cfg && cfg->log_level ? cfg->log_level : "info";
    if (fl->batch_idle && fl->batch_max && fl->batch_idle > fl->batch_max) {
        fprintf(errout, "stoker controller: --batch-idle: must not be longer than --batch-max\n");
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* Splits "a,b" into zones (pointers into buf). 0, or -1 naming the problem. */
static int split_zones(const char *s, char *buf, size_t bufsz, const char **zones, size_t *n,
                       FILE *errout)
{
    char *p;
    if (core_strlcpy(buf, s, bufsz) >= bufsz) {
        fprintf(errout, "stoker controller: --zones: too long\n");
        return -1;
    }
    *n = 0;
    p = buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (!*p || *n == CTL_MAX_ZONES) {
            fprintf(errout, "stoker controller: --zones: expected a comma-separated list of at "
                            "most %u zone names, got '%s'\n", CTL_MAX_ZONES, s);
            return -1;
        }
        zones[(*n)++] = p;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

/* base64 of bytes into a heap string. */
static char *b64(const char *data, size_t len)
{
    size_t cap = 4 * ((len + 2) / 3) + 1;
    char *s;
    if (len > CTL_CA_MAX || !(s = core_malloc(cap)))
        return NULL;
    EVP_EncodeBlock((unsigned char *)s, (const unsigned char *)data, (int)len);
    return s;
}

/* The CA bundle the configuration trusts, base64-encoded (heap); NULL when it names none, it
 * cannot be read (err says why) or memory runs out. */
static char *config_ca(const struct k8s_config *kc, struct core_err *err)
{
    char *text = NULL, *out;
    size_t len = 0;

    if (kc->ca_pem && kc->ca_pem_len)
        return b64(kc->ca_pem, kc->ca_pem_len);
    if (!kc->ca_file)
        return NULL;
    if (core_read_file("CA file", kc->ca_file, CTL_CA_MAX, &text, &len, err) != 0)
        return NULL;
    out = b64(text, len);
    core_free(text);
    return out;
}

static void on_shutdown(void *ud)
{
    struct ctl_run *r = ud;
    core_log_write(r->log, CORE_LOG_INFO, "controller", NULL, "shutting down",
                   (const char *)NULL);
    controller_http_free(r->http);
    r->http = NULL;
    controller_free(r->c);
    r->c = NULL;
}

static int run(const struct ctl_flags *fl, FILE *errout)
{
    struct k8s_config kc;
    struct aws_config acfg;
    struct controller_opts o;
    struct core_loop_opts lo = {1, 0};
    struct core_clock *clock = NULL;
    struct core_loop *loop = NULL;
    struct core_http_transport *t = NULL;
    struct aws_creds_provider *creds = NULL;
    struct aws_client *aws = NULL;
    struct k8s_auth *auth = NULL;
    struct k8s_client *k8s = NULL;
    struct ctl_run r;
    struct core_err err;
    enum core_log_level lvl = CORE_LOG_INFO;
    enum core_log_format fmt = CORE_LOG_LOGFMT;
    const char *zones[CTL_MAX_ZONES];
    char zbuf[1024], addr[96], port[16];
    char *ca = NULL;
    size_t nzones = 0;
    int in_cluster = !fl->kubeconfig && aws_env_get(NULL, "KUBERNETES_SERVICE_HOST") != NULL;
    int rc = CLI_EXIT_FAIL;

    memset(&kc, 0, sizeof kc);
    memset(&o, 0, sizeof o);
    memset(&r, 0, sizeof r);
    core_err_clear(&err);
    if (core_log_level_parse(fl->log_level, &lvl) != 0 ||
        core_log_format_parse(fl->log_format, &fmt) != 0)
        return CLI_EXIT_USAGE; /* checked while parsing */
    if (fl->zones && split_zones(fl->zones, zbuf, sizeof zbuf, zones, &nzones, errout) != 0)
        return CLI_EXIT_USAGE;
    if (aws_config_resolve(&acfg, NULL, fl->region, &err) != 0) {
        fprintf(errout, "stoker controller: --region: %s\n", err.message);
        return CLI_EXIT_USAGE;
    }
    if (in_cluster ? k8s_config_in_cluster(NULL, NULL, &kc, &err)
                   : k8s_config_load_kubeconfig(NULL, fl->kubeconfig, fl->context, &kc, &err)) {
        fprintf(errout, "stoker controller: %s: %s\n",
                in_cluster ? "in-cluster configuration" : "--kubeconfig", err.message);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (!fl->cluster_endpoint && (in_cluster || !kc.server)) {
        fprintf(errout, "stoker controller: --cluster-endpoint: required %s (or "
                        "STOKER_CLUSTER_ENDPOINT)\n",
                in_cluster ? "in-cluster: the service address is not one nodes can join"
                           : "when the kubeconfig names no server");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (!fl->cluster_ca && !(ca = config_ca(&kc, &err))) {
        fprintf(errout, "stoker controller: --cluster-ca: required (or STOKER_CLUSTER_CA): the "
                        "%s gives no certificate authority%s%s\n",
                in_cluster ? "in-cluster configuration" : "kubeconfig",
                err.message[0] ? ": " : "", err.message);
        rc = CLI_EXIT_USAGE;
        goto done;
    }

    clock = core_clock_real_new();
    if (!clock || core_loop_new(clock, &lo, &loop, &err) != 0) {
        fprintf(errout, "stoker controller: %s\n", err.message[0] ? err.message : "out of memory");
        goto done;
    }
    if (!(r.log = core_log_new(errout, fmt, lvl, clock))) {
        fprintf(errout, "stoker controller: out of memory\n");
        goto done;
    }
    if (core_http_curl_new(loop, NULL, &t, &err) != 0 ||
        aws_creds_chain_new(loop, t, NULL, &acfg, NULL, &creds, &err) != 0 ||
        aws_client_new(loop, t, creds, &acfg, NULL, &aws, &err) != 0 ||
        k8s_auth_new(loop, &kc, creds, &auth, &err) != 0 ||
        k8s_client_new(loop, t, &kc, auth, NULL, &k8s, &err) != 0) {
        fprintf(errout, "stoker controller: %s\n", err.message[0] ? err.message : "out of memory");
        goto done;
    }
    o.cluster_name = fl->cluster_name;
    o.cluster_endpoint = fl->cluster_endpoint ? fl->cluster_endpoint : kc.server;
    o.cluster_ca = fl->cluster_ca ? fl->cluster_ca : ca;
    o.service_cidr = fl->service_cidr;
    o.region = acfg.region;
    o.zones = nzones ? zones : NULL;
    o.nzones = nzones;
    o.leader_election = fl->leader_elect;
    o.identity = fl->identity;
    o.batch_idle = fl->batch_idle;
    o.batch_max = fl->batch_max;
    if (controller_new(loop, k8s, aws, r.log, &o, &r.c, &err) != 0) {
        fprintf(errout, "stoker controller: %s\n", err.message[0] ? err.message : "out of memory");
        rc = err.code == CORE_E_INVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
        goto done;
    }
    if (controller_http_new(loop, r.c, fl->metrics_addr, &r.http, &err) != 0) {
        fprintf(errout, "stoker controller: --metrics-addr %s: %s\n", fl->metrics_addr,
                err.message);
        rc = err.code == CORE_E_INVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
        goto done;
    }
    if (core_loop_on_shutdown(loop, on_shutdown, &r) != 0) {
        fprintf(errout, "stoker controller: out of memory\n");
        goto done;
    }
    if (controller_start(r.c, &err) != 0) {
        fprintf(errout, "stoker controller: %s\n", err.message[0] ? err.message : "cannot start");
        goto done;
    }
    {
        /* The bound address, as a client would dial it. */
        const char *colon = strrchr(fl->metrics_addr, ':');
        size_t hlen = (size_t)(colon - fl->metrics_addr);
        snprintf(port, sizeof port, "%d", controller_http_port(r.http));
        snprintf(addr, sizeof addr, "%.*s:%s", (int)(hlen < 64 ? hlen : 64), fl->metrics_addr,
                 port);
    }
    core_log_write(r.log, CORE_LOG_INFO, "controller", NULL, "listening", "addr", addr,
                   "cluster", fl->cluster_name, "region", acfg.region, "leader_election",
                   fl->leader_elect ? "true" : "false", (const char *)NULL);
    fflush(errout);
    if (core_loop_run(loop, &err) != 0) {
        fprintf(errout, "stoker controller: %s\n", err.message);
        goto done;
    }
    {
        char sig[16];
        snprintf(sig, sizeof sig, "%d", core_loop_stop_signal(loop));
        core_log_write(r.log, CORE_LOG_INFO, "controller", NULL, "stopped", "signal", sig,
                       (const char *)NULL);
    }
    rc = CLI_EXIT_OK;
done:
    controller_http_free(r.http);
    controller_free(r.c);
    k8s_client_free(k8s);
    k8s_auth_free(auth);
    aws_client_free(aws);
    aws_creds_provider_free(creds);
    core_http_transport_free(t);
    core_loop_free(loop);
    core_log_free(r.log);
    core_clock_free(clock);
    k8s_config_cleanup(&kc);
    core_free(ca);
    return rc;
}

int cli_cmd_controller(const struct cli_config *cfg, int argc, char **argv, FILE *out,
                       FILE *errout)
{
    struct ctl_flags fl;
    int rc = parse_flags(argc, argv, cfg, &fl, out, errout);

    if (rc < 0)
        return CLI_EXIT_OK;
    if (rc > 0)
        return rc;
    return run(&fl, errout);
}
