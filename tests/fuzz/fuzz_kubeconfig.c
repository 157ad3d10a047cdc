/*
 * tests/fuzz/fuzz_kubeconfig.c — libFuzzer target for kubeconfig loading: arbitrary bytes as
 * one kubeconfig document, through libyaml and every field check of k8s/config.c, via the
 * in-memory entry point (k8s_config_parse_kubeconfig), so no file is written per input.
 *
 * Input: byte 0 picks the context (current-context, or one of a few common names that the
 * seed corpus uses); the rest is the document. Relative file references resolve against a
 * directory that does not exist, so they fail fast; absolute ones may name real files, which
 * the loader reads only when they are regular files within its size limits.
 *
 * Checked: a success leaves a complete config (server with an http(s) scheme and no trailing
 * '/', a namespace and the context set, the fields of its auth kind present, PEM blobs
 * NUL-terminated at their length, both client certificate and key or neither); a failure has
 * a code and a message.
 */
#include "k8s/internal.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct k8s_config *c)
{
    size_t n;

    if (!c->server || !c->namespace_ || !c->context)
        __builtin_trap();
    n = strlen(c->server);
    if ((strncmp(c->server, "https://", 8) != 0 && strncmp(c->server, "http://", 7) != 0) ||
        c->server[n - 1] == '/')
        __builtin_trap();
    if (c->ca_pem && (c->ca_pem[c->ca_pem_len] != '\0' || c->ca_file))
        __builtin_trap();
    if (!c->client_cert_pem != !c->client_key_pem)
        __builtin_trap();
    if (c->client_cert_pem && c->client_cert_pem[c->client_cert_len] != '\0')
        __builtin_trap();
    switch (c->auth) {
    case K8S_AUTH_NONE:
        break;
    case K8S_AUTH_TOKEN:
        if (!c->token || !*c->token)
            __builtin_trap();
        break;
    case K8S_AUTH_TOKEN_FILE:
        if (!c->token_file || c->token_file[0] != '/')
            __builtin_trap();
        break;
    case K8S_AUTH_EXEC:
        if (!c->exec_command || !c->exec_api_version || c->exec_nargs > K8S_EXEC_MAX_ARGS ||
            c->exec_nenv > K8S_EXEC_MAX_ENV)
            __builtin_trap();
        for (size_t i = 0; i < c->exec_nargs; i++)
            if (!c->exec_args[i])
                __builtin_trap();
        for (size_t i = 0; i < c->exec_nenv; i++)
            if (!c->exec_env[i] || !strchr(c->exec_env[i], '='))
                __builtin_trap();
        break;
    default:
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const contexts[] = {NULL, "prod", "dev", "x"};
    struct k8s_config cfg;
    struct core_err err;
    const char *context;
    int rc;

    if (size == 0)
        return 0;
    context = contexts[data[0] % 4];
    memset(&err, 0, sizeof err);
    rc = k8s_config_parse_kubeconfig((const char *)data + 1, size - 1, "fuzz.yaml",
                                     "/nonexistent-stoker-fuzz", context, &cfg, &err);
    if (rc == 0) {
        check(&cfg);
        k8s_config_cleanup(&cfg);
    } else if (rc >= 0 || err.code != rc || !err.message[0]) {
        __builtin_trap();
    }
    return 0;
}
