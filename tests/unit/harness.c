/*
 * tests/unit/harness.c — the test runner: collects the suites registered by constructors,
 * runs them with CUnit's basic interface, and ends with a plain "tests: N passed, N failed"
 * line. The exit status is non-zero when any assertion or suite setup failed.
 */
#include "tests/unit/harness.h"

#include "core/core.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TESTS_MAX_SUITES 256

struct tests_suite {
    const char *name;
    CU_InitializeFunc init;
    CU_CleanupFunc cleanup;
    const struct tests_case *cases;
};

static struct tests_suite suites[TESTS_MAX_SUITES];
static size_t nsuites;

void tests_register_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
                          const struct tests_case *cases)
{
    if (nsuites == TESTS_MAX_SUITES) {
        fprintf(stderr, "tests: too many suites (raise TESTS_MAX_SUITES)\n");
        abort();
    }
    suites[nsuites].name = name;
    suites[nsuites].init = init;
    suites[nsuites].cleanup = cleanup;
    suites[nsuites].cases = cases;
    nsuites++;
}

static int suite_cmp(const void *a, const void *b)
{
    return strcmp(((const struct tests_suite *)a)->name, ((const struct tests_suite *)b)->name);
}

const char *tests_data_path(const char *rel)
{
    static char path[4096];
    const char *base = getenv("STOKER_TESTDATA");
    if (!base || !*base)
        base = "tests/data";
    snprintf(path, sizeof path, "%s/%s", base, rel);
    return path;
}

const char *tests_stoker_bin(void)
{
    const char *bin = getenv("STOKER_BIN");
    return bin && *bin ? bin : "./stoker";
}

char *tests_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct core_buf b;
    char chunk[4096];
    size_t n;
    char *out = NULL;

    if (!f)
        return NULL;
    core_buf_init(&b, 64u * 1024u * 1024u);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (core_buf_append(&b, chunk, n) != 0)
            goto done;
    }
    if (ferror(f))
        goto done;
    if (core_buf_steal(&b, &out, len) != 0)
        out = NULL;
done:
    fclose(f);
    core_buf_cleanup(&b);
    return out;
}

static int wanted(int argc, char **argv, const char *name)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned failed, passed, suites_failed;
    size_t added = 0;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "tests: CUnit registry: %s\n", CU_get_error_msg());
        return 2;
    }
    qsort(suites, nsuites, sizeof suites[0], suite_cmp);
    for (size_t i = 0; i < nsuites; i++) {
        CU_pSuite s;
        if (!wanted(argc, argv, suites[i].name))
            continue;
        s = CU_add_suite(suites[i].name, suites[i].init, suites[i].cleanup);
        if (!s) {
            fprintf(stderr, "tests: suite %s: %s\n", suites[i].name, CU_get_error_msg());
            CU_cleanup_registry();
            return 2;
        }
        for (const struct tests_case *c = suites[i].cases; c->name; c++) {
            if (!CU_add_test(s, c->name, c->fn)) {
                fprintf(stderr, "tests: %s/%s: %s\n", suites[i].name, c->name, CU_get_error_msg());
                CU_cleanup_registry();
                return 2;
            }
        }
        added++;
    }
    if (added == 0) {
        fprintf(stderr, "tests: no suite matched\n");
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    passed = CU_get_number_of_tests_run() - CU_get_number_of_tests_failed();
    failed = CU_get_number_of_tests_failed();
    suites_failed = CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    if (suites_failed)
        printf("tests: %u suite setups failed\n", suites_failed);
    printf("\ntests: %u passed, %u failed\n", passed, failed);
    return (failed || suites_failed) ? 1 : 0;
}
