/*
 * cli/cmd_userdata.c — `stoker userdata render`: the user data the controller would give an
 * instance of an EC2NodeClass (and, optionally, a NodePool), rendered offline by the same
 * userdata module, so a user can read exactly what a node is told at boot.
 *
 * Invariants: nothing here talks to a network; bad flags name themselves (exit 2); a missing
 * cluster fact says which flag is missing, a file error names the file and the field (exit 1);
 * the document (or its base64 form) is the only thing on stdout, so it can be piped; sizes go
 * to stderr; the labels are those a NodeClaim of this NodePool and instance type would carry.
 */
#include "cli/cli.h"

#include "core/core.h"
#include "k8s/k8s.h"
#include "launcher/launcher.h"
#include "userdata/userdata.h"

#include <string.h>

#define UD_MAX_IMAGES 64
#define UD_DEFAULT_TYPE "m5.large"

struct ud_flags {
    const char *file, *nodepool, *cluster_name, *endpoint, *ca, *service_cidr, *cluster_dns;
    const char *instance_type;
    enum userdata_phase phase;
    const char *images[UD_MAX_IMAGES];
    size_t nimages;
    int hydrate, decode;
};

static void ud_usage(FILE *f)
{
    fprintf(f,
            "usage: stoker userdata render -f nodeclass.yaml [--nodepool nodepool.yaml]\n"
            "                              --cluster-name N --endpoint URL --ca B64\n"
            "                              [--service-cidr C] [--cluster-dns IP]\n"
            "                              [--instance-type TYPE] [--phase join|warm]\n"
            "                              [--image IMG]... [--hydrate] [--decode]\n"
            "\n"
            "Renders the user data stoker gives an instance of the EC2NodeClass (first\n"
            "EC2NodeClass document of the file), for its AMI family. Labels and taints come\n"
            "from the NodePool's template when given, plus the labels a NodeClaim carries\n"
            "(instance type, architecture, capacity type on-demand, nodepool). Prints the\n"
            "base64 of the gzipped document (what EC2 gets), or with --decode the document\n"
            "itself; the sizes go to stderr.\n"
            "\n"
            "flags:\n"
            "  -f, --file PATH       the EC2NodeClass manifest (YAML)\n"
            "  --nodepool PATH       a NodePool manifest (YAML)\n"
            "  --cluster-name N      the EKS cluster's name (required to join)\n"
            "  --endpoint URL        the API server endpoint, https://... (required)\n"
            "  --ca B64              the cluster CA bundle, base64 as EKS gives it (required)\n"
            "  --service-cidr C      the service CIDR (default 10.100.0.0/16)\n"
            "  --cluster-dns IP      the cluster DNS address (default: .10 of the service CIDR)\n"
            "  --instance-type TYPE  the instance type for labels and max pods (default "
            UD_DEFAULT_TYPE ")\n"
            "  --phase join|warm     join the cluster (default), or the warm-up document\n"
            "  --image IMG           with --phase warm: an image to pull (repeatable)\n"
            "  --hydrate             with --phase warm: read the whole root volume\n"
            "  --decode              print the document instead of its base64 form\n"
            "  -h, --help            show this help\n"
            "\n"
            "Exit codes: 0 success, 1 failure (bad input, too large), 2 usage error.\n");
}

static int parse_flags(int argc, char **argv, struct ud_flags *fl, FILE *out, FILE *errout)
{
    memset(fl, 0, sizeof *fl);
    fl->instance_type = UD_DEFAULT_TYPE;
    fl->phase = USERDATA_JOIN;
    for (int i = 2; i < argc; i++) {
        const char *v;
        int missing = 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            ud_usage(out);
            return -1;
        } else if (strcmp(argv[i], "--hydrate") == 0) {
            fl->hydrate = 1;
        } else if (strcmp(argv[i], "--decode") == 0) {
            fl->decode = 1;
        } else if ((v = cli_flag_value(argc, argv, &i, "-f", &missing)) != NULL ||
                   (v = cli_flag_value(argc, argv, &i, "--file", &missing)) != NULL) {
            fl->file = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--nodepool", &missing)) != NULL) {
            fl->nodepool = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--cluster-name", &missing)) != NULL) {
            fl->cluster_name = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--endpoint", &missing)) != NULL) {
            fl->endpoint = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--ca", &missing)) != NULL) {
            fl->ca = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--service-cidr", &missing)) != NULL) {
            fl->service_cidr = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--cluster-dns", &missing)) != NULL) {
            fl->cluster_dns = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--instance-type", &missing)) != NULL) {
            fl->instance_type = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--phase", &missing)) != NULL) {
            if (strcmp(v, "join") == 0) {
                fl->phase = USERDATA_JOIN;
            } else if (strcmp(v, "warm") == 0) {
                fl->phase = USERDATA_WARM;
            } else {
                fprintf(errout, "stoker userdata render: --phase: expected join or warm, got "
                                "'%s'\n", v);
                return CLI_EXIT_USAGE;
            }
        } else if ((v = cli_flag_value(argc, argv, &i, "--image", &missing)) != NULL) {
            if (!*v || fl->nimages >= UD_MAX_IMAGES) {
                fprintf(errout, "stoker userdata render: --image: expected an image reference "
                                "(at most %d)\n", UD_MAX_IMAGES);
                return CLI_EXIT_USAGE;
            }
            fl->images[fl->nimages++] = v;
        } else if (missing) {
            fprintf(errout, "stoker userdata render: %s: expected a value\n\n", argv[i]);
            ud_usage(errout);
            return CLI_EXIT_USAGE;
        } else {
            fprintf(errout, "stoker userdata render: unknown argument '%s'\n\n", argv[i]);
            ud_usage(errout);
            return CLI_EXIT_USAGE;
        }
    }
    if (!fl->file) {
        fprintf(errout, "stoker userdata render: -f nodeclass.yaml is required\n\n");
        ud_usage(errout);
        return CLI_EXIT_USAGE;
    }
    if (fl->phase != USERDATA_WARM && (fl->nimages > 0 || fl->hydrate)) {
        fprintf(errout, "stoker userdata render: --image and --hydrate go with --phase warm\n");
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* The first document of kind in a YAML file (a new reference in *out). Messages name the
 * file. */
static int load_kind(const char *path, const char *kind, json_t **out, struct core_err *err)
{
    json_t **docs = NULL;
    size_t n = 0;
    int rc;

    if ((rc = k8s_yaml_load_file(path, &docs, &n, err)) != 0)
        return rc;
    rc = core_err_set(err, CORE_E_INVAL, "%s: no document of kind %s", path, kind);
    for (size_t i = 0; i < n; i++) {
        const char *k = json_string_value(json_object_get(docs[i], "kind"));
        if (k && strcmp(k, kind) == 0) {
            *out = json_incref(docs[i]);
            core_err_clear(err);
            rc = 0;
            break;
        }
    }
    k8s_yaml_docs_free(docs, n);
    return rc;
}

/* The NodeClaim's labels: the NodePool template's, then the well-known ones (which win, as
 * the controller sets them). */
static int build_labels(const struct k8s_nodepool *np, const struct launcher_itype *t,
                        struct k8s_labels *l)
{
    int rc = 0;

    for (size_t i = 0; np && rc == 0 && i < np->template_labels.n; i++)
        rc = k8s_labels_set(l, np->template_labels.v[i].key, np->template_labels.v[i].value);
    if (rc == 0)
        rc = k8s_labels_set(l, "node.kubernetes.io/instance-type", t->name);
    if (rc == 0)
        rc = k8s_labels_set(l, "kubernetes.io/arch", t->arch);
    if (rc == 0)
        rc = k8s_labels_set(l, "karpenter.sh/capacity-type", "on-demand");
    if (rc == 0 && np && np->meta.name)
        rc = k8s_labels_set(l, "karpenter.sh/nodepool", np->meta.name);
    return rc;
}

/* The flag a "cluster.<field>: ..." message from the userdata module is about. */
static const char *cluster_flag(const char *msg)
{
    static const struct {
        const char *field, *flag;
    } map[] = {{"cluster.name", "--cluster-name"}, {"cluster.endpoint", "--endpoint"},
               {"cluster.caBundle", "--ca"},       {"cluster.serviceCIDR", "--service-cidr"},
               {"cluster.cidr", "--service-cidr"}, {"cluster.clusterDNS", "--cluster-dns"}};

    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncmp(msg, map[i].field, strlen(map[i].field)) == 0)
            return map[i].flag;
    return "cluster flags";
}

static int render(const struct ud_flags *fl, FILE *out, FILE *errout)
{
    struct k8s_ec2nodeclass nc;
    struct k8s_nodepool np;
    struct k8s_labels labels = {NULL, 0};
    struct launcher_catalog *cat = NULL;
    const struct launcher_itype *t;
    struct userdata_input in;
    struct userdata_output uo;
    struct core_err err;
    json_t *doc = NULL;
    int have_np = 0, rc = CLI_EXIT_FAIL, brc;

    memset(&nc, 0, sizeof nc);
    memset(&np, 0, sizeof np);
    memset(&in, 0, sizeof in);
    memset(&uo, 0, sizeof uo);
    core_err_clear(&err);

    if (launcher_catalog_load(&cat, &err) != 0) {
        fprintf(errout, "stoker userdata render: instance catalog: %s\n", err.message);
        goto done;
    }
    if (!(t = launcher_catalog_find(cat, fl->instance_type))) {
        fprintf(errout, "stoker userdata render: --instance-type: unknown instance type '%s'\n",
                fl->instance_type);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (load_kind(fl->file, "EC2NodeClass", &doc, &err) != 0) {
        fprintf(errout, "stoker userdata render: %s\n", err.message);
        goto done;
    }
    brc = k8s_ec2nodeclass_decode(doc, &nc, &err);
    json_decref(doc);
    doc = NULL;
    if (brc != 0) {
        fprintf(errout, "stoker userdata render: %s: %s\n", fl->file, err.message);
        goto done;
    }
    if (fl->nodepool) {
        if (load_kind(fl->nodepool, "NodePool", &doc, &err) != 0) {
            fprintf(errout, "stoker userdata render: %s\n", err.message);
            goto done;
        }
        brc = k8s_nodepool_decode(doc, &np, &err);
        json_decref(doc);
        doc = NULL;
        if (brc != 0) {
            fprintf(errout, "stoker userdata render: %s: %s\n", fl->nodepool, err.message);
            goto done;
        }
        have_np = 1;
    }
    /* The cluster facts are checked after the files so that one run reports a bad file
     * before a missing flag; all three are needed by every family that joins (the warm-up
     * document never joins, so it needs none). */
    if (fl->phase != USERDATA_WARM) {
        const char *missing = !fl->cluster_name ? "--cluster-name"
                              : !fl->endpoint   ? "--endpoint"
                              : !fl->ca         ? "--ca"
                                                : NULL;
        if (missing) {
            fprintf(errout, "stoker userdata render: %s is required (the cluster's %s)\n",
                    missing,
                    strcmp(missing, "--ca") == 0 ? "CA bundle, base64 as `aws eks "
                                                   "describe-cluster` gives it"
                    : strcmp(missing, "--endpoint") == 0 ? "API server endpoint"
                                                         : "name");
            goto done;
        }
    }
    if (build_labels(have_np ? &np : NULL, t, &labels) != 0) {
        fprintf(errout, "stoker userdata render: out of memory\n");
        goto done;
    }
    in.family = nc.ami_family;
    in.phase = fl->phase;
    in.cluster.name = fl->cluster_name;
    in.cluster.endpoint = fl->endpoint;
    in.cluster.ca_bundle = fl->ca;
    in.cluster.service_cidr = fl->service_cidr;
    in.cluster.cluster_dns = fl->cluster_dns;
    in.node.kubelet = &nc.kubelet;
    in.node.max_pods = launcher_max_pods(
        t, nc.kubelet.has_pods_per_core ? (int32_t)nc.kubelet.pods_per_core : 0,
        nc.kubelet.has_max_pods ? (int32_t)nc.kubelet.max_pods : 0);
    in.node.labels = &labels;
    if (have_np) {
        in.node.taints = np.taints;
        in.node.ntaints = np.ntaints;
        in.node.startup_taints = np.startup_taints;
        in.node.nstartup_taints = np.nstartup_taints;
    }
    in.node.instance_store_raid0 = nc.instance_store_raid0;
    in.node.user_data = nc.user_data;
    in.warm.images = fl->images;
    in.warm.nimages = fl->nimages;
    in.warm.hydrate_root_volume = fl->hydrate;

    brc = userdata_build(&in, &uo, &err);
    if (brc == CORE_E_TOOBIG) {
        fprintf(errout, "stoker userdata render: %s\n", err.message);
        goto done;
    }
    if (brc != 0) {
        /* Cluster facts come from flags; everything else from the EC2NodeClass file. */
        if (strncmp(err.message, "cluster.", 8) == 0)
            fprintf(errout, "stoker userdata render: %s: %s\n", cluster_flag(err.message),
                    err.message);
        else
            fprintf(errout, "stoker userdata render: %s: %s\n", fl->file, err.message);
        goto done;
    }
    if (fl->decode) {
        fwrite(uo.raw, 1, uo.raw_len, out);
        if (uo.raw_len == 0 || uo.raw[uo.raw_len - 1] != '\n')
            fputc('\n', out);
    } else {
        fwrite(uo.b64, 1, uo.b64_len, out);
        fputc('\n', out);
    }
    fflush(out);
    fprintf(errout, "# sizes: raw=%zu gzip=%zu base64=%zu limit=%u\n", uo.raw_len, uo.gz_len,
            uo.b64_len, (unsigned)USERDATA_EC2_MAX);
    rc = ferror(out) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
done:
    json_decref(doc);
    userdata_output_cleanup(&uo);
    k8s_labels_cleanup(&labels);
    k8s_nodepool_cleanup(&np);
    k8s_ec2nodeclass_cleanup(&nc);
    launcher_catalog_free(cat);
    return rc;
}

int cli_cmd_userdata(const struct cli_config *cfg, int argc, char **argv, FILE *out,
                     FILE *errout)
{
    struct ud_flags fl;
    int rc;

    (void)cfg;
    if (argc < 2) {
        ud_usage(errout);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        ud_usage(out);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "render") != 0) {
        fprintf(errout, "stoker userdata: unknown subcommand '%s'; expected render\n\n",
                argv[1]);
        ud_usage(errout);
        return CLI_EXIT_USAGE;
    }
    rc = parse_flags(argc, argv, &fl, out, errout);
    if (rc < 0)
        return CLI_EXIT_OK;
    if (rc > 0)
        return rc;
    return render(&fl, out, errout);
}
