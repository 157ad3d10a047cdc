/*
 * cli/cmd_plan.c — `stoker plan`: the NodeClaims stoker would create for a set of manifests
 * (pods, workloads, NodePools, EC2NodeClasses, volumes, namespaces), computed offline by the
 * controller's own scheduler (launcher_schedule) over the compiled-in or a given catalog.
 *
 * Invariants: nothing here talks to a network or reads a clock; every pod is built by
 * k8s_pod_decode (workload templates become Pod documents first), so requests are computed in
 * one place; output depends only on the inputs (file order, document order, replica order), so
 * two runs print the same bytes. Exit codes: 0 every pod served, 3 some pod unschedulable,
 * 2 usage or input errors (a message names the file, the document and the field), 1 internal
 * failures. Notes (ignored pods, defaulted NodeClasses) go to stderr; stdout holds the plan.
 * Every object has a non-empty metadata.name (checked before any decoder runs); names are
 * printed whole, never cut; claims generated from templates never replace a PVC of the files;
 * what workloads expand to is bounded (PLAN_TEMPLATE_BUDGET) before any replica is built.
 */
#include "cli/cli.h"

#include "core/core.h"
#include "k8s/k8s.h"
#include "launcher/launcher.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_EXIT_UNSCHEDULABLE 3
#define PLAN_MAX_FILES 64
/* Bounds what a manifest can make us allocate (replicas: 1e9 is a valid YAML integer). */
#define PLAN_MAX_PODS 100000
#define PLAN_TABLE_TYPES 5
#define PLAN_WRAP 100
#define PLAN_DEFAULT_ZONES "us-east-1a,us-east-1b,us-east-1c"
#define PLAN_DEFAULT_REGION "us-east-1"
/* Longest zone or region name the offerings take (launcher/offerings.c keeps 64-byte names). */
#define PLAN_NAME_MAX 63
/* Bounds the bytes of pod template the workloads of all files may expand to (replicas x the
 * template's compact JSON): each replica is decoded on its own, so the plan holds about twice
 * this in decoded pods. */
#define PLAN_TEMPLATE_BUDGET (128u * 1024u * 1024u)
/* Bounds a pod or claim name printed (ns/name): above any two strings of one input file, so
 * building one fails only for lack of memory. */
#define PLAN_ID_MAX (2u * K8S_YAML_MAX_INPUT + 64u)

struct plan_flags {
    const char *files[PLAN_MAX_FILES];
    size_t nfiles;
    const char *catalog;
    const char *zones;
    const char *zone_v[LAUNCHER_MAX_ZONES]; /* the --zones list, pointing into zbuf */
    size_t nzones;
    char zbuf[4096];
    const char *region;
    double spot_discount;
    size_t max_types;
    int json;
};

struct plan_ns {
    char *name;
    struct k8s_labels labels;
};

/* Everything decoded from the files; every element is heap-owned by this struct. */
struct plan_in {
    struct k8s_pod **pods;
    size_t npods, cpods;
    struct k8s_nodepool **pools;
    size_t npools, cpools;
    struct k8s_ec2nodeclass **classes;
    size_t nclasses, cclasses;
    struct k8s_daemonset **ds;
    size_t nds, cds;
    struct k8s_pvc **pvcs;
    size_t npvcs, cpvcs;
    /* Claims made here from templates (generic ephemeral volumes, StatefulSet
     * volumeClaimTemplates), kept apart until every file is read: a PVC of the same name given
     * in the files wins whatever the document order (it is what the controller made). */
    struct k8s_pvc **gen;
    size_t ngen, cgen;
    struct k8s_pv **pvs;
    size_t npvs, cpvs;
    struct k8s_storage_class **scs;
    size_t nscs, cscs;
    struct plan_ns *nss;
    size_t nnss, cnss;
    size_t ignored;
    /* Bytes of pod template the workloads read so far expand to (PLAN_TEMPLATE_BUDGET). */
    size_t template_bytes;
};

static void plan_usage(FILE *f)
{
    fprintf(f,
            "usage: stoker plan -f FILE [-f FILE]... [--catalog FILE] [--zones a,b,c]\n"
            "                   [--region R] [--spot-discount F] [--max-types N]\n"
            "                   [-o table|json]\n"
            "\n"
            "Plans, offline, the NodeClaims stoker would create for the pending pods of the\n"
            "files, with the scheduler the controller runs: their instance types (cheapest\n"
            "first), zones, price per hour and the pods each takes; pods that cannot be served\n"
            "are listed with the reason. Files are YAML streams of Pod, Deployment, ReplicaSet,\n"
            "StatefulSet, Job, DaemonSet, NodePool, EC2NodeClass, PersistentVolumeClaim,\n"
            "PersistentVolume, StorageClass and Namespace documents. Pods with spec.nodeName\n"
            "are already bound and are ignored (noted on stderr).\n"
            "\n"
            "flags:\n"
            "  -f, --file PATH      a manifest file (repeatable, at least one)\n"
            "  --catalog PATH       an instance-type catalog CSV (default: the built-in one)\n"
            "  --zones a,b,c        zones offered (default " PLAN_DEFAULT_ZONES ")\n"
            "  --region R           the region (default " PLAN_DEFAULT_REGION ")\n"
            "  --spot-discount F    offer spot at on-demand x (1 - F), 0 <= F < 1 (default 0:\n"
            "                       no spot offerings)\n"
            "  --max-types N        instance types listed per NodeClaim (default 60, at most "
            "%d)\n"
            "  -o, --output FORMAT  table (default) or json\n"
            "  -h, --help           show this help\n"
            "\n"
            "Exit codes: 0 every pod can be served, 3 some pods are unschedulable, 2 usage or\n"
            "input error (unknown kind, bad YAML, bad field), 1 internal failure.\n",
            LAUNCHER_SCHED_MAX_TYPES_LIMIT);
}

/* Splits --zones into zones[] (pointing into buf). Zones must be non-empty, unique and at most
 * PLAN_NAME_MAX bytes, checked here so that the message names the flag. */
static int split_zones(const char *arg, char *buf, size_t bufsz, const char **zones,
                       size_t *nzones, FILE *errout)
{
    size_t n = 0;
    char *p = buf;

    if (core_strlcpy(buf, arg, bufsz) >= bufsz) {
        fprintf(errout, "stoker plan: --zones: too long\n");
        return CLI_EXIT_USAGE;
    }
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (strlen(p) > PLAN_NAME_MAX) {
            fprintf(errout, "stoker plan: --zones: zone name '%.*s...' is longer than %d bytes\n",
                    PLAN_NAME_MAX, p, PLAN_NAME_MAX);
            return CLI_EXIT_USAGE;
        }
        if (!*p || n >= LAUNCHER_MAX_ZONES) {
            fprintf(errout, "stoker plan: --zones: expected 1 to %d comma-separated zone names, "
                            "got '%s'\n", LAUNCHER_MAX_ZONES, arg);
            return CLI_EXIT_USAGE;
        }
        for (size_t j = 0; j < n; j++) {
            if (strcmp(zones[j], p) == 0) {
                fprintf(errout, "stoker plan: --zones: zone '%s' given twice\n", p);
                return CLI_EXIT_USAGE;
            }
        }
        zones[n++] = p;
        if (!comma)
            break;
        p = comma + 1;
    }
    *nzones = n;
    return 0;
}

/* Whether s is a plain decimal: digits with at most one '.', at least one digit; no sign,
 * exponent, hex, "inf" or surrounding space (all of which strtod would take). */
static int plain_decimal(const char *s)
{
    size_t digits = 0, dots = 0;

    for (; *s; s++) {
        if (*s >= '0' && *s <= '9')
            digits++;
        else if (*s == '.' && dots++ == 0)
            continue;
        else
            return 0;
    }
    return digits > 0;
}

static int parse_flags(int argc, char **argv, struct plan_flags *fl, FILE *out, FILE *errout)
{
    memset(fl, 0, sizeof *fl);
    fl->zones = PLAN_DEFAULT_ZONES;
    fl->region = PLAN_DEFAULT_REGION;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int missing = 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            plan_usage(out);
            return -1;
        } else if ((v = cli_flag_value(argc, argv, &i, "-f", &missing)) != NULL ||
                   (v = cli_flag_value(argc, argv, &i, "--file", &missing)) != NULL) {
            if (!*v || fl->nfiles >= PLAN_MAX_FILES) {
                fprintf(errout, "stoker plan: -f: expected a file path (at most %d files)\n",
                        PLAN_MAX_FILES);
                return CLI_EXIT_USAGE;
            }
            fl->files[fl->nfiles++] = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--catalog", &missing)) != NULL) {
            fl->catalog = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--zones", &missing)) != NULL) {
            fl->zones = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--region", &missing)) != NULL) {
            if (!*v || strlen(v) > PLAN_NAME_MAX) {
                fprintf(errout, "stoker plan: --region: expected a region name of 1 to %d "
                                "bytes\n", PLAN_NAME_MAX);
                return CLI_EXIT_USAGE;
            }
            fl->region = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--spot-discount", &missing)) != NULL) {
            char *end = NULL;
            double d = plain_decimal(v) ? strtod(v, &end) : -1.0;
            if (!end || *end || !(d >= 0.0 && d < 1.0)) {
                fprintf(errout, "stoker plan: --spot-discount: expected a number in [0, 1), "
                                "got '%s'\n", v);
                return CLI_EXIT_USAGE;
            }
            fl->spot_discount = d;
        } else if ((v = cli_flag_value(argc, argv, &i, "--max-types", &missing)) != NULL) {
            int64_t n;
            if (core_parse_i64(v, 1, LAUNCHER_SCHED_MAX_TYPES_LIMIT, &n) != 0) {
                fprintf(errout, "stoker plan: --max-types: expected an integer in 1..%d, got "
                                "'%s'\n", LAUNCHER_SCHED_MAX_TYPES_LIMIT, v);
                return CLI_EXIT_USAGE;
            }
            fl->max_types = (size_t)n;
        } else if ((v = cli_flag_value(argc, argv, &i, "-o", &missing)) != NULL ||
                   (v = cli_flag_value(argc, argv, &i, "--output", &missing)) != NULL) {
            if (strcmp(v, "table") == 0) {
                fl->json = 0;
            } else if (strcmp(v, "json") == 0) {
                fl->json = 1;
            } else {
                fprintf(errout, "stoker plan: -o: expected table or json, got '%s'\n", v);
                return CLI_EXIT_USAGE;
            }
        } else if (missing) {
            fprintf(errout, "stoker plan: %s: expected a value\n\n", argv[i]);
            plan_usage(errout);
            return CLI_EXIT_USAGE;
        } else {
            fprintf(errout, "stoker plan: unknown argument '%s'\n\n", argv[i]);
            plan_usage(errout);
            return CLI_EXIT_USAGE;
        }
    }
    if (fl->nfiles == 0) {
        fprintf(errout, "stoker plan: at least one -f FILE is required\n\n");
        plan_usage(errout);
        return CLI_EXIT_USAGE;
    }
    return split_zones(fl->zones, fl->zbuf, sizeof fl->zbuf, fl->zone_v, &fl->nzones, errout);
}

/* ------------------------------------------------------------------------------------------ */
/* Inputs                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* Room for one more element in an array of elsz-byte elements: the (possibly moved) array, or
 * NULL when out of memory (the old array is still valid then). */
static void *grow(void *v, size_t n, size_t *cap, size_t elsz)
{
    size_t ncap;
    void *nv;

    if (n < *cap)
        return v;
    ncap = *cap ? *cap * 2 : 16;
    nv = core_realloc(v, ncap * elsz);
    if (nv)
        *cap = ncap;
    return nv;
}

static void plan_in_cleanup(struct plan_in *in)
{
    for (size_t i = 0; i < in->npods; i++) {
        k8s_pod_cleanup(in->pods[i]);
        core_free(in->pods[i]);
    }
    for (size_t i = 0; i < in->npools; i++) {
        k8s_nodepool_cleanup(in->pools[i]);
        core_free(in->pools[i]);
    }
    for (size_t i = 0; i < in->nclasses; i++) {
        k8s_ec2nodeclass_cleanup(in->classes[i]);
        core_free(in->classes[i]);
    }
    for (size_t i = 0; i < in->nds; i++) {
        k8s_daemonset_cleanup(in->ds[i]);
        core_free(in->ds[i]);
    }
    for (size_t i = 0; i < in->npvcs; i++) {
        k8s_pvc_cleanup(in->pvcs[i]);
        core_free(in->pvcs[i]);
    }
    for (size_t i = 0; i < in->ngen; i++) {
        k8s_pvc_cleanup(in->gen[i]);
        core_free(in->gen[i]);
    }
    for (size_t i = 0; i < in->npvs; i++) {
        k8s_pv_cleanup(in->pvs[i]);
        core_free(in->pvs[i]);
    }
    for (size_t i = 0; i < in->nscs; i++) {
        k8s_storage_class_cleanup(in->scs[i]);
        core_free(in->scs[i]);
    }
    for (size_t i = 0; i < in->nnss; i++) {
        core_free(in->nss[i].name);
        k8s_labels_cleanup(&in->nss[i].labels);
    }
    core_free(in->pods);
    core_free(in->pools);
    core_free(in->classes);
    core_free(in->ds);
    core_free(in->pvcs);
    core_free(in->gen);
    core_free(in->pvs);
    core_free(in->scs);
    core_free(in->nss);
    memset(in, 0, sizeof *in);
}

/* Sets metadata.namespace to "default" when absent, as the API server would on create. */
static int default_namespace(json_t *doc)
{
    json_t *meta = json_object_get(doc, "metadata");

    if (!json_is_object(meta))
        return 0; /* the decoder reports the missing metadata */
    if (json_is_string(json_object_get(meta, "namespace")))
        return 0;
    return json_object_set_new(meta, "namespace", json_string("default")) == 0 ? 0
                                                                                : CORE_E_NOMEM;
}

/* Decodes a PVC document built here and appends it to arr (a plan_in array). */
static int push_pvc(json_t *doc, struct k8s_pvc ***arr, size_t *n, size_t *cap,
                    struct core_err *err)
{
    struct k8s_pvc *pvc = core_calloc(1, sizeof *pvc);
    void *np;
    int rc;

    if (!pvc)
        return CORE_E_NOMEM;
    if ((rc = k8s_pvc_decode(doc, pvc, err)) != 0) {
        core_free(pvc);
        return rc;
    }
    if (!(np = grow(*arr, *n, cap, sizeof **arr))) {
        k8s_pvc_cleanup(pvc);
        core_free(pvc);
        return CORE_E_NOMEM;
    }
    *arr = np;
    (*arr)[(*n)++] = pvc;
    return 0;
}

/* The claims the ephemeral-volume controller would create for a pod: "<pod>-<volume>", with
 * the spec of the volume's volumeClaimTemplate. */
static int add_ephemeral_claims(struct plan_in *in, const json_t *pod, const struct k8s_pod *p,
                                struct core_err *err)
{
    const json_t *vols = json_object_get(json_object_get(pod, "spec"), "volumes");
    const json_t *vol;
    size_t i;

    if (!json_is_array(vols))
        return 0; /* the pod decoder has checked the shape */
    json_array_foreach(vols, i, vol) {
        const json_t *tmpl = json_object_get(json_object_get(vol, "ephemeral"),
                                             "volumeClaimTemplate");
        const char *vname = json_string_value(json_object_get(vol, "name"));
        char name[600];
        json_t *doc;
        int rc;

        if (!json_is_object(tmpl) || !vname)
            continue;
        if ((size_t)snprintf(name, sizeof name, "%s-%s", p->meta.name, vname) >= sizeof name)
            return core_err_set(err, CORE_E_INVAL, "spec.volumes[%zu].name: too long", i);
        doc = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind",
                        "PersistentVolumeClaim", "metadata", "name", name, "namespace",
                        p->meta.ns ? p->meta.ns : "default");
        if (!doc)
            return CORE_E_NOMEM;
        if (json_object_get(tmpl, "spec") &&
            json_object_set(doc, "spec", json_object_get(tmpl, "spec")) != 0) {
            json_decref(doc);
            return CORE_E_NOMEM;
        }
        rc = push_pvc(doc, &in->gen, &in->ngen, &in->cgen, err);
        json_decref(doc);
        if (rc != 0) {
            core_err_prefix(err, "spec.volumes[%zu].ephemeral.volumeClaimTemplate", i);
            return rc;
        }
    }
    return 0;
}

/* Moves each generated claim to the PVCs unless the files hold one of that name (or an earlier
 * generated claim took it). */
static int merge_generated_claims(struct plan_in *in)
{
    for (size_t i = 0; i < in->ngen; i++) {
        struct k8s_pvc *e = in->gen[i];
        int given = 0;
        void *np;

        for (size_t j = 0; j < in->npvcs && !given; j++)
            given = strcmp(in->pvcs[j]->meta.name, e->meta.name) == 0 &&
                    strcmp(in->pvcs[j]->meta.ns ? in->pvcs[j]->meta.ns : "",
                           e->meta.ns ? e->meta.ns : "") == 0;
        if (given) {
            k8s_pvc_cleanup(e);
            core_free(e);
        } else {
            if (!(np = grow(in->pvcs, in->npvcs, &in->cpvcs, sizeof *in->pvcs))) {
                /* What was not moved yet stays owned by gen. */
                memmove(in->gen, in->gen + i, (in->ngen - i) * sizeof *in->gen);
                in->ngen -= i;
                return CORE_E_NOMEM;
            }
            in->pvcs = np;
            in->pvcs[in->npvcs++] = e;
        }
    }
    in->ngen = 0;
    return 0;
}

static int add_pod_json(struct plan_in *in, const json_t *pod, struct core_err *err)
{
    struct k8s_pod *p;
    int rc;

    if (in->npods >= PLAN_MAX_PODS)
        return core_err_set(err, CORE_E_TOOBIG, "more than %d pods", PLAN_MAX_PODS);
    if (!(p = core_calloc(1, sizeof *p)))
        return CORE_E_NOMEM;
    if ((rc = k8s_pod_decode(pod, p, err)) != 0) {
        core_free(p);
        return rc;
    }
    {
        void *np = grow(in->pods, in->npods, &in->cpods, sizeof *in->pods);
        if (!np) {
            k8s_pod_cleanup(p);
            core_free(p);
            return CORE_E_NOMEM;
        }
        in->pods = np;
        in->pods[in->npods++] = p;
    }
    /* A bound pod is dropped by the caller: its claims exist already. */
    if (p->spec.node_name && *p->spec.node_name)
        return 0;
    return add_ephemeral_claims(in, pod, p, err);
}

/* How many pods a workload runs: replicas (Deployment, ReplicaSet, StatefulSet) or parallelism
 * capped by completions (Job); 1 when absent. */
static int workload_count(const json_t *spec, const char *kind, int64_t *out,
                          struct core_err *err)
{
    int is_job = strcmp(kind, "Job") == 0;
    const char *field = is_job ? "parallelism" : "replicas";
    const json_t *v = json_object_get(spec, field);
    int64_t n = 1;

    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > PLAN_MAX_PODS)
            return core_err_set(err, CORE_E_INVAL, "spec.%s: expected an integer in 0..%d",
                                field, PLAN_MAX_PODS);
        n = json_integer_value(v);
    }
    if (is_job) {
        const json_t *c = json_object_get(spec, "completions");
        if (c && !json_is_null(c)) {
            if (!json_is_integer(c) || json_integer_value(c) < 0)
                return core_err_set(err, CORE_E_INVAL,
                                    "spec.completions: expected a non-negative integer");
            if (json_integer_value(c) < n)
                n = json_integer_value(c);
        }
    }
    *out = n;
    return 0;
}

/* One PVC per volumeClaimTemplate for StatefulSet replica i, named <vct>-<sts>-<i>, and the
 * matching volume added to the pod spec (a deep copy of the template's). */
static int add_vct_claims(struct plan_in *in, const json_t *vcts, const char *sts,
                          const char *ns, int64_t i, json_t *podspec, struct core_err *err)
{
    json_t *vols = json_object_get(podspec, "volumes");
    size_t k;
    const json_t *vct;
    int rc;

    if (!json_is_array(vols)) {
        if (vols && !json_is_null(vols))
            return core_err_set(err, CORE_E_PARSE, "spec.template.spec.volumes: expected a list");
        vols = json_array();
        if (!vols || json_object_set_new(podspec, "volumes", vols) != 0)
            return CORE_E_NOMEM;
    }
    json_array_foreach(vcts, k, vct) {
        const char *vname = json_string_value(json_object_get(json_object_get(vct, "metadata"),
                                                              "name"));
        char pvcname[512];
        json_t *pvcdoc, *vol;

        if (!vname || !*vname)
            return core_err_set(err, CORE_E_INVAL,
                                "spec.volumeClaimTemplates[%zu].metadata.name: expected a name",
                                k);
        if ((size_t)snprintf(pvcname, sizeof pvcname, "%s-%s-%lld", vname, sts, (long long)i) >=
            sizeof pvcname)
            return core_err_set(err, CORE_E_INVAL,
                                "spec.volumeClaimTemplates[%zu].metadata.name: too long", k);
        vol = json_pack("{s:s, s:{s:s}}", "name", vname, "persistentVolumeClaim", "claimName",
                        pvcname);
        if (!vol || json_array_append_new(vols, vol) != 0)
            return CORE_E_NOMEM;
        pvcdoc = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind",
                           "PersistentVolumeClaim", "metadata", "name", pvcname, "namespace", ns);
        if (!pvcdoc)
            return CORE_E_NOMEM;
        if (json_object_get(vct, "spec") &&
            json_object_set(pvcdoc, "spec", json_object_get(vct, "spec")) != 0) {
            json_decref(pvcdoc);
            return CORE_E_NOMEM;
        }
        rc = push_pvc(pvcdoc, &in->gen, &in->ngen, &in->cgen, err);
        json_decref(pvcdoc);
        if (rc != 0) {
            core_err_prefix(err, "spec.volumeClaimTemplates[%zu]", k);
            return rc;
        }
    }
    return 0;
}

/* Deployment, ReplicaSet, StatefulSet, Job: Pod documents built from spec.template, decoded by
 * k8s_pod_decode, named <name>-<i> (i from 0, as StatefulSets name theirs). */
static int add_workload(struct plan_in *in, const json_t *doc, const char *kind, FILE *errout,
                        const char *where, struct core_err *err)
{
    const json_t *meta = json_object_get(doc, "metadata");
    const json_t *spec = json_object_get(doc, "spec");
    const json_t *tmpl, *tspec, *tlabels, *vcts = NULL;
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *node;
    int64_t count = 0;
    int rc;

    if (!name || !*name)
        return core_err_set(err, CORE_E_INVAL, "%s: metadata.name: expected a name", kind);
    if (!ns || !*ns)
        ns = "default";
    if (!json_is_object(spec))
        return core_err_set(err, CORE_E_INVAL, "%s %s/%s: spec: expected an object", kind, ns,
                            name);
    if ((rc = workload_count(spec, kind, &count, err)) != 0) {
        core_err_prefix(err, "%s %s/%s", kind, ns, name);
        return rc;
    }
    tmpl = json_object_get(spec, "template");
    tspec = json_object_get(tmpl, "spec");
    if (!json_is_object(tmpl) || !json_is_object(tspec))
        return core_err_set(err, CORE_E_INVAL, "%s %s/%s: spec.template.spec: expected an object",
                            kind, ns, name);
    node = json_string_value(json_object_get(tspec, "nodeName"));
    if (node && *node) {
        /* Pods bound already, like bare Pods with spec.nodeName: nothing to provision. */
        fprintf(errout, "stoker plan: %s: %s %s/%s: pod template is bound to node %s; its %lld "
                        "pod%s ignored\n", where, kind, ns, name, node, (long long)count,
                count == 1 ? "" : "s");
        in->ignored += (size_t)count;
        return 0;
    }
    /* Each replica is a decoded copy of the template: bound what the files can expand to. */
    if (count > 0) {
        size_t tsize = json_dumpb(tmpl, NULL, 0, JSON_COMPACT);
        size_t left = PLAN_TEMPLATE_BUDGET - in->template_bytes;
        if (tsize == 0)
            return core_err_set(err, CORE_E_INVAL, "%s %s/%s: spec.template: cannot be encoded",
                                kind, ns, name);
        if ((size_t)count > left / tsize)
            return core_err_set(err, CORE_E_TOOBIG,
                                "%s %s/%s: %lld replicas of a %zu-byte pod template exceed "
                                "what the plan expands (%u MiB of pod templates over all "
                                "workloads); plan fewer replicas",
                                kind, ns, name, (long long)count, tsize,
                                PLAN_TEMPLATE_BUDGET / (1024u * 1024u));
        in->template_bytes += (size_t)count * tsize;
    }
    tlabels = json_object_get(json_object_get(tmpl, "metadata"), "labels");
    if (strcmp(kind, "StatefulSet") == 0) {
        vcts = json_object_get(spec, "volumeClaimTemplates");
        if (json_is_null(vcts) || (json_is_array(vcts) && json_array_size(vcts) == 0))
            vcts = NULL;
        else if (vcts && !json_is_array(vcts))
            return core_err_set(err, CORE_E_PARSE,
                                "%s %s/%s: spec.volumeClaimTemplates: expected a list", kind, ns,
                                name);
    }
    for (int64_t i = 0; i < count; i++) {
        char podname[512];
        json_t *pod, *podspec;

        if ((size_t)snprintf(podname, sizeof podname, "%s-%lld", name, (long long)i) >=
            sizeof podname)
            return core_err_set(err, CORE_E_INVAL, "%s: metadata.name: too long", kind);
        pod = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "Pod",
                        "metadata", "name", podname, "namespace", ns);
        if (!pod)
            return CORE_E_NOMEM;
        if (tlabels && json_object_set(json_object_get(pod, "metadata"), "labels",
                                       (json_t *)tlabels) != 0) {
            json_decref(pod);
            return CORE_E_NOMEM;
        }
        /* Only StatefulSets with claim templates change the spec: the others share it. */
        podspec = vcts ? json_deep_copy(tspec) : json_incref((json_t *)tspec);
        if (!podspec || json_object_set_new(pod, "spec", podspec) != 0) {
            json_decref(pod);
            return CORE_E_NOMEM;
        }
        rc = vcts ? add_vct_claims(in, vcts, name, ns, i, podspec, err) : 0;
        if (rc == 0)
            rc = add_pod_json(in, pod, err);
        json_decref(pod);
        if (rc != 0) {
            core_err_prefix(err, "%s %s/%s: pod template", kind, ns, name);
            return rc;
        }
    }
    return 0;
}

static int add_namespace(struct plan_in *in, const json_t *doc, struct core_err *err)
{
    const json_t *meta = json_object_get(doc, "metadata");
    const json_t *labels = json_object_get(meta, "labels");
    const char *name = json_string_value(json_object_get(meta, "name"));
    struct plan_ns ns = {NULL, {NULL, 0}};
    const char *key;
    const json_t *v;

    if (!name || !*name)
        return core_err_set(err, CORE_E_INVAL, "Namespace: metadata.name: expected a name");
    if (labels && !json_is_null(labels) && !json_is_object(labels))
        return core_err_set(err, CORE_E_PARSE, "Namespace %s: metadata.labels: expected a map",
                            name);
    for (size_t i = 0; i < in->nnss; i++)
        if (strcmp(in->nss[i].name, name) == 0)
            return core_err_set(err, CORE_E_INVAL, "Namespace %s: given twice", name);
    if (json_is_object(labels)) {
        json_object_foreach((json_t *)labels, key, v) {
            if (!json_is_string(v)) {
                k8s_labels_cleanup(&ns.labels);
                return core_err_set(err, CORE_E_PARSE,
                                    "Namespace %s: metadata.labels.%s: expected a string", name,
                                    key);
            }
            if (k8s_labels_set(&ns.labels, key, json_string_value(v)) != 0) {
                k8s_labels_cleanup(&ns.labels);
                return CORE_E_NOMEM;
            }
        }
    }
    ns.name = core_strdup(name);
    {
        void *np = ns.name ? grow(in->nss, in->nnss, &in->cnss, sizeof *in->nss) : NULL;
        if (!np) {
            core_free(ns.name);
            k8s_labels_cleanup(&ns.labels);
            return CORE_E_NOMEM;
        }
        in->nss = np;
        in->nss[in->nnss++] = ns;
    }
    return 0;
}

static int api_version_is(const json_t *doc, const char *a, const char *b)
{
    const char *v = json_string_value(json_object_get(doc, "apiVersion"));
    return v && (strcmp(v, a) == 0 || strcmp(v, b) == 0);
}

/* Decodes into a fresh heap object of the decoder's type and appends it; on failure nothing
 * is kept. */
#define DECODE_PUSH(type, decode, cleanup, arr, n, cap)                                        \
    do {                                                                                       \
        type *o_ = core_calloc(1, sizeof *o_);                                                 \
        void *np_;                                                                             \
        if (!o_)                                                                               \
            return CORE_E_NOMEM;                                                               \
        if ((rc = decode(doc, o_, err)) != 0) {                                                \
            core_free(o_);                                                                     \
            return rc;                                                                         \
        }                                                                                      \
        if (!(np_ = grow((arr), (n), &(cap), sizeof *(arr)))) {                                \
            cleanup(o_);                                                                       \
            core_free(o_);                                                                     \
            return CORE_E_NOMEM;                                                               \
        }                                                                                      \
        (arr) = np_;                                                                           \
        (arr)[(n)++] = o_;                                                                     \
    } while (0)

/* One document, dispatched by kind. Messages are completed by the caller with the file and
 * the document's number. */
static int add_doc(struct plan_in *in, json_t *doc, FILE *errout, const char *where,
                   struct core_err *err)
{
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    int rc;

    if (!json_is_object(doc))
        return core_err_set(err, CORE_E_INVAL, "expected a Kubernetes object (a map)");
    if (!kind || !*kind)
        return core_err_set(err, CORE_E_INVAL, "kind: expected the object's kind");
    /* The decoders take metadata.name as optional (objects being created may carry only
     * generateName); everything here names objects by it, so every kind must give one. */
    {
        const json_t *name = json_object_get(json_object_get(doc, "metadata"), "name");
        if (!json_is_string(name) || json_string_length(name) == 0)
            return core_err_set(err, CORE_E_INVAL,
                                "%s: metadata.name: expected a non-empty name (generateName "
                                "is not planned)", kind);
    }
    if (strcmp(kind, "Pod") == 0) {
        struct k8s_pod *p;
        if ((rc = default_namespace(doc)) != 0)
            return rc;
        if ((rc = add_pod_json(in, doc, err)) != 0)
            return rc;
        p = in->pods[in->npods - 1];
        if (p->spec.node_name && *p->spec.node_name) {
            fprintf(errout, "stoker plan: %s: pod %s/%s is bound to node %s; ignored\n", where,
                    p->meta.ns, p->meta.name, p->spec.node_name);
            k8s_pod_cleanup(p);
            core_free(p);
            in->npods--;
            in->ignored++;
        }
        return 0;
    }
    if (strcmp(kind, "Deployment") == 0 || strcmp(kind, "ReplicaSet") == 0 ||
        strcmp(kind, "StatefulSet") == 0 || strcmp(kind, "Job") == 0)
        return add_workload(in, doc, kind, errout, where, err);
    if (strcmp(kind, "DaemonSet") == 0) {
        if ((rc = default_namespace(doc)) != 0)
            return rc;
        DECODE_PUSH(struct k8s_daemonset, k8s_daemonset_decode, k8s_daemonset_cleanup, in->ds,
                    in->nds, in->cds);
        return 0;
    }
    if (strcmp(kind, "NodePool") == 0) {
        if (!api_version_is(doc, "stoker.dev/v1alpha1", "karpenter.sh/v1"))
            return core_err_set(err, CORE_E_INVAL, "NodePool: apiVersion: expected "
                                "stoker.dev/v1alpha1 or karpenter.sh/v1");
        DECODE_PUSH(struct k8s_nodepool, k8s_nodepool_decode, k8s_nodepool_cleanup, in->pools,
                    in->npools, in->cpools);
        for (size_t i = 0; i + 1 < in->npools; i++)
            if (strcmp(in->pools[i]->meta.name, in->pools[in->npools - 1]->meta.name) == 0)
                return core_err_set(err, CORE_E_INVAL, "NodePool %s: given twice",
                                    in->pools[i]->meta.name);
        return 0;
    }
    if (strcmp(kind, "EC2NodeClass") == 0) {
        if (!api_version_is(doc, "stoker.dev/v1alpha1", "karpenter.k8s.aws/v1"))
            return core_err_set(err, CORE_E_INVAL, "EC2NodeClass: apiVersion: expected "
                                "stoker.dev/v1alpha1 or karpenter.k8s.aws/v1");
        DECODE_PUSH(struct k8s_ec2nodeclass, k8s_ec2nodeclass_decode, k8s_ec2nodeclass_cleanup,
                    in->classes, in->nclasses, in->cclasses);
        return 0;
    }
    if (strcmp(kind, "PersistentVolumeClaim") == 0) {
        if ((rc = default_namespace(doc)) != 0)
            return rc;
        DECODE_PUSH(struct k8s_pvc, k8s_pvc_decode, k8s_pvc_cleanup, in->pvcs, in->npvcs,
                    in->cpvcs);
        return 0;
    }
    if (strcmp(kind, "PersistentVolume") == 0) {
        DECODE_PUSH(struct k8s_pv, k8s_pv_decode, k8s_pv_cleanup, in->pvs, in->npvs, in->cpvs);
        return 0;
    }
    if (strcmp(kind, "StorageClass") == 0) {
        DECODE_PUSH(struct k8s_storage_class, k8s_storage_class_decode,
                    k8s_storage_class_cleanup, in->scs, in->nscs, in->cscs);
        return 0;
    }
    if (strcmp(kind, "Namespace") == 0)
        return add_namespace(in, doc, err);
    return core_err_set(err, CORE_E_UNSUPPORTED,
                        "kind %s is not supported (expected Pod, Deployment, ReplicaSet, "
                        "StatefulSet, Job, DaemonSet, NodePool, EC2NodeClass, "
                        "PersistentVolumeClaim, PersistentVolume, StorageClass or Namespace)",
                        kind);
}

/* Loads every file. Returns an enum cli_exit (having printed why) or 0. */
static int load_files(const struct plan_flags *fl, struct plan_in *in, FILE *errout)
{
    struct core_err err;

    for (size_t f = 0; f < fl->nfiles; f++) {
        json_t **docs = NULL;
        size_t ndocs = 0;
        int rc;

        core_err_clear(&err);
        if ((rc = k8s_yaml_load_file(fl->files[f], &docs, &ndocs, &err)) != 0) {
            fprintf(errout, "stoker plan: %s\n", err.message);
            return rc == CORE_E_NOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
        }
        for (size_t d = 0; d < ndocs; d++) {
            char where[1100];
            snprintf(where, sizeof where, "%s: document %zu", fl->files[f], d + 1);
            core_err_clear(&err);
            if ((rc = add_doc(in, docs[d], errout, where, &err)) != 0) {
                if (rc == CORE_E_NOMEM)
                    fprintf(errout, "stoker plan: %s: out of memory\n", where);
                else
                    fprintf(errout, "stoker plan: %s: %s\n", where, err.message);
                k8s_yaml_docs_free(docs, ndocs);
                return rc == CORE_E_NOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
            }
        }
        k8s_yaml_docs_free(docs, ndocs);
    }
    if (merge_generated_claims(in) != 0) {
        fprintf(errout, "stoker plan: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    return 0;
}

static int cmp_pod_ptr(const void *a, const void *b)
{
    const struct k8s_pod *x = *(const struct k8s_pod *const *)a;
    const struct k8s_pod *y = *(const struct k8s_pod *const *)b;
    int c = strcmp(x->meta.ns, y->meta.ns);
    return c ? c : strcmp(x->meta.name, y->meta.name);
}

/* Two pods of one name would make the plan ambiguous: refused. */
static int check_unique_pods(const struct plan_in *in, FILE *errout)
{
    const struct k8s_pod **v;
    int rc = 0;

    if (in->npods < 2)
        return 0;
    if (!(v = core_malloc(in->npods * sizeof *v))) {
        fprintf(errout, "stoker plan: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    for (size_t i = 0; i < in->npods; i++)
        v[i] = in->pods[i];
    qsort(v, in->npods, sizeof *v, cmp_pod_ptr);
    for (size_t i = 1; i < in->npods; i++) {
        if (cmp_pod_ptr(&v[i - 1], &v[i]) == 0) {
            fprintf(errout, "stoker plan: pod %s/%s is defined twice\n", v[i]->meta.ns,
                    v[i]->meta.name);
            rc = CLI_EXIT_USAGE;
            break;
        }
    }
    core_free(v);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Output                                                                                      */
/* ------------------------------------------------------------------------------------------ */


/* The values of the claim's In requirement on key joined by ',' into out, or "any". */
static void req_values(const struct launcher_claim *c, const char *key, char *out, size_t outsz)
{
    struct core_buf b;

    core_strlcpy(out, "any", outsz);
    for (size_t i = 0; i < c->nrequirements; i++) {
        const struct k8s_requirement *r = &c->requirements[i];
        if (strcmp(r->key, key) != 0 || r->op != K8S_OP_IN || r->values.n == 0)
            continue;
        core_buf_init(&b, outsz - 1);
        for (size_t j = 0; j < r->values.n; j++) {
            if ((j && core_buf_append_char(&b, ',') != 0) ||
                core_buf_append_str(&b, r->values.v[j]) != 0)
                break; /* a cut list still reads right up to the cut */
        }
        core_strlcpy(out, core_buf_cstr(&b), outsz);
        core_buf_cleanup(&b);
        return;
    }
}

/* "ns/name" of the pod in b (replacing what it held), at full length: a cut name would not
 * be the pod's, and cut inside a UTF-8 character it would not even be text. */
static int pod_id(const struct k8s_pod *p, struct core_buf *b)
{
    core_buf_reset(b);
    return core_buf_appendf(b, "%s/%s", p->meta.ns ? p->meta.ns : "default", p->meta.name);
}

/* The NodeClaim's name in b: <pool>-<n>, n (seq[ci]) counting that pool's claims from 1 in
 * plan order. */
static int claim_name(const struct launcher_plan *plan, const struct launcher_sched_pool *pools,
                      const size_t *seq, size_t ci, struct core_buf *b)
{
    core_buf_reset(b);
    return core_buf_appendf(b, "%s-%zu", pools[plan->claims[ci].pool].pool->meta.name, seq[ci]);
}

/* seq[] for claim_name (core_free), or NULL when out of memory. */
static size_t *claim_seq(const struct launcher_plan *plan, size_t npools)
{
    size_t *seq = core_calloc(plan->nclaims + 1, sizeof *seq);
    size_t *per = core_calloc(npools + 1, sizeof *per);

    if (!seq || !per) {
        core_free(seq);
        core_free(per);
        return NULL;
    }
    for (size_t i = 0; i < plan->nclaims; i++)
        seq[i] = ++per[plan->claims[i].pool];
    core_free(per);
    return seq;
}

static double total_price(const struct launcher_plan *plan)
{
    double sum = 0;
    for (size_t i = 0; i < plan->nclaims; i++)
        if (plan->claims[i].ntypes > 0)
            sum += plan->claims[i].prices[0];
    return sum;
}

/* 0, or the core_buf error (out of memory) building a name. */
static int print_table(const struct launcher_plan *plan, const struct launcher_sched_pool *pools,
                       const size_t *seq, const struct k8s_pod *const *pods, size_t npods,
                       FILE *out)
{
    struct core_buf name, id;
    int rc = 0;

    core_buf_init(&name, PLAN_ID_MAX);
    core_buf_init(&id, PLAN_ID_MAX);
    for (size_t ci = 0; rc == 0 && ci < plan->nclaims; ci++) {
        const struct launcher_claim *c = &plan->claims[ci];
        char zones[512], ct[64];
        size_t col;

        if ((rc = claim_name(plan, pools, seq, ci, &name)) != 0)
            break;
        req_values(c, LAUNCHER_KEY_ZONE, zones, sizeof zones);
        req_values(c, LAUNCHER_KEY_CAPACITY_TYPE, ct, sizeof ct);
        fprintf(out, "nodeclaim %s  pool=%s  zone(s)=%s  capacity=%s  $%.4f/h  types=",
                core_buf_cstr(&name), pools[c->pool].pool->meta.name, zones, ct,
                c->ntypes ? c->prices[0] : 0.0);
        for (size_t t = 0; t < c->ntypes && t < PLAN_TABLE_TYPES; t++)
            fprintf(out, "%s%s", t ? "," : "", c->types[t]->name);
        if (c->ntypes > PLAN_TABLE_TYPES)
            fprintf(out, " +%zu more", c->ntypes - PLAN_TABLE_TYPES);
        if (c->warm_id)
            fprintf(out, "  warm=%s", c->warm_id);
        fputc('\n', out);
        fputs("  pods: ", out);
        col = 8;
        for (size_t k = 0; k < c->npods; k++) {
            size_t len;
            if ((rc = pod_id(pods[c->pods[k]], &id)) != 0)
                break;
            len = id.len + (k + 1 < c->npods ? 1 : 0);
            if (k > 0) {
                if (col + 1 + len > PLAN_WRAP) {
                    fputs("\n        ", out);
                    col = 8;
                } else {
                    fputc(' ', out);
                    col++;
                }
            }
            fprintf(out, "%s%s", core_buf_cstr(&id), k + 1 < c->npods ? "," : "");
            col += len;
        }
        fputc('\n', out);
    }
    if (rc == 0) {
        fprintf(out, "%zu pod%s \xe2\x86\x92 %zu NodeClaim%s, $%.4f/hour (cheapest type each); "
                     "%zu unschedulable\n",
                npods, npods == 1 ? "" : "s", plan->nclaims, plan->nclaims == 1 ? "" : "s",
                total_price(plan), plan->nunschedulable);
        if (plan->nunschedulable > 0)
            fputs("unschedulable:\n", out);
    }
    for (size_t u = 0; rc == 0 && u < plan->nunschedulable; u++) {
        if ((rc = pod_id(pods[plan->unschedulable[u].pod], &id)) == 0)
            fprintf(out, "  %s: %s\n", core_buf_cstr(&id), plan->unschedulable[u].reason);
    }
    core_buf_cleanup(&name);
    core_buf_cleanup(&id);
    return rc;
}

/* Sets err from a failed json_pack_ex: out of memory, or a value jansson refuses (a string
 * that is not UTF-8), which is a fault in the data, not a lack of memory. */
static int pack_failed(const json_error_t *je, const char *what, struct core_err *err)
{
    if (json_error_code(je) == json_error_out_of_memory)
        return core_err_set(err, CORE_E_NOMEM, "out of memory");
    return core_err_set(err, CORE_E_INVAL, "building the JSON output: %s: %s", what, je->text);
}

/* A JSON string of s, or NULL with err set. */
static json_t *jstr(const char *s, const char *what, struct core_err *err)
{
    json_error_t je;
    json_t *v = json_pack_ex(&je, 0, "s", s);

    if (!v)
        (void)pack_failed(&je, what, err);
    return v;
}

/* Appends v to arr, taking the reference; v NULL means err is set already. */
static int append(json_t *arr, json_t *v, struct core_err *err)
{
    if (!v)
        return err->code ? err->code : core_err_set(err, CORE_E_NOMEM, "out of memory");
    return json_array_append_new(arr, v) == 0 ? 0 : core_err_set(err, CORE_E_NOMEM,
                                                                   "out of memory");
}

/* Sets key of o to v (taking the reference); v NULL means err is set already. */
static int set(json_t *o, const char *key, json_t *v, struct core_err *err)
{
    if (!v)
        return err->code ? err->code : core_err_set(err, CORE_E_NOMEM, "out of memory");
    if (json_object_set_new(o, key, v) != 0)
        return core_err_set(err, CORE_E_INVAL, "building the JSON output: cannot add key "
                            "'%s' (out of memory, or not UTF-8)", key);
    return 0;
}

static json_t *claim_json(const struct launcher_plan *plan,
                          const struct launcher_sched_pool *pools, const size_t *seq,
                          const struct k8s_pod *const *pods, size_t ci, struct core_buf *name,
                          struct core_buf *id, struct core_err *err)
{
    const struct launcher_claim *c = &plan->claims[ci];
    json_t *o, *reqs, *res, *types, *podlist;
    json_error_t je;
    char q[64];
    int rc = 0;

    if (claim_name(plan, pools, seq, ci, name) != 0) {
        core_err_set(err, CORE_E_NOMEM, "out of memory");
        return NULL;
    }
    o = json_pack_ex(&je, 0, "{s:s, s:s, s:[], s:{}, s:[], s:n, s:[]}", "name",
                     core_buf_cstr(name), "nodePool", pools[c->pool].pool->meta.name,
                     "requirements", "requests", "instanceTypes", "warmInstance", "pods");
    if (!o) {
        (void)pack_failed(&je, "NodeClaim", err);
        return NULL;
    }
    if (c->warm_id)
        rc = set(o, "warmInstance", jstr(c->warm_id, "warmInstance", err), err);
    reqs = json_object_get(o, "requirements");
    res = json_object_get(o, "requests");
    types = json_object_get(o, "instanceTypes");
    podlist = json_object_get(o, "pods");
    for (size_t i = 0; rc == 0 && i < c->nrequirements; i++) {
        const struct k8s_requirement *r = &c->requirements[i];
        json_t *vals = json_array(), *jr = NULL;
        rc = vals ? 0 : core_err_set(err, CORE_E_NOMEM, "out of memory");
        for (size_t j = 0; rc == 0 && j < r->values.n; j++)
            rc = append(vals, jstr(r->values.v[j], "requirement value", err), err);
        if (rc == 0 && !(jr = json_pack_ex(&je, 0, "{s:s, s:s, s:O}", "key", r->key, "operator",
                                           k8s_op_name(r->op), "values", vals)))
            rc = pack_failed(&je, "requirement", err);
        json_decref(vals);
        if (rc == 0 && r->min_values > 0)
            rc = set(jr, "minValues", json_integer(r->min_values), err);
        if (rc == 0)
            rc = append(reqs, jr, err);
        else
            json_decref(jr);
    }
    for (size_t i = 0; rc == 0 && i < c->requests.n; i++) {
        k8s_quantity_format_milli(c->requests.v[i].milli, q, sizeof q);
        rc = set(res, c->requests.v[i].name, jstr(q, "request", err), err);
    }
    for (size_t i = 0; rc == 0 && i < c->ntypes; i++) {
        json_t *t = json_pack_ex(&je, 0, "{s:s, s:f}", "name", c->types[i]->name,
                                 "priceUSDPerHour", c->prices[i]);
        rc = t ? append(types, t, err) : pack_failed(&je, "instance type", err);
    }
    for (size_t i = 0; rc == 0 && i < c->npods; i++) {
        if (pod_id(pods[c->pods[i]], id) != 0)
            rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
        else
            rc = append(podlist, jstr(core_buf_cstr(id), "pod", err), err);
    }
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* 0, or an error in err: CORE_E_NOMEM, CORE_E_INVAL (a value JSON cannot hold) or -EIO
 * (writing failed). */
static int print_json(const struct launcher_plan *plan, const struct launcher_sched_pool *pools,
                      const size_t *seq, const struct k8s_pod *const *pods, size_t npods,
                      size_t ignored, FILE *out, struct core_err *err)
{
    json_t *root, *claims, *uns;
    json_error_t je;
    struct core_buf name, id;
    int rc = 0;

    root = json_pack_ex(&je, 0, "{s:[], s:[], s:{s:I, s:I, s:f, s:I, s:I}}", "nodeClaims",
                        "unschedulable", "summary", "pods", (json_int_t)npods, "nodeClaims",
                        (json_int_t)plan->nclaims, "pricePerHourUSD", total_price(plan),
                        "unschedulable", (json_int_t)plan->nunschedulable, "ignoredPods",
                        (json_int_t)ignored);
    if (!root)
        return pack_failed(&je, "summary", err);
    core_buf_init(&name, PLAN_ID_MAX);
    core_buf_init(&id, PLAN_ID_MAX);
    claims = json_object_get(root, "nodeClaims");
    uns = json_object_get(root, "unschedulable");
    for (size_t i = 0; rc == 0 && i < plan->nclaims; i++)
        rc = append(claims, claim_json(plan, pools, seq, pods, i, &name, &id, err), err);
    for (size_t i = 0; rc == 0 && i < plan->nunschedulable; i++) {
        json_t *u;
        if (pod_id(pods[plan->unschedulable[i].pod], &id) != 0) {
            rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
            break;
        }
        u = json_pack_ex(&je, 0, "{s:s, s:s}", "pod", core_buf_cstr(&id), "reason",
                         plan->unschedulable[i].reason);
        rc = u ? append(uns, u, err) : pack_failed(&je, "unschedulable pod", err);
    }
    if (rc == 0 && json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                              JSON_REAL_PRECISION(10)) != 0)
        rc = core_err_set(err, -EIO, "writing the plan failed");
    if (rc == 0)
        fputc('\n', out);
    core_buf_cleanup(&name);
    core_buf_cleanup(&id);
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* The command                                                                                 */
/* ------------------------------------------------------------------------------------------ */

static int load_catalog(const struct plan_flags *fl, struct launcher_catalog **cat,
                        FILE *errout)
{
    struct core_err err;
    char *csv = NULL;
    size_t len = 0;
    int rc;

    core_err_clear(&err);
    if (!fl->catalog) {
        if (launcher_catalog_load(cat, &err) != 0) {
            fprintf(errout, "stoker plan: instance catalog: %s\n", err.message);
            return CLI_EXIT_FAIL;
        }
        return 0;
    }
    if ((rc = core_read_file("catalog", fl->catalog, LAUNCHER_CATALOG_MAX_BYTES, &csv, &len,
                             &err)) != 0) {
        fprintf(errout, "stoker plan: --catalog: %s\n", err.message);
        return rc == CORE_E_NOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
    }
    rc = launcher_catalog_parse(csv, len, cat, &err);
    core_free(csv);
    if (rc != 0) {
        fprintf(errout, "stoker plan: --catalog: %s: %s\n", fl->catalog, err.message);
        return rc == CORE_E_NOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
    }
    return 0;
}

static int run_plan(const struct plan_flags *fl, FILE *out, FILE *errout)
{
    struct plan_in in;
    struct launcher_catalog *cat = NULL;
    struct launcher_offerings *offs = NULL;
    struct launcher_plan *plan = NULL;
    struct launcher_sched_input si;
    struct launcher_sched_pool *pools = NULL;
    struct launcher_sched_namespace *nss = NULL;
    size_t *seq = NULL;
    struct core_err err;
    int rc;

    memset(&in, 0, sizeof in);
    memset(&si, 0, sizeof si);
    core_err_clear(&err);
    if ((rc = load_catalog(fl, &cat, errout)) != 0)
        goto done;
    if ((rc = load_files(fl, &in, errout)) != 0)
        goto done;
    if ((rc = check_unique_pods(&in, errout)) != 0)
        goto done;
    if (launcher_offerings_default(cat, fl->region, fl->zone_v, fl->nzones, fl->spot_discount, &offs,
                                   &err) != 0) {
        fprintf(errout, "stoker plan: offerings: %s\n", err.message);
        rc = err.code == CORE_E_NOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
        goto done;
    }
    rc = CLI_EXIT_FAIL;
    if (in.npools && !(pools = core_calloc(in.npools, sizeof *pools)))
        goto nomem;
    for (size_t p = 0; p < in.npools; p++) {
        const char *ref = in.pools[p]->node_class_ref.name;
        pools[p].pool = in.pools[p];
        for (size_t c = 0; ref && c < in.nclasses; c++)
            if (strcmp(in.classes[c]->meta.name, ref) == 0)
                pools[p].nodeclass = in.classes[c];
        if (!pools[p].nodeclass)
            fprintf(errout, "stoker plan: NodePool %s: EC2NodeClass %s is not in the files; "
                            "planning with the defaults\n",
                    in.pools[p]->meta.name, ref ? ref : "(none)");
    }
    if (in.nnss && !(nss = core_calloc(in.nnss, sizeof *nss)))
        goto nomem;
    for (size_t i = 0; i < in.nnss; i++) {
        nss[i].name = in.nss[i].name;
        nss[i].labels = &in.nss[i].labels;
    }
    si.offerings = offs;
    si.now = 0;
    /* The arrays of pointers to objects are passed as const views of themselves. */
    si.pods = (const struct k8s_pod *const *)in.pods;
    si.npods = in.npods;
    si.pools = pools;
    si.npools = in.npools;
    si.daemonsets = (const struct k8s_daemonset *const *)in.ds;
    si.ndaemonsets = in.nds;
    si.namespaces = nss;
    si.nnamespaces = in.nnss;
    si.pvcs = (const struct k8s_pvc *const *)in.pvcs;
    si.npvcs = in.npvcs;
    si.pvs = (const struct k8s_pv *const *)in.pvs;
    si.npvs = in.npvs;
    si.storage_classes = (const struct k8s_storage_class *const *)in.scs;
    si.nstorage_classes = in.nscs;
    si.max_types = fl->max_types;
    if (launcher_schedule(&si, &plan, &err) != 0) {
        fprintf(errout, "stoker plan: scheduler: %s\n", err.message);
        goto done;
    }
    if (!(seq = claim_seq(plan, in.npools)))
        goto nomem;
    if (fl->json) {
        core_err_clear(&err);
        if (print_json(plan, pools, seq, si.pods, in.npods, in.ignored, out, &err) != 0) {
            fprintf(errout, "stoker plan: %s\n", err.message);
            goto done;
        }
    } else if (print_table(plan, pools, seq, si.pods, in.npods, out) != 0) {
        goto nomem;
    }
    fflush(out);
    if (ferror(out)) {
        fprintf(errout, "stoker plan: writing the plan failed\n");
        goto done;
    }
    rc = plan->nunschedulable ? PLAN_EXIT_UNSCHEDULABLE : CLI_EXIT_OK;
    goto done;
nomem:
    fprintf(errout, "stoker plan: out of memory\n");
    rc = CLI_EXIT_FAIL;
done:
    core_free(seq);
    launcher_plan_free(plan);
    core_free(nss);
    core_free(pools);
    launcher_offerings_free(offs);
    plan_in_cleanup(&in);
    launcher_catalog_free(cat);
    return rc;
}

int cli_cmd_plan(const struct cli_config *cfg, int argc, char **argv, FILE *out, FILE *errout)
{
    struct plan_flags fl;
    int rc;

    (void)cfg;
    rc = parse_flags(argc, argv, &fl, out, errout);
    if (rc < 0)
        return CLI_EXIT_OK;
    if (rc > 0)
        return rc;
    return run_plan(&fl, out, errout);
}
