/*
 * cli/cmd_sim.c — `stoker sim serve`: the emulated AWS account (EC2 Query, SSM JSON 1.1) and
 * the emulated Kubernetes API (with stoker's CRDs) on one loopback HTTP port in real time, for
 * the AWS CLI, kubectl, SDKs or a stoker controller pointed at it through an env file and a
 * kubeconfig, with the simulated cluster (kubelets, scheduler, volume provisioner) running over
 * both. `stoker sim --scenario`, the virtual-time run, is in cli/cmd_sim_run.c.
 *
 * Requests are routed by path: the Kubernetes API's roots (/api, /apis, /version, /healthz,
 * /readyz, /livez, /openapi) go to the emulated API server, everything else (AWS clients post
 * to "/") to the emulated account.
 *
 * Invariants: every flag is validated before anything is built, and a bad one names itself and
 * what was expected (exit 2); the env file and the kubeconfig are written before the
 * "listening" line, so a parent that waits for that line can read them at once; the line is
 * flushed; SIGTERM / SIGINT end the loop and the command exits 0; only loopback addresses are
 * served.
 */
#include "cli/cli.h"

#include "core/core.h"
#include "sim/sim.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SIM_DEFAULT_LISTEN "127.0.0.1:4566"
#define SIM_DEFAULT_ENV_FILE "./stoker-sim.env"
#define SIM_DEFAULT_KUBECONFIG "./stoker-sim.kubeconfig"
#define SIM_DEFAULT_CRDS "deploy/crds"
#define SIM_CRD_FILE_MAX (4u << 20)
#define SIM_CRD_FILES_MAX 256u

static void sim_usage(FILE *f)
{
    fprintf(f,
            "usage: stoker sim --scenario NAME [--seed N] [--report FILE.html] ...\n"
            "         (a virtual-time run with the controller; stoker sim --scenario --help)\n"
            "       stoker sim serve [--listen HOST:PORT] [--env-file PATH] [--kubeconfig PATH]\n"
            "                        [--crds DIR] [--seed N] [--region R] [--cluster NAME]\n"
            "                        [--fault ITEM]... [--boot STEP=MEDIAN[/SIGMA]]...\n"
            "                        [--node-on-stop delete|notready]\n"
            "\n"
            "Serves an emulated AWS account (EC2 and SSM, real wire formats, SigV4 checked)\n"
            "and an emulated Kubernetes API (built-in kinds plus the CRDs in --crds) on one\n"
            "loopback address until SIGTERM or SIGINT. Writes an env file with\n"
            "AWS_ENDPOINT_URL, the region and the account's keys for clients to source, and\n"
            "a kubeconfig for kubectl. A simulated cluster runs inside: every instance whose\n"
            "user data joins the cluster registers a Node (Ready after the boot model's\n"
            "delays), warm-up user data powers its instance off, and pending pods are\n"
            "scheduled onto Ready nodes.\n"
            "\n"
            "flags:\n"
            "  --listen HOST:PORT   loopback address to serve on (default " SIM_DEFAULT_LISTEN
            "; port 0 = any free port)\n"
            "  --env-file PATH      where to write the env file (default " SIM_DEFAULT_ENV_FILE
            ")\n"
            "  --kubeconfig PATH    where to write the kubeconfig (default "
            SIM_DEFAULT_KUBECONFIG ")\n"
            "  --crds DIR           serve every *.yaml CustomResourceDefinition in DIR instead\n"
            "                       of stoker's own (" SIM_DEFAULT_CRDS ", built in)\n"
            "  --seed N             PRNG seed for identifiers, delays and faults (default 0)\n"
            "  --region R           the account's region (default us-east-1)\n"
            "  --cluster NAME       cluster name in the discovery tags (default sim)\n"
            "  --fault ITEM         ice=TYPE@ZONE, throttle=on|off, error-rate=0.01,\n"
            "                       latency=50ms, consistency=5s (repeatable)\n"
            "  --boot STEP=MEDIAN   override a boot-model step, e.g. launch=20s or start=5s/0.3\n"
"                       (repeatable)\n"
            "  --node-on-stop MODE  what happens to a stopped instance's Node: delete\n"
            "                       (default) or notready (kept NotReady and tainted\n"
            "                       unreachable until the instance terminates)\n"
            "  -h, --help           show this help\n"
            "\n"
            "example:\n"
            "  stoker sim serve --listen 127.0.0.1:0 --env-file /tmp/sim.env &\n"
            "  set -a; . /tmp/sim.env; set +a; aws ec2 describe-subnets\n"
            "  kubectl --kubeconfig ./stoker-sim.kubeconfig get nodepools\n");
}

/* "HOST:PORT" or "[V6]:PORT" into host (brackets kept off) and port. */
static int parse_listen(const char *s, char *host, size_t hostsz, uint16_t *port)
{
    const char *colon;
    size_t hlen;
    int64_t p;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return CORE_E_INVAL;
        colon = close + 1;
        hlen = (size_t)(close - s - 1);
        s++;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return CORE_E_INVAL;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= hostsz || core_parse_i64(colon + 1, 0, 65535, &p) != 0)
        return CORE_E_INVAL;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)p;
    return 0;
}

/* Both emulators behind one port. */
struct sim_both {
    struct sim_aws *aws;
    struct sim_kube *kube;
};

/* Whether the request's path belongs to the Kubernetes API: its first segment is one of the
 * API server's roots. AWS clients use "/" (Query and JSON protocols alike). */
static int is_kube_path(const char *target)
{
    static const char *const roots[] = {"api", "apis", "version", "healthz", "readyz", "livez",
                                        "openapi", NULL};
    size_t n;

    if (!target || target[0] != '/')
        return 0;
    target++;
    n = strcspn(target, "/?");
    for (size_t i = 0; roots[i]; i++)
        if (strlen(roots[i]) == n && strncmp(target, roots[i], n) == 0)
            return 1;
    return 0;
}

static void both_handle(void *ud, const struct sim_http_req *req,
                        struct core_http_response *resp, core_ns *delay)
{
    struct sim_both *b = ud;
    if (is_kube_path(req->target))
        sim_kube_handle(b->kube, req, resp, delay);
    else
        sim_aws_handle(b->aws, req, resp, delay);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads DIR/ *.yaml in name order, so the same directory always gives the same registry. */
static int load_crd_dir(struct sim_kube *k, const char *dir, FILE *errout)
{
    char *names[SIM_CRD_FILES_MAX];
    size_t n = 0, loaded = 0;
    struct dirent *de;
    struct core_err err;
    int rc = 0;
    DIR *d = opendir(dir);

    if (!d) {
        fprintf(errout, "stoker sim serve: --crds %s: cannot open the directory: %s%s\n", dir,
                strerror(errno),
                strcmp(dir, SIM_DEFAULT_CRDS) == 0
                    ? " (without --crds the built-in CRDs are served)"
                    : "");
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
            continue;
        if (n == SIM_CRD_FILES_MAX) {
            fprintf(errout, "stoker sim serve: --crds %s: more than %u files\n", dir,
                    SIM_CRD_FILES_MAX);
            rc = -1;
            break;
        }
        if (!(names[n] = core_strdup(de->d_name))) {
            fprintf(errout, "stoker sim serve: out of memory\n");
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == 0)
        qsort(names, n, sizeof names[0], cmp_str);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[4096], *text = NULL;
        size_t len = 0;
        core_err_clear(&err);
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= sizeof path) {
            fprintf(errout, "stoker sim serve: --crds %s: path too long\n", dir);
            rc = -1;
        } else if (core_read_file("CRD file", path, SIM_CRD_FILE_MAX, &text, &len, &err) != 0 ||
                   sim_kube_load_crds(k, text, len, path, &err) != 0) {
            fprintf(errout, "stoker sim serve: --crds %s: %s\n", dir, err.message);
            rc = -1;
        } else {
            loaded++;
        }
        core_free(text);
    }
    for (size_t i = 0; i < n; i++)
        core_free(names[i]);
    if (rc == 0 && loaded == 0) {
        fprintf(errout, "stoker sim serve: --crds %s: no *.yaml files\n", dir);
        rc = -1;
    }
    return rc;
}

static int serve(int argc, char **argv, FILE *out, FILE *errout)
{
    const char *listen = SIM_DEFAULT_LISTEN, *env_file = SIM_DEFAULT_ENV_FILE;
    const char *kubeconfig = SIM_DEFAULT_KUBECONFIG, *crds = NULL; /* NULL: the built-in ones */
    char host[64], endpoint[128];
    struct sim_aws_opts o;
    struct sim_kube_opts ko;
    struct sim_kube *k = NULL;
    struct sim_both both;
    struct sim_server_opts so;
    struct core_loop_opts lo = {1, 0};
    struct core_clock *clock = NULL;
    struct core_loop *loop = NULL;
    struct sim_aws *a = NULL;
    struct sim_server *srv = NULL;
    struct sim_aws_stats st;
    struct sim_cluster_opts co;
    struct sim_cluster *cl = NULL;
    struct core_err err;
    uint16_t port = 0;
    int rc = CLI_EXIT_FAIL;

    core_err_clear(&err);
    sim_aws_opts_default(&o);
    sim_kube_opts_default(&ko);
    memset(&co, 0, sizeof co);
    for (int i = 2; i < argc; i++) {
        const char *v;
        int missing = 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            sim_usage(out);
            return CLI_EXIT_OK;
        } else if ((v = cli_flag_value(argc, argv, &i, "--listen", &missing)) != NULL) {
            listen = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--env-file", &missing)) != NULL) {
            if (!*v) {
                fprintf(errout, "stoker sim serve: --env-file: expected a path\n");
                return CLI_EXIT_USAGE;
            }
            env_file = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--kubeconfig", &missing)) != NULL) {
            if (!*v) {
                fprintf(errout, "stoker sim serve: --kubeconfig: expected a path\n");
                return CLI_EXIT_USAGE;
            }
            kubeconfig = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--crds", &missing)) != NULL) {
            if (!*v) {
                fprintf(errout, "stoker sim serve: --crds: expected a directory\n");
                return CLI_EXIT_USAGE;
            }
            crds = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--seed", &missing)) != NULL) {
            int64_t seed;
            if (core_parse_i64(v, 0, INT64_MAX, &seed) != 0) {
                fprintf(errout, "stoker sim serve: --seed: expected a non-negative integer, "
                                "got '%s'\n", v);
                return CLI_EXIT_USAGE;
            }
            o.seed = (uint64_t)seed;
            ko.seed = (uint64_t)seed;
            co.seed = (uint64_t)seed;
        } else if ((v = cli_flag_value(argc, argv, &i, "--region", &missing)) != NULL) {
            if (!*v || strlen(v) >= 64) {
                fprintf(errout, "stoker sim serve: --region: expected a region name such as "
                                "us-east-1\n");
                return CLI_EXIT_USAGE;
            }
            o.region = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--cluster", &missing)) != NULL) {
            if (!*v || strlen(v) >= 100) {
                fprintf(errout, "stoker sim serve: --cluster: expected a cluster name of 1 to "
                                "99 characters\n");
                return CLI_EXIT_USAGE;
            }
            o.cluster_name = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--fault", &missing)) != NULL) {
            if (sim_faults_parse(&o.faults, v, &err) != 0) {
                fprintf(errout, "stoker sim serve: --fault: %s\n", err.message);
                return CLI_EXIT_USAGE;
            }
        } else if ((v = cli_flag_value(argc, argv, &i, "--boot", &missing)) != NULL) {
            if (sim_boot_model_set(&o.boot, v, &err) != 0) {
                fprintf(errout, "stoker sim serve: --boot: %s\n", err.message);
                return CLI_EXIT_USAGE;
            }
        } else if ((v = cli_flag_value(argc, argv, &i, "--node-on-stop", &missing)) != NULL) {
            if (strcmp(v, "delete") == 0) {
                co.node_on_stop = SIM_NODE_DELETE;
            } else if (strcmp(v, "notready") == 0) {
                co.node_on_stop = SIM_NODE_NOTREADY;
            } else {
                fprintf(errout, "stoker sim serve: --node-on-stop: expected delete or notready, "
                                "got '%s'\n", v);
                return CLI_EXIT_USAGE;
            }
        } else if (missing) {
            fprintf(errout, "stoker sim serve: %s: expected a value\n\n", argv[i]);
            sim_usage(errout);
            return CLI_EXIT_USAGE;
        } else {
            fprintf(errout, "stoker sim serve: unknown argument '%s'\n\n", argv[i]);
            sim_usage(errout);
            return CLI_EXIT_USAGE;
        }
    }
    if (parse_listen(listen, host, sizeof host, &port) != 0) {
        fprintf(errout, "stoker sim serve: --listen: expected HOST:PORT with a loopback host "
                        "and a port from 0 to 65535, got '%s'\n", listen);
        return CLI_EXIT_USAGE;
    }
    memset(&so, 0, sizeof so);
    so.host = host;
    so.port = port;

    clock = core_clock_real_new();
    if (!clock || core_loop_new(clock, &lo, &loop, &err) != 0) {
        fprintf(errout, "stoker sim serve: %s\n", err.message[0] ? err.message : "out of memory");
        goto done;
    }
    if (sim_aws_new(loop, &o, &a, &err) != 0) {
        fprintf(errout, "stoker sim serve: %s\n", err.message);
        goto done;
    }
    if (sim_kube_new(loop, &ko, &k, &err) != 0) {
        fprintf(errout, "stoker sim serve: %s\n", err.message);
        goto done;
    }
    if (crds) {
        if (load_crd_dir(k, crds, errout) != 0) {
            rc = CLI_EXIT_USAGE;
            goto done;
        }
    } else if (sim_kube_load_builtin_crds(k, &err) != 0) {
        fprintf(errout, "stoker sim serve: %s\n", err.message);
        goto done;
    }
    if (sim_cluster_new(loop, a, k, &co, &cl, &err) != 0) {
        fprintf(errout, "stoker sim serve: %s\n", err.message);
        goto done;
    }
    both.aws = a;
    both.kube = k;
    if (sim_server_new(loop, &so, both_handle, &both, &srv, &err) != 0) {
        fprintf(errout, "stoker sim serve: --listen %s: %s\n", listen, err.message);
        rc = err.code == CORE_E_INVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
        goto done;
    }
    snprintf(endpoint, sizeof endpoint, strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u",
             host, (unsigned)sim_server_port(srv));
    if (sim_aws_write_env(a, endpoint, env_file, &err) != 0) {
        fprintf(errout, "stoker sim serve: --env-file %s: %s\n", env_file, err.message);
        goto done;
    }
    if (sim_kube_write_kubeconfig(endpoint, kubeconfig, &err) != 0) {
        fprintf(errout, "stoker sim serve: --kubeconfig %s: %s\n", kubeconfig, err.message);
        goto done;
    }
    fprintf(out, "stoker sim serve: listening on %s env-file=%s kubeconfig=%s\n", endpoint,
            env_file, kubeconfig);
    fflush(out);
    if (core_loop_run(loop, &err) != 0) {
        fprintf(errout, "stoker sim serve: %s\n", err.message);
        goto done;
    }
    sim_aws_stats(a, &st);
    fprintf(errout, "stoker sim serve: stopped (signal %d) after %lu requests, %lu instances "
                    "launched\n", core_loop_stop_signal(loop), st.requests, st.launched);
    rc = CLI_EXIT_OK;
done:
    sim_server_free(srv);
    sim_cluster_free(cl);
    sim_kube_free(k);
    sim_aws_free(a);
    core_loop_free(loop);
    core_clock_free(clock);
    return rc;
}

int cli_cmd_sim(const struct cli_config *cfg, int argc, char **argv, FILE *out, FILE *errout)
{
    (void)cfg;
    if (argc < 2) {
        sim_usage(errout);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        sim_usage(out);
        return CLI_EXIT_OK;
    }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--scenario") == 0 || strncmp(argv[i], "--scenario=", 11) == 0)
            return cli_sim_scenario(argc, argv, out, errout);
    if (strcmp(argv[1], "serve") == 0)
        return serve(argc, argv, out, errout);
    fprintf(errout, "stoker sim: unknown subcommand '%s'; expected serve\n\n", argv[1]);
    sim_usage(errout);
    return CLI_EXIT_USAGE;
}
