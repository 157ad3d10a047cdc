/*
 * aws/sts.c — STS over the Query protocol: AssumeRoleWithWebIdentity (IRSA, unsigned) and
 * GetCallerIdentity.
 *
 * Invariants: the web identity token goes only into the request body, never into an error;
 * decoded credentials are wiped when the callback returns; each call's state is freed exactly
 * once, in its completion (which aws_client_free also delivers, as CORE_E_CANCELLED).
 */
#include "aws/aws.h"

#include <string.h>

#define STS_VERSION "2011-06-15"

struct sts_call {
    aws_sts_creds_fn creds_cb;
    aws_sts_identity_fn id_cb;
    void *ud;
};

static void on_assume(void *ud, int rc, const struct aws_xml_node *root,
                      const struct core_err *err)
{
    struct sts_call *s = ud;
    struct aws_credentials creds;
    struct core_err e;
    const struct aws_xml_node *cr;
    const char *akid, *secret, *token, *exp;

    memset(&creds, 0, sizeof creds);
    core_err_clear(&e);
    if (rc) {
        s->creds_cb(s->ud, rc, NULL, err);
        goto done;
    }
    cr = aws_xml_path(root, "AssumeRoleWithWebIdentityResult/Credentials");
    akid = cr ? aws_xml_child_text(cr, "AccessKeyId") : NULL;
    secret = cr ? aws_xml_child_text(cr, "SecretAccessKey") : NULL;
    token = cr ? aws_xml_child_text(cr, "SessionToken") : NULL;
    exp = cr ? aws_xml_child_text(cr, "Expiration") : NULL;
    if (strcmp(root->name, "AssumeRoleWithWebIdentityResponse") != 0 || !akid || !*akid ||
        !secret || !*secret || !token || !*token || !exp) {
        rc = core_err_set(&e, CORE_E_PARSE, "sts AssumeRoleWithWebIdentity: the answer lacks "
                          "AssumeRoleWithWebIdentityResult/Credentials/{AccessKeyId, "
                          "SecretAccessKey, SessionToken, Expiration}");
        s->creds_cb(s->ud, rc, NULL, &e);
        goto done;
    }
    if (core_time_parse_rfc3339(exp, &creds.expiration) != 0) {
        rc = core_err_set(&e, CORE_E_PARSE, "sts AssumeRoleWithWebIdentity: Expiration '%.64s' "
                          "is not an RFC 3339 time", exp);
        s->creds_cb(s->ud, rc, NULL, &e);
        goto done;
    }
    creds.access_key_id = core_strdup(akid);
    creds.secret_access_key = core_strdup(secret);
    creds.session_token = core_strdup(token);
    if (!creds.access_key_id || !creds.secret_access_key || !creds.session_token) {
        rc = core_err_set(&e, CORE_E_NOMEM, "sts AssumeRoleWithWebIdentity: out of memory");
        s->creds_cb(s->ud, rc, NULL, &e);
        goto done;
    }
    s->creds_cb(s->ud, 0, &creds, NULL);
done:
    aws_credentials_cleanup(&creds);
    core_free(s);
}

int aws_sts_assume_role_with_web_identity(struct aws_client *c, const char *role_arn,
                                          const char *session_name, const char *token,
                                          core_ns duration, aws_sts_creds_fn cb, void *ud,
                                          struct core_err *err)
{
    struct aws_query q;
    struct sts_call *s;
    char dur[24];
    int rc;

    if (!role_arn || !*role_arn || !session_name || !*session_name || !token || !*token)
        return core_err_set(err, CORE_E_INVAL, "sts AssumeRoleWithWebIdentity: role ARN, "
                            "session name and token are all required");
    s = core_calloc(1, sizeof *s);
    if (!s)
        return core_err_set(err, CORE_E_NOMEM, "sts AssumeRoleWithWebIdentity: out of memory");
    s->creds_cb = cb;
    s->ud = ud;
    aws_query_init(&q);
    rc = aws_query_add(&q, "Action", "AssumeRoleWithWebIdentity");
    if (!rc)
        rc = aws_query_add(&q, "Version", STS_VERSION);
    if (!rc)
        rc = aws_query_add(&q, "RoleArn", role_arn);
    if (!rc)
        rc = aws_query_add(&q, "RoleSessionName", session_name);
    if (!rc)
        rc = aws_query_add(&q, "WebIdentityToken", token);
    if (!rc && duration > 0) {
        snprintf(dur, sizeof dur, "%lld", (long long)(duration / CORE_NS_PER_S));
        rc = aws_query_add(&q, "DurationSeconds", dur);
    }
    if (rc)
        core_err_set(err, rc, "sts AssumeRoleWithWebIdentity: out of memory");
    else
        rc = aws_query_call(c, AWS_SVC_STS, &q, AWS_CALL_UNSIGNED, on_assume, s, err);
    aws_query_cleanup(&q);
    if (rc)
        core_free(s);
    return rc;
}

static void on_identity(void *ud, int rc, const struct aws_xml_node *root,
                        const struct core_err *err)
{
    struct sts_call *s = ud;
    const struct aws_xml_node *r;
    struct aws_sts_identity id;
    struct core_err e;

    if (rc) {
        s->id_cb(s->ud, rc, NULL, err);
        goto done;
    }
    r = aws_xml_child(root, "GetCallerIdentityResult");
    id.account = r ? aws_xml_child_text(r, "Account") : NULL;
    id.arn = r ? aws_xml_child_text(r, "Arn") : NULL;
    id.user_id = r ? aws_xml_child_text(r, "UserId") : NULL;
    if (!id.account || !id.arn) {
        core_err_set(&e, CORE_E_PARSE, "sts GetCallerIdentity: the answer lacks "
                     "GetCallerIdentityResult/{Account, Arn}");
        s->id_cb(s->ud, CORE_E_PARSE, NULL, &e);
        goto done;
    }
    if (!id.user_id)
        id.user_id = "";
    s->id_cb(s->ud, 0, &id, NULL);
done:
    core_free(s);
}

int aws_sts_get_caller_identity(struct aws_client *c, aws_sts_identity_fn cb, void *ud,
                                struct core_err *err)
{
    struct aws_query q;
    struct sts_call *s = core_calloc(1, sizeof *s);
    int rc;

    if (!s)
        return core_err_set(err, CORE_E_NOMEM, "sts GetCallerIdentity: out of memory");
    s->id_cb = cb;
    s->ud = ud;
    aws_query_init(&q);
    rc = aws_query_add(&q, "Action", "GetCallerIdentity");
    if (!rc)
        rc = aws_query_add(&q, "Version", STS_VERSION);
    if (rc)
        core_err_set(err, rc, "sts GetCallerIdentity: out of memory");
    else
        rc = aws_query_call(c, AWS_SVC_STS, &q, 0, on_identity, s, err);
    aws_query_cleanup(&q);
    if (rc)
        core_free(s);
    return rc;
}
