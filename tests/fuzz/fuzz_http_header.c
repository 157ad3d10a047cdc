/*
 * tests/fuzz/fuzz_http_header.c — libFuzzer target for core_http_parse_header_line, which
 * parses raw header lines straight off the network.
 *
 * Beyond "no crash, no leak, no UB" (ASan/UBSan do that), it checks the parser's promises on
 * every input and traps when one is broken:
 *  - the result is 1, 0, CORE_E_PARSE or CORE_E_TOOBIG (nothing else without allocation
 *    failures), and the outputs are written only when it is 1;
 *  - a header's name is a non-empty RFC 9110 token that is exactly the input up to the first
 *    colon; its value holds no NUL, CR or LF, has no surrounding blanks, and is a substring of
 *    the input after the colon;
 *  - the line terminator does not matter: the same input with "\r\n" appended parses the same.
 */
#include "core/core.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond))                                                                         \
            __builtin_trap();                                                                \
    } while (0)

static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void check_header(const char *line, size_t size, const char *name, const char *value)
{
    size_t nlen = strlen(name), vlen = strlen(value);

    CHECK(nlen > 0 && nlen < size);
    for (size_t i = 0; i < nlen; i++)
        CHECK(is_tchar((unsigned char)name[i]));
    CHECK(memcmp(line, name, nlen) == 0 && line[nlen] == ':');
    CHECK(vlen <= size - nlen - 1);
    CHECK(!strpbrk(value, "\r\n"));
    if (vlen > 0) {
        CHECK(value[0] != ' ' && value[0] != '\t');
        CHECK(value[vlen - 1] != ' ' && value[vlen - 1] != '\t');
        CHECK(memmem(line + nlen + 1, size - nlen - 1, value, vlen) != NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    char *n1 = (char *)&n1, *v1 = (char *)&v1; /* sentinels: must stay untouched unless 1 */
    char *n2 = NULL, *v2 = NULL;
    char *crlf;
    int rc1, rc2;

    rc1 = core_http_parse_header_line(line, size, &n1, &v1);
    CHECK(rc1 == 1 || rc1 == 0 || rc1 == CORE_E_PARSE || rc1 == CORE_E_TOOBIG);
    if (rc1 != 1) {
        CHECK(n1 == (char *)&n1 && v1 == (char *)&v1);
        n1 = v1 = NULL;
    } else {
        check_header(line, size, n1, v1);
    }

    crlf = malloc(size + 2);
    if (crlf) {
        if (size > 0)
            memcpy(crlf, data, size);
        crlf[size] = '\r';
        crlf[size + 1] = '\n';
        rc2 = core_http_parse_header_line(crlf, size + 2, &n2, &v2);
        if (rc1 != CORE_E_TOOBIG && rc2 != CORE_E_TOOBIG) {
            CHECK(rc1 == rc2);
            if (rc1 == 1)
                CHECK(strcmp(n1, n2) == 0 && strcmp(v1, v2) == 0);
        }
        if (rc2 != 1)
            n2 = v2 = NULL;
        free(crlf);
    }
    core_free(n1);
    core_free(v1);
    core_free(n2);
    core_free(v2);
    return 0;
}
