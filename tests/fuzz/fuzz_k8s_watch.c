/*
 * tests/fuzz/fuzz_k8s_watch.c — libFuzzer target for the watch stream: the line splitter and
 * the parser of one watch event.
 *
 * Input: byte 0 chooses where the rest is cut in two (a fraction of its length) and, by its low
 * bits, the line limit; the rest is the stream. It is fed twice — in two pieces and in one —
 * and the two runs must produce the same lines and the same end (a differential check of the
 * splitter's independence from read boundaries). Every line must respect the splitter's
 * contract (no '\n', not empty, within the limit once the CR of a CRLF is dropped — only that
 * one CR: "a\r\r\n" is the line "a\r") and goes through k8s_watch_parse_event, whose
 * successes must satisfy its contract.
 */
#include "k8s/internal.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
    size_t max_line;
    uint64_t hash;
    size_t lines;
};

static int on_line(void *ud, const char *line, size_t len)
{
    struct run *r = ud;
    enum k8s_event_type type;
    json_t *obj = NULL;
    struct core_err err;

    if (len == 0 || len > r->max_line || memchr(line, '\n', len))
        __builtin_trap();
    for (size_t i = 0; i < len; i++)
        r->hash = (r->hash ^ (unsigned char)line[i]) * UINT64_C(1099511628211);
    r->hash = (r->hash ^ 0x100) * UINT64_C(1099511628211);
    r->lines++;

    if (k8s_watch_parse_event(line, len, "watch fuzz", &type, &obj, &err) == 0) {
        const char *rv = json_string_value(
            json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
        if (!json_is_object(obj) || (unsigned)type > K8S_ERROR)
            __builtin_trap();
        if (type == K8S_BOOKMARK && (!rv || !*rv))
            __builtin_trap();
        json_decref(obj);
    } else if (err.code != CORE_E_PARSE || strncmp(err.message, "watch fuzz: ", 12) != 0) {
        __builtin_trap();
    }
    return 0;
}

static int feed(struct run *r, const char *p, size_t cut, size_t n)
{
    struct k8s_splitter sp;
    int rc;

    k8s_splitter_init(&sp, r->max_line);
    rc = k8s_splitter_feed(&sp, p, cut, on_line, r);
    if (rc == 0)
        rc = k8s_splitter_feed(&sp, p + cut, n - cut, on_line, r);
    else if (k8s_splitter_feed(&sp, p + cut, n - cut, on_line, r) != CORE_E_TOOBIG)
        __builtin_trap(); /* a splitter that failed must stay refused */
    /* Never more held than the limit plus a CR. */
    if (sp.line.len > r->max_line + 1)
        __builtin_trap();
    k8s_splitter_cleanup(&sp);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t limits[4] = {16, 128, 4096, K8S_WATCH_DEFAULT_MAX_EVENT};
    struct run a, b;
    const char *p;
    size_t n, cut;
    int rca, rcb;

    if (size < 1)
        return 0;
    p = (const char *)data + 1;
    n = size - 1;
    cut = n * data[0] / 255;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.max_line = b.max_line = limits[data[0] & 3];
    rca = feed(&a, p, cut, n);
    rcb = feed(&b, p, n, n);
    if (rca != rcb || a.hash != b.hash || a.lines != b.lines)
        __builtin_trap();
    return 0;
}
