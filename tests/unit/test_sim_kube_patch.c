/*
 * tests/unit/test_sim_kube_patch.c — the pure parts of the emulated Kubernetes API: JSON merge
 * patch (the RFC 7386 appendix examples), JSON patch (RFC 6902 appendix A examples, pointers
 * with escapes, errors and their HTTP statuses), strategic merge patch (merge keys, sets,
 * directives), the apply body parser, and label / field selectors (grammar, matching, errors).
 */
#include "tests/unit/harness.h"

#include "core/core.h"
#include "sim/kube_internal.h"

#include <jansson.h>
#include <string.h>

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v)
        fprintf(stderr, "\n  bad test JSON: %s: %s\n", text, e.text);
    return v;
}

/* Applies a merge patch and compares with the expected document. */
static int merge_is(const char *target, const char *patch, const char *want)
{
    json_t *t = J(target), *p = J(patch), *w = J(want), *out = NULL;
    struct core_err err;
    int ok = sim_kube_merge_patch(t, p, &out, &err) == 0 && json_equal(out, w);
    if (!ok && out) {
        char *s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(stderr, "\n  merge got %s\n", s);
        free(s);
    }
    json_decref(t);
    json_decref(p);
    json_decref(w);
    json_decref(out);
    return ok;
}

static void test_merge_rfc7386_examples(void)
{
    CU_ASSERT(merge_is("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"));
    CU_ASSERT(merge_is("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"));
    CU_ASSERT(merge_is("{\"a\":\"b\"}", "{\"a\":null}", "{}"));
    CU_ASSERT(merge_is("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"));
    CU_ASSERT(merge_is("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"));
    CU_ASSERT(merge_is("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"));
    CU_ASSERT(merge_is("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
                       "{\"a\":{\"b\":\"d\"}}"));
    CU_ASSERT(merge_is("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"));
    CU_ASSERT(merge_is("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"));
    CU_ASSERT(merge_is("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"));
    CU_ASSERT(merge_is("{\"a\":\"foo\"}", "null", "null"));
    CU_ASSERT(merge_is("{\"a\":\"foo\"}", "\"bar\"", "\"bar\""));
    CU_ASSERT(merge_is("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"));
    CU_ASSERT(merge_is("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"));
    CU_ASSERT(merge_is("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"));
}

static void test_merge_target_untouched_and_depth(void)
{
    json_t *t = J("{\"a\":{\"b\":1}}"), *p = J("{\"a\":{\"b\":2}}"), *out = NULL;
    struct core_err err;
    struct core_buf deep;
    json_t *dp;

    CU_ASSERT_EQUAL(sim_kube_merge_patch(t, p, &out, &err), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(t, "a"), "b")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(out, "a"), "b")), 2);
    json_decref(out);
    out = NULL;

    /* 200 levels of nesting: refused, not a stack overflow. */
    core_buf_init(&deep, 1 << 16);
    for (int i = 0; i < 200; i++)
        CU_ASSERT_EQUAL(core_buf_append_str(&deep, "{\"a\":"), 0);
    CU_ASSERT_EQUAL(core_buf_append_str(&deep, "1"), 0);
    for (int i = 0; i < 200; i++)
        CU_ASSERT_EQUAL(core_buf_append_char(&deep, '}'), 0);
    dp = J(core_buf_cstr(&deep));
    CU_ASSERT_PTR_NOT_NULL_FATAL(dp);
    CU_ASSERT_EQUAL(sim_kube_merge_patch(t, dp, &out, &err), CORE_E_INVAL);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT(strstr(err.message, "deeper") != NULL);
    CU_ASSERT_EQUAL(sim_kube_strategic_patch(t, dp, "Pod", &out, &err), CORE_E_INVAL);
    json_decref(dp);
    core_buf_cleanup(&deep);
    json_decref(t);
    json_decref(p);
}

/* Applies a JSON patch; want NULL expects failure with code want_rc and HTTP status. */
static int jpatch(const char *target, const char *ops, const char *want, int want_rc,
                  long want_http)
{
    json_t *t = J(target), *p = J(ops), *w = want ? J(want) : NULL, *out = NULL;
    struct core_err err;
    int rc, ok;

    memset(&err, 0, sizeof err);
    rc = sim_kube_json_patch(t, p, &out, &err);
    if (want)
        ok = rc == 0 && json_equal(out, w);
    else
        ok = rc == want_rc && out == NULL && err.http_status == want_http;
    if (!ok) {
        char *s = out ? json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        fprintf(stderr, "\n  json patch %s: rc %d got %s (%s)\n", ops, rc, s ? s : "-",
                err.message);
        free(s);
    }
    json_decref(t);
    json_decref(p);
    json_decref(w);
    json_decref(out);
    return ok;
}

static void test_json_patch_rfc6902_examples(void)
{
    /* A.1 .. A.16 */
    CU_ASSERT(jpatch("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
                     "{\"baz\":\"qux\",\"foo\":\"bar\"}", 0, 0));
    CU_ASSERT(jpatch("{\"foo\":[\"bar\",\"baz\"]}",
                     "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
                     "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", 0, 0));
    CU_ASSERT(jpatch("{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
                     "{\"foo\":\"bar\"}", 0, 0));
    CU_ASSERT(jpatch("{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
                     "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", "{\"foo\":[\"bar\",\"baz\"]}",
                     0, 0));
    CU_ASSERT(jpatch("{\"baz\":\"qux\",\"foo\":\"bar\"}",
                     "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
                     "{\"baz\":\"boo\",\"foo\":\"bar\"}", 0, 0));
    CU_ASSERT(jpatch("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
                     "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
                     "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}",
                     0, 0));
    CU_ASSERT(jpatch("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
                     "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
                     "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}", 0, 0));
    CU_ASSERT(jpatch("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
                     "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
                     "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
                     "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}", 0, 0));
    /* A.9: a failed test is 422 Invalid, as the API server answers. */
    CU_ASSERT(jpatch("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
                     NULL, CORE_E_INVAL, 422));
    CU_ASSERT(jpatch("{\"foo\":\"bar\"}",
                     "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
                     "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}", 0, 0));
    CU_ASSERT(jpatch("{\"foo\":\"bar\"}",
                     "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
                     "{\"foo\":\"bar\",\"baz\":\"qux\"}", 0, 0));
    /* A.12: adding to a nonexistent target. */
    CU_ASSERT(jpatch("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]",
                     NULL, CORE_E_INVAL, 422));
    CU_ASSERT(jpatch("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
                     "{\"/\":9,\"~1\":10}", 0, 0));
    CU_ASSERT(jpatch("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]",
                     NULL, CORE_E_INVAL, 422));
    CU_ASSERT(jpatch("{\"foo\":[\"bar\"]}",
                     "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
                     "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}", 0, 0));
    /* Numbers compare by value; copy; ~1 in a path; replace of the whole document. */
    CU_ASSERT(jpatch("{\"n\":1}", "[{\"op\":\"test\",\"path\":\"/n\",\"value\":1.0}]",
                     "{\"n\":1}", 0, 0));
    CU_ASSERT(jpatch("{\"a\":{\"x\":1}}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"}]",
                     "{\"a\":{\"x\":1},\"b\":{\"x\":1}}", 0, 0));
    CU_ASSERT(jpatch("{\"metadata\":{\"labels\":{}}}",
                     "[{\"op\":\"add\",\"path\":\"/metadata/labels/app.kubernetes.io~1name\","
                     "\"value\":\"x\"}]",
                     "{\"metadata\":{\"labels\":{\"app.kubernetes.io/name\":\"x\"}}}", 0, 0));
    CU_ASSERT(jpatch("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]", "[1]", 0,
                     0));
}

static void test_json_patch_errors(void)
{
    /* Malformed patches are 400 BadRequest; ones that cannot apply are 422. */
    CU_ASSERT(jpatch("{}", "{\"op\":\"add\"}", NULL, CORE_E_INVAL, 400));
    CU_ASSERT(jpatch("{}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", NULL, CORE_E_INVAL, 400));
    CU_ASSERT(jpatch("{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", NULL, CORE_E_INVAL, 400));
    CU_ASSERT(jpatch("{}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]", NULL, CORE_E_INVAL,
                     400));
    CU_ASSERT(jpatch("{}", "[{\"op\":\"add\",\"path\":\"/~2\",\"value\":1}]", NULL, CORE_E_INVAL,
                     400));
    CU_ASSERT(jpatch("{}", "[{\"op\":\"remove\",\"path\":\"/a\"}]", NULL, CORE_E_INVAL, 422));
    CU_ASSERT(jpatch("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":1}]", NULL,
                     CORE_E_INVAL, 422));
    CU_ASSERT(jpatch("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":1}]", NULL,
                     CORE_E_INVAL, 422));
    CU_ASSERT(jpatch("{\"a\":[1]}", "[{\"op\":\"replace\",\"path\":\"/a/-\",\"value\":1}]", NULL,
                     CORE_E_INVAL, 422));
    CU_ASSERT(jpatch("{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/c\"}]",
                     NULL, CORE_E_INVAL, 422));
    /* An operation that fails leaves nothing half-applied: the result is all or nothing. */
    CU_ASSERT(jpatch("{\"a\":1}",
                     "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},{\"op\":\"remove\",\"path\":\"/z\"}]",
                     NULL, CORE_E_INVAL, 422));
}

static int strat_is(const char *target, const char *patch, const char *want)
{
    json_t *t = J(target), *p = J(patch), *w = J(want), *out = NULL;
    struct core_err err;
    int rc = sim_kube_strategic_patch(t, p, "Pod", &out, &err);
    int ok = rc == 0 && json_equal(out, w);
    if (!ok) {
        char *s = out ? json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        fprintf(stderr, "\n  strategic got %s (%s)\n", s ? s : "-", rc ? err.message : "");
        free(s);
    }
    json_decref(t);
    json_decref(p);
    json_decref(w);
    json_decref(out);
    return ok;
}

static void test_strategic_lists(void)
{
    /* containers merge by name; an unnamed list (args) is replaced. */
    CU_ASSERT(strat_is(
        "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:1\",\"args\":[\"1\"]},"
        "{\"name\":\"b\",\"image\":\"y:1\"}]}}",
        "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:2\",\"args\":[\"2\"]},"
        "{\"name\":\"c\",\"image\":\"z:1\"}]}}",
        "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:2\",\"args\":[\"2\"]},"
        "{\"name\":\"b\",\"image\":\"y:1\"},{\"name\":\"c\",\"image\":\"z:1\"}]}}"));
    /* $patch: delete removes one element by key. */
    CU_ASSERT(strat_is("{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
                       "{\"spec\":{\"containers\":[{\"name\":\"a\",\"$patch\":\"delete\"}]}}",
                       "{\"spec\":{\"containers\":[{\"name\":\"b\"}]}}"));
    /* conditions by type. */
    CU_ASSERT(strat_is(
        "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"},"
        "{\"type\":\"PodScheduled\",\"status\":\"True\"}]}}",
        "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
        "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},"
        "{\"type\":\"PodScheduled\",\"status\":\"True\"}]}}"));
    /* taints by key + effect: same key, other effect is another taint. */
    CU_ASSERT(strat_is(
        "{\"spec\":{\"taints\":[{\"key\":\"k\",\"effect\":\"NoSchedule\",\"value\":\"1\"}]}}",
        "{\"spec\":{\"taints\":[{\"key\":\"k\",\"effect\":\"NoExecute\"},"
        "{\"key\":\"k\",\"effect\":\"NoSchedule\",\"value\":\"2\"}]}}",
        "{\"spec\":{\"taints\":[{\"key\":\"k\",\"effect\":\"NoSchedule\",\"value\":\"2\"},"
        "{\"key\":\"k\",\"effect\":\"NoExecute\"}]}}"));
    /* finalizers are a set; $deleteFromPrimitiveList removes. */
    CU_ASSERT(strat_is("{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
                       "{\"metadata\":{\"finalizers\":[\"b\",\"c\"]}}",
                       "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}"));
    CU_ASSERT(strat_is("{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
                       "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"a\"]}}",
                       "{\"metadata\":{\"finalizers\":[\"b\"]}}"));
    /* service ports merge by port. */
    CU_ASSERT(strat_is("{\"spec\":{\"ports\":[{\"port\":80,\"name\":\"http\"}]}}",
                       "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080}]}}",
                       "{\"spec\":{\"ports\":[{\"port\":80,\"name\":\"http\",\"targetPort\":8080}]}}"));
    /* $patch: replace in a list. */
    CU_ASSERT(strat_is("{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
                       "{\"spec\":{\"containers\":[{\"$patch\":\"replace\"},{\"name\":\"z\"}]}}",
                       "{\"spec\":{\"containers\":[{\"name\":\"z\"}]}}"));
}

static void test_strategic_maps_and_errors(void)
{
    json_t *t = J("{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}"), *out = NULL, *p;
    struct core_err err;

    /* $patch: replace on a map, $patch: delete on a map, $retainKeys, nulls. */
    CU_ASSERT(strat_is("{\"spec\":{\"a\":1,\"b\":2}}",
                       "{\"spec\":{\"$patch\":\"replace\",\"c\":3}}", "{\"spec\":{\"c\":3}}"));
    CU_ASSERT(strat_is("{\"spec\":{\"a\":1},\"x\":1}", "{\"spec\":{\"$patch\":\"delete\"}}",
                       "{\"x\":1}"));
    CU_ASSERT(strat_is("{\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"m\":1}}}",
                       "{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":\"Recreate\"}}",
                       "{\"strategy\":{\"type\":\"Recreate\"}}"));
    CU_ASSERT(strat_is("{\"a\":1,\"b\":2}", "{\"a\":null,\"$setElementOrder/x\":[]}",
                       "{\"b\":2}"));
    /* A keyed list element without its key is a bad request. */
    p = J("{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}");
    memset(&err, 0, sizeof err);
    CU_ASSERT_EQUAL(sim_kube_strategic_patch(t, p, "Pod", &out, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(err.http_status, 400);
    CU_ASSERT(strstr(err.message, "merge key \"name\"") != NULL);
    json_decref(p);
    p = J("[1]");
    CU_ASSERT_EQUAL(sim_kube_strategic_patch(t, p, "Pod", &out, &err), CORE_E_INVAL);
    json_decref(p);
    p = J("{\"$patch\":\"explode\"}");
    CU_ASSERT_EQUAL(sim_kube_strategic_patch(t, p, "Pod", &out, &err), CORE_E_INVAL);
    CU_ASSERT(strstr(err.message, "explode") != NULL);
    json_decref(p);
    CU_ASSERT_PTR_NULL(out);
    json_decref(t);
}

static void test_apply_parse(void)
{
    static const char YAML[] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
                               "data:\n  a: \"1\"\n";
    static const char TWO[] = "a: 1\n---\nb: 2\n";
    json_t *out = NULL;
    struct core_err err;

    CU_ASSERT_EQUAL_FATAL(sim_kube_apply_parse(YAML, strlen(YAML), &out, &err), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(out, "kind")), "ConfigMap");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(out, "data"), "a")),
                           "1");
    json_decref(out);
    out = NULL;
    CU_ASSERT_EQUAL(sim_kube_apply_parse("{\"a\":1}", 7, &out, &err), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(out, "a")), 1);
    json_decref(out);
    out = NULL;
    CU_ASSERT_EQUAL(sim_kube_apply_parse(TWO, strlen(TWO), &out, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(err.http_status, 400);
    CU_ASSERT_EQUAL(sim_kube_apply_parse("a: [", 4, &out, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(sim_kube_apply_parse("", 0, &out, &err), CORE_E_INVAL);
    CU_ASSERT_PTR_NULL(out);
}

/* ---- selectors ---- */

static json_t *labelled(const char *labels)
{
    char buf[512];
    snprintf(buf, sizeof buf, "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns1\",\"labels\":%s},"
             "\"spec\":{\"nodeName\":\"n1\",\"replicas\":3,\"paused\":true},"
             "\"status\":{\"phase\":\"Running\"}}", labels);
    return J(buf);
}

static int lmatch(const char *sel, const json_t *obj)
{
    struct sim_ksel s;
    struct core_err err;
    int m;
    if (sim_ksel_parse_labels(sel, &s, &err) != 0) {
        fprintf(stderr, "\n  selector %s: %s\n", sel, err.message);
        return -1;
    }
    m = sim_ksel_match_labels(&s, obj);
    sim_ksel_cleanup(&s);
    return m;
}

static int fmatch(const char *sel, const json_t *obj)
{
    struct sim_ksel s;
    struct core_err err;
    int m;
    if (sim_ksel_parse_fields(sel, &s, &err) != 0) {
        fprintf(stderr, "\n  field selector %s: %s\n", sel, err.message);
        return -1;
    }
    m = sim_ksel_match_fields(&s, obj);
    sim_ksel_cleanup(&s);
    return m;
}

static void test_label_selectors(void)
{
    json_t *o = labelled("{\"app\":\"web\",\"tier\":\"front\",\"example.com/zone\":\"a\","
                         "\"gen\":\"5\"}");
    struct sim_ksel s;

    CU_ASSERT_EQUAL(lmatch("", o), 1);
    CU_ASSERT_EQUAL(lmatch(NULL, o), 1);
    CU_ASSERT_EQUAL(lmatch("app=web", o), 1);
    CU_ASSERT_EQUAL(lmatch("app==web", o), 1);
    CU_ASSERT_EQUAL(lmatch("app=db", o), 0);
    CU_ASSERT_EQUAL(lmatch("app!=db", o), 1);
    CU_ASSERT_EQUAL(lmatch("missing!=x", o), 1); /* != matches an absent label */
    CU_ASSERT_EQUAL(lmatch("app in (db, web)", o), 1);
    CU_ASSERT_EQUAL(lmatch("app in (db)", o), 0);
    CU_ASSERT_EQUAL(lmatch("app notin (db,cache)", o), 1);
    CU_ASSERT_EQUAL(lmatch("missing notin (db)", o), 1);
    CU_ASSERT_EQUAL(lmatch("tier", o), 1);
    CU_ASSERT_EQUAL(lmatch("missing", o), 0);
    CU_ASSERT_EQUAL(lmatch("!missing", o), 1);
    CU_ASSERT_EQUAL(lmatch("!tier", o), 0);
    CU_ASSERT_EQUAL(lmatch("example.com/zone=a, app = web ,tier", o), 1);
    CU_ASSERT_EQUAL(lmatch("app=web,tier=back", o), 0);
    CU_ASSERT_EQUAL(lmatch("gen>4", o), 1);
    CU_ASSERT_EQUAL(lmatch("gen<5", o), 0);
    CU_ASSERT_EQUAL(lmatch("app=", o), 0);
    CU_ASSERT_EQUAL(sim_ksel_match_labels(NULL, o), 1);

    CU_ASSERT_EQUAL(sim_ksel_parse_labels("app=web,tier in (a,b)", &s, NULL), 0);
    CU_ASSERT_EQUAL(s.n, 2);
    CU_ASSERT_EQUAL(s.req[1].op, SIM_KSEL_IN);
    CU_ASSERT_EQUAL(s.req[1].nvalues, 2);
    CU_ASSERT_STRING_EQUAL(s.req[1].values[1], "b");
    sim_ksel_cleanup(&s);
    json_decref(o);
}

static void test_label_selector_errors(void)
{
    static const struct {
        const char *sel, *needle;
    } BAD[] = {
        {"app in (a", "expected ',' or ')'"},
        {"app in a", "expected '('"},
        {"app=a b", "unexpected"},
        {"-app=x", "invalid label key"},
        {"app=-x", "invalid label value"},
        {"app ~x", "expected one of"},
        {"gen>x", "integer"},
        {"app in ()", "can't be empty"},
        {",", "expected a label key"},
        {"bad_prefix/app=x", "prefix"},
    };
    struct sim_ksel s;
    struct core_err err;
    char big[2048], key[80];

    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        memset(&err, 0, sizeof err);
        CU_ASSERT_EQUAL(sim_ksel_parse_labels(BAD[i].sel, &s, &err), CORE_E_INVAL);
        if (!strstr(err.message, BAD[i].needle))
            fprintf(stderr, "\n  %s: message \"%s\" lacks \"%s\"\n", BAD[i].sel, err.message,
                    BAD[i].needle);
        CU_ASSERT(strstr(err.message, BAD[i].needle) != NULL);
    }
    /* 64-character names are too long; 33 requirements are too many. */
    memset(key, 'a', 64);
    key[64] = '\0';
    CU_ASSERT_EQUAL(sim_ksel_parse_labels(key, &s, &err), CORE_E_INVAL);
    key[63] = '\0';
    CU_ASSERT_EQUAL(sim_ksel_parse_labels(key, &s, &err), 0);
    sim_ksel_cleanup(&s);
    big[0] = '\0';
    for (int i = 0; i < 33; i++) {
        char one[16];
        snprintf(one, sizeof one, "%sk%d", i ? "," : "", i);
        core_strlcpy(big + strlen(big), one, sizeof big - strlen(big));
    }
    CU_ASSERT_EQUAL(sim_ksel_parse_labels(big, &s, &err), CORE_E_INVAL);
    CU_ASSERT(strstr(err.message, "more than 32") != NULL);
}

static void test_field_selectors(void)
{
    json_t *o = labelled("{}");
    struct sim_ksel s;
    struct core_err err;

    CU_ASSERT_EQUAL(fmatch("metadata.name=p", o), 1);
    CU_ASSERT_EQUAL(fmatch("metadata.name==q", o), 0);
    CU_ASSERT_EQUAL(fmatch("metadata.namespace=ns1,spec.nodeName=n1", o), 1);
    CU_ASSERT_EQUAL(fmatch("spec.nodeName!=n1", o), 0);
    CU_ASSERT_EQUAL(fmatch("status.phase!=Pending", o), 1);
    CU_ASSERT_EQUAL(fmatch("spec.replicas=3", o), 1);
    CU_ASSERT_EQUAL(fmatch("spec.paused=true", o), 1);
    /* A missing field compares as "". */
    CU_ASSERT_EQUAL(fmatch("spec.missing=", o), 1);
    CU_ASSERT_EQUAL(fmatch("spec.missing!=", o), 0);
    CU_ASSERT_EQUAL(fmatch("spec.nodeName=", o), 0);
    CU_ASSERT_EQUAL(sim_ksel_match_fields(NULL, o), 1);
    /* Escapes. */
    CU_ASSERT_EQUAL(sim_ksel_parse_fields("a.b=x\\,y", &s, &err), 0);
    CU_ASSERT_STRING_EQUAL(s.req[0].values[0], "x,y");
    sim_ksel_cleanup(&s);
    CU_ASSERT_EQUAL(sim_ksel_parse_fields("a in (b)", &s, &err), CORE_E_INVAL);
    CU_ASSERT(strstr(err.message, "only =, == and !=") != NULL);
    CU_ASSERT_EQUAL(sim_ksel_parse_fields("=x", &s, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(sim_ksel_parse_fields("a=b=c", &s, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(sim_ksel_parse_fields("a=b\\q", &s, &err), CORE_E_INVAL);
    json_decref(o);
}

/* copy doubles a document per operation: a small patch must not build gigabytes. */
static void test_json_patch_copy_budget(void)
{
    struct core_buf b;
    json_t *target, *ops, *out = NULL;
    struct core_err err;
    json_error_t je;

    core_buf_init(&b, 1u << 20);
    CU_ASSERT_FATAL(core_buf_append_str(&b, "[") == 0);
    for (int i = 0; i < 40; i++)
        CU_ASSERT_FATAL(core_buf_appendf(&b, "%s{\"op\":\"copy\",\"from\":\"\",\"path\":\"/c%d\"}",
                                         i ? "," : "", i) == 0);
    CU_ASSERT_FATAL(core_buf_append_str(&b, "]") == 0);
    ops = json_loads(core_buf_cstr(&b), 0, &je);
    target = json_pack("{s:[i,i,i,i]}", "a", 1, 2, 3, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ops);
    memset(&err, 0, sizeof err);
    CU_ASSERT_EQUAL(sim_kube_json_patch(target, ops, &out, &err), CORE_E_INVAL);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT(strstr(err.message, "exceed") != NULL);
    json_decref(ops);
    json_decref(target);
    core_buf_cleanup(&b);
}

TESTS_SUITE(sim_kube_patch, "sim_kube_patch", NULL, NULL,
            TESTS_CASE(test_json_patch_copy_budget),
            TESTS_CASE(test_merge_rfc7386_examples),
            TESTS_CASE(test_merge_target_untouched_and_depth),
            TESTS_CASE(test_json_patch_rfc6902_examples), TESTS_CASE(test_json_patch_errors),
            TESTS_CASE(test_strategic_lists), TESTS_CASE(test_strategic_maps_and_errors),
            TESTS_CASE(test_apply_parse), TESTS_CASE(test_label_selectors),
            TESTS_CASE(test_label_selector_errors), TESTS_CASE(test_field_selectors))
