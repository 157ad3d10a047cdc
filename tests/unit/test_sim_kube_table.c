/*
 * tests/unit/test_sim_kube_table.c — the emulated API's meta.k8s.io Tables (sim/kube_table.c):
 * the JSONPath subset of printer columns (escaped dots, indexes, filters, what is refused
 * whatever the data), Accept / includeObject negotiation, ages, the Table of a CRD list with
 * the columns stoker's definitions declare, node and pod tables with the server printers'
 * columns, and over HTTP (in-process transport, virtual time) a Table list and a watch whose
 * events carry one-row Tables.
 */
#include "tests/unit/harness.h"

#include "core/core.h"
#include "sim/kube_internal.h"
#include "sim/sim.h"

#include <string.h>

#define S CORE_NS_PER_S
#define KUBECTL_ACCEPT                                                                         \
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"        \
    "g=meta.k8s.io,application/json"
/* 2026-11-22T13:00:00Z */
#define T0 (INT64_C(1795352400) * S)

/* ---- JSONPath ------------------------------------------------------------------------------ */

static json_t *claim_doc(void)
{
    return json_loads(
        "{\"metadata\":{\"name\":\"c1\",\"creationTimestamp\":\"2026-11-22T13:00:00Z\","
        "\"labels\":{\"node.kubernetes.io/instance-type\":\"m5.large\",\"a.b\":\"dotted\","
        "\"plain\":\"p\"}},"
        "\"spec\":{\"weight\":7,\"ratio\":0.5,\"on\":true,\"list\":[\"x\",\"y\",\"z\"]},"
        "\"status\":{\"conditions\":["
        "{\"type\":\"Launched\",\"status\":\"True\",\"n\":1},"
        "{\"type\":\"Ready\",\"status\":\"False\",\"n\":2},"
        "{\"type\":\"Registered\",\"status\":\"True\",\"n\":3}]}}",
        0, NULL);
}

/* The string the path finds, or "(none)"; "(error)" for a refused path. */
static const char *jp(const json_t *doc, const char *path)
{
    static char buf[256];
    const json_t *v = (const json_t *)0x1; /* must be overwritten on success */
    struct core_err err;

    core_err_clear(&err);
    if (sim_ktable_jsonpath(doc, path, &v, &err) != 0) {
        CU_ASSERT_EQUAL(err.code, CORE_E_INVAL);
        CU_ASSERT(strstr(err.message, "JSONPath") != NULL);
        return "(error)";
    }
    if (!v)
        return "(none)";
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return json_is_object(v) ? "(object)" : json_is_array(v) ? "(array)" : "(other)";
}

static void test_jsonpath(void)
{
    json_t *d = claim_doc();

    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(jp(d, ".metadata.name"), "c1");
    CU_ASSERT_STRING_EQUAL(jp(d, "metadata.name"), "c1"); /* bare first key */
    CU_ASSERT_STRING_EQUAL(jp(d, "{.metadata.name}"), "c1");
    CU_ASSERT_STRING_EQUAL(jp(d, "$.metadata.name"), "c1");
    CU_ASSERT_STRING_EQUAL(jp(d, ".metadata"), "(object)");
    /* escaped dots: one key, not three */
    CU_ASSERT_STRING_EQUAL(jp(d, ".metadata.labels.node\\.kubernetes\\.io/instance-type"),
                           "m5.large");
    CU_ASSERT_STRING_EQUAL(jp(d, ".metadata.labels.node.kubernetes.io/instance-type"),
                           "(none)");
    CU_ASSERT_STRING_EQUAL(jp(d, ".metadata.labels.a\\.b"), "dotted");
    CU_ASSERT_STRING_EQUAL(jp(d, ".metadata.labels['node.kubernetes.io/instance-type']"),
                           "m5.large");
    CU_ASSERT_STRING_EQUAL(jp(d, ".metadata.labels[\"a.b\"]"), "dotted");
    /* indexes */
    CU_ASSERT_STRING_EQUAL(jp(d, ".spec.list[0]"), "x");
    CU_ASSERT_STRING_EQUAL(jp(d, ".spec.list[2]"), "z");
    CU_ASSERT_STRING_EQUAL(jp(d, ".spec.list[-1]"), "z");
    CU_ASSERT_STRING_EQUAL(jp(d, ".spec.list[3]"), "(none)");
    CU_ASSERT_STRING_EQUAL(jp(d, ".status.conditions[1].type"), "Ready");
    CU_ASSERT_STRING_EQUAL(jp(d, ".spec.weight"), "7");
    CU_ASSERT_STRING_EQUAL(jp(d, ".spec.list[*]"), "x");
    /* filters: the first match, then the rest of the path */
    CU_ASSERT_STRING_EQUAL(jp(d, ".status.conditions[?(@.type==\"Ready\")].status"), "False");
    CU_ASSERT_STRING_EQUAL(jp(d, ".status.conditions[?(@.type == 'Registered')].status"),
                           "True");
    CU_ASSERT_STRING_EQUAL(jp(d, ".status.conditions[?(@.status==\"True\")].type"),
                           "Launched");
    CU_ASSERT_STRING_EQUAL(jp(d, ".status.conditions[?(@.type!=\"Launched\")].type"), "Ready");
    CU_ASSERT_STRING_EQUAL(jp(d, ".status.conditions[?(@.n==3)].type"), "Registered");
    CU_ASSERT_STRING_EQUAL(jp(d, ".status.conditions[?(@.n)].type"), "Launched");
    CU_ASSERT_STRING_EQUAL(jp(d, ".status.conditions[?(@.type==\"Drifted\")].status"),
                           "(none)");
    CU_ASSERT_STRING_EQUAL(jp(d, ".spec.nothing[?(@.type==\"Ready\")].status"), "(none)");
    CU_ASSERT_STRING_EQUAL(jp(d, ".spec.weight.deeper"), "(none)");
    /* outside the subset: refused whatever the data */
    CU_ASSERT_STRING_EQUAL(jp(d, ""), "(error)");
    CU_ASSERT_STRING_EQUAL(jp(d, "..name"), "(error)");
    CU_ASSERT_STRING_EQUAL(jp(d, ".spec.list[0:2]"), "(error)");
    CU_ASSERT_STRING_EQUAL(jp(d, ".missing.list[0:2]"), "(error)");
    CU_ASSERT_STRING_EQUAL(jp(d, ".status.conditions[?(@.n>1)].type"), "(error)");
    CU_ASSERT_STRING_EQUAL(jp(d, ".missing[?(@.type==\"Ready\")].x[bad]"), "(error)");
    CU_ASSERT_STRING_EQUAL(jp(d, ".status.conditions[?(@.type==\"Ready\"].status"), "(error)");
    CU_ASSERT_STRING_EQUAL(jp(d, ".metadata.name\\"), "(error)");
    CU_ASSERT_STRING_EQUAL(jp(d, ".metadata..name"), "(error)");
    {
        char longp[1200];
        memset(longp, 'a', sizeof longp - 1);
        longp[0] = '.';
        longp[sizeof longp - 1] = '\0';
        CU_ASSERT_STRING_EQUAL(jp(d, longp), "(error)");
    }
    json_decref(d);
}

/* ---- negotiation and ages ------------------------------------------------------------------ */

static void test_negotiate(void)
{
    struct sim_ktable_req tr;
    struct core_err err;

    CU_ASSERT_EQUAL(sim_ktable_negotiate(KUBECTL_ACCEPT, NULL, &tr, &err), 0);
    CU_ASSERT_EQUAL(tr.wanted, 1);
    CU_ASSERT_STRING_EQUAL(tr.api_version, "meta.k8s.io/v1");
    CU_ASSERT_EQUAL(tr.include, SIM_KTABLE_INC_METADATA);

    CU_ASSERT_EQUAL(sim_ktable_negotiate("application/json", "Object", &tr, &err), 0);
    CU_ASSERT_EQUAL(tr.wanted, 0);
    CU_ASSERT_EQUAL(tr.include, SIM_KTABLE_INC_OBJECT);
    CU_ASSERT_EQUAL(sim_ktable_negotiate(NULL, "None", &tr, &err), 0);
    CU_ASSERT_EQUAL(tr.wanted, 0);
    CU_ASSERT_EQUAL(tr.include, SIM_KTABLE_INC_NONE);

    /* older clients: v1beta1 only; protobuf first is skipped (we serve JSON only) */
    CU_ASSERT_EQUAL(sim_ktable_negotiate("application/vnd.kubernetes.protobuf;as=Table;v=v1;"
                                         "g=meta.k8s.io, application/json; as=Table; "
                                         "v=v1beta1; g=meta.k8s.io", NULL, &tr, &err), 0);
    CU_ASSERT_EQUAL(tr.wanted, 1);
    CU_ASSERT_STRING_EQUAL(tr.api_version, "meta.k8s.io/v1beta1");
    /* plain JSON first wins over a later Table */
    CU_ASSERT_EQUAL(sim_ktable_negotiate("application/json, application/json;as=Table;v=v1;"
                                         "g=meta.k8s.io", NULL, &tr, &err), 0);
    CU_ASSERT_EQUAL(tr.wanted, 0);
    /* a Table of another group or version, and PartialObjectMetadataList: not served */
    CU_ASSERT_EQUAL(sim_ktable_negotiate("application/json;as=Table;v=v2;g=meta.k8s.io,"
                                         "application/json;as=Table;v=v1;g=example.com,"
                                         "application/json;as=PartialObjectMetadataList;v=v1;"
                                         "g=meta.k8s.io", NULL, &tr, &err), 0);
    CU_ASSERT_EQUAL(tr.wanted, 0);

    core_err_clear(&err);
    CU_ASSERT_EQUAL(sim_ktable_negotiate(KUBECTL_ACCEPT, "Everything", &tr, &err),
                    CORE_E_INVAL);
    CU_ASSERT_EQUAL(err.http_status, 400);
    CU_ASSERT_STRING_EQUAL(err.service_code, "BadRequest");
}

static void test_age(void)
{
    static const struct {
        int64_t s;
        const char *want;
    } cases[] = {
        {0, "0s"}, {45, "45s"}, {119, "119s"}, {120, "2m"}, {200, "3m20s"}, {600, "10m"},
        {179 * 60 + 59, "179m"}, {3 * 3600, "3h"}, {5 * 3600 + 60, "5h1m"}, {8 * 3600, "8h"},
        {47 * 3600, "47h"}, {51 * 3600, "2d3h"}, {7 * 86400, "7d"}, {400 * 86400, "400d"},
        {(365 * 3 + 4) * 86400LL, "3y4d"}, {365 * 9 * 86400LL, "9y"},
    };
    char buf[32];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sim_ktable_age(cases[i].s * S, buf, sizeof buf);
        CU_ASSERT_STRING_EQUAL(buf, cases[i].want);
    }
    sim_ktable_age(-S / 2, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "0s");
    sim_ktable_age(-5 * S, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "<invalid>");
}

/* ---- tables -------------------------------------------------------------------------------- */

struct kfx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct sim_kube *k;
};

static void kfx_init(struct kfx *f)
{
    struct sim_kube_opts o;
    struct core_err err;
    static const char *const files[] = {"stoker.dev_nodeclaims.yaml", "stoker.dev_warmpools.yaml"};

    memset(f, 0, sizeof *f);
    sim_kube_opts_default(&o);
    f->clock = core_clock_virtual_new(0, T0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(f->clock, NULL, &f->loop, &err), 0);
    CU_ASSERT_EQUAL_FATAL(sim_kube_new(f->loop, &o, &f->k, &err), 0);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char rel[128], *yaml;
        size_t len = 0;
        snprintf(rel, sizeof rel, "../../deploy/crds/%s", files[i]);
        yaml = tests_read_file(tests_data_path(rel), &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(yaml);
        CU_ASSERT_EQUAL(sim_kube_load_crds(f->k, yaml, len, files[i], &err), 0);
        core_free(yaml);
    }
}

static void kfx_cleanup(struct kfx *f)
{
    sim_kube_free(f->k);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

static struct sim_ktable_req treq(enum sim_ktable_include inc)
{
    struct sim_ktable_req tr;
    memset(&tr, 0, sizeof tr);
    tr.wanted = 1;
    core_strlcpy(tr.api_version, "meta.k8s.io/v1", sizeof tr.api_version);
    tr.include = inc;
    return tr;
}

static const char *col_name(const json_t *t, size_t i)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(t,
                                                                            "columnDefinitions"),
                                                            i), "name"));
}

static const json_t *cell(const json_t *t, size_t row, size_t col)
{
    return json_array_get(json_object_get(json_array_get(json_object_get(t, "rows"), row),
                                          "cells"), col);
}

static const char *cell_s(const json_t *t, size_t row, size_t col)
{
    return json_string_value(cell(t, row, col));
}

static void test_crd_table(void)
{
    static const char *const want[] = {"Name", "Type", "Capacity", "Zone", "Node", "Ready",
                                       "Age", "ImageID", "ID", "NodePool", "NodeClass"};
    struct kfx f;
    struct sim_kres *r;
    struct sim_ktable_req tr = treq(SIM_KTABLE_INC_METADATA);
    json_t *items, *t = NULL, *ro, *defs;
    struct core_err err;

    kfx_init(&f);
    r = sim_kube_res_by_key(f.k, "nodeclaims.stoker.dev");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    items = json_loads(
        "[{\"apiVersion\":\"stoker.dev/v1alpha1\",\"kind\":\"NodeClaim\",\"metadata\":{"
        "\"name\":\"general-x7k2p\",\"resourceVersion\":\"12\",\"uid\":\"u1\","
        "\"creationTimestamp\":\"2026-11-22T12:55:00Z\",\"labels\":{"
        "\"node.kubernetes.io/instance-type\":\"m5.large\",\"karpenter.sh/capacity-type\":"
        "\"spot\",\"topology.kubernetes.io/zone\":\"us-east-1a\",\"karpenter.sh/nodepool\":"
        "\"general\"}},\"spec\":{\"nodeClassRef\":{\"name\":\"default\"}},"
        "\"status\":{\"nodeName\":\"ip-10-0-0-1\",\"conditions\":[{\"type\":\"Launched\","
        "\"status\":\"True\"},{\"type\":\"Ready\",\"status\":\"True\"}]}},"
        "{\"apiVersion\":\"stoker.dev/v1alpha1\",\"kind\":\"NodeClaim\",\"metadata\":{"
        "\"name\":\"bare\",\"creationTimestamp\":\"2026-11-20T10:00:00Z\"},\"spec\":{}}]",
        0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(items);
    CU_ASSERT_EQUAL_FATAL(sim_ktable_build(r, items, &tr, "42", "tok", T0, &t, &err), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(t, "kind")), "Table");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(t, "apiVersion")),
                           "meta.k8s.io/v1");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(t, "metadata"),
                                                             "resourceVersion")), "42");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(t, "metadata"),
                                                             "continue")), "tok");
    defs = json_object_get(t, "columnDefinitions");
    CU_ASSERT_EQUAL_FATAL(json_array_size(defs), sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CU_ASSERT_STRING_EQUAL(col_name(t, i), want[i]);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(defs, 0), "format")),
                           "name");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(defs, 6), "type")),
                           "date");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(defs, 5), "priority")), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(defs, 7), "priority")), 1);
    /* row 0: every column found */
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 0), "general-x7k2p");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 1), "m5.large");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 2), "spot");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 3), "us-east-1a");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 4), "ip-10-0-0-1");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 5), "True");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 6), "5m");
    CU_ASSERT(json_is_null(cell(t, 0, 7)));
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 9), "general");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 10), "default");
    /* row 1: missing values are null (kubectl prints them blank, as for a real server) */
    CU_ASSERT_STRING_EQUAL(cell_s(t, 1, 0), "bare");
    for (size_t c = 1; c <= 5; c++)
        CU_ASSERT(json_is_null(cell(t, 1, c)));
    CU_ASSERT_STRING_EQUAL(cell_s(t, 1, 6), "2d3h");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_array_get(json_object_get(t, "rows"),
                                                                   1), "cells")),
                    sizeof want / sizeof want[0]);
    /* includeObject=Metadata */
    ro = json_object_get(json_array_get(json_object_get(t, "rows"), 0), "object");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ro, "kind")),
                           "PartialObjectMetadata");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ro, "apiVersion")),
                           "meta.k8s.io/v1");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(ro, "metadata"),
                                                             "uid")), "u1");
    CU_ASSERT_PTR_NULL(json_object_get(ro, "spec"));
    json_decref(t);

    /* includeObject=Object and None */
    tr = treq(SIM_KTABLE_INC_OBJECT);
    CU_ASSERT_EQUAL_FATAL(sim_ktable_build(r, items, &tr, NULL, NULL, T0, &t, &err), 0);
    ro = json_object_get(json_array_get(json_object_get(t, "rows"), 0), "object");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ro, "kind")), "NodeClaim");
    CU_ASSERT_PTR_NOT_NULL(json_object_get(ro, "spec"));
    CU_ASSERT_PTR_NULL(json_object_get(json_object_get(t, "metadata"), "continue"));
    json_decref(t);
    tr = treq(SIM_KTABLE_INC_NONE);
    CU_ASSERT_EQUAL_FATAL(sim_ktable_build(r, items, &tr, NULL, NULL, T0, &t, &err), 0);
    ro = json_object_get(json_array_get(json_object_get(t, "rows"), 0), "object");
    CU_ASSERT(json_is_null(ro));
    json_decref(t);
    json_decref(items);

    /* WarmPool: integer columns stay integers; a wrong type is null */
    r = sim_kube_res_by_key(f.k, "warmpools.stoker.dev");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    items = json_loads("[{\"metadata\":{\"name\":\"wp\",\"creationTimestamp\":"
                       "\"2026-11-22T12:59:30Z\"},\"spec\":{\"nodePoolRef\":{\"name\":\"general\"},"
                       "\"size\":{\"min\":2,\"max\":\"many\"}},\"status\":{\"warm\":3,"
                       "\"claimed\":1.0}}]", 0, NULL);
    tr = treq(SIM_KTABLE_INC_METADATA);
    CU_ASSERT_EQUAL_FATAL(sim_ktable_build(r, items, &tr, "1", NULL, T0, &t, &err), 0);
    CU_ASSERT_STRING_EQUAL(col_name(t, 1), "NodePool");
    CU_ASSERT_STRING_EQUAL(col_name(t, 2), "Warm");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 1), "general");
    CU_ASSERT(json_is_integer(cell(t, 0, 2)) && json_integer_value(cell(t, 0, 2)) == 3);
    CU_ASSERT(json_is_integer(cell(t, 0, 3)) && json_integer_value(cell(t, 0, 3)) == 1);
    CU_ASSERT(json_is_integer(cell(t, 0, 4)) && json_integer_value(cell(t, 0, 4)) == 2);
    CU_ASSERT(json_is_null(cell(t, 0, 5)));
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 6), "30s");
    json_decref(t);
    json_decref(items);
    kfx_cleanup(&f);
}

static void test_builtin_tables(void)
{
    struct kfx f;
    struct sim_ktable_req tr = treq(SIM_KTABLE_INC_METADATA);
    json_t *items, *t = NULL, *defs;
    struct core_err err;

    kfx_init(&f);
    /* nodes */
    items = json_loads(
        "[{\"metadata\":{\"name\":\"n1\",\"creationTimestamp\":\"2026-11-22T12:00:00Z\","
        "\"labels\":{\"node-role.kubernetes.io/worker\":\"\",\"node-role.kubernetes.io/"
        "control-plane\":\"\"}},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":"
        "\"True\"}],\"nodeInfo\":{\"kubeletVersion\":\"v1.31.4-eks-1234\"},\"addresses\":[{"
        "\"type\":\"InternalIP\",\"address\":\"10.0.0.1\"}]}},"
        "{\"metadata\":{\"name\":\"n2\",\"creationTimestamp\":\"2026-11-22T12:59:00Z\"},"
        "\"spec\":{\"unschedulable\":true},\"status\":{\"conditions\":[{\"type\":\"Ready\","
        "\"status\":\"Unknown\"}]}},"
        "{\"metadata\":{\"name\":\"n3\",\"creationTimestamp\":\"2026-11-22T12:59:00Z\"}}]",
        0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(items);
    CU_ASSERT_EQUAL_FATAL(sim_ktable_build(sim_kube_res_by_key(f.k, "nodes"), items, &tr, "5",
                                           NULL, T0, &t, &err), 0);
    defs = json_object_get(t, "columnDefinitions");
    CU_ASSERT_STRING_EQUAL(col_name(t, 0), "Name");
    CU_ASSERT_STRING_EQUAL(col_name(t, 1), "Status");
    CU_ASSERT_STRING_EQUAL(col_name(t, 2), "Roles");
    CU_ASSERT_STRING_EQUAL(col_name(t, 3), "Age");
    CU_ASSERT_STRING_EQUAL(col_name(t, 4), "Version");
    CU_ASSERT_STRING_EQUAL(col_name(t, 5), "Internal-IP");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(defs, 4), "priority")), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(defs, 5), "priority")), 1);
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 1), "Ready");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 2), "control-plane,worker");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 3), "60m");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 4), "v1.31.4-eks-1234");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 5), "10.0.0.1");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 6), "<none>");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 1, 1), "NotReady,SchedulingDisabled");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 1, 2), "<none>");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 1, 3), "60s");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 2, 1), "Unknown");
    json_decref(t);
    json_decref(items);

    /* pods */
    items = json_loads(
        "[{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"creationTimestamp\":"
        "\"2026-11-22T12:58:00Z\"},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":"
        "\"a\"},{\"name\":\"b\"}]},\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.9\","
        "\"containerStatuses\":[{\"name\":\"a\",\"ready\":true,\"restartCount\":2,\"state\":{"
        "\"running\":{}}},{\"name\":\"b\",\"ready\":true,\"restartCount\":1,\"state\":{"
        "\"running\":{}}}]}},"
        "{\"metadata\":{\"name\":\"new\",\"namespace\":\"default\",\"creationTimestamp\":"
        "\"2026-11-22T12:59:59Z\"},\"spec\":{\"containers\":[{\"name\":\"a\"}]}},"
        "{\"metadata\":{\"name\":\"crash\",\"namespace\":\"default\",\"creationTimestamp\":"
        "\"2026-11-22T12:00:00Z\"},\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":{"
        "\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"a\",\"ready\":false,"
        "\"restartCount\":5,\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]}},"
        "{\"metadata\":{\"name\":\"going\",\"namespace\":\"default\",\"creationTimestamp\":"
        "\"2026-11-22T12:00:00Z\",\"deletionTimestamp\":\"2026-11-22T12:59:00Z\"},\"spec\":{"
        "\"containers\":[{\"name\":\"a\"}]},\"status\":{\"phase\":\"Running\"}}]",
        0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(items);
    CU_ASSERT_EQUAL_FATAL(sim_ktable_build(sim_kube_res_by_key(f.k, "pods"), items, &tr, "6",
                                           NULL, T0, &t, &err), 0);
    defs = json_object_get(t, "columnDefinitions");
    {
        static const char *const want[] = {"Name", "Ready", "Status", "Restarts", "Age", "IP",
                                           "Node"};
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
            CU_ASSERT_STRING_EQUAL(col_name(t, i), want[i]);
    }
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(defs, 4), "priority")), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(defs, 5), "priority")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(defs, 6), "priority")), 1);
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 1), "2/2");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 2), "Running");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 3), "3");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 4), "2m");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 5), "10.0.0.9");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 6), "n1");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 1, 1), "0/1");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 1, 2), "Pending");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 1, 4), "1s");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 1, 5), "<none>");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 1, 6), "<none>");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 2, 2), "CrashLoopBackOff");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 2, 3), "5");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 3, 2), "Terminating");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(json_object_get(
                               json_array_get(json_object_get(t, "rows"), 0), "object"),
                                                                             "metadata"),
                                                             "namespace")), "default");
    json_decref(t);
    json_decref(items);

    /* namespaces and the default columns (services) */
    items = json_loads("[{\"metadata\":{\"name\":\"x\",\"creationTimestamp\":"
                       "\"2026-11-22T12:59:50Z\"}}]", 0, NULL);
    CU_ASSERT_EQUAL_FATAL(sim_ktable_build(sim_kube_res_by_key(f.k, "namespaces"), items, &tr,
                                           "7", NULL, T0, &t, &err), 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(t, "columnDefinitions")), 3);
    CU_ASSERT_STRING_EQUAL(col_name(t, 1), "Status");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 1), "Active");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 2), "10s");
    json_decref(t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sim_kube_res_by_key(f.k, "services"));
    CU_ASSERT_EQUAL_FATAL(sim_ktable_build(sim_kube_res_by_key(f.k, "services"), items, &tr,
                                           "7", NULL, T0, &t, &err), 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(t, "columnDefinitions")), 2);
    CU_ASSERT_STRING_EQUAL(col_name(t, 0), "Name");
    CU_ASSERT_STRING_EQUAL(col_name(t, 1), "Age");
    CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 1), "10s");
    json_decref(t);
    json_decref(items);
    kfx_cleanup(&f);
}

/* ---- over HTTP ----------------------------------------------------------------------------- */

struct hc {
    int done;
    long status;
    struct core_buf got;
};

static int hc_data(void *ud, const char *data, size_t len)
{
    struct hc *c = ud;
    return core_buf_append(&c->got, data, len) == 0 ? 0 : -1;
}

static void hc_done(void *ud, struct core_http_response *resp)
{
    struct hc *c = ud;
    c->done = 1;
    c->status = resp->status;
    if (resp->body.len)
        CU_ASSERT_EQUAL(core_buf_append(&c->got, resp->body.data, resp->body.len), 0);
}

static json_t *claim(const char *name)
{
    return json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:[s]}]}}",
                     "apiVersion", "stoker.dev/v1alpha1", "kind", "NodeClaim", "metadata",
                     "name", name, "labels", "node.kubernetes.io/instance-type", "c6g.xlarge",
                     "spec", "nodeClassRef", "group", "stoker.dev", "kind", "EC2NodeClass",
                     "name", "default", "requirements", "key",
                     "node.kubernetes.io/instance-type", "operator", "In", "values",
                     "c6g.xlarge");
}

static void test_http(void)
{
    static const char *const hdrs[] = {"Accept: " KUBECTL_ACCEPT};
    struct kfx f;
    struct core_http_transport *tp = NULL;
    struct core_http_request rq;
    struct hc c;
    struct core_err err;
    json_t *obj, *doc;
    uint64_t id;
    int one = 0;

    kfx_init(&f);
    CU_ASSERT_EQUAL_FATAL(sim_transport_new(f.loop, sim_kube_handle, f.k, &tp, &err), 0);
    obj = claim("first");
    CU_ASSERT_EQUAL_FATAL(sim_kube_create(f.k, "nodeclaims.stoker.dev", NULL, obj, NULL, &err),
                          0);
    json_decref(obj);

    /* a list */
    memset(&c, 0, sizeof c);
    core_buf_init(&c.got, 1u << 20);
    memset(&rq, 0, sizeof rq);
    rq.method = "GET";
    rq.url = "http://sim.invalid/apis/stoker.dev/v1alpha1/nodeclaims";
    rq.headers = hdrs;
    rq.nheaders = 1;
    rq.on_done = hc_done;
    rq.ud = &c;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(tp, &rq, &id, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &c.done, core_loop_now(f.loop) + 10 * S, NULL),
                    0);
    CU_ASSERT_EQUAL(c.status, 200);
    doc = json_loads(core_buf_cstr(&c.got), 0, NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "kind")), "Table");
    CU_ASSERT_STRING_EQUAL(col_name(doc, 1), "Type");
    CU_ASSERT_STRING_EQUAL(cell_s(doc, 0, 0), "first");
    CU_ASSERT_STRING_EQUAL(cell_s(doc, 0, 1), "c6g.xlarge");
    CU_ASSERT_STRING_EQUAL(cell_s(doc, 0, 6), "0s");
    json_decref(doc);

    /* a single object, and plain JSON without the Accept header */
    core_buf_reset(&c.got);
    c.done = 0;
    rq.url = "http://sim.invalid/apis/stoker.dev/v1alpha1/nodeclaims/first";
    CU_ASSERT_EQUAL_FATAL(core_http_submit(tp, &rq, &id, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &c.done, core_loop_now(f.loop) + 10 * S, NULL),
                    0);
    doc = json_loads(core_buf_cstr(&c.got), 0, NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "kind")), "Table");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(doc, "rows")), 1);
    json_decref(doc);
    core_buf_reset(&c.got);
    c.done = 0;
    rq.nheaders = 0;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(tp, &rq, &id, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &c.done, core_loop_now(f.loop) + 10 * S, NULL),
                    0);
    doc = json_loads(core_buf_cstr(&c.got), 0, NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "kind")), "NodeClaim");
    json_decref(doc);
    /* a bad includeObject */
    core_buf_reset(&c.got);
    c.done = 0;
    rq.nheaders = 1;
    rq.url = "http://sim.invalid/apis/stoker.dev/v1alpha1/nodeclaims?includeObject=All";
    CU_ASSERT_EQUAL_FATAL(core_http_submit(tp, &rq, &id, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &c.done, core_loop_now(f.loop) + 10 * S, NULL),
                    0);
    CU_ASSERT_EQUAL(c.status, 400);

    /* a watch: the current object, then one created while it runs, each a one-row Table */
    core_buf_reset(&c.got);
    c.done = 0;
    rq.url = "http://sim.invalid/apis/stoker.dev/v1alpha1/nodeclaims?watch=true&"
             "timeoutSeconds=30";
    rq.on_data = hc_data;
    rq.max_response = 64u << 20;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(tp, &rq, &id, &err), 0);
    /* let the watch start and send what exists (the flag never sets: runs 2 s) */
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &one, core_loop_now(f.loop) + 2 * S, NULL),
                    CORE_E_TIMEOUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(core_buf_cstr(&c.got), "\"first\""));
    obj = claim("second");
    CU_ASSERT_EQUAL(sim_kube_create(f.k, "nodeclaims.stoker.dev", NULL, obj, NULL, &err), 0);
    json_decref(obj);
    CU_ASSERT_EQUAL(core_loop_run_until(f.loop, &c.done, core_loop_now(f.loop) + 60 * S, NULL),
                    0);
    CU_ASSERT_EQUAL(c.done, 1);
    {
        const char *p = core_buf_cstr(&c.got);
        const char *names[] = {"first", "second"};
        size_t n = 0;
        while (*p) {
            const char *nl = strchr(p, '\n');
            json_t *ev = json_loadb(p, nl ? (size_t)(nl - p) : strlen(p), 0, NULL);
            json_t *t = json_object_get(ev, "object");
            CU_ASSERT_PTR_NOT_NULL(ev);
            if (n < 2) {
                CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ev, "type")), "ADDED");
                CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(t, "kind")), "Table");
                CU_ASSERT_EQUAL(json_array_size(json_object_get(t, "rows")), 1);
                CU_ASSERT_STRING_EQUAL(col_name(t, 1), "Type");
                CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 0), names[n]);
                CU_ASSERT_STRING_EQUAL(cell_s(t, 0, 1), "c6g.xlarge");
                CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(
                    json_object_get(t, "metadata"), "resourceVersion")));
                CU_ASSERT_STRING_EQUAL(
                    json_string_value(json_object_get(json_object_get(json_array_get(
                        json_object_get(t, "rows"), 0), "object"), "kind")),
                    "PartialObjectMetadata");
            }
            json_decref(ev);
            n++;
            p = nl ? nl + 1 : p + strlen(p);
        }
        CU_ASSERT_EQUAL(n, 2);
    }
    core_buf_cleanup(&c.got);
    core_http_transport_free(tp);
    kfx_cleanup(&f);
}

TESTS_SUITE(sim_kube_table, "sim_kube_table", NULL, NULL, TESTS_CASE(test_jsonpath),
            TESTS_CASE(test_negotiate), TESTS_CASE(test_age), TESTS_CASE(test_crd_table),
            TESTS_CASE(test_builtin_tables), TESTS_CASE(test_http))
