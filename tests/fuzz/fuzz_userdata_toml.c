/*
 * tests/fuzz/fuzz_userdata_toml.c — libFuzzer target for the TOML parser and emitter
 * (userdata/toml.c), which read the user's spec.userData for Bottlerocket.
 *
 * Properties checked:
 *  - parsing never crashes, leaks or reads past the input, whatever the bytes;
 *  - a parsed document emits without error (unless the canonical text outgrows the input
 *    limit, which deep paths repeated in headers can cause: CORE_E_TOOBIG);
 *  - the emitted text parses again, to an equal tree, and emitting that gives the same bytes.
 */
#include "userdata/internal.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct userdata_toml *a = NULL, *b = NULL;
    struct core_buf out, again;
    struct core_err err;
    int rc;

    if (size > USERDATA_TOML_MAX_INPUT)
        return 0;
    if (userdata_toml_parse((const char *)data, size, &a, &err) != 0)
        return 0;
    core_buf_init(&out, USERDATA_TOML_MAX_INPUT);
    core_buf_init(&again, USERDATA_TOML_MAX_INPUT);
    rc = userdata_toml_emit(a, &out, &err);
    if (rc == CORE_E_TOOBIG)
        goto done;
    if (rc != 0)
        __builtin_trap();
    if (userdata_toml_parse(out.data ? out.data : "", out.len, &b, &err) != 0)
        __builtin_trap();
    if (!userdata_toml_equal(userdata_toml_root(a), userdata_toml_root(b)))
        __builtin_trap();
    if (userdata_toml_emit(b, &again, &err) != 0 || again.len != out.len ||
        (out.len && memcmp(again.data, out.data, out.len) != 0))
        __builtin_trap();
done:
    core_buf_cleanup(&out);
    core_buf_cleanup(&again);
    userdata_toml_free(a);
    userdata_toml_free(b);
    return 0;
}
