/*
 * userdata/render.c — renders what an instance is told at boot: validation of the cluster and
 * kubelet facts (once, into struct userdata_settings), the per-family join documents (AL2023
 * NodeConfig in MIME, AL2 bootstrap.sh in MIME, Windows Start-EKSBootstrap.ps1, Custom
 * passthrough; Bottlerocket is handed to bottlerocket.c), the merge of the user's own user
 * data, and the warm-up scripts.
 *
 * Invariants:
 *  - Pure and deterministic: no clock, no I/O; labels come sorted, maps are emitted in key order.
 *  - Nothing partial: on any failure the caller's buffer is put back to its length on entry.
 *  - Every value that reaches a shell or PowerShell line is single-quoted with that language's
 *    escaping, even where validation already excludes quotes, so a validation gap cannot
 *    become command injection.
 *  - The warm-up document never contains a NodeConfig or a bootstrap call: the user's parts
 *    belong to the join boot only.
 */
#include "userdata/internal.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <string.h>
#include <yaml.h>

#define DEFAULT_CIDR "10.100.0.0/16"
#define WARM_DEFAULT_TIMEOUT_S 900
#define WARM_PULL_ATTEMPTS 3
#define NODECONFIG_API_PREFIX "node.eks.aws/"

static const char startup_taint_key[] = USERDATA_STARTUP_TAINT_KEY;

/* ---- validation ----------------------------------------------------------------------------- */

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A label/taint key: [prefix/]name with DNS-ish characters; the value: [A-Za-z0-9._-]{0,63}.
 * Strict enough that no separator used in the renderings (= , : " ' space) can appear. */
static int valid_key(const char *k)
{
    size_t n = strlen(k), slash = 0;
    if (n == 0 || n > 317)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (k[i] == '/') {
            if (slash++)
                return 0;
            continue;
        }
        if (!is_alnum(k[i]) && k[i] != '.' && k[i] != '_' && k[i] != '-')
            return 0;
    }
    return is_alnum(k[0]) && is_alnum(k[n - 1]);
}

static int valid_value(const char *v)
{
    size_t n = v ? strlen(v) : 0;
    if (n > 63)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(v[i]) && v[i] != '.' && v[i] != '_' && v[i] != '-')
            return 0;
    return n == 0 || (is_alnum(v[0]) && is_alnum(v[n - 1]));
}

static int valid_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int valid_cidr(const char *s)
{
    char ip[64];
    const char *slash = strchr(s, '/');
    unsigned char buf[16];
    int64_t bits;
    if (!slash || (size_t)(slash - s) >= sizeof ip)
        return 0;
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = '\0';
    if (inet_pton(AF_INET, ip, buf) == 1)
        return core_parse_i64(slash + 1, 0, 32, &bits) == 0;
    if (inet_pton(AF_INET6, ip, buf) == 1)
        return core_parse_i64(slash + 1, 0, 128, &bits) == 0;
    return 0;
}

/* The ".10" of an IPv4 service CIDR (kube-dns' conventional ClusterIP). */
static int cidr_dns(const char *cidr, char *out, size_t outsz)
{
    char ip[64];
    const char *slash = strchr(cidr, '/');
    unsigned char b[4];
    if (!slash || (size_t)(slash - cidr) >= sizeof ip)
        return 0;
    memcpy(ip, cidr, (size_t)(slash - cidr));
    ip[slash - cidr] = '\0';
    if (inet_pton(AF_INET, ip, b) != 1)
        return 0;
    snprintf(out, outsz, "%u.%u.%u.%u", b[0], b[1], b[2], (unsigned)(b[3] + 10) & 0xffu);
    return 1;
}

static int valid_ca(const char *b64)
{
    size_t n = strlen(b64);
    unsigned char *dec;
    int d, ok;
    if (n == 0 || n % 4 != 0 || n > (1u << 20))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(b64[i]) && b64[i] != '+' && b64[i] != '/' && b64[i] != '=')
            return 0;
    dec = core_malloc(n / 4 * 3 + 1);
    if (!dec)
        return -1;
    d = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)n);
    ok = d >= 10 && memcmp(dec, "-----BEGIN", 10) == 0;
    core_free(dec);
    return ok;
}

static int valid_threshold(const char *v)
{
    size_t n = strlen(v);
    int64_t milli;
    char num[64];
    if (n > 1 && n < sizeof num && v[n - 1] == '%') {
        memcpy(num, v, n - 1);
        num[n - 1] = '\0';
        return k8s_quantity_parse_milli(num, &milli) == 0 && milli > 0 && milli <= 100000;
    }
    return k8s_quantity_parse_milli(v, &milli) == 0 && milli >= 0;
}

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

int userdata_image_valid(const char *image)
{
    size_t n = strlen(image);
    if (n == 0 || n > 512 || !is_alnum(image[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(image[i]) && !strchr("._-/:@", image[i]))
            return 0;
    return 1;
}

/* A kubelet quantity for a reserved resource, in the units kubelet flags read back. */
static void format_reserved(const char *name, int64_t milli, char *out, size_t outsz)
{
    if (strcmp(name, "memory") == 0 || strcmp(name, "ephemeral-storage") == 0) {
        int64_t bytes = milli / 1000 + (milli % 1000 != 0);
        static const char *const suf[] = {"Gi", "Mi", "Ki"};
        static const int64_t mult[] = {1LL << 30, 1LL << 20, 1LL << 10};
        for (size_t i = 0; i < 3; i++)
            if (bytes != 0 && bytes % mult[i] == 0) {
                snprintf(out, outsz, "%lld%s", (long long)(bytes / mult[i]), suf[i]);
                return;
            }
        snprintf(out, outsz, "%lld", (long long)bytes);
        return;
    }
    if (strcmp(name, "pid") == 0) {
        snprintf(out, outsz, "%lld", (long long)(milli / 1000 + (milli % 1000 != 0)));
        return;
    }
    k8s_quantity_format_milli(milli, out, outsz);
}

static const struct k8s_labels empty_labels;

static void add_taint(struct userdata_settings *s, const struct k8s_taint *t)
{
    for (size_t i = 0; i < s->ntaints; i++)
        if (strcmp(s->taints[i].key, t->key) == 0 && s->taints[i].effect == t->effect)
            return;
    s->taints[s->ntaints++] = *t;
}

static int check_taints(const struct k8s_taint *t, size_t n, const char *field,
                        struct core_err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!t[i].key || !valid_key(t[i].key))
            return core_err_set(err, CORE_E_INVAL, "%s[%zu].key: not a valid taint key", field, i);
        if (!valid_value(t[i].value))
            return core_err_set(err, CORE_E_INVAL, "%s[%zu].value: not a valid taint value",
                                field, i);
        if (t[i].effect == K8S_EFFECT_ALL)
            return core_err_set(err, CORE_E_INVAL, "%s[%zu].effect: required", field, i);
    }
    return 0;
}

int userdata_settings_build(const struct userdata_input *in, struct userdata_settings *out,
                            struct core_err *err)
{
    static const char *const signals[] = {"memory.available",   "nodefs.available",
                                          "nodefs.inodesFree",  "imagefs.available",
                                          "imagefs.inodesFree", "pid.available", NULL};
    static const char *const reserved[] = {"cpu", "memory", "ephemeral-storage", "pid", NULL};
    const struct userdata_cluster *c = &in->cluster;
    const struct k8s_kubelet *k = in->node.kubelet;
    struct userdata_settings s;
    char dns[64];
    int rc = 0, ok;

    memset(&s, 0, sizeof s);
    if (!c->name || !*c->name)
        return core_err_set(err, CORE_E_INVAL, "cluster.name: required");
    if (!c->endpoint || !*c->endpoint)
        return core_err_set(err, CORE_E_INVAL, "cluster.endpoint: required");
    if (strncmp(c->endpoint, "https://", 8) != 0 || c->endpoint[8] == '\0' ||
        strpbrk(c->endpoint, " \t\r\n'\"\\`$"))
        return core_err_set(err, CORE_E_INVAL, "cluster.endpoint: expected an https:// URL");
    if (!c->ca_bundle || !*c->ca_bundle)
        return core_err_set(err, CORE_E_INVAL, "cluster.caBundle: required");
    ok = valid_ca(c->ca_bundle);
    if (ok < 0)
        return core_err_set(err, CORE_E_NOMEM, "cluster.caBundle: out of memory");
    if (!ok)
        return core_err_set(err, CORE_E_INVAL,
                            "cluster.caBundle: expected base64 of a PEM bundle (-----BEGIN ...)");
    for (const char *p = c->name; *p; p++)
        if (!is_alnum(*p) && *p != '-' && *p != '_')
            return core_err_set(err, CORE_E_INVAL, "cluster.name: not a valid cluster name");
    s.cluster_name = c->name;
    s.endpoint = c->endpoint;
    s.ca_bundle = c->ca_bundle;
    s.cidr = c->service_cidr ? c->service_cidr : DEFAULT_CIDR;
    if (!valid_cidr(s.cidr))
        return core_err_set(err, CORE_E_INVAL, "cluster.serviceCIDR: not a valid CIDR: '%s'",
                            s.cidr);

    /* Cluster DNS: the EC2NodeClass list, else the cluster's, else the CIDR's .10. */
    if (k && k->cluster_dns.n > 0) {
        for (size_t i = 0; i < k->cluster_dns.n; i++)
            if (!valid_ip(k->cluster_dns.v[i]))
                return core_err_set(err, CORE_E_INVAL,
                                    "spec.kubelet.clusterDNS[%zu]: not an IP address", i);
        s.cluster_dns = core_calloc(k->cluster_dns.n, sizeof *s.cluster_dns);
        if (!s.cluster_dns)
            goto nomem;
        for (size_t i = 0; i < k->cluster_dns.n; i++) {
            s.cluster_dns[i] = core_strdup(k->cluster_dns.v[i]);
            s.ncluster_dns++;
            if (!s.cluster_dns[i])
                goto nomem;
        }
    } else {
        const char *d = c->cluster_dns;
        if (d) {
            if (!valid_ip(d)) {
                rc = core_err_set(err, CORE_E_INVAL, "cluster.clusterDNS: not an IP address");
                goto fail;
            }
        } else if (cidr_dns(s.cidr, dns, sizeof dns)) {
            d = dns;
        } else {
            rc = core_err_set(err, CORE_E_INVAL,
                              "cluster.clusterDNS: required when the service CIDR is not IPv4");
            goto fail;
        }
        s.cluster_dns = core_calloc(1, sizeof *s.cluster_dns);
        if (!s.cluster_dns)
            goto nomem;
        s.cluster_dns[0] = core_strdup(d);
        s.ncluster_dns = 1;
        if (!s.cluster_dns[0])
            goto nomem;
    }

    /* The caller computed it with launcher_max_pods (kubelet.maxPods as the override, then
     * the podsPerCore cap): re-reading kubelet.maxPods here would undo the cap. */
    int64_t mp = in->node.max_pods;
    if (k && k->has_max_pods && (k->max_pods < 1 || k->max_pods > USERDATA_MAX_PODS)) {
        rc = core_err_set(err, CORE_E_INVAL, "spec.kubelet.maxPods: %lld is outside 1..%d",
                          (long long)k->max_pods, USERDATA_MAX_PODS);
        goto fail;
    }
    if (mp < 1 || mp > USERDATA_MAX_PODS) {
        rc = core_err_set(err, CORE_E_INVAL, "node.maxPods: %lld is outside 1..%d",
                          (long long)mp, USERDATA_MAX_PODS);
        goto fail;
    }
    s.max_pods = (int32_t)mp;

    if (in->node.labels) {
        s.labels = in->node.labels->v;
        s.nlabels = in->node.labels->n;
        for (size_t i = 0; i < s.nlabels; i++) {
            if (!valid_key(s.labels[i].key) || !valid_value(s.labels[i].value)) {
                rc = core_err_set(err, CORE_E_INVAL, "node.labels[%s]: not a valid label",
                                  s.labels[i].key);
                goto fail;
            }
            if (i > 0 && strcmp(s.labels[i - 1].key, s.labels[i].key) >= 0) {
                rc = core_err_set(err, CORE_E_INVAL, "node.labels: not sorted by key");
                goto fail;
            }
        }
    }
    rc = check_taints(in->node.taints, in->node.ntaints, "node.taints", err);
    if (!rc)
        rc = check_taints(in->node.startup_taints, in->node.nstartup_taints,
                          "node.startupTaints", err);
    if (rc)
        goto fail;
    s.taints = core_calloc(in->node.ntaints + in->node.nstartup_taints + 1, sizeof *s.taints);
    if (!s.taints)
        goto nomem;
    for (size_t i = 0; i < in->node.ntaints; i++)
        add_taint(&s, &in->node.taints[i]);
    for (size_t i = 0; i < in->node.nstartup_taints; i++)
        add_taint(&s, &in->node.startup_taints[i]);
    {
        /* k8s_taint's key is not const; it is only read here. */
        struct k8s_taint st = {(char *)(uintptr_t)startup_taint_key, NULL, K8S_EFFECT_NO_EXECUTE};
        add_taint(&s, &st);
    }

    s.eviction_hard = &empty_labels;
    s.eviction_soft = &empty_labels;
    s.eviction_soft_grace_period = &empty_labels;
    if (k) {
        const struct k8s_labels *maps[3] = {&k->eviction_hard, &k->eviction_soft,
                                            &k->eviction_soft_grace_period};
        static const char *const names[3] = {"evictionHard", "evictionSoft",
                                             "evictionSoftGracePeriod"};
        const struct k8s_res_list *res[2] = {&k->system_reserved, &k->kube_reserved};
        struct k8s_labels *resout[2] = {&s.system_reserved, &s.kube_reserved};
        static const char *const rnames[2] = {"systemReserved", "kubeReserved"};
        core_ns d;

        for (size_t m = 0; m < 3; m++)
            for (size_t i = 0; i < maps[m]->n; i++) {
                const struct k8s_kv *kv = &maps[m]->v[i];
                if (!in_list(kv->key, signals)) {
                    rc = core_err_set(err, CORE_E_INVAL,
                                      "spec.kubelet.%s[%s]: unknown eviction signal", names[m],
                                      kv->key);
                    goto fail;
                }
                if ((m < 2 && !valid_threshold(kv->value)) ||
                    (m == 2 && (k8s_duration_parse(kv->value, 0, &d) != 0 || d < 0)) ||
                    strpbrk(kv->value, " \t'\",=<"))
                {
                    rc = core_err_set(err, CORE_E_INVAL, "spec.kubelet.%s[%s]: bad value '%s'",
                                      names[m], kv->key, kv->value);
                    goto fail;
                }
            }
        s.eviction_hard = &k->eviction_hard;
        s.eviction_soft = &k->eviction_soft;
        s.eviction_soft_grace_period = &k->eviction_soft_grace_period;
        for (size_t r = 0; r < 2; r++)
            for (size_t i = 0; i < res[r]->n; i++) {
                char q[64];
                if (!in_list(res[r]->v[i].name, reserved)) {
                    rc = core_err_set(err, CORE_E_INVAL,
                                      "spec.kubelet.%s[%s]: expected cpu, memory, "
                                      "ephemeral-storage or pid",
                                      rnames[r], res[r]->v[i].name);
                    goto fail;
                }
                if (res[r]->v[i].milli < 0) {
                    rc = core_err_set(err, CORE_E_INVAL, "spec.kubelet.%s[%s]: negative",
                                      rnames[r], res[r]->v[i].name);
                    goto fail;
                }
                format_reserved(res[r]->v[i].name, res[r]->v[i].milli, q, sizeof q);
                if (k8s_labels_set(resout[r], res[r]->v[i].name, q) != 0)
                    goto nomem;
            }
        if ((k->has_image_gc_high && (k->image_gc_high < 0 || k->image_gc_high > 100))) {
            rc = core_err_set(err, CORE_E_INVAL,
                              "spec.kubelet.imageGCHighThresholdPercent: outside 0..100");
            goto fail;
        }
        if ((k->has_image_gc_low && (k->image_gc_low < 0 || k->image_gc_low > 100))) {
            rc = core_err_set(err, CORE_E_INVAL,
                              "spec.kubelet.imageGCLowThresholdPercent: outside 0..100");
            goto fail;
        }
        if (k->has_image_gc_high && k->has_image_gc_low && k->image_gc_low >= k->image_gc_high) {
            rc = core_err_set(err, CORE_E_INVAL,
                              "spec.kubelet.imageGCLowThresholdPercent: must be less than "
                              "imageGCHighThresholdPercent");
            goto fail;
        }
        if (k->has_eviction_max_pod_grace_period &&
            (k->eviction_max_pod_grace_period < 0 ||
             k->eviction_max_pod_grace_period > INT32_MAX)) {
            rc = core_err_set(err, CORE_E_INVAL,
                              "spec.kubelet.evictionMaxPodGracePeriod: outside 0..2147483647");
            goto fail;
        }
        s.eviction_max_pod_grace_period = k->eviction_max_pod_grace_period;
        s.has_eviction_max_pod_grace_period = k->has_eviction_max_pod_grace_period;
        s.image_gc_high = k->image_gc_high;
        s.has_image_gc_high = k->has_image_gc_high;
        s.image_gc_low = k->image_gc_low;
        s.has_image_gc_low = k->has_image_gc_low;
        s.cpu_cfs_quota = k->cpu_cfs_quota;
        s.has_cpu_cfs_quota = k->has_cpu_cfs_quota;
    }
    s.instance_store_raid0 = in->node.instance_store_raid0;
    *out = s;
    return 0;
nomem:
    rc = core_err_set(err, CORE_E_NOMEM, "userdata: out of memory");
fail:
    userdata_settings_cleanup(&s);
    return rc;
}

void userdata_settings_cleanup(struct userdata_settings *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ncluster_dns; i++)
        core_free(s->cluster_dns[i]);
    core_free(s->cluster_dns);
    core_free(s->taints);
    k8s_labels_cleanup(&s->system_reserved);
    k8s_labels_cleanup(&s->kube_reserved);
    memset(s, 0, sizeof *s);
}

/* ---- the user's user data ------------------------------------------------------------------ */

enum user_kind { USER_NONE = 0, USER_MIME, USER_NODECONFIG, USER_SCRIPT, USER_CLOUD_CONFIG };

/* Whether text is a YAML document whose top-level apiVersion is node.eks.aws/... and kind is
 * NodeConfig. Returns 1/0, or CORE_E_NOMEM. */
static int is_nodeconfig(const char *text, size_t len)
{
    yaml_parser_t p;
    yaml_document_t doc;
    int found = 0, api = 0, kind = 0;
    if (!yaml_parser_initialize(&p))
        return CORE_E_NOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (yaml_parser_load(&p, &doc)) {
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root && root->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
                 pr < root->data.mapping.pairs.top; pr++) {
                yaml_node_t *kn = yaml_document_get_node(&doc, pr->key);
                yaml_node_t *vn = yaml_document_get_node(&doc, pr->value);
                if (!kn || !vn || kn->type != YAML_SCALAR_NODE || vn->type != YAML_SCALAR_NODE)
                    continue;
                const char *kk = (const char *)kn->data.scalar.value;
                const char *vv = (const char *)vn->data.scalar.value;
                if (strcmp(kk, "apiVersion") == 0 &&
                    strncmp(vv, NODECONFIG_API_PREFIX, strlen(NODECONFIG_API_PREFIX)) == 0)
                    api = 1;
                if (strcmp(kk, "kind") == 0 && strcmp(vv, "NodeConfig") == 0)
                    kind = 1;
            }
            found = api && kind;
        }
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&p);
    return found;
}

static int classify_user(const char *ud, size_t len, enum user_kind *kind, struct core_err *err)
{
    int nc;
    if (len == 0) {
        *kind = USER_NONE;
        return 0;
    }
    if (userdata_mime_detect(ud, len)) {
        *kind = USER_MIME;
        return 0;
    }
    if (len >= 2 && ud[0] == '#' && ud[1] == '!') {
        *kind = USER_SCRIPT;
        return 0;
    }
    if (len >= 13 && memcmp(ud, "#cloud-config", 13) == 0) {
        *kind = USER_CLOUD_CONFIG;
        return 0;
    }
    nc = is_nodeconfig(ud, len);
    if (nc < 0)
        return core_err_set(err, CORE_E_NOMEM, "spec.userData: out of memory");
    if (nc) {
        *kind = USER_NODECONFIG;
        return 0;
    }
    return core_err_set(err, CORE_E_INVAL,
                        "spec.userData: expected a MIME multipart document, a NodeConfig "
                        "(node.eks.aws), a script (#!) or #cloud-config");
}

#define MAX_OUT_PARTS (USERDATA_MIME_MAX_PARTS + 2)

/* The user's parts, in order, ready for the MIME writer. m is filled when the user data is
 * MIME (its slices are what the parts point at; the caller cleans it up). */
static int user_parts(const char *ud, int allow_nodeconfig, struct userdata_mime *m,
                      struct userdata_mime_out_part *parts, size_t *nparts, struct core_err *err)
{
    size_t len = ud ? strlen(ud) : 0;
    enum user_kind kind;
    int rc;

    *nparts = 0;
    if (len > USERDATA_INPUT_MAX)
        return core_err_set(err, CORE_E_INVAL, "spec.userData: %zu bytes, at most %u", len,
                            USERDATA_INPUT_MAX);
    rc = classify_user(ud, len, &kind, err);
    if (rc)
        return rc;
    switch (kind) {
    case USER_NONE:
        return 0;
    case USER_SCRIPT:
        parts[0].headers = "Content-Type: text/x-shellscript; charset=\"us-ascii\"";
        break;
    case USER_CLOUD_CONFIG:
        parts[0].headers = "Content-Type: text/cloud-config; charset=\"us-ascii\"";
        break;
    case USER_NODECONFIG:
        if (!allow_nodeconfig)
            return core_err_set(err, CORE_E_INVAL,
                                "spec.userData: a NodeConfig (node.eks.aws) is for AL2023 only");
        parts[0].headers = "Content-Type: application/node.eks.aws";
        break;
    case USER_MIME:
        rc = userdata_mime_parse(ud, len, m, err);
        if (rc) {
            if (rc == CORE_E_NOMEM)
                return rc;
            core_err_prefix(err, "spec.userData");
            if (err)
                err->code = CORE_E_INVAL;
            return CORE_E_INVAL;
        }
        for (size_t i = 0; i < m->nparts; i++) {
            const struct userdata_mime_part *p = &m->parts[i];
            if (!allow_nodeconfig && strcmp(p->content_type, "application/node.eks.aws") == 0) {
                userdata_mime_cleanup(m);
                return core_err_set(err, CORE_E_INVAL,
                                    "spec.userData: part %zu: a NodeConfig (node.eks.aws) is "
                                    "for AL2023 only",
                                    i + 1);
            }
            /* nodeadm also takes gzip-compressed parts (after any base64, which the parser
             * already undid): those are passed on unchecked. */
            if (allow_nodeconfig && strcmp(p->content_type, "application/node.eks.aws") == 0 &&
                !(p->body_len >= 2 && (unsigned char)p->body[0] == 0x1f &&
                  (unsigned char)p->body[1] == 0x8b)) {
                /* nodeadm would fail on it at boot; better to say so now. */
                int nc = is_nodeconfig(p->body, p->body_len);
                if (nc <= 0) {
                    userdata_mime_cleanup(m);
                    if (nc < 0)
                        return core_err_set(err, CORE_E_NOMEM, "spec.userData: out of memory");
                    return core_err_set(err, CORE_E_INVAL,
                                        "spec.userData: part %zu: not a NodeConfig "
                                        "(apiVersion node.eks.aws/..., kind NodeConfig)",
                                        i + 1);
                }
            }
            if (p->nheaders > 0) {
                const struct userdata_mime_header *last = &p->headers[p->nheaders - 1];
                parts[i].headers = p->headers[0].name;
                parts[i].headers_len = (size_t)(last->value + last->value_len - p->headers[0].name);
            } else {
                parts[i].headers = "";
                parts[i].headers_len = 0;
            }
            parts[i].body = p->raw_body;
            parts[i].body_len = p->raw_body_len;
        }
        *nparts = m->nparts;
        return 0;
    }
    parts[0].headers_len = strlen(parts[0].headers);
    parts[0].body = ud;
    parts[0].body_len = len;
    *nparts = 1;
    return 0;
}

/* ---- YAML emission (AL2023 NodeConfig) ----------------------------------------------------- */

struct yw {
    yaml_emitter_t e;
    struct core_buf *out;
    int rc;     /* first failure: CORE_E_* */
};

static int yw_write(void *data, unsigned char *buf, size_t size)
{
    struct yw *w = data;
    int rc = core_buf_append(w->out, buf, size);
    if (rc) {
        if (!w->rc)
            w->rc = rc;
        return 0;
    }
    return 1;
}

static void yw_emit(struct yw *w, yaml_event_t *ev, int init_ok)
{
    if (w->rc) {
        if (init_ok)
            yaml_event_delete(ev);
        return;
    }
    if (!init_ok) {
        w->rc = CORE_E_NOMEM;
        return;
    }
    if (!yaml_emitter_emit(&w->e, ev) && !w->rc)
        w->rc = CORE_E_NOMEM;
}

/* A plain scalar (keys, numbers, booleans) or a double-quoted one (string values: always
 * quoted so "true" or "10" stay strings). */
static void yw_scalar(struct yw *w, const char *s, int quoted)
{
    yaml_event_t ev;
    int ok = yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)(uintptr_t)s,
                                          (int)strlen(s), !quoted, quoted,
                                          quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                 : YAML_PLAIN_SCALAR_STYLE);
    yw_emit(w, &ev, ok);
}

static void yw_int(struct yw *w, int64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)v);
    yw_scalar(w, b, 0);
}

static void yw_map_start(struct yw *w)
{
    yaml_event_t ev;
    int ok = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
    yw_emit(w, &ev, ok);
}

static void yw_map_end(struct yw *w)
{
    yaml_event_t ev;
    int ok = yaml_mapping_end_event_initialize(&ev);
    yw_emit(w, &ev, ok);
}

static void yw_seq_start(struct yw *w)
{
    yaml_event_t ev;
    int ok = yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
    yw_emit(w, &ev, ok);
}

static void yw_seq_end(struct yw *w)
{
    yaml_event_t ev;
    int ok = yaml_sequence_end_event_initialize(&ev);
    yw_emit(w, &ev, ok);
}

static void yw_kv_str(struct yw *w, const char *k, const char *v)
{
    yw_scalar(w, k, 0);
    yw_scalar(w, v, 1);
}

static void yw_labels(struct yw *w, const char *key, const struct k8s_labels *l)
{
    if (l->n == 0)
        return;
    yw_scalar(w, key, 0);
    yw_map_start(w);
    for (size_t i = 0; i < l->n; i++)
        yw_kv_str(w, l->v[i].key, l->v[i].value);
    yw_map_end(w);
}

static int node_labels_flag(const struct userdata_settings *s, struct core_buf *b)
{
    int rc = 0;
    for (size_t i = 0; i < s->nlabels && !rc; i++)
        rc = core_buf_appendf(b, "%s%s=%s", i ? "," : "", s->labels[i].key, s->labels[i].value);
    return rc;
}

static int emit_nodeconfig(const struct userdata_settings *s, struct core_buf *out)
{
    struct yw w = {.out = out};
    yaml_event_t ev;
    struct core_buf flag;
    int ok;

    core_buf_init(&flag, 1u << 20);
    if (!yaml_emitter_initialize(&w.e))
        return CORE_E_NOMEM;
    yaml_emitter_set_output(&w.e, yw_write, &w);
    yaml_emitter_set_width(&w.e, -1);
    yaml_emitter_set_unicode(&w.e, 1);

    ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    yw_emit(&w, &ev, ok);
    ok = yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    yw_emit(&w, &ev, ok);
    yw_map_start(&w);
    yw_scalar(&w, "apiVersion", 0);
    yw_scalar(&w, "node.eks.aws/v1alpha1", 0);
    yw_scalar(&w, "kind", 0);
    yw_scalar(&w, "NodeConfig", 0);
    yw_scalar(&w, "spec", 0);
    yw_map_start(&w);

    yw_scalar(&w, "cluster", 0);
    yw_map_start(&w);
    yw_kv_str(&w, "name", s->cluster_name);
    yw_kv_str(&w, "apiServerEndpoint", s->endpoint);
    yw_kv_str(&w, "certificateAuthority", s->ca_bundle);
    yw_kv_str(&w, "cidr", s->cidr);
    yw_map_end(&w);

    yw_scalar(&w, "kubelet", 0);
    yw_map_start(&w);
    yw_scalar(&w, "config", 0);
    yw_map_start(&w);
    yw_scalar(&w, "maxPods", 0);
    yw_int(&w, s->max_pods);
    yw_scalar(&w, "clusterDNS", 0);
    yw_seq_start(&w);
    for (size_t i = 0; i < s->ncluster_dns; i++)
        yw_scalar(&w, s->cluster_dns[i], 1);
    yw_seq_end(&w);
    yw_scalar(&w, "registerWithTaints", 0);
    yw_seq_start(&w);
    for (size_t i = 0; i < s->ntaints; i++) {
        yw_map_start(&w);
        yw_kv_str(&w, "key", s->taints[i].key);
        if (s->taints[i].value)
            yw_kv_str(&w, "value", s->taints[i].value);
        yw_kv_str(&w, "effect", k8s_effect_name(s->taints[i].effect));
        yw_map_end(&w);
    }
    yw_seq_end(&w);
    yw_labels(&w, "systemReserved", &s->system_reserved);
    yw_labels(&w, "kubeReserved", &s->kube_reserved);
    yw_labels(&w, "evictionHard", s->eviction_hard);
    yw_labels(&w, "evictionSoft", s->eviction_soft);
    yw_labels(&w, "evictionSoftGracePeriod", s->eviction_soft_grace_period);
    if (s->has_eviction_max_pod_grace_period) {
        yw_scalar(&w, "evictionMaxPodGracePeriod", 0);
        yw_int(&w, s->eviction_max_pod_grace_period);
    }
    if (s->has_image_gc_high) {
        yw_scalar(&w, "imageGCHighThresholdPercent", 0);
        yw_int(&w, s->image_gc_high);
    }
    if (s->has_image_gc_low) {
        yw_scalar(&w, "imageGCLowThresholdPercent", 0);
        yw_int(&w, s->image_gc_low);
    }
    if (s->has_cpu_cfs_quota) {
        yw_scalar(&w, "cpuCFSQuota", 0);
        yw_scalar(&w, s->cpu_cfs_quota ? "true" : "false", 0);
    }
    yw_map_end(&w); /* config */
    if (s->nlabels > 0) {
        int rc = core_buf_append_str(&flag, "--node-labels=");
        if (!rc)
            rc = node_labels_flag(s, &flag);
        if (rc && !w.rc)
            w.rc = rc;
        yw_scalar(&w, "flags", 0);
        yw_seq_start(&w);
        yw_scalar(&w, core_buf_cstr(&flag), 1);
        yw_seq_end(&w);
    }
    yw_map_end(&w); /* kubelet */

    if (s->instance_store_raid0) {
        yw_scalar(&w, "instance", 0);
        yw_map_start(&w);
        yw_scalar(&w, "localStorage", 0);
        yw_map_start(&w);
        yw_scalar(&w, "strategy", 0);
        yw_scalar(&w, "RAID0", 0);
        yw_map_end(&w);
        yw_map_end(&w);
    }
    yw_map_end(&w); /* spec */
    yw_map_end(&w); /* root */
    ok = yaml_document_end_event_initialize(&ev, 1);
    yw_emit(&w, &ev, ok);
    ok = yaml_stream_end_event_initialize(&ev);
    yw_emit(&w, &ev, ok);
    if (!w.rc && !yaml_emitter_flush(&w.e))
        w.rc = CORE_E_NOMEM;
    yaml_emitter_delete(&w.e);
    core_buf_cleanup(&flag);
    return w.rc;
}

/* ---- quoting and kubelet flags ------------------------------------------------------------- */

/* Appends s single-quoted for sh ('\'' for a quote) or PowerShell ('' for a quote). */
static int quote(struct core_buf *b, const char *s, int powershell)
{
    int rc = core_buf_append_char(b, '\'');
    for (; *s && !rc; s++) {
        if (*s == '\'')
            rc = core_buf_append_str(b, powershell ? "''" : "'\\''");
        else if (powershell && (unsigned char)s[0] == 0xE2 && (unsigned char)s[1] == 0x80 &&
                 (unsigned char)s[2] >= 0x98 && (unsigned char)s[2] <= 0x9B) {
            /* PowerShell also ends a single-quoted string at U+2018..U+201B: double them. */
            rc = core_buf_append(b, s, 3);
            if (!rc)
                rc = core_buf_append(b, s, 3);
            s += 2;
        } else
            rc = core_buf_append_char(b, *s);
    }
    if (!rc)
        rc = core_buf_append_char(b, '\'');
    return rc;
}

static int map_flag(struct core_buf *b, const char *flag, const struct k8s_labels *l,
                    const char *sep)
{
    int rc = 0;
    if (l->n == 0)
        return 0;
    rc = core_buf_appendf(b, " --%s=", flag);
    for (size_t i = 0; i < l->n && !rc; i++)
        rc = core_buf_appendf(b, "%s%s%s%s", i ? "," : "", l->v[i].key, sep, l->v[i].value);
    return rc;
}

/* The kubelet command-line arguments AL2 and Windows pass through their bootstrap scripts. */
static int kubelet_extra_args(const struct userdata_settings *s, struct core_buf *b)
{
    int rc = core_buf_append_str(b, "--node-labels=\"");
    if (!rc)
        rc = node_labels_flag(s, b);
    if (!rc)
        rc = core_buf_append_str(b, "\" --register-with-taints=\"");
    for (size_t i = 0; i < s->ntaints && !rc; i++)
        rc = core_buf_appendf(b, "%s%s%s%s:%s", i ? "," : "", s->taints[i].key,
                              s->taints[i].value ? "=" : "",
                              s->taints[i].value ? s->taints[i].value : "",
                              k8s_effect_name(s->taints[i].effect));
    if (!rc)
        rc = core_buf_appendf(b, "\" --max-pods=%d", (int)s->max_pods);
    if (!rc)
        rc = map_flag(b, "system-reserved", &s->system_reserved, "=");
    if (!rc)
        rc = map_flag(b, "kube-reserved", &s->kube_reserved, "=");
    if (!rc)
        rc = map_flag(b, "eviction-hard", s->eviction_hard, "<");
    if (!rc)
        rc = map_flag(b, "eviction-soft", s->eviction_soft, "<");
    if (!rc)
        rc = map_flag(b, "eviction-soft-grace-period", s->eviction_soft_grace_period, "=");
    if (!rc && s->has_eviction_max_pod_grace_period)
        rc = core_buf_appendf(b, " --eviction-max-pod-grace-period=%lld",
                              (long long)s->eviction_max_pod_grace_period);
    if (!rc && s->has_image_gc_high)
        rc = core_buf_appendf(b, " --image-gc-high-threshold=%lld", (long long)s->image_gc_high);
    if (!rc && s->has_image_gc_low)
        rc = core_buf_appendf(b, " --image-gc-low-threshold=%lld", (long long)s->image_gc_low);
    if (!rc && s->has_cpu_cfs_quota)
        rc = core_buf_appendf(b, " --cpu-cfs-quota=%s", s->cpu_cfs_quota ? "true" : "false");
    return rc;
}

/* ---- join renderers ------------------------------------------------------------------------ */

static int render_al2023(const struct userdata_input *in, const struct userdata_settings *s,
                         struct core_buf *raw, struct core_err *err)
{
    struct userdata_mime m;
    struct userdata_mime_out_part *parts = NULL;
    struct core_buf nc;
    size_t n = 0;
    int rc;

    memset(&m, 0, sizeof m);
    core_buf_init(&nc, USERDATA_RAW_MAX);
    parts = core_calloc(MAX_OUT_PARTS, sizeof *parts);
    if (!parts) {
        rc = core_err_set(err, CORE_E_NOMEM, "userdata: out of memory");
        goto out;
    }
    rc = user_parts(in->node.user_data, 1, &m, parts, &n, err);
    if (rc)
        goto out;
    rc = emit_nodeconfig(s, &nc);
    if (rc) {
        rc = core_err_set(err, rc, "userdata: NodeConfig: %s", core_strerror(rc));
        goto out;
    }
    /* The emitter ends the document with a line end; the MIME writer adds its own. */
    if (nc.len > 0 && nc.data[nc.len - 1] == '\n')
        nc.data[--nc.len] = '\0';
    parts[n].headers = "Content-Type: application/node.eks.aws";
    parts[n].headers_len = strlen(parts[n].headers);
    parts[n].body = core_buf_cstr(&nc);
    parts[n].body_len = nc.len;
    rc = userdata_mime_write(parts, n + 1, raw, err);
out:
    core_free(parts);
    core_buf_cleanup(&nc);
    userdata_mime_cleanup(&m);
    return rc;
}

static int bootstrap_script(const struct userdata_settings *s, struct core_buf *b)
{
    struct core_buf args;
    int rc;
    core_buf_init(&args, USERDATA_RAW_MAX);
    rc = core_buf_append_str(b, "#!/bin/bash -xe\n/etc/eks/bootstrap.sh ");
    if (!rc)
        rc = quote(b, s->cluster_name, 0);
    if (!rc)
        rc = core_buf_append_str(b, " --apiserver-endpoint ");
    if (!rc)
        rc = quote(b, s->endpoint, 0);
    if (!rc)
        rc = core_buf_append_str(b, " --b64-cluster-ca ");
    if (!rc)
        rc = quote(b, s->ca_bundle, 0);
    if (!rc)
        rc = core_buf_append_str(b, " --dns-cluster-ip ");
    if (!rc)
        rc = quote(b, s->cluster_dns[0], 0);
    if (!rc)
        rc = core_buf_append_str(b, " --use-max-pods false");
    if (!rc && s->instance_store_raid0)
        rc = core_buf_append_str(b, " --local-disks raid0");
    if (!rc)
        rc = core_buf_append_str(b, " --kubelet-extra-args ");
    if (!rc)
        rc = kubelet_extra_args(s, &args);
    if (!rc)
        rc = quote(b, core_buf_cstr(&args), 0);
    core_buf_cleanup(&args);
    return rc;
}

static int render_al2(const struct userdata_input *in, const struct userdata_settings *s,
                      struct core_buf *raw, struct core_err *err)
{
    struct userdata_mime m;
    struct userdata_mime_out_part *parts = NULL;
    struct core_buf sh;
    size_t n = 0;
    int rc;

    memset(&m, 0, sizeof m);
    core_buf_init(&sh, USERDATA_RAW_MAX);
    parts = core_calloc(MAX_OUT_PARTS, sizeof *parts);
    if (!parts) {
        rc = core_err_set(err, CORE_E_NOMEM, "userdata: out of memory");
        goto out;
    }
    rc = user_parts(in->node.user_data, 0, &m, parts, &n, err);
    if (rc)
        goto out;
    rc = bootstrap_script(s, &sh);
    if (rc) {
        rc = core_err_set(err, rc, "userdata: bootstrap script: %s", core_strerror(rc));
        goto out;
    }
    parts[n].headers = "Content-Type: text/x-shellscript; charset=\"us-ascii\"";
    parts[n].headers_len = strlen(parts[n].headers);
    parts[n].body = core_buf_cstr(&sh);
    parts[n].body_len = sh.len;
    rc = userdata_mime_write(parts, n + 1, raw, err);
out:
    core_free(parts);
    core_buf_cleanup(&sh);
    userdata_mime_cleanup(&m);
    return rc;
}

/* The user's PowerShell without its own <powershell> tags (we add one pair around it all). */
static void strip_ps_tags(const char *ud, const char **body, size_t *len)
{
    const char *b = ud, *e;
    const char *open = strstr(ud, "<powershell>");
    if (open) {
        b = open + strlen("<powershell>");
        e = strstr(b, "</powershell>");
        if (!e)
            e = b + strlen(b);
    } else {
        e = ud + strlen(ud);
    }
    *body = b;
    *len = (size_t)(e - b);
}

static int render_windows(const struct userdata_input *in, const struct userdata_settings *s,
                          struct core_buf *raw, struct core_err *err)
{
    struct core_buf args;
    const char *ub = NULL;
    size_t ul = 0, ulen = in->node.user_data ? strlen(in->node.user_data) : 0;
    int rc;

    if (ulen > USERDATA_INPUT_MAX)
        return core_err_set(err, CORE_E_TOOBIG, "spec.userData: %zu bytes, at most %u", ulen,
                            USERDATA_INPUT_MAX);
    core_buf_init(&args, USERDATA_RAW_MAX);
    if (in->node.user_data)
        strip_ps_tags(in->node.user_data, &ub, &ul);
    while (ul > 0 && (ub[0] == '\n' || ub[0] == '\r')) { /* the line end after the tag */
        ub++;
        ul--;
    }
    rc = core_buf_append_str(raw, "<powershell>\n");
    if (!rc && ul > 0) {
        rc = core_buf_append(raw, ub, ul);
        if (!rc && ub[ul - 1] != '\n')
            rc = core_buf_append_char(raw, '\n');
    }
    if (!rc)
        rc = core_buf_append_str(raw, "[string]$EKSBootstrapScriptFile = "
                                      "\"$env:ProgramFiles\\Amazon\\EKS\\Start-EKSBootstrap.ps1\"\n"
                                      "& $EKSBootstrapScriptFile -EKSClusterName ");
    if (!rc)
        rc = quote(raw, s->cluster_name, 1);
    if (!rc)
        rc = core_buf_append_str(raw, " -APIServerEndpoint ");
    if (!rc)
        rc = quote(raw, s->endpoint, 1);
    if (!rc)
        rc = core_buf_append_str(raw, " -Base64ClusterCA ");
    if (!rc)
        rc = quote(raw, s->ca_bundle, 1);
    if (!rc)
        rc = core_buf_append_str(raw, " -DNSClusterIP ");
    if (!rc)
        rc = quote(raw, s->cluster_dns[0], 1);
    if (!rc)
        rc = core_buf_append_str(raw, " -KubeletExtraArgs ");
    if (!rc)
        rc = kubelet_extra_args(s, &args);
    if (!rc)
        rc = quote(raw, core_buf_cstr(&args), 1);
    if (!rc)
        rc = core_buf_append_str(raw, " 3>&1 4>&1 5>&1 6>&1\n</powershell>\n");
    core_buf_cleanup(&args);
    if (rc)
        return core_err_set(err, rc, "userdata: Windows: %s", core_strerror(rc));
    return 0;
}

/* ---- warm-up scripts ----------------------------------------------------------------------- */

static int check_warm(const struct userdata_warm *w, struct core_err *err)
{
    for (size_t i = 0; i < w->nimages; i++)
        if (!w->images[i] || !userdata_image_valid(w->images[i]))
            return core_err_set(err, CORE_E_INVAL,
                                "warm.images[%zu]: not a valid image reference", i);
    if (w->timeout_s < 0 || w->timeout_s > 86400)
        return core_err_set(err, CORE_E_INVAL, "warm.timeoutSeconds: outside 0..86400");
    return 0;
}

static int warm_bash(const struct userdata_warm *w, struct core_buf *b)
{
    int64_t t = w->timeout_s ? w->timeout_s : WARM_DEFAULT_TIMEOUT_S;
    int rc = core_buf_appendf(
        b,
        "#!/bin/bash\n" USERDATA_WARM_MARKER "\n"
        "# Pulls images and reads the root volume so a later start is fast; never joins.\n"
        "set -u\n"
        "log() { echo \"stoker-warm: $*\" | tee -a /dev/console >&2; }\n"
        "%s"
        "# Watchdog: %s after %lld s whatever happens.\n"
        "( sleep %lld; log 'timeout'%s ) &\n"
        "systemctl start containerd\n",
        w->stay_running ? USERDATA_WARM_STAY_MARKER "\n" : "",
        w->stay_running ? "stop waiting" : "power off", (long long)t, (long long)t,
        w->stay_running ? "" : "; systemctl poweroff --force");
    for (size_t i = 0; i < w->nimages && !rc; i++) {
        rc = core_buf_appendf(b, "ok=0\nfor attempt in $(seq 1 %d); do\n"
                                 "  if ctr --namespace k8s.io images pull --all-platforms=false ",
                              WARM_PULL_ATTEMPTS);
        if (!rc)
            rc = quote(b, w->images[i], 0);
        if (!rc)
            rc = core_buf_appendf(b, "; then ok=1; break; fi\n  sleep 5\ndone\n"
                                     "log \"pull %zu ok=$ok\"\n", i + 1);
    }
    if (!rc && w->hydrate_root_volume)
        rc = core_buf_append_str(
            b, "root_src=$(findmnt -n -o SOURCE /)\n"
               "root_disk=$(lsblk -n -d -o PKNAME \"$root_src\" | head -n 1)\n"
               "if [ -n \"$root_disk\" ]; then root_disk=/dev/$root_disk; "
               "else root_disk=$root_src; fi\n"
               "if dd if=\"$root_disk\" of=/dev/null bs=1M status=none; then "
               "log \"hydrated $root_disk\"; else log \"hydrate $root_disk failed\"; fi\n");
    if (!rc)
        rc = core_buf_append_str(
            b, w->stay_running
                   /* A resume from hibernation is not a boot: nothing reads the user data
                    * again. So this script outlives the hibernation: it waits until the user
                    * data (rewritten by the controller while the instance is hibernated, then
                    * resumed) carries a NodeConfig, and runs nodeadm with it. */
                   ? "log 'done'\nsync\n"
                     "# The controller hibernates this instance here. After the resume that "
                     "claims it, the user data\n"
                     "# holds the join configuration: hand it to nodeadm.\n"
                     "imds() { t=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "
                     "http://169.254.169.254/latest/api/token) && curl -sf -H "
                     "\"X-aws-ec2-metadata-token: $t\" \"http://169.254.169.254/latest/$1\"; }\n"
                     "while :; do\n"
                     "  if imds user-data | gzip -cdf 2>/dev/null | grep -q '^kind: NodeConfig'; "
                     "then\n"
                     "    log 'join configuration found'\n"
                     "    nodeadm init --config-source imds://user-data && break\n"
                     "  fi\n"
                     "  sleep 2\n"
                     "done\n"
                   : "log 'done'\nsync\nsystemctl poweroff\n");
    return rc;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static int is_windows(enum k8s_ami_family f)
{
    return f == K8S_AMI_WINDOWS2019 || f == K8S_AMI_WINDOWS2022 || f == K8S_AMI_WINDOWS2025;
}

static int render_custom(const struct userdata_input *in, struct core_buf *raw,
                         struct core_err *err)
{
    size_t len = in->node.user_data ? strlen(in->node.user_data) : 0;
    int rc;
    if (len > USERDATA_INPUT_MAX)
        return core_err_set(err, CORE_E_INVAL, "spec.userData: %zu bytes, at most %u", len,
                            USERDATA_INPUT_MAX);
    rc = core_buf_append(raw, in->node.user_data ? in->node.user_data : "", len);
    if (rc)
        return core_err_set(err, rc, "userdata: Custom: %s", core_strerror(rc));
    return 0;
}

static int render_warm(const struct userdata_input *in, struct core_buf *raw,
                       struct core_err *err)
{
    struct core_buf sh;
    int rc = check_warm(&in->warm, err);
    if (rc)
        return rc;
    {
        struct userdata_mime_out_part part;
        core_buf_init(&sh, USERDATA_RAW_MAX);
        rc = warm_bash(&in->warm, &sh);
        if (!rc) {
            part.headers = "Content-Type: text/x-shellscript; charset=\"us-ascii\"";
            part.headers_len = strlen(part.headers);
            part.body = core_buf_cstr(&sh);
            part.body_len = sh.len;
            rc = userdata_mime_write(&part, 1, raw, err);
            core_buf_cleanup(&sh);
            return rc;
        }
        core_buf_cleanup(&sh);
    }
    if (rc)
        return core_err_set(err, rc, "userdata: warm-up script: %s", core_strerror(rc));
    return 0;
}

int userdata_render(const struct userdata_input *in, struct core_buf *raw, struct core_err *err)
{
    struct userdata_settings s;
    size_t start = raw->len;
    const char *fam = k8s_ami_family_name(in->family);
    int rc;

    if (!fam)
        return core_err_set(err, CORE_E_INVAL, "family: unknown AMI family %d", (int)in->family);
    if (in->phase != USERDATA_JOIN && in->phase != USERDATA_WARM)
        return core_err_set(err, CORE_E_INVAL, "phase: unknown phase %d", (int)in->phase);
    /* Warm-up then join needs the join configuration to be read on the second boot. nodeadm
     * (AL2023) reads user data from IMDS on every boot; AL2's bootstrap.sh runs from a
     * cloud-init script that runs once per instance, and EC2Launch (Windows) runs user data on
     * the first boot only, so for those the join after a warm-up would never happen. */
    if (in->phase == USERDATA_WARM && in->family != K8S_AMI_AL2023)
        return core_err_set(err, CORE_E_UNSUPPORTED,
                            "warm-up phase: not supported for the %s AMI family (only al2023 "
                            "reads its user data again when a warmed instance starts)",
                            fam);
    if ((in->family == K8S_AMI_BOTTLEROCKET || is_windows(in->family)) &&
        in->node.instance_store_raid0)
        return core_err_set(err, CORE_E_UNSUPPORTED,
                            "instanceStorePolicy: RAID0 is not supported for the %s AMI family",
                            fam);
    if (in->family == K8S_AMI_CUSTOM)
        return render_custom(in, raw, err);
    if (in->phase == USERDATA_WARM)
        rc = render_warm(in, raw, err);
    else {
        rc = userdata_settings_build(in, &s, err);
        if (rc)
            return rc;
        switch (in->family) {
        case K8S_AMI_AL2023: rc = render_al2023(in, &s, raw, err); break;
        case K8S_AMI_AL2: rc = render_al2(in, &s, raw, err); break;
        case K8S_AMI_BOTTLEROCKET: rc = userdata_render_bottlerocket(in, &s, raw, err); break;
        default: rc = render_windows(in, &s, raw, err); break;
        }
        userdata_settings_cleanup(&s);
    }
    if (rc) {
        raw->len = start;
        if (raw->data)
            raw->data[start] = '\0';
    }
    return rc;
}
