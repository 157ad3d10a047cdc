/*
 * tests/unit/test_sim_xml.c — suite "sim_xml": the emulator's XML writer (sim/xmlw.c).
 *
 * What is proven here:
 *  - a document with every kind of element (namespace root, text, numbers, booleans, times,
 *    prices, tags) reads back through stoker's own parser (aws_xml_parser) with the same
 *    values;
 *  - the five special characters and a carriage return round-trip exactly; control
 *    characters, invalid, truncated and overlong UTF-8, surrogates and U+FFFE become U+FFFD
 *    while valid multi-byte characters pass through;
 *  - errors are sticky (nesting beyond SIM_XML_DEPTH, a close without an open, the buffer's
 *    limit, an allocation failure) and an unbalanced document is refused at finish.
 */
#include "tests/unit/harness.h"

#include "aws/aws.h"
#include "core/core.h"
#include "sim/internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define S CORE_NS_PER_S
#define WALL_2026_03_02_10 (INT64_C(1772445600) * S) /* 2026-03-02T10:00:00Z */

/* Parses buf; returns the root (parser in *pp, freed by the caller) or NULL. */
static const struct aws_xml_node *parse(struct aws_xml_parser **pp, const struct core_buf *b)
{
    const struct aws_xml_node *root = NULL;
    struct core_err err;
    core_err_clear(&err);
    *pp = aws_xml_parser_new(NULL);
    if (!*pp)
        return NULL;
    if (aws_xml_parser_feed(*pp, b->data ? b->data : "", b->len, &err) != 0 ||
        aws_xml_parser_finish(*pp, &root, &err) != 0) {
        fprintf(stderr, "\n  parse failed: %s\n  doc: %s\n", err.message, core_buf_cstr(b));
        return NULL;
    }
    return root;
}

/* Writes <r><v>text[0..len)</v></r> and returns what the parser reads back in <v> (copied into
 * out), or -1. */
static int round_trip(const char *text, size_t len, char *out, size_t outsz, struct core_buf *raw)
{
    struct core_buf b;
    struct sim_xml x;
    struct aws_xml_parser *p = NULL;
    const struct aws_xml_node *root, *v;
    int rc = -1;

    core_buf_init(&b, 1u << 16);
    sim_xml_init(&x, &b);
    sim_xml_decl(&x);
    sim_xml_open(&x, "r");
    sim_xml_textn(&x, "v", text, len);
    sim_xml_close(&x);
    if (sim_xml_finish(&x) == 0 && (root = parse(&p, &b)) != NULL &&
        (v = aws_xml_child(root, "v")) != NULL) {
        core_strlcpy(out, v->text, outsz);
        rc = 0;
    }
    if (raw)
        CU_ASSERT_EQUAL(core_buf_append(raw, b.data, b.len), 0);
    aws_xml_parser_free(p);
    core_buf_cleanup(&b);
    return rc;
}

static void test_document_round_trip(void)
{
    struct core_buf b;
    struct sim_xml x;
    struct aws_xml_parser *p = NULL;
    const struct aws_xml_node *root;
    struct aws_ec2_tag tv[2] = {{"Name", "node-1"}, {"empty", ""}};
    struct aws_ec2_tags tags = {tv, 2};
    core_ns t;

    core_buf_init(&b, 1u << 16);
    sim_xml_init(&x, &b);
    sim_xml_decl(&x);
    sim_xml_open_ns(&x, "DescribeThingsResponse", SIM_EC2_XMLNS);
    sim_xml_text(&x, "requestId", "req-1");
    sim_xml_text(&x, "absent", NULL);
    sim_xml_text(&x, "blank", "");
    sim_xml_i64(&x, "big", INT64_MIN);
    sim_xml_bool(&x, "yes", 7);
    sim_xml_bool(&x, "no", 0);
    sim_xml_time(&x, "when", WALL_2026_03_02_10 + 123 * CORE_NS_PER_MS + 999);
    sim_xml_time(&x, "epoch", 0);
    sim_xml_time(&x, "before", -1);
    sim_xml_price(&x, "price", 0.096);
    sim_xml_price(&x, "tiny", 0.0000004);
    sim_xml_price(&x, "nan", NAN);
    sim_xml_textf(&x, "fmt", "%s-%d", "abc", 42);
    sim_xml_tags(&x, &tags);
    sim_xml_close(&x);
    CU_ASSERT_EQUAL(sim_xml_finish(&x), 0);

    CU_ASSERT_EQUAL(strncmp(b.data, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", 38), 0);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(b.data, "<DescribeThingsResponse xmlns=\"" SIM_EC2_XMLNS "\">"));
    CU_ASSERT_PTR_NULL(strstr(b.data, "absent"));
    root = parse(&p, &b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_STRING_EQUAL(root->name, "DescribeThingsResponse");
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(root, "requestId"), "req-1");
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(root, "blank"), "");
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(root, "big"), "-9223372036854775808");
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(root, "yes"), "true");
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(root, "no"), "false");
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(root, "when"), "2026-03-02T10:00:00.123Z");
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(root, "epoch"), "1970-01-01T00:00:00.000Z");
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(root, "before"), "1969-12-31T23:59:59.999Z");
    CU_ASSERT_EQUAL(core_time_parse_rfc3339(aws_xml_child_text(root, "when"), &t), 0);
    CU_ASSERT_EQUAL(t, WALL_2026_03_02_10 + 123 * CORE_NS_PER_MS);
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(root, "price"), "0.096000");
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(root, "tiny"), "0.000000");
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(root, "nan"), "0.000000");
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(root, "fmt"), "abc-42");
    {
        const struct aws_xml_node *ts = aws_xml_child(root, "tagSet");
        const struct aws_xml_node *it1 = aws_xml_next(ts, NULL, "item");
        const struct aws_xml_node *it2 = aws_xml_next(ts, it1, "item");
        CU_ASSERT_PTR_NOT_NULL_FATAL(it2);
        CU_ASSERT_STRING_EQUAL(aws_xml_child_text(it1, "key"), "Name");
        CU_ASSERT_STRING_EQUAL(aws_xml_child_text(it1, "value"), "node-1");
        CU_ASSERT_STRING_EQUAL(aws_xml_child_text(it2, "key"), "empty");
        CU_ASSERT_STRING_EQUAL(aws_xml_child_text(it2, "value"), "");
        CU_ASSERT_PTR_NULL(aws_xml_next(ts, it2, "item"));
    }
    aws_xml_parser_free(p);
    core_buf_cleanup(&b);
}

static void test_no_tags_writes_nothing(void)
{
    struct core_buf b;
    struct sim_xml x;
    struct aws_ec2_tags none = {NULL, 0};
    core_buf_init(&b, 1024);
    sim_xml_init(&x, &b);
    sim_xml_tags(&x, &none);
    sim_xml_tags(&x, NULL);
    CU_ASSERT_EQUAL(sim_xml_finish(&x), 0);
    CU_ASSERT_EQUAL(b.len, 0);
    core_buf_cleanup(&b);
}

static void test_escaping(void)
{
    static const char special[] = "a<b>&c\"d'e\r\nf\tg]]>h";
    char out[256];
    struct core_buf raw;
    core_buf_init(&raw, 1u << 16);
    CU_ASSERT_EQUAL_FATAL(round_trip(special, strlen(special), out, sizeof out, &raw), 0);
    CU_ASSERT_STRING_EQUAL(out, special);
    CU_ASSERT_PTR_NOT_NULL(strstr(raw.data, "a&lt;b&gt;&amp;c&quot;d&apos;e&#13;\nf\tg]]&gt;h"));
    core_buf_cleanup(&raw);
}

static void test_invalid_bytes_become_replacement(void)
{
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        {"ok \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", 14, "ok \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"},
        {"a\x01" "b", 3, "a\xEF\xBF\xBD" "b"},
        {"nul\0x", 5, "nul\xEF\xBF\xBDx"},
        {"\x7F", 1, "\x7F"},
        {"\xFF", 1, "\xEF\xBF\xBD"},
        {"\xC0\xAF", 2, "\xEF\xBF\xBD\xEF\xBF\xBD"},         /* overlong '/' */
        {"\xE0\x80\xAF", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* overlong, 3 bytes */
        {"\xED\xA0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* surrogate */
        {"\xEF\xBF\xBE", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* U+FFFE */
        {"\xF4\x90\x80\x80", 4,
         "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* beyond U+10FFFF */
        {"x\xE2\x82", 3, "x\xEF\xBF\xBD\xEF\xBF\xBD"},        /* truncated at the end */
        {"\xE2\x82y", 3, "\xEF\xBF\xBD\xEF\xBF\xBDy"},        /* truncated before ASCII */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[256];
        int rc = round_trip(cases[i].in, cases[i].len, out, sizeof out, NULL);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc == 0 && strcmp(out, cases[i].want) != 0)
            fprintf(stderr, "\n  case %zu: got '%s'\n", i, out);
        if (rc == 0)
            CU_ASSERT_STRING_EQUAL(out, cases[i].want);
    }
}

static void test_depth_limit_is_sticky(void)
{
    struct core_buf b;
    struct sim_xml x;
    size_t len;
    core_buf_init(&b, 1u << 16);
    sim_xml_init(&x, &b);
    for (unsigned i = 0; i < SIM_XML_DEPTH; i++)
        sim_xml_open(&x, "d");
    CU_ASSERT_EQUAL(x.err, 0);
    sim_xml_open(&x, "tooDeep");
    CU_ASSERT_EQUAL(x.err, CORE_E_TOOBIG);
    len = b.len;
    sim_xml_text(&x, "more", "text");
    for (unsigned i = 0; i < SIM_XML_DEPTH; i++)
        sim_xml_close(&x);
    CU_ASSERT_EQUAL(b.len, len);
    CU_ASSERT_PTR_NULL(strstr(b.data, "tooDeep"));
    CU_ASSERT_EQUAL(sim_xml_finish(&x), CORE_E_TOOBIG);
    core_buf_cleanup(&b);
}

static void test_full_depth_text_is_refused(void)
{
    struct core_buf b;
    struct sim_xml x;
    core_buf_init(&b, 1u << 16);
    sim_xml_init(&x, &b);
    for (unsigned i = 0; i < SIM_XML_DEPTH; i++)
        sim_xml_open(&x, "d");
    sim_xml_text(&x, "leaf", "x");
    CU_ASSERT_EQUAL(sim_xml_finish(&x), CORE_E_TOOBIG);
    core_buf_cleanup(&b);
}

static void test_unbalanced(void)
{
    struct core_buf b;
    struct sim_xml x;
    core_buf_init(&b, 1024);
    sim_xml_init(&x, &b);
    sim_xml_close(&x);
    CU_ASSERT_EQUAL(sim_xml_finish(&x), CORE_E_STATE);
    sim_xml_open(&x, "a"); /* sticky: nothing more is written */
    CU_ASSERT_EQUAL(b.len, 0);

    core_buf_reset(&b);
    sim_xml_init(&x, &b);
    sim_xml_open(&x, "a");
    sim_xml_open(&x, "b");
    sim_xml_close(&x);
    CU_ASSERT_EQUAL(sim_xml_finish(&x), CORE_E_STATE);
    sim_xml_close(&x);
    CU_ASSERT_EQUAL(sim_xml_finish(&x), 0);
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&b), "<a><b></b></a>");
    core_buf_cleanup(&b);
}

static void test_buffer_limit_is_sticky(void)
{
    struct core_buf b;
    struct sim_xml x;
    size_t len;
    core_buf_init(&b, 40);
    sim_xml_init(&x, &b);
    sim_xml_open(&x, "root");
    sim_xml_text(&x, "a", "0123456789");
    CU_ASSERT_EQUAL(x.err, 0);
    sim_xml_text(&x, "b", "0123456789012345678901234567890123456789");
    CU_ASSERT_EQUAL(x.err, CORE_E_TOOBIG);
    len = b.len;
    sim_xml_close(&x);
    sim_xml_text(&x, "c", "");
    CU_ASSERT_EQUAL(b.len, len);
    CU_ASSERT_EQUAL(sim_xml_finish(&x), CORE_E_TOOBIG);
    core_buf_cleanup(&b);
}

static void test_out_of_memory_is_sticky(void)
{
    struct core_buf b;
    struct sim_xml x;
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    core_buf_init(&b, 1u << 20);
    sim_xml_init(&x, &b);
    core_alloc_fail_after(1);
    sim_xml_textf(&x, "v", "%s", big); /* the formatting buffer or the body: either fails */
    core_alloc_fail_after(0);
    CU_ASSERT_EQUAL(sim_xml_finish(&x), CORE_E_NOMEM);
    sim_xml_text(&x, "w", "more");
    CU_ASSERT_EQUAL(sim_xml_finish(&x), CORE_E_NOMEM);
    core_buf_cleanup(&b);
}

static void test_long_formatted_text(void)
{
    char big[1000], out[1200];
    struct core_buf b;
    struct sim_xml x;
    struct aws_xml_parser *p = NULL;
    const struct aws_xml_node *root;
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    core_buf_init(&b, 1u << 16);
    sim_xml_init(&x, &b);
    sim_xml_open(&x, "r");
    sim_xml_textf(&x, "v", "<%s>", big);
    sim_xml_close(&x);
    CU_ASSERT_EQUAL_FATAL(sim_xml_finish(&x), 0);
    root = parse(&p, &b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    snprintf(out, sizeof out, "<%s>", big);
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(root, "v"), out);
    aws_xml_parser_free(p);
    core_buf_cleanup(&b);
}

TESTS_SUITE(sim_xml, "sim_xml", NULL, NULL, TESTS_CASE(test_document_round_trip),
            TESTS_CASE(test_no_tags_writes_nothing), TESTS_CASE(test_escaping),
            TESTS_CASE(test_invalid_bytes_become_replacement),
            TESTS_CASE(test_depth_limit_is_sticky), TESTS_CASE(test_full_depth_text_is_refused),
            TESTS_CASE(test_unbalanced), TESTS_CASE(test_buffer_limit_is_sticky),
            TESTS_CASE(test_out_of_memory_is_sticky), TESTS_CASE(test_long_formatted_text))
