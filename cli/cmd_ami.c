/*
 * cli/cmd_ami.c — `stoker ami resolve`: which AMIs an alias (--family) or an EC2NodeClass file
 * (-f) means right now, through the same resolver the controller uses (SSM public parameters,
 * EC2 DescribeImages), printed as a table.
 *
 * Invariants: every flag is validated before anything talks to AWS, and a bad one names itself
 * (exit 2); a file error names the file, and the decoder's message names the field (exit 1); a
 * resolution error prints the reason and message the EC2NodeClass's AMIsReady condition would
 * carry (exit 1), so the CLI and the controller say the same thing; the Kubernetes minor comes
 * from --k8s-version or the API server's /version, never from a guess; every wait is bounded.
 */
#include "cli/cli.h"

#include "amiresolve/amiresolve.h"
#include "aws/aws.h"
#include "core/core.h"
#include "k8s/k8s.h"

#include <string.h>

#define AMI_TIMEOUT_S 120
#define AMI_VERSION_TIMEOUT_S 15

struct ami_flags {
    const char *family, *file, *k8s, *arch, *variant, *version, *region;
};

struct ami_wait {
    int done;
    int rc;
    struct core_err err;
    struct amiresolve_result res;
    int have_res;
};

struct version_wait {
    int done;
    int rc;
    struct core_err err;
    char minor[16];
};

static void ami_usage(FILE *f)
{
    fprintf(f,
            "usage: stoker ami resolve --family F --k8s-version V [--arch amd64|arm64]\n"
            "                          [--variant standard|nvidia|neuron]\n"
            "                          [--version latest|vYYYYMMDD|X.Y.Z] [--region R]\n"
            "       stoker ami resolve -f nodeclass.yaml [--k8s-version V] [--arch A]\n"
            "                          [--variant V] [--region R]\n"
            "\n"
            "Resolves an AMI alias (family@version, as in an EC2NodeClass's amiSelectorTerms)\n"
            "or the amiSelectorTerms of the first EC2NodeClass in a YAML file, and prints one\n"
            "row per image: AMI ID, NAME, ARCH, VARIANT, CREATED, DEPRECATED, SOURCE.\n"
            "\n"
            "flags:\n"
            "  --family F         al2023, al2, bottlerocket, windows2019, windows2022,\n"
            "                     windows2025\n"
            "  -f, --file PATH    an EC2NodeClass manifest (YAML; the first EC2NodeClass\n"
            "                     document is used)\n"
            "  --k8s-version V    Kubernetes minor, e.g. 1.31 (default: the API server's, from\n"
            "                     KUBECONFIG or ~/.kube/config)\n"
            "  --arch A           only rows of this architecture (amd64, arm64)\n"
            "  --variant V        only rows of this variant (standard, nvidia, neuron)\n"
            "  --version V        the alias version with --family (default latest)\n"
            "  --region R         AWS region (default AWS_REGION, AWS_DEFAULT_REGION)\n"
            "  -h, --help         show this help\n"
            "\n"
            "Endpoints and credentials follow the SDK conventions (AWS_ENDPOINT_URL, ...);\n"
            "see docs/cli.md. Exit codes: 0 success, 1 failure, 2 usage error.\n");
}

/* "1.31": a major and a minor of at most three digits each. */
static int k8s_version_ok(const char *s)
{
    size_t a = strspn(s, "0123456789"), b;

    if (a == 0 || a > 3 || s[a] != '.')
        return 0;
    b = strspn(s + a + 1, "0123456789");
    return b > 0 && b <= 3 && s[a + 1 + b] == '\0';
}

static int parse_flags(int argc, char **argv, struct ami_flags *fl, FILE *out, FILE *errout)
{
    memset(fl, 0, sizeof *fl);
    for (int i = 2; i < argc; i++) {
        const char *v;
        int missing = 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            ami_usage(out);
            return -1;
        } else if ((v = cli_flag_value(argc, argv, &i, "--family", &missing)) != NULL) {
            fl->family = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "-f", &missing)) != NULL ||
                   (v = cli_flag_value(argc, argv, &i, "--file", &missing)) != NULL) {
            fl->file = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--k8s-version", &missing)) != NULL) {
            if (!k8s_version_ok(v)) {
                fprintf(errout, "stoker ami resolve: --k8s-version: expected a Kubernetes "
                                "minor such as 1.31, got '%s'\n", v);
                return CLI_EXIT_USAGE;
            }
            fl->k8s = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--arch", &missing)) != NULL) {
            if (strcmp(v, "amd64") != 0 && strcmp(v, "arm64") != 0) {
                fprintf(errout, "stoker ami resolve: --arch: expected amd64 or arm64, got "
                                "'%s'\n", v);
                return CLI_EXIT_USAGE;
            }
            fl->arch = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--variant", &missing)) != NULL) {
            if (strcmp(v, "standard") != 0 && strcmp(v, "nvidia") != 0 &&
                strcmp(v, "neuron") != 0) {
                fprintf(errout, "stoker ami resolve: --variant: expected standard, nvidia or "
                                "neuron, got '%s'\n", v);
                return CLI_EXIT_USAGE;
            }
            fl->variant = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--version", &missing)) != NULL) {
            fl->version = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--region", &missing)) != NULL) {
            fl->region = v;
        } else if (missing) {
            fprintf(errout, "stoker ami resolve: %s: expected a value\n\n", argv[i]);
            ami_usage(errout);
            return CLI_EXIT_USAGE;
        } else {
            fprintf(errout, "stoker ami resolve: unknown argument '%s'\n\n", argv[i]);
            ami_usage(errout);
            return CLI_EXIT_USAGE;
        }
    }
    if (!fl->family == !fl->file) {
        fprintf(errout, "stoker ami resolve: exactly one of --family and -f is required\n\n");
        ami_usage(errout);
        return CLI_EXIT_USAGE;
    }
    if (fl->file && fl->version) {
        fprintf(errout, "stoker ami resolve: --version goes with --family; with -f the "
                        "EC2NodeClass's amiSelectorTerms say which images\n");
        return CLI_EXIT_USAGE;
    }
    if (fl->family && !*fl->family) {
        fprintf(errout, "stoker ami resolve: --family: expected a family such as al2023\n");
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* Reads the first EC2NodeClass of a YAML file into *nc. Messages name the file. */
static int load_nodeclass(const char *path, struct k8s_ec2nodeclass *nc, struct core_err *err)
{
    json_t **docs = NULL;
    size_t n = 0, i;
    int rc;

    if ((rc = k8s_yaml_load_file(path, &docs, &n, err)) != 0)
        return rc;
    for (i = 0; i < n; i++)
        if (json_is_object(docs[i]) &&
            strcmp(json_string_value(json_object_get(docs[i], "kind")) ?
                   json_string_value(json_object_get(docs[i], "kind")) : "", "EC2NodeClass") == 0)
            break;
    if (i == n) {
        rc = core_err_set(err, CORE_E_INVAL, "%s: no document of kind EC2NodeClass", path);
    } else {
        rc = k8s_ec2nodeclass_decode(docs[i], nc, err);
        if (rc)
            core_err_prefix(err, "%s", path);
    }
    k8s_yaml_docs_free(docs, n);
    return rc;
}

static void on_version(void *ud, int rc, json_t *obj, const struct core_err *err)
{
    struct version_wait *w = ud;
    const char *major = json_string_value(json_object_get(obj, "major"));
    const char *minor = json_string_value(json_object_get(obj, "minor"));
    char m[8];
    size_t n;

    w->done = 1;
    w->rc = rc;
    if (rc) {
        if (err)
            w->err = *err;
        else
            core_err_set(&w->err, rc, "%s", core_strerror(rc));
        return;
    }
    /* Managed clusters say "31+" for a minor with provider patches. */
    n = minor ? strlen(minor) : 0;
    if (n > 0 && minor[n - 1] == '+')
        n--;
    if (!major || n == 0 || n >= sizeof m) {
        w->rc = core_err_set(&w->err, CORE_E_PARSE, "GET /version: no major and minor in the "
                             "answer");
        return;
    }
    memcpy(m, minor, n);
    m[n] = '\0';
    snprintf(w->minor, sizeof w->minor, "%.3s.%s", major, m);
    if (!k8s_version_ok(w->minor))
        w->rc = core_err_set(&w->err, CORE_E_PARSE, "GET /version: unexpected version '%s'",
                             w->minor);
}

/* The API server's Kubernetes minor through the kubeconfig (KUBECONFIG or ~/.kube/config). */
static int server_version(struct core_loop *loop, struct core_http_transport *t,
                          struct aws_creds_provider *creds, char *out, size_t outsz,
                          struct core_err *err)
{
    struct k8s_config kc;
    struct k8s_auth *auth = NULL;
    struct k8s_client *client = NULL;
    struct k8s_client_opts o;
    struct version_wait w;
    int rc;

    memset(&kc, 0, sizeof kc);
    memset(&o, 0, sizeof o);
    memset(&w, 0, sizeof w);
    o.timeout = AMI_VERSION_TIMEOUT_S * CORE_NS_PER_S;
    o.max_retries = 1;
    if ((rc = k8s_config_load_kubeconfig(NULL, NULL, NULL, &kc, err)) != 0)
        goto done;
    if ((rc = k8s_auth_new(loop, &kc, creds, &auth, err)) != 0 ||
        (rc = k8s_client_new(loop, t, &kc, auth, &o, &client, err)) != 0 ||
        (rc = k8s_request(client, "GET", "/version", NULL, NULL, NULL, 0, on_version, &w,
                          err)) != 0)
        goto done;
    if (core_loop_run_until(loop, &w.done,
                            core_loop_now(loop) + (AMI_VERSION_TIMEOUT_S + 5) * CORE_NS_PER_S,
                            err) != 0) {
        rc = core_err_set(err, CORE_E_TIMEOUT, "%s: no answer to GET /version", kc.server);
        goto done;
    }
    if ((rc = w.rc) != 0) {
        *err = w.err;
        core_err_prefix(err, "%s", kc.server ? kc.server : "API server");
        goto done;
    }
    core_strlcpy(out, w.minor, outsz);
done:
    k8s_client_free(client);
    k8s_auth_free(auth);
    k8s_config_cleanup(&kc);
    return rc;
}

static void on_resolved(void *ud, int rc, const struct amiresolve_result *res,
                        const struct core_err *err)
{
    struct ami_wait *w = ud;

    w->done = 1;
    w->rc = rc;
    if (rc) {
        if (err)
            w->err = *err;
        else
            core_err_set(&w->err, rc, "%s", core_strerror(rc));
        return;
    }
    if (amiresolve_result_copy(&w->res, res) != 0) {
        w->rc = core_err_set(&w->err, CORE_E_NOMEM, "out of memory");
        return;
    }
    w->have_res = 1;
}

/* Prints what the AMIsReady condition would say about a failed resolution. */
static void print_failure(FILE *errout, int rc, const struct core_err *err)
{
    struct k8s_condition cond;
    json_t *amis = NULL;

    memset(&cond, 0, sizeof cond);
    if (amiresolve_status(NULL, rc, err, &amis, &cond) == 0 && cond.reason) {
        fprintf(errout, "stoker ami resolve: %s: %s\n", cond.reason,
                cond.message ? cond.message : err->message);
    } else {
        fprintf(errout, "stoker ami resolve: %s\n",
                err->message[0] ? err->message : core_strerror(rc));
    }
    json_decref(amis);
    amiresolve_condition_cleanup(&cond);
}

static int row_wanted(const struct amiresolve_ami *a, const struct ami_flags *fl)
{
    if (fl->arch && strcmp(a->arch, fl->arch) != 0)
        return 0;
    if (fl->variant && strcmp(a->variant, fl->variant) != 0)
        return 0;
    return 1;
}

static size_t max_sz(size_t a, size_t b)
{
    return a > b ? a : b;
}

static int print_table(FILE *out, FILE *errout, const struct amiresolve_result *r,
                       const struct ami_flags *fl)
{
    size_t w_id = 6, w_name = 4, w_arch = 4, w_var = 7, rows = 0;

    for (size_t i = 0; i < r->n; i++) {
        const struct amiresolve_ami *a = &r->v[i];
        if (!row_wanted(a, fl))
            continue;
        rows++;
        w_id = max_sz(w_id, strlen(a->id ? a->id : "-"));
        w_name = max_sz(w_name, strlen(a->name ? a->name : "-"));
        w_arch = max_sz(w_arch, strlen(a->arch));
        w_var = max_sz(w_var, strlen(a->variant[0] ? a->variant : "-"));
    }
    if (rows == 0) {
        fprintf(errout, "stoker ami resolve: none of the %zu resolved images matches%s%s%s%s\n",
                r->n, fl->arch ? " --arch " : "", fl->arch ? fl->arch : "",
                fl->variant ? " --variant " : "", fl->variant ? fl->variant : "");
        return CLI_EXIT_FAIL;
    }
    fprintf(out, "%-*s  %-*s  %-*s  %-*s  %-10s  %-10s  %s\n", (int)w_id, "AMI ID", (int)w_name,
            "NAME", (int)w_arch, "ARCH", (int)w_var, "VARIANT", "CREATED", "DEPRECATED",
            "SOURCE");
    for (size_t i = 0; i < r->n; i++) {
        const struct amiresolve_ami *a = &r->v[i];
        char created[40] = "-";
        if (!row_wanted(a, fl))
            continue;
        if (a->created > 0) {
            core_time_rfc3339(a->created, created, sizeof created);
            created[10] = '\0'; /* the RFC 3339 full-date */
        }
        fprintf(out, "%-*s  %-*s  %-*s  %-*s  %-10s  %-10s  %s\n", (int)w_id,
                a->id ? a->id : "-", (int)w_name, a->name ? a->name : "-", (int)w_arch, a->arch,
                (int)w_var, a->variant[0] ? a->variant : "-", created,
                a->deprecated ? "yes" : "no", a->source ? a->source : "-");
    }
    return CLI_EXIT_OK;
}

static int resolve(const struct ami_flags *fl, FILE *out, FILE *errout)
{
    struct k8s_ec2nodeclass nc;
    struct amiresolve_alias alias;
    struct aws_config acfg;
    struct core_loop_opts lo = {1, 0};
    struct core_clock *clock = NULL;
    struct core_loop *loop = NULL;
    struct core_http_transport *t = NULL;
    struct aws_creds_provider *creds = NULL;
    struct aws_client *client = NULL;
    struct amiresolve *ar = NULL;
    struct ami_wait w;
    struct core_err err;
    char k8s[16] = "";
    int rc = CLI_EXIT_FAIL, crc;

    memset(&nc, 0, sizeof nc);
    memset(&w, 0, sizeof w);
    core_err_clear(&err);
    if (fl->family) {
        char text[160];
        snprintf(text, sizeof text, "%s@%s", fl->family, fl->version ? fl->version : "latest");
        crc = amiresolve_alias_parse(text, "--family/--version", &alias, &err);
        if (crc != 0) {
            fprintf(errout, "stoker ami resolve: %s\n", err.message);
            return crc == CORE_E_INVAL || crc == CORE_E_PARSE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
        }
    } else if (load_nodeclass(fl->file, &nc, &err) != 0) {
        fprintf(errout, "stoker ami resolve: %s\n", err.message);
        return CLI_EXIT_FAIL;
    }
    if (aws_config_resolve(&acfg, NULL, fl->region, &err) != 0) {
        fprintf(errout, "stoker ami resolve: %s\n", err.message);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    clock = core_clock_real_new();
    if (!clock || core_loop_new(clock, &lo, &loop, &err) != 0 ||
        core_http_curl_new(loop, NULL, &t, &err) != 0 ||
        aws_creds_chain_new(loop, t, NULL, &acfg, NULL, &creds, &err) != 0 ||
        aws_client_new(loop, t, creds, &acfg, NULL, &client, &err) != 0 ||
        amiresolve_new(client, NULL, &ar, &err) != 0) {
        fprintf(errout, "stoker ami resolve: %s\n", err.message[0] ? err.message : "out of memory");
        goto done;
    }
    if (fl->k8s) {
        core_strlcpy(k8s, fl->k8s, sizeof k8s);
    } else if (server_version(loop, t, creds, k8s, sizeof k8s, &err) != 0) {
        fprintf(errout, "stoker ami resolve: --k8s-version is required when no API server is "
                        "reachable: %s\n", err.message);
        goto done;
    }
    crc = fl->family ? amiresolve_resolve_alias(ar, &alias, k8s, on_resolved, &w, &err)
                     : amiresolve_resolve(ar, &nc, k8s, on_resolved, &w, &err);
    if (crc != 0) {
        print_failure(errout, crc, &err);
        goto done;
    }
    if (core_loop_run_until(loop, &w.done, core_loop_now(loop) + AMI_TIMEOUT_S * CORE_NS_PER_S,
                            &err) != 0) {
        fprintf(errout, "stoker ami resolve: %s\n",
                core_loop_stopping(loop) ? "interrupted" : "no answer in 120 s");
        goto done;
    }
    if (w.rc != 0) {
        print_failure(errout, w.rc, &w.err);
        goto done;
    }
    rc = print_table(out, errout, &w.res, fl);
done:
    amiresolve_result_cleanup(&w.res);
    amiresolve_free(ar);
    aws_client_free(client);
    aws_creds_provider_free(creds);
    core_http_transport_free(t);
    core_loop_free(loop);
    core_clock_free(clock);
    k8s_ec2nodeclass_cleanup(&nc);
    return rc;
}

int cli_cmd_ami(const struct cli_config *cfg, int argc, char **argv, FILE *out, FILE *errout)
{
    struct ami_flags fl;
    int rc;

    (void)cfg;
    if (argc < 2) {
        ami_usage(errout);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        ami_usage(out);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "resolve") != 0) {
        fprintf(errout, "stoker ami: unknown subcommand '%s'; expected resolve\n\n", argv[1]);
        ami_usage(errout);
        return CLI_EXIT_USAGE;
    }
    rc = parse_flags(argc, argv, &fl, out, errout);
    if (rc < 0)
        return CLI_EXIT_OK;
    if (rc > 0)
        return rc;
    return resolve(&fl, out, errout);
}
