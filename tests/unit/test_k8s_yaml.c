/*
 * tests/unit/test_k8s_yaml.c — YAML manifests into jansson (k8s/yaml.c): the core-schema
 * resolution of plain scalars, quoted scalars and explicit tags, multi-document streams with
 * empty documents skipped, anchors and aliases (copies, not shared values), the limits (alias
 * expansion, depth, input size), mapping key rules, error positions, allocation failures, and
 * the example manifests under tests/data/manifests going through the typed decoders.
 */
#include "tests/unit/harness.h"

#include "k8s/k8s.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Parses text that must hold exactly one document; NULL (and a test failure) otherwise. */
static json_t *one(const char *text)
{
    json_t **docs = NULL;
    size_t n = 0;
    struct core_err err;
    json_t *v;

    core_err_clear(&err);
    if (k8s_yaml_parse(text, strlen(text), &docs, &n, &err) != 0) {
        fprintf(stderr, "\n  unexpected error for '%s': %s\n", text, err.message);
        CU_FAIL("parse failed");
        return NULL;
    }
    CU_ASSERT_EQUAL(n, 1);
    if (n != 1) {
        k8s_yaml_docs_free(docs, n);
        return NULL;
    }
    v = json_incref(docs[0]);
    k8s_yaml_docs_free(docs, n);
    return v;
}

/* Parses text expecting failure with code; returns the message (static buffer). */
static const char *fails(const char *text, int code)
{
    static struct core_err err;
    json_t **docs = (json_t **)&err; /* must stay untouched */
    size_t n = 12345;
    int rc;

    core_err_clear(&err);
    rc = k8s_yaml_parse(text, strlen(text), &docs, &n, &err);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_EQUAL(err.code, code);
    CU_ASSERT(docs == (json_t **)&err && n == 12345);
    if (rc == 0)
        k8s_yaml_docs_free(docs, n);
    return err.message;
}

/* The value of "v" in the one-document mapping "v: <text>". */
static json_t *val(const char *scalar)
{
    char doc[256];
    json_t *d, *v;

    snprintf(doc, sizeof doc, "v: %s\n", scalar);
    d = one(doc);
    v = json_incref(json_object_get(d, "v"));
    json_decref(d);
    CU_ASSERT_PTR_NOT_NULL(v);
    return v;
}

static void expect_int(const char *s, json_int_t want)
{
    json_t *v = val(s);
    CU_ASSERT(json_is_integer(v));
    if (!json_is_integer(v) || json_integer_value(v) != want)
        fprintf(stderr, "\n  '%s' did not resolve to integer %lld\n", s, (long long)want);
    CU_ASSERT_EQUAL(json_integer_value(v), want);
    json_decref(v);
}

static void expect_real(const char *s, double want)
{
    json_t *v = val(s);
    CU_ASSERT(json_is_real(v));
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(v), want, fabs(want) * 1e-12);
    json_decref(v);
}

static void expect_str(const char *s, const char *want)
{
    json_t *v = val(s);
    CU_ASSERT(json_is_string(v));
    if (!json_is_string(v) || strcmp(json_string_value(v), want) != 0)
        fprintf(stderr, "\n  '%s' did not resolve to string '%s'\n", s, want);
    CU_ASSERT(json_is_string(v) && strcmp(json_string_value(v), want) == 0);
    json_decref(v);
}

static void expect_null(const char *s)
{
    json_t *v = val(s);
    CU_ASSERT(json_is_null(v));
    json_decref(v);
}

static void expect_bool(const char *s, int want)
{
    json_t *v = val(s);
    CU_ASSERT(want ? json_is_true(v) : json_is_false(v));
    json_decref(v);
}

static void test_core_schema(void)
{
    expect_null("null");
    expect_null("Null");
    expect_null("NULL");
    expect_null("~");
    expect_null("");
    expect_bool("true", 1);
    expect_bool("True", 1);
    expect_bool("TRUE", 1);
    expect_bool("false", 0);
    expect_bool("False", 0);
    expect_bool("FALSE", 0);
    expect_int("0", 0);
    expect_int("42", 42);
    expect_int("-17", -17);
    expect_int("+8", 8);
    expect_int("0755", 755); /* YAML 1.2: a leading zero is not octal */
    expect_int("0o755", 493);
    expect_int("0x1F", 31);
    expect_int("0xff", 255);
    expect_int("9223372036854775807", INT64_MAX);
    expect_int("-9223372036854775808", INT64_MIN);
    expect_real("1.5", 1.5);
    expect_real("-0.25", -0.25);
    expect_real(".5", 0.5);
    expect_real("1e3", 1000.0);
    expect_real("6.02E+23", 6.02e23);
    expect_real("3.", 3.0);
    expect_real("9223372036854775808", 9223372036854775808.0); /* past int64: a number still */
    /* Not in the core schema: strings (YAML 1.1 readers would say otherwise). */
    expect_str("yes", "yes");
    expect_str("no", "no");
    expect_str("on", "on");
    expect_str("off", "off");
    expect_str("tRue", "tRue");
    expect_str("nULL", "nULL");
    expect_str("0b101", "0b101");
    expect_str("0x", "0x");
    expect_str("0xZZ", "0xZZ");
    expect_str("1_000", "1_000");
    expect_str("1e", "1e");
    expect_str("e3", "e3");
    expect_str("1.2.3", "1.2.3");
    expect_str("12:30", "12:30");
    expect_str("100Mi", "100Mi");
    expect_str("al2023@latest", "al2023@latest");
    expect_str("-x", "-x");
    expect_str(".", ".");
    expect_str("+", "+");
}

static void test_quoted_and_block_are_strings(void)
{
    json_t *d;

    expect_str("\"true\"", "true");
    expect_str("'42'", "42");
    expect_str("\"null\"", "null");
    expect_str("''", "");
    expect_str("\"0x10\"", "0x10");
    expect_str("'1.5'", "1.5");
    expect_str("\"a\\tb\"", "a\tb");
    d = one("a: |\n  123\nb: >\n  true\n");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "a")), "123\n");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "b")), "true\n");
    json_decref(d);
    /* An embedded NUL from an escape survives (length-counted strings). */
    d = one("a: \"x\\0y\"\n");
    CU_ASSERT_EQUAL(json_string_length(json_object_get(d, "a")), 3);
    json_decref(d);
}

static void test_tags(void)
{
    json_t *v;

    expect_str("!!str 42", "42");
    expect_str("!!str true", "true");
    expect_str("!!str", "");
    expect_int("!!int \"7\"", 7);
    expect_int("!!int 0x10", 16);
    expect_bool("!!bool 'true'", 1);
    expect_real("!!float 3", 3.0);
    expect_real("!!float '2.5'", 2.5);
    expect_null("!!null ''");
    expect_str("! 42", "42"); /* the non-specific tag: a string */
    expect_str("!!timestamp 2026-01-02", "2026-01-02");
    v = one("!!map {a: 1}");
    CU_ASSERT(json_is_object(v));
    json_decref(v);
    v = one("!!seq [1]");
    CU_ASSERT(json_is_array(v));
    json_decref(v);
    CU_ASSERT(strstr(fails("v: !!int abc\n", CORE_E_PARSE), "line 1 column 4") != NULL);
    CU_ASSERT(strstr(fails("v: !!int 99999999999999999999\n", CORE_E_PARSE), "range") != NULL);
    fails("v: !!bool yes\n", CORE_E_PARSE);
    fails("v: !!float x\n", CORE_E_PARSE);
    fails("v: !!null 0\n", CORE_E_PARSE);
    CU_ASSERT(strstr(fails("v: !Ref x\n", CORE_E_PARSE), "unsupported tag") != NULL);
    fails("v: !!seq {a: 1}\n", CORE_E_PARSE);
    fails("v: !!map [1]\n", CORE_E_PARSE);
    fails("v: !!set [1]\n", CORE_E_PARSE);
    fails("!!int k: v\n", CORE_E_PARSE);
}

static void test_inf_nan_refused(void)
{
    /* JSON (and so every API object) has no infinity or NaN; saying so beats a silent 0. */
    CU_ASSERT(strstr(fails("v: .inf\n", CORE_E_PARSE), "JSON cannot represent") != NULL);
    fails("v: -.Inf\n", CORE_E_PARSE);
    fails("v: .NaN\n", CORE_E_PARSE);
    fails("v: !!float .nan\n", CORE_E_PARSE);
    fails("v: 1e999\n", CORE_E_PARSE);
    expect_str("'.inf'", ".inf");
    expect_str(".infinity", ".infinity");
}

static void test_multi_document(void)
{
    const char *text = "# leading comment\n---\na: 1\n---\n---\n~\n---\n# only a comment\n"
                       "---\n- x\n...\n---\nplain\n";
    json_t **docs = NULL;
    size_t n = 0;
    struct core_err err;

    CU_ASSERT_EQUAL_FATAL(k8s_yaml_parse(text, strlen(text), &docs, &n, &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(docs[0], "a")), 1);
    CU_ASSERT(json_is_array(docs[1]) && json_array_size(docs[1]) == 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(docs[2]), "plain");
    k8s_yaml_docs_free(docs, n);

    CU_ASSERT_EQUAL(k8s_yaml_parse("", 0, &docs, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_PTR_NULL(docs);
    CU_ASSERT_EQUAL(k8s_yaml_parse("---\n---\n", 8, &docs, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 0);
    k8s_yaml_docs_free(NULL, 0);
    /* Not NUL-terminated: only len bytes are read. */
    CU_ASSERT_EQUAL(k8s_yaml_parse("a: 1\nb: [", 5, &docs, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 1);
    k8s_yaml_docs_free(docs, n);
}

static void test_anchors_and_aliases(void)
{
    json_t *d, *a, *b;

    d = one("base: &b {cpu: 1, labels: [x, y]}\ncopy: *b\nname: &n web\nother: *n\n"
            "*n : keyed-by-alias\n");
    a = json_object_get(d, "base");
    b = json_object_get(d, "copy");
    CU_ASSERT(json_equal(a, b));
    CU_ASSERT(a != b); /* a copy: editing one must not edit the other */
    CU_ASSERT(json_object_get(a, "labels") != json_object_get(b, "labels"));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "other")), "web");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "web")), "keyed-by-alias");
    json_decref(d);
    /* An anchored key used as a value: the value its scalar resolves to. */
    d = one("&k 42: x\n&s name: y\na: *k\nb: *s\n");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(d, "a")), 42);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "b")), "name");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "42")), "x");
    json_decref(d);
    /* A later anchor of the same name replaces the earlier. */
    d = one("- &a 1\n- *a\n- &a two\n- *a\n");
    CU_ASSERT_EQUAL(json_integer_value(json_array_get(d, 1)), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(d, 3)), "two");
    json_decref(d);
    CU_ASSERT(strstr(fails("a: *nope\n", CORE_E_PARSE), "names no anchor") != NULL);
    /* An anchor cannot be used inside itself (no cycles). */
    fails("a: &x [1, *x]\n", CORE_E_PARSE);
    /* Anchors do not cross documents. */
    fails("a: &x 1\n---\nb: *x\n", CORE_E_PARSE);
    /* A collection aliased as a key. */
    fails("a: &x [1]\n*x : 2\n", CORE_E_PARSE);
}

static void test_billion_laughs(void)
{
    struct core_buf b;
    const char *msg;

    /* Nine levels of ten aliases each: 10^9 nodes if expanded; stops at the cap. */
    core_buf_init(&b, 1u << 20);
    CU_ASSERT_EQUAL_FATAL(core_buf_append_str(&b, "a: &a [\"lol\",\"lol\",\"lol\",\"lol\","
                                                  "\"lol\",\"lol\",\"lol\",\"lol\",\"lol\","
                                                  "\"lol\"]\n"), 0);
    for (char c = 'b'; c <= 'i'; c++) {
        char p = (char)(c - 1);
        CU_ASSERT_EQUAL_FATAL(core_buf_appendf(&b, "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,"
                                                   "*%c,*%c]\n", c, c, p, p, p, p, p, p, p, p,
                                               p, p), 0);
    }
    msg = fails(b.data, CORE_E_TOOBIG);
    CU_ASSERT(strstr(msg, "1000000 nodes") != NULL);
    CU_ASSERT(strstr(msg, "line ") != NULL);
    core_buf_cleanup(&b);
    /* Just under the cap is fine: 5 levels of 10 = 111,111 nodes. */
    core_buf_init(&b, 1u << 20);
    CU_ASSERT_EQUAL_FATAL(core_buf_append_str(&b, "a: &a [1,1,1,1,1,1,1,1,1,1]\n"), 0);
    for (char c = 'b'; c <= 'e'; c++) {
        char p = (char)(c - 1);
        CU_ASSERT_EQUAL_FATAL(core_buf_appendf(&b, "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,"
                                                   "*%c,*%c]\n", c, c, p, p, p, p, p, p, p, p,
                                               p, p), 0);
    }
    {
        json_t *d = one(b.data);
        json_t *e = json_object_get(d, "e");
        CU_ASSERT_EQUAL(json_array_size(e), 10);
        CU_ASSERT_EQUAL(json_array_size(json_array_get(json_array_get(e, 9), 9)), 10);
        json_decref(d);
    }
    core_buf_cleanup(&b);
}

static void test_keys(void)
{
    json_t *d;
    const char *msg;

    d = one("1: a\ntrue: b\nnull: c\n0x10: d\n\"q\": e\n");
    /* Keys are the text as written. */
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "1")), "a");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "true")), "b");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "null")), "c");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "0x10")), "d");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "q")), "e");
    json_decref(d);
    msg = fails("a: 1\nb: 2\na: 3\n", CORE_E_PARSE);
    CU_ASSERT(strstr(msg, "duplicate key 'a'") != NULL);
    CU_ASSERT(strstr(msg, "line 3 column 1") != NULL);
    fails("spec:\n  x: 1\n  'x': 2\n", CORE_E_PARSE); /* same text, other style */
    CU_ASSERT(strstr(fails("? [a, b]\n: 1\n", CORE_E_PARSE), "keys must be scalars") != NULL);
    CU_ASSERT(strstr(fails("? {a: 1}\n: 1\n", CORE_E_PARSE), "line 1 column 3") != NULL);
    /* The same key in two different mappings is fine. */
    d = one("a: {x: 1}\nb: {x: 2}\n");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(d, "b"), "x")), 2);
    json_decref(d);
}

static void test_syntax_errors_have_positions(void)
{
    const char *msg;

    msg = fails("a: 1\nb: [1, 2\nc: 3\n", CORE_E_PARSE);
    CU_ASSERT(strstr(msg, "line ") != NULL && strstr(msg, "column ") != NULL);
    msg = fails("a: 1\n  b: 2\n", CORE_E_PARSE);
    CU_ASSERT(strstr(msg, "line 2 column ") != NULL);
    msg = fails("a: \"unterminated\n", CORE_E_PARSE);
    CU_ASSERT(strstr(msg, "line ") != NULL);
    msg = fails("key: value\n\tbad: tab\n", CORE_E_PARSE);
    CU_ASSERT(strstr(msg, "line 2") != NULL);
    fails("a: \"\xff\"\n", CORE_E_PARSE); /* not UTF-8 */
}

static void test_limits(void)
{
    struct core_buf b;
    json_t **docs = NULL;
    size_t n = 0;
    struct core_err err;
    const char *msg;
    char *big;

    /* Depth: 128 nested flow sequences parse, 129 do not. */
    core_buf_init(&b, 4096);
    for (int i = 0; i < 128; i++)
        CU_ASSERT_EQUAL(core_buf_append_char(&b, '['), 0);
    for (int i = 0; i < 128; i++)
        CU_ASSERT_EQUAL(core_buf_append_char(&b, ']'), 0);
    CU_ASSERT_EQUAL(k8s_yaml_parse(b.data, b.len, &docs, &n, &err), 0);
    k8s_yaml_docs_free(docs, n);
    core_buf_reset(&b);
    for (int i = 0; i < 129; i++)
        CU_ASSERT_EQUAL(core_buf_append_char(&b, '['), 0);
    for (int i = 0; i < 129; i++)
        CU_ASSERT_EQUAL(core_buf_append_char(&b, ']'), 0);
    msg = fails(b.data, CORE_E_TOOBIG);
    CU_ASSERT(strstr(msg, "deeper than 128") != NULL);
    CU_ASSERT(strstr(msg, "line 1 column 129") != NULL);
    /* Depth through an alias: a 100-deep anchor used 100 levels down. */
    core_buf_reset(&b);
    CU_ASSERT_EQUAL(core_buf_append_str(&b, "- &d "), 0);
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(core_buf_append_char(&b, '['), 0);
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(core_buf_append_char(&b, ']'), 0);
    CU_ASSERT_EQUAL(core_buf_append_str(&b, "\n- "), 0);
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(core_buf_append_char(&b, '['), 0);
    CU_ASSERT_EQUAL(core_buf_append_str(&b, "*d"), 0);
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(core_buf_append_char(&b, ']'), 0);
    CU_ASSERT(strstr(fails(b.data, CORE_E_TOOBIG), "nests deeper") != NULL);
    core_buf_cleanup(&b);

    /* Input size: checked before any parsing. */
    big = core_calloc(1, (size_t)K8S_YAML_MAX_INPUT + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, ' ', (size_t)K8S_YAML_MAX_INPUT + 1);
    CU_ASSERT_EQUAL(k8s_yaml_parse(big, (size_t)K8S_YAML_MAX_INPUT + 1, &docs, &n, &err),
                    CORE_E_TOOBIG);
    CU_ASSERT(strstr(err.message, "16777216") != NULL);
    core_free(big);
    CU_ASSERT_EQUAL(k8s_yaml_parse(NULL, 0, &docs, &n, &err), CORE_E_INVAL);
}

static void test_alloc_failures(void)
{
    const char *ok = "a: &x {b: [1, 2, {c: d}]}\ne: *x\n---\n- 1\n---\n- 2\n---\n- 3\n---\n- 4\n"
                     "---\n- 5\n";
    json_t **docs = NULL;
    size_t n = 0;
    struct core_err err;
    unsigned long i;
    int rc;

    for (i = 1; i < 100; i++) {
        core_alloc_fail_after(i);
        rc = k8s_yaml_parse(ok, strlen(ok), &docs, &n, &err);
        core_alloc_fail_after(0);
        if (rc == 0) {
            CU_ASSERT_EQUAL(n, 6);
            k8s_yaml_docs_free(docs, n);
            break;
        }
        CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
    }
    CU_ASSERT(i > 1 && i < 100);
}

/* The example manifests decode with the typed decoders, errors name file and position. */
static void test_manifests(void)
{
    json_t **docs = NULL;
    size_t n = 0;
    struct core_err err;
    struct k8s_ec2nodeclass nc;
    struct k8s_nodepool np;

    CU_ASSERT_EQUAL_FATAL(k8s_yaml_load_file(tests_data_path("manifests/nodeclass-al2023.yaml"),
                                             &docs, &n, &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    memset(&nc, 0, sizeof nc);
    CU_ASSERT_EQUAL(k8s_ec2nodeclass_decode(docs[0], &nc, &err), 0);
    CU_ASSERT_EQUAL(nc.ami_family, K8S_AMI_AL2023);
    CU_ASSERT_STRING_EQUAL(nc.ami_terms[0].alias, "al2023@latest");
    CU_ASSERT(!nc.kubelet.has_max_pods);
    CU_ASSERT(nc.kubelet.has_pods_per_core && nc.kubelet.pods_per_core == 10);
    k8s_ec2nodeclass_cleanup(&nc);
    k8s_yaml_docs_free(docs, n);

    CU_ASSERT_EQUAL_FATAL(k8s_yaml_load_file(tests_data_path("manifests/nodepool-general.yaml"),
                                             &docs, &n, &err), 0);
    memset(&np, 0, sizeof np);
    CU_ASSERT_EQUAL(k8s_nodepool_decode(docs[0], &np, &err), 0);
    CU_ASSERT_STRING_EQUAL(k8s_labels_get(&np.template_labels, "team"), "web");
    CU_ASSERT_EQUAL(np.ntaints, 1);
    CU_ASSERT_EQUAL(np.nstartup_taints, 1);
    k8s_nodepool_cleanup(&np);
    k8s_yaml_docs_free(docs, n);

    CU_ASSERT_EQUAL_FATAL(k8s_yaml_load_file(tests_data_path("manifests/multi.yaml"), &docs, &n,
                                             &err), 0);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(docs[1], "kind")), "EC2NodeClass");
    k8s_yaml_docs_free(docs, n);

    CU_ASSERT_EQUAL(k8s_yaml_load_file(tests_data_path("manifests/nodeclass-bad-yaml.yaml"),
                                       &docs, &n, &err), CORE_E_PARSE);
    CU_ASSERT(strstr(err.message, "nodeclass-bad-yaml.yaml: line 9 column ") != NULL);
    CU_ASSERT_EQUAL(k8s_yaml_load_file(tests_data_path("manifests/absent.yaml"), &docs, &n,
                                       &err), CORE_E_NOTFOUND);
    CU_ASSERT(strstr(err.message, "absent.yaml") != NULL);
}

TESTS_SUITE(k8s_yaml, "k8s_yaml", NULL, NULL, TESTS_CASE(test_core_schema),
            TESTS_CASE(test_quoted_and_block_are_strings), TESTS_CASE(test_tags),
            TESTS_CASE(test_inf_nan_refused), TESTS_CASE(test_multi_document),
            TESTS_CASE(test_anchors_and_aliases), TESTS_CASE(test_billion_laughs),
            TESTS_CASE(test_keys), TESTS_CASE(test_syntax_errors_have_positions),
            TESTS_CASE(test_limits), TESTS_CASE(test_alloc_failures),
            TESTS_CASE(test_manifests))
