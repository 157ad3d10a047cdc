/*
 * tests/fuzz/fuzz_userdata.c — libFuzzer target for the userdata module's parsers: arbitrary
 * bytes through userdata_inspect (gzip, MIME, NodeConfig YAML, bootstrap.sh and PowerShell
 * command lines, Bottlerocket TOML), the MIME parser on its own, and the user-data merge path
 * (the bytes as spec.userData of an AL2023, AL2 and Windows join render).
 *
 * Input: byte 0 picks the path (0: inspect, 1: MIME parse, 2: render for AL2023, 3: AL2,
 * 4: Windows, else all of them); the rest is the document.
 *
 * Checked: successes are well formed (parsed parts lie inside the input or own their body,
 * facts have NUL-terminated strings, a render is MIME or PowerShell and inspects back with
 * joins = 1 and the cluster name it was given, except that the user's own parts may hold
 * values inspect refuses); failures carry a code and a message; nothing
 * leaks (the fuzzer's LeakSanitizer).
 */
#include "userdata/internal.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CA "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJmYWtlCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"

static void do_inspect(const char *t, size_t n)
{
    struct userdata_facts f;
    struct core_err err = {0};
    if (userdata_inspect(t, n, &f, &err) != 0) {
        if (err.code == 0 || err.message[0] == '\0')
            __builtin_trap();
        return;
    }
    if (f.joins != 0 && f.joins != 1)
        __builtin_trap();
    for (size_t i = 0; i < f.ntaints; i++)
        if (!f.taints[i].key)
            __builtin_trap();
    for (size_t i = 0; i < f.images.n; i++)
        if (!f.images.v[i])
            __builtin_trap();
    userdata_facts_cleanup(&f);
}

static void do_mime(const char *t, size_t n)
{
    struct userdata_mime m;
    struct core_err err = {0};
    if (userdata_mime_parse(t, n, &m, &err) != 0) {
        if (err.code == 0)
            __builtin_trap();
        return;
    }
    if (m.boundary[0] == '\0' || m.nparts > USERDATA_MIME_MAX_PARTS)
        __builtin_trap();
    for (size_t i = 0; i < m.nparts; i++) {
        const struct userdata_mime_part *p = &m.parts[i];
        if (!p->owned && (p->body < t || p->body + p->body_len > t + n))
            __builtin_trap();
    }
    userdata_mime_cleanup(&m);
}

static void do_render(enum k8s_ami_family fam, const char *t)
{
    struct k8s_labels labels = {0};
    struct userdata_input in;
    struct core_buf b;
    struct core_err err = {0};
    struct userdata_facts f;

    memset(&in, 0, sizeof in);
    in.family = fam;
    in.cluster.name = "fuzz";
    in.cluster.endpoint = "https://fuzz.example.com";
    in.cluster.ca_bundle = CA;
    in.node.max_pods = 17;
    in.node.labels = &labels;
    in.node.user_data = t;
    core_buf_init(&b, USERDATA_RAW_MAX);
    if (userdata_render(&in, &b, &err) != 0) {
        if (err.code == 0 || b.len != 0)
            __builtin_trap();
    } else {
        /* The user's own parts (a NodeConfig, a script with a bootstrap line) may hold values
         * inspect refuses (a malformed taint): render passes them through, so PARSE is
         * acceptable, and only when there was user data. */
        int rc = userdata_inspect(b.data, b.len, &f, &err);
        if (rc != 0) {
            if (rc != CORE_E_PARSE || t[0] == '\0')
                __builtin_trap();
            core_buf_cleanup(&b);
            return;
        }
        if (!f.joins || !f.cluster_name || strcmp(f.cluster_name, "fuzz") != 0 ||
            f.max_pods != 17)
            __builtin_trap();
        userdata_facts_cleanup(&f);
    }
    core_buf_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *t;
    size_t n;
    uint8_t sel;

    if (size < 1 || size > (1u << 18))
        return 0;
    sel = data[0];
    n = size - 1;
    t = core_malloc(n + 1);
    if (!t)
        return 0;
    memcpy(t, data + 1, n);
    t[n] = '\0';
    if (sel == 0 || sel > 4)
        do_inspect(t, n);
    if (sel == 1 || sel > 4)
        do_mime(t, n);
    /* The render path takes a C string: inputs with a NUL inside are cut there. */
    if (sel == 2 || sel > 4)
        do_render(K8S_AMI_AL2023, t);
    if (sel == 3 || sel > 4)
        do_render(K8S_AMI_AL2, t);
    if (sel == 4 || sel > 4)
        do_render(K8S_AMI_WINDOWS2022, t);
    core_free(t);
    return 0;
}
