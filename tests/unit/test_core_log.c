/*
 * tests/unit/test_core_log.c — structured log records (exact logfmt shape, JSON parsed back
 * with jansson), level filtering, quoting, and redaction of secrets by field name and by value.
 */
#include "tests/unit/harness.h"

#include "core/core.h"

#include <jansson.h>
#include <string.h>

/* 2026-11-22T13:00:00.250Z */
#define WALL (INT64_C(1795352400) * CORE_NS_PER_S + 250 * CORE_NS_PER_MS)

static void test_logfmt_record_shape(void)
{
    struct core_clock *c = core_clock_virtual_new(0, WALL);
    struct core_log *l = core_log_new_capture(CORE_LOG_LOGFMT, CORE_LOG_INFO, c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    core_log_write(l, CORE_LOG_INFO, "launcher", "default/claim-1", "launched instance",
                   "instance", "i-0abc", "zone", "us-east-1a", "note", "two words", NULL);
    CU_ASSERT_STRING_EQUAL(core_log_captured(l),
                           "ts=2026-11-22T13:00:00.250Z level=info component=launcher "
                           "key=default/claim-1 msg=\"launched instance\" instance=i-0abc "
                           "zone=us-east-1a note=\"two words\"\n");
    core_log_free(l);
    core_clock_free(c);
}

static void test_logfmt_quoting_and_levels(void)
{
    struct core_clock *c = core_clock_virtual_new(0, WALL);
    struct core_log *l = core_log_new_capture(CORE_LOG_LOGFMT, CORE_LOG_WARN, c);
    const char *out;
    core_log_write(l, CORE_LOG_INFO, "x", NULL, "filtered out", NULL);
    core_log_write(l, CORE_LOG_DEBUG, "x", NULL, "filtered out", NULL);
    core_log_write(l, CORE_LOG_ERROR, "x", NULL, "m", "q", "say \"hi\"\nbye", "e", "", "nul",
                   NULL, NULL);
    out = core_log_captured(l);
    CU_ASSERT_PTR_NULL(strstr(out, "filtered"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "level=error"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "q=\"say \\\"hi\\\"\\nbye\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, " e=\"\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, " nul=\"\""));
    /* one record, one line */
    CU_ASSERT_PTR_EQUAL(strchr(out, '\n'), out + strlen(out) - 1);
    core_log_free(l);
    core_clock_free(c);
}

static void test_json_record(void)
{
    struct core_clock *c = core_clock_virtual_new(0, WALL);
    struct core_log *l = core_log_new_capture(CORE_LOG_JSON, CORE_LOG_DEBUG, c);
    json_error_t jerr;
    json_t *o;
    core_log_write(l, CORE_LOG_DEBUG, "prewarm", "pool-a", "state change", "from", "warming",
                   "to", "warm", "weird", "quote\" and \\ back", NULL);
    o = json_loads(core_log_captured(l), 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "ts")),
                           "2026-11-22T13:00:00.250Z");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "level")), "debug");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "component")), "prewarm");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "key")), "pool-a");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "to")), "warm");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "weird")), "quote\" and \\ back");
    json_decref(o);
    core_log_free(l);
    core_clock_free(c);
}

static void test_redaction(void)
{
    const char *secrets[] = {
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request",
        "https://sts.amazonaws.com/?Action=GetCallerIdentity&X-Amz-Signature=abcdef0123",
        "Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig",
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----",
        "#!/bin/bash\n/etc/eks/bootstrap.sh my-cluster",
    };
    for (int fmt = 0; fmt < 2; fmt++) {
        struct core_log *l = core_log_new_capture((enum core_log_format)fmt, CORE_LOG_DEBUG, NULL);
        const char *out;
        core_log_write(l, CORE_LOG_INFO, "aws", NULL, "credentials loaded", "source", "env",
                       "aws_secret_access_key", secrets[0], "header", secrets[2], NULL);
        core_log_write(l, CORE_LOG_INFO, "k8s", NULL, secrets[1], "url", secrets[3], NULL);
        core_log_write(l, CORE_LOG_INFO, "k8s", NULL, "auth", "Authorization", secrets[4],
                       "tls_key", secrets[5], NULL);
        core_log_write(l, CORE_LOG_INFO, "launcher", NULL, "rendered", "userData", secrets[6],
                       "SessionToken", "FQoGZXIvYXdzEJr", NULL);
        out = core_log_captured(l);
        for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
            CU_ASSERT_PTR_NULL(strstr(out, secrets[i]));
        CU_ASSERT_PTR_NULL(strstr(out, "AKIDEXAMPLE"));
        CU_ASSERT_PTR_NULL(strstr(out, "FQoGZXIvYXdzEJr"));
        CU_ASSERT_PTR_NULL(strstr(out, "bootstrap.sh"));
        /* What is not secret stays. */
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "credentials loaded"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "env"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "[redacted]"));
        core_log_free(l);
    }
    CU_ASSERT(core_log_field_is_sensitive("X-Amz-Security-Token"));
    CU_ASSERT(core_log_field_is_sensitive("user_data"));
    CU_ASSERT_FALSE(core_log_field_is_sensitive("instance"));
    CU_ASSERT_FALSE(core_log_value_is_sensitive("i-0123456789abcdef0"));
}

static void test_parse_level_and_format(void)
{
    enum core_log_level lv = CORE_LOG_ERROR;
    enum core_log_format f = CORE_LOG_LOGFMT;
    CU_ASSERT_EQUAL(core_log_level_parse("DEBUG", &lv), 0);
    CU_ASSERT_EQUAL(lv, CORE_LOG_DEBUG);
    CU_ASSERT_EQUAL(core_log_level_parse("loud", &lv), CORE_E_INVAL);
    CU_ASSERT_EQUAL(lv, CORE_LOG_DEBUG);
    CU_ASSERT_EQUAL(core_log_format_parse("json", &f), 0);
    CU_ASSERT_EQUAL(f, CORE_LOG_JSON);
    CU_ASSERT_EQUAL(core_log_format_parse("xml", &f), CORE_E_INVAL);
}

static void test_oversized_record_is_marked(void)
{
    struct core_log *l = core_log_new_capture(CORE_LOG_LOGFMT, CORE_LOG_DEBUG, NULL);
    char *big = core_malloc(100000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'x', 99999);
    big[99999] = '\0';
    core_log_write(l, CORE_LOG_WARN, "sim", NULL, "big", "v", big, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(core_log_captured(l), "record too long"));
    CU_ASSERT(strlen(core_log_captured(l)) < 1000);
    core_free(big);
    core_log_free(l);
}

TESTS_SUITE(core_log, "core_log", NULL, NULL, TESTS_CASE(test_logfmt_record_shape),
            TESTS_CASE(test_logfmt_quoting_and_levels), TESTS_CASE(test_json_record),
            TESTS_CASE(test_redaction), TESTS_CASE(test_parse_level_and_format),
            TESTS_CASE(test_oversized_record_is_marked))
