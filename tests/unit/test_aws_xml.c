/*
 * tests/unit/test_aws_xml.c — the bounded XML tree (EC2-shaped documents fed whole and byte by
 * byte, limits, malformed input, DOCTYPE refusal, allocation failures) and the Query form
 * (exact encoding, round trip through the parser).
 */
#include "tests/unit/harness.h"

#include "aws/aws.h"

#include <string.h>

static const char describe_subnets[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<DescribeSubnetsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n"
    "    <requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>\n"
    "    <subnetSet>\n"
    "        <item>\n"
    "            <subnetId>subnet-0a</subnetId>\n"
    "            <availabilityZone>us-east-1a</availabilityZone>\n"
    "            <availableIpAddressCount>251</availableIpAddressCount>\n"
    "            <tagSet><item><key>Name</key><value>a &amp; b</value></item></tagSet>\n"
    "        </item>\n"
    "        <item>\n"
    "            <subnetId>subnet-0b</subnetId>\n"
    "            <availabilityZone>us-east-1b</availabilityZone>\n"
    "        </item>\n"
    "    </subnetSet>\n"
    "    <nextToken>tok&lt;1&gt;</nextToken>\n"
    "</DescribeSubnetsResponse>\n";

static void check_subnets_tree(const struct aws_xml_node *root)
{
    const struct aws_xml_node *set, *it;
    CU_ASSERT_STRING_EQUAL(root->name, "DescribeSubnetsResponse");
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(root, "requestId"),
                           "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE");
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(root, "nextToken"), "tok<1>");
    set = aws_xml_child(root, "subnetSet");
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    CU_ASSERT_STRING_EQUAL(set->text, ""); /* whitespace between elements is dropped */
    it = aws_xml_next(set, NULL, "item");
    CU_ASSERT_PTR_NOT_NULL_FATAL(it);
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(it, "subnetId"), "subnet-0a");
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(it, "availableIpAddressCount"), "251");
    CU_ASSERT_STRING_EQUAL(aws_xml_path(it, "tagSet/item/value")->text, "a & b");
    it = aws_xml_next(set, it, "item");
    CU_ASSERT_PTR_NOT_NULL_FATAL(it);
    CU_ASSERT_STRING_EQUAL(aws_xml_child_text(it, "subnetId"), "subnet-0b");
    CU_ASSERT_PTR_NULL(aws_xml_child_text(it, "availableIpAddressCount"));
    CU_ASSERT_PTR_NULL(aws_xml_next(set, it, "item"));
    CU_ASSERT_PTR_NULL(aws_xml_path(root, "subnetSet/nothing/here"));
}

static void test_xml_whole_and_bytewise(void)
{
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        struct aws_xml_parser *p = aws_xml_parser_new(NULL);
        const struct aws_xml_node *root = NULL;
        struct core_err err;
        size_t len = strlen(describe_subnets);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        if (bytewise) {
            for (size_t i = 0; i < len; i++)
                CU_ASSERT_EQUAL_FATAL(aws_xml_parser_feed(p, describe_subnets + i, 1, &err), 0);
        } else {
            CU_ASSERT_EQUAL_FATAL(aws_xml_parser_feed(p, describe_subnets, len, &err), 0);
        }
        CU_ASSERT_EQUAL_FATAL(aws_xml_parser_finish(p, &root, &err), 0);
        check_subnets_tree(root);
        aws_xml_parser_free(p);
    }
}

static int parse_all(const char *doc, const struct aws_xml_limits *lim, struct core_err *err)
{
    struct aws_xml_parser *p = aws_xml_parser_new(lim);
    const struct aws_xml_node *root;
    int rc;
    if (!p)
        return CORE_E_NOMEM;
    rc = aws_xml_parser_feed(p, doc, strlen(doc), err);
    if (!rc)
        rc = aws_xml_parser_finish(p, &root, err);
    aws_xml_parser_free(p);
    return rc;
}

static void test_xml_malformed(void)
{
    struct core_err err;
    const char *bad[] = {
        "",                                          /* nothing */
        "<a><b></a>",                                /* mismatched */
        "<a>",                                       /* truncated */
        "<a></a><b></b>",                            /* two roots */
        "<html><body>502 Bad Gateway</body>",        /* proxy page cut short */
        "not xml at all",
        "<a>&undefined;</a>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        core_err_clear(&err);
        CU_ASSERT_EQUAL(parse_all(bad[i], NULL, &err), CORE_E_PARSE);
        CU_ASSERT_EQUAL(strncmp(err.message, "XML: ", 5), 0);
    }
    CU_ASSERT_EQUAL(parse_all("<a><b>", NULL, &err), CORE_E_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "line 1"));
}

static void test_xml_doctype_refused(void)
{
    struct core_err err;
    const char *laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                         "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]><lolz>&lol2;</lolz>";
    CU_ASSERT_EQUAL(parse_all(laughs, NULL, &err), CORE_E_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "document type"));
}

static void test_xml_limits(void)
{
    struct aws_xml_limits lim = {4, 10, 8, 200};
    struct core_err err;
    CU_ASSERT_EQUAL(parse_all("<a><b><c><d>x</d></c></b></a>", &lim, &err), 0);
    CU_ASSERT_EQUAL(parse_all("<a><b><c><d><e/></d></c></b></a>", &lim, &err), CORE_E_TOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "deeper"));
    CU_ASSERT_EQUAL(parse_all("<a><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/></a>", &lim, &err),
                    CORE_E_TOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "more elements"));
    CU_ASSERT_EQUAL(parse_all("<a>123456789</a>", &lim, &err), CORE_E_TOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "text"));
    {
        char big[400];
        memset(big, ' ', sizeof big);
        memcpy(big, "<a>", 3);
        memcpy(big + sizeof big - 5, "</a>", 5);
        CU_ASSERT_EQUAL(parse_all(big, &lim, &err), CORE_E_TOOBIG);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "larger than 200"));
    }
}

static void test_xml_error_is_sticky(void)
{
    struct aws_xml_parser *p = aws_xml_parser_new(NULL);
    const struct aws_xml_node *root = NULL;
    struct core_err err;
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(aws_xml_parser_feed(p, "<a></b>", 7, &err), CORE_E_PARSE);
    CU_ASSERT_EQUAL(aws_xml_parser_feed(p, "<c/>", 4, &err), CORE_E_PARSE);
    CU_ASSERT_EQUAL(aws_xml_parser_finish(p, &root, &err), CORE_E_PARSE);
    CU_ASSERT_PTR_NULL(root);
    aws_xml_parser_free(p);
}

static void test_xml_alloc_failures(void)
{
    for (unsigned long n = 1;; n++) {
        struct core_err err;
        int rc;
        core_alloc_fail_after(n);
        rc = parse_all(describe_subnets, NULL, &err);
        if (core_alloc_failures() == 0) {
            core_alloc_fail_after(0);
            CU_ASSERT_EQUAL(rc, 0);
            break;
        }
        core_alloc_fail_after(0);
        CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
        CU_ASSERT_FATAL(n < 10000);
    }
}

static void test_query_encode_exact(void)
{
    struct aws_query q;
    struct core_buf b;
    aws_query_init(&q);
    core_buf_init(&b, 4096);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "DescribeSubnets"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Version", "2016-11-15"), 0);
    CU_ASSERT_EQUAL(aws_query_addf(&q, "tag:karpenter.sh/discovery", "Filter.%d.Name", 1), 0);
    CU_ASSERT_EQUAL(aws_query_addf(&q, "my cluster/ü*~", "Filter.%d.Value.%d", 1, 1), 0);
    CU_ASSERT_EQUAL(aws_query_encode(&q, &b), 0);
    CU_ASSERT_STRING_EQUAL(b.data,
                           "Action=DescribeSubnets&Version=2016-11-15"
                           "&Filter.1.Name=tag%3Akarpenter.sh%2Fdiscovery"
                           "&Filter.1.Value.1=my%20cluster%2F%C3%BC%2A~");
    CU_ASSERT_STRING_EQUAL(aws_query_get(&q, "Version"), "2016-11-15");
    CU_ASSERT_PTR_NULL(aws_query_get(&q, "Nope"));
    core_buf_cleanup(&b);
    aws_query_cleanup(&q);
}

static void test_query_parse_roundtrip(void)
{
    struct aws_query q, back;
    struct core_buf b;
    struct core_err err;
    aws_query_init(&q);
    aws_query_init(&back);
    core_buf_init(&b, 4096);
    CU_ASSERT_EQUAL(aws_query_add(&q, "UserData", "IyEvYmluL2Jhc2gK+/="), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Empty", ""), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "a&b=c", "x y"), 0);
    CU_ASSERT_EQUAL(aws_query_encode(&q, &b), 0);
    CU_ASSERT_EQUAL(aws_query_parse(&back, b.data, b.len, &err), 0);
    CU_ASSERT_EQUAL_FATAL(back.n, 3);
    CU_ASSERT_STRING_EQUAL(aws_query_get(&back, "UserData"), "IyEvYmluL2Jhc2gK+/=");
    CU_ASSERT_STRING_EQUAL(aws_query_get(&back, "Empty"), "");
    CU_ASSERT_STRING_EQUAL(aws_query_get(&back, "a&b=c"), "x y");
    /* '+' in a raw form body means a space; a bare name has an empty value. */
    CU_ASSERT_EQUAL(aws_query_parse(&back, "A=b+c&&Flag", 11, &err), 0);
    CU_ASSERT_EQUAL(back.n, 2);
    CU_ASSERT_STRING_EQUAL(aws_query_get(&back, "A"), "b c");
    CU_ASSERT_STRING_EQUAL(aws_query_get(&back, "Flag"), "");
    core_buf_cleanup(&b);
    aws_query_cleanup(&q);
    aws_query_cleanup(&back);
}

TESTS_SUITE(aws_xml, "aws_xml", NULL, NULL, TESTS_CASE(test_xml_whole_and_bytewise),
            TESTS_CASE(test_xml_malformed), TESTS_CASE(test_xml_doctype_refused),
            TESTS_CASE(test_xml_limits), TESTS_CASE(test_xml_error_is_sticky),
            TESTS_CASE(test_xml_alloc_failures), TESTS_CASE(test_query_encode_exact),
            TESTS_CASE(test_query_parse_roundtrip))
