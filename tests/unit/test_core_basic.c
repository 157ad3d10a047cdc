/*
 * tests/unit/test_core_basic.c — errors, allocation failure injection, bounded buffers,
 * bounded string helpers, integer parsing and the string map.
 */
#include "tests/unit/harness.h"

#include "core/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_err_set_and_prefix(void)
{
    struct core_err err;
    core_err_clear(&err);
    CU_ASSERT_EQUAL(core_err_set(&err, CORE_E_PARSE, "field %s: expected %d", "spec.x", 3),
                    CORE_E_PARSE);
    CU_ASSERT_EQUAL(err.code, CORE_E_PARSE);
    CU_ASSERT_STRING_EQUAL(err.message, "field spec.x: expected 3");
    core_err_prefix(&err, "EC2NodeClass %s", "default");
    CU_ASSERT_STRING_EQUAL(err.message, "EC2NodeClass default: field spec.x: expected 3");
    CU_ASSERT_EQUAL(err.code, CORE_E_PARSE);
    core_err_set_service(&err, 503, "RequestLimitExceeded", "req-1");
    CU_ASSERT_EQUAL(err.http_status, 503);
    CU_ASSERT_STRING_EQUAL(err.service_code, "RequestLimitExceeded");
    CU_ASSERT_STRING_EQUAL(err.request_id, "req-1");
    /* NULL err is allowed everywhere. */
    CU_ASSERT_EQUAL(core_err_set(NULL, CORE_E_INVAL, "x"), CORE_E_INVAL);
    core_err_prefix(NULL, "x");
}

static void test_err_message_bounded(void)
{
    struct core_err err;
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    core_err_set(&err, CORE_E_INVAL, "%s", big);
    CU_ASSERT_EQUAL(strlen(err.message), CORE_ERR_MSG_MAX - 1);
    core_err_prefix(&err, "%s", "ctx");
    CU_ASSERT_EQUAL(strlen(err.message), CORE_ERR_MSG_MAX - 1);
    CU_ASSERT_EQUAL(strncmp(err.message, "ctx: aaa", 8), 0);
}

static void test_strerror(void)
{
    CU_ASSERT_STRING_EQUAL(core_strerror(CORE_E_TOOBIG), "input exceeds its limit");
    CU_ASSERT_STRING_EQUAL(core_strerror(-ENOENT), strerror(ENOENT));
    CU_ASSERT_STRING_EQUAL(core_strerror(-99999), "unknown error");
}

static void test_alloc_fail_after(void)
{
    void *a, *b, *c;
    core_alloc_fail_after(2);
    a = core_malloc(8);
    b = core_malloc(8);
    c = core_malloc(8);
    CU_ASSERT_PTR_NOT_NULL(a);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_PTR_NOT_NULL(c);
    CU_ASSERT_EQUAL(core_alloc_failures(), 1);
    core_alloc_fail_after(0);
    core_free(a);
    core_free(c);
    core_free(NULL);
}

static void test_buf_append_and_limit(void)
{
    struct core_buf b;
    core_buf_init(&b, 10);
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&b), "");
    CU_ASSERT_EQUAL(core_buf_append_str(&b, "hello"), 0);
    CU_ASSERT_EQUAL(core_buf_appendf(&b, "%d", 1234), 0);
    CU_ASSERT_STRING_EQUAL(b.data, "hello1234");
    CU_ASSERT_EQUAL(b.len, 9);
    /* One more byte fits exactly at the limit; the next fails and changes nothing. */
    CU_ASSERT_EQUAL(core_buf_append_char(&b, '!'), 0);
    CU_ASSERT_EQUAL(b.len, 10);
    CU_ASSERT_EQUAL(core_buf_append_char(&b, '?'), CORE_E_TOOBIG);
    CU_ASSERT_EQUAL(core_buf_appendf(&b, "%s", "x"), CORE_E_TOOBIG);
    CU_ASSERT_EQUAL(b.len, 10);
    CU_ASSERT_STRING_EQUAL(b.data, "hello1234!");
    core_buf_reset(&b);
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&b), "");
    core_buf_cleanup(&b);
    core_buf_cleanup(&b); /* twice is harmless */
}

static void test_buf_binary_and_steal(void)
{
    struct core_buf b;
    char *s = NULL;
    size_t n = 0;
    const char bin[4] = {'a', '\0', 'b', '\0'};
    core_buf_init(&b, 1 << 20);
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL_FATAL(core_buf_append(&b, bin, sizeof bin), 0);
    CU_ASSERT_EQUAL(b.len, 4000);
    CU_ASSERT_EQUAL(b.data[4000], '\0');
    CU_ASSERT_EQUAL(memcmp(b.data + 3996, bin, 4), 0);
    CU_ASSERT_EQUAL(core_buf_steal(&b, &s, &n), 0);
    CU_ASSERT_EQUAL(n, 4000);
    CU_ASSERT_PTR_NULL(b.data);
    CU_ASSERT_EQUAL(b.len, 0);
    core_free(s);
    CU_ASSERT_EQUAL(core_buf_steal(&b, &s, &n), 0); /* empty buffer steals "" */
    CU_ASSERT_STRING_EQUAL(s, "");
    CU_ASSERT_EQUAL(n, 0);
    core_free(s);
    core_buf_cleanup(&b);
}

static void test_buf_overflow_guard(void)
{
    struct core_buf b;
    core_buf_init(&b, SIZE_MAX);
    CU_ASSERT_EQUAL(core_buf_append_str(&b, "x"), 0);
    /* extra so large that len + extra would wrap around */
    CU_ASSERT_NOT_EQUAL(core_buf_reserve(&b, SIZE_MAX), 0);
    CU_ASSERT_EQUAL(b.len, 1);
    core_buf_cleanup(&b);
}

static void test_buf_nomem_leaves_buffer_intact(void)
{
    struct core_buf b;
    core_buf_init(&b, 1 << 20);
    CU_ASSERT_EQUAL(core_buf_append_str(&b, "keep"), 0);
    core_alloc_fail_after(1);
    CU_ASSERT_EQUAL(core_buf_reserve(&b, 4096), CORE_E_NOMEM);
    core_alloc_fail_after(0);
    CU_ASSERT_STRING_EQUAL(b.data, "keep");
    core_buf_cleanup(&b);
}

static void test_strlcpy_and_parse(void)
{
    char small[4];
    int64_t v = 7;
    CU_ASSERT_EQUAL(core_strlcpy(small, "abcdef", sizeof small), 6);
    CU_ASSERT_STRING_EQUAL(small, "abc");
    CU_ASSERT_EQUAL(core_parse_i64("42", 0, 100, &v), 0);
    CU_ASSERT_EQUAL(v, 42);
    CU_ASSERT_EQUAL(core_parse_i64("-5", -10, 10, &v), 0);
    CU_ASSERT_EQUAL(v, -5);
    v = 7;
    CU_ASSERT_EQUAL(core_parse_i64("101", 0, 100, &v), CORE_E_INVAL);
    CU_ASSERT_EQUAL(core_parse_i64("12x", 0, 100, &v), CORE_E_PARSE);
    CU_ASSERT_EQUAL(core_parse_i64("", 0, 100, &v), CORE_E_PARSE);
    CU_ASSERT_EQUAL(core_parse_i64("99999999999999999999999", INT64_MIN, INT64_MAX, &v),
                    CORE_E_PARSE);
    CU_ASSERT_EQUAL(v, 7); /* out-param untouched on failure */
}


static void test_read_file(void)
{
    char dir[] = "/tmp/stoker-read-XXXXXX", path[256], fifo[256];
    struct core_err err;
    char *out = (char *)0x1;
    size_t len = 99;
    FILE *f;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/token", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("s3cr3t-value\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(core_read_file("token file", path, 64, &out, &len, &err), 0);
    CU_ASSERT_STRING_EQUAL(out, "s3cr3t-value\n");
    CU_ASSERT_EQUAL(len, 13);
    core_free(out);
    out = (char *)0x1;
    /* Over the limit: an error naming the file and the limit, never the content. */
    CU_ASSERT_EQUAL(core_read_file("token file", path, 5, &out, &len, &err), CORE_E_TOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, path));
    CU_ASSERT_PTR_NULL(strstr(err.message, "s3cr3t"));
    CU_ASSERT_PTR_EQUAL(out, (char *)0x1);
    CU_ASSERT_EQUAL(core_read_file("token file", "/nonexistent/x", 64, &out, &len, &err),
                    CORE_E_NOTFOUND);
    /* A FIFO is refused without blocking. */
    CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
    CU_ASSERT_EQUAL(core_read_file("token file", fifo, 64, &out, &len, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(core_read_file("dir", dir, 64, &out, &len, &err), CORE_E_INVAL);
    unlink(fifo);
    unlink(path);
    rmdir(dir);
}

static void test_map_basic(void)
{
    struct core_map *m = core_map_new();
    int a = 1, b = 2, found = -1;
    void *old = &a;
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(core_map_set(m, "ns/a", &a, &old), 0);
    CU_ASSERT_PTR_NULL(old);
    CU_ASSERT_EQUAL(core_map_set(m, "ns/a", &b, &old), 0);
    CU_ASSERT_PTR_EQUAL(old, &a);
    CU_ASSERT_EQUAL(core_map_len(m), 1);
    CU_ASSERT_PTR_EQUAL(core_map_get(m, "ns/a", &found), &b);
    CU_ASSERT_EQUAL(found, 1);
    CU_ASSERT_PTR_NULL(core_map_get(m, "ns/b", &found));
    CU_ASSERT_EQUAL(found, 0);
    CU_ASSERT_EQUAL(core_map_set(m, "null", NULL, NULL), 0);
    CU_ASSERT_PTR_NULL(core_map_get(m, "null", &found));
    CU_ASSERT_EQUAL(found, 1);
    CU_ASSERT_PTR_EQUAL(core_map_del(m, "ns/a"), &b);
    CU_ASSERT_PTR_NULL(core_map_get(m, "ns/a", NULL));
    CU_ASSERT_EQUAL(core_map_len(m), 1);
    core_map_free(m);
    core_map_free(NULL);
}

static void test_map_many_with_deletes(void)
{
    struct core_map *m = core_map_new();
    char key[32];
    static int vals[5000];
    size_t iter = 0, seen = 0;
    const char *k;
    void *v;

    for (int i = 0; i < 5000; i++) {
        vals[i] = i;
        snprintf(key, sizeof key, "key-%d", i);
        CU_ASSERT_EQUAL_FATAL(core_map_set(m, key, &vals[i], NULL), 0);
    }
    for (int i = 0; i < 5000; i += 2) {
        snprintf(key, sizeof key, "key-%d", i);
        CU_ASSERT_PTR_EQUAL(core_map_del(m, key), &vals[i]);
    }
    /* Re-adding after deletes reuses tombstones without losing odd keys. */
    for (int i = 0; i < 5000; i += 4) {
        snprintf(key, sizeof key, "key-%d", i);
        CU_ASSERT_EQUAL_FATAL(core_map_set(m, key, &vals[i], NULL), 0);
    }
    CU_ASSERT_EQUAL(core_map_len(m), 2500 + 1250);
    for (int i = 1; i < 5000; i += 2) {
        snprintf(key, sizeof key, "key-%d", i);
        CU_ASSERT_PTR_EQUAL(core_map_get(m, key, NULL), &vals[i]);
    }
    while (core_map_next(m, &iter, &k, &v)) {
        int n = *(int *)v;
        snprintf(key, sizeof key, "key-%d", n);
        CU_ASSERT_STRING_EQUAL(k, key);
        seen++;
    }
    CU_ASSERT_EQUAL(seen, 3750);
    core_map_free(m);
}

static void test_map_alloc_failures(void)
{
    /* Every allocation in a fill of 100 keys is made to fail once in turn: the map stays
     * consistent (what was set is there) and nothing leaks. */
    for (unsigned long n = 1;; n++) {
        struct core_map *m;
        char key[32];
        int ok = 1, count = 0;
        core_alloc_fail_after(n);
        m = core_map_new();
        if (!m) {
            core_alloc_fail_after(0);
            continue;
        }
        for (int i = 0; i < 100; i++) {
            snprintf(key, sizeof key, "k%d", i);
            if (core_map_set(m, key, m, NULL) != 0) {
                ok = 0;
                continue;
            }
            count++;
        }
        CU_ASSERT_EQUAL(core_map_len(m), (size_t)count);
        for (int i = 0; i < 100; i++) {
            int found;
            snprintf(key, sizeof key, "k%d", i);
            (void)core_map_get(m, key, &found);
        }
        core_map_free(m);
        if (core_alloc_failures() == 0) {
            CU_ASSERT(ok);
            core_alloc_fail_after(0);
            break;
        }
        core_alloc_fail_after(0);
        CU_ASSERT_FATAL(n < 10000);
    }
}

TESTS_SUITE(core_basic, "core_basic", NULL, NULL,
            TESTS_CASE(test_err_set_and_prefix), TESTS_CASE(test_err_message_bounded),
            TESTS_CASE(test_strerror), TESTS_CASE(test_alloc_fail_after),
            TESTS_CASE(test_buf_append_and_limit), TESTS_CASE(test_buf_binary_and_steal),
            TESTS_CASE(test_buf_overflow_guard), TESTS_CASE(test_buf_nomem_leaves_buffer_intact),
            TESTS_CASE(test_strlcpy_and_parse), TESTS_CASE(test_read_file), TESTS_CASE(test_map_basic),
            TESTS_CASE(test_map_many_with_deletes), TESTS_CASE(test_map_alloc_failures))
