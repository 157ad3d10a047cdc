/*
 * tests/unit/test_prewarm.c — the warm-pool library (prewarm/prewarm.h) and the requirement
 * check it relies on (launcher_requirements_admit): zone offsets from the system's zone files
 * and from hand-built TZif bytes (footer rules, offsets of a day refused), bounds from
 * size/target/schedules (absolute and cron, across a DST change, windows that began weeks or a
 * year ago, 50 costly schedules within a time budget), classification of every rule (bogus
 * warm-since tags and huge timeouts included), plans (refill, max, surge, rotation, scale-in,
 * spreading, hibernation, free list, idle cost, no zone to launch in), validation reasons
 * (timeout, cron zones, saturating overlaps), default instance types, and advice.
 *
 * WarmPools and NodePools are decoded from small JSON documents in which single quotes stand
 * for double quotes. The zone tests need Debian's tzdata under /usr/share/zoneinfo.
 */
#include "tests/unit/harness.h"

#include "aws/aws.h"
#include "core/core.h"
#include "k8s/k8s.h"
#include "launcher/launcher.h"
#include "prewarm/internal.h"
#include "prewarm/prewarm.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DOC_MAX 4096
#define MIN_NS ((core_ns)60 * CORE_NS_PER_S)
#define EBS_20 (20 * 0.08 / 730.0)

static struct launcher_catalog *g_cat;
static struct launcher_offerings *g_off;
static const char *const g_zones[] = {"us-east-1a", "us-east-1b", "us-east-1c"};

static int suite_init(void)
{
    struct core_err err;
    if (launcher_catalog_load(&g_cat, &err) != 0)
        return -1;
    if (launcher_offerings_default(g_cat, "us-east-1", g_zones, 3, 0, &g_off, &err) != 0)
        return -1;
    return 0;
}

static int suite_cleanup(void)
{
    launcher_offerings_free(g_off);
    launcher_catalog_free(g_cat);
    g_off = NULL;
    g_cat = NULL;
    return 0;
}

static core_ns T(const char *s)
{
    core_ns t = 0;
    CU_ASSERT_EQUAL_FATAL(core_time_parse_rfc3339(s, &t), 0);
    return t;
}

static json_t *load(const char *doc)
{
    char buf[DOC_MAX];
    size_t n = strlen(doc);
    json_error_t jerr;
    json_t *j;
    CU_ASSERT_FATAL(n < sizeof buf);
    for (size_t i = 0; i <= n; i++)
        buf[i] = doc[i] == '\'' ? '"' : doc[i];
    j = json_loads(buf, 0, &jerr);
    if (!j)
        fprintf(stderr, "bad test JSON: %s: %s\n", jerr.text, buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    return j;
}

/* A WarmPool of NodePool "general"; spec: more spec members (no leading comma). */
static void wp_decode(struct k8s_warmpool *wp, const char *spec)
{
    char doc[DOC_MAX];
    struct core_err err;
    json_t *j;
    int rc, n = snprintf(doc, sizeof doc,
                         "{'apiVersion':'stoker.dev/v1alpha1','kind':'WarmPool','metadata':"
                         "{'name':'wp'},'spec':{'nodePoolRef':{'name':'general'},%s}}",
                         spec);
    CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof doc);
    j = load(doc);
    core_err_clear(&err);
    memset(wp, 0, sizeof *wp);
    rc = k8s_warmpool_decode(j, wp, &err);
    if (rc != 0)
        fprintf(stderr, "warmpool: %s\n", err.message);
    json_decref(j);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

/* A NodePool "general" with requirements reqs (JSON array members, may be ""). */
static void np_decode(struct k8s_nodepool *np, const char *reqs)
{
    char doc[DOC_MAX];
    struct core_err err;
    json_t *j;
    int rc, n = snprintf(doc, sizeof doc,
                         "{'apiVersion':'stoker.dev/v1alpha1','kind':'NodePool','metadata':"
                         "{'name':'general'},'spec':{'template':{'spec':{'nodeClassRef':"
                         "{'group':'stoker.dev','kind':'EC2NodeClass','name':'default'},"
                         "'requirements':[%s]}}}}",
                         reqs);
    CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof doc);
    j = load(doc);
    core_err_clear(&err);
    memset(np, 0, sizeof *np);
    rc = k8s_nodepool_decode(j, np, &err);
    if (rc != 0)
        fprintf(stderr, "nodepool: %s\n", err.message);
    json_decref(j);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

/* ---- time zones ------------------------------------------------------------------------------ */

static int32_t tz_at(const char *zone, const char *when)
{
    struct core_err err;
    int32_t off = 12345;
    int rc = prewarm_tz_offset(zone, T(when), &off, &err);
    if (rc != 0)
        fprintf(stderr, "tz %s: %s\n", zone, err.message);
    CU_ASSERT_EQUAL(rc, 0);
    return off;
}

static void test_tz_utc(void)
{
    CU_ASSERT_EQUAL(tz_at("", "2026-07-01T00:00:00Z"), 0);
    CU_ASSERT_EQUAL(tz_at("UTC", "2026-07-01T00:00:00Z"), 0);
    CU_ASSERT_EQUAL(tz_at("Etc/UTC", "2026-07-01T00:00:00Z"), 0);
    CU_ASSERT_EQUAL(tz_at("Z", "2026-07-01T00:00:00Z"), 0);
}

static void test_tz_zones(void)
{
    CU_ASSERT_EQUAL(tz_at("America/New_York", "2026-01-15T12:00:00Z"), -18000);
    CU_ASSERT_EQUAL(tz_at("America/New_York", "2026-07-15T12:00:00Z"), -14400);
    /* The spring-forward instant: 2026-03-08 02:00 EST = 07:00Z. */
    CU_ASSERT_EQUAL(tz_at("America/New_York", "2026-03-08T06:59:59Z"), -18000);
    CU_ASSERT_EQUAL(tz_at("America/New_York", "2026-03-08T07:00:00Z"), -14400);
    /* Past any transition a file lists: the footer rule decides. */
    CU_ASSERT_EQUAL(tz_at("America/New_York", "2100-07-01T12:00:00Z"), -14400);
    CU_ASSERT_EQUAL(tz_at("America/New_York", "2100-01-01T12:00:00Z"), -18000);
    CU_ASSERT_EQUAL(tz_at("Asia/Kolkata", "2026-07-15T12:00:00Z"), 19800);
    CU_ASSERT_EQUAL(tz_at("Asia/Kolkata", "2100-01-15T12:00:00Z"), 19800);
    /* Southern hemisphere, half-hour DST. */
    CU_ASSERT_EQUAL(tz_at("Australia/Lord_Howe", "2026-01-15T12:00:00Z"), 39600);
    CU_ASSERT_EQUAL(tz_at("Australia/Lord_Howe", "2026-07-15T12:00:00Z"), 37800);
    CU_ASSERT_EQUAL(tz_at("Australia/Lord_Howe", "2100-07-15T12:00:00Z"), 37800);
    CU_ASSERT_EQUAL(tz_at("Australia/Lord_Howe", "2100-01-15T12:00:00Z"), 39600);
}

static void test_tz_errors(void)
{
    struct core_err err;
    int32_t off = 777;
    static const unsigned char garbage[] = "this is not a zone file at all, not even close....";
    size_t len = 0;
    char *ny;

    CU_ASSERT_EQUAL(prewarm_tz_offset("../etc/passwd", 0, &off, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(prewarm_tz_offset("/etc/passwd", 0, &off, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(prewarm_tz_offset("America//New_York", 0, &off, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(prewarm_tz_offset("Foo/Bar", 0, &off, &err), CORE_E_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "Foo/Bar"));
    CU_ASSERT_EQUAL(prewarm_tz_offset("America", 0, &off, &err), CORE_E_NOTFOUND);
    CU_ASSERT_EQUAL(prewarm_tzif_offset(garbage, sizeof garbage, 0, &off, &err), CORE_E_PARSE);
    CU_ASSERT_EQUAL(off, 777);

    ny = tests_read_file("/usr/share/zoneinfo/America/New_York", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ny);
    CU_ASSERT_EQUAL(prewarm_tzif_offset((unsigned char *)ny, len, T("2026-07-01T00:00:00Z"), &off,
                                        &err), 0);
    CU_ASSERT_EQUAL(off, -14400);
    off = 777;
    /* Every truncation is refused, never read past. */
    for (size_t cut = 0; cut < len; cut += 97)
        CU_ASSERT_EQUAL(prewarm_tzif_offset((unsigned char *)ny, cut, 0, &off, &err),
                        CORE_E_PARSE);
    CU_ASSERT_EQUAL(off, 777);
    core_free(ny);
}

/* A v2 TZif file with one type (std, name "STD") and no transitions: the footer decides. */
static size_t make_tzif(unsigned char *buf, size_t cap, int32_t utoff, const char *footer)
{
    size_t n = 0, flen = strlen(footer);
    CU_ASSERT_FATAL(cap >= 2 * (44 + 10) + flen + 2);
    for (int block = 0; block < 2; block++) {
        memset(buf + n, 0, 44);
        memcpy(buf + n, "TZif2", 5);
        buf[n + 39] = 1; /* typecnt */
        buf[n + 43] = 4; /* charcnt */
        n += 44;
        buf[n++] = (unsigned char)((uint32_t)utoff >> 24);
        buf[n++] = (unsigned char)((uint32_t)utoff >> 16);
        buf[n++] = (unsigned char)((uint32_t)utoff >> 8);
        buf[n++] = (unsigned char)utoff;
        buf[n++] = 0;
        buf[n++] = 0;
        memcpy(buf + n, "STD", 4);
        n += 4;
    }
    buf[n++] = '\n';
    memcpy(buf + n, footer, flen);
    n += flen;
    buf[n++] = '\n';
    return n;
}

static int32_t tzif_at(const char *footer, const char *when)
{
    unsigned char buf[256];
    size_t n = make_tzif(buf, sizeof buf, 0, footer);
    struct core_err err;
    int32_t off = 12345;
    int rc = prewarm_tzif_offset(buf, n, T(when), &off, &err);
    if (rc != 0)
        fprintf(stderr, "tzif %s: %s\n", footer, err.message);
    CU_ASSERT_EQUAL(rc, 0);
    return off;
}

static void test_tz_footer(void)
{
    const char *us = "EST5EDT,M3.2.0,M11.1.0";
    unsigned char buf[256];
    struct core_err err;
    int32_t off = 0;
    size_t n;

    CU_ASSERT_EQUAL(tzif_at(us, "2026-01-15T12:00:00Z"), -18000);
    CU_ASSERT_EQUAL(tzif_at(us, "2026-07-15T12:00:00Z"), -14400);
    CU_ASSERT_EQUAL(tzif_at(us, "2026-03-08T06:59:59Z"), -18000);
    CU_ASSERT_EQUAL(tzif_at(us, "2026-03-08T07:00:00Z"), -14400);
    /* The end is written in daylight time: 02:00 EDT = 06:00Z. */
    CU_ASSERT_EQUAL(tzif_at(us, "2026-11-01T05:59:59Z"), -14400);
    CU_ASSERT_EQUAL(tzif_at(us, "2026-11-01T06:00:00Z"), -18000);
    /* No rule given: the US rule. */
    CU_ASSERT_EQUAL(tzif_at("EST5EDT", "2026-07-15T12:00:00Z"), -14400);
    CU_ASSERT_EQUAL(tzif_at("<+0530>-5:30", "2026-07-15T12:00:00Z"), 19800);
    CU_ASSERT_EQUAL(tzif_at("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "2026-01-15T00:00:00Z"),
                    39600);
    CU_ASSERT_EQUAL(tzif_at("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "2026-07-15T00:00:00Z"),
                    37800);
    /* Julian days: J60 is March 1 every year. CET from J60 to J300 at 01:00 UTC. */
    CU_ASSERT_EQUAL(tzif_at("CET-1CEST,J60/0,J300/0", "2028-02-29T12:00:00Z"), 3600);
    CU_ASSERT_EQUAL(tzif_at("CET-1CEST,J60/0,J300/0", "2028-03-01T12:00:00Z"), 7200);
    /* An empty footer: the last type. */
    n = make_tzif(buf, sizeof buf, 3600, "");
    CU_ASSERT_EQUAL(prewarm_tzif_offset(buf, n, T("2026-07-15T00:00:00Z"), &off, &err), 0);
    CU_ASSERT_EQUAL(off, 3600);
    /* Malformed footers. */
    n = make_tzif(buf, sizeof buf, 0, "EST5EDT,M13.1.0,M11.1.0");
    CU_ASSERT_EQUAL(prewarm_tzif_offset(buf, n, 0, &off, &err), CORE_E_PARSE);
    n = make_tzif(buf, sizeof buf, 0, "5EST");
    CU_ASSERT_EQUAL(prewarm_tzif_offset(buf, n, 0, &off, &err), CORE_E_PARSE);
    n = make_tzif(buf, sizeof buf, 0, "EST5EDT,M3.2.0");
    CU_ASSERT_EQUAL(prewarm_tzif_offset(buf, n, 0, &off, &err), CORE_E_PARSE);
    /* Offsets of a day or more, standard or daylight (default std + 1 h), are no zone: the
     * fuzzer's crash input (tests/fuzz/corpus/prewarm_tz/footer_offset_24h) had them. */
    {
        static const char *const bad[] = {"<A>-24", "<A>24", "<A>-23<B>,J1/-167,J365/167",
                                          "<A>-24<B>,J1/-167,J365/167", "<A>-1<B>-24,J1,J365",
                                          "<A>1<B>24,J1,J365"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            off = 777;
            n = make_tzif(buf, sizeof buf, 0, bad[i]);
            CU_ASSERT_EQUAL(prewarm_tzif_offset(buf, n, 0, &off, &err), CORE_E_PARSE);
            CU_ASSERT_EQUAL(off, 777);
        }
    }
    CU_ASSERT_EQUAL(tzif_at("<A>-23:59:59", "2026-07-15T12:00:00Z"), 86399);
    /* A transition pushed into the next year (end J365 at 167 h, written in daylight time
     * -7 h: 2024-01-07T06:00Z) still decides there: it was looked for in its own year only
     * (corpus footer_end_next_year). */
    CU_ASSERT_EQUAL(tzif_at("<A>-22<B>7,J182/1,J365/167", "2024-01-05T00:00:00Z"), -25200);
    CU_ASSERT_EQUAL(tzif_at("<A>-22<B>7,J182/1,J365/167", "2024-01-07T06:00:00Z"), 79200);
    {
        struct prewarm_tz *z = NULL;
        int32_t o = 0;
        int64_t u = 0;
        n = make_tzif(buf, sizeof buf, 0, "<A>-22<B>7,J182/1,J365/167");
        CU_ASSERT_EQUAL_FATAL(prewarm_tz_parse(buf, n, &z, &err), 0);
        prewarm_tz_lookup(z, T("2023-11-14T00:00:00Z") / CORE_NS_PER_S, &o, &u);
        CU_ASSERT_EQUAL(o, -25200);
        CU_ASSERT_EQUAL(u, T("2024-01-07T06:00:00Z") / CORE_NS_PER_S);
        prewarm_tz_free(z);
    }
    CU_ASSERT_EQUAL(tzif_at("<A>-22<B>,J1/0,J365/0", "2026-07-15T12:00:00Z"), 82800);
    /* The caching contract: the offset holds until `until`, and changes there. */
    {
        struct prewarm_tz *z = NULL;
        int32_t o1 = 0, o2 = 0;
        int64_t u1 = 0, u2 = 0, t = T("2026-02-01T00:00:00Z") / CORE_NS_PER_S;
        n = make_tzif(buf, sizeof buf, 0, us);
        CU_ASSERT_EQUAL_FATAL(prewarm_tz_parse(buf, n, &z, &err), 0);
        prewarm_tz_lookup(z, t, &o1, &u1);
        CU_ASSERT_EQUAL(o1, -18000);
        CU_ASSERT_EQUAL(u1, T("2026-03-08T07:00:00Z") / CORE_NS_PER_S);
        prewarm_tz_lookup(z, u1, &o2, &u2);
        CU_ASSERT_EQUAL(o2, -14400);
        CU_ASSERT_EQUAL(u2, T("2026-11-01T06:00:00Z") / CORE_NS_PER_S);
        prewarm_tz_free(z);
    }
}

/* ---- bounds ---------------------------------------------------------------------------------- */

static void test_bounds_size_target(void)
{
    struct k8s_warmpool wp;
    struct prewarm_bounds b;
    struct core_err err;

    wp_decode(&wp, "'size':{'min':2,'max':5}");
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-07-01T00:00:00Z"), 100, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 2);
    CU_ASSERT_EQUAL(b.max, 5);
    CU_ASSERT_EQUAL(b.base_min, 2);
    CU_ASSERT_STRING_EQUAL(b.reason, "size 2..5");
    CU_ASSERT_STRING_EQUAL(b.schedule, "");
    CU_ASSERT_EQUAL(b.next_change, 0);
    k8s_warmpool_cleanup(&wp);

    wp_decode(&wp, "'target':'10%'");
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-07-01T00:00:00Z"), 37, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 4); /* 3.7 rounded up */
    CU_ASSERT_EQUAL(b.max, 4);
    CU_ASSERT_STRING_EQUAL(b.reason, "target 10% of 37 nodes = 4");
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-07-01T00:00:00Z"), 40, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 4);
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-07-01T00:00:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 0);
    k8s_warmpool_cleanup(&wp);

    memset(&wp, 0, sizeof wp);
    CU_ASSERT_EQUAL(prewarm_bounds(&wp, 0, 0, &b, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(prewarm_bounds(NULL, 0, 0, &b, &err), CORE_E_INVAL);
}

static void test_bounds_absolute(void)
{
    struct k8s_warmpool wp;
    struct prewarm_bounds b;
    struct core_err err;

    wp_decode(&wp, "'size':{'min':2,'max':5},'schedules':[{'name':'black-friday','start':"
                   "'2026-11-27T08:00:00-05:00','duration':'6h','size':{'min':50,'max':80}}]");
    /* Before: the base, and the next change is the start. */
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-11-27T12:00:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 2);
    CU_ASSERT_EQUAL(b.max, 5);
    CU_ASSERT_STRING_EQUAL(b.schedule, "");
    CU_ASSERT_EQUAL(b.next_change, T("2026-11-27T13:00:00Z"));
    /* Too far ahead to look. */
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-11-01T12:00:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.next_change, 0);
    /* Inside (at the start exactly). */
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-11-27T13:00:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 50);
    CU_ASSERT_EQUAL(b.max, 80);
    CU_ASSERT_EQUAL(b.base_min, 2);
    CU_ASSERT_STRING_EQUAL(b.schedule, "black-friday");
    CU_ASSERT_EQUAL(b.schedule_end, T("2026-11-27T19:00:00Z"));
    CU_ASSERT_EQUAL(b.next_change, T("2026-11-27T19:00:00Z"));
    CU_ASSERT_STRING_EQUAL(b.reason, "schedule black-friday raises the floor to 50 until "
                                     "2026-11-27T19:00:00Z");
    /* The end is exclusive. */
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-11-27T19:00:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 2);
    CU_ASSERT_EQUAL(b.next_change, 0);
    k8s_warmpool_cleanup(&wp);
}

static void test_bounds_cron_dst(void)
{
    struct k8s_warmpool wp;
    struct prewarm_bounds b;
    struct core_err err;

    wp_decode(&wp, "'size':{'min':1,'max':3},'schedules':[{'name':'morning','start':"
                   "'CRON_TZ=America/New_York 0 9 * * *','duration':'2h','size':{'min':10,"
                   "'max':12}}]");
    /* July (EDT): 09:00 local = 13:00Z. */
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-07-15T13:30:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 10);
    CU_ASSERT_EQUAL(b.max, 12);
    CU_ASSERT_STRING_EQUAL(b.schedule, "morning");
    CU_ASSERT_EQUAL(b.schedule_end, T("2026-07-15T15:00:00Z"));
    CU_ASSERT_EQUAL(b.next_change, T("2026-07-15T15:00:00Z"));
    /* January (EST): 09:00 local = 14:00Z. */
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-01-15T14:30:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 10);
    CU_ASSERT_EQUAL(b.schedule_end, T("2026-01-15T16:00:00Z"));
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-01-15T13:30:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 1);
    CU_ASSERT_STRING_EQUAL(b.schedule, "");
    CU_ASSERT_EQUAL(b.next_change, T("2026-01-15T14:00:00Z"));
    /* Across the change (2026-03-08): the day before fires at 14:00Z, the day after at 13:00Z. */
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-03-07T13:30:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 1);
    CU_ASSERT_EQUAL(b.next_change, T("2026-03-07T14:00:00Z"));
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-03-09T13:30:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 10);
    /* After the window on a Saturday evening, the next start is Sunday (after the change). */
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-03-07T20:00:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.next_change, T("2026-03-08T13:00:00Z"));
    k8s_warmpool_cleanup(&wp);
}

static void test_bounds_overlap_max(void)
{
    struct k8s_warmpool wp;
    struct prewarm_bounds b;
    struct core_err err;

    wp_decode(&wp, "'size':{'min':1,'max':30},'schedules':["
                   "{'name':'a','start':'0 9 * * *','duration':'3h','size':{'min':10,'max':20}},"
                   "{'name':'b','start':'30 9 * * *','duration':'1h','size':{'min':15,'max':18}},"
                   "{'name':'c','start':'2026-07-15T09:45:00Z','duration':'10m','size':{'min':"
                   "12,'max':40}}]");
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-07-15T09:50:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 15);
    CU_ASSERT_EQUAL(b.max, 40);
    CU_ASSERT_STRING_EQUAL(b.schedule, "b");
    CU_ASSERT_EQUAL(b.schedule_end, T("2026-07-15T10:30:00Z"));
    CU_ASSERT_EQUAL(b.next_change, T("2026-07-15T09:55:00Z")); /* c ends first */
    /* Only a: its values; max stays the base's 30 (larger). */
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-07-15T11:00:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 10);
    CU_ASSERT_EQUAL(b.max, 30);
    CU_ASSERT_STRING_EQUAL(b.schedule, "a");
    CU_ASSERT_EQUAL(b.next_change, T("2026-07-15T12:00:00Z"));
    k8s_warmpool_cleanup(&wp);

    /* An every-minute cron with a week-long duration: one merged window, bounded work. */
    wp_decode(&wp, "'size':{'min':1,'max':3},'schedules':[{'name':'always','start':'* * * * *',"
                   "'duration':'168h','size':{'min':5}}]");
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-07-15T11:00:30Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 5);
    CU_ASSERT_EQUAL(b.max, 5);
    CU_ASSERT_EQUAL(b.next_change, 0); /* it never ends within the lookahead */
    k8s_warmpool_cleanup(&wp);

    wp_decode(&wp, "'size':{'min':1},'schedules':[{'name':'x','start':'0 9 * * *','duration':"
                   "'1h','size':{'min':5}},{'name':'y','start':'CRON_TZ=Foo/Bar 0 9 * * *',"
                   "'duration':'1h','size':{'min':5}}]");
    CU_ASSERT_EQUAL(prewarm_bounds(&wp, T("2026-07-15T11:00:00Z"), 0, &b, &err), CORE_E_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "spec.schedules[1].start: time zone Foo/Bar"));
    k8s_warmpool_cleanup(&wp);
}

/* A long yearly window: it began more than PREWARM_LOOKAHEAD ago and must still be seen. */
static void test_bounds_cron_long_window(void)
{
    struct k8s_warmpool wp;
    struct prewarm_bounds b;
    struct core_err err;

    wp_decode(&wp, "'size':{'min':1,'max':2},'schedules':[{'name':'november','start':"
                   "'0 0 1 11 *','duration':'720h','size':{'min':20,'max':30}}]");
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-11-05T12:00:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 20);
    CU_ASSERT_STRING_EQUAL(b.schedule, "november");
    CU_ASSERT_EQUAL(b.schedule_end, T("2026-12-01T00:00:00Z"));
    CU_ASSERT_EQUAL(b.next_change, 0); /* the end is beyond the lookahead */
    /* Nine days in: it was dropped here (scale-in mid-event). */
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-11-10T00:00:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 20);
    CU_ASSERT_EQUAL(b.max, 30);
    CU_ASSERT_STRING_EQUAL(b.reason, "schedule november raises the floor to 20 until "
                                     "2026-12-01T00:00:00Z");
    /* Near the end, the end is the next change. */
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-11-25T12:00:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 20);
    CU_ASSERT_EQUAL(b.next_change, T("2026-12-01T00:00:00Z"));
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-11-30T23:59:59Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 20);
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-12-01T00:00:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 1);
    CU_ASSERT_STRING_EQUAL(b.schedule, "");
    CU_ASSERT_EQUAL(b.next_change, 0);
    /* Before it: the start is the next change once within the lookahead. */
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-10-28T00:00:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 1);
    CU_ASSERT_EQUAL(b.next_change, T("2026-11-01T00:00:00Z"));
    k8s_warmpool_cleanup(&wp);

    /* In a zone: 00:00 EDT on Nov 1 is 04:00Z; the duration is elapsed time. */
    wp_decode(&wp, "'size':{'min':1},'schedules':[{'name':'ny','start':"
                   "'CRON_TZ=America/New_York 0 0 1 11 *','duration':'720h','size':{'min':9}}]");
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-11-20T00:00:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 9);
    CU_ASSERT_EQUAL(b.schedule_end, T("2026-12-01T04:00:00Z"));
    CU_ASSERT_EQUAL(b.next_change, 0);
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-11-01T03:59:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 1);
    CU_ASSERT_EQUAL(b.next_change, T("2026-11-01T04:00:00Z"));
    k8s_warmpool_cleanup(&wp);

    /* Almost a year and two weeks: seen to the last day (the search goes back 400 days). */
    wp_decode(&wp, "'size':{'min':1},'schedules':[{'name':'year','start':'30 6 2 1 *',"
                   "'duration':'9000h','size':{'min':7}}]");
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2027-01-02T06:29:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 7);
    /* 2026-01-02T06:30Z + 375 days, extended by the 2027 fire a minute ahead. */
    CU_ASSERT_EQUAL(b.schedule_end, T("2028-01-12T06:30:00Z"));
    CU_ASSERT_EQUAL(b.next_change, 0);
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2027-01-02T06:31:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.schedule_end, T("2028-01-12T06:30:00Z"));
    k8s_warmpool_cleanup(&wp);

    /* A day that never comes: never active, and cheap to find out. */
    wp_decode(&wp, "'size':{'min':1},'schedules':[{'name':'never','start':'0 0 31 2 *',"
                   "'duration':'9000h','size':{'min':7}}]");
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2027-03-02T00:00:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 1);
    CU_ASSERT_EQUAL(b.next_change, 0);
    k8s_warmpool_cleanup(&wp);

    /* Windows that touch merge: every 10 minutes for 10 minutes, restricted to one hour. */
    wp_decode(&wp, "'size':{'min':1},'schedules':[{'name':'chain','start':'*/10 9 * * *',"
                   "'duration':'10m','size':{'min':3}}]");
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-07-15T09:05:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 3);
    CU_ASSERT_EQUAL(b.schedule_end, T("2026-07-15T10:00:00Z"));
    CU_ASSERT_EQUAL(b.next_change, T("2026-07-15T10:00:00Z"));
    CU_ASSERT_EQUAL_FATAL(prewarm_bounds(&wp, T("2026-07-15T10:00:00Z"), 0, &b, &err), 0);
    CU_ASSERT_EQUAL(b.min, 1);
    CU_ASSERT_EQUAL(b.next_change, T("2026-07-16T09:00:00Z"));
    k8s_warmpool_cleanup(&wp);
}

/* Appends one schedule (JSON, double quotes) to b. */
static void sched_json(struct core_buf *b, size_t i, const char *start, const char *dur)
{
    CU_ASSERT_EQUAL(core_buf_appendf(b, "%s{\"name\":\"s%zu\",\"start\":\"%s\",\"duration\":"
                                        "\"%s\",\"size\":{\"min\":%zu}}",
                                     i ? "," : "", i, start, dur, i + 2),
                    0);
}

/* The most schedules a pool may have, of the costly kinds, bound in a few milliseconds. */
static void test_bounds_many_schedules_fast(void)
{
    static const char *const starts[] = {
        "* * * * *", "0 0 1 11 *", "0 0 31 2 *", "0 0 29 2 *",
        "CRON_TZ=America/New_York 0 9 * * 1-5", "* * * * *", "0 0 1 1 *", "CRON_TZ=Australia/Lord_Howe 30 2 * * 0", "0 12 13 * 5",
        "59 23 31 12 *"};
    static const char *const durs[] = {"9000h", "720h", "9000h", "9000h", "2h",
                                       "1m",    "9000h", "9000h", "9600h", "5m"};
    struct k8s_warmpool wp;
    struct prewarm_bounds b;
    struct core_err err;
    struct core_buf doc;
    struct timespec t0, t1;
    json_t *j;
    double ms;
    int rc;

    core_buf_init(&doc, 1 << 16);
    CU_ASSERT_EQUAL(core_buf_append_str(&doc, "{\"apiVersion\":\"stoker.dev/v1alpha1\","
                                              "\"kind\":\"WarmPool\",\"metadata\":{\"name\":"
                                              "\"wp\"},\"spec\":{\"nodePoolRef\":{\"name\":"
                                              "\"general\"},\"size\":{\"min\":1},"
                                              "\"schedules\":["),
                    0);
    for (size_t i = 0; i < 50; i++)
        sched_json(&doc, i, starts[i % 10], durs[i % 10]);
    CU_ASSERT_EQUAL(core_buf_append_str(&doc, "]}}"), 0);
    j = json_loads(core_buf_cstr(&doc), 0, NULL);
    core_buf_cleanup(&doc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    memset(&wp, 0, sizeof wp);
    rc = k8s_warmpool_decode(j, &wp, &err);
    json_decref(j);
    if (rc != 0)
        fprintf(stderr, "warmpool: %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(wp.nschedules, 50);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int k = 0; k < 10; k++)
        CU_ASSERT_EQUAL(prewarm_bounds(&wp, T("2027-03-02T10:17:00Z") + k * 3600 * CORE_NS_PER_S,
                                       0, &b, &err),
                        0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) / 10;
    /* A few ms each when optimised; the bound leaves room for sanitizers and busy machines. */
    if (ms > 50)
        fprintf(stderr, "\n  prewarm_bounds of 50 schedules: %.2f ms\n", ms);
    CU_ASSERT(ms < 50);
    /* The largest floor among the always-active ones: s48 ("0 12 13 * 5", every Friday or
     * 13th, for 400 days). s3's window (Feb 29, 2024) ended long ago; s2's day never comes. */
    CU_ASSERT_EQUAL(b.min, 50);
    CU_ASSERT_STRING_EQUAL(b.schedule, "s48");
    k8s_warmpool_cleanup(&wp);
}

/* ---- classify -------------------------------------------------------------------------------- */

#define NOW_S "2026-07-15T12:00:00Z"

static struct prewarm_instance inst(const char *id, const char *state, core_ns age)
{
    struct prewarm_instance x;
    memset(&x, 0, sizeof x);
    x.id = id;
    x.instance_type = "m5.large";
    x.zone = "us-east-1a";
    x.image_id = "ami-new";
    x.state = state;
    x.spec_hash = "h1";
    x.created = T(NOW_S) - age;
    x.launch_time = x.created;
    return x;
}

static void test_classify(void)
{
    struct k8s_warmpool wp;
    const char *imgs[] = {"ami-new"};
    struct prewarm_context ctx = {&wp, 0, "h1", imgs, 1};
    struct prewarm_instance x;
    char why[PREWARM_REASON_MAX];

    wp_decode(&wp, "'size':{'min':1},'maxAge':'24h'");
    ctx.now = T(NOW_S);
    x = inst("i-1", "terminated", MIN_NS);
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_GONE);
    x.state = "shutting-down";
    x.nodeclaim = "nc-1";
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_GONE);
    /* Claimed wins over every other state and over staleness. */
    x = inst("i-1", "stopped", MIN_NS);
    x.nodeclaim = "nc-1";
    x.spec_hash = "old";
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_CLAIMED);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "nc-1"));
    x.state = "running";
    x.created = T(NOW_S) - 3600 * CORE_NS_PER_S;
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_CLAIMED);
    x.nodeclaim = "";
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_FAILED);
    CU_ASSERT_STRING_EQUAL(why, "warm-up timed out after 15m");
    /* Warm-up: the timeout plus 5 minutes of grace. */
    x = inst("i-1", "running", 10 * MIN_NS);
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_WARMING);
    x = inst("i-1", "stopping", 19 * MIN_NS);
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_WARMING);
    x = inst("i-1", "pending", 21 * MIN_NS);
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_FAILED);
    /* created unknown: launch_time counts. */
    x = inst("i-1", "running", 10 * MIN_NS);
    x.created = 0;
    x.launch_time = T(NOW_S) - 30 * MIN_NS;
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_FAILED);
    /* Stopped. */
    x = inst("i-1", "stopped", MIN_NS);
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_WARM);
    x.spec_hash = "h0";
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_STALE);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "h0"));
    x.spec_hash = NULL;
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_STALE);
    x = inst("i-1", "stopped", MIN_NS);
    x.image_id = "ami-old";
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_STALE);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "ami-old"));
    ctx.current_images = NULL; /* unknown: no AMI staleness */
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_WARM);
    ctx.current_images = imgs;
    /* maxAge counts from created, not from the last start. */
    x = inst("i-1", "stopped", 25 * 3600 * CORE_NS_PER_S);
    x.launch_time = T(NOW_S) - MIN_NS;
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_STALE);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "maxAge"));
    x = inst("i-1", "stopped", 23 * 3600 * CORE_NS_PER_S);
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_WARM);
    /* Unknown states. */
    x = inst("i-1", "rebooting", MIN_NS);
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_FAILED);
    x.state = NULL;
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, NULL), PREWARM_FAILED);
    k8s_warmpool_cleanup(&wp);

    /* A custom timeout, and a Hibernated pool's longer allowance. */
    wp_decode(&wp, "'size':{'min':1},'prewarm':{'timeout':'5m'}");
    x = inst("i-1", "running", 11 * MIN_NS);
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_FAILED);
    CU_ASSERT_STRING_EQUAL(why, "warm-up timed out after 5m");
    k8s_warmpool_cleanup(&wp);
    wp_decode(&wp, "'size':{'min':1},'state':'Hibernated'");
    x = inst("i-1", "running", 20 * MIN_NS);
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_WARMING);
    k8s_warmpool_cleanup(&wp);

    /* A warm-since tag that cannot be real counts as absent: the launch time decides. Before
     * the fix, 1700-01-01 made the age overflow (negative: never timed out, never too old). */
    wp_decode(&wp, "'size':{'min':1},'maxAge':'24h'");
    x = inst("i-1", "running", 30 * MIN_NS);
    x.created = T("1700-01-01T00:00:00Z");
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_FAILED);
    x.created = T("2005-12-31T23:59:59Z");
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_FAILED);
    x.created = INT64_MIN;
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_FAILED);
    /* From the future: more than a day ahead is bogus; within a day is clock skew (age 0). */
    x.created = T(NOW_S) + 10 * 24 * 3600 * CORE_NS_PER_S;
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_FAILED);
    x.created = INT64_MAX;
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_FAILED);
    x.created = T(NOW_S) + 3600 * CORE_NS_PER_S;
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_WARMING);
    x = inst("i-1", "stopped", 25 * 3600 * CORE_NS_PER_S);
    x.created = T("1700-01-01T00:00:00Z");
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_STALE);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "maxAge"));
    x.launch_time = T(NOW_S) - MIN_NS;
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_WARM);
    /* A bogus launch time too: ages saturate instead of wrapping. */
    x = inst("i-1", "running", MIN_NS);
    x.created = 0;
    x.launch_time = INT64_MIN;
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_FAILED);
    x.launch_time = INT64_MAX;
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_WARMING);
    k8s_warmpool_cleanup(&wp);

    /* The largest timeout the decoder takes: 2 x timeout + grace saturates, so an hour-old
     * warm-up of a Hibernated pool is still warming (it overflowed to "timed out"). */
    wp_decode(&wp, "'size':{'min':1},'state':'Hibernated','prewarm':{'timeout':'2562047h'}");
    x = inst("i-1", "running", 60 * MIN_NS);
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_WARMING);
    k8s_warmpool_cleanup(&wp);
    wp_decode(&wp, "'size':{'min':1},'prewarm':{'timeout':'2562047h'}");
    CU_ASSERT_EQUAL(prewarm_classify(&ctx, &x, why), PREWARM_WARMING);
    k8s_warmpool_cleanup(&wp);

    CU_ASSERT_STRING_EQUAL(prewarm_phase_name(PREWARM_WARM), "warm");
    CU_ASSERT_STRING_EQUAL(prewarm_phase_name(PREWARM_STALE), "stale");
    CU_ASSERT_STRING_EQUAL(prewarm_phase_name(PREWARM_WARMING), "warming");
}

/* ---- plan ------------------------------------------------------------------------------------ */

struct pfx {
    struct k8s_warmpool wp;
    struct prewarm_context ctx;
    struct prewarm_instance in[16];
    size_t n;
    struct prewarm_plan_input pin;
    struct prewarm_plan *plan;
};

static void pfx_init(struct pfx *f, const char *spec)
{
    memset(f, 0, sizeof *f);
    wp_decode(&f->wp, spec);
    f->ctx.wp = &f->wp;
    f->ctx.now = T(NOW_S);
    f->ctx.spec_hash = "h1";
    f->pin.ctx = &f->ctx;
    f->pin.instances = f->in;
    f->pin.zones = g_zones;
    f->pin.nzones = 3;
}

static struct prewarm_instance *pfx_add(struct pfx *f, const char *id, const char *state,
                                        int age_min, const char *zone)
{
    CU_ASSERT_FATAL(f->n < 16);
    f->in[f->n] = inst(id, state, (core_ns)age_min * MIN_NS);
    f->in[f->n].zone = zone;
    f->pin.ninstances = ++f->n;
    return &f->in[f->n - 1];
}

static void pfx_plan(struct pfx *f)
{
    struct core_err err;
    int rc;
    prewarm_plan_free(f->plan);
    f->plan = NULL;
    rc = prewarm_plan(&f->pin, &f->plan, &err);
    if (rc != 0)
        fprintf(stderr, "plan: %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static void pfx_done(struct pfx *f)
{
    prewarm_plan_free(f->plan);
    k8s_warmpool_cleanup(&f->wp);
}

static size_t count_kind(const struct prewarm_plan *p, enum prewarm_action_kind k)
{
    size_t c = 0;
    for (size_t i = 0; i < p->nactions; i++)
        c += p->actions[i].kind == k;
    return c;
}

static void test_plan_refill_spread(void)
{
    struct pfx f;
    pfx_init(&f, "'size':{'min':6,'max':8}");
    pfx_add(&f, "i-a1", "stopped", 60, "us-east-1a");
    pfx_add(&f, "i-a2", "stopped", 50, "us-east-1a");
    pfx_add(&f, "i-b1", "running", 5, "us-east-1b");
    pfx_plan(&f);
    CU_ASSERT_EQUAL(f.plan->count[PREWARM_WARM], 2);
    CU_ASSERT_EQUAL(f.plan->count[PREWARM_WARMING], 1);
    CU_ASSERT_EQUAL_FATAL(f.plan->nactions, 3);
    /* a:2 b:1 c:0 → c, then b (tie with c, first listed), then c. */
    CU_ASSERT_EQUAL(f.plan->actions[0].kind, PREWARM_LAUNCH);
    CU_ASSERT_STRING_EQUAL(f.plan->actions[0].zone, "us-east-1c");
    CU_ASSERT_STRING_EQUAL(f.plan->actions[1].zone, "us-east-1b");
    CU_ASSERT_STRING_EQUAL(f.plan->actions[2].zone, "us-east-1c");
    CU_ASSERT_PTR_NULL(f.plan->actions[0].id);
    CU_ASSERT_STRING_EQUAL(f.plan->summary, "2 warm, 1 warming of 6..8: launch 3 (refill)");
    /* Free: warm ones, oldest first. */
    CU_ASSERT_EQUAL_FATAL(f.plan->nfree, 2);
    CU_ASSERT_STRING_EQUAL(f.plan->free[0]->id, "i-a1");
    CU_ASSERT_STRING_EQUAL(f.plan->free[1]->id, "i-a2");

    CU_ASSERT_EQUAL(f.plan->no_zones, 0);

    /* No zone while a launch is needed: no launch, but the failed instance still goes, and
     * the plan says why nothing launched. */
    f.pin.nzones = 0;
    pfx_add(&f, "i-f", "running", 30, "us-east-1c"); /* timed out */
    pfx_plan(&f);
    CU_ASSERT_EQUAL(f.plan->no_zones, 1);
    CU_ASSERT_EQUAL(count_kind(f.plan, PREWARM_LAUNCH), 0);
    CU_ASSERT_EQUAL_FATAL(f.plan->nactions, 1);
    CU_ASSERT_EQUAL(f.plan->actions[0].kind, PREWARM_TERMINATE);
    CU_ASSERT_STRING_EQUAL(f.plan->actions[0].id, "i-f");
    CU_ASSERT_STRING_EQUAL(f.plan->summary, "2 warm, 1 warming, 1 failed of 6..8: terminate 1 "
                                            "(1 failed, 0 scale-in, 0 stale), 3 to launch but "
                                            "no zone given");
    CU_ASSERT_EQUAL(f.plan->nfree, 2);
    /* Zones NULL but counted: refused up front, whether or not a launch is needed. */
    f.pin.nzones = 3;
    f.pin.zones = NULL;
    {
        struct core_err err;
        struct prewarm_plan *p = NULL;
        CU_ASSERT_EQUAL(prewarm_plan(&f.pin, &p, &err), CORE_E_INVAL);
        CU_ASSERT_PTR_NULL(p);
        f.wp.size.min = 0;
        f.n = f.pin.ninstances = 1;
        CU_ASSERT_EQUAL(prewarm_plan(&f.pin, &p, &err), CORE_E_INVAL);
        CU_ASSERT_PTR_NULL(p);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "NULL zones"));
    }
    pfx_done(&f);

    /* No zone, and a stale instance that must wait for its replacement: nothing happens, and
     * the summary says why. */
    pfx_init(&f, "'size':{'min':1,'max':2}");
    f.pin.nzones = 0;
    pfx_add(&f, "i-s", "stopped", 60, "us-east-1a")->spec_hash = "h0";
    pfx_plan(&f);
    CU_ASSERT_EQUAL(f.plan->no_zones, 1);
    CU_ASSERT_EQUAL(f.plan->nactions, 0);
    CU_ASSERT_STRING_EQUAL(f.plan->summary, "0 warm, 0 warming, 1 stale of 1..2: 1 to launch but "
                                            "no zone given");
    pfx_done(&f);

    /* At min: nothing to do, zones not needed. */
    pfx_init(&f, "'size':{'min':1,'max':2}");
    f.pin.nzones = 0;
    pfx_add(&f, "i-1", "stopped", 60, "us-east-1a");
    pfx_plan(&f);
    CU_ASSERT_EQUAL(f.plan->nactions, 0);
    CU_ASSERT_STRING_EQUAL(f.plan->summary, "1 warm, 0 warming of 1..2: nothing to do");
    pfx_done(&f);
}

static void test_plan_surge_rotation(void)
{
    struct pfx f;
    /* All stale at min = max = 4: none can go yet; one replacement (25% of 4) at a time. */
    pfx_init(&f, "'size':{'min':4,'max':4}");
    for (int i = 0; i < 4; i++) {
        char *id = i == 0 ? "i-s0" : i == 1 ? "i-s1" : i == 2 ? "i-s2" : "i-s3";
        pfx_add(&f, id, "stopped", 100 - i, "us-east-1a")->spec_hash = "h0";
    }
    pfx_plan(&f);
    CU_ASSERT_EQUAL(f.plan->count[PREWARM_STALE], 4);
    CU_ASSERT_EQUAL(count_kind(f.plan, PREWARM_TERMINATE), 0);
    CU_ASSERT_EQUAL(count_kind(f.plan, PREWARM_LAUNCH), 1);
    CU_ASSERT_EQUAL(f.plan->nfree, 0);
    /* An explicit surge of 2. */
    f.pin.max_surge = 2;
    pfx_plan(&f);
    CU_ASSERT_EQUAL(count_kind(f.plan, PREWARM_LAUNCH), 2);
    /* The replacement became warm: the oldest stale goes, and one more launches. */
    f.pin.max_surge = 0;
    pfx_add(&f, "i-w0", "stopped", 1, "us-east-1b");
    pfx_plan(&f);
    CU_ASSERT_EQUAL_FATAL(f.plan->nactions, 2);
    CU_ASSERT_EQUAL(f.plan->actions[0].kind, PREWARM_TERMINATE);
    CU_ASSERT_STRING_EQUAL(f.plan->actions[0].id, "i-s0");
    CU_ASSERT_PTR_NOT_NULL(strstr(f.plan->actions[0].reason, "stale"));
    CU_ASSERT_EQUAL(f.plan->actions[1].kind, PREWARM_LAUNCH);
    /* While the replacement warms, nothing more (surge used up). */
    pfx_add(&f, "i-g0", "running", 1, "us-east-1c");
    f.in[0].state = "terminated";
    pfx_plan(&f);
    CU_ASSERT_EQUAL(f.plan->nactions, 0);
    pfx_done(&f);

    /* min 2, 1 warm + 2 stale: one stale may go, the other must wait. */
    pfx_init(&f, "'size':{'min':2,'max':4}");
    pfx_add(&f, "i-w", "stopped", 10, "us-east-1a");
    pfx_add(&f, "i-s1", "stopped", 90, "us-east-1a")->image_id = "ami-old";
    pfx_add(&f, "i-s2", "stopped", 80, "us-east-1b")->image_id = "ami-old";
    {
        static const char *const imgs[] = {"ami-new"};
        f.ctx.current_images = imgs;
        f.ctx.ncurrent_images = 1;
        pfx_plan(&f);
    }
    CU_ASSERT_EQUAL_FATAL(count_kind(f.plan, PREWARM_TERMINATE), 1);
    CU_ASSERT_STRING_EQUAL(f.plan->actions[0].id, "i-s1");
    CU_ASSERT_EQUAL(count_kind(f.plan, PREWARM_LAUNCH), 1);
    pfx_done(&f);

    /* min 0: stale instances go at once. */
    pfx_init(&f, "'size':{'min':0,'max':4}");
    pfx_add(&f, "i-s1", "stopped", 90, "us-east-1a")->spec_hash = NULL;
    pfx_add(&f, "i-s2", "stopped", 80, "us-east-1b")->spec_hash = "h0";
    pfx_plan(&f);
    CU_ASSERT_EQUAL(count_kind(f.plan, PREWARM_TERMINATE), 2);
    CU_ASSERT_EQUAL(count_kind(f.plan, PREWARM_LAUNCH), 0);
    pfx_done(&f);
}

static void test_plan_scale_in_failed(void)
{
    struct pfx f;
    pfx_init(&f, "'size':{'min':1,'max':2}");
    pfx_add(&f, "i-b", "stopped", 50, "us-east-1a");
    pfx_add(&f, "i-d", "stopped", 90, "us-east-1a")->spec_hash = "h0"; /* stale, oldest */
    pfx_add(&f, "i-a", "stopped", 60, "us-east-1b");
    pfx_add(&f, "i-c", "stopped", 40, "us-east-1c");
    pfx_add(&f, "i-e", "running", 3, "us-east-1c");
    pfx_add(&f, "i-f", "running", 30, "us-east-1c");  /* timed out */
    pfx_add(&f, "i-g", "stopped", 200, "us-east-1c")->nodeclaim = "nc-1";
    pfx_plan(&f);
    CU_ASSERT_EQUAL(f.plan->count[PREWARM_FAILED], 1);
    CU_ASSERT_EQUAL(f.plan->count[PREWARM_CLAIMED], 1);
    /* 3 warm + 1 stale against max 2: the stale one, then the oldest warm one; the warming
     * one is left to finish (it is trimmed once warm); the failed one goes. */
    CU_ASSERT_EQUAL_FATAL(f.plan->nactions, 3);
    for (size_t i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(f.plan->actions[i].kind, PREWARM_TERMINATE);
    CU_ASSERT_STRING_EQUAL(f.plan->actions[0].id, "i-d");
    CU_ASSERT_STRING_EQUAL(f.plan->actions[1].id, "i-a");
    CU_ASSERT_STRING_EQUAL(f.plan->actions[2].id, "i-f");
    CU_ASSERT_STRING_EQUAL(f.plan->actions[2].reason, "warm-up timed out after 15m");
    CU_ASSERT_PTR_NOT_NULL(strstr(f.plan->actions[0].reason, "scale in: 4 above max 2; stale"));
    CU_ASSERT_PTR_NOT_NULL(strstr(f.plan->actions[1].reason, "scale in"));
    CU_ASSERT_EQUAL_FATAL(f.plan->nfree, 2);
    CU_ASSERT_STRING_EQUAL(f.plan->free[0]->id, "i-b");
    CU_ASSERT_STRING_EQUAL(f.plan->free[1]->id, "i-c");
    for (size_t i = 0; i < f.plan->nactions; i++) {
        CU_ASSERT_STRING_NOT_EQUAL(f.plan->actions[i].id, "i-g");
        CU_ASSERT_STRING_NOT_EQUAL(f.plan->actions[i].id, "i-e");
    }
    pfx_done(&f);
}

static void test_plan_hibernate_cost(void)
{
    struct pfx f;
    struct prewarm_instance *x;
    pfx_init(&f, "'size':{'min':2,'max':3},'state':'Hibernated'");
    pfx_add(&f, "i-run", "running", 16, "us-east-1a")->od_price_usd_hr = 0.096;
    pfx_add(&f, "i-new", "running", 10, "us-east-1b")->od_price_usd_hr = 0.096;
    x = pfx_add(&f, "i-hib", "stopped", 90, "us-east-1c");
    x->hibernated = 1;
    x->root_volume_gib = 40;
    pfx_add(&f, "i-old", "stopped", 100, "us-east-1c")->nodeclaim = "nc-9";
    pfx_add(&f, "i-gone", "terminated", 100, "us-east-1c");
    pfx_plan(&f);
    CU_ASSERT_EQUAL(f.plan->count[PREWARM_WARMING], 2);
    CU_ASSERT_EQUAL_FATAL(f.plan->nactions, 1);
    CU_ASSERT_EQUAL(f.plan->actions[0].kind, PREWARM_HIBERNATE);
    CU_ASSERT_STRING_EQUAL(f.plan->actions[0].id, "i-run");
    /* Two running (price + 20 GiB) and one stopped 40 GiB root; claimed and gone excluded. */
    CU_ASSERT_DOUBLE_EQUAL(f.plan->idle_usd_per_hour, 2 * (0.096 + EBS_20) + 2 * EBS_20, 1e-12);
    pfx_done(&f);

    /* Order: terminations, hibernations, launches; and the plain stopped-cost figure. */
    pfx_init(&f, "'size':{'min':4,'max':5},'state':'Hibernated'");
    pfx_add(&f, "i-run", "running", 16, "us-east-1a");
    pfx_add(&f, "i-bad", "weird", 16, "us-east-1a");
    pfx_plan(&f);
    CU_ASSERT_EQUAL_FATAL(f.plan->nactions, 5);
    CU_ASSERT_EQUAL(f.plan->actions[0].kind, PREWARM_TERMINATE);
    CU_ASSERT_EQUAL(f.plan->actions[1].kind, PREWARM_HIBERNATE);
    for (size_t i = 2; i < 5; i++)
        CU_ASSERT_EQUAL(f.plan->actions[i].kind, PREWARM_LAUNCH);
    pfx_done(&f);

    pfx_init(&f, "'size':{'min':1,'max':1}");
    pfx_add(&f, "i-1", "stopped", 10, "us-east-1a");
    pfx_plan(&f);
    CU_ASSERT_DOUBLE_EQUAL(f.plan->idle_usd_per_hour, 20 * 0.08 / 730, 1e-12);
    pfx_done(&f);
}

static void test_plan_free_order(void)
{
    struct pfx f;
    pfx_init(&f, "'size':{'min':0,'max':10}");
    pfx_add(&f, "i-3", "stopped", 10, "us-east-1a");
    pfx_add(&f, "i-1", "stopped", 30, "us-east-1a");
    pfx_add(&f, "i-2b", "stopped", 20, "us-east-1a");
    pfx_add(&f, "i-2a", "stopped", 20, "us-east-1a");
    pfx_plan(&f);
    CU_ASSERT_EQUAL_FATAL(f.plan->nfree, 4);
    CU_ASSERT_STRING_EQUAL(f.plan->free[0]->id, "i-1");
    CU_ASSERT_STRING_EQUAL(f.plan->free[1]->id, "i-2a");
    CU_ASSERT_STRING_EQUAL(f.plan->free[2]->id, "i-2b");
    CU_ASSERT_STRING_EQUAL(f.plan->free[3]->id, "i-3");
    pfx_done(&f);

    /* A bogus warm-since tag does not make an instance the oldest: its launch time orders it. */
    pfx_init(&f, "'size':{'min':0,'max':10}");
    pfx_add(&f, "i-new", "stopped", 10, "us-east-1a")->created = T("1700-01-01T00:00:00Z");
    pfx_add(&f, "i-old", "stopped", 60, "us-east-1a");
    pfx_add(&f, "i-mid", "stopped", 30, "us-east-1a")->created = T("2200-01-01T00:00:00Z");
    pfx_plan(&f);
    CU_ASSERT_EQUAL_FATAL(f.plan->nfree, 3);
    CU_ASSERT_STRING_EQUAL(f.plan->free[0]->id, "i-old");
    CU_ASSERT_STRING_EQUAL(f.plan->free[1]->id, "i-mid");
    CU_ASSERT_STRING_EQUAL(f.plan->free[2]->id, "i-new");
    pfx_done(&f);

    /* Hibernation waits for the timeout from the last start; a bogus tag does not hurry it. */
    pfx_init(&f, "'size':{'min':1,'max':1},'state':'Hibernated'");
    {
        struct prewarm_instance *x = pfx_add(&f, "i-run", "running", 5, "us-east-1a");
        x->launch_time = 0;
        x->created = T("1700-01-01T00:00:00Z");
    }
    pfx_plan(&f);
    CU_ASSERT_EQUAL(count_kind(f.plan, PREWARM_HIBERNATE), 0);
    f.in[0].launch_time = T(NOW_S) - 16 * MIN_NS;
    pfx_plan(&f);
    CU_ASSERT_EQUAL(count_kind(f.plan, PREWARM_HIBERNATE), 1);
    pfx_done(&f);

    /* A schedule raises the floor through the plan. */
    pfx_init(&f, "'size':{'min':0,'max':1},'schedules':[{'name':'noon','start':'0 12 * * *',"
                 "'duration':'1h','size':{'min':2}}]");
    pfx_plan(&f);
    CU_ASSERT_EQUAL(f.plan->bounds.min, 2);
    CU_ASSERT_EQUAL(count_kind(f.plan, PREWARM_LAUNCH), 2);
    pfx_done(&f);
}

/* ---- validate and types ---------------------------------------------------------------------- */

static void check_invalid(const struct k8s_warmpool *wp, const struct k8s_nodepool *np,
                          const struct launcher_catalog *cat, const char *want_reason,
                          const char *want_msg_prefix)
{
    char reason[64], msg[PREWARM_REASON_MAX];
    CU_ASSERT_EQUAL(prewarm_validate(wp, np, cat, reason, msg), CORE_E_INVAL);
    CU_ASSERT_STRING_EQUAL(reason, want_reason);
    if (strncmp(msg, want_msg_prefix, strlen(want_msg_prefix)) != 0) {
        fprintf(stderr, "validate: got \"%s\", want prefix \"%s\"\n", msg, want_msg_prefix);
        CU_FAIL("message");
    }
}

static void test_validate(void)
{
    struct k8s_warmpool wp;
    struct k8s_nodepool np, arm, zoned;
    char reason[64], msg[PREWARM_REASON_MAX];

    np_decode(&np, "");
    np_decode(&arm, "{'key':'kubernetes.io/arch','operator':'In','values':['arm64']}");
    np_decode(&zoned, "{'key':'topology.kubernetes.io/zone','operator':'In','values':"
                      "['us-east-1a','us-east-1b']}");

    wp_decode(&wp, "'size':{'min':1},'instanceTypes':['m5.large'],'zones':['us-east-1a']");
    CU_ASSERT_EQUAL(prewarm_validate(&wp, &np, g_cat, reason, msg), 0);
    CU_ASSERT_STRING_EQUAL(reason, "");
    CU_ASSERT_STRING_EQUAL(msg, "");
    check_invalid(&wp, NULL, g_cat, "NodePoolNotFound",
                  "spec.nodePoolRef.name: NodePool general not found");
    check_invalid(&wp, &arm, g_cat, "InstanceTypeNotAllowed",
                  "spec.instanceTypes[0]: NodePool general does not allow m5.large "
                  "(kubernetes.io/arch In [arm64])");
    k8s_warmpool_cleanup(&wp);

    wp_decode(&wp, "'size':{'min':1},'instanceTypes':['m5.large','m9.huge']");
    check_invalid(&wp, &np, g_cat, "InstanceTypeNotFound",
                  "spec.instanceTypes[1]: m9.huge is not in the catalog");
    k8s_warmpool_cleanup(&wp);

    wp_decode(&wp, "'size':{'min':1},'zones':['us-east-1a','us-east-1d']");
    check_invalid(&wp, &zoned, g_cat, "ZoneNotAllowed",
                  "spec.zones[1]: NodePool general does not allow us-east-1d "
                  "(topology.kubernetes.io/zone In [us-east-1a us-east-1b])");
    k8s_warmpool_cleanup(&wp);

    wp_decode(&wp, "'size':{'min':1},'state':'Running'");
    check_invalid(&wp, &np, g_cat, "StateNotSupported",
                  "spec.state: Running is not supported yet: a running instance cannot be given "
                  "its join configuration without a stop; use Stopped or Hibernated");
    k8s_warmpool_cleanup(&wp);

    wp_decode(&wp, "'size':{'min':1},'state':'Hibernated','instanceTypes':['x1.16xlarge']");
    check_invalid(&wp, &np, g_cat, "HibernationNotSupported",
                  "spec.state: Hibernated, but x1.16xlarge");
    k8s_warmpool_cleanup(&wp);

    wp_decode(&wp, "'size':{'min':1},'podShape':{'cpu':'1000'}");
    check_invalid(&wp, &np, g_cat, "NoInstanceTypes",
                  "spec.podShape: no instance type the NodePool allows holds it");
    k8s_warmpool_cleanup(&wp);

    /* Overlapping absolute windows (decode refuses them too; moved after decoding). */
    wp_decode(&wp, "'size':{'min':1},'schedules':[{'name':'a','start':'2026-11-27T08:00:00Z',"
                   "'duration':'2h','size':{'min':2}},{'name':'c','start':'0 9 * * *',"
                   "'duration':'2h','size':{'min':2}},{'name':'b','start':"
                   "'2026-11-28T08:00:00Z','duration':'2h','size':{'min':2}}]");
    CU_ASSERT_EQUAL(prewarm_validate(&wp, &np, g_cat, reason, msg), 0);
    wp.schedules[2].start_time = T("2026-11-27T09:00:00Z");
    check_invalid(&wp, &np, g_cat, "ScheduleOverlap", "spec.schedules[2]: overlaps "
                                                      "spec.schedules[0] (a)");
    /* A window whose end passes the largest time still covers what follows its start (its
     * end wrapped negative and the overlap was missed). */
    wp.schedules[2].start_time = T("2026-11-26T08:00:00Z");
    wp.schedules[2].duration = INT64_MAX - 1000;
    check_invalid(&wp, &np, g_cat, "ScheduleOverlap", "spec.schedules[2]: overlaps "
                                                      "spec.schedules[0] (a)");
    wp.schedules[2].start_time = T("2026-11-28T08:00:00Z");
    wp.schedules[0].duration = INT64_MAX;
    check_invalid(&wp, &np, g_cat, "ScheduleOverlap", "spec.schedules[2]: overlaps "
                                                      "spec.schedules[0] (a)");
    k8s_warmpool_cleanup(&wp);

    /* spec.prewarm.timeout: up to a day. */
    wp_decode(&wp, "'size':{'min':1},'prewarm':{'timeout':'24h'}");
    CU_ASSERT_EQUAL(prewarm_validate(&wp, &np, g_cat, reason, msg), 0);
    k8s_warmpool_cleanup(&wp);
    wp_decode(&wp, "'size':{'min':1},'prewarm':{'timeout':'24h1s'}");
    check_invalid(&wp, &np, g_cat, "InvalidPrewarmTimeout",
                  "spec.prewarm.timeout: 1d1s is over 24h");
    k8s_warmpool_cleanup(&wp);
    wp_decode(&wp, "'size':{'min':1},'prewarm':{'timeout':'2562047h'}");
    check_invalid(&wp, &np, g_cat, "InvalidPrewarmTimeout", "spec.prewarm.timeout: ");
    k8s_warmpool_cleanup(&wp);

    /* The zone of a cron start must be in the zone database. */
    wp_decode(&wp, "'size':{'min':1},'schedules':[{'name':'ny','start':"
                   "'CRON_TZ=America/New_York 0 9 * * *','duration':'1h','size':{'min':2}},"
                   "{'name':'utc','start':'0 9 * * *','duration':'1h','size':{'min':2}},"
                   "{'name':'bad','start':'CRON_TZ=Foo/Bar 0 9 * * *','duration':'1h',"
                   "'size':{'min':2}}]");
    check_invalid(&wp, &np, g_cat, "ScheduleInvalid",
                  "spec.schedules[2].start: time zone Foo/Bar: not in the zone database");
    wp.nschedules = 2;
    CU_ASSERT_EQUAL(prewarm_validate(&wp, &np, g_cat, reason, msg), 0);
    wp.nschedules = 3;
    k8s_warmpool_cleanup(&wp);

    k8s_nodepool_cleanup(&np);
    k8s_nodepool_cleanup(&arm);
    k8s_nodepool_cleanup(&zoned);
}

static void test_validate_hibernation_support(void)
{
    struct aws_ec2_instance_type v[2];
    char *arch[] = {"x86_64"};
    struct launcher_catalog *cat = NULL;
    struct k8s_warmpool wp;
    struct k8s_nodepool np;
    struct core_err err;
    char reason[64], msg[PREWARM_REASON_MAX];

    memset(v, 0, sizeof v);
    v[0].instance_type = "m5.large";
    v[1].instance_type = "m5.xlarge";
    for (int i = 0; i < 2; i++) {
        v[i].architectures.v = arch;
        v[i].architectures.n = 1;
        v[i].vcpus = 2 * (i + 1);
        v[i].memory_mib = 8192 * (i + 1);
        v[i].current_generation = 1;
    }
    v[1].hibernation_supported = 1;
    CU_ASSERT_EQUAL_FATAL(launcher_catalog_from_ec2(v, 2, g_cat, &cat, &err), 0);
    np_decode(&np, "");
    wp_decode(&wp, "'size':{'min':1},'state':'Hibernated','instanceTypes':['m5.xlarge',"
                   "'m5.large']");
    check_invalid(&wp, &np, cat, "HibernationNotSupported",
                  "spec.state: Hibernated, but m5.large (spec.instanceTypes[1]) does not "
                  "support hibernation");
    k8s_warmpool_cleanup(&wp);
    wp_decode(&wp, "'size':{'min':1},'state':'Hibernated','instanceTypes':['m5.xlarge']");
    CU_ASSERT_EQUAL(prewarm_validate(&wp, &np, cat, reason, msg), 0);
    k8s_warmpool_cleanup(&wp);
    k8s_nodepool_cleanup(&np);
    launcher_catalog_free(cat);
}

static void test_types(void)
{
    struct k8s_warmpool wp;
    struct k8s_nodepool np, arm;
    const struct launcher_itype **t = NULL;
    struct core_err err;
    size_t n = 0;
    double p0 = 0, p1 = 0;
    core_ns now = T(NOW_S);

    np_decode(&np, "");
    np_decode(&arm, "{'key':'kubernetes.io/arch','operator':'In','values':['arm64']}");

    /* Default: cheapest on-demand that holds 1 CPU / 2 GiB, cheapest first, ties by name. */
    wp_decode(&wp, "'size':{'min':1}");
    CU_ASSERT_EQUAL_FATAL(prewarm_types(&wp, &np, g_off, now, NULL, 20, &t, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 20);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT(t[i]->alloc_cpu_milli >= 1000);
        CU_ASSERT(t[i]->alloc_memory_bytes >= ((int64_t)2 << 30));
        CU_ASSERT_STRING_NOT_EQUAL(t[i]->name, "t3.small"); /* 1418Mi allocatable */
        if (i > 0) {
            CU_ASSERT_EQUAL(launcher_offerings_lookup(g_off, LAUNCHER_ON_DEMAND, t[i - 1]->name,
                                                      "us-east-1a", now, &p0), 1);
            CU_ASSERT_EQUAL(launcher_offerings_lookup(g_off, LAUNCHER_ON_DEMAND, t[i]->name,
                                                      "us-east-1a", now, &p1), 1);
            CU_ASSERT(p0 < p1 || (p0 == p1 && strcmp(t[i - 1]->name, t[i]->name) < 0));
        }
    }
    core_free(t);

    /* The NodePool filters: arm64 only. */
    CU_ASSERT_EQUAL_FATAL(prewarm_types(&wp, &arm, g_off, now, NULL, 10, &t, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 10);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_STRING_EQUAL(t[i]->arch, "arm64");
    core_free(t);

    /* DaemonSet overhead counts: 1 CPU of DaemonSets leaves 2-vCPU types too small. */
    {
        struct k8s_res_list over = {NULL, 0};
        CU_ASSERT_EQUAL_FATAL(k8s_res_set(&over, "cpu", 1000), 0);
        CU_ASSERT_EQUAL_FATAL(prewarm_types(&wp, &np, g_off, now, &over, 5, &t, &n, &err), 0);
        for (size_t i = 0; i < n; i++)
            CU_ASSERT(t[i]->alloc_cpu_milli >= 2000);
        core_free(t);
        k8s_res_cleanup(&over);
    }
    k8s_warmpool_cleanup(&wp);

    /* Zones not offered: none. */
    wp_decode(&wp, "'size':{'min':1},'zones':['us-east-1f']");
    t = NULL;
    CU_ASSERT_EQUAL(prewarm_types(&wp, &np, g_off, now, NULL, 5, &t, &n, &err), CORE_E_NOTFOUND);
    CU_ASSERT_PTR_NULL(t);
    k8s_warmpool_cleanup(&wp);

    /* Explicit: in order, unknown ones dropped. */
    wp_decode(&wp, "'size':{'min':1},'instanceTypes':['m5.large','nope.large','c5.large']");
    CU_ASSERT_EQUAL_FATAL(prewarm_types(&wp, &np, g_off, now, NULL, 10, &t, &n, &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(t[0]->name, "m5.large");
    CU_ASSERT_STRING_EQUAL(t[1]->name, "c5.large");
    core_free(t);
    k8s_warmpool_cleanup(&wp);

    k8s_nodepool_cleanup(&np);
    k8s_nodepool_cleanup(&arm);
}

static void test_requirements_admit(void)
{
    struct k8s_nodepool np, bad;
    const struct launcher_itype *m5 = launcher_catalog_find(g_cat, "m5.large");
    char why[128];
    struct core_err err;

    CU_ASSERT_PTR_NOT_NULL_FATAL(m5);
    np_decode(&np, "{'key':'topology.kubernetes.io/zone','operator':'In','values':['us-east-1a']},"
                   "{'key':'karpenter.sh/capacity-type','operator':'In','values':['spot']},"
                   "{'key':'example.com/team','operator':'In','values':['web']}");
    CU_ASSERT_EQUAL(launcher_requirements_admit(np.requirements, np.nrequirements, m5,
                                                "us-east-1a", LAUNCHER_SPOT, why, sizeof why,
                                                &err), 1);
    CU_ASSERT_EQUAL(launcher_requirements_admit(np.requirements, np.nrequirements, m5,
                                                "us-east-1a", LAUNCHER_ON_DEMAND, why,
                                                sizeof why, &err), 0);
    CU_ASSERT_STRING_EQUAL(why, "karpenter.sh/capacity-type In [spot]");
    CU_ASSERT_EQUAL(launcher_requirements_admit(np.requirements, np.nrequirements, m5,
                                                "us-east-1b", LAUNCHER_SPOT, why, sizeof why,
                                                &err), 0);
    CU_ASSERT_STRING_EQUAL(why, "topology.kubernetes.io/zone In [us-east-1a]");
    /* No zone: the zone is not asked. */
    CU_ASSERT_EQUAL(launcher_requirements_admit(np.requirements, np.nrequirements, m5, NULL,
                                                LAUNCHER_SPOT, NULL, 0, &err), 1);
    k8s_nodepool_cleanup(&np);

    np_decode(&bad, "{'key':'karpenter.k8s.aws/instance-cpu','operator':'Gt','values':['4']},"
                    "{'key':'example.com/x','operator':'In','values':['a']},"
                    "{'key':'example.com/x','operator':'In','values':['b']}");
    CU_ASSERT_EQUAL(launcher_requirements_admit(bad.requirements, bad.nrequirements, m5, NULL,
                                                LAUNCHER_ON_DEMAND, why, sizeof why, &err), 0);
    CU_ASSERT_STRING_EQUAL(why, "karpenter.k8s.aws/instance-cpu Gt 4");
    CU_ASSERT_EQUAL(launcher_requirements_admit(bad.requirements + 1, 2, m5, NULL,
                                                LAUNCHER_ON_DEMAND, why, sizeof why, &err), 0);
    CU_ASSERT_STRING_EQUAL(why, "example.com/x In []");
    CU_ASSERT_EQUAL(launcher_requirements_admit(NULL, 0, NULL, NULL, LAUNCHER_ON_DEMAND, NULL, 0,
                                                &err), CORE_E_INVAL);
    k8s_nodepool_cleanup(&bad);
}

/* ---- advise ---------------------------------------------------------------------------------- */

static void test_advise(void)
{
    const struct launcher_itype *types[2] = {launcher_catalog_find(g_cat, "m5.large"),
                                             launcher_catalog_find(g_cat, "c5.large")};
    struct prewarm_advise_input in;
    struct prewarm_advice *a = NULL;
    struct core_err err;
    const struct prewarm_advice_row *r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(types[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(types[1]);
    memset(&in, 0, sizeof in);
    in.pods = 300;
    in.cpu_milli = 500;
    in.memory_bytes = (int64_t)1 << 30;
    in.types = types;
    in.ntypes = 2;
    in.timing = (struct prewarm_timing){40, 13, 10, 2};

    /* Deadline below the cold time: everything warm. m5.large: 1930m/500m = 3 pods a node. */
    in.deadline = 30 * CORE_NS_PER_S;
    CU_ASSERT_EQUAL_FATAL(prewarm_advise(&in, &a, &err), 0);
    CU_ASSERT_EQUAL(a->nrows, 2);
    CU_ASSERT_EQUAL(a->meets_deadline, 1);
    for (size_t i = 0; i < a->nrows; i++) {
        CU_ASSERT_EQUAL(a->rows[i].cold, 0);
        CU_ASSERT_EQUAL(a->rows[i].warm, a->rows[i].nodes);
    }
    /* Cheapest burst first: c5.large (0.085) before m5.large (0.096), same node count. */
    CU_ASSERT_STRING_EQUAL(a->rows[0].type->name, "c5.large");
    r = &a->rows[1];
    CU_ASSERT_STRING_EQUAL(r->type->name, "m5.large");
    CU_ASSERT_EQUAL(r->pods_per_node, 3);
    CU_ASSERT_EQUAL(r->nodes, 100);
    CU_ASSERT_DOUBLE_EQUAL(r->idle_usd_per_hour, 100 * EBS_20, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(r->burst_usd_per_hour, 100 * 0.096, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(r->seconds_saved_per_pod, 27, 1e-9);
    prewarm_advice_free(a);

    /* Deadline above: 10 + 2 × (60 − 40) = 50 launch cold, the rest warm. */
    in.deadline = 60 * CORE_NS_PER_S;
    CU_ASSERT_EQUAL_FATAL(prewarm_advise(&in, &a, &err), 0);
    CU_ASSERT_EQUAL(a->meets_deadline, 1);
    CU_ASSERT_EQUAL(a->rows[1].cold, 50);
    CU_ASSERT_EQUAL(a->rows[1].warm, 50);
    CU_ASSERT_DOUBLE_EQUAL(a->rows[a->best].idle_usd_per_hour,
                           (double)a->rows[a->best].warm * EBS_20, 1e-9);
    prewarm_advice_free(a);
    /* A long deadline: all cold. */
    in.deadline = 600 * CORE_NS_PER_S;
    CU_ASSERT_EQUAL_FATAL(prewarm_advise(&in, &a, &err), 0);
    CU_ASSERT_EQUAL(a->rows[a->best].warm, 0);
    prewarm_advice_free(a);

    /* Faster than the warm path: all warm, and it does not meet the deadline. */
    in.deadline = 10 * CORE_NS_PER_S;
    CU_ASSERT_EQUAL_FATAL(prewarm_advise(&in, &a, &err), 0);
    CU_ASSERT_EQUAL(a->meets_deadline, 0);
    CU_ASSERT_EQUAL(a->rows[a->best].warm, a->rows[a->best].nodes);
    prewarm_advice_free(a);

    /* Invalid inputs name the field. */
    a = NULL;
    in.pods = 0;
    CU_ASSERT_EQUAL(prewarm_advise(&in, &a, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(strncmp(err.message, "pods", 4), 0);
    in.pods = 10;
    in.cpu_milli = 0;
    CU_ASSERT_EQUAL(prewarm_advise(&in, &a, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(strncmp(err.message, "cpu", 3), 0);
    in.cpu_milli = 500;
    in.memory_bytes = -1;
    CU_ASSERT_EQUAL(prewarm_advise(&in, &a, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(strncmp(err.message, "memory", 6), 0);
    in.memory_bytes = 1 << 30;
    in.deadline = -1;
    CU_ASSERT_EQUAL(prewarm_advise(&in, &a, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(strncmp(err.message, "deadline", 8), 0);
    in.deadline = 0;
    in.ntypes = 0;
    CU_ASSERT_EQUAL(prewarm_advise(&in, &a, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(strncmp(err.message, "types", 5), 0);
    in.ntypes = 2;
    in.cpu_milli = 64000;
    CU_ASSERT_EQUAL(prewarm_advise(&in, &a, &err), CORE_E_NOTFOUND);
    CU_ASSERT_PTR_NULL(a);
}

TESTS_SUITE(prewarm_tz, "prewarm_tz", NULL, NULL, TESTS_CASE(test_tz_utc),
            TESTS_CASE(test_tz_zones), TESTS_CASE(test_tz_errors), TESTS_CASE(test_tz_footer))
TESTS_SUITE(prewarm_bounds_s, "prewarm_bounds", NULL, NULL, TESTS_CASE(test_bounds_size_target),
            TESTS_CASE(test_bounds_absolute), TESTS_CASE(test_bounds_cron_dst),
            TESTS_CASE(test_bounds_overlap_max), TESTS_CASE(test_bounds_cron_long_window),
            TESTS_CASE(test_bounds_many_schedules_fast))
TESTS_SUITE(prewarm_plan_s, "prewarm_plan", NULL, NULL, TESTS_CASE(test_classify),
            TESTS_CASE(test_plan_refill_spread), TESTS_CASE(test_plan_surge_rotation),
            TESTS_CASE(test_plan_scale_in_failed), TESTS_CASE(test_plan_hibernate_cost),
            TESTS_CASE(test_plan_free_order))
TESTS_SUITE(prewarm_catalog_s, "prewarm_catalog", suite_init, suite_cleanup,
            TESTS_CASE(test_validate), TESTS_CASE(test_validate_hibernation_support),
            TESTS_CASE(test_types), TESTS_CASE(test_requirements_admit), TESTS_CASE(test_advise))
