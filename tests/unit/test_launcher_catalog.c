/*
 * tests/unit/test_launcher_catalog.c — the compiled-in instance catalog and the max-pods and
 * allocatable formulas: every row loads, spot checks against the CSV's literal values, our
 * allocatable equals the catalog's alloc_* columns for every row, the documented ENI formula's
 * exact disagreements with the catalog, podsPerCore and maxPods overrides, strict parsing with
 * errors naming line and column, and allocation-failure injection over the parser.
 */
#include "tests/unit/harness.h"

#include "launcher/launcher.h"

#include <stdio.h>
#include <string.h>

#define MIB INT64_C(1048576)
#define GIB (INT64_C(1024) * MIB)

#define HEADER                                                                                 \
    "instance_type,family,category,generation,size,arch,os,vcpu,memory_mib,cpu_manufacturer,"  \
    "hypervisor,network_bandwidth_mbps,ebs_bandwidth_mbps,local_nvme_gib,gpu_count,gpu_name,"  \
    "gpu_manufacturer,gpu_memory_mib,accelerator_count,accelerator_name,enis,ipv4_per_eni,"    \
    "branch_enis,bare_metal,alloc_cpu,alloc_memory,alloc_pods,alloc_ephemeral_storage,"        \
    "od_price_usd_hr_us_east_1\n"

/* Three real rows (a1.medium, m5.large, p4d.24xlarge), one with x86_64 spelled the EC2 way. */
#define ROW_A1 "a1.medium,a1,a,1,medium,arm64,linux,1,2048,aws,nitro,500,3500,,,,,,,,2,4,10,false,940m,1392Mi,8,17Gi,0.025500\n"
#define ROW_M5 "m5.large,m5,m,5,large,x86_64,linux,2,8192,intel,nitro,750,4750,,,,,,,,3,10,9,false,1930m,6903Mi,29,17Gi,0.096000\n"
#define ROW_P4 "p4d.24xlarge,p4d,p,4,24xlarge,amd64,linux,96,1179648,intel,nitro,400000,19000,8000,8,a100,nvidia,40960,,,60,50,62,false,95690m,1082712Mi,737,17Gi,21.957642\n"

static struct launcher_catalog *load(void)
{
    struct launcher_catalog *c = NULL;
    struct core_err err;
    core_err_clear(&err);
    int rc = launcher_catalog_load(&c, &err);
    if (rc != 0)
        fprintf(stderr, "catalog load: %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    return c;
}

static void test_all_rows_load(void)
{
    struct launcher_catalog *c = load();
    CU_ASSERT_EQUAL(launcher_catalog_count(c), 1363);
    size_t amd = 0, arm = 0, priced = 0, metal = 0;
    for (size_t i = 0; i < launcher_catalog_count(c); i++) {
        const struct launcher_itype *t = launcher_catalog_at(c, i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        /* The index finds each row as itself: names are unique and all indexed. */
        CU_ASSERT_PTR_EQUAL(launcher_catalog_find(c, t->name), t);
        CU_ASSERT(t->vcpu > 0 && t->memory_mib > 0);
        CU_ASSERT_STRING_EQUAL(t->os, "linux");
        if (strcmp(t->arch, "amd64") == 0 && strcmp(t->ec2_arch, "x86_64") == 0)
            amd++;
        else if (strcmp(t->arch, "arm64") == 0 && strcmp(t->ec2_arch, "arm64") == 0)
            arm++;
        priced += t->od_price_usd_hr > 0;
        metal += t->bare_metal;
    }
    /* Counts from the CSV itself (cut/sort/uniq): 967 amd64, 396 arm64, 18 unpriced,
     * 143 bare_metal=true. */
    CU_ASSERT_EQUAL(amd, 967);
    CU_ASSERT_EQUAL(arm, 396);
    CU_ASSERT_EQUAL(priced, 1363 - 18);
    CU_ASSERT_EQUAL(metal, 143);
    CU_ASSERT_PTR_NULL(launcher_catalog_at(c, 1363));
    CU_ASSERT_PTR_NULL(launcher_catalog_find(c, "m5.nonexistent"));
    CU_ASSERT_STRING_EQUAL(launcher_catalog_at(c, 0)->name, "a1.medium"); /* file order */
    launcher_catalog_free(c);
    launcher_catalog_free(NULL);
}

static void test_spot_checks(void)
{
    struct launcher_catalog *c = load();
    const struct launcher_itype *t;

    t = launcher_catalog_find(c, "m5.large");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t->family, "m5");
    CU_ASSERT_STRING_EQUAL(t->category, "m");
    CU_ASSERT_EQUAL(t->generation, 5);
    CU_ASSERT_STRING_EQUAL(t->size, "large");
    CU_ASSERT_STRING_EQUAL(t->arch, "amd64");
    CU_ASSERT_STRING_EQUAL(t->ec2_arch, "x86_64");
    CU_ASSERT_EQUAL(t->vcpu, 2);
    CU_ASSERT_EQUAL(t->memory_mib, 8192);
    CU_ASSERT_STRING_EQUAL(t->cpu_manufacturer, "intel");
    CU_ASSERT_STRING_EQUAL(t->hypervisor, "nitro");
    CU_ASSERT_EQUAL(t->network_bandwidth_mbps, 750);
    CU_ASSERT_EQUAL(t->ebs_bandwidth_mbps, 4750);
    CU_ASSERT_EQUAL(t->enis, 3);
    CU_ASSERT_EQUAL(t->ipv4_per_eni, 10);
    CU_ASSERT_EQUAL(t->branch_enis, 9);
    CU_ASSERT_EQUAL(t->gpu_count, 0);
    CU_ASSERT_STRING_EQUAL(t->gpu_name, "");
    CU_ASSERT_FALSE(t->bare_metal);
    CU_ASSERT_EQUAL(t->alloc_cpu_milli, 1930);
    CU_ASSERT_EQUAL(t->alloc_memory_bytes, 6903 * MIB);
    CU_ASSERT_EQUAL(t->alloc_pods, 29);
    CU_ASSERT_DOUBLE_EQUAL(t->od_price_usd_hr, 0.096, 1e-9);

    t = launcher_catalog_find(c, "c7g.xlarge");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t->arch, "arm64");
    CU_ASSERT_STRING_EQUAL(t->ec2_arch, "arm64");
    CU_ASSERT_STRING_EQUAL(t->cpu_manufacturer, "aws");
    CU_ASSERT_EQUAL(t->vcpu, 4);
    CU_ASSERT_EQUAL(t->alloc_memory_bytes, 6525 * MIB);
    CU_ASSERT_EQUAL(t->alloc_pods, 58);
    CU_ASSERT_DOUBLE_EQUAL(t->od_price_usd_hr, 0.145, 1e-9);

    t = launcher_catalog_find(c, "p4d.24xlarge");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(t->gpu_count, 8);
    CU_ASSERT_STRING_EQUAL(t->gpu_name, "a100");
    CU_ASSERT_STRING_EQUAL(t->gpu_manufacturer, "nvidia");
    CU_ASSERT_EQUAL(t->gpu_memory_mib, 40960);
    CU_ASSERT_EQUAL(t->local_nvme_gib, 8000);
    CU_ASSERT_EQUAL(t->enis, 60);
    CU_ASSERT_EQUAL(t->alloc_pods, 737);

    t = launcher_catalog_find(c, "inf2.48xlarge");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(t->accelerator_count, 12);
    CU_ASSERT_STRING_EQUAL(t->accelerator_name, "inferentia2");
    CU_ASSERT_EQUAL(t->gpu_count, 0);
    CU_ASSERT_STRING_EQUAL(t->cpu_manufacturer, "amd");

    t = launcher_catalog_find(c, "m5.metal");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_TRUE(t->bare_metal);
    CU_ASSERT_STRING_EQUAL(t->hypervisor, "");
    CU_ASSERT_EQUAL(t->vcpu, 96);
    CU_ASSERT_EQUAL(t->alloc_cpu_milli, 95690);

    /* a1.medium: 940m, 1392Mi, 8, 17Gi, exactly as in the CSV. */
    t = launcher_catalog_find(c, "a1.medium");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(t->alloc_cpu_milli, 940);
    CU_ASSERT_EQUAL(t->alloc_memory_bytes, 1392 * MIB);
    CU_ASSERT_EQUAL(t->alloc_pods, 8);
    CU_ASSERT_EQUAL(t->alloc_ephemeral_bytes, 17 * GIB);
    struct launcher_alloc a;
    CU_ASSERT_EQUAL_FATAL(launcher_allocatable(t, NULL, &a), 0);
    CU_ASSERT_EQUAL(a.cpu_milli, 940);
    CU_ASSERT_EQUAL(a.memory_bytes, 1392 * MIB);
    CU_ASSERT_EQUAL(a.pods, 8);
    CU_ASSERT_EQUAL(a.ephemeral_bytes, 17 * GIB);

    /* No ENI data at all: the catalog still states its pods (100), which we keep. */
    t = launcher_catalog_find(c, "hpc7a.12xlarge");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(t->enis, 0);
    CU_ASSERT_EQUAL(t->od_price_usd_hr, 0.0);
    CU_ASSERT_EQUAL(launcher_eni_max_pods(t), LAUNCHER_DEFAULT_MAX_PODS);
    CU_ASSERT_EQUAL(launcher_max_pods(t, 0, 0), 100);
    launcher_catalog_free(c);
}

/* Our allocatable for every row equals the catalog's alloc_* columns. */
static void test_allocatable_matches_every_row(void)
{
    struct launcher_catalog *c = load();
    size_t mismatches = 0, checked = 0;
    for (size_t i = 0; i < launcher_catalog_count(c); i++) {
        const struct launcher_itype *t = launcher_catalog_at(c, i);
        struct launcher_alloc a;
        CU_ASSERT_EQUAL_FATAL(launcher_allocatable(t, NULL, &a), 0);
        checked++;
        if (a.cpu_milli != t->alloc_cpu_milli || a.memory_bytes != t->alloc_memory_bytes ||
            a.pods != t->alloc_pods || a.ephemeral_bytes != t->alloc_ephemeral_bytes) {
            if (mismatches < 5)
                fprintf(stderr,
                        "\n  %s: ours cpu=%lldm mem=%lldMi pods=%d eph=%lld; catalog cpu=%lldm "
                        "mem=%lldMi pods=%d eph=%lld",
                        t->name, (long long)a.cpu_milli, (long long)(a.memory_bytes / MIB),
                        a.pods, (long long)a.ephemeral_bytes, (long long)t->alloc_cpu_milli,
                        (long long)(t->alloc_memory_bytes / MIB), t->alloc_pods,
                        (long long)t->alloc_ephemeral_bytes);
            mismatches++;
        }
    }
    CU_ASSERT_EQUAL(checked, 1363);
    CU_ASSERT_EQUAL(mismatches, 0);
    launcher_catalog_free(c);
}

/* The documented ENI formula over the catalog's columns agrees with the catalog's pods except
 * for exactly two known kinds of rows: types with several network cards (the CNI uses the
 * default card's ENIs: alloc_pods = k × (ipv4_per_eni − 1) + 2 for a proper divisor k of enis)
 * and types with no ENI data (the catalog still knows their pods). */
static void test_eni_formula_against_catalog(void)
{
    struct launcher_catalog *c = load();
    size_t same = 0, multi_card = 0, no_eni_data = 0, other = 0;
    for (size_t i = 0; i < launcher_catalog_count(c); i++) {
        const struct launcher_itype *t = launcher_catalog_at(c, i);
        int32_t f = launcher_eni_max_pods(t);
        if (f == t->alloc_pods) {
            same++;
        } else if (t->enis == 0 || t->ipv4_per_eni == 0) {
            no_eni_data++;
        } else if (t->alloc_pods < f && (t->alloc_pods - 2) % (t->ipv4_per_eni - 1) == 0 &&
                   t->enis % ((t->alloc_pods - 2) / (t->ipv4_per_eni - 1)) == 0) {
            multi_card++;
        } else {
            fprintf(stderr, "\n  %s: formula %d, catalog %d", t->name, f, t->alloc_pods);
            other++;
        }
    }
    CU_ASSERT_EQUAL(same, 1296);
    CU_ASSERT_EQUAL(multi_card, 59);
    CU_ASSERT_EQUAL(no_eni_data, 8);
    CU_ASSERT_EQUAL(other, 0);

    /* The formula itself: m5.large 3 × (10 − 1) + 2 = 29; r6in.32xlarge 16 × 49 + 2 = 786
     * while the catalog (default card, 8 ENIs) says 394 and launcher_max_pods keeps 394. */
    CU_ASSERT_EQUAL(launcher_eni_max_pods(launcher_catalog_find(c, "m5.large")), 29);
    const struct launcher_itype *r = launcher_catalog_find(c, "r6in.32xlarge");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(launcher_eni_max_pods(r), 786);
    CU_ASSERT_EQUAL(launcher_max_pods(r, 0, 0), 394);
    launcher_catalog_free(c);
}

static void test_max_pods_options(void)
{
    struct launcher_itype t;
    memset(&t, 0, sizeof t);
    t.name = "x.test";
    t.arch = "amd64";
    t.vcpu = 4;
    t.memory_mib = 16384;
    t.enis = 4;
    t.ipv4_per_eni = 15;

    /* No catalog pods: the formula, 4 × 14 + 2. */
    CU_ASSERT_EQUAL(launcher_max_pods(&t, 0, 0), 58);
    /* podsPerCore caps: 10 × 4 = 40 < 58; a cap above the base changes nothing. */
    CU_ASSERT_EQUAL(launcher_max_pods(&t, 10, 0), 40);
    CU_ASSERT_EQUAL(launcher_max_pods(&t, 100, 0), 58);
    /* override replaces the base, above or below it, and podsPerCore still caps it. */
    CU_ASSERT_EQUAL(launcher_max_pods(&t, 0, 110), 110);
    CU_ASSERT_EQUAL(launcher_max_pods(&t, 0, 20), 20);
    CU_ASSERT_EQUAL(launcher_max_pods(&t, 10, 110), 40);
    /* Unknown ENIs: 110. */
    t.enis = 0;
    CU_ASSERT_EQUAL(launcher_max_pods(&t, 0, 0), 110);
    CU_ASSERT_EQUAL(launcher_eni_max_pods(&t), 110);
    t.enis = 4;
    /* The catalog's pods win over the formula when known. */
    t.alloc_pods = 30;
    CU_ASSERT_EQUAL(launcher_max_pods(&t, 0, 0), 30);
    t.alloc_pods = 0;

    /* Memory follows pods: 16384 − 1229 (ceil 7.5%) − (11 × 40 + 255) − 100 = 14360 MiB. */
    struct launcher_alloc a;
    struct launcher_alloc_opts o = {.pods_per_core = 10};
    CU_ASSERT_EQUAL_FATAL(launcher_allocatable(&t, &o, &a), 0);
    CU_ASSERT_EQUAL(a.pods, 40);
    CU_ASSERT_EQUAL(a.memory_bytes, 14360 * MIB);
    /* 4 cores: 60 + 10 + 5 + 5 = 80m reserved. */
    CU_ASSERT_EQUAL(a.cpu_milli, 3920);
    o.pods_per_core = 0;
    o.max_pods = 110;
    CU_ASSERT_EQUAL_FATAL(launcher_allocatable(&t, &o, &a), 0);
    CU_ASSERT_EQUAL(a.pods, 110);
    CU_ASSERT_EQUAL(a.memory_bytes, (16384 - 1229 - (11 * 110 + 255) - 100) * MIB);
    /* The same type on arm64 has the catalog's extra 59 MiB reserved. */
    t.arch = "arm64";
    CU_ASSERT_EQUAL_FATAL(launcher_allocatable(&t, &o, &a), 0);
    CU_ASSERT_EQUAL(a.memory_bytes, (16384 - 1229 - (11 * 110 + 255) - 100 - 59) * MIB);
    t.arch = "amd64";

    /* CPU bands beyond 4 cores, truncated per band: 6 cores = 80 + 2 × 2.5 = 85m;
     * 5 cores = 80 + 2.5 → 82m. */
    t.vcpu = 6;
    CU_ASSERT_EQUAL_FATAL(launcher_allocatable(&t, NULL, &a), 0);
    CU_ASSERT_EQUAL(a.cpu_milli, 6000 - 85);
    t.vcpu = 5;
    CU_ASSERT_EQUAL_FATAL(launcher_allocatable(&t, NULL, &a), 0);
    CU_ASSERT_EQUAL(a.cpu_milli, 5000 - 82);

    /* Ephemeral: 20 GiB root − 1 GiB − 10% = 17 GiB; a 100 GiB root gives 89 GiB. */
    CU_ASSERT_EQUAL(a.ephemeral_bytes, 17 * GIB);
    struct launcher_alloc_opts big = {.root_volume_bytes = 100 * GIB};
    CU_ASSERT_EQUAL_FATAL(launcher_allocatable(&t, &big, &a), 0);
    CU_ASSERT_EQUAL(a.ephemeral_bytes, 89 * GIB);

    /* Reservations above capacity floor at 0; bad arguments are refused. */
    t.memory_mib = 256;
    CU_ASSERT_EQUAL_FATAL(launcher_allocatable(&t, NULL, &a), 0);
    CU_ASSERT_EQUAL(a.memory_bytes, 0);
    struct launcher_alloc_opts neg = {.max_pods = -1};
    CU_ASSERT_EQUAL(launcher_allocatable(&t, &neg, &a), CORE_E_INVAL);
    CU_ASSERT_EQUAL(launcher_allocatable(NULL, NULL, &a), CORE_E_INVAL);
    CU_ASSERT_EQUAL(launcher_allocatable(&t, NULL, NULL), CORE_E_INVAL);
}

/* Parses text and expects failure with code and every needle in the message. */
static void expect_parse_error(const char *csv, int code, const char *needle1, const char *needle2)
{
    struct launcher_catalog *c = NULL;
    struct core_err err;
    core_err_clear(&err);
    int rc = launcher_catalog_parse(csv, strlen(csv), &c, &err);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_EQUAL(err.code, code);
    CU_ASSERT_PTR_NULL(c); /* out-params only on success */
    if (needle1 && !strstr(err.message, needle1)) {
        fprintf(stderr, "\n  message \"%s\" lacks \"%s\"", err.message, needle1);
        CU_FAIL("message lacks needle1");
    }
    if (needle2 && !strstr(err.message, needle2)) {
        fprintf(stderr, "\n  message \"%s\" lacks \"%s\"", err.message, needle2);
        CU_FAIL("message lacks needle2");
    }
    launcher_catalog_free(c);
}

static void test_parse_small_and_errors(void)
{
    /* The good case first, so the error cases below fail for the reason they name. */
    const char *good = HEADER ROW_A1 ROW_M5 ROW_P4;
    struct launcher_catalog *c = NULL;
    struct core_err err;
    core_err_clear(&err);
    CU_ASSERT_EQUAL_FATAL(launcher_catalog_parse(good, strlen(good), &c, &err), 0);
    CU_ASSERT_EQUAL(launcher_catalog_count(c), 3);
    const struct launcher_itype *m5 = launcher_catalog_find(c, "m5.large");
    CU_ASSERT_PTR_NOT_NULL_FATAL(m5);
    CU_ASSERT_STRING_EQUAL(m5->arch, "amd64"); /* x86_64 in the input */
    CU_ASSERT_STRING_EQUAL(m5->ec2_arch, "x86_64");
    launcher_catalog_free(c);

    /* Without the final newline, and with CRLF line ends. */
    c = NULL;
    CU_ASSERT_EQUAL_FATAL(launcher_catalog_parse(good, strlen(good) - 1, &c, &err), 0);
    CU_ASSERT_EQUAL(launcher_catalog_count(c), 3);
    launcher_catalog_free(c);
    const char *crlf = "instance_type,family,category,generation,size,arch,os,vcpu,memory_mib,"
                       "cpu_manufacturer,hypervisor,network_bandwidth_mbps,ebs_bandwidth_mbps,"
                       "local_nvme_gib,gpu_count,gpu_name,gpu_manufacturer,gpu_memory_mib,"
                       "accelerator_count,accelerator_name,enis,ipv4_per_eni,branch_enis,"
                       "bare_metal,alloc_cpu,alloc_memory,alloc_pods,alloc_ephemeral_storage,"
                       "od_price_usd_hr_us_east_1\r\n"
                       "t.x,t,t,1,x,amd64,linux,1,1024,,,,,,,,,,,,,,,,,,,,\r\n";
    c = NULL;
    CU_ASSERT_EQUAL_FATAL(launcher_catalog_parse(crlf, strlen(crlf), &c, &err), 0);
    CU_ASSERT_EQUAL(launcher_catalog_at(c, 0)->alloc_pods, 0); /* empty = 0 */
    CU_ASSERT_STRING_EQUAL(launcher_catalog_at(c, 0)->gpu_name, "");
    launcher_catalog_free(c);

    /* Wrong header: a renamed column and a missing column. */
    char bad_header[sizeof HEADER ROW_A1];
    snprintf(bad_header, sizeof bad_header, "%s", HEADER ROW_A1);
    memcpy(strstr(bad_header, "vcpu"), "vCPU", 4);
    expect_parse_error(bad_header, CORE_E_PARSE, "line 1 column 8", "\"vcpu\"");
    expect_parse_error("instance_type,family\n", CORE_E_PARSE, "line 1 column 3", "category");
    expect_parse_error("", CORE_E_PARSE, "line 1", NULL);

    /* A short row: the first missing cell is named. */
    expect_parse_error(HEADER ROW_A1 "m5.large,m5,m,5,large,amd64,linux,2\n", CORE_E_PARSE,
                       "line 3 column 9", "memory_mib");
    /* A long row. */
    expect_parse_error(HEADER "a1.medium,a1,a,1,medium,arm64,linux,1,2048,aws,nitro,500,3500,,,"
                              ",,,,,2,4,10,false,940m,1392Mi,8,17Gi,0.025500,extra\n",
                       CORE_E_PARSE, "line 2 column 30", NULL);
    /* Non-numeric vcpu, a signed one, and an empty (required) one. */
    expect_parse_error(HEADER ROW_A1 ROW_M5
                       "m5.xlarge,m5,m,5,xlarge,amd64,linux,four,16384,intel,nitro,,,,,,,,,,,,,,,,,,\n",
                       CORE_E_PARSE, "line 4 column 8 (vcpu)", "four");
    expect_parse_error(HEADER "m5.xlarge,m5,m,5,xlarge,amd64,linux, 4,16384,,,,,,,,,,,,,,,,,,,,\n",
                       CORE_E_PARSE, "line 2 column 8 (vcpu)", NULL);
    expect_parse_error(HEADER "m5.xlarge,m5,m,5,xlarge,amd64,linux,,16384,,,,,,,,,,,,,,,,,,,,\n",
                       CORE_E_PARSE, "line 2 column 8 (vcpu)", "empty");
    /* Other columns: arch, quantity, bool, price, duplicate name, quotes, blank line. */
    expect_parse_error(HEADER "x.y,x,x,1,y,sparc,linux,1,1024,,,,,,,,,,,,,,,,,,,,\n", CORE_E_PARSE,
                       "line 2 column 6 (arch)", "sparc");
    expect_parse_error(HEADER "x.y,x,x,1,y,amd64,linux,1,1024,,,,,,,,,,,,,,,,940q,,,,\n",
                       CORE_E_PARSE, "line 2 column 25 (alloc_cpu)", NULL);
    expect_parse_error(HEADER "x.y,x,x,1,y,amd64,linux,1,1024,,,,,,,,,,,,,,,yes,,,,,\n",
                       CORE_E_PARSE, "line 2 column 24 (bare_metal)", NULL);
    expect_parse_error(HEADER "x.y,x,x,1,y,amd64,linux,1,1024,,,,,,,,,,,,,,,,,,,,nan\n",
                       CORE_E_PARSE, "line 2 column 29 (od_price_usd_hr_us_east_1)", NULL);
    expect_parse_error(HEADER ROW_A1 ROW_A1, CORE_E_PARSE, "line 3 column 1", "duplicate");
    expect_parse_error(HEADER "\"x.y\",x,x,1,y,amd64,linux,1,1024,,,,,,,,,,,,,,,,,,,,\n",
                       CORE_E_PARSE, "line 2 column 1", "quoted");
    expect_parse_error(HEADER ROW_A1 "\n" ROW_M5, CORE_E_PARSE, "line 3", "blank");

    /* Bounds and arguments. */
    c = NULL;
    CU_ASSERT_EQUAL(launcher_catalog_parse(good, LAUNCHER_CATALOG_MAX_BYTES + 1, &c, &err),
                    CORE_E_TOOBIG);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_EQUAL(launcher_catalog_parse(NULL, 0, &c, NULL), CORE_E_INVAL);
    CU_ASSERT_EQUAL(launcher_catalog_parse(good, strlen(good), NULL, NULL), CORE_E_INVAL);
}

/* Every allocation the parser makes may fail: each failure is a clean CORE_E_NOMEM with no
 * out-param and no leak (LSan checks under `make sanitize`), until the run that succeeds. */
static void test_parse_alloc_failures(void)
{
    const char *good = HEADER ROW_A1 ROW_M5 ROW_P4;
    unsigned long n;
    int succeeded = 0;
    for (n = 1; n < 1000 && !succeeded; n++) {
        struct launcher_catalog *c = NULL;
        struct core_err err;
        core_err_clear(&err);
        core_alloc_fail_after(n);
        int rc = launcher_catalog_parse(good, strlen(good), &c, &err);
        unsigned long failures = core_alloc_failures();
        core_alloc_fail_after(0);
        if (rc == 0) {
            CU_ASSERT_EQUAL(failures, 0);
            CU_ASSERT_PTR_NOT_NULL_FATAL(c);
            CU_ASSERT_EQUAL(launcher_catalog_count(c), 3);
            CU_ASSERT_PTR_NOT_NULL(launcher_catalog_find(c, "p4d.24xlarge"));
            succeeded = 1;
        } else {
            CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
            CU_ASSERT_EQUAL(err.code, CORE_E_NOMEM);
            CU_ASSERT_EQUAL(failures, 1);
            CU_ASSERT_PTR_NULL(c);
        }
        launcher_catalog_free(c);
    }
    CU_ASSERT_TRUE(succeeded);
    CU_ASSERT(n > 3); /* at least the catalog, the text copy and the array were tried */
}

TESTS_SUITE(launcher_catalog, "launcher_catalog", NULL, NULL,
            TESTS_CASE(test_all_rows_load), TESTS_CASE(test_spot_checks),
            TESTS_CASE(test_allocatable_matches_every_row),
            TESTS_CASE(test_eni_formula_against_catalog), TESTS_CASE(test_max_pods_options),
            TESTS_CASE(test_parse_small_and_errors), TESTS_CASE(test_parse_alloc_failures))
