/*
 * tests/unit/harness.h — the shared test harness: suite registration and test helpers.
 *
 * Each test file registers its suites from a constructor with TESTS_SUITE(), so adding a test
 * file never means editing a central list. The runner (harness.c) adds them to the CUnit
 * registry in name order, runs them (all, or those named on the command line), prints CUnit's
 * summary and a closing "tests: N passed, N failed" line, and exits non-zero on any failure.
 */
#ifndef STOKER_TESTS_HARNESS_H
#define STOKER_TESTS_HARNESS_H

#include <CUnit/CUnit.h>
#include <stddef.h>

struct tests_case {
    const char *name;
    CU_TestFunc fn;
};

/* cases ends with {NULL, NULL}. init/cleanup may be NULL. */
void tests_register_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
                          const struct tests_case *cases);

#define TESTS_SUITE(ident, name, init, cleanup, ...)                                          \
    static const struct tests_case ident##_cases[] = {__VA_ARGS__, {NULL, NULL}};              \
    static void ident##_register(void) __attribute__((constructor));                           \
    static void ident##_register(void) { tests_register_suite(name, init, cleanup, ident##_cases); }

#define TESTS_CASE(fn) {#fn, fn}

/* Absolute path of a file under tests/data (STOKER_TESTDATA, else ./tests/data). The result is
 * a static buffer overwritten by the next call. */
const char *tests_data_path(const char *rel);
/* Path of the stoker binary under test (STOKER_BIN, else ./stoker). */
const char *tests_stoker_bin(void);
/* Reads a whole file into a heap string (core_free); NULL on error. */
char *tests_read_file(const char *path, size_t *len);

#endif
