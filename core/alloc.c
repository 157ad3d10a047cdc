/*
 * core/alloc.c — checked allocation wrappers with an Nth-failure test mode.
 *
 * The failure counter is the only mutable global in core; it is test configuration, set by a
 * test before it drives a code path, so every out-of-memory branch can be exercised under ASan.
 * When the counter is 0 the wrappers are plain pass-throughs.
 */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

static unsigned long fail_countdown; /* 0 = off; 1 = fail the next allocation */
static unsigned long fail_count;

static int should_fail(void)
{
    if (fail_countdown == 0)
        return 0;
    if (--fail_countdown == 0) {
        fail_count++;
        return 1;
    }
    return 0;
}

void core_alloc_fail_after(unsigned long n)
{
    fail_countdown = n;
    fail_count = 0;
}

unsigned long core_alloc_failures(void)
{
    return fail_count;
}

void *core_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *core_calloc(size_t nmemb, size_t size)
{
    if (should_fail())
        return NULL;
    if (nmemb == 0 || size == 0)
        return calloc(1, 1);
    return calloc(nmemb, size);
}

void *core_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

char *core_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = core_malloc(len + 1);
    if (!d)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *core_strdup(const char *s)
{
    return core_strndup(s, strlen(s));
}

void core_free(void *p)
{
    free(p);
}
