/*
 * cli/cmd_aws.c — `stoker aws call SERVICE ACTION [Name=Value ...]`: one AWS call through the
 * real client (credentials chain, SigV4, retries) against any endpoint, printing the decoded
 * answer. For poking at AWS or at the emulators by hand.
 *
 * Invariants: nothing secret is printed (the logger redacts, and only the answer is printed);
 * exit 0 on success, 1 on a failed call, 2 on a usage error.
 */
#include "cli/cli.h"

#include "aws/aws.h"
#include "core/core.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define AWS_CALL_MAX_PARAMS 256

struct aws_call_state {
    FILE *out;
    FILE *errout;
    int done;
    int rc;
};

static void print_xml(FILE *out, const struct aws_xml_node *n, int depth)
{
    for (; n; n = n->next) {
        if (n->child) {
            fprintf(out, "%*s%s:\n", depth * 2, "", n->name);
            print_xml(out, n->child, depth + 1);
        } else {
            fprintf(out, "%*s%s: %s\n", depth * 2, "", n->name, n->text);
        }
    }
}

static void on_query_answer(void *ud, int rc, const struct aws_xml_node *root,
                            const struct core_err *err)
{
    struct aws_call_state *st = ud;
    st->done = 1;
    st->rc = rc;
    if (rc) {
        fprintf(st->errout, "stoker aws call: %s\n", err ? err->message : core_strerror(rc));
        return;
    }
    print_xml(st->out, root, 0);
}

static void on_json_answer(void *ud, int rc, json_t *result, const struct core_err *err)
{
    struct aws_call_state *st = ud;
    char *text;
    st->done = 1;
    st->rc = rc;
    if (rc) {
        fprintf(st->errout, "stoker aws call: %s\n", err ? err->message : core_strerror(rc));
        return;
    }
    text = json_dumps(result, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fprintf(st->out, "%s\n", text ? text : "{}");
    free(text);
}

static void on_creds_source(void *ud, int rc, const struct aws_credentials *creds,
                            const struct core_err *err)
{
    (void)creds;
    (void)err;
    *(int *)ud = rc ? -1 : 1;
}

static void aws_call_usage(FILE *f)
{
    fprintf(f,
            "usage: stoker aws call SERVICE ACTION [Name=Value ...] [--region REGION]\n"
            "\n"
            "Makes one AWS API call with stoker's own client and prints the decoded answer.\n"
            "SERVICE is ec2 or sts (Query protocol: Name=Value pairs are form parameters, e.g.\n"
            "Filter.1.Name=tag-key Filter.1.Value.1=Name) or ssm (JSON protocol: Name=Value\n"
            "pairs become string members of the request object; --body JSON gives it whole).\n"
            "Endpoints and credentials follow the SDK conventions (AWS_REGION,\n"
            "AWS_ENDPOINT_URL[_EC2|_SSM|_STS], AWS_ACCESS_KEY_ID, AWS_PROFILE, IRSA, IMDS).\n"
            "\n"
            "examples:\n"
            "  stoker aws call ec2 DescribeSubnets\n"
            "  stoker aws call ssm GetParameter Name=/aws/service/eks/optimized-ami/1.31/"
            "amazon-linux-2023/x86_64/standard/recommended/image_id\n");
}

static int parse_service(const char *s, enum aws_service *out)
{
    for (int i = 0; i < AWS_SVC_COUNT; i++)
        if (strcmp(s, aws_service_name((enum aws_service)i)) == 0) {
            *out = (enum aws_service)i;
            return 0;
        }
    return CORE_E_INVAL;
}

int cli_cmd_aws(const struct cli_config *cfg, int argc, char **argv, FILE *out, FILE *errout)
{
    const char *region = NULL, *body_json = NULL, *pairs[AWS_CALL_MAX_PARAMS];
    size_t npairs = 0;
    enum aws_service svc;
    enum core_log_level lvl = CORE_LOG_INFO;
    enum core_log_format fmt = CORE_LOG_LOGFMT;
    struct core_clock *clock = NULL;
    struct core_loop *loop = NULL;
    struct core_loop_opts lo = {1, 0};
    struct core_http_transport *t = NULL;
    struct aws_config acfg;
    struct aws_creds_provider *creds = NULL;
    struct aws_client *client = NULL;
    struct core_log *log = NULL;
    struct aws_query q;
    struct aws_call_state st = {out, errout, 0, 0};
    json_t *body = NULL;
    struct core_err err;
    int rc = CLI_EXIT_FAIL, creds_state = 0;

    aws_query_init(&q);
    core_err_clear(&err);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            aws_call_usage(out);
            return CLI_EXIT_OK;
        }
    if (argc < 4 || strcmp(argv[1], "call") != 0) {
        aws_call_usage(errout);
        return CLI_EXIT_USAGE;
    }
    if (parse_service(argv[2], &svc) != 0) {
        fprintf(errout, "stoker aws call: unknown service '%s'; expected ec2, ssm or sts\n",
                argv[2]);
        return CLI_EXIT_USAGE;
    }
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--region") == 0 && i + 1 < argc) {
            region = argv[++i];
        } else if (strcmp(argv[i], "--body") == 0 && i + 1 < argc && svc == AWS_SVC_SSM) {
            body_json = argv[++i];
        } else if (argv[i][0] != '-' && strchr(argv[i], '=') && npairs < AWS_CALL_MAX_PARAMS) {
            pairs[npairs++] = argv[i];
        } else {
            fprintf(errout, "stoker aws call: unexpected argument '%s'\n", argv[i]);
            aws_call_usage(errout);
            return CLI_EXIT_USAGE;
        }
    }
    if (core_log_level_parse(cfg->log_level, &lvl) != 0 ||
        core_log_format_parse(cfg->log_format, &fmt) != 0)
        return CLI_EXIT_USAGE;

    if (aws_config_resolve(&acfg, NULL, region, &err) != 0) {
        fprintf(errout, "stoker aws call: %s\n", err.message);
        return CLI_EXIT_USAGE;
    }
    clock = core_clock_real_new();
    log = core_log_new(errout, fmt, lvl, clock);
    if (!clock || !log || core_loop_new(clock, &lo, &loop, &err) != 0 ||
        core_http_curl_new(loop, NULL, &t, &err) != 0 ||
        aws_creds_chain_new(loop, t, NULL, &acfg, NULL, &creds, &err) != 0 ||
        aws_client_new(loop, t, creds, &acfg, NULL, &client, &err) != 0) {
        fprintf(errout, "stoker aws call: %s\n", err.message[0] ? err.message : "out of memory");
        goto done;
    }
    /* Resolve credentials first so the log can say where they came from. */
    if (aws_creds_get(creds, on_creds_source, &creds_state, &err) != 0 ||
        core_loop_run_until(loop, &creds_state, core_loop_now(loop) + 60 * CORE_NS_PER_S,
                            &err) != 0) {
        fprintf(errout, "stoker aws call: credentials: %s\n", err.message);
        goto done;
    }
    if (creds_state > 0)
        core_log_write(log, CORE_LOG_INFO, "aws", NULL, "credentials resolved", "source",
                       aws_creds_source_name(aws_creds_source(creds)), "region", acfg.region,
                       "endpoint", acfg.endpoint[svc], NULL);

    if (svc == AWS_SVC_SSM) {
        char target[160];
        json_error_t jerr;
        body = body_json ? json_loads(body_json, 0, &jerr) : json_object();
        if (!body || !json_is_object(body)) {
            fprintf(errout, "stoker aws call: --body: not a JSON object\n");
            rc = CLI_EXIT_USAGE;
            goto done;
        }
        for (size_t i = 0; i < npairs; i++) {
            const char *eq = strchr(pairs[i], '=');
            char name[128];
            size_t n = (size_t)(eq - pairs[i]);
            if (n >= sizeof name)
                n = sizeof name - 1;
            memcpy(name, pairs[i], n);
            name[n] = '\0';
            json_object_set_new(body, name, json_string(eq + 1));
        }
        snprintf(target, sizeof target, "AmazonSSM.%s", argv[3]);
        if (aws_json_call(client, svc, target, body, 0, on_json_answer, &st, &err) != 0) {
            fprintf(errout, "stoker aws call: %s\n", err.message);
            goto done;
        }
    } else {
        int qrc = aws_query_add(&q, "Action", argv[3]);
        if (!qrc)
            qrc = aws_query_add(&q, "Version", svc == AWS_SVC_EC2 ? "2016-11-15" : "2011-06-15");
        for (size_t i = 0; !qrc && i < npairs; i++) {
            const char *eq = strchr(pairs[i], '=');
            char name[128];
            size_t n = (size_t)(eq - pairs[i]);
            if (n >= sizeof name) {
                fprintf(errout, "stoker aws call: parameter name too long\n");
                rc = CLI_EXIT_USAGE;
                goto done;
            }
            memcpy(name, pairs[i], n);
            name[n] = '\0';
            qrc = aws_query_add(&q, name, eq + 1);
        }
        if (qrc || aws_query_call(client, svc, &q, 0, on_query_answer, &st, &err) != 0) {
            fprintf(errout, "stoker aws call: %s\n", qrc ? "out of memory" : err.message);
            goto done;
        }
    }
    if (core_loop_run_until(loop, &st.done, core_loop_now(loop) + 300 * CORE_NS_PER_S, &err) != 0) {
        fprintf(errout, "stoker aws call: %s\n",
                core_loop_stopping(loop) ? "interrupted" : "no answer in 300 s");
        goto done;
    }
    rc = st.rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
done:
    json_decref(body);
    aws_query_cleanup(&q);
    aws_client_free(client);
    aws_creds_provider_free(creds);
    core_http_transport_free(t);
    core_loop_free(loop);
    core_log_free(log);
    core_clock_free(clock);
    return rc;
}
