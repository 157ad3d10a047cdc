/*
 * tests/unit/test_cli.c — the command line: help, version, and usage errors with exit code 2,
 * both in-process through cli_main and through the built binary.
 */
#include "tests/unit/harness.h"

#include "cli/cli.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

struct run {
    int rc;
    char *out;
    char *err;
};

static struct run run_cli(int argc, const char **argv)
{
    struct run r = {0, NULL, NULL};
    size_t no = 0, ne = 0;
    FILE *out = open_memstream(&r.out, &no);
    FILE *err = open_memstream(&r.err, &ne);
    r.rc = cli_main(argc, (char **)argv, out, err);
    fclose(out);
    fclose(err);
    return r;
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

static void test_help(void)
{
    const char *argv[] = {"stoker", "--help"};
    struct run r = run_cli(2, argv);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "usage: stoker"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "version"));
    CU_ASSERT_STRING_EQUAL(r.err, "");
    run_free(&r);
}

static void test_version(void)
{
    const char *argv[] = {"stoker", "version"};
    struct run r = run_cli(2, argv);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(strncmp(r.out, "stoker " STOKER_VERSION "\n", strlen("stoker " STOKER_VERSION "\n")), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\ncommit: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\nlibcurl: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\nopenssl: OpenSSL "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\njansson: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\nexpat: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\nlibyaml: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\nzlib: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\nlibmicrohttpd: "));
    run_free(&r);
}

static void test_usage_errors_exit_2(void)
{
    const char *a1[] = {"stoker", "frobnicate"};
    const char *a2[] = {"stoker", "--no-such-flag", "version"};
    const char *a3[] = {"stoker"};
    const char *a4[] = {"stoker", "--log-level", "loud", "version"};
    const char *a5[] = {"stoker", "version", "--bogus"};
    struct run r;

    r = run_cli(2, a1);
    CU_ASSERT_EQUAL(r.rc, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "unknown command 'frobnicate'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "usage: stoker"));
    CU_ASSERT_STRING_EQUAL(r.out, "");
    run_free(&r);
    r = run_cli(3, a2);
    CU_ASSERT_EQUAL(r.rc, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "unknown flag '--no-such-flag'"));
    run_free(&r);
    r = run_cli(1, a3);
    CU_ASSERT_EQUAL(r.rc, 2);
    run_free(&r);
    r = run_cli(4, a4);
    CU_ASSERT_EQUAL(r.rc, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "--log-level"));
    run_free(&r);
    r = run_cli(3, a5);
    CU_ASSERT_EQUAL(r.rc, 2);
    run_free(&r);
}

static void test_global_flags_accepted(void)
{
    const char *argv[] = {"stoker", "--log-level=debug", "--log-format", "json", "version"};
    struct run r = run_cli(5, argv);
    CU_ASSERT_EQUAL(r.rc, 0);
    run_free(&r);
}

static int run_binary(const char *args)
{
    char cmd[4096];
    int st;
    snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>&1", tests_stoker_bin(), args);
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_binary_exit_codes(void)
{
    CU_ASSERT_EQUAL(run_binary("version"), 0);
    CU_ASSERT_EQUAL(run_binary("--help"), 0);
    CU_ASSERT_EQUAL(run_binary("no-such-command"), 2);
    CU_ASSERT_EQUAL(run_binary("--wat"), 2);
}

TESTS_SUITE(cli, "cli", NULL, NULL, TESTS_CASE(test_help), TESTS_CASE(test_version),
            TESTS_CASE(test_usage_errors_exit_2), TESTS_CASE(test_global_flags_accepted),
            TESTS_CASE(test_binary_exit_codes))
