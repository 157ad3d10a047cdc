/*
 * tests/integration/test_cli_prewarm.c — `stoker prewarm` as a child process against
 * `stoker sim serve` with an EC2NodeClass, a NodePool and WarmPools created over HTTP (and a
 * status written through the status subresource, as the controller would): status prints the
 * pool's row with its Ready column, an unknown pool exits 1 naming it; scale changes spec.size
 * (read back from the server) and moves a target-sized pool to size; schedule adds one, an
 * overlapping or same-named one is refused naming the schedule it collides with, cancel removes
 * it and exits 1 for an unknown name; advise (offline, and with --pool from the cluster, and
 * the in-process cli_prewarm_advise_json) holds warm instances for every pod of a burst when
 * only the warm path meets the deadline and none when cold launches do; bad inputs exit 2
 * naming the flag; against a server that never answers, the command gives up after
 * STOKER_PREWARM_WAIT_S with its request still in flight and exits 1 cleanly (the children
 * run with ASan's stack-use-after-return detection in the asan variant, which caught the
 * request's late answer being written into the frame that had waited for it).
 *
 * One server serves the whole suite; every child run is bounded by RUN_TIMEOUT_S.
 */
#include "tests/integration/simproc.h"
#include "tests/unit/harness.h"

#include "cli/cli.h"
#include "core/core.h"
#include "prewarm/prewarm.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RUN_TIMEOUT_S 60
#define API "/apis/stoker.dev/v1alpha1/"

static struct tests_sim sim;
static int sim_ok;

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
    return core_buf_append(ud, p, sz * n) == 0 ? sz * n : 0;
}

/* method path (under the server) with an optional JSON body; the answer parsed (json_decref)
 * or NULL; *status the HTTP status. */
static json_t *http(const char *method, const char *path, const char *ctype, const char *body,
                    long *status)
{
    CURL *e = curl_easy_init();
    struct curl_slist *h = NULL;
    struct core_buf b;
    char url[512], ct[128];
    json_t *j = NULL;

    *status = 0;
    if (!e)
        return NULL;
    core_buf_init(&b, 4u << 20);
    snprintf(url, sizeof url, "%s%s", sim.endpoint, path);
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
    h = curl_slist_append(h, ct);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    if (body)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    if (curl_easy_perform(e) == CURLE_OK) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
        j = json_loads(core_buf_cstr(&b), 0, NULL);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    core_buf_cleanup(&b);
    return j;
}

static int create(const char *plural, const char *body)
{
    char path[128];
    long status;
    json_t *j;

    snprintf(path, sizeof path, API "%s", plural);
    j = http("POST", path, NULL, body, &status);
    if (status != 201)
        fprintf(stderr, "\n  POST %s: %ld: %s\n", plural, status,
                j ? json_string_value(json_object_get(j, "message")) : "(no answer)");
    json_decref(j);
    return status == 201 ? 0 : -1;
}

/* WarmPool name as the server has it (json_decref), or NULL. */
static json_t *get_pool(const char *name)
{
    char path[128];
    long status;
    json_t *j;

    snprintf(path, sizeof path, API "warmpools/%s", name);
    j = http("GET", path, NULL, NULL, &status);
    CU_ASSERT_EQUAL(status, 200);
    if (status != 200) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int suite_init(void)
{
    long status;
    json_t *j;

    if (tests_sim_start(&sim, "prewarm", NULL) != 0)
        return 0; /* each test fails on !sim_ok, with the server's words on stderr */
    if (create("ec2nodeclasses",
               "{\"apiVersion\":\"stoker.dev/v1alpha1\",\"kind\":\"EC2NodeClass\","
               "\"metadata\":{\"name\":\"default\"},\"spec\":{"
               "\"amiSelectorTerms\":[{\"alias\":\"al2023@latest\"}],"
               "\"subnetSelectorTerms\":[{\"tags\":{\"stoker.dev/discovery\":\"sim\"}}],"
               "\"securityGroupSelectorTerms\":[{\"tags\":{\"stoker.dev/discovery\":\"sim\"}}],"
               "\"role\":\"KarpenterNodeRole-sim\"}}") != 0 ||
        create("nodepools",
               "{\"apiVersion\":\"stoker.dev/v1alpha1\",\"kind\":\"NodePool\","
               "\"metadata\":{\"name\":\"general\"},\"spec\":{\"template\":{\"spec\":{"
               "\"nodeClassRef\":{\"group\":\"stoker.dev\",\"kind\":\"EC2NodeClass\","
               "\"name\":\"default\"},\"requirements\":[{\"key\":\"kubernetes.io/arch\","
               "\"operator\":\"In\",\"values\":[\"amd64\"]},{\"key\":"
               "\"karpenter.k8s.aws/instance-category\",\"operator\":\"In\",\"values\":"
               "[\"c\",\"m\"]}]}}}}") != 0 ||
        create("warmpools",
               "{\"apiVersion\":\"stoker.dev/v1alpha1\",\"kind\":\"WarmPool\","
               "\"metadata\":{\"name\":\"web\"},\"spec\":{\"nodePoolRef\":{\"name\":"
               "\"general\"},\"size\":{\"min\":2,\"max\":5},\"schedules\":[{\"name\":"
               "\"black-friday\",\"start\":\"2030-11-29T08:00:00Z\",\"duration\":\"12h\","
               "\"size\":{\"min\":40}}]}}") != 0 ||
        create("warmpools",
               "{\"apiVersion\":\"stoker.dev/v1alpha1\",\"kind\":\"WarmPool\","
               "\"metadata\":{\"name\":\"share\"},\"spec\":{\"nodePoolRef\":{\"name\":"
               "\"general\"},\"target\":\"10%\"}}") != 0)
        return 0;
    /* The status the controller would write. */
    j = http("PATCH", API "warmpools/web/status", "application/merge-patch+json",
             "{\"status\":{\"warming\":1,\"warm\":2,\"claimed\":0,\"failed\":0,\"stale\":0,"
             "\"min\":2,\"max\":5,\"images\":[\"ami-0123\"],\"idleCostPerHour\":\"0.0123\","
             "\"lastDecision\":\"launch 1 (refill)\",\"conditions\":[{\"type\":\"Ready\","
             "\"status\":\"True\",\"reason\":\"Valid\",\"lastTransitionTime\":"
             "\"2026-01-01T00:00:00Z\"}]}}", &status);
    json_decref(j);
    if (status != 200) {
        fprintf(stderr, "\n  PATCH warmpools/web/status: %ld\n", status);
        return 0;
    }
    j = http("PATCH", API "warmpools/share/status", "application/merge-patch+json",
             "{\"status\":{\"stale\":3,\"conditions\":[{\"type\":\"Ready\",\"status\":"
             "\"False\",\"reason\":\"NodePoolNotFound\",\"message\":\"spec.nodePoolRef.name: "
             "NodePool x not found\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}}",
             &status);
    json_decref(j);
    sim_ok = status == 200;
    return 0;
}

static int suite_cleanup(void)
{
    (void)tests_sim_stop(&sim);
    return 0;
}

/* Runs `stoker prewarm ARGS... --kubeconfig K` (args NULL-terminated). */
static void run(struct tests_stoker_run *r, const char *const *args, int cluster)
{
    const char *argv[40];
    size_t n = 0;

    argv[n++] = "prewarm";
    for (size_t i = 0; args[i] && n < 36; i++)
        argv[n++] = args[i];
    if (cluster) {
        argv[n++] = "--kubeconfig";
        argv[n++] = sim.kube_path;
    }
    argv[n] = NULL;
    tests_stoker_run(r, argv, sim.envp, sim.dir, RUN_TIMEOUT_S);
}

static void report(const struct tests_stoker_run *r, int want)
{
    if (r->status != want)
        fprintf(stderr, "\n  exit %d (want %d)\n  stdout: %s\n  stderr: %s\n", r->status, want,
                r->out, r->err);
}

/* The line of text that starts with "name " (a row), or NULL (borrowed; ends at '\n'). */
static const char *row_of(const char *text, const char *name)
{
    size_t len = strlen(name);

    for (const char *p = text; *p;) {
        if (strncmp(p, name, len) == 0 && p[len] == ' ')
            return p;
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
    }
    return NULL;
}

/* Whether the row's line contains s. */
static int row_has(const char *row, const char *s)
{
    size_t n = strcspn(row, "\n");
    const char *f = strstr(row, s);
    return f && (size_t)(f - row) < n;
}

static void test_help(void)
{
    static const char *const subs[] = {"status", "scale", "schedule", "cancel", "advise"};
    struct tests_stoker_run r;

    {
        const char *a[] = {"--help", NULL};
        run(&r, a, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "usage: stoker prewarm"));
        tests_stoker_run_cleanup(&r);
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        const char *a[] = {subs[i], "--help", NULL};
        char want[64];
        run(&r, a, 0);
        snprintf(want, sizeof want, "usage: stoker prewarm %s", subs[i]);
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, want));
        tests_stoker_run_cleanup(&r);
    }
    {
        const char *a[] = {"bogus", NULL};
        run(&r, a, 0);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "bogus"));
        tests_stoker_run_cleanup(&r);
    }
}

static void test_status(void)
{
    struct tests_stoker_run r;
    const char *row;

    CU_ASSERT_FATAL(sim_ok);
    {
        const char *a[] = {"status", NULL};
        run(&r, a, 1);
        report(&r, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT(strncmp(r.out, "NAME", 4) == 0);
        CU_ASSERT(row_has(r.out, "READY") && row_has(r.out, "COST/H") &&
                  row_has(r.out, "SCHEDULE") && row_has(r.out, "AMI"));
        row = row_of(r.out, "web");
        CU_ASSERT_PTR_NOT_NULL(row);
        if (row) {
            CU_ASSERT(row_has(row, "general"));
            CU_ASSERT(row_has(row, "Stopped"));
            CU_ASSERT(row_has(row, "True (Valid)"));
            CU_ASSERT(row_has(row, "fresh"));
            CU_ASSERT(row_has(row, "$0.0123"));
        }
        row = row_of(r.out, "share");
        CU_ASSERT_PTR_NOT_NULL(row);
        if (row) {
            CU_ASSERT(row_has(row, "False (NodePoolNotFound)"));
            CU_ASSERT(row_has(row, "3 stale"));
        }
        /* The message of a pool that is not Ready names the field. */
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "share: not ready: spec.nodePoolRef.name"));
        tests_stoker_run_cleanup(&r);
    }
    {
        const char *a[] = {"status", "web", NULL};
        run(&r, a, 1);
        report(&r, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_PTR_NOT_NULL(row_of(r.out, "web"));
        CU_ASSERT_PTR_NULL(row_of(r.out, "share"));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "web: last decision: launch 1 (refill)"));
        tests_stoker_run_cleanup(&r);
    }
    {
        const char *a[] = {"status", "nope", NULL};
        run(&r, a, 1);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "warmpool nope not found"));
        tests_stoker_run_cleanup(&r);
    }
}

static void check_size(const char *pool, json_int_t min, json_int_t max)
{
    json_t *j = get_pool(pool);
    json_t *spec = json_object_get(j, "spec");

    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(spec, "size"), "min")),
                    min);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(spec, "size"), "max")),
                    max);
    CU_ASSERT_PTR_NULL(json_object_get(spec, "target"));
    json_decref(j);
}

static void test_scale(void)
{
    struct tests_stoker_run r;

    CU_ASSERT_FATAL(sim_ok);
    {
        /* max 5 is kept: it is at least the new min. */
        const char *a[] = {"scale", "web", "--min", "3", NULL};
        run(&r, a, 1);
        report(&r, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "min=3 max=5"));
        tests_stoker_run_cleanup(&r);
        check_size("web", 3, 5);
    }
    {
        /* max follows a min above it. */
        const char *a[] = {"scale", "web", "--min", "7", NULL};
        run(&r, a, 1);
        report(&r, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        tests_stoker_run_cleanup(&r);
        check_size("web", 7, 7);
    }
    {
        const char *a[] = {"scale", "web", "--min=1", "--max=4", NULL};
        run(&r, a, 1);
        report(&r, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        tests_stoker_run_cleanup(&r);
        check_size("web", 1, 4);
    }
    {
        /* A pool sized by target switches to size. */
        const char *a[] = {"scale", "share", "--min", "2", NULL};
        run(&r, a, 1);
        report(&r, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "was sized by target"));
        tests_stoker_run_cleanup(&r);
        check_size("share", 2, 2);
    }
    {
        const char *a[] = {"scale", "nope", "--min", "2", NULL};
        run(&r, a, 1);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "warmpool nope not found"));
        tests_stoker_run_cleanup(&r);
    }
}

/* The schedule of that name in the pool as stored (borrowed from *holder), or NULL. */
static json_t *find_schedule(json_t **holder, const char *pool, const char *name)
{
    json_t *s;
    size_t i;

    *holder = get_pool(pool);
    json_array_foreach(json_object_get(json_object_get(*holder, "spec"), "schedules"), i, s) {
        if (strcmp(json_string_value(json_object_get(s, "name")), name) == 0)
            return s;
    }
    return NULL;
}

static void test_schedule_and_cancel(void)
{
    struct tests_stoker_run r;
    json_t *holder, *s;

    CU_ASSERT_FATAL(sim_ok);
    {
        const char *a[] = {"schedule", "web", "--at", "+1h", "--for", "30m", "--min", "10",
                           "--max", "12", "--name", "flash", NULL};
        run(&r, a, 1);
        report(&r, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "schedule flash added"));
        tests_stoker_run_cleanup(&r);
        s = find_schedule(&holder, "web", "flash");
        CU_ASSERT_PTR_NOT_NULL(s);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(s, "size"), "min")),
                        10);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(s, "size"), "max")),
                        12);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(s, "duration")), "30m");
        /* The schedule that was there is kept. */
        CU_ASSERT_EQUAL(json_array_size(json_object_get(json_object_get(holder, "spec"),
                                                        "schedules")), 2);
        json_decref(holder);
    }
    {
        /* Overlaps flash: refused, naming it; nothing written. */
        const char *a[] = {"schedule", "web", "--at", "+70m", "--for", "1h", "--min", "5",
                           "--name", "other", NULL};
        run(&r, a, 1);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "overlaps schedule flash"));
        tests_stoker_run_cleanup(&r);
        CU_ASSERT_PTR_NULL(find_schedule(&holder, "web", "other"));
        json_decref(holder);
    }
    {
        const char *a[] = {"schedule", "web", "--at", "2031-01-01T00:00:00Z", "--for", "1h",
                           "--min", "5", "--name", "flash", NULL};
        run(&r, a, 1);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "already has a schedule named flash"));
        tests_stoker_run_cleanup(&r);
    }
    {
        /* Default name from the start in UTC; an offset is converted. */
        const char *a[] = {"schedule", "web", "--at", "2031-01-01T01:00:00+01:00", "--for",
                           "1h", "--min", "3", NULL};
        run(&r, a, 1);
        report(&r, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        tests_stoker_run_cleanup(&r);
        s = find_schedule(&holder, "web", "manual-20310101T0000");
        CU_ASSERT_PTR_NOT_NULL(s);
        if (s)
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(s, "start")),
                                   "2031-01-01T00:00:00Z");
        json_decref(holder);
    }
    {
        const char *a[] = {"cancel", "web", "--name", "flash", NULL};
        run(&r, a, 1);
        report(&r, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        tests_stoker_run_cleanup(&r);
        CU_ASSERT_PTR_NULL(find_schedule(&holder, "web", "flash"));
        CU_ASSERT_EQUAL(json_array_size(json_object_get(json_object_get(holder, "spec"),
                                                        "schedules")), 2);
        json_decref(holder);
    }
    {
        const char *a[] = {"cancel", "web", "--name", "flash", NULL};
        run(&r, a, 1);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "no schedule named flash"));
        tests_stoker_run_cleanup(&r);
    }
    {
        /* Now that flash is gone, the window that overlapped it fits. */
        const char *a[] = {"schedule", "web", "--at", "+70m", "--for", "1h", "--min", "5",
                           "--name", "other", NULL};
        run(&r, a, 1);
        report(&r, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        tests_stoker_run_cleanup(&r);
    }
}

/* The advice of a run (json_decref), or NULL after a failed assertion. */
static json_t *advice_of(const struct tests_stoker_run *r)
{
    json_error_t je;
    json_t *j = json_loads(r->out, 0, &je);

    CU_ASSERT_PTR_NOT_NULL(j);
    if (!j)
        fprintf(stderr, "\n  not JSON: %s\n%s\n", je.text, r->out);
    return j;
}

static json_int_t rec_int(const json_t *adv, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(adv, "recommendation"), key));
}

static void test_advise(void)
{
    struct tests_stoker_run r;
    json_t *j;

    {
        /* Cold takes 37 s: only warm instances make 20 s, for every pod. */
        const char *a[] = {"advise", "--pods", "1500", "--cpu", "1", "--memory", "2Gi",
                           "--deadline", "20s", "-o", "json", NULL};
        run(&r, a, 0);
        report(&r, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        j = advice_of(&r);
        CU_ASSERT(rec_int(j, "warm") > 0);
        CU_ASSERT(rec_int(j, "warm") * rec_int(j, "podsPerNode") >= 1500);
        CU_ASSERT(json_is_true(json_object_get(json_object_get(j, "recommendation"),
                                               "meetsDeadline")));
        CU_ASSERT(json_array_size(json_object_get(j, "bootModel")) > 0);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(json_object_get(
                            j, "warmPoolSpec"), "size"), "min")), rec_int(j, "warm"));
        json_decref(j);
        tests_stoker_run_cleanup(&r);
    }
    {
        /* Ten minutes: EC2 launches enough cold. */
        const char *a[] = {"advise", "--pods", "1500", "--cpu", "1", "--memory", "2Gi",
                           "--deadline", "10m", "--output=json", NULL};
        run(&r, a, 0);
        report(&r, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        j = advice_of(&r);
        CU_ASSERT_EQUAL(rec_int(j, "warm"), 0);
        CU_ASSERT(json_is_true(json_object_get(json_object_get(j, "recommendation"),
                                               "meetsDeadline")));
        json_decref(j);
        tests_stoker_run_cleanup(&r);
    }
    {
        /* The table: the model, the launch limit, the rows, the spec to apply. */
        const char *a[] = {"advise", "--pods", "100", "--cpu", "500m", "--memory", "1Gi",
                           "--deadline", "20s", "--types", "c6i.xlarge,m6i.large", NULL};
        run(&r, a, 0);
        report(&r, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "join_cold"));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "launch bucket"));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "PODS/NODE"));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "recommendation: hold"));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "kind: WarmPool"));
        CU_ASSERT(strstr(r.out, "instanceTypes: [c6i.xlarge]") ||
                  strstr(r.out, "instanceTypes: [m6i.large]"));
        tests_stoker_run_cleanup(&r);
    }
    CU_ASSERT_FATAL(sim_ok);
    {
        /* From the cluster: the pool's NodePool allows c and m only. */
        const char *a[] = {"advise", "--pods", "200", "--cpu", "1", "--memory", "2Gi",
                           "--deadline", "20s", "--pool", "web", "-o", "json", NULL};
        const char *type;
        run(&r, a, 1);
        report(&r, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        j = advice_of(&r);
        type = json_string_value(json_object_get(json_object_get(j, "recommendation"),
                                                 "instanceType"));
        CU_ASSERT(type && (type[0] == 'c' || type[0] == 'm'));
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(
                                   json_object_get(j, "warmPoolSpec"), "nodePoolRef"), "name")),
                               "general");
        CU_ASSERT(rec_int(j, "warm") * rec_int(j, "podsPerNode") >= 200);
        json_decref(j);
        tests_stoker_run_cleanup(&r);
    }
    {
        const char *a[] = {"advise", "--pods", "10", "--cpu", "1", "--memory", "2Gi", "--pool",
                           "nope", NULL};
        run(&r, a, 1);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "warmpool nope not found"));
        tests_stoker_run_cleanup(&r);
    }
}

/* The function the simulator's runner calls, with the command's defaults. */
static void test_advise_json_function(void)
{
    struct prewarm_advise_input in;
    struct core_err err;
    json_t *j = NULL;

    memset(&in, 0, sizeof in);
    in.pods = 1500;
    in.cpu_milli = 1000;
    in.memory_bytes = (int64_t)2 << 30;
    in.deadline = 20 * CORE_NS_PER_S;
    CU_ASSERT_EQUAL_FATAL(cli_prewarm_advise_json(&in, &j, &err), 0);
    CU_ASSERT(rec_int(j, "warm") * rec_int(j, "podsPerNode") >= 1500);
    CU_ASSERT(json_real_value(json_object_get(json_object_get(j, "timing"),
                                              "coldReadySeconds")) > 20.0);
    json_decref(j);
    in.deadline = 600 * CORE_NS_PER_S;
    CU_ASSERT_EQUAL_FATAL(cli_prewarm_advise_json(&in, &j, &err), 0);
    CU_ASSERT_EQUAL(rec_int(j, "warm"), 0);
    json_decref(j);
    in.pods = 0;
    CU_ASSERT_EQUAL(cli_prewarm_advise_json(&in, &j, &err), CORE_E_INVAL);
}

static void expect_usage(const char *const *args, const char *flag)
{
    struct tests_stoker_run r;

    run(&r, args, 0);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, flag));
    if (r.status != 2 || !strstr(r.err, flag))
        fprintf(stderr, "\n  want exit 2 naming %s: exit %d: %s\n", flag, r.status, r.err);
    tests_stoker_run_cleanup(&r);
}

static void test_bad_inputs(void)
{
    {
        const char *a[] = {"advise", "--pods", "-1", "--cpu", "1", "--memory", "2Gi", NULL};
        expect_usage(a, "--pods");
    }
    {
        const char *a[] = {"advise", "--pods", "10", "--cpu", "x", "--memory", "2Gi", NULL};
        expect_usage(a, "--cpu");
    }
    {
        const char *a[] = {"advise", "--pods", "10", "--cpu", "1", "--memory", "-2Gi", NULL};
        expect_usage(a, "--memory");
    }
    {
        const char *a[] = {"advise", "--pods", "10", "--cpu", "1", "--memory", "2Gi",
                           "--deadline", "5x", NULL};
        expect_usage(a, "--deadline");
    }
    {
        const char *a[] = {"advise", "--pods", "10", "--cpu", "1", "--memory", "2Gi",
                           "--types", "m9.huge", NULL};
        expect_usage(a, "--types");
    }
    {
        const char *a[] = {"advise", "--cpu", "1", "--memory", "2Gi", NULL};
        expect_usage(a, "--pods");
    }
    {
        const char *a[] = {"scale", "web", "--min", "5", "--max", "3", NULL};
        expect_usage(a, "--max");
    }
    {
        const char *a[] = {"scale", "web", "--min", "lots", NULL};
        expect_usage(a, "--min");
    }
    {
        const char *a[] = {"scale", "--min", "5", NULL};
        expect_usage(a, "POOL");
    }
    {
        const char *a[] = {"schedule", "web", "--at", "tomorrow", "--for", "1h", "--min", "5",
                           NULL};
        expect_usage(a, "--at");
    }
    {
        const char *a[] = {"schedule", "web", "--at", "2031-01-01T00:00:00", "--for", "1h",
                           "--min", "5", NULL};
        expect_usage(a, "--at"); /* no offset */
    }
    {
        const char *a[] = {"schedule", "web", "--at", "now", "--for", "-1h", "--min", "5",
                           NULL};
        expect_usage(a, "--for");
    }
    {
        const char *a[] = {"schedule", "web", "--at", "now", "--for", "1h", "--min", "5",
                           "--name", "has space", NULL};
        expect_usage(a, "--name");
    }
    {
        const char *a[] = {"cancel", "web", NULL};
        expect_usage(a, "--name");
    }
    {
        const char *a[] = {"status", "--bogus", NULL};
        expect_usage(a, "--bogus");
    }
}

/* A listening socket that is never accepted from: the kernel completes the connections and
 * takes the requests, and no answer ever comes. Its port in *port; the descriptor, or -1. */
static int silent_server(unsigned *port)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

static void test_unanswered_request(void)
{
    char kube[192], doc[512], asan[TESTS_SIM_ENV_LEN], wait1[] = "STOKER_PREWARM_WAIT_S=1",
                                                       wait0[] = "STOKER_PREWARM_WAIT_S=0";
    char *envp[TESTS_SIM_MAX_ENV + 3];
    const char *prev = getenv("ASAN_OPTIONS");
    struct tests_stoker_run r;
    unsigned port = 0;
    size_t n = 0;
    FILE *f;
    int fd;

    CU_ASSERT_FATAL(sim_ok);
    fd = silent_server(&port);
    CU_ASSERT_FATAL(fd >= 0);
    snprintf(kube, sizeof kube, "%s/silent-kubeconfig", sim.dir);
    snprintf(doc, sizeof doc,
             "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
             "    server: http://127.0.0.1:%u\ncontexts:\n- name: c\n  context: {cluster: c, "
             "user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: abc}\n",
             port);
    f = fopen(kube, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT(fputs(doc, f) >= 0);
    CU_ASSERT_EQUAL(fclose(f), 0);
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sdetect_stack_use_after_return=1",
             prev ? prev : "", prev && *prev ? ":" : "");
    for (; sim.envp[n] && n < TESTS_SIM_MAX_ENV; n++)
        envp[n] = sim.envp[n];
    envp[n++] = asan;
    envp[n++] = wait1;
    envp[n] = NULL;

    {
        const char *a[] = {"prewarm", "status", "web", "--kubeconfig", kube, NULL};
        double t0 = tests_now();
        tests_stoker_run(&r, a, envp, sim.dir, RUN_TIMEOUT_S);
        report(&r, 1);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "no answer in time"));
        CU_ASSERT_PTR_NULL(strstr(r.err, "Sanitizer"));
        CU_ASSERT(tests_now() - t0 < 15); /* the request's own 20 s timeout did not decide */
        tests_stoker_run_cleanup(&r);
    }
    {
        /* scale reads, then would write: it stops after the read. */
        const char *a[] = {"prewarm", "scale", "web", "--min", "3", "--kubeconfig", kube, NULL};
        tests_stoker_run(&r, a, envp, sim.dir, RUN_TIMEOUT_S);
        report(&r, 1);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "no answer in time"));
        CU_ASSERT_PTR_NULL(strstr(r.err, "Sanitizer"));
        tests_stoker_run_cleanup(&r);
    }
    {
        const char *a[] = {"prewarm", "status", "--kubeconfig", kube, NULL};
        envp[n - 1] = wait0;
        tests_stoker_run(&r, a, envp, sim.dir, RUN_TIMEOUT_S);
        report(&r, 2);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "STOKER_PREWARM_WAIT_S"));
        tests_stoker_run_cleanup(&r);
    }
    close(fd);
}

TESTS_SUITE(cli_prewarm, "cli_prewarm", suite_init, suite_cleanup, TESTS_CASE(test_help),
            TESTS_CASE(test_status), TESTS_CASE(test_scale),
            TESTS_CASE(test_schedule_and_cancel), TESTS_CASE(test_advise),
            TESTS_CASE(test_advise_json_function), TESTS_CASE(test_bad_inputs),
            TESTS_CASE(test_unanswered_request))
