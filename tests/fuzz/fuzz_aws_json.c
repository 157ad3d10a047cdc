/*
 * tests/fuzz/fuzz_aws_json.c — libFuzzer target for every JSON answer stoker decodes from AWS:
 * SSM GetParameters / GetParametersByPath answers (as successes and as errors) and container
 * (Pod Identity) credentials. The bytes travel the real path: scripted transport → client →
 * decoder, on a virtual clock, so error classification and retries are fuzzed too.
 *
 * Input: byte 0 picks the scenario and the HTTP status; the rest is the answer body.
 */
#include "aws/aws.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int done;

static void on_ssm(void *ud, int rc, const struct aws_ssm_parameters *res,
                   const struct core_err *err)
{
    (void)ud;
    (void)err;
    done = 1;
    if (rc == 0 && res)
        for (size_t i = 0; i < res->n; i++)
            if (!res->v[i].name || !res->v[i].value)
                __builtin_trap();
}

static void on_creds(void *ud, int rc, const struct aws_credentials *creds,
                     const struct core_err *err)
{
    (void)ud;
    (void)err;
    done = 1;
    if (rc == 0 && (!creds || !creds->access_key_id || !creds->secret_access_key))
        __builtin_trap();
}

static const char *env_get(void *ud, const char *name)
{
    (void)ud;
    if (strcmp(name, "AWS_CONTAINER_CREDENTIALS_FULL_URI") == 0)
        return "http://127.0.0.1/creds";
    if (strcmp(name, "AWS_EC2_METADATA_DISABLED") == 0)
        return "true";
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[4] = {200, 400, 500, 403};
    struct core_clock *clock = core_clock_virtual_new(0, INT64_C(1795352400) * CORE_NS_PER_S);
    struct core_loop *loop = NULL;
    struct core_http_script *script = NULL;
    struct aws_config cfg;
    struct aws_creds_provider *creds = NULL;
    struct aws_client *client = NULL;
    struct aws_credentials keys = {"AKID", "SECRET", NULL, 0};
    struct aws_env env = {env_get, NULL};
    struct aws_client_opts opts;
    struct core_http_script_step st;
    struct core_err err;
    const char *names[2] = {"/a", "/b"};
    unsigned scenario;
    int rc = -1;

    if (size < 1 || !clock)
        goto done;
    scenario = data[0] & 3u;
    memset(&cfg, 0, sizeof cfg);
    core_strlcpy(cfg.region, "us-east-1", sizeof cfg.region);
    for (int i = 0; i < AWS_SVC_COUNT; i++)
        core_strlcpy(cfg.endpoint[i], "http://aws.test", sizeof cfg.endpoint[i]);
    cfg.imds_disabled = 1;
    memset(&opts, 0, sizeof opts);
    opts.max_attempts = 2;
    if (core_loop_new(clock, NULL, &loop, &err) || core_http_script_new(loop, &script, &err))
        goto done;
    /* Two answers with the same body: enough for one retry of a retryable status. */
    for (int i = 0; i < 2; i++) {
        memset(&st, 0, sizeof st);
        st.status = statuses[(data[0] >> 2) & 3u];
        st.body = (const char *)data + 1;
        st.body_len = size - 1;
        if (size == 1)
            st.body = "";
        if (core_http_script_expect(script, &st))
            goto done;
    }
    done = 0;
    if (scenario == 3) {
        if (aws_creds_chain_new(loop, core_http_script_transport(script), &env, &cfg, NULL,
                                &creds, &err) ||
            aws_creds_get(creds, on_creds, NULL, &err))
            goto done;
    } else {
        if (aws_creds_static_new(loop, &keys, &creds, &err) ||
            aws_client_new(loop, core_http_script_transport(script), creds, &cfg, &opts, &client,
                           &err))
            goto done;
        if (scenario == 0)
            rc = aws_ssm_get_parameters(client, names, 2, on_ssm, NULL, &err);
        else if (scenario == 1)
            rc = aws_ssm_get_parameters_by_path(client, "/p", 1, 3, on_ssm, NULL, &err);
        else
            rc = aws_ssm_get_parameter(client, "/a", on_ssm, NULL, &err);
        if (rc)
            goto done;
    }
    rc = core_loop_run_until(loop, &done, core_loop_now(loop) + 3600 * CORE_NS_PER_S, &err);
    (void)rc;
done:
    aws_client_free(client);
    aws_creds_provider_free(creds);
    core_http_script_free(script);
    core_loop_free(loop);
    core_clock_free(clock);
    return 0;
}
