/*
 * tests/fuzz/fuzz_prewarm_tz.c — libFuzzer target for the TZif reader of prewarm (the compiled
 * zone files prewarm_tz_offset reads): the whole input is the file; the instants asked are
 * fixed, spread over the range real schedules use plus the extremes.
 *
 * Properties checked:
 *  - parsing never reads outside the input (ASan) and either fails with CORE_E_PARSE or yields
 *    a zone whose offsets stay within a day;
 *  - the span a lookup reports is honest: `until` lies after the instant, and the offset just
 *    before `until` is the one reported;
 *  - the bytes-level entry point agrees with parse + lookup.
 * The seed corpus holds real zone files (UTC, America/New_York, Asia/Kolkata,
 * Australia/Lord_Howe).
 */
#include "prewarm/internal.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t when[] = {INT64_MIN / 4, -2208988800LL, 0, 1700000000LL,
                                   1784000000LL, 4102444800LL, INT64_MAX / 4};
    struct prewarm_tz *z = NULL;
    struct core_err err;
    int rc;

    if (size > PREWARM_TZ_FILE_MAX)
        return 0;
    rc = prewarm_tz_parse(data, size, &z, &err);
    if (rc != 0) {
        int32_t off = 99;
        if (rc != CORE_E_PARSE && rc != CORE_E_NOMEM)
            __builtin_trap();
        if (prewarm_tzif_offset(data, size, 0, &off, &err) == 0 || off != 99)
            __builtin_trap();
        return 0;
    }
    for (size_t i = 0; i < sizeof when / sizeof when[0]; i++) {
        int32_t off = 0, off2 = 0, back = 0;
        int64_t until = 0, until2 = 0;
        prewarm_tz_lookup(z, when[i], &off, &until);
        if (off <= -86400 || off >= 86400 || until <= when[i])
            __builtin_trap();
        if (until != INT64_MAX && until - 1 > when[i]) {
            prewarm_tz_lookup(z, until - 1, &off2, &until2);
            if (off2 != off)
                __builtin_trap();
        }
        if (when[i] > INT64_MIN / CORE_NS_PER_S && when[i] < INT64_MAX / CORE_NS_PER_S) {
            if (prewarm_tzif_offset(data, size, when[i] * CORE_NS_PER_S, &back, &err) != 0 ||
                back != off)
                __builtin_trap();
        }
    }
    prewarm_tz_free(z);
    return 0;
}
