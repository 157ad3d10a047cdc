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

/* The summary without the wall time line (the only figure that is not deterministic). */
static char *strip_wall(const char *s)
{
    char *c = core_strdup(s);
    char *w = c ? strstr(c, "wall time") : NULL;
    if (w) {
        char *eol = strchr(w, '\n');
        if (eol)
            memmove(w, eol + 1, strlen(eol + 1) + 1);
        else
            *w = '\0';
    }
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
    out_free(&o);
    tests_rmtree(dir);
}

TESTS_SUITE(cli_sim_scenario, "cli_sim_scenario", NULL, NULL, TESTS_CASE(test_steady_run),
            TESTS_CASE(test_usage_errors))
