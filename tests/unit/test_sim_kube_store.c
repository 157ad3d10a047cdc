/*
 * tests/unit/test_sim_kube_store.c — the emulated Kubernetes API's object store on a
 * virtual-clock loop: built-in resources and namespaces, every verb's success and error
 * statuses and reasons, metadata defaults (uid, resourceVersion, generation, generateName),
 * status subresource semantics, pod spec immutability, binding and eviction (with and without
 * a PodDisruptionBudget), finalizers, namespace deletion, owner-reference garbage collection
 * (background and Orphan), the patch verbs through the store (merge, JSON, strategic, apply),
 * list paging and selectors, the watch history (window, floor) and in-process watches
 * delivered from the loop.
 */
#include "tests/unit/harness.h"

#include "core/core.h"
#include "sim/kube_internal.h"
#include "sim/sim.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define WALL_START (INT64_C(1790000000) * CORE_NS_PER_S)
#define ASSERT_STR(actual, expected)                                                          \
    do {                                                                                      \
        const char *as_ = (actual);                                                           \
        CU_ASSERT(as_ != NULL && strcmp(as_, (expected)) == 0);                               \
        if (!as_ || strcmp(as_, (expected)) != 0)                                             \
            fprintf(stderr, "\n  line %d: got \"%s\", want \"%s\"\n", __LINE__,              \
                    as_ ? as_ : "(null)", (expected));                                        \
    } while (0)

struct fx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct sim_kube *k;
};

static void fx_setup_opts(struct fx *f, const struct sim_kube_opts *o)
{
    struct core_err err;
    memset(f, 0, sizeof *f);
    f->clock = core_clock_virtual_new(0, WALL_START);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(f->clock, NULL, &f->loop, NULL), 0);
    if (sim_kube_new(f->loop, o, &f->k, &err) != 0)
        fprintf(stderr, "\n  sim_kube_new: %s\n", err.message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->k);
}

static void fx_setup(struct fx *f)
{
    struct sim_kube_opts o;
    sim_kube_opts_default(&o);
    o.seed = 7;
    fx_setup_opts(f, &o);
}

/* Runs the loop until nothing is due (deliveries and GC passes). */
static void pump(struct fx *f)
{
    for (int i = 0; i < 100 && core_loop_timer_count(f->loop) > 0; i++)
        CU_ASSERT(core_loop_run_once(f->loop, 0, NULL) >= 0);
}

static void fx_teardown(struct fx *f)
{
    sim_kube_free(f->k);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fprintf(stderr, "\n  bad test JSON: %s: %s\n", text, e.text);
    return v;
}

static const char *mstr(const json_t *o, const char *f)
{
    return json_string_value(json_object_get(json_object_get(o, "metadata"), f));
}

static json_int_t mint(const json_t *o, const char *f)
{
    return json_integer_value(json_object_get(json_object_get(o, "metadata"), f));
}

static uint64_t rv_of(const json_t *o)
{
    int64_t v = 0;
    const char *s = mstr(o, "resourceVersion");
    if (!s || core_parse_i64(s, 0, INT64_MAX, &v) != 0)
        return 0;
    return (uint64_t)v;
}

/* Creates from JSON text; returns the stored object (new reference) or NULL. */
static json_t *mk(struct fx *f, const char *res, const char *ns, const char *text)
{
    json_t *o = J(text), *out = NULL;
    struct core_err err;
    if (sim_kube_create(f->k, res, ns, o, &out, &err) != 0)
        fprintf(stderr, "\n  create %s: %s\n", text, err.message);
    json_decref(o);
    return out;
}

static json_t *pod_json(const char *name, const char *labels, int ready)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"%s\",\"labels\":%s},"
             "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1\"}]},"
             "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\","
             "\"status\":\"%s\"}]}}",
             name, labels, ready ? "True" : "False");
    return J(buf);
}

/* ------------------------------------------------------------------------------------------ */

static void test_builtins_and_namespaces(void)
{
    struct fx f;
    json_t *o = NULL, *items = NULL;
    struct sim_kres *r;

    fx_setup(&f);
    r = sim_kube_res_by_key(f.k, "pods");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT(r->namespaced && r->has_status);
    ASSERT_STR(r->short_names[0], "po");
    ASSERT_STR(r->list_kind, "PodList");
    r = sim_kube_res_find(f.k, "policy", "v1", "poddisruptionbudgets");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    ASSERT_STR(r->short_names[0], "pdb");
    ASSERT_STR(r->key, "poddisruptionbudgets.policy");
    r = sim_kube_res_find(f.k, "", "v1", "nodes");
    CU_ASSERT(r && !r->namespaced && r->has_status);
    r = sim_kube_res_find(f.k, "storage.k8s.io", "v1", "storageclasses");
    CU_ASSERT(r && !r->namespaced && !r->has_status);
    CU_ASSERT_PTR_NOT_NULL(sim_kube_res_find(f.k, "apps", "v1", "daemonsets"));
    CU_ASSERT_PTR_NOT_NULL(sim_kube_res_find(f.k, "coordination.k8s.io", "v1", "leases"));
    CU_ASSERT_PTR_NOT_NULL(sim_kube_res_find(f.k, "events.k8s.io", "v1", "events"));
    CU_ASSERT_PTR_NOT_NULL(sim_kube_res_find(f.k, "", "v1", "events"));
    CU_ASSERT_PTR_NULL(sim_kube_res_find(f.k, "", "v2", "pods"));

    CU_ASSERT_EQUAL(sim_kube_get(f.k, "namespaces", NULL, "kube-node-lease", &o, NULL), 0);
    ASSERT_STR(json_string_value(json_object_get(json_object_get(o, "status"), "phase")),
               "Active");
    json_decref(o);
    CU_ASSERT_EQUAL(sim_kube_list(f.k, "namespaces", NULL, NULL, NULL, &items, NULL), 0);
    CU_ASSERT_EQUAL(json_array_size(items), 4);
    /* Key order: names sorted. */
    ASSERT_STR(mstr(json_array_get(items, 0), "name"), "default");
    ASSERT_STR(mstr(json_array_get(items, 3), "name"), "kube-system");
    json_decref(items);
    CU_ASSERT_EQUAL(sim_kube_resource_version(f.k), 4);
    ASSERT_STR(sim_kev_name(SIM_KEV_DELETED), "DELETED");
    fx_teardown(&f);
}

static void test_create_defaults_and_errors(void)
{
    struct fx f;
    json_t *a, *b, *o, *out = NULL;
    struct core_err err;
    const char *uid;
    char key[64];

    fx_setup(&f);
    a = mk(&f, "pods", "default", "{\"metadata\":{\"name\":\"a\"},\"spec\":{}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    ASSERT_STR(json_string_value(json_object_get(a, "apiVersion")), "v1");
    ASSERT_STR(json_string_value(json_object_get(a, "kind")), "Pod");
    ASSERT_STR(mstr(a, "namespace"), "default");
    core_time_rfc3339(WALL_START, key, sizeof key);
    ASSERT_STR(mstr(a, "creationTimestamp"), key);
    CU_ASSERT_EQUAL(mint(a, "generation"), 1);
    CU_ASSERT_EQUAL(rv_of(a), 5);
    uid = mstr(a, "uid");
    CU_ASSERT(uid && strlen(uid) == 36 && uid[8] == '-' && uid[14] == '4');
    b = mk(&f, "pods", "default", "{\"metadata\":{\"name\":\"b\"}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT(rv_of(b) > rv_of(a));
    CU_ASSERT(strcmp(mstr(b, "uid"), uid) != 0);

    /* AlreadyExists */
    o = J("{\"metadata\":{\"name\":\"a\"}}");
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "pods", "default", o, NULL, &err), CORE_E_CONFLICT);
    CU_ASSERT_EQUAL(err.http_status, 409);
    ASSERT_STR(err.service_code, "AlreadyExists");
    ASSERT_STR(err.message, "pods \"a\" already exists");
    /* Missing namespace */
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "pods", "nope", o, NULL, &err), CORE_E_NOTFOUND);
    CU_ASSERT_EQUAL(err.http_status, 404);
    ASSERT_STR(err.message, "namespaces \"nope\" not found");
    /* Namespaced resource without a namespace */
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "pods", NULL, o, NULL, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(err.http_status, 400);
    json_decref(o);
    /* Bad names */
    o = J("{\"metadata\":{\"name\":\"Bad_Name\"}}");
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "pods", "default", o, NULL, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(err.http_status, 422);
    ASSERT_STR(err.service_code, "Invalid");
    CU_ASSERT(strstr(err.message, "Pod \"Bad_Name\" is invalid: metadata.name") != NULL);
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "nodes", NULL, o, NULL, &err), CORE_E_INVAL);
    json_decref(o);
    o = J("{\"metadata\":{\"name\":\"has.dot\"}}");
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "namespaces", NULL, o, NULL, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "nodes", NULL, o, NULL, NULL), 0);
    json_decref(o);
    o = J("{\"metadata\":{}}");
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "pods", "default", o, NULL, &err), CORE_E_INVAL);
    CU_ASSERT(strstr(err.message, "name or generateName is required") != NULL);
    json_decref(o);
    /* Kind mismatch */
    o = J("{\"kind\":\"Node\",\"metadata\":{\"name\":\"x\"}}");
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "pods", "default", o, NULL, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(err.http_status, 400);
    ASSERT_STR(err.service_code, "BadRequest");
    json_decref(o);
    /* Namespace mismatch */
    o = J("{\"metadata\":{\"name\":\"x\",\"namespace\":\"kube-system\"}}");
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "pods", "default", o, NULL, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(err.http_status, 400);
    json_decref(o);
    /* Unknown resource */
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "frobs", NULL, "x", NULL, &err), CORE_E_NOTFOUND);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "pods", "default", "zzz", NULL, &err), CORE_E_NOTFOUND);
    ASSERT_STR(err.message, "pods \"zzz\" not found");
    ASSERT_STR(err.service_code, "NotFound");

    /* generateName: prefix + 5 characters; deterministic for a seed. */
    o = J("{\"metadata\":{\"generateName\":\"web-\"}}");
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "pods", "default", o, &out, &err), 0);
    CU_ASSERT(out && strncmp(mstr(out, "name"), "web-", 4) == 0 &&
              strlen(mstr(out, "name")) == 9);
    snprintf(key, sizeof key, "%s", out ? mstr(out, "name") : "");
    json_decref(out);
    out = NULL;
    json_decref(o);
    fx_teardown(&f);
    fx_setup(&f);
    o = J("{\"metadata\":{\"generateName\":\"web-\"}}");
    json_decref(mk(&f, "pods", "default", "{\"metadata\":{\"name\":\"a\"},\"spec\":{}}"));
    json_decref(mk(&f, "pods", "default", "{\"metadata\":{\"name\":\"b\"}}"));
    json_decref(mk(&f, "nodes", NULL, "{\"metadata\":{\"name\":\"has.dot\"}}"));
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "pods", "default", o, &out, &err), 0);
    CU_ASSERT(out && strcmp(mstr(out, "name"), key) == 0);
    json_decref(out);
    json_decref(o);
    json_decref(a);
    json_decref(b);
    fx_teardown(&f);
}

static void test_create_status_dropped_over_api(void)
{
    struct fx f;
    struct sim_kres *r;
    json_t *o, *out = NULL;

    fx_setup(&f);
    r = sim_kube_res_by_key(f.k, "nodes");
    o = J("{\"metadata\":{\"name\":\"n1\"},\"status\":{\"phase\":\"X\"}}");
    CU_ASSERT_EQUAL(sim_kube_store_create(f.k, r, NULL, o, 0, 0, &out, NULL), 0);
    CU_ASSERT_PTR_NULL(json_object_get(out, "status"));
    json_decref(out);
    out = NULL;
    /* In-process creates keep it (the simulated cluster seeds status). */
    json_object_set_new(json_object_get(o, "metadata"), "name", json_string("n2"));
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "nodes", NULL, o, &out, NULL), 0);
    ASSERT_STR(json_string_value(json_object_get(json_object_get(out, "status"), "phase")), "X");
    json_decref(out);
    out = NULL;
    /* A dry run stores nothing and uses no resourceVersion. */
    json_object_set_new(json_object_get(o, "metadata"), "name", json_string("n3"));
    CU_ASSERT_EQUAL(sim_kube_store_create(f.k, r, NULL, o, 0, 1, &out, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(out);
    json_decref(out);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "nodes", NULL, "n3", NULL, NULL), CORE_E_NOTFOUND);
    CU_ASSERT_EQUAL(sim_kube_resource_version(f.k), 6);
    json_decref(o);
    fx_teardown(&f);
}

static void test_update_semantics(void)
{
    struct fx f;
    json_t *a, *u, *out = NULL, *stale;
    struct core_err err;
    uint64_t rv;

    fx_setup(&f);
    a = mk(&f, "daemonsets.apps", "default",
           "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"x\":1},\"status\":{\"n\":1}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    stale = json_deep_copy(a);

    /* Label change: new resourceVersion, same generation. */
    u = json_deep_copy(a);
    json_object_set_new(json_object_get(u, "metadata"), "labels", json_pack("{s:s}", "k", "v"));
    CU_ASSERT_EQUAL(sim_kube_update(f.k, "daemonsets.apps", "default", u, 0, &out, &err), 0);
    CU_ASSERT(rv_of(out) > rv_of(a));
    CU_ASSERT_EQUAL(mint(out, "generation"), 1);
    json_decref(u);
    /* Spec change bumps generation; status in a main write is ignored. */
    u = json_deep_copy(out);
    json_decref(out);
    out = NULL;
    json_object_set_new(u, "spec", json_pack("{s:i}", "x", 2));
    json_object_set_new(u, "status", json_pack("{s:i}", "n", 99));
    CU_ASSERT_EQUAL(sim_kube_update(f.k, "daemonsets.apps", "default", u, 0, &out, &err), 0);
    CU_ASSERT_EQUAL(mint(out, "generation"), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(out, "status"), "n")), 1);
    ASSERT_STR(mstr(out, "uid"), mstr(a, "uid"));
    ASSERT_STR(mstr(out, "creationTimestamp"), mstr(a, "creationTimestamp"));
    json_decref(u);
    /* /status changes only status; generation stays. */
    u = json_deep_copy(out);
    json_decref(out);
    out = NULL;
    json_object_set_new(u, "spec", json_pack("{s:i}", "x", 3));
    json_object_set_new(u, "status", json_pack("{s:i}", "n", 5));
    CU_ASSERT_EQUAL(sim_kube_update(f.k, "daemonsets.apps", "default", u, 1, &out, &err), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(out, "spec"), "x")), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(out, "status"), "n")), 5);
    CU_ASSERT_EQUAL(mint(out, "generation"), 2);
    json_decref(u);
    /* A no-op update is not a write. */
    rv = sim_kube_resource_version(f.k);
    CU_ASSERT_EQUAL(sim_kube_update(f.k, "daemonsets.apps", "default", out, 0, NULL, &err), 0);
    CU_ASSERT_EQUAL(sim_kube_resource_version(f.k), rv);
    json_decref(out);
    out = NULL;

    /* Stale resourceVersion: 409 Conflict with kubectl's message. */
    CU_ASSERT_EQUAL(sim_kube_update(f.k, "daemonsets.apps", "default", stale, 0, NULL, &err),
                    CORE_E_CONFLICT);
    CU_ASSERT_EQUAL(err.http_status, 409);
    ASSERT_STR(err.service_code, "Conflict");
    ASSERT_STR(err.message, "Operation cannot be fulfilled on daemonsets.apps \"d\": the object "
                            "has been modified; please apply your changes to the latest version "
                            "and try again");
    /* No resourceVersion: unconditional. */
    json_object_del(json_object_get(stale, "metadata"), "resourceVersion");
    CU_ASSERT_EQUAL(sim_kube_update(f.k, "daemonsets.apps", "default", stale, 0, &out, &err), 0);
    CU_ASSERT_EQUAL(mint(out, "generation"), 3); /* spec went back to x: 1 */
    json_decref(out);
    /* Wrong uid: conflict. */
    json_object_set_new(json_object_get(stale, "metadata"), "uid", json_string("other"));
    CU_ASSERT_EQUAL(sim_kube_update(f.k, "daemonsets.apps", "default", stale, 0, NULL, &err),
                    CORE_E_CONFLICT);
    json_decref(stale);
    /* Update of a missing object does not create it. */
    u = J("{\"metadata\":{\"name\":\"ghost\"}}");
    CU_ASSERT_EQUAL(sim_kube_update(f.k, "daemonsets.apps", "default", u, 0, NULL, &err),
                    CORE_E_NOTFOUND);
    CU_ASSERT_EQUAL(err.http_status, 404);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "daemonsets.apps", "default", "ghost", NULL, NULL),
                    CORE_E_NOTFOUND);
    json_decref(u);
    /* Name on the URL differs from the body: 400. */
    u = J("{\"metadata\":{\"name\":\"other\"}}");
    CU_ASSERT_EQUAL(sim_kube_store_update(f.k, sim_kube_res_by_key(f.k, "daemonsets.apps"),
                                          "default", "d", u, NULL, 0, NULL, &err),
                    CORE_E_INVAL);
    CU_ASSERT_EQUAL(err.http_status, 400);
    /* Unknown subresource: 404; status subresource on a resource without one: 404. */
    CU_ASSERT_EQUAL(sim_kube_store_update(f.k, sim_kube_res_by_key(f.k, "daemonsets.apps"),
                                          "default", "d", u, "scale", 0, NULL, &err),
                    CORE_E_NOTFOUND);
    json_decref(u);
    json_decref(a);
    a = mk(&f, "leases.coordination.k8s.io", "default", "{\"metadata\":{\"name\":\"l\"}}");
    CU_ASSERT_EQUAL(sim_kube_update(f.k, "leases.coordination.k8s.io", "default", a, 1, NULL,
                                    &err),
                    CORE_E_NOTFOUND);
    json_decref(a);
    fx_teardown(&f);
}

static void test_pod_immutable_and_binding(void)
{
    struct fx f;
    json_t *p, *u, *out = NULL, *c;
    struct core_err err;

    fx_setup(&f);
    p = mk(&f, "pods", "default",
           "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\","
           "\"image\":\"a:1\"}]}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    /* Image may change. */
    u = J("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\","
          "\"image\":\"a:2\"}]}}");
    CU_ASSERT_EQUAL(sim_kube_update(f.k, "pods", "default", u, 0, NULL, &err), 0);
    json_decref(u);
    /* nodeName may not, except through binding. */
    u = J("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"n1\",\"containers\":"
          "[{\"name\":\"c\",\"image\":\"a:2\"}]}}");
    CU_ASSERT_EQUAL(sim_kube_update(f.k, "pods", "default", u, 0, NULL, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(err.http_status, 422);
    CU_ASSERT(strstr(err.message, "pod updates may not change fields") != NULL);
    json_decref(u);

    CU_ASSERT_EQUAL(sim_kube_store_bind(f.k, "default", "p", "n1", &err), 0);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "pods", "default", "p", &out, NULL), 0);
    ASSERT_STR(json_string_value(json_object_get(json_object_get(out, "spec"), "nodeName")),
               "n1");
    c = json_array_get(json_object_get(json_object_get(out, "status"), "conditions"), 0);
    ASSERT_STR(json_string_value(json_object_get(c, "type")), "PodScheduled");
    ASSERT_STR(json_string_value(json_object_get(c, "status")), "True");
    json_decref(out);
    /* Binding happens once. */
    CU_ASSERT_EQUAL(sim_kube_store_bind(f.k, "default", "p", "n2", &err), CORE_E_CONFLICT);
    CU_ASSERT_EQUAL(err.http_status, 409);
    CU_ASSERT(strstr(err.message, "already assigned to node \"n1\"") != NULL);
    CU_ASSERT_EQUAL(sim_kube_store_bind(f.k, "default", "nope", "n2", &err), CORE_E_NOTFOUND);
    json_decref(p);
    fx_teardown(&f);
}

static void test_eviction(void)
{
    struct fx f;
    json_t *o;
    struct core_err err;
    char name[16];

    fx_setup(&f);
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "w%d", i);
        o = pod_json(name, "{\"app\":\"web\"}", 1);
        CU_ASSERT_EQUAL(sim_kube_create(f.k, "pods", "default", o, NULL, NULL), 0);
        json_decref(o);
    }
    o = pod_json("lonely", "{\"app\":\"db\"}", 1);
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "pods", "default", o, NULL, NULL), 0);
    json_decref(o);
    /* No budget: evicted. */
    CU_ASSERT_EQUAL(sim_kube_store_evict(f.k, "default", "lonely", &err), 0);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "pods", "default", "lonely", NULL, NULL), CORE_E_NOTFOUND);
    CU_ASSERT_EQUAL(sim_kube_store_evict(f.k, "default", "lonely", &err), CORE_E_NOTFOUND);

    /* minAvailable 2 of 3 ready: one eviction allowed, the second refused. */
    json_decref(mk(&f, "poddisruptionbudgets.policy", "default",
                   "{\"metadata\":{\"name\":\"pdb\"},\"spec\":{\"minAvailable\":2,"
                   "\"selector\":{\"matchLabels\":{\"app\":\"web\"}}}}"));
    CU_ASSERT_EQUAL(sim_kube_store_evict(f.k, "default", "w0", &err), 0);
    CU_ASSERT_EQUAL(sim_kube_store_evict(f.k, "default", "w1", &err), CORE_E_THROTTLED);
    CU_ASSERT_EQUAL(err.http_status, 429);
    ASSERT_STR(err.service_code, "TooManyRequests");
    ASSERT_STR(err.message, "Cannot evict pod as it would violate the pod's disruption budget.");
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "pods", "default", "w1", NULL, NULL), 0);

    /* maxUnavailable 50% of the 3 expected pods (status.expectedPods; rounded up: 2) leaves
     * 1 desired: with 2 ready, one more eviction is allowed. */
    CU_ASSERT_EQUAL(sim_kube_delete(f.k, "poddisruptionbudgets.policy", "default", "pdb", NULL),
                    0);
    json_decref(mk(&f, "poddisruptionbudgets.policy", "default",
                   "{\"metadata\":{\"name\":\"pdb2\"},\"spec\":{\"maxUnavailable\":\"50%\","
                   "\"selector\":{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"In\","
                   "\"values\":[\"web\"]}]}},\"status\":{\"expectedPods\":3}}"));
    CU_ASSERT_EQUAL(sim_kube_store_evict(f.k, "default", "w1", &err), 0);
    CU_ASSERT_EQUAL(sim_kube_store_evict(f.k, "default", "w2", &err), CORE_E_THROTTLED);
    /* A pod that is not ready may go while the budget holds (1 healthy >= 1 desired). */
    o = pod_json("w3", "{\"app\":\"web\"}", 0);
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "pods", "default", o, NULL, NULL), 0);
    json_decref(o);
    CU_ASSERT_EQUAL(sim_kube_store_evict(f.k, "default", "w3", &err), 0);
    fx_teardown(&f);
}

struct rec {
    char log[4096];
    int n;
    int inside_write;
    struct sim_kube_watch *self;
    struct fx *f;
};

static void rec_cb(void *ud, const char *type, const json_t *obj)
{
    struct rec *r = ud;
    size_t len = strlen(r->log);
    CU_ASSERT_FALSE(r->inside_write);
    snprintf(r->log + len, sizeof r->log - len, "%s %s %s;", type, mstr(obj, "name"),
             mstr(obj, "resourceVersion"));
    r->n++;
}

static void test_finalizers_and_watch(void)
{
    struct fx f;
    struct rec rec;
    struct sim_kube_watch *w = NULL;
    json_t *o, *out = NULL;
    struct core_err err;

    fx_setup(&f);
    memset(&rec, 0, sizeof rec);
    CU_ASSERT_EQUAL_FATAL(sim_kube_watch(f.k, "nodes", rec_cb, &rec, &w, NULL), 0);
    rec.inside_write = 1;
    o = mk(&f, "nodes", NULL, "{\"metadata\":{\"name\":\"n\",\"finalizers\":[\"x/y\"]}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(sim_kube_delete(f.k, "nodes", NULL, "n", &err), 0);
    rec.inside_write = 0;
    CU_ASSERT_EQUAL(rec.n, 0); /* nothing inside the write */
    pump(&f);
    ASSERT_STR(rec.log, "ADDED n 5;MODIFIED n 6;");
    json_decref(o);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "nodes", NULL, "n", &o, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(mstr(o, "deletionTimestamp"));
    CU_ASSERT_EQUAL(mint(o, "deletionGracePeriodSeconds"), 0);
    /* Deleting again changes nothing. */
    CU_ASSERT_EQUAL(sim_kube_delete(f.k, "nodes", NULL, "n", &err), 0);
    CU_ASSERT_EQUAL(sim_kube_resource_version(f.k), 6);
    /* Adding a finalizer to a terminating object is refused. */
    json_array_append_new(json_object_get(json_object_get(o, "metadata"), "finalizers"),
                          json_string("new/one"));
    CU_ASSERT_EQUAL(sim_kube_update(f.k, "nodes", NULL, o, 0, NULL, &err), CORE_E_INVAL);
    CU_ASSERT(strstr(err.message, "no new finalizers") != NULL);
    /* Removing the last finalizer deletes it. */
    json_object_set_new(json_object_get(o, "metadata"), "finalizers", json_array());
    CU_ASSERT_EQUAL(sim_kube_update(f.k, "nodes", NULL, o, 0, &out, &err), 0);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "nodes", NULL, "n", NULL, NULL), CORE_E_NOTFOUND);
    CU_ASSERT_EQUAL(rv_of(out), 7);
    json_decref(out);
    json_decref(o);
    pump(&f);
    ASSERT_STR(rec.log, "ADDED n 5;MODIFIED n 6;DELETED n 7;");
    /* Other resources are not reported; after unwatch nothing is. */
    json_decref(mk(&f, "pods", "default", "{\"metadata\":{\"name\":\"p\"}}"));
    pump(&f);
    CU_ASSERT_EQUAL(rec.n, 3);
    sim_kube_unwatch(w);
    json_decref(mk(&f, "nodes", NULL, "{\"metadata\":{\"name\":\"n2\"}}"));
    pump(&f);
    CU_ASSERT_EQUAL(rec.n, 3);
    sim_kube_unwatch(NULL);
    fx_teardown(&f);
}

/* A callback that writes, unwatches itself and starts another watch. */
static void reentrant_cb(void *ud, const char *type, const json_t *obj)
{
    struct rec *r = ud;
    json_t *o;
    (void)type;
    r->n++;
    if (strcmp(mstr(obj, "name"), "first") == 0) {
        o = J("{\"metadata\":{\"name\":\"second\"}}");
        CU_ASSERT_EQUAL(sim_kube_create(r->f->k, "nodes", NULL, o, NULL, NULL), 0);
        json_decref(o);
        sim_kube_unwatch(r->self);
        r->self = NULL;
    }
}

static void test_watch_reentrancy(void)
{
    struct fx f;
    struct rec a, b;
    struct sim_kube_watch *wb = NULL;

    fx_setup(&f);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.f = &f;
    CU_ASSERT_EQUAL_FATAL(sim_kube_watch(f.k, "nodes", reentrant_cb, &a, &a.self, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(sim_kube_watch(f.k, "nodes", rec_cb, &b, &wb, NULL), 0);
    json_decref(mk(&f, "nodes", NULL, "{\"metadata\":{\"name\":\"first\"}}"));
    pump(&f);
    /* a saw only "first" (it unwatched itself); b saw both, in order, the second in a later
     * batch. */
    CU_ASSERT_EQUAL(a.n, 1);
    ASSERT_STR(b.log, "ADDED first 5;ADDED second 6;");
    sim_kube_unwatch(wb);
    fx_teardown(&f);
}

struct hrec {
    uint64_t rvs[64];
    int n;
};

static void hist_cb(void *ud, const struct sim_kevent *ev)
{
    struct hrec *h = ud;
    if (h->n < 64)
        h->rvs[h->n++] = ev->rv;
}

static void test_history_window_and_floor(void)
{
    struct fx f;
    struct sim_kube_opts o;
    struct hrec h;
    char buf[128];

    sim_kube_opts_default(&o);
    o.history_max = 6;
    o.history_window = 60 * CORE_NS_PER_S;
    fx_setup_opts(&f, &o);
    pump(&f); /* the four namespaces: rv 1..4 */
    for (int i = 0; i < 4; i++) {
        snprintf(buf, sizeof buf, "{\"metadata\":{\"name\":\"n%d\"}}", i);
        json_decref(mk(&f, "nodes", NULL, buf));
    }
    /* Not in the history before delivery. */
    memset(&h, 0, sizeof h);
    CU_ASSERT_EQUAL(sim_kube_history_since(f.k, NULL, 4, hist_cb, &h), 0);
    CU_ASSERT_EQUAL(h.n, 0);
    pump(&f);
    /* Kept: rv 3..8; resuming from 2 or later works, from 1 is too old. */
    memset(&h, 0, sizeof h);
    CU_ASSERT_EQUAL(sim_kube_history_since(f.k, NULL, 2, hist_cb, &h), 0);
    CU_ASSERT_EQUAL(h.n, 6);
    CU_ASSERT_EQUAL(h.rvs[0], 3);
    CU_ASSERT_EQUAL(h.rvs[5], 8);
    CU_ASSERT_EQUAL(sim_kube_history_since(f.k, NULL, 1, hist_cb, &h), CORE_E_STATE);
    memset(&h, 0, sizeof h);
    CU_ASSERT_EQUAL(sim_kube_history_since(f.k, sim_kube_res_by_key(f.k, "nodes"), 0 + 2,
                                           hist_cb, &h), 0);
    CU_ASSERT_EQUAL(h.n, 4);
    /* The window: after 61 s everything is too old except resuming from the newest. */
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, 61 * CORE_NS_PER_S), 0);
    CU_ASSERT_EQUAL(sim_kube_history_since(f.k, NULL, 7, hist_cb, &h), CORE_E_STATE);
    memset(&h, 0, sizeof h);
    CU_ASSERT_EQUAL(sim_kube_history_since(f.k, NULL, 8, hist_cb, &h), 0);
    CU_ASSERT_EQUAL(h.n, 0);
    fx_teardown(&f);
}

static void test_namespace_deletion(void)
{
    struct fx f;
    json_t *o = NULL;
    struct core_err err;

    fx_setup(&f);
    json_decref(mk(&f, "namespaces", NULL, "{\"metadata\":{\"name\":\"team\"}}"));
    json_decref(mk(&f, "pods", "team", "{\"metadata\":{\"name\":\"a\"}}"));
    json_decref(mk(&f, "services", "team", "{\"metadata\":{\"name\":\"s\"}}"));
    json_decref(mk(&f, "pods", "team", "{\"metadata\":{\"name\":\"held\",\"finalizers\":"
                                       "[\"x/y\"]}}"));
    json_decref(mk(&f, "pods", "default", "{\"metadata\":{\"name\":\"a\"}}"));
    CU_ASSERT_EQUAL(sim_kube_delete(f.k, "namespaces", NULL, "team", &err), 0);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "pods", "team", "a", NULL, NULL), CORE_E_NOTFOUND);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "services", "team", "s", NULL, NULL), CORE_E_NOTFOUND);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "pods", "default", "a", NULL, NULL), 0);
    /* The held pod keeps the namespace Terminating; creates there are Forbidden. */
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "namespaces", NULL, "team", &o, NULL), 0);
    ASSERT_STR(json_string_value(json_object_get(json_object_get(o, "status"), "phase")),
               "Terminating");
    json_decref(o);
    /* A second delete while content remains is refused, as the API server does, and does not
     * take the namespace away from under the held pod; nor does touching the namespace. */
    CU_ASSERT_EQUAL(sim_kube_delete(f.k, "namespaces", NULL, "team", &err), CORE_E_CONFLICT);
    CU_ASSERT_EQUAL(err.http_status, 409);
    o = J("{\"metadata\":{\"labels\":{\"touched\":\"yes\"}}}");
    CU_ASSERT_EQUAL(sim_kube_patch(f.k, "namespaces", NULL, "team", o, 0, NULL, &err), 0);
    json_decref(o);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "namespaces", NULL, "team", NULL, NULL), 0);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "pods", "team", "held", NULL, NULL), 0);
    o = J("{\"metadata\":{\"name\":\"late\"}}");
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "pods", "team", o, NULL, &err), CORE_E_STATE);
    CU_ASSERT_EQUAL(err.http_status, 403);
    ASSERT_STR(err.service_code, "Forbidden");
    CU_ASSERT(strstr(err.message, "because it is being terminated") != NULL);
    json_decref(o);
    /* Releasing the finalizer removes the pod, then the namespace. */
    o = J("{\"metadata\":{\"finalizers\":null}}");
    CU_ASSERT_EQUAL(sim_kube_patch(f.k, "pods", "team", "held", o, 0, NULL, &err), 0);
    json_decref(o);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "pods", "team", "held", NULL, NULL), CORE_E_NOTFOUND);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "namespaces", NULL, "team", NULL, NULL), CORE_E_NOTFOUND);
    /* An empty namespace goes at once. */
    json_decref(mk(&f, "namespaces", NULL, "{\"metadata\":{\"name\":\"empty\"}}"));
    CU_ASSERT_EQUAL(sim_kube_delete(f.k, "namespaces", NULL, "empty", &err), 0);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "namespaces", NULL, "empty", NULL, NULL),
                    CORE_E_NOTFOUND);
    pump(&f);
    fx_teardown(&f);
}

static json_t *owned(const char *name, const char *owner_uid)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"%.64s\",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\","
             "\"kind\":\"DaemonSet\",\"name\":\"rs\",\"uid\":\"%.40s\",\"controller\":true}]}}",
             name, owner_uid);
    return J(buf);
}

static void test_owner_gc(void)
{
    struct fx f;
    json_t *rs, *o, *grand = NULL, *p1 = NULL;
    struct sim_kres *dsr;
    struct core_err err;
    char buf[1024];

    fx_setup(&f);
    rs = mk(&f, "daemonsets.apps", "default", "{\"metadata\":{\"name\":\"rs\"}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    for (int i = 0; i < 2; i++) {
        snprintf(buf, sizeof buf, "p%d", i);
        o = owned(buf, mstr(rs, "uid"));
        CU_ASSERT_EQUAL(sim_kube_create(f.k, "pods", "default", o, i == 1 ? &p1 : NULL, NULL),
                        0);
        json_decref(o);
    }
    /* A grandchild owned by p1: deleted transitively. A pod with a second, live owner stays. */
    o = owned("grand", mstr(p1, "uid"));
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "pods", "default", o, &grand, NULL), 0);
    json_decref(o);
    json_decref(mk(&f, "daemonsets.apps", "default", "{\"metadata\":{\"name\":\"other\"}}"));
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "daemonsets.apps", "default", "other", &o, NULL), 0);
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"shared\",\"ownerReferences\":[{\"uid\":\"%.40s\","
             "\"kind\":\"DaemonSet\",\"name\":\"rs\",\"apiVersion\":\"apps/v1\"},{\"uid\":\"%.40s\","
             "\"kind\":\"DaemonSet\",\"name\":\"other\",\"apiVersion\":\"apps/v1\"}]}}",
             mstr(rs, "uid"), mstr(o, "uid"));
    json_decref(o);
    json_decref(mk(&f, "pods", "default", buf));

    CU_ASSERT_EQUAL(sim_kube_delete(f.k, "daemonsets.apps", "default", "rs", &err), 0);
    /* GC runs from the loop, not inside the delete. */
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "pods", "default", "p0", NULL, NULL), 0);
    pump(&f);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "pods", "default", "p0", NULL, NULL), CORE_E_NOTFOUND);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "pods", "default", "p1", NULL, NULL), CORE_E_NOTFOUND);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "pods", "default", "grand", NULL, NULL), CORE_E_NOTFOUND);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "pods", "default", "shared", NULL, NULL), 0);
    json_decref(grand);
    json_decref(p1);
    json_decref(rs);

    /* Orphan: dependents lose the reference and stay. */
    rs = mk(&f, "daemonsets.apps", "default", "{\"metadata\":{\"name\":\"rs\"}}");
    o = owned("kept", mstr(rs, "uid"));
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "pods", "default", o, NULL, NULL), 0);
    json_decref(o);
    dsr = sim_kube_res_by_key(f.k, "daemonsets.apps");
    CU_ASSERT_EQUAL(sim_kube_store_delete(f.k, dsr, "default", "rs", NULL, NULL, "Orphan", 0,
                                          NULL, &err), 0);
    pump(&f);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "pods", "default", "kept", &o, NULL), 0);
    CU_ASSERT_PTR_NULL(json_object_get(json_object_get(o, "metadata"), "ownerReferences"));
    json_decref(o);
    json_decref(rs);
    fx_teardown(&f);
}

static void test_delete_preconditions(void)
{
    struct fx f;
    struct sim_kres *r;
    json_t *o, *out = NULL;
    struct core_err err;

    fx_setup(&f);
    r = sim_kube_res_by_key(f.k, "nodes");
    o = mk(&f, "nodes", NULL, "{\"metadata\":{\"name\":\"n\"}}");
    CU_ASSERT_EQUAL(sim_kube_store_delete(f.k, r, NULL, "n", "wrong", NULL, NULL, 0, NULL, &err),
                    CORE_E_CONFLICT);
    CU_ASSERT(strstr(err.message, "Precondition failed: UID in precondition: wrong") != NULL);
    CU_ASSERT_EQUAL(sim_kube_store_delete(f.k, r, NULL, "n", NULL, "1", NULL, 0, NULL, &err),
                    CORE_E_CONFLICT);
    CU_ASSERT_EQUAL(sim_kube_store_delete(f.k, r, NULL, "n", NULL, NULL, "Sideways", 0, NULL,
                                          &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(err.http_status, 400);
    /* Dry run keeps it. */
    CU_ASSERT_EQUAL(sim_kube_store_delete(f.k, r, NULL, "n", NULL, NULL, NULL, 1, NULL, &err),
                    0);
    CU_ASSERT_EQUAL(sim_kube_get(f.k, "nodes", NULL, "n", NULL, NULL), 0);
    CU_ASSERT_EQUAL(sim_kube_store_delete(f.k, r, NULL, "n", mstr(o, "uid"),
                                          mstr(o, "resourceVersion"), NULL, 0, &out, &err), 0);
    CU_ASSERT(out && rv_of(out) == rv_of(o) + 1);
    CU_ASSERT_EQUAL(sim_kube_delete(f.k, "nodes", NULL, "n", &err), CORE_E_NOTFOUND);
    CU_ASSERT_EQUAL(err.http_status, 404);
    json_decref(out);
    json_decref(o);
    fx_teardown(&f);
}

static void test_list_paging_and_selectors(void)
{
    struct fx f;
    struct sim_kres *r;
    json_t *items = NULL;
    char *next = NULL, buf[256];
    struct sim_ksel ls;
    struct core_err err;
    size_t seen = 0;

    fx_setup(&f);
    json_decref(mk(&f, "namespaces", NULL, "{\"metadata\":{\"name\":\"a-team\"}}"));
    for (int i = 0; i < 5; i++) {
        json_t *o;
        snprintf(buf, sizeof buf, "p%d", 4 - i);
        o = pod_json(buf, i % 2 ? "{\"app\":\"web\"}" : "{\"app\":\"db\"}", 1);
        CU_ASSERT_EQUAL(sim_kube_create(f.k, "pods", "default", o, NULL, NULL), 0);
        json_decref(o);
    }
    json_decref(mk(&f, "pods", "a-team", "{\"metadata\":{\"name\":\"z\"}}"));
    r = sim_kube_res_by_key(f.k, "pods");
    /* All namespaces, by namespace then name ("a-team" < "default"), two per page. */
    CU_ASSERT_EQUAL(sim_kube_store_list(f.k, r, NULL, NULL, NULL, NULL, 2, &items, &next, &err),
                    0);
    CU_ASSERT_EQUAL(json_array_size(items), 2);
    ASSERT_STR(mstr(json_array_get(items, 0), "name"), "z");
    ASSERT_STR(mstr(json_array_get(items, 1), "name"), "p0");
    ASSERT_STR(next, "default/p0");
    seen += json_array_size(items);
    while (next) {
        char *from = next;
        json_decref(items);
        next = NULL;
        CU_ASSERT_EQUAL_FATAL(sim_kube_store_list(f.k, r, NULL, NULL, NULL, from, 2, &items,
                                                  &next, &err), 0);
        seen += json_array_size(items);
        core_free(from);
    }
    ASSERT_STR(mstr(json_array_get(items, 1), "name"), "p4");
    json_decref(items);
    CU_ASSERT_EQUAL(seen, 6);
    /* An exact page: no continue. */
    CU_ASSERT_EQUAL(sim_kube_store_list(f.k, r, "default", NULL, NULL, NULL, 5, &items, &next,
                                        &err), 0);
    CU_ASSERT_EQUAL(json_array_size(items), 5);
    CU_ASSERT_PTR_NULL(next);
    json_decref(items);
    /* Selectors. */
    CU_ASSERT_EQUAL(sim_kube_list(f.k, "pods", "default", "app=web", NULL, &items, &err), 0);
    CU_ASSERT_EQUAL(json_array_size(items), 2);
    json_decref(items);
    CU_ASSERT_EQUAL(sim_kube_list(f.k, "pods", NULL, NULL, "metadata.namespace=a-team", &items,
                                  &err), 0);
    CU_ASSERT_EQUAL(json_array_size(items), 1);
    json_decref(items);
    CU_ASSERT_EQUAL(sim_kube_list(f.k, "pods", NULL, "app in (web,db)", "metadata.name!=p1",
                                  &items, &err), 0);
    CU_ASSERT_EQUAL(json_array_size(items), 4);
    json_decref(items);
    CU_ASSERT_EQUAL(sim_kube_list(f.k, "pods", NULL, "app in (web", NULL, &items, &err),
                    CORE_E_INVAL);
    CU_ASSERT_EQUAL(err.http_status, 400);
    CU_ASSERT_EQUAL(sim_ksel_parse_labels("app=db", &ls, NULL), 0);
    CU_ASSERT_EQUAL(sim_kube_store_list(f.k, r, "default", &ls, NULL, "default/p0", 0, &items,
                                        NULL, &err), 0);
    CU_ASSERT_EQUAL(json_array_size(items), 2); /* p2, p4 */
    json_decref(items);
    sim_ksel_cleanup(&ls);
    fx_teardown(&f);
}

static int spatch(struct fx *f, const char *res, const char *ns, const char *name,
                  enum sim_kpatch t, const char *body, const char *sub, json_t **out,
                  struct core_err *err)
{
    return sim_kube_store_patch(f->k, sim_kube_res_by_key(f->k, res), ns, name, t, body,
                                strlen(body), sub, "test", 0, 0, out, err);
}

static void test_store_patch_verbs(void)
{
    struct fx f;
    json_t *out = NULL, *c;
    struct core_err err;
    struct sim_kres crd;

    fx_setup(&f);
    json_decref(mk(&f, "pods", "default",
                   "{\"metadata\":{\"name\":\"p\",\"labels\":{\"a\":\"1\"}},\"spec\":"
                   "{\"containers\":[{\"name\":\"c\",\"image\":\"x:1\"},{\"name\":\"d\","
                   "\"image\":\"y:1\"}]}}"));
    /* merge */
    CU_ASSERT_EQUAL(spatch(&f, "pods", "default", "p", SIM_KPATCH_MERGE,
                           "{\"metadata\":{\"labels\":{\"a\":null,\"b\":\"2\"}}}", NULL, &out,
                           &err), 0);
    CU_ASSERT_PTR_NULL(json_object_get(json_object_get(json_object_get(out, "metadata"),
                                                       "labels"), "a"));
    json_decref(out);
    out = NULL;
    /* strategic: container image by name, the other container kept */
    CU_ASSERT_EQUAL(spatch(&f, "pods", "default", "p", SIM_KPATCH_STRATEGIC,
                           "{\"spec\":{\"containers\":[{\"name\":\"d\",\"image\":\"y:2\"}]}}",
                           NULL, &out, &err), 0);
    c = json_object_get(json_object_get(out, "spec"), "containers");
    CU_ASSERT_EQUAL(json_array_size(c), 2);
    ASSERT_STR(json_string_value(json_object_get(json_array_get(c, 1), "image")), "y:2");
    json_decref(out);
    out = NULL;
    /* JSON patch with a test on the resourceVersion: stale → 422 test failed */
    CU_ASSERT_EQUAL(spatch(&f, "pods", "default", "p", SIM_KPATCH_JSON,
                           "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\","
                           "\"value\":\"1\"},{\"op\":\"add\",\"path\":\"/metadata/labels/c\","
                           "\"value\":\"3\"}]", NULL, &out, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(err.http_status, 422);
    CU_ASSERT(strstr(err.message, "test failed") != NULL);
    /* merge with a stale resourceVersion: conflict */
    CU_ASSERT_EQUAL(spatch(&f, "pods", "default", "p", SIM_KPATCH_MERGE,
                           "{\"metadata\":{\"resourceVersion\":\"2\"}}", NULL, &out, &err),
                    CORE_E_CONFLICT);
    /* status through /status */
    CU_ASSERT_EQUAL(spatch(&f, "pods", "default", "p", SIM_KPATCH_MERGE,
                           "{\"status\":{\"phase\":\"Running\"},\"metadata\":{\"labels\":"
                           "{\"ignored\":\"x\"}}}", "status", &out, &err), 0);
    ASSERT_STR(json_string_value(json_object_get(json_object_get(out, "status"), "phase")),
               "Running");
    CU_ASSERT_PTR_NULL(json_object_get(json_object_get(json_object_get(out, "metadata"),
                                                       "labels"), "ignored"));
    json_decref(out);
    out = NULL;
    /* status in a main patch is ignored */
    CU_ASSERT_EQUAL(spatch(&f, "pods", "default", "p", SIM_KPATCH_MERGE,
                           "{\"status\":{\"phase\":\"Failed\"}}", NULL, &out, &err), 0);
    ASSERT_STR(json_string_value(json_object_get(json_object_get(out, "status"), "phase")),
               "Running");
    json_decref(out);
    out = NULL;
    /* bad JSON: 400; missing object: 404 */
    CU_ASSERT_EQUAL(spatch(&f, "pods", "default", "p", SIM_KPATCH_MERGE, "{", NULL, &out, &err),
                    CORE_E_INVAL);
    CU_ASSERT_EQUAL(err.http_status, 400);
    CU_ASSERT_EQUAL(spatch(&f, "pods", "default", "q", SIM_KPATCH_MERGE, "{}", NULL, &out, &err),
                    CORE_E_NOTFOUND);
    /* apply: creates, then merges (YAML body) */
    CU_ASSERT_EQUAL(spatch(&f, "services", "default", "svc", SIM_KPATCH_APPLY,
                           "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n"
                           "  ports:\n  - port: 80\n", NULL, &out, &err), 0);
    CU_ASSERT_EQUAL(mint(out, "generation"), 1);
    json_decref(out);
    out = NULL;
    CU_ASSERT_EQUAL(spatch(&f, "services", "default", "svc", SIM_KPATCH_APPLY,
                           "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n"
                           "  ports:\n  - port: 80\n    targetPort: 8080\n  - port: 443\n",
                           NULL, &out, &err), 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_object_get(out, "spec"), "ports")), 2);
    CU_ASSERT_EQUAL(mint(out, "generation"), 2);
    json_decref(out);
    out = NULL;
    CU_ASSERT_EQUAL(spatch(&f, "services", "default", "svc", SIM_KPATCH_APPLY,
                           "metadata:\n  name: svc\n", NULL, &out, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(sim_kube_store_patch(f.k, sim_kube_res_by_key(f.k, "services"), "default",
                                         "svc", SIM_KPATCH_APPLY, "{}", 2, NULL, NULL, 0, 0,
                                         &out, &err), CORE_E_INVAL);
    CU_ASSERT(strstr(err.message, "fieldManager") != NULL);
    /* strategic merge is refused for custom resources: 415 */
    memset(&crd, 0, sizeof crd);
    core_strlcpy(crd.group, "stoker.dev", sizeof crd.group);
    core_strlcpy(crd.version, "v1alpha1", sizeof crd.version);
    core_strlcpy(crd.plural, "widgets", sizeof crd.plural);
    core_strlcpy(crd.kind, "Widget", sizeof crd.kind);
    core_strlcpy(crd.key, "widgets.stoker.dev", sizeof crd.key);
    crd.is_crd = 1;
    crd.has_status = 1;
    CU_ASSERT_EQUAL(sim_kube_register(f.k, &crd, NULL, &err), 0);
    CU_ASSERT_EQUAL(sim_kube_register(f.k, &crd, NULL, &err), CORE_E_CONFLICT);
    json_decref(mk(&f, "widgets.stoker.dev", NULL, "{\"metadata\":{\"name\":\"w\"}}"));
    CU_ASSERT_EQUAL(spatch(&f, "widgets.stoker.dev", NULL, "w", SIM_KPATCH_STRATEGIC, "{}", NULL,
                           &out, &err), CORE_E_UNSUPPORTED);
    CU_ASSERT_EQUAL(err.http_status, 415);
    CU_ASSERT_EQUAL(spatch(&f, "widgets.stoker.dev", NULL, "w", SIM_KPATCH_MERGE,
                           "{\"spec\":{\"size\":3}}", NULL, &out, &err), 0);
    CU_ASSERT_EQUAL(mint(out, "generation"), 2);
    ASSERT_STR(json_string_value(json_object_get(out, "apiVersion")), "stoker.dev/v1alpha1");
    json_decref(out);
    fx_teardown(&f);
}

static void test_resource_version_monotonic(void)
{
    struct fx f;
    uint64_t last;
    json_t *o = NULL;

    fx_setup(&f);
    last = sim_kube_resource_version(f.k);
    for (int i = 0; i < 20; i++) {
        json_t *p = J("{\"metadata\":{\"labels\":{\"i\":\"x\"}}}");
        char buf[32];
        snprintf(buf, sizeof buf, "%d", i);
        json_object_set_new(json_object_get(json_object_get(p, "metadata"), "labels"), "i",
                            json_string(buf));
        if (i == 0)
            json_decref(mk(&f, "nodes", NULL, "{\"metadata\":{\"name\":\"n\"}}"));
        CU_ASSERT_EQUAL(sim_kube_patch(f.k, "nodes", NULL, "n", p, 0, &o, NULL), 0);
        CU_ASSERT(rv_of(o) > last);
        CU_ASSERT_EQUAL(rv_of(o), sim_kube_resource_version(f.k));
        last = rv_of(o);
        json_decref(o);
        json_decref(p);
    }
    fx_teardown(&f);
}

TESTS_SUITE(sim_kube_store, "sim_kube_store", NULL, NULL,
            TESTS_CASE(test_builtins_and_namespaces), TESTS_CASE(test_create_defaults_and_errors),
            TESTS_CASE(test_create_status_dropped_over_api), TESTS_CASE(test_update_semantics),
            TESTS_CASE(test_pod_immutable_and_binding), TESTS_CASE(test_eviction),
            TESTS_CASE(test_finalizers_and_watch), TESTS_CASE(test_watch_reentrancy),
            TESTS_CASE(test_history_window_and_floor), TESTS_CASE(test_namespace_deletion),
            TESTS_CASE(test_owner_gc), TESTS_CASE(test_delete_preconditions),
            TESTS_CASE(test_list_paging_and_selectors), TESTS_CASE(test_store_patch_verbs),
            TESTS_CASE(test_resource_version_monotonic))
