/*
 * tests/integration/test_sim_kubectl.c — `stoker sim serve` as a child process, driven by a
 * real kubectl ($STOKER_KUBECTL, default /usr/bin/kubectl: Debian's kubernetes-client,
 * installed by `make deps-test` when no kubectl is there): discovery, lists of built-in kinds, `kubectl apply` of stoker's
 * CRD kinds with the server's defaults visible in what it stores, a NodePool refused with a
 * field-level message, a `kubectl get -w` that prints a NodeClaim created while it runs, and
 * the definitions themselves (`get crds`, printer columns kept in the stored definition, the
 * ec2nc short name), and the columns `kubectl get` prints, which come from the server's
 * meta.k8s.io Tables: a CRD's additionalPrinterColumns (-o wide adds the priority-1 ones) and
 * the built-in printers' (namespaces).
 *
 * kubectl reads the kubeconfig the server writes, so that file is tested too. Every child is
 * bounded by a deadline; the server must exit 0 on SIGTERM. kubectl's --validate=false is used
 * because the emulator serves no OpenAPI documents: validation is the server's job here.
 */
#include "tests/integration/simproc.h"
#include "tests/unit/harness.h"

#include "core/core.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define KUBECTL ((char *)(uintptr_t)tests_kubectl())
#define CLI_TIMEOUT_S 60
#define WATCH_DEADLINE_S 30

static void kubectl_argv(const struct tests_sim *s, const char *const *args, char **argv,
                         size_t max)
{
    size_t n = 0;
    argv[n++] = KUBECTL;
    argv[n++] = "--kubeconfig";
    argv[n++] = (char *)s->kube_path;
    argv[n++] = "--request-timeout=20s";
    for (size_t i = 0; args[i] && n + 1 < max; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
}

/* Runs kubectl ARGS; *out gets stdout, errtext (may be NULL) stderr. The exit status. */
static int kubectl(const struct tests_sim *s, const char *const *args, struct core_buf *out,
                   char **errtext)
{
    char home[96], errpath[128];
    /* Only the kubeconfig the server wrote, never one of the machine's. */
    char *envp[] = {"PATH=/usr/bin:/bin", home, "KUBECONFIG=", NULL};
    char *argv[32];
    int rc = -1;
    char *e;

    snprintf(home, sizeof home, "HOME=%s", s->dir);
    snprintf(errpath, sizeof errpath, "%s/kubectl.err", s->dir);
    kubectl_argv(s, args, argv, sizeof argv / sizeof argv[0]);
    if (tests_run(argv, envp, errpath, CLI_TIMEOUT_S, out, &rc) != 0)
        return -1;
    e = tests_read_file(errpath, NULL);
    if (errtext)
        *errtext = e;
    else {
        if (rc != 0)
            fprintf(stderr, "\n  kubectl %s %s: exit %d: %s\n", args[0], args[1] ? args[1] : "",
                    rc, e ? e : "");
        core_free(e);
    }
    return rc;
}

/* Does the first line of text hold exactly the words of want, in order? */
static int header_is(const char *text, const char *const *want)
{
    size_t n = strcspn(text, "\n"), i = 0;
    const char *p = text, *end = text + n;

    while (p < end) {
        size_t w;
        while (p < end && *p == ' ')
            p++;
        if (p == end)
            break;
        w = strcspn(p, " \n");
        if (!want[i] || strlen(want[i]) != w || strncmp(p, want[i], w) != 0) {
            fprintf(stderr, "\n  unexpected header: %.*s\n", (int)n, text);
            return 0;
        }
        i++;
        p += w;
    }
    if (want[i])
        fprintf(stderr, "\n  header %.*s lacks %s\n", (int)n, text, want[i]);
    return want[i] == NULL;
}

/* The line of text that starts with name (a row), copied into out; 0, or -1 when none. */
static int row_of(const char *text, const char *name, char *out, size_t outsz)
{
    size_t len = strlen(name);
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        if (n > len && strncmp(p, name, len) == 0 && p[len] == ' ') {
            snprintf(out, outsz, "%.*s", (int)n, p);
            return 0;
        }
        p += n;
        if (*p)
            p++;
    }
    return -1;
}

static void test_kubectl(void)
{
    struct tests_sim s;
    struct core_buf out, wout;
    char np[4096], nc[4096], bad[4096], claim[4096], crds[4096];
    const char *const serve_args[] = {"--crds", crds, NULL};
    char *errtext = NULL;
    json_t *doc;
    int rc;

    if (access(KUBECTL, X_OK) != 0) {
        fprintf(stderr, "\n  %s is missing: run `make deps-test` (Debian package "
                        "kubernetes-client)\n", KUBECTL);
        CU_FAIL("kubectl is not installed");
        return;
    }
    core_strlcpy(np, tests_data_path("manifests/kubectl-nodepool.yaml"), sizeof np);
    core_strlcpy(nc, tests_data_path("manifests/kubectl-nodeclass.yaml"), sizeof nc);
    core_strlcpy(bad, tests_data_path("manifests/kubectl-nodepool-invalid.yaml"), sizeof bad);
    core_strlcpy(claim, tests_data_path("manifests/kubectl-nodeclaim.yaml"), sizeof claim);
    core_strlcpy(crds, tests_data_path("../../deploy/crds"), sizeof crds);
    if (tests_sim_start(&s, "sim-kubectl", serve_args) != 0) {
        CU_FAIL("stoker sim serve did not start");
        (void)tests_sim_stop(&s);
        return;
    }
    core_buf_init(&out, 4u << 20);

    /* The server's own kinds: empty but served. */
    {
        const char *a[] = {"get", "nodes", NULL};
        CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
    }
    core_buf_reset(&out);
    {
        const char *a[] = {"get", "namespaces", "-o", "name", NULL};
        CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(core_buf_cstr(&out), "namespace/kube-system"));
    }
    core_buf_reset(&out);
    {
        const char *a[] = {"get", "pods", "-A", NULL};
        CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
    }

    /* apply: created, then listed, with the server's defaults in what it stores. */
    core_buf_reset(&out);
    {
        const char *a[] = {"apply", "--validate=false", "-f", nc, NULL};
        CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(core_buf_cstr(&out), "ec2nodeclass.stoker.dev/default"));
    }
    core_buf_reset(&out);
    {
        const char *a[] = {"apply", "--validate=false", "-f", np, NULL};
        CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(core_buf_cstr(&out), "nodepool.stoker.dev/general"));
    }
    core_buf_reset(&out);
    {
        const char *a[] = {"get", "nodepools", NULL};
        CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(core_buf_cstr(&out), "general"));
    }
    core_buf_reset(&out);
    {
        const char *a[] = {"get", "nodepool", "general", "-o", "json", NULL};
        CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
        doc = json_loads(core_buf_cstr(&out), 0, NULL);
        CU_ASSERT_PTR_NOT_NULL(doc);
        {
            const char *pol = json_string_value(json_object_get(
                json_object_get(json_object_get(doc, "spec"), "disruption"),
                "consolidationPolicy"));
            CU_ASSERT(pol && strcmp(pol, "WhenEmptyOrUnderutilized") == 0);
        }
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(doc, "spec"),
                                                           "weight")), 10);
        json_decref(doc);
    }

    /* An invalid NodePool: refused by the server, naming the field. */
    core_buf_reset(&out);
    {
        const char *a[] = {"apply", "--validate=false", "-f", bad, NULL};
        rc = kubectl(&s, a, &out, &errtext);
        CU_ASSERT_NOT_EQUAL(rc, 0);
        CU_ASSERT(errtext && strstr(errtext, "spec.template.spec.requirements[0].operator: "
                                             "Unsupported value: \"Equals\""));
        CU_ASSERT(errtext && strstr(errtext, "spec.weight"));
        if (!errtext || !strstr(errtext, "Unsupported value"))
            fprintf(stderr, "\n  kubectl said: %s\n", errtext ? errtext : "(nothing)");
        core_free(errtext);
        errtext = NULL;
    }

    /* A watch prints a NodeClaim created while it runs. */
    {
        const char *wa[] = {"get", "nodeclaims", "-w", NULL};
        const char *ca[] = {"create", "--validate=false", "-f", claim, NULL};
        char *argv[32], errpath[160];
        char *envp[] = {"PATH=/usr/bin:/bin", NULL, "KUBECONFIG=", NULL};
        char home[96];
        int wfd = -1;
        pid_t wpid = -1;

        snprintf(home, sizeof home, "HOME=%s", s.dir);
        envp[1] = home;
        snprintf(errpath, sizeof errpath, "%s/watch.err", s.dir);
        kubectl_argv(&s, wa, argv, sizeof argv / sizeof argv[0]);
        core_buf_init(&wout, 1u << 20);
        CU_ASSERT_EQUAL_FATAL(tests_spawn(argv, envp, errpath, &wfd, &wpid), 0);
        /* Give the watch a moment to list; either way the claim must show up. */
        usleep(500000);
        core_buf_reset(&out);
        CU_ASSERT_EQUAL(kubectl(&s, ca, &out, NULL), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(core_buf_cstr(&out), "nodeclaim.stoker.dev/general-x7k2p"));
        rc = tests_read_until(wfd, &wout, tests_now() + WATCH_DEADLINE_S, "general-x7k2p");
        CU_ASSERT_EQUAL(rc, 0);
        if (rc != 0) {
            char *e = tests_read_file(errpath, NULL);
            fprintf(stderr, "\n  watch printed: %s\n  stderr: %s\n", core_buf_cstr(&wout),
                    e ? e : "");
            core_free(e);
        }
        kill(wpid, SIGTERM);
        (void)tests_wait_exit(wpid, tests_now() + 10);
        close(wfd);
        core_buf_cleanup(&wout);
    }

    /* The columns the NodeClaim definition declares, with the created claim's values. */
    core_buf_reset(&out);
    {
        const char *a[] = {"get", "nodeclaims", NULL};
        const char *const head[] = {"NAME", "TYPE", "CAPACITY", "ZONE", "NODE", "READY", "AGE",
                                    NULL};
        char row[512];
        CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
        CU_ASSERT(header_is(core_buf_cstr(&out), head));
        CU_ASSERT_EQUAL_FATAL(row_of(core_buf_cstr(&out), "general-x7k2p", row, sizeof row), 0);
        /* NODE and READY are empty until the claim launches; AGE is seconds */
        CU_ASSERT_PTR_NOT_NULL(strstr(row, " m5.large "));
        CU_ASSERT_PTR_NOT_NULL(strstr(row, " on-demand "));
        CU_ASSERT_PTR_NOT_NULL(strstr(row, " us-east-1a "));
        CU_ASSERT(strlen(row) > 0 && row[strlen(row) - 1] == 's');
    }
    core_buf_reset(&out);
    {
        const char *a[] = {"get", "nodeclaims", "-o", "wide", NULL};
        const char *const head[] = {"NAME", "TYPE", "CAPACITY", "ZONE", "NODE", "READY", "AGE",
                                    "IMAGEID", "ID", "NODEPOOL", "NODECLASS", NULL};
        char row[512];
        CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
        CU_ASSERT(header_is(core_buf_cstr(&out), head));
        CU_ASSERT_EQUAL(row_of(core_buf_cstr(&out), "general-x7k2p", row, sizeof row), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(row, " general "));
        CU_ASSERT_PTR_NOT_NULL(strstr(row, " default"));
    }
    /* A WarmPool: integer columns, and the defaulted state at priority 1. */
    core_buf_reset(&out);
    {
        char wp[192];
        FILE *fp;
        snprintf(wp, sizeof wp, "%s/warmpool.yaml", s.dir);
        fp = fopen(wp, "w");
        CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
        fputs("apiVersion: stoker.dev/v1alpha1\nkind: WarmPool\nmetadata:\n  name: general-warm\n"
              "spec:\n  nodePoolRef:\n    name: general\n  size:\n    min: 2\n    max: 5\n",
              fp);
        CU_ASSERT_EQUAL(fclose(fp), 0);
        {
            const char *a[] = {"apply", "--validate=false", "-f", wp, NULL};
            CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
        }
        core_buf_reset(&out);
        {
            const char *a[] = {"get", "warmpools", NULL};
            const char *const head[] = {"NAME", "NODEPOOL", "WARM", "CLAIMED", "MIN", "MAX",
                                        "AGE", NULL};
            char row[512];
            CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
            CU_ASSERT(header_is(core_buf_cstr(&out), head));
            CU_ASSERT_EQUAL(row_of(core_buf_cstr(&out), "general-warm", row, sizeof row), 0);
            /* no status yet: WARM and CLAIMED are empty */
            CU_ASSERT_PTR_NOT_NULL(strstr(row, " general "));
            CU_ASSERT_PTR_NOT_NULL(strstr(row, " 2 "));
            CU_ASSERT_PTR_NOT_NULL(strstr(row, " 5 "));
        }
        core_buf_reset(&out);
        {
            const char *a[] = {"get", "warmpools", "-o", "wide", NULL};
            const char *const head[] = {"NAME", "NODEPOOL", "WARM", "CLAIMED", "MIN", "MAX",
                                        "AGE", "STATE", "WARMING", NULL};
            char row[512];
            CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
            CU_ASSERT(header_is(core_buf_cstr(&out), head));
            CU_ASSERT_EQUAL(row_of(core_buf_cstr(&out), "general-warm", row, sizeof row), 0);
            CU_ASSERT_PTR_NOT_NULL(strstr(row, " Stopped"));
        }
    }
    /* A built-in printer: namespaces. */
    core_buf_reset(&out);
    {
        const char *a[] = {"get", "namespaces", NULL};
        const char *const head[] = {"NAME", "STATUS", "AGE", NULL};
        char row[512];
        CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
        CU_ASSERT(header_is(core_buf_cstr(&out), head));
        CU_ASSERT_EQUAL(row_of(core_buf_cstr(&out), "kube-system", row, sizeof row), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(row, " Active "));
    }

    /* The definitions themselves. */
    core_buf_reset(&out);
    {
        const char *a[] = {"get", "crds", NULL};
        CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(core_buf_cstr(&out), "nodepools.stoker.dev"));
        CU_ASSERT_PTR_NOT_NULL(strstr(core_buf_cstr(&out), "ec2nodeclasses.stoker.dev"));
        CU_ASSERT_PTR_NOT_NULL(strstr(core_buf_cstr(&out), "nodeclaims.stoker.dev"));
        CU_ASSERT_PTR_NOT_NULL(strstr(core_buf_cstr(&out), "warmpools.stoker.dev"));
    }
    core_buf_reset(&out);
    {
        /* The printer columns travel with the stored definition. */
        const char *a[] = {"get", "crd", "nodeclaims.stoker.dev", "-o",
                           "jsonpath={.spec.versions[0].additionalPrinterColumns[0].jsonPath}",
                           NULL};
        CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
        CU_ASSERT_STRING_EQUAL(core_buf_cstr(&out),
                               ".metadata.labels.node\\.kubernetes\\.io/instance-type");
    }
    core_buf_reset(&out);
    {
        const char *a[] = {"get", "ec2nc", "-o", "name", NULL};
        CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(core_buf_cstr(&out), "ec2nodeclass.stoker.dev/default"));
    }

    core_buf_cleanup(&out);
    CU_ASSERT_EQUAL(tests_sim_stop(&s), 0);
}

TESTS_SUITE(sim_kubectl, "sim_kubectl", NULL, NULL, TESTS_CASE(test_kubectl))
