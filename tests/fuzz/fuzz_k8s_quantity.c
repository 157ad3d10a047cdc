/*
 * tests/fuzz/fuzz_k8s_quantity.c — libFuzzer target for the scalar parsers of k8s.h: quantities,
 * Go durations and cron expressions, on the input as one string (at most 255 bytes).
 *
 * Properties checked:
 *  - the milli and whole-unit quantity parsers accept the same grammar;
 *  - a value that fits in milli-units also fits in whole units, and then
 *    value == sign * ceil(|milli| / 1000) (Kubernetes rounds away from zero);
 *  - the canonical form of any parsed milli value parses back to the same value;
 *  - durations parse the same with and without K8S_DUR_ALLOW_NEVER, except "Never";
 *  - a parsed cron expression only sets bits inside each field's range.
 */
#include "k8s/k8s.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[256], out[32];
    int64_t milli = 0, value = 0, back = 0;
    struct k8s_cron cron;
    int mrc, vrc;

    if (size >= sizeof s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    mrc = k8s_quantity_parse_milli(s, &milli);
    vrc = k8s_quantity_parse(s, &value);
    if ((mrc == CORE_E_PARSE) != (vrc == CORE_E_PARSE))
        __builtin_trap();
    if (mrc == 0) {
        uint64_t mag = milli < 0 ? (uint64_t)0 - (uint64_t)milli : (uint64_t)milli;
        int64_t want = (int64_t)((mag + 999) / 1000);
        if (vrc != 0 || value != (milli < 0 ? -want : want))
            __builtin_trap();
        k8s_quantity_format_milli(milli, out, sizeof out);
        if (k8s_quantity_parse_milli(out, &back) != 0 || back != milli)
            __builtin_trap();
    }

    /* "Never" is the only difference the flag makes. */
    {
        core_ns with = 0, without = 0;
        int a = k8s_duration_parse(s, K8S_DUR_ALLOW_NEVER, &with);
        int b = k8s_duration_parse(s, 0, &without);
        if (strcmp(s, "Never") == 0 ? (a != 0 || with != K8S_NEVER || b == 0)
                                     : (a != b || (a == 0 && with != without)))
            __builtin_trap();
    }

    if (k8s_cron_parse(s, &cron, NULL) == 0) {
        if ((cron.minutes >> 60) || (cron.hours >> 24) || (cron.mdays & 1) || (cron.months & 1) ||
            (cron.months >> 13) || (cron.wdays >> 7) || !cron.minutes || !cron.hours ||
            !cron.mdays || !cron.months || !cron.wdays || strlen(cron.tz) >= K8S_CRON_TZ_MAX)
            __builtin_trap();
    }
    return 0;
}
