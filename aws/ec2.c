/*
 * aws/ec2.c — the typed EC2 layer: request encoders, response decoders and the asynchronous
 * calls (with pagination) over the client's Query pipeline.
 *
 * How it is built: encoders are small per-action functions over a handful of helpers that
 * carry the first error (so an encoder reads as the list of its parameters); decoders are
 * tables ("shapes") of XML paths, kinds and struct offsets walked by one generic decoder, and
 * the same tables drive cleanup and the page merge, so a field is declared exactly once.
 *
 * Invariants:
 *  - Encoders validate before anything reaches the caller: they build into a private form and
 *    move it into the caller's only when the whole request is valid.
 *  - Decoders build into a private result and append it to the caller's only once everything
 *    decoded and the caller's arrays have grown: on any failure the caller's result and next
 *    token are untouched. Unknown elements are never looked at; empty elements count as
 *    absent.
 *  - A call owns everything it needs after it starts: the encoded form (deep copies of every
 *    request string) and the accumulating result; the caller's request is not read again.
 *  - Every list in a result is `T *v; size_t n;` allocated to its exact size, and every
 *    element is zero-initialised before decoding, so cleanup never sees garbage.
 */
#include "aws/aws.h"

#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EC2_NAME_MAX 256      /* longest form parameter name we build */
#define EC2_PATH_MAX 384      /* element path kept for error messages */
#define EC2_SNIPPET "%.40s"   /* how much of a bad value an error message quotes */

/* ============================================================================================ */
/* Encoding                                                                                      */
/* ============================================================================================ */

/* The encoder's state: the form being built and the first error. Every helper does nothing
 * once rc is set, so encoders need no error check between parameters. */
struct enc {
    const char *action;
    struct aws_query q;
    struct core_err *err;
    int rc;
};

static void enc_fail(struct enc *e, int code, const char *fmt, ...) CORE_PRINTF(3, 4);
static void enc_fail(struct enc *e, int code, const char *fmt, ...)
{
    char msg[CORE_ERR_MSG_MAX];
    va_list ap;
    if (e->rc)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    e->rc = core_err_set(e->err, code, "%s: %s", e->action, msg);
}

static void enc_add(struct enc *e, const char *name, const char *value)
{
    if (e->rc)
        return;
    if (aws_query_add(&e->q, name, value) != 0)
        enc_fail(e, CORE_E_NOMEM, "out of memory encoding %s", name);
}

static void enc_addf(struct enc *e, const char *value, const char *fmt, ...) CORE_PRINTF(3, 4);
static void enc_addf(struct enc *e, const char *value, const char *fmt, ...)
{
    char name[EC2_NAME_MAX];
    va_list ap;
    int n;
    if (e->rc)
        return;
    va_start(ap, fmt);
    n = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof name)
        enc_fail(e, CORE_E_TOOBIG, "parameter name longer than %d bytes", EC2_NAME_MAX - 1);
    else
        enc_add(e, name, value);
}

/* Starts a request; returns 0 (with the error set) when there is no request to read. */
static int enc_begin(struct enc *e, const char *action, const void *req, struct core_err *err)
{
    e->action = action;
    e->err = err;
    e->rc = 0;
    aws_query_init(&e->q);
    if (!req) {
        enc_fail(e, CORE_E_INVAL, "no request");
        return 0;
    }
    enc_add(e, "Action", action);
    enc_add(e, "Version", AWS_EC2_API_VERSION);
    return 1;
}

/* Appends src's pairs to dst (moving the strings). dst is unchanged on failure. */
static int query_move(struct aws_query *dst, struct aws_query *src)
{
    size_t need = dst->n + src->n;
    if (need > dst->cap) {
        char **nn = core_realloc(dst->names, need * sizeof *nn);
        char **nv;
        if (!nn)
            return CORE_E_NOMEM;
        dst->names = nn;
        nv = core_realloc(dst->values, need * sizeof *nv);
        if (!nv)
            return CORE_E_NOMEM; /* names grew, cap did not: harmless */
        dst->values = nv;
        dst->cap = need;
    }
    memcpy(dst->names + dst->n, src->names, src->n * sizeof *src->names);
    memcpy(dst->values + dst->n, src->values, src->n * sizeof *src->values);
    dst->n = need;
    src->n = 0;
    return 0;
}

static int enc_end(struct enc *e, struct aws_query *q)
{
    if (!e->rc && !q)
        enc_fail(e, CORE_E_INVAL, "no form to encode into");
    if (!e->rc && query_move(q, &e->q) != 0)
        enc_fail(e, CORE_E_NOMEM, "out of memory");
    aws_query_cleanup(&e->q);
    return e->rc;
}

/* Optional string: NULL or "" is not sent. */
static void enc_str(struct enc *e, const char *name, const char *value)
{
    if (value && *value)
        enc_add(e, name, value);
}

static void enc_required(struct enc *e, const char *name, const char *value)
{
    if (!value || !*value)
        enc_fail(e, CORE_E_INVAL, "%s is required", name);
    enc_add(e, name, value);
}

static void enc_i64(struct enc *e, const char *name, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    enc_add(e, name, buf);
}

static void enc_bool(struct enc *e, const char *name, enum aws_ec2_bool b)
{
    if (b == AWS_EC2_TRUE || b == AWS_EC2_FALSE)
        enc_add(e, name, b == AWS_EC2_TRUE ? "true" : "false");
    else if (b != AWS_EC2_UNSET)
        enc_fail(e, CORE_E_INVAL, "%s: %d is not an aws_ec2_bool", name, (int)b);
}

/* Checks value against a NULL-terminated list; NULL/"" passes when optional. */
static void enc_choice(struct enc *e, const char *name, const char *value, int required,
                       const char *const *allowed)
{
    if (!value || !*value) {
        if (required)
            enc_fail(e, CORE_E_INVAL, "%s is required", name);
        return;
    }
    for (const char *const *a = allowed; *a; a++)
        if (strcmp(*a, value) == 0) {
            enc_add(e, name, value);
            return;
        }
    enc_fail(e, CORE_E_INVAL, "%s: '" EC2_SNIPPET "' is not one of the accepted values", name,
             value);
}

/* prefix.1, prefix.2, ...: every entry non-empty. */
static void enc_list(struct enc *e, const char *prefix, const char *const *v, size_t n)
{
    if (n && !v) {
        enc_fail(e, CORE_E_INVAL, "%s: %zu entries but no array", prefix, n);
        return;
    }
    for (size_t i = 0; i < n && !e->rc; i++) {
        if (!v[i] || !*v[i])
            enc_fail(e, CORE_E_INVAL, "%s.%zu is empty", prefix, i + 1);
        enc_addf(e, v[i], "%s.%zu", prefix, i + 1);
    }
}

static void enc_filters(struct enc *e, const struct aws_ec2_filter *f, size_t n)
{
    if (n && !f) {
        enc_fail(e, CORE_E_INVAL, "Filter: %zu entries but no array", n);
        return;
    }
    for (size_t i = 0; i < n && !e->rc; i++) {
        if (!f[i].name || !*f[i].name)
            enc_fail(e, CORE_E_INVAL, "Filter.%zu.Name is required", i + 1);
        if (!f[i].nvalues || !f[i].values)
            enc_fail(e, CORE_E_INVAL, "Filter.%zu (%s) needs at least one value", i + 1,
                     f[i].name);
        enc_addf(e, f[i].name, "Filter.%zu.Name", i + 1);
        for (size_t j = 0; j < f[i].nvalues && !e->rc; j++) {
            if (!f[i].values[j])
                enc_fail(e, CORE_E_INVAL, "Filter.%zu.Value.%zu is NULL", i + 1, j + 1);
            enc_addf(e, f[i].values[j], "Filter.%zu.Value.%zu", i + 1, j + 1);
        }
    }
}

/* prefix.N.Key / prefix.N.Value, with EC2's tag rules (aws: keys are reserved). */
static void enc_tags(struct enc *e, const char *prefix, const struct aws_ec2_tag *t, size_t n)
{
    if (n && !t) {
        enc_fail(e, CORE_E_INVAL, "%s: %zu tags but no array", prefix, n);
        return;
    }
    for (size_t i = 0; i < n && !e->rc; i++) {
        const char *v = t[i].value ? t[i].value : "";
        if (!t[i].key || !*t[i].key || strlen(t[i].key) > 128)
            enc_fail(e, CORE_E_INVAL, "%s.%zu.Key must be 1..128 characters", prefix, i + 1);
        else if (strncmp(t[i].key, "aws:", 4) == 0)
            enc_fail(e, CORE_E_INVAL, "%s.%zu.Key '" EC2_SNIPPET "': the aws: prefix is reserved",
                     prefix, i + 1, t[i].key);
        if (strlen(v) > 256)
            enc_fail(e, CORE_E_INVAL, "%s.%zu.Value is longer than 256 characters", prefix, i + 1);
        enc_addf(e, t[i].key, "%s.%zu.Key", prefix, i + 1);
        enc_addf(e, v, "%s.%zu.Value", prefix, i + 1);
    }
}

/* Formats a parameter name into buf (EC2_NAME_MAX bytes); an over-long name is an error. */
static const char *enc_name(struct enc *e, char *buf, const char *fmt, ...) CORE_PRINTF(3, 4);
static const char *enc_name(struct enc *e, char *buf, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf, EC2_NAME_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= EC2_NAME_MAX)
        enc_fail(e, CORE_E_TOOBIG, "parameter name longer than %d bytes", EC2_NAME_MAX - 1);
    return buf;
}

/* Optional number: 0 is not sent. */
static void enc_opt_i64(struct enc *e, const char *name, int64_t v)
{
    if (v)
        enc_i64(e, name, v);
}

/* pre is "" or "LaunchTemplateData." and is put before every name. allowed may be NULL. */
static void enc_tag_specs(struct enc *e, const char *pre, const struct aws_ec2_tag_spec *s,
                          size_t n, const char *const *allowed)
{
    char name[EC2_NAME_MAX];
    if (n && !s) {
        enc_fail(e, CORE_E_INVAL, "%sTagSpecification: %zu entries but no array", pre, n);
        return;
    }
    for (size_t i = 0; i < n && !e->rc; i++) {
        enc_name(e, name, "%sTagSpecification.%zu.ResourceType", pre, i + 1);
        if (allowed)
            enc_choice(e, name, s[i].resource_type, 1, allowed);
        else
            enc_required(e, name, s[i].resource_type);
        if (!s[i].ntags)
            enc_fail(e, CORE_E_INVAL, "%sTagSpecification.%zu has no tags", pre, i + 1);
        enc_tags(e, enc_name(e, name, "%sTagSpecification.%zu.Tag", pre, i + 1), s[i].tags,
                 s[i].ntags);
    }
}

/* <pre>BlockDeviceMapping.N.DeviceName / .Ebs.* */
static void enc_block_devices(struct enc *e, const char *pre,
                              const struct aws_ec2_block_device *b, size_t n)
{
    static const char *const types[] = {"gp2", "gp3", "io1", "io2", "st1", "sc1", "standard",
                                        NULL};
    char p[EC2_NAME_MAX], name[EC2_NAME_MAX];
    if (n && !b) {
        enc_fail(e, CORE_E_INVAL, "%sBlockDeviceMapping: %zu entries but no array", pre, n);
        return;
    }
    for (size_t i = 0; i < n && !e->rc; i++) {
        const struct aws_ec2_block_device *d = &b[i];
        enc_name(e, p, "%sBlockDeviceMapping.%zu", pre, i + 1);
        if (d->volume_size < 0 || d->iops < 0 || d->throughput < 0)
            enc_fail(e, CORE_E_INVAL, "%s.Ebs: sizes, IOPS and throughput must not be negative",
                     p);
        enc_required(e, enc_name(e, name, "%s.DeviceName", p), d->device_name);
        enc_opt_i64(e, enc_name(e, name, "%s.Ebs.VolumeSize", p), d->volume_size);
        enc_choice(e, enc_name(e, name, "%s.Ebs.VolumeType", p), d->volume_type, 0, types);
        enc_bool(e, enc_name(e, name, "%s.Ebs.Encrypted", p), d->encrypted);
        enc_bool(e, enc_name(e, name, "%s.Ebs.DeleteOnTermination", p),
                 d->delete_on_termination);
        enc_opt_i64(e, enc_name(e, name, "%s.Ebs.Iops", p), d->iops);
        enc_opt_i64(e, enc_name(e, name, "%s.Ebs.Throughput", p), d->throughput);
    }
}

static void enc_metadata(struct enc *e, const char *pre, const struct aws_ec2_metadata_options *m)
{
    static const char *const tokens[] = {"required", "optional", NULL};
    char name[EC2_NAME_MAX];
    int64_t hops = m->http_put_response_hop_limit;
    enc_choice(e, enc_name(e, name, "%sMetadataOptions.HttpTokens", pre), m->http_tokens, 0,
               tokens);
    enc_name(e, name, "%sMetadataOptions.HttpPutResponseHopLimit", pre);
    if (hops && (hops < 1 || hops > 64))
        enc_fail(e, CORE_E_INVAL, "%s must be 1..64, not %" PRId64, name, hops);
    enc_opt_i64(e, name, hops);
}

/* Raw bytes in, base64 (OpenSSL) on the wire. data NULL = not sent. */
static void enc_user_data(struct enc *e, const char *name, const void *data, size_t len)
{
    unsigned char *b64;
    if (e->rc || !data) {
        if (!data && len)
            enc_fail(e, CORE_E_INVAL, "%s: %zu bytes but no data", name, len);
        return;
    }
    if (len > AWS_EC2_USER_DATA_MAX) {
        enc_fail(e, CORE_E_TOOBIG, "%s is %zu bytes, at most %u before base64", name, len,
                 AWS_EC2_USER_DATA_MAX);
        return;
    }
    b64 = core_malloc(4 * ((len + 2) / 3) + 1);
    if (!b64) {
        enc_fail(e, CORE_E_NOMEM, "out of memory encoding %s", name);
        return;
    }
    EVP_EncodeBlock(b64, data, (int)len); /* len <= 16384: fits an int */
    enc_add(e, name, (const char *)b64);
    core_free(b64);
}

static void enc_client_token(struct enc *e, const char *token)
{
    size_t len;
    if (!token)
        return;
    len = strlen(token);
    if (len == 0 || len > AWS_EC2_CLIENT_TOKEN_MAX)
        enc_fail(e, CORE_E_INVAL, "ClientToken must be 1..%u characters, not %zu",
                 AWS_EC2_CLIENT_TOKEN_MAX, len);
    for (size_t i = 0; i < len && !e->rc; i++)
        if (token[i] < 0x20 || token[i] > 0x7e)
            enc_fail(e, CORE_E_INVAL, "ClientToken must be printable ASCII (byte %zu is not)", i);
    enc_add(e, "ClientToken", token);
}

static void enc_max_results(struct enc *e, int64_t v, int64_t lo, int64_t hi)
{
    if (!v)
        return;
    if (v < lo || v > hi)
        enc_fail(e, CORE_E_INVAL, "MaxResults must be %" PRId64 "..%" PRId64 ", not %" PRId64, lo,
                 hi, v);
    enc_i64(e, "MaxResults", v);
}

/* IamInstanceProfile.Name or .Arn: at most one. */
static void enc_profile(struct enc *e, const char *pre, const char *name, const char *arn)
{
    char n[EC2_NAME_MAX];
    if (name && *name && arn && *arn)
        enc_fail(e, CORE_E_INVAL, "%sIamInstanceProfile: give the Name or the Arn, not both", pre);
    enc_str(e, enc_name(e, n, "%sIamInstanceProfile.Name", pre), name);
    enc_str(e, enc_name(e, n, "%sIamInstanceProfile.Arn", pre), arn);
}

static void enc_time(struct enc *e, const char *name, core_ns t)
{
    char buf[32];
    if (!t)
        return;
    if (t < 0)
        enc_fail(e, CORE_E_INVAL, "%s is before 1970", name);
    core_time_rfc3339(t, buf, sizeof buf);
    enc_add(e, name, buf);
}

/* The shortest decimal text that reads back as the same double. */
static void fmt_double(double v, char *buf, size_t sz)
{
    snprintf(buf, sz, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sz, "%.17g", v);
}

/* ---- per action ---------------------------------------------------------------------------- */

int aws_ec2_describe_instances_encode(const struct aws_ec2_describe_instances_req *req,
                                      const char *next_token, struct aws_query *q,
                                      struct core_err *err)
{
    struct enc e;
    if (!enc_begin(&e, "DescribeInstances", req, err))
        return enc_end(&e, q);
    if (req->max_results && req->ninstance_ids)
        enc_fail(&e, CORE_E_INVAL, "MaxResults cannot be combined with InstanceId");
    enc_list(&e, "InstanceId", req->instance_ids, req->ninstance_ids);
    enc_filters(&e, req->filters, req->nfilters);
    enc_max_results(&e, req->max_results, 5, 1000);
    enc_str(&e, "NextToken", next_token);
    return enc_end(&e, q);
}

int aws_ec2_describe_instance_types_encode(const struct aws_ec2_describe_instance_types_req *req,
                                           const char *next_token, struct aws_query *q,
                                           struct core_err *err)
{
    struct enc e;
    if (!enc_begin(&e, "DescribeInstanceTypes", req, err))
        return enc_end(&e, q);
    enc_list(&e, "InstanceType", req->instance_types, req->ninstance_types);
    enc_filters(&e, req->filters, req->nfilters);
    enc_max_results(&e, req->max_results, 5, 100);
    enc_str(&e, "NextToken", next_token);
    return enc_end(&e, q);
}

int aws_ec2_describe_instance_type_offerings_encode(
    const struct aws_ec2_describe_instance_type_offerings_req *req, const char *next_token,
    struct aws_query *q, struct core_err *err)
{
    static const char *const types[] = {"region", "availability-zone", "availability-zone-id",
                                        NULL};
    struct enc e;
    if (!enc_begin(&e, "DescribeInstanceTypeOfferings", req, err))
        return enc_end(&e, q);
    enc_choice(&e, "LocationType", req->location_type, 0, types);
    enc_filters(&e, req->filters, req->nfilters);
    enc_max_results(&e, req->max_results, 5, 1000);
    enc_str(&e, "NextToken", next_token);
    return enc_end(&e, q);
}

int aws_ec2_describe_subnets_encode(const struct aws_ec2_describe_subnets_req *req,
                                    const char *next_token, struct aws_query *q,
                                    struct core_err *err)
{
    struct enc e;
    if (!enc_begin(&e, "DescribeSubnets", req, err))
        return enc_end(&e, q);
    enc_list(&e, "SubnetId", req->subnet_ids, req->nsubnet_ids);
    enc_filters(&e, req->filters, req->nfilters);
    enc_max_results(&e, req->max_results, 5, 1000);
    enc_str(&e, "NextToken", next_token);
    return enc_end(&e, q);
}

int aws_ec2_describe_security_groups_encode(
    const struct aws_ec2_describe_security_groups_req *req, const char *next_token,
    struct aws_query *q, struct core_err *err)
{
    struct enc e;
    if (!enc_begin(&e, "DescribeSecurityGroups", req, err))
        return enc_end(&e, q);
    enc_list(&e, "GroupId", req->group_ids, req->ngroup_ids);
    enc_list(&e, "GroupName", req->group_names, req->ngroup_names);
    enc_filters(&e, req->filters, req->nfilters);
    enc_max_results(&e, req->max_results, 5, 1000);
    enc_str(&e, "NextToken", next_token);
    return enc_end(&e, q);
}

int aws_ec2_describe_images_encode(const struct aws_ec2_describe_images_req *req,
                                   const char *next_token, struct aws_query *q,
                                   struct core_err *err)
{
    struct enc e;
    if (!enc_begin(&e, "DescribeImages", req, err))
        return enc_end(&e, q);
    enc_list(&e, "ImageId", req->image_ids, req->nimage_ids);
    enc_list(&e, "Owner", req->owners, req->nowners);
    enc_list(&e, "ExecutableBy", req->executable_by, req->nexecutable_by);
    enc_filters(&e, req->filters, req->nfilters);
    enc_bool(&e, "IncludeDeprecated", req->include_deprecated);
    enc_max_results(&e, req->max_results, 1, 1000);
    enc_str(&e, "NextToken", next_token);
    return enc_end(&e, q);
}

int aws_ec2_describe_spot_price_history_encode(
    const struct aws_ec2_describe_spot_price_history_req *req, const char *next_token,
    struct aws_query *q, struct core_err *err)
{
    struct enc e;
    if (!enc_begin(&e, "DescribeSpotPriceHistory", req, err))
        return enc_end(&e, q);
    if (req->start_time && req->end_time && req->start_time > req->end_time)
        enc_fail(&e, CORE_E_INVAL, "StartTime is after EndTime");
    enc_list(&e, "InstanceType", req->instance_types, req->ninstance_types);
    enc_list(&e, "ProductDescription", req->product_descriptions, req->nproduct_descriptions);
    enc_str(&e, "AvailabilityZone", req->availability_zone);
    enc_time(&e, "StartTime", req->start_time);
    enc_time(&e, "EndTime", req->end_time);
    enc_filters(&e, req->filters, req->nfilters);
    enc_max_results(&e, req->max_results, 1, 1000);
    enc_str(&e, "NextToken", next_token);
    return enc_end(&e, q);
}

int aws_ec2_describe_launch_templates_encode(
    const struct aws_ec2_describe_launch_templates_req *req, const char *next_token,
    struct aws_query *q, struct core_err *err)
{
    struct enc e;
    if (!enc_begin(&e, "DescribeLaunchTemplates", req, err))
        return enc_end(&e, q);
    enc_list(&e, "LaunchTemplateId", req->ids, req->nids);
    enc_list(&e, "LaunchTemplateName", req->names, req->nnames);
    enc_filters(&e, req->filters, req->nfilters);
    enc_max_results(&e, req->max_results, 1, 200);
    enc_str(&e, "NextToken", next_token);
    return enc_end(&e, q);
}

static void enc_template_name(struct enc *e, const char *field, const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len < 3 || len > 128)
        enc_fail(e, CORE_E_INVAL, "%s must be 3..128 characters", field);
    for (size_t i = 0; i < len && !e->rc; i++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789().-/_",
                    name[i]))
            enc_fail(e, CORE_E_INVAL, "%s '" EC2_SNIPPET "': character %zu is not allowed",
                     field, name, i + 1);
    enc_add(e, field, name);
}

int aws_ec2_create_launch_template_encode(const struct aws_ec2_create_launch_template_req *req,
                                          struct aws_query *q, struct core_err *err)
{
    static const char *const data_types[] = {"instance", "volume", "network-interface",
                                             "spot-instances-request", NULL};
    static const char *const lt_types[] = {"launch-template", NULL};
    const struct aws_ec2_launch_template_data *d;
    const char *pre = "LaunchTemplateData.";
    size_t before;
    struct enc e;

    if (!enc_begin(&e, "CreateLaunchTemplate", req, err))
        return enc_end(&e, q);
    d = &req->data;
    enc_template_name(&e, "LaunchTemplateName", req->name);
    if (req->version_description && strlen(req->version_description) > 255)
        enc_fail(&e, CORE_E_INVAL, "VersionDescription is longer than 255 characters");
    enc_str(&e, "VersionDescription", req->version_description);
    enc_client_token(&e, req->client_token);
    before = e.q.n;
    enc_str(&e, "LaunchTemplateData.ImageId", d->image_id);
    enc_str(&e, "LaunchTemplateData.InstanceType", d->instance_type);
    enc_str(&e, "LaunchTemplateData.KeyName", d->key_name);
    enc_user_data(&e, "LaunchTemplateData.UserData", d->user_data, d->user_data_len);
    enc_list(&e, "LaunchTemplateData.SecurityGroupId", d->security_group_ids,
             d->nsecurity_group_ids);
    enc_profile(&e, pre, d->iam_instance_profile_name, d->iam_instance_profile_arn);
    enc_block_devices(&e, pre, d->block_devices, d->nblock_devices);
    enc_metadata(&e, pre, &d->metadata);
    enc_bool(&e, "LaunchTemplateData.HibernationOptions.Configured", d->hibernation_configured);
    enc_tag_specs(&e, pre, d->tag_specs, d->ntag_specs, data_types);
    if (!e.rc && e.q.n == before)
        enc_fail(&e, CORE_E_INVAL, "LaunchTemplateData is required: set at least one field");
    enc_tag_specs(&e, "", req->tag_specs, req->ntag_specs, lt_types);
    return enc_end(&e, q);
}

int aws_ec2_delete_launch_template_encode(const struct aws_ec2_delete_launch_template_req *req,
                                          struct aws_query *q, struct core_err *err)
{
    struct enc e;
    if (!enc_begin(&e, "DeleteLaunchTemplate", req, err))
        return enc_end(&e, q);
    if (!req->id == !req->name)
        enc_fail(&e, CORE_E_INVAL, "give exactly one of LaunchTemplateId and LaunchTemplateName");
    else if (req->id)
        enc_required(&e, "LaunchTemplateId", req->id);
    else
        enc_template_name(&e, "LaunchTemplateName", req->name);
    return enc_end(&e, q);
}

static void enc_overrides(struct enc *e, size_t n, const struct aws_ec2_fleet_template_config *c)
{
    char name[EC2_NAME_MAX];
    if (c->noverrides && !c->overrides) {
        enc_fail(e, CORE_E_INVAL, "LaunchTemplateConfigs.%zu.Overrides: %zu entries but no array",
                 n, c->noverrides);
        return;
    }
    for (size_t m = 1; m <= c->noverrides && !e->rc; m++) {
        const struct aws_ec2_fleet_override *o = &c->overrides[m - 1];
        enc_name(e, name, "LaunchTemplateConfigs.%zu.Overrides.%zu", n, m);
        if (o->instance_type)
            enc_addf(e, o->instance_type, "%s.InstanceType", name);
        if (o->subnet_id)
            enc_addf(e, o->subnet_id, "%s.SubnetId", name);
        if (o->availability_zone)
            enc_addf(e, o->availability_zone, "%s.AvailabilityZone", name);
        if (o->image_id)
            enc_addf(e, o->image_id, "%s.ImageId", name);
        if (o->max_price) {
            char *end = NULL;
            double p = strtod(o->max_price, &end);
            if (end == o->max_price || *end || !isfinite(p) || p <= 0)
                enc_fail(e, CORE_E_INVAL, "%s.MaxPrice '" EC2_SNIPPET "' is not a positive price",
                         name, o->max_price);
            enc_addf(e, o->max_price, "%s.MaxPrice", name);
        }
        if (o->has_priority) {
            char v[32];
            if (!isfinite(o->priority) || o->priority < 0)
                enc_fail(e, CORE_E_INVAL, "%s.Priority must be a number >= 0", name);
            fmt_double(o->priority, v, sizeof v);
            enc_addf(e, v, "%s.Priority", name);
        }
    }
}

int aws_ec2_create_fleet_encode(const struct aws_ec2_create_fleet_req *req, struct aws_query *q,
                                struct core_err *err)
{
    static const char *const capacity_types[] = {"on-demand", "spot", NULL};
    static const char *const od_strategies[] = {"lowest-price", "prioritized", NULL};
    static const char *const spot_strategies[] = {"price-capacity-optimized", "lowest-price",
                                                  "capacity-optimized", NULL};
    static const char *const tag_types[] = {"instance", "volume", "fleet", "network-interface",
                                            NULL};
    size_t total = 0;
    struct enc e;

    if (!enc_begin(&e, "CreateFleet", req, err))
        return enc_end(&e, q);
    if (!req->nconfigs || !req->configs)
        enc_fail(&e, CORE_E_INVAL, "LaunchTemplateConfigs: at least one is required");
    for (size_t i = 0; i < req->nconfigs && req->configs; i++)
        total += req->configs[i].noverrides;
    if (total > AWS_EC2_FLEET_OVERRIDES_MAX)
        enc_fail(&e, CORE_E_TOOBIG, "LaunchTemplateConfigs: %zu overrides in all, at most %u",
                 total, AWS_EC2_FLEET_OVERRIDES_MAX);
    if (req->total_target_capacity < 1)
        enc_fail(&e, CORE_E_INVAL, "TargetCapacitySpecification.TotalTargetCapacity must be >= 1");
    enc_add(&e, "Type", "instant");
    for (size_t i = 0; i < req->nconfigs && !e.rc; i++) {
        const struct aws_ec2_fleet_template_config *c = &req->configs[i];
        if (!c->launch_template_id == !c->launch_template_name)
            enc_fail(&e, CORE_E_INVAL, "LaunchTemplateConfigs.%zu.LaunchTemplateSpecification: "
                     "give exactly one of LaunchTemplateId and LaunchTemplateName", i + 1);
        if (c->launch_template_id)
            enc_addf(&e, c->launch_template_id,
                     "LaunchTemplateConfigs.%zu.LaunchTemplateSpecification.LaunchTemplateId",
                     i + 1);
        else
            enc_addf(&e, c->launch_template_name,
                     "LaunchTemplateConfigs.%zu.LaunchTemplateSpecification.LaunchTemplateName",
                     i + 1);
        if (c->version && *c->version)
            enc_addf(&e, c->version,
                     "LaunchTemplateConfigs.%zu.LaunchTemplateSpecification.Version", i + 1);
        enc_overrides(&e, i + 1, c);
    }
    if (!e.rc)
        enc_i64(&e, "TargetCapacitySpecification.TotalTargetCapacity",
                req->total_target_capacity);
    enc_choice(&e, "TargetCapacitySpecification.DefaultTargetCapacityType",
               req->default_target_capacity_type, 1, capacity_types);
    enc_choice(&e, "OnDemandOptions.AllocationStrategy", req->on_demand_allocation_strategy, 0,
               od_strategies);
    enc_choice(&e, "SpotOptions.AllocationStrategy", req->spot_allocation_strategy, 0,
               spot_strategies);
    enc_tag_specs(&e, "", req->tag_specs, req->ntag_specs, tag_types);
    enc_client_token(&e, req->client_token);
    return enc_end(&e, q);
}

int aws_ec2_run_instances_encode(const struct aws_ec2_run_instances_req *req,
                                 struct aws_query *q, struct core_err *err)
{
    static const char *const tag_types[] = {"instance", "volume", "network-interface",
                                            "spot-instances-request", NULL};
    struct enc e;

    if (!enc_begin(&e, "RunInstances", req, err))
        return enc_end(&e, q);
    if ((!req->image_id || !*req->image_id) && !req->launch_template_id)
        enc_fail(&e, CORE_E_INVAL, "ImageId is required without LaunchTemplate.LaunchTemplateId");
    if (req->min_count < 1)
        enc_fail(&e, CORE_E_INVAL, "MinCount must be at least 1, not %" PRId64, req->min_count);
    if (req->max_count < req->min_count)
        enc_fail(&e, CORE_E_INVAL, "MaxCount (%" PRId64 ") must be at least MinCount (%" PRId64 ")",
                 req->max_count, req->min_count);
    if (req->launch_template_version && !req->launch_template_id)
        enc_fail(&e, CORE_E_INVAL, "LaunchTemplate.Version needs LaunchTemplate.LaunchTemplateId");
    enc_str(&e, "ImageId", req->image_id);
    enc_str(&e, "InstanceType", req->instance_type);
    enc_i64(&e, "MinCount", req->min_count);
    enc_i64(&e, "MaxCount", req->max_count);
    enc_str(&e, "SubnetId", req->subnet_id);
    enc_list(&e, "SecurityGroupId", req->security_group_ids, req->nsecurity_group_ids);
    enc_user_data(&e, "UserData", req->user_data, req->user_data_len);
    enc_profile(&e, "", req->iam_instance_profile_name, req->iam_instance_profile_arn);
    enc_str(&e, "LaunchTemplate.LaunchTemplateId", req->launch_template_id);
    enc_str(&e, "LaunchTemplate.Version", req->launch_template_version);
    enc_bool(&e, "HibernationOptions.Configured", req->hibernation_configured);
    enc_block_devices(&e, "", req->block_devices, req->nblock_devices);
    enc_metadata(&e, "", &req->metadata);
    enc_tag_specs(&e, "", req->tag_specs, req->ntag_specs, tag_types);
    enc_client_token(&e, req->client_token);
    return enc_end(&e, q);
}

static void enc_instance_ids(struct enc *e, const char *const *ids, size_t n)
{
    if (!n)
        enc_fail(e, CORE_E_INVAL, "InstanceId: at least one is required");
    enc_list(e, "InstanceId", ids, n);
}

int aws_ec2_start_instances_encode(const struct aws_ec2_start_instances_req *req,
                                   struct aws_query *q, struct core_err *err)
{
    struct enc e;
    if (enc_begin(&e, "StartInstances", req, err))
        enc_instance_ids(&e, req->instance_ids, req->ninstance_ids);
    return enc_end(&e, q);
}

int aws_ec2_stop_instances_encode(const struct aws_ec2_stop_instances_req *req,
                                  struct aws_query *q, struct core_err *err)
{
    struct enc e;
    if (!enc_begin(&e, "StopInstances", req, err))
        return enc_end(&e, q);
    enc_instance_ids(&e, req->instance_ids, req->ninstance_ids);
    if (req->hibernate)
        enc_add(&e, "Hibernate", "true");
    if (req->force)
        enc_add(&e, "Force", "true");
    return enc_end(&e, q);
}

int aws_ec2_terminate_instances_encode(const struct aws_ec2_terminate_instances_req *req,
                                       struct aws_query *q, struct core_err *err)
{
    struct enc e;
    if (enc_begin(&e, "TerminateInstances", req, err))
        enc_instance_ids(&e, req->instance_ids, req->ninstance_ids);
    return enc_end(&e, q);
}

int aws_ec2_modify_instance_attribute_encode(
    const struct aws_ec2_modify_instance_attribute_req *req, struct aws_query *q,
    struct core_err *err)
{
    struct enc e;
    if (!enc_begin(&e, "ModifyInstanceAttribute", req, err))
        return enc_end(&e, q);
    enc_required(&e, "InstanceId", req->instance_id);
    if (!req->user_data)
        enc_fail(&e, CORE_E_INVAL, "UserData.Value is required");
    enc_user_data(&e, "UserData.Value", req->user_data, req->user_data_len);
    return enc_end(&e, q);
}

int aws_ec2_create_tags_encode(const struct aws_ec2_create_tags_req *req, struct aws_query *q,
                               struct core_err *err)
{
    struct enc e;
    if (!enc_begin(&e, "CreateTags", req, err))
        return enc_end(&e, q);
    if (!req->nresource_ids)
        enc_fail(&e, CORE_E_INVAL, "ResourceId: at least one is required");
    if (!req->ntags)
        enc_fail(&e, CORE_E_INVAL, "Tag: at least one is required");
    enc_list(&e, "ResourceId", req->resource_ids, req->nresource_ids);
    enc_tags(&e, "Tag", req->tags, req->ntags);
    return enc_end(&e, q);
}

/* ============================================================================================ */
/* Decoding                                                                                      */
/* ============================================================================================ */

enum ec2_kind {
    K_STR,  /* char *, NULL when absent or empty */
    K_TEXT, /* char *, "" when absent or empty */
    K_I64,  /* int64_t */
    K_BOOL, /* int, from "true" / "false" */
    K_TIME, /* core_ns, from RFC 3339 */
    K_DBL,  /* double */
    K_STRS, /* struct aws_ec2_strings from <path><item>text</item>... */
    K_LIST, /* T *v; size_t n; from <path><item>...</item>... (flattened through `inner`) */
    K_ONE,  /* T *v; size_t n; gets the single element at <path> (required) */
};

struct ec2_shape;

struct ec2_field {
    const char *path; /* '/'-separated, relative to the element being decoded */
    enum ec2_kind kind;
    int required;
    size_t off;   /* the member; for lists, the array pointer */
    size_t off_n; /* lists: the count */
    const struct ec2_shape *sub; /* lists: the element shape */
    const char *inner; /* K_LIST: each item's own list to flatten (reservations' instances) */
};

struct ec2_shape {
    size_t size;
    const struct ec2_field *f;
    size_t nf;
};

#define FLD(T, m, path, kind, req) {path, kind, req, offsetof(T, m), 0, NULL, NULL}
#define STR(T, m, path) FLD(T, m, path, K_STR, 0)
#define STR_REQ(T, m, path) FLD(T, m, path, K_STR, 1)
#define I64(T, m, path) FLD(T, m, path, K_I64, 0)
#define BOOL(T, m, path) FLD(T, m, path, K_BOOL, 0)
#define TIME(T, m, path) FLD(T, m, path, K_TIME, 0)
#define LIST(T, v, n, path, sub, inner) \
    {path, K_LIST, 0, offsetof(T, v), offsetof(T, n), &(sub), inner}
#define TAGS(T) LIST(T, tags.v, tags.n, "tagSet", sh_tag, NULL)
#define SHAPE(name, T, ...)                                                                     \
    static const struct ec2_field name##_f[] = {__VA_ARGS__};                                   \
    static const struct ec2_shape name = {sizeof(T), name##_f, sizeof name##_f / sizeof name##_f[0]}

SHAPE(sh_tag, struct aws_ec2_tag, STR_REQ(struct aws_ec2_tag, key, "key"),
      FLD(struct aws_ec2_tag, value, "value", K_TEXT, 0));

#define T struct aws_ec2_instance
SHAPE(sh_instance, T, STR_REQ(T, instance_id, "instanceId"), STR(T, instance_type, "instanceType"),
      STR(T, image_id, "imageId"), STR_REQ(T, state_name, "instanceState/name"),
      FLD(T, state_code, "instanceState/code", K_I64, 1),
      STR(T, state_reason_code, "stateReason/code"),
      STR(T, state_reason_message, "stateReason/message"),
      STR(T, state_transition_reason, "reason"), STR(T, subnet_id, "subnetId"),
      STR(T, vpc_id, "vpcId"), STR(T, availability_zone, "placement/availabilityZone"),
      STR(T, private_ip, "privateIpAddress"), STR(T, private_dns_name, "privateDnsName"),
      TIME(T, launch_time, "launchTime"), STR(T, architecture, "architecture"),
      STR(T, lifecycle, "instanceLifecycle"),
      STR(T, spot_instance_request_id, "spotInstanceRequestId"),
      STR(T, iam_instance_profile_arn, "iamInstanceProfile/arn"),
      BOOL(T, hibernation_configured, "hibernationOptions/configured"),
      STR(T, client_token, "clientToken"), TAGS(T));
#undef T

SHAPE(sh_gpu, struct aws_ec2_gpu, STR(struct aws_ec2_gpu, name, "name"),
      STR(struct aws_ec2_gpu, manufacturer, "manufacturer"),
      I64(struct aws_ec2_gpu, count, "count"),
      I64(struct aws_ec2_gpu, memory_mib, "memoryInfo/sizeInMiB"));
SHAPE(sh_accel, struct aws_ec2_accelerator, STR(struct aws_ec2_accelerator, name, "name"),
      I64(struct aws_ec2_accelerator, count, "count"));

#define T struct aws_ec2_instance_type
SHAPE(sh_itype, T, STR_REQ(T, instance_type, "instanceType"),
      BOOL(T, current_generation, "currentGeneration"),
      FLD(T, usage_classes, "supportedUsageClasses", K_STRS, 0),
      FLD(T, architectures, "processorInfo/supportedArchitectures", K_STRS, 0),
      FLD(T, clock_ghz, "processorInfo/sustainedClockSpeedInGhz", K_DBL, 0),
      FLD(T, vcpus, "vCpuInfo/defaultVCpus", K_I64, 1),
      FLD(T, memory_mib, "memoryInfo/sizeInMiB", K_I64, 1),
      LIST(T, gpus, ngpus, "gpuInfo/gpus", sh_gpu, NULL),
      I64(T, gpu_memory_mib, "gpuInfo/totalGpuMemoryInMiB"),
      LIST(T, inference, ninference, "inferenceAcceleratorInfo/accelerators", sh_accel, NULL),
      LIST(T, neuron, nneuron, "neuronInfo/neuronDevices", sh_accel, NULL),
      I64(T, max_network_interfaces, "networkInfo/maximumNetworkInterfaces"),
      I64(T, ipv4_per_interface, "networkInfo/ipv4AddressesPerInterface"),
      STR(T, network_performance, "networkInfo/networkPerformance"),
      BOOL(T, encryption_in_transit, "networkInfo/encryptionInTransitSupported"),
      BOOL(T, instance_storage_supported, "instanceStorageSupported"),
      I64(T, instance_storage_gb, "instanceStorageInfo/totalSizeInGB"),
      BOOL(T, hibernation_supported, "hibernationSupported"), BOOL(T, bare_metal, "bareMetal"),
      STR(T, hypervisor, "hypervisor"),
      I64(T, ebs_max_bandwidth_mbps, "ebsInfo/ebsOptimizedInfo/maximumBandwidthInMbps"));
#undef T

#define T struct aws_ec2_offering
SHAPE(sh_offering, T, STR_REQ(T, instance_type, "instanceType"),
      STR(T, location_type, "locationType"), STR_REQ(T, location, "location"));
#undef T

#define T struct aws_ec2_subnet
SHAPE(sh_subnet, T, STR_REQ(T, subnet_id, "subnetId"), STR(T, vpc_id, "vpcId"),
      STR_REQ(T, availability_zone, "availabilityZone"),
      STR(T, availability_zone_id, "availabilityZoneId"),
      I64(T, available_ips, "availableIpAddressCount"), STR(T, cidr_block, "cidrBlock"),
      BOOL(T, map_public_ip_on_launch, "mapPublicIpOnLaunch"), TAGS(T));
#undef T

#define T struct aws_ec2_security_group
SHAPE(sh_sg, T, STR_REQ(T, group_id, "groupId"), STR(T, group_name, "groupName"),
      STR(T, description, "groupDescription"), STR(T, vpc_id, "vpcId"), TAGS(T));
#undef T

#define T struct aws_ec2_image
SHAPE(sh_image, T, STR_REQ(T, image_id, "imageId"), STR(T, name, "name"),
      STR(T, description, "description"), STR(T, architecture, "architecture"),
      TIME(T, creation_date, "creationDate"), TIME(T, deprecation_time, "deprecationTime"),
      STR(T, state, "imageState"), STR(T, owner_id, "imageOwnerId"),
      STR(T, owner_alias, "imageOwnerAlias"), STR(T, platform_details, "platformDetails"),
      STR(T, root_device_name, "rootDeviceName"), TAGS(T));
#undef T

#define T struct aws_ec2_spot_price
SHAPE(sh_spot, T, STR_REQ(T, instance_type, "instanceType"),
      STR_REQ(T, availability_zone, "availabilityZone"),
      STR(T, product_description, "productDescription"),
      FLD(T, spot_price, "spotPrice", K_DBL, 1), TIME(T, timestamp, "timestamp"));
#undef T

#define T struct aws_ec2_launch_template
SHAPE(sh_lt, T, STR_REQ(T, launch_template_id, "launchTemplateId"),
      STR(T, launch_template_name, "launchTemplateName"), TIME(T, create_time, "createTime"),
      I64(T, default_version, "defaultVersionNumber"),
      I64(T, latest_version, "latestVersionNumber"), TAGS(T));
#undef T

/* launchTemplateAndOverrides/overrides, shared by fleet instances and fleet errors. */
#define OVERRIDES(T)                                                                           \
    STR(T, overrides.instance_type, "launchTemplateAndOverrides/overrides/instanceType"),      \
        STR(T, overrides.subnet_id, "launchTemplateAndOverrides/overrides/subnetId"),          \
        STR(T, overrides.availability_zone,                                                    \
            "launchTemplateAndOverrides/overrides/availabilityZone"),                          \
        STR(T, overrides.image_id, "launchTemplateAndOverrides/overrides/imageId"),            \
        STR(T, overrides.max_price, "launchTemplateAndOverrides/overrides/maxPrice"),          \
        FLD(T, overrides.priority, "launchTemplateAndOverrides/overrides/priority", K_DBL, 0)

#define T struct aws_ec2_fleet_instance
SHAPE(sh_fleet_instance, T, FLD(T, instance_ids, "instanceIds", K_STRS, 0),
      STR(T, instance_type, "instanceType"), STR(T, lifecycle, "lifecycle"), OVERRIDES(T));
#undef T

#define T struct aws_ec2_fleet_error
SHAPE(sh_fleet_error, T, STR_REQ(T, code, "errorCode"), STR(T, message, "errorMessage"),
      STR(T, lifecycle, "lifecycle"), OVERRIDES(T));
#undef T

#define T struct aws_ec2_state_change
SHAPE(sh_state, T, STR_REQ(T, instance_id, "instanceId"),
      STR_REQ(T, current_name, "currentState/name"),
      FLD(T, current_code, "currentState/code", K_I64, 1),
      STR(T, previous_name, "previousState/name"), I64(T, previous_code, "previousState/code"));
#undef T

/* Whole answers: the result struct's fields, with paths from the root element. */
struct ec2_ack {
    int ok;
};

SHAPE(rs_describe_instances, struct aws_ec2_instances,
      LIST(struct aws_ec2_instances, v, n, "reservationSet", sh_instance, "instancesSet"));
SHAPE(rs_run_instances, struct aws_ec2_instances,
      LIST(struct aws_ec2_instances, v, n, "instancesSet", sh_instance, NULL));
SHAPE(rs_instance_types, struct aws_ec2_instance_types,
      LIST(struct aws_ec2_instance_types, v, n, "instanceTypeSet", sh_itype, NULL));
SHAPE(rs_offerings, struct aws_ec2_offerings,
      LIST(struct aws_ec2_offerings, v, n, "instanceTypeOfferingSet", sh_offering, NULL));
SHAPE(rs_subnets, struct aws_ec2_subnets,
      LIST(struct aws_ec2_subnets, v, n, "subnetSet", sh_subnet, NULL));
SHAPE(rs_security_groups, struct aws_ec2_security_groups,
      LIST(struct aws_ec2_security_groups, v, n, "securityGroupInfo", sh_sg, NULL));
SHAPE(rs_images, struct aws_ec2_images,
      LIST(struct aws_ec2_images, v, n, "imagesSet", sh_image, NULL));
SHAPE(rs_spot_prices, struct aws_ec2_spot_prices,
      LIST(struct aws_ec2_spot_prices, v, n, "spotPriceHistorySet", sh_spot, NULL));
SHAPE(rs_launch_templates, struct aws_ec2_launch_templates,
      LIST(struct aws_ec2_launch_templates, v, n, "launchTemplates", sh_lt, NULL));
SHAPE(rs_launch_template, struct aws_ec2_launch_templates,
      {"launchTemplate", K_ONE, 1, offsetof(struct aws_ec2_launch_templates, v),
       offsetof(struct aws_ec2_launch_templates, n), &sh_lt, NULL});
SHAPE(rs_fleet, struct aws_ec2_fleet, STR_REQ(struct aws_ec2_fleet, fleet_id, "fleetId"),
      LIST(struct aws_ec2_fleet, instances, ninstances, "fleetInstanceSet", sh_fleet_instance,
           NULL),
      LIST(struct aws_ec2_fleet, errors, nerrors, "errorSet", sh_fleet_error, NULL));
SHAPE(rs_state_changes, struct aws_ec2_state_changes,
      LIST(struct aws_ec2_state_changes, v, n, "instancesSet", sh_state, NULL));
SHAPE(rs_ack, struct ec2_ack, FLD(struct ec2_ack, ok, "return", K_BOOL, 1));

/* Pointer members are read and written through memcpy so one routine serves every element
 * type (all object pointers share one representation on the platforms we build for). */
static void *get_ptr(const char *base, size_t off)
{
    void *p;
    memcpy(&p, base + off, sizeof p);
    return p;
}

static void set_ptr(char *base, size_t off, void *p)
{
    memcpy(base + off, &p, sizeof p);
}

static size_t *count_at(char *base, size_t off)
{
    return (size_t *)(void *)(base + off);
}

static void shape_cleanup(const struct ec2_shape *s, char *base)
{
    for (size_t i = 0; i < s->nf; i++) {
        const struct ec2_field *f = &s->f[i];
        switch (f->kind) {
        case K_STR:
        case K_TEXT:
            core_free(get_ptr(base, f->off));
            break;
        case K_STRS: {
            struct aws_ec2_strings *l = (struct aws_ec2_strings *)(void *)(base + f->off);
            for (size_t j = 0; j < l->n; j++)
                core_free(l->v[j]);
            core_free(l->v);
            break;
        }
        case K_LIST:
        case K_ONE: {
            char *v = get_ptr(base, f->off);
            size_t n = *count_at(base, f->off_n);
            for (size_t j = 0; j < n; j++)
                shape_cleanup(f->sub, v + j * f->sub->size);
            core_free(v);
            break;
        }
        default:
            break;
        }
    }
}

static void result_cleanup(const struct ec2_shape *s, void *r)
{
    if (!r)
        return;
    shape_cleanup(s, r);
    memset(r, 0, s->size);
}

void aws_ec2_instances_cleanup(struct aws_ec2_instances *r)
{
    result_cleanup(&rs_run_instances, r);
}
void aws_ec2_instance_types_cleanup(struct aws_ec2_instance_types *r)
{
    result_cleanup(&rs_instance_types, r);
}
void aws_ec2_offerings_cleanup(struct aws_ec2_offerings *r)
{
    result_cleanup(&rs_offerings, r);
}
void aws_ec2_subnets_cleanup(struct aws_ec2_subnets *r)
{
    result_cleanup(&rs_subnets, r);
}
void aws_ec2_security_groups_cleanup(struct aws_ec2_security_groups *r)
{
    result_cleanup(&rs_security_groups, r);
}
void aws_ec2_images_cleanup(struct aws_ec2_images *r)
{
    result_cleanup(&rs_images, r);
}
void aws_ec2_spot_prices_cleanup(struct aws_ec2_spot_prices *r)
{
    result_cleanup(&rs_spot_prices, r);
}
void aws_ec2_launch_templates_cleanup(struct aws_ec2_launch_templates *r)
{
    result_cleanup(&rs_launch_templates, r);
}
void aws_ec2_fleet_cleanup(struct aws_ec2_fleet *r)
{
    result_cleanup(&rs_fleet, r);
}
void aws_ec2_state_changes_cleanup(struct aws_ec2_state_changes *r)
{
    result_cleanup(&rs_state_changes, r);
}

int aws_ec2_fleet_error_is_capacity(const struct aws_ec2_fleet_error *e)
{
    return e && e->code && aws_error_is_capacity(e->code);
}

/* The decoder's state: the action and the path of the element being decoded, for errors. */
struct dec {
    const char *action;
    struct core_err *err;
    char path[EC2_PATH_MAX];
    size_t len;
};

/* Appends "/segment" to the path; returns the length to restore. Truncates silently: the
 * path only decorates error messages. */
static size_t dec_push(struct dec *d, const char *fmt, ...) CORE_PRINTF(2, 3);
static size_t dec_push(struct dec *d, const char *fmt, ...)
{
    size_t old = d->len;
    va_list ap;
    int n;
    if (d->len && d->len + 1 < sizeof d->path)
        d->path[d->len++] = '/';
    va_start(ap, fmt);
    n = vsnprintf(d->path + d->len, sizeof d->path - d->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        d->len += (size_t)n < sizeof d->path - d->len ? (size_t)n : sizeof d->path - d->len - 1;
    return old;
}

static void dec_pop(struct dec *d, size_t old)
{
    d->len = old;
    d->path[old] = '\0';
}

static int dec_fail(struct dec *d, const char *path, const char *what, const char *text)
{
    if (text)
        return core_err_set(d->err, CORE_E_PARSE, "%s: %s%s%s: %s '" EC2_SNIPPET "'", d->action,
                            d->path, d->len ? "/" : "", path, what, text);
    return core_err_set(d->err, CORE_E_PARSE, "%s: %s%s%s: %s", d->action, d->path,
                        d->len ? "/" : "", path, what);
}

static int dec_nomem(struct dec *d)
{
    return core_err_set(d->err, CORE_E_NOMEM, "%s: out of memory decoding the answer", d->action);
}

static int dec_fields(struct dec *d, const struct aws_xml_node *el, const struct ec2_shape *s,
                      char *base);

static size_t count_items(const struct aws_xml_node *list)
{
    size_t n = 0;
    for (const struct aws_xml_node *it = aws_xml_next(list, NULL, "item"); it;
         it = aws_xml_next(list, it, "item"))
        n++;
    return n;
}

/* Decodes one <item> of the list `list` (for the path in error messages). */
static int dec_at(struct dec *d, const struct aws_xml_node *it, const struct ec2_shape *s,
                  char *elem, const char *list, size_t idx)
{
    size_t old = dec_push(d, "%s/item[%zu]", list, idx);
    int rc = dec_fields(d, it, s, elem);
    dec_pop(d, old);
    return rc;
}

/* A list member: counts the items, allocates them zeroed (and records them in base at once, so
 * cleanup frees them whatever happens next), then decodes each. */
static int dec_list(struct dec *d, const struct aws_xml_node *node, const struct ec2_field *f,
                    char *base)
{
    const struct aws_xml_node *it;
    size_t n = 0, k = 0, r = 0, old;
    char *v;
    int rc = 0;

    if (f->kind == K_ONE)
        n = 1;
    else if (!f->inner)
        n = count_items(node);
    else
        for (it = aws_xml_next(node, NULL, "item"); it; it = aws_xml_next(node, it, "item"))
            n += count_items(aws_xml_child(it, f->inner));
    if (!n)
        return 0;
    v = core_calloc(n, f->sub->size);
    if (!v)
        return dec_nomem(d);
    set_ptr(base, f->off, v);
    *count_at(base, f->off_n) = n;
    if (f->kind == K_ONE) {
        old = dec_push(d, "%s", f->path);
        rc = dec_fields(d, node, f->sub, v);
        dec_pop(d, old);
        return rc;
    }
    for (it = aws_xml_next(node, NULL, "item"); it && !rc;
         it = aws_xml_next(node, it, "item"), r++) {
        const struct aws_xml_node *in, *x;
        size_t j = 0;
        if (!f->inner) {
            rc = dec_at(d, it, f->sub, v + k++ * f->sub->size, f->path, r);
            continue;
        }
        old = dec_push(d, "%s/item[%zu]", f->path, r);
        in = aws_xml_child(it, f->inner);
        for (x = aws_xml_next(in, NULL, "item"); x && !rc; x = aws_xml_next(in, x, "item"))
            rc = dec_at(d, x, f->sub, v + k++ * f->sub->size, f->inner, j++);
        dec_pop(d, old);
    }
    return rc;
}

static int dec_strings(struct dec *d, const struct aws_xml_node *node, const struct ec2_field *f,
                       char *base)
{
    struct aws_ec2_strings *l = (struct aws_ec2_strings *)(void *)(base + f->off);
    size_t n = count_items(node), k = 0;
    if (!n)
        return 0;
    l->v = core_calloc(n, sizeof *l->v);
    if (!l->v)
        return dec_nomem(d);
    for (const struct aws_xml_node *it = aws_xml_next(node, NULL, "item"); it;
         it = aws_xml_next(node, it, "item")) {
        l->v[k] = core_strdup(it->text);
        if (!l->v[k])
            return dec_nomem(d);
        l->n = ++k;
    }
    return 0;
}

static int dec_scalar(struct dec *d, const struct aws_xml_node *n, const struct ec2_field *f,
                      char *base)
{
    const char *t = n ? n->text : "";
    void *p = base + f->off;

    if (!*t && f->kind != K_TEXT) {
        if (f->required)
            return dec_fail(d, f->path, "required element missing or empty", NULL);
        return 0;
    }
    switch (f->kind) {
    case K_STR:
    case K_TEXT: {
        char *s = core_strdup(t);
        if (!s)
            return dec_nomem(d);
        set_ptr(base, f->off, s);
        return 0;
    }
    case K_I64: {
        int64_t v;
        if (core_parse_i64(t, INT64_MIN, INT64_MAX, &v) != 0)
            return dec_fail(d, f->path, "not an integer", t);
        memcpy(p, &v, sizeof v);
        return 0;
    }
    case K_BOOL: {
        int v = strcmp(t, "true") == 0;
        if (!v && strcmp(t, "false") != 0)
            return dec_fail(d, f->path, "not true or false", t);
        memcpy(p, &v, sizeof v);
        return 0;
    }
    case K_TIME: {
        core_ns v;
        if (core_time_parse_rfc3339(t, &v) != 0)
            return dec_fail(d, f->path, "not an RFC 3339 time", t);
        memcpy(p, &v, sizeof v);
        return 0;
    }
    case K_DBL: {
        char *end = NULL;
        double v = strtod(t, &end);
        if (end == t || *end || !isfinite(v))
            return dec_fail(d, f->path, "not a number", t);
        memcpy(p, &v, sizeof v);
        return 0;
    }
    default:
        return 0;
    }
}

static int dec_fields(struct dec *d, const struct aws_xml_node *el, const struct ec2_shape *s,
                      char *base)
{
    int rc = 0;
    for (size_t i = 0; i < s->nf && !rc; i++) {
        const struct ec2_field *f = &s->f[i];
        const struct aws_xml_node *n = aws_xml_path(el, f->path);
        if (f->kind == K_LIST || f->kind == K_ONE || f->kind == K_STRS) {
            if (!n && f->required)
                rc = dec_fail(d, f->path, "required element missing", NULL);
            else if (n)
                rc = f->kind == K_STRS ? dec_strings(d, n, f, base) : dec_list(d, n, f, base);
        } else {
            rc = dec_scalar(d, n, f, base);
        }
    }
    return rc;
}

/* Moves tmp's content to the end of out's. Arrays grow first, so a failed allocation leaves
 * out as it was; a string out already has (CreateFleet's fleetId) is kept. */
static int result_append(const struct ec2_shape *s, char *out, char *tmp)
{
    for (size_t i = 0; i < s->nf; i++) {
        const struct ec2_field *f = &s->f[i];
        size_t on, tn;
        char *v;
        if (f->kind != K_LIST && f->kind != K_ONE)
            continue;
        on = *count_at(out, f->off_n);
        tn = *count_at(tmp, f->off_n);
        if (!tn)
            continue;
        if (tn > SIZE_MAX / f->sub->size || on > SIZE_MAX / f->sub->size - tn)
            return CORE_E_NOMEM;
        v = core_realloc(get_ptr(out, f->off), (on + tn) * f->sub->size);
        if (!v)
            return CORE_E_NOMEM;
        set_ptr(out, f->off, v); /* count unchanged: out still holds what it held */
    }
    for (size_t i = 0; i < s->nf; i++) {
        const struct ec2_field *f = &s->f[i];
        if (f->kind == K_LIST || f->kind == K_ONE) {
            size_t *on = count_at(out, f->off_n), *tn = count_at(tmp, f->off_n);
            char *tv = get_ptr(tmp, f->off);
            if (!*tn)
                continue;
            memcpy((char *)get_ptr(out, f->off) + *on * f->sub->size, tv, *tn * f->sub->size);
            *on += *tn;
            *tn = 0;
            core_free(tv);
            set_ptr(tmp, f->off, NULL);
        } else if ((f->kind == K_STR || f->kind == K_TEXT) && !get_ptr(out, f->off)) {
            set_ptr(out, f->off, get_ptr(tmp, f->off));
            set_ptr(tmp, f->off, NULL);
        } else if (f->kind == K_I64 || f->kind == K_BOOL || f->kind == K_TIME ||
                   f->kind == K_DBL) {
            memcpy(out + f->off, tmp + f->off,
                   f->kind == K_BOOL ? sizeof(int) : sizeof(int64_t));
        }
    }
    return 0;
}

/* ---- actions --------------------------------------------------------------------------------- */

typedef void (*ec2_cb)(void);
typedef void (*ec2_deliver_fn)(ec2_cb cb, void *ud, int rc, const void *res,
                               const struct core_err *err);

struct ec2_action {
    const char *name;
    const struct ec2_shape *rs; /* the whole answer */
    ec2_deliver_fn deliver;     /* calls the action's typed callback */
    int paged;                  /* follows nextToken */
    int ack;                    /* the answer is <return>true</return> */
};

/* Typed callbacks are stored as ec2_cb and converted back to their own type before the call:
 * calling through the wrong function type would be undefined. */
#define DELIVER(name, fn_t, res_t)                                                             \
    static void name(ec2_cb cb, void *ud, int rc, const void *res,                             \
                     const struct core_err *err)                                               \
    {                                                                                          \
        ((fn_t)cb)(ud, rc, (const res_t *)res, err);                                           \
    }
DELIVER(deliver_instances, aws_ec2_instances_fn, struct aws_ec2_instances)
DELIVER(deliver_instance_types, aws_ec2_instance_types_fn, struct aws_ec2_instance_types)
DELIVER(deliver_offerings, aws_ec2_offerings_fn, struct aws_ec2_offerings)
DELIVER(deliver_subnets, aws_ec2_subnets_fn, struct aws_ec2_subnets)
DELIVER(deliver_security_groups, aws_ec2_security_groups_fn, struct aws_ec2_security_groups)
DELIVER(deliver_images, aws_ec2_images_fn, struct aws_ec2_images)
DELIVER(deliver_spot_prices, aws_ec2_spot_prices_fn, struct aws_ec2_spot_prices)
DELIVER(deliver_launch_templates, aws_ec2_launch_templates_fn, struct aws_ec2_launch_templates)
DELIVER(deliver_fleet, aws_ec2_fleet_fn, struct aws_ec2_fleet)
DELIVER(deliver_state_changes, aws_ec2_state_changes_fn, struct aws_ec2_state_changes)

static void deliver_done(ec2_cb cb, void *ud, int rc, const void *res, const struct core_err *err)
{
    (void)res;
    ((aws_ec2_done_fn)cb)(ud, rc, err);
}

static const struct ec2_action act_describe_instances = {
    "DescribeInstances", &rs_describe_instances, deliver_instances, 1, 0};
static const struct ec2_action act_describe_instance_types = {
    "DescribeInstanceTypes", &rs_instance_types, deliver_instance_types, 1, 0};
static const struct ec2_action act_describe_offerings = {
    "DescribeInstanceTypeOfferings", &rs_offerings, deliver_offerings, 1, 0};
static const struct ec2_action act_describe_subnets = {"DescribeSubnets", &rs_subnets,
                                                       deliver_subnets, 1, 0};
static const struct ec2_action act_describe_security_groups = {
    "DescribeSecurityGroups", &rs_security_groups, deliver_security_groups, 1, 0};
static const struct ec2_action act_describe_images = {"DescribeImages", &rs_images,
                                                      deliver_images, 1, 0};
static const struct ec2_action act_describe_spot = {
    "DescribeSpotPriceHistory", &rs_spot_prices, deliver_spot_prices, 1, 0};
static const struct ec2_action act_describe_lts = {
    "DescribeLaunchTemplates", &rs_launch_templates, deliver_launch_templates, 1, 0};
static const struct ec2_action act_create_lt = {"CreateLaunchTemplate", &rs_launch_template,
                                                deliver_launch_templates, 0, 0};
static const struct ec2_action act_delete_lt = {"DeleteLaunchTemplate", &rs_launch_template,
                                                deliver_launch_templates, 0, 0};
static const struct ec2_action act_create_fleet = {"CreateFleet", &rs_fleet, deliver_fleet, 0,
                                                   0};
static const struct ec2_action act_run_instances = {"RunInstances", &rs_run_instances,
                                                    deliver_instances, 0, 0};
static const struct ec2_action act_start = {"StartInstances", &rs_state_changes,
                                            deliver_state_changes, 0, 0};
static const struct ec2_action act_stop = {"StopInstances", &rs_state_changes,
                                           deliver_state_changes, 0, 0};
static const struct ec2_action act_terminate = {"TerminateInstances", &rs_state_changes,
                                                deliver_state_changes, 0, 0};
static const struct ec2_action act_modify = {"ModifyInstanceAttribute", &rs_ack, deliver_done, 0,
                                             1};
static const struct ec2_action act_create_tags = {"CreateTags", &rs_ack, deliver_done, 0, 1};

static int ec2_decode(const struct ec2_action *a, const struct aws_xml_node *root, void *out,
                      char **next_token, struct core_err *err)
{
    struct dec d = {a->name, err, "", 0};
    char want[96];
    char *tmp = NULL, *tok = NULL;
    const char *t;
    int rc = 0;

    snprintf(want, sizeof want, "%sResponse", a->name);
    if (!root || !out) {
        rc = core_err_set(err, CORE_E_INVAL, "%s: nothing to decode from or into", a->name);
        goto done;
    }
    if (strcmp(root->name, want) != 0) {
        rc = core_err_set(err, CORE_E_PARSE, "%s: expected <%s>, the answer is <%.64s>",
                          a->name, want, root->name);
        goto done;
    }
    tmp = core_calloc(1, a->rs->size);
    if (!tmp) {
        rc = dec_nomem(&d);
        goto done;
    }
    rc = dec_fields(&d, root, a->rs, tmp);
    if (rc)
        goto done;
    if (a->ack && !((struct ec2_ack *)(void *)tmp)->ok) {
        rc = core_err_set(err, CORE_E_SERVICE, "%s: the service answered return=false", a->name);
        goto done;
    }
    t = aws_xml_child_text(root, "nextToken");
    if (next_token && t && *t && !(tok = core_strdup(t))) {
        rc = dec_nomem(&d);
        goto done;
    }
    if (result_append(a->rs, out, tmp) != 0) {
        rc = dec_nomem(&d);
        goto done;
    }
    if (next_token) {
        *next_token = tok;
        tok = NULL;
    }
done:
    core_free(tok);
    if (tmp)
        shape_cleanup(a->rs, tmp);
    core_free(tmp);
    return rc;
}

int aws_ec2_describe_instances_decode(const struct aws_xml_node *root,
                                      struct aws_ec2_instances *out, char **next_token,
                                      struct core_err *err)
{
    return ec2_decode(&act_describe_instances, root, out, next_token, err);
}
int aws_ec2_describe_instance_types_decode(const struct aws_xml_node *root,
                                           struct aws_ec2_instance_types *out,
                                           char **next_token, struct core_err *err)
{
    return ec2_decode(&act_describe_instance_types, root, out, next_token, err);
}
int aws_ec2_describe_instance_type_offerings_decode(const struct aws_xml_node *root,
                                                    struct aws_ec2_offerings *out,
                                                    char **next_token, struct core_err *err)
{
    return ec2_decode(&act_describe_offerings, root, out, next_token, err);
}
int aws_ec2_describe_subnets_decode(const struct aws_xml_node *root, struct aws_ec2_subnets *out,
                                    char **next_token, struct core_err *err)
{
    return ec2_decode(&act_describe_subnets, root, out, next_token, err);
}
int aws_ec2_describe_security_groups_decode(const struct aws_xml_node *root,
                                            struct aws_ec2_security_groups *out,
                                            char **next_token, struct core_err *err)
{
    return ec2_decode(&act_describe_security_groups, root, out, next_token, err);
}
int aws_ec2_describe_images_decode(const struct aws_xml_node *root, struct aws_ec2_images *out,
                                   char **next_token, struct core_err *err)
{
    return ec2_decode(&act_describe_images, root, out, next_token, err);
}
int aws_ec2_describe_spot_price_history_decode(const struct aws_xml_node *root,
                                               struct aws_ec2_spot_prices *out,
                                               char **next_token, struct core_err *err)
{
    return ec2_decode(&act_describe_spot, root, out, next_token, err);
}
int aws_ec2_describe_launch_templates_decode(const struct aws_xml_node *root,
                                             struct aws_ec2_launch_templates *out,
                                             char **next_token, struct core_err *err)
{
    return ec2_decode(&act_describe_lts, root, out, next_token, err);
}
int aws_ec2_create_launch_template_decode(const struct aws_xml_node *root,
                                          struct aws_ec2_launch_templates *out,
                                          struct core_err *err)
{
    return ec2_decode(&act_create_lt, root, out, NULL, err);
}
int aws_ec2_delete_launch_template_decode(const struct aws_xml_node *root,
                                          struct aws_ec2_launch_templates *out,
                                          struct core_err *err)
{
    return ec2_decode(&act_delete_lt, root, out, NULL, err);
}
int aws_ec2_create_fleet_decode(const struct aws_xml_node *root, struct aws_ec2_fleet *out,
                                struct core_err *err)
{
    return ec2_decode(&act_create_fleet, root, out, NULL, err);
}
int aws_ec2_run_instances_decode(const struct aws_xml_node *root, struct aws_ec2_instances *out,
                                 struct core_err *err)
{
    return ec2_decode(&act_run_instances, root, out, NULL, err);
}
int aws_ec2_start_instances_decode(const struct aws_xml_node *root,
                                   struct aws_ec2_state_changes *out, struct core_err *err)
{
    return ec2_decode(&act_start, root, out, NULL, err);
}
int aws_ec2_stop_instances_decode(const struct aws_xml_node *root,
                                  struct aws_ec2_state_changes *out, struct core_err *err)
{
    return ec2_decode(&act_stop, root, out, NULL, err);
}
int aws_ec2_terminate_instances_decode(const struct aws_xml_node *root,
                                       struct aws_ec2_state_changes *out, struct core_err *err)
{
    return ec2_decode(&act_terminate, root, out, NULL, err);
}
int aws_ec2_modify_instance_attribute_decode(const struct aws_xml_node *root,
                                             struct core_err *err)
{
    struct ec2_ack ack = {0};
    return ec2_decode(&act_modify, root, &ack, NULL, err);
}
int aws_ec2_create_tags_decode(const struct aws_xml_node *root, struct core_err *err)
{
    struct ec2_ack ack = {0};
    return ec2_decode(&act_create_tags, root, &ack, NULL, err);
}

/* ============================================================================================ */
/* Calls                                                                                         */
/* ============================================================================================ */

/* One call in flight: everything it needs after the caller's function returned. */
struct ec2_call {
    struct aws_client *c;
    const struct ec2_action *a;
    struct aws_query q; /* the encoded request: owns copies of every request string */
    unsigned flags;
    unsigned max_pages;
    unsigned pages; /* answers decoded so far */
    char *res;      /* a->rs->size bytes: the merged result */
    ec2_cb cb;
    void *ud;
};

static void call_free(struct ec2_call *k)
{
    if (!k)
        return;
    aws_query_cleanup(&k->q);
    if (k->res)
        shape_cleanup(k->a->rs, k->res);
    core_free(k->res);
    core_free(k);
}

static void on_answer(void *ud, int rc, const struct aws_xml_node *root,
                      const struct core_err *err);

/* Sends the stored request once more with NextToken, then takes it off again so the stored
 * form stays the caller's request. */
static int call_next_page(struct ec2_call *k, const char *token, struct core_err *err)
{
    int rc = aws_query_add(&k->q, "NextToken", token);
    if (rc)
        return core_err_set(err, rc, "%s: out of memory for the next page", k->a->name);
    rc = aws_query_call(k->c, AWS_SVC_EC2, &k->q, k->flags, on_answer, k, err);
    k->q.n--;
    core_free(k->q.names[k->q.n]);
    core_free(k->q.values[k->q.n]);
    return rc;
}

static void on_answer(void *ud, int rc, const struct aws_xml_node *root,
                      const struct core_err *err)
{
    struct ec2_call *k = ud;
    struct core_err e;
    char *tok = NULL;

    core_err_clear(&e);
    if (rc) {
        k->a->deliver(k->cb, k->ud, rc, NULL, err);
        call_free(k);
        return;
    }
    rc = ec2_decode(k->a, root, k->res, k->a->paged ? &tok : NULL, &e);
    if (!rc && tok) {
        if (++k->pages >= k->max_pages)
            rc = core_err_set(&e, CORE_E_TOOBIG, "%s: more than %u pages of results", k->a->name,
                              k->max_pages);
        else if ((rc = call_next_page(k, tok, &e)) == 0) {
            core_free(tok);
            return; /* the next answer comes back here */
        }
    }
    core_free(tok);
    k->a->deliver(k->cb, k->ud, rc, rc ? NULL : k->res, rc ? &e : NULL);
    call_free(k);
}

/* Takes over the encoded request q (leaving it empty) and starts the call. */
static int ec2_start(struct aws_client *c, const struct ec2_action *a, struct aws_query *q,
                     unsigned flags, unsigned max_pages, ec2_cb cb, void *ud,
                     struct core_err *err)
{
    struct ec2_call *k;
    int rc;

    if (!c || !cb)
        return core_err_set(err, CORE_E_INVAL, "%s: a client and a callback are required",
                            a->name);
    k = core_calloc(1, sizeof *k);
    if (!k || !(k->res = core_calloc(1, a->rs->size))) {
        core_free(k);
        return core_err_set(err, CORE_E_NOMEM, "%s: out of memory", a->name);
    }
    k->c = c;
    k->a = a;
    k->q = *q;
    aws_query_init(q);
    k->flags = flags;
    k->max_pages = max_pages ? max_pages : AWS_EC2_MAX_PAGES_DEFAULT;
    k->cb = cb;
    k->ud = ud;
    rc = aws_query_call(c, AWS_SVC_EC2, &k->q, flags, on_answer, k, err);
    if (rc)
        call_free(k);
    return rc;
}

/* The public calls: encode (validating), then start. The request is not read afterwards. */
#define EC2_CALL(fn, act, req_t, cb_t, encode_args, flags, pages)                              \
    int aws_ec2_##fn(struct aws_client *c, const struct req_t *req, cb_t cb, void *ud,         \
                     struct core_err *err)                                                     \
    {                                                                                          \
        struct aws_query q;                                                                    \
        int rc;                                                                                \
        aws_query_init(&q);                                                                    \
        rc = aws_ec2_##fn##_encode encode_args;                                                \
        if (!rc)                                                                               \
            rc = ec2_start(c, &act, &q, (flags), (pages), (ec2_cb)cb, ud, err);                \
        aws_query_cleanup(&q);                                                                 \
        return rc;                                                                             \
    }
#define PAGED(fn, act, req_t, cb_t, flags)                                                     \
    EC2_CALL(fn, act, req_t, cb_t, (req, NULL, &q, err), flags, req->max_pages)
#define SINGLE(fn, act, req_t, cb_t) EC2_CALL(fn, act, req_t, cb_t, (req, &q, err), 0, 1)

PAGED(describe_instances, act_describe_instances, aws_ec2_describe_instances_req,
      aws_ec2_instances_fn, req->retry_not_found ? AWS_CALL_RETRY_NOT_FOUND : 0)
PAGED(describe_instance_types, act_describe_instance_types, aws_ec2_describe_instance_types_req,
      aws_ec2_instance_types_fn, 0)
PAGED(describe_instance_type_offerings, act_describe_offerings,
      aws_ec2_describe_instance_type_offerings_req, aws_ec2_offerings_fn, 0)
PAGED(describe_subnets, act_describe_subnets, aws_ec2_describe_subnets_req, aws_ec2_subnets_fn,
      0)
PAGED(describe_security_groups, act_describe_security_groups,
      aws_ec2_describe_security_groups_req, aws_ec2_security_groups_fn, 0)
PAGED(describe_images, act_describe_images, aws_ec2_describe_images_req, aws_ec2_images_fn, 0)
PAGED(describe_spot_price_history, act_describe_spot, aws_ec2_describe_spot_price_history_req,
      aws_ec2_spot_prices_fn, 0)
PAGED(describe_launch_templates, act_describe_lts, aws_ec2_describe_launch_templates_req,
      aws_ec2_launch_templates_fn, 0)
SINGLE(create_launch_template, act_create_lt, aws_ec2_create_launch_template_req,
       aws_ec2_launch_templates_fn)
SINGLE(delete_launch_template, act_delete_lt, aws_ec2_delete_launch_template_req,
       aws_ec2_launch_templates_fn)
SINGLE(create_fleet, act_create_fleet, aws_ec2_create_fleet_req, aws_ec2_fleet_fn)
SINGLE(run_instances, act_run_instances, aws_ec2_run_instances_req, aws_ec2_instances_fn)
SINGLE(start_instances, act_start, aws_ec2_start_instances_req, aws_ec2_state_changes_fn)
SINGLE(stop_instances, act_stop, aws_ec2_stop_instances_req, aws_ec2_state_changes_fn)
SINGLE(terminate_instances, act_terminate, aws_ec2_terminate_instances_req,
       aws_ec2_state_changes_fn)
SINGLE(modify_instance_attribute, act_modify, aws_ec2_modify_instance_attribute_req,
       aws_ec2_done_fn)
SINGLE(create_tags, act_create_tags, aws_ec2_create_tags_req, aws_ec2_done_fn)
