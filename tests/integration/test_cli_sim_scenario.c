/*
 * tests/integration/test_cli_sim_scenario.c — `stoker sim --scenario` as a user runs it: the
 * binary completes a scenario with the real controller, prints the summary and the report
 * path, and the report is a well-formed page with its three charts; the same seed prints the
 * same summary; bad flags and unknown scenarios are usage errors naming what was wrong.
 *
 * Invariants: every run writes into its own temporary directory, removed at the end.
 */
#include "tests/integration/simproc.h"
#include "tests/unit/harness.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUN_TIMEOUT_S 120.0

static void run(const char *dir, const char *const *args, struct tests_stoker_run *o)
{
    char *envp[] = {NULL};
    tests_stoker_run(o, args, envp, dir, RUN_TIMEOUT_S);
}

static void out_free(struct tests_stoker_run *o)
{
    tests_stoker_run_cleanup(o);
}

/* tests_run reports the exit code itself. */
static int exit_code(int status)
{
    return status;
}

struct xml_count {
    int svg, polyline, table;
};

static void on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct xml_count *c = ud;
    (void)attrs;
    c->svg += strcmp(name, "svg") == 0;
    c->polyline += strcmp(name, "polyline") == 0;
    c->table += strcmp(name, "table") == 0;
}

static void on_end(void *ud, const XML_Char *name)
{
    (void)ud;
    (void)name;
}

/* Removes the line holding `label`, if any. */
static void drop_line(char *c, const char *label)
{
    char *w = c ? strstr(c, label) : NULL;
    if (w) {
        while (w > c && w[-1] != '\n')
            w--;
        char *eol = strchr(w, '\n');
        if (eol)
            memmove(w, eol + 1, strlen(eol + 1) + 1);
        else
            *w = '\0';
    }
}

/* The summary without the figures measured in real time (wall time, the controller's CPU
 * time deciding): everything else is deterministic. */
static char *strip_wall(const char *s)
{
    char *c = core_strdup(s);
    drop_line(c, "wall time");
    drop_line(c, "controller deciding (CPU)");
    char *r = c ? strstr(c, "report: ") : NULL;
    if (r)
        *r = '\0';
    return c;
}

static void test_steady_run(void)
{
    char dir[] = "/tmp/stoker-scenario-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char report[600], report2[600];
    snprintf(report, sizeof(report), "%s/r1.html", dir);
    snprintf(report2, sizeof(report2), "%s/r2.html", dir);
    const char *a1[] = {"sim", "--scenario", "steady", "--seed", "5", "--progress", "off",
                        "--report", report, NULL};
    struct tests_stoker_run o1, o2;
    run(dir, a1, &o1);
    CU_ASSERT_EQUAL(exit_code(o1.status), 0);
    if (exit_code(o1.status) != 0)
        fprintf(stderr, "\n  stderr: %s", o1.err);
    CU_ASSERT_PTR_NOT_NULL(strstr(o1.out, "pods pending at end                      0"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o1.out, "launches cold / warm"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o1.out, "reaction p50 / p99"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o1.out, "report: "));
    /* The report: well-formed, three charts, no script. */
    size_t len = 0;
    char *html = tests_read_file(report, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_PTR_NULL(strstr(html, "<script"));
    struct xml_count cnt = {0};
    XML_Parser p = XML_ParserCreate("UTF-8");
    XML_SetUserData(p, &cnt);
    XML_SetElementHandler(p, on_start, on_end);
    const char *body = strstr(html, "<html");
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_EQUAL(XML_Parse(p, body, (int)strlen(body), 1), XML_STATUS_OK);
    XML_ParserFree(p);
    CU_ASSERT_EQUAL(cnt.svg, 3);
    core_free(html);
    /* Deterministic for a seed. */
    const char *a2[] = {"sim", "--scenario", "steady", "--seed", "5", "--progress", "off",
                        "--report", report2, NULL};
    run(dir, a2, &o2);
    CU_ASSERT_EQUAL(exit_code(o2.status), 0);
    char *s1 = strip_wall(o1.out), *s2 = strip_wall(o2.out);
    CU_ASSERT_PTR_NOT_NULL(s1);
    CU_ASSERT_PTR_NOT_NULL(s2);
    if (s1 && s2)
        CU_ASSERT_STRING_EQUAL(s1, s2);
    core_free(s1);
    core_free(s2);
    out_free(&o1);
    out_free(&o2);
    tests_rmtree(dir);
}

/* The value of a summary row (after the label and its padding), or NULL. */
static const char *row_value(const char *txt, const char *label)
{
    const char *r = strstr(txt, label);
    if (!r)
        return NULL;
    r += strlen(label);
    while (*r == ' ')
        r++;
    return r;
}

/* A duration as the summary prints it ("12.3 s" or "11.2 min") in seconds; *end after it. */
static double secs_at(const char *p, const char **end)
{
    char *e = NULL;
    double v = strtod(p, &e);
    if (e && strncmp(e, " min", 4) == 0) {
        v *= 60;
        e += 4;
    } else if (e && strncmp(e, " s", 2) == 0) {
        e += 2;
    }
    *end = e;
    return v;
}

/* The p99 of a "p50 / p90 / p99" row of a summary, or -1. */
static double p99_of(const char *txt, const char *label)
{
    const char *p = row_value(txt, label);
    if (!p)
        return -1;
    for (int i = 0; i < 2; i++) {
        (void)secs_at(p, &p);
        if (strncmp(p, " / ", 3) != 0)
            return -1;
        p += 3;
    }
    return secs_at(p, &p);
}

/* Warm launches of a summary, or -1. */
static long warm_launches(const char *txt)
{
    const char *v = row_value(txt, "launches cold / warm");
    const char *slash = v ? strstr(v, " / ") : NULL;
    return slash ? strtol(slash + 3, NULL, 10) : -1;
}

/* flash-sale with the pool sized by advise against no pool, same seed: the warm path is used,
 * no warm instance registers unclaimed, nothing starts twice, and the burst's p99 wait drops. */
static void test_flash_sale_warm_pool(void)
{
    char dir[] = "/tmp/stoker-scenario-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char r1[600], r2[600];
    snprintf(r1, sizeof(r1), "%s/advise.html", dir);
    snprintf(r2, sizeof(r2), "%s/none.html", dir);
    const char *a1[] = {"sim", "--scenario", "flash-sale", "--warm-pool", "advise", "--seed", "7",
                        "--progress", "off", "--report", r1, NULL};
    const char *a2[] = {"sim", "--scenario", "flash-sale", "--warm-pool", "none", "--seed", "7",
                        "--progress", "off", "--report", r2, NULL};
    struct tests_stoker_run adv, none;
    run(dir, a1, &adv);
    run(dir, a2, &none);
    CU_ASSERT_EQUAL(exit_code(adv.status), 0);
    CU_ASSERT_EQUAL(exit_code(none.status), 0);
    if (exit_code(adv.status) != 0 || exit_code(none.status) != 0)
        fprintf(stderr, "\n  stderr: %s / %s", adv.err, none.err);
    const char *v = row_value(adv.out, "warm pool");
    CU_ASSERT(v && strncmp(v, "advise\n", 7) == 0);
    CU_ASSERT_PTR_NOT_NULL(row_value(adv.out, "advice used"));
    CU_ASSERT(warm_launches(adv.out) > 0);
    v = row_value(adv.out, "warm registered unclaimed");
    CU_ASSERT(v && strncmp(v, "0\n", 2) == 0);
    v = row_value(adv.out, "double starts");
    CU_ASSERT(v && strncmp(v, "0\n", 2) == 0);
    v = row_value(none.out, "warm pool");
    CU_ASSERT(v && strncmp(v, "none\n", 5) == 0);
    CU_ASSERT_EQUAL(warm_launches(none.out), 0);
    /* Over every pod, and over the burst's alone (the baseline's first cold start is the same
     * in both runs). */
    double p_adv = p99_of(adv.out, "\n  pod wait p50 / p90 / p99");
    double p_none = p99_of(none.out, "\n  pod wait p50 / p90 / p99");
    CU_ASSERT(p_adv > 0 && p_none > 0);
    CU_ASSERT(p_adv < p_none);
    double b_adv = p99_of(adv.out, "burst pod wait p50 / p90 / p99");
    double b_none = p99_of(none.out, "burst pod wait p50 / p90 / p99");
    CU_ASSERT(b_adv > 0 && b_none > 0);
    CU_ASSERT(b_adv < b_none);
    if (!(p_adv > 0 && p_adv < p_none && b_adv > 0 && b_adv < b_none))
        fprintf(stderr, "\n  p99 wait: advise %.1f s (burst %.1f s), none %.1f s (burst %.1f s)\n",
                p_adv, b_adv, p_none, b_none);
    /* The advise report has the warm-pool chart besides the three others; none has not. */
    size_t len = 0;
    char *html = tests_read_file(r1, &len);
    CU_ASSERT_PTR_NOT_NULL(html);
    CU_ASSERT_PTR_NOT_NULL(html ? strstr(html, "Warm pool instances by phase") : NULL);
    core_free(html);
    html = tests_read_file(r2, &len);
    CU_ASSERT_PTR_NOT_NULL(html);
    CU_ASSERT_PTR_NULL(html ? strstr(html, "Warm pool instances by phase") : "");
    core_free(html);
    out_free(&adv);
    out_free(&none);
    tests_rmtree(dir);
}

static void test_usage_errors(void)
{
    char dir[] = "/tmp/stoker-scenario-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    struct tests_stoker_run o;
    const char *a1[] = {"sim", "--scenario", "nope", NULL};
    run(dir, a1, &o);
    CU_ASSERT_EQUAL(exit_code(o.status), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(o.err, "unknown scenario 'nope'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o.err, "flash-sale"));
    out_free(&o);
    const char *a2[] = {"sim", "--scenario", "steady", "--seed", "x", NULL};
    run(dir, a2, &o);
    CU_ASSERT_EQUAL(exit_code(o.status), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(o.err, "--seed"));
    out_free(&o);
    const char *a3[] = {"sim", "--scenario", "steady", "--progress", "sometimes", NULL};
    run(dir, a3, &o);
    CU_ASSERT_EQUAL(exit_code(o.status), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(o.err, "--progress"));
    out_free(&o);
    const char *a4[] = {"sim", "--scenario", "--help", NULL};
    run(dir, a4, &o);
    CU_ASSERT_EQUAL(exit_code(o.status), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(o.out, "pvc-zones"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o.out, "--warm-pool"));
    out_free(&o);
    const char *a5[] = {"sim", "--scenario", "flash-sale", "--warm-pool", "bogus", NULL};
    run(dir, a5, &o);
    CU_ASSERT_EQUAL(exit_code(o.status), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(o.err, "--warm-pool"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o.err, "bogus"));
    out_free(&o);
    /* A scenario with no pool and no burst has nothing for the flag to choose. */
    const char *a6[] = {"sim", "--scenario", "steady", "--warm-pool", "none", NULL};
    run(dir, a6, &o);
    CU_ASSERT_EQUAL(exit_code(o.status), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(o.err, "--warm-pool"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o.err, "steady"));
    out_free(&o);
    tests_rmtree(dir);
}

TESTS_SUITE(cli_sim_scenario, "cli_sim_scenario", NULL, NULL, TESTS_CASE(test_steady_run),
            TESTS_CASE(test_flash_sale_warm_pool), TESTS_CASE(test_usage_errors))
