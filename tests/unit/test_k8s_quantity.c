/*
 * tests/unit/test_k8s_quantity.c — resource quantities (grammar corner cases, exact rounding up
 * and away from zero, overflow), canonical formatting and its round trip, Go durations, and cron
 * expressions (fields, names, steps, macros, time zones, the day-of-month/day-of-week rule).
 */
#include "tests/unit/harness.h"

#include "k8s/k8s.h"

#include <string.h>

#define NS_S INT64_C(1000000000)
#define NS_H (3600 * NS_S)

struct qcase {
    const char *in;
    int mrc;        /* k8s_quantity_parse_milli result */
    int64_t milli;
    int vrc;        /* k8s_quantity_parse result */
    int64_t value;
};

static const struct qcase qcases[] = {
    {"0", 0, 0, 0, 0},
    {"1", 0, 1000, 0, 1},
    {"100m", 0, 100, 0, 1},
    {"1.5", 0, 1500, 0, 2},
    {"1.5Gi", 0, INT64_C(1610612736000), 0, INT64_C(1610612736)},
    {"0.1", 0, 100, 0, 1},
    {".5", 0, 500, 0, 1},          /* the grammar allows a leading '.' */
    {"1.", 0, 1000, 0, 1},          /* ... and a trailing one */
    {"1e3", 0, 1000000, 0, 1000},
    {"1E3", 0, 1000000, 0, 1000},
    {"1e+3", 0, 1000000, 0, 1000},
    {"1e-3", 0, 1, 0, 1},
    {"1E", CORE_E_TOOBIG, 0, 0, INT64_C(1000000000000000000)}, /* "E" alone is exa */
    {"500M", 0, INT64_C(500000000000), 0, 500000000},
    {"1Ki", 0, 1024000, 0, 1024},
    {"0.5Ki", 0, 512000, 0, 512},
    {"0.1Ki", 0, 102400, 0, 103},
    {"1.0001Ki", 0, 1024103, 0, 1025},
    {"1Pi", 0, INT64_C(1125899906842624000), 0, INT64_C(1125899906842624)},
    {"+1", 0, 1000, 0, 1},
    {"-1", 0, -1000, 0, -1},
    {"-0", 0, 0, 0, 0},
    {"-1.5", 0, -1500, 0, -2},      /* away from zero, as apimachinery rounds */
    {"-0.0001", 0, -1, 0, -1},
    {"1.0001m", 0, 2, 0, 1},        /* rounds up */
    {"1n", 0, 1, 0, 1},
    {"1u", 0, 1, 0, 1},
    {"1000000n", 0, 1, 0, 1},
    {"1000001n", 0, 2, 0, 1},
    {"00001.50000", 0, 1500, 0, 2},
    {"0.000000000000000000000000001", 0, 1, 0, 1},
    {"100000000000000000000e-20", 0, 1000, 0, 1},
    {"1234567890123456789012345678901234567890e-30", 0, INT64_C(1234567890124), 0, 1234567891},
    {"0e99999999999999999999", 0, 0, 0, 0},
    {"1e-99999999999999999999", 0, 1, 0, 1},
    {"1e99999999999999999999", CORE_E_TOOBIG, 0, CORE_E_TOOBIG, 0},
    {"12345678901234567890", CORE_E_TOOBIG, 0, CORE_E_TOOBIG, 0},
    {"9223372036854775807", CORE_E_TOOBIG, 0, 0, INT64_MAX},
    {"9223372036854775808", CORE_E_TOOBIG, 0, CORE_E_TOOBIG, 0},
    {"9223372036854775807m", 0, INT64_MAX, 0, INT64_C(9223372036854776)},
    {"9223372036854775808m", CORE_E_TOOBIG, 0, 0, INT64_C(9223372036854776)},
    {"-9223372036854775808m", 0, INT64_MIN, 0, INT64_C(-9223372036854776)},
    {"-9223372036854775809m", CORE_E_TOOBIG, 0, 0, INT64_C(-9223372036854776)},
    {"7Ei", CORE_E_TOOBIG, 0, 0, INT64_C(8070450532247928832)},
    {"8Ei", CORE_E_TOOBIG, 0, CORE_E_TOOBIG, 0}, /* 2^63 */
    {"8E", CORE_E_TOOBIG, 0, 0, INT64_C(8000000000000000000)},
    {"9.3E", CORE_E_TOOBIG, 0, CORE_E_TOOBIG, 0},
    {"1Z", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {"1 Gi", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {" 1", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {"1Mi ", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {"", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {"Gi", CORE_E_PARSE, 0, CORE_E_PARSE, 0},  /* no digit: off the grammar */
    {".", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {"-", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {"1e", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {"1e+", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {"1E-", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {"--1", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {"+-1", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {"1ee3", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {"1e3.5", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {"1e3Ki", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {"1K", CORE_E_PARSE, 0, CORE_E_PARSE, 0},  /* kilo is lowercase k */
    {"1ki", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {"1.2.3", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {"0x10", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
    {"NaN", CORE_E_PARSE, 0, CORE_E_PARSE, 0},
};

static void test_quantity_table(void)
{
    for (size_t i = 0; i < sizeof qcases / sizeof qcases[0]; i++) {
        const struct qcase *q = &qcases[i];
        int64_t milli = 12345, value = 12345;
        int mrc = k8s_quantity_parse_milli(q->in, &milli);
        int vrc = k8s_quantity_parse(q->in, &value);
        CU_ASSERT_EQUAL(mrc, q->mrc);
        CU_ASSERT_EQUAL(vrc, q->vrc);
        CU_ASSERT_EQUAL(milli, q->mrc == 0 ? q->milli : 12345); /* untouched on failure */
        CU_ASSERT_EQUAL(value, q->vrc == 0 ? q->value : 12345);
        if (mrc != q->mrc || vrc != q->vrc || (mrc == 0 && milli != q->milli) ||
            (vrc == 0 && value != q->value))
            fprintf(stderr, "quantity case '%s': milli rc %d %lld, value rc %d %lld\n", q->in,
                    mrc, (long long)milli, vrc, (long long)value);
    }
    CU_ASSERT_EQUAL(k8s_quantity_parse_milli(NULL, &(int64_t){0}), CORE_E_PARSE);
}

static void test_quantity_format(void)
{
    static const struct {
        int64_t milli;
        const char *out;
    } cases[] = {
        {0, "0"},
        {1, "1m"},
        {1500, "1500m"},
        {2000, "2"},
        {2000000, "2k"},
        {1000000000, "1M"},
        {INT64_C(1073741824000), "1073741824"},
        {INT64_C(500000000000), "500M"},
        {-1500, "-1500m"},
        {-3000, "-3"},
        {INT64_C(1000000000000000000), "1P"},
        {INT64_MAX, "9223372036854775807m"},
        {INT64_MIN, "-9223372036854775808m"},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t back = 0;
        k8s_quantity_format_milli(cases[i].milli, buf, sizeof buf);
        CU_ASSERT_STRING_EQUAL(buf, cases[i].out);
        /* Every formatted value parses back to itself. */
        CU_ASSERT_EQUAL(k8s_quantity_parse_milli(buf, &back), 0);
        CU_ASSERT_EQUAL(back, cases[i].milli);
    }
    k8s_quantity_format_milli(1500, buf, 3);
    CU_ASSERT_STRING_EQUAL(buf, "15");
    k8s_quantity_format_milli(1500, NULL, 0); /* nothing to write into: no crash */
}

static void test_quantity_value_is_ceil_of_milli(void)
{
    /* The whole-unit parse agrees with the milli parse rounded up in magnitude. */
    static const char *const in[] = {"1m", "999m", "1001m", "1.5", "-1.5", "-1001m", "0.1Ki",
                                     "3.14159", "2.5Mi", "7e-4", "-7e-4", "123456789.000001"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        int64_t m, v, mag;
        CU_ASSERT_EQUAL_FATAL(k8s_quantity_parse_milli(in[i], &m), 0);
        CU_ASSERT_EQUAL_FATAL(k8s_quantity_parse(in[i], &v), 0);
        mag = m < 0 ? -m : m;
        CU_ASSERT_EQUAL(v, (m < 0 ? -1 : 1) * ((mag + 999) / 1000));
    }
}

static void test_duration(void)
{
    static const struct {
        const char *in;
        unsigned flags;
        int rc;
        int64_t ns;
    } cases[] = {
        {"720h", 0, 0, 720 * NS_H},
        {"1h30m", 0, 0, NS_H + 30 * 60 * NS_S},
        {"10s", 0, 0, 10 * NS_S},
        {"500ms", 0, 0, 500000000},
        {"1.5s", 0, 0, 1500000000},
        {"1.5h", 0, 0, 90 * 60 * NS_S},
        {".5s", 0, 0, 500000000},
        {"1.s", 0, 0, NS_S},
        {"1h1m1s1ms1us1ns", 0, 0, NS_H + 61 * NS_S + 1001001},
        {"1\xc2\xb5s", 0, 0, 1000},
        {"1\xce\xbcs", 0, 0, 1000},
        {"100ns", 0, 0, 100},
        {"0", 0, 0, 0},
        {"0s", 0, 0, 0},
        {"-2m", 0, 0, -120 * NS_S},
        {"+5s", 0, 0, 5 * NS_S},
        {"1.0000000001s", 0, 0, NS_S},       /* below a nanosecond: truncated */
        {"0.9999999999s", 0, 0, 999999999},
        {"2562047h47m16.854775807s", 0, 0, INT64_MAX},
        {"-9223372036854775808ns", 0, 0, INT64_MIN},
        {"Never", K8S_DUR_ALLOW_NEVER, 0, K8S_NEVER},
        {"Never", 0, CORE_E_PARSE, 0},
        {"never", K8S_DUR_ALLOW_NEVER, CORE_E_PARSE, 0},
        {"2562047h47m16.854775808s", 0, CORE_E_TOOBIG, 0},
        {"9223372036854775808ns", 0, CORE_E_TOOBIG, 0},
        {"99999999999999999999h", 0, CORE_E_TOOBIG, 0},
        {"", 0, CORE_E_PARSE, 0},
        {"1", 0, CORE_E_PARSE, 0},          /* only "0" may omit the unit */
        {"1d", 0, CORE_E_PARSE, 0},
        {"h", 0, CORE_E_PARSE, 0},
        {".s", 0, CORE_E_PARSE, 0},
        {"1hh", 0, CORE_E_PARSE, 0},
        {"1h 30m", 0, CORE_E_PARSE, 0},
        {"-", 0, CORE_E_PARSE, 0},
        {"30 days", 0, CORE_E_PARSE, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        core_ns out = 42;
        int rc = k8s_duration_parse(cases[i].in, cases[i].flags, &out);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        CU_ASSERT_EQUAL(out, rc == 0 ? cases[i].ns : 42);
        if (rc != cases[i].rc || (rc == 0 && out != cases[i].ns))
            fprintf(stderr, "duration case '%s': rc %d, %lld\n", cases[i].in, rc, (long long)out);
    }
}

static uint64_t bits(const int *v, size_t n)
{
    uint64_t b = 0;
    for (size_t i = 0; i < n; i++)
        b |= UINT64_C(1) << v[i];
    return b;
}
#define BITS(...) bits((const int[]){__VA_ARGS__}, sizeof((const int[]){__VA_ARGS__}) / sizeof(int))

static void test_cron_parse(void)
{
    struct k8s_cron c;
    struct core_err err;

    CU_ASSERT_EQUAL_FATAL(k8s_cron_parse("*/15 * * * *", &c, &err), 0);
    CU_ASSERT_EQUAL(c.minutes, BITS(0, 15, 30, 45));
    CU_ASSERT_EQUAL(c.hours, 0xffffffu);
    CU_ASSERT_EQUAL(c.mdays, 0xfffffffeu);
    CU_ASSERT_EQUAL(c.months, 0x1ffeu);
    CU_ASSERT_EQUAL(c.wdays, 0x7fu);
    CU_ASSERT_STRING_EQUAL(c.tz, "");

    CU_ASSERT_EQUAL_FATAL(k8s_cron_parse("CRON_TZ=America/New_York 30 8 * * 1-5", &c, &err), 0);
    CU_ASSERT_STRING_EQUAL(c.tz, "America/New_York");
    CU_ASSERT_EQUAL(c.minutes, BITS(30));
    CU_ASSERT_EQUAL(c.hours, BITS(8));
    CU_ASSERT_EQUAL(c.wdays, BITS(1, 2, 3, 4, 5));

    CU_ASSERT_EQUAL_FATAL(k8s_cron_parse("  TZ=Etc/GMT+5   0 9  1,15 jan,Jul mon-FRI", &c, &err),
                          0);
    CU_ASSERT_STRING_EQUAL(c.tz, "Etc/GMT+5");
    CU_ASSERT_EQUAL(c.mdays, BITS(1, 15));
    CU_ASSERT_EQUAL(c.months, BITS(1, 7));
    CU_ASSERT_EQUAL(c.wdays, BITS(1, 2, 3, 4, 5));
    CU_ASSERT_EQUAL(c.mday_star, 0);
    CU_ASSERT_EQUAL(c.wday_star, 0);

    CU_ASSERT_EQUAL_FATAL(k8s_cron_parse("5/20 0-23/12 * * 7", &c, &err), 0);
    CU_ASSERT_EQUAL(c.minutes, BITS(5, 25, 45));
    CU_ASSERT_EQUAL(c.hours, BITS(0, 12));
    CU_ASSERT_EQUAL(c.wdays, BITS(0)); /* 7 is Sunday */
    CU_ASSERT_EQUAL(c.mday_star, 1);

    CU_ASSERT_EQUAL_FATAL(k8s_cron_parse("@weekly", &c, &err), 0);
    CU_ASSERT_EQUAL(c.minutes, BITS(0));
    CU_ASSERT_EQUAL(c.hours, BITS(0));
    CU_ASSERT_EQUAL(c.wdays, BITS(0));
    CU_ASSERT_EQUAL_FATAL(k8s_cron_parse("CRON_TZ=UTC @hourly", &c, &err), 0);
    CU_ASSERT_EQUAL(c.hours, 0xffffffu);
    CU_ASSERT_STRING_EQUAL(c.tz, "UTC");
}

static void test_cron_errors(void)
{
    static const struct {
        const char *in, *msg;
    } cases[] = {
        {"", "a cron expression has 5 fields (minute hour day-of-month month day-of-week), got 0"},
        {"* * * *", "a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
                    "got 4"},
        {"* * * * * *", "a cron expression has 5 fields, got more: '*'"},
        {"60 * * * *", "cron minute field '60': 60-60 is outside 0-59"},
        {"* 24 * * *", "cron hour field '24': 24-24 is outside 0-23"},
        {"* * 0 * *", "cron day-of-month field '0': 0-0 is outside 1-31"},
        {"* * * 13 *", "cron month field '13': 13-13 is outside 1-12"},
        {"* * * * 1-8", "cron day-of-week field '1-8': 1-8 is outside 0-7"},
        {"*/0 * * * *", "cron minute field '*/0': step must be positive"},
        {"5-1 * * * *", "cron minute field '5-1': 5-1 is outside 0-59"},
        {"a * * * *", "cron minute field 'a' does not parse"},
        {"1,,2 * * * *", "cron minute field '1,,2' does not parse"},
        {"1- * * * *", "cron minute field '1-' does not parse"},
        {"0 0 * foo *", "cron month field 'foo' does not parse"},
        {"1000 * * * *", "cron minute field '1000' does not parse"},
        {"CRON_TZ=../etc/passwd 0 0 * * *", "cron time zone '../etc/passwd' is not a zone name"},
        {"CRON_TZ= 0 0 * * *", "cron time zone '' is not a zone name"},
        {"@every 5m", "unknown cron macro '@every 5m'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct k8s_cron c;
        struct core_err err;
        memset(&c, 0x5a, sizeof c);
        core_err_clear(&err);
        CU_ASSERT_EQUAL(k8s_cron_parse(cases[i].in, &c, &err), CORE_E_PARSE);
        CU_ASSERT_STRING_EQUAL(err.message, cases[i].msg);
        CU_ASSERT_EQUAL(c.minutes, UINT64_C(0x5a5a5a5a5a5a5a5a)); /* untouched */
    }
}

static void test_cron_matches(void)
{
    struct k8s_cron c;
    CU_ASSERT_EQUAL_FATAL(k8s_cron_parse("0 9 * * mon-fri", &c, NULL), 0);
    CU_ASSERT_TRUE(k8s_cron_matches(&c, 0, 9, 17, 11, 1));
    CU_ASSERT_FALSE(k8s_cron_matches(&c, 0, 9, 16, 11, 0));
    CU_ASSERT_FALSE(k8s_cron_matches(&c, 1, 9, 17, 11, 1));
    CU_ASSERT_FALSE(k8s_cron_matches(&c, 0, 10, 17, 11, 1));
    /* Both day fields restricted: either one may match. */
    CU_ASSERT_EQUAL_FATAL(k8s_cron_parse("0 0 1 * mon", &c, NULL), 0);
    CU_ASSERT_TRUE(k8s_cron_matches(&c, 0, 0, 1, 5, 3));
    CU_ASSERT_TRUE(k8s_cron_matches(&c, 0, 0, 2, 5, 1));
    CU_ASSERT_FALSE(k8s_cron_matches(&c, 0, 0, 2, 5, 3));
    /* A starred day-of-month (even with a step) means both must match. */
    CU_ASSERT_EQUAL_FATAL(k8s_cron_parse("0 0 */2 * mon", &c, NULL), 0);
    CU_ASSERT_TRUE(k8s_cron_matches(&c, 0, 0, 3, 5, 1));
    CU_ASSERT_FALSE(k8s_cron_matches(&c, 0, 0, 2, 5, 1));
    CU_ASSERT_FALSE(k8s_cron_matches(&c, 0, 0, 3, 5, 2));
    CU_ASSERT_FALSE(k8s_cron_matches(&c, 0, 0, 3, 13, 1)); /* out of range */
}

TESTS_SUITE(k8s_quantity, "k8s_quantity", NULL, NULL, TESTS_CASE(test_quantity_table),
            TESTS_CASE(test_quantity_format), TESTS_CASE(test_quantity_value_is_ceil_of_milli),
            TESTS_CASE(test_duration), TESTS_CASE(test_cron_parse), TESTS_CASE(test_cron_errors),
            TESTS_CASE(test_cron_matches))
