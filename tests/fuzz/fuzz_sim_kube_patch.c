/*
 * tests/fuzz/fuzz_sim_kube_patch.c — libFuzzer target for the emulated Kubernetes API's patch
 * formats and selector parsers. The first byte picks the mode; for the patch modes the rest is
 * "target JSON" NUL "patch JSON" (at most 64 KiB).
 *   0 merge patch   1 JSON patch   2 strategic merge patch   3 label selector
 *   4 field selector   5 server-side apply body
 *
 * Properties checked:
 *  - no patch changes its target (the functions work on copies);
 *  - a merge patch is idempotent: applying it to its own result changes nothing (RFC 7386);
 *  - a failed patch writes no output and names the problem with an HTTP status;
 *  - a parsed selector has at most SIM_KSEL_MAX requirements, every requirement has a key
 *    and the values its operator needs, and matching it never crashes.
 */
#include "sim/kube_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_patch(int mode, const char *a, size_t alen, const char *b, size_t blen)
{
    json_t *t = json_loadb(a, alen, JSON_DECODE_ANY, NULL);
    json_t *p = json_loadb(b, blen, JSON_DECODE_ANY, NULL);
    json_t *before, *out = NULL, *again = NULL;
    struct core_err err;
    int rc;

    if (!t || !p)
        goto done;
    before = json_deep_copy(t);
    memset(&err, 0, sizeof err);
    if (mode == 0)
        rc = sim_kube_merge_patch(t, p, &out, &err);
    else if (mode == 1)
        rc = sim_kube_json_patch(t, p, &out, &err);
    else
        rc = sim_kube_strategic_patch(t, p, "Pod", &out, &err);
    if (!before || !json_equal(before, t))
        __builtin_trap();
    json_decref(before);
    if (rc != 0) {
        if (out || (rc == CORE_E_INVAL && err.http_status != 400 && err.http_status != 422))
            __builtin_trap();
        goto done;
    }
    if (!out)
        __builtin_trap();
    if (mode == 0) {
        if (sim_kube_merge_patch(out, p, &again, &err) != 0 || !json_equal(again, out))
            __builtin_trap();
    }
done:
    json_decref(t);
    json_decref(p);
    json_decref(out);
    json_decref(again);
}

static void check_selector(int fields, const char *s)
{
    static const char OBJ[] = "{\"metadata\":{\"name\":\"a\",\"namespace\":\"b\",\"labels\":"
                              "{\"app\":\"web\",\"n\":\"5\",\"x/y\":\"\"}},\"spec\":"
                              "{\"nodeName\":\"n1\",\"r\":3}}";
    struct sim_ksel sel;
    struct core_err err;
    json_t *obj;
    int rc;

    rc = fields ? sim_ksel_parse_fields(s, &sel, &err) : sim_ksel_parse_labels(s, &sel, &err);
    if (rc != 0) {
        if (rc != CORE_E_INVAL && rc != CORE_E_NOMEM && rc != CORE_E_TOOBIG)
            __builtin_trap();
        return;
    }
    if (sel.n > SIM_KSEL_MAX)
        __builtin_trap();
    for (size_t i = 0; i < sel.n; i++) {
        const struct sim_ksel_req *q = &sel.req[i];
        if (!q->key || !q->key[0])
            __builtin_trap();
        if ((q->op == SIM_KSEL_EXISTS || q->op == SIM_KSEL_NOT_EXISTS) != (q->nvalues == 0))
            __builtin_trap();
        if (fields && q->op != SIM_KSEL_EQ && q->op != SIM_KSEL_NE)
            __builtin_trap();
    }
    obj = json_loads(OBJ, 0, NULL);
    if (obj) {
        (void)sim_ksel_match_labels(&sel, obj);
        (void)sim_ksel_match_fields(&sel, obj);
    }
    json_decref(obj);
    sim_ksel_cleanup(&sel);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body, *nul;
    char *s;
    size_t n;
    int mode;

    if (size < 1 || size > 65536)
        return 0;
    mode = data[0] % 6;
    body = (const char *)data + 1;
    n = size - 1;
    if (mode <= 2) {
        nul = memchr(body, '\0', n);
        if (nul)
            check_patch(mode, body, (size_t)(nul - body), nul + 1, n - (size_t)(nul - body) - 1);
        return 0;
    }
    if (mode == 5) {
        json_t *out = NULL;
        struct core_err err;
        if (sim_kube_apply_parse(body, n, &out, &err) == 0 && !json_is_object(out))
            __builtin_trap();
        json_decref(out);
        return 0;
    }
    s = malloc(n + 1);
    if (!s)
        return 0;
    memcpy(s, body, n);
    s[n] = '\0';
    check_selector(mode == 4, s);
    free(s);
    return 0;
}
