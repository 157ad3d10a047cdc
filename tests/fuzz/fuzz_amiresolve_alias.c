/*
 * tests/fuzz/fuzz_amiresolve_alias.c — libFuzzer target for amiresolve's alias layer: the
 * input (at most 255 bytes) is parsed as an alias, and every parsed alias is expanded into its
 * SSM parameter names for a spread of Kubernetes versions.
 *
 * Properties checked:
 *  - parse either succeeds or returns CORE_E_INVAL / CORE_E_UNSUPPORTED with a message, and
 *    leaves the output untouched on failure;
 *  - a parsed alias prints back as family@version and that text parses to the same alias
 *    (Bottlerocket's leading 'v' is dropped once, so the round trip is stable);
 *  - only "latest" parses for Windows families;
 *  - params either fail with CORE_E_UNSUPPORTED (AL2 from 1.33, windows2025 before 1.35) or
 *    give 1..AMIRESOLVE_PARAM_MAX names, each under /aws/service/, naming the Kubernetes
 *    version, with amd64 entries before arm64 ones and a known variant.
 */
#include "amiresolve/amiresolve.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_windows(enum k8s_ami_family f)
{
    return f == K8S_AMI_WINDOWS2019 || f == K8S_AMI_WINDOWS2022 || f == K8S_AMI_WINDOWS2025;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const versions[] = {"1.30", "1.31", "1.32", "1.33", "1.34", "1.35"};
    char s[256], back[128];
    struct amiresolve_alias a, b, keep;
    struct core_err err;
    int rc;

    if (size >= sizeof s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    memset(&keep, 0x5a, sizeof keep);
    a = keep;
    rc = amiresolve_alias_parse(s, "spec.amiSelectorTerms[0].alias", &a, &err);
    if (rc) {
        if (rc != CORE_E_INVAL && rc != CORE_E_UNSUPPORTED)
            __builtin_trap();
        if (err.message[0] == '\0' || memchr(err.message, '\0', sizeof err.message) == NULL)
            __builtin_trap();
        if (memcmp(&a, &keep, sizeof a) != 0)
            __builtin_trap();
        return 0;
    }
    if (a.version[0] == '\0')
        __builtin_trap();
    if (is_windows(a.family) && strcmp(a.version, "latest") != 0)
        __builtin_trap();
    snprintf(back, sizeof back, "%s@%s", amiresolve_family_name(a.family), a.version);
    if (amiresolve_alias_parse(back, NULL, &b, &err) != 0 || b.family != a.family ||
        strcmp(b.version, a.version) != 0)
        __builtin_trap();

    for (size_t v = 0; v < sizeof versions / sizeof *versions; v++) {
        struct amiresolve_param p[AMIRESOLVE_PARAM_MAX];
        size_t n = 0;
        int seen_arm = 0;
        rc = amiresolve_alias_params(&a, versions[v], p, AMIRESOLVE_PARAM_MAX, &n, &err);
        if (rc) {
            if (rc != CORE_E_UNSUPPORTED ||
                (a.family != K8S_AMI_AL2 && a.family != K8S_AMI_WINDOWS2025))
                __builtin_trap();
            continue;
        }
        if (n == 0 || n > AMIRESOLVE_PARAM_MAX)
            __builtin_trap();
        for (size_t i = 0; i < n; i++) {
            if (strncmp(p[i].name, "/aws/service/", 13) != 0 || !strstr(p[i].name, versions[v]))
                __builtin_trap();
            if (strcmp(p[i].arch, "arm64") == 0)
                seen_arm = 1;
            else if (strcmp(p[i].arch, "amd64") != 0 || seen_arm)
                __builtin_trap();
            if (strcmp(p[i].variant, "standard") != 0 && strcmp(p[i].variant, "nvidia") != 0 &&
                strcmp(p[i].variant, "neuron") != 0)
                __builtin_trap();
        }
    }
    return 0;
}
