/*
 * aws/config.c — environment lookup, region and endpoint resolution (the SDK conventions).
 *
 * Invariants: every URL accepted here was parsed by libcurl's URL API and is http or https
 * with a host and no user info, query or fragment; stored endpoints have no trailing '/';
 * *cfg is written only when everything resolved.
 */
#include "aws/aws.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *aws_env_get(const struct aws_env *env, const char *name)
{
    const char *v = env && env->get ? env->get(env->ud, name) : getenv(name);
    return v && *v ? v : NULL;
}

const char *aws_service_name(enum aws_service svc)
{
    switch (svc) {
    case AWS_SVC_EC2: return "ec2";
    case AWS_SVC_SSM: return "ssm";
    case AWS_SVC_STS: return "sts";
    default: return "unknown";
    }
}

/* Region names go into host names and credential scopes: letters, digits and '-' only. */
static int region_ok(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n >= AWS_REGION_MAX)
        return 0;
    for (; *r; r++)
        if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
            return 0;
    return 1;
}

/* Validates url and stores it without a trailing '/'. `what` names the source for errors. */
static int store_url(char *dst, size_t dstsz, const char *url, const char *what,
                     struct core_err *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *part = NULL;
    size_t n;
    int rc = 0;

    if (!u)
        return core_err_set(err, CORE_E_NOMEM, "%s: out of memory", what);
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
        rc = core_err_set(err, CORE_E_INVAL, "%s: '%s' is not a URL; expected "
                          "http(s)://host[:port][/path]", what, url);
        goto done;
    }
    if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) {
        rc = core_err_set(err, CORE_E_INVAL, "%s: scheme '%s' not supported; expected http or "
                          "https", what, scheme);
        goto done;
    }
    if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
        rc = core_err_set(err, CORE_E_INVAL, "%s: user info, query and fragment are not "
                          "allowed in an endpoint URL", what);
        goto done;
    }
    n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    if (n >= dstsz) {
        rc = core_err_set(err, CORE_E_TOOBIG, "%s: URL longer than %zu bytes", what, dstsz - 1);
        goto done;
    }
    memcpy(dst, url, n);
    dst[n] = '\0';
done:
    curl_free(part);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

int aws_config_resolve(struct aws_config *cfg, const struct aws_env *env, const char *region_flag,
                       struct core_err *err)
{
    static const char *const svc_vars[AWS_SVC_COUNT] = {
        "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_STS"};
    struct aws_config c;
    const char *region = region_flag && *region_flag ? region_flag : NULL;
    const char *src = "--region";
    const char *v;
    int rc;

    memset(&c, 0, sizeof c);
    if (!region && (region = aws_env_get(env, "AWS_REGION")) != NULL)
        src = "AWS_REGION";
    if (!region && (region = aws_env_get(env, "AWS_DEFAULT_REGION")) != NULL)
        src = "AWS_DEFAULT_REGION";
    if (!region)
        return core_err_set(err, CORE_E_INVAL, "AWS region not set: give --region or set "
                            "AWS_REGION or AWS_DEFAULT_REGION");
    if (!region_ok(region))
        return core_err_set(err, CORE_E_INVAL, "%s: '%s' is not a region name; expected "
                            "lowercase letters, digits and '-' (e.g. us-east-1)", src, region);
    core_strlcpy(c.region, region, sizeof c.region);

    for (int s = 0; s < AWS_SVC_COUNT; s++) {
        const char *what = svc_vars[s];
        v = aws_env_get(env, svc_vars[s]);
        if (!v) {
            v = aws_env_get(env, "AWS_ENDPOINT_URL");
            what = "AWS_ENDPOINT_URL";
        }
        if (v) {
            rc = store_url(c.endpoint[s], sizeof c.endpoint[s], v, what, err);
            if (rc)
                return rc;
        } else {
            int n = snprintf(c.endpoint[s], sizeof c.endpoint[s], "https://%s.%s.amazonaws.com%s",
                             aws_service_name((enum aws_service)s), region,
                             strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
            if (n < 0 || (size_t)n >= sizeof c.endpoint[s])
                return core_err_set(err, CORE_E_TOOBIG, "endpoint for region too long");
        }
    }
    v = aws_env_get(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    rc = store_url(c.imds_endpoint, sizeof c.imds_endpoint, v ? v : "http://169.254.169.254",
                   "AWS_EC2_METADATA_SERVICE_ENDPOINT", err);
    if (rc)
        return rc;
    v = aws_env_get(env, "AWS_EC2_METADATA_DISABLED");
    c.imds_disabled = v && strcasecmp(v, "true") == 0;
    *cfg = c;
    return 0;
}
