/*
 * sim/ec2_describe.c — the emulated EC2 Describe* actions: request parsing (id lists, filters,
 * MaxResults, NextToken), matching, pagination and the XML renderers of instances, instance
 * types, offerings, subnets, security groups, images, spot prices, launch templates and zones.
 * The element names and nesting are AWS's (the 2016-11-15 Query API), which is also what
 * aws/ec2.c decodes.
 *
 * Invariants:
 *  - Every input is untrusted: lists, filters and tokens are bounded, numbers parsed strictly,
 *    and a value quoted in an error message is cut to a few dozen bytes.
 *  - A handler validates everything before sim_ec2_begin, so it either fails with nothing
 *    written or writes one complete document.
 *  - Pagination walks a stable order (instances in launch order, everything else in its array
 *    order, offerings and spot prices as type × zone). A NextToken carries the position after
 *    the last item returned, the id of that item for collections that can shrink (instances
 *    age out, launch templates are deleted), and a checksum over both, the action and the
 *    request's other parameters, so a forged, truncated or foreign token is refused. Items
 *    added later land after every position already handed out, so concurrent launches never
 *    make a page repeat or skip an older item.
 *  - Instances that sim_instance_visible() hides (the consistency fault) are absent from every
 *    answer, and naming one explicitly is InvalidInstanceID.NotFound, as on AWS.
 */
#include "sim/internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IDS_MAX 1000u        /* explicit ids / names / types in one request */
#define TOKEN_MAX 200u       /* longest NextToken accepted */
#define QUOTE "%.64s"        /* how much of an untrusted value an error message repeats */
#define TOKEN_SALT UINT32_C(0x5f3759df)

/* ============================================================================================ */
/* Small helpers                                                                                 */
/* ============================================================================================ */

static int nomem(struct sim_ec2_ctx *c)
{
    return sim_ec2_fail(c, 500, "InternalError", "An internal error has occurred");
}

static int bad_value(struct sim_ec2_ctx *c, const char *fmt, ...) CORE_PRINTF(2, 3);
static int bad_value(struct sim_ec2_ctx *c, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sim_ec2_fail(c, 400, "InvalidParameterValue", "%s", msg);
}

static uint32_t fnv32(uint32_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= UINT32_C(16777619);
    }
    return h;
}

static uint32_t fnv32s(uint32_t h, const char *s)
{
    return fnv32(h, s, strlen(s) + 1); /* the NUL separates fields */
}

/* A positive decimal index without a leading zero, at most 9 digits; 0 when not one. */
static size_t parse_index(const char *s, const char **end)
{
    size_t v = 0, n = 0;
    if (*s < '1' || *s > '9')
        return 0;
    while (s[n] >= '0' && s[n] <= '9') {
        if (n == 9)
            return 0;
        v = v * 10 + (size_t)(s[n] - '0');
        n++;
    }
    *end = s + n;
    return v;
}

/* "prefix-" followed by 8 or 17 lowercase hex digits, as EC2 ids are. */
static int id_well_formed(const char *s, const char *prefix)
{
    size_t plen = strlen(prefix), n = 0;
    if (strncmp(s, prefix, plen) != 0)
        return 0;
    for (s += plen; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return 0;
    return n == 8 || n == 17;
}

/* Values of prefix.N (N = 1, 2, ...; in the order sent, gaps allowed), at most max. */
static int query_list(struct sim_ec2_ctx *c, const char *prefix, const char **out, size_t max,
                      size_t *n)
{
    size_t plen = strlen(prefix), k = 0;
    for (size_t i = 0; i < c->q->n; i++) {
        const char *name = c->q->names[i], *end = NULL;
        if (strncmp(name, prefix, plen) != 0 || name[plen] != '.')
            continue;
        if (!parse_index(name + plen + 1, &end) || *end)
            continue;
        if (k == max)
            return sim_ec2_fail(c, 400, "InvalidParameterValue",
                                "%s: at most %zu values may be given", prefix, max);
        out[k++] = c->q->values[i];
    }
    *n = k;
    return 0;
}

/* A set of strings for "was this id named?" (NULL = nothing was named). */
static int idset_build(struct sim_ec2_ctx *c, const char *const *ids, size_t n,
                       struct core_map **out)
{
    struct core_map *m;
    *out = NULL;
    if (!n)
        return 0;
    m = core_map_new();
    if (!m)
        return nomem(c);
    for (size_t i = 0; i < n; i++)
        if (core_map_set(m, ids[i], (void *)ids[i], NULL) != 0) {
            core_map_free(m);
            return nomem(c);
        }
    *out = m;
    return 0;
}

static int idset_has(const struct core_map *m, const char *id)
{
    return m && core_map_get(m, id, NULL) != NULL;
}

/* Appends "a, b, c" to a message buffer, bounded. */
static void list_append(char *buf, size_t sz, const char *item)
{
    size_t len = strlen(buf);
    if (len + 1 >= sz)
        return;
    snprintf(buf + len, sz - len, "%s" QUOTE, len ? ", " : "", item);
}

/* Optional boolean parameter: -1 absent, 0/1, or an error answered. */
static int query_bool(struct sim_ec2_ctx *c, const char *name, int *out)
{
    const char *v = aws_query_get(c->q, name);
    *out = -1;
    if (!v)
        return 0;
    if (strcmp(v, "true") == 0)
        *out = 1;
    else if (strcmp(v, "false") == 0)
        *out = 0;
    else
        return sim_ec2_fail(c, 400, "InvalidParameterValue",
                            "Invalid value '" QUOTE "' for %s: expecting true or false", v, name);
    return 0;
}

static const char *zone_name(const struct sim_aws *a, int z)
{
    return z >= 0 && (size_t)z < a->nzones ? a->zones[z].name : NULL;
}

static const char *zone_id(const struct sim_aws *a, int z)
{
    return z >= 0 && (size_t)z < a->nzones ? a->zones[z].id : NULL;
}

/* EC2's time format (as sim_xml_time writes it), for filters that match on times. */
static const char *format_time(core_ns wall, char *buf, size_t sz)
{
    struct tm tm;
    int64_t secs = wall / CORE_NS_PER_S, ms = (wall % CORE_NS_PER_S) / CORE_NS_PER_MS;
    time_t t;
    if (ms < 0) {
        ms += 1000;
        secs--;
    }
    t = (time_t)secs;
    if (!gmtime_r(&t, &tm))
        return NULL;
    snprintf(buf, sz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
    return buf;
}

static void xml_empty(struct sim_xml *x, const char *name)
{
    sim_xml_open(x, name);
    sim_xml_close(x);
}

/* ============================================================================================ */
/* Wildcards and filters                                                                         */
/* ============================================================================================ */

static size_t utf8_len(unsigned char c)
{
    if (c >= 0xF0 && c <= 0xF4)
        return 4;
    if (c >= 0xE0)
        return 3;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    return 1;
}

/* Greedy matching with one backtrack point (the last '*'): linear in practice and never
 * recursive, so a hostile pattern cannot blow the stack. '?' takes one UTF-8 character. */
int sim_wildcard_match(const char *pattern, const char *value)
{
    const char *p = pattern, *v = value, *star_p = NULL, *star_v = NULL;
    if (!pattern || !value)
        return 0;
    while (*v) {
        if (*p == '*') {
            while (*p == '*')
                p++;
            star_p = p;
            star_v = v;
            continue;
        }
        if (*p == '?') {
            size_t n = utf8_len((unsigned char)*v);
            for (size_t i = 0; i < n && *v; i++)
                v++;
            p++;
            continue;
        }
        if (*p) {
            const char *lit = p;
            if (*p == '\\' && p[1])
                lit = p + 1;
            if (*lit == *v) {
                p = lit + 1;
                v++;
                continue;
            }
        }
        if (!star_p)
            return 0;
        p = star_p;
        v = ++star_v;
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

int sim_filter_values_match(const struct sim_filter *f, const char *value)
{
    if (!f || !value)
        return 0;
    for (size_t i = 0; i < f->nvalues; i++)
        if (f->values[i] && sim_wildcard_match(f->values[i], value))
            return 1;
    return 0;
}

int sim_filter_tags(const struct sim_filter *f, const struct aws_ec2_tags *tags)
{
    size_t n = tags ? tags->n : 0;
    if (!f || !f->name)
        return -1;
    if (strncmp(f->name, "tag:", 4) == 0) {
        for (size_t i = 0; i < n; i++)
            if (tags->v[i].key && strcmp(tags->v[i].key, f->name + 4) == 0)
                return sim_filter_values_match(f, tags->v[i].value ? tags->v[i].value : "");
        return 0;
    }
    if (strcmp(f->name, "tag-key") == 0 || strcmp(f->name, "tag-value") == 0) {
        int key = f->name[4] == 'k';
        for (size_t i = 0; i < n; i++) {
            const char *s = key ? tags->v[i].key : tags->v[i].value;
            if (sim_filter_values_match(f, s ? s : ""))
                return 1;
        }
        return 0;
    }
    return -1;
}

int sim_filters_parse(struct sim_ec2_ctx *c, struct sim_filters *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < c->q->n; i++) {
        const char *name = c->q->names[i], *p = NULL;
        size_t n, m;
        struct sim_filter *f;
        if (strncmp(name, "Filter.", 7) != 0)
            continue;
        n = parse_index(name + 7, &p);
        if (!n || *p != '.')
            return bad_value(c, "The parameter '" QUOTE "' is not a filter's Name or Value",
                             name);
        if (n > SIM_FILTERS_MAX)
            return sim_ec2_fail(c, 400, "InvalidParameterValue",
                                "At most %u filters may be given", SIM_FILTERS_MAX);
        f = &out->f[n - 1];
        p++;
        if (strcmp(p, "Name") == 0) {
            f->name = c->q->values[i];
            continue;
        }
        if (strncmp(p, "Value.", 6) != 0 || !(m = parse_index(p + 6, &p)) || *p)
            return bad_value(c, "The parameter '" QUOTE "' is not a filter's Name or Value",
                             name);
        if (m > SIM_FILTER_VALUES_MAX)
            return sim_ec2_fail(c, 400, "InvalidParameterValue",
                                "At most %u values may be given for one filter",
                                SIM_FILTER_VALUES_MAX);
        f->values[m - 1] = c->q->values[i];
        if (m > f->nvalues)
            f->nvalues = m;
    }
    /* Compact to the filters given, in index order; each needs a name and every value. */
    for (size_t i = 0; i < SIM_FILTERS_MAX; i++) {
        struct sim_filter *f = &out->f[i];
        if (!f->name && !f->nvalues)
            continue;
        if (!f->name || !*f->name)
            return sim_ec2_fail(c, 400, "InvalidParameterValue", "Filter.%zu has no Name",
                                i + 1);
        if (!f->nvalues)
            return bad_value(c, "The filter '" QUOTE "' has no values", f->name);
        for (size_t j = 0; j < f->nvalues; j++)
            if (!f->values[j])
                return sim_ec2_fail(c, 400, "InvalidParameterValue",
                                    "Filter.%zu.Value.%zu is missing", i + 1, j + 1);
        if (out->n != i)
            out->f[out->n] = *f;
        out->n++;
    }
    return 0;
}

/* Refuses a filter name the action does not support, naming it, as EC2 does. */
static int filters_check(struct sim_ec2_ctx *c, const struct sim_filters *fs,
                         const char *const *known, int tags)
{
    for (size_t i = 0; i < fs->n; i++) {
        const char *name = fs->f[i].name;
        int ok = tags && (strcmp(name, "tag-key") == 0 || strcmp(name, "tag-value") == 0 ||
                          (strncmp(name, "tag:", 4) == 0 && name[4]));
        for (const char *const *k = known; !ok && *k; k++)
            ok = strcmp(*k, name) == 0;
        if (!ok)
            return bad_value(c, "The filter '" QUOTE "' is invalid", name);
    }
    return 0;
}

/* The value an object has for a (non-tag) filter, or NULL when it has none. */
typedef const char *(*field_fn)(const struct sim_aws *a, const void *obj, const char *filter,
                                char *buf, size_t bufsz);

static int filters_match(const struct sim_aws *a, const struct sim_filters *fs, field_fn get,
                         const void *obj, const struct aws_ec2_tags *tags)
{
    char buf[64];
    for (size_t i = 0; i < fs->n; i++) {
        const struct sim_filter *f = &fs->f[i];
        int t = tags ? sim_filter_tags(f, tags) : -1;
        if (t == 0)
            return 0;
        if (t == 1)
            continue;
        if (!sim_filter_values_match(f, get(a, obj, f->name, buf, sizeof buf)))
            return 0;
    }
    return 1;
}

static const char *bool_str(int v)
{
    return v ? "true" : "false";
}

/* ============================================================================================ */
/* Pagination                                                                                    */
/* ============================================================================================ */

struct page {
    const char *kind; /* token prefix: the action's short name */
    int64_t max;      /* items per page; 0 = all */
    size_t start;     /* position to scan from */
    char anchor[SIM_ID_MAX]; /* from the token: id of the last item of the previous page */
    uint32_t fp;      /* the request's parameters other than NextToken and MaxResults */
    size_t count;     /* items written */
    size_t next;      /* position after the last item written */
    char last[SIM_ID_MAX]; /* id of the last item written (shrinking collections) */
    int more;         /* a further item matches beyond this page */
};

static uint32_t request_fingerprint(const struct aws_query *q)
{
    uint32_t h = UINT32_C(2166136261);
    for (size_t i = 0; i < q->n; i++) {
        if (strcmp(q->names[i], "NextToken") == 0 || strcmp(q->names[i], "MaxResults") == 0)
            continue;
        h = fnv32s(h, q->names[i]);
        h = fnv32s(h, q->values[i]);
    }
    return h;
}

static uint32_t token_check(const struct page *pg, size_t off, const char *anchor)
{
    char num[24];
    uint32_t h = fnv32(UINT32_C(2166136261) ^ TOKEN_SALT, &pg->fp, sizeof pg->fp);
    snprintf(num, sizeof num, "%zx", off);
    h = fnv32s(h, pg->kind);
    h = fnv32s(h, num);
    return fnv32s(h, anchor);
}

/* Reads MaxResults (lo..hi; dflt when absent) and NextToken. */
static int page_begin(struct sim_ec2_ctx *c, struct page *pg, const char *kind, int64_t lo,
                      int64_t hi, int64_t dflt)
{
    const char *mr = aws_query_get(c->q, "MaxResults");
    const char *tok = aws_query_get(c->q, "NextToken");

    memset(pg, 0, sizeof *pg);
    pg->kind = kind;
    pg->max = dflt;
    pg->fp = request_fingerprint(c->q);
    if (mr) {
        int64_t v;
        if (core_parse_i64(mr, INT64_MIN, INT64_MAX, &v) != 0)
            return bad_value(c, "Invalid value '" QUOTE "' for MaxResults", mr);
        if (v < lo || v > hi)
            return sim_ec2_fail(c, 400, "InvalidParameterValue",
                                "Value ( %" PRId64 " ) for parameter maxResults is invalid. "
                                "Expecting a value between %" PRId64 " and %" PRId64 ".",
                                v, lo, hi);
        pg->max = v;
    }
    if (tok && *tok) {
        /* kind "." offset-hex "." anchor "." check-hex; the anchor has no dots. */
        char buf[TOKEN_MAX + 1], *off, *anchor, *check, *end = NULL;
        unsigned long long o, k;
        size_t klen = strlen(kind), len = strlen(tok);
        if (len > TOKEN_MAX || strncmp(tok, kind, klen) != 0 || tok[klen] != '.')
            return bad_value(c, "Invalid NextToken '" QUOTE "'", tok);
        core_strlcpy(buf, tok + klen + 1, sizeof buf);
        off = buf;
        anchor = strchr(off, '.');
        check = anchor ? strchr(anchor + 1, '.') : NULL;
        if (!anchor || !check || strchr(check + 1, '.'))
            return bad_value(c, "Invalid NextToken '" QUOTE "'", tok);
        *anchor++ = '\0';
        *check++ = '\0';
        if (!*off || !*check || strlen(anchor) >= sizeof pg->anchor)
            return bad_value(c, "Invalid NextToken '" QUOTE "'", tok);
        o = strtoull(off, &end, 16);
        if (*end || off[0] == '-' || off[0] == '+' || o > SIZE_MAX / 2)
            return bad_value(c, "Invalid NextToken '" QUOTE "'", tok);
        k = strtoull(check, &end, 16);
        if (*end || check[0] == '-' || check[0] == '+' ||
            k != token_check(pg, (size_t)o, anchor))
            return bad_value(c, "Invalid NextToken '" QUOTE "'", tok);
        pg->start = (size_t)o;
        core_strlcpy(pg->anchor, anchor, sizeof pg->anchor);
    }
    return 0;
}

/* 1 when the page is full (and there is a further item: the caller found one). */
static int page_full(struct page *pg)
{
    if (pg->max > 0 && pg->count >= (uint64_t)pg->max) {
        pg->more = 1;
        return 1;
    }
    return 0;
}

static void page_took(struct page *pg, size_t pos, const char *id)
{
    pg->count++;
    pg->next = pos + 1;
    if (id)
        core_strlcpy(pg->last, id, sizeof pg->last);
}

static void page_end(struct sim_xml *x, const struct page *pg)
{
    char tok[TOKEN_MAX + 1];
    if (!pg->more)
        return;
    snprintf(tok, sizeof tok, "%s.%zx.%s.%08" PRIx32, pg->kind, pg->next, pg->last,
             token_check(pg, pg->next, pg->last));
    sim_xml_text(x, "nextToken", tok);
}

/* Where to resume in a collection that only grows at its end but may lose items: right after
 * the anchor when it is still there, else the old position (clamped). */
typedef const char *(*id_at_fn)(const struct sim_aws *a, size_t i);

static size_t page_resume(const struct sim_aws *a, const struct page *pg, size_t n,
                          id_at_fn id_at)
{
    if (!pg->anchor[0])
        return pg->start < n ? pg->start : n;
    if (pg->start >= 1 && pg->start <= n && strcmp(id_at(a, pg->start - 1), pg->anchor) == 0)
        return pg->start;
    for (size_t i = 0; i < n; i++)
        if (strcmp(id_at(a, i), pg->anchor) == 0)
            return i + 1;
    return pg->start < n ? pg->start : n;
}

/* ============================================================================================ */
/* Shared renderers                                                                              */
/* ============================================================================================ */

static void xml_state(struct sim_xml *x, const char *name, int code)
{
    sim_xml_open(x, name);
    sim_xml_i64(x, "code", code);
    sim_xml_text(x, "name", sim_istate_name(code));
    sim_xml_close(x);
}

static uint64_t fnv64(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static int image_is_windows(const struct sim_image *img)
{
    return img && (img->family == SIM_AMI_WINDOWS2019 || img->family == SIM_AMI_WINDOWS2022 ||
                   img->family == SIM_AMI_WINDOWS2025);
}

static const char *instance_arch(const struct sim_instance *i)
{
    if (i->image && i->image->arch)
        return i->image->arch;
    if (i->type && i->type->t->ec2_arch && *i->type->t->ec2_arch)
        return i->type->t->ec2_arch;
    return NULL;
}

/* <item> of an instancesSet: everything aws_ec2_instance decodes plus what the AWS CLI and
 * SDKs expect to find. */
void sim_xml_instance(struct sim_xml *x, const struct sim_aws *a, const struct sim_instance *i)
{
    const struct sim_image *img = i->image;
    char buf[64];

    sim_xml_open(x, "item");
    sim_xml_text(x, "instanceId", i->id);
    sim_xml_text(x, "imageId", img ? img->id : NULL);
    xml_state(x, "instanceState", i->state);
    sim_xml_text(x, "privateDnsName", i->private_dns);
    sim_xml_text(x, "dnsName", "");
    sim_xml_text(x, "reason", i->reason);
    sim_xml_text(x, "keyName", i->key_name);
    sim_xml_i64(x, "amiLaunchIndex", 0);
    xml_empty(x, "productCodes");
    sim_xml_text(x, "instanceType", i->type ? i->type->t->name : NULL);
    sim_xml_time(x, "launchTime", i->launch_wall);
    sim_xml_open(x, "placement");
    sim_xml_text(x, "availabilityZone", i->subnet ? zone_name(a, i->subnet->zone) : NULL);
    sim_xml_text(x, "groupName", "");
    sim_xml_text(x, "tenancy", "default");
    sim_xml_close(x);
    if (image_is_windows(img))
        sim_xml_text(x, "platform", "windows");
    sim_xml_open(x, "monitoring");
    sim_xml_text(x, "state", "disabled");
    sim_xml_close(x);
    sim_xml_text(x, "subnetId", i->subnet ? i->subnet->id : NULL);
    sim_xml_text(x, "vpcId", a->vpc_id);
    if (i->private_ip[0])
        sim_xml_text(x, "privateIpAddress", i->private_ip);
    sim_xml_bool(x, "sourceDestCheck", 1);
    sim_xml_open(x, "groupSet");
    for (size_t k = 0; k < i->nsg; k++) {
        const struct sim_sg *sg = sim_sg_find(a, i->sg_ids[k]);
        sim_xml_open(x, "item");
        sim_xml_text(x, "groupId", i->sg_ids[k]);
        sim_xml_text(x, "groupName", sg ? sg->name : "");
        sim_xml_close(x);
    }
    sim_xml_close(x);
    if (i->reason_code[0]) {
        sim_xml_open(x, "stateReason");
        sim_xml_text(x, "code", i->reason_code);
        sim_xml_text(x, "message", i->reason_message[0] ? i->reason_message : i->reason_code);
        sim_xml_close(x);
    }
    sim_xml_text(x, "architecture", instance_arch(i));
    sim_xml_text(x, "rootDeviceType", "ebs");
    sim_xml_text(x, "rootDeviceName", img && img->root_device ? img->root_device : "/dev/xvda");
    if (i->spot) {
        sim_xml_text(x, "instanceLifecycle", "spot");
        snprintf(buf, sizeof buf, "sir-%08" PRIx32, (uint32_t)fnv64(i->id));
        sim_xml_text(x, "spotInstanceRequestId", buf);
    }
    sim_xml_text(x, "virtualizationType", "hvm");
    sim_xml_text(x, "clientToken", i->client_token ? i->client_token : "");
    sim_xml_tags(x, &i->tags);
    /* EC2 reports "xen" for Nitro instances too. */
    sim_xml_text(x, "hypervisor", "xen");
    if (i->profile_arn && *i->profile_arn) {
        sim_xml_open(x, "iamInstanceProfile");
        sim_xml_text(x, "arn", i->profile_arn);
        snprintf(buf, sizeof buf, "AIPA%016" PRIX64, fnv64(i->profile_arn));
        sim_xml_text(x, "id", buf);
        sim_xml_close(x);
    }
    sim_xml_bool(x, "ebsOptimized", i->type && i->type->t->ebs_bandwidth_mbps > 0);
    sim_xml_bool(x, "enaSupport", 1);
    sim_xml_open(x, "hibernationOptions");
    sim_xml_bool(x, "configured", i->hibernation_configured);
    sim_xml_close(x);
    sim_xml_text(x, "platformDetails", img && img->platform_details ? img->platform_details
                                                                     : "Linux/UNIX");
    sim_xml_text(x, "usageOperation", image_is_windows(img) ? "RunInstances:0002"
                                                            : "RunInstances");
    sim_xml_close(x);
}

void sim_xml_state_change(struct sim_xml *x, const char *id, int previous, int current)
{
    sim_xml_open(x, "item");
    sim_xml_text(x, "instanceId", id);
    xml_state(x, "currentState", current);
    xml_state(x, "previousState", previous);
    sim_xml_close(x);
}

/* The template's fields only: DescribeLaunchTemplates wraps them in <item>, Create/Delete in
 * <launchTemplate>. */
void sim_xml_launch_template(struct sim_xml *x, const struct sim_lt *lt)
{
    sim_xml_time(x, "createTime", lt->created);
    sim_xml_i64(x, "defaultVersionNumber", lt->default_version);
    sim_xml_i64(x, "latestVersionNumber", lt->latest_version);
    sim_xml_text(x, "launchTemplateId", lt->id);
    sim_xml_text(x, "launchTemplateName", lt->name);
    sim_xml_tags(x, &lt->tags);
}

/* ============================================================================================ */
/* DescribeInstances                                                                             */
/* ============================================================================================ */

static const char *const instance_filters[] = {
    "instance-id", "instance-state-name", "instance-state-code", "instance-type",
    "availability-zone", "subnet-id", "vpc-id", "image-id", "private-ip-address",
    "private-dns-name", "client-token", "instance-lifecycle", "reservation-id", "key-name",
    "architecture", "iam-instance-profile.arn", "hibernation-options.configured", NULL};

static const char *instance_field(const struct sim_aws *a, const void *obj, const char *f,
                                  char *buf, size_t sz)
{
    const struct sim_instance *i = obj;
    if (strcmp(f, "instance-id") == 0)
        return i->id;
    if (strcmp(f, "instance-state-name") == 0)
        return sim_istate_name(i->state);
    if (strcmp(f, "instance-state-code") == 0) {
        snprintf(buf, sz, "%d", i->state);
        return buf;
    }
    if (strcmp(f, "instance-type") == 0)
        return i->type ? i->type->t->name : NULL;
    if (strcmp(f, "availability-zone") == 0)
        return i->subnet ? zone_name(a, i->subnet->zone) : NULL;
    if (strcmp(f, "subnet-id") == 0)
        return i->subnet ? i->subnet->id : NULL;
    if (strcmp(f, "vpc-id") == 0)
        return a->vpc_id;
    if (strcmp(f, "image-id") == 0)
        return i->image ? i->image->id : NULL;
    if (strcmp(f, "private-ip-address") == 0)
        return i->private_ip[0] ? i->private_ip : NULL;
    if (strcmp(f, "private-dns-name") == 0)
        return i->private_dns[0] ? i->private_dns : NULL;
    if (strcmp(f, "client-token") == 0)
        return i->client_token;
    if (strcmp(f, "instance-lifecycle") == 0)
        return i->spot ? "spot" : NULL; /* on-demand instances have no lifecycle on EC2 */
    if (strcmp(f, "reservation-id") == 0)
        return i->reservation_id;
    if (strcmp(f, "key-name") == 0)
        return i->key_name;
    if (strcmp(f, "architecture") == 0)
        return instance_arch(i);
    if (strcmp(f, "iam-instance-profile.arn") == 0)
        return i->profile_arn;
    if (strcmp(f, "hibernation-options.configured") == 0)
        return bool_str(i->hibernation_configured);
    return NULL;
}

static const char *instance_id_at(const struct sim_aws *a, size_t i)
{
    return a->instances[i]->id;
}

int sim_ec2_describe_instances(struct sim_ec2_ctx *c)
{
    struct sim_aws *a = c->a;
    const char *ids[IDS_MAX];
    char missing[400] = "";
    size_t nids = 0, nmissing = 0, start;
    struct sim_filters fs;
    struct core_map *named = NULL;
    struct page pg;
    const char *open_rid = NULL;
    int rc;

    if ((rc = query_list(c, "InstanceId", ids, IDS_MAX, &nids)) != 0)
        return rc;
    if (nids && aws_query_get(c->q, "MaxResults"))
        return sim_ec2_fail(c, 400, "InvalidParameterCombination",
                            "The parameter instancesSet cannot be used with the parameter "
                            "maxResults");
    if ((rc = sim_filters_parse(c, &fs)) != 0 ||
        (rc = filters_check(c, &fs, instance_filters, 1)) != 0)
        return rc;
    for (size_t k = 0; k < nids; k++)
        if (!id_well_formed(ids[k], "i-"))
            return sim_ec2_fail(c, 400, "InvalidInstanceID.Malformed",
                                "Invalid id: \"" QUOTE "\"", ids[k]);
    for (size_t k = 0; k < nids; k++) {
        const struct sim_instance *i = sim_instance_find(a, ids[k]);
        if (!i || !sim_instance_visible(a, i)) {
            list_append(missing, sizeof missing, ids[k]);
            nmissing++;
        }
    }
    if (nmissing)
        return sim_ec2_fail(c, 400, "InvalidInstanceID.NotFound",
                            nmissing == 1 ? "The instance ID '%s' does not exist"
                                          : "The instance IDs '%s' do not exist",
                            missing);
    if ((rc = page_begin(c, &pg, "di", 5, 1000, 0)) != 0)
        return rc;
    if ((rc = idset_build(c, ids, nids, &named)) != 0)
        return rc;

    /* Named instances are looked up, not scanned for: asking for one instance among thousands
     * must not cost a pass over all of them. Ids cannot be paged (no MaxResults with them), so
     * the answer follows the request's order, each id once. */
    start = nids ? 0 : page_resume(a, &pg, a->ninstances, instance_id_at);
    sim_ec2_begin(c);
    sim_xml_open(&c->x, "reservationSet");
    for (size_t k = start; k < (nids ? nids : a->ninstances); k++) {
        const struct sim_instance *i =
            nids ? sim_instance_find(a, ids[k]) : a->instances[k];
        if (nids && (!i || core_map_del(named, ids[k]) == NULL))
            continue; /* a repeated id */
        if (!sim_instance_visible(a, i) || !filters_match(a, &fs, instance_field, i, &i->tags))
            continue;
        if (page_full(&pg))
            break;
        /* Instances of one call are consecutive in launch order: one reservation each. */
        if (!open_rid || strcmp(open_rid, i->reservation_id) != 0) {
            if (open_rid) {
                sim_xml_close(&c->x); /* instancesSet */
                sim_xml_close(&c->x); /* item */
            }
            sim_xml_open(&c->x, "item");
            sim_xml_text(&c->x, "reservationId", i->reservation_id);
            sim_xml_text(&c->x, "ownerId", a->account_id);
            xml_empty(&c->x, "groupSet");
            sim_xml_open(&c->x, "instancesSet");
            open_rid = i->reservation_id;
        }
        sim_xml_instance(&c->x, a, i);
        page_took(&pg, k, i->id);
    }
    if (open_rid) {
        sim_xml_close(&c->x);
        sim_xml_close(&c->x);
    }
    sim_xml_close(&c->x);
    page_end(&c->x, &pg);
    sim_ec2_end(c);
    core_map_free(named);
    return 0;
}

/* ============================================================================================ */
/* DescribeInstanceTypes                                                                         */
/* ============================================================================================ */

/* Families EC2 lists as previous generation (its "Previous generation instances" page). */
static int itype_current(const struct launcher_itype *t)
{
    static const char *const previous[] = {"m1", "m2", "m3", "m4", "c1", "c3", "c4", "r3",
                                           "r4", "t1", "i2", "g2", "g3", "g3s", "p2", "cr1",
                                           "cc2", "hs1", "hi1", "d2", NULL};
    for (const char *const *p = previous; *p; p++)
        if (strcmp(*p, t->family) == 0)
            return 0;
    return 1;
}

static int itype_spot(const struct launcher_itype *t)
{
    return !t->bare_metal;
}

static const char *itype_arch(const struct launcher_itype *t)
{
    if (t->ec2_arch && *t->ec2_arch)
        return t->ec2_arch;
    return strcmp(t->arch, "amd64") == 0 ? "x86_64" : t->arch;
}

/* "nvidia" -> "NVIDIA", "amd" -> "AMD", "intel" -> "Intel", "a10g" -> "A10G". */
static const char *vendor_name(const char *s, char *buf, size_t sz, int upper)
{
    size_t n = core_strlcpy(buf, s, sz);
    if (n >= sz)
        n = sz - 1;
    if (strcmp(s, "nvidia") == 0 || n <= 3)
        upper = 1;
    for (size_t i = 0; i < n; i++)
        if ((upper || i == 0) && buf[i] >= 'a' && buf[i] <= 'z')
            buf[i] = (char)(buf[i] - 'a' + 'A');
    return buf;
}

/* An approximation of EC2's wording from the catalog's bandwidth. */
static void network_performance(const struct launcher_itype *t, char *buf, size_t sz)
{
    int64_t mbps = t->network_bandwidth_mbps;
    if (mbps >= 10000)
        snprintf(buf, sz, "%g Gigabit", (double)mbps / 1000.0);
    else if (mbps >= 100 || mbps == 0)
        snprintf(buf, sz, "Up to 10 Gigabit");
    else
        snprintf(buf, sz, "Up to 5 Gigabit");
}

static void xml_itype(struct sim_xml *x, const struct sim_itype *it)
{
    const struct launcher_itype *t = it->t;
    int nitro = strcmp(t->hypervisor, "nitro") == 0 || t->bare_metal;
    char buf[64];

    sim_xml_open(x, "item");
    sim_xml_text(x, "instanceType", t->name);
    sim_xml_bool(x, "currentGeneration", itype_current(t));
    sim_xml_bool(x, "freeTierEligible", 0);
    sim_xml_open(x, "supportedUsageClasses");
    sim_xml_text(x, "item", "on-demand");
    if (itype_spot(t))
        sim_xml_text(x, "item", "spot");
    sim_xml_close(x);
    sim_xml_open(x, "supportedRootDeviceTypes");
    sim_xml_text(x, "item", "ebs");
    sim_xml_close(x);
    sim_xml_open(x, "supportedVirtualizationTypes");
    sim_xml_text(x, "item", "hvm");
    sim_xml_close(x);
    sim_xml_bool(x, "bareMetal", t->bare_metal);
    if (*t->hypervisor)
        sim_xml_text(x, "hypervisor", t->hypervisor);
    sim_xml_open(x, "processorInfo");
    sim_xml_open(x, "supportedArchitectures");
    sim_xml_text(x, "item", itype_arch(t));
    sim_xml_close(x);
    if (*t->cpu_manufacturer)
        sim_xml_text(x, "manufacturer", vendor_name(t->cpu_manufacturer, buf, sizeof buf, 0));
    sim_xml_close(x);
    sim_xml_open(x, "vCpuInfo");
    sim_xml_i64(x, "defaultVCpus", t->vcpu);
    sim_xml_close(x);
    sim_xml_open(x, "memoryInfo");
    sim_xml_i64(x, "sizeInMiB", t->memory_mib);
    sim_xml_close(x);
    sim_xml_bool(x, "instanceStorageSupported", t->local_nvme_gib > 0);
    if (t->local_nvme_gib > 0) {
        sim_xml_open(x, "instanceStorageInfo");
        sim_xml_i64(x, "totalSizeInGB", t->local_nvme_gib);
        sim_xml_text(x, "nvmeSupport", "required");
        sim_xml_close(x);
    }
    sim_xml_open(x, "ebsInfo");
    sim_xml_text(x, "ebsOptimizedSupport", "default");
    sim_xml_text(x, "encryptionSupport", "supported");
    if (t->ebs_bandwidth_mbps > 0) {
        sim_xml_open(x, "ebsOptimizedInfo");
        sim_xml_i64(x, "maximumBandwidthInMbps", t->ebs_bandwidth_mbps);
        sim_xml_close(x);
    }
    sim_xml_text(x, "nvmeSupport", nitro ? "required" : "unsupported");
    sim_xml_close(x);
    sim_xml_open(x, "networkInfo");
    network_performance(t, buf, sizeof buf);
    sim_xml_text(x, "networkPerformance", buf);
    if (t->enis > 0)
        sim_xml_i64(x, "maximumNetworkInterfaces", t->enis);
    if (t->ipv4_per_eni > 0)
        sim_xml_i64(x, "ipv4AddressesPerInterface", t->ipv4_per_eni);
    sim_xml_bool(x, "ipv6Supported", 1);
    sim_xml_text(x, "enaSupport", nitro ? "required" : "supported");
    sim_xml_bool(x, "encryptionInTransitSupported", nitro);
    sim_xml_close(x);
    if (t->gpu_count > 0) {
        /* The catalog's GPU memory is per GPU (A100: 40960 MiB on p4d.24xlarge's eight). */
        sim_xml_open(x, "gpuInfo");
        sim_xml_open(x, "gpus");
        sim_xml_open(x, "item");
        sim_xml_text(x, "name", vendor_name(t->gpu_name, buf, sizeof buf, 1));
        sim_xml_text(x, "manufacturer", vendor_name(t->gpu_manufacturer, buf, sizeof buf, 0));
        sim_xml_i64(x, "count", t->gpu_count);
        sim_xml_open(x, "memoryInfo");
        sim_xml_i64(x, "sizeInMiB", t->gpu_memory_mib);
        sim_xml_close(x);
        sim_xml_close(x);
        sim_xml_close(x);
        sim_xml_i64(x, "totalGpuMemoryInMiB", t->gpu_memory_mib * t->gpu_count);
        sim_xml_close(x);
    }
    if (t->accelerator_count > 0 && *t->accelerator_name) {
        vendor_name(t->accelerator_name, buf, sizeof buf, 0);
        if (strcmp(t->family, "inf1") == 0) {
            /* First-generation Inferentia is also listed the older way. */
            sim_xml_open(x, "inferenceAcceleratorInfo");
            sim_xml_open(x, "accelerators");
            sim_xml_open(x, "item");
            sim_xml_i64(x, "count", t->accelerator_count);
            sim_xml_text(x, "name", buf);
            sim_xml_text(x, "manufacturer", "AWS");
            sim_xml_close(x);
            sim_xml_close(x);
            sim_xml_close(x);
        }
        sim_xml_open(x, "neuronInfo");
        sim_xml_open(x, "neuronDevices");
        sim_xml_open(x, "item");
        sim_xml_i64(x, "count", t->accelerator_count);
        sim_xml_text(x, "name", buf);
        sim_xml_close(x);
        sim_xml_close(x);
        sim_xml_close(x);
    }
    sim_xml_bool(x, "hibernationSupported", it->hibernation);
    sim_xml_bool(x, "burstablePerformanceSupported", strcmp(t->category, "t") == 0);
    sim_xml_close(x);
}

static const char *const itype_filters[] = {
    "instance-type", "processor-info.supported-architecture", "current-generation",
    "hibernation-supported", "bare-metal", "vcpu-info.default-vcpus", "memory-info.size-in-mib",
    "hypervisor", "instance-storage-supported", "burstable-performance-supported", NULL};

static const char *itype_field(const struct sim_aws *a, const void *obj, const char *f,
                               char *buf, size_t sz)
{
    const struct sim_itype *it = obj;
    const struct launcher_itype *t = it->t;
    (void)a;
    if (strcmp(f, "instance-type") == 0)
        return t->name;
    if (strcmp(f, "processor-info.supported-architecture") == 0)
        return itype_arch(t);
    if (strcmp(f, "current-generation") == 0)
        return bool_str(itype_current(t));
    if (strcmp(f, "hibernation-supported") == 0)
        return bool_str(it->hibernation);
    if (strcmp(f, "bare-metal") == 0)
        return bool_str(t->bare_metal);
    if (strcmp(f, "vcpu-info.default-vcpus") == 0) {
        snprintf(buf, sz, "%" PRId32, t->vcpu);
        return buf;
    }
    if (strcmp(f, "memory-info.size-in-mib") == 0) {
        snprintf(buf, sz, "%" PRId64, t->memory_mib);
        return buf;
    }
    if (strcmp(f, "hypervisor") == 0)
        return *t->hypervisor ? t->hypervisor : NULL;
    if (strcmp(f, "instance-storage-supported") == 0)
        return bool_str(t->local_nvme_gib > 0);
    if (strcmp(f, "burstable-performance-supported") == 0)
        return bool_str(strcmp(t->category, "t") == 0);
    return NULL;
}

int sim_ec2_describe_instance_types(struct sim_ec2_ctx *c)
{
    struct sim_aws *a = c->a;
    const char *names[IDS_MAX];
    char missing[400] = "";
    size_t nnames = 0, nmissing = 0;
    struct sim_filters fs;
    struct core_map *named = NULL;
    struct page pg;
    int rc;

    if ((rc = query_list(c, "InstanceType", names, IDS_MAX, &nnames)) != 0 ||
        (rc = sim_filters_parse(c, &fs)) != 0 ||
        (rc = filters_check(c, &fs, itype_filters, 0)) != 0)
        return rc;
    for (size_t k = 0; k < nnames; k++) {
        const struct sim_itype *it = sim_itype_find(a, names[k]);
        if (!it || !it->zones) {
            list_append(missing, sizeof missing, names[k]);
            nmissing++;
        }
    }
    if (nmissing)
        return sim_ec2_fail(c, 400, "InvalidInstanceType",
                            "The following supplied instance types do not exist: [%s]",
                            missing);
    if ((rc = page_begin(c, &pg, "dit", 5, 100, 100)) != 0 ||
        (rc = idset_build(c, names, nnames, &named)) != 0)
        return rc;

    sim_ec2_begin(c);
    sim_xml_open(&c->x, "instanceTypeSet");
    for (size_t k = pg.start; k < a->nitypes; k++) {
        const struct sim_itype *it = &a->itypes[k];
        if (!it->zones || (named && !idset_has(named, it->t->name)) ||
            !filters_match(a, &fs, itype_field, it, NULL))
            continue;
        if (page_full(&pg))
            break;
        xml_itype(&c->x, it);
        page_took(&pg, k, NULL);
    }
    sim_xml_close(&c->x);
    page_end(&c->x, &pg);
    sim_ec2_end(c);
    core_map_free(named);
    return 0;
}

/* ============================================================================================ */
/* DescribeInstanceTypeOfferings                                                                 */
/* ============================================================================================ */

enum loc_type { LOC_REGION, LOC_ZONE, LOC_ZONE_ID };

struct offering {
    const struct sim_itype *it;
    const char *location;
};

static const char *offering_field(const struct sim_aws *a, const void *obj, const char *f,
                                  char *buf, size_t sz)
{
    const struct offering *o = obj;
    (void)a;
    (void)buf;
    (void)sz;
    if (strcmp(f, "instance-type") == 0)
        return o->it->t->name;
    if (strcmp(f, "location") == 0)
        return o->location;
    return NULL;
}

int sim_ec2_describe_instance_type_offerings(struct sim_ec2_ctx *c)
{
    static const char *const known[] = {"instance-type", "location", NULL};
    static const char *const type_names[] = {"region", "availability-zone",
                                             "availability-zone-id"};
    struct sim_aws *a = c->a;
    const char *lt = aws_query_get(c->q, "LocationType");
    enum loc_type loc = LOC_REGION;
    struct sim_filters fs;
    struct page pg;
    size_t total = a->nitypes * SIM_ZONES_MAX;
    int rc;

    if (lt && strcmp(lt, "availability-zone") == 0)
        loc = LOC_ZONE;
    else if (lt && strcmp(lt, "availability-zone-id") == 0)
        loc = LOC_ZONE_ID;
    else if (lt && strcmp(lt, "region") != 0)
        return bad_value(c, "Invalid value '" QUOTE "' for LocationType", lt);
    if ((rc = sim_filters_parse(c, &fs)) != 0 || (rc = filters_check(c, &fs, known, 0)) != 0 ||
        (rc = page_begin(c, &pg, "dito", 5, 1000, 1000)) != 0)
        return rc;

    sim_ec2_begin(c);
    sim_xml_open(&c->x, "instanceTypeOfferingSet");
    /* Position = type index × SIM_ZONES_MAX + zone index (zone 0 alone for the region). */
    for (size_t k = pg.start; k < total; k++) {
        size_t ti = k / SIM_ZONES_MAX, z = k % SIM_ZONES_MAX;
        const struct sim_itype *it = &a->itypes[ti];
        struct offering o = {it, NULL};
        if (loc == LOC_REGION) {
            if (z != 0 || !it->zones)
                continue;
            o.location = a->region;
        } else {
            if (z >= a->nzones || !(it->zones & (1u << z)))
                continue;
            o.location = loc == LOC_ZONE ? a->zones[z].name : a->zones[z].id;
        }
        if (!filters_match(a, &fs, offering_field, &o, NULL))
            continue;
        if (page_full(&pg))
            break;
        sim_xml_open(&c->x, "item");
        sim_xml_text(&c->x, "instanceType", it->t->name);
        sim_xml_text(&c->x, "locationType", type_names[loc]);
        sim_xml_text(&c->x, "location", o.location);
        sim_xml_close(&c->x);
        page_took(&pg, k, NULL);
    }
    sim_xml_close(&c->x);
    page_end(&c->x, &pg);
    sim_ec2_end(c);
    return 0;
}

/* ============================================================================================ */
/* DescribeSubnets                                                                               */
/* ============================================================================================ */

static const char *const subnet_filters[] = {
    "subnet-id", "vpc-id", "availability-zone", "availability-zone-id", "cidr-block", "cidr",
    "cidrBlock", "state", "owner-id", "default-for-az", "map-public-ip-on-launch",
    "available-ip-address-count", NULL};

static const char *subnet_field(const struct sim_aws *a, const void *obj, const char *f,
                                char *buf, size_t sz)
{
    const struct sim_subnet *s = obj;
    if (strcmp(f, "subnet-id") == 0)
        return s->id;
    if (strcmp(f, "vpc-id") == 0)
        return a->vpc_id;
    if (strcmp(f, "availability-zone") == 0)
        return zone_name(a, s->zone);
    if (strcmp(f, "availability-zone-id") == 0)
        return zone_id(a, s->zone);
    if (strcmp(f, "cidr-block") == 0 || strcmp(f, "cidr") == 0 || strcmp(f, "cidrBlock") == 0)
        return s->cidr;
    if (strcmp(f, "state") == 0)
        return "available";
    if (strcmp(f, "owner-id") == 0)
        return a->account_id;
    if (strcmp(f, "default-for-az") == 0)
        return "false";
    if (strcmp(f, "map-public-ip-on-launch") == 0)
        return bool_str(s->map_public_ip);
    if (strcmp(f, "available-ip-address-count") == 0) {
        snprintf(buf, sz, "%" PRId64, s->available);
        return buf;
    }
    return NULL;
}

int sim_ec2_describe_subnets(struct sim_ec2_ctx *c)
{
    struct sim_aws *a = c->a;
    const char *ids[IDS_MAX];
    char missing[400] = "", arn[192];
    size_t nids = 0, nmissing = 0;
    struct sim_filters fs;
    struct core_map *named = NULL;
    struct page pg;
    int rc;

    if ((rc = query_list(c, "SubnetId", ids, IDS_MAX, &nids)) != 0 ||
        (rc = sim_filters_parse(c, &fs)) != 0 ||
        (rc = filters_check(c, &fs, subnet_filters, 1)) != 0)
        return rc;
    for (size_t k = 0; k < nids; k++)
        if (!sim_subnet_find(a, ids[k])) {
            list_append(missing, sizeof missing, ids[k]);
            nmissing++;
        }
    if (nmissing)
        return sim_ec2_fail(c, 400, "InvalidSubnetID.NotFound",
                            nmissing == 1 ? "The subnet ID '%s' does not exist"
                                          : "The subnet IDs '%s' do not exist",
                            missing);
    if ((rc = page_begin(c, &pg, "dsn", 5, 1000, 0)) != 0 ||
        (rc = idset_build(c, ids, nids, &named)) != 0)
        return rc;

    sim_ec2_begin(c);
    sim_xml_open(&c->x, "subnetSet");
    for (size_t k = pg.start; k < a->nsubnets; k++) {
        const struct sim_subnet *s = &a->subnets[k];
        if ((named && !idset_has(named, s->id)) ||
            !filters_match(a, &fs, subnet_field, s, &s->tags))
            continue;
        if (page_full(&pg))
            break;
        snprintf(arn, sizeof arn, "arn:aws:ec2:%s:%s:subnet/%s", a->region, a->account_id,
                 s->id);
        sim_xml_open(&c->x, "item");
        sim_xml_text(&c->x, "subnetId", s->id);
        sim_xml_text(&c->x, "subnetArn", arn);
        sim_xml_text(&c->x, "state", "available");
        sim_xml_text(&c->x, "ownerId", a->account_id);
        sim_xml_text(&c->x, "vpcId", a->vpc_id);
        sim_xml_text(&c->x, "cidrBlock", s->cidr);
        xml_empty(&c->x, "ipv6CidrBlockAssociationSet");
        sim_xml_i64(&c->x, "availableIpAddressCount", s->available);
        sim_xml_text(&c->x, "availabilityZone", zone_name(a, s->zone));
        sim_xml_text(&c->x, "availabilityZoneId", zone_id(a, s->zone));
        sim_xml_bool(&c->x, "defaultForAz", 0);
        sim_xml_bool(&c->x, "mapPublicIpOnLaunch", s->map_public_ip);
        sim_xml_bool(&c->x, "assignIpv6AddressOnCreation", 0);
        sim_xml_tags(&c->x, &s->tags);
        sim_xml_close(&c->x);
        page_took(&pg, k, NULL);
    }
    sim_xml_close(&c->x);
    page_end(&c->x, &pg);
    sim_ec2_end(c);
    core_map_free(named);
    return 0;
}

/* ============================================================================================ */
/* DescribeSecurityGroups                                                                        */
/* ============================================================================================ */

static const char *const sg_filters[] = {"group-id", "group-name", "vpc-id", "description",
                                         "owner-id", NULL};

static const char *sg_field(const struct sim_aws *a, const void *obj, const char *f, char *buf,
                            size_t sz)
{
    const struct sim_sg *g = obj;
    (void)buf;
    (void)sz;
    if (strcmp(f, "group-id") == 0)
        return g->id;
    if (strcmp(f, "group-name") == 0)
        return g->name;
    if (strcmp(f, "vpc-id") == 0)
        return a->vpc_id;
    if (strcmp(f, "description") == 0)
        return g->description;
    if (strcmp(f, "owner-id") == 0)
        return a->account_id;
    return NULL;
}

static const struct sim_sg *sg_by_name(const struct sim_aws *a, const char *name)
{
    for (size_t k = 0; k < a->nsgs; k++)
        if (strcmp(a->sgs[k].name, name) == 0)
            return &a->sgs[k];
    return NULL;
}

int sim_ec2_describe_security_groups(struct sim_ec2_ctx *c)
{
    struct sim_aws *a = c->a;
    const char *ids[IDS_MAX], *names[IDS_MAX];
    size_t nids = 0, nnames = 0;
    struct sim_filters fs;
    struct core_map *named_ids = NULL, *named_names = NULL;
    struct page pg;
    int rc;

    if ((rc = query_list(c, "GroupId", ids, IDS_MAX, &nids)) != 0 ||
        (rc = query_list(c, "GroupName", names, IDS_MAX, &nnames)) != 0 ||
        (rc = sim_filters_parse(c, &fs)) != 0 ||
        (rc = filters_check(c, &fs, sg_filters, 1)) != 0)
        return rc;
    for (size_t k = 0; k < nids; k++) {
        if (!id_well_formed(ids[k], "sg-"))
            return sim_ec2_fail(c, 400, "InvalidGroupId.Malformed",
                                "Invalid id: \"" QUOTE "\" (expecting \"sg-...\")", ids[k]);
        if (!sim_sg_find(a, ids[k]))
            return sim_ec2_fail(c, 400, "InvalidGroup.NotFound",
                                "The security group '" QUOTE "' does not exist", ids[k]);
    }
    for (size_t k = 0; k < nnames; k++)
        if (!sg_by_name(a, names[k]))
            return sim_ec2_fail(c, 400, "InvalidGroup.NotFound",
                                "The security group '" QUOTE "' does not exist in default VPC "
                                "'%s'",
                                names[k], a->vpc_id);
    if ((rc = page_begin(c, &pg, "dsg", 5, 1000, 0)) != 0 ||
        (rc = idset_build(c, ids, nids, &named_ids)) != 0)
        return rc;
    if ((rc = idset_build(c, names, nnames, &named_names)) != 0) {
        core_map_free(named_ids);
        return rc;
    }

    sim_ec2_begin(c);
    sim_xml_open(&c->x, "securityGroupInfo");
    for (size_t k = pg.start; k < a->nsgs; k++) {
        const struct sim_sg *g = &a->sgs[k];
        if ((named_ids && !idset_has(named_ids, g->id)) ||
            (named_names && !idset_has(named_names, g->name)) ||
            !filters_match(a, &fs, sg_field, g, &g->tags))
            continue;
        if (page_full(&pg))
            break;
        sim_xml_open(&c->x, "item");
        sim_xml_text(&c->x, "ownerId", a->account_id);
        sim_xml_text(&c->x, "groupId", g->id);
        sim_xml_text(&c->x, "groupName", g->name);
        sim_xml_text(&c->x, "groupDescription", g->description);
        sim_xml_text(&c->x, "vpcId", a->vpc_id);
        xml_empty(&c->x, "ipPermissions");
        sim_xml_open(&c->x, "ipPermissionsEgress");
        sim_xml_open(&c->x, "item");
        sim_xml_text(&c->x, "ipProtocol", "-1");
        xml_empty(&c->x, "groups");
        sim_xml_open(&c->x, "ipRanges");
        sim_xml_open(&c->x, "item");
        sim_xml_text(&c->x, "cidrIp", "0.0.0.0/0");
        sim_xml_close(&c->x);
        sim_xml_close(&c->x);
        sim_xml_close(&c->x);
        sim_xml_close(&c->x);
        sim_xml_tags(&c->x, &g->tags);
        sim_xml_close(&c->x);
        page_took(&pg, k, NULL);
    }
    sim_xml_close(&c->x);
    page_end(&c->x, &pg);
    sim_ec2_end(c);
    core_map_free(named_ids);
    core_map_free(named_names);
    return 0;
}

/* ============================================================================================ */
/* DescribeImages                                                                                */
/* ============================================================================================ */

static const char *const image_filters[] = {
    "image-id", "name", "architecture", "state", "owner-id", "owner-alias", "is-public",
    "image-type", "platform-details", "root-device-name", "root-device-type", "description",
    "virtualization-type", "hypervisor", "platform", "creation-date", NULL};

static int image_public(const struct sim_image *img)
{
    return img->owner_alias != NULL; /* Amazon's images are public, the account's own not */
}

static const char *image_field(const struct sim_aws *a, const void *obj, const char *f,
                               char *buf, size_t sz)
{
    const struct sim_image *img = obj;
    (void)a;
    if (strcmp(f, "image-id") == 0)
        return img->id;
    if (strcmp(f, "name") == 0)
        return img->name;
    if (strcmp(f, "architecture") == 0)
        return img->arch;
    if (strcmp(f, "state") == 0)
        return img->state;
    if (strcmp(f, "owner-id") == 0)
        return img->owner_id;
    if (strcmp(f, "owner-alias") == 0)
        return img->owner_alias;
    if (strcmp(f, "is-public") == 0)
        return bool_str(image_public(img));
    if (strcmp(f, "image-type") == 0)
        return "machine";
    if (strcmp(f, "platform-details") == 0)
        return img->platform_details;
    if (strcmp(f, "root-device-name") == 0)
        return img->root_device;
    if (strcmp(f, "root-device-type") == 0)
        return "ebs";
    if (strcmp(f, "description") == 0)
        return img->description;
    if (strcmp(f, "virtualization-type") == 0)
        return "hvm";
    if (strcmp(f, "hypervisor") == 0)
        return "xen";
    if (strcmp(f, "platform") == 0)
        return image_is_windows(img) ? "windows" : NULL;
    if (strcmp(f, "creation-date") == 0)
        return format_time(img->created, buf, sz);
    return NULL;
}

static int owner_valid(const char *o)
{
    size_t n = 0;
    if (strcmp(o, "self") == 0 || strcmp(o, "amazon") == 0 || strcmp(o, "aws-marketplace") == 0 ||
        strcmp(o, "aws-backup-vault") == 0)
        return 1;
    while (o[n] >= '0' && o[n] <= '9')
        n++;
    return n == 12 && !o[n];
}

static int owner_match(const struct sim_aws *a, const struct sim_image *img, const char *o)
{
    if (strcmp(o, "self") == 0)
        return strcmp(img->owner_id, a->account_id) == 0;
    if (strcmp(o, "amazon") == 0 || strcmp(o, "aws-marketplace") == 0 ||
        strcmp(o, "aws-backup-vault") == 0)
        return img->owner_alias && strcmp(img->owner_alias, o) == 0;
    return strcmp(img->owner_id, o) == 0;
}

/* ExecutableBy: "all" is the public images; the account (or "self") may launch every image
 * it can see; another account only the public ones. */
static int executable_match(const struct sim_aws *a, const struct sim_image *img, const char *e)
{
    if (strcmp(e, "self") == 0 || strcmp(e, a->account_id) == 0)
        return 1;
    return image_public(img);
}

static void xml_image(struct sim_xml *x, const struct sim_aws *a, const struct sim_image *img)
{
    char loc[256];
    (void)a;
    snprintf(loc, sizeof loc, "%s/%s", img->owner_alias ? img->owner_alias : img->owner_id,
             img->name ? img->name : "");
    sim_xml_open(x, "item");
    sim_xml_text(x, "imageId", img->id);
    sim_xml_text(x, "imageLocation", loc);
    sim_xml_text(x, "imageState", img->state ? img->state : "available");
    sim_xml_text(x, "imageOwnerId", img->owner_id);
    sim_xml_time(x, "creationDate", img->created);
    sim_xml_bool(x, "isPublic", image_public(img));
    sim_xml_text(x, "architecture", img->arch);
    sim_xml_text(x, "imageType", "machine");
    if (image_is_windows(img))
        sim_xml_text(x, "platform", "windows");
    sim_xml_text(x, "imageOwnerAlias", img->owner_alias);
    sim_xml_text(x, "name", img->name);
    sim_xml_text(x, "description", img->description);
    sim_xml_text(x, "rootDeviceType", "ebs");
    sim_xml_text(x, "rootDeviceName", img->root_device);
    sim_xml_open(x, "blockDeviceMapping");
    sim_xml_open(x, "item");
    sim_xml_text(x, "deviceName", img->root_device);
    sim_xml_open(x, "ebs");
    sim_xml_i64(x, "volumeSize", image_is_windows(img) ? 50 : 20);
    sim_xml_bool(x, "deleteOnTermination", 1);
    sim_xml_text(x, "volumeType", "gp3");
    sim_xml_bool(x, "encrypted", 0);
    sim_xml_close(x);
    sim_xml_close(x);
    sim_xml_close(x);
    sim_xml_text(x, "virtualizationType", "hvm");
    sim_xml_tags(x, &img->tags);
    sim_xml_text(x, "hypervisor", "xen");
    sim_xml_bool(x, "enaSupport", 1);
    sim_xml_text(x, "platformDetails", img->platform_details);
    sim_xml_text(x, "usageOperation", image_is_windows(img) ? "RunInstances:0002"
                                                            : "RunInstances");
    if (img->deprecated_at)
        sim_xml_time(x, "deprecationTime", img->deprecated_at);
    sim_xml_close(x);
}

int sim_ec2_describe_images(struct sim_ec2_ctx *c)
{
    struct sim_aws *a = c->a;
    const char *ids[IDS_MAX], *owners[IDS_MAX], *exec[IDS_MAX];
    char missing[400] = "";
    size_t nids = 0, nowners = 0, nexec = 0, nmissing = 0;
    struct sim_filters fs;
    struct core_map *named = NULL;
    struct page pg;
    core_ns wall = sim_wall(a);
    int include_deprecated, rc;

    if ((rc = query_list(c, "ImageId", ids, IDS_MAX, &nids)) != 0 ||
        (rc = query_list(c, "Owner", owners, IDS_MAX, &nowners)) != 0 ||
        (rc = query_list(c, "ExecutableBy", exec, IDS_MAX, &nexec)) != 0 ||
        (rc = query_bool(c, "IncludeDeprecated", &include_deprecated)) != 0 ||
        (rc = sim_filters_parse(c, &fs)) != 0 ||
        (rc = filters_check(c, &fs, image_filters, 1)) != 0)
        return rc;
    for (size_t k = 0; k < nids; k++)
        if (!id_well_formed(ids[k], "ami-"))
            return sim_ec2_fail(c, 400, "InvalidAMIID.Malformed",
                                "Invalid id: \"" QUOTE "\" (expecting \"ami-...\")", ids[k]);
    for (size_t k = 0; k < nowners; k++)
        if (!owner_valid(owners[k]))
            return sim_ec2_fail(c, 400, "InvalidUserID.Malformed",
                                "Invalid user id: \"" QUOTE "\"", owners[k]);
    for (size_t k = 0; k < nexec; k++)
        if (strcmp(exec[k], "all") != 0 && !owner_valid(exec[k]))
            return sim_ec2_fail(c, 400, "InvalidUserID.Malformed",
                                "Invalid user id: \"" QUOTE "\"", exec[k]);
    for (size_t k = 0; k < nids; k++)
        if (!sim_image_find(a, ids[k])) {
            list_append(missing, sizeof missing, ids[k]);
            nmissing++;
        }
    if (nmissing)
        return sim_ec2_fail(c, 400, "InvalidAMIID.NotFound",
                            nmissing == 1 ? "The image id '[%s]' does not exist"
                                          : "The image ids '[%s]' do not exist",
                            missing);
    if ((rc = page_begin(c, &pg, "dim", 1, 1000, 0)) != 0 ||
        (rc = idset_build(c, ids, nids, &named)) != 0)
        return rc;

    sim_ec2_begin(c);
    sim_xml_open(&c->x, "imagesSet");
    for (size_t k = pg.start; k < a->nimages; k++) {
        const struct sim_image *img = a->images[k];
        int ok = 1, own = strcmp(img->owner_id, a->account_id) == 0;
        int named_here = idset_has(named, img->id);
        if (named && !named_here)
            continue;
        /* EC2 hides deprecated images unless asked, named by id, or owned by the caller. */
        if (img->deprecated_at && img->deprecated_at <= wall && include_deprecated != 1 &&
            !named_here && !own)
            continue;
        if (nowners) {
            ok = 0;
            for (size_t j = 0; j < nowners && !ok; j++)
                ok = owner_match(a, img, owners[j]);
        }
        if (ok && nexec) {
            ok = 0;
            for (size_t j = 0; j < nexec && !ok; j++)
                ok = executable_match(a, img, exec[j]);
        }
        if (!ok || !filters_match(a, &fs, image_field, img, &img->tags))
            continue;
        if (page_full(&pg))
            break;
        xml_image(&c->x, a, img);
        page_took(&pg, k, NULL);
    }
    sim_xml_close(&c->x);
    page_end(&c->x, &pg);
    sim_ec2_end(c);
    core_map_free(named);
    return 0;
}

/* ============================================================================================ */
/* DescribeSpotPriceHistory                                                                      */
/* ============================================================================================ */

#define SPOT_PRODUCT "Linux/UNIX"

struct spot_entry {
    const struct sim_itype *it;
    const char *zone;
    double price;
};

static const char *spot_field(const struct sim_aws *a, const void *obj, const char *f, char *buf,
                              size_t sz)
{
    const struct spot_entry *e = obj;
    (void)a;
    if (strcmp(f, "instance-type") == 0)
        return e->it->t->name;
    if (strcmp(f, "availability-zone") == 0)
        return e->zone;
    if (strcmp(f, "product-description") == 0)
        return SPOT_PRODUCT;
    if (strcmp(f, "spot-price") == 0) {
        snprintf(buf, sz, "%.6f", e->price);
        return buf;
    }
    return NULL;
}

static int query_time(struct sim_ec2_ctx *c, const char *name, core_ns *out)
{
    const char *v = aws_query_get(c->q, name);
    *out = 0;
    if (v && core_time_parse_rfc3339(v, out) != 0)
        return sim_ec2_fail(c, 400, "InvalidParameterValue",
                            "Invalid value '" QUOTE "' for %s: not an ISO 8601 time", v, name);
    return 0;
}

int sim_ec2_describe_spot_price_history(struct sim_ec2_ctx *c)
{
    static const char *const known[] = {"instance-type", "availability-zone",
                                        "product-description", "spot-price", NULL};
    struct sim_aws *a = c->a;
    const char *types[IDS_MAX], *products[IDS_MAX];
    const char *zone = aws_query_get(c->q, "AvailabilityZone");
    size_t ntypes = 0, nproducts = 0, total = a->nitypes * SIM_ZONES_MAX;
    struct sim_filters fs;
    struct core_map *named = NULL;
    struct page pg;
    core_ns start_time, end_time, wall = sim_wall(a);
    int linux_wanted = 1, rc;

    if ((rc = query_list(c, "InstanceType", types, IDS_MAX, &ntypes)) != 0 ||
        (rc = query_list(c, "ProductDescription", products, IDS_MAX, &nproducts)) != 0 ||
        (rc = query_time(c, "StartTime", &start_time)) != 0 ||
        (rc = query_time(c, "EndTime", &end_time)) != 0 ||
        (rc = sim_filters_parse(c, &fs)) != 0 || (rc = filters_check(c, &fs, known, 0)) != 0)
        return rc;
    if (start_time && end_time && start_time > end_time)
        return sim_ec2_fail(c, 400, "InvalidParameterValue",
                            "The StartTime must be before the EndTime");
    if (nproducts) {
        linux_wanted = 0;
        for (size_t k = 0; k < nproducts; k++)
            linux_wanted |= strcmp(products[k], SPOT_PRODUCT) == 0;
    }
    if ((rc = page_begin(c, &pg, "dsph", 1, 1000, 1000)) != 0 ||
        (rc = idset_build(c, types, ntypes, &named)) != 0)
        return rc;

    sim_ec2_begin(c);
    sim_xml_open(&c->x, "spotPriceHistorySet");
    /* Only the current price exists: one entry per spot-capable offered (type, zone), stamped
     * now; constant prices make it the price in effect over any window asked for. */
    for (size_t k = pg.start; linux_wanted && k < total; k++) {
        size_t ti = k / SIM_ZONES_MAX, z = k % SIM_ZONES_MAX;
        const struct sim_itype *it = &a->itypes[ti];
        struct spot_entry e;
        if (z >= a->nzones || !(it->zones & (1u << z)) || !itype_spot(it->t) ||
            !(it->spot_price[z] > 0))
            continue;
        e.it = it;
        e.zone = a->zones[z].name;
        e.price = it->spot_price[z];
        if ((named && !idset_has(named, it->t->name)) || (zone && strcmp(zone, e.zone) != 0) ||
            !filters_match(a, &fs, spot_field, &e, NULL))
            continue;
        if (page_full(&pg))
            break;
        sim_xml_open(&c->x, "item");
        sim_xml_text(&c->x, "instanceType", it->t->name);
        sim_xml_text(&c->x, "productDescription", SPOT_PRODUCT);
        sim_xml_price(&c->x, "spotPrice", e.price);
        sim_xml_time(&c->x, "timestamp", wall);
        sim_xml_text(&c->x, "availabilityZone", e.zone);
        sim_xml_close(&c->x);
        page_took(&pg, k, NULL);
    }
    sim_xml_close(&c->x);
    page_end(&c->x, &pg);
    sim_ec2_end(c);
    core_map_free(named);
    return 0;
}

/* ============================================================================================ */
/* DescribeLaunchTemplates                                                                       */
/* ============================================================================================ */

static const char *lt_field(const struct sim_aws *a, const void *obj, const char *f, char *buf,
                            size_t sz)
{
    const struct sim_lt *lt = obj;
    (void)a;
    (void)buf;
    (void)sz;
    if (strcmp(f, "launch-template-name") == 0)
        return lt->name;
    if (strcmp(f, "launch-template-id") == 0)
        return lt->id;
    return NULL;
}

static const char *lt_id_at(const struct sim_aws *a, size_t i)
{
    return a->lts[i]->id;
}

int sim_ec2_describe_launch_templates(struct sim_ec2_ctx *c)
{
    static const char *const known[] = {"launch-template-name", "launch-template-id", NULL};
    struct sim_aws *a = c->a;
    const char *ids[IDS_MAX], *names[IDS_MAX];
    size_t nids = 0, nnames = 0, start;
    struct sim_filters fs;
    struct core_map *named_ids = NULL, *named_names = NULL;
    struct page pg;
    int rc;

    if ((rc = query_list(c, "LaunchTemplateId", ids, IDS_MAX, &nids)) != 0 ||
        (rc = query_list(c, "LaunchTemplateName", names, IDS_MAX, &nnames)) != 0 ||
        (rc = sim_filters_parse(c, &fs)) != 0 || (rc = filters_check(c, &fs, known, 1)) != 0)
        return rc;
    for (size_t k = 0; k < nids; k++) {
        if (!id_well_formed(ids[k], "lt-"))
            return sim_ec2_fail(c, 400, "InvalidLaunchTemplateId.Malformed",
                                "The specified ID for the launch template '" QUOTE
                                "' is not valid. The ID must be in the form lt-xxxxxxxxxxxxxxxxx.",
                                ids[k]);
        if (!sim_lt_find(a, ids[k], NULL))
            return sim_ec2_fail(c, 400, "InvalidLaunchTemplateId.NotFound",
                                "The specified launch template, with template ID " QUOTE
                                ", does not exist.",
                                ids[k]);
    }
    for (size_t k = 0; k < nnames; k++)
        if (!sim_lt_find(a, NULL, names[k]))
            return sim_ec2_fail(c, 400, "InvalidLaunchTemplateName.NotFoundException",
                                "At least one of the launch templates specified in the request "
                                "does not exist.");
    if ((rc = page_begin(c, &pg, "dlt", 1, 200, 0)) != 0 ||
        (rc = idset_build(c, ids, nids, &named_ids)) != 0)
        return rc;
    if ((rc = idset_build(c, names, nnames, &named_names)) != 0) {
        core_map_free(named_ids);
        return rc;
    }

    start = page_resume(a, &pg, a->nlts, lt_id_at);
    sim_ec2_begin(c);
    sim_xml_open(&c->x, "launchTemplates");
    for (size_t k = start; k < a->nlts; k++) {
        const struct sim_lt *lt = a->lts[k];
        if ((named_ids && !idset_has(named_ids, lt->id)) ||
            (named_names && !idset_has(named_names, lt->name)) ||
            !filters_match(a, &fs, lt_field, lt, &lt->tags))
            continue;
        if (page_full(&pg))
            break;
        sim_xml_open(&c->x, "item");
        sim_xml_launch_template(&c->x, lt);
        sim_xml_close(&c->x);
        page_took(&pg, k, lt->id);
    }
    sim_xml_close(&c->x);
    page_end(&c->x, &pg);
    sim_ec2_end(c);
    core_map_free(named_ids);
    core_map_free(named_names);
    return 0;
}

/* ============================================================================================ */
/* DescribeAvailabilityZones                                                                     */
/* ============================================================================================ */

static const char *zone_field(const struct sim_aws *a, const void *obj, const char *f, char *buf,
                              size_t sz)
{
    const struct sim_zone *z = obj;
    (void)buf;
    (void)sz;
    if (strcmp(f, "zone-name") == 0)
        return z->name;
    if (strcmp(f, "zone-id") == 0)
        return z->id;
    if (strcmp(f, "state") == 0)
        return "available";
    if (strcmp(f, "region-name") == 0 || strcmp(f, "group-name") == 0 ||
        strcmp(f, "network-border-group") == 0)
        return a->region;
    if (strcmp(f, "zone-type") == 0)
        return "availability-zone";
    if (strcmp(f, "opt-in-status") == 0)
        return "opt-in-not-required";
    return NULL;
}

int sim_ec2_describe_availability_zones(struct sim_ec2_ctx *c)
{
    static const char *const known[] = {"zone-name", "zone-id", "state", "region-name",
                                        "group-name", "network-border-group", "zone-type",
                                        "opt-in-status", NULL};
    struct sim_aws *a = c->a;
    const char *names[IDS_MAX], *zids[IDS_MAX];
    size_t nnames = 0, nzids = 0;
    struct sim_filters fs;
    int all, rc;

    if ((rc = query_list(c, "ZoneName", names, IDS_MAX, &nnames)) != 0 ||
        (rc = query_list(c, "ZoneId", zids, IDS_MAX, &nzids)) != 0 ||
        (rc = query_bool(c, "AllAvailabilityZones", &all)) != 0 ||
        (rc = sim_filters_parse(c, &fs)) != 0 || (rc = filters_check(c, &fs, known, 0)) != 0)
        return rc;
    (void)all; /* every zone is opted in: AllAvailabilityZones changes nothing */
    for (size_t k = 0; k < nnames; k++)
        if (sim_zone_index(a, names[k]) < 0)
            return sim_ec2_fail(c, 400, "InvalidParameterValue",
                                "Invalid availability zone: [" QUOTE "]", names[k]);
    for (size_t k = 0; k < nzids; k++) {
        size_t z = 0;
        while (z < a->nzones && strcmp(a->zones[z].id, zids[k]) != 0)
            z++;
        if (z == a->nzones)
            return sim_ec2_fail(c, 400, "InvalidParameterValue",
                                "Invalid availability zone ID: [" QUOTE "]", zids[k]);
    }

    sim_ec2_begin(c);
    sim_xml_open(&c->x, "availabilityZoneInfo");
    for (size_t z = 0; z < a->nzones; z++) {
        const struct sim_zone *zone = &a->zones[z];
        int ok = !nnames && !nzids;
        for (size_t k = 0; k < nnames && !ok; k++)
            ok = strcmp(names[k], zone->name) == 0;
        for (size_t k = 0; k < nzids && !ok; k++)
            ok = strcmp(zids[k], zone->id) == 0;
        if (!ok || !filters_match(a, &fs, zone_field, zone, NULL))
            continue;
        sim_xml_open(&c->x, "item");
        sim_xml_text(&c->x, "zoneName", zone->name);
        sim_xml_text(&c->x, "zoneState", "available");
        sim_xml_text(&c->x, "regionName", a->region);
        xml_empty(&c->x, "messageSet");
        sim_xml_text(&c->x, "zoneId", zone->id);
        sim_xml_text(&c->x, "zoneType", "availability-zone");
        sim_xml_text(&c->x, "optInStatus", "opt-in-not-required");
        sim_xml_text(&c->x, "groupName", a->region);
        sim_xml_text(&c->x, "networkBorderGroup", a->region);
        sim_xml_close(&c->x);
    }
    sim_xml_close(&c->x);
    sim_ec2_end(c);
    return 0;
}
